/* punch-multiaddr-private.h: internal multiaddr helpers.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "punch-multiaddr.h"

G_BEGIN_DECLS

/* Bounds on what the parsers accept (PUNCH_ERROR_TOO_LARGE above them). */
#define PUNCH_MULTIADDR_MAX_LEN 1024        /* binary form, bytes */
#define PUNCH_MULTIADDR_MAX_COMPONENTS 64
#define PUNCH_MULTIADDR_MAX_TEXT_LEN 4096   /* text form, bytes */

/* Scope of a raw IPv4 (4 bytes) or IPv6 (16 bytes) address, with the
 * rules of punch_multiaddr_get_scope(). */
PunchMultiaddrScope punch_ip_address_get_scope   (const guint8              *ip,
                                                  gsize                      len,
                                                  PunchMultiaddrScopeFlags   flags);
PunchMultiaddrScope punch_inet_address_get_scope (GInetAddress              *address,
                                                  PunchMultiaddrScopeFlags   flags);

/* The raw value of component @index, valid as long as @self. */
const guint8       *punch_multiaddr_peek_value   (PunchMultiaddr            *self,
                                                  guint                      index,
                                                  gsize                     *out_len);

G_END_DECLS
