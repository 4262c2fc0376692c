#!/usr/bin/python3
"""test_interop.py: Punch against the pinned js-libp2p reference peer.

Runs `punch serve`, `punch ping`, the echo client (punch-echo-client) and
the js-libp2p peer (peer.mjs) as processes on 127.0.0.1 and checks what
each side reports: TLS with the right peer ids, yamux, identify both ways
(protocols, listen addresses, observed addresses), ping both ways, 64
concurrent echo streams of 1 MiB each way, refusal of a peer that presents
another peer id than the one dialed, and an idle connection that js-libp2p's
connection monitor keeps pinging.

Environment: PUNCH_CLI (the punch tool), PUNCH_ECHO_CLIENT, NODE (node).
Without tests/interop/node_modules the tests fail (they do not skip) and
say how to install it. Every wait is bounded; every process is killed by
its PID when a test ends, also on failure; on failure both sides' output
is printed.
"""
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PUNCH = os.environ.get("PUNCH_CLI", os.path.join(HERE, "..", "..", "build", "examples", "punch"))
ECHO_CLIENT = os.environ.get("PUNCH_ECHO_CLIENT",
                             os.path.join(HERE, "..", "..", "build", "tests", "interop",
                                          "punch-echo-client"))
NODE = os.environ.get("NODE") or shutil.which("node") or "node"
PEER = os.path.join(HERE, "peer.mjs")
NODE_MODULES = os.path.join(HERE, "node_modules")

ECHO = "/punch/echo/1.0.0"
IDENTIFY = "/ipfs/id/1.0.0"
IDENTIFY_PUSH = "/ipfs/id/push/1.0.0"
PING = "/ipfs/ping/1.0.0"
MIB = 1024 * 1024
# A peer id nobody here has (the peer-ids.md Ed25519 test vector).
OTHER_PEER_ID = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"


class Proc:
    """A child process that prints JSON lines; every line is kept."""

    def __init__(self, name, argv, stdin=False):
        self.name = name
        self.argv = argv
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, G_MESSAGES_DEBUG=os.environ.get("G_MESSAGES_DEBUG", "")))
        self.pid = self.proc.pid
        self.lines = queue.Queue()
        self.stdout = []
        self.stderr = []
        self.seen = []          # parsed objects, in order
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout, True),
                             daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr, False),
                             daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _pump(self, pipe, store, parse):
        for line in pipe:
            store.append(line.rstrip("\n"))
            if parse:
                try:
                    obj = json.loads(line)
                except ValueError:
                    obj = {"_text": line.rstrip("\n")}
                self.lines.put(obj)
        if parse:
            self.lines.put(None)

    def _drain(self):
        while True:
            try:
                obj = self.lines.get_nowait()
            except queue.Empty:
                return
            if obj is not None:
                self.seen.append(obj)

    def expect(self, pred, timeout, what):
        """The first object (seen before or arriving within timeout) that
        pred accepts; fails with both logs otherwise."""
        deadline = time.monotonic() + timeout
        index = 0
        while True:
            self._drain()
            while index < len(self.seen):
                obj = self.seen[index]
                index += 1
                if pred(obj):
                    return obj
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.name}: no {what} within {timeout} s")
            try:
                obj = self.lines.get(timeout=min(left, 0.2))
            except queue.Empty:
                continue
            if obj is None:
                if self.proc.poll() is not None and index >= len(self.seen):
                    self._drain()
                    if index >= len(self.seen):
                        raise AssertionError(
                            f"{self.name}: exited ({self.proc.returncode}) before {what}")
                continue
            self.seen.append(obj)

    def events(self, name):
        self._drain()
        return [o for o in self.seen if o.get("event") == name]

    def wait(self, timeout):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name}: still running after {timeout} s")
        for t in self._threads:
            t.join(timeout=5)
        self._drain()
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        # Everything the process wrote (sanitizer reports at exit too) is
        # read before the pipes close.
        for t in self._threads:
            t.join(timeout=5)
        self._drain()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass

    def log(self):
        return (f"----- {self.name} (pid {self.pid}): {' '.join(self.argv)}\n"
                f"--- stdout\n" + "\n".join(self.stdout) +
                f"\n--- stderr\n" + "\n".join(self.stderr[-200:]) + "\n")


