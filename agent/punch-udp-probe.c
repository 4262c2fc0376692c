/* punch-udp-probe.c: /punch/autonat/udp/1.0.0, UDP reachability of ICE candidates.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "punch-udp-probe.h"

#include "punch-autonat-core.h"
#include "punch-error.h"
#include "punch-framing.h"
#include "punch-multiaddr-private.h"
#include "punch-proto.h"
#include "punch-stream.h"
#include "punch-stun.h"
#include "punch_autonat_udp.pb-c.h"

/* The PRIORITY of the server's checks: what a peer-reflexive candidate of
 * component 1 would have (RFC 8445 5.1.2.1: type preference 110, local
 * preference 65535). */
#define CHECK_PRIORITY ((110u << 24) | (65535u << 8) | (256u - 1u))

#define REMOTE_UFRAG_LEN 8

/* Codec */

void
punch_udp_probe_request_free (PunchUdpProbeRequest *request)
{
  if (request == NULL)
    return;
  g_free (request->ufrag);
  g_free (request->pwd);
  g_free (request->remote_ufrag);
  g_clear_pointer (&request->targets, g_ptr_array_unref);
  g_free (request);
}

static void
target_free (PunchUdpProbeTarget *target)
{
  g_clear_object (&target->address);
  g_free (target);
}

void
punch_udp_probe_result_free (PunchUdpProbeResult *result)
{
  if (result == NULL)
    return;
  g_clear_pointer (&result->candidate, nice_candidate_free);
  g_clear_object (&result->observed);
  g_free (result);
}

/* ICE ufrag and pwd characters (RFC 8445 5.3, ice-char of RFC 8839):
 * ALPHA / DIGIT / "+" / "/". */
static gboolean
check_credential (const gchar  *value,
                  const gchar  *name,
                  gsize         min_len,
                  GError      **error)
{
  gsize len;

  if (value == NULL)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED, "request without %s", name);
      return FALSE;
    }
  len = strlen (value);
  if (len < min_len || len > PUNCH_UDP_PROBE_MAX_CREDENTIAL_LEN)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "%s of %" G_GSIZE_FORMAT " characters (%" G_GSIZE_FORMAT " to %d allowed)",
                   name, len, min_len, PUNCH_UDP_PROBE_MAX_CREDENTIAL_LEN);
      return FALSE;
    }
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (value[i]) && value[i] != '+' && value[i] != '/')
      {
        g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                     "%s holds a character outside the ICE set", name);
        return FALSE;
      }
  return TRUE;
}

static GInetSocketAddress *
address_from_ip_port (const ProtobufCBinaryData *ip,
                      guint32                    port)
{
  g_autoptr(GInetAddress) inet = NULL;

  if (ip->len == 4)
    inet = g_inet_address_new_from_bytes (ip->data, G_SOCKET_FAMILY_IPV4);
  else if (ip->len == 16)
    inet = g_inet_address_new_from_bytes (ip->data, G_SOCKET_FAMILY_IPV6);
  else
    return NULL;
  if (port == 0 || port > G_MAXUINT16)
    return NULL;
  return G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (inet, (guint16) port));
}

static void
ip_port_from_address (GInetSocketAddress  *address,
                      ProtobufCBinaryData *ip,
                      guint32             *port)
{
  GInetAddress *inet = g_inet_socket_address_get_address (address);

  ip->len = g_inet_address_get_native_size (inet);
  ip->data = (guint8 *) g_inet_address_to_bytes (inet);
  *port = g_inet_socket_address_get_port (address);
}

/**
 * punch_udp_probe_request_decode:
 * @data: (array length=len): a Request message
 * @len: its length
 * @error: return location for a #GError
 *
 * Decodes and validates a Request (proto/punch_autonat_udp.proto): ICE
 * credentials of the allowed lengths and characters, 1 to
 * %PUNCH_UDP_PROBE_MAX_CANDIDATES candidates, each with a unique id, a
 * 4- or 16-byte IP and a port in 1..65535.
 *
 * Errors: %PUNCH_ERROR_TOO_LARGE, %PUNCH_ERROR_MALFORMED (protobuf or
 * validation).
 *
 * Returns: (transfer full): the request, or %NULL on error
 */
