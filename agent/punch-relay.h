/* punch-relay.h: circuit relay v2: the relay service and the client functions.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "punch-version.h"
#include "punch-host.h"
#include "punch-multiaddr.h"
#include "punch-peer-id.h"
#include "punch-stream.h"

G_BEGIN_DECLS

/**
 * PUNCH_RELAY_HOP_PROTOCOL_ID:
 *
 * The protocol id of the circuit relay v2 hop protocol (reservations and
 * connection requests, spoken by clients to the relay).
 *
 * Since: 0.1
 */
#define PUNCH_RELAY_HOP_PROTOCOL_ID "/libp2p/circuit/relay/0.2.0/hop"

/**
 * PUNCH_RELAY_STOP_PROTOCOL_ID:
 *
 * The protocol id of the circuit relay v2 stop protocol (spoken by the
 * relay to the target of a relayed connection).
 *
 * Since: 0.1
 */
#define PUNCH_RELAY_STOP_PROTOCOL_ID "/libp2p/circuit/relay/0.2.0/stop"

/**
 * PunchRelayError:
 * @PUNCH_RELAY_ERROR_RESERVATION_REFUSED: the relay refused the
 *   reservation (too many reservations in all or from one IP address)
 * @PUNCH_RELAY_ERROR_RESOURCE_LIMIT_EXCEEDED: too many relayed
 *   connections from the initiator or to the target
 * @PUNCH_RELAY_ERROR_PERMISSION_DENIED: refused by policy (for instance a
 *   request over a connection that is itself relayed)
 * @PUNCH_RELAY_ERROR_CONNECTION_FAILED: the relay could not reach the
 *   target, or the target refused
 * @PUNCH_RELAY_ERROR_NO_RESERVATION: the target has no reservation
 * @PUNCH_RELAY_ERROR_MALFORMED_MESSAGE: the relay could not decode the
 *   request
 * @PUNCH_RELAY_ERROR_UNEXPECTED_MESSAGE: the relay did not expect a
 *   request of that type
 *
 * The refusals of circuit relay v2: the status codes other than OK that
 * a relay answers with (libp2p/specs relay/circuit-v2.md), with their wire
 * values. An unknown status is reported as
 * %PUNCH_RELAY_ERROR_CONNECTION_FAILED.
 *
 * Since: 0.1
 */
typedef enum {
  PUNCH_RELAY_ERROR_RESERVATION_REFUSED = 200,
  PUNCH_RELAY_ERROR_RESOURCE_LIMIT_EXCEEDED = 201,
  PUNCH_RELAY_ERROR_PERMISSION_DENIED = 202,
  PUNCH_RELAY_ERROR_CONNECTION_FAILED = 203,
  PUNCH_RELAY_ERROR_NO_RESERVATION = 204,
  PUNCH_RELAY_ERROR_MALFORMED_MESSAGE = 400,
  PUNCH_RELAY_ERROR_UNEXPECTED_MESSAGE = 401,
} PunchRelayError;

/**
 * PUNCH_RELAY_ERROR:
 *
 * The error domain of a relay's or target's refusal. Errors in this
 * domain are from the [enum@Punch.RelayError] enumeration.
 *
 * Since: 0.1
 */
#define PUNCH_RELAY_ERROR (punch_relay_error_quark ())

PUNCH_AVAILABLE_IN_0_1
GQuark punch_relay_error_quark (void);

/**
 * PUNCH_RELAY_DEFAULT_RESERVATION_TTL:
 *
 * The default of [property@Punch.RelayService:reservation-ttl], in
 * seconds (one hour, as go-libp2p). Clients renew at three quarters of it.
 *
 * Since: 0.1
 */
#define PUNCH_RELAY_DEFAULT_RESERVATION_TTL 3600

/**
 * PUNCH_RELAY_DEFAULT_MAX_RESERVATIONS:
 *
 * The default of [property@Punch.RelayService:max-reservations].
 *
 * Since: 0.1
 */
#define PUNCH_RELAY_DEFAULT_MAX_RESERVATIONS 128

