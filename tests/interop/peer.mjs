#!/usr/bin/env node
// peer.mjs: the js-libp2p reference peer that Punch's interop tests drive.
//
// Copyright 2026 The Punch developers
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// A js-libp2p node (the pinned versions of package.json) with TCP, libp2p
// TLS, yamux, identify, identify push, ping (and js-libp2p's connection
// monitor, which pings every connection every 10 s) and the echo protocol
// /punch/echo/1.0.0. It listens on 127.0.0.1 only.
//
// Usage: node peer.mjs [--no-listen] [--relay-client] [--listen-relay MULTIADDR]
//                      [--relay-server [--relay-max-data BYTES]
//                                      [--relay-max-duration-ms MS]]
//   --relay-client     adds circuit relay v2's transport: the node dials
//                      /p2p-circuit addresses and accepts relayed connections
//   --listen-relay A   (implies --relay-client) reserves on the relay at A
//                      (/ip4/…/tcp/PORT/p2p/RELAY) before it says "listening";
//                      its addresses then include A/p2p-circuit/p2p/SELF
//   --relay-server     serves circuit relay v2 (hop). js-libp2p applies a
//                      limit to every circuit, 128 KiB and 2 minutes unless
//                      --relay-max-data / --relay-max-duration-ms say
//                      otherwise (its data limit counts both directions
//                      together; its duration is in milliseconds, and it
//                      sends that number in the Limit's duration field)
//
// Everything it says is one JSON object per line on stdout:
//   {"event":"listening","peer_id":...,"addrs":[...]}            first line
//   {"event":"connection-opened","peer_id":...,"remote_addr":...,"direction":...,
//    "limited":BOOL}                                  (limited: a relayed connection)
//   {"event":"connection-closed","peer_id":...,"remote_addr":...}
//   {"event":"identify","peer_id":...,"agent_version":...,"protocol_version":...,
//    "protocols":[...],"listen_addrs":[...],"observed_addr":...}
//   {"event":"stream-opened","peer_id":...,"protocol":...}
//   {"reply":ID,"ok":true,...} / {"reply":ID,"ok":false,"error":...}
// Commands come on stdin, one JSON object per line, each with an "id":
//   {"id":1,"cmd":"dial","addr":MULTIADDR}
//        -> peer_id, remote_addr, limited, limit_bytes, limit_seconds
//           (the limits left on a relayed connection, null for none)
//   {"id":2,"cmd":"ping","peer":PEER_ID[,"count":N]} -> rtts (ms)
//   {"id":3,"cmd":"echo","peer":PEER_ID,"streams":N,"bytes":M,"seed":S[,"relayed":true]}
//        opens N streams at once, sends M pseudo-random bytes on each
//        (xorshift32 seeded with S + stream index), checks the echo
//        byte for byte; with "relayed", on the open /p2p-circuit
//        connection to the peer (and on no other)
//                                    -> streams, bytes (and with "relayed":
//                                       remote_addr, limited, limit_bytes, limit_seconds)
//   {"id":4,"cmd":"connections"}                   -> connections:[{peer_id,remote_addr,status,rtt,limited,...}]
//   {"id":7,"cmd":"reservations"}   (--relay-server) -> reservations:[{peer_id,addr,limit_data,limit_duration}]
//   {"id":5,"cmd":"hangup","peer":PEER_ID}
//   {"id":6,"cmd":"quit"}
// Logs and errors go to stderr. The process exits when stdin closes.

import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
if (!existsSync(join(here, 'node_modules', 'libp2p', 'package.json'))) {
  console.error(`peer.mjs: ${join(here, 'node_modules')} is missing; run\n` +
                '  npm ci --prefix tests/interop')
  process.exit(1)
}

await import('./polyfill.mjs')

const { createLibp2p } = await import('libp2p')
const { tcp } = await import('@libp2p/tcp')
const { tls } = await import('@libp2p/tls')
const { yamux } = await import('@libp2p/yamux')
const { identify, identifyPush } = await import('@libp2p/identify')
const { ping } = await import('@libp2p/ping')
const { peerIdFromString } = await import('@libp2p/peer-id')
const { multiaddr } = await import('@multiformats/multiaddr')
const { circuitRelayServer, circuitRelayTransport } = await import('@libp2p/circuit-relay-v2')

export const ECHO_PROTOCOL = '/punch/echo/1.0.0'

// The value after a flag, or undefined; a flag without one is an error.
function option (name) {
  const at = process.argv.indexOf(name)
  if (at < 0) return undefined
  const value = process.argv[at + 1]
  if (value === undefined || value.startsWith('--')) {
    console.error(`peer.mjs: ${name} needs a value`)
    process.exit(2)
  }
  return value
}

