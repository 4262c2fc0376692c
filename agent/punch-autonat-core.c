/* punch-autonat-core.c: AutoNAT v1 messages, server policy and client verdicts, sans-I/O.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "punch-autonat-core.h"

#include "autonat.pb-c.h"
#include "punch-error.h"
#include "punch-proto.h"

/* ------------------------------------------------------------------ */
/* Codec                                                              */
/* ------------------------------------------------------------------ */

void
punch_autonat_dial_free (PunchAutonatDial *dial)
{
  if (dial == NULL)
    return;
  g_clear_pointer (&dial->peer_id, punch_peer_id_unref);
  g_clear_pointer (&dial->addrs, g_ptr_array_unref);
  g_free (dial);
}

static gboolean
status_is_known (gint status)
{
  switch (status)
    {
    case PUNCH_AUTONAT_STATUS_OK:
    case PUNCH_AUTONAT_STATUS_DIAL_ERROR:
    case PUNCH_AUTONAT_STATUS_DIAL_REFUSED:
    case PUNCH_AUTONAT_STATUS_BAD_REQUEST:
    case PUNCH_AUTONAT_STATUS_INTERNAL_ERROR:
      return TRUE;
    default:
      return FALSE;
    }
}

/* A copy of @text ("" for NULL) that is valid UTF-8 and at most
 * PUNCH_AUTONAT_MAX_STATUS_TEXT bytes, cut at a character boundary: what
 * a server's status text may become in messages and errors (protobuf-c
 * checks neither encoding nor length). */
gchar *
punch_autonat_sanitize_text (const gchar *text,
                             gssize       len)
{
  g_autofree gchar *valid = NULL;
  const gchar *end;

  if (text == NULL)
    return g_strdup ("");
  valid = g_utf8_make_valid (text, len);
  if (strlen (valid) <= PUNCH_AUTONAT_MAX_STATUS_TEXT)
    return g_steal_pointer (&valid);
  end = g_utf8_find_prev_char (valid, valid + PUNCH_AUTONAT_MAX_STATUS_TEXT + 1);
  return g_strndup (valid, end - valid);
}

PunchAutonatResult *
punch_autonat_result_new (PunchAutonatStatus  status,
                          const gchar        *status_text,
                          PunchMultiaddr     *address)
{
  PunchAutonatResult *result = g_new0 (PunchAutonatResult, 1);

  g_atomic_ref_count_init (&result->ref_count);
  result->status = status;
  result->status_text = punch_autonat_sanitize_text (status_text, -1);
  result->address = address != NULL ? punch_multiaddr_ref (address) : NULL;
  return result;
}

GBytes *
punch_autonat_encode_dial (PunchPeerId  *peer_id,
                           GPtrArray    *addrs,
                           GError      **error)
{
  Autonat__Pb__Message message = AUTONAT__PB__MESSAGE__INIT;
  Autonat__Pb__Message__Dial dial = AUTONAT__PB__MESSAGE__DIAL__INIT;
  Autonat__Pb__Message__PeerInfo peer = AUTONAT__PB__MESSAGE__PEER_INFO__INIT;
  g_autoptr(GBytes) id = NULL;
  g_autofree ProtobufCBinaryData *bins = NULL;
  g_autoptr(GBytes) out = NULL;
  guint n = addrs != NULL ? addrs->len : 0;

  g_return_val_if_fail (peer_id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (n > PUNCH_AUTONAT_MAX_ADDRS)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "an AutoNAT Dial carries at most %d addresses, not %u",
                   PUNCH_AUTONAT_MAX_ADDRS, n);
      return NULL;
    }

  id = punch_peer_id_get_bytes (peer_id);
  peer.has_id = TRUE;
  peer.id.data = (guint8 *) g_bytes_get_data (id, &peer.id.len);
  bins = g_new0 (ProtobufCBinaryData, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    bins[i].data = (guint8 *) punch_multiaddr_get_data (addrs->pdata[i], &bins[i].len);
  peer.n_addrs = n;
  peer.addrs = bins;
  dial.peer = &peer;
  message.has_type = TRUE;
  message.type = AUTONAT__PB__MESSAGE__MESSAGE_TYPE__DIAL;
  message.dial = &dial;

  out = punch_proto_pack (&message.base);
  if (g_bytes_get_size (out) > PUNCH_AUTONAT_MAX_MESSAGE_SIZE)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "the AutoNAT Dial takes %" G_GSIZE_FORMAT " bytes, more than %d",
                   g_bytes_get_size (out), PUNCH_AUTONAT_MAX_MESSAGE_SIZE);
      return NULL;
    }
  return g_steal_pointer (&out);
}

