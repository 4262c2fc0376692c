/* fuzz-multiaddr-text.c: libFuzzer target for the text multiaddr parser.
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

/*
 * Whatever parses must print to a canonical text that parses to the same
 * binary form and prints identically again; the binary form must parse
 * too. abort() otherwise.
 */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree gchar *input = g_strndup ((const gchar *) data, size);
  g_autoptr(PunchMultiaddr) ma = NULL;
  g_autoptr(PunchMultiaddr) again = NULL;
  g_autoptr(PunchMultiaddr) from_bytes = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *text_again = NULL;
  guint i;

  ma = punch_multiaddr_new_from_string (input, &error);
  if (ma == NULL)
    {
      if (error == NULL || error->domain != PUNCH_ERROR ||
          !g_utf8_validate (error->message, -1, NULL))
        abort ();
      return 0;
    }

  text = punch_multiaddr_to_string (ma);
  again = punch_multiaddr_new_from_string (text, NULL);
  if (again == NULL || !punch_multiaddr_equal (ma, again))
    abort ();
  text_again = punch_multiaddr_to_string (again);
  if (strcmp (text, text_again) != 0)
    abort ();

  bytes = punch_multiaddr_get_bytes (ma);
  from_bytes = punch_multiaddr_new_from_bytes (bytes, NULL);
  if (from_bytes == NULL || !punch_multiaddr_equal (ma, from_bytes))
    abort ();

  for (i = 0; i < punch_multiaddr_get_n_components (ma); i++)
    {
      g_autofree gchar *value = punch_multiaddr_get_value_string (ma, i);

      /* Every value appears in the canonical text. */
      if (value != NULL && strstr (text, value) == NULL)
        abort ();
    }

  return 0;
}
