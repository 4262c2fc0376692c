/* punch-relay-core.c: circuit relay v2, sans-I/O: codecs, vouchers, the relay's state.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-relay-core.h"

#include <string.h>

#include "circuit.pb-c.h"
#include "voucher.pb-c.h"
#include "punch-envelope.h"
#include "punch-error.h"
#include "punch-peer-id-private.h"
#include "punch-proto.h"

const guint8 punch_relay_voucher_payload_type[2] = { 0x03, 0x02 };

/* The largest voucher payload: two peer ids and a varint. */
#define VOUCHER_MAX_SIZE 256

const gchar *
punch_relay_status_to_string (PunchRelayStatus status)
{
  switch (status)
    {
    case PUNCH_RELAY_STATUS_UNUSED: return "UNUSED";
    case PUNCH_RELAY_STATUS_OK: return "OK";
    case PUNCH_RELAY_STATUS_RESERVATION_REFUSED: return "RESERVATION_REFUSED";
    case PUNCH_RELAY_STATUS_RESOURCE_LIMIT_EXCEEDED: return "RESOURCE_LIMIT_EXCEEDED";
    case PUNCH_RELAY_STATUS_PERMISSION_DENIED: return "PERMISSION_DENIED";
    case PUNCH_RELAY_STATUS_CONNECTION_FAILED: return "CONNECTION_FAILED";
    case PUNCH_RELAY_STATUS_NO_RESERVATION: return "NO_RESERVATION";
    case PUNCH_RELAY_STATUS_MALFORMED_MESSAGE: return "MALFORMED_MESSAGE";
    case PUNCH_RELAY_STATUS_UNEXPECTED_MESSAGE: return "UNEXPECTED_MESSAGE";
    default: return "unknown status";
    }
}

/* ------------------------------------------------------------------ */
/* Messages                                                           */
/* ------------------------------------------------------------------ */

PunchRelayMessage *
punch_relay_message_new (PunchRelayType type)
{
  PunchRelayMessage *message = g_new0 (PunchRelayMessage, 1);

  message->type = type;
  message->peer_addrs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  message->reservation_addrs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  return message;
}

PunchRelayMessage *
punch_relay_message_new_status (PunchRelayStatus status)
{
  PunchRelayMessage *message = punch_relay_message_new (PUNCH_RELAY_TYPE_STATUS);

  message->has_status = TRUE;
  message->status = status;
  return message;
}

void
punch_relay_message_free (PunchRelayMessage *message)
{
  if (message == NULL)
    return;
  g_clear_pointer (&message->peer, punch_peer_id_unref);
  g_ptr_array_unref (message->peer_addrs);
  g_ptr_array_unref (message->reservation_addrs);
  g_clear_pointer (&message->voucher, g_bytes_unref);
  g_free (message);
}

static ProtobufCBinaryData *
binary_array (GPtrArray *array)
{
  ProtobufCBinaryData *out = g_new0 (ProtobufCBinaryData, MAX (array->len, 1));

  for (guint i = 0; i < array->len; i++)
    out[i].data = (guint8 *) g_bytes_get_data (g_ptr_array_index (array, i), &out[i].len);
  return out;
}

/*
 * punch_relay_message_encode:
 * @message: a message
 * @kind: hop or stop
 *
 * Encodes @message as a HopMessage or a StopMessage (without the length
 * prefix). A stop message of type RESERVE is a programming error.
 *
 * Returns: (transfer full): the protobuf encoding
 */
GBytes *
punch_relay_message_encode (const PunchRelayMessage *message,
                            PunchRelayKind           kind)
{
  Circuit__Pb__HopMessage hop = CIRCUIT__PB__HOP_MESSAGE__INIT;
  Circuit__Pb__StopMessage stop = CIRCUIT__PB__STOP_MESSAGE__INIT;
  Circuit__Pb__Peer peer = CIRCUIT__PB__PEER__INIT;
  Circuit__Pb__Reservation reservation = CIRCUIT__PB__RESERVATION__INIT;
  Circuit__Pb__Limit limit = CIRCUIT__PB__LIMIT__INIT;
  g_autofree ProtobufCBinaryData *peer_addrs = NULL;
  g_autofree ProtobufCBinaryData *reservation_addrs = NULL;
  g_autoptr(GBytes) peer_bytes = NULL;

  g_return_val_if_fail (message != NULL, NULL);
  g_return_val_if_fail (kind == PUNCH_RELAY_KIND_HOP ||
                        message->type != PUNCH_RELAY_TYPE_RESERVE, NULL);

  if (message->peer != NULL)
    {
      peer_bytes = punch_peer_id_get_bytes (message->peer);
      peer.has_id = TRUE;
      peer.id.data = (guint8 *) g_bytes_get_data (peer_bytes, &peer.id.len);
      peer_addrs = binary_array (message->peer_addrs);
      peer.n_addrs = message->peer_addrs->len;
      peer.addrs = peer_addrs;
    }
  if (message->limit.present)
    {
      /* Zero means "no limit" on the wire too; write only what limits. */
      limit.has_duration = message->limit.duration > 0;
      limit.duration = message->limit.duration;
      limit.has_data = message->limit.data > 0;
      limit.data = message->limit.data;
    }

  if (kind == PUNCH_RELAY_KIND_HOP)
    {
      hop.has_type = TRUE;
      hop.type = message->type == PUNCH_RELAY_TYPE_RESERVE ? CIRCUIT__PB__HOP_MESSAGE__TYPE__RESERVE :
                 message->type == PUNCH_RELAY_TYPE_CONNECT ? CIRCUIT__PB__HOP_MESSAGE__TYPE__CONNECT :
                 CIRCUIT__PB__HOP_MESSAGE__TYPE__STATUS;
      hop.peer = message->peer != NULL ? &peer : NULL;
      hop.limit = message->limit.present ? &limit : NULL;
      hop.has_status = message->has_status;
      hop.status = (Circuit__Pb__Status) message->status;
      if (message->has_reservation)
        {
          reservation.has_expire = TRUE;
          reservation.expire = message->expire;
          reservation_addrs = binary_array (message->reservation_addrs);
          reservation.n_addrs = message->reservation_addrs->len;
          reservation.addrs = reservation_addrs;
          if (message->voucher != NULL)
            {
              reservation.has_voucher = TRUE;
              reservation.voucher.data = (guint8 *) g_bytes_get_data (message->voucher,
                                                                      &reservation.voucher.len);
            }
          hop.reservation = &reservation;
        }
      return punch_proto_pack (&hop.base);
    }

  stop.has_type = TRUE;
  stop.type = message->type == PUNCH_RELAY_TYPE_CONNECT ? CIRCUIT__PB__STOP_MESSAGE__TYPE__CONNECT :
              CIRCUIT__PB__STOP_MESSAGE__TYPE__STATUS;
  stop.peer = message->peer != NULL ? &peer : NULL;
  stop.limit = message->limit.present ? &limit : NULL;
  stop.has_status = message->has_status;
  stop.status = (Circuit__Pb__Status) message->status;
  return punch_proto_pack (&stop.base);
}

