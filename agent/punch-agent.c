/* punch-agent.c: PunchAgent, the public façade: host, ICE candidates, reachability.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-agent.h"

#include <nice/agent.h>

#include "punch-autonat-core.h"
#include "punch-connection.h"
#include "punch-enum-types.h"
#include "punch-error.h"
#include "punch-identify.h"
#include "punch-relay-client.h"
#include "punch-udp-probe.h"

/**
 * PunchAgent:
 *
 * A Punch node: a [class@Punch.Host] (identity, TCP listeners, libp2p
 * connections) together with a libnice `NiceAgent` that gathers the UDP
 * ICE candidates (host, server-reflexive from the configured STUN server,
 * relayed when a TURN server is configured), and the reachability that
 * AutoNAT concludes for them.
 *
 * The agent keeps the list of its addresses ([method@Punch.Agent.get_addresses]):
 * the TCP addresses its host listens on, the TCP addresses peers observe
 * it at (identify), and its ICE candidates, each as a multiaddr with its
 * own verdict. It asks AutoNAT servers (those configured with
 * [method@Punch.Agent.add_autonat_server] and connected peers that speak
 * `/libp2p/autonat/1.0.0`) to dial its TCP addresses back, and concludes
 * [property@Punch.Agent:reachability] with hysteresis: a verdict needs
 * [property@Punch.Agent:autonat-threshold] servers that agree, and as many
 * that disagree (and outnumber its supporters) to flip. It checks again
 * every [property@Punch.Agent:recheck-interval] seconds, sooner while the
 * verdict is unknown, and whenever its addresses change.
 *
 * While it is not %PUNCH_REACHABILITY_PUBLIC (from the start, before
 * any verdict, and while PRIVATE) the agent keeps a circuit relay v2
 * reservation on every relay added with [method@Punch.Agent.add_relay],
 * and advertises the relayed addresses, `/…/p2p/RELAY/p2p-circuit/p2p/SELF`,
 * after its own ([method@Punch.Agent.get_advertised_addresses], and
 * identify to its peers). A PUBLIC verdict drops the reservations: peers
 * reach the agent directly.
 * [signal@Punch.Agent::reservation-gained] and
 * [signal@Punch.Agent::reservation-lost] tell when a reservation begins
 * and ends (one lost while the agent still needs it is made again after a
 * backoff), and [signal@Punch.Agent::relayed-connection] announces every
 * connection that runs through a relay, accepted or dialed: end-to-end
 * TLS, and limited ([method@Punch.Connection.is_limited]).
 *
 * Since: 0.1
 */

/**
 * PunchAgentAddress:
 *
 * One address of a [class@Punch.Agent] (a TCP listen or observed address,
 * or a UDP ICE candidate) with its origin and AutoNAT's verdict on it. An
 * immutable snapshot: [method@Punch.Agent.get_addresses] makes new ones.
 *
 * Since: 0.1
 */

struct _PunchAgentAddress {
  gatomicrefcount ref_count;
  PunchMultiaddr *multiaddr;
  PunchAddressOrigin origin;
  PunchReachability reachability;
};

G_DEFINE_BOXED_TYPE (PunchAgentAddress, punch_agent_address,
                     punch_agent_address_ref, punch_agent_address_unref)

static PunchAgentAddress *
agent_address_new (PunchMultiaddr     *multiaddr,
                   PunchAddressOrigin  origin,
                   PunchReachability   reachability)
{
  PunchAgentAddress *address = g_new0 (PunchAgentAddress, 1);

  g_atomic_ref_count_init (&address->ref_count);
  address->multiaddr = punch_multiaddr_ref (multiaddr);
  address->origin = origin;
  address->reachability = reachability;
  return address;
}

/**
 * punch_agent_address_ref:
 * @address: an address
 *
 * Takes a reference.
 *
 * Returns: (transfer full): @address
 *
 * Since: 0.1
 */
PunchAgentAddress *
punch_agent_address_ref (PunchAgentAddress *address)
{
  g_return_val_if_fail (address != NULL, NULL);

  g_atomic_ref_count_inc (&address->ref_count);
  return address;
}

/**
 * punch_agent_address_unref:
 * @address: (transfer full): an address
 *
 * Drops a reference.
 *
 * Since: 0.1
 */
void
punch_agent_address_unref (PunchAgentAddress *address)
{
  g_return_if_fail (address != NULL);

  if (!g_atomic_ref_count_dec (&address->ref_count))
    return;
  punch_multiaddr_unref (address->multiaddr);
  g_free (address);
}

/**
 * punch_agent_address_get_multiaddr:
 * @address: an address
 *
 * Gets the address: `/ip4|ip6/…/tcp/PORT` or `/ip4|ip6/…/udp/PORT`.
 *
 * Returns: (transfer none): the multiaddr
 *
 * Since: 0.1
 */
PunchMultiaddr *
punch_agent_address_get_multiaddr (PunchAgentAddress *address)
{
  g_return_val_if_fail (address != NULL, NULL);

  return address->multiaddr;
}

/**
 * punch_agent_address_get_origin:
 * @address: an address
 *
 * Gets where the address comes from.
 *
 * Returns: the origin
 *
 * Since: 0.1
 */
PunchAddressOrigin
punch_agent_address_get_origin (PunchAgentAddress *address)
{
  g_return_val_if_fail (address != NULL, PUNCH_ADDRESS_ORIGIN_LISTEN);

  return address->origin;
}

/**
 * punch_agent_address_get_reachability:
 * @address: an address
 *
 * Gets the verdict on this address: %PUNCH_REACHABILITY_PUBLIC when an
 * AutoNAT server reached it unsolicited, %PUNCH_REACHABILITY_PRIVATE when
 * servers failed to, %PUNCH_REACHABILITY_UNKNOWN before any answer.
 *
 * Returns: the verdict
 *
 * Since: 0.1
 */
PunchReachability
punch_agent_address_get_reachability (PunchAgentAddress *address)
{
  g_return_val_if_fail (address != NULL, PUNCH_REACHABILITY_UNKNOWN);

  return address->reachability;
}

/* PunchAgent */

#define DEFAULT_RECHECK_INTERVAL_S (15 * 60)
#define DEFAULT_RETRY_INTERVAL_S 30
/* Rounds that addresses or new servers ask for start at least this long
 * after the previous one began. */
#define MIN_ROUND_GAP_US G_USEC_PER_SEC
#define DEFAULT_MAX_SERVERS 8

struct _PunchAgent {
  GObject parent_instance;

  PunchHost *host;
  GMainContext *context;
  GCancellable *cancellable;
  PunchRelayClient *relay_client;

  gchar *stun_ip;
  guint stun_port;
  gchar *turn_ip;
  guint turn_port;
  gchar *turn_username;
  gchar *turn_password;
  GPtrArray *local_addresses;      /* GInetAddress */
  GPtrArray *autonat_servers;      /* PunchMultiaddr */

  NiceAgent *nice;
  guint stream_id;
  gboolean started;
  gboolean gathered;
  GPtrArray *candidates;           /* PunchAgentAddress (ICE), verdicts UNKNOWN */
  GHashTable *udp_verdicts;        /* multiaddr text -> PunchReachability, last round */
  GHashTable *udp_round;           /* the same, for the round under way */

