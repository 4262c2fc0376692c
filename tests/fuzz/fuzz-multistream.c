/* fuzz-multistream.c: libFuzzer target for the multistream-select codec and machine.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "punch-error.h"
#include "punch-multistream.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const gchar * const dialer_protocols[] = {
  "/noise", "/tls/1.0.0", "/yamux/1.0.0", NULL,
};
static const gchar * const listener_protocols[] = {
  "/yamux/1.0.0", "/ipfs/id/1.0.0", "libp2p", NULL,
};

static void
check_state (PunchMultistream *ms,
             gboolean          ok,
             GError           *error)
{
  PunchMultistreamState state = punch_multistream_get_state (ms);

  if (ok != (error == NULL))
    abort ();
  if (!ok)
    {
      if (state != PUNCH_MULTISTREAM_FAILED)
        abort ();
      /* TRUNCATED only means "wait": it never surfaces. */
      if (error->domain != PUNCH_ERROR || error->code == PUNCH_ERROR_TRUNCATED)
        abort ();
    }
  if ((state == PUNCH_MULTISTREAM_DONE) != (punch_multistream_get_protocol (ms) != NULL))
    abort ();
}

/* Feeds @data to @ms in chunks whose sizes come from @split. */
static void
run_machine (PunchMultistream *ms,
             const uint8_t    *data,
             size_t            size,
             guint8            split)
{
  size_t off = 0;
  gsize total_remaining = 0;

  punch_multistream_start (ms);

  while (off < size && punch_multistream_get_state (ms) != PUNCH_MULTISTREAM_FAILED)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) out = NULL;
      g_autoptr(GBytes) rest = NULL;
      size_t chunk = split == 0 ? size - off : MIN ((size_t) split, size - off);
      gboolean ok;

      ok = punch_multistream_receive (ms, data + off, chunk, &error);
      check_state (ms, ok, error);
      off += chunk;

      out = punch_multistream_pull_output (ms);
      if (out != NULL && g_bytes_get_size (out) == 0)
        abort ();
      rest = punch_multistream_steal_remaining (ms);
      if (rest != NULL)
        {
          gsize len = 0;
          const guint8 *rest_data = g_bytes_get_data (rest, &len);

          /* The remaining bytes are the tail of what was fed, untouched. */
          total_remaining += len;
          if (len == 0 || total_remaining > off ||
              memcmp (rest_data, data + off - len, len) != 0)
            abort ();
        }
    }
}

static gboolean
match_any_slash (const gchar *protocol,
                 gpointer     user_data)
{
  if (!punch_multistream_is_valid_protocol (protocol))
    abort ();
  return protocol[0] == '/' && protocol[1] == 'x';
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(PunchMultistream) dialer = NULL;
  g_autoptr(PunchMultistream) listener = NULL;
  g_autoptr(PunchMultistream) matcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *line = NULL;
  gsize consumed = 0;
  guint8 split;

  /* The codec on its own. */
  if (punch_multistream_read_message (data, size, &line, &consumed, &error))
    {
      g_autoptr(GByteArray) again = g_byte_array_new ();

      if (consumed > size || !punch_multistream_is_valid_protocol (line))
        abort ();
      /* A minimal prefix re-encodes to the same bytes. */
      punch_multistream_write_message (again, line);
      if (again->len != consumed || memcmp (again->data, data, consumed) != 0)
        abort ();
    }
  else if (error->domain != PUNCH_ERROR)
    abort ();

  if (size == 0)
    return 0;

  /* The first byte picks the chunk size (0: all at once). */
  split = data[0] % 8;
  data++;
  size--;

  dialer = punch_multistream_new_dialer (dialer_protocols);
  run_machine (dialer, data, size, split);

  listener = punch_multistream_new_listener_for_protocols (listener_protocols);
  run_machine (listener, data, size, split);

  matcher = punch_multistream_new_listener (match_any_slash, NULL, NULL);
  run_machine (matcher, data, size, split);

  return 0;
}
