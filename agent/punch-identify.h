/* punch-identify.h: the identify and identify push protocols.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "punch-version.h"
#include "punch-connection.h"
#include "punch-host.h"
#include "punch-multiaddr.h"
#include "punch-peer-id.h"
#include "punch-public-key.h"

G_BEGIN_DECLS

/**
 * PUNCH_IDENTIFY_PROTOCOL_ID:
 *
 * The protocol id of identify.
 *
 * Since: 0.1
 */
#define PUNCH_IDENTIFY_PROTOCOL_ID "/ipfs/id/1.0.0"

/**
 * PUNCH_IDENTIFY_PUSH_PROTOCOL_ID:
 *
 * The protocol id of identify push.
 *
 * Since: 0.1
 */
#define PUNCH_IDENTIFY_PUSH_PROTOCOL_ID "/ipfs/id/push/1.0.0"

#define PUNCH_TYPE_IDENTIFY_INFO (punch_identify_info_get_type ())

typedef struct _PunchIdentifyInfo PunchIdentifyInfo;

PUNCH_AVAILABLE_IN_0_1
GType                 punch_identify_info_get_type             (void) G_GNUC_CONST;
PUNCH_AVAILABLE_IN_0_1
PunchIdentifyInfo    *punch_identify_info_ref                  (PunchIdentifyInfo *info);
PUNCH_AVAILABLE_IN_0_1
void                  punch_identify_info_unref                (PunchIdentifyInfo *info);

PUNCH_AVAILABLE_IN_0_1
PunchPeerId          *punch_identify_info_get_peer_id          (PunchIdentifyInfo *info);
PUNCH_AVAILABLE_IN_0_1
const gchar          *punch_identify_info_get_protocol_version (PunchIdentifyInfo *info);
PUNCH_AVAILABLE_IN_0_1
const gchar          *punch_identify_info_get_agent_version    (PunchIdentifyInfo *info);
PUNCH_AVAILABLE_IN_0_1
PunchPublicKey       *punch_identify_info_get_public_key       (PunchIdentifyInfo *info);
PUNCH_AVAILABLE_IN_0_1
GPtrArray            *punch_identify_info_get_listen_addresses (PunchIdentifyInfo *info);
PUNCH_AVAILABLE_IN_0_1
PunchMultiaddr       *punch_identify_info_get_observed_address (PunchIdentifyInfo *info);
PUNCH_AVAILABLE_IN_0_1
const gchar * const  *punch_identify_info_get_protocols        (PunchIdentifyInfo *info);
PUNCH_AVAILABLE_IN_0_1
gboolean              punch_identify_info_has_protocol         (PunchIdentifyInfo *info,
                                                                const gchar       *protocol);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchIdentifyInfo, punch_identify_info_unref)

#define PUNCH_TYPE_IDENTIFY (punch_identify_get_type ())

PUNCH_AVAILABLE_IN_0_1
G_DECLARE_FINAL_TYPE (PunchIdentify, punch_identify, PUNCH, IDENTIFY, GObject)

PUNCH_AVAILABLE_IN_0_1
PunchIdentify        *punch_identify_get_for_host              (PunchHost            *host);
PUNCH_AVAILABLE_IN_0_1
PunchHost            *punch_identify_get_host                  (PunchIdentify        *self);

PUNCH_AVAILABLE_IN_0_1
void                  punch_identify_identify_async            (PunchIdentify        *self,
                                                                PunchConnection      *connection,
                                                                GCancellable         *cancellable,
                                                                GAsyncReadyCallback   callback,
                                                                gpointer              user_data);
PUNCH_AVAILABLE_IN_0_1
PunchIdentifyInfo    *punch_identify_identify_finish           (PunchIdentify        *self,
                                                                GAsyncResult         *result,
                                                                GError              **error);

PUNCH_AVAILABLE_IN_0_1
PunchIdentifyInfo    *punch_identify_get_connection_info       (PunchIdentify        *self,
                                                                PunchConnection      *connection);
PUNCH_AVAILABLE_IN_0_1
PunchIdentifyInfo    *punch_identify_get_peer_info             (PunchIdentify        *self,
                                                                PunchPeerId          *peer_id);
PUNCH_AVAILABLE_IN_0_1
GPtrArray            *punch_identify_get_observed_addresses    (PunchIdentify        *self,
                                                                guint                 min_observers);
PUNCH_AVAILABLE_IN_0_1
void                  punch_identify_set_advertised_addresses  (PunchIdentify        *self,
                                                                GPtrArray            *addresses);
PUNCH_AVAILABLE_IN_0_1
void                  punch_identify_push                      (PunchIdentify        *self);

G_END_DECLS
