/* punch-error.c
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-error.h"

G_DEFINE_QUARK (punch-error-quark, punch_error)
