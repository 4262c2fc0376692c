/* punch-multiaddr.c: multiaddrs, self-describing network addresses.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-multiaddr-private.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "punch-error.h"
#include "punch-multibase.h"
#include "punch-peer-id-private.h"
#include "punch-varint.h"

/*
 * A multiaddr (multiformats/multiaddr README.md) is a sequence of
 * components, each a protocol code and, depending on the protocol, a
 * value. Binary form: per component an unsigned varint code, then the
 * value: fixed-size values as they are, variable-size ones preceded by
 * their length as an unsigned varint. Text form: per component
 * "/<name>" followed by "/<value>" if the protocol has one.
 *
 * The codes, names and sizes are those of protocols.csv. Value formats,
 * from the reference implementations (go-multiaddr, js-multiaddr) where
 * the table says nothing:
 *  - ip4, ip6: network byte order; text as inet_pton()/inet_ntop() (no
 *    leading zeros in IPv4 octets; IPv6 printed in RFC 5952 form)
 *  - tcp, udp, dccp, sctp: 16-bit big-endian port; decimal text 0-65535
 *  - ipcidr: one byte; decimal text 0-255
 *  - dns, dns4, dns6, dnsaddr, sni, ip6zone: a non-empty UTF-8 string
 *    without '/' and NUL, the same in both forms
 *  - unix: a path; in text it takes the whole rest of the address, its
 *    value being "/" followed by that rest (so /unix/tmp/a.sock is the
 *    path "/tmp/a.sock"); a value without a leading '/' prints as
 *    /unix/<value>
 *  - p2p: a peer id multihash (validated as a peer id); text in
 *    base58btc, or on input also a CIDv1 with the libp2p-key codec;
 *    "ipfs" is read as a name of p2p
 *  - onion: 10 bytes of onion address + 16-bit port; text as 16 base32
 *    characters, ':' and a port 1-65535. onion3: the same with 35 bytes
 *    and 56 base32 characters
 *  - certhash: a multihash; text as a multibase string (read: base64url
 *    'u', base58btc 'z', base32 'b'/'B', base16 'f'/'F'; written as
 *    base64url 'u' like go- and js-multiaddr)
 *  - all others in the table below have no value
 * Codes in protocols.csv that Punch does not implement (garlic64,
 * garlic32, http-path, memory, whose value format differs between
 * implementations) and unknown codes fail with PUNCH_ERROR_UNSUPPORTED:
 * their value length cannot be known, so nothing after them can be read.
 *
 * Every value read from the binary form is validated as strictly as one
 * read from text, so any multiaddr prints to a text that parses back to
 * the same bytes. The exception is unix, whose text form is ambiguous
 * when the binary form has a path without its leading '/' or components
 * after the path: such text parses back as one longer path.
 *
 * Bounds: 1024 bytes and 64 components in binary form, 4096 bytes of
 * text (a valid binary multiaddr always prints to less than that).
 */

typedef enum {
  KIND_NONE,
  KIND_IP4,
  KIND_IP6,
  KIND_PORT,
  KIND_CIDR,
  KIND_NAME,
  KIND_PATH,
  KIND_P2P,
  KIND_ONION,
  KIND_ONION3,
  KIND_CERTHASH,
} ValueKind;

typedef struct {
  guint32 code;
  const gchar *name;
  gint size;            /* value bytes; -1: variable, length-prefixed */
  ValueKind kind;
} ProtocolInfo;

#define ONION_ADDR_LEN 10
#define ONION3_ADDR_LEN 35

static const ProtocolInfo protocols[] = {
  { PUNCH_MULTIADDR_PROTOCOL_IP4, "ip4", 4, KIND_IP4 },
  { PUNCH_MULTIADDR_PROTOCOL_TCP, "tcp", 2, KIND_PORT },
  { PUNCH_MULTIADDR_PROTOCOL_DCCP, "dccp", 2, KIND_PORT },
  { PUNCH_MULTIADDR_PROTOCOL_IP6, "ip6", 16, KIND_IP6 },
  { PUNCH_MULTIADDR_PROTOCOL_IP6ZONE, "ip6zone", -1, KIND_NAME },
  { PUNCH_MULTIADDR_PROTOCOL_IPCIDR, "ipcidr", 1, KIND_CIDR },
  { PUNCH_MULTIADDR_PROTOCOL_DNS, "dns", -1, KIND_NAME },
  { PUNCH_MULTIADDR_PROTOCOL_DNS4, "dns4", -1, KIND_NAME },
  { PUNCH_MULTIADDR_PROTOCOL_DNS6, "dns6", -1, KIND_NAME },
  { PUNCH_MULTIADDR_PROTOCOL_DNSADDR, "dnsaddr", -1, KIND_NAME },
  { PUNCH_MULTIADDR_PROTOCOL_SCTP, "sctp", 2, KIND_PORT },
  { PUNCH_MULTIADDR_PROTOCOL_UDP, "udp", 2, KIND_PORT },
  { PUNCH_MULTIADDR_PROTOCOL_P2P_WEBRTC_STAR, "p2p-webrtc-star", 0, KIND_NONE },
  { PUNCH_MULTIADDR_PROTOCOL_P2P_WEBRTC_DIRECT, "p2p-webrtc-direct", 0, KIND_NONE },
  { PUNCH_MULTIADDR_PROTOCOL_P2P_STARDUST, "p2p-stardust", 0, KIND_NONE },
  { PUNCH_MULTIADDR_PROTOCOL_WEBRTC_DIRECT, "webrtc-direct", 0, KIND_NONE },
  { PUNCH_MULTIADDR_PROTOCOL_WEBRTC, "webrtc", 0, KIND_NONE },
  { PUNCH_MULTIADDR_PROTOCOL_P2P_CIRCUIT, "p2p-circuit", 0, KIND_NONE },
  { PUNCH_MULTIADDR_PROTOCOL_UDT, "udt", 0, KIND_NONE },
  { PUNCH_MULTIADDR_PROTOCOL_UTP, "utp", 0, KIND_NONE },
  { PUNCH_MULTIADDR_PROTOCOL_UNIX, "unix", -1, KIND_PATH },
  { PUNCH_MULTIADDR_PROTOCOL_P2P, "p2p", -1, KIND_P2P },
  { PUNCH_MULTIADDR_PROTOCOL_HTTPS, "https", 0, KIND_NONE },
  { PUNCH_MULTIADDR_PROTOCOL_ONION, "onion", ONION_ADDR_LEN + 2, KIND_ONION },
  { PUNCH_MULTIADDR_PROTOCOL_ONION3, "onion3", ONION3_ADDR_LEN + 2, KIND_ONION3 },
  { PUNCH_MULTIADDR_PROTOCOL_TLS, "tls", 0, KIND_NONE },
  { PUNCH_MULTIADDR_PROTOCOL_SNI, "sni", -1, KIND_NAME },
  { PUNCH_MULTIADDR_PROTOCOL_NOISE, "noise", 0, KIND_NONE },
  { PUNCH_MULTIADDR_PROTOCOL_QUIC, "quic", 0, KIND_NONE },
  { PUNCH_MULTIADDR_PROTOCOL_QUIC_V1, "quic-v1", 0, KIND_NONE },
  { PUNCH_MULTIADDR_PROTOCOL_WEBTRANSPORT, "webtransport", 0, KIND_NONE },
  { PUNCH_MULTIADDR_PROTOCOL_CERTHASH, "certhash", -1, KIND_CERTHASH },
  { PUNCH_MULTIADDR_PROTOCOL_WS, "ws", 0, KIND_NONE },
  { PUNCH_MULTIADDR_PROTOCOL_WSS, "wss", 0, KIND_NONE },
  { PUNCH_MULTIADDR_PROTOCOL_P2P_WEBSOCKET_STAR, "p2p-websocket-star", 0, KIND_NONE },
  { PUNCH_MULTIADDR_PROTOCOL_HTTP, "http", 0, KIND_NONE },
};

