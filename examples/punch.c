/* punch.c: the punch command-line tool.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Links only the exported API of libpunch-1.0. Results go to stdout,
 * errors to stderr as one line "punch: ...". Exit status: 0 on success,
 * 1 when the operation failed (bad key file, bad address...), 2 on a
 * usage error.
 */
#include <punch.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
};

typedef struct {
  const char *name;
  const char *args;
  const char *summary;
  int (*run) (int argc, char **argv);
} Command;

static int
fail (const GError *error)
{
  g_printerr ("punch: %s\n", error->message);
  return EXIT_FAILED;
}

static int
usage_error (const char *usage, const char *message)
{
  g_printerr ("punch: %s\nusage: punch %s\n", message, usage);
  return EXIT_USAGE;
}

/* Parses options of one command; leaves the positional arguments in
 * argc/argv (argv[0] being the command's name). */
static gboolean
parse_options (const char    *usage,
               const char    *summary,
               GOptionEntry  *entries,
               int           *argc,
               char        ***argv,
               int            n_positional)
{
  g_autoptr(GOptionContext) context = g_option_context_new (usage);
  g_autoptr(GError) error = NULL;

  g_option_context_set_summary (context, summary);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      usage_error (usage, error->message);
      return FALSE;
    }
  if (*argc - 1 != n_positional)
    {
      usage_error (usage, *argc - 1 < n_positional ? "missing argument"
                                                   : "too many arguments");
      return FALSE;
    }
  return TRUE;
}

/* punch id new FILE [--type TYPE] */
static int
cmd_id_new (int argc, char **argv)
{
  g_autofree char *type_name = NULL;
  gboolean force = FALSE;
  GOptionEntry entries[] = {
    { "type", 't', 0, G_OPTION_ARG_STRING, &type_name,
      "Key type: ed25519 (default), ecdsa or rsa", "TYPE" },
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force,
      "Overwrite FILE if it exists", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = NULL;
  PunchPeerId *peer_id;
  g_autofree char *text = NULL;
  PunchKeyType type = PUNCH_KEY_TYPE_ED25519;

  if (!parse_options ("id new FILE", "Creates a new identity key file (mode 0600).",
                      entries, &argc, &argv, 1))
    return EXIT_USAGE;

  if (type_name != NULL)
    {
      g_autoptr(GEnumClass) klass = g_type_class_ref (PUNCH_TYPE_KEY_TYPE);
      GEnumValue *value = g_enum_get_value_by_nick (klass, type_name);

      if (value == NULL)
        return usage_error ("id new FILE [--type ed25519|ecdsa|rsa]",
                            "unknown key type");
      type = value->value;
    }

  if (!force && g_file_test (argv[1], G_FILE_TEST_EXISTS))
    {
      g_printerr ("punch: %s exists; use --force to replace it\n", argv[1]);
      return EXIT_FAILED;
    }

  keypair = punch_keypair_generate (type, &error);
  if (keypair == NULL || !punch_keypair_save (keypair, argv[1], &error))
    return fail (error);

  peer_id = punch_keypair_get_peer_id (keypair);
  text = punch_peer_id_to_string (peer_id);
  g_print ("%s\n", text);
  return EXIT_OK;
}

/* punch id show FILE */
static int
cmd_id_show (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = NULL;
  PunchPeerId *peer_id;
  g_autofree char *text = NULL;

  if (!parse_options ("id show FILE", "Prints the peer id of an identity key file.",
                      NULL, &argc, &argv, 1))
    return EXIT_USAGE;

  keypair = punch_keypair_load (argv[1], &error);
  if (keypair == NULL)
    return fail (error);

  peer_id = punch_keypair_get_peer_id (keypair);
  text = punch_peer_id_to_string (peer_id);
  g_print ("%s\n", text);
  return EXIT_OK;
}

static GBytes *
hex_decode (const char *hex, GError **error)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  gsize len = strlen (hex);

  if (len == 0 || len % 2 != 0)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "hex input must have an even, non-zero number of digits");
      return NULL;
    }
  for (gsize i = 0; i < len; i += 2)
    {
      int hi = g_ascii_xdigit_value (hex[i]);
      int lo = g_ascii_xdigit_value (hex[i + 1]);
      guint8 byte;

      if (hi < 0 || lo < 0)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "not a hex digit at position %" G_GSIZE_FORMAT,
                       hi < 0 ? i : i + 1);
          return NULL;
        }
      byte = (guint8) (hi << 4 | lo);
      g_byte_array_append (out, &byte, 1);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* punch addr encode TEXT */
static int
cmd_addr_encode (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) addr = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GString) hex = g_string_new (NULL);
  const guint8 *data;
  gsize len;

  if (!parse_options ("addr encode MULTIADDR",
                      "Prints the binary form of a multiaddr, in hex.",
                      NULL, &argc, &argv, 1))
    return EXIT_USAGE;

  addr = punch_multiaddr_new_from_string (argv[1], &error);
  if (addr == NULL)
    return fail (error);

  bytes = punch_multiaddr_get_bytes (addr);
  data = g_bytes_get_data (bytes, &len);
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (hex, "%02x", data[i]);
  g_print ("%s\n", hex->str);
  return EXIT_OK;
}

/* punch addr decode HEX */
static int
cmd_addr_decode (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(PunchMultiaddr) addr = NULL;
  g_autofree char *text = NULL;

  if (!parse_options ("addr decode HEX",
                      "Prints the text form of a binary multiaddr given in hex.",
                      NULL, &argc, &argv, 1))
    return EXIT_USAGE;

  bytes = hex_decode (argv[1], &error);
  if (bytes == NULL)
    return fail (error);
  addr = punch_multiaddr_new_from_bytes (bytes, &error);
  if (addr == NULL)
    return fail (error);

  text = punch_multiaddr_to_string (addr);
  g_print ("%s\n", text);
  return EXIT_OK;
}

static const Command commands[] = {
  { "id new", "FILE [--type TYPE] [--force]", "create an identity key file", cmd_id_new },
  { "id show", "FILE", "print the peer id of a key file", cmd_id_show },
  { "addr encode", "MULTIADDR", "multiaddr text to binary (hex)", cmd_addr_encode },
  { "addr decode", "HEX", "binary multiaddr (hex) to text", cmd_addr_decode },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "usage: punch COMMAND [ARGS...]\n\ncommands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  punch %s %s\n      %s\n", commands[i].name,
             commands[i].args, commands[i].summary);
  fprintf (out, "\n  punch --version\n");
}

int
main (int argc, char **argv)
{
  if (argc >= 2 && g_str_equal (argv[1], "--version"))
    {
      g_print ("punch %s\n", PUNCH_VERSION_STRING);
      return EXIT_OK;
    }
  if (argc >= 2 && (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h")))
    {
      print_usage (stdout);
      return EXIT_OK;
    }

  /* Commands are two words ("id new"); the second word becomes argv[0]
   * of the command, so its option parser sees "new FILE ...". */
  for (gsize i = 0; argc >= 3 && i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree char *name = g_strdup_printf ("%s %s", argv[1], argv[2]);

      if (g_str_equal (name, commands[i].name))
        return commands[i].run (argc - 2, argv + 2);
    }

  if (argc >= 2)
    g_printerr ("punch: unknown command '%s%s%s'\n", argv[1],
                argc >= 3 ? " " : "", argc >= 3 ? argv[2] : "");
  print_usage (stderr);
  return EXIT_USAGE;
}
