/* punch-tls-session.c: a libp2p TLS 1.3 session over memory buffers.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-tls-session.h"

#include <errno.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "punch-crypto-private.h"
#include "punch-error.h"

/*
 * A GnuTLS session whose transport is two byte queues: the caller appends
 * what arrives from the network with punch_tls_session_receive() and sends
 * what punch_tls_session_pull_output() returns (or has the ciphertext
 * appended to its own buffer: punch_tls_session_set_output()). GnuTLS runs non-blocking
 * (GNUTLS_NONBLOCK): the pull function reports EAGAIN when the input queue
 * is empty, and gnutls_handshake() / gnutls_record_recv() then return
 * GNUTLS_E_AGAIN, which we report as PUNCH_TLS_WOULD_BLOCK. The push function
 * always takes everything, so writing never blocks; the caller bounds the
 * output by what it is willing to queue.
 *
 * libp2p specifics (tls/tls.md):
 * - TLS 1.3 only (PUNCH_TLS_PRIORITY), no session tickets or resumption
 *   (GNUTLS_NO_TICKETS), no SNI (clients must not send one).
 * - Each side presents a self-signed certificate carrying the libp2p Public
 *   Key Extension (punch-tls-certificate.c); the server requires one from the
 *   client. GnuTLS verifies nothing by itself: our verify function checks the
 *   peer's certificate with punch_tls_certificate_verify_chain(), at the time
 *   given when the session was made, and learns the remote peer id there.
 * - ALPN is mandatory: the caller's list (by default just "libp2p"), or
 *   muxer ids followed by "libp2p" for inlined muxer negotiation. The server
 *   takes the client's first protocol it supports (GnuTLS's default order)
 *   and fails the handshake if there is none.
 *
 * In TLS 1.3 a client finishes its handshake before the server has checked
 * the client certificate; if the server refuses it, the client learns it
 * from an alert on its next read.
 *
 * Records are GnuTLS's default: up to 16 KiB of plaintext each.
 */

/* Rounds of GnuTLS calls that made no progress (warning alerts,
 * interruptions) before we give up. */
#define MAX_RETRIES 32

typedef enum {
  STATE_HANDSHAKING,
  STATE_ESTABLISHED,
  STATE_FAILED,
} State;

struct _PunchTlsSession {
  PunchTlsRole role;
  State state;
  gint64 now_unix_s;

  gnutls_session_t session;
  PunchTlsCertificate *certificate;  /* whose credentials the session uses */
  PunchPeerId *local_peer_id;
  PunchPeerId *expected_peer_id;

  GByteArray *input;
  gsize input_offset;
  gboolean input_eof;
  const guint8 *lent;           /* the caller's bytes, behind input */
  gsize lent_len;
  gsize lent_offset;
  GByteArray *output;
  GByteArray *sink;             /* the caller's output buffer, or NULL */

  gboolean close_sent;
  gboolean close_received;

  GError *error;          /* why the session failed (STATE_FAILED) */
  GError *verify_error;   /* why the peer's certificate was refused */

  PunchPeerId *remote_peer_id;
  PunchPublicKey *remote_public_key;
  gchar *alpn;
};

/* ------------------------------------------------------------------ */
/* Transport                                                          */
/* ------------------------------------------------------------------ */

static gsize
input_available (PunchTlsSession *self)
{
  return self->input->len - self->input_offset + self->lent_len - self->lent_offset;
}

static ssize_t
transport_push (gnutls_transport_ptr_t  user_data,
                const void             *data,
                size_t                  len)
{
  PunchTlsSession *self = user_data;

  g_byte_array_append (self->sink != NULL ? self->sink : self->output, data, len);

  return (ssize_t) len;
}

static ssize_t
transport_pull (gnutls_transport_ptr_t  user_data,
                void                   *data,
                size_t                  len)
{
  PunchTlsSession *self = user_data;
  gsize queued = self->input->len - self->input_offset;
  gsize n;

  if (queued > 0)
    {
      n = MIN (queued, len);
      memcpy (data, self->input->data + self->input_offset, n);
      self->input_offset += n;
      if (self->input_offset == self->input->len)
        {
          g_byte_array_set_size (self->input, 0);
          self->input_offset = 0;
        }
      return (ssize_t) n;
    }

  if (self->lent_offset < self->lent_len)
    {
      n = MIN (self->lent_len - self->lent_offset, len);
      memcpy (data, self->lent + self->lent_offset, n);
      self->lent_offset += n;
      return (ssize_t) n;
    }

  if (self->input_eof)
    return 0;
  gnutls_transport_set_errno (self->session, EAGAIN);
  return -1;
}

