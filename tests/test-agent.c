/* test-agent.c: PunchAgent: ICE gathering and AutoNAT verdicts over loopback.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-agent.h"
#include "punch-autonat.h"
#include "punch-connection.h"
#include "punch-error.h"
#include "punch-identify.h"
#include "punch-keypair.h"
#include "punch-relay.h"
#include "punch-relay-client.h"

#define WAIT_TIMEOUT_S 60

#include "punch-test-agent.h"
#include "punch-test-util.h"

typedef struct {
  PunchHost *host;
  PunchAutonatService *service;
  PunchMultiaddr *address;
  guint requests;                  /* Dials answered */
  guint ok;                        /* of which OK */
  PunchPeerId *requester;          /* the last one to ask */
} Server;

static void
on_request_handled (PunchAutonatService *service,
                    PunchPeerId         *peer,
                    PunchAutonatStatus   status,
                    Server              *server)
{
  server->requests++;
  if (status == PUNCH_AUTONAT_STATUS_OK)
    server->ok++;
  g_clear_pointer (&server->requester, punch_peer_id_unref);
  server->requester = punch_peer_id_ref (peer);
}

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
  g_signal_connect (server->service, "request-handled", G_CALLBACK (on_request_handled), server);
  g_assert_true (punch_host_listen (server->host, where, &error));
  g_assert_no_error (error);
  addresses = punch_host_get_listen_addresses (server->host);
  server->address = punch_multiaddr_ref (g_ptr_array_index (addresses, 0));
  return server;
}

