/* punch.c: the punch command-line tool.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Links only the exported API of libpunch-1.0. Results go to stdout,
 * errors to stderr as one line "punch: ...". With --json, `serve` and
 * `ping` print one JSON object per line per event instead. Exit status: 0 on success,
 * 1 when the operation failed (bad key file, bad address...), 2 on a
 * usage error.
 */
#include <punch.h>

#include <glib-unix.h>
#include <signal.h>
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

/* Reads @value, the value of option @name, as a whole number within
 * @min-@max into *@out; on anything else prints a usage error and
 * returns FALSE. */
static gboolean
parse_uint_option (const char *usage,
                   const char *name,
                   const char *value,
                   guint       min,
                   guint       max,
                   guint      *out)
{
  guint64 number;

  if (!g_ascii_string_to_unsigned (value, 10, min, max, &number, NULL))
    {
      g_autofree char *message = g_strdup_printf ("%s must be a whole number within %u-%u",
                                                  name, min, max);

      usage_error (usage, message);
      return FALSE;
    }
  *out = (guint) number;
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

/* JSON output: one object per line, written with a tiny escaper. */

static void
json_append_string (GString     *out,
                    const gchar *value)
{
  if (value == NULL)
    {
      g_string_append (out, "null");
      return;
    }
  g_string_append_c (out, '"');
  for (const guchar *p = (const guchar *) value; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '"':
          g_string_append (out, "\\\"");
          break;
        case '\\':
          g_string_append (out, "\\\\");
          break;
        case '\n':
          g_string_append (out, "\\n");
          break;
        case '\r':
          g_string_append (out, "\\r");
          break;
        case '\t':
          g_string_append (out, "\\t");
          break;
        default:
          if (*p < 0x20 || *p == 0x7f)
            g_string_append_printf (out, "\\u%04x", *p);
          else
            g_string_append_c (out, (gchar) *p);
        }
    }
  g_string_append_c (out, '"');
}

/* Strings that come from the network may be anything: keep JSON valid
 * UTF-8 by replacing invalid sequences. */
static void
json_append_text (GString     *out,
                  const gchar *value)
{
  g_autofree gchar *valid = value != NULL ? g_utf8_make_valid (value, -1) : NULL;

  json_append_string (out, valid);
}

static void
json_key (GString     *out,
          const gchar *key)
{
  if (out->len > 0 && out->str[out->len - 1] != '{')
    g_string_append_c (out, ',');
  json_append_string (out, key);
  g_string_append_c (out, ':');
}

static void
json_string_member (GString     *out,
                    const gchar *key,
                    const gchar *value)
{
  json_key (out, key);
  json_append_text (out, value);
}

static void
json_int_member (GString     *out,
                 const gchar *key,
                 gint64       value)
{
  json_key (out, key);
  g_string_append_printf (out, "%" G_GINT64_FORMAT, value);
}

static void
json_multiaddr_member (GString        *out,
                       const gchar    *key,
                       PunchMultiaddr *addr)
{
  g_autofree gchar *text = addr != NULL ? punch_multiaddr_to_string (addr) : NULL;

  json_string_member (out, key, text);
}

static void
json_strv_member (GString             *out,
                  const gchar         *key,
                  const gchar * const *values)
{
  json_key (out, key);
  g_string_append_c (out, '[');
  for (guint i = 0; values != NULL && values[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      json_append_text (out, values[i]);
    }
  g_string_append_c (out, ']');
}

static void
json_multiaddrs_member (GString     *out,
                        const gchar *key,
                        GPtrArray   *addrs)
{
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; addrs != NULL && i < addrs->len; i++)
    g_ptr_array_add (texts, punch_multiaddr_to_string (addrs->pdata[i]));
  g_ptr_array_add (texts, NULL);
  json_strv_member (out, key, (const gchar * const *) texts->pdata);
}

static GString *
json_event_new (const gchar *event)
{
  GString *out = g_string_new ("{");

  json_string_member (out, "event", event);
  return out;
}

static void
json_event_print (GString *out)
{
  g_string_append (out, "}\n");
  fputs (out->str, stdout);
  fflush (stdout);
  g_string_free (out, TRUE);
}

static void
print_line (const gchar *format,
            ...) G_GNUC_PRINTF (1, 2);

static void
print_line (const gchar *format,
            ...)
{
  va_list args;

  va_start (args, format);
  vfprintf (stdout, format, args);
  va_end (args);
  fputc ('\n', stdout);
  fflush (stdout);
}

static gchar *
peer_id_text (PunchPeerId *peer_id)
{
  return peer_id != NULL ? punch_peer_id_to_string (peer_id) : g_strdup ("unknown");
}

static const gchar *
direction_name (PunchDirection direction)
{
  return direction == PUNCH_DIRECTION_INBOUND ? "inbound" : "outbound";
}

/* The identity of a node: --key FILE, or a new Ed25519 key. */
static PunchKeypair *
load_or_generate_key (const gchar  *path,
                      GError      **error)
{
  if (path != NULL)
    return punch_keypair_load (path, error);
  return punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, error);
}

static void
print_identify (gboolean           json,
                PunchConnection   *connection,
                PunchIdentifyInfo *info)
{
  g_autofree gchar *peer = peer_id_text (punch_connection_get_remote_peer_id (connection));
  const gchar * const *protocols = punch_identify_info_get_protocols (info);
  GPtrArray *listen = punch_identify_info_get_listen_addresses (info);
  PunchMultiaddr *observed = punch_identify_info_get_observed_address (info);

  if (json)
    {
      GString *out = json_event_new ("identify-received");

      json_string_member (out, "peer_id", peer);
      json_string_member (out, "agent_version", punch_identify_info_get_agent_version (info));
      json_string_member (out, "protocol_version", punch_identify_info_get_protocol_version (info));
      json_strv_member (out, "protocols", protocols);
      json_multiaddrs_member (out, "listen_addrs", listen);
      json_multiaddr_member (out, "observed_addr", observed);
      json_event_print (out);
    }
  else
    {
      g_autofree gchar *joined = g_strjoinv (" ", (gchar **) protocols);
      g_autofree gchar *observed_text = observed != NULL ? punch_multiaddr_to_string (observed) : NULL;
      g_autofree gchar *agent = g_utf8_make_valid (punch_identify_info_get_agent_version (info) != NULL
                                                   ? punch_identify_info_get_agent_version (info)
                                                   : "unknown", -1);

      print_line ("identified %s: agent %s", peer, agent);
      print_line ("  protocols: %s", joined);
      for (guint i = 0; i < listen->len; i++)
        {
          g_autofree gchar *text = punch_multiaddr_to_string (listen->pdata[i]);

          print_line ("  listens on: %s", text);
        }
      if (observed_text != NULL)
        print_line ("  sees us at: %s", observed_text);
    }
}

/* The echo protocol that `punch serve` offers (tests use it): every byte
 * read is written back, until the peer closes its side. */
#define ECHO_PROTOCOL_ID "/punch/echo/1.0.0"
#define ECHO_BUFFER_SIZE (64 * 1024)

typedef struct {
  PunchStream *stream;
  guint8 *buf;
} Echo;

static void
echo_free (Echo *echo)
{
  g_object_unref (echo->stream);
  g_free (echo->buf);
  g_free (echo);
}

static void echo_read (Echo *echo);

static void
on_echo_closed (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  echo_free (user_data);
}

static void
on_echo_written (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Echo *echo = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      g_debug ("echo: write failed: %s", error->message);
      punch_stream_reset (echo->stream);
      echo_free (echo);
      return;
    }
  echo_read (echo);
}

static void
on_echo_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Echo *echo = user_data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (n < 0)
    {
      g_debug ("echo: read failed: %s", error->message);
      punch_stream_reset (echo->stream);
      echo_free (echo);
      return;
    }
  if (n == 0)
    {
      g_io_stream_close_async (G_IO_STREAM (echo->stream), G_PRIORITY_DEFAULT, NULL,
                               on_echo_closed, echo);
      return;
    }
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (echo->stream)),
                                   echo->buf, (gsize) n, G_PRIORITY_DEFAULT, NULL,
                                   on_echo_written, echo);
}

