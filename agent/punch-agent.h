/* punch-agent.h: PunchAgent, the public façade: host, ICE candidates, reachability.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "punch-version.h"
#include "punch-autonat.h"
#include "punch-host.h"
#include "punch-keypair.h"
#include "punch-multiaddr.h"
#include "punch-relay-client.h"

G_BEGIN_DECLS

/**
 * PunchAddressOrigin:
 * @PUNCH_ADDRESS_ORIGIN_LISTEN: a TCP address the host listens on
 * @PUNCH_ADDRESS_ORIGIN_OBSERVED: a TCP address peers observed the host
 *   at (identify's observedAddr)
 * @PUNCH_ADDRESS_ORIGIN_ICE_HOST: a UDP ICE host candidate
 * @PUNCH_ADDRESS_ORIGIN_ICE_SERVER_REFLEXIVE: a UDP ICE server-reflexive
 *   candidate (the NAT's mapping, learnt from the STUN server)
 * @PUNCH_ADDRESS_ORIGIN_ICE_RELAYED: a UDP ICE relayed candidate (TURN)
 *
 * Where an address of a [class@Punch.Agent] comes from.
 *
 * Since: 0.1
 */
typedef enum {
  PUNCH_ADDRESS_ORIGIN_LISTEN,
  PUNCH_ADDRESS_ORIGIN_OBSERVED,
  PUNCH_ADDRESS_ORIGIN_ICE_HOST,
  PUNCH_ADDRESS_ORIGIN_ICE_SERVER_REFLEXIVE,
  PUNCH_ADDRESS_ORIGIN_ICE_RELAYED,
} PunchAddressOrigin;

#define PUNCH_TYPE_AGENT_ADDRESS (punch_agent_address_get_type ())

typedef struct _PunchAgentAddress PunchAgentAddress;

PUNCH_AVAILABLE_IN_0_1
GType               punch_agent_address_get_type         (void) G_GNUC_CONST;
PUNCH_AVAILABLE_IN_0_1
PunchAgentAddress  *punch_agent_address_ref              (PunchAgentAddress *address);
PUNCH_AVAILABLE_IN_0_1
void                punch_agent_address_unref            (PunchAgentAddress *address);
PUNCH_AVAILABLE_IN_0_1
PunchMultiaddr     *punch_agent_address_get_multiaddr    (PunchAgentAddress *address);
PUNCH_AVAILABLE_IN_0_1
PunchAddressOrigin  punch_agent_address_get_origin       (PunchAgentAddress *address);
PUNCH_AVAILABLE_IN_0_1
PunchReachability   punch_agent_address_get_reachability (PunchAgentAddress *address);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchAgentAddress, punch_agent_address_unref)

#define PUNCH_TYPE_AGENT (punch_agent_get_type ())

PUNCH_AVAILABLE_IN_0_1
G_DECLARE_FINAL_TYPE (PunchAgent, punch_agent, PUNCH, AGENT, GObject)

PUNCH_AVAILABLE_IN_0_1
PunchAgent        *punch_agent_new                      (PunchKeypair    *keypair);
PUNCH_AVAILABLE_IN_0_1
PunchHost         *punch_agent_get_host                 (PunchAgent      *self);
PUNCH_AVAILABLE_IN_0_1
void               punch_agent_set_stun_server          (PunchAgent      *self,
                                                         const gchar     *ip,
                                                         guint            port);
PUNCH_AVAILABLE_IN_0_1
void               punch_agent_set_turn_server          (PunchAgent      *self,
                                                         const gchar     *ip,
                                                         guint            port,
                                                         const gchar     *username,
                                                         const gchar     *password);
PUNCH_AVAILABLE_IN_0_1
void               punch_agent_add_local_address        (PunchAgent      *self,
                                                         GInetAddress    *address);
PUNCH_AVAILABLE_IN_0_1
void               punch_agent_add_autonat_server       (PunchAgent      *self,
                                                         PunchMultiaddr  *address);
PUNCH_AVAILABLE_IN_0_1
gboolean           punch_agent_add_relay                (PunchAgent      *self,
                                                         PunchMultiaddr  *address,
                                                         GError         **error);
PUNCH_AVAILABLE_IN_0_1
PunchRelayClient  *punch_agent_get_relay_client         (PunchAgent      *self);
PUNCH_AVAILABLE_IN_0_1
gboolean           punch_agent_start                    (PunchAgent      *self,
                                                         GError         **error);
PUNCH_AVAILABLE_IN_0_1
void               punch_agent_check_reachability       (PunchAgent      *self);
PUNCH_AVAILABLE_IN_0_1
PunchReachability  punch_agent_get_reachability         (PunchAgent      *self);
PUNCH_AVAILABLE_IN_0_1
guint              punch_agent_get_confidence           (PunchAgent      *self);
PUNCH_AVAILABLE_IN_0_1
GPtrArray         *punch_agent_get_addresses            (PunchAgent      *self);
PUNCH_AVAILABLE_IN_0_1
GPtrArray         *punch_agent_get_advertised_addresses (PunchAgent      *self);

G_END_DECLS
