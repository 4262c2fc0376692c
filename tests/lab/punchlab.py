"""punchlab - the network-namespace NAT lab of Punch's integration tests.

A Lab builds a small fake internet out of Linux network namespaces: an
"internet" namespace with two documentation-range segments, public server
hosts, and sites of LAN hosts behind NAT routers (public, firewall, cone,
symmetric, double/CGNAT), with per-link delay, jitter and loss.  It runs
processes on those hosts, follows their `--json` event lines, and tears
everything down when done, also on failure, SIGINT or SIGTERM.

    with Lab() as lab:
        relay = lab.add_public_host("relay")
        a = lab.add_site("a", nat="cone")
        srv = relay.spawn(["punch", "serve", "--json"])
        srv.wait_event("listening", timeout=10)
        ...

See README.md next to this file for the addressing plan and the rules that
implement each NAT behaviour.  Safety: every command this module runs is
`ip -n NS ...` or `ip netns exec NS ...` on a namespace it created (names
start with "pl" + run id), veth pairs are created from inside a lab
namespace with their peer placed directly in another lab namespace, and
nothing in the root namespace is ever changed.
"""

import atexit
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

LAB_DIR = Path(__file__).resolve().parent
REPO_ROOT = LAB_DIR.parent.parent
UDPTOOL = str(LAB_DIR / "udptool.py")
PYTHON = "/usr/bin/python3"

PREFIX = "pl"
RUN_ID_LEN = 5
NS_RE = re.compile(r"^pl([a-z0-9]{%d})-" % RUN_ID_LEN)
NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,11}$")
NATS = ("public", "firewall", "cone", "symmetric", "double")
MARKER = "punch-lab"
LINK_OPTS = {"delay_ms", "jitter_ms", "loss", "wire"}

# Addressing plan (see README.md).
SRV_NET = ipaddress.ip_network("198.51.100.0/24")   # public servers
CLI_NET = ipaddress.ip_network("203.0.113.0/25")    # NAT WANs, public-site hosts
FW_NET = ipaddress.ip_network("203.0.113.128/25")   # firewall LANs, one /28 each
CGN_NET = ipaddress.ip_network("100.64.0.0/10")     # CGNAT inside, one /24 each

CMD_TIMEOUT = 30          # seconds for any single setup command
STOP_GRACE = 2.0          # seconds between SIGTERM and SIGKILL at teardown
LOG_TAIL = 200            # lines per stream printed by dump_logs
MAX_LINES = 100000        # lines kept per stream of a process

ROOT_MESSAGE = (
    "punch lab: must run as root: it creates network namespaces, veth pairs "
    "and nftables rules (only inside its own namespaces). Run it with sudo, "
    "e.g. `sudo /usr/bin/python3 tests/lab/selftest.py`.")


class LabError(Exception):
    """Anything that went wrong building or driving the lab."""


class LabTimeout(LabError):
    """A bounded wait ran out."""


def require_root():
    if os.geteuid() != 0:
        raise LabError(ROOT_MESSAGE)


def _run(argv, input=None, timeout=CMD_TIMEOUT, check=True):
    """Run a command (always a bounded one) and return CompletedProcess."""
    try:
        cp = subprocess.run(argv, input=input, capture_output=True, text=True,
                            timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise LabTimeout(f"command timed out after {timeout}s: {' '.join(argv)}") from e
    if check and cp.returncode != 0:
        raise LabError(f"command failed (exit {cp.returncode}): {' '.join(argv)}\n"
                       f"{cp.stderr.strip()}\n{(input or '').strip()}")
    return cp


def _check_ns(ns):
    # Belt and braces: never act on a namespace that isn't a lab one.
    if not NS_RE.match(ns):
        raise LabError(f"refusing to touch namespace {ns!r}: not a lab namespace")
    return ns


def ns_exec_argv(ns, argv):
    """argv that runs `argv` inside namespace `ns`."""
    return ["ip", "netns", "exec", _check_ns(ns)] + list(argv)


def list_namespaces():
    cp = _run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in cp.stdout.splitlines() if line.strip()]


def _netns_inode(ns):
    try:
        return os.stat(f"/run/netns/{ns}").st_ino
    except OSError:
        return None


def pids_in_inodes(inodes):
    """PIDs of processes whose network namespace has one of these nsfs inodes
    (a deleted namespace keeps its inode while a process still holds it)."""
    inodes = {i for i in inodes if i}
    pids = []
    if not inodes:
        return pids
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}/ns/net").st_ino in inodes:
                pids.append(int(entry))
        except OSError:
            pass
    return pids


def pids_in_namespaces(namespaces):
    """PIDs of processes whose network namespace is one of `namespaces`."""
    return pids_in_inodes(_netns_inode(ns) for ns in namespaces)


def _proc_start_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _new_run_id(existing):
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    used = {NS_RE.match(ns).group(1) for ns in existing if NS_RE.match(ns)}
    for _ in range(100):
        rid = secrets.choice(alphabet[:26]) + "".join(
            secrets.choice(alphabet) for _ in range(RUN_ID_LEN - 1))
        if rid not in used:
            return rid
    raise LabError("could not pick an unused run id")


# --------------------------------------------------------------------------
# The forwarder binary for delay/jitter ("wire")

_wire_lock = threading.Lock()
_wire_cache = {}


def find_wire_binary():
    """Path of punch-lab-wire: $PUNCH_LAB_WIRE, a build dir, or compiled now."""
    with _wire_lock:
        if "path" in _wire_cache:
            return _wire_cache["path"]
        src = LAB_DIR / "punch-lab-wire.c"
        path = os.environ.get("PUNCH_LAB_WIRE")
        if path and not os.access(path, os.X_OK):
            raise LabError(f"PUNCH_LAB_WIRE={path} is not an executable")
        if not path:
            # a meson build dir somewhere under the repo, newer than the source
            for cand in sorted(REPO_ROOT.glob("*/tests/lab/punch-lab-wire")):
                if os.access(cand, os.X_OK) and cand.stat().st_mtime >= src.stat().st_mtime:
                    path = str(cand)
                    break
        if not path:
            cc = shutil.which("cc") or shutil.which("gcc")
            if not cc:
                raise LabError("no punch-lab-wire binary (set PUNCH_LAB_WIRE or "
                               "build with meson) and no C compiler to build it")
            tmp = tempfile.mkdtemp(prefix="punch-lab-wire-")
            atexit.register(shutil.rmtree, tmp, True)
            path = os.path.join(tmp, "punch-lab-wire")
            _run([cc, "-O2", "-Wall", "-o", path, str(src)], timeout=120)
        _wire_cache["path"] = path
        return path


# --------------------------------------------------------------------------
# Processes