GBytes *
punch_autonat_encode_dial_response (PunchAutonatStatus  status,
                                    const gchar        *status_text,
                                    PunchMultiaddr     *address)
{
  Autonat__Pb__Message message = AUTONAT__PB__MESSAGE__INIT;
  Autonat__Pb__Message__DialResponse response = AUTONAT__PB__MESSAGE__DIAL_RESPONSE__INIT;
  g_autofree gchar *text = NULL;

  g_return_val_if_fail (status_is_known (status), NULL);

  response.has_status = TRUE;
  response.status = (Autonat__Pb__Message__ResponseStatus) status;
  if (status_text != NULL && *status_text != '\0')
    {
      text = punch_autonat_sanitize_text (status_text, -1);
      response.statustext = text;
    }
  if (address != NULL)
    {
      response.has_addr = TRUE;
      response.addr.data = (guint8 *) punch_multiaddr_get_data (address, &response.addr.len);
    }
  message.has_type = TRUE;
  message.type = AUTONAT__PB__MESSAGE__MESSAGE_TYPE__DIAL_RESPONSE;
  message.dialresponse = &response;

  /* At most a 256-byte text and one address: always under the limit. */
  return punch_proto_pack (&message.base);
}

static Autonat__Pb__Message *
unpack_message (const guint8                     *data,
                gsize                             len,
                Autonat__Pb__Message__MessageType expected,
                GError                          **error)
{
  Autonat__Pb__Message *message;

  message = (Autonat__Pb__Message *) punch_proto_unpack (&autonat__pb__message__descriptor,
                                                         data, len,
                                                         PUNCH_AUTONAT_MAX_MESSAGE_SIZE,
                                                         error);
  if (message == NULL)
    return NULL;

  if (!message->has_type)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "AutoNAT message without a type");
      punch_proto_free (&message->base);
      return NULL;
    }
  if (message->type != expected)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                   "AutoNAT message of type %d where %s was expected", (gint) message->type,
                   expected == AUTONAT__PB__MESSAGE__MESSAGE_TYPE__DIAL ? "DIAL" : "DIAL_RESPONSE");
      punch_proto_free (&message->base);
      return NULL;
    }
  return message;
}

PunchAutonatDial *
punch_autonat_decode_dial (const guint8  *data,
                           gsize          len,
                           GError       **error)
{
  Autonat__Pb__Message *message;
  Autonat__Pb__Message__PeerInfo *peer;
  g_autoptr(PunchAutonatDial) dial = NULL;
  g_autoptr(GBytes) id = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  message = unpack_message (data, len, AUTONAT__PB__MESSAGE__MESSAGE_TYPE__DIAL, error);
  if (message == NULL)
    return NULL;

  if (message->dial == NULL || message->dial->peer == NULL || !message->dial->peer->has_id)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "AutoNAT Dial without a peer id");
      punch_proto_free (&message->base);
      return NULL;
    }
  peer = message->dial->peer;
  if (peer->n_addrs > PUNCH_AUTONAT_MAX_ADDRS)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "AutoNAT Dial with %" G_GSIZE_FORMAT " addresses, more than %d",
                   peer->n_addrs, PUNCH_AUTONAT_MAX_ADDRS);
      punch_proto_free (&message->base);
      return NULL;
    }

  dial = g_new0 (PunchAutonatDial, 1);
  dial->addrs = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);
  id = g_bytes_new (peer->id.data, peer->id.len);
  dial->peer_id = punch_peer_id_new_from_bytes (id, &local_error);
  if (dial->peer_id == NULL)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "AutoNAT Dial with an invalid peer id: %s", local_error->message);
      punch_proto_free (&message->base);
      return NULL;
    }
  for (gsize i = 0; i < peer->n_addrs; i++)
    {
      g_autoptr(GError) addr_error = NULL;
      PunchMultiaddr *addr = punch_multiaddr_new_from_data (peer->addrs[i].data,
                                                            peer->addrs[i].len, &addr_error);

      if (addr == NULL)
        {
          g_debug ("autonat: dropping an invalid address of a Dial: %s", addr_error->message);
          dial->n_invalid++;
          continue;
        }
      g_ptr_array_add (dial->addrs, addr);
    }

  punch_proto_free (&message->base);
  return g_steal_pointer (&dial);
}