static void
copy_binary_array (GPtrArray                 *out,
                   const ProtobufCBinaryData *in,
                   gsize                      n)
{
  for (gsize i = 0; i < n; i++)
    g_ptr_array_add (out, g_bytes_new (in[i].data, in[i].len));
}

static gboolean
decode_peer (PunchRelayMessage        *message,
             const Circuit__Pb__Peer  *peer,
             GError                  **error)
{
  g_autoptr(GError) local_error = NULL;

  if (peer == NULL)
    return TRUE;
  if (!peer->has_id)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Relay message with a peer without an id");
      return FALSE;
    }
  message->peer = punch_peer_id_new_from_data (peer->id.data, peer->id.len, &local_error);
  if (message->peer == NULL)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "Relay message with a bad peer id: %s", local_error->message);
      return FALSE;
    }
  copy_binary_array (message->peer_addrs, peer->addrs, peer->n_addrs);
  return TRUE;
}

static void
decode_limit (PunchRelayMessage        *message,
              const Circuit__Pb__Limit *limit)
{
  if (limit == NULL)
    return;
  message->limit.present = TRUE;
  message->limit.duration = limit->has_duration ? limit->duration : 0;
  message->limit.data = limit->has_data ? limit->data : 0;
}

/*
 * punch_relay_message_decode:
 * @kind: hop or stop
 * @data: (array length=len): a HopMessage or StopMessage (without the
 *   length prefix)
 * @len: its length
 * @error: return location for a #GError
 *
 * Errors: %PUNCH_ERROR_TOO_LARGE above %PUNCH_RELAY_MAX_MESSAGE_SIZE;
 * %PUNCH_ERROR_MALFORMED for a bad protobuf, a missing or unknown type, a
 * peer without an id or with a bad one.
 *
 * Returns: (transfer full) (nullable): the message
 */
PunchRelayMessage *
punch_relay_message_decode (PunchRelayKind   kind,
                            const guint8    *data,
                            gsize            len,
                            GError         **error)
{
  g_autoptr(PunchRelayMessage) message = NULL;
  ProtobufCMessage *pb;
  gboolean ok = TRUE;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  pb = punch_proto_unpack (kind == PUNCH_RELAY_KIND_HOP ? &circuit__pb__hop_message__descriptor :
                           &circuit__pb__stop_message__descriptor,
                           data, len, PUNCH_RELAY_MAX_MESSAGE_SIZE, error);
  if (pb == NULL)
    return NULL;

  message = punch_relay_message_new (PUNCH_RELAY_TYPE_STATUS);
  if (kind == PUNCH_RELAY_KIND_HOP)
    {
      Circuit__Pb__HopMessage *hop = (Circuit__Pb__HopMessage *) pb;

      if (!hop->has_type ||
          (hop->type != CIRCUIT__PB__HOP_MESSAGE__TYPE__RESERVE &&
           hop->type != CIRCUIT__PB__HOP_MESSAGE__TYPE__CONNECT &&
           hop->type != CIRCUIT__PB__HOP_MESSAGE__TYPE__STATUS))
        {
          g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                               "Hop message without a known type");
          ok = FALSE;
        }
      else
        {
          message->type = hop->type == CIRCUIT__PB__HOP_MESSAGE__TYPE__RESERVE ? PUNCH_RELAY_TYPE_RESERVE :
                          hop->type == CIRCUIT__PB__HOP_MESSAGE__TYPE__CONNECT ? PUNCH_RELAY_TYPE_CONNECT :
                          PUNCH_RELAY_TYPE_STATUS;
          message->has_status = hop->has_status;
          message->status = (PunchRelayStatus) hop->status;
          decode_limit (message, hop->limit);
          ok = decode_peer (message, hop->peer, error);
          if (ok && hop->reservation != NULL)
            {
              message->has_reservation = TRUE;
              message->expire = hop->reservation->has_expire ? hop->reservation->expire : 0;
              copy_binary_array (message->reservation_addrs, hop->reservation->addrs,
                                 hop->reservation->n_addrs);
              if (hop->reservation->has_voucher)
                message->voucher = g_bytes_new (hop->reservation->voucher.data,
                                                hop->reservation->voucher.len);
            }
        }
    }
  else
    {
      Circuit__Pb__StopMessage *stop = (Circuit__Pb__StopMessage *) pb;

      if (!stop->has_type ||
          (stop->type != CIRCUIT__PB__STOP_MESSAGE__TYPE__CONNECT &&
           stop->type != CIRCUIT__PB__STOP_MESSAGE__TYPE__STATUS))
        {
          g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                               "Stop message without a known type");
          ok = FALSE;
        }
      else
        {
          message->type = stop->type == CIRCUIT__PB__STOP_MESSAGE__TYPE__CONNECT ?
                          PUNCH_RELAY_TYPE_CONNECT : PUNCH_RELAY_TYPE_STATUS;
          message->has_status = stop->has_status;
          message->status = (PunchRelayStatus) stop->status;
          decode_limit (message, stop->limit);
          ok = decode_peer (message, stop->peer, error);
        }
    }

  punch_proto_free (pb);
  return ok ? g_steal_pointer (&message) : NULL;
}

