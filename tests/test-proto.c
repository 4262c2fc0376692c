/* test-proto.c: the libp2p protobuf schemas of proto/ and punch-proto's codec.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Round trips of every message type, encodings derived by hand from the
 * protobuf encoding rules, malformed and oversized input, and the bytes
 * that js-libp2p's own codecs produce (tests/vectors/proto-js.txt, made by
 * tests/interop/proto-vectors.mjs).  The js inputs are repeated below on
 * purpose: they are inputs, not outputs of our code.
 */
#include "config.h"

#include <string.h>

#include "punch-error.h"
#include "punch-proto.h"

#include "autonat.pb-c.h"
#include "circuit.pb-c.h"
#include "envelope.pb-c.h"
#include "holepunch.pb-c.h"
#include "identify.pb-c.h"
#include "keys.pb-c.h"
#include "peer_record.pb-c.h"
#include "voucher.pb-c.h"

/* ---- The inputs of tests/interop/proto-vectors.mjs ----------------------- */

/* Ed25519 public keys of seeds 01 02 .. 20 (peer A) and 21 22 .. 40 (relay R). */
#define SEED_A "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
#define PUB_A  "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"
#define PUB_R  "e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0"
/* Peer ids: identity multihash (00 24) of the PublicKey (08 01 12 20 <key>). */
#define PEER_A "0024" "08011220" PUB_A
#define PEER_R "0024" "08011220" PUB_R
/* /ip4/203.0.113.7/tcp/4001, /ip6/2001:db8::7/tcp/4001 */
#define MA_A4 "04cb007107060fa1"
#define MA_A6 "2920010db8000000000000000000000007060fa1"
/* /ip4/198.51.100.1/tcp/4001/p2p/<R> */
#define MA_R "04c6336401060fa1" "a503" "26" PEER_R
#define EXPIRE G_GUINT64_CONSTANT (1767225600)
#define SEQ G_GUINT64_CONSTANT (1767225600000)
#define PAYLOAD_TYPE_PEER_RECORD "0301"
#define PAYLOAD_TYPE_VOUCHER "0302"
#define SIG_PEER_RECORD "8ead00313a13016927eb95cc2c9ef9cd6137dc8814c804452a83b643725e1e64" \
                        "20be7bec82283a31af6310edfdd24f8d2246622535837d6b602cdfdd9c380303"
#define SIG_VOUCHER "e0795066343e0f123c4ca941cd4849b4c23708a9d5f0b482d19f78524a75bee3" \
                    "7b420d991be7d5bbc4afc49c47666954e56953211e20458e97d433d30dade90f"

/* ---- Helpers ------------------------------------------------------------- */

/* name → GBytes, from tests/vectors/proto-js.txt */
static GHashTable *js_vectors;

/* Memory that lives until the end of the current test. */
static gpointer
queued (gpointer p)
{
  g_test_queue_free (p);
  return p;
}

#define test_new(T) ((T *) queued (g_new0 (T, 1)))

static GBytes *
bytes_from_hex (const char *hex)
{
  gsize len = strlen (hex);
  guint8 *buf;

  g_assert_cmpuint (len % 2, ==, 0);
  buf = g_malloc (len / 2 + 1);
  for (gsize i = 0; i < len / 2; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]);
      int lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      g_assert_cmpint (hi, >=, 0);
      g_assert_cmpint (lo, >=, 0);
      buf[i] = (guint8) (hi << 4 | lo);
    }

  return g_bytes_new_take (buf, len / 2);
}

static ProtobufCBinaryData
bin (const char *hex)
{
  GBytes *bytes = bytes_from_hex (hex);
  ProtobufCBinaryData b;

  g_test_queue_destroy ((GDestroyNotify) g_bytes_unref, bytes);
  b.data = (guint8 *) g_bytes_get_data (bytes, &b.len);
  return b;
}

/* The encoding of @message, alive until the end of the test. */
static ProtobufCBinaryData
packed (const ProtobufCMessage *message)
{
  GBytes *bytes = punch_proto_pack (message);
  ProtobufCBinaryData b;

  g_test_queue_destroy ((GDestroyNotify) g_bytes_unref, bytes);
  b.data = (guint8 *) g_bytes_get_data (bytes, &b.len);
  return b;
}

static void
assert_bytes_equal (GBytes *a, GBytes *b)
{
  gsize alen, blen;
  const guint8 *ad = g_bytes_get_data (a, &alen);
  const guint8 *bd = g_bytes_get_data (b, &blen);

  g_assert_cmpmem (ad, alen, bd, blen);
}

static GBytes *
js_vector (const char *name)
{
  GBytes *bytes;

  g_assert_nonnull (js_vectors);
  bytes = g_hash_table_lookup (js_vectors, name);
  if (bytes == NULL)
    g_error ("tests/vectors/proto-js.txt has no vector \"%s\"", name);
  return bytes;
}

static void
load_js_vectors (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "vectors", "proto-js.txt", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents (path, &text, NULL, &error))
    g_error ("cannot read the js-libp2p vectors: %s", error->message);

  js_vectors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) g_bytes_unref);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) words = NULL;

      if (lines[i][0] == '\0' || lines[i][0] == '#')
        continue;
      words = g_strsplit (lines[i], " ", -1);
      if (g_strv_length (words) != 2)
        g_error ("proto-js.txt line %u: expected `name hex`", i + 1);
      g_hash_table_insert (js_vectors, g_strdup (words[0]), bytes_from_hex (words[1]));
    }
}

static void
fail_at (const char *path,
         const char *what)
{
  g_autofree char *msg = g_strdup_printf ("%s: %s differ", path, what);

  g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
}

static void assert_message_equal (const ProtobufCMessage *a,
                                  const ProtobufCMessage *b,
                                  const char             *path);

