/* test-relay-host.c: circuit relay v2 between three hosts on loopback.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "punch-connection-private.h"
#include "punch-error.h"
#include "punch-framing.h"
#include "punch-host.h"
#include "punch-keypair.h"
#include "punch-relay.h"
#include "punch-relay-core.h"
#include "punch-stream-private.h"
#include "punch-yamux-session.h"

#define KiB 1024
#define MiB (1024 * 1024)

/* Every wait is a main loop iteration bounded by a failsafe timeout. */
#define WAIT_TIMEOUT_S 30

#include "punch-test-util.h"

/* ------------------------------------------------------------------ */
/* The target's side of circuits                                      */
/* ------------------------------------------------------------------ */

typedef enum {
  TARGET_ECHO,      /* writes back what it reads */
  TARGET_COUNT,     /* reads until the end, counting */
  TARGET_SINK,      /* keeps the stream, reads nothing */
} TargetMode;

typedef struct {
  TargetMode mode;
  GPtrArray *streams;           /* PunchStream accepted */
  PunchPeerId *initiator;
  guint32 limit_duration;
  guint64 limit_data;
  gsize counted;
  gboolean ended;               /* COUNT: the read loop ended */
  gboolean ended_cleanly;       /* ...with the end of the stream */
  guint8 buf[4096];
} Target;

static void count_read (Target *t, PunchStream *stream);

static void
on_count_read (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Target *t = user_data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (n <= 0)
    {
      t->ended = TRUE;
      t->ended_cleanly = n == 0;
      return;
    }
  t->counted += n;
  count_read (t, g_ptr_array_index (t->streams, t->streams->len - 1));
}

static void
count_read (Target      *t,
            PunchStream *stream)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (stream)), t->buf,
                             sizeof t->buf, G_PRIORITY_DEFAULT, NULL, on_count_read, t);
}

static void
on_echo_spliced (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, NULL);
  g_object_unref (user_data);
}

static void
on_circuit (PunchHost   *host,
            PunchStream *stream,
            PunchPeerId *initiator,
            guint32      limit_duration,
            guint64      limit_data,
            gpointer     user_data)
{
  Target *t = user_data;

  g_ptr_array_add (t->streams, g_object_ref (stream));
  g_clear_pointer (&t->initiator, punch_peer_id_unref);
  t->initiator = punch_peer_id_ref (initiator);
  t->limit_duration = limit_duration;
  t->limit_data = limit_data;

  switch (t->mode)
    {
    case TARGET_ECHO:
      g_output_stream_splice_async (g_io_stream_get_output_stream (G_IO_STREAM (stream)),
                                    g_io_stream_get_input_stream (G_IO_STREAM (stream)),
                                    G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE |
                                    G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                    G_PRIORITY_DEFAULT, NULL, on_echo_spliced,
                                    g_object_ref (stream));
      break;
    case TARGET_COUNT:
      count_read (t, stream);
      break;
    case TARGET_SINK:
      break;
    }
}

/* ------------------------------------------------------------------ */
/* Three hosts                                                        */
/* ------------------------------------------------------------------ */

typedef struct {
  PunchHost *r, *a, *b;
  PunchRelayService *service;
  PunchMultiaddr *r_address;
  Target target;
  guint reservations_added;
  guint reservations_removed;
  guint circuits_opened;
  guint circuits_closed;
  guint64 closed_to_target;
  guint64 closed_to_initiator;
} Fixture;

static PunchHost *
new_host (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);

  g_assert_no_error (error);
  return punch_host_new (keypair);
}

static void
on_reservation_added (PunchRelayService *service,
                      PunchPeerId       *peer,
                      Fixture           *f)
{
  f->reservations_added++;
}

static void
on_reservation_removed (PunchRelayService *service,
                        PunchPeerId       *peer,
                        Fixture           *f)
{
  f->reservations_removed++;
}

static void
on_circuit_opened (PunchRelayService *service,
                   PunchPeerId       *initiator,
                   PunchPeerId       *target,
                   Fixture           *f)
{
  g_assert_true (punch_peer_id_equal (initiator, punch_host_get_peer_id (f->a)));
  g_assert_true (punch_peer_id_equal (target, punch_host_get_peer_id (f->b)));
  f->circuits_opened++;
}

