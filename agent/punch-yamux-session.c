/* punch-yamux-session.c: sans-I/O yamux 1.0 session (stream multiplexer).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "punch-error.h"
#include "punch-yamux-session.h"

/*
 * The session follows libp2p's yamux/README.md (hashicorp's spec.md):
 *
 * Framing.  A 12-byte big-endian header (version 0, type, flags, stream id,
 * length); only DATA frames carry a body of `length` bytes.  The parser
 * accepts input cut anywhere: a partial header waits in `hdr`, a partial
 * body is copied straight into the stream's receive ring as it arrives.
 *
 * Streams.  Clients use odd ids, servers even ones, 0 is the session.
 * Opening sends a WINDOW_UPDATE with SYN at once (the data may follow
 * before the ACK arrives).  Inbound streams are acknowledged with the first
 * frame we send on them (spec, "ACK backlog": do not acknowledge
 * implicitly), or at once with punch_yamux_session_accept_stream().
 * FIN half-closes, RST resets; FIN and RST travel on WINDOW_UPDATE frames.
 *
 * Flow control.  Every stream starts with a 256 KiB window both ways.  We
 * credit the peer only for bytes the application has read, in one window
 * update once the unannounced credit reaches half the window, so a reader
 * that stops reading stops the sender after exactly one window.  When the
 * RTT is known and updates come faster than every 4 RTTs, the window doubles
 * (up to max_receive_window) if the session's buffer budget allows.  The
 * peer's DATA beyond the credit we gave is a protocol error, so a stream's
 * receive buffer never exceeds its window, and the sum of the windows of all
 * streams never exceeds max_buffered.
 *
 * Released streams.  A stream is forgotten once it is reset, or closed both
 * ways and read to its end, and its events are polled.  Frames that still
 * arrive for it (the peer may have sent them before seeing our RST) are
 * dropped; frames for ids that were never opened are protocol errors.
 * Inbound SYNs need not come in id order (go-yamux may send them out of
 * order), so any peer-parity id that is not open is accepted as new.
 *
 * Memory.  The receive rings are bounded as above, the event queue by a few
 * coalesced events per held stream, the output by max_output for data and
 * twice that for control frames (ping answers, RSTs) a peer provokes while
 * not reading ours.
 */

#define READ_BE32(p) (((guint32) (p)[0] << 24) | ((guint32) (p)[1] << 16) | \
                      ((guint32) (p)[2] << 8) | (guint32) (p)[3])

typedef enum {
  PHASE_SYN_SENT,
  PHASE_SYN_RECEIVED,
  PHASE_ESTABLISHED,
} Phase;

/* A byte ring that grows on demand up to a limit. */
typedef struct {
  guint8 *data;
  gsize cap;
  gsize head;
  gsize len;
} Ring;

typedef struct {
  guint32 id;
  Phase phase;
  guint outbound : 1;
  guint need_ack : 1;           /* inbound, ACK not sent yet */
  guint unacked : 1;            /* counted in n_unacked */
  guint local_fin : 1;
  guint remote_fin : 1;
  guint reset : 1;
  guint readable_notified : 1;  /* a READABLE event since the last read */
  guint write_blocked : 1;      /* a write came up short */
  guint eof_seen : 1;           /* a read reported the end of the stream */
  guint64 send_window;          /* bytes the peer lets us send */
  guint32 recv_window;          /* bytes we let the peer send */
  guint32 window_size;          /* recv_window + buffered + pending_update */
  guint32 pending_update;       /* read by the application, not yet credited */
  guint32 max_window;           /* auto-tuning stops here */
  gsize committed;              /* our share of session->committed */
  gint64 epoch_us;              /* last window update, for auto-tuning */
  guint pending_events;
  Ring ring;
} Stream;

struct _PunchYamuxSession {
  PunchYamuxConfig config;
  gboolean is_client;

  GHashTable *streams;          /* id -> Stream */
  guint64 next_local_id;
  guint32 max_remote_id;
  guint n_refused;              /* inbound SYNs refused at the stream limit, in a run */
  gint64 refused_since_us;      /* when that run began */
  guint n_unacked;
  gsize committed;
  gsize ring_bytes;

  /* Parser state. */
  guint8 hdr[PUNCH_YAMUX_HEADER_SIZE];
  gsize hdr_len;
  guint32 body_id;
  guint32 body_left;
  guint16 body_flags;
  gboolean body_keep;

  GByteArray *out;
  gboolean output_blocked;

  GArray *events;               /* PunchYamuxEvent */
  guint events_head;

  gboolean dead;
  gboolean local_go_away;
  gboolean remote_go_away;

  gboolean have_time;
  gint64 now_us;
  gint64 last_rx_us;
  gboolean ping_outstanding;
  guint32 ping_opaque;
  gint64 ping_sent_us;
  gint64 next_keepalive_us;
  gint64 rtt_us;
};

/* A run of refused SYNs counts as a flood within this time. */
#define FLOOD_WINDOW_US (10 * G_USEC_PER_SEC)

/* Ring buffer. */

static void
ring_free (PunchYamuxSession *self,
           Ring              *ring)
{
  self->ring_bytes -= ring->cap;
  g_clear_pointer (&ring->data, g_free);
  ring->cap = ring->head = ring->len = 0;
}

static void
ring_push (PunchYamuxSession *self,
           Ring              *ring,
           const guint8      *buf,
           gsize              len,
           gsize              limit)
{
  gsize need = ring->len + len;
  gsize tail, first;

  if (need > ring->cap)
    {
      gsize cap = MAX (ring->cap * 2, 4096);
      guint8 *data;

      cap = MIN (cap, limit);
      cap = MAX (cap, need);
      data = g_malloc (cap);
      first = MIN (ring->len, ring->cap - ring->head);
      if (ring->len > 0)
        {
          memcpy (data, ring->data + ring->head, first);
          memcpy (data + first, ring->data, ring->len - first);
        }
      g_free (ring->data);
      self->ring_bytes += cap - ring->cap;
      ring->data = data;
      ring->cap = cap;
      ring->head = 0;
    }

  tail = (ring->head + ring->len) % ring->cap;
  first = MIN (len, ring->cap - tail);
  memcpy (ring->data + tail, buf, first);
  memcpy (ring->data, buf + first, len - first);
  ring->len += len;
}

static gsize
ring_pop (Ring   *ring,
          guint8 *buf,
          gsize   len)
{
  gsize first;

  len = MIN (len, ring->len);
  if (len == 0)
    return 0;
  first = MIN (len, ring->cap - ring->head);
  memcpy (buf, ring->data + ring->head, first);
  memcpy (buf + first, ring->data, len - first);
  ring->head = (ring->head + len) % ring->cap;
  ring->len -= len;
  if (ring->len == 0)
    ring->head = 0;
  return len;
}

/* Output. */

static void
queue_frame (PunchYamuxSession *self,
             guint8             type,
             guint16            flags,
             guint32            stream_id,
             guint32            length)
{
  guint8 h[PUNCH_YAMUX_HEADER_SIZE];

  h[0] = 0;
  h[1] = type;
  h[2] = flags >> 8;
  h[3] = flags & 0xff;
  h[4] = stream_id >> 24;
  h[5] = (stream_id >> 16) & 0xff;
  h[6] = (stream_id >> 8) & 0xff;
  h[7] = stream_id & 0xff;
  h[8] = length >> 24;
  h[9] = (length >> 16) & 0xff;
  h[10] = (length >> 8) & 0xff;
  h[11] = length & 0xff;
  g_byte_array_append (self->out, h, sizeof h);
}