static gsize
value_size (ProtobufCType type)
{
  switch (type)
    {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
      return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
      return 8;
    case PROTOBUF_C_TYPE_BOOL:
      return sizeof (protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
      return sizeof (char *);
    case PROTOBUF_C_TYPE_BYTES:
      return sizeof (ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
      return sizeof (ProtobufCMessage *);
    default:
      g_assert_not_reached ();
    }
}

/* Compares one value of field @f, stored at @a and @b. */
static void
assert_value_equal (const ProtobufCFieldDescriptor *f,
                    const void                     *a,
                    const void                     *b,
                    const char                     *path)
{
  switch (f->type)
    {
    case PROTOBUF_C_TYPE_STRING:
      if (g_strcmp0 (*(char * const *) a, *(char * const *) b) != 0)
        fail_at (path, "strings");
      break;
    case PROTOBUF_C_TYPE_BYTES:
      {
        const ProtobufCBinaryData *x = a, *y = b;

        if (x->len != y->len || (x->len > 0 && memcmp (x->data, y->data, x->len) != 0))
          fail_at (path, "bytes");
      }
      break;
    case PROTOBUF_C_TYPE_MESSAGE:
      {
        const ProtobufCMessage *x = *(ProtobufCMessage * const *) a;
        const ProtobufCMessage *y = *(ProtobufCMessage * const *) b;

        if ((x == NULL) != (y == NULL))
          fail_at (path, "message presences");
        if (x != NULL)
          assert_message_equal (x, y, path);
      }
      break;
    default:
      if (memcmp (a, b, value_size (f->type)) != 0)
        fail_at (path, "values");
      break;
    }
}

/* Field by field, recursively: presence (has_ flags, NULL pointers),
 * values, repeated counts and elements, and the unknown fields. */
static void
assert_message_equal (const ProtobufCMessage *a,
                      const ProtobufCMessage *b,
                      const char             *path)
{
  const ProtobufCMessageDescriptor *desc = a->descriptor;

  g_assert_true (a->descriptor == b->descriptor);

  for (guint i = 0; i < desc->n_fields; i++)
    {
      const ProtobufCFieldDescriptor *f = &desc->fields[i];
      g_autofree char *fpath = g_strdup_printf ("%s.%s", path, f->name);
      const char *va = (const char *) a + f->offset;
      const char *vb = (const char *) b + f->offset;

      switch (f->label)
        {
        case PROTOBUF_C_LABEL_REPEATED:
          {
            size_t na = *(const size_t *) ((const char *) a + f->quantifier_offset);
            size_t nb = *(const size_t *) ((const char *) b + f->quantifier_offset);
            const char *ea = *(char * const *) va;
            const char *eb = *(char * const *) vb;
            gsize size = value_size (f->type);

            if (na != nb)
              fail_at (fpath, "repeated counts");
            for (size_t j = 0; j < na; j++)
              {
                g_autofree char *epath = g_strdup_printf ("%s[%zu]", fpath, j);

                assert_value_equal (f, ea + j * size, eb + j * size, epath);
              }
          }
          break;

        case PROTOBUF_C_LABEL_OPTIONAL:
          if (f->quantifier_offset != 0)
            {
              protobuf_c_boolean ha = *(const protobuf_c_boolean *) ((const char *) a + f->quantifier_offset);
              protobuf_c_boolean hb = *(const protobuf_c_boolean *) ((const char *) b + f->quantifier_offset);

              if (!ha != !hb)
                fail_at (fpath, "presences");
              if (ha)
                assert_value_equal (f, va, vb, fpath);
              break;
            }
          /* strings and messages: presence is a non-NULL pointer */
          G_GNUC_FALLTHROUGH;
        case PROTOBUF_C_LABEL_REQUIRED:
        case PROTOBUF_C_LABEL_NONE:
          assert_value_equal (f, va, vb, fpath);
          break;

        default:
          g_assert_not_reached ();
        }
    }

  if (a->n_unknown_fields != b->n_unknown_fields)
    fail_at (path, "unknown field counts");
  for (guint i = 0; i < a->n_unknown_fields; i++)
    {
      const ProtobufCMessageUnknownField *x = &a->unknown_fields[i];
      const ProtobufCMessageUnknownField *y = &b->unknown_fields[i];

      g_assert_cmpuint (x->tag, ==, y->tag);
      g_assert_cmpint (x->wire_type, ==, y->wire_type);
      g_assert_cmpmem (x->data, x->len, y->data, y->len);
    }
}

/* Every field of @message is present (repeated: at least one element),
 * recursively: the "fill every field" builders really do. */
static void
assert_all_fields_set (const ProtobufCMessage *message)
{
  const ProtobufCMessageDescriptor *desc = message->descriptor;

  for (guint i = 0; i < desc->n_fields; i++)
    {
      const ProtobufCFieldDescriptor *f = &desc->fields[i];
      const char *v = (const char *) message + f->offset;

      if (f->label == PROTOBUF_C_LABEL_REPEATED)
        {
          size_t n = *(const size_t *) ((const char *) message + f->quantifier_offset);

          g_assert_cmpuint (n, >, 0);
          if (f->type == PROTOBUF_C_TYPE_MESSAGE)
            for (size_t j = 0; j < n; j++)
              assert_all_fields_set ((*(ProtobufCMessage * const * const *) v)[j]);
          continue;
        }

      if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0)
        g_assert_true (*(const protobuf_c_boolean *) ((const char *) message + f->quantifier_offset));

      switch (f->type)
        {
        case PROTOBUF_C_TYPE_MESSAGE:
          g_assert_nonnull (*(ProtobufCMessage * const *) v);
          assert_all_fields_set (*(ProtobufCMessage * const *) v);
          break;
        case PROTOBUF_C_TYPE_STRING:
          g_assert_nonnull (*(char * const *) v);
          g_assert_cmpstr (*(char * const *) v, !=, "");
          break;
        case PROTOBUF_C_TYPE_BYTES:
          g_assert_cmpuint (((const ProtobufCBinaryData *) v)->len, >, 0);
          break;
        default:
          if (f->label == PROTOBUF_C_LABEL_NONE)
            {
              /* proto3 implicit presence: only a non-zero value is written */
              static const guint8 zero[8];

              g_assert_true (memcmp (v, zero, value_size (f->type)) != 0);
            }
          break;
        }
    }
}

static ProtobufCMessage *
unpack_ok (const ProtobufCMessageDescriptor *desc,
           GBytes                           *bytes)
{
  g_autoptr(GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  ProtobufCMessage *message;

  message = punch_proto_unpack (desc, data, len, 0, &error);
  g_assert_no_error (error);
  g_assert_nonnull (message);
  g_assert_true (message->descriptor == desc);
  return message;
}

static void
assert_unpack_fails (const ProtobufCMessageDescriptor *desc,
                     const guint8                     *data,
                     gsize                             len,
                     gsize                             max_len,
                     int                               code)
{
  g_autoptr(GError) error = NULL;
  ProtobufCMessage *message;

  message = punch_proto_unpack (desc, data, len, max_len, &error);
  if (message != NULL)
    {
      g_autofree char *hex = NULL;
      GString *s = g_string_new (NULL);

      for (gsize i = 0; i < len; i++)
        g_string_append_printf (s, "%02x", data[i]);
      hex = g_string_free (s, FALSE);
      punch_proto_free (message);
      g_error ("%s accepted malformed %s", desc->name, hex);
    }
  g_assert_error (error, PUNCH_ERROR, code);
  g_assert_nonnull (error->message);
}

static void
assert_unpack_fails_hex (const ProtobufCMessageDescriptor *desc,
                         const char                       *hex)
{
  g_autoptr(GBytes) bytes = bytes_from_hex (hex);
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  assert_unpack_fails (desc, data, len, 0, PUNCH_ERROR_MALFORMED);
}

/* pack → unpack → compare field by field → re-pack → same bytes */
static void
assert_roundtrip (const ProtobufCMessage *message)
{
  g_autoptr(GBytes) bytes = punch_proto_pack (message);
  g_autoptr(GBytes) again = NULL;
  ProtobufCMessage *back;

  g_assert_cmpuint (g_bytes_get_size (bytes), ==,
                    protobuf_c_message_get_packed_size (message));
  back = unpack_ok (message->descriptor, bytes);
  assert_message_equal (message, back, message->descriptor->short_name);
  again = punch_proto_pack (back);
  assert_bytes_equal (bytes, again);
  punch_proto_free (back);
}

/* ---- Messages with every field filled ------------------------------------ */

static ProtobufCBinaryData *
bin_array (guint n, ...)
{
  ProtobufCBinaryData *array = queued (g_new0 (ProtobufCBinaryData, n));
  va_list ap;

  va_start (ap, n);
  for (guint i = 0; i < n; i++)
    array[i] = bin (va_arg (ap, const char *));
  va_end (ap);
  return array;
}

static Keys__Pb__PublicKey *
build_public_key (const char *pub)
{
  Keys__Pb__PublicKey *m = test_new (Keys__Pb__PublicKey);

  keys__pb__public_key__init (m);
  m->type = KEYS__PB__KEY_TYPE__Ed25519;
  m->data = bin (pub);
  return m;
}

static ProtobufCMessage *
full_public_key (void)
{
  return &build_public_key (PUB_A)->base;
}

static ProtobufCMessage *
full_private_key (void)
{
  Keys__Pb__PrivateKey *m = test_new (Keys__Pb__PrivateKey);

  keys__pb__private_key__init (m);
  m->type = KEYS__PB__KEY_TYPE__Ed25519;
  /* js-libp2p's Ed25519 private key: seed || public key */
  m->data = bin (SEED_A PUB_A);
  return &m->base;
}

static ProtobufCMessage *
full_autonat_message (void)
{
  Autonat__Pb__Message *m = test_new (Autonat__Pb__Message);
  Autonat__Pb__Message__Dial *dial = test_new (Autonat__Pb__Message__Dial);
  Autonat__Pb__Message__PeerInfo *peer = test_new (Autonat__Pb__Message__PeerInfo);
  Autonat__Pb__Message__DialResponse *resp = test_new (Autonat__Pb__Message__DialResponse);

  autonat__pb__message__init (m);
  autonat__pb__message__dial__init (dial);
  autonat__pb__message__peer_info__init (peer);
  autonat__pb__message__dial_response__init (resp);

  peer->has_id = TRUE;
  peer->id = bin (PEER_A);
  peer->n_addrs = 2;
  peer->addrs = bin_array (2, MA_A4, MA_A6);
  dial->peer = peer;
  resp->has_status = TRUE;
  resp->status = AUTONAT__PB__MESSAGE__RESPONSE_STATUS__E_INTERNAL_ERROR;
  resp->statustext = (char *) "internal error";
  resp->has_addr = TRUE;
  resp->addr = bin (MA_A6);

  m->has_type = TRUE;
  m->type = AUTONAT__PB__MESSAGE__MESSAGE_TYPE__DIAL_RESPONSE;
  m->dial = dial;
  m->dialresponse = resp;
  return &m->base;
}

static ProtobufCMessage *
full_autonat_peer_info (void)
{
  return &((Autonat__Pb__Message *) full_autonat_message ())->dial->peer->base;
}

static ProtobufCMessage *
full_autonat_dial (void)
{
  return &((Autonat__Pb__Message *) full_autonat_message ())->dial->base;
}

static ProtobufCMessage *
full_autonat_dial_response (void)
{
  return &((Autonat__Pb__Message *) full_autonat_message ())->dialresponse->base;
}

static ProtobufCMessage *
full_holepunch (void)
{
  Holepunch__Pb__HolePunch *m = test_new (Holepunch__Pb__HolePunch);

  holepunch__pb__hole_punch__init (m);
  m->type = HOLEPUNCH__PB__HOLE_PUNCH__TYPE__SYNC;
  m->n_obsaddrs = 2;
  m->obsaddrs = bin_array (2, MA_A4, MA_A6);
  return &m->base;
}

static Circuit__Pb__Voucher *
build_voucher (void)
{
  Circuit__Pb__Voucher *m = test_new (Circuit__Pb__Voucher);

  circuit__pb__voucher__init (m);
  m->has_relay = TRUE;
  m->relay = bin (PEER_R);
  m->has_peer = TRUE;
  m->peer = bin (PEER_A);
  m->has_expiration = TRUE;
  m->expiration = EXPIRE;
  return m;
}

static ProtobufCMessage *
full_voucher (void)
{
  return &build_voucher ()->base;
}

/* The voucher envelope of the js vectors: signed by R. */
static Record__Pb__Envelope *
build_voucher_envelope (void)
{
  Record__Pb__Envelope *m = test_new (Record__Pb__Envelope);

  record__pb__envelope__init (m);
  m->public_key = build_public_key (PUB_R);
  m->payload_type = bin (PAYLOAD_TYPE_VOUCHER);
  m->payload = packed (&build_voucher ()->base);
  m->signature = bin (SIG_VOUCHER);
  return m;
}

static Circuit__Pb__Peer *
build_circuit_peer (gboolean with_addr)
{
  Circuit__Pb__Peer *m = test_new (Circuit__Pb__Peer);

  circuit__pb__peer__init (m);
  m->has_id = TRUE;
  m->id = bin (PEER_A);
  if (with_addr)
    {
      m->n_addrs = 1;
      m->addrs = bin_array (1, MA_A4);
    }
  return m;
}

static Circuit__Pb__Limit *
build_limit (guint32  duration,
             guint64  data)
{
  Circuit__Pb__Limit *m = test_new (Circuit__Pb__Limit);

  circuit__pb__limit__init (m);
  m->has_duration = TRUE;
  m->duration = duration;
  m->has_data = TRUE;
  m->data = data;
  return m;
}

static Circuit__Pb__Reservation *
build_reservation (void)
{
  Circuit__Pb__Reservation *m = test_new (Circuit__Pb__Reservation);

  circuit__pb__reservation__init (m);
  m->has_expire = TRUE;
  m->expire = EXPIRE;
  m->n_addrs = 1;
  m->addrs = bin_array (1, MA_R);
  m->has_voucher = TRUE;
  m->voucher = packed (&build_voucher_envelope ()->base);
  return m;
}

static ProtobufCMessage *
full_hop_message (void)
{
  Circuit__Pb__HopMessage *m = test_new (Circuit__Pb__HopMessage);

  circuit__pb__hop_message__init (m);
  m->has_type = TRUE;
  m->type = CIRCUIT__PB__HOP_MESSAGE__TYPE__STATUS;
  m->peer = build_circuit_peer (TRUE);
  m->reservation = build_reservation ();
  m->limit = build_limit (120, 131072);
  m->has_status = TRUE;
  m->status = CIRCUIT__PB__STATUS__OK;
  return &m->base;
}

static ProtobufCMessage *
full_stop_message (void)
{
  Circuit__Pb__StopMessage *m = test_new (Circuit__Pb__StopMessage);

  circuit__pb__stop_message__init (m);
  m->has_type = TRUE;
  m->type = CIRCUIT__PB__STOP_MESSAGE__TYPE__STATUS;
  m->peer = build_circuit_peer (TRUE);
  m->limit = build_limit (G_MAXUINT32, G_MAXUINT64);
  m->has_status = TRUE;
  m->status = CIRCUIT__PB__STATUS__UNEXPECTED_MESSAGE;
  return &m->base;
}

static ProtobufCMessage *
full_circuit_peer (void)
{
  return &build_circuit_peer (TRUE)->base;
}

static ProtobufCMessage *
full_reservation (void)
{
  return &build_reservation ()->base;
}

static ProtobufCMessage *
full_limit (void)
{
  return &build_limit (3600, G_GUINT64_CONSTANT (1) << 40)->base;
}

static ProtobufCMessage *
full_identify (void)
{
  Identify__Pb__Identify *m = test_new (Identify__Pb__Identify);
  static char *protocols[] = {
    (char *) "/ipfs/id/1.0.0",
    (char *) "/ipfs/ping/1.0.0",
    (char *) "/libp2p/circuit/relay/0.2.0/stop",
    (char *) "/libp2p/dcutr",
  };

  identify__pb__identify__init (m);
  m->protocolversion = (char *) "ipfs/0.1.0";
  m->agentversion = (char *) "punch-interop/0.1.0";
  m->has_publickey = TRUE;
  m->publickey = packed (&build_public_key (PUB_A)->base);
  m->n_listenaddrs = 2;
  m->listenaddrs = bin_array (2, MA_A4, MA_A6);
  m->has_observedaddr = TRUE;
  m->observedaddr = bin (MA_A4);
  m->n_protocols = G_N_ELEMENTS (protocols);
  m->protocols = protocols;
  return &m->base;
}

static Peer__Pb__PeerRecord *
build_peer_record (void)
{
  Peer__Pb__PeerRecord *m = test_new (Peer__Pb__PeerRecord);
  Peer__Pb__PeerRecord__AddressInfo **addresses = queued (g_new0 (Peer__Pb__PeerRecord__AddressInfo *, 2));
  const char *addrs[] = { MA_A4, MA_A6 };

  peer__pb__peer_record__init (m);
  m->peer_id = bin (PEER_A);
  m->seq = SEQ;
  for (guint i = 0; i < 2; i++)
    {
      addresses[i] = test_new (Peer__Pb__PeerRecord__AddressInfo);
      peer__pb__peer_record__address_info__init (addresses[i]);
      addresses[i]->multiaddr = bin (addrs[i]);
    }
  m->n_addresses = 2;
  m->addresses = addresses;
  return m;
}

static ProtobufCMessage *
full_peer_record (void)
{
  return &build_peer_record ()->base;
}

static ProtobufCMessage *
full_address_info (void)
{
  return &build_peer_record ()->addresses[1]->base;
}

/* The peer record envelope of the js vectors: signed by A. */
static Record__Pb__Envelope *
build_peer_record_envelope (void)
{
  Record__Pb__Envelope *m = test_new (Record__Pb__Envelope);

  record__pb__envelope__init (m);
  m->public_key = build_public_key (PUB_A);
  m->payload_type = bin (PAYLOAD_TYPE_PEER_RECORD);
  m->payload = packed (&build_peer_record ()->base);
  m->signature = bin (SIG_PEER_RECORD);
  return m;
}

static ProtobufCMessage *
full_envelope (void)
{
  return &build_peer_record_envelope ()->base;
}

typedef struct {
  const char *name;
  const ProtobufCMessageDescriptor *descriptor;
  ProtobufCMessage *(*build) (void);
} MessageType;

static const MessageType message_types[] = {
  { "autonat-message", &autonat__pb__message__descriptor, full_autonat_message },
  { "autonat-peer-info", &autonat__pb__message__peer_info__descriptor, full_autonat_peer_info },
  { "autonat-dial", &autonat__pb__message__dial__descriptor, full_autonat_dial },
  { "autonat-dial-response", &autonat__pb__message__dial_response__descriptor, full_autonat_dial_response },
  { "holepunch", &holepunch__pb__hole_punch__descriptor, full_holepunch },
  { "hop-message", &circuit__pb__hop_message__descriptor, full_hop_message },
  { "stop-message", &circuit__pb__stop_message__descriptor, full_stop_message },
  { "circuit-peer", &circuit__pb__peer__descriptor, full_circuit_peer },
  { "reservation", &circuit__pb__reservation__descriptor, full_reservation },
  { "limit", &circuit__pb__limit__descriptor, full_limit },
  { "voucher", &circuit__pb__voucher__descriptor, full_voucher },
  { "identify", &identify__pb__identify__descriptor, full_identify },
  { "envelope", &record__pb__envelope__descriptor, full_envelope },
  { "peer-record", &peer__pb__peer_record__descriptor, full_peer_record },
  { "peer-record-address-info", &peer__pb__peer_record__address_info__descriptor, full_address_info },
  { "public-key", &keys__pb__public_key__descriptor, full_public_key },
  { "private-key", &keys__pb__private_key__descriptor, full_private_key },
};

static void
test_roundtrip (gconstpointer data)
{
  const MessageType *type = data;
  ProtobufCMessage *message = type->build ();

  g_assert_true (message->descriptor == type->descriptor);
  assert_all_fields_set (message);
  assert_roundtrip (message);
}

/* ---- Encodings derived by hand ------------------------------------------- */

/*
 * The protobuf encoding rules used below: a field is a key, the varint
 * (field_number << 3 | wire_type), then its value.  Wire type 0 (varint)
 * carries enums and integers as a varint: 7 bits a byte, least significant
 * group first, the top bit set on every byte but the last.  Wire type 2
 * (length-delimited) carries bytes, strings and messages as a varint length
 * then the bytes.  Fields are written in field-number order (protobuf-c).
 */
static void
assert_packs_to (const ProtobufCMessage *message,
                 const guint8           *want,
                 gsize                   want_len)
{
  g_autoptr(GBytes) bytes = punch_proto_pack (message);
  g_autoptr(GBytes) expected = g_bytes_new (want, want_len);

  assert_bytes_equal (bytes, expected);
  assert_roundtrip (message);
}

static void
test_bytes_hop_reserve (void)
{
  Circuit__Pb__HopMessage m = CIRCUIT__PB__HOP_MESSAGE__INIT;
  /* type (field 1, varint): key 1 << 3 | 0 = 0x08; RESERVE = 0 is written
   * because the field is optional (explicit presence), even though it is
   * zero: exactly what a proto3 `optional` encoder does. */
  static const guint8 want[] = { 0x08, 0x00 };

  m.has_type = TRUE;
  m.type = CIRCUIT__PB__HOP_MESSAGE__TYPE__RESERVE;
  assert_packs_to (&m.base, want, sizeof want);

  /* Without has_type, nothing at all is written. */
  m.has_type = FALSE;
  assert_packs_to (&m.base, NULL, 0);
}

static void
test_bytes_holepunch_sync (void)
{
  Holepunch__Pb__HolePunch m = HOLEPUNCH__PB__HOLE_PUNCH__INIT;
  /* type (field 1, varint): key 0x08; SYNC = 300 = 0b10_0101100:
   * low group 0101100 = 0x2c, with the continuation bit 0xac; then 0b10 = 0x02. */
  static const guint8 want[] = { 0x08, 0xac, 0x02 };

  m.type = HOLEPUNCH__PB__HOLE_PUNCH__TYPE__SYNC;
  assert_packs_to (&m.base, want, sizeof want);
}

static void
test_bytes_holepunch_connect (void)
{
  Holepunch__Pb__HolePunch m = HOLEPUNCH__PB__HOLE_PUNCH__INIT;
  ProtobufCBinaryData addr = { 2, (guint8 *) "\x01\x02" };
  /* type: key 0x08, CONNECT = 100 = 0x64 (one byte, < 128);
   * ObsAddrs (field 2, length-delimited): key 2 << 3 | 2 = 0x12, length 2,
   * the bytes 01 02. */
  static const guint8 want[] = { 0x08, 0x64, 0x12, 0x02, 0x01, 0x02 };

  m.type = HOLEPUNCH__PB__HOLE_PUNCH__TYPE__CONNECT;
  m.n_obsaddrs = 1;
  m.obsaddrs = &addr;
  assert_packs_to (&m.base, want, sizeof want);
}

static void
test_bytes_limit (void)
{
  Circuit__Pb__Limit m = CIRCUIT__PB__LIMIT__INIT;
  /* duration (field 1, varint): key 0x08, 120 = 0x78;
   * data (field 2, varint): key 0x10, 131072 = 2^17: groups (low first)
   * 0000000, 0000000, 0001000 → 0x80 0x80 0x08. */
  static const guint8 want[] = { 0x08, 0x78, 0x10, 0x80, 0x80, 0x08 };

  m.has_duration = TRUE;
  m.duration = 120;
  m.has_data = TRUE;
  m.data = 131072;
  assert_packs_to (&m.base, want, sizeof want);
}

static void
test_bytes_stop_status (void)
{
  Circuit__Pb__StopMessage m = CIRCUIT__PB__STOP_MESSAGE__INIT;
  /* type (field 1): key 0x08, STATUS = 1; status (field 4, varint): key
   * 4 << 3 | 0 = 0x20, CONNECTION_FAILED = 203 = 0b1_1001011 → 0xcb 0x01. */
  static const guint8 want[] = { 0x08, 0x01, 0x20, 0xcb, 0x01 };

  m.has_type = TRUE;
  m.type = CIRCUIT__PB__STOP_MESSAGE__TYPE__STATUS;
  m.has_status = TRUE;
  m.status = CIRCUIT__PB__STATUS__CONNECTION_FAILED;
  assert_packs_to (&m.base, want, sizeof want);
}

static void
test_bytes_autonat_dial_response (void)
{
  Autonat__Pb__Message m = AUTONAT__PB__MESSAGE__INIT;
  Autonat__Pb__Message__DialResponse r = AUTONAT__PB__MESSAGE__DIAL_RESPONSE__INIT;
  /* type: key 0x08, DIAL_RESPONSE = 1; dialResponse (field 3, message):
   * key 3 << 3 | 2 = 0x1a, length 2, then the message: status (field 1)
   * key 0x08, OK = 0 -- present, so written although zero. */
  static const guint8 want[] = { 0x08, 0x01, 0x1a, 0x02, 0x08, 0x00 };

  m.has_type = TRUE;
  m.type = AUTONAT__PB__MESSAGE__MESSAGE_TYPE__DIAL_RESPONSE;
  r.has_status = TRUE;
  r.status = AUTONAT__PB__MESSAGE__RESPONSE_STATUS__OK;
  m.dialresponse = &r;
  assert_packs_to (&m.base, want, sizeof want);
}

static void
test_bytes_public_key (void)
{
  Keys__Pb__PublicKey m = KEYS__PB__PUBLIC_KEY__INIT;
  guint8 key[32];
  guint8 want[4 + 32] = {
    /* Type (field 1, varint): key 0x08, Ed25519 = 1; Data (field 2,
     * length-delimited): key 0x12, length 32 = 0x20, then the key -- the
     * prefix 08 01 12 20 of every Ed25519 peer id (peer-ids.md). */
    0x08, 0x01, 0x12, 0x20,
  };

  for (guint i = 0; i < sizeof key; i++)
    key[i] = want[4 + i] = (guint8) (0xa0 + i);
  m.type = KEYS__PB__KEY_TYPE__Ed25519;
  m.data.len = sizeof key;
  m.data.data = key;
  assert_packs_to (&m.base, want, sizeof want);
}

static void
test_bytes_peer_record_implicit_presence (void)
{
  Peer__Pb__PeerRecord m = PEER__PB__PEER_RECORD__INIT;
  Peer__Pb__PeerRecord__AddressInfo a = PEER__PB__PEER_RECORD__ADDRESS_INFO__INIT;
  Peer__Pb__PeerRecord__AddressInfo *addresses[] = { &a };
  /* proto3 implicit presence: empty peer_id and zero seq are not written;
   * seq (field 2, varint) 1: key 0x10, 0x01; addresses (field 3, message):
   * key 0x1a, length 0 -- the AddressInfo's empty multiaddr is not written,
   * but the element itself is. */
  static const guint8 want_seq[] = { 0x10, 0x01 };
  static const guint8 want_addr[] = { 0x10, 0x01, 0x1a, 0x00 };

  assert_packs_to (&m.base, NULL, 0);
  m.seq = 1;
  assert_packs_to (&m.base, want_seq, sizeof want_seq);
  m.n_addresses = 1;
  m.addresses = addresses;
  assert_packs_to (&m.base, want_addr, sizeof want_addr);
}

static void
test_bytes_envelope (void)
{
  Record__Pb__Envelope m = RECORD__PB__ENVELOPE__INIT;
  Keys__Pb__PublicKey key = KEYS__PB__PUBLIC_KEY__INIT;
  /* public_key (field 1, message): key 0x0a, length 4, then PublicKey
   * { Type: key 0x08, Ed25519 = 1; Data: key 0x12, length 0 } -- Data is
   * proto2 required, so written even when empty; payload_type (field 2):
   * key 0x12, length 2, 03 01; payload (field 3) is empty, so not written
   * (proto3); signature (field 5): key 5 << 3 | 2 = 0x2a, length 1, 0xff. */
  static const guint8 want[] = {
    0x0a, 0x04, 0x08, 0x01, 0x12, 0x00,
    0x12, 0x02, 0x03, 0x01,
    0x2a, 0x01, 0xff,
  };

  key.type = KEYS__PB__KEY_TYPE__Ed25519;
  m.public_key = &key;
  m.payload_type.len = 2;
  m.payload_type.data = (guint8 *) "\x03\x01";
  m.signature.len = 1;
  m.signature.data = (guint8 *) "\xff";
  assert_packs_to (&m.base, want, sizeof want);
}

/* ---- Malformed and oversized input --------------------------------------- */

static gboolean
is_varint_type (ProtobufCType type)
{
  switch (type)
    {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_BOOL:
    case PROTOBUF_C_TYPE_ENUM:
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
is_length_delimited_type (ProtobufCType type)
{
  return type == PROTOBUF_C_TYPE_STRING || type == PROTOBUF_C_TYPE_BYTES ||
         type == PROTOBUF_C_TYPE_MESSAGE;
}

static void
append_varint (GByteArray *out,
               guint64     v)
{
  do
    {
      guint8 b = v & 0x7f;

      v >>= 7;
      if (v != 0)
        b |= 0x80;
      g_byte_array_append (out, &b, 1);
    }
  while (v != 0);
}

static void
append_key (GByteArray *out,
            guint       number,
            guint       wire_type)
{
  append_varint (out, (guint64) number << 3 | wire_type);
}

/* A minimal value of each wire type. */
static void
append_value (GByteArray *out,
              guint       wire_type)
{
  static const guint8 zeros[8];

  switch (wire_type)
    {
    case 0: /* varint */
    case 2: /* length-delimited, length 0 */
      g_byte_array_append (out, zeros, 1);
      break;
    case 1: /* 64-bit */
      g_byte_array_append (out, zeros, 8);
      break;
    case 5: /* 32-bit */
      g_byte_array_append (out, zeros, 4);
      break;
    default:
      break;
    }
}

/* Reads one varint of @data (the test's own, independent reader). */
static gsize
read_varint (const guint8 *data,
             gsize         len,
             guint64      *v)
{
  *v = 0;
  for (gsize i = 0; i < len && i < 10; i++)
    {
      *v |= (guint64) (data[i] & 0x7f) << (7 * i);
      if ((data[i] & 0x80) == 0)
        return i + 1;
    }
  g_assert_not_reached ();
}

/* @data without its top-level fields numbered @number. */
static GByteArray *
drop_field (GBytes *bytes,
            guint   number)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  GByteArray *out = g_byte_array_new ();
  gsize pos = 0;

  while (pos < len)
    {
      gsize start = pos;
      guint64 key, v;

      pos += read_varint (data + pos, len - pos, &key);
      switch (key & 7)
        {
        case 0:
          pos += read_varint (data + pos, len - pos, &v);
          break;
        case 1:
          pos += 8;
          break;
        case 2:
          pos += read_varint (data + pos, len - pos, &v);
          pos += v;
          break;
        case 5:
          pos += 4;
          break;
        default:
          g_assert_not_reached ();
        }
      g_assert_cmpuint (pos, <=, len);
      if ((key >> 3) != number)
        g_byte_array_append (out, data + start, pos - start);
    }

  return out;
}

static gboolean
has_required_fields (const ProtobufCMessageDescriptor *desc)
{
  for (guint i = 0; i < desc->n_fields; i++)
    if (desc->fields[i].label == PROTOBUF_C_LABEL_REQUIRED)
      return TRUE;
  return FALSE;
}

static void
test_malformed (gconstpointer data)
{
  const MessageType *type = data;
  const ProtobufCMessageDescriptor *desc = type->descriptor;
  ProtobufCMessage *full = type->build ();
  g_autoptr(GBytes) bytes = punch_proto_pack (full);
  gsize len;
  const guint8 *buf = g_bytes_get_data (bytes, &len);

  /* Truncated: cutting the last byte always leaves the last field
   * incomplete; every shorter prefix either still parses (it ends on a
   * field boundary and holds every required field) or is MALFORMED. */
  g_assert_cmpuint (len, >, 0);
  assert_unpack_fails (desc, buf, len - 1, 0, PUNCH_ERROR_MALFORMED);
  for (gsize cut = 0; cut < len; cut++)
    {
      g_autoptr(GError) error = NULL;
      ProtobufCMessage *m = punch_proto_unpack (desc, buf, cut, 0, &error);

      if (m == NULL)
        g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED);
      punch_proto_free (m);
    }

  /* Missing fields: without a required field the message is rejected;
   * without an optional or repeated one it decodes, with that field
   * absent. */
  for (guint i = 0; i < desc->n_fields; i++)
    {
      const ProtobufCFieldDescriptor *f = &desc->fields[i];
      g_autoptr(GByteArray) without = drop_field (bytes, f->id);

      g_assert_cmpuint (without->len, <, len);
      if (f->label == PROTOBUF_C_LABEL_REQUIRED)
        {
          assert_unpack_fails (desc, without->data, without->len, 0, PUNCH_ERROR_MALFORMED);
        }
      else
        {
          g_autoptr(GBytes) w = g_bytes_new (without->data, without->len);
          ProtobufCMessage *m = unpack_ok (desc, w);
          g_autoptr(GBytes) again = punch_proto_pack (m);

          assert_bytes_equal (w, again);
          punch_proto_free (m);
        }
    }

  for (guint i = 0; i < desc->n_fields; i++)
    {
      const ProtobufCFieldDescriptor *f = &desc->fields[i];
      guint right = is_varint_type (f->type) ? 0 : is_length_delimited_type (f->type) ? 2 : 99;
      static const guint wire_types[] = { 0, 1, 2, 3, 4, 5, 6, 7 };

      g_assert_cmpuint (right, !=, 99);

      /* Control: the same field with its own wire type decodes.  (Not
       * for a message field whose type has required fields: protobuf-c
       * checks them in every occurrence before merging, so an empty second
       * occurrence is rejected, where Google's parsers check the merge.) */
      if (f->type != PROTOBUF_C_TYPE_MESSAGE ||
          !has_required_fields (f->descriptor))
      {
        g_autoptr(GByteArray) good = g_byte_array_new ();
        g_autoptr(GBytes) good_bytes = NULL;

        g_byte_array_append (good, buf, len);
        append_key (good, f->id, right);
        append_value (good, right);
        good_bytes = g_bytes_new (good->data, good->len);
        punch_proto_free (unpack_ok (desc, good_bytes));
      }

      /* Wrong wire type: the field's number with any other wire type,
       * including the group types (3, 4) and the undefined 6 and 7.
       * (A repeated numeric field would accept 2, packed: none here.) */
      for (guint w = 0; w < G_N_ELEMENTS (wire_types); w++)
        {
          g_autoptr(GByteArray) bad = g_byte_array_new ();

          if (wire_types[w] == right)
            continue;
          g_byte_array_append (bad, buf, len);
          append_key (bad, f->id, wire_types[w]);
          append_value (bad, wire_types[w]);
          assert_unpack_fails (desc, bad->data, bad->len, 0, PUNCH_ERROR_MALFORMED);
        }

      if (right == 2)
        {
          /* Length overflow: a length beyond the end of the input, small,
           * 2^32 - 1, and 2^64 - 1. */
          static const guint64 lengths[] = { 5, G_MAXUINT32, G_MAXUINT64 };

          for (guint l = 0; l < G_N_ELEMENTS (lengths); l++)
            {
              g_autoptr(GByteArray) bad = g_byte_array_new ();

              g_byte_array_append (bad, buf, len);
              append_key (bad, f->id, 2);
              append_varint (bad, lengths[l]);
              g_byte_array_append (bad, (const guint8 *) "\x01\x02", 2);
              assert_unpack_fails (desc, bad->data, bad->len, 0, PUNCH_ERROR_MALFORMED);
            }
        }
      else
        {
          /* Varint overflow: 11 bytes with the continuation bit; and a
           * varint cut short. */
          g_autoptr(GByteArray) bad = g_byte_array_new ();
          g_autoptr(GByteArray) cut = g_byte_array_new ();

          g_byte_array_append (bad, buf, len);
          append_key (bad, f->id, 0);
          for (guint b = 0; b < 10; b++)
            g_byte_array_append (bad, (const guint8 *) "\xff", 1);
          g_byte_array_append (bad, (const guint8 *) "\x01", 1);
          assert_unpack_fails (desc, bad->data, bad->len, 0, PUNCH_ERROR_MALFORMED);

          g_byte_array_append (cut, buf, len);
          append_key (cut, f->id, 0);
          g_byte_array_append (cut, (const guint8 *) "\x80", 1);
          assert_unpack_fails (desc, cut->data, cut->len, 0, PUNCH_ERROR_MALFORMED);
        }
    }

  /* A key alone, field number 0 and a key that does not fit 32 bits. */
  assert_unpack_fails_hex (desc, "08");
  assert_unpack_fails_hex (desc, "0000");
  assert_unpack_fails_hex (desc, "80808080808080808001" "00");
}

/* Required fields inside a nested message are checked too. */
static void
test_malformed_nested_required (void)
{
  /* Envelope { public_key: PublicKey { Type: Ed25519 } } -- no Data */
  assert_unpack_fails_hex (&record__pb__envelope__descriptor, "0a020801");
  /* Envelope { public_key: PublicKey { Data: 00 } } -- no Type */
  assert_unpack_fails_hex (&record__pb__envelope__descriptor, "0a03120100");
  /* HolePunch with addresses but no type */
  assert_unpack_fails_hex (&holepunch__pb__hole_punch__descriptor, "120104");
  /* HopMessage { peer: { addrs: [ length 3 but 1 byte ] } } */
  assert_unpack_fails_hex (&circuit__pb__hop_message__descriptor, "0800120312030a");
  /* Identify { protocols: "\xff" } -- a string field holding invalid UTF-8:
   * protobuf-c does not check UTF-8 (proto2), so this decodes; a string's
   * consumer must validate it. */
  {
    g_autoptr(GBytes) bytes = bytes_from_hex ("1a01ff");
    Identify__Pb__Identify *m = (Identify__Pb__Identify *) unpack_ok (&identify__pb__identify__descriptor, bytes);

    g_assert_cmpuint (m->n_protocols, ==, 1);
    g_assert_cmpstr (m->protocols[0], ==, "\xff");
    punch_proto_free (&m->base);
  }
}

/* A string holding a NUL byte would come back cut there (protobuf-c hands
 * out C strings): malformed, at any depth. Bytes fields may hold NULs. */
static void
test_malformed_string_nul (void)
{
  /* Identify { protocols: "a\0b" }, { agentVersion: "x\0" } */
  assert_unpack_fails_hex (&identify__pb__identify__descriptor, "1a03610062");
  assert_unpack_fails_hex (&identify__pb__identify__descriptor, "1a01613202" "7800");
  /* AutoNAT Message { type: DIAL_RESPONSE, dialResponse: { status:
   * E_DIAL_ERROR, statusText: "a\0" } } */
  assert_unpack_fails_hex (&autonat__pb__message__descriptor, "0801" "1a06" "0864" "12026100");
  {
    /* The same without the NUL, and a bytes field holding one. */
    g_autoptr(GBytes) text = bytes_from_hex ("0801" "1a06" "0864" "12026162");
    g_autoptr(GBytes) key = bytes_from_hex ("0a0100" "1a0161");
    Autonat__Pb__Message *m = (Autonat__Pb__Message *) unpack_ok (&autonat__pb__message__descriptor, text);
    Identify__Pb__Identify *id = (Identify__Pb__Identify *) unpack_ok (&identify__pb__identify__descriptor, key);

    g_assert_cmpstr (m->dialresponse->statustext, ==, "ab");
    g_assert_cmpuint (id->publickey.len, ==, 1);
    g_assert_cmpuint (id->publickey.data[0], ==, 0);
    punch_proto_free (&m->base);
    punch_proto_free (&id->base);
  }
}

/* Keys that the protobuf encoding forbids but that protobuf-c 1.4.1 takes
 * as unknown fields when they are written in more bytes than needed: field
 * number 0 as 80 00, and a field number above 2^29 - 1 in a five-byte key.
 * Repacked, the first gives 00 00, which protobuf-c itself rejects (found
 * by fuzz-proto).  punch_proto_unpack() must reject both. */
static void
test_malformed_field_number (void)
{
  static const char *const inputs[] = {
    "800000",             /* field 0, varint 0 */
    "8000020102",         /* field 0, length-delimited */
    "0a00800000",         /* after a valid field (0a 00) */
    "888080807f00",       /* field 2^32 - 2^25 + 1 */
    "808080801000",       /* field 2^29, the first one too large */
  };

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr(GBytes) bytes = bytes_from_hex (inputs[i]);
      g_autoptr(GError) error = NULL;
      gsize len;
      const guint8 *data = g_bytes_get_data (bytes, &len);
      ProtobufCMessage *m;

      m = punch_proto_unpack (&circuit__pb__peer__descriptor, data, len, 0, &error);
      if (m != NULL)
        {
          punch_proto_free (m);
          g_test_incomplete ("punch_proto_unpack() accepts a key with an invalid "
                             "field number (protobuf-c 1.4.1 does): it must check "
                             "the unknown fields' numbers");
          return;
        }
      g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED);
    }

  /* The largest valid field number, 2^29 - 1, is an unknown field and kept. */
  {
    g_autoptr(GBytes) bytes = bytes_from_hex ("f8ffffff0f00");
    g_autoptr(GBytes) again = NULL;
    ProtobufCMessage *m = unpack_ok (&circuit__pb__peer__descriptor, bytes);

    g_assert_cmpuint (m->n_unknown_fields, ==, 1);
    g_assert_cmpuint (m->unknown_fields[0].tag, ==, 536870911);
    again = punch_proto_pack (m);
    assert_bytes_equal (again, bytes);
    punch_proto_free (m);
  }
}

