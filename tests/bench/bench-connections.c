/* bench-connections.c: bulk transfer over loopback: TCP, GnuTLS TLS 1.3, Punch streams.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

/*
 * One run of one case, printed as one JSON object on stdout; the runner
 * (tests/bench/run-connections) repeats the runs and takes medians.
 *
 *   bench-connections probe
 *   bench-connections tcp   [--mib N]
 *   bench-connections tls   [--mib N] [--cipher NAME] [--cork]
 *   bench-connections punch [--mib N] [--streams K] [--io pollable|async]
 *                           [--rtt-probe]
 *
 * Every case has the same shape: one process, a sender thread and a
 * receiver thread on 127.0.0.1, connected (and, for TLS and Punch,
 * handshaken) before the clock starts. The clock starts in the sender just
 * before its first write and stops in the receiver when the last byte has
 * been read. CPU time is getrusage (RUSAGE_SELF) user+sys over the same
 * interval, so it counts both ends; the threads' own CPU clocks split it
 * into sender and receiver.
 *
 * The sockets are alike in every case: blocking TCP over loopback with
 * TCP_NODELAY (Punch sets it on its connections), default buffer sizes.
 * The application moves 64 KiB per write and per read (--chunk).
 */

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "punch.h"
#include "punch-connection-private.h"
#include "punch-stream-private.h"
#include "punch-tls-session.h"
#include "punch-yamux-session.h"

#define MiB (1024 * 1024)
#define BENCH_PROTOCOL "/punch/bench/sink/1.0.0"

/* Work done per main loop dispatch before yielding to other sources. */
#define PUMP_BUDGET 256

typedef struct {
  guint64 bytes;
  gsize chunk;
  guint timeout_s;
} Options;

/* ------------------------------------------------------------------ */
/* Measuring                                                          */
/* ------------------------------------------------------------------ */

/* What the sender and receiver threads share. */
typedef struct {
  GMutex lock;
  GCond cond;

  clockid_t sender_clock;
  clockid_t receiver_clock;
  gboolean have_sender_clock;
  gboolean have_receiver_clock;

  gint64 t_start;               /* monotonic µs */
  gint64 t_end;
  struct rusage ru_start;
  struct rusage ru_end;
  double sender_cpu_start;
  double receiver_cpu_start;
  double sender_cpu_end;
  double receiver_cpu_end;

  gboolean started;
  gboolean finished;            /* the receiver has every byte */
  gchar *failure;               /* the first error */
} Measure;

static void
measure_init (Measure *m)
{
  memset (m, 0, sizeof *m);
  g_mutex_init (&m->lock);
  g_cond_init (&m->cond);
}

static void
measure_clear (Measure *m)
{
  g_free (m->failure);
  g_mutex_clear (&m->lock);
  g_cond_clear (&m->cond);
}