static const ProtocolInfo *
protocol_by_code (guint64 code)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (protocols); i++)
    if (protocols[i].code == code)
      return &protocols[i];
  return NULL;
}

static const ProtocolInfo *
protocol_by_name (const gchar *name,
                  gsize        len)
{
  gsize i;

  if (len == 4 && memcmp (name, "ipfs", 4) == 0)
    return protocol_by_code (PUNCH_MULTIADDR_PROTOCOL_P2P);

  for (i = 0; i < G_N_ELEMENTS (protocols); i++)
    if (strlen (protocols[i].name) == len &&
        memcmp (protocols[i].name, name, len) == 0)
      return &protocols[i];
  return NULL;
}

typedef struct {
  const ProtocolInfo *info;
  guint16 start;          /* offset of the code varint */
  guint16 value_start;    /* offset of the value (after any length) */
  guint16 value_len;
} Component;

/**
 * PunchMultiaddr:
 *
 * A multiaddr: a network address made of protocol components such as
 * `/ip4/198.51.100.7/udp/4001/quic-v1/p2p/12D3KooW…`, the form in which
 * libp2p peers exchange their addresses (multiformats/multiaddr,
 * libp2p/specs addressing/README.md).
 *
 * A `PunchMultiaddr` is immutable and reference counted. It is parsed
 * from its text form with [ctor@Punch.Multiaddr.new_from_string] or from
 * its binary (wire) form with [ctor@Punch.Multiaddr.new_from_bytes]; both
 * validate every component, and printing then parsing again gives the
 * same address.
 *
 * Since: 0.1
 */
struct _PunchMultiaddr
{
  gatomicrefcount ref_count;
  GBytes *bytes;
  const guint8 *data;     /* of bytes */
  gsize len;
  guint n_components;
  Component components[];
};

G_DEFINE_BOXED_TYPE (PunchMultiaddr, punch_multiaddr,
                     punch_multiaddr_ref, punch_multiaddr_unref)

static guint16
read_port (const guint8 *p)
{
  return (guint16) ((p[0] << 8) | p[1]);
}

/* Validates a multihash: varint code, varint digest length, digest. */
static gboolean
validate_multihash (const guint8  *data,
                    gsize          len,
                    GError       **error)
{
  guint64 code, digest_len;
  gsize n1, n2;

  if (!punch_varint_decode (data, len, &code, &n1, NULL) ||
      !punch_varint_decode (data + n1, len - n1, &digest_len, &n2, NULL) ||
      digest_len != len - n1 - n2)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Invalid certhash: not a multihash");
      return FALSE;
    }
  return TRUE;
}

static gboolean
validate_string (const ProtocolInfo  *info,
                 const guint8        *value,
                 gsize                len,
                 GError             **error)
{
  if (len == 0 ||
      memchr (value, '\0', len) != NULL ||
      (info->kind == KIND_NAME && memchr (value, '/', len) != NULL) ||
      !g_utf8_validate ((const gchar *) value, len, NULL))
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "Invalid /%s value: empty, not UTF-8, or containing NUL%s",
                   info->name, info->kind == KIND_NAME ? " or '/'" : "");
      return FALSE;
    }
  return TRUE;
}

/* Checks a value from the binary form; fixed-size values have the right
 * length already. */
static gboolean
validate_value (const ProtocolInfo  *info,
                const guint8        *value,
                gsize                len,
                GError             **error)
{
  switch (info->kind)
    {
    case KIND_NAME:
    case KIND_PATH:
      return validate_string (info, value, len, error);

    case KIND_P2P:
      {
        g_autoptr(PunchPeerId) peer_id = NULL;
        GError *local_error = NULL;

        peer_id = punch_peer_id_new_from_data (value, len, &local_error);
        if (peer_id == NULL)
          {
            g_propagate_prefixed_error (error, local_error, "Invalid /p2p value: ");
            return FALSE;
          }
        return TRUE;
      }

    case KIND_ONION:
    case KIND_ONION3:
      if (read_port (value + len - 2) == 0)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "Invalid /%s value: port 0", info->name);
          return FALSE;
        }
      return TRUE;

    case KIND_CERTHASH:
      return validate_multihash (value, len, error);

    case KIND_NONE:
    case KIND_IP4:
    case KIND_IP6:
    case KIND_PORT:
    case KIND_CIDR:
    default:
      return TRUE;
    }
}

/* Parses and validates the binary form; takes a reference on @bytes. */
static PunchMultiaddr *
multiaddr_new_take_bytes (GBytes  *bytes,
                          GError **error)
{
  Component components[PUNCH_MULTIADDR_MAX_COMPONENTS];
  g_autoptr(GBytes) owned = bytes;
  PunchMultiaddr *self;
  const guint8 *data;
  guint n = 0;
  gsize len, pos = 0;

  data = g_bytes_get_data (bytes, &len);
  if (len == 0)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Empty multiaddr");
      return NULL;
    }
  if (len > PUNCH_MULTIADDR_MAX_LEN)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "Multiaddr longer than %d bytes", PUNCH_MULTIADDR_MAX_LEN);
      return NULL;
    }

  while (pos < len)
    {
      const ProtocolInfo *info;
      GError *local_error = NULL;
      guint64 code, value_len;
      gsize consumed;
      Component *c;

      if (n == PUNCH_MULTIADDR_MAX_COMPONENTS)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                       "Multiaddr with more than %d components",
                       PUNCH_MULTIADDR_MAX_COMPONENTS);
          return NULL;
        }
      c = &components[n];
      c->start = pos;

      if (!punch_varint_decode (data + pos, len - pos, &code, &consumed,
                                &local_error))
        {
          g_propagate_prefixed_error (error, local_error,
                                      "Bad multiaddr protocol code: ");
          return NULL;
        }
      pos += consumed;

      info = protocol_by_code (code);
      if (info == NULL)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                       "Unsupported multiaddr protocol code %" G_GUINT64_FORMAT,
                       code);
          return NULL;
        }

      if (info->size >= 0)
        {
          value_len = info->size;
        }
      else
        {
          if (!punch_varint_decode (data + pos, len - pos, &value_len,
                                    &consumed, &local_error))
            {
              g_propagate_prefixed_error (error, local_error,
                                          "Bad length of /%s value: ",
                                          info->name);
              return NULL;
            }
          pos += consumed;
        }

      if (value_len > len - pos)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED,
                       "Multiaddr ends inside the /%s value", info->name);
          return NULL;
        }

      if (!validate_value (info, data + pos, value_len, error))
        return NULL;

      c->info = info;
      c->value_start = pos;
      c->value_len = value_len;
      pos += value_len;
      n++;
    }

  self = g_malloc (sizeof (PunchMultiaddr) + n * sizeof (Component));
  g_atomic_ref_count_init (&self->ref_count);
  self->bytes = g_steal_pointer (&owned);
  self->data = data;
  self->len = len;
  self->n_components = n;
  memcpy (self->components, components, n * sizeof (Component));

  return self;
}

/**
 * punch_multiaddr_new_from_data:
 * @data: (array length=len): a binary multiaddr
 * @len: its length
 * @error: return location for a #GError
 *
 * Parses the binary form of a multiaddr (as carried in identify, AutoNAT,
 * circuit relay and DCUtR messages). Every value is validated (a `p2p`
 * value must be a valid peer id, names valid UTF-8 and so on).
 *
 * Errors: %PUNCH_ERROR_MALFORMED for empty input, a bad varint or an
 * invalid value, %PUNCH_ERROR_TRUNCATED if the input ends inside a
 * component, %PUNCH_ERROR_UNSUPPORTED for a protocol code Punch does not
 * know, %PUNCH_ERROR_TOO_LARGE beyond 1024 bytes or 64 components.
 *
 * Returns: (transfer full) (nullable): the multiaddr, or %NULL on error
 *
 * Since: 0.1
 */