static void
on_circuit_closed (PunchRelayService *service,
                   PunchPeerId       *initiator,
                   PunchPeerId       *target,
                   guint64            to_target,
                   guint64            to_initiator,
                   Fixture           *f)
{
  f->circuits_closed++;
  f->closed_to_target = to_target;
  f->closed_to_initiator = to_initiator;
}

static void
dial (PunchHost      *host,
      PunchMultiaddr *address)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchConnection) connection = NULL;

  punch_host_dial_async (host, address, NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  connection = punch_host_dial_finish (host, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (connection);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) address = punch_multiaddr_new_from_string ("/ip4/127.0.0.1/tcp/0", &error);
  g_autoptr(GPtrArray) addresses = NULL;

  f->r = new_host ();
  f->a = new_host ();
  f->b = new_host ();
  g_assert_true (punch_host_listen (f->r, address, &error));
  g_assert_no_error (error);
  addresses = punch_host_get_listen_addresses (f->r);
  f->r_address = punch_multiaddr_ref (g_ptr_array_index (addresses, 0));

  f->service = punch_relay_service_new (f->r);
  g_signal_connect (f->service, "reservation-added", G_CALLBACK (on_reservation_added), f);
  g_signal_connect (f->service, "reservation-removed", G_CALLBACK (on_reservation_removed), f);
  g_signal_connect (f->service, "circuit-opened", G_CALLBACK (on_circuit_opened), f);
  g_signal_connect (f->service, "circuit-closed", G_CALLBACK (on_circuit_closed), f);

  f->target.streams = g_ptr_array_new_with_free_func (g_object_unref);
  punch_relay_set_stop_handler (f->b, on_circuit, &f->target, NULL);

  dial (f->a, f->r_address);
  dial (f->b, f->r_address);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_signal_handlers_disconnect_by_data (f->service, f);
  punch_relay_service_stop (f->service);
  g_clear_object (&f->service);
  g_ptr_array_unref (f->target.streams);
  g_clear_pointer (&f->target.initiator, punch_peer_id_unref);
  punch_host_close (f->a);
  punch_host_close (f->b);
  punch_host_close (f->r);
  run_pending ();
  g_clear_object (&f->a);
  g_clear_object (&f->b);
  g_clear_object (&f->r);
  punch_multiaddr_unref (f->r_address);
  run_pending ();
}