PunchUdpProbeRequest *
punch_udp_probe_request_decode (const guint8  *data,
                                gsize          len,
                                GError       **error)
{
  Punch__AutonatUdp__Request *msg;
  g_autoptr(PunchUdpProbeRequest) request = NULL;
  GError *local_error = NULL;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  msg = (Punch__AutonatUdp__Request *)
    punch_proto_unpack (&punch__autonat_udp__request__descriptor, data, len,
                        PUNCH_UDP_PROBE_MAX_MESSAGE_SIZE, error);
  if (msg == NULL)
    return NULL;

  if (!check_credential (msg->ufrag, "ufrag", PUNCH_UDP_PROBE_MIN_UFRAG_LEN, &local_error) ||
      !check_credential (msg->pwd, "pwd", PUNCH_UDP_PROBE_MIN_PWD_LEN, &local_error) ||
      !check_credential (msg->remote_ufrag, "remote_ufrag", PUNCH_UDP_PROBE_MIN_UFRAG_LEN,
                         &local_error))
    goto fail;
  if (msg->n_candidates == 0 || msg->n_candidates > PUNCH_UDP_PROBE_MAX_CANDIDATES)
    {
      g_set_error (&local_error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "%" G_GSIZE_FORMAT " candidates (1 to %d allowed)",
                   msg->n_candidates, PUNCH_UDP_PROBE_MAX_CANDIDATES);
      goto fail;
    }

  request = g_new0 (PunchUdpProbeRequest, 1);
  request->ufrag = g_strdup (msg->ufrag);
  request->pwd = g_strdup (msg->pwd);
  request->remote_ufrag = g_strdup (msg->remote_ufrag);
  request->targets = g_ptr_array_new_with_free_func ((GDestroyNotify) target_free);
  for (gsize i = 0; i < msg->n_candidates; i++)
    {
      Punch__AutonatUdp__Candidate *c = msg->candidates[i];
      PunchUdpProbeTarget *target;
      GInetSocketAddress *address;

      if (!c->has_id || !c->has_ip || !c->has_port ||
          (address = address_from_ip_port (&c->ip, c->port)) == NULL)
        {
          g_set_error (&local_error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "candidate %" G_GSIZE_FORMAT " lacks an id, a 4- or 16-byte ip or a port "
                       "in 1..65535", i);
          goto fail;
        }
      for (guint j = 0; j < request->targets->len; j++)
        if (((PunchUdpProbeTarget *) request->targets->pdata[j])->id == c->id)
          {
            g_object_unref (address);
            g_set_error (&local_error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                         "candidate id %u appears twice", c->id);
            goto fail;
          }
      target = g_new0 (PunchUdpProbeTarget, 1);
      target->id = c->id;
      target->address = address;
      g_ptr_array_add (request->targets, target);
    }

  punch_proto_free (&msg->base);
  return g_steal_pointer (&request);

fail:
  punch_proto_free (&msg->base);
  g_propagate_error (error, local_error);
  return NULL;
}

/**
 * punch_udp_probe_request_encode:
 * @request: a request
 *
 * Returns: (transfer full): the Request message
 */
GBytes *
punch_udp_probe_request_encode (const PunchUdpProbeRequest *request)
{
  Punch__AutonatUdp__Request msg = PUNCH__AUTONAT_UDP__REQUEST__INIT;
  g_autofree Punch__AutonatUdp__Candidate *cands = NULL;
  g_autofree Punch__AutonatUdp__Candidate **cand_ptrs = NULL;

  g_return_val_if_fail (request != NULL && request->targets != NULL, NULL);

  msg.ufrag = request->ufrag;
  msg.pwd = request->pwd;
  msg.remote_ufrag = request->remote_ufrag;
  cands = g_new0 (Punch__AutonatUdp__Candidate, request->targets->len);
  cand_ptrs = g_new0 (Punch__AutonatUdp__Candidate *, request->targets->len);
  for (guint i = 0; i < request->targets->len; i++)
    {
      PunchUdpProbeTarget *target = request->targets->pdata[i];

      punch__autonat_udp__candidate__init (&cands[i]);
      cands[i].has_id = TRUE;
      cands[i].id = target->id;
      cands[i].has_ip = TRUE;
      cands[i].has_port = TRUE;
      ip_port_from_address (target->address, &cands[i].ip, &cands[i].port);
      cand_ptrs[i] = &cands[i];
    }
  msg.n_candidates = request->targets->len;
  msg.candidates = cand_ptrs;
  return punch_proto_pack (&msg.base);
}

/**
 * punch_udp_probe_response_encode:
 * @results: (element-type PunchUdpProbeResult) (nullable): the verdicts
 *   when @ok
 * @ok: %TRUE for status OK, %FALSE for E_BAD_REQUEST (with @results
 *   %NULL) or E_INTERNAL (with @results not %NULL, and empty)
 * @status_text: (nullable): a reason
 *
 * Returns: (transfer full): the Response message
 */
