/* test-host.c: PunchHost, PunchConnection and PunchStream over loopback TCP.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "punch-connection-private.h"
#include "punch-error.h"
#include "punch-host-private.h"
#include "punch-identify.h"
#include "punch-keypair.h"
#include "punch-multistream.h"
#include "punch-ping.h"
#include "punch-stream-private.h"
#include "punch-yamux-session.h"

#define KiB 1024
#define MiB (1024 * 1024)

#define ECHO "/test/echo/1.0.0"
#define SINK "/test/sink/1.0.0"

/* Every wait is a main loop iteration bounded by a failsafe timeout. */
#define WAIT_TIMEOUT_S 60

#include "punch-test-log.h"
#include "punch-test-util.h"

/* ------------------------------------------------------------------ */
/* The library's log                                                  */
/* ------------------------------------------------------------------ */

/* Asserts that the connection from 127.0.0.1:@port logged that it closes
 * for a reason containing @reason. */
static void
assert_logged_close (guint16      port,
                     const gchar *reason)
{
  g_autofree gchar *from = g_strdup_printf ("from /ip4/127.0.0.1/tcp/%u: closing: ", port);

  if (!log_has (from, reason))
    {
      log_dump ();
      g_error ("no log line \"%s…%s\"", from, reason);
    }
}

/* ------------------------------------------------------------------ */
/* Peers                                                              */
/* ------------------------------------------------------------------ */

static guint n_alive_connections;

static void
on_connection_finalized (gpointer  data,
                         GObject  *where_the_object_was)
{
  n_alive_connections--;
}

typedef struct {
  PunchHost *host;
  GPtrArray *opened;          /* PunchConnection */
  GPtrArray *closed;          /* PunchConnection */
  GPtrArray *reasons;         /* GError or NULL, matching closed */
  GPtrArray *sink_streams;    /* streams the sink handler keeps */
} Peer;

/* Echo splices that failed (they may outlive their peer). */
static guint echo_errors;

static void
free_error_or_null (gpointer data)
{
  if (data != NULL)
    g_error_free (data);
}

static void
on_connection_opened (PunchHost       *host,
                      PunchConnection *connection,
                      Peer            *peer)
{
  g_autoptr(GPtrArray) connections = punch_host_get_connections (host, NULL);

  g_assert_true (g_ptr_array_find (connections, connection, NULL));
  g_assert_false (punch_connection_is_closed (connection));
  g_assert_nonnull (punch_connection_get_remote_peer_id (connection));
  n_alive_connections++;
  g_object_weak_ref (G_OBJECT (connection), on_connection_finalized, NULL);
  g_ptr_array_add (peer->opened, g_object_ref (connection));
}

static void
on_connection_closed (PunchHost       *host,
                      PunchConnection *connection,
                      const GError    *reason,
                      Peer            *peer)
{
  g_autoptr(GPtrArray) connections = punch_host_get_connections (host, NULL);

  g_assert_false (g_ptr_array_find (connections, connection, NULL));
  g_assert_true (punch_connection_is_closed (connection));
  g_assert_true (g_ptr_array_find (peer->opened, connection, NULL));
  g_ptr_array_add (peer->closed, g_object_ref (connection));
  g_ptr_array_add (peer->reasons, reason != NULL ? g_error_copy (reason) : NULL);
}

static void
on_echo_spliced (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, &error) < 0)
    echo_errors++;
  g_object_unref (user_data);   /* the stream */
}

/* Writes back what it reads; half-closes when the peer does. */
static void
echo_handler (PunchHost   *host,
              PunchStream *stream,
              gpointer     user_data)
{
  Peer *peer = user_data;

  g_assert_true (peer->host == host);
  g_assert_cmpstr (punch_stream_get_protocol (stream), ==, ECHO);
  g_assert_cmpint (punch_stream_get_direction (stream), ==, PUNCH_DIRECTION_INBOUND);
  g_assert_nonnull (punch_stream_get_connection (stream));

  /* The splice holds the input and output streams but not @stream, whose
   * last reference would close it: the callback's data keeps it. */
  g_output_stream_splice_async (g_io_stream_get_output_stream (G_IO_STREAM (stream)),
                                g_io_stream_get_input_stream (G_IO_STREAM (stream)),
                                G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE |
                                G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                G_PRIORITY_DEFAULT, NULL, on_echo_spliced,
                                g_object_ref (stream));
}

/* Keeps the stream and reads nothing. */
static void
sink_handler (PunchHost   *host,
              PunchStream *stream,
              gpointer     user_data)
{
  Peer *peer = user_data;

  g_assert_cmpstr (punch_stream_get_protocol (stream), ==, SINK);
  g_ptr_array_add (peer->sink_streams, g_object_ref (stream));
}

static Peer *
peer_new (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);
  Peer *peer = g_new0 (Peer, 1);

  g_assert_no_error (error);
  peer->host = punch_host_new (keypair);
  peer->opened = g_ptr_array_new_with_free_func (g_object_unref);
  peer->closed = g_ptr_array_new_with_free_func (g_object_unref);
  peer->reasons = g_ptr_array_new_with_free_func (free_error_or_null);
  peer->sink_streams = g_ptr_array_new_with_free_func (g_object_unref);
  g_signal_connect (peer->host, "connection-opened", G_CALLBACK (on_connection_opened), peer);
  g_signal_connect (peer->host, "connection-closed", G_CALLBACK (on_connection_closed), peer);
  punch_host_set_stream_handler (peer->host, ECHO, echo_handler, peer, NULL);
  punch_host_set_stream_handler (peer->host, SINK, sink_handler, peer, NULL);
  return peer;
}

static void
peer_free (Peer *peer)
{
  punch_host_close (peer->host);
  g_signal_handlers_disconnect_by_data (peer->host, peer);
  g_clear_object (&peer->host);
  g_ptr_array_unref (peer->sink_streams);
  g_ptr_array_unref (peer->opened);
  g_ptr_array_unref (peer->closed);
  g_ptr_array_unref (peer->reasons);
  g_free (peer);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Peer, peer_free)

/* After a test: every connection object is gone, nothing is pending. */
static void
drain (void)
{
  WAIT_FOR (n_alive_connections == 0);
  run_pending ();
}

/* Listens on @text and returns the address bound, with /p2p. */
static PunchMultiaddr *
peer_listen (Peer       *peer,
             const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) address = punch_multiaddr_new_from_string (text, &error);
  g_autoptr(GPtrArray) addresses = NULL;

  g_assert_no_error (error);
  g_assert_true (punch_host_listen (peer->host, address, &error));
  g_assert_no_error (error);
  addresses = punch_host_get_listen_addresses (peer->host);
  g_assert_cmpuint (addresses->len, >, 0);
  return punch_multiaddr_ref (g_ptr_array_index (addresses, addresses->len - 1));
}