  PunchAutonatTrackerConfig tracker_config;
  PunchAutonatTracker *tracker;
  PunchReachability reachability;
  guint confidence;
  guint recheck_interval;
  guint retry_interval;
  guint max_servers;
  GSource *recheck_timer;
  guint round_pending;             /* answers awaited in this round */
  gboolean recheck_wanted;         /* addresses changed during a round */
  gint64 round_started_us;         /* monotonic, of the latest round */
  GPtrArray *asked;                /* PunchPeerId: the latest round's servers */
  gulong listen_changed_id;
  gulong identify_id;
};

enum {
  PROP_0,
  PROP_HOST,
  PROP_REACHABILITY,
  PROP_CONFIDENCE,
  PROP_AUTONAT_THRESHOLD,
  PROP_RECHECK_INTERVAL,
  PROP_RETRY_INTERVAL,
  PROP_MAX_SERVERS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_REACHABILITY_CHANGED,
  SIGNAL_ADDRESSES_CHANGED,
  SIGNAL_CHECK_DONE,
  SIGNAL_RESERVATION_GAINED,
  SIGNAL_RESERVATION_LOST,
  SIGNAL_RELAYED_CONNECTION,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (PunchAgent, punch_agent, G_TYPE_OBJECT)

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/* ------------------------------------------------------------------ */
/* Addresses                                                          */
/* ------------------------------------------------------------------ */

static gboolean
contains_address (GPtrArray      *addresses,
                  PunchMultiaddr *address)
{
  for (guint i = 0; i < addresses->len; i++)
    if (punch_multiaddr_equal (g_ptr_array_index (addresses, i), address))
      return TRUE;
  return FALSE;
}

/* The local IPs of the host's connections in @family: what an
 * unspecified listen address (0.0.0.0, ::) stands for. */
static GPtrArray *
connection_local_ips (PunchAgent     *self,
                      GSocketFamily   family)
{
  g_autoptr(GPtrArray) connections = punch_host_get_connections (self->host, NULL);
  GPtrArray *ips = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < connections->len; i++)
    {
      PunchMultiaddr *local = punch_connection_get_local_address (g_ptr_array_index (connections, i));
      g_autoptr(GInetAddress) ip = local != NULL ? punch_multiaddr_get_inet_address (local) : NULL;
      gboolean seen = FALSE;

      if (ip == NULL || g_inet_address_get_family (ip) != family)
        continue;
      for (guint j = 0; j < ips->len && !seen; j++)
        seen = g_inet_address_equal (g_ptr_array_index (ips, j), ip);
      if (!seen)
        g_ptr_array_add (ips, g_steal_pointer (&ip));
    }
  return ips;
}

static void
add_address (GPtrArray          *addresses,
             GPtrArray          *origins,
             PunchMultiaddr     *address,
             PunchAddressOrigin  origin)
{
  if (address == NULL || contains_address (addresses, address))
    return;
  g_ptr_array_add (addresses, punch_multiaddr_ref (address));
  g_ptr_array_add (origins, GUINT_TO_POINTER (origin));
}

/* The TCP addresses to have checked: listen addresses (an unspecified IP
 * stands for the local IPs of the connections); then, for every IP peers
 * observed, that IP with each listen port (what a port forward or a NAT
 * that keeps ports would make reachable); then the observed addresses
 * themselves (the mappings of this host's outbound connections: behind a
 * NAT, the only addresses a server may dial that prove it unreachable
 * when nothing forwards the listen ports). */
static PunchMultiaddr *
tcp_multiaddr (GInetAddress *ip,
               guint16       port)
{
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (ip, port);

  return punch_multiaddr_new_from_inet_socket_address (G_INET_SOCKET_ADDRESS (address),
                                                       PUNCH_MULTIADDR_PROTOCOL_TCP);
}

static GPtrArray *
tcp_addresses (PunchAgent *self,
               GPtrArray  *out_origins)
{
  g_autoptr(GPtrArray) listen = punch_host_get_listen_addresses (self->host);
  g_autoptr(GPtrArray) listening = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) observed = NULL;
  GPtrArray *addresses = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);

  for (guint i = 0; listen != NULL && i < listen->len; i++)
    {
      g_autoptr(PunchMultiaddr) bare =
        punch_multiaddr_decapsulate_protocol (g_ptr_array_index (listen, i),
                                              PUNCH_MULTIADDR_PROTOCOL_P2P);
      g_autoptr(GSocketAddress) socket_address =
        bare != NULL ? punch_multiaddr_to_inet_socket_address (bare, NULL, NULL) : NULL;
      GInetSocketAddress *inet;
      GInetAddress *ip;
      g_autoptr(GPtrArray) ips = NULL;

      if (socket_address == NULL)
        continue;
      inet = G_INET_SOCKET_ADDRESS (socket_address);
      ip = g_inet_socket_address_get_address (inet);
      g_ptr_array_add (listening, g_object_ref (inet));
      if (!g_inet_address_get_is_any (ip))
        {
          add_address (addresses, out_origins, bare, PUNCH_ADDRESS_ORIGIN_LISTEN);
          continue;
        }
      ips = connection_local_ips (self, g_inet_address_get_family (ip));
      for (guint j = 0; j < ips->len; j++)
        {
          g_autoptr(PunchMultiaddr) address =
            tcp_multiaddr (g_ptr_array_index (ips, j), g_inet_socket_address_get_port (inet));

          add_address (addresses, out_origins, address, PUNCH_ADDRESS_ORIGIN_LISTEN);
        }
    }

  observed = punch_identify_get_observed_addresses (punch_identify_get_for_host (self->host), 1);
  for (guint i = 0; observed != NULL && i < observed->len; i++)
    {
      g_autoptr(GInetAddress) ip = punch_multiaddr_get_inet_address (g_ptr_array_index (observed, i));

      for (guint j = 0; ip != NULL && j < listening->len; j++)
        {
          GInetSocketAddress *inet = g_ptr_array_index (listening, j);
          g_autoptr(PunchMultiaddr) address = NULL;

          if (g_inet_address_get_family (g_inet_socket_address_get_address (inet)) !=
              g_inet_address_get_family (ip))
            continue;
          address = tcp_multiaddr (ip, g_inet_socket_address_get_port (inet));
          add_address (addresses, out_origins, address, PUNCH_ADDRESS_ORIGIN_OBSERVED);
        }
    }
  for (guint i = 0; observed != NULL && i < observed->len; i++)
    add_address (addresses, out_origins, g_ptr_array_index (observed, i),
                 PUNCH_ADDRESS_ORIGIN_OBSERVED);
  return addresses;
}

static PunchReachability
verdict_of (PunchAgent     *self,
            PunchMultiaddr *address)
{
  if (punch_multiaddr_find_protocol (address, PUNCH_MULTIADDR_PROTOCOL_UDP) >= 0)
    {
      g_autofree gchar *text = punch_multiaddr_to_string (address);

      return GPOINTER_TO_INT (g_hash_table_lookup (self->udp_verdicts, text));
    }
  switch (punch_autonat_tracker_get_addr_verdict (self->tracker, address, NULL))
    {
    case PUNCH_AUTONAT_ADDR_REACHABLE:
      return PUNCH_REACHABILITY_PUBLIC;
    case PUNCH_AUTONAT_ADDR_UNREACHABLE:
      return PUNCH_REACHABILITY_PRIVATE;
    case PUNCH_AUTONAT_ADDR_UNKNOWN:
    default:
      return PUNCH_REACHABILITY_UNKNOWN;
    }
}