static double
thread_cpu_seconds (clockid_t clock, gboolean valid)
{
  struct timespec ts;

  if (!valid || clock_gettime (clock, &ts) != 0)
    return -1.0;
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
rusage_seconds (const struct rusage *ru)
{
  return ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
         ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
}

static double
timeval_diff (const struct timeval *a,
              const struct timeval *b)
{
  return (b->tv_sec - a->tv_sec) + (b->tv_usec - a->tv_usec) / 1e6;
}

/* Each thread registers its CPU clock before the transfer starts. */
static void
measure_register_thread (Measure  *m,
                         gboolean  sender)
{
  clockid_t clock;
  gboolean ok = pthread_getcpuclockid (pthread_self (), &clock) == 0;

  g_mutex_lock (&m->lock);
  if (sender)
    {
      m->sender_clock = clock;
      m->have_sender_clock = ok;
    }
  else
    {
      m->receiver_clock = clock;
      m->have_receiver_clock = ok;
    }
  g_mutex_unlock (&m->lock);
}

/* In the sender, just before the first write. */
static void
measure_start (Measure *m)
{
  g_mutex_lock (&m->lock);
  m->sender_cpu_start = thread_cpu_seconds (m->sender_clock, m->have_sender_clock);
  m->receiver_cpu_start = thread_cpu_seconds (m->receiver_clock, m->have_receiver_clock);
  getrusage (RUSAGE_SELF, &m->ru_start);
  m->t_start = g_get_monotonic_time ();
  m->started = TRUE;
  g_mutex_unlock (&m->lock);
}

/* In the receiver, once the last byte was read. */
static void
measure_end (Measure *m)
{
  gint64 now = g_get_monotonic_time ();

  g_mutex_lock (&m->lock);
  getrusage (RUSAGE_SELF, &m->ru_end);
  m->t_end = now;
  m->sender_cpu_end = thread_cpu_seconds (m->sender_clock, m->have_sender_clock);
  m->receiver_cpu_end = thread_cpu_seconds (m->receiver_clock, m->have_receiver_clock);
  m->finished = TRUE;
  g_cond_broadcast (&m->cond);
  g_mutex_unlock (&m->lock);
}

static void
measure_fail (Measure    *m,
              const char *format,
              ...) G_GNUC_PRINTF (2, 3);

static void
measure_fail (Measure    *m,
              const char *format,
              ...)
{
  va_list args;
  gchar *message;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_mutex_lock (&m->lock);
  if (m->failure == NULL)
    m->failure = message;
  else
    g_free (message);
  g_cond_broadcast (&m->cond);
  g_mutex_unlock (&m->lock);
}

static gboolean
measure_is_over (Measure *m)
{
  gboolean over;

  g_mutex_lock (&m->lock);
  over = m->finished || m->failure != NULL;
  g_mutex_unlock (&m->lock);
  return over;
}

/* Waits (bounded) until the receiver finished or something failed. */
static void
measure_wait (Measure *m,
              guint    timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;

  g_mutex_lock (&m->lock);
  while (!m->finished && m->failure == NULL)
    {
      if (!g_cond_wait_until (&m->cond, &m->lock, deadline))
        {
          if (!m->finished && m->failure == NULL)
            m->failure = g_strdup_printf ("timed out after %u s", timeout_s);
          break;
        }
    }
  g_mutex_unlock (&m->lock);
}

static void
print_json_string (GString    *out,
                   const char *s)
{
  g_string_append_c (out, '"');
  for (; s != NULL && *s != '\0'; s++)
    {
      if (*s == '"' || *s == '\\')
        g_string_append_printf (out, "\\%c", *s);
      else if ((guchar) *s < 0x20)
        g_string_append_printf (out, "\\u%04x", (guchar) *s);
      else
        g_string_append_c (out, *s);
    }
  g_string_append_c (out, '"');
}

/* Prints the result line; returns the exit status. */
static int
measure_report (Measure       *m,
                const char    *name,
                const Options *options,
                const char    *cipher,
                const char    *extra_json)
{
  g_autoptr(GString) out = g_string_new ("{");
  double seconds, cpu;

  g_string_append (out, "\"case\": ");
  print_json_string (out, name);
  if (m->failure != NULL || !m->finished)
    {
      g_string_append (out, ", \"error\": ");
      print_json_string (out, m->failure != NULL ? m->failure : "unfinished");
      g_string_append (out, "}\n");
      fputs (out->str, stdout);
      fflush (stdout);
      return 2;
    }

  seconds = (m->t_end - m->t_start) / 1e6;
  cpu = rusage_seconds (&m->ru_end) - rusage_seconds (&m->ru_start);
  g_string_append_printf (out, ", \"bytes\": %" G_GUINT64_FORMAT, options->bytes);
  g_string_append_printf (out, ", \"chunk\": %" G_GSIZE_FORMAT, options->chunk);
  g_string_append_printf (out, ", \"seconds\": %.6f", seconds);
  g_string_append_printf (out, ", \"mib_per_s\": %.3f",
                          seconds > 0 ? options->bytes / (double) MiB / seconds : 0.0);
  g_string_append_printf (out, ", \"cpu_s\": %.6f", cpu);
  g_string_append_printf (out, ", \"cpu_user_s\": %.6f",
                          timeval_diff (&m->ru_start.ru_utime, &m->ru_end.ru_utime));
  g_string_append_printf (out, ", \"cpu_sys_s\": %.6f",
                          timeval_diff (&m->ru_start.ru_stime, &m->ru_end.ru_stime));
  if (m->sender_cpu_start >= 0 && m->sender_cpu_end >= 0)
    g_string_append_printf (out, ", \"cpu_sender_s\": %.6f",
                            m->sender_cpu_end - m->sender_cpu_start);
  if (m->receiver_cpu_start >= 0 && m->receiver_cpu_end >= 0)
    g_string_append_printf (out, ", \"cpu_receiver_s\": %.6f",
                            m->receiver_cpu_end - m->receiver_cpu_start);
  g_string_append_printf (out, ", \"voluntary_switches\": %ld",
                          m->ru_end.ru_nvcsw - m->ru_start.ru_nvcsw);
  g_string_append_printf (out, ", \"involuntary_switches\": %ld",
                          m->ru_end.ru_nivcsw - m->ru_start.ru_nivcsw);
  if (cipher != NULL)
    {
      g_string_append (out, ", \"cipher\": ");
      print_json_string (out, cipher);
    }
  if (extra_json != NULL)
    g_string_append_printf (out, ", %s", extra_json);
  g_string_append (out, "}\n");
  fputs (out->str, stdout);
  fflush (stdout);
  return 0;
}

/* The bytes every sender writes: not all zeros, not compressible. */
static guint8 *
make_pattern (gsize size)
{
  guint8 *buffer = g_malloc (size);
  guint32 x = 0x9e3779b9;

  for (gsize i = 0; i < size; i++)
    {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      buffer[i] = (guint8) x;
    }
  return buffer;
}

/* ------------------------------------------------------------------ */
/* Sockets                                                            */
/* ------------------------------------------------------------------ */

static void
set_socket_options (int      fd,
                    guint    timeout_s)
{
  struct timeval tv = { .tv_sec = timeout_s, .tv_usec = 0 };
  int one = 1;

  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  /* Blocking calls give up rather than hang. */
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* A listening socket on 127.0.0.1, port chosen by the kernel. */
static int
listen_loopback (guint16 *port)
{
  struct sockaddr_in addr = { .sin_family = AF_INET };
  socklen_t len = sizeof addr;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -1;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0 ||
      listen (fd, 1) < 0 ||
      getsockname (fd, (struct sockaddr *) &addr, &len) < 0)
    {
      close (fd);
      return -1;
    }
  *port = ntohs (addr.sin_port);
  return fd;
}

static int
connect_loopback (guint16 port,
                  guint   timeout_s)
{
  struct sockaddr_in addr = { .sin_family = AF_INET };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -1;
  set_socket_options (fd, timeout_s);
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  addr.sin_port = htons (port);
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

static int
accept_bounded (int   listener,
                guint timeout_s)
{
  struct timeval tv = { .tv_sec = timeout_s, .tv_usec = 0 };
  int fd;

  setsockopt (listener, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  fd = accept4 (listener, NULL, NULL, SOCK_CLOEXEC);
  if (fd >= 0)
    set_socket_options (fd, timeout_s);
  return fd;
}

/* ------------------------------------------------------------------ */
/* Plain TCP and GnuTLS over TCP                                      */
/* ------------------------------------------------------------------ */

typedef struct {
  Measure measure;
  const Options *options;
  int listener;
  guint16 port;

  /* TLS; NULL priority: plain TCP. */
  const char *priority;
  gboolean cork;              /* one write per chunk instead of per record */
  gnutls_certificate_credentials_t server_credentials;
  gnutls_certificate_credentials_t client_credentials;
  gchar *cipher;              /* as negotiated, e.g. "AES-256-GCM" */
  gchar *suite;               /* e.g. "TLS_AES_256_GCM_SHA384" */
  gchar *description;         /* gnutls_session_get_desc () */

  /* Both ends connected (and handshaken): the sender may start. */
  guint n_ready;
} Pair;

static void
pair_ready (Pair *pair)
{
  g_mutex_lock (&pair->measure.lock);
  pair->n_ready++;
  g_cond_broadcast (&pair->measure.cond);
  g_mutex_unlock (&pair->measure.lock);
}

/* Waits (bounded) for both ends; FALSE if something failed meanwhile. */
static gboolean
pair_wait_ready (Pair *pair)
{
  Measure *m = &pair->measure;
  gint64 deadline = g_get_monotonic_time () + (gint64) pair->options->timeout_s * G_USEC_PER_SEC;
  gboolean ok = TRUE;

  g_mutex_lock (&m->lock);
  while (pair->n_ready < 2 && m->failure == NULL && ok)
    ok = g_cond_wait_until (&m->cond, &m->lock, deadline);
  ok = pair->n_ready == 2 && m->failure == NULL;
  g_mutex_unlock (&m->lock);
  return ok;
}

/* Waits (bounded) until the receiver is done: the sender's CPU clock must
 * stay readable until then. */
static void
pair_wait_over (Pair *pair)
{
  Measure *m = &pair->measure;
  gint64 deadline = g_get_monotonic_time () + (gint64) pair->options->timeout_s * G_USEC_PER_SEC;

  g_mutex_lock (&m->lock);
  while (!m->finished && m->failure == NULL)
    if (!g_cond_wait_until (&m->cond, &m->lock, deadline))
      break;
  g_mutex_unlock (&m->lock);
}

static gnutls_session_t
tls_start (Pair    *pair,
           int      fd,
           gboolean server)
{
  gnutls_session_t session = NULL;
  int ret;

  ret = gnutls_init (&session, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
                     GNUTLS_NO_TICKETS | GNUTLS_NO_SIGNAL);
  if (ret < 0)
    {
      measure_fail (&pair->measure, "gnutls_init: %s", gnutls_strerror (ret));
      return NULL;
    }
  if ((ret = gnutls_priority_set_direct (session, pair->priority, NULL)) < 0 ||
      (ret = gnutls_credentials_set (session, GNUTLS_CRD_CERTIFICATE,
                                     server ? pair->server_credentials :
                                     pair->client_credentials)) < 0)
    {
      measure_fail (&pair->measure, "TLS setup (%s): %s", pair->priority, gnutls_strerror (ret));
      gnutls_deinit (session);
      return NULL;
    }
  gnutls_transport_set_int (session, fd);
  gnutls_handshake_set_timeout (session, pair->options->timeout_s * 1000);

  /* Blocking sockets: only interruptions are retried (bounded); EAGAIN
   * means a socket timeout. */
  for (guint i = 0; i < 100; i++)
    {
      ret = gnutls_handshake (session);
      if (ret != GNUTLS_E_INTERRUPTED)
        break;
    }
  if (ret < 0)
    {
      measure_fail (&pair->measure, "TLS handshake: %s", gnutls_strerror (ret));
      gnutls_deinit (session);
      return NULL;
    }

  if (!server)
    {
      g_mutex_lock (&pair->measure.lock);
      pair->cipher = g_strdup (gnutls_cipher_get_name (gnutls_cipher_get (session)));
      pair->suite = g_strdup (gnutls_ciphersuite_get (session));
      pair->description = gnutls_session_get_desc (session);
      g_mutex_unlock (&pair->measure.lock);
    }
  return session;
}

/* Encrypts @len bytes into records held back by GnuTLS, then sends them
 * with one write: the whole chunk, or a negative GnuTLS error. */
static ssize_t
send_corked (gnutls_session_t  session,
             const guint8     *data,
             gsize             len)
{
  gsize done = 0;
  int ret;

  gnutls_record_cork (session);
  /* Corked, each call buffers at most one record (16 KiB): bounded by @len. */
  while (done < len)
    {
      ssize_t n = gnutls_record_send (session, data + done, len - done);

      if (n <= 0)
        return n < 0 ? n : GNUTLS_E_INTERNAL_ERROR;
      done += (gsize) n;
    }
  for (guint i = 0; i < 100; i++)
    {
      ret = gnutls_record_uncork (session, GNUTLS_RECORD_WAIT);
      if (ret != GNUTLS_E_INTERRUPTED)
        break;
    }
  return ret < 0 ? ret : (ssize_t) len;
}

static gpointer
pair_sender (gpointer data)
{
  Pair *pair = data;
  const Options *options = pair->options;
  g_autofree guint8 *pattern = make_pattern (options->chunk);
  gnutls_session_t session = NULL;
  guint64 sent = 0;
  int fd;

  measure_register_thread (&pair->measure, TRUE);
  fd = connect_loopback (pair->port, options->timeout_s);
  if (fd < 0)
    {
      measure_fail (&pair->measure, "connect: %s", g_strerror (errno));
      pair_ready (pair);
      return NULL;
    }
  if (pair->priority != NULL && (session = tls_start (pair, fd, FALSE)) == NULL)
    {
      close (fd);
      return NULL;
    }
  pair_ready (pair);
  if (!pair_wait_ready (pair))
    goto out;

  measure_start (&pair->measure);
  while (sent < options->bytes)
    {
      gsize want = MIN (options->chunk, options->bytes - sent);
      ssize_t n;

      if (session != NULL && pair->cork)
        n = send_corked (session, pattern, want);
      else if (session != NULL)
        n = gnutls_record_send (session, pattern, want);
      else
        n = send (fd, pattern, want, MSG_NOSIGNAL);

      if (n > 0)
        sent += (guint64) n;
      else if (session != NULL && n == GNUTLS_E_INTERRUPTED)
        continue;   /* a signal; EAGAIN would be the socket timeout */
      else if (session == NULL && n < 0 && errno == EINTR)
        continue;
      else
        {
          measure_fail (&pair->measure, "send: %s",
                        session != NULL ? gnutls_strerror ((int) n) : g_strerror (errno));
          goto out;
        }
    }

  if (session != NULL)
    gnutls_bye (session, GNUTLS_SHUT_WR);
  else
    shutdown (fd, SHUT_WR);
  pair_wait_over (pair);

out:
  if (session != NULL)
    gnutls_deinit (session);
  close (fd);
  return NULL;
}

static gpointer
pair_receiver (gpointer data)
{
  Pair *pair = data;
  const Options *options = pair->options;
  g_autofree guint8 *buffer = g_malloc (options->chunk);
  gnutls_session_t session = NULL;
  guint64 received = 0;
  int fd;

  measure_register_thread (&pair->measure, FALSE);
  fd = accept_bounded (pair->listener, options->timeout_s);
  if (fd < 0)
    {
      measure_fail (&pair->measure, "accept: %s", g_strerror (errno));
      pair_ready (pair);
      return NULL;
    }
  if (pair->priority != NULL && (session = tls_start (pair, fd, TRUE)) == NULL)
    {
      close (fd);
      pair_ready (pair);
      return NULL;
    }
  pair_ready (pair);

  while (received < options->bytes)
    {
      ssize_t n;

      if (session != NULL)
        n = gnutls_record_recv (session, buffer, options->chunk);
      else
        n = recv (fd, buffer, options->chunk, 0);

      if (n > 0)
        received += (guint64) n;
      else if (session != NULL && n == GNUTLS_E_INTERRUPTED)
        continue;
      else if (session == NULL && n < 0 && errno == EINTR)
        continue;
      else
        {
          measure_fail (&pair->measure, "receive after %" G_GUINT64_FORMAT " bytes: %s",
                        received,
                        n == 0 ? "end of stream" :
                        session != NULL ? gnutls_strerror ((int) n) : g_strerror (errno));
          goto out;
        }
    }
  measure_end (&pair->measure);

out:
  if (session != NULL)
    gnutls_deinit (session);
  close (fd);
  return NULL;
}

/* A self-signed ECDSA P-256 certificate (the key type of libp2p TLS
 * certificates), made at start; the client does not verify it. */
static gboolean
make_credentials (Pair *pair)
{
  gnutls_x509_privkey_t key = NULL;
  gnutls_x509_crt_t crt = NULL;
  static const char cn[] = "punch-bench";
  time_t now = time (NULL);
  unsigned char serial[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  int ret;

  if ((ret = gnutls_x509_privkey_init (&key)) < 0 ||
      (ret = gnutls_x509_privkey_generate2 (key, GNUTLS_PK_ECDSA,
                                            GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1),
                                            0, NULL, 0)) < 0 ||
      (ret = gnutls_x509_crt_init (&crt)) < 0 ||
      (ret = gnutls_x509_crt_set_version (crt, 3)) < 0 ||
      (ret = gnutls_x509_crt_set_serial (crt, serial, sizeof serial)) < 0 ||
      (ret = gnutls_x509_crt_set_activation_time (crt, now - 3600)) < 0 ||
      (ret = gnutls_x509_crt_set_expiration_time (crt, now + 86400)) < 0 ||
      (ret = gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                            cn, sizeof cn - 1)) < 0 ||
      (ret = gnutls_x509_crt_set_key (crt, key)) < 0 ||
      (ret = gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0 ||
      (ret = gnutls_certificate_allocate_credentials (&pair->server_credentials)) < 0 ||
      (ret = gnutls_certificate_set_x509_key (pair->server_credentials, &crt, 1, key)) < 0 ||
      (ret = gnutls_certificate_allocate_credentials (&pair->client_credentials)) < 0)
    {
      measure_fail (&pair->measure, "certificate: %s", gnutls_strerror (ret));
    }
  if (crt != NULL)
    gnutls_x509_crt_deinit (crt);
  if (key != NULL)
    gnutls_x509_privkey_deinit (key);
  return pair->measure.failure == NULL;
}

/* Runs one transfer; @priority NULL for plain TCP. */
static void
pair_run (Pair          *pair,
          const Options *options,
          const char    *priority,
          gboolean       cork)
{
  GThread *receiver, *sender;

  memset (pair, 0, sizeof *pair);
  measure_init (&pair->measure);
  pair->options = options;
  pair->priority = priority;
  pair->cork = cork;
  pair->listener = -1;

  if (priority != NULL && !make_credentials (pair))
    return;
  pair->listener = listen_loopback (&pair->port);
  if (pair->listener < 0)
    {
      measure_fail (&pair->measure, "listen: %s", g_strerror (errno));
      return;
    }

  receiver = g_thread_new ("bench-receiver", pair_receiver, pair);
  sender = g_thread_new ("bench-sender", pair_sender, pair);
  g_thread_join (sender);
  g_thread_join (receiver);
}

static void
pair_clear (Pair *pair)
{
  if (pair->listener >= 0)
    close (pair->listener);
  if (pair->server_credentials != NULL)
    gnutls_certificate_free_credentials (pair->server_credentials);
  if (pair->client_credentials != NULL)
    gnutls_certificate_free_credentials (pair->client_credentials);
  g_free (pair->cipher);
  g_free (pair->suite);
  if (pair->description != NULL)
    gnutls_free (pair->description);
  measure_clear (&pair->measure);
}

/* The priority string of the baseline: Punch's, with only @cipher. */
static gchar *
priority_for_cipher (const char *cipher)
{
  if (cipher == NULL)
    return g_strdup (PUNCH_TLS_PRIORITY);
  return g_strdup_printf ("%s:-CIPHER-ALL:+%s", PUNCH_TLS_PRIORITY, cipher);
}

/* ------------------------------------------------------------------ */
/* Punch                                                              */
/* ------------------------------------------------------------------ */

typedef struct _PunchBench PunchBench;

typedef struct {
  PunchBench *bench;
  PunchStream *stream;
  GSource *source;            /* pollable source while waiting */
  GCancellable *cancellable;  /* async I/O */
  guint64 remaining;          /* sender: bytes left to write */
  guint8 *buffer;             /* receiver: read buffer */
} Flow;

struct _PunchBench {
  Measure measure;
  const Options *options;
  guint n_streams;
  gboolean use_async;
  gboolean rtt_probe;
  guint8 *pattern;

  /* Set by the receiver thread before it reports ready. */
  gchar *address;
  GMainContext *receiver_context;
  GMainContext *sender_context;
  guint n_ready;
  gint stop;                  /* atomic: the threads tear down */

  /* Receiver thread only. */
  GPtrArray *receiver_flows;  /* Flow */
  guint64 received;
  PunchConnection *receiver_connection;
  gint64 receiver_rtt_us;     /* the yamux session's RTT when the last byte came */

  /* Sender thread only. */
  PunchConnection *connection;
  GPtrArray *sender_flows;    /* Flow */
  guint n_opened;
  /* Why the sender's writes would block: no send window, or the
   * connection's output full (diagnostics). */
  guint64 blocked_on_window;
  guint64 blocked_on_output;
};

static void
flow_free (gpointer data)
{
  Flow *flow = data;

  if (flow->cancellable != NULL)
    {
      g_cancellable_cancel (flow->cancellable);
      g_clear_object (&flow->cancellable);
    }
  if (flow->source != NULL)
    {
      g_source_destroy (flow->source);
      g_clear_pointer (&flow->source, g_source_unref);
    }
  g_clear_object (&flow->stream);
  g_free (flow->buffer);
  g_free (flow);
}

static Flow *
flow_new (PunchBench  *bench,
          PunchStream *stream)
{
  Flow *flow = g_new0 (Flow, 1);

  flow->bench = bench;
  flow->stream = g_object_ref (stream);
  flow->cancellable = g_cancellable_new ();
  return flow;
}

/* --- receiver --- */

static void
receiver_account (Flow  *flow,
                  gsize  n)
{
  PunchBench *bench = flow->bench;

  bench->received += n;
  if (bench->received == bench->options->bytes)
    {
      PunchYamuxSession *yamux = punch_connection_get_yamux (bench->receiver_connection);

      bench->receiver_rtt_us = yamux != NULL ? punch_yamux_session_get_rtt (yamux) : -1;
      measure_end (&bench->measure);
    }
  else if (bench->received > bench->options->bytes)
    measure_fail (&bench->measure, "received %" G_GUINT64_FORMAT " bytes, more than sent",
                  bench->received);
}

/* A GPollableSourceFunc. */
static gboolean
receiver_pump (GObject  *pollable,
              gpointer  data)
{
  Flow *flow = data;
  GPollableInputStream *input =
    G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (G_IO_STREAM (flow->stream)));

  for (guint i = 0; i < PUMP_BUDGET; i++)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_pollable_input_stream_read_nonblocking (input, flow->buffer,
                                                          flow->bench->options->chunk,
                                                          NULL, &error);

      if (n > 0)
        {
          receiver_account (flow, (gsize) n);
          continue;
        }
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;
      if (n < 0)
        measure_fail (&flow->bench->measure, "stream read: %s", error->message);
      /* Error or end of stream: this flow is done. */
      g_clear_pointer (&flow->source, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void receiver_read_async (Flow *flow);

static void
on_receiver_read (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Flow *flow = user_data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* the flow is gone */
  if (n > 0)
    {
      receiver_account (flow, (gsize) n);
      receiver_read_async (flow);
      return;
    }
  if (n < 0)
    measure_fail (&flow->bench->measure, "stream read: %s", error->message);
}

static void
receiver_read_async (Flow *flow)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (flow->stream)),
                             flow->buffer, flow->bench->options->chunk,
                             G_PRIORITY_DEFAULT, flow->cancellable,
                             on_receiver_read, flow);
}

static void
on_bench_stream (PunchHost   *host,
                 PunchStream *stream,
                 gpointer     user_data)
{
  PunchBench *bench = user_data;
  Flow *flow = flow_new (bench, stream);

  flow->buffer = g_malloc (bench->options->chunk);
  g_ptr_array_add (bench->receiver_flows, flow);
  if (bench->receiver_connection == NULL)
    {
      bench->receiver_connection = g_object_ref (punch_stream_get_connection (stream));

      /* Diagnostic: a yamux ping now gives the receiver's session an RTT,
       * which its window auto-tuning needs (otherwise the first keepalive
       * ping, 30 s in, is the first measurement). */
      if (bench->rtt_probe)
        {
          PunchYamuxSession *yamux = punch_connection_get_yamux (bench->receiver_connection);

          if (yamux != NULL && punch_yamux_session_ping (yamux, g_get_monotonic_time (), NULL))
            punch_connection_schedule_flush (bench->receiver_connection);
        }
    }
  if (bench->use_async)
    {
      receiver_read_async (flow);
      return;
    }
  flow->source = g_pollable_input_stream_create_source (
    G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (G_IO_STREAM (stream))), NULL);
  g_source_set_callback (flow->source, G_SOURCE_FUNC (receiver_pump), flow, NULL);
  g_source_attach (flow->source, g_main_context_get_thread_default ());
}

