#!/usr/bin/python3
# Copyright 2026 The Punch developers
# SPDX-License-Identifier: LGPL-2.1-or-later
"""AutoNAT v1 between Punch and js-libp2p in the NAT lab, both directions.

  sudo PUNCH=build/examples/punch NODE=/usr/bin/node \\
      /usr/bin/python3 tests/lab/autonat_interop.py [TEST...]

The js-libp2p side is tests/interop/autonat-peer.mjs (the pinned
js-libp2p and @libp2p/autonat of tests/interop/package.json, installed
with `npm ci --prefix tests/interop`); what it patches for the lab, and
why, is at its top.  Tests:

  punch-client  4 js-libp2p AutoNAT servers on the fake internet;
                `punch reach` on a host directly on the internet is PUBLIC,
                its listen address confirmed, every js server having
                answered it OK with that address; behind a cone NAT it is
                PRIVATE, nothing TCP confirmed, every js server having
                answered E_DIAL_ERROR (never OK) to Dials that listed the
                NAT's mapping
  js-client     8 Punch AutoNAT servers (`punch serve --autonat-service`)
                on the fake internet; a js-libp2p node on the internet
                gets its listen address confirmed (public) by a Punch
                server's OK and announces it; one behind a cone NAT, told
                (as UPnP would) that the NAT forwards its public IP and
                port, gets that address given up (private) after 8
                E_DIAL_ERRORs from 8 distinct Punch servers and does not
                announce it

Not root: fails loudly, unless PUNCH_LAB_SKIP_UNPRIVILEGED=1 (exit 77).
Without node or tests/interop/node_modules: fails, saying so.
"""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
from punchlab import Lab, run_tests  # noqa: E402
from autonat import SERVER_PORT as PORT, reach, start_servers  # noqa: E402

INTEROP = os.path.join(os.path.dirname(HERE), "interop")
PEER = os.path.join(INTEROP, "autonat-peer.mjs")
TESTS = {}


def test(fn):
    TESTS[fn.__name__.replace("test_", "").replace("_", "-")] = fn
    return fn


def node_binary():
    """The node to run the js peer with; raises with a clear message when
    node or the pinned packages are missing."""
    node = os.environ.get("NODE") or shutil.which("node")
    if not node or not os.access(node, os.X_OK):
        raise RuntimeError("node is not installed (or NODE is not set): the js-libp2p "
                           "AutoNAT interop tests need Node >= 20")
    if not os.path.exists(os.path.join(INTEROP, "node_modules", "libp2p", "package.json")):
        raise RuntimeError(f"{os.path.join(INTEROP, 'node_modules')} is missing: install the "
                           "pinned js-libp2p with `npm ci --prefix tests/interop`")
    return node


def js_peer(host, node, *args, name=None):
    return host.spawn([node, PEER, "--listen", f"/ip4/{host.ip}/tcp/{PORT}"] + list(args),
                      name=name or f"js-{host.name}")


def ip_of(addr):
    """The IP of an /ip4/IP/... multiaddr string."""
    parts = addr.split("/")
    assert len(parts) > 2 and parts[1] == "ip4", addr
    return parts[2]


