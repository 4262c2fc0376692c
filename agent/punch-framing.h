/* punch-framing.h: length-prefixed messages on GIO streams.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "punch-version.h"

G_BEGIN_DECLS

PUNCH_AVAILABLE_IN_0_1
void      punch_framing_read_async   (GInputStream         *stream,
                                      gsize                 max_size,
                                      int                   io_priority,
                                      GCancellable         *cancellable,
                                      GAsyncReadyCallback   callback,
                                      gpointer              user_data);
PUNCH_AVAILABLE_IN_0_1
GBytes   *punch_framing_read_finish  (GInputStream         *stream,
                                      GAsyncResult         *result,
                                      GError              **error);

PUNCH_AVAILABLE_IN_0_1
void      punch_framing_write_async  (GOutputStream        *stream,
                                      GBytes               *payload,
                                      int                   io_priority,
                                      GCancellable         *cancellable,
                                      GAsyncReadyCallback   callback,
                                      gpointer              user_data);
PUNCH_AVAILABLE_IN_0_1
gboolean  punch_framing_write_finish (GOutputStream        *stream,
                                      GAsyncResult         *result,
                                      GError              **error);

G_END_DECLS