GBytes *
punch_udp_probe_response_encode (GPtrArray   *results,
                                 gboolean     ok,
                                 const gchar *status_text)
{
  Punch__AutonatUdp__Response msg = PUNCH__AUTONAT_UDP__RESPONSE__INIT;
  g_autofree Punch__AutonatUdp__Result *res = NULL;
  g_autofree Punch__AutonatUdp__Result **res_ptrs = NULL;
  guint n = results != NULL ? results->len : 0;

  msg.has_status = TRUE;
  if (ok)
    msg.status = PUNCH__AUTONAT_UDP__RESPONSE__STATUS__OK;
  else if (results == NULL)
    msg.status = PUNCH__AUTONAT_UDP__RESPONSE__STATUS__E_BAD_REQUEST;
  else
    msg.status = PUNCH__AUTONAT_UDP__RESPONSE__STATUS__E_INTERNAL;
  msg.status_text = (gchar *) status_text;

  if (ok && n > 0)
    {
      res = g_new0 (Punch__AutonatUdp__Result, n);
      res_ptrs = g_new0 (Punch__AutonatUdp__Result *, n);
      for (guint i = 0; i < n; i++)
        {
          PunchUdpProbeResult *r = results->pdata[i];

          punch__autonat_udp__result__init (&res[i]);
          res[i].has_id = TRUE;
          res[i].id = r->id;
          res[i].has_verdict = TRUE;
          switch (r->verdict)
            {
            case PUNCH_UDP_VERDICT_REACHABLE:
              res[i].verdict = PUNCH__AUTONAT_UDP__RESULT__VERDICT__REACHABLE;
              break;
            case PUNCH_UDP_VERDICT_UNREACHABLE:
              res[i].verdict = PUNCH__AUTONAT_UDP__RESULT__VERDICT__UNREACHABLE;
              break;
            case PUNCH_UDP_VERDICT_REFUSED:
            default:
              res[i].verdict = PUNCH__AUTONAT_UDP__RESULT__VERDICT__REFUSED;
              break;
            }
          if (r->observed != NULL)
            {
              res[i].has_observed_ip = TRUE;
              res[i].has_observed_port = TRUE;
              ip_port_from_address (r->observed, &res[i].observed_ip, &res[i].observed_port);
            }
          res_ptrs[i] = &res[i];
        }
      msg.n_results = n;
      msg.results = res_ptrs;
    }
  return punch_proto_pack (&msg.base);
}

/* A server's status_text as it goes into an error message, as AutoNAT's:
 * valid UTF-8, at most PUNCH_AUTONAT_MAX_STATUS_TEXT bytes. */
static gchar *
status_text_sanitize (const gchar *text)
{
  return text != NULL ? punch_autonat_sanitize_text (text, -1) : g_strdup ("(no reason)");
}

/**
 * punch_udp_probe_response_decode:
 * @data: (array length=len): a Response message
 * @len: its length
 * @error: return location for a #GError
 *
 * Decodes a Response.  Results are returned as sent (their ids are
 * checked against the request by the caller), with no candidate.
 *
 * Errors: %PUNCH_ERROR_TOO_LARGE, %PUNCH_ERROR_MALFORMED (protobuf, a
 * result without id or verdict, an unknown verdict, a bad observed
 * address); %PUNCH_ERROR_PROTOCOL when the server answered E_BAD_REQUEST;
 * %PUNCH_ERROR_FAILED when it answered E_INTERNAL or an unknown status.
 * The server's status_text in those two messages is made valid UTF-8 and
 * cut to 256 bytes.
 *
 * Returns: (transfer full) (element-type PunchUdpProbeResult): the
 *   results, or %NULL on error
 */
GPtrArray *
punch_udp_probe_response_decode (const guint8  *data,
                                 gsize          len,
                                 GError       **error)
{
  Punch__AutonatUdp__Response *msg;
  g_autoptr(GPtrArray) results = NULL;
  GError *local_error = NULL;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  msg = (Punch__AutonatUdp__Response *)
    punch_proto_unpack (&punch__autonat_udp__response__descriptor, data, len,
                        PUNCH_UDP_PROBE_MAX_MESSAGE_SIZE, error);
  if (msg == NULL)
    return NULL;

  if (!msg->has_status)
    {
      g_set_error_literal (&local_error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "response without status");
      goto fail;
    }
  if (msg->status == PUNCH__AUTONAT_UDP__RESPONSE__STATUS__E_BAD_REQUEST)
    {
      g_autofree gchar *text = status_text_sanitize (msg->status_text);

      g_set_error (&local_error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                   "the server refused the request: %s", text);
      goto fail;
    }
  if (msg->status != PUNCH__AUTONAT_UDP__RESPONSE__STATUS__OK)
    {
      g_autofree gchar *text = status_text_sanitize (msg->status_text);

      g_set_error (&local_error, PUNCH_ERROR, PUNCH_ERROR_FAILED,
                   "the server failed (status %d): %s", msg->status, text);
      goto fail;
    }
  if (msg->n_results > PUNCH_UDP_PROBE_MAX_CANDIDATES)
    {
      g_set_error (&local_error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "%" G_GSIZE_FORMAT " results", msg->n_results);
      goto fail;
    }

  results = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_udp_probe_result_free);
  for (gsize i = 0; i < msg->n_results; i++)
    {
      Punch__AutonatUdp__Result *r = msg->results[i];
      PunchUdpProbeResult *result;

      if (!r->has_id || !r->has_verdict)
        {
          g_set_error_literal (&local_error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                               "result without id or verdict");
          goto fail;
        }
      result = g_new0 (PunchUdpProbeResult, 1);
      g_ptr_array_add (results, result);
      result->id = r->id;
      switch (r->verdict)
        {
        case PUNCH__AUTONAT_UDP__RESULT__VERDICT__REACHABLE:
          result->verdict = PUNCH_UDP_VERDICT_REACHABLE;
          break;
        case PUNCH__AUTONAT_UDP__RESULT__VERDICT__UNREACHABLE:
          result->verdict = PUNCH_UDP_VERDICT_UNREACHABLE;
          break;
        case PUNCH__AUTONAT_UDP__RESULT__VERDICT__REFUSED:
          result->verdict = PUNCH_UDP_VERDICT_REFUSED;
          break;
        default:
          g_set_error (&local_error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "unknown verdict %d", r->verdict);
          goto fail;
        }
      if (r->has_observed_ip || r->has_observed_port)
        {
          result->observed = address_from_ip_port (&r->observed_ip,
                                                   r->has_observed_port ? r->observed_port : 0);
          if (result->observed == NULL)
            {
              g_set_error_literal (&local_error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                                   "bad observed address in a result");
              goto fail;
            }
        }
    }

  punch_proto_free (&msg->base);
  return g_steal_pointer (&results);