PunchMultiaddr *
punch_multiaddr_new_from_data (const guint8  *data,
                               gsize          len,
                               GError       **error)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (len > PUNCH_MULTIADDR_MAX_LEN)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "Multiaddr longer than %d bytes", PUNCH_MULTIADDR_MAX_LEN);
      return NULL;
    }

  return multiaddr_new_take_bytes (g_bytes_new (data, len), error);
}

/**
 * punch_multiaddr_new_from_bytes:
 * @bytes: a binary multiaddr
 * @error: return location for a #GError
 *
 * Like [ctor@Punch.Multiaddr.new_from_data], keeping a reference on
 * @bytes instead of a copy.
 *
 * Errors: as [ctor@Punch.Multiaddr.new_from_data].
 *
 * Returns: (transfer full) (nullable): the multiaddr, or %NULL on error
 *
 * Since: 0.1
 */
PunchMultiaddr *
punch_multiaddr_new_from_bytes (GBytes  *bytes,
                                GError **error)
{
  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return multiaddr_new_take_bytes (g_bytes_ref (bytes), error);
}

/* Text parsing */

/* Decimal without sign, leading zeros or excess; at most @max. */
static gboolean
parse_decimal (const gchar *text,
               gsize        len,
               guint        max,
               guint       *out)
{
  guint value = 0;
  gsize i;

  if (len == 0 || len > 5 || (len > 1 && text[0] == '0'))
    return FALSE;
  for (i = 0; i < len; i++)
    {
      if (!g_ascii_isdigit (text[i]))
        return FALSE;
      value = value * 10 + (guint) (text[i] - '0');
    }
  if (value > max)
    return FALSE;
  *out = value;
  return TRUE;
}

static gboolean
append_onion (GByteArray          *out,
              const ProtocolInfo  *info,
              const gchar         *text,
              gsize                len,
              GError             **error)
{
  gsize addr_chars = info->kind == KIND_ONION ? 16 : 56;
  gsize addr_len = info->kind == KIND_ONION ? ONION_ADDR_LEN : ONION3_ADDR_LEN;
  g_autofree gchar *addr_text = NULL;
  g_autoptr(GBytes) addr = NULL;
  guint port;
  guint8 port_be[2];

  if (len <= addr_chars + 1 || text[addr_chars] != ':' ||
      !parse_decimal (text + addr_chars + 1, len - addr_chars - 1, 65535, &port) ||
      port == 0)
    goto bad;

  addr_text = g_strndup (text, addr_chars);
  addr = punch_base32_decode (addr_text, NULL);
  if (addr == NULL || g_bytes_get_size (addr) != addr_len)
    goto bad;

  g_byte_array_append (out, g_bytes_get_data (addr, NULL), addr_len);
  port_be[0] = port >> 8;
  port_be[1] = port & 0xff;
  g_byte_array_append (out, port_be, 2);
  return TRUE;

bad:
  g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
               "Invalid /%s value: expected %" G_GSIZE_FORMAT
               " base32 characters, ':' and a port 1-65535",
               info->name, addr_chars);
  return FALSE;
}

static GBytes *
decode_multibase (const gchar  *text,
                  GError      **error)
{
  switch (text[0])
    {
    case 'u':
      return punch_base64url_decode (text + 1, error);
    case 'z':
      return punch_base58btc_decode (text + 1, error);
    case 'b':
    case 'B':
      return punch_base32_decode (text + 1, error);
    case 'f':
    case 'F':
      return punch_base16_decode (text + 1, error);
    default:
      if (g_ascii_isgraph (text[0]))
        g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                     "Unsupported multibase prefix '%c'", text[0]);
      else
        g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                     "Unsupported multibase prefix 0x%02x", (guint8) text[0]);
      return NULL;
    }
}

/* Appends the binary value (with its length if variable) of the text
 * @value (@len bytes, no NUL inside). */
static gboolean
append_value_from_text (GByteArray          *out,
                        const ProtocolInfo  *info,
                        const gchar         *value,
                        gsize                len,
                        GError             **error)
{
  g_autofree gchar *text = g_strndup (value, len);
  g_autoptr(GBytes) bytes = NULL;
  guint8 buf[16];
  guint number;

  switch (info->kind)
    {
    case KIND_IP4:
    case KIND_IP6:
      if (inet_pton (info->kind == KIND_IP4 ? AF_INET : AF_INET6, text, buf) != 1)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "Invalid IPv%c address", info->kind == KIND_IP4 ? '4' : '6');
          return FALSE;
        }
      g_byte_array_append (out, buf, info->size);
      return TRUE;

    case KIND_PORT:
    case KIND_CIDR:
      if (!parse_decimal (text, len, info->kind == KIND_PORT ? 65535 : 255, &number))
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "Invalid /%s value: expected a decimal number 0-%u",
                       info->name, info->kind == KIND_PORT ? 65535 : 255);
          return FALSE;
        }
      if (info->kind == KIND_PORT)
        {
          buf[0] = number >> 8;
          buf[1] = number & 0xff;
          g_byte_array_append (out, buf, 2);
        }
      else
        {
          buf[0] = number;
          g_byte_array_append (out, buf, 1);
        }
      return TRUE;

    case KIND_ONION:
    case KIND_ONION3:
      return append_onion (out, info, text, len, error);

    case KIND_P2P:
      {
        g_autoptr(PunchPeerId) peer_id = NULL;
        GError *local_error = NULL;

        peer_id = punch_peer_id_new_from_string (text, &local_error);
        if (peer_id == NULL)
          {
            g_propagate_prefixed_error (error, local_error, "Invalid /p2p value: ");
            return FALSE;
          }
        bytes = punch_peer_id_get_bytes (peer_id);
        break;
      }

    case KIND_CERTHASH:
      {
        GError *local_error = NULL;

        bytes = decode_multibase (text, &local_error);
        if (bytes == NULL)
          {
            g_propagate_prefixed_error (error, local_error, "Invalid /certhash value: ");
            return FALSE;
          }
        break;
      }

    case KIND_NAME:
    case KIND_PATH:
      bytes = g_bytes_new (value, len);
      break;

    case KIND_NONE:
    default:
      g_assert_not_reached ();
    }

  /* Variable-size values: length, then the bytes (checked like binary). */
  {
    gsize size;
    const guint8 *data = g_bytes_get_data (bytes, &size);
    guint8 header[PUNCH_VARINT_MAX_LEN];

    if (!validate_value (info, data, size, error))
      return FALSE;
    if (size > PUNCH_MULTIADDR_MAX_LEN)
      {
        g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                     "Multiaddr longer than %d bytes", PUNCH_MULTIADDR_MAX_LEN);
        return FALSE;
      }
    g_byte_array_append (out, header, punch_varint_encode (size, header));
    g_byte_array_append (out, data, size);
  }
  return TRUE;
}

/**
 * punch_multiaddr_new_from_string:
 * @text: a text multiaddr such as `/ip4/198.51.100.7/tcp/4001/p2p/12D3Koo…`
 * @error: return location for a #GError
 *
 * Parses the text form of a multiaddr: components `/<name>` or
 * `/<name>/<value>` one after the other; a single trailing `/` is
 * allowed. The value of `/unix` is the whole rest of @text. `/ipfs` is
 * read as `/p2p`, whose value may be a base58btc peer id or a CIDv1.
 *
 * Errors: %PUNCH_ERROR_MALFORMED for empty text, text not starting with
 * `/`, a missing or invalid value, or an empty component,
 * %PUNCH_ERROR_UNSUPPORTED for an unknown protocol name,
 * %PUNCH_ERROR_TOO_LARGE beyond 4096 characters, 1024 bytes in binary
 * form or 64 components.
 *
 * Returns: (transfer full) (nullable): the multiaddr, or %NULL on error
 *
 * Since: 0.1
 */
