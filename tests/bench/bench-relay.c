/* bench-relay.c: relay forwarding and relay memory: Punch's circuit relay v2 and TURN.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

/*
 * The load generator of tests/bench/run-relay, and the Punch relay it
 * measures. Each command prints one JSON object on stdout.
 *
 *   bench-relay serve --listen MULTIADDR [--max-reservations N] ...
 *       A Punch relay in a process of its own (PunchHost +
 *       PunchRelayService), so that its CPU time and resident memory can be
 *       read from /proc like those of turnserver. Prints its address with
 *       /p2p/ID on the first line, runs until SIGINT or SIGTERM.
 *
 *   bench-relay punch --relay MULTIADDR --relay-pid PID --circuits N --mib M
 *       N target hosts reserve on the relay; N dialer hosts each open a
 *       circuit to one of them (/p2p-circuit: TLS 1.3 and yamux end to end
 *       inside the relay's yamux streams) and one stream on it, and push
 *       M MiB in all, M/N each, one way. The targets live on one thread,
 *       the dialers on another, each with its own GMainContext.
 *
 *   bench-relay turn --server IP:PORT --user U --password P --relay-pid PID
 *                    --circuits N --mib M
 *       N TURN clients (RFC 5766 over TCP, long-term credentials) each
 *       make a TCP allocation (RFC 6062), CONNECT to a peer that listens
 *       in this process, bind a data connection, and push M/N MiB through
 *       it one way. The senders and the peer's receivers are two threads.
 *
 *   bench-relay punch-memory --relay ... --relay-pid PID --reservations R --circuits K
 *   bench-relay turn-memory  --server ... --relay-pid PID --reservations R --circuits K
 *       The relay's VmRSS before, after R idle reservations (Punch:
 *       hosts with a reservation; TURN: control connections with a TCP
 *       allocation), after K more clients connected (Punch only: dialers
 *       with a connection to the relay), and after K circuits opened
 *       between them, each having carried --circuit-kib KiB, then idle.
 *
 * Throughput: the clock starts just before the first byte is written
 * (after every reservation, circuit and stream is set up) and stops when
 * the receivers have read the last byte. The relay's CPU time is
 * utime + stime of /proc/PID/stat read at the same two moments.
 */

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "punch.h"

#define MiB (1024 * 1024)
#define BENCH_PROTOCOL "/punch/bench/sink/1.0.0"
#define CHUNK (64 * 1024)
/* Writes or reads per dispatch of a flow before other sources get a turn. */
#define PUMP_BUDGET 64
/* Reservations being made at once (memory runs). */
#define RESERVE_WINDOW 32

typedef struct {
  const char *relay;          /* Punch: the relay's multiaddr with /p2p */
  const char *server;         /* TURN: IP:PORT */
  const char *user;
  const char *password;
  int relay_pid;
  guint circuits;
  guint reservations;
  guint64 bytes;
  guint circuit_kib;
  guint timeout_s;
  guint settle_ms;
} Options;

/* ------------------------------------------------------------------ */
/* The relay process, as /proc sees it                                */
/* ------------------------------------------------------------------ */

typedef struct {
  gboolean ok;
  double cpu_s;               /* utime + stime, all threads */
  guint64 rss_kib;            /* VmRSS */
} ProcSample;

static ProcSample
proc_sample (int pid)
{
  ProcSample s = { FALSE, 0, 0 };
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree gchar *text = NULL;
  g_autofree gchar *status = NULL;
  const char *p;
  unsigned long long utime = 0, stime = 0;
  long ticks = sysconf (_SC_CLK_TCK);

  if (pid <= 0 || !g_file_get_contents (path, &text, NULL, NULL))
    return s;
  /* Fields after the command name, which may hold spaces: 3 is the
   * state; 14 and 15 are utime and stime. */
  p = strrchr (text, ')');
  if (p == NULL || sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                           &utime, &stime) != 2)
    return s;
  s.cpu_s = (double) (utime + stime) / (double) (ticks > 0 ? ticks : 100);

  g_free (path);
  path = g_strdup_printf ("/proc/%d/status", pid);
  if (!g_file_get_contents (path, &status, NULL, NULL))
    return s;
  p = strstr (status, "\nVmRSS:");
  if (p == NULL || sscanf (p + 7, "%" G_GUINT64_FORMAT, &s.rss_kib) != 1)
    return s;
  s.ok = TRUE;
  return s;
}