static void
server_free (Server *server)
{
  g_signal_handlers_disconnect_by_data (server->service, server);
  punch_host_close (server->host);
  g_clear_object (&server->service);
  g_clear_object (&server->host);
  punch_multiaddr_unref (server->address);
  g_clear_pointer (&server->requester, punch_peer_id_unref);
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
  gint64 check_times[16];          /* monotonic, of the first checks */
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
  if (watch->checks < G_N_ELEMENTS (watch->check_times))
    watch->check_times[watch->checks] = g_get_monotonic_time ();
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

  /* PUBLIC: everything is advertised but the observed addresses no
   * server confirmed (the mappings of the agent's outbound connections). */
  advertised = punch_agent_get_advertised_addresses (agent);
  g_clear_pointer (&addresses, g_ptr_array_unref);
  addresses = punch_agent_get_addresses (agent);
  listen = find_origin (addresses, PUNCH_ADDRESS_ORIGIN_LISTEN);
  g_assert_nonnull (find_origin (addresses, PUNCH_ADDRESS_ORIGIN_OBSERVED));
  for (guint i = 0, n = 0; i < addresses->len; i++)
    {
      PunchAgentAddress *a = g_ptr_array_index (addresses, i);
      gboolean told = g_ptr_array_find_with_equal_func (advertised, punch_agent_address_get_multiaddr (a),
                                                        punch_multiaddr_equal, NULL);

      g_assert_true (told == (punch_agent_address_get_origin (a) != PUNCH_ADDRESS_ORIGIN_OBSERVED ||
                              punch_agent_address_get_reachability (a) == PUNCH_REACHABILITY_PUBLIC));
      n += told;
      if (i == addresses->len - 1)
        g_assert_cmpuint (advertised->len, ==, n);
    }

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

/* Servers that refuse every Dial (loopback addresses, allow-private
 * off): the verdict stays UNKNOWN and the agent retries at its retry
 * interval. Each round reconnects and identifies the servers again; that
 * must not start the next round at once (it once made the agent ask
 * hundreds of times a minute). */
static void
test_refusing_servers (void)
{
  g_autoptr(Server) s1 = server_new (FALSE);
  g_autoptr(Server) s2 = server_new (FALSE);
  g_autoptr(GError) error = NULL;
  Watch watch = { 0 };
  PunchAgent *agent = agent_new (&watch, TRUE);

  punch_autonat_service_set_peer_rate (s1->service, 0);
  punch_autonat_service_set_peer_rate (s2->service, 0);
  g_object_set (agent, "retry-interval", 2, NULL);
  punch_agent_add_autonat_server (agent, s1->address);
  punch_agent_add_autonat_server (agent, s2->address);
  g_assert_true (punch_agent_start (agent, &error));
  g_assert_no_error (error);

  WAIT_FOR (watch.checks >= 3);
  for (guint i = 1; i < 3; i++)
    {
      gint64 gap = watch.check_times[i] - watch.check_times[i - 1];

      /* 2 s, less the quarter second a seconds timeout may fire early
       * (the 1 s floor between triggered rounds must not pass for it) */
      g_assert_cmpint (gap, >=, 3 * G_USEC_PER_SEC / 2);
    }
  g_assert_cmpint (punch_agent_get_reachability (agent), ==, PUNCH_REACHABILITY_UNKNOWN);
  g_assert_cmpuint (watch.changes, ==, 0);
  /* One Dial per server per round. */
  g_assert_cmpuint (s1->requests, >=, 3);
  g_assert_cmpuint (s1->requests, <=, watch.checks + 1);
  g_assert_cmpuint (s2->requests, <=, watch.checks + 1);
  g_assert_cmpuint (s1->ok + s2->ok, ==, 0);

  agent_free (agent);
}

static gboolean
identified (PunchIdentify *identify,
            PunchPeerId   *peer)
{
  g_autoptr(PunchIdentifyInfo) info = punch_identify_get_peer_info (identify, peer);

  return info != NULL;
}

/* Connects @agent's host to @server and waits until identify has told it
 * that @server serves AutoNAT. */
static void
connect_server (PunchAgent *agent,
                Server     *server)
{
  PunchHost *host = punch_agent_get_host (agent);
  PunchIdentify *identify = punch_identify_get_for_host (host);
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(PunchConnection) connection = NULL;
  g_autoptr(PunchIdentifyInfo) info = NULL;
  PunchPeerId *id = punch_host_get_peer_id (server->host);

  punch_host_dial_async (host, server->address, NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  connection = punch_host_dial_finish (host, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (connection);
  WAIT_FOR (identified (identify, id));
  info = punch_identify_get_peer_info (identify, id);
  g_assert_true (punch_identify_info_has_protocol (info, PUNCH_AUTONAT_PROTOCOL_ID));
}

/* A TCP listen address of @agent, as its addresses list it. */
static PunchMultiaddr *
listen_address (PunchAgent *agent,
                guint       port)
{
  g_autoptr(GPtrArray) addresses = punch_agent_get_addresses (agent);

  for (guint i = 0; i < addresses->len; i++)
    {
      PunchAgentAddress *address = g_ptr_array_index (addresses, i);
      PunchMultiaddr *multiaddr = punch_agent_address_get_multiaddr (address);
      g_autoptr(GSocketAddress) socket_address = NULL;

      if (punch_agent_address_get_origin (address) != PUNCH_ADDRESS_ORIGIN_LISTEN)
        continue;
      socket_address = punch_multiaddr_to_inet_socket_address (multiaddr, NULL, NULL);
      if (socket_address != NULL &&
          g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (socket_address)) == port)
        return punch_multiaddr_ref (multiaddr);
    }
  return NULL;
}

static PunchReachability
address_reachability (PunchAgent     *agent,
                      PunchMultiaddr *multiaddr)
{
  g_autoptr(GPtrArray) addresses = punch_agent_get_addresses (agent);

  for (guint i = 0; i < addresses->len; i++)
    if (punch_multiaddr_equal (punch_agent_address_get_multiaddr (g_ptr_array_index (addresses, i)),
                               multiaddr))
      return punch_agent_address_get_reachability (g_ptr_array_index (addresses, i));
  return PUNCH_REACHABILITY_UNKNOWN;
}

static guint
multiaddr_port (PunchMultiaddr *multiaddr)
{
  g_autoptr(PunchMultiaddr) bare =
    punch_multiaddr_decapsulate_protocol (multiaddr, PUNCH_MULTIADDR_PROTOCOL_P2P);
  g_autoptr(GSocketAddress) socket_address = punch_multiaddr_to_inet_socket_address (bare, NULL, NULL);

  g_assert_nonnull (socket_address);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (socket_address));
}

/* Every round after the first comes from the timer: with
 * recheck-interval 1 s, the agent asks again about once a second,
 * neither at once nor not at all. */
static void
test_recheck_interval (void)
{
  g_autoptr(Server) s1 = server_new (TRUE);
  g_autoptr(Server) s2 = server_new (TRUE);
  g_autoptr(GError) error = NULL;
  Watch watch = { 0 };
  PunchAgent *agent = agent_new (&watch, TRUE);

  punch_autonat_service_set_peer_rate (s1->service, 0);
  punch_autonat_service_set_peer_rate (s2->service, 0);
  g_object_set (agent, "recheck-interval", 1, NULL);
  /* Connected and identified before the start: no identify arrives
   * during the first round to ask for another one at once. */
  connect_server (agent, s1);
  connect_server (agent, s2);
  punch_agent_add_autonat_server (agent, s1->address);
  punch_agent_add_autonat_server (agent, s2->address);
  g_assert_true (punch_agent_start (agent, &error));
  g_assert_no_error (error);

  WAIT_FOR (watch.checks >= 1);
  g_assert_cmpint (punch_agent_get_reachability (agent), ==, PUNCH_REACHABILITY_PUBLIC);
  g_assert_cmpuint (s1->requests, ==, 1);
  g_assert_cmpuint (s2->requests, ==, 1);

  WAIT_FOR (watch.checks >= 3);
  for (guint i = 1; i < 3; i++)
    {
      gint64 gap = watch.check_times[i] - watch.check_times[i - 1];

      /* A seconds timeout may fire up to a quarter second early. */
      g_assert_cmpint (gap, >=, G_USEC_PER_SEC / 2);
      g_assert_cmpint (gap, <, 30 * G_USEC_PER_SEC);
    }
  /* Each round asked both servers again, and the verdict held. */
  g_assert_cmpuint (s1->requests, >=, 3);
  g_assert_cmpuint (s2->requests, >=, 3);
  g_assert_cmpint (punch_agent_get_reachability (agent), ==, PUNCH_REACHABILITY_PUBLIC);
  g_assert_cmpuint (watch.changes, ==, 1);

  agent_free (agent);
}

/* No listener: PRIVATE (the observed address is dead). Listening then is
 * an address change: a round starts at once (the timers are an hour
 * away), the servers reach the new address and the verdict flips. */
static void
test_address_change (void)
{
  g_autoptr(Server) s1 = server_new (TRUE);
  g_autoptr(Server) s2 = server_new (TRUE);
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) where = punch_multiaddr_new_from_string ("/ip4/127.0.0.1/tcp/0", NULL);
  g_autoptr(GPtrArray) listening = NULL;
  g_autoptr(PunchMultiaddr) listen = NULL;
  Watch watch = { 0 };
  PunchAgent *agent = agent_new (&watch, FALSE);
  guint checks, requests;

  g_object_set (agent, "recheck-interval", 3600, NULL);
  connect_server (agent, s1);
  connect_server (agent, s2);
  punch_agent_add_autonat_server (agent, s1->address);
  punch_agent_add_autonat_server (agent, s2->address);
  g_assert_true (punch_agent_start (agent, &error));
  g_assert_no_error (error);

  WAIT_FOR (watch.checks >= 1);
  g_assert_cmpint (punch_agent_get_reachability (agent), ==, PUNCH_REACHABILITY_PRIVATE);
  g_assert_cmpuint (watch.changes, ==, 1);
  checks = watch.checks;
  requests = s1->requests + s2->requests;

  g_assert_true (punch_host_listen (punch_agent_get_host (agent), where, &error));
  g_assert_no_error (error);
  listening = punch_host_get_listen_addresses (punch_agent_get_host (agent));
  g_assert_cmpuint (listening->len, ==, 1);
  listen = listen_address (agent, multiaddr_port (g_ptr_array_index (listening, 0)));
  g_assert_nonnull (listen);
  g_assert_cmpint (address_reachability (agent, listen), ==, PUNCH_REACHABILITY_UNKNOWN);

  WAIT_FOR (watch.checks > checks &&
            punch_agent_get_reachability (agent) == PUNCH_REACHABILITY_PUBLIC);
  g_assert_cmpuint (watch.changes, ==, 2);
  g_assert_cmpint (watch.old_value, ==, PUNCH_REACHABILITY_PRIVATE);
  g_assert_cmpint (watch.new_value, ==, PUNCH_REACHABILITY_PUBLIC);
  g_assert_cmpuint (s1->requests + s2->requests, >=, requests + 2);
  g_assert_cmpuint (s1->ok, >=, 1);
  g_assert_cmpuint (s2->ok, >=, 1);
  g_assert_cmpint (address_reachability (agent, listen), ==, PUNCH_REACHABILITY_PUBLIC);

  agent_free (agent);
}

