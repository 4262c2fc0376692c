/* punch-keypair.h: libp2p host key pairs (the PrivateKey protobuf).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

#include "punch-version.h"
#include "punch-peer-id.h"
#include "punch-public-key.h"

G_BEGIN_DECLS

#define PUNCH_TYPE_KEYPAIR (punch_keypair_get_type ())

PUNCH_AVAILABLE_IN_0_1
G_DECLARE_FINAL_TYPE (PunchKeypair, punch_keypair, PUNCH, KEYPAIR, GObject)

PUNCH_AVAILABLE_IN_0_1
PunchKeypair   *punch_keypair_generate             (PunchKeyType   key_type,
                                                    GError       **error);
PUNCH_AVAILABLE_IN_0_1
PunchKeypair   *punch_keypair_new_from_protobuf    (GBytes        *protobuf,
                                                    GError       **error);
PUNCH_AVAILABLE_IN_0_1
PunchKeypair   *punch_keypair_load                 (const gchar   *path,
                                                    GError       **error);
PUNCH_AVAILABLE_IN_0_1
gboolean        punch_keypair_save                 (PunchKeypair  *self,
                                                    const gchar   *path,
                                                    GError       **error);
PUNCH_AVAILABLE_IN_0_1
GBytes         *punch_keypair_to_protobuf          (PunchKeypair  *self);

PUNCH_AVAILABLE_IN_0_1
PunchKeyType    punch_keypair_get_key_type         (PunchKeypair  *self);
PUNCH_AVAILABLE_IN_0_1
PunchPublicKey *punch_keypair_get_public_key       (PunchKeypair  *self);
PUNCH_AVAILABLE_IN_0_1
PunchPeerId    *punch_keypair_get_peer_id          (PunchKeypair  *self);

PUNCH_AVAILABLE_IN_0_1
GBytes         *punch_keypair_sign                 (PunchKeypair  *self,
                                                    const guint8  *data,
                                                    gsize          data_len,
                                                    GError       **error);

G_END_DECLS
