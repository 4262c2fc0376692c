/* test-host-tls.c: a live PunchHost refusing bad TLS client certificates.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "punch-connection.h"
#include "punch-error.h"
#include "punch-host-private.h"
#include "punch-keypair.h"
#include "punch-multistream.h"
#include "punch-public-key.h"
#include "punch-stream.h"
#include "punch-tls-certificate.h"

/*
 * A misbehaving dialer talks to a PunchHost listening on 127.0.0.1 over a
 * real TCP socket: multistream-select "/tls/1.0.0" by hand, then a bare
 * GnuTLS client handshake presenting a bad client certificate. The host
 * must close that connection with a logged reason, never announce it, and
 * keep serving the others.
 *
 * The bad dialer runs in a worker thread with blocking socket I/O (bounded
 * by a socket timeout); the hosts run on the global default main context in
 * the test's thread, iterated by WAIT_FOR with a failsafe timeout.
 */

#define ECHO "/test/echo/1.0.0"
#define TLS_PROTOCOL "/tls/1.0.0"

/* TLS 1.3 only, as libp2p requires; an independent peer, so its own string. */
#define CLIENT_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3"

/* Every wait is a main loop iteration bounded by a failsafe timeout. */
#define WAIT_TIMEOUT_S 60

#include "punch-test-log.h"
#include "punch-test-util.h"

/* The bad dialer's socket timeout: a host that neither closes nor answers
 * shows as a timeout, well before the failsafe. The hosts' handshake
 * timeout is set above it, so only the certificate can close the
 * connection in time. */
#define CLIENT_TIMEOUT_S 20
#define HOST_HANDSHAKE_TIMEOUT_MS (2 * CLIENT_TIMEOUT_S * 1000)

/* ------------------------------------------------------------------ */
/* The library's log                                                  */
/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* Hosts                                                              */
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
} Peer;

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
  g_assert_true (g_ptr_array_find (peer->opened, connection, NULL));
  g_ptr_array_add (peer->closed, g_object_ref (connection));
  g_ptr_array_add (peer->reasons, reason != NULL ? g_error_copy (reason) : NULL);
}

static void
on_echo_spliced (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, NULL);
  g_object_unref (user_data);   /* the stream */
}

/* Writes back what it reads; half-closes when the peer does. */
static void
echo_handler (PunchHost   *host,
              PunchStream *stream,
              gpointer     user_data)
{
  g_output_stream_splice_async (g_io_stream_get_output_stream (G_IO_STREAM (stream)),
                                g_io_stream_get_input_stream (G_IO_STREAM (stream)),
                                G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE |
                                G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                G_PRIORITY_DEFAULT, NULL, on_echo_spliced,
                                g_object_ref (stream));
}

static Peer *
peer_new (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);
  Peer *peer = g_new0 (Peer, 1);

  g_assert_no_error (error);
  peer->host = punch_host_new (keypair);
  punch_host_set_handshake_timeout (peer->host, HOST_HANDSHAKE_TIMEOUT_MS);
  peer->opened = g_ptr_array_new_with_free_func (g_object_unref);
  peer->closed = g_ptr_array_new_with_free_func (g_object_unref);
  peer->reasons = g_ptr_array_new_with_free_func (free_error_or_null);
  g_signal_connect (peer->host, "connection-opened", G_CALLBACK (on_connection_opened), peer);
  g_signal_connect (peer->host, "connection-closed", G_CALLBACK (on_connection_closed), peer);
  punch_host_set_stream_handler (peer->host, ECHO, echo_handler, peer, NULL);
  return peer;
}

static void
peer_free (Peer *peer)
{
  punch_host_close (peer->host);
  g_signal_handlers_disconnect_by_data (peer->host, peer);
  g_clear_object (&peer->host);
  g_ptr_array_unref (peer->opened);
  g_ptr_array_unref (peer->closed);
  g_ptr_array_unref (peer->reasons);
  g_free (peer);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Peer, peer_free)