/* No server configured: the first round has nobody to ask. Peers the
 * agent then connects to say (identify) that they serve AutoNAT: the
 * agent asks them and reaches a verdict. */
static void
test_connected_servers (void)
{
  g_autoptr(Server) s1 = server_new (TRUE);
  g_autoptr(Server) s2 = server_new (TRUE);
  g_autoptr(GError) error = NULL;
  Watch watch = { 0 };
  PunchAgent *agent = agent_new (&watch, TRUE);
  PunchPeerId *agent_id = punch_host_get_peer_id (punch_agent_get_host (agent));

  g_assert_true (punch_agent_start (agent, &error));
  g_assert_no_error (error);
  WAIT_FOR (watch.checks >= 1);
  g_assert_cmpint (punch_agent_get_reachability (agent), ==, PUNCH_REACHABILITY_UNKNOWN);

  connect_server (agent, s1);
  connect_server (agent, s2);
  WAIT_FOR (watch.changes > 0);
  g_assert_cmpint (watch.new_value, ==, PUNCH_REACHABILITY_PUBLIC);
  g_assert_cmpuint (watch.confidence, ==, 2);
  g_assert_cmpuint (s1->ok, >=, 1);
  g_assert_cmpuint (s2->ok, >=, 1);
  g_assert_true (punch_peer_id_equal (s1->requester, agent_id));
  g_assert_true (punch_peer_id_equal (s2->requester, agent_id));

  agent_free (agent);
}

