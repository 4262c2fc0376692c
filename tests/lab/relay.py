#!/usr/bin/python3
"""Circuit relay v2 in the NAT lab: peers behind NATs meet through a Punch relay.

  sudo PUNCH=build/examples/punch /usr/bin/python3 tests/lab/relay.py [TEST...]

  echo      a listener behind a cone NAT reserves on a relay on the fake
            internet; a dialer behind a symmetric NAT connects to it through
            the relay and echoes 1 MiB exactly; a capture on the relay host
            holds the relay's traffic but none of the plaintext
  restart   the relay is killed: the listener loses its reservation; the
            relay comes back (same key, same port): the listener reserves
            again within a bounded time and is dialable
  limits    a data limit and a duration limit close circuits; a reservation
            over the relay's cap is refused

Not root: fails loudly, unless PUNCH_LAB_SKIP_UNPRIVILEGED=1 (exit 77).
"""
import os
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
from punchlab import Lab, PYTHON, run_tests  # noqa: E402

PUNCH = os.environ.get("PUNCH", "punch")
CAPTURE = os.path.join(HERE, "capture.py")
RELAY_PORT = 4001
MARKER = "PUNCH-PLAINTEXT-MARKER-"
TESTS = {}


def test(fn):
    TESTS[fn.__name__.replace("test_", "")] = fn
    return fn


def start_relay(host, *flags, key=None):
    argv = [PUNCH, "serve", "--listen", f"/ip4/{host.ip}/tcp/{RELAY_PORT}", "--relay-service",
            "--json"] + list(flags)
    if key is not None:
        argv += ["--key", key]
    proc = host.spawn(argv, name="relay")
    ev = proc.wait_event("listening", timeout=15)
    return proc, ev["addrs"][0]


def start_listener(host, relay_addr):
    proc = host.spawn([PUNCH, "listen", "--relay", relay_addr, "--json"], name=f"listen-{host.name}")
    return proc


def dial(host, addr, *flags):
    return host.spawn([PUNCH, "dial", addr, "--json"] + list(flags), name=f"dial-{host.name}")


def frames(path):
    """The frames a capture.py file holds."""
    with open(path, "rb") as f:
        data = f.read()
    out, i = [], 0
    while i + 4 <= len(data):
        (n,) = struct.unpack(">I", data[i:i + 4])
        out.append(data[i + 4:i + 4 + n])
        i += 4 + n
    return out


@test
def test_echo():
    with Lab() as lab, tempfile.TemporaryDirectory() as tmp:
        relay_host = lab.add_public_host("relay")
        a = lab.add_site("a", nat="cone").host
        b = lab.add_site("b", nat="symmetric").host
        relay, relay_addr = start_relay(relay_host)
        listener = start_listener(a, relay_addr)
        res = listener.wait_event("reservation", timeout=20)
        assert res["voucher"] is True, res
        circuit_addr = res["addrs"][0]
        assert circuit_addr.startswith(relay_addr + "/p2p-circuit/p2p/"), res

        pcap = os.path.join(tmp, "relay.cap")
        cap = relay_host.spawn([PYTHON, CAPTURE, "--iface", "eth0", "--out", pcap,
                                "--duration", "60"], name="capture")
        cap.wait_event("capturing", timeout=10)
        d = dial(b, circuit_addr, "--send-bytes", str(1 << 20), "--pattern", MARKER)
        conn = d.wait_event("connected", timeout=30)
        assert conn["path"] == "relay" and conn["limited"] is True, conn
        echo = d.wait_event("echo", timeout=60)
        assert echo["ok"] is True and echo["bytes"] == 1 << 20, echo
        d.wait(timeout=15)
        assert d.returncode == 0
        opened = listener.wait_event(lambda e: e["event"] == "connection-opened" and
                                     e["path"] == "relay", timeout=10)
        assert opened["limited"] is True, opened
        cap.stop()
        captured = cap.wait_event("captured", timeout=10)

        data = b"".join(frames(pcap))
        print(f"    captured {captured['frames']} frames, {len(data)} bytes at the relay "
              f"({captured['drops']} dropped); echo of 1 MiB in {echo['elapsed_us'] / 1000:.1f} ms")
        assert captured["drops"] == 0, captured
        # Both legs, both directions: at least 4 MiB went through the relay.
        assert len(data) >= 4 << 20, len(data)
        # The capture sees payload (the outer connections negotiate in clear)...
        assert b"/multistream/1.0.0" in data
        # ...but never the relayed plaintext.
        assert MARKER.encode() not in data, "plaintext seen at the relay"
        assert MARKER[:12].encode() not in data, "plaintext seen at the relay"


