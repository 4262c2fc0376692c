/* punch-ping.c: the ping protocol on PunchHost and PunchConnection.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "punch-ping.h"

#include "punch-error.h"
#include "punch-ping-private.h"
#include "punch-stream.h"

/* A responder stream waits this long for the next payload before it is
 * reset (rust-libp2p pings every 15 s on one stream). */
#define RESPONDER_IDLE_TIMEOUT_MS 60000

/* Bytes asked of a stream per read. */
#define READ_SIZE 256

static GQuark
inbound_quark (void)
{
  return g_quark_from_static_string ("punch-ping-inbound-streams");
}

/* Responder */

typedef struct {
  PunchStream *stream;
  PunchConnection *connection;
  PunchPingResponder *responder;
  GCancellable *cancellable;
  GSource *idle_timer;
  guint8 buf[READ_SIZE];
  GBytes *writing;
} Responder;

static void
inbound_count_add (PunchConnection *connection,
                   gint             delta)
{
  guint n = GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (connection), inbound_quark ()));

  g_object_set_qdata (G_OBJECT (connection), inbound_quark (), GUINT_TO_POINTER (n + delta));
}

static void
responder_free (Responder *r)
{
  if (r->idle_timer != NULL)
    {
      g_source_destroy (r->idle_timer);
      g_source_unref (r->idle_timer);
    }
  inbound_count_add (r->connection, -1);
  g_clear_object (&r->connection);
  g_clear_object (&r->stream);
  g_clear_object (&r->cancellable);
  g_clear_pointer (&r->responder, punch_ping_responder_free);
  g_clear_pointer (&r->writing, g_bytes_unref);
  g_free (r);
}

static gboolean
on_responder_idle (gpointer data)
{
  Responder *r = data;

  g_debug ("ping: no payload for %d ms, resetting the stream", RESPONDER_IDLE_TIMEOUT_MS);
  g_cancellable_cancel (r->cancellable);
  punch_stream_reset (r->stream);
  return G_SOURCE_CONTINUE;
}

static void
responder_arm_timer (Responder *r)
{
  if (r->idle_timer != NULL)
    {
      g_source_destroy (r->idle_timer);
      g_source_unref (r->idle_timer);
    }
  r->idle_timer = g_timeout_source_new (RESPONDER_IDLE_TIMEOUT_MS);
  g_source_set_callback (r->idle_timer, on_responder_idle, r, NULL);
  g_source_attach (r->idle_timer, g_main_context_get_thread_default ());
}

static void responder_read (Responder *r);

static void
on_responder_closed (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  Responder *r = user_data;

  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  responder_free (r);
}

static void
responder_fail (Responder    *r,
                const GError *error)
{
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_debug ("ping: responder stream failed: %s", error->message);
  punch_stream_reset (r->stream);
  responder_free (r);
}

static void
on_echo_written (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Responder *r = user_data;
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&r->writing, g_bytes_unref);
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      responder_fail (r, error);
      return;
    }
  responder_read (r);
}

static void
on_responder_read (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Responder *r = user_data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  GBytes *echo;

  if (n < 0)
    {
      responder_fail (r, error);
      return;
    }
  if (n == 0)
    {
      /* The pinger closed its side: finish ours (ping.md). */
      if (!punch_stream_close_write (r->stream, &error))
        {
          responder_fail (r, error);
          return;
        }
      g_io_stream_close_async (G_IO_STREAM (r->stream), G_PRIORITY_DEFAULT, NULL,
                               on_responder_closed, r);
      return;
    }

  if (!punch_ping_responder_receive (r->responder, r->buf, (gsize) n,
                                     g_get_monotonic_time (), &error))
    {
      responder_fail (r, error);
      return;
    }
  echo = punch_ping_responder_pull_output (r->responder);
  if (echo == NULL)
    {
      responder_read (r);
      return;
    }
  responder_arm_timer (r);
  r->writing = echo;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (r->stream)),
                                   g_bytes_get_data (echo, NULL), g_bytes_get_size (echo),
                                   G_PRIORITY_DEFAULT, r->cancellable, on_echo_written, r);
}

static void
responder_read (Responder *r)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (r->stream)),
                             r->buf, sizeof r->buf, G_PRIORITY_DEFAULT, r->cancellable,
                             on_responder_read, r);
}

static void
handle_ping (PunchHost   *host,
             PunchStream *stream,
             gpointer     user_data)
{
  PunchConnection *connection = punch_stream_get_connection (stream);
  guint n = GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (connection), inbound_quark ()));
  Responder *r;

  /* ping.md: "The listening peer SHOULD accept at most two streams per
   * peer". */
  if (n >= PUNCH_PING_MAX_INBOUND_STREAMS)
    {
      g_debug ("ping: refusing a third ping stream on one connection");
      punch_stream_reset (stream);
      return;
    }

  r = g_new0 (Responder, 1);
  r->stream = g_object_ref (stream);
  r->connection = g_object_ref (connection);
  inbound_count_add (connection, +1);
  r->responder = punch_ping_responder_new (g_get_monotonic_time ());
  r->cancellable = g_cancellable_new ();
  responder_arm_timer (r);
  responder_read (r);
}

/**
 * punch_ping_attach_responder:
 * @host: a #PunchHost
 *
 * Registers the `/ipfs/ping/1.0.0` responder on @host: it echoes each
 * 32-byte payload until the pinger closes its side, at most two ping
 * streams per connection at once, at most 16 payloads in a burst and 10
 * a second on average per stream, and resets a stream that sends nothing
 * for 60 seconds. Peers such as js-libp2p drop connections whose pings
 * go unanswered, so every host should answer; calling this again does
 * nothing new.
 *
 * Since: 0.1
 */
