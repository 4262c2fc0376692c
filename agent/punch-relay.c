/* punch-relay.c: circuit relay v2 on PunchHost: the relay service and the client functions.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-relay.h"

#include "punch-error.h"
#include "punch-framing.h"
#include "punch-relay-core.h"
#include "punch-stream-private.h"
#include "punch-yamux-session.h"

/* A hop or stop request that does not complete in this time is reset
 * (go-libp2p: one minute per stream). */
#define REQUEST_TIMEOUT_MS 60000

/**
 * punch_relay_error_quark:
 *
 * The quark of the %PUNCH_RELAY_ERROR domain.
 *
 * Returns: the error domain quark
 *
 * Since: 0.1
 */
G_DEFINE_QUARK (punch-relay-error-quark, punch_relay_error)

static void
set_timer (GSource     **timer,
           guint         ms,
           GSourceFunc   func,
           gpointer      data)
{
  if (*timer != NULL)
    {
      g_source_destroy (*timer);
      g_source_unref (*timer);
    }
  *timer = g_timeout_source_new (ms);
  g_source_set_callback (*timer, func, data, NULL);
  g_source_attach (*timer, g_main_context_get_thread_default ());
}

static void
clear_timer (GSource **timer)
{
  if (*timer != NULL)
    {
      g_source_destroy (*timer);
      g_clear_pointer (timer, g_source_unref);
    }
}

static GInputStream *
input_of (PunchStream *stream)
{
  return g_io_stream_get_input_stream (G_IO_STREAM (stream));
}

static GOutputStream *
output_of (PunchStream *stream)
{
  return g_io_stream_get_output_stream (G_IO_STREAM (stream));
}

/* Writes @message framed, half-closes and drops @stream (the last
 * reference closes it). */
static void
on_final_written (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  PunchStream *stream = user_data;
  g_autoptr(GError) error = NULL;

  if (!punch_framing_write_finish (G_OUTPUT_STREAM (source), result, &error) ||
      !punch_stream_close_write (stream, &error))
    {
      g_debug ("relay: writing a final status: %s", error->message);
      punch_stream_reset (stream);
    }
  g_object_unref (stream);
}

static void
write_final (PunchStream *stream,
             GBytes      *message)
{
  punch_framing_write_async (output_of (stream), message, G_PRIORITY_DEFAULT, NULL,
                             on_final_written, g_object_ref (stream));
}

/* ------------------------------------------------------------------ */
/* PunchRelayService                                                  */
/* ------------------------------------------------------------------ */

/**
 * PunchRelayService:
 *
 * A circuit relay v2 relay (libp2p/specs relay/circuit-v2.md) on a
 * [class@Punch.Host]: it answers `/libp2p/circuit/relay/0.2.0/hop`.
 *
 * Peers reserve a slot with [func@Punch.relay_reserve_async]; they get a
 * signed voucher, the relay's addresses (the host's listen addresses, or
 * those given to [method@Punch.RelayService.set_public_addresses]) and the
 * limits of the relayed connections. A reservation lasts
 * [property@Punch.RelayService:reservation-ttl] seconds unless renewed, and
 * ends when the peer's last connection to the relay closes.
 *
 * Other peers then connect to a reserved peer with
 * [func@Punch.relay_connect_async]: the relay opens a
 * `/libp2p/circuit/relay/0.2.0/stop` stream to the target over its
 * existing connection, and once the target accepted, copies bytes between
 * the two streams in both directions. It reads again only when the other
 * side took what it read, so a slow reader slows the writer down instead
 * of making the relay buffer: per direction, the relay holds at most
 * [property@Punch.RelayService:buffer-size] bytes in flight plus the
 * sender's stream window, which it keeps within
 * [property@Punch.RelayService:stream-window]. When a direction
 * carried [property@Punch.RelayService:limit-data] bytes or the circuit
 * lasted [property@Punch.RelayService:limit-duration] seconds, the relay
 * half-closes both streams, then closes them.
 *
 * Requests over relayed (limited) connections are refused with
 * PERMISSION_DENIED, as the specification recommends.
 *
 * Since: 0.1
 */
struct _PunchRelayService {
  GObject parent_instance;

  PunchHost *host;
  PunchRelayHop *hop;           /* made by constructed() */
  PunchRelayConfig initial_config; /* until then */
  guint buffer_size;
  guint stream_window;
  GPtrArray *public_addresses;  /* PunchMultiaddr, or NULL */
  GHashTable *circuits;         /* id -> RelayCircuit */
  GPtrArray *requests;          /* HopRequest */
  guint64 buffered;
  gulong closed_handler;
  GSource *expiry_timer;
  gboolean stopped;
};

enum {
  PROP_0,
  PROP_HOST,
  PROP_RESERVATION_TTL,
  PROP_MAX_RESERVATIONS,
  PROP_MAX_RESERVATIONS_PER_IP,
  PROP_MAX_CIRCUITS_PER_PEER,
  PROP_MAX_CIRCUITS,
  PROP_LIMIT_DURATION,
  PROP_LIMIT_DATA,
  PROP_BUFFER_SIZE,
  PROP_STREAM_WINDOW,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_RESERVATION_ADDED,
  SIGNAL_RESERVATION_REMOVED,
  SIGNAL_CIRCUIT_OPENED,
  SIGNAL_CIRCUIT_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (PunchRelayService, punch_relay_service, G_TYPE_OBJECT)

static void
emit_removed (PunchRelayService *self,
              GPtrArray         *removed)
{
  for (guint i = 0; i < removed->len; i++)
    g_signal_emit (self, signals[SIGNAL_RESERVATION_REMOVED], 0, g_ptr_array_index (removed, i));
}

static void schedule_expiry (PunchRelayService *self);

static gboolean
on_expiry_timer (gpointer data)
{
  PunchRelayService *self = data;
  g_autoptr(GPtrArray) removed = punch_relay_hop_expire (self->hop, g_get_real_time ());

  g_clear_pointer (&self->expiry_timer, g_source_unref);
  schedule_expiry (self);
  emit_removed (self, removed);
  return G_SOURCE_REMOVE;
}

static void
schedule_expiry (PunchRelayService *self)
{
  gint64 next = punch_relay_hop_next_expiry (self->hop);
  gint64 delay_ms;

  clear_timer (&self->expiry_timer);
  if (next == 0 || self->stopped)
    return;
  delay_ms = MAX (0, (next - g_get_real_time ()) / 1000 + 1);
  set_timer (&self->expiry_timer, (guint) MIN (delay_ms, G_MAXUINT), on_expiry_timer, self);
}

/* Circuits */

typedef struct _RelayCircuit RelayCircuit;

typedef struct {
  RelayCircuit *circuit;
  PunchRelayDirection direction;
  GInputStream *input;
  GOutputStream *output;
  guint8 *buf;
  gsize buffered;           /* read, being written */
  gboolean done;            /* end of stream forwarded */
} Pipe;

struct _RelayCircuit {
  PunchRelayService *self;  /* NULL once the service stopped */
  guint id;
  PunchPeerId *initiator;
  PunchPeerId *target;
  PunchStream *streams[2];  /* [0] initiator's hop stream, [1] target's stop stream */
  Pipe pipes[2];            /* by PunchRelayDirection */
  GCancellable *cancellable;
  GSource *deadline;
  guint pending;            /* reads and writes under way */
  gboolean closing;
};

static void
circuit_free (RelayCircuit *c)
{
  clear_timer (&c->deadline);
  for (guint i = 0; i < 2; i++)
    {
      g_free (c->pipes[i].buf);
      g_clear_object (&c->streams[i]);
    }
  g_clear_object (&c->cancellable);
  punch_peer_id_unref (c->initiator);
  punch_peer_id_unref (c->target);
  g_free (c);
}

/* Once nothing is under way: account, tell, free. */
static void
circuit_maybe_free (RelayCircuit *c)
{
  PunchRelayService *self = c->self;
  guint64 to_target = 0, to_initiator = 0;

  if (c->pending > 0)
    return;
  if (self != NULL)
    {
      punch_relay_hop_circuit_close (self->hop, c->id, &to_target, &to_initiator);
      g_hash_table_steal (self->circuits, GUINT_TO_POINTER (c->id));
      g_debug ("relay: circuit %u closed after %" G_GUINT64_FORMAT " + %" G_GUINT64_FORMAT
               " bytes", c->id, to_target, to_initiator);
      g_signal_emit (self, signals[SIGNAL_CIRCUIT_CLOSED], 0, c->initiator, c->target,
                     to_target, to_initiator);
    }
  circuit_free (c);
}

/* Ends the circuit: half-closes both streams (or resets them after an
 * error), stops what is under way; the streams close when the circuit
 * drops them. */
static void
circuit_end (RelayCircuit *c,
             gboolean      reset,
             const gchar  *reason)
{
  if (c->closing)
    return;
  c->closing = TRUE;
  g_debug ("relay: ending circuit %u: %s", c->id, reason);
  clear_timer (&c->deadline);
  g_cancellable_cancel (c->cancellable);
  for (guint i = 0; i < 2; i++)
    {
      if (reset)
        punch_stream_reset (c->streams[i]);
      else
        punch_stream_close_write (c->streams[i], NULL);
    }
  circuit_maybe_free (c);
}

static void pipe_read (Pipe *p);

static void
on_pipe_written (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Pipe *p = user_data;
  RelayCircuit *c = p->circuit;
  g_autoptr(GError) error = NULL;
  gboolean ok = g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error);

