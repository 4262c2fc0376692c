/* test-identify.c: identify messages, stream reading, pushes, observed addresses.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include <punch.h>

#include "identify.pb-c.h"
#include "punch-framing-private.h"
#include "punch-identify-private.h"
#include "punch-proto.h"

/* tests/vectors/proto-js.json "identify_full": js-libp2p 3.3.11's own
 * Identify codec (its field order), and the same fields in field-number
 * order ("canonical"), as protobuf-c writes them. */
#define JS_IDENTIFY_FULL \
  "2a0a697066732f302e312e30321370756e63682d696e7465726f702f302e312e300a2408" \
  "01122079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad04966412" \
  "0804cb007107060fa112142920010db8000000000000000000000007060fa1220804cb00" \
  "7107060fa11a0e2f697066732f69642f312e302e301a102f697066732f70696e672f312e" \
  "302e301a202f6c69627032702f636972637569742f72656c61792f302e322e302f73746f" \
  "701a0d2f6c69627032702f6463757472"
#define JS_IDENTIFY_FULL_CANONICAL \
  "0a240801122079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad04" \
  "9664120804cb007107060fa112142920010db8000000000000000000000007060fa11a0e" \
  "2f697066732f69642f312e302e301a102f697066732f70696e672f312e302e301a202f6c" \
  "69627032702f636972637569742f72656c61792f302e322e302f73746f701a0d2f6c6962" \
  "7032702f6463757472220804cb007107060fa12a0a697066732f302e312e30321370756e" \
  "63682d696e7465726f702f302e312e30"
/* "identify_signed_peer_record": field 8 (signedPeerRecord), which the
 * specification's schema lacks, must be skipped. */
#define JS_IDENTIFY_SPR \
  "321370756e63682d696e7465726f702f302e312e301a0e2f697066732f69642f312e302e" \
  "3042c1010a240801122079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3" \
  "910bad049664120203011a530a2600240801122079b5562e8fe654f94078b112e8a98ba7" \
  "901f853ae695bed7e0e3910bad0496641080d0eab6b7331a0a0a0804cb007107060fa11a" \
  "160a142920010db8000000000000000000000007060fa12a408ead00313a13016927eb95" \
  "cc2c9ef9cd6137dc8814c804452a83b643725e1e6420be7bec82283a31af6310edfdd24f" \
  "8d2246622535837d6b602cdfdd9c380303"
#define JS_PUBLIC_KEY \
  "0801122079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"

static GBytes *
hex_bytes (const char *hex)
{
  gsize len = strlen (hex) / 2;
  guint8 *data = g_malloc (len + 1);

  g_assert_cmpuint (strlen (hex) % 2, ==, 0);
  for (gsize i = 0; i < len; i++)
    data[i] = (guint8) (g_ascii_xdigit_value (hex[2 * i]) << 4 |
                        g_ascii_xdigit_value (hex[2 * i + 1]));
  return g_bytes_new_take (data, len);
}

static PunchPeerId *
js_peer_id (void)
{
  g_autoptr(GBytes) key_bytes = hex_bytes (JS_PUBLIC_KEY);
  g_autoptr(PunchPublicKey) key = punch_public_key_new_from_protobuf (key_bytes, NULL);

  g_assert_nonnull (key);
  return punch_peer_id_ref (punch_public_key_get_peer_id (key));
}

static PunchPeerId *
random_peer_id (void)
{
  g_autoptr(PunchKeypair) kp = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, NULL);

  g_assert_nonnull (kp);
  return punch_peer_id_ref (punch_keypair_get_peer_id (kp));
}

static PunchMultiaddr *
ma (const char *text)
{
  g_autoptr(GError) error = NULL;
  PunchMultiaddr *addr = punch_multiaddr_new_from_string (text, &error);

  g_assert_no_error (error);
  return addr;
}

static void
assert_addr (PunchMultiaddr *addr,
             const char     *text)
{
  g_autofree gchar *got = NULL;

  g_assert_nonnull (addr);
  got = punch_multiaddr_to_string (addr);
  g_assert_cmpstr (got, ==, text);
}

static PunchIdentifyInfo *
decode_hex (const char   *hex,
            PunchPeerId  *expected,
            GError      **error)
{
  g_autoptr(GBytes) bytes = hex_bytes (hex);
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  return punch_identify_info_decode (data, len, expected, error);
}

/* Packs an Identify message built field by field. */
static GBytes *
pack (Identify__Pb__Identify *msg)
{
  return punch_proto_pack (&msg->base);
}

/* Codec */

static void
test_decode_js_vector (void)
{
  g_autoptr(PunchPeerId) peer = js_peer_id ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchIdentifyInfo) info = decode_hex (JS_IDENTIFY_FULL, peer, &error);
  const gchar * const *protocols;
  GPtrArray *addrs;

  g_assert_no_error (error);
  g_assert_nonnull (info);
  g_assert_true (punch_peer_id_equal (punch_identify_info_get_peer_id (info), peer));
  g_assert_cmpstr (punch_identify_info_get_protocol_version (info), ==, "ipfs/0.1.0");
  g_assert_cmpstr (punch_identify_info_get_agent_version (info), ==, "punch-interop/0.1.0");
  g_assert_true (punch_peer_id_matches_public_key (peer, punch_identify_info_get_public_key (info)));

  addrs = punch_identify_info_get_listen_addresses (info);
  g_assert_cmpuint (addrs->len, ==, 2);
  assert_addr (addrs->pdata[0], "/ip4/203.0.113.7/tcp/4001");
  assert_addr (addrs->pdata[1], "/ip6/2001:db8::7/tcp/4001");
  assert_addr (punch_identify_info_get_observed_address (info), "/ip4/203.0.113.7/tcp/4001");

  protocols = punch_identify_info_get_protocols (info);
  g_assert_cmpuint (g_strv_length ((gchar **) protocols), ==, 4);
  g_assert_cmpstr (protocols[0], ==, "/ipfs/id/1.0.0");
  g_assert_cmpstr (protocols[1], ==, "/ipfs/ping/1.0.0");
  g_assert_cmpstr (protocols[2], ==, "/libp2p/circuit/relay/0.2.0/stop");
  g_assert_cmpstr (protocols[3], ==, "/libp2p/dcutr");
  g_assert_true (punch_identify_info_has_protocol (info, "/libp2p/dcutr"));
  g_assert_false (punch_identify_info_has_protocol (info, "/libp2p/dcut"));
}