/* GnuTLS only asks when a timeout is set, which we never do; answer
 * without waiting anyway. */
static int
transport_pull_timeout (gnutls_transport_ptr_t user_data,
                        unsigned int           ms)
{
  PunchTlsSession *self = user_data;

  if (input_available (self) > 0 || self->input_eof)
    return 1;

  return 0;
}

/* ------------------------------------------------------------------ */
/* Peer verification                                                  */
/* ------------------------------------------------------------------ */

static int
verify_peer (gnutls_session_t session)
{
  PunchTlsSession *self = gnutls_session_get_ptr (session);
  g_autoptr(PunchPublicKey) public_key = NULL;
  const gnutls_datum_t *chain;
  unsigned int n_certificates = 0;
  PunchPeerId *peer_id;

  g_clear_error (&self->verify_error);

  if (gnutls_certificate_type_get2 (session, GNUTLS_CTYPE_PEERS) != GNUTLS_CRT_X509)
    {
      g_set_error_literal (&self->verify_error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                           "Peer authenticated without an X.509 certificate");
      return GNUTLS_E_CERTIFICATE_ERROR;
    }

  chain = gnutls_certificate_get_peers (session, &n_certificates);
  if (chain == NULL)
    n_certificates = 0;

  peer_id = punch_tls_certificate_verify_chain (chain, n_certificates,
                                                self->now_unix_s,
                                                self->expected_peer_id,
                                                &public_key, &self->verify_error);
  if (peer_id == NULL)
    {
      g_prefix_error (&self->verify_error, "Peer certificate refused: ");
      g_debug ("TLS %s: %s",
               self->role == PUNCH_TLS_ROLE_CLIENT ? "client" : "server",
               self->verify_error->message);
      return GNUTLS_E_CERTIFICATE_ERROR;
    }

  g_clear_pointer (&self->remote_peer_id, punch_peer_id_unref);
  g_clear_object (&self->remote_public_key);
  self->remote_peer_id = peer_id;
  self->remote_public_key = g_steal_pointer (&public_key);

  return 0;
}

/* ------------------------------------------------------------------ */
/* Errors                                                             */
/* ------------------------------------------------------------------ */

static gboolean
fail (PunchTlsSession  *self,
      GError          **error)
{
  self->state = STATE_FAILED;
  if (error != NULL)
    *error = g_error_copy (self->error);

  return FALSE;
}

/* Records a fatal GnuTLS error from @operation, tells the peer with an
 * alert where that makes sense, and fails the session. */
static gboolean
fail_with_gnutls (PunchTlsSession  *self,
                  int               ret,
                  const gchar      *operation,
                  GError          **error)
{
  gboolean send_alert = TRUE;

  g_clear_error (&self->error);

  /* A peer whose handshake failed is not authenticated, even if its
   * certificate passed before something else went wrong. */
  if (self->state == STATE_HANDSHAKING)
    {
      g_clear_pointer (&self->remote_peer_id, punch_peer_id_unref);
      g_clear_object (&self->remote_public_key);
    }

  if (self->verify_error != NULL)
    {
      self->error = g_steal_pointer (&self->verify_error);
    }
  else if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED)
    {
      self->error = g_error_new (PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                                 "TLS %s: the peer aborted with alert \"%s\"",
                                 operation,
                                 gnutls_alert_get_name (gnutls_alert_get (self->session)));
      send_alert = FALSE;
    }
  else if (ret == GNUTLS_E_PREMATURE_TERMINATION ||
           (self->input_eof && (ret == GNUTLS_E_UNEXPECTED_PACKET_LENGTH ||
                                ret == GNUTLS_E_PULL_ERROR)))
    {
      self->error = g_error_new (PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                                 "TLS %s: the connection closed without close_notify",
                                 operation);
      send_alert = FALSE;
    }
  else if (ret == GNUTLS_E_SESSION_EOF)
    {
      /* close_notify before the handshake finished */
      self->error = g_error_new (PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                                 "TLS %s: the peer closed the connection", operation);
      send_alert = FALSE;
    }
  else if (ret == GNUTLS_E_NO_APPLICATION_PROTOCOL)
    {
      self->error = g_error_new (PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                                 "TLS %s: no ALPN protocol in common with the peer",
                                 operation);
    }
  else if (ret == GNUTLS_E_NO_CERTIFICATE_FOUND ||
           ret == GNUTLS_E_CERTIFICATE_REQUIRED)
    {
      self->error = g_error_new (PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                                 "TLS %s: the peer sent no certificate", operation);
    }
  else if (ret == GNUTLS_E_UNSUPPORTED_VERSION_PACKET ||
           ret == GNUTLS_E_INSUFFICIENT_SECURITY)
    {
      self->error = g_error_new (PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                                 "TLS %s: the peer does not speak TLS 1.3: %s",
                                 operation, gnutls_strerror (ret));
    }
  else
    {
      self->error = g_error_new (PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                                 "TLS %s failed: %s", operation, gnutls_strerror (ret));
    }

  if (send_alert)
    gnutls_alert_send_appropriate (self->session, ret);

  g_debug ("TLS %s: %s", self->role == PUNCH_TLS_ROLE_CLIENT ? "client" : "server",
           self->error->message);

  return fail (self, error);
}