/* Events. */

static void
queue_event (PunchYamuxSession *self,
             PunchYamuxEvent   *event)
{
  g_array_append_val (self->events, *event);
}

static void
queue_stream_event (PunchYamuxSession   *self,
                    Stream              *s,
                    PunchYamuxEventType  type)
{
  PunchYamuxEvent event = { .type = type, .stream_id = s->id };

  s->pending_events++;
  queue_event (self, &event);
}

static gboolean
is_stream_event (PunchYamuxEventType type)
{
  return type >= PUNCH_YAMUX_EVENT_STREAM_OPENED &&
         type <= PUNCH_YAMUX_EVENT_STREAM_RESET;
}

/* Streams. */

static gboolean
is_remote_id (PunchYamuxSession *self,
              guint32            id)
{
  /* The client opens odd ids, the server even ones. */
  return (id & 1) == (self->is_client ? 0 : 1);
}

static void
stream_free (gpointer data)
{
  Stream *s = data;

  g_free (s->ring.data);
  g_free (s);
}

static void
stream_recommit (PunchYamuxSession *self,
                 Stream            *s)
{
  gsize want;

  if ((s->reset || s->remote_fin) && s->ring.len == 0 && s->ring.data != NULL)
    ring_free (self, &s->ring);

  if (s->reset)
    want = 0;
  else if (s->remote_fin)
    want = s->ring.cap;
  else
    want = s->window_size;

  self->committed = self->committed - s->committed + want;
  s->committed = want;
}

static void
stream_clear_unacked (PunchYamuxSession *self,
                      Stream            *s)
{
  if (s->unacked)
    {
      s->unacked = FALSE;
      self->n_unacked--;
    }
}

static Stream *
stream_new (PunchYamuxSession *self,
            guint32            id,
            gboolean           outbound)
{
  Stream *s = g_new0 (Stream, 1);

  s->id = id;
  s->outbound = outbound;
  s->phase = outbound ? PHASE_SYN_SENT : PHASE_SYN_RECEIVED;
  s->need_ack = !outbound;
  s->send_window = PUNCH_YAMUX_INITIAL_WINDOW;
  s->recv_window = PUNCH_YAMUX_INITIAL_WINDOW;
  s->window_size = self->config.receive_window;
  s->max_window = self->config.max_receive_window;
  s->pending_update = s->window_size - PUNCH_YAMUX_INITIAL_WINDOW;
  s->epoch_us = self->now_us;
  g_hash_table_insert (self->streams, GUINT_TO_POINTER (id), s);
  stream_recommit (self, s);
  return s;
}

static Stream *
lookup (PunchYamuxSession *self,
        guint32            id)
{
  return g_hash_table_lookup (self->streams, GUINT_TO_POINTER (id));
}

/* Forgets a stream once nothing about it is left for the application. */
static void
stream_maybe_release (PunchYamuxSession *self,
                      Stream            *s)
{
  if (s->pending_events > 0 || s->ring.len > 0)
    return;
  if (!s->reset && !(s->local_fin && s->remote_fin && s->eof_seen))
    return;

  stream_clear_unacked (self, s);
  ring_free (self, &s->ring);
  self->committed -= s->committed;
  g_debug ("yamux: stream %u released", s->id);
  g_hash_table_remove (self->streams, GUINT_TO_POINTER (s->id));
}

static void
stream_mark_reset (PunchYamuxSession *self,
                   Stream            *s)
{
  s->reset = TRUE;
  s->write_blocked = FALSE;
  s->need_ack = FALSE;
  s->ring.len = 0;
  stream_clear_unacked (self, s);
  stream_recommit (self, s);
}

/* After a short write: WRITABLE once the stream has window and the output
 * has room; when only the room is missing, pulling the output will tell. */
static void
stream_maybe_writable (PunchYamuxSession *self,
                       Stream            *s)
{
  if (!s->write_blocked || s->reset || s->local_fin || s->send_window == 0)
    return;
  if (self->out->len >= self->config.max_output)
    {
      self->output_blocked = TRUE;
      return;
    }
  s->write_blocked = FALSE;
  queue_stream_event (self, s, PUNCH_YAMUX_EVENT_STREAM_WRITABLE);
}

/* Queues a WINDOW_UPDATE carrying all credit not yet announced, with the
 * ACK if this is the first frame on an inbound stream. */
static void
send_window_update (PunchYamuxSession *self,
                    Stream            *s,
                    guint16            flags)
{
  guint32 delta = 0;

  if (!s->remote_fin && !s->reset)
    {
      delta = s->pending_update;
      s->recv_window += delta;
      s->pending_update = 0;
    }
  if (s->need_ack)
    {
      flags |= PUNCH_YAMUX_FLAG_ACK;
      s->need_ack = FALSE;
      s->phase = PHASE_ESTABLISHED;
    }
  queue_frame (self, PUNCH_YAMUX_TYPE_WINDOW_UPDATE, flags, s->id, delta);
}

/* After the application read from @s: credit the peer once half the window
 * was consumed, growing the window when updates come quickly. */
static void
maybe_update_window (PunchYamuxSession *self,
                     Stream            *s)
{
  if (s->remote_fin || s->reset || s->pending_update < s->window_size / 2)
    return;

  if (self->rtt_us > 0 &&
      s->window_size < s->max_window &&
      self->now_us - s->epoch_us < 4 * self->rtt_us)
    {
      guint32 grown = (guint32) MIN ((guint64) s->window_size * 2, s->max_window);
      gsize extra = grown - s->window_size;

      if (self->committed + extra <= self->config.max_buffered)
        {
          g_debug ("yamux: stream %u window grows to %u", s->id, grown);
          s->window_size = grown;
          s->pending_update += extra;
          stream_recommit (self, s);
        }
    }
  s->epoch_us = self->now_us;
  send_window_update (self, s, 0);
}

/* Session death. */

static void
die (PunchYamuxSession *self,
     const GError      *why)
{
  PunchYamuxEvent event = { .type = PUNCH_YAMUX_EVENT_SESSION_ERROR };

  if (self->dead)
    return;

  g_debug ("yamux: session dead: %s", why->message);
  self->dead = TRUE;
  g_hash_table_remove_all (self->streams);
  self->committed = 0;
  self->ring_bytes = 0;
  self->n_unacked = 0;
  self->body_left = 0;
  self->hdr_len = 0;
  self->ping_outstanding = FALSE;
  event.error = g_error_copy (why);
  queue_event (self, &event);
}

/* Kills the session with an error (code in PUNCH_ERROR), queuing a GO_AWAY
 * with @go_away_code unless it is negative.  Always returns FALSE. */
static gboolean G_GNUC_PRINTF (5, 6)
fail (PunchYamuxSession  *self,
      GError            **error,
      PunchError          code,
      gint                go_away_code,
      const char         *format,
      ...)
{
  g_autofree char *message = NULL;
  GError *err;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  err = g_error_new_literal (PUNCH_ERROR, code, message);
  if (!self->dead && go_away_code >= 0)
    {
      queue_frame (self, PUNCH_YAMUX_TYPE_GO_AWAY, 0, 0, go_away_code);
      self->local_go_away = TRUE;
    }
  die (self, err);
  g_propagate_error (error, err);
  return FALSE;
}

