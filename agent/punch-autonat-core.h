/* punch-autonat-core.h: AutoNAT v1 messages, server policy and client verdicts, sans-I/O (internal).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "punch-autonat.h"
#include "punch-multiaddr.h"
#include "punch-peer-id.h"

G_BEGIN_DECLS

/*
 * AutoNAT v1 (libp2p/specs autonat/autonat-v1.md). One stream carries one
 * varint-length-prefixed Dial from the client and one DialResponse back.
 *
 * Message size: PUNCH_AUTONAT_MAX_MESSAGE_SIZE (4 KiB), the limit
 * go-libp2p's autonat service and client read with (maxMsgSize = 4096);
 * a Dial of PUNCH_AUTONAT_MAX_ADDRS addresses of a typical size fits.
 * Decoders reject a longer payload with PUNCH_ERROR_TOO_LARGE.
 */
#define PUNCH_AUTONAT_MAX_MESSAGE_SIZE 4096
/* Addresses a decoded Dial may carry (more: PUNCH_ERROR_TOO_LARGE). */
#define PUNCH_AUTONAT_MAX_ADDRS 64
/* statusText longer than this is cut (at a character boundary). */
#define PUNCH_AUTONAT_MAX_STATUS_TEXT 256

struct _PunchAutonatResult {
  gatomicrefcount ref_count;
  PunchAutonatStatus status;
  gchar *status_text;          /* never NULL, UTF-8 */
  PunchMultiaddr *address;     /* nullable */
};

gchar *punch_autonat_sanitize_text (const gchar *text,
                                    gssize       len);

PunchAutonatResult *punch_autonat_result_new (PunchAutonatStatus  status,
                                              const gchar        *status_text,
                                              PunchMultiaddr     *address);

/* A decoded Dial. Addresses that are not valid binary multiaddrs are
 * dropped one by one (counted in n_invalid), as go-libp2p does. */
typedef struct {
  PunchPeerId *peer_id;
  GPtrArray *addrs;            /* PunchMultiaddr, never NULL */
  guint n_invalid;
} PunchAutonatDial;

void              punch_autonat_dial_free             (PunchAutonatDial *dial);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchAutonatDial, punch_autonat_dial_free)

/* Payloads (no length prefix).
 *
 * Encoders: PUNCH_ERROR_TOO_LARGE when the message would exceed
 * PUNCH_AUTONAT_MAX_MESSAGE_SIZE or carry more than PUNCH_AUTONAT_MAX_ADDRS
 * addresses.
 *
 * Decoders: PUNCH_ERROR_TOO_LARGE (over-size, too many addresses),
 * PUNCH_ERROR_MALFORMED (not protobuf, missing type / dial / peer /
 * peer id / status, an invalid peer id, an unknown status, an invalid
 * addr in a DialResponse), PUNCH_ERROR_PROTOCOL (the other message type). */
GBytes           *punch_autonat_encode_dial           (PunchPeerId          *peer_id,
                                                       GPtrArray            *addrs,
                                                       GError              **error);
GBytes           *punch_autonat_encode_dial_response  (PunchAutonatStatus    status,
                                                       const gchar          *status_text,
                                                       PunchMultiaddr       *address);
PunchAutonatDial *punch_autonat_decode_dial           (const guint8         *data,
                                                       gsize                 len,
                                                       GError              **error);
PunchAutonatResult *punch_autonat_decode_dial_response (const guint8        *data,
                                                        gsize                len,
                                                        GError             **error);

/*
 * Server policy.
 *
 * Defaults (those of go-libp2p's autonat service where it has one): 30
 * requests a minute in all, 3 a minute per peer, 8 dial-backs at once, a
 * dial-back given 15 s, at most 4 addresses dialed per request. A zero
 * limit means "no limit" except max_dial_addrs (0 refuses every dial).
 */