class JsPeer(Proc):
    def __init__(self, name="js"):
        super().__init__(name, [NODE, PEER], stdin=True)
        self.next_id = 1
        hello = self.expect(lambda o: o.get("event") == "listening", 30, "listening line")
        self.peer_id = hello["peer_id"]
        self.addrs = hello["addrs"]
        self.addr = self.addrs[0]

    def command(self, cmd, timeout=60, **args):
        cid = self.next_id
        self.next_id += 1
        args.update(id=cid, cmd=cmd, timeout_ms=int(timeout * 1000))
        self.proc.stdin.write(json.dumps(args) + "\n")
        self.proc.stdin.flush()
        return self.expect(lambda o: o.get("reply") == cid, timeout + 5, f"reply to {cmd}")


class PunchServe(Proc):
    def __init__(self, name="punch serve", extra=()):
        super().__init__(name, [PUNCH, "serve", "--listen", "/ip4/127.0.0.1/tcp/0", "--json",
                                *extra])
        hello = self.expect(lambda o: o.get("event") == "listening", 30, "listening event")
        self.peer_id = hello["peer_id"]
        self.addrs = hello["addrs"]
        self.addr = self.addrs[0]


def strip_p2p(addr):
    return re.sub(r"/p2p/[^/]+$", "", addr)


class InteropTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(os.path.join(NODE_MODULES, "libp2p", "package.json")):
            raise AssertionError(
                f"{NODE_MODULES} is missing: install the pinned js-libp2p reference peer "
                "with `npm ci --prefix tests/interop`")
        if shutil.which(NODE) is None and not os.path.exists(NODE):
            raise AssertionError("node is not installed: the interop tests need Node >= 20")

    def setUp(self):
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            p.kill()
        # Punch's processes must not have logged criticals, warnings or
        # (in sanitizer builds) errors.
        bad = ("-CRITICAL **", "-WARNING **", "ERROR: AddressSanitizer",
               "ERROR: LeakSanitizer", "runtime error:")
        noisy = [line for p in self.procs if not isinstance(p, JsPeer)
                 for line in p.stderr if any(b in line for b in bad)]
        # A failure of the test body: unittest 3.11 resets _outcome.success
        # before tearDown runs, so look at what the result holds.
        result = self._outcome.result
        failed = any(t is self for t, _ in result.failures + result.errors)
        if failed or noisy:
            for p in self.procs:
                sys.stderr.write(p.log())
        self.assertEqual(noisy, [])

    def start(self, proc):
        self.procs.append(proc)
        return proc

    def js(self, name="js"):
        return self.start(JsPeer(name))

    def serve(self, *extra):
        return self.start(PunchServe(extra=extra))

    def punch(self, *args, name="punch"):
        return self.start(Proc(name, [PUNCH, *args]))

    # Checks

    def check_js_identified_punch(self, js, punch_peer, punch_listen, js_seen_at):
        ev = js.expect(lambda o: o.get("event") == "identify" and o["peer_id"] == punch_peer,
                       15, "identify of Punch")
        self.assertTrue(ev["agent_version"].startswith("punch/"), ev)
        self.assertEqual(ev["protocol_version"], "ipfs/0.1.0")
        for proto in (IDENTIFY, IDENTIFY_PUSH, PING):
            self.assertIn(proto, ev["protocols"])
        for addr in punch_listen:
            self.assertIn(strip_p2p(addr), ev["listen_addrs"])
        if js_seen_at is not None:
            self.assertEqual(ev["observed_addr"], js_seen_at)
        return ev

    def check_punch_identified_js(self, punch, js, punch_seen_at):
        ev = punch.expect(lambda o: o.get("event") == "identify-received" and
                          o["peer_id"] == js.peer_id, 15, "identify of js")
        self.assertTrue(ev["agent_version"].startswith("js-libp2p/"), ev)
        for proto in (IDENTIFY, IDENTIFY_PUSH, PING, ECHO):
            self.assertIn(proto, ev["protocols"])
        self.assertIn(strip_p2p(js.addr), ev["listen_addrs"])
        if punch_seen_at is not None:
            self.assertEqual(ev["observed_addr"], punch_seen_at)
        return ev

    # Tests

    def test_js_dials_punch(self):
        punch = self.serve()
        js = self.js()
        r = js.command("dial", addr=punch.addr, timeout=20)
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["peer_id"], punch.peer_id)
        self.assertEqual(r["remote_addr"], punch.addr)

        opened = punch.expect(lambda o: o.get("event") == "connection-opened", 15,
                              "connection-opened")
        self.assertEqual(opened["peer_id"], js.peer_id)
        self.assertEqual(opened["direction"], "inbound")
        self.assertTrue(opened["remote_addr"].startswith("/ip4/127.0.0.1/tcp/"), opened)

        # js sees Punch's listen address; Punch tells js where it saw js
        # (js's outbound port) and js tells Punch where it saw Punch (the
        # listen address js dialed).
        self.check_js_identified_punch(js, punch.peer_id, punch.addrs, opened["remote_addr"])
        self.check_punch_identified_js(punch, js, strip_p2p(punch.addr))

        r = js.command("ping", peer=punch.peer_id, count=3, timeout=20)
        self.assertTrue(r["ok"], r)
        self.assertEqual(len(r["rtts"]), 3)

    def test_punch_dials_js(self):
        js = self.js()
        # `punch ping` dials js, identifies it and pings it.
        ping = self.punch("ping", js.addr, "--count", "3", "--interval", "0.2", "--json",
                          "--timeout", "15", name="punch ping")
        connected = ping.expect(lambda o: o.get("event") == "connected", 20, "connected")
        self.assertEqual(connected["peer_id"], js.peer_id)
        opened = js.expect(lambda o: o.get("event") == "connection-opened", 15,
                           "connection-opened")
        self.assertEqual(opened["direction"], "inbound")
        punch_peer = opened["peer_id"]
        # js writes its connections' remote addresses with /p2p/ID.
        ev = self.check_punch_identified_js(ping, js, strip_p2p(opened["remote_addr"]))
        self.assertEqual(ev["protocol_version"], "ipfs/0.1.0")
        for seq in (1, 2, 3):
            p = ping.expect(lambda o, s=seq: o.get("event") == "ping" and o["seq"] == s, 20,
                            f"ping {seq}")
            self.assertGreaterEqual(p["rtt_us"], 0)
        self.assertEqual(ping.wait(30), 0)
        # The pinging node listens nowhere: it announces no listen address,
        # and js saw it at its ephemeral port.
        self.check_js_identified_punch(js, punch_peer, [], None)

        # A serving Punch node that dials js: js pings it over that
        # connection, identify runs both ways on it.
        punch = self.serve("--connect", js.addr)
        opened = punch.expect(lambda o: o.get("event") == "connection-opened", 20,
                              "connection-opened")
        self.assertEqual(opened["direction"], "outbound")
        self.assertEqual(opened["peer_id"], js.peer_id)
        js_opened = js.expect(lambda o: o.get("event") == "connection-opened" and
                              o["peer_id"] == punch.peer_id, 15, "connection from serve")
        self.check_punch_identified_js(punch, js, strip_p2p(js_opened["remote_addr"]))
        self.check_js_identified_punch(js, punch.peer_id, punch.addrs, opened["remote_addr"])
        r = js.command("ping", peer=punch.peer_id, count=3, timeout=20)
        self.assertTrue(r["ok"], r)
        r = js.command("connections")
        conns = [c for c in r["connections"] if c["peer_id"] == punch.peer_id]
        self.assertEqual(len(conns), 1, r)
        self.assertEqual(conns[0]["remote_addr"], js_opened["remote_addr"])

    def test_echo_64_streams_js_to_punch(self):
        punch = self.serve()
        js = self.js()
        r = js.command("dial", addr=punch.addr, timeout=20)
        self.assertTrue(r["ok"], r)
        r = js.command("echo", peer=punch.peer_id, streams=64, bytes=MIB, seed=7, timeout=240)
        self.assertTrue(r["ok"], r)
        self.assertEqual((r["streams"], r["bytes"]), (64, MIB))
        self.assertEqual(len([e for e in punch.events("stream-opened")
                              if e["protocol"] == ECHO]), 64)
        self.assertEqual(punch.events("connection-closed"), [])

    def test_echo_64_streams_punch_to_js(self):
        js = self.js()
        client = self.start(Proc("echo client", [ECHO_CLIENT, js.addr, "64", str(MIB), "11"]))
        status = client.wait(240)
        result = client.expect(lambda o: "ok" in o, 1, "result")
        self.assertTrue(result["ok"], result)
        self.assertEqual(status, 0)
        self.assertEqual(len([e for e in js.events("stream-opened") if e["protocol"] == ECHO]), 64)

    def test_punch_refuses_wrong_peer_id(self):
        js = self.js()
        wrong = strip_p2p(js.addr) + "/p2p/" + OTHER_PEER_ID
        ping = self.punch("ping", wrong, "--timeout", "15", name="punch ping (wrong id)")
        self.assertEqual(ping.wait(30), 1)
        err = "\n".join(ping.stderr)
        self.assertTrue(err.startswith("punch: "), err)
        self.assertRegex(err.lower(), r"peer.?id|mismatch|expected")
        self.assertIn(OTHER_PEER_ID, err)
        self.assertEqual(ping.stdout, [])

    def test_js_refuses_wrong_peer_id(self):
        punch = self.serve()
        js = self.js()
        wrong = strip_p2p(punch.addr) + "/p2p/" + OTHER_PEER_ID
        r = js.command("dial", addr=wrong, timeout=20)
        self.assertFalse(r["ok"], r)
        # Nothing got through to identify; Punch still serves.
        r = js.command("dial", addr=punch.addr, timeout=20)
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["peer_id"], punch.peer_id)
        self.check_js_identified_punch(js, punch.peer_id, punch.addrs, None)

    def test_idle_connection_survives_js_keepalive(self):
        punch = self.serve()
        js = self.js()
        r = js.command("dial", addr=punch.addr, timeout=20)
        self.assertTrue(r["ok"], r)
        self.check_js_identified_punch(js, punch.peer_id, punch.addrs, None)
        # js-libp2p's connection monitor pings every 10 s and drops a
        # connection whose ping fails: once two of its pings have reached
        # Punch (each a new /ipfs/ping/1.0.0 stream; equal events, told
        # apart by identity), the connection is still there, on both sides.
        pings = []
        while len(pings) < 2:
            pings.append(punch.expect(
                lambda o: (o.get("event") == "stream-opened" and o["protocol"] == PING
                           and o["peer_id"] == js.peer_id
                           and all(o is not p for p in pings)),
                25, f"js ping stream {len(pings) + 1}"))
        self.assertEqual(js.events("connection-closed"), [])
        self.assertEqual(punch.events("connection-closed"), [])
        r = js.command("connections")
        conns = [c for c in r["connections"] if c["peer_id"] == punch.peer_id]
        self.assertEqual(len(conns), 1, r)
        self.assertEqual(conns[0]["status"], "open")
        self.assertIsNotNone(conns[0].get("rtt"), r)
        r = js.command("ping", peer=punch.peer_id, timeout=10)
        self.assertTrue(r["ok"], r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
