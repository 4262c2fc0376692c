/* fuzz-yamux.c: libFuzzer target for the sans-I/O yamux session.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "punch-yamux-session.h"

/* The input is a script of one-byte commands for a server session:
 *   c % 8 in 0..3   feed the next ((c >> 3) + 1) << (c % 8) bytes as received
 *                   transport data (so c = 8 * (n - 1) feeds n <= 32 bytes)
 *   c % 8 == 4      pull the output
 *   c % 8 == 5      poll every event, reading the readable streams
 *   c % 8 == 6      an application action, from the next two bytes
 *   c % 8 == 7      advance the clock by the next byte * 10 ms, run timers
 * After every command the memory bounds are checked; at the end the
 * transport is closed. */

#define MAX_IDS 16

typedef struct {
  PunchYamuxSession *session;
  PunchYamuxConfig config;
  guint32 ids[MAX_IDS];
  guint n_ids;
  gint64 now;
} Fuzz;

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
remember (Fuzz    *f,
          guint32  id)
{
  f->ids[f->n_ids % MAX_IDS] = id;
  f->n_ids++;
}

static guint32
pick (Fuzz    *f,
      guint8   b)
{
  if (f->n_ids == 0 || b == 0xff)
    return b;                   /* an arbitrary, probably unknown id */
  return f->ids[b % MIN (f->n_ids, MAX_IDS)];
}

static void
read_stream (Fuzz    *f,
             guint32  id)
{
  static guint8 buf[4096];

  for (guint i = 0; i < 1024; i++)
    {
      g_autoptr(GError) error = NULL;
      gssize n = punch_yamux_session_read (f->session, id, buf, sizeof buf, NULL, &error);

      if (n <= 0)
        break;
    }
}

static void
poll_events (Fuzz *f)
{
  PunchYamuxEvent event;

  while (punch_yamux_session_next_event (f->session, &event))
    {
      if (event.type == PUNCH_YAMUX_EVENT_STREAM_OPENED)
        remember (f, event.stream_id);
      else if (event.type == PUNCH_YAMUX_EVENT_STREAM_READABLE ||
               event.type == PUNCH_YAMUX_EVENT_STREAM_REMOTE_CLOSED)
        read_stream (f, event.stream_id);
      else if (event.type == PUNCH_YAMUX_EVENT_SESSION_ERROR)
        g_assert_nonnull (event.error);
      punch_yamux_event_clear (&event);
    }
}

static void
act (Fuzz   *f,
     guint8  what,
     guint8  which)
{
  static guint8 payload[16 * 1024];
  g_autoptr(GError) error = NULL;
  guint32 id = pick (f, which);

  switch (what % 8)
    {
    case 0:
      punch_yamux_session_write (f->session, id, payload,
                                 MIN ((gsize) (what >> 3) * 512 + 1, sizeof payload), &error);
      break;
    case 1:
      punch_yamux_session_close_stream (f->session, id, &error);
      break;
    case 2:
      punch_yamux_session_reset_stream (f->session, id, &error);
      break;
    case 3:
      id = punch_yamux_session_open_stream (f->session, &error);
      if (id != 0)
        remember (f, id);
      break;
    case 4:
      punch_yamux_session_accept_stream (f->session, id, &error);
      break;
    case 5:
      read_stream (f, id);
      break;
    case 6:
      punch_yamux_session_ping (f->session, f->now, &error);
      break;
    case 7:
    default:
      punch_yamux_session_go_away (f->session, (what >> 3) % 3, &error);
      break;
    }
}

static void
check_bounds (Fuzz *f)
{
  /* Receive buffers within the budget, output within twice max_output
   * plus the frames of one last write or close. */
  g_assert_cmpuint (punch_yamux_session_get_buffered_size (f->session), <=,
                    f->config.max_buffered);
  g_assert_cmpuint (punch_yamux_session_get_output_size (f->session), <=,
                    2 * f->config.max_output + 64 * 1024);
  g_assert_cmpuint (punch_yamux_session_get_n_streams (f->session), <=,
                    f->config.max_streams);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  Fuzz f = { 0 };

  punch_yamux_config_init (&f.config);
  f.config.max_streams = 8;
  f.config.max_buffered = 8 * PUNCH_YAMUX_INITIAL_WINDOW;
  f.config.max_receive_window = 1024 * 1024;
  f.config.max_output = 1024;    /* small enough for a ping flood to hit it */
  f.config.max_ack_backlog = 4;
  f.config.keepalive_interval_us = G_USEC_PER_SEC;
  f.config.ping_timeout_us = G_USEC_PER_SEC / 2;
  f.session = punch_yamux_session_new (FALSE, &f.config);
  f.now = 1000;

  while (size > 0)
    {
      guint8 c = *data++;

      size--;
      switch (c % 8)
        {
        case 0: case 1: case 2: case 3:
          {
            gsize n = MIN (size, (gsize) ((c >> 3) + 1) << (c % 8));
            g_autoptr(GError) error = NULL;

            punch_yamux_session_receive (f.session, data, n, f.now, &error);
            data += n;
            size -= n;
          }
          break;
        case 4:
          g_bytes_unref (punch_yamux_session_pull_output (f.session));
          break;
        case 5:
          poll_events (&f);
          break;
        case 6:
          if (size >= 2)
            {
              act (&f, data[0], data[1]);
              data += 2;
              size -= 2;
            }
          break;
        case 7:
        default:
          if (size >= 1)
            {
              g_autoptr(GError) error = NULL;

              f.now += data[0] * 10000;
              data++;
              size--;
              if (f.now >= punch_yamux_session_get_deadline (f.session))
                punch_yamux_session_handle_timeout (f.session, f.now, &error);
            }
          break;
        }
      check_bounds (&f);
    }

  poll_events (&f);
  punch_yamux_session_receive_eof (f.session, NULL);
  poll_events (&f);
  punch_yamux_session_free (f.session);
  return 0;
}