class Proc:
    """A process the lab started on a host; follows its output.

    stdout lines that are JSON objects are events ({"event": "...", ...}).
    wait_event() returns each event at most once, in arrival order among
    those that match, so successive waits for the same name see successive
    events.  All output is kept (bounded) for dump_logs().
    """

    def __init__(self, lab, node, argv, name, env=None, stdin=True, cwd=None):
        self.lab, self.node, self.argv, self.name = lab, node, list(argv), name
        self.events = []          # every event seen
        self.lines = []           # every stdout line
        self.err_lines = []       # every stderr line
        self._pending = []        # events not yet returned by wait_event
        self._pending_lines = []  # lines not yet returned by wait_line
        self._cond = threading.Condition()
        self._open_streams = 2
        full_env = dict(os.environ)
        full_env.update(env or {})
        # setpriv: the process gets SIGKILL if the lab process dies abruptly
        # (its death signal survives `ip netns exec`'s exec).
        real_argv = ["setpriv", "--pdeathsig", "KILL", "--"] + ns_exec_argv(node.ns, argv)
        self.started_at = time.monotonic()
        self.popen = subprocess.Popen(
            real_argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, cwd=cwd,
            start_new_session=True)  # own process group: kill it whole
        self.pid = self.popen.pid
        for stream, sink in ((self.popen.stdout, self.lines), (self.popen.stderr, self.err_lines)):
            threading.Thread(target=self._reader, args=(stream, sink), daemon=True,
                             name=f"punchlab-{name}").start()

    def _reader(self, stream, sink):
        try:
            for raw in stream:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                with self._cond:
                    if len(sink) < MAX_LINES:
                        sink.append(line)
                    if sink is self.lines:
                        if len(self._pending_lines) < MAX_LINES:
                            self._pending_lines.append(line)
                        ev = _parse_event(line)
                        if ev is not None and len(self.events) < MAX_LINES:
                            self.events.append(ev)
                            self._pending.append(ev)
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._open_streams -= 1
                self._cond.notify_all()

    # -- waiting ---------------------------------------------------------
    def _wait_for(self, take, timeout, what):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = take()
                if got is not None:
                    return got
                if self._open_streams == 0 and self.popen.poll() is not None:
                    raise LabError(f"{self.name}: exited with {self.popen.returncode} "
                                   f"before {what}\n{self.tail()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LabTimeout(f"{self.name}: no {what} within {timeout}s\n{self.tail()}")
                self._cond.wait(min(left, 0.2))

    def wait_event(self, match=None, timeout=10.0, **fields):
        """Wait (at most `timeout` s) for an event and return it.

        match: None (any event), an event name, a dict of required fields,
        or a predicate taking the event dict.  **fields are further
        required key == value pairs, e.g. wait_event("peer", id="abc").
        """
        def take():
            for i, ev in enumerate(self._pending):
                if _event_matches(ev, match, fields):
                    return self._pending.pop(i)
            return None
        return self._wait_for(take, timeout, f"event {_describe(match, fields)}")

    def wait_line(self, pattern, timeout=10.0):
        """Wait for a stdout line matching regex `pattern`; return the line."""
        rx = re.compile(pattern)

        def take():
            for i, line in enumerate(self._pending_lines):
                if rx.search(line):
                    return self._pending_lines.pop(i)
            return None
        return self._wait_for(take, timeout, f"line /{pattern}/")

    def send(self, message):
        """Write one line to the process's stdin (a dict is sent as JSON)."""
        if not isinstance(message, str):
            message = json.dumps(message)
        try:
            self.popen.stdin.write((message + "\n").encode())
            self.popen.stdin.flush()
        except (BrokenPipeError, ValueError, AttributeError) as e:
            raise LabError(f"{self.name}: cannot write to stdin: {e}") from e

    def close_stdin(self):
        try:
            if self.popen.stdin:
                self.popen.stdin.close()
        except OSError:
            pass

    def wait(self, timeout=10.0):
        """Wait for exit; return the exit code (LabTimeout if still running)."""
        try:
            rc = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise LabTimeout(f"{self.name}: still running after {timeout}s\n{self.tail()}") from e
        with self._cond:  # let the readers catch the last lines (bounded)
            self._cond.wait_for(lambda: self._open_streams == 0, timeout=2.0)
        return rc

    @property
    def returncode(self):
        return self.popen.poll()

    @property
    def alive(self):
        return self.popen.poll() is None

    def signal(self, sig):
        if self.alive:
            try:
                os.killpg(self.pid, sig)  # the group we created for it
            except ProcessLookupError:
                pass

    def stop(self, timeout=STOP_GRACE):
        """SIGTERM its process group, SIGKILL after `timeout`; return exit code."""
        self.close_stdin()
        if self.alive:
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)  # also stragglers it forked
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        return self.popen.poll()

    # -- logs ----------------------------------------------------------------
    @property
    def stdout(self):
        with self._cond:
            return "\n".join(self.lines)

    @property
    def stderr(self):
        with self._cond:
            return "\n".join(self.err_lines)

    def tail(self, n=30):
        with self._cond:
            out, err = self.lines[-n:], self.err_lines[-n:]
        return (f"  --- {self.name} stdout (last {len(out)} lines)\n"
                + "".join(f"  | {l}\n" for l in out)
                + f"  --- {self.name} stderr (last {len(err)} lines)\n"
                + "".join(f"  | {l}\n" for l in err))

    def log(self, n=LOG_TAIL):
        rc = self.popen.poll()
        head = (f"===== {self.name} on {self.node.name} (pid {self.pid}, "
                f"{'running' if rc is None else f'exit {rc}'}): {' '.join(self.argv)}\n")
        return head + self.tail(n)

    def __repr__(self):
        return f"<Proc {self.name} pid={self.pid} on {self.node.name}>"


def _parse_event(line):
    s = line.strip()
    if not s.startswith("{"):
        return None
    try:
        ev = json.loads(s)
    except ValueError:
        return None
    return ev if isinstance(ev, dict) else None


def _event_matches(ev, match, fields):
    if match is None:
        ok = True
    elif isinstance(match, str):
        ok = ev.get("event") == match
    elif isinstance(match, dict):
        ok = all(ev.get(k) == v for k, v in match.items())
    else:
        ok = bool(match(ev))
    return ok and all(ev.get(k) == v for k, v in fields.items())


def _describe(match, fields):
    m = "<predicate>" if callable(match) and not isinstance(match, (str, dict)) else repr(match)
    return m + (f" with {fields}" if fields else "")


# --------------------------------------------------------------------------
# Topology objects

class Node:
    """A namespace of the lab: a host, a router, the internet core or a wire."""

    def __init__(self, lab, name, ns, kind):
        self.lab, self.name, self.ns, self.kind = lab, name, ns, kind

    def run(self, argv, timeout=10.0, check=True, input=None):
        """Run a bounded command in this namespace; return CompletedProcess."""
        return _run(ns_exec_argv(self.ns, argv), input=input, timeout=timeout, check=check)

    def spawn(self, argv, name=None, env=None, stdin=True, cwd=None):
        """Start a long-running process here; returns a Proc. Stopped at teardown."""
        return self.lab._spawn(self, argv, name, env, stdin, cwd)

    def __repr__(self):
        return f"<{type(self).__name__} {self.name} ns={self.ns}>"


