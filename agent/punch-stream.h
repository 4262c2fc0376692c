/* punch-stream.h: a yamux stream of a libp2p connection, as a GIOStream.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "punch-version.h"
#include "punch-connection.h"

G_BEGIN_DECLS

#define PUNCH_TYPE_STREAM (punch_stream_get_type ())

PUNCH_AVAILABLE_IN_0_1
G_DECLARE_FINAL_TYPE (PunchStream, punch_stream, PUNCH, STREAM, GIOStream)

PUNCH_AVAILABLE_IN_0_1
const gchar     *punch_stream_get_protocol    (PunchStream  *self);
PUNCH_AVAILABLE_IN_0_1
PunchConnection *punch_stream_get_connection  (PunchStream  *self);
PUNCH_AVAILABLE_IN_0_1
PunchDirection   punch_stream_get_direction   (PunchStream  *self);
PUNCH_AVAILABLE_IN_0_1
gboolean         punch_stream_close_write     (PunchStream  *self,
                                               GError      **error);
PUNCH_AVAILABLE_IN_0_1
void             punch_stream_reset           (PunchStream  *self);

G_END_DECLS
