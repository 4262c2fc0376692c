/* punch-multiaddr.h: multiaddrs, self-describing network addresses.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "punch-version.h"
#include "punch-peer-id.h"

G_BEGIN_DECLS

/**
 * PunchMultiaddrProtocol:
 * @PUNCH_MULTIADDR_PROTOCOL_IP4: `ip4`, an IPv4 address
 * @PUNCH_MULTIADDR_PROTOCOL_TCP: `tcp`, a TCP port
 * @PUNCH_MULTIADDR_PROTOCOL_DCCP: `dccp`, a DCCP port
 * @PUNCH_MULTIADDR_PROTOCOL_IP6: `ip6`, an IPv6 address
 * @PUNCH_MULTIADDR_PROTOCOL_IP6ZONE: `ip6zone`, the RFC 4007 zone of the
 *   `ip6` address that follows
 * @PUNCH_MULTIADDR_PROTOCOL_IPCIDR: `ipcidr`, a CIDR prefix length
 * @PUNCH_MULTIADDR_PROTOCOL_DNS: `dns`, a domain name (IPv4 or IPv6)
 * @PUNCH_MULTIADDR_PROTOCOL_DNS4: `dns4`, a domain name (IPv4 only)
 * @PUNCH_MULTIADDR_PROTOCOL_DNS6: `dns6`, a domain name (IPv6 only)
 * @PUNCH_MULTIADDR_PROTOCOL_DNSADDR: `dnsaddr`, a domain with
 *   `_dnsaddr` TXT records
 * @PUNCH_MULTIADDR_PROTOCOL_SCTP: `sctp`, an SCTP port
 * @PUNCH_MULTIADDR_PROTOCOL_UDP: `udp`, a UDP port
 * @PUNCH_MULTIADDR_PROTOCOL_P2P_WEBRTC_STAR: `p2p-webrtc-star` (deprecated)
 * @PUNCH_MULTIADDR_PROTOCOL_P2P_WEBRTC_DIRECT: `p2p-webrtc-direct` (deprecated)
 * @PUNCH_MULTIADDR_PROTOCOL_P2P_STARDUST: `p2p-stardust` (deprecated)
 * @PUNCH_MULTIADDR_PROTOCOL_WEBRTC_DIRECT: `webrtc-direct`
 * @PUNCH_MULTIADDR_PROTOCOL_WEBRTC: `webrtc`
 * @PUNCH_MULTIADDR_PROTOCOL_P2P_CIRCUIT: `p2p-circuit`, a circuit relay
 * @PUNCH_MULTIADDR_PROTOCOL_UDT: `udt`
 * @PUNCH_MULTIADDR_PROTOCOL_UTP: `utp`
 * @PUNCH_MULTIADDR_PROTOCOL_UNIX: `unix`, a Unix domain socket path
 * @PUNCH_MULTIADDR_PROTOCOL_P2P: `p2p` (also read as `ipfs`), a peer id
 * @PUNCH_MULTIADDR_PROTOCOL_HTTPS: `https` (deprecated alias of `tls/http`)
 * @PUNCH_MULTIADDR_PROTOCOL_ONION: `onion`, a Tor v2 onion service and port
 * @PUNCH_MULTIADDR_PROTOCOL_ONION3: `onion3`, a Tor v3 onion service and port
 * @PUNCH_MULTIADDR_PROTOCOL_TLS: `tls`
 * @PUNCH_MULTIADDR_PROTOCOL_SNI: `sni`, a TLS server name
 * @PUNCH_MULTIADDR_PROTOCOL_NOISE: `noise`
 * @PUNCH_MULTIADDR_PROTOCOL_QUIC: `quic` (draft-29)
 * @PUNCH_MULTIADDR_PROTOCOL_QUIC_V1: `quic-v1`
 * @PUNCH_MULTIADDR_PROTOCOL_WEBTRANSPORT: `webtransport`
 * @PUNCH_MULTIADDR_PROTOCOL_CERTHASH: `certhash`, a multihash of a
 *   certificate
 * @PUNCH_MULTIADDR_PROTOCOL_WS: `ws`, WebSockets
 * @PUNCH_MULTIADDR_PROTOCOL_WSS: `wss` (deprecated alias of `tls/ws`)
 * @PUNCH_MULTIADDR_PROTOCOL_P2P_WEBSOCKET_STAR: `p2p-websocket-star` (deprecated)
 * @PUNCH_MULTIADDR_PROTOCOL_HTTP: `http`
 *
 * The multiaddr protocols Punch reads and writes, valued by their code in
 * the multiaddr protocol table (multiformats/multiaddr protocols.csv).
 * The nick of each value is the protocol's name in text multiaddrs.
 *
 * Since: 0.1
 */
