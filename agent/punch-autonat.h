/* punch-autonat.h: AutoNAT v1, NAT discovery by dial-back.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "punch-version.h"
#include "punch-host.h"
#include "punch-multiaddr.h"
#include "punch-peer-id.h"

G_BEGIN_DECLS

/**
 * PUNCH_AUTONAT_PROTOCOL_ID:
 *
 * The protocol id of AutoNAT v1.
 *
 * Since: 0.1
 */
#define PUNCH_AUTONAT_PROTOCOL_ID "/libp2p/autonat/1.0.0"

/**
 * PunchReachability:
 * @PUNCH_REACHABILITY_UNKNOWN: not enough AutoNAT answers agree yet
 * @PUNCH_REACHABILITY_PUBLIC: enough AutoNAT servers dialed this node
 *   back: it is reachable from the internet
 * @PUNCH_REACHABILITY_PRIVATE: enough AutoNAT servers failed to dial this
 *   node back: it is behind a NAT or firewall
 *
 * Whether a node can be reached from the internet, as AutoNAT concludes.
 *
 * Since: 0.1
 */
typedef enum {
  PUNCH_REACHABILITY_UNKNOWN,
  PUNCH_REACHABILITY_PUBLIC,
  PUNCH_REACHABILITY_PRIVATE,
} PunchReachability;

/**
 * PunchAutonatStatus:
 * @PUNCH_AUTONAT_STATUS_OK: a dial-back succeeded (`OK`)
 * @PUNCH_AUTONAT_STATUS_DIAL_ERROR: every dial-back failed (`E_DIAL_ERROR`)
 * @PUNCH_AUTONAT_STATUS_DIAL_REFUSED: the server would not dial back:
 *   no address it may dial, or a rate limit (`E_DIAL_REFUSED`)
 * @PUNCH_AUTONAT_STATUS_BAD_REQUEST: the request was malformed or named
 *   another peer (`E_BAD_REQUEST`)
 * @PUNCH_AUTONAT_STATUS_INTERNAL_ERROR: the server failed (`E_INTERNAL_ERROR`)
 *
 * The ResponseStatus of an AutoNAT v1 DialResponse, valued as on the wire.
 *
 * Since: 0.1
 */
typedef enum {
  PUNCH_AUTONAT_STATUS_OK = 0,
  PUNCH_AUTONAT_STATUS_DIAL_ERROR = 100,
  PUNCH_AUTONAT_STATUS_DIAL_REFUSED = 101,
  PUNCH_AUTONAT_STATUS_BAD_REQUEST = 200,
  PUNCH_AUTONAT_STATUS_INTERNAL_ERROR = 300,
} PunchAutonatStatus;

#define PUNCH_TYPE_AUTONAT_RESULT (punch_autonat_result_get_type ())

typedef struct _PunchAutonatResult PunchAutonatResult;

PUNCH_AVAILABLE_IN_0_1
GType               punch_autonat_result_get_type        (void) G_GNUC_CONST;
PUNCH_AVAILABLE_IN_0_1
PunchAutonatResult *punch_autonat_result_ref             (PunchAutonatResult *result);
PUNCH_AVAILABLE_IN_0_1
void                punch_autonat_result_unref           (PunchAutonatResult *result);
PUNCH_AVAILABLE_IN_0_1
PunchAutonatStatus  punch_autonat_result_get_status      (PunchAutonatResult *result);
PUNCH_AVAILABLE_IN_0_1
const gchar        *punch_autonat_result_get_status_text (PunchAutonatResult *result);
PUNCH_AVAILABLE_IN_0_1
PunchMultiaddr     *punch_autonat_result_get_address     (PunchAutonatResult *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchAutonatResult, punch_autonat_result_unref)

PUNCH_AVAILABLE_IN_0_1
void                punch_autonat_dial_async             (PunchHost            *host,
                                                          PunchPeerId          *server,
                                                          GPtrArray            *addresses,
                                                          GCancellable         *cancellable,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
PUNCH_AVAILABLE_IN_0_1
PunchAutonatResult *punch_autonat_dial_finish            (PunchHost            *host,
                                                          GAsyncResult         *result,
                                                          GError              **error);

#define PUNCH_TYPE_AUTONAT_SERVICE (punch_autonat_service_get_type ())

PUNCH_AVAILABLE_IN_0_1
G_DECLARE_FINAL_TYPE (PunchAutonatService, punch_autonat_service, PUNCH, AUTONAT_SERVICE, GObject)

PUNCH_AVAILABLE_IN_0_1
PunchAutonatService *punch_autonat_service_new                 (PunchHost           *host);
PUNCH_AVAILABLE_IN_0_1
PunchHost           *punch_autonat_service_get_host            (PunchAutonatService *self);
PUNCH_AVAILABLE_IN_0_1
PunchPeerId         *punch_autonat_service_get_dialer_peer_id  (PunchAutonatService *self);
PUNCH_AVAILABLE_IN_0_1
gboolean             punch_autonat_service_get_allow_private   (PunchAutonatService *self);
PUNCH_AVAILABLE_IN_0_1
void                 punch_autonat_service_set_allow_private   (PunchAutonatService *self,
                                                                gboolean             allow_private);
PUNCH_AVAILABLE_IN_0_1
guint                punch_autonat_service_get_global_rate     (PunchAutonatService *self);
PUNCH_AVAILABLE_IN_0_1
void                 punch_autonat_service_set_global_rate     (PunchAutonatService *self,
                                                                guint                per_minute);
PUNCH_AVAILABLE_IN_0_1
guint                punch_autonat_service_get_peer_rate       (PunchAutonatService *self);
PUNCH_AVAILABLE_IN_0_1
void                 punch_autonat_service_set_peer_rate       (PunchAutonatService *self,
                                                                guint                per_minute);
PUNCH_AVAILABLE_IN_0_1
guint                punch_autonat_service_get_max_concurrent  (PunchAutonatService *self);
PUNCH_AVAILABLE_IN_0_1
void                 punch_autonat_service_set_max_concurrent  (PunchAutonatService *self,
                                                                guint                max_concurrent);
PUNCH_AVAILABLE_IN_0_1
guint                punch_autonat_service_get_dial_timeout    (PunchAutonatService *self);
PUNCH_AVAILABLE_IN_0_1
void                 punch_autonat_service_set_dial_timeout    (PunchAutonatService *self,
                                                                guint                timeout_ms);
PUNCH_AVAILABLE_IN_0_1
guint                punch_autonat_service_get_max_addresses   (PunchAutonatService *self);
PUNCH_AVAILABLE_IN_0_1
void                 punch_autonat_service_set_max_addresses   (PunchAutonatService *self,
                                                                guint                max_addresses);

G_END_DECLS
