/* test-multibase.c: base58btc, base32 and base16 codecs.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include <punch.h>

#include "punch-multibase.h"

typedef struct {
  const gchar *data;
  gsize len;
  const gchar *text;
} Vector;

/* multiformats/multibase tests/{basic,leading_zero,two_leading_zeros}.csv
 * ("yes mani !" with 0, 1 and 2 leading zero bytes; the multibase prefix
 * character 'z' / 'b' / 'f' dropped), bitcoin's base58 examples, and
 * RFC 4648 section 10 (base32 lowercased; padding dropped). */
static const Vector base58_vectors[] = {
  { "yes mani !", 10, "7paNL19xttacUY" },
  { "\0yes mani !", 11, "17paNL19xttacUY" },
  { "\0\0yes mani !", 12, "117paNL19xttacUY" },
  { "hello world", 11, "StV1DL6CwTryKyV" },
  { "\0\0\x28\x7f\xb4\xcd", 6, "11233QC4" },
  { "\0", 1, "1" },
  { "\0\0\0", 3, "111" },
  { "\x39", 1, "z" },
  { "\x3a", 1, "21" },
  { "\xff", 1, "5Q" },
  { "\x01\x00", 2, "5R" },
};

static const Vector base32_vectors[] = {
  { "yes mani !", 10, "pfsxgidnmfxgsibb" },
  { "\0yes mani !", 11, "ab4wk4zanvqw42jaee" },
  { "\0\0yes mani !", 12, "aaahszltebwwc3tjeaqq" },
  { "", 0, "" },
  { "f", 1, "my" },
  { "fo", 2, "mzxq" },
  { "foo", 3, "mzxw6" },
  { "foob", 4, "mzxw6yq" },
  { "fooba", 5, "mzxw6ytb" },
  { "foobar", 6, "mzxw6ytboi" },
  { "\xff\xff\xff\xff\xff", 5, "77777777" },
};

static const Vector base16_vectors[] = {
  { "yes mani !", 10, "796573206d616e692021" },
  { "\0yes mani !", 11, "00796573206d616e692021" },
  { "\0\0yes mani !", 12, "0000796573206d616e692021" },
  { "", 0, "" },
  { "foobar", 6, "666f6f626172" },
  { "\x01\xab\xcd\xef\xff", 5, "01abcdefff" },
};

static const Vector base64url_vectors[] = {
  { "yes mani !", 10, "eWVzIG1hbmkgIQ" },
  { "\0yes mani !", 11, "AHllcyBtYW5pICE" },
  { "\0\0yes mani !", 12, "AAB5ZXMgbWFuaSAh" },
  { "", 0, "" },
  { "f", 1, "Zg" },
  { "fo", 2, "Zm8" },
  { "foo", 3, "Zm9v" },
  { "foob", 4, "Zm9vYg" },
  { "fooba", 5, "Zm9vYmE" },
  { "foobar", 6, "Zm9vYmFy" },
  /* 11111011 11111111 -> 111110 111111 1111(00): '-' '_' '8' */
  { "\xfb\xff", 2, "-_8" },
};

typedef gchar  *(*EncodeFunc) (const guint8 *data, gsize len);
typedef GBytes *(*DecodeFunc) (const gchar *text, GError **error);

static void
check_vectors (const Vector *vectors,
               gsize         n_vectors,
               EncodeFunc    encode,
               DecodeFunc    decode)
{
  gsize i;

  for (i = 0; i < n_vectors; i++)
    {
      const Vector *v = &vectors[i];
      g_autofree gchar *text = encode ((const guint8 *) v->data, v->len);
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) error = NULL;

      g_assert_cmpstr (text, ==, v->text);

      bytes = decode (v->text, &error);
      g_assert_no_error (error);
      g_assert_nonnull (bytes);
      g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                       v->data, v->len);
    }
}

static void
check_error (DecodeFunc   decode,
             const gchar *text,
             gint         code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = decode (text, &error);

  g_assert_null (bytes);
  g_assert_error (error, PUNCH_ERROR, code);
}