#define PUNCH_AUTONAT_DEFAULT_GLOBAL_PER_MINUTE 30
#define PUNCH_AUTONAT_DEFAULT_PEER_PER_MINUTE 3
#define PUNCH_AUTONAT_DEFAULT_MAX_CONCURRENT 8
#define PUNCH_AUTONAT_DEFAULT_DIAL_TIMEOUT_MS 15000
#define PUNCH_AUTONAT_DEFAULT_MAX_DIAL_ADDRS 4
/* The rate windows. */
#define PUNCH_AUTONAT_RATE_WINDOW_US (G_GINT64_CONSTANT (60) * G_USEC_PER_SEC)

typedef struct {
  gboolean allow_private;     /* also dial loopback, private, documentation... */
  guint global_per_minute;
  guint peer_per_minute;
  guint max_concurrent;
  guint dial_timeout_ms;      /* for the shell */
  guint max_dial_addrs;
} PunchAutonatServerConfig;

void punch_autonat_server_config_init (PunchAutonatServerConfig *config);

/*
 * Which addresses of a Dial may be dialed back: only `/ip4|ip6/IP/tcp/PORT`
 * (optionally followed by `/p2p/<requester>`) whose IP is @observed's IP
 * (RFC 3489 12.1.1), PORT not 0, public unless @allow_private, no
 * duplicates, at most @max_addrs. The returned addresses have no /p2p
 * component. When none is left, *out_reason (nullable) says why. An
 * @observed address with /p2p-circuit (a request over a relay) has no
 * usable IP: nothing is dialed. An IPv4-mapped IPv6 @observed IP
 * (dual-stack listeners) counts as the IPv4 address.
 */
GPtrArray *punch_autonat_filter_addrs (GPtrArray      *addrs,
                                       PunchPeerId    *requester,
                                       PunchMultiaddr *observed,
                                       gboolean        allow_private,
                                       guint           max_addrs,
                                       gchar         **out_reason);

typedef struct _PunchAutonatServer PunchAutonatServer;

PunchAutonatServer *punch_autonat_server_new        (const PunchAutonatServerConfig *config);
void                punch_autonat_server_free       (PunchAutonatServer             *self);
const PunchAutonatServerConfig *
                    punch_autonat_server_get_config (PunchAutonatServer             *self);
void                punch_autonat_server_set_config (PunchAutonatServer             *self,
                                                     const PunchAutonatServerConfig *config);

/*
 * Decides on one request: @data is the Dial payload, @requester the
 * authenticated peer of the stream, @observed the remote address of its
 * connection.
 *
 * Returns PUNCH_AUTONAT_STATUS_OK when the caller must dial back
 * *out_addrs (transfer full, PunchMultiaddr without /p2p, at most
 * max_dial_addrs) and then call punch_autonat_server_dial_done() once;
 * otherwise the status to answer at once (BAD_REQUEST for an
 * undecodable Dial or one whose peer id is not @requester, DIAL_REFUSED
 * when no address may be dialed or a rate limit is reached), with
 * *out_text the statusText. Only requests answered OK count toward the
 * rate limits.
 */
PunchAutonatStatus  punch_autonat_server_handle_request (PunchAutonatServer *self,
                                                         const guint8       *data,
                                                         gsize               len,
                                                         PunchPeerId        *requester,
                                                         PunchMultiaddr     *observed,
                                                         gint64              now_us,
                                                         GPtrArray         **out_addrs,
                                                         gchar             **out_text);
void                punch_autonat_server_dial_done      (PunchAutonatServer *self);
guint               punch_autonat_server_get_n_active   (PunchAutonatServer *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchAutonatServer, punch_autonat_server_free)

