/* fuzz-proto.c: libFuzzer target for the libp2p protobuf schemas of proto/.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The first input byte selects a message type (modulo their number), the
 * rest is decoded as that type by punch_proto_unpack().  Whatever decodes
 * is packed, and the packed bytes must decode again and pack to the same
 * bytes (protobuf-c's output is stable after one round).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "punch-error.h"
#include "punch-proto.h"

#include "autonat.pb-c.h"
#include "circuit.pb-c.h"
#include "envelope.pb-c.h"
#include "holepunch.pb-c.h"
#include "identify.pb-c.h"
#include "keys.pb-c.h"
#include "peer_record.pb-c.h"
#include "voucher.pb-c.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* The order is the selector byte's: corpus files depend on it. */
static const ProtobufCMessageDescriptor *const descriptors[] = {
  &autonat__pb__message__descriptor,                 /* 0 */
  &autonat__pb__message__peer_info__descriptor,      /* 1 */
  &autonat__pb__message__dial__descriptor,           /* 2 */
  &autonat__pb__message__dial_response__descriptor,  /* 3 */
  &holepunch__pb__hole_punch__descriptor,            /* 4 */
  &circuit__pb__hop_message__descriptor,             /* 5 */
  &circuit__pb__stop_message__descriptor,            /* 6 */
  &circuit__pb__peer__descriptor,                    /* 7 */
  &circuit__pb__reservation__descriptor,             /* 8 */
  &circuit__pb__limit__descriptor,                   /* 9 */
  &circuit__pb__voucher__descriptor,                 /* 10 */
  &identify__pb__identify__descriptor,               /* 11 */
  &record__pb__envelope__descriptor,                 /* 12 */
  &peer__pb__peer_record__descriptor,                /* 13 */
  &peer__pb__peer_record__address_info__descriptor,  /* 14 */
  &keys__pb__public_key__descriptor,                 /* 15 */
  &keys__pb__private_key__descriptor,                /* 16 */
};

/* What the protocols use as their limit (every libp2p message here is
 * small); the fuzzer also checks the TOO_LARGE path. */
#define MAX_LEN 4096

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const ProtobufCMessageDescriptor *desc;
  ProtobufCMessage *message, *again;
  GError *error = NULL;
  GBytes *packed, *repacked;
  gsize len;
  const guint8 *buf;

  if (size < 1)
    return 0;
  desc = descriptors[data[0] % G_N_ELEMENTS (descriptors)];
  data++;
  size--;

  message = punch_proto_unpack (desc, data, size, MAX_LEN, &error);
  if (message == NULL)
    {
      if (error == NULL ||
          !(g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED) ||
            g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE)))
        abort ();
      if (g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE) != (size > MAX_LEN))
        abort ();
      g_error_free (error);
      return 0;
    }
  if (error != NULL || message->descriptor != desc)
    abort ();

  packed = punch_proto_pack (message);
  buf = g_bytes_get_data (packed, &len);
  again = punch_proto_unpack (desc, buf, len, 0, &error);
  if (again == NULL)
    abort ();

  repacked = punch_proto_pack (again);
  if (!g_bytes_equal (packed, repacked))
    abort ();

  g_bytes_unref (repacked);
  g_bytes_unref (packed);
  punch_proto_free (again);
  punch_proto_free (message);
  return 0;
}