static void
test_too_large (gconstpointer data)
{
  const MessageType *type = data;
  ProtobufCMessage *full = type->build ();
  g_autoptr(GBytes) bytes = punch_proto_pack (full);
  gsize len;
  const guint8 *buf = g_bytes_get_data (bytes, &len);
  g_autoptr(GError) error = NULL;
  ProtobufCMessage *m;

  assert_unpack_fails (type->descriptor, buf, len, len - 1, PUNCH_ERROR_TOO_LARGE);
  /* The limit applies before parsing: garbage over the limit is TOO_LARGE. */
  assert_unpack_fails (type->descriptor, (const guint8 *) "\xff\xff\xff", 3, 2,
                       PUNCH_ERROR_TOO_LARGE);

  m = punch_proto_unpack (type->descriptor, buf, len, len, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m);
  punch_proto_free (m);
}

static void
test_empty_input (void)
{
  g_autoptr(GError) error = NULL;
  ProtobufCMessage *m;

  /* Nothing at all is a valid message when nothing is required... */
  m = punch_proto_unpack (&circuit__pb__hop_message__descriptor, NULL, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m);
  g_assert_false (((Circuit__Pb__HopMessage *) m)->has_type);
  punch_proto_free (m);

  /* ...and malformed when something is. */
  assert_unpack_fails (&holepunch__pb__hole_punch__descriptor, NULL, 0, 0, PUNCH_ERROR_MALFORMED);
  assert_unpack_fails (&keys__pb__public_key__descriptor, NULL, 0, 0, PUNCH_ERROR_MALFORMED);
}

