/* punch-relay-core.h: circuit relay v2, sans-I/O: codecs, vouchers, the relay's state (internal).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "punch-keypair.h"
#include "punch-peer-id.h"
#include "punch-relay.h"

G_BEGIN_DECLS

/* The status codes of circuit relay v2 (circuit-v2.md "Protobuf"), wire
 * values. Those other than OK are also the codes of PUNCH_RELAY_ERROR. */
typedef enum {
  PUNCH_RELAY_STATUS_UNUSED = 0,
  PUNCH_RELAY_STATUS_OK = 100,
  PUNCH_RELAY_STATUS_RESERVATION_REFUSED = PUNCH_RELAY_ERROR_RESERVATION_REFUSED,
  PUNCH_RELAY_STATUS_RESOURCE_LIMIT_EXCEEDED = PUNCH_RELAY_ERROR_RESOURCE_LIMIT_EXCEEDED,
  PUNCH_RELAY_STATUS_PERMISSION_DENIED = PUNCH_RELAY_ERROR_PERMISSION_DENIED,
  PUNCH_RELAY_STATUS_CONNECTION_FAILED = PUNCH_RELAY_ERROR_CONNECTION_FAILED,
  PUNCH_RELAY_STATUS_NO_RESERVATION = PUNCH_RELAY_ERROR_NO_RESERVATION,
  PUNCH_RELAY_STATUS_MALFORMED_MESSAGE = PUNCH_RELAY_ERROR_MALFORMED_MESSAGE,
  PUNCH_RELAY_STATUS_UNEXPECTED_MESSAGE = PUNCH_RELAY_ERROR_UNEXPECTED_MESSAGE,
} PunchRelayStatus;

/* The largest hop or stop message accepted or sent. The specification
 * gives none; go-libp2p and js-libp2p read at most 4 KiB, which holds a
 * reservation with a voucher and a dozen relay addresses. */
#define PUNCH_RELAY_MAX_MESSAGE_SIZE 4096

/* Reservation vouchers (circuit-v2.md "Reservation Vouchers"): a signed
 * envelope with this domain and the multicodec 0x0302 as payload type,
 * written as the two bytes 0x03 0x02 (big-endian, not as a varint), as
 * go-libp2p and js-libp2p do. */
#define PUNCH_RELAY_VOUCHER_DOMAIN "libp2p-relay-rsvp"
extern const guint8 punch_relay_voucher_payload_type[2];

/* Which schema a message is in. */
typedef enum {
  PUNCH_RELAY_KIND_HOP,
  PUNCH_RELAY_KIND_STOP,
} PunchRelayKind;

/* The message types of both schemas (the stop schema has no RESERVE; the
 * wire values differ and are mapped by the codec). */
typedef enum {
  PUNCH_RELAY_TYPE_RESERVE,
  PUNCH_RELAY_TYPE_CONNECT,
  PUNCH_RELAY_TYPE_STATUS,
} PunchRelayType;

typedef struct {
  gboolean present;             /* absent: no limits */
  guint32 duration;             /* seconds, 0: none */
  guint64 data;                 /* bytes per direction, 0: none */
} PunchRelayLimit;

/* A decoded HopMessage or StopMessage. */
typedef struct {
  PunchRelayType type;
  gboolean has_status;
  PunchRelayStatus status;
  PunchPeerId *peer;            /* nullable */
  GPtrArray *peer_addrs;        /* GBytes (raw multiaddrs), never NULL */
  gboolean has_reservation;     /* hop only */
  guint64 expire;               /* unix seconds */
  GPtrArray *reservation_addrs; /* GBytes, never NULL */
  GBytes *voucher;              /* nullable */
  PunchRelayLimit limit;
} PunchRelayMessage;

PunchRelayMessage *punch_relay_message_new    (PunchRelayType        type);
void               punch_relay_message_free   (PunchRelayMessage    *message);
GBytes            *punch_relay_message_encode (const PunchRelayMessage *message,
                                               PunchRelayKind        kind);
PunchRelayMessage *punch_relay_message_decode (PunchRelayKind        kind,
                                               const guint8         *data,
                                               gsize                 len,
                                               GError              **error);
PunchRelayMessage *punch_relay_message_new_status (PunchRelayStatus  status);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchRelayMessage, punch_relay_message_free)

const gchar       *punch_relay_status_to_string (PunchRelayStatus status);

/* Vouchers */
GBytes   *punch_relay_voucher_encode (PunchPeerId   *relay,
                                      PunchPeerId   *peer,
                                      guint64        expiration);
gboolean  punch_relay_voucher_decode (const guint8  *data,
                                      gsize          len,
                                      PunchPeerId  **out_relay,
                                      PunchPeerId  **out_peer,
                                      guint64       *out_expiration,
                                      GError       **error);
GBytes   *punch_relay_voucher_seal   (PunchKeypair  *relay_keypair,
                                      PunchPeerId   *peer,
                                      guint64        expiration,
                                      GError       **error);
gboolean  punch_relay_voucher_verify (const guint8  *data,
                                      gsize          len,
                                      PunchPeerId   *relay,
                                      PunchPeerId   *peer,
                                      guint64        expiration,
                                      GError       **error);

/* The relay (hop) side. Time is the caller's: now_us is UTC unix time in
 * microseconds (g_get_real_time() in the shell), since reservation
 * expirations are sent as unix times. */
