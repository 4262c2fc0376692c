/* test-multistream.c: multistream-select 1.0 codec and negotiation machine.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include <punch.h>

#include "punch-multistream.h"
#include "punch-varint.h"

/* Hand-derived wire bytes.
 *
 * The header "/multistream/1.0.0" is '/' (1) + "multistream" (11) + '/' (1)
 * + "1.0.0" (5) = 18 bytes; with the newline the message is 19 = 0x13
 * bytes. 0x13 < 0x80, so its unsigned varint is the single byte 0x13.
 *
 * "na" is 2 bytes, 3 with the newline: 0x03 'n' 'a' '\n', the 0x036e610a
 * that connections/README.md shows. */
static const guint8 header_msg[] = {
  0x13, '/', 'm', 'u', 'l', 't', 'i', 's', 't', 'r', 'e', 'a', 'm',
  '/', '1', '.', '0', '.', '0', '\n',
};
static const guint8 na_msg[] = { 0x03, 'n', 'a', '\n' };

/* "/a/1.0.0" is 8 bytes, 9 = 0x09 with the newline. */
static const guint8 proto_a_msg[] = {
  0x09, '/', 'a', '/', '1', '.', '0', '.', '0', '\n',
};

static const gchar * const listener_protocols[] = {
  "/yamux/1.0.0", "/a/1.0.0", NULL,
};

static GByteArray *
bytes_concat (const guint8 *a, gsize a_len,
              const guint8 *b, gsize b_len,
              const guint8 *c, gsize c_len)
{
  GByteArray *out = g_byte_array_new ();

  g_byte_array_append (out, a, a_len);
  g_byte_array_append (out, b, b_len);
  g_byte_array_append (out, c, c_len);
  return out;
}

static void
assert_bytes_equal (GBytes *bytes, const guint8 *expected, gsize expected_len)
{
  gsize len = 0;
  const guint8 *data;

  g_assert_nonnull (bytes);
  data = g_bytes_get_data (bytes, &len);
  g_assert_cmpmem (data, len, expected, expected_len);
}

/* Codec */

static void
test_codec_header_bytes (void)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  g_assert_cmpuint (strlen (PUNCH_MULTISTREAM_PROTOCOL_ID), ==, 18);
  punch_multistream_write_message (out, PUNCH_MULTISTREAM_PROTOCOL_ID);
  g_assert_cmpmem (out->data, out->len, header_msg, sizeof header_msg);
}

static void
test_codec_na_bytes (void)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree gchar *line = NULL;
  gsize consumed = 0;

  punch_multistream_write_message (out, "na");
  g_assert_cmpmem (out->data, out->len, na_msg, sizeof na_msg);

  g_assert_true (punch_multistream_read_message (na_msg, sizeof na_msg,
                                                 &line, &consumed, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "na");
  g_assert_cmpuint (consumed, ==, 4);
}

/* Lengths of 128 and more take a two-byte varint: 201 = 0x49 + 1 * 128
 * gives 0xc9 0x01; the largest message, 1024 = 0 + 8 * 128, gives
 * 0x80 0x08. */