/* ---- js-libp2p's bytes --------------------------------------------------- */

static ProtobufCMessage *
js_autonat_dial (void)
{
  Autonat__Pb__Message *m = test_new (Autonat__Pb__Message);
  Autonat__Pb__Message__Dial *dial = test_new (Autonat__Pb__Message__Dial);
  Autonat__Pb__Message__PeerInfo *peer = test_new (Autonat__Pb__Message__PeerInfo);

  autonat__pb__message__init (m);
  autonat__pb__message__dial__init (dial);
  autonat__pb__message__peer_info__init (peer);
  m->has_type = TRUE;
  m->type = AUTONAT__PB__MESSAGE__MESSAGE_TYPE__DIAL;
  m->dial = dial;
  dial->peer = peer;
  peer->has_id = TRUE;
  peer->id = bin (PEER_A);
  peer->n_addrs = 2;
  peer->addrs = bin_array (2, MA_A4, MA_A6);
  return &m->base;
}

static ProtobufCMessage *
build_autonat_response (Autonat__Pb__Message__ResponseStatus  status,
                        const char                           *text,
                        const char                           *addr)
{
  Autonat__Pb__Message *m = test_new (Autonat__Pb__Message);
  Autonat__Pb__Message__DialResponse *r = test_new (Autonat__Pb__Message__DialResponse);

  autonat__pb__message__init (m);
  autonat__pb__message__dial_response__init (r);
  m->has_type = TRUE;
  m->type = AUTONAT__PB__MESSAGE__MESSAGE_TYPE__DIAL_RESPONSE;
  m->dialresponse = r;
  r->has_status = TRUE;
  r->status = status;
  r->statustext = (char *) text;
  if (addr != NULL)
    {
      r->has_addr = TRUE;
      r->addr = bin (addr);
    }
  return &m->base;
}

