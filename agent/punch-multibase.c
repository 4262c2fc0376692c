/* punch-multibase.c: base58btc, base32 and base16 codecs (multibase bodies).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-multibase.h"

#include <string.h>

#include "punch-error.h"

/*
 * These are the bodies of the multibase encodings 'z' (base58btc), 'b'
 * (RFC 4648 base32, lowercase, no padding) and 'f' (base16, lowercase);
 * the multibase prefix character is the caller's business.
 */

static const gchar base58_alphabet[] =
  "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Character -> digit, -1 outside the alphabet. */
static gint
base58_digit (guchar c)
{
  const gchar *p;

  if (c == '\0')
    return -1;
  p = strchr (base58_alphabet, c);
  return p ? (gint) (p - base58_alphabet) : -1;
}

/*
 * punch_base58btc_encode:
 * @data: (array length=len) (nullable): the bytes
 * @len: their number
 *
 * Encodes @data in base58 with the bitcoin alphabet; each leading zero
 * byte becomes a '1'.
 *
 * Returns: (transfer full): the text, "" for empty input
 */
gchar *
punch_base58btc_encode (const guint8 *data,
                        gsize         len)
{
  gsize zeros = 0, size, high, i, j;
  g_autofree guint8 *digits = NULL;
  gchar *out;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  while (zeros < len && data[zeros] == 0)
    zeros++;

  /* log(256) / log(58) < 1.37 */
  size = (len - zeros) * 138 / 100 + 1;
  digits = g_malloc0 (size);
  high = size;

  for (i = zeros; i < len; i++)
    {
      guint carry = data[i];

      for (j = size; j > 0 && (carry != 0 || j > high); j--)
        {
          carry += 256u * digits[j - 1];
          digits[j - 1] = carry % 58;
          carry /= 58;
        }
      high = j;
    }

  for (j = 0; j < size && digits[j] == 0; j++)
    ;

  out = g_malloc (zeros + (size - j) + 1);
  memset (out, '1', zeros);
  for (i = zeros; j < size; i++, j++)
    out[i] = base58_alphabet[digits[j]];
  out[i] = '\0';

  return out;
}

/*
 * punch_base58btc_decode:
 * @text: base58btc text (bitcoin alphabet)
 * @error: return location for a #GError
 *
 * Decodes @text; each leading '1' becomes a zero byte.
 *
 * Errors: %PUNCH_ERROR_MALFORMED for empty text or a character outside the
 * alphabet, %PUNCH_ERROR_TOO_LARGE for text longer than
 * %PUNCH_BASE58_MAX_TEXT_LEN characters.
 *
 * Returns: (transfer full) (nullable): the bytes, or %NULL on error
 */
GBytes *
punch_base58btc_decode (const gchar  *text,
                        GError      **error)
{
  gsize text_len, zeros = 0, size, high, i, j;
  g_autofree guint8 *bytes = NULL;
  guint8 *out;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  text_len = strnlen (text, PUNCH_BASE58_MAX_TEXT_LEN + 1);
  if (text_len == 0)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Empty base58btc text");
      return NULL;
    }
  if (text_len > PUNCH_BASE58_MAX_TEXT_LEN)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "Base58btc text longer than %d characters",
                   PUNCH_BASE58_MAX_TEXT_LEN);
      return NULL;
    }

  while (zeros < text_len && text[zeros] == '1')
    zeros++;

  /* log(58) / log(256) < 0.733 */
  size = (text_len - zeros) * 733 / 1000 + 1;
  bytes = g_malloc0 (size);
  high = size;

  for (i = zeros; i < text_len; i++)
    {
      gint digit = base58_digit ((guchar) text[i]);
      guint carry;

      if (digit < 0)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "Invalid base58btc character at offset %" G_GSIZE_FORMAT,
                       i);
          return NULL;
        }

      carry = (guint) digit;
      for (j = size; j > 0 && (carry != 0 || j > high); j--)
        {
          carry += 58u * bytes[j - 1];
          bytes[j - 1] = carry & 0xff;
          carry >>= 8;
        }
      high = j;
    }

  for (j = 0; j < size && bytes[j] == 0; j++)
    ;

  out = g_malloc0 (zeros + (size - j) + 1);
  memcpy (out + zeros, bytes + j, size - j);

  return g_bytes_new_take (out, zeros + (size - j));
}