static void
test_codec_two_byte_prefix (void)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree gchar *line = NULL;
  g_autofree gchar *p200 = g_strnfill (200, 'x');
  g_autofree gchar *p1023 = g_strnfill (1023, 'y');
  g_autofree gchar *p1024 = g_strnfill (1024, 'z');
  gsize consumed = 0;

  punch_multistream_write_message (out, p200);
  g_assert_cmpuint (out->len, ==, 2 + 201);
  g_assert_cmphex (out->data[0], ==, 0xc9);
  g_assert_cmphex (out->data[1], ==, 0x01);
  g_assert_cmphex (out->data[out->len - 1], ==, '\n');
  g_assert_true (punch_multistream_read_message (out->data, out->len,
                                                 &line, &consumed, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, p200);
  g_assert_cmpuint (consumed, ==, out->len);
  g_clear_pointer (&line, g_free);

  g_byte_array_set_size (out, 0);
  g_assert_true (punch_multistream_is_valid_protocol (p1023));
  punch_multistream_write_message (out, p1023);
  g_assert_cmpuint (out->len, ==, 2 + 1024);
  g_assert_cmphex (out->data[0], ==, 0x80);
  g_assert_cmphex (out->data[1], ==, 0x08);
  g_assert_true (punch_multistream_read_message (out->data, out->len,
                                                 &line, &consumed, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, p1023);

  /* One more byte is over the limit. */
  g_assert_false (punch_multistream_is_valid_protocol (p1024));
}

static void
test_codec_valid_protocol (void)
{
  g_assert_true (punch_multistream_is_valid_protocol ("/yamux/1.0.0"));
  /* Any string is a protocol id: no leading '/' needed. */
  g_assert_true (punch_multistream_is_valid_protocol ("libp2p"));
  g_assert_true (punch_multistream_is_valid_protocol ("/é/1"));
  g_assert_false (punch_multistream_is_valid_protocol (NULL));
  g_assert_false (punch_multistream_is_valid_protocol (""));
  g_assert_false (punch_multistream_is_valid_protocol ("/a\n/b"));
  g_assert_false (punch_multistream_is_valid_protocol ("/\xff/1"));
}

static void
test_codec_truncated (void)
{
  g_autoptr(GError) error = NULL;
  static const guint8 half_prefix[] = { 0x80 };

  /* Every proper prefix of a message asks for more bytes. */
  for (gsize i = 0; i < sizeof header_msg; i++)
    {
      g_assert_false (punch_multistream_read_message (header_msg, i, NULL, NULL, &error));
      g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED);
      g_clear_error (&error);
    }

  g_assert_false (punch_multistream_read_message (half_prefix, 1, NULL, NULL, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED);
}

typedef struct {
  const gchar *name;
  const guint8 *data;
  gsize len;
  gint code;
} BadMessage;

#define BAD(name_, code_, ...) \
  { name_, (const guint8[]) { __VA_ARGS__ }, sizeof ((const guint8[]) { __VA_ARGS__ }), code_ }

static const BadMessage bad_messages[] = {
  BAD ("missing newline", PUNCH_ERROR_PROTOCOL, 0x03, 'n', 'a', 'x'),
  BAD ("zero-length message", PUNCH_ERROR_PROTOCOL, 0x00),
  BAD ("empty line", PUNCH_ERROR_PROTOCOL, 0x01, '\n'),
  BAD ("non-minimal varint", PUNCH_ERROR_PROTOCOL, 0x81, 0x00, '\n'),
  BAD ("non-UTF-8", PUNCH_ERROR_PROTOCOL, 0x03, 0xc3, 0x28, '\n'),
  BAD ("embedded NUL", PUNCH_ERROR_PROTOCOL, 0x04, '/', 0x00, 'a', '\n'),
  BAD ("embedded newline", PUNCH_ERROR_PROTOCOL, 0x04, '/', '\n', 'a', '\n'),
  /* 1025 = 0x01 + 8 * 128 */
  BAD ("length 1025", PUNCH_ERROR_TOO_LARGE, 0x81, 0x08),
  /* Three-byte prefixes encode 16384 or more: refused from two bytes. */
  BAD ("three-byte prefix", PUNCH_ERROR_TOO_LARGE, 0xff, 0xff),
  BAD ("garbage varint", PUNCH_ERROR_TOO_LARGE,
       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
};

static void
test_codec_malformed (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (bad_messages); i++)
    {
      const BadMessage *bad = &bad_messages[i];
      g_autoptr(GError) error = NULL;
      g_autofree gchar *line = NULL;

      g_test_message ("%s", bad->name);
      g_assert_false (punch_multistream_read_message (bad->data, bad->len,
                                                      &line, NULL, &error));
      g_assert_error (error, PUNCH_ERROR, bad->code);
      g_assert_null (line);
    }
}

/* Two machines and a queue */

typedef enum {
  DELIVER_WHOLE,
  DELIVER_BYTEWISE,
} Delivery;

static void
deliver (PunchMultistream *from,
         PunchMultistream *to,
         Delivery          delivery,
         gboolean         *progressed)
{
  g_autoptr(GBytes) out = punch_multistream_pull_output (from);
  g_autoptr(GError) error = NULL;
  const guint8 *data;
  gsize len = 0;

  if (out == NULL)
    return;
  *progressed = TRUE;

  /* A machine that failed gets nothing more (the stream is closed). */
  if (punch_multistream_get_state (to) == PUNCH_MULTISTREAM_FAILED)
    return;

  data = g_bytes_get_data (out, &len);
  if (delivery == DELIVER_WHOLE)
    {
      if (!punch_multistream_receive (to, data, len, &error))
        g_test_message ("receive: %s", error->message);
      return;
    }

  for (gsize i = 0; i < len; i++)
    {
      if (!punch_multistream_receive (to, data + i, 1, &error))
        {
          g_test_message ("receive: %s", error->message);
          return;
        }
    }
}

/* Runs both sides until nothing is left to deliver (bounded). */
static void
run_pair (PunchMultistream *dialer,
          PunchMultistream *listener,
          Delivery          delivery)
{
  punch_multistream_start (dialer);
  punch_multistream_start (listener);

  for (guint round = 0; round < 32; round++)
    {
      gboolean progressed = FALSE;

      deliver (dialer, listener, delivery, &progressed);
      deliver (listener, dialer, delivery, &progressed);
      if (!progressed)
        return;
    }

  g_assert_not_reached ();
}

static void
check_success (const gchar * const *dialer_protocols,
               const gchar         *expected,
               Delivery             delivery)
{
  g_autoptr(PunchMultistream) dialer = punch_multistream_new_dialer (dialer_protocols);
  g_autoptr(PunchMultistream) listener =
    punch_multistream_new_listener_for_protocols (listener_protocols);

  g_assert_true (punch_multistream_is_dialer (dialer));
  g_assert_false (punch_multistream_is_dialer (listener));
  g_assert_null (punch_multistream_get_protocol (dialer));

  run_pair (dialer, listener, delivery);

  g_assert_cmpint (punch_multistream_get_state (dialer), ==, PUNCH_MULTISTREAM_DONE);
  g_assert_cmpint (punch_multistream_get_state (listener), ==, PUNCH_MULTISTREAM_DONE);
  g_assert_cmpstr (punch_multistream_get_protocol (dialer), ==, expected);
  g_assert_cmpstr (punch_multistream_get_protocol (listener), ==, expected);
  g_assert_null (punch_multistream_steal_remaining (dialer));
  g_assert_null (punch_multistream_steal_remaining (listener));
  g_assert_null (punch_multistream_pull_output (dialer));
  g_assert_null (punch_multistream_pull_output (listener));
}

static void
test_negotiate_first (void)
{
  const gchar * const protocols[] = { "/a/1.0.0", "/b/1.0.0", NULL };

  check_success (protocols, "/a/1.0.0", DELIVER_WHOLE);
}

static void
test_negotiate_after_one_na (void)
{
  const gchar * const protocols[] = { "/b/1.0.0", "/a/1.0.0", NULL };

  check_success (protocols, "/a/1.0.0", DELIVER_WHOLE);
}

static void
test_negotiate_after_two_na (void)
{
  const gchar * const protocols[] = { "/b/1.0.0", "/c/2.0.0", "/yamux/1.0.0", NULL };

  check_success (protocols, "/yamux/1.0.0", DELIVER_WHOLE);
}

static void
test_negotiate_bytewise (void)
{
  const gchar * const protocols[] = { "/b/1.0.0", "/c/2.0.0", "/a/1.0.0", NULL };

  check_success (protocols, "/a/1.0.0", DELIVER_BYTEWISE);
}

static void
test_negotiate_unsupported (void)
{
  const gchar * const protocols[] = { "/b/1.0.0", "/c/1.0.0", NULL };
  g_autoptr(PunchMultistream) dialer = punch_multistream_new_dialer (protocols);
  g_autoptr(PunchMultistream) listener =
    punch_multistream_new_listener_for_protocols (listener_protocols);
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) answers = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) expected = NULL;
  const guint8 *data;
  gsize len = 0;

  punch_multistream_start (dialer);
  punch_multistream_start (listener);

  out = punch_multistream_pull_output (dialer);
  data = g_bytes_get_data (out, &len);
  g_assert_true (punch_multistream_receive (listener, data, len, &error));
  g_assert_no_error (error);
  g_clear_pointer (&out, g_bytes_unref);

  /* header, na */
  answers = punch_multistream_pull_output (listener);
  expected = bytes_concat (header_msg, sizeof header_msg, na_msg, sizeof na_msg, NULL, 0);
  assert_bytes_equal (answers, expected->data, expected->len);
  data = g_bytes_get_data (answers, &len);
  g_assert_true (punch_multistream_receive (dialer, data, len, &error));
  g_assert_no_error (error);
  g_assert_cmpint (punch_multistream_get_state (dialer), ==, PUNCH_MULTISTREAM_NEGOTIATING);

  out = punch_multistream_pull_output (dialer);
  data = g_bytes_get_data (out, &len);
  g_assert_true (punch_multistream_receive (listener, data, len, &error));
  g_clear_pointer (&out, g_bytes_unref);
  out = punch_multistream_pull_output (listener);
  assert_bytes_equal (out, na_msg, sizeof na_msg);

  g_assert_false (punch_multistream_receive (dialer, na_msg, sizeof na_msg, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED);
  g_assert_cmpint (punch_multistream_get_state (dialer), ==, PUNCH_MULTISTREAM_FAILED);
  g_assert_null (punch_multistream_get_protocol (dialer));
  g_assert_null (punch_multistream_pull_output (dialer));
  g_assert_cmpint (punch_multistream_get_state (listener), ==, PUNCH_MULTISTREAM_NEGOTIATING);
}