static void
test_encode_canonical (void)
{
  g_autoptr(PunchPeerId) peer = js_peer_id ();
  g_autoptr(PunchIdentifyInfo) info = decode_hex (JS_IDENTIFY_FULL, peer, NULL);
  g_autoptr(GBytes) canonical = hex_bytes (JS_IDENTIFY_FULL_CANONICAL);
  g_autoptr(GBytes) framed = NULL;
  g_autoptr(GError) error = NULL;
  gsize payload_offset = 0, payload_len = 0, len;
  const guint8 *data;

  g_assert_nonnull (info);
  framed = punch_identify_info_encode (info, &error);
  g_assert_no_error (error);
  data = g_bytes_get_data (framed, &len);
  g_assert_cmpint (punch_framing_parse (data, len, PUNCH_IDENTIFY_MAX_MESSAGE_SIZE,
                                        &payload_offset, &payload_len, NULL),
                   ==, PUNCH_FRAMING_STATUS_FRAME);
  /* One message, nothing after it. */
  g_assert_cmpuint (payload_offset + payload_len, ==, len);
  g_assert_cmpmem (data + payload_offset, payload_len,
                   g_bytes_get_data (canonical, NULL), g_bytes_get_size (canonical));
}

static void
test_decode_unknown_field (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchIdentifyInfo) info = decode_hex (JS_IDENTIFY_SPR, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (punch_identify_info_get_agent_version (info), ==, "punch-interop/0.1.0");
  g_assert_null (punch_identify_info_get_protocol_version (info));
  g_assert_null (punch_identify_info_get_public_key (info));
  g_assert_null (punch_identify_info_get_observed_address (info));
  g_assert_null (punch_identify_info_get_peer_id (info));
  g_assert_cmpuint (punch_identify_info_get_listen_addresses (info)->len, ==, 0);
  g_assert_true (punch_identify_info_has_protocol (info, "/ipfs/id/1.0.0"));
}

static void
test_decode_peer_id_mismatch (void)
{
  g_autoptr(PunchPeerId) other = random_peer_id ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchIdentifyInfo) info = decode_hex (JS_IDENTIFY_FULL, other, &error);

  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH);
  g_assert_null (info);
}

static void
test_decode_empty (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchIdentifyInfo) info = punch_identify_info_decode (NULL, 0, NULL, &error);

  /* Every field is optional: an empty message is a valid (empty) push. */
  g_assert_no_error (error);
  g_assert_nonnull (info);
  g_assert_null (punch_identify_info_get_agent_version (info));
  g_assert_cmpuint (g_strv_length ((gchar **) punch_identify_info_get_protocols (info)), ==, 0);
}

static void
test_decode_malformed (void)
{
  static const struct {
    const char *name;
    const char *hex;
    int code;
  } cases[] = {
    /* field 1 (publicKey) claims 0x24 bytes, 2 follow */
    { "truncated-field", "0a240801", PUNCH_ERROR_MALFORMED },
    /* field 6 (agentVersion) with wire type 0 (varint) */
    { "wrong-wire-type", "3001", PUNCH_ERROR_MALFORMED },
    /* agentVersion "\xff\xfe" */
    { "agent-not-utf8", "3202fffe", PUNCH_ERROR_MALFORMED },
    /* protocolVersion "\xc3" (a cut UTF-8 sequence) */
    { "protocol-version-not-utf8", "2a01c3", PUNCH_ERROR_MALFORMED },
    /* publicKey "\x08\x01\x12\x01\x00": an Ed25519 key of 1 byte */
    { "bad-public-key", "0a050801120100", PUNCH_ERROR_MALFORMED },
    /* publicKey of key type 9 */
    { "unknown-key-type", "0a0608091202aabb", PUNCH_ERROR_UNSUPPORTED },
    /* field number 0 */
    { "field-zero", "0000", PUNCH_ERROR_MALFORMED },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PunchIdentifyInfo) info = decode_hex (cases[i].hex, NULL, &error);

      g_test_message ("case %s", cases[i].name);
      g_assert_null (info);
      g_assert_error (error, PUNCH_ERROR, cases[i].code);
    }
}

static void
test_decode_too_large (void)
{
  g_autofree guint8 *big = g_malloc0 (PUNCH_IDENTIFY_MAX_MESSAGE_SIZE + 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchIdentifyInfo) info = NULL;
  g_autoptr(PunchIdentifyInfo) exact = NULL;
  gsize n = PUNCH_IDENTIFY_MAX_MESSAGE_SIZE;

  /* An agentVersion that fills exactly 8 KiB: tag, 2-byte length, text. */
  big[0] = 0x32;
  big[1] = (guint8) (((n - 3) & 0x7f) | 0x80);
  big[2] = (guint8) ((n - 3) >> 7);
  memset (big + 3, 'a', n - 3);
  exact = punch_identify_info_decode (big, n, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (punch_identify_info_get_agent_version (exact)), ==, n - 3);

  info = punch_identify_info_decode (big, n + 1, NULL, &error);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
  g_assert_null (info);
}

