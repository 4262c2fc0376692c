/* punch-echo-client.c: drives many echo streams from Punch to a peer, for the interop tests.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage: punch-echo-client MULTIADDR STREAMS BYTES SEED
 *
 * Dials MULTIADDR with a new Ed25519 identity, opens STREAMS streams at
 * once on /punch/echo/1.0.0, writes BYTES pseudo-random bytes on each
 * (xorshift32 seeded with SEED + the stream's index, as peer.mjs makes
 * them), half-closes, and checks that exactly the same bytes come back.
 * Prints one JSON line: {"ok":true,...} (exit 0) or {"ok":false,
 * "error":...} (exit 1). Everything is bounded by two minutes. Links
 * only the public API of libpunch.
 */
#include <punch.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ECHO_PROTOCOL_ID "/punch/echo/1.0.0"
#define CHUNK (64 * 1024)
#define TIMEOUT_S 120

typedef struct {
  GMainLoop *loop;
  GCancellable *cancellable;
  guint n_running;
  guint n_ok;
  gchar *first_error;
  gsize bytes;
  guint32 seed;
} Run;

typedef struct {
  Run *run;
  guint index;
  PunchStream *stream;
  guint8 *data;         /* what is sent */
  guint8 *back;         /* what came back */
  gsize received;
  gboolean write_done;
  gboolean read_done;
} Job;

static void
fill (guint8  *out,
      gsize    len,
      guint32  seed)
{
  guint32 x = seed != 0 ? seed : 0x9e3779b9u;

  for (gsize i = 0; i < len; i++)
    {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      out[i] = (guint8) (x & 0xff);
    }
}

static void
job_finish (Job         *job,
            const gchar *error)
{
  Run *run = job->run;

  if (error != NULL)
    {
      if (run->first_error == NULL)
        run->first_error = g_strdup_printf ("stream %u: %s", job->index, error);
      if (job->stream != NULL)
        punch_stream_reset (job->stream);
      g_cancellable_cancel (run->cancellable);
    }
  else
    run->n_ok++;

  g_clear_object (&job->stream);
  g_free (job->data);
  g_free (job->back);
  g_free (job);
  if (--run->n_running == 0)
    g_main_loop_quit (run->loop);
}

static void
job_maybe_done (Job *job)
{
  if (!job->write_done || !job->read_done)
    return;
  if (job->received != job->run->bytes)
    job_finish (job, "wrong length");
  else if (memcmp (job->data, job->back, job->run->bytes) != 0)
    job_finish (job, "the echo differs");
  else
    job_finish (job, NULL);
}

static void read_more (Job *job);

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Job *job = user_data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (n < 0)
    {
      job_finish (job, error->message);
      return;
    }
  if (n == 0)
    {
      job->read_done = TRUE;
      job_maybe_done (job);
      return;
    }
  job->received += (gsize) n;
  read_more (job);
}

static void
read_more (Job *job)
{
  gsize room = job->run->bytes + 1 - job->received;

  /* One byte more than expected is room to notice a too long echo. */
  if (room == 0)
    {
      job_finish (job, "the echo is too long");
      return;
    }
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (job->stream)),
                             job->back + job->received, MIN (room, CHUNK),
                             G_PRIORITY_DEFAULT, job->run->cancellable, on_read, job);
}

static void
on_written (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Job *job = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error) ||
      !punch_stream_close_write (job->stream, &error))
    {
      job_finish (job, error->message);
      return;
    }
  job->write_done = TRUE;
  job_maybe_done (job);
}

static void
on_stream (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Job *job = user_data;
  g_autoptr(GError) error = NULL;

  job->stream = punch_connection_open_stream_finish (PUNCH_CONNECTION (source), result, &error);
  if (job->stream == NULL)
    {
      job_finish (job, error->message);
      return;
    }
  read_more (job);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (job->stream)),
                                   job->data, job->run->bytes, G_PRIORITY_DEFAULT,
                                   job->run->cancellable, on_written, job);
}