fail:
  punch_proto_free (&msg->base);
  g_propagate_error (error, local_error);
  return NULL;
}

/* Server */

/**
 * PunchUdpProbeService:
 *
 * The server side of `/punch/autonat/udp/1.0.0` (doc/autonat-udp.md).
 */
struct _PunchUdpProbeService {
  GObject parent_instance;

  GWeakRef host;
  gboolean allow_private;
  guint n_active;
  guint64 checks_sent;
};

G_DEFINE_FINAL_TYPE (PunchUdpProbeService, punch_udp_probe_service, G_TYPE_OBJECT)

typedef struct {
  guint8 packet[PUNCH_STUN_MAX_CHECK_LEN];
  gsize len;
  guint8 transaction_id[PUNCH_STUN_TRANSACTION_ID_LEN];
  gboolean pending;
} Check;

typedef struct {
  PunchUdpProbeService *service;
  PunchStream *stream;
  GCancellable *cancellable;
  GSource *timer;
  PunchUdpProbeRequest *request;
  GInetAddress *observed_ip;
  PunchStunChecker *checker;
  GSocket *socket;
  GSource *socket_source;
  GPtrArray *results;   /* of PunchUdpProbeResult, in request order */
  Check *checks;        /* one per target */
  guint attempt;
  guint n_pending;
  gboolean active;
  GBytes *writing;
} Probe;

static void
probe_stop_io (Probe *p)
{
  if (p->timer != NULL)
    {
      g_source_destroy (p->timer);
      g_clear_pointer (&p->timer, g_source_unref);
    }
  if (p->socket_source != NULL)
    {
      g_source_destroy (p->socket_source);
      g_clear_pointer (&p->socket_source, g_source_unref);
    }
  if (p->socket != NULL)
    {
      g_socket_close (p->socket, NULL);
      g_clear_object (&p->socket);
    }
}

static void
probe_free (Probe *p)
{
  probe_stop_io (p);
  if (p->active)
    p->service->n_active--;
  g_clear_object (&p->service);
  g_clear_object (&p->stream);
  g_clear_object (&p->cancellable);
  g_clear_pointer (&p->request, punch_udp_probe_request_free);
  g_clear_object (&p->observed_ip);
  g_clear_pointer (&p->checker, punch_stun_checker_free);
  g_clear_pointer (&p->results, g_ptr_array_unref);
  g_clear_pointer (&p->checks, g_free);
  g_clear_pointer (&p->writing, g_bytes_unref);
  g_free (p);
}

static void
on_reply_closed (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  probe_free (user_data);
}

static void
on_reply_written (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Probe *p = user_data;
  g_autoptr(GError) error = NULL;

  if (!punch_framing_write_finish (G_OUTPUT_STREAM (source), result, &error))
    {
      g_debug ("udp probe: writing the response: %s", error->message);
      punch_stream_reset (p->stream);
      probe_free (p);
      return;
    }
  if (!punch_stream_close_write (p->stream, &error))
    g_debug ("udp probe: closing the stream: %s", error->message);
  g_io_stream_close_async (G_IO_STREAM (p->stream), G_PRIORITY_DEFAULT, NULL,
                           on_reply_closed, p);
}

static void
probe_reply (Probe  *p,
             GBytes *response)
{
  probe_stop_io (p);
  p->writing = response;
  punch_framing_write_async (g_io_stream_get_output_stream (G_IO_STREAM (p->stream)),
                             response, G_PRIORITY_DEFAULT, p->cancellable,
                             on_reply_written, p);
}

static void
probe_finish (Probe *p)
{
  for (guint i = 0; i < p->results->len; i++)
    if (p->checks[i].pending)
      {
        p->checks[i].pending = FALSE;
        ((PunchUdpProbeResult *) p->results->pdata[i])->verdict = PUNCH_UDP_VERDICT_UNREACHABLE;
      }
  p->n_pending = 0;
  probe_reply (p, punch_udp_probe_response_encode (p->results, TRUE, NULL));
}

static void
probe_send_pending (Probe *p)
{
  for (guint i = 0; i < p->results->len; i++)
    {
      PunchUdpProbeTarget *target = p->request->targets->pdata[i];
      g_autoptr(GError) error = NULL;

      if (!p->checks[i].pending)
        continue;
      if (g_socket_send_to (p->socket, G_SOCKET_ADDRESS (target->address),
                            (const gchar *) p->checks[i].packet, p->checks[i].len,
                            NULL, &error) < 0)
        g_debug ("udp probe: sending a check: %s", error->message);
      else
        p->service->checks_sent++;
    }
}