static void
echo_read (Echo *echo)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (echo->stream)),
                             echo->buf, ECHO_BUFFER_SIZE, G_PRIORITY_DEFAULT, NULL,
                             on_echo_read, echo);
}

typedef struct {
  gboolean json;
} Serve;

static void
handle_echo (PunchHost   *host,
             PunchStream *stream,
             gpointer     user_data)
{
  Echo *echo = g_new0 (Echo, 1);

  echo->stream = g_object_ref (stream);
  echo->buf = g_malloc (ECHO_BUFFER_SIZE);
  echo_read (echo);
}

/* Every inbound stream, whatever its protocol (identify, ping, echo...). */
static void
on_serve_stream_opened (PunchHost   *host,
                        PunchStream *stream,
                        gpointer     user_data)
{
  Serve *serve = user_data;
  PunchConnection *connection = punch_stream_get_connection (stream);
  g_autofree gchar *peer = peer_id_text (punch_connection_get_remote_peer_id (connection));

  if (serve->json)
    {
      GString *out = json_event_new ("stream-opened");

      json_string_member (out, "protocol", punch_stream_get_protocol (stream));
      json_string_member (out, "peer_id", peer);
      json_event_print (out);
    }
}

static void
on_serve_connection_opened (PunchHost       *host,
                            PunchConnection *connection,
                            gpointer         user_data)
{
  Serve *serve = user_data;
  g_autofree gchar *peer = peer_id_text (punch_connection_get_remote_peer_id (connection));
  g_autofree gchar *remote = NULL;
  PunchMultiaddr *remote_addr = punch_connection_get_remote_address (connection);

  remote = remote_addr != NULL ? punch_multiaddr_to_string (remote_addr) : NULL;
  if (serve->json)
    {
      GString *out = json_event_new ("connection-opened");

      json_string_member (out, "peer_id", peer);
      json_string_member (out, "remote_addr", remote);
      json_string_member (out, "direction", direction_name (punch_connection_get_direction (connection)));
      json_event_print (out);
    }
  else
    print_line ("connection opened: %s %s (%s)", peer, remote != NULL ? remote : "",
                direction_name (punch_connection_get_direction (connection)));
}

static void
on_serve_connection_closed (PunchHost       *host,
                            PunchConnection *connection,
                            const GError    *reason,
                            gpointer         user_data)
{
  Serve *serve = user_data;
  g_autofree gchar *peer = peer_id_text (punch_connection_get_remote_peer_id (connection));
  const gchar *why = reason != NULL ? reason->message : "closed";

  if (serve->json)
    {
      GString *out = json_event_new ("connection-closed");

      json_string_member (out, "peer_id", peer);
      json_string_member (out, "reason", why);
      json_event_print (out);
    }
  else
    print_line ("connection closed: %s (%s)", peer, why);
}

static void
on_serve_identify (PunchIdentify     *identify,
                   PunchConnection   *connection,
                   PunchIdentifyInfo *info,
                   gpointer           user_data)
{
  Serve *serve = user_data;

  print_identify (serve->json, connection, info);
}

static void
on_serve_autonat_request (PunchAutonatService *service,
                          PunchPeerId         *peer_id,
                          PunchAutonatStatus   status,
                          gpointer             user_data)
{
  Serve *serve = user_data;
  g_autoptr(GEnumClass) klass = g_type_class_ref (PUNCH_TYPE_AUTONAT_STATUS);
  GEnumValue *value = g_enum_get_value (klass, (gint) status);
  const gchar *name = value != NULL ? value->value_nick : "unknown";
  g_autofree gchar *peer = peer_id_text (peer_id);

  if (serve->json)
    {
      GString *out = json_event_new ("autonat-request");

      json_string_member (out, "peer_id", peer);
      json_string_member (out, "status", name);
      json_event_print (out);
    }
  else
    print_line ("autonat request from %s: %s", peer, name);
}

static gboolean
on_quit_signal (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

typedef struct {
  Serve *serve;
  gchar *address;
} ServeDial;

static void
on_serve_dialed (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  ServeDial *dial = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchConnection) connection = punch_host_dial_finish (PUNCH_HOST (source), result, &error);

  if (connection == NULL)
    {
      if (dial->serve->json)
        {
          GString *out = json_event_new ("dial-failed");

          json_string_member (out, "addr", dial->address);
          json_string_member (out, "error", error->message);
          json_event_print (out);
        }
      else
        g_printerr ("punch: cannot connect to %s: %s\n", dial->address, error->message);
    }
  g_free (dial->address);
  g_free (dial);
}

/* punch serve --listen MULTIADDR [--listen ...] [--connect MULTIADDR ...]
 *             [--max-connections N] [--autonat-service ...]
 *             [--relay-service ...] [--stun-port N] [--key FILE] [--json] */
