/* punch-connection.c: a libp2p connection (TCP, TLS 1.3, yamux) to one peer.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-connection-private.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "punch-enum-types.h"
#include "punch-error.h"
#include "punch-host-private.h"
#include "punch-multistream.h"
#include "punch-stream-private.h"
#include "punch-tls-session.h"

/**
 * PunchConnection:
 *
 * A connection to a remote peer, made by [method@Punch.Host.dial_async]
 * or accepted by a listener of [method@Punch.Host.listen].
 *
 * A TCP connection is upgraded as libp2p's connections/README.md says:
 * multistream-select agrees on the security protocol `/tls/1.0.0` (the
 * dialer proposes), the dialer runs the TLS 1.3 handshake as client, both
 * peers authenticate with the libp2p certificate extension, then yamux
 * `/yamux/1.0.0` multiplexes streams. The muxer is agreed through TLS's ALPN
 * (connections/inlined-muxer-negotiation.md) when both peers offer it,
 * otherwise by multistream-select inside TLS.
 *
 * Streams are opened with [method@Punch.Connection.open_stream_async]; the
 * peer's streams go to the handlers registered with
 * [method@Punch.Host.set_stream_handler].
 *
 * A connection closes when [method@Punch.Connection.close_async] or
 * [method@Punch.Connection.close] is called, when the peer closes it, or on
 * the first error of any layer (a protocol violation, a TLS alert, a
 * missed keepalive ping, a socket error); [signal@Punch.Connection::closed]
 * says why. A closed connection cannot be reopened: dial again.
 *
 * Since: 0.1
 */

/* Plaintext taken out of TLS per call: one TLS record. */
#define PLAINTEXT_SIZE (16 * 1024)

typedef enum {
  PHASE_SECURITY,     /* multistream-select for /tls/1.0.0 on the socket */
  PHASE_HANDSHAKE,    /* the TLS handshake */
  PHASE_MUXER,        /* multistream-select for /yamux/1.0.0 inside TLS */
  PHASE_OPEN,         /* yamux */
  PHASE_CLOSED,
} Phase;

struct _PunchConnection {
  GObject parent_instance;

  PunchHost *host;              /* not owned; NULL once detached */
  gpointer host_data;
  GMainContext *context;

  PunchDirection direction;
  Phase phase;
  PunchPeerId *expected_peer_id;
  PunchPeerId *remote_peer_id;
  PunchMultiaddr *local_address;
  PunchMultiaddr *remote_address;
  gchar *security_protocol;
  gchar *muxer_protocol;
  gboolean limited;
  gchar *description;

  /* Socket I/O: one read and at most one write outstanding. */
  GIOStream *transport;          /* TCP socket, or a relayed circuit stream */
  guint32 limit_duration;       /* seconds, 0: none */
  guint64 limit_data;           /* bytes, 0: none */
  GCancellable *cancellable;
  GSource *read_source;         /* socket readable; holds a reference */
  gboolean writing;             /* a write of write_buffer is outstanding */
  GByteArray *write_buffer;     /* being written; kept for reuse */
  GByteArray *out;              /* waiting for the write to finish; TLS
                                 * appends its records here directly */

  PunchMultistream *ms;         /* security, then muxer negotiation */
  PunchTlsSession *tls;
  PunchYamuxSession *yamux;
  GHashTable *streams;          /* yamux id -> PunchStream, not owned */
  gboolean negotiation_blocked; /* a stream's negotiation bytes wait for room */

  GSource *handshake_timer;
  GSource *yamux_timer;
  GSource *flush_source;
  GSource *linger_timer;

  gboolean processing_events;
  gboolean remote_go_away;
  gboolean remote_eof;
  gboolean closed;
  GError *close_reason;
  gboolean shutdown_sent;
  gboolean socket_closed;
  GPtrArray *close_tasks;
};

enum {
  PROP_0,
  PROP_REMOTE_PEER_ID,
  PROP_LOCAL_ADDRESS,
  PROP_REMOTE_ADDRESS,
  PROP_DIRECTION,
  PROP_LIMITED,
  PROP_SECURITY_PROTOCOL,
  PROP_MUXER_PROTOCOL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (PunchConnection, punch_connection, G_TYPE_OBJECT)

static void shut_down (PunchConnection *self,
                       GError          *reason,
                       gboolean         abort);
static void flush (PunchConnection *self);
static void start_read (PunchConnection *self);
static void maybe_finish (PunchConnection *self);
static void negotiation_failed (PunchConnection *self,
                                PunchStream     *stream,
                                GError          *error);

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static GSource *
add_timeout (PunchConnection *self,
             guint            timeout_ms,
             GSourceFunc      func,
             gpointer         data)
{
  GSource *source = g_timeout_source_new (timeout_ms);

  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, self->context);
  return source;
}

/* For logs: "to ADDRESS" or "from ADDRESS". */
static const gchar *
describe (PunchConnection *self)
{
  return self->description;
}

static gsize
queued_for_socket (PunchConnection *self)
{
  return self->out->len + (self->writing ? self->write_buffer->len : 0);
}

static void
take_tls_output (PunchConnection *self)
{
  g_autoptr(GBytes) bytes = NULL;

  if (self->tls == NULL)
    return;
  bytes = punch_tls_session_pull_output (self->tls);
  if (bytes != NULL)
    g_byte_array_append (self->out, g_bytes_get_data (bytes, NULL),
                         (guint) g_bytes_get_size (bytes));
}

/* Encrypts @bytes for the peer; on error the connection closes. */
static gboolean
send_plaintext (PunchConnection *self,
                GBytes          *bytes)
{
  g_autoptr(GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  if (punch_tls_session_write (self->tls, data, len, &error) < 0)
    {
      take_tls_output (self);
      shut_down (self, g_steal_pointer (&error), FALSE);
      return FALSE;
    }
  take_tls_output (self);
  return TRUE;
}

/* Encrypts what yamux queued, straight from its buffer into ours (the TLS
 * session's output sink); on error the connection closes. */
static gboolean
send_yamux_output (PunchConnection *self,
                   gboolean        *out_sent)
{
  g_autoptr(GError) error = NULL;
  gsize len = 0;
  const guint8 *data = punch_yamux_session_peek_output (self->yamux, &len);
  gboolean ok;

  *out_sent = data != NULL;
  if (data == NULL)
    return TRUE;
  ok = punch_tls_session_write (self->tls, data, len, &error) >= 0;
  punch_yamux_session_consume_output (self->yamux);
  take_tls_output (self);
  if (!ok)
    {
      shut_down (self, g_steal_pointer (&error), FALSE);
      return FALSE;
    }
  return TRUE;
}

/* Sends the multistream machine's output: raw before TLS, else inside. */
static gboolean
take_multistream_output (PunchConnection *self)
{
  g_autoptr(GBytes) bytes = punch_multistream_pull_output (self->ms);

  if (bytes == NULL)
    return TRUE;
  if (self->phase == PHASE_SECURITY)
    {
      g_byte_array_append (self->out, g_bytes_get_data (bytes, NULL),
                           (guint) g_bytes_get_size (bytes));
      return TRUE;
    }
  return send_plaintext (self, bytes);
}

/* ------------------------------------------------------------------ */
/* Timers                                                             */
/* ------------------------------------------------------------------ */

static gboolean
deadline_dispatch (GSource     *source,
                   GSourceFunc  callback,
                   gpointer     user_data)
{
  g_source_set_ready_time (source, -1);
  return callback (user_data);
}

static GSourceFuncs deadline_funcs = {
  NULL, NULL, deadline_dispatch, NULL, NULL, NULL,
};

static gboolean
on_yamux_deadline (gpointer data)
{
  PunchConnection *self = g_object_ref (data);
  g_autoptr(GError) error = NULL;

  if (self->yamux != NULL && !self->closed)
    {
      if (!punch_yamux_session_handle_timeout (self->yamux, g_get_monotonic_time (), &error))
        shut_down (self, g_steal_pointer (&error), FALSE);
      else
        flush (self);
    }
  g_object_unref (self);
  return G_SOURCE_CONTINUE;
}

/* Arms the timer for the yamux session's next deadline (keepalive ping,
 * ping timeout). */
static void
update_yamux_timer (PunchConnection *self)
{
  gint64 deadline;

  if (self->yamux == NULL || self->closed)
    return;

  deadline = punch_yamux_session_get_deadline (self->yamux);
  if (self->yamux_timer == NULL)
    {
      self->yamux_timer = g_source_new (&deadline_funcs, sizeof (GSource));
      g_source_set_static_name (self->yamux_timer, "PunchConnection yamux deadline");
      g_source_set_callback (self->yamux_timer, on_yamux_deadline, self, NULL);
      g_source_attach (self->yamux_timer, self->context);
    }
  g_source_set_ready_time (self->yamux_timer, deadline == G_MAXINT64 ? -1 : deadline);
}

static gboolean
on_handshake_timeout (gpointer data)
{
  PunchConnection *self = data;

  clear_source (&self->handshake_timer);
  shut_down (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                        "The connection upgrade timed out"),
             FALSE);
  return G_SOURCE_REMOVE;
}

