/* punch-varint.h: multiformats unsigned varints (internal).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Multiformats unsigned varint: LEB128, minimal encoding, at most 9
 * bytes, so values are below 2^63. */
#define PUNCH_VARINT_MAX_LEN 9
#define PUNCH_VARINT_MAX_VALUE G_GUINT64_CONSTANT (0x7fffffffffffffff)

gsize    punch_varint_encode (guint64       value,
                              guint8       *out);
gsize    punch_varint_size   (guint64       value);
gboolean punch_varint_decode (const guint8 *buf,
                              gsize         len,
                              guint64      *out_value,
                              gsize        *out_consumed,
                              GError      **error);

G_END_DECLS
