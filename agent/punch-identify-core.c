/* punch-identify-core.c: identify messages and observed addresses, sans-I/O.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "punch-identify-private.h"

#include "identify.pb-c.h"
#include "punch-error.h"
#include "punch-framing-private.h"
#include "punch-multiaddr-private.h"
#include "punch-multistream.h"
#include "punch-proto.h"

/* PunchIdentifyInfo */

PunchIdentifyInfo *
punch_identify_info_new (void)
{
  PunchIdentifyInfo *info = g_new0 (PunchIdentifyInfo, 1);

  g_atomic_ref_count_init (&info->ref_count);
  info->listen_addrs = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);
  info->protocols = g_ptr_array_new_null_terminated (4, g_free, TRUE);
  return info;
}

PunchIdentifyInfo *
punch_identify_info_copy (const PunchIdentifyInfo *info)
{
  PunchIdentifyInfo *copy = punch_identify_info_new ();

  if (info->peer_id != NULL)
    copy->peer_id = punch_peer_id_ref (info->peer_id);
  copy->protocol_version = g_strdup (info->protocol_version);
  copy->agent_version = g_strdup (info->agent_version);
  if (info->public_key != NULL)
    copy->public_key = g_object_ref (info->public_key);
  for (guint i = 0; i < info->listen_addrs->len; i++)
    g_ptr_array_add (copy->listen_addrs, punch_multiaddr_ref (info->listen_addrs->pdata[i]));
  if (info->observed_addr != NULL)
    copy->observed_addr = punch_multiaddr_ref (info->observed_addr);
  for (guint i = 0; i < info->protocols->len; i++)
    g_ptr_array_add (copy->protocols, g_strdup (info->protocols->pdata[i]));
  return copy;
}

void
punch_identify_info_set_peer_id (PunchIdentifyInfo *info,
                                 PunchPeerId       *peer_id)
{
  if (peer_id != NULL)
    punch_peer_id_ref (peer_id);
  g_clear_pointer (&info->peer_id, punch_peer_id_unref);
  info->peer_id = peer_id;
}

static gboolean
has_listen_addr (const PunchIdentifyInfo *info,
                 PunchMultiaddr          *addr)
{
  for (guint i = 0; i < info->listen_addrs->len; i++)
    if (punch_multiaddr_equal (info->listen_addrs->pdata[i], addr))
      return TRUE;
  return FALSE;
}

/* @addr without its trailing /p2p components (every one, so that this
 * is idempotent), or NULL if nothing is left. */
static PunchMultiaddr *
strip_trailing_p2p (PunchMultiaddr *addr)
{
  PunchMultiaddr *bare = punch_multiaddr_ref (addr);
  guint n;

  while (bare != NULL && (n = punch_multiaddr_get_n_components (bare)) > 0 &&
         punch_multiaddr_get_protocol (bare, n - 1) == PUNCH_MULTIADDR_PROTOCOL_P2P)
    {
      PunchMultiaddr *shorter = punch_multiaddr_decapsulate_protocol (bare, PUNCH_MULTIADDR_PROTOCOL_P2P);

      punch_multiaddr_unref (bare);
      bare = shorter;
    }
  if (bare != NULL && punch_multiaddr_get_n_components (bare) == 0)
    g_clear_pointer (&bare, punch_multiaddr_unref);
  return bare;
}

/* Adds @addr without its trailing /p2p components, unless it is a
 * duplicate, nothing is left, or the list is full. */
void
punch_identify_info_add_listen_addr (PunchIdentifyInfo *info,
                                     PunchMultiaddr    *addr)
{
  g_autoptr(PunchMultiaddr) bare = strip_trailing_p2p (addr);

  if (bare == NULL || info->listen_addrs->len >= PUNCH_IDENTIFY_MAX_ADDRS ||
      has_listen_addr (info, bare))
    return;
  g_ptr_array_add (info->listen_addrs, g_steal_pointer (&bare));
}

void
punch_identify_info_add_protocol (PunchIdentifyInfo *info,
                                  const gchar       *protocol)
{
  if (!punch_multistream_is_valid_protocol (protocol) ||
      info->protocols->len >= PUNCH_IDENTIFY_MAX_PROTOCOLS ||
      punch_identify_info_has_protocol (info, protocol))
    return;
  g_ptr_array_add (info->protocols, g_strdup (protocol));
}

