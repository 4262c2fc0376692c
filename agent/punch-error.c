/* punch-error.c
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-error.h"

/**
 * punch_error_quark:
 *
 * The quark of the %PUNCH_ERROR domain.
 *
 * Returns: the error domain quark
 *
 * Since: 0.1
 */
G_DEFINE_QUARK (punch-error-quark, punch_error)