#define fail_protocol(self, error, ...) \
  fail (self, error, PUNCH_ERROR_PROTOCOL, PUNCH_YAMUX_GO_AWAY_PROTOCOL_ERROR, __VA_ARGS__)

static gboolean
check_dead (PunchYamuxSession  *self,
            GError            **error)
{
  if (self->dead)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                           "The yamux session is closed");
      return FALSE;
    }
  return TRUE;
}

/* Control frames the peer provokes (ping answers, refusals) are always
 * queued, but a peer that keeps provoking them without reading ours would
 * grow the output without bound. */
static gboolean
check_control_room (PunchYamuxSession  *self,
                    GError            **error)
{
  if (self->out->len >= 2 * self->config.max_output)
    return fail (self, error, PUNCH_ERROR_TOO_LARGE, PUNCH_YAMUX_GO_AWAY_PROTOCOL_ERROR,
                 "The yamux peer provokes control frames without reading them "
                 "(%u bytes waiting)", self->out->len);
  return TRUE;
}

static void
note_time (PunchYamuxSession *self,
           gint64             now_us)
{
  if (!self->have_time)
    {
      self->have_time = TRUE;
      self->last_rx_us = now_us;
      self->next_keepalive_us = now_us + self->config.keepalive_interval_us;
    }
  self->now_us = now_us;
}

/**
 * punch_yamux_config_init:
 * @config: (out caller-allocates): the settings to fill in
 *
 * Fills @config with the defaults: 256 KiB receive windows growing up to
 * 16 MiB, 256 streams, an ACK backlog of 256, 64 MiB of receive buffers
 * (256 streams at the initial window), 1 MiB of pending output, 16 KiB DATA
 * frames, a keepalive ping every 30 s and a 10 s ping timeout.
 */
void
punch_yamux_config_init (PunchYamuxConfig *config)
{
  g_return_if_fail (config != NULL);

  *config = (PunchYamuxConfig) {
    .receive_window = PUNCH_YAMUX_INITIAL_WINDOW,
    .max_receive_window = 16 * 1024 * 1024,
    .max_streams = 256,
    .max_ack_backlog = 256,
    .max_buffered = 64 * 1024 * 1024,
    .max_output = 1024 * 1024,
    .max_frame_size = 16 * 1024,
    .keepalive_interval_us = 30 * G_USEC_PER_SEC,
    .ping_timeout_us = 10 * G_USEC_PER_SEC,
  };
}

/**
 * punch_yamux_session_new:
 * @is_client: %TRUE on the side that dialed the transport (odd stream
 *   ids), %FALSE on the listening side (even ids)
 * @config: (nullable): settings, or %NULL for the defaults
 *
 * Creates a session.  It performs no I/O: feed it the transport's bytes
 * with punch_yamux_session_receive(), write what
 * punch_yamux_session_pull_output() returns, poll
 * punch_yamux_session_next_event() and arm a timer for
 * punch_yamux_session_get_deadline().
 *
 * Returns: (transfer full): the session
 */
PunchYamuxSession *
punch_yamux_session_new (gboolean                is_client,
                         const PunchYamuxConfig *config)
{
  PunchYamuxSession *self;
  PunchYamuxConfig defaults;

  if (config == NULL)
    {
      punch_yamux_config_init (&defaults);
      config = &defaults;
    }
  g_return_val_if_fail (config->receive_window >= PUNCH_YAMUX_INITIAL_WINDOW, NULL);
  g_return_val_if_fail (config->max_receive_window >= config->receive_window, NULL);
  g_return_val_if_fail (config->max_streams > 0, NULL);
  g_return_val_if_fail (config->max_output > 0 && config->max_output <= G_MAXUINT32 / 4, NULL);
  g_return_val_if_fail (config->max_frame_size > 0, NULL);
  g_return_val_if_fail (config->keepalive_interval_us >= 0, NULL);
  g_return_val_if_fail (config->ping_timeout_us >= 0, NULL);

  self = g_new0 (PunchYamuxSession, 1);
  self->config = *config;
  self->is_client = !!is_client;
  self->streams = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, stream_free);
  self->next_local_id = is_client ? 1 : 2;
  self->out = g_byte_array_sized_new (4096);
  self->events = g_array_new (FALSE, FALSE, sizeof (PunchYamuxEvent));
  return self;
}

/**
 * punch_yamux_session_free:
 * @self: (transfer full): a session
 *
 * Frees the session, its streams and its unpolled events.
 */
void
punch_yamux_session_free (PunchYamuxSession *self)
{
  if (self == NULL)
    return;

  g_hash_table_unref (self->streams);
  g_byte_array_unref (self->out);
  for (guint i = self->events_head; i < self->events->len; i++)
    punch_yamux_event_clear (&g_array_index (self->events, PunchYamuxEvent, i));
  g_array_unref (self->events);
  g_free (self);
}

/* Frame processing. */

static gboolean
apply_flags (PunchYamuxSession  *self,
             Stream             *s,
             guint16             flags,
             guint32             delta,
             GError            **error)
{
  if ((flags & PUNCH_YAMUX_FLAG_ACK) && s->phase == PHASE_SYN_SENT)
    {
      s->phase = PHASE_ESTABLISHED;
      stream_clear_unacked (self, s);
    }

  if (flags & PUNCH_YAMUX_FLAG_RST)
    {
      g_debug ("yamux: stream %u reset by the peer", s->id);
      stream_mark_reset (self, s);
      queue_stream_event (self, s, PUNCH_YAMUX_EVENT_STREAM_RESET);
      return TRUE;
    }

  if (delta > 0)
    {
      if (s->send_window + delta > G_MAXUINT32)
        return fail_protocol (self, error,
                              "Window update of %u overflows the send window of stream %u",
                              delta, s->id);
      s->send_window += delta;
      stream_maybe_writable (self, s);
    }

  if ((flags & PUNCH_YAMUX_FLAG_FIN) && !s->remote_fin)
    {
      s->remote_fin = TRUE;
      stream_recommit (self, s);
      queue_stream_event (self, s, PUNCH_YAMUX_EVENT_STREAM_REMOTE_CLOSED);
    }

  stream_maybe_release (self, s);
  return TRUE;
}

static gboolean
admit_inbound (PunchYamuxSession *self)
{
  if (self->local_go_away || self->remote_go_away)
    return FALSE;
  if (g_hash_table_size (self->streams) >= self->config.max_streams)
    return FALSE;
  if (self->committed + self->config.receive_window > self->config.max_buffered)
    return FALSE;
  return TRUE;
}