/**
 * PUNCH_RELAY_DEFAULT_MAX_RESERVATIONS_PER_IP:
 *
 * The default of [property@Punch.RelayService:max-reservations-per-ip].
 *
 * Since: 0.1
 */
#define PUNCH_RELAY_DEFAULT_MAX_RESERVATIONS_PER_IP 8

/**
 * PUNCH_RELAY_DEFAULT_MAX_CIRCUITS_PER_PEER:
 *
 * The default of [property@Punch.RelayService:max-circuits-per-peer]:
 * relayed connections a peer may have open at once, as initiator or
 * target.
 *
 * Since: 0.1
 */
#define PUNCH_RELAY_DEFAULT_MAX_CIRCUITS_PER_PEER 16

/**
 * PUNCH_RELAY_DEFAULT_MAX_CIRCUITS:
 *
 * The default of [property@Punch.RelayService:max-circuits]: relayed
 * connections open at once in all.
 *
 * Since: 0.1
 */
#define PUNCH_RELAY_DEFAULT_MAX_CIRCUITS 256

/**
 * PUNCH_RELAY_DEFAULT_LIMIT_DURATION:
 *
 * The default of [property@Punch.RelayService:limit-duration], in
 * seconds: one hour.
 *
 * go-libp2p's relays allow 2 minutes and 128 KiB, enough for a hole punch
 * and nothing more. A Punch relay also carries the media of its own users
 * when no direct path can be found, so its defaults are sized for that: a
 * stream of a few Mbit/s for an hour. Clients reconnect through the relay
 * when a circuit reaches its limit.
 *
 * Since: 0.1
 */
#define PUNCH_RELAY_DEFAULT_LIMIT_DURATION 3600

/**
 * PUNCH_RELAY_DEFAULT_LIMIT_DATA:
 *
 * The default of [property@Punch.RelayService:limit-data], in bytes per
 * direction: 2 GiB, which is 4.7 Mbit/s sustained for the whole of
 * %PUNCH_RELAY_DEFAULT_LIMIT_DURATION.
 *
 * Since: 0.1
 */
#define PUNCH_RELAY_DEFAULT_LIMIT_DATA (G_GUINT64_CONSTANT (2) << 30)

/**
 * PUNCH_RELAY_DEFAULT_BUFFER_SIZE:
 *
 * The default of [property@Punch.RelayService:buffer-size]: the bytes a
 * relay holds per direction of a circuit (it reads again only when the
 * other side took them).
 *
 * Since: 0.1
 */
#define PUNCH_RELAY_DEFAULT_BUFFER_SIZE (16 * 1024)

/**
 * PUNCH_RELAY_DEFAULT_STREAM_WINDOW:
 *
 * The default of [property@Punch.RelayService:stream-window]: 1 MiB, which
 * lets one circuit carry 80 Mbit/s to a sender 100 ms away from the relay.
 *
 * Since: 0.1
 */
#define PUNCH_RELAY_DEFAULT_STREAM_WINDOW (1024 * 1024)

/* The relay service */

#define PUNCH_TYPE_RELAY_SERVICE (punch_relay_service_get_type ())

PUNCH_AVAILABLE_IN_0_1
G_DECLARE_FINAL_TYPE (PunchRelayService, punch_relay_service, PUNCH, RELAY_SERVICE, GObject)

PUNCH_AVAILABLE_IN_0_1
PunchRelayService *punch_relay_service_new                   (PunchHost          *host);
PUNCH_AVAILABLE_IN_0_1
PunchHost         *punch_relay_service_get_host              (PunchRelayService  *self);
PUNCH_AVAILABLE_IN_0_1
void               punch_relay_service_set_public_addresses  (PunchRelayService  *self,
                                                              GPtrArray          *addresses);
PUNCH_AVAILABLE_IN_0_1
guint              punch_relay_service_get_n_reservations    (PunchRelayService  *self);
PUNCH_AVAILABLE_IN_0_1
guint              punch_relay_service_get_n_circuits        (PunchRelayService  *self);
PUNCH_AVAILABLE_IN_0_1
guint64            punch_relay_service_get_buffered_bytes    (PunchRelayService  *self);
PUNCH_AVAILABLE_IN_0_1
void               punch_relay_service_stop                  (PunchRelayService  *self);

