/* fuzz-keys.c: libFuzzer target for the PublicKey / PrivateKey protobufs.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>

#include <glib.h>

#include "punch-error.h"
#include "punch-keypair.h"
#include "punch-peer-id.h"
#include "punch-public-key.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  /* A g_return_if_fail() reached from a decoder is a bug too. */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

static void
check_error (GError *error)
{
  if (error == NULL || error->domain != PUNCH_ERROR || error->message == NULL)
    abort ();
}

/* A decoded key re-encodes to an encoding that decodes to the same key,
 * with the same peer id. */
static void
check_public_key (PunchPublicKey *key,
                  const uint8_t  *data,
                  size_t          size)
{
  g_autoptr(GBytes) encoding = punch_public_key_to_protobuf (key);
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchPublicKey) again = punch_public_key_new_from_protobuf (encoding, &error);
  g_autoptr(PunchPublicKey) inlined = NULL;
  PunchPeerId *peer_id = punch_public_key_get_peer_id (key);
  gboolean ok;

  if (again == NULL || !punch_public_key_equal (again, key))
    abort ();
  if (!punch_peer_id_matches_public_key (peer_id, again))
    abort ();

  inlined = punch_peer_id_get_public_key (peer_id);
  if (inlined != NULL && !punch_public_key_equal (inlined, key))
    abort ();

  /* Verification of junk fails cleanly. */
  ok = punch_public_key_verify (key, data, size, data, size, &error);
  if (ok)
    abort ();
  check_error (error);
  if (error->code != PUNCH_ERROR_BAD_SIGNATURE && error->code != PUNCH_ERROR_UNSUPPORTED)
    abort ();
}

static void
check_keypair (PunchKeypair *keypair)
{
  g_autoptr(GBytes) encoding = punch_keypair_to_protobuf (keypair);
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) again = punch_keypair_new_from_protobuf (encoding, &error);
  g_autoptr(GBytes) signature = NULL;
  static const guint8 message[] = "fuzz";

  if (again == NULL)
    abort ();
  if (!punch_public_key_equal (punch_keypair_get_public_key (again),
                               punch_keypair_get_public_key (keypair)))
    abort ();

  signature = punch_keypair_sign (keypair, message, sizeof message, &error);
  if (signature == NULL)
    abort ();
  if (!punch_public_key_verify (punch_keypair_get_public_key (again), message, sizeof message,
                                g_bytes_get_data (signature, NULL),
                                g_bytes_get_size (signature), &error))
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GError) public_error = NULL;
  g_autoptr(GError) private_error = NULL;
  g_autoptr(PunchPublicKey) key = NULL;
  g_autoptr(PunchKeypair) keypair = NULL;

  key = punch_public_key_new_from_protobuf (bytes, &public_error);
  if (key != NULL)
    check_public_key (key, data, size);
  else
    check_error (public_error);

  keypair = punch_keypair_new_from_protobuf (bytes, &private_error);
  if (keypair != NULL)
    check_keypair (keypair);
  else
    check_error (private_error);

  return 0;
}