static void
test_decode_drops_bad_entries (void)
{
  Identify__Pb__Identify msg = IDENTIFY__PB__IDENTIFY__INIT;
  g_autoptr(PunchMultiaddr) a1 = ma ("/ip4/198.51.100.1/tcp/1");
  g_autoptr(PunchPeerId) peer = random_peer_id ();
  g_autoptr(PunchMultiaddr) p2p = punch_multiaddr_new_from_peer_id (peer);
  g_autoptr(PunchMultiaddr) a1p = punch_multiaddr_encapsulate (a1, p2p, NULL);
  g_autoptr(PunchMultiaddr) relayed = ma ("/ip4/198.51.100.9/tcp/4001/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq/p2p-circuit");
  g_autoptr(GBytes) b1 = punch_multiaddr_get_bytes (a1);
  g_autoptr(GBytes) b1p = punch_multiaddr_get_bytes (a1p);
  g_autoptr(GBytes) bp2p = punch_multiaddr_get_bytes (p2p);
  g_autoptr(GBytes) brel = punch_multiaddr_get_bytes (relayed);
  ProtobufCBinaryData addrs[6];
  char *protocols[] = { "/a/1", "", "/b\n/1", "/a/1", "/c/1", (char *) "/\xff" };
  g_autoptr(GBytes) packed = NULL;
  g_autoptr(PunchIdentifyInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  const gchar * const *got;
  GPtrArray *listen;

  addrs[0].data = (guint8 *) g_bytes_get_data (b1, &addrs[0].len);
  addrs[1].data = (guint8 *) "\xff\xff\x0f"; /* unknown protocol code */
  addrs[1].len = 3;
  addrs[2].data = (guint8 *) g_bytes_get_data (b1p, &addrs[2].len); /* a1 again, with /p2p */
  addrs[3].data = (guint8 *) g_bytes_get_data (bp2p, &addrs[3].len); /* only /p2p: nothing left */
  addrs[4].data = (guint8 *) g_bytes_get_data (brel, &addrs[4].len);
  addrs[5].data = NULL;
  addrs[5].len = 0;
  msg.n_listenaddrs = 6;
  msg.listenaddrs = addrs;
  msg.n_protocols = G_N_ELEMENTS (protocols);
  msg.protocols = protocols;
  msg.has_observedaddr = TRUE;
  msg.observedaddr.data = (guint8 *) "\x04\x01";
  msg.observedaddr.len = 2;

  packed = pack (&msg);
  info = punch_identify_info_decode (g_bytes_get_data (packed, NULL),
                                     g_bytes_get_size (packed), NULL, &error);
  g_assert_no_error (error);

  listen = punch_identify_info_get_listen_addresses (info);
  g_assert_cmpuint (listen->len, ==, 2);
  assert_addr (listen->pdata[0], "/ip4/198.51.100.1/tcp/1");
  assert_addr (listen->pdata[1], "/ip4/198.51.100.9/tcp/4001/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq/p2p-circuit");
  g_assert_null (punch_identify_info_get_observed_address (info));

  got = punch_identify_info_get_protocols (info);
  g_assert_cmpuint (g_strv_length ((gchar **) got), ==, 2);
  g_assert_cmpstr (got[0], ==, "/a/1");
  g_assert_cmpstr (got[1], ==, "/c/1");
}

/* js-libp2p sends its connection's remote address, /p2p/<our id>
 * included when it dialed us by peer id. */
static void
test_decode_observed_with_peer_id (void)
{
  Identify__Pb__Identify msg = IDENTIFY__PB__IDENTIFY__INIT;
  g_autoptr(PunchMultiaddr) with_id =
    ma ("/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq");
  g_autoptr(PunchMultiaddr) only_id =
    ma ("/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq");
  g_autoptr(GBytes) b1 = punch_multiaddr_get_bytes (with_id);
  g_autoptr(GBytes) b2 = punch_multiaddr_get_bytes (only_id);
  g_autoptr(GBytes) p1 = NULL, p2 = NULL;
  g_autoptr(PunchIdentifyInfo) i1 = NULL, i2 = NULL;

  msg.has_observedaddr = TRUE;
  msg.observedaddr.data = (guint8 *) g_bytes_get_data (b1, &msg.observedaddr.len);
  p1 = pack (&msg);
  i1 = punch_identify_info_decode (g_bytes_get_data (p1, NULL), g_bytes_get_size (p1), NULL, NULL);
  assert_addr (punch_identify_info_get_observed_address (i1), "/ip4/127.0.0.1/tcp/4001");

  /* Nothing left without the /p2p: no observed address. */
  msg.observedaddr.data = (guint8 *) g_bytes_get_data (b2, &msg.observedaddr.len);
  p2 = pack (&msg);
  i2 = punch_identify_info_decode (g_bytes_get_data (p2, NULL), g_bytes_get_size (p2), NULL, NULL);
  g_assert_nonnull (i2);
  g_assert_null (punch_identify_info_get_observed_address (i2));
}

static PunchIdentifyInfo *
make_info (guint n_addrs,
           guint n_protocols)
{
  PunchIdentifyInfo *info = punch_identify_info_new ();
  g_autoptr(PunchKeypair) kp = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, NULL);

  info->protocol_version = g_strdup (PUNCH_IDENTIFY_PROTOCOL_VERSION);
  info->agent_version = g_strdup ("punch/test");
  info->public_key = g_object_ref (punch_keypair_get_public_key (kp));
  punch_identify_info_set_peer_id (info, punch_keypair_get_peer_id (kp));
  info->observed_addr = ma ("/ip4/203.0.113.5/tcp/5555");
  for (guint i = 0; i < n_addrs; i++)
    {
      g_autofree gchar *text = g_strdup_printf ("/ip6/2001:db8::%x/tcp/%u", i + 1, 1000 + i);
      g_autoptr(PunchMultiaddr) addr = ma (text);

      punch_identify_info_add_listen_addr (info, addr);
    }
  for (guint i = 0; i < n_protocols; i++)
    {
      g_autofree gchar *p = g_strdup_printf ("/punch/test/some-fairly-long-protocol-name/%u/1.0.0", i);

      punch_identify_info_add_protocol (info, p);
    }
  return info;
}

static void
assert_same_info (PunchIdentifyInfo *a,
                  PunchIdentifyInfo *b)
{
  g_assert_cmpstr (a->protocol_version, ==, b->protocol_version);
  g_assert_cmpstr (a->agent_version, ==, b->agent_version);
  g_assert_true (punch_public_key_equal (a->public_key, b->public_key));
  g_assert_true (punch_multiaddr_equal (a->observed_addr, b->observed_addr));
  g_assert_cmpuint (a->listen_addrs->len, ==, b->listen_addrs->len);
  for (guint i = 0; i < a->listen_addrs->len; i++)
    g_assert_true (punch_multiaddr_equal (a->listen_addrs->pdata[i], b->listen_addrs->pdata[i]));
  g_assert_cmpuint (a->protocols->len, ==, b->protocols->len);
  for (guint i = 0; i < a->protocols->len; i++)
    g_assert_cmpstr (a->protocols->pdata[i], ==, b->protocols->pdata[i]);
}

static gsize
count_frames (GBytes *framed)
{
  gsize len, pos = 0, n = 0;
  const guint8 *data = g_bytes_get_data (framed, &len);

  while (pos < len)
    {
      gsize off = 0, plen = 0;

      g_assert_cmpint (punch_framing_parse (data + pos, len - pos, PUNCH_IDENTIFY_MAX_MESSAGE_SIZE,
                                            &off, &plen, NULL), ==, PUNCH_FRAMING_STATUS_FRAME);
      g_assert_cmpuint (plen, <=, PUNCH_IDENTIFY_MAX_MESSAGE_SIZE);
      pos += off + plen;
      n++;
    }
  return n;
}

static PunchIdentifyInfo *
read_all (GBytes      *framed,
          PunchPeerId *peer,
          gsize        chunk,
          GError     **error)
{
  g_autoptr(PunchIdentifyReader) reader = punch_identify_reader_new (peer);
  gsize len;
  const guint8 *data = g_bytes_get_data (framed, &len);

  for (gsize pos = 0; pos < len; pos += chunk)
    if (!punch_identify_reader_feed (reader, data + pos, MIN (chunk, len - pos), error))
      return NULL;
  return punch_identify_reader_finish (reader, error);
}

static void
test_encode_roundtrip (void)
{
  g_autoptr(PunchIdentifyInfo) info = make_info (3, 5);
  g_autoptr(GBytes) framed = punch_identify_info_encode (info, NULL);
  g_autoptr(PunchIdentifyInfo) back = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (count_frames (framed), ==, 1);
  back = read_all (framed, info->peer_id, 1, &error);
  g_assert_no_error (error);
  assert_same_info (info, back);
  g_assert_true (punch_peer_id_equal (back->peer_id, info->peer_id));
}

