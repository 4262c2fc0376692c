/* test-udp-probe.c: /punch/autonat/udp/1.0.0 between two hosts on loopback, with libnice.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <agent.h>

#include "punch-error.h"
#include "punch-framing.h"
#include "punch-host.h"
#include "punch-keypair.h"
#include "punch-udp-probe.h"

/* Every wait is a main loop iteration bounded by a failsafe timeout. */
#define WAIT_TIMEOUT_S 30

#include "punch-test-util.h"

/* Fixture: a server host with the service and a client host connected
 * to it over loopback TCP; a NiceAgent with one gathered stream. */
typedef struct {
  PunchHost *server;
  PunchHost *client;
  PunchUdpProbeService *service;
  PunchConnection *connection;
  NiceAgent *agent;
  guint stream_id;
  gboolean gathered;
} Fixture;

static void
on_gathering_done (NiceAgent *agent,
                   guint      stream_id,
                   gpointer   user_data)
{
  ((Fixture *) user_data)->gathered = TRUE;
}

static void
on_recv (NiceAgent *agent, guint stream_id, guint component_id, guint len,
         gchar *buf, gpointer user_data)
{
}

static PunchHost *
host_new (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);

  g_assert_no_error (error);
  return punch_host_new (keypair);
}

static NiceAgent *
agent_new (gboolean  controlling,
           guint    *stream_id,
           gboolean *gathered,
           gpointer  fixture)
{
  NiceAgent *agent = nice_agent_new (NULL, NICE_COMPATIBILITY_RFC5245);
  NiceAddress lo;

  g_object_set (agent, "upnp", FALSE, "controlling-mode", controlling,
                "ice-tcp", FALSE, NULL);
  nice_address_init (&lo);
  g_assert_true (nice_address_set_from_string (&lo, "127.0.0.1"));
  g_assert_true (nice_agent_add_local_address (agent, &lo));
  *stream_id = nice_agent_add_stream (agent, 1);
  g_assert_cmpuint (*stream_id, >, 0);
  g_assert_true (nice_agent_attach_recv (agent, *stream_id, 1, NULL, on_recv, NULL));
  g_signal_connect (agent, "candidate-gathering-done", G_CALLBACK (on_gathering_done), fixture);
  g_assert_true (nice_agent_gather_candidates (agent, *stream_id));
  WAIT_FOR (*gathered);
  return agent;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchMultiaddr) listen = punch_multiaddr_new_from_string ("/ip4/127.0.0.1/tcp/0", &error);
  g_autoptr(GPtrArray) addresses = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  g_assert_no_error (error);
  f->server = host_new ();
  f->client = host_new ();
  f->service = punch_udp_probe_service_new (f->server);
  /* Loopback is not public: the lab flag. Tests without it turn it off. */
  punch_udp_probe_service_set_allow_private (f->service, TRUE);
  g_assert_true (punch_host_listen (f->server, listen, &error));
  g_assert_no_error (error);
  addresses = punch_host_get_listen_addresses (f->server);
  g_assert_cmpuint (addresses->len, >, 0);
  punch_host_dial_async (f->client, addresses->pdata[0], NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  f->connection = punch_host_dial_finish (f->client, result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->connection);

  f->agent = agent_new (FALSE, &f->stream_id, &f->gathered, f);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->agent);
  g_clear_object (&f->connection);
  g_clear_object (&f->service);
  punch_host_close (f->client);
  punch_host_close (f->server);
  run_pending ();
  g_clear_object (&f->client);
  g_clear_object (&f->server);
  run_pending ();
}

/* The agent's UDP host candidate (a copy). */
static NiceCandidate *
host_candidate (NiceAgent *agent,
                guint      stream_id)
{
  GSList *cands = nice_agent_get_local_candidates (agent, stream_id, 1);
  NiceCandidate *found = NULL;

  for (GSList *l = cands; l != NULL; l = l->next)
    {
      NiceCandidate *c = l->data;

      if (found == NULL && c->type == NICE_CANDIDATE_TYPE_HOST &&
          c->transport == NICE_CANDIDATE_TRANSPORT_UDP)
        found = nice_candidate_copy (c);
    }
  g_slist_free_full (cands, (GDestroyNotify) nice_candidate_free);
  g_assert_nonnull (found);
  return found;
}

