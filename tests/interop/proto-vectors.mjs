#!/usr/bin/env node
// proto-vectors.mjs: protobuf test vectors made by js-libp2p's own codecs.
//
// Copyright 2026 The Punch developers
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Encodes a fixed set of messages of every libp2p schema in proto/ with the
// protobuf codecs that js-libp2p itself ships (the protons-generated pb
// modules inside its packages, imported by file path because the packages'
// "exports" do not expose them), so that tests/test-proto.c can hold
// Punch's protoc-c schemas to the bytes a real libp2p peer produces.  Every
// field value below is a fixed input; tests/test-proto.c repeats them on
// purpose.  Values that are derived (Ed25519 keys from fixed seeds, peer
// ids, multiaddr bytes, signatures -- Ed25519 signing is deterministic) are
// also written out as constants and checked against what js-libp2p derives,
// so the vectors cannot drift silently.
//
// Usage (from the top of the source tree, after `npm ci --prefix tests/interop`):
//   node tests/interop/proto-vectors.mjs                 print the JSON
//   node tests/interop/proto-vectors.mjs --write DIR     (re)write DIR/proto-js.{json,txt}
//   node tests/interop/proto-vectors.mjs --check DIR     compare with DIR/proto-js.{json,txt}
//
// proto-js.txt is what the C test reads: one vector a line, `name hex`,
// where hex is js-libp2p's encoding.  A line `name:canonical hex` follows
// when js-libp2p writes the fields in another order than field-number order
// (Identify): it holds the same fields, each encoded alone by js-libp2p's
// codec, concatenated in field-number order, which is the order protobuf-c
// packs in.  proto-js.json holds the same vectors plus the input values, for
// people and other implementations.

import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const modules = join(here, 'node_modules')

function usage () {
  console.error('usage: proto-vectors.mjs [--write DIR | --check DIR]')
  process.exit(2)
}

const [mode, outDir] = process.argv.slice(2)
if (mode != null && ((mode !== '--write' && mode !== '--check') || outDir == null)) {
  usage()
}

if (!existsSync(join(modules, 'libp2p', 'package.json'))) {
  console.error(`proto-vectors: ${modules} is missing or incomplete.\n` +
                'Install the pinned js-libp2p reference peer first:\n' +
                '  npm ci --prefix tests/interop')
  process.exit(1)
}

// js-libp2p 3.x needs Promise.withResolvers (Node 22); see polyfill.mjs.
await import('./polyfill.mjs')

const pb = (path) => import(join(modules, path))
const { Message } = await pb('@libp2p/autonat/dist/src/pb/index.js')
const { HolePunch } = await pb('@libp2p/dcutr/dist/src/pb/message.js')
const circuit = await pb('@libp2p/circuit-relay-v2/dist/src/pb/index.js')
const { Identify } = await pb('@libp2p/identify/dist/src/pb/message.js')
const { Envelope } = await pb('@libp2p/peer-record/dist/src/envelope/envelope.js')
const { PeerRecord } = await pb('@libp2p/peer-record/dist/src/peer-record/peer-record.js')
const keys = await pb('@libp2p/crypto/dist/src/keys/keys.js')
const { ReservationVoucherRecord } = await pb('@libp2p/circuit-relay-v2/dist/src/server/reservation-voucher.js')
const { HopMessage, StopMessage, Status, ReservationVoucher } = circuit

const { generateKeyPairFromSeed, publicKeyToProtobuf, privateKeyToProtobuf } = await import('@libp2p/crypto/keys')
const { peerIdFromPrivateKey } = await import('@libp2p/peer-id')
const { RecordEnvelope, PeerRecord: PeerRecordClass } = await import('@libp2p/peer-record')
const { multiaddr } = await import('@multiformats/multiaddr')

const fromHex = (h) => Uint8Array.from(Buffer.from(h, 'hex'))
const toHex = (b) => Buffer.from(b).toString('hex')
const utf8 = (s) => new TextEncoder().encode(s)

function same (what, got, want) {
  if (toHex(got) !== toHex(want)) {
    throw new Error(`${what}: js-libp2p gives ${toHex(got)}, the script says ${toHex(want)}`)
  }
}

// ---- Fixed inputs -------------------------------------------------------

// Peer A (the reserving / dialing peer) and relay R: Ed25519 keys from
// fixed seeds 01 02 .. 20 and 21 22 .. 40.
const SEED_A = fromHex('0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20')
const SEED_R = fromHex('2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40')
const PUB_A = fromHex('79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664')
const PUB_R = fromHex('e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0')
// Peer ids: identity multihash (00 24) of the PublicKey protobuf (08 01 12 20 <key>).
const PEER_A = fromHex('00240801122079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664')
const PEER_R = fromHex('002408011220e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0')

