/* fuzz-identify.c: libFuzzer target for the identify message decoder and stream reader.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "punch-error.h"
#include "punch-identify-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* The Ed25519 key of the js-libp2p identify vector (tests/vectors). */
static const guint8 js_key[] = {
  0x08, 0x01, 0x12, 0x20, 0x79, 0xb5, 0x56, 0x2e, 0x8f, 0xe6, 0x54, 0xf9,
  0x40, 0x78, 0xb1, 0x12, 0xe8, 0xa9, 0x8b, 0xa7, 0x90, 0x1f, 0x85, 0x3a,
  0xe6, 0x95, 0xbe, 0xd7, 0xe0, 0xe3, 0x91, 0x0b, 0xad, 0x04, 0x96, 0x64,
};

static gboolean
same_info (PunchIdentifyInfo *a,
           PunchIdentifyInfo *b)
{
  if (g_strcmp0 (a->agent_version, b->agent_version) != 0 ||
      g_strcmp0 (a->protocol_version, b->protocol_version) != 0 ||
      (a->public_key == NULL) != (b->public_key == NULL) ||
      (a->public_key != NULL && !punch_public_key_equal (a->public_key, b->public_key)) ||
      (a->observed_addr == NULL) != (b->observed_addr == NULL) ||
      (a->observed_addr != NULL && !punch_multiaddr_equal (a->observed_addr, b->observed_addr)) ||
      a->listen_addrs->len != b->listen_addrs->len ||
      a->protocols->len != b->protocols->len)
    return FALSE;
  for (guint i = 0; i < a->listen_addrs->len; i++)
    if (!punch_multiaddr_equal (a->listen_addrs->pdata[i], b->listen_addrs->pdata[i]))
      return FALSE;
  for (guint i = 0; i < a->protocols->len; i++)
    if (g_strcmp0 (a->protocols->pdata[i], b->protocols->pdata[i]) != 0)
      return FALSE;
  return TRUE;
}

static gboolean
known_code (const GError *error)
{
  return error != NULL && error->domain == PUNCH_ERROR &&
         (error->code == PUNCH_ERROR_MALFORMED || error->code == PUNCH_ERROR_TOO_LARGE ||
          error->code == PUNCH_ERROR_TRUNCATED || error->code == PUNCH_ERROR_UNSUPPORTED ||
          error->code == PUNCH_ERROR_PEER_ID_MISMATCH || error->code == PUNCH_ERROR_PROTOCOL ||
          error->code == PUNCH_ERROR_CLOSED || error->code == PUNCH_ERROR_FAILED);
}

/* Encodes @info and reads it back: the same record must come out. */
static void
check_roundtrip (PunchIdentifyInfo *info,
                 PunchPeerId       *peer)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) framed = punch_identify_info_encode (info, &error);
  g_autoptr(PunchIdentifyReader) reader = NULL;
  g_autoptr(PunchIdentifyInfo) back = NULL;

  if (framed == NULL)
    {
      /* Only a record too big for ten messages may fail. */
      if (!g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE))
        abort ();
      return;
    }
  reader = punch_identify_reader_new (peer);
  if (!punch_identify_reader_feed (reader, g_bytes_get_data (framed, NULL),
                                   g_bytes_get_size (framed), NULL))
    abort ();
  back = punch_identify_reader_finish (reader, NULL);
  if (back == NULL || !same_info (info, back))
    abort ();
}

/*
 * The first byte: low 5 bits + 1 the chunk size to feed the reader, bit
 * 5 whether the reader expects the js vector's peer id. The rest is first
 * decoded as one message, then fed to a reader as a stream of framed
 * messages. Whatever decodes must survive an encode/read round trip.
 */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static PunchPeerId *js_peer = NULL;
  g_autoptr(PunchIdentifyInfo) single = NULL;
  g_autoptr(PunchIdentifyReader) reader = NULL;
  g_autoptr(PunchIdentifyInfo) merged = NULL;
  g_autoptr(GError) error = NULL;
  PunchPeerId *expected;
  gsize chunk;
  gboolean ok = TRUE;

  if (js_peer == NULL)
    {
      g_autoptr(GBytes) key_bytes = g_bytes_new_static (js_key, sizeof js_key);
      g_autoptr(PunchPublicKey) key = punch_public_key_new_from_protobuf (key_bytes, NULL);

      js_peer = punch_peer_id_ref (punch_public_key_get_peer_id (key));
    }

  if (size < 1)
    return 0;
  chunk = (data[0] & 0x1f) + 1;
  expected = (data[0] & 0x20) ? js_peer : NULL;
  data++;
  size--;

  single = punch_identify_info_decode (data, size, expected, &error);
  if ((single == NULL) != (error != NULL) || (error != NULL && !known_code (error)))
    abort ();
  if (single != NULL)
    check_roundtrip (single, expected);
  g_clear_error (&error);

  reader = punch_identify_reader_new (expected);
  for (gsize pos = 0; pos < size && ok; pos += chunk)
    ok = punch_identify_reader_feed (reader, data + pos, MIN (chunk, size - pos), &error);
  if (!ok && !known_code (error))
    abort ();
  g_clear_error (&error);
  merged = punch_identify_reader_finish (reader, &error);
  if ((merged == NULL) != (error != NULL) || (error != NULL && !known_code (error)))
    abort ();
  if (merged != NULL)
    {
      if (merged->listen_addrs->len > PUNCH_IDENTIFY_MAX_ADDRS ||
          merged->protocols->len > PUNCH_IDENTIFY_MAX_PROTOCOLS)
        abort ();
      check_roundtrip (merged, expected);
    }

  return 0;
}
