/* punch-identify-info.c: PunchIdentifyInfo, what a peer says about itself.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-identify.h"

#include "punch-identify-private.h"


/**
 * PunchIdentifyInfo:
 *
 * What a peer told about itself with identify (or identify push): its
 * agent and protocol versions, public key, listen addresses, the
 * protocols it accepts, and the address it saw this host at.
 *
 * Since: 0.1
 */

/**
 * punch_identify_info_ref:
 * @info: an identify record
 *
 * Takes a reference on @info.
 *
 * Returns: (transfer full): @info
 *
 * Since: 0.1
 */
PunchIdentifyInfo *
punch_identify_info_ref (PunchIdentifyInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);

  g_atomic_ref_count_inc (&info->ref_count);
  return info;
}

/**
 * punch_identify_info_unref:
 * @info: (transfer full): an identify record
 *
 * Drops a reference on @info; the last one frees it.
 *
 * Since: 0.1
 */
void
punch_identify_info_unref (PunchIdentifyInfo *info)
{
  g_return_if_fail (info != NULL);

  if (!g_atomic_ref_count_dec (&info->ref_count))
    return;

  g_clear_pointer (&info->peer_id, punch_peer_id_unref);
  g_free (info->protocol_version);
  g_free (info->agent_version);
  g_clear_object (&info->public_key);
  g_ptr_array_unref (info->listen_addrs);
  g_clear_pointer (&info->observed_addr, punch_multiaddr_unref);
  g_ptr_array_unref (info->protocols);
  g_free (info);
}

G_DEFINE_BOXED_TYPE (PunchIdentifyInfo, punch_identify_info,
                     punch_identify_info_ref, punch_identify_info_unref)

/**
 * punch_identify_info_get_peer_id:
 * @info: an identify record
 *
 * Gets the peer the record describes: the authenticated remote peer of the
 * connection it came over.
 *
 * Returns: (transfer none) (nullable): the peer the record describes
 *
 * Since: 0.1
 */
PunchPeerId *
punch_identify_info_get_peer_id (PunchIdentifyInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->peer_id;
}

/**
 * punch_identify_info_get_protocol_version:
 * @info: an identify record
 *
 * Gets the protocolVersion the peer sent, such as `ipfs/0.1.0`.
 *
 * Returns: (transfer none) (nullable): the peer's protocolVersion
 *
 * Since: 0.1
 */
const gchar *
punch_identify_info_get_protocol_version (PunchIdentifyInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->protocol_version;
}

/**
 * punch_identify_info_get_agent_version:
 * @info: an identify record
 *
 * Gets the agentVersion the peer sent: the name and version of its
 * implementation.
 *
 * Returns: (transfer none) (nullable): the peer's agentVersion, such as
 *   `punch/0.1.0` or `js-libp2p/3.3.11 node/v20.20.2`
 *
 * Since: 0.1
 */
const gchar *
punch_identify_info_get_agent_version (PunchIdentifyInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->agent_version;
}

/**
 * punch_identify_info_get_public_key:
 * @info: an identify record
 *
 * Gets the public key the peer sent.
 *
 * Returns: (transfer none) (nullable): the public key the peer sent; it
 *   always matches the peer id
 *
 * Since: 0.1
 */
PunchPublicKey *
punch_identify_info_get_public_key (PunchIdentifyInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->public_key;
}

/**
 * punch_identify_info_get_listen_addresses:
 * @info: an identify record
 *
 * Gets the addresses the peer says it listens on.
 *
 * Returns: (transfer none) (element-type Punch.Multiaddr): the addresses
 *   the peer says it listens on, without a `/p2p` component
 *
 * Since: 0.1
 */
GPtrArray *
punch_identify_info_get_listen_addresses (PunchIdentifyInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->listen_addrs;
}

/**
 * punch_identify_info_get_observed_address:
 * @info: an identify record
 *
 * Gets the address the peer saw this host at (identify's observedAddr).
 *
 * Returns: (transfer none) (nullable): the address the peer saw this
 *   host connect from, on the connection the record came over
 *
 * Since: 0.1
 */
PunchMultiaddr *
punch_identify_info_get_observed_address (PunchIdentifyInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return info->observed_addr;
}

/**
 * punch_identify_info_get_protocols:
 * @info: an identify record
 *
 * Gets the protocol ids the peer announced.
 *
 * Returns: (transfer none) (array zero-terminated=1): the protocol ids
 *   the peer accepts streams for
 *
 * Since: 0.1
 */
const gchar * const *
punch_identify_info_get_protocols (PunchIdentifyInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  return (const gchar * const *) info->protocols->pdata;
}

/**
 * punch_identify_info_has_protocol:
 * @info: an identify record
 * @protocol: a protocol id
 *
 * Checks whether the peer announced @protocol.
 *
 * Returns: whether the peer announced @protocol
 *
 * Since: 0.1
 */
gboolean
punch_identify_info_has_protocol (PunchIdentifyInfo *info,
                                  const gchar       *protocol)
{
  g_return_val_if_fail (info != NULL, FALSE);
  g_return_val_if_fail (protocol != NULL, FALSE);

  for (guint i = 0; i < info->protocols->len; i++)
    if (g_str_equal (info->protocols->pdata[i], protocol))
      return TRUE;
  return FALSE;
}
