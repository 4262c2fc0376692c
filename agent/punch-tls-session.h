/* punch-tls-session.h: a libp2p TLS 1.3 session over memory buffers (internal).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "punch-keypair.h"
#include "punch-peer-id.h"
#include "punch-public-key.h"
#include "punch-tls-certificate.h"

G_BEGIN_DECLS

/* The multistream-select protocol id of libp2p TLS (tls.md). */
#define PUNCH_TLS_PROTOCOL_ID "/tls/1.0.0"

/* The ALPN protocol of libp2p TLS; with inlined muxer negotiation it ends
 * the list, after the muxers (connections/inlined-muxer-negotiation.md). */
#define PUNCH_TLS_ALPN_LIBP2P "libp2p"

/* TLS 1.3 only (tls.md forbids lower versions), GnuTLS's default suites,
 * groups and signature algorithms otherwise. */
#define PUNCH_TLS_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3"

/* ALPN limits of GnuTLS: protocols offered, and bytes in each name. */
#define PUNCH_TLS_ALPN_MAX_PROTOCOLS 8
#define PUNCH_TLS_ALPN_MAX_NAME_LEN 31

typedef enum {
  PUNCH_TLS_ROLE_CLIENT,
  PUNCH_TLS_ROLE_SERVER,
} PunchTlsRole;

typedef enum {
  PUNCH_TLS_ERROR,        /* failed; the GError says why */
  PUNCH_TLS_DONE,         /* the handshake finished, or data was read */
  PUNCH_TLS_WOULD_BLOCK,  /* more ciphertext from the peer is needed */
  PUNCH_TLS_EOF,          /* the peer sent close_notify */
} PunchTlsStatus;

typedef struct _PunchTlsSession PunchTlsSession;

PunchTlsSession *punch_tls_session_new                  (PunchTlsRole          role,
                                                         PunchKeypair         *host,
                                                         const gchar * const  *alpn,
                                                         PunchPeerId          *expected_remote,
                                                         gint64                now_unix_s,
                                                         GError              **error);
PunchTlsSession *punch_tls_session_new_with_certificate (PunchTlsRole          role,
                                                         PunchTlsCertificate  *certificate,
                                                         const gchar * const  *alpn,
                                                         PunchPeerId          *expected_remote,
                                                         gint64                now_unix_s,
                                                         GError              **error);
void             punch_tls_session_free                 (PunchTlsSession      *self);

void             punch_tls_session_receive              (PunchTlsSession      *self,
                                                         const guint8         *ciphertext,
                                                         gsize                 len);
void             punch_tls_session_receive_lent         (PunchTlsSession      *self,
                                                         const guint8         *ciphertext,
                                                         gsize                 len);
void             punch_tls_session_keep_input           (PunchTlsSession      *self);
void             punch_tls_session_receive_eof          (PunchTlsSession      *self);
GBytes          *punch_tls_session_pull_output          (PunchTlsSession      *self);
gsize            punch_tls_session_get_output_size      (PunchTlsSession      *self);
void             punch_tls_session_set_output           (PunchTlsSession      *self,
                                                         GByteArray           *sink);

PunchTlsStatus   punch_tls_session_handshake            (PunchTlsSession      *self,
                                                         GError              **error);
gssize           punch_tls_session_write                (PunchTlsSession      *self,
                                                         const guint8         *plaintext,
                                                         gsize                 len,
                                                         GError              **error);
PunchTlsStatus   punch_tls_session_read                 (PunchTlsSession      *self,
                                                         guint8               *buffer,
                                                         gsize                 size,
                                                         gsize                *out_read,
                                                         GError              **error);
gboolean         punch_tls_session_close                (PunchTlsSession      *self,
                                                         GError              **error);

PunchTlsRole     punch_tls_session_get_role             (PunchTlsSession      *self);
gboolean         punch_tls_session_is_established       (PunchTlsSession      *self);
PunchPeerId     *punch_tls_session_get_local_peer_id    (PunchTlsSession      *self);
PunchPeerId     *punch_tls_session_get_remote_peer_id   (PunchTlsSession      *self);
PunchPublicKey  *punch_tls_session_get_remote_public_key (PunchTlsSession     *self);
const gchar     *punch_tls_session_get_alpn             (PunchTlsSession      *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchTlsSession, punch_tls_session_free)

G_END_DECLS
