#!/usr/bin/python3
"""Asks one AutoNAT server to dial the addresses given, through Punch's GI
bindings; prints {"event": "answer", "status": ..., "text": ..., "addr": ...}.

  autonat_ask.py SERVER_MULTIADDR ADDR [ADDR...]

Bounded: gives up after 20 s (exit 1). Needs GI_TYPELIB_PATH and
LD_LIBRARY_PATH pointing at the build's agent/ directory.
"""
import json
import sys

import gi
gi.require_version("Punch", "1.0")
from gi.repository import GLib, Punch  # noqa: E402


def main(argv):
    server = Punch.Multiaddr.new_from_string(argv[1])
    addrs = [Punch.Multiaddr.new_from_string(a) for a in argv[2:]]
    host = Punch.Host.new(Punch.Keypair.generate(Punch.KeyType.ED25519))
    loop = GLib.MainLoop()
    out = {}

    def on_answer(source, result):
        try:
            answer = Punch.autonat_dial_finish(host, result)
            address = answer.get_address()
            out.update(event="answer", status=answer.get_status().value_nick.upper()
                       .replace("-", "_"), text=answer.get_status_text(),
                       addr=address.to_string() if address else None)
        except GLib.Error as e:
            out.update(event="error", error=e.message)
        loop.quit()

    def on_dialed(source, result):
        try:
            connection = host.dial_finish(result)
        except GLib.Error as e:
            out.update(event="error", error=e.message)
            loop.quit()
            return
        Punch.autonat_dial_async(host, connection.get_remote_peer_id(), addrs, None, on_answer)

    host.dial_async(server, None, on_dialed)
    GLib.timeout_add_seconds(20, loop.quit)
    loop.run()
    host.close()
    print(json.dumps(out or {"event": "error", "error": "timed out"}), flush=True)
    return 0 if out.get("event") == "answer" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
