#!/usr/bin/python3
"""test_relay_interop.py: circuit relay v2 between Punch and js-libp2p.

Runs Punch (`punch serve --relay-service`, `punch listen`, `punch dial`) and
js-libp2p peers (peer.mjs with @libp2p/circuit-relay-v2) as processes on
127.0.0.1 and checks what each side reports:

- two js-libp2p peers reserve on a Punch relay, meet through it over a
  /p2p-circuit address and echo data exactly both ways over that relayed
  (limited) connection, which carries the relay's limits as Punch sent
  them; a Punch relay's data limit ends a js circuit, and the peers meet
  again through the same reservations; its duration limit ends a js
  circuit after about that time;
- a Punch peer reserves on a js-libp2p relay and is reached through it by a
  Punch peer and by a js-libp2p peer, each echoing data exactly; with
  js-libp2p's default limits (128 KiB for both directions together) a
  larger echo is cut off by the js relay, and Punch keeps serving.

js-libp2p's relay limits every circuit, by default to 128 KiB and
2 minutes, so the tests that echo megabytes start it with a 64 MiB limit;
it sends its duration limit in milliseconds where circuit-v2.md says
seconds (Punch reports the field as it arrives).

Environment: PUNCH_CLI (the punch tool), NODE (node). Without
tests/interop/node_modules the tests fail (they do not skip) and say how to
install it. Every wait is bounded; every process is killed by its PID when
a test ends, also on failure; on failure every side's output is printed.
"""
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_interop as base  # noqa: E402  (Proc, JsPeer, PunchServe)

MIB = base.MIB
KIB = 1024
ECHO = base.ECHO
# The js relay's limits in the tests that echo megabytes: 64 MiB (both
# directions together) and 10 minutes (in milliseconds, as js-libp2p
# takes and sends it).
JS_RELAY_DATA = 64 * MIB
JS_RELAY_DURATION_MS = 600000
# js-libp2p 4.2.13's defaults (constants.js): 1 << 17 bytes, 2 minutes in ms.
JS_DEFAULT_DATA = 1 << 17
JS_DEFAULT_DURATION_MS = 120000


class JsNode(base.JsPeer):
    """peer.mjs with extra flags (--relay-server, --listen-relay...)."""

    def __init__(self, name, *flags):
        base.Proc.__init__(self, name, [base.NODE, base.PEER, *flags], stdin=True)
        self.next_id = 1
        hello = self.expect(lambda o: o.get("event") == "listening", 60, "listening line")
        self.peer_id = hello["peer_id"]
        self.addrs = hello["addrs"]
        self.addr = self.addrs[0] if self.addrs else None


def circuit(relay_addr, peer_id):
    return f"{relay_addr}/p2p-circuit/p2p/{peer_id}"


class RelayInteropTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        relay_pkg = os.path.join(base.NODE_MODULES, "@libp2p", "circuit-relay-v2", "package.json")
        if not os.path.exists(relay_pkg):
            raise AssertionError(
                f"{relay_pkg} is missing: install the pinned js-libp2p reference peer "
                "with `npm ci --prefix tests/interop`")
        if shutil.which(base.NODE) is None and not os.path.exists(base.NODE):
            raise AssertionError("node is not installed: the interop tests need Node >= 20")

    def setUp(self):
        self.procs = []
        self.tmp = tempfile.TemporaryDirectory(prefix="punch-relay-interop-")

    def tearDown(self):
        for p in self.procs:
            p.kill()
        self.tmp.cleanup()
        # Punch's processes must not have logged criticals, warnings or
        # (in sanitizer builds) errors.
        bad = ("-CRITICAL **", "-WARNING **", "ERROR: AddressSanitizer",
               "ERROR: LeakSanitizer", "runtime error:")
        noisy = [line for p in self.procs if not isinstance(p, base.JsPeer)
                 for line in p.stderr if any(b in line for b in bad)]
        if self.failed() or noisy:
            for p in self.procs:
                sys.stderr.write(p.log())
        self.assertEqual(noisy, [])

    def failed(self):
        # Python 3.11 resets _outcome.success while tearDown runs; the
        # failure is in the result already.
        result = self._outcome.result
        return (not self._outcome.success or
                any(test is self for test, _ in result.errors + result.failures))

    def start(self, proc):
        self.procs.append(proc)
        return proc

    def js(self, name, *flags):
        return self.start(JsNode(name, *flags))

    def punch(self, name, *args):
        return self.start(base.Proc(name, [base.PUNCH, *args]))

    def key(self, name):
        """A new identity key file and its peer id."""
        path = os.path.join(self.tmp.name, name + ".key")
        new = self.punch(f"id new {name}", "id", "new", path)
        self.assertEqual(new.wait(10), 0)
        show = self.punch(f"id show {name}", "id", "show", path)
        self.assertEqual(show.wait(10), 0)
        return path, show.stdout[0].strip()

    def cmd(self, js, command, timeout=60, **args):
        r = js.command(command, timeout=timeout, **args)
        self.assertTrue(r["ok"], r)
        return r

    # Scenario 1: a Punch relay, two js-libp2p peers

    def js_pair_on_punch_relay(self, *relay_flags):
        relay = self.start(base.PunchServe(name="punch relay",
                                           extra=("--relay-service", *relay_flags)))
        # Neither js peer listens on TCP: the relay is their only way to
        # each other.
        a = self.js("js A", "--no-listen", "--listen-relay", relay.addr)
        b = self.js("js B", "--no-listen", "--listen-relay", relay.addr)
        for js in (a, b):
            # The reservation gave the relay's address, with its /p2p.
            self.assertEqual(js.addrs, [circuit(relay.addr, js.peer_id)])
            opened = relay.expect(lambda o, j=js: o.get("event") == "connection-opened" and
                                  o["peer_id"] == j.peer_id, 15, f"connection from {js.name}")
            self.assertEqual(opened["direction"], "inbound")
        return relay, a, b

    def test_js_peers_echo_through_punch_relay(self):
        relay, a, b = self.js_pair_on_punch_relay("--relay-max-duration", "900",
                                                  "--relay-max-data", str(100 * MIB))

        r = self.cmd(b, "dial", addr=a.addrs[0], timeout=20)
        self.assertEqual(r["peer_id"], a.peer_id)
        self.assertEqual(r["remote_addr"], a.addrs[0])
        self.assertTrue(r["limited"], r)
        # Punch's STATUS OK carried its Limit: js counts down from it.
        self.assertGreater(r["limit_seconds"], 880)
        self.assertLessEqual(r["limit_seconds"], 900)
        self.assertGreater(r["limit_bytes"], 100 * MIB - 64 * KIB)
        self.assertLessEqual(r["limit_bytes"], 100 * MIB)
        opened = a.expect(lambda o: o.get("event") == "connection-opened" and
                          o["peer_id"] == b.peer_id, 15, "relayed connection from B")
        self.assertEqual(opened["direction"], "inbound")
        self.assertTrue(opened["limited"], opened)
        self.assertEqual(opened["remote_addr"], circuit(relay.addr, b.peer_id))

        # B's streams to A, then A's streams to B, on the relayed connection.
        r = self.cmd(b, "echo", peer=a.peer_id, streams=4, bytes=MIB, seed=21, relayed=True,
                     timeout=120)
        self.assertEqual((r["streams"], r["bytes"]), (4, MIB))
        self.assertEqual(r["remote_addr"], a.addrs[0])
        # js counts every byte it reads and writes on the circuit.
        self.assertLess(r["limit_bytes"], 100 * MIB - 8 * MIB)
        self.assertEqual(len([e for e in a.events("stream-opened")
                              if e["protocol"] == ECHO and e["peer_id"] == b.peer_id]), 4)

        r = self.cmd(a, "echo", peer=b.peer_id, streams=4, bytes=MIB, seed=22, relayed=True,
                     timeout=120)
        self.assertEqual(r["remote_addr"], circuit(relay.addr, b.peer_id))
        self.assertTrue(r["limited"], r)
        # The STOP CONNECT carried the same Limit to A.
        self.assertGreater(r["limit_seconds"], 880)
        self.assertLess(r["limit_bytes"], 100 * MIB - 8 * MIB)
        self.assertEqual(len([e for e in b.events("stream-opened")
                              if e["protocol"] == ECHO and e["peer_id"] == a.peer_id]), 4)

        # The relay served only A and B and dropped nobody; A and B are
        # connected only through it.
        self.assertEqual({e["peer_id"] for e in relay.events("connection-opened")},
                         {a.peer_id, b.peer_id})
        self.assertEqual(relay.events("connection-closed"), [])
        conns = [c for c in self.cmd(a, "connections")["connections"]
                 if c["peer_id"] == b.peer_id]
        self.assertEqual([c["remote_addr"] for c in conns], [circuit(relay.addr, b.peer_id)])

    def test_punch_relay_data_limit_ends_js_circuit(self):
        # 256 KiB per direction: a 1 MiB echo cannot pass.
        relay, a, b = self.js_pair_on_punch_relay("--relay-max-data", str(256 * KIB))

        r = self.cmd(b, "dial", addr=a.addrs[0], timeout=20)
        self.assertLessEqual(r["limit_bytes"], 256 * KIB)
        r = b.command("echo", peer=a.peer_id, streams=1, bytes=MIB, seed=31, relayed=True,
                      timeout=30)
        self.assertFalse(r["ok"], r)
        # The relay closed the circuit on both ends...
        for js, other in ((a, b), (b, a)):
            js.expect(lambda o, p=other.peer_id: o.get("event") == "connection-closed" and
                      o["peer_id"] == p and "/p2p-circuit" in o["remote_addr"], 15,
                      f"{js.name}: relayed connection closed")
        # ...and kept both reservations: B reaches A again, within the limit.
        self.assertEqual(relay.events("connection-closed"), [])
        r = self.cmd(b, "dial", addr=a.addrs[0], timeout=20)
        self.assertTrue(r["limited"], r)
        r = self.cmd(b, "echo", peer=a.peer_id, streams=1, bytes=64 * KIB, seed=32,
                     relayed=True, timeout=30)
        self.assertEqual(r["bytes"], 64 * KIB)

    def test_punch_relay_duration_limit_ends_js_circuit(self):
        relay, a, b = self.js_pair_on_punch_relay("--relay-max-duration", "2")

        r = self.cmd(b, "dial", addr=a.addrs[0], timeout=20)
        dialed = time.monotonic()
        self.assertLessEqual(r["limit_seconds"], 2)
        r = self.cmd(b, "echo", peer=a.peer_id, streams=1, bytes=64 * KIB, seed=33,
                     relayed=True, timeout=30)
        # The relay ends the circuit about 2 s after it opened, on both ends.
        for js, other in ((b, a), (a, b)):
            js.expect(lambda o, p=other.peer_id: o.get("event") == "connection-closed" and
                      o["peer_id"] == p and "/p2p-circuit" in o["remote_addr"], 15,
                      f"{js.name}: relayed connection closed")
        elapsed = time.monotonic() - dialed
        self.assertGreater(elapsed, 1.0)
        self.assertLess(elapsed, 10.0)
        self.assertEqual(relay.events("connection-closed"), [])

    # Scenario 2: a js-libp2p relay, a Punch peer reserved on it

    def punch_on_js_relay(self, *relay_flags):
        relay = self.js("js relay", "--relay-server", *relay_flags)
        key, peer_id = self.key("listener")
        listener = self.punch("punch listen", "listen", "--relay", relay.addr, "--key", key,
                              "--json")
        started = listener.expect(lambda o: o.get("event") == "started", 15, "started")
        self.assertEqual(started["peer_id"], peer_id)
        res = listener.expect(lambda o: o.get("event") in ("reservation", "reservation-failed"),
                              30, "reservation")
        self.assertEqual(res["event"], "reservation", res)
        self.assertEqual(res["relay"], relay.peer_id)
        # js-libp2p announces its loopback listen address in the
        # reservation (it counts private addresses as verified).
        self.assertEqual(res["addrs"], [circuit(relay.addr, peer_id)])
        self.assertTrue(res["voucher"], res)
        r = self.cmd(relay, "reservations")
        self.assertEqual([x["peer_id"] for x in r["reservations"]], [peer_id])
        return relay, listener, peer_id, res

    def test_punch_dials_punch_through_js_relay(self):
        relay, listener, listener_id, res = self.punch_on_js_relay(
            "--relay-max-data", str(JS_RELAY_DATA),
            "--relay-max-duration-ms", str(JS_RELAY_DURATION_MS))
        self.assertEqual(res["limit_data"], JS_RELAY_DATA)
        self.assertEqual(res["limit_duration"], JS_RELAY_DURATION_MS)

        key, dialer_id = self.key("dialer")
        dial = self.punch("punch dial", "dial", res["addrs"][0], "--send-bytes", str(MIB),
                          "--key", key, "--timeout", "30", "--json")
        self.assertEqual(dial.wait(90), 0)
        connected = dial.expect(lambda o: o.get("event") == "connected", 1, "connected")
        self.assertEqual(connected["peer_id"], listener_id)
        self.assertEqual(connected["remote_addr"], res["addrs"][0])
        self.assertEqual((connected["path"], connected["limited"]), ("relay", True))
        self.assertEqual(connected["limit_data"], JS_RELAY_DATA)
        echo = dial.expect(lambda o: o.get("event") == "echo", 1, "echo")
        self.assertEqual((echo["bytes"], echo["ok"]), (MIB, True))

        opened = listener.expect(lambda o: o.get("event") == "connection-opened" and
                                 o["peer_id"] == dialer_id, 15, "relayed connection")
        self.assertEqual((opened["direction"], opened["path"], opened["limited"]),
                         ("inbound", "relay", True))
        self.assertEqual(opened["remote_addr"],
                         f"/p2p/{relay.peer_id}/p2p-circuit/p2p/{dialer_id}")
        # The STOP CONNECT carried the js relay's limits.
        self.assertEqual(opened["limit_data"], JS_RELAY_DATA)
        self.assertEqual(opened["limit_duration"], JS_RELAY_DURATION_MS)
        listener.expect(lambda o: o.get("event") == "stream-opened" and
                        o["peer_id"] == dialer_id and o["protocol"] == ECHO, 5, "echo stream")
        listener.expect(lambda o: o.get("event") == "connection-closed" and
                        o["peer_id"] == dialer_id, 15, "relayed connection closed")
        # The listener kept its reservation.
        self.assertEqual(listener.events("reservation-lost"), [])
        self.assertEqual(listener.events("reservation-failed"), [])

    def test_js_dials_punch_through_js_relay(self):
        relay, listener, listener_id, res = self.punch_on_js_relay(
            "--relay-max-data", str(JS_RELAY_DATA),
            "--relay-max-duration-ms", str(JS_RELAY_DURATION_MS))
        js = self.js("js dialer", "--no-listen", "--relay-client")

        r = self.cmd(js, "dial", addr=res["addrs"][0], timeout=20)
        self.assertEqual(r["peer_id"], listener_id)
        self.assertEqual(r["remote_addr"], res["addrs"][0])
        self.assertTrue(r["limited"], r)
        opened = listener.expect(lambda o: o.get("event") == "connection-opened" and
                                 o["peer_id"] == js.peer_id, 15, "relayed connection")
        self.assertEqual((opened["direction"], opened["path"], opened["limited"]),
                         ("inbound", "relay", True))

        r = self.cmd(js, "echo", peer=listener_id, streams=4, bytes=256 * KIB, seed=41,
                     relayed=True, timeout=120)
        self.assertEqual((r["streams"], r["bytes"]), (4, 256 * KIB))
        self.assertEqual(r["remote_addr"], res["addrs"][0])
        self.assertEqual(len([e for e in listener.events("stream-opened")
                              if e["peer_id"] == js.peer_id and e["protocol"] == ECHO]), 4)
        # Punch answered identify over the relayed connection.
        ev = js.expect(lambda o: o.get("event") == "identify" and o["peer_id"] == listener_id,
                       15, "identify of the listener")
        self.assertTrue(ev["agent_version"].startswith("punch/"), ev)
        self.assertIn(ECHO, ev["protocols"])
        self.assertEqual(listener.events("connection-closed"), [])

    def test_js_relay_default_limits_cut_punch_echo(self):
        relay, listener, listener_id, res = self.punch_on_js_relay()
        self.assertEqual(res["limit_data"], JS_DEFAULT_DATA)
        self.assertEqual(res["limit_duration"], JS_DEFAULT_DURATION_MS)

        # 1 MiB each way is more than the 128 KiB the js relay allows.
        dial = self.punch("punch dial (1 MiB)", "dial", res["addrs"][0], "--send-bytes",
                          str(MIB), "--timeout", "20", "--json")
        self.assertEqual(dial.wait(60), 1)
        self.assertEqual(len(dial.events("connected")), 1)
        self.assertEqual(dial.events("echo"), [])
        self.assertIn("echo failed", "\n".join(dial.stderr))

        # Within the limit an echo passes, on the same reservation.
        dial = self.punch("punch dial (16 KiB)", "dial", res["addrs"][0], "--send-bytes",
                          str(16 * KIB), "--timeout", "20", "--json")
        self.assertEqual(dial.wait(60), 0)
        echo = dial.expect(lambda o: o.get("event") == "echo", 1, "echo")
        self.assertEqual((echo["bytes"], echo["ok"]), (16 * KIB, True))
        self.assertEqual(listener.events("reservation-lost"), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
