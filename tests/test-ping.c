/* test-ping.c: the ping protocol's responder and initiator, sans-I/O.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include <punch.h>

#include "punch-ping-private.h"

#define MS 1000

static void
fill (guint8 *buf,
      guint   seed)
{
  for (guint i = 0; i < PUNCH_PING_PAYLOAD_SIZE; i++)
    buf[i] = (guint8) (seed * 31 + i * 7);
}

static void
test_roundtrip (void)
{
  g_autoptr(PunchPingInitiator) pinger = punch_ping_initiator_new ();
  g_autoptr(PunchPingResponder) ponger = punch_ping_responder_new (0);
  gint64 now = 1000 * MS;

  for (guint round = 0; round < 5; round++)
    {
      guint8 payload[PUNCH_PING_PAYLOAD_SIZE];
      g_autoptr(GBytes) out = NULL;
      g_autoptr(GBytes) echo = NULL;
      g_autoptr(GError) error = NULL;
      gint64 rtt = -1;

      fill (payload, round);
      out = punch_ping_initiator_start (pinger, payload, now, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (g_bytes_get_data (out, NULL), g_bytes_get_size (out), payload, sizeof payload);
      g_assert_true (punch_ping_initiator_is_waiting (pinger));

      g_assert_true (punch_ping_responder_receive (ponger, g_bytes_get_data (out, NULL),
                                                   g_bytes_get_size (out), now + 3 * MS, &error));
      g_assert_no_error (error);
      echo = punch_ping_responder_pull_output (ponger);
      g_assert_nonnull (echo);
      g_assert_null (punch_ping_responder_pull_output (ponger));

      g_assert_true (punch_ping_initiator_receive (pinger, g_bytes_get_data (echo, NULL),
                                                   g_bytes_get_size (echo), now + (7 + round) * MS,
                                                   &rtt, &error));
      g_assert_no_error (error);
      g_assert_cmpint (rtt, ==, (7 + round) * MS);
      g_assert_false (punch_ping_initiator_is_waiting (pinger));
      now += G_USEC_PER_SEC;
    }
  g_assert_cmpuint (punch_ping_responder_get_n_echoed (ponger), ==, 5);
}

/* Bytes arriving one at a time: only whole payloads are echoed. */
static void
test_responder_partial (void)
{
  g_autoptr(PunchPingResponder) ponger = punch_ping_responder_new (0);
  g_autoptr(GBytes) echo = NULL;
  guint8 two[2 * PUNCH_PING_PAYLOAD_SIZE];

  fill (two, 1);
  fill (two + PUNCH_PING_PAYLOAD_SIZE, 2);
  for (guint i = 0; i < PUNCH_PING_PAYLOAD_SIZE - 1; i++)
    g_assert_true (punch_ping_responder_receive (ponger, two + i, 1, 0, NULL));
  g_assert_null (punch_ping_responder_pull_output (ponger));
  /* The rest of the first payload and the whole second one at once. */
  g_assert_true (punch_ping_responder_receive (ponger, two + PUNCH_PING_PAYLOAD_SIZE - 1,
                                               PUNCH_PING_PAYLOAD_SIZE + 1, 0, NULL));
  echo = punch_ping_responder_pull_output (ponger);
  g_assert_cmpmem (g_bytes_get_data (echo, NULL), g_bytes_get_size (echo), two, sizeof two);
  g_assert_cmpuint (punch_ping_responder_get_n_echoed (ponger), ==, 2);
}

