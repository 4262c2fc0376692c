/* test-envelope.c: signed envelopes (RFC 0002) and relay vouchers.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "envelope.pb-c.h"
#include "punch-envelope.h"
#include "punch-error.h"
#include "punch-keypair.h"
#include "punch-proto.h"
#include "punch-relay-core.h"

#define DOMAIN "libp2p-relay-rsvp"

static const guint8 payload_type[] = { 0x03, 0x02 };
static const guint8 test_payload[] = "the payload";

static PunchKeypair *
new_keypair (PunchKeyType type)
{
  g_autoptr(GError) error = NULL;
  PunchKeypair *keypair = punch_keypair_generate (type, &error);

  g_assert_no_error (error);
  return keypair;
}

static GBytes *
seal (PunchKeypair *keypair)
{
  g_autoptr(GError) error = NULL;
  GBytes *envelope = punch_envelope_seal (keypair, DOMAIN, payload_type, sizeof payload_type,
                                          test_payload, sizeof test_payload, &error);

  g_assert_no_error (error);
  g_assert_nonnull (envelope);
  return envelope;
}

/* The signed buffer is varint(len)+domain, varint(len)+type,
 * varint(len)+payload (RFC 0002 "Signature Production / Verification"). */
static void
test_signing_buffer (void)
{
  g_autoptr(GBytes) buf = punch_envelope_signing_buffer ("ab", (const guint8 *) "\x03\x02", 2,
                                                         (const guint8 *) "xyz", 3);
  static const guint8 expected[] = { 2, 'a', 'b', 2, 0x03, 0x02, 3, 'x', 'y', 'z' };
  g_autofree guint8 *big = g_malloc0 (200);
  g_autoptr(GBytes) long_buf = punch_envelope_signing_buffer ("", NULL, 0, big, 200);
  const guint8 *data;
  gsize len;

  data = g_bytes_get_data (buf, &len);
  g_assert_cmpmem (data, len, expected, sizeof expected);

  /* A length of 200 is a two-byte varint; an empty field is one zero. */
  data = g_bytes_get_data (long_buf, &len);
  g_assert_cmpuint (len, ==, 1 + 1 + 2 + 200);
  g_assert_cmpuint (data[0], ==, 0);
  g_assert_cmpuint (data[1], ==, 0);
  g_assert_cmpuint (data[2], ==, 0xc8);
  g_assert_cmpuint (data[3], ==, 0x01);
}

