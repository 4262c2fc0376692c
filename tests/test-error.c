/* test-error.c: the PUNCH_ERROR domain and its GType.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <punch.h>

static void
test_error_quark (void)
{
  g_autoptr(GError) error = g_error_new (PUNCH_ERROR, PUNCH_ERROR_MALFORMED, "x");

  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED);
  g_assert_cmpstr (g_quark_to_string (PUNCH_ERROR), ==, "punch-error-quark");
}

static void
test_error_enum_type (void)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (PUNCH_TYPE_ERROR);
  GEnumValue *value = g_enum_get_value (klass, PUNCH_ERROR_PEER_ID_MISMATCH);

  g_assert_nonnull (value);
  g_assert_cmpstr (value->value_nick, ==, "peer-id-mismatch");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/error/quark", test_error_quark);
  g_test_add_func ("/error/enum-type", test_error_enum_type);

  return g_test_run ();
}
