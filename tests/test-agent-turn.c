/* test-agent-turn.c: PunchAgent: a relayed ICE candidate from a real TURN server (coturn).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "punch-agent.h"

#define WAIT_TIMEOUT_S 60

#include "punch-test-agent.h"
#include "punch-test-util.h"

#define TURN_IP "127.0.0.1"
#define TURN_REALM "punch.test"
#define TURN_USER "punch"
#define TURN_PASSWORD "s3cret-turn"
#define RELAY_MIN_PORT 49152
#define RELAY_MAX_PORT 65535
#define READY_TIMEOUT_US (10 * G_USEC_PER_SEC)

/* A coturn `turnserver` of our own on 127.0.0.1, started per test. */
typedef struct {
  gchar *dir;                      /* temporary: log, pid file, user db */
  gchar *log_path;
  guint port;
  GSubprocess *turnserver;
  gboolean exited;
} Fixture;

/* A UDP port that was free a moment ago on 127.0.0.1. */
static guint
free_udp_port (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, &error);

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, any, FALSE, &error));
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* Dies with the test (even one that aborts on a failed assertion). */
static void
child_setup (gpointer user_data)
{
  pid_t parent = GPOINTER_TO_INT (user_data);

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != parent)
    _exit (1);
}

static void
on_turnserver_exited (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  Fixture *fixture = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  fixture->exited = TRUE;
}

static void
dump_log (Fixture *fixture)
{
  g_autofree gchar *log = NULL;

  if (g_file_get_contents (fixture->log_path, &log, NULL, NULL))
    g_test_message ("turnserver log:\n%s", log);
}

/* Whether turnserver answers a STUN Binding request (RFC 5389: type
 * 0x0001, length 0, the magic cookie, a transaction id) within
 * @timeout_us. The socket is ours alone, so a Binding success response
 * to any earlier request (a slow start answers late) counts as well. */
static gboolean
stun_answers (GSocket        *socket,
              GSocketAddress *server,
              gint64          timeout_us)
{
  static const guint8 request[20] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42,
                                      'p', 'u', 'n', 'c', 'h', '-', 't', 'u', 'r', 'n', '-', '1' };
  guint8 response[512];
  gssize n;

  if (g_socket_send_to (socket, server, (const gchar *) request, sizeof request, NULL, NULL) < 0)
    return FALSE;
  if (!g_socket_condition_timed_wait (socket, G_IO_IN, timeout_us, NULL, NULL))
    return FALSE;
  n = g_socket_receive (socket, (gchar *) response, sizeof response, NULL, NULL);
  /* A Binding success response (0x0101) with our transaction id. */
  return n >= 20 && response[0] == 0x01 && response[1] == 0x01 &&
         memcmp (response + 4, request + 4, 16) == 0;
}

/* Polls turnserver's UDP listener until it answers, at most
 * READY_TIMEOUT_US, and fails early if it exited. */
static gboolean
wait_ready (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) server = g_inet_socket_address_new (loopback, fixture->port);
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, &error);
  gint64 deadline = g_get_monotonic_time () + READY_TIMEOUT_US;

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, any, FALSE, &error));
  g_assert_no_error (error);
  while (g_get_monotonic_time () < deadline)
    {
      run_pending ();
      if (fixture->exited)
        return FALSE;
      if (stun_answers (socket, server, 100 * 1000))
        return TRUE;
    }
  return FALSE;
}

static void
remove_dir (const gchar *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const gchar *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *child = g_build_filename (path, name, NULL);

      g_remove (child);
    }
  g_rmdir (path);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autofree gchar *program = g_find_program_in_path ("turnserver");
  g_autofree gchar *port = NULL;
  g_autofree gchar *user = g_strdup_printf ("%s:%s", TURN_USER, TURN_PASSWORD);
  g_autofree gchar *pid_path = NULL;
  g_autofree gchar *db_path = NULL;
  g_autofree gchar *min_port = g_strdup_printf ("%u", RELAY_MIN_PORT);
  g_autofree gchar *max_port = g_strdup_printf ("%u", RELAY_MAX_PORT);

  if (program == NULL)
    {
      g_test_fail_printf ("turnserver (coturn) is not in PATH: "
                          "install it (apt-get install coturn, see scripts/deps-debian.txt)");
      return;
    }

  fixture->dir = g_dir_make_tmp ("punch-turn-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->log_path = g_build_filename (fixture->dir, "turnserver.log", NULL);
  pid_path = g_build_filename (fixture->dir, "turnserver.pid", NULL);
  db_path = g_build_filename (fixture->dir, "turndb", NULL);
  fixture->port = free_udp_port ();
  port = g_strdup_printf ("%u", fixture->port);

  /* No configuration file, no daemon, UDP only on loopback, one static
   * long-term credential; no CLI, TCP, TLS or DTLS listener. */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup,
                                         GINT_TO_POINTER (getpid ()), NULL);
  fixture->turnserver = g_subprocess_launcher_spawn (launcher, &error, program,
      "-c", "/dev/null",
      "--listening-ip", TURN_IP,
      "--relay-ip", TURN_IP,
      "--listening-port", port,
      "--min-port", min_port,
      "--max-port", max_port,
      "--allow-loopback-peers",
      "--lt-cred-mech",
      "--realm", TURN_REALM,
      "--user", user,
      "--userdb", db_path,
      "--pidfile", pid_path,
      "--log-file", fixture->log_path,
      "--simple-log",
      "--no-stdout-log",
      "--no-tcp", "--no-tls", "--no-dtls", "--no-tcp-relay",
      "--no-cli",
      "--no-rfc5780",
      "--verbose",
      NULL);
  g_assert_no_error (error);
  g_subprocess_wait_async (fixture->turnserver, NULL, on_turnserver_exited, fixture);

  if (!wait_ready (fixture))
    {
      dump_log (fixture);
      g_test_fail_printf ("turnserver on %s:%u %s", TURN_IP, fixture->port,
                          fixture->exited ? "exited at start" : "did not answer STUN in time");
    }
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  if (fixture->turnserver != NULL)
    {
      if (!fixture->exited)
        g_subprocess_force_exit (fixture->turnserver);
      WAIT_FOR (fixture->exited);
      g_clear_object (&fixture->turnserver);
    }
  if (fixture->dir != NULL)
    remove_dir (fixture->dir);
  g_clear_pointer (&fixture->dir, g_free);
  g_clear_pointer (&fixture->log_path, g_free);
}