/* Listens on 127.0.0.1 and returns the address bound, with /p2p. */
static PunchMultiaddr *
peer_listen (Peer *peer)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) address = punch_multiaddr_new_from_string ("/ip4/127.0.0.1/tcp/0",
                                                                       &error);
  g_autoptr(GPtrArray) addresses = NULL;

  g_assert_no_error (error);
  g_assert_true (punch_host_listen (peer->host, address, &error));
  g_assert_no_error (error);
  addresses = punch_host_get_listen_addresses (peer->host);
  g_assert_cmpuint (addresses->len, ==, 1);
  return punch_multiaddr_ref (g_ptr_array_index (addresses, 0));
}

static PunchConnection *
peer_dial (Peer           *peer,
           PunchMultiaddr *address)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  PunchConnection *connection;

  punch_host_dial_async (peer->host, address, NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  connection = punch_host_dial_finish (peer->host, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (connection);
  return connection;
}

static PunchStream *
open_echo_stream (PunchConnection *connection)
{
  static const gchar * const protocols[] = { ECHO, NULL };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  PunchStream *stream;

  punch_connection_open_stream_async (connection, protocols, NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  stream = punch_connection_open_stream_finish (connection, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (stream);
  return stream;
}

/* Writes @text and reads it back (the stream stays open). */
static void
assert_echo_once (PunchStream *stream,
                  const gchar *text)
{
  GInputStream *input = g_io_stream_get_input_stream (G_IO_STREAM (stream));
  GOutputStream *output = g_io_stream_get_output_stream (G_IO_STREAM (stream));
  g_autoptr(GAsyncResult) written = NULL;
  g_autoptr(GAsyncResult) read = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = strlen (text), done = 0;
  g_autofree guint8 *buffer = g_malloc (len);

  g_output_stream_write_all_async (output, text, len, G_PRIORITY_DEFAULT, NULL,
                                   store_result, &written);
  WAIT_FOR (written != NULL);
  g_assert_true (g_output_stream_write_all_finish (output, written, NULL, &error));
  g_assert_no_error (error);

  g_input_stream_read_all_async (input, buffer, len, G_PRIORITY_DEFAULT, NULL,
                                 store_result, &read);
  WAIT_FOR (read != NULL);
  g_assert_true (g_input_stream_read_all_finish (input, read, &done, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (buffer, done, text, len);
}

/* Half-closes @stream and expects the echo's end of stream. */
static void
assert_echo_end (PunchStream *stream)
{
  GInputStream *input = g_io_stream_get_input_stream (G_IO_STREAM (stream));
  g_autoptr(GAsyncResult) read = NULL;
  g_autoptr(GError) error = NULL;
  guint8 buffer[16];
  gsize done = 0;

  g_assert_true (punch_stream_close_write (stream, &error));
  g_assert_no_error (error);
  g_input_stream_read_all_async (input, buffer, sizeof buffer, G_PRIORITY_DEFAULT, NULL,
                                 store_result, &read);
  WAIT_FOR (read != NULL);
  g_assert_true (g_input_stream_read_all_finish (input, read, &done, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (done, ==, 0);
}

/* A fresh dial from @a to @b and one echo round trip on it. */
static void
assert_serves (Peer           *a,
               Peer           *b,
               PunchMultiaddr *address)
{
  g_autoptr(PunchConnection) connection = peer_dial (a, address);
  g_autoptr(PunchStream) stream = open_echo_stream (connection);

  g_assert_true (punch_peer_id_equal (punch_connection_get_remote_peer_id (connection),
                                      punch_host_get_peer_id (b->host)));
  assert_echo_once (stream, "still serving");
  assert_echo_end (stream);
}

/* ------------------------------------------------------------------ */
/* Client certificates                                                */
/* ------------------------------------------------------------------ */

typedef enum {
  CERT_VALID,               /* a correct libp2p certificate (control) */
  CERT_NO_EXTENSION,        /* self-signed, no libp2p extension */
  CERT_WRONG_SPKI,          /* the host key signed another certificate key */
  CERT_GARBAGE_SIGNATURE,   /* an Ed25519 host key, 64 bytes of garbage */
} CertKind;

static gnutls_x509_privkey_t
new_p256_key (void)
{
  gnutls_x509_privkey_t key;

  g_assert_cmpint (gnutls_x509_privkey_init (&key), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_generate2 (key, GNUTLS_PK_ECDSA,
                                                  GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1),
                                                  0, NULL, 0), ==, 0);
  return key;
}

/* The DER SubjectPublicKeyInfo of @key. */
static GBytes *
spki_of (gnutls_x509_privkey_t key)
{
  gnutls_privkey_t private;
  gnutls_pubkey_t public;
  gnutls_datum_t spki;
  GBytes *bytes;

  g_assert_cmpint (gnutls_privkey_init (&private), ==, 0);
  g_assert_cmpint (gnutls_privkey_import_x509 (private, key, 0), ==, 0);
  g_assert_cmpint (gnutls_pubkey_init (&public), ==, 0);
  g_assert_cmpint (gnutls_pubkey_import_privkey (public, private, 0, 0), ==, 0);
  g_assert_cmpint (gnutls_pubkey_export2 (public, GNUTLS_X509_FMT_DER, &spki), ==, 0);
  bytes = g_bytes_new (spki.data, spki.size);
  gnutls_free (spki.data);
  gnutls_pubkey_deinit (public);
  gnutls_privkey_deinit (private);

  return bytes;
}

/* The libp2p extension's SignedKey for certificate key @key. */
static GBytes *
make_signed_key (PunchKeypair          *host,
                 gnutls_x509_privkey_t  key,
                 CertKind               kind)
{
  g_autoptr(GBytes) spki = NULL;
  g_autoptr(GByteArray) message = g_byte_array_new ();
  g_autoptr(GBytes) signature = NULL;
  g_autoptr(GBytes) host_key = NULL;
  g_autoptr(GError) error = NULL;

  if (kind == CERT_WRONG_SPKI)
    {
      gnutls_x509_privkey_t other = new_p256_key ();

      spki = spki_of (other);
      gnutls_x509_privkey_deinit (other);
    }
  else
    {
      spki = spki_of (key);
    }
  g_byte_array_append (message, (const guint8 *) PUNCH_TLS_SIGNATURE_PREFIX,
                       strlen (PUNCH_TLS_SIGNATURE_PREFIX));
  g_byte_array_append (message, g_bytes_get_data (spki, NULL), g_bytes_get_size (spki));

  if (kind == CERT_GARBAGE_SIGNATURE)
    {
      guint8 garbage[64];

      /* An Ed25519 signature's length, not its content. */
      for (guint i = 0; i < sizeof garbage; i++)
        garbage[i] = (guint8) (0x5a ^ (i * 37));
      signature = g_bytes_new (garbage, sizeof garbage);
    }
  else
    {
      signature = punch_keypair_sign (host, message->data, message->len, &error);
      g_assert_no_error (error);
    }
  host_key = punch_public_key_to_protobuf (punch_keypair_get_public_key (host));

  return punch_tls_signed_key_encode (g_bytes_get_data (host_key, NULL),
                                      g_bytes_get_size (host_key),
                                      g_bytes_get_data (signature, NULL),
                                      g_bytes_get_size (signature));
}

/* Credentials holding a self-signed client certificate of @kind. */
static gnutls_certificate_credentials_t
make_credentials (PunchKeypair *host,
                  CertKind      kind)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gnutls_x509_privkey_t key = new_p256_key ();
  gnutls_certificate_credentials_t credentials;
  gnutls_x509_crt_t crt;
  const guint8 serial[] = { 0x42, 0x17 };

  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_version (crt, 3), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_serial (crt, serial, sizeof serial), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_activation_time (crt, now - 3600), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_expiration_time (crt, now + 24 * 3600), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                                  "bad dialer", 10), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_key (crt, key), ==, 0);

  if (kind != CERT_NO_EXTENSION)
    {
      g_autoptr(GBytes) extension = make_signed_key (host, key, kind);

      g_assert_cmpint (gnutls_x509_crt_set_extension_by_oid (crt, PUNCH_TLS_EXTENSION_OID,
                                                             g_bytes_get_data (extension, NULL),
                                                             g_bytes_get_size (extension),
                                                             1), ==, 0);
    }
  g_assert_cmpint (gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0), ==, 0);

  g_assert_cmpint (gnutls_certificate_allocate_credentials (&credentials), ==, 0);
  g_assert_cmpint (gnutls_certificate_set_x509_key (credentials, &crt, 1, key), >=, 0);
  gnutls_x509_crt_deinit (crt);
  gnutls_x509_privkey_deinit (key);

  return credentials;
}

/* ------------------------------------------------------------------ */
/* The raw dialer                                                     */
/* ------------------------------------------------------------------ */

typedef struct {
  /* Set up by the test thread. */
  GSocketConnection *connection;
  gnutls_certificate_credentials_t credentials;
  const gchar *alpn;

  /* The worker's, read by the test thread after done. */
  GSocket *socket;
  GByteArray *pending;               /* bytes behind the multistream answer */
  gnutls_session_t session;
  gchar *failure;                    /* a step before TLS that failed */
  gchar *protocol;                   /* what multistream agreed on */
  gboolean handshake_done;
  int handshake_ret;
  int recv_ret;
  gchar *alert;                      /* a fatal alert the host sent */
  gsize received;                    /* plaintext bytes received */
  gboolean timed_out;                /* the socket timeout fired */
  gint64 elapsed_us;                 /* from connect to the end */

  gboolean done;                     /* set on the main context */
} BadDialer;

static ssize_t
dialer_push (gnutls_transport_ptr_t ptr,
             const void            *data,
             size_t                 len)
{
  BadDialer *dialer = ptr;
  g_autoptr(GError) error = NULL;
  gssize n = g_socket_send (dialer->socket, data, len, NULL, &error);

  if (n < 0)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        dialer->timed_out = TRUE;
      gnutls_transport_set_errno (dialer->session, EIO);
      return -1;
    }
  return n;
}

static ssize_t
dialer_pull (gnutls_transport_ptr_t ptr,
             void                  *data,
             size_t                 len)
{
  BadDialer *dialer = ptr;
  g_autoptr(GError) error = NULL;
  gssize n;

  if (dialer->pending->len > 0)
    {
      n = MIN (len, dialer->pending->len);
      memcpy (data, dialer->pending->data, n);
      g_byte_array_remove_range (dialer->pending, 0, n);
      return n;
    }

  n = g_socket_receive (dialer->socket, data, len, NULL, &error);
  if (n < 0)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        dialer->timed_out = TRUE;
      /* A reset is the host closing too. */
      gnutls_transport_set_errno (dialer->session,
                                  g_error_matches (error, G_IO_ERROR,
                                                   G_IO_ERROR_CONNECTION_CLOSED) ?
                                  ECONNRESET : EIO);
      return -1;
    }
  return n;
}