static PunchConnection *
peer_dial (Peer            *peer,
           PunchMultiaddr  *address,
           GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  punch_host_dial_async (peer->host, address, NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  return punch_host_dial_finish (peer->host, result, error);
}

static PunchStream *
open_stream (PunchConnection      *connection,
             const gchar * const  *protocols,
             GError              **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  punch_connection_open_stream_async (connection, protocols, NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  return punch_connection_open_stream_finish (connection, result, error);
}

/* A connected pair: @b listens on @where, @a dials it. */
static PunchConnection *
connect_pair (Peer       *a,
              Peer       *b,
              const char *where)
{
  g_autoptr(PunchMultiaddr) address = peer_listen (b, where);
  g_autoptr(GError) error = NULL;
  PunchConnection *connection = peer_dial (a, address, &error);

  g_assert_no_error (error);
  g_assert_nonnull (connection);
  WAIT_FOR (b->opened->len > 0);
  return connection;
}

static gssize
read_all (PunchStream  *stream,
          guint8       *buffer,
          gsize         size,
          GError      **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  gsize done = 0;

  g_input_stream_read_all_async (g_io_stream_get_input_stream (G_IO_STREAM (stream)),
                                 buffer, size, G_PRIORITY_DEFAULT, NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  if (!g_input_stream_read_all_finish (g_io_stream_get_input_stream (G_IO_STREAM (stream)),
                                       result, &done, error))
    return -1;
  return (gssize) done;
}

static gboolean
write_all (PunchStream   *stream,
           const void    *data,
           gsize          len,
           GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  GOutputStream *output = g_io_stream_get_output_stream (G_IO_STREAM (stream));

  g_output_stream_write_all_async (output, data, len, G_PRIORITY_DEFAULT, NULL,
                                   store_result, &result);
  WAIT_FOR (result != NULL);
  return g_output_stream_write_all_finish (output, result, NULL, error);
}

/* One round trip on the echo protocol, half-closing. */
static void
assert_echo (PunchConnection *connection)
{
  static const gchar * const protocols[] = { ECHO, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) stream = open_stream (connection, protocols, &error);
  guint8 buffer[64];

  g_assert_no_error (error);
  g_assert_true (write_all (stream, "hello, echo", 11, &error));
  g_assert_no_error (error);
  g_assert_true (punch_stream_close_write (stream, &error));
  g_assert_no_error (error);
  g_assert_cmpint (read_all (stream, buffer, sizeof buffer, &error), ==, 11);
  g_assert_no_error (error);
  g_assert_cmpmem (buffer, 11, "hello, echo", 11);
}

static PunchMultiaddr *
without_p2p (PunchMultiaddr *address)
{
  return punch_multiaddr_decapsulate_protocol (address, PUNCH_MULTIADDR_PROTOCOL_P2P);
}

/* ------------------------------------------------------------------ */
/* Connecting                                                         */
/* ------------------------------------------------------------------ */

static void
check_connect (const char *where)
{
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) address = NULL;
  g_autoptr(PunchMultiaddr) listen_ip = NULL;
  g_autoptr(PunchMultiaddr) bare = NULL;
  g_autoptr(PunchPeerId) listen_peer = NULL;
  g_autoptr(PunchConnection) ab = NULL;
  g_autoptr(PunchConnection) again = NULL;
  g_autoptr(PunchConnection) fresh = NULL;
  g_autoptr(GPtrArray) to_b = NULL;
  g_autoptr(GPtrArray) to_a = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(PunchPeerId) property_id = NULL;
  g_autoptr(PunchKeypair) property_keypair = NULL;
  PunchPeerId *a_id = punch_host_get_peer_id (a->host);
  PunchPeerId *b_id = punch_host_get_peer_id (b->host);
  PunchConnection *ba;
  GError *listen_error = NULL;
  g_autoptr(PunchMultiaddr) where_address = punch_multiaddr_new_from_string (where, &error);

  g_assert_no_error (error);
  if (!punch_host_listen (b->host, where_address, &listen_error))
    {
      /* Only a machine without ::1 may skip this, and never in CI. */
      if (g_getenv ("CI") != NULL)
        g_error ("cannot listen on %s in CI: %s", where, listen_error->message);
      g_test_skip_printf ("cannot listen on %s: %s", where, listen_error->message);
      g_error_free (listen_error);
      return;
    }

  /* The listen address: the port bound and our id. */
  {
    g_autoptr(GPtrArray) addresses = punch_host_get_listen_addresses (b->host);
    g_autofree gchar *port = NULL;

    g_assert_cmpuint (addresses->len, ==, 1);
    address = punch_multiaddr_ref (g_ptr_array_index (addresses, 0));
    g_assert_cmpuint (punch_multiaddr_get_n_components (address), ==, 3);
    listen_peer = punch_multiaddr_get_peer_id (address);
    g_assert_true (punch_peer_id_equal (listen_peer, b_id));
    port = punch_multiaddr_get_value_string (address, 1);
    g_assert_cmpstr (port, !=, "0");
    listen_ip = without_p2p (address);
  }

  g_object_get (a->host, "peer-id", &property_id, "keypair", &property_keypair, NULL);
  g_assert_true (punch_peer_id_equal (property_id, a_id));
  g_assert_true (property_keypair == punch_host_get_keypair (a->host));

  ab = peer_dial (a, address, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ab);
  WAIT_FOR (b->opened->len == 1);
  g_assert_cmpuint (a->opened->len, ==, 1);
  g_assert_true (g_ptr_array_index (a->opened, 0) == ab);
  ba = g_ptr_array_index (b->opened, 0);

  /* Each side knows the other. */
  g_assert_true (punch_peer_id_equal (punch_connection_get_remote_peer_id (ab), b_id));
  g_assert_true (punch_peer_id_equal (punch_connection_get_remote_peer_id (ba), a_id));
  g_assert_cmpint (punch_connection_get_direction (ab), ==, PUNCH_DIRECTION_OUTBOUND);
  g_assert_cmpint (punch_connection_get_direction (ba), ==, PUNCH_DIRECTION_INBOUND);
  g_assert_true (punch_multiaddr_equal (punch_connection_get_remote_address (ab), listen_ip));
  g_assert_true (punch_multiaddr_equal (punch_connection_get_local_address (ba), listen_ip));
  g_assert_true (punch_multiaddr_equal (punch_connection_get_local_address (ab),
                                        punch_connection_get_remote_address (ba)));
  g_assert_cmpstr (punch_connection_get_security_protocol (ab), ==, "/tls/1.0.0");
  g_assert_cmpstr (punch_connection_get_security_protocol (ba), ==, "/tls/1.0.0");
  g_assert_cmpstr (punch_connection_get_muxer_protocol (ab), ==, "/yamux/1.0.0");
  g_assert_cmpstr (punch_connection_get_muxer_protocol (ba), ==, "/yamux/1.0.0");
  /* Both offer yamux in ALPN: the inlined muxer negotiation. */
  g_assert_cmpstr (punch_connection_get_alpn (ab), ==, "/yamux/1.0.0");
  g_assert_cmpstr (punch_connection_get_alpn (ba), ==, "/yamux/1.0.0");
  g_assert_false (punch_connection_is_limited (ab));
  g_assert_false (punch_connection_is_limited (ba));
  g_assert_false (punch_connection_is_closed (ab));

  to_b = punch_host_get_connections (a->host, b_id);
  g_assert_cmpuint (to_b->len, ==, 1);
  to_a = punch_host_get_connections (a->host, a_id);
  g_assert_cmpuint (to_a->len, ==, 0);

  /* A dial to the same peer reuses the connection... */
  again = peer_dial (a, address, &error);
  g_assert_no_error (error);
  g_assert_true (again == ab);
  g_assert_cmpuint (a->opened->len, ==, 1);

  /* ...unless the address names no peer. */
  bare = without_p2p (address);
  fresh = peer_dial (a, bare, &error);
  g_assert_no_error (error);
  g_assert_true (fresh != ab);
  g_assert_true (punch_peer_id_equal (punch_connection_get_remote_peer_id (fresh), b_id));
  WAIT_FOR (b->opened->len == 2);
  all = punch_host_get_connections (a->host, NULL);
  g_assert_cmpuint (all->len, ==, 2);

  assert_echo (ab);
  assert_echo (fresh);

  /* Each end pinged when yamux started, so both know the RTT (which
   * receive-window auto-tuning needs) long before the 30 s keepalive. */
  WAIT_FOR (punch_yamux_session_get_rtt (punch_connection_get_yamux (ab)) > 0 &&
            punch_yamux_session_get_rtt (punch_connection_get_yamux (ba)) > 0);
  g_assert_cmpint (punch_yamux_session_get_rtt (punch_connection_get_yamux (ab)), >, 0);
  g_assert_cmpint (punch_yamux_session_get_rtt (punch_connection_get_yamux (ba)), >, 0);
}

static void
test_connect_ip4 (void)
{
  check_connect ("/ip4/127.0.0.1/tcp/0");
}

static void
test_connect_ip6 (void)
{
  check_connect ("/ip6/::1/tcp/0");
}

static void
test_listen_bad_address (void)
{
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) udp = punch_multiaddr_new_from_string ("/ip4/127.0.0.1/udp/0", NULL);
  g_autoptr(PunchMultiaddr) relay = punch_multiaddr_new_from_string (
    "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq/p2p-circuit", NULL);
  g_autoptr(PunchConnection) connection = NULL;

  g_assert_nonnull (udp);
  g_assert_nonnull (relay);

  g_assert_false (punch_host_listen (a->host, udp, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  connection = peer_dial (a, relay, &error);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED);
  g_assert_null (connection);
}

static void
test_dial_refused (void)
{
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchConnection) connection = NULL;
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(PunchMultiaddr) address = NULL;

  /* A port that was free a moment ago. */
  g_assert_true (g_socket_listener_add_address (listener, any_port, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error));
  g_socket_listener_close (listener);
  address = punch_multiaddr_new_from_inet_socket_address (G_INET_SOCKET_ADDRESS (bound),
                                                          PUNCH_MULTIADDR_PROTOCOL_TCP);
  connection = peer_dial (a, address, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_assert_null (connection);
}

static void
test_dial_peer_id_mismatch (void)
{
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(Peer) c = peer_new ();
  g_autoptr(PunchMultiaddr) address = peer_listen (b, "/ip4/127.0.0.1/tcp/0");
  g_autoptr(PunchMultiaddr) bare = without_p2p (address);
  g_autoptr(PunchMultiaddr) c_p2p = punch_multiaddr_new_from_peer_id (punch_host_get_peer_id (c->host));
  g_autoptr(PunchMultiaddr) wrong = punch_multiaddr_encapsulate (bare, c_p2p, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchConnection) connection = NULL;
  g_autoptr(GPtrArray) connections = NULL;

  connection = peer_dial (a, wrong, &error);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH);
  g_assert_null (connection);

  connections = punch_host_get_connections (a->host, NULL);
  g_assert_cmpuint (connections->len, ==, 0);
  g_assert_cmpuint (punch_host_get_n_pending (a->host), ==, 0);
  /* B sees the client give up during the handshake. */
  WAIT_FOR (punch_host_get_n_pending (b->host) == 0);
  g_assert_cmpuint (a->opened->len, ==, 0);
  g_assert_cmpuint (b->opened->len, ==, 0);

  /* The right id works. */
  g_clear_error (&error);
  connection = peer_dial (a, address, &error);
  g_assert_no_error (error);
  g_assert_nonnull (connection);
  g_clear_object (&connection);
}

/* A listener that accepts TCP and never answers: the dial times out. */
static void
test_dial_timeout (void)
{
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchConnection) connection = NULL;
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(PunchMultiaddr) address = NULL;

  g_assert_true (g_socket_listener_add_address (listener, any_port, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error));
  address = punch_multiaddr_new_from_inet_socket_address (G_INET_SOCKET_ADDRESS (bound),
                                                          PUNCH_MULTIADDR_PROTOCOL_TCP);
  punch_host_set_handshake_timeout (a->host, 200);
  connection = peer_dial (a, address, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_null (connection);
  g_assert_cmpuint (punch_host_get_n_pending (a->host), ==, 0);
  g_socket_listener_close (listener);
}

static void
test_dial_cancel (void)
{
  static const gchar * const protocols[] = { SINK, NULL };
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(PunchMultiaddr) address = peer_listen (b, "/ip4/127.0.0.1/tcp/0");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchConnection) connection = NULL;
  g_autoptr(PunchStream) stream = NULL;
  g_autoptr(GPtrArray) connections = NULL;

  /* Cancelled during the TCP connect or the upgrade. */
  punch_host_dial_async (a->host, address, cancellable, store_result, &result);
  g_cancellable_cancel (cancellable);
  WAIT_FOR (result != NULL);
  connection = punch_host_dial_finish (a->host, result, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (connection);
  g_clear_error (&error);
  g_clear_object (&result);
  connections = punch_host_get_connections (a->host, NULL);
  g_assert_cmpuint (connections->len, ==, 0);
  WAIT_FOR (punch_host_get_n_pending (a->host) == 0 && punch_host_get_n_pending (b->host) == 0);

  /* Opening a stream, cancelled: the connection goes on. */
  connection = peer_dial (a, address, &error);
  g_assert_no_error (error);
  g_cancellable_reset (cancellable);
  punch_connection_open_stream_async (connection, protocols, cancellable, store_result, &result);
  g_cancellable_cancel (cancellable);
  WAIT_FOR (result != NULL);
  stream = punch_connection_open_stream_finish (connection, result, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (stream);
  g_assert_false (punch_connection_is_closed (connection));
  assert_echo (connection);
}

static void
test_max_connections (void)
{
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(Peer) c = peer_new ();
  g_autoptr(PunchMultiaddr) address = peer_listen (b, "/ip4/127.0.0.1/tcp/0");
  g_autoptr(PunchMultiaddr) bare = without_p2p (address);
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchConnection) ab = NULL;
  g_autoptr(PunchConnection) ab2 = NULL;
  g_autoptr(PunchConnection) cb = NULL;

  punch_host_set_max_connections (b->host, 1);
  g_assert_cmpuint (punch_host_get_max_connections (b->host), ==, 1);
  punch_host_set_max_connections (a->host, 1);

  ab = peer_dial (a, address, &error);
  g_assert_no_error (error);
  WAIT_FOR (b->opened->len == 1);

  /* A holds as many as allowed. */
  ab2 = peer_dial (a, bare, &error);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
  g_assert_null (ab2);
  g_clear_error (&error);

  /* B closes the socket of one too many at once. */
  cb = peer_dial (c, address, &error);
  g_assert_nonnull (error);
  /* The end of the stream, or a reset if our header arrived first. */
  g_assert_true (g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED) ||
                 error->domain == G_IO_ERROR);
  g_assert_null (cb);
  g_assert_cmpuint (b->opened->len, ==, 1);

  assert_echo (ab);
}