static const gchar base32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

/*
 * punch_base32_encode:
 * @data: (array length=len) (nullable): the bytes
 * @len: their number
 *
 * Encodes @data in RFC 4648 base32, lowercase, without padding.
 *
 * Returns: (transfer full): the text, "" for empty input
 */
gchar *
punch_base32_encode (const guint8 *data,
                     gsize         len)
{
  GString *out;
  guint32 acc = 0;
  guint bits = 0;
  gsize i;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  out = g_string_sized_new ((len * 8 + 4) / 5 + 1);
  for (i = 0; i < len; i++)
    {
      acc = (acc << 8) | data[i];
      bits += 8;
      while (bits >= 5)
        {
          bits -= 5;
          g_string_append_c (out, base32_alphabet[(acc >> bits) & 0x1f]);
        }
      acc &= (1u << bits) - 1;
    }
  if (bits > 0)
    g_string_append_c (out, base32_alphabet[(acc << (5 - bits)) & 0x1f]);

  return g_string_free (out, FALSE);
}

static gint
base32_digit (guchar c)
{
  if (c >= 'a' && c <= 'z')
    return c - 'a';
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= '2' && c <= '7')
    return c - '2' + 26;
  return -1;
}

/*
 * punch_base32_decode:
 * @text: RFC 4648 base32 text without padding, lower or upper case
 * @error: return location for a #GError
 *
 * Decodes @text. The empty text decodes to no bytes.
 *
 * Errors: %PUNCH_ERROR_MALFORMED for a character outside the alphabet
 * (padding included), a length no byte count encodes to (1, 3 or 6
 * modulo 8), or non-zero bits after the last byte.
 *
 * Returns: (transfer full) (nullable): the bytes, or %NULL on error
 */
GBytes *
punch_base32_decode (const gchar  *text,
                     GError      **error)
{
  gsize text_len, rem, i, n = 0;
  g_autofree guint8 *out = NULL;
  guint32 acc = 0;
  guint bits = 0;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  text_len = strlen (text);
  rem = text_len % 8;
  if (rem == 1 || rem == 3 || rem == 6)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "Invalid base32 length %" G_GSIZE_FORMAT, text_len);
      return NULL;
    }

  out = g_malloc (text_len * 5 / 8 + 1);
  for (i = 0; i < text_len; i++)
    {
      gint digit = base32_digit ((guchar) text[i]);

      if (digit < 0)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "Invalid base32 character at offset %" G_GSIZE_FORMAT,
                       i);
          return NULL;
        }
      acc = (acc << 5) | (guint32) digit;
      bits += 5;
      if (bits >= 8)
        {
          bits -= 8;
          out[n++] = (acc >> bits) & 0xff;
          acc &= (1u << bits) - 1;
        }
    }

  /* Fewer than 5 bits are left over; they must be zero padding. */
  if (acc != 0)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Non-zero trailing bits in base32 text");
      return NULL;
    }

  return g_bytes_new_take (g_steal_pointer (&out), n);
}

/*
 * punch_base16_encode:
 * @data: (array length=len) (nullable): the bytes
 * @len: their number
 *
 * Returns: (transfer full): @data in lowercase hexadecimal
 */
gchar *
punch_base16_encode (const guint8 *data,
                     gsize         len)
{
  static const gchar hex[] = "0123456789abcdef";
  gchar *out;
  gsize i;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  out = g_malloc (len * 2 + 1);
  for (i = 0; i < len; i++)
    {
      out[2 * i] = hex[data[i] >> 4];
      out[2 * i + 1] = hex[data[i] & 0xf];
    }
  out[2 * len] = '\0';

  return out;
}

