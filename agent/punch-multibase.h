/* punch-multibase.h: base58btc, base32 and base16 codecs (internal).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Longest text punch_base58btc_decode() accepts (base58 is quadratic). */
#define PUNCH_BASE58_MAX_TEXT_LEN 512

gchar  *punch_base58btc_encode (const guint8 *data,
                                gsize         len);
GBytes *punch_base58btc_decode (const gchar  *text,
                                GError      **error);
gchar  *punch_base32_encode    (const guint8 *data,
                                gsize         len);
GBytes *punch_base32_decode    (const gchar  *text,
                                GError      **error);
gchar  *punch_base16_encode    (const guint8 *data,
                                gsize         len);
GBytes *punch_base16_decode    (const gchar  *text,
                                GError      **error);
gchar  *punch_base64url_encode (const guint8 *data,
                                gsize         len);
GBytes *punch_base64url_decode (const gchar  *text,
                                GError      **error);

G_END_DECLS