/* --- sender --- */

static void
sender_flow_done (Flow *flow)
{
  g_autoptr(GError) error = NULL;

  if (!punch_stream_close_write (flow->stream, &error))
    measure_fail (&flow->bench->measure, "close_write: %s", error->message);
}

/* A GPollableSourceFunc. */
static gboolean
sender_pump (GObject  *pollable,
            gpointer  data)
{
  Flow *flow = data;
  const Options *options = flow->bench->options;
  GPollableOutputStream *output =
    G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (G_IO_STREAM (flow->stream)));

  for (guint i = 0; i < PUMP_BUDGET && flow->remaining > 0; i++)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_pollable_output_stream_write_nonblocking (output, flow->bench->pattern,
                                                            MIN (options->chunk, flow->remaining),
                                                            NULL, &error);

      if (n > 0)
        {
          flow->remaining -= (guint64) n;
          continue;
        }
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          PunchYamuxSession *yamux = punch_connection_get_yamux (flow->bench->connection);

          if (yamux != NULL &&
              punch_yamux_session_get_send_window (yamux, punch_stream_get_id (flow->stream)) == 0)
            flow->bench->blocked_on_window++;
          else
            flow->bench->blocked_on_output++;
          return G_SOURCE_CONTINUE;
        }
      measure_fail (&flow->bench->measure, "stream write: %s",
                    error != NULL ? error->message : "wrote nothing");
      g_clear_pointer (&flow->source, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  if (flow->remaining > 0)
    return G_SOURCE_CONTINUE;

  sender_flow_done (flow);
  g_clear_pointer (&flow->source, g_source_unref);
  return G_SOURCE_REMOVE;
}