typedef struct {
  guint reservation_ttl;          /* seconds */
  guint max_reservations;         /* in all */
  guint max_reservations_per_ip;
  guint max_circuits_per_peer;    /* as initiator or target */
  guint max_circuits;             /* in all */
  guint32 limit_duration;         /* seconds, 0: none */
  guint64 limit_data;             /* bytes per direction, 0: none */
} PunchRelayConfig;

void punch_relay_config_init_default (PunchRelayConfig *config);

typedef enum {
  PUNCH_RELAY_HOP_ACTION_REPLY,     /* write reply, close the stream */
  PUNCH_RELAY_HOP_ACTION_RESERVED,  /* same, a reservation was added/renewed */
  PUNCH_RELAY_HOP_ACTION_CONNECT,   /* open a stop stream to target, send stop */
} PunchRelayHopAction;

typedef struct {
  PunchRelayHopAction action;
  PunchRelayMessage *reply;       /* REPLY, RESERVED: the HopMessage to send */
  gboolean renewed;               /* RESERVED: the peer had one already */
  guint circuit_id;               /* CONNECT */
  PunchPeerId *target;            /* CONNECT */
  PunchRelayMessage *stop;        /* CONNECT: the StopMessage for target */
  gchar *reason;                  /* why a request was refused, for logs */
} PunchRelayHopResult;

void punch_relay_hop_result_free (PunchRelayHopResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchRelayHopResult, punch_relay_hop_result_free)

typedef enum {
  PUNCH_RELAY_DIRECTION_TO_TARGET,  /* initiator -> target */
  PUNCH_RELAY_DIRECTION_TO_INITIATOR,
} PunchRelayDirection;

typedef struct _PunchRelayHop PunchRelayHop;

PunchRelayHop       *punch_relay_hop_new                (PunchKeypair         *keypair,
                                                         const PunchRelayConfig *config);
void                 punch_relay_hop_free               (PunchRelayHop        *self);
PunchRelayConfig    *punch_relay_hop_get_config         (PunchRelayHop        *self);

PunchRelayHopResult *punch_relay_hop_handle             (PunchRelayHop        *self,
                                                         PunchPeerId          *from,
                                                         const gchar          *from_ip,
                                                         gboolean              over_relayed,
                                                         GPtrArray            *relay_addrs,
                                                         const guint8         *data,
                                                         gsize                 len,
                                                         gint64                now_us);
GPtrArray           *punch_relay_hop_expire             (PunchRelayHop        *self,
                                                         gint64                now_us);
gboolean             punch_relay_hop_remove_reservation (PunchRelayHop        *self,
                                                         PunchPeerId          *peer);
gboolean             punch_relay_hop_has_reservation    (PunchRelayHop        *self,
                                                         PunchPeerId          *peer,
                                                         gint64                now_us);
gint64               punch_relay_hop_next_expiry        (PunchRelayHop        *self);
guint                punch_relay_hop_get_n_reservations (PunchRelayHop        *self);
guint                punch_relay_hop_get_n_circuits     (PunchRelayHop        *self);

PunchRelayMessage   *punch_relay_hop_circuit_connected  (PunchRelayHop        *self,
                                                         guint                 circuit_id,
                                                         const guint8         *stop_reply,
                                                         gsize                 stop_reply_len,
                                                         gint64                now_us,
                                                         GError              **error);
guint64              punch_relay_hop_circuit_allowance  (PunchRelayHop        *self,
                                                         guint                 circuit_id,
                                                         PunchRelayDirection   direction);
void                 punch_relay_hop_circuit_account    (PunchRelayHop        *self,
                                                         guint                 circuit_id,
                                                         PunchRelayDirection   direction,
                                                         gsize                 n);
gint64               punch_relay_hop_circuit_deadline   (PunchRelayHop        *self,
                                                         guint                 circuit_id);
gboolean             punch_relay_hop_circuit_limit_reached (PunchRelayHop     *self,
                                                         guint                 circuit_id,
                                                         gint64                now_us);
void                 punch_relay_hop_circuit_close      (PunchRelayHop        *self,
                                                         guint                 circuit_id,
                                                         guint64              *out_to_target,
                                                         guint64              *out_to_initiator);

/* The client side. */
GBytes             *punch_relay_reserve_request        (void);
GBytes             *punch_relay_connect_request        (PunchPeerId          *target);
gboolean            punch_relay_parse_reserve_response (const guint8         *data,
                                                        gsize                 len,
                                                        PunchPeerId          *relay,
                                                        PunchPeerId          *local,
                                                        gint64                now_us,
                                                        guint64              *out_expire,
                                                        GPtrArray           **out_addrs,
                                                        PunchRelayLimit      *out_limit,
                                                        gboolean             *out_has_voucher,
                                                        GError              **error);
gint64              punch_relay_renewal_time           (guint64               expire,
                                                        gint64                now_us);
gboolean            punch_relay_parse_connect_response (const guint8         *data,
                                                        gsize                 len,
                                                        PunchRelayLimit      *out_limit,
                                                        GError              **error);
PunchRelayMessage  *punch_relay_parse_stop_connect     (const guint8         *data,
                                                        gsize                 len,
                                                        PunchRelayStatus     *out_refusal,
                                                        GError              **error);
GBytes             *punch_relay_status_message         (PunchRelayKind        kind,
                                                        PunchRelayStatus      status);

G_END_DECLS