class Host(Node):
    """An end host. `ip` is its own address; `public_ip` what the internet
    sees as its source address (its router's, or its own)."""

    def __init__(self, lab, name, ns, site=None):
        super().__init__(lab, name, ns, "host")
        self.site = site
        self.ip = None
        self.gateway = None
        self.link = None

    @property
    def public_ip(self):
        return self.site.public_ip if self.site else self.ip

    def addr(self, port):
        return f"{self.ip}:{port}"


class Router(Node):
    """A site's NAT/firewall router, or a CGNAT."""

    def __init__(self, lab, name, ns, nat, hairpin):
        super().__init__(lab, name, ns, "router")
        self.nat, self.hairpin = nat, hairpin
        self.is_cgnat = False
        self.wan_ip = None
        self.lan = None      # Segment behind it
        self.link = None     # its uplink


class Site:
    """Hosts sharing one NAT behaviour; `host` is the first one."""

    def __init__(self, name, nat, router, cgnat=None):
        self.name, self.nat, self.router, self.cgnat = name, nat, router, cgnat
        self.hosts = []

    @property
    def host(self):
        return self.hosts[0]

    @property
    def public_ip(self):
        """The source address the internet sees for this site's hosts (for
        public/firewall sites: that of the first host)."""
        if self.nat == "double":
            return self.cgnat.wan_ip
        if self.nat in ("cone", "symmetric"):
            return self.router.wan_ip
        return self.hosts[0].ip

    def __repr__(self):
        return f"<Site {self.name} nat={self.nat} hosts={[h.name for h in self.hosts]}>"


class Segment:
    """A bridge in some namespace that links hang off; allocates addresses."""

    def __init__(self, node, bridge, network, gateway, port_prefix, first=10):
        self.node, self.bridge = node, bridge
        self.network = ipaddress.ip_network(network)
        self.gateway = str(gateway)
        self.port_prefix = port_prefix
        self._next_host = first
        self._next_port = 0
        self._used = {self.gateway}

    def alloc_ip(self, wanted=None):
        """The next free address (or `wanted`, if free)."""
        if wanted is not None:
            if wanted in self._used:
                raise LabError(f"address {wanted} is already in use")
            self._used.add(wanted)
            return wanted
        hosts = list(self.network.hosts())
        while self._next_host <= len(hosts):
            ip = str(self.network.network_address + self._next_host)
            self._next_host += 1
            if ip not in self._used:
                self._used.add(ip)
                return ip
        raise LabError(f"segment {self.bridge} in {self.node.name} is full")

    def alloc_port(self):
        self._next_port += 1
        return f"{self.port_prefix}{self._next_port}"


class Link:
    """A node's uplink: its veth to a segment's bridge, maybe through a wire.

    Loss and cuts are nftables netdev rules on `port_dev` (the bridge side,
    in `port_ns`): its ingress chain sees traffic from the node ("up"), its
    egress chain traffic towards the node ("down").
    """

    def __init__(self, name, node, dev, segment, port_dev):
        self.name, self.node, self.dev = name, node, dev
        self.segment, self.port_dev = segment, port_dev
        self.port_ns = segment.node.ns
        self.wire = None       # Proc of punch-lab-wire, if spliced
        self.wire_ns = None
        self.delay_ms = 0.0
        self.jitter_ms = 0.0
        self.loss = 0.0
        self.cut = False
        self.netem = False

    def __repr__(self):
        return (f"<Link {self.name} {self.node.name}:{self.dev} <-> "
                f"{self.segment.node.name}:{self.port_dev} wire={bool(self.wire)}>")


# --------------------------------------------------------------------------
# nftables rule sets

def _router_nft(router):
    """nftables ruleset of a router namespace (see README: NAT behaviours)."""
    lines = [
        "table inet lab {",
        "  chain input {",
        "    type filter hook input priority filter; policy drop;",
        "    iifname \"lo\" accept",
        "    ct state established,related accept",
        "    iifname \"lan\" accept",
        "  }",
        "  chain forward {",
        "    type filter hook forward priority filter; policy drop;",
        "    ct state established,related accept",
        "    iifname \"lan\" oifname \"wan\" accept",
    ]
    if router.hairpin:
        lines.append("    iifname \"lan\" oifname \"lan\" ct status dnat accept")
    lines += [
        "  }",
        "  chain output {",
        "    type filter hook output priority filter; policy accept;",
        "    # the router itself never tells the outside about closed ports",
        "    oifname \"wan\" icmp type destination-unreachable drop",
        "    oifname \"wan\" tcp flags & rst == rst drop",
        "  }",
        "}",
    ]
    if router.nat in ("cone", "symmetric"):
        rnd = " fully-random" if router.nat == "symmetric" else ""
        lines += ["table ip nat {"]
        if router.hairpin:
            # Hairpinning: remember, for each outbound mapping, which
            # internal endpoint owns the external port (after srcnat, so the
            # port is the translated one), and DNAT LAN packets addressed to
            # our own WAN address:port back to that endpoint.
            for proto in ("udp", "tcp"):
                lines += [
                    f"  map hp_{proto} {{",
                    "    type inet_service : ipv4_addr . inet_service",
                    "    flags dynamic,timeout",
                    "    timeout 180s",
                    "  }",
                ]
            lines += [
                "  chain prerouting {",
                "    type nat hook prerouting priority dstnat; policy accept;",
                f"    iifname \"lan\" ip daddr {router.wan_ip} dnat ip to udp dport map @hp_udp",
                f"    iifname \"lan\" ip daddr {router.wan_ip} dnat ip to tcp dport map @hp_tcp",
                "  }",
                "  chain record {",
                "    type filter hook postrouting priority 200; policy accept;",
                "    oifname \"wan\" ct direction original update @hp_udp "
                "{ udp sport : ct original ip saddr . ct original proto-src }",
                "    oifname \"wan\" ct direction original update @hp_tcp "
                "{ tcp sport : ct original ip saddr . ct original proto-src }",
                "  }",
            ]
        lines += [
            "  chain postrouting {",
            "    type nat hook postrouting priority srcnat; policy accept;",
            f"    oifname \"wan\" masquerade{rnd}",
        ]
        if router.hairpin:
            # the hairpinned packet must come from our external address, so
            # the peer sees (and answers) the same endpoint as from outside
            # (no iifname here: postrouting doesn't know the input device;
            # our only DNAT is the hairpin one, so "dnat'ed and going back
            # into the LAN" is exactly a hairpinned flow)
            lines.append(f"    oifname \"lan\" ct status dnat snat ip to {router.wan_ip}{rnd}")
        lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


HOST_NFT = """table inet lab {
  chain output {
    type filter hook output priority filter; policy accept;
    # no ICMP port-unreachable from hosts: it would tell a NAT'd peer that
    # a punch failed while it is still under way
    icmp type destination-unreachable icmp code port-unreachable drop
  }
}
"""