/* ------------------------------------------------------------------ */
/* AutoNAT rounds                                                     */
/* ------------------------------------------------------------------ */

static void schedule_check (PunchAgent *self, guint seconds);
static void schedule_soon (PunchAgent *self);
static gboolean peer_in (GPtrArray *peers, PunchPeerId *peer);
static void update_identify (PunchAgent *self);

static void
set_verdict (PunchAgent *self)
{
  PunchReachability old = self->reachability;
  PunchReachability now = punch_autonat_tracker_get_reachability (self->tracker);
  guint confidence = punch_autonat_tracker_get_confidence (self->tracker);

  if (now == old && confidence == self->confidence)
    return;
  self->reachability = now;
  self->confidence = confidence;
  g_object_freeze_notify (G_OBJECT (self));
  if (now != old)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REACHABILITY]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONFIDENCE]);
  g_object_thaw_notify (G_OBJECT (self));
  /* Reachable directly: no relay needed. */
  punch_relay_client_set_reserving (self->relay_client, self->started && now != PUNCH_REACHABILITY_PUBLIC);
  if (now != old)
    {
      g_debug ("agent: reachability %d -> %d (confidence %u)", old, now, confidence);
      g_signal_emit (self, signals[SIGNAL_REACHABILITY_CHANGED], 0, old, now, confidence);
    }
}

static void
round_answer_done (PunchAgent *self)
{
  g_assert (self->round_pending > 0);
  if (--self->round_pending > 0)
    return;

  {
    GHashTableIter iter;
    gpointer key, value;

    g_hash_table_iter_init (&iter, self->udp_round);
    while (g_hash_table_iter_next (&iter, &key, &value))
      g_hash_table_insert (self->udp_verdicts, g_strdup (key), value);
    g_hash_table_remove_all (self->udp_round);
  }
  set_verdict (self);
  update_identify (self);
  g_signal_emit (self, signals[SIGNAL_ADDRESSES_CHANGED], 0);
  g_signal_emit (self, signals[SIGNAL_CHECK_DONE], 0);
  if (self->recheck_wanted)
    {
      self->recheck_wanted = FALSE;
      schedule_soon (self);
    }
  else
    schedule_check (self, self->reachability == PUNCH_REACHABILITY_UNKNOWN ?
                          self->retry_interval : self->recheck_interval);
}

typedef struct {
  PunchAgent *agent;               /* strong */
  PunchPeerId *server;
  GPtrArray *requested;            /* PunchMultiaddr */
} Ask;

static void
ask_free (Ask *ask)
{
  g_clear_object (&ask->agent);
  g_clear_pointer (&ask->server, punch_peer_id_unref);
  g_clear_pointer (&ask->requested, g_ptr_array_unref);
  g_free (ask);
}

static void
on_autonat_answer (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Ask *ask = user_data;
  PunchAgent *self = ask->agent;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchAutonatResult) answer = NULL;

  answer = punch_autonat_dial_finish (PUNCH_HOST (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      ask_free (ask);
      return;
    }
  if (answer == NULL)
    {
      g_autofree gchar *server = punch_peer_id_to_string (ask->server);

      g_debug ("agent: AutoNAT server %s did not answer: %s", server, error->message);
    }
  else
    {
      g_autofree gchar *server = punch_peer_id_to_string (ask->server);

      g_debug ("agent: AutoNAT server %s: status %d (%s)", server,
               punch_autonat_result_get_status (answer),
               punch_autonat_result_get_status_text (answer));
      punch_autonat_tracker_record (self->tracker, ask->server,
                                    punch_autonat_result_get_status (answer),
                                    punch_autonat_result_get_address (answer),
                                    ask->requested, g_get_monotonic_time ());
    }
  round_answer_done (self);
  ask_free (ask);
}

/* One server's verdicts on the ICE candidates: REACHABLE from any server
 * wins the round; UNREACHABLE counts when none reached it; REFUSED is no
 * evidence. */
static void
on_udp_answer (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(PunchAgent) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;

  results = punch_udp_probe_finish (PUNCH_HOST (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (results == NULL)
    g_debug ("agent: UDP probe failed: %s", error->message);
  for (guint i = 0; results != NULL && i < results->len; i++)
    {
      PunchUdpProbeResult *r = g_ptr_array_index (results, i);
      struct sockaddr_storage storage;
      g_autoptr(GSocketAddress) socket_address = NULL;
      g_autoptr(PunchMultiaddr) address = NULL;
      g_autofree gchar *text = NULL;
      PunchReachability before;

      nice_address_copy_to_sockaddr (&r->candidate->addr, (struct sockaddr *) &storage);
      socket_address = g_socket_address_new_from_native (&storage, sizeof storage);
      if (socket_address == NULL || !G_IS_INET_SOCKET_ADDRESS (socket_address))
        continue;
      address = punch_multiaddr_new_from_inet_socket_address (G_INET_SOCKET_ADDRESS (socket_address),
                                                              PUNCH_MULTIADDR_PROTOCOL_UDP);
      if (address == NULL)
        continue;
      text = punch_multiaddr_to_string (address);
      before = GPOINTER_TO_INT (g_hash_table_lookup (self->udp_round, text));
      g_debug ("agent: UDP candidate %s: verdict %d", text, r->verdict);
      if (r->verdict == PUNCH_UDP_VERDICT_REACHABLE)
        g_hash_table_insert (self->udp_round, g_steal_pointer (&text),
                             GINT_TO_POINTER (PUNCH_REACHABILITY_PUBLIC));
      else if (r->verdict == PUNCH_UDP_VERDICT_UNREACHABLE && before != PUNCH_REACHABILITY_PUBLIC)
        g_hash_table_insert (self->udp_round, g_steal_pointer (&text),
                             GINT_TO_POINTER (PUNCH_REACHABILITY_PRIVATE));
    }
  round_answer_done (self);
}

/* The UDP candidates, at most as many as one probe takes. */
static GPtrArray *
udp_candidates (PunchAgent *self)
{
  GPtrArray *candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) nice_candidate_free);
  GSList *local;

  if (self->nice == NULL || !self->gathered)
    return candidates;
  local = nice_agent_get_local_candidates (self->nice, self->stream_id, NICE_COMPONENT_TYPE_RTP);
  for (GSList *l = local; l != NULL; l = l->next)
    {
      NiceCandidate *candidate = l->data;

      if (candidate->transport == NICE_CANDIDATE_TRANSPORT_UDP &&
          candidates->len < PUNCH_UDP_PROBE_MAX_CANDIDATES)
        g_ptr_array_add (candidates, nice_candidate_copy (candidate));
    }
  g_slist_free_full (local, (GDestroyNotify) nice_candidate_free);
  return candidates;
}