/* The dialer's start output is the header and its first proposal,
 * pipelined; the listener's is the header alone. */
static void
test_start_output (void)
{
  const gchar * const protocols[] = { "/a/1.0.0", NULL };
  g_autoptr(PunchMultistream) dialer = punch_multistream_new_dialer (protocols);
  g_autoptr(PunchMultistream) listener =
    punch_multistream_new_listener_for_protocols (listener_protocols);
  g_autoptr(GBytes) d_out = NULL;
  g_autoptr(GBytes) l_out = NULL;
  g_autoptr(GByteArray) expected =
    bytes_concat (header_msg, sizeof header_msg, proto_a_msg, sizeof proto_a_msg, NULL, 0);

  g_assert_null (punch_multistream_pull_output (dialer));
  punch_multistream_start (dialer);
  punch_multistream_start (listener);
  d_out = punch_multistream_pull_output (dialer);
  l_out = punch_multistream_pull_output (listener);
  assert_bytes_equal (d_out, expected->data, expected->len);
  assert_bytes_equal (l_out, header_msg, sizeof header_msg);
  g_assert_null (punch_multistream_pull_output (dialer));
}

/* V1Lazy: header + proposal + application data in one read. */
static void
test_listener_lazy_data (void)
{
  static const guint8 app[] = { 0x00, 0x0a, '\n', 0xff, 0x13, 'x' };
  g_autoptr(PunchMultistream) listener =
    punch_multistream_new_listener_for_protocols (listener_protocols);
  g_autoptr(GByteArray) chunk =
    bytes_concat (header_msg, sizeof header_msg, proto_a_msg, sizeof proto_a_msg,
                  app, sizeof app);
  g_autoptr(GByteArray) expected =
    bytes_concat (header_msg, sizeof header_msg, proto_a_msg, sizeof proto_a_msg, NULL, 0);
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) remaining = NULL;
  g_autoptr(GBytes) later = NULL;
  g_autoptr(GError) error = NULL;

  punch_multistream_start (listener);
  g_assert_true (punch_multistream_receive (listener, chunk->data, chunk->len, &error));
  g_assert_no_error (error);
  g_assert_cmpint (punch_multistream_get_state (listener), ==, PUNCH_MULTISTREAM_DONE);
  g_assert_cmpstr (punch_multistream_get_protocol (listener), ==, "/a/1.0.0");

  out = punch_multistream_pull_output (listener);
  assert_bytes_equal (out, expected->data, expected->len);

  remaining = punch_multistream_steal_remaining (listener);
  assert_bytes_equal (remaining, app, sizeof app);
  g_assert_null (punch_multistream_steal_remaining (listener));

  /* Later reads go to the application too, untouched. */
  g_assert_true (punch_multistream_receive (listener, na_msg, sizeof na_msg, &error));
  later = punch_multistream_steal_remaining (listener);
  assert_bytes_equal (later, na_msg, sizeof na_msg);
}