static gboolean
on_probe_tick (gpointer user_data)
{
  Probe *p = user_data;

  p->attempt++;
  if (p->attempt >= PUNCH_UDP_PROBE_ATTEMPTS)
    {
      probe_finish (p);
      return G_SOURCE_REMOVE;
    }
  probe_send_pending (p);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_probe_socket (GSocket      *socket,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  Probe *p = user_data;

  /* Bounded: at most a few datagrams per check can be in the queue. */
  for (guint n = 0; n < 64; n++)
    {
      guint8 buf[PUNCH_STUN_MAX_MESSAGE_LEN + 1];
      guint8 tid[PUNCH_STUN_TRANSACTION_ID_LEN];
      g_autoptr(GSocketAddress) from = NULL;
      g_autoptr(GError) error = NULL;
      PunchStunCheckAnswer answer;
      gssize len;

      len = g_socket_receive_from (socket, &from, (gchar *) buf, sizeof buf, NULL, &error);
      if (len < 0)
        break;
      if (!punch_stun_checker_process (p->checker, buf, (gsize) len, tid, &answer, &error))
        {
          /* libnice's own triggered checks back to us land here too. */
          g_debug ("udp probe: ignoring a datagram: %s", error->message);
          continue;
        }
      for (guint i = 0; i < p->results->len; i++)
        {
          PunchUdpProbeResult *result = p->results->pdata[i];

          if (!p->checks[i].pending ||
              memcmp (p->checks[i].transaction_id, tid, sizeof tid) != 0)
            continue;
          g_debug ("udp probe: candidate %u answered (%s)", result->id,
                   answer == PUNCH_STUN_CHECK_SUCCESS ? "success" : "role conflict");
          p->checks[i].pending = FALSE;
          p->n_pending--;
          result->verdict = PUNCH_UDP_VERDICT_REACHABLE;
          if (G_IS_INET_SOCKET_ADDRESS (from))
            result->observed = G_INET_SOCKET_ADDRESS (g_object_ref (from));
          break;
        }
      if (p->n_pending == 0)
        {
          probe_finish (p);
          return G_SOURCE_REMOVE;
        }
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
target_allowed (Probe              *p,
                PunchUdpProbeTarget *target)
{
  GInetAddress *ip = g_inet_socket_address_get_address (target->address);
  PunchMultiaddrScope scope;

  /* The amplification rule: only the IP the request came from. */
  if (!g_inet_address_equal (ip, p->observed_ip))
    return FALSE;
  if (p->service->allow_private)
    return TRUE;
  /* Documentation ranges never route on the internet: the NAT lab uses
   * them as its public addresses. */
  scope = punch_inet_address_get_scope (ip, PUNCH_MULTIADDR_SCOPE_FLAGS_DOCUMENTATION_IS_PUBLIC);
  return scope == PUNCH_MULTIADDR_SCOPE_PUBLIC;
}

static void
probe_start (Probe *p)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) any = NULL;
  g_autoptr(GSocketAddress) bind_address = NULL;
  g_autofree gchar *username = NULL;
  GSocketFamily family = g_inet_address_get_family (p->observed_ip);
  guint n = p->request->targets->len;

  p->results = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_udp_probe_result_free);
  p->checks = g_new0 (Check, n);
  username = g_strdup_printf ("%s:%s", p->request->ufrag, p->request->remote_ufrag);
  p->checker = punch_stun_checker_new (username, p->request->pwd);

  for (guint i = 0; i < n; i++)
    {
      PunchUdpProbeTarget *target = p->request->targets->pdata[i];
      PunchUdpProbeResult *result = g_new0 (PunchUdpProbeResult, 1);

      result->id = target->id;
      result->verdict = PUNCH_UDP_VERDICT_REFUSED;
      g_ptr_array_add (p->results, result);
      if (!target_allowed (p, target))
        continue;
      p->checks[i].len = punch_stun_checker_build (p->checker, CHECK_PRIORITY,
                                                   p->checks[i].packet,
                                                   sizeof p->checks[i].packet,
                                                   p->checks[i].transaction_id);
      if (p->checks[i].len == 0)
        continue;
      p->checks[i].pending = TRUE;
      p->n_pending++;
    }

  if (p->n_pending == 0)
    {
      probe_reply (p, punch_udp_probe_response_encode (p->results, TRUE, NULL));
      return;
    }

  /* A fresh socket on a new ephemeral port: the client has never sent
   * to it, so its NAT holds no mapping that would let the check in. */
  p->socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  any = g_inet_address_new_any (family);
  bind_address = g_inet_socket_address_new (any, 0);
  if (p->socket == NULL || !g_socket_bind (p->socket, bind_address, FALSE, &error))
    {
      g_debug ("udp probe: creating the probe socket: %s", error->message);
      g_clear_pointer (&p->results, g_ptr_array_unref);
      p->results = g_ptr_array_new ();
      probe_reply (p, punch_udp_probe_response_encode (p->results, FALSE, "no UDP socket"));
      return;
    }
  g_socket_set_blocking (p->socket, FALSE);
  p->socket_source = g_socket_create_source (p->socket, G_IO_IN, NULL);
  g_source_set_callback (p->socket_source, G_SOURCE_FUNC (on_probe_socket), p, NULL);
  g_source_attach (p->socket_source, g_main_context_get_thread_default ());

  p->timer = g_timeout_source_new (PUNCH_UDP_PROBE_INTERVAL_MS);
  g_source_set_callback (p->timer, on_probe_tick, p, NULL);
  g_source_attach (p->timer, g_main_context_get_thread_default ());

  p->attempt = 0;
  probe_send_pending (p);
}