/*
 * punch_relay_status_message:
 * @kind: hop or stop
 * @status: a status
 *
 * Returns: (transfer full): the encoding of a STATUS message with @status
 */
GBytes *
punch_relay_status_message (PunchRelayKind   kind,
                            PunchRelayStatus status)
{
  g_autoptr(PunchRelayMessage) message = punch_relay_message_new_status (status);

  return punch_relay_message_encode (message, kind);
}

/* ------------------------------------------------------------------ */
/* Vouchers                                                           */
/* ------------------------------------------------------------------ */

/*
 * punch_relay_voucher_encode:
 * @relay: the relay
 * @peer: the reserving peer
 * @expiration: the reservation's expiration, unix seconds
 *
 * Returns: (transfer full): the Voucher protobuf, canonical (fields in
 *   field-number order, nothing else)
 */
GBytes *
punch_relay_voucher_encode (PunchPeerId *relay,
                            PunchPeerId *peer,
                            guint64      expiration)
{
  Circuit__Pb__Voucher voucher = CIRCUIT__PB__VOUCHER__INIT;
  g_autoptr(GBytes) relay_bytes = punch_peer_id_get_bytes (relay);
  g_autoptr(GBytes) peer_bytes = punch_peer_id_get_bytes (peer);

  voucher.has_relay = TRUE;
  voucher.relay.data = (guint8 *) g_bytes_get_data (relay_bytes, &voucher.relay.len);
  voucher.has_peer = TRUE;
  voucher.peer.data = (guint8 *) g_bytes_get_data (peer_bytes, &voucher.peer.len);
  voucher.has_expiration = TRUE;
  voucher.expiration = expiration;
  return punch_proto_pack (&voucher.base);
}

/*
 * punch_relay_voucher_decode:
 * @data: (array length=len): a Voucher protobuf
 * @len: its length
 * @out_relay: (out) (optional) (transfer full): the relay
 * @out_peer: (out) (optional) (transfer full): the reserving peer
 * @out_expiration: (out) (optional): the expiration, unix seconds
 * @error: return location for a #GError
 *
 * Errors: %PUNCH_ERROR_TOO_LARGE above 256 bytes; %PUNCH_ERROR_MALFORMED
 * for a bad protobuf, a missing field or a bad peer id.
 *
 * Returns: %TRUE on success
 */
gboolean
punch_relay_voucher_decode (const guint8  *data,
                            gsize          len,
                            PunchPeerId  **out_relay,
                            PunchPeerId  **out_peer,
                            guint64       *out_expiration,
                            GError       **error)
{
  Circuit__Pb__Voucher *voucher;
  g_autoptr(PunchPeerId) relay = NULL;
  g_autoptr(PunchPeerId) peer = NULL;
  g_autoptr(GError) local_error = NULL;
  guint64 expiration;

  voucher = (Circuit__Pb__Voucher *) punch_proto_unpack (&circuit__pb__voucher__descriptor,
                                                         data, len, VOUCHER_MAX_SIZE, error);
  if (voucher == NULL)
    return FALSE;

  if (!voucher->has_relay || !voucher->has_peer || !voucher->has_expiration)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Voucher without its relay, peer or expiration");
      punch_proto_free (&voucher->base);
      return FALSE;
    }
  relay = punch_peer_id_new_from_data (voucher->relay.data, voucher->relay.len, &local_error);
  if (relay != NULL)
    peer = punch_peer_id_new_from_data (voucher->peer.data, voucher->peer.len, &local_error);
  expiration = voucher->expiration;
  punch_proto_free (&voucher->base);
  if (peer == NULL)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "Voucher with a bad peer id: %s", local_error->message);
      return FALSE;
    }

  if (out_relay != NULL)
    *out_relay = g_steal_pointer (&relay);
  if (out_peer != NULL)
    *out_peer = g_steal_pointer (&peer);
  if (out_expiration != NULL)
    *out_expiration = expiration;
  return TRUE;
}

/*
 * punch_relay_voucher_seal:
 * @relay_keypair: the relay's identity
 * @peer: the reserving peer
 * @expiration: the reservation's expiration, unix seconds
 * @error: return location for a #GError
 *
 * Errors: those of punch_envelope_seal().
 *
 * Returns: (transfer full) (nullable): the voucher's signed envelope
 */
GBytes *
punch_relay_voucher_seal (PunchKeypair  *relay_keypair,
                          PunchPeerId   *peer,
                          guint64        expiration,
                          GError       **error)
{
  g_autoptr(GBytes) payload = punch_relay_voucher_encode (punch_keypair_get_peer_id (relay_keypair),
                                                          peer, expiration);
  gsize len;
  const guint8 *data = g_bytes_get_data (payload, &len);

  return punch_envelope_seal (relay_keypair, PUNCH_RELAY_VOUCHER_DOMAIN,
                              punch_relay_voucher_payload_type,
                              sizeof punch_relay_voucher_payload_type,
                              data, len, error);
}

/*
 * punch_relay_voucher_verify:
 * @data: (array length=len): a voucher's envelope
 * @len: its length
 * @relay: the relay expected (signer and voucher's relay)
 * @peer: the reserving peer expected
 * @expiration: the reservation's expiration expected
 * @error: return location for a #GError
 *
 * Errors: those of punch_envelope_open() and punch_relay_voucher_decode();
 * %PUNCH_ERROR_PEER_ID_MISMATCH when the signer or the voucher's relay is
 * not @relay or its peer is not @peer; %PUNCH_ERROR_PROTOCOL when the
 * expiration differs.
 *
 * Returns: %TRUE when the voucher is valid
 */