static gboolean
on_linger_timeout (gpointer data)
{
  PunchConnection *self = g_object_ref (data);

  clear_source (&self->linger_timer);
  g_debug ("%s: the peer did not close its side in time", describe (self));
  shut_down (self, NULL, TRUE);
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

static gboolean
on_flush (gpointer data)
{
  PunchConnection *self = data;

  g_clear_pointer (&self->flush_source, g_source_unref);
  flush (self);
  return G_SOURCE_REMOVE;
}

/*
 * punch_connection_schedule_flush:
 * @self: a connection
 *
 * Moves the yamux session's output to the socket and handles its events
 * soon, from an idle callback (never from inside the caller).
 */
void
punch_connection_schedule_flush (PunchConnection *self)
{
  g_return_if_fail (PUNCH_IS_CONNECTION (self));

  if (self->flush_source != NULL || self->socket_closed)
    return;
  self->flush_source = g_idle_source_new ();
  g_source_set_priority (self->flush_source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (self->flush_source, "PunchConnection flush");
  g_source_set_callback (self->flush_source, on_flush, self, NULL);
  g_source_attach (self->flush_source, self->context);
}

/* ------------------------------------------------------------------ */
/* Streams                                                            */
/* ------------------------------------------------------------------ */

static void
stream_clear_negotiation (PunchStream *stream)
{
  clear_source (&stream->negotiation_timer);
  clear_source (&stream->cancel_source);
  g_clear_pointer (&stream->ms, punch_multistream_free);
}

/*
 * punch_connection_write_negotiation:
 * @self: a connection
 * @stream: one of its streams
 * @error: return location for a #GError
 *
 * Writes as much of the stream's pending multistream-select bytes as yamux
 * takes; once they are all out, the FIN of an earlier close_write follows.
 *
 * Returns: %FALSE if the stream or connection cannot be written
 */
gboolean
punch_connection_write_negotiation (PunchConnection  *self,
                                    PunchStream      *stream,
                                    GError          **error)
{
  g_autoptr(GError) local_error = NULL;
  GByteArray *out = stream->negotiation_output;
  gssize n;

  if (out == NULL || out->len == 0)
    return TRUE;
  if (self->yamux == NULL || self->closed)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED, "The connection is closed");
      return FALSE;
    }

  n = punch_yamux_session_write (self->yamux, stream->id, out->data, out->len, &local_error);
  if (n < 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                           local_error->message);
      return FALSE;
    }
  g_byte_array_remove_range (out, 0, (guint) n);
  if (out->len > 0)
    self->negotiation_blocked = TRUE;
  else if (stream->write_closed && !stream->reset)
    punch_yamux_session_close_stream (self->yamux, stream->id, NULL);
  punch_connection_schedule_flush (self);
  return TRUE;
}

static gboolean
queue_negotiation_output (PunchConnection  *self,
                          PunchStream      *stream,
                          GError          **error)
{
  g_autoptr(GBytes) bytes = punch_multistream_pull_output (stream->ms);

  if (bytes != NULL)
    {
      if (stream->negotiation_output == NULL)
        stream->negotiation_output = g_byte_array_new ();
      g_byte_array_append (stream->negotiation_output, g_bytes_get_data (bytes, NULL),
                           (guint) g_bytes_get_size (bytes));
    }
  return punch_connection_write_negotiation (self, stream, error);
}

/* Retries negotiation bytes that yamux had no room for. */
static void
retry_negotiation_output (PunchConnection *self)
{
  g_autoptr(GPtrArray) blocked = NULL;
  GHashTableIter iter;
  gpointer value;

  if (!self->negotiation_blocked)
    return;
  self->negotiation_blocked = FALSE;

  blocked = g_ptr_array_new_with_free_func (g_object_unref);
  g_hash_table_iter_init (&iter, self->streams);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      PunchStream *stream = value;

      if (stream->negotiation_output != NULL && stream->negotiation_output->len > 0)
        g_ptr_array_add (blocked, g_object_ref (stream));
    }

  for (guint i = 0; i < blocked->len && !self->closed; i++)
    {
      PunchStream *stream = g_ptr_array_index (blocked, i);
      GError *error = NULL;

      if (!punch_connection_write_negotiation (self, stream, &error))
        {
          if (stream->ms != NULL)
            negotiation_failed (self, stream, error);
          else
            g_error_free (error);
        }
    }
}

static void
stream_insert (PunchConnection *self,
               PunchStream     *stream)
{
  stream->in_table = TRUE;
  stream->held_by_connection = TRUE;
  g_hash_table_insert (self->streams, GUINT_TO_POINTER (stream->id), stream);
}

/*
 * punch_connection_forget_stream:
 * @self: a connection
 * @stream: a stream being disposed
 *
 * Removes @stream from the connection's table; whatever yamux still
 * delivers for it is discarded.
 */
void
punch_connection_forget_stream (PunchConnection *self,
                                PunchStream     *stream)
{
  g_return_if_fail (PUNCH_IS_CONNECTION (self));

  if (!stream->in_table)
    return;
  stream->in_table = FALSE;
  if (g_hash_table_lookup (self->streams, GUINT_TO_POINTER (stream->id)) == stream)
    g_hash_table_remove (self->streams, GUINT_TO_POINTER (stream->id));
  punch_connection_schedule_flush (self);
}

/*
 * punch_connection_discard_input:
 * @self: a connection
 * @stream_id: a yamux stream nobody reads
 *
 * Reads and drops what the stream received, so that the peer gets window
 * updates and the stream is released once both sides closed it.
 */
void
punch_connection_discard_input (PunchConnection *self,
                                guint32          stream_id)
{
  guint8 buffer[4096];
  gboolean eof = FALSE;

  g_return_if_fail (PUNCH_IS_CONNECTION (self));

  if (self->yamux == NULL || self->closed)
    return;
  while (punch_yamux_session_read (self->yamux, stream_id, buffer, sizeof buffer,
                                   &eof, NULL) > 0)
    ;
  punch_connection_schedule_flush (self);
}

/* Gives a negotiated stream to whoever waits for it; drops our reference. */
static void
hand_over (PunchConnection *self,
           PunchStream     *stream)
{
  stream->held_by_connection = FALSE;

  if (stream->open_task != NULL)
    {
      GTask *task = g_steal_pointer (&stream->open_task);

      g_task_return_pointer (task, stream, g_object_unref);
      g_object_unref (task);
      return;
    }

  if (self->host == NULL || !punch_host_dispatch_stream (self->host, stream))
    {
      /* The handler went away during the negotiation. */
      punch_stream_reset (stream);
    }
  g_object_unref (stream);
}

static void
negotiation_failed (PunchConnection *self,
                    PunchStream     *stream,
                    GError          *error)
{
  g_debug ("%s: stream %u: protocol negotiation failed: %s",
           describe (self), stream->id, error->message);

  stream_clear_negotiation (stream);
  if (!stream->reset)
    {
      stream->reset = TRUE;
      if (self->yamux != NULL && !self->closed)
        {
          punch_yamux_session_reset_stream (self->yamux, stream->id, NULL);
          punch_connection_schedule_flush (self);
        }
    }

  if (stream->open_task != NULL)
    {
      GTask *task = g_steal_pointer (&stream->open_task);

      g_task_return_error (task, error);
      g_object_unref (task);
    }
  else
    g_error_free (error);

  if (stream->held_by_connection)
    {
      stream->held_by_connection = FALSE;
      g_object_unref (stream);
    }
}

static void
negotiation_done (PunchConnection *self,
                  PunchStream     *stream)
{
  g_autoptr(GBytes) remaining = punch_multistream_steal_remaining (stream->ms);

  punch_stream_set_protocol (stream, punch_multistream_get_protocol (stream->ms), remaining);
  stream_clear_negotiation (stream);
  g_debug ("%s: stream %u (%s): %s", describe (self), stream->id,
           stream->direction == PUNCH_DIRECTION_OUTBOUND ? "outbound" : "inbound",
           stream->protocol);
  hand_over (self, stream);
}

/* Feeds what the stream received to its multistream machine (which may
 * drop the connection's reference to @stream: the caller holds one). */
