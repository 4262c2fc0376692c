#!/usr/bin/python3
"""Self-tests of Punch's NAT lab: they prove the lab tells the truth.

  sudo /usr/bin/python3 tests/lab/selftest.py            # all tests
  sudo /usr/bin/python3 tests/lab/selftest.py mapping    # some of them
  /usr/bin/python3 tests/lab/selftest.py --list

Each test builds its own lab, has a time budget, and ends by asserting
that it left nothing behind (no namespace of its run, no process in one,
no child process, root namespace's links and nftables ruleset unchanged).
Not root: fails loudly, unless PUNCH_LAB_SKIP_UNPRIVILEGED=1 (exit 77,
meson's "skipped").  Closing line: "N passed, N failed".
"""
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
import punchlab as pl  # noqa: E402
from punchlab import Lab, PYTHON, UDPTOOL  # noqa: E402

CLI = os.path.join(HERE, "punch-lab")
TESTS = {}
RESULTS = {}   # figures worth reporting, printed at the end


def test(budget):
    def register(fn):
        TESTS[fn.__name__.replace("test_", "").replace("_", "-")] = (fn, budget)
        return fn
    return register


class TestFailure(AssertionError):
    pass


def check(cond, message):
    if not cond:
        raise TestFailure(message)


def tool(host, *args, name=None):
    return host.spawn([PYTHON, UDPTOOL] + [str(a) for a in args], name=name)


def note(key, value):
    RESULTS[key] = value
    print(f"    {key}: {value}")


# --------------------------------------------------------------------------
# Leftover checks

OUR_LINK_RE = re.compile(r"^(eth0|wan|lan|wa|wb|srv|cli|p\d+|l\d+)$")
OUR_NFT = ("table inet lab", "table netdev link_", "map hp_udp")


def root_snapshot():
    """What of the root namespace the lab could have leaked into (read
    only): interface names, and nftables tables/maps of the kinds it uses."""
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    names = {l.split(":")[1].strip().split("@")[0] for l in links.splitlines() if ":" in l}
    rules = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
    ours = sorted(l.strip() for l in rules.splitlines() if l.strip().startswith(OUR_NFT))
    return names, ours


def root_leaks(before):
    """Lab-looking interfaces or nft objects that appeared in the root
    namespace since `before` (unrelated changes by others are ignored)."""
    names, ours = root_snapshot()
    new_links = sorted(n for n in names - before[0] if OUR_LINK_RE.match(n))
    new_nft = sorted(set(ours) - set(before[1]))
    return new_links + new_nft


def children():
    me = str(os.getpid())
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if fields[1] == me and fields[0] != "Z":
                out.append(int(pid))
        except OSError:
            pass
    return out


def assert_clean(labs, root_before):
    for lab in labs:
        left = [ns for ns in pl.list_namespaces() if ns.startswith(lab.prefix)]
        check(not left, f"namespaces left behind: {left}")
        stay = [p for p in lab.ns_inodes_processes()]
        check(not stay, f"processes still in run {lab.run_id}'s namespaces: {stay}")
    kids = children()
    check(not kids, f"child processes left behind: {kids}")
    leaks = root_leaks(root_before)
    check(not leaks, f"root namespace gained lab-like interfaces or nft objects: {leaks}")


class Tracker:
    """Creates Labs and remembers them for the leftover checks."""

    def __init__(self):
        self.labs = []

    def lab(self, **kw):
        lab = Lab(**kw)
        self.labs.append(lab)
        return lab


# --------------------------------------------------------------------------
# Tests