void
punch_ping_attach_responder (PunchHost *host)
{
  g_return_if_fail (PUNCH_IS_HOST (host));

  punch_host_set_stream_handler (host, PUNCH_PING_PROTOCOL_ID, handle_ping, NULL, NULL);
}

/* Initiator */

typedef struct {
  PunchStream *stream;
  PunchPingInitiator *initiator;
  guint8 payload[PUNCH_PING_PAYLOAD_SIZE];
  guint8 buf[PUNCH_PING_PAYLOAD_SIZE + 1];
  gint64 rtt_us;
  GError *write_error;
} PingData;

static void
ping_data_free (PingData *data)
{
  if (data->stream != NULL && data->rtt_us < 0)
    punch_stream_reset (data->stream);
  g_clear_object (&data->stream);
  g_clear_pointer (&data->initiator, punch_ping_initiator_free);
  g_clear_error (&data->write_error);
  g_free (data);
}

static void
on_ping_closed (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PingData *data = g_task_get_task_data (task);

  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  g_task_return_int (task, data->rtt_us);
}

static void
on_echo_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PingData *data = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  gint64 rtt = -1;

  if (n < 0)
    {
      /* A failed write reset the stream: its error says more. */
      if (data->write_error != NULL)
        g_task_return_error (task, g_steal_pointer (&data->write_error));
      else
        g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (n == 0)
    {
      g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED,
                               "the peer closed the ping stream before echoing");
      return;
    }
  if (punch_ping_initiator_receive (data->initiator, data->buf, (gsize) n,
                                    g_get_monotonic_time (), &rtt, &error))
    {
      data->rtt_us = rtt;
      /* One ping per stream: close our side, then the stream. */
      if (!punch_stream_close_write (data->stream, &error))
        g_debug ("ping: closing the stream: %s", error->message);
      g_io_stream_close_async (G_IO_STREAM (data->stream), G_PRIORITY_DEFAULT,
                               cancellable, on_ping_closed, g_steal_pointer (&task));
      return;
    }
  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_input_stream_read_async (G_INPUT_STREAM (source), data->buf,
                             PUNCH_PING_PAYLOAD_SIZE + 1, G_PRIORITY_DEFAULT,
                             cancellable, on_echo_read, g_steal_pointer (&task));
}

static void
on_payload_written (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PingData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  /* The read returns the task; a failed write ends the read by
   * resetting the stream. */
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error) &&
      data->rtt_us < 0 && data->write_error == NULL)
    {
      data->write_error = g_steal_pointer (&error);
      punch_stream_reset (data->stream);
    }
}

static void
on_ping_stream (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PingData *data = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) out = NULL;

  data->stream = punch_connection_open_stream_finish (PUNCH_CONNECTION (source), result, &error);
  if (data->stream == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  for (guint i = 0; i < PUNCH_PING_PAYLOAD_SIZE; i += 4)
    {
      guint32 r = g_random_int ();

      memcpy (data->payload + i, &r, 4);
    }
  out = punch_ping_initiator_start (data->initiator, data->payload, g_get_monotonic_time (), NULL);

  /* Read and write at once; the write's GTask reference keeps the data
   * alive until it completes. The read finishes the task. */
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (data->stream)),
                             data->buf, PUNCH_PING_PAYLOAD_SIZE + 1, G_PRIORITY_DEFAULT,
                             cancellable, on_echo_read, g_object_ref (task));
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (data->stream)),
                                   data->payload, PUNCH_PING_PAYLOAD_SIZE, G_PRIORITY_DEFAULT,
                                   cancellable, on_payload_written, g_steal_pointer (&task));
}

/**
 * punch_ping_async:
 * @connection: a connection
 * @cancellable: (nullable): a #GCancellable; ping sets no time limit of
 *   its own, so callers bound it with this
 * @callback: (scope async): called with the result
 * @user_data: (closure): data for @callback
 *
 * Pings the peer of @connection once (libp2p/specs ping/ping.md): opens
 * a `/ipfs/ping/1.0.0` stream, writes 32 random bytes and waits for them
 * to come back. Sequential calls each use a new stream.
 *
 * Since: 0.1
 */
void
punch_ping_async (PunchConnection     *connection,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  static const gchar * const protocols[] = { PUNCH_PING_PROTOCOL_ID, NULL };
  GTask *task;
  PingData *data;

  g_return_if_fail (PUNCH_IS_CONNECTION (connection));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (connection, cancellable, callback, user_data);
  g_task_set_source_tag (task, punch_ping_async);
  data = g_new0 (PingData, 1);
  data->initiator = punch_ping_initiator_new ();
  data->rtt_us = -1;
  g_task_set_task_data (task, data, (GDestroyNotify) ping_data_free);

  punch_connection_open_stream_async (connection, protocols, cancellable, on_ping_stream, task);
}

/**
 * punch_ping_finish:
 * @connection: a connection
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Errors: those of [method@Punch.Connection.open_stream_async] (a peer
 * that does not speak ping refuses the protocol); %PUNCH_ERROR_PROTOCOL
 * when the echo differs from the payload; %PUNCH_ERROR_TRUNCATED when the
 * peer closed the stream first; the stream's errors
 * (%PUNCH_ERROR_CLOSED, %G_IO_ERROR_CANCELLED...).
 *
 * Returns: the round-trip time in microseconds, from writing the payload
 *   to reading its echo, or -1 on error
 *
 * Since: 0.1
 */
gint64
punch_ping_finish (PunchConnection  *connection,
                   GAsyncResult     *result,
                   GError          **error)
{
  g_return_val_if_fail (PUNCH_IS_CONNECTION (connection), -1);
  g_return_val_if_fail (g_task_is_valid (result, connection), -1);

  return g_task_propagate_int (G_TASK (result), error);
}