/* ------------------------------------------------------------------ */
/* Construction                                                       */
/* ------------------------------------------------------------------ */

static gboolean
set_alpn (PunchTlsSession     *self,
          const gchar * const *alpn,
          GError             **error)
{
  static const gchar * const default_alpn[] = { PUNCH_TLS_ALPN_LIBP2P, NULL };
  gnutls_datum_t protocols[PUNCH_TLS_ALPN_MAX_PROTOCOLS];
  guint n;
  int ret;

  if (alpn == NULL || alpn[0] == NULL)
    alpn = default_alpn;

  for (n = 0; alpn[n] != NULL; n++)
    {
      gsize len = strlen (alpn[n]);

      if (n >= PUNCH_TLS_ALPN_MAX_PROTOCOLS)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                       "More than %d ALPN protocols", PUNCH_TLS_ALPN_MAX_PROTOCOLS);
          return FALSE;
        }
      if (len == 0 || len > PUNCH_TLS_ALPN_MAX_NAME_LEN)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                       "ALPN protocol \"%s\" is not 1 to %d bytes long",
                       alpn[n], PUNCH_TLS_ALPN_MAX_NAME_LEN);
          return FALSE;
        }
      protocols[n].data = (guint8 *) alpn[n];
      protocols[n].size = len;
    }

  ret = gnutls_alpn_set_protocols (self->session, protocols, n, GNUTLS_ALPN_MANDATORY);
  if (ret < 0)
    {
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_FAILED, ret,
                                     "Cannot set the ALPN protocols");
      return FALSE;
    }

  return TRUE;
}

/* PUNCH_TLS_PRIORITY, parsed once for every session (the parsed form is
 * several KiB, read-only once made, and kept for the process's life). */
static gnutls_priority_t
shared_priority (GError **error)
{
  static gsize done;
  static gnutls_priority_t priority;
  static int ret;

  if (g_once_init_enter (&done))
    {
      ret = gnutls_priority_init (&priority, PUNCH_TLS_PRIORITY, NULL);
      g_once_init_leave (&done, 1);
    }
  if (ret < 0)
    {
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_FAILED, ret,
                                     "Cannot parse the TLS priorities");
      return NULL;
    }
  return priority;
}

/*
 * punch_tls_session_new_with_certificate:
 * @role: whether this side is the TLS client (the dialer) or the server
 * @certificate: our certificate, from punch_tls_certificate_new()
 * @alpn: (nullable) (array zero-terminated=1): the ALPN protocols to offer
 *   (client) or accept (server), in order of preference; %NULL or empty
 *   means just "libp2p". With inlined muxer negotiation, the muxer ids
 *   followed by "libp2p", which must come last.
 * @expected_remote: (nullable): the peer this side means to reach; a peer
 *   that authenticates as another fails the handshake
 * @now_unix_s: the current time, in seconds since the Unix epoch, against
 *   which the peer's certificate is checked
 * @error: return location for a #GError
 *
 * Makes a session that has not sent anything yet. Call
 * punch_tls_session_handshake() to start it.
 *
 * Errors: %PUNCH_ERROR_UNSUPPORTED for ALPN protocols GnuTLS cannot offer
 *   (more than %PUNCH_TLS_ALPN_MAX_PROTOCOLS, empty or longer than
 *   %PUNCH_TLS_ALPN_MAX_NAME_LEN), %PUNCH_ERROR_FAILED if GnuTLS fails.
 *
 * Returns: (transfer full) (nullable): the session, or %NULL on error
 */