static PunchRelayReservation *
reserve (PunchHost    *host,
         PunchPeerId  *relay,
         GError      **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  punch_relay_reserve_async (host, relay, NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  return punch_relay_reserve_finish (host, result, error);
}

static PunchStream *
connect_through (Fixture  *f,
                 guint32  *limit_duration,
                 guint64  *limit_data,
                 GError  **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  punch_relay_connect_async (f->a, punch_host_get_peer_id (f->r), punch_host_get_peer_id (f->b),
                             NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  return punch_relay_connect_finish (f->a, result, limit_duration, limit_data, error);
}

static void
reserve_b (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchRelayReservation) reservation = reserve (f->b, punch_host_get_peer_id (f->r), &error);

  g_assert_no_error (error);
  g_assert_nonnull (reservation);
}

static gssize
read_all (PunchStream  *stream,
          guint8       *buffer,
          gsize         size,
          GError      **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  gsize done = 0;

  g_input_stream_read_all_async (g_io_stream_get_input_stream (G_IO_STREAM (stream)),
                                 buffer, size, G_PRIORITY_DEFAULT, NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  if (!g_input_stream_read_all_finish (g_io_stream_get_input_stream (G_IO_STREAM (stream)),
                                       result, &done, error))
    return -1;
  return (gssize) done;
}

/* ------------------------------------------------------------------ */
/* Tests                                                              */
/* ------------------------------------------------------------------ */

static void
test_reserve (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchRelayReservation) reservation = reserve (f->b, punch_host_get_peer_id (f->r), &error);
  g_autoptr(PunchRelayReservation) renewed = NULL;
  g_autoptr(GPtrArray) addresses = NULL;
  g_autoptr(PunchPeerId) in_address = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  g_assert_no_error (error);
  g_assert_true (punch_peer_id_equal (punch_relay_reservation_get_relay (reservation),
                                      punch_host_get_peer_id (f->r)));
  g_assert_cmpint (punch_relay_reservation_get_expiration (reservation), >=,
                   now + PUNCH_RELAY_DEFAULT_RESERVATION_TTL - 2);
  g_assert_cmpint (punch_relay_reservation_get_expiration (reservation), <=,
                   now + PUNCH_RELAY_DEFAULT_RESERVATION_TTL + 2);
  g_assert_cmpint (punch_relay_reservation_get_renewal_time (reservation) / G_USEC_PER_SEC, >=,
                   now + PUNCH_RELAY_DEFAULT_RESERVATION_TTL * 3 / 4 - 2);
  g_assert_true (punch_relay_reservation_has_voucher (reservation));
  g_assert_cmpuint (punch_relay_reservation_get_limit_duration (reservation), ==,
                    PUNCH_RELAY_DEFAULT_LIMIT_DURATION);
  g_assert_cmpuint (punch_relay_reservation_get_limit_data (reservation), ==,
                    PUNCH_RELAY_DEFAULT_LIMIT_DATA);
  addresses = punch_relay_reservation_get_addresses (reservation);
  g_assert_cmpuint (addresses->len, ==, 1);
  g_assert_true (punch_multiaddr_equal (g_ptr_array_index (addresses, 0), f->r_address));
  in_address = punch_multiaddr_get_peer_id (g_ptr_array_index (addresses, 0));
  g_assert_true (punch_peer_id_equal (in_address, punch_host_get_peer_id (f->r)));
  g_assert_cmpuint (f->reservations_added, ==, 1);
  g_assert_cmpuint (punch_relay_service_get_n_reservations (f->service), ==, 1);

  /* Renewing is not a new reservation. */
  renewed = reserve (f->b, punch_host_get_peer_id (f->r), &error);
  g_assert_no_error (error);
  g_assert_nonnull (renewed);
  g_assert_cmpuint (f->reservations_added, ==, 1);
  g_assert_cmpuint (punch_relay_service_get_n_reservations (f->service), ==, 1);
}

static void
test_public_addresses (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) public = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);
  g_autoptr(PunchRelayReservation) reservation = NULL;
  g_autoptr(GPtrArray) addresses = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *id = punch_peer_id_to_string (punch_host_get_peer_id (f->r));
  g_autofree gchar *expected = g_strdup_printf ("/ip4/198.51.100.7/tcp/4001/p2p/%s", id);

  g_ptr_array_add (public, punch_multiaddr_new_from_string ("/ip4/198.51.100.7/tcp/4001", &error));
  g_assert_no_error (error);
  punch_relay_service_set_public_addresses (f->service, public);
  reservation = reserve (f->b, punch_host_get_peer_id (f->r), &error);
  g_assert_no_error (error);
  addresses = punch_relay_reservation_get_addresses (reservation);
  g_assert_cmpuint (addresses->len, ==, 1);
  text = punch_multiaddr_to_string (g_ptr_array_index (addresses, 0));
  g_assert_cmpstr (text, ==, expected);
}

