/* test-multiaddr.c: multiaddr text and binary codecs, composition, scopes.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <net/if.h>
#include <string.h>

#include <punch.h>

#include "punch-multiaddr-private.h"
#include "punch-multibase.h"

#define PEER_QM "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"
#define PEER_CID "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe"
#define PEER_ED "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
#define RELAY "QmdPU7PfRyKehdrP5A3WqmjyD6bhVpU1mLGKppa2FjGDjZ"
#define DEST "QmVT6GYwjeeAF5TR485Yc58S3xRF5EFsZ5YAF4VcP3URHt"

static PunchMultiaddr *
parse (const gchar *text)
{
  g_autoptr(GError) error = NULL;
  PunchMultiaddr *ma = punch_multiaddr_new_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (ma);
  return ma;
}

static gchar *
to_hex (PunchMultiaddr *ma)
{
  const guint8 *data;
  gsize len;

  data = punch_multiaddr_get_data (ma, &len);
  return punch_base16_encode (data, len);
}

/* Text round trips: each parses, prints back identically, and its
 * binary form parses to an equal multiaddr. Examples from the multiaddr
 * README and DNSADDR.md, libp2p/specs addressing/README.md, and one per
 * protocol. */
static const gchar *canonical[] = {
  "/ip4/127.0.0.1/udp/1234",
  "/ip4/192.0.2.42/tcp/443",
  "/dns4/example.com/tcp/1234/tls/ws/tls",
  "/ip4/1.2.3.4/tcp/443/tls/sni/example.com/http",
  "/dns4/example.com/tcp/443/tls/sni/example.com/http",
  "/ip6/fe80::883:a581:fff1:833",
  "/ip4/192.0.2.0/tcp/5002/p2p/" RELAY "/p2p-circuit/p2p/" DEST,
  "/p2p/" PEER_QM,
  "/p2p/" PEER_ED,
  "/dnsaddr/bootstrap.libp2p.io",
  "/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
  "/dnsaddr/sjc-1.bootstrap.libp2p.io/tcp/4001/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
  "/ip6/2604:1380:1000:6000::1/tcp/4001/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
  "/ip4/147.75.69.143/tcp/4001/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
  "/dns6/am6.bootstrap.libp2p.io/tcp/443/wss/p2p/QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb",
  "/ip6/2604:1380:4602:5c00::3/udp/4001/quic-v1/p2p/QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb",
  "/ip4/147.75.87.27/udp/4001/quic/p2p/QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb",
  "/ip4/198.51.100.7/tcp/80/ws",
  "/ip4/198.51.100.7/tcp/443/wss",
  "/ip4/198.51.100.7/tcp/443/https",
  "/ip4/198.51.100.7/tcp/443/tls/ws",
  "/ip4/198.51.100.7/tcp/4001/noise",
  "/ip4/198.51.100.7/udp/4001/quic-v1/webtransport",
  "/ip4/198.51.100.7/udp/4001/webrtc-direct/certhash/uEiAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw",
  "/ip4/198.51.100.7/udp/4001/quic-v1/webtransport/certhash/uEiAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw/certhash/uEiAfHh0cGxoZGBcWFRQTEhEQDw4NDAsKCQgHBgUEAwIBAA",
  "/ip4/198.51.100.7/tcp/4001/p2p/" PEER_QM "/p2p-circuit/webrtc/p2p/" PEER_ED,
  "/ip6zone/eth0/ip6/fe80::1/udp/9",
  "/ip6zone/3/ip6/fe80::1/tcp/1",
  "/ip4/10.0.0.0/ipcidr/8",
  "/ip6/::/ipcidr/0",
  "/ip4/0.0.0.0/tcp/0",
  "/ip4/255.255.255.255/udp/65535",
  "/ip6/::ffff:1.2.3.4/tcp/80",
  "/ip4/1.2.3.4/dccp/33",
  "/ip4/1.2.3.4/sctp/132",
  "/ip4/1.2.3.4/udp/1/utp",
  "/ip4/1.2.3.4/udp/1/udt",
  "/dns/example.com/tcp/80/http",
  "/dns/ex%ample.com",
  "/dns/\xc3\xa9xample.com",
  "/unix/tmp/p2pd.sock",
  "/unix/tmp/with/p2p/" PEER_QM,
  "/unix/a/",
  "/unix//",
  "/unix/",                       /* the path "/" */
  "/onion/aaimaq4ygg2iegci:80",
  "/onion/timaq4ygg2iegci7:65535",
  "/onion3/vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd:1234",
  "/p2p-webrtc-star",
  "/p2p-webrtc-direct",
  "/p2p-stardust",
  "/p2p-websocket-star",
  "/p2p-circuit",
};

static void
test_text_roundtrip (void)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (canonical); i++)
    {
      g_autoptr(PunchMultiaddr) ma = NULL;
      g_autoptr(PunchMultiaddr) again = NULL;
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree gchar *text = NULL;
      g_autofree gchar *escaped = NULL;

      escaped = g_strescape (canonical[i], NULL);
      g_test_message ("%s", escaped);
      ma = parse (canonical[i]);
      text = punch_multiaddr_to_string (ma);
      g_assert_cmpstr (text, ==, canonical[i]);

      bytes = punch_multiaddr_get_bytes (ma);
      again = punch_multiaddr_new_from_bytes (bytes, &error);
      g_assert_no_error (error);
      g_assert_true (punch_multiaddr_equal (ma, again));
      g_assert_cmpuint (punch_multiaddr_hash (ma), ==, punch_multiaddr_hash (again));
      g_clear_pointer (&text, g_free);
      text = punch_multiaddr_to_string (again);
      g_assert_cmpstr (text, ==, canonical[i]);
    }
}

typedef struct {
  const gchar *input;
  const gchar *canonical;
} Normalization;