/* Relays */

typedef struct {
  PunchHost *host;
  PunchRelayService *service;
  PunchMultiaddr *address;
} Relay;

static Relay *
relay_new (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);
  g_autoptr(PunchMultiaddr) where = punch_multiaddr_new_from_string ("/ip4/127.0.0.1/tcp/0", &error);
  g_autoptr(GPtrArray) addresses = NULL;
  Relay *relay = g_new0 (Relay, 1);

  g_assert_no_error (error);
  relay->host = punch_host_new (keypair);
  relay->service = punch_relay_service_new (relay->host);
  g_assert_true (punch_host_listen (relay->host, where, &error));
  g_assert_no_error (error);
  addresses = punch_host_get_listen_addresses (relay->host);
  relay->address = punch_multiaddr_ref (g_ptr_array_index (addresses, 0));
  return relay;
}

/* Closes the relay's host and drops the service: the relay goes away. */
static void
relay_close (Relay *relay)
{
  if (relay->host != NULL)
    punch_host_close (relay->host);
  g_clear_object (&relay->service);
  g_clear_object (&relay->host);
}

static void
relay_free (Relay *relay)
{
  relay_close (relay);
  punch_multiaddr_unref (relay->address);
  g_free (relay);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Relay, relay_free)

typedef struct {
  guint gained;
  guint lost;
  guint lost_with_reason;
  PunchPeerId *relay;              /* of the last reservation gained */
  GPtrArray *relayed;              /* PunchConnection */
} RelayWatch;