/* ------------------------------------------------------------------ */
/* Muxer negotiation forms                                            */
/* ------------------------------------------------------------------ */

static void
check_libp2p_alpn (gboolean dialer)
{
  static const gchar * const libp2p_only[] = { "libp2p", NULL };
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(PunchConnection) ab = NULL;
  PunchConnection *ba;

  punch_host_set_alpn (dialer ? a->host : b->host, libp2p_only);
  ab = connect_pair (a, b, "/ip4/127.0.0.1/tcp/0");
  ba = g_ptr_array_index (b->opened, 0);

  /* ALPN chose "libp2p": yamux was agreed with multistream-select in TLS. */
  g_assert_cmpstr (punch_connection_get_alpn (ab), ==, "libp2p");
  g_assert_cmpstr (punch_connection_get_alpn (ba), ==, "libp2p");
  g_assert_cmpstr (punch_connection_get_muxer_protocol (ab), ==, "/yamux/1.0.0");
  g_assert_cmpstr (punch_connection_get_muxer_protocol (ba), ==, "/yamux/1.0.0");
  assert_echo (ab);
  assert_echo (ab);
}

static void
test_alpn_libp2p_dialer (void)
{
  check_libp2p_alpn (TRUE);
}

static void
test_alpn_libp2p_listener (void)
{
  check_libp2p_alpn (FALSE);
}

/* ------------------------------------------------------------------ */
/* Streams                                                            */
/* ------------------------------------------------------------------ */

#define N_ECHO_STREAMS 64
#define ECHO_SIZE (1 * MiB)

typedef struct {
  PunchStream *stream;
  GBytes *sent;
  GByteArray *received;
  guint8 *buffer;
  gboolean write_done;
  gboolean read_done;
  GError *error;
} EchoClient;

static void echo_client_read (EchoClient *client);

static void
echo_client_fail (EchoClient *client,
                  GError     *error)
{
  if (client->error == NULL)
    client->error = error;
  else
    g_error_free (error);
}

static void
on_echo_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  EchoClient *client = user_data;
  GError *error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (n <= 0)
    {
      if (n < 0)
        echo_client_fail (client, error);
      client->read_done = TRUE;
      return;
    }
  g_byte_array_append (client->received, client->buffer, (guint) n);
  echo_client_read (client);
}

static void
echo_client_read (EchoClient *client)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (client->stream)),
                             client->buffer, 64 * KiB, G_PRIORITY_DEFAULT, NULL,
                             on_echo_read, client);
}

static void
on_echo_write_closed (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  EchoClient *client = user_data;
  GError *error = NULL;

  if (!g_output_stream_close_finish (G_OUTPUT_STREAM (source), result, &error))
    echo_client_fail (client, error);
  client->write_done = TRUE;
}

static void
on_echo_written (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  EchoClient *client = user_data;
  GError *error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      echo_client_fail (client, error);
      client->write_done = TRUE;
      return;
    }
  /* Half-close: the echo ends its side once it read our end. */
  g_output_stream_close_async (G_OUTPUT_STREAM (source), G_PRIORITY_DEFAULT, NULL,
                               on_echo_write_closed, client);
}