@test(budget=60)
def test_mapping(t):
    """cone keeps one external port for every destination, symmetric picks
    a new one per destination; public/firewall hosts aren't translated;
    double NAT shows the CGNAT's address."""
    with t.lab() as lab:
        refl = [lab.add_public_host(f"r{i}") for i in range(1, 5)]
        for r in refl:
            tool(r, "reflect", "--port", 3478, "--duration", 30, "--quiet").wait_event("listening")
        sites = {nat: lab.add_site(nat[:3], nat=nat)
                 for nat in ("public", "firewall", "cone", "symmetric", "double")}
        check(len({r.ip for r in refl}) == 4, "reflectors need 4 different IPs")
        targets = []
        for r in refl + refl[:1]:  # ...and r1 again at the end: stable?
            targets += ["--to", r.addr(3478)]
        probes = {nat: tool(s.host, "probe", "--port", 40000, *targets) for nat, s in sites.items()}
        seen = {}
        for nat, p in probes.items():
            obs = p.wait_event("done", timeout=15)["observed"]
            check(all(obs), f"{nat}: a reflector did not answer: {obs}")
            seen[nat] = obs
            print(f"    {nat:10} {obs}")
        for nat, obs in seen.items():
            s = sites[nat]
            ips = {o.split(":")[0] for o in obs}
            ports = [int(o.split(":")[1]) for o in obs]
            check(ips == {s.public_ip}, f"{nat}: reflectors saw {ips}, expected {s.public_ip}")
            check(ports[0] == ports[4], f"{nat}: mapping to r1 changed between probes: {obs}")
            if nat in ("public", "firewall"):
                check(ports[:4] == [40000] * 4, f"{nat}: port translated: {obs}")
            elif nat in ("cone", "double"):
                check(len(set(ports[:4])) == 1,
                      f"{nat}: endpoint-dependent mapping, expected one port: {obs}")
                check(ports[0] == 40000, f"{nat}: masquerade did not preserve the port: {obs}")
            else:
                # 4 random ports among ~64000: a repeat has probability ~1e-4,
                # two repeats ~1e-8; "at least 3 distinct" can't flake.
                check(len(set(ports[:4])) >= 3,
                      f"symmetric: expected a new port per destination: {obs}")
                check(ports[0] != 40000 or ports[1] != 40000, f"symmetric kept the port: {obs}")


@test(budget=60)
def test_filtering(t):
    """Unsolicited inbound UDP is dropped, silently, by firewall, cone and
    symmetric; accepted from the exact peer the host sent to; and a public
    host (the control) does receive it."""
    with t.lab() as lab:
        r1 = lab.add_public_host("r1")
        r2 = lab.add_public_host("r2")
        tool(r1, "reflect", "--port", 3478, "--late-ms", 700, "--duration", 40).wait_event("listening")
        # two outsiders: another IP (r2) and the peer's IP from another port
        outsider = {"other-ip": tool(r2, "socket", "--port", 5555, "--duration", 40),
                    "other-port": tool(r1, "socket", "--port", 5556, "--duration", 40)}
        for p in outsider.values():
            p.wait_event("listening")
        for nat in ("firewall", "cone", "symmetric", "public"):
            site = lab.add_site(nat[:3], nat=nat)
            h = tool(site.host, "socket", "--port", 6000, "--duration", 20, name=f"{nat}-host")
            h.wait_event("listening")
            guess = f"{site.public_ip}:6000"  # where a mapping would be
            for key, p in outsider.items():
                p.send({"send": guess, "data": f"before {key}", "count": 3, "interval_ms": 10})
                # and to a closed port: no ICMP port-unreachable may come back
                # (not from routers, not from the public host either)
                p.send({"send": f"{site.public_ip}:6002", "data": "closed", "count": 2})
            time.sleep(0.3)
            h.send({"send": r1.addr(3478), "data": "hello"})
            reply = h.wait_event(lambda e: e["event"] == "recv" and e["from"] == r1.addr(3478),
                                 timeout=5)
            mapped = json.loads(reply["data"])["observed"]
            for key, p in outsider.items():
                p.send({"send": mapped, "data": f"after {key}", "count": 3, "interval_ms": 10})
            late = h.wait_event(lambda e: e["event"] == "recv" and '"late"' in e["data"], timeout=5)
            check(late["from"] == r1.addr(3478), f"{nat}: late reply from {late['from']}")
            time.sleep(0.3)
            got = [e for e in h.events if e["event"] == "recv" and e["from"] != r1.addr(3478)]
            if nat == "public":
                check(any(e["data"] == "before other-ip" for e in got),
                      "control failed: a public host did not receive unsolicited packets")
            else:
                check(not got, f"{nat}: unsolicited packets got through: {got}")
            # TCP to the same place: silently dropped (timeout), not refused
            res = tool(r2, "tcp", "--to", f"{site.public_ip}:6001", "--timeout", 1.5)
            res = res.wait_event("tcp", timeout=10)["result"]
            check(res == ("refused" if nat == "public" else "timeout"),
                  f"{nat}: TCP SYN to {site.public_ip} -> {res}")
            print(f"    {nat:10} mapped {mapped}: from exact peer ok, others dropped, TCP {res}")
        for key, p in outsider.items():
            errs = [e for e in p.events if e["event"] == "icmp_error"]
            check(not errs, f"ICMP errors reached the {key} sender: {errs}")