PunchAutonatResult *
punch_autonat_decode_dial_response (const guint8  *data,
                                    gsize          len,
                                    GError       **error)
{
  Autonat__Pb__Message *message;
  Autonat__Pb__Message__DialResponse *response;
  g_autoptr(PunchMultiaddr) address = NULL;
  PunchAutonatResult *result;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  message = unpack_message (data, len, AUTONAT__PB__MESSAGE__MESSAGE_TYPE__DIAL_RESPONSE, error);
  if (message == NULL)
    return NULL;

  response = message->dialresponse;
  if (response == NULL || !response->has_status)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "AutoNAT DialResponse without a status");
      punch_proto_free (&message->base);
      return NULL;
    }
  if (!status_is_known (response->status))
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "AutoNAT DialResponse with the unknown status %d", (gint) response->status);
      punch_proto_free (&message->base);
      return NULL;
    }
  if (response->has_addr)
    {
      g_autoptr(GError) addr_error = NULL;

      address = punch_multiaddr_new_from_data (response->addr.data, response->addr.len,
                                               &addr_error);
      if (address == NULL)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "AutoNAT DialResponse with an invalid address: %s", addr_error->message);
          punch_proto_free (&message->base);
          return NULL;
        }
    }

  result = punch_autonat_result_new ((PunchAutonatStatus) response->status,
                                     response->statustext, address);
  punch_proto_free (&message->base);
  return result;
}

/* ------------------------------------------------------------------ */
/* Server policy                                                      */
/* ------------------------------------------------------------------ */

void
punch_autonat_server_config_init (PunchAutonatServerConfig *config)
{
  g_return_if_fail (config != NULL);

  memset (config, 0, sizeof *config);
  config->allow_private = FALSE;
  config->global_per_minute = PUNCH_AUTONAT_DEFAULT_GLOBAL_PER_MINUTE;
  config->peer_per_minute = PUNCH_AUTONAT_DEFAULT_PEER_PER_MINUTE;
  config->max_concurrent = PUNCH_AUTONAT_DEFAULT_MAX_CONCURRENT;
  config->dial_timeout_ms = PUNCH_AUTONAT_DEFAULT_DIAL_TIMEOUT_MS;
  config->max_dial_addrs = PUNCH_AUTONAT_DEFAULT_MAX_DIAL_ADDRS;
}

typedef enum {
  DROP_CIRCUIT,
  DROP_NOT_TCP,
  DROP_OTHER_PEER,
  DROP_OTHER_IP,
  DROP_NOT_PUBLIC,
  DROP_BAD_PORT,
  DROP_DUPLICATE,
  DROP_OVER_LIMIT,
  N_DROP_REASONS
} DropReason;

static const gchar * const drop_reason_text[N_DROP_REASONS] = {
  [DROP_CIRCUIT] = "relayed",
  [DROP_NOT_TCP] = "not TCP",
  [DROP_OTHER_PEER] = "for another peer",
  [DROP_OTHER_IP] = "not on the observed IP",
  [DROP_NOT_PUBLIC] = "not public",
  [DROP_BAD_PORT] = "port 0",
  [DROP_DUPLICATE] = "duplicate",
  [DROP_OVER_LIMIT] = "over the limit",
};

/* The dialable form of @addr (`/ipX/IP/tcp/PORT`), or NULL with
 * *reason set. */