static void
test_responder_flood (void)
{
  g_autoptr(PunchPingResponder) ponger = punch_ping_responder_new (0);
  g_autoptr(PunchPingResponder) steady = punch_ping_responder_new (0);
  g_autoptr(GError) error = NULL;
  guint8 payload[PUNCH_PING_PAYLOAD_SIZE];
  g_autoptr(GBytes) out = NULL;

  fill (payload, 3);
  /* A burst is fine... */
  for (guint i = 0; i < PUNCH_PING_RESPONDER_BURST; i++)
    g_assert_true (punch_ping_responder_receive (ponger, payload, sizeof payload, 0, NULL));
  /* ...one refill period later one more is allowed... */
  g_assert_true (punch_ping_responder_receive (ponger, payload, sizeof payload,
                                               PUNCH_PING_RESPONDER_REFILL_US, NULL));
  /* ...but not two. */
  g_assert_false (punch_ping_responder_receive (ponger, payload, sizeof payload,
                                                PUNCH_PING_RESPONDER_REFILL_US, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_clear_error (&error);
  /* A flooder stays refused, even much later. */
  g_assert_false (punch_ping_responder_receive (ponger, payload, sizeof payload,
                                                1000 * G_USEC_PER_SEC, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  out = punch_ping_responder_pull_output (ponger);
  g_assert_cmpuint (g_bytes_get_size (out), ==, (PUNCH_PING_RESPONDER_BURST + 1) * PUNCH_PING_PAYLOAD_SIZE);

  /* A pinger at the sustained rate, for a long time, is never refused. */
  for (guint i = 0; i < 10 * PUNCH_PING_RESPONDER_BURST; i++)
    g_assert_true (punch_ping_responder_receive (steady, payload, sizeof payload,
                                                 (gint64) i * PUNCH_PING_RESPONDER_REFILL_US, NULL));
}

static void
test_initiator_errors (void)
{
  g_autoptr(PunchPingInitiator) pinger = punch_ping_initiator_new ();
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) again = NULL;
  g_autoptr(GError) error = NULL;
  guint8 payload[PUNCH_PING_PAYLOAD_SIZE], wrong[PUNCH_PING_PAYLOAD_SIZE + 1];
  gint64 rtt = -1;

  fill (payload, 4);
  memcpy (wrong, payload, sizeof payload);
  wrong[5] ^= 1;

  /* Unasked-for bytes. */
  g_assert_false (punch_ping_initiator_receive (pinger, payload, 1, 0, &rtt, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_clear_error (&error);

  out = punch_ping_initiator_start (pinger, payload, 0, NULL);
  g_assert_nonnull (out);
  /* One ping at a time. */
  again = punch_ping_initiator_start (pinger, payload, 0, &error);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_FAILED);
  g_assert_null (again);
  g_clear_error (&error);

  /* A partial echo needs more, without an error. */
  g_assert_false (punch_ping_initiator_receive (pinger, wrong, 5, 1, &rtt, &error));
  g_assert_no_error (error);
  g_assert_false (punch_ping_initiator_receive (pinger, wrong + 5, PUNCH_PING_PAYLOAD_SIZE - 5,
                                                2, &rtt, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_assert_cmpint (rtt, ==, -1);
  g_clear_error (&error);

  /* An echo longer than the payload. */
  g_clear_pointer (&out, g_bytes_unref);
  out = punch_ping_initiator_start (pinger, payload, 0, NULL);
  g_assert_false (punch_ping_initiator_receive (pinger, wrong, sizeof wrong, 1, &rtt, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
}

/* On hosts: B pings A over 127.0.0.1. */

static gboolean
on_test_timeout (gpointer data)
{
  g_error ("timed out waiting for %s", (const char *) data);
  return G_SOURCE_REMOVE;
}

#define RUN_UNTIL(cond) G_STMT_START {                                       \
    guint timeout_id_ = g_timeout_add_seconds (10, on_test_timeout, (gpointer) #cond); \
    while (!(cond))                                                         \
      g_main_context_iteration (NULL, TRUE);                                \
    g_source_remove (timeout_id_);                                          \
  } G_STMT_END

typedef struct {
  PunchHost *a, *b;
  PunchConnection *conn;
  gint64 rtt;
  GError *error;
  gboolean done;
} Pair;

static PunchHost *
new_host (void)
{
  g_autoptr(PunchKeypair) kp = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, NULL);

  return punch_host_new (kp);
}

static void
on_dialed (GObject *source, GAsyncResult *result, gpointer data)
{
  Pair *pair = data;
  g_autoptr(GError) error = NULL;

  pair->conn = punch_host_dial_finish (PUNCH_HOST (source), result, &error);
  g_assert_no_error (error);
}

static void
pair_connect (Pair     *pair,
              gboolean  responder)
{
  g_autoptr(PunchMultiaddr) any = punch_multiaddr_new_from_string ("/ip4/127.0.0.1/tcp/0", NULL);
  g_autoptr(GPtrArray) addrs = NULL;

  pair->a = new_host ();
  pair->b = new_host ();
  /* Every host answers ping by default; attaching again is harmless. */
  if (responder)
    punch_ping_attach_responder (pair->a);
  else
    g_assert_true (punch_host_remove_stream_handler (pair->a, PUNCH_PING_PROTOCOL_ID));
  g_assert_true (punch_host_listen (pair->a, any, NULL));
  addrs = punch_host_get_listen_addresses (pair->a);
  punch_host_dial_async (pair->b, addrs->pdata[0], NULL, on_dialed, pair);
  RUN_UNTIL (pair->conn != NULL);
}

static void
pair_free (Pair *pair)
{
  g_clear_object (&pair->conn);
  g_clear_error (&pair->error);
  punch_host_close (pair->b);
  punch_host_close (pair->a);
  for (int i = 0; i < 50 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  g_clear_object (&pair->b);
  g_clear_object (&pair->a);
}

static void
on_pinged (GObject *source, GAsyncResult *result, gpointer data)
{
  Pair *pair = data;

  g_clear_error (&pair->error);
  pair->rtt = punch_ping_finish (PUNCH_CONNECTION (source), result, &pair->error);
  pair->done = TRUE;
}

static void
test_host_rtt (void)
{
  Pair pair = { 0 };

  g_auto(GStrv) protocols = NULL;

  pair_connect (&pair, TRUE);
  protocols = punch_host_get_protocols (pair.a);
  g_assert_true (g_strv_contains ((const gchar * const *) protocols, PUNCH_PING_PROTOCOL_ID));
  for (int i = 0; i < 3; i++)
    {
      pair.done = FALSE;
      punch_ping_async (pair.conn, NULL, on_pinged, &pair);
      RUN_UNTIL (pair.done);
      g_assert_no_error (pair.error);
      g_assert_cmpint (pair.rtt, >=, 0);
      g_assert_cmpint (pair.rtt, <, 10 * G_USEC_PER_SEC);
    }
  pair_free (&pair);
}

static void
test_host_no_responder (void)
{
  Pair pair = { 0 };

  pair_connect (&pair, FALSE);
  punch_ping_async (pair.conn, NULL, on_pinged, &pair);
  RUN_UNTIL (pair.done);
  g_assert_nonnull (pair.error);
  g_assert_cmpint (pair.rtt, ==, -1);
  pair_free (&pair);
}

/* ping.md: the listener accepts at most two ping streams per peer. */
typedef struct {
  PunchStream *stream;
  guint8 buf[PUNCH_PING_PAYLOAD_SIZE];
  gssize got;
  gboolean done;
  gboolean failed;
} RawPing;

static void
on_raw_read (GObject *source, GAsyncResult *result, gpointer data)
{
  RawPing *raw = data;
  g_autoptr(GError) error = NULL;
  gsize n = 0;

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &n, &error) ||
      n < PUNCH_PING_PAYLOAD_SIZE)
    raw->failed = TRUE;
  raw->got = (gssize) n;
  raw->done = TRUE;
}

static void
on_raw_stream (GObject *source, GAsyncResult *result, gpointer data)
{
  RawPing *raw = data;
  g_autoptr(GError) error = NULL;
  guint8 payload[PUNCH_PING_PAYLOAD_SIZE];

  raw->stream = punch_connection_open_stream_finish (PUNCH_CONNECTION (source), result, &error);
  if (raw->stream == NULL)
    {
      /* A refused stream may be reset before its negotiation ends. */
      g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
      raw->failed = TRUE;
      raw->done = TRUE;
      return;
    }
  fill (payload, 9);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (raw->stream)),
                             payload, sizeof payload, NULL, NULL, NULL);
  g_input_stream_read_all_async (g_io_stream_get_input_stream (G_IO_STREAM (raw->stream)),
                                 raw->buf, sizeof raw->buf, G_PRIORITY_DEFAULT, NULL,
                                 on_raw_read, raw);
}

static void
test_host_stream_limit (void)
{
  static const gchar * const protocols[] = { PUNCH_PING_PROTOCOL_ID, NULL };
  Pair pair = { 0 };
  RawPing raw[3] = { { 0 } };
  guint8 expected[PUNCH_PING_PAYLOAD_SIZE];

  pair_connect (&pair, TRUE);
  /* Two streams, kept open after their echo... */
  for (int i = 0; i < 2; i++)
    {
      punch_connection_open_stream_async (pair.conn, protocols, NULL, on_raw_stream, &raw[i]);
      RUN_UNTIL (raw[i].done);
      g_assert_false (raw[i].failed);
    }
  /* ...then a third one is refused. */
  punch_connection_open_stream_async (pair.conn, protocols, NULL, on_raw_stream, &raw[2]);
  RUN_UNTIL (raw[2].done);
  g_assert_true (raw[2].failed);

  fill (expected, 9);
  g_assert_cmpmem (raw[0].buf, sizeof raw[0].buf, expected, sizeof expected);
  /* Closing one makes room again. */
  g_io_stream_close (G_IO_STREAM (raw[0].stream), NULL, NULL);
  {
    gboolean ok = FALSE;

    /* Once the responder has seen the close, a new stream is served;
     * until then it may still be refused. */
    for (guint attempt = 0; attempt < 50 && !ok; attempt++)
      {
        RawPing again = { 0 };

        punch_connection_open_stream_async (pair.conn, protocols, NULL, on_raw_stream, &again);
        RUN_UNTIL (again.done);
        ok = !again.failed;
        g_clear_object (&again.stream);
      }
    g_assert_true (ok);
  }

  for (int i = 0; i < 3; i++)
    g_clear_object (&raw[i].stream);
  pair_free (&pair);
}

int
main (int argc, char **argv)
{
  /* GSocketClient's proxy lookup needs GSettings schemas, which the
   * isolated directories lack. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/ping/roundtrip", test_roundtrip);
  g_test_add_func ("/ping/responder/partial", test_responder_partial);
  g_test_add_func ("/ping/responder/flood", test_responder_flood);
  g_test_add_func ("/ping/initiator/errors", test_initiator_errors);
  g_test_add_func ("/ping/host/rtt", test_host_rtt);
  g_test_add_func ("/ping/host/no-responder", test_host_no_responder);
  g_test_add_func ("/ping/host/stream-limit", test_host_stream_limit);

  return g_test_run ();
}
