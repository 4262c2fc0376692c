/* test-stun.c: the STUN Binding codec, PunchStunServer with libnice, ICE check helpers.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <agent.h>
#include <stun/stunagent.h>
#include <stun/usages/bind.h>

#include "punch-error.h"
#include "punch-stun.h"
#include "punch-stun-server.h"

/* Every wait is a main loop iteration bounded by a failsafe timeout. */
#define WAIT_TIMEOUT_S 20

#include "punch-test-util.h"

/* RFC 5769 2.2 / 2.3: the transaction id of the sample responses, and
 * their XOR-MAPPED-ADDRESS for 192.0.2.1:32853 and
 * 2001:db8:1234:5678:11:2233:4455:6677 port 32853. */
static const guint8 sample_tid[12] = {
  0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae
};

static void
make_request (PunchStunRequest *request)
{
  memset (request, 0, sizeof *request);
  request->cookie[0] = 0x21;
  request->cookie[1] = 0x12;
  request->cookie[2] = 0xa4;
  request->cookie[3] = 0x42;
  memcpy (request->transaction_id, sample_tid, sizeof sample_tid);
}

static guint16
get16 (const guint8 *p)
{
  return (guint16) ((p[0] << 8) | p[1]);
}

static guint32
get32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static void
assert_fingerprint (const guint8 *msg,
                    gsize         len)
{
  g_assert_cmpuint (len, >=, 28);
  g_assert_cmphex (get16 (msg + len - 8), ==, 0x8028);
  g_assert_cmpuint (get16 (msg + len - 6), ==, 4);
  g_assert_cmphex (get32 (msg + len - 4), ==, punch_stun_crc32 (msg, len - 8) ^ 0x5354554E);
}

static void
test_crc32 (void)
{
  /* The check value of CRC-32/ISO-HDLC. */
  g_assert_cmphex (punch_stun_crc32 ((const guint8 *) "123456789", 9), ==, 0xCBF43926);
  g_assert_cmphex (punch_stun_crc32 (NULL, 0), ==, 0);
}

static void
test_response_ipv4 (void)
{
  static const guint8 ip[4] = { 192, 0, 2, 1 };
  /* Hand-computed: port 32853 = 0x8055 ^ 0x2112 = 0xa147;
   * c0 00 02 01 ^ 21 12 a4 42 = e1 12 a6 43 (as in RFC 5769 2.2). */
  static const guint8 xma[12] = {
    0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43
  };
  PunchStunRequest request;
  guint8 out[PUNCH_STUN_MAX_RESPONSE_LEN];
  gsize n;

  make_request (&request);
  n = punch_stun_build_binding_response (&request, ip, 4, 32853, out, sizeof out);
  g_assert_cmpuint (n, ==, 20 + 12 + 8);
  g_assert_cmphex (get16 (out), ==, 0x0101);
  g_assert_cmpuint (get16 (out + 2), ==, n - 20);
  g_assert_cmphex (get32 (out + 4), ==, 0x2112A442);
  g_assert_cmpmem (out + 8, 12, sample_tid, 12);
  g_assert_cmpmem (out + 20, 12, xma, 12);
  assert_fingerprint (out, n);
}

static void
test_response_ipv6 (void)
{
  static const guint8 ip[16] = {
    0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77
  };
  /* X-Address = address ^ (cookie || transaction id), as in RFC 5769 2.3. */
  static const guint8 xma[24] = {
    0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47,
    0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79,
    0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9
  };
  PunchStunRequest request;
  guint8 out[PUNCH_STUN_MAX_RESPONSE_LEN];
  gsize n;

  make_request (&request);
  n = punch_stun_build_binding_response (&request, ip, 16, 32853, out, sizeof out);
  g_assert_cmpuint (n, ==, 20 + 24 + 8);
  g_assert_cmpmem (out + 20, 24, xma, 24);
  assert_fingerprint (out, n);
}

static void
test_response_rfc3489 (void)
{
  g_autoptr(GError) error = NULL;
  /* A 20-byte RFC 3489 Binding request, as libnice's discovery sends. */
  static const guint8 req[20] = {
    0x00, 0x01, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef,
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
  };
  static const guint8 ip[4] = { 192, 0, 2, 1 };
  static const guint8 expected[32] = {
    0x01, 0x01, 0x00, 0x0c, 0xde, 0xad, 0xbe, 0xef,
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x80, 0x55, 192, 0, 2, 1
  };
  PunchStunRequest request;
  guint8 out[PUNCH_STUN_MAX_RESPONSE_LEN];
  gsize n;

  g_assert_true (punch_stun_parse_binding_request (req, sizeof req, &request, &error));
  g_assert_no_error (error);
  g_assert_true (request.rfc3489);
  n = punch_stun_build_binding_response (&request, ip, 4, 32853, out, sizeof out);
  g_assert_cmpmem (out, n, expected, sizeof expected);
}