static void
check_random_roundtrips (EncodeFunc encode,
                         DecodeFunc decode,
                         gsize      max_len)
{
  guint iter;

  for (iter = 0; iter < 200; iter++)
    {
      gsize len = g_test_rand_int_range (0, (gint) max_len + 1);
      g_autofree guint8 *data = g_malloc (len + 1);
      g_autofree gchar *text = NULL;
      g_autoptr(GBytes) bytes = NULL;
      gsize i;

      for (i = 0; i < len; i++)
        /* Plenty of zero bytes, to exercise the leading-zero rules. */
        data[i] = g_test_rand_bit () ? 0 : (guint8) g_test_rand_int_range (0, 256);

      text = encode (data, len);
      if (len == 0 && decode == punch_base58btc_decode)
        {
          g_assert_cmpstr (text, ==, "");
          continue;
        }
      bytes = decode (text, NULL);
      g_assert_nonnull (bytes);
      g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                       data, len);
    }
}

static void
test_base58_vectors (void)
{
  check_vectors (base58_vectors, G_N_ELEMENTS (base58_vectors),
                 punch_base58btc_encode, punch_base58btc_decode);
}

static void
test_base58_empty (void)
{
  g_autofree gchar *text = punch_base58btc_encode (NULL, 0);

  g_assert_cmpstr (text, ==, "");
  check_error (punch_base58btc_decode, "", PUNCH_ERROR_MALFORMED);
}

static void
test_base58_peer_ids (void)
{
  /* A CIDv0-style sha2-256 peer id (libp2p/specs peer-ids.md) and an
   * Ed25519 identity-multihash peer id: the decoded multihash headers are
   * 0x12 0x20 (sha2-256, 32 bytes) and 0x00 0x24 0x08 0x01 0x12 0x20
   * (identity, 36 bytes: protobuf PublicKey{Type: Ed25519, Data: 32 bytes}). */
  const gchar *qm = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
  const gchar *ed = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
  g_autoptr(GBytes) a = punch_base58btc_decode (qm, NULL);
  g_autoptr(GBytes) b = punch_base58btc_decode (ed, NULL);
  g_autofree gchar *a_text = NULL;
  g_autofree gchar *b_text = NULL;
  const guint8 *p;

  g_assert_nonnull (a);
  g_assert_cmpuint (g_bytes_get_size (a), ==, 34);
  p = g_bytes_get_data (a, NULL);
  g_assert_cmpuint (p[0], ==, 0x12);
  g_assert_cmpuint (p[1], ==, 0x20);

  g_assert_nonnull (b);
  g_assert_cmpuint (g_bytes_get_size (b), ==, 38);
  p = g_bytes_get_data (b, NULL);
  g_assert_cmpmem (p, 6, "\x00\x24\x08\x01\x12\x20", 6);

  a_text = punch_base58btc_encode (g_bytes_get_data (a, NULL), g_bytes_get_size (a));
  b_text = punch_base58btc_encode (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
  g_assert_cmpstr (a_text, ==, qm);
  g_assert_cmpstr (b_text, ==, ed);
}

static void
test_base58_malformed (void)
{
  /* '0', 'O', 'I' and 'l' are not in the bitcoin alphabet. */
  check_error (punch_base58btc_decode, "0", PUNCH_ERROR_MALFORMED);
  check_error (punch_base58btc_decode, "abcO", PUNCH_ERROR_MALFORMED);
  check_error (punch_base58btc_decode, "I", PUNCH_ERROR_MALFORMED);
  check_error (punch_base58btc_decode, "11l", PUNCH_ERROR_MALFORMED);
  check_error (punch_base58btc_decode, "Qm+", PUNCH_ERROR_MALFORMED);
  check_error (punch_base58btc_decode, "Qm ", PUNCH_ERROR_MALFORMED);
  check_error (punch_base58btc_decode, "\xc3\xa9", PUNCH_ERROR_MALFORMED);
}

static void
test_base58_length_limit (void)
{
  g_autofree gchar *max = g_strnfill (PUNCH_BASE58_MAX_TEXT_LEN, 'z');
  g_autofree gchar *ones = g_strnfill (PUNCH_BASE58_MAX_TEXT_LEN, '1');
  g_autofree gchar *over = g_strnfill (PUNCH_BASE58_MAX_TEXT_LEN + 1, '2');
  g_autofree gchar *huge = g_strnfill (1 << 20, '2');
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) zeros = NULL;
  g_autofree gchar *text = NULL;

  /* 58^512 - 1 fits in ceil (512 * log2 (58) / 8) = 375 bytes. */
  bytes = punch_base58btc_decode (max, NULL);
  g_assert_nonnull (bytes);
  g_assert_cmpuint (g_bytes_get_size (bytes), ==, 375);
  text = punch_base58btc_encode (g_bytes_get_data (bytes, NULL),
                                 g_bytes_get_size (bytes));
  g_assert_cmpstr (text, ==, max);

  zeros = punch_base58btc_decode (ones, NULL);
  g_assert_nonnull (zeros);
  g_assert_cmpuint (g_bytes_get_size (zeros), ==, PUNCH_BASE58_MAX_TEXT_LEN);

  check_error (punch_base58btc_decode, over, PUNCH_ERROR_TOO_LARGE);
  check_error (punch_base58btc_decode, huge, PUNCH_ERROR_TOO_LARGE);
}

