/* fuzz-udp-probe.c: libFuzzer target for the /punch/autonat/udp/1.0.0 codec
 * (doc/autonat-udp.md): the Request decoder (what a server reads) and the
 * Response decoder (what a client reads), both on the same bytes, each
 * followed by an exact round trip through its encoder.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "punch-error.h"
#include "punch-udp-probe.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static gboolean
known_code (const GError *error)
{
  return error != NULL && error->domain == PUNCH_ERROR &&
         (error->code == PUNCH_ERROR_MALFORMED || error->code == PUNCH_ERROR_TOO_LARGE);
}

static gboolean
address_equal (GInetSocketAddress *a,
               GInetSocketAddress *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return g_inet_socket_address_get_port (a) == g_inet_socket_address_get_port (b) &&
         g_inet_address_equal (g_inet_socket_address_get_address (a),
                               g_inet_socket_address_get_address (b));
}

/* An address a decoder may hand out: 4 or 16 bytes, port 1..65535. */
static gboolean
address_valid (GInetSocketAddress *a)
{
  gsize n = g_inet_address_get_native_size (g_inet_socket_address_get_address (a));

  return (n == 4 || n == 16) && g_inet_socket_address_get_port (a) != 0;
}

/* The validation the decoder promises: ICE credentials (ALPHA / DIGIT /
 * "+" / "/") of the allowed lengths. */
static gboolean
credential_valid (const gchar *value,
                  gsize        min_len)
{
  gsize len;

  if (value == NULL)
    return FALSE;
  len = strlen (value);
  if (len < min_len || len > PUNCH_UDP_PROBE_MAX_CREDENTIAL_LEN)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (value[i]) && value[i] != '+' && value[i] != '/')
      return FALSE;
  return TRUE;
}

static gboolean
request_valid (const PunchUdpProbeRequest *request)
{
  if (!credential_valid (request->ufrag, PUNCH_UDP_PROBE_MIN_UFRAG_LEN) ||
      !credential_valid (request->pwd, PUNCH_UDP_PROBE_MIN_PWD_LEN) ||
      !credential_valid (request->remote_ufrag, PUNCH_UDP_PROBE_MIN_UFRAG_LEN) ||
      request->targets == NULL || request->targets->len == 0 ||
      request->targets->len > PUNCH_UDP_PROBE_MAX_CANDIDATES)
    return FALSE;
  for (guint i = 0; i < request->targets->len; i++)
    {
      PunchUdpProbeTarget *t = request->targets->pdata[i];

      if (t == NULL || t->address == NULL || !address_valid (t->address))
        return FALSE;
      for (guint j = 0; j < i; j++)
        if (((PunchUdpProbeTarget *) request->targets->pdata[j])->id == t->id)
          return FALSE;
    }
  return TRUE;
}

static gboolean
request_equal (const PunchUdpProbeRequest *a,
               const PunchUdpProbeRequest *b)
{
  if (g_strcmp0 (a->ufrag, b->ufrag) != 0 || g_strcmp0 (a->pwd, b->pwd) != 0 ||
      g_strcmp0 (a->remote_ufrag, b->remote_ufrag) != 0 ||
      a->targets->len != b->targets->len)
    return FALSE;
  for (guint i = 0; i < a->targets->len; i++)
    {
      PunchUdpProbeTarget *ta = a->targets->pdata[i];
      PunchUdpProbeTarget *tb = b->targets->pdata[i];

      if (ta->id != tb->id || !address_equal (ta->address, tb->address))
        return FALSE;
    }
  return TRUE;
}

