#!/usr/bin/python3
"""test-cli.py: the punch command-line tool, run as a user would.

Expected values come from the specifications (peer-ids.md test vectors,
the multiaddr binary layout), never from the tool itself.
"""
import os
import stat
import subprocess
import sys
import tempfile
import unittest

PUNCH = os.environ.get("PUNCH_CLI", "build/examples/punch")

# libp2p/specs peer-ids/peer-ids.md, "Test vectors": the Ed25519 private
# key (a PrivateKey protobuf); its peer id is the acceptance value.
ED25519_PRIVATE_KEY = bytes.fromhex(
    "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da6"
    "0fee7d1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e")
ED25519_PEER_ID = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"


def punch(*args):
    return subprocess.run([PUNCH, *args], capture_output=True, text=True,
                          timeout=60)


class IdTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def write_key(self, name, data, mode=0o600):
        path = self.path(name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
        return path

    def test_show_spec_vector(self):
        key = self.write_key("vector.key", ED25519_PRIVATE_KEY)
        r = punch("id", "show", key)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), ED25519_PEER_ID)

    def test_new_then_show(self):
        key = self.path("new.key")
        r = punch("id", "new", key)
        self.assertEqual(r.returncode, 0, r.stderr)
        created = r.stdout.strip()
        self.assertTrue(created.startswith("12D3KooW"), created)
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        # A PrivateKey protobuf: field 1 (Type) = 1 (Ed25519), field 2
        # (Data) of 64 bytes.
        with open(key, "rb") as f:
            self.assertEqual(f.read()[:4], bytes([0x08, 0x01, 0x12, 0x40]))
        r = punch("id", "show", key)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), created)

    def test_new_refuses_to_overwrite(self):
        key = self.write_key("exists.key", ED25519_PRIVATE_KEY)
        r = punch("id", "new", key)
        self.assertEqual(r.returncode, 1)
        self.assertIn("exists", r.stderr)
        with open(key, "rb") as f:
            self.assertEqual(f.read(), ED25519_PRIVATE_KEY)

    def test_new_other_types(self):
        for key_type, prefix in (("ecdsa", "Qm"), ("rsa", "Qm")):
            key = self.path(key_type + ".key")
            r = punch("id", "new", "--type", key_type, key)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(r.stdout.startswith(prefix), r.stdout)
            self.assertEqual(punch("id", "show", key).stdout, r.stdout)

    def test_show_bad_files(self):
        cases = {
            "missing": None,
            "empty": b"",
            "garbage": b"\xff\xfe not a key",
            "public-key": bytes.fromhex(
                "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"),
        }
        for name, data in cases.items():
            path = self.path(name) if data is None else self.write_key(name, data)
            r = punch("id", "show", path)
            self.assertEqual(r.returncode, 1, name)
            self.assertTrue(r.stderr.startswith("punch: "), (name, r.stderr))
            self.assertEqual(r.stdout, "", name)

    def test_show_refuses_readable_key(self):
        key = self.write_key("open.key", ED25519_PRIVATE_KEY, mode=0o644)
        r = punch("id", "show", key)
        self.assertEqual(r.returncode, 1)
        self.assertIn("punch: ", r.stderr)

    def test_usage_errors(self):
        for args in (("id",), ("id", "show"), ("id", "show", "a", "b"),
                     ("nope",), ("id", "new", "--type", "dsa", "x")):
            r = punch(*args)
            self.assertEqual(r.returncode, 2, args)


class AddrTests(unittest.TestCase):
    def test_encode_known(self):
        # ip4 (code 4) 198.51.100.7, udp (273 = varint 91 02) 4001 (0x0fa1),
        # quic-v1 (461 = varint cd 03).
        r = punch("addr", "encode", "/ip4/198.51.100.7/udp/4001/quic-v1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "04c63364079102" "0fa1" "cd03")

    def test_decode_known(self):
        # tcp is code 6; 0x1f90 = 8080.
        r = punch("addr", "decode", "047f000001" "06" "1f90")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "/ip4/127.0.0.1/tcp/8080")

    def test_round_trip_with_peer_id(self):
        text = "/ip6/::1/tcp/4001/p2p/" + ED25519_PEER_ID
        hexed = punch("addr", "encode", text)
        self.assertEqual(hexed.returncode, 0, hexed.stderr)
        back = punch("addr", "decode", hexed.stdout.strip())
        self.assertEqual(back.returncode, 0, back.stderr)
        self.assertEqual(back.stdout.strip(), text)

    def test_bad_input(self):
        for args in (("addr", "encode", "/ip4/1.2.3.4/tcp/70000"),
                     ("addr", "encode", "ip4/1.2.3.4"),
                     ("addr", "encode", "/nosuchproto/1"),
                     ("addr", "decode", "zz"),
                     ("addr", "decode", "047f00"),
                     ("addr", "decode", "ffff0f")):
            r = punch(*args)
            self.assertEqual(r.returncode, 1, args)
            self.assertTrue(r.stderr.startswith("punch: "), (args, r.stderr))


if __name__ == "__main__":
    unittest.main(verbosity=2)