/* Decoding */

static gboolean
check_string (const char  *value,
              const char  *field,
              GError     **error)
{
  if (value != NULL && !g_utf8_validate (value, -1, NULL))
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "identify %s is not UTF-8", field);
      return FALSE;
    }
  return TRUE;
}

/*
 * punch_identify_info_decode:
 * @data: (array length=len): one Identify protobuf (without its length
 *   prefix)
 * @len: its length
 * @expected_peer: (nullable): the authenticated peer id of the connection
 * @error: return location for a #GError
 *
 * Decodes and checks one Identify message (see the rules at the top of
 * punch-identify-private.h). The record's peer id is @expected_peer.
 *
 * Errors: %PUNCH_ERROR_TOO_LARGE above %PUNCH_IDENTIFY_MAX_MESSAGE_SIZE;
 * %PUNCH_ERROR_MALFORMED for a bad protobuf, a bad public key or
 * non-UTF-8 versions; %PUNCH_ERROR_UNSUPPORTED for a key of an unknown
 * type; %PUNCH_ERROR_PEER_ID_MISMATCH when the public key is not
 * @expected_peer's.
 *
 * Returns: (transfer full) (nullable): the record
 */
PunchIdentifyInfo *
punch_identify_info_decode (const guint8  *data,
                            gsize          len,
                            PunchPeerId   *expected_peer,
                            GError       **error)
{
  g_autoptr(PunchIdentifyInfo) info = NULL;
  Identify__Pb__Identify *msg;
  GError *local_error = NULL;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  msg = (Identify__Pb__Identify *)
    punch_proto_unpack (&identify__pb__identify__descriptor, data, len,
                        PUNCH_IDENTIFY_MAX_MESSAGE_SIZE, error);
  if (msg == NULL)
    return NULL;

  info = punch_identify_info_new ();
  punch_identify_info_set_peer_id (info, expected_peer);

  if (!check_string (msg->protocolversion, "protocolVersion", &local_error) ||
      !check_string (msg->agentversion, "agentVersion", &local_error))
    goto fail;
  info->protocol_version = g_strdup (msg->protocolversion);
  info->agent_version = g_strdup (msg->agentversion);

  if (msg->has_publickey)
    {
      g_autoptr(GBytes) key_bytes = g_bytes_new (msg->publickey.data, msg->publickey.len);

      info->public_key = punch_public_key_new_from_protobuf (key_bytes, &local_error);
      if (info->public_key == NULL)
        goto fail;
      if (expected_peer != NULL &&
          !punch_peer_id_matches_public_key (expected_peer, info->public_key))
        {
          g_autofree gchar *expected = punch_peer_id_to_string (expected_peer);
          g_autofree gchar *got = punch_peer_id_to_string (punch_public_key_get_peer_id (info->public_key));

          g_set_error (&local_error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH,
                       "identify public key is %s's, the connection is with %s",
                       got, expected);
          goto fail;
        }
    }

  for (gsize i = 0; i < msg->n_listenaddrs; i++)
    {
      g_autoptr(PunchMultiaddr) addr =
        punch_multiaddr_new_from_data (msg->listenaddrs[i].data, msg->listenaddrs[i].len, NULL);

      if (addr != NULL)
        punch_identify_info_add_listen_addr (info, addr);
    }

  /* js-libp2p sends the remote address of its connection, which ends
   * with our /p2p/ID when it dialed us by it: the address is without. */
  if (msg->has_observedaddr && msg->observedaddr.len > 0)
    {
      g_autoptr(PunchMultiaddr) observed =
        punch_multiaddr_new_from_data (msg->observedaddr.data, msg->observedaddr.len, NULL);

      if (observed != NULL)
        info->observed_addr = strip_trailing_p2p (observed);
    }

  for (gsize i = 0; i < msg->n_protocols; i++)
    punch_identify_info_add_protocol (info, msg->protocols[i]);

  punch_proto_free (&msg->base);
  return g_steal_pointer (&info);

fail:
  punch_proto_free (&msg->base);
  g_propagate_error (error, local_error);
  return NULL;
}

