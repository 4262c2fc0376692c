/* test-autonat-host.c: the AutoNAT v1 service and client over loopback TCP.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <punch.h>

#include "punch-autonat-core.h"

/* Every wait is a main loop iteration bounded by a failsafe timeout. */
#define WAIT_TIMEOUT_S 30

#include "punch-test-util.h"

static PunchMultiaddr *
ma (const gchar *text)
{
  g_autoptr(GError) error = NULL;
  PunchMultiaddr *addr = punch_multiaddr_new_from_string (text, &error);

  g_assert_no_error (error);
  return addr;
}

static PunchHost *
host_new (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);

  g_assert_no_error (error);
  return punch_host_new (keypair);
}

/* Listens on 127.0.0.1 and returns the address bound, without /p2p. */
static PunchMultiaddr *
host_listen (PunchHost *host)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) any = ma ("/ip4/127.0.0.1/tcp/0");
  g_autoptr(GPtrArray) addresses = NULL;
  PunchMultiaddr *last;

  g_assert_true (punch_host_listen (host, any, &error));
  g_assert_no_error (error);
  addresses = punch_host_get_listen_addresses (host);
  g_assert_cmpuint (addresses->len, >, 0);
  last = addresses->pdata[addresses->len - 1];
  if (punch_multiaddr_find_protocol (last, PUNCH_MULTIADDR_PROTOCOL_P2P) >= 0)
    return punch_multiaddr_decapsulate_protocol (last, PUNCH_MULTIADDR_PROTOCOL_P2P);
  return punch_multiaddr_ref (last);
}

/* A TCP port on @ip where nothing listens (bound, then closed). */
static guint16
free_port (const gchar *ip)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (ip);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (inet, 0);
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, &error);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, any, FALSE, &error));
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

typedef struct {
  PunchHost *server_host;
  PunchAutonatService *service;
  PunchHost *client;
  PunchMultiaddr *client_addr;        /* where the client listens */
  GPtrArray *opened;                  /* PunchConnection the client saw open */
  guint n_closed;
  GPtrArray *handled;                 /* statuses the service answered */
} Fixture;

static void
on_client_opened (PunchHost       *host,
                  PunchConnection *connection,
                  Fixture         *f)
{
  g_ptr_array_add (f->opened, g_object_ref (connection));
}

static void
on_client_closed (PunchHost       *host,
                  PunchConnection *connection,
                  const GError    *reason,
                  Fixture         *f)
{
  f->n_closed++;
}