static gboolean
process_stream_frame (PunchYamuxSession  *self,
                      guint8              type,
                      guint16             flags,
                      guint32             id,
                      guint32             length,
                      GError            **error)
{
  gboolean is_data = type == PUNCH_YAMUX_TYPE_DATA;
  Stream *s;

  if (id == 0)
    return fail_protocol (self, error, "Yamux %s frame on the session id 0",
                          is_data ? "DATA" : "WINDOW_UPDATE");
  if (is_data && length > self->config.max_receive_window)
    return fail_protocol (self, error,
                          "Yamux DATA frame of %u bytes exceeds any receive window",
                          length);

  s = lookup (self, id);
  if (flags & PUNCH_YAMUX_FLAG_SYN)
    {
      if (s != NULL)
        return fail_protocol (self, error, "SYN for yamux stream %u which is open", id);
      if (!is_remote_id (self, id))
        return fail_protocol (self, error, "SYN for yamux stream %u with the wrong parity", id);
      self->max_remote_id = MAX (self->max_remote_id, id);
      if (admit_inbound (self))
        {
          g_debug ("yamux: stream %u opened by the peer", id);
          self->n_refused = 0;
          s = stream_new (self, id, FALSE);
          queue_stream_event (self, s, PUNCH_YAMUX_EVENT_STREAM_OPENED);
        }
      else
        {
          /* Refusing a stream with RST is what the spec (and go-yamux)
           * do: a peer that opens a burst beyond the limit sees resets and
           * retries later.  A peer that, at the stream limit, opens more
           * streams than the limit itself within FLOOD_WINDOW_US, none
           * admitted in between, is flooding: end the session.  Refusals
           * for the buffer budget, and SYNs that crossed our GO_AWAY, are
           * only refused; so are the occasional SYNs (pings, identify
           * pushes) of a peer that keeps many streams open for long. */
          if (!self->local_go_away && !self->remote_go_away &&
              g_hash_table_size (self->streams) >= self->config.max_streams)
            {
              if (self->n_refused == 0 || self->now_us - self->refused_since_us > FLOOD_WINDOW_US)
                {
                  self->n_refused = 0;
                  self->refused_since_us = self->now_us;
                }
              if (++self->n_refused > self->config.max_streams)
                return fail_protocol (self, error,
                                      "Yamux stream flood: the peer opened %u streams beyond "
                                      "the limit within %d s (%u open, limit %u)",
                                      self->n_refused, (int) (FLOOD_WINDOW_US / G_USEC_PER_SEC),
                                      g_hash_table_size (self->streams),
                                      self->config.max_streams);
            }
          g_debug ("yamux: refusing stream %u", id);
          if (!check_control_room (self, error))
            return FALSE;
          queue_frame (self, PUNCH_YAMUX_TYPE_WINDOW_UPDATE, PUNCH_YAMUX_FLAG_RST, id, 0);
        }
    }
  else if (s == NULL)
    {
      gboolean never_opened = is_remote_id (self, id) ?
                              id > self->max_remote_id : id >= self->next_local_id;

      if (never_opened)
        return fail_protocol (self, error,
                              "Yamux frame for stream %u which was never opened", id);
      /* Otherwise the stream was released already: drop the frame. */
    }

  if (s != NULL && s->reset)
    s = NULL;

  if (is_data)
    {
      if (s != NULL)
        {
          if (s->remote_fin && length > 0)
            return fail_protocol (self, error,
                                  "Yamux DATA on stream %u after its FIN", id);
          if (length > s->recv_window)
            return fail_protocol (self, error,
                                  "Yamux DATA of %u bytes exceeds the receive window "
                                  "(%u bytes) of stream %u", length, s->recv_window, id);
          s->recv_window -= length;
        }
      self->body_id = id;
      self->body_flags = flags;
      self->body_keep = s != NULL;
      self->body_left = length;
      if (length > 0 || s == NULL)
        return TRUE;
      return apply_flags (self, s, flags, 0, error);
    }

  if (s == NULL)
    return TRUE;
  return apply_flags (self, s, flags, length, error);
}

static gboolean
process_ping (PunchYamuxSession  *self,
              guint16             flags,
              guint32             id,
              guint32             opaque,
              GError            **error)
{
  if (id != 0)
    return fail_protocol (self, error, "Yamux PING on stream %u", id);

  if (flags & PUNCH_YAMUX_FLAG_SYN)
    {
      if (!check_control_room (self, error))
        return FALSE;
      queue_frame (self, PUNCH_YAMUX_TYPE_PING, PUNCH_YAMUX_FLAG_ACK, 0, opaque);
    }
  else if ((flags & PUNCH_YAMUX_FLAG_ACK) && self->ping_outstanding &&
           opaque == self->ping_opaque)
    {
      PunchYamuxEvent event = { .type = PUNCH_YAMUX_EVENT_PING_RTT };

      self->ping_outstanding = FALSE;
      self->rtt_us = MAX (self->now_us - self->ping_sent_us, 0);
      self->next_keepalive_us = self->now_us + self->config.keepalive_interval_us;
      event.rtt_us = self->rtt_us;
      queue_event (self, &event);
    }
  return TRUE;
}

static gboolean
process_go_away (PunchYamuxSession  *self,
                 guint32             id,
                 guint32             code,
                 GError            **error)
{
  PunchYamuxEvent event = { .type = PUNCH_YAMUX_EVENT_GO_AWAY, .code = code };

  if (id != 0)
    return fail_protocol (self, error, "Yamux GO_AWAY on stream %u", id);
  if (self->remote_go_away && code == PUNCH_YAMUX_GO_AWAY_NORMAL)
    return TRUE;

  g_debug ("yamux: the peer goes away with code %u", code);
  self->remote_go_away = TRUE;
  queue_event (self, &event);
  if (code != PUNCH_YAMUX_GO_AWAY_NORMAL)
    return fail (self, error, PUNCH_ERROR_CLOSED, -1,
                 "The yamux peer ended the session with error code %u", code);
  return TRUE;
}

static gboolean
process_header (PunchYamuxSession  *self,
                const guint8       *h,
                GError            **error)
{
  guint8 version = h[0];
  guint8 type = h[1];
  guint16 flags = (h[2] << 8) | h[3];
  guint32 id = READ_BE32 (h + 4);
  guint32 length = READ_BE32 (h + 8);

  if (version != 0)
    return fail_protocol (self, error, "Unsupported yamux version %u", version);

  switch (type)
    {
    case PUNCH_YAMUX_TYPE_DATA:
    case PUNCH_YAMUX_TYPE_WINDOW_UPDATE:
      return process_stream_frame (self, type, flags, id, length, error);
    case PUNCH_YAMUX_TYPE_PING:
      return process_ping (self, flags, id, length, error);
    case PUNCH_YAMUX_TYPE_GO_AWAY:
      return process_go_away (self, id, length, error);
    default:
      return fail_protocol (self, error, "Unknown yamux frame type %u", type);
    }
}

static void
deliver_body (PunchYamuxSession *self,
              const guint8      *buf,
              gsize              len)
{
  Stream *s;

  if (!self->body_keep)
    return;
  s = lookup (self, self->body_id);
  if (s == NULL || s->reset)
    return;

  ring_push (self, &s->ring, buf, len, s->window_size);
  if (!s->readable_notified)
    {
      s->readable_notified = TRUE;
      queue_stream_event (self, s, PUNCH_YAMUX_EVENT_STREAM_READABLE);
    }
}

static gboolean
finish_body (PunchYamuxSession  *self,
             GError            **error)
{
  Stream *s;

  if (!self->body_keep)
    return TRUE;
  s = lookup (self, self->body_id);
  if (s == NULL || s->reset)
    return TRUE;
  return apply_flags (self, s, self->body_flags, 0, error);
}