static void
negotiate_held (PunchConnection *self,
                PunchStream     *stream)
{
  guint8 buffer[PUNCH_MULTISTREAM_MAX_MESSAGE];

  while (stream->ms != NULL && !self->closed)
    {
      GError *error = NULL;
      gboolean eof = FALSE;
      gssize n;

      n = punch_yamux_session_read (self->yamux, stream->id, buffer, sizeof buffer,
                                    &eof, &error);
      if (n < 0)
        {
          negotiation_failed (self, stream, error);
          return;
        }
      if (eof)
        stream->read_eof = TRUE;
      if (n > 0)
        {
          if (!punch_multistream_receive (stream->ms, buffer, (gsize) n, &error) ||
              !queue_negotiation_output (self, stream, &error))
            {
              negotiation_failed (self, stream, error);
              return;
            }
          if (punch_multistream_get_state (stream->ms) == PUNCH_MULTISTREAM_DONE)
            {
              negotiation_done (self, stream);
              return;
            }
          punch_connection_schedule_flush (self);
        }
      if (eof)
        {
          negotiation_failed (self, stream,
                              g_error_new_literal (PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                                                   "The peer closed the stream during "
                                                   "protocol negotiation"));
          return;
        }
      if (n == 0)
        return;
    }
}

static void
negotiate (PunchConnection *self,
           PunchStream     *stream)
{
  g_object_ref (stream);
  negotiate_held (self, stream);
  g_object_unref (stream);
}

static gboolean
on_negotiation_timeout (gpointer data)
{
  PunchStream *stream = data;
  g_autoptr(PunchConnection) self = g_object_ref (stream->connection);

  clear_source (&stream->negotiation_timer);
  negotiation_failed (self, stream,
                      g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                           "The stream's protocol negotiation timed out"));
  return G_SOURCE_REMOVE;
}

static gboolean
on_open_cancelled (GCancellable *cancellable,
                   gpointer      data)
{
  PunchStream *stream = data;
  g_autoptr(PunchConnection) self = g_object_ref (stream->connection);

  clear_source (&stream->cancel_source);
  negotiation_failed (self, stream,
                      g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                           "Opening the stream was cancelled"));
  return G_SOURCE_REMOVE;
}

static void
start_negotiation (PunchConnection *self,
                   PunchStream     *stream)
{
  GError *error = NULL;
  guint timeout = self->host != NULL ? punch_host_get_negotiation_timeout (self->host) : 0;

  if (timeout > 0)
    stream->negotiation_timer = add_timeout (self, timeout, on_negotiation_timeout, stream);
  punch_multistream_start (stream->ms);
  if (!queue_negotiation_output (self, stream, &error))
    negotiation_failed (self, stream, error);
}

static gboolean
match_protocol (const gchar *protocol,
                gpointer     user_data)
{
  PunchConnection *self = user_data;

  return self->host != NULL && punch_host_has_handler (self->host, protocol);
}

/* The peer opened a stream: negotiate its protocol as listener. */
static void
accept_stream (PunchConnection *self,
               guint32          id)
{
  PunchStream *stream;

  stream = punch_stream_new (self, id, PUNCH_DIRECTION_INBOUND);
  stream_insert (self, stream);
  stream->ms = punch_multistream_new_listener (match_protocol, self, NULL);
  start_negotiation (self, stream);
}

/* ------------------------------------------------------------------ */
/* Yamux events                                                       */
/* ------------------------------------------------------------------ */

static void
handle_event (PunchConnection *self,
              PunchYamuxEvent *event)
{
  PunchStream *stream = NULL;

  if (event->stream_id != 0)
    stream = g_hash_table_lookup (self->streams, GUINT_TO_POINTER (event->stream_id));

  switch (event->type)
    {
    case PUNCH_YAMUX_EVENT_STREAM_OPENED:
      accept_stream (self, event->stream_id);
      break;

    case PUNCH_YAMUX_EVENT_STREAM_READABLE:
    case PUNCH_YAMUX_EVENT_STREAM_REMOTE_CLOSED:
      if (stream == NULL || stream->read_closed)
        punch_connection_discard_input (self, event->stream_id);
      else if (stream->ms != NULL)
        negotiate (self, stream);
      /* Otherwise the stream's pollable sources see the new state. */
      break;

    case PUNCH_YAMUX_EVENT_STREAM_RESET:
      if (stream != NULL && !stream->reset)
        {
          stream->reset = TRUE;
          stream->reset_by_peer = TRUE;
          g_clear_pointer (&stream->pending, g_bytes_unref);
          if (stream->ms != NULL)
            negotiation_failed (self, stream,
                                g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                                     "The peer reset the stream during "
                                                     "protocol negotiation"));
        }
      break;

    case PUNCH_YAMUX_EVENT_STREAM_WRITABLE:
      break;

    case PUNCH_YAMUX_EVENT_PING_RTT:
      g_debug ("%s: yamux RTT %" G_GINT64_FORMAT " µs", describe (self), event->rtt_us);
      break;

    case PUNCH_YAMUX_EVENT_GO_AWAY:
      g_debug ("%s: the peer goes away (code %u)", describe (self), event->code);
      self->remote_go_away = TRUE;
      break;

    case PUNCH_YAMUX_EVENT_SESSION_ERROR:
      shut_down (self, g_steal_pointer (&event->error), FALSE);
      break;

    case PUNCH_YAMUX_EVENT_NONE:
    default:
      break;
    }
}

static void
process_events (PunchConnection *self)
{
  PunchYamuxEvent event;

  if (self->yamux == NULL || self->processing_events || self->closed)
    return;

  g_object_ref (self);
  self->processing_events = TRUE;
  while (!self->closed && punch_yamux_session_next_event (self->yamux, &event))
    {
      handle_event (self, &event);
      punch_yamux_event_clear (&event);
    }
  self->processing_events = FALSE;

  /* After the peer's GO_AWAY, close once every stream is done. */
  if (!self->closed && self->remote_go_away && punch_yamux_session_is_finished (self->yamux))
    shut_down (self, NULL, FALSE);
  g_object_unref (self);
}

/* ------------------------------------------------------------------ */
/* Upgrade                                                            */
/* ------------------------------------------------------------------ */

static gboolean
start_yamux (PunchConnection *self)
{
  PunchYamuxConfig config;

  punch_yamux_config_init (&config);
  config.max_output = PUNCH_CONNECTION_YAMUX_MAX_OUTPUT;

  self->yamux = punch_yamux_session_new (self->direction == PUNCH_DIRECTION_OUTBOUND, &config);
  /* Measure the RTT at once (as go-yamux does): receive-window auto-tuning
   * needs it, and the first keepalive ping is 30 s away. */
  punch_yamux_session_ping (self->yamux, g_get_monotonic_time (), NULL);
  self->muxer_protocol = g_strdup (PUNCH_YAMUX_PROTOCOL_ID);
  self->phase = PHASE_OPEN;
  clear_source (&self->handshake_timer);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MUXER_PROTOCOL]);

  if (g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN) == FALSE)
    {
      g_autofree gchar *peer = punch_peer_id_to_string (self->remote_peer_id);

      g_debug ("%s: connection open to %s (ALPN %s)", describe (self), peer,
               punch_tls_session_get_alpn (self->tls));
    }

  update_yamux_timer (self);
  if (self->host != NULL)
    punch_host_connection_upgraded (self->host, self);
  return !self->closed;
}

static gboolean
start_tls (PunchConnection *self)
{
  static const gchar * const default_alpn[] = {
    PUNCH_YAMUX_PROTOCOL_ID, PUNCH_TLS_ALPN_LIBP2P, NULL
  };
  g_autoptr(GError) error = NULL;
  const gchar * const *alpn;
  PunchTlsCertificate *certificate;

  if (self->host == NULL)
    {
      shut_down (self, g_error_new_literal (PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                                            "The host is gone"), FALSE);
      return FALSE;
    }

  certificate = punch_host_get_certificate (self->host, &error);
  alpn = punch_host_get_alpn (self->host);
  if (certificate != NULL)
    self->tls = punch_tls_session_new_with_certificate (self->direction == PUNCH_DIRECTION_OUTBOUND ?
                                                        PUNCH_TLS_ROLE_CLIENT : PUNCH_TLS_ROLE_SERVER,
                                                        certificate,
                                                        alpn != NULL ? alpn : default_alpn,
                                                        self->expected_peer_id,
                                                        g_get_real_time () / G_USEC_PER_SEC,
                                                        &error);
  if (self->tls == NULL)
    {
      shut_down (self, g_steal_pointer (&error), FALSE);
      return FALSE;
    }
  /* Records go straight into the socket's queue (swapped in start_write). */
  punch_tls_session_set_output (self->tls, self->out);

  self->phase = PHASE_HANDSHAKE;
  self->security_protocol = g_strdup (PUNCH_TLS_PROTOCOL_ID);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SECURITY_PROTOCOL]);
  return TRUE;
}