PUNCHABLE = {  # physics: does a simultaneous UDP punch work? (unordered)
    frozenset(["public"]): True, frozenset(["public", "firewall"]): True,
    frozenset(["public", "cone"]): True, frozenset(["public", "symmetric"]): True,
    frozenset(["firewall"]): True, frozenset(["firewall", "cone"]): True,
    # The firewall filters by the exact remote ip:port (conntrack), like a
    # cone NAT does; the symmetric side's port towards it is unknowable.
    frozenset(["firewall", "symmetric"]): False,
    frozenset(["cone"]): True, frozenset(["cone", "symmetric"]): False,
    frozenset(["symmetric"]): False,
}


def punch_pairs(lab, pairs, rdv, window=2.0, base_port=20000):
    """Run simultaneous UDP punches for [(host_a, host_b), ...] at once;
    returns [(ok, result_a, result_b)]."""
    runs = []
    for i, (ha, hb) in enumerate(pairs):
        port = base_port + i
        pa = tool(ha, "punch", "--port", port, "--reflector", rdv, "--token", f"c{i}",
                  "--side", "a", "--duration", 30, name=f"punch{i}-{ha.name}")
        pb = tool(hb, "punch", "--port", port, "--reflector", rdv, "--token", f"c{i}",
                  "--side", "b", "--duration", 30, name=f"punch{i}-{hb.name}")
        runs.append((pa, pb))
    mapped = [(pa.wait_event("mapped", timeout=15)["observed"],
               pb.wait_event("mapped", timeout=15)["observed"]) for pa, pb in runs]
    start = time.monotonic() + 0.5
    for (pa, pb), (ma, mb) in zip(runs, mapped):
        check(ma and mb, f"no mapping from the rendezvous: {ma} {mb}")
        pa.send({"peer": mb, "start": start, "window": window})
        pb.send({"peer": ma, "start": start, "window": window})
    out = []
    for pa, pb in runs:
        ra = pa.wait_event("result", timeout=window + 10)
        rb = pb.wait_event("result", timeout=window + 10)
        out.append((ra["received"] and rb["received"], ra, rb))
    return out


@test(budget=60)
def test_punch_matrix(t):
    """Plain UDP simultaneous-send punching over public/firewall/cone/
    symmetric, every ordered pair: works exactly where physics allows."""
    nats = ("public", "firewall", "cone", "symmetric")
    with t.lab() as lab:
        pl.build_topology(lab, "matrix")
        rdv = lab["rdv"]
        tool(rdv, "reflect", "--port", 3478, "--duration", 50, "--quiet").wait_event("listening")
        cells = [(x, y) for x in nats for y in nats]
        pairs = [(lab.site(f"{x[0]}a").host, lab.site(f"{y[0]}b").host) for x, y in cells]
        results = punch_pairs(lab, pairs, rdv.addr(3478))
        table = {}
        wrong = []
        for (x, y), (ok, ra, rb) in zip(cells, results):
            want = PUNCHABLE[frozenset([x, y])]
            table[(x, y)] = ok
            if ok != want:
                wrong.append(f"{x}->{y}: punched={ok}, expected {want} ({ra} / {rb})")
        print("    row = site A, column = site B; + punched, - did not")
        print("    " + " " * 10 + "".join(f"{y:>10}" for y in nats))
        for x in nats:
            print("    " + f"{x:>10}" + "".join(f"{'+' if table[(x, y)] else '-':>10}" for y in nats))
        note("punch_matrix", {f"{x}-{y}": table[(x, y)] for x, y in cells})
        check(not wrong, "punch matrix differs from physics:\n      " + "\n      ".join(wrong))


