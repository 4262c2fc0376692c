/* punch-relay-client.h: reservations kept on relays, relayed connections both ways.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "punch-version.h"
#include "punch-host.h"
#include "punch-multiaddr.h"
#include "punch-relay.h"

G_BEGIN_DECLS

#define PUNCH_TYPE_RELAY_CLIENT (punch_relay_client_get_type ())

PUNCH_AVAILABLE_IN_0_1
G_DECLARE_FINAL_TYPE (PunchRelayClient, punch_relay_client, PUNCH, RELAY_CLIENT, GObject)

PUNCH_AVAILABLE_IN_0_1
PunchRelayClient *punch_relay_client_new                    (PunchHost        *host);
PUNCH_AVAILABLE_IN_0_1
PunchHost        *punch_relay_client_get_host               (PunchRelayClient *self);
PUNCH_AVAILABLE_IN_0_1
gboolean          punch_relay_client_add_relay              (PunchRelayClient *self,
                                                             PunchMultiaddr   *address,
                                                             GError          **error);
PUNCH_AVAILABLE_IN_0_1
void              punch_relay_client_set_reserving          (PunchRelayClient *self,
                                                             gboolean          reserving);
PUNCH_AVAILABLE_IN_0_1
gboolean          punch_relay_client_get_reserving          (PunchRelayClient *self);
PUNCH_AVAILABLE_IN_0_1
GPtrArray        *punch_relay_client_get_reservations       (PunchRelayClient *self);
PUNCH_AVAILABLE_IN_0_1
GPtrArray        *punch_relay_client_get_relayed_addresses  (PunchRelayClient *self);

G_END_DECLS