PunchTlsSession *
punch_tls_session_new_with_certificate (PunchTlsRole          role,
                                        PunchTlsCertificate  *certificate,
                                        const gchar * const  *alpn,
                                        PunchPeerId          *expected_remote,
                                        gint64                now_unix_s,
                                        GError              **error)
{
  g_autoptr(PunchTlsSession) self = NULL;
  gnutls_certificate_credentials_t credentials;
  gnutls_priority_t priority;
  unsigned int flags;
  int ret;

  g_return_val_if_fail (role == PUNCH_TLS_ROLE_CLIENT || role == PUNCH_TLS_ROLE_SERVER, NULL);
  g_return_val_if_fail (certificate != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_new0 (PunchTlsSession, 1);
  self->role = role;
  self->state = STATE_HANDSHAKING;
  self->now_unix_s = now_unix_s;
  self->input = g_byte_array_new ();
  self->output = g_byte_array_new ();
  self->local_peer_id = punch_peer_id_ref (punch_tls_certificate_get_peer_id (certificate));
  if (expected_remote != NULL)
    self->expected_peer_id = punch_peer_id_ref (expected_remote);

  self->certificate = punch_tls_certificate_ref (certificate);
  credentials = punch_tls_certificate_get_credentials (certificate, error);
  if (credentials == NULL)
    return NULL;
  priority = shared_priority (error);
  if (priority == NULL)
    return NULL;

  flags = (role == PUNCH_TLS_ROLE_CLIENT ? GNUTLS_CLIENT : GNUTLS_SERVER) |
          GNUTLS_NONBLOCK | GNUTLS_NO_TICKETS | GNUTLS_NO_SIGNAL;
  ret = gnutls_init (&self->session, flags);
  if (ret < 0)
    {
      self->session = NULL;
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_FAILED, ret,
                                     "Cannot make a TLS session");
      return NULL;
    }

  gnutls_session_set_verify_function (self->session, verify_peer);
  if ((ret = gnutls_priority_set (self->session, priority)) < 0 ||
      (ret = gnutls_credentials_set (self->session, GNUTLS_CRD_CERTIFICATE, credentials)) < 0)
    {
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_FAILED, ret,
                                     "Cannot configure the TLS session");
      return NULL;
    }
  if (!set_alpn (self, alpn, error))
    return NULL;

  if (role == PUNCH_TLS_ROLE_SERVER)
    gnutls_certificate_server_set_request (self->session, GNUTLS_CERT_REQUIRE);

  /* Timeouts are the caller's business: GnuTLS must not read a clock. */
  gnutls_handshake_set_timeout (self->session, 0);

  gnutls_session_set_ptr (self->session, self);
  gnutls_transport_set_ptr (self->session, self);
  gnutls_transport_set_push_function (self->session, transport_push);
  gnutls_transport_set_pull_function (self->session, transport_pull);
  gnutls_transport_set_pull_timeout_function (self->session, transport_pull_timeout);

  return g_steal_pointer (&self);
}

/*
 * punch_tls_session_new:
 * @role: whether this side is the TLS client (the dialer) or the server
 * @host: the host's identity key pair
 * @alpn: (nullable) (array zero-terminated=1): the ALPN protocols, as for
 *   punch_tls_session_new_with_certificate()
 * @expected_remote: (nullable): the peer this side means to reach
 * @now_unix_s: the current time, in seconds since the Unix epoch
 * @error: return location for a #GError
 *
 * Like punch_tls_session_new_with_certificate() with a new certificate for
 * @host made by punch_tls_certificate_new().
 *
 * Errors: those of punch_tls_certificate_new() and
 *   punch_tls_session_new_with_certificate().
 *
 * Returns: (transfer full) (nullable): the session, or %NULL on error
 */
PunchTlsSession *
punch_tls_session_new (PunchTlsRole          role,
                       PunchKeypair         *host,
                       const gchar * const  *alpn,
                       PunchPeerId          *expected_remote,
                       gint64                now_unix_s,
                       GError              **error)
{
  g_autoptr(PunchTlsCertificate) certificate = NULL;

  g_return_val_if_fail (PUNCH_IS_KEYPAIR (host), NULL);

  certificate = punch_tls_certificate_new (host, now_unix_s, error);
  if (certificate == NULL)
    return NULL;

  return punch_tls_session_new_with_certificate (role, certificate, alpn,
                                                 expected_remote, now_unix_s,
                                                 error);
}

/*
 * punch_tls_session_free:
 * @self: (transfer full): a session
 *
 * Frees the session without sending anything; call
 * punch_tls_session_close() first for an orderly close.
 */