PunchMultiaddr *
punch_multiaddr_new_from_string (const gchar  *text,
                                 GError      **error)
{
  g_autoptr(GByteArray) out = NULL;
  gsize text_len, pos = 0;
  guint n = 0;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  text_len = strnlen (text, PUNCH_MULTIADDR_MAX_TEXT_LEN + 1);
  if (text_len > PUNCH_MULTIADDR_MAX_TEXT_LEN)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "Multiaddr text longer than %d bytes",
                   PUNCH_MULTIADDR_MAX_TEXT_LEN);
      return NULL;
    }
  if (text_len == 0 || text[0] != '/')
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Multiaddr text must start with '/'");
      return NULL;
    }

  out = g_byte_array_new ();
  while (pos < text_len)
    {
      const ProtocolInfo *info;
      const gchar *name, *end;
      guint8 code[PUNCH_VARINT_MAX_LEN];
      gsize name_len;

      /* text[pos] == '/' */
      name = text + pos + 1;
      end = strchr (name, '/');
      name_len = end ? (gsize) (end - name) : strlen (name);

      if (name_len == 0)
        {
          /* One trailing '/' after a component is fine. */
          if (n > 0 && pos + 1 == text_len)
            break;
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "Empty multiaddr component at offset %" G_GSIZE_FORMAT,
                       pos);
          return NULL;
        }

      info = protocol_by_name (name, name_len);
      if (info == NULL)
        {
          if (g_utf8_validate (name, MIN (name_len, 64), NULL))
            g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                         "Unsupported multiaddr protocol '%.*s'",
                         (int) MIN (name_len, 64), name);
          else
            g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                                 "Unsupported multiaddr protocol");
          return NULL;
        }

      if (n == PUNCH_MULTIADDR_MAX_COMPONENTS)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                       "Multiaddr with more than %d components",
                       PUNCH_MULTIADDR_MAX_COMPONENTS);
          return NULL;
        }
      n++;

      g_byte_array_append (out, code, punch_varint_encode (info->code, code));
      pos += 1 + name_len;

      if (info->kind != KIND_NONE)
        {
          const gchar *value;
          gsize value_len;

          /* A path's value is the rest with its leading '/', so
           * "/unix/" is the path "/"; other values need a character. */
          if (pos >= text_len ||
              (info->kind != KIND_PATH && text[pos + 1] == '\0'))
            {
              g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Missing value of /%s", info->name);
              return NULL;
            }

          if (info->kind == KIND_PATH)
            {
              /* The path is the rest, with its leading '/'. */
              value = text + pos;
              value_len = text_len - pos;
            }
          else
            {
              value = text + pos + 1;
              end = strchr (value, '/');
              value_len = end ? (gsize) (end - value) : strlen (value);
              if (value_len == 0)
                {
                  g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                               "Missing value of /%s", info->name);
                  return NULL;
                }
              pos++;
            }

          if (!append_value_from_text (out, info, value, value_len, error))
            return NULL;
          pos += value_len;
        }

      if (out->len > PUNCH_MULTIADDR_MAX_LEN)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                       "Multiaddr longer than %d bytes", PUNCH_MULTIADDR_MAX_LEN);
          return NULL;
        }
    }

  return multiaddr_new_take_bytes (g_byte_array_free_to_bytes (g_steal_pointer (&out)),
                                   error);
}

/**
 * punch_multiaddr_ref:
 * @self: a multiaddr
 *
 * Takes a reference on @self.
 *
 * Returns: (transfer full): @self, with one more reference
 *
 * Since: 0.1
 */
PunchMultiaddr *
punch_multiaddr_ref (PunchMultiaddr *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * punch_multiaddr_unref:
 * @self: (transfer full): a multiaddr
 *
 * Drops a reference on @self, freeing it with the last one.
 *
 * Since: 0.1
 */
void
punch_multiaddr_unref (PunchMultiaddr *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_ref_count_dec (&self->ref_count))
    {
      g_bytes_unref (self->bytes);
      g_free (self);
    }
}

/* Text of a component's value (not of KIND_NONE). */
static void
append_value_text (GString         *out,
                   const Component *c,
                   const guint8    *data)
{
  const guint8 *value = data + c->value_start;
  gsize len = c->value_len;
  gchar buf[INET6_ADDRSTRLEN];

  switch (c->info->kind)
    {
    case KIND_IP4:
    case KIND_IP6:
      inet_ntop (c->info->kind == KIND_IP4 ? AF_INET : AF_INET6, value,
                 buf, sizeof buf);
      g_string_append (out, buf);
      break;

    case KIND_PORT:
      g_string_append_printf (out, "%u", read_port (value));
      break;

    case KIND_CIDR:
      g_string_append_printf (out, "%u", value[0]);
      break;

    case KIND_NAME:
    case KIND_PATH:
      g_string_append_len (out, (const gchar *) value, len);
      break;

    case KIND_P2P:
      {
        g_autoptr(PunchPeerId) peer_id = punch_peer_id_new_from_data (value, len, NULL);
        g_autofree gchar *text = NULL;

        /* Validated when the multiaddr was made. */
        g_assert (peer_id != NULL);
        text = punch_peer_id_to_string (peer_id);
        g_string_append (out, text);
        break;
      }

    case KIND_ONION:
    case KIND_ONION3:
      {
        g_autofree gchar *text = punch_base32_encode (value, len - 2);

        g_string_append_printf (out, "%s:%u", text, read_port (value + len - 2));
        break;
      }

    case KIND_CERTHASH:
      {
        g_autofree gchar *text = punch_base64url_encode (value, len);

        g_string_append_c (out, 'u');
        g_string_append (out, text);
        break;
      }

    case KIND_NONE:
    default:
      g_assert_not_reached ();
    }
}

/**
 * punch_multiaddr_to_string:
 * @self: a multiaddr
 *
 * Formats @self in text form. Peer ids are written in base58btc and
 * certificate hashes in base64url multibase, so the text parses back to
 * the same multiaddr.
 *
 * Returns: (transfer full): the text form
 *
 * Since: 0.1
 */
gchar *
punch_multiaddr_to_string (PunchMultiaddr *self)
{
  GString *out;
  guint i;

  g_return_val_if_fail (self != NULL, NULL);

  out = g_string_new (NULL);
  for (i = 0; i < self->n_components; i++)
    {
      const Component *c = &self->components[i];

      g_string_append_c (out, '/');
      g_string_append (out, c->info->name);
      if (c->info->kind == KIND_NONE)
        continue;
      if (c->info->kind != KIND_PATH || self->data[c->value_start] != '/')
        g_string_append_c (out, '/');
      append_value_text (out, c, self->data);
    }

  return g_string_free (out, FALSE);
}

/**
 * punch_multiaddr_get_bytes:
 * @self: a multiaddr
 *
 * Gets the binary form of @self, as sent on the wire.
 *
 * Returns: (transfer full): the binary form of @self
 *
 * Since: 0.1
 */
GBytes *
punch_multiaddr_get_bytes (PunchMultiaddr *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_bytes_ref (self->bytes);
}

/**
 * punch_multiaddr_get_data:
 * @self: a multiaddr
 * @out_len: (out): the length of the binary form
 *
 * Gets the binary form of @self without copying it.
 *
 * Returns: (transfer none) (array length=out_len): the binary form of
 *   @self, valid as long as @self
 *
 * Since: 0.1
 */
const guint8 *
punch_multiaddr_get_data (PunchMultiaddr *self,
                          gsize          *out_len)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (out_len != NULL, NULL);

  *out_len = self->len;
  return self->data;
}

/**
 * punch_multiaddr_equal:
 * @a: (type PunchMultiaddr): a multiaddr
 * @b: (type PunchMultiaddr): another multiaddr
 *
 * Compares the binary forms of @a and @b (so `/ipfs/…` equals `/p2p/…`
 * and differently spelled IPv6 addresses are equal). Usable as a
 * #GEqualFunc.
 *
 * Returns: %TRUE if @a and @b are the same address
 *
 * Since: 0.1
 */
