/* test-relay-client.c: reservations and relayed connections end to end, over loopback.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "punch-connection.h"
#include "punch-error.h"
#include "punch-framing.h"
#include "punch-host-private.h"
#include "punch-relay-core.h"
#include "punch-host.h"
#include "punch-keypair.h"
#include "punch-relay-client.h"
#include "punch-relay.h"
#include "punch-stream.h"

#define ECHO "/test/echo/1.0.0"
#define WAIT_TIMEOUT_S 60

#include "punch-test-util.h"

static void
on_echo_spliced (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, NULL);
  g_object_unref (user_data);
}

static void
echo_handler (PunchHost   *host,
              PunchStream *stream,
              gpointer     user_data)
{
  g_output_stream_splice_async (g_io_stream_get_output_stream (G_IO_STREAM (stream)),
                                g_io_stream_get_input_stream (G_IO_STREAM (stream)),
                                G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE |
                                G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                G_PRIORITY_DEFAULT, NULL, on_echo_spliced, g_object_ref (stream));
}

static PunchHost *
host_new (PunchKeypair *keypair)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) fresh = NULL;
  PunchHost *host;

  if (keypair == NULL)
    {
      fresh = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);
      g_assert_no_error (error);
      keypair = fresh;
    }
  host = punch_host_new (keypair);
  punch_host_set_stream_handler (host, ECHO, echo_handler, NULL, NULL);
  return host;
}

static PunchMultiaddr *
host_listen (PunchHost  *host,
             const char *where)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) address = punch_multiaddr_new_from_string (where, &error);
  g_autoptr(GPtrArray) addresses = NULL;

  g_assert_no_error (error);
  g_assert_true (punch_host_listen (host, address, &error));
  g_assert_no_error (error);
  addresses = punch_host_get_listen_addresses (host);
  return punch_multiaddr_ref (g_ptr_array_index (addresses, 0));
}

typedef struct {
  guint gained;
  guint lost;
  GPtrArray *relayed;   /* PunchConnection */
} Events;

static void
on_gained (PunchRelayClient      *client,
           PunchRelayReservation *reservation,
           Events                *events)
{
  g_assert_nonnull (reservation);
  events->gained++;
}

static void
on_lost (PunchRelayClient *client,
         PunchPeerId      *relay,
         const GError     *reason,
         Events           *events)
{
  g_assert_nonnull (relay);
  events->lost++;
}

static void
on_relayed (PunchRelayClient *client,
            PunchConnection  *connection,
            Events           *events)
{
  g_ptr_array_add (events->relayed, g_object_ref (connection));
}

static PunchRelayClient *
client_new (PunchHost *host,
            Events    *events)
{
  PunchRelayClient *client = punch_relay_client_new (host);

  events->relayed = g_ptr_array_new_with_free_func (g_object_unref);
  g_object_set (client, "min-backoff", 100, "max-backoff", 400, NULL);
  g_signal_connect (client, "reservation-gained", G_CALLBACK (on_gained), events);
  g_signal_connect (client, "reservation-lost", G_CALLBACK (on_lost), events);
  g_signal_connect (client, "relayed-connection", G_CALLBACK (on_relayed), events);
  return client;
}

static void
client_free (PunchRelayClient *client,
             Events           *events)
{
  g_signal_handlers_disconnect_by_data (client, events);
  g_object_unref (client);
  g_ptr_array_unref (events->relayed);
}