/* A Binding request made by libnice's STUN library. */
static gsize
libnice_request (StunAgent *agent,
                 guint8    *buf,
                 gsize      len)
{
  static const uint16_t known[] = { STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS,
                                    STUN_ATTRIBUTE_MAPPED_ADDRESS, 0 };
  StunMessage msg;

  stun_agent_init (agent, known, STUN_COMPATIBILITY_RFC5389, STUN_AGENT_USAGE_USE_FINGERPRINT);
  return stun_usage_bind_create (agent, &msg, buf, len);
}

static void
test_parse_libnice (void)
{
  g_autoptr(GError) error = NULL;
  StunAgent agent;
  StunMessage msg;
  PunchStunRequest request;
  guint8 buf[256], out[PUNCH_STUN_MAX_RESPONSE_LEN];
  static const guint8 ip[4] = { 127, 0, 0, 1 };
  struct sockaddr_storage addr, alt;
  socklen_t addrlen = sizeof addr, altlen = sizeof alt;
  gsize n = libnice_request (&agent, buf, sizeof buf), m;

  g_assert_cmpuint (n, >=, 20);
  g_assert_true (punch_stun_parse_binding_request (buf, n, &request, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (request.transaction_id, 12, buf + 8, 12);
  g_assert_false (request.rfc3489);
  g_assert_cmpuint (request.n_unknown, ==, 0);

  /* libnice accepts the answer and reads the mapped address back. */
  m = punch_stun_build_binding_response (&request, ip, 4, 40000, out, sizeof out);
  g_assert_cmpint (stun_agent_validate (&agent, &msg, out, m, NULL, NULL), ==,
                   STUN_VALIDATION_SUCCESS);
  g_assert_cmpint (stun_usage_bind_process (&msg, (struct sockaddr *) &addr, &addrlen,
                                            (struct sockaddr *) &alt, &altlen), ==,
                   STUN_USAGE_BIND_RETURN_SUCCESS);
  g_assert_cmpint (addr.ss_family, ==, AF_INET);
  g_assert_cmpuint (g_ntohs (((struct sockaddr_in *) &addr)->sin_port), ==, 40000);
  g_assert_cmphex (g_ntohl (((struct sockaddr_in *) &addr)->sin_addr.s_addr), ==, 0x7f000001);
}

static void
assert_parse_fails (const guint8 *buf,
                    gsize         len,
                    gint          code)
{
  g_autoptr(GError) error = NULL;
  PunchStunRequest request;

  g_assert_false (punch_stun_parse_binding_request (buf, len, &request, &error));
  g_assert_error (error, PUNCH_ERROR, code);
}

static void
test_parse_malformed (void)
{
  StunAgent agent;
  guint8 good[256], buf[PUNCH_STUN_MAX_MESSAGE_LEN + 8];
  gsize n = libnice_request (&agent, good, sizeof good);

  assert_parse_fails (good, 0, PUNCH_ERROR_TRUNCATED);
  assert_parse_fails (good, 19, PUNCH_ERROR_TRUNCATED);
  /* The datagram is longer or shorter than the header says. */
  assert_parse_fails (good, n - 4, PUNCH_ERROR_MALFORMED);
  memcpy (buf, good, n);
  memset (buf + n, 0, 4);
  assert_parse_fails (buf, n + 4, PUNCH_ERROR_MALFORMED);
  /* Top bits set (not STUN: RTP, DTLS...). */
  memcpy (buf, good, n);
  buf[0] |= 0x80;
  assert_parse_fails (buf, n, PUNCH_ERROR_MALFORMED);
  /* A length that is not a multiple of 4. */
  memcpy (buf, good, n);
  buf[3] += 1;
  assert_parse_fails (buf, n + 1, PUNCH_ERROR_MALFORMED);
  /* A wrong fingerprint. */
  memcpy (buf, good, n);
  buf[n - 1] ^= 1;
  assert_parse_fails (buf, n, PUNCH_ERROR_MALFORMED);
  /* An attribute running past the end. */
  memcpy (buf, good, n);
  buf[20 + 3] = 0xf0;
  assert_parse_fails (buf, n, PUNCH_ERROR_MALFORMED);
  /* A Binding indication and a Binding response are not requests. */
  memset (buf, 0, 20);
  buf[1] = 0x11;
  buf[4] = 0x21; buf[5] = 0x12; buf[6] = 0xa4; buf[7] = 0x42;
  assert_parse_fails (buf, 20, PUNCH_ERROR_UNSUPPORTED);
  buf[0] = 0x01; buf[1] = 0x01;
  assert_parse_fails (buf, 20, PUNCH_ERROR_UNSUPPORTED);
  /* Too large. */
  memset (buf, 0, sizeof buf);
  assert_parse_fails (buf, PUNCH_STUN_MAX_MESSAGE_LEN + 4, PUNCH_ERROR_TOO_LARGE);
}

static void
test_parse_unknown_attribute (void)
{
  g_autoptr(GError) error = NULL;
  /* A Binding request with attribute 0x0042 (comprehension-required,
   * unknown) and 0x8042 (optional, unknown), no fingerprint. */
  static const guint8 req[] = {
    0x00, 0x01, 0x00, 0x10, 0x21, 0x12, 0xa4, 0x42,
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    0x00, 0x42, 0x00, 0x01, 0xaa, 0x00, 0x00, 0x00,
    0x80, 0x42, 0x00, 0x04, 0xbb, 0xbb, 0xbb, 0xbb,
  };
  static const guint8 ip[4] = { 10, 0, 0, 1 };
  PunchStunRequest request;
  guint8 out[PUNCH_STUN_MAX_RESPONSE_LEN];
  gsize n;

  g_assert_true (punch_stun_parse_binding_request (req, sizeof req, &request, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (request.n_unknown, ==, 1);
  g_assert_cmphex (request.unknown[0], ==, 0x0042);

  n = punch_stun_build_binding_response (&request, ip, 4, 1, out, sizeof out);
  g_assert_cmphex (get16 (out), ==, 0x0111);
  /* ERROR-CODE 420 */
  g_assert_cmphex (get16 (out + 20), ==, 0x0009);
  g_assert_cmpuint (out[20 + 6], ==, 4);
  g_assert_cmpuint (out[20 + 7], ==, 20);
  /* UNKNOWN-ATTRIBUTES after ERROR-CODE: 4 + (4 + 17, padded to 24). */
  g_assert_cmphex (get16 (out + 20 + 28), ==, 0x000A);
  g_assert_cmpuint (get16 (out + 20 + 30), ==, 2);
  g_assert_cmphex (get16 (out + 20 + 32), ==, 0x0042);
  assert_fingerprint (out, n);
}

/* ICE check helpers against a libnice agent answering checks is covered
 * by test-udp-probe; here the checker rejects what is not an answer. */
static void
test_checker_rejects (void)
{
  g_autoptr(PunchStunChecker) checker = punch_stun_checker_new ("abcd:efgh", "0123456789012345678901");
  g_autoptr(GError) error = NULL;
  guint8 check[PUNCH_STUN_MAX_CHECK_LEN], tid[12];
  PunchStunCheckAnswer answer;
  gsize n = punch_stun_checker_build (checker, 1234, check, sizeof check, tid);

  g_assert_cmpuint (n, >, 20);
  g_assert_cmpmem (tid, 12, check + 8, 12);
  /* The check itself is a request, not an answer. */
  g_assert_false (punch_stun_checker_process (checker, check, n, tid, &answer, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_false (punch_stun_checker_process (checker, check, 7, tid, &answer, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED);
}

/* The server */

static PunchStunServer *
server_new_loopback (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) bind = g_inet_socket_address_new (lo, 0);
  PunchStunServer *server = punch_stun_server_new (G_INET_SOCKET_ADDRESS (bind), &error);

  g_assert_no_error (error);
  g_assert_nonnull (server);
  g_assert_cmpuint (punch_stun_server_get_port (server), >, 0);
  return server;
}

static gboolean gathering_done;

static void
on_gathering_done (NiceAgent *agent,
                   guint      stream_id,
                   gpointer   user_data)
{
  gathering_done = TRUE;
}

static void
on_recv (NiceAgent *agent, guint stream_id, guint component_id, guint len,
         gchar *buf, gpointer user_data)
{
}

static void
test_server_libnice_srflx (void)
{
  g_autoptr(PunchStunServer) server = server_new_loopback ();
  NiceAgent *agent = nice_agent_new (NULL, NICE_COMPATIBILITY_RFC5245);
  NiceAddress lo;
  GSList *cands, *l;
  NiceCandidate *host = NULL, *srflx = NULL;
  guint stream_id;
  guint port;
  gint64 start;

  g_object_get (server, "port", &port, NULL);
  g_assert_cmpuint (port, ==, punch_stun_server_get_port (server));
  g_object_set (agent, "upnp", FALSE, "stun-server", "127.0.0.1",
                "stun-server-port", port, NULL);
  nice_address_init (&lo);
  g_assert_true (nice_address_set_from_string (&lo, "127.0.0.1"));
  g_assert_true (nice_agent_add_local_address (agent, &lo));
  stream_id = nice_agent_add_stream (agent, 1);
  g_assert_cmpuint (stream_id, >, 0);
  g_assert_true (nice_agent_attach_recv (agent, stream_id, 1, NULL, on_recv, NULL));
  gathering_done = FALSE;
  g_signal_connect (agent, "candidate-gathering-done", G_CALLBACK (on_gathering_done), NULL);
  start = g_get_monotonic_time ();
  g_assert_true (nice_agent_gather_candidates (agent, stream_id));
  WAIT_FOR (gathering_done);

  /* libnice asked us (an RFC 3489 request, without the magic cookie) and
   * took the answer: without one it would retransmit at 500 ms and give
   * up only after about 2 s. */
  g_assert_cmpuint (punch_stun_server_get_answered (server), >=, 1);
  g_assert_cmpuint (punch_stun_server_get_ignored (server), ==, 0);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 1000 * 1000);

  cands = nice_agent_get_local_candidates (agent, stream_id, 1);
  for (l = cands; l != NULL; l = l->next)
    {
      NiceCandidate *c = l->data;

      if (c->type == NICE_CANDIDATE_TYPE_HOST && c->transport == NICE_CANDIDATE_TRANSPORT_UDP)
        host = c;
      else if (c->type == NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE)
        srflx = c;
    }
  g_assert_nonnull (host);
  /* No NAT on loopback: the mapped address is the host candidate's, and
   * libnice 0.1.21 drops such a server-reflexive candidate as redundant
   * (RFC 8445 5.1.3), so there is none, or one equal to the host. The
   * mapping libnice read is checked in /stun/server/libnice-rfc3489. */
  if (srflx != NULL)
    g_assert_true (nice_address_equal (&srflx->addr, &host->addr));
  g_slist_free_full (cands, (GDestroyNotify) nice_candidate_free);
  g_object_unref (agent);
}

static void
test_server_garbage (void)
{
  g_autoptr(PunchStunServer) server = server_new_loopback ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                          G_SOCKET_PROTOCOL_UDP, &error);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) local = NULL;
  GSocketAddress *to = G_SOCKET_ADDRESS (punch_stun_server_get_address (server));
  guint8 big[2000] = { 0 };
  static const guint8 junk[] = { 0xde, 0xad, 0xbe, 0xef };
  guint8 buf[256], out[256];
  StunAgent agent;
  StunMessage msg;
  struct sockaddr_storage addr, alt;
  socklen_t addrlen = sizeof addr, altlen = sizeof alt;
  gsize n;
  gssize r;

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (sock, any, FALSE, &error));
  local = g_socket_get_local_address (sock, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (sock, FALSE);

  /* Junk, an empty datagram, an oversized one, a corrupted request. */
  n = libnice_request (&agent, buf, sizeof buf);
  g_assert_cmpint (g_socket_send_to (sock, to, (const gchar *) junk, sizeof junk, NULL, NULL), ==, 4);
  g_assert_cmpint (g_socket_send_to (sock, to, "", 0, NULL, NULL), ==, 0);
  g_assert_cmpint (g_socket_send_to (sock, to, (const gchar *) big, sizeof big, NULL, NULL), ==, sizeof big);
  buf[n - 1] ^= 0x55;
  g_assert_cmpint (g_socket_send_to (sock, to, (const gchar *) buf, n, NULL, NULL), ==, (gssize) n);
  WAIT_FOR (punch_stun_server_get_ignored (server) == 4);
  g_assert_cmpuint (punch_stun_server_get_answered (server), ==, 0);

  /* The server keeps answering. */
  n = libnice_request (&agent, buf, sizeof buf);
  g_assert_cmpint (g_socket_send_to (sock, to, (const gchar *) buf, n, NULL, NULL), ==, (gssize) n);
  WAIT_FOR (punch_stun_server_get_answered (server) == 1);
  r = g_socket_receive (sock, (gchar *) out, sizeof out, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r, >, 20);
  /* Nothing answered the garbage. */
  g_assert_cmpint (g_socket_receive (sock, (gchar *) out, sizeof out, NULL, NULL), <, 0);

  g_assert_cmpint (stun_agent_validate (&agent, &msg, out, r, NULL, NULL), ==,
                   STUN_VALIDATION_SUCCESS);
  g_assert_cmpint (stun_usage_bind_process (&msg, (struct sockaddr *) &addr, &addrlen,
                                            (struct sockaddr *) &alt, &altlen), ==,
                   STUN_USAGE_BIND_RETURN_SUCCESS);
  g_assert_cmpuint (g_ntohs (((struct sockaddr_in *) &addr)->sin_port), ==,
                    g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)));

  /* Closing twice is fine. */
  punch_stun_server_close (server);
  punch_stun_server_close (server);
  g_assert_cmpuint (punch_stun_server_get_port (server), >, 0);
}

/* What libnice's discovery does (an RFC 3489 request, as
 * discovery.c sends), through the server, with the answer read by
 * libnice's STUN library. */
static void
test_server_libnice_rfc3489 (void)
{
  static const uint16_t known[] = { STUN_ATTRIBUTE_MAPPED_ADDRESS,
                                    STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, 0 };
  g_autoptr(PunchStunServer) server = server_new_loopback ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                          G_SOCKET_PROTOCOL_UDP, &error);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) local = NULL;
  GSocketAddress *to = G_SOCKET_ADDRESS (punch_stun_server_get_address (server));
  StunAgent agent;
  StunMessage msg;
  guint8 buf[256], out[256];
  struct sockaddr_storage addr, alt;
  socklen_t addrlen = sizeof addr, altlen = sizeof alt;
  gsize n;
  gssize r;

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (sock, any, FALSE, &error));
  local = g_socket_get_local_address (sock, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (sock, FALSE);

  stun_agent_init (&agent, known, STUN_COMPATIBILITY_RFC3489, 0);
  n = stun_usage_bind_create (&agent, &msg, buf, sizeof buf);
  g_assert_cmpuint (n, ==, 20);
  g_assert_cmpint (g_socket_send_to (sock, to, (const gchar *) buf, n, NULL, NULL), ==, 20);
  WAIT_FOR (punch_stun_server_get_answered (server) == 1);
  /* Sent before it was counted; loopback delivers at once. */
  r = g_socket_receive (sock, (gchar *) out, sizeof out, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r, ==, 32);
  g_assert_cmpint (stun_agent_validate (&agent, &msg, out, r, NULL, NULL), ==,
                   STUN_VALIDATION_SUCCESS);
  g_assert_cmpint (stun_usage_bind_process (&msg, (struct sockaddr *) &addr, &addrlen,
                                            (struct sockaddr *) &alt, &altlen), ==,
                   STUN_USAGE_BIND_RETURN_SUCCESS);
  g_assert_cmpint (addr.ss_family, ==, AF_INET);
  g_assert_cmphex (g_ntohl (((struct sockaddr_in *) &addr)->sin_addr.s_addr), ==, 0x7f000001);
  g_assert_cmpuint (g_ntohs (((struct sockaddr_in *) &addr)->sin_port), ==,
                    g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)));
}

