#!/usr/bin/python3
"""AutoNAT in the NAT lab: verdicts against the kernel's own NATs.

  sudo PUNCH=build/examples/punch /usr/bin/python3 tests/lab/autonat.py [TEST...]

Four AutoNAT servers (`punch serve --autonat-service`) sit on the fake
internet; `punch reach` runs on a host directly on the internet and on
hosts behind a cone NAT, a symmetric NAT and a stateful firewall.  Tests:

  verdicts   public -> PUBLIC; cone, symmetric, firewall -> PRIVATE, each with
             the listen address's own verdict consistent with it
  port_forward  a cone NAT forwarding the listen port: PUBLIC through the
             observed IP with the listen port
  refused    a Dial that lists an address on another host's IP: that host
             receives no packet from the server, the answer is E_DIAL_REFUSED

Not root: fails loudly, unless PUNCH_LAB_SKIP_UNPRIVILEGED=1 (exit 77).
"""
import os
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
from punchlab import Lab, PYTHON, run_tests  # noqa: E402

PUNCH = os.environ.get("PUNCH", "punch")
ASK = os.path.join(HERE, "autonat_ask.py")
SERVER_PORT = 4001
TESTS = {}


def test(fn):
    TESTS[fn.__name__.replace("test_", "")] = fn
    return fn


def start_servers(lab, n=4, dial_timeout=5):
    """n public AutoNAT servers; returns (hosts, their /p2p multiaddrs)."""
    hosts, addrs, procs = [], [], []
    for i in range(1, n + 1):
        host = lab.add_public_host(f"s{i}")
        hosts.append(host)
    for host in hosts:
        procs.append(host.spawn([PUNCH, "serve", "--listen", f"/ip4/{host.ip}/tcp/{SERVER_PORT}",
                                 "--autonat-service", "--autonat-allow-private",
                                 "--autonat-dial-timeout", str(dial_timeout),
                                 "--stun-port", "3478", "--json"]))
    for proc in procs:
        ev = proc.wait_event("listening", timeout=15)
        addrs.append(ev["addrs"][0])
    return hosts, addrs, procs


def reach(host, servers, threshold=None, timeout=40, stun=None):
    argv = [PUNCH, "reach", "--listen", f"/ip4/0.0.0.0/tcp/{SERVER_PORT}", "--json",
            "--timeout", str(timeout)]
    if stun is not None:
        argv += ["--stun", stun]
    for addr in servers:
        argv += ["--server", addr]
    if threshold is not None:
        argv += ["--threshold", str(threshold)]
    return host.spawn(argv, name=f"reach-{host.name}")


@test
def test_verdicts():
    with Lab() as lab:
        server_hosts, servers, _ = start_servers(lab)
        stun = f"{server_hosts[0].ip}:3478"
        sites = {
            "public": lab.add_site("p", nat="public"),
            "cone": lab.add_site("c", nat="cone"),
            "symmetric": lab.add_site("y", nat="symmetric"),
            "firewall": lab.add_site("f", nat="firewall"),
        }
        procs = {kind: reach(site.host, servers, stun=stun) for kind, site in sites.items()}
        verdicts = {}
        for kind, proc in procs.items():
            ev = proc.wait_event("verdict", timeout=60)
            proc.wait(timeout=10)
            verdicts[kind] = ev
            print(f"    {kind}: {ev['reachability']} (confidence {ev['confidence']}, "
                  f"{ev['rounds']} rounds)")

        pub = verdicts["public"]
        assert pub["reachability"] == "public", pub
        assert procs["public"].returncode == 0
        host_ip = sites["public"].host.ip
        listen = [a for a in pub["addrs"] if a["origin"] == "listen"]
        assert any(a["addr"] == f"/ip4/{host_ip}/tcp/{SERVER_PORT}" and
                   a["reachability"] == "public" for a in listen), pub

        for kind in ("cone", "symmetric", "firewall"):
            ev = verdicts[kind]
            assert ev["reachability"] == "private", (kind, ev)
            assert procs[kind].returncode == 0, kind
            # Nothing TCP of theirs was confirmed reachable.
            assert not any(a["reachability"] == "public" and "/tcp/" in a["addr"]
                           for a in ev["addrs"]), (kind, ev)
        # UDP: the ICE candidates, probed by a check from a port the host never
        # sent to. Public: its host candidate answers. Cone and symmetric: the
        # NAT's mapping (srflx) filters the unsolicited check. Firewall: the
        # host candidate (a public address) is filtered likewise.
        def udp(kind, origin):
            return [a for a in verdicts[kind]["addrs"] if a["origin"] == origin]
        assert any(a["reachability"] == "public" and sites["public"].host.ip in a["addr"]
                   for a in udp("public", "ice-host")), verdicts["public"]
        for kind in ("cone", "symmetric"):
            srflx = udp(kind, "ice-srflx")
            assert srflx, (kind, verdicts[kind])
            assert all(a["reachability"] == "private" for a in srflx), (kind, srflx)
            # The LAN address is not the observed IP: never probed.
            assert all(a["reachability"] == "unknown" for a in udp(kind, "ice-host")), kind
        fw_host = [a for a in udp("firewall", "ice-host") if sites["firewall"].host.ip in a["addr"]]
        assert fw_host and all(a["reachability"] == "private" for a in fw_host), verdicts["firewall"]

        # Behind the NATs the servers could only try the observed mapping.
        for kind in ("cone", "symmetric"):
            observed = [a for a in verdicts[kind]["addrs"] if a["origin"] == "observed"]
            assert observed, (kind, verdicts[kind])
            public_ip = sites[kind].public_ip
            assert all(a["addr"].startswith(f"/ip4/{public_ip}/tcp/") for a in observed), \
                (kind, observed)


