/* punch-connection.h: a libp2p connection (TCP, TLS 1.3, yamux) to one peer.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "punch-version.h"
#include "punch-multiaddr.h"
#include "punch-peer-id.h"

G_BEGIN_DECLS

/**
 * PunchDirection:
 * @PUNCH_DIRECTION_INBOUND: the remote peer opened it (we accepted it)
 * @PUNCH_DIRECTION_OUTBOUND: we opened it (we dialed it)
 *
 * Who opened a [class@Punch.Connection] or a [class@Punch.Stream].
 *
 * Since: 0.1
 */
typedef enum {
  PUNCH_DIRECTION_INBOUND,
  PUNCH_DIRECTION_OUTBOUND,
} PunchDirection;

#define PUNCH_TYPE_CONNECTION (punch_connection_get_type ())

PUNCH_AVAILABLE_IN_0_1
G_DECLARE_FINAL_TYPE (PunchConnection, punch_connection, PUNCH, CONNECTION, GObject)

/* Declared in punch-stream.h. */
typedef struct _PunchStream PunchStream;

PUNCH_AVAILABLE_IN_0_1
PunchPeerId    *punch_connection_get_remote_peer_id     (PunchConnection      *self);
PUNCH_AVAILABLE_IN_0_1
PunchMultiaddr *punch_connection_get_local_address      (PunchConnection      *self);
PUNCH_AVAILABLE_IN_0_1
PunchMultiaddr *punch_connection_get_remote_address     (PunchConnection      *self);
PUNCH_AVAILABLE_IN_0_1
PunchDirection  punch_connection_get_direction          (PunchConnection      *self);
PUNCH_AVAILABLE_IN_0_1
gboolean        punch_connection_is_limited             (PunchConnection      *self);
PUNCH_AVAILABLE_IN_0_1
guint32         punch_connection_get_limit_duration     (PunchConnection      *self);
PUNCH_AVAILABLE_IN_0_1
guint64         punch_connection_get_limit_data         (PunchConnection      *self);
PUNCH_AVAILABLE_IN_0_1
const gchar    *punch_connection_get_security_protocol  (PunchConnection      *self);
PUNCH_AVAILABLE_IN_0_1
const gchar    *punch_connection_get_muxer_protocol     (PunchConnection      *self);
PUNCH_AVAILABLE_IN_0_1
gboolean        punch_connection_is_closed              (PunchConnection      *self);

PUNCH_AVAILABLE_IN_0_1
void            punch_connection_open_stream_async      (PunchConnection      *self,
                                                         const gchar * const  *protocol_ids,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
PUNCH_AVAILABLE_IN_0_1
PunchStream    *punch_connection_open_stream_finish     (PunchConnection      *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);

PUNCH_AVAILABLE_IN_0_1
void            punch_connection_close_async            (PunchConnection      *self,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
PUNCH_AVAILABLE_IN_0_1
gboolean        punch_connection_close_finish           (PunchConnection      *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);
PUNCH_AVAILABLE_IN_0_1
void            punch_connection_close                  (PunchConnection      *self);

G_END_DECLS
