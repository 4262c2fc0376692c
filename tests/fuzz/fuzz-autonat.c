/* fuzz-autonat.c: libFuzzer target for the AutoNAT v1 decoders, server policy and verdicts.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "punch-autonat-core.h"
#include "punch-error.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static gboolean
known_code (const GError *error)
{
  return error != NULL && error->domain == PUNCH_ERROR &&
         (error->code == PUNCH_ERROR_MALFORMED || error->code == PUNCH_ERROR_TOO_LARGE ||
          error->code == PUNCH_ERROR_PROTOCOL);
}

/* The observed address: the IP of the Dial's first address (so that the
 * policy gets past the IP rule), or a fixed public one. */
static PunchMultiaddr *
observed_for (PunchAutonatDial *dial)
{
  for (guint i = 0; dial != NULL && i < dial->addrs->len; i++)
    {
      g_autoptr(GInetAddress) ip = punch_multiaddr_get_inet_address (dial->addrs->pdata[i]);

      if (ip != NULL)
        {
          g_autoptr(GSocketAddress) sa = g_inet_socket_address_new (ip, 40000);

          return punch_multiaddr_new_from_inet_socket_address (G_INET_SOCKET_ADDRESS (sa),
                                                               PUNCH_MULTIADDR_PROTOCOL_TCP);
        }
    }
  return punch_multiaddr_new_from_string ("/ip4/1.2.3.4/tcp/40000", NULL);
}

static void
check_dial (const uint8_t *data,
            size_t         size,
            gboolean       allow_private)
{
  static PunchAutonatServer *servers[2];
  static gint64 now_us;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchAutonatDial) dial = NULL;
  g_autoptr(PunchAutonatDial) again = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(PunchMultiaddr) observed = NULL;
  g_autoptr(GInetAddress) observed_ip = NULL;
  g_autoptr(GPtrArray) addrs = NULL;
  g_autofree gchar *text = NULL;
  PunchAutonatServer *server;
  PunchAutonatStatus status;

  if (servers[0] == NULL)
    {
      PunchAutonatServerConfig config;

      punch_autonat_server_config_init (&config);
      servers[0] = punch_autonat_server_new (&config);
      config.allow_private = TRUE;
      config.peer_per_minute = 0;
      config.global_per_minute = 0;
      servers[1] = punch_autonat_server_new (&config);
    }
  server = servers[allow_private ? 1 : 0];

  dial = punch_autonat_decode_dial (data, size, &error);
  if ((dial == NULL) != (error != NULL) || (error != NULL && !known_code (error)))
    abort ();
  if (dial == NULL)
    {
      /* Undecodable: the policy says BAD_REQUEST. */
      g_autoptr(PunchPeerId) nobody = NULL;
      g_autoptr(GError) e = NULL;
      g_autoptr(GBytes) id = NULL;
      /* A sha2-256 multihash peer id. */
      static const guint8 identity_id[] = {
        0x12, 0x20,
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
      };

      id = g_bytes_new_static (identity_id, sizeof identity_id);
      nobody = punch_peer_id_new_from_bytes (id, &e);
      if (nobody == NULL)
        return;
      observed = observed_for (NULL);
      status = punch_autonat_server_handle_request (server, data, size, nobody, observed,
                                                    now_us, &addrs, &text);
      if (status != PUNCH_AUTONAT_STATUS_BAD_REQUEST || addrs != NULL || text == NULL)
        abort ();
      return;
    }

  /* Round trip. */
  bytes = punch_autonat_encode_dial (dial->peer_id, dial->addrs, &error);
  if (bytes == NULL)
    {
      if (!g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE))
        abort ();
    }
  else
    {
      again = punch_autonat_decode_dial (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
      if (again == NULL || !punch_peer_id_equal (again->peer_id, dial->peer_id) ||
          again->addrs->len != dial->addrs->len || again->n_invalid != 0)
        abort ();
      for (guint i = 0; i < dial->addrs->len; i++)
        if (!punch_multiaddr_equal (again->addrs->pdata[i], dial->addrs->pdata[i]))
          abort ();
    }

  /* The policy: whatever it dials is on the observed IP, TCP, capped. */
  observed = observed_for (dial);
  if (observed == NULL)
    return;
  observed_ip = punch_multiaddr_get_inet_address (observed);
  now_us += G_USEC_PER_SEC;
  status = punch_autonat_server_handle_request (server, data, size, dial->peer_id, observed,
                                                now_us, &addrs, &text);
  if (status == PUNCH_AUTONAT_STATUS_OK)
    {
      const PunchAutonatServerConfig *config = punch_autonat_server_get_config (server);

      if (addrs == NULL || addrs->len == 0 || addrs->len > config->max_dial_addrs || text != NULL)
        abort ();
      for (guint i = 0; i < addrs->len; i++)
        {
          g_autoptr(GInetAddress) ip = punch_multiaddr_get_inet_address (addrs->pdata[i]);

          if (ip == NULL || !g_inet_address_equal (ip, observed_ip) ||
              punch_multiaddr_get_n_components (addrs->pdata[i]) != 2 ||
              punch_multiaddr_get_protocol (addrs->pdata[i], 1) != PUNCH_MULTIADDR_PROTOCOL_TCP ||
              (!allow_private && !punch_multiaddr_is_public (addrs->pdata[i])))
            abort ();
        }
      punch_autonat_server_dial_done (server);
    }
  else if (status != PUNCH_AUTONAT_STATUS_DIAL_REFUSED || addrs != NULL || text == NULL)
    abort ();
}