static PunchMultiaddr *
dialable_address (PunchMultiaddr *addr,
                  PunchPeerId    *requester,
                  GInetAddress   *observed_ip,
                  gboolean        allow_private,
                  DropReason     *reason)
{
  guint n = punch_multiaddr_get_n_components (addr);
  PunchMultiaddrProtocol first;
  g_autoptr(GInetAddress) ip = NULL;
  g_autofree gchar *port = NULL;
  g_autoptr(GSocketAddress) sockaddr = NULL;

  if (punch_multiaddr_find_protocol (addr, PUNCH_MULTIADDR_PROTOCOL_P2P_CIRCUIT) >= 0)
    {
      *reason = DROP_CIRCUIT;
      return NULL;
    }

  first = n > 0 ? punch_multiaddr_get_protocol (addr, 0) : 0;
  if (n < 2 || n > 3 ||
      (first != PUNCH_MULTIADDR_PROTOCOL_IP4 && first != PUNCH_MULTIADDR_PROTOCOL_IP6) ||
      punch_multiaddr_get_protocol (addr, 1) != PUNCH_MULTIADDR_PROTOCOL_TCP ||
      (n == 3 && punch_multiaddr_get_protocol (addr, 2) != PUNCH_MULTIADDR_PROTOCOL_P2P))
    {
      *reason = DROP_NOT_TCP;
      return NULL;
    }
  if (n == 3)
    {
      g_autoptr(PunchPeerId) peer = punch_multiaddr_get_peer_id (addr);

      if (peer == NULL || !punch_peer_id_equal (peer, requester))
        {
          *reason = DROP_OTHER_PEER;
          return NULL;
        }
    }

  /* RFC 3489 12.1.1: never an IP other than the one the requester was
   * seen at. */
  ip = punch_multiaddr_get_inet_address (addr);
  if (ip == NULL || observed_ip == NULL || !g_inet_address_equal (ip, observed_ip))
    {
      *reason = DROP_OTHER_IP;
      return NULL;
    }

  port = punch_multiaddr_get_value_string (addr, 1);
  if (port == NULL || g_strcmp0 (port, "0") == 0)
    {
      *reason = DROP_BAD_PORT;
      return NULL;
    }

  if (!allow_private &&
      punch_multiaddr_get_scope (addr, PUNCH_MULTIADDR_SCOPE_FLAGS_NONE) != PUNCH_MULTIADDR_SCOPE_PUBLIC)
    {
      *reason = DROP_NOT_PUBLIC;
      return NULL;
    }

  sockaddr = punch_multiaddr_to_inet_socket_address (addr, NULL, NULL);
  if (sockaddr == NULL)
    {
      *reason = DROP_NOT_TCP;
      return NULL;
    }
  return punch_multiaddr_new_from_inet_socket_address (G_INET_SOCKET_ADDRESS (sockaddr),
                                                       PUNCH_MULTIADDR_PROTOCOL_TCP);
}

/* @ip, or the IPv4 address of an IPv4-mapped IPv6 address (a dual-stack
 * listener sees IPv4 peers as ::ffff:a.b.c.d). */
static GInetAddress *
unmap_ip (GInetAddress *ip)
{
  static const guint8 prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  const guint8 *bytes;
  GInetAddress *v4;

  if (ip == NULL || g_inet_address_get_family (ip) != G_SOCKET_FAMILY_IPV6)
    return ip;
  bytes = g_inet_address_to_bytes (ip);
  if (memcmp (bytes, prefix, sizeof prefix) != 0)
    return ip;
  v4 = g_inet_address_new_from_bytes (bytes + 12, G_SOCKET_FAMILY_IPV4);
  g_object_unref (ip);
  return v4;
}

GPtrArray *
punch_autonat_filter_addrs (GPtrArray      *addrs,
                            PunchPeerId    *requester,
                            PunchMultiaddr *observed,
                            gboolean        allow_private,
                            guint           max_addrs,
                            gchar         **out_reason)
{
  g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);
  g_autoptr(GInetAddress) observed_ip = NULL;
  guint counts[N_DROP_REASONS] = { 0 };

  g_return_val_if_fail (requester != NULL, NULL);
  g_return_val_if_fail (observed != NULL, NULL);

  /* Over a relayed connection the address's IP is the relay's: there is
   * no observed IP of the requester then. */
  if (punch_multiaddr_find_protocol (observed, PUNCH_MULTIADDR_PROTOCOL_P2P_CIRCUIT) < 0)
    observed_ip = unmap_ip (punch_multiaddr_get_inet_address (observed));

  for (guint i = 0; addrs != NULL && i < addrs->len; i++)
    {
      DropReason reason = DROP_NOT_TCP;
      g_autoptr(PunchMultiaddr) dialable = dialable_address (addrs->pdata[i], requester,
                                                             observed_ip, allow_private,
                                                             &reason);

      if (dialable == NULL)
        {
          counts[reason]++;
          continue;
        }
      if (g_ptr_array_find_with_equal_func (keep, dialable, punch_multiaddr_equal, NULL))
        {
          counts[DROP_DUPLICATE]++;
          continue;
        }
      if (keep->len >= max_addrs)
        {
          counts[DROP_OVER_LIMIT]++;
          continue;
        }
      g_ptr_array_add (keep, g_steal_pointer (&dialable));
    }

  if (out_reason != NULL)
    {
      *out_reason = NULL;
      if (keep->len == 0)
        {
          GString *text = g_string_new ("no address to dial");
          gboolean first = TRUE;

          if (observed_ip == NULL)
            g_string_append (text, ": the requester has no observed IP (relayed?)");
          for (guint r = 0; r < N_DROP_REASONS; r++)
            {
              if (counts[r] == 0)
                continue;
              g_string_append_printf (text, "%s%u %s", first ? " (" : ", ", counts[r],
                                      drop_reason_text[r]);
              first = FALSE;
            }
          if (!first)
            g_string_append_c (text, ')');
          *out_reason = g_string_free (text, FALSE);
        }
    }

  return g_steal_pointer (&keep);
}