static PunchConnection *
dial (PunchHost       *host,
      PunchMultiaddr  *address,
      GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  punch_host_dial_async (host, address, NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  return punch_host_dial_finish (host, result, error);
}

/* Writes @len random bytes on a new echo stream and reads them back. */
static void
assert_echo (PunchConnection *connection,
             gsize            len)
{
  static const gchar * const protocols[] = { ECHO, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) read_result = NULL;
  g_autoptr(PunchStream) stream = NULL;
  g_autofree guint8 *sent = g_malloc (len);
  g_autofree guint8 *got = g_malloc (len);
  gsize done = 0;

  for (gsize i = 0; i < len; i++)
    sent[i] = (guint8) g_random_int ();
  punch_connection_open_stream_async (connection, protocols, NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  stream = punch_connection_open_stream_finish (connection, result, &error);
  g_assert_no_error (error);
  g_clear_object (&result);

  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (stream)), sent, len,
                                   G_PRIORITY_DEFAULT, NULL, store_result, &result);
  g_input_stream_read_all_async (g_io_stream_get_input_stream (G_IO_STREAM (stream)), got, len,
                                 G_PRIORITY_DEFAULT, NULL, store_result, &read_result);
  WAIT_FOR (result != NULL && read_result != NULL);
  g_assert_true (g_output_stream_write_all_finish (g_io_stream_get_output_stream (G_IO_STREAM (stream)),
                                                   result, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_input_stream_read_all_finish (g_io_stream_get_input_stream (G_IO_STREAM (stream)),
                                                 read_result, &done, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (done, ==, len);
  g_assert_cmpmem (got, len, sent, len);
  g_assert_true (punch_stream_close_write (stream, &error));
  g_assert_no_error (error);
}

/* B reserves on R, A dials B through R: TLS and yamux end to end, a
 * limited connection, bytes echoed exactly. */
static void
test_relayed_echo (void)
{
  g_autoptr(PunchHost) r = host_new (NULL);
  g_autoptr(PunchHost) a = host_new (NULL);
  g_autoptr(PunchHost) b = host_new (NULL);
  g_autoptr(PunchRelayService) service = punch_relay_service_new (r);
  g_autoptr(PunchMultiaddr) r_address = host_listen (r, "/ip4/127.0.0.1/tcp/0");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) relayed = NULL;
  g_autoptr(PunchConnection) ab = NULL;
  g_autofree gchar *text = NULL;
  Events a_events = { 0 }, b_events = { 0 };
  PunchRelayClient *a_client = client_new (a, &a_events);
  PunchRelayClient *b_client = client_new (b, &b_events);
  PunchConnection *ba;

  g_assert_true (punch_relay_client_add_relay (b_client, r_address, &error));
  g_assert_no_error (error);
  g_assert_false (punch_relay_client_add_relay (b_client, r_address, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  g_assert_cmpuint (b_events.gained, ==, 0);   /* not reserving yet */
  punch_relay_client_set_reserving (b_client, TRUE);
  WAIT_FOR (b_events.gained == 1);
  g_assert_cmpuint (punch_relay_service_get_n_reservations (service), ==, 1);

  relayed = punch_relay_client_get_relayed_addresses (b_client);
  g_assert_cmpuint (relayed->len, >=, 1);
  text = punch_multiaddr_to_string (g_ptr_array_index (relayed, 0));
  {
    g_autofree gchar *b_id = punch_peer_id_to_string (punch_host_get_peer_id (b));
    g_autofree gchar *suffix = g_strdup_printf ("/p2p-circuit/p2p/%s", b_id);

    g_assert_true (g_str_has_suffix (text, suffix));
  }

  ab = dial (a, g_ptr_array_index (relayed, 0), &error);
  g_assert_no_error (error);
  g_assert_nonnull (ab);
  g_assert_true (punch_peer_id_equal (punch_connection_get_remote_peer_id (ab),
                                      punch_host_get_peer_id (b)));
  g_assert_true (punch_connection_is_limited (ab));
  g_assert_cmpstr (punch_connection_get_security_protocol (ab), ==, "/tls/1.0.0");
  g_assert_cmpuint (a_events.relayed->len, ==, 1);
  WAIT_FOR (b_events.relayed->len == 1);
  ba = g_ptr_array_index (b_events.relayed, 0);
  g_assert_true (punch_peer_id_equal (punch_connection_get_remote_peer_id (ba),
                                      punch_host_get_peer_id (a)));
  g_assert_cmpint (punch_connection_get_direction (ba), ==, PUNCH_DIRECTION_INBOUND);
  g_assert_true (punch_connection_is_limited (ba));

  assert_echo (ab, 256 * 1024);
  assert_echo (ba, 1000);

  punch_host_close (a);
  punch_host_close (b);
  punch_host_close (r);
  client_free (a_client, &a_events);
  client_free (b_client, &b_events);
  run_pending ();
}

/* The relay goes away: the reservation is lost; it comes back on the same
 * port with the same identity: reserved again (backoff), dialable again. */
static void
test_relay_restart (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) r_key = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);
  g_autoptr(PunchHost) r = host_new (r_key);
  g_autoptr(PunchHost) b = host_new (NULL);
  g_autoptr(PunchRelayService) service = punch_relay_service_new (r);
  g_autoptr(PunchMultiaddr) r_address = host_listen (r, "/ip4/127.0.0.1/tcp/0");
  g_autofree gchar *r_text = punch_multiaddr_to_string (r_address);
  g_autofree gchar *where = NULL;
  g_autoptr(PunchMultiaddr) again = NULL;
  g_autoptr(GPtrArray) reservations = NULL;
  Events b_events = { 0 };
  PunchRelayClient *b_client = client_new (b, &b_events);

  g_assert_true (punch_relay_client_add_relay (b_client, r_address, &error));
  punch_relay_client_set_reserving (b_client, TRUE);
  WAIT_FOR (b_events.gained == 1);

  punch_host_close (r);
  g_clear_object (&service);
  g_clear_object (&r);
  WAIT_FOR (b_events.lost == 1);
  reservations = punch_relay_client_get_reservations (b_client);
  g_assert_cmpuint (reservations->len, ==, 0);

  /* Same port: the listen address without /p2p. */
  where = g_strndup (r_text, strstr (r_text, "/p2p/") - r_text);
  r = host_new (r_key);
  service = punch_relay_service_new (r);
  again = host_listen (r, where);
  g_assert_true (punch_multiaddr_equal (again, r_address));
  WAIT_FOR (b_events.gained == 2);

  /* Unsetting drops it. */
  punch_relay_client_set_reserving (b_client, FALSE);
  g_assert_cmpuint (b_events.lost, ==, 2);

  punch_host_close (b);
  punch_host_close (r);
  client_free (b_client, &b_events);
  run_pending ();
}

/* B reserves on two relays and advertises a circuit address through each.
 * One relay goes away: that reservation and its address are gone, the
 * other stays, and A still reaches B through it (echo). */
static void
test_two_relays (void)
{
  g_autoptr(PunchHost) r1 = host_new (NULL);
  g_autoptr(PunchHost) r2 = host_new (NULL);
  g_autoptr(PunchHost) a = host_new (NULL);
  g_autoptr(PunchHost) b = host_new (NULL);
  g_autoptr(PunchRelayService) service1 = punch_relay_service_new (r1);
  g_autoptr(PunchRelayService) service2 = punch_relay_service_new (r2);
  g_autoptr(PunchMultiaddr) r1_address = host_listen (r1, "/ip4/127.0.0.1/tcp/0");
  g_autoptr(PunchMultiaddr) r2_address = host_listen (r2, "/ip4/127.0.0.1/tcp/0");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) relayed = NULL;
  g_autoptr(GPtrArray) reservations = NULL;
  g_autoptr(PunchConnection) ab = NULL;
  g_autofree gchar *r1_text = punch_multiaddr_to_string (r1_address);
  g_autofree gchar *r2_text = punch_multiaddr_to_string (r2_address);
  g_autofree gchar *left = NULL;
  Events a_events = { 0 }, b_events = { 0 };
  PunchRelayClient *a_client = client_new (a, &a_events);
  PunchRelayClient *b_client = client_new (b, &b_events);

  g_assert_true (punch_relay_client_add_relay (b_client, r1_address, &error));
  g_assert_true (punch_relay_client_add_relay (b_client, r2_address, &error));
  g_assert_no_error (error);
  punch_relay_client_set_reserving (b_client, TRUE);
  WAIT_FOR (b_events.gained == 2);
  g_assert_cmpuint (punch_relay_service_get_n_reservations (service1), ==, 1);
  g_assert_cmpuint (punch_relay_service_get_n_reservations (service2), ==, 1);
  relayed = punch_relay_client_get_relayed_addresses (b_client);
  g_assert_cmpuint (relayed->len, ==, 2);
  g_clear_pointer (&relayed, g_ptr_array_unref);

  /* R1 goes away. */
  punch_host_close (r1);
  g_clear_object (&service1);
  WAIT_FOR (b_events.lost == 1);
  reservations = punch_relay_client_get_reservations (b_client);
  g_assert_cmpuint (reservations->len, ==, 1);
  relayed = punch_relay_client_get_relayed_addresses (b_client);
  g_assert_cmpuint (relayed->len, ==, 1);
  left = punch_multiaddr_to_string (g_ptr_array_index (relayed, 0));
  g_assert_true (g_str_has_prefix (left, r2_text));
  g_assert_false (g_str_has_prefix (left, r1_text));

  ab = dial (a, g_ptr_array_index (relayed, 0), &error);
  g_assert_no_error (error);
  g_assert_true (punch_peer_id_equal (punch_connection_get_remote_peer_id (ab),
                                      punch_host_get_peer_id (b)));
  g_assert_true (punch_connection_is_limited (ab));
  assert_echo (ab, 64 * 1024);
  /* Still reserving: R1 is tried again with backoff. */
  g_assert_true (punch_relay_client_get_reserving (b_client));
  g_assert_cmpuint (b_events.gained, ==, 2);

  punch_host_close (a);
  punch_host_close (b);
  punch_host_close (r2);
  client_free (a_client, &a_events);
  client_free (b_client, &b_events);
  run_pending ();
}

/* Dialing a peer that has no reservation fails with the relay's status;
 * a host dialing a circuit to itself is refused. */
static void
test_no_reservation (void)
{
  g_autoptr(PunchHost) r = host_new (NULL);
  g_autoptr(PunchHost) a = host_new (NULL);
  g_autoptr(PunchKeypair) nobody = NULL;
  g_autoptr(PunchRelayService) service = punch_relay_service_new (r);
  g_autoptr(PunchMultiaddr) r_address = host_listen (r, "/ip4/127.0.0.1/tcp/0");
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchConnection) connection = NULL;
  g_autoptr(PunchMultiaddr) circuit = punch_multiaddr_new_from_string ("/p2p-circuit", NULL);
  g_autoptr(PunchMultiaddr) with_circuit = punch_multiaddr_encapsulate (r_address, circuit, NULL);
  g_autoptr(PunchMultiaddr) target = NULL;
  g_autoptr(PunchMultiaddr) address = NULL;
  g_autoptr(PunchMultiaddr) self_target = NULL;
  g_autoptr(PunchMultiaddr) self_address = NULL;
  Events a_events = { 0 };
  PunchRelayClient *a_client = client_new (a, &a_events);

  nobody = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);
  g_assert_no_error (error);
  target = punch_multiaddr_new_from_peer_id (punch_keypair_get_peer_id (nobody));
  address = punch_multiaddr_encapsulate (with_circuit, target, NULL);
  connection = dial (a, address, &error);
  g_assert_error (error, PUNCH_RELAY_ERROR, PUNCH_RELAY_ERROR_NO_RESERVATION);
  g_assert_null (connection);
  g_clear_error (&error);
  g_assert_cmpuint (punch_relay_service_get_n_circuits (service), ==, 0);

  self_target = punch_multiaddr_new_from_peer_id (punch_host_get_peer_id (a));
  self_address = punch_multiaddr_encapsulate (with_circuit, self_target, NULL);
  connection = dial (a, self_address, &error);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  punch_host_close (a);
  punch_host_close (r);
  client_free (a_client, &a_events);
  run_pending ();
}