@test(budget=60)
def test_impairment(t):
    """Measured RTT matches the configured delay and jitter; measured loss
    matches the configured loss, both directions; no loss when none is set."""
    with t.lab() as lab:
        x = lab.add_public_host("x", wire=True)
        y = lab.add_public_host("y")
        tool(y, "reflect", "--port", 3478, "--duration", 55, "--quiet").wait_event("listening")

        def rtt(count, interval):
            p = tool(x, "rtt", "--to", y.addr(3478), "--count", count, "--interval-ms", interval)
            ev = p.wait_event("rtt", timeout=count * interval / 1000 + 10)
            check(ev["received"] == count, f"rtt: {count - ev['received']} of {count} lost")
            return ev["samples_ms"]

        base = rtt(20, 20)
        base_med = statistics.median(base)
        note("rtt_no_delay_median_ms", round(base_med, 3))
        check(base_med < 2.0, f"RTT without delay is {base_med} ms")

        # 25 ms each way: RTT = 50 ms + what the path costs anyway. The wire
        # holds frames until due (never earlier), and wakes within ~0.1 ms;
        # python's own timing adds a little. So: min >= 50 ms, median <=
        # 50 + base + 2 ms.
        lab.set_impairment("x", delay_ms=25)
        s = rtt(40, 60)
        med = statistics.median(s)
        note("rtt_delay25_ms", {"min": min(s), "median": med, "max": max(s)})
        check(min(s) >= 50.0 - 0.05, f"RTT below the configured 50 ms: {min(s)}")
        check(med <= 50.0 + base_med + 2.0, f"RTT median {med} ms, configured 50 ms")

        # 40 +- 10 ms each way (uniform): RTT in [60, 100] ms, mean 80, sd of
        # one sample sqrt(2 * 20^2 / 12) = 8.2 ms, of the mean of 60: 1.05 ms.
        lab.set_impairment("x", delay_ms=40, jitter_ms=10)
        s = rtt(60, 70)
        mean, sd = statistics.mean(s), statistics.stdev(s)
        note("rtt_delay40_jitter10_ms", {"min": min(s), "mean": round(mean, 3),
                                         "sd": round(sd, 3), "max": max(s)})
        check(min(s) >= 60.0 - 0.05, f"RTT {min(s)} below 2 x (40 - 10) ms")
        # (a late sample can also be a scheduling hiccup of this busy 2-core
        # machine, so allow two of 60 beyond the bound; none may be early)
        over = [v for v in s if v > 100.0 + base_med + 3.0]
        check(len(over) <= 2, f"RTTs above 2 x (40 + 10) ms: {over}")
        check(abs(mean - 80.0 - base_med) <= 4.0, f"RTT mean {mean}, expected 80 ms")
        check(4.0 <= sd <= 12.0, f"RTT sd {sd}, expected ~8.2 ms")

        def blast(src, dst, token, count=1000):
            sink = tool(dst, "sink", "--port", 7000, "--token", token, "--expect", count,
                        "--idle-ms", 1500, "--duration", 20)
            sink.wait_event("listening")
            tool(src, "blast", "--to", dst.addr(7000), "--count", count, "--interval-ms", 1,
                 "--token", token).wait_event("blast_done", timeout=20)
            return sink.wait_event("sink_done", timeout=25)["count"]

        # 20 % loss on x's link, each direction: of 1000 datagrams 800 are
        # expected through, sd sqrt(1000 * .2 * .8) = 12.6; +-5 sd is
        # [737, 863] (false alarm ~6e-7).
        lab.set_impairment("x", loss=0.2)
        up = blast(x, y, "up")
        down = blast(y, x, "down")
        note("loss20_delivered_of_1000", {"x->y": up, "y->x": down})
        check(737 <= up <= 863, f"x->y delivered {up}/1000 at 20% loss")
        check(737 <= down <= 863, f"y->x delivered {down}/1000 at 20% loss")
        lab.set_impairment("x", delay_ms=10, loss=0.0)
        clean = blast(x, y, "clean")
        note("loss0_delivered_of_1000", clean)
        check(clean == 1000, f"lost {1000 - clean}/1000 with no loss configured")