/* An agent on the loopback address that uses the fixture's TURN server
 * with @password, started; returns once its candidates are gathered (they
 * are published all at once, so the host candidate marks the end). */
static PunchAgent *
agent_gathered (Fixture     *fixture,
                const gchar *password)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  PunchAgent *agent = punch_agent_new (NULL);

  g_object_set (agent, "retry-interval", 3600, NULL);
  punch_agent_add_local_address (agent, loopback);
  punch_agent_set_turn_server (agent, TURN_IP, fixture->port, TURN_USER, password);
  g_assert_true (punch_agent_start (agent, &error));
  g_assert_no_error (error);
  WAIT_FOR (has_origin (agent, PUNCH_ADDRESS_ORIGIN_ICE_HOST));
  return agent;
}

static void
agent_free (PunchAgent *agent)
{
  punch_host_close (punch_agent_get_host (agent));
  g_object_unref (agent);
  run_pending ();
}

/* The right credentials: libnice allocates on the TURN server and the
 * agent lists a relayed UDP candidate at the server's relay address. */
static void
test_relayed (Fixture       *fixture,
              gconstpointer  user_data)
{
  g_autoptr(GPtrArray) addresses = NULL;
  g_autoptr(GInetAddress) ip = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autofree gchar *ip_text = NULL;
  g_autoptr(GError) error = NULL;
  PunchMultiaddrProtocol transport;
  PunchAgentAddress *relayed;
  PunchMultiaddr *multiaddr;
  PunchAgent *agent;
  guint port;

  if (fixture->turnserver == NULL || g_test_failed ())
    return;
  agent = agent_gathered (fixture, TURN_PASSWORD);
  addresses = punch_agent_get_addresses (agent);
  relayed = find_origin (addresses, PUNCH_ADDRESS_ORIGIN_ICE_RELAYED);
  if (relayed == NULL)
    dump_log (fixture);
  g_assert_nonnull (relayed);

  multiaddr = punch_agent_address_get_multiaddr (relayed);
  g_assert_cmpint (punch_multiaddr_get_protocol (multiaddr, 0), ==, PUNCH_MULTIADDR_PROTOCOL_IP4);
  g_assert_cmpint (punch_multiaddr_get_protocol (multiaddr, 1), ==, PUNCH_MULTIADDR_PROTOCOL_UDP);
  ip = punch_multiaddr_get_inet_address (multiaddr);
  ip_text = g_inet_address_to_string (ip);
  g_assert_cmpstr (ip_text, ==, TURN_IP);
  /* A port of turnserver's relay range, not its listening port. */
  socket_address = punch_multiaddr_to_inet_socket_address (multiaddr, &transport, &error);
  g_assert_no_error (error);
  g_assert_cmpint (transport, ==, PUNCH_MULTIADDR_PROTOCOL_UDP);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (socket_address));
  g_assert_cmpuint (port, >=, RELAY_MIN_PORT);
  g_assert_cmpuint (port, <=, RELAY_MAX_PORT);
  g_assert_cmpuint (port, !=, fixture->port);
  g_assert_cmpint (punch_agent_address_get_reachability (relayed), ==, PUNCH_REACHABILITY_UNKNOWN);

  agent_free (agent);
}

/* A wrong password: the server refuses the allocation (401 twice),
 * gathering still completes, with the host candidate and no relayed one. */
static void
test_wrong_password (Fixture       *fixture,
                     gconstpointer  user_data)
{
  g_autoptr(GPtrArray) addresses = NULL;
  PunchAgent *agent;

  if (fixture->turnserver == NULL || g_test_failed ())
    return;
  agent = agent_gathered (fixture, "not-" TURN_PASSWORD);
  addresses = punch_agent_get_addresses (agent);
  g_assert_nonnull (find_origin (addresses, PUNCH_ADDRESS_ORIGIN_ICE_HOST));
  g_assert_null (find_origin (addresses, PUNCH_ADDRESS_ORIGIN_ICE_RELAYED));

  agent_free (agent);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/agent/turn/relayed", Fixture, NULL,
              fixture_set_up, test_relayed, fixture_tear_down);
  g_test_add ("/agent/turn/wrong-password", Fixture, NULL,
              fixture_set_up, test_wrong_password, fixture_tear_down);

  return g_test_run ();
}