typedef struct {
  GMainLoop *loop;
  PunchConnection *connection;
  GError *error;
} Dial;

static void
on_dialed (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Dial *dial = user_data;

  dial->connection = punch_host_dial_finish (PUNCH_HOST (source), result, &dial->error);
  g_main_loop_quit (dial->loop);
}

static gboolean
on_timeout (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_CONTINUE;
}

static int
report (gboolean     ok,
        const gchar *error,
        guint        streams,
        gsize        bytes)
{
  if (ok)
    printf ("{\"ok\":true,\"streams\":%u,\"bytes\":%" G_GSIZE_FORMAT "}\n", streams, bytes);
  else
    {
      /* Error texts are GLib/Punch messages: escape quotes and backslashes. */
      GString *esc = g_string_new (NULL);

      for (const char *p = error; *p != '\0'; p++)
        {
          if (*p == '"' || *p == '\\')
            g_string_append_c (esc, '\\');
          if ((guchar) *p >= 0x20)
            g_string_append_c (esc, *p);
        }
      printf ("{\"ok\":false,\"error\":\"%s\"}\n", esc->str);
      g_string_free (esc, TRUE);
    }
  fflush (stdout);
  return ok ? 0 : 1;
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) address = NULL;
  g_autoptr(PunchKeypair) keypair = NULL;
  g_autoptr(PunchHost) host = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Dial dial = { 0 };
  Run run = { 0 };
  guint streams, timer;
  gsize bytes;
  int status;

  if (argc != 5)
    {
      fprintf (stderr, "usage: punch-echo-client MULTIADDR STREAMS BYTES SEED\n");
      return 2;
    }
  streams = (guint) g_ascii_strtoull (argv[2], NULL, 10);
  bytes = (gsize) g_ascii_strtoull (argv[3], NULL, 10);
  if (streams == 0 || streams > 1024 || bytes > 64 * 1024 * 1024)
    {
      fprintf (stderr, "punch-echo-client: 1..1024 streams of at most 64 MiB\n");
      return 2;
    }

  address = punch_multiaddr_new_from_string (argv[1], &error);
  if (address == NULL)
    return report (FALSE, error->message, 0, 0);
  keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);
  if (keypair == NULL)
    return report (FALSE, error->message, 0, 0);

  loop = g_main_loop_new (NULL, FALSE);
  host = punch_host_new (keypair);
  timer = g_timeout_add_seconds (TIMEOUT_S, on_timeout, cancellable);

  dial.loop = loop;
  punch_host_dial_async (host, address, cancellable, on_dialed, &dial);
  g_main_loop_run (loop);
  if (dial.connection == NULL)
    {
      status = report (FALSE, dial.error->message, 0, 0);
      g_clear_error (&dial.error);
      goto out;
    }

  run.loop = loop;
  run.cancellable = cancellable;
  run.bytes = bytes;
  run.seed = (guint32) g_ascii_strtoull (argv[4], NULL, 10);
  run.n_running = streams;
  for (guint i = 0; i < streams; i++)
    {
      static const gchar * const protocols[] = { ECHO_PROTOCOL_ID, NULL };
      Job *job = g_new0 (Job, 1);

      job->run = &run;
      job->index = i;
      job->data = g_malloc (bytes + 1);
      job->back = g_malloc (bytes + 1);
      fill (job->data, bytes, run.seed + i);
      punch_connection_open_stream_async (dial.connection, protocols, cancellable, on_stream, job);
    }
  g_main_loop_run (loop);

  if (run.n_ok == streams)
    status = report (TRUE, NULL, streams, bytes);
  else
    status = report (FALSE, run.first_error != NULL ? run.first_error : "failed", streams, bytes);
  g_free (run.first_error);
  punch_connection_close (dial.connection);
  g_object_unref (dial.connection);

out:
  g_source_remove (timer);
  punch_host_close (host);
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  return status;
}
