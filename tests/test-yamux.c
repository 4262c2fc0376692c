/* test-yamux.c: the sans-I/O yamux session, two peers wired in memory.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "punch-error.h"
#include "punch-yamux-session.h"

#define KiB 1024
#define MiB (1024 * 1024)
#define WINDOW PUNCH_YAMUX_INITIAL_WINDOW

/* Helpers: hex strings, raw frames. */

static GBytes *
hex (const char *text)
{
  GByteArray *array = g_byte_array_new ();

  for (const char *p = text; *p != '\0';)
    {
      guint8 b;

      if (*p == ' ' || *p == '\n')
        {
          p++;
          continue;
        }
      g_assert_true (g_ascii_isxdigit (p[0]) && g_ascii_isxdigit (p[1]));
      b = g_ascii_xdigit_value (p[0]) << 4 | g_ascii_xdigit_value (p[1]);
      g_byte_array_append (array, &b, 1);
      p += 2;
    }
  return g_byte_array_free_to_bytes (array);
}

static void
assert_bytes_hex (GBytes     *bytes,
                  const char *expected)
{
  g_autoptr(GBytes) want = hex (expected);
  gsize len = 0, want_len = 0;
  const guint8 *data = bytes != NULL ? g_bytes_get_data (bytes, &len) : NULL;
  const guint8 *want_data = g_bytes_get_data (want, &want_len);

  g_assert_cmpmem (data, len, want_data, want_len);
}

/* Pulls the session's output and compares it with @expected. */
static void
assert_output (PunchYamuxSession *session,
               const char        *expected)
{
  g_autoptr(GBytes) out = punch_yamux_session_pull_output (session);

  assert_bytes_hex (out, expected);
}

static gboolean
feed_hex (PunchYamuxSession  *session,
          const char         *text,
          GError            **error)
{
  g_autoptr(GBytes) bytes = hex (text);
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  return punch_yamux_session_receive (session, data, len, 0, error);
}

/* Takes the next event, asserting its type (and stream unless 0). */
static void
expect_event (PunchYamuxSession   *session,
              PunchYamuxEventType  type,
              guint32              stream_id)
{
  PunchYamuxEvent event;

  g_assert_true (punch_yamux_session_next_event (session, &event));
  g_assert_cmpint (event.type, ==, type);
  if (stream_id != 0)
    g_assert_cmpuint (event.stream_id, ==, stream_id);
  punch_yamux_event_clear (&event);
}

static void
expect_no_event (PunchYamuxSession *session)
{
  PunchYamuxEvent event;

  g_assert_false (punch_yamux_session_next_event (session, &event));
  g_assert_cmpint (event.type, ==, PUNCH_YAMUX_EVENT_NONE);
}

static void
drain_events (PunchYamuxSession *session)
{
  PunchYamuxEvent event;

  while (punch_yamux_session_next_event (session, &event))
    punch_yamux_event_clear (&event);
}

/* Two sessions wired through an in-memory queue, with a hand-advanced clock.
 * @chunk > 0 delivers the bytes in slices of that size. */
typedef struct {
  PunchYamuxSession *client;
  PunchYamuxSession *server;
  gint64 now;
  gsize chunk;
} Pair;

static void
pair_init (Pair                   *p,
           const PunchYamuxConfig *client_config,
           const PunchYamuxConfig *server_config)
{
  p->client = punch_yamux_session_new (TRUE, client_config);
  p->server = punch_yamux_session_new (FALSE, server_config);
  p->now = 1000 * G_USEC_PER_SEC;
  p->chunk = 0;
}

static void
pair_clear (Pair *p)
{
  g_clear_pointer (&p->client, punch_yamux_session_free);
  g_clear_pointer (&p->server, punch_yamux_session_free);
}

static gboolean
transfer (Pair              *p,
          PunchYamuxSession *from,
          PunchYamuxSession *to)
{
  g_autoptr(GBytes) bytes = punch_yamux_session_pull_output (from);
  g_autoptr(GError) error = NULL;
  const guint8 *data;
  gsize len, step;

  if (bytes == NULL)
    return FALSE;
  data = g_bytes_get_data (bytes, &len);
  step = p->chunk > 0 ? p->chunk : len;
  for (gsize off = 0; off < len; off += step)
    {
      g_assert_true (punch_yamux_session_receive (to, data + off, MIN (step, len - off),
                                                  p->now, &error));
      g_assert_no_error (error);
    }
  return TRUE;
}

/* Delivers until both directions are idle. */
static void
pump (Pair *p)
{
  for (guint i = 0; i < 1000; i++)
    {
      gboolean moved = transfer (p, p->client, p->server);

      moved |= transfer (p, p->server, p->client);
      if (!moved)
        return;
    }
  g_assert_not_reached ();
}

/* A small application: sends a deterministic pattern on its streams,
 * verifies what it receives, optionally echoes it, closes when done. */

static guint8
pattern (guint32 id,
         guint64 offset)
{
  return (guint8) (offset * 131 + (offset >> 9) * 7 + id * 29);
}

typedef struct {
  guint32 id;
  guint64 to_send;
  guint64 sent;
  guint64 received;
  gboolean close_when_sent;
  gboolean fin_sent;
  gboolean eof;
  gboolean reset;
  gboolean corrupt;
} AppStream;

typedef struct {
  PunchYamuxSession *session;
  GHashTable *streams;          /* id -> AppStream */
  gboolean echo;                /* send back what arrives, close after EOF */
  gboolean reads;
} App;

static void
app_init (App               *app,
          PunchYamuxSession *session,
          gboolean           echo)
{
  app->session = session;
  app->streams = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  app->echo = echo;
  app->reads = TRUE;
}

static void
app_clear (App *app)
{
  g_clear_pointer (&app->streams, g_hash_table_unref);
}

static AppStream *
app_add (App     *app,
         guint32  id)
{
  AppStream *as = g_new0 (AppStream, 1);

  as->id = id;
  g_hash_table_insert (app->streams, GUINT_TO_POINTER (id), as);
  return as;
}

static void
app_flush (App       *app,
           AppStream *as)
{
  static guint8 buf[64 * KiB];

  while (as->sent < as->to_send && !as->reset)
    {
      g_autoptr(GError) error = NULL;
      gsize n = MIN (sizeof buf, as->to_send - as->sent);
      gssize written;

      for (gsize i = 0; i < n; i++)
        buf[i] = pattern (as->id, as->sent + i);
      written = punch_yamux_session_write (app->session, as->id, buf, n, &error);
      g_assert_no_error (error);
      g_assert_cmpint (written, >=, 0);
      as->sent += written;
      if ((gsize) written < n)
        break;
    }
  if (as->close_when_sent && as->sent == as->to_send && !as->fin_sent && !as->reset)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (punch_yamux_session_close_stream (app->session, as->id, &error));
      g_assert_no_error (error);
      as->fin_sent = TRUE;
    }
}

static void
app_read (App       *app,
          AppStream *as)
{
  static guint8 buf[37 * KiB];

  while (!as->eof && !as->reset)
    {
      g_autoptr(GError) error = NULL;
      gboolean eof = FALSE;
      gssize n = punch_yamux_session_read (app->session, as->id, buf, sizeof buf, &eof, &error);

      g_assert_no_error (error);
      g_assert_cmpint (n, >=, 0);
      for (gssize i = 0; i < n; i++)
        if (buf[i] != pattern (as->id, as->received + i))
          as->corrupt = TRUE;
      as->received += n;
      if (app->echo)
        as->to_send += n;
      if (eof)
        {
          as->eof = TRUE;
          if (app->echo)
            as->close_when_sent = TRUE;
        }
      if (n == 0)
        break;
    }
}

/* Handles every event, then tries to send what is pending. */
static void
app_process (App *app)
{
  PunchYamuxEvent event;
  GHashTableIter iter;
  gpointer value;

  while (punch_yamux_session_next_event (app->session, &event))
    {
      AppStream *as = g_hash_table_lookup (app->streams, GUINT_TO_POINTER (event.stream_id));

      switch (event.type)
        {
        case PUNCH_YAMUX_EVENT_STREAM_OPENED:
          g_assert_null (as);
          app_add (app, event.stream_id);
          break;
        case PUNCH_YAMUX_EVENT_STREAM_READABLE:
        case PUNCH_YAMUX_EVENT_STREAM_REMOTE_CLOSED:
          g_assert_nonnull (as);
          if (app->reads)
            app_read (app, as);
          break;
        case PUNCH_YAMUX_EVENT_STREAM_RESET:
          g_assert_nonnull (as);
          as->reset = TRUE;
          break;
        case PUNCH_YAMUX_EVENT_STREAM_WRITABLE:
          g_assert_nonnull (as);
          break;
        case PUNCH_YAMUX_EVENT_SESSION_ERROR:
          g_error ("unexpected session error: %s", event.error->message);
          break;
        default:
          break;
        }
      punch_yamux_event_clear (&event);
    }

  g_hash_table_iter_init (&iter, app->streams);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    app_flush (app, value);
}