/* The listener's header, echo and first data in one read of the dialer,
 * after one refused proposal. */
static void
test_dialer_remaining_data (void)
{
  static const guint8 app[] = { 0x00, 0x00, 0x00, 0x0c, 'y', 'a', 'm' };
  const gchar * const protocols[] = { "/b/1.0.0", "/a/1.0.0", NULL };
  g_autoptr(PunchMultistream) dialer = punch_multistream_new_dialer (protocols);
  g_autoptr(GByteArray) first = bytes_concat (header_msg, sizeof header_msg,
                                              na_msg, sizeof na_msg, NULL, 0);
  g_autoptr(GByteArray) second = bytes_concat (proto_a_msg, sizeof proto_a_msg,
                                               app, sizeof app, NULL, 0);
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) remaining = NULL;
  g_autoptr(GError) error = NULL;

  punch_multistream_start (dialer);
  out = punch_multistream_pull_output (dialer);

  g_assert_true (punch_multistream_receive (dialer, first->data, first->len, &error));
  g_assert_no_error (error);
  g_clear_pointer (&out, g_bytes_unref);
  out = punch_multistream_pull_output (dialer);
  assert_bytes_equal (out, proto_a_msg, sizeof proto_a_msg);

  g_assert_true (punch_multistream_receive (dialer, second->data, second->len, &error));
  g_assert_no_error (error);
  g_assert_cmpint (punch_multistream_get_state (dialer), ==, PUNCH_MULTISTREAM_DONE);
  g_assert_cmpstr (punch_multistream_get_protocol (dialer), ==, "/a/1.0.0");
  remaining = punch_multistream_steal_remaining (dialer);
  assert_bytes_equal (remaining, app, sizeof app);
  g_assert_null (punch_multistream_pull_output (dialer));
}