static void
ask_udp (PunchAgent        *self,
         PunchPeerId       *server,
         PunchIdentifyInfo *info)
{
  g_autoptr(GPtrArray) candidates = NULL;

  if (info == NULL || !punch_identify_info_has_protocol (info, PUNCH_UDP_PROBE_PROTOCOL_ID))
    return;
  candidates = udp_candidates (self);
  if (candidates->len == 0)
    return;
  self->round_pending++;
  punch_udp_probe_async (self->host, server, self->nice, self->stream_id, candidates,
                         self->cancellable, on_udp_answer, g_object_ref (self));
}

static void
ask_server (PunchAgent  *self,
            PunchPeerId *server,
            GPtrArray   *addresses)
{
  Ask *ask = g_new0 (Ask, 1);

  ask->agent = g_object_ref (self);
  ask->server = punch_peer_id_ref (server);
  ask->requested = g_ptr_array_ref (addresses);
  self->round_pending++;
  punch_autonat_dial_async (self->host, server, addresses, self->cancellable,
                            on_autonat_answer, ask);
}

/* Identify first: the address the server observes us at is one to ask
 * about (behind a NAT, the only one it may dial). */
static void
on_server_identified (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  Ask *ask = user_data;
  PunchAgent *self = ask->agent;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchIdentifyInfo) info = NULL;
  g_autoptr(GPtrArray) origins = g_ptr_array_new ();
  g_autoptr(GPtrArray) addresses = NULL;

  info = punch_identify_identify_finish (PUNCH_IDENTIFY (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      ask_free (ask);
      return;
    }
  if (info == NULL)
    g_debug ("agent: identify of an AutoNAT server failed: %s", error->message);
  addresses = tcp_addresses (self, origins);
  if (addresses->len > 0)
    ask_server (self, ask->server, addresses);
  ask_udp (self, ask->server, info);
  round_answer_done (self);   /* the dial's own count */
  ask_free (ask);
}

static void
on_server_dialed (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(PunchAgent) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchConnection) connection = NULL;
  Ask *ask;

  connection = punch_host_dial_finish (PUNCH_HOST (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (connection == NULL)
    {
      g_debug ("agent: cannot reach an AutoNAT server: %s", error->message);
      round_answer_done (self);
      return;
    }
  ask = g_new0 (Ask, 1);
  ask->agent = g_object_ref (self);
  ask->server = punch_peer_id_ref (punch_connection_get_remote_peer_id (connection));
  if (!peer_in (self->asked, ask->server))
    g_ptr_array_add (self->asked, punch_peer_id_ref (ask->server));
  punch_identify_identify_async (punch_identify_get_for_host (self->host), connection,
                                 self->cancellable, on_server_identified, ask);
}

static gboolean
peer_in (GPtrArray   *peers,
         PunchPeerId *peer)
{
  for (guint i = 0; i < peers->len; i++)
    if (punch_peer_id_equal (g_ptr_array_index (peers, i), peer))
      return TRUE;
  return FALSE;
}

/* One round: every configured server, then connected peers that serve
 * AutoNAT, at most max_servers in all. */
static void
start_round (PunchAgent *self)
{
  g_autoptr(GPtrArray) connections = punch_host_get_connections (self->host, NULL);
  g_autoptr(GPtrArray) asked = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_peer_id_unref);
  g_autoptr(GPtrArray) origins = g_ptr_array_new ();
  g_autoptr(GPtrArray) addresses = NULL;
  PunchIdentify *identify = punch_identify_get_for_host (self->host);
  guint n = 0;

  if (self->round_pending > 0)
    {
      self->recheck_wanted = TRUE;
      return;
    }
  self->round_pending = 1;   /* held until every ask is started */
  self->round_started_us = g_get_monotonic_time ();
  g_clear_pointer (&self->asked, g_ptr_array_unref);
  self->asked = g_ptr_array_ref (asked);
  punch_autonat_tracker_expire (self->tracker, g_get_monotonic_time ());
  addresses = tcp_addresses (self, origins);

  for (guint i = 0; i < self->autonat_servers->len && n < self->max_servers; i++, n++)
    {
      PunchMultiaddr *server = g_ptr_array_index (self->autonat_servers, i);
      g_autoptr(PunchPeerId) id = punch_multiaddr_get_peer_id (server);

      if (id != NULL)
        g_ptr_array_add (asked, g_steal_pointer (&id));
      self->round_pending++;
      punch_host_dial_async (self->host, server, self->cancellable, on_server_dialed,
                             g_object_ref (self));
    }

  for (guint i = 0; i < connections->len && n < self->max_servers && addresses->len > 0; i++)
    {
      PunchConnection *connection = g_ptr_array_index (connections, i);
      PunchPeerId *peer = punch_connection_get_remote_peer_id (connection);
      g_autoptr(PunchIdentifyInfo) info = punch_identify_get_peer_info (identify, peer);

      if (info == NULL || !punch_identify_info_has_protocol (info, PUNCH_AUTONAT_PROTOCOL_ID) ||
          peer_in (asked, peer) || punch_connection_is_limited (connection))
        continue;
      g_ptr_array_add (asked, punch_peer_id_ref (peer));
      ask_server (self, peer, addresses);
      ask_udp (self, peer, info);
      n++;
    }

  round_answer_done (self);
}

static gboolean
on_recheck (gpointer data)
{
  PunchAgent *self = data;

  clear_source (&self->recheck_timer);
  start_round (self);
  return G_SOURCE_REMOVE;
}

static void
arm_recheck (PunchAgent *self,
             GSource    *source)
{
  clear_source (&self->recheck_timer);
  if (!self->started)
    {
      g_source_unref (source);
      return;
    }
  self->recheck_timer = source;
  g_source_set_callback (self->recheck_timer, on_recheck, self, NULL);
  g_source_attach (self->recheck_timer, self->context);
}

static void
schedule_check (PunchAgent *self,
                guint       seconds)
{
  arm_recheck (self, seconds > 0 ? g_timeout_source_new_seconds (seconds) : g_idle_source_new ());
}

/* A round asked for by a change: right away, unless the latest round
 * began less than MIN_ROUND_GAP_US ago (a server that answers nothing
 * while every reconnection brings news must not spin the agent). */
static void
schedule_soon (PunchAgent *self)
{
  gint64 wait_us = self->round_started_us + MIN_ROUND_GAP_US - g_get_monotonic_time ();

  arm_recheck (self, self->round_started_us == 0 || wait_us <= 0 ?
                     g_idle_source_new () :
                     g_timeout_source_new ((guint) ((wait_us + 999) / 1000)));
}

/* A round is wanted: after the one under way, or soon. */
static void
want_round (PunchAgent *self)
{
  if (self->round_pending > 0)
    self->recheck_wanted = TRUE;
  else
    schedule_soon (self);
}

static void
on_addresses_changed (PunchAgent *self)
{
  g_signal_emit (self, signals[SIGNAL_ADDRESSES_CHANGED], 0);
  if (self->started)
    want_round (self);
}