/* Runs both applications until nothing moves. */
static void
run (Pair *p,
     App  *client,
     App  *server)
{
  for (guint i = 0; i < 100000; i++)
    {
      gboolean moved;

      app_process (client);
      app_process (server);
      moved = transfer (p, p->client, p->server);
      moved |= transfer (p, p->server, p->client);
      if (!moved)
        return;
    }
  g_assert_not_reached ();
}

static gsize
read_all (PunchYamuxSession *session,
          guint32            id,
          guint8            *buf,
          gsize              len,
          gboolean          *eof)
{
  g_autoptr(GError) error = NULL;
  gssize n = punch_yamux_session_read (session, id, buf, len, eof, &error);

  g_assert_no_error (error);
  g_assert_cmpint (n, >=, 0);
  return n;
}

static gsize
write_str (PunchYamuxSession *session,
           guint32            id,
           const char        *text)
{
  g_autoptr(GError) error = NULL;
  gssize n = punch_yamux_session_write (session, id, (const guint8 *) text,
                                        strlen (text), &error);

  g_assert_no_error (error);
  g_assert_cmpint (n, >=, 0);
  return n;
}

static guint32
open_stream (PunchYamuxSession *session)
{
  g_autoptr(GError) error = NULL;
  guint32 id = punch_yamux_session_open_stream (session, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (id, !=, 0);
  return id;
}

/* Frames derived by hand from the spec's header layout: version (8 bits,
 * 0), type (8 bits: 0 DATA, 1 WINDOW_UPDATE, 2 PING, 3 GO_AWAY), flags (16
 * bits: 1 SYN, 2 ACK, 4 FIN, 8 RST), stream id (32 bits), length (32 bits),
 * all big-endian, so:
 *   SYN window update, stream 1, delta 0:  00 01 0001 00000001 00000000
 *   DATA "hello" on stream 1:              00 00 0000 00000001 00000005 + body
 *   the server's first DATA "hi" (ACK):    00 00 0002 00000001 00000002 + body
 *   FIN (window update), stream 1:         00 01 0004 00000001 00000000
 *   RST (window update), stream 3:         00 01 0008 00000003 00000000
 *   PING request, opaque 1:                00 02 0001 00000000 00000001
 *   PING answer echoing it:                00 02 0002 00000000 00000001
 *   GO_AWAY normal termination:            00 03 0000 00000000 00000000
 *   GO_AWAY protocol error:                00 03 0000 00000000 00000001 */
static void
test_frame_hex (void)
{
  g_autoptr(PunchYamuxSession) client = punch_yamux_session_new (TRUE, NULL);
  g_autoptr(PunchYamuxSession) server = punch_yamux_session_new (FALSE, NULL);
  g_autoptr(GError) error = NULL;
  guint32 id;

  id = open_stream (client);
  g_assert_cmpuint (id, ==, 1);
  assert_output (client, "00 01 0001 00000001 00000000");

  g_assert_cmpuint (write_str (client, id, "hello"), ==, 5);
  assert_output (client, "00 00 0000 00000001 00000005 68656c6c6f");

  g_assert_true (feed_hex (server, "00 01 0001 00000001 00000000"
                                   "00 00 0000 00000001 00000005 68656c6c6f", &error));
  g_assert_no_error (error);
  expect_event (server, PUNCH_YAMUX_EVENT_STREAM_OPENED, 1);
  expect_event (server, PUNCH_YAMUX_EVENT_STREAM_READABLE, 1);
  g_assert_cmpint (punch_yamux_session_get_stream_state (server, 1), ==,
                   PUNCH_YAMUX_STREAM_STATE_SYN_RECEIVED);
  g_assert_cmpuint (write_str (server, 1, "hi"), ==, 2);
  assert_output (server, "00 00 0002 00000001 00000002 6869");
  g_assert_cmpint (punch_yamux_session_get_stream_state (server, 1), ==,
                   PUNCH_YAMUX_STREAM_STATE_ESTABLISHED);

  g_assert_true (punch_yamux_session_close_stream (client, id, &error));
  assert_output (client, "00 01 0004 00000001 00000000");

  id = open_stream (client);
  g_assert_cmpuint (id, ==, 3);
  g_assert_true (punch_yamux_session_reset_stream (client, id, &error));
  assert_output (client, "00 01 0001 00000003 00000000"
                         "00 01 0008 00000003 00000000");

  g_assert_true (punch_yamux_session_ping (client, 5, &error));
  assert_output (client, "00 02 0001 00000000 00000001");
  g_assert_true (feed_hex (server, "00 02 0001 00000000 00000001", &error));
  assert_output (server, "00 02 0002 00000000 00000001");

  g_assert_true (punch_yamux_session_go_away (client, PUNCH_YAMUX_GO_AWAY_NORMAL, &error));
  assert_output (client, "00 03 0000 00000000 00000000");
  g_assert_no_error (error);
}

/* A receive window above the initial one is announced with the SYN. */
static void
test_frame_larger_window (void)
{
  PunchYamuxConfig config;
  Pair p;
  guint8 big[64 * KiB] = { 0 };
  gsize total = 0;
  guint32 id;

  punch_yamux_config_init (&config);
  config.receive_window = MiB;
  config.max_output = 2 * MiB;
  pair_init (&p, &config, &config);

  id = open_stream (p.client);
  /* 1 MiB - 256 KiB = 786432 = 0x000c0000 */
  assert_output (p.client, "00 01 0001 00000001 000c0000");
  g_assert_true (feed_hex (p.server, "00 01 0001 00000001 000c0000", NULL));
  expect_event (p.server, PUNCH_YAMUX_EVENT_STREAM_OPENED, id);
  g_assert_cmpuint (punch_yamux_session_get_send_window (p.server, id), ==, MiB);

  /* The server's first frame is a window update carrying ACK and its own
   * extra window, then the DATA frames. */
  for (guint i = 0; i < 32; i++)
    {
      g_autoptr(GError) error = NULL;
      gssize n = punch_yamux_session_write (p.server, id, big, sizeof big, &error);

      g_assert_no_error (error);
      total += n;
      if (n == 0)
        break;
    }
  g_assert_cmpuint (total, ==, MiB);
  {
    g_autoptr(GBytes) out = punch_yamux_session_pull_output (p.server);
    g_autoptr(GBytes) head = g_bytes_new_from_bytes (out, 0, 12);

    assert_bytes_hex (head, "00 01 0002 00000001 000c0000");
    g_assert_true (punch_yamux_session_receive (p.client, g_bytes_get_data (out, NULL),
                                                g_bytes_get_size (out), p.now, NULL));
  }
  g_assert_cmpuint (punch_yamux_session_get_send_window (p.client, id), ==, MiB);
  g_assert_cmpuint (punch_yamux_session_get_readable (p.client, id), ==, MiB);
  pair_clear (&p);
}

static void
test_stream_echo (void)
{
  Pair p;
  g_autoptr(GError) error = NULL;
  guint8 buf[64];
  gboolean eof;
  guint32 id;

  pair_init (&p, NULL, NULL);
  id = open_stream (p.client);
  g_assert_cmpint (punch_yamux_session_get_stream_state (p.client, id), ==,
                   PUNCH_YAMUX_STREAM_STATE_SYN_SENT);
  /* Data may follow the SYN before the ACK. */
  g_assert_cmpuint (write_str (p.client, id, "hello yamux"), ==, 11);
  pump (&p);

  expect_event (p.server, PUNCH_YAMUX_EVENT_STREAM_OPENED, id);
  expect_event (p.server, PUNCH_YAMUX_EVENT_STREAM_READABLE, id);
  expect_no_event (p.server);
  g_assert_cmpuint (read_all (p.server, id, buf, sizeof buf, &eof), ==, 11);
  g_assert_false (eof);
  g_assert_cmpmem (buf, 11, "hello yamux", 11);
  g_assert_cmpuint (read_all (p.server, id, buf, sizeof buf, &eof), ==, 0);
  g_assert_cmpuint (write_str (p.server, id, "hello yamux"), ==, 11);
  pump (&p);

  g_assert_cmpint (punch_yamux_session_get_stream_state (p.client, id), ==,
                   PUNCH_YAMUX_STREAM_STATE_ESTABLISHED);
  expect_event (p.client, PUNCH_YAMUX_EVENT_STREAM_READABLE, id);
  expect_no_event (p.client);
  g_assert_cmpuint (read_all (p.client, id, buf, sizeof buf, &eof), ==, 11);
  g_assert_cmpmem (buf, 11, "hello yamux", 11);

  /* The server side may also open streams, with even ids. */
  g_assert_cmpuint (open_stream (p.server), ==, 2);
  g_assert_cmpuint (open_stream (p.server), ==, 4);
  pump (&p);
  expect_event (p.client, PUNCH_YAMUX_EVENT_STREAM_OPENED, 2);
  expect_event (p.client, PUNCH_YAMUX_EVENT_STREAM_OPENED, 4);
  /* Accepting acknowledges without data. */
  g_assert_true (punch_yamux_session_accept_stream (p.client, 2, &error));
  g_assert_no_error (error);
  pump (&p);
  g_assert_cmpint (punch_yamux_session_get_stream_state (p.server, 2), ==,
                   PUNCH_YAMUX_STREAM_STATE_ESTABLISHED);
  g_assert_cmpint (punch_yamux_session_get_stream_state (p.server, 4), ==,
                   PUNCH_YAMUX_STREAM_STATE_SYN_SENT);
  g_assert_cmpuint (punch_yamux_session_get_n_streams (p.client), ==, 3);
  pair_clear (&p);
}

/* 64 streams carrying 1 MiB each way (echoed), byte-exact. */
static void
test_stream_many (void)
{
  Pair p;
  App client, server;
  GHashTableIter iter;
  gpointer value;

  pair_init (&p, NULL, NULL);
  app_init (&client, p.client, FALSE);
  app_init (&server, p.server, TRUE);
  for (guint i = 0; i < 64; i++)
    {
      AppStream *as = app_add (&client, open_stream (p.client));

      as->to_send = MiB;
      as->close_when_sent = TRUE;
    }
  run (&p, &client, &server);

  g_assert_cmpuint (g_hash_table_size (server.streams), ==, 64);
  g_hash_table_iter_init (&iter, server.streams);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      AppStream *as = value;

      g_assert_cmpuint (as->received, ==, MiB);
      g_assert_true (as->eof);
      g_assert_false (as->corrupt);
      g_assert_true (as->fin_sent);
    }
  g_hash_table_iter_init (&iter, client.streams);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      AppStream *as = value;

      g_assert_cmpuint (as->sent, ==, MiB);
      g_assert_cmpuint (as->received, ==, MiB);
      g_assert_true (as->eof);
      g_assert_false (as->corrupt);
    }
  /* Every stream is closed both ways, read and polled: all released. */
  g_assert_cmpuint (punch_yamux_session_get_n_streams (p.client), ==, 0);
  g_assert_cmpuint (punch_yamux_session_get_n_streams (p.server), ==, 0);
  g_assert_cmpuint (punch_yamux_session_get_buffered_size (p.client), ==, 0);
  g_assert_cmpuint (punch_yamux_session_get_buffered_size (p.server), ==, 0);

  app_clear (&client);
  app_clear (&server);
  pair_clear (&p);
}