static void
on_request_read (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Probe *p = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  PunchConnection *connection;
  PunchMultiaddr *remote;

  if (p->timer != NULL)
    {
      g_source_destroy (p->timer);
      g_clear_pointer (&p->timer, g_source_unref);
    }

  bytes = punch_framing_read_finish (G_INPUT_STREAM (source), result, &error);
  if (bytes == NULL)
    {
      g_debug ("udp probe: reading the request: %s", error->message);
      if (g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE))
        {
          probe_reply (p, punch_udp_probe_response_encode (NULL, FALSE, error->message));
          return;
        }
      punch_stream_reset (p->stream);
      probe_free (p);
      return;
    }

  p->request = punch_udp_probe_request_decode (g_bytes_get_data (bytes, NULL),
                                               g_bytes_get_size (bytes), &error);
  if (p->request == NULL)
    {
      g_debug ("udp probe: bad request: %s", error->message);
      probe_reply (p, punch_udp_probe_response_encode (NULL, FALSE, error->message));
      return;
    }

  connection = punch_stream_get_connection (p->stream);
  if (punch_connection_is_limited (connection))
    {
      probe_reply (p, punch_udp_probe_response_encode (NULL, FALSE,
                                                       "not served over a relayed connection"));
      return;
    }
  remote = punch_connection_get_remote_address (connection);
  p->observed_ip = remote != NULL ? punch_multiaddr_get_inet_address (remote) : NULL;
  if (p->observed_ip == NULL)
    {
      probe_reply (p, punch_udp_probe_response_encode (NULL, FALSE,
                                                       "the connection has no IP address"));
      return;
    }

  if (p->service->n_active >= PUNCH_UDP_PROBE_MAX_CONCURRENT)
    {
      g_autoptr(GPtrArray) none = g_ptr_array_new ();

      probe_reply (p, punch_udp_probe_response_encode (none, FALSE, "busy"));
      return;
    }
  p->service->n_active++;
  p->active = TRUE;
  probe_start (p);
}

static gboolean
on_request_timeout (gpointer user_data)
{
  Probe *p = user_data;

  g_debug ("udp probe: no request within %d ms", PUNCH_UDP_PROBE_REQUEST_TIMEOUT_MS);
  g_cancellable_cancel (p->cancellable);
  return G_SOURCE_CONTINUE;
}

static void
handle_probe_stream (PunchHost   *host,
                     PunchStream *stream,
                     gpointer     user_data)
{
  PunchUdpProbeService *self = user_data;
  Probe *p = g_new0 (Probe, 1);

  p->service = g_object_ref (self);
  p->stream = g_object_ref (stream);
  p->cancellable = g_cancellable_new ();
  p->timer = g_timeout_source_new (PUNCH_UDP_PROBE_REQUEST_TIMEOUT_MS);
  g_source_set_callback (p->timer, on_request_timeout, p, NULL);
  g_source_attach (p->timer, g_main_context_get_thread_default ());
  punch_framing_read_async (g_io_stream_get_input_stream (G_IO_STREAM (stream)),
                            PUNCH_UDP_PROBE_MAX_MESSAGE_SIZE, G_PRIORITY_DEFAULT,
                            p->cancellable, on_request_read, p);
}

static void
punch_udp_probe_service_dispose (GObject *object)
{
  PunchUdpProbeService *self = PUNCH_UDP_PROBE_SERVICE (object);
  g_autoptr(PunchHost) host = g_weak_ref_get (&self->host);

  if (host != NULL)
    punch_host_remove_stream_handler (host, PUNCH_UDP_PROBE_PROTOCOL_ID);
  g_weak_ref_set (&self->host, NULL);

  G_OBJECT_CLASS (punch_udp_probe_service_parent_class)->dispose (object);
}

static void
punch_udp_probe_service_finalize (GObject *object)
{
  PunchUdpProbeService *self = PUNCH_UDP_PROBE_SERVICE (object);

  g_weak_ref_clear (&self->host);

  G_OBJECT_CLASS (punch_udp_probe_service_parent_class)->finalize (object);
}

static void
punch_udp_probe_service_class_init (PunchUdpProbeServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = punch_udp_probe_service_dispose;
  object_class->finalize = punch_udp_probe_service_finalize;
}

static void
punch_udp_probe_service_init (PunchUdpProbeService *self)
{
  g_weak_ref_init (&self->host, NULL);
}

/**
 * punch_udp_probe_service_new:
 * @host: the host to serve on
 *
 * Registers the `/punch/autonat/udp/1.0.0` handler on @host.  The
 * handler is removed when the service is disposed; probes under way keep
 * the service alive until they have answered.  Private and loopback
 * candidates are refused until punch_udp_probe_service_set_allow_private().
 *
 * Returns: (transfer full): the service
 */