void
punch_tls_session_free (PunchTlsSession *self)
{
  if (self == NULL)
    return;

  g_clear_pointer (&self->session, gnutls_deinit);
  g_clear_pointer (&self->certificate, punch_tls_certificate_unref);
  g_clear_pointer (&self->local_peer_id, punch_peer_id_unref);
  g_clear_pointer (&self->expected_peer_id, punch_peer_id_unref);
  g_clear_pointer (&self->input, g_byte_array_unref);
  g_clear_pointer (&self->output, g_byte_array_unref);
  g_clear_pointer (&self->sink, g_byte_array_unref);
  g_clear_error (&self->error);
  g_clear_error (&self->verify_error);
  g_clear_pointer (&self->remote_peer_id, punch_peer_id_unref);
  g_clear_object (&self->remote_public_key);
  g_clear_pointer (&self->alpn, g_free);
  g_free (self);
}

/* ------------------------------------------------------------------ */
/* Bytes in and out                                                   */
/* ------------------------------------------------------------------ */

/*
 * punch_tls_session_receive:
 * @self: a session
 * @ciphertext: (array length=len): bytes that arrived from the peer
 * @len: their number
 *
 * Queues bytes from the transport. Nothing is processed until the next
 * punch_tls_session_handshake() or punch_tls_session_read().
 */
void
punch_tls_session_receive (PunchTlsSession *self,
                           const guint8    *ciphertext,
                           gsize            len)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (ciphertext != NULL || len == 0);
  g_return_if_fail (!self->input_eof);

  punch_tls_session_keep_input (self);
  if (self->input_offset > 0 && self->input_offset == self->input->len)
    {
      g_byte_array_set_size (self->input, 0);
      self->input_offset = 0;
    }
  g_byte_array_append (self->input, ciphertext, len);
}

/*
 * punch_tls_session_receive_lent:
 * @self: a session
 * @ciphertext: (array length=len): bytes that arrived from the peer
 * @len: their number
 *
 * Like punch_tls_session_receive(), but without copying: the session reads
 * @ciphertext in place until punch_tls_session_keep_input(), which the
 * caller must call before @ciphertext changes or goes away (typically right
 * after punch_tls_session_read() said %PUNCH_TLS_WOULD_BLOCK); that copies
 * what the session has not consumed.
 */
void
punch_tls_session_receive_lent (PunchTlsSession *self,
                                const guint8    *ciphertext,
                                gsize            len)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (ciphertext != NULL || len == 0);
  g_return_if_fail (!self->input_eof);

  punch_tls_session_keep_input (self);
  self->lent = ciphertext;
  self->lent_len = len;
  self->lent_offset = 0;
}

/*
 * punch_tls_session_keep_input:
 * @self: a session
 *
 * Ends a punch_tls_session_receive_lent(): the bytes the session has not
 * read yet are copied into its own queue. Does nothing otherwise.
 */
void
punch_tls_session_keep_input (PunchTlsSession *self)
{
  g_return_if_fail (self != NULL);

  if (self->lent == NULL)
    return;
  if (self->lent_offset < self->lent_len)
    g_byte_array_append (self->input, self->lent + self->lent_offset,
                         (guint) (self->lent_len - self->lent_offset));
  self->lent = NULL;
  self->lent_len = 0;
  self->lent_offset = 0;
}

/*
 * punch_tls_session_receive_eof:
 * @self: a session
 *
 * Tells the session that the transport will deliver nothing more. Reading
 * past the queued bytes then fails with %PUNCH_ERROR_CLOSED unless the peer
 * sent close_notify first.
 */
void
punch_tls_session_receive_eof (PunchTlsSession *self)
{
  g_return_if_fail (self != NULL);

  self->input_eof = TRUE;
}

/*
 * punch_tls_session_pull_output:
 * @self: a session
 *
 * Takes the ciphertext the session has produced so far, to be sent to the
 * peer in order. Call it after every other call: failed handshakes also
 * produce an alert for the peer. Returns %NULL while an output sink is set
 * (punch_tls_session_set_output()).
 *
 * Returns: (transfer full) (nullable): the bytes, or %NULL if there are none
 */
GBytes *
punch_tls_session_pull_output (PunchTlsSession *self)
{
  GByteArray *output;

  g_return_val_if_fail (self != NULL, NULL);

  if (self->output->len == 0)
    return NULL;

  output = g_steal_pointer (&self->output);
  self->output = g_byte_array_new ();

  return g_byte_array_free_to_bytes (output);
}

/*
 * punch_tls_session_get_output_size:
 * @self: a session
 *
 * Returns: the number of bytes punch_tls_session_pull_output() would return
 */
gsize
punch_tls_session_get_output_size (PunchTlsSession *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->output->len;
}