/**
 * punch_yamux_session_receive:
 * @self: a session
 * @buf: (array length=len): bytes read from the transport
 * @len: the number of bytes in @buf
 * @now_us: the current monotonic time in microseconds
 * @error: return location for a #GError
 *
 * Parses the transport's bytes, which may cut frames anywhere.  DATA
 * payloads are copied into the streams' receive buffers; answers (ping
 * ACKs, refusals) are queued for punch_yamux_session_pull_output(); what
 * the application must learn is queued as events.
 *
 * On a protocol violation (a version other than 0, an unknown frame type,
 * DATA beyond the receive window or after FIN, a frame for a stream never
 * opened, a SYN with the wrong id parity or for an open stream, a window
 * overflowing 2^32 - 1, a PING or GO_AWAY off stream 0, a stream flood:
 * more than max_streams SYNs refused at the limit within 10 s) the
 * session queues a GO_AWAY with the protocol error code and dies.
 *
 * Returns: %TRUE on success; %FALSE when the session is or became dead,
 *   with %PUNCH_ERROR_PROTOCOL for a violation, %PUNCH_ERROR_TOO_LARGE when
 *   the peer provokes answers without reading them, %PUNCH_ERROR_CLOSED when
 *   the peer went away with an error code or the session was already dead
 */
gboolean
punch_yamux_session_receive (PunchYamuxSession  *self,
                             const guint8       *buf,
                             gsize               len,
                             gint64              now_us,
                             GError            **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (buf != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_dead (self, error))
    return FALSE;
  note_time (self, now_us);
  if (len > 0)
    self->last_rx_us = now_us;

  while (len > 0)
    {
      const guint8 *h;

      if (self->body_left > 0)
        {
          gsize n = MIN (len, self->body_left);

          deliver_body (self, buf, n);
          buf += n;
          len -= n;
          self->body_left -= n;
          if (self->body_left == 0 && !finish_body (self, error))
            return FALSE;
          continue;
        }

      if (self->hdr_len == 0 && len >= PUNCH_YAMUX_HEADER_SIZE)
        {
          h = buf;
          buf += PUNCH_YAMUX_HEADER_SIZE;
          len -= PUNCH_YAMUX_HEADER_SIZE;
        }
      else
        {
          gsize n = MIN (len, PUNCH_YAMUX_HEADER_SIZE - self->hdr_len);

          memcpy (self->hdr + self->hdr_len, buf, n);
          self->hdr_len += n;
          buf += n;
          len -= n;
          if (self->hdr_len < PUNCH_YAMUX_HEADER_SIZE)
            break;
          self->hdr_len = 0;
          h = self->hdr;
        }

      if (!process_header (self, h, error))
        return FALSE;
    }

  return TRUE;
}

/**
 * punch_yamux_session_receive_eof:
 * @self: a session
 * @error: return location for a #GError
 *
 * Tells the session that the transport was closed by the peer.  The
 * session dies (a %PUNCH_YAMUX_EVENT_SESSION_ERROR event with
 * %PUNCH_ERROR_CLOSED, or %PUNCH_ERROR_TRUNCATED when a frame was cut).
 *
 * Returns: %FALSE with %PUNCH_ERROR_TRUNCATED if the transport ended in
 *   the middle of a frame, else %TRUE
 */
gboolean
punch_yamux_session_receive_eof (PunchYamuxSession  *self,
                                 GError            **error)
{
  g_autoptr(GError) err = NULL;

  g_return_val_if_fail (self != NULL, FALSE);

  if (self->dead)
    return TRUE;
  if (self->hdr_len > 0 || self->body_left > 0)
    return fail (self, error, PUNCH_ERROR_TRUNCATED, -1,
                 "The yamux transport ended in the middle of a frame");

  err = g_error_new_literal (PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                             "The yamux transport was closed");
  die (self, err);
  return TRUE;
}

/* After the output was taken: streams refused for lack of output room
 * may write again. */
static void
output_taken (PunchYamuxSession *self)
{
  if (self->output_blocked && !self->dead)
    {
      GHashTableIter iter;
      gpointer value;

      self->output_blocked = FALSE;
      g_hash_table_iter_init (&iter, self->streams);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        stream_maybe_writable (self, value);
    }
}

/**
 * punch_yamux_session_pull_output:
 * @self: a session
 *
 * Takes the frames queued so far, to be written to the transport in
 * order.  The session does not copy them again: the returned bytes are its
 * output buffer.  Also after the session died, this returns what was
 * queued before (a GO_AWAY in particular).
 *
 * Pulling may make streams writable again when writes were refused for
 * lack of output room (%PUNCH_YAMUX_EVENT_STREAM_WRITABLE).
 *
 * Returns: (transfer full) (nullable): the bytes to send, or %NULL when
 *   nothing is queued
 */
GBytes *
punch_yamux_session_pull_output (PunchYamuxSession *self)
{
  GBytes *bytes;
  guint used;

  g_return_val_if_fail (self != NULL, NULL);

  used = self->out->len;
  if (used == 0)
    return NULL;

  bytes = g_byte_array_free_to_bytes (self->out);
  /* Size the next buffer like this one, so bulk writes do not realloc. */
  self->out = g_byte_array_sized_new (CLAMP (used, 4096, self->config.max_output + 4096));
  output_taken (self);

  return bytes;
}

/**
 * punch_yamux_session_peek_output:
 * @self: a session
 * @out_len: (out): the number of bytes queued
 *
 * Shows the frames queued so far without taking them, for callers that
 * copy (or encrypt) them at once; punch_yamux_session_consume_output()
 * then releases them.  Unlike punch_yamux_session_pull_output(), this
 * keeps the output buffer allocated from one flush to the next.  The
 * pointer is valid until the next call on @self.
 *
 * Returns: (array length=out_len) (nullable): the bytes to send, or %NULL
 *   when nothing is queued
 */
const guint8 *
punch_yamux_session_peek_output (PunchYamuxSession *self,
                                 gsize             *out_len)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (out_len != NULL, NULL);

  *out_len = self->out->len;
  return self->out->len > 0 ? self->out->data : NULL;
}

/**
 * punch_yamux_session_consume_output:
 * @self: a session
 *
 * Drops the frames punch_yamux_session_peek_output() showed, as
 * punch_yamux_session_pull_output() would have taken them (streams may
 * become writable again).  The buffer is kept for the next frames unless
 * it grew beyond PUNCH_YAMUX_RETAINED_OUTPUT, so that an idle session
 * does not hold a large one.
 */
void
punch_yamux_session_consume_output (PunchYamuxSession *self)
{
  g_return_if_fail (self != NULL);

  if (self->out->len == 0)
    return;
  if (self->out->len > PUNCH_YAMUX_RETAINED_OUTPUT)
    {
      g_byte_array_unref (self->out);
      self->out = g_byte_array_sized_new (4096);
    }
  else
    g_byte_array_set_size (self->out, 0);
  output_taken (self);
}

/**
 * punch_yamux_session_get_output_size:
 * @self: a session
 *
 * Returns: the number of bytes punch_yamux_session_pull_output() would
 *   return
 */