static NiceCandidate *
candidate_at (const gchar *ip,
              guint16      port)
{
  NiceCandidate *c = nice_candidate_new (NICE_CANDIDATE_TYPE_HOST);

  c->transport = NICE_CANDIDATE_TRANSPORT_UDP;
  g_assert_true (nice_address_set_from_string (&c->addr, ip));
  nice_address_set_port (&c->addr, port);
  return c;
}

static GPtrArray *
probe (Fixture    *f,
       GPtrArray  *candidates,
       gint64     *elapsed_us,
       GError    **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  gint64 start = g_get_monotonic_time ();

  punch_udp_probe_async (f->client, punch_connection_get_remote_peer_id (f->connection),
                         f->agent, f->stream_id, candidates, NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  if (elapsed_us != NULL)
    *elapsed_us = g_get_monotonic_time () - start;
  return punch_udp_probe_finish (f->client, result, error);
}

static GSocket *
udp_socket_on (const gchar *ip)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (ip);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (inet, 0);
  GSocket *sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                G_SOCKET_PROTOCOL_UDP, &error);

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (sock, address, FALSE, &error));
  g_assert_no_error (error);
  g_socket_set_blocking (sock, FALSE);
  return sock;
}

static guint16
socket_port (GSocket *sock)
{
  g_autoptr(GSocketAddress) address = g_socket_get_local_address (sock, NULL);

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
}

static void
test_reachable (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) nice_candidate_free);
  g_autoptr(GPtrArray) results = NULL;
  PunchUdpProbeResult *r;
  NiceAddress observed;
  gint64 elapsed;

  g_ptr_array_add (candidates, host_candidate (f->agent, f->stream_id));
  results = probe (f, candidates, &elapsed, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 1);
  r = results->pdata[0];
  g_assert_cmpint (r->verdict, ==, PUNCH_UDP_VERDICT_REACHABLE);
  g_assert_nonnull (r->candidate);
  g_assert_true (nice_address_equal (&r->candidate->addr,
                                     &((NiceCandidate *) candidates->pdata[0])->addr));
  /* The answer came from the candidate's own socket. */
  g_assert_nonnull (r->observed);
  nice_address_init (&observed);
  g_assert_true (nice_address_set_from_string (&observed, "127.0.0.1"));
  nice_address_set_port (&observed, g_inet_socket_address_get_port (r->observed));
  g_assert_true (nice_address_equal (&observed, &r->candidate->addr));
  /* Answered at once: one check, no retransmission, no waiting for the
   * probe's time to run out. */
  g_assert_cmpuint (punch_udp_probe_service_get_checks_sent (f->service), ==, 1);
  g_assert_cmpint (elapsed, <, PUNCH_UDP_PROBE_ATTEMPTS * PUNCH_UDP_PROBE_INTERVAL_MS * 1000);
  WAIT_FOR (punch_udp_probe_service_get_n_active (f->service) == 0);
}

/* A controlling agent answers 487 Role Conflict (the server's
 * tie-breaker is 0), which proves reachability as well, and keeps its
 * role. */
static void
test_reachable_controlling (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) nice_candidate_free);
  g_autoptr(GPtrArray) results = NULL;
  gboolean controlling = FALSE;

  g_clear_object (&f->agent);
  f->gathered = FALSE;
  f->agent = agent_new (TRUE, &f->stream_id, &f->gathered, f);
  g_ptr_array_add (candidates, host_candidate (f->agent, f->stream_id));
  results = probe (f, candidates, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (((PunchUdpProbeResult *) results->pdata[0])->verdict, ==,
                   PUNCH_UDP_VERDICT_REACHABLE);
  g_object_get (f->agent, "controlling-mode", &controlling, NULL);
  g_assert_true (controlling);
}

