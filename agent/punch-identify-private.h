/* punch-identify-private.h: identify messages and observed addresses, sans-I/O (internal).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "punch-identify.h"
#include "punch-multiaddr.h"
#include "punch-peer-id.h"
#include "punch-public-key.h"

G_BEGIN_DECLS

/*
 * Identify (libp2p/specs identify/README.md). The responder writes
 * varint-length-prefixed Identify protobufs on the stream and closes it;
 * the requester reads them until the end of the stream. The specification
 * speaks of one message; go- and js-libp2p read up to
 * PUNCH_IDENTIFY_MAX_MESSAGES and merge them (libp2p/specs PR 709, so that
 * large records can be split), and so does Punch. Each message is at most
 * PUNCH_IDENTIFY_MAX_MESSAGE_SIZE bytes (the limit of go- and js-libp2p).
 *
 * Decoding (punch_identify_info_decode()):
 *  - publicKey, when present, must be a valid key whose peer id is the
 *    connection's authenticated remote peer id: PUNCH_ERROR_PEER_ID_MISMATCH
 *    otherwise, and nothing of the message is used;
 *  - listenAddrs and observedAddr that are not valid binary multiaddrs are
 *    dropped one by one (as go and js do); trailing /p2p components are
 *    removed from both (js-libp2p's observedAddr ends with our /p2p/ID
 *    when it dialed us by it); duplicate listen addresses are dropped;
 *  - protocols that are not valid multistream protocol ids are dropped,
 *    duplicates are dropped;
 *  - agentVersion and protocolVersion must be UTF-8 (else MALFORMED).
 *  - at most PUNCH_IDENTIFY_MAX_ADDRS listen addresses and
 *    PUNCH_IDENTIFY_MAX_PROTOCOLS protocols are kept per peer.
 */

#define PUNCH_IDENTIFY_MAX_MESSAGE_SIZE 8192
#define PUNCH_IDENTIFY_MAX_MESSAGES 10
#define PUNCH_IDENTIFY_MAX_ADDRS 128
#define PUNCH_IDENTIFY_MAX_PROTOCOLS 256

/* The protocolVersion Punch sends: the value go- and js-libp2p send
 * ("ipfs/0.1.0"); the specification only gives an example. */
#define PUNCH_IDENTIFY_PROTOCOL_VERSION "ipfs/0.1.0"

struct _PunchIdentifyInfo {
  gatomicrefcount ref_count;
  PunchPeerId *peer_id;              /* nullable */
  gchar *protocol_version;           /* nullable */
  gchar *agent_version;              /* nullable */
  PunchPublicKey *public_key;        /* nullable */
  GPtrArray *listen_addrs;           /* PunchMultiaddr, never NULL */
  PunchMultiaddr *observed_addr;     /* nullable */
  GPtrArray *protocols;              /* gchar*, NULL-terminated, never NULL */
};

PunchIdentifyInfo *punch_identify_info_new               (void);
PunchIdentifyInfo *punch_identify_info_copy              (const PunchIdentifyInfo *info);
void               punch_identify_info_set_peer_id       (PunchIdentifyInfo *info,
                                                          PunchPeerId       *peer_id);
void               punch_identify_info_add_listen_addr   (PunchIdentifyInfo *info,
                                                          PunchMultiaddr    *addr);
void               punch_identify_info_add_protocol      (PunchIdentifyInfo *info,
                                                          const gchar       *protocol);

/* One message's payload (no length prefix). @expected_peer: the remote
 * peer id of the connection (nullable: no key check). */
PunchIdentifyInfo *punch_identify_info_decode            (const guint8      *data,
                                                          gsize              len,
                                                          PunchPeerId       *expected_peer,
                                                          GError           **error);

/* Messages of one stream: listen addresses are concatenated, protocols
 * united, single fields of later messages win. */
void               punch_identify_info_merge_message     (PunchIdentifyInfo       *into,
                                                          const PunchIdentifyInfo *next);

/* A push (or a new identify) onto what is known of the peer: every field
 * the update carries replaces the stored one, missing (or empty repeated)
 * fields are kept (identify/README.md "identify/push"). */
void               punch_identify_info_apply_update      (PunchIdentifyInfo       *into,
                                                          const PunchIdentifyInfo *update);

/* The framed messages to write for @info (usually one; more when the
 * fields do not fit in PUNCH_IDENTIFY_MAX_MESSAGE_SIZE). */
GBytes            *punch_identify_info_encode            (const PunchIdentifyInfo *info,
                                                          GError                 **error);

/* Reads the framed messages of one stream. */
typedef struct _PunchIdentifyReader PunchIdentifyReader;

PunchIdentifyReader *punch_identify_reader_new    (PunchPeerId          *expected_peer);
void                 punch_identify_reader_free   (PunchIdentifyReader  *self);
gboolean             punch_identify_reader_feed   (PunchIdentifyReader  *self,
                                                   const guint8         *data,
                                                   gsize                 len,
                                                   GError              **error);
gboolean             punch_identify_reader_is_full (PunchIdentifyReader *self);
PunchIdentifyInfo   *punch_identify_reader_finish (PunchIdentifyReader  *self,
                                                   GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchIdentifyReader, punch_identify_reader_free)

/*
 * Observed addresses: what remote peers report as our address in
 * observedAddr, per local address of the connection they saw it on.
 * Observations are grouped by observer (the caller passes a key: the
 * observer's IPv4 address or IPv6 /56 prefix, so that one host with
 * many peer ids counts once); an entry is "confirmed" by the number of
 * distinct observers seen within PUNCH_OBSERVED_ADDR_TTL_US.
 */
#define PUNCH_OBSERVED_ADDR_MAX_LOCAL 16
#define PUNCH_OBSERVED_ADDR_MAX_PER_LOCAL 16
#define PUNCH_OBSERVED_ADDR_MAX_OBSERVERS 32
#define PUNCH_OBSERVED_ADDR_TTL_US (G_GINT64_CONSTANT (30) * 60 * G_USEC_PER_SEC)

typedef struct _PunchObservedAddrs PunchObservedAddrs;

PunchObservedAddrs *punch_observed_addrs_new       (void);
void                punch_observed_addrs_free      (PunchObservedAddrs *self);
gboolean            punch_observed_addrs_record    (PunchObservedAddrs *self,
                                                    PunchMultiaddr     *local,
                                                    PunchMultiaddr     *observed,
                                                    const gchar        *observer,
                                                    gint64              now_us);
void                punch_observed_addrs_expire    (PunchObservedAddrs *self,
                                                    gint64              now_us);
GPtrArray          *punch_observed_addrs_get       (PunchObservedAddrs *self,
                                                    PunchMultiaddr     *local,
                                                    guint               min_observers,
                                                    gint64              now_us);
guint               punch_observed_addrs_count     (PunchObservedAddrs *self,
                                                    PunchMultiaddr     *observed,
                                                    gint64              now_us);
gchar              *punch_observed_addrs_observer_key (PunchMultiaddr  *remote,
                                                       PunchPeerId     *peer_id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchObservedAddrs, punch_observed_addrs_free)

G_END_DECLS

G_BEGIN_DECLS

/* The GObject side (punch-identify.c). */
PunchIdentifyInfo  *punch_identify_build_local_info    (PunchIdentify    *self,
                                                        PunchConnection  *connection);
void                punch_identify_schedule_push       (PunchIdentify    *self);
PunchObservedAddrs *punch_identify_get_observed_table  (PunchIdentify    *self);

G_END_DECLS