static gboolean
send_all (GSocket      *socket,
          GBytes       *bytes,
          GError      **error)
{
  const guint8 *data;
  gsize len, done = 0;

  if (bytes == NULL)
    return TRUE;
  data = g_bytes_get_data (bytes, &len);
  while (done < len)
    {
      gssize n = g_socket_send (socket, (const gchar *) data + done, len - done, NULL, error);

      if (n < 0)
        return FALSE;
      done += n;
    }
  return TRUE;
}

/* multistream-select "/tls/1.0.0" as the dialer, by hand. */
static gboolean
negotiate_security (BadDialer  *dialer,
                    GError    **error)
{
  static const gchar * const protocols[] = { TLS_PROTOCOL, NULL };
  g_autoptr(PunchMultistream) ms = punch_multistream_new_dialer (protocols);
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) remaining = NULL;
  guint8 buffer[1024];

  punch_multistream_start (ms);
  out = punch_multistream_pull_output (ms);
  if (!send_all (dialer->socket, out, error))
    return FALSE;

  while (punch_multistream_get_state (ms) == PUNCH_MULTISTREAM_NEGOTIATING)
    {
      gssize n = g_socket_receive (dialer->socket, (gchar *) buffer, sizeof buffer, NULL, error);

      if (n < 0)
        return FALSE;
      if (n == 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                               "End of stream during multistream-select");
          return FALSE;
        }
      if (!punch_multistream_receive (ms, buffer, n, error))
        return FALSE;
      g_clear_pointer (&out, g_bytes_unref);
      out = punch_multistream_pull_output (ms);
      if (!send_all (dialer->socket, out, error))
        return FALSE;
    }
  if (punch_multistream_get_state (ms) != PUNCH_MULTISTREAM_DONE)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                           "multistream-select failed");
      return FALSE;
    }

  dialer->protocol = g_strdup (punch_multistream_get_protocol (ms));
  remaining = punch_multistream_steal_remaining (ms);
  if (remaining != NULL)
    g_byte_array_append (dialer->pending, g_bytes_get_data (remaining, NULL),
                         g_bytes_get_size (remaining));
  return TRUE;
}

