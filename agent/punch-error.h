/* punch-error.h: the PUNCH_ERROR domain.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "punch-version.h"

G_BEGIN_DECLS

/**
 * PUNCH_ERROR:
 *
 * The error domain of Punch's core codecs, identities and connections.
 * Errors in this domain are from the [enum@Punch.Error] enumeration.
 *
 * Since: 0.1
 */
#define PUNCH_ERROR (punch_error_quark ())

/**
 * PunchError:
 * @PUNCH_ERROR_FAILED: a failure with no more specific code
 * @PUNCH_ERROR_MALFORMED: the input does not follow its format (a bad
 *   varint, multiaddr, protobuf message, key or peer id)
 * @PUNCH_ERROR_TRUNCATED: the input ended in the middle of a value
 * @PUNCH_ERROR_TOO_LARGE: the input exceeds the size allowed for it
 * @PUNCH_ERROR_UNSUPPORTED: the input is well formed but names a
 *   protocol, key type or algorithm Punch does not implement
 * @PUNCH_ERROR_BAD_SIGNATURE: a signature does not verify
 * @PUNCH_ERROR_KEY_FILE: a key file cannot be read, written or has the
 *   wrong permissions or contents
 * @PUNCH_ERROR_PEER_ID_MISMATCH: a remote peer authenticated with another
 *   identity than the one expected
 * @PUNCH_ERROR_PROTOCOL: a remote peer broke a protocol's rules
 * @PUNCH_ERROR_CLOSED: the connection or stream is closed
 *
 * Error codes of the %PUNCH_ERROR domain.
 *
 * Since: 0.1
 */
typedef enum {
  PUNCH_ERROR_FAILED,
  PUNCH_ERROR_MALFORMED,
  PUNCH_ERROR_TRUNCATED,
  PUNCH_ERROR_TOO_LARGE,
  PUNCH_ERROR_UNSUPPORTED,
  PUNCH_ERROR_BAD_SIGNATURE,
  PUNCH_ERROR_KEY_FILE,
  PUNCH_ERROR_PEER_ID_MISMATCH,
  PUNCH_ERROR_PROTOCOL,
  PUNCH_ERROR_CLOSED,
} PunchError;

PUNCH_AVAILABLE_IN_0_1
GQuark punch_error_quark (void);

G_END_DECLS