@test
def test_port_forward():
    """Behind a cone NAT that forwards the listen port to the host: the
    host's observed IP with its listen port is dialable, so PUBLIC; the
    observed mapping of its outbound connection stays unreachable. The
    same site without the forward (test_verdicts) is PRIVATE."""
    with Lab() as lab:
        _, servers, _ = start_servers(lab)
        site = lab.add_site("c", nat="cone")
        lab.forward_port("c", site.host, SERVER_PORT)
        proc = reach(site.host, servers, threshold=4)
        ev = proc.wait_event("verdict", timeout=60)
        proc.wait(timeout=10)
        print(f"    forwarded cone: {ev['reachability']} (confidence {ev['confidence']})")
        assert ev["reachability"] == "public", ev
        assert proc.returncode == 0
        forwarded = f"/ip4/{site.public_ip}/tcp/{SERVER_PORT}"
        found = [a for a in ev["addrs"] if a["addr"] == forwarded]
        assert found and found[0]["origin"] == "observed" and \
            found[0]["reachability"] == "public", ev
        # The LAN listen address is not the servers' to dial, and no other
        # TCP address was confirmed.
        assert not any(a["reachability"] == "public" and "/tcp/" in a["addr"] and
                       a["addr"] != forwarded for a in ev["addrs"]), ev


@test
def test_refused():
    with Lab() as lab:
        server_hosts, servers, _ = start_servers(lab, n=1)
        client = lab.add_site("p", nat="public", hosts=1).host
        victim = lab.add_public_host("victim")
        # Count every packet from the server's IP (its dial-back host shares
        # it) addressed to the victim (an nft counter before any other hook;
        # multicast such as the server's IGMP reports is not addressed to
        # it), then have the client ask about the victim's address.
        server_ip = server_hosts[0].ip
        victim.run(["nft", "-f", "-"], input=(
            "table inet count {\n"
            "  chain in { type filter hook prerouting priority -400; policy accept;\n"
            f"    ip saddr {server_ip} ip daddr {victim.ip} counter\n"
            "  }\n"
            "}\n"))
        env = {"GI_TYPELIB_PATH": os.environ.get("PUNCH_TYPELIB_DIR", ""),
               "LD_LIBRARY_PATH": os.environ.get("PUNCH_TYPELIB_DIR", "")}
        ask = client.spawn([PYTHON, ASK, servers[0],
                            f"/ip4/{victim.ip}/tcp/{SERVER_PORT}",
                            f"/ip4/{victim.ip}/tcp/22"], env=env)
        ev = ask.wait_event("answer", timeout=30)
        ask.wait(timeout=10)
        print(f"    answer: {ev}")
        assert ev["status"] == "DIAL_REFUSED", ev
        def counted():
            out = victim.run(["nft", "list", "table", "inet", "count"]).stdout
            return int(out.split("counter packets ")[1].split()[0])
        packets = counted()
        print(f"    packets at the victim: {packets}")
        assert packets == 0, packets
        # Control: the counter does see what the server host sends.
        server_hosts[0].run([PYTHON, "-c", "import socket; socket.socket(socket.AF_INET, "
                             f"socket.SOCK_DGRAM).sendto(b'x', ('{victim.ip}', 9))"])
        assert counted() >= 1, "the victim's counter counts nothing"


if __name__ == "__main__":
    sys.exit(run_tests(TESTS, sys.argv))
