/* test-peer-id.c: peer ids, their text and binary forms.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <punch.h>

#include <string.h>

#include "punch-peer-id-private.h"

/* libp2p/specs peer-ids/peer-ids.md, "String representation". */
#define SPEC_CID_SHA256    "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe"
#define SPEC_B58_SHA256    "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"
#define SPEC_B58_ED25519   "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"

/* peer-ids.md, "Test vectors": PublicKey protobufs. */
#define SPEC_ED25519_PUBLIC_KEY \
  "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
#define SPEC_SECP256K1_PUBLIC_KEY \
  "08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99"
#define SPEC_ECDSA_PUBLIC_KEY \
  "0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004de" \
  "3d300fa36ae0e8f5d530899d83abab44abf3161f162a4bc901d8e6ecda020e8b" \
  "6d5f8da30525e71d6851510c098e5c47c646a597fb4dcec034e9f77c409e62"

static GBytes *
hex_bytes (const gchar *hex)
{
  gsize len = strlen (hex) / 2;
  guint8 *buf = g_malloc (MAX (len, 1));

  g_assert_cmpuint (strlen (hex) % 2, ==, 0);
  for (gsize i = 0; i < len; i++)
    {
      gint hi = g_ascii_xdigit_value (hex[2 * i]);
      gint lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      g_assert_cmpint (hi, >=, 0);
      g_assert_cmpint (lo, >=, 0);
      buf[i] = (guint8) (hi << 4 | lo);
    }

  return g_bytes_new_take (buf, len);
}

static gchar *
bytes_hex (GBytes *bytes)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  GString *s = g_string_new (NULL);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf (s, "%02x", data[i]);

  return g_string_free (s, FALSE);
}

static void
assert_bytes_error (const gchar *hex,
                    gint         code)
{
  g_autoptr(GBytes) bytes = hex_bytes (hex);
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchPeerId) peer_id = punch_peer_id_new_from_bytes (bytes, &error);

  g_test_message ("bytes %s: %s", hex, error != NULL ? error->message : "(no error)");
  g_assert_null (peer_id);
  g_assert_error (error, PUNCH_ERROR, code);
}

static void
assert_string_error (const gchar *text,
                     gint         code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchPeerId) peer_id = punch_peer_id_new_from_string (text, &error);

  g_test_message ("text “%s”: %s", text, error != NULL ? error->message : "(no error)");
  g_assert_null (peer_id);
  g_assert_error (error, PUNCH_ERROR, code);
}

static void
test_spec_sha256_forms (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchPeerId) from_b58 = NULL;
  g_autoptr(PunchPeerId) from_cid = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree gchar *b58 = NULL;
  g_autofree gchar *cid = NULL;
  g_autofree gchar *hex = NULL;

  from_b58 = punch_peer_id_new_from_string (SPEC_B58_SHA256, &error);
  g_assert_no_error (error);
  g_assert_nonnull (from_b58);

  from_cid = punch_peer_id_new_from_string (SPEC_CID_SHA256, &error);
  g_assert_no_error (error);
  g_assert_nonnull (from_cid);

  /* The spec's two examples are the same peer id. */
  g_assert_true (punch_peer_id_equal (from_b58, from_cid));
  g_assert_cmpuint (punch_peer_id_hash (from_b58), ==, punch_peer_id_hash (from_cid));

  bytes = punch_peer_id_get_bytes (from_cid);
  hex = bytes_hex (bytes);
  g_assert_cmpstr (hex, ==,
                   "12209dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9");

  b58 = punch_peer_id_to_string (from_cid);
  g_assert_cmpstr (b58, ==, SPEC_B58_SHA256);
  cid = punch_peer_id_to_cid_string (from_b58);
  g_assert_cmpstr (cid, ==, SPEC_CID_SHA256);

  /* A hashed key cannot be recovered. */
  g_assert_null (punch_peer_id_get_public_key (from_b58));
}

static void
test_spec_ed25519_form (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchPeerId) peer_id = NULL;
  g_autoptr(PunchPeerId) again = NULL;
  g_autoptr(PunchPublicKey) key = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *cid = NULL;

  peer_id = punch_peer_id_new_from_string (SPEC_B58_ED25519, &error);
  g_assert_no_error (error);
  g_assert_nonnull (peer_id);

  text = punch_peer_id_to_string (peer_id);
  g_assert_cmpstr (text, ==, SPEC_B58_ED25519);

  /* The identity multihash inlines the key. */
  key = punch_peer_id_get_public_key (peer_id);
  g_assert_nonnull (key);
  g_assert_cmpint (punch_public_key_get_key_type (key), ==, PUNCH_KEY_TYPE_ED25519);
  g_assert_true (punch_peer_id_matches_public_key (peer_id, key));
  g_assert_true (punch_peer_id_equal (punch_public_key_get_peer_id (key), peer_id));

  /* CID round trip. */
  cid = punch_peer_id_to_cid_string (peer_id);
  g_assert_true (g_str_has_prefix (cid, "bafzaa"));
  again = punch_peer_id_new_from_string (cid, &error);
  g_assert_no_error (error);
  g_assert_true (punch_peer_id_equal (again, peer_id));
}

