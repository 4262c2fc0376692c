/* punch.c: the punch command-line tool.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <punch.h>

#include <stdio.h>
#include <stdlib.h>

int
main (int argc, char **argv)
{
  if (argc >= 2 && g_str_equal (argv[1], "--version"))
    {
      g_print ("punch %s\n", PUNCH_VERSION_STRING);
      return EXIT_SUCCESS;
    }
  g_printerr ("usage: punch --version\n");
  return EXIT_FAILURE;
}