static void
on_reservation_gained (PunchAgent            *agent,
                       PunchRelayReservation *reservation,
                       RelayWatch            *watch)
{
  g_assert_nonnull (reservation);
  watch->gained++;
  g_clear_pointer (&watch->relay, punch_peer_id_unref);
  watch->relay = punch_peer_id_ref (punch_relay_reservation_get_relay (reservation));
}

static void
on_reservation_lost (PunchAgent   *agent,
                     PunchPeerId  *relay,
                     const GError *reason,
                     RelayWatch   *watch)
{
  g_assert_nonnull (relay);
  watch->lost++;
  if (reason != NULL)
    watch->lost_with_reason++;
}

static void
on_relayed_connection (PunchAgent      *agent,
                       PunchConnection *connection,
                       RelayWatch      *watch)
{
  g_ptr_array_add (watch->relayed, g_object_ref (connection));
}

static void
relay_watch_connect (PunchAgent *agent,
                     RelayWatch *watch)
{
  watch->relayed = g_ptr_array_new_with_free_func (g_object_unref);
  g_signal_connect (agent, "reservation-gained", G_CALLBACK (on_reservation_gained), watch);
  g_signal_connect (agent, "reservation-lost", G_CALLBACK (on_reservation_lost), watch);
  g_signal_connect (agent, "relayed-connection", G_CALLBACK (on_relayed_connection), watch);
}

static void
relay_watch_disconnect (PunchAgent *agent,
                        RelayWatch *watch)
{
  g_signal_handlers_disconnect_by_data (agent, watch);
  g_clear_pointer (&watch->relayed, g_ptr_array_unref);
  g_clear_pointer (&watch->relay, punch_peer_id_unref);
}

/* RELAY/p2p-circuit/p2p/AGENT */
static PunchMultiaddr *
circuit_address (Relay      *relay,
                 PunchAgent *agent)
{
  g_autoptr(PunchMultiaddr) circuit = punch_multiaddr_new_from_string ("/p2p-circuit", NULL);
  g_autoptr(PunchMultiaddr) with_circuit = punch_multiaddr_encapsulate (relay->address, circuit, NULL);
  g_autoptr(PunchMultiaddr) target =
    punch_multiaddr_new_from_peer_id (punch_host_get_peer_id (punch_agent_get_host (agent)));

  return punch_multiaddr_encapsulate (with_circuit, target, NULL);
}

static gboolean
advertises (PunchAgent     *agent,
            PunchMultiaddr *address)
{
  g_autoptr(GPtrArray) advertised = punch_agent_get_advertised_addresses (agent);

  return g_ptr_array_find_with_equal_func (advertised, address, punch_multiaddr_equal, NULL);
}

static guint
n_circuit_addresses (PunchAgent *agent)
{
  g_autoptr(GPtrArray) advertised = punch_agent_get_advertised_addresses (agent);
  guint n = 0;

  for (guint i = 0; i < advertised->len; i++)
    if (punch_multiaddr_find_protocol (g_ptr_array_index (advertised, i),
                                       PUNCH_MULTIADDR_PROTOCOL_P2P_CIRCUIT) >= 0)
      n++;
  return n;
}

/* Whether @observer's identify record of @agent lists @address (identify
 * announces listen addresses without the trailing /p2p/AGENT). */