static void
replace_string (gchar       **field,
                const gchar  *value)
{
  if (value == NULL)
    return;
  g_free (*field);
  *field = g_strdup (value);
}

static void
apply_singles (PunchIdentifyInfo       *into,
               const PunchIdentifyInfo *next)
{
  replace_string (&into->protocol_version, next->protocol_version);
  replace_string (&into->agent_version, next->agent_version);
  if (next->public_key != NULL)
    g_set_object (&into->public_key, next->public_key);
  if (next->observed_addr != NULL)
    {
      g_clear_pointer (&into->observed_addr, punch_multiaddr_unref);
      into->observed_addr = punch_multiaddr_ref (next->observed_addr);
    }
  if (next->peer_id != NULL && into->peer_id == NULL)
    punch_identify_info_set_peer_id (into, next->peer_id);
}

void
punch_identify_info_merge_message (PunchIdentifyInfo       *into,
                                   const PunchIdentifyInfo *next)
{
  g_return_if_fail (into != NULL && next != NULL);

  apply_singles (into, next);
  for (guint i = 0; i < next->listen_addrs->len; i++)
    punch_identify_info_add_listen_addr (into, next->listen_addrs->pdata[i]);
  for (guint i = 0; i < next->protocols->len; i++)
    punch_identify_info_add_protocol (into, next->protocols->pdata[i]);
}

void
punch_identify_info_apply_update (PunchIdentifyInfo       *into,
                                  const PunchIdentifyInfo *update)
{
  g_return_if_fail (into != NULL && update != NULL);

  apply_singles (into, update);
  if (update->listen_addrs->len > 0)
    {
      g_ptr_array_set_size (into->listen_addrs, 0);
      for (guint i = 0; i < update->listen_addrs->len; i++)
        punch_identify_info_add_listen_addr (into, update->listen_addrs->pdata[i]);
    }
  if (update->protocols->len > 0)
    {
      g_ptr_array_set_size (into->protocols, 0);
      for (guint i = 0; i < update->protocols->len; i++)
        punch_identify_info_add_protocol (into, update->protocols->pdata[i]);
    }
}

/* Encoding */

static gboolean
append_message (GByteArray                   *out,
                const Identify__Pb__Identify *msg,
                GError                      **error)
{
  g_autoptr(GBytes) payload = punch_proto_pack (&msg->base);
  gsize len;
  const guint8 *data = g_bytes_get_data (payload, &len);

  return punch_framing_append (out, data, len, PUNCH_IDENTIFY_MAX_MESSAGE_SIZE, error);
}

/*
 * punch_identify_info_encode:
 * @info: what to send (the peer id is not sent)
 * @error: return location for a #GError
 *
 * Encodes @info as framed Identify messages. Everything goes into the
 * first message when it fits in %PUNCH_IDENTIFY_MAX_MESSAGE_SIZE; else
 * the listen addresses and protocols that do not fit continue in more
 * messages, which a reader merges.
 *
 * Errors: %PUNCH_ERROR_TOO_LARGE if even the single fields do not fit in
 * one message, or more than %PUNCH_IDENTIFY_MAX_MESSAGES are needed.
 *
 * Returns: (transfer full) (nullable): the bytes to write
 */
