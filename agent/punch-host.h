/* punch-host.h: a libp2p host: identity, TCP listeners and dials, protocol handlers.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "punch-version.h"
#include "punch-connection.h"
#include "punch-keypair.h"
#include "punch-multiaddr.h"
#include "punch-peer-id.h"
#include "punch-stream.h"

G_BEGIN_DECLS

/**
 * PUNCH_HOST_DEFAULT_MAX_CONNECTIONS:
 *
 * The default of [property@Punch.Host:max-connections].
 *
 * Since: 0.1
 */
#define PUNCH_HOST_DEFAULT_MAX_CONNECTIONS 256

/**
 * PUNCH_HOST_DEFAULT_HANDSHAKE_TIMEOUT_MS:
 *
 * The default of [property@Punch.Host:handshake-timeout], in milliseconds.
 *
 * Since: 0.1
 */
#define PUNCH_HOST_DEFAULT_HANDSHAKE_TIMEOUT_MS 10000

/**
 * PUNCH_HOST_DEFAULT_NEGOTIATION_TIMEOUT_MS:
 *
 * The default of [property@Punch.Host:negotiation-timeout], in milliseconds.
 *
 * Since: 0.1
 */
#define PUNCH_HOST_DEFAULT_NEGOTIATION_TIMEOUT_MS 10000

#define PUNCH_TYPE_HOST (punch_host_get_type ())

PUNCH_AVAILABLE_IN_0_1
G_DECLARE_FINAL_TYPE (PunchHost, punch_host, PUNCH, HOST, GObject)

/**
 * PunchStreamHandler:
 * @host: the host
 * @stream: (transfer none): the new stream; its protocol is one the
 *   handler was registered for
 * @user_data: (closure): the data given to
 *   [method@Punch.Host.set_stream_handler]
 *
 * Called when a remote peer opened a stream and negotiated a protocol
 * registered with [method@Punch.Host.set_stream_handler]. The handler
 * does not own @stream: it takes a reference for as long as it uses the
 * stream. Dropping the last reference closes the stream.
 *
 * Since: 0.1
 */
typedef void (*PunchStreamHandler) (PunchHost   *host,
                                    PunchStream *stream,
                                    gpointer     user_data);

PUNCH_AVAILABLE_IN_0_1
PunchHost       *punch_host_new                      (PunchKeypair         *keypair);

PUNCH_AVAILABLE_IN_0_1
PunchKeypair    *punch_host_get_keypair              (PunchHost            *self);
PUNCH_AVAILABLE_IN_0_1
PunchPeerId     *punch_host_get_peer_id              (PunchHost            *self);

PUNCH_AVAILABLE_IN_0_1
guint            punch_host_get_max_connections      (PunchHost            *self);
PUNCH_AVAILABLE_IN_0_1
void             punch_host_set_max_connections      (PunchHost            *self,
                                                      guint                 max_connections);
PUNCH_AVAILABLE_IN_0_1
guint            punch_host_get_handshake_timeout    (PunchHost            *self);
PUNCH_AVAILABLE_IN_0_1
void             punch_host_set_handshake_timeout    (PunchHost            *self,
                                                      guint                 timeout_ms);
PUNCH_AVAILABLE_IN_0_1
guint            punch_host_get_negotiation_timeout  (PunchHost            *self);
PUNCH_AVAILABLE_IN_0_1
void             punch_host_set_negotiation_timeout  (PunchHost            *self,
                                                      guint                 timeout_ms);

PUNCH_AVAILABLE_IN_0_1
gboolean         punch_host_listen                   (PunchHost            *self,
                                                      PunchMultiaddr       *address,
                                                      GError              **error);
PUNCH_AVAILABLE_IN_0_1
GPtrArray       *punch_host_get_listen_addresses     (PunchHost            *self);

PUNCH_AVAILABLE_IN_0_1
void             punch_host_dial_async               (PunchHost            *self,
                                                      PunchMultiaddr       *address,
                                                      GCancellable         *cancellable,
                                                      GAsyncReadyCallback   callback,
                                                      gpointer              user_data);
PUNCH_AVAILABLE_IN_0_1
PunchConnection *punch_host_dial_finish              (PunchHost            *self,
                                                      GAsyncResult         *result,
                                                      GError              **error);

PUNCH_AVAILABLE_IN_0_1
GPtrArray       *punch_host_get_connections          (PunchHost            *self,
                                                      PunchPeerId          *peer_id);

PUNCH_AVAILABLE_IN_0_1
void             punch_host_set_stream_handler       (PunchHost            *self,
                                                      const gchar          *protocol_id,
                                                      PunchStreamHandler    handler,
                                                      gpointer              user_data,
                                                      GDestroyNotify        destroy);
PUNCH_AVAILABLE_IN_0_1
gboolean         punch_host_remove_stream_handler    (PunchHost            *self,
                                                      const gchar          *protocol_id);
PUNCH_AVAILABLE_IN_0_1
gchar          **punch_host_get_protocols            (PunchHost            *self);

PUNCH_AVAILABLE_IN_0_1
void             punch_host_new_stream_async         (PunchHost            *self,
                                                      PunchPeerId          *peer_id,
                                                      const gchar * const  *protocol_ids,
                                                      GCancellable         *cancellable,
                                                      GAsyncReadyCallback   callback,
                                                      gpointer              user_data);
PUNCH_AVAILABLE_IN_0_1
PunchStream     *punch_host_new_stream_finish        (PunchHost            *self,
                                                      GAsyncResult         *result,
                                                      GError              **error);

PUNCH_AVAILABLE_IN_0_1
void             punch_host_close                    (PunchHost            *self);

G_END_DECLS