// Binary multiaddrs.
const MA_A4 = fromHex('04cb007107060fa1') // /ip4/203.0.113.7/tcp/4001
const MA_A6 = fromHex('2920010db8000000000000000000000007060fa1') // /ip6/2001:db8::7/tcp/4001
// /ip4/198.51.100.1/tcp/4001/p2p/<R>
const MA_R = fromHex('04c6336401060fa1a50326002408011220e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0')

const EXPIRE = 1767225600n // 2026-01-01T00:00:00Z
const SEQ = 1767225600000n // milliseconds, as js-libp2p numbers records
const U32_MAX = 4294967295
const U64_MAX = 18446744073709551615n

// Envelope payload types (js-libp2p and go-libp2p write the two bytes of
// the multicodec code, big-endian, not its varint).
const PAYLOAD_TYPE_PEER_RECORD = fromHex('0301')
const PAYLOAD_TYPE_VOUCHER = fromHex('0302')

// Deterministic Ed25519 signatures of the two envelopes below.
const SIG_PEER_RECORD = fromHex('8ead00313a13016927eb95cc2c9ef9cd6137dc8814c804452a83b643725e1e6420be7bec82283a31af6310edfdd24f8d2246622535837d6b602cdfdd9c380303')
const SIG_VOUCHER = fromHex('e0795066343e0f123c4ca941cd4849b4c23708a9d5f0b482d19f78524a75bee37b420d991be7d5bbc4afc49c47666954e56953211e20458e97d433d30dade90f')

// ---- Derived values, checked against js-libp2p ---------------------------

const keyA = await generateKeyPairFromSeed('Ed25519', SEED_A)
const keyR = await generateKeyPairFromSeed('Ed25519', SEED_R)
same('public key A', keyA.publicKey.raw, PUB_A)
same('public key R', keyR.publicKey.raw, PUB_R)
same('peer id A', peerIdFromPrivateKey(keyA).toMultihash().bytes, PEER_A)
same('peer id R', peerIdFromPrivateKey(keyR).toMultihash().bytes, PEER_R)
same('multiaddr A4', multiaddr('/ip4/203.0.113.7/tcp/4001').bytes, MA_A4)
same('multiaddr A6', multiaddr('/ip6/2001:db8::7/tcp/4001').bytes, MA_A6)
same('multiaddr R', multiaddr(`/ip4/198.51.100.1/tcp/4001/p2p/${peerIdFromPrivateKey(keyR)}`).bytes, MA_R)

const peerRecordEnvelope = await RecordEnvelope.seal(new PeerRecordClass({
  peerId: peerIdFromPrivateKey(keyA),
  multiaddrs: [multiaddr('/ip4/203.0.113.7/tcp/4001'), multiaddr('/ip6/2001:db8::7/tcp/4001')],
  seqNumber: SEQ
}), keyA)
const voucherEnvelope = await RecordEnvelope.seal(new ReservationVoucherRecord({
  relay: peerIdFromPrivateKey(keyR),
  peer: peerIdFromPrivateKey(keyA),
  expiration: EXPIRE
}), keyR)

// ---- The vectors --------------------------------------------------------

const vectors = []

// name, schema file, message (as in proto/), js codec, js object,
// canonical: also give the field-number-ordered encoding.
function add (name, schema, message, codec, fields, canonical = false) {
  const bytes = codec.encode(fields)
  const v = { name, schema, message, fields, hex: toHex(bytes) }
  if (canonical) {
    // Each field alone, encoded by js-libp2p's codec, in field-number order.
    const parts = codec.fieldOrder.map((f) => codec.encode({ [f]: fields[f] }))
    v.canonical_hex = parts.map(toHex).join('')
  }
  vectors.push(v)
  return bytes
}

const autonat = { encode: (o) => Message.encode(o) }
add('autonat_dial', 'autonat.proto', 'autonat.pb.Message', autonat, {
  type: Message.MessageType.DIAL,
  dial: { peer: { id: PEER_A, addrs: [MA_A4, MA_A6] } }
})
add('autonat_dial_response_ok', 'autonat.proto', 'autonat.pb.Message', autonat, {
  type: Message.MessageType.DIAL_RESPONSE,
  dialResponse: { status: Message.ResponseStatus.OK, statusText: 'OK', addr: MA_A4 }
})
add('autonat_dial_response_error', 'autonat.proto', 'autonat.pb.Message', autonat, {
  type: Message.MessageType.DIAL_RESPONSE,
  dialResponse: { status: Message.ResponseStatus.E_DIAL_ERROR, statusText: 'all dials failed' }
})