/* Accepted spellings and how they print. */
static const Normalization normalizations[] = {
  { "/ip4/1.2.3.4/", "/ip4/1.2.3.4" },
  { "/p2p-circuit/", "/p2p-circuit" },
  { "/ip6/0:0:0:0:0:0:0:1/tcp/1", "/ip6/::1/tcp/1" },
  { "/ip6/2001:DB8:0::1", "/ip6/2001:db8::1" },
  { "/ip6/::FFFF:102:304", "/ip6/::ffff:1.2.3.4" },
  { "/ipfs/" PEER_QM, "/p2p/" PEER_QM },
  { "/p2p/" PEER_CID, "/p2p/" PEER_QM },
  { "/onion/AAIMAQ4YGG2IEGCI:80", "/onion/aaimaq4ygg2iegci:80" },
  /* certhash in base16 and base32: the multihash 0x12 0x20 and bytes 0..31 */
  { "/certhash/f1220000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    "/certhash/uEiAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw" },
  { "/certhash/F1220000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
    "/certhash/uEiAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw" },
  { "/certhash/bciqaaaicamcakbqhbaequcymbuha6earcijrifiwc4mbsgq3dqor4hy",
    "/certhash/uEiAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw" },
};

static void
test_text_normalization (void)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (normalizations); i++)
    {
      g_autoptr(PunchMultiaddr) ma = NULL;
      g_autoptr(PunchMultiaddr) canon = NULL;
      g_autofree gchar *text = NULL;

      g_test_message ("%s", normalizations[i].input);
      ma = parse (normalizations[i].input);
      canon = parse (normalizations[i].canonical);
      text = punch_multiaddr_to_string (ma);
      g_assert_cmpstr (text, ==, normalizations[i].canonical);
      g_assert_true (punch_multiaddr_equal (ma, canon));
    }
}

typedef struct {
  const gchar *text;
  const gchar *hex;
} HexVector;

/*
 * Binary forms derived by hand from protocols.csv and the varint rules
 * (code as unsigned varint, then the value; V-sized values after their
 * length as a varint):
 *  - ip4 = 4 -> 04; tcp = 6 -> 06; ip6 = 41 -> 29; ip6zone = 42 -> 2a;
 *    ipcidr = 43 -> 2b; dns4 = 54 -> 36
 *  - udp = 273 = 0b10_0010001: low 7 bits 0x11 | 0x80 = 0x91, then 273 >> 7
 *    = 2 -> 91 02. p2p-circuit = 290: 0x22 | 0x80, 2 -> a2 02. unix = 400:
 *    0x10 | 0x80, 3 -> 90 03. p2p = 421: 0x25 | 0x80, 3 -> a5 03.
 *    onion = 444: 0x3c | 0x80, 3 -> bc 03. certhash = 466: 0x52 | 0x80, 3
 *    -> d2 03. quic-v1 = 461: 0x4d | 0x80, 3 -> cd 03. wss = 478: 0x5e |
 *    0x80, 3 -> de 03. http = 480: 0x60 | 0x80, 3 -> e0 03.
 *  - ports are 16-bit big-endian: 1234 -> 04 d2, 443 -> 01 bb,
 *    4001 -> 0f a1, 80 -> 00 50
 * The first two are also the multiaddr README and test/multiaddr.feature
 * examples.
 */
static const HexVector hex_vectors[] = {
  { "/ip4/127.0.0.1/udp/1234", "047f000001910204d2" },
  { "/ip4/192.0.2.42/tcp/443", "04c000022a0601bb" },
  { "/ip6/::1/tcp/4001", "29" "00000000000000000000000000000001" "060fa1" },
  { "/ip4/198.51.100.7/udp/4001/quic-v1", "04c6336407" "91020fa1" "cd03" },
  { "/dns4/example.com/tcp/443/wss", "36" "0b" "6578616d706c652e636f6d" "0601bb" "de03" },
  { "/p2p-circuit", "a202" },
  { "/ip6zone/eth0/ip6/fe80::1/udp/9",
    "2a" "04" "65746830" "29" "fe800000000000000000000000000001" "91020009" },
  { "/unix/tmp/p2pd.sock", "9003" "0e" "2f746d702f703270642e736f636b" },
  { "/ip4/10.0.0.0/ipcidr/8", "040a000000" "2b08" },
  { "/ip4/1.2.3.4/tcp/80/http", "0401020304" "060050" "e003" },
  /* 34-byte sha2-256 multihash: length 0x22, then 12 20 + digest */
  { "/p2p/" PEER_QM,
    "a503" "22" "12209dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9" },
  /* 16 base32 characters = 80 bits = 10 bytes, then the port */
  { "/onion/aaaaaaaaaaaaaaaa:80", "bc03" "00000000000000000000" "0050" },
  { "/certhash/uEiAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw",
    "d203" "22" "1220" "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" },
};

static void
test_binary_vectors (void)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (hex_vectors); i++)
    {
      g_autoptr(PunchMultiaddr) ma = parse (hex_vectors[i].text);
      g_autoptr(PunchMultiaddr) from_bytes = NULL;
      g_autoptr(GBytes) raw = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree gchar *hex = to_hex (ma);
      g_autofree gchar *text = NULL;

      g_assert_cmpstr (hex, ==, hex_vectors[i].hex);

      raw = punch_base16_decode (hex_vectors[i].hex, NULL);
      from_bytes = punch_multiaddr_new_from_bytes (raw, &error);
      g_assert_no_error (error);
      text = punch_multiaddr_to_string (from_bytes);
      g_assert_cmpstr (text, ==, hex_vectors[i].text);
    }
}

typedef struct {
  const gchar *text;
  gint code;
} BadText;