static void
test_encode_split (void)
{
  /* ~40 bytes a protocol: 256 of them need two messages. */
  g_autoptr(PunchIdentifyInfo) info = make_info (PUNCH_IDENTIFY_MAX_ADDRS, PUNCH_IDENTIFY_MAX_PROTOCOLS);
  g_autoptr(GBytes) framed = NULL;
  g_autoptr(PunchIdentifyInfo) back = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (info->listen_addrs->len, ==, PUNCH_IDENTIFY_MAX_ADDRS);
  g_assert_cmpuint (info->protocols->len, ==, PUNCH_IDENTIFY_MAX_PROTOCOLS);
  framed = punch_identify_info_encode (info, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (count_frames (framed), >, 1);
  g_assert_cmpuint (count_frames (framed), <=, PUNCH_IDENTIFY_MAX_MESSAGES);
  back = read_all (framed, info->peer_id, 997, &error);
  g_assert_no_error (error);
  assert_same_info (info, back);
}

static void
test_encode_too_large (void)
{
  g_autoptr(PunchIdentifyInfo) info = make_info (0, 0);
  g_autoptr(GBytes) framed = NULL;
  g_autoptr(GError) error = NULL;

  g_free (info->agent_version);
  info->agent_version = g_strnfill (PUNCH_IDENTIFY_MAX_MESSAGE_SIZE, 'x');
  framed = punch_identify_info_encode (info, &error);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
  g_assert_null (framed);
}

/* Reader */

static GBytes *
frame (GBytes *payload)
{
  return punch_framing_encode (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload),
                               PUNCH_IDENTIFY_MAX_MESSAGE_SIZE, NULL);
}

static void
test_reader_merges (void)
{
  Identify__Pb__Identify m1 = IDENTIFY__PB__IDENTIFY__INIT;
  Identify__Pb__Identify m2 = IDENTIFY__PB__IDENTIFY__INIT;
  char *p1[] = { "/a/1", "/b/1" };
  char *p2[] = { "/b/1", "/c/1" };
  g_autoptr(GBytes) f1 = NULL, f2 = NULL, pk1 = NULL, pk2 = NULL;
  g_autoptr(GByteArray) stream = g_byte_array_new ();
  g_autoptr(GBytes) all = NULL;
  g_autoptr(PunchIdentifyInfo) info = NULL;
  g_autoptr(GError) error = NULL;

  m1.agentversion = "first";
  m1.protocolversion = "ipfs/0.1.0";
  m1.protocols = p1;
  m1.n_protocols = 2;
  m2.agentversion = "second";
  m2.protocols = p2;
  m2.n_protocols = 2;
  pk1 = pack (&m1);
  pk2 = pack (&m2);
  f1 = frame (pk1);
  f2 = frame (pk2);
  g_byte_array_append (stream, g_bytes_get_data (f1, NULL), g_bytes_get_size (f1));
  g_byte_array_append (stream, g_bytes_get_data (f2, NULL), g_bytes_get_size (f2));
  all = g_byte_array_free_to_bytes (g_steal_pointer (&stream));

  info = read_all (all, NULL, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->agent_version, ==, "second");
  g_assert_cmpstr (info->protocol_version, ==, "ipfs/0.1.0");
  g_assert_cmpuint (info->protocols->len, ==, 3);
  g_assert_true (punch_identify_info_has_protocol (info, "/a/1"));
  g_assert_true (punch_identify_info_has_protocol (info, "/c/1"));
}

