/* punch.h: the whole public API of libpunch-1.0.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "punch-version.h"
#include "punch-enum-types.h"
#include "punch-error.h"
#include "punch-public-key.h"
#include "punch-peer-id.h"
#include "punch-keypair.h"
#include "punch-framing.h"
#include "punch-multiaddr.h"
#include "punch-connection.h"
#include "punch-stream.h"
#include "punch-host.h"
#include "punch-identify.h"
#include "punch-ping.h"
#include "punch-relay.h"
#include "punch-autonat.h"
#include "punch-stun-server.h"
#include "punch-agent.h"
#include "punch-relay-client.h"