static void
on_request_handled (PunchAutonatService *service,
                    PunchPeerId         *peer,
                    PunchAutonatStatus   status,
                    Fixture             *f)
{
  g_assert_true (punch_peer_id_equal (peer, punch_host_get_peer_id (f->client)));
  g_ptr_array_add (f->handled, GINT_TO_POINTER (status));
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(PunchMultiaddr) server_addr = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(PunchConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  f->opened = g_ptr_array_new_with_free_func (g_object_unref);
  f->handled = g_ptr_array_new ();

  f->server_host = host_new ();
  server_addr = host_listen (f->server_host);
  f->service = punch_autonat_service_new (f->server_host);
  punch_autonat_service_set_allow_private (f->service, TRUE);
  punch_autonat_service_set_dial_timeout (f->service, 5000);
  g_signal_connect (f->service, "request-handled", G_CALLBACK (on_request_handled), f);

  f->client = host_new ();
  f->client_addr = host_listen (f->client);
  g_signal_connect (f->client, "connection-opened", G_CALLBACK (on_client_opened), f);
  g_signal_connect (f->client, "connection-closed", G_CALLBACK (on_client_closed), f);

  punch_host_dial_async (f->client, server_addr, NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  connection = punch_host_dial_finish (f->client, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (connection);
  g_assert_cmpuint (f->opened->len, ==, 1);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  GObject *service = G_OBJECT (f->service);
  gpointer weak = service;

  g_object_add_weak_pointer (service, &weak);
  g_signal_handlers_disconnect_by_data (f->service, f);
  g_clear_object (&f->service);
  /* Requests in flight keep the service: it goes when they are done. */
  WAIT_FOR (weak == NULL);

  g_signal_handlers_disconnect_by_data (f->client, f);
  punch_host_close (f->client);
  punch_host_close (f->server_host);
  g_clear_object (&f->client);
  g_clear_object (&f->server_host);
  g_clear_pointer (&f->client_addr, punch_multiaddr_unref);
  g_ptr_array_unref (f->opened);
  g_ptr_array_unref (f->handled);
  run_pending ();
}

static PunchAutonatResult *
ask (Fixture    *f,
     GPtrArray  *addresses,
     GError    **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  punch_autonat_dial_async (f->client, punch_host_get_peer_id (f->server_host), addresses,
                            NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  return punch_autonat_dial_finish (f->client, result, error);
}

static void
test_dial_back_ok (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GPtrArray) addresses = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchAutonatResult) result = NULL;
  PunchConnection *back;
  PunchPeerId *dialer = punch_autonat_service_get_dialer_peer_id (f->service);

  g_assert_false (punch_peer_id_equal (dialer, punch_host_get_peer_id (f->server_host)));

  g_ptr_array_add (addresses, f->client_addr);
  result = ask (f, addresses, &error);
  g_assert_no_error (error);
  g_assert_cmpint (punch_autonat_result_get_status (result), ==, PUNCH_AUTONAT_STATUS_OK);
  g_assert_nonnull (punch_autonat_result_get_address (result));
  g_assert_true (punch_multiaddr_equal (punch_autonat_result_get_address (result), f->client_addr));

  /* The dial-back was a new inbound connection from the service's own
   * dialer identity, not from the server host. */
  /* The client may see it open just after the response arrives on the
   * other connection. */
  WAIT_FOR (f->opened->len >= 2);
  g_assert_cmpuint (f->opened->len, ==, 2);
  back = f->opened->pdata[1];
  g_assert_cmpint (punch_connection_get_direction (back), ==, PUNCH_DIRECTION_INBOUND);
  g_assert_true (punch_peer_id_equal (punch_connection_get_remote_peer_id (back), dialer));
  g_assert_false (punch_peer_id_equal (punch_connection_get_remote_peer_id (back),
                                       punch_host_get_peer_id (f->server_host)));

  /* ...and the service closes it. */
  WAIT_FOR (punch_connection_is_closed (back));
  g_assert_cmpuint (f->handled->len, ==, 1);
  g_assert_cmpint (GPOINTER_TO_INT (f->handled->pdata[0]), ==, PUNCH_AUTONAT_STATUS_OK);
}

static void
test_dial_back_error (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GPtrArray) addresses = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchAutonatResult) result = NULL;
  g_autofree gchar *text = g_strdup_printf ("/ip4/127.0.0.1/tcp/%u", free_port ("127.0.0.1"));

  g_ptr_array_add (addresses, ma (text));
  result = ask (f, addresses, &error);
  g_assert_no_error (error);
  g_assert_cmpint (punch_autonat_result_get_status (result), ==, PUNCH_AUTONAT_STATUS_DIAL_ERROR);
  g_assert_null (punch_autonat_result_get_address (result));
  g_assert_cmpuint (f->opened->len, ==, 1);
}

typedef struct {
  GSocketListener *listener;
  guint n_accepted;
  gboolean done;
} Counter;

static void
on_accepted (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Counter *c = user_data;
  g_autoptr(GSocketConnection) connection = NULL;

  connection = g_socket_listener_accept_finish (G_SOCKET_LISTENER (source), result, NULL, NULL);
  if (connection == NULL)
    {
      c->done = TRUE;
      return;
    }
  c->n_accepted++;
  g_socket_listener_accept_async (c->listener, NULL, on_accepted, c);
}