static int
cmd_serve (int argc, char **argv)
{
  g_auto(GStrv) listen = NULL;
  g_auto(GStrv) connect_to = NULL;
  g_autofree gchar *key_path = NULL;
  gboolean json = FALSE;
  gboolean autonat_service = FALSE;
  gboolean allow_private = FALSE;
  gint stun_port = -1;
  gint dial_timeout_s = 0;
  gboolean relay_service = FALSE;
  gint64 relay_max_duration = -1, relay_max_data = -1, relay_max_reservations = -1;
  gint64 relay_max_per_ip = -1, relay_max_circuits_per_peer = -1, relay_ttl = -1;
  gint64 relay_max_circuits = -1;
  g_autofree gchar *max_connections_text = NULL;
  g_autofree gchar *global_rate_text = NULL;
  g_autofree gchar *peer_rate_text = NULL;
  g_autofree gchar *max_concurrent_text = NULL;
  guint max_connections = 0, global_rate = 0, peer_rate = 0, max_concurrent = 0;
  GOptionEntry entries[] = {
    { "listen", 'l', 0, G_OPTION_ARG_STRING_ARRAY, &listen,
      "Listen on this address, such as /ip4/127.0.0.1/tcp/0 (repeatable)", "MULTIADDR" },
    { "connect", 'c', 0, G_OPTION_ARG_STRING_ARRAY, &connect_to,
      "Also connect to this peer once listening (repeatable)", "MULTIADDR" },
    { "max-connections", 0, 0, G_OPTION_ARG_STRING, &max_connections_text,
      "Connections held at once, upgrading ones included; more are refused (default 256)", "N" },
    { "autonat-service", 0, 0, G_OPTION_ARG_NONE, &autonat_service,
      "Serve AutoNAT v1 (dial-back) requests", NULL },
    { "autonat-allow-private", 0, 0, G_OPTION_ARG_NONE, &allow_private,
      "Let the AutoNAT service dial private, loopback and documentation addresses (labs)", NULL },
    { "autonat-dial-timeout", 0, 0, G_OPTION_ARG_INT, &dial_timeout_s,
      "Seconds the AutoNAT service gives a dial-back (default 15)", "S" },
    { "autonat-global-rate", 0, 0, G_OPTION_ARG_STRING, &global_rate_text,
      "AutoNAT requests a minute, all peers together, that may lead to dial-backs; "
      "others are refused (default 30, 0: no limit)", "N" },
    { "autonat-peer-rate", 0, 0, G_OPTION_ARG_STRING, &peer_rate_text,
      "AutoNAT requests a minute per peer that may lead to dial-backs (default 3, 0: no limit)", "N" },
    { "autonat-max-concurrent", 0, 0, G_OPTION_ARG_STRING, &max_concurrent_text,
      "AutoNAT dial-backs at once (default 8, 0: no limit)", "N" },
    { "relay-service", 0, 0, G_OPTION_ARG_NONE, &relay_service,
      "Serve circuit relay v2 (hop): reservations and relayed connections", NULL },
    { "relay-max-duration", 0, 0, G_OPTION_ARG_INT64, &relay_max_duration,
      "Seconds a relayed connection may last (0: no limit)", "S" },
    { "relay-max-data", 0, 0, G_OPTION_ARG_INT64, &relay_max_data,
      "Bytes a relayed connection may carry per direction (0: no limit)", "BYTES" },
    { "relay-max-reservations", 0, 0, G_OPTION_ARG_INT64, &relay_max_reservations,
      "Reservations held at once", "N" },
    { "relay-max-reservations-per-ip", 0, 0, G_OPTION_ARG_INT64, &relay_max_per_ip,
      "Reservations held at once per IP address", "N" },
    { "relay-max-circuits-per-peer", 0, 0, G_OPTION_ARG_INT64, &relay_max_circuits_per_peer,
      "Relayed connections at once per peer", "N" },
    { "relay-max-circuits", 0, 0, G_OPTION_ARG_INT64, &relay_max_circuits,
      "Relayed connections at once in total", "N" },
    { "relay-reservation-ttl", 0, 0, G_OPTION_ARG_INT64, &relay_ttl,
      "Seconds a reservation lasts unless renewed", "S" },
    { "stun-port", 0, 0, G_OPTION_ARG_INT, &stun_port,
      "Answer STUN Binding requests on this UDP port (0: any)", "N" },
    { "key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path,
      "Identity key file (default: a new Ed25519 key)", "FILE" },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json,
      "Print one JSON object per line per event", NULL },
    G_OPTION_ENTRY_NULL
  };
  const char *usage = "serve --listen MULTIADDR [--listen MULTIADDR...] [--connect MULTIADDR...] "
                      "[--max-connections N] [--autonat-service [--autonat-allow-private] "
                      "[--autonat-dial-timeout S] [--autonat-global-rate N] [--autonat-peer-rate N] "
                      "[--autonat-max-concurrent N]] [--relay-service [--relay-max-duration S] "
                      "[--relay-max-data BYTES] ...] [--stun-port N] [--key FILE] [--json]";
  g_autoptr(PunchAutonatService) autonat = NULL;
  g_autoptr(PunchStunServer) stun = NULL;
  g_autoptr(PunchRelayService) relay = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = NULL;
  g_autoptr(PunchHost) host = NULL;
  g_autoptr(GPtrArray) listen_addrs = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);
  g_autoptr(GPtrArray) connect_addrs = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);
  g_autoptr(GPtrArray) bound = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree gchar *peer = NULL;
  g_autoptr(PunchMultiaddr) p2p = NULL;
  PunchIdentify *identify;
  Serve serve = { 0 };
  guint sigint_id, sigterm_id;

  if (!parse_options (usage, "Runs a node until SIGINT or SIGTERM.", entries, &argc, &argv, 0))
    return EXIT_USAGE;
  if (listen == NULL || listen[0] == NULL)
    return usage_error (usage, "at least one --listen address is needed");
  if (stun_port > G_MAXUINT16)
    return usage_error (usage, "--stun-port must be a UDP port (0-65535)");
  if (max_connections_text != NULL &&
      !parse_uint_option (usage, "--max-connections", max_connections_text, 1, G_MAXUINT,
                          &max_connections))
    return EXIT_USAGE;
  if ((allow_private || dial_timeout_s != 0 || global_rate_text != NULL ||
       peer_rate_text != NULL || max_concurrent_text != NULL) && !autonat_service)
    return usage_error (usage, "the --autonat-* options need --autonat-service");
  if ((global_rate_text != NULL &&
       !parse_uint_option (usage, "--autonat-global-rate", global_rate_text, 0, G_MAXUINT,
                           &global_rate)) ||
      (peer_rate_text != NULL &&
       !parse_uint_option (usage, "--autonat-peer-rate", peer_rate_text, 0, G_MAXUINT,
                           &peer_rate)) ||
      (max_concurrent_text != NULL &&
       !parse_uint_option (usage, "--autonat-max-concurrent", max_concurrent_text, 0, G_MAXUINT,
                           &max_concurrent)))
    return EXIT_USAGE;
  if (!relay_service && (relay_max_duration >= 0 || relay_max_data >= 0 ||
                         relay_max_reservations >= 0 || relay_max_per_ip >= 0 ||
                         relay_max_circuits_per_peer >= 0 || relay_max_circuits >= 0 ||
                         relay_ttl >= 0))
    return usage_error (usage, "the --relay-* limits need --relay-service");
  if (relay_max_duration > G_MAXUINT32 || relay_max_reservations > G_MAXUINT ||
      relay_max_per_ip > G_MAXUINT || relay_max_circuits_per_peer > G_MAXUINT ||
      relay_max_circuits > G_MAXUINT ||
      relay_ttl == 0 || relay_ttl > G_MAXUINT32)
    return usage_error (usage, "a --relay-* limit is out of range");
  if (dial_timeout_s < 0 || dial_timeout_s > 600)
    return usage_error (usage, "--autonat-dial-timeout must be within 1-600 seconds");

  for (guint i = 0; listen[i] != NULL; i++)
    {
      PunchMultiaddr *addr = punch_multiaddr_new_from_string (listen[i], &error);

      if (addr == NULL)
        {
          g_printerr ("punch: bad --listen address '%s': %s\n", listen[i], error->message);
          return EXIT_USAGE;
        }
      g_ptr_array_add (listen_addrs, addr);
    }
  for (guint i = 0; connect_to != NULL && connect_to[i] != NULL; i++)
    {
      PunchMultiaddr *addr = punch_multiaddr_new_from_string (connect_to[i], &error);

      if (addr == NULL)
        {
          g_printerr ("punch: bad --connect address '%s': %s\n", connect_to[i], error->message);
          return EXIT_USAGE;
        }
      g_ptr_array_add (connect_addrs, addr);
    }

  keypair = load_or_generate_key (key_path, &error);
  if (keypair == NULL)
    return fail (error);

  loop = g_main_loop_new (NULL, FALSE);
  serve.json = json;

  /* Before anything is printed: whoever reads the addresses may stop us
   * at once. */
  sigint_id = g_unix_signal_add (SIGINT, on_quit_signal, loop);
  sigterm_id = g_unix_signal_add (SIGTERM, on_quit_signal, loop);

  /* A host serves identify and ping by itself. */
  host = punch_host_new (keypair);
  if (max_connections_text != NULL)
    punch_host_set_max_connections (host, max_connections);
  identify = punch_identify_get_for_host (host);
  punch_host_set_stream_handler (host, ECHO_PROTOCOL_ID, handle_echo, &serve, NULL);
  g_signal_connect (host, "connection-opened", G_CALLBACK (on_serve_connection_opened), &serve);
  g_signal_connect (host, "stream-opened", G_CALLBACK (on_serve_stream_opened), &serve);
  g_signal_connect (host, "connection-closed", G_CALLBACK (on_serve_connection_closed), &serve);
  g_signal_connect (identify, "identify-received", G_CALLBACK (on_serve_identify), &serve);

  for (guint i = 0; i < listen_addrs->len; i++)
    if (!punch_host_listen (host, listen_addrs->pdata[i], &error))
      {
        g_autofree gchar *text = punch_multiaddr_to_string (listen_addrs->pdata[i]);

        g_printerr ("punch: cannot listen on %s: %s\n", text, error->message);
        g_source_remove (sigint_id);
        g_source_remove (sigterm_id);
        punch_host_close (host);
        return EXIT_FAILED;
      }

  if (autonat_service)
    {
      autonat = punch_autonat_service_new (host);
      punch_autonat_service_set_allow_private (autonat, allow_private);
      if (dial_timeout_s > 0)
        punch_autonat_service_set_dial_timeout (autonat, (guint) dial_timeout_s * 1000);
      if (global_rate_text != NULL)
        punch_autonat_service_set_global_rate (autonat, global_rate);
      if (peer_rate_text != NULL)
        punch_autonat_service_set_peer_rate (autonat, peer_rate);
      if (max_concurrent_text != NULL)
        punch_autonat_service_set_max_concurrent (autonat, max_concurrent);
      g_signal_connect (autonat, "request-handled", G_CALLBACK (on_serve_autonat_request), &serve);
    }
  if (relay_service)
    {
      relay = punch_relay_service_new (host);
      if (relay_max_duration >= 0)
        g_object_set (relay, "limit-duration", (guint) relay_max_duration, NULL);
      if (relay_max_data >= 0)
        g_object_set (relay, "limit-data", (guint64) relay_max_data, NULL);
      if (relay_max_reservations >= 0)
        g_object_set (relay, "max-reservations", (guint) relay_max_reservations, NULL);
      if (relay_max_per_ip >= 0)
        g_object_set (relay, "max-reservations-per-ip", (guint) relay_max_per_ip, NULL);
      if (relay_max_circuits_per_peer >= 0)
        g_object_set (relay, "max-circuits-per-peer", (guint) relay_max_circuits_per_peer, NULL);
      if (relay_max_circuits >= 0)
        g_object_set (relay, "max-circuits", (guint) relay_max_circuits, NULL);
      if (relay_ttl > 0)
        g_object_set (relay, "reservation-ttl", (guint) relay_ttl, NULL);
    }
  if (stun_port >= 0)
    {
      g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
      g_autoptr(GSocketAddress) where = g_inet_socket_address_new (any, (guint16) stun_port);

      stun = punch_stun_server_new (G_INET_SOCKET_ADDRESS (where), &error);
      if (stun == NULL)
        {
          g_printerr ("punch: cannot serve STUN on UDP port %d: %s\n", stun_port, error->message);
          g_source_remove (sigint_id);
          g_source_remove (sigterm_id);
          punch_host_close (host);
          return EXIT_FAILED;
        }
    }

  peer = punch_peer_id_to_string (punch_host_get_peer_id (host));
  p2p = punch_multiaddr_new_from_peer_id (punch_host_get_peer_id (host));
  bound = punch_host_get_listen_addresses (host);
  {
    g_autoptr(GPtrArray) full = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);

    /* The host's addresses end with /p2p/ID; add it where missing. */
    for (guint i = 0; bound != NULL && i < bound->len; i++)
      {
        PunchMultiaddr *addr = bound->pdata[i];
        guint n = punch_multiaddr_get_n_components (addr);
        PunchMultiaddr *with_id;

        if (n > 0 && punch_multiaddr_get_protocol (addr, n - 1) == PUNCH_MULTIADDR_PROTOCOL_P2P)
          with_id = punch_multiaddr_ref (addr);
        else
          with_id = punch_multiaddr_encapsulate (addr, p2p, NULL);
        if (with_id != NULL)
          g_ptr_array_add (full, with_id);
      }
    if (json)
      {
        GString *out = json_event_new ("listening");

        json_multiaddrs_member (out, "addrs", full);
        json_string_member (out, "peer_id", peer);
        if (stun != NULL)
          json_int_member (out, "stun_port", punch_stun_server_get_port (stun));
        json_event_print (out);
      }
    else
      {
        for (guint i = 0; i < full->len; i++)
          {
            g_autofree gchar *text = punch_multiaddr_to_string (full->pdata[i]);

            print_line ("%s", text);
          }
        if (stun != NULL)
          print_line ("stun: udp port %u", punch_stun_server_get_port (stun));
      }
  }

  for (guint i = 0; i < connect_addrs->len; i++)
    {
      ServeDial *dial = g_new0 (ServeDial, 1);

      dial->serve = &serve;
      dial->address = g_strdup (connect_to[i]);
      punch_host_dial_async (host, connect_addrs->pdata[i], NULL, on_serve_dialed, dial);
    }

  g_main_loop_run (loop);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);

  g_signal_handlers_disconnect_by_data (host, &serve);
  g_signal_handlers_disconnect_by_data (identify, &serve);
  punch_host_remove_stream_handler (host, ECHO_PROTOCOL_ID);
  if (autonat != NULL)
    g_signal_handlers_disconnect_by_data (autonat, &serve);
  if (stun != NULL)
    punch_stun_server_close (stun);
  if (relay != NULL)
    punch_relay_service_stop (relay);
  g_clear_object (&relay);
  g_clear_object (&autonat);
  punch_host_close (host);
  /* Let the closes run (bounded). */
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  return EXIT_OK;
}