const listen = !process.argv.includes('--no-listen')
const listenRelay = option('--listen-relay')
const relayClient = process.argv.includes('--relay-client') || listenRelay !== undefined
const relayServer = process.argv.includes('--relay-server')
const relayMaxData = option('--relay-max-data')
const relayMaxDurationMs = option('--relay-max-duration-ms')

function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

// Deterministic bytes both sides can recompute: xorshift32.
export function pseudoRandom (seed, length) {
  const out = new Uint8Array(length)
  let x = (seed >>> 0) || 0x9e3779b9
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

const listenAddrs = listen ? ['/ip4/127.0.0.1/tcp/0'] : []
const transports = [tcp()]
const services = {
  identify: identify(),
  identifyPush: identifyPush(),
  ping: ping()
}
if (relayClient) {
  transports.push(circuitRelayTransport())
}
if (listenRelay !== undefined) {
  // A listen address /…/p2p/RELAY/p2p-circuit makes js-libp2p reserve on
  // RELAY while it starts; a failed reservation fails the start.
  listenAddrs.push(multiaddr(listenRelay).encapsulate('/p2p-circuit').toString())
}
if (relayServer) {
  const reservations = {}
  if (relayMaxData !== undefined) reservations.defaultDataLimit = BigInt(relayMaxData)
  if (relayMaxDurationMs !== undefined) reservations.defaultDurationLimit = Number(relayMaxDurationMs)
  services.relay = circuitRelayServer({ reservations })
}

const node = await createLibp2p({
  addresses: { listen: listenAddrs },
  transports,
  connectionEncrypters: [tls()],
  streamMuxers: [yamux()],
  services
})

// Echo: copy every chunk back until the remote closes its write side.
await node.handle(ECHO_PROTOCOL, async (stream, connection) => {
  emit({ event: 'stream-opened', peer_id: connection.remotePeer.toString(), protocol: ECHO_PROTOCOL })
  try {
    for await (const chunk of stream) {
      if (!stream.send(chunk)) {
        await stream.onDrain()
      }
    }
    await stream.close()
  } catch (err) {
    console.error('echo stream failed:', err)
    stream.abort(err)
  }
}, { maxInboundStreams: 256, maxOutboundStreams: 256, runOnLimitedConnection: true })

node.addEventListener('connection:open', (evt) => {
  const c = evt.detail
  emit({
    event: 'connection-opened',
    peer_id: c.remotePeer.toString(),
    remote_addr: c.remoteAddr.toString(),
    direction: c.direction,
    limited: c.limits != null
  })
})
node.addEventListener('connection:close', (evt) => {
  const c = evt.detail
  emit({ event: 'connection-closed', peer_id: c.remotePeer.toString(), remote_addr: c.remoteAddr.toString() })
})
node.addEventListener('peer:identify', (evt) => {
  const r = evt.detail
  emit({
    event: 'identify',
    peer_id: r.peerId.toString(),
    agent_version: r.agentVersion ?? null,
    protocol_version: r.protocolVersion ?? null,
    protocols: r.protocols ?? [],
    listen_addrs: (r.listenAddrs ?? []).map(a => a.toString()),
    observed_addr: r.observedAddr == null ? null : r.observedAddr.toString()
  })
})

async function readExactly (stream, length, signal) {
  const chunks = []
  let got = 0
  for await (const chunk of stream) {
    const bytes = chunk.subarray()
    chunks.push(bytes)
    got += bytes.byteLength
    if (signal.aborted) throw new Error('timed out')
  }
  const out = new Uint8Array(got)
  let off = 0
  for (const c of chunks) { out.set(c, off); off += c.byteLength }
  if (got !== length) {
    throw new Error(`echo returned ${got} bytes, expected ${length}`)
  }
  return out
}

// What js-libp2p makes of a relayed connection's limits: the bytes left
// and the seconds left (null where there is no such limit).
function limitsOf (c) {
  return {
    limited: c.limits != null,
    limit_bytes: c.limits?.bytes == null ? null : Number(c.limits.bytes),
    limit_seconds: c.limits?.seconds ?? null
  }
}

// The open relayed connection to peer, or an error: js-libp2p's dialer
// never reuses a limited connection by itself (it would dial the peer
// directly if it could).
function relayedConnection (peer) {
  const c = node.getConnections(peer).find(c =>
    c.status === 'open' && c.remoteAddr.toString().includes('/p2p-circuit'))
  if (c == null) {
    throw new Error(`no relayed connection to ${peer}`)
  }
  return c
}

async function echoOne (peer, via, index, bytes, seed, signal) {
  const data = pseudoRandom(seed + index, bytes)
  const options = { signal, maxOutboundStreams: 256, runOnLimitedConnection: true }
  const stream = via != null
    ? await via.newStream(ECHO_PROTOCOL, options)
    : await node.dialProtocol(peer, ECHO_PROTOCOL, options)
  const reading = readExactly(stream, bytes, signal)
  // When the writer fails first (a relay cut the circuit), the reader's
  // failure is no news: keep it from ending the process as unhandled.
  reading.catch(() => {})
  const chunk = 64 * 1024
  try {
    for (let off = 0; off < bytes; off += chunk) {
      if (!stream.send(data.subarray(off, Math.min(bytes, off + chunk)))) {
        await stream.onDrain({ signal })
      }
    }
    await stream.close({ signal })
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(describe(err)))
    throw err
  }
  const back = await reading
  for (let i = 0; i < bytes; i++) {
    if (back[i] !== data[i]) {
      throw new Error(`stream ${index}: byte ${i} differs`)
    }
  }
}