typedef enum {
  PUNCH_MULTIADDR_PROTOCOL_IP4 = 4,
  PUNCH_MULTIADDR_PROTOCOL_TCP = 6,
  PUNCH_MULTIADDR_PROTOCOL_DCCP = 33,
  PUNCH_MULTIADDR_PROTOCOL_IP6 = 41,
  PUNCH_MULTIADDR_PROTOCOL_IP6ZONE = 42,
  PUNCH_MULTIADDR_PROTOCOL_IPCIDR = 43,
  PUNCH_MULTIADDR_PROTOCOL_DNS = 53,
  PUNCH_MULTIADDR_PROTOCOL_DNS4 = 54,
  PUNCH_MULTIADDR_PROTOCOL_DNS6 = 55,
  PUNCH_MULTIADDR_PROTOCOL_DNSADDR = 56,
  PUNCH_MULTIADDR_PROTOCOL_SCTP = 132,
  PUNCH_MULTIADDR_PROTOCOL_UDP = 273,
  PUNCH_MULTIADDR_PROTOCOL_P2P_WEBRTC_STAR = 275,
  PUNCH_MULTIADDR_PROTOCOL_P2P_WEBRTC_DIRECT = 276,
  PUNCH_MULTIADDR_PROTOCOL_P2P_STARDUST = 277,
  PUNCH_MULTIADDR_PROTOCOL_WEBRTC_DIRECT = 280,
  PUNCH_MULTIADDR_PROTOCOL_WEBRTC = 281,
  PUNCH_MULTIADDR_PROTOCOL_P2P_CIRCUIT = 290,
  PUNCH_MULTIADDR_PROTOCOL_UDT = 301,
  PUNCH_MULTIADDR_PROTOCOL_UTP = 302,
  PUNCH_MULTIADDR_PROTOCOL_UNIX = 400,
  PUNCH_MULTIADDR_PROTOCOL_P2P = 421,
  PUNCH_MULTIADDR_PROTOCOL_HTTPS = 443,
  PUNCH_MULTIADDR_PROTOCOL_ONION = 444,
  PUNCH_MULTIADDR_PROTOCOL_ONION3 = 445,
  PUNCH_MULTIADDR_PROTOCOL_TLS = 448,
  PUNCH_MULTIADDR_PROTOCOL_SNI = 449,
  PUNCH_MULTIADDR_PROTOCOL_NOISE = 454,
  PUNCH_MULTIADDR_PROTOCOL_QUIC = 460,
  PUNCH_MULTIADDR_PROTOCOL_QUIC_V1 = 461,
  PUNCH_MULTIADDR_PROTOCOL_WEBTRANSPORT = 465,
  PUNCH_MULTIADDR_PROTOCOL_CERTHASH = 466,
  PUNCH_MULTIADDR_PROTOCOL_WS = 477,
  PUNCH_MULTIADDR_PROTOCOL_WSS = 478,
  PUNCH_MULTIADDR_PROTOCOL_P2P_WEBSOCKET_STAR = 479,
  PUNCH_MULTIADDR_PROTOCOL_HTTP = 480,
} PunchMultiaddrProtocol;

