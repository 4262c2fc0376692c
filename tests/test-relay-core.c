/* test-relay-core.c: circuit relay v2 codecs and the relay's state, with a hand-advanced clock.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "punch-error.h"
#include "punch-keypair.h"
#include "punch-multiaddr.h"
#include "punch-relay-core.h"

#define S G_USEC_PER_SEC
#define T0 (G_GINT64_CONSTANT (1800000000) * S)   /* the clock's start, unix us */

static PunchKeypair *
new_keypair (void)
{
  g_autoptr(GError) error = NULL;
  PunchKeypair *keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);

  g_assert_no_error (error);
  return keypair;
}

typedef struct {
  PunchKeypair *relay;
  PunchKeypair *a, *b, *c;
  PunchRelayHop *hop;
  GPtrArray *addrs;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) address = NULL;
  g_autoptr(PunchMultiaddr) p2p = NULL;
  g_autoptr(PunchMultiaddr) full = NULL;
  PunchRelayConfig config;

  f->relay = new_keypair ();
  f->a = new_keypair ();
  f->b = new_keypair ();
  f->c = new_keypair ();
  punch_relay_config_init_default (&config);
  config.reservation_ttl = 100;
  config.max_reservations = 3;
  config.max_reservations_per_ip = 2;
  config.max_circuits_per_peer = 2;
  config.max_circuits = 3;
  config.limit_duration = 10;
  config.limit_data = 1000;
  f->hop = punch_relay_hop_new (f->relay, &config);

  address = punch_multiaddr_new_from_string ("/ip4/198.51.100.1/tcp/4001", &error);
  g_assert_no_error (error);
  p2p = punch_multiaddr_new_from_peer_id (punch_keypair_get_peer_id (f->relay));
  full = punch_multiaddr_encapsulate (address, p2p, &error);
  g_assert_no_error (error);
  f->addrs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_ptr_array_add (f->addrs, punch_multiaddr_get_bytes (full));
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  punch_relay_hop_free (f->hop);
  g_ptr_array_unref (f->addrs);
  g_object_unref (f->relay);
  g_object_unref (f->a);
  g_object_unref (f->b);
  g_object_unref (f->c);
}

static PunchPeerId *
id_of (PunchKeypair *keypair)
{
  return punch_keypair_get_peer_id (keypair);
}

static PunchRelayHopResult *
send_bytes (Fixture      *f,
            PunchKeypair *from,
            const gchar  *ip,
            gboolean      relayed,
            GBytes       *request,
            gint64        now)
{
  PunchRelayHopResult *result = punch_relay_hop_handle (f->hop, id_of (from), ip, relayed, f->addrs,
                                                        g_bytes_get_data (request, NULL),
                                                        g_bytes_get_size (request), now);

  g_assert_nonnull (result);
  return result;
}

static PunchRelayHopResult *
reserve (Fixture      *f,
         PunchKeypair *from,
         const gchar  *ip,
         gint64        now)
{
  g_autoptr(GBytes) request = punch_relay_reserve_request ();

  return send_bytes (f, from, ip, FALSE, request, now);
}

static PunchRelayHopResult *
connect_to (Fixture      *f,
            PunchKeypair *from,
            PunchKeypair *target,
            gint64        now)
{
  g_autoptr(GBytes) request = punch_relay_connect_request (id_of (target));

  return send_bytes (f, from, "192.0.2.9", FALSE, request, now);
}

static void
assert_refused (PunchRelayHopResult *result,
                PunchRelayStatus     status)
{
  g_assert_cmpint (result->action, ==, PUNCH_RELAY_HOP_ACTION_REPLY);
  g_assert_nonnull (result->reply);
  g_assert_cmpint (result->reply->type, ==, PUNCH_RELAY_TYPE_STATUS);
  g_assert_true (result->reply->has_status);
  g_assert_cmpint (result->reply->status, ==, status);
  g_assert_false (result->reply->has_reservation);
  g_assert_nonnull (result->reason);
  punch_relay_hop_result_free (result);
}

static void
assert_reserved (PunchRelayHopResult *result,
                 gboolean             renewed)
{
  g_assert_cmpint (result->action, ==, PUNCH_RELAY_HOP_ACTION_RESERVED);
  g_assert_cmpint (result->reply->status, ==, PUNCH_RELAY_STATUS_OK);
  g_assert_cmpint (result->renewed, ==, renewed);
  punch_relay_hop_result_free (result);
}

/* A target that has a reservation and accepted a circuit. */
static guint
open_circuit (Fixture      *f,
              PunchKeypair *from,
              PunchKeypair *target,
              gint64        now)
{
  g_autoptr(PunchRelayHopResult) result = connect_to (f, from, target, now);
  g_autoptr(GBytes) ok = punch_relay_status_message (PUNCH_RELAY_KIND_STOP, PUNCH_RELAY_STATUS_OK);
  g_autoptr(PunchRelayMessage) answer = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (result->action, ==, PUNCH_RELAY_HOP_ACTION_CONNECT);
  answer = punch_relay_hop_circuit_connected (f->hop, result->circuit_id,
                                              g_bytes_get_data (ok, NULL), g_bytes_get_size (ok),
                                              now, &error);
  g_assert_no_error (error);
  g_assert_cmpint (answer->status, ==, PUNCH_RELAY_STATUS_OK);
  return result->circuit_id;
}

/* ------------------------------------------------------------------ */
/* Codec                                                              */
/* ------------------------------------------------------------------ */