static void
test_base58_random (void)
{
  /* 300 bytes encode to at most 410 characters, within the decoder's cap. */
  check_random_roundtrips (punch_base58btc_encode, punch_base58btc_decode, 300);
}

static void
test_base32_vectors (void)
{
  check_vectors (base32_vectors, G_N_ELEMENTS (base32_vectors),
                 punch_base32_encode, punch_base32_decode);
}

static void
test_base32_case (void)
{
  /* tests/case_insensitivity.csv: mixed case decodes ("hello world"). */
  g_autoptr(GBytes) mixed = punch_base32_decode ("nbswy3dpeB3W64TMMQ", NULL);
  g_autoptr(GBytes) upper = punch_base32_decode ("PFSXGIDNMFXGSIBB", NULL);

  g_assert_nonnull (mixed);
  g_assert_cmpmem (g_bytes_get_data (mixed, NULL), g_bytes_get_size (mixed),
                   "hello world", 11);
  g_assert_nonnull (upper);
  g_assert_cmpmem (g_bytes_get_data (upper, NULL), g_bytes_get_size (upper),
                   "yes mani !", 10);
}

static void
test_base32_malformed (void)
{
  /* Lengths 1, 3 and 6 modulo 8 hold leftover bits but no whole byte. */
  check_error (punch_base32_decode, "m", PUNCH_ERROR_MALFORMED);
  check_error (punch_base32_decode, "mzx", PUNCH_ERROR_MALFORMED);
  check_error (punch_base32_decode, "mzxw6y", PUNCH_ERROR_MALFORMED);
  check_error (punch_base32_decode, "mzxw6ytbm", PUNCH_ERROR_MALFORMED);
  /* "mz": 01100 11001 -> 0x66 and the bits "01", which must be zero. */
  check_error (punch_base32_decode, "mz", PUNCH_ERROR_MALFORMED);
  check_error (punch_base32_decode, "mzxr", PUNCH_ERROR_MALFORMED);
  /* Padding, and characters of other base32 alphabets. */
  check_error (punch_base32_decode, "my======", PUNCH_ERROR_MALFORMED);
  check_error (punch_base32_decode, "m0", PUNCH_ERROR_MALFORMED);
  check_error (punch_base32_decode, "m1", PUNCH_ERROR_MALFORMED);
  check_error (punch_base32_decode, "m8", PUNCH_ERROR_MALFORMED);
  check_error (punch_base32_decode, "m9", PUNCH_ERROR_MALFORMED);
  check_error (punch_base32_decode, "m ", PUNCH_ERROR_MALFORMED);
  check_error (punch_base32_decode, "mzxw6yt\xc3\xa9", PUNCH_ERROR_MALFORMED);
}

static void
test_base32_random (void)
{
  check_random_roundtrips (punch_base32_encode, punch_base32_decode, 200);
}