static void
test_reader_errors (void)
{
  g_autoptr(PunchIdentifyReader) empty = punch_identify_reader_new (NULL);
  g_autoptr(PunchIdentifyReader) cut = punch_identify_reader_new (NULL);
  g_autoptr(PunchIdentifyReader) many = punch_identify_reader_new (NULL);
  g_autoptr(PunchIdentifyReader) big = punch_identify_reader_new (NULL);
  g_autoptr(PunchIdentifyReader) mismatch = NULL;
  g_autoptr(PunchPeerId) other = random_peer_id ();
  g_autoptr(GBytes) js = hex_bytes (JS_IDENTIFY_FULL);
  g_autoptr(GBytes) js_framed = frame (js);
  g_autoptr(PunchIdentifyInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  /* 8193 as a varint */
  const guint8 too_big[] = { 0x81, 0x40 };

  info = punch_identify_reader_finish (empty, &error);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);

  g_assert_true (punch_identify_reader_feed (cut, g_bytes_get_data (js_framed, NULL),
                                             g_bytes_get_size (js_framed) - 1, &error));
  g_assert_no_error (error);
  info = punch_identify_reader_finish (cut, &error);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED);
  g_assert_null (info);
  g_clear_error (&error);

  /* Ten empty messages are fine, the eleventh is one too many. */
  for (int i = 0; i < PUNCH_IDENTIFY_MAX_MESSAGES; i++)
    g_assert_true (punch_identify_reader_feed (many, (const guint8 *) "\0", 1, NULL));
  g_assert_true (punch_identify_reader_is_full (many));
  g_assert_false (punch_identify_reader_feed (many, (const guint8 *) "\0", 1, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_clear_error (&error);
  info = punch_identify_reader_finish (many, &error);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_FAILED);
  g_clear_error (&error);

  g_assert_false (punch_identify_reader_feed (big, too_big, sizeof too_big, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
  g_clear_error (&error);

  mismatch = punch_identify_reader_new (other);
  g_assert_false (punch_identify_reader_feed (mismatch, g_bytes_get_data (js_framed, NULL),
                                              g_bytes_get_size (js_framed), &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH);
}

/* Push */

static void
test_apply_update (void)
{
  g_autoptr(PunchIdentifyInfo) stored = make_info (2, 2);
  g_autoptr(PunchIdentifyInfo) update = punch_identify_info_new ();
  g_autoptr(PunchIdentifyInfo) empty = punch_identify_info_new ();
  g_autoptr(PunchIdentifyInfo) before = punch_identify_info_copy (stored);
  g_autoptr(PunchMultiaddr) addr = ma ("/ip4/198.51.100.50/udp/4001/quic-v1");

  /* An empty push changes nothing. */
  punch_identify_info_apply_update (stored, empty);
  assert_same_info (stored, before);

  /* A push with only new addresses and an agent version replaces those. */
  punch_identify_info_add_listen_addr (update, addr);
  update->agent_version = g_strdup ("punch/next");
  punch_identify_info_apply_update (stored, update);
  g_assert_cmpstr (stored->agent_version, ==, "punch/next");
  g_assert_cmpstr (stored->protocol_version, ==, PUNCH_IDENTIFY_PROTOCOL_VERSION);
  g_assert_cmpuint (stored->listen_addrs->len, ==, 1);
  g_assert_true (punch_multiaddr_equal (stored->listen_addrs->pdata[0], addr));
  g_assert_cmpuint (stored->protocols->len, ==, 2);
  g_assert_true (punch_public_key_equal (stored->public_key, before->public_key));
  g_assert_true (punch_multiaddr_equal (stored->observed_addr, before->observed_addr));

  /* Protocols replaced as a whole. */
  punch_identify_info_add_protocol (empty, "/only/1");
  punch_identify_info_apply_update (stored, empty);
  g_assert_cmpuint (stored->protocols->len, ==, 1);
  g_assert_cmpstr (punch_identify_info_get_protocols (stored)[0], ==, "/only/1");
  g_assert_null (punch_identify_info_get_protocols (stored)[1]);
}

static void
test_info_bounds (void)
{
  g_autoptr(PunchIdentifyInfo) info = make_info (PUNCH_IDENTIFY_MAX_ADDRS + 5,
                                                 PUNCH_IDENTIFY_MAX_PROTOCOLS + 5);

  g_assert_cmpuint (info->listen_addrs->len, ==, PUNCH_IDENTIFY_MAX_ADDRS);
  g_assert_cmpuint (info->protocols->len, ==, PUNCH_IDENTIFY_MAX_PROTOCOLS);
}

static void
test_boxed (void)
{
  g_autoptr(PunchIdentifyInfo) info = make_info (1, 1);
  PunchIdentifyInfo *copy = g_boxed_copy (PUNCH_TYPE_IDENTIFY_INFO, info);

  g_assert_true (copy == info);
  g_boxed_free (PUNCH_TYPE_IDENTIFY_INFO, copy);
  g_assert_cmpstr (punch_identify_info_get_agent_version (info), ==, "punch/test");
}

/* Observed addresses */

#define SEC G_USEC_PER_SEC

static void
test_observed_counts (void)
{
  g_autoptr(PunchObservedAddrs) table = punch_observed_addrs_new ();
  g_autoptr(PunchMultiaddr) local = ma ("/ip4/192.168.1.10/tcp/4001");
  g_autoptr(PunchMultiaddr) local2 = ma ("/ip4/192.168.1.10/tcp/50123");
  g_autoptr(PunchMultiaddr) pub = ma ("/ip4/203.0.113.9/tcp/4001");
  g_autoptr(PunchMultiaddr) other = ma ("/ip4/203.0.113.9/tcp/61000");
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) confirmed = NULL;
  g_autoptr(GPtrArray) on_local2 = NULL;
  gint64 now = 1000 * SEC;

  g_assert_true (punch_observed_addrs_record (table, local, pub, "ip4:198.51.100.1", now));
  /* The same observer again counts once. */
  g_assert_true (punch_observed_addrs_record (table, local, pub, "ip4:198.51.100.1", now + 1));
  g_assert_cmpuint (punch_observed_addrs_count (table, pub, now + 2), ==, 1);
  g_assert_true (punch_observed_addrs_record (table, local, pub, "ip4:198.51.100.2", now + 2));
  g_assert_true (punch_observed_addrs_record (table, local2, pub, "ip4:198.51.100.3", now + 3));
  g_assert_true (punch_observed_addrs_record (table, local2, other, "ip4:198.51.100.3", now + 4));
  g_assert_cmpuint (punch_observed_addrs_count (table, pub, now + 5), ==, 3);

  all = punch_observed_addrs_get (table, NULL, 1, now + 5);
  g_assert_cmpuint (all->len, ==, 2);
  g_assert_true (punch_multiaddr_equal (all->pdata[0], pub));
  g_assert_true (punch_multiaddr_equal (all->pdata[1], other));

  confirmed = punch_observed_addrs_get (table, NULL, 2, now + 5);
  g_assert_cmpuint (confirmed->len, ==, 1);
  g_assert_true (punch_multiaddr_equal (confirmed->pdata[0], pub));

  on_local2 = punch_observed_addrs_get (table, local2, 2, now + 5);
  g_assert_cmpuint (on_local2->len, ==, 0);
}

static void
test_observed_ttl (void)
{
  g_autoptr(PunchObservedAddrs) table = punch_observed_addrs_new ();
  g_autoptr(PunchMultiaddr) local = ma ("/ip4/10.0.0.2/tcp/4001");
  g_autoptr(PunchMultiaddr) pub = ma ("/ip4/203.0.113.9/tcp/4001");
  g_autoptr(GPtrArray) later = NULL;
  gint64 now = 5 * SEC;

  punch_observed_addrs_record (table, local, pub, "a", now);
  punch_observed_addrs_record (table, local, pub, "b", now + PUNCH_OBSERVED_ADDR_TTL_US / 2);
  g_assert_cmpuint (punch_observed_addrs_count (table, pub, now + PUNCH_OBSERVED_ADDR_TTL_US - 1), ==, 2);
  g_assert_cmpuint (punch_observed_addrs_count (table, pub, now + PUNCH_OBSERVED_ADDR_TTL_US), ==, 1);
  punch_observed_addrs_expire (table, now + PUNCH_OBSERVED_ADDR_TTL_US * 2);
  later = punch_observed_addrs_get (table, NULL, 1, now + PUNCH_OBSERVED_ADDR_TTL_US * 2);
  g_assert_cmpuint (later->len, ==, 0);
}

static void
test_observed_shape (void)
{
  g_autoptr(PunchObservedAddrs) table = punch_observed_addrs_new ();
  g_autoptr(PunchMultiaddr) tcp4 = ma ("/ip4/10.0.0.2/tcp/4001");
  g_autoptr(PunchMultiaddr) quic4 = ma ("/ip4/10.0.0.2/udp/4001/quic-v1");
  g_autoptr(PunchMultiaddr) obs_tcp6 = ma ("/ip6/2001:db8::1/tcp/4001");
  g_autoptr(PunchMultiaddr) obs_udp = ma ("/ip4/203.0.113.9/udp/4001");
  g_autoptr(PunchMultiaddr) obs_quic = ma ("/ip4/203.0.113.9/udp/4001/quic-v1");
  g_autoptr(PunchMultiaddr) obs_dns = ma ("/dns4/example.com/tcp/4001");
  g_autoptr(PunchMultiaddr) obs_circuit = ma ("/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq/p2p-circuit");
  gint64 now = 1;

  g_assert_false (punch_observed_addrs_record (table, tcp4, obs_tcp6, "a", now));
  g_assert_false (punch_observed_addrs_record (table, tcp4, obs_udp, "a", now));
  g_assert_false (punch_observed_addrs_record (table, tcp4, obs_dns, "a", now));
  g_assert_false (punch_observed_addrs_record (table, tcp4, obs_circuit, "a", now));
  g_assert_false (punch_observed_addrs_record (table, quic4, obs_udp, "a", now));
  g_assert_true (punch_observed_addrs_record (table, quic4, obs_quic, "a", now));
}

static void
test_observed_bounds (void)
{
  g_autoptr(PunchObservedAddrs) table = punch_observed_addrs_new ();
  g_autoptr(PunchMultiaddr) keep = ma ("/ip4/203.0.113.1/tcp/1");
  g_autoptr(GPtrArray) all = NULL;
  gint64 now = 10 * SEC;

  /* Many local addresses: the table keeps the freshest ones. */
  for (guint i = 0; i < PUNCH_OBSERVED_ADDR_MAX_LOCAL * 2; i++)
    {
      g_autofree gchar *text = g_strdup_printf ("/ip4/10.0.0.1/tcp/%u", 2000 + i);
      g_autoptr(PunchMultiaddr) local = ma (text);

      g_assert_true (punch_observed_addrs_record (table, local, keep, "x", now + i));
    }
  g_assert_cmpuint (punch_observed_addrs_count (table, keep, now + 100), ==, PUNCH_OBSERVED_ADDR_MAX_LOCAL);

  /* Many observed addresses on one local one: well-observed ones stay. */
  {
    g_autoptr(PunchMultiaddr) local = ma ("/ip4/10.0.0.1/tcp/9999");
    g_autoptr(PunchMultiaddr) popular = ma ("/ip4/203.0.113.2/tcp/9999");

    for (guint j = 0; j < 3; j++)
      {
        g_autofree gchar *who = g_strdup_printf ("popular-%u", j);

        punch_observed_addrs_record (table, local, popular, who, now + 200);
      }
    for (guint i = 0; i < PUNCH_OBSERVED_ADDR_MAX_PER_LOCAL * 2; i++)
      {
        g_autofree gchar *text = g_strdup_printf ("/ip4/203.0.113.3/tcp/%u", 3000 + i);
        g_autoptr(PunchMultiaddr) obs = ma (text);

        punch_observed_addrs_record (table, local, obs, "y", now + 300 + i);
      }
    g_assert_cmpuint (punch_observed_addrs_count (table, popular, now + 400), ==, 3);
    all = punch_observed_addrs_get (table, local, 1, now + 400);
    g_assert_cmpuint (all->len, ==, PUNCH_OBSERVED_ADDR_MAX_PER_LOCAL);
  }

  /* Many observers of one address: counted up to the bound. */
  {
    g_autoptr(PunchMultiaddr) local = ma ("/ip4/10.0.0.1/tcp/8888");
    g_autoptr(PunchMultiaddr) obs = ma ("/ip4/203.0.113.4/tcp/8888");

    for (guint i = 0; i < PUNCH_OBSERVED_ADDR_MAX_OBSERVERS * 2; i++)
      {
        g_autofree gchar *who = g_strdup_printf ("o%u", i);

        punch_observed_addrs_record (table, local, obs, who, now + 500 + i);
      }
    g_assert_cmpuint (punch_observed_addrs_count (table, obs, now + 600), ==,
                      PUNCH_OBSERVED_ADDR_MAX_OBSERVERS);
  }
}

static void
test_observer_key (void)
{
  g_autoptr(PunchMultiaddr) v4 = ma ("/ip4/198.51.100.7/tcp/4001");
  g_autoptr(PunchMultiaddr) v6a = ma ("/ip6/2001:db8:1:2a00::1/tcp/4001");
  g_autoptr(PunchMultiaddr) v6b = ma ("/ip6/2001:db8:1:2aff::99/tcp/5000");
  g_autoptr(PunchMultiaddr) v6c = ma ("/ip6/2001:db8:1:2b00::1/tcp/4001");
  g_autoptr(PunchPeerId) peer = random_peer_id ();
  g_autofree gchar *k4 = punch_observed_addrs_observer_key (v4, NULL);
  g_autofree gchar *k6a = punch_observed_addrs_observer_key (v6a, NULL);
  g_autofree gchar *k6b = punch_observed_addrs_observer_key (v6b, NULL);
  g_autofree gchar *k6c = punch_observed_addrs_observer_key (v6c, NULL);
  g_autofree gchar *kp = punch_observed_addrs_observer_key (NULL, peer);
  g_autofree gchar *peer_text = punch_peer_id_to_string (peer);

  g_assert_cmpstr (k4, ==, "ip4:198.51.100.7");
  /* The same /56. */
  g_assert_cmpstr (k6a, ==, k6b);
  g_assert_cmpstr (k6a, !=, k6c);
  g_assert_true (g_str_has_suffix (kp, peer_text));
}

/* On hosts: two PunchHosts on 127.0.0.1, the main loop run until an
 * event (bounded by a timeout that fails the test). */

typedef struct {
  PunchHost *a;              /* listens */
  PunchHost *b;              /* dials */
  PunchIdentify *ia, *ib;
  PunchConnection *conn_b;   /* B's connection to A */
  PunchIdentifyInfo *a_seen_by_b;
  PunchIdentifyInfo *b_seen_by_a;
  guint n_received_b;
  gboolean closed_b;
} Pair;

static gboolean
on_test_timeout (gpointer data)
{
  g_error ("timed out waiting for %s", (const char *) data);
  return G_SOURCE_REMOVE;
}

#define RUN_UNTIL(cond) G_STMT_START {                                       \
    guint timeout_id_ = g_timeout_add_seconds (10, on_test_timeout, (gpointer) #cond); \
    while (!(cond))                                                         \
      g_main_context_iteration (NULL, TRUE);                                \
    g_source_remove (timeout_id_);                                          \
  } G_STMT_END

static void
on_received_a (PunchIdentify *identify, PunchConnection *connection,
               PunchIdentifyInfo *info, gpointer data)
{
  Pair *pair = data;

  g_clear_pointer (&pair->b_seen_by_a, punch_identify_info_unref);
  pair->b_seen_by_a = punch_identify_info_ref (info);
}

static void
on_received_b (PunchIdentify *identify, PunchConnection *connection,
               PunchIdentifyInfo *info, gpointer data)
{
  Pair *pair = data;

  g_clear_pointer (&pair->a_seen_by_b, punch_identify_info_unref);
  pair->a_seen_by_b = punch_identify_info_ref (info);
  pair->n_received_b++;
}

static void
on_closed_b (PunchHost *host, PunchConnection *connection, GError *reason, gpointer data)
{
  ((Pair *) data)->closed_b = TRUE;
}

static void
on_dialed (GObject *source, GAsyncResult *result, gpointer data)
{
  Pair *pair = data;
  g_autoptr(GError) error = NULL;

  pair->conn_b = punch_host_dial_finish (PUNCH_HOST (source), result, &error);
  g_assert_no_error (error);
}

static PunchHost *
new_host (void)
{
  g_autoptr(PunchKeypair) kp = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, NULL);

  return punch_host_new (kp);
}

static void
pair_connect (Pair *pair)
{
  g_autoptr(PunchMultiaddr) any = ma ("/ip4/127.0.0.1/tcp/0");
  g_autoptr(GPtrArray) addrs = NULL;
  g_autoptr(GError) error = NULL;

  pair->a = new_host ();
  pair->b = new_host ();
  pair->ia = punch_identify_get_for_host (pair->a);
  pair->ib = punch_identify_get_for_host (pair->b);
  g_assert_true (punch_identify_get_for_host (pair->a) == pair->ia);
  g_assert_true (punch_identify_get_host (pair->ia) == pair->a);
  g_signal_connect (pair->ia, "identify-received", G_CALLBACK (on_received_a), pair);
  g_signal_connect (pair->ib, "identify-received", G_CALLBACK (on_received_b), pair);
  g_signal_connect (pair->b, "connection-closed", G_CALLBACK (on_closed_b), pair);

  g_assert_true (punch_host_listen (pair->a, any, &error));
  g_assert_no_error (error);
  addrs = punch_host_get_listen_addresses (pair->a);
  punch_host_dial_async (pair->b, addrs->pdata[0], NULL, on_dialed, pair);
  RUN_UNTIL (pair->conn_b != NULL);
}

static void
pair_free (Pair *pair)
{
  g_signal_handlers_disconnect_by_data (pair->ia, pair);
  g_signal_handlers_disconnect_by_data (pair->ib, pair);
  g_signal_handlers_disconnect_by_data (pair->b, pair);
  g_clear_object (&pair->conn_b);
  punch_host_close (pair->b);
  punch_host_close (pair->a);
  for (int i = 0; i < 50 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  g_clear_object (&pair->b);
  g_clear_object (&pair->a);
  g_clear_pointer (&pair->a_seen_by_b, punch_identify_info_unref);
  g_clear_pointer (&pair->b_seen_by_a, punch_identify_info_unref);
}

static void
on_identified (GObject *source, GAsyncResult *result, gpointer data)
{
  PunchIdentifyInfo **out = data;
  g_autoptr(GError) error = NULL;

  *out = punch_identify_identify_finish (PUNCH_IDENTIFY (source), result, &error);
  g_assert_no_error (error);
}

static void
test_host_both_ways (void)
{
  Pair pair = { 0 };
  g_autoptr(GPtrArray) a_addrs = NULL;
  g_autoptr(PunchIdentifyInfo) waited = NULL;
  g_autoptr(PunchIdentifyInfo) by_peer = NULL;
  g_autoptr(PunchIdentifyInfo) by_conn = NULL;
  g_autoptr(GPtrArray) observed = NULL;
  g_autoptr(GPtrArray) confirmed = NULL;
  g_autoptr(PunchMultiaddr) a_listen = NULL;
  PunchMultiaddr *b_local;

  pair_connect (&pair);
  RUN_UNTIL (pair.a_seen_by_b != NULL && pair.b_seen_by_a != NULL);

  /* What B learned of A. */
  a_addrs = punch_host_get_listen_addresses (pair.a);
  a_listen = punch_multiaddr_decapsulate_protocol (a_addrs->pdata[0], PUNCH_MULTIADDR_PROTOCOL_P2P);
  g_assert_true (punch_peer_id_equal (punch_identify_info_get_peer_id (pair.a_seen_by_b),
                                      punch_host_get_peer_id (pair.a)));
  g_assert_cmpstr (punch_identify_info_get_agent_version (pair.a_seen_by_b), ==, "punch/" PUNCH_VERSION_STRING);
  g_assert_cmpstr (punch_identify_info_get_protocol_version (pair.a_seen_by_b), ==, "ipfs/0.1.0");
  g_assert_true (punch_identify_info_has_protocol (pair.a_seen_by_b, PUNCH_IDENTIFY_PROTOCOL_ID));
  g_assert_true (punch_identify_info_has_protocol (pair.a_seen_by_b, PUNCH_IDENTIFY_PUSH_PROTOCOL_ID));
  g_assert_cmpuint (punch_identify_info_get_listen_addresses (pair.a_seen_by_b)->len, ==, 1);
  g_assert_true (punch_multiaddr_equal (punch_identify_info_get_listen_addresses (pair.a_seen_by_b)->pdata[0],
                                        a_listen));
  /* A saw B at B's local address of the connection. */
  b_local = punch_connection_get_local_address (pair.conn_b);
  g_assert_true (punch_multiaddr_equal (punch_identify_info_get_observed_address (pair.a_seen_by_b),
                                        b_local));

  /* What A learned of B: no listen address; B saw A at its listen address. */
  g_assert_cmpuint (punch_identify_info_get_listen_addresses (pair.b_seen_by_a)->len, ==, 0);
  g_assert_true (punch_multiaddr_equal (punch_identify_info_get_observed_address (pair.b_seen_by_a),
                                        a_listen));

  /* The async getter returns the known record at once. */
  punch_identify_identify_async (pair.ib, pair.conn_b, NULL, on_identified, &waited);
  RUN_UNTIL (waited != NULL);
  g_assert_true (waited == pair.a_seen_by_b);

  by_peer = punch_identify_get_peer_info (pair.ib, punch_host_get_peer_id (pair.a));
  by_conn = punch_identify_get_connection_info (pair.ib, pair.conn_b);
  g_assert_nonnull (by_peer);
  g_assert_true (by_conn == pair.a_seen_by_b);
  g_assert_cmpstr (punch_identify_info_get_agent_version (by_peer), ==, "punch/" PUNCH_VERSION_STRING);

  /* B's observed address table has its own address, seen by one
   * observer (127.0.0.1). */
  observed = punch_identify_get_observed_addresses (pair.ib, 1);
  g_assert_cmpuint (observed->len, ==, 1);
  g_assert_true (punch_multiaddr_equal (observed->pdata[0], b_local));
  confirmed = punch_identify_get_observed_addresses (pair.ib, 2);
  g_assert_cmpuint (confirmed->len, ==, 0);

  /* Closing forgets the peer. */
  punch_connection_close (pair.conn_b);
  RUN_UNTIL (pair.closed_b);
  g_clear_pointer (&by_peer, punch_identify_info_unref);
  by_peer = punch_identify_get_peer_info (pair.ib, punch_host_get_peer_id (pair.a));
  g_assert_null (by_peer);

  pair_free (&pair);
}

static void
dummy_handler (PunchHost *host, PunchStream *stream, gpointer data)
{
  punch_stream_reset (stream);
}

static void
test_host_push (void)
{
  Pair pair = { 0 };

  pair_connect (&pair);
  RUN_UNTIL (pair.a_seen_by_b != NULL && pair.b_seen_by_a != NULL);
  g_assert_cmpuint (pair.n_received_b, ==, 1);
  g_assert_false (punch_identify_info_has_protocol (pair.a_seen_by_b, "/punch/test/1.0.0"));

  punch_host_set_stream_handler (pair.a, "/punch/test/1.0.0", dummy_handler, NULL, NULL);
  punch_identify_push (pair.ia);
  RUN_UNTIL (pair.n_received_b == 2);
  g_assert_true (punch_identify_info_has_protocol (pair.a_seen_by_b, "/punch/test/1.0.0"));
  g_assert_true (punch_identify_info_has_protocol (pair.a_seen_by_b, PUNCH_IDENTIFY_PROTOCOL_ID));
  /* The push carries no observed address: the one from identify stays. */
  g_assert_nonnull (punch_identify_info_get_observed_address (pair.a_seen_by_b));

  pair_free (&pair);
}

/* A's identify answers with someone else's key: B refuses and closes. */
static void
liar_written (GObject *source, GAsyncResult *result, gpointer data)
{
  PunchStream *stream = data;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (stream), NULL, NULL);
  g_object_unref (stream);
}

static void
liar_handler (PunchHost *host, PunchStream *stream, gpointer data)
{
  GBytes *framed = data;

  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (stream)),
                                   g_bytes_get_data (framed, NULL), g_bytes_get_size (framed),
                                   G_PRIORITY_DEFAULT, NULL, liar_written, g_object_ref (stream));
}