/* punch ping: dial, identify, ping. */

static void
on_closed (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  punch_connection_close_finish (PUNCH_CONNECTION (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

static gboolean
on_flag_timeout (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Closes @connection cleanly (GO_AWAY, close_notify) so the peer sees no
 * reset, waiting at most @timeout_s seconds. */
static void
close_gracefully (PunchConnection *connection,
                  guint            timeout_s)
{
  gboolean closed = FALSE, timed_out = FALSE;
  guint timer = g_timeout_add_seconds (timeout_s, on_flag_timeout, &timed_out);

  punch_connection_close_async (connection, NULL, on_closed, &closed);
  while (!closed && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timer);
  if (!closed)
    punch_connection_close (connection);
}

typedef struct {
  GCancellable *cancellable;
  GSource *timer;
  gboolean timed_out;
  GError *error;
  gpointer result;
  gint64 rtt_us;
  gboolean done;
} Step;

static gboolean
on_step_timeout (gpointer data)
{
  Step *step = data;

  step->timed_out = TRUE;
  g_cancellable_cancel (step->cancellable);
  return G_SOURCE_REMOVE;
}

static void
step_begin (Step  *step,
            guint  timeout_s)
{
  g_clear_object (&step->cancellable);
  g_clear_error (&step->error);
  step->cancellable = g_cancellable_new ();
  step->timed_out = FALSE;
  step->done = FALSE;
  step->result = NULL;
  step->rtt_us = -1;
  step->timer = g_timeout_source_new_seconds (timeout_s);
  g_source_set_callback (step->timer, on_step_timeout, step, NULL);
  g_source_attach (step->timer, NULL);
}

/* Runs the loop until the step is done; FALSE on error (in step->error). */
static gboolean
step_wait (Step        *step,
           const gchar *what,
           guint        timeout_s)
{
  while (!step->done)
    g_main_context_iteration (NULL, TRUE);
  g_source_destroy (step->timer);
  g_clear_pointer (&step->timer, g_source_unref);
  if (step->error != NULL && step->timed_out)
    {
      g_clear_error (&step->error);
      g_set_error (&step->error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "%s timed out after %u s", what, timeout_s);
    }
  return step->error == NULL;
}

static void
on_ping_dialed (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Step *step = user_data;

  step->result = punch_host_dial_finish (PUNCH_HOST (source), result, &step->error);
  step->done = TRUE;
}

static void
on_ping_identified (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Step *step = user_data;

  step->result = punch_identify_identify_finish (PUNCH_IDENTIFY (source), result, &step->error);
  step->done = TRUE;
}

static void
on_ping_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Step *step = user_data;

  step->rtt_us = punch_ping_finish (PUNCH_CONNECTION (source), result, &step->error);
  step->done = TRUE;
}

static void
on_interval_done (gpointer data)
{
  ((Step *) data)->done = TRUE;
}

static gboolean
on_interval (gpointer data)
{
  return G_SOURCE_REMOVE;
}

static int
ping_fail (const gchar  *what,
           const GError *error)
{
  g_printerr ("punch: %s: %s\n", what, error->message);
  return EXIT_FAILED;
}

/* punch ping MULTIADDR [--count N] [--key FILE] [--json] [--timeout S] */
static int
cmd_ping (int argc, char **argv)
{
  gint count = 1;
  gint timeout_s = 10;
  gdouble interval_s = 1.0;
  g_autofree gchar *key_path = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "count", 'n', 0, G_OPTION_ARG_INT, &count, "Number of pings (default 1)", "N" },
    { "interval", 'i', 0, G_OPTION_ARG_DOUBLE, &interval_s,
      "Seconds between pings (default 1)", "S" },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_s,
      "Seconds each step (connect, identify, each ping) may take (default 10)", "S" },
    { "key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path,
      "Identity key file (default: a new Ed25519 key)", "FILE" },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json,
      "Print one JSON object per line per event", NULL },
    G_OPTION_ENTRY_NULL
  };
  const char *usage = "ping MULTIADDR [--count N] [--interval S] [--timeout S] [--key FILE] [--json]";
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) address = NULL;
  g_autoptr(PunchKeypair) keypair = NULL;
  g_autoptr(PunchHost) host = NULL;
  g_autoptr(PunchConnection) connection = NULL;
  g_autoptr(PunchIdentifyInfo) info = NULL;
  g_autofree gchar *peer = NULL;
  PunchIdentify *identify;
  Step step = { 0 };
  int status = EXIT_OK;

  if (!parse_options (usage, "Connects to a peer, identifies it and pings it.",
                      entries, &argc, &argv, 1))
    return EXIT_USAGE;
  if (count < 1 || count > 1000000)
    return usage_error (usage, "--count must be between 1 and 1000000");
  if (timeout_s < 1 || timeout_s > 3600)
    return usage_error (usage, "--timeout must be between 1 and 3600 seconds");
  if (!(interval_s >= 0 && interval_s <= 3600))
    return usage_error (usage, "--interval must be between 0 and 3600 seconds");

  address = punch_multiaddr_new_from_string (argv[1], &error);
  if (address == NULL)
    {
      g_printerr ("punch: bad address '%s': %s\n", argv[1], error->message);
      return EXIT_USAGE;
    }
  keypair = load_or_generate_key (key_path, &error);
  if (keypair == NULL)
    return fail (error);

  host = punch_host_new (keypair);
  identify = punch_identify_get_for_host (host);

  /* Connect. */
  step_begin (&step, (guint) timeout_s);
  punch_host_dial_async (host, address, step.cancellable, on_ping_dialed, &step);
  if (!step_wait (&step, "connecting", (guint) timeout_s))
    {
      status = ping_fail ("cannot connect", step.error);
      goto out;
    }
  connection = step.result;
  peer = peer_id_text (punch_connection_get_remote_peer_id (connection));
  {
    g_autofree gchar *remote = NULL;
    PunchMultiaddr *remote_addr = punch_connection_get_remote_address (connection);

    remote = remote_addr != NULL ? punch_multiaddr_to_string (remote_addr) : NULL;
    if (json)
      {
        GString *out = json_event_new ("connected");

        json_string_member (out, "peer_id", peer);
        json_string_member (out, "remote_addr", remote);
        json_event_print (out);
      }
    else
      print_line ("connected to %s at %s", peer, remote != NULL ? remote : "?");
  }

  /* Identify (it started when the connection opened). */
  step_begin (&step, (guint) timeout_s);
  punch_identify_identify_async (identify, connection, step.cancellable, on_ping_identified, &step);
  if (!step_wait (&step, "identify", (guint) timeout_s))
    {
      /* Not fatal: a peer may not speak identify; ping may still work. */
      g_printerr ("punch: identify failed: %s\n", step.error->message);
    }
  else
    {
      info = step.result;
      print_identify (json, connection, info);
    }

  /* Ping. */
  for (gint seq = 1; seq <= count; seq++)
    {
      if (seq > 1 && interval_s > 0)
        {
          GSource *wait = g_timeout_source_new ((guint) (interval_s * 1000));

          step.done = FALSE;
          g_source_set_callback (wait, on_interval, &step, on_interval_done);
          g_source_attach (wait, NULL);
          g_source_unref (wait);
          while (!step.done)
            g_main_context_iteration (NULL, TRUE);
        }

      step_begin (&step, (guint) timeout_s);
      punch_ping_async (connection, step.cancellable, on_ping_done, &step);
      if (!step_wait (&step, "ping", (guint) timeout_s))
        {
          status = ping_fail ("ping failed", step.error);
          goto out;
        }
      if (json)
        {
          GString *out = json_event_new ("ping");

          json_string_member (out, "peer_id", peer);
          json_int_member (out, "seq", seq);
          json_int_member (out, "rtt_us", step.rtt_us);
          json_event_print (out);
        }
      else
        print_line ("ping %d: %.3f ms", seq, step.rtt_us / 1000.0);
    }