static const BadText bad_texts[] = {
  { "", PUNCH_ERROR_MALFORMED },
  { "ip4/1.2.3.4", PUNCH_ERROR_MALFORMED },
  { " /ip4/1.2.3.4", PUNCH_ERROR_MALFORMED },
  { "/", PUNCH_ERROR_MALFORMED },
  { "//", PUNCH_ERROR_MALFORMED },
  { "//ip4/1.2.3.4", PUNCH_ERROR_MALFORMED },
  { "/ip4/1.2.3.4//tcp/80", PUNCH_ERROR_MALFORMED },
  { "/ip4/1.2.3.4/tcp/80//", PUNCH_ERROR_MALFORMED },
  { "/ip4", PUNCH_ERROR_MALFORMED },
  { "/ip4/", PUNCH_ERROR_MALFORMED },
  { "/ip4//tcp/80", PUNCH_ERROR_MALFORMED },
  /* addressing/README.md's shorthand "/ip4/198.51.100" is not an address */
  { "/ip4/198.51.100/tcp/1234", PUNCH_ERROR_MALFORMED },
  { "/ip4/256.0.0.1", PUNCH_ERROR_MALFORMED },
  { "/ip4/01.2.3.4", PUNCH_ERROR_MALFORMED },
  { "/ip4/1.2.3.4.5", PUNCH_ERROR_MALFORMED },
  { "/ip4/1.2.3.4 ", PUNCH_ERROR_MALFORMED },
  { "/ip4/::1", PUNCH_ERROR_MALFORMED },
  { "/ip4/localhost", PUNCH_ERROR_MALFORMED },
  { "/ip6/1.2.3.4", PUNCH_ERROR_MALFORMED },
  { "/ip6/fe80::1%eth0", PUNCH_ERROR_MALFORMED },
  { "/ip6/1::2::3", PUNCH_ERROR_MALFORMED },
  { "/ip6/1:2:3:4:5:6:7:8:9", PUNCH_ERROR_MALFORMED },
  { "/ip6/[::1]", PUNCH_ERROR_MALFORMED },
  { "/tcp", PUNCH_ERROR_MALFORMED },
  { "/udp/", PUNCH_ERROR_MALFORMED },
  { "/tcp/65536", PUNCH_ERROR_MALFORMED },
  { "/tcp/99999999999999999999", PUNCH_ERROR_MALFORMED },
  { "/tcp/-1", PUNCH_ERROR_MALFORMED },
  { "/tcp/+80", PUNCH_ERROR_MALFORMED },
  { "/tcp/080", PUNCH_ERROR_MALFORMED },
  { "/tcp/80x", PUNCH_ERROR_MALFORMED },
  { "/tcp/0x50", PUNCH_ERROR_MALFORMED },
  { "/tcp/ 80", PUNCH_ERROR_MALFORMED },
  { "/ipcidr/256", PUNCH_ERROR_MALFORMED },
  { "/ip4/1.2.3.4/tcp/80/foo", PUNCH_ERROR_UNSUPPORTED },
  { "/ip4/1.2.3.4/tcp/80/foo/bar", PUNCH_ERROR_UNSUPPORTED },
  { "/IP4/1.2.3.4", PUNCH_ERROR_UNSUPPORTED },
  { "/garlic64/xyz", PUNCH_ERROR_UNSUPPORTED },
  { "/memory/1", PUNCH_ERROR_UNSUPPORTED },
  { "/http-path/foo", PUNCH_ERROR_UNSUPPORTED },
  { "/\xff\xfe", PUNCH_ERROR_UNSUPPORTED },
  /* http takes no value: its "value" reads as the next protocol */
  { "/http/example.com/index.html", PUNCH_ERROR_UNSUPPORTED },
  { "/p2p", PUNCH_ERROR_MALFORMED },
  { "/p2p/", PUNCH_ERROR_MALFORMED },
  { "/p2p/QmFoo", PUNCH_ERROR_MALFORMED },
  { "/p2p/0OIl", PUNCH_ERROR_MALFORMED },
  { "/ip4/1.2.3.4/tcp/1234/tls/p2p/QmFoo", PUNCH_ERROR_MALFORMED },
  { "/dns4", PUNCH_ERROR_MALFORMED },
  { "/dns4/", PUNCH_ERROR_MALFORMED },
  { "/dns4/a\xff", PUNCH_ERROR_MALFORMED },
  { "/sni/\xc3", PUNCH_ERROR_MALFORMED },
  { "/unix", PUNCH_ERROR_MALFORMED },
  { "/unix/\xff", PUNCH_ERROR_MALFORMED },
  { "/onion/aaimaq4ygg2iegci", PUNCH_ERROR_MALFORMED },
  { "/onion/aaimaq4ygg2iegci:", PUNCH_ERROR_MALFORMED },
  { "/onion/aaimaq4ygg2iegci:0", PUNCH_ERROR_MALFORMED },
  { "/onion/aaimaq4ygg2iegci:65536", PUNCH_ERROR_MALFORMED },
  { "/onion/aaimaq4ygg2iegc:80", PUNCH_ERROR_MALFORMED },
  { "/onion/aaimaq4ygg2iegcii:80", PUNCH_ERROR_MALFORMED },
  { "/onion/aaimaq4ygg2iegc1:80", PUNCH_ERROR_MALFORMED },
  { "/onion3/aaimaq4ygg2iegci:80", PUNCH_ERROR_MALFORMED },
  { "/certhash", PUNCH_ERROR_MALFORMED },
  { "/certhash/u", PUNCH_ERROR_MALFORMED },
  { "/certhash/uAA", PUNCH_ERROR_MALFORMED },
  { "/certhash/uEiA", PUNCH_ERROR_MALFORMED },
  { "/certhash/u+/", PUNCH_ERROR_MALFORMED },
  { "/certhash/xabc", PUNCH_ERROR_UNSUPPORTED },
  /* found by fuzz-multiaddr-text: the error message must stay UTF-8 */
  { "/certhash/\xff\xfe", PUNCH_ERROR_UNSUPPORTED },
};

static void
test_text_malformed (void)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (bad_texts); i++)
    {
      g_autoptr(PunchMultiaddr) ma = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree gchar *escaped = NULL;

      escaped = g_strescape (bad_texts[i].text, NULL);
      g_test_message ("%s", escaped);
      ma = punch_multiaddr_new_from_string (bad_texts[i].text, &error);
      g_assert_null (ma);
      g_assert_error (error, PUNCH_ERROR, bad_texts[i].code);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
    }
}

static void
assert_text_error (const gchar *text,
                   gint         code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) ma = punch_multiaddr_new_from_string (text, &error);

  g_assert_null (ma);
  g_assert_error (error, PUNCH_ERROR, code);
}

static void
test_text_limits (void)
{
  g_autoptr(GString) many = g_string_new (NULL);
  g_autofree gchar *long_name = g_strnfill (1100, 'a');
  g_autofree gchar *long_dns = g_strconcat ("/dns/", long_name, NULL);
  g_autofree gchar *huge = NULL;
  g_autoptr(PunchMultiaddr) max = NULL;
  g_autofree gchar *name_1000 = g_strnfill (1000, 'b');
  g_autofree gchar *dns_1000 = g_strconcat ("/dns/", name_1000, NULL);
  guint i;

  /* 64 components pass, 65 do not. */
  for (i = 0; i < 64; i++)
    g_string_append (many, "/tls");
  max = parse (many->str);
  g_assert_cmpuint (punch_multiaddr_get_n_components (max), ==, 64);
  g_string_append (many, "/tls");
  assert_text_error (many->str, PUNCH_ERROR_TOO_LARGE);

  /* 1 + 2 + 1000 bytes fit in 1024, 1 + 2 + 1100 do not. */
  g_clear_pointer (&max, punch_multiaddr_unref);
  max = parse (dns_1000);
  assert_text_error (long_dns, PUNCH_ERROR_TOO_LARGE);

  /* Text longer than 4096 bytes is refused before parsing. */
  huge = g_strnfill (1 << 20, '/');
  assert_text_error (huge, PUNCH_ERROR_TOO_LARGE);
}

typedef struct {
  const gchar *hex;
  gint code;
} BadBinary;

