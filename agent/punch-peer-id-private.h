/* punch-peer-id-private.h: internal peer id helpers.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "punch-peer-id.h"

G_BEGIN_DECLS

/* Public key protobufs up to this length are inlined in an identity
 * multihash; longer ones are hashed with SHA-256 (peer-ids.md). */
#define PUNCH_PEER_ID_MAX_INLINE_KEY_LEN 42

/* The longest peer id in bytes: an identity multihash (code 0x00, a
 * one-byte length) of a 42-byte key. SHA-256 peer ids are 34 bytes. */
#define PUNCH_PEER_ID_MAX_LEN (2 + PUNCH_PEER_ID_MAX_INLINE_KEY_LEN)

/* The longest text punch_peer_id_new_from_string() looks at. The longest
 * valid form, a base32 CID of a 44-byte multihash, is 75 characters. */
#define PUNCH_PEER_ID_MAX_TEXT_LEN 128

/* Multihash and multicodec codes (multiformats/multicodec table.csv). */
#define PUNCH_MULTIHASH_IDENTITY 0x00
#define PUNCH_MULTIHASH_SHA2_256 0x12
#define PUNCH_MULTICODEC_LIBP2P_KEY 0x72

PunchPeerId *punch_peer_id_new_from_data         (const guint8  *data,
                                                  gsize          len,
                                                  GError       **error);
PunchPeerId *punch_peer_id_new_from_key_protobuf (GBytes        *encoded_key);
const guint8 *punch_peer_id_peek_data            (PunchPeerId   *self,
                                                  gsize         *out_len);

G_END_DECLS