out:
  g_clear_error (&step.error);
  g_clear_object (&step.cancellable);
  if (connection != NULL)
    close_gracefully (connection, 2);
  punch_host_close (host);
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  return status;
}

/* punch reach: ask AutoNAT servers, print the verdict. */

static const gchar *
reachability_name (PunchReachability reachability)
{
  switch (reachability)
    {
    case PUNCH_REACHABILITY_PUBLIC:
      return "public";
    case PUNCH_REACHABILITY_PRIVATE:
      return "private";
    case PUNCH_REACHABILITY_UNKNOWN:
    default:
      return "unknown";
    }
}

static const gchar *
origin_name (PunchAddressOrigin origin)
{
  switch (origin)
    {
    case PUNCH_ADDRESS_ORIGIN_LISTEN:
      return "listen";
    case PUNCH_ADDRESS_ORIGIN_OBSERVED:
      return "observed";
    case PUNCH_ADDRESS_ORIGIN_ICE_HOST:
      return "ice-host";
    case PUNCH_ADDRESS_ORIGIN_ICE_SERVER_REFLEXIVE:
      return "ice-srflx";
    case PUNCH_ADDRESS_ORIGIN_ICE_RELAYED:
    default:
      return "ice-relay";
    }
}

typedef struct {
  gboolean json;
  gboolean done;
  guint rounds;
  gint64 started;
  gint64 verdict_at;
} Reach;

static void
on_reach_changed (PunchAgent        *agent,
                  PunchReachability  old,
                  PunchReachability  now,
                  guint              confidence,
                  gpointer           user_data)
{
  Reach *reach = user_data;

  if (reach->json)
    {
      GString *out = json_event_new ("reachability-changed");

      json_string_member (out, "old", reachability_name (old));
      json_string_member (out, "new", reachability_name (now));
      json_int_member (out, "confidence", confidence);
      json_event_print (out);
    }
}

static void
on_reach_check_done (PunchAgent *agent,
                     gpointer    user_data)
{
  Reach *reach = user_data;

  reach->rounds++;
  if (punch_agent_get_reachability (agent) != PUNCH_REACHABILITY_UNKNOWN)
    {
      reach->done = TRUE;
      reach->verdict_at = g_get_monotonic_time ();
    }
}

/* The IP address to use for @host: @host itself when it is one, else
 * the first IPv4 address it resolves to, or its first address when it has
 * no IPv4 one (libnice asks a STUN server only from local addresses of
 * its family, and NATs are an IPv4 matter). */
static gchar *
resolve_host (const gchar  *host,
              GError      **error)
{
  g_autoptr(GResolver) resolver = NULL;
  GList *addresses;
  GInetAddress *chosen = NULL;
  gchar *text;

  if (g_hostname_is_ip_address (host))
    return g_strdup (host);
  resolver = g_resolver_get_default ();
  addresses = g_resolver_lookup_by_name (resolver, host, NULL, error);
  if (addresses == NULL)
    return NULL;
  for (GList *l = addresses; l != NULL && chosen == NULL; l = l->next)
    if (g_inet_address_get_family (l->data) == G_SOCKET_FAMILY_IPV4)
      chosen = l->data;
  if (chosen == NULL)
    chosen = addresses->data;
  text = g_inet_address_to_string (chosen);
  g_resolver_free_addresses (addresses);
  return text;
}

/* punch reach --server MULTIADDR [--server ...] [--stun HOST:PORT]
 *             [--listen MULTIADDR] [--threshold N] [--timeout S] [--json] */