static void
test_stream_half_close (void)
{
  Pair p;
  g_autoptr(GError) error = NULL;
  guint8 buf[64];
  gboolean eof;
  guint32 id;

  pair_init (&p, NULL, NULL);

  /* The client closes first and still receives. */
  id = open_stream (p.client);
  write_str (p.client, id, "question");
  g_assert_true (punch_yamux_session_close_stream (p.client, id, &error));
  g_assert_true (punch_yamux_session_close_stream (p.client, id, &error));
  g_assert_cmpint (punch_yamux_session_get_stream_state (p.client, id), ==,
                   PUNCH_YAMUX_STREAM_STATE_LOCAL_CLOSED);
  g_assert_cmpint (punch_yamux_session_write (p.client, id, (const guint8 *) "x", 1, &error), ==, -1);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);
  pump (&p);

  expect_event (p.server, PUNCH_YAMUX_EVENT_STREAM_OPENED, id);
  expect_event (p.server, PUNCH_YAMUX_EVENT_STREAM_READABLE, id);
  expect_event (p.server, PUNCH_YAMUX_EVENT_STREAM_REMOTE_CLOSED, id);
  g_assert_cmpint (punch_yamux_session_get_stream_state (p.server, id), ==,
                   PUNCH_YAMUX_STREAM_STATE_REMOTE_CLOSED);
  g_assert_cmpuint (read_all (p.server, id, buf, 3, &eof), ==, 3);
  g_assert_false (eof);
  g_assert_cmpuint (read_all (p.server, id, buf + 3, sizeof buf - 3, &eof), ==, 5);
  g_assert_true (eof);
  g_assert_cmpmem (buf, 8, "question", 8);
  g_assert_cmpuint (write_str (p.server, id, "answer"), ==, 6);
  pump (&p);
  expect_event (p.client, PUNCH_YAMUX_EVENT_STREAM_READABLE, id);
  g_assert_cmpuint (read_all (p.client, id, buf, sizeof buf, &eof), ==, 6);
  g_assert_false (eof);
  g_assert_cmpmem (buf, 6, "answer", 6);

  g_assert_true (punch_yamux_session_close_stream (p.server, id, &error));
  /* Closed both ways, read to the end, no events left: released. */
  g_assert_cmpint (punch_yamux_session_get_stream_state (p.server, id), ==,
                   PUNCH_YAMUX_STREAM_STATE_NONE);
  pump (&p);
  g_assert_cmpint (punch_yamux_session_get_stream_state (p.client, id), ==,
                   PUNCH_YAMUX_STREAM_STATE_CLOSED);
  expect_event (p.client, PUNCH_YAMUX_EVENT_STREAM_REMOTE_CLOSED, id);
  g_assert_cmpuint (read_all (p.client, id, buf, sizeof buf, &eof), ==, 0);
  g_assert_true (eof);
  g_assert_cmpint (punch_yamux_session_get_stream_state (p.client, id), ==,
                   PUNCH_YAMUX_STREAM_STATE_NONE);
  g_assert_cmpint (punch_yamux_session_read (p.client, id, buf, sizeof buf, NULL, &error), ==, -1);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);

  /* The server closes first while the client keeps sending. */
  id = open_stream (p.client);
  pump (&p);
  expect_event (p.server, PUNCH_YAMUX_EVENT_STREAM_OPENED, id);
  g_assert_true (punch_yamux_session_close_stream (p.server, id, &error));
  pump (&p);
  expect_event (p.client, PUNCH_YAMUX_EVENT_STREAM_REMOTE_CLOSED, id);
  g_assert_cmpint (punch_yamux_session_get_stream_state (p.client, id), ==,
                   PUNCH_YAMUX_STREAM_STATE_REMOTE_CLOSED);
  g_assert_cmpuint (read_all (p.client, id, buf, sizeof buf, &eof), ==, 0);
  g_assert_true (eof);
  g_assert_cmpuint (write_str (p.client, id, "more"), ==, 4);
  g_assert_true (punch_yamux_session_close_stream (p.client, id, &error));
  g_assert_cmpint (punch_yamux_session_get_stream_state (p.client, id), ==,
                   PUNCH_YAMUX_STREAM_STATE_NONE);
  pump (&p);
  expect_event (p.server, PUNCH_YAMUX_EVENT_STREAM_READABLE, id);
  expect_event (p.server, PUNCH_YAMUX_EVENT_STREAM_REMOTE_CLOSED, id);
  g_assert_cmpint (punch_yamux_session_get_stream_state (p.server, id), ==,
                   PUNCH_YAMUX_STREAM_STATE_CLOSED);
  g_assert_cmpuint (read_all (p.server, id, buf, sizeof buf, &eof), ==, 4);
  g_assert_true (eof);
  g_assert_cmpmem (buf, 4, "more", 4);
  g_assert_cmpuint (punch_yamux_session_get_n_streams (p.server), ==, 0);
  g_assert_cmpuint (punch_yamux_session_get_n_streams (p.client), ==, 0);
  g_assert_no_error (error);
  pair_clear (&p);
}

static void
test_stream_reset (void)
{
  Pair p;
  g_autoptr(GError) error = NULL;
  guint8 buf[64];
  guint32 id;

  pair_init (&p, NULL, NULL);
  id = open_stream (p.client);
  write_str (p.client, id, "abc");
  pump (&p);
  drain_events (p.server);
  /* Data the client has not read is discarded by the reset. */
  write_str (p.server, id, "unread");
  g_assert_true (punch_yamux_session_reset_stream (p.server, id, &error));
  g_assert_no_error (error);
  /* No events were pending: the stream is released at once. */
  g_assert_cmpuint (punch_yamux_session_get_n_streams (p.server), ==, 0);
  g_assert_false (punch_yamux_session_reset_stream (p.server, id, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_cmpuint (punch_yamux_session_get_buffered_size (p.server), ==, 0);
  pump (&p);

  g_assert_cmpint (punch_yamux_session_get_stream_state (p.client, id), ==,
                   PUNCH_YAMUX_STREAM_STATE_RESET);
  g_assert_cmpuint (punch_yamux_session_get_buffered_size (p.client), ==, 0);
  expect_event (p.client, PUNCH_YAMUX_EVENT_STREAM_READABLE, id);
  expect_event (p.client, PUNCH_YAMUX_EVENT_STREAM_RESET, id);
  expect_no_event (p.client);
  g_assert_cmpint (punch_yamux_session_get_stream_state (p.client, id), ==,
                   PUNCH_YAMUX_STREAM_STATE_NONE);
  g_assert_cmpint (punch_yamux_session_read (p.client, id, buf, sizeof buf, NULL, &error), ==, -1);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_cmpint (punch_yamux_session_write (p.client, id, buf, 1, &error), ==, -1);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);

  /* The reset stream's state while its event waits. */
  id = open_stream (p.client);
  pump (&p);
  drain_events (p.server);
  g_assert_true (punch_yamux_session_reset_stream (p.client, id, &error));
  pump (&p);
  g_assert_cmpint (punch_yamux_session_get_stream_state (p.server, id), ==,
                   PUNCH_YAMUX_STREAM_STATE_RESET);
  g_assert_cmpint (punch_yamux_session_write (p.server, id, buf, 1, &error), ==, -1);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);
  expect_event (p.server, PUNCH_YAMUX_EVENT_STREAM_RESET, id);
  g_assert_cmpuint (punch_yamux_session_get_n_streams (p.server), ==, 0);
  g_assert_cmpuint (punch_yamux_session_get_n_streams (p.client), ==, 0);
  pair_clear (&p);
}