static void
test_base16_vectors (void)
{
  check_vectors (base16_vectors, G_N_ELEMENTS (base16_vectors),
                 punch_base16_encode, punch_base16_decode);
}

static void
test_base16_case (void)
{
  /* tests/case_insensitivity.csv and base16upper. */
  g_autoptr(GBytes) mixed = punch_base16_decode ("68656c6c6f20776F726C64", NULL);
  g_autoptr(GBytes) upper = punch_base16_decode ("796573206D616E692021", NULL);

  g_assert_nonnull (mixed);
  g_assert_cmpmem (g_bytes_get_data (mixed, NULL), g_bytes_get_size (mixed),
                   "hello world", 11);
  g_assert_nonnull (upper);
  g_assert_cmpmem (g_bytes_get_data (upper, NULL), g_bytes_get_size (upper),
                   "yes mani !", 10);
}

static void
test_base16_malformed (void)
{
  check_error (punch_base16_decode, "0", PUNCH_ERROR_MALFORMED);
  check_error (punch_base16_decode, "abc", PUNCH_ERROR_MALFORMED);
  check_error (punch_base16_decode, "0g", PUNCH_ERROR_MALFORMED);
  check_error (punch_base16_decode, "g0", PUNCH_ERROR_MALFORMED);
  check_error (punch_base16_decode, "0x00", PUNCH_ERROR_MALFORMED);
  check_error (punch_base16_decode, " 0", PUNCH_ERROR_MALFORMED);
}

static void
test_base16_random (void)
{
  check_random_roundtrips (punch_base16_encode, punch_base16_decode, 200);
}

static void
test_base64url_vectors (void)
{
  check_vectors (base64url_vectors, G_N_ELEMENTS (base64url_vectors),
                 punch_base64url_encode, punch_base64url_decode);
}

static void
test_base64url_malformed (void)
{
  check_error (punch_base64url_decode, "Zg==", PUNCH_ERROR_MALFORMED);
  check_error (punch_base64url_decode, "Z", PUNCH_ERROR_MALFORMED);
  check_error (punch_base64url_decode, "Zm9vY", PUNCH_ERROR_MALFORMED);
  /* "Zh": 011001 100001 -> 0x66 and the bits "0001", which must be zero. */
  check_error (punch_base64url_decode, "Zh", PUNCH_ERROR_MALFORMED);
  /* Standard base64's '+' and '/' are not base64url. */
  check_error (punch_base64url_decode, "+/8", PUNCH_ERROR_MALFORMED);
  check_error (punch_base64url_decode, "Zm9v Yg", PUNCH_ERROR_MALFORMED);
}

static void
test_base64url_random (void)
{
  check_random_roundtrips (punch_base64url_encode, punch_base64url_decode, 200);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/multibase/base58btc/vectors", test_base58_vectors);
  g_test_add_func ("/multibase/base58btc/empty", test_base58_empty);
  g_test_add_func ("/multibase/base58btc/peer-ids", test_base58_peer_ids);
  g_test_add_func ("/multibase/base58btc/malformed", test_base58_malformed);
  g_test_add_func ("/multibase/base58btc/length-limit", test_base58_length_limit);
  g_test_add_func ("/multibase/base58btc/random", test_base58_random);
  g_test_add_func ("/multibase/base32/vectors", test_base32_vectors);
  g_test_add_func ("/multibase/base32/case", test_base32_case);
  g_test_add_func ("/multibase/base32/malformed", test_base32_malformed);
  g_test_add_func ("/multibase/base32/random", test_base32_random);
  g_test_add_func ("/multibase/base16/vectors", test_base16_vectors);
  g_test_add_func ("/multibase/base16/case", test_base16_case);
  g_test_add_func ("/multibase/base16/malformed", test_base16_malformed);
  g_test_add_func ("/multibase/base16/random", test_base16_random);
  g_test_add_func ("/multibase/base64url/vectors", test_base64url_vectors);
  g_test_add_func ("/multibase/base64url/malformed", test_base64url_malformed);
  g_test_add_func ("/multibase/base64url/random", test_base64url_random);

  return g_test_run ();
}