static int
cmd_reach (int argc, char **argv)
{
  g_auto(GStrv) servers = NULL;
  g_auto(GStrv) listen = NULL;
  g_autofree gchar *stun = NULL;
  g_autofree gchar *key_path = NULL;
  gint threshold = 0;
  gint timeout_s = 60;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "server", 's', 0, G_OPTION_ARG_STRING_ARRAY, &servers,
      "An AutoNAT server, /ip4/…/tcp/PORT/p2p/ID (repeatable)", "MULTIADDR" },
    { "stun", 0, 0, G_OPTION_ARG_STRING, &stun,
      "STUN server for the UDP candidates ([IPv6]:PORT for an IPv6 address)", "HOST:PORT" },
    { "listen", 'l', 0, G_OPTION_ARG_STRING_ARRAY, &listen,
      "Listen on this address (default /ip4/0.0.0.0/tcp/0; repeatable)", "MULTIADDR" },
    { "threshold", 0, 0, G_OPTION_ARG_INT, &threshold,
      "Servers that must agree on a verdict (default 4, per the specification)", "N" },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_s,
      "Give up after this many seconds (default 60)", "S" },
    { "key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path,
      "Identity key file (default: a new Ed25519 key)", "FILE" },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json,
      "Print one JSON object per line per event", NULL },
    G_OPTION_ENTRY_NULL
  };
  const char *usage = "reach --server MULTIADDR [--server ...] [--stun HOST:PORT] [--listen MULTIADDR...] "
                      "[--threshold N] [--timeout S] [--key FILE] [--json]";
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = NULL;
  g_autoptr(PunchAgent) agent = NULL;
  g_autoptr(GPtrArray) server_addrs = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);
  g_autoptr(GPtrArray) listen_addrs = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);
  g_autoptr(GPtrArray) addresses = NULL;
  g_autofree gchar *stun_host = NULL;
  g_autofree gchar *stun_ip = NULL;
  guint stun_port = 0;
  gboolean timed_out = FALSE;
  guint timer;
  PunchReachability verdict;
  Reach reach = { 0 };

  if (!parse_options (usage, "Learns whether this node is reachable, from AutoNAT servers.",
                      entries, &argc, &argv, 0))
    return EXIT_USAGE;
  if (servers == NULL || servers[0] == NULL)
    return usage_error (usage, "at least one --server is needed");
  if (threshold < 0 || threshold > 64)
    return usage_error (usage, "--threshold must be within 1-64");
  if (timeout_s <= 0)
    return usage_error (usage, "--timeout must be positive");
  for (guint i = 0; servers[i] != NULL; i++)
    {
      PunchMultiaddr *addr = punch_multiaddr_new_from_string (servers[i], &error);
      g_autoptr(PunchPeerId) id = addr != NULL ? punch_multiaddr_get_peer_id (addr) : NULL;

      if (addr == NULL || id == NULL)
        {
          g_printerr ("punch: bad --server address '%s': %s\n", servers[i],
                      addr == NULL ? error->message : "it must end with /p2p/ID");
          g_clear_pointer (&addr, punch_multiaddr_unref);
          return EXIT_USAGE;
        }
      g_ptr_array_add (server_addrs, addr);
    }
  for (guint i = 0; listen != NULL && listen[i] != NULL; i++)
    {
      PunchMultiaddr *addr = punch_multiaddr_new_from_string (listen[i], &error);

      if (addr == NULL)
        {
          g_printerr ("punch: bad --listen address '%s': %s\n", listen[i], error->message);
          return EXIT_USAGE;
        }
      g_ptr_array_add (listen_addrs, addr);
    }
  if (listen_addrs->len == 0)
    g_ptr_array_add (listen_addrs, punch_multiaddr_new_from_string ("/ip4/0.0.0.0/tcp/0", NULL));
  if (stun != NULL)
    {
      /* HOST:PORT, IPV4:PORT or [IPV6]:PORT; the port is required. */
      g_autoptr(GSocketConnectable) where = g_network_address_parse (stun, 0, NULL);
      const gchar *host = where != NULL ? g_network_address_get_hostname (G_NETWORK_ADDRESS (where)) : NULL;

      if (host == NULL || host[0] == '\0' || g_network_address_get_port (G_NETWORK_ADDRESS (where)) == 0)
        return usage_error (usage, "--stun must be HOST:PORT");
      stun_host = g_strdup (host);
      stun_port = g_network_address_get_port (G_NETWORK_ADDRESS (where));
      stun_ip = resolve_host (stun_host, &error);
      if (stun_ip == NULL)
        {
          g_printerr ("punch: --stun: %s\n", error->message);
          return EXIT_FAILED;
        }
    }

  keypair = load_or_generate_key (key_path, &error);
  if (keypair == NULL)
    return fail (error);

  agent = punch_agent_new (keypair);
  g_object_set (agent, "retry-interval", 2, NULL);
  if (threshold > 0)
    g_object_set (agent, "autonat-threshold", (guint) threshold, NULL);
  if (stun_ip != NULL)
    {
      punch_agent_set_stun_server (agent, stun_ip, stun_port);
      if (json)
        {
          GString *out = json_event_new ("stun-server");

          json_string_member (out, "host", stun_host);
          json_string_member (out, "ip", stun_ip);
          json_int_member (out, "port", stun_port);
          json_event_print (out);
        }
      else
        print_line ("stun server: %s port %u", stun_ip, stun_port);
    }
  for (guint i = 0; i < listen_addrs->len; i++)
    if (!punch_host_listen (punch_agent_get_host (agent), listen_addrs->pdata[i], &error))
      {
        g_autofree gchar *text = punch_multiaddr_to_string (listen_addrs->pdata[i]);

        g_printerr ("punch: cannot listen on %s: %s\n", text, error->message);
        punch_host_close (punch_agent_get_host (agent));
        return EXIT_FAILED;
      }
  for (guint i = 0; i < server_addrs->len; i++)
    punch_agent_add_autonat_server (agent, server_addrs->pdata[i]);

  reach.json = json;
  reach.started = g_get_monotonic_time ();
  g_signal_connect (agent, "reachability-changed", G_CALLBACK (on_reach_changed), &reach);
  g_signal_connect (agent, "check-done", G_CALLBACK (on_reach_check_done), &reach);
  if (!punch_agent_start (agent, &error))
    {
      punch_host_close (punch_agent_get_host (agent));
      return fail (error);
    }

  timer = g_timeout_add_seconds ((guint) timeout_s, on_flag_timeout, &timed_out);
  while (!reach.done && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timer);

  verdict = punch_agent_get_reachability (agent);
  addresses = punch_agent_get_addresses (agent);
  if (json)
    {
      GString *out = json_event_new ("verdict");

      json_string_member (out, "reachability", reachability_name (verdict));
      json_int_member (out, "confidence", punch_agent_get_confidence (agent));
      json_int_member (out, "rounds", reach.rounds);
      if (reach.verdict_at > 0)
        json_int_member (out, "elapsed_us", reach.verdict_at - reach.started);
      json_key (out, "addrs");
      g_string_append_c (out, '[');
      for (guint i = 0; i < addresses->len; i++)
        {
          PunchAgentAddress *address = addresses->pdata[i];

          if (i > 0)
            g_string_append_c (out, ',');
          g_string_append_c (out, '{');
          json_multiaddr_member (out, "addr", punch_agent_address_get_multiaddr (address));
          json_string_member (out, "origin", origin_name (punch_agent_address_get_origin (address)));
          json_string_member (out, "reachability",
                              reachability_name (punch_agent_address_get_reachability (address)));
          g_string_append_c (out, '}');
        }
      g_string_append_c (out, ']');
      json_event_print (out);
    }
  else
    {
      print_line ("reachability: %s (confidence %u)", reachability_name (verdict),
                  punch_agent_get_confidence (agent));
      for (guint i = 0; i < addresses->len; i++)
        {
          PunchAgentAddress *address = addresses->pdata[i];
          g_autofree gchar *text = punch_multiaddr_to_string (punch_agent_address_get_multiaddr (address));

          print_line ("  %s %s: %s", origin_name (punch_agent_address_get_origin (address)), text,
                      reachability_name (punch_agent_address_get_reachability (address)));
        }
    }

  g_signal_handlers_disconnect_by_data (agent, &reach);
  punch_host_close (punch_agent_get_host (agent));
  g_clear_object (&agent);
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  if (verdict == PUNCH_REACHABILITY_UNKNOWN)
    {
      g_printerr ("punch: no verdict within %d s (%u rounds)\n", timeout_s, reach.rounds);
      return EXIT_FAILED;
    }
  return EXIT_OK;
}

/* punch listen: reserve on relays, accept (relayed) connections, echo. */

static void
json_bool_member (GString     *out,
                  const gchar *key,
                  gboolean     value)
{
  json_key (out, key);
  g_string_append (out, value ? "true" : "false");
}

static const gchar *
path_name (PunchConnection *connection)
{
  PunchMultiaddr *remote = punch_connection_get_remote_address (connection);

  return remote != NULL &&
         punch_multiaddr_find_protocol (remote, PUNCH_MULTIADDR_PROTOCOL_P2P_CIRCUIT) >= 0 ?
         "relay" : "direct";
}

