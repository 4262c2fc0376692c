/* punch-ping-private.h: the ping protocol, sans-I/O (internal).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "punch-ping.h"

G_BEGIN_DECLS

/*
 * Ping (libp2p/specs ping/ping.md): the dialer writes 32 random bytes, the
 * listener echoes them; the dialer may repeat on the same stream and
 * closes its write side after the last payload; the listener then closes
 * the stream.
 *
 * Responder bounds (the specification leaves them open):
 *  - payloads are echoed whole: bytes are buffered until 32 have come,
 *    and a stream that ends inside a payload gets no partial echo;
 *  - a token bucket of PUNCH_PING_RESPONDER_BURST payloads, refilled
 *    at one payload per PUNCH_PING_RESPONDER_REFILL_US, bounds the rate
 *    per stream: real pingers (js-libp2p every 10 s, rust-libp2p every
 *    15 s on one long-lived stream, `punch ping` every second) never
 *    reach it; a peer that floods gets PUNCH_ERROR_PROTOCOL and the
 *    stream is reset;
 *  - the shell accepts at most PUNCH_PING_MAX_INBOUND_STREAMS ping
 *    streams per connection at once (ping.md: "at most two").
 */

#define PUNCH_PING_PAYLOAD_SIZE 32
#define PUNCH_PING_RESPONDER_BURST 16
#define PUNCH_PING_RESPONDER_REFILL_US (100 * 1000)
#define PUNCH_PING_MAX_INBOUND_STREAMS 2

typedef struct _PunchPingResponder PunchPingResponder;

PunchPingResponder *punch_ping_responder_new          (gint64               now_us);
void                punch_ping_responder_free         (PunchPingResponder  *self);
gboolean            punch_ping_responder_receive      (PunchPingResponder  *self,
                                                       const guint8        *data,
                                                       gsize                len,
                                                       gint64               now_us,
                                                       GError             **error);
GBytes             *punch_ping_responder_pull_output  (PunchPingResponder  *self);
guint64             punch_ping_responder_get_n_echoed (PunchPingResponder  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchPingResponder, punch_ping_responder_free)

typedef struct _PunchPingInitiator PunchPingInitiator;

PunchPingInitiator *punch_ping_initiator_new          (void);
void                punch_ping_initiator_free         (PunchPingInitiator  *self);
GBytes             *punch_ping_initiator_start        (PunchPingInitiator  *self,
                                                       const guint8        *payload,
                                                       gint64               now_us,
                                                       GError             **error);
gboolean            punch_ping_initiator_receive      (PunchPingInitiator  *self,
                                                       const guint8        *data,
                                                       gsize                len,
                                                       gint64               now_us,
                                                       gint64              *out_rtt_us,
                                                       GError             **error);
gboolean            punch_ping_initiator_is_waiting   (PunchPingInitiator  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchPingInitiator, punch_ping_initiator_free)

G_END_DECLS