/*
 * punch_tls_session_set_output:
 * @self: a session
 * @sink: (nullable): where to append ciphertext from now on, or %NULL for
 *   the session's own queue
 *
 * Makes the session append what it produces straight to @sink (it keeps a
 * reference until the next call or until it is freed), saving the copy
 * that punch_tls_session_pull_output() implies. Ciphertext still in the
 * session's queue is moved to @sink first, so order is kept. While a sink
 * is set, punch_tls_session_pull_output() returns %NULL and
 * punch_tls_session_get_output_size() 0.
 */
void
punch_tls_session_set_output (PunchTlsSession *self,
                              GByteArray      *sink)
{
  g_return_if_fail (self != NULL);

  if (sink == self->sink)
    return;
  if (sink != NULL)
    {
      g_byte_array_ref (sink);
      if (self->output->len > 0)
        {
          g_byte_array_append (sink, self->output->data, self->output->len);
          g_byte_array_set_size (self->output, 0);
        }
    }
  g_clear_pointer (&self->sink, g_byte_array_unref);
  self->sink = sink;
}

/* ------------------------------------------------------------------ */
/* Handshake, data, close                                             */
/* ------------------------------------------------------------------ */

static gboolean
handshake_finished (PunchTlsSession  *self,
                    GError          **error)
{
  gnutls_datum_t selected = { NULL, 0 };

  if (self->remote_peer_id == NULL)
    {
      /* Cannot happen: the server requires a certificate and both sides run
       * verify_peer() on the one they get. */
      g_clear_error (&self->error);
      self->error = g_error_new_literal (PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                                         "TLS handshake: the peer was not authenticated");
      gnutls_alert_send (self->session, GNUTLS_AL_FATAL, GNUTLS_A_CERTIFICATE_REQUIRED);
      return fail (self, error);
    }

  if (gnutls_alpn_get_selected_protocol (self->session, &selected) < 0 ||
      selected.size == 0)
    {
      g_clear_error (&self->error);
      self->error = g_error_new_literal (PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                                         "TLS handshake: no ALPN protocol was selected");
      gnutls_alert_send (self->session, GNUTLS_AL_FATAL, GNUTLS_A_NO_APPLICATION_PROTOCOL);
      return fail (self, error);
    }
  self->alpn = g_strndup ((const gchar *) selected.data, selected.size);
  self->state = STATE_ESTABLISHED;

  if (g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN) == FALSE)
    {
      g_autofree gchar *remote = punch_peer_id_to_string (self->remote_peer_id);
      g_autofree gchar *description = gnutls_session_get_desc (self->session);

      g_debug ("TLS %s: authenticated %s, ALPN %s, %s",
               self->role == PUNCH_TLS_ROLE_CLIENT ? "client" : "server",
               remote, self->alpn, description);
    }

  return TRUE;
}

/*
 * punch_tls_session_handshake:
 * @self: a session
 * @error: return location for a #GError
 *
 * Advances the handshake as far as the received bytes allow. Send the
 * output afterwards, whatever the result.
 *
 * Errors:
 * - the errors of punch_tls_certificate_verify_chain() for the peer's
 *   certificate (%PUNCH_ERROR_PEER_ID_MISMATCH when it is another peer
 *   than the expected one), prefixed with "Peer certificate refused"
 * - %PUNCH_ERROR_PROTOCOL: the peer aborted with an alert, offered no
 *   common ALPN protocol, sent no certificate or does not speak TLS 1.3
 * - %PUNCH_ERROR_CLOSED: the transport ended (punch_tls_session_receive_eof())
 *
 * Once it has failed, a session fails every call with the same error.
 *
 * Returns: %PUNCH_TLS_DONE once the handshake has finished (the remote peer
 *   id and ALPN protocol are then known), %PUNCH_TLS_WOULD_BLOCK if it needs
 *   more bytes from the peer, %PUNCH_TLS_ERROR on error
 */
PunchTlsStatus
punch_tls_session_handshake (PunchTlsSession  *self,
                             GError          **error)
{
  guint retries;

  g_return_val_if_fail (self != NULL, PUNCH_TLS_ERROR);
  g_return_val_if_fail (error == NULL || *error == NULL, PUNCH_TLS_ERROR);

  if (self->state == STATE_FAILED)
    {
      fail (self, error);
      return PUNCH_TLS_ERROR;
    }
  if (self->state == STATE_ESTABLISHED)
    return PUNCH_TLS_DONE;

  for (retries = 0; retries < MAX_RETRIES; retries++)
    {
      gsize before = input_available (self);
      int ret = gnutls_handshake (self->session);

      if (ret == GNUTLS_E_SUCCESS)
        return handshake_finished (self, error) ? PUNCH_TLS_DONE : PUNCH_TLS_ERROR;
      if (ret == GNUTLS_E_AGAIN)
        {
          /* GnuTLS only says so when the input ran dry, or after a message
           * it handled on its own with more input waiting. */
          if (input_available (self) > 0 && input_available (self) < before)
            {
              retries = 0;
              continue;
            }
          return PUNCH_TLS_WOULD_BLOCK;
        }
      if (ret == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal (ret))
        continue;

      fail_with_gnutls (self, ret, "handshake", error);
      return PUNCH_TLS_ERROR;
    }

  fail_with_gnutls (self, GNUTLS_E_INTERNAL_ERROR, "handshake", error);
  return PUNCH_TLS_ERROR;
}