static double
rusage_now (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
         (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* ------------------------------------------------------------------ */
/* Measuring and waiting, shared by the threads                       */
/* ------------------------------------------------------------------ */

typedef struct {
  GMutex lock;
  GCond cond;
  int relay_pid;
  gint64 t_start, t_end;      /* monotonic µs */
  double cpu_start, cpu_end;  /* this process */
  ProcSample relay_start, relay_end;
  gboolean started, ended;
  gchar *failure;
} Measure;

static void
measure_start (Measure *m)
{
  g_mutex_lock (&m->lock);
  m->relay_start = proc_sample (m->relay_pid);
  m->cpu_start = rusage_now ();
  m->t_start = g_get_monotonic_time ();
  m->started = TRUE;
  g_mutex_unlock (&m->lock);
}

static void
measure_end (Measure *m)
{
  g_mutex_lock (&m->lock);
  m->t_end = g_get_monotonic_time ();
  m->relay_end = proc_sample (m->relay_pid);
  m->cpu_end = rusage_now ();
  m->ended = TRUE;
  g_cond_broadcast (&m->cond);
  g_mutex_unlock (&m->lock);
}

static void measure_fail (Measure *m, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
measure_fail (Measure    *m,
              const char *format,
              ...)
{
  va_list args;

  g_mutex_lock (&m->lock);
  if (m->failure == NULL)
    {
      va_start (args, format);
      m->failure = g_strdup_vprintf (format, args);
      va_end (args);
    }
  g_cond_broadcast (&m->cond);
  g_mutex_unlock (&m->lock);
}

/* Wakes the waiters after a counter changed (call with the lock). */
static void
measure_changed (Measure *m)
{
  g_cond_broadcast (&m->cond);
}

/* Waits until *counter reaches target, the measure ends or fails, or
 * timeout_s passes. Returns whether the counter got there. */
static gboolean
measure_wait_count (Measure *m,
                    guint   *counter,
                    guint    target,
                    guint    timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  gboolean reached;

  g_mutex_lock (&m->lock);
  while (*counter < target && m->failure == NULL)
    if (!g_cond_wait_until (&m->cond, &m->lock, deadline))
      break;
  reached = *counter >= target;
  g_mutex_unlock (&m->lock);
  return reached;
}

static gboolean
measure_wait_end (Measure *m,
                  guint    timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  gboolean ended;

  g_mutex_lock (&m->lock);
  while (!m->ended && m->failure == NULL)
    if (!g_cond_wait_until (&m->cond, &m->lock, deadline))
      break;
  ended = m->ended;
  g_mutex_unlock (&m->lock);
  return ended;
}

static gchar *
measure_failure (Measure *m)
{
  gchar *failure;

  g_mutex_lock (&m->lock);
  failure = g_strdup (m->failure);
  g_mutex_unlock (&m->lock);
  return failure;
}

/* --- JSON output --- */

static void
json_string (GString    *out,
             const char *name,
             const char *value)
{
  g_string_append_printf (out, "%s\"%s\": \"", out->len > 1 ? ", " : "", name);
  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (out, "\\%c", *p);
      else if ((guchar) *p < 0x20)
        g_string_append_printf (out, "\\u%04x", (guchar) *p);
      else
        g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static void
json_number (GString    *out,
             const char *name,
             double      value)
{
  g_string_append_printf (out, "%s\"%s\": %.6g", out->len > 1 ? ", " : "", name, value);
}

static void
json_uint (GString    *out,
           const char *name,
           guint64     value)
{
  g_string_append_printf (out, "%s\"%s\": %" G_GUINT64_FORMAT, out->len > 1 ? ", " : "",
                          name, value);
}

/* TURN allocations that needed a second try (reported in the result). */
static guint turn_allocation_retries;

static int
print_result (GString *out)
{
  if (turn_allocation_retries > 0)
    g_string_append_printf (out, ", \"turn_allocation_retries\": %u", turn_allocation_retries);
  g_string_append (out, "}\n");
  fputs (out->str, stdout);
  fflush (stdout);
  return strstr (out->str, "\"error\"") != NULL ? 1 : 0;
}

static int
report_throughput (const char    *kind,
                   const Options *o,
                   Measure       *m,
                   guint64        received,
                   double         setup_s)
{
  g_autoptr(GString) out = g_string_new ("{");
  g_autofree gchar *failure = measure_failure (m);

  json_string (out, "case", kind);
  json_uint (out, "circuits", o->circuits);
  json_uint (out, "bytes", o->bytes);
  json_uint (out, "received", received);
  json_number (out, "setup_s", setup_s);
  if (failure != NULL || !m->ended)
    {
      json_string (out, "error", failure != NULL ? failure : "did not finish");
      return print_result (out);
    }
  {
    double seconds = (double) (m->t_end - m->t_start) / 1e6;
    double gib = (double) o->bytes / (1024.0 * MiB);

    json_number (out, "seconds", seconds);
    json_number (out, "mib_per_s", (double) o->bytes / MiB / seconds);
    json_number (out, "client_cpu_s", m->cpu_end - m->cpu_start);
    if (m->relay_start.ok && m->relay_end.ok)
      {
        double relay_cpu = m->relay_end.cpu_s - m->relay_start.cpu_s;

        json_number (out, "relay_cpu_s", relay_cpu);
        json_number (out, "relay_cpu_s_per_gib", relay_cpu / gib);
        json_number (out, "relay_cpu_share", relay_cpu / seconds);
        json_uint (out, "relay_rss_kib_start", m->relay_start.rss_kib);
        json_uint (out, "relay_rss_kib_end", m->relay_end.rss_kib);
      }
  }
  return print_result (out);
}

static guint8 *
make_pattern (void)
{
  guint8 *pattern = g_malloc (CHUNK);
  guint32 x = 0x9e3779b9;

  /* Not compressible, not all zeros: a xorshift sequence. */
  for (gsize i = 0; i < CHUNK; i++)
    {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      pattern[i] = (guint8) x;
    }
  return pattern;
}

/* ------------------------------------------------------------------ */
/* serve: a Punch relay in its own process                            */
/* ------------------------------------------------------------------ */

static gboolean
on_quit (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_CONTINUE;
}

static int
run_serve (const char *listen,
           guint       max_reservations,
           guint       max_per_ip,
           guint       max_circuits,
           guint       max_circuits_per_peer,
           guint       max_connections,
           guint       buffer_size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);
  g_autoptr(PunchHost) host = NULL;
  g_autoptr(PunchRelayService) relay = NULL;
  g_autoptr(PunchMultiaddr) where = NULL;
  g_autoptr(PunchMultiaddr) p2p = NULL;
  g_autoptr(PunchMultiaddr) full = NULL;
  g_autoptr(GPtrArray) bound = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autofree gchar *text = NULL;
  guint sigint_id, sigterm_id;

  if (keypair == NULL)
    {
      g_printerr ("bench-relay serve: %s\n", error->message);
      return 1;
    }
  host = punch_host_new (keypair);
  punch_host_set_max_connections (host, max_connections);
  where = punch_multiaddr_new_from_string (listen, &error);
  if (where == NULL || !punch_host_listen (host, where, &error))
    {
      g_printerr ("bench-relay serve: cannot listen on %s: %s\n", listen, error->message);
      return 1;
    }
  /* No data or duration limit: the benchmark's circuits must not be cut. */
  relay = punch_relay_service_new (host);
  g_object_set (relay,
                "max-reservations", max_reservations,
                "max-reservations-per-ip", max_per_ip,
                "max-circuits", max_circuits,
                "max-circuits-per-peer", max_circuits_per_peer,
                "limit-duration", 0,
                "limit-data", (guint64) 0,
                NULL);
  if (buffer_size > 0)
    g_object_set (relay, "buffer-size", buffer_size, NULL);

  sigint_id = g_unix_signal_add (SIGINT, on_quit, loop);
  sigterm_id = g_unix_signal_add (SIGTERM, on_quit, loop);

  bound = punch_host_get_listen_addresses (host);
  p2p = punch_multiaddr_new_from_peer_id (punch_host_get_peer_id (host));
  {
    PunchMultiaddr *first = g_ptr_array_index (bound, 0);
    guint n = punch_multiaddr_get_n_components (first);

    /* The host's addresses may already end with /p2p/ID. */
    if (n > 0 && punch_multiaddr_get_protocol (first, n - 1) == PUNCH_MULTIADDR_PROTOCOL_P2P)
      full = punch_multiaddr_ref (first);
    else
      full = punch_multiaddr_encapsulate (first, p2p, NULL);
  }
  text = punch_multiaddr_to_string (full);
  printf ("%s\n", text);
  fflush (stdout);

  g_main_loop_run (loop);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  punch_relay_service_stop (relay);
  punch_host_close (host);
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Punch: targets and dialers through the relay                       */
/* ------------------------------------------------------------------ */

typedef struct _PunchBench PunchBench;

/* One end of a circuit: a host, its relay client, its stream. */
typedef struct {
  PunchBench *bench;
  guint index;
  PunchHost *host;
  PunchRelayClient *client;
  PunchConnection *connection;
  PunchStream *stream;
  GSource *source;
  guint64 remaining;          /* sender: bytes still to write */
  gboolean reserved;
} Peer;

/* A thread with its own GMainContext, run until told to stop. */
typedef struct {
  GThread *thread;
  GMainContext *context;
  gint stop;
  GPtrArray *peers;           /* Peer, freed in the thread */
} Worker;

struct _PunchBench {
  const Options *o;
  Measure m;
  PunchMultiaddr *relay;      /* read-only once set */
  guint8 *pattern;
  guint8 *sink;
  gboolean close_after;       /* half-close the streams when sent */

  /* Counters, under m.lock. */
  guint n_reserved;
  guint n_connected;
  guint n_opened;
  guint n_accepted;
  guint64 received;           /* also under the lock: read by the main thread */
  guint64 expected;           /* receivers stop the clock here */

  /* Targets thread. */
  Worker targets;
  guint next_target;          /* the next one to start reserving */
  GPtrArray *target_ids;      /* gchar *, under m.lock */

  /* Dialers thread. */
  Worker dialers;
  guint64 share;              /* per dialer */
};

static void
peer_free (gpointer data)
{
  Peer *peer = data;

  if (peer->source != NULL)
    {
      g_source_destroy (peer->source);
      g_clear_pointer (&peer->source, g_source_unref);
    }
  g_clear_object (&peer->stream);
  g_clear_object (&peer->connection);
  if (peer->client != NULL)
    {
      g_signal_handlers_disconnect_by_data (peer->client, peer);
      g_clear_object (&peer->client);
    }
  if (peer->host != NULL)
    {
      punch_host_close (peer->host);
      g_clear_object (&peer->host);
    }
  g_free (peer);
}

static gpointer
worker_main (gpointer data)
{
  Worker *w = data;

  g_main_context_push_thread_default (w->context);
  while (!g_atomic_int_get (&w->stop))
    g_main_context_iteration (w->context, TRUE);
  g_ptr_array_set_size (w->peers, 0);
  for (guint i = 0; i < 2000 && g_main_context_iteration (w->context, FALSE); i++)
    ;
  g_main_context_pop_thread_default (w->context);
  return NULL;
}

static void
worker_start (Worker     *w,
              const char *name)
{
  w->context = g_main_context_new ();
  w->peers = g_ptr_array_new_with_free_func (peer_free);
  w->thread = g_thread_new (name, worker_main, w);
}

static void
worker_stop (Worker *w)
{
  if (w->thread == NULL)
    return;
  g_atomic_int_set (&w->stop, TRUE);
  g_main_context_wakeup (w->context);
  g_thread_join (w->thread);
  w->thread = NULL;
  g_clear_pointer (&w->peers, g_ptr_array_unref);
  g_clear_pointer (&w->context, g_main_context_unref);
}

/* Runs func in the worker's thread (with its context the thread default). */
static void
worker_invoke (Worker      *w,
               GSourceFunc  func,
               gpointer     data)
{
  g_main_context_invoke (w->context, func, data);
}

static Peer *
peer_new (PunchBench *bench,
          Worker     *w)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);
  Peer *peer;

  if (keypair == NULL)
    {
      measure_fail (&bench->m, "keypair: %s", error->message);
      return NULL;
    }
  peer = g_new0 (Peer, 1);
  peer->bench = bench;
  peer->index = w->peers->len;
  peer->host = punch_host_new (keypair);
  peer->client = punch_relay_client_new (peer->host);
  g_object_set (peer->client, "min-backoff", 200, "max-backoff", 1000, NULL);
  g_ptr_array_add (w->peers, peer);
  return peer;
}

/* --- receivers (targets thread) --- */

/* A GPollableSourceFunc. */
static gboolean
receiver_pump (GObject  *pollable,
               gpointer  data)
{
  Peer *peer = data;
  PunchBench *bench = peer->bench;
  GPollableInputStream *input =
    G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (G_IO_STREAM (peer->stream)));

  for (guint i = 0; i < PUMP_BUDGET; i++)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_pollable_input_stream_read_nonblocking (input, bench->sink, CHUNK, NULL, &error);

      if (n > 0)
        {
          gboolean done;

          g_mutex_lock (&bench->m.lock);
          bench->received += (guint64) n;
          done = bench->received == bench->expected;
          measure_changed (&bench->m);
          g_mutex_unlock (&bench->m.lock);
          if (done)
            measure_end (&bench->m);
          continue;
        }
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;
      if (n < 0)
        measure_fail (&bench->m, "stream read: %s", error->message);
      g_clear_pointer (&peer->source, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
on_bench_stream (PunchHost   *host,
                 PunchStream *stream,
                 gpointer     user_data)
{
  Peer *peer = user_data;

  if (peer->stream != NULL)
    {
      measure_fail (&peer->bench->m, "a second stream on target %u", peer->index);
      return;
    }
  peer->stream = g_object_ref (stream);
  peer->source = g_pollable_input_stream_create_source (
    G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (G_IO_STREAM (stream))), NULL);
  g_source_set_callback (peer->source, G_SOURCE_FUNC (receiver_pump), peer, NULL);
  g_source_attach (peer->source, g_main_context_get_thread_default ());
  g_mutex_lock (&peer->bench->m.lock);
  peer->bench->n_accepted++;
  measure_changed (&peer->bench->m);
  g_mutex_unlock (&peer->bench->m.lock);
}

static void start_reserving (PunchBench *bench);

static void
on_reservation_gained (PunchRelayClient      *client,
                       PunchRelayReservation *reservation,
                       Peer                  *peer)
{
  PunchBench *bench = peer->bench;

  if (peer->reserved)
    return;   /* a renewal */
  peer->reserved = TRUE;
  g_mutex_lock (&bench->m.lock);
  bench->n_reserved++;
  measure_changed (&bench->m);
  g_mutex_unlock (&bench->m.lock);
  start_reserving (bench);
}

/* Keeps up to RESERVE_WINDOW reservations under way (targets thread). */
static void
start_reserving (PunchBench *bench)
{
  guint in_flight;

  g_mutex_lock (&bench->m.lock);
  in_flight = bench->next_target - bench->n_reserved;
  g_mutex_unlock (&bench->m.lock);

  while (in_flight < RESERVE_WINDOW && bench->next_target < bench->targets.peers->len)
    {
      Peer *peer = g_ptr_array_index (bench->targets.peers, bench->next_target++);
      g_autoptr(GError) error = NULL;

      if (!punch_relay_client_add_relay (peer->client, bench->relay, &error))
        {
          measure_fail (&bench->m, "add_relay: %s", error->message);
          return;
        }
      punch_relay_client_set_reserving (peer->client, TRUE);
      in_flight++;
    }
}

/* Targets thread: makes n target hosts and starts their reservations. */
static gboolean
targets_setup (gpointer data)
{
  PunchBench *bench = data;
  guint n = bench->o->reservations;

  for (guint i = 0; i < n; i++)
    {
      Peer *peer = peer_new (bench, &bench->targets);
      g_autofree gchar *id = NULL;

      if (peer == NULL)
        return G_SOURCE_REMOVE;
      punch_host_set_stream_handler (peer->host, BENCH_PROTOCOL, on_bench_stream, peer, NULL);
      g_signal_connect (peer->client, "reservation-gained", G_CALLBACK (on_reservation_gained), peer);
      id = punch_peer_id_to_string (punch_host_get_peer_id (peer->host));
      g_mutex_lock (&bench->m.lock);
      g_ptr_array_add (bench->target_ids, g_steal_pointer (&id));
      g_mutex_unlock (&bench->m.lock);
    }
  start_reserving (bench);
  return G_SOURCE_REMOVE;
}

/* --- senders (dialers thread) --- */

/* A GPollableSourceFunc. */
static gboolean
sender_pump (GObject  *pollable,
             gpointer  data)
{
  Peer *peer = data;
  PunchBench *bench = peer->bench;
  GPollableOutputStream *output =
    G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (G_IO_STREAM (peer->stream)));

  for (guint i = 0; i < PUMP_BUDGET && peer->remaining > 0; i++)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_pollable_output_stream_write_nonblocking (output, bench->pattern,
                                                             MIN (CHUNK, peer->remaining),
                                                             NULL, &error);

      if (n > 0)
        {
          peer->remaining -= (guint64) n;
          continue;
        }
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;
      measure_fail (&bench->m, "stream write: %s", error != NULL ? error->message : "wrote nothing");
      g_clear_pointer (&peer->source, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  if (peer->remaining > 0)
    return G_SOURCE_CONTINUE;
  if (bench->close_after)
    punch_stream_close_write (peer->stream, NULL);
  g_clear_pointer (&peer->source, g_source_unref);
  return G_SOURCE_REMOVE;
}

static void
sender_start (Peer *peer)
{
  peer->remaining = peer->bench->share;
  peer->source = g_pollable_output_stream_create_source (
    G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (G_IO_STREAM (peer->stream))), NULL);
  g_source_set_callback (peer->source, G_SOURCE_FUNC (sender_pump), peer, NULL);
  g_source_attach (peer->source, g_main_context_get_thread_default ());
}

/* Dialers thread: every stream is open; start the clock and the senders. */
static gboolean
senders_go (gpointer data)
{
  PunchBench *bench = data;

  measure_start (&bench->m);
  for (guint i = 0; i < bench->dialers.peers->len; i++)
    sender_start (g_ptr_array_index (bench->dialers.peers, i));
  return G_SOURCE_REMOVE;
}

static void
on_stream_opened (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Peer *peer = user_data;
  PunchBench *bench = peer->bench;
  g_autoptr(GError) error = NULL;

  peer->stream = punch_connection_open_stream_finish (PUNCH_CONNECTION (source), result, &error);
  if (peer->stream == NULL)
    {
      measure_fail (&bench->m, "open_stream: %s", error->message);
      return;
    }
  g_mutex_lock (&bench->m.lock);
  bench->n_opened++;
  measure_changed (&bench->m);
  g_mutex_unlock (&bench->m.lock);
}

static void
on_circuit_dialed (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  static const gchar * const protocols[] = { BENCH_PROTOCOL, NULL };
  Peer *peer = user_data;
  g_autoptr(GError) error = NULL;

  peer->connection = punch_host_dial_finish (PUNCH_HOST (source), result, &error);
  if (peer->connection == NULL)
    {
      measure_fail (&peer->bench->m, "circuit dial %u: %s", peer->index, error->message);
      return;
    }
  punch_connection_open_stream_async (peer->connection, protocols, NULL, on_stream_opened, peer);
}

static void
on_relay_dialed (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Peer *peer = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchConnection) connection = punch_host_dial_finish (PUNCH_HOST (source), result, &error);

  if (connection == NULL)
    {
      measure_fail (&peer->bench->m, "dial relay %u: %s", peer->index, error->message);
      return;
    }
  g_mutex_lock (&peer->bench->m.lock);
  peer->bench->n_connected++;
  measure_changed (&peer->bench->m);
  g_mutex_unlock (&peer->bench->m.lock);
}

