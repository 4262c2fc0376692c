/* test-framing.c: length-prefixed messages, as bytes and on GIO streams.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <sys/socket.h>

#include <punch.h>

#include "punch-framing-private.h"

#define DCUTR_MAX 4096

static GBytes *
make_payload (gsize len,
              guint seed)
{
  guint8 *data = g_malloc (len + 1);
  gsize i;

  for (i = 0; i < len; i++)
    data[i] = (guint8) (i * 7 + seed);
  return g_bytes_new_take (data, len);
}

static void
assert_bytes_eq (GBytes       *bytes,
                 const void   *data,
                 gsize         len)
{
  g_assert_nonnull (bytes);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                   data, len);
}

/* Buffer codec */

static void
test_encode (void)
{
  g_autoptr(GBytes) payload = make_payload (300, 1);
  g_autoptr(GBytes) empty = punch_framing_encode (NULL, 0, DCUTR_MAX, NULL);
  g_autoptr(GBytes) abc = punch_framing_encode ((const guint8 *) "abc", 3, DCUTR_MAX, NULL);
  g_autoptr(GBytes) big = NULL;
  g_autoptr(GByteArray) array = g_byte_array_new ();
  const guint8 *p;

  assert_bytes_eq (empty, "\x00", 1);
  assert_bytes_eq (abc, "\x03" "abc", 4);

  /* 300 = 0b10_0101100 -> 0xac 0x02 */
  big = punch_framing_encode (g_bytes_get_data (payload, NULL), 300, DCUTR_MAX, NULL);
  g_assert_nonnull (big);
  g_assert_cmpuint (g_bytes_get_size (big), ==, 302);
  p = g_bytes_get_data (big, NULL);
  g_assert_cmpuint (p[0], ==, 0xac);
  g_assert_cmpuint (p[1], ==, 0x02);
  g_assert_cmpmem (p + 2, 300, g_bytes_get_data (payload, NULL), 300);

  /* Appending two frames. */
  g_assert_true (punch_framing_append (array, (const guint8 *) "xy", 2, 2, NULL));
  g_assert_true (punch_framing_append (array, NULL, 0, 2, NULL));
  g_assert_cmpmem (array->data, array->len, "\x02xy\x00", 4);
}