static void
on_echo_opened (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  EchoClient *client = user_data;
  GError *error = NULL;
  gsize len;
  const guint8 *data;

  client->stream = punch_connection_open_stream_finish (PUNCH_CONNECTION (source), result, &error);
  if (client->stream == NULL)
    {
      echo_client_fail (client, error);
      client->write_done = client->read_done = TRUE;
      return;
    }
  g_assert_cmpstr (punch_stream_get_protocol (client->stream), ==, ECHO);
  g_assert_cmpint (punch_stream_get_direction (client->stream), ==, PUNCH_DIRECTION_OUTBOUND);
  g_assert_true (punch_stream_get_connection (client->stream) == PUNCH_CONNECTION (source));

  data = g_bytes_get_data (client->sent, &len);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (client->stream)),
                                   data, len, G_PRIORITY_DEFAULT, NULL, on_echo_written, client);
  echo_client_read (client);
}

static gboolean
echo_clients_done (EchoClient *clients,
                   guint       n)
{
  for (guint i = 0; i < n; i++)
    if (!clients[i].write_done || !clients[i].read_done)
      return FALSE;
  return TRUE;
}

static void
test_stream_echo_concurrent (void)
{
  static const gchar * const protocols[] = { ECHO, NULL };
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(PunchConnection) ab = connect_pair (a, b, "/ip4/127.0.0.1/tcp/0");
  EchoClient *clients = g_new0 (EchoClient, N_ECHO_STREAMS);
  GRand *rand = g_rand_new_with_seed (g_test_rand_int ());

  echo_errors = 0;

  for (guint i = 0; i < N_ECHO_STREAMS; i++)
    {
      guint32 *data = g_malloc (ECHO_SIZE);

      for (gsize j = 0; j < ECHO_SIZE / 4; j++)
        data[j] = g_rand_int (rand);
      clients[i].sent = g_bytes_new_take (data, ECHO_SIZE);
      clients[i].received = g_byte_array_sized_new (ECHO_SIZE);
      clients[i].buffer = g_malloc (64 * KiB);
      punch_connection_open_stream_async (ab, protocols, NULL, on_echo_opened, &clients[i]);
    }

  WAIT_FOR (echo_clients_done (clients, N_ECHO_STREAMS));

  for (guint i = 0; i < N_ECHO_STREAMS; i++)
    {
      g_assert_no_error (clients[i].error);
      g_assert_cmpmem (clients[i].received->data, clients[i].received->len,
                       g_bytes_get_data (clients[i].sent, NULL), ECHO_SIZE);
      g_clear_object (&clients[i].stream);
      g_bytes_unref (clients[i].sent);
      g_byte_array_unref (clients[i].received);
      g_free (clients[i].buffer);
    }
  g_assert_cmpuint (echo_errors, ==, 0);
  g_free (clients);
  g_rand_free (rand);

  /* The streams are released on both sides. */
  WAIT_FOR (punch_yamux_session_get_n_streams (punch_connection_get_yamux (ab)) == 0);
  WAIT_FOR (punch_yamux_session_get_n_streams (
              punch_connection_get_yamux (g_ptr_array_index (b->opened, 0))) == 0);
  g_assert_false (punch_connection_is_closed (ab));
  g_clear_object (&ab);
  g_clear_pointer (&a, peer_free);
  g_clear_pointer (&b, peer_free);
}

static void
on_stream_opened (PunchHost   *host,
                  PunchStream *stream,
                  GPtrArray   *protocols)
{
  g_assert_nonnull (punch_stream_get_connection (stream));
  g_ptr_array_add (protocols, g_strdup (punch_stream_get_protocol (stream)));
}

static guint
count_strings (GPtrArray   *strings,
               const gchar *what)
{
  guint n = 0;

  for (guint i = 0; i < strings->len; i++)
    n += g_strcmp0 (g_ptr_array_index (strings, i), what) == 0;
  return n;
}

static void
test_stream_unsupported (void)
{
  static const gchar * const nope[] = { "/test/nope/1.0.0", NULL };
  static const gchar * const fallback[] = { "/test/nope/1.0.0", "/test/nope/2.0.0", ECHO, NULL };
  static const gchar * const bad[] = { "", NULL };
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(PunchConnection) ab = connect_pair (a, b, "/ip4/127.0.0.1/tcp/0");
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) stream = NULL;
  g_autoptr(GPtrArray) opened = g_ptr_array_new_with_free_func (g_free);

  /* Only streams whose protocol was agreed on are announced. */
  g_signal_connect (b->host, "stream-opened", G_CALLBACK (on_stream_opened), opened);
  stream = open_stream (ab, nope, &error);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED);
  g_assert_null (stream);
  g_clear_error (&error);
  g_assert_false (punch_connection_is_closed (ab));

  stream = open_stream (ab, bad, &error);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED);
  g_assert_null (stream);
  g_clear_error (&error);

  /* The connection goes on serving. */
  assert_echo (ab);
  stream = open_stream (ab, fallback, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (punch_stream_get_protocol (stream), ==, ECHO);
  g_clear_object (&stream);
  /* assert_echo's stream and the fallback's (identify's may come too) */
  WAIT_FOR (count_strings (opened, ECHO) == 2);
  g_assert_cmpuint (count_strings (opened, nope[0]), ==, 0);
  g_assert_cmpuint (count_strings (opened, fallback[1]), ==, 0);

  /* A handler removed: its protocol is refused from then on. */
  g_assert_true (punch_host_remove_stream_handler (b->host, ECHO));
  g_assert_false (punch_host_remove_stream_handler (b->host, ECHO));
  stream = open_stream (ab, fallback, &error);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  g_assert_false (punch_connection_is_closed (ab));
  g_assert_cmpuint (b->closed->len, ==, 0);
  g_assert_cmpuint (count_strings (opened, ECHO), ==, 2);
  g_signal_handlers_disconnect_by_data (b->host, opened);
  g_clear_object (&ab);
  g_clear_pointer (&a, peer_free);
  g_clear_pointer (&b, peer_free);
}

static void
remove_echo_handler (PunchHost   *host,
                     PunchStream *stream,
                     guint       *count)
{
  (*count)++;
  g_assert_true (punch_host_remove_stream_handler (host, ECHO));
}

/* A ::stream-opened handler removes the protocol's handler: the stream is
 * reset rather than given to the freed handler; the connection goes on. */
static void
test_stream_opened_removes_handler (void)
{
  static const gchar * const protocols[] = { ECHO, NULL };
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(PunchConnection) ab = connect_pair (a, b, "/ip4/127.0.0.1/tcp/0");
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) stream = NULL;
  guint8 buffer[16];
  guint removed = 0;
  gulong id;

  id = g_signal_connect (b->host, "stream-opened", G_CALLBACK (remove_echo_handler), &removed);
  /* The reset may reach the dialer with the protocol's acceptance, or
   * after it. */
  stream = open_stream (ab, protocols, &error);
  WAIT_FOR (removed == 1);
  g_signal_handler_disconnect (b->host, id);
  if (stream != NULL)
    {
      g_assert_no_error (error);
      g_assert_cmpint (read_all (stream, buffer, sizeof buffer, &error), ==, -1);
    }
  g_assert_nonnull (error);
  g_test_message ("reset seen as: %s", error->message);
  g_clear_error (&error);
  g_assert_false (punch_connection_is_closed (ab));
  /* Echo is no longer served. */
  g_clear_object (&stream);
  stream = open_stream (ab, protocols, &error);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED);
  g_clear_object (&ab);
  g_clear_pointer (&a, peer_free);
  g_clear_pointer (&b, peer_free);
}

static void
count_signal (guint *count)
{
  (*count)++;
}

static void
test_host_protocols (void)
{
  g_autoptr(Peer) a = peer_new ();
  g_auto(GStrv) protocols = NULL;

  guint changed = 0;

  g_signal_connect_swapped (a->host, "protocols-changed",
                            G_CALLBACK (count_signal), &changed);
  punch_host_set_stream_handler (a->host, "/a/1.0.0", sink_handler, a, NULL);
  g_assert_cmpuint (changed, ==, 1);
  protocols = punch_host_get_protocols (a->host);
  /* Sorted; identify, identify push and ping are served by every host. */
  g_assert_cmpuint (g_strv_length (protocols), ==, 6);
  g_assert_cmpstr (protocols[0], ==, "/a/1.0.0");
  g_assert_cmpstr (protocols[1], ==, PUNCH_IDENTIFY_PROTOCOL_ID);
  g_assert_cmpstr (protocols[2], ==, PUNCH_IDENTIFY_PUSH_PROTOCOL_ID);
  g_assert_cmpstr (protocols[3], ==, PUNCH_PING_PROTOCOL_ID);
  g_assert_cmpstr (protocols[4], ==, ECHO);
  g_assert_cmpstr (protocols[5], ==, SINK);
  g_assert_true (punch_host_remove_stream_handler (a->host, "/a/1.0.0"));
  g_assert_cmpuint (changed, ==, 2);
  g_assert_false (punch_host_remove_stream_handler (a->host, "/a/1.0.0"));
  g_assert_cmpuint (changed, ==, 2);
}

