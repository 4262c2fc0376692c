/* punch-envelope.h: signed envelopes (libp2p RFC 0002), internal.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "punch-keypair.h"
#include "punch-public-key.h"

G_BEGIN_DECLS

/* The largest encoded envelope accepted: the largest public key protobuf
 * (an 8192-bit RSA key), its signature (1 KiB) and a payload and payload
 * type of up to 2 KiB together. Relay vouchers are far smaller (about 150
 * bytes with Ed25519 keys). */
#define PUNCH_ENVELOPE_MAX_SIZE (2048 + 1024 + 2048)

GBytes   *punch_envelope_signing_buffer (const gchar     *domain,
                                         const guint8    *payload_type,
                                         gsize            payload_type_len,
                                         const guint8    *payload,
                                         gsize            payload_len);

GBytes   *punch_envelope_seal           (PunchKeypair    *keypair,
                                         const gchar     *domain,
                                         const guint8    *payload_type,
                                         gsize            payload_type_len,
                                         const guint8    *payload,
                                         gsize            payload_len,
                                         GError         **error);

gboolean  punch_envelope_open           (const guint8    *data,
                                         gsize            len,
                                         const gchar     *domain,
                                         const guint8    *payload_type,
                                         gsize            payload_type_len,
                                         PunchPublicKey **out_signer,
                                         GBytes         **out_payload,
                                         GError         **error);

G_END_DECLS