static void
test_echo (Fixture       *f,
           gconstpointer  data)
{
  const gsize size = 300 * KiB;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) stream = NULL;
  g_autofree guint8 *sent = g_malloc (size);
  g_autofree guint8 *received = g_malloc (size + 1);
  g_autoptr(GAsyncResult) written = NULL;
  guint32 limit_duration = 0;
  guint64 limit_data = 0;
  guint8 extra;

  for (gsize i = 0; i < size; i++)
    sent[i] = (guint8) (i * 13 + i / 1000);
  f->target.mode = TARGET_ECHO;
  reserve_b (f);

  stream = connect_through (f, &limit_duration, &limit_data, &error);
  g_assert_no_error (error);
  g_assert_nonnull (stream);
  g_assert_cmpuint (limit_duration, ==, PUNCH_RELAY_DEFAULT_LIMIT_DURATION);
  g_assert_cmpuint (limit_data, ==, PUNCH_RELAY_DEFAULT_LIMIT_DATA);
  WAIT_FOR (f->target.streams->len == 1);
  g_assert_true (punch_peer_id_equal (f->target.initiator, punch_host_get_peer_id (f->a)));
  g_assert_cmpuint (f->target.limit_duration, ==, PUNCH_RELAY_DEFAULT_LIMIT_DURATION);
  g_assert_cmpuint (f->target.limit_data, ==, PUNCH_RELAY_DEFAULT_LIMIT_DATA);
  g_assert_cmpuint (f->circuits_opened, ==, 1);
  g_assert_cmpuint (punch_relay_service_get_n_circuits (f->service), ==, 1);

  /* Raw bytes both ways, more than a yamux window. */
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (stream)), sent, size,
                                   G_PRIORITY_DEFAULT, NULL, store_result, &written);
  g_assert_cmpint (read_all (stream, received, size, &error), ==, (gssize) size);
  g_assert_no_error (error);
  g_assert_cmpmem (received, size, sent, size);
  WAIT_FOR (written != NULL);
  g_assert_true (g_output_stream_write_all_finish (g_io_stream_get_output_stream (G_IO_STREAM (stream)),
                                                   written, NULL, &error));
  g_assert_no_error (error);

  /* Half-closing goes through: the echo ends, the circuit with it. */
  g_assert_true (punch_stream_close_write (stream, &error));
  g_assert_no_error (error);
  g_assert_cmpint (read_all (stream, &extra, 1, &error), ==, 0);
  g_assert_no_error (error);
  WAIT_FOR (f->circuits_closed == 1);
  g_assert_cmpuint (f->closed_to_target, ==, size);
  g_assert_cmpuint (f->closed_to_initiator, ==, size);
  g_assert_cmpuint (punch_relay_service_get_n_circuits (f->service), ==, 0);
  g_assert_cmpuint (punch_relay_service_get_buffered_bytes (f->service), ==, 0);
}

static void
test_no_reservation (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) stream = connect_through (f, NULL, NULL, &error);

  g_assert_error (error, PUNCH_RELAY_ERROR, PUNCH_RELAY_ERROR_NO_RESERVATION);
  g_assert_null (stream);
  g_assert_cmpuint (f->target.streams->len, ==, 0);
  g_assert_cmpuint (punch_relay_service_get_n_circuits (f->service), ==, 0);
}

static void
test_reservation_refused (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchRelayReservation) refused = NULL;

  g_object_set (f->service, "max-reservations", 1, NULL);
  reserve_b (f);
  refused = reserve (f->a, punch_host_get_peer_id (f->r), &error);
  g_assert_error (error, PUNCH_RELAY_ERROR, PUNCH_RELAY_ERROR_RESERVATION_REFUSED);
  g_assert_null (refused);
  g_clear_error (&error);

  /* Per IP: everyone is on 127.0.0.1. */
  g_object_set (f->service, "max-reservations", 10, "max-reservations-per-ip", 1, NULL);
  refused = reserve (f->a, punch_host_get_peer_id (f->r), &error);
  g_assert_error (error, PUNCH_RELAY_ERROR, PUNCH_RELAY_ERROR_RESERVATION_REFUSED);
  g_assert_cmpuint (punch_relay_service_get_n_reservations (f->service), ==, 1);
}

/* Limits end the circuit on both ends: the target reads the end of its
 * stream, so does the initiator. */