def _link_nft(link):
    """netdev table on the bridge-side port of a link: loss and cuts."""
    name = f"link_{link.port_dev}"
    out = [f"table netdev {name} {{}}", f"delete table netdev {name}"]
    rules = []
    if link.cut:
        rules.append("drop")  # everything, ARP included: a cut cable
    if link.loss > 0:
        n = int(round(link.loss * 1000000))
        # IP only: ARP belongs to the (local) link, not to the path
        rules.append(f"meta protocol {{ ip, ip6 }} numgen random mod 1000000 < {n} drop")
    if rules:
        out.append(f"table netdev {name} {{")
        for chain, hook in (("up", "ingress"), ("down", "egress")):
            out.append(f"  chain {chain} {{")
            out.append(f"    type filter hook {hook} device \"{link.port_dev}\" priority 0; policy accept;")
            out += [f"    {r}" for r in rules]
            out.append("  }")
        out.append("}")
    return "\n".join(out) + "\n"


BASE_SYSCTLS = [
    "net.ipv6.conf.all.disable_ipv6=1",      # IPv4-only lab: no RS/MLD/DAD noise
    "net.ipv6.conf.default.disable_ipv6=1",
    "net.ipv4.conf.all.rp_filter=0",         # IPv4 conf is inherited from root:
    "net.ipv4.conf.default.rp_filter=0",     # pin everything we depend on
    "net.ipv4.conf.all.send_redirects=0",
    "net.ipv4.conf.default.send_redirects=0",
    "net.ipv4.conf.all.accept_redirects=0",
    "net.ipv4.conf.default.accept_redirects=0",
]


# --------------------------------------------------------------------------
# The lab

class _Plan:
    """Commands to build some nodes, grouped in phases so that each phase
    runs one `ip -batch` / nft / sysctl process per namespace, in parallel."""

    def __init__(self):
        self.new_ns = []       # (ns, forwarding)
        self.veths = {}        # ns -> ip batch lines creating veths from there
        self.ip = {}           # ns -> ip batch lines
        self.nft = {}          # ns -> ruleset text
        self.wires = []        # links that need a forwarder started
        self.links = []        # links created

    def add_ip(self, ns, line, veth=False):
        (self.veths if veth else self.ip).setdefault(ns, []).append(line)


