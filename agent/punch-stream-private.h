/* punch-stream-private.h: PunchStream's state, shared with its connection.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "punch-multistream.h"
#include "punch-stream.h"

G_BEGIN_DECLS

struct _PunchStream {
  GIOStream parent_instance;

  PunchConnection *connection;  /* owned */
  guint32 id;                   /* the yamux stream id */
  PunchDirection direction;
  gchar *protocol;              /* once negotiated */
  GInputStream *input;
  GOutputStream *output;

  /* Protocol negotiation, run by the connection. While it lasts the
   * connection holds a reference (held_by_connection). */
  PunchMultistream *ms;
  GByteArray *negotiation_output; /* multistream bytes yamux did not take yet */
  GTask *open_task;             /* outbound: the open_stream_async task */
  GSource *negotiation_timer;
  GSource *cancel_source;
  gboolean held_by_connection;
  gboolean in_table;            /* in the connection's stream table */

  /* Bytes that came after the negotiation, read before yamux's. */
  GBytes *pending;
  gsize pending_offset;

  gboolean read_eof;            /* a read returned the end of the stream */
  gboolean read_closed;         /* the input was closed locally */
  gboolean write_closed;        /* FIN sent */
  gboolean reset;               /* RST sent or received */
  gboolean reset_by_peer;
  GError *error;                /* the connection closed */
};

PunchStream *punch_stream_new                   (PunchConnection *connection,
                                                 guint32          id,
                                                 PunchDirection   direction);
void         punch_stream_set_protocol          (PunchStream     *self,
                                                 const gchar     *protocol,
                                                 GBytes          *pending);
void         punch_stream_connection_closed     (PunchStream     *self,
                                                 const GError    *reason);
guint32      punch_stream_get_id                (PunchStream     *self);
gsize        punch_stream_get_readable_size     (PunchStream     *self);
void         punch_stream_set_max_receive_window (PunchStream    *self,
                                                 guint32          max_window);

G_END_DECLS
