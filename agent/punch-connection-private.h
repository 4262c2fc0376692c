/* punch-connection-private.h: internals shared by the host, connection and stream shells.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "punch-connection.h"
#include "punch-host.h"
#include "punch-stream.h"
#include "punch-yamux-session.h"

G_BEGIN_DECLS

/* Bytes asked of the socket per read, and reads per wakeup at most. */
#define PUNCH_CONNECTION_READ_SIZE (256 * 1024)
#define PUNCH_CONNECTION_READS_PER_WAKEUP 4

/* Yamux output is not pulled (so stream writes stall once the session's
 * output is full) while this much ciphertext waits for the socket. */
#define PUNCH_CONNECTION_SOCKET_HIGH_WATER (256 * 1024)

/* A peer that makes us queue more than this (answers to its frames that it
 * does not read) is disconnected. Yamux bounds its own output well below. */
#define PUNCH_CONNECTION_MAX_QUEUED (4 * 1024 * 1024)

/* The yamux session's max_output: pending output beyond it refuses writes. */
#define PUNCH_CONNECTION_YAMUX_MAX_OUTPUT (256 * 1024)

/* Output buffers larger than this after a write are freed rather than
 * kept for the next one. */
#define PUNCH_CONNECTION_RETAINED_BUFFER (1024 * 1024)

/* After a graceful close the socket is shut down for writing; the peer has
 * this long to close its side before the socket is closed anyway. */
#define PUNCH_CONNECTION_LINGER_MS 2000

PunchConnection   *punch_connection_new              (PunchHost            *host,
                                                      GSocketConnection    *socket,
                                                      PunchDirection        direction,
                                                      PunchPeerId          *expected_peer_id,
                                                      GError              **error);
PunchConnection   *punch_connection_new_for_transport (PunchHost           *host,
                                                      GIOStream            *transport,
                                                      PunchDirection        direction,
                                                      PunchPeerId          *expected_peer_id,
                                                      PunchMultiaddr       *local_address,
                                                      PunchMultiaddr       *remote_address,
                                                      guint32               limit_duration,
                                                      guint64               limit_data);
void               punch_connection_start            (PunchConnection      *self);
void               punch_connection_detach_host      (PunchConnection      *self);

/* The host's bookkeeping: an opaque pointer (a dial) kept with the
 * connection until the upgrade ends. */
void               punch_connection_set_host_data    (PunchConnection      *self,
                                                      gpointer              data);
gpointer           punch_connection_get_host_data    (PunchConnection      *self);
gboolean           punch_connection_is_open          (PunchConnection      *self);
gboolean           punch_connection_accepts_streams  (PunchConnection      *self);

/* For PunchStream. */
PunchYamuxSession *punch_connection_get_yamux        (PunchConnection      *self);
void               punch_connection_schedule_flush   (PunchConnection      *self);
void               punch_connection_forget_stream    (PunchConnection      *self,
                                                      PunchStream          *stream);
void               punch_connection_discard_input    (PunchConnection      *self,
                                                      guint32               stream_id);
gboolean           punch_connection_write_negotiation (PunchConnection     *self,
                                                      PunchStream          *stream,
                                                      GError              **error);

/* Introspection for tests. */
gsize              punch_connection_get_queued_bytes (PunchConnection      *self);
const gchar       *punch_connection_get_alpn         (PunchConnection      *self);
gboolean           punch_connection_inject_plaintext (PunchConnection      *self,
                                                      const guint8         *data,
                                                      gsize                 len,
                                                      GError              **error);

G_END_DECLS