GBytes *
punch_identify_info_encode (const PunchIdentifyInfo *info,
                            GError                 **error)
{
  Identify__Pb__Identify msg = IDENTIFY__PB__IDENTIFY__INIT;
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GBytes) key = NULL;
  g_autoptr(GBytes) observed = NULL;
  g_autofree ProtobufCBinaryData *addrs = NULL;
  g_autofree gchar **protocols = NULL;
  g_autoptr(GPtrArray) addr_bytes = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  guint next_addr = 0, next_protocol = 0, n_messages = 0;
  guint n_addrs = info->listen_addrs->len, n_protocols = info->protocols->len;

  g_return_val_if_fail (info != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  msg.protocolversion = info->protocol_version;
  msg.agentversion = info->agent_version;
  if (info->public_key != NULL)
    {
      key = punch_public_key_to_protobuf (info->public_key);
      msg.has_publickey = TRUE;
      msg.publickey.data = (guint8 *) g_bytes_get_data (key, &msg.publickey.len);
    }
  if (info->observed_addr != NULL)
    {
      observed = punch_multiaddr_get_bytes (info->observed_addr);
      msg.has_observedaddr = TRUE;
      msg.observedaddr.data = (guint8 *) g_bytes_get_data (observed, &msg.observedaddr.len);
    }

  addrs = g_new0 (ProtobufCBinaryData, n_addrs + 1);
  for (guint i = 0; i < n_addrs; i++)
    {
      GBytes *b = punch_multiaddr_get_bytes (info->listen_addrs->pdata[i]);

      g_ptr_array_add (addr_bytes, b);
      addrs[i].data = (guint8 *) g_bytes_get_data (b, &addrs[i].len);
    }
  protocols = g_new0 (gchar *, n_protocols + 1);
  for (guint i = 0; i < n_protocols; i++)
    protocols[i] = info->protocols->pdata[i];

  if (protobuf_c_message_get_packed_size (&msg.base) > PUNCH_IDENTIFY_MAX_MESSAGE_SIZE)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "identify fields exceed %d bytes", PUNCH_IDENTIFY_MAX_MESSAGE_SIZE);
      return NULL;
    }

  /* Fill messages greedily: the first carries the single fields. */
  do
    {
      msg.listenaddrs = addrs + next_addr;
      msg.n_listenaddrs = 0;
      msg.protocols = protocols + next_protocol;
      msg.n_protocols = 0;

      while (next_addr < n_addrs)
        {
          msg.n_listenaddrs++;
          if (protobuf_c_message_get_packed_size (&msg.base) > PUNCH_IDENTIFY_MAX_MESSAGE_SIZE)
            {
              msg.n_listenaddrs--;
              break;
            }
          next_addr++;
        }
      while (next_addr == n_addrs && next_protocol < n_protocols)
        {
          msg.n_protocols++;
          if (protobuf_c_message_get_packed_size (&msg.base) > PUNCH_IDENTIFY_MAX_MESSAGE_SIZE)
            {
              msg.n_protocols--;
              break;
            }
          next_protocol++;
        }

      if (protobuf_c_message_get_packed_size (&msg.base) > PUNCH_IDENTIFY_MAX_MESSAGE_SIZE ||
          (n_messages > 0 && msg.n_listenaddrs == 0 && msg.n_protocols == 0) ||
          ++n_messages > PUNCH_IDENTIFY_MAX_MESSAGES)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                       "identify record does not fit in %d messages of %d bytes",
                       PUNCH_IDENTIFY_MAX_MESSAGES, PUNCH_IDENTIFY_MAX_MESSAGE_SIZE);
          return NULL;
        }
      if (!append_message (out, &msg, error))
        return NULL;

      /* Later messages carry only what is left of the lists. */
      msg.protocolversion = NULL;
      msg.agentversion = NULL;
      msg.has_publickey = FALSE;
      msg.has_observedaddr = FALSE;
    }
  while (next_addr < n_addrs || next_protocol < n_protocols);

  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* Reader */

struct _PunchIdentifyReader {
  PunchPeerId *expected_peer;
  PunchFramingDecoder *decoder;
  PunchIdentifyInfo *merged;
  guint n_messages;
  gboolean failed;
};

/*
 * punch_identify_reader_new:
 * @expected_peer: (nullable): the authenticated remote peer id
 *
 * A reader for the bytes of one identify or identify-push stream.
 */
PunchIdentifyReader *
punch_identify_reader_new (PunchPeerId *expected_peer)
{
  PunchIdentifyReader *self = g_new0 (PunchIdentifyReader, 1);

  if (expected_peer != NULL)
    self->expected_peer = punch_peer_id_ref (expected_peer);
  self->decoder = punch_framing_decoder_new (PUNCH_IDENTIFY_MAX_MESSAGE_SIZE);
  return self;
}

void
punch_identify_reader_free (PunchIdentifyReader *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->expected_peer, punch_peer_id_unref);
  g_clear_pointer (&self->decoder, punch_framing_decoder_free);
  g_clear_pointer (&self->merged, punch_identify_info_unref);
  g_free (self);
}