static ProtobufCMessage *
js_autonat_dial_response_ok (void)
{
  return build_autonat_response (AUTONAT__PB__MESSAGE__RESPONSE_STATUS__OK, "OK", MA_A4);
}

static ProtobufCMessage *
js_autonat_dial_response_error (void)
{
  return build_autonat_response (AUTONAT__PB__MESSAGE__RESPONSE_STATUS__E_DIAL_ERROR,
                                 "all dials failed", NULL);
}

static ProtobufCMessage *
js_holepunch_connect (void)
{
  Holepunch__Pb__HolePunch *m = test_new (Holepunch__Pb__HolePunch);

  holepunch__pb__hole_punch__init (m);
  m->type = HOLEPUNCH__PB__HOLE_PUNCH__TYPE__CONNECT;
  m->n_obsaddrs = 2;
  m->obsaddrs = bin_array (2, MA_A4, MA_A6);
  return &m->base;
}

static ProtobufCMessage *
js_holepunch_sync (void)
{
  Holepunch__Pb__HolePunch *m = test_new (Holepunch__Pb__HolePunch);

  holepunch__pb__hole_punch__init (m);
  m->type = HOLEPUNCH__PB__HOLE_PUNCH__TYPE__SYNC;
  return &m->base;
}

static Circuit__Pb__HopMessage *
build_hop (Circuit__Pb__HopMessage__Type type)
{
  Circuit__Pb__HopMessage *m = test_new (Circuit__Pb__HopMessage);

  circuit__pb__hop_message__init (m);
  m->has_type = TRUE;
  m->type = type;
  return m;
}