PunchUdpProbeService *
punch_udp_probe_service_new (PunchHost *host)
{
  PunchUdpProbeService *self;

  g_return_val_if_fail (PUNCH_IS_HOST (host), NULL);

  self = g_object_new (PUNCH_TYPE_UDP_PROBE_SERVICE, NULL);
  g_weak_ref_set (&self->host, host);
  punch_host_set_stream_handler (host, PUNCH_UDP_PROBE_PROTOCOL_ID, handle_probe_stream,
                                 self, NULL);
  return self;
}

/**
 * punch_udp_probe_service_set_allow_private:
 * @self: a service
 * @allow_private: whether to check candidates on private, loopback and
 *   other non-public addresses
 *
 * For the NAT lab and loopback tests.  The rule that a candidate's IP
 * must equal the requester's observed IP holds either way.
 */
void
punch_udp_probe_service_set_allow_private (PunchUdpProbeService *self,
                                           gboolean              allow_private)
{
  g_return_if_fail (PUNCH_IS_UDP_PROBE_SERVICE (self));

  self->allow_private = !!allow_private;
}

gboolean
punch_udp_probe_service_get_allow_private (PunchUdpProbeService *self)
{
  g_return_val_if_fail (PUNCH_IS_UDP_PROBE_SERVICE (self), FALSE);

  return self->allow_private;
}

/* Connectivity checks sent, retransmissions included. */
guint64
punch_udp_probe_service_get_checks_sent (PunchUdpProbeService *self)
{
  g_return_val_if_fail (PUNCH_IS_UDP_PROBE_SERVICE (self), 0);

  return self->checks_sent;
}

/* Probes between reading their request and writing their response. */
guint
punch_udp_probe_service_get_n_active (PunchUdpProbeService *self)
{
  g_return_val_if_fail (PUNCH_IS_UDP_PROBE_SERVICE (self), 0);

  return self->n_active;
}

/* Client */

typedef struct {
  GPtrArray *candidates;   /* of NiceCandidate, copies */
  PunchStream *stream;
  GBytes *request;
} ClientData;

static void
client_data_free (ClientData *data)
{
  g_clear_pointer (&data->candidates, g_ptr_array_unref);
  g_clear_object (&data->stream);
  g_clear_pointer (&data->request, g_bytes_unref);
  g_free (data);
}

static void
on_client_closed (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  g_object_unref (user_data);
}

static void
on_response_read (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClientData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GPtrArray) ordered = NULL;
  guint n = data->candidates->len;

  bytes = punch_framing_read_finish (G_INPUT_STREAM (source), result, &error);
  if (bytes == NULL)
    {
      punch_stream_reset (data->stream);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* The server closes after its response: close ours (no wait needed). */
  g_io_stream_close_async (G_IO_STREAM (data->stream), G_PRIORITY_DEFAULT, NULL,
                           on_client_closed, g_object_ref (data->stream));

  results = punch_udp_probe_response_decode (g_bytes_get_data (bytes, NULL),
                                             g_bytes_get_size (bytes), &error);
  if (results == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* One result per candidate, by id (the candidate's index). */
  ordered = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_udp_probe_result_free);
  g_ptr_array_set_size (ordered, n);
  for (guint i = 0; i < results->len; i++)
    {
      PunchUdpProbeResult *r = results->pdata[i];

      if (r->id >= n || ordered->pdata[r->id] != NULL)
        {
          g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                                   "the server's result for candidate %u is unexpected", r->id);
          return;
        }
      /* Moved: @results' free function skips the NULL left behind. */
      ordered->pdata[r->id] = r;
      results->pdata[i] = NULL;
      r->candidate = nice_candidate_copy (data->candidates->pdata[r->id]);
    }
  for (guint i = 0; i < n; i++)
    if (ordered->pdata[i] == NULL)
      {
        g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                                 "the server gave no result for candidate %u", i);
        return;
      }
  g_task_return_pointer (task, g_steal_pointer (&ordered), (GDestroyNotify) g_ptr_array_unref);
}