static void
test_from_public_key (void)
{
  const struct {
    const gchar *key_hex;
    const gchar *b58;
    const gchar *cid;
    gboolean inline_key;
  } vectors[] = {
    { SPEC_ED25519_PUBLIC_KEY,
      "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq",
      "bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt6", TRUE },
    { SPEC_SECP256K1_PUBLIC_KEY,
      "16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY",
      "bafzaajiiaijcca3xo7uzjzcsyilaj6i54cj44qk7kqzpoao5rti2pjx6udtdbp6kte", TRUE },
    { SPEC_ECDSA_PUBLIC_KEY,
      "QmVMT29id3TUASyfZZ6k9hmNyc2nYabCo4uMSpDw4zrgDk",
      "bafzbeidigywdclqvl5hxfefwp5onbffcfife7pza57mmfb4tiqmtkdjw64", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (vectors); i++)
    {
      g_autoptr(GBytes) encoded = hex_bytes (vectors[i].key_hex);
      g_autoptr(GError) error = NULL;
      g_autoptr(PunchPublicKey) key = NULL;
      g_autoptr(PunchPublicKey) recovered = NULL;
      g_autoptr(PunchPeerId) peer_id = NULL;
      g_autoptr(PunchPeerId) parsed = NULL;
      g_autoptr(PunchPeerId) parsed_cid = NULL;
      g_autofree gchar *b58 = NULL;
      g_autofree gchar *cid = NULL;

      key = punch_public_key_new_from_protobuf (encoded, &error);
      g_assert_no_error (error);
      g_assert_nonnull (key);

      peer_id = punch_peer_id_new_from_public_key (key);
      b58 = punch_peer_id_to_string (peer_id);
      cid = punch_peer_id_to_cid_string (peer_id);
      g_assert_cmpstr (b58, ==, vectors[i].b58);
      g_assert_cmpstr (cid, ==, vectors[i].cid);

      parsed = punch_peer_id_new_from_string (vectors[i].b58, &error);
      g_assert_no_error (error);
      parsed_cid = punch_peer_id_new_from_string (vectors[i].cid, &error);
      g_assert_no_error (error);
      g_assert_true (punch_peer_id_equal (parsed, peer_id));
      g_assert_true (punch_peer_id_equal (parsed_cid, peer_id));
      g_assert_true (punch_peer_id_matches_public_key (parsed, key));

      recovered = punch_peer_id_get_public_key (parsed);
      if (vectors[i].inline_key)
        {
          g_assert_nonnull (recovered);
          g_assert_true (punch_public_key_equal (recovered, key));
        }
      else
        {
          g_assert_null (recovered);
        }
    }
}

static void
test_does_not_match_other_key (void)
{
  g_autoptr(GBytes) ed_bytes = hex_bytes (SPEC_ED25519_PUBLIC_KEY);
  g_autoptr(GBytes) ecdsa_bytes = hex_bytes (SPEC_ECDSA_PUBLIC_KEY);
  g_autoptr(PunchPublicKey) ed = punch_public_key_new_from_protobuf (ed_bytes, NULL);
  g_autoptr(PunchPublicKey) ecdsa = punch_public_key_new_from_protobuf (ecdsa_bytes, NULL);

  g_assert_nonnull (ed);
  g_assert_nonnull (ecdsa);
  g_assert_false (punch_peer_id_matches_public_key (punch_public_key_get_peer_id (ed), ecdsa));
  g_assert_false (punch_peer_id_equal (punch_public_key_get_peer_id (ed),
                                       punch_public_key_get_peer_id (ecdsa)));
}

static void
test_bytes_roundtrip (void)
{
  const gchar *texts[] = { SPEC_B58_SHA256, SPEC_B58_ED25519 };

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PunchPeerId) peer_id = punch_peer_id_new_from_string (texts[i], &error);
      g_autoptr(PunchPeerId) again = NULL;
      g_autoptr(GBytes) bytes = NULL;
      g_autofree gchar *text = NULL;

      g_assert_no_error (error);
      bytes = punch_peer_id_get_bytes (peer_id);
      again = punch_peer_id_new_from_bytes (bytes, &error);
      g_assert_no_error (error);
      g_assert_true (punch_peer_id_equal (again, peer_id));
      text = punch_peer_id_to_string (again);
      g_assert_cmpstr (text, ==, texts[i]);
    }
}