static void
test_codec_wire (void)
{
  g_autoptr(GBytes) reserve_req = punch_relay_reserve_request ();
  g_autoptr(GBytes) hop_ok = punch_relay_status_message (PUNCH_RELAY_KIND_HOP, PUNCH_RELAY_STATUS_OK);
  g_autoptr(GBytes) stop_ok = punch_relay_status_message (PUNCH_RELAY_KIND_STOP, PUNCH_RELAY_STATUS_OK);
  g_autoptr(GBytes) hop_refused = punch_relay_status_message (PUNCH_RELAY_KIND_HOP,
                                                              PUNCH_RELAY_STATUS_NO_RESERVATION);
  /* type=RESERVE written although zero (explicit presence). */
  static const guint8 reserve_wire[] = { 0x08, 0x00 };
  /* type=STATUS (2), status=OK (100) in field 5 */
  static const guint8 hop_ok_wire[] = { 0x08, 0x02, 0x28, 0x64 };
  /* stop: type=STATUS (1), status in field 4 */
  static const guint8 stop_ok_wire[] = { 0x08, 0x01, 0x20, 0x64 };
  /* NO_RESERVATION = 204: varint cc 01 */
  static const guint8 hop_refused_wire[] = { 0x08, 0x02, 0x28, 0xcc, 0x01 };

  g_assert_cmpmem (g_bytes_get_data (reserve_req, NULL), g_bytes_get_size (reserve_req),
                   reserve_wire, sizeof reserve_wire);
  g_assert_cmpmem (g_bytes_get_data (hop_ok, NULL), g_bytes_get_size (hop_ok),
                   hop_ok_wire, sizeof hop_ok_wire);
  g_assert_cmpmem (g_bytes_get_data (stop_ok, NULL), g_bytes_get_size (stop_ok),
                   stop_ok_wire, sizeof stop_ok_wire);
  g_assert_cmpmem (g_bytes_get_data (hop_refused, NULL), g_bytes_get_size (hop_refused),
                   hop_refused_wire, sizeof hop_refused_wire);
}

static void
test_codec_roundtrip (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(PunchRelayMessage) message = punch_relay_message_new_status (PUNCH_RELAY_STATUS_OK);
  g_autoptr(PunchRelayMessage) decoded = NULL;
  g_autoptr(PunchRelayMessage) stop = punch_relay_message_new (PUNCH_RELAY_TYPE_CONNECT);
  g_autoptr(PunchRelayMessage) stop_decoded = NULL;
  g_autoptr(GBytes) encoded = NULL;
  g_autoptr(GError) error = NULL;

  message->has_reservation = TRUE;
  message->expire = 1800000100;
  g_ptr_array_add (message->reservation_addrs, g_bytes_ref (g_ptr_array_index (f->addrs, 0)));
  message->voucher = g_bytes_new_static ("voucher", 7);
  message->limit.present = TRUE;
  message->limit.duration = 120;
  message->limit.data = 131072;
  message->peer = punch_peer_id_ref (id_of (f->a));
  g_ptr_array_add (message->peer_addrs, g_bytes_new_static ("\x04\x7f\x00\x00\x01", 5));

  encoded = punch_relay_message_encode (message, PUNCH_RELAY_KIND_HOP);
  decoded = punch_relay_message_decode (PUNCH_RELAY_KIND_HOP, g_bytes_get_data (encoded, NULL),
                                        g_bytes_get_size (encoded), &error);
  g_assert_no_error (error);
  g_assert_cmpint (decoded->type, ==, PUNCH_RELAY_TYPE_STATUS);
  g_assert_cmpint (decoded->status, ==, PUNCH_RELAY_STATUS_OK);
  g_assert_true (decoded->has_reservation);
  g_assert_cmpuint (decoded->expire, ==, 1800000100);
  g_assert_cmpuint (decoded->reservation_addrs->len, ==, 1);
  g_assert_true (g_bytes_equal (g_ptr_array_index (decoded->reservation_addrs, 0),
                                g_ptr_array_index (f->addrs, 0)));
  g_assert_true (g_bytes_equal (decoded->voucher, message->voucher));
  g_assert_true (decoded->limit.present);
  g_assert_cmpuint (decoded->limit.duration, ==, 120);
  g_assert_cmpuint (decoded->limit.data, ==, 131072);
  g_assert_true (punch_peer_id_equal (decoded->peer, id_of (f->a)));
  g_assert_cmpuint (decoded->peer_addrs->len, ==, 1);
  g_clear_pointer (&encoded, g_bytes_unref);

  stop->peer = punch_peer_id_ref (id_of (f->b));
  stop->limit.present = TRUE;
  stop->limit.duration = 0;
  stop->limit.data = 5;
  encoded = punch_relay_message_encode (stop, PUNCH_RELAY_KIND_STOP);
  stop_decoded = punch_relay_message_decode (PUNCH_RELAY_KIND_STOP, g_bytes_get_data (encoded, NULL),
                                             g_bytes_get_size (encoded), &error);
  g_assert_no_error (error);
  g_assert_cmpint (stop_decoded->type, ==, PUNCH_RELAY_TYPE_CONNECT);
  g_assert_false (stop_decoded->has_status);
  g_assert_true (punch_peer_id_equal (stop_decoded->peer, id_of (f->b)));
  g_assert_true (stop_decoded->limit.present);
  g_assert_cmpuint (stop_decoded->limit.duration, ==, 0);
  g_assert_cmpuint (stop_decoded->limit.data, ==, 5);
}