static gboolean
peer_lists (PunchHost      *observer,
            PunchAgent     *agent,
            PunchMultiaddr *address)
{
  PunchIdentify *identify = punch_identify_get_for_host (observer);
  g_autoptr(PunchIdentifyInfo) info =
    punch_identify_get_peer_info (identify, punch_host_get_peer_id (punch_agent_get_host (agent)));
  GPtrArray *listen = info != NULL ? punch_identify_info_get_listen_addresses (info) : NULL;
  g_autoptr(PunchMultiaddr) bare = punch_multiaddr_decapsulate_protocol (address, PUNCH_MULTIADDR_PROTOCOL_P2P);

  return listen != NULL && g_ptr_array_find_with_equal_func (listen, bare, punch_multiaddr_equal, NULL);
}

/* A PRIVATE agent (nothing listens where the servers see it) keeps a
 * reservation on its relay and advertises the circuit address, alone;
 * identify pushes it to the relay. Another host dials that address: a
 * limited connection to the agent, which emits relayed-connection. The
 * relay goes away: reservation-lost, and the address is no longer
 * advertised. */
static void
test_relay_private (void)
{
  g_autoptr(Server) s1 = server_new (TRUE);
  g_autoptr(Server) s2 = server_new (TRUE);
  g_autoptr(Relay) relay = relay_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, NULL);
  g_autoptr(PunchHost) dialer = punch_host_new (keypair);
  g_autoptr(PunchRelayClient) dialer_client = punch_relay_client_new (dialer);
  g_autoptr(PunchMultiaddr) circuit = NULL;
  g_autoptr(PunchAgentAddress) observed = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(PunchConnection) connection = NULL;
  g_autoptr(PunchPeerId) relay_id = punch_multiaddr_get_peer_id (relay->address);
  Watch watch = { 0 };
  RelayWatch relays = { 0 };
  PunchAgent *agent = agent_new (&watch, FALSE);
  PunchPeerId *agent_id = punch_host_get_peer_id (punch_agent_get_host (agent));
  PunchConnection *inbound;

  /* The dialer's relay client is what lets it dial /p2p-circuit. */
  (void) dialer_client;
  relay_watch_connect (agent, &relays);
  circuit = circuit_address (relay, agent);
  punch_agent_add_autonat_server (agent, s1->address);
  punch_agent_add_autonat_server (agent, s2->address);
  g_assert_true (punch_agent_add_relay (agent, relay->address, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (relays.gained, ==, 0);   /* not started */

  g_assert_true (punch_agent_start (agent, &error));
  g_assert_no_error (error);
  WAIT_FOR (watch.changes > 0 && relays.gained > 0);
  g_assert_cmpint (punch_agent_get_reachability (agent), ==, PUNCH_REACHABILITY_PRIVATE);
  g_assert_cmpuint (relays.gained, ==, 1);
  g_assert_true (punch_peer_id_equal (relays.relay, relay_id));
  g_assert_cmpuint (punch_relay_service_get_n_reservations (relay->service), ==, 1);

  /* Advertised: the circuit address, never the dead observed one. */
  g_assert_true (advertises (agent, circuit));
  g_assert_cmpuint (n_circuit_addresses (agent), ==, 1);
  {
    g_autoptr(GPtrArray) addresses = punch_agent_get_addresses (agent);
    PunchAgentAddress *found = find_origin (addresses, PUNCH_ADDRESS_ORIGIN_OBSERVED);

    g_assert_nonnull (found);
    observed = punch_agent_address_ref (found);
  }
  g_assert_false (advertises (agent, punch_agent_address_get_multiaddr (observed)));
  WAIT_FOR (peer_lists (relay->host, agent, circuit));

  /* Reached through the relay. */
  punch_host_dial_async (dialer, circuit, NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  connection = punch_host_dial_finish (dialer, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (connection);
  g_assert_true (punch_connection_is_limited (connection));
  g_assert_true (punch_peer_id_equal (punch_connection_get_remote_peer_id (connection), agent_id));
  WAIT_FOR (relays.relayed->len == 1);
  inbound = g_ptr_array_index (relays.relayed, 0);
  g_assert_cmpint (punch_connection_get_direction (inbound), ==, PUNCH_DIRECTION_INBOUND);
  g_assert_true (punch_connection_is_limited (inbound));
  g_assert_true (punch_peer_id_equal (punch_connection_get_remote_peer_id (inbound),
                                      punch_host_get_peer_id (dialer)));

  /* The relay goes away. */
  relay_close (relay);
  WAIT_FOR (relays.lost == 1);
  g_assert_cmpuint (relays.lost_with_reason, ==, 1);
  g_assert_false (advertises (agent, circuit));
  g_assert_cmpuint (n_circuit_addresses (agent), ==, 0);
  g_assert_cmpint (punch_agent_get_reachability (agent), ==, PUNCH_REACHABILITY_PRIVATE);
  g_assert_true (punch_relay_client_get_reserving (punch_agent_get_relay_client (agent)));

  punch_host_close (dialer);
  relay_watch_disconnect (agent, &relays);
  agent_free (agent);
}

/* UNKNOWN (no server yet) is reason enough to reserve, and the circuit
 * address is advertised after the listen address. Once servers say
 * PUBLIC, the agent stops reserving: reservation-lost without a reason,
 * no circuit address any more. */
static void
test_relay_until_public (void)
{
  g_autoptr(Server) s1 = server_new (TRUE);
  g_autoptr(Server) s2 = server_new (TRUE);
  g_autoptr(Relay) relay = relay_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) circuit = NULL;
  g_autoptr(GPtrArray) advertised = NULL;
  g_autoptr(GPtrArray) listening = NULL;
  g_autoptr(PunchMultiaddr) listen = NULL;
  Watch watch = { 0 };
  RelayWatch relays = { 0 };
  PunchAgent *agent = agent_new (&watch, TRUE);

  relay_watch_connect (agent, &relays);
  circuit = circuit_address (relay, agent);
  g_assert_true (punch_agent_add_relay (agent, relay->address, &error));
  g_assert_no_error (error);
  g_assert_true (punch_agent_start (agent, &error));
  g_assert_no_error (error);

  WAIT_FOR (relays.gained == 1 && watch.checks >= 1);
  g_assert_cmpint (punch_agent_get_reachability (agent), ==, PUNCH_REACHABILITY_UNKNOWN);
  listening = punch_host_get_listen_addresses (punch_agent_get_host (agent));
  listen = listen_address (agent, multiaddr_port (g_ptr_array_index (listening, 0)));
  g_assert_nonnull (listen);
  advertised = punch_agent_get_advertised_addresses (agent);
  g_assert_cmpuint (advertised->len, >=, 2);
  g_assert_true (punch_multiaddr_equal (g_ptr_array_index (advertised, advertised->len - 1), circuit));
  g_assert_true (g_ptr_array_find_with_equal_func (advertised, listen, punch_multiaddr_equal, NULL));

  punch_agent_add_autonat_server (agent, s1->address);
  punch_agent_add_autonat_server (agent, s2->address);
  WAIT_FOR (watch.changes > 0);
  g_assert_cmpint (watch.new_value, ==, PUNCH_REACHABILITY_PUBLIC);
  g_assert_cmpuint (relays.lost, ==, 1);
  g_assert_cmpuint (relays.lost_with_reason, ==, 0);
  g_assert_false (punch_relay_client_get_reserving (punch_agent_get_relay_client (agent)));
  g_assert_false (advertises (agent, circuit));
  g_assert_true (advertises (agent, listen));

  relay_watch_disconnect (agent, &relays);
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
  g_test_add_func ("/agent/reachability/recheck-interval", test_recheck_interval);
  g_test_add_func ("/agent/reachability/refusing-servers", test_refusing_servers);
  g_test_add_func ("/agent/reachability/address-change", test_address_change);
  g_test_add_func ("/agent/reachability/connected-servers", test_connected_servers);
  g_test_add_func ("/agent/relay/private", test_relay_private);
  g_test_add_func ("/agent/relay/until-public", test_relay_until_public);

  return g_test_run ();
}