/*
 * punch_base16_decode:
 * @text: hexadecimal text, lower or upper case
 * @error: return location for a #GError
 *
 * Decodes @text. The empty text decodes to no bytes.
 *
 * Errors: %PUNCH_ERROR_MALFORMED for an odd length or a character that is
 * not a hexadecimal digit.
 *
 * Returns: (transfer full) (nullable): the bytes, or %NULL on error
 */
GBytes *
punch_base16_decode (const gchar  *text,
                     GError      **error)
{
  g_autofree guint8 *out = NULL;
  gsize text_len, i;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  text_len = strlen (text);
  if (text_len % 2 != 0)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Odd length of base16 text");
      return NULL;
    }

  out = g_malloc (text_len / 2 + 1);
  for (i = 0; i < text_len; i += 2)
    {
      gint hi = g_ascii_xdigit_value (text[i]);
      gint lo = g_ascii_xdigit_value (text[i + 1]);

      if (hi < 0 || lo < 0)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "Invalid base16 character at offset %" G_GSIZE_FORMAT,
                       hi < 0 ? i : i + 1);
          return NULL;
        }
      out[i / 2] = (guint8) ((hi << 4) | lo);
    }

  return g_bytes_new_take (g_steal_pointer (&out), text_len / 2);
}

static const gchar base64url_alphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/*
 * punch_base64url_encode:
 * @data: (array length=len) (nullable): the bytes
 * @len: their number
 *
 * Encodes @data in RFC 4648 section 5 base64url without padding (the
 * body of multibase 'u').
 *
 * Returns: (transfer full): the text, "" for empty input
 */
gchar *
punch_base64url_encode (const guint8 *data,
                        gsize         len)
{
  GString *out;
  guint32 acc = 0;
  guint bits = 0;
  gsize i;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  out = g_string_sized_new ((len * 4 + 2) / 3 + 1);
  for (i = 0; i < len; i++)
    {
      acc = (acc << 8) | data[i];
      bits += 8;
      while (bits >= 6)
        {
          bits -= 6;
          g_string_append_c (out, base64url_alphabet[(acc >> bits) & 0x3f]);
        }
      acc &= (1u << bits) - 1;
    }
  if (bits > 0)
    g_string_append_c (out, base64url_alphabet[(acc << (6 - bits)) & 0x3f]);

  return g_string_free (out, FALSE);
}

static gint
base64url_digit (guchar c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '-')
    return 62;
  if (c == '_')
    return 63;
  return -1;
}

/*
 * punch_base64url_decode:
 * @text: base64url text without padding
 * @error: return location for a #GError
 *
 * Decodes @text. The empty text decodes to no bytes.
 *
 * Errors: %PUNCH_ERROR_MALFORMED for a character outside the alphabet
 * (padding and the '+' '/' of standard base64 included), a length of 1
 * modulo 4, or non-zero bits after the last byte.
 *
 * Returns: (transfer full) (nullable): the bytes, or %NULL on error
 */
GBytes *
punch_base64url_decode (const gchar  *text,
                        GError      **error)
{
  g_autofree guint8 *out = NULL;
  gsize text_len, i, n = 0;
  guint32 acc = 0;
  guint bits = 0;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  text_len = strlen (text);
  if (text_len % 4 == 1)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "Invalid base64url length %" G_GSIZE_FORMAT, text_len);
      return NULL;
    }

  out = g_malloc (text_len * 3 / 4 + 1);
  for (i = 0; i < text_len; i++)
    {
      gint digit = base64url_digit ((guchar) text[i]);

      if (digit < 0)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "Invalid base64url character at offset %" G_GSIZE_FORMAT,
                       i);
          return NULL;
        }
      acc = (acc << 6) | (guint32) digit;
      bits += 6;
      if (bits >= 8)
        {
          bits -= 8;
          out[n++] = (acc >> bits) & 0xff;
          acc &= (1u << bits) - 1;
        }
    }

  if (acc != 0)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Non-zero trailing bits in base64url text");
      return NULL;
    }

  return g_bytes_new_take (g_steal_pointer (&out), n);
}