class Lab:
    """A lab run: namespaces named pl<run_id>-*, torn down by close().

    Lab(wires=False): if True every link gets a wire (so delay can be set
    on any link later); otherwise only links created with wire=True or with
    a delay/jitter do.  quiet_hosts: hosts drop their own ICMP
    port-unreachable.  Use it as a context manager, or call start()/close().
    """

    def __init__(self, run_id=None, wires=False, quiet_hosts=True, dump_logs_on_failure=True,
                 max_workers=4):
        require_root()
        for tool in ("ip", "nft", "setpriv"):
            if not shutil.which(tool):
                raise LabError(f"punch lab needs `{tool}` (see scripts/deps-debian.txt)")
        self.run_id = run_id or _new_run_id(list_namespaces())
        if not re.fullmatch(r"[a-z0-9]{%d}" % RUN_ID_LEN, self.run_id):
            raise LabError(f"bad run id {self.run_id!r}: {RUN_ID_LEN} of [a-z0-9]")
        self.prefix = f"{PREFIX}{self.run_id}-"
        self.wires_default = wires
        self.quiet_hosts = quiet_hosts
        self.dump_logs_on_failure = dump_logs_on_failure
        self.max_workers = max_workers
        self.hosts, self.sites, self.routers, self.links = {}, {}, {}, {}
        self.procs = []
        self._names = set()
        self._namespaces = []
        self._ns_inodes = []
        self._site_counter = 0
        self._cgnat_counter = 0
        self._fw_counter = 0
        self._proc_names = {}
        self._old_handlers = {}
        self.started = self.closed = False
        self.netem = None
        self.inet = None

    # -- lifecycle -------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, etype, evalue, tb):
        if etype is not None and self.dump_logs_on_failure and self.procs:
            print(f"\npunch lab {self.run_id}: failure ({etype.__name__}: {evalue}); "
                  "process logs follow", file=sys.stderr)
            self.dump_logs()
        self.close()
        return False

    def start(self):
        if self.started:
            return self
        if any(ns.startswith(self.prefix) for ns in list_namespaces()):
            raise LabError(f"namespaces of run {self.run_id} already exist")
        self.started = True
        self._install_signal_handlers()
        atexit.register(self.close)
        self.inet = Node(self, "inet", self.prefix + "inet", "inet")
        plan = _Plan()
        self._new_ns(plan, self.inet.ns, forwarding=True)
        self._run_plan_ns(plan)
        # owner marker, read by `punch-lab cleanup` to spot crashed runs
        owner = f"{MARKER} owner={os.getpid()} start={_proc_start_ticks(os.getpid())}"
        lines = [f"link set dev lo alias \"{owner}\""]
        self.srv = Segment(self.inet, "srv", SRV_NET, SRV_NET.network_address + 1, "p")
        self.cli = Segment(self.inet, "cli", CLI_NET, CLI_NET.network_address + 1, "p")
        self.cli._next_port = 100  # one port namespace for both bridges
        for seg in (self.srv, self.cli):
            lines += [f"link add {seg.bridge} type bridge forward_delay 0 stp_state 0",
                      f"addr add {seg.gateway}/{seg.network.prefixlen} dev {seg.bridge}",
                      f"link set dev {seg.bridge} up"]
        self._ip_batch(self.inet.ns, lines)
        self.netem = self._detect_netem()
        return self

    def close(self):
        """Tear everything down: processes, wires, namespaces. Idempotent."""
        if self.closed or not self.started:
            self.closed = True
            return
        self.closed = True
        # Hold off SIGINT/SIGTERM/SIGHUP/SIGALRM while tearing down (they are
        # delivered afterwards), so that a second Ctrl-C or a test's time
        # budget can't leave half a lab behind.
        main = threading.current_thread() is threading.main_thread()
        held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM}
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, held) if main else None
        try:
            self._teardown()
        finally:
            self._restore_signal_handlers()
            try:
                atexit.unregister(self.close)
            except Exception:
                pass
            if old_mask is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)

    def _teardown(self):
        procs = list(self.procs)
        for p in procs:
            p.close_stdin()
            p.signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for p in procs:
            try:
                p.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in procs:
            try:
                p.stop(timeout=0)
            except Exception as e:  # keep going: the namespaces must go
                print(f"punch lab: stopping {p.name}: {e}", file=sys.stderr)
        mine = [ns for ns in list_namespaces() if ns.startswith(self.prefix)]
        # Anything else still inside our namespaces was started through the
        # lab (e.g. `punch-lab exec`): kill it so the namespaces really go.
        for pid in pids_in_namespaces(mine):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        delete_namespaces(mine)
        left = [ns for ns in list_namespaces() if ns.startswith(self.prefix)]
        if left:
            delete_namespaces(left)  # once more, then complain
            left = [ns for ns in list_namespaces() if ns.startswith(self.prefix)]
            if left:
                raise LabError(f"teardown left namespaces behind: {left}")

    def _install_signal_handlers(self):
        if threading.current_thread() is not threading.main_thread():
            return

        def on_signal(signum, frame):
            raise SystemExit(128 + signum)  # unwinds through `with Lab()`
        for sig in (signal.SIGTERM, signal.SIGHUP):
            self._old_handlers[sig] = signal.signal(sig, on_signal)
        if signal.getsignal(signal.SIGINT) in (signal.SIG_DFL, signal.SIG_IGN, None):
            self._old_handlers[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)

    def _restore_signal_handlers(self):
        for sig, h in self._old_handlers.items():
            try:
                signal.signal(sig, h if h is not None else signal.SIG_DFL)
            except ValueError:
                pass
        self._old_handlers = {}

    # -- low-level helpers -------------------------------------------------------
    def _check_open(self):
        if not self.started or self.closed:
            raise LabError("lab is not running (use `with Lab() as lab:` or lab.start())")

    def _ip_batch(self, ns, lines):
        if lines:
            _run(["ip", "-n", _check_ns(ns), "-batch", "-"], input="\n".join(lines) + "\n")

    def _nft(self, ns, text):
        _run(ns_exec_argv(ns, ["nft", "-f", "-"]), input=text)

    def _parallel(self, fn, items):
        items = list(items)
        if len(items) <= 1:
            for it in items:
                fn(*it)
            return
        with ThreadPoolExecutor(max_workers=self.max_workers) as ex:
            for f in [ex.submit(fn, *it) for it in items]:
                f.result()

    def _new_ns(self, plan, ns, forwarding=False):
        plan.new_ns.append((ns, forwarding))
        self._namespaces.append(ns)

    def _run_plan_ns(self, plan):
        if not plan.new_ns:
            return
        _run(["ip", "-batch", "-"],
             input="".join(f"netns add {_check_ns(ns)}\n" for ns, _ in plan.new_ns))
        self._ns_inodes += [_netns_inode(ns) for ns, _ in plan.new_ns]

        def base(ns, fwd):
            sysctls = BASE_SYSCTLS + [f"net.ipv4.ip_forward={1 if fwd else 0}"]
            _run(ns_exec_argv(ns, ["sh", "-ec", "sysctl -q -w " + " ".join(sysctls)
                                   + " && ip link set dev lo up"]))
        self._parallel(base, plan.new_ns)
        plan.new_ns = []

    def _run_plan(self, plan):
        self._run_plan_ns(plan)
        self._parallel(self._ip_batch, plan.veths.items())   # create veths
        self._parallel(self._ip_batch, plan.ip.items())      # addresses, bridges, routes
        self._parallel(self._nft, plan.nft.items())
        for link in plan.wires:
            self._start_wire(link)
        for link in plan.links:  # impairment asked for at creation
            if link.loss or link.cut:
                self._nft(link.port_ns, _link_nft(link))
            if (link.delay_ms or link.jitter_ms) and not link.wire:
                self._netem(link)
        self._wait_carrier(plan.links)

    def _wait_carrier(self, links, timeout=10.0):
        """Waits (bounded) until every node end of `links` has carrier: a
        veth gets it a moment after both ends are up, and programs that list
        interfaces at start (libnice) skip one without it."""
        deadline = time.monotonic() + timeout
        waiting = list(links)
        while waiting:
            waiting = [link for link in waiting
                       if "LOWER_UP" not in _run(["ip", "-n", _check_ns(link.node.ns), "-o", "link",
                                                  "show", "dev", link.dev]).stdout]
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise LabError("no carrier on " + ", ".join(f"{l.node.ns}:{l.dev}" for l in waiting))
            time.sleep(0.02)

    def _claim(self, name, what):
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise LabError(f"bad {what} name {name!r}: 1-12 of [a-z0-9], starting with a letter")
        if name in self._names:
            raise LabError(f"name {name!r} is already used in this lab")
        self._names.add(name)

    def _detect_netem(self):
        cp = _run(ns_exec_argv(self.inet.ns, ["tc", "qdisc", "add", "dev", "lo", "root",
                                              "netem", "delay", "1ms"]), check=False)
        if cp.returncode == 0:
            _run(ns_exec_argv(self.inet.ns, ["tc", "qdisc", "del", "dev", "lo", "root"]), check=False)
            return True
        return False

    # -- building -----------------------------------------------------------------
    def _attach(self, plan, node, segment, link_name, ip, opts, dev="eth0"):
        """Plan a veth from `node` to `segment` (through a wire if needed)."""
        unknown = set(opts) - LINK_OPTS
        if unknown:
            raise LabError(f"unknown link option(s) {sorted(unknown)}: use {sorted(LINK_OPTS)}")
        delay = float(opts.get("delay_ms") or 0)
        jitter = float(opts.get("jitter_ms") or 0)
        loss = float(opts.get("loss") or 0)
        wire = opts.get("wire")
        if wire is None:
            wire = self.wires_default or ((delay or jitter) and not self.netem)
        port = segment.alloc_port()
        link = Link(link_name, node, dev, segment, port)
        link.delay_ms, link.jitter_ms, link.loss = delay, jitter, loss
        _check_loss(loss)
        pns = segment.node.ns
        if wire:
            link.wire_ns = self.prefix + "w-" + link_name
            self._new_ns(plan, link.wire_ns)
            plan.add_ip(node.ns, f"link add {dev} type veth peer name wa netns {link.wire_ns}", veth=True)
            plan.add_ip(link.wire_ns, f"link add wb type veth peer name {port} netns {pns}", veth=True)
            plan.add_ip(link.wire_ns, "link set dev wa up")
            plan.add_ip(link.wire_ns, "link set dev wb up")
            plan.wires.append(link)
        else:
            plan.add_ip(node.ns, f"link add {dev} type veth peer name {port} netns {pns}", veth=True)
        plan.add_ip(pns, f"link set dev {port} master {segment.bridge} up")
        plan.add_ip(node.ns, f"addr add {ip}/{segment.network.prefixlen} dev {dev}")
        plan.add_ip(node.ns, f"link set dev {dev} up")
        plan.add_ip(node.ns, f"route add default via {segment.gateway}")
        plan.links.append(link)
        self.links[link_name] = link
        node.link = link
        return link

    def _make_host(self, plan, name, segment, site, opts, ip=None):
        host = Host(self, name, self.prefix + "h-" + name, site)
        host.ip = segment.alloc_ip(ip)
        self._new_ns(plan, host.ns)
        host.gateway = segment.gateway
        self._attach(plan, host, segment, name, host.ip, opts)
        if self.quiet_hosts:
            plan.nft[host.ns] = HOST_NFT
        self.hosts[name] = host
        return host

    def _make_router(self, plan, name, nat, hairpin, segment, lan_net, lan_prefix, opts):
        r = Router(self, name, self.prefix + "r-" + name, nat, hairpin)
        self._new_ns(plan, r.ns, forwarding=True)
        r.wan_ip = segment.alloc_ip()
        self._attach(plan, r, segment, name, r.wan_ip, opts, dev="wan")
        net = ipaddress.ip_network(lan_net)
        r.lan = Segment(r, "lan", net, net.network_address + 1, lan_prefix,
                        first=2 if nat == "firewall" else 10)
        plan.add_ip(r.ns, "link add lan type bridge forward_delay 0 stp_state 0")
        plan.add_ip(r.ns, f"addr add {r.lan.gateway}/{net.prefixlen} dev lan")
        plan.add_ip(r.ns, "link set dev lan up")
        plan.nft[r.ns] = _router_nft(r)
        self.routers[name] = r
        return r

    def add_public_host(self, name, ip=None, **link_opts):
        """A server on the internet segment 198.51.100.0/24 (or, with an
        explicit ip in 203.0.113.0/25, on the other one). link_opts:
        delay_ms, jitter_ms, loss, wire."""
        self._check_open()
        self._claim(name, "host")
        seg = self.srv
        if ip is not None:
            addr = ipaddress.ip_address(ip)
            seg = self.srv if addr in SRV_NET else self.cli if addr in CLI_NET else None
            if seg is None or addr not in seg.network.hosts() or str(addr) == seg.gateway:
                raise LabError(f"public host ip {ip} must be a host address in {SRV_NET} "
                               f"or {CLI_NET}, not the .1 gateway")
            ip = str(addr)
        plan = _Plan()
        host = self._make_host(plan, name, seg, None, link_opts, ip=ip)
        self._run_plan(plan)
        return host

    def add_cgnat(self, name, nat="cone", hairpin=False, **link_opts):
        """An ISP's carrier-grade NAT: WAN on the internet, 100.64.g.0/24
        inside; `double` sites hang behind it."""
        self._check_open()
        if nat not in ("cone", "symmetric"):
            raise LabError(f"cgnat nat must be cone or symmetric, not {nat!r}")
        self._claim(name, "cgnat")
        g = self._cgnat_counter
        self._cgnat_counter += 1
        if g > 255:
            raise LabError("too many CGNATs")
        plan = _Plan()
        r = self._make_router(plan, name, nat, hairpin, self.cli,
                              f"100.{64 + g // 256}.{g % 256}.0/24", "l", link_opts)
        r.is_cgnat = True
        self._run_plan(plan)
        return r

    def add_site(self, name, nat, hosts=1, cgnat=None, hairpin=False, **link_opts):
        """A site of `hosts` LAN hosts named <name>1, <name>2, ... behind a
        router of behaviour `nat` (public, firewall, cone, symmetric,
        double).  For `double`, `cgnat` names the outer NAT (made with
        add_cgnat; by default a private one, <name>isp, is created).
        hairpin: the site's own NAT hairpins (cone/symmetric).  link_opts
        (delay_ms, jitter_ms, loss, wire) apply to the site's uplink, the
        link named like the site."""
        self._check_open()
        if nat not in NATS:
            raise LabError(f"unknown nat {nat!r}: one of {', '.join(NATS)}")
        if not 1 <= hosts <= 13:
            raise LabError("a site has 1 to 13 hosts")
        self._claim(name, "site")
        host_names = [f"{name}{i + 1}" for i in range(hosts)]
        for hn in host_names:
            self._claim(hn, "host")
        plan = _Plan()
        if nat == "public":
            site = Site(name, nat, None)
            for hn in host_names:
                site.hosts.append(self._make_host(plan, hn, self.cli, site,
                                                  link_opts if hn == host_names[0] else {}))
            self.links[name] = site.hosts[0].link   # the site's uplink
        else:
            outer = None
            if nat == "double":
                if cgnat is None:
                    cgnat = f"{name[:9]}isp"
                    self.add_cgnat(cgnat)
                outer = self.routers.get(cgnat)
                if outer is None or not outer.is_cgnat:
                    raise LabError(f"no CGNAT named {cgnat!r} (add_cgnat first)")
            elif cgnat is not None:
                raise LabError("cgnat= only applies to nat='double'")
            if nat == "firewall":
                if hairpin:
                    raise LabError("a firewall has no NAT to hairpin")
                k = self._fw_counter
                self._fw_counter += 1
                if k >= 8:
                    raise LabError("at most 8 firewall sites")
                lan_net = f"{FW_NET.network_address + 16 * k}/28"
            else:
                self._site_counter += 1
                if self._site_counter > 254:
                    raise LabError("too many NAT sites")
                lan_net = f"192.168.{self._site_counter}.0/24"
            segment = outer.lan if outer else self.cli
            router = self._make_router(plan, name, "cone" if nat == "double" else nat,
                                       hairpin, segment, lan_net, "l", link_opts)
            site = Site(name, nat, router, outer)
            for hn in host_names:
                site.hosts.append(self._make_host(plan, hn, router.lan, site, {}))
            if nat == "firewall":  # the internet routes the site's public /28 to it
                plan.add_ip(self.inet.ns, f"route add {lan_net} via {router.wan_ip}")
        self.sites[name] = site
        self._run_plan(plan)
        return site

    # -- wires / impairment -------------------------------------------------------
    def _start_wire(self, link):
        node = Node(self, f"wire-{link.name}", link.wire_ns, "wire")
        us = lambda ms: str(int(round(ms * 1000)))
        proc = self._spawn(node, [find_wire_binary(), "--delay-us", us(link.delay_ms),
                                  "--jitter-us", us(link.jitter_ms), "wa", "wb"],
                           f"wire-{link.name}", None, True, None)
        proc.wait_line(r"^ready$", timeout=10)
        link.wire = proc

    def _netem(self, link):
        if not self.netem:
            raise LabError(f"link {link.name!r} has no wire and this kernel has no netem: "
                           "create it with wire=True (or Lab(wires=True)) to set a delay")
        for ns, dev in ((link.node.ns, link.dev), (link.port_ns, link.port_dev)):
            if link.delay_ms or link.jitter_ms:
                args = ["tc", "qdisc", "replace", "dev", dev, "root", "netem",
                        "delay", f"{link.delay_ms}ms"]
                if link.jitter_ms:
                    args.append(f"{link.jitter_ms}ms")
                _run(ns_exec_argv(ns, args))
            else:
                _run(ns_exec_argv(ns, ["tc", "qdisc", "del", "dev", dev, "root"]), check=False)
        link.netem = bool(link.delay_ms or link.jitter_ms)

    def link(self, name):
        """The Link called `name`: a host's, a router's or a site's uplink."""
        if isinstance(name, Link):
            return name
        if isinstance(name, (Node, Site)):
            name = name.name
        try:
            return self.links[name]
        except KeyError:
            raise LabError(f"no link {name!r}; links: {', '.join(sorted(self.links))}") from None

    def set_impairment(self, link, delay_ms=0.0, jitter_ms=0.0, loss=0.0):
        """Set a link's one-way delay and jitter (each direction, in ms) and
        its loss probability (each direction, 0..1).  All three are set:
        omitted ones go back to 0."""
        self._check_open()
        link = self.link(link)
        _check_loss(loss)
        if delay_ms < 0 or jitter_ms < 0 or delay_ms > 10000:
            raise LabError("delay_ms must be 0..10000 and jitter_ms >= 0")
        if (delay_ms or jitter_ms or link.netem) and not link.wire:
            link.delay_ms, link.jitter_ms = float(delay_ms), float(jitter_ms)
            self._netem(link)
        elif link.wire:
            us = lambda ms: int(round(ms * 1000))
            link.wire.send(f"set {us(delay_ms)} {us(jitter_ms)}")
            link.wire.wait_line(r"^ok ", timeout=5)
        link.delay_ms, link.jitter_ms = float(delay_ms), float(jitter_ms)
        link.loss = float(loss)
        self._nft(link.port_ns, _link_nft(link))

    def cut_link(self, link):
        """Silently drop everything on a link, both ways (a cut cable that
        neither end notices: the interfaces stay up, NAT state survives)."""
        self._check_open()
        link = self.link(link)
        link.cut = True
        self._nft(link.port_ns, _link_nft(link))

    def restore_link(self, link):
        self._check_open()
        link = self.link(link)
        link.cut = False
        self._nft(link.port_ns, _link_nft(link))

    # -- NAT control --------------------------------------------------------------
    def router(self, name):
        """The router of site `name`, or the CGNAT `name`."""
        if isinstance(name, Router):
            return name
        if name in self.routers:
            return self.routers[name]
        raise LabError(f"no router {name!r} (public sites have none); "
                       f"routers: {', '.join(sorted(self.routers))}")

    def flush_nat(self, name):
        """Forget every mapping (conntrack entry) of a site's router or a
        CGNAT, hairpin table included: the next packet gets a new mapping."""
        self._check_open()
        r = self.router(name)
        if not shutil.which("conntrack"):
            raise LabError("flush_nat needs the `conntrack` tool (apt-get install conntrack)")
        if r.hairpin:
            self._nft(r.ns, "flush map ip nat hp_udp\nflush map ip nat hp_tcp\n")
        cp = r.run(["conntrack", "-F"], check=False)
        if cp.returncode != 0 and "0 flow entries" not in cp.stderr:
            raise LabError(f"conntrack -F in {r.name} failed: {cp.stderr.strip()}")

    def forward_port(self, name, host, port, proto="tcp"):
        """A static port forward on a site's NAT router (cone or
        symmetric): `proto` packets from the internet to the router's WAN
        address and `port` go to `host` (a LAN host of the site) on the
        same port; replies leave through the NAT as usual."""
        self._check_open()
        r = self.router(name)
        if r.nat not in ("cone", "symmetric") or r.is_cgnat:
            raise LabError(f"{r.name}: port forwards are for a site's cone or symmetric NAT")
        if proto not in ("tcp", "udp") or not 1 <= int(port) <= 65535:
            raise LabError(f"forward_port: bad {proto}/{port}")
        host = self.host(host) if isinstance(host, str) else host
        self._nft(r.ns, (
            "add chain ip nat forwards { type nat hook prerouting priority dstnat; policy accept; }\n"
            f"add rule ip nat forwards iifname \"wan\" ip daddr {r.wan_ip} {proto} dport {int(port)} "
            f"dnat ip to {host.ip}:{int(port)}\n"
            "add rule inet lab forward iifname \"wan\" oifname \"lan\" ct status dnat accept\n"))

    def conntrack(self, name):
        """The router's conntrack table, one entry per line."""
        r = self.router(name)
        cp = r.run(["conntrack", "-L"], check=False)
        return [l for l in cp.stdout.splitlines() if l.strip()]

    def set_udp_timeout(self, name, seconds, stream_seconds=None):
        """Lower (or raise) how long a router keeps an idle UDP mapping:
        `seconds` for flows seen one way only, `stream_seconds` (default:
        the same) for flows that had replies. Per namespace."""
        r = self.router(name)
        s = int(seconds)
        ss = int(stream_seconds if stream_seconds is not None else seconds)
        r.run(["sysctl", "-q", "-w", f"net.netfilter.nf_conntrack_udp_timeout={s}",
               f"net.netfilter.nf_conntrack_udp_timeout_stream={ss}"])

    # -- processes ----------------------------------------------------------------
    def _spawn(self, node, argv, name, env, stdin, cwd):
        self._check_open()
        base = name or f"{node.name}:{os.path.basename(str(argv[0]))}"
        n = self._proc_names.get(base, 0)
        self._proc_names[base] = n + 1
        proc = Proc(self, node, argv, base if n == 0 else f"{base}#{n + 1}", env, stdin, cwd)
        self.procs.append(proc)
        return proc

    def host(self, name):
        try:
            return self.hosts[name]
        except KeyError:
            raise LabError(f"no host {name!r}; hosts: {', '.join(sorted(self.hosts))}") from None

    def site(self, name):
        try:
            return self.sites[name]
        except KeyError:
            raise LabError(f"no site {name!r}") from None

    def __getitem__(self, name):
        return self.host(name)

    def namespaces(self):
        return list(self._namespaces)

    def ns_inodes_processes(self):
        """PIDs of any process still in one of this run's namespaces, even
        deleted ones (used to prove a teardown left nothing behind)."""
        return pids_in_inodes(self._ns_inodes)

    def dump_logs(self, file=None, tail=LOG_TAIL):
        """Print every process's stdout and stderr (the last `tail` lines)."""
        file = file or sys.stderr
        for p in self.procs:
            print(p.log(tail), file=file, end="")
        file.flush()

    def describe(self):
        """A JSON-able picture of the topology."""
        d = {"run_id": self.run_id, "netem": self.netem, "hosts": {}, "sites": {},
             "routers": {}, "links": {}}
        for h in self.hosts.values():
            d["hosts"][h.name] = {"ns": h.ns, "ip": h.ip, "gateway": h.gateway,
                                  "site": h.site.name if h.site else None,
                                  "public_ip": h.public_ip}
        for s in self.sites.values():
            d["sites"][s.name] = {"nat": s.nat, "hosts": [h.name for h in s.hosts],
                                  "router": s.router.name if s.router else None,
                                  "cgnat": s.cgnat.name if s.cgnat else None,
                                  "public_ip": s.public_ip}
        for r in self.routers.values():
            d["routers"][r.name] = {"ns": r.ns, "nat": r.nat, "hairpin": r.hairpin,
                                    "wan_ip": r.wan_ip, "lan": str(r.lan.network)}
        for l in self.links.values():
            d["links"][l.name] = {"node": l.node.name, "wire": bool(l.wire),
                                  "delay_ms": l.delay_ms, "jitter_ms": l.jitter_ms,
                                  "loss": l.loss, "cut": l.cut}
        return d