static gpointer
bad_dialer_thread (gpointer data)
{
  BadDialer *dialer = data;
  g_autoptr(GError) error = NULL;
  gnutls_datum_t alpn = { (guint8 *) dialer->alpn, strlen (dialer->alpn) };
  gint64 start = g_get_monotonic_time ();
  int ret;

  dialer->socket = g_socket_connection_get_socket (dialer->connection);
  g_socket_set_blocking (dialer->socket, TRUE);
  g_socket_set_timeout (dialer->socket, CLIENT_TIMEOUT_S);

  if (!negotiate_security (dialer, &error))
    {
      dialer->failure = g_strdup (error->message);
      goto out;
    }

  gnutls_init (&dialer->session, GNUTLS_CLIENT | GNUTLS_NO_TICKETS);
  gnutls_priority_set_direct (dialer->session, CLIENT_PRIORITY, NULL);
  gnutls_credentials_set (dialer->session, GNUTLS_CRD_CERTIFICATE, dialer->credentials);
  gnutls_alpn_set_protocols (dialer->session, &alpn, 1, 0);
  gnutls_transport_set_ptr (dialer->session, dialer);
  gnutls_transport_set_push_function (dialer->session, dialer_push);
  gnutls_transport_set_pull_function (dialer->session, dialer_pull);

  do
    ret = gnutls_handshake (dialer->session);
  while (ret < 0 && !gnutls_error_is_fatal (ret));
  dialer->handshake_ret = ret;
  dialer->handshake_done = ret == 0;

  if (ret == 0)
    {
      guint8 buffer[4096];

      /* Until the host ends it: an alert, close_notify or end of stream. */
      do
        {
          ret = gnutls_record_recv (dialer->session, buffer, sizeof buffer);
          if (ret > 0)
            dialer->received += ret;
        }
      while (ret > 0 || (ret < 0 && !gnutls_error_is_fatal (ret)));
      dialer->recv_ret = ret;
    }
  if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED)
    dialer->alert = g_strdup (gnutls_alert_get_name (gnutls_alert_get (dialer->session)));