  c->pending--;
  if (c->self != NULL)
    c->self->buffered -= p->buffered;
  p->buffered = 0;
  if (c->closing)
    {
      circuit_maybe_free (c);
      return;
    }
  if (!ok)
    {
      circuit_end (c, TRUE, error->message);
      return;
    }
  if (punch_relay_hop_circuit_limit_reached (c->self->hop, c->id, g_get_real_time ()))
    {
      circuit_end (c, FALSE, "limit reached");
      return;
    }
  pipe_read (p);
}

static void
on_pipe_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Pipe *p = user_data;
  RelayCircuit *c = p->circuit;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  c->pending--;
  if (c->closing)
    {
      circuit_maybe_free (c);
      return;
    }
  if (n < 0)
    {
      circuit_end (c, TRUE, error->message);
      return;
    }
  if (n == 0)
    {
      /* Forward the half-close; the circuit ends when both are done. */
      p->done = TRUE;
      punch_stream_close_write (c->streams[p->direction == PUNCH_RELAY_DIRECTION_TO_TARGET ? 1 : 0],
                                NULL);
      if (c->pipes[0].done && c->pipes[1].done)
        circuit_end (c, FALSE, "both sides closed");
      return;
    }

  punch_relay_hop_circuit_account (c->self->hop, c->id, p->direction, (gsize) n);
  p->buffered = (gsize) n;
  c->self->buffered += p->buffered;
  c->pending++;
  g_output_stream_write_all_async (p->output, p->buf, (gsize) n, G_PRIORITY_DEFAULT,
                                   c->cancellable, on_pipe_written, p);
}

static void
pipe_read (Pipe *p)
{
  RelayCircuit *c = p->circuit;
  guint64 allowance = punch_relay_hop_circuit_allowance (c->self->hop, c->id, p->direction);

  if (allowance == 0)
    {
      circuit_end (c, FALSE, "data limit reached");
      return;
    }
  c->pending++;
  g_input_stream_read_async (p->input, p->buf, (gsize) MIN (allowance, c->self->buffer_size),
                             G_PRIORITY_DEFAULT, c->cancellable, on_pipe_read, p);
}

static gboolean
on_circuit_deadline (gpointer data)
{
  RelayCircuit *c = data;

  g_clear_pointer (&c->deadline, g_source_unref);
  circuit_end (c, FALSE, "duration limit reached");
  return G_SOURCE_REMOVE;
}

static void
circuit_start (PunchRelayService *self,
               guint              id,
               PunchPeerId       *initiator,
               PunchPeerId       *target,
               PunchStream       *hop_stream,
               PunchStream       *stop_stream)
{
  RelayCircuit *c = g_new0 (RelayCircuit, 1);
  gint64 deadline = punch_relay_hop_circuit_deadline (self->hop, id);

  c->self = self;
  c->id = id;
  c->initiator = punch_peer_id_ref (initiator);
  c->target = punch_peer_id_ref (target);
  c->streams[0] = g_object_ref (hop_stream);
  c->streams[1] = g_object_ref (stop_stream);
  punch_stream_set_max_receive_window (hop_stream, self->stream_window);
  punch_stream_set_max_receive_window (stop_stream, self->stream_window);
  c->cancellable = g_cancellable_new ();
  for (guint i = 0; i < 2; i++)
    {
      Pipe *p = &c->pipes[i];

      p->circuit = c;
      p->direction = i;
      p->input = input_of (c->streams[i == PUNCH_RELAY_DIRECTION_TO_TARGET ? 0 : 1]);
      p->output = output_of (c->streams[i == PUNCH_RELAY_DIRECTION_TO_TARGET ? 1 : 0]);
      p->buf = g_malloc (self->buffer_size);
    }
  g_hash_table_insert (self->circuits, GUINT_TO_POINTER (id), c);
  if (deadline > 0)
    set_timer (&c->deadline, (guint) CLAMP ((deadline - g_get_real_time ()) / 1000, 0, G_MAXUINT),
               on_circuit_deadline, c);

  g_debug ("relay: circuit %u open", id);
  g_signal_emit (self, signals[SIGNAL_CIRCUIT_OPENED], 0, initiator, target);
  pipe_read (&c->pipes[0]);
  if (!c->closing)
    pipe_read (&c->pipes[1]);
}

/* Hop requests */

typedef struct {
  PunchRelayService *self;  /* NULL once the service stopped */
  PunchStream *stream;
  PunchStream *stop_stream;
  PunchPeerId *from;
  GCancellable *cancellable;
  GSource *timer;
  guint circuit_id;         /* while the circuit is being set up */
  PunchPeerId *target;
  GBytes *stop_message;     /* the STOP CONNECT for target */
} HopRequest;

static void
request_free (HopRequest *req)
{
  clear_timer (&req->timer);
  if (req->self != NULL)
    {
      if (req->circuit_id != 0)
        punch_relay_hop_circuit_close (req->self->hop, req->circuit_id, NULL, NULL);
      g_ptr_array_remove_fast (req->self->requests, req);
    }
  g_clear_object (&req->stream);
  g_clear_object (&req->stop_stream);
  g_clear_object (&req->cancellable);
  g_clear_pointer (&req->from, punch_peer_id_unref);
  g_clear_pointer (&req->target, punch_peer_id_unref);
  g_clear_pointer (&req->stop_message, g_bytes_unref);
  g_free (req);
}

/* Answers the initiator and ends the request. */
static void
request_finish (HopRequest        *req,
                PunchRelayMessage *reply)
{
  g_autoptr(GBytes) bytes = punch_relay_message_encode (reply, PUNCH_RELAY_KIND_HOP);

  write_final (req->stream, bytes);
  if (req->stop_stream != NULL)
    punch_stream_reset (req->stop_stream);
  request_free (req);
}