def _check_loss(loss):
    if not 0.0 <= float(loss) <= 1.0:
        raise LabError(f"loss must be within 0..1, not {loss}")


# --------------------------------------------------------------------------
# Leftovers

def delete_namespaces(namespaces):
    """Delete lab namespaces (one `ip -batch` for all)."""
    namespaces = [_check_ns(ns) for ns in namespaces]
    if namespaces:
        _run(["ip", "-force", "-batch", "-"],
             input="".join(f"netns del {ns}\n" for ns in namespaces), check=False)


STARTING_GRACE = 30.0  # s: a run this young without an owner marker is starting


def lab_runs():
    """{run_id: {"namespaces": [...], "owner": pid or None, "alive": bool}}

    alive: the owner process recorded in the run's marker still exists, or
    the run has no marker yet but is younger than STARTING_GRACE seconds."""
    runs = {}
    for ns in list_namespaces():
        m = NS_RE.match(ns)
        if m:
            runs.setdefault(m.group(1), {"namespaces": [], "owner": None, "alive": False})["namespaces"].append(ns)
    for rid, info in runs.items():
        ages = []
        for ns in info["namespaces"]:
            try:
                ages.append(time.time() - os.stat(f"/run/netns/{ns}").st_mtime)
            except OSError:
                pass
        info["alive"] = bool(ages) and max(ages) < STARTING_GRACE
        inet = f"{PREFIX}{rid}-inet"
        if inet not in info["namespaces"]:
            continue
        cp = _run(["ip", "-n", inet, "-j", "link", "show", "dev", "lo"], check=False)
        try:
            alias = json.loads(cp.stdout)[0].get("ifalias", "")
        except (ValueError, IndexError):
            alias = ""
        m = re.match(MARKER + r" owner=(\d+) start=(\S+)", alias)
        if m:
            pid = int(m.group(1))
            info["owner"] = pid
            info["alive"] = _proc_start_ticks(pid) == m.group(2)
    return runs