out:
  dialer->elapsed_us = g_get_monotonic_time () - start;
  g_io_stream_close (G_IO_STREAM (dialer->connection), NULL, NULL);
  g_idle_add (set_true, &dialer->done);

  return NULL;
}

static void
bad_dialer_clear (BadDialer *dialer)
{
  if (dialer->session != NULL)
    gnutls_deinit (dialer->session);
  gnutls_certificate_free_credentials (dialer->credentials);
  g_clear_object (&dialer->connection);
  g_clear_pointer (&dialer->pending, g_byte_array_unref);
  g_clear_pointer (&dialer->failure, g_free);
  g_clear_pointer (&dialer->protocol, g_free);
  g_clear_pointer (&dialer->alert, g_free);
}

/* Connects to @address and starts a dialer presenting a @kind
 * certificate in a worker thread; returns the local port. */
static GThread *
bad_dialer_start (BadDialer      *dialer,
                  PunchMultiaddr *address,
                  CertKind        kind,
                  const gchar    *alpn,
                  guint16        *out_local_port)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) target = punch_multiaddr_to_inet_socket_address (address, NULL,
                                                                             &error);
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(PunchKeypair) host = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);

  g_assert_no_error (error);
  memset (dialer, 0, sizeof *dialer);
  dialer->credentials = make_credentials (host, kind);
  dialer->alpn = alpn;
  dialer->pending = g_byte_array_new ();

  g_socket_client_set_enable_proxy (client, FALSE);
  dialer->connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (target), NULL,
                                                &error);
  g_assert_no_error (error);
  local = g_socket_connection_get_local_address (dialer->connection, &error);
  g_assert_no_error (error);
  *out_local_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));

  return g_thread_new ("bad-dialer", bad_dialer_thread, dialer);
}

/* The dialer's view: multistream agreed on TLS, and then the host ended
 * the connection (an alert or end of stream) rather than letting it time
 * out or sending it any application data. */