/*
 * punch_identify_reader_feed:
 *
 * Feeds bytes read from the stream; complete messages are decoded and
 * merged at once.
 *
 * Errors: those of the framing decoder and punch_identify_info_decode();
 * %PUNCH_ERROR_PROTOCOL for more than %PUNCH_IDENTIFY_MAX_MESSAGES
 * messages. After an error the reader refuses everything.
 */
gboolean
punch_identify_reader_feed (PunchIdentifyReader  *self,
                            const guint8         *data,
                            gsize                 len,
                            GError              **error)
{
  GBytes *frame;

  g_return_val_if_fail (self != NULL, FALSE);

  if (self->failed)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_FAILED, "identify reader failed before");
      return FALSE;
    }
  if (!punch_framing_decoder_feed (self->decoder, data, len, error))
    goto fail;

  while ((frame = punch_framing_decoder_pop (self->decoder)) != NULL)
    {
      g_autoptr(GBytes) payload = frame;
      g_autoptr(PunchIdentifyInfo) info = NULL;
      gsize size;
      const guint8 *bytes = g_bytes_get_data (payload, &size);

      if (self->n_messages >= PUNCH_IDENTIFY_MAX_MESSAGES)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                       "more than %d identify messages on one stream",
                       PUNCH_IDENTIFY_MAX_MESSAGES);
          goto fail;
        }
      info = punch_identify_info_decode (bytes, size, self->expected_peer, error);
      if (info == NULL)
        goto fail;
      self->n_messages++;
      if (self->merged == NULL)
        self->merged = g_steal_pointer (&info);
      else
        punch_identify_info_merge_message (self->merged, info);
    }
  return TRUE;

fail:
  self->failed = TRUE;
  return FALSE;
}

/* Whether the reader took the most messages it accepts: the caller may
 * stop reading. */
gboolean
punch_identify_reader_is_full (PunchIdentifyReader *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->n_messages >= PUNCH_IDENTIFY_MAX_MESSAGES;
}

/*
 * punch_identify_reader_finish:
 *
 * The stream ended: returns the merged record.
 *
 * Errors: %PUNCH_ERROR_TRUNCATED when the stream ended inside a message;
 * %PUNCH_ERROR_CLOSED when it carried no message at all;
 * %PUNCH_ERROR_FAILED after an error of punch_identify_reader_feed().
 *
 * Returns: (transfer full) (nullable): the record
 */
PunchIdentifyInfo *
punch_identify_reader_finish (PunchIdentifyReader  *self,
                              GError              **error)
{
  g_return_val_if_fail (self != NULL, NULL);

  if (self->failed)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_FAILED, "identify reader failed before");
      return NULL;
    }
  if (punch_framing_decoder_get_buffered (self->decoder) > 0)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED,
                   "identify stream ended inside a message");
      return NULL;
    }
  if (self->merged == NULL)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                   "identify stream ended without a message");
      return NULL;
    }
  return punch_identify_info_ref (self->merged);
}

/* Observed addresses */

typedef struct {
  gchar *observer;
  gint64 last_seen_us;
} Observation;

typedef struct {
  PunchMultiaddr *addr;
  GArray *observations;   /* Observation */
} ObservedEntry;

typedef struct {
  PunchMultiaddr *local;
  GPtrArray *entries;     /* ObservedEntry */
} LocalEntry;

struct _PunchObservedAddrs {
  GPtrArray *locals;      /* LocalEntry */
};

static void
observation_clear (gpointer p)
{
  Observation *o = p;

  g_free (o->observer);
}

static void
observed_entry_free (gpointer p)
{
  ObservedEntry *e = p;

  punch_multiaddr_unref (e->addr);
  g_array_unref (e->observations);
  g_free (e);
}

static void
local_entry_free (gpointer p)
{
  LocalEntry *l = p;

  punch_multiaddr_unref (l->local);
  g_ptr_array_unref (l->entries);
  g_free (l);
}

PunchObservedAddrs *
punch_observed_addrs_new (void)
{
  PunchObservedAddrs *self = g_new0 (PunchObservedAddrs, 1);

  self->locals = g_ptr_array_new_with_free_func (local_entry_free);
  return self;
}