static const BadBinary bad_binaries[] = {
  { "", PUNCH_ERROR_MALFORMED },
  { "04", PUNCH_ERROR_TRUNCATED },                /* ip4 without address */
  { "047f0000", PUNCH_ERROR_TRUNCATED },
  { "047f00000106", PUNCH_ERROR_TRUNCATED },      /* tcp without port */
  { "047f0000010600", PUNCH_ERROR_TRUNCATED },
  { "91", PUNCH_ERROR_TRUNCATED },                /* code varint cut */
  { "8000", PUNCH_ERROR_MALFORMED },              /* non-minimal code 0 */
  { "8400", PUNCH_ERROR_MALFORMED },              /* non-minimal ip4 */
  { "ffffffffffffffffff01", PUNCH_ERROR_MALFORMED },
  { "00", PUNCH_ERROR_UNSUPPORTED },              /* code 0 */
  { "7f", PUNCH_ERROR_UNSUPPORTED },
  { "8906", PUNCH_ERROR_UNSUPPORTED },            /* 777 memory */
  { "be03", PUNCH_ERROR_UNSUPPORTED },            /* 446 garlic64 */
  { "047f000001" "7f", PUNCH_ERROR_UNSUPPORTED }, /* trailing unknown code */
  { "36", PUNCH_ERROR_TRUNCATED },                /* dns4 without length */
  { "3605616263", PUNCH_ERROR_TRUNCATED },        /* length 5, 3 bytes */
  { "36ffffffff0f", PUNCH_ERROR_TRUNCATED },      /* huge length */
  { "3680", PUNCH_ERROR_TRUNCATED },
  { "368000", PUNCH_ERROR_MALFORMED },            /* non-minimal length */
  { "3600", PUNCH_ERROR_MALFORMED },              /* empty name */
  { "3603612f62", PUNCH_ERROR_MALFORMED },        /* "a/b" */
  { "36026100", PUNCH_ERROR_MALFORMED },          /* NUL */
  { "3602c328", PUNCH_ERROR_MALFORMED },          /* bad UTF-8 */
  { "900300", PUNCH_ERROR_MALFORMED },            /* empty unix path */
  { "a50300", PUNCH_ERROR_MALFORMED },            /* empty peer id */
  { "a503021200", PUNCH_ERROR_MALFORMED },        /* sha2-256, 0 bytes */
  { "a50303120100", PUNCH_ERROR_MALFORMED },      /* sha2-256, 1 byte */
  { "a503031101aa", PUNCH_ERROR_MALFORMED },      /* sha1 multihash */
  { "bc03000000000000000000000000", PUNCH_ERROR_MALFORMED }, /* onion port 0 */
  { "d20300", PUNCH_ERROR_MALFORMED },            /* empty certhash */
  { "d20303120500", PUNCH_ERROR_MALFORMED },      /* digest length mismatch */
  { "d2030180", PUNCH_ERROR_MALFORMED },          /* cut varint inside */
};

static void
test_binary_malformed (void)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (bad_binaries); i++)
    {
      g_autoptr(GBytes) raw = punch_base16_decode (bad_binaries[i].hex, NULL);
      g_autoptr(PunchMultiaddr) ma = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", bad_binaries[i].hex);
      g_assert_nonnull (raw);
      ma = punch_multiaddr_new_from_bytes (raw, &error);
      g_assert_null (ma);
      g_assert_error (error, PUNCH_ERROR, bad_binaries[i].code);
    }
}

