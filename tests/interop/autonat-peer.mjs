#!/usr/bin/env node
// autonat-peer.mjs: a js-libp2p AutoNAT v1 node for the NAT lab.
//
// Copyright 2026 The Punch developers
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// A js-libp2p node (the pinned versions of package.json) with TCP, libp2p
// TLS, yamux, identify and @libp2p/autonat, which is at once an AutoNAT v1
// server (it answers /libp2p/autonat/1.0.0 Dial requests) and a client (it
// asks the AutoNAT servers it connects to about its own unverified
// addresses). tests/lab/autonat_interop.py runs it on lab hosts against
// Punch's AutoNAT servers and Punch's client.
//
// Usage: node autonat-peer.mjs --listen MULTIADDR [--connect MULTIADDR...]
//                              [--map-public IP:PORT] [--timeout-ms N]
//
//   --listen      the address to listen on (the lab host's own IP)
//   --connect     an AutoNAT server to connect to once listening (repeatable)
//   --map-public  tell the address manager that a gateway forwards IP:PORT
//                 to the listen address, as @libp2p/upnp-nat does after a
//                 port mapping; AutoNAT then verifies IP:PORT. Behind a
//                 NAT a TCP-only js-libp2p node has nothing else to ask
//                 about: its LAN address is private, and identify ignores
//                 observed TCP addresses (js-libp2p issue 2620, noted in
//                 @libp2p/identify)
//   --timeout-ms  the AutoNAT service's timeout (default js-libp2p's, 30 s)
//
// Everything it says is one JSON object per line on stdout:
//   {"event":"listening","peer_id":...,"addrs":[...],"announced":[...]}  first line
//   {"event":"connected","peer_id":...,"addr":...} / {"event":"connect-failed","addr":...,"error":...}
//   {"event":"identify","peer_id":...,"protocols":[...],"observed_addr":...}
//   {"event":"autonat-request","peer_id":...,"remote_addr":...,"addrs":[...],
//    "status":"OK"|"E_DIAL_ERROR"|...,"status_text":...,"addr":...}
//        this node, as a server, answered a Dial
//   {"event":"reachability","value":"public"|"private","addr":...,"type":...,
//    "success":N,"failure":N,"verifiers":[...],"announced":[...]}
//        this node, as a client, decided about one of its addresses: AutoNAT
//        confirmed it (public) or gave up on it (private); "announced" is
//        what the node announces afterwards (its verified addresses)
// Logs and errors go to stderr. It exits when stdin closes, or on SIGTERM.
//
// What differs from a stock js-libp2p node, each only where the lab needs
// it (the AutoNAT messages on the wire stay js-libp2p's own):
//  1. The lab's internet uses the documentation ranges 198.51.100.0/24 and
//     203.0.113.0/24, which @libp2p/utils' isPrivate() counts as private:
//     the server would refuse to dial them, the client would never ask
//     about them and identify would drop them. Only those two ranges are
//     made public here (RFC 1918, loopback and the rest stay private), by
//     making the Netmask objects of exactly those two ranges, which
//     isPrivate() tests against, contain nothing.
//  2. The client counts one answer per "network segment", the first octet
//     of the server's IP, so that servers in one network cannot outvote
//     the others; it needs 8 failures (4 successes for an observed
//     address). All lab servers share the octet 198: here a segment is the
//     server's whole IP, i.e. every lab host counts as its own network.
//  3. The server dials a requester back with connectionManager.openConnection
//     (multiaddr), which returns the requester's existing connection (the
//     one the Dial came over) instead of dialing; unless that connection
//     came from the very address asked about (TCP port reuse, which neither
//     js-libp2p nor Punch does), it then answers E_DIAL_ERROR "Unexpected
//     remote address" without ever dialing. Its handleAutonatMessage is
//     wrapped to pass {force: true}, so the dial-back is a new connection,
//     as the specification means.

import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const here = dirname(fileURLToPath(import.meta.url))
if (!existsSync(join(here, 'node_modules', 'libp2p', 'package.json'))) {
  console.error(`autonat-peer.mjs: ${join(here, 'node_modules')} is missing; run\n` +
                '  npm ci --prefix tests/interop')
  process.exit(1)
}

await import('./polyfill.mjs')

const { createLibp2p } = await import('libp2p')
const { tcp } = await import('@libp2p/tcp')
const { tls } = await import('@libp2p/tls')
const { yamux } = await import('@libp2p/yamux')
const { identify } = await import('@libp2p/identify')
const { autoNAT } = await import('@libp2p/autonat')
const { multiaddr } = await import('@multiformats/multiaddr')

function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function usage (message) {
  console.error(`autonat-peer.mjs: ${message}\n` +
                'usage: node autonat-peer.mjs --listen MULTIADDR [--connect MULTIADDR...] ' +
                '[--map-public IP:PORT] [--timeout-ms N]')
  process.exit(2)
}

let args
try {
  args = parseArgs({
    options: {
      listen: { type: 'string' },
      connect: { type: 'string', multiple: true, default: [] },
      'map-public': { type: 'string' },
      'timeout-ms': { type: 'string' }
    }
  }).values
} catch (err) {
  usage(err.message)
}
if (args.listen == null) {
  usage('--listen is needed')
}
const listenAddr = multiaddr(args.listen)
const timeoutMs = args['timeout-ms'] == null ? undefined : Number(args['timeout-ms'])
if (timeoutMs !== undefined && !(timeoutMs > 0)) {
  usage('--timeout-ms must be a positive number')
}