static void
assert_decode_fails (PunchRelayKind  kind,
                     const guint8   *data,
                     gsize           len,
                     gint            code)
{
  g_autoptr(GError) error = NULL;
  PunchRelayMessage *message = punch_relay_message_decode (kind, data, len, &error);

  g_assert_null (message);
  g_assert_error (error, PUNCH_ERROR, code);
}

static void
test_codec_malformed (void)
{
  g_autofree guint8 *huge = g_malloc0 (PUNCH_RELAY_MAX_MESSAGE_SIZE + 1);

  /* Garbage, truncated field, no type, unknown types. */
  assert_decode_fails (PUNCH_RELAY_KIND_HOP, (const guint8 *) "\xff\xff\xff", 3, PUNCH_ERROR_MALFORMED);
  assert_decode_fails (PUNCH_RELAY_KIND_HOP, (const guint8 *) "\x12\x05\x0a", 3, PUNCH_ERROR_MALFORMED);
  assert_decode_fails (PUNCH_RELAY_KIND_HOP, (const guint8 *) "", 0, PUNCH_ERROR_MALFORMED);
  assert_decode_fails (PUNCH_RELAY_KIND_HOP, (const guint8 *) "\x28\x64", 2, PUNCH_ERROR_MALFORMED);
  assert_decode_fails (PUNCH_RELAY_KIND_HOP, (const guint8 *) "\x08\x03", 2, PUNCH_ERROR_MALFORMED);
  assert_decode_fails (PUNCH_RELAY_KIND_STOP, (const guint8 *) "\x08\x02", 2, PUNCH_ERROR_MALFORMED);
  /* CONNECT with a peer without id, with a bad id. */
  assert_decode_fails (PUNCH_RELAY_KIND_HOP, (const guint8 *) "\x08\x01\x12\x00", 4, PUNCH_ERROR_MALFORMED);
  assert_decode_fails (PUNCH_RELAY_KIND_HOP, (const guint8 *) "\x08\x01\x12\x04\x0a\x02\x12\x05", 8,
                       PUNCH_ERROR_MALFORMED);
  assert_decode_fails (PUNCH_RELAY_KIND_STOP, (const guint8 *) "\x08\x00\x12\x03\x0a\x01\x00", 7,
                       PUNCH_ERROR_MALFORMED);
  assert_decode_fails (PUNCH_RELAY_KIND_HOP, huge, PUNCH_RELAY_MAX_MESSAGE_SIZE + 1, PUNCH_ERROR_TOO_LARGE);
}

/* ------------------------------------------------------------------ */
/* Reservations                                                       */
/* ------------------------------------------------------------------ */