static void sender_write_async (Flow *flow);

static void
on_sender_written (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Flow *flow = user_data;
  g_autoptr(GError) error = NULL;
  gsize written = 0;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, &written, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        measure_fail (&flow->bench->measure, "stream write: %s", error->message);
      return;
    }
  flow->remaining -= written;
  if (flow->remaining > 0)
    sender_write_async (flow);
  else
    sender_flow_done (flow);
}

static void
sender_write_async (Flow *flow)
{
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (flow->stream)),
                                   flow->bench->pattern,
                                   MIN (flow->bench->options->chunk, flow->remaining),
                                   G_PRIORITY_DEFAULT, flow->cancellable,
                                   on_sender_written, flow);
}

static void
sender_start (PunchBench *bench)
{
  guint64 share = bench->options->bytes / bench->n_streams;

  measure_start (&bench->measure);
  for (guint i = 0; i < bench->sender_flows->len; i++)
    {
      Flow *flow = g_ptr_array_index (bench->sender_flows, i);

      flow->remaining = share;
      if (i == bench->sender_flows->len - 1)
        flow->remaining = bench->options->bytes - share * (bench->n_streams - 1);
      if (bench->use_async)
        {
          sender_write_async (flow);
          continue;
        }
      flow->source = g_pollable_output_stream_create_source (
        G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (G_IO_STREAM (flow->stream))),
        NULL);
      g_source_set_callback (flow->source, G_SOURCE_FUNC (sender_pump), flow, NULL);
      g_source_attach (flow->source, g_main_context_get_thread_default ());
    }
}