@test
def test_punch_client():
    node = node_binary()
    with Lab() as lab:
        js_hosts = [lab.add_public_host(f"j{i}") for i in range(1, 5)]
        # The servers' dial-backs give up after 15 s (the default is 30).
        js = [js_peer(h, node, "--timeout-ms", "15000") for h in js_hosts]
        servers = [p.wait_event("listening", timeout=30)["addrs"][0] for p in js]
        for addr, host in zip(servers, js_hosts):
            assert addr.startswith(f"/ip4/{host.ip}/tcp/{PORT}/p2p/"), addr

        sites = {"public": lab.add_site("p", nat="public"),
                 "cone": lab.add_site("c", nat="cone")}
        procs = {kind: reach(site.host, servers, threshold=len(servers), timeout=90)
                 for kind, site in sites.items()}
        verdicts = {}
        for kind, proc in procs.items():
            verdicts[kind] = proc.wait_event("verdict", timeout=100)
            assert proc.wait(timeout=10) == 0, kind
            ev = verdicts[kind]
            print(f"    punch {kind}: {ev['reachability']} (confidence {ev['confidence']}, "
                  f"{ev['rounds']} rounds, {ev.get('elapsed_us', 0) / 1e6:.1f} s)")

        # What each js server answered, by the requester's IP.
        answers = {}
        for i, p in enumerate(js):
            for ev in p.events:
                if ev.get("event") == "autonat-request":
                    answers.setdefault(ip_of(ev["remote_addr"]), []).append((i, ev))

        pub_ip = sites["public"].host.ip
        pub = verdicts["public"]
        assert pub["reachability"] == "public", pub
        listen = f"/ip4/{pub_ip}/tcp/{PORT}"
        assert any(a["addr"] == listen and a["origin"] == "listen" and
                   a["reachability"] == "public" for a in pub["addrs"]), pub
        ok = {i for i, ev in answers.get(pub_ip, [])
              if ev["status"] == "OK" and ev["addr"] == listen}
        assert ok == set(range(len(js))), answers.get(pub_ip)

        nat_ip = sites["cone"].public_ip
        cone = verdicts["cone"]
        assert cone["reachability"] == "private", cone
        assert not any(a["reachability"] == "public" and "/tcp/" in a["addr"]
                       for a in cone["addrs"]), cone
        cone_answers = answers.get(nat_ip, [])
        assert not any(ev["status"] == "OK" for _, ev in cone_answers), cone_answers
        failed = {i for i, ev in cone_answers if ev["status"] == "E_DIAL_ERROR" and
                  any(a and a.startswith(f"/ip4/{nat_ip}/tcp/") for a in ev["addrs"])}
        assert failed == set(range(len(js))), cone_answers


@test
def test_js_client():
    node = node_binary()
    with Lab() as lab:
        _, server_addrs, _ = start_servers(lab, n=8, dial_timeout=5)
        server_ids = {addr.rsplit("/p2p/", 1)[1] for addr in server_addrs}
        connect = []
        for addr in server_addrs:
            connect += ["--connect", addr]

        public = lab.add_site("p", nat="public").host
        cone = lab.add_site("c", nat="cone")
        nat_ip = cone.public_ip
        js_pub = js_peer(public, node, *connect)
        js_nat = js_peer(cone.host, node, "--map-public", f"{nat_ip}:{PORT}", *connect)
        for p in (js_pub, js_nat):
            p.wait_event("listening", timeout=30)

        # Punch's identify tells the js node it speaks AutoNAT (what
        # makes js-libp2p ask).
        ident = js_pub.wait_event("identify", timeout=30)
        assert ident["peer_id"] in server_ids, ident
        assert "/libp2p/autonat/1.0.0" in ident["protocols"], ident

        ev = js_pub.wait_event("reachability", timeout=60)
        print(f"    js public: {ev['value']} {ev['addr']} ({ev['type']}, "
              f"{ev['success']} OK, {ev['failure']} failed)")
        addr = f"/ip4/{public.ip}/tcp/{PORT}"
        assert ev["value"] == "public", ev
        assert ev["addr"] == addr and ev["type"] == "transport", ev
        assert ev["success"] >= 1 and ev["failure"] == 0, ev
        assert ev["verifiers"] and set(ev["verifiers"]) <= server_ids, ev
        assert any(a.startswith(addr + "/p2p/") for a in ev["announced"]), ev

        # 8 failures, the dial-backs spread over 3 at a time, 5 s each.
        ev = js_nat.wait_event("reachability", timeout=90)
        print(f"    js behind cone NAT: {ev['value']} {ev['addr']} ({ev['type']}, "
              f"{ev['success']} OK, {ev['failure']} failed)")
        addr = f"/ip4/{nat_ip}/tcp/{PORT}"
        assert ev["value"] == "private", ev
        assert ev["addr"] == addr and ev["type"] == "ip-mapping", ev
        assert ev["success"] == 0 and ev["failure"] == 8, ev
        assert len(set(ev["verifiers"])) == 8 and set(ev["verifiers"]) <= server_ids, ev
        assert not any(a.startswith(addr) for a in ev["announced"]), ev
        # No second decision about it (e.g. a late OK).
        assert not [e for e in js_nat.events if e.get("event") == "reachability" and e is not ev]


if __name__ == "__main__":
    sys.exit(run_tests(TESTS, sys.argv))