def cleanup(all_runs=False, run_id=None, log=print):
    """Remove namespaces (and the processes in them) of crashed lab runs:
    runs whose owner process is gone. all_runs=True: live runs too.
    Returns the list of namespaces removed."""
    require_root()
    removed = []
    for rid, info in sorted(lab_runs().items()):
        if run_id is not None and rid != run_id:
            continue
        if info["alive"] and not all_runs:
            log(f"run {rid}: owner pid {info['owner']} is alive, leaving it (use --all)")
            continue
        pids = pids_in_namespaces(info["namespaces"])
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        delete_namespaces(info["namespaces"])
        removed += info["namespaces"]
        log(f"run {rid}: removed {len(info['namespaces'])} namespaces, killed {len(pids)} processes")
    return removed


# --------------------------------------------------------------------------
# Named topologies (used by the CLI and the self-tests)

def _topo_basic(lab):
    lab.add_public_host("relay")
    lab.add_site("a", nat="cone")
    lab.add_site("b", nat="cone")


def _topo_autonat(lab):
    for i in range(1, 5):
        lab.add_public_host(f"s{i}")
    for nat in ("public", "firewall", "cone", "symmetric"):
        lab.add_site(nat[:3], nat=nat)


def _topo_matrix(lab):
    lab.add_public_host("rdv")
    for nat in ("public", "firewall", "cone", "symmetric"):
        for i in ("a", "b"):   # sites pa, pb, fa, fb, ca, cb, sa, sb
            lab.add_site(f"{nat[0]}{i}", nat=nat)


