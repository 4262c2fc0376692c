/* punch-test-agent.h: looking into a PunchAgent's addresses, shared by
 * the agent tests.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "punch-agent.h"

/* The first address of @origin in @addresses (owned by the array). */
static inline PunchAgentAddress *
find_origin (GPtrArray          *addresses,
             PunchAddressOrigin  origin)
{
  for (guint i = 0; i < addresses->len; i++)
    if (punch_agent_address_get_origin (g_ptr_array_index (addresses, i)) == origin)
      return g_ptr_array_index (addresses, i);
  return NULL;
}

static inline gboolean
has_origin (PunchAgent         *agent,
            PunchAddressOrigin  origin)
{
  g_autoptr(GPtrArray) addresses = punch_agent_get_addresses (agent);

  return find_origin (addresses, origin) != NULL;
}