static void
on_new_stream (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  store_result (source, result, user_data);
}

static void
test_host_new_stream (void)
{
  static const gchar * const protocols[] = { ECHO, NULL };
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(Peer) c = peer_new ();
  g_autoptr(PunchConnection) ab = connect_pair (a, b, "/ip4/127.0.0.1/tcp/0");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) stream = NULL;

  punch_host_new_stream_async (a->host, punch_host_get_peer_id (b->host), protocols, NULL,
                               on_new_stream, &result);
  WAIT_FOR (result != NULL);
  stream = punch_host_new_stream_finish (a->host, result, &error);
  g_assert_no_error (error);
  g_assert_true (punch_stream_get_connection (stream) == ab);
  g_clear_object (&result);
  g_clear_object (&stream);

  /* No connection to C: no dial either. */
  punch_host_new_stream_async (a->host, punch_host_get_peer_id (c->host), protocols, NULL,
                               on_new_stream, &result);
  WAIT_FOR (result != NULL);
  stream = punch_host_new_stream_finish (a->host, result, &error);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_assert_null (stream);
  g_clear_object (&ab);
  g_clear_pointer (&a, peer_free);
  g_clear_pointer (&b, peer_free);
}

/* A reader that stops: the writer stalls after one window, nothing grows. */
static void
test_stream_slow_reader (void)
{
  static const gchar * const protocols[] = { SINK, NULL };
  const gsize size = 8 * MiB;
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(PunchConnection) ab = connect_pair (a, b, "/ip4/127.0.0.1/tcp/0");
  PunchConnection *ba = g_ptr_array_index (b->opened, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) stream = open_stream (ab, protocols, &error);
  g_autoptr(GAsyncResult) written = NULL;
  g_autofree guint8 *data = g_malloc (size);
  g_autofree guint8 *received = g_malloc (size);
  PunchStream *sink;
  gsize readable;

  g_assert_no_error (error);
  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) (i * 7 + i / 4096);
  WAIT_FOR (b->sink_streams->len == 1);
  sink = g_ptr_array_index (b->sink_streams, 0);

  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (stream)),
                                   data, size, G_PRIORITY_DEFAULT, NULL, store_result, &written);

  /* One window arrives (less the negotiation's bytes, which it also
   * covered), then the writer waits. */
  WAIT_FOR (punch_stream_get_readable_size (sink) >= PUNCH_YAMUX_INITIAL_WINDOW - 1 * KiB &&
            punch_yamux_session_get_send_window (punch_connection_get_yamux (ab),
                                                 punch_stream_get_id (stream)) == 0);
  readable = punch_stream_get_readable_size (sink);
  g_assert_cmpuint (readable, <=, PUNCH_YAMUX_INITIAL_WINDOW);
  for (guint round = 0; round < 20; round++)
    {
      run_pending ();
      g_assert_null (written);
      g_assert_cmpuint (punch_stream_get_readable_size (sink), ==, readable);
      g_assert_cmpuint (punch_connection_get_queued_bytes (ab), <=, 64 * KiB);
      g_assert_cmpuint (punch_connection_get_queued_bytes (ba), <=, 64 * KiB);
      g_assert_cmpuint (punch_yamux_session_get_send_window (punch_connection_get_yamux (ab),
                                                             punch_stream_get_id (stream)), ==, 0);
    }

  /* Reading resumes the writer. */
  g_assert_cmpint (read_all (sink, received, size, &error), ==, (gssize) size);
  g_assert_no_error (error);
  WAIT_FOR (written != NULL);
  g_assert_true (g_output_stream_write_all_finish (g_io_stream_get_output_stream (G_IO_STREAM (stream)),
                                                   written, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (received, size, data, size);
  g_clear_object (&stream);
  g_clear_object (&ab);
  g_clear_pointer (&a, peer_free);
  g_clear_pointer (&b, peer_free);
}

static void
test_stream_reset (void)
{
  static const gchar * const protocols[] = { SINK, NULL };
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(PunchConnection) ab = connect_pair (a, b, "/ip4/127.0.0.1/tcp/0");
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) one = open_stream (ab, protocols, &error);
  g_autoptr(PunchStream) two = open_stream (ab, protocols, &error);
  PunchStream *sink_one, *sink_two;
  guint8 buffer[16];

  g_assert_no_error (error);
  WAIT_FOR (b->sink_streams->len == 2);
  sink_one = g_ptr_array_index (b->sink_streams, 0);
  sink_two = g_ptr_array_index (b->sink_streams, 1);

  /* We reset: the peer's reads and writes fail. */
  g_assert_true (write_all (one, "data", 4, &error));
  punch_stream_reset (one);
  g_assert_cmpint (read_all (sink_one, buffer, sizeof buffer, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_clear_error (&error);
  g_assert_false (write_all (sink_one, "x", 1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_clear_error (&error);
  g_assert_false (write_all (one, "x", 1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_clear_error (&error);

  /* The peer resets. */
  punch_stream_reset (sink_two);
  g_assert_cmpint (read_all (two, buffer, sizeof buffer, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_clear_error (&error);

  /* Half-close: the peer reads the end and can still answer. */
  {
    g_autoptr(PunchStream) three = open_stream (ab, protocols, &error);
    PunchStream *sink_three;

    g_assert_no_error (error);
    WAIT_FOR (b->sink_streams->len == 3);
    sink_three = g_ptr_array_index (b->sink_streams, 2);
    g_assert_true (write_all (three, "question", 8, &error));
    g_assert_true (punch_stream_close_write (three, &error));
    g_assert_true (punch_stream_close_write (three, &error));
    g_assert_false (write_all (three, "more", 4, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
    g_clear_error (&error);
    g_assert_cmpint (read_all (sink_three, buffer, sizeof buffer, &error), ==, 8);
    g_assert_cmpmem (buffer, 8, "question", 8);
    g_assert_true (write_all (sink_three, "answer", 6, &error));
    g_assert_true (g_io_stream_close (G_IO_STREAM (sink_three), NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpint (read_all (three, buffer, sizeof buffer, &error), ==, 6);
    g_assert_cmpmem (buffer, 6, "answer", 6);
  }

  g_assert_false (punch_connection_is_closed (ab));
  g_clear_object (&one);
  g_clear_object (&two);
  g_clear_object (&ab);
  g_clear_pointer (&a, peer_free);
  g_clear_pointer (&b, peer_free);
}

/* Synchronous I/O does not block: it fails with WOULD_BLOCK instead. */
static void
test_stream_sync_would_block (void)
{
  static const gchar * const protocols[] = { SINK, NULL };
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(PunchConnection) ab = connect_pair (a, b, "/ip4/127.0.0.1/tcp/0");
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) stream = open_stream (ab, protocols, &error);
  guint8 buffer[4];

  g_assert_no_error (error);
  g_assert_cmpint (g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (stream)),
                                        buffer, sizeof buffer, NULL, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
  g_clear_error (&error);
  g_assert_cmpint (g_output_stream_write (g_io_stream_get_output_stream (G_IO_STREAM (stream)),
                                          "abc", 3, NULL, &error), ==, 3);
  g_assert_no_error (error);
  g_assert_false (g_pollable_input_stream_is_readable (
                    G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (G_IO_STREAM (stream)))));
  g_assert_true (g_pollable_output_stream_is_writable (
                   G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (G_IO_STREAM (stream)))));
  g_clear_object (&stream);
  g_clear_object (&ab);
  g_clear_pointer (&a, peer_free);
  g_clear_pointer (&b, peer_free);
}

/* ------------------------------------------------------------------ */
/* Closing                                                            */
/* ------------------------------------------------------------------ */

static void
test_connection_close (void)
{
  static const gchar * const protocols[] = { SINK, NULL };
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(PunchConnection) ab = connect_pair (a, b, "/ip4/127.0.0.1/tcp/0");
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) stream = open_stream (ab, protocols, &error);
  g_autoptr(GAsyncResult) closed = NULL;
  g_autoptr(GAsyncResult) sink_read = NULL;
  g_autoptr(GPtrArray) connections = NULL;
  PunchStream *sink;
  guint8 buffer[16];

  g_assert_no_error (error);
  WAIT_FOR (b->sink_streams->len == 1);
  sink = g_ptr_array_index (b->sink_streams, 0);
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (sink)),
                             buffer, sizeof buffer, G_PRIORITY_DEFAULT, NULL,
                             store_result, &sink_read);

  punch_connection_close_async (ab, NULL, store_result, &closed);
  g_assert_true (punch_connection_is_closed (ab));
  g_assert_cmpuint (a->closed->len, ==, 1);
  g_assert_null (g_ptr_array_index (a->reasons, 0));

  /* Our stream fails at once, the peer's when it learns. */
  g_assert_false (write_all (stream, "x", 1, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_cmpint (read_all (stream, buffer, sizeof buffer, &error), ==, -1);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);

  WAIT_FOR (b->closed->len == 1);
  g_assert_null (g_ptr_array_index (b->reasons, 0));
  WAIT_FOR (sink_read != NULL);
  g_assert_cmpint (g_input_stream_read_finish (g_io_stream_get_input_stream (G_IO_STREAM (sink)),
                                               sink_read, &error), ==, -1);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);

  WAIT_FOR (closed != NULL);
  g_assert_true (punch_connection_close_finish (ab, closed, &error));
  g_assert_no_error (error);
  connections = punch_host_get_connections (b->host, NULL);
  g_assert_cmpuint (connections->len, ==, 0);

  /* Opening on a closed connection fails. */
  g_clear_object (&stream);
  stream = open_stream (ab, protocols, &error);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);

  /* A new dial makes a new connection. */
  {
    g_autoptr(GPtrArray) addresses = punch_host_get_listen_addresses (b->host);
    g_autoptr(PunchConnection) again = peer_dial (a, g_ptr_array_index (addresses, 0), &error);

    g_assert_no_error (error);
    g_assert_true (again != ab);
    assert_echo (again);
  }
  g_clear_object (&ab);
  g_clear_pointer (&a, peer_free);
  g_clear_pointer (&b, peer_free);
}

static void
test_host_close (void)
{
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(PunchConnection) ab = connect_pair (a, b, "/ip4/127.0.0.1/tcp/0");
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) address = punch_multiaddr_new_from_string ("/ip4/127.0.0.1/tcp/0", NULL);

  punch_host_close (b->host);
  g_assert_cmpuint (b->closed->len, ==, 1);
  WAIT_FOR (a->closed->len == 1);
  g_assert_true (punch_connection_is_closed (ab));
  g_assert_false (punch_host_listen (b->host, address, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_object (&ab);
  g_clear_pointer (&a, peer_free);
  g_clear_pointer (&b, peer_free);
}

/* ------------------------------------------------------------------ */
/* Bad input                                                          */
/* ------------------------------------------------------------------ */

static GSocketConnection *
raw_connect (PunchMultiaddr *address)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) socket_address = punch_multiaddr_to_inet_socket_address (address, NULL, &error);
  GSocketConnection *connection;

  g_assert_no_error (error);
  g_socket_client_set_enable_proxy (client, FALSE);
  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (socket_address), NULL, &error);
  g_assert_no_error (error);
  return connection;
}

typedef struct {
  gboolean done;
  gsize received;
  guint8 buffer[4096];
} RawReader;

static void
on_raw_read (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  RawReader *reader = user_data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (n <= 0)
    {
      reader->done = TRUE;
      return;
    }
  reader->received += (gsize) n;
  g_input_stream_read_async (G_INPUT_STREAM (source), reader->buffer, sizeof reader->buffer,
                             G_PRIORITY_DEFAULT, NULL, on_raw_read, reader);
}

/* Sends @len bytes of @data to the listener at @address, then expects the
 * peer to close the connection (end of stream or a reset), logging a
 * reason containing @reason. */
static void
raw_send_expect_close (PunchMultiaddr *address,
                       const void     *data,
                       gsize           len,
                       const gchar    *reason)
{
  g_autoptr(GSocketConnection) connection = raw_connect (address);
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GError) error = NULL;
  RawReader reader = { 0 };
  guint16 port;

  local = g_socket_connection_get_local_address (connection, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));

  if (len > 0)
    {
      g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                                data, len, NULL, NULL, &error));
      g_assert_no_error (error);
    }
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                             reader.buffer, sizeof reader.buffer, G_PRIORITY_DEFAULT, NULL,
                             on_raw_read, &reader);
  WAIT_FOR (reader.done);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  /* The host logs the reason before it closes the socket. */
  assert_logged_close (port, reason);
}