static void
on_identify_failed (GObject *source, GAsyncResult *result, gpointer data)
{
  GError **out = data;
  g_autoptr(PunchIdentifyInfo) info = punch_identify_identify_finish (PUNCH_IDENTIFY (source), result, out);

  g_assert_null (info);
}

static void
test_host_peer_id_mismatch (void)
{
  Pair pair = { 0 };
  g_autoptr(GBytes) js = hex_bytes (JS_IDENTIFY_FULL);
  g_autoptr(GBytes) framed = frame (js);
  g_autoptr(PunchMultiaddr) any = ma ("/ip4/127.0.0.1/tcp/0");
  g_autoptr(GPtrArray) addrs = NULL;
  g_autoptr(GError) error = NULL;

  pair.a = new_host ();
  pair.b = new_host ();
  pair.ia = punch_identify_get_for_host (pair.a);
  pair.ib = punch_identify_get_for_host (pair.b);
  g_signal_connect (pair.ib, "identify-received", G_CALLBACK (on_received_b), &pair);
  g_signal_connect (pair.b, "connection-closed", G_CALLBACK (on_closed_b), &pair);
  /* Replaces identify's own responder on A. */
  punch_host_set_stream_handler (pair.a, PUNCH_IDENTIFY_PROTOCOL_ID, liar_handler,
                                 g_bytes_ref (framed), (GDestroyNotify) g_bytes_unref);
  g_assert_true (punch_host_listen (pair.a, any, NULL));
  addrs = punch_host_get_listen_addresses (pair.a);
  punch_host_dial_async (pair.b, addrs->pdata[0], NULL, on_dialed, &pair);
  RUN_UNTIL (pair.conn_b != NULL);

  punch_identify_identify_async (pair.ib, pair.conn_b, NULL, on_identify_failed, &error);
  RUN_UNTIL (error != NULL);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH);
  RUN_UNTIL (pair.closed_b);
  g_assert_cmpuint (pair.n_received_b, ==, 0);
  g_assert_null (punch_identify_get_peer_info (pair.ib, punch_host_get_peer_id (pair.a)));

  pair_free (&pair);
}