/* Dialers thread: makes the dialer hosts, each connected to the relay
 * (directly: a plain libp2p connection, no circuit yet). */
static gboolean
dialers_connect (gpointer data)
{
  PunchBench *bench = data;

  for (guint i = 0; i < bench->o->circuits; i++)
    {
      Peer *peer = peer_new (bench, &bench->dialers);

      if (peer == NULL)
        return G_SOURCE_REMOVE;
      punch_host_dial_async (peer->host, bench->relay, NULL, on_relay_dialed, peer);
    }
  return G_SOURCE_REMOVE;
}

/* Dialers thread: dialer i opens a circuit to target i, then a stream. */
static gboolean
dialers_circuits (gpointer data)
{
  PunchBench *bench = data;
  g_autoptr(PunchMultiaddr) circuit = punch_multiaddr_new_from_string ("/p2p-circuit", NULL);
  g_autoptr(PunchMultiaddr) via = punch_multiaddr_encapsulate (bench->relay, circuit, NULL);

  for (guint i = 0; i < bench->dialers.peers->len; i++)
    {
      Peer *peer = g_ptr_array_index (bench->dialers.peers, i);
      g_autoptr(GError) error = NULL;
      g_autoptr(PunchMultiaddr) target = NULL;
      g_autoptr(PunchMultiaddr) address = NULL;
      g_autofree gchar *text = NULL;

      g_mutex_lock (&bench->m.lock);
      text = g_strdup_printf ("/p2p/%s", (const gchar *) g_ptr_array_index (bench->target_ids, i));
      g_mutex_unlock (&bench->m.lock);
      target = punch_multiaddr_new_from_string (text, &error);
      address = target != NULL ? punch_multiaddr_encapsulate (via, target, &error) : NULL;
      if (address == NULL)
        {
          measure_fail (&bench->m, "circuit address: %s", error->message);
          return G_SOURCE_REMOVE;
        }
      punch_host_dial_async (peer->host, address, NULL, on_circuit_dialed, peer);
    }
  return G_SOURCE_REMOVE;
}