static void
check_limit_closes (Fixture *f,
                    gsize    to_write,
                    gsize    expected_at_target)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) stream = NULL;
  g_autoptr(GAsyncResult) written = NULL;
  g_autofree guint8 *sent = g_malloc0 (MAX (to_write, 1));
  guint8 buf[16];

  f->target.mode = TARGET_COUNT;
  reserve_b (f);
  stream = connect_through (f, NULL, NULL, &error);
  g_assert_no_error (error);
  if (to_write > 0)
    g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (stream)), sent,
                                     to_write, G_PRIORITY_DEFAULT, NULL, store_result, &written);

  WAIT_FOR (f->circuits_closed == 1);
  WAIT_FOR (f->target.ended);
  g_assert_true (f->target.ended_cleanly);
  g_assert_cmpuint (f->target.counted, ==, expected_at_target);
  g_assert_cmpuint (f->closed_to_target, ==, expected_at_target);
  g_assert_cmpint (read_all (stream, buf, sizeof buf, &error), ==, 0);
  g_assert_no_error (error);
  if (to_write > 0)
    WAIT_FOR (written != NULL);
  g_assert_cmpuint (punch_relay_service_get_n_circuits (f->service), ==, 0);
  g_assert_cmpuint (punch_relay_service_get_buffered_bytes (f->service), ==, 0);
}

static void
test_data_limit (Fixture       *f,
                 gconstpointer  data)
{
  g_object_set (f->service, "limit-data", (guint64) 1000, NULL);
  check_limit_closes (f, 5000, 1000);
}

static void
test_duration_limit (Fixture       *f,
                     gconstpointer  data)
{
  gint64 start = g_get_monotonic_time ();

  g_object_set (f->service, "limit-duration", 1, NULL);
  check_limit_closes (f, 0, 0);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 900 * 1000);
}

/* A hop request that is no protobuf is answered MALFORMED_MESSAGE, a
 * STATUS UNEXPECTED_MESSAGE; the relay keeps serving. */
static void
check_bad_hop_request (Fixture          *f,
                       const guint8     *raw,
                       gsize             raw_len,
                       PunchRelayStatus  expected)
{
  static const gchar * const protocols[] = { PUNCH_RELAY_HOP_PROTOCOL_ID, NULL };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) stream = NULL;
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(PunchRelayMessage) message = NULL;
  g_autoptr(GAsyncResult) written = NULL;

  punch_host_new_stream_async (f->a, punch_host_get_peer_id (f->r), protocols, NULL,
                               store_result, &result);
  WAIT_FOR (result != NULL);
  stream = punch_host_new_stream_finish (f->a, result, &error);
  g_assert_no_error (error);
  g_clear_object (&result);

  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (stream)), raw, raw_len,
                                   G_PRIORITY_DEFAULT, NULL, store_result, &written);
  WAIT_FOR (written != NULL);
  punch_framing_read_async (g_io_stream_get_input_stream (G_IO_STREAM (stream)), 4096,
                            G_PRIORITY_DEFAULT, NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  answer = punch_framing_read_finish (g_io_stream_get_input_stream (G_IO_STREAM (stream)), result, &error);
  g_assert_no_error (error);
  message = punch_relay_message_decode (PUNCH_RELAY_KIND_HOP, g_bytes_get_data (answer, NULL),
                                        g_bytes_get_size (answer), &error);
  g_assert_no_error (error);
  g_assert_cmpint (message->type, ==, PUNCH_RELAY_TYPE_STATUS);
  g_assert_cmpint (message->status, ==, expected);
}

static void
test_malformed (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchRelayReservation) reservation = NULL;
  /* A frame of two bytes that are no protobuf; a frame announcing 5000
   * bytes (above the 4 KiB maximum). */
  static const guint8 garbage[] = { 0x02, 0xff, 0xff };
  static const guint8 too_large[] = { 0x88, 0x27, 0x00 };
  /* HopMessage { type = STATUS, status = OK } */
  static const guint8 status[] = { 0x04, 0x08, 0x02, 0x28, 0x64 };

  check_bad_hop_request (f, garbage, sizeof garbage, PUNCH_RELAY_STATUS_MALFORMED_MESSAGE);
  check_bad_hop_request (f, too_large, sizeof too_large, PUNCH_RELAY_STATUS_MALFORMED_MESSAGE);
  check_bad_hop_request (f, status, sizeof status, PUNCH_RELAY_STATUS_UNEXPECTED_MESSAGE);

  reservation = reserve (f->a, punch_host_get_peer_id (f->r), &error);
  g_assert_no_error (error);
  g_assert_nonnull (reservation);
}