static void
test_dial_back_foreign_ip (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GPtrArray) addresses = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchAutonatResult) refused = NULL;
  g_autoptr(PunchAutonatResult) mixed = NULL;
  g_autoptr(GInetAddress) other_ip = g_inet_address_new_from_string ("127.0.0.2");
  g_autoptr(GSocketAddress) other_any = g_inet_socket_address_new (other_ip, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autofree gchar *text = NULL;
  Counter c = { 0 };

  /* A listener on another IP of the loopback network, counting accepts. */
  c.listener = g_socket_listener_new ();
  g_assert_true (g_socket_listener_add_address (c.listener, other_any, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error));
  g_assert_no_error (error);
  g_socket_listener_accept_async (c.listener, NULL, on_accepted, &c);
  text = g_strdup_printf ("/ip4/127.0.0.2/tcp/%u",
                          g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));

  /* The client is seen at 127.0.0.1: 127.0.0.2 is never dialed. */
  g_ptr_array_add (addresses, ma (text));
  refused = ask (f, addresses, &error);
  g_assert_no_error (error);
  g_assert_cmpint (punch_autonat_result_get_status (refused), ==, PUNCH_AUTONAT_STATUS_DIAL_REFUSED);
  g_assert_nonnull (strstr (punch_autonat_result_get_status_text (refused), "observed IP"));

  /* With a good address too: that one alone is dialed. */
  g_ptr_array_add (addresses, punch_multiaddr_ref (f->client_addr));
  mixed = ask (f, addresses, &error);
  g_assert_no_error (error);
  g_assert_cmpint (punch_autonat_result_get_status (mixed), ==, PUNCH_AUTONAT_STATUS_OK);
  g_assert_true (punch_multiaddr_equal (punch_autonat_result_get_address (mixed), f->client_addr));

  run_pending ();
  g_assert_cmpuint (c.n_accepted, ==, 0);

  g_socket_listener_close (c.listener);
  WAIT_FOR (c.done);
  g_object_unref (c.listener);
}

static void
test_rate_limit (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GPtrArray) addresses = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchAutonatResult) first = NULL;
  g_autoptr(PunchAutonatResult) second = NULL;
  gint64 start;

  punch_autonat_service_set_peer_rate (f->service, 1);
  g_assert_cmpuint (punch_autonat_service_get_peer_rate (f->service), ==, 1);
  g_ptr_array_add (addresses, f->client_addr);

  first = ask (f, addresses, &error);
  g_assert_no_error (error);
  g_assert_cmpint (punch_autonat_result_get_status (first), ==, PUNCH_AUTONAT_STATUS_OK);

  start = g_get_monotonic_time ();
  second = ask (f, addresses, &error);
  g_assert_no_error (error);
  g_assert_cmpint (punch_autonat_result_get_status (second), ==, PUNCH_AUTONAT_STATUS_DIAL_REFUSED);
  g_assert_cmpstr (punch_autonat_result_get_status_text (second), ==, "too many requests from this peer");
  /* Promptly: well under the dial timeout. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
}

static void
test_concurrent_limit (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GPtrArray) addresses = g_ptr_array_new ();
  g_autoptr(GAsyncResult) r1 = NULL;
  g_autoptr(GAsyncResult) r2 = NULL;
  g_autoptr(PunchAutonatResult) a = NULL;
  g_autoptr(PunchAutonatResult) b = NULL;
  g_autoptr(GError) error = NULL;
  guint n_ok, n_refused;

  punch_autonat_service_set_max_concurrent (f->service, 1);
  g_ptr_array_add (addresses, f->client_addr);

  punch_autonat_dial_async (f->client, punch_host_get_peer_id (f->server_host), addresses,
                            NULL, store_result, &r1);
  punch_autonat_dial_async (f->client, punch_host_get_peer_id (f->server_host), addresses,
                            NULL, store_result, &r2);
  WAIT_FOR (r1 != NULL && r2 != NULL);
  a = punch_autonat_dial_finish (f->client, r1, &error);
  g_assert_no_error (error);
  b = punch_autonat_dial_finish (f->client, r2, &error);
  g_assert_no_error (error);

  n_ok = (punch_autonat_result_get_status (a) == PUNCH_AUTONAT_STATUS_OK) +
         (punch_autonat_result_get_status (b) == PUNCH_AUTONAT_STATUS_OK);
  n_refused = (punch_autonat_result_get_status (a) == PUNCH_AUTONAT_STATUS_DIAL_REFUSED) +
              (punch_autonat_result_get_status (b) == PUNCH_AUTONAT_STATUS_DIAL_REFUSED);
  g_assert_cmpuint (n_ok, ==, 1);
  g_assert_cmpuint (n_refused, ==, 1);
}

static void
test_malformed_then_good (Fixture       *f,
                          gconstpointer  data)
{
  static const gchar * const protocols[] = { PUNCH_AUTONAT_PROTOCOL_ID, NULL };
  static const guint8 garbage[] = { 0x08, 0x00, 0x12, 0x03, 0x0a, 0xff, 0x01 };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) written = NULL;
  g_autoptr(GAsyncResult) read = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) stream = NULL;
  g_autoptr(GBytes) payload = g_bytes_new_static (garbage, sizeof garbage);
  g_autoptr(GBytes) response = NULL;
  g_autoptr(PunchAutonatResult) bad = NULL;
  g_autoptr(PunchAutonatResult) good = NULL;
  g_autoptr(GPtrArray) addresses = g_ptr_array_new ();
  GInputStream *input;

  punch_host_new_stream_async (f->client, punch_host_get_peer_id (f->server_host), protocols,
                               NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  stream = punch_host_new_stream_finish (f->client, result, &error);
  g_assert_no_error (error);

  punch_framing_write_async (g_io_stream_get_output_stream (G_IO_STREAM (stream)), payload,
                             G_PRIORITY_DEFAULT, NULL, store_result, &written);
  WAIT_FOR (written != NULL);
  g_assert_true (punch_framing_write_finish (g_io_stream_get_output_stream (G_IO_STREAM (stream)),
                                             written, &error));
  g_assert_no_error (error);

  input = g_io_stream_get_input_stream (G_IO_STREAM (stream));
  punch_framing_read_async (input, PUNCH_AUTONAT_MAX_MESSAGE_SIZE, G_PRIORITY_DEFAULT, NULL,
                            store_result, &read);
  WAIT_FOR (read != NULL);
  response = punch_framing_read_finish (input, read, &error);
  g_assert_no_error (error);
  bad = punch_autonat_decode_dial_response (g_bytes_get_data (response, NULL),
                                            g_bytes_get_size (response), &error);
  g_assert_no_error (error);
  g_assert_cmpint (punch_autonat_result_get_status (bad), ==, PUNCH_AUTONAT_STATUS_BAD_REQUEST);

  /* The service goes on serving. */
  g_ptr_array_add (addresses, f->client_addr);
  good = ask (f, addresses, &error);
  g_assert_no_error (error);
  g_assert_cmpint (punch_autonat_result_get_status (good), ==, PUNCH_AUTONAT_STATUS_OK);
  g_assert_cmpuint (f->handled->len, ==, 2);
}