// The IP of an /ip4|ip6/... multiaddr, or undefined.
function ipOf (ma) {
  return ma.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')?.value
}

// 1. The lab's documentation ranges are public to this node. Netmask is
// resolved from @libp2p/utils, so that it is the very class (one module
// instance) whose objects isPrivate() tests against.
const LAB_PUBLIC_RANGES = new Set(['198.51.100.0/24', '203.0.113.0/24'])
{
  const requireFromUtils = createRequire(join(here, 'node_modules', '@libp2p', 'utils', 'package.json'))
  const { Netmask } = requireFromUtils('netmask')
  const contains = Netmask.prototype.contains
  Netmask.prototype.contains = function (ip) {
    if (LAB_PUBLIC_RANGES.has(`${this.base}/${this.bitmask}`)) {
      return false
    }
    return contains.call(this, ip)
  }
}

const node = await createLibp2p({
  addresses: { listen: [listenAddr.toString()] },
  transports: [tcp()],
  connectionEncrypters: [tls()],
  streamMuxers: [yamux()],
  services: {
    identify: identify(),
    autonat: autoNAT(timeoutMs === undefined ? {} : { timeout: timeoutMs })
  }
})

const service = node.services.autonat

// 2. One network segment per server IP.
service.getNetworkSegment = (ma) => {
  const ip = ipOf(ma)
  if (ip == null) {
    throw new Error(`remote address ${ma} is not an IP address`)
  }
  return ip
}

// 3. Dial-backs on a new connection; and say what was answered.
{
  const handle = service.handleAutonatMessage
  service.handleAutonatMessage = async function (message, connection, options) {
    const response = await handle.call(this, message, connection, { ...options, force: true })
    const dialResponse = response.dialResponse ?? {}
    emit({
      event: 'autonat-request',
      peer_id: connection.remotePeer.toString(),
      remote_addr: connection.remoteAddr.toString(),
      addrs: (message.dial?.peer?.addrs ?? []).map(bytes => {
        try {
          return multiaddr(bytes).toString()
        } catch {
          return null
        }
      }),
      status: dialResponse.status ?? null,
      status_text: dialResponse.statusText ?? null,
      addr: dialResponse.addr == null ? null : multiaddr(dialResponse.addr).toString()
    })
    return response
  }
}

// The client's decisions: js-libp2p has no single reachability verdict;
// its AutoNAT confirms or gives up on each address (confirmAddress /
// unconfirmAddress, called once the results reach its thresholds).
function reportDecision (value, results) {
  emit({
    event: 'reachability',
    value,
    addr: results.multiaddr.toString(),
    type: results.type,
    success: results.success,
    failure: results.failure,
    verifiers: [...results.verifyingPeers].map(p => p.toString()),
    announced: node.getMultiaddrs().map(a => a.toString())
  })
}
for (const [method, value] of [['confirmAddress', 'public'], ['unconfirmAddress', 'private']]) {
  const original = service[method]
  service[method] = function (results) {
    const out = original.call(this, results)
    reportDecision(value, results)
    return out
  }
}

node.addEventListener('connection:open', (evt) => {
  const c = evt.detail
  emit({
    event: 'connection-opened',
    peer_id: c.remotePeer.toString(),
    remote_addr: c.remoteAddr.toString(),
    direction: c.direction
  })
})
node.addEventListener('peer:identify', (evt) => {
  const r = evt.detail
  emit({
    event: 'identify',
    peer_id: r.peerId.toString(),
    protocols: r.protocols ?? [],
    listen_addrs: (r.listenAddrs ?? []).map(a => a.toString()),
    observed_addr: r.observedAddr == null ? null : r.observedAddr.toString()
  })
})

if (args['map-public'] != null) {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(args['map-public'])
  const internalIp = ipOf(listenAddr)
  const internalPort = Number(listenAddr.getComponents().find(c => c.name === 'tcp')?.value)
  if (m == null || internalIp == null || !(internalPort > 0)) {
    usage('--map-public needs IP:PORT and a --listen /ip4/IP/tcp/PORT with a port')
  }
  // What @libp2p/upnp-nat does once a gateway has mapped a port: an
  // unverified address for AutoNAT to check.
  node.components.addressManager.addPublicAddressMapping(internalIp, internalPort, m[1], Number(m[2]), 'tcp')
}

let quitting = false
async function quit (code) {
  if (quitting) return
  quitting = true
  try {
    await node.stop()
  } catch (err) {
    console.error('stop failed:', err)
  }
  process.exit(code)
}

// "addrs": where it listens (an unverified public address is not announced
// yet, so node.getMultiaddrs() may not list it).
emit({
  event: 'listening',
  peer_id: node.peerId.toString(),
  addrs: node.components.transportManager.getAddrs()
    .map(a => a.encapsulate(`/p2p/${node.peerId.toString()}`).toString()),
  announced: node.getMultiaddrs().map(a => a.toString())
})

createInterface({ input: process.stdin }).on('close', () => quit(0))
process.on('SIGTERM', () => quit(0))
process.on('SIGINT', () => quit(0))

// One at a time, in the given order: each connection's identify triggers
// an AutoNAT request.
for (const addr of args.connect) {
  try {
    const c = await node.dial(multiaddr(addr), { signal: AbortSignal.timeout(20000) })
    emit({ event: 'connected', peer_id: c.remotePeer.toString(), addr })
  } catch (err) {
    emit({ event: 'connect-failed', addr, error: `${err.name}: ${err.message}` })
  }
}