static void
test_reserve_ok (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(PunchRelayHopResult) result = reserve (f, f->a, "192.0.2.1", T0 + 500000);
  g_autoptr(GBytes) encoded = NULL;
  g_autoptr(GPtrArray) addrs = NULL;
  g_autoptr(GError) error = NULL;
  PunchRelayLimit limit;
  guint64 expire;
  gboolean has_voucher;

  g_assert_cmpint (result->action, ==, PUNCH_RELAY_HOP_ACTION_RESERVED);
  g_assert_false (result->renewed);
  g_assert_cmpint (result->reply->status, ==, PUNCH_RELAY_STATUS_OK);
  g_assert_true (result->reply->has_reservation);
  /* Seconds, truncated, plus the TTL. */
  g_assert_cmpuint (result->reply->expire, ==, T0 / S + 100);
  g_assert_nonnull (result->reply->voucher);
  g_assert_true (punch_relay_voucher_verify (g_bytes_get_data (result->reply->voucher, NULL),
                                             g_bytes_get_size (result->reply->voucher),
                                             id_of (f->relay), id_of (f->a), T0 / S + 100, &error));
  g_assert_no_error (error);
  g_assert_true (result->reply->limit.present);
  g_assert_cmpuint (result->reply->limit.duration, ==, 10);
  g_assert_cmpuint (result->reply->limit.data, ==, 1000);
  g_assert_true (punch_relay_hop_has_reservation (f->hop, id_of (f->a), T0 + 500000));
  g_assert_cmpuint (punch_relay_hop_get_n_reservations (f->hop), ==, 1);

  /* What the client makes of the answer. */
  encoded = punch_relay_message_encode (result->reply, PUNCH_RELAY_KIND_HOP);
  g_assert_true (punch_relay_parse_reserve_response (g_bytes_get_data (encoded, NULL),
                                                     g_bytes_get_size (encoded),
                                                     id_of (f->relay), id_of (f->a), T0 + S,
                                                     &expire, &addrs, &limit, &has_voucher, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (expire, ==, T0 / S + 100);
  g_assert_cmpuint (addrs->len, ==, 1);
  g_assert_true (g_bytes_equal (g_ptr_array_index (addrs, 0), g_ptr_array_index (f->addrs, 0)));
  g_assert_true (has_voucher);
  g_assert_cmpuint (limit.duration, ==, 10);
  g_assert_cmpuint (limit.data, ==, 1000);

  /* Another peer cannot use our voucher. */
  g_clear_pointer (&addrs, g_ptr_array_unref);
  g_assert_false (punch_relay_parse_reserve_response (g_bytes_get_data (encoded, NULL),
                                                      g_bytes_get_size (encoded),
                                                      id_of (f->relay), id_of (f->b), T0 + S,
                                                      &expire, &addrs, &limit, &has_voucher, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH);
  g_assert_null (addrs);
}

static void
test_reserve_renew_and_expire (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(GPtrArray) removed = NULL;
  PunchRelayHopResult *result;

  assert_reserved (reserve (f, f->a, "192.0.2.1", T0), FALSE);
  g_assert_cmpint (punch_relay_hop_next_expiry (f->hop), ==, T0 + 100 * S);

  /* Renewal at 3/4 of the TTL moves the expiry. */
  g_assert_cmpint (punch_relay_renewal_time (T0 / S + 100, T0), ==, T0 + 75 * S);
  result = reserve (f, f->a, "192.0.2.1", T0 + 75 * S);
  g_assert_cmpuint (result->reply->expire, ==, T0 / S + 175);
  assert_reserved (result, TRUE);
  g_assert_cmpuint (punch_relay_hop_get_n_reservations (f->hop), ==, 1);
  g_assert_cmpint (punch_relay_hop_next_expiry (f->hop), ==, T0 + 175 * S);

  /* Still valid before, gone at expiry. */
  removed = punch_relay_hop_expire (f->hop, T0 + 175 * S - 1);
  g_assert_cmpuint (removed->len, ==, 0);
  g_assert_true (punch_relay_hop_has_reservation (f->hop, id_of (f->a), T0 + 175 * S - 1));
  g_assert_false (punch_relay_hop_has_reservation (f->hop, id_of (f->a), T0 + 175 * S));
  g_clear_pointer (&removed, g_ptr_array_unref);
  removed = punch_relay_hop_expire (f->hop, T0 + 175 * S);
  g_assert_cmpuint (removed->len, ==, 1);
  g_assert_true (punch_peer_id_equal (g_ptr_array_index (removed, 0), id_of (f->a)));
  g_assert_cmpuint (punch_relay_hop_get_n_reservations (f->hop), ==, 0);
  g_assert_cmpint (punch_relay_hop_next_expiry (f->hop), ==, 0);

  /* A reservation after expiry is a new one. */
  assert_reserved (reserve (f, f->a, "192.0.2.1", T0 + 200 * S), FALSE);

  /* Disconnection ends it. */
  g_assert_true (punch_relay_hop_remove_reservation (f->hop, id_of (f->a)));
  g_assert_false (punch_relay_hop_remove_reservation (f->hop, id_of (f->a)));

  /* Renewal time for an expiration already past is now. */
  g_assert_cmpint (punch_relay_renewal_time (T0 / S, T0 + S), ==, T0 + S);
}

static void
test_reserve_caps (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(PunchKeypair) d = new_keypair ();

  /* Per IP: 2. */
  assert_reserved (reserve (f, f->a, "192.0.2.1", T0), FALSE);
  assert_reserved (reserve (f, f->b, "192.0.2.1", T0), FALSE);
  assert_refused (reserve (f, f->c, "192.0.2.1", T0), PUNCH_RELAY_STATUS_RESERVATION_REFUSED);
  /* Renewals are not new reservations. */
  assert_reserved (reserve (f, f->a, "192.0.2.1", T0 + S), TRUE);
  /* Another IP: fine; total: 3. */
  assert_reserved (reserve (f, f->c, "192.0.2.2", T0), FALSE);
  assert_refused (reserve (f, d, "192.0.2.3", T0), PUNCH_RELAY_STATUS_RESERVATION_REFUSED);
  g_assert_cmpuint (punch_relay_hop_get_n_reservations (f->hop), ==, 3);
  /* Room again once one expired: B's at T0 + 100 s. */
  assert_reserved (reserve (f, d, "192.0.2.3", T0 + 100 * S), FALSE);
}

static void
test_reserve_over_relayed (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GBytes) request = punch_relay_reserve_request ();

  assert_refused (send_bytes (f, f->a, "192.0.2.1", TRUE, request, T0),
                  PUNCH_RELAY_STATUS_PERMISSION_DENIED);
  g_assert_cmpuint (punch_relay_hop_get_n_reservations (f->hop), ==, 0);
}

/* ------------------------------------------------------------------ */
/* Requests the relay refuses                                         */
/* ------------------------------------------------------------------ */

static void
test_malformed_and_unexpected (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(GBytes) garbage = g_bytes_new_static ("\xff\xff", 2);
  g_autoptr(GBytes) status = punch_relay_status_message (PUNCH_RELAY_KIND_HOP, PUNCH_RELAY_STATUS_OK);
  g_autoptr(GBytes) connect_without_peer = g_bytes_new_static ("\x08\x01", 2);

  assert_refused (send_bytes (f, f->a, NULL, FALSE, garbage, T0), PUNCH_RELAY_STATUS_MALFORMED_MESSAGE);
  assert_refused (send_bytes (f, f->a, NULL, FALSE, status, T0), PUNCH_RELAY_STATUS_UNEXPECTED_MESSAGE);
  assert_refused (send_bytes (f, f->a, NULL, FALSE, connect_without_peer, T0),
                  PUNCH_RELAY_STATUS_MALFORMED_MESSAGE);
}

static void
test_connect_refusals (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GBytes) request = punch_relay_connect_request (id_of (f->b));

  assert_refused (connect_to (f, f->a, f->b, T0), PUNCH_RELAY_STATUS_NO_RESERVATION);
  assert_reserved (reserve (f, f->b, "192.0.2.2", T0), FALSE);
  assert_refused (send_bytes (f, f->a, "192.0.2.1", TRUE, request, T0),
                  PUNCH_RELAY_STATUS_PERMISSION_DENIED);
  assert_refused (connect_to (f, f->b, f->b, T0), PUNCH_RELAY_STATUS_PERMISSION_DENIED);
  /* Expired (without anyone calling expire()). */
  assert_refused (connect_to (f, f->a, f->b, T0 + 100 * S), PUNCH_RELAY_STATUS_NO_RESERVATION);
  g_assert_cmpuint (punch_relay_hop_get_n_circuits (f->hop), ==, 0);
}

/* ------------------------------------------------------------------ */
/* Circuits                                                           */
/* ------------------------------------------------------------------ */

static void
test_connect_ok (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(PunchRelayHopResult) result = NULL;
  g_autoptr(GBytes) stop = NULL;
  g_autoptr(GBytes) ok = punch_relay_status_message (PUNCH_RELAY_KIND_STOP, PUNCH_RELAY_STATUS_OK);
  g_autoptr(PunchRelayMessage) stop_connect = NULL;
  g_autoptr(PunchRelayMessage) answer = NULL;
  g_autoptr(GBytes) answer_bytes = NULL;
  g_autoptr(GError) error = NULL;
  PunchRelayStatus refusal;
  PunchRelayLimit limit;
  guint64 to_target, to_initiator;

  assert_reserved (reserve (f, f->b, "192.0.2.2", T0), FALSE);
  result = connect_to (f, f->a, f->b, T0 + S);
  g_assert_cmpint (result->action, ==, PUNCH_RELAY_HOP_ACTION_CONNECT);
  g_assert_null (result->reply);
  g_assert_true (punch_peer_id_equal (result->target, id_of (f->b)));
  g_assert_cmpuint (punch_relay_hop_get_n_circuits (f->hop), ==, 1);

  /* The target reads STOP CONNECT with the initiator and the limits. */
  stop = punch_relay_message_encode (result->stop, PUNCH_RELAY_KIND_STOP);
  stop_connect = punch_relay_parse_stop_connect (g_bytes_get_data (stop, NULL), g_bytes_get_size (stop),
                                                 &refusal, &error);
  g_assert_no_error (error);
  g_assert_cmpint (refusal, ==, PUNCH_RELAY_STATUS_OK);
  g_assert_true (punch_peer_id_equal (stop_connect->peer, id_of (f->a)));
  g_assert_true (stop_connect->limit.present);
  g_assert_cmpuint (stop_connect->limit.duration, ==, 10);
  g_assert_cmpuint (stop_connect->limit.data, ==, 1000);

  /* It accepts: the initiator gets OK with the limits. */
  answer = punch_relay_hop_circuit_connected (f->hop, result->circuit_id,
                                              g_bytes_get_data (ok, NULL), g_bytes_get_size (ok),
                                              T0 + 2 * S, &error);
  g_assert_no_error (error);
  g_assert_cmpint (answer->status, ==, PUNCH_RELAY_STATUS_OK);
  answer_bytes = punch_relay_message_encode (answer, PUNCH_RELAY_KIND_HOP);
  g_assert_true (punch_relay_parse_connect_response (g_bytes_get_data (answer_bytes, NULL),
                                                     g_bytes_get_size (answer_bytes), &limit, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (limit.duration, ==, 10);
  g_assert_cmpuint (limit.data, ==, 1000);
  g_assert_cmpint (punch_relay_hop_circuit_deadline (f->hop, result->circuit_id), ==, T0 + 12 * S);

  punch_relay_hop_circuit_account (f->hop, result->circuit_id, PUNCH_RELAY_DIRECTION_TO_TARGET, 7);
  punch_relay_hop_circuit_account (f->hop, result->circuit_id, PUNCH_RELAY_DIRECTION_TO_INITIATOR, 9);
  punch_relay_hop_circuit_close (f->hop, result->circuit_id, &to_target, &to_initiator);
  g_assert_cmpuint (to_target, ==, 7);
  g_assert_cmpuint (to_initiator, ==, 9);
  g_assert_cmpuint (punch_relay_hop_get_n_circuits (f->hop), ==, 0);
}

static void
test_connect_target_fails (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GBytes) refused = punch_relay_status_message (PUNCH_RELAY_KIND_STOP,
                                                          PUNCH_RELAY_STATUS_CONNECTION_FAILED);
  g_autoptr(GBytes) not_status = NULL;
  PunchRelayMessage *answer;
  PunchRelayHopResult *result;
  GError *error = NULL;

  assert_reserved (reserve (f, f->b, "192.0.2.2", T0), FALSE);

  /* No stop stream. */
  result = connect_to (f, f->a, f->b, T0);
  answer = punch_relay_hop_circuit_connected (f->hop, result->circuit_id, NULL, 0, T0, &error);
  g_assert_cmpint (answer->status, ==, PUNCH_RELAY_STATUS_CONNECTION_FAILED);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);
  punch_relay_message_free (answer);
  punch_relay_hop_result_free (result);

  /* Refused by the target. */
  result = connect_to (f, f->a, f->b, T0);
  answer = punch_relay_hop_circuit_connected (f->hop, result->circuit_id,
                                              g_bytes_get_data (refused, NULL),
                                              g_bytes_get_size (refused), T0, &error);
  g_assert_cmpint (answer->status, ==, PUNCH_RELAY_STATUS_CONNECTION_FAILED);
  g_assert_error (error, PUNCH_RELAY_ERROR, PUNCH_RELAY_ERROR_CONNECTION_FAILED);
  g_clear_error (&error);
  punch_relay_message_free (answer);

  /* Answered with a CONNECT. */
  not_status = punch_relay_message_encode (result->stop, PUNCH_RELAY_KIND_STOP);
  punch_relay_hop_result_free (result);
  result = connect_to (f, f->a, f->b, T0);
  answer = punch_relay_hop_circuit_connected (f->hop, result->circuit_id,
                                              g_bytes_get_data (not_status, NULL),
                                              g_bytes_get_size (not_status), T0, &error);
  g_assert_cmpint (answer->status, ==, PUNCH_RELAY_STATUS_CONNECTION_FAILED);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_clear_error (&error);
  punch_relay_message_free (answer);
  punch_relay_hop_result_free (result);

  /* Garbage. */
  result = connect_to (f, f->a, f->b, T0);
  answer = punch_relay_hop_circuit_connected (f->hop, result->circuit_id,
                                              (const guint8 *) "\xff", 1, T0, &error);
  g_assert_cmpint (answer->status, ==, PUNCH_RELAY_STATUS_CONNECTION_FAILED);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED);
  g_clear_error (&error);
  punch_relay_message_free (answer);
  punch_relay_hop_result_free (result);

  /* Failed circuits do not count. */
  g_assert_cmpuint (punch_relay_hop_get_n_circuits (f->hop), ==, 0);
}