void
punch_observed_addrs_free (PunchObservedAddrs *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->locals);
  g_free (self);
}

/* The "thin waist" of a multiaddr: its first ip4/ip6 component and the
 * tcp/udp one right after it (what a NAT maps), or -1. */
static gint
thin_waist_length (PunchMultiaddr *addr)
{
  guint n = punch_multiaddr_get_n_components (addr);
  guint i = 0;

  if (n >= 1 && punch_multiaddr_get_protocol (addr, 0) == PUNCH_MULTIADDR_PROTOCOL_IP6ZONE)
    i = 1;
  if (n < i + 2)
    return -1;
  switch ((int) punch_multiaddr_get_protocol (addr, i))
    {
    case PUNCH_MULTIADDR_PROTOCOL_IP4:
    case PUNCH_MULTIADDR_PROTOCOL_IP6:
      break;
    default:
      return -1;
    }
  switch ((int) punch_multiaddr_get_protocol (addr, i + 1))
    {
    case PUNCH_MULTIADDR_PROTOCOL_TCP:
    case PUNCH_MULTIADDR_PROTOCOL_UDP:
      break;
    default:
      return -1;
    }
  return (gint) i + 2;
}

/* Whether @observed can be a NAT mapping of @local: both have a thin
 * waist, and the same protocols in the same order (ip4 vs ip4, tcp vs
 * tcp, udp/quic-v1 vs udp/quic-v1), a leading ip6zone aside. */
static gboolean
same_shape (PunchMultiaddr *local,
            PunchMultiaddr *observed)
{
  guint nl = punch_multiaddr_get_n_components (local);
  guint no = punch_multiaddr_get_n_components (observed);
  guint il = 0, io = 0;

  if (thin_waist_length (local) < 0 || thin_waist_length (observed) < 0)
    return FALSE;
  if (punch_multiaddr_get_protocol (local, 0) == PUNCH_MULTIADDR_PROTOCOL_IP6ZONE)
    il = 1;
  if (punch_multiaddr_get_protocol (observed, 0) == PUNCH_MULTIADDR_PROTOCOL_IP6ZONE)
    io = 1;
  if (nl - il != no - io)
    return FALSE;
  for (; il < nl; il++, io++)
    if (punch_multiaddr_get_protocol (local, il) != punch_multiaddr_get_protocol (observed, io))
      return FALSE;
  return TRUE;
}

static guint
count_live (ObservedEntry *e,
            gint64         now_us)
{
  guint n = 0;

  for (guint i = 0; i < e->observations->len; i++)
    if (now_us - g_array_index (e->observations, Observation, i).last_seen_us
        < PUNCH_OBSERVED_ADDR_TTL_US)
      n++;
  return n;
}

/*
 * punch_observed_addrs_record:
 * @local: the local address of the connection (ip/port we used)
 * @observed: what the remote peer says it saw
 * @observer: a key for the observer (punch_observed_addrs_observer_key())
 * @now_us: the current time
 *
 * Records one observation. It is ignored (and %FALSE returned) when
 * @observed does not have the shape of @local (same IP version,
 * transport and protocols after the port): a peer on another transport
 * or a relayed connection tells nothing about this mapping. When the
 * table is full the stalest local address, or the entry with the fewest
 * observers, makes room.
 *
 * Returns: whether the observation was recorded
 */