static void
on_stream_opened (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  PunchBench *bench = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) stream =
    punch_connection_open_stream_finish (PUNCH_CONNECTION (source), result, &error);

  if (stream == NULL)
    {
      measure_fail (&bench->measure, "open_stream: %s", error->message);
      return;
    }
  g_ptr_array_add (bench->sender_flows, flow_new (bench, stream));
  if (++bench->n_opened == bench->n_streams)
    sender_start (bench);
}

static void
on_dialed (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  static const gchar * const protocols[] = { BENCH_PROTOCOL, NULL };
  PunchBench *bench = user_data;
  g_autoptr(GError) error = NULL;

  bench->connection = punch_host_dial_finish (PUNCH_HOST (source), result, &error);
  if (bench->connection == NULL)
    {
      measure_fail (&bench->measure, "dial: %s", error->message);
      return;
    }
  for (guint i = 0; i < bench->n_streams; i++)
    punch_connection_open_stream_async (bench->connection, protocols, NULL,
                                        on_stream_opened, bench);
}

/* --- threads --- */

static gboolean
on_failsafe (gpointer data)
{
  PunchBench *bench = data;

  measure_fail (&bench->measure, "timed out after %u s", bench->options->timeout_s);
  return G_SOURCE_REMOVE;
}

/* Runs the thread's context until the main thread says stop (bounded by
 * the failsafe timeout, after which the main thread says stop). */