static void
test_circuit_caps (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(PunchKeypair) d = new_keypair ();
  PunchRelayHopResult *pending;
  guint first;

  assert_reserved (reserve (f, f->b, "192.0.2.2", T0), FALSE);
  assert_reserved (reserve (f, f->c, "192.0.2.3", T0), FALSE);

  /* Per peer (2), as initiator... */
  first = open_circuit (f, f->a, f->b, T0);
  /* ...counting circuits still being set up. */
  pending = connect_to (f, f->a, f->c, T0);
  g_assert_cmpint (pending->action, ==, PUNCH_RELAY_HOP_ACTION_CONNECT);
  assert_refused (connect_to (f, f->a, f->b, T0), PUNCH_RELAY_STATUS_RESOURCE_LIMIT_EXCEEDED);
  assert_refused (connect_to (f, f->a, f->c, T0), PUNCH_RELAY_STATUS_RESOURCE_LIMIT_EXCEEDED);

  /* ...and as target: B has one, C one; D -> B is the second for B and
   * the third in all (the total cap is 3). */
  open_circuit (f, d, f->b, T0);
  assert_refused (connect_to (f, f->c, f->b, T0), PUNCH_RELAY_STATUS_RESOURCE_LIMIT_EXCEEDED);
  g_assert_cmpuint (punch_relay_hop_get_n_circuits (f->hop), ==, 3);
  assert_refused (connect_to (f, d, f->c, T0), PUNCH_RELAY_STATUS_RESOURCE_LIMIT_EXCEEDED);

  /* Closing makes room. */
  punch_relay_hop_circuit_close (f->hop, first, NULL, NULL);
  punch_relay_hop_circuit_close (f->hop, pending->circuit_id, NULL, NULL);
  punch_relay_hop_result_free (pending);
  open_circuit (f, f->a, f->c, T0);
}

