/* test-agent.c: PunchAgent: ICE gathering and AutoNAT verdicts over loopback.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-agent.h"
#include "punch-autonat.h"
#include "punch-error.h"
#include "punch-identify.h"
#include "punch-keypair.h"

#define WAIT_TIMEOUT_S 60

#include "punch-test-util.h"

typedef struct {
  PunchHost *host;
  PunchAutonatService *service;
  PunchMultiaddr *address;
} Server;

static Server *
server_new (gboolean allow_private)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);
  g_autoptr(PunchMultiaddr) where = punch_multiaddr_new_from_string ("/ip4/127.0.0.1/tcp/0", &error);
  g_autoptr(GPtrArray) addresses = NULL;
  Server *server = g_new0 (Server, 1);

  g_assert_no_error (error);
  server->host = punch_host_new (keypair);
  server->service = punch_autonat_service_new (server->host);
  punch_autonat_service_set_allow_private (server->service, allow_private);
  punch_autonat_service_set_dial_timeout (server->service, 5000);
  g_assert_true (punch_host_listen (server->host, where, &error));
  g_assert_no_error (error);
  addresses = punch_host_get_listen_addresses (server->host);
  server->address = punch_multiaddr_ref (g_ptr_array_index (addresses, 0));
  return server;
}

static void
server_free (Server *server)
{
  punch_host_close (server->host);
  g_clear_object (&server->service);
  g_clear_object (&server->host);
  punch_multiaddr_unref (server->address);
  g_free (server);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Server, server_free)

typedef struct {
  guint changes;
  PunchReachability old_value;
  PunchReachability new_value;
  guint confidence;
  guint notifies;
  guint checks;
} Watch;

static void
on_changed (PunchAgent        *agent,
            PunchReachability  old_value,
            PunchReachability  new_value,
            guint              confidence,
            Watch             *watch)
{
  watch->changes++;
  watch->old_value = old_value;
  watch->new_value = new_value;
  watch->confidence = confidence;
  g_assert_cmpint (punch_agent_get_reachability (agent), ==, new_value);
}

static void
on_notify (GObject    *object,
           GParamSpec *pspec,
           Watch      *watch)
{
  watch->notifies++;
}

static void
on_check_done (PunchAgent *agent,
               Watch      *watch)
{
  watch->checks++;
}

static PunchAgent *
agent_new (Watch    *watch,
           gboolean  listen)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  PunchAgent *agent = punch_agent_new (NULL);

  g_object_set (agent, "autonat-threshold", 2, "retry-interval", 3600, NULL);
  punch_agent_add_local_address (agent, loopback);
  if (listen)
    {
      g_autoptr(PunchMultiaddr) where = punch_multiaddr_new_from_string ("/ip4/127.0.0.1/tcp/0", &error);

      g_assert_no_error (error);
      g_assert_true (punch_host_listen (punch_agent_get_host (agent), where, &error));
      g_assert_no_error (error);
    }
  g_signal_connect (agent, "reachability-changed", G_CALLBACK (on_changed), watch);
  g_signal_connect (agent, "notify::reachability", G_CALLBACK (on_notify), watch);
  g_signal_connect (agent, "check-done", G_CALLBACK (on_check_done), watch);
  return agent;
}

static void
agent_free (PunchAgent *agent)
{
  g_signal_handlers_disconnect_matched (agent, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, on_changed, NULL);
  g_signal_handlers_disconnect_matched (agent, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, on_notify, NULL);
  g_signal_handlers_disconnect_matched (agent, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, on_check_done, NULL);
  punch_host_close (punch_agent_get_host (agent));
  g_object_unref (agent);
  run_pending ();
}

static PunchAgentAddress *
find_origin (GPtrArray          *addresses,
             PunchAddressOrigin  origin)
{
  for (guint i = 0; i < addresses->len; i++)
    if (punch_agent_address_get_origin (g_ptr_array_index (addresses, i)) == origin)
      return g_ptr_array_index (addresses, i);
  return NULL;
}

static gboolean
has_origin (PunchAgent         *agent,
            PunchAddressOrigin  origin)
{
  g_autoptr(GPtrArray) addresses = punch_agent_get_addresses (agent);

  return find_origin (addresses, origin) != NULL;
}

static PunchReachability
origin_reachability (PunchAgent         *agent,
                     PunchAddressOrigin  origin)
{
  g_autoptr(GPtrArray) addresses = punch_agent_get_addresses (agent);
  PunchAgentAddress *address = find_origin (addresses, origin);

  return address != NULL ? punch_agent_address_get_reachability (address) : PUNCH_REACHABILITY_UNKNOWN;
}

/* Whether @server's identify record of @agent lists @address alone. */
static gboolean
server_sees_listen (Server         *server,
                    PunchAgent     *agent,
                    PunchMultiaddr *address)
{
  PunchIdentify *identify = punch_identify_get_for_host (server->host);
  g_autoptr(PunchIdentifyInfo) info =
    punch_identify_get_peer_info (identify, punch_host_get_peer_id (punch_agent_get_host (agent)));
  GPtrArray *listen = info != NULL ? punch_identify_info_get_listen_addresses (info) : NULL;

  return listen != NULL && listen->len == 1 && punch_multiaddr_equal (g_ptr_array_index (listen, 0), address);
}