static gboolean
punch_bench_init (PunchBench    *bench,
                  const Options *o)
{
  g_autoptr(GError) error = NULL;

  memset (bench, 0, sizeof *bench);
  g_mutex_init (&bench->m.lock);
  g_cond_init (&bench->m.cond);
  bench->m.relay_pid = o->relay_pid;
  bench->o = o;
  bench->pattern = make_pattern ();
  bench->sink = g_malloc (CHUNK);
  bench->target_ids = g_ptr_array_new_with_free_func (g_free);
  bench->relay = punch_multiaddr_new_from_string (o->relay, &error);
  if (bench->relay == NULL)
    {
      g_printerr ("bench-relay: bad --relay '%s': %s\n", o->relay, error->message);
      return FALSE;
    }
  worker_start (&bench->targets, "bench-targets");
  worker_start (&bench->dialers, "bench-dialers");
  return TRUE;
}

static void
punch_bench_clear (PunchBench *bench)
{
  worker_stop (&bench->dialers);
  worker_stop (&bench->targets);
  g_clear_pointer (&bench->relay, punch_multiaddr_unref);
  g_clear_pointer (&bench->target_ids, g_ptr_array_unref);
  g_free (bench->pattern);
  g_free (bench->sink);
  g_free (bench->m.failure);
  g_mutex_clear (&bench->m.lock);
  g_cond_clear (&bench->m.cond);
}

static gboolean
wait_step (PunchBench *bench,
           guint      *counter,
           guint       target,
           const char *what)
{
  if (measure_wait_count (&bench->m, counter, target, bench->o->timeout_s))
    return TRUE;
  measure_fail (&bench->m, "%s: %u of %u in %u s", what, *counter, target, bench->o->timeout_s);
  return FALSE;
}

static int
run_punch (Options *o)
{
  PunchBench bench;
  gint64 t0 = g_get_monotonic_time ();
  double setup_s;
  guint64 received;
  int status;

  o->reservations = o->circuits;
  if (!punch_bench_init (&bench, o))
    return 2;
  bench.close_after = TRUE;
  bench.share = o->bytes / o->circuits;
  bench.expected = bench.share * o->circuits;
  o->bytes = bench.expected;

  worker_invoke (&bench.targets, targets_setup, &bench);
  if (wait_step (&bench, &bench.n_reserved, o->circuits, "reservations"))
    {
      worker_invoke (&bench.dialers, dialers_connect, &bench);
      if (wait_step (&bench, &bench.n_connected, o->circuits, "dialers connected"))
        {
          worker_invoke (&bench.dialers, dialers_circuits, &bench);
          if (wait_step (&bench, &bench.n_opened, o->circuits, "circuits and streams") &&
              wait_step (&bench, &bench.n_accepted, o->circuits, "streams accepted"))
            {
              setup_s = (double) (g_get_monotonic_time () - t0) / 1e6;
              worker_invoke (&bench.dialers, senders_go, &bench);
              measure_wait_end (&bench.m, o->timeout_s);
            }
        }
    }
  setup_s = (double) (g_get_monotonic_time () - t0) / 1e6;
  if (bench.m.started)
    setup_s = (double) (bench.m.t_start - t0) / 1e6;
  g_mutex_lock (&bench.m.lock);
  received = bench.received;
  g_mutex_unlock (&bench.m.lock);
  status = report_throughput ("punch", o, &bench.m, received, setup_s);
  punch_bench_clear (&bench);
  return status;
}

static void
settle (const Options *o)
{
  g_usleep ((gulong) o->settle_ms * 1000);
}

static int
report_memory (const char    *kind,
               const Options *o,
               Measure       *m,
               ProcSample    *samples,
               guint          n_samples,
               double         setup_s)
{
  static const char * const names[] = { "rss_kib_before", "rss_kib_reserved",
                                        "rss_kib_connected", "rss_kib_circuits" };
  g_autoptr(GString) out = g_string_new ("{");
  g_autofree gchar *failure = measure_failure (m);

  json_string (out, "case", kind);
  json_uint (out, "reservations", o->reservations);
  json_uint (out, "circuits", o->circuits);
  json_uint (out, "circuit_kib", o->circuit_kib);
  json_number (out, "setup_s", setup_s);
  for (guint i = 0; i < n_samples && i < G_N_ELEMENTS (names); i++)
    if (samples[i].ok)
      json_uint (out, names[i], samples[i].rss_kib);
  if (failure != NULL)
    json_string (out, "error", failure);
  else if (n_samples == 4)
    {
      json_number (out, "kib_per_reservation",
                   ((double) samples[1].rss_kib - (double) samples[0].rss_kib) / o->reservations);
      json_number (out, "kib_per_connection",
                   ((double) samples[2].rss_kib - (double) samples[1].rss_kib) / o->circuits);
      json_number (out, "kib_per_circuit",
                   ((double) samples[3].rss_kib - (double) samples[2].rss_kib) / o->circuits);
    }
  return print_result (out);
}