static gboolean
tls_established (PunchConnection *self)
{
  static const gchar * const muxers[] = { PUNCH_YAMUX_PROTOCOL_ID, NULL };
  const gchar *alpn = punch_tls_session_get_alpn (self->tls);

  self->remote_peer_id = punch_peer_id_ref (punch_tls_session_get_remote_peer_id (self->tls));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REMOTE_PEER_ID]);

  if (g_strcmp0 (alpn, PUNCH_YAMUX_PROTOCOL_ID) == 0)
    return start_yamux (self);

  if (g_strcmp0 (alpn, PUNCH_TLS_ALPN_LIBP2P) != 0)
    {
      shut_down (self, g_error_new (PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                                    "The peer chose the unknown ALPN protocol “%s”", alpn),
                 FALSE);
      return FALSE;
    }

  /* ALPN "libp2p": negotiate the muxer with multistream-select inside TLS. */
  self->phase = PHASE_MUXER;
  if (self->direction == PUNCH_DIRECTION_OUTBOUND)
    self->ms = punch_multistream_new_dialer (muxers);
  else
    self->ms = punch_multistream_new_listener_for_protocols (muxers);
  punch_multistream_start (self->ms);
  return take_multistream_output (self);
}

static void
feed_yamux (PunchConnection *self,
            const guint8    *data,
            gsize            len)
{
  g_autoptr(GError) error = NULL;

  if (!punch_yamux_session_receive (self->yamux, data, len, g_get_monotonic_time (), &error))
    shut_down (self, g_steal_pointer (&error), FALSE);
}

static void
handle_plaintext (PunchConnection *self,
                  const guint8    *data,
                  gsize            len)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) remaining = NULL;

  if (self->phase == PHASE_OPEN)
    {
      feed_yamux (self, data, len);
      return;
    }
  if (self->phase != PHASE_MUXER)
    return;

  if (!punch_multistream_receive (self->ms, data, len, &error))
    {
      g_prefix_error (&error, "Muxer negotiation: ");
      shut_down (self, g_steal_pointer (&error), FALSE);
      return;
    }
  if (!take_multistream_output (self) ||
      punch_multistream_get_state (self->ms) != PUNCH_MULTISTREAM_DONE)
    return;

  remaining = punch_multistream_steal_remaining (self->ms);
  g_clear_pointer (&self->ms, punch_multistream_free);
  if (start_yamux (self) && remaining != NULL)
    feed_yamux (self, g_bytes_get_data (remaining, NULL), g_bytes_get_size (remaining));
}

/* Scratch buffers: the one socket reads land in (PUNCH_CONNECTION_READ_SIZE)
 * and the one TLS records are decrypted into (PLAINTEXT_SIZE). What lands
 * there is handled (decrypted in place, fed to yamux, the rest copied)
 * before the next read, so the connections of a thread share one of each
 * instead of keeping their own, which a burst would leave resident for
 * the connection's life. A use that comes while the buffer is taken (a
 * nested main loop in a signal handler) gets a buffer of its own. */
typedef struct {
  guint8 *data;
  gboolean busy;
} SharedBuffer;

static void
shared_buffer_free (gpointer data)
{
  SharedBuffer *buffer = data;

  g_free (buffer->data);
  g_free (buffer);
}

static GPrivate thread_read_buffer = G_PRIVATE_INIT (shared_buffer_free);
static GPrivate thread_plaintext_buffer = G_PRIVATE_INIT (shared_buffer_free);

static guint8 *
shared_buffer_take (GPrivate *key,
                    gsize     size)
{
  SharedBuffer *buffer = g_private_get (key);

  if (buffer == NULL)
    {
      buffer = g_new0 (SharedBuffer, 1);
      buffer->data = g_malloc (size);
      g_private_set (key, buffer);
    }
  if (buffer->busy)
    return g_malloc (size);
  buffer->busy = TRUE;
  return buffer->data;
}

static void
shared_buffer_give_back (GPrivate *key,
                         guint8   *data)
{
  SharedBuffer *buffer = g_private_get (key);

  if (buffer != NULL && data == buffer->data)
    buffer->busy = FALSE;
  else
    g_free (data);
}

/* Runs the TLS session on what it received: the handshake, then records. */
static void
tls_pump (PunchConnection *self)
{
  g_autoptr(GError) error = NULL;
  PunchTlsStatus status;
  guint8 *plaintext;

  if (self->phase == PHASE_HANDSHAKE)
    {
      status = punch_tls_session_handshake (self->tls, &error);
      take_tls_output (self);
      if (status == PUNCH_TLS_ERROR)
        {
          shut_down (self, g_steal_pointer (&error), FALSE);
          return;
        }
      if (status != PUNCH_TLS_DONE || !tls_established (self))
        return;
    }

  plaintext = shared_buffer_take (&thread_plaintext_buffer, PLAINTEXT_SIZE);
  while (!self->closed)
    {
      gsize n = 0;

      status = punch_tls_session_read (self->tls, plaintext, PLAINTEXT_SIZE, &n, &error);
      if (status == PUNCH_TLS_DONE)
        {
          handle_plaintext (self, plaintext, n);
          continue;
        }
      take_tls_output (self);
      if (status == PUNCH_TLS_WOULD_BLOCK)
        break;
      if (status == PUNCH_TLS_EOF)
        {
          g_debug ("%s: the peer sent close_notify", describe (self));
          shut_down (self, NULL, FALSE);
          break;
        }
      /* A peer that said GO_AWAY may close without close_notify. */
      if (g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED) && self->remote_go_away)
        g_clear_error (&error);
      shut_down (self, g_steal_pointer (&error), FALSE);
      break;
    }
  shared_buffer_give_back (&thread_plaintext_buffer, plaintext);
  take_tls_output (self);
}

static void
handle_input (PunchConnection *self,
              const guint8    *data,
              gsize            len)
{
  g_autoptr(GError) error = NULL;

  if (self->phase == PHASE_SECURITY)
    {
      g_autoptr(GBytes) remaining = NULL;

      if (!punch_multistream_receive (self->ms, data, len, &error))
        {
          g_prefix_error (&error, "Security negotiation: ");
          shut_down (self, g_steal_pointer (&error), FALSE);
          return;
        }
      take_multistream_output (self);
      if (punch_multistream_get_state (self->ms) != PUNCH_MULTISTREAM_DONE)
        return;

      remaining = punch_multistream_steal_remaining (self->ms);
      g_clear_pointer (&self->ms, punch_multistream_free);
      if (!start_tls (self))
        return;
      if (remaining != NULL)
        punch_tls_session_receive (self->tls, g_bytes_get_data (remaining, NULL),
                                   g_bytes_get_size (remaining));
    }
  else if (self->tls != NULL)
    {
      /* Decrypted from the read buffer in place; only a partial record
       * left at its end is copied, before the next read overwrites it. */
      punch_tls_session_receive_lent (self->tls, data, len);
      tls_pump (self);
      punch_tls_session_keep_input (self->tls);
      return;
    }
  else
    return;

  tls_pump (self);
}

/* ------------------------------------------------------------------ */
/* Socket I/O                                                         */
/* ------------------------------------------------------------------ */

static void
complete_close_tasks (PunchConnection *self)
{
  g_autoptr(GPtrArray) tasks = g_steal_pointer (&self->close_tasks);

  self->close_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < tasks->len; i++)
    g_task_return_boolean (g_ptr_array_index (tasks, i), TRUE);
}

static void
close_socket (PunchConnection *self)
{
  if (self->socket_closed)
    return;

  g_debug ("%s: socket closed", describe (self));
  self->socket_closed = TRUE;
  clear_source (&self->linger_timer);
  clear_source (&self->flush_source);
  clear_source (&self->yamux_timer);
  clear_source (&self->handshake_timer);
  clear_source (&self->read_source);
  g_cancellable_cancel (self->cancellable);
  g_io_stream_close (self->transport, NULL, NULL);
  complete_close_tasks (self);
}

/* Half-closes the transport: a TCP shutdown, or a circuit stream's FIN. */
static gboolean
shutdown_write (PunchConnection *self)
{
  if (G_IS_SOCKET_CONNECTION (self->transport))
    return g_socket_shutdown (g_socket_connection_get_socket (G_SOCKET_CONNECTION (self->transport)),
                              FALSE, TRUE, NULL);
  if (PUNCH_IS_STREAM (self->transport))
    return punch_stream_close_write (PUNCH_STREAM (self->transport), NULL);
  return g_output_stream_close (g_io_stream_get_output_stream (self->transport), NULL, NULL);
}