gboolean
punch_relay_voucher_verify (const guint8  *data,
                            gsize          len,
                            PunchPeerId   *relay,
                            PunchPeerId   *peer,
                            guint64        expiration,
                            GError       **error)
{
  g_autoptr(PunchPublicKey) signer = NULL;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(PunchPeerId) v_relay = NULL;
  g_autoptr(PunchPeerId) v_peer = NULL;
  guint64 v_expiration;

  if (!punch_envelope_open (data, len, PUNCH_RELAY_VOUCHER_DOMAIN,
                            punch_relay_voucher_payload_type,
                            sizeof punch_relay_voucher_payload_type,
                            &signer, &payload, error))
    return FALSE;
  if (!punch_peer_id_matches_public_key (relay, signer))
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH,
                           "Voucher not signed by the relay");
      return FALSE;
    }
  if (!punch_relay_voucher_decode (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload),
                                   &v_relay, &v_peer, &v_expiration, error))
    return FALSE;
  if (!punch_peer_id_equal (v_relay, relay) || !punch_peer_id_equal (v_peer, peer))
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH,
                           "Voucher for another relay or peer");
      return FALSE;
    }
  if (v_expiration != expiration)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                   "Voucher expires at %" G_GUINT64_FORMAT ", the reservation at %"
                   G_GUINT64_FORMAT, v_expiration, expiration);
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* The relay                                                          */
/* ------------------------------------------------------------------ */

void
punch_relay_config_init_default (PunchRelayConfig *config)
{
  config->reservation_ttl = PUNCH_RELAY_DEFAULT_RESERVATION_TTL;
  config->max_reservations = PUNCH_RELAY_DEFAULT_MAX_RESERVATIONS;
  config->max_reservations_per_ip = PUNCH_RELAY_DEFAULT_MAX_RESERVATIONS_PER_IP;
  config->max_circuits_per_peer = PUNCH_RELAY_DEFAULT_MAX_CIRCUITS_PER_PEER;
  config->max_circuits = PUNCH_RELAY_DEFAULT_MAX_CIRCUITS;
  config->limit_duration = PUNCH_RELAY_DEFAULT_LIMIT_DURATION;
  config->limit_data = PUNCH_RELAY_DEFAULT_LIMIT_DATA;
}

typedef struct {
  PunchPeerId *peer;
  gchar *ip;
  gint64 expire_us;     /* unix time */
} Reservation;

typedef struct {
  guint id;
  PunchPeerId *initiator;
  PunchPeerId *target;
  gboolean connected;
  PunchRelayLimit limit;
  gint64 deadline_us;   /* 0: none */
  guint64 bytes[2];     /* per PunchRelayDirection */
} Circuit;

struct _PunchRelayHop {
  PunchKeypair *keypair;
  PunchRelayConfig config;
  GHashTable *reservations;     /* PunchPeerId -> Reservation */
  GHashTable *circuits;         /* id -> Circuit */
  GHashTable *circuits_per_peer; /* PunchPeerId -> count */
  guint next_circuit_id;
};

static void
reservation_free (Reservation *r)
{
  punch_peer_id_unref (r->peer);
  g_free (r->ip);
  g_free (r);
}

static void
circuit_free (Circuit *c)
{
  punch_peer_id_unref (c->initiator);
  punch_peer_id_unref (c->target);
  g_free (c);
}

void
punch_relay_hop_result_free (PunchRelayHopResult *result)
{
  if (result == NULL)
    return;
  punch_relay_message_free (result->reply);
  punch_relay_message_free (result->stop);
  g_clear_pointer (&result->target, punch_peer_id_unref);
  g_free (result->reason);
  g_free (result);
}

/*
 * punch_relay_hop_new:
 * @keypair: the relay's identity, which signs the vouchers
 * @config: (nullable): the limits, or %NULL for the defaults
 *
 * Returns: (transfer full): the state of a relay
 */
PunchRelayHop *
punch_relay_hop_new (PunchKeypair           *keypair,
                     const PunchRelayConfig *config)
{
  PunchRelayHop *self = g_new0 (PunchRelayHop, 1);

  self->keypair = g_object_ref (keypair);
  if (config != NULL)
    self->config = *config;
  else
    punch_relay_config_init_default (&self->config);
  self->reservations = g_hash_table_new_full (punch_peer_id_hash, punch_peer_id_equal, NULL,
                                              (GDestroyNotify) reservation_free);
  self->circuits = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) circuit_free);
  self->circuits_per_peer = g_hash_table_new_full (punch_peer_id_hash, punch_peer_id_equal,
                                                   (GDestroyNotify) punch_peer_id_unref, NULL);
  self->next_circuit_id = 1;
  return self;
}

void
punch_relay_hop_free (PunchRelayHop *self)
{
  if (self == NULL)
    return;
  g_object_unref (self->keypair);
  g_hash_table_unref (self->reservations);
  g_hash_table_unref (self->circuits);
  g_hash_table_unref (self->circuits_per_peer);
  g_free (self);
}

PunchRelayConfig *
punch_relay_hop_get_config (PunchRelayHop *self)
{
  return &self->config;
}

guint
punch_relay_hop_get_n_reservations (PunchRelayHop *self)
{
  return g_hash_table_size (self->reservations);
}

guint
punch_relay_hop_get_n_circuits (PunchRelayHop *self)
{
  return g_hash_table_size (self->circuits);
}

/*
 * punch_relay_hop_expire:
 * @self: a relay
 * @now_us: unix time in microseconds
 *
 * Drops the reservations that expired at @now_us.
 *
 * Returns: (transfer full) (element-type PunchPeerId): the peers whose
 *   reservation was dropped
 */