@test(budget=60)
def test_control(t):
    """flush_nat forgets mappings, cut_link/restore_link cut and restore
    traffic without losing NAT state, set_udp_timeout expires mappings."""
    with t.lab() as lab:
        r = lab.add_public_host("r")
        site = lab.add_site("c", nat="cone")
        tool(r, "reflect", "--port", 3478, "--late-ms", 800, "--duration", 50).wait_event("listening")
        tool(r, "reflect", "--port", 3479, "--late-ms", 3500, "--duration", 50).wait_event("listening")
        h = tool(site.host, "socket", "--port", 6000, "--duration", 50)
        h.wait_event("listening")
        peer, slow_peer = r.addr(3478), r.addr(3479)

        def ask(to, data, timeout=3.0):
            h.send({"send": to, "data": data})
            return h.wait_event(lambda e: e["event"] == "recv" and data in e["data"]
                                and '"late"' not in e["data"], timeout=timeout)

        def entries():
            return [l for l in lab.conntrack("c") if "sport=6000" in l]

        # flush: the late answer (800 ms later) must not find a way in
        ask(peer, "one")
        check(entries(), "no conntrack entry for the mapping")
        lab.flush_nat("c")
        check(not entries(), f"flush_nat left entries: {entries()}")
        time.sleep(1.2)
        late = [e for e in h.events if e["event"] == "recv" and "one" in e["data"] and "late" in e["data"]]
        check(not late, "a packet got through a flushed mapping")

        # cut: nothing passes, the mapping survives; restore: traffic again
        ask(peer, "two")
        lab.cut_link("c")
        h.send({"send": peer, "data": "three"})
        time.sleep(1.0)
        check(not [e for e in h.events if e["event"] == "recv" and "three" in e["data"]],
              "traffic crossed a cut link")
        check(entries(), "cutting the link lost the NAT mapping")
        lab.restore_link("c")
        ask(peer, "four")

        # expiry: with a 2 s UDP timeout an idle mapping is gone after 3.5 s
        lab.set_udp_timeout("c", 2)
        lab.flush_nat("c")
        ask(slow_peer, "five")
        time.sleep(4.0)
        check(not entries(), f"mapping still there after its timeout: {entries()}")
        check(not [e for e in h.events if e["event"] == "recv" and "five" in e["data"]
                   and "late" in e["data"]], "a packet got through an expired mapping")
        # a delay on a link without a wire needs netem, which this kernel may lack
        if not lab.netem:
            try:
                lab.set_impairment("r", delay_ms=10)
                raise TestFailure("set_impairment(delay) on a wireless link without netem passed")
            except pl.LabError as e:
                check("no wire" in str(e), f"unclear error: {e}")
        lab.set_udp_timeout("c", 30, 120)
        ask(peer, "six")
        time.sleep(1.2)
        check([e for e in h.events if e["event"] == "recv" and "six" in e["data"] and "late" in e["data"]],
              "the late answer through a live mapping was lost (control)")


@test(budget=60)
def test_hairpin(t):
    """Two sites behind one CGNAT reach each other at their outer-mapped
    addresses when it hairpins, not when it doesn't; across CGNATs they do."""
    with t.lab() as lab:
        pl.build_topology(lab, "double")
        rdv = lab["rdv"]
        tool(rdv, "reflect", "--port", 3478, "--duration", 50, "--quiet").wait_event("listening")
        cases = [("d1", "d2", True), ("d3", "d4", False), ("d1", "d3", True), ("d2", "d4", True)]
        pairs = [(lab.site(a).host, lab.site(b).host) for a, b, _ in cases]
        results = punch_pairs(lab, pairs, rdv.addr(3478), window=2.0)
        for (a, b, want), (ok, ra, rb) in zip(cases, results):
            cg_a, cg_b = lab.site(a).cgnat, lab.site(b).cgnat
            print(f"    {a}({cg_a.name}, hairpin={cg_a.hairpin}) <-> {b}({cg_b.name}): "
                  f"punched={ok}; {a} mapped {ra['mapped']}, {b} saw it from {rb['from']}")
            check(ok == want, f"{a}<->{b}: punched={ok}, expected {want}: {ra} / {rb}")
            if ok:
                # the hairpinned packet carries the sender's external address
                check(rb["from"] == ra["mapped"] and ra["from"] == rb["mapped"],
                      f"{a}<->{b}: peers seen from {rb['from']}/{ra['from']}, "
                      f"mapped {ra['mapped']}/{rb['mapped']}")
        note("hairpin", {f"{a}-{b}": ok for (a, b, _), (ok, _, _) in zip(cases, results)})