static int
run_punch_memory (Options *o)
{
  PunchBench bench;
  ProcSample samples[4];
  guint n_samples = 0;
  gint64 t0 = g_get_monotonic_time ();
  int status;

  if (o->circuits > o->reservations)
    o->circuits = o->reservations;
  if (!punch_bench_init (&bench, o))
    return 2;
  bench.close_after = FALSE;    /* the circuits stay open, idle */
  bench.share = (guint64) o->circuit_kib * 1024;
  bench.expected = bench.share * o->circuits;

  samples[n_samples++] = proc_sample (o->relay_pid);
  worker_invoke (&bench.targets, targets_setup, &bench);
  if (wait_step (&bench, &bench.n_reserved, o->reservations, "reservations"))
    {
      settle (o);
      samples[n_samples++] = proc_sample (o->relay_pid);
      worker_invoke (&bench.dialers, dialers_connect, &bench);
      if (wait_step (&bench, &bench.n_connected, o->circuits, "dialers connected"))
        {
          settle (o);
          samples[n_samples++] = proc_sample (o->relay_pid);
          worker_invoke (&bench.dialers, dialers_circuits, &bench);
          if (wait_step (&bench, &bench.n_opened, o->circuits, "circuits and streams"))
            {
              worker_invoke (&bench.dialers, senders_go, &bench);
              measure_wait_end (&bench.m, o->timeout_s);
              if (!bench.m.ended)
                measure_fail (&bench.m, "the circuits' data did not arrive");
              else
                {
                  settle (o);
                  samples[n_samples++] = proc_sample (o->relay_pid);
                }
            }
        }
    }
  status = report_memory ("punch", o, &bench.m, samples, n_samples,
                          (double) (g_get_monotonic_time () - t0) / 1e6);
  punch_bench_clear (&bench);
  return status;
}

/* ------------------------------------------------------------------ */
/* TURN: a minimal RFC 5766 / RFC 6062 client over TCP                */
/* ------------------------------------------------------------------ */

#define STUN_MAGIC 0x2112A442u

enum {
  METHOD_ALLOCATE = 0x003,
  METHOD_CREATE_PERMISSION = 0x008,
  METHOD_CONNECT = 0x00a,
  METHOD_CONNECTION_BIND = 0x00b,
};

enum {
  CLASS_REQUEST = 0x0000,
  CLASS_SUCCESS = 0x0100,
  CLASS_ERROR = 0x0110,
};

enum {
  ATTR_USERNAME = 0x0006,
  ATTR_MESSAGE_INTEGRITY = 0x0008,
  ATTR_ERROR_CODE = 0x0009,
  ATTR_LIFETIME = 0x000d,
  ATTR_XOR_PEER_ADDRESS = 0x0012,
  ATTR_REALM = 0x0014,
  ATTR_NONCE = 0x0015,
  ATTR_XOR_RELAYED_ADDRESS = 0x0016,
  ATTR_REQUESTED_TRANSPORT = 0x0019,
  ATTR_CONNECTION_ID = 0x002a,
};

/* What a TURN client session knows: credentials and the server's nonce. */
typedef struct {
  const Options *o;
  struct sockaddr_in server;
  gchar *realm;
  gchar *nonce;
  guint8 key[16];             /* MD5 (user:realm:password) */
  guint retries;              /* allocations tried twice */
} TurnAuth;

typedef struct {
  GByteArray *buf;
} StunMessage;

static void
put16 (GByteArray *b,
       guint16     v)
{
  guint8 x[2] = { v >> 8, v & 0xff };

  g_byte_array_append (b, x, 2);
}

static void
put32 (GByteArray *b,
       guint32     v)
{
  guint8 x[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };

  g_byte_array_append (b, x, 4);
}

static guint16
get16 (const guint8 *p)
{
  return (guint16) ((p[0] << 8) | p[1]);
}

static guint32
get32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static void
stun_begin (GByteArray *b,
            guint16     type)
{
  g_byte_array_set_size (b, 0);
  put16 (b, type);
  put16 (b, 0);
  put32 (b, STUN_MAGIC);
  for (guint i = 0; i < 3; i++)
    put32 (b, g_random_int ());
}

static void
stun_set_length (GByteArray *b)
{
  guint16 len = (guint16) (b->len - 20);

  b->data[2] = len >> 8;
  b->data[3] = len & 0xff;
}

static void
stun_attr (GByteArray   *b,
           guint16       type,
           const void   *value,
           gsize         len)
{
  static const guint8 zeros[3] = { 0 };

  put16 (b, type);
  put16 (b, (guint16) len);
  g_byte_array_append (b, value, (guint) len);
  if (len % 4 != 0)
    g_byte_array_append (b, zeros, (guint) (4 - len % 4));
  stun_set_length (b);
}

static void
stun_xor_address (GByteArray                *b,
                  guint16                    type,
                  const struct sockaddr_in  *addr)
{
  guint8 v[8];
  guint16 port = ntohs (addr->sin_port) ^ (STUN_MAGIC >> 16);
  guint32 ip = ntohl (addr->sin_addr.s_addr) ^ STUN_MAGIC;

  v[0] = 0;
  v[1] = 0x01;
  v[2] = port >> 8;
  v[3] = port & 0xff;
  v[4] = ip >> 24;
  v[5] = (ip >> 16) & 0xff;
  v[6] = (ip >> 8) & 0xff;
  v[7] = ip & 0xff;
  stun_attr (b, type, v, sizeof v);
}

/* USERNAME, REALM, NONCE and MESSAGE-INTEGRITY, when the nonce is known. */
static void
stun_authenticate (GByteArray *b,
                   TurnAuth   *auth)
{
  guint8 mac[20];

  if (auth->nonce == NULL)
    return;
  stun_attr (b, ATTR_USERNAME, auth->o->user, strlen (auth->o->user));
  stun_attr (b, ATTR_REALM, auth->realm, strlen (auth->realm));
  stun_attr (b, ATTR_NONCE, auth->nonce, strlen (auth->nonce));
  /* The length covers MESSAGE-INTEGRITY itself; the HMAC covers what
   * comes before it. */
  b->data[2] = (guint8) ((b->len - 20 + 24) >> 8);
  b->data[3] = (guint8) ((b->len - 20 + 24) & 0xff);
  gnutls_hmac_fast (GNUTLS_MAC_SHA1, auth->key, sizeof auth->key, b->data, b->len, mac);
  stun_attr (b, ATTR_MESSAGE_INTEGRITY, mac, sizeof mac);
}

/* Finds an attribute of a received message; returns its value or NULL. */
static const guint8 *
stun_find (const guint8 *msg,
           gsize         len,
           guint16       type,
           gsize        *out_len)
{
  gsize at = 20;

  while (at + 4 <= len)
    {
      guint16 t = get16 (msg + at), l = get16 (msg + at + 2);

      if (at + 4 + l > len)
        return NULL;
      if (t == type)
        {
          *out_len = l;
          return msg + at + 4;
        }
      at += 4 + ((l + 3u) & ~3u);
    }
  return NULL;
}