GPtrArray *
punch_relay_hop_expire (PunchRelayHop *self,
                        gint64         now_us)
{
  GPtrArray *removed = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_peer_id_unref);
  GHashTableIter iter;
  Reservation *r;

  g_hash_table_iter_init (&iter, self->reservations);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &r))
    if (r->expire_us <= now_us)
      {
        g_ptr_array_add (removed, punch_peer_id_ref (r->peer));
        g_hash_table_iter_remove (&iter);
      }
  return removed;
}

/* The earliest expiration (unix us), or 0 when there is no reservation. */
gint64
punch_relay_hop_next_expiry (PunchRelayHop *self)
{
  GHashTableIter iter;
  Reservation *r;
  gint64 next = 0;

  g_hash_table_iter_init (&iter, self->reservations);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &r))
    if (next == 0 || r->expire_us < next)
      next = r->expire_us;
  return next;
}

gboolean
punch_relay_hop_remove_reservation (PunchRelayHop *self,
                                    PunchPeerId   *peer)
{
  return g_hash_table_remove (self->reservations, peer);
}

gboolean
punch_relay_hop_has_reservation (PunchRelayHop *self,
                                 PunchPeerId   *peer,
                                 gint64         now_us)
{
  Reservation *r = g_hash_table_lookup (self->reservations, peer);

  return r != NULL && r->expire_us > now_us;
}

static guint
count_per_ip (PunchRelayHop *self,
              const gchar   *ip)
{
  GHashTableIter iter;
  Reservation *r;
  guint n = 0;

  g_hash_table_iter_init (&iter, self->reservations);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &r))
    if (g_strcmp0 (r->ip, ip) == 0)
      n++;
  return n;
}

static guint
circuits_of (PunchRelayHop *self,
             PunchPeerId   *peer)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (self->circuits_per_peer, peer));
}

static void
circuits_of_add (PunchRelayHop *self,
                 PunchPeerId   *peer,
                 gint           delta)
{
  guint n = circuits_of (self, peer) + delta;

  if (n == 0)
    g_hash_table_remove (self->circuits_per_peer, peer);
  else
    g_hash_table_insert (self->circuits_per_peer, punch_peer_id_ref (peer), GUINT_TO_POINTER (n));
}

static PunchRelayHopResult *
refuse (PunchRelayStatus  status,
        const gchar      *format,
        ...) G_GNUC_PRINTF (2, 3);

static PunchRelayHopResult *
refuse (PunchRelayStatus  status,
        const gchar      *format,
        ...)
{
  PunchRelayHopResult *result = g_new0 (PunchRelayHopResult, 1);
  va_list args;

  result->action = PUNCH_RELAY_HOP_ACTION_REPLY;
  result->reply = punch_relay_message_new_status (status);
  va_start (args, format);
  result->reason = g_strdup_vprintf (format, args);
  va_end (args);
  return result;
}

static PunchRelayLimit
config_limit (PunchRelayHop *self)
{
  PunchRelayLimit limit = { 0, };

  limit.present = self->config.limit_duration > 0 || self->config.limit_data > 0;
  limit.duration = self->config.limit_duration;
  limit.data = self->config.limit_data;
  return limit;
}

static PunchRelayHopResult *
handle_reserve (PunchRelayHop *self,
                PunchPeerId   *from,
                const gchar   *from_ip,
                gboolean       over_relayed,
                GPtrArray     *relay_addrs,
                gint64         now_us)
{
  Reservation *r;
  PunchRelayHopResult *result;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) voucher = NULL;
  guint64 expire;
  gboolean renewed;

  /* circuit-v2.md: "Implementations should not accept reservations over
   * already relayed connections"; go-libp2p answers PERMISSION_DENIED. */
  if (over_relayed)
    return refuse (PUNCH_RELAY_STATUS_PERMISSION_DENIED, "reservation over a relayed connection");

  /* Expired reservations leave room (the shell, which reports them,
   * has usually dropped them already). */
  g_ptr_array_unref (punch_relay_hop_expire (self, now_us));

  r = g_hash_table_lookup (self->reservations, from);
  renewed = r != NULL;
  if (!renewed)
    {
      if (g_hash_table_size (self->reservations) >= self->config.max_reservations)
        return refuse (PUNCH_RELAY_STATUS_RESERVATION_REFUSED,
                       "%u reservations already", g_hash_table_size (self->reservations));
      if (from_ip != NULL && count_per_ip (self, from_ip) >= self->config.max_reservations_per_ip)
        return refuse (PUNCH_RELAY_STATUS_RESERVATION_REFUSED,
                       "%u reservations from %s already", count_per_ip (self, from_ip), from_ip);
    }

  expire = (guint64) (now_us / G_USEC_PER_SEC) + self->config.reservation_ttl;
  voucher = punch_relay_voucher_seal (self->keypair, from, expire, &error);
  if (voucher == NULL)
    return refuse (PUNCH_RELAY_STATUS_RESERVATION_REFUSED, "cannot sign: %s", error->message);

  if (r == NULL)
    {
      r = g_new0 (Reservation, 1);
      r->peer = punch_peer_id_ref (from);
      g_hash_table_insert (self->reservations, r->peer, r);
    }
  g_free (r->ip);
  r->ip = g_strdup (from_ip);
  r->expire_us = (gint64) expire * G_USEC_PER_SEC;

  result = g_new0 (PunchRelayHopResult, 1);
  result->action = PUNCH_RELAY_HOP_ACTION_RESERVED;
  result->renewed = renewed;
  result->reply = punch_relay_message_new_status (PUNCH_RELAY_STATUS_OK);
  result->reply->has_reservation = TRUE;
  result->reply->expire = expire;
  result->reply->voucher = g_steal_pointer (&voucher);
  result->reply->limit = config_limit (self);
  if (relay_addrs != NULL)
    for (guint i = 0; i < relay_addrs->len; i++)
      g_ptr_array_add (result->reply->reservation_addrs,
                       g_bytes_ref (g_ptr_array_index (relay_addrs, i)));
  return result;
}