static void
test_binary_limits (void)
{
  g_autoptr(GByteArray) many = g_byte_array_new ();
  g_autoptr(PunchMultiaddr) ma = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *big = g_malloc0 (PUNCH_MULTIADDR_MAX_LEN + 1);
  guint i;

  /* 64 × tls (448: c0 03) parse, 65 do not. */
  for (i = 0; i < 64; i++)
    g_byte_array_append (many, (const guint8 *) "\xc0\x03", 2);
  ma = punch_multiaddr_new_from_data (many->data, many->len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (punch_multiaddr_get_n_components (ma), ==, 64);
  g_byte_array_append (many, (const guint8 *) "\xc0\x03", 2);
  g_clear_pointer (&ma, punch_multiaddr_unref);
  ma = punch_multiaddr_new_from_data (many->data, many->len, &error);
  g_assert_null (ma);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
  g_clear_error (&error);

  /* 1025 bytes are refused whatever they hold. */
  ma = punch_multiaddr_new_from_data (big, PUNCH_MULTIADDR_MAX_LEN + 1, &error);
  g_assert_null (ma);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
}

static void
test_boxed (void)
{
  g_autoptr(PunchMultiaddr) ma = parse ("/ip4/1.2.3.4/tcp/1");
  PunchMultiaddr *copy;
  GValue value = G_VALUE_INIT;

  g_assert_true (G_TYPE_IS_BOXED (PUNCH_TYPE_MULTIADDR));
  copy = g_boxed_copy (PUNCH_TYPE_MULTIADDR, ma);
  g_assert_true (copy == ma);
  g_boxed_free (PUNCH_TYPE_MULTIADDR, copy);

  g_value_init (&value, PUNCH_TYPE_MULTIADDR);
  g_value_set_boxed (&value, ma);
  g_assert_true (g_value_get_boxed (&value) == ma);
  g_value_unset (&value);

  /* Still alive: the copies were references. */
  g_assert_cmpuint (punch_multiaddr_get_n_components (ma), ==, 2);
}

static void
test_equal_hash (void)
{
  g_autoptr(GHashTable) set = g_hash_table_new_full (punch_multiaddr_hash,
                                                     punch_multiaddr_equal,
                                                     (GDestroyNotify) punch_multiaddr_unref,
                                                     NULL);
  g_autoptr(PunchMultiaddr) a = parse ("/ip6/::1/tcp/1/p2p/" PEER_QM);
  g_autoptr(PunchMultiaddr) b = parse ("/ip6/0::0:1/tcp/1/ipfs/" PEER_CID);
  g_autoptr(PunchMultiaddr) c = parse ("/ip6/::1/tcp/2/p2p/" PEER_QM);

  g_assert_true (punch_multiaddr_equal (a, b));
  g_assert_false (punch_multiaddr_equal (a, c));
  g_assert_cmpuint (punch_multiaddr_hash (a), ==, punch_multiaddr_hash (b));

  g_hash_table_add (set, punch_multiaddr_ref (a));
  g_assert_true (g_hash_table_contains (set, b));
  g_assert_false (g_hash_table_contains (set, c));
}

static void
test_components (void)
{
  g_autoptr(PunchMultiaddr) ma =
    parse ("/ip4/198.51.100.7/udp/4001/quic-v1/p2p/" PEER_QM "/p2p-circuit/p2p/" PEER_ED);
  g_autoptr(GBytes) port = NULL;
  g_autoptr(GBytes) none = NULL;
  g_autoptr(GEnumClass) klass = NULL;
  g_autofree gchar *ip = NULL;
  g_autofree gchar *udp = NULL;
  g_autofree gchar *peer = NULL;
  const guint8 *raw;
  gsize len;
  guint i;

  g_assert_cmpuint (punch_multiaddr_get_n_components (ma), ==, 6);
  g_assert_cmpint (punch_multiaddr_get_protocol (ma, 0), ==, PUNCH_MULTIADDR_PROTOCOL_IP4);
  g_assert_cmpint (punch_multiaddr_get_protocol (ma, 1), ==, PUNCH_MULTIADDR_PROTOCOL_UDP);
  g_assert_cmpint (punch_multiaddr_get_protocol (ma, 2), ==, PUNCH_MULTIADDR_PROTOCOL_QUIC_V1);
  g_assert_cmpint (punch_multiaddr_get_protocol (ma, 3), ==, PUNCH_MULTIADDR_PROTOCOL_P2P);
  g_assert_cmpint (punch_multiaddr_get_protocol (ma, 4), ==, PUNCH_MULTIADDR_PROTOCOL_P2P_CIRCUIT);
  g_assert_cmpint (punch_multiaddr_get_protocol (ma, 5), ==, PUNCH_MULTIADDR_PROTOCOL_P2P);
  g_assert_cmpstr (punch_multiaddr_get_protocol_name (ma, 2), ==, "quic-v1");
  g_assert_cmpstr (punch_multiaddr_get_protocol_name (ma, 4), ==, "p2p-circuit");

  /* The enum nicks are the protocol names. */
  klass = g_type_class_ref (PUNCH_TYPE_MULTIADDR_PROTOCOL);
  for (i = 0; i < punch_multiaddr_get_n_components (ma); i++)
    g_assert_cmpstr (g_enum_get_value (klass, punch_multiaddr_get_protocol (ma, i))->value_nick,
                     ==, punch_multiaddr_get_protocol_name (ma, i));

  ip = punch_multiaddr_get_value_string (ma, 0);
  udp = punch_multiaddr_get_value_string (ma, 1);
  peer = punch_multiaddr_get_value_string (ma, 5);
  g_assert_cmpstr (ip, ==, "198.51.100.7");
  g_assert_cmpstr (udp, ==, "4001");
  g_assert_cmpstr (peer, ==, PEER_ED);
  g_assert_null (punch_multiaddr_get_value_string (ma, 2));

  port = punch_multiaddr_get_value (ma, 1);
  g_assert_cmpmem (g_bytes_get_data (port, NULL), g_bytes_get_size (port), "\x0f\xa1", 2);
  none = punch_multiaddr_get_value (ma, 4);
  g_assert_cmpuint (g_bytes_get_size (none), ==, 0);
  raw = punch_multiaddr_peek_value (ma, 0, &len);
  g_assert_cmpmem (raw, len, "\xc6\x33\x64\x07", 4);

  g_assert_cmpint (punch_multiaddr_find_protocol (ma, PUNCH_MULTIADDR_PROTOCOL_P2P), ==, 3);
  g_assert_cmpint (punch_multiaddr_find_protocol (ma, PUNCH_MULTIADDR_PROTOCOL_UDP), ==, 1);
  g_assert_cmpint (punch_multiaddr_find_protocol (ma, PUNCH_MULTIADDR_PROTOCOL_TCP), ==, -1);
}

static void
test_unix_path (void)
{
  g_autoptr(PunchMultiaddr) ma = parse ("/unix/tmp/with/p2p/" PEER_QM);
  g_autoptr(PunchMultiaddr) relative = NULL;
  g_autofree gchar *path = NULL;
  g_autofree gchar *text = NULL;

  /* The path takes the rest of the address, leading '/' included. */
  g_assert_cmpuint (punch_multiaddr_get_n_components (ma), ==, 1);
  path = punch_multiaddr_get_value_string (ma, 0);
  g_assert_cmpstr (path, ==, "/tmp/with/p2p/" PEER_QM);

  /* A path without its '/' (binary form only) still prints as /unix/…. */
  relative = punch_multiaddr_new_from_data ((const guint8 *) "\x90\x03\x03" "a/b", 6, NULL);
  g_assert_nonnull (relative);
  text = punch_multiaddr_to_string (relative);
  g_assert_cmpstr (text, ==, "/unix/a/b");
}

static void
assert_ma_text (PunchMultiaddr *ma,
                const gchar    *expected)
{
  g_autofree gchar *text = NULL;

  if (expected == NULL)
    {
      g_assert_null (ma);
      return;
    }
  g_assert_nonnull (ma);
  text = punch_multiaddr_to_string (ma);
  g_assert_cmpstr (text, ==, expected);
}

static void
test_encapsulate (void)
{
  g_autoptr(PunchMultiaddr) ip = parse ("/ip4/198.51.100.7");
  g_autoptr(PunchMultiaddr) tcp = parse ("/tcp/1234");
  g_autoptr(PunchMultiaddr) peer = parse ("/p2p/" PEER_QM);
  g_autoptr(PunchMultiaddr) ip_tcp = NULL;
  g_autoptr(PunchMultiaddr) full = NULL;
  g_autoptr(PunchMultiaddr) big = NULL;
  g_autoptr(PunchMultiaddr) too_big = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *name = g_strnfill (600, 'x');
  g_autofree gchar *big_text = g_strconcat ("/dns/", name, NULL);

  ip_tcp = punch_multiaddr_encapsulate (ip, tcp, &error);
  g_assert_no_error (error);
  assert_ma_text (ip_tcp, "/ip4/198.51.100.7/tcp/1234");
  full = punch_multiaddr_encapsulate (ip_tcp, peer, &error);
  g_assert_no_error (error);
  assert_ma_text (full, "/ip4/198.51.100.7/tcp/1234/p2p/" PEER_QM);

  /* Two 603-byte addresses do not fit in 1024 bytes. */
  big = parse (big_text);
  too_big = punch_multiaddr_encapsulate (big, big, &error);
  g_assert_null (too_big);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
}

typedef struct {
  const gchar *addr;
  const gchar *inner;
  const gchar *result;      /* NULL: nothing left */
} DecapVector;

static const DecapVector decap_vectors[] = {
  /* addressing/README.md "Decapsulation" */
  { "/ip4/198.51.100.7/tcp/1234/ws", "/ws", "/ip4/198.51.100.7/tcp/1234" },
  { "/ip4/198.51.100.7/tcp/1234/ws", "/tcp/1234/ws", "/ip4/198.51.100.7" },
  { "/ip4/198.51.100.7/tcp/1234/ws", "/tcp/1234", "/ip4/198.51.100.7" },
  /* not there (the value differs): unchanged */
  { "/ip4/198.51.100.7/tcp/1234/ws", "/tcp/9999", "/ip4/198.51.100.7/tcp/1234/ws" },
  { "/ip4/198.51.100.7/tcp/1234", "/tcp/1234/ws", "/ip4/198.51.100.7/tcp/1234" },
  /* no textual prefix matching: /tcp/12 is not /tcp/1234 */
  { "/ip4/198.51.100.7/tcp/1234", "/tcp/12", "/ip4/198.51.100.7/tcp/1234" },
  /* everything removed */
  { "/ip4/198.51.100.7/tcp/1234", "/ip4/198.51.100.7", NULL },
  { "/ip4/198.51.100.7/tcp/1234", "/ip4/198.51.100.7/tcp/1234", NULL },
  /* the last occurrence */
  { "/dns4/example.com/tcp/1234/tls/ws/tls", "/tls", "/dns4/example.com/tcp/1234/tls/ws" },
  { "/ip4/192.0.2.0/tcp/5002/p2p/" RELAY "/p2p-circuit/p2p/" DEST, "/p2p-circuit",
    "/ip4/192.0.2.0/tcp/5002/p2p/" RELAY },
  { "/ip4/192.0.2.0/tcp/5002/p2p/" RELAY "/p2p-circuit/p2p/" DEST, "/p2p/" RELAY,
    "/ip4/192.0.2.0/tcp/5002" },
  { "/ip4/192.0.2.0/tcp/5002/p2p/" RELAY "/p2p-circuit/p2p/" DEST, "/p2p/" DEST,
    "/ip4/192.0.2.0/tcp/5002/p2p/" RELAY "/p2p-circuit" },
};

static void
test_decapsulate (void)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (decap_vectors); i++)
    {
      g_autoptr(PunchMultiaddr) ma = parse (decap_vectors[i].addr);
      g_autoptr(PunchMultiaddr) inner = parse (decap_vectors[i].inner);
      g_autoptr(PunchMultiaddr) result = punch_multiaddr_decapsulate (ma, inner);

      g_test_message ("%s - %s", decap_vectors[i].addr, decap_vectors[i].inner);
      assert_ma_text (result, decap_vectors[i].result);
    }
}