/* Byte-at-a-time with application data behind the proposal: nothing of
 * it may be eaten. */
static void
test_listener_bytewise_remaining (void)
{
  static const guint8 app[] = { 0x01, 0x02, 0x03 };
  g_autoptr(PunchMultistream) listener =
    punch_multistream_new_listener_for_protocols (listener_protocols);
  g_autoptr(GByteArray) chunk =
    bytes_concat (header_msg, sizeof header_msg, proto_a_msg, sizeof proto_a_msg,
                  app, sizeof app);
  g_autoptr(GByteArray) collected = g_byte_array_new ();

  punch_multistream_start (listener);
  for (gsize i = 0; i < chunk->len; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) part = NULL;

      g_assert_true (punch_multistream_receive (listener, chunk->data + i, 1, &error));
      g_assert_no_error (error);
      part = punch_multistream_steal_remaining (listener);
      if (part != NULL)
        g_byte_array_append (collected, g_bytes_get_data (part, NULL),
                             (guint) g_bytes_get_size (part));
      /* Done exactly when the proposal's newline arrives. */
      g_assert_cmpint (punch_multistream_get_state (listener), ==,
                       i + 1 >= sizeof header_msg + sizeof proto_a_msg ?
                       PUNCH_MULTISTREAM_DONE : PUNCH_MULTISTREAM_NEGOTIATING);
    }

  g_assert_cmpmem (collected->data, collected->len, app, sizeof app);
}

