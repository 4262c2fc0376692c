#!/usr/bin/python3
"""udptool - small bounded UDP/TCP probes the NAT lab runs on its hosts.

Every mode prints JSON event lines on stdout ({"event": ..., ...}) and
stops by itself (--duration, default 10 s, at most 300 s).  Addresses are
written "ip:port".

  reflect --port P [--late-ms N]     answer each datagram with the source
                                     address it came from (a STUN stand-in);
                                     with --late-ms, answer again N ms later
  probe --port P --to A [--to B..]   from one socket, ask reflectors which
                                     mapping they see
  socket --port P                    a UDP socket driven by JSON lines on
                                     stdin: {"send": A, "data": "..",
                                     "count": N, "interval_ms": M}; reports
                                     every datagram and ICMP error received
  punch --port P --reflector A --token T --side S
                                     learn the mapping from A, read
                                     {"peer": A, "start": T, "window": S} on
                                     stdin, then send to the peer from
                                     monotonic time T for S seconds,
                                     answering and adopting any address the
                                     peer's packets come from
  rtt --to A [--count N] [--interval-ms M]  round trips through a reflector
  blast --to A --count N [--interval-ms M] --token T   numbered datagrams
  sink --port P --token T [--expect N] [--idle-ms M]   count blast datagrams
  tcp --to A [--timeout S]           one TCP connect: connected / refused /
                                     timeout / unreachable
"""
import argparse
import errno
import json
import os
import select
import socket
import struct
import sys
import time

IP_RECVERR = 11            # not exported by Python's socket module
MAX_DURATION = 300.0
MAX_COUNT = 100000