/*
 * punch_tls_session_write:
 * @self: a session whose handshake has finished
 * @plaintext: (array length=len): application data
 * @len: its length
 * @error: return location for a #GError
 *
 * Encrypts @plaintext into records of at most 16 KiB, appended to the
 * output.
 *
 * Errors: %PUNCH_ERROR_FAILED before the handshake has finished,
 *   %PUNCH_ERROR_CLOSED after punch_tls_session_close(), or the error the
 *   session failed with.
 *
 * Returns: @len, or -1 on error
 */
gssize
punch_tls_session_write (PunchTlsSession  *self,
                         const guint8     *plaintext,
                         gsize             len,
                         GError          **error)
{
  gsize done = 0;
  guint retries = 0;

  g_return_val_if_fail (self != NULL, -1);
  g_return_val_if_fail (plaintext != NULL || len == 0, -1);
  g_return_val_if_fail (len <= G_MAXSSIZE, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  if (self->state == STATE_FAILED)
    {
      fail (self, error);
      return -1;
    }
  if (self->state != STATE_ESTABLISHED)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_FAILED,
                           "TLS write before the handshake has finished");
      return -1;
    }
  if (self->close_sent)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                           "TLS write after close");
      return -1;
    }

  while (done < len)
    {
      ssize_t ret = gnutls_record_send (self->session, plaintext + done, len - done);

      if (ret > 0)
        {
          done += (gsize) ret;
          retries = 0;
          continue;
        }
      /* The push function never blocks, so GNUTLS_E_AGAIN is not expected;
       * GnuTLS wants the same call repeated after either. */
      if ((ret == GNUTLS_E_INTERRUPTED || ret == GNUTLS_E_AGAIN) &&
          ++retries < MAX_RETRIES)
        continue;

      fail_with_gnutls (self, (int) ret, "write", error);
      return -1;
    }

  return (gssize) done;
}

/*
 * punch_tls_session_read:
 * @self: a session
 * @buffer: (array length=size) (out caller-allocates): where to put
 *   application data
 * @size: the size of @buffer, at least 1
 * @out_read: (out): the number of bytes put in @buffer
 * @error: return location for a #GError
 *
 * Decrypts received records. Call it until it returns
 * %PUNCH_TLS_WOULD_BLOCK after each punch_tls_session_receive(): GnuTLS may
 * hold decrypted data that the input queue no longer shows. If the
 * handshake has not finished, advances it first.
 *
 * Errors: those of punch_tls_session_handshake(); %PUNCH_ERROR_PROTOCOL
 *   if the peer aborts with an alert (a server refusing our certificate
 *   does so after our handshake has finished) or sends bad records;
 *   %PUNCH_ERROR_CLOSED if the transport ended without close_notify.
 *
 * Returns: %PUNCH_TLS_DONE with @out_read > 0, %PUNCH_TLS_WOULD_BLOCK if
 *   nothing can be read yet, %PUNCH_TLS_EOF once the peer has sent
 *   close_notify, %PUNCH_TLS_ERROR on error
 */