/* Two servers dial the listen address back: PUBLIC, with the signal,
 * the notification and the address's own verdict. */
static void
test_public (void)
{
  g_autoptr(Server) s1 = server_new (TRUE);
  g_autoptr(Server) s2 = server_new (TRUE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) addresses = NULL;
  g_autoptr(GPtrArray) advertised = NULL;
  Watch watch = { 0 };
  PunchAgent *agent = agent_new (&watch, TRUE);
  PunchAgentAddress *listen, *candidate;

  g_assert_cmpint (punch_agent_get_reachability (agent), ==, PUNCH_REACHABILITY_UNKNOWN);
  punch_agent_add_autonat_server (agent, s1->address);
  punch_agent_add_autonat_server (agent, s2->address);
  g_assert_true (punch_agent_start (agent, &error));
  g_assert_no_error (error);

  WAIT_FOR (watch.changes > 0);
  g_assert_cmpuint (watch.changes, ==, 1);
  g_assert_cmpint (watch.old_value, ==, PUNCH_REACHABILITY_UNKNOWN);
  g_assert_cmpint (watch.new_value, ==, PUNCH_REACHABILITY_PUBLIC);
  g_assert_cmpuint (watch.confidence, ==, 2);
  g_assert_cmpuint (watch.notifies, ==, 1);
  g_assert_cmpuint (punch_agent_get_confidence (agent), ==, 2);

  /* ICE gathered a UDP host candidate on the loopback address. */
  WAIT_FOR (watch.checks > 0 && has_origin (agent, PUNCH_ADDRESS_ORIGIN_ICE_HOST));
  addresses = punch_agent_get_addresses (agent);
  listen = find_origin (addresses, PUNCH_ADDRESS_ORIGIN_LISTEN);
  g_assert_nonnull (listen);
  g_assert_cmpint (punch_agent_address_get_reachability (listen), ==, PUNCH_REACHABILITY_PUBLIC);
  candidate = find_origin (addresses, PUNCH_ADDRESS_ORIGIN_ICE_HOST);
  g_assert_cmpint (punch_multiaddr_get_protocol (punch_agent_address_get_multiaddr (candidate), 1),
                   ==, PUNCH_MULTIADDR_PROTOCOL_UDP);

  /* The servers also probe the UDP candidate (/punch/autonat/udp/1.0.0):
   * libnice answers their check on the candidate's own socket. */
  WAIT_FOR (origin_reachability (agent, PUNCH_ADDRESS_ORIGIN_ICE_HOST) == PUNCH_REACHABILITY_PUBLIC);

  /* PUBLIC: everything is advertised. */
  advertised = punch_agent_get_advertised_addresses (agent);
  g_assert_cmpuint (advertised->len, ==, addresses->len);

  /* Identify tells the servers the confirmed listen address (pushed). */
  WAIT_FOR (server_sees_listen (s1, agent, punch_agent_address_get_multiaddr (listen)));

  agent_free (agent);
}