static ProtobufCMessage *
js_hop_reserve (void)
{
  return &build_hop (CIRCUIT__PB__HOP_MESSAGE__TYPE__RESERVE)->base;
}

static ProtobufCMessage *
js_hop_connect (void)
{
  Circuit__Pb__HopMessage *m = build_hop (CIRCUIT__PB__HOP_MESSAGE__TYPE__CONNECT);

  m->peer = build_circuit_peer (FALSE);
  return &m->base;
}

static ProtobufCMessage *
js_hop_status_reservation (void)
{
  Circuit__Pb__HopMessage *m = build_hop (CIRCUIT__PB__HOP_MESSAGE__TYPE__STATUS);

  m->reservation = build_reservation ();
  m->limit = build_limit (120, 131072);
  m->has_status = TRUE;
  m->status = CIRCUIT__PB__STATUS__OK;
  return &m->base;
}

static ProtobufCMessage *
js_hop_status_refused (void)
{
  Circuit__Pb__HopMessage *m = build_hop (CIRCUIT__PB__HOP_MESSAGE__TYPE__STATUS);

  m->has_status = TRUE;
  m->status = CIRCUIT__PB__STATUS__RESERVATION_REFUSED;
  return &m->base;
}

static ProtobufCMessage *
js_stop_connect (void)
{
  Circuit__Pb__StopMessage *m = test_new (Circuit__Pb__StopMessage);

  circuit__pb__stop_message__init (m);
  m->has_type = TRUE;
  m->type = CIRCUIT__PB__STOP_MESSAGE__TYPE__CONNECT;
  m->peer = build_circuit_peer (TRUE);
  m->limit = build_limit (G_MAXUINT32, G_MAXUINT64);
  return &m->base;
}