static void
test_properties (Fixture       *f,
                 gconstpointer  data)
{
  guint global = 0, timeout = 0, max = 0;
  gboolean allow = FALSE;
  PunchHost *host = NULL;

  g_object_set (f->service, "global-rate", 7, "max-addresses", 2, NULL);
  g_object_get (f->service, "global-rate", &global, "dial-timeout", &timeout,
                "max-addresses", &max, "allow-private", &allow, "host", &host, NULL);
  g_assert_cmpuint (global, ==, 7);
  g_assert_cmpuint (timeout, ==, 5000);
  g_assert_cmpuint (max, ==, 2);
  g_assert_true (allow);
  g_assert_true (host == f->server_host);
  g_assert_true (punch_autonat_service_get_host (f->service) == f->server_host);
  g_object_unref (host);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/autonat-host/dial-back/ok", Fixture, NULL, fixture_setup, test_dial_back_ok, fixture_teardown);
  g_test_add ("/autonat-host/dial-back/error", Fixture, NULL, fixture_setup, test_dial_back_error, fixture_teardown);
  g_test_add ("/autonat-host/dial-back/foreign-ip", Fixture, NULL, fixture_setup, test_dial_back_foreign_ip, fixture_teardown);
  g_test_add ("/autonat-host/limits/peer-rate", Fixture, NULL, fixture_setup, test_rate_limit, fixture_teardown);
  g_test_add ("/autonat-host/limits/concurrent", Fixture, NULL, fixture_setup, test_concurrent_limit, fixture_teardown);
  g_test_add ("/autonat-host/malformed-then-good", Fixture, NULL, fixture_setup, test_malformed_then_good, fixture_teardown);
  g_test_add ("/autonat-host/properties", Fixture, NULL, fixture_setup, test_properties, fixture_teardown);

  return g_test_run ();
}
