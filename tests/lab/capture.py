#!/usr/bin/python3
"""Captures every frame on one interface of a lab namespace (AF_PACKET),
for tests that look at what crosses a host (no tcpdump needed).

  capture.py --iface eth0 --out FILE [--duration S]

Prints {"event": "capturing"} once the socket is bound, writes each frame
as a 4-byte big-endian length followed by the frame, and on SIGTERM, SIGINT
or after --duration (default 60 s, at most 600) prints
{"event": "captured", "frames": N, "bytes": M} and exits 0.
"""
import argparse
import json
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--iface", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args()
    deadline = time.monotonic() + min(max(args.duration, 0.1), 600.0)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((args.iface, 0))
    # A large buffer (root may exceed rmem_max): frames must not be dropped
    # while this process is busy writing.
    SO_RCVBUFFORCE = 33
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 256 << 20)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    frames = total = 0
    with open(args.out, "wb") as out:
        print(json.dumps({"event": "capturing", "iface": args.iface}), flush=True)
        while not stop and time.monotonic() < deadline:
            try:
                ready, _, _ = select.select([sock], [], [], 0.2)
            except InterruptedError:
                continue
            if not ready:
                continue
            frame = sock.recv(262144)
            out.write(struct.pack(">I", len(frame)))
            out.write(frame)
            frames += 1
            total += len(frame)
    # Drain what is already queued, then ask the kernel what it dropped
    # (PACKET_STATISTICS: tp_packets, tp_drops; reading resets them).
    while True:
        ready, _, _ = select.select([sock], [], [], 0)
        if not ready:
            break
        frame = sock.recv(262144)
        frames += 1
        total += len(frame)
        with open(args.out, "ab") as out:
            out.write(struct.pack(">I", len(frame)))
            out.write(frame)
    SOL_PACKET, PACKET_STATISTICS = 263, 6
    _, drops = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
    print(json.dumps({"event": "captured", "frames": frames, "bytes": total, "drops": drops}),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