/* Reservations */

#define PUNCH_TYPE_RELAY_RESERVATION (punch_relay_reservation_get_type ())

/**
 * PunchRelayReservation:
 *
 * A reservation made with [func@Punch.relay_reserve_async]: the relay, when
 * it expires, the addresses the relay advertises, the limits of the relayed
 * connections it will carry.
 *
 * Since: 0.1
 */
typedef struct _PunchRelayReservation PunchRelayReservation;

PUNCH_AVAILABLE_IN_0_1
GType                  punch_relay_reservation_get_type           (void) G_GNUC_CONST;
PUNCH_AVAILABLE_IN_0_1
PunchRelayReservation *punch_relay_reservation_ref                (PunchRelayReservation *self);
PUNCH_AVAILABLE_IN_0_1
void                   punch_relay_reservation_unref              (PunchRelayReservation *self);
PUNCH_AVAILABLE_IN_0_1
PunchPeerId           *punch_relay_reservation_get_relay          (PunchRelayReservation *self);
PUNCH_AVAILABLE_IN_0_1
gint64                 punch_relay_reservation_get_expiration     (PunchRelayReservation *self);
PUNCH_AVAILABLE_IN_0_1
gint64                 punch_relay_reservation_get_renewal_time   (PunchRelayReservation *self);
PUNCH_AVAILABLE_IN_0_1
GPtrArray             *punch_relay_reservation_get_addresses      (PunchRelayReservation *self);
PUNCH_AVAILABLE_IN_0_1
guint32                punch_relay_reservation_get_limit_duration (PunchRelayReservation *self);
PUNCH_AVAILABLE_IN_0_1
guint64                punch_relay_reservation_get_limit_data     (PunchRelayReservation *self);
PUNCH_AVAILABLE_IN_0_1
gboolean               punch_relay_reservation_has_voucher        (PunchRelayReservation *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchRelayReservation, punch_relay_reservation_unref)

/* Client functions */

PUNCH_AVAILABLE_IN_0_1
void                   punch_relay_reserve_async   (PunchHost            *host,
                                                    PunchPeerId          *relay,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
PUNCH_AVAILABLE_IN_0_1
PunchRelayReservation *punch_relay_reserve_finish  (PunchHost            *host,
                                                    GAsyncResult         *result,
                                                    GError              **error);

PUNCH_AVAILABLE_IN_0_1
void                   punch_relay_connect_async   (PunchHost            *host,
                                                    PunchPeerId          *relay,
                                                    PunchPeerId          *target,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
PUNCH_AVAILABLE_IN_0_1
PunchStream           *punch_relay_connect_finish  (PunchHost            *host,
                                                    GAsyncResult         *result,
                                                    guint32              *out_limit_duration,
                                                    guint64              *out_limit_data,
                                                    GError              **error);

/**
 * PunchRelayCircuitHandler:
 * @host: the host
 * @stream: (transfer none): the relayed connection's raw stream, past the
 *   stop protocol
 * @initiator: (transfer none): the peer that asked the relay for it
 * @limit_duration: the relay's duration limit in seconds, 0 for none
 * @limit_data: the relay's data limit in bytes per direction, 0 for none
 * @user_data: (closure): the data given to [func@Punch.relay_set_stop_handler]
 *
 * Called when a relay opened a relayed connection to this host and it was
 * accepted. The handler takes a reference to @stream if it keeps it.
 *
 * Since: 0.1
 */
typedef void (*PunchRelayCircuitHandler) (PunchHost   *host,
                                          PunchStream *stream,
                                          PunchPeerId *initiator,
                                          guint32      limit_duration,
                                          guint64      limit_data,
                                          gpointer     user_data);

PUNCH_AVAILABLE_IN_0_1
void                   punch_relay_set_stop_handler (PunchHost                *host,
                                                     PunchRelayCircuitHandler  handler,
                                                     gpointer                  user_data,
                                                     GDestroyNotify            destroy);

G_END_DECLS
