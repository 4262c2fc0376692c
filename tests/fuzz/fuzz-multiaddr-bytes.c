/* fuzz-multiaddr-bytes.c: libFuzzer target for the binary multiaddr parser.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "punch-error.h"
#include "punch-multiaddr-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
exercise (PunchMultiaddr *ma)
{
  g_autoptr(PunchPeerId) peer_id = NULL;
  g_autoptr(GInetAddress) ip = NULL;
  g_autoptr(GSocketAddress) sa = NULL;
  g_autoptr(PunchMultiaddr) nothing = NULL;
  g_autoptr(PunchMultiaddr) twice = NULL;
  guint i, n = punch_multiaddr_get_n_components (ma);

  if (n == 0 || n > PUNCH_MULTIADDR_MAX_COMPONENTS)
    abort ();

  for (i = 0; i < n; i++)
    {
      g_autofree gchar *value = punch_multiaddr_get_value_string (ma, i);
      g_autoptr(GBytes) raw = punch_multiaddr_get_value (ma, i);
      gsize peek_len = 0;
      const guint8 *peek = punch_multiaddr_peek_value (ma, i, &peek_len);
      g_autoptr(PunchMultiaddr) cut = NULL;
      PunchMultiaddrProtocol protocol = punch_multiaddr_get_protocol (ma, i);

      if (punch_multiaddr_get_protocol_name (ma, i) == NULL)
        abort ();
      if (peek_len != g_bytes_get_size (raw) ||
          (peek_len > 0 && memcmp (peek, g_bytes_get_data (raw, NULL), peek_len) != 0))
        abort ();
      if (value != NULL && !g_utf8_validate (value, -1, NULL))
        abort ();
      /* Cutting at a protocol leaves a shorter address (or nothing). */
      cut = punch_multiaddr_decapsulate_protocol (ma, protocol);
      if (cut != NULL && punch_multiaddr_get_n_components (cut) >= n)
        abort ();
      if (punch_multiaddr_find_protocol (ma, protocol) > (gint) i)
        abort ();
    }

  peer_id = punch_multiaddr_get_peer_id (ma);
  if ((peer_id != NULL) != (punch_multiaddr_get_protocol (ma, n - 1) == PUNCH_MULTIADDR_PROTOCOL_P2P))
    abort ();

  ip = punch_multiaddr_get_inet_address (ma);
  if ((ip == NULL) != (punch_multiaddr_get_scope (ma, 0) == PUNCH_MULTIADDR_SCOPE_UNKNOWN))
    abort ();
  sa = punch_multiaddr_to_inet_socket_address (ma, NULL, NULL);
  if (sa != NULL && ip == NULL)
    abort ();

  /* An address decapsulated by itself leaves nothing. */
  nothing = punch_multiaddr_decapsulate (ma, ma);
  if (nothing != NULL)
    abort ();
  twice = punch_multiaddr_encapsulate (ma, ma, NULL);
  if (twice != NULL)
    {
      g_autoptr(PunchMultiaddr) back = punch_multiaddr_decapsulate (twice, ma);

      /* The last occurrence is removed. */
      if (back == NULL || !punch_multiaddr_equal (back, ma))
        abort ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(PunchMultiaddr) ma = NULL;
  g_autoptr(PunchMultiaddr) reparsed = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) reparse_error = NULL;
  g_autofree gchar *text = NULL;
  const guint8 *bytes;
  gboolean has_unix;
  gsize len;

  ma = punch_multiaddr_new_from_data (data, size, &error);
  if (ma == NULL)
    {
      if (error == NULL || error->domain != PUNCH_ERROR)
        abort ();
      return 0;
    }
  if (error != NULL)
    abort ();

  bytes = punch_multiaddr_get_data (ma, &len);
  if (len != size || memcmp (bytes, data, size) != 0)
    abort ();

  exercise (ma);

  /* The text form parses back to the same bytes. A unix path takes the
   * rest of the text, so an address with one only needs to parse (or be
   * too large once the rest is read as a path). */
  text = punch_multiaddr_to_string (ma);
  if (!g_utf8_validate (text, -1, NULL) || strlen (text) > PUNCH_MULTIADDR_MAX_TEXT_LEN)
    abort ();
  has_unix = punch_multiaddr_find_protocol (ma, PUNCH_MULTIADDR_PROTOCOL_UNIX) >= 0;
  reparsed = punch_multiaddr_new_from_string (text, &reparse_error);
  if (has_unix)
    {
      if (reparsed == NULL &&
          !g_error_matches (reparse_error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE))
        abort ();
    }
  else if (reparsed == NULL || !punch_multiaddr_equal (ma, reparsed))
    {
      abort ();
    }

  return 0;
}