static void
feed_listener (PunchMultistream *listener,
               const gchar      *line)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();
  g_autoptr(GError) error = NULL;

  punch_multistream_write_message (msg, line);
  g_assert_true (punch_multistream_receive (listener, msg->data, msg->len, &error));
  g_assert_no_error (error);
}

/* "ls" and the header as a proposal are answered "na". */
static void
test_listener_ls_and_header (void)
{
  g_autoptr(PunchMultistream) listener =
    punch_multistream_new_listener_for_protocols (listener_protocols);
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GByteArray) expected =
    bytes_concat (na_msg, sizeof na_msg, na_msg, sizeof na_msg, NULL, 0);

  punch_multistream_start (listener);
  out = punch_multistream_pull_output (listener);
  g_clear_pointer (&out, g_bytes_unref);

  feed_listener (listener, PUNCH_MULTISTREAM_PROTOCOL_ID);
  g_assert_null (punch_multistream_pull_output (listener));
  feed_listener (listener, "ls");
  feed_listener (listener, PUNCH_MULTISTREAM_PROTOCOL_ID);
  out = punch_multistream_pull_output (listener);
  assert_bytes_equal (out, expected->data, expected->len);
  g_assert_cmpint (punch_multistream_get_state (listener), ==, PUNCH_MULTISTREAM_NEGOTIATING);
}

static gboolean
match_prefix (const gchar *protocol,
              gpointer     user_data)
{
  return g_str_has_prefix (protocol, user_data);
}

static void
count_free (gpointer data)
{
  (*(guint *) data)++;
}

static gboolean
match_bare (const gchar *protocol,
            gpointer     user_data)
{
  return strcmp (protocol, "libp2p") == 0;
}

/* Ids without a leading '/' are valid: the match function decides. */
static void
test_listener_match_func (void)
{
  g_autoptr(PunchMultistream) listener = NULL;
  g_autoptr(PunchMultistream) bare = NULL;
  g_autoptr(GBytes) out = NULL;
  guint freed = 0;

  listener = punch_multistream_new_listener (match_prefix, (gpointer) "/echo/", NULL);
  punch_multistream_start (listener);
  feed_listener (listener, PUNCH_MULTISTREAM_PROTOCOL_ID);
  feed_listener (listener, "echo/1.0.0");
  g_assert_cmpint (punch_multistream_get_state (listener), ==, PUNCH_MULTISTREAM_NEGOTIATING);
  feed_listener (listener, "/echo/2.1.0");
  g_assert_cmpint (punch_multistream_get_state (listener), ==, PUNCH_MULTISTREAM_DONE);
  g_assert_cmpstr (punch_multistream_get_protocol (listener), ==, "/echo/2.1.0");

  bare = punch_multistream_new_listener (match_bare, &freed, count_free);
  punch_multistream_start (bare);
  out = punch_multistream_pull_output (bare);
  feed_listener (bare, PUNCH_MULTISTREAM_PROTOCOL_ID);
  feed_listener (bare, "libp2p");
  g_assert_cmpstr (punch_multistream_get_protocol (bare), ==, "libp2p");
  g_clear_pointer (&bare, punch_multistream_free);
  g_assert_cmpuint (freed, ==, 1);
}

