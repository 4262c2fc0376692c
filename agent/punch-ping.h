/* punch-ping.h: the ping protocol.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "punch-version.h"
#include "punch-connection.h"
#include "punch-host.h"

G_BEGIN_DECLS

/**
 * PUNCH_PING_PROTOCOL_ID:
 *
 * The protocol id of ping.
 *
 * Since: 0.1
 */
#define PUNCH_PING_PROTOCOL_ID "/ipfs/ping/1.0.0"

PUNCH_AVAILABLE_IN_0_1
void      punch_ping_async             (PunchConnection      *connection,
                                        GCancellable         *cancellable,
                                        GAsyncReadyCallback   callback,
                                        gpointer              user_data);
PUNCH_AVAILABLE_IN_0_1
gint64    punch_ping_finish            (PunchConnection      *connection,
                                        GAsyncResult         *result,
                                        GError              **error);

PUNCH_AVAILABLE_IN_0_1
void      punch_ping_attach_responder  (PunchHost            *host);

G_END_DECLS