// An error for a reply: js-libp2p sometimes rejects with what is no Error.
function describe (err) {
  if (err instanceof Error) return `${err.name}: ${err.message}`
  if (err?.type != null) return `event ${err.type}${err.error != null ? ': ' + describe(err.error) : ''}`
  return String(err)
}

async function pingStreamsClosed (peer, signal) {
  for (let i = 0; i < 100; i++) {
    const open = node.getConnections(peer).some(c =>
      c.streams.some(s => s.protocol === '/ipfs/ping/1.0.0' && s.direction === 'outbound'))
    if (!open || signal.aborted) return
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

async function run (cmd) {
  const signal = AbortSignal.timeout(cmd.timeout_ms ?? 60000)
  switch (cmd.cmd) {
    case 'dial': {
      const c = await node.dial(multiaddr(cmd.addr), { signal })
      return {
        peer_id: c.remotePeer.toString(),
        remote_addr: c.remoteAddr.toString(),
        ...limitsOf(c)
      }
    }
    case 'ping': {
      const peer = peerIdFromString(cmd.peer)
      const rtts = []
      for (let i = 0; i < (cmd.count ?? 1); i++) {
        // js-libp2p allows one outbound ping stream per connection and
        // counts a stream until the responder's FIN arrives, which may
        // come just after the echo: wait for it before the next ping.
        await pingStreamsClosed(peer, signal)
        rtts.push(await node.services.ping.ping(peer, { signal }))
      }
      return { rtts }
    }
    case 'echo': {
      const peer = peerIdFromString(cmd.peer)
      const via = cmd.relayed === true ? relayedConnection(peer) : null
      const jobs = []
      for (let i = 0; i < cmd.streams; i++) {
        jobs.push(echoOne(peer, via, i, cmd.bytes, cmd.seed ?? 1, signal))
      }
      await Promise.all(jobs)
      const result = { streams: cmd.streams, bytes: cmd.bytes }
      if (via != null) {
        Object.assign(result, { remote_addr: via.remoteAddr.toString() }, limitsOf(via))
      }
      return result
    }
    case 'connections':
      return {
        connections: node.getConnections().map(c => ({
          peer_id: c.remotePeer.toString(),
          remote_addr: c.remoteAddr.toString(),
          status: c.status,
          // set by js-libp2p's connection monitor after a successful ping
          rtt: c.rtt ?? null,
          ...limitsOf(c)
        }))
      }
    case 'reservations': {
      if (node.services.relay == null) {
        throw new Error('not a relay (no --relay-server)')
      }
      const out = []
      for (const [peer, r] of node.services.relay.reservations.entries()) {
        out.push({
          peer_id: peer.toString(),
          addr: r.addr.toString(),
          limit_data: r.limit?.data == null ? null : Number(r.limit.data),
          limit_duration: r.limit?.duration ?? null
        })
      }
      return { reservations: out }
    }
    case 'hangup':
      await node.hangUp(peerIdFromString(cmd.peer), { signal })
      return {}
    case 'quit':
      return {}
    default:
      throw new Error(`unknown command ${cmd.cmd}`)
  }
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

emit({
  event: 'listening',
  peer_id: node.peerId.toString(),
  addrs: node.getMultiaddrs().map(a => a.toString())
})

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  if (line.trim() === '') return
  let cmd
  try {
    cmd = JSON.parse(line)
  } catch (err) {
    emit({ reply: null, ok: false, error: `bad JSON: ${err.message}` })
    return
  }
  run(cmd).then(
    (result) => {
      emit({ reply: cmd.id ?? null, ok: true, ...result })
      if (cmd.cmd === 'quit') quit(0)
    },
    (err) => emit({ reply: cmd.id ?? null, ok: false, error: describe(err) })
  )
})
lines.on('close', () => quit(0))
process.on('SIGTERM', () => quit(0))
process.on('SIGINT', () => quit(0))