/* A malicious relay: it answers every CONNECT with OK and then plays the
 * target itself (it could as well splice to any third peer): the dialer's
 * end-to-end TLS sees another peer than the one it dialed and refuses. */
typedef struct {
  PunchHost *host;
  PunchStream *stream;
  GAsyncResult *upgraded;
} Impostor;

static void
on_impostor_answered (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  Impostor *impostor = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) local = punch_multiaddr_new_from_string ("/p2p-circuit", NULL);
  PunchConnection *via = punch_stream_get_connection (impostor->stream);
  g_autoptr(PunchMultiaddr) remote =
    punch_multiaddr_new_from_peer_id (punch_connection_get_remote_peer_id (via));

  g_assert_true (punch_framing_write_finish (G_OUTPUT_STREAM (source), result, &error));
  punch_host_upgrade_transport_async (impostor->host, G_IO_STREAM (impostor->stream),
                                      PUNCH_DIRECTION_INBOUND, NULL, local, remote, 0, 0, NULL,
                                      store_result, &impostor->upgraded);
}

static void
on_impostor_request (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  Impostor *impostor = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) request = punch_framing_read_finish (G_INPUT_STREAM (source), result, &error);
  g_autoptr(PunchRelayMessage) message = NULL;
  g_autoptr(GBytes) ok = punch_relay_status_message (PUNCH_RELAY_KIND_HOP, PUNCH_RELAY_STATUS_OK);

  g_assert_no_error (error);
  message = punch_relay_message_decode (PUNCH_RELAY_KIND_HOP, g_bytes_get_data (request, NULL),
                                        g_bytes_get_size (request), &error);
  g_assert_no_error (error);
  g_assert_cmpint (message->type, ==, PUNCH_RELAY_TYPE_CONNECT);
  punch_framing_write_async (g_io_stream_get_output_stream (G_IO_STREAM (impostor->stream)), ok,
                             G_PRIORITY_DEFAULT, NULL, on_impostor_answered, impostor);
}