static void
on_identify_received (PunchIdentify     *identify,
                      PunchConnection   *connection,
                      PunchIdentifyInfo *info,
                      PunchAgent        *self)
{
  /* A new AutoNAT server among the peers: one the latest round did not
   * ask (the servers it dialed identify again on every connection). */
  if (self->started && self->reachability == PUNCH_REACHABILITY_UNKNOWN &&
      punch_identify_info_has_protocol (info, PUNCH_AUTONAT_PROTOCOL_ID) &&
      !peer_in (self->asked, punch_connection_get_remote_peer_id (connection)))
    want_round (self);
}

/* The addresses worth telling peers (see
 * punch_agent_get_advertised_addresses()); @tcp_only leaves out the UDP
 * ICE candidates. */
static GPtrArray *
advertised_addresses (PunchAgent *self,
                      gboolean    tcp_only)
{
  g_autoptr(GPtrArray) addresses = punch_agent_get_addresses (self);
  g_autoptr(GPtrArray) relayed = NULL;
  GPtrArray *advertised = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);

  for (guint i = 0; i < addresses->len; i++)
    {
      PunchAgentAddress *address = g_ptr_array_index (addresses, i);
      gboolean confirmed = address->reachability == PUNCH_REACHABILITY_PUBLIC;
      gboolean tcp = address->origin == PUNCH_ADDRESS_ORIGIN_LISTEN ||
                     address->origin == PUNCH_ADDRESS_ORIGIN_OBSERVED;

      if (tcp_only && !tcp)
        continue;
      if (!confirmed && (self->reachability == PUNCH_REACHABILITY_PRIVATE ||
                         address->origin == PUNCH_ADDRESS_ORIGIN_OBSERVED))
        continue;
      g_ptr_array_add (advertised, punch_multiaddr_ref (address->multiaddr));
    }
  relayed = punch_relay_client_get_relayed_addresses (self->relay_client);
  for (guint i = 0; i < relayed->len; i++)
    g_ptr_array_add (advertised, punch_multiaddr_ref (g_ptr_array_index (relayed, i)));
  return advertised;
}

/* What identify tells peers: the advertised addresses a libp2p peer can
 * dial (TCP listen addresses, observed ones AutoNAT confirmed, relayed
 * ones); the UDP candidates go to peers through Punch's own signaling. */
static void
update_identify (PunchAgent *self)
{
  g_autoptr(GPtrArray) announced = NULL;

  if (!self->started || self->host == NULL)
    return;
  announced = advertised_addresses (self, TRUE);
  punch_identify_set_advertised_addresses (punch_identify_get_for_host (self->host), announced);
}

/* ------------------------------------------------------------------ */
/* Relays                                                             */
/* ------------------------------------------------------------------ */

static void
on_reservation_gained (PunchRelayClient      *client,
                       PunchRelayReservation *reservation,
                       PunchAgent            *self)
{
  g_signal_emit (self, signals[SIGNAL_RESERVATION_GAINED], 0, reservation);
  update_identify (self);
  g_signal_emit (self, signals[SIGNAL_ADDRESSES_CHANGED], 0);
}

static void
on_reservation_lost (PunchRelayClient *client,
                     PunchPeerId      *relay,
                     const GError     *reason,
                     PunchAgent       *self)
{
  g_signal_emit (self, signals[SIGNAL_RESERVATION_LOST], 0, relay, reason);
  update_identify (self);
  g_signal_emit (self, signals[SIGNAL_ADDRESSES_CHANGED], 0);
}

static void
on_relayed_connection (PunchRelayClient *client,
                       PunchConnection  *connection,
                       PunchAgent       *self)
{
  g_signal_emit (self, signals[SIGNAL_RELAYED_CONNECTION], 0, connection);
}

/* ------------------------------------------------------------------ */
/* ICE                                                                */
/* ------------------------------------------------------------------ */

static void
on_nice_recv (NiceAgent *agent,
              guint      stream_id,
              guint      component_id,
              guint      len,
              gchar     *buf,
              gpointer   user_data)
{
  /* No data flows on the gathering stream; STUN is handled by libnice. */
}

static PunchAddressOrigin
origin_of_candidate (NiceCandidateType type)
{
  switch (type)
    {
    case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
    case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
      return PUNCH_ADDRESS_ORIGIN_ICE_SERVER_REFLEXIVE;
    case NICE_CANDIDATE_TYPE_RELAYED:
      return PUNCH_ADDRESS_ORIGIN_ICE_RELAYED;
    case NICE_CANDIDATE_TYPE_HOST:
    default:
      return PUNCH_ADDRESS_ORIGIN_ICE_HOST;
    }
}

static void
on_gathering_done (NiceAgent *agent,
                   guint      stream_id,
                   gpointer   user_data)
{
  PunchAgent *self = user_data;
  GSList *candidates;

  if (stream_id != self->stream_id)
    return;
  candidates = nice_agent_get_local_candidates (agent, stream_id, NICE_COMPONENT_TYPE_RTP);
  g_ptr_array_set_size (self->candidates, 0);
  for (GSList *l = candidates; l != NULL; l = l->next)
    {
      NiceCandidate *candidate = l->data;
      struct sockaddr_storage storage;
      g_autoptr(GSocketAddress) socket_address = NULL;
      g_autoptr(PunchMultiaddr) address = NULL;

      if (candidate->transport != NICE_CANDIDATE_TRANSPORT_UDP)
        continue;
      nice_address_copy_to_sockaddr (&candidate->addr, (struct sockaddr *) &storage);
      socket_address = g_socket_address_new_from_native (&storage, sizeof storage);
      if (socket_address == NULL || !G_IS_INET_SOCKET_ADDRESS (socket_address))
        continue;
      address = punch_multiaddr_new_from_inet_socket_address (G_INET_SOCKET_ADDRESS (socket_address),
                                                              PUNCH_MULTIADDR_PROTOCOL_UDP);
      if (address == NULL)
        continue;
      g_ptr_array_add (self->candidates,
                       agent_address_new (address, origin_of_candidate (candidate->type),
                                          PUNCH_REACHABILITY_UNKNOWN));
    }
  g_slist_free_full (candidates, (GDestroyNotify) nice_candidate_free);
  self->gathered = TRUE;
  g_debug ("agent: gathered %u UDP candidates", self->candidates->len);
  on_addresses_changed (self);
}

static gboolean
start_ice (PunchAgent  *self,
           GError     **error)
{
  self->nice = nice_agent_new_full (self->context, NICE_COMPATIBILITY_RFC5245,
                                    NICE_AGENT_OPTION_NONE);
  g_object_set (self->nice, "ice-tcp", FALSE, "upnp", FALSE, NULL);
  if (self->stun_ip != NULL)
    g_object_set (self->nice, "stun-server", self->stun_ip,
                  "stun-server-port", self->stun_port, NULL);
  for (guint i = 0; i < self->local_addresses->len; i++)
    {
      g_autofree gchar *text = g_inet_address_to_string (g_ptr_array_index (self->local_addresses, i));
      NiceAddress address;

      nice_address_init (&address);
      if (!nice_address_set_from_string (&address, text))
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED, "Bad local address %s", text);
          return FALSE;
        }
      nice_agent_add_local_address (self->nice, &address);
    }

  self->stream_id = nice_agent_add_stream (self->nice, 1);
  if (self->stream_id == 0)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_FAILED, "libnice refused a stream");
      return FALSE;
    }
  nice_agent_set_stream_name (self->nice, self->stream_id, "application");
  if (self->turn_ip != NULL)
    nice_agent_set_relay_info (self->nice, self->stream_id, NICE_COMPONENT_TYPE_RTP,
                               self->turn_ip, self->turn_port,
                               self->turn_username, self->turn_password,
                               NICE_RELAY_TYPE_TURN_UDP);
  g_signal_connect_object (self->nice, "candidate-gathering-done",
                           G_CALLBACK (on_gathering_done), self, 0);
  nice_agent_attach_recv (self->nice, self->stream_id, NICE_COMPONENT_TYPE_RTP,
                          self->context, on_nice_recv, self);
  if (!nice_agent_gather_candidates (self->nice, self->stream_id))
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_FAILED,
                           "libnice could not gather candidates (no usable local address?)");
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* GObject                                                            */
/* ------------------------------------------------------------------ */