/* A host may go away with its identify service in use. */
static void
test_host_dispose (void)
{
  g_autoptr(PunchHost) host = new_host ();
  PunchIdentify *identify = punch_identify_get_for_host (host);
  g_autoptr(GPtrArray) observed = NULL;

  g_object_add_weak_pointer (G_OBJECT (identify), (gpointer *) &identify);
  observed = punch_identify_get_observed_addresses (identify, 0);
  g_assert_cmpuint (observed->len, ==, 0);
  g_clear_object (&host);
  g_assert_null (identify);
}

int
main (int argc, char **argv)
{
  /* GSocketClient's proxy lookup needs GSettings schemas, which the
   * isolated directories lack. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/identify/decode/js-vector", test_decode_js_vector);
  g_test_add_func ("/identify/decode/unknown-field", test_decode_unknown_field);
  g_test_add_func ("/identify/decode/peer-id-mismatch", test_decode_peer_id_mismatch);
  g_test_add_func ("/identify/decode/empty", test_decode_empty);
  g_test_add_func ("/identify/decode/malformed", test_decode_malformed);
  g_test_add_func ("/identify/decode/too-large", test_decode_too_large);
  g_test_add_func ("/identify/decode/drops-bad-entries", test_decode_drops_bad_entries);
  g_test_add_func ("/identify/decode/observed-with-peer-id", test_decode_observed_with_peer_id);
  g_test_add_func ("/identify/encode/canonical", test_encode_canonical);
  g_test_add_func ("/identify/encode/roundtrip", test_encode_roundtrip);
  g_test_add_func ("/identify/encode/split", test_encode_split);
  g_test_add_func ("/identify/encode/too-large", test_encode_too_large);
  g_test_add_func ("/identify/reader/merges", test_reader_merges);
  g_test_add_func ("/identify/reader/errors", test_reader_errors);
  g_test_add_func ("/identify/push/apply-update", test_apply_update);
  g_test_add_func ("/identify/info/bounds", test_info_bounds);
  g_test_add_func ("/identify/info/boxed", test_boxed);
  g_test_add_func ("/identify/observed/counts", test_observed_counts);
  g_test_add_func ("/identify/observed/ttl", test_observed_ttl);
  g_test_add_func ("/identify/observed/shape", test_observed_shape);
  g_test_add_func ("/identify/observed/bounds", test_observed_bounds);
  g_test_add_func ("/identify/observed/observer-key", test_observer_key);
  g_test_add_func ("/identify/host/both-ways", test_host_both_ways);
  g_test_add_func ("/identify/host/push", test_host_push);
  g_test_add_func ("/identify/host/peer-id-mismatch", test_host_peer_id_mismatch);
  g_test_add_func ("/identify/host/dispose", test_host_dispose);

  return g_test_run ();
}