gsize
punch_yamux_session_get_output_size (PunchYamuxSession *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->out->len;
}

/**
 * punch_yamux_session_next_event:
 * @self: a session
 * @event: (out caller-allocates): the event
 *
 * Takes the oldest event.  READABLE is edge-triggered: at most one is
 * queued between two punch_yamux_session_read() calls on a stream, so read
 * until it returns 0.  WRITABLE comes after a short write, once the stream
 * can take data again.  Release the event with punch_yamux_event_clear().
 *
 * Returns: %TRUE if @event was filled in, %FALSE if there are no events
 */
gboolean
punch_yamux_session_next_event (PunchYamuxSession *self,
                                PunchYamuxEvent   *event)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (event != NULL, FALSE);

  if (self->events_head >= self->events->len)
    {
      *event = (PunchYamuxEvent) { .type = PUNCH_YAMUX_EVENT_NONE };
      return FALSE;
    }

  *event = g_array_index (self->events, PunchYamuxEvent, self->events_head);
  self->events_head++;
  if (self->events_head == self->events->len)
    {
      g_array_set_size (self->events, 0);
      self->events_head = 0;
    }
  else if (self->events_head >= 256 && self->events_head * 2 >= self->events->len)
    {
      g_array_remove_range (self->events, 0, self->events_head);
      self->events_head = 0;
    }

  if (is_stream_event (event->type))
    {
      Stream *s = lookup (self, event->stream_id);

      if (s != NULL)
        {
          s->pending_events--;
          stream_maybe_release (self, s);
        }
    }
  return TRUE;
}

/**
 * punch_yamux_event_clear:
 * @event: an event filled by punch_yamux_session_next_event()
 *
 * Frees what @event owns and resets it to %PUNCH_YAMUX_EVENT_NONE.
 */
void
punch_yamux_event_clear (PunchYamuxEvent *event)
{
  g_return_if_fail (event != NULL);

  g_clear_error (&event->error);
  *event = (PunchYamuxEvent) { .type = PUNCH_YAMUX_EVENT_NONE };
}

/**
 * punch_yamux_session_open_stream:
 * @self: a session
 * @error: return location for a #GError
 *
 * Opens a stream: queues a WINDOW_UPDATE with SYN (announcing any window
 * beyond the initial one).  Data may be written at once, before the peer
 * acknowledges the stream; if the peer refuses it, a
 * %PUNCH_YAMUX_EVENT_STREAM_RESET follows.
 *
 * Returns: the new stream id, or 0 with %PUNCH_ERROR_CLOSED when the
 *   session is dead or a GO_AWAY was sent or received,
 *   %PUNCH_ERROR_TOO_LARGE when max_streams, max_ack_backlog or
 *   max_buffered would be exceeded, %PUNCH_ERROR_FAILED when the stream
 *   ids are exhausted
 */
guint32
punch_yamux_session_open_stream (PunchYamuxSession  *self,
                                 GError            **error)
{
  Stream *s;
  guint32 id;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  if (!check_dead (self, error))
    return 0;
  if (self->local_go_away || self->remote_go_away)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                           "The yamux session is going away");
      return 0;
    }
  if (self->next_local_id > G_MAXUINT32)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_FAILED,
                           "The yamux stream ids are exhausted");
      return 0;
    }
  if (g_hash_table_size (self->streams) >= self->config.max_streams ||
      self->n_unacked >= self->config.max_ack_backlog ||
      self->committed + self->config.receive_window > self->config.max_buffered)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "Too many yamux streams (%u open, %u not acknowledged)",
                   g_hash_table_size (self->streams), self->n_unacked);
      return 0;
    }

  id = (guint32) self->next_local_id;
  self->next_local_id += 2;
  s = stream_new (self, id, TRUE);
  s->unacked = TRUE;
  self->n_unacked++;
  send_window_update (self, s, PUNCH_YAMUX_FLAG_SYN);
  g_debug ("yamux: stream %u opened", id);
  return id;
}

static Stream *
lookup_for_app (PunchYamuxSession  *self,
                guint32             stream_id,
                GError            **error)
{
  Stream *s;

  if (!check_dead (self, error))
    return NULL;
  s = lookup (self, stream_id);
  if (s == NULL)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                   "Yamux stream %u is not open", stream_id);
      return NULL;
    }
  if (s->reset)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                   "Yamux stream %u was reset", stream_id);
      return NULL;
    }
  return s;
}

/**
 * punch_yamux_session_accept_stream:
 * @self: a session
 * @stream_id: a stream the peer opened
 * @error: return location for a #GError
 *
 * Acknowledges an inbound stream now (a WINDOW_UPDATE with ACK) instead of
 * with the first frame the application sends on it.  Does nothing when it
 * is acknowledged already.
 *
 * Returns: %TRUE on success, %FALSE with %PUNCH_ERROR_CLOSED when the
 *   stream or session is closed or the stream was reset
 */
gboolean
punch_yamux_session_accept_stream (PunchYamuxSession  *self,
                                   guint32             stream_id,
                                   GError            **error)
{
  Stream *s;

  g_return_val_if_fail (self != NULL, FALSE);

  s = lookup_for_app (self, stream_id, error);
  if (s == NULL)
    return FALSE;
  if (s->need_ack)
    send_window_update (self, s, 0);
  return TRUE;
}

/**
 * punch_yamux_session_write:
 * @self: a session
 * @stream_id: an open stream
 * @buf: (array length=len): the data
 * @len: the number of bytes in @buf
 * @error: return location for a #GError
 *
 * Queues as much of @buf as the peer's window for the stream (and the
 * output room, max_output) allows, in DATA frames of at most
 * max_frame_size bytes.  Nothing is buffered beyond that: when fewer than
 * @len bytes are taken, retry after %PUNCH_YAMUX_EVENT_STREAM_WRITABLE.
 *
 * Returns: the number of bytes taken (possibly 0), or -1 with
 *   %PUNCH_ERROR_CLOSED when the session or stream is closed, the stream
 *   was reset or already half-closed with punch_yamux_session_close_stream()
 */
gssize
punch_yamux_session_write (PunchYamuxSession  *self,
                           guint32             stream_id,
                           const guint8       *buf,
                           gsize               len,
                           GError            **error)
{
  Stream *s;
  gsize room, n, done;

  g_return_val_if_fail (self != NULL, -1);
  g_return_val_if_fail (buf != NULL || len == 0, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  s = lookup_for_app (self, stream_id, error);
  if (s == NULL)
    return -1;
  if (s->local_fin)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                   "Yamux stream %u is closed for writing", stream_id);
      return -1;
    }
  if (len == 0)
    return 0;

  room = self->out->len < self->config.max_output ?
         self->config.max_output - self->out->len : 0;
  n = MIN (len, room);
  n = MIN (n, s->send_window);
  n = MIN (n, G_MAXSSIZE);
  if (n < len)
    {
      s->write_blocked = TRUE;
      if (n == room)
        self->output_blocked = TRUE;
    }
  if (n == 0)
    return 0;

  /* An extra initial window travels with the ACK on a WINDOW_UPDATE;
   * otherwise the ACK rides on the first DATA frame. */
  if (s->need_ack && s->pending_update > 0)
    send_window_update (self, s, 0);

  for (done = 0; done < n;)
    {
      gsize chunk = MIN (n - done, self->config.max_frame_size);
      guint16 flags = 0;

      if (s->need_ack)
        {
          flags |= PUNCH_YAMUX_FLAG_ACK;
          s->need_ack = FALSE;
          s->phase = PHASE_ESTABLISHED;
        }
      queue_frame (self, PUNCH_YAMUX_TYPE_DATA, flags, stream_id, chunk);
      g_byte_array_append (self->out, buf + done, chunk);
      done += chunk;
    }
  s->send_window -= n;
  return n;
}