static void
check_response (const uint8_t *data,
                size_t         size)
{
  static PunchAutonatTracker *tracker;
  static PunchPeerId *servers[4];
  static gint64 now_us;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchAutonatResult) result = NULL;
  g_autoptr(PunchAutonatResult) again = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GPtrArray) requested = NULL;

  if (tracker == NULL)
    {
      PunchAutonatTrackerConfig config;

      punch_autonat_tracker_config_init (&config);
      config.threshold = 2;
      tracker = punch_autonat_tracker_new (&config);
      for (guint i = 0; i < G_N_ELEMENTS (servers); i++)
        {
          guint8 id[34] = { 0x12, 0x20 };
          g_autoptr(GBytes) b = NULL;

          id[2] = i + 1;
          b = g_bytes_new (id, sizeof id);
          servers[i] = punch_peer_id_new_from_bytes (b, NULL);
          if (servers[i] == NULL)
            abort ();
        }
    }

  result = punch_autonat_decode_dial_response (data, size, &error);
  if ((result == NULL) != (error != NULL) || (error != NULL && !known_code (error)))
    abort ();
  if (result == NULL)
    return;
  if (!g_utf8_validate (result->status_text, -1, NULL) ||
      strlen (result->status_text) > PUNCH_AUTONAT_MAX_STATUS_TEXT)
    abort ();

  bytes = punch_autonat_encode_dial_response (result->status, result->status_text, result->address);
  again = punch_autonat_decode_dial_response (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL);
  if (again == NULL || again->status != result->status ||
      g_strcmp0 (again->status_text, result->status_text) != 0 ||
      (again->address == NULL) != (result->address == NULL) ||
      (again->address != NULL && !punch_multiaddr_equal (again->address, result->address)))
    abort ();

  /* Feed the verdicts; they stay consistent. */
  now_us += 60 * G_USEC_PER_SEC;
  requested = g_ptr_array_new ();
  if (result->address != NULL)
    g_ptr_array_add (requested, result->address);
  punch_autonat_tracker_record (tracker, servers[size % G_N_ELEMENTS (servers)], result->status,
                                result->address, requested, now_us);
  if (punch_autonat_tracker_get_confidence (tracker) > PUNCH_AUTONAT_DEFAULT_MAX_CONFIDENCE ||
      (punch_autonat_tracker_get_reachability (tracker) == PUNCH_REACHABILITY_UNKNOWN &&
       punch_autonat_tracker_get_confidence (tracker) != 0))
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  if (size < 1)
    return 0;

  switch (data[0] & 0x3)
    {
    case 0:
      check_dial (data + 1, size - 1, FALSE);
      break;
    case 1:
      check_dial (data + 1, size - 1, TRUE);
      break;
    default:
      check_response (data + 1, size - 1);
      break;
    }
  return 0;
}