static gboolean
on_request_timeout (gpointer data)
{
  HopRequest *req = data;

  g_debug ("relay: hop request timed out");
  g_cancellable_cancel (req->cancellable);
  return G_SOURCE_CONTINUE;
}

static void
on_ok_written (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  HopRequest *req = user_data;
  g_autoptr(GError) error = NULL;
  guint id = req->circuit_id;

  if (!punch_framing_write_finish (G_OUTPUT_STREAM (source), result, &error) ||
      req->self == NULL)
    {
      g_debug ("relay: answering CONNECT: %s", error ? error->message : "stopped");
      if (req->stream != NULL)
        punch_stream_reset (req->stream);
      if (req->stop_stream != NULL)
        punch_stream_reset (req->stop_stream);
      request_free (req);
      return;
    }

  /* The hop and stop streams are now the relayed connection. */
  req->circuit_id = 0;
  circuit_start (req->self, id, req->from, req->target, req->stream, req->stop_stream);
  request_free (req);
}

static void
on_stop_reply (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  HopRequest *req = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) reason = NULL;
  g_autoptr(GBytes) reply = punch_framing_read_finish (G_INPUT_STREAM (source), result, &error);
  g_autoptr(PunchRelayMessage) answer = NULL;
  g_autoptr(GBytes) bytes = NULL;

  if (req->self == NULL)
    {
      request_free (req);
      return;
    }
  if (reply == NULL)
    g_debug ("relay: reading the target's answer: %s", error->message);
  answer = punch_relay_hop_circuit_connected (req->self->hop, req->circuit_id,
                                              reply ? g_bytes_get_data (reply, NULL) : NULL,
                                              reply ? g_bytes_get_size (reply) : 0,
                                              g_get_real_time (), &reason);
  if (answer->status != PUNCH_RELAY_STATUS_OK)
    {
      g_debug ("relay: circuit %u failed: %s", req->circuit_id, reason->message);
      req->circuit_id = 0;   /* the core dropped it */
      request_finish (req, answer);
      return;
    }

  clear_timer (&req->timer);
  bytes = punch_relay_message_encode (answer, PUNCH_RELAY_KIND_HOP);
  punch_framing_write_async (output_of (req->stream), bytes, G_PRIORITY_DEFAULT,
                             req->cancellable, on_ok_written, req);
}

static void
on_stop_written (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  HopRequest *req = user_data;
  g_autoptr(GError) error = NULL;

  if (!punch_framing_write_finish (G_OUTPUT_STREAM (source), result, &error))
    g_debug ("relay: writing STOP CONNECT: %s", error->message);
  /* The read fails too when the write did. */
  punch_framing_read_async (input_of (req->stop_stream), PUNCH_RELAY_MAX_MESSAGE_SIZE,
                            G_PRIORITY_DEFAULT, req->cancellable, on_stop_reply, req);
}

static void
on_stop_stream (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  HopRequest *req = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchRelayMessage) answer = NULL;
  g_autoptr(GError) reason = NULL;

  req->stop_stream = punch_host_new_stream_finish (PUNCH_HOST (source), result, &error);
  if (req->self == NULL)
    {
      request_free (req);
      return;
    }
  if (req->stop_stream == NULL)
    {
      g_debug ("relay: opening a stop stream: %s", error->message);
      answer = punch_relay_hop_circuit_connected (req->self->hop, req->circuit_id, NULL, 0,
                                                  g_get_real_time (), &reason);
      req->circuit_id = 0;
      request_finish (req, answer);
      return;
    }
  punch_framing_write_async (output_of (req->stop_stream), req->stop_message,
                             G_PRIORITY_DEFAULT, req->cancellable, on_stop_written, req);
}

static gchar *
ip_of (PunchConnection *connection)
{
  PunchMultiaddr *remote = punch_connection_get_remote_address (connection);
  g_autoptr(GInetAddress) inet = NULL;

  if (remote == NULL)
    return NULL;
  inet = punch_multiaddr_get_inet_address (remote);
  return inet != NULL ? g_inet_address_to_string (inet) : NULL;
}

static GPtrArray *
relay_addresses (PunchRelayService *self)
{
  g_autoptr(GPtrArray) addresses = NULL;
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  PunchPeerId *own = punch_host_get_peer_id (self->host);

  if (self->public_addresses != NULL)
    addresses = g_ptr_array_ref (self->public_addresses);
  else
    addresses = punch_host_get_listen_addresses (self->host);

  for (guint i = 0; i < addresses->len; i++)
    {
      PunchMultiaddr *address = g_ptr_array_index (addresses, i);
      g_autoptr(PunchPeerId) peer = punch_multiaddr_get_peer_id (address);

      /* circuit-v2.md: the addresses include the relay's peer id. */
      if (peer == NULL)
        {
          g_autoptr(PunchMultiaddr) p2p = punch_multiaddr_new_from_peer_id (own);
          g_autoptr(PunchMultiaddr) full = punch_multiaddr_encapsulate (address, p2p, NULL);

          if (full != NULL)
            g_ptr_array_add (out, punch_multiaddr_get_bytes (full));
        }
      else
        g_ptr_array_add (out, punch_multiaddr_get_bytes (address));
    }
  return out;
}

static void
on_hop_request (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  HopRequest *req = user_data;
  PunchRelayService *self = req->self;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) request = punch_framing_read_finish (G_INPUT_STREAM (source), result, &error);
  g_autoptr(PunchRelayHopResult) action = NULL;
  g_autoptr(GPtrArray) removed = NULL;
  g_autoptr(GPtrArray) addresses = NULL;
  g_autofree gchar *ip = NULL;
  PunchConnection *connection;
  gint64 now = g_get_real_time ();

  if (self == NULL)
    {
      request_free (req);
      return;
    }
  if (request == NULL)
    {
      g_autoptr(PunchRelayMessage) reply = NULL;

      g_debug ("relay: reading a hop request: %s", error->message);
      if (!g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE) &&
          !g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED))
        {
          punch_stream_reset (req->stream);
          request_free (req);
          return;
        }
      reply = punch_relay_message_new_status (PUNCH_RELAY_STATUS_MALFORMED_MESSAGE);
      request_finish (req, reply);
      return;
    }

  removed = punch_relay_hop_expire (self->hop, now);
  emit_removed (self, removed);

  connection = punch_stream_get_connection (req->stream);
  ip = ip_of (connection);
  addresses = relay_addresses (self);
  action = punch_relay_hop_handle (self->hop, req->from, ip,
                                   punch_connection_is_limited (connection),
                                   addresses, g_bytes_get_data (request, NULL),
                                   g_bytes_get_size (request), now);
  switch (action->action)
    {
    case PUNCH_RELAY_HOP_ACTION_REPLY:
      g_debug ("relay: refusing a hop request (%s): %s",
               punch_relay_status_to_string (action->reply->status), action->reason);
      request_finish (req, action->reply);
      break;

    case PUNCH_RELAY_HOP_ACTION_RESERVED:
      {
        gboolean renewed = action->renewed;
        g_autoptr(PunchPeerId) from = punch_peer_id_ref (req->from);

        request_finish (req, action->reply);
        schedule_expiry (self);
        if (!renewed)
          g_signal_emit (self, signals[SIGNAL_RESERVATION_ADDED], 0, from);
      }
      break;

    case PUNCH_RELAY_HOP_ACTION_CONNECT:
      {
        const gchar *protocols[] = { PUNCH_RELAY_STOP_PROTOCOL_ID, NULL };

        req->circuit_id = action->circuit_id;
        req->target = punch_peer_id_ref (action->target);
        req->stop_message = punch_relay_message_encode (action->stop, PUNCH_RELAY_KIND_STOP);
        punch_host_new_stream_async (self->host, req->target, protocols, req->cancellable,
                                     on_stop_stream, req);
      }
      break;

    default:
      g_assert_not_reached ();
    }
}