static void
test_unreachable (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) nice_candidate_free);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GSocket) silent = udp_socket_on ("127.0.0.1");
  g_autoptr(GSocket) closed = udp_socket_on ("127.0.0.1");
  guint16 closed_port = socket_port (closed);
  PunchUdpProbeResult *r;
  gint64 elapsed;
  guint8 buf[512];
  guint n_received = 0;

  /* Nothing listens on closed_port; silent_port receives and never
   * answers. */
  g_socket_close (closed, NULL);
  g_ptr_array_add (candidates, candidate_at ("127.0.0.1", closed_port));
  g_ptr_array_add (candidates, candidate_at ("127.0.0.1", socket_port (silent)));
  g_ptr_array_add (candidates, host_candidate (f->agent, f->stream_id));
  results = probe (f, candidates, &elapsed, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 3);
  r = results->pdata[0];
  g_assert_cmpint (r->verdict, ==, PUNCH_UDP_VERDICT_UNREACHABLE);
  g_assert_null (r->observed);
  r = results->pdata[1];
  g_assert_cmpint (r->verdict, ==, PUNCH_UDP_VERDICT_UNREACHABLE);
  g_assert_null (r->observed);
  r = results->pdata[2];
  g_assert_cmpint (r->verdict, ==, PUNCH_UDP_VERDICT_REACHABLE);

  /* Bounded: the verdict came when the checks' time was up. */
  g_assert_cmpint (elapsed, >=, (PUNCH_UDP_PROBE_ATTEMPTS * PUNCH_UDP_PROBE_INTERVAL_MS - 100) * 1000);
  g_assert_cmpint (elapsed, <, (PUNCH_UDP_PROBE_ATTEMPTS * PUNCH_UDP_PROBE_INTERVAL_MS + 5000) * 1000);

  /* The silent socket saw every attempt, each a STUN Binding request. */
  while (g_socket_receive (silent, (gchar *) buf, sizeof buf, NULL, NULL) > 20)
    {
      g_assert_cmphex (buf[0], ==, 0x00);
      g_assert_cmphex (buf[1], ==, 0x01);
      n_received++;
    }
  g_assert_cmpuint (n_received, ==, PUNCH_UDP_PROBE_ATTEMPTS);
  /* 3 + 3 attempts, 1 answered at once. */
  g_assert_cmpuint (punch_udp_probe_service_get_checks_sent (f->service), ==,
                    2 * PUNCH_UDP_PROBE_ATTEMPTS + 1);
}

static void
test_refused_foreign_ip (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) nice_candidate_free);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GSocket) other = udp_socket_on ("127.0.0.2");
  g_autoptr(GSocket) silent = udp_socket_on ("127.0.0.1");
  guint8 buf[512];
  PunchUdpProbeResult *r;

  /* The client's connection comes from 127.0.0.1. The silent candidate
   * keeps the probe going for its whole time, so anything sent to
   * 127.0.0.2 would have arrived. */
  g_ptr_array_add (candidates, candidate_at ("127.0.0.2", socket_port (other)));
  g_ptr_array_add (candidates, candidate_at ("127.0.0.1", socket_port (silent)));
  results = probe (f, candidates, NULL, &error);
  g_assert_no_error (error);
  r = results->pdata[0];
  g_assert_cmpint (r->verdict, ==, PUNCH_UDP_VERDICT_REFUSED);
  g_assert_null (r->observed);
  r = results->pdata[1];
  g_assert_cmpint (r->verdict, ==, PUNCH_UDP_VERDICT_UNREACHABLE);

  g_assert_cmpint (g_socket_receive (other, (gchar *) buf, sizeof buf, NULL, &error), <, 0);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
  g_clear_error (&error);
  g_assert_cmpint (g_socket_receive (silent, (gchar *) buf, sizeof buf, NULL, &error), >, 0);
  g_assert_no_error (error);
  g_assert_cmpuint (punch_udp_probe_service_get_checks_sent (f->service), ==,
                    PUNCH_UDP_PROBE_ATTEMPTS);
}

/* Without the lab flag, loopback (like any non-public address) is
 * refused even when it is the observed IP. */
