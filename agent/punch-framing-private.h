/* punch-framing-private.h: length-prefixed message framing, sans-I/O (internal).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "punch-framing.h"

G_BEGIN_DECLS

/*
 * Every libp2p protobuf protocol (identify, AutoNAT, circuit relay v2,
 * DCUtR) delimits its messages with an unsigned varint length followed by
 * that many bytes of payload. Each protocol sets its own maximum payload
 * size (DCUtR: 4 KiB, relay/DCUtR.md), which callers pass as max_size; a
 * length above it is refused as soon as the varint is complete, before
 * any of the payload is buffered.
 */

typedef enum {
  PUNCH_FRAMING_STATUS_ERROR,
  PUNCH_FRAMING_STATUS_NEED_MORE,
  PUNCH_FRAMING_STATUS_FRAME,
} PunchFramingStatus;

GBytes             *punch_framing_encode (const guint8  *payload,
                                          gsize          len,
                                          gsize          max_size,
                                          GError       **error);
gboolean            punch_framing_append (GByteArray    *out,
                                          const guint8  *payload,
                                          gsize          len,
                                          gsize          max_size,
                                          GError       **error);
PunchFramingStatus  punch_framing_parse  (const guint8  *buf,
                                          gsize          len,
                                          gsize          max_size,
                                          gsize         *out_payload_offset,
                                          gsize         *out_payload_len,
                                          GError       **error);

/* A decoder for a byte stream: feed it whatever arrived, pop frames. */
typedef struct _PunchFramingDecoder PunchFramingDecoder;

PunchFramingDecoder *punch_framing_decoder_new          (gsize                max_size);
void                 punch_framing_decoder_free         (PunchFramingDecoder *self);
gboolean             punch_framing_decoder_feed         (PunchFramingDecoder *self,
                                                         const guint8        *data,
                                                         gsize                len,
                                                         GError             **error);
GBytes              *punch_framing_decoder_pop          (PunchFramingDecoder *self);
gsize                punch_framing_decoder_get_buffered (PunchFramingDecoder *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchFramingDecoder, punch_framing_decoder_free)

G_END_DECLS