struct _PunchAutonatServer {
  PunchAutonatServerConfig config;
  GArray *global;        /* gint64: times of admitted requests, oldest first */
  GHashTable *peers;     /* PunchPeerId -> GArray of gint64, oldest first */
  guint n_active;
};

PunchAutonatServer *
punch_autonat_server_new (const PunchAutonatServerConfig *config)
{
  PunchAutonatServer *self = g_new0 (PunchAutonatServer, 1);

  if (config != NULL)
    self->config = *config;
  else
    punch_autonat_server_config_init (&self->config);
  self->global = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->peers = g_hash_table_new_full (punch_peer_id_hash, punch_peer_id_equal,
                                       (GDestroyNotify) punch_peer_id_unref,
                                       (GDestroyNotify) g_array_unref);
  return self;
}

void
punch_autonat_server_free (PunchAutonatServer *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->global, g_array_unref);
  g_clear_pointer (&self->peers, g_hash_table_unref);
  g_free (self);
}

const PunchAutonatServerConfig *
punch_autonat_server_get_config (PunchAutonatServer *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return &self->config;
}

void
punch_autonat_server_set_config (PunchAutonatServer             *self,
                                 const PunchAutonatServerConfig *config)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (config != NULL);
  self->config = *config;
}

/* Drops the times of @times that are out of the window ending at @now_us. */
static void
prune_times (GArray *times,
             gint64  now_us)
{
  guint n = 0;

  while (n < times->len && g_array_index (times, gint64, n) <= now_us - PUNCH_AUTONAT_RATE_WINDOW_US)
    n++;
  if (n > 0)
    g_array_remove_range (times, 0, n);
}

static void
prune_rates (PunchAutonatServer *self,
             gint64              now_us)
{
  GHashTableIter iter;
  gpointer value;

  prune_times (self->global, now_us);
  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      prune_times (value, now_us);
      if (((GArray *) value)->len == 0)
        g_hash_table_iter_remove (&iter);
    }
}

PunchAutonatStatus
punch_autonat_server_handle_request (PunchAutonatServer *self,
                                     const guint8       *data,
                                     gsize               len,
                                     PunchPeerId        *requester,
                                     PunchMultiaddr     *observed,
                                     gint64              now_us,
                                     GPtrArray         **out_addrs,
                                     gchar             **out_text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchAutonatDial) dial = NULL;
  g_autoptr(GPtrArray) addrs = NULL;
  g_autofree gchar *reason = NULL;
  GArray *peer_times;

  g_return_val_if_fail (self != NULL, PUNCH_AUTONAT_STATUS_INTERNAL_ERROR);
  g_return_val_if_fail (requester != NULL, PUNCH_AUTONAT_STATUS_INTERNAL_ERROR);
  g_return_val_if_fail (observed != NULL, PUNCH_AUTONAT_STATUS_INTERNAL_ERROR);
  g_return_val_if_fail (out_addrs != NULL && out_text != NULL, PUNCH_AUTONAT_STATUS_INTERNAL_ERROR);

  *out_addrs = NULL;
  *out_text = NULL;

  dial = punch_autonat_decode_dial (data, len, &error);
  if (dial == NULL)
    {
      *out_text = g_strdup_printf ("bad request: %s", error->message);
      return PUNCH_AUTONAT_STATUS_BAD_REQUEST;
    }
  if (!punch_peer_id_equal (dial->peer_id, requester))
    {
      *out_text = g_strdup ("peer id mismatch");
      return PUNCH_AUTONAT_STATUS_BAD_REQUEST;
    }

  addrs = punch_autonat_filter_addrs (dial->addrs, requester, observed,
                                      self->config.allow_private,
                                      self->config.max_dial_addrs, &reason);
  if (addrs->len == 0)
    {
      *out_text = g_steal_pointer (&reason);
      return PUNCH_AUTONAT_STATUS_DIAL_REFUSED;
    }

  prune_rates (self, now_us);
  if (self->config.max_concurrent > 0 && self->n_active >= self->config.max_concurrent)
    {
      *out_text = g_strdup ("too many dial-backs at once");
      return PUNCH_AUTONAT_STATUS_DIAL_REFUSED;
    }
  if (self->config.global_per_minute > 0 && self->global->len >= self->config.global_per_minute)
    {
      *out_text = g_strdup ("too many requests");
      return PUNCH_AUTONAT_STATUS_DIAL_REFUSED;
    }
  peer_times = g_hash_table_lookup (self->peers, requester);
  if (self->config.peer_per_minute > 0 && peer_times != NULL &&
      peer_times->len >= self->config.peer_per_minute)
    {
      *out_text = g_strdup ("too many requests from this peer");
      return PUNCH_AUTONAT_STATUS_DIAL_REFUSED;
    }

  if (peer_times == NULL)
    {
      peer_times = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_hash_table_insert (self->peers, punch_peer_id_ref (requester), peer_times);
    }
  g_array_append_val (peer_times, now_us);
  g_array_append_val (self->global, now_us);
  self->n_active++;

  *out_addrs = g_steal_pointer (&addrs);
  return PUNCH_AUTONAT_STATUS_OK;
}

