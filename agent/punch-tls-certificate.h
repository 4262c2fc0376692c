/* punch-tls-certificate.h: libp2p TLS certificates (internal).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gnutls/gnutls.h>

#include "punch-keypair.h"
#include "punch-peer-id.h"
#include "punch-public-key.h"

G_BEGIN_DECLS

/* The libp2p Public Key Extension (tls/tls.md). */
#define PUNCH_TLS_EXTENSION_OID "1.3.6.1.4.1.53594.1.1"

/* What the host key signs, followed by the certificate key's
 * SubjectPublicKeyInfo in DER. */
#define PUNCH_TLS_SIGNATURE_PREFIX "libp2p-tls-handshake:"

/* The largest peer certificate looked at. Ours is about 450 bytes with an
 * Ed25519 host key and 900 with a 2048-bit RSA one; an 8192-bit RSA host key
 * and an RSA certificate key still fit. */
#define PUNCH_TLS_CERTIFICATE_MAX_LEN 16384

/* The largest host key signature accepted (an 8192-bit RSA signature is 1024
 * bytes) and the largest SignedKey structure. */
#define PUNCH_TLS_SIGNATURE_MAX_LEN 1024
#define PUNCH_TLS_SIGNED_KEY_MAX_LEN 4096

/* The validity of the certificates we make: from an hour before their
 * creation (clock skew) for about 100 years, as go-libp2p and js-libp2p do. */
#define PUNCH_TLS_CERTIFICATE_BACKDATE_S (60 * 60)
#define PUNCH_TLS_CERTIFICATE_LIFETIME_S ((gint64) 100 * 365 * 24 * 60 * 60)

/* More extensions than this in a peer certificate are refused. */
#define PUNCH_TLS_CERTIFICATE_MAX_EXTENSIONS 32

typedef struct _PunchTlsCertificate PunchTlsCertificate;

PunchTlsCertificate *punch_tls_certificate_new        (PunchKeypair         *host,
                                                       gint64                now_unix_s,
                                                       GError              **error);
PunchTlsCertificate *punch_tls_certificate_ref        (PunchTlsCertificate  *self);
void                 punch_tls_certificate_unref      (PunchTlsCertificate  *self);

GBytes              *punch_tls_certificate_get_der    (PunchTlsCertificate  *self);
PunchPeerId         *punch_tls_certificate_get_peer_id (PunchTlsCertificate *self);
gboolean             punch_tls_certificate_add_to_credentials (PunchTlsCertificate              *self,
                                                               gnutls_certificate_credentials_t  credentials,
                                                               GError                          **error);
gnutls_certificate_credentials_t
                     punch_tls_certificate_get_credentials (PunchTlsCertificate  *self,
                                                            GError              **error);

PunchPeerId         *punch_tls_certificate_verify     (const guint8         *der,
                                                       gsize                 der_len,
                                                       gint64                now_unix_s,
                                                       PunchPeerId          *expected_peer_id,
                                                       PunchPublicKey      **out_public_key,
                                                       GError              **error);
PunchPeerId         *punch_tls_certificate_verify_chain (const gnutls_datum_t *chain,
                                                         gsize                 n_certificates,
                                                         gint64                now_unix_s,
                                                         PunchPeerId          *expected_peer_id,
                                                         PunchPublicKey      **out_public_key,
                                                         GError              **error);

/* SignedKey ::= SEQUENCE { publicKey OCTET STRING, signature OCTET STRING } */
GBytes              *punch_tls_signed_key_encode      (const guint8         *public_key,
                                                       gsize                 public_key_len,
                                                       const guint8         *signature,
                                                       gsize                 signature_len);
gboolean             punch_tls_signed_key_decode      (const guint8         *der,
                                                       gsize                 der_len,
                                                       const guint8        **out_public_key,
                                                       gsize                *out_public_key_len,
                                                       const guint8        **out_signature,
                                                       gsize                *out_signature_len,
                                                       GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchTlsCertificate, punch_tls_certificate_unref)

G_END_DECLS
