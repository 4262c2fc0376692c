/* punch-crypto-private.h: internal glue between identities and GnuTLS.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

#include "punch-keypair.h"
#include "punch-peer-id.h"
#include "punch-public-key.h"

G_BEGIN_DECLS

/* The largest PublicKey protobuf accepted: an 8192-bit RSA key in PKIX DER
 * needs about 1100 bytes. */
#define PUNCH_PUBLIC_KEY_MAX_LEN 2048

/* The largest PrivateKey protobuf (and key file) accepted: an 8192-bit RSA
 * key in PKCS#1 DER needs about 4700 bytes. */
#define PUNCH_PRIVATE_KEY_MAX_LEN 8192

/* RSA moduli accepted, in bits (the bounds go-libp2p enforces). */
#define PUNCH_RSA_MIN_BITS 2048
#define PUNCH_RSA_MAX_BITS 8192

/* The size of a libp2p RSA key made by punch_keypair_generate(). */
#define PUNCH_RSA_GENERATE_BITS 2048

#define PUNCH_ED25519_KEY_LEN 32
#define PUNCH_SECP256K1_PRIVATE_LEN 32
#define PUNCH_SECP256K1_COMPRESSED_LEN 33
#define PUNCH_SECP256K1_UNCOMPRESSED_LEN 65

/* Secret buffers. */
void     punch_crypto_clear              (gpointer data,
                                          gsize    len);
GBytes  *punch_crypto_secure_bytes_new   (gconstpointer data,
                                          gsize         len);
GBytes  *punch_crypto_secure_bytes_take  (gpointer data,
                                          gsize    len);
void     punch_crypto_gnutls_datum_clear (gnutls_datum_t *datum);

/* Turns a GnuTLS error code into a GError whose message ends with
 * GnuTLS's description of @gnutls_code. */
void     punch_crypto_set_gnutls_error   (GError     **error,
                                          gint         code,
                                          int          gnutls_code,
                                          const gchar *format,
                                          ...) G_GNUC_PRINTF (4, 5);

const gchar *punch_key_type_to_string    (PunchKeyType key_type);

/* Public keys */
PunchPublicKey  *punch_public_key_new_from_gnutls    (PunchKeyType      key_type,
                                                      gnutls_pubkey_t   pubkey,
                                                      GError          **error);
gnutls_pubkey_t  punch_public_key_get_gnutls_pubkey  (PunchPublicKey   *self);

/* Key pairs */
gnutls_privkey_t punch_keypair_get_gnutls_privkey    (PunchKeypair     *self);

G_END_DECLS