static PunchRelayHopResult *
handle_connect (PunchRelayHop     *self,
                PunchPeerId       *from,
                gboolean           over_relayed,
                PunchRelayMessage *request,
                gint64             now_us)
{
  PunchRelayHopResult *result;
  Circuit *c;

  if (request->peer == NULL)
    return refuse (PUNCH_RELAY_STATUS_MALFORMED_MESSAGE, "CONNECT without a peer");
  if (over_relayed)
    return refuse (PUNCH_RELAY_STATUS_PERMISSION_DENIED, "CONNECT over a relayed connection");
  if (punch_peer_id_equal (request->peer, from))
    return refuse (PUNCH_RELAY_STATUS_PERMISSION_DENIED, "CONNECT to itself");
  if (!punch_relay_hop_has_reservation (self, request->peer, now_us))
    return refuse (PUNCH_RELAY_STATUS_NO_RESERVATION, "the target has no reservation");
  if (g_hash_table_size (self->circuits) >= self->config.max_circuits)
    return refuse (PUNCH_RELAY_STATUS_RESOURCE_LIMIT_EXCEEDED,
                   "%u circuits already", g_hash_table_size (self->circuits));
  if (circuits_of (self, from) >= self->config.max_circuits_per_peer)
    return refuse (PUNCH_RELAY_STATUS_RESOURCE_LIMIT_EXCEEDED,
                   "the initiator has %u circuits already", circuits_of (self, from));
  if (circuits_of (self, request->peer) >= self->config.max_circuits_per_peer)
    return refuse (PUNCH_RELAY_STATUS_RESOURCE_LIMIT_EXCEEDED,
                   "the target has %u circuits already", circuits_of (self, request->peer));

  c = g_new0 (Circuit, 1);
  c->id = self->next_circuit_id++;
  if (self->next_circuit_id == 0)
    self->next_circuit_id = 1;
  c->initiator = punch_peer_id_ref (from);
  c->target = punch_peer_id_ref (request->peer);
  c->limit = config_limit (self);
  g_hash_table_insert (self->circuits, GUINT_TO_POINTER (c->id), c);
  circuits_of_add (self, c->initiator, +1);
  circuits_of_add (self, c->target, +1);

  result = g_new0 (PunchRelayHopResult, 1);
  result->action = PUNCH_RELAY_HOP_ACTION_CONNECT;
  result->circuit_id = c->id;
  result->target = punch_peer_id_ref (c->target);
  result->stop = punch_relay_message_new (PUNCH_RELAY_TYPE_CONNECT);
  result->stop->peer = punch_peer_id_ref (from);
  result->stop->limit = c->limit;
  return result;
}

/*
 * punch_relay_hop_handle:
 * @self: a relay
 * @from: the peer that sent the request
 * @from_ip: (nullable): its IP address as text, for the per-IP cap
 * @over_relayed: whether the request came over a relayed connection
 * @relay_addrs: (nullable) (element-type GBytes): the relay's public
 *   addresses (with /p2p) for a reservation
 * @data: (array length=len): the HopMessage received (no length prefix)
 * @len: its length
 * @now_us: unix time in microseconds
 *
 * Handles one request on the hop protocol. Every request is answered:
 * MALFORMED_MESSAGE when it cannot be decoded, UNEXPECTED_MESSAGE for a
 * STATUS, the outcome of a RESERVE, and for a CONNECT either a refusal or
 * a circuit to open (%PUNCH_RELAY_HOP_ACTION_CONNECT), answered later by
 * punch_relay_hop_circuit_connected().
 *
 * Returns: (transfer full): what to do
 */
PunchRelayHopResult *
punch_relay_hop_handle (PunchRelayHop *self,
                        PunchPeerId   *from,
                        const gchar   *from_ip,
                        gboolean       over_relayed,
                        GPtrArray     *relay_addrs,
                        const guint8  *data,
                        gsize          len,
                        gint64         now_us)
{
  g_autoptr(PunchRelayMessage) request = NULL;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (from != NULL, NULL);

  request = punch_relay_message_decode (PUNCH_RELAY_KIND_HOP, data, len, &error);
  if (request == NULL)
    return refuse (PUNCH_RELAY_STATUS_MALFORMED_MESSAGE, "%s", error->message);

  switch (request->type)
    {
    case PUNCH_RELAY_TYPE_RESERVE:
      return handle_reserve (self, from, from_ip, over_relayed, relay_addrs, now_us);
    case PUNCH_RELAY_TYPE_CONNECT:
      return handle_connect (self, from, over_relayed, request, now_us);
    case PUNCH_RELAY_TYPE_STATUS:
    default:
      return refuse (PUNCH_RELAY_STATUS_UNEXPECTED_MESSAGE, "STATUS sent to the relay");
    }
}

static Circuit *
lookup_circuit (PunchRelayHop *self,
                guint          circuit_id)
{
  return g_hash_table_lookup (self->circuits, GUINT_TO_POINTER (circuit_id));
}

/*
 * punch_relay_hop_circuit_connected:
 * @self: a relay
 * @circuit_id: a circuit from a CONNECT action
 * @stop_reply: (array length=stop_reply_len) (nullable): the StopMessage
 *   the target answered, or %NULL if the stop stream could not be opened
 * @stop_reply_len: its length
 * @now_us: unix time in microseconds, when the duration limit starts
 * @error: return location for a #GError, set when the circuit failed
 *
 * Takes the target's answer. On STATUS OK the circuit is open and the
 * answer to the initiator is STATUS OK with the limits. Otherwise the
 * circuit is dropped and the answer is CONNECTION_FAILED, and @error says
 * why (%PUNCH_ERROR_MALFORMED for a bad message, %PUNCH_ERROR_PROTOCOL for
 * one that is not a STATUS, %PUNCH_RELAY_ERROR with the target's status, or
 * %PUNCH_ERROR_CLOSED without a reply).
 *
 * Returns: (transfer full): the HopMessage for the initiator
 */