@test
def test_restart():
    with Lab() as lab, tempfile.TemporaryDirectory() as tmp:
        relay_host = lab.add_public_host("relay")
        a = lab.add_site("a", nat="cone").host
        b = lab.add_site("b", nat="cone").host
        key = os.path.join(tmp, "relay.key")
        relay_host.run([PUNCH, "id", "new", key])
        relay, relay_addr = start_relay(relay_host, key=key)
        listener = start_listener(a, relay_addr)
        res = listener.wait_event("reservation", timeout=20)

        relay.stop()
        lost = listener.wait_event("reservation-lost", timeout=20)
        print(f"    lost: {lost['reason']}")
        t0 = time.monotonic()
        relay, again = start_relay(relay_host, key=key)
        assert again == relay_addr
        res2 = listener.wait_event("reservation", timeout=90)
        took = time.monotonic() - t0
        print(f"    reserved again {took:.1f} s after the relay came back")
        assert res2["addrs"] == res["addrs"], (res, res2)
        d = dial(b, res2["addrs"][0], "--send-bytes", "65536")
        assert d.wait_event("echo", timeout=30)["ok"] is True
        d.wait(timeout=15)
        assert d.returncode == 0


@test
def test_limits():
    with Lab() as lab:
        relay_host = lab.add_public_host("relay")
        a = lab.add_site("a", nat="cone").host
        b = lab.add_site("b", nat="cone").host
        c = lab.add_site("c", nat="cone").host

        # Data: 64 KiB per direction; a 1 MiB echo cannot get through.
        relay, relay_addr = start_relay(relay_host, "--relay-max-data", "65536",
                                        "--relay-max-reservations", "1")
        listener = start_listener(a, relay_addr)
        res = listener.wait_event("reservation", timeout=20)
        assert res["limit_data"] == 65536, res
        d = dial(b, res["addrs"][0], "--send-bytes", str(1 << 20), "--timeout", "20")
        conn = d.wait_event("connected", timeout=30)
        assert conn["limit_data"] == 65536, conn
        d.wait(timeout=40)
        assert d.returncode != 0, "1 MiB went through a 64 KiB circuit"
        opened = listener.wait_event(lambda e: e["event"] == "connection-opened" and
                                     e["path"] == "relay", timeout=10)
        closed = listener.wait_event(lambda e: e["event"] == "connection-closed" and
                                     e["peer_id"] == opened["peer_id"], timeout=20)
        # The echo never completed, and the relay cut the circuit (no
        # clean close from the dialer).
        assert not any(e["event"] == "echo" for e in d.events), d.events
        assert closed["reason"] != "closed", closed
        print(f"    data limit: dialer exit {d.returncode}; listener: {closed['reason']}")

        # Reservations: the cap is 1, the second listener is refused.
        other = start_listener(c, relay_addr)
        failed = other.wait_event("reservation-failed", timeout=20)
        assert "RESERVATION_REFUSED" in failed["error"], failed
        print(f"    over the cap: {failed['error']}")
        relay.stop()
        listener.stop()
        other.stop()

        # Duration: 2 s; an idle relayed connection is closed by the relay.
        relay, relay_addr = start_relay(relay_host, "--relay-max-duration", "2")
        listener = start_listener(a, relay_addr)
        res = listener.wait_event("reservation", timeout=20)
        assert res["limit_duration"] == 2, res
        t0 = time.monotonic()
        d = dial(b, res["addrs"][0], "--send-bytes", "1000", "--hold", "30")
        d.wait_event("echo", timeout=30)
        opened = listener.wait_event(lambda e: e["event"] == "connection-opened" and
                                     e["path"] == "relay", timeout=10)
        listener.wait_event(lambda e: e["event"] == "connection-closed" and
                            e["peer_id"] == opened["peer_id"], timeout=20)
        took = time.monotonic() - t0
        print(f"    duration limit: relayed connection closed {took:.1f} s after the dial began")
        assert 1.5 <= took <= 15, took
        # The dialer saw its connection end too (before its 30 s hold).
        d.wait_event("closed", timeout=10)


if __name__ == "__main__":
    sys.exit(run_tests(TESTS, sys.argv))