const holepunch = { encode: (o) => HolePunch.encode(o) }
add('holepunch_connect', 'holepunch.proto', 'holepunch.pb.HolePunch', holepunch, {
  type: HolePunch.Type.CONNECT,
  observedAddresses: [MA_A4, MA_A6]
})
add('holepunch_sync', 'holepunch.proto', 'holepunch.pb.HolePunch', holepunch, {
  type: HolePunch.Type.SYNC,
  observedAddresses: []
})

// The voucher envelope as the relay's own code makes it, and the same
// envelope through circuit-relay-v2's Envelope codec (the one its
// Reservation.voucher field uses).
const voucherFields = { relay: PEER_R, peer: PEER_A, expiration: EXPIRE }
same('voucher envelope signature', voucherEnvelope.signature, SIG_VOUCHER)
const voucherEnvelopeFields = {
  publicKey: publicKeyToProtobuf(keyR.publicKey),
  payloadType: PAYLOAD_TYPE_VOUCHER,
  payload: voucherFields,
  signature: SIG_VOUCHER
}
same('voucher envelope', circuit.Envelope.encode(voucherEnvelopeFields), voucherEnvelope.marshal())

const hop = { encode: (o) => HopMessage.encode(o) }
add('hop_reserve', 'circuit.proto', 'circuit.pb.HopMessage', hop, {
  type: HopMessage.Type.RESERVE
})
add('hop_connect', 'circuit.proto', 'circuit.pb.HopMessage', hop, {
  type: HopMessage.Type.CONNECT,
  peer: { id: PEER_A, addrs: [] }
})
add('hop_status_reservation', 'circuit.proto', 'circuit.pb.HopMessage', hop, {
  type: HopMessage.Type.STATUS,
  reservation: { expire: EXPIRE, addrs: [MA_R], voucher: voucherEnvelopeFields },
  limit: { duration: 120, data: 131072n },
  status: Status.OK
})
add('hop_status_refused', 'circuit.proto', 'circuit.pb.HopMessage', hop, {
  type: HopMessage.Type.STATUS,
  status: Status.RESERVATION_REFUSED
})

const stop = { encode: (o) => StopMessage.encode(o) }
add('stop_connect', 'circuit.proto', 'circuit.pb.StopMessage', stop, {
  type: StopMessage.Type.CONNECT,
  peer: { id: PEER_A, addrs: [MA_A4] },
  limit: { duration: U32_MAX, data: U64_MAX }
})
add('stop_status', 'circuit.proto', 'circuit.pb.StopMessage', stop, {
  type: StopMessage.Type.STATUS,
  status: Status.CONNECTION_FAILED
})

const voucher = { encode: (o) => ReservationVoucher.encode(o) }
add('voucher', 'voucher.proto', 'circuit.pb.Voucher', voucher, voucherFields)
add('voucher_envelope', 'envelope.proto', 'record.pb.Envelope',
  { encode: () => voucherEnvelope.marshal() }, voucherEnvelopeFields)

const identify = {
  encode: (o) => Identify.encode(o),
  fieldOrder: ['publicKey', 'listenAddrs', 'protocols', 'observedAddr', 'protocolVersion', 'agentVersion', 'signedPeerRecord']
}
add('identify_full', 'identify.proto', 'identify.pb.Identify', identify, {
  protocolVersion: 'ipfs/0.1.0',
  agentVersion: 'punch-interop/0.1.0',
  publicKey: publicKeyToProtobuf(keyA.publicKey),
  listenAddrs: [MA_A4, MA_A6],
  observedAddr: MA_A4,
  protocols: ['/ipfs/id/1.0.0', '/ipfs/ping/1.0.0', '/libp2p/circuit/relay/0.2.0/stop', '/libp2p/dcutr']
}, true)
add('identify_signed_peer_record', 'identify.proto', 'identify.pb.Identify', identify, {
  agentVersion: 'punch-interop/0.1.0',
  protocols: ['/ipfs/id/1.0.0'],
  signedPeerRecord: peerRecordEnvelope.marshal()
}, true)