static void
test_listener_too_many_proposals (void)
{
  g_autoptr(PunchMultistream) listener =
    punch_multistream_new_listener_for_protocols (listener_protocols);
  g_autoptr(GByteArray) chunk = g_byte_array_new ();
  g_autoptr(GError) error = NULL;

  punch_multistream_start (listener);
  punch_multistream_write_message (chunk, PUNCH_MULTISTREAM_PROTOCOL_ID);
  for (guint i = 0; i < PUNCH_MULTISTREAM_MAX_PROPOSALS; i++)
    punch_multistream_write_message (chunk, "/nope/1.0.0");
  g_assert_true (punch_multistream_receive (listener, chunk->data, chunk->len, &error));
  g_assert_no_error (error);

  g_assert_cmpint (punch_multistream_get_state (listener), ==, PUNCH_MULTISTREAM_NEGOTIATING);

  /* One more refusal is one too many. */
  g_byte_array_set_size (chunk, 0);
  punch_multistream_write_message (chunk, "/nope/2.0.0");
  g_assert_false (punch_multistream_receive (listener, chunk->data, chunk->len, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_assert_cmpint (punch_multistream_get_state (listener), ==, PUNCH_MULTISTREAM_FAILED);
}

/* Malformed input to either side */

typedef struct {
  const gchar *name;
  gboolean to_dialer;
  gboolean after_header;  /* a valid header first */
  gint code;
  const guint8 *data;
  gsize len;
} BadInput;

#define BAD_INPUT(name_, to_dialer_, after_header_, code_, ...) \
  { name_, to_dialer_, after_header_, code_, (const guint8[]) { __VA_ARGS__ }, \
    sizeof ((const guint8[]) { __VA_ARGS__ }) }

static const BadInput bad_inputs[] = {
  /* "/multistream/2.0.0" */
  BAD_INPUT ("wrong header to listener", FALSE, FALSE, PUNCH_ERROR_PROTOCOL,
             0x13, '/', 'm', 'u', 'l', 't', 'i', 's', 't', 'r', 'e', 'a', 'm',
             '/', '2', '.', '0', '.', '0', '\n'),
  BAD_INPUT ("proposal before header", FALSE, FALSE, PUNCH_ERROR_PROTOCOL,
             0x09, '/', 'a', '/', '1', '.', '0', '.', '0', '\n'),
  BAD_INPUT ("na before header", TRUE, FALSE, PUNCH_ERROR_PROTOCOL,
             0x03, 'n', 'a', '\n'),
  BAD_INPUT ("unexpected answer", TRUE, TRUE, PUNCH_ERROR_PROTOCOL,
             0x09, '/', 'b', '/', '1', '.', '0', '.', '0', '\n'),
  BAD_INPUT ("header twice to dialer", TRUE, TRUE, PUNCH_ERROR_PROTOCOL,
             0x13, '/', 'm', 'u', 'l', 't', 'i', 's', 't', 'r', 'e', 'a', 'm',
             '/', '1', '.', '0', '.', '0', '\n'),
  BAD_INPUT ("missing newline", FALSE, TRUE, PUNCH_ERROR_PROTOCOL,
             0x03, '/', 'a', 'b'),
  BAD_INPUT ("header without newline", TRUE, FALSE, PUNCH_ERROR_PROTOCOL,
             0x12, '/', 'm', 'u', 'l', 't', 'i', 's', 't', 'r', 'e', 'a', 'm',
             '/', '1', '.', '0', '.', '0'),
  BAD_INPUT ("zero-length message", FALSE, TRUE, PUNCH_ERROR_PROTOCOL, 0x00),
  BAD_INPUT ("oversize length prefix", TRUE, FALSE, PUNCH_ERROR_TOO_LARGE, 0x81, 0x08),
  BAD_INPUT ("garbage varint", FALSE, TRUE, PUNCH_ERROR_TOO_LARGE,
             0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
  BAD_INPUT ("non-minimal varint", FALSE, FALSE, PUNCH_ERROR_PROTOCOL, 0x80, 0x00),
  BAD_INPUT ("non-UTF-8", FALSE, TRUE, PUNCH_ERROR_PROTOCOL, 0x04, '/', 0xfe, 'a', '\n'),
};

static void
test_malformed (void)
{
  const gchar * const protocols[] = { "/a/1.0.0", NULL };

  for (gsize i = 0; i < G_N_ELEMENTS (bad_inputs); i++)
    {
      const BadInput *bad = &bad_inputs[i];
      g_autoptr(PunchMultistream) ms = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", bad->name);
      ms = bad->to_dialer ? punch_multistream_new_dialer (protocols)
                          : punch_multistream_new_listener_for_protocols (listener_protocols);
      punch_multistream_start (ms);
      if (bad->after_header)
        {
          g_assert_true (punch_multistream_receive (ms, header_msg, sizeof header_msg, &error));
          g_assert_no_error (error);
        }
      g_assert_false (punch_multistream_receive (ms, bad->data, bad->len, &error));
      g_assert_error (error, PUNCH_ERROR, bad->code);
      g_assert_cmpint (punch_multistream_get_state (ms), ==, PUNCH_MULTISTREAM_FAILED);
      g_assert_null (punch_multistream_get_protocol (ms));
      g_assert_null (punch_multistream_steal_remaining (ms));
    }
}

/* A line of 1024 bytes (1025 with its newline) is refused as soon as the
 * prefix is in, before its body arrives. */
static void
test_overlong_line (void)
{
  g_autoptr(PunchMultistream) listener =
    punch_multistream_new_listener_for_protocols (listener_protocols);
  g_autoptr(GError) error = NULL;
  guint8 prefix[PUNCH_VARINT_MAX_LEN];
  gsize n;

  punch_multistream_start (listener);
  g_assert_true (punch_multistream_receive (listener, header_msg, sizeof header_msg, &error));

  n = punch_varint_encode (1025, prefix);
  g_assert_cmpuint (n, ==, 2);
  g_assert_true (punch_multistream_receive (listener, prefix, 1, &error));
  g_assert_no_error (error);
  g_assert_false (punch_multistream_receive (listener, prefix + 1, 1, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
}

/* The longest line, 1023 bytes, passes. */
static void
test_longest_line (void)
{
  g_autofree gchar *longest = g_strnfill (1023, 'p');
  const gchar * const protocols[] = { longest, NULL };
  const gchar * const accepted[] = { longest, NULL };
  g_autoptr(PunchMultistream) dialer = punch_multistream_new_dialer (protocols);
  g_autoptr(PunchMultistream) listener =
    punch_multistream_new_listener_for_protocols (accepted);

  run_pair (dialer, listener, DELIVER_WHOLE);
  g_assert_cmpint (punch_multistream_get_state (dialer), ==, PUNCH_MULTISTREAM_DONE);
  g_assert_cmpstr (punch_multistream_get_protocol (listener), ==, longest);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/multistream/codec/header-bytes", test_codec_header_bytes);
  g_test_add_func ("/multistream/codec/na-bytes", test_codec_na_bytes);
  g_test_add_func ("/multistream/codec/two-byte-prefix", test_codec_two_byte_prefix);
  g_test_add_func ("/multistream/codec/valid-protocol", test_codec_valid_protocol);
  g_test_add_func ("/multistream/codec/truncated", test_codec_truncated);
  g_test_add_func ("/multistream/codec/malformed", test_codec_malformed);
  g_test_add_func ("/multistream/start-output", test_start_output);
  g_test_add_func ("/multistream/negotiate/first", test_negotiate_first);
  g_test_add_func ("/multistream/negotiate/after-one-na", test_negotiate_after_one_na);
  g_test_add_func ("/multistream/negotiate/after-two-na", test_negotiate_after_two_na);
  g_test_add_func ("/multistream/negotiate/bytewise", test_negotiate_bytewise);
  g_test_add_func ("/multistream/negotiate/unsupported", test_negotiate_unsupported);
  g_test_add_func ("/multistream/negotiate/longest-line", test_longest_line);
  g_test_add_func ("/multistream/listener/lazy-data", test_listener_lazy_data);
  g_test_add_func ("/multistream/listener/bytewise-remaining", test_listener_bytewise_remaining);
  g_test_add_func ("/multistream/listener/ls-and-header", test_listener_ls_and_header);
  g_test_add_func ("/multistream/listener/match-func", test_listener_match_func);
  g_test_add_func ("/multistream/listener/too-many-proposals", test_listener_too_many_proposals);
  g_test_add_func ("/multistream/dialer/remaining-data", test_dialer_remaining_data);
  g_test_add_func ("/multistream/malformed/inputs", test_malformed);
  g_test_add_func ("/multistream/malformed/overlong-line", test_overlong_line);

  return g_test_run ();
}
