/* fuzz-varint.c: libFuzzer target for the unsigned varint decoder.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "punch-error.h"
#include "punch-varint.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  guint8 buf[PUNCH_VARINT_MAX_LEN];
  guint64 value = 0;
  gsize consumed = 0, i, continued = 0;

  for (i = 0; i < size && i < PUNCH_VARINT_MAX_LEN && (data[i] & 0x80); i++)
    continued++;

  if (punch_varint_decode (data, size, &value, &consumed, &error))
    {
      /* A decoded varint is minimal: re-encoding gives the same bytes. */
      if (error != NULL || consumed == 0 || consumed > PUNCH_VARINT_MAX_LEN ||
          consumed != continued + 1 || value > PUNCH_VARINT_MAX_VALUE)
        abort ();
      if (punch_varint_size (value) != consumed ||
          punch_varint_encode (value, buf) != consumed ||
          memcmp (buf, data, consumed) != 0)
        abort ();
    }
  else
    {
      if (error == NULL || error->domain != PUNCH_ERROR)
        abort ();
      /* Truncated exactly when the input ends inside the first 9 bytes. */
      if ((error->code == PUNCH_ERROR_TRUNCATED) !=
          (continued == size && size < PUNCH_VARINT_MAX_LEN))
        abort ();
      if (error->code != PUNCH_ERROR_TRUNCATED && error->code != PUNCH_ERROR_MALFORMED)
        abort ();
    }

  return 0;
}