static gboolean
write_all_fd (int           fd,
              const guint8 *data,
              gsize         len)
{
  while (len > 0)
    {
      ssize_t n = send (fd, data, len, MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

static gboolean
read_all_fd (int     fd,
             guint8 *data,
             gsize   len)
{
  while (len > 0)
    {
      ssize_t n = recv (fd, data, len, 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* Sends a request and reads its answer; retries once with new
 * credentials on 401 or 438. Returns the answer, or NULL with *error. */
static GByteArray *
turn_transact (int          fd,
               TurnAuth    *auth,
               guint16      method,
               void       (*add_attrs) (GByteArray *b, gpointer data),
               gpointer     data,
               gchar      **error)
{
  g_autoptr(GByteArray) req = g_byte_array_new ();

  for (guint attempt = 0; attempt < 3; attempt++)
    {
      g_autoptr(GByteArray) answer = g_byte_array_new ();
      guint8 header[20];
      guint16 type, len;
      const guint8 *v;
      gsize vlen = 0;

      stun_begin (req, method | CLASS_REQUEST);
      if (add_attrs != NULL)
        add_attrs (req, data);
      stun_authenticate (req, auth);
      if (!write_all_fd (fd, req->data, req->len))
        {
          *error = g_strdup_printf ("send: %s", g_strerror (errno));
          return NULL;
        }
      /* Over TCP the answer follows; skip anything with another id. */
      for (;;)
        {
          if (!read_all_fd (fd, header, sizeof header))
            {
              *error = g_strdup_printf ("read: %s", errno ? g_strerror (errno) : "closed");
              return NULL;
            }
          len = get16 (header + 2);
          g_byte_array_set_size (answer, 20 + len);
          memcpy (answer->data, header, 20);
          if (!read_all_fd (fd, answer->data + 20, len))
            {
              *error = g_strdup ("read: closed");
              return NULL;
            }
          if (memcmp (header + 8, req->data + 8, 12) == 0)
            break;
        }
      type = get16 (answer->data);
      if (type == (method | CLASS_SUCCESS))
        return g_steal_pointer (&answer);
      if (type != (method | CLASS_ERROR))
        {
          *error = g_strdup_printf ("unexpected answer type 0x%04x", type);
          return NULL;
        }
      v = stun_find (answer->data, answer->len, ATTR_ERROR_CODE, &vlen);
      {
        guint code = v != NULL && vlen >= 4 ? (v[2] & 7) * 100 + v[3] : 0;
        const guint8 *realm, *nonce;
        gsize realm_len = 0, nonce_len = 0;

        realm = stun_find (answer->data, answer->len, ATTR_REALM, &realm_len);
        nonce = stun_find (answer->data, answer->len, ATTR_NONCE, &nonce_len);
        if ((code == 401 || code == 438) && nonce != NULL)
          {
            g_autofree gchar *secret = NULL;

            g_free (auth->nonce);
            auth->nonce = g_strndup ((const gchar *) nonce, nonce_len);
            if (realm != NULL)
              {
                g_free (auth->realm);
                auth->realm = g_strndup ((const gchar *) realm, realm_len);
              }
            secret = g_strdup_printf ("%s:%s:%s", auth->o->user, auth->realm, auth->o->password);
            gnutls_hash_fast (GNUTLS_DIG_MD5, secret, strlen (secret), auth->key);
            continue;
          }
        *error = g_strdup_printf ("error %u (%.*s)", code,
                                  v != NULL && vlen > 4 ? (int) (vlen - 4) : 0,
                                  v != NULL && vlen > 4 ? (const char *) v + 4 : "");
        return NULL;
      }
    }
  *error = g_strdup ("authentication failed");
  return NULL;
}

static int
tcp_connect (const struct sockaddr_in *to)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  struct timeval tv = { 10, 0 };

  if (fd < 0)
    return -1;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect (fd, (const struct sockaddr *) to, sizeof *to) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

static void
add_requested_tcp (GByteArray *b,
                   gpointer    data)
{
  static const guint8 tcp[4] = { 6, 0, 0, 0 };

  stun_attr (b, ATTR_REQUESTED_TRANSPORT, tcp, sizeof tcp);
}

static void
add_peer (GByteArray *b,
          gpointer    data)
{
  stun_xor_address (b, ATTR_XOR_PEER_ADDRESS, data);
}

static void
add_connection_id (GByteArray *b,
                   gpointer    data)
{
  guint8 v[4];
  guint32 id = GPOINTER_TO_UINT (data);

  v[0] = id >> 24;
  v[1] = (id >> 16) & 0xff;
  v[2] = (id >> 8) & 0xff;
  v[3] = id & 0xff;
  stun_attr (b, ATTR_CONNECTION_ID, v, sizeof v);
}

/* A TCP allocation on its own control connection. Returns the control
 * socket, or -1 with *error. */
static int
turn_allocate (TurnAuth  *auth,
               gchar    **error)
{
  int fd = tcp_connect (&auth->server);
  g_autoptr(GByteArray) answer = NULL;

  if (fd < 0)
    {
      *error = g_strdup_printf ("connect to the TURN server: %s", g_strerror (errno));
      return -1;
    }
  answer = turn_transact (fd, auth, METHOD_ALLOCATE, add_requested_tcp, NULL, error);
  if (answer == NULL)
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* CONNECT from the allocation on ctrl to peer, then a data connection
 * bound to it. Returns the data socket, raw bytes from here on. */
static int
turn_open_circuit (TurnAuth                  *auth,
                   int                        ctrl,
                   const struct sockaddr_in  *peer,
                   gchar                    **error)
{
  g_autoptr(GByteArray) answer = NULL;
  const guint8 *v;
  gsize vlen = 0;
  guint32 id;
  int data;

  answer = turn_transact (ctrl, auth, METHOD_CREATE_PERMISSION, add_peer, (gpointer) peer, error);
  if (answer == NULL)
    return -1;
  g_clear_pointer (&answer, g_byte_array_unref);
  answer = turn_transact (ctrl, auth, METHOD_CONNECT, add_peer, (gpointer) peer, error);
  if (answer == NULL)
    return -1;
  v = stun_find (answer->data, answer->len, ATTR_CONNECTION_ID, &vlen);
  if (v == NULL || vlen != 4)
    {
      *error = g_strdup ("CONNECT answered without CONNECTION-ID");
      return -1;
    }
  id = get32 (v);
  data = tcp_connect (&auth->server);
  if (data < 0)
    {
      *error = g_strdup_printf ("data connection: %s", g_strerror (errno));
      return -1;
    }
  g_clear_pointer (&answer, g_byte_array_unref);
  answer = turn_transact (data, auth, METHOD_CONNECTION_BIND, add_connection_id,
                          GUINT_TO_POINTER (id), error);
  if (answer == NULL)
    {
      close (data);
      return -1;
    }
  return data;
}

static gboolean
turn_auth_init (TurnAuth      *auth,
                const Options *o)
{
  g_auto(GStrv) parts = g_strsplit (o->server != NULL ? o->server : "", ":", 2);

  memset (auth, 0, sizeof *auth);
  auth->o = o;
  auth->realm = g_strdup ("");
  auth->server.sin_family = AF_INET;
  if (parts[0] == NULL || parts[1] == NULL ||
      inet_pton (AF_INET, parts[0], &auth->server.sin_addr) != 1)
    {
      g_printerr ("bench-relay: --server must be IP:PORT\n");
      return FALSE;
    }
  auth->server.sin_port = htons ((guint16) g_ascii_strtoull (parts[1], NULL, 10));
  if (o->user == NULL || o->password == NULL)
    {
      g_printerr ("bench-relay: --user and --password are needed for TURN\n");
      return FALSE;
    }
  return TRUE;
}

static void
turn_auth_clear (TurnAuth *auth)
{
  g_free (auth->realm);
  g_free (auth->nonce);
}

/* The peer: a TCP listener on 127.0.0.1 that the TURN server connects to. */
static int
peer_listen (struct sockaddr_in *where)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  socklen_t len = sizeof *where;

  memset (where, 0, sizeof *where);
  where->sin_family = AF_INET;
  where->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd < 0 || bind (fd, (struct sockaddr *) where, sizeof *where) < 0 ||
      listen (fd, 1024) < 0 || getsockname (fd, (struct sockaddr *) where, &len) < 0)
    {
      if (fd >= 0)
        close (fd);
      return -1;
    }
  return fd;
}

/* Accepts n connections within timeout_s; returns them (non-blocking). */
static GArray *
peer_accept (int    listener,
             guint  n,
             guint  timeout_s)
{
  GArray *fds = g_array_new (FALSE, FALSE, sizeof (int));
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;

  while (fds->len < n && g_get_monotonic_time () < deadline)
    {
      struct pollfd p = { listener, POLLIN, 0 };
      int fd;

      if (poll (&p, 1, 200) <= 0)
        continue;
      fd = accept4 (listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0)
        {
          int one = 1;

          setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          g_array_append_val (fds, fd);
        }
    }
  return fds;
}

static void
close_fds (GArray *fds)
{
  for (guint i = 0; fds != NULL && i < fds->len; i++)
    close (g_array_index (fds, int, i));
  if (fds != NULL)
    g_array_unref (fds);
}

typedef struct {
  Measure *m;
  GArray *fds;                /* non-blocking */
  guint64 share;              /* sender: bytes per socket */
  guint64 expected;           /* receiver: bytes in all */
  guint64 done;
  guint8 *buffer;
  guint timeout_s;
  gboolean close_after;
  gboolean start_clock;
} Pump;

/* Sender: writes share bytes on every socket, round robin by poll. */
static gpointer
turn_sender (gpointer data)
{
  Pump *s = data;
  guint n = s->fds->len;
  g_autofree guint64 *left = g_new (guint64, n);
  g_autofree struct pollfd *polls = g_new0 (struct pollfd, n);
  gint64 deadline = g_get_monotonic_time () + (gint64) s->timeout_s * G_USEC_PER_SEC;
  guint active = n;

  for (guint i = 0; i < n; i++)
    left[i] = s->share;
  if (s->start_clock)
    measure_start (s->m);
  while (active > 0)
    {
      guint k = 0;

      if (g_get_monotonic_time () > deadline)
        {
          measure_fail (s->m, "sender timed out");
          return NULL;
        }
      for (guint i = 0; i < n; i++)
        if (left[i] > 0)
          {
            polls[k].fd = g_array_index (s->fds, int, i);
            polls[k].events = POLLOUT;
            polls[k].revents = 0;
            k++;
          }
      if (poll (polls, k, 1000) < 0 && errno != EINTR)
        {
          measure_fail (s->m, "poll: %s", g_strerror (errno));
          return NULL;
        }
      for (guint j = 0, i = 0; j < k; j++)
        {
          while (left[i] == 0)
            i++;
          if (polls[j].revents & (POLLERR | POLLHUP))
            {
              measure_fail (s->m, "a data connection closed");
              return NULL;
            }
          if (polls[j].revents & POLLOUT)
            for (guint b = 0; b < PUMP_BUDGET && left[i] > 0; b++)
              {
                ssize_t w = send (polls[j].fd, s->buffer, MIN (CHUNK, left[i]),
                                  MSG_NOSIGNAL | MSG_DONTWAIT);

                if (w < 0 && (errno == EAGAIN || errno == EINTR))
                  break;
                if (w <= 0)
                  {
                    measure_fail (s->m, "send: %s", g_strerror (errno));
                    return NULL;
                  }
                left[i] -= (guint64) w;
                if (left[i] == 0)
                  {
                    active--;
                    if (s->close_after)
                      shutdown (polls[j].fd, SHUT_WR);
                  }
              }
          i++;
        }
    }
  return NULL;
}

/* Receiver: reads every socket until expected bytes came in all. */
static gpointer
turn_receiver (gpointer data)
{
  Pump *r = data;
  guint n = r->fds->len;
  g_autofree struct pollfd *polls = g_new0 (struct pollfd, n);
  gint64 deadline = g_get_monotonic_time () + (gint64) r->timeout_s * G_USEC_PER_SEC;

  for (guint i = 0; i < n; i++)
    {
      polls[i].fd = g_array_index (r->fds, int, i);
      polls[i].events = POLLIN;
    }
  while (r->done < r->expected)
    {
      if (g_get_monotonic_time () > deadline)
        {
          measure_fail (r->m, "receiver timed out at %" G_GUINT64_FORMAT " bytes", r->done);
          return NULL;
        }
      if (poll (polls, n, 1000) < 0 && errno != EINTR)
        {
          measure_fail (r->m, "poll: %s", g_strerror (errno));
          return NULL;
        }
      for (guint i = 0; i < n; i++)
        {
          if (polls[i].fd < 0 || !(polls[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
          for (guint b = 0; b < PUMP_BUDGET; b++)
            {
              ssize_t got = recv (polls[i].fd, r->buffer, CHUNK, MSG_DONTWAIT);

              if (got < 0 && (errno == EAGAIN || errno == EINTR))
                break;
              if (got <= 0)
                {
                  polls[i].fd = -1;   /* closed or failed: poll ignores it */
                  break;
                }
              r->done += (guint64) got;
            }
        }
      {
        gboolean all_closed = TRUE;

        for (guint i = 0; i < n; i++)
          all_closed &= polls[i].fd < 0;
        if (all_closed && r->done < r->expected)
          {
            measure_fail (r->m, "the peer connections closed at %" G_GUINT64_FORMAT " bytes",
                          r->done);
            return NULL;
          }
      }
    }
  if (r->done == r->expected)
    measure_end (r->m);
  else
    measure_fail (r->m, "received %" G_GUINT64_FORMAT " bytes, more than sent", r->done);
  return NULL;
}

static void
measure_init (Measure *m,
              int      relay_pid)
{
  memset (m, 0, sizeof *m);
  g_mutex_init (&m->lock);
  g_cond_init (&m->cond);
  m->relay_pid = relay_pid;
}

static void
measure_clear (Measure *m)
{
  g_free (m->failure);
  g_mutex_clear (&m->lock);
  g_cond_clear (&m->cond);
}

/* Opens n circuits on the first n control connections; fills data (the
 * data sockets, made non-blocking) and peers (the peer's accepted ones). */
static gboolean
turn_open_circuits (TurnAuth  *auth,
                    GArray    *ctrls,
                    guint      n,
                    int        listener,
                    const struct sockaddr_in *peer,
                    GArray    *data,
                    GArray   **peers,
                    Measure   *m)
{
  for (guint i = 0; i < n; i++)
    {
      g_autofree gchar *error = NULL;
      int fd = turn_open_circuit (auth, g_array_index (ctrls, int, i), peer, &error);

      if (fd < 0)
        {
          measure_fail (m, "TURN circuit %u: %s", i, error);
          return FALSE;
        }
      fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
      g_array_append_val (data, fd);
    }
  *peers = peer_accept (listener, n, auth->o->timeout_s);
  if ((*peers)->len != n)
    {
      measure_fail (m, "the peer accepted %u of %u connections", (*peers)->len, n);
      return FALSE;
    }
  return TRUE;
}

static gboolean
turn_allocate_all (TurnAuth *auth,
                   guint     n,
                   GArray   *ctrls,
                   Measure  *m)
{
  for (guint i = 0; i < n; i++)
    {
      g_autofree gchar *error = NULL;
      int fd = -1;

      /* One more try on a new control connection: reported, not hidden. */
      for (guint attempt = 0; attempt < 2 && fd < 0; attempt++)
        {
          g_clear_pointer (&error, g_free);
          fd = turn_allocate (auth, &error);
          if (fd < 0 && attempt == 0)
            {
              g_printerr ("bench-relay: TURN allocation %u: %s; trying again\n", i, error);
              auth->retries++;
              turn_allocation_retries++;
            }
        }
      if (fd < 0)
        {
          measure_fail (m, "TURN allocation %u: %s", i, error);
          return FALSE;
        }
      g_array_append_val (ctrls, fd);
    }
  return TRUE;
}

/* Runs a sender and a receiver thread over the circuits to the end. */
static void
turn_pump (Measure *m,
           GArray  *data,
           GArray  *peers,
           guint64  share,
           guint    timeout_s,
           gboolean close_after)
{
  g_autofree guint8 *sink = g_malloc (CHUNK);
  g_autofree guint8 *pattern = make_pattern ();
  Pump s = { m, data, share, 0, 0, pattern, timeout_s, close_after, TRUE };
  Pump r = { m, peers, 0, share * data->len, 0, sink, timeout_s, FALSE, FALSE };
  GThread *receiver = g_thread_new ("turn-receiver", turn_receiver, &r);
  GThread *sender = g_thread_new ("turn-sender", turn_sender, &s);

  g_thread_join (sender);
  g_thread_join (receiver);
}

static int
run_turn (Options *o)
{
  TurnAuth auth;
  Measure m;
  struct sockaddr_in peer;
  g_autoptr(GArray) ctrls = g_array_new (FALSE, FALSE, sizeof (int));
  GArray *data = g_array_new (FALSE, FALSE, sizeof (int));
  GArray *peers = NULL;
  gint64 t0 = g_get_monotonic_time ();
  double setup_s = 0;
  int listener, status;
  guint64 share = o->bytes / o->circuits;

  if (!turn_auth_init (&auth, o))
    return 2;
  measure_init (&m, o->relay_pid);
  o->bytes = share * o->circuits;
  listener = peer_listen (&peer);
  if (listener < 0)
    measure_fail (&m, "peer listen: %s", g_strerror (errno));
  else if (turn_allocate_all (&auth, o->circuits, ctrls, &m) &&
           turn_open_circuits (&auth, ctrls, o->circuits, listener, &peer, data, &peers, &m))
    {
      setup_s = (double) (g_get_monotonic_time () - t0) / 1e6;
      /* No half-close: coturn closes the peer's connection as soon as the
       * client half-closes and drops what it still holds. */
      turn_pump (&m, data, peers, share, o->timeout_s, FALSE);
    }
  status = report_throughput ("turn", o, &m, m.ended ? o->bytes : 0, setup_s);
  close_fds (peers);
  close_fds (data);
  for (guint i = 0; i < ctrls->len; i++)
    close (g_array_index (ctrls, int, i));
  if (listener >= 0)
    close (listener);
  measure_clear (&m);
  turn_auth_clear (&auth);
  return status;
}

static int
run_turn_memory (Options *o)
{
  TurnAuth auth;
  Measure m;
  struct sockaddr_in peer;
  ProcSample samples[4];
  guint n_samples = 0;
  g_autoptr(GArray) ctrls = g_array_new (FALSE, FALSE, sizeof (int));
  GArray *data = g_array_new (FALSE, FALSE, sizeof (int));
  GArray *peers = NULL;
  gint64 t0 = g_get_monotonic_time ();
  int listener, status;

  if (!turn_auth_init (&auth, o))
    return 2;
  if (o->circuits > o->reservations)
    o->circuits = o->reservations;
  measure_init (&m, o->relay_pid);
  listener = peer_listen (&peer);
  samples[n_samples++] = proc_sample (o->relay_pid);
  if (listener < 0)
    measure_fail (&m, "peer listen: %s", g_strerror (errno));
  else if (turn_allocate_all (&auth, o->reservations, ctrls, &m))
    {
      settle (o);
      samples[n_samples++] = proc_sample (o->relay_pid);
      /* A TURN client needs no other connection before its circuit. */
      samples[n_samples] = samples[n_samples - 1];
      n_samples++;
      if (turn_open_circuits (&auth, ctrls, o->circuits, listener, &peer, data, &peers, &m))
        {
          turn_pump (&m, data, peers, (guint64) o->circuit_kib * 1024, o->timeout_s, FALSE);
          if (m.ended)
            {
              settle (o);
              samples[n_samples++] = proc_sample (o->relay_pid);
            }
        }
    }
  status = report_memory ("turn", o, &m, samples, n_samples,
                          (double) (g_get_monotonic_time () - t0) / 1e6);
  close_fds (peers);
  close_fds (data);
  for (guint i = 0; i < ctrls->len; i++)
    close (g_array_index (ctrls, int, i));
  if (listener >= 0)
    close (listener);
  measure_clear (&m);
  turn_auth_clear (&auth);
  return status;
}

/* ------------------------------------------------------------------ */

int
main (int    argc,
      char **argv)
{
  Options o = { 0 };
  g_autofree gchar *listen = NULL;
  g_autofree gchar *relay = NULL, *server = NULL, *user = NULL, *password = NULL;
  gint relay_pid = 0, circuits = 1, reservations = 1000, mib = 256, circuit_kib = 1024;
  gint timeout_s = 60, settle_ms = 1000;
  gint max_reservations = 2048, max_per_ip = 2048, max_circuits = 1024;
  gint max_circuits_per_peer = 64, max_connections = 4096, buffer_size = 0;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  GOptionEntry entries[] = {
    { "listen", 0, 0, G_OPTION_ARG_STRING, &listen, "serve: listen address", "MULTIADDR" },
    { "max-reservations", 0, 0, G_OPTION_ARG_INT, &max_reservations, "serve: reservations in all", "N" },
    { "max-reservations-per-ip", 0, 0, G_OPTION_ARG_INT, &max_per_ip, "serve: per IP", "N" },
    { "max-circuits", 0, 0, G_OPTION_ARG_INT, &max_circuits, "serve: circuits in all", "N" },
    { "max-circuits-per-peer", 0, 0, G_OPTION_ARG_INT, &max_circuits_per_peer, "serve: per peer", "N" },
    { "max-connections", 0, 0, G_OPTION_ARG_INT, &max_connections, "serve: the host's connections", "N" },
    { "buffer-size", 0, 0, G_OPTION_ARG_INT, &buffer_size, "serve: bytes held per direction (default: the service's)", "BYTES" },
    { "relay", 0, 0, G_OPTION_ARG_STRING, &relay, "Punch relay multiaddr (with /p2p)", "MULTIADDR" },
    { "server", 0, 0, G_OPTION_ARG_STRING, &server, "TURN server", "IP:PORT" },
    { "user", 0, 0, G_OPTION_ARG_STRING, &user, "TURN user", "NAME" },
    { "password", 0, 0, G_OPTION_ARG_STRING, &password, "TURN password", "PASSWORD" },
    { "relay-pid", 0, 0, G_OPTION_ARG_INT, &relay_pid, "the relay's process id (for /proc)", "PID" },
    { "circuits", 0, 0, G_OPTION_ARG_INT, &circuits, "concurrent circuits (default 1)", "N" },
    { "reservations", 0, 0, G_OPTION_ARG_INT, &reservations, "memory: idle reservations (default 1000)", "N" },
    { "mib", 0, 0, G_OPTION_ARG_INT, &mib, "MiB in all, split over the circuits (default 256)", "N" },
    { "circuit-kib", 0, 0, G_OPTION_ARG_INT, &circuit_kib, "memory: KiB each circuit carries (default 1024)", "N" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_s, "seconds per step (default 60)", "S" },
    { "settle-ms", 0, 0, G_OPTION_ARG_INT, &settle_ms, "memory: wait before each sample (default 1000)", "MS" },
    { NULL }
  };

  context = g_option_context_new ("serve|punch|turn|punch-memory|turn-memory");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2)
    {
      g_printerr ("bench-relay: %s\n", error != NULL ? error->message : "one command is needed");
      return 2;
    }
  if (circuits < 1 || circuits > 1024 || reservations < 1 || reservations > 20000 ||
      mib < 1 || mib > 65536 || circuit_kib < 1 || circuit_kib > 65536 ||
      timeout_s < 1 || timeout_s > 600 || settle_ms < 0 || settle_ms > 60000 ||
      max_reservations < 0 || max_per_ip < 0 || max_circuits < 0 ||
      max_circuits_per_peer < 0 || max_connections < 1)
    {
      g_printerr ("bench-relay: an option is out of range\n");
      return 2;
    }
  o.relay = relay;
  o.server = server;
  o.user = user;
  o.password = password;
  o.relay_pid = relay_pid;
  o.circuits = (guint) circuits;
  o.reservations = (guint) reservations;
  o.bytes = (guint64) mib * MiB;
  o.circuit_kib = (guint) circuit_kib;
  o.timeout_s = (guint) timeout_s;
  o.settle_ms = (guint) settle_ms;

  if (g_str_equal (argv[1], "serve"))
    return run_serve (listen != NULL ? listen : "/ip4/127.0.0.1/tcp/0", (guint) max_reservations,
                      (guint) max_per_ip, (guint) max_circuits, (guint) max_circuits_per_peer,
                      (guint) max_connections, (guint) MAX (buffer_size, 0));
  if ((g_str_equal (argv[1], "punch") || g_str_equal (argv[1], "punch-memory")) && relay == NULL)
    {
      g_printerr ("bench-relay: --relay is needed\n");
      return 2;
    }
  if (g_str_equal (argv[1], "punch"))
    return run_punch (&o);
  if (g_str_equal (argv[1], "punch-memory"))
    return run_punch_memory (&o);
  if (g_str_equal (argv[1], "turn"))
    return run_turn (&o);
  if (g_str_equal (argv[1], "turn-memory"))
    return run_turn_memory (&o);
  g_printerr ("bench-relay: unknown command '%s'\n", argv[1]);
  return 2;
}