static void
print_connection (gboolean         json,
                  const gchar     *event,
                  PunchConnection *connection)
{
  g_autofree gchar *peer = peer_id_text (punch_connection_get_remote_peer_id (connection));
  g_autofree gchar *remote = punch_multiaddr_to_string (punch_connection_get_remote_address (connection));

  if (json)
    {
      GString *out = json_event_new (event);

      json_string_member (out, "peer_id", peer);
      json_string_member (out, "remote_addr", remote);
      json_string_member (out, "direction", direction_name (punch_connection_get_direction (connection)));
      json_string_member (out, "path", path_name (connection));
      json_bool_member (out, "limited", punch_connection_is_limited (connection));
      json_int_member (out, "limit_duration", punch_connection_get_limit_duration (connection));
      json_int_member (out, "limit_data", (gint64) punch_connection_get_limit_data (connection));
      json_event_print (out);
    }
  else
    print_line ("%s: %s via %s (%s)%s", event, peer, remote, path_name (connection),
                punch_connection_is_limited (connection) ? ", limited" : "");
}

static void
on_listen_reservation (PunchRelayClient      *client,
                       PunchRelayReservation *reservation,
                       gpointer               user_data)
{
  Serve *serve = user_data;
  g_autofree gchar *relay = peer_id_text (punch_relay_reservation_get_relay (reservation));
  g_autoptr(GPtrArray) addrs = punch_relay_client_get_relayed_addresses (client);

  if (serve->json)
    {
      GString *out = json_event_new ("reservation");

      json_string_member (out, "relay", relay);
      json_multiaddrs_member (out, "addrs", addrs);
      json_int_member (out, "expiration", punch_relay_reservation_get_expiration (reservation));
      json_int_member (out, "limit_duration", punch_relay_reservation_get_limit_duration (reservation));
      json_int_member (out, "limit_data", (gint64) punch_relay_reservation_get_limit_data (reservation));
      json_bool_member (out, "voucher", punch_relay_reservation_has_voucher (reservation));
      json_event_print (out);
    }
  else
    for (guint i = 0; i < addrs->len; i++)
      {
        g_autofree gchar *text = punch_multiaddr_to_string (addrs->pdata[i]);

        print_line ("%s", text);
      }
}

static void
on_listen_reservation_lost (PunchRelayClient *client,
                            PunchPeerId      *relay,
                            const GError     *reason,
                            gpointer          user_data)
{
  Serve *serve = user_data;
  g_autofree gchar *id = peer_id_text (relay);
  const gchar *why = reason != NULL ? reason->message : "stopped";

  if (serve->json)
    {
      GString *out = json_event_new ("reservation-lost");

      json_string_member (out, "relay", id);
      json_string_member (out, "reason", why);
      json_event_print (out);
    }
  else
    print_line ("reservation on %s lost: %s", id, why);
}

static void
on_listen_reservation_failed (PunchRelayClient *client,
                              PunchPeerId      *relay,
                              const GError     *error,
                              gpointer          user_data)
{
  Serve *serve = user_data;
  g_autofree gchar *id = peer_id_text (relay);

  if (serve->json)
    {
      GString *out = json_event_new ("reservation-failed");

      json_string_member (out, "relay", id);
      json_string_member (out, "error", error->message);
      json_event_print (out);
    }
  else
    g_printerr ("punch: reservation on %s failed: %s\n", id, error->message);
}

static void
on_listen_connection (PunchHost       *host,
                      PunchConnection *connection,
                      gpointer         user_data)
{
  Serve *serve = user_data;

  print_connection (serve->json, "connection-opened", connection);
}

/* punch listen --relay MULTIADDR [--relay ...] [--listen MULTIADDR...]
 *              [--key FILE] [--json] */
static int
cmd_listen (int argc, char **argv)
{
  g_auto(GStrv) relays = NULL;
  g_auto(GStrv) listen = NULL;
  g_autofree gchar *key_path = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "relay", 'r', 0, G_OPTION_ARG_STRING_ARRAY, &relays,
      "Reserve on this relay, /ip4/…/tcp/PORT/p2p/ID (repeatable)", "MULTIADDR" },
    { "listen", 'l', 0, G_OPTION_ARG_STRING_ARRAY, &listen,
      "Also listen on this address (repeatable)", "MULTIADDR" },
    { "key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path,
      "Identity key file (default: a new Ed25519 key)", "FILE" },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json,
      "Print one JSON object per line per event", NULL },
    G_OPTION_ENTRY_NULL
  };
  const char *usage = "listen --relay MULTIADDR [--relay ...] [--listen MULTIADDR...] [--key FILE] [--json]";
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = NULL;
  g_autoptr(PunchHost) host = NULL;
  g_autoptr(PunchRelayClient) client = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree gchar *peer = NULL;
  Serve serve = { 0 };
  guint sigint_id, sigterm_id;

  if (!parse_options (usage, "Reserves on relays and accepts connections (echo) until SIGINT or SIGTERM.",
                      entries, &argc, &argv, 0))
    return EXIT_USAGE;
  if (relays == NULL || relays[0] == NULL)
    return usage_error (usage, "at least one --relay is needed");

  keypair = load_or_generate_key (key_path, &error);
  if (keypair == NULL)
    return fail (error);
  host = punch_host_new (keypair);
  client = punch_relay_client_new (host);
  for (guint i = 0; relays[i] != NULL; i++)
    {
      g_autoptr(PunchMultiaddr) addr = punch_multiaddr_new_from_string (relays[i], &error);

      if (addr == NULL || !punch_relay_client_add_relay (client, addr, &error))
        {
          g_printerr ("punch: bad --relay address '%s': %s\n", relays[i], error->message);
          punch_host_close (host);
          return EXIT_USAGE;
        }
    }
  for (guint i = 0; listen != NULL && listen[i] != NULL; i++)
    {
      g_autoptr(PunchMultiaddr) addr = punch_multiaddr_new_from_string (listen[i], &error);

      if (addr == NULL || !punch_host_listen (host, addr, &error))
        {
          g_printerr ("punch: cannot listen on '%s': %s\n", listen[i], error->message);
          punch_host_close (host);
          return EXIT_FAILED;
        }
    }

  loop = g_main_loop_new (NULL, FALSE);
  serve.json = json;
  sigint_id = g_unix_signal_add (SIGINT, on_quit_signal, loop);
  sigterm_id = g_unix_signal_add (SIGTERM, on_quit_signal, loop);
  punch_host_set_stream_handler (host, ECHO_PROTOCOL_ID, handle_echo, &serve, NULL);
  g_signal_connect (host, "connection-opened", G_CALLBACK (on_listen_connection), &serve);
  g_signal_connect (host, "stream-opened", G_CALLBACK (on_serve_stream_opened), &serve);
  g_signal_connect (host, "connection-closed", G_CALLBACK (on_serve_connection_closed), &serve);
  g_signal_connect (client, "reservation-gained", G_CALLBACK (on_listen_reservation), &serve);
  g_signal_connect (client, "reservation-lost", G_CALLBACK (on_listen_reservation_lost), &serve);
  g_signal_connect (client, "reservation-failed", G_CALLBACK (on_listen_reservation_failed), &serve);

  peer = peer_id_text (punch_host_get_peer_id (host));
  if (json)
    {
      GString *out = json_event_new ("started");

      json_string_member (out, "peer_id", peer);
      json_event_print (out);
    }
  punch_relay_client_set_reserving (client, TRUE);

  g_main_loop_run (loop);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  g_signal_handlers_disconnect_by_data (host, &serve);
  g_signal_handlers_disconnect_by_data (client, &serve);
  punch_host_remove_stream_handler (host, ECHO_PROTOCOL_ID);
  punch_host_close (host);
  g_clear_object (&client);
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  return EXIT_OK;
}

/* punch dial: connect (relayed or direct), report the path, echo bytes. */

static void
on_dial_stream (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Step *step = user_data;

  step->result = punch_connection_open_stream_finish (PUNCH_CONNECTION (source), result, &step->error);
  step->done = TRUE;
}

static void
on_dial_written (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Step *step = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error) &&
      !step->done)
    {
      step->error = g_steal_pointer (&error);
      step->done = TRUE;
    }
}

static void
on_dial_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Step *step = user_data;
  g_autoptr(GError) error = NULL;
  gsize n = 0;

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &n, &error))
    n = 0;
  if (step->done)
    return;   /* the write failed first */
  step->error = g_steal_pointer (&error);
  step->rtt_us = (gint64) n;
  step->done = TRUE;
}