static void
punch_agent_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  PunchAgent *self = PUNCH_AGENT (object);

  switch (prop_id)
    {
    case PROP_HOST:
      g_value_set_object (value, self->host);
      break;
    case PROP_REACHABILITY:
      g_value_set_enum (value, self->reachability);
      break;
    case PROP_CONFIDENCE:
      g_value_set_uint (value, self->confidence);
      break;
    case PROP_AUTONAT_THRESHOLD:
      g_value_set_uint (value, self->tracker_config.threshold);
      break;
    case PROP_RECHECK_INTERVAL:
      g_value_set_uint (value, self->recheck_interval);
      break;
    case PROP_RETRY_INTERVAL:
      g_value_set_uint (value, self->retry_interval);
      break;
    case PROP_MAX_SERVERS:
      g_value_set_uint (value, self->max_servers);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
punch_agent_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  PunchAgent *self = PUNCH_AGENT (object);

  switch (prop_id)
    {
    case PROP_HOST:
      self->host = g_value_dup_object (value);
      break;
    case PROP_AUTONAT_THRESHOLD:
      self->tracker_config.threshold = g_value_get_uint (value);
      /* A new threshold starts the evidence afresh. */
      g_clear_pointer (&self->tracker, punch_autonat_tracker_free);
      self->tracker = punch_autonat_tracker_new (&self->tracker_config);
      break;
    case PROP_RECHECK_INTERVAL:
      self->recheck_interval = g_value_get_uint (value);
      break;
    case PROP_RETRY_INTERVAL:
      self->retry_interval = g_value_get_uint (value);
      break;
    case PROP_MAX_SERVERS:
      self->max_servers = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
punch_agent_constructed (GObject *object)
{
  PunchAgent *self = PUNCH_AGENT (object);

  G_OBJECT_CLASS (punch_agent_parent_class)->constructed (object);

  if (self->host == NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PunchKeypair) keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);

      g_assert_no_error (error);
      self->host = punch_host_new (keypair);
    }
  self->context = g_main_context_ref_thread_default ();
  self->relay_client = punch_relay_client_new (self->host);
  g_signal_connect_object (self->relay_client, "reservation-gained",
                           G_CALLBACK (on_reservation_gained), self, 0);
  g_signal_connect_object (self->relay_client, "reservation-lost",
                           G_CALLBACK (on_reservation_lost), self, 0);
  g_signal_connect_object (self->relay_client, "relayed-connection",
                           G_CALLBACK (on_relayed_connection), self, 0);
  self->listen_changed_id = g_signal_connect_swapped (self->host, "listen-addresses-changed",
                                                      G_CALLBACK (on_addresses_changed), self);
  self->identify_id = g_signal_connect (punch_identify_get_for_host (self->host),
                                        "identify-received",
                                        G_CALLBACK (on_identify_received), self);
}

static void
punch_agent_dispose (GObject *object)
{
  PunchAgent *self = PUNCH_AGENT (object);

  self->started = FALSE;
  g_cancellable_cancel (self->cancellable);
  clear_source (&self->recheck_timer);
  if (self->host != NULL)
    {
      g_clear_signal_handler (&self->listen_changed_id, self->host);
      g_clear_signal_handler (&self->identify_id, punch_identify_get_for_host (self->host));
    }
  if (self->nice != NULL)
    {
      nice_agent_close_async (self->nice, NULL, NULL);
      g_clear_object (&self->nice);
    }
  if (self->relay_client != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->relay_client, self);
      g_clear_object (&self->relay_client);
    }
  g_clear_object (&self->host);

  G_OBJECT_CLASS (punch_agent_parent_class)->dispose (object);
}

static void
punch_agent_finalize (GObject *object)
{
  PunchAgent *self = PUNCH_AGENT (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->stun_ip, g_free);
  g_clear_pointer (&self->turn_ip, g_free);
  g_clear_pointer (&self->turn_username, g_free);
  g_clear_pointer (&self->turn_password, g_free);
  g_clear_pointer (&self->local_addresses, g_ptr_array_unref);
  g_clear_pointer (&self->autonat_servers, g_ptr_array_unref);
  g_clear_pointer (&self->candidates, g_ptr_array_unref);
  g_clear_pointer (&self->udp_verdicts, g_hash_table_unref);
  g_clear_pointer (&self->udp_round, g_hash_table_unref);
  g_clear_pointer (&self->tracker, punch_autonat_tracker_free);
  g_clear_pointer (&self->asked, g_ptr_array_unref);

  G_OBJECT_CLASS (punch_agent_parent_class)->finalize (object);
}