/**
 * punch_yamux_session_read:
 * @self: a session
 * @stream_id: a stream
 * @buf: (out caller-allocates) (array length=len): where to copy the data
 * @len: the size of @buf
 * @eof: (out) (optional): set to %TRUE when the peer half-closed the
 *   stream and every byte has been read
 * @error: return location for a #GError
 *
 * Copies received data out of the stream's buffer.  Reading is what
 * credits the peer: a window update is queued once half the window has
 * been read, so a reader that does not read stops the sender.
 *
 * A stream closed both ways is released once a read reported the end and
 * its events are polled; later calls fail with %PUNCH_ERROR_CLOSED.
 *
 * Returns: the number of bytes copied (0 when none are waiting), or -1
 *   with %PUNCH_ERROR_CLOSED when the session or stream is closed or the
 *   stream was reset (buffered data is discarded on reset)
 */
gssize
punch_yamux_session_read (PunchYamuxSession  *self,
                          guint32             stream_id,
                          guint8             *buf,
                          gsize               len,
                          gboolean           *eof,
                          GError            **error)
{
  Stream *s;
  gsize n;

  g_return_val_if_fail (self != NULL, -1);
  g_return_val_if_fail (buf != NULL || len == 0, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  if (eof != NULL)
    *eof = FALSE;
  s = lookup_for_app (self, stream_id, error);
  if (s == NULL)
    return -1;

  s->readable_notified = FALSE;
  n = ring_pop (&s->ring, buf, MIN (len, G_MAXSSIZE));
  if (n > 0)
    {
      s->pending_update += n;
      maybe_update_window (self, s);
      stream_recommit (self, s);
    }
  if (s->remote_fin && s->ring.len == 0)
    s->eof_seen = TRUE;
  if (eof != NULL)
    *eof = s->eof_seen;
  stream_maybe_release (self, s);
  return n;
}

/**
 * punch_yamux_session_close_stream:
 * @self: a session
 * @stream_id: a stream
 * @error: return location for a #GError
 *
 * Half-closes the stream: queues a FIN; the peer may still send.  Closing
 * twice does nothing.
 *
 * Returns: %TRUE on success, %FALSE with %PUNCH_ERROR_CLOSED when the
 *   session or stream is closed or the stream was reset
 */
gboolean
punch_yamux_session_close_stream (PunchYamuxSession  *self,
                                  guint32             stream_id,
                                  GError            **error)
{
  Stream *s;

  g_return_val_if_fail (self != NULL, FALSE);

  s = lookup_for_app (self, stream_id, error);
  if (s == NULL)
    return FALSE;
  if (s->local_fin)
    return TRUE;

  s->local_fin = TRUE;
  s->write_blocked = FALSE;
  send_window_update (self, s, PUNCH_YAMUX_FLAG_FIN);
  stream_maybe_release (self, s);
  return TRUE;
}

/**
 * punch_yamux_session_reset_stream:
 * @self: a session
 * @stream_id: a stream
 * @error: return location for a #GError
 *
 * Resets the stream: queues an RST and discards its buffered data.
 * Resetting a reset stream does nothing.
 *
 * Returns: %TRUE on success, %FALSE with %PUNCH_ERROR_CLOSED when the
 *   session is dead or the stream is not open
 */
gboolean
punch_yamux_session_reset_stream (PunchYamuxSession  *self,
                                  guint32             stream_id,
                                  GError            **error)
{
  Stream *s;

  g_return_val_if_fail (self != NULL, FALSE);

  if (!check_dead (self, error))
    return FALSE;
  s = lookup (self, stream_id);
  if (s == NULL)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                   "Yamux stream %u is not open", stream_id);
      return FALSE;
    }
  if (s->reset)
    return TRUE;

  queue_frame (self, PUNCH_YAMUX_TYPE_WINDOW_UPDATE, PUNCH_YAMUX_FLAG_RST, stream_id, 0);
  stream_mark_reset (self, s);
  stream_maybe_release (self, s);
  return TRUE;
}

/**
 * punch_yamux_session_ping:
 * @self: a session
 * @now_us: the current monotonic time in microseconds
 * @error: return location for a #GError
 *
 * Sends a PING to measure the RTT (%PUNCH_YAMUX_EVENT_PING_RTT when it is
 * answered; ping_timeout_us applies).  Only one ping is outstanding at a
 * time: while one is, this does nothing.
 *
 * Returns: %TRUE on success, %FALSE with %PUNCH_ERROR_CLOSED when the
 *   session is dead
 */
gboolean
punch_yamux_session_ping (PunchYamuxSession  *self,
                          gint64              now_us,
                          GError            **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (!check_dead (self, error))
    return FALSE;
  note_time (self, now_us);
  if (self->ping_outstanding)
    return TRUE;

  self->ping_opaque++;
  self->ping_outstanding = TRUE;
  self->ping_sent_us = now_us;
  queue_frame (self, PUNCH_YAMUX_TYPE_PING, PUNCH_YAMUX_FLAG_SYN, 0, self->ping_opaque);
  return TRUE;
}

/**
 * punch_yamux_session_go_away:
 * @self: a session
 * @code: the termination code
 * @error: return location for a #GError
 *
 * Queues a GO_AWAY.  Afterwards no stream can be opened and inbound SYNs
 * are refused with RST.  With %PUNCH_YAMUX_GO_AWAY_NORMAL the open streams
 * finish (see punch_yamux_session_is_finished()); with an error code the
 * session dies at once (after its output is pulled).  A second normal
 * GO_AWAY is not sent.
 *
 * Returns: %TRUE on success, %FALSE with %PUNCH_ERROR_CLOSED when the
 *   session is dead
 */
gboolean
punch_yamux_session_go_away (PunchYamuxSession     *self,
                             PunchYamuxGoAwayCode   code,
                             GError               **error)
{
  g_autoptr(GError) why = NULL;

  g_return_val_if_fail (self != NULL, FALSE);

  if (!check_dead (self, error))
    return FALSE;
  if (self->local_go_away && code == PUNCH_YAMUX_GO_AWAY_NORMAL)
    return TRUE;

  queue_frame (self, PUNCH_YAMUX_TYPE_GO_AWAY, 0, 0, code);
  self->local_go_away = TRUE;
  if (code != PUNCH_YAMUX_GO_AWAY_NORMAL)
    {
      why = g_error_new (PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                         "The yamux session was ended with error code %u", code);
      die (self, why);
    }
  return TRUE;
}

/**
 * punch_yamux_session_get_deadline:
 * @self: a session
 *
 * Returns: the monotonic time (µs) at which punch_yamux_session_handle_timeout()
 *   must be called: the next keepalive ping or the ping timeout; 0 (at
 *   once) when keepalive is enabled but the session has not been given a
 *   time yet; %G_MAXINT64 when no timer is needed
 */
