/* punch-varint.c: multiformats unsigned varints.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-varint.h"

#include "punch-error.h"

/*
 * The multiformats unsigned varint (multiformats/unsigned-varint) is
 * LEB128: seven bits per byte, least significant group first, the high bit
 * set on every byte but the last. It must be minimal (no trailing 0x00
 * group) and at most 9 bytes long, which limits values to 63 bits.
 */

/*
 * punch_varint_encode:
 * @value: the value, below 2^63
 * @out: a buffer of at least %PUNCH_VARINT_MAX_LEN bytes
 *
 * Writes the minimal encoding of @value to @out.
 *
 * Returns: the number of bytes written (1 to 9), or 0 if @value is too large
 */
gsize
punch_varint_encode (guint64  value,
                     guint8  *out)
{
  gsize n = 0;

  g_return_val_if_fail (value <= PUNCH_VARINT_MAX_VALUE, 0);
  g_return_val_if_fail (out != NULL, 0);

  while (value >= 0x80)
    {
      out[n++] = (guint8) (value & 0x7f) | 0x80;
      value >>= 7;
    }
  out[n++] = (guint8) value;

  return n;
}

/*
 * punch_varint_size:
 * @value: the value, below 2^63
 *
 * Returns: the length of the encoding of @value (1 to 9); values of 2^63 and
 *   above, which cannot be encoded, give 0
 */
gsize
punch_varint_size (guint64 value)
{
  gsize n = 1;

  g_return_val_if_fail (value <= PUNCH_VARINT_MAX_VALUE, 0);

  while (value >= 0x80)
    {
      value >>= 7;
      n++;
    }

  return n;
}

/*
 * punch_varint_decode:
 * @buf: (array length=len): the input
 * @len: its length
 * @out_value: (out) (optional): the decoded value
 * @out_consumed: (out) (optional): the number of bytes of @buf it used
 * @error: return location for a #GError
 *
 * Decodes the varint at the start of @buf; bytes after it are ignored.
 *
 * Errors: %PUNCH_ERROR_TRUNCATED if @buf ends inside the varint (a stream
 * reader waits for more bytes), %PUNCH_ERROR_MALFORMED if the encoding is
 * not minimal or is longer than 9 bytes.
 *
 * Returns: %TRUE on success
 */
gboolean
punch_varint_decode (const guint8  *buf,
                     gsize          len,
                     guint64       *out_value,
                     gsize         *out_consumed,
                     GError       **error)
{
  guint64 value = 0;
  gsize i;

  g_return_val_if_fail (buf != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (i = 0; i < len && i < PUNCH_VARINT_MAX_LEN; i++)
    {
      guint8 b = buf[i];

      value |= (guint64) (b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0)
        {
          if (b == 0 && i > 0)
            {
              g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                                   "Varint is not minimally encoded");
              return FALSE;
            }
          if (out_value)
            *out_value = value;
          if (out_consumed)
            *out_consumed = i + 1;
          return TRUE;
        }
    }

  if (i == PUNCH_VARINT_MAX_LEN)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Varint is longer than 9 bytes");
      return FALSE;
    }

  g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED,
                       "Input ends inside a varint");
  return FALSE;
}