const peerRecordFields = {
  peerId: PEER_A,
  seq: SEQ,
  addresses: [{ multiaddr: MA_A4 }, { multiaddr: MA_A6 }]
}
const peerRecordBytes = add('peer_record', 'peer_record.proto', 'peer.pb.PeerRecord',
  { encode: (o) => PeerRecord.encode(o) }, peerRecordFields)
same('peer record', peerRecordBytes, peerRecordEnvelope.payload)

same('peer record envelope signature', peerRecordEnvelope.signature, SIG_PEER_RECORD)
const envelopeBytes = add('envelope_peer_record', 'envelope.proto', 'record.pb.Envelope',
  { encode: (o) => Envelope.encode(o) }, {
    publicKey: publicKeyToProtobuf(keyA.publicKey),
    payloadType: PAYLOAD_TYPE_PEER_RECORD,
    payload: peerRecordBytes,
    signature: SIG_PEER_RECORD
  })
same('peer record envelope', envelopeBytes, peerRecordEnvelope.marshal())

const publicKeyBytes = add('public_key_ed25519', 'keys.proto', 'keys.pb.PublicKey',
  { encode: (o) => keys.PublicKey.encode(o) }, { Type: keys.KeyType.Ed25519, Data: PUB_A })
same('public key protobuf', publicKeyBytes, publicKeyToProtobuf(keyA.publicKey))
const privateKeyBytes = add('private_key_ed25519', 'keys.proto', 'keys.pb.PrivateKey',
  { encode: (o) => keys.PrivateKey.encode(o) }, { Type: keys.KeyType.Ed25519, Data: keyA.raw })
same('private key protobuf', privateKeyBytes, privateKeyToProtobuf(keyA))

// ---- Output -------------------------------------------------------------

function version (pkg) {
  return JSON.parse(readFileSync(join(modules, pkg, 'package.json'), 'utf8')).version
}

function jsonValue (key, value) {
  if (value instanceof Uint8Array) {
    return toHex(value)
  }
  if (typeof value === 'bigint') {
    return value.toString()
  }
  return value
}

const json = {
  _about: 'Generated by tests/interop/proto-vectors.mjs with js-libp2p\'s own protobuf codecs; do not edit. ' +
          'hex: js-libp2p\'s encoding; canonical_hex: the same fields in field-number order; ' +
          'fields: the inputs (bytes as hex, 64-bit integers as decimal strings).',
  _versions: Object.fromEntries(['libp2p', '@libp2p/autonat', '@libp2p/circuit-relay-v2', '@libp2p/dcutr',
    '@libp2p/identify', '@libp2p/peer-record', '@libp2p/crypto', '@libp2p/peer-id', 'protons-runtime']
    .map((p) => [p, version(p)]))
}
for (const v of vectors) {
  json[v.name] = { schema: v.schema, message: v.message, hex: v.hex }
  if (v.canonical_hex != null) {
    json[v.name].canonical_hex = v.canonical_hex
  }
  json[v.name].fields = v.fields
}
const jsonText = JSON.stringify(json, jsonValue, 2) + '\n'

let lines = '# Generated by tests/interop/proto-vectors.mjs with js-libp2p\'s own protobuf\n' +
            '# codecs; do not edit.  One vector a line: `name hex` (js-libp2p\'s encoding),\n' +
            '# `name:canonical hex` (the same fields in field-number order).\n'
for (const v of vectors) {
  lines += `${v.name} ${v.hex}\n`
  if (v.canonical_hex != null) {
    lines += `${v.name}:canonical ${v.canonical_hex}\n`
  }
}

if (mode == null) {
  process.stdout.write(jsonText)
} else if (mode === '--write') {
  writeFileSync(join(outDir, 'proto-js.json'), jsonText)
  writeFileSync(join(outDir, 'proto-js.txt'), lines)
} else {
  let failed = false
  for (const [file, text] of [['proto-js.json', jsonText], ['proto-js.txt', lines]]) {
    const path = join(outDir, file)
    const committed = existsSync(path) ? readFileSync(path, 'utf8') : null
    if (committed === text) {
      console.log(`ok: ${path} matches what js-libp2p encodes`)
      continue
    }
    failed = true
    console.error(`FAIL: ${path} differs from what js-libp2p encodes now.`)
    const a = (committed ?? '').split('\n')
    const b = text.split('\n')
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] !== b[i]) {
        console.error(`  line ${i + 1}:\n  - ${a[i] ?? '(missing)'}\n  + ${b[i] ?? '(missing)'}`)
      }
    }
  }
  if (failed) {
    console.error('If js-libp2p changed on purpose, regenerate with --write and review the diff.')
    process.exit(1)
  }
}