static void
punch_agent_class_init (PunchAgentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = punch_agent_get_property;
  object_class->set_property = punch_agent_set_property;
  object_class->constructed = punch_agent_constructed;
  object_class->dispose = punch_agent_dispose;
  object_class->finalize = punch_agent_finalize;

  /**
   * PunchAgent:host:
   *
   * The host: identity, listeners and libp2p connections.
   *
   * Since: 0.1
   */
  properties[PROP_HOST] =
    g_param_spec_object ("host", NULL, NULL, PUNCH_TYPE_HOST,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PunchAgent:reachability:
   *
   * Whether the agent can be reached from the internet, as AutoNAT
   * servers concluded.
   *
   * Since: 0.1
   */
  properties[PROP_REACHABILITY] =
    g_param_spec_enum ("reachability", NULL, NULL, PUNCH_TYPE_REACHABILITY,
                       PUNCH_REACHABILITY_UNKNOWN,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PunchAgent:confidence:
   *
   * How firmly [property@Punch.Agent:reachability] holds: the agreeing
   * servers minus the disagreeing ones, at most 3 (0 while unknown).
   *
   * Since: 0.1
   */
  properties[PROP_CONFIDENCE] =
    g_param_spec_uint ("confidence", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PunchAgent:autonat-threshold:
   *
   * How many AutoNAT servers must agree for a verdict (the specification:
   * more than 3), and disagree to flip it.
   *
   * Since: 0.1
   */
  properties[PROP_AUTONAT_THRESHOLD] =
    g_param_spec_uint ("autonat-threshold", NULL, NULL, 1, 64, PUNCH_AUTONAT_DEFAULT_THRESHOLD,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  /**
   * PunchAgent:recheck-interval:
   *
   * Seconds between reachability checks once there is a verdict.
   *
   * Since: 0.1
   */
  properties[PROP_RECHECK_INTERVAL] =
    g_param_spec_uint ("recheck-interval", NULL, NULL, 1, G_MAXUINT, DEFAULT_RECHECK_INTERVAL_S,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  /**
   * PunchAgent:retry-interval:
   *
   * Seconds between reachability checks while the verdict is unknown.
   *
   * Since: 0.1
   */
  properties[PROP_RETRY_INTERVAL] =
    g_param_spec_uint ("retry-interval", NULL, NULL, 1, G_MAXUINT, DEFAULT_RETRY_INTERVAL_S,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  /**
   * PunchAgent:max-servers:
   *
   * How many AutoNAT servers one check asks at most.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_SERVERS] =
    g_param_spec_uint ("max-servers", NULL, NULL, 1, 64, DEFAULT_MAX_SERVERS,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PunchAgent::reachability-changed:
   * @self: the agent
   * @old: the previous verdict
   * @new: the new verdict
   * @confidence: the confidence of the new verdict
   *
   * Emitted when [property@Punch.Agent:reachability] changes.
   *
   * Since: 0.1
   */
  signals[SIGNAL_REACHABILITY_CHANGED] =
    g_signal_new ("reachability-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 3,
                  PUNCH_TYPE_REACHABILITY, PUNCH_TYPE_REACHABILITY, G_TYPE_UINT);

  /**
   * PunchAgent::addresses-changed:
   * @self: the agent
   *
   * Emitted when the list of addresses or one of their verdicts may have
   * changed ([method@Punch.Agent.get_addresses]).
   *
   * Since: 0.1
   */
  signals[SIGNAL_ADDRESSES_CHANGED] =
    g_signal_new ("addresses-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * PunchAgent::check-done:
   * @self: the agent
   *
   * Emitted when a round of reachability checks has every answer it
   * waited for.
   *
   * Since: 0.1
   */
  signals[SIGNAL_CHECK_DONE] =
    g_signal_new ("check-done", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * PunchAgent::reservation-gained:
   * @self: the agent
   * @reservation: the reservation
   *
   * Emitted when a relay (see [method@Punch.Agent.add_relay]) accepted a
   * reservation: peers can reach the agent through it.
   *
   * Since: 0.1
   */
  signals[SIGNAL_RESERVATION_GAINED] =
    g_signal_new ("reservation-gained", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                  PUNCH_TYPE_RELAY_RESERVATION | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * PunchAgent::reservation-lost:
   * @self: the agent
   * @relay: the relay's peer id
   * @reason: (nullable): why, %NULL when the agent stopped reserving
   *   (it became reachable directly)
   *
   * Emitted when a reservation ended. The agent reserves again with
   * backoff while it needs a relay.
   *
   * Since: 0.1
   */
  signals[SIGNAL_RESERVATION_LOST] =
    g_signal_new ("reservation-lost", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                  PUNCH_TYPE_PEER_ID | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * PunchAgent::relayed-connection:
   * @self: the agent
   * @connection: the connection
   *
   * Emitted for every relayed connection, dialed or accepted, once it is
   * upgraded (end-to-end TLS and yamux over the circuit).
   *
   * Since: 0.1
   */
  signals[SIGNAL_RELAYED_CONNECTION] =
    g_signal_new ("relayed-connection", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, PUNCH_TYPE_CONNECTION);
}

static void
punch_agent_init (PunchAgent *self)
{
  self->cancellable = g_cancellable_new ();
  self->local_addresses = g_ptr_array_new_with_free_func (g_object_unref);
  self->autonat_servers = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);
  self->candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_agent_address_unref);
  self->asked = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_peer_id_unref);
  self->udp_verdicts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->udp_round = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  punch_autonat_tracker_config_init (&self->tracker_config);
  self->tracker = punch_autonat_tracker_new (&self->tracker_config);
  self->recheck_interval = DEFAULT_RECHECK_INTERVAL_S;
  self->retry_interval = DEFAULT_RETRY_INTERVAL_S;
  self->max_servers = DEFAULT_MAX_SERVERS;
}

/* ------------------------------------------------------------------ */
/* Public API                                                         */
/* ------------------------------------------------------------------ */

/**
 * punch_agent_new:
 * @keypair: (nullable): the identity, or %NULL for a fresh Ed25519 one
 *
 * Creates an agent with a new host for @keypair, in the thread-default
 * main context.
 *
 * Returns: (transfer full): the agent
 *
 * Since: 0.1
 */
PunchAgent *
punch_agent_new (PunchKeypair *keypair)
{
  g_autoptr(PunchHost) host = NULL;

  g_return_val_if_fail (keypair == NULL || PUNCH_IS_KEYPAIR (keypair), NULL);

  if (keypair != NULL)
    host = punch_host_new (keypair);
  return g_object_new (PUNCH_TYPE_AGENT, "host", host, NULL);
}

/**
 * punch_agent_get_host:
 * @self: an agent
 *
 * Gets [property@Punch.Agent:host].
 *
 * Returns: (transfer none): the host
 *
 * Since: 0.1
 */
PunchHost *
punch_agent_get_host (PunchAgent *self)
{
  g_return_val_if_fail (PUNCH_IS_AGENT (self), NULL);

  return self->host;
}

/**
 * punch_agent_set_stun_server:
 * @self: an agent, not started
 * @ip: the STUN server's IP address
 * @port: its UDP port
 *
 * Sets the STUN server libnice learns server-reflexive candidates from.
 *
 * Since: 0.1
 */
void
punch_agent_set_stun_server (PunchAgent  *self,
                             const gchar *ip,
                             guint        port)
{
  g_return_if_fail (PUNCH_IS_AGENT (self));
  g_return_if_fail (ip != NULL && g_hostname_is_ip_address (ip));
  g_return_if_fail (port > 0 && port <= G_MAXUINT16);
  g_return_if_fail (!self->started);

  g_free (self->stun_ip);
  self->stun_ip = g_strdup (ip);
  self->stun_port = port;
}

/**
 * punch_agent_set_turn_server:
 * @self: an agent, not started
 * @ip: the TURN server's IP address
 * @port: its UDP port
 * @username: the TURN user name
 * @password: the TURN password
 *
 * Sets the TURN server libnice gathers a relayed candidate from.
 *
 * Since: 0.1
 */
void
punch_agent_set_turn_server (PunchAgent  *self,
                             const gchar *ip,
                             guint        port,
                             const gchar *username,
                             const gchar *password)
{
  g_return_if_fail (PUNCH_IS_AGENT (self));
  g_return_if_fail (ip != NULL && g_hostname_is_ip_address (ip));
  g_return_if_fail (port > 0 && port <= G_MAXUINT16);
  g_return_if_fail (username != NULL && password != NULL);
  g_return_if_fail (!self->started);

  g_free (self->turn_ip);
  g_free (self->turn_username);
  g_free (self->turn_password);
  self->turn_ip = g_strdup (ip);
  self->turn_port = port;
  self->turn_username = g_strdup (username);
  self->turn_password = g_strdup (password);
}

/**
 * punch_agent_add_local_address:
 * @self: an agent, not started
 * @address: a local IP address
 *
 * Restricts ICE gathering to the local addresses added this way (by
 * default libnice uses every non-loopback interface).
 *
 * Since: 0.1
 */
void
punch_agent_add_local_address (PunchAgent   *self,
                               GInetAddress *address)
{
  g_return_if_fail (PUNCH_IS_AGENT (self));
  g_return_if_fail (G_IS_INET_ADDRESS (address));
  g_return_if_fail (!self->started);

  g_ptr_array_add (self->local_addresses, g_object_ref (address));
}

/**
 * punch_agent_add_autonat_server:
 * @self: an agent
 * @address: an AutoNAT server's address, `/ip4|ip6/…/tcp/PORT/p2p/ID`
 *
 * Adds a server every reachability check asks (connected peers that
 * serve AutoNAT are asked as well).
 *
 * Since: 0.1
 */
void
punch_agent_add_autonat_server (PunchAgent     *self,
                                PunchMultiaddr *address)
{
  g_return_if_fail (PUNCH_IS_AGENT (self));
  g_return_if_fail (address != NULL);

  g_ptr_array_add (self->autonat_servers, punch_multiaddr_ref (address));
  if (self->started)
    start_round (self);
}

/**
 * punch_agent_add_relay:
 * @self: an agent
 * @address: a relay's address, `/ip4|ip6/…/tcp/PORT/p2p/ID`
 * @error: return location for a #GError
 *
 * Adds a circuit relay v2 relay: while the agent is not
 * %PUNCH_REACHABILITY_PUBLIC it keeps a reservation there and advertises
 * the relayed address.
 *
 * Errors: those of [method@Punch.RelayClient.add_relay].
 *
 * Returns: %TRUE if the relay was added
 *
 * Since: 0.1
 */
gboolean
punch_agent_add_relay (PunchAgent      *self,
                       PunchMultiaddr  *address,
                       GError         **error)
{
  g_return_val_if_fail (PUNCH_IS_AGENT (self), FALSE);

  return punch_relay_client_add_relay (self->relay_client, address, error);
}

/**
 * punch_agent_get_relay_client:
 * @self: an agent
 *
 * Gets the agent's relay client (reservations, relayed connections).
 *
 * Returns: (transfer none): the relay client
 *
 * Since: 0.1
 */
PunchRelayClient *
punch_agent_get_relay_client (PunchAgent *self)
{
  g_return_val_if_fail (PUNCH_IS_AGENT (self), NULL);

  return self->relay_client;
}

/**
 * punch_agent_start:
 * @self: an agent
 * @error: return location for a #GError
 *
 * Starts gathering ICE candidates and checking reachability. Listen on
 * the host first ([method@Punch.Host.listen]) for its TCP addresses to be
 * checked.
 *
 * Errors: %PUNCH_ERROR_FAILED when libnice cannot gather (no usable
 * local address); %PUNCH_ERROR_MALFORMED for a bad local address.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
punch_agent_start (PunchAgent  *self,
                   GError     **error)
{
  g_return_val_if_fail (PUNCH_IS_AGENT (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (!self->started, FALSE);

  if (!start_ice (self, error))
    {
      g_clear_object (&self->nice);
      return FALSE;
    }
  self->started = TRUE;
  /* Until AutoNAT says otherwise, a relay is the way in. */
  punch_relay_client_set_reserving (self->relay_client, self->reachability != PUNCH_REACHABILITY_PUBLIC);
  /* The first check waits for the candidates (gathering-done starts it),
   * so that one round gives verdicts on the UDP candidates as well. */
  if (self->gathered)
    schedule_check (self, 0);
  return TRUE;
}

/**
 * punch_agent_check_reachability:
 * @self: a started agent
 *
 * Starts a round of reachability checks now (or right after the current
 * one). [signal@Punch.Agent::check-done] tells when it ends.
 *
 * Since: 0.1
 */
void
punch_agent_check_reachability (PunchAgent *self)
{
  g_return_if_fail (PUNCH_IS_AGENT (self));
  g_return_if_fail (self->started);

  start_round (self);
}

/**
 * punch_agent_get_reachability:
 * @self: an agent
 *
 * Gets [property@Punch.Agent:reachability].
 *
 * Returns: the verdict
 *
 * Since: 0.1
 */
PunchReachability
punch_agent_get_reachability (PunchAgent *self)
{
  g_return_val_if_fail (PUNCH_IS_AGENT (self), PUNCH_REACHABILITY_UNKNOWN);

  return self->reachability;
}

/**
 * punch_agent_get_confidence:
 * @self: an agent
 *
 * Gets [property@Punch.Agent:confidence].
 *
 * Returns: the confidence
 *
 * Since: 0.1
 */
guint
punch_agent_get_confidence (PunchAgent *self)
{
  g_return_val_if_fail (PUNCH_IS_AGENT (self), 0);

  return self->confidence;
}

/**
 * punch_agent_get_addresses:
 * @self: an agent
 *
 * Gets every address of the agent with its verdict: TCP listen addresses
 * (an unspecified IP replaced by the local IPs in use), TCP addresses
 * peers observed, and the UDP ICE candidates once gathered.
 *
 * Returns: (transfer container) (element-type Punch.AgentAddress): the addresses
 *
 * Since: 0.1
 */
GPtrArray *
punch_agent_get_addresses (PunchAgent *self)
{
  g_autoptr(GPtrArray) origins = g_ptr_array_new ();
  g_autoptr(GPtrArray) tcp = NULL;
  GPtrArray *addresses;

  g_return_val_if_fail (PUNCH_IS_AGENT (self), NULL);

  addresses = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_agent_address_unref);
  tcp = tcp_addresses (self, origins);
  for (guint i = 0; i < tcp->len; i++)
    g_ptr_array_add (addresses,
                     agent_address_new (g_ptr_array_index (tcp, i),
                                        GPOINTER_TO_UINT (g_ptr_array_index (origins, i)),
                                        verdict_of (self, g_ptr_array_index (tcp, i))));
  for (guint i = 0; i < self->candidates->len; i++)
    {
      PunchAgentAddress *candidate = g_ptr_array_index (self->candidates, i);

      g_ptr_array_add (addresses, agent_address_new (candidate->multiaddr, candidate->origin,
                                                     verdict_of (self, candidate->multiaddr)));
    }
  return addresses;
}

/**
 * punch_agent_get_advertised_addresses:
 * @self: an agent
 *
 * Gets the addresses worth telling peers: every address unless the agent
 * is %PUNCH_REACHABILITY_PRIVATE, then only those an AutoNAT server
 * confirmed reachable; then the relayed addresses of its reservations.
 * Observed addresses (and the agent's guesses from them) are told only
 * once confirmed, whatever the verdict: most are mappings of outbound
 * connections that nobody can dial.
 *
 * Returns: (transfer container) (element-type Punch.Multiaddr): the addresses
 *
 * Since: 0.1
 */
GPtrArray *
punch_agent_get_advertised_addresses (PunchAgent *self)
{
  g_return_val_if_fail (PUNCH_IS_AGENT (self), NULL);

  return advertised_addresses (self, FALSE);
}
