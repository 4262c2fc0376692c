/* fuzz-relay.c: libFuzzer target for the circuit relay v2 decoders.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The first byte picks the decoder: hop message, stop message, voucher,
 * envelope, the client's reserve/connect/stop parsers, or the relay's
 * request handler (with a fixed identity and a clock). Decoded messages
 * are encoded again and decoded once more, which must succeed.
 */
#include "config.h"

#include <stdint.h>

#include "punch-envelope.h"
#include "punch-keypair.h"
#include "punch-relay-core.h"

static PunchKeypair *relay_keypair;
static PunchKeypair *peer_keypair;
static PunchRelayHop *hop;

static void
roundtrip (PunchRelayKind     kind,
           PunchRelayMessage *message)
{
  g_autoptr(GBytes) encoded = NULL;
  g_autoptr(PunchRelayMessage) again = NULL;

  if (message == NULL || (kind == PUNCH_RELAY_KIND_STOP && message->type == PUNCH_RELAY_TYPE_RESERVE))
    return;
  encoded = punch_relay_message_encode (message, kind);
  /* Re-encoding drops empty limits, keeps the rest: under the maximum. */
  if (g_bytes_get_size (encoded) <= PUNCH_RELAY_MAX_MESSAGE_SIZE)
    {
      again = punch_relay_message_decode (kind, g_bytes_get_data (encoded, NULL),
                                          g_bytes_get_size (encoded), NULL);
      g_assert_nonnull (again);
      g_assert_cmpint (again->type, ==, message->type);
    }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const gint64 now = G_GINT64_CONSTANT (1800000000) * G_USEC_PER_SEC;
  PunchPeerId *relay_id, *peer_id;

  if (relay_keypair == NULL)
    {
      relay_keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, NULL);
      peer_keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, NULL);
      hop = punch_relay_hop_new (relay_keypair, NULL);
    }
  relay_id = punch_keypair_get_peer_id (relay_keypair);
  peer_id = punch_keypair_get_peer_id (peer_keypair);

  if (size < 1)
    return 0;

  switch (data[0] % 8)
    {
    case 0:
      {
        g_autoptr(PunchRelayMessage) m = punch_relay_message_decode (PUNCH_RELAY_KIND_HOP, data + 1,
                                                                     size - 1, NULL);
        roundtrip (PUNCH_RELAY_KIND_HOP, m);
      }
      break;
    case 1:
      {
        g_autoptr(PunchRelayMessage) m = punch_relay_message_decode (PUNCH_RELAY_KIND_STOP, data + 1,
                                                                     size - 1, NULL);
        roundtrip (PUNCH_RELAY_KIND_STOP, m);
      }
      break;
    case 2:
      {
        g_autoptr(PunchPeerId) r = NULL;
        g_autoptr(PunchPeerId) p = NULL;
        guint64 expiration;

        if (punch_relay_voucher_decode (data + 1, size - 1, &r, &p, &expiration, NULL))
          g_assert_true (r != NULL && p != NULL);
      }
      break;
    case 3:
      {
        g_autoptr(PunchPublicKey) signer = NULL;
        g_autoptr(GBytes) payload = NULL;

        if (punch_envelope_open (data + 1, size - 1, PUNCH_RELAY_VOUCHER_DOMAIN,
                                 punch_relay_voucher_payload_type, 2, &signer, &payload, NULL))
          g_assert_true (signer != NULL && payload != NULL);
        punch_relay_voucher_verify (data + 1, size - 1, relay_id, peer_id, 1, NULL);
      }
      break;
    case 4:
      {
        g_autoptr(GPtrArray) addrs = NULL;
        PunchRelayLimit limit;
        guint64 expire;
        gboolean has_voucher;

        if (punch_relay_parse_reserve_response (data + 1, size - 1, relay_id, peer_id, now,
                                                &expire, &addrs, &limit, &has_voucher, NULL))
          g_assert_nonnull (addrs);
      }
      break;
    case 5:
      {
        PunchRelayLimit limit;

        punch_relay_parse_connect_response (data + 1, size - 1, &limit, NULL);
      }
      break;
    case 6:
      {
        PunchRelayStatus refusal;
        g_autoptr(PunchRelayMessage) m = punch_relay_parse_stop_connect (data + 1, size - 1,
                                                                         &refusal, NULL);

        g_assert_true ((m != NULL) == (refusal == PUNCH_RELAY_STATUS_OK));
        g_assert_true (m == NULL || m->peer != NULL);
      }
      break;
    case 7:
      {
        g_autoptr(PunchRelayHopResult) result =
          punch_relay_hop_handle (hop, peer_id, "192.0.2.1", FALSE, NULL, data + 1, size - 1, now);

        g_assert_nonnull (result);
        if (result->action == PUNCH_RELAY_HOP_ACTION_CONNECT)
          punch_relay_hop_circuit_close (hop, result->circuit_id, NULL, NULL);
        else
          g_assert_nonnull (result->reply);
      }
      break;
    }

  return 0;
}