static void
test_refused_private (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) nice_candidate_free);
  g_autoptr(GPtrArray) results = NULL;
  gint64 elapsed;

  punch_udp_probe_service_set_allow_private (f->service, FALSE);
  g_assert_false (punch_udp_probe_service_get_allow_private (f->service));
  g_ptr_array_add (candidates, host_candidate (f->agent, f->stream_id));
  results = probe (f, candidates, &elapsed, &error);
  g_assert_no_error (error);
  g_assert_cmpint (((PunchUdpProbeResult *) results->pdata[0])->verdict, ==,
                   PUNCH_UDP_VERDICT_REFUSED);
  g_assert_cmpuint (punch_udp_probe_service_get_checks_sent (f->service), ==, 0);
  g_assert_cmpint (elapsed, <, PUNCH_UDP_PROBE_ATTEMPTS * PUNCH_UDP_PROBE_INTERVAL_MS * 1000);
}

/* More probes at once than the service runs: the extra one is answered
 * E_INTERNAL ("busy") at once and sends nothing. */
static void
test_busy (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GSocket) silent = udp_socket_on ("127.0.0.1");
  g_autoptr(GPtrArray) candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) nice_candidate_free);
  GAsyncResult *results[PUNCH_UDP_PROBE_MAX_CONCURRENT + 1] = { NULL, };
  guint n_ok = 0, n_busy = 0, n_done = 0;

  g_ptr_array_add (candidates, candidate_at ("127.0.0.1", socket_port (silent)));
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    punch_udp_probe_async (f->client, punch_connection_get_remote_peer_id (f->connection),
                           f->agent, f->stream_id, candidates, NULL, store_result, &results[i]);
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    WAIT_FOR (results[i] != NULL);

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) verdicts = punch_udp_probe_finish (f->client, results[i], &error);

      if (verdicts != NULL)
        {
          g_assert_cmpint (((PunchUdpProbeResult *) verdicts->pdata[0])->verdict, ==,
                           PUNCH_UDP_VERDICT_UNREACHABLE);
          n_ok++;
        }
      else
        {
          g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_FAILED);
          g_assert_nonnull (strstr (error->message, "busy"));
          n_busy++;
        }
      n_done++;
      g_object_unref (results[i]);
    }
  g_assert_cmpuint (n_done, ==, PUNCH_UDP_PROBE_MAX_CONCURRENT + 1);
  g_assert_cmpuint (n_ok, ==, PUNCH_UDP_PROBE_MAX_CONCURRENT);
  g_assert_cmpuint (n_busy, ==, 1);
  g_assert_cmpuint (punch_udp_probe_service_get_checks_sent (f->service), ==,
                    PUNCH_UDP_PROBE_MAX_CONCURRENT * PUNCH_UDP_PROBE_ATTEMPTS);
  WAIT_FOR (punch_udp_probe_service_get_n_active (f->service) == 0);
}