static void
assert_dialer_refused (BadDialer *dialer)
{
  int end = dialer->handshake_done ? dialer->recv_ret : dialer->handshake_ret;

  g_test_message ("bad dialer: handshake %s, then %s (alert %s), %" G_GINT64_FORMAT " ms",
                  dialer->handshake_done ? "done" : gnutls_strerror (dialer->handshake_ret),
                  dialer->handshake_done ? gnutls_strerror (dialer->recv_ret) : "-",
                  dialer->alert != NULL ? dialer->alert : "none",
                  dialer->elapsed_us / 1000);
  g_assert_null (dialer->failure);
  g_assert_cmpstr (dialer->protocol, ==, TLS_PROTOCOL);
  g_assert_false (dialer->timed_out);
  g_assert_cmpint (dialer->elapsed_us, <, (gint64) CLIENT_TIMEOUT_S * G_USEC_PER_SEC);
  g_assert_cmpuint (dialer->received, ==, 0);
  g_assert_true (end == GNUTLS_E_FATAL_ALERT_RECEIVED ||
                 end == GNUTLS_E_PREMATURE_TERMINATION ||
                 end == GNUTLS_E_PULL_ERROR ||
                 end == 0);
}

/* Runs a bad dialer of @kind against @b and checks that @b refused it
 * with a logged reason containing @reason, announcing nothing. */
static void
check_refused (Peer           *b,
               PunchMultiaddr *address,
               CertKind        kind,
               const gchar    *reason)
{
  g_autoptr(GPtrArray) before = punch_host_get_connections (b->host, NULL);
  g_autoptr(GPtrArray) after = NULL;
  g_autofree gchar *from = NULL;
  guint n_opened = b->opened->len;
  guint n_closed = b->closed->len;
  BadDialer dialer;
  guint16 port = 0;
  GThread *thread;

  log_clear ();
  thread = bad_dialer_start (&dialer, address, kind, "libp2p", &port);
  WAIT_FOR (dialer.done);
  g_thread_join (thread);
  WAIT_FOR (punch_host_get_n_pending (b->host) == 0);
  run_pending ();

  assert_dialer_refused (&dialer);

  /* Nothing announced, nothing added. */
  g_assert_cmpuint (b->opened->len, ==, n_opened);
  g_assert_cmpuint (b->closed->len, ==, n_closed);
  after = punch_host_get_connections (b->host, NULL);
  g_assert_cmpuint (after->len, ==, before->len);
  for (guint i = 0; i < after->len; i++)
    g_assert_true (g_ptr_array_index (after, i) == g_ptr_array_index (before, i));

  /* The reason, logged by the connection that came from our port. */
  log_dump ();
  from = g_strdup_printf ("from /ip4/127.0.0.1/tcp/%u: closing: ", port);
  g_assert_true (log_has (from, "Peer certificate refused: "));
  g_assert_true (log_has (from, reason));

  bad_dialer_clear (&dialer);
}

/* ------------------------------------------------------------------ */
/* Tests                                                              */
/* ------------------------------------------------------------------ */

/* The raw dialer itself works: with a valid certificate (and the muxer in
 * ALPN) the host announces the connection; closing it ends the dialer's. */
static void
test_control_valid_certificate (void)
{
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(PunchMultiaddr) address = peer_listen (b);
  g_autoptr(GPtrArray) connections = NULL;
  PunchConnection *connection;
  BadDialer dialer;
  guint16 port = 0;
  GThread *thread;

  thread = bad_dialer_start (&dialer, address, CERT_VALID, "/yamux/1.0.0", &port);
  WAIT_FOR (b->opened->len == 1);
  connection = g_ptr_array_index (b->opened, 0);
  connections = punch_host_get_connections (b->host, NULL);
  g_assert_cmpuint (connections->len, ==, 1);
  g_assert_true (g_ptr_array_index (connections, 0) == connection);
  g_assert_cmpint (punch_connection_get_direction (connection), ==, PUNCH_DIRECTION_INBOUND);

  punch_connection_close (connection);
  WAIT_FOR (dialer.done);
  g_thread_join (thread);
  g_assert_null (dialer.failure);
  g_assert_true (dialer.handshake_done);
  g_assert_false (dialer.timed_out);
  /* GO_AWAY, then close_notify or end of stream. */
  g_assert_cmpuint (dialer.received, >, 0);
  g_assert_true (dialer.recv_ret == 0 || dialer.recv_ret == GNUTLS_E_PREMATURE_TERMINATION);
  g_assert_cmpuint (b->closed->len, ==, 1);
  g_assert_null (g_ptr_array_index (b->reasons, 0));
  bad_dialer_clear (&dialer);
}