/* Frames still in flight for a stream we reset and released are dropped. */
static void
test_stream_late_frames (void)
{
  g_autoptr(PunchYamuxSession) server = punch_yamux_session_new (FALSE, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (feed_hex (server, "00 01 0001 00000001 00000000"
                                   "00 00 0000 00000001 00000002 6869", &error));
  drain_events (server);
  g_assert_true (punch_yamux_session_reset_stream (server, 1, &error));
  g_assert_cmpuint (punch_yamux_session_get_n_streams (server), ==, 0);
  assert_output (server, "00 01 0008 00000001 00000000");

  g_assert_true (feed_hex (server, "00 00 0000 00000001 00000003 616263"
                                   "00 01 0000 00000001 00001000"
                                   "00 00 0004 00000001 00000000", &error));
  g_assert_no_error (error);
  expect_no_event (server);
  g_assert_null (punch_yamux_session_pull_output (server));
  g_assert_false (punch_yamux_session_is_dead (server));
}

/* The reader never reads: the writer stops at exactly one window, and
 * resumes once the reader has consumed half of it. */
static void
test_flow_back_pressure (void)
{
  Pair p;
  guint8 chunk[40000];
  guint8 *sink = g_malloc (WINDOW);
  gsize total = 0;
  guint32 id;

  memset (chunk, 0x5a, sizeof chunk);
  pair_init (&p, NULL, NULL);
  id = open_stream (p.client);
  for (guint i = 0; i < 100; i++)
    {
      g_autoptr(GError) error = NULL;
      gssize n = punch_yamux_session_write (p.client, id, chunk, sizeof chunk, &error);

      g_assert_no_error (error);
      total += n;
      pump (&p);
    }
  g_assert_cmpuint (total, ==, WINDOW);
  g_assert_cmpuint (punch_yamux_session_get_send_window (p.client, id), ==, 0);
  g_assert_cmpuint (punch_yamux_session_get_readable (p.server, id), ==, WINDOW);
  g_assert_cmpuint (punch_yamux_session_get_buffered_size (p.server), <=, WINDOW);
  drain_events (p.client);

  /* Below half the window nothing is credited. */
  g_assert_cmpuint (read_all (p.server, id, sink, WINDOW / 2 - 1, NULL), ==, WINDOW / 2 - 1);
  g_assert_cmpuint (punch_yamux_session_get_output_size (p.server), ==, 0);
  pump (&p);
  g_assert_cmpint (punch_yamux_session_write (p.client, id, chunk, 1, NULL), ==, 0);
  expect_no_event (p.client);

  /* The byte that crosses half the window sends one update of 128 KiB. */
  g_assert_cmpuint (read_all (p.server, id, sink, 1, NULL), ==, 1);
  assert_output (p.server, "00 01 0002 00000001 00020000");
  g_assert_true (feed_hex (p.client, "00 01 0002 00000001 00020000", NULL));
  expect_event (p.client, PUNCH_YAMUX_EVENT_STREAM_WRITABLE, id);
  expect_no_event (p.client);
  g_assert_cmpuint (punch_yamux_session_get_send_window (p.client, id), ==, WINDOW / 2);

  /* It may send exactly that much more. */
  total = 0;
  for (guint i = 0; i < 100; i++)
    {
      gssize n = punch_yamux_session_write (p.client, id, chunk, sizeof chunk, NULL);

      total += n;
      pump (&p);
    }
  g_assert_cmpuint (total, ==, WINDOW / 2);
  g_assert_cmpuint (punch_yamux_session_get_readable (p.server, id), ==, WINDOW);

  g_free (sink);
  pair_clear (&p);
}

/* Window updates follow consumption; the total sent matches what was read. */
static void
test_flow_window_update (void)
{
  Pair p;
  guint8 buf[10000];
  gsize sent = 0, got = 0, updates = 0;
  guint32 id;

  memset (buf, 1, sizeof buf);
  pair_init (&p, NULL, NULL);
  id = open_stream (p.client);
  pump (&p);
  drain_events (p.server);

  for (guint round = 0; round < 400 && got < 4 * MiB; round++)
    {
      g_autoptr(GBytes) out = NULL;

      sent += punch_yamux_session_write (p.client, id, buf, sizeof buf, NULL);
      transfer (&p, p.client, p.server);
      /* A reader slower than the writer: 7000 bytes per round. */
      got += read_all (p.server, id, buf, 7000, NULL);
      out = punch_yamux_session_pull_output (p.server);
      if (out != NULL)
        {
          /* Only whole window updates of at least half a window. */
          const guint8 *d = g_bytes_get_data (out, NULL);
          guint32 delta = (guint32) d[8] << 24 | d[9] << 16 | d[10] << 8 | d[11];

          g_assert_cmpuint (g_bytes_get_size (out), ==, 12);
          g_assert_cmpuint (d[1], ==, PUNCH_YAMUX_TYPE_WINDOW_UPDATE);
          g_assert_cmpuint (delta, >=, WINDOW / 2);
          updates++;
          g_assert_true (punch_yamux_session_receive (p.client, d, 12, p.now, NULL));
        }
      /* The sender never runs more than a window ahead of the reader. */
      g_assert_cmpuint (sent - got, <=, WINDOW);
      g_assert_cmpuint (punch_yamux_session_get_readable (p.server, id), ==, sent - got);
    }
  g_assert_cmpuint (updates, >, 5);
  g_assert_cmpuint (got, ==, 400 * 7000);
  pair_clear (&p);
}

/* With a known RTT and a reader that keeps up, windows double up to the
 * maximum. */
static void
test_flow_auto_tune (void)
{
  PunchYamuxConfig config;
  Pair p;
  App client, server;
  AppStream *as;
  guint32 id;

  punch_yamux_config_init (&config);
  config.max_receive_window = 2 * MiB;
  pair_init (&p, &config, &config);
  g_assert_true (punch_yamux_session_ping (p.server, p.now, NULL));
  p.now += 10000;
  pump (&p);
  expect_event (p.server, PUNCH_YAMUX_EVENT_PING_RTT, 0);
  g_assert_cmpint (punch_yamux_session_get_rtt (p.server), ==, 10000);

  app_init (&client, p.client, FALSE);
  app_init (&server, p.server, FALSE);
  id = open_stream (p.client);
  as = app_add (&client, id);
  as->to_send = 8 * MiB;
  run (&p, &client, &server);
  as = g_hash_table_lookup (server.streams, GUINT_TO_POINTER (id));
  g_assert_cmpuint (as->received, ==, 8 * MiB);
  g_assert_false (as->corrupt);
  /* The window grew to the maximum and not beyond: the credit left is the
   * window less what the server read but did not announce yet (under half
   * the window). */
  g_assert_cmpuint (punch_yamux_session_get_send_window (p.client, id), >, MiB);
  g_assert_cmpuint (punch_yamux_session_get_send_window (p.client, id), <=, 2 * MiB);
  g_assert_cmpuint (punch_yamux_session_get_buffered_size (p.server), <=, 2 * MiB);

  app_clear (&client);
  app_clear (&server);
  pair_clear (&p);
}

/* A stream whose window is capped (a relay's) stops growing at the cap
 * while its neighbour, same session and same reader, grows to the
 * session's maximum; the cap cannot go above that maximum. */
static void
test_flow_max_window (void)
{
  PunchYamuxConfig config;
  Pair p;
  App client, server;
  AppStream *as;
  guint32 capped, free_id, over;

  punch_yamux_config_init (&config);
  config.max_receive_window = 4 * MiB;
  pair_init (&p, &config, &config);
  g_assert_true (punch_yamux_session_ping (p.server, p.now, NULL));
  p.now += 10000;
  pump (&p);
  expect_event (p.server, PUNCH_YAMUX_EVENT_PING_RTT, 0);

  app_init (&client, p.client, FALSE);
  app_init (&server, p.server, FALSE);
  capped = open_stream (p.client);
  free_id = open_stream (p.client);
  over = open_stream (p.client);
  pump (&p);
  punch_yamux_session_set_max_receive_window (p.server, capped, 512 * KiB);
  punch_yamux_session_set_max_receive_window (p.server, over, 64 * MiB);
  punch_yamux_session_set_max_receive_window (p.server, 1001, 512 * KiB); /* unknown: ignored */
  app_add (&client, capped)->to_send = 8 * MiB;
  app_add (&client, free_id)->to_send = 8 * MiB;
  app_add (&client, over)->to_send = 8 * MiB;
  run (&p, &client, &server);
  for (guint32 id = capped; id <= over; id += 2)
    {
      as = g_hash_table_lookup (server.streams, GUINT_TO_POINTER (id));
      g_assert_cmpuint (as->received, ==, 8 * MiB);
      g_assert_false (as->corrupt);
    }
  /* The client's credit is at most the window the server granted. */
  g_assert_cmpuint (punch_yamux_session_get_send_window (p.client, capped), >, WINDOW / 2);
  g_assert_cmpuint (punch_yamux_session_get_send_window (p.client, capped), <=, 512 * KiB);
  g_assert_cmpuint (punch_yamux_session_get_send_window (p.client, free_id), >, 2 * MiB);
  g_assert_cmpuint (punch_yamux_session_get_send_window (p.client, over), >, 2 * MiB);
  g_assert_cmpuint (punch_yamux_session_get_send_window (p.client, over), <=, 4 * MiB);

  app_clear (&client);
  app_clear (&server);
  pair_clear (&p);
}

/* Writes stop while max_output bytes wait; pulling makes them writable. */
static void
test_flow_output_limit (void)
{
  PunchYamuxConfig config;
  g_autoptr(PunchYamuxSession) client = NULL;
  g_autofree guint8 *buf = g_malloc0 (200000);
  g_autoptr(GBytes) out = NULL;
  guint32 id;

  punch_yamux_config_init (&config);
  config.max_output = 100000;
  client = punch_yamux_session_new (TRUE, &config);
  id = open_stream (client);
  /* 12 bytes of SYN are queued already. */
  g_assert_cmpint (punch_yamux_session_write (client, id, buf, 200000, NULL), ==, 100000 - 12);
  g_assert_cmpint (punch_yamux_session_write (client, id, buf, 200000, NULL), ==, 0);
  expect_no_event (client);
  out = punch_yamux_session_pull_output (client);
  /* 99988 bytes in DATA frames of at most 16 KiB: 7 frames. */
  g_assert_cmpuint (g_bytes_get_size (out), ==, 12 + 99988 + 7 * 12);
  expect_event (client, PUNCH_YAMUX_EVENT_STREAM_WRITABLE, id);
  /* Limited by the output room again, not yet by the window. */
  g_assert_cmpint (punch_yamux_session_write (client, id, buf, 200000, NULL), ==, 100000);
  g_bytes_unref (punch_yamux_session_pull_output (client));
  expect_event (client, PUNCH_YAMUX_EVENT_STREAM_WRITABLE, id);
  /* Now by the window. */
  g_assert_cmpint (punch_yamux_session_write (client, id, buf, 200000, NULL), ==,
                   WINDOW - 199988);
  g_bytes_unref (punch_yamux_session_pull_output (client));
  expect_no_event (client);

  /* Window comes back while the output is full: WRITABLE waits for the
   * pull instead of getting lost. */
  g_assert_cmpuint (open_stream (client), ==, 3);
  g_assert_cmpint (punch_yamux_session_write (client, 3, buf, 200000, NULL), ==, 100000 - 12);
  g_assert_true (feed_hex (client, "00 01 0002 00000001 00010000", NULL));
  expect_no_event (client);
  g_bytes_unref (punch_yamux_session_pull_output (client));
  expect_event (client, PUNCH_YAMUX_EVENT_STREAM_WRITABLE, 0);
  expect_event (client, PUNCH_YAMUX_EVENT_STREAM_WRITABLE, 0);
  expect_no_event (client);
}

/* peek_output shows the frames without taking them; consume_output drops
 * them and, like a pull, makes writes possible again. */
static void
test_flow_peek_consume (void)
{
  PunchYamuxConfig config;
  g_autoptr(PunchYamuxSession) client = NULL;
  g_autoptr(PunchYamuxSession) server = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *buf = g_malloc0 (200000);
  const guint8 *data, *again;
  gsize len = 99, len2 = 0;
  gboolean eof = TRUE;
  guint32 id;

  punch_yamux_config_init (&config);
  config.max_output = 100000;
  client = punch_yamux_session_new (TRUE, &config);
  server = punch_yamux_session_new (FALSE, &config);
  g_assert_null (punch_yamux_session_peek_output (client, &len));
  g_assert_cmpuint (len, ==, 0);
  punch_yamux_session_consume_output (client);
  expect_no_event (client);

  id = open_stream (client);
  g_assert_cmpint (punch_yamux_session_write (client, id, buf, 200000, NULL), ==, 100000 - 12);
  g_assert_cmpint (punch_yamux_session_write (client, id, buf, 200000, NULL), ==, 0);
  data = punch_yamux_session_peek_output (client, &len);
  g_assert_nonnull (data);
  g_assert_cmpuint (len, ==, 12 + 99988 + 7 * 12);
  g_assert_cmpuint (punch_yamux_session_get_output_size (client), ==, len);
  /* Peeking takes nothing: same bytes, still no room. */
  again = punch_yamux_session_peek_output (client, &len2);
  g_assert_true (again == data);
  g_assert_cmpuint (len2, ==, len);
  expect_no_event (client);

  g_assert_true (punch_yamux_session_receive (server, data, len, 0, &error));
  g_assert_no_error (error);
  expect_event (server, PUNCH_YAMUX_EVENT_STREAM_OPENED, id);
  g_assert_cmpint (punch_yamux_session_read (server, id, buf, 200000, &eof, &error), ==, 99988);
  g_assert_no_error (error);

  punch_yamux_session_consume_output (client);
  expect_event (client, PUNCH_YAMUX_EVENT_STREAM_WRITABLE, id);
  g_assert_null (punch_yamux_session_peek_output (client, &len));
  g_assert_cmpuint (len, ==, 0);
  g_assert_cmpuint (punch_yamux_session_get_output_size (client), ==, 0);

  /* The kept buffer takes the next frames. */
  g_assert_cmpint (punch_yamux_session_write (client, id, buf, 200000, NULL), ==, 100000);
  data = punch_yamux_session_peek_output (client, &len);
  g_assert_cmpuint (len, ==, 100000 + 7 * 12);
  g_assert_true (punch_yamux_session_receive (server, data, len, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (punch_yamux_session_read (server, id, buf, 200000, &eof, &error), ==, 100000);
  g_assert_no_error (error);
  g_assert_false (eof);
  punch_yamux_session_consume_output (client);
  expect_event (client, PUNCH_YAMUX_EVENT_STREAM_WRITABLE, id);
}

static void
test_ping_rtt (void)
{
  Pair p;
  g_autoptr(GError) error = NULL;
  PunchYamuxEvent event;
  gint64 start;

  pair_init (&p, NULL, NULL);
  start = p.now;
  g_assert_true (punch_yamux_session_ping (p.client, p.now, &error));
  /* Only one ping is outstanding. */
  g_assert_true (punch_yamux_session_ping (p.client, p.now, &error));
  p.now += 20000;
  g_assert_true (transfer (&p, p.client, p.server));
  p.now += 30000;
  g_assert_true (transfer (&p, p.server, p.client));
  g_assert_false (transfer (&p, p.client, p.server));

  g_assert_true (punch_yamux_session_next_event (p.client, &event));
  g_assert_cmpint (event.type, ==, PUNCH_YAMUX_EVENT_PING_RTT);
  g_assert_cmpint (event.rtt_us, ==, 50000);
  punch_yamux_event_clear (&event);
  expect_no_event (p.client);
  expect_no_event (p.server);
  g_assert_cmpint (punch_yamux_session_get_rtt (p.client), ==, 50000);
  /* The next keepalive is due an interval after the answer. */
  g_assert_cmpint (punch_yamux_session_get_deadline (p.client), ==,
                   start + 50000 + 30 * G_USEC_PER_SEC);

  /* A second ping gets the next opaque value; a stale answer is ignored. */
  g_assert_true (punch_yamux_session_ping (p.client, p.now, &error));
  assert_output (p.client, "00 02 0001 00000000 00000002");
  g_assert_true (feed_hex (p.client, "00 02 0002 00000000 00000001", &error));
  expect_no_event (p.client);
  g_assert_no_error (error);
  pair_clear (&p);
}

static void
test_ping_keepalive (void)
{
  PunchYamuxConfig config;
  Pair p;
  g_autoptr(GError) error = NULL;
  PunchYamuxEvent event;
  gint64 t0;

  punch_yamux_config_init (&config);
  config.keepalive_interval_us = G_USEC_PER_SEC;
  config.ping_timeout_us = G_USEC_PER_SEC / 2;
  pair_init (&p, &config, &config);
  t0 = p.now;

  /* Before any time is known: call at once. */
  g_assert_cmpint (punch_yamux_session_get_deadline (p.client), ==, 0);
  g_assert_true (punch_yamux_session_handle_timeout (p.client, t0, &error));
  g_assert_null (punch_yamux_session_pull_output (p.client));
  g_assert_cmpint (punch_yamux_session_get_deadline (p.client), ==, t0 + G_USEC_PER_SEC);

  /* An answered keepalive keeps the session alive. */
  p.now = t0 + G_USEC_PER_SEC;
  g_assert_true (punch_yamux_session_handle_timeout (p.client, p.now, &error));
  g_assert_cmpuint (punch_yamux_session_get_output_size (p.client), ==, 12);
  g_assert_cmpint (punch_yamux_session_get_deadline (p.client), ==, p.now + G_USEC_PER_SEC / 2);
  p.now += 1000;
  pump (&p);
  expect_event (p.client, PUNCH_YAMUX_EVENT_PING_RTT, 0);
  g_assert_cmpint (punch_yamux_session_get_deadline (p.client), ==, p.now + G_USEC_PER_SEC);

  /* Next keepalive: the peer is silent now. */
  p.now += G_USEC_PER_SEC;
  g_assert_true (punch_yamux_session_handle_timeout (p.client, p.now, &error));
  g_assert_cmpuint (punch_yamux_session_get_output_size (p.client), ==, 12);
  g_bytes_unref (punch_yamux_session_pull_output (p.client));
  /* Bytes received meanwhile (here a ping from the server) push the
   * timeout back. */
  p.now += 300000;
  g_assert_true (punch_yamux_session_receive (p.client,
                                              (const guint8 []) { 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7 },
                                              12, p.now, &error));
  g_bytes_unref (punch_yamux_session_pull_output (p.client));
  g_assert_cmpint (punch_yamux_session_get_deadline (p.client), ==, p.now + G_USEC_PER_SEC / 2);
  p.now += G_USEC_PER_SEC / 2 - 1;
  g_assert_true (punch_yamux_session_handle_timeout (p.client, p.now, &error));
  g_assert_false (punch_yamux_session_is_dead (p.client));
  p.now += 1;
  g_assert_false (punch_yamux_session_handle_timeout (p.client, p.now, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_true (punch_yamux_session_is_dead (p.client));
  g_assert_true (punch_yamux_session_is_finished (p.client));
  g_assert_cmpint (punch_yamux_session_get_deadline (p.client), ==, G_MAXINT64);
  g_assert_true (punch_yamux_session_next_event (p.client, &event));
  g_assert_cmpint (event.type, ==, PUNCH_YAMUX_EVENT_SESSION_ERROR);
  g_assert_error (event.error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  punch_yamux_event_clear (&event);
  g_assert_null (punch_yamux_session_pull_output (p.client));
  g_assert_false (punch_yamux_session_ping (p.client, p.now, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  pair_clear (&p);
}

/* A peer that provokes ping answers without reading them is cut off. */
static void
test_ping_flood (void)
{
  PunchYamuxConfig config;
  g_autoptr(PunchYamuxSession) server = NULL;
  g_autoptr(GError) error = NULL;
  const guint8 ping[12] = { 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9 };
  guint i;

  punch_yamux_config_init (&config);
  config.max_output = 1024;
  server = punch_yamux_session_new (FALSE, &config);
  for (i = 0; i < 1000; i++)
    if (!punch_yamux_session_receive (server, ping, sizeof ping, 0, &error))
      break;
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
  /* 171 answers fill 2052 >= 2048 bytes; the 172nd ping fails. */
  g_assert_cmpuint (i, ==, 171);
  g_assert_cmpuint (punch_yamux_session_get_output_size (server), ==, 172 * 12);
  g_assert_true (punch_yamux_session_is_dead (server));
}

static void
test_go_away (void)
{
  Pair p;
  g_autoptr(GError) error = NULL;
  PunchYamuxEvent event;
  guint8 buf[16];
  gboolean eof;
  guint32 id;

  pair_init (&p, NULL, NULL);
  id = open_stream (p.client);
  write_str (p.client, id, "abc");
  pump (&p);
  drain_events (p.server);

  g_assert_true (punch_yamux_session_go_away (p.client, PUNCH_YAMUX_GO_AWAY_NORMAL, &error));
  /* Not twice. */
  g_assert_true (punch_yamux_session_go_away (p.client, PUNCH_YAMUX_GO_AWAY_NORMAL, &error));
  g_assert_cmpuint (punch_yamux_session_get_output_size (p.client), ==, 12);
  pump (&p);
  g_assert_true (punch_yamux_session_next_event (p.server, &event));
  g_assert_cmpint (event.type, ==, PUNCH_YAMUX_EVENT_GO_AWAY);
  g_assert_cmpuint (event.code, ==, PUNCH_YAMUX_GO_AWAY_NORMAL);
  punch_yamux_event_clear (&event);

  /* No new streams either way. */
  g_assert_cmpuint (punch_yamux_session_open_stream (p.server, &error), ==, 0);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_cmpuint (punch_yamux_session_open_stream (p.client, &error), ==, 0);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);
  /* An inbound SYN is refused. */
  g_assert_true (feed_hex (p.client, "00 01 0001 00000002 00000000", &error));
  assert_output (p.client, "00 01 0008 00000002 00000000");
  expect_no_event (p.client);

  /* The open stream finishes. */
  g_assert_false (punch_yamux_session_is_finished (p.client));
  g_assert_cmpuint (read_all (p.server, id, buf, sizeof buf, NULL), ==, 3);
  write_str (p.server, id, "xyz");
  g_assert_true (punch_yamux_session_close_stream (p.server, id, &error));
  pump (&p);
  expect_event (p.client, PUNCH_YAMUX_EVENT_STREAM_READABLE, id);
  expect_event (p.client, PUNCH_YAMUX_EVENT_STREAM_REMOTE_CLOSED, id);
  g_assert_cmpuint (read_all (p.client, id, buf, sizeof buf, &eof), ==, 3);
  g_assert_true (eof);
  g_assert_cmpmem (buf, 3, "xyz", 3);
  g_assert_true (punch_yamux_session_close_stream (p.client, id, &error));
  g_assert_true (punch_yamux_session_is_finished (p.client));
  pump (&p);
  drain_events (p.server);
  g_assert_false (punch_yamux_session_is_finished (p.server));
  g_assert_cmpuint (read_all (p.server, id, buf, sizeof buf, &eof), ==, 0);
  g_assert_true (eof);
  g_assert_true (punch_yamux_session_is_finished (p.server));
  g_assert_false (punch_yamux_session_is_dead (p.server));
  g_assert_no_error (error);
  pair_clear (&p);
}

static void
test_go_away_error (void)
{
  Pair p;
  g_autoptr(GError) error = NULL;
  PunchYamuxEvent event;
  g_autoptr(GBytes) out = NULL;

  pair_init (&p, NULL, NULL);
  open_stream (p.client);
  pump (&p);
  drain_events (p.server);
  g_assert_true (punch_yamux_session_go_away (p.client, PUNCH_YAMUX_GO_AWAY_INTERNAL_ERROR, &error));
  g_assert_true (punch_yamux_session_is_dead (p.client));
  expect_event (p.client, PUNCH_YAMUX_EVENT_SESSION_ERROR, 0);
  out = punch_yamux_session_pull_output (p.client);
  assert_bytes_hex (out, "00 03 0000 00000000 00000002");

  g_assert_false (punch_yamux_session_receive (p.server, g_bytes_get_data (out, NULL), 12,
                                               p.now, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_assert_true (punch_yamux_session_next_event (p.server, &event));
  g_assert_cmpint (event.type, ==, PUNCH_YAMUX_EVENT_GO_AWAY);
  g_assert_cmpuint (event.code, ==, PUNCH_YAMUX_GO_AWAY_INTERNAL_ERROR);
  punch_yamux_event_clear (&event);
  expect_event (p.server, PUNCH_YAMUX_EVENT_SESSION_ERROR, 0);
  g_assert_true (punch_yamux_session_is_dead (p.server));
  g_assert_cmpuint (punch_yamux_session_get_n_streams (p.server), ==, 0);
  /* Nothing is sent back. */
  g_assert_null (punch_yamux_session_pull_output (p.server));
  pair_clear (&p);
}

/* SYNs beyond max_streams are refused with RST; the opener sees a reset
 * and the session lives (a flood is /yamux/stream/flood). */
static void
test_stream_limit (void)
{
  PunchYamuxConfig config;
  Pair p;
  guint32 ids[5];
  guint opened = 0;
  PunchYamuxEvent event;

  punch_yamux_config_init (&config);
  config.max_streams = 4;
  pair_init (&p, NULL, &config);
  for (guint i = 0; i < 5; i++)
    {
      ids[i] = open_stream (p.client);
      write_str (p.client, ids[i], "data");
    }
  pump (&p);

  while (punch_yamux_session_next_event (p.server, &event))
    {
      if (event.type == PUNCH_YAMUX_EVENT_STREAM_OPENED)
        {
          g_assert_cmpuint (event.stream_id, !=, ids[4]);
          opened++;
        }
      punch_yamux_event_clear (&event);
    }
  g_assert_cmpuint (opened, ==, 4);
  g_assert_cmpuint (punch_yamux_session_get_n_streams (p.server), ==, 4);
  expect_event (p.client, PUNCH_YAMUX_EVENT_STREAM_RESET, ids[4]);
  expect_no_event (p.client);
  g_assert_false (punch_yamux_session_is_dead (p.server));

  /* The buffer budget limits streams too: room for 2 initial windows. */
  config.max_streams = 100;
  config.max_buffered = 2 * WINDOW;
  pair_clear (&p);
  pair_init (&p, NULL, &config);
  for (guint i = 0; i < 3; i++)
    ids[i] = open_stream (p.client);
  pump (&p);
  expect_event (p.client, PUNCH_YAMUX_EVENT_STREAM_RESET, ids[2]);
  g_assert_cmpuint (punch_yamux_session_get_n_streams (p.server), ==, 2);
  pair_clear (&p);
}

/* Opens @n streams on the client at once; the server refuses them all. */
static void
open_refused (Pair  *p,
              guint  n)
{
  guint32 ids[8];

  g_assert_cmpuint (n, <=, G_N_ELEMENTS (ids));
  for (guint i = 0; i < n; i++)
    ids[i] = open_stream (p->client);
  pump (p);
  for (guint i = 0; i < n; i++)
    expect_event (p->client, PUNCH_YAMUX_EVENT_STREAM_RESET, ids[i]);
  expect_no_event (p->client);
  expect_no_event (p->server);
  g_assert_false (punch_yamux_session_is_dead (p->server));
}

/* A peer refused at the stream limit max_streams times within 10 s that
 * opens yet another stream is flooding: the session ends with a protocol
 * error GO_AWAY.  A stream admitted in between (the peer freed one), or a
 * pause of more than 10 s, starts the count again. */
static void
test_stream_flood (void)
{
  PunchYamuxConfig config;
  Pair p;
  guint32 ids[4], id;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) syn = NULL;
  PunchYamuxEvent event;
  const guint8 *data;
  gsize len;

  punch_yamux_config_init (&config);
  config.max_streams = 4;
  pair_init (&p, NULL, &config);
  for (guint i = 0; i < 4; i++)
    ids[i] = open_stream (p.client);
  pump (&p);
  for (guint i = 0; i < 4; i++)
    expect_event (p.server, PUNCH_YAMUX_EVENT_STREAM_OPENED, ids[i]);

  /* As many refusals as the limit are tolerated. */
  open_refused (&p, 4);

  /* The peer frees a stream and opens one: admitted, the count restarts. */
  g_assert_true (punch_yamux_session_reset_stream (p.client, ids[0], &error));
  g_assert_no_error (error);
  pump (&p);
  expect_event (p.server, PUNCH_YAMUX_EVENT_STREAM_RESET, ids[0]);
  g_assert_cmpuint (punch_yamux_session_get_n_streams (p.server), ==, 3);
  id = open_stream (p.client);
  pump (&p);
  expect_event (p.server, PUNCH_YAMUX_EVENT_STREAM_OPENED, id);
  g_assert_cmpuint (punch_yamux_session_get_n_streams (p.server), ==, 4);
  open_refused (&p, 4);

  /* Refusals spread out (a peer that keeps every stream open and pings
   * now and then) are no flood: after 10 s a new run starts. */
  p.now += 11 * G_USEC_PER_SEC;
  open_refused (&p, 4);

  /* One more within the run: the session ends, with no RST for it, only
   * the GO_AWAY. */
  id = open_stream (p.client);
  syn = punch_yamux_session_pull_output (p.client);
  data = g_bytes_get_data (syn, &len);
  g_assert_false (punch_yamux_session_receive (p.server, data, len, p.now, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "stream flood"));
  g_clear_error (&error);
  g_assert_true (punch_yamux_session_is_dead (p.server));
  g_assert_cmpuint (punch_yamux_session_get_n_streams (p.server), ==, 0);
  g_assert_true (punch_yamux_session_next_event (p.server, &event));
  g_assert_cmpint (event.type, ==, PUNCH_YAMUX_EVENT_SESSION_ERROR);
  g_assert_error (event.error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  punch_yamux_event_clear (&event);
  expect_no_event (p.server);
  assert_output (p.server, "00 03 0000 00000000 00000001");

  /* The flooder learns why. */
  g_assert_false (feed_hex (p.client, "00 03 0000 00000000 00000001", &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_assert_true (punch_yamux_session_next_event (p.client, &event));
  g_assert_cmpint (event.type, ==, PUNCH_YAMUX_EVENT_GO_AWAY);
  g_assert_cmpuint (event.code, ==, PUNCH_YAMUX_GO_AWAY_PROTOCOL_ERROR);
  punch_yamux_event_clear (&event);
  g_assert_true (punch_yamux_session_is_dead (p.client));
  pair_clear (&p);
}

/* Streams refused for the buffer budget, below the stream limit, are
 * refused each time, never counted as a flood. */
static void
test_stream_budget_refusals (void)
{
  PunchYamuxConfig config;
  Pair p;
  guint32 ids[2];

  punch_yamux_config_init (&config);
  config.max_streams = 4;
  config.max_buffered = 2 * config.receive_window;
  pair_init (&p, NULL, &config);
  for (guint i = 0; i < 2; i++)
    ids[i] = open_stream (p.client);
  pump (&p);
  for (guint i = 0; i < 2; i++)
    expect_event (p.server, PUNCH_YAMUX_EVENT_STREAM_OPENED, ids[i]);
  for (guint round = 0; round < 10; round++)
    open_refused (&p, 4);
  g_assert_cmpuint (punch_yamux_session_get_n_streams (p.server), ==, 2);
  pair_clear (&p);
}

/* Outbound streams not acknowledged are limited by max_ack_backlog. */
static void
test_stream_ack_backlog (void)
{
  PunchYamuxConfig config;
  Pair p;
  g_autoptr(GError) error = NULL;

  punch_yamux_config_init (&config);
  config.max_ack_backlog = 2;
  pair_init (&p, &config, NULL);
  open_stream (p.client);
  open_stream (p.client);
  g_assert_cmpuint (punch_yamux_session_open_stream (p.client, &error), ==, 0);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
  g_clear_error (&error);
  pump (&p);
  /* Not acknowledged merely by arriving. */
  g_assert_cmpuint (punch_yamux_session_open_stream (p.client, &error), ==, 0);
  g_clear_error (&error);
  expect_event (p.server, PUNCH_YAMUX_EVENT_STREAM_OPENED, 1);
  g_assert_true (punch_yamux_session_accept_stream (p.server, 1, &error));
  pump (&p);
  g_assert_cmpuint (open_stream (p.client), ==, 5);
  pair_clear (&p);
}

/* The same conversation delivered whole, byte by byte and in odd slices
 * ends the same way. */
static char *
run_conversation (gsize chunk)
{
  Pair p;
  App client, server;
  const guint64 sizes[] = { 1, 100 * KiB, 700 * KiB, 0 };
  GString *result = g_string_new (NULL);

  pair_init (&p, NULL, NULL);
  p.chunk = chunk;
  app_init (&client, p.client, FALSE);
  app_init (&server, p.server, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      AppStream *as = app_add (&client, open_stream (p.client));

      as->to_send = sizes[i];
      as->close_when_sent = TRUE;
    }
  g_assert_true (punch_yamux_session_ping (p.server, p.now, NULL));
  run (&p, &client, &server);

  for (guint32 id = 1; id <= 2 * G_N_ELEMENTS (sizes); id += 2)
    {
      AppStream *c = g_hash_table_lookup (client.streams, GUINT_TO_POINTER (id));
      AppStream *s = g_hash_table_lookup (server.streams, GUINT_TO_POINTER (id));

      g_assert_nonnull (c);
      g_assert_nonnull (s);
      g_string_append_printf (result,
                              "%u: c sent %" G_GUINT64_FORMAT " got %" G_GUINT64_FORMAT
                              " eof %d bad %d; s got %" G_GUINT64_FORMAT " sent %" G_GUINT64_FORMAT
                              " eof %d fin %d bad %d\n",
                              id, c->sent, c->received, c->eof, c->corrupt,
                              s->received, s->sent, s->eof, s->fin_sent, s->corrupt);
    }
  g_string_append_printf (result, "streams %u/%u rtt %" G_GINT64_FORMAT "\n",
                          punch_yamux_session_get_n_streams (p.client),
                          punch_yamux_session_get_n_streams (p.server),
                          punch_yamux_session_get_rtt (p.server));
  app_clear (&client);
  app_clear (&server);
  pair_clear (&p);
  return g_string_free (result, FALSE);
}

static void
test_byte_at_a_time (void)
{
  g_autofree char *whole = run_conversation (0);
  g_autofree char *bytes = run_conversation (1);
  g_autofree char *slices = run_conversation (7);
  const char *expected =
    "1: c sent 1 got 1 eof 1 bad 0; s got 1 sent 1 eof 1 fin 1 bad 0\n"
    "3: c sent 102400 got 102400 eof 1 bad 0; s got 102400 sent 102400 eof 1 fin 1 bad 0\n"
    "5: c sent 716800 got 716800 eof 1 bad 0; s got 716800 sent 716800 eof 1 fin 1 bad 0\n"
    "7: c sent 0 got 0 eof 1 bad 0; s got 0 sent 0 eof 1 fin 1 bad 0\n"
    "streams 0/0 rtt 0\n";

  g_assert_cmpstr (whole, ==, expected);
  g_assert_cmpstr (bytes, ==, expected);
  g_assert_cmpstr (slices, ==, expected);
}

static void
test_receive_eof (void)
{
  g_autoptr(PunchYamuxSession) a = punch_yamux_session_new (FALSE, NULL);
  g_autoptr(PunchYamuxSession) b = punch_yamux_session_new (FALSE, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (feed_hex (a, "00 01 00", &error));
  g_assert_false (punch_yamux_session_receive_eof (a, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED);
  g_clear_error (&error);
  g_assert_true (punch_yamux_session_is_dead (a));
  expect_event (a, PUNCH_YAMUX_EVENT_SESSION_ERROR, 0);

  g_assert_true (feed_hex (b, "00 02 0001 00000000 00000001", &error));
  g_assert_true (punch_yamux_session_receive_eof (b, &error));
  g_assert_no_error (error);
  g_assert_true (punch_yamux_session_is_dead (b));
  g_assert_false (feed_hex (b, "00", &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
}

/* Malformed input: each case is fed to a server after a valid prefix. */
typedef struct {
  const char *name;
  const char *prefix;
  const char *bad;
} Malformed;

static const Malformed malformed[] = {
  { "bad-version", "", "01 00 0000 00000001 00000000" },
  { "unknown-type", "", "00 04 0000 00000000 00000000" },
  { "data-beyond-window", "00 01 0001 00000001 00000000",
    "00 00 0000 00000001 00040001" },
  { "data-unknown-stream", "", "00 00 0000 00000003 00000000" },
  { "window-update-unknown-stream", "00 01 0001 00000001 00000000",
    "00 01 0000 00000005 00000010" },
  { "own-parity-never-opened", "", "00 00 0000 00000002 00000000" },
  { "syn-wrong-parity", "", "00 01 0001 00000002 00000000" },
  { "syn-duplicate", "00 01 0001 00000001 00000000", "00 00 0001 00000001 00000000" },
  { "data-after-fin", "00 01 0005 00000001 00000000", "00 00 0000 00000001 00000001 00" },
  { "session-id-data", "", "00 00 0001 00000000 00000000" },
  { "oversized-frame", "", "00 00 0001 00000001 ffffffff" },
  { "window-overflow", "00 01 0001 00000001 00000000", "00 01 0000 00000001 ffffffff" },
  { "ping-on-stream", "", "00 02 0001 00000001 00000000" },
  { "go-away-on-stream", "", "00 03 0000 00000001 00000000" },
};

static void
test_malformed (gconstpointer data)
{
  const Malformed *m = data;
  g_autoptr(PunchYamuxSession) server = punch_yamux_session_new (FALSE, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) out = NULL;
  PunchYamuxEvent event;
  gboolean error_event = FALSE;
  gsize len;
  const guint8 *bytes;

  g_assert_true (feed_hex (server, m->prefix, &error));
  g_assert_no_error (error);
  g_bytes_unref (punch_yamux_session_pull_output (server));

  g_assert_false (feed_hex (server, m->bad, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_clear_error (&error);
  g_assert_true (punch_yamux_session_is_dead (server));
  /* A GO_AWAY with the protocol error code is queued. */
  out = punch_yamux_session_pull_output (server);
  bytes = g_bytes_get_data (out, &len);
  g_assert_cmpuint (len, >=, 12);
  {
    g_autoptr(GBytes) tail = g_bytes_new (bytes + len - 12, 12);

    assert_bytes_hex (tail, "00 03 0000 00000000 00000001");
  }
  while (punch_yamux_session_next_event (server, &event))
    {
      if (event.type == PUNCH_YAMUX_EVENT_SESSION_ERROR)
        {
          g_assert_error (event.error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
          error_event = TRUE;
        }
      punch_yamux_event_clear (&event);
    }
  g_assert_true (error_event);
  g_assert_cmpuint (punch_yamux_session_get_n_streams (server), ==, 0);
  g_assert_cmpuint (punch_yamux_session_get_buffered_size (server), ==, 0);

  /* The session is dead for good. */
  g_assert_false (feed_hex (server, "00 02 0001 00000000 00000001", &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_cmpuint (punch_yamux_session_open_stream (server, &error), ==, 0);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
}

/* Two frames that fit the window alone but not together. */
static void
test_malformed_cumulative (void)
{
  g_autoptr(PunchYamuxSession) server = punch_yamux_session_new (FALSE, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *frame = g_malloc0 (12 + 200000);

  g_assert_true (feed_hex (server, "00 01 0001 00000001 00000000", &error));
  memcpy (frame, (const guint8 []) { 0, 0, 0, 0, 0, 0, 0, 1, 0, 0x03, 0x0d, 0x40 }, 12);
  g_assert_true (punch_yamux_session_receive (server, frame, 12 + 200000, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (punch_yamux_session_get_readable (server, 1), ==, 200000);
  /* 62144 bytes of window are left. */
  g_assert_false (feed_hex (server, "00 00 0000 00000001 0000f2c1", &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_assert_true (punch_yamux_session_is_dead (server));
  g_assert_cmpuint (punch_yamux_session_get_buffered_size (server), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/yamux/frame/hex", test_frame_hex);
  g_test_add_func ("/yamux/frame/larger-window", test_frame_larger_window);
  g_test_add_func ("/yamux/stream/echo", test_stream_echo);
  g_test_add_func ("/yamux/stream/many", test_stream_many);
  g_test_add_func ("/yamux/stream/half-close", test_stream_half_close);
  g_test_add_func ("/yamux/stream/reset", test_stream_reset);
  g_test_add_func ("/yamux/stream/late-frames", test_stream_late_frames);
  g_test_add_func ("/yamux/stream/limit", test_stream_limit);
  g_test_add_func ("/yamux/stream/flood", test_stream_flood);
  g_test_add_func ("/yamux/stream/budget-refusals", test_stream_budget_refusals);
  g_test_add_func ("/yamux/stream/ack-backlog", test_stream_ack_backlog);
  g_test_add_func ("/yamux/flow/back-pressure", test_flow_back_pressure);
  g_test_add_func ("/yamux/flow/window-update", test_flow_window_update);
  g_test_add_func ("/yamux/flow/auto-tune", test_flow_auto_tune);
  g_test_add_func ("/yamux/flow/max-window", test_flow_max_window);
  g_test_add_func ("/yamux/flow/output-limit", test_flow_output_limit);
  g_test_add_func ("/yamux/flow/peek-consume", test_flow_peek_consume);
  g_test_add_func ("/yamux/ping/rtt", test_ping_rtt);
  g_test_add_func ("/yamux/ping/keepalive", test_ping_keepalive);
  g_test_add_func ("/yamux/ping/flood", test_ping_flood);
  g_test_add_func ("/yamux/go-away/normal", test_go_away);
  g_test_add_func ("/yamux/go-away/error", test_go_away_error);
  g_test_add_func ("/yamux/byte-at-a-time", test_byte_at_a_time);
  g_test_add_func ("/yamux/receive-eof", test_receive_eof);
  g_test_add_func ("/yamux/malformed/data-beyond-window-cumulative", test_malformed_cumulative);
  for (guint i = 0; i < G_N_ELEMENTS (malformed); i++)
    {
      g_autofree char *path = g_strdup_printf ("/yamux/malformed/%s", malformed[i].name);

      g_test_add_data_func (path, &malformed[i], test_malformed);
    }

  return g_test_run ();
}