static void
on_request_written (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClientData *data = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr(GError) error = NULL;

  if (!punch_framing_write_finish (G_OUTPUT_STREAM (source), result, &error))
    {
      punch_stream_reset (data->stream);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (!punch_stream_close_write (data->stream, &error))
    g_debug ("udp probe: closing our side: %s", error->message);
  punch_framing_read_async (g_io_stream_get_input_stream (G_IO_STREAM (data->stream)),
                            PUNCH_UDP_PROBE_MAX_MESSAGE_SIZE, G_PRIORITY_DEFAULT,
                            cancellable, on_response_read,
                            g_steal_pointer (&task));
}

static void
on_client_stream (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClientData *data = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr(GError) error = NULL;

  data->stream = punch_host_new_stream_finish (PUNCH_HOST (source), result, &error);
  if (data->stream == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  punch_framing_write_async (g_io_stream_get_output_stream (G_IO_STREAM (data->stream)),
                             data->request, G_PRIORITY_DEFAULT,
                             cancellable, on_request_written,
                             g_steal_pointer (&task));
}

static gchar *
random_ufrag (void)
{
  static const gchar chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  gchar *ufrag = g_new (gchar, REMOTE_UFRAG_LEN + 1);

  for (guint i = 0; i < REMOTE_UFRAG_LEN; i++)
    ufrag[i] = chars[g_random_int_range (0, sizeof chars - 1)];
  ufrag[REMOTE_UFRAG_LEN] = '\0';
  return ufrag;
}

/**
 * punch_udp_probe_async:
 * @host: the host with an open connection to @server
 * @server: the peer running the service
 * @agent: the libnice agent that gathered @candidates
 * @stream_id: the agent's stream they belong to
 * @candidates: (element-type NiceCandidate): 1 to
 *   %PUNCH_UDP_PROBE_MAX_CANDIDATES UDP candidates of @stream_id
 * @cancellable: (nullable): a #GCancellable; the probe itself sets no
 *   time limit beyond the server's (about 1.5 s once the request is in),
 *   so callers bound it with this
 * @callback: (scope async): called with the verdicts
 * @user_data: (closure): data for @callback
 *
 * Asks @server to prove each candidate reachable with an ICE check sent
 * from a port we never sent to (doc/autonat-udp.md).  The agent must keep
 * running in its main context meanwhile: libnice answers the checks.  Use
 * a stream made for the probe and keep the agent in the controlled role
 * if possible (a controlling agent answers 487, which also counts, but the
 * server becomes a peer-reflexive remote candidate of the stream either
 * way).
 */
void
punch_udp_probe_async (PunchHost           *host,
                       PunchPeerId         *server,
                       NiceAgent           *agent,
                       guint                stream_id,
                       GPtrArray           *candidates,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  static const gchar * const protocols[] = { PUNCH_UDP_PROBE_PROTOCOL_ID, NULL };
  g_autoptr(GTask) task = NULL;
  g_autoptr(PunchUdpProbeRequest) request = NULL;
  ClientData *data;

  g_return_if_fail (PUNCH_IS_HOST (host));
  g_return_if_fail (server != NULL);
  g_return_if_fail (NICE_IS_AGENT (agent));
  g_return_if_fail (candidates != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (host, cancellable, callback, user_data);
  g_task_set_source_tag (task, punch_udp_probe_async);
  data = g_new0 (ClientData, 1);
  data->candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) nice_candidate_free);
  g_task_set_task_data (task, data, (GDestroyNotify) client_data_free);

  if (candidates->len == 0 || candidates->len > PUNCH_UDP_PROBE_MAX_CANDIDATES)
    {
      g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_FAILED,
                               "%u candidates to probe (1 to %d allowed)",
                               candidates->len, PUNCH_UDP_PROBE_MAX_CANDIDATES);
      return;
    }

  request = g_new0 (PunchUdpProbeRequest, 1);
  if (!nice_agent_get_local_credentials (agent, stream_id, &request->ufrag, &request->pwd))
    {
      g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_FAILED,
                               "the agent has no stream %u", stream_id);
      return;
    }
  request->remote_ufrag = random_ufrag ();
  request->targets = g_ptr_array_new_with_free_func ((GDestroyNotify) target_free);
  for (guint i = 0; i < candidates->len; i++)
    {
      NiceCandidate *candidate = candidates->pdata[i];
      struct sockaddr_storage native;
      PunchUdpProbeTarget *target;
      GSocketAddress *address;

      if (candidate->transport != NICE_CANDIDATE_TRANSPORT_UDP)
        {
          g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                                   "candidate %u is not a UDP candidate", i);
          return;
        }
      nice_address_copy_to_sockaddr (&candidate->addr, (struct sockaddr *) &native);
      address = g_socket_address_new_from_native (&native, sizeof native);
      if (!G_IS_INET_SOCKET_ADDRESS (address))
        {
          g_clear_object (&address);
          g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                                   "candidate %u has no IP address", i);
          return;
        }
      target = g_new0 (PunchUdpProbeTarget, 1);
      target->id = i;
      target->address = G_INET_SOCKET_ADDRESS (address);
      g_ptr_array_add (request->targets, target);
      g_ptr_array_add (data->candidates, nice_candidate_copy (candidate));
    }
  data->request = punch_udp_probe_request_encode (request);

  punch_host_new_stream_async (host, server, protocols, cancellable, on_client_stream,
                               g_steal_pointer (&task));
}

/**
 * punch_udp_probe_finish:
 * @host: the host
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Errors: %PUNCH_ERROR_FAILED for bad arguments (no or too many
 * candidates, an unknown stream) or a server failing (busy);
 * %PUNCH_ERROR_UNSUPPORTED for a non-UDP candidate; %PUNCH_ERROR_PROTOCOL
 * when the server refused the request or gave results that do not match
 * the candidates; %PUNCH_ERROR_MALFORMED, %PUNCH_ERROR_TOO_LARGE for a
 * bad response; the errors of punch_host_new_stream_async() (no
 * connection: %PUNCH_ERROR_CLOSED) and of the stream.
 *
 * Returns: (transfer full) (element-type PunchUdpProbeResult): one result
 *   per candidate, in order, or %NULL on error
 */
GPtrArray *
punch_udp_probe_finish (PunchHost     *host,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (PUNCH_IS_HOST (host), NULL);
  g_return_val_if_fail (g_task_is_valid (result, host), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