/* punch dial MULTIADDR [--send-bytes N] [--timeout S] [--key FILE] [--json] */
static int
cmd_dial (int argc, char **argv)
{
  gint64 send_bytes = 0;
  gint timeout_s = 30;
  g_autofree gchar *key_path = NULL;
  g_autofree gchar *pattern = NULL;
  gint hold_s = 0;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "hold", 0, 0, G_OPTION_ARG_INT, &hold_s,
      "Then keep the connection up to S seconds, reporting when it closes", "S" },
    { "send-bytes", 'n', 0, G_OPTION_ARG_INT64, &send_bytes,
      "Echo this many random bytes and check them (default 0)", "N" },
    { "pattern", 0, 0, G_OPTION_ARG_STRING, &pattern,
      "Repeat this text instead of random bytes (for capture tests)", "TEXT" },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_s,
      "Seconds each step (connect, echo) may take (default 30)", "S" },
    { "key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path,
      "Identity key file (default: a new Ed25519 key)", "FILE" },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json,
      "Print one JSON object per line per event", NULL },
    G_OPTION_ENTRY_NULL
  };
  const char *usage = "dial MULTIADDR [--send-bytes N [--pattern TEXT]] [--hold S] [--timeout S] [--key FILE] [--json]";
  static const gchar * const echo_protocols[] = { ECHO_PROTOCOL_ID, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) address = NULL;
  g_autoptr(PunchKeypair) keypair = NULL;
  g_autoptr(PunchHost) host = NULL;
  g_autoptr(PunchRelayClient) client = NULL;
  g_autoptr(PunchConnection) connection = NULL;
  g_autoptr(PunchStream) stream = NULL;
  g_autofree guint8 *sent = NULL;
  g_autofree guint8 *got = NULL;
  Step step = { 0 };
  gint64 started;
  int status = EXIT_OK;

  if (!parse_options (usage, "Connects to a peer (through a relay for /p2p-circuit addresses) "
                      "and echoes bytes.", entries, &argc, &argv, 1))
    return EXIT_USAGE;
  if (send_bytes < 0 || send_bytes > G_GINT64_CONSTANT (1) << 32)
    return usage_error (usage, "--send-bytes must be within 0-4294967296");
  if (timeout_s <= 0)
    return usage_error (usage, "--timeout must be positive");
  if (hold_s < 0 || hold_s > 3600)
    return usage_error (usage, "--hold must be within 0-3600 seconds");
  if (pattern != NULL && pattern[0] == '\0')
    return usage_error (usage, "--pattern must not be empty");
  address = punch_multiaddr_new_from_string (argv[1], &error);
  if (address == NULL)
    {
      g_printerr ("punch: bad address '%s': %s\n", argv[1], error->message);
      return EXIT_USAGE;
    }
  keypair = load_or_generate_key (key_path, &error);
  if (keypair == NULL)
    return fail (error);

  host = punch_host_new (keypair);
  client = punch_relay_client_new (host);

  step_begin (&step, (guint) timeout_s);
  punch_host_dial_async (host, address, step.cancellable, on_ping_dialed, &step);
  if (!step_wait (&step, "connecting", (guint) timeout_s))
    {
      status = ping_fail ("cannot connect", step.error);
      goto out;
    }
  connection = step.result;
  print_connection (json, "connected", connection);

  if (send_bytes > 0)
    {
      sent = g_malloc ((gsize) send_bytes);
      got = g_malloc ((gsize) send_bytes);
      for (gint64 i = 0; i < send_bytes; i++)
        sent[i] = pattern != NULL ? (guint8) pattern[i % strlen (pattern)] : (guint8) g_random_int ();

      step_begin (&step, (guint) timeout_s);
      punch_connection_open_stream_async (connection, echo_protocols, step.cancellable,
                                          on_dial_stream, &step);
      if (!step_wait (&step, "opening the echo stream", (guint) timeout_s))
        {
          status = ping_fail ("cannot open an echo stream", step.error);
          goto out;
        }
      stream = step.result;
      started = g_get_monotonic_time ();
      step_begin (&step, (guint) timeout_s);
      g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (stream)), sent,
                                       (gsize) send_bytes, G_PRIORITY_DEFAULT, step.cancellable,
                                       on_dial_written, &step);
      g_input_stream_read_all_async (g_io_stream_get_input_stream (G_IO_STREAM (stream)), got,
                                     (gsize) send_bytes, G_PRIORITY_DEFAULT, step.cancellable,
                                     on_dial_read, &step);
      if (!step_wait (&step, "echo", (guint) timeout_s))
        {
          status = ping_fail ("echo failed", step.error);
          goto out;
        }
      if (step.rtt_us != send_bytes || memcmp (sent, got, (gsize) send_bytes) != 0)
        {
          g_printerr ("punch: echo returned different bytes (%" G_GINT64_FORMAT " of %"
                      G_GINT64_FORMAT ")\n", step.rtt_us, send_bytes);
          status = EXIT_FAILED;
          goto out;
        }
      punch_stream_close_write (stream, NULL);
      if (json)
        {
          GString *out = json_event_new ("echo");

          json_int_member (out, "bytes", send_bytes);
          json_bool_member (out, "ok", TRUE);
          json_int_member (out, "elapsed_us", g_get_monotonic_time () - started);
          json_event_print (out);
        }
      else
        print_line ("echo: %" G_GINT64_FORMAT " bytes back intact in %.1f ms", send_bytes,
                    (g_get_monotonic_time () - started) / 1000.0);
    }

  if (hold_s > 0)
    {
      gboolean timed_out = FALSE;
      guint timer = g_timeout_add_seconds ((guint) hold_s, on_flag_timeout, &timed_out);

      while (!punch_connection_is_closed (connection) && !timed_out)
        g_main_context_iteration (NULL, TRUE);
      if (!timed_out)
        g_source_remove (timer);
      if (punch_connection_is_closed (connection))
        {
          if (json)
            {
              GString *out = json_event_new ("closed");

              json_event_print (out);
            }
          else
            print_line ("connection closed");
        }
    }

out:
  g_clear_error (&step.error);
  g_clear_object (&step.cancellable);
  if (connection != NULL)
    close_gracefully (connection, 2);
  punch_host_close (host);
  g_clear_object (&client);
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  return status;
}

static const Command commands[] = {
  { "id new", "FILE [--type TYPE] [--force]", "create an identity key file", cmd_id_new },
  { "id show", "FILE", "print the peer id of a key file", cmd_id_show },
  { "addr encode", "MULTIADDR", "multiaddr text to binary (hex)", cmd_addr_encode },
  { "addr decode", "HEX", "binary multiaddr (hex) to text", cmd_addr_decode },
  { "serve", "--listen MULTIADDR [--listen ...] [--connect MULTIADDR...] [--max-connections N] "
    "[--autonat-service [--autonat-global-rate N] [--autonat-peer-rate N] [--autonat-max-concurrent N]] "
    "[--relay-service] [--stun-port N] [--key FILE] [--json]",
    "run a node (identify, ping, echo) until SIGINT/SIGTERM", cmd_serve },
  { "ping", "MULTIADDR [--count N] [--interval S] [--timeout S] [--key FILE] [--json]",
    "connect to a peer, identify it and ping it", cmd_ping },
  { "reach", "--server MULTIADDR [--server ...] [--stun HOST:PORT] [--threshold N] [--timeout S] [--json]",
    "learn whether this node is reachable, from AutoNAT servers", cmd_reach },
  { "listen", "--relay MULTIADDR [--relay ...] [--listen MULTIADDR...] [--key FILE] [--json]",
    "reserve on relays and accept connections (echo) until SIGINT/SIGTERM", cmd_listen },
  { "dial", "MULTIADDR [--send-bytes N] [--timeout S] [--key FILE] [--json]",
    "connect to a peer (relayed or direct), report the path, echo N bytes", cmd_dial },
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

  /* Commands are one word ("serve") or two ("id new"); the last word
   * becomes argv[0] of the command, so its option parser sees
   * "new FILE ...". */
  for (gsize i = 0; argc >= 2 && i < G_N_ELEMENTS (commands); i++)
    if (strchr (commands[i].name, ' ') == NULL && g_str_equal (argv[1], commands[i].name))
      return commands[i].run (argc - 1, argv + 1);
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
