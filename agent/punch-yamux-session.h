/* punch-yamux-session.h: sans-I/O yamux 1.0 session (stream multiplexer).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The multistream-select protocol id of yamux. */
#define PUNCH_YAMUX_PROTOCOL_ID "/yamux/1.0.0"

/* Every frame starts with a 12-byte header. */
#define PUNCH_YAMUX_HEADER_SIZE 12

/* The receive window both sides assume for every new stream (spec:
 * "Flow Control"); a larger one is announced with a window update. */
#define PUNCH_YAMUX_INITIAL_WINDOW (256 * 1024)

/* Output buffer capacity kept between flushes by
 * punch_yamux_session_consume_output(). */
#define PUNCH_YAMUX_RETAINED_OUTPUT (1024 * 1024)

typedef enum {
  PUNCH_YAMUX_TYPE_DATA = 0,
  PUNCH_YAMUX_TYPE_WINDOW_UPDATE = 1,
  PUNCH_YAMUX_TYPE_PING = 2,
  PUNCH_YAMUX_TYPE_GO_AWAY = 3,
} PunchYamuxFrameType;

typedef enum {
  PUNCH_YAMUX_FLAG_SYN = 0x1,
  PUNCH_YAMUX_FLAG_ACK = 0x2,
  PUNCH_YAMUX_FLAG_FIN = 0x4,
  PUNCH_YAMUX_FLAG_RST = 0x8,
} PunchYamuxFlags;

typedef enum {
  PUNCH_YAMUX_GO_AWAY_NORMAL = 0,
  PUNCH_YAMUX_GO_AWAY_PROTOCOL_ERROR = 1,
  PUNCH_YAMUX_GO_AWAY_INTERNAL_ERROR = 2,
} PunchYamuxGoAwayCode;

typedef enum {
  PUNCH_YAMUX_STREAM_STATE_NONE,          /* unknown or already released */
  PUNCH_YAMUX_STREAM_STATE_SYN_SENT,      /* opened here, not yet acknowledged */
  PUNCH_YAMUX_STREAM_STATE_SYN_RECEIVED,  /* opened by the peer, ACK not yet sent */
  PUNCH_YAMUX_STREAM_STATE_ESTABLISHED,
  PUNCH_YAMUX_STREAM_STATE_LOCAL_CLOSED,  /* FIN sent, the peer may still send */
  PUNCH_YAMUX_STREAM_STATE_REMOTE_CLOSED, /* FIN received, we may still send */
  PUNCH_YAMUX_STREAM_STATE_CLOSED,        /* FIN both ways, data left to read */
  PUNCH_YAMUX_STREAM_STATE_RESET,
} PunchYamuxStreamState;

typedef enum {
  PUNCH_YAMUX_EVENT_NONE,
  PUNCH_YAMUX_EVENT_STREAM_OPENED,        /* stream_id: the peer opened it */
  PUNCH_YAMUX_EVENT_STREAM_READABLE,      /* stream_id: data to read */
  PUNCH_YAMUX_EVENT_STREAM_WRITABLE,      /* stream_id: a short write may be retried */
  PUNCH_YAMUX_EVENT_STREAM_REMOTE_CLOSED, /* stream_id: FIN received */
  PUNCH_YAMUX_EVENT_STREAM_RESET,         /* stream_id: RST received */
  PUNCH_YAMUX_EVENT_PING_RTT,             /* rtt_us */
  PUNCH_YAMUX_EVENT_GO_AWAY,              /* code: the peer sent GO_AWAY */
  PUNCH_YAMUX_EVENT_SESSION_ERROR,        /* error: the session is dead */
} PunchYamuxEventType;

/**
 * PunchYamuxEvent:
 * @type: what happened
 * @stream_id: the stream of the STREAM_* events, else 0
 * @code: the GO_AWAY code of %PUNCH_YAMUX_EVENT_GO_AWAY
 * @rtt_us: the round-trip time of %PUNCH_YAMUX_EVENT_PING_RTT
 * @error: (nullable): why the session died, for
 *   %PUNCH_YAMUX_EVENT_SESSION_ERROR; owned by the event
 *
 * An event polled with punch_yamux_session_next_event(); release it with
 * punch_yamux_event_clear().
 */
typedef struct {
  PunchYamuxEventType type;
  guint32 stream_id;
  guint32 code;
  gint64 rtt_us;
  GError *error;
} PunchYamuxEvent;