PunchRelayMessage *
punch_relay_hop_circuit_connected (PunchRelayHop  *self,
                                   guint           circuit_id,
                                   const guint8   *stop_reply,
                                   gsize           stop_reply_len,
                                   gint64          now_us,
                                   GError        **error)
{
  Circuit *c = lookup_circuit (self, circuit_id);
  g_autoptr(PunchRelayMessage) reply = NULL;
  PunchRelayMessage *answer;

  g_return_val_if_fail (c != NULL && !c->connected, NULL);

  if (stop_reply == NULL)
    g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED, "No stop stream to the target");
  else if ((reply = punch_relay_message_decode (PUNCH_RELAY_KIND_STOP, stop_reply,
                                                stop_reply_len, error)) == NULL)
    ;
  else if (reply->type != PUNCH_RELAY_TYPE_STATUS)
    g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                         "The target answered with a stop message that is not a STATUS");
  else if (reply->status != PUNCH_RELAY_STATUS_OK)
    g_set_error (error, PUNCH_RELAY_ERROR, reply->status, "The target refused: %s",
                 punch_relay_status_to_string (reply->status));
  else
    {
      c->connected = TRUE;
      if (c->limit.duration > 0)
        c->deadline_us = now_us + (gint64) c->limit.duration * G_USEC_PER_SEC;
      answer = punch_relay_message_new_status (PUNCH_RELAY_STATUS_OK);
      answer->limit = c->limit;
      return answer;
    }

  punch_relay_hop_circuit_close (self, circuit_id, NULL, NULL);
  return punch_relay_message_new_status (PUNCH_RELAY_STATUS_CONNECTION_FAILED);
}

/*
 * punch_relay_hop_circuit_allowance:
 *
 * Returns: how many more bytes may cross the circuit in @direction:
 *   %G_MAXUINT64 without a data limit, 0 once it is reached
 */
guint64
punch_relay_hop_circuit_allowance (PunchRelayHop       *self,
                                   guint                circuit_id,
                                   PunchRelayDirection  direction)
{
  Circuit *c = lookup_circuit (self, circuit_id);

  g_return_val_if_fail (c != NULL, 0);
  if (c->limit.data == 0)
    return G_MAXUINT64;
  return c->bytes[direction] >= c->limit.data ? 0 : c->limit.data - c->bytes[direction];
}

void
punch_relay_hop_circuit_account (PunchRelayHop       *self,
                                 guint                circuit_id,
                                 PunchRelayDirection  direction,
                                 gsize                n)
{
  Circuit *c = lookup_circuit (self, circuit_id);

  g_return_if_fail (c != NULL);
  c->bytes[direction] += n;
}

/* The unix time (us) the circuit must close at, 0 for none. */
gint64
punch_relay_hop_circuit_deadline (PunchRelayHop *self,
                                  guint          circuit_id)
{
  Circuit *c = lookup_circuit (self, circuit_id);

  g_return_val_if_fail (c != NULL, 0);
  return c->deadline_us;
}

/*
 * punch_relay_hop_circuit_limit_reached:
 *
 * Returns: whether the circuit used up its data in either direction or
 *   its time at @now_us; the relay then closes both of its streams
 */
gboolean
punch_relay_hop_circuit_limit_reached (PunchRelayHop *self,
                                       guint          circuit_id,
                                       gint64         now_us)
{
  Circuit *c = lookup_circuit (self, circuit_id);

  g_return_val_if_fail (c != NULL, TRUE);
  if (c->limit.data > 0 &&
      (c->bytes[0] >= c->limit.data || c->bytes[1] >= c->limit.data))
    return TRUE;
  return c->deadline_us > 0 && now_us >= c->deadline_us;
}

void
punch_relay_hop_circuit_close (PunchRelayHop *self,
                               guint          circuit_id,
                               guint64       *out_to_target,
                               guint64       *out_to_initiator)
{
  Circuit *c = lookup_circuit (self, circuit_id);

  g_return_if_fail (c != NULL);
  if (out_to_target != NULL)
    *out_to_target = c->bytes[PUNCH_RELAY_DIRECTION_TO_TARGET];
  if (out_to_initiator != NULL)
    *out_to_initiator = c->bytes[PUNCH_RELAY_DIRECTION_TO_INITIATOR];
  circuits_of_add (self, c->initiator, -1);
  circuits_of_add (self, c->target, -1);
  g_hash_table_remove (self->circuits, GUINT_TO_POINTER (circuit_id));
}

/* ------------------------------------------------------------------ */
/* Clients                                                            */
/* ------------------------------------------------------------------ */

GBytes *
punch_relay_reserve_request (void)
{
  g_autoptr(PunchRelayMessage) message = punch_relay_message_new (PUNCH_RELAY_TYPE_RESERVE);

  return punch_relay_message_encode (message, PUNCH_RELAY_KIND_HOP);
}

GBytes *
punch_relay_connect_request (PunchPeerId *target)
{
  g_autoptr(PunchRelayMessage) message = punch_relay_message_new (PUNCH_RELAY_TYPE_CONNECT);

  message->peer = punch_peer_id_ref (target);
  return punch_relay_message_encode (message, PUNCH_RELAY_KIND_HOP);
}

/* A STATUS message with status OK, or an error. */
static PunchRelayMessage *
decode_status (PunchRelayKind   kind,
               const guint8    *data,
               gsize            len,
               GError         **error)
{
  g_autoptr(PunchRelayMessage) message = punch_relay_message_decode (kind, data, len, error);

  if (message == NULL)
    return NULL;
  if (message->type != PUNCH_RELAY_TYPE_STATUS)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                           "The relay answered with a message that is not a STATUS");
      return NULL;
    }
  if (message->status != PUNCH_RELAY_STATUS_OK)
    {
      gint code = message->status;

      /* A status without a PunchRelayError of its own (UNUSED, unknown
       * values) is reported as a failed connection. */
      if (g_strcmp0 (punch_relay_status_to_string (message->status), "unknown status") == 0 ||
          message->status == PUNCH_RELAY_STATUS_UNUSED)
        code = PUNCH_RELAY_ERROR_CONNECTION_FAILED;
      g_set_error (error, PUNCH_RELAY_ERROR, code, "The relay refused: %s (%d)",
                   punch_relay_status_to_string (message->status), (gint) message->status);
      return NULL;
    }
  return g_steal_pointer (&message);
}