static void
impostor_hop_handler (PunchHost   *host,
                      PunchStream *stream,
                      gpointer     user_data)
{
  Impostor *impostor = user_data;

  g_assert_null (impostor->stream);
  impostor->stream = g_object_ref (stream);
  punch_framing_read_async (g_io_stream_get_input_stream (G_IO_STREAM (stream)),
                            PUNCH_RELAY_MAX_MESSAGE_SIZE, G_PRIORITY_DEFAULT, NULL,
                            on_impostor_request, impostor);
}

static void
test_malicious_relay (void)
{
  g_autoptr(PunchHost) m = host_new (NULL);
  g_autoptr(PunchHost) a = host_new (NULL);
  g_autoptr(PunchHost) b = host_new (NULL);
  g_autoptr(PunchMultiaddr) m_address = host_listen (m, "/ip4/127.0.0.1/tcp/0");
  g_autoptr(PunchMultiaddr) circuit = punch_multiaddr_new_from_string ("/p2p-circuit", NULL);
  g_autoptr(PunchMultiaddr) with_circuit = punch_multiaddr_encapsulate (m_address, circuit, NULL);
  g_autoptr(PunchMultiaddr) target = punch_multiaddr_new_from_peer_id (punch_host_get_peer_id (b));
  g_autoptr(PunchMultiaddr) address = punch_multiaddr_encapsulate (with_circuit, target, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchConnection) connection = NULL;
  g_autoptr(PunchConnection) m_side = NULL;
  g_autoptr(GPtrArray) to_b = NULL;
  Impostor impostor = { 0 };
  Events a_events = { 0 };
  PunchRelayClient *a_client = client_new (a, &a_events);

  impostor.host = m;
  punch_host_set_stream_handler (m, PUNCH_RELAY_HOP_PROTOCOL_ID, impostor_hop_handler, &impostor, NULL);
  connection = dial (a, address, &error);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH);
  g_clear_error (&error);
  g_assert_null (connection);
  g_assert_cmpuint (a_events.relayed->len, ==, 0);
  to_b = punch_host_get_connections (a, punch_host_get_peer_id (b));
  g_assert_cmpuint (to_b->len, ==, 0);
  /* The impostor's side failed too (the dialer aborted its handshake). */
  WAIT_FOR (impostor.upgraded != NULL);
  m_side = punch_host_upgrade_transport_finish (m, impostor.upgraded, &error);
  g_assert_null (m_side);
  g_assert_nonnull (error);

  g_clear_object (&impostor.upgraded);
  g_clear_object (&impostor.stream);
  punch_host_close (a);
  punch_host_close (m);
  client_free (a_client, &a_events);
  run_pending ();
}