gboolean
punch_observed_addrs_record (PunchObservedAddrs *self,
                             PunchMultiaddr     *local,
                             PunchMultiaddr     *observed,
                             const gchar        *observer,
                             gint64              now_us)
{
  LocalEntry *l = NULL;
  ObservedEntry *e = NULL;
  Observation *o = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (local != NULL && observed != NULL && observer != NULL, FALSE);

  if (!same_shape (local, observed))
    return FALSE;

  punch_observed_addrs_expire (self, now_us);

  for (guint i = 0; i < self->locals->len && l == NULL; i++)
    if (punch_multiaddr_equal (((LocalEntry *) self->locals->pdata[i])->local, local))
      l = self->locals->pdata[i];
  if (l == NULL)
    {
      if (self->locals->len >= PUNCH_OBSERVED_ADDR_MAX_LOCAL)
        {
          /* Drop the local address with the oldest last observation. */
          guint victim = 0;
          gint64 oldest = G_MAXINT64;

          for (guint i = 0; i < self->locals->len; i++)
            {
              LocalEntry *c = self->locals->pdata[i];
              gint64 newest = G_MININT64;

              for (guint j = 0; j < c->entries->len; j++)
                {
                  ObservedEntry *ce = c->entries->pdata[j];

                  for (guint k = 0; k < ce->observations->len; k++)
                    newest = MAX (newest, g_array_index (ce->observations, Observation, k).last_seen_us);
                }
              if (newest < oldest)
                {
                  oldest = newest;
                  victim = i;
                }
            }
          g_ptr_array_remove_index (self->locals, victim);
        }
      l = g_new0 (LocalEntry, 1);
      l->local = punch_multiaddr_ref (local);
      l->entries = g_ptr_array_new_with_free_func (observed_entry_free);
      g_ptr_array_add (self->locals, l);
    }

  for (guint i = 0; i < l->entries->len && e == NULL; i++)
    if (punch_multiaddr_equal (((ObservedEntry *) l->entries->pdata[i])->addr, observed))
      e = l->entries->pdata[i];
  if (e == NULL)
    {
      if (l->entries->len >= PUNCH_OBSERVED_ADDR_MAX_PER_LOCAL)
        {
          guint victim = 0, fewest = G_MAXUINT;

          for (guint i = 0; i < l->entries->len; i++)
            {
              guint n = count_live (l->entries->pdata[i], now_us);

              if (n < fewest)
                {
                  fewest = n;
                  victim = i;
                }
            }
          g_ptr_array_remove_index (l->entries, victim);
        }
      e = g_new0 (ObservedEntry, 1);
      e->addr = punch_multiaddr_ref (observed);
      e->observations = g_array_new (FALSE, TRUE, sizeof (Observation));
      g_array_set_clear_func (e->observations, observation_clear);
      g_ptr_array_add (l->entries, e);
    }

  for (guint i = 0; i < e->observations->len && o == NULL; i++)
    if (g_str_equal (g_array_index (e->observations, Observation, i).observer, observer))
      o = &g_array_index (e->observations, Observation, i);
  if (o == NULL)
    {
      Observation fresh = { NULL, 0 };

      if (e->observations->len >= PUNCH_OBSERVED_ADDR_MAX_OBSERVERS)
        {
          guint victim = 0;
          gint64 oldest = G_MAXINT64;

          for (guint i = 0; i < e->observations->len; i++)
            if (g_array_index (e->observations, Observation, i).last_seen_us < oldest)
              {
                oldest = g_array_index (e->observations, Observation, i).last_seen_us;
                victim = i;
              }
          g_array_remove_index (e->observations, victim);
        }
      fresh.observer = g_strdup (observer);
      g_array_append_val (e->observations, fresh);
      o = &g_array_index (e->observations, Observation, e->observations->len - 1);
    }
  o->last_seen_us = now_us;
  return TRUE;
}

/* Forgets observations older than the TTL, then empty entries. */
void
punch_observed_addrs_expire (PunchObservedAddrs *self,
                             gint64              now_us)
{
  g_return_if_fail (self != NULL);

  for (guint i = self->locals->len; i-- > 0;)
    {
      LocalEntry *l = self->locals->pdata[i];

      for (guint j = l->entries->len; j-- > 0;)
        {
          ObservedEntry *e = l->entries->pdata[j];

          for (guint k = e->observations->len; k-- > 0;)
            if (now_us - g_array_index (e->observations, Observation, k).last_seen_us
                >= PUNCH_OBSERVED_ADDR_TTL_US)
              g_array_remove_index (e->observations, k);
          if (e->observations->len == 0)
            g_ptr_array_remove_index (l->entries, j);
        }
      if (l->entries->len == 0)
        g_ptr_array_remove_index (self->locals, i);
    }
}

typedef struct {
  PunchMultiaddr *addr;
  guint n;
} Ranked;

