#!/usr/bin/python3
"""test-gi.py: Punch through GObject Introspection, from Python.

Runs against the build tree (GI_TYPELIB_PATH and LD_LIBRARY_PATH point at
build/agent, set by meson).
"""
import os
import tempfile
import unittest

import gi

gi.require_version("Punch", "1.0")
from gi.repository import Gio, GLib, Punch  # noqa: E402

# libp2p/specs peer-ids/peer-ids.md, "Test vectors".
ED25519_PRIVATE_KEY = bytes.fromhex(
    "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da6"
    "0fee7d1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e")
ED25519_PEER_ID = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"


class GiTests(unittest.TestCase):
    def test_keypair_and_peer_id(self):
        key = Punch.Keypair.generate(Punch.KeyType.ED25519)
        peer_id = key.get_peer_id()
        text = peer_id.to_string()
        print("generated peer id:", text)
        self.assertTrue(text.startswith("12D3KooW"))
        self.assertEqual(Punch.PeerId.new_from_string(text).to_string(), text)

    def test_spec_vector(self):
        key = Punch.Keypair.new_from_protobuf(GLib.Bytes.new(ED25519_PRIVATE_KEY))
        self.assertEqual(key.get_peer_id().to_string(), ED25519_PEER_ID)

    def test_sign_verify(self):
        key = Punch.Keypair.generate(Punch.KeyType.ED25519)
        sig = key.sign(b"hello").get_data()
        self.assertEqual(len(sig), 64)
        self.assertTrue(key.get_public_key().verify(b"hello", sig))
        with self.assertRaises(GLib.Error) as ctx:
            key.get_public_key().verify(b"hellO", sig)
        self.assertTrue(ctx.exception.matches(Punch.error_quark(),
                                              Punch.Error.BAD_SIGNATURE))

    def test_save_load(self):
        key = Punch.Keypair.generate(Punch.KeyType.ED25519)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "k")
            key.save(path)
            again = Punch.Keypair.load(path)
        self.assertEqual(again.get_peer_id().to_string(),
                         key.get_peer_id().to_string())

    def test_multiaddr(self):
        text = "/ip4/127.0.0.1/tcp/4001/p2p/" + ED25519_PEER_ID
        addr = Punch.Multiaddr.new_from_string(text)
        self.assertEqual(addr.to_string(), text)
        self.assertEqual(addr.get_peer_id().to_string(), ED25519_PEER_ID)
        self.assertTrue(addr.is_loopback())
        again = Punch.Multiaddr.new_from_bytes(addr.get_bytes())
        self.assertTrue(addr.equal(again))

    def test_hosts_connect(self):
        """Two hosts on loopback, driven from Python: a dial authenticates
        the listener's peer id and both sides announce the connection."""
        a = Punch.Host.new(Punch.Keypair.generate(Punch.KeyType.ED25519))
        b = Punch.Host.new(Punch.Keypair.generate(Punch.KeyType.ED25519))
        b.listen(Punch.Multiaddr.new_from_string("/ip4/127.0.0.1/tcp/0"))
        target = b.get_listen_addresses()[0]
        self.assertEqual(target.get_peer_id().to_string(),
                         b.get_peer_id().to_string())

        opened = []
        b.connect("connection-opened", lambda host, conn: opened.append(conn))
        result = {}
        loop = GLib.MainLoop()

        def dialed(host, res):
            try:
                result["conn"] = host.dial_finish(res)
            except GLib.Error as e:
                result["error"] = e
            loop.quit()

        a.dial_async(target, None, dialed)
        GLib.timeout_add_seconds(20, loop.quit)  # failsafe
        loop.run()
        self.assertNotIn("error", result)
        conn = result["conn"]
        self.assertEqual(conn.get_remote_peer_id().to_string(),
                         b.get_peer_id().to_string())
        self.assertEqual(conn.get_direction(), Punch.Direction.OUTBOUND)
        # Bounded wait: a 10 ms tick keeps iteration() from blocking, for
        # at most 1000 ticks.
        ctx = GLib.MainContext.default()
        tick = GLib.timeout_add(10, lambda: True)
        for _ in range(1000):
            if opened:
                break
            ctx.iteration(True)
        GLib.source_remove(tick)
        self.assertEqual(len(opened), 1)
        self.assertEqual(opened[0].get_remote_peer_id().to_string(),
                         a.get_peer_id().to_string())
        a.close()
        b.close()

    def test_agent_reachability(self):
        """A PunchAgent scripted from Python: two AutoNAT services on
        loopback (allowed to dial it) make it PUBLIC; the signal carries the
        old and new verdict and the confidence, the property follows."""
        servers = []
        for _ in range(2):
            host = Punch.Host.new(Punch.Keypair.generate(Punch.KeyType.ED25519))
            host.listen(Punch.Multiaddr.new_from_string("/ip4/127.0.0.1/tcp/0"))
            service = Punch.AutonatService.new(host)
            service.set_allow_private(True)
            servers.append((host, service))
        agent = Punch.Agent.new(None)
        agent.set_property("autonat-threshold", 2)
        agent.add_local_address(Gio.InetAddress.new_loopback(Gio.SocketFamily.IPV4))
        agent.get_host().listen(Punch.Multiaddr.new_from_string("/ip4/127.0.0.1/tcp/0"))
        for host, _ in servers:
            agent.add_autonat_server(host.get_listen_addresses()[0])
        changes = []
        agent.connect("reachability-changed",
                      lambda a, old, new, conf: changes.append((old, new, conf)))
        agent.start()
        ctx = GLib.MainContext.default()
        tick = GLib.timeout_add(10, lambda: True)
        for _ in range(3000):
            if changes:
                break
            ctx.iteration(True)
        GLib.source_remove(tick)
        self.assertEqual(changes, [(Punch.Reachability.UNKNOWN, Punch.Reachability.PUBLIC, 2)])
        self.assertEqual(agent.props.reachability, Punch.Reachability.PUBLIC)
        listen = [a for a in agent.get_addresses()
                  if a.get_origin() == Punch.AddressOrigin.LISTEN]
        self.assertEqual(len(listen), 1)
        self.assertEqual(listen[0].get_reachability(), Punch.Reachability.PUBLIC)
        agent.get_host().close()
        for host, _ in servers:
            host.close()

    def wait_until(self, cond, ticks=3000):
        """Iterates the default main context until cond() holds (a 10 ms
        tick keeps iteration() from blocking; at most `ticks` of them)."""
        ctx = GLib.MainContext.default()
        tick = GLib.timeout_add(10, lambda: True)
        for _ in range(ticks):
            if cond():
                break
            ctx.iteration(True)
        GLib.source_remove(tick)
        return cond()

    def test_relay(self):
        """Circuit relay v2 from Python: B reserves on R (its stream window
        set through the property), A dials B's relayed address: a limited
        connection to B, and B's host announces A's identify stream."""
        def new_host():
            return Punch.Host.new(Punch.Keypair.generate(Punch.KeyType.ED25519))
        r, a, b = new_host(), new_host(), new_host()
        r.listen(Punch.Multiaddr.new_from_string("/ip4/127.0.0.1/tcp/0"))
        service = Punch.RelayService.new(r)
        service.props.stream_window = 512 * 1024
        self.assertEqual(service.props.stream_window, 512 * 1024)
        client_b = Punch.RelayClient.new(b)
        client_a = Punch.RelayClient.new(a)
        gained = []
        client_b.connect("reservation-gained", lambda c, res: gained.append(res))
        client_b.add_relay(r.get_listen_addresses()[0])
        client_b.set_reserving(True)
        self.assertTrue(self.wait_until(lambda: gained))
        self.assertEqual(gained[0].get_relay().to_string(), r.get_peer_id().to_string())
        relayed = client_b.get_relayed_addresses()
        self.assertEqual(len(relayed), 1)
        self.assertIn("/p2p-circuit/p2p/" + b.get_peer_id().to_string(), relayed[0].to_string())

        opened = []
        b.connect("stream-opened", lambda host, stream: opened.append(
            (stream.get_protocol(), stream.get_connection().get_remote_peer_id().to_string(),
             stream.get_connection().is_limited())))
        result = {}
        a.dial_async(relayed[0], None, lambda host, res: result.update(conn=host.dial_finish(res)))
        self.assertTrue(self.wait_until(lambda: result))
        conn = result["conn"]
        self.assertTrue(conn.is_limited())
        self.assertEqual(conn.get_remote_peer_id().to_string(), b.get_peer_id().to_string())
        self.assertTrue(self.wait_until(
            lambda: ("/ipfs/id/1.0.0", a.get_peer_id().to_string(), True) in opened), opened)
        self.assertIsNotNone(client_a)
        for host in (a, b, r):
            host.close()

    def test_errors_are_gerrors(self):
        with self.assertRaises(GLib.Error) as ctx:
            Punch.Multiaddr.new_from_string("/ip4/999.1.1.1/tcp/1")
        self.assertEqual(ctx.exception.domain, "punch-error-quark")
        with self.assertRaises(GLib.Error):
            Punch.PeerId.new_from_string("not-a-peer-id")


if __name__ == "__main__":
    unittest.main(verbosity=2)