/* What the relay's yamux sessions hold in receive buffers. */
static gsize
relay_ring_bytes (Fixture *f)
{
  g_autoptr(GPtrArray) connections = punch_host_get_connections (f->r, NULL);
  gsize total = 0;

  for (guint i = 0; i < connections->len; i++)
    {
      PunchYamuxSession *yamux = punch_connection_get_yamux (g_ptr_array_index (connections, i));

      if (yamux != NULL)
        total += punch_yamux_session_get_buffered_size (yamux);
    }
  return total;
}

/* A target that reads nothing: the relay holds at most its buffer and
 * one stream window, the initiator's writes wait. */
static void
test_slow_reader (Fixture       *f,
                  gconstpointer  data)
{
  const gsize size = 4 * MiB;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) stream = NULL;
  g_autoptr(GAsyncResult) written = NULL;
  g_autofree guint8 *sent = g_malloc (size);
  g_autofree guint8 *received = g_malloc (size);
  guint buffer_size, stream_window;
  PunchStream *sink;
  gsize readable;

  for (gsize i = 0; i < size; i++)
    sent[i] = (guint8) (i * 7 + i / 4096);
  f->target.mode = TARGET_SINK;
  g_object_get (f->service, "buffer-size", &buffer_size, "stream-window", &stream_window, NULL);
  g_assert_cmpuint (buffer_size, ==, PUNCH_RELAY_DEFAULT_BUFFER_SIZE);
  g_assert_cmpuint (stream_window, ==, PUNCH_RELAY_DEFAULT_STREAM_WINDOW);
  /* The smallest window yamux allows: the relay's receive buffers for the
   * circuit cannot grow past it, however fast it reads at first. */
  g_object_set (f->service, "stream-window", PUNCH_YAMUX_INITIAL_WINDOW, NULL);
  reserve_b (f);
  stream = connect_through (f, NULL, NULL, &error);
  g_assert_no_error (error);
  WAIT_FOR (f->target.streams->len == 1);
  sink = g_ptr_array_index (f->target.streams, 0);

  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (stream)), sent, size,
                                   G_PRIORITY_DEFAULT, NULL, store_result, &written);

  /* The relay fills the target's window, then waits. */
  WAIT_FOR (punch_stream_get_readable_size (sink) >= PUNCH_YAMUX_INITIAL_WINDOW - 4 * KiB);
  readable = punch_stream_get_readable_size (sink);
  for (guint round = 0; round < 50; round++)
    {
      run_pending ();
      g_assert_null (written);
      g_assert_cmpuint (punch_relay_service_get_buffered_bytes (f->service), <=, buffer_size);
      g_assert_cmpuint (punch_stream_get_readable_size (sink), <=, PUNCH_YAMUX_INITIAL_WINDOW);
      /* One window (the initiator's stream) and a little: uncapped, the
       * window doubles at once on loopback. */
      g_assert_cmpuint (relay_ring_bytes (f), <=, PUNCH_YAMUX_INITIAL_WINDOW + 64 * KiB);
    }
  g_assert_cmpuint (punch_stream_get_readable_size (sink), ==, readable);

  /* Reading resumes everything, bytes intact. */
  g_assert_cmpint (read_all (sink, received, size, &error), ==, (gssize) size);
  g_assert_no_error (error);
  g_assert_cmpmem (received, size, sent, size);
  WAIT_FOR (written != NULL);
  g_assert_true (g_output_stream_write_all_finish (g_io_stream_get_output_stream (G_IO_STREAM (stream)),
                                                   written, NULL, &error));
  g_assert_no_error (error);
}