void
punch_autonat_server_dial_done (PunchAutonatServer *self)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (self->n_active > 0);
  self->n_active--;
}

guint
punch_autonat_server_get_n_active (PunchAutonatServer *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->n_active;
}

/* ------------------------------------------------------------------ */
/* Client verdicts                                                    */
/* ------------------------------------------------------------------ */

void
punch_autonat_tracker_config_init (PunchAutonatTrackerConfig *config)
{
  g_return_if_fail (config != NULL);

  memset (config, 0, sizeof *config);
  config->threshold = PUNCH_AUTONAT_DEFAULT_THRESHOLD;
  config->addr_threshold = PUNCH_AUTONAT_DEFAULT_ADDR_THRESHOLD;
  config->max_confidence = PUNCH_AUTONAT_DEFAULT_MAX_CONFIDENCE;
  config->vote_ttl_us = PUNCH_AUTONAT_DEFAULT_VOTE_TTL_US;
}

/* A vote: +1 for public / reachable, -1 for private / unreachable. */
typedef struct {
  gint vote;
  gint64 time_us;
} Vote;

/* The latest vote of each server on one question, and the verdict. */
typedef struct {
  GHashTable *votes;     /* PunchPeerId -> Vote */
  gint verdict;          /* -1, 0, +1 */
  gint64 last_us;        /* last vote, 0 if none */
} Ballot;

static Ballot *
ballot_new (void)
{
  Ballot *b = g_new0 (Ballot, 1);

  b->votes = g_hash_table_new_full (punch_peer_id_hash, punch_peer_id_equal,
                                    (GDestroyNotify) punch_peer_id_unref, g_free);
  return b;
}

static void
ballot_free (Ballot *b)
{
  g_hash_table_unref (b->votes);
  g_free (b);
}

static void
ballot_count (Ballot *b,
              guint  *pos,
              guint  *neg)
{
  GHashTableIter iter;
  gpointer value;

  *pos = *neg = 0;
  g_hash_table_iter_init (&iter, b->votes);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      if (((Vote *) value)->vote > 0)
        (*pos)++;
      else
        (*neg)++;
    }
}

/* Applies the hysteresis rules; returns TRUE if the verdict changed. */
static gboolean
ballot_decide (Ballot *b,
               guint   threshold)
{
  guint pos, neg, support, contrary;
  gint before = b->verdict;

  threshold = MAX (threshold, 1);
  ballot_count (b, &pos, &neg);

  if (b->verdict != 0)
    {
      support = b->verdict > 0 ? pos : neg;
      contrary = b->verdict > 0 ? neg : pos;
      if (contrary >= threshold && contrary > support)
        b->verdict = -b->verdict;
      else if (support == 0)
        b->verdict = 0;
    }
  if (b->verdict == 0)
    {
      if (pos >= threshold && pos > neg)
        b->verdict = 1;
      else if (neg >= threshold && neg > pos)
        b->verdict = -1;
    }
  return b->verdict != before;
}

