#!/usr/bin/python3
"""The NAT-lab part of the demo (scripts/demo runs it as root).

  sudo PUNCH=build/examples/punch /usr/bin/python3 tests/lab/demo.py

A fake internet with four AutoNAT/STUN servers and a relay; Alice behind a
cone NAT, Bob behind a symmetric NAT. Alice learns she is PRIVATE (with a
verdict per TCP address and per ICE candidate), reserves on the relay;
Bob, who has no other way in, connects to her through the relay with TLS
and yamux end to end, and echoes 1 MiB. Everything is torn down at the
end. Prints what happens; exits non-zero if a step fails.
"""
import os
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
from punchlab import Lab  # noqa: E402

PUNCH = os.environ.get("PUNCH", "punch")
PORT = 4001


def main():
    with Lab() as lab:
        print("== the lab: 4 AutoNAT+STUN servers and a relay on the fake internet;"
              " alice behind a cone NAT, bob behind a symmetric NAT")
        servers = []
        for i in range(1, 5):
            host = lab.add_public_host(f"s{i}")
            servers.append((host, host.spawn(
                [PUNCH, "serve", "--listen", f"/ip4/{host.ip}/tcp/{PORT}", "--autonat-service",
                 "--autonat-allow-private", "--autonat-dial-timeout", "5", "--stun-port", "3478",
                 "--json"])))
        relay_host = lab.add_public_host("relay")
        relay = relay_host.spawn([PUNCH, "serve", "--listen", f"/ip4/{relay_host.ip}/tcp/{PORT}",
                                  "--relay-service", "--json"])
        alice = lab.add_site("alice", nat="cone").host
        bob = lab.add_site("bob", nat="symmetric").host
        server_addrs = [p.wait_event("listening", timeout=15)["addrs"][0] for _, p in servers]
        relay_addr = relay.wait_event("listening", timeout=15)["addrs"][0]
        print(f"   relay {relay_addr}")

        print("== alice: punch reach (AutoNAT over TCP, STUN-checked ICE candidates over UDP)")
        argv = [PUNCH, "reach", "--listen", f"/ip4/0.0.0.0/tcp/{PORT}", "--stun",
                f"{servers[0][0].ip}:3478", "--json"]
        for addr in server_addrs:
            argv += ["--server", addr]
        reach = alice.spawn(argv, name="reach")
        verdict = reach.wait_event("verdict", timeout=60)
        reach.wait(timeout=10)
        print(f"   verdict: {verdict['reachability']} (confidence {verdict['confidence']}, "
              f"{verdict['elapsed_us'] / 1e6:.1f} s)")
        for a in verdict["addrs"]:
            print(f"     {a['origin']:10s} {a['addr']:32s} {a['reachability']}")
        if verdict["reachability"] != "private":
            print("demo: alice should be private behind a cone NAT", file=sys.stderr)
            return 1

        print("== alice: punch listen --relay (a reservation, a relayed address)")
        listener = alice.spawn([PUNCH, "listen", "--relay", relay_addr, "--json"], name="listen")
        res = listener.wait_event("reservation", timeout=20)
        circuit = res["addrs"][0]
        print(f"   reserved until {res['expiration']} (voucher: {res['voucher']}), "
              f"limits {res['limit_duration']} s / {res['limit_data']} bytes")
        print(f"   alice is at {circuit}")

        print("== bob: punch dial <alice's relayed address> --send-bytes 1048576")
        dial = bob.spawn([PUNCH, "dial", circuit, "--send-bytes", str(1 << 20), "--json"],
                         name="dial")
        conn = dial.wait_event("connected", timeout=30)
        echo = dial.wait_event("echo", timeout=60)
        dial.wait(timeout=15)
        print(f"   connected to {conn['peer_id']} via the {conn['path']} "
              f"(limited: {conn['limited']}), TLS and yamux end to end")
        print(f"   1 MiB echoed back intact in {echo['elapsed_us'] / 1000:.1f} ms")
        opened = listener.wait_event(lambda e: e["event"] == "connection-opened" and
                                     e["path"] == "relay", timeout=10)
        print(f"   alice saw bob arrive: {opened['peer_id']} over {opened['remote_addr']}")
        if dial.returncode != 0:
            return 1
    print("== done: the lab is torn down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