def emit(event, **fields):
    fields = {"event": event, **fields}
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def parse_addr(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def fmt(addr):
    return f"{addr[0]}:{addr[1]}"


def udp_socket(port=0, recverr=False):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    if recverr:
        s.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    s.bind(("0.0.0.0", port))
    s.setblocking(False)
    return s


def drain_errors(sock):
    """ICMP errors queued on a socket with IP_RECVERR, as dicts."""
    out = []
    for _ in range(100):
        try:
            _, anc, _, _ = sock.recvmsg(2048, 512, socket.MSG_ERRQUEUE)
        except (BlockingIOError, InterruptedError):
            break
        except OSError:
            break
        for level, ctype, data in anc:
            if level == socket.IPPROTO_IP and ctype == IP_RECVERR and len(data) >= 32:
                ee_errno, origin, etype, code = struct.unpack_from("=IBBB", data, 0)
                fam, port, a = struct.unpack_from("=HH4s", data, 16)
                out.append({"errno": errno.errorcode.get(ee_errno, ee_errno), "origin": origin,
                            "type": etype, "code": code,
                            "offender": socket.inet_ntoa(a)})
    return out


def recv_ready(sock, timeout):
    """Datagrams (data, addr) and ICMP errors that arrive within timeout."""
    r, _, x = select.select([sock], [], [sock], max(0.0, timeout))
    dgrams, errs = [], []
    if r or x:
        for _ in range(256):
            try:
                data, addr = sock.recvfrom(65536)
                dgrams.append((data, addr))
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # an ICMP error reported through recv (IP_RECVERR)
                errs += drain_errors(sock)
        errs += drain_errors(sock)
    return dgrams, errs


def text(data):
    return data[:200].decode("latin-1")


# --------------------------------------------------------------------------

def cmd_reflect(a):
    s = udp_socket(a.port)
    emit("listening", port=a.port)
    deadline = time.monotonic() + a.duration
    late = []  # (due, addr, reply)
    n = 0
    while time.monotonic() < deadline:
        wait = deadline - time.monotonic()
        if late:
            wait = min(wait, late[0][0] - time.monotonic())
        dgrams, _ = recv_ready(s, wait)
        for data, addr in dgrams:
            n += 1
            reply = {"observed": fmt(addr), "echo": text(data)}
            s.sendto(json.dumps(reply).encode(), addr)
            if not a.quiet:
                emit("request", **{"from": fmt(addr)})
            if a.late_ms and len(late) < 1000:
                late.append((time.monotonic() + a.late_ms / 1000, addr,
                             json.dumps({**reply, "late": True}).encode()))
        now = time.monotonic()
        while late and late[0][0] <= now:
            _, addr, reply = late.pop(0)
            s.sendto(reply, addr)
    emit("done", requests=n)


def ask_reflector(s, refl, timeout=2.0, tries=10):
    """Send probes to a reflector until it answers; return observed addr."""
    interval = timeout / tries
    for i in range(tries):
        s.sendto(f"probe {i}".encode(), refl)
        end = time.monotonic() + interval
        while time.monotonic() < end:
            dgrams, _ = recv_ready(s, end - time.monotonic())
            for data, addr in dgrams:
                if addr == refl:
                    try:
                        return json.loads(data)["observed"]
                    except (ValueError, KeyError):
                        pass
    return None


def cmd_probe(a):
    s = udp_socket(a.port)
    local = s.getsockname()[1]
    seen = []
    for target in a.to:
        obs = ask_reflector(s, parse_addr(target))
        seen.append(obs)
        emit("mapped", reflector=target, observed=obs, local_port=local)
    emit("done", observed=seen, local_port=local)


def cmd_socket(a):
    s = udp_socket(a.port, recverr=True)
    emit("listening", port=s.getsockname()[1])
    deadline = time.monotonic() + a.duration
    stdin_open = True
    # Commands are read from the stdin pipe itself, not through sys.stdin:
    # select() would not see lines that the buffered reader already holds.
    stdin_fd = sys.stdin.fileno()
    pending = b""
    while time.monotonic() < deadline:
        line = ""
        if b"\n" not in pending:
            fds = [s] + ([stdin_fd] if stdin_open else [])
            r, _, _ = select.select(fds, [], [], max(0.0, min(0.2, deadline - time.monotonic())))
            if stdin_fd in r:
                chunk = os.read(stdin_fd, 65536)
                if chunk:
                    pending += chunk
                else:
                    stdin_open = False
                    pending += b"\n" if pending else b""  # a last line without its newline
        if b"\n" in pending:
            raw, pending = pending.split(b"\n", 1)
            line = raw.decode("utf-8", "replace")
        if line.strip():
            try:
                cmd = json.loads(line)
            except ValueError:
                emit("error", message="bad command", line=line.strip())
                continue
            if cmd.get("quit"):
                break
            if "send" in cmd:
                to = parse_addr(cmd["send"])
                count = min(int(cmd.get("count", 1)), 1000)
                for i in range(count):
                    try:
                        s.sendto(cmd.get("data", "hello").encode(), to)
                    except OSError as e:
                        emit("send_error", to=cmd["send"], error=str(e))
                    if i + 1 < count:
                        time.sleep(cmd.get("interval_ms", 20) / 1000)
                emit("sent", to=cmd["send"], count=count, tag=cmd.get("tag"))
        dgrams, errs = recv_ready(s, 0)
        for data, addr in dgrams:
            emit("recv", data=text(data), **{"from": fmt(addr)})
        for e in errs:
            emit("icmp_error", **e)
    emit("done")


def cmd_punch(a):
    s = udp_socket(a.port)
    mapped = ask_reflector(s, parse_addr(a.reflector)) if a.reflector else None
    emit("mapped", observed=mapped, local_port=s.getsockname()[1])
    # wait for the peer's address from the harness (bounded)
    r, _, _ = select.select([sys.stdin], [], [], a.duration)
    line = sys.stdin.readline() if r else ""
    if not line.strip():
        emit("result", received=False, acked=False, error="no peer given")
        return
    cmd = json.loads(line)
    targets = [parse_addr(cmd["peer"])]
    start = float(cmd.get("start", time.monotonic()))
    window = min(float(cmd.get("window", 2.0)), a.duration)
    while time.monotonic() < start:
        time.sleep(min(0.01, max(0.0, start - time.monotonic())))
    mine = f"{a.token} {a.side}"
    received = acked = False
    first_from = None
    sent = 0
    end = start + window
    next_send = time.monotonic()
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= next_send:
            for t in targets:
                try:
                    s.sendto(f"PUNCH {mine}".encode(), t)
                    sent += 1
                except OSError:
                    pass
            next_send = now + a.interval_ms / 1000
        dgrams, _ = recv_ready(s, min(next_send, end) - time.monotonic())
        for data, addr in dgrams:
            parts = data.decode("latin-1").split()
            if len(parts) != 3 or parts[1] != a.token or parts[2] == a.side:
                continue  # not from our peer in this exchange
            if not received:
                first_from = fmt(addr)
                emit("received", kind=parts[0], **{"from": fmt(addr)})
            received = True
            if addr not in targets and len(targets) < 4:
                targets.append(addr)  # peer-reflexive: answer where it came from
            if parts[0] == "PUNCH":
                s.sendto(f"ACK {mine}".encode(), addr)
            elif parts[0] == "ACK":
                acked = True
    emit("result", received=received, acked=acked, sent=sent,
         targets=[fmt(t) for t in targets], mapped=mapped, **{"from": first_from})


def cmd_rtt(a):
    s = udp_socket(0)
    to = parse_addr(a.to)
    sent_at = {}
    samples = []
    for seq in range(a.count):
        sent_at[seq] = time.monotonic()
        s.sendto(f"rtt {seq}".encode(), to)
        end = sent_at[seq] + a.interval_ms / 1000
        while True:
            left = end - time.monotonic()
            dgrams, _ = recv_ready(s, left)
            now = time.monotonic()
            for data, addr in dgrams:
                try:
                    k = int(json.loads(data)["echo"].split()[1])
                except (ValueError, KeyError, IndexError):
                    continue
                if k in sent_at:
                    samples.append(round((now - sent_at.pop(k)) * 1000, 3))
            if left <= 0:
                break
    tail_end = time.monotonic() + 1.0  # stragglers
    while sent_at and time.monotonic() < tail_end:
        dgrams, _ = recv_ready(s, tail_end - time.monotonic())
        now = time.monotonic()
        for data, _ in dgrams:
            try:
                k = int(json.loads(data)["echo"].split()[1])
            except (ValueError, KeyError, IndexError):
                continue
            if k in sent_at:
                samples.append(round((now - sent_at.pop(k)) * 1000, 3))
    emit("rtt", samples_ms=samples, sent=a.count, received=len(samples))


def cmd_blast(a):
    s = udp_socket(a.port)
    to = parse_addr(a.to)
    t0 = time.monotonic()
    for seq in range(a.count):
        due = t0 + seq * a.interval_ms / 1000
        while time.monotonic() < due:
            time.sleep(max(0.0, due - time.monotonic()))
        s.sendto(f"blast {a.token} {seq}".encode(), to)
    emit("blast_done", sent=a.count, seconds=round(time.monotonic() - t0, 3))


def cmd_sink(a):
    s = udp_socket(a.port)
    emit("listening", port=a.port)
    deadline = time.monotonic() + a.duration
    got = set()
    last = None
    while time.monotonic() < deadline:
        if a.expect and len(got) >= a.expect:
            break
        if last is not None and time.monotonic() - last > a.idle_ms / 1000:
            break
        dgrams, _ = recv_ready(s, min(0.1, deadline - time.monotonic()))
        for data, _ in dgrams:
            parts = data.decode("latin-1").split()
            if len(parts) == 3 and parts[0] == "blast" and parts[1] == a.token:
                got.add(int(parts[2]))
                last = time.monotonic()
    emit("sink_done", count=len(got))


def cmd_tcp(a):
    host, port = parse_addr(a.to)
    s = socket.socket()
    s.settimeout(a.timeout)
    try:
        s.connect((host, port))
        result = "connected"
    except socket.timeout:
        result = "timeout"
    except ConnectionRefusedError:
        result = "refused"
    except OSError as e:
        result = "unreachable" if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH) else str(e)
    finally:
        s.close()
    emit("tcp", to=a.to, result=result)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)

    def add(name, fn):
        sp = sub.add_parser(name)
        sp.set_defaults(fn=fn)
        sp.add_argument("--duration", type=float, default=10.0)
        return sp
    sp = add("reflect", cmd_reflect)
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--late-ms", type=int, default=0)
    sp.add_argument("--quiet", action="store_true")
    sp = add("probe", cmd_probe)
    sp.add_argument("--port", type=int, default=0)
    sp.add_argument("--to", action="append", required=True)
    sp = add("socket", cmd_socket)
    sp.add_argument("--port", type=int, default=0)
    sp = add("punch", cmd_punch)
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--reflector")
    sp.add_argument("--token", required=True)
    sp.add_argument("--side", required=True)
    sp.add_argument("--interval-ms", type=float, default=20.0)
    sp = add("rtt", cmd_rtt)
    sp.add_argument("--to", required=True)
    sp.add_argument("--count", type=int, default=50)
    sp.add_argument("--interval-ms", type=float, default=50.0)
    sp = add("blast", cmd_blast)
    sp.add_argument("--to", required=True)
    sp.add_argument("--port", type=int, default=0)
    sp.add_argument("--count", type=int, required=True)
    sp.add_argument("--interval-ms", type=float, default=1.0)
    sp.add_argument("--token", required=True)
    sp = add("sink", cmd_sink)
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--token", required=True)
    sp.add_argument("--expect", type=int, default=0)
    sp.add_argument("--idle-ms", type=float, default=1000.0)
    sp = add("tcp", cmd_tcp)
    sp.add_argument("--to", required=True)
    sp.add_argument("--timeout", type=float, default=2.0)
    a = p.parse_args()
    a.duration = min(max(a.duration, 0.0), MAX_DURATION)
    for k in ("count", "expect"):
        if getattr(a, k, None) is not None:
            setattr(a, k, min(getattr(a, k), MAX_COUNT))
    a.fn(a)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