static guint
ballot_confidence (Ballot *b,
                   guint   max_confidence)
{
  guint pos, neg, support, contrary;

  if (b->verdict == 0)
    return 0;
  ballot_count (b, &pos, &neg);
  support = b->verdict > 0 ? pos : neg;
  contrary = b->verdict > 0 ? neg : pos;
  if (support <= contrary)
    return 0;
  return MIN (support - contrary, max_confidence);
}

static void
ballot_vote (Ballot      *b,
             PunchPeerId *server,
             gint         vote,
             gint64       now_us)
{
  Vote *v = g_hash_table_lookup (b->votes, server);

  if (v == NULL)
    {
      /* Full: the server heard from least recently goes. */
      if (g_hash_table_size (b->votes) >= PUNCH_AUTONAT_MAX_SERVERS)
        {
          GHashTableIter iter;
          gpointer key, value, oldest = NULL;
          gint64 oldest_us = G_MAXINT64;

          g_hash_table_iter_init (&iter, b->votes);
          while (g_hash_table_iter_next (&iter, &key, &value))
            if (((Vote *) value)->time_us < oldest_us)
              {
                oldest_us = ((Vote *) value)->time_us;
                oldest = key;
              }
          g_hash_table_remove (b->votes, oldest);
        }
      v = g_new0 (Vote, 1);
      g_hash_table_insert (b->votes, punch_peer_id_ref (server), v);
    }
  v->vote = vote;
  v->time_us = now_us;
  b->last_us = now_us;
}

static void
ballot_expire (Ballot *b,
               gint64  now_us,
               gint64  ttl_us)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, b->votes);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (now_us - ((Vote *) value)->time_us >= ttl_us)
      g_hash_table_iter_remove (&iter);
}

struct _PunchAutonatTracker {
  PunchAutonatTrackerConfig config;
  Ballot *reachability;
  GHashTable *addrs;     /* PunchMultiaddr (no /p2p) -> Ballot */
};

PunchAutonatTracker *
punch_autonat_tracker_new (const PunchAutonatTrackerConfig *config)
{
  PunchAutonatTracker *self = g_new0 (PunchAutonatTracker, 1);

  if (config != NULL)
    self->config = *config;
  else
    punch_autonat_tracker_config_init (&self->config);
  self->reachability = ballot_new ();
  self->addrs = g_hash_table_new_full (punch_multiaddr_hash, punch_multiaddr_equal,
                                       (GDestroyNotify) punch_multiaddr_unref,
                                       (GDestroyNotify) ballot_free);
  return self;
}

void
punch_autonat_tracker_free (PunchAutonatTracker *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->reachability, ballot_free);
  g_clear_pointer (&self->addrs, g_hash_table_unref);
  g_free (self);
}

/* @address without its /p2p part (transfer full, nullable). */
static PunchMultiaddr *
addr_key (PunchMultiaddr *address)
{
  if (punch_multiaddr_find_protocol (address, PUNCH_MULTIADDR_PROTOCOL_P2P) >= 0)
    return punch_multiaddr_decapsulate_protocol (address, PUNCH_MULTIADDR_PROTOCOL_P2P);
  return punch_multiaddr_ref (address);
}

static void
addr_vote (PunchAutonatTracker *self,
           PunchMultiaddr      *address,
           PunchPeerId         *server,
           gint                 vote,
           gint64               now_us)
{
  g_autoptr(PunchMultiaddr) key = addr_key (address);
  Ballot *b;

  if (key == NULL)
    return;
  b = g_hash_table_lookup (self->addrs, key);
  if (b == NULL)
    {
      if (g_hash_table_size (self->addrs) >= PUNCH_AUTONAT_MAX_TRACKED_ADDRS)
        {
          GHashTableIter iter;
          gpointer k, value, oldest = NULL;
          gint64 oldest_us = G_MAXINT64;

          g_hash_table_iter_init (&iter, self->addrs);
          while (g_hash_table_iter_next (&iter, &k, &value))
            if (((Ballot *) value)->last_us < oldest_us)
              {
                oldest_us = ((Ballot *) value)->last_us;
                oldest = k;
              }
          g_hash_table_remove (self->addrs, oldest);
        }
      b = ballot_new ();
      g_hash_table_insert (self->addrs, g_steal_pointer (&key), b);
    }
  ballot_vote (b, server, vote, now_us);
  ballot_decide (b, self->config.addr_threshold);
}