static void
run_until_stopped (PunchBench   *bench,
                   GMainContext *context)
{
  GSource *failsafe = g_timeout_source_new_seconds (bench->options->timeout_s + 5);

  g_source_set_callback (failsafe, on_failsafe, bench, NULL);
  g_source_attach (failsafe, context);
  while (!g_atomic_int_get (&bench->stop))
    g_main_context_iteration (context, TRUE);
  g_source_destroy (failsafe);
  g_source_unref (failsafe);
}

/* Lets the host's closing run a little, without waiting. */
static void
run_pending (GMainContext *context)
{
  for (guint i = 0; i < 1000 && g_main_context_iteration (context, FALSE); i++)
    ;
}

static void
bench_ready (PunchBench *bench)
{
  g_mutex_lock (&bench->measure.lock);
  bench->n_ready++;
  g_cond_broadcast (&bench->measure.cond);
  g_mutex_unlock (&bench->measure.lock);
}

static PunchHost *
new_host (PunchBench *bench)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);

  if (keypair == NULL)
    {
      measure_fail (&bench->measure, "keypair: %s", error->message);
      return NULL;
    }
  return punch_host_new (keypair);
}

static gpointer
punch_receiver (gpointer data)
{
  PunchBench *bench = data;
  GMainContext *context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) where = NULL;
  PunchHost *host = NULL;

  g_main_context_push_thread_default (context);
  measure_register_thread (&bench->measure, FALSE);

  host = new_host (bench);
  if (host != NULL)
    {
      punch_host_set_stream_handler (host, BENCH_PROTOCOL, on_bench_stream, bench, NULL);
      where = punch_multiaddr_new_from_string ("/ip4/127.0.0.1/tcp/0", &error);
      if (where == NULL || !punch_host_listen (host, where, &error))
        measure_fail (&bench->measure, "listen: %s", error->message);
      else
        {
          g_autoptr(GPtrArray) addresses = punch_host_get_listen_addresses (host);

          g_mutex_lock (&bench->measure.lock);
          if (addresses->len > 0)
            bench->address = punch_multiaddr_to_string (g_ptr_array_index (addresses, 0));
          g_mutex_unlock (&bench->measure.lock);
          if (addresses->len == 0)
            measure_fail (&bench->measure, "no listen address");
        }
    }
  g_mutex_lock (&bench->measure.lock);
  bench->receiver_context = context;
  g_mutex_unlock (&bench->measure.lock);
  bench_ready (bench);

  run_until_stopped (bench, context);

  g_ptr_array_set_size (bench->receiver_flows, 0);
  g_clear_object (&bench->receiver_connection);
  if (host != NULL)
    {
      punch_host_close (host);
      run_pending (context);
      g_object_unref (host);
    }
  run_pending (context);
  g_main_context_pop_thread_default (context);
  return context;   /* unreffed by the main thread after both threads end */
}