/* Raw exchange on the protocol: one framed payload out, one back. */
static GBytes *
raw_exchange (Fixture *f,
              GBytes  *payload)
{
  static const gchar * const protocols[] = { PUNCH_UDP_PROBE_PROTOCOL_ID, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(PunchStream) stream = NULL;
  GBytes *reply;

  punch_connection_open_stream_async (f->connection, protocols, NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  stream = punch_connection_open_stream_finish (f->connection, result, &error);
  g_assert_no_error (error);
  g_clear_object (&result);

  punch_framing_write_async (g_io_stream_get_output_stream (G_IO_STREAM (stream)), payload,
                             G_PRIORITY_DEFAULT, NULL, store_result, &result);
  WAIT_FOR (result != NULL);
  g_assert_true (punch_framing_write_finish (g_io_stream_get_output_stream (G_IO_STREAM (stream)),
                                             result, &error));
  g_assert_no_error (error);
  g_clear_object (&result);

  punch_framing_read_async (g_io_stream_get_input_stream (G_IO_STREAM (stream)),
                            PUNCH_UDP_PROBE_MAX_MESSAGE_SIZE, G_PRIORITY_DEFAULT, NULL,
                            store_result, &result);
  WAIT_FOR (result != NULL);
  reply = punch_framing_read_finish (g_io_stream_get_input_stream (G_IO_STREAM (stream)),
                                     result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reply);
  return reply;
}

static void
test_malformed_request (Fixture       *f,
                        gconstpointer  data)
{
  static const guint8 garbage[] = { 0x0a, 0xff, 0x01, 0x02 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) payload = g_bytes_new_static (garbage, sizeof garbage);
  g_autoptr(GBytes) reply = raw_exchange (f, payload);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GPtrArray) candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) nice_candidate_free);
  g_autoptr(PunchUdpProbeRequest) request = g_new0 (PunchUdpProbeRequest, 1);
  g_autoptr(GBytes) bad = NULL;
  g_autoptr(GBytes) reply2 = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  PunchUdpProbeTarget *target;

  results = punch_udp_probe_response_decode (g_bytes_get_data (reply, NULL),
                                             g_bytes_get_size (reply), &error);
  g_assert_null (results);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_clear_error (&error);

  /* A well-formed message with a password too short. */
  request->ufrag = g_strdup ("abcd");
  request->pwd = g_strdup ("short");
  request->remote_ufrag = g_strdup ("efgh");
  request->targets = g_ptr_array_new ();
  target = g_new0 (PunchUdpProbeTarget, 1);
  target->id = 0;
  target->address = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (lo, 9));
  g_ptr_array_add (request->targets, target);
  bad = punch_udp_probe_request_encode (request);
  g_clear_object (&target->address);
  g_free (target);
  reply2 = raw_exchange (f, bad);
  results = punch_udp_probe_response_decode (g_bytes_get_data (reply2, NULL),
                                             g_bytes_get_size (reply2), &error);
  g_assert_null (results);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "pwd"));
  g_clear_error (&error);
  g_assert_cmpuint (punch_udp_probe_service_get_checks_sent (f->service), ==, 0);

  /* The service keeps serving. */
  g_ptr_array_add (candidates, host_candidate (f->agent, f->stream_id));
  results = probe (f, candidates, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (((PunchUdpProbeResult *) results->pdata[0])->verdict, ==,
                   PUNCH_UDP_VERDICT_REACHABLE);
}

static void
test_client_errors (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) none = g_ptr_array_new ();
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GPtrArray) tcp = g_ptr_array_new_with_free_func ((GDestroyNotify) nice_candidate_free);
  NiceCandidate *c = candidate_at ("127.0.0.1", 9);

  results = probe (f, none, NULL, &error);
  g_assert_null (results);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_FAILED);
  g_clear_error (&error);

  c->transport = NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE;
  g_ptr_array_add (tcp, c);
  results = probe (f, tcp, NULL, &error);
  g_assert_null (results);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED);
}

/* Codec */

static PunchUdpProbeRequest *
request_new (guint n)
{
  PunchUdpProbeRequest *request = g_new0 (PunchUdpProbeRequest, 1);
  g_autoptr(GInetAddress) v4 = g_inet_address_new_from_string ("203.0.113.7");
  g_autoptr(GInetAddress) v6 = g_inet_address_new_from_string ("2001:db8::1");

  request->ufrag = g_strdup ("ufRA");
  request->pwd = g_strdup ("abcdefghijklmnopqrstuv");
  request->remote_ufrag = g_strdup ("remote+/");
  request->targets = g_ptr_array_new ();
  for (guint i = 0; i < n; i++)
    {
      PunchUdpProbeTarget *t = g_new0 (PunchUdpProbeTarget, 1);

      t->id = 100 + i;
      t->address = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (i % 2 ? v6 : v4,
                                                                     (guint16) (1000 + i)));
      g_ptr_array_add (request->targets, t);
    }
  return request;
}

static void
request_free_all (PunchUdpProbeRequest *request)
{
  for (guint i = 0; i < request->targets->len; i++)
    {
      PunchUdpProbeTarget *t = request->targets->pdata[i];

      g_clear_object (&t->address);
      g_free (t);
    }
  punch_udp_probe_request_free (request);
}