gint64
punch_yamux_session_get_deadline (PunchYamuxSession *self)
{
  g_return_val_if_fail (self != NULL, G_MAXINT64);

  if (self->dead)
    return G_MAXINT64;
  if (self->ping_outstanding)
    {
      if (self->config.ping_timeout_us == 0)
        return G_MAXINT64;
      return MAX (self->ping_sent_us, self->last_rx_us) + self->config.ping_timeout_us;
    }
  if (self->config.keepalive_interval_us == 0)
    return G_MAXINT64;
  if (!self->have_time)
    return 0;
  return self->next_keepalive_us;
}

/**
 * punch_yamux_session_handle_timeout:
 * @self: a session
 * @now_us: the current monotonic time in microseconds
 * @error: return location for a #GError
 *
 * Runs the timers: sends the keepalive ping when due; kills the session
 * when a ping went unanswered for ping_timeout_us with nothing received
 * meanwhile (no GO_AWAY is queued: the peer is silent).
 *
 * Returns: %TRUE while the session lives, %FALSE with %PUNCH_ERROR_CLOSED
 *   when it is or became dead
 */
gboolean
punch_yamux_session_handle_timeout (PunchYamuxSession  *self,
                                    gint64              now_us,
                                    GError            **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_dead (self, error))
    return FALSE;
  note_time (self, now_us);

  if (self->ping_outstanding)
    {
      if (self->config.ping_timeout_us > 0 &&
          now_us >= MAX (self->ping_sent_us, self->last_rx_us) + self->config.ping_timeout_us)
        return fail (self, error, PUNCH_ERROR_CLOSED, -1,
                     "The yamux peer did not answer a ping within %" G_GINT64_FORMAT " ms",
                     self->config.ping_timeout_us / 1000);
      return TRUE;
    }

  if (self->config.keepalive_interval_us > 0 && now_us >= self->next_keepalive_us)
    return punch_yamux_session_ping (self, now_us, error);
  return TRUE;
}

/**
 * punch_yamux_session_get_stream_state:
 * @self: a session
 * @stream_id: a stream id
 *
 * Returns: the state of the stream, %PUNCH_YAMUX_STREAM_STATE_NONE when it
 *   is unknown, released or the session is dead
 */
PunchYamuxStreamState
punch_yamux_session_get_stream_state (PunchYamuxSession *self,
                                      guint32            stream_id)
{
  Stream *s;

  g_return_val_if_fail (self != NULL, PUNCH_YAMUX_STREAM_STATE_NONE);

  s = lookup (self, stream_id);
  if (s == NULL)
    return PUNCH_YAMUX_STREAM_STATE_NONE;
  if (s->reset)
    return PUNCH_YAMUX_STREAM_STATE_RESET;
  if (s->local_fin && s->remote_fin)
    return PUNCH_YAMUX_STREAM_STATE_CLOSED;
  if (s->local_fin)
    return PUNCH_YAMUX_STREAM_STATE_LOCAL_CLOSED;
  if (s->remote_fin)
    return PUNCH_YAMUX_STREAM_STATE_REMOTE_CLOSED;
  switch (s->phase)
    {
    case PHASE_SYN_SENT:
      return PUNCH_YAMUX_STREAM_STATE_SYN_SENT;
    case PHASE_SYN_RECEIVED:
      return PUNCH_YAMUX_STREAM_STATE_SYN_RECEIVED;
    case PHASE_ESTABLISHED:
    default:
      return PUNCH_YAMUX_STREAM_STATE_ESTABLISHED;
    }
}

/**
 * punch_yamux_session_get_send_window:
 * @self: a session
 * @stream_id: a stream id
 *
 * Returns: how many bytes punch_yamux_session_write() may queue on the
 *   stream now as far as the peer's window goes (0 for unknown streams)
 */
guint32
punch_yamux_session_get_send_window (PunchYamuxSession *self,
                                     guint32            stream_id)
{
  Stream *s;

  g_return_val_if_fail (self != NULL, 0);

  s = lookup (self, stream_id);
  if (s == NULL || s->reset || s->local_fin)
    return 0;
  return (guint32) s->send_window;
}

/**
 * punch_yamux_session_set_max_receive_window:
 * @self: a session
 * @stream_id: a stream id
 * @max_window: how far auto-tuning may grow the stream's receive window;
 *   clamped to the session's max_receive_window
 *
 * Bounds one stream's receive window below the session's maximum, for a
 * reader that forwards what it reads and would otherwise let a fast
 * writer park up to max_receive_window bytes in it (a relay).  A window
 * that is already larger is not shrunk (yamux cannot take credit back);
 * it stops growing.  Unknown streams are ignored.
 */
void
punch_yamux_session_set_max_receive_window (PunchYamuxSession *self,
                                            guint32            stream_id,
                                            guint32            max_window)
{
  Stream *s;

  g_return_if_fail (self != NULL);

  s = lookup (self, stream_id);
  if (s != NULL)
    s->max_window = MIN (max_window, self->config.max_receive_window);
}

/**
 * punch_yamux_session_get_readable:
 * @self: a session
 * @stream_id: a stream id
 *
 * Returns: the number of received bytes waiting to be read on the stream
 */
gsize
punch_yamux_session_get_readable (PunchYamuxSession *self,
                                  guint32            stream_id)
{
  Stream *s;

  g_return_val_if_fail (self != NULL, 0);

  s = lookup (self, stream_id);
  return s != NULL ? s->ring.len : 0;
}

/**
 * punch_yamux_session_get_n_streams:
 * @self: a session
 *
 * Returns: the number of streams the session holds (not yet released)
 */
guint
punch_yamux_session_get_n_streams (PunchYamuxSession *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return g_hash_table_size (self->streams);
}

/**
 * punch_yamux_session_get_buffered_size:
 * @self: a session
 *
 * Returns: the bytes allocated for receive buffers, never more than
 *   max_buffered
 */
gsize
punch_yamux_session_get_buffered_size (PunchYamuxSession *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->ring_bytes;
}

/**
 * punch_yamux_session_get_rtt:
 * @self: a session
 *
 * Returns: the last measured round-trip time in µs, 0 before any ping was
 *   answered
 */
gint64
punch_yamux_session_get_rtt (PunchYamuxSession *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->rtt_us;
}

/**
 * punch_yamux_session_is_dead:
 * @self: a session
 *
 * Returns: %TRUE after a protocol error, an error GO_AWAY (sent or
 *   received), a ping timeout or the transport's end
 */
gboolean
punch_yamux_session_is_dead (PunchYamuxSession *self)
{
  g_return_val_if_fail (self != NULL, TRUE);

  return self->dead;
}

/**
 * punch_yamux_session_is_finished:
 * @self: a session
 *
 * Whether the transport may be closed once the output is flushed: the
 * session is dead, or a GO_AWAY was sent or received and every stream has
 * been released.
 *
 * Returns: %TRUE when nothing is left to do
 */
gboolean
punch_yamux_session_is_finished (PunchYamuxSession *self)
{
  g_return_val_if_fail (self != NULL, TRUE);

  return self->dead ||
         ((self->local_go_away || self->remote_go_away) &&
          g_hash_table_size (self->streams) == 0);
}