/*
 * Client verdicts.
 *
 * The tracker keeps the latest answer of each server (by peer id) for
 * vote_ttl_us: OK is a vote for PUBLIC, DIAL_ERROR a vote for PRIVATE;
 * DIAL_REFUSED, BAD_REQUEST, INTERNAL_ERROR (and failures to ask) are no
 * evidence and leave the server's earlier vote as it was. A server that
 * answers again replaces its vote, so one server counts once however
 * often it is asked (a lying server is one vote).
 *
 * The verdict (hysteresis):
 *  - from UNKNOWN it becomes PUBLIC (PRIVATE) when at least threshold
 *    servers vote for it and they outnumber the contrary votes;
 *  - from PUBLIC (PRIVATE) it flips only when at least threshold
 *    servers vote against it and they outnumber its supporters: one
 *    contrary answer never flips a verdict that two servers support;
 *  - it returns to UNKNOWN when no vote for it is left (expired or
 *    replaced).
 * The confidence is, for PUBLIC and PRIVATE, the number of supporting
 * votes minus the contrary ones, clamped to 0..max_confidence (as
 * go-libp2p's, up to 3): how many more contrary servers it takes to
 * flip. It is 0 for UNKNOWN.
 *
 * The specification says "more than 3 peers" report the same outcome:
 * the default threshold is 4. Small deployments (the NAT lab has fewer
 * AutoNAT servers) lower it.
 *
 * Per address: an OK naming an address is a REACHABLE vote for it, a
 * DIAL_ERROR an UNREACHABLE vote for every address the request listed;
 * the same rules with addr_threshold (default 1) give each address's
 * verdict.
 */
#define PUNCH_AUTONAT_DEFAULT_THRESHOLD 4
#define PUNCH_AUTONAT_DEFAULT_ADDR_THRESHOLD 1
#define PUNCH_AUTONAT_DEFAULT_MAX_CONFIDENCE 3
#define PUNCH_AUTONAT_DEFAULT_VOTE_TTL_US (G_GINT64_CONSTANT (60) * 60 * G_USEC_PER_SEC)
/* Bounds of the tables: the least recently heard server or address goes. */
#define PUNCH_AUTONAT_MAX_SERVERS 64
#define PUNCH_AUTONAT_MAX_TRACKED_ADDRS 64

typedef struct {
  guint threshold;
  guint addr_threshold;
  guint max_confidence;
  gint64 vote_ttl_us;
} PunchAutonatTrackerConfig;

void punch_autonat_tracker_config_init (PunchAutonatTrackerConfig *config);

typedef enum {
  PUNCH_AUTONAT_ADDR_UNKNOWN,
  PUNCH_AUTONAT_ADDR_REACHABLE,
  PUNCH_AUTONAT_ADDR_UNREACHABLE,
} PunchAutonatAddrVerdict;

typedef struct _PunchAutonatTracker PunchAutonatTracker;

PunchAutonatTracker *punch_autonat_tracker_new              (const PunchAutonatTrackerConfig *config);
void                 punch_autonat_tracker_free             (PunchAutonatTracker *self);

/* Records @server's answer to a Dial that listed @requested
 * (PunchMultiaddr, nullable). Returns TRUE if the reachability verdict
 * changed. */
gboolean             punch_autonat_tracker_record           (PunchAutonatTracker *self,
                                                             PunchPeerId         *server,
                                                             PunchAutonatStatus   status,
                                                             PunchMultiaddr      *address,
                                                             GPtrArray           *requested,
                                                             gint64               now_us);
/* Drops expired votes; returns TRUE if the verdict changed. */
gboolean             punch_autonat_tracker_expire           (PunchAutonatTracker *self,
                                                             gint64               now_us);
PunchReachability    punch_autonat_tracker_get_reachability (PunchAutonatTracker *self);
guint                punch_autonat_tracker_get_confidence   (PunchAutonatTracker *self);
/* Current (unexpired as of the last record/expire) votes. */
void                 punch_autonat_tracker_get_votes        (PunchAutonatTracker *self,
                                                             guint               *out_public,
                                                             guint               *out_private);
/* The verdict on @address (its /p2p part ignored), and when it was last
 * voted on (out, nullable; 0 if never). */
PunchAutonatAddrVerdict
                     punch_autonat_tracker_get_addr_verdict (PunchAutonatTracker *self,
                                                             PunchMultiaddr      *address,
                                                             gint64              *out_last_us);
/* The addresses with a REACHABLE verdict (transfer full, PunchMultiaddr). */
GPtrArray           *punch_autonat_tracker_get_reachable_addrs (PunchAutonatTracker *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchAutonatTracker, punch_autonat_tracker_free)

G_END_DECLS