static void
test_server_bind_error (void)
{
  g_autoptr(PunchStunServer) server = server_new_loopback ();
  g_autoptr(PunchStunServer) again = NULL;
  g_autoptr(GError) error = NULL;

  again = punch_stun_server_new (punch_stun_server_get_address (server), &error);
  g_assert_null (again);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/stun/crc32", test_crc32);
  g_test_add_func ("/stun/response/ipv4", test_response_ipv4);
  g_test_add_func ("/stun/response/ipv6", test_response_ipv6);
  g_test_add_func ("/stun/response/rfc3489", test_response_rfc3489);
  g_test_add_func ("/stun/parse/libnice", test_parse_libnice);
  g_test_add_func ("/stun/parse/malformed", test_parse_malformed);
  g_test_add_func ("/stun/parse/unknown-attribute", test_parse_unknown_attribute);
  g_test_add_func ("/stun/checker/rejects", test_checker_rejects);
  g_test_add_func ("/stun/server/libnice-srflx", test_server_libnice_srflx);
  g_test_add_func ("/stun/server/libnice-rfc3489", test_server_libnice_rfc3489);
  g_test_add_func ("/stun/server/garbage", test_server_garbage);
  g_test_add_func ("/stun/server/bind-error", test_server_bind_error);

  return g_test_run ();
}