static void
check_roundtrip (PunchKeyType type)
{
  g_autoptr(PunchKeypair) keypair = new_keypair (type);
  g_autoptr(GBytes) envelope = seal (keypair);
  g_autoptr(PunchPublicKey) signer = NULL;
  g_autoptr(GBytes) opened = NULL;
  g_autoptr(GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (envelope, &len);

  g_assert_true (punch_envelope_open (data, len, DOMAIN, payload_type, sizeof payload_type,
                                      &signer, &opened, &error));
  g_assert_no_error (error);
  g_assert_true (punch_public_key_equal (signer, punch_keypair_get_public_key (keypair)));
  g_assert_cmpmem (g_bytes_get_data (opened, NULL), g_bytes_get_size (opened),
                   test_payload, sizeof test_payload);

  /* Out parameters are optional. */
  g_assert_true (punch_envelope_open (data, len, DOMAIN, payload_type, sizeof payload_type,
                                      NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
test_roundtrip_ed25519 (void)
{
  check_roundtrip (PUNCH_KEY_TYPE_ED25519);
}

static void
test_roundtrip_ecdsa (void)
{
  check_roundtrip (PUNCH_KEY_TYPE_ECDSA);
}

/* The wire format is the Envelope protobuf: public key, type, payload,
 * signature in fields 1, 2, 3, 5. */
static void
test_wire_format (void)
{
  g_autoptr(PunchKeypair) keypair = new_keypair (PUNCH_KEY_TYPE_ED25519);
  g_autoptr(GBytes) envelope = seal (keypair);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) key = punch_public_key_to_protobuf (punch_keypair_get_public_key (keypair));
  Record__Pb__Envelope *pb;
  gsize len;
  const guint8 *data = g_bytes_get_data (envelope, &len);

  pb = (Record__Pb__Envelope *) punch_proto_unpack (&record__pb__envelope__descriptor,
                                                    data, len, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (pb->payload_type.data, pb->payload_type.len, payload_type, 2);
  g_assert_cmpmem (pb->payload.data, pb->payload.len, test_payload, sizeof test_payload);
  g_assert_cmpuint (pb->signature.len, ==, 64);
  g_assert_nonnull (pb->public_key);
  g_assert_cmpint (pb->public_key->type, ==, 1);
  /* Field 1 is first and holds the key protobuf as it is. */
  g_assert_cmpuint (data[0], ==, 0x0a);
  g_assert_cmpuint (data[1], ==, g_bytes_get_size (key));
  g_assert_cmpmem (data + 2, g_bytes_get_size (key), g_bytes_get_data (key, NULL),
                   g_bytes_get_size (key));
  punch_proto_free (&pb->base);
}

/* Re-encodes an envelope after @edit changed it. */
typedef void (*EditFunc) (Record__Pb__Envelope *pb);

static GBytes *
edited (GBytes   *envelope,
        EditFunc  edit)
{
  g_autoptr(GError) error = NULL;
  Record__Pb__Envelope *pb;
  GBytes *out;

  pb = (Record__Pb__Envelope *) punch_proto_unpack (&record__pb__envelope__descriptor,
                                                    g_bytes_get_data (envelope, NULL),
                                                    g_bytes_get_size (envelope), 0, &error);
  g_assert_no_error (error);
  edit (pb);
  out = punch_proto_pack (&pb->base);
  punch_proto_free (&pb->base);
  return out;
}

static void flip_payload (Record__Pb__Envelope *pb) { pb->payload.data[0] ^= 1; }
static void flip_signature (Record__Pb__Envelope *pb) { pb->signature.data[10] ^= 0x80; }
static void drop_signature (Record__Pb__Envelope *pb) { pb->signature.len = 0; }
static void flip_type (Record__Pb__Envelope *pb) { pb->payload_type.data[1] ^= 1; }
static void drop_key (Record__Pb__Envelope *pb) { punch_proto_free (&pb->public_key->base); pb->public_key = NULL; }
static void bad_key (Record__Pb__Envelope *pb) { pb->public_key->data.len = 5; }

static PunchPublicKey *other_key;

static void
swap_key (Record__Pb__Envelope *pb)
{
  g_autoptr(GBytes) key = punch_public_key_to_protobuf (other_key);

  g_assert_cmpuint (g_bytes_get_size (key), ==, 36);
  /* Same length (Ed25519): overwrite the key bytes in place. */
  memcpy (pb->public_key->data.data, (const guint8 *) g_bytes_get_data (key, NULL) + 4, 32);
}

static void
assert_open_fails (GBytes       *envelope,
                   const gchar  *domain,
                   const guint8 *type,
                   gsize         type_len,
                   gint          code)
{
  g_autoptr(GError) error = NULL;
  PunchPublicKey *signer = NULL;
  GBytes *opened = NULL;

  g_assert_false (punch_envelope_open (g_bytes_get_data (envelope, NULL),
                                       g_bytes_get_size (envelope), domain, type, type_len,
                                       &signer, &opened, &error));
  g_assert_error (error, PUNCH_ERROR, code);
  g_assert_null (signer);
  g_assert_null (opened);
}

static void
test_tampering (void)
{
  g_autoptr(PunchKeypair) keypair = new_keypair (PUNCH_KEY_TYPE_ED25519);
  g_autoptr(PunchKeypair) other = new_keypair (PUNCH_KEY_TYPE_ED25519);
  g_autoptr(GBytes) envelope = seal (keypair);
  g_autoptr(GBytes) payload_changed = edited (envelope, flip_payload);
  g_autoptr(GBytes) signature_changed = edited (envelope, flip_signature);
  g_autoptr(GBytes) signature_dropped = edited (envelope, drop_signature);
  g_autoptr(GBytes) key_swapped = NULL;

  other_key = punch_keypair_get_public_key (other);
  key_swapped = edited (envelope, swap_key);

  assert_open_fails (payload_changed, DOMAIN, payload_type, 2, PUNCH_ERROR_BAD_SIGNATURE);
  assert_open_fails (signature_changed, DOMAIN, payload_type, 2, PUNCH_ERROR_BAD_SIGNATURE);
  assert_open_fails (signature_dropped, DOMAIN, payload_type, 2, PUNCH_ERROR_BAD_SIGNATURE);
  assert_open_fails (key_swapped, DOMAIN, payload_type, 2, PUNCH_ERROR_BAD_SIGNATURE);
}

/* The domain is not sent: another domain fails the signature. */
static void
test_wrong_domain (void)
{
  g_autoptr(PunchKeypair) keypair = new_keypair (PUNCH_KEY_TYPE_ED25519);
  g_autoptr(GBytes) envelope = seal (keypair);

  assert_open_fails (envelope, "libp2p-routing-state", payload_type, 2,
                     PUNCH_ERROR_BAD_SIGNATURE);
  assert_open_fails (envelope, "", payload_type, 2, PUNCH_ERROR_BAD_SIGNATURE);
}

static void
test_wrong_payload_type (void)
{
  g_autoptr(PunchKeypair) keypair = new_keypair (PUNCH_KEY_TYPE_ED25519);
  g_autoptr(GBytes) envelope = seal (keypair);
  g_autoptr(GBytes) type_changed = edited (envelope, flip_type);
  static const guint8 peer_record[] = { 0x03, 0x01 };
  static const guint8 varint_form[] = { 0x82, 0x06 };

  assert_open_fails (envelope, DOMAIN, peer_record, 2, PUNCH_ERROR_UNSUPPORTED);
  assert_open_fails (envelope, DOMAIN, varint_form, 2, PUNCH_ERROR_UNSUPPORTED);
  assert_open_fails (envelope, DOMAIN, payload_type, 1, PUNCH_ERROR_UNSUPPORTED);
  /* A changed type is refused before its signature is looked at. */
  assert_open_fails (type_changed, DOMAIN, payload_type, 2, PUNCH_ERROR_UNSUPPORTED);
}

static void
test_malformed (void)
{
  g_autoptr(PunchKeypair) keypair = new_keypair (PUNCH_KEY_TYPE_ED25519);
  g_autoptr(GBytes) envelope = seal (keypair);
  g_autoptr(GBytes) no_key = edited (envelope, drop_key);
  g_autoptr(GBytes) short_key = edited (envelope, bad_key);
  g_autoptr(GBytes) truncated = g_bytes_new_from_bytes (envelope, 0, g_bytes_get_size (envelope) - 3);
  g_autoptr(GBytes) garbage = g_bytes_new_static ("\xff\xff\xff", 3);
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  g_autofree guint8 *huge_data = g_malloc0 (PUNCH_ENVELOPE_MAX_SIZE + 1);
  g_autoptr(GBytes) huge = g_bytes_new_take (g_steal_pointer (&huge_data), PUNCH_ENVELOPE_MAX_SIZE + 1);

  assert_open_fails (no_key, DOMAIN, payload_type, 2, PUNCH_ERROR_MALFORMED);
  assert_open_fails (short_key, DOMAIN, payload_type, 2, PUNCH_ERROR_MALFORMED);
  assert_open_fails (truncated, DOMAIN, payload_type, 2, PUNCH_ERROR_MALFORMED);
  assert_open_fails (garbage, DOMAIN, payload_type, 2, PUNCH_ERROR_MALFORMED);
  assert_open_fails (empty, DOMAIN, payload_type, 2, PUNCH_ERROR_MALFORMED);
  assert_open_fails (huge, DOMAIN, payload_type, 2, PUNCH_ERROR_TOO_LARGE);
}

/* Vouchers: canonical protobuf of relay, peer, expiration. */
static void
test_voucher_encode (void)
{
  g_autoptr(PunchKeypair) relay = new_keypair (PUNCH_KEY_TYPE_ED25519);
  g_autoptr(PunchKeypair) peer = new_keypair (PUNCH_KEY_TYPE_ED25519);
  g_autoptr(GBytes) voucher = punch_relay_voucher_encode (punch_keypair_get_peer_id (relay),
                                                          punch_keypair_get_peer_id (peer),
                                                          1700000000);
  g_autoptr(GBytes) relay_bytes = punch_peer_id_get_bytes (punch_keypair_get_peer_id (relay));
  g_autoptr(GBytes) peer_bytes = punch_peer_id_get_bytes (punch_keypair_get_peer_id (peer));
  g_autoptr(GByteArray) expected = g_byte_array_new ();
  g_autoptr(PunchPeerId) out_relay = NULL;
  g_autoptr(PunchPeerId) out_peer = NULL;
  g_autoptr(GError) error = NULL;
  guint64 expiration = 0;
  /* 1700000000 as a protobuf varint. */
  static const guint8 expiration_varint[] = { 0x18, 0x80, 0xe2, 0xcf, 0xaa, 0x06 };

  g_byte_array_append (expected, (const guint8 *) "\x0a", 1);
  g_byte_array_append (expected, (const guint8[]) { (guint8) g_bytes_get_size (relay_bytes) }, 1);
  g_byte_array_append (expected, g_bytes_get_data (relay_bytes, NULL), g_bytes_get_size (relay_bytes));
  g_byte_array_append (expected, (const guint8 *) "\x12", 1);
  g_byte_array_append (expected, (const guint8[]) { (guint8) g_bytes_get_size (peer_bytes) }, 1);
  g_byte_array_append (expected, g_bytes_get_data (peer_bytes, NULL), g_bytes_get_size (peer_bytes));
  g_byte_array_append (expected, expiration_varint, sizeof expiration_varint);
  g_assert_cmpmem (g_bytes_get_data (voucher, NULL), g_bytes_get_size (voucher),
                   expected->data, expected->len);

  g_assert_true (punch_relay_voucher_decode (expected->data, expected->len, &out_relay,
                                             &out_peer, &expiration, &error));
  g_assert_no_error (error);
  g_assert_true (punch_peer_id_equal (out_relay, punch_keypair_get_peer_id (relay)));
  g_assert_true (punch_peer_id_equal (out_peer, punch_keypair_get_peer_id (peer)));
  g_assert_cmpuint (expiration, ==, 1700000000);

  /* Missing expiration; bad peer id; garbage. */
  g_assert_false (punch_relay_voucher_decode (expected->data, expected->len - sizeof expiration_varint,
                                              NULL, NULL, NULL, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED);
  g_clear_error (&error);
  g_assert_false (punch_relay_voucher_decode ((const guint8 *) "\x0a\x02\x00\x05\x12\x00\x18\x01", 8,
                                              NULL, NULL, NULL, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED);
  g_clear_error (&error);
  g_assert_false (punch_relay_voucher_decode ((const guint8 *) "\x0a\xff", 2, NULL, NULL, NULL, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED);
}

static void
test_voucher_verify (void)
{
  g_autoptr(PunchKeypair) relay = new_keypair (PUNCH_KEY_TYPE_ED25519);
  g_autoptr(PunchKeypair) peer = new_keypair (PUNCH_KEY_TYPE_ED25519);
  g_autoptr(PunchKeypair) other = new_keypair (PUNCH_KEY_TYPE_ED25519);
  PunchPeerId *relay_id = punch_keypair_get_peer_id (relay);
  PunchPeerId *peer_id = punch_keypair_get_peer_id (peer);
  PunchPeerId *other_id = punch_keypair_get_peer_id (other);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) voucher = punch_relay_voucher_seal (relay, peer_id, 1234567, &error);
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GBytes) forged = NULL;
  gsize len;
  const guint8 *data;

  g_assert_no_error (error);
  data = g_bytes_get_data (voucher, &len);
  g_assert_true (punch_relay_voucher_verify (data, len, relay_id, peer_id, 1234567, &error));
  g_assert_no_error (error);

  /* Envelope with the relay domain and type 0x03 0x02. */
  g_assert_true (punch_envelope_open (data, len, "libp2p-relay-rsvp", (const guint8 *) "\x03\x02", 2,
                                      NULL, NULL, &error));
  g_assert_no_error (error);

  g_assert_false (punch_relay_voucher_verify (data, len, relay_id, other_id, 1234567, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH);
  g_clear_error (&error);
  g_assert_false (punch_relay_voucher_verify (data, len, other_id, peer_id, 1234567, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH);
  g_clear_error (&error);
  g_assert_false (punch_relay_voucher_verify (data, len, relay_id, peer_id, 1234568, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_clear_error (&error);

  /* Signed by someone else, naming the relay: the signer is checked. */
  payload = punch_relay_voucher_encode (relay_id, peer_id, 1234567);
  forged = punch_envelope_seal (other, PUNCH_RELAY_VOUCHER_DOMAIN, punch_relay_voucher_payload_type, 2,
                                g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), &error);
  g_assert_no_error (error);
  g_assert_false (punch_relay_voucher_verify (g_bytes_get_data (forged, NULL), g_bytes_get_size (forged),
                                              relay_id, peer_id, 1234567, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH);
  g_clear_error (&error);

  /* Signed for another domain. */
  g_clear_pointer (&forged, g_bytes_unref);
  forged = punch_envelope_seal (relay, "libp2p-routing-state", punch_relay_voucher_payload_type, 2,
                                g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), &error);
  g_assert_no_error (error);
  g_assert_false (punch_relay_voucher_verify (g_bytes_get_data (forged, NULL), g_bytes_get_size (forged),
                                              relay_id, peer_id, 1234567, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_BAD_SIGNATURE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/envelope/signing-buffer", test_signing_buffer);
  g_test_add_func ("/envelope/roundtrip/ed25519", test_roundtrip_ed25519);
  g_test_add_func ("/envelope/roundtrip/ecdsa", test_roundtrip_ecdsa);
  g_test_add_func ("/envelope/wire-format", test_wire_format);
  g_test_add_func ("/envelope/tampering", test_tampering);
  g_test_add_func ("/envelope/wrong-domain", test_wrong_domain);
  g_test_add_func ("/envelope/wrong-payload-type", test_wrong_payload_type);
  g_test_add_func ("/envelope/malformed", test_malformed);
  g_test_add_func ("/envelope/voucher/encode", test_voucher_encode);
  g_test_add_func ("/envelope/voucher/verify", test_voucher_verify);

  return g_test_run ();
}