static void
test_decapsulate_protocol (void)
{
  g_autoptr(PunchMultiaddr) ma =
    parse ("/ip4/192.0.2.0/tcp/5002/p2p/" RELAY "/p2p-circuit/p2p/" DEST);
  g_autoptr(PunchMultiaddr) a = punch_multiaddr_decapsulate_protocol (ma, PUNCH_MULTIADDR_PROTOCOL_P2P_CIRCUIT);
  g_autoptr(PunchMultiaddr) b = punch_multiaddr_decapsulate_protocol (ma, PUNCH_MULTIADDR_PROTOCOL_P2P);
  g_autoptr(PunchMultiaddr) c = punch_multiaddr_decapsulate_protocol (ma, PUNCH_MULTIADDR_PROTOCOL_TCP);
  g_autoptr(PunchMultiaddr) d = punch_multiaddr_decapsulate_protocol (ma, PUNCH_MULTIADDR_PROTOCOL_IP4);
  g_autoptr(PunchMultiaddr) e = punch_multiaddr_decapsulate_protocol (ma, PUNCH_MULTIADDR_PROTOCOL_UDP);

  assert_ma_text (a, "/ip4/192.0.2.0/tcp/5002/p2p/" RELAY);
  assert_ma_text (b, "/ip4/192.0.2.0/tcp/5002/p2p/" RELAY "/p2p-circuit");
  assert_ma_text (c, "/ip4/192.0.2.0");
  g_assert_null (d);
  g_assert_true (e == ma);
}

static void
test_peer_id (void)
{
  g_autoptr(PunchMultiaddr) circuit =
    parse ("/ip4/192.0.2.0/tcp/5002/p2p/" RELAY "/p2p-circuit/p2p/" DEST);
  g_autoptr(PunchMultiaddr) listen = parse ("/ip4/192.0.2.0/tcp/5002/p2p/" RELAY "/p2p-circuit");
  g_autoptr(PunchMultiaddr) bare = parse ("/ip4/192.0.2.0/tcp/5002");
  g_autoptr(PunchMultiaddr) p2p = NULL;
  g_autoptr(PunchPeerId) dest = NULL;
  g_autoptr(PunchPeerId) none = NULL;
  g_autoptr(PunchPeerId) none2 = NULL;
  g_autoptr(PunchPeerId) ed = punch_peer_id_new_from_string (PEER_ED, NULL);
  g_autofree gchar *dest_text = NULL;

  dest = punch_multiaddr_get_peer_id (circuit);
  g_assert_nonnull (dest);
  dest_text = punch_peer_id_to_string (dest);
  g_assert_cmpstr (dest_text, ==, DEST);

  none = punch_multiaddr_get_peer_id (listen);
  g_assert_null (none);
  none2 = punch_multiaddr_get_peer_id (bare);
  g_assert_null (none2);

  g_assert_nonnull (ed);
  p2p = punch_multiaddr_new_from_peer_id (ed);
  assert_ma_text (p2p, "/p2p/" PEER_ED);
}

typedef struct {
  const gchar *addr;
  PunchMultiaddrScope scope;
  PunchMultiaddrScope lab_scope;   /* with DOCUMENTATION_IS_PUBLIC */
} ScopeVector;

#define LOOPBACK PUNCH_MULTIADDR_SCOPE_LOOPBACK
#define PRIVATE PUNCH_MULTIADDR_SCOPE_PRIVATE
#define RESERVED PUNCH_MULTIADDR_SCOPE_RESERVED
#define PUBLIC PUNCH_MULTIADDR_SCOPE_PUBLIC
#define UNKNOWN PUNCH_MULTIADDR_SCOPE_UNKNOWN