static void
test_bad_input_socket (void)
{
  static const guint8 garbage[] = "\x05hello world, not multistream";
  static const guint8 over_long[] = { 0x80, 0x10, '/', 'x' };
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(PunchMultiaddr) address = peer_listen (b, "/ip4/127.0.0.1/tcp/0");
  g_autoptr(GByteArray) tls_garbage = g_byte_array_new ();
  g_autoptr(GByteArray) wrong_security = g_byte_array_new ();
  g_autoptr(PunchConnection) ab = NULL;
  g_autoptr(GError) error = NULL;
  guint8 junk[256];

  /* Not multistream-select. */
  raw_send_expect_close (address, garbage, sizeof garbage - 1,
                         "Security negotiation: multistream message does not end with a newline");
  /* A length prefix beyond the 1024-byte limit. */
  raw_send_expect_close (address, over_long, sizeof over_long,
                         "Security negotiation: multistream message of 2048 bytes is longer than 1024");
  /* Multistream-select agrees on TLS, then garbage instead of a ClientHello. */
  punch_multistream_write_message (tls_garbage, PUNCH_MULTISTREAM_PROTOCOL_ID);
  punch_multistream_write_message (tls_garbage, "/tls/1.0.0");
  memset (junk, 0x55, sizeof junk);
  g_byte_array_append (tls_garbage, junk, sizeof junk);
  raw_send_expect_close (address, tls_garbage->data, tls_garbage->len,
                         /* the rest is GnuTLS's wording */
                         "TLS handshake failed: ");
  /* A ClientHello-looking record that lies about its length. */
  g_byte_array_set_size (tls_garbage, 0);
  punch_multistream_write_message (tls_garbage, PUNCH_MULTISTREAM_PROTOCOL_ID);
  punch_multistream_write_message (tls_garbage, "/tls/1.0.0");
  g_byte_array_append (tls_garbage, (const guint8 *) "\x16\x03\x01\xff\xff", 5);
  memset (junk, 0x01, sizeof junk);
  for (guint i = 0; i < 300; i++)
    g_byte_array_append (tls_garbage, junk, sizeof junk);
  raw_send_expect_close (address, tls_garbage->data, tls_garbage->len,
                         /* the rest is GnuTLS's wording */
                         "TLS handshake failed: ");
  /* A security protocol nobody offers, over and over: "na" each time, then
   * the proposal limit. */
  punch_multistream_write_message (wrong_security, PUNCH_MULTISTREAM_PROTOCOL_ID);
  for (guint i = 0; i <= PUNCH_MULTISTREAM_MAX_PROPOSALS; i++)
    punch_multistream_write_message (wrong_security, "/noise");
  raw_send_expect_close (address, wrong_security->data, wrong_security->len,
                         "Security negotiation: More than 64 multistream proposals refused");

  WAIT_FOR (punch_host_get_n_pending (b->host) == 0);
  g_assert_cmpuint (b->opened->len, ==, 0);

  /* B keeps serving. */
  ab = peer_dial (a, address, &error);
  g_assert_no_error (error);
  assert_echo (ab);
  g_clear_object (&ab);
  g_clear_pointer (&a, peer_free);
  g_clear_pointer (&b, peer_free);
}

/* A client that connects and says nothing is dropped after the timeout. */
static void
test_bad_input_idle (void)
{
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(PunchMultiaddr) address = NULL;

  punch_host_set_handshake_timeout (b->host, 200);
  g_assert_cmpuint (punch_host_get_handshake_timeout (b->host), ==, 200);
  address = peer_listen (b, "/ip4/127.0.0.1/tcp/0");
  raw_send_expect_close (address, NULL, 0, "The connection upgrade timed out");
  WAIT_FOR (punch_host_get_n_pending (b->host) == 0);
  g_assert_cmpuint (b->opened->len, ==, 0);
}

