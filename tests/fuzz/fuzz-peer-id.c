/* fuzz-peer-id.c: libFuzzer target for peer ids in text and bytes.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>

#include <glib.h>

#include "punch-error.h"
#include "punch-peer-id.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

static void
check_error (GError *error)
{
  if (error == NULL || error->domain != PUNCH_ERROR || error->message == NULL)
    abort ();
}

/* Both text forms and the binary form of a peer id read back as it. */
static void
check_peer_id (PunchPeerId *peer_id)
{
  g_autofree gchar *text = punch_peer_id_to_string (peer_id);
  g_autofree gchar *cid = punch_peer_id_to_cid_string (peer_id);
  g_autoptr(GBytes) bytes = punch_peer_id_get_bytes (peer_id);
  g_autoptr(PunchPeerId) from_text = punch_peer_id_new_from_string (text, NULL);
  g_autoptr(PunchPeerId) from_cid = punch_peer_id_new_from_string (cid, NULL);
  g_autoptr(PunchPeerId) from_bytes = punch_peer_id_new_from_bytes (bytes, NULL);
  g_autoptr(PunchPublicKey) key = punch_peer_id_get_public_key (peer_id);

  if (from_text == NULL || !punch_peer_id_equal (from_text, peer_id))
    abort ();
  if (from_cid == NULL || !punch_peer_id_equal (from_cid, peer_id))
    abort ();
  if (from_bytes == NULL || !punch_peer_id_equal (from_bytes, peer_id))
    abort ();
  if (punch_peer_id_hash (from_text) != punch_peer_id_hash (peer_id))
    abort ();
  /* A key inlined in a peer id may be non-canonical (an uncompressed
   * secp256k1 point), so its own peer id can differ; it must parse. */
  if (key != NULL && punch_public_key_get_peer_id (key) == NULL)
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autofree gchar *text = g_strndup ((const gchar *) data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchPeerId) from_bytes = NULL;
  g_autoptr(PunchPeerId) from_text = NULL;

  from_bytes = punch_peer_id_new_from_bytes (bytes, &error);
  if (from_bytes != NULL)
    check_peer_id (from_bytes);
  else
    check_error (error);
  g_clear_error (&error);

  from_text = punch_peer_id_new_from_string (text, &error);
  if (from_text != NULL)
    check_peer_id (from_text);
  else
    check_error (error);

  return 0;
}
