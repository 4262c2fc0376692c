/* punch-multistream.h: multistream-select 1.0 negotiation, sans-I/O (internal).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * multistream-select 1.0 (libp2p/specs connections/README.md "Protocol
 * Negotiation", multiformats/multistream-select README.md).
 *
 * Wire format: every message is an unsigned varint length, then the
 * UTF-8 text, then '\n'; the length counts the newline. Both sides send
 * the header PUNCH_MULTISTREAM_PROTOCOL_ID first; the dialer (the spec's
 * Initiator) then proposes protocol ids one at a time and the listener
 * (the Responder) echoes a proposal it accepts or answers "na". Whatever
 * follows the accepting echo belongs to the negotiated protocol.
 *
 * PunchMultistream is a byte-in/byte-out machine with no timers: the
 * caller feeds what the transport read to punch_multistream_receive(),
 * writes out what punch_multistream_pull_output() returns, and stops when
 * punch_multistream_get_state() leaves NEGOTIATING. Once DONE, bytes that
 * came after the negotiation (in the same read or later receive calls)
 * are returned untouched by punch_multistream_steal_remaining(); the
 * caller hands them to the negotiated protocol before reading more.
 * Timeouts are the caller's business.
 *
 * Behaviour choices (the spec leaves them open):
 *  - Both roles send their header from punch_multistream_start() without
 *    waiting (the spec allows it, go-multistream's listener does it); the
 *    dialer pipelines its first proposal with the header. The receiving
 *    side accepts the peer's header whenever it comes, so a js-libp2p
 *    listener (which writes nothing before it reads the dialer's header)
 *    and js/go dialers that pipeline header + proposal + data ("V1Lazy")
 *    interoperate.
 *  - A dialer with a single protocol may write application data right
 *    after the start output without waiting (V1Lazy); if the listener
 *    then answers "na" the stream is unusable and must be reset.
 *  - The listener answers "ls" with "na" (listing is optional; current
 *    go-multistream dropped it too), and answers "na" to a proposal of
 *    the header itself.
 *  - A message may be at most PUNCH_MULTISTREAM_MAX_MESSAGE bytes,
 *    newline included (the specs give no limit; go-multistream and
 *    js-libp2p refuse lengths above 1024), so protocol ids are at most
 *    1023 bytes. A longer length prefix fails with
 *    PUNCH_ERROR_TOO_LARGE as soon as the prefix is read.
 *  - Protocol ids are any non-empty UTF-8 string without '\n' or NUL: the
 *    spec says "any string can be used" and only recommends the
 *    "/name/version" form, so an id without a leading '/' is valid on
 *    the wire (the listener's match function decides; with nothing
 *    registered under that name the answer is "na"). An empty line,
 *    a line with an embedded newline or NUL, or invalid UTF-8 is a
 *    protocol error.
 *  - The listener refuses at most PUNCH_MULTISTREAM_MAX_PROPOSALS
 *    proposals per negotiation, then fails (a bound on work per stream;
 *    real dialers propose a handful).
 *
 * Simultaneous open: connections/README.md still says that when both
 * peers act as initiators (TCP hole punching) the tie is broken by the
 * multistream "simultaneous open" extension (/libp2p/simultaneous-connect,
 * connections/simopen.md), but simopen.md itself is now marked
 * Terminated/Deprecated (specs issue #573, PR #574). relay/DCUtR.md fixes
 * the roles instead: for a TCP address the result is a TCP simultaneous
 * connect and "for the purpose of all protocols run on top of this TCP
 * connection, A is assumed to be the client and B the server", where A is
 * the peer that receives Sync and dials at once (the one that opened the
 * relayed connection) and B is the peer that sent Connect/Sync. So a
 * punched TCP connection runs this machine as a dialer on A and as a
 * listener on B; /libp2p/simultaneous-connect is not implemented.
 *
 * When the TLS handshake already agreed on a muxer through ALPN
 * (connections/inlined-muxer-negotiation.md; any ALPN result other than
 * "libp2p"), the connection layer skips multistream for the muxer.
 */

#define PUNCH_MULTISTREAM_PROTOCOL_ID "/multistream/1.0.0"

/* Largest message, newline included (go-multistream and js-libp2p
 * refuse more). */
#define PUNCH_MULTISTREAM_MAX_MESSAGE 1024

/* Most proposals a listener refuses before it gives up. */
#define PUNCH_MULTISTREAM_MAX_PROPOSALS 64

typedef enum {
  PUNCH_MULTISTREAM_NEGOTIATING,
  PUNCH_MULTISTREAM_DONE,
  PUNCH_MULTISTREAM_FAILED,
} PunchMultistreamState;

typedef struct _PunchMultistream PunchMultistream;

/* Whether a listener accepts @protocol (a valid protocol id). */
typedef gboolean (*PunchMultistreamMatchFunc) (const gchar *protocol,
                                               gpointer     user_data);

/* Message codec. */
gboolean punch_multistream_is_valid_protocol (const gchar   *protocol);
void     punch_multistream_write_message     (GByteArray    *out,
                                              const gchar   *line);
gboolean punch_multistream_read_message      (const guint8  *buf,
                                              gsize          len,
                                              gchar        **out_line,
                                              gsize         *out_consumed,
                                              GError       **error);

/* Negotiation machine. */
PunchMultistream     *punch_multistream_new_dialer                 (const gchar * const       *protocols);
PunchMultistream     *punch_multistream_new_listener               (PunchMultistreamMatchFunc  match,
                                                                    gpointer                   user_data,
                                                                    GDestroyNotify             user_data_free);
PunchMultistream     *punch_multistream_new_listener_for_protocols (const gchar * const       *protocols);
void                  punch_multistream_free                       (PunchMultistream          *ms);

gboolean              punch_multistream_is_dialer                  (PunchMultistream          *ms);
void                  punch_multistream_start                      (PunchMultistream          *ms);
gboolean              punch_multistream_receive                    (PunchMultistream          *ms,
                                                                    const guint8              *buf,
                                                                    gsize                      len,
                                                                    GError                   **error);
GBytes               *punch_multistream_pull_output                (PunchMultistream          *ms);
PunchMultistreamState punch_multistream_get_state                  (PunchMultistream          *ms);
const gchar          *punch_multistream_get_protocol               (PunchMultistream          *ms);
GBytes               *punch_multistream_steal_remaining            (PunchMultistream          *ms);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchMultistream, punch_multistream_free)

G_END_DECLS