typedef struct {
  CertKind kind;
  const gchar *reason;
} BadCase;

static const BadCase no_extension = {
  CERT_NO_EXTENSION, "lacks the libp2p Public Key Extension"
};
static const BadCase wrong_spki = {
  CERT_WRONG_SPKI, "host key does not sign the certificate key"
};
static const BadCase garbage_signature = {
  CERT_GARBAGE_SIGNATURE, "Ed25519 host key does not sign the certificate key"
};

/* A bad dialer is refused; then a normal dial works. */
static void
check_refused_then_serves (const BadCase *bad)
{
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(PunchMultiaddr) address = peer_listen (b);
  g_autoptr(GPtrArray) connections = NULL;

  check_refused (b, address, bad->kind, bad->reason);
  connections = punch_host_get_connections (b->host, NULL);
  g_assert_cmpuint (connections->len, ==, 0);
  g_assert_cmpuint (b->opened->len, ==, 0);

  assert_serves (a, b, address);
  WAIT_FOR (b->opened->len == 1);
  g_assert_true (punch_peer_id_equal (punch_connection_get_remote_peer_id (g_ptr_array_index (b->opened, 0)),
                                      punch_host_get_peer_id (a->host)));
}

static void
test_refused_no_extension (void)
{
  check_refused_then_serves (&no_extension);
}

static void
test_refused_wrong_spki (void)
{
  check_refused_then_serves (&wrong_spki);
}

static void
test_refused_garbage_signature (void)
{
  check_refused_then_serves (&garbage_signature);
}

/* A is connected to B with an echo stream open; each bad dialer is
 * refused meanwhile and the stream goes on echoing. */
static void
test_refused_while_connected (void)
{
  g_autoptr(Peer) a = peer_new ();
  g_autoptr(Peer) b = peer_new ();
  g_autoptr(PunchMultiaddr) address = peer_listen (b);
  g_autoptr(PunchConnection) ab = peer_dial (a, address);
  g_autoptr(PunchStream) stream = NULL;
  g_autoptr(GPtrArray) connections = NULL;
  const BadCase *cases[] = { &no_extension, &wrong_spki, &garbage_signature };

  WAIT_FOR (b->opened->len == 1);
  stream = open_echo_stream (ab);
  assert_echo_once (stream, "before");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *text = g_strdup_printf ("after bad dialer %u", i);

      check_refused (b, address, cases[i]->kind, cases[i]->reason);
      assert_echo_once (stream, text);
    }

  g_assert_false (punch_connection_is_closed (ab));
  g_assert_false (punch_connection_is_closed (g_ptr_array_index (b->opened, 0)));
  g_assert_cmpuint (a->closed->len, ==, 0);
  g_assert_cmpuint (b->closed->len, ==, 0);
  g_assert_cmpuint (b->opened->len, ==, 1);
  connections = punch_host_get_connections (b->host, NULL);
  g_assert_cmpuint (connections->len, ==, 1);
  g_assert_true (g_ptr_array_index (connections, 0) == g_ptr_array_index (b->opened, 0));
  assert_echo_end (stream);
}

/* Each test, then a check that it left nothing behind. */
static void
run_test (gconstpointer data)
{
  ((GTestFunc) data) ();
  WAIT_FOR (n_alive_connections == 0);
  run_pending ();
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  log_capture_start ();

  g_test_add_data_func ("/host-tls/control/valid-certificate",
                        test_control_valid_certificate, run_test);
  g_test_add_data_func ("/host-tls/refused/no-extension",
                        test_refused_no_extension, run_test);
  g_test_add_data_func ("/host-tls/refused/wrong-spki-signed",
                        test_refused_wrong_spki, run_test);
  g_test_add_data_func ("/host-tls/refused/garbage-signature",
                        test_refused_garbage_signature, run_test);
  g_test_add_data_func ("/host-tls/refused/while-connected",
                        test_refused_while_connected, run_test);

  ret = g_test_run ();

  log_capture_stop ();

  return ret;
}