/* After a close, once everything queued is written: shut the socket down
 * for writing and wait (a little) for the peer's end, so that it reads
 * our last bytes before the socket closes. */
static void
maybe_finish (PunchConnection *self)
{
  if (!self->closed || self->socket_closed || self->writing || self->out->len > 0)
    return;
  if (self->remote_eof)
    {
      close_socket (self);
      return;
    }
  if (self->shutdown_sent)
    return;

  self->shutdown_sent = TRUE;
  if (!shutdown_write (self))
    {
      close_socket (self);
      return;
    }
  self->linger_timer = add_timeout (self, PUNCH_CONNECTION_LINGER_MS, on_linger_timeout, self);
  start_read (self);
}

/* Empties the buffer just written for its next turn, unless a burst made
 * it large: an idle connection keeps at most about 1 MiB per buffer. */
static void
release_write_buffer (PunchConnection *self)
{
  if (self->write_buffer->len > PUNCH_CONNECTION_RETAINED_BUFFER)
    {
      g_byte_array_unref (self->write_buffer);
      self->write_buffer = g_byte_array_new ();
    }
  else
    g_byte_array_set_size (self->write_buffer, 0);
}

static void
on_written (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(PunchConnection) self = user_data;
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error);
  self->writing = FALSE;
  release_write_buffer (self);
  if (self->socket_closed)
    return;

  if (error != NULL)
    {
      g_debug ("%s: write failed: %s", describe (self), error->message);
      shut_down (self, g_steal_pointer (&error), TRUE);
      return;
    }

  flush (self);
  maybe_finish (self);
}

/* Two buffers take turns: out fills while write_buffer is written. */
static void
start_write (PunchConnection *self)
{
  GByteArray *filled;

  if (self->writing || self->socket_closed || self->out->len == 0)
    return;

  filled = self->out;
  self->out = self->write_buffer;
  self->write_buffer = filled;
  if (self->tls != NULL)
    punch_tls_session_set_output (self->tls, self->out);
  self->writing = TRUE;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (self->transport),
                                   filled->data, filled->len, G_PRIORITY_DEFAULT,
                                   self->cancellable, on_written, g_object_ref (self));
}

/* Moves yamux output through TLS to the socket while the socket's queue
 * is short, handling the events this produces. */
static void
flush (PunchConnection *self)
{
  g_object_ref (self);

  if (self->phase == PHASE_OPEN && !self->closed)
    {
      for (;;)
        {
          gboolean sent;

          retry_negotiation_output (self);
          process_events (self);
          if (self->closed || queued_for_socket (self) >= PUNCH_CONNECTION_SOCKET_HIGH_WATER)
            break;
          if (!send_yamux_output (self, &sent) || !sent)
            break;
        }
      update_yamux_timer (self);
    }

  start_write (self);
  g_object_unref (self);
}

/* Handles one read's result (@n bytes in @data); FALSE when reading must
 * stop. */
static gboolean
handle_read (PunchConnection *self,
             const guint8    *data,
             gssize           n,
             GError          *error)
{
  if (n < 0)
    {
      g_debug ("%s: read failed: %s", describe (self), error->message);
      shut_down (self, g_error_copy (error), TRUE);
      return FALSE;
    }

  if (n == 0)
    {
      self->remote_eof = TRUE;
      if (!self->closed && self->tls != NULL && self->phase != PHASE_SECURITY)
        {
          punch_tls_session_receive_eof (self->tls);
          tls_pump (self);
        }
      if (!self->closed)
        shut_down (self, self->remote_go_away ? NULL :
                   g_error_new_literal (PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                                        "The peer closed the connection"),
                   FALSE);
      maybe_finish (self);
      return FALSE;
    }

  if (!self->closed)
    {
      handle_input (self, data, (gsize) n);
      flush (self);
    }
  if (!self->closed && queued_for_socket (self) > PUNCH_CONNECTION_MAX_QUEUED)
    {
      shut_down (self, g_error_new (PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                                    "The peer does not read (%" G_GSIZE_FORMAT " bytes queued)",
                                    queued_for_socket (self)),
                 TRUE);
      return FALSE;
    }
  /* After a close, what still comes is dropped until the peer's end. */
  return !self->socket_closed && !self->remote_eof;
}

/* The socket is readable: drain it, but at most PUNCH_CONNECTION_READS_PER_WAKEUP
 * reads before other sources get their turn. */
static gboolean
on_readable (GObject  *stream,
             gpointer  user_data)
{
  g_autoptr(PunchConnection) self = g_object_ref (user_data);
  guint8 *buffer = shared_buffer_take (&thread_read_buffer, PUNCH_CONNECTION_READ_SIZE);
  gboolean go_on = TRUE;

  for (guint i = 0; i < PUNCH_CONNECTION_READS_PER_WAKEUP; i++)
    {
      g_autoptr(GError) error = NULL;
      gssize n;

      if (self->socket_closed)
        break;
      n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (stream),
                                                    buffer, PUNCH_CONNECTION_READ_SIZE,
                                                    NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      if (!handle_read (self, buffer, n, error))
        {
          clear_source (&self->read_source);
          go_on = FALSE;
          break;
        }
    }
  shared_buffer_give_back (&thread_read_buffer, buffer);
  return go_on ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* Watches the socket for input (one long-lived source), until its end. */
static void
start_read (PunchConnection *self)
{
  GInputStream *input;

  if (self->read_source != NULL || self->socket_closed || self->remote_eof)
    return;

  input = g_io_stream_get_input_stream (self->transport);
  self->read_source = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (input),
                                                              NULL);
  /* The source keeps the connection alive until the socket closes. */
  g_source_set_callback (self->read_source, G_SOURCE_FUNC (on_readable),
                         g_object_ref (self), g_object_unref);
  g_source_attach (self->read_source, self->context);
}

/* Sends what is queued without waiting, as far as the socket takes it. */
static void
send_now (PunchConnection *self)
{
  if (self->writing || self->out->len == 0 || self->socket_closed)
    return;
  g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (self->transport)),
                                              self->out->data, self->out->len, NULL, NULL);
  g_byte_array_set_size (self->out, 0);
}

/*
 * shut_down:
 * @reason: (transfer full) (nullable): why, %NULL for a clean close
 * @abort: close the socket at once instead of after the queued output
 *
 * Ends the connection: says goodbye (yamux GO_AWAY, TLS close_notify),
 * fails the streams, tells the host and emits ::closed.
 */
static void
shut_down (PunchConnection *self,
           GError          *reason,
           gboolean         abort)
{
  g_autoptr(GError) owned_reason = reason;
  GHashTableIter iter;
  gpointer value;
  g_autoptr(GPtrArray) streams = NULL;

  if (self->closed)
    {
      if (abort)
        {
          send_now (self);
          close_socket (self);
        }
      return;
    }

  g_object_ref (self);
  self->closed = TRUE;
  self->phase = PHASE_CLOSED;
  self->close_reason = g_steal_pointer (&owned_reason);
  clear_source (&self->handshake_timer);
  clear_source (&self->yamux_timer);
  clear_source (&self->flush_source);

  if (self->close_reason != NULL)
    g_debug ("%s: closing: %s", describe (self), self->close_reason->message);
  else
    g_debug ("%s: closing", describe (self));

  /* Goodbye: GO_AWAY (unless yamux already died, having queued its own),
   * then close_notify (or the handshake's alert). */
  if (self->yamux != NULL && self->tls != NULL && punch_tls_session_is_established (self->tls))
    {
      g_autoptr(GBytes) bytes = NULL;

      if (!punch_yamux_session_is_dead (self->yamux))
        punch_yamux_session_go_away (self->yamux,
                                     self->close_reason == NULL ? PUNCH_YAMUX_GO_AWAY_NORMAL :
                                     PUNCH_YAMUX_GO_AWAY_INTERNAL_ERROR, NULL);
      bytes = punch_yamux_session_pull_output (self->yamux);
      if (bytes != NULL)
        punch_tls_session_write (self->tls, g_bytes_get_data (bytes, NULL),
                                 g_bytes_get_size (bytes), NULL);
    }
  if (self->tls != NULL)
    punch_tls_session_close (self->tls, NULL);
  take_tls_output (self);

  /* Streams. */
  streams = g_ptr_array_new_with_free_func (g_object_unref);
  g_hash_table_iter_init (&iter, self->streams);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (streams, g_object_ref (value));
  for (guint i = 0; i < streams->len; i++)
    {
      PunchStream *stream = g_ptr_array_index (streams, i);

      punch_stream_connection_closed (stream, self->close_reason);
      if (stream->ms != NULL)
        negotiation_failed (self, stream, g_error_copy (stream->error));
    }

  /* The host, then the application. */
  if (self->host != NULL)
    punch_host_connection_closed (self->host, self, self->close_reason);
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0, self->close_reason);

  if (abort)
    {
      send_now (self);
      close_socket (self);
    }
  else
    {
      start_write (self);
      maybe_finish (self);
    }
  g_object_unref (self);
}