static void
assert_request_fails (PunchUdpProbeRequest *request)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = punch_udp_probe_request_encode (request);
  g_autoptr(PunchUdpProbeRequest) decoded =
    punch_udp_probe_request_decode (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);

  g_assert_null (decoded);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED);
  request_free_all (request);
}

static void
test_codec_request (void)
{
  g_autoptr(GError) error = NULL;
  PunchUdpProbeRequest *request = request_new (PUNCH_UDP_PROBE_MAX_CANDIDATES);
  g_autoptr(GBytes) bytes = punch_udp_probe_request_encode (request);
  g_autoptr(PunchUdpProbeRequest) decoded =
    punch_udp_probe_request_decode (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  static const guint8 junk[] = { 0xff, 0xff, 0xff };

  g_assert_no_error (error);
  g_assert_cmpstr (decoded->ufrag, ==, "ufRA");
  g_assert_cmpstr (decoded->pwd, ==, "abcdefghijklmnopqrstuv");
  g_assert_cmpstr (decoded->remote_ufrag, ==, "remote+/");
  g_assert_cmpuint (decoded->targets->len, ==, PUNCH_UDP_PROBE_MAX_CANDIDATES);
  for (guint i = 0; i < decoded->targets->len; i++)
    {
      PunchUdpProbeTarget *a = request->targets->pdata[i];
      PunchUdpProbeTarget *b = decoded->targets->pdata[i];

      g_assert_cmpuint (a->id, ==, b->id);
      g_assert_cmpuint (g_inet_socket_address_get_port (a->address), ==,
                        g_inet_socket_address_get_port (b->address));
      g_assert_true (g_inet_address_equal (g_inet_socket_address_get_address (a->address),
                                           g_inet_socket_address_get_address (b->address)));
    }
  request_free_all (request);

  /* Too many candidates, none, duplicate ids, bad credentials. */
  assert_request_fails (request_new (PUNCH_UDP_PROBE_MAX_CANDIDATES + 1));
  assert_request_fails (request_new (0));
  request = request_new (2);
  ((PunchUdpProbeTarget *) request->targets->pdata[1])->id = 100;
  assert_request_fails (request);
  request = request_new (1);
  g_free (request->ufrag);
  request->ufrag = g_strdup ("abc");
  assert_request_fails (request);
  request = request_new (1);
  g_free (request->pwd);
  request->pwd = g_strdup ("abcdefghijklmnopqrstu:");
  assert_request_fails (request);
  request = request_new (1);
  g_clear_pointer (&request->remote_ufrag, g_free);
  assert_request_fails (request);

  /* Not protobuf at all. */
  g_assert_null (punch_udp_probe_request_decode (junk, sizeof junk, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED);
}

static void
test_codec_response (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_udp_probe_result_free);
  g_autoptr(GPtrArray) decoded = NULL;
  g_autoptr(GBytes) ok = NULL;
  g_autoptr(GBytes) busy = NULL;
  g_autoptr(GInetAddress) v4 = g_inet_address_new_from_string ("198.51.100.9");
  PunchUdpProbeResult *r;

  r = g_new0 (PunchUdpProbeResult, 1);
  r->id = 7;
  r->verdict = PUNCH_UDP_VERDICT_REACHABLE;
  r->observed = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (v4, 4242));
  g_ptr_array_add (results, r);
  r = g_new0 (PunchUdpProbeResult, 1);
  r->id = 8;
  r->verdict = PUNCH_UDP_VERDICT_REFUSED;
  g_ptr_array_add (results, r);

  ok = punch_udp_probe_response_encode (results, TRUE, NULL);
  decoded = punch_udp_probe_response_decode (g_bytes_get_data (ok, NULL), g_bytes_get_size (ok), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (decoded->len, ==, 2);
  r = decoded->pdata[0];
  g_assert_cmpuint (r->id, ==, 7);
  g_assert_cmpint (r->verdict, ==, PUNCH_UDP_VERDICT_REACHABLE);
  g_assert_cmpuint (g_inet_socket_address_get_port (r->observed), ==, 4242);
  g_assert_true (g_inet_address_equal (g_inet_socket_address_get_address (r->observed), v4));
  r = decoded->pdata[1];
  g_assert_cmpint (r->verdict, ==, PUNCH_UDP_VERDICT_REFUSED);
  g_assert_null (r->observed);

  g_ptr_array_set_size (results, 0);
  busy = punch_udp_probe_response_encode (results, FALSE, "busy");
  g_clear_pointer (&decoded, g_ptr_array_unref);
  decoded = punch_udp_probe_response_decode (g_bytes_get_data (busy, NULL), g_bytes_get_size (busy), &error);
  g_assert_null (decoded);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_FAILED);
}