static void
test_bytes_malformed (void)
{
  g_autofree gchar *identity_43 = NULL;
  g_autofree gchar *garbage_100 = NULL;

  /* Empty. */
  assert_bytes_error ("", PUNCH_ERROR_MALFORMED);
  /* sha1 (0x11) is a multihash but not a peer id. */
  assert_bytes_error ("1114" "0000000000000000000000000000000000000000", PUNCH_ERROR_MALFORMED);
  /* blake2b-256 (0xb220, a two-byte varint). */
  assert_bytes_error ("a0e40220"
                      "0000000000000000000000000000000000000000000000000000000000000000",
                      PUNCH_ERROR_MALFORMED);
  /* sha2-256 with a 31-byte digest. */
  assert_bytes_error ("121f" "00000000000000000000000000000000000000000000000000000000000000",
                      PUNCH_ERROR_MALFORMED);
  /* Truncated digest. */
  assert_bytes_error ("1220" "0000", PUNCH_ERROR_MALFORMED);
  /* A byte after the digest. */
  assert_bytes_error ("1220"
                      "0000000000000000000000000000000000000000000000000000000000000000" "00",
                      PUNCH_ERROR_MALFORMED);
  /* Only a code. */
  assert_bytes_error ("12", PUNCH_ERROR_MALFORMED);
  /* Unterminated and non-minimal varints. */
  assert_bytes_error ("ff", PUNCH_ERROR_MALFORMED);
  assert_bytes_error ("9200" "20", PUNCH_ERROR_MALFORMED);
  /* An empty identity multihash. */
  assert_bytes_error ("0000", PUNCH_ERROR_MALFORMED);

  /* An identity multihash of 43 bytes: longer than any inlined key. */
  identity_43 = g_strconcat ("002b", "0801122700000000000000000000000000000000"
                             "0000000000000000000000000000000000000000000000", NULL);
  g_assert_cmpuint (strlen (identity_43), ==, 2 * 45);
  assert_bytes_error (identity_43, PUNCH_ERROR_TOO_LARGE);

  garbage_100 = g_strnfill (200, 'a');
  assert_bytes_error (garbage_100, PUNCH_ERROR_TOO_LARGE);
}

static void
test_bytes_max_inline (void)
{
  /* 42 bytes is the largest inlined key: accepted. */
  g_autofree gchar *hex = g_strconcat ("002a", "0801122600000000000000000000000000000000"
                                       "00000000000000000000000000000000000000000000",
                                       NULL);
  g_autoptr(GBytes) bytes = hex_bytes (hex);
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchPeerId) peer_id = punch_peer_id_new_from_bytes (bytes, &error);

  g_assert_no_error (error);
  g_assert_nonnull (peer_id);
  /* It is a valid peer id, but its inlined bytes are no valid key. */
  g_assert_null (punch_peer_id_get_public_key (peer_id));
}

static void
test_string_forms (void)
{
  /* The same sha2-256 peer id as a CID in base32 upper case, base58btc and
   * base16 (lower and upper case). */
  const gchar *forms[] = {
    "BAFZBEIE5745RPV2M6TJYUUGYWY4D5EWRQGQQHFNF445HE3OMZPJBX5XQXE",
    "zdvgqC3jczfCwLUoSyWT8GLc5UZ9aG4RkAg7XAfidRbX9qVj6",
    "f017212209dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9",
    "F017212209DFF3B17D74CF4D38A50D8B6383E92D181A10395A5E73A726DCCCBD21BF6F0B9",
  };
  g_autoptr(PunchPeerId) expected = punch_peer_id_new_from_string (SPEC_B58_SHA256, NULL);

  g_assert_nonnull (expected);

  for (gsize i = 0; i < G_N_ELEMENTS (forms); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PunchPeerId) peer_id = punch_peer_id_new_from_string (forms[i], &error);

      g_test_message ("form %s", forms[i]);
      g_assert_no_error (error);
      g_assert_true (punch_peer_id_equal (peer_id, expected));
    }
}