static void
test_circuit_data_limit (Fixture       *f,
                         gconstpointer  data)
{
  guint id;

  assert_reserved (reserve (f, f->b, "192.0.2.2", T0), FALSE);
  id = open_circuit (f, f->a, f->b, T0);

  g_assert_cmpuint (punch_relay_hop_circuit_allowance (f->hop, id, PUNCH_RELAY_DIRECTION_TO_TARGET), ==, 1000);
  punch_relay_hop_circuit_account (f->hop, id, PUNCH_RELAY_DIRECTION_TO_TARGET, 600);
  g_assert_cmpuint (punch_relay_hop_circuit_allowance (f->hop, id, PUNCH_RELAY_DIRECTION_TO_TARGET), ==, 400);
  /* Each direction has its own. */
  g_assert_cmpuint (punch_relay_hop_circuit_allowance (f->hop, id, PUNCH_RELAY_DIRECTION_TO_INITIATOR), ==, 1000);
  punch_relay_hop_circuit_account (f->hop, id, PUNCH_RELAY_DIRECTION_TO_INITIATOR, 999);
  g_assert_false (punch_relay_hop_circuit_limit_reached (f->hop, id, T0));
  punch_relay_hop_circuit_account (f->hop, id, PUNCH_RELAY_DIRECTION_TO_TARGET, 400);
  g_assert_cmpuint (punch_relay_hop_circuit_allowance (f->hop, id, PUNCH_RELAY_DIRECTION_TO_TARGET), ==, 0);
  g_assert_true (punch_relay_hop_circuit_limit_reached (f->hop, id, T0));
  punch_relay_hop_circuit_close (f->hop, id, NULL, NULL);
}