@test(budget=60)
def test_setup_time(t):
    """Setup plus teardown of the largest topology takes seconds; the figure
    goes to <repo>/results/lab-setup.json."""
    runs = []
    for _ in range(3):
        lab = t.lab()
        t0 = time.monotonic()
        lab.start()
        try:
            pl.build_topology(lab, "largest")
            t1 = time.monotonic()
            counts = {"namespaces": len(lab.namespaces()), "hosts": len(lab.hosts),
                      "routers": len(lab.routers), "links": len(set(map(id, lab.links.values()))),
                      "wires": sum(1 for l in set(lab.links.values()) if l.wire)}
        finally:
            t2 = time.monotonic()
            lab.close()
            t3 = time.monotonic()
        runs.append({"setup_s": round(t1 - t0, 3), "teardown_s": round(t3 - t2, 3)})
        print(f"    setup {t1 - t0:.3f} s, teardown {t3 - t2:.3f} s")
    setup = statistics.median(r["setup_s"] for r in runs)
    teardown = statistics.median(r["teardown_s"] for r in runs)
    out = {"topology": "largest", **counts, "runs": runs, "setup_s_median": setup,
           "teardown_s_median": teardown, "cpus": os.cpu_count(),
           "kernel": os.uname().release, "netem": lab.netem,
           "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    path = pl.REPO_ROOT / "results" / "lab-setup.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    note("setup_s_median", setup)
    note("teardown_s_median", teardown)
    print(f"    wrote {path}")
    for r in runs:
        check(r["setup_s"] + r["teardown_s"] < 20.0, f"setup+teardown took {r}")


def _cli(args, **kw):
    return subprocess.Popen([PYTHON, CLI] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def _wait_ready(proc, timeout=30):
    """Read the CLI's stdout until its "ready" line (bounded). Reads the
    pipe itself: select() on the buffered reader would wait for new bytes
    while the line sits in the reader's buffer already."""
    import select
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    pending = b""
    while time.monotonic() < deadline:
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if line.startswith(b"{") and json.loads(line).get("event") == "ready":
                return json.loads(line)
        r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        pending += chunk
    proc.kill()
    raise TestFailure(f"`punch-lab up` never got ready: {proc.stderr.read()}")


def _run_ns(rid):
    return [ns for ns in pl.list_namespaces() if ns.startswith(f"pl{rid}-")]


@test(budget=60)
def test_teardown(t):
    """SIGTERM and SIGINT tear a run down; after SIGKILL `cleanup` removes
    the leftovers of the dead run but not those of a live one; non-root is
    refused with a clear message."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        p = _cli(["up", "basic", "--max-seconds", "40"])
        info = _wait_ready(p)
        rid = info["run_id"]
        check(_run_ns(rid), "up reported ready but has no namespaces")
        p.send_signal(sig)
        rc = p.wait(timeout=20)
        check(not _run_ns(rid), f"{sig.name}: namespaces left: {_run_ns(rid)}")
        print(f"    {sig.name}: exit {rc}, namespaces gone")

    live = _cli(["up", "basic", "--max-seconds", "40"])
    live_rid = _wait_ready(live)["run_id"]
    dead = _cli(["up", "basic", "--wires", "--max-seconds", "40"])
    dead_rid = _wait_ready(dead)["run_id"]
    inodes = [pl._netns_inode(ns) for ns in _run_ns(dead_rid)]
    dead.kill()  # SIGKILL: no teardown can run
    dead.wait(timeout=10)
    check(_run_ns(dead_rid), "SIGKILL'd run left nothing to clean up (test is vacuous)")
    # its wires die with it (PR_SET_PDEATHSIG)
    for _ in range(50):
        if not pl.pids_in_namespaces(_run_ns(dead_rid)):
            break
        time.sleep(0.1)
    check(not pl.pids_in_namespaces(_run_ns(dead_rid)), "wire forwarders outlived their lab")
    cp = subprocess.run([PYTHON, CLI, "cleanup"], capture_output=True, text=True, timeout=30)
    check(cp.returncode == 0, f"cleanup failed: {cp.stderr}")
    check(not _run_ns(dead_rid), f"cleanup left {_run_ns(dead_rid)}")
    check(_run_ns(live_rid), "cleanup removed a live run")
    print(f"    SIGKILL: cleanup removed run {dead_rid}, kept live run {live_rid}")
    cp = subprocess.run([PYTHON, CLI, "down", live_rid], capture_output=True, text=True, timeout=30)
    live.wait(timeout=20)
    check(not _run_ns(live_rid), f"down left {_run_ns(live_rid)}")
    check(not [i for i in inodes if i and pl.pids_in_inodes([i])], "processes in removed namespaces")

    # A user namespace makes us uid 65534 while files stay readable (we
    # remain their owner outside it), wherever the checkout lives.
    nobody = ["unshare", "--user", "--"]
    cp = subprocess.run(nobody + [PYTHON, CLI, "up", "basic"], capture_output=True, text=True,
                        timeout=30)
    check(cp.returncode != 0 and "must run as root" in cp.stderr,
          f"non-root up: exit {cp.returncode}, stderr {cp.stderr!r}")
    env = {k: v for k, v in os.environ.items() if k != "PUNCH_LAB_SKIP_UNPRIVILEGED"}
    cp = subprocess.run(nobody + [PYTHON, os.path.join(HERE, "selftest.py"), "mapping"],
                        capture_output=True, text=True, timeout=30, env=env)
    check(cp.returncode not in (0, 77) and "must run as root" in cp.stderr,
          f"non-root selftest: exit {cp.returncode}, stderr {cp.stderr!r}")
    cp = subprocess.run(nobody + [PYTHON, os.path.join(HERE, "selftest.py"), "mapping"],
                        capture_output=True, text=True, timeout=30,
                        env={**env, "PUNCH_LAB_SKIP_UNPRIVILEGED": "1"})
    check(cp.returncode == 77, f"non-root selftest with PUNCH_LAB_SKIP_UNPRIVILEGED=1: exit {cp.returncode}")
    print("    non-root: refused with a clear message (exit 77 only when asked to skip)")


# --------------------------------------------------------------------------

class Budget(Exception):
    pass


def run_one(name):
    fn, budget = TESTS[name]
    print(f"--- {name} (budget {budget} s)", flush=True)
    root_before = root_snapshot()
    tracker = Tracker()

    def on_alarm(signum, frame):
        raise Budget(f"{name}: over its {budget} s budget")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(budget)
    t0 = time.monotonic()
    ok = True
    try:
        fn(tracker)
    except BaseException as e:  # noqa: B902 - report, then keep going
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise  # Ctrl-C / SIGTERM: the labs are torn down, stop the run
        ok = False
        print(f"FAIL {name}: {type(e).__name__}: {e}")
        if not isinstance(e, TestFailure):
            traceback.print_exc()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        for lab in tracker.labs:  # in case a test forgot; normally a no-op
            lab.close()
    try:
        assert_clean(tracker.labs, root_before)
    except TestFailure as e:
        ok = False
        print(f"FAIL {name}: leftovers: {e}")
    print(f"{'PASS' if ok else 'FAIL'} {name} ({time.monotonic() - t0:.1f} s)", flush=True)
    return ok


def main(argv):
    if "--list" in argv:
        for name, (fn, budget) in TESTS.items():
            print(f"{name:14} {budget:3} s  {fn.__doc__.split(chr(10))[0]}")
        return 0
    if os.geteuid() != 0:
        if os.environ.get("PUNCH_LAB_SKIP_UNPRIVILEGED") == "1":
            print("SKIP: punch lab self-tests need root (PUNCH_LAB_SKIP_UNPRIVILEGED=1)")
            return 77
        print("FAIL: " + pl.ROOT_MESSAGE + " (set PUNCH_LAB_SKIP_UNPRIVILEGED=1 to skip "
              "instead; CI must not)", file=sys.stderr)
        return 1
    names = [a for a in argv if a != "all"] or list(TESTS)
    unknown = [n for n in names if n not in TESTS]
    if unknown:
        print(f"unknown tests {unknown}; known: {', '.join(TESTS)}", file=sys.stderr)
        return 2
    # one forwarder binary for this process and the `punch-lab` ones it starts
    os.environ["PUNCH_LAB_WIRE"] = pl.find_wire_binary()
    passed = failed = 0
    for name in names:
        if run_one(name):
            passed += 1
        else:
            failed += 1
    if RESULTS:
        print("figures: " + json.dumps(RESULTS))
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