gboolean
punch_autonat_tracker_record (PunchAutonatTracker *self,
                              PunchPeerId         *server,
                              PunchAutonatStatus   status,
                              PunchMultiaddr      *address,
                              GPtrArray           *requested,
                              gint64               now_us)
{
  gboolean changed;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (server != NULL, FALSE);

  changed = punch_autonat_tracker_expire (self, now_us);

  switch (status)
    {
    case PUNCH_AUTONAT_STATUS_OK:
      ballot_vote (self->reachability, server, +1, now_us);
      if (address != NULL)
        addr_vote (self, address, server, +1, now_us);
      break;
    case PUNCH_AUTONAT_STATUS_DIAL_ERROR:
      ballot_vote (self->reachability, server, -1, now_us);
      for (guint i = 0; requested != NULL && i < requested->len; i++)
        addr_vote (self, requested->pdata[i], server, -1, now_us);
      break;
    case PUNCH_AUTONAT_STATUS_DIAL_REFUSED:
    case PUNCH_AUTONAT_STATUS_BAD_REQUEST:
    case PUNCH_AUTONAT_STATUS_INTERNAL_ERROR:
    default:
      /* No evidence either way. */
      return changed;
    }

  if (ballot_decide (self->reachability, self->config.threshold))
    changed = TRUE;
  return changed;
}

gboolean
punch_autonat_tracker_expire (PunchAutonatTracker *self,
                              gint64               now_us)
{
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (self != NULL, FALSE);

  g_hash_table_iter_init (&iter, self->addrs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      ballot_expire (value, now_us, self->config.vote_ttl_us);
      ballot_decide (value, self->config.addr_threshold);
      if (g_hash_table_size (((Ballot *) value)->votes) == 0)
        g_hash_table_iter_remove (&iter);
    }

  ballot_expire (self->reachability, now_us, self->config.vote_ttl_us);
  return ballot_decide (self->reachability, self->config.threshold);
}

PunchReachability
punch_autonat_tracker_get_reachability (PunchAutonatTracker *self)
{
  g_return_val_if_fail (self != NULL, PUNCH_REACHABILITY_UNKNOWN);

  switch (self->reachability->verdict)
    {
    case 1:
      return PUNCH_REACHABILITY_PUBLIC;
    case -1:
      return PUNCH_REACHABILITY_PRIVATE;
    default:
      return PUNCH_REACHABILITY_UNKNOWN;
    }
}

guint
punch_autonat_tracker_get_confidence (PunchAutonatTracker *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return ballot_confidence (self->reachability, self->config.max_confidence);
}

void
punch_autonat_tracker_get_votes (PunchAutonatTracker *self,
                                 guint               *out_public,
                                 guint               *out_private)
{
  guint pos, neg;

  g_return_if_fail (self != NULL);

  ballot_count (self->reachability, &pos, &neg);
  if (out_public != NULL)
    *out_public = pos;
  if (out_private != NULL)
    *out_private = neg;
}

PunchAutonatAddrVerdict
punch_autonat_tracker_get_addr_verdict (PunchAutonatTracker *self,
                                        PunchMultiaddr      *address,
                                        gint64              *out_last_us)
{
  g_autoptr(PunchMultiaddr) key = NULL;
  Ballot *b = NULL;

  g_return_val_if_fail (self != NULL, PUNCH_AUTONAT_ADDR_UNKNOWN);
  g_return_val_if_fail (address != NULL, PUNCH_AUTONAT_ADDR_UNKNOWN);

  key = addr_key (address);
  if (key != NULL)
    b = g_hash_table_lookup (self->addrs, key);
  if (out_last_us != NULL)
    *out_last_us = b != NULL ? b->last_us : 0;
  if (b == NULL || b->verdict == 0)
    return PUNCH_AUTONAT_ADDR_UNKNOWN;
  return b->verdict > 0 ? PUNCH_AUTONAT_ADDR_REACHABLE : PUNCH_AUTONAT_ADDR_UNREACHABLE;
}

GPtrArray *
punch_autonat_tracker_get_reachable_addrs (PunchAutonatTracker *self)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);
  GHashTableIter iter;
  gpointer key, value;

  g_return_val_if_fail (self != NULL, out);

  g_hash_table_iter_init (&iter, self->addrs);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (((Ballot *) value)->verdict > 0)
      g_ptr_array_add (out, punch_multiaddr_ref (key));
  return out;
}