gboolean
punch_multiaddr_equal (gconstpointer a,
                       gconstpointer b)
{
  const PunchMultiaddr *ma = a, *mb = b;

  g_return_val_if_fail (a != NULL, FALSE);
  g_return_val_if_fail (b != NULL, FALSE);

  return ma->len == mb->len && memcmp (ma->data, mb->data, ma->len) == 0;
}

/**
 * punch_multiaddr_hash:
 * @multiaddr: (type PunchMultiaddr): a multiaddr
 *
 * A hash of the binary form, usable as a #GHashFunc with
 * [method@Punch.Multiaddr.equal].
 *
 * Returns: the hash
 *
 * Since: 0.1
 */
guint
punch_multiaddr_hash (gconstpointer multiaddr)
{
  const PunchMultiaddr *self = multiaddr;

  g_return_val_if_fail (multiaddr != NULL, 0);

  return g_bytes_hash (self->bytes);
}

static gsize
component_end (const Component *c)
{
  return (gsize) c->value_start + c->value_len;
}

static gboolean
component_equal (PunchMultiaddr *a,
                 guint           ia,
                 PunchMultiaddr *b,
                 guint           ib)
{
  const Component *ca = &a->components[ia], *cb = &b->components[ib];
  gsize la = component_end (ca) - ca->start, lb = component_end (cb) - cb->start;

  return la == lb && memcmp (a->data + ca->start, b->data + cb->start, la) == 0;
}

/* The first @n components of @self, or NULL for none. */
static PunchMultiaddr *
multiaddr_prefix (PunchMultiaddr *self,
                  guint           n)
{
  if (n == 0)
    return NULL;
  if (n == self->n_components)
    return punch_multiaddr_ref (self);

  /* A prefix of a valid multiaddr is valid. */
  return multiaddr_new_take_bytes (g_bytes_new_from_bytes (self->bytes, 0,
                                                           self->components[n].start),
                                   NULL);
}

/**
 * punch_multiaddr_encapsulate:
 * @self: the outer multiaddr
 * @inner: the multiaddr to append
 * @error: return location for a #GError
 *
 * Makes the multiaddr @self followed by @inner, for example
 * `/ip4/198.51.100.7/tcp/4001` and `/p2p/12D3Koo…` give
 * `/ip4/198.51.100.7/tcp/4001/p2p/12D3Koo…`.
 *
 * Errors: %PUNCH_ERROR_TOO_LARGE if the result exceeds the size or
 * component limits of [ctor@Punch.Multiaddr.new_from_data].
 *
 * Returns: (transfer full) (nullable): the combined multiaddr, or %NULL
 *   on error
 *
 * Since: 0.1
 */
PunchMultiaddr *
punch_multiaddr_encapsulate (PunchMultiaddr  *self,
                             PunchMultiaddr  *inner,
                             GError         **error)
{
  g_autoptr(GByteArray) out = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (inner != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (self->len + inner->len > PUNCH_MULTIADDR_MAX_LEN)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "Multiaddr longer than %d bytes", PUNCH_MULTIADDR_MAX_LEN);
      return NULL;
    }

  out = g_byte_array_sized_new (self->len + inner->len);
  g_byte_array_append (out, self->data, self->len);
  g_byte_array_append (out, inner->data, inner->len);

  return multiaddr_new_take_bytes (g_byte_array_free_to_bytes (g_steal_pointer (&out)),
                                   error);
}

/**
 * punch_multiaddr_decapsulate:
 * @self: a multiaddr
 * @inner: the multiaddr to remove
 *
 * Removes the last occurrence of @inner in @self, and everything after
 * it, as the libp2p addressing specification describes and go-multiaddr
 * does: @inner must appear as a whole sequence of components (values
 * included). Decapsulating `/tcp/1234` or `/tcp/1234/ws` from
 * `/ip4/198.51.100.7/tcp/1234/ws` gives `/ip4/198.51.100.7`.
 *
 * To cut at a protocol whatever its value, see
 * [method@Punch.Multiaddr.decapsulate_protocol].
 *
 * Returns: (transfer full) (nullable): what is left: @self itself if
 *   @inner does not occur in it, %NULL if nothing is left (@inner occurs
 *   at the start)
 *
 * Since: 0.1
 */
PunchMultiaddr *
punch_multiaddr_decapsulate (PunchMultiaddr *self,
                             PunchMultiaddr *inner)
{
  guint i;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (inner != NULL, NULL);

  for (i = self->n_components; i-- > 0;)
    {
      guint j;

      if (self->n_components - i < inner->n_components)
        continue;
      for (j = 0; j < inner->n_components; j++)
        if (!component_equal (self, i + j, inner, j))
          break;
      if (j == inner->n_components)
        return multiaddr_prefix (self, i);
    }

  return punch_multiaddr_ref (self);
}

/**
 * punch_multiaddr_decapsulate_protocol:
 * @self: a multiaddr
 * @protocol: a protocol
 *
 * Removes the last component of @self with @protocol, and everything
 * after it (js-multiaddr's `decapsulateCode`). For example removing
 * %PUNCH_MULTIADDR_PROTOCOL_P2P_CIRCUIT from a relayed address
 * `/ip4/…/tcp/4001/p2p/QmRelay/p2p-circuit/p2p/QmPeer` gives the relay's
 * address `/ip4/…/tcp/4001/p2p/QmRelay`.
 *
 * Returns: (transfer full) (nullable): what is left: @self itself if
 *   @protocol does not occur in it, %NULL if nothing is left
 *
 * Since: 0.1
 */
PunchMultiaddr *
punch_multiaddr_decapsulate_protocol (PunchMultiaddr         *self,
                                      PunchMultiaddrProtocol  protocol)
{
  guint i;

  g_return_val_if_fail (self != NULL, NULL);

  for (i = self->n_components; i-- > 0;)
    if (self->components[i].info->code == (guint32) protocol)
      return multiaddr_prefix (self, i);

  return punch_multiaddr_ref (self);
}

/**
 * punch_multiaddr_get_n_components:
 * @self: a multiaddr
 *
 * Gets the number of components of @self.
 *
 * Returns: the number of components of @self (at least 1)
 *
 * Since: 0.1
 */
guint
punch_multiaddr_get_n_components (PunchMultiaddr *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_components;
}

/**
 * punch_multiaddr_get_protocol:
 * @self: a multiaddr
 * @index: a component index, below [method@Punch.Multiaddr.get_n_components]
 *
 * Gets the protocol of a component.
 *
 * Returns: the protocol of component @index
 *
 * Since: 0.1
 */
PunchMultiaddrProtocol
punch_multiaddr_get_protocol (PunchMultiaddr *self,
                              guint           index)
{
  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (index < self->n_components, 0);

  return (PunchMultiaddrProtocol) self->components[index].info->code;
}

/**
 * punch_multiaddr_get_protocol_name:
 * @self: a multiaddr
 * @index: a component index, below [method@Punch.Multiaddr.get_n_components]
 *
 * Gets the protocol name of a component.
 *
 * Returns: (transfer none): the protocol name of component @index, as in
 *   the text form (`ip4`, `tcp`, `p2p`…)
 *
 * Since: 0.1
 */
const gchar *
punch_multiaddr_get_protocol_name (PunchMultiaddr *self,
                                   guint           index)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < self->n_components, NULL);

  return self->components[index].info->name;
}

/**
 * punch_multiaddr_get_value_string:
 * @self: a multiaddr
 * @index: a component index, below [method@Punch.Multiaddr.get_n_components]
 *
 * Returns the value of component @index as in the text form: an address,
 * a port number, a name, a base58btc peer id… A `unix` path is returned
 * as stored (normally with its leading `/`).
 *
 * Returns: (transfer full) (nullable): the value, or %NULL if the
 *   protocol has none
 *
 * Since: 0.1
 */
