/* punch-public-key.h: libp2p public keys (the PublicKey protobuf).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

#include "punch-version.h"

G_BEGIN_DECLS

/**
 * PunchKeyType:
 * @PUNCH_KEY_TYPE_RSA: RSA (PKCS#1 v1.5 signatures over SHA-256)
 * @PUNCH_KEY_TYPE_ED25519: Ed25519
 * @PUNCH_KEY_TYPE_SECP256K1: ECDSA over the secp256k1 curve (keys and peer
 *   ids are understood; Punch cannot sign or verify with them)
 * @PUNCH_KEY_TYPE_ECDSA: ECDSA over a NIST curve (P-256 when generated)
 *
 * The key types of libp2p identities. The values are those of the
 * `KeyType` enumeration of the libp2p key protobuf.
 *
 * Since: 0.1
 */
typedef enum {
  PUNCH_KEY_TYPE_RSA = 0,
  PUNCH_KEY_TYPE_ED25519 = 1,
  PUNCH_KEY_TYPE_SECP256K1 = 2,
  PUNCH_KEY_TYPE_ECDSA = 3,
} PunchKeyType;

typedef struct _PunchPeerId PunchPeerId;

#define PUNCH_TYPE_PUBLIC_KEY (punch_public_key_get_type ())

PUNCH_AVAILABLE_IN_0_1
G_DECLARE_FINAL_TYPE (PunchPublicKey, punch_public_key, PUNCH, PUBLIC_KEY, GObject)

PUNCH_AVAILABLE_IN_0_1
PunchPublicKey *punch_public_key_new_from_protobuf (GBytes          *protobuf,
                                                    GError         **error);
PUNCH_AVAILABLE_IN_0_1
GBytes         *punch_public_key_to_protobuf       (PunchPublicKey  *self);
PUNCH_AVAILABLE_IN_0_1
PunchKeyType    punch_public_key_get_key_type      (PunchPublicKey  *self);
PUNCH_AVAILABLE_IN_0_1
PunchPeerId    *punch_public_key_get_peer_id       (PunchPublicKey  *self);
PUNCH_AVAILABLE_IN_0_1
gboolean        punch_public_key_verify            (PunchPublicKey  *self,
                                                    const guint8    *data,
                                                    gsize            data_len,
                                                    const guint8    *signature,
                                                    gsize            signature_len,
                                                    GError         **error);
PUNCH_AVAILABLE_IN_0_1
gboolean        punch_public_key_equal             (PunchPublicKey  *self,
                                                    PunchPublicKey  *other);

G_END_DECLS