/* Yamux frames that break the rules, injected inside TLS: the connection
 * closes with PUNCH_ERROR_PROTOCOL, the host goes on. */
static void
check_yamux_violation (gboolean window)
{
  static const gchar * const protocols[] = { SINK, NULL };
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(PunchConnection) ab = connect_pair (a, b, "/ip4/127.0.0.1/tcp/0");
  g_autoptr(PunchStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  guint8 frame[PUNCH_YAMUX_HEADER_SIZE] = { 0 };
  const GError *reason;

  if (window)
    {
      /* DATA beyond the 256 KiB window the peer granted. */
      guint32 id, length = PUNCH_YAMUX_INITIAL_WINDOW + 1;

      stream = open_stream (ab, protocols, &error);
      g_assert_no_error (error);
      id = punch_stream_get_id (stream);
      frame[1] = PUNCH_YAMUX_TYPE_DATA;
      frame[4] = id >> 24;
      frame[5] = id >> 16;
      frame[6] = id >> 8;
      frame[7] = id;
      frame[8] = length >> 24;
      frame[9] = length >> 16;
      frame[10] = length >> 8;
      frame[11] = length;
    }
  else
    frame[1] = 7;   /* no such frame type */

  g_assert_true (punch_connection_inject_plaintext (ab, frame, sizeof frame, &error));
  g_assert_no_error (error);

  WAIT_FOR (b->closed->len == 1);
  reason = g_ptr_array_index (b->reasons, 0);
  g_assert_error ((GError *) reason, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  /* B's GO_AWAY (protocol error) closes A's side too. */
  WAIT_FOR (a->closed->len == 1);
  g_assert_nonnull (g_ptr_array_index (a->reasons, 0));
  if (stream != NULL)
    {
      g_assert_false (write_all (stream, "x", 1, &error));
      g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
      g_clear_error (&error);
    }

  /* B serves a new connection. */
  g_clear_object (&ab);
  {
    g_autoptr(GPtrArray) addresses = punch_host_get_listen_addresses (b->host);

    ab = peer_dial (a, g_ptr_array_index (addresses, 0), &error);
    g_assert_no_error (error);
    assert_echo (ab);
  }
  g_clear_object (&stream);
  g_clear_object (&ab);
  g_clear_pointer (&a, peer_free);
  g_clear_pointer (&b, peer_free);
}

static void
test_bad_input_yamux_frame_type (void)
{
  check_yamux_violation (FALSE);
}

static void
test_bad_input_yamux_window (void)
{
  check_yamux_violation (TRUE);
}

/* A peer that floods a host with streams: the host refuses the excess
 * with RST, then ends that connection with a logged reason and goes on
 * serving its other connections. */
static void
test_bad_input_stream_flood (void)
{
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(Peer) c = peer_new ();
  g_autoptr(PunchConnection) ab = connect_pair (a, b, "/ip4/127.0.0.1/tcp/0");
  g_autoptr(PunchConnection) cb = NULL;
  g_autoptr(GPtrArray) addresses = punch_host_get_listen_addresses (b->host);
  g_autoptr(GByteArray) flood = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree gchar *port = NULL;
  PunchYamuxConfig config;
  PunchConnection *ba;
  const GError *reason;
  guint n;

  /* C, well-behaved, is connected to B too. */
  cb = peer_dial (c, g_ptr_array_index (addresses, 0), &error);
  g_assert_no_error (error);
  WAIT_FOR (b->opened->len == 2);
  ba = g_ptr_array_index (b->opened, 0);
  g_assert_true (punch_peer_id_equal (punch_connection_get_remote_peer_id (ba),
                                      punch_host_get_peer_id (a->host)));
  assert_echo (cb);

  /* A sends SYNs (window updates) on fresh client ids behind its yamux's
   * back: B admits the limit, refuses as many again with RST, and the next
   * one is the flood. */
  punch_yamux_config_init (&config);
  n = 2 * config.max_streams + 1;
  for (guint i = 0; i < n; i++)
    {
      guint32 id = 100001 + 2 * i;
      guint8 frame[PUNCH_YAMUX_HEADER_SIZE] = {
        0, PUNCH_YAMUX_TYPE_WINDOW_UPDATE, 0, PUNCH_YAMUX_FLAG_SYN,
        id >> 24, id >> 16, id >> 8, id, 0, 0, 0, 0,
      };

      g_byte_array_append (flood, frame, sizeof frame);
    }
  log_clear ();
  g_assert_true (punch_connection_inject_plaintext (ab, flood->data, flood->len, &error));
  g_assert_no_error (error);

  WAIT_FOR (b->closed->len == 1);
  g_assert_true (g_ptr_array_index (b->closed, 0) == ba);
  reason = g_ptr_array_index (b->reasons, 0);
  g_assert_error ((GError *) reason, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (reason->message, "stream flood"));
  port = punch_multiaddr_get_value_string (punch_connection_get_local_address (ab), 1);
  assert_logged_close ((guint16) g_ascii_strtoull (port, NULL, 10), "Yamux stream flood: ");
  /* The flooder's side closes too (B's GO_AWAY, or the RSTs for ids its
   * yamux never opened). */
  WAIT_FOR (a->closed->len == 1);
  g_assert_nonnull (g_ptr_array_index (a->reasons, 0));

  /* C's connection is untouched and works. */
  g_assert_false (punch_connection_is_closed (cb));
  assert_echo (cb);
  g_assert_cmpuint (b->closed->len, ==, 1);
  g_assert_cmpuint (c->closed->len, ==, 0);

  g_clear_object (&ab);
  g_clear_object (&cb);
  g_clear_pointer (&a, peer_free);
  g_clear_pointer (&b, peer_free);
  g_clear_pointer (&c, peer_free);
}

/* A peer that opens a stream and never negotiates its protocol. */
static void
test_stream_negotiation_timeout (void)
{
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(PunchConnection) ab = NULL;
  g_autoptr(GError) error = NULL;
  PunchYamuxSession *b_yamux;
  guint32 id;

  punch_host_set_negotiation_timeout (b->host, 200);
  g_assert_cmpuint (punch_host_get_negotiation_timeout (b->host), ==, 200);
  ab = connect_pair (a, b, "/ip4/127.0.0.1/tcp/0");
  b_yamux = punch_connection_get_yamux (g_ptr_array_index (b->opened, 0));

  /* A bare yamux stream: B starts a listener negotiation that A never
   * feeds, resets the stream after the timeout and keeps the connection. */
  id = punch_yamux_session_open_stream (punch_connection_get_yamux (ab), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (id, !=, 0);
  punch_connection_schedule_flush (ab);
  /* B's RST comes back: A releases the stream; B releases its side too
   * (under valgrind, A can see the RST before B has: a wait, not a
   * snapshot). */
  WAIT_FOR (punch_yamux_session_get_stream_state (punch_connection_get_yamux (ab), id) ==
            PUNCH_YAMUX_STREAM_STATE_NONE);
  WAIT_FOR (punch_yamux_session_get_n_streams (b_yamux) == 0);
  g_assert_cmpuint (b->closed->len, ==, 0);
  assert_echo (ab);
  g_clear_object (&ab);
  g_clear_pointer (&a, peer_free);
  g_clear_pointer (&b, peer_free);
}

/* ------------------------------------------------------------------ */
/* Connections over a stream (as relayed circuits are)                */
/* ------------------------------------------------------------------ */

#define TUNNEL "/test/tunnel/1.0.0"

static GAsyncResult *tunnel_inbound;

/* Upgrades the stream, as the listening end of a circuit does. */
static void
tunnel_handler (PunchHost   *host,
                PunchStream *stream,
                gpointer     user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) local = punch_multiaddr_new_from_string ("/p2p-circuit", &error);
  g_autoptr(PunchMultiaddr) remote = punch_multiaddr_new_from_peer_id (
      punch_connection_get_remote_peer_id (punch_stream_get_connection (stream)));

  g_assert_no_error (error);
  g_clear_object (&tunnel_inbound);
  punch_host_upgrade_transport_async (host, G_IO_STREAM (stream), PUNCH_DIRECTION_INBOUND,
                                      NULL, local, remote, 60, MiB, NULL,
                                      store_result, &tunnel_inbound);
}

static PunchConnection *
tunnel_dial (Peer            *a,
             PunchConnection *outer,
             PunchPeerId     *expected,
             GError         **error)
{
  static const gchar * const protocols[] = { TUNNEL, NULL };
  g_autoptr(GError) local_error = NULL;
  g_autoptr(PunchStream) stream = open_stream (outer, protocols, &local_error);
  g_autoptr(PunchMultiaddr) local = punch_multiaddr_new_from_string ("/p2p-circuit", &local_error);
  g_autoptr(PunchMultiaddr) remote = punch_multiaddr_new_from_peer_id (expected);
  g_autoptr(GAsyncResult) result = NULL;

  g_assert_no_error (local_error);
  punch_host_upgrade_transport_async (a->host, G_IO_STREAM (stream), PUNCH_DIRECTION_OUTBOUND,
                                      expected, local, remote, 60, MiB, NULL,
                                      store_result, &result);
  WAIT_FOR (result != NULL);
  return punch_host_upgrade_transport_finish (a->host, result, error);
}

/* A connection upgraded over a yamux stream of another one: TLS and yamux
 * end to end, limited, announced like any other, and gone with the
 * stream it runs over. */
static void
test_transport_nested (void)
{
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchConnection) outer = NULL;
  g_autoptr(PunchConnection) inner = NULL;
  g_autoptr(PunchConnection) inner_b = NULL;
  g_autoptr(PunchConnection) reused = NULL;
  g_autoptr(PunchMultiaddr) b_address = NULL;
  g_autoptr(GPtrArray) to_b = NULL;
  PunchPeerId *a_id = punch_host_get_peer_id (a->host);
  PunchPeerId *b_id = punch_host_get_peer_id (b->host);

  punch_host_set_stream_handler (b->host, TUNNEL, tunnel_handler, NULL, NULL);
  outer = connect_pair (a, b, "/ip4/127.0.0.1/tcp/0");

  inner = tunnel_dial (a, outer, b_id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (inner);
  WAIT_FOR (tunnel_inbound != NULL);
  inner_b = punch_host_upgrade_transport_finish (b->host, tunnel_inbound, &error);
  g_clear_object (&tunnel_inbound);
  g_assert_no_error (error);
  g_assert_nonnull (inner_b);

  g_assert_true (inner != outer);
  g_assert_true (punch_peer_id_equal (punch_connection_get_remote_peer_id (inner), b_id));
  g_assert_true (punch_peer_id_equal (punch_connection_get_remote_peer_id (inner_b), a_id));
  g_assert_cmpint (punch_connection_get_direction (inner), ==, PUNCH_DIRECTION_OUTBOUND);
  g_assert_cmpint (punch_connection_get_direction (inner_b), ==, PUNCH_DIRECTION_INBOUND);
  g_assert_true (punch_connection_is_limited (inner));
  g_assert_true (punch_connection_is_limited (inner_b));
  g_assert_cmpuint (punch_connection_get_limit_duration (inner), ==, 60);
  g_assert_cmpuint (punch_connection_get_limit_data (inner), ==, MiB);
  g_assert_false (punch_connection_is_limited (outer));
  g_assert_cmpstr (punch_connection_get_security_protocol (inner), ==, "/tls/1.0.0");
  g_assert_cmpstr (punch_connection_get_muxer_protocol (inner_b), ==, "/yamux/1.0.0");
  g_assert_cmpuint (a->opened->len, ==, 2);
  g_assert_cmpuint (b->opened->len, ==, 2);
  to_b = punch_host_get_connections (a->host, b_id);
  g_assert_cmpuint (to_b->len, ==, 2);

  assert_echo (inner);
  assert_echo (inner_b);

  /* A dial by peer id prefers the unlimited connection. */
  {
    g_autoptr(GPtrArray) listen = punch_host_get_listen_addresses (b->host);

    b_address = punch_multiaddr_ref (g_ptr_array_index (listen, 0));
  }
  reused = peer_dial (a, b_address, &error);
  g_assert_no_error (error);
  g_assert_true (reused == outer);

  /* The end that answers must be the peer expected. */
  {
    g_autoptr(PunchKeypair) other = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);
    g_autoptr(PunchConnection) wrong = NULL;

    g_assert_no_error (error);
    wrong = tunnel_dial (a, outer, punch_keypair_get_peer_id (other), &error);
    g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH);
    g_assert_null (wrong);
    g_clear_error (&error);
    WAIT_FOR (tunnel_inbound != NULL);
    g_clear_object (&tunnel_inbound);
  }

  /* Closing the outer connection ends the one inside it. */
  punch_connection_close (outer);
  WAIT_FOR (punch_connection_is_closed (inner) && punch_connection_is_closed (inner_b));
  WAIT_FOR (a->closed->len == a->opened->len && b->closed->len == b->opened->len);
}