gchar *
punch_multiaddr_get_value_string (PunchMultiaddr *self,
                                  guint           index)
{
  GString *out;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < self->n_components, NULL);

  if (self->components[index].info->kind == KIND_NONE)
    return NULL;

  out = g_string_new (NULL);
  append_value_text (out, &self->components[index], self->data);
  return g_string_free (out, FALSE);
}

/**
 * punch_multiaddr_get_value:
 * @self: a multiaddr
 * @index: a component index, below [method@Punch.Multiaddr.get_n_components]
 *
 * Gets the value of a component in binary form.
 *
 * Returns: (transfer full): the binary value of component @index, without
 *   its length prefix (empty if the protocol has no value)
 *
 * Since: 0.1
 */
GBytes *
punch_multiaddr_get_value (PunchMultiaddr *self,
                           guint           index)
{
  const Component *c;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < self->n_components, NULL);

  c = &self->components[index];
  return g_bytes_new_from_bytes (self->bytes, c->value_start, c->value_len);
}

const guint8 *
punch_multiaddr_peek_value (PunchMultiaddr *self,
                            guint           index,
                            gsize          *out_len)
{
  const Component *c;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < self->n_components, NULL);
  g_return_val_if_fail (out_len != NULL, NULL);

  c = &self->components[index];
  *out_len = c->value_len;
  return self->data + c->value_start;
}

/**
 * punch_multiaddr_find_protocol:
 * @self: a multiaddr
 * @protocol: a protocol
 *
 * Looks for a protocol among the components of @self.
 *
 * Returns: the index of the first component of @self with @protocol, or
 *   -1 if there is none
 *
 * Since: 0.1
 */
gint
punch_multiaddr_find_protocol (PunchMultiaddr         *self,
                               PunchMultiaddrProtocol  protocol)
{
  guint i;

  g_return_val_if_fail (self != NULL, -1);

  for (i = 0; i < self->n_components; i++)
    if (self->components[i].info->code == (guint32) protocol)
      return (gint) i;
  return -1;
}

/**
 * punch_multiaddr_new_from_peer_id:
 * @peer_id: a peer id
 *
 * Makes the multiaddr of a peer id alone, to be encapsulated in a
 * transport address or used with a relay.
 *
 * Returns: (transfer full): the multiaddr `/p2p/<peer_id>`
 *
 * Since: 0.1
 */
PunchMultiaddr *
punch_multiaddr_new_from_peer_id (PunchPeerId *peer_id)
{
  g_autoptr(GByteArray) out = NULL;
  g_autoptr(GBytes) id = NULL;
  guint8 header[PUNCH_VARINT_MAX_LEN];
  const guint8 *data;
  gsize len;

  g_return_val_if_fail (peer_id != NULL, NULL);

  id = punch_peer_id_get_bytes (peer_id);
  data = g_bytes_get_data (id, &len);
  out = g_byte_array_new ();
  g_byte_array_append (out, header,
                       punch_varint_encode (PUNCH_MULTIADDR_PROTOCOL_P2P, header));
  g_byte_array_append (out, header, punch_varint_encode (len, header));
  g_byte_array_append (out, data, len);

  return multiaddr_new_take_bytes (g_byte_array_free_to_bytes (g_steal_pointer (&out)),
                                   NULL);
}

/**
 * punch_multiaddr_get_peer_id:
 * @self: a multiaddr
 *
 * Returns the peer id that @self addresses: the value of its last
 * component if that is `p2p`. A relayed address
 * `/…/p2p/QmRelay/p2p-circuit/p2p/QmPeer` gives `QmPeer`; a relay's
 * listening address `/…/p2p/QmRelay/p2p-circuit` gives none.
 *
 * Returns: (transfer full) (nullable): the peer id, or %NULL
 *
 * Since: 0.1
 */
PunchPeerId *
punch_multiaddr_get_peer_id (PunchMultiaddr *self)
{
  const Component *last;

  g_return_val_if_fail (self != NULL, NULL);

  last = &self->components[self->n_components - 1];
  if (last->info->kind != KIND_P2P)
    return NULL;

  return punch_peer_id_new_from_data (self->data + last->value_start,
                                      last->value_len, NULL);
}

/* The first ip4/ip6 component, or -1. */
static gint
find_first_ip (PunchMultiaddr *self)
{
  guint i;

  for (i = 0; i < self->n_components; i++)
    if (self->components[i].info->kind == KIND_IP4 ||
        self->components[i].info->kind == KIND_IP6)
      return (gint) i;
  return -1;
}

/**
 * punch_multiaddr_get_inet_address:
 * @self: a multiaddr
 *
 * Gets the first IP address of @self.
 *
 * Returns: (transfer full) (nullable): the first `ip4` or `ip6` address
 *   of @self, or %NULL if it has none
 *
 * Since: 0.1
 */
GInetAddress *
punch_multiaddr_get_inet_address (PunchMultiaddr *self)
{
  const Component *c;
  gint i;

  g_return_val_if_fail (self != NULL, NULL);

  i = find_first_ip (self);
  if (i < 0)
    return NULL;

  c = &self->components[i];
  return g_inet_address_new_from_bytes (self->data + c->value_start,
                                        c->info->kind == KIND_IP4 ?
                                        G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6);
}

