/* punch-host-private.h: what connections ask of their host, and test hooks.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "punch-host.h"
#include "punch-tls-certificate.h"

G_BEGIN_DECLS

GMainContext        *punch_host_get_context              (PunchHost        *self);
PunchTlsCertificate *punch_host_get_certificate          (PunchHost        *self,
                                                          GError          **error);
const gchar * const *punch_host_get_alpn                 (PunchHost        *self);
gboolean             punch_host_has_handler              (PunchHost        *self,
                                                          const gchar      *protocol_id);
gboolean             punch_host_dispatch_stream          (PunchHost        *self,
                                                          PunchStream      *stream);

/* A connection reports the end of its upgrade and its close. */
void                 punch_host_connection_upgraded      (PunchHost        *self,
                                                          PunchConnection  *connection);
void                 punch_host_connection_closed        (PunchHost        *self,
                                                          PunchConnection  *connection,
                                                          const GError     *reason);

/* Upgrades a byte stream that is not a TCP socket (a relayed circuit) to a
 * connection of this host: multistream-select, libp2p TLS, yamux, as over
 * TCP. The task ends like a dial; the connection is announced with
 * ::connection-opened. */
void                 punch_host_upgrade_transport_async  (PunchHost           *self,
                                                          GIOStream           *transport,
                                                          PunchDirection       direction,
                                                          PunchPeerId         *expected_peer_id,
                                                          PunchMultiaddr      *local_address,
                                                          PunchMultiaddr      *remote_address,
                                                          guint32              limit_duration,
                                                          guint64              limit_data,
                                                          GCancellable        *cancellable,
                                                          GAsyncReadyCallback  callback,
                                                          gpointer             user_data);
PunchConnection     *punch_host_upgrade_transport_finish (PunchHost           *self,
                                                          GAsyncResult        *result,
                                                          GError             **error);

/* Dials addresses with /p2p-circuit: the relay client registers this on a
 * host (the host itself knows no relay protocol). The function ends
 * @task with a PunchConnection (g_task_return_pointer) or an error. */
typedef void (*PunchCircuitDialFunc) (PunchHost      *host,
                                      PunchMultiaddr *address,
                                      GTask          *task,
                                      gpointer        user_data);
void                 punch_host_set_circuit_dialer       (PunchHost            *self,
                                                          PunchCircuitDialFunc  func,
                                                          gpointer              user_data,
                                                          GDestroyNotify        destroy);

/* Test hooks: the ALPN list offered (as TLS client) and accepted (as
 * server), NULL for the default; connections not yet upgraded. */
void                 punch_host_set_alpn                 (PunchHost           *self,
                                                          const gchar * const *alpn);
guint                punch_host_get_n_pending            (PunchHost        *self);

G_END_DECLS