static gint
ranked_compare (gconstpointer a,
                gconstpointer b)
{
  const Ranked *ra = a, *rb = b;

  return ra->n < rb->n ? 1 : ra->n > rb->n ? -1 : 0;
}

/*
 * punch_observed_addrs_get:
 * @local: (nullable): only observations made on connections from this
 *   local address; %NULL for all
 * @min_observers: the least number of distinct observers an address
 *   needs
 *
 * Returns: (transfer container) (element-type Punch.Multiaddr): observed
 *   addresses, most observers first, each once
 */
GPtrArray *
punch_observed_addrs_get (PunchObservedAddrs *self,
                          PunchMultiaddr     *local,
                          guint               min_observers,
                          gint64              now_us)
{
  g_autoptr(GArray) ranked = g_array_new (FALSE, FALSE, sizeof (Ranked));
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);

  g_return_val_if_fail (self != NULL, out);

  for (guint i = 0; i < self->locals->len; i++)
    {
      LocalEntry *l = self->locals->pdata[i];

      if (local != NULL && !punch_multiaddr_equal (l->local, local))
        continue;
      for (guint j = 0; j < l->entries->len; j++)
        {
          ObservedEntry *e = l->entries->pdata[j];
          guint n = count_live (e, now_us);
          gboolean merged = FALSE;

          /* The same address seen from several local addresses (ports
           * of outbound connections): add the counts up. */
          for (guint k = 0; k < ranked->len && !merged; k++)
            if (punch_multiaddr_equal (g_array_index (ranked, Ranked, k).addr, e->addr))
              {
                g_array_index (ranked, Ranked, k).n += n;
                merged = TRUE;
              }
          if (!merged && n > 0)
            {
              Ranked r = { e->addr, n };

              g_array_append_val (ranked, r);
            }
        }
    }

  g_array_sort (ranked, ranked_compare);
  for (guint i = 0; i < ranked->len; i++)
    if (g_array_index (ranked, Ranked, i).n >= MAX (min_observers, 1))
      g_ptr_array_add (out, punch_multiaddr_ref (g_array_index (ranked, Ranked, i).addr));
  return out;
}

/* Distinct live observers of @observed, over all local addresses. */
guint
punch_observed_addrs_count (PunchObservedAddrs *self,
                            PunchMultiaddr     *observed,
                            gint64              now_us)
{
  guint n = 0;

  g_return_val_if_fail (self != NULL, 0);

  for (guint i = 0; i < self->locals->len; i++)
    {
      LocalEntry *l = self->locals->pdata[i];

      for (guint j = 0; j < l->entries->len; j++)
        if (punch_multiaddr_equal (((ObservedEntry *) l->entries->pdata[j])->addr, observed))
          n += count_live (l->entries->pdata[j], now_us);
    }
  return n;
}

/*
 * punch_observed_addrs_observer_key:
 * @remote: (nullable): the remote address of the connection
 * @peer_id: (nullable): the remote peer
 *
 * The observer group of a connection, as go-libp2p groups them: the
 * IPv4 address, or the /56 prefix of an IPv6 address, so that one host
 * (or one IPv6 site) counts once however many peer ids it runs; the peer
 * id when the connection has no IP address (a relayed one).
 *
 * Returns: (transfer full): the key
 */
gchar *
punch_observed_addrs_observer_key (PunchMultiaddr *remote,
                                   PunchPeerId    *peer_id)
{
  g_autoptr(GInetAddress) ip = remote != NULL ? punch_multiaddr_get_inet_address (remote) : NULL;

  if (ip != NULL && g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV6)
    {
      const guint8 *b = g_inet_address_to_bytes (ip);

      return g_strdup_printf ("ip6:%02x%02x:%02x%02x:%02x%02x:%02x", b[0], b[1], b[2],
                              b[3], b[4], b[5], b[6]);
    }
  if (ip != NULL)
    {
      g_autofree gchar *text = g_inet_address_to_string (ip);

      return g_strconcat ("ip4:", text, NULL);
    }
  if (peer_id != NULL)
    {
      g_autofree gchar *text = punch_peer_id_to_string (peer_id);

      return g_strconcat ("peer:", text, NULL);
    }
  return g_strdup ("unknown");
}