static void
check_request (const uint8_t *data,
               size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchUdpProbeRequest) request = NULL;
  g_autoptr(PunchUdpProbeRequest) again = NULL;
  g_autoptr(PunchUdpProbeRequest) third = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) bytes2 = NULL;

  request = punch_udp_probe_request_decode (data, size, &error);
  if ((request == NULL) != (error != NULL) || (error != NULL && !known_code (error)))
    abort ();
  if (request == NULL)
    return;
  if (!request_valid (request))
    abort ();

  /* Round trip: what decoded encodes to a Request that decodes to the
   * same thing, and encoding that again gives the same bytes. */
  bytes = punch_udp_probe_request_encode (request);
  if (bytes == NULL || g_bytes_get_size (bytes) > PUNCH_UDP_PROBE_MAX_MESSAGE_SIZE)
    abort ();
  again = punch_udp_probe_request_decode (g_bytes_get_data (bytes, NULL),
                                          g_bytes_get_size (bytes), &error);
  if (again == NULL || error != NULL || !request_equal (request, again))
    abort ();
  bytes2 = punch_udp_probe_request_encode (again);
  if (bytes2 == NULL || !g_bytes_equal (bytes, bytes2))
    abort ();

  /* What a canonical encoding decodes to is what the input decoded to:
   * decoding the re-encoding once more changes nothing. */
  third = punch_udp_probe_request_decode (g_bytes_get_data (bytes2, NULL),
                                          g_bytes_get_size (bytes2), NULL);
  if (third == NULL || !request_equal (again, third))
    abort ();
}

static gboolean
results_equal (GPtrArray *a,
               GPtrArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    {
      PunchUdpProbeResult *ra = a->pdata[i];
      PunchUdpProbeResult *rb = b->pdata[i];

      if (ra->id != rb->id || ra->verdict != rb->verdict ||
          ra->candidate != NULL || rb->candidate != NULL ||
          !address_equal (ra->observed, rb->observed))
        return FALSE;
    }
  return TRUE;
}

static void
check_response (const uint8_t *data,
                size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GPtrArray) again = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) bytes2 = NULL;

  results = punch_udp_probe_response_decode (data, size, &error);
  if ((results == NULL) != (error != NULL))
    abort ();
  if (results == NULL)
    {
      /* Malformed, or a well-formed refusal (PROTOCOL: E_BAD_REQUEST) or
       * failure (FAILED: E_INTERNAL or an unknown status). */
      if (!known_code (error) &&
          !g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL) &&
          !g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_FAILED))
        abort ();
      /* The server's status_text goes into the message: valid UTF-8 (as
       * every GError message), and bounded. */
      if (!g_utf8_validate (error->message, -1, NULL) || strlen (error->message) > 1024)
        abort ();
      return;
    }
  if (results->len > PUNCH_UDP_PROBE_MAX_CANDIDATES)
    abort ();
  for (guint i = 0; i < results->len; i++)
    {
      PunchUdpProbeResult *r = results->pdata[i];

      if (r == NULL || r->candidate != NULL ||
          (r->verdict != PUNCH_UDP_VERDICT_REACHABLE &&
           r->verdict != PUNCH_UDP_VERDICT_UNREACHABLE &&
           r->verdict != PUNCH_UDP_VERDICT_REFUSED) ||
          (r->observed != NULL && !address_valid (r->observed)))
        abort ();
    }

  /* Round trip, as for the request. */
  bytes = punch_udp_probe_response_encode (results, TRUE, NULL);
  if (bytes == NULL || g_bytes_get_size (bytes) > PUNCH_UDP_PROBE_MAX_MESSAGE_SIZE)
    abort ();
  again = punch_udp_probe_response_decode (g_bytes_get_data (bytes, NULL),
                                           g_bytes_get_size (bytes), &error);
  if (again == NULL || error != NULL || !results_equal (results, again))
    abort ();
  bytes2 = punch_udp_probe_response_encode (again, TRUE, NULL);
  if (bytes2 == NULL || !g_bytes_equal (bytes, bytes2))
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  /* The messages as they arrive on the stream, framing removed: a server
   * decodes a Request, a client a Response. */
  check_request (data, size);
  check_response (data, size);
  return 0;
}
