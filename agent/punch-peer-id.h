/* punch-peer-id.h: libp2p peer ids (multihashes of public keys).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

#include "punch-version.h"
#include "punch-public-key.h"

G_BEGIN_DECLS

#define PUNCH_TYPE_PEER_ID (punch_peer_id_get_type ())

typedef struct _PunchPeerId PunchPeerId;

PUNCH_AVAILABLE_IN_0_1
GType           punch_peer_id_get_type             (void) G_GNUC_CONST;

PUNCH_AVAILABLE_IN_0_1
PunchPeerId    *punch_peer_id_new_from_string      (const gchar     *text,
                                                    GError         **error);
PUNCH_AVAILABLE_IN_0_1
PunchPeerId    *punch_peer_id_new_from_bytes       (GBytes          *multihash,
                                                    GError         **error);
PUNCH_AVAILABLE_IN_0_1
PunchPeerId    *punch_peer_id_new_from_public_key  (PunchPublicKey  *key);

PUNCH_AVAILABLE_IN_0_1
PunchPeerId    *punch_peer_id_ref                  (PunchPeerId     *self);
PUNCH_AVAILABLE_IN_0_1
void            punch_peer_id_unref                (PunchPeerId     *self);

PUNCH_AVAILABLE_IN_0_1
GBytes         *punch_peer_id_get_bytes            (PunchPeerId     *self);
PUNCH_AVAILABLE_IN_0_1
gchar          *punch_peer_id_to_string            (PunchPeerId     *self);
PUNCH_AVAILABLE_IN_0_1
gchar          *punch_peer_id_to_cid_string        (PunchPeerId     *self);

PUNCH_AVAILABLE_IN_0_1
PunchPublicKey *punch_peer_id_get_public_key       (PunchPeerId     *self);
PUNCH_AVAILABLE_IN_0_1
gboolean        punch_peer_id_matches_public_key   (PunchPeerId     *self,
                                                    PunchPublicKey  *key);

PUNCH_AVAILABLE_IN_0_1
gboolean        punch_peer_id_equal                (gconstpointer    a,
                                                    gconstpointer    b);
PUNCH_AVAILABLE_IN_0_1
guint           punch_peer_id_hash                 (gconstpointer    peer_id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchPeerId, punch_peer_id_unref)

G_END_DECLS
