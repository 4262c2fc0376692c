/* punch-stun-server.h: a STUN Binding server on a UDP port.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "punch-version.h"

G_BEGIN_DECLS

#define PUNCH_TYPE_STUN_SERVER (punch_stun_server_get_type ())
PUNCH_AVAILABLE_IN_0_1
G_DECLARE_FINAL_TYPE (PunchStunServer, punch_stun_server, PUNCH, STUN_SERVER, GObject)

PUNCH_AVAILABLE_IN_0_1
PunchStunServer    *punch_stun_server_new           (GInetSocketAddress  *address,
                                                     GError             **error);
PUNCH_AVAILABLE_IN_0_1
GInetSocketAddress *punch_stun_server_get_address   (PunchStunServer     *self);
PUNCH_AVAILABLE_IN_0_1
guint16             punch_stun_server_get_port      (PunchStunServer     *self);
PUNCH_AVAILABLE_IN_0_1
guint64             punch_stun_server_get_answered  (PunchStunServer     *self);
PUNCH_AVAILABLE_IN_0_1
guint64             punch_stun_server_get_ignored   (PunchStunServer     *self);
PUNCH_AVAILABLE_IN_0_1
void                punch_stun_server_close         (PunchStunServer     *self);

G_END_DECLS