static const ScopeVector scope_vectors[] = {
  { "/ip4/127.0.0.1/tcp/1", LOOPBACK, LOOPBACK },
  { "/ip4/127.255.255.254", LOOPBACK, LOOPBACK },
  { "/ip4/10.0.0.1", PRIVATE, PRIVATE },
  { "/ip4/10.255.255.255", PRIVATE, PRIVATE },
  { "/ip4/172.16.0.1", PRIVATE, PRIVATE },
  { "/ip4/172.31.255.255", PRIVATE, PRIVATE },
  { "/ip4/172.15.255.255", PUBLIC, PUBLIC },
  { "/ip4/172.32.0.0", PUBLIC, PUBLIC },
  { "/ip4/192.168.1.1", PRIVATE, PRIVATE },
  { "/ip4/100.64.0.1", PRIVATE, PRIVATE },
  { "/ip4/100.127.255.255", PRIVATE, PRIVATE },
  { "/ip4/100.63.255.255", PUBLIC, PUBLIC },
  { "/ip4/100.128.0.0", PUBLIC, PUBLIC },
  { "/ip4/169.254.10.1", PRIVATE, PRIVATE },
  { "/ip4/0.0.0.0", RESERVED, RESERVED },
  { "/ip4/0.1.2.3", RESERVED, RESERVED },
  { "/ip4/192.0.0.8", RESERVED, RESERVED },
  { "/ip4/192.0.2.1", RESERVED, PUBLIC },
  { "/ip4/192.0.3.1", PUBLIC, PUBLIC },
  { "/ip4/192.88.99.1", RESERVED, RESERVED },
  { "/ip4/198.18.0.1", RESERVED, RESERVED },
  { "/ip4/198.19.255.255", RESERVED, RESERVED },
  { "/ip4/198.20.0.0", PUBLIC, PUBLIC },
  { "/ip4/198.51.100.7/udp/4001", RESERVED, PUBLIC },
  { "/ip4/198.51.101.7", PUBLIC, PUBLIC },
  { "/ip4/203.0.113.9", RESERVED, PUBLIC },
  { "/ip4/224.0.0.1", RESERVED, RESERVED },
  { "/ip4/239.255.255.255", RESERVED, RESERVED },
  { "/ip4/240.0.0.1", RESERVED, RESERVED },
  { "/ip4/255.255.255.255", RESERVED, RESERVED },
  { "/ip4/8.8.8.8", PUBLIC, PUBLIC },
  { "/ip4/147.75.69.143/tcp/4001", PUBLIC, PUBLIC },
  { "/ip4/11.0.0.1", PUBLIC, PUBLIC },
  { "/ip4/223.255.255.255", PUBLIC, PUBLIC },
  { "/ip6/::1", LOOPBACK, LOOPBACK },
  { "/ip6/::", RESERVED, RESERVED },
  { "/ip6/::2", RESERVED, RESERVED },
  { "/ip6/fe80::1", PRIVATE, PRIVATE },
  { "/ip6zone/eth0/ip6/fe80::1/udp/9", PRIVATE, PRIVATE },
  { "/ip6/febf::1", PRIVATE, PRIVATE },
  { "/ip6/fec0::1", RESERVED, RESERVED },
  { "/ip6/fc00::1", PRIVATE, PRIVATE },
  { "/ip6/fd12:3456::1", PRIVATE, PRIVATE },
  { "/ip6/ff02::1", RESERVED, RESERVED },
  { "/ip6/100::1", RESERVED, RESERVED },
  { "/ip6/5f00::1", RESERVED, RESERVED },
  { "/ip6/64:ff9b:1::1", RESERVED, RESERVED },
  { "/ip6/2001::1", RESERVED, RESERVED },
  { "/ip6/2001:1ff::1", RESERVED, RESERVED },
  { "/ip6/2001:200::1", PUBLIC, PUBLIC },
  { "/ip6/2001:db8::1", RESERVED, PUBLIC },
  { "/ip6/3fff::1", RESERVED, PUBLIC },
  { "/ip6/3fff:1000::1", PUBLIC, PUBLIC },
  { "/ip6/2604:1380:4602:5c00::3", PUBLIC, PUBLIC },
  { "/ip6/2a00:1450:4001::1", PUBLIC, PUBLIC },
  { "/ip6/4000::1", RESERVED, RESERVED },
  { "/ip6/::ffff:192.168.1.1", PRIVATE, PRIVATE },
  { "/ip6/::ffff:127.0.0.1", LOOPBACK, LOOPBACK },
  { "/ip6/::ffff:8.8.8.8", PUBLIC, PUBLIC },
  { "/ip6/::ffff:203.0.113.1", RESERVED, PUBLIC },
  { "/ip6/64:ff9b::808:808", PUBLIC, PUBLIC },
  { "/ip6/64:ff9b::a00:1", PRIVATE, PRIVATE },
  { "/dns4/example.com/tcp/1", UNKNOWN, UNKNOWN },
  { "/p2p/" PEER_QM, UNKNOWN, UNKNOWN },
  { "/unix/tmp/x", UNKNOWN, UNKNOWN },
  /* the first IP decides */
  { "/ip4/10.0.0.1/tcp/1/p2p/" RELAY "/p2p-circuit/p2p/" DEST, PRIVATE, PRIVATE },
  { "/dns4/example.com/ip4/8.8.8.8", PUBLIC, PUBLIC },
};

static void
test_scope (void)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (scope_vectors); i++)
    {
      const ScopeVector *v = &scope_vectors[i];
      g_autoptr(PunchMultiaddr) ma = parse (v->addr);

      g_test_message ("%s", v->addr);
      g_assert_cmpint (punch_multiaddr_get_scope (ma, PUNCH_MULTIADDR_SCOPE_FLAGS_NONE),
                       ==, v->scope);
      g_assert_cmpint (punch_multiaddr_get_scope (ma, PUNCH_MULTIADDR_SCOPE_FLAGS_DOCUMENTATION_IS_PUBLIC),
                       ==, v->lab_scope);
      g_assert_cmpint (punch_multiaddr_is_public (ma), ==, v->scope == PUBLIC);
      g_assert_cmpint (punch_multiaddr_is_private (ma), ==, v->scope == PRIVATE);
      g_assert_cmpint (punch_multiaddr_is_loopback (ma), ==, v->scope == LOOPBACK);
    }
}

static void
test_inet_scope (void)
{
  g_autoptr(GInetAddress) lab = g_inet_address_new_from_string ("203.0.113.5");
  g_autoptr(GInetAddress) lan = g_inet_address_new_from_string ("fd00::5");

  g_assert_cmpint (punch_inet_address_get_scope (lab, PUNCH_MULTIADDR_SCOPE_FLAGS_NONE),
                   ==, RESERVED);
  g_assert_cmpint (punch_inet_address_get_scope (lab, PUNCH_MULTIADDR_SCOPE_FLAGS_DOCUMENTATION_IS_PUBLIC),
                   ==, PUBLIC);
  g_assert_cmpint (punch_inet_address_get_scope (lan, PUNCH_MULTIADDR_SCOPE_FLAGS_NONE),
                   ==, PRIVATE);
}