static void
test_circuit_duration_limit (Fixture       *f,
                             gconstpointer  data)
{
  guint id;

  assert_reserved (reserve (f, f->b, "192.0.2.2", T0), FALSE);
  id = open_circuit (f, f->a, f->b, T0 + 5 * S);
  g_assert_cmpint (punch_relay_hop_circuit_deadline (f->hop, id), ==, T0 + 15 * S);
  g_assert_false (punch_relay_hop_circuit_limit_reached (f->hop, id, T0 + 15 * S - 1));
  g_assert_true (punch_relay_hop_circuit_limit_reached (f->hop, id, T0 + 15 * S));
  punch_relay_hop_circuit_close (f->hop, id, NULL, NULL);
}

static void
test_circuit_unlimited (Fixture       *f,
                        gconstpointer  data)
{
  PunchRelayConfig *config = punch_relay_hop_get_config (f->hop);
  g_autoptr(PunchRelayHopResult) reserved = NULL;
  guint id;

  config->limit_duration = 0;
  config->limit_data = 0;
  reserved = reserve (f, f->b, "192.0.2.2", T0);
  /* No limits: no Limit field at all. */
  g_assert_false (reserved->reply->limit.present);
  id = open_circuit (f, f->a, f->b, T0);
  punch_relay_hop_circuit_account (f->hop, id, PUNCH_RELAY_DIRECTION_TO_TARGET, 1 << 30);
  g_assert_cmpuint (punch_relay_hop_circuit_allowance (f->hop, id, PUNCH_RELAY_DIRECTION_TO_TARGET), ==,
                    G_MAXUINT64);
  g_assert_cmpint (punch_relay_hop_circuit_deadline (f->hop, id), ==, 0);
  g_assert_false (punch_relay_hop_circuit_limit_reached (f->hop, id, T0 + G_GINT64_CONSTANT (1000000) * S));
  punch_relay_hop_circuit_close (f->hop, id, NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* Clients                                                            */
/* ------------------------------------------------------------------ */

static void
assert_reserve_response_fails (Fixture          *f,
                               PunchRelayMessage *message,
                               GQuark             domain,
                               gint               code)
{
  g_autoptr(GBytes) encoded = punch_relay_message_encode (message, PUNCH_RELAY_KIND_HOP);
  g_autoptr(GError) error = NULL;
  GPtrArray *addrs = NULL;
  PunchRelayLimit limit;
  guint64 expire;
  gboolean has_voucher;

  g_assert_false (punch_relay_parse_reserve_response (g_bytes_get_data (encoded, NULL),
                                                      g_bytes_get_size (encoded),
                                                      id_of (f->relay), id_of (f->a), T0,
                                                      &expire, &addrs, &limit, &has_voucher, &error));
  g_assert_error (error, domain, code);
  g_assert_null (addrs);
}

static void
test_client_reserve_response (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(PunchRelayHopResult) result = reserve (f, f->a, "192.0.2.1", T0);
  PunchRelayMessage *reply = result->reply;
  g_autoptr(PunchRelayMessage) refused = punch_relay_message_new_status (PUNCH_RELAY_STATUS_RESERVATION_REFUSED);
  g_autoptr(PunchRelayMessage) odd = punch_relay_message_new_status ((PunchRelayStatus) 999);
  g_autoptr(PunchRelayMessage) bare_ok = punch_relay_message_new_status (PUNCH_RELAY_STATUS_OK);
  g_autoptr(PunchRelayMessage) not_status = punch_relay_message_new (PUNCH_RELAY_TYPE_RESERVE);
  g_autoptr(GBytes) voucher = g_bytes_ref (reply->voucher);
  g_autoptr(GByteArray) tampered = g_byte_array_new ();
  g_autoptr(GBytes) encoded = NULL;
  g_autoptr(GPtrArray) addrs = NULL;
  g_autoptr(GError) error = NULL;
  PunchRelayLimit limit;
  guint64 expire;
  gboolean has_voucher = TRUE;

  assert_reserve_response_fails (f, refused, PUNCH_RELAY_ERROR, PUNCH_RELAY_ERROR_RESERVATION_REFUSED);
  assert_reserve_response_fails (f, odd, PUNCH_RELAY_ERROR, PUNCH_RELAY_ERROR_CONNECTION_FAILED);
  assert_reserve_response_fails (f, bare_ok, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  assert_reserve_response_fails (f, not_status, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);

  /* A voucher whose expiration differs from the reservation's. */
  reply->expire++;
  assert_reserve_response_fails (f, reply, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  reply->expire--;

  /* A tampered voucher. */
  g_byte_array_append (tampered, g_bytes_get_data (voucher, NULL), g_bytes_get_size (voucher));
  tampered->data[tampered->len - 1] ^= 1;
  g_clear_pointer (&reply->voucher, g_bytes_unref);
  reply->voucher = g_bytes_new (tampered->data, tampered->len);
  assert_reserve_response_fails (f, reply, PUNCH_ERROR, PUNCH_ERROR_BAD_SIGNATURE);

  /* Expired already. */
  g_clear_pointer (&reply->voucher, g_bytes_unref);
  reply->expire = T0 / S;
  reply->voucher = punch_relay_voucher_seal (f->relay, id_of (f->a), T0 / S, &error);
  g_clear_pointer (&voucher, g_bytes_unref);
  g_assert_no_error (error);
  assert_reserve_response_fails (f, reply, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);

  /* Vouchers are advisory: none is fine. */
  g_clear_pointer (&reply->voucher, g_bytes_unref);
  reply->expire = T0 / S + 100;
  encoded = punch_relay_message_encode (reply, PUNCH_RELAY_KIND_HOP);
  g_assert_true (punch_relay_parse_reserve_response (g_bytes_get_data (encoded, NULL),
                                                     g_bytes_get_size (encoded),
                                                     id_of (f->relay), id_of (f->a), T0,
                                                     &expire, &addrs, &limit, &has_voucher, &error));
  g_assert_no_error (error);
  g_assert_false (has_voucher);
}

static void
test_client_connect_response (void)
{
  g_autoptr(GBytes) refused = punch_relay_status_message (PUNCH_RELAY_KIND_HOP,
                                                          PUNCH_RELAY_STATUS_NO_RESERVATION);
  g_autoptr(GBytes) limit_exceeded = punch_relay_status_message (PUNCH_RELAY_KIND_HOP,
                                                                 PUNCH_RELAY_STATUS_RESOURCE_LIMIT_EXCEEDED);
  g_autoptr(GBytes) ok = punch_relay_status_message (PUNCH_RELAY_KIND_HOP, PUNCH_RELAY_STATUS_OK);
  g_autoptr(GError) error = NULL;
  PunchRelayLimit limit = { TRUE, 1, 1 };

  g_assert_false (punch_relay_parse_connect_response (g_bytes_get_data (refused, NULL),
                                                      g_bytes_get_size (refused), &limit, &error));
  g_assert_error (error, PUNCH_RELAY_ERROR, PUNCH_RELAY_ERROR_NO_RESERVATION);
  g_clear_error (&error);
  g_assert_false (punch_relay_parse_connect_response (g_bytes_get_data (limit_exceeded, NULL),
                                                      g_bytes_get_size (limit_exceeded), &limit, &error));
  g_assert_error (error, PUNCH_RELAY_ERROR, PUNCH_RELAY_ERROR_RESOURCE_LIMIT_EXCEEDED);
  g_clear_error (&error);
  g_assert_false (punch_relay_parse_connect_response ((const guint8 *) "\x01", 1, &limit, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED);
  g_clear_error (&error);

  /* OK without a Limit: no limits. */
  g_assert_true (punch_relay_parse_connect_response (g_bytes_get_data (ok, NULL), g_bytes_get_size (ok),
                                                     &limit, &error));
  g_assert_no_error (error);
  g_assert_false (limit.present);
  g_assert_cmpuint (limit.duration, ==, 0);
  g_assert_cmpuint (limit.data, ==, 0);
}

static void
test_client_stop_connect (void)
{
  g_autoptr(GBytes) status = punch_relay_status_message (PUNCH_RELAY_KIND_STOP, PUNCH_RELAY_STATUS_OK);
  g_autoptr(GError) error = NULL;
  PunchRelayStatus refusal = PUNCH_RELAY_STATUS_OK;

  g_assert_null (punch_relay_parse_stop_connect (g_bytes_get_data (status, NULL),
                                                 g_bytes_get_size (status), &refusal, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_assert_cmpint (refusal, ==, PUNCH_RELAY_STATUS_UNEXPECTED_MESSAGE);
  g_clear_error (&error);

  g_assert_null (punch_relay_parse_stop_connect ((const guint8 *) "\x08\x00", 2, &refusal, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED);
  g_assert_cmpint (refusal, ==, PUNCH_RELAY_STATUS_MALFORMED_MESSAGE);
  g_clear_error (&error);

  refusal = PUNCH_RELAY_STATUS_OK;
  g_assert_null (punch_relay_parse_stop_connect ((const guint8 *) "\x0f", 1, &refusal, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED);
  g_assert_cmpint (refusal, ==, PUNCH_RELAY_STATUS_MALFORMED_MESSAGE);
}

static void
test_defaults (void)
{
  PunchRelayConfig config;

  punch_relay_config_init_default (&config);
  g_assert_cmpuint (config.reservation_ttl, ==, 3600);
  g_assert_cmpuint (config.limit_duration, ==, 3600);
  /* A 4 Mbit/s stream for the whole duration fits. */
  g_assert_cmpuint (config.limit_data, >=, G_GUINT64_CONSTANT (4000000) / 8 * config.limit_duration);
}

#define ADD(path, func) \
  g_test_add ("/relay-core/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/relay-core/codec/wire", test_codec_wire);
  ADD ("codec/roundtrip", test_codec_roundtrip);
  g_test_add_func ("/relay-core/codec/malformed", test_codec_malformed);
  g_test_add_func ("/relay-core/defaults", test_defaults);
  ADD ("reserve/ok", test_reserve_ok);
  ADD ("reserve/renew-and-expire", test_reserve_renew_and_expire);
  ADD ("reserve/caps", test_reserve_caps);
  ADD ("reserve/over-relayed", test_reserve_over_relayed);
  ADD ("hop/malformed-and-unexpected", test_malformed_and_unexpected);
  ADD ("connect/refusals", test_connect_refusals);
  ADD ("connect/ok", test_connect_ok);
  ADD ("connect/target-fails", test_connect_target_fails);
  ADD ("circuit/caps", test_circuit_caps);
  ADD ("circuit/data-limit", test_circuit_data_limit);
  ADD ("circuit/duration-limit", test_circuit_duration_limit);
  ADD ("circuit/unlimited", test_circuit_unlimited);
  ADD ("client/reserve-response", test_client_reserve_response);
  g_test_add_func ("/relay-core/client/connect-response", test_client_connect_response);
  g_test_add_func ("/relay-core/client/stop-connect", test_client_stop_connect);

  return g_test_run ();
}