/* ------------------------------------------------------------------ */
/* GObject                                                            */
/* ------------------------------------------------------------------ */

static void
punch_connection_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  PunchConnection *self = PUNCH_CONNECTION (object);

  switch (prop_id)
    {
    case PROP_REMOTE_PEER_ID:
      g_value_set_boxed (value, self->remote_peer_id);
      break;
    case PROP_LOCAL_ADDRESS:
      g_value_set_boxed (value, self->local_address);
      break;
    case PROP_REMOTE_ADDRESS:
      g_value_set_boxed (value, self->remote_address);
      break;
    case PROP_DIRECTION:
      g_value_set_enum (value, self->direction);
      break;
    case PROP_LIMITED:
      g_value_set_boolean (value, self->limited);
      break;
    case PROP_SECURITY_PROTOCOL:
      g_value_set_string (value, self->security_protocol);
      break;
    case PROP_MUXER_PROTOCOL:
      g_value_set_string (value, self->muxer_protocol);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
punch_connection_dispose (GObject *object)
{
  PunchConnection *self = PUNCH_CONNECTION (object);

  /* Every stream and pending operation holds a reference, and the host
   * closes its connections before it drops them: this only happens to a
   * connection that never started. */
  self->closed = TRUE;
  self->host = NULL;
  if (self->transport != NULL)
    close_socket (self);

  G_OBJECT_CLASS (punch_connection_parent_class)->dispose (object);
}

static void
punch_connection_finalize (GObject *object)
{
  PunchConnection *self = PUNCH_CONNECTION (object);

  clear_source (&self->handshake_timer);
  clear_source (&self->yamux_timer);
  clear_source (&self->flush_source);
  clear_source (&self->linger_timer);
  g_clear_pointer (&self->ms, punch_multistream_free);
  g_clear_pointer (&self->tls, punch_tls_session_free);
  g_clear_pointer (&self->yamux, punch_yamux_session_free);
  g_clear_pointer (&self->streams, g_hash_table_unref);
  g_clear_pointer (&self->expected_peer_id, punch_peer_id_unref);
  g_clear_pointer (&self->remote_peer_id, punch_peer_id_unref);
  g_clear_pointer (&self->local_address, punch_multiaddr_unref);
  g_clear_pointer (&self->remote_address, punch_multiaddr_unref);
  g_clear_pointer (&self->security_protocol, g_free);
  g_clear_pointer (&self->muxer_protocol, g_free);
  g_clear_pointer (&self->description, g_free);
  g_clear_object (&self->transport);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->write_buffer, g_byte_array_unref);
  g_clear_pointer (&self->out, g_byte_array_unref);
  g_clear_pointer (&self->close_tasks, g_ptr_array_unref);
  g_clear_error (&self->close_reason);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (punch_connection_parent_class)->finalize (object);
}