static void
handle_hop (PunchHost   *host,
            PunchStream *stream,
            gpointer     user_data)
{
  PunchRelayService *self = user_data;
  HopRequest *req = g_new0 (HopRequest, 1);

  req->self = self;
  req->stream = g_object_ref (stream);
  req->from = punch_peer_id_ref (punch_connection_get_remote_peer_id (punch_stream_get_connection (stream)));
  req->cancellable = g_cancellable_new ();
  set_timer (&req->timer, REQUEST_TIMEOUT_MS, on_request_timeout, req);
  g_ptr_array_add (self->requests, req);
  punch_framing_read_async (input_of (stream), PUNCH_RELAY_MAX_MESSAGE_SIZE, G_PRIORITY_DEFAULT,
                            req->cancellable, on_hop_request, req);
}

/* circuit-v2.md: a reservation is no longer valid once its peer
 * disconnected. */
static void
on_connection_closed (PunchHost         *host,
                      PunchConnection   *connection,
                      const GError      *reason,
                      PunchRelayService *self)
{
  PunchPeerId *peer = punch_connection_get_remote_peer_id (connection);
  g_autoptr(GPtrArray) others = NULL;

  if (peer == NULL)
    return;
  others = punch_host_get_connections (host, peer);
  if (others->len == 0 && punch_relay_hop_remove_reservation (self->hop, peer))
    {
      g_autoptr(PunchPeerId) ref = punch_peer_id_ref (peer);

      schedule_expiry (self);
      g_signal_emit (self, signals[SIGNAL_RESERVATION_REMOVED], 0, ref);
    }
}

/**
 * punch_relay_service_stop:
 * @self: a relay service
 *
 * Stops the service: the hop protocol is no longer handled, requests under
 * way and relayed connections are reset, reservations are dropped (without
 * [signal@Punch.RelayService::reservation-removed]). Disposing of the
 * service stops it too.
 *
 * Since: 0.1
 */
void
punch_relay_service_stop (PunchRelayService *self)
{
  g_autoptr(GPtrArray) circuits = NULL;

  g_return_if_fail (PUNCH_IS_RELAY_SERVICE (self));

  if (self->stopped)
    return;
  self->stopped = TRUE;
  clear_timer (&self->expiry_timer);
  punch_host_remove_stream_handler (self->host, PUNCH_RELAY_HOP_PROTOCOL_ID);
  g_clear_signal_handler (&self->closed_handler, self->host);

  while (self->requests->len > 0)
    {
      HopRequest *req = g_ptr_array_steal_index_fast (self->requests, 0);

      /* Its callbacks free it; they no longer touch the service. */
      req->self = NULL;
      clear_timer (&req->timer);
      g_cancellable_cancel (req->cancellable);
      punch_stream_reset (req->stream);
    }

  circuits = g_ptr_array_new ();
  {
    GHashTableIter iter;
    gpointer c;

    g_hash_table_iter_init (&iter, self->circuits);
    while (g_hash_table_iter_next (&iter, NULL, &c))
      g_ptr_array_add (circuits, c);
  }
  g_hash_table_steal_all (self->circuits);
  for (guint i = 0; i < circuits->len; i++)
    {
      RelayCircuit *c = g_ptr_array_index (circuits, i);

      c->self = NULL;
      circuit_end (c, TRUE, "relay service stopped");
    }
  self->buffered = 0;
}

static void
punch_relay_service_constructed (GObject *object)
{
  PunchRelayService *self = PUNCH_RELAY_SERVICE (object);

  G_OBJECT_CLASS (punch_relay_service_parent_class)->constructed (object);

  g_assert (self->host != NULL);
  self->hop = punch_relay_hop_new (punch_host_get_keypair (self->host), &self->initial_config);
  punch_host_set_stream_handler (self->host, PUNCH_RELAY_HOP_PROTOCOL_ID, handle_hop, self, NULL);
  self->closed_handler = g_signal_connect (self->host, "connection-closed",
                                           G_CALLBACK (on_connection_closed), self);
}

static void
punch_relay_service_dispose (GObject *object)
{
  PunchRelayService *self = PUNCH_RELAY_SERVICE (object);

  if (self->host != NULL)
    punch_relay_service_stop (self);
  g_clear_object (&self->host);

  G_OBJECT_CLASS (punch_relay_service_parent_class)->dispose (object);
}

static void
punch_relay_service_finalize (GObject *object)
{
  PunchRelayService *self = PUNCH_RELAY_SERVICE (object);

  g_clear_pointer (&self->hop, punch_relay_hop_free);
  g_clear_pointer (&self->public_addresses, g_ptr_array_unref);
  g_hash_table_unref (self->circuits);
  g_ptr_array_unref (self->requests);

  G_OBJECT_CLASS (punch_relay_service_parent_class)->finalize (object);
}

/* Properties set at construction land in initial_config until
 * constructed() makes the core with it. */
static PunchRelayConfig *
config_of (PunchRelayService *self)
{
  return self->hop != NULL ? punch_relay_hop_get_config (self->hop) : &self->initial_config;
}