/**
 * PunchYamuxConfig:
 * @receive_window: the receive window of each new stream; at least
 *   %PUNCH_YAMUX_INITIAL_WINDOW (the excess is announced with the SYN/ACK)
 * @max_receive_window: how far a stream's window may grow when its reader
 *   keeps up and the RTT is known (auto-tuning); at least @receive_window
 * @max_streams: streams (both directions) the session holds at once;
 *   inbound SYNs beyond it are refused with RST; a peer refused at this
 *   limit more than this many times within 10 s (no stream admitted in
 *   between) is flooding and the session ends with a protocol error
 *   GO_AWAY
 * @max_ack_backlog: outbound streams not yet acknowledged by the peer
 * @max_buffered: bound on the bytes all receive buffers may hold: the sum
 *   of the windows of the streams that can still receive; a stream that
 *   would exceed it is refused, windows do not grow beyond it
 * @max_output: writes are refused while this many bytes wait in
 *   punch_yamux_session_pull_output(); twice as much (control frames the
 *   peer provokes while not reading) kills the session
 * @max_frame_size: writes are split into DATA frames of at most this
 * @keepalive_interval_us: a ping is sent this long after the last answered
 *   one; 0 disables keepalive pings
 * @ping_timeout_us: the session dies when a ping stays unanswered and
 *   nothing at all was received for this long; 0 disables the timeout
 *
 * Session settings; punch_yamux_config_init() fills in the defaults.
 */
typedef struct {
  guint32 receive_window;
  guint32 max_receive_window;
  guint max_streams;
  guint max_ack_backlog;
  gsize max_buffered;
  gsize max_output;
  guint32 max_frame_size;
  gint64 keepalive_interval_us;
  gint64 ping_timeout_us;
} PunchYamuxConfig;

typedef struct _PunchYamuxSession PunchYamuxSession;

void                  punch_yamux_config_init        (PunchYamuxConfig *config);

PunchYamuxSession    *punch_yamux_session_new        (gboolean is_client,
                                                      const PunchYamuxConfig *config);
void                  punch_yamux_session_free       (PunchYamuxSession *self);

gboolean              punch_yamux_session_receive    (PunchYamuxSession *self,
                                                      const guint8 *buf,
                                                      gsize len,
                                                      gint64 now_us,
                                                      GError **error);
gboolean              punch_yamux_session_receive_eof (PunchYamuxSession *self,
                                                      GError **error);
GBytes               *punch_yamux_session_pull_output (PunchYamuxSession *self);
const guint8         *punch_yamux_session_peek_output (PunchYamuxSession *self,
                                                       gsize             *out_len);
void                  punch_yamux_session_consume_output (PunchYamuxSession *self);
gsize                 punch_yamux_session_get_output_size (PunchYamuxSession *self);

gboolean              punch_yamux_session_next_event (PunchYamuxSession *self,
                                                      PunchYamuxEvent *event);
void                  punch_yamux_event_clear        (PunchYamuxEvent *event);

guint32               punch_yamux_session_open_stream (PunchYamuxSession *self,
                                                      GError **error);
gboolean              punch_yamux_session_accept_stream (PunchYamuxSession *self,
                                                      guint32 stream_id,
                                                      GError **error);
gssize                punch_yamux_session_write      (PunchYamuxSession *self,
                                                      guint32 stream_id,
                                                      const guint8 *buf,
                                                      gsize len,
                                                      GError **error);
gssize                punch_yamux_session_read       (PunchYamuxSession *self,
                                                      guint32 stream_id,
                                                      guint8 *buf,
                                                      gsize len,
                                                      gboolean *eof,
                                                      GError **error);
gboolean              punch_yamux_session_close_stream (PunchYamuxSession *self,
                                                      guint32 stream_id,
                                                      GError **error);
gboolean              punch_yamux_session_reset_stream (PunchYamuxSession *self,
                                                      guint32 stream_id,
                                                      GError **error);

gboolean              punch_yamux_session_ping       (PunchYamuxSession *self,
                                                      gint64 now_us,
                                                      GError **error);
gboolean              punch_yamux_session_go_away    (PunchYamuxSession *self,
                                                      PunchYamuxGoAwayCode code,
                                                      GError **error);
gint64                punch_yamux_session_get_deadline (PunchYamuxSession *self);
gboolean              punch_yamux_session_handle_timeout (PunchYamuxSession *self,
                                                      gint64 now_us,
                                                      GError **error);

PunchYamuxStreamState punch_yamux_session_get_stream_state (PunchYamuxSession *self,
                                                      guint32 stream_id);
guint32               punch_yamux_session_get_send_window (PunchYamuxSession *self,
                                                      guint32 stream_id);
void                  punch_yamux_session_set_max_receive_window (PunchYamuxSession *self,
                                                      guint32 stream_id,
                                                      guint32 max_window);
gsize                 punch_yamux_session_get_readable (PunchYamuxSession *self,
                                                      guint32 stream_id);
guint                 punch_yamux_session_get_n_streams (PunchYamuxSession *self);
gsize                 punch_yamux_session_get_buffered_size (PunchYamuxSession *self);
gint64                punch_yamux_session_get_rtt    (PunchYamuxSession *self);
gboolean              punch_yamux_session_is_dead    (PunchYamuxSession *self);
gboolean              punch_yamux_session_is_finished (PunchYamuxSession *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchYamuxSession, punch_yamux_session_free)

G_END_DECLS