/* Nothing listens where the servers see the agent: each dial-back fails,
 * the agent is PRIVATE, and only confirmed addresses (none) are advertised. */
static void
test_private (void)
{
  g_autoptr(Server) s1 = server_new (TRUE);
  g_autoptr(Server) s2 = server_new (TRUE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) addresses = NULL;
  g_autoptr(GPtrArray) advertised = NULL;
  Watch watch = { 0 };
  PunchAgent *agent = agent_new (&watch, FALSE);
  PunchAgentAddress *observed;

  punch_agent_add_autonat_server (agent, s1->address);
  punch_agent_add_autonat_server (agent, s2->address);
  g_assert_true (punch_agent_start (agent, &error));
  g_assert_no_error (error);

  WAIT_FOR (watch.changes > 0);
  g_assert_cmpint (watch.new_value, ==, PUNCH_REACHABILITY_PRIVATE);
  g_assert_cmpuint (watch.confidence, ==, 2);

  addresses = punch_agent_get_addresses (agent);
  observed = find_origin (addresses, PUNCH_ADDRESS_ORIGIN_OBSERVED);
  g_assert_nonnull (observed);
  g_assert_cmpint (punch_agent_address_get_reachability (observed), ==, PUNCH_REACHABILITY_PRIVATE);
  /* PRIVATE: only what a server confirmed is advertised (the UDP
   * candidate may be, once probed; never the observed TCP address). */
  advertised = punch_agent_get_advertised_addresses (agent);
  g_assert_false (g_ptr_array_find_with_equal_func (advertised,
                                                    punch_agent_address_get_multiaddr (observed),
                                                    punch_multiaddr_equal, NULL));
  for (guint i = 0; i < advertised->len; i++)
    {
      gboolean confirmed = FALSE;

      for (guint j = 0; j < addresses->len; j++)
        {
          PunchAgentAddress *a = g_ptr_array_index (addresses, j);

          if (punch_multiaddr_equal (punch_agent_address_get_multiaddr (a), g_ptr_array_index (advertised, i)))
            confirmed = punch_agent_address_get_reachability (a) == PUNCH_REACHABILITY_PUBLIC;
        }
      g_assert_true (confirmed);
    }

  agent_free (agent);
}

/* Servers that refuse (loopback is not theirs to dial) give no evidence:
 * the round ends and the verdict stays UNKNOWN. */
static void
test_refused (void)
{
  g_autoptr(Server) s1 = server_new (FALSE);
  g_autoptr(Server) s2 = server_new (FALSE);
  g_autoptr(GError) error = NULL;
  Watch watch = { 0 };
  PunchAgent *agent = agent_new (&watch, TRUE);

  punch_agent_add_autonat_server (agent, s1->address);
  punch_agent_add_autonat_server (agent, s2->address);
  g_assert_true (punch_agent_start (agent, &error));
  g_assert_no_error (error);

  WAIT_FOR (watch.checks > 0);
  g_assert_cmpuint (watch.changes, ==, 0);
  g_assert_cmpint (punch_agent_get_reachability (agent), ==, PUNCH_REACHABILITY_UNKNOWN);
  g_assert_cmpuint (punch_agent_get_confidence (agent), ==, 0);

  agent_free (agent);
}

/* A server that cannot be reached still ends the round. */
static void
test_unreachable_server (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) nowhere = punch_multiaddr_new_from_string (
      "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq", &error);
  Watch watch = { 0 };
  PunchAgent *agent = agent_new (&watch, TRUE);

  g_assert_no_error (error);
  punch_agent_add_autonat_server (agent, nowhere);
  g_assert_true (punch_agent_start (agent, &error));
  g_assert_no_error (error);
  WAIT_FOR (watch.checks > 0);
  g_assert_cmpint (punch_agent_get_reachability (agent), ==, PUNCH_REACHABILITY_UNKNOWN);

  agent_free (agent);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/agent/reachability/public", test_public);
  g_test_add_func ("/agent/reachability/private", test_private);
  g_test_add_func ("/agent/reachability/refused", test_refused);
  g_test_add_func ("/agent/reachability/unreachable-server", test_unreachable_server);

  return g_test_run ();
}