static void
punch_relay_service_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  PunchRelayService *self = PUNCH_RELAY_SERVICE (object);
  PunchRelayConfig *config = config_of (self);

  switch (prop_id)
    {
    case PROP_HOST:
      g_value_set_object (value, self->host);
      break;
    case PROP_RESERVATION_TTL:
      g_value_set_uint (value, config->reservation_ttl);
      break;
    case PROP_MAX_RESERVATIONS:
      g_value_set_uint (value, config->max_reservations);
      break;
    case PROP_MAX_RESERVATIONS_PER_IP:
      g_value_set_uint (value, config->max_reservations_per_ip);
      break;
    case PROP_MAX_CIRCUITS_PER_PEER:
      g_value_set_uint (value, config->max_circuits_per_peer);
      break;
    case PROP_MAX_CIRCUITS:
      g_value_set_uint (value, config->max_circuits);
      break;
    case PROP_LIMIT_DURATION:
      g_value_set_uint (value, config->limit_duration);
      break;
    case PROP_LIMIT_DATA:
      g_value_set_uint64 (value, config->limit_data);
      break;
    case PROP_BUFFER_SIZE:
      g_value_set_uint (value, self->buffer_size);
      break;
    case PROP_STREAM_WINDOW:
      g_value_set_uint (value, self->stream_window);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
set_uint (PunchRelayService *self,
          guint             *field,
          guint              value,
          guint              prop_id)
{
  if (*field == value)
    return;
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
punch_relay_service_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  PunchRelayService *self = PUNCH_RELAY_SERVICE (object);
  PunchRelayConfig *config;

  if (prop_id == PROP_HOST)
    {
      self->host = g_value_dup_object (value);
      return;
    }

  config = config_of (self);
  switch (prop_id)
    {
    case PROP_RESERVATION_TTL:
      set_uint (self, &config->reservation_ttl, g_value_get_uint (value), prop_id);
      break;
    case PROP_MAX_RESERVATIONS:
      set_uint (self, &config->max_reservations, g_value_get_uint (value), prop_id);
      break;
    case PROP_MAX_RESERVATIONS_PER_IP:
      set_uint (self, &config->max_reservations_per_ip, g_value_get_uint (value), prop_id);
      break;
    case PROP_MAX_CIRCUITS_PER_PEER:
      set_uint (self, &config->max_circuits_per_peer, g_value_get_uint (value), prop_id);
      break;
    case PROP_MAX_CIRCUITS:
      set_uint (self, &config->max_circuits, g_value_get_uint (value), prop_id);
      break;
    case PROP_LIMIT_DURATION:
      set_uint (self, &config->limit_duration, g_value_get_uint (value), prop_id);
      break;
    case PROP_LIMIT_DATA:
      if (config->limit_data != g_value_get_uint64 (value))
        {
          config->limit_data = g_value_get_uint64 (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_BUFFER_SIZE:
      set_uint (self, &self->buffer_size, g_value_get_uint (value), prop_id);
      break;
    case PROP_STREAM_WINDOW:
      set_uint (self, &self->stream_window, g_value_get_uint (value), prop_id);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
punch_relay_service_class_init (PunchRelayServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->constructed = punch_relay_service_constructed;
  object_class->dispose = punch_relay_service_dispose;
  object_class->finalize = punch_relay_service_finalize;
  object_class->get_property = punch_relay_service_get_property;
  object_class->set_property = punch_relay_service_set_property;

  /**
   * PunchRelayService:host:
   *
   * The host whose hop protocol the service answers.
   *
   * Since: 0.1
   */
  properties[PROP_HOST] =
    g_param_spec_object ("host", NULL, NULL, PUNCH_TYPE_HOST,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PunchRelayService:reservation-ttl:
   *
   * How long a reservation lasts unless renewed, in seconds.
   *
   * Since: 0.1
   */
  properties[PROP_RESERVATION_TTL] =
    g_param_spec_uint ("reservation-ttl", NULL, NULL, 1, G_MAXUINT32,
                       PUNCH_RELAY_DEFAULT_RESERVATION_TTL, flags);

  /**
   * PunchRelayService:max-reservations:
   *
   * The most reservations held at once; more are refused with
   * RESERVATION_REFUSED.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_RESERVATIONS] =
    g_param_spec_uint ("max-reservations", NULL, NULL, 0, G_MAXUINT,
                       PUNCH_RELAY_DEFAULT_MAX_RESERVATIONS, flags);

  /**
   * PunchRelayService:max-reservations-per-ip:
   *
   * The most reservations held at once for peers connected from one IP
   * address; more are refused with RESERVATION_REFUSED.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_RESERVATIONS_PER_IP] =
    g_param_spec_uint ("max-reservations-per-ip", NULL, NULL, 0, G_MAXUINT,
                       PUNCH_RELAY_DEFAULT_MAX_RESERVATIONS_PER_IP, flags);

  /**
   * PunchRelayService:max-circuits-per-peer:
   *
   * The most relayed connections a peer may have at once, as initiator or
   * target; more are refused with RESOURCE_LIMIT_EXCEEDED.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_CIRCUITS_PER_PEER] =
    g_param_spec_uint ("max-circuits-per-peer", NULL, NULL, 0, G_MAXUINT,
                       PUNCH_RELAY_DEFAULT_MAX_CIRCUITS_PER_PEER, flags);

  /**
   * PunchRelayService:max-circuits:
   *
   * The most relayed connections at once in all; more are refused with
   * RESOURCE_LIMIT_EXCEEDED.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_CIRCUITS] =
    g_param_spec_uint ("max-circuits", NULL, NULL, 0, G_MAXUINT,
                       PUNCH_RELAY_DEFAULT_MAX_CIRCUITS, flags);

  /**
   * PunchRelayService:limit-duration:
   *
   * How long a relayed connection may last, in seconds; 0 for no limit.
   * Applies to connections made after it changed.
   *
   * Since: 0.1
   */
  properties[PROP_LIMIT_DURATION] =
    g_param_spec_uint ("limit-duration", NULL, NULL, 0, G_MAXUINT32,
                       PUNCH_RELAY_DEFAULT_LIMIT_DURATION, flags);

  /**
   * PunchRelayService:limit-data:
   *
   * How many bytes a relayed connection may carry in each direction; 0
   * for no limit. Applies to connections made after it changed.
   *
   * Since: 0.1
   */
  properties[PROP_LIMIT_DATA] =
    g_param_spec_uint64 ("limit-data", NULL, NULL, 0, G_MAXUINT64,
                         PUNCH_RELAY_DEFAULT_LIMIT_DATA, flags);

  /**
   * PunchRelayService:buffer-size:
   *
   * The bytes the relay reads at once, and holds at most, per direction of
   * a relayed connection. Applies to connections made after it changed.
   *
   * Since: 0.1
   */
  properties[PROP_BUFFER_SIZE] =
    g_param_spec_uint ("buffer-size", NULL, NULL, 1, 1024 * 1024,
                       PUNCH_RELAY_DEFAULT_BUFFER_SIZE, flags);

  /**
   * PunchRelayService:stream-window:
   *
   * How far the yamux receive window of each of a circuit's two streams
   * at the relay may grow (yamux windows grow while their reader keeps
   * up, up to 16 MiB). The relay forwards what it reads, so what a sender
   * can park at the relay while the other end reads slowly is this window
   * plus [property@Punch.RelayService:buffer-size], per direction; it also
   * bounds a circuit's throughput to this window per round trip between
   * the sender and the relay. Applies to circuits opened after it changed.
   *
   * Since: 0.1
   */
  properties[PROP_STREAM_WINDOW] =
    g_param_spec_uint ("stream-window", NULL, NULL,
                       PUNCH_YAMUX_INITIAL_WINDOW, 16 * 1024 * 1024,
                       PUNCH_RELAY_DEFAULT_STREAM_WINDOW, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PunchRelayService::reservation-added:
   * @self: the service
   * @peer: the peer that reserved
   *
   * Emitted when a peer without a reservation got one (not on renewals).
   *
   * Since: 0.1
   */
  signals[SIGNAL_RESERVATION_ADDED] =
    g_signal_new ("reservation-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, PUNCH_TYPE_PEER_ID);

  /**
   * PunchRelayService::reservation-removed:
   * @self: the service
   * @peer: the peer whose reservation ended
   *
   * Emitted when a reservation expired or its peer disconnected.
   *
   * Since: 0.1
   */
  signals[SIGNAL_RESERVATION_REMOVED] =
    g_signal_new ("reservation-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, PUNCH_TYPE_PEER_ID);

  /**
   * PunchRelayService::circuit-opened:
   * @self: the service
   * @initiator: the peer that asked for the relayed connection
   * @target: the peer it reached
   *
   * Emitted when a relayed connection starts carrying bytes.
   *
   * Since: 0.1
   */
  signals[SIGNAL_CIRCUIT_OPENED] =
    g_signal_new ("circuit-opened", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, PUNCH_TYPE_PEER_ID, PUNCH_TYPE_PEER_ID);

  /**
   * PunchRelayService::circuit-closed:
   * @self: the service
   * @initiator: the peer that asked for the relayed connection
   * @target: the peer it reached
   * @to_target: the bytes carried from @initiator to @target
   * @to_initiator: the bytes carried from @target to @initiator
   *
   * Emitted when a relayed connection ended: both sides closed, a limit
   * was reached or a stream failed.
   *
   * Since: 0.1
   */
  signals[SIGNAL_CIRCUIT_CLOSED] =
    g_signal_new ("circuit-closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 4, PUNCH_TYPE_PEER_ID, PUNCH_TYPE_PEER_ID,
                  G_TYPE_UINT64, G_TYPE_UINT64);
}

static void
punch_relay_service_init (PunchRelayService *self)
{
  self->buffer_size = PUNCH_RELAY_DEFAULT_BUFFER_SIZE;
  self->stream_window = PUNCH_RELAY_DEFAULT_STREAM_WINDOW;
  self->circuits = g_hash_table_new (NULL, NULL);
  self->requests = g_ptr_array_new ();
  punch_relay_config_init_default (&self->initial_config);
}

/**
 * punch_relay_service_new:
 * @host: the host to relay for
 *
 * Creates a relay service and registers the hop protocol on @host. The
 * service keeps a reference to @host; it stops with
 * [method@Punch.RelayService.stop] or when disposed.
 *
 * Returns: (transfer full): a new relay service
 *
 * Since: 0.1
 */
PunchRelayService *
punch_relay_service_new (PunchHost *host)
{
  g_return_val_if_fail (PUNCH_IS_HOST (host), NULL);

  return g_object_new (PUNCH_TYPE_RELAY_SERVICE, "host", host, NULL);
}

/**
 * punch_relay_service_get_host:
 * @self: a relay service
 *
 * Gets [property@Punch.RelayService:host].
 *
 * Returns: (transfer none): the host
 *
 * Since: 0.1
 */
PunchHost *
punch_relay_service_get_host (PunchRelayService *self)
{
  g_return_val_if_fail (PUNCH_IS_RELAY_SERVICE (self), NULL);

  return self->host;
}

/**
 * punch_relay_service_set_public_addresses:
 * @self: a relay service
 * @addresses: (nullable) (element-type PunchMultiaddr): the addresses at
 *   which peers reach the relay, or %NULL for the host's listen addresses
 *
 * Sets the addresses sent with reservations. Those without a `/p2p`
 * component get the relay's.
 *
 * Since: 0.1
 */
void
punch_relay_service_set_public_addresses (PunchRelayService *self,
                                          GPtrArray         *addresses)
{
  g_return_if_fail (PUNCH_IS_RELAY_SERVICE (self));

  g_clear_pointer (&self->public_addresses, g_ptr_array_unref);
  if (addresses != NULL)
    {
      self->public_addresses = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);
      for (guint i = 0; i < addresses->len; i++)
        g_ptr_array_add (self->public_addresses,
                         punch_multiaddr_ref (g_ptr_array_index (addresses, i)));
    }
}

/**
 * punch_relay_service_get_n_reservations:
 * @self: a relay service
 *
 * Counts the reservations the relay holds.
 *
 * Returns: the reservations held (expired ones may count until the next
 *   request or expiry check)
 *
 * Since: 0.1
 */
guint
punch_relay_service_get_n_reservations (PunchRelayService *self)
{
  g_return_val_if_fail (PUNCH_IS_RELAY_SERVICE (self), 0);

  return punch_relay_hop_get_n_reservations (self->hop);
}

/**
 * punch_relay_service_get_n_circuits:
 * @self: a relay service
 *
 * Counts the relayed connections.
 *
 * Returns: the relayed connections open or being set up
 *
 * Since: 0.1
 */
guint
punch_relay_service_get_n_circuits (PunchRelayService *self)
{
  g_return_val_if_fail (PUNCH_IS_RELAY_SERVICE (self), 0);

  return punch_relay_hop_get_n_circuits (self->hop);
}

/**
 * punch_relay_service_get_buffered_bytes:
 * @self: a relay service
 *
 * Tells how much the relay holds in its buffers, to check that a slow
 * reader does not make it buffer without bound.
 *
 * Returns: the bytes the relay read from one side of a relayed
 *   connection and has not yet handed to the other, in all; at most
 *   twice [property@Punch.RelayService:buffer-size] per connection
 *
 * Since: 0.1
 */
guint64
punch_relay_service_get_buffered_bytes (PunchRelayService *self)
{
  g_return_val_if_fail (PUNCH_IS_RELAY_SERVICE (self), 0);

  return self->buffered;
}

/* ------------------------------------------------------------------ */
/* PunchRelayReservation                                              */
/* ------------------------------------------------------------------ */

struct _PunchRelayReservation {
  gint ref_count;
  PunchPeerId *relay;
  gint64 expiration;
  gint64 renewal_time;
  GPtrArray *addresses;
  guint32 limit_duration;
  guint64 limit_data;
  gboolean has_voucher;
};

G_DEFINE_BOXED_TYPE (PunchRelayReservation, punch_relay_reservation,
                     punch_relay_reservation_ref, punch_relay_reservation_unref)

/**
 * punch_relay_reservation_ref:
 * @self: a reservation
 *
 * Takes a reference to @self.
 *
 * Returns: (transfer full): @self
 *
 * Since: 0.1
 */
PunchRelayReservation *
punch_relay_reservation_ref (PunchRelayReservation *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_int_inc (&self->ref_count);
  return self;
}

/**
 * punch_relay_reservation_unref:
 * @self: (transfer full): a reservation
 *
 * Drops a reference to @self, freeing it with the last.
 *
 * Since: 0.1
 */
void
punch_relay_reservation_unref (PunchRelayReservation *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  punch_peer_id_unref (self->relay);
  g_ptr_array_unref (self->addresses);
  g_free (self);
}

/**
 * punch_relay_reservation_get_relay:
 * @self: a reservation
 *
 * Gets the relay the reservation was made with.
 *
 * Returns: (transfer none): the relay
 *
 * Since: 0.1
 */
PunchPeerId *
punch_relay_reservation_get_relay (PunchRelayReservation *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->relay;
}

/**
 * punch_relay_reservation_get_expiration:
 * @self: a reservation
 *
 * Gets when the reservation expires, as the relay said.
 *
 * Returns: when the reservation expires, in seconds since the Unix epoch
 *
 * Since: 0.1
 */
gint64
punch_relay_reservation_get_expiration (PunchRelayReservation *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->expiration;
}

/**
 * punch_relay_reservation_get_renewal_time:
 * @self: a reservation
 *
 * Gets when to renew the reservation.
 *
 * Returns: when to renew the reservation with
 *   [func@Punch.relay_reserve_async], in microseconds since the Unix
 *   epoch (like g_get_real_time()): after three quarters of its lifetime
 *
 * Since: 0.1
 */
gint64
punch_relay_reservation_get_renewal_time (PunchRelayReservation *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->renewal_time;
}

/**
 * punch_relay_reservation_get_addresses:
 * @self: a reservation
 *
 * Gets the addresses the relay gave for itself.
 *
 * Returns: (transfer container) (element-type PunchMultiaddr): the relay's
 *   addresses (with its `/p2p`), to which a peer appends
 *   `/p2p-circuit/p2p/<its id>` to advertise itself
 *
 * Since: 0.1
 */
GPtrArray *
punch_relay_reservation_get_addresses (PunchRelayReservation *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_ptr_array_ref (self->addresses);
}

/**
 * punch_relay_reservation_get_limit_duration:
 * @self: a reservation
 *
 * Gets the duration limit of the connections the relay will carry.
 *
 * Returns: how long relayed connections may last, in seconds, 0 for no
 *   limit
 *
 * Since: 0.1
 */
guint32
punch_relay_reservation_get_limit_duration (PunchRelayReservation *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->limit_duration;
}

/**
 * punch_relay_reservation_get_limit_data:
 * @self: a reservation
 *
 * Gets the data limit of the connections the relay will carry.
 *
 * Returns: how many bytes relayed connections may carry in each
 *   direction, 0 for no limit
 *
 * Since: 0.1
 */
guint64
punch_relay_reservation_get_limit_data (PunchRelayReservation *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->limit_data;
}

/**
 * punch_relay_reservation_has_voucher:
 * @self: a reservation
 *
 * Tells whether the relay sent a reservation voucher.
 *
 * Returns: whether the relay sent a voucher (it was verified: signed by
 *   the relay, for this peer, with the reservation's expiration)
 *
 * Since: 0.1
 */
gboolean
punch_relay_reservation_has_voucher (PunchRelayReservation *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->has_voucher;
}

/* ------------------------------------------------------------------ */
/* Client functions                                                   */
/* ------------------------------------------------------------------ */

typedef struct {
  PunchPeerId *relay;
  GBytes *request;
  PunchStream *stream;
  GSource *timer;
  guint32 limit_duration;
  guint64 limit_data;
} ClientData;

static void
client_data_free (ClientData *data)
{
  clear_timer (&data->timer);
  punch_peer_id_unref (data->relay);
  g_bytes_unref (data->request);
  if (data->stream != NULL)
    {
      punch_stream_reset (data->stream);
      g_object_unref (data->stream);
    }
  g_free (data);
}

static gboolean
on_client_timeout (gpointer user_data)
{
  ClientData *data = user_data;

  g_debug ("relay: no answer from the relay in %d ms", REQUEST_TIMEOUT_MS);
  if (data->stream != NULL)
    punch_stream_reset (data->stream);
  return G_SOURCE_CONTINUE;
}

static void
on_client_response (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClientData *data = g_task_get_task_data (task);
  PunchHost *host = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) response = punch_framing_read_finish (G_INPUT_STREAM (source), result, &error);
  PunchRelayLimit limit = { 0, };

  if (response == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (g_task_get_source_tag (task) == punch_relay_reserve_async)
    {
      g_autoptr(PunchRelayReservation) reservation = NULL;
      g_autoptr(GPtrArray) raw = NULL;
      gint64 now = g_get_real_time ();
      guint64 expire;
      gboolean has_voucher;

      if (!punch_relay_parse_reserve_response (g_bytes_get_data (response, NULL),
                                               g_bytes_get_size (response), data->relay,
                                               punch_host_get_peer_id (host), now,
                                               &expire, &raw, &limit, &has_voucher, &error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      reservation = g_new0 (PunchRelayReservation, 1);
      reservation->ref_count = 1;
      reservation->relay = punch_peer_id_ref (data->relay);
      reservation->expiration = (gint64) MIN (expire, (guint64) G_MAXINT64);
      reservation->renewal_time = punch_relay_renewal_time (expire, now);
      reservation->limit_duration = limit.duration;
      reservation->limit_data = limit.data;
      reservation->has_voucher = has_voucher;
      reservation->addresses = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);
      for (guint i = 0; i < raw->len; i++)
        {
          g_autoptr(GError) local_error = NULL;
          PunchMultiaddr *address = punch_multiaddr_new_from_bytes (g_ptr_array_index (raw, i),
                                                                    &local_error);

          if (address != NULL)
            g_ptr_array_add (reservation->addresses, address);
          else
            g_debug ("relay: skipping a bad relay address: %s", local_error->message);
        }
      /* The relay closes the stream; so do we. */
      punch_stream_close_write (data->stream, NULL);
      g_clear_object (&data->stream);
      g_task_return_pointer (task, g_steal_pointer (&reservation),
                             (GDestroyNotify) punch_relay_reservation_unref);
      return;
    }

  if (!punch_relay_parse_connect_response (g_bytes_get_data (response, NULL),
                                           g_bytes_get_size (response), &limit, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  clear_timer (&data->timer);
  data->limit_duration = limit.duration;
  data->limit_data = limit.data;
  g_task_return_pointer (task, g_steal_pointer (&data->stream), g_object_unref);
}

static void
on_client_written (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClientData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!punch_framing_write_finish (G_OUTPUT_STREAM (source), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  GCancellable *cancellable = g_task_get_cancellable (task);

  punch_framing_read_async (input_of (data->stream), PUNCH_RELAY_MAX_MESSAGE_SIZE,
                            G_PRIORITY_DEFAULT, cancellable,
                            on_client_response, g_steal_pointer (&task));
}

static void
on_client_stream (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClientData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  GCancellable *cancellable;

  data->stream = punch_host_new_stream_finish (PUNCH_HOST (source), result, &error);
  if (data->stream == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  set_timer (&data->timer, REQUEST_TIMEOUT_MS, on_client_timeout, data);
  cancellable = g_task_get_cancellable (task);
  punch_framing_write_async (output_of (data->stream), data->request, G_PRIORITY_DEFAULT,
                             cancellable, on_client_written, g_steal_pointer (&task));
}

static void
client_start (PunchHost           *host,
              PunchPeerId         *relay,
              GBytes              *request,
              gpointer             source_tag,
              GCancellable        *cancellable,
              GAsyncReadyCallback  callback,
              gpointer             user_data)
{
  static const gchar * const protocols[] = { PUNCH_RELAY_HOP_PROTOCOL_ID, NULL };
  GTask *task = g_task_new (host, cancellable, callback, user_data);
  ClientData *data = g_new0 (ClientData, 1);

  g_task_set_source_tag (task, source_tag);
  data->relay = punch_peer_id_ref (relay);
  data->request = g_bytes_ref (request);
  g_task_set_task_data (task, data, (GDestroyNotify) client_data_free);
  punch_host_new_stream_async (host, relay, protocols, cancellable, on_client_stream, task);
}

/**
 * punch_relay_reserve_async:
 * @host: the host that reserves
 * @relay: the relay, to which @host is connected
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the result
 * @user_data: (closure): data for @callback
 *
 * Reserves a slot on @relay (circuit relay v2 RESERVE), or renews the
 * reservation @host has there. The reservation lasts while @host stays
 * connected to @relay and until it expires: renew it at
 * [method@Punch.RelayReservation.get_renewal_time]. No answer within
 * a minute fails the request.
 *
 * Since: 0.1
 */
void
punch_relay_reserve_async (PunchHost           *host,
                           PunchPeerId         *relay,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GBytes) request = NULL;

  g_return_if_fail (PUNCH_IS_HOST (host));
  g_return_if_fail (relay != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  request = punch_relay_reserve_request ();
  client_start (host, relay, request, punch_relay_reserve_async, cancellable, callback,
                user_data);
}

/**
 * punch_relay_reserve_finish:
 * @host: the host passed to [func@Punch.relay_reserve_async]
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Errors: those of [method@Punch.Host.new_stream_async] (%PUNCH_ERROR_CLOSED
 * without a connection to the relay; a peer that is no relay refuses the
 * protocol); %PUNCH_RELAY_ERROR with the relay's status when it refused
 * (RESERVATION_REFUSED, PERMISSION_DENIED...); %PUNCH_ERROR_MALFORMED,
 * %PUNCH_ERROR_TOO_LARGE or %PUNCH_ERROR_PROTOCOL for a bad answer;
 * %PUNCH_ERROR_BAD_SIGNATURE, %PUNCH_ERROR_PEER_ID_MISMATCH for a bad
 * voucher; the stream's errors.
 *
 * Returns: (transfer full) (nullable): the reservation
 *
 * Since: 0.1
 */
PunchRelayReservation *
punch_relay_reserve_finish (PunchHost     *host,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (PUNCH_IS_HOST (host), NULL);
  g_return_val_if_fail (g_task_is_valid (result, host), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == punch_relay_reserve_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * punch_relay_connect_async:
 * @host: the host that connects
 * @relay: the relay, to which @host is connected
 * @target: the peer to reach, which has a reservation on @relay
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the result
 * @user_data: (closure): data for @callback
 *
 * Asks @relay for a relayed connection to @target (circuit relay v2
 * CONNECT). The result is the raw stream of the relayed connection: its
 * bytes reach @target's stream as they are, unauthenticated, ready for the
 * end-to-end security handshake.
 *
 * Since: 0.1
 */
void
punch_relay_connect_async (PunchHost           *host,
                           PunchPeerId         *relay,
                           PunchPeerId         *target,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GBytes) request = NULL;

  g_return_if_fail (PUNCH_IS_HOST (host));
  g_return_if_fail (relay != NULL);
  g_return_if_fail (target != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  request = punch_relay_connect_request (target);
  client_start (host, relay, request, punch_relay_connect_async, cancellable, callback,
                user_data);
}

/**
 * punch_relay_connect_finish:
 * @host: the host passed to [func@Punch.relay_connect_async]
 * @result: the result given to the callback
 * @out_limit_duration: (out) (optional): the relay's duration limit in
 *   seconds, 0 for none
 * @out_limit_data: (out) (optional): the relay's data limit in bytes per
 *   direction, 0 for none
 * @error: return location for a #GError
 *
 * Errors: those of [method@Punch.Host.new_stream_async];
 * %PUNCH_RELAY_ERROR with the relay's status (NO_RESERVATION,
 * RESOURCE_LIMIT_EXCEEDED, CONNECTION_FAILED, PERMISSION_DENIED...);
 * %PUNCH_ERROR_MALFORMED, %PUNCH_ERROR_TOO_LARGE or %PUNCH_ERROR_PROTOCOL
 * for a bad answer; the stream's errors.
 *
 * Returns: (transfer full) (nullable): the relayed connection's stream
 *
 * Since: 0.1
 */
PunchStream *
punch_relay_connect_finish (PunchHost     *host,
                            GAsyncResult  *result,
                            guint32       *out_limit_duration,
                            guint64       *out_limit_data,
                            GError       **error)
{
  ClientData *data;
  PunchStream *stream;

  g_return_val_if_fail (PUNCH_IS_HOST (host), NULL);
  g_return_val_if_fail (g_task_is_valid (result, host), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == punch_relay_connect_async, NULL);

  data = g_task_get_task_data (G_TASK (result));
  stream = g_task_propagate_pointer (G_TASK (result), error);
  if (out_limit_duration != NULL)
    *out_limit_duration = stream != NULL ? data->limit_duration : 0;
  if (out_limit_data != NULL)
    *out_limit_data = stream != NULL ? data->limit_data : 0;
  return stream;
}

/* The stop side */

typedef struct {
  PunchRelayCircuitHandler handler;
  gpointer user_data;
  GDestroyNotify destroy;
} StopHandler;

static void
stop_handler_clear (gpointer data)
{
  StopHandler *h = data;

  if (h->destroy != NULL)
    h->destroy (h->user_data);
}

typedef struct {
  StopHandler *handler;   /* a reference */
  PunchHost *host;
  PunchStream *stream;
  PunchRelayMessage *connect;
  GSource *timer;
} StopRequest;

static void
stop_request_free (StopRequest *req)
{
  clear_timer (&req->timer);
  g_rc_box_release_full (req->handler, stop_handler_clear);
  g_object_unref (req->host);
  g_object_unref (req->stream);
  punch_relay_message_free (req->connect);
  g_free (req);
}

static gboolean
on_stop_timeout (gpointer data)
{
  StopRequest *req = data;

  g_debug ("relay: no STOP CONNECT from the relay in time");
  punch_stream_reset (req->stream);
  return G_SOURCE_CONTINUE;
}

static void
on_stop_ok_written (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  StopRequest *req = user_data;
  g_autoptr(GError) error = NULL;

  clear_timer (&req->timer);
  if (!punch_framing_write_finish (G_OUTPUT_STREAM (source), result, &error))
    g_debug ("relay: answering STOP CONNECT: %s", error->message);
  else
    req->handler->handler (req->host, req->stream, req->connect->peer,
                           req->connect->limit.duration, req->connect->limit.data,
                           req->handler->user_data);
  stop_request_free (req);
}

static void
on_stop_connect (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  StopRequest *req = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = punch_framing_read_finish (G_INPUT_STREAM (source), result, &error);
  g_autoptr(GBytes) answer = NULL;
  PunchRelayStatus refusal = PUNCH_RELAY_STATUS_MALFORMED_MESSAGE;

  if (message == NULL &&
      !g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE) &&
      !g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED))
    {
      g_debug ("relay: reading STOP CONNECT: %s", error->message);
      punch_stream_reset (req->stream);
      stop_request_free (req);
      return;
    }
  if (message != NULL)
    req->connect = punch_relay_parse_stop_connect (g_bytes_get_data (message, NULL),
                                                   g_bytes_get_size (message), &refusal, &error);
  if (req->connect == NULL)
    {
      g_debug ("relay: refusing a stop request: %s", error->message);
      answer = punch_relay_status_message (PUNCH_RELAY_KIND_STOP, refusal);
      write_final (req->stream, answer);
      stop_request_free (req);
      return;
    }

  answer = punch_relay_status_message (PUNCH_RELAY_KIND_STOP, PUNCH_RELAY_STATUS_OK);
  punch_framing_write_async (output_of (req->stream), answer, G_PRIORITY_DEFAULT, NULL,
                             on_stop_ok_written, req);
}

static void
handle_stop (PunchHost   *host,
             PunchStream *stream,
             gpointer     user_data)
{
  StopRequest *req = g_new0 (StopRequest, 1);

  req->handler = g_rc_box_acquire (user_data);
  req->host = g_object_ref (host);
  req->stream = g_object_ref (stream);
  set_timer (&req->timer, REQUEST_TIMEOUT_MS, on_stop_timeout, req);
  punch_framing_read_async (input_of (stream), PUNCH_RELAY_MAX_MESSAGE_SIZE, G_PRIORITY_DEFAULT,
                            NULL, on_stop_connect, req);
}

static void
stop_handler_release (gpointer data)
{
  g_rc_box_release_full (data, stop_handler_clear);
}

/**
 * punch_relay_set_stop_handler:
 * @host: a host
 * @handler: (nullable) (scope notified) (closure user_data) (destroy destroy):
 *   called with each relayed connection accepted, or %NULL to stop
 *   accepting them
 * @user_data: data for @handler
 * @destroy: (nullable): frees @user_data
 *
 * Accepts relayed connections to @host (the circuit relay v2 stop
 * protocol, `/libp2p/circuit/relay/0.2.0/stop`): each STOP CONNECT from a
 * relay is answered STATUS OK and its stream, now the relayed connection,
 * goes to @handler with the initiator and the relay's limits. Malformed
 * requests are answered MALFORMED_MESSAGE, other message types
 * UNEXPECTED_MESSAGE. Replaces a handler set before.
 *
 * Since: 0.1
 */
void
punch_relay_set_stop_handler (PunchHost                *host,
                              PunchRelayCircuitHandler  handler,
                              gpointer                  user_data,
                              GDestroyNotify            destroy)
{
  StopHandler *h;

  g_return_if_fail (PUNCH_IS_HOST (host));

  if (handler == NULL)
    {
      punch_host_remove_stream_handler (host, PUNCH_RELAY_STOP_PROTOCOL_ID);
      if (destroy != NULL)
        destroy (user_data);
      return;
    }

  h = g_rc_box_new0 (StopHandler);
  h->handler = handler;
  h->user_data = user_data;
  h->destroy = destroy;
  punch_host_set_stream_handler (host, PUNCH_RELAY_STOP_PROTOCOL_ID, handle_stop, h,
                                 stop_handler_release);
}
