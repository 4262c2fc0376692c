/* test-varint.c: multiformats unsigned varints.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include <punch.h>

#include "punch-varint.h"

typedef struct {
  guint64 value;
  gsize len;
  guint8 bytes[PUNCH_VARINT_MAX_LEN];
} VarintVector;

/* The examples of multiformats/unsigned-varint README.md, and the limits. */
static const VarintVector vectors[] = {
  { 0, 1, { 0x00 } },
  { 1, 1, { 0x01 } },
  { 127, 1, { 0x7f } },
  { 128, 2, { 0x80, 0x01 } },
  { 255, 2, { 0xff, 0x01 } },
  { 300, 2, { 0xac, 0x02 } },
  { 16383, 2, { 0xff, 0x7f } },
  { 16384, 3, { 0x80, 0x80, 0x01 } },
  { G_GUINT64_CONSTANT (0x7fffffffffffffff), 9,
    { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f } },
};

static void
test_varint_vectors (void)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (vectors); i++)
    {
      const VarintVector *v = &vectors[i];
      guint8 buf[PUNCH_VARINT_MAX_LEN + 1];
      g_autoptr(GError) error = NULL;
      guint64 value = 12345;
      gsize consumed = 0;

      memset (buf, 0xaa, sizeof buf);
      g_assert_cmpuint (punch_varint_size (v->value), ==, v->len);
      g_assert_cmpuint (punch_varint_encode (v->value, buf), ==, v->len);
      g_assert_cmpmem (buf, v->len, v->bytes, v->len);
      /* Nothing written past the end. */
      g_assert_cmpuint (buf[v->len], ==, 0xaa);

      g_assert_true (punch_varint_decode (v->bytes, v->len, &value, &consumed,
                                          &error));
      g_assert_no_error (error);
      g_assert_cmpuint (value, ==, v->value);
      g_assert_cmpuint (consumed, ==, v->len);
    }
}

static void
test_varint_trailing_data (void)
{
  const guint8 buf[] = { 0xac, 0x02, 0xff, 0xff };
  g_autoptr(GError) error = NULL;
  guint64 value = 0;
  gsize consumed = 0;

  g_assert_true (punch_varint_decode (buf, sizeof buf, &value, &consumed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (value, ==, 300);
  g_assert_cmpuint (consumed, ==, 2);

  /* The out parameters are optional. */
  g_assert_true (punch_varint_decode (buf, sizeof buf, NULL, NULL, NULL));
}

static void
test_varint_encode_too_large (void)
{
  guint8 buf[PUNCH_VARINT_MAX_LEN] = { 0 };

  if (g_test_subprocess ())
    {
      /* 2^63 needs 10 bytes: refused. */
      punch_varint_encode (G_GUINT64_CONSTANT (0x8000000000000000), buf);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*value <= PUNCH_VARINT_MAX_VALUE*");
}

static void
test_varint_size_too_large (void)
{
  if (g_test_subprocess ())
    {
      punch_varint_size (G_MAXUINT64);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*value <= PUNCH_VARINT_MAX_VALUE*");
}

static void
assert_decode_error (const guint8 *buf,
                     gsize         len,
                     gint          code)
{
  g_autoptr(GError) error = NULL;
  guint64 value = 42;
  gsize consumed = 42;

  g_assert_false (punch_varint_decode (buf, len, &value, &consumed, &error));
  g_assert_error (error, PUNCH_ERROR, code);
  /* Out parameters untouched on error. */
  g_assert_cmpuint (value, ==, 42);
  g_assert_cmpuint (consumed, ==, 42);
}

static void
test_varint_truncated (void)
{
  const guint8 nine[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f };
  gsize i;

  assert_decode_error (NULL, 0, PUNCH_ERROR_TRUNCATED);
  assert_decode_error ((const guint8 *) "\x80", 1, PUNCH_ERROR_TRUNCATED);
  assert_decode_error ((const guint8 *) "\xff\xff", 2, PUNCH_ERROR_TRUNCATED);
  /* Every proper prefix of the longest varint asks for more. */
  for (i = 0; i < sizeof nine; i++)
    assert_decode_error (nine, i, PUNCH_ERROR_TRUNCATED);
}

static void
test_varint_too_long (void)
{
  const guint8 ten[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
  const guint8 ten_zero[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };

  /* A 10-byte varint (2^63 and above) is refused, and so are nine bytes
   * that all ask for a tenth: there is no need to wait for it. */
  assert_decode_error (ten, sizeof ten, PUNCH_ERROR_MALFORMED);
  assert_decode_error (ten, 9, PUNCH_ERROR_MALFORMED);
  assert_decode_error (ten_zero, sizeof ten_zero, PUNCH_ERROR_MALFORMED);
}

static void
test_varint_non_minimal (void)
{
  assert_decode_error ((const guint8 *) "\x80\x00", 2, PUNCH_ERROR_MALFORMED);
  assert_decode_error ((const guint8 *) "\x81\x00", 2, PUNCH_ERROR_MALFORMED);
  assert_decode_error ((const guint8 *) "\xff\x80\x00", 3, PUNCH_ERROR_MALFORMED);
  assert_decode_error ((const guint8 *) "\x80\x80\x80\x00", 4, PUNCH_ERROR_MALFORMED);
}

static void
test_varint_all_lengths (void)
{
  guint shift;

  /* 2^(7k) - 1 and 2^(7k) straddle each length boundary. */
  for (shift = 7; shift < 63; shift += 7)
    {
      guint64 below = (G_GUINT64_CONSTANT (1) << shift) - 1;
      guint64 at = G_GUINT64_CONSTANT (1) << shift;
      guint8 buf[PUNCH_VARINT_MAX_LEN];
      guint64 value = 0;
      gsize consumed = 0, n;

      g_assert_cmpuint (punch_varint_size (below), ==, shift / 7);
      g_assert_cmpuint (punch_varint_size (at), ==, shift / 7 + 1);

      n = punch_varint_encode (at, buf);
      g_assert_cmpuint (n, ==, shift / 7 + 1);
      g_assert_true (punch_varint_decode (buf, n, &value, &consumed, NULL));
      g_assert_cmpuint (value, ==, at);
      g_assert_cmpuint (consumed, ==, n);

      n = punch_varint_encode (below, buf);
      g_assert_true (punch_varint_decode (buf, n, &value, &consumed, NULL));
      g_assert_cmpuint (value, ==, below);
      g_assert_cmpuint (consumed, ==, n);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/varint/vectors", test_varint_vectors);
  g_test_add_func ("/varint/trailing-data", test_varint_trailing_data);
  g_test_add_func ("/varint/encode/too-large", test_varint_encode_too_large);
  g_test_add_func ("/varint/size/too-large", test_varint_size_too_large);
  g_test_add_func ("/varint/decode/truncated", test_varint_truncated);
  g_test_add_func ("/varint/decode/too-long", test_varint_too_long);
  g_test_add_func ("/varint/decode/non-minimal", test_varint_non_minimal);
  g_test_add_func ("/varint/all-lengths", test_varint_all_lengths);

  return g_test_run ();
}