static gpointer
punch_sender (gpointer data)
{
  PunchBench *bench = data;
  GMainContext *context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) address = NULL;
  PunchHost *host;

  g_main_context_push_thread_default (context);
  measure_register_thread (&bench->measure, TRUE);
  g_mutex_lock (&bench->measure.lock);
  bench->sender_context = context;
  g_mutex_unlock (&bench->measure.lock);

  host = new_host (bench);
  if (host != NULL)
    {
      address = punch_multiaddr_new_from_string (bench->address, &error);
      if (address == NULL)
        measure_fail (&bench->measure, "address: %s", error->message);
      else
        punch_host_dial_async (host, address, NULL, on_dialed, bench);
    }
  bench_ready (bench);

  run_until_stopped (bench, context);

  g_ptr_array_set_size (bench->sender_flows, 0);
  g_clear_object (&bench->connection);
  if (host != NULL)
    {
      punch_host_close (host);
      run_pending (context);
      g_object_unref (host);
    }
  run_pending (context);
  g_main_context_pop_thread_default (context);
  return context;
}

static void
punch_run (PunchBench    *bench,
           const Options *options,
           guint          n_streams,
           gboolean       use_async,
           gboolean       rtt_probe)
{
  GThread *receiver, *sender = NULL;
  GMainContext *receiver_context, *sender_context = NULL;
  gint64 deadline;

  memset (bench, 0, sizeof *bench);
  measure_init (&bench->measure);
  bench->options = options;
  bench->n_streams = n_streams;
  bench->use_async = use_async;
  bench->rtt_probe = rtt_probe;
  bench->pattern = make_pattern (options->chunk);
  bench->receiver_flows = g_ptr_array_new_with_free_func (flow_free);
  bench->sender_flows = g_ptr_array_new_with_free_func (flow_free);

  /* The receiver listens first; the sender dials its address. */
  receiver = g_thread_new ("bench-receiver", punch_receiver, bench);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  g_mutex_lock (&bench->measure.lock);
  while (bench->n_ready < 1)
    if (!g_cond_wait_until (&bench->measure.cond, &bench->measure.lock, deadline))
      break;
  g_mutex_unlock (&bench->measure.lock);

  if (bench->address != NULL && !measure_is_over (&bench->measure))
    {
      sender = g_thread_new ("bench-sender", punch_sender, bench);
      measure_wait (&bench->measure, options->timeout_s);
    }
  else if (bench->measure.failure == NULL)
    measure_fail (&bench->measure, "the receiver did not start");

  g_atomic_int_set (&bench->stop, TRUE);
  g_mutex_lock (&bench->measure.lock);
  if (bench->receiver_context != NULL)
    g_main_context_wakeup (bench->receiver_context);
  if (bench->sender_context != NULL)
    g_main_context_wakeup (bench->sender_context);
  g_mutex_unlock (&bench->measure.lock);

  if (sender != NULL)
    sender_context = g_thread_join (sender);
  receiver_context = g_thread_join (receiver);
  g_clear_pointer (&sender_context, g_main_context_unref);
  g_clear_pointer (&receiver_context, g_main_context_unref);
}

static void
punch_bench_clear (PunchBench *bench)
{
  g_clear_pointer (&bench->receiver_flows, g_ptr_array_unref);
  g_clear_pointer (&bench->sender_flows, g_ptr_array_unref);
  g_free (bench->pattern);
  g_free (bench->address);
  measure_clear (&bench->measure);
}

/* ------------------------------------------------------------------ */
/* Probe: which cipher suite does Punch's TLS end up with?            */
/* ------------------------------------------------------------------ */

static GMutex probe_lock;
static gchar *probe_description;

/* Keeps the first "TLS client: authenticated …" debug message of Punch's
 * TLS session; drops the other debug messages. */
static GLogWriterOutput
probe_writer (GLogLevelFlags   log_level,
              const GLogField *fields,
              gsize            n_fields,
              gpointer         user_data)
{
  const char *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
      message = fields[i].value;

  if ((log_level & G_LOG_LEVEL_DEBUG) == 0)
    return g_log_writer_default (log_level, fields, n_fields, user_data);

  if (message != NULL && g_str_has_prefix (message, "TLS client: authenticated"))
    {
      g_mutex_lock (&probe_lock);
      if (probe_description == NULL)
        probe_description = g_strdup (message);
      g_mutex_unlock (&probe_lock);
    }
  return G_LOG_WRITER_HANDLED;
}

/* The cipher of a session description "(TLS1.3-X.509)-(…)-(…)-(AES-256-GCM)". */
static gchar *
cipher_from_description (const char *description)
{
  const char *open = description != NULL ? strrchr (description, '(') : NULL;
  const char *close = open != NULL ? strchr (open, ')') : NULL;

  if (open == NULL || close == NULL)
    return NULL;
  return g_strndup (open + 1, close - open - 1);
}

