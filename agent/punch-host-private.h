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

/* Test hooks: the ALPN list offered (as TLS client) and accepted (as
 * server), NULL for the default; connections not yet upgraded. */
void                 punch_host_set_alpn                 (PunchHost           *self,
                                                          const gchar * const *alpn);
guint                punch_host_get_n_pending            (PunchHost        *self);

G_END_DECLS