static ProtobufCMessage *
js_stop_status (void)
{
  Circuit__Pb__StopMessage *m = test_new (Circuit__Pb__StopMessage);

  circuit__pb__stop_message__init (m);
  m->has_type = TRUE;
  m->type = CIRCUIT__PB__STOP_MESSAGE__TYPE__STATUS;
  m->has_status = TRUE;
  m->status = CIRCUIT__PB__STATUS__CONNECTION_FAILED;
  return &m->base;
}

static ProtobufCMessage *
js_voucher (void)
{
  return &build_voucher ()->base;
}

static ProtobufCMessage *
js_voucher_envelope (void)
{
  return &build_voucher_envelope ()->base;
}

static ProtobufCMessage *
js_identify_full (void)
{
  return full_identify ();
}

static ProtobufCMessage *
js_identify_signed_peer_record (void)
{
  Identify__Pb__Identify *m = test_new (Identify__Pb__Identify);
  ProtobufCMessageUnknownField *unknown = test_new (ProtobufCMessageUnknownField);
  ProtobufCBinaryData record = packed (&build_peer_record_envelope ()->base);
  static char *protocols[] = { (char *) "/ipfs/id/1.0.0" };
  GByteArray *value = g_byte_array_new ();

  identify__pb__identify__init (m);
  m->agentversion = (char *) "punch-interop/0.1.0";
  m->n_protocols = 1;
  m->protocols = protocols;

  /* signedPeerRecord = 8 is not in the specification's schema: protobuf-c
   * keeps it as an unknown field, and packs it back after the known ones.
   * An unknown length-delimited field's data is its value as on the wire:
   * the length varint, then the bytes. */
  append_varint (value, record.len);
  g_byte_array_append (value, record.data, record.len);
  g_test_queue_destroy ((GDestroyNotify) g_byte_array_unref, value);
  unknown->tag = 8;
  unknown->wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
  unknown->len = value->len;
  unknown->data = value->data;
  m->base.n_unknown_fields = 1;
  m->base.unknown_fields = unknown;
  return &m->base;
}

static ProtobufCMessage *
js_peer_record (void)
{
  return &build_peer_record ()->base;
}

static ProtobufCMessage *
js_envelope_peer_record (void)
{
  return &build_peer_record_envelope ()->base;
}

static ProtobufCMessage *
js_public_key_ed25519 (void)
{
  return full_public_key ();
}

static ProtobufCMessage *
js_private_key_ed25519 (void)
{
  return full_private_key ();
}

typedef struct {
  const char *name;
  const ProtobufCMessageDescriptor *descriptor;
  ProtobufCMessage *(*build) (void);
  /* js-libp2p writes the fields out of field-number order: our re-pack
   * matches the "<name>:canonical" vector instead. */
  gboolean canonical;
} JsVector;