/**
 * PunchMultiaddrScope:
 * @PUNCH_MULTIADDR_SCOPE_UNKNOWN: the multiaddr has no `ip4` or `ip6`
 *   component (a DNS name, a relay-only `p2p` address, a Unix socket)
 * @PUNCH_MULTIADDR_SCOPE_LOOPBACK: the host itself: 127.0.0.0/8, ::1
 * @PUNCH_MULTIADDR_SCOPE_PRIVATE: a private or link-local network:
 *   10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 (RFC 1918), 100.64.0.0/10
 *   (RFC 6598 carrier-grade NAT), 169.254.0.0/16 (RFC 3927), fc00::/7
 *   (RFC 4193), fe80::/10 (RFC 4291)
 * @PUNCH_MULTIADDR_SCOPE_RESERVED: any other special-purpose address that
 *   is not globally reachable: unspecified, documentation, benchmarking,
 *   multicast, reserved and protocol-assignment ranges (the lists are in
 *   [method@Punch.Multiaddr.get_scope])
 * @PUNCH_MULTIADDR_SCOPE_PUBLIC: a globally reachable unicast address
 *
 * Where the first IP address of a multiaddr can be reached from.
 *
 * Since: 0.1
 */
typedef enum {
  PUNCH_MULTIADDR_SCOPE_UNKNOWN,
  PUNCH_MULTIADDR_SCOPE_LOOPBACK,
  PUNCH_MULTIADDR_SCOPE_PRIVATE,
  PUNCH_MULTIADDR_SCOPE_RESERVED,
  PUNCH_MULTIADDR_SCOPE_PUBLIC,
} PunchMultiaddrScope;

/**
 * PunchMultiaddrScopeFlags:
 * @PUNCH_MULTIADDR_SCOPE_FLAGS_NONE: classify by RFC 6890 and its
 *   successors as they are
 * @PUNCH_MULTIADDR_SCOPE_FLAGS_DOCUMENTATION_IS_PUBLIC: treat the
 *   documentation ranges 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24
 *   (RFC 5737), 2001:db8::/32 (RFC 3849) and 3fff::/20 (RFC 9637) as
 *   public. Test networks such as Punch's NAT lab use them as their
 *   "internet".
 *
 * Options of [method@Punch.Multiaddr.get_scope].
 *
 * Since: 0.1
 */
typedef enum {
  PUNCH_MULTIADDR_SCOPE_FLAGS_NONE = 0,
  PUNCH_MULTIADDR_SCOPE_FLAGS_DOCUMENTATION_IS_PUBLIC = 1 << 0,
} PunchMultiaddrScopeFlags;

#define PUNCH_TYPE_MULTIADDR (punch_multiaddr_get_type ())

typedef struct _PunchMultiaddr PunchMultiaddr;

PUNCH_AVAILABLE_IN_0_1
GType                  punch_multiaddr_get_type                    (void) G_GNUC_CONST;

PUNCH_AVAILABLE_IN_0_1
PunchMultiaddr        *punch_multiaddr_new_from_string             (const gchar             *text,
                                                                    GError                 **error);
PUNCH_AVAILABLE_IN_0_1
PunchMultiaddr        *punch_multiaddr_new_from_bytes              (GBytes                  *bytes,
                                                                    GError                 **error);
PUNCH_AVAILABLE_IN_0_1
PunchMultiaddr        *punch_multiaddr_new_from_data               (const guint8            *data,
                                                                    gsize                    len,
                                                                    GError                 **error);
PUNCH_AVAILABLE_IN_0_1
PunchMultiaddr        *punch_multiaddr_new_from_inet_socket_address (GInetSocketAddress     *address,
                                                                    PunchMultiaddrProtocol   transport);
PUNCH_AVAILABLE_IN_0_1
PunchMultiaddr        *punch_multiaddr_new_from_peer_id            (PunchPeerId             *peer_id);