static const guint8 ipv4_mapped_prefix[12] = {
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/**
 * punch_multiaddr_new_from_inet_socket_address:
 * @address: an IPv4 or IPv6 socket address
 * @transport: %PUNCH_MULTIADDR_PROTOCOL_TCP or %PUNCH_MULTIADDR_PROTOCOL_UDP
 *
 * Makes `/ip4/<address>/<transport>/<port>` or
 * `/ip6/<address>/<transport>/<port>`. An IPv4-mapped IPv6 address
 * (`::ffff:a.b.c.d`, as dual-stack sockets report IPv4 peers) becomes
 * `/ip4/a.b.c.d`. An IPv6 address with a scope id (link-local) gets an
 * `/ip6zone/<scope id>` component in front.
 *
 * Returns: (transfer full): the multiaddr
 *
 * Since: 0.1
 */
PunchMultiaddr *
punch_multiaddr_new_from_inet_socket_address (GInetSocketAddress     *address,
                                              PunchMultiaddrProtocol  transport)
{
  g_autoptr(GByteArray) out = NULL;
  GInetAddress *ip;
  const guint8 *ip_bytes;
  guint8 buf[PUNCH_VARINT_MAX_LEN];
  guint16 port;

  g_return_val_if_fail (G_IS_INET_SOCKET_ADDRESS (address), NULL);
  g_return_val_if_fail (transport == PUNCH_MULTIADDR_PROTOCOL_TCP ||
                        transport == PUNCH_MULTIADDR_PROTOCOL_UDP, NULL);

  ip = g_inet_socket_address_get_address (address);
  ip_bytes = g_inet_address_to_bytes (ip);
  port = g_inet_socket_address_get_port (address);
  out = g_byte_array_new ();

  if (g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV4)
    {
      g_byte_array_append (out, buf, punch_varint_encode (PUNCH_MULTIADDR_PROTOCOL_IP4, buf));
      g_byte_array_append (out, ip_bytes, 4);
    }
  else if (memcmp (ip_bytes, ipv4_mapped_prefix, sizeof ipv4_mapped_prefix) == 0)
    {
      g_byte_array_append (out, buf, punch_varint_encode (PUNCH_MULTIADDR_PROTOCOL_IP4, buf));
      g_byte_array_append (out, ip_bytes + 12, 4);
    }
  else
    {
      guint32 scope_id = g_inet_socket_address_get_scope_id (address);

      if (scope_id != 0)
        {
          g_autofree gchar *zone = g_strdup_printf ("%u", scope_id);
          gsize zone_len = strlen (zone);

          g_byte_array_append (out, buf, punch_varint_encode (PUNCH_MULTIADDR_PROTOCOL_IP6ZONE, buf));
          g_byte_array_append (out, buf, punch_varint_encode (zone_len, buf));
          g_byte_array_append (out, (const guint8 *) zone, zone_len);
        }
      g_byte_array_append (out, buf, punch_varint_encode (PUNCH_MULTIADDR_PROTOCOL_IP6, buf));
      g_byte_array_append (out, ip_bytes, 16);
    }

  g_byte_array_append (out, buf, punch_varint_encode (transport, buf));
  buf[0] = port >> 8;
  buf[1] = port & 0xff;
  g_byte_array_append (out, buf, 2);

  return multiaddr_new_take_bytes (g_byte_array_free_to_bytes (g_steal_pointer (&out)),
                                   NULL);
}

/**
 * punch_multiaddr_to_inet_socket_address:
 * @self: a multiaddr
 * @out_transport: (out) (optional): %PUNCH_MULTIADDR_PROTOCOL_TCP or
 *   %PUNCH_MULTIADDR_PROTOCOL_UDP
 * @error: return location for a #GError
 *
 * Finds the first `ip4` or `ip6` component of @self, which must be
 * followed by `tcp` or `udp`, and makes a socket address of them. What
 * comes before or after the pair is ignored, so
 * `/ip4/198.51.100.7/udp/4001/quic-v1/p2p/…` gives 198.51.100.7:4001
 * over UDP. An `/ip6zone/<zone>` right before the `ip6` sets the scope
 * id: a number, or an interface name of this host.
 *
 * Errors: %PUNCH_ERROR_UNSUPPORTED if @self has no IP address followed by
 * a TCP or UDP port, or names an unknown interface as its zone.
 *
 * Returns: (transfer full) (nullable): a #GInetSocketAddress, or %NULL on
 *   error
 *
 * Since: 0.1
 */
GSocketAddress *
punch_multiaddr_to_inet_socket_address (PunchMultiaddr          *self,
                                        PunchMultiaddrProtocol  *out_transport,
                                        GError                 **error)
{
  g_autoptr(GInetAddress) ip = NULL;
  const Component *c, *t;
  guint32 scope_id = 0;
  gint i;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  i = find_first_ip (self);
  if (i < 0 || (guint) i + 1 >= self->n_components ||
      (self->components[i + 1].info->code != PUNCH_MULTIADDR_PROTOCOL_TCP &&
       self->components[i + 1].info->code != PUNCH_MULTIADDR_PROTOCOL_UDP))
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                           "Multiaddr has no IP address followed by a TCP or UDP port");
      return NULL;
    }
  c = &self->components[i];
  t = &self->components[i + 1];

  if (c->info->kind == KIND_IP6 && i > 0 &&
      self->components[i - 1].info->code == PUNCH_MULTIADDR_PROTOCOL_IP6ZONE)
    {
      const Component *z = &self->components[i - 1];
      g_autofree gchar *zone = g_strndup ((const gchar *) self->data + z->value_start,
                                          z->value_len);
      guint64 number;

      if (g_ascii_string_to_unsigned (zone, 10, 1, G_MAXUINT32, &number, NULL))
        scope_id = number;
      else
        scope_id = if_nametoindex (zone);
      if (scope_id == 0)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                       "Unknown IPv6 zone '%s'", zone);
          return NULL;
        }
    }

  ip = g_inet_address_new_from_bytes (self->data + c->value_start,
                                      c->info->kind == KIND_IP4 ?
                                      G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6);
  if (out_transport)
    *out_transport = (PunchMultiaddrProtocol) t->info->code;

  return g_object_new (G_TYPE_INET_SOCKET_ADDRESS,
                       "address", ip,
                       "port", (guint) read_port (self->data + t->value_start),
                       "scope-id", scope_id,
                       NULL);
}

/* Scope classification: IPv4 special-purpose blocks (IANA IPv4
 * Special-Purpose Address Registry, RFC 6890 and its updates) plus
 * multicast and the reserved 240.0.0.0/4. */
typedef struct {
  guint8 prefix[4];
  guint bits;
  PunchMultiaddrScope scope;
  gboolean documentation;
} Ipv4Range;

static const Ipv4Range ipv4_ranges[] = {
  { { 0, 0, 0, 0 }, 8, PUNCH_MULTIADDR_SCOPE_RESERVED, FALSE },       /* "this network", RFC 791 */
  { { 10, 0, 0, 0 }, 8, PUNCH_MULTIADDR_SCOPE_PRIVATE, FALSE },       /* RFC 1918 */
  { { 100, 64, 0, 0 }, 10, PUNCH_MULTIADDR_SCOPE_PRIVATE, FALSE },    /* shared address space, RFC 6598 */
  { { 127, 0, 0, 0 }, 8, PUNCH_MULTIADDR_SCOPE_LOOPBACK, FALSE },     /* RFC 1122 */
  { { 169, 254, 0, 0 }, 16, PUNCH_MULTIADDR_SCOPE_PRIVATE, FALSE },   /* link local, RFC 3927 */
  { { 172, 16, 0, 0 }, 12, PUNCH_MULTIADDR_SCOPE_PRIVATE, FALSE },    /* RFC 1918 */
  { { 192, 0, 0, 0 }, 24, PUNCH_MULTIADDR_SCOPE_RESERVED, FALSE },    /* IETF protocol assignments, RFC 6890 */
  { { 192, 0, 2, 0 }, 24, PUNCH_MULTIADDR_SCOPE_RESERVED, TRUE },     /* TEST-NET-1, RFC 5737 */
  { { 192, 88, 99, 0 }, 24, PUNCH_MULTIADDR_SCOPE_RESERVED, FALSE },  /* 6to4 relay anycast, RFC 7526 */
  { { 192, 168, 0, 0 }, 16, PUNCH_MULTIADDR_SCOPE_PRIVATE, FALSE },   /* RFC 1918 */
  { { 198, 18, 0, 0 }, 15, PUNCH_MULTIADDR_SCOPE_RESERVED, FALSE },   /* benchmarking, RFC 2544 */
  { { 198, 51, 100, 0 }, 24, PUNCH_MULTIADDR_SCOPE_RESERVED, TRUE },  /* TEST-NET-2, RFC 5737 */
  { { 203, 0, 113, 0 }, 24, PUNCH_MULTIADDR_SCOPE_RESERVED, TRUE },   /* TEST-NET-3, RFC 5737 */
  { { 224, 0, 0, 0 }, 4, PUNCH_MULTIADDR_SCOPE_RESERVED, FALSE },     /* multicast, RFC 5771 */
  { { 240, 0, 0, 0 }, 4, PUNCH_MULTIADDR_SCOPE_RESERVED, FALSE },     /* reserved, RFC 1112; broadcast */
};

static gboolean
prefix_matches (const guint8 *ip,
                const guint8 *prefix,
                guint         bits)
{
  guint whole = bits / 8, rest = bits % 8;

  if (memcmp (ip, prefix, whole) != 0)
    return FALSE;
  if (rest == 0)
    return TRUE;
  return ((ip[whole] ^ prefix[whole]) & (0xff00 >> rest)) == 0;
}

static PunchMultiaddrScope
ipv4_scope (const guint8             *ip,
            PunchMultiaddrScopeFlags  flags)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (ipv4_ranges); i++)
    {
      const Ipv4Range *r = &ipv4_ranges[i];

      if (!prefix_matches (ip, r->prefix, r->bits))
        continue;
      if (r->documentation && (flags & PUNCH_MULTIADDR_SCOPE_FLAGS_DOCUMENTATION_IS_PUBLIC))
        return PUNCH_MULTIADDR_SCOPE_PUBLIC;
      return r->scope;
    }
  return PUNCH_MULTIADDR_SCOPE_PUBLIC;
}

typedef struct {
  guint8 prefix[16];
  guint bits;
  PunchMultiaddrScope scope;
  gboolean documentation;
} Ipv6Range;