static void
test_encode_too_large (void)
{
  g_autoptr(GBytes) payload = make_payload (DCUTR_MAX + 1, 2);
  g_autoptr(GByteArray) array = g_byte_array_new ();
  g_autoptr(GBytes) exact = NULL;
  g_autoptr(GBytes) over = NULL;
  g_autoptr(GError) error = NULL;

  exact = punch_framing_encode (g_bytes_get_data (payload, NULL), DCUTR_MAX,
                                DCUTR_MAX, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (exact), ==, DCUTR_MAX + 2);

  over = punch_framing_encode (g_bytes_get_data (payload, NULL), DCUTR_MAX + 1,
                               DCUTR_MAX, &error);
  g_assert_null (over);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
  g_clear_error (&error);

  g_assert_false (punch_framing_append (array, (const guint8 *) "abc", 3, 2, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
  g_assert_cmpuint (array->len, ==, 0);
}

static void
test_parse (void)
{
  const guint8 buf[] = { 0x03, 'a', 'b', 'c', 0x00, 0x01, 'z' };
  gsize offset = 99, len = 99, i;

  g_assert_cmpint (punch_framing_parse (buf, sizeof buf, 16, &offset, &len, NULL),
                   ==, PUNCH_FRAMING_STATUS_FRAME);
  g_assert_cmpuint (offset, ==, 1);
  g_assert_cmpuint (len, ==, 3);

  /* The next frames start where the first ends. */
  g_assert_cmpint (punch_framing_parse (buf + 4, 3, 16, &offset, &len, NULL),
                   ==, PUNCH_FRAMING_STATUS_FRAME);
  g_assert_cmpuint (offset, ==, 1);
  g_assert_cmpuint (len, ==, 0);
  g_assert_cmpint (punch_framing_parse (buf + 5, 2, 16, &offset, &len, NULL),
                   ==, PUNCH_FRAMING_STATUS_FRAME);
  g_assert_cmpuint (len, ==, 1);

  /* Every proper prefix of the first frame needs more, with no error. */
  for (i = 0; i < 4; i++)
    {
      g_autoptr(GError) error = NULL;

      offset = len = 99;
      g_assert_cmpint (punch_framing_parse (buf, i, 16, &offset, &len, &error),
                       ==, PUNCH_FRAMING_STATUS_NEED_MORE);
      g_assert_no_error (error);
      g_assert_cmpuint (offset, ==, 99);
      g_assert_cmpuint (len, ==, 99);
    }
}

static void
test_parse_limits (void)
{
  g_autoptr(GError) error = NULL;
  /* 4096 = 0x80 0x20, 4097 = 0x81 0x20 */
  const guint8 exact[] = { 0x80, 0x20 };
  const guint8 over[] = { 0x81, 0x20 };
  const guint8 non_minimal[] = { 0x83, 0x00, 'a', 'b', 'c' };
  const guint8 ten[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
  g_autoptr(GBytes) payload = make_payload (DCUTR_MAX, 3);
  g_autoptr(GBytes) frame = punch_framing_encode (g_bytes_get_data (payload, NULL),
                                                  DCUTR_MAX, DCUTR_MAX, NULL);
  gsize offset, len;

  /* Exactly the maximum: the header alone needs more, the frame parses. */
  g_assert_cmpint (punch_framing_parse (exact, 2, DCUTR_MAX, NULL, NULL, &error),
                   ==, PUNCH_FRAMING_STATUS_NEED_MORE);
  g_assert_no_error (error);
  g_assert_cmpint (punch_framing_parse (g_bytes_get_data (frame, NULL),
                                        g_bytes_get_size (frame), DCUTR_MAX,
                                        &offset, &len, &error),
                   ==, PUNCH_FRAMING_STATUS_FRAME);
  g_assert_no_error (error);
  g_assert_cmpuint (offset, ==, 2);
  g_assert_cmpuint (len, ==, DCUTR_MAX);

  /* One more is refused from the header alone. */
  g_assert_cmpint (punch_framing_parse (over, 2, DCUTR_MAX, NULL, NULL, &error),
                   ==, PUNCH_FRAMING_STATUS_ERROR);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
  g_clear_error (&error);

  g_assert_cmpint (punch_framing_parse (non_minimal, sizeof non_minimal, DCUTR_MAX,
                                        NULL, NULL, &error),
                   ==, PUNCH_FRAMING_STATUS_ERROR);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED);
  g_clear_error (&error);

  g_assert_cmpint (punch_framing_parse (ten, sizeof ten, G_MAXSIZE, NULL, NULL, &error),
                   ==, PUNCH_FRAMING_STATUS_ERROR);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED);
  g_clear_error (&error);

  /* A zero maximum allows only empty messages. */
  g_assert_cmpint (punch_framing_parse ((const guint8 *) "\x00", 1, 0, NULL, NULL, &error),
                   ==, PUNCH_FRAMING_STATUS_FRAME);
  g_assert_cmpint (punch_framing_parse ((const guint8 *) "\x01", 1, 0, NULL, NULL, &error),
                   ==, PUNCH_FRAMING_STATUS_ERROR);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
}

/* Three frames: "hello", empty, and 200 bytes (two-byte length). */
static GBytes *
make_stream (GBytes **out_payloads)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  gsize i;

  out_payloads[0] = g_bytes_new_static ("hello", 5);
  out_payloads[1] = g_bytes_new_static ("", 0);
  out_payloads[2] = make_payload (200, 4);
  for (i = 0; i < 3; i++)
    g_assert_true (punch_framing_append (out, g_bytes_get_data (out_payloads[i], NULL),
                                         g_bytes_get_size (out_payloads[i]), 256,
                                         NULL));
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static void
test_decoder_byte_by_byte (void)
{
  g_autoptr(PunchFramingDecoder) decoder = punch_framing_decoder_new (256);
  GBytes *payloads[3];
  g_autoptr(GBytes) stream = make_stream (payloads);
  const guint8 *data;
  gsize len, i, n_frames = 0;
  /* Offsets of the last byte of each frame: 1+5-1, 6, 7+2+200-1 */
  const gsize ends[] = { 5, 6, 208 };

  data = g_bytes_get_data (stream, &len);
  g_assert_cmpuint (len, ==, 209);

  for (i = 0; i < len; i++)
    {
      g_autoptr(GBytes) frame = NULL;
      g_autoptr(GError) error = NULL;

      g_assert_true (punch_framing_decoder_feed (decoder, data + i, 1, &error));
      g_assert_no_error (error);
      frame = punch_framing_decoder_pop (decoder);
      if (n_frames < 3 && i == ends[n_frames])
        {
          g_assert_nonnull (frame);
          g_assert_true (g_bytes_equal (frame, payloads[n_frames]));
          g_assert_cmpuint (punch_framing_decoder_get_buffered (decoder), ==, 0);
          n_frames++;
        }
      else
        {
          g_assert_null (frame);
          g_assert_cmpuint (punch_framing_decoder_get_buffered (decoder), >, 0);
        }
    }
  g_assert_cmpuint (n_frames, ==, 3);
  g_assert_null (punch_framing_decoder_pop (decoder));

  for (i = 0; i < 3; i++)
    g_bytes_unref (payloads[i]);
}

static void
test_decoder_chunks (void)
{
  GBytes *payloads[3];
  g_autoptr(GBytes) stream = make_stream (payloads);
  const guint8 *data;
  gsize len, i;
  guint iter;

  data = g_bytes_get_data (stream, &len);

  for (iter = 0; iter < 100; iter++)
    {
      g_autoptr(PunchFramingDecoder) decoder = punch_framing_decoder_new (256);
      gsize pos = 0;

      while (pos < len)
        {
          gsize n = (gsize) g_test_rand_int_range (0, 40);

          n = MIN (n, len - pos);

          g_assert_true (punch_framing_decoder_feed (decoder, data + pos, n, NULL));
          pos += n;
        }
      for (i = 0; i < 3; i++)
        {
          g_autoptr(GBytes) frame = punch_framing_decoder_pop (decoder);

          g_assert_nonnull (frame);
          g_assert_true (g_bytes_equal (frame, payloads[i]));
        }
      g_assert_null (punch_framing_decoder_pop (decoder));
    }

  /* All at once, twice over. */
    {
      g_autoptr(PunchFramingDecoder) decoder = punch_framing_decoder_new (256);
      guint n = 0;
      GBytes *frame;

      g_assert_true (punch_framing_decoder_feed (decoder, data, len, NULL));
      g_assert_true (punch_framing_decoder_feed (decoder, data, len, NULL));
      while ((frame = punch_framing_decoder_pop (decoder)) != NULL)
        {
          g_assert_true (g_bytes_equal (frame, payloads[n % 3]));
          g_bytes_unref (frame);
          n++;
        }
      g_assert_cmpuint (n, ==, 6);
    }

  for (i = 0; i < 3; i++)
    g_bytes_unref (payloads[i]);
}

static void
test_decoder_limits (void)
{
  g_autoptr(GBytes) payload = make_payload (DCUTR_MAX, 5);
  g_autoptr(GBytes) frame = punch_framing_encode (g_bytes_get_data (payload, NULL),
                                                  DCUTR_MAX, DCUTR_MAX, NULL);
  g_autoptr(PunchFramingDecoder) decoder = punch_framing_decoder_new (DCUTR_MAX);
  g_autoptr(GBytes) got = NULL;
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GError) error = NULL;

  /* Exactly the maximum is accepted. */
  g_assert_true (punch_framing_decoder_feed (decoder, g_bytes_get_data (frame, NULL),
                                             g_bytes_get_size (frame), &error));
  g_assert_no_error (error);
  got = punch_framing_decoder_pop (decoder);
  g_assert_true (g_bytes_equal (got, payload));

  /* A valid frame, then a header announcing max + 1 (0x81 0x20): the
   * error comes with the header's last byte, nothing of the payload is
   * needed, and the frame before stays available. */
  g_assert_true (punch_framing_decoder_feed (decoder, (const guint8 *) "\x01q\x81", 3,
                                             &error));
  g_assert_no_error (error);
  g_assert_false (punch_framing_decoder_feed (decoder, (const guint8 *) "\x20", 1,
                                              &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
  g_clear_error (&error);
  g_assert_cmpuint (punch_framing_decoder_get_buffered (decoder), ==, 0);
  first = punch_framing_decoder_pop (decoder);
  assert_bytes_eq (first, "q", 1);
  g_assert_null (punch_framing_decoder_pop (decoder));

  /* The error is sticky. */
  g_assert_false (punch_framing_decoder_feed (decoder, (const guint8 *) "\x00", 1,
                                              &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
  g_assert_null (punch_framing_decoder_pop (decoder));
}

static void
test_decoder_malformed (void)
{
  const guint8 ten[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
  g_autoptr(PunchFramingDecoder) a = punch_framing_decoder_new (G_MAXSIZE);
  g_autoptr(PunchFramingDecoder) b = punch_framing_decoder_new (G_MAXSIZE);
  g_autoptr(GError) error = NULL;

  g_assert_false (punch_framing_decoder_feed (a, (const guint8 *) "\x80\x00", 2, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED);
  g_clear_error (&error);

  /* Nine continuation bytes are refused without waiting for a tenth. */
  g_assert_true (punch_framing_decoder_feed (b, ten, 8, &error));
  g_assert_no_error (error);
  g_assert_false (punch_framing_decoder_feed (b, ten + 8, 1, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED);
}

/* Async on GIO streams */

static void
on_result (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  g_assert_null (*slot);
  *slot = g_object_ref (result);
}

/* Iterates the default main context until @slot is set; bounded. */
static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  guint i;

  for (i = 0; i < 10000 && *slot == NULL; i++)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (*slot);
  return g_steal_pointer (slot);
}

static GBytes *
read_frame (GInputStream  *stream,
            gsize          max_size,
            GCancellable  *cancellable,
            GError       **error)
{
  GAsyncResult *slot = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  punch_framing_read_async (stream, max_size, G_PRIORITY_DEFAULT, cancellable,
                            on_result, &slot);
  result = wait_for (&slot);
  g_assert_true (g_async_result_is_tagged (result, punch_framing_read_async));
  return punch_framing_read_finish (stream, result, error);
}

static gboolean
write_frame (GOutputStream  *stream,
             GBytes         *payload,
             GError        **error)
{
  GAsyncResult *slot = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  punch_framing_write_async (stream, payload, G_PRIORITY_DEFAULT, NULL,
                             on_result, &slot);
  result = wait_for (&slot);
  g_assert_true (g_async_result_is_tagged (result, punch_framing_write_async));
  return punch_framing_write_finish (stream, result, error);
}

static GInputStream *
memory_input (const void *data,
              gsize       len)
{
  return g_memory_input_stream_new_from_data (g_memdup2 (data, len), len, g_free);
}

static void
test_async_memory_roundtrip (void)
{
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr(GBytes) hello = g_bytes_new_static ("hello", 5);
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  g_autoptr(GBytes) big = make_payload (DCUTR_MAX, 6);
  g_autoptr(GBytes) written = NULL;
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GError) error = NULL;
  GBytes *payloads[3];
  const guint8 *p;
  gsize i;
  gchar tail[8];
  gssize n;

  payloads[0] = hello;
  payloads[1] = empty;
  payloads[2] = big;
  for (i = 0; i < 3; i++)
    {
      g_assert_true (write_frame (out, payloads[i], &error));
      g_assert_no_error (error);
    }
  /* Something else after the frames, which the reader must not eat. */
  g_assert_true (g_output_stream_write_all (out, "tail", 4, NULL, NULL, NULL));
  g_assert_true (g_output_stream_close (out, NULL, NULL));
  written = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));

  /* 1+5, 1+0, 2+4096, 4 */
  g_assert_cmpuint (g_bytes_get_size (written), ==, 6 + 1 + 4098 + 4);
  p = g_bytes_get_data (written, NULL);
  g_assert_cmpmem (p, 7, "\x05hello\x00", 7);
  g_assert_cmpuint (p[7], ==, 0x80);
  g_assert_cmpuint (p[8], ==, 0x20);

  in = g_memory_input_stream_new_from_bytes (written);
  for (i = 0; i < 3; i++)
    {
      g_autoptr(GBytes) frame = read_frame (in, DCUTR_MAX, NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (frame);
      g_assert_true (g_bytes_equal (frame, payloads[i]));
    }

  n = g_input_stream_read (in, tail, sizeof tail, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (tail, n, "tail", 4);
}

static void
test_async_closed (void)
{
  g_autoptr(GInputStream) empty = memory_input ("", 0);
  g_autoptr(GInputStream) one = memory_input ("\x01" "a", 2);
  g_autoptr(GBytes) frame = NULL;
  g_autoptr(GBytes) none = NULL;
  g_autoptr(GError) error = NULL;

  none = read_frame (empty, 16, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);

  /* A clean end after a complete frame. */
  frame = read_frame (one, 16, NULL, &error);
  g_assert_no_error (error);
  assert_bytes_eq (frame, "a", 1);
  g_clear_pointer (&frame, g_bytes_unref);
  frame = read_frame (one, 16, NULL, &error);
  g_assert_null (frame);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
}

static void
assert_read_error (const void *data,
                   gsize       len,
                   gsize       max_size,
                   gint        code,
                   goffset     consumed)
{
  g_autoptr(GInputStream) in = memory_input (data, len);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) frame = read_frame (in, max_size, NULL, &error);

  g_assert_null (frame);
  g_assert_error (error, PUNCH_ERROR, code);
  /* The reader stopped where the problem became visible. */
  g_assert_cmpint (g_seekable_tell (G_SEEKABLE (in)), ==, consumed);
}

static void
test_async_errors (void)
{
  const guint8 nine[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };

  /* Ends inside the length, inside the payload. */
  assert_read_error ("\x80", 1, DCUTR_MAX, PUNCH_ERROR_TRUNCATED, 1);
  assert_read_error ("\x05" "ab", 3, DCUTR_MAX, PUNCH_ERROR_TRUNCATED, 3);
  /* 4097 refused after the two length bytes, payload unread. */
  assert_read_error ("\x81\x20" "xxxxxxxx", 10, DCUTR_MAX, PUNCH_ERROR_TOO_LARGE, 2);
  assert_read_error ("\x80\x00" "x", 3, DCUTR_MAX, PUNCH_ERROR_MALFORMED, 2);
  assert_read_error (nine, sizeof nine, G_MAXSIZE, PUNCH_ERROR_MALFORMED, 9);
}

static void
test_async_exact_max (void)
{
  g_autoptr(GBytes) payload = make_payload (DCUTR_MAX + 1, 7);
  g_autoptr(GBytes) exact_frame = punch_framing_encode (g_bytes_get_data (payload, NULL),
                                                        DCUTR_MAX, DCUTR_MAX, NULL);
  g_autoptr(GBytes) over_frame = punch_framing_encode (g_bytes_get_data (payload, NULL),
                                                       DCUTR_MAX + 1, G_MAXSIZE, NULL);
  g_autoptr(GInputStream) exact = g_memory_input_stream_new_from_bytes (exact_frame);
  g_autoptr(GInputStream) over = g_memory_input_stream_new_from_bytes (over_frame);
  g_autoptr(GBytes) got = NULL;
  g_autoptr(GBytes) refused = NULL;
  g_autoptr(GError) error = NULL;

  got = read_frame (exact, DCUTR_MAX, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (got), ==, DCUTR_MAX);
  g_assert_cmpmem (g_bytes_get_data (got, NULL), DCUTR_MAX,
                   g_bytes_get_data (payload, NULL), DCUTR_MAX);

  refused = read_frame (over, DCUTR_MAX, NULL, &error);
  g_assert_null (refused);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
}

static void
test_async_large (void)
{
  /* A payload that takes several reads; and one cut short. */
  g_autoptr(GBytes) payload = make_payload (100000, 9);
  g_autoptr(GBytes) frame = punch_framing_encode (g_bytes_get_data (payload, NULL),
                                                  100000, 100000, NULL);
  g_autoptr(GBytes) cut = g_bytes_new_from_bytes (frame, 0, 70000);
  g_autoptr(GInputStream) in = g_memory_input_stream_new_from_bytes (frame);
  g_autoptr(GInputStream) short_in = g_memory_input_stream_new_from_bytes (cut);
  g_autoptr(GBytes) got = NULL;
  g_autoptr(GBytes) none = NULL;
  g_autoptr(GError) error = NULL;

  got = read_frame (in, 100000, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (got, payload));

  none = read_frame (short_in, 100000, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED);
}

static void
test_async_cancelled (void)
{
  g_autoptr(GInputStream) in = memory_input ("\x01" "a", 2);
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) payload = g_bytes_new_static ("x", 1);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) frame = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;

  g_cancellable_cancel (cancellable);
  frame = read_frame (in, 16, cancellable, &error);
  g_assert_null (frame);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  punch_framing_write_async (out, payload, G_PRIORITY_DEFAULT, cancellable,
                             on_result, &slot);
  result = wait_for (&slot);
  g_assert_false (punch_framing_write_finish (out, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
make_socket_pair (GIOStream **a,
                  GIOStream **b)
{
  int fds[2];
  g_autoptr(GSocket) sa = NULL;
  g_autoptr(GSocket) sb = NULL;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
  sa = g_socket_new_from_fd (fds[0], NULL);
  sb = g_socket_new_from_fd (fds[1], NULL);
  g_assert_nonnull (sa);
  g_assert_nonnull (sb);
  *a = G_IO_STREAM (g_socket_connection_factory_create_connection (sa));
  *b = G_IO_STREAM (g_socket_connection_factory_create_connection (sb));
}

static void
spin (void)
{
  guint i;

  for (i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
}

static void
test_async_socket_byte_by_byte (void)
{
  g_autoptr(GIOStream) a = NULL;
  g_autoptr(GIOStream) b = NULL;
  g_autoptr(GBytes) payload = make_payload (300, 8);
  g_autoptr(GBytes) frame = punch_framing_encode (g_bytes_get_data (payload, NULL),
                                                  300, 1024, NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) got = NULL;
  g_autoptr(GError) error = NULL;
  GOutputStream *out;
  GInputStream *in;
  GAsyncResult *slot = NULL;
  const guint8 *data;
  gsize len, i;
  gchar next[4];

  make_socket_pair (&a, &b);
  out = g_io_stream_get_output_stream (a);
  in = g_io_stream_get_input_stream (b);

  punch_framing_read_async (in, 1024, G_PRIORITY_DEFAULT, NULL, on_result, &slot);
  spin ();
  g_assert_null (slot);

  /* The frame trickles in one byte at a time; the read completes with
   * the last one and not before. The next frame's first bytes follow. */
  data = g_bytes_get_data (frame, &len);
  for (i = 0; i < len; i++)
    {
      g_assert_true (g_output_stream_write_all (out, data + i, 1, NULL, NULL, &error));
      g_assert_no_error (error);
      if (i + 1 < len)
        {
          spin ();
          g_assert_null (slot);
        }
    }
  g_assert_true (g_output_stream_write_all (out, "\x02xy", 3, NULL, NULL, &error));

  result = wait_for (&slot);
  got = punch_framing_read_finish (in, result, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (got, payload));

  g_assert_true (g_input_stream_read_all (in, next, 3, &len, NULL, &error));
  g_assert_cmpmem (next, len, "\x02xy", 3);
}

static void
test_async_socket_cancel_pending (void)
{
  g_autoptr(GIOStream) a = NULL;
  g_autoptr(GIOStream) b = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) got = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  GInputStream *in;

  make_socket_pair (&a, &b);
  in = g_io_stream_get_input_stream (b);

  /* Waiting for a byte that never comes; then cancelled. */
  punch_framing_read_async (in, 1024, G_PRIORITY_DEFAULT, cancellable, on_result, &slot);
  spin ();
  g_assert_null (slot);
  g_cancellable_cancel (cancellable);
  result = wait_for (&slot);
  got = punch_framing_read_finish (in, result, &error);
  g_assert_null (got);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_async_socket_peer_closes (void)
{
  g_autoptr(GIOStream) a = NULL;
  g_autoptr(GIOStream) b = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) got = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *slot = NULL;
  GInputStream *in;

  make_socket_pair (&a, &b);
  in = g_io_stream_get_input_stream (b);

  /* Half a payload, then the writer closes. */
  punch_framing_read_async (in, 1024, G_PRIORITY_DEFAULT, NULL, on_result, &slot);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (a),
                                            "\x04" "ab", 3, NULL, NULL, NULL));
  spin ();
  g_assert_null (slot);
  g_assert_true (g_io_stream_close (a, NULL, NULL));
  result = wait_for (&slot);
  got = punch_framing_read_finish (in, result, &error);
  g_assert_null (got);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/framing/encode", test_encode);
  g_test_add_func ("/framing/encode/too-large", test_encode_too_large);
  g_test_add_func ("/framing/parse", test_parse);
  g_test_add_func ("/framing/parse/limits", test_parse_limits);
  g_test_add_func ("/framing/decoder/byte-by-byte", test_decoder_byte_by_byte);
  g_test_add_func ("/framing/decoder/chunks", test_decoder_chunks);
  g_test_add_func ("/framing/decoder/limits", test_decoder_limits);
  g_test_add_func ("/framing/decoder/malformed", test_decoder_malformed);
  g_test_add_func ("/framing/async/memory-roundtrip", test_async_memory_roundtrip);
  g_test_add_func ("/framing/async/closed", test_async_closed);
  g_test_add_func ("/framing/async/errors", test_async_errors);
  g_test_add_func ("/framing/async/exact-max", test_async_exact_max);
  g_test_add_func ("/framing/async/large", test_async_large);
  g_test_add_func ("/framing/async/cancelled", test_async_cancelled);
  g_test_add_func ("/framing/async/socket-byte-by-byte", test_async_socket_byte_by_byte);
  g_test_add_func ("/framing/async/socket-cancel-pending", test_async_socket_cancel_pending);
  g_test_add_func ("/framing/async/socket-peer-closes", test_async_socket_peer_closes);

  return g_test_run ();
}