/* A reservation that is not renewed expires: the peer is no longer
 * reachable through the relay. */
static void
test_reservation_expiry (void)
{
  g_autoptr(PunchHost) r = host_new (NULL);
  g_autoptr(PunchHost) a = host_new (NULL);
  g_autoptr(PunchHost) b = host_new (NULL);
  g_autoptr(PunchRelayService) service = punch_relay_service_new (r);
  g_autoptr(PunchMultiaddr) r_address = host_listen (r, "/ip4/127.0.0.1/tcp/0");
  g_autoptr(PunchRelayReservation) reservation = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchConnection) b_to_r = NULL;
  g_autoptr(PunchConnection) relayed = NULL;
  g_autoptr(PunchPeerId) r_id = punch_multiaddr_get_peer_id (r_address);
  g_autoptr(PunchMultiaddr) circuit = punch_multiaddr_new_from_string ("/p2p-circuit", NULL);
  g_autoptr(PunchMultiaddr) with_circuit = punch_multiaddr_encapsulate (r_address, circuit, NULL);
  g_autoptr(PunchMultiaddr) target = punch_multiaddr_new_from_peer_id (punch_host_get_peer_id (b));
  g_autoptr(PunchMultiaddr) address = punch_multiaddr_encapsulate (with_circuit, target, NULL);
  Events a_events = { 0 }, b_events = { 0 };
  PunchRelayClient *a_client = client_new (a, &a_events);
  PunchRelayClient *b_client = client_new (b, &b_events);   /* stop handler, no reservations */

  /* Long enough for the reservation and the first relayed dial even
   * under valgrind (a 1 s TTL expired before that dial there). */
  g_object_set (service, "reservation-ttl", 5, NULL);
  b_to_r = dial (b, r_address, &error);
  g_assert_no_error (error);
  punch_relay_reserve_async (b, r_id, NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  reservation = punch_relay_reserve_finish (b, result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (punch_relay_service_get_n_reservations (service), ==, 1);

  /* Reachable while it lasts... */
  relayed = dial (a, address, &error);
  g_assert_no_error (error);
  g_assert_nonnull (relayed);
  punch_connection_close (relayed);
  g_clear_object (&relayed);

  /* ...not after (the relay's expiry timer), though B stays connected. */
  WAIT_FOR (punch_relay_service_get_n_reservations (service) == 0);
  g_assert_false (punch_connection_is_closed (b_to_r));
  relayed = dial (a, address, &error);
  g_assert_error (error, PUNCH_RELAY_ERROR, PUNCH_RELAY_ERROR_NO_RESERVATION);
  g_assert_null (relayed);

  punch_host_close (a);
  punch_host_close (b);
  punch_host_close (r);
  client_free (a_client, &a_events);
  client_free (b_client, &b_events);
  run_pending ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/relay-client/echo", test_relayed_echo);
  g_test_add_func ("/relay-client/relay-restart", test_relay_restart);
  g_test_add_func ("/relay-client/two-relays", test_two_relays);
  g_test_add_func ("/relay-client/no-reservation", test_no_reservation);
  g_test_add_func ("/relay-client/malicious-relay", test_malicious_relay);
  g_test_add_func ("/relay-client/reservation-expiry", test_reservation_expiry);

  return g_test_run ();
}
