/* fuzz-framing.c: libFuzzer target for the length-prefixed frame decoders.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "punch-error.h"
#include "punch-framing-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const gsize max_sizes[] = { 0, 1, 127, 128, 4096, 65536, G_MAXSIZE };

/*
 * The first byte picks the maximum size (low 3 bits) and the chunk size
 * used to feed the stream decoder (high 5 bits); the rest is the stream.
 * punch_framing_parse() over the whole buffer and the stream decoder fed
 * in chunks must agree on every frame and on the error; re-encoding the
 * frames must give back the bytes they came from.
 */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(PunchFramingDecoder) decoder = NULL;
  g_autoptr(GError) parse_error = NULL;
  g_autoptr(GError) feed_error = NULL;
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  PunchFramingStatus status = PUNCH_FRAMING_STATUS_NEED_MORE;
  gsize max_size, chunk, pos = 0, parsed, i;
  gboolean fed = TRUE;
  GBytes *frame;

  if (size < 1)
    return 0;
  max_size = max_sizes[(data[0] & 7) % G_N_ELEMENTS (max_sizes)];
  chunk = (data[0] >> 3) + 1;
  data++;
  size--;

  /* One pass with the buffer parser. */
  while (pos < size)
    {
      gsize offset = 0, len = 0;

      status = punch_framing_parse (data + pos, size - pos, max_size,
                                    &offset, &len, &parse_error);
      if (status != PUNCH_FRAMING_STATUS_FRAME)
        break;
      if (len > max_size || offset + len > size - pos || parse_error != NULL)
        abort ();
      {
        g_autoptr(GBytes) encoded = punch_framing_encode (data + pos + offset, len,
                                                          max_size, NULL);

        if (encoded == NULL ||
            g_bytes_get_size (encoded) != offset + len ||
            memcmp (g_bytes_get_data (encoded, NULL), data + pos, offset + len) != 0)
          abort ();
      }
      g_ptr_array_add (frames, g_bytes_new (data + pos + offset, len));
      pos += offset + len;
    }
  parsed = pos;
  if ((status == PUNCH_FRAMING_STATUS_ERROR) != (parse_error != NULL))
    abort ();
  if (parse_error != NULL &&
      (parse_error->domain != PUNCH_ERROR ||
       (parse_error->code != PUNCH_ERROR_MALFORMED &&
        parse_error->code != PUNCH_ERROR_TOO_LARGE)))
    abort ();

  /* The stream decoder, in chunks. */
  decoder = punch_framing_decoder_new (max_size);
  for (pos = 0; pos < size && fed; pos += chunk)
    fed = punch_framing_decoder_feed (decoder, data + pos, MIN (chunk, size - pos),
                                      &feed_error);

  for (i = 0; (frame = punch_framing_decoder_pop (decoder)) != NULL; i++)
    {
      gboolean same = i < frames->len && g_bytes_equal (frame, frames->pdata[i]);

      g_bytes_unref (frame);
      if (!same)
        abort ();
    }
  if (i != frames->len)
    abort ();

  /* Same verdict: an error with the same code, or none. */
  if ((feed_error == NULL) != (parse_error == NULL))
    abort ();
  if (feed_error != NULL)
    {
      if (feed_error->code != parse_error->code)
        abort ();
      if (punch_framing_decoder_get_buffered (decoder) != 0)
        abort ();
    }
  else if (punch_framing_decoder_get_buffered (decoder) != size - parsed)
    {
      /* What the parser left as an incomplete frame is what the decoder
       * holds. */
      abort ();
    }

  return 0;
}