static void
test_string_malformed (void)
{
  g_autofree gchar *long_text = g_strnfill (129, 'Q');
  g_autofree gchar *at_limit = g_strnfill (128, '2');

  assert_string_error ("", PUNCH_ERROR_MALFORMED);
  /* Characters outside the base58btc alphabet (0, O, I, l). */
  assert_string_error ("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx50", PUNCH_ERROR_MALFORMED);
  assert_string_error ("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhxlO", PUNCH_ERROR_MALFORMED);
  /* One character short: not a valid multihash any more. */
  assert_string_error ("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5", PUNCH_ERROR_MALFORMED);
  /* Neither form (no known multibase prefix). */
  assert_string_error ("xyz", PUNCH_ERROR_MALFORMED);
  assert_string_error ("2D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA",
                       PUNCH_ERROR_MALFORMED);
  assert_string_error ("/p2p/" SPEC_B58_ED25519, PUNCH_ERROR_MALFORMED);
  /* A prefix alone. */
  assert_string_error ("b", PUNCH_ERROR_MALFORMED);
  assert_string_error ("1", PUNCH_ERROR_MALFORMED);
  /* CIDs with another codec: raw (0x55), dag-pb (0x70). */
  assert_string_error ("f015512209dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9",
                       PUNCH_ERROR_MALFORMED);
  assert_string_error ("f017012209dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9",
                       PUNCH_ERROR_MALFORMED);
  /* A CID of version 2, and a "CID" that is a bare multihash. */
  assert_string_error ("f027212209dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9",
                       PUNCH_ERROR_MALFORMED);
  assert_string_error ("f12209dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9",
                       PUNCH_ERROR_MALFORMED);
  /* A libp2p-key CID whose multihash is sha1. */
  assert_string_error ("f017211140000000000000000000000000000000000000000",
                       PUNCH_ERROR_MALFORMED);
  /* Truncated CIDs. */
  assert_string_error ("f01", PUNCH_ERROR_MALFORMED);
  assert_string_error ("f0172", PUNCH_ERROR_MALFORMED);
  assert_string_error ("bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xq",
                       PUNCH_ERROR_MALFORMED);
  /* Bad characters for base32 and base16. */
  assert_string_error ("bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqx1",
                       PUNCH_ERROR_MALFORMED);
  assert_string_error ("f01721220zz", PUNCH_ERROR_MALFORMED);
  assert_string_error ("f0172122", PUNCH_ERROR_MALFORMED);
  /* Too long to be any peer id. */
  assert_string_error (long_text, PUNCH_ERROR_TOO_LARGE);
  assert_string_error (at_limit, PUNCH_ERROR_MALFORMED);
}

static void
test_hash_table (void)
{
  g_autoptr(GHashTable) table = g_hash_table_new_full (punch_peer_id_hash,
                                                       punch_peer_id_equal,
                                                       (GDestroyNotify) punch_peer_id_unref,
                                                       NULL);
  g_autoptr(PunchPeerId) a = punch_peer_id_new_from_string (SPEC_B58_SHA256, NULL);
  g_autoptr(PunchPeerId) b = punch_peer_id_new_from_string (SPEC_CID_SHA256, NULL);
  g_autoptr(PunchPeerId) c = punch_peer_id_new_from_string (SPEC_B58_ED25519, NULL);

  g_hash_table_add (table, punch_peer_id_ref (a));
  g_assert_true (g_hash_table_contains (table, b));
  g_assert_false (g_hash_table_contains (table, c));
  g_hash_table_add (table, punch_peer_id_ref (b));
  g_assert_cmpuint (g_hash_table_size (table), ==, 1);
  g_hash_table_add (table, punch_peer_id_ref (c));
  g_assert_cmpuint (g_hash_table_size (table), ==, 2);
}

static void
test_boxed (void)
{
  g_autoptr(PunchPeerId) peer_id = punch_peer_id_new_from_string (SPEC_B58_ED25519, NULL);
  PunchPeerId *copy;
  GValue value = G_VALUE_INIT;

  g_assert_true (G_TYPE_IS_BOXED (PUNCH_TYPE_PEER_ID));

  copy = g_boxed_copy (PUNCH_TYPE_PEER_ID, peer_id);
  g_assert_true (copy == peer_id);   /* immutable: a copy is a reference */
  g_boxed_free (PUNCH_TYPE_PEER_ID, copy);

  g_value_init (&value, PUNCH_TYPE_PEER_ID);
  g_value_set_boxed (&value, peer_id);
  g_assert_true (punch_peer_id_equal (g_value_get_boxed (&value), peer_id));
  g_value_unset (&value);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/peer-id/spec/sha256-forms", test_spec_sha256_forms);
  g_test_add_func ("/peer-id/spec/ed25519-form", test_spec_ed25519_form);
  g_test_add_func ("/peer-id/from-public-key/spec-vectors", test_from_public_key);
  g_test_add_func ("/peer-id/from-public-key/other-key", test_does_not_match_other_key);
  g_test_add_func ("/peer-id/bytes/roundtrip", test_bytes_roundtrip);
  g_test_add_func ("/peer-id/bytes/malformed", test_bytes_malformed);
  g_test_add_func ("/peer-id/bytes/max-inline", test_bytes_max_inline);
  g_test_add_func ("/peer-id/text/forms", test_string_forms);
  g_test_add_func ("/peer-id/text/malformed", test_string_malformed);
  g_test_add_func ("/peer-id/hash-table", test_hash_table);
  g_test_add_func ("/peer-id/boxed", test_boxed);

  return g_test_run ();
}