def _topo_double(lab):
    lab.add_public_host("rdv")
    lab.add_cgnat("isp1", hairpin=True)
    lab.add_cgnat("isp2", hairpin=False)
    lab.add_site("d1", nat="double", cgnat="isp1")
    lab.add_site("d2", nat="double", cgnat="isp1")
    lab.add_site("d3", nat="double", cgnat="isp2")
    lab.add_site("d4", nat="double", cgnat="isp2")


def _topo_largest(lab):
    """Everything at once, with delay-capable wires on every site uplink."""
    for i in range(1, 5):
        lab.add_public_host(f"s{i}")
    lab.add_public_host("relay", wire=True)
    for nat in ("public", "firewall", "cone", "symmetric"):
        for i in (1, 2):
            lab.add_site(f"{nat[:3]}{i}", nat=nat, hosts=2, wire=True)
    lab.add_cgnat("isp1", hairpin=True, wire=True)
    lab.add_cgnat("isp2", hairpin=False, wire=True)
    for i in range(1, 5):
        lab.add_site(f"d{i}", nat="double", cgnat="isp1" if i <= 2 else "isp2", wire=True)


TOPOLOGIES = {
    "basic": (_topo_basic, "relay + two cone sites a, b"),
    "autonat": (_topo_autonat, "4 public servers s1..s4 + one site of each: pub, fir, con, sym"),
    "matrix": (_topo_matrix, "rendezvous rdv + sites pa, pb (public), fa, fb (firewall), "
                             "ca, cb (cone), sa, sb (symmetric)"),
    "double": (_topo_double, "rdv + CGNAT isp1 (hairpin) with d1, d2 + isp2 (no hairpin) with d3, d4"),
    "largest": (_topo_largest, "all of the above at once, wires on every uplink"),
}


def build_topology(lab, name):
    try:
        fn = TOPOLOGIES[name][0]
    except KeyError:
        raise LabError(f"unknown topology {name!r}; one of {', '.join(TOPOLOGIES)}") from None
    fn(lab)
    return lab


def run_tests(tests, argv):
    """Runs the named tests of a lab test file (all of them without names):
    each a function that builds its own Lab; prints "ok NAME" / "FAIL NAME"
    with a traceback, and "N passed, N failed" last. Not root: exit 77 if
    PUNCH_LAB_SKIP_UNPRIVILEGED=1, else the tests fail loudly (Lab() raises).
    Returns the exit status."""
    import traceback
    names = argv[1:] or list(tests)
    unknown = [n for n in names if n not in tests]
    if unknown:
        print(f"unknown tests: {unknown}; known: {list(tests)}", file=sys.stderr)
        return 2
    if os.geteuid() != 0 and os.environ.get("PUNCH_LAB_SKIP_UNPRIVILEGED") == "1":
        print("not root: skipped (PUNCH_LAB_SKIP_UNPRIVILEGED=1)")
        return 77
    passed = failed = 0
    for name in names:
        start = time.monotonic()
        print(f"--- {name}", flush=True)
        try:
            tests[name]()
            passed += 1
            print(f"ok {name} ({time.monotonic() - start:.1f} s)", flush=True)
        except Exception:  # noqa: BLE001 (a failed test of any kind)
            failed += 1
            traceback.print_exc()
            print(f"FAIL {name} ({time.monotonic() - start:.1f} s)", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1