static const JsVector js_vector_tests[] = {
  { "autonat_dial", &autonat__pb__message__descriptor, js_autonat_dial, FALSE },
  { "autonat_dial_response_ok", &autonat__pb__message__descriptor, js_autonat_dial_response_ok, FALSE },
  { "autonat_dial_response_error", &autonat__pb__message__descriptor, js_autonat_dial_response_error, FALSE },
  { "holepunch_connect", &holepunch__pb__hole_punch__descriptor, js_holepunch_connect, FALSE },
  { "holepunch_sync", &holepunch__pb__hole_punch__descriptor, js_holepunch_sync, FALSE },
  { "hop_reserve", &circuit__pb__hop_message__descriptor, js_hop_reserve, FALSE },
  { "hop_connect", &circuit__pb__hop_message__descriptor, js_hop_connect, FALSE },
  { "hop_status_reservation", &circuit__pb__hop_message__descriptor, js_hop_status_reservation, FALSE },
  { "hop_status_refused", &circuit__pb__hop_message__descriptor, js_hop_status_refused, FALSE },
  { "stop_connect", &circuit__pb__stop_message__descriptor, js_stop_connect, FALSE },
  { "stop_status", &circuit__pb__stop_message__descriptor, js_stop_status, FALSE },
  { "voucher", &circuit__pb__voucher__descriptor, js_voucher, FALSE },
  { "voucher_envelope", &record__pb__envelope__descriptor, js_voucher_envelope, FALSE },
  { "identify_full", &identify__pb__identify__descriptor, js_identify_full, TRUE },
  { "identify_signed_peer_record", &identify__pb__identify__descriptor, js_identify_signed_peer_record, TRUE },
  { "peer_record", &peer__pb__peer_record__descriptor, js_peer_record, FALSE },
  { "envelope_peer_record", &record__pb__envelope__descriptor, js_envelope_peer_record, FALSE },
  { "public_key_ed25519", &keys__pb__public_key__descriptor, js_public_key_ed25519, FALSE },
  { "private_key_ed25519", &keys__pb__private_key__descriptor, js_private_key_ed25519, FALSE },
};

static void
test_js_vector (gconstpointer data)
{
  const JsVector *v = data;
  GBytes *js = js_vector (v->name);
  GBytes *want = js;
  ProtobufCMessage *expected = v->build ();
  ProtobufCMessage *ours;
  g_autoptr(GBytes) repacked = NULL;
  g_autoptr(GBytes) from_inputs = NULL;

  if (v->canonical)
    {
      g_autofree char *name = g_strconcat (v->name, ":canonical", NULL);

      want = js_vector (name);
      /* Same length, other order. */
      g_assert_cmpuint (g_bytes_get_size (want), ==, g_bytes_get_size (js));
      g_assert_false (g_bytes_equal (want, js));
    }

  /* We decode js-libp2p's bytes, every field equals js's input (and no
   * field js wrote is unknown to us, except where the expected message
   * says so), and re-packing gives js's bytes back. */
  ours = unpack_ok (v->descriptor, js);
  assert_message_equal (expected, ours, v->name);
  repacked = punch_proto_pack (ours);
  assert_bytes_equal (repacked, want);
  punch_proto_free (ours);

  /* Our encoding of the same inputs is js's encoding too. */
  from_inputs = punch_proto_pack (expected);
  assert_bytes_equal (from_inputs, want);

  if (v->canonical)
    {
      ours = unpack_ok (v->descriptor, want);
      assert_message_equal (expected, ours, v->name);
      punch_proto_free (ours);
    }
}

/* Every vector of proto-js.txt is checked by a test above. */
static void
test_js_all_covered (void)
{
  GHashTableIter iter;
  const char *name;

  g_assert_cmpuint (g_hash_table_size (js_vectors), >=, G_N_ELEMENTS (js_vector_tests));
  g_hash_table_iter_init (&iter, js_vectors);
  while (g_hash_table_iter_next (&iter, (gpointer *) &name, NULL))
    {
      g_autofree char *base = g_strdup (name);
      char *colon = strchr (base, ':');
      gboolean found = FALSE;

      if (colon != NULL)
        {
          g_assert_cmpstr (colon, ==, ":canonical");
          *colon = '\0';
        }
      for (guint i = 0; i < G_N_ELEMENTS (js_vector_tests); i++)
        if (g_str_equal (js_vector_tests[i].name, base) &&
            (colon == NULL || js_vector_tests[i].canonical))
          found = TRUE;
      if (!found)
        g_error ("proto-js.txt vector \"%s\" has no test", name);
    }
}

/* The voucher envelope inside js's HopMessage is the standalone one. */
static void
test_js_voucher_in_reservation (void)
{
  Circuit__Pb__HopMessage *hop;
  Record__Pb__Envelope *env;
  Circuit__Pb__Voucher *voucher;
  GBytes *envelope_bytes = js_vector ("voucher_envelope");
  g_autoptr(GBytes) inner = NULL;
  g_autoptr(GBytes) payload = NULL;

  hop = (Circuit__Pb__HopMessage *) unpack_ok (&circuit__pb__hop_message__descriptor,
                                               js_vector ("hop_status_reservation"));
  g_assert_nonnull (hop->reservation);
  g_assert_true (hop->reservation->has_voucher);
  inner = g_bytes_new (hop->reservation->voucher.data, hop->reservation->voucher.len);
  assert_bytes_equal (inner, envelope_bytes);

  env = (Record__Pb__Envelope *) unpack_ok (&record__pb__envelope__descriptor, inner);
  g_assert_nonnull (env->public_key);
  g_assert_cmpint (env->public_key->type, ==, KEYS__PB__KEY_TYPE__Ed25519);
  g_assert_cmpmem (env->payload_type.data, env->payload_type.len, "\x03\x02", 2);
  payload = g_bytes_new (env->payload.data, env->payload.len);
  assert_bytes_equal (payload, js_vector ("voucher"));
  voucher = (Circuit__Pb__Voucher *) unpack_ok (&circuit__pb__voucher__descriptor, payload);
  g_assert_true (voucher->has_expiration);
  g_assert_cmpuint (voucher->expiration, ==, EXPIRE);

  punch_proto_free (&voucher->base);
  punch_proto_free (&env->base);
  punch_proto_free (&hop->base);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  load_js_vectors ();

  for (guint i = 0; i < G_N_ELEMENTS (message_types); i++)
    {
      g_autofree char *path = g_strdup_printf ("/proto/roundtrip/%s", message_types[i].name);
      g_autofree char *mpath = g_strdup_printf ("/proto/malformed/%s", message_types[i].name);
      g_autofree char *lpath = g_strdup_printf ("/proto/too-large/%s", message_types[i].name);

      g_test_add_data_func (path, &message_types[i], test_roundtrip);
      g_test_add_data_func (mpath, &message_types[i], test_malformed);
      g_test_add_data_func (lpath, &message_types[i], test_too_large);
    }

  g_test_add_func ("/proto/bytes/hop-reserve", test_bytes_hop_reserve);
  g_test_add_func ("/proto/bytes/holepunch-sync", test_bytes_holepunch_sync);
  g_test_add_func ("/proto/bytes/holepunch-connect", test_bytes_holepunch_connect);
  g_test_add_func ("/proto/bytes/limit", test_bytes_limit);
  g_test_add_func ("/proto/bytes/stop-status", test_bytes_stop_status);
  g_test_add_func ("/proto/bytes/autonat-dial-response", test_bytes_autonat_dial_response);
  g_test_add_func ("/proto/bytes/public-key", test_bytes_public_key);
  g_test_add_func ("/proto/bytes/peer-record-implicit-presence", test_bytes_peer_record_implicit_presence);
  g_test_add_func ("/proto/bytes/envelope", test_bytes_envelope);

  g_test_add_func ("/proto/malformed/nested-required", test_malformed_nested_required);
  g_test_add_func ("/proto/malformed/empty-input", test_empty_input);
  g_test_add_func ("/proto/malformed/field-number", test_malformed_field_number);
  g_test_add_func ("/proto/malformed/string-nul", test_malformed_string_nul);

  for (guint i = 0; i < G_N_ELEMENTS (js_vector_tests); i++)
    {
      g_autofree char *path = g_strdup_printf ("/proto/js/%s", js_vector_tests[i].name);

      g_strdelimit (path, "_", '-');
      g_test_add_data_func (path, &js_vector_tests[i], test_js_vector);
    }
  g_test_add_func ("/proto/js/all-covered", test_js_all_covered);
  g_test_add_func ("/proto/js/voucher-in-reservation", test_js_voucher_in_reservation);

  ret = g_test_run ();
  g_clear_pointer (&js_vectors, g_hash_table_unref);
  return ret;
}