PunchTlsStatus
punch_tls_session_read (PunchTlsSession  *self,
                        guint8           *buffer,
                        gsize             size,
                        gsize            *out_read,
                        GError          **error)
{
  guint retries;

  g_return_val_if_fail (self != NULL, PUNCH_TLS_ERROR);
  g_return_val_if_fail (buffer != NULL && size > 0, PUNCH_TLS_ERROR);
  g_return_val_if_fail (out_read != NULL, PUNCH_TLS_ERROR);
  g_return_val_if_fail (error == NULL || *error == NULL, PUNCH_TLS_ERROR);

  *out_read = 0;

  if (self->state != STATE_ESTABLISHED)
    {
      PunchTlsStatus status = punch_tls_session_handshake (self, error);

      if (status != PUNCH_TLS_DONE)
        return status;
    }
  if (self->close_received)
    return PUNCH_TLS_EOF;

  for (retries = 0; retries < MAX_RETRIES; retries++)
    {
      gsize before = input_available (self);
      ssize_t ret = gnutls_record_recv (self->session, buffer, size);

      if (ret > 0)
        {
          *out_read = (gsize) ret;
          return PUNCH_TLS_DONE;
        }
      if (ret == 0)
        {
          self->close_received = TRUE;
          return PUNCH_TLS_EOF;
        }
      if (ret == GNUTLS_E_AGAIN)
        {
          /* After a post-handshake message (NewSessionTicket, KeyUpdate)
           * GnuTLS returns GNUTLS_E_AGAIN although more records may wait:
           * go on as long as it consumes input. */
          if (input_available (self) > 0 && input_available (self) < before)
            {
              retries = 0;
              continue;
            }
          return PUNCH_TLS_WOULD_BLOCK;
        }
      if (ret == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal ((int) ret))
        continue;

      fail_with_gnutls (self, (int) ret, "read", error);
      return PUNCH_TLS_ERROR;
    }

  fail_with_gnutls (self, GNUTLS_E_INTERNAL_ERROR, "read", error);
  return PUNCH_TLS_ERROR;
}

/*
 * punch_tls_session_close:
 * @self: a session
 * @error: return location for a #GError
 *
 * Sends close_notify: we will write nothing more, but can still read
 * until the peer closes too. Closing during the handshake sends
 * user_canceled and close_notify and fails the session with
 * %PUNCH_ERROR_CLOSED. Closing twice does nothing.
 *
 * Errors: the error the session failed with, if it had.
 *
 * Returns: %TRUE if the alert was queued in the output
 */
gboolean
punch_tls_session_close (PunchTlsSession  *self,
                         GError          **error)
{
  int ret;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->state == STATE_FAILED)
    return fail (self, error);
  if (self->close_sent)
    return TRUE;
  self->close_sent = TRUE;

  if (self->state == STATE_HANDSHAKING)
    {
      gnutls_alert_send (self->session, GNUTLS_AL_WARNING, GNUTLS_A_USER_CANCELED);
      gnutls_alert_send (self->session, GNUTLS_AL_WARNING, GNUTLS_A_CLOSE_NOTIFY);
      self->error = g_error_new_literal (PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                                         "TLS session closed during the handshake");
      self->state = STATE_FAILED;
      return TRUE;
    }

  ret = gnutls_bye (self->session, GNUTLS_SHUT_WR);
  if (ret < 0)
    return fail_with_gnutls (self, ret, "close", error);

  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Properties                                                         */
/* ------------------------------------------------------------------ */

/*
 * punch_tls_session_get_role:
 * @self: a session
 *
 * Returns: the role given at construction
 */
PunchTlsRole
punch_tls_session_get_role (PunchTlsSession *self)
{
  g_return_val_if_fail (self != NULL, PUNCH_TLS_ROLE_CLIENT);

  return self->role;
}

/*
 * punch_tls_session_is_established:
 * @self: a session
 *
 * Returns: %TRUE once the handshake has finished and as long as the
 *   session has not failed
 */
gboolean
punch_tls_session_is_established (PunchTlsSession *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->state == STATE_ESTABLISHED;
}

/*
 * punch_tls_session_get_local_peer_id:
 * @self: a session
 *
 * Returns: (transfer none): the peer id our certificate authenticates
 */
PunchPeerId *
punch_tls_session_get_local_peer_id (PunchTlsSession *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->local_peer_id;
}

/*
 * punch_tls_session_get_remote_peer_id:
 * @self: a session
 *
 * Returns: (transfer none) (nullable): the peer id the remote certificate
 *   authenticated, once it has been checked
 */
PunchPeerId *
punch_tls_session_get_remote_peer_id (PunchTlsSession *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->remote_peer_id;
}

/*
 * punch_tls_session_get_remote_public_key:
 * @self: a session
 *
 * Returns: (transfer none) (nullable): the remote host key, once the
 *   remote certificate has been checked
 */
PunchPublicKey *
punch_tls_session_get_remote_public_key (PunchTlsSession *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->remote_public_key;
}

/*
 * punch_tls_session_get_alpn:
 * @self: a session
 *
 * Returns: (nullable): the ALPN protocol selected, once the handshake has
 *   finished: "libp2p" (negotiate the muxer with multistream-select) or a
 *   muxer's protocol id
 */
const gchar *
punch_tls_session_get_alpn (PunchTlsSession *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->alpn;
}