/* The stop handler refuses what is not a STOP CONNECT. */
static void
check_bad_stop (Fixture          *f,
                GBytes           *payload,
                PunchRelayStatus  expected)
{
  static const gchar * const protocols[] = { PUNCH_RELAY_STOP_PROTOCOL_ID, NULL };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) stream = NULL;
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(PunchRelayMessage) message = NULL;
  g_autoptr(GAsyncResult) written = NULL;

  punch_host_new_stream_async (f->a, punch_host_get_peer_id (f->b), protocols, NULL,
                               store_result, &result);
  WAIT_FOR (result != NULL);
  stream = punch_host_new_stream_finish (f->a, result, &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  punch_framing_write_async (g_io_stream_get_output_stream (G_IO_STREAM (stream)), payload,
                             G_PRIORITY_DEFAULT, NULL, store_result, &written);
  WAIT_FOR (written != NULL);
  punch_framing_read_async (g_io_stream_get_input_stream (G_IO_STREAM (stream)), 4096,
                            G_PRIORITY_DEFAULT, NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  answer = punch_framing_read_finish (g_io_stream_get_input_stream (G_IO_STREAM (stream)), result, &error);
  g_assert_no_error (error);
  message = punch_relay_message_decode (PUNCH_RELAY_KIND_STOP, g_bytes_get_data (answer, NULL),
                                        g_bytes_get_size (answer), &error);
  g_assert_no_error (error);
  g_assert_cmpint (message->type, ==, PUNCH_RELAY_TYPE_STATUS);
  g_assert_cmpint (message->status, ==, expected);
}

static void
test_stop_refusals (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GBytes) garbage = g_bytes_new_static ("\xff\xff", 2);
  g_autoptr(GBytes) status = punch_relay_status_message (PUNCH_RELAY_KIND_STOP, PUNCH_RELAY_STATUS_OK);

  /* A talks to B directly. */
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) any = punch_multiaddr_new_from_string ("/ip4/127.0.0.1/tcp/0", &error);
  g_autoptr(GPtrArray) addresses = NULL;

  g_assert_true (punch_host_listen (f->b, any, &error));
  addresses = punch_host_get_listen_addresses (f->b);
  dial (f->a, g_ptr_array_index (addresses, 0));

  check_bad_stop (f, garbage, PUNCH_RELAY_STATUS_MALFORMED_MESSAGE);
  check_bad_stop (f, status, PUNCH_RELAY_STATUS_UNEXPECTED_MESSAGE);
  g_assert_cmpuint (f->target.streams->len, ==, 0);
}

/* A reservation ends with its peer's connection. */
static void
test_disconnect_ends_reservation (Fixture       *f,
                                  gconstpointer  data)
{
  g_autoptr(GPtrArray) connections = NULL;

  reserve_b (f);
  g_assert_cmpuint (punch_relay_service_get_n_reservations (f->service), ==, 1);
  connections = punch_host_get_connections (f->b, punch_host_get_peer_id (f->r));
  g_assert_cmpuint (connections->len, ==, 1);
  punch_connection_close (g_ptr_array_index (connections, 0));
  WAIT_FOR (f->reservations_removed == 1);
  g_assert_cmpuint (punch_relay_service_get_n_reservations (f->service), ==, 0);
}

static void
test_properties (Fixture       *f,
                 gconstpointer  data)
{
  guint ttl, max, per_ip, per_peer, circuits, duration, buffer;
  guint64 data_limit;
  PunchHost *host;

  g_object_get (f->service, "reservation-ttl", &ttl, "max-reservations", &max,
                "max-reservations-per-ip", &per_ip, "max-circuits-per-peer", &per_peer,
                "max-circuits", &circuits, "limit-duration", &duration, "limit-data", &data_limit,
                "buffer-size", &buffer, "host", &host, NULL);
  g_assert_cmpuint (ttl, ==, PUNCH_RELAY_DEFAULT_RESERVATION_TTL);
  g_assert_cmpuint (max, ==, PUNCH_RELAY_DEFAULT_MAX_RESERVATIONS);
  g_assert_cmpuint (per_ip, ==, PUNCH_RELAY_DEFAULT_MAX_RESERVATIONS_PER_IP);
  g_assert_cmpuint (per_peer, ==, PUNCH_RELAY_DEFAULT_MAX_CIRCUITS_PER_PEER);
  g_assert_cmpuint (circuits, ==, PUNCH_RELAY_DEFAULT_MAX_CIRCUITS);
  g_assert_cmpuint (duration, ==, PUNCH_RELAY_DEFAULT_LIMIT_DURATION);
  g_assert_cmpuint (data_limit, ==, PUNCH_RELAY_DEFAULT_LIMIT_DATA);
  g_assert_cmpuint (buffer, ==, PUNCH_RELAY_DEFAULT_BUFFER_SIZE);
  g_assert_true (host == f->r);
  g_assert_true (punch_relay_service_get_host (f->service) == f->r);
  g_object_unref (host);

  /* Construct-time values reach the core. */
  {
    g_autoptr(PunchRelayService) other = g_object_new (PUNCH_TYPE_RELAY_SERVICE, "host", f->a,
                                                       "reservation-ttl", 42, NULL);

    g_object_get (other, "reservation-ttl", &ttl, NULL);
    g_assert_cmpuint (ttl, ==, 42);
  }
}