static GInetSocketAddress *
socket_address (const gchar *ip,
                guint16      port,
                guint32      scope_id)
{
  g_autoptr(GInetAddress) addr = g_inet_address_new_from_string (ip);

  g_assert_nonnull (addr);
  return g_object_new (G_TYPE_INET_SOCKET_ADDRESS, "address", addr,
                       "port", (guint) port, "scope-id", scope_id, NULL);
}

static void
test_from_socket_address (void)
{
  struct {
    const gchar *ip;
    guint16 port;
    guint32 scope_id;
    PunchMultiaddrProtocol transport;
    const gchar *expected;
  } vectors[] = {
    { "198.51.100.7", 4001, 0, PUNCH_MULTIADDR_PROTOCOL_TCP, "/ip4/198.51.100.7/tcp/4001" },
    { "127.0.0.1", 0, 0, PUNCH_MULTIADDR_PROTOCOL_UDP, "/ip4/127.0.0.1/udp/0" },
    { "2001:db8::1", 443, 0, PUNCH_MULTIADDR_PROTOCOL_UDP, "/ip6/2001:db8::1/udp/443" },
    { "::ffff:1.2.3.4", 80, 0, PUNCH_MULTIADDR_PROTOCOL_TCP, "/ip4/1.2.3.4/tcp/80" },
    { "fe80::1", 9, 3, PUNCH_MULTIADDR_PROTOCOL_UDP, "/ip6zone/3/ip6/fe80::1/udp/9" },
    { "::", 65535, 0, PUNCH_MULTIADDR_PROTOCOL_TCP, "/ip6/::/tcp/65535" },
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (vectors); i++)
    {
      g_autoptr(GInetSocketAddress) sa = socket_address (vectors[i].ip, vectors[i].port,
                                                         vectors[i].scope_id);
      g_autoptr(PunchMultiaddr) ma =
        punch_multiaddr_new_from_inet_socket_address (sa, vectors[i].transport);
      g_autoptr(GSocketAddress) back = NULL;
      g_autoptr(GError) error = NULL;
      PunchMultiaddrProtocol transport = 0;

      assert_ma_text (ma, vectors[i].expected);

      back = punch_multiaddr_to_inet_socket_address (ma, &transport, &error);
      g_assert_no_error (error);
      g_assert_true (G_IS_INET_SOCKET_ADDRESS (back));
      g_assert_cmpint (transport, ==, vectors[i].transport);
      g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (back)),
                        ==, vectors[i].port);
      if (g_inet_address_get_family (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (back))) ==
          G_SOCKET_FAMILY_IPV6)
        g_assert_cmpuint (g_inet_socket_address_get_scope_id (G_INET_SOCKET_ADDRESS (back)),
                          ==, vectors[i].scope_id);
    }
}

static void
test_to_socket_address (void)
{
  g_autoptr(PunchMultiaddr) quic =
    parse ("/ip4/198.51.100.7/udp/4001/quic-v1/p2p/" PEER_QM);
  g_autoptr(PunchMultiaddr) lo_zone = parse ("/ip6zone/lo/ip6/fe80::1/tcp/1");
  g_autoptr(GSocketAddress) sa = NULL;
  g_autoptr(GSocketAddress) zoned = NULL;
  g_autoptr(GInetAddress) first = NULL;
  g_autofree gchar *ip = NULL;
  g_autoptr(GError) error = NULL;
  PunchMultiaddrProtocol transport = 0;
  const gchar *unsupported[] = {
    "/dns4/example.com/tcp/80",
    "/ip4/1.2.3.4",
    "/ip4/1.2.3.4/ws",
    "/ip4/1.2.3.4/sctp/5",
    ("/p2p/" PEER_QM),
    "/tcp/80/ip4/1.2.3.4",
    "/ip6zone/nosuchinterface0/ip6/fe80::1/tcp/1",
  };
  gsize i;

  sa = punch_multiaddr_to_inet_socket_address (quic, &transport, &error);
  g_assert_no_error (error);
  ip = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (sa)));
  g_assert_cmpstr (ip, ==, "198.51.100.7");
  g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (sa)), ==, 4001);
  g_assert_cmpint (transport, ==, PUNCH_MULTIADDR_PROTOCOL_UDP);

  /* A zone naming an interface of this host. */
  zoned = punch_multiaddr_to_inet_socket_address (lo_zone, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_inet_socket_address_get_scope_id (G_INET_SOCKET_ADDRESS (zoned)),
                    ==, if_nametoindex ("lo"));

  first = punch_multiaddr_get_inet_address (quic);
  g_clear_pointer (&ip, g_free);
  ip = g_inet_address_to_string (first);
  g_assert_cmpstr (ip, ==, "198.51.100.7");

  for (i = 0; i < G_N_ELEMENTS (unsupported); i++)
    {
      g_autoptr(PunchMultiaddr) ma = parse (unsupported[i]);
      g_autoptr(GSocketAddress) none = NULL;

      g_test_message ("%s", unsupported[i]);
      none = punch_multiaddr_to_inet_socket_address (ma, NULL, &error);
      g_assert_null (none);
      g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED);
      g_clear_error (&error);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/multiaddr/text/roundtrip", test_text_roundtrip);
  g_test_add_func ("/multiaddr/text/normalization", test_text_normalization);
  g_test_add_func ("/multiaddr/text/malformed", test_text_malformed);
  g_test_add_func ("/multiaddr/text/limits", test_text_limits);
  g_test_add_func ("/multiaddr/binary/vectors", test_binary_vectors);
  g_test_add_func ("/multiaddr/binary/malformed", test_binary_malformed);
  g_test_add_func ("/multiaddr/binary/limits", test_binary_limits);
  g_test_add_func ("/multiaddr/boxed", test_boxed);
  g_test_add_func ("/multiaddr/equal-hash", test_equal_hash);
  g_test_add_func ("/multiaddr/components", test_components);
  g_test_add_func ("/multiaddr/unix-path", test_unix_path);
  g_test_add_func ("/multiaddr/encapsulate", test_encapsulate);
  g_test_add_func ("/multiaddr/decapsulate", test_decapsulate);
  g_test_add_func ("/multiaddr/decapsulate-protocol", test_decapsulate_protocol);
  g_test_add_func ("/multiaddr/peer-id", test_peer_id);
  g_test_add_func ("/multiaddr/scope", test_scope);
  g_test_add_func ("/multiaddr/scope/inet-address", test_inet_scope);
  g_test_add_func ("/multiaddr/socket-address/from", test_from_socket_address);
  g_test_add_func ("/multiaddr/socket-address/to", test_to_socket_address);

  return g_test_run ();
}