PUNCH_AVAILABLE_IN_0_1
PunchMultiaddr        *punch_multiaddr_ref                         (PunchMultiaddr          *self);
PUNCH_AVAILABLE_IN_0_1
void                   punch_multiaddr_unref                       (PunchMultiaddr          *self);

PUNCH_AVAILABLE_IN_0_1
gchar                 *punch_multiaddr_to_string                   (PunchMultiaddr          *self);
PUNCH_AVAILABLE_IN_0_1
GBytes                *punch_multiaddr_get_bytes                   (PunchMultiaddr          *self);
PUNCH_AVAILABLE_IN_0_1
const guint8          *punch_multiaddr_get_data                    (PunchMultiaddr          *self,
                                                                    gsize                   *out_len);

PUNCH_AVAILABLE_IN_0_1
gboolean               punch_multiaddr_equal                       (gconstpointer            a,
                                                                    gconstpointer            b);
PUNCH_AVAILABLE_IN_0_1
guint                  punch_multiaddr_hash                        (gconstpointer            multiaddr);

PUNCH_AVAILABLE_IN_0_1
PunchMultiaddr        *punch_multiaddr_encapsulate                 (PunchMultiaddr          *self,
                                                                    PunchMultiaddr          *inner,
                                                                    GError                 **error);
PUNCH_AVAILABLE_IN_0_1
PunchMultiaddr        *punch_multiaddr_decapsulate                 (PunchMultiaddr          *self,
                                                                    PunchMultiaddr          *inner);
PUNCH_AVAILABLE_IN_0_1
PunchMultiaddr        *punch_multiaddr_decapsulate_protocol        (PunchMultiaddr          *self,
                                                                    PunchMultiaddrProtocol   protocol);

PUNCH_AVAILABLE_IN_0_1
guint                  punch_multiaddr_get_n_components            (PunchMultiaddr          *self);
PUNCH_AVAILABLE_IN_0_1
PunchMultiaddrProtocol punch_multiaddr_get_protocol                (PunchMultiaddr          *self,
                                                                    guint                    index);
PUNCH_AVAILABLE_IN_0_1
const gchar           *punch_multiaddr_get_protocol_name           (PunchMultiaddr          *self,
                                                                    guint                    index);
PUNCH_AVAILABLE_IN_0_1
gchar                 *punch_multiaddr_get_value_string            (PunchMultiaddr          *self,
                                                                    guint                    index);
PUNCH_AVAILABLE_IN_0_1
GBytes                *punch_multiaddr_get_value                   (PunchMultiaddr          *self,
                                                                    guint                    index);
PUNCH_AVAILABLE_IN_0_1
gint                   punch_multiaddr_find_protocol               (PunchMultiaddr          *self,
                                                                    PunchMultiaddrProtocol   protocol);

PUNCH_AVAILABLE_IN_0_1
PunchPeerId           *punch_multiaddr_get_peer_id                 (PunchMultiaddr          *self);
PUNCH_AVAILABLE_IN_0_1
GInetAddress          *punch_multiaddr_get_inet_address            (PunchMultiaddr          *self);
PUNCH_AVAILABLE_IN_0_1
GSocketAddress        *punch_multiaddr_to_inet_socket_address      (PunchMultiaddr          *self,
                                                                    PunchMultiaddrProtocol  *out_transport,
                                                                    GError                 **error);

PUNCH_AVAILABLE_IN_0_1
PunchMultiaddrScope    punch_multiaddr_get_scope                   (PunchMultiaddr          *self,
                                                                    PunchMultiaddrScopeFlags flags);
PUNCH_AVAILABLE_IN_0_1
gboolean               punch_multiaddr_is_public                   (PunchMultiaddr          *self);
PUNCH_AVAILABLE_IN_0_1
gboolean               punch_multiaddr_is_private                  (PunchMultiaddr          *self);
PUNCH_AVAILABLE_IN_0_1
gboolean               punch_multiaddr_is_loopback                 (PunchMultiaddr          *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchMultiaddr, punch_multiaddr_unref)

G_END_DECLS