/* TLS 1.3 names each suite by its AEAD and hash; the AEAD alone decides. */
static const char *
tls13_suite_for_cipher (const char *cipher)
{
  static const struct { const char *cipher, *suite; } suites[] = {
    { "AES-128-GCM", "TLS_AES_128_GCM_SHA256" },
    { "AES-256-GCM", "TLS_AES_256_GCM_SHA384" },
    { "CHACHA20-POLY1305", "TLS_CHACHA20_POLY1305_SHA256" },
    { "AES-128-CCM", "TLS_AES_128_CCM_SHA256" },
    { "AES-128-CCM-8", "TLS_AES_128_CCM_8_SHA256" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (suites); i++)
    if (g_strcmp0 (cipher, suites[i].cipher) == 0)
      return suites[i].suite;
  return NULL;
}

static int
run_probe (Options *options)
{
  g_autoptr(GString) out = g_string_new ("{\"case\": \"probe\"");
  g_autofree gchar *punch_cipher = NULL;
  PunchBench bench;
  Pair pair;

  g_string_append (out, ", \"gnutls_version\": ");
  print_json_string (out, gnutls_check_version (NULL));
  g_string_append (out, ", \"punch_priority\": ");
  print_json_string (out, PUNCH_TLS_PRIORITY);

  /* Two GnuTLS sessions with Punch's priority string. */
  options->bytes = MiB;
  pair_run (&pair, options, PUNCH_TLS_PRIORITY, FALSE);
  if (pair.measure.failure != NULL)
    {
      g_string_append (out, ", \"gnutls_error\": ");
      print_json_string (out, pair.measure.failure);
    }
  else
    {
      g_string_append (out, ", \"gnutls_cipher\": ");
      print_json_string (out, pair.cipher);
      g_string_append (out, ", \"gnutls_suite\": ");
      print_json_string (out, pair.suite);
      g_string_append (out, ", \"gnutls_description\": ");
      print_json_string (out, pair.description);
    }
  pair_clear (&pair);

  /* Two Punch hosts: the cipher from the TLS session's debug message. */
  punch_run (&bench, options, 1, FALSE, FALSE);
  if (bench.measure.failure != NULL)
    {
      g_string_append (out, ", \"punch_error\": ");
      print_json_string (out, bench.measure.failure);
    }
  punch_bench_clear (&bench);

  g_mutex_lock (&probe_lock);
  punch_cipher = cipher_from_description (probe_description);
  if (probe_description != NULL)
    {
      g_string_append (out, ", \"punch_description\": ");
      print_json_string (out, probe_description);
      g_string_append (out, ", \"punch_cipher\": ");
      print_json_string (out, punch_cipher);
      g_string_append (out, ", \"punch_suite\": ");
      print_json_string (out, tls13_suite_for_cipher (punch_cipher));
    }
  g_mutex_unlock (&probe_lock);

  g_string_append (out, "}\n");
  fputs (out->str, stdout);
  fflush (stdout);
  return 0;
}

/* ------------------------------------------------------------------ */
/* main                                                               */
/* ------------------------------------------------------------------ */

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *cipher = NULL;
  g_autofree gchar *io = NULL;
  gint mib = 64, streams = 1, chunk = 64 * 1024, timeout_s = 60;
  gboolean rtt_probe = FALSE;
  gboolean cork = FALSE;
  GOptionEntry entries[] = {
    { "mib", 'm', 0, G_OPTION_ARG_INT, &mib, "MiB to transfer (default 64)", "N" },
    { "streams", 's', 0, G_OPTION_ARG_INT, &streams, "Punch: parallel streams (default 1)", "K" },
    { "chunk", 'c', 0, G_OPTION_ARG_INT, &chunk, "bytes per write and read (default 65536)", "BYTES" },
    { "cipher", 0, 0, G_OPTION_ARG_STRING, &cipher, "tls: force this GnuTLS cipher (e.g. AES-256-GCM)", "NAME" },
    { "cork", 0, 0, G_OPTION_ARG_NONE, &cork, "tls: cork the records of a chunk into one write", NULL },
    { "io", 0, 0, G_OPTION_ARG_STRING, &io, "punch: pollable (default) or async", "API" },
    { "rtt-probe", 0, 0, G_OPTION_ARG_NONE, &rtt_probe, "punch: the receiver pings at the start (diagnostic)", NULL },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_s, "give up after this many seconds (default 60)", "S" },
    G_OPTION_ENTRY_NULL
  };
  Options options;
  const char *name;
  int status;

  context = g_option_context_new ("probe|tcp|tls|punch: one bulk transfer over 127.0.0.1");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  if (argc != 2 || mib < 1 || mib > 65536 || streams < 1 || streams > 256 ||
      chunk < 1 || chunk > 16 * MiB || timeout_s < 1 || timeout_s > 600 ||
      (io != NULL && g_strcmp0 (io, "pollable") != 0 && g_strcmp0 (io, "async") != 0))
    {
      g_autofree gchar *help = g_option_context_get_help (context, TRUE, NULL);

      g_printerr ("%s", help);
      return 1;
    }
  name = argv[1];
  options.bytes = (guint64) mib * MiB;
  options.chunk = (gsize) chunk;
  options.timeout_s = (guint) timeout_s;

  if (g_strcmp0 (name, "probe") == 0)
    {
      /* Before any thread logs: Punch's debug messages reach probe_writer. */
      g_setenv ("G_MESSAGES_DEBUG", "Punch", TRUE);
      g_log_set_writer_func (probe_writer, NULL, NULL);
      return run_probe (&options);
    }

  if (g_strcmp0 (name, "tcp") == 0 || g_strcmp0 (name, "tls") == 0)
    {
      g_autofree gchar *priority = NULL;
      g_autofree gchar *extra = NULL;
      Pair pair;

      if (g_strcmp0 (name, "tls") == 0)
        priority = priority_for_cipher (cipher);
      pair_run (&pair, &options, priority, cork);
      if (priority != NULL && pair.suite != NULL)
        {
          g_autoptr(GString) json = g_string_new ("\"suite\": ");

          print_json_string (json, pair.suite);
          g_string_append (json, ", \"priority\": ");
          print_json_string (json, priority);
          g_string_append_printf (json, ", \"cork\": %s", cork ? "true" : "false");
          extra = g_string_free (g_steal_pointer (&json), FALSE);
        }
      status = measure_report (&pair.measure, name, &options, pair.cipher, extra);
      pair_clear (&pair);
      return status;
    }

  if (g_strcmp0 (name, "punch") == 0)
    {
      g_autofree gchar *label = g_strdup_printf ("punch-%d", streams);
      g_autofree gchar *extra = NULL;
      gboolean use_async = g_strcmp0 (io, "async") == 0;
      PunchBench bench;

      punch_run (&bench, &options, (guint) streams, use_async, rtt_probe);
      extra = g_strdup_printf ("\"streams\": %d, \"io\": \"%s\", \"rtt_probe\": %s, "
                               "\"receiver_rtt_us\": %" G_GINT64_FORMAT,
                               streams, use_async ? "async" : "pollable",
                               rtt_probe ? "true" : "false", bench.receiver_rtt_us);
      /* Only the pollable writer sees why a write would block. */
      if (!use_async)
        {
          gchar *with_blocks = g_strdup_printf ("%s, \"writes_blocked_on_window\": %" G_GUINT64_FORMAT
                                                ", \"writes_blocked_on_output\": %" G_GUINT64_FORMAT,
                                                extra, bench.blocked_on_window,
                                                bench.blocked_on_output);

          g_free (extra);
          extra = with_blocks;
        }
      status = measure_report (&bench.measure, label, &options, NULL, extra);
      punch_bench_clear (&bench);
      return status;
    }

  g_printerr ("Unknown case '%s': probe, tcp, tls or punch\n", name);
  return 1;
}