/* Checked in order; what none matches is public if in 2000::/3 (global
 * unicast, the only IPv6 space IANA allocates) and reserved otherwise. */
static const Ipv6Range ipv6_ranges[] = {
  { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 128,
    PUNCH_MULTIADDR_SCOPE_LOOPBACK, FALSE },                                /* ::1, RFC 4291 */
  { { 0xfc }, 7, PUNCH_MULTIADDR_SCOPE_PRIVATE, FALSE },                    /* unique local, RFC 4193 */
  { { 0xfe, 0x80 }, 10, PUNCH_MULTIADDR_SCOPE_PRIVATE, FALSE },             /* link local, RFC 4291 */
  { { 0x20, 0x01, 0x0d, 0xb8 }, 32, PUNCH_MULTIADDR_SCOPE_RESERVED, TRUE }, /* documentation, RFC 3849 */
  { { 0x3f, 0xff }, 20, PUNCH_MULTIADDR_SCOPE_RESERVED, TRUE },             /* documentation, RFC 9637 */
  { { 0x20, 0x01 }, 23, PUNCH_MULTIADDR_SCOPE_RESERVED, FALSE },            /* IETF protocol assignments, RFC 2928 */
  { { 0x20 }, 3, PUNCH_MULTIADDR_SCOPE_PUBLIC, FALSE },                     /* global unicast */
};

static const guint8 nat64_prefix[12] = {
  0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0
};

static PunchMultiaddrScope
ipv6_scope (const guint8             *ip,
            PunchMultiaddrScopeFlags  flags)
{
  gsize i;

  /* IPv4-mapped (RFC 4291) and NAT64 well-known prefix (RFC 6052)
   * addresses stand for an IPv4 address and are classified as it. */
  if (memcmp (ip, ipv4_mapped_prefix, 12) == 0 ||
      memcmp (ip, nat64_prefix, 12) == 0)
    return ipv4_scope (ip + 12, flags);

  for (i = 0; i < G_N_ELEMENTS (ipv6_ranges); i++)
    {
      const Ipv6Range *r = &ipv6_ranges[i];

      if (!prefix_matches (ip, r->prefix, r->bits))
        continue;
      if (r->documentation && (flags & PUNCH_MULTIADDR_SCOPE_FLAGS_DOCUMENTATION_IS_PUBLIC))
        return PUNCH_MULTIADDR_SCOPE_PUBLIC;
      return r->scope;
    }
  /* ::, ::/8, 100::/64 discard-only, 5f00::/16 SRv6, 64:ff9b:1::/48,
   * ff00::/8 multicast, fec0::/10 and all unallocated space. */
  return PUNCH_MULTIADDR_SCOPE_RESERVED;
}

PunchMultiaddrScope
punch_ip_address_get_scope (const guint8             *ip,
                            gsize                     len,
                            PunchMultiaddrScopeFlags  flags)
{
  g_return_val_if_fail (ip != NULL, PUNCH_MULTIADDR_SCOPE_UNKNOWN);
  g_return_val_if_fail (len == 4 || len == 16, PUNCH_MULTIADDR_SCOPE_UNKNOWN);

  return len == 4 ? ipv4_scope (ip, flags) : ipv6_scope (ip, flags);
}

PunchMultiaddrScope
punch_inet_address_get_scope (GInetAddress             *address,
                              PunchMultiaddrScopeFlags  flags)
{
  g_return_val_if_fail (G_IS_INET_ADDRESS (address), PUNCH_MULTIADDR_SCOPE_UNKNOWN);

  return punch_ip_address_get_scope (g_inet_address_to_bytes (address),
                                     g_inet_address_get_native_size (address),
                                     flags);
}

/**
 * punch_multiaddr_get_scope:
 * @self: a multiaddr
 * @flags: options
 *
 * Classifies the first `ip4` or `ip6` address of @self by the
 * special-purpose address registries (RFC 6890 and later RFCs):
 *
 * - loopback: 127.0.0.0/8, ::1
 * - private: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 (RFC 1918),
 *   100.64.0.0/10 (RFC 6598), 169.254.0.0/16 (RFC 3927), fc00::/7
 *   (RFC 4193), fe80::/10 (RFC 4291)
 * - reserved: 0.0.0.0/8, 192.0.0.0/24, 192.0.2.0/24, 192.88.99.0/24,
 *   198.18.0.0/15, 198.51.100.0/24, 203.0.113.0/24, 224.0.0.0/4,
 *   240.0.0.0/4 (which holds 255.255.255.255); 2001::/23 (RFC 2928),
 *   2001:db8::/32 (RFC 3849), 3fff::/20 (RFC 9637) and every IPv6
 *   address outside 2000::/3 global unicast (::, 100::/64, 5f00::/16,
 *   64:ff9b:1::/48, ff00::/8…)
 * - public: everything else
 *
 * IPv4-mapped IPv6 addresses (::ffff:0:0/96) and the NAT64 well-known
 * prefix 64:ff9b::/96 are classified as the IPv4 address they hold.
 * With %PUNCH_MULTIADDR_SCOPE_FLAGS_DOCUMENTATION_IS_PUBLIC the
 * documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
 * 2001:db8::/32, 3fff::/20) count as public, for test networks that use
 * them as their internet.
 *
 * Returns: the scope, %PUNCH_MULTIADDR_SCOPE_UNKNOWN if @self has no IP
 *   address (a DNS name is not resolved)
 *
 * Since: 0.1
 */
PunchMultiaddrScope
punch_multiaddr_get_scope (PunchMultiaddr           *self,
                           PunchMultiaddrScopeFlags  flags)
{
  const Component *c;
  gint i;

  g_return_val_if_fail (self != NULL, PUNCH_MULTIADDR_SCOPE_UNKNOWN);

  i = find_first_ip (self);
  if (i < 0)
    return PUNCH_MULTIADDR_SCOPE_UNKNOWN;

  c = &self->components[i];
  return punch_ip_address_get_scope (self->data + c->value_start, c->value_len, flags);
}

/**
 * punch_multiaddr_is_public:
 * @self: a multiaddr
 *
 * Tells whether @self is a globally reachable address.
 *
 * Returns: %TRUE if the first IP address of @self is globally reachable
 *   (%PUNCH_MULTIADDR_SCOPE_PUBLIC of [method@Punch.Multiaddr.get_scope]
 *   with no flags)
 *
 * Since: 0.1
 */
gboolean
punch_multiaddr_is_public (PunchMultiaddr *self)
{
  return punch_multiaddr_get_scope (self, PUNCH_MULTIADDR_SCOPE_FLAGS_NONE) ==
         PUNCH_MULTIADDR_SCOPE_PUBLIC;
}

/**
 * punch_multiaddr_is_private:
 * @self: a multiaddr
 *
 * Tells whether @self is an address of a private network.
 *
 * Returns: %TRUE if the first IP address of @self is in a private or
 *   link-local range (%PUNCH_MULTIADDR_SCOPE_PRIVATE of
 *   [method@Punch.Multiaddr.get_scope])
 *
 * Since: 0.1
 */
gboolean
punch_multiaddr_is_private (PunchMultiaddr *self)
{
  return punch_multiaddr_get_scope (self, PUNCH_MULTIADDR_SCOPE_FLAGS_NONE) ==
         PUNCH_MULTIADDR_SCOPE_PRIVATE;
}

/**
 * punch_multiaddr_is_loopback:
 * @self: a multiaddr
 *
 * Tells whether @self is a loopback address.
 *
 * Returns: %TRUE if the first IP address of @self is a loopback address
 *
 * Since: 0.1
 */
gboolean
punch_multiaddr_is_loopback (PunchMultiaddr *self)
{
  return punch_multiaddr_get_scope (self, PUNCH_MULTIADDR_SCOPE_FLAGS_NONE) ==
         PUNCH_MULTIADDR_SCOPE_LOOPBACK;
}