/*
 * punch_relay_parse_reserve_response:
 * @data: (array length=len): the relay's HopMessage
 * @len: its length
 * @relay: the relay
 * @local: the reserving peer (us)
 * @now_us: unix time in microseconds
 * @out_expire: (out): the expiration, unix seconds
 * @out_addrs: (out) (transfer full) (element-type GBytes): the relay's
 *   addresses (raw multiaddrs, not checked)
 * @out_limit: (out): the limits
 * @out_has_voucher: (out): whether a voucher came (and verified)
 * @error: return location for a #GError
 *
 * Errors: those of punch_relay_message_decode(); %PUNCH_RELAY_ERROR with
 * the relay's status when it refused; %PUNCH_ERROR_PROTOCOL for a message
 * that is not a STATUS, an OK without a reservation or with an expiration
 * in the past; those of punch_relay_voucher_verify() for a bad voucher
 * (a missing voucher is accepted: the specification makes them advisory).
 *
 * Returns: %TRUE when the reservation was accepted
 */
gboolean
punch_relay_parse_reserve_response (const guint8     *data,
                                    gsize             len,
                                    PunchPeerId      *relay,
                                    PunchPeerId      *local,
                                    gint64            now_us,
                                    guint64          *out_expire,
                                    GPtrArray       **out_addrs,
                                    PunchRelayLimit  *out_limit,
                                    gboolean         *out_has_voucher,
                                    GError          **error)
{
  g_autoptr(PunchRelayMessage) message = decode_status (PUNCH_RELAY_KIND_HOP, data, len, error);

  if (message == NULL)
    return FALSE;
  if (!message->has_reservation)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                           "The relay accepted without a reservation");
      return FALSE;
    }
  if ((gint64) MIN (message->expire, (guint64) G_MAXINT64 / G_USEC_PER_SEC) * G_USEC_PER_SEC <= now_us)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                   "The reservation expires in the past (%" G_GUINT64_FORMAT ")",
                   message->expire);
      return FALSE;
    }
  if (message->voucher != NULL &&
      !punch_relay_voucher_verify (g_bytes_get_data (message->voucher, NULL),
                                   g_bytes_get_size (message->voucher),
                                   relay, local, message->expire, error))
    {
      g_prefix_error (error, "Bad reservation voucher: ");
      return FALSE;
    }

  *out_expire = message->expire;
  *out_addrs = g_ptr_array_ref (message->reservation_addrs);
  *out_limit = message->limit;
  *out_has_voucher = message->voucher != NULL;
  return TRUE;
}

/*
 * punch_relay_renewal_time:
 * @expire: a reservation's expiration, unix seconds
 * @now_us: unix time in microseconds, when it was made
 *
 * Returns: when to renew it (unix us): after three quarters of its time
 *   left, so a lost renewal can be retried before it expires
 */
gint64
punch_relay_renewal_time (guint64 expire,
                          gint64  now_us)
{
  gint64 expire_us = (gint64) MIN (expire, (guint64) G_MAXINT64 / G_USEC_PER_SEC) * G_USEC_PER_SEC;

  if (expire_us <= now_us)
    return now_us;
  return now_us + (expire_us - now_us) / 4 * 3;
}

/*
 * punch_relay_parse_connect_response:
 *
 * Errors: as punch_relay_parse_reserve_response() (not a STATUS,
 * refusals as %PUNCH_RELAY_ERROR).
 */
gboolean
punch_relay_parse_connect_response (const guint8     *data,
                                    gsize             len,
                                    PunchRelayLimit  *out_limit,
                                    GError          **error)
{
  g_autoptr(PunchRelayMessage) message = decode_status (PUNCH_RELAY_KIND_HOP, data, len, error);

  if (message == NULL)
    return FALSE;
  *out_limit = message->limit;
  return TRUE;
}

/*
 * punch_relay_parse_stop_connect:
 * @data: (array length=len): the StopMessage a relay sent
 * @len: its length
 * @out_refusal: (out): the status to answer when it is refused
 * @error: return location for a #GError
 *
 * Errors: those of punch_relay_message_decode() (@out_refusal
 * MALFORMED_MESSAGE; also for a CONNECT without a peer);
 * %PUNCH_ERROR_PROTOCOL for a STATUS (@out_refusal UNEXPECTED_MESSAGE).
 *
 * Returns: (transfer full) (nullable): the CONNECT, with the initiator in
 *   peer and the limits
 */
PunchRelayMessage *
punch_relay_parse_stop_connect (const guint8      *data,
                                gsize              len,
                                PunchRelayStatus  *out_refusal,
                                GError           **error)
{
  g_autoptr(PunchRelayMessage) message = punch_relay_message_decode (PUNCH_RELAY_KIND_STOP,
                                                                     data, len, error);

  *out_refusal = PUNCH_RELAY_STATUS_MALFORMED_MESSAGE;
  if (message == NULL)
    return NULL;
  if (message->type != PUNCH_RELAY_TYPE_CONNECT)
    {
      *out_refusal = PUNCH_RELAY_STATUS_UNEXPECTED_MESSAGE;
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                           "Stop message that is not a CONNECT");
      return NULL;
    }
  if (message->peer == NULL)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Stop CONNECT without the initiator");
      return NULL;
    }
  *out_refusal = PUNCH_RELAY_STATUS_OK;
  return g_steal_pointer (&message);
}