/* Circuit addresses go to the relay client; a host without one refuses
 * them, and malformed ones are refused before that. */
static void
test_transport_circuit_unsupported (void)
{
  static const char * const cases[] = {
    "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq/p2p-circuit/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq",
    "/ip4/127.0.0.1/tcp/1/p2p-circuit/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq",
    "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq/p2p-circuit",
  };
  g_autoptr(Peer) a = peer_new ();

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PunchMultiaddr) address = punch_multiaddr_new_from_string (cases[i], &error);
      g_autoptr(PunchConnection) connection = NULL;

      g_assert_no_error (error);
      connection = peer_dial (a, address, &error);
      g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED);
      g_assert_null (connection);
      /* The first is well formed: the message says what is missing. */
      if (i == 0)
        g_assert_nonnull (strstr (error->message, "relay client"));
    }
}

/* Each test, then a check that it left nothing behind. */
static void
run_test (gconstpointer data)
{
  log_clear ();
  ((GTestFunc) data) ();
  drain ();
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  log_capture_start ();

  g_test_add_data_func ("/host/connect/ip4", test_connect_ip4, run_test);
  g_test_add_data_func ("/host/connect/ip6", test_connect_ip6, run_test);
  g_test_add_data_func ("/host/listen/bad-address", test_listen_bad_address, run_test);
  g_test_add_data_func ("/host/dial/refused", test_dial_refused, run_test);
  g_test_add_data_func ("/host/dial/peer-id-mismatch", test_dial_peer_id_mismatch, run_test);
  g_test_add_data_func ("/host/dial/timeout", test_dial_timeout, run_test);
  g_test_add_data_func ("/host/dial/cancel", test_dial_cancel, run_test);
  g_test_add_data_func ("/host/dial/max-connections", test_max_connections, run_test);
  g_test_add_data_func ("/host/alpn/libp2p-dialer", test_alpn_libp2p_dialer, run_test);
  g_test_add_data_func ("/host/alpn/libp2p-listener", test_alpn_libp2p_listener, run_test);
  g_test_add_data_func ("/host/protocols", test_host_protocols, run_test);
  g_test_add_data_func ("/host/new-stream", test_host_new_stream, run_test);
  g_test_add_data_func ("/host/stream/echo-concurrent", test_stream_echo_concurrent, run_test);
  g_test_add_data_func ("/host/stream/unsupported", test_stream_unsupported, run_test);
  g_test_add_data_func ("/host/stream/opened-removes-handler", test_stream_opened_removes_handler,
                        run_test);
  g_test_add_data_func ("/host/stream/slow-reader", test_stream_slow_reader, run_test);
  g_test_add_data_func ("/host/stream/reset-and-half-close", test_stream_reset, run_test);
  g_test_add_data_func ("/host/stream/sync-would-block", test_stream_sync_would_block, run_test);
  g_test_add_data_func ("/host/stream/negotiation-timeout", test_stream_negotiation_timeout, run_test);
  g_test_add_data_func ("/host/transport/nested", test_transport_nested, run_test);
  g_test_add_data_func ("/host/transport/circuit-unsupported", test_transport_circuit_unsupported, run_test);
  g_test_add_data_func ("/host/close/connection", test_connection_close, run_test);
  g_test_add_data_func ("/host/close/host", test_host_close, run_test);
  g_test_add_data_func ("/host/bad-input/socket", test_bad_input_socket, run_test);
  g_test_add_data_func ("/host/bad-input/idle", test_bad_input_idle, run_test);
  g_test_add_data_func ("/host/bad-input/yamux-frame-type", test_bad_input_yamux_frame_type, run_test);
  g_test_add_data_func ("/host/bad-input/yamux-window", test_bad_input_yamux_window, run_test);
  g_test_add_data_func ("/host/bad-input/stream-flood", test_bad_input_stream_flood, run_test);

  ret = g_test_run ();
  log_capture_stop ();
  return ret;
}