static void
punch_connection_class_init (PunchConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = punch_connection_get_property;
  object_class->dispose = punch_connection_dispose;
  object_class->finalize = punch_connection_finalize;

  /**
   * PunchConnection:remote-peer-id:
   *
   * The peer at the other end, as its TLS certificate authenticated it;
   * %NULL until the connection is upgraded (a connection is only handed
   * out once it is).
   *
   * Since: 0.1
   */
  properties[PROP_REMOTE_PEER_ID] =
    g_param_spec_boxed ("remote-peer-id", NULL, NULL,
                        PUNCH_TYPE_PEER_ID,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PunchConnection:local-address:
   *
   * The local end of the connection, `/ip4/…/tcp/…` or `/ip6/…/tcp/…`.
   *
   * Since: 0.1
   */
  properties[PROP_LOCAL_ADDRESS] =
    g_param_spec_boxed ("local-address", NULL, NULL,
                        PUNCH_TYPE_MULTIADDR,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PunchConnection:remote-address:
   *
   * The remote end of the connection as this host sees it, without a
   * `/p2p` component: for an inbound connection, the address identify
   * reports to the peer as its observed address.
   *
   * Since: 0.1
   */
  properties[PROP_REMOTE_ADDRESS] =
    g_param_spec_boxed ("remote-address", NULL, NULL,
                        PUNCH_TYPE_MULTIADDR,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PunchConnection:direction:
   *
   * Whether this host dialed the connection or accepted it. The dialer is
   * the multistream-select initiator, the TLS client and the yamux client
   * (odd stream ids).
   *
   * Since: 0.1
   */
  properties[PROP_DIRECTION] =
    g_param_spec_enum ("direction", NULL, NULL,
                       PUNCH_TYPE_DIRECTION, PUNCH_DIRECTION_OUTBOUND,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PunchConnection:limited:
   *
   * Whether the connection is limited in time or data, as relayed
   * connections are. TCP connections are not.
   *
   * Since: 0.1
   */
  properties[PROP_LIMITED] =
    g_param_spec_boolean ("limited", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PunchConnection:security-protocol:
   *
   * The security protocol negotiated: `/tls/1.0.0`.
   *
   * Since: 0.1
   */
  properties[PROP_SECURITY_PROTOCOL] =
    g_param_spec_string ("security-protocol", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PunchConnection:muxer-protocol:
   *
   * The stream multiplexer negotiated: `/yamux/1.0.0`.
   *
   * Since: 0.1
   */
  properties[PROP_MUXER_PROTOCOL] =
    g_param_spec_string ("muxer-protocol", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PunchConnection::closed:
   * @self: the connection
   * @reason: (nullable): why it closed: %NULL when it was closed locally or
   *   the peer closed it cleanly (yamux GO_AWAY or TLS close_notify),
   *   else the error that ended it
   *
   * Emitted once, when the connection closes. Its streams fail from then
   * on; the socket itself closes a moment later, once the goodbye frames
   * are written.
   *
   * Since: 0.1
   */
  signals[SIGNAL_CLOSED] =
    g_signal_new ("closed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
punch_connection_init (PunchConnection *self)
{
  self->phase = PHASE_SECURITY;
  self->cancellable = g_cancellable_new ();
  self->out = g_byte_array_new ();
  self->write_buffer = g_byte_array_new ();
  self->streams = g_hash_table_new (g_direct_hash, g_direct_equal);
  self->close_tasks = g_ptr_array_new_with_free_func (g_object_unref);
}

/* ------------------------------------------------------------------ */
/* Internal API                                                       */
/* ------------------------------------------------------------------ */

static PunchMultiaddr *
socket_address_to_multiaddr (GSocketAddress  *address,
                             GError         **error)
{
  if (!G_IS_INET_SOCKET_ADDRESS (address))
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                           "Not an IP socket");
      return NULL;
    }
  return punch_multiaddr_new_from_inet_socket_address (G_INET_SOCKET_ADDRESS (address),
                                                       PUNCH_MULTIADDR_PROTOCOL_TCP);
}

/* The part of construction both kinds of transport share. */
static PunchConnection *
connection_new (PunchHost      *host,
                GIOStream      *transport,
                PunchDirection  direction,
                PunchPeerId    *expected_peer_id,
                PunchMultiaddr *local_address,
                PunchMultiaddr *remote_address)
{
  g_autofree gchar *remote_text = NULL;
  PunchConnection *self;

  self = g_object_new (PUNCH_TYPE_CONNECTION, NULL);
  self->host = host;
  self->context = g_main_context_ref (punch_host_get_context (host));
  self->direction = direction;
  self->transport = g_object_ref (transport);
  self->local_address = punch_multiaddr_ref (local_address);
  self->remote_address = punch_multiaddr_ref (remote_address);
  if (expected_peer_id != NULL)
    self->expected_peer_id = punch_peer_id_ref (expected_peer_id);

  remote_text = punch_multiaddr_to_string (self->remote_address);
  self->description = g_strdup_printf ("%s %s",
                                       direction == PUNCH_DIRECTION_OUTBOUND ? "to" : "from",
                                       remote_text);
  return self;
}

/*
 * punch_connection_new:
 * @host: the host the connection belongs to (not referenced)
 * @socket: a connected TCP socket
 * @direction: whether @host dialed it
 * @expected_peer_id: (nullable): for a dial, the peer that must answer
 * @error: return location for a #GError
 *
 * Wraps @socket; punch_connection_start() begins the upgrade.
 *
 * Returns: (transfer full) (nullable): the connection, or %NULL if the
 *   socket's addresses cannot be read
 */
PunchConnection *
punch_connection_new (PunchHost          *host,
                      GSocketConnection  *socket,
                      PunchDirection      direction,
                      PunchPeerId        *expected_peer_id,
                      GError            **error)
{
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GSocketAddress) remote = NULL;
  g_autoptr(PunchMultiaddr) local_address = NULL;
  g_autoptr(PunchMultiaddr) remote_address = NULL;

  g_return_val_if_fail (PUNCH_IS_HOST (host), NULL);
  g_return_val_if_fail (G_IS_SOCKET_CONNECTION (socket), NULL);

  local = g_socket_connection_get_local_address (socket, error);
  if (local == NULL)
    return NULL;
  remote = g_socket_connection_get_remote_address (socket, error);
  if (remote == NULL)
    return NULL;
  local_address = socket_address_to_multiaddr (local, error);
  if (local_address == NULL)
    return NULL;
  remote_address = socket_address_to_multiaddr (remote, error);
  if (remote_address == NULL)
    return NULL;

  /* Small multistream and handshake messages go out at once. */
  g_socket_set_option (g_socket_connection_get_socket (socket), IPPROTO_TCP, TCP_NODELAY, 1, NULL);

  return connection_new (host, G_IO_STREAM (socket), direction, expected_peer_id,
                         local_address, remote_address);
}

/*
 * punch_connection_new_for_transport:
 * @host: the host the connection belongs to (not referenced)
 * @transport: a byte stream to the peer whose input and output are
 *   pollable (a relayed circuit: a #PunchStream)
 * @direction: whether @host initiated it (it then plays the TLS client)
 * @expected_peer_id: (nullable): the peer that must answer (required
 *   for an outbound connection: a relay must not be able to substitute
 *   another peer)
 * @local_address: this end's address
 * @remote_address: the peer's address (for a circuit,
 *   `/…/p2p/RELAY/p2p-circuit/p2p/PEER` as seen from here)
 * @limit_duration: seconds the transport is limited to, 0 for none
 * @limit_data: bytes the transport is limited to, 0 for none
 *
 * Wraps @transport; punch_connection_start() begins the upgrade, exactly
 * as over TCP (multistream-select, libp2p TLS, yamux), so the
 * intermediary sees only ciphertext. A connection with a limit is
 * [property@Punch.Connection:limited].
 *
 * Returns: (transfer full): the connection
 */
PunchConnection *
punch_connection_new_for_transport (PunchHost      *host,
                                    GIOStream      *transport,
                                    PunchDirection  direction,
                                    PunchPeerId    *expected_peer_id,
                                    PunchMultiaddr *local_address,
                                    PunchMultiaddr *remote_address,
                                    guint32         limit_duration,
                                    guint64         limit_data)
{
  PunchConnection *self;

  g_return_val_if_fail (PUNCH_IS_HOST (host), NULL);
  g_return_val_if_fail (G_IS_IO_STREAM (transport), NULL);
  g_return_val_if_fail (G_IS_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (transport)), NULL);
  g_return_val_if_fail (G_IS_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (transport)), NULL);
  g_return_val_if_fail (direction == PUNCH_DIRECTION_INBOUND || expected_peer_id != NULL, NULL);
  g_return_val_if_fail (local_address != NULL && remote_address != NULL, NULL);

  self = connection_new (host, transport, direction, expected_peer_id,
                         local_address, remote_address);
  self->limit_duration = limit_duration;
  self->limit_data = limit_data;
  self->limited = limit_duration > 0 || limit_data > 0;
  return self;
}

/*
 * punch_connection_start:
 * @self: a connection from punch_connection_new()
 *
 * Starts the upgrade: multistream-select for the security protocol, with
 * the host's handshake timeout. The host learns the outcome through
 * punch_host_connection_upgraded() or punch_host_connection_closed().
 */
void
punch_connection_start (PunchConnection *self)
{
  static const gchar * const security[] = { PUNCH_TLS_PROTOCOL_ID, NULL };
  guint timeout;

  g_return_if_fail (PUNCH_IS_CONNECTION (self));
  g_return_if_fail (self->ms == NULL && self->phase == PHASE_SECURITY);

  g_object_ref (self);
  g_debug ("%s: upgrading", describe (self));

  timeout = self->host != NULL ? punch_host_get_handshake_timeout (self->host) : 0;
  if (timeout > 0)
    self->handshake_timer = add_timeout (self, timeout, on_handshake_timeout, self);

  if (self->direction == PUNCH_DIRECTION_OUTBOUND)
    self->ms = punch_multistream_new_dialer (security);
  else
    self->ms = punch_multistream_new_listener_for_protocols (security);
  punch_multistream_start (self->ms);
  take_multistream_output (self);
  start_read (self);
  flush (self);
  g_object_unref (self);
}

/*
 * punch_connection_detach_host:
 * @self: a connection
 *
 * Forgets the host (which is going away): no more handlers or reports.
 */
void
punch_connection_detach_host (PunchConnection *self)
{
  g_return_if_fail (PUNCH_IS_CONNECTION (self));

  self->host = NULL;
}

void
punch_connection_set_host_data (PunchConnection *self,
                                gpointer         data)
{
  g_return_if_fail (PUNCH_IS_CONNECTION (self));

  self->host_data = data;
}

gpointer
punch_connection_get_host_data (PunchConnection *self)
{
  g_return_val_if_fail (PUNCH_IS_CONNECTION (self), NULL);

  return self->host_data;
}

/* Upgraded and not closed. */
gboolean
punch_connection_is_open (PunchConnection *self)
{
  g_return_val_if_fail (PUNCH_IS_CONNECTION (self), FALSE);

  return self->phase == PHASE_OPEN && !self->closed;
}

/* Open, and the peer did not say GO_AWAY: new streams can be opened. */
gboolean
punch_connection_accepts_streams (PunchConnection *self)
{
  g_return_val_if_fail (PUNCH_IS_CONNECTION (self), FALSE);

  return punch_connection_is_open (self) && !self->remote_go_away;
}

/* The yamux session while the connection is open, else NULL. */
PunchYamuxSession *
punch_connection_get_yamux (PunchConnection *self)
{
  g_return_val_if_fail (PUNCH_IS_CONNECTION (self), NULL);

  return punch_connection_is_open (self) ? self->yamux : NULL;
}

/* Bytes waiting to go out: what back-pressure bounds. */
gsize
punch_connection_get_queued_bytes (PunchConnection *self)
{
  gsize queued;

  g_return_val_if_fail (PUNCH_IS_CONNECTION (self), 0);

  queued = queued_for_socket (self);
  if (self->yamux != NULL)
    queued += punch_yamux_session_get_output_size (self->yamux);
  if (self->tls != NULL)
    queued += punch_tls_session_get_output_size (self->tls);
  return queued;
}

/* The ALPN protocol TLS agreed on, once known. */
const gchar *
punch_connection_get_alpn (PunchConnection *self)
{
  g_return_val_if_fail (PUNCH_IS_CONNECTION (self), NULL);

  return self->tls != NULL ? punch_tls_session_get_alpn (self->tls) : NULL;
}

/* Test hook: sends @data to the peer inside TLS, between yamux frames. */
gboolean
punch_connection_inject_plaintext (PunchConnection  *self,
                                   const guint8     *data,
                                   gsize             len,
                                   GError          **error)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_val_if_fail (PUNCH_IS_CONNECTION (self), FALSE);

  if (!punch_connection_is_open (self))
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED, "The connection is not open");
      return FALSE;
    }
  bytes = g_bytes_new (data, len);
  if (!send_plaintext (self, bytes))
    return FALSE;
  start_write (self);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Public API                                                         */
/* ------------------------------------------------------------------ */

/**
 * punch_connection_get_remote_peer_id:
 * @self: a connection
 *
 * Gets the peer at the other end, as its TLS certificate authenticated it.
 *
 * Returns: (transfer none) (nullable): the remote peer id; %NULL only
 *   before the upgrade finished
 *
 * Since: 0.1
 */
PunchPeerId *
punch_connection_get_remote_peer_id (PunchConnection *self)
{
  g_return_val_if_fail (PUNCH_IS_CONNECTION (self), NULL);

  return self->remote_peer_id;
}

/**
 * punch_connection_get_local_address:
 * @self: a connection
 *
 * Gets the local end of the connection.
 *
 * Returns: (transfer none): the local address, `/ip4/…/tcp/…` or
 *   `/ip6/…/tcp/…`
 *
 * Since: 0.1
 */
PunchMultiaddr *
punch_connection_get_local_address (PunchConnection *self)
{
  g_return_val_if_fail (PUNCH_IS_CONNECTION (self), NULL);

  return self->local_address;
}

/**
 * punch_connection_get_remote_address:
 * @self: a connection
 *
 * Gets the remote end of the connection as this host sees it (without a
 * `/p2p` component): for an inbound connection, the peer's observed
 * address.
 *
 * Returns: (transfer none): the remote address
 *
 * Since: 0.1
 */
PunchMultiaddr *
punch_connection_get_remote_address (PunchConnection *self)
{
  g_return_val_if_fail (PUNCH_IS_CONNECTION (self), NULL);

  return self->remote_address;
}

/**
 * punch_connection_get_direction:
 * @self: a connection
 *
 * Gets whether this host dialed the connection or accepted it.
 *
 * Returns: the direction
 *
 * Since: 0.1
 */
PunchDirection
punch_connection_get_direction (PunchConnection *self)
{
  g_return_val_if_fail (PUNCH_IS_CONNECTION (self), PUNCH_DIRECTION_OUTBOUND);

  return self->direction;
}

/**
 * punch_connection_is_limited:
 * @self: a connection
 *
 * Gets [property@Punch.Connection:limited].
 *
 * Returns: %TRUE for a connection limited in time or data (relayed)
 *
 * Since: 0.1
 */
gboolean
punch_connection_is_limited (PunchConnection *self)
{
  g_return_val_if_fail (PUNCH_IS_CONNECTION (self), FALSE);

  return self->limited;
}

/**
 * punch_connection_get_limit_duration:
 * @self: a connection
 *
 * Gets how long the connection may last, as its relay announced it
 * (circuit relay v2 `Limit.duration`).
 *
 * Returns: seconds, or 0 when the connection is not limited in time
 *
 * Since: 0.1
 */
guint32
punch_connection_get_limit_duration (PunchConnection *self)
{
  g_return_val_if_fail (PUNCH_IS_CONNECTION (self), 0);

  return self->limit_duration;
}

/**
 * punch_connection_get_limit_data:
 * @self: a connection
 *
 * Gets how many bytes the connection may carry in each direction, as its
 * relay announced it (circuit relay v2 `Limit.data`).
 *
 * Returns: bytes, or 0 when the connection is not limited in data
 *
 * Since: 0.1
 */
guint64
punch_connection_get_limit_data (PunchConnection *self)
{
  g_return_val_if_fail (PUNCH_IS_CONNECTION (self), 0);

  return self->limit_data;
}

/**
 * punch_connection_get_security_protocol:
 * @self: a connection
 *
 * Gets the security protocol negotiated.
 *
 * Returns: (nullable): `/tls/1.0.0`, or %NULL before it is agreed
 *
 * Since: 0.1
 */
const gchar *
punch_connection_get_security_protocol (PunchConnection *self)
{
  g_return_val_if_fail (PUNCH_IS_CONNECTION (self), NULL);

  return self->security_protocol;
}

/**
 * punch_connection_get_muxer_protocol:
 * @self: a connection
 *
 * Gets the stream multiplexer negotiated.
 *
 * Returns: (nullable): `/yamux/1.0.0`, or %NULL before it is agreed
 *
 * Since: 0.1
 */
const gchar *
punch_connection_get_muxer_protocol (PunchConnection *self)
{
  g_return_val_if_fail (PUNCH_IS_CONNECTION (self), NULL);

  return self->muxer_protocol;
}

/**
 * punch_connection_is_closed:
 * @self: a connection
 *
 * Gets whether the connection has closed
 * ([signal@Punch.Connection::closed] was emitted).
 *
 * Returns: %TRUE once closed
 *
 * Since: 0.1
 */
gboolean
punch_connection_is_closed (PunchConnection *self)
{
  g_return_val_if_fail (PUNCH_IS_CONNECTION (self), TRUE);

  return self->closed;
}

/**
 * punch_connection_open_stream_async:
 * @self: an open connection
 * @protocol_ids: (array zero-terminated=1): the protocols to propose, most
 *   preferred first
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the stream is ready or failed
 * @user_data: (closure): data for @callback
 *
 * Opens a yamux stream and negotiates its protocol with multistream-select
 * (as initiator, proposing @protocol_ids one after the other). The stream
 * is handed out once the peer accepted a protocol, so that nothing written
 * can be lost to a refusal; bytes the peer sent right after its answer are
 * the first the stream reads.
 *
 * The negotiation is bounded by [property@Punch.Host:negotiation-timeout].
 *
 * Since: 0.1
 */
void
punch_connection_open_stream_async (PunchConnection     *self,
                                    const gchar * const *protocol_ids,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  PunchStream *stream;
  guint32 id;

  g_return_if_fail (PUNCH_IS_CONNECTION (self));
  g_return_if_fail (protocol_ids != NULL && protocol_ids[0] != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, punch_connection_open_stream_async);

  for (guint i = 0; protocol_ids[i] != NULL; i++)
    if (!punch_multistream_is_valid_protocol (protocol_ids[i]))
      {
        g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                                 "“%s” is not a valid protocol id", protocol_ids[i]);
        return;
      }
  if (!punch_connection_is_open (self))
    {
      g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                               "The connection is not open");
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  id = punch_yamux_session_open_stream (self->yamux, &error);
  if (id == 0)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  stream = punch_stream_new (self, id, PUNCH_DIRECTION_OUTBOUND);
  stream_insert (self, stream);
  stream->open_task = g_object_ref (task);
  stream->ms = punch_multistream_new_dialer (protocol_ids);
  if (cancellable != NULL)
    {
      stream->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (stream->cancel_source, G_SOURCE_FUNC (on_open_cancelled),
                             stream, NULL);
      g_source_attach (stream->cancel_source, self->context);
    }
  start_negotiation (self, stream);
  punch_connection_schedule_flush (self);
}

/**
 * punch_connection_open_stream_finish:
 * @self: a connection
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Punch.Connection.open_stream_async].
 *
 * Errors: %PUNCH_ERROR_UNSUPPORTED if the peer refused every protocol
 * ("na"); %PUNCH_ERROR_MALFORMED for an invalid protocol id;
 * %PUNCH_ERROR_CLOSED if the connection is (or became) closed;
 * %PUNCH_ERROR_TOO_LARGE if the connection has as many streams as yamux
 * allows (256) or too many the peer has not acknowledged;
 * %PUNCH_ERROR_PROTOCOL if the peer broke multistream-select;
 * %G_IO_ERROR_CONNECTION_CLOSED if the peer reset the stream;
 * %G_IO_ERROR_TIMED_OUT after the negotiation timeout;
 * %G_IO_ERROR_CANCELLED.
 *
 * Returns: (transfer full): the stream, or %NULL on error
 *
 * Since: 0.1
 */
PunchStream *
punch_connection_open_stream_finish (PunchConnection  *self,
                                     GAsyncResult     *result,
                                     GError          **error)
{
  g_return_val_if_fail (PUNCH_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * punch_connection_close_async:
 * @self: a connection
 * @cancellable: (nullable): a #GCancellable (closing goes on anyway)
 * @callback: (scope async): called once the socket is closed
 * @user_data: (closure): data for @callback
 *
 * Closes the connection gracefully: sends yamux GO_AWAY and TLS
 * close_notify, emits [signal@Punch.Connection::closed] (with a %NULL
 * reason) and fails the open streams with %PUNCH_ERROR_CLOSED, then
 * writes what is queued, shuts the socket down for writing, and closes it
 * when the peer closes its side (or after 2 seconds). Closing a closed
 * connection just waits for its socket to close.
 *
 * Since: 0.1
 */
void
punch_connection_close_async (PunchConnection     *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (PUNCH_IS_CONNECTION (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, punch_connection_close_async);
  g_task_set_check_cancellable (task, FALSE);

  if (self->socket_closed)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_ptr_array_add (self->close_tasks, g_steal_pointer (&task));
  shut_down (self, NULL, FALSE);
}

/**
 * punch_connection_close_finish:
 * @self: a connection
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Punch.Connection.close_async].
 *
 * Returns: %TRUE (closing cannot fail)
 *
 * Since: 0.1
 */
gboolean
punch_connection_close_finish (PunchConnection  *self,
                               GAsyncResult     *result,
                               GError          **error)
{
  g_return_val_if_fail (PUNCH_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * punch_connection_close:
 * @self: a connection
 *
 * Closes the connection at once: like
 * [method@Punch.Connection.close_async], but the goodbye frames are only
 * sent if the socket takes them without waiting, and the socket is closed
 * before this returns.
 *
 * Since: 0.1
 */
void
punch_connection_close (PunchConnection *self)
{
  g_return_if_fail (PUNCH_IS_CONNECTION (self));

  shut_down (self, NULL, TRUE);
}