static void
test_circuits_per_peer (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) first = NULL;
  g_autoptr(PunchStream) second = NULL;

  g_object_set (f->service, "max-circuits-per-peer", 1, NULL);
  f->target.mode = TARGET_SINK;
  reserve_b (f);
  first = connect_through (f, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (first);
  second = connect_through (f, NULL, NULL, &error);
  g_assert_error (error, PUNCH_RELAY_ERROR, PUNCH_RELAY_ERROR_RESOURCE_LIMIT_EXCEEDED);
  g_assert_null (second);
  g_clear_error (&error);

  /* Once the first ends (both sides closed it), there is room again. */
  g_clear_object (&first);
  WAIT_FOR (f->target.streams->len == 1);
  run_pending ();
  g_assert_cmpuint (f->circuits_closed, ==, 0);   /* half-closed only */
  g_assert_true (g_io_stream_close (g_ptr_array_index (f->target.streams, 0), NULL, &error));
  g_assert_no_error (error);
  WAIT_FOR (f->circuits_closed == 1);
  second = connect_through (f, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (second);
}

/* The target has a reservation but does not accept relayed connections. */
static void
test_connection_failed (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) stream = NULL;

  reserve_b (f);
  punch_relay_set_stop_handler (f->b, NULL, NULL, NULL);
  stream = connect_through (f, NULL, NULL, &error);
  g_assert_error (error, PUNCH_RELAY_ERROR, PUNCH_RELAY_ERROR_CONNECTION_FAILED);
  g_assert_null (stream);
  g_assert_cmpuint (punch_relay_service_get_n_circuits (f->service), ==, 0);
  g_assert_cmpuint (f->circuits_opened, ==, 0);
}

/* Reservations expire on the relay's clock. */
static void
test_reservation_expires (Fixture       *f,
                          gconstpointer  data)
{
  g_object_set (f->service, "reservation-ttl", 2, NULL);
  reserve_b (f);
  g_assert_cmpuint (f->reservations_added, ==, 1);
  WAIT_FOR (f->reservations_removed == 1);
  g_assert_cmpuint (punch_relay_service_get_n_reservations (f->service), ==, 0);
}

#define ADD(path, func) \
  g_test_add ("/relay-host/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  ADD ("reserve", test_reserve);
  ADD ("public-addresses", test_public_addresses);
  ADD ("properties", test_properties);
  ADD ("echo", test_echo);
  ADD ("no-reservation", test_no_reservation);
  ADD ("reservation-refused", test_reservation_refused);
  ADD ("data-limit", test_data_limit);
  ADD ("duration-limit", test_duration_limit);
  ADD ("malformed", test_malformed);
  ADD ("slow-reader", test_slow_reader);
  ADD ("stop-refusals", test_stop_refusals);
  ADD ("disconnect-ends-reservation", test_disconnect_ends_reservation);
  ADD ("circuits-per-peer", test_circuits_per_peer);
  ADD ("connection-failed", test_connection_failed);
  ADD ("reservation-expires", test_reservation_expires);

  return g_test_run ();
}