/* A server's status_text goes into the client's error message: made valid
 * UTF-8 and cut to 256 bytes (found by tests/fuzz/fuzz-udp-probe.c, input
 * tests/fuzz/corpus/udp-probe/response-status-text-not-utf8). */
static void
test_codec_response_status_text (void)
{
  /* E_INTERNAL, status_text "bus\x9a", two unknown fixed64 fields. */
  static const guint8 fuzzed[] = {
    0x08, 0xac, 0x02, 0x12, 0x04, 'b', 'u', 's', 0x9a, 0x79, 0x08, 0xac, 0x02, 0x12,
    0x04, 'b', 'u', 's', 0x79, 0x73, 0x9a, 0x79, 0x08, 0xac, 0x02, 0x12, 0x04,
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) decoded = NULL;
  g_autoptr(GBytes) refused = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  const gchar *reason;

  decoded = punch_udp_probe_response_decode (fuzzed, sizeof fuzzed, &error);
  g_assert_null (decoded);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_FAILED);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_assert_nonnull (strstr (error->message, "status 300"));
  g_assert_nonnull (strstr (error->message, "bus\xef\xbf\xbd")); /* U+FFFD */
  g_clear_error (&error);

  /* E_BAD_REQUEST with a long reason, a bad byte and a 2-byte character
   * across the 256-byte mark: valid UTF-8, cut at a character boundary. */
  g_string_append_c (text, '\xff');
  while (text->len < 253)
    g_string_append_c (text, 'x');
  g_string_append (text, "\xc3\xa9\xc3\xa9");   /* two é */
  while (text->len < 3000)
    g_string_append_c (text, 'y');
  refused = punch_udp_probe_response_encode (NULL, FALSE, text->str);
  decoded = punch_udp_probe_response_decode (g_bytes_get_data (refused, NULL),
                                             g_bytes_get_size (refused), &error);
  g_assert_null (decoded);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  reason = strstr (error->message, ": ");
  g_assert_nonnull (reason);
  reason += 2;
  /* \xff became U+FFFD (3 bytes), so the first é is at bytes 255..256,
   * across the limit: it is dropped whole. */
  g_assert_true (g_str_has_prefix (reason, "\xef\xbf\xbdxxx"));
  g_assert_cmpuint (strlen (reason), ==, 255);
  g_assert_true (g_str_has_suffix (reason, "x"));
  g_assert_null (strchr (reason, 'y'));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/udp-probe/codec/request", test_codec_request);
  g_test_add_func ("/udp-probe/codec/response", test_codec_response);
  g_test_add_func ("/udp-probe/codec/response-status-text", test_codec_response_status_text);
#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/udp-probe/host/reachable", test_reachable);
  ADD ("/udp-probe/host/reachable-controlling", test_reachable_controlling);
  ADD ("/udp-probe/host/unreachable", test_unreachable);
  ADD ("/udp-probe/host/refused-foreign-ip", test_refused_foreign_ip);
  ADD ("/udp-probe/host/refused-private", test_refused_private);
  ADD ("/udp-probe/host/busy", test_busy);
  ADD ("/udp-probe/host/malformed-request", test_malformed_request);
  ADD ("/udp-probe/host/client-errors", test_client_errors);
#undef ADD

  return g_test_run ();
}
