// polyfill.mjs: what js-libp2p 3.x expects of its runtime and Node 20 lacks.
//
// Copyright 2026 The Punch developers
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Import this module before any js-libp2p module.  js-libp2p 3.x calls
// Promise.withResolvers() (ES2024), which Node 20 does not have (Node 22
// does); this adds it, with the standard's behaviour, only when missing.

if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    value: function withResolvers () {
      let resolve
      let reject
      const promise = new this((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    },
    writable: true,
    configurable: true
  })
}
