/* test-keys.c: public keys, key pairs, signatures and key files.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <punch.h>

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "punch-crypto-private.h"

/* libp2p/specs peer-ids/peer-ids.md, "Test vectors": PrivateKey and
 * PublicKey protobufs; each public key belongs to the private key above
 * it. */
static const gchar SPEC_ECDSA_PRIVATE_KEY[] =
  "08031279307702010104203e5b1fe9712e6c314942a750bd67485de3c1efe85b"
  "1bfb520ae8f9ae3dfa4a4ca00a06082a8648ce3d030107a14403420004de3d30"
  "0fa36ae0e8f5d530899d83abab44abf3161f162a4bc901d8e6ecda020e8b6d5f"
  "8da30525e71d6851510c098e5c47c646a597fb4dcec034e9f77c409e62";

static const gchar SPEC_ECDSA_PUBLIC_KEY[] =
  "0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004de"
  "3d300fa36ae0e8f5d530899d83abab44abf3161f162a4bc901d8e6ecda020e8b"
  "6d5f8da30525e71d6851510c098e5c47c646a597fb4dcec034e9f77c409e62";

static const gchar SPEC_ED25519_PRIVATE_KEY[] =
  "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9d"
  "a60fee7d1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d4"
  "74fce27e";

static const gchar SPEC_ED25519_PUBLIC_KEY[] =
  "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d4"
  "74fce27e";

static const gchar SPEC_SECP256K1_PRIVATE_KEY[] =
  "0802122053dadf1d5a164d6b4acdb15e24aa4c5b1d3461bdbd42abedb0a4404d"
  "56ced8fb";

static const gchar SPEC_SECP256K1_PUBLIC_KEY[] =
  "08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0"
  "e630bfca99";

static const gchar SPEC_RSA_PRIVATE_KEY[] =
  "080012ae123082092a0201000282020100e1beab071d08200bde24eef00d0494"
  "49b07770ff9910257b2d7d5dda242ce8f0e2f12e1af4b32d9efd2c090f66b0f2"
  "9986dbb645dae9880089704a94e5066d594162ae6ee8892e6ec70701db0a6c44"
  "5c04778eb3de1293aa1a23c3825b85c6620a2bc3f82f9b0c309bc0ab3aeb1873"
  "282bebd3da03c33e76c21e9beb172fd44c9e43be32e2c99827033cf8d0f0c606"
  "f4579326c930eb4e854395ad941256542c793902185153c474bed109d6ff5141"
  "ebf9cd256cf58893a37f83729f97e7cb435ec679d2e33901d27bb35aa0d7e205"
  "61da08885ef0abbf8e2fb48d6a5487047a9ecb1ad41fa7ed84f6e3e8ecd5d98b"
  "3982d2a901b4454991766da295ab78822add5612a2df83bcee814cf50973e80d"
  "7ef38111b1bd87da2ae92438a2c8cbcc70b31ee319939a3b9c761dbc13b5c086"
  "d6b64bf7ae7dacc14622375d92a8ff9af7eb962162bbddebf90acb32adb5e4e4"
  "029f1c96019949ecfbfeffd7ac1e3fbcc6b6168c34be3d5a2e5999fcbb39bba7"
  "adbca78eab09b9bc39f7fa4b93411f4cc175e70c0a083e96bfaefb04a9580b47"
  "53c1738a6a760ae1afd851a1a4bdad231cf56e9284d832483df215a46c1c21bd"
  "f0c6cfe951c18f1ee4078c79c13d63edb6e14feaeffabc90ad317e4875fe6481"
  "01b0864097e998f0ca3025ef9638cd2b0caecd3770ab54a1d9c6ca959b0f5dcb"
  "c90caeefc4135baca6fd475224269bbe1b02030100010282020100a472ffa858"
  "efd8588ce59ee264b957452f3673acdf5631d7bfd5ba0ef59779c231b0bc838a"
  "8b14cae367b6d9ef572c03c7883b0a3c652f5c24c316b1ccfd979f13d0cd7da2"
  "0c7d34d9ec32dfdc81ee7292167e706d705efde5b8f3edfcba41409e642f8897"
  "357df5d320d21c43b33600a7ae4e505db957c1afbc189d73f0b5d972d9aaaeeb"
  "232ca20eebd5de6fe7f29d01470354413cc9a0af1154b7af7c1029adcd67c74b"
  "4798afeb69e09f2cb387305e73a1b5f450202d54f0ef096fe1bde340219a1194"
  "d1ac9026e90b366cce0c59b239d10e4888f52ca1780824d39ae01a6b9f4dd605"
  "9191a7f12b2a3d8db3c2868cd4e5a5862b8b625a4197d52c6ac77710116ebd3c"
  "ed81c4d91ad5fdfbed68312ebce7eea45c1833ca3acf7da2052820eacf5c6b07"
  "d086dabeb893391c71417fd8a4b1829ae2cf60d1749d0e25da19530d889461c2"
  "1da3492a8dc6ccac7de83ac1c2185262c7473c8cc42f547cc9864b02a8073b6a"
  "a54a037d8c0de3914784e6205e83d97918b944f11b877b12084c0dd1d36592f8"
  "a4f8b8da5bb404c3d2c079b22b6ceabfbcb637c0dbe0201f0909d533f8bf308a"
  "da47aee641a012a494d31b54c974e58b87f140258258bb82f31692659db7aa07"
  "e17a5b2a0832c24e122d3a8babcc9ee74cbb07d3058bb85b15f6f6b2674aba9f"
  "d34367be9782d444335fbed31e3c4086c652597c27104938b47fa10282010100"
  "e9fdf843c1550070ca711cb8ff28411466198f0e212511c3186623890c0071bf"
  "6561219682fe7dbdfd81176eba7c4faba21614a20721e0fcd63768e6d925688e"
  "cc90992059ac89256e0524de90bf3d8a052ce6a9f6adafa712f3107a016e20c8"
  "0255c9e37d8206d1bc327e06e66eb24288da866b55904fd8b59e6b2ab31bc5ea"
  "b47e597093c63fab7872102d57b4c589c66077f534a61f5f65127459a33c91f6"
  "db61fc431b1ae90be92b4149a3255291baf94304e3efb77b1107b5a3bda91135"
  "9c40a53c347ff9100baf8f36dc5cd991066b5bdc28b39ed644f404afe9213f4d"
  "31c9d4e40f3a5f5e3c39bebeb244e84137544e1a1839c1c8aaebf0c78a7fad59"
  "0282010100f6fa1f1e6b803742d5490b7441152f500970f46feb0b73a6e4baba"
  "2aaf3c0e245ed852fc31d86a8e46eb48e90fac409989dfee45238f97e8f1f8e8"
  "3a136488c1b04b8a7fb695f37b8616307ff8a8d63e8cfa0b4fb9b9167ffaebab"
  "f111aa5a4344afbabd002ae8961c38c02da76a9149abdde93eb389eb32595c29"
  "ba30d8283a7885218a5a9d33f7f01dbdf85f3aad016c071395491338ec318d39"
  "220e1c7bd69d3d6b520a13a30d745c102b827ad9984b0dd6aed73916ffa82a06"
  "c1c111e7047dcd2668f988a0570a71474992eecf416e068f029ec323d5d635fd"
  "24694fc9bf96973c255d26c772a95bf8b7f876547a5beabf86f06cd21b67994f"
  "944e7a5493028201010095b02fd30069e547426a8bea58e8a2816f33688dac6c"
  "6f6974415af8402244a22133baedf34ce499d7036f3f19b38eb00897c18949b0"
  "c5a25953c71aeeccfc8f6594173157cc854bd98f16dffe8f28ca13b77eb43a27"
  "30585c49fc3f608cd811bb54b03b84bddaa8ef910988567f783012266199667a"
  "546a18fd88271fbf63a45ae4fd4884706da8befb9117c0a4d73de5172f8640b1"
  "091ed8a4aea3ed4641463f5ff6a5e3401ad7d0c92811f87956d1fd5f9a1d15c7"
  "f3839a08698d9f35f9d966e5000f7cb2655d7b6c4adcd8a9d950ea5f61bb7c9a"
  "33c17508f9baa313eecfee4ae493249ebe05a5d7770bbd3551b2eeb752e3649e"
  "0636de08e3d672e66cb90282010100ad93e4c31072b063fc5ab5fe22afacece7"
  "75c795d0efdf7c704cfc027bde0d626a7646fc905bb5a80117e3ca49059af14e"
  "0160089f9190065be9bfecf12c3b2145b211c8e89e42dd91c38e9aa23ca73697"
  "063564f6f6aa6590088a738722df056004d18d7bccac62b3bafef6172fc2a4b0"
  "71ea37f31eff7a076bcab7dd144e51a9da8754219352aef2c73478971539fa41"
  "de4759285ea626fa3c72e7085be47d554d915bbb5149cb6ef835351f23104304"
  "9cd941506a034bf2f8767f3e1e42ead92f91cb3d75549b57ef7d56ac39c2d80d"
  "67f6a2b4ca192974bfc5060e2dd171217971002193dba12e7e4133ab201f0750"
  "0a90495a38610279b13a48d54f0c99028201003e3a1ac0c2b67d54ed5c4bbe04"
  "a7db99103659d33a4f9d35809e1f60c282e5988dddc964527f3b05e6cc890eab"
  "3dcb571d66debf3a5527704c87264b3954d7265f4e8d2c637dd89b491b9cf23f"
  "264801f804b90454d65af0c4c830d1aef76f597ef61b26ca857ecce9cb78d4f6"
  "c2218c00d2975d46c2b013fbf59b750c3b92d8d3ed9e6d1fd0ef1ec091a5c286"
  "a3fe2dead292f40f380065731e2079ebb9f2a7ef2c415ecbb488da98f3a12609"
  "ca1b6ec8c734032c8bd513292ff842c375d4acd1b02dfb206b24cd815f8e2f9d"
  "4af8e7dea0370b19c1b23cc531d78b40e06e1119ee2e08f6f31c6e2e8444c568"
  "d13c5d451a291ae0c9f1d4f27d23b3a00d60ad";

static const gchar SPEC_RSA_PUBLIC_KEY[] =
  "080012a60430820222300d06092a864886f70d01010105000382020f00308202"
  "0a0282020100e1beab071d08200bde24eef00d049449b07770ff9910257b2d7d"
  "5dda242ce8f0e2f12e1af4b32d9efd2c090f66b0f29986dbb645dae988008970"
  "4a94e5066d594162ae6ee8892e6ec70701db0a6c445c04778eb3de1293aa1a23"
  "c3825b85c6620a2bc3f82f9b0c309bc0ab3aeb1873282bebd3da03c33e76c21e"
  "9beb172fd44c9e43be32e2c99827033cf8d0f0c606f4579326c930eb4e854395"
  "ad941256542c793902185153c474bed109d6ff5141ebf9cd256cf58893a37f83"
  "729f97e7cb435ec679d2e33901d27bb35aa0d7e20561da08885ef0abbf8e2fb4"
  "8d6a5487047a9ecb1ad41fa7ed84f6e3e8ecd5d98b3982d2a901b4454991766d"
  "a295ab78822add5612a2df83bcee814cf50973e80d7ef38111b1bd87da2ae924"
  "38a2c8cbcc70b31ee319939a3b9c761dbc13b5c086d6b64bf7ae7dacc1462237"
  "5d92a8ff9af7eb962162bbddebf90acb32adb5e4e4029f1c96019949ecfbfeff"
  "d7ac1e3fbcc6b6168c34be3d5a2e5999fcbb39bba7adbca78eab09b9bc39f7fa"
  "4b93411f4cc175e70c0a083e96bfaefb04a9580b4753c1738a6a760ae1afd851"
  "a1a4bdad231cf56e9284d832483df215a46c1c21bdf0c6cfe951c18f1ee4078c"
  "79c13d63edb6e14feaeffabc90ad317e4875fe648101b0864097e998f0ca3025"
  "ef9638cd2b0caecd3770ab54a1d9c6ca959b0f5dcbc90caeefc4135baca6fd47"
  "5224269bbe1b0203010001";

/* The uncompressed form of the secp256k1 public key above (SEC 1, 0x04). */
static const gchar SECP256K1_UNCOMPRESSED_POINT[] =
  "047777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99"
  "1b41b30efa52b659e9db235c31f9975578a17e2b356a6b84837b5b45c555cfb1";

/* libp2p/specs tls/tls.md, "Test vectors": the SignedKey of each
 * certificate's libp2p extension (host public key, and its signature of
 * "libp2p-tls-handshake:" followed by the certificate's key in DER) with
 * the peer id the spec gives for it. All certificates share one key. */
static const gchar TLS_CERT_SPKI[] =
  "3059301306072a8648ce3d020106082a8648ce3d030107034200040c901d423c"
  "831ca85e27c73c263ba132721bb9d7a84c4f0380b2a6756fd601331c8870234d"
  "ec878504c174144fa4b14b66a651691606d8173e55bd37e381569e";

static const struct {
  const gchar *name;
  const gchar *public_key;
  const gchar *signature;
  const gchar *peer_id;
  PunchKeyType key_type;
  gint verify_error;    /* -1: the signature verifies */
} tls_vectors[] = {
  { "1. ed25519",
    "08011220a77f1d92fedb59dddaea5a1c4abd1ac2fbde7d7b879ed364501809923d7c11b9",
    "d90d2769db992d5e6195dbb08e706b6651e024fda6cfb8846694a435519941ca"
    "c215a8207792e42849cccc6cd8136c6e4bde92a58c5e08cfd4206eb5fe0bf909",
    "12D3KooWM6CgA9iBFZmcYAHA6A2qvbAxqfkmrYiRQuz3XEsk4Ksv",
    PUNCH_KEY_TYPE_ED25519, -1 },
  { "2. ecdsa",
    "0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004bf"
    "30511f909414ebdd3242178fd290f093a551cf75c973155de0bb5a96fedf6cb5"
    "d52da7563e794b512f66e60c7f55ba8a3acf3dd72a801980d205e8a1ad29f2",
    "30450220064ea8124774caf8f50e57f436aa62350ce652418c019df5d98a3ac6"
    "66c9386a022100aa59d704a931b5f72fb9222cb6cc51f954d04a4e2e5450f880"
    "5fe8918f71eaae",
    "QmfXbAwNjJLXfesgztEHe8HwgVDCMMpZ9Eax1HYq6hn9uE",
    PUNCH_KEY_TYPE_ECDSA, -1 },
  { "3. secp256k1",
    "080212210206dc6968726765b820f050263ececf7f71e4955892776c0970542efd689d2382",
    "30440220145e15a991961f0d08cd15425bb95ec93f6ffa03c5a385eedc34ecf4"
    "64c7a8ab022026b3109b8a3f40ef833169777eb2aa337cfb6282f188de0666d1"
    "bcec2a4690dd",
    "16Uiu2HAkutTMoTzDw1tCvSRtu6YoixJwS46S1ZFxW8hSx9fWHiPs",
    PUNCH_KEY_TYPE_SECP256K1, PUNCH_ERROR_UNSUPPORTED },
  { "4. invalid (signature by another key)",
    "0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004bf"
    "30511f909414ebdd3242178fd290f093a551cf75c973155de0bb5a96fedf6cb5"
    "d52da7563e794b512f66e60c7f55ba8a3acf3dd72a801980d205e8a1ad29f2",
    "3045022100bb6e03577b7cc7a3cd1558df0da2b117dfdcc0399bc2504ebe7de6"
    "f65cade72802206de96e2a5be9b6202adba24ee0362e490641ac45c240db71fe"
    "955f2c5cf8df6e",
    "QmfXbAwNjJLXfesgztEHe8HwgVDCMMpZ9Eax1HYq6hn9uE",
    PUNCH_KEY_TYPE_ECDSA, PUNCH_ERROR_BAD_SIGNATURE },
};

#define TLS_SIGNATURE_PREFIX "libp2p-tls-handshake:"

/* Helpers */

static GBytes *
hex_bytes (const gchar *hex)
{
  gsize len = strlen (hex) / 2;
  guint8 *buf = g_malloc (MAX (len, 1));

  g_assert_cmpuint (strlen (hex) % 2, ==, 0);
  for (gsize i = 0; i < len; i++)
    {
      gint hi = g_ascii_xdigit_value (hex[2 * i]);
      gint lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      g_assert_cmpint (hi, >=, 0);
      g_assert_cmpint (lo, >=, 0);
      buf[i] = (guint8) (hi << 4 | lo);
    }

  return g_bytes_new_take (buf, len);
}

static void
append_varint (GByteArray *array,
               guint64     value)
{
  do
    {
      guint8 b = value & 0x7f;

      value >>= 7;
      if (value != 0)
        b |= 0x80;
      g_byte_array_append (array, &b, 1);
    }
  while (value != 0);
}

/* A PublicKey / PrivateKey protobuf (same layout) built by hand. */
static GBytes *
key_protobuf (guint64       type,
              const guint8 *data,
              gsize         len)
{
  GByteArray *array = g_byte_array_new ();
  guint8 tag;

  tag = 0x08;
  g_byte_array_append (array, &tag, 1);
  append_varint (array, type);
  tag = 0x12;
  g_byte_array_append (array, &tag, 1);
  append_varint (array, len);
  if (len > 0)
    g_byte_array_append (array, data, len);

  return g_byte_array_free_to_bytes (array);
}

static GBytes *
key_protobuf_hex (guint64      type,
                  const gchar *data_hex)
{
  g_autoptr(GBytes) data = hex_bytes (data_hex);
  gsize len;
  const guint8 *buf = g_bytes_get_data (data, &len);

  return key_protobuf (type, buf, len);
}

/* The Data field of a key protobuf made of a one-byte type and a length
 * varint, as all vectors are. */
static GBytes *
protobuf_data (GBytes *protobuf)
{
  gsize len, offset = 3;   /* 0x08 <type> 0x12 <length varint> <data> */
  const guint8 *data = g_bytes_get_data (protobuf, &len);

  g_assert_cmpuint (len, >, 4);
  while (data[offset] & 0x80)
    offset++;
  offset++;

  return g_bytes_new (data + offset, len - offset);
}

/* A DER TLV. */
static void
append_der (GByteArray   *array,
            guint8        tag,
            const guint8 *content,
            gsize         len)
{
  guint8 header[4];
  gsize n = 0;

  header[n++] = tag;
  if (len < 0x80)
    header[n++] = (guint8) len;
  else if (len < 0x100)
    {
      header[n++] = 0x81;
      header[n++] = (guint8) len;
    }
  else
    {
      g_assert_cmpuint (len, <, 0x10000);
      header[n++] = 0x82;
      header[n++] = (guint8) (len >> 8);
      header[n++] = (guint8) len;
    }
  g_byte_array_append (array, header, n);
  g_byte_array_append (array, content, len);
}

/* An RSA SubjectPublicKeyInfo whose modulus is @modulus_len bytes of
 * 0xc5 (positive, top bit set) and exponent 65537: well formed, of
 * exactly 8 × @modulus_len bits. */
static GBytes *
rsa_spki_of_size (gsize modulus_len)
{
  static const guint8 algorithm[] = {
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
  };
  static const guint8 exponent[] = { 0x01, 0x00, 0x01 };
  g_autoptr(GByteArray) modulus = g_byte_array_new ();
  g_autoptr(GByteArray) integers = g_byte_array_new ();
  g_autoptr(GByteArray) rsa_key = g_byte_array_new ();
  g_autoptr(GByteArray) bit_string = g_byte_array_new ();
  g_autoptr(GByteArray) spki_content = g_byte_array_new ();
  GByteArray *spki = g_byte_array_new ();
  guint8 zero = 0;

  g_byte_array_append (modulus, &zero, 1);
  for (gsize i = 0; i < modulus_len; i++)
    {
      guint8 b = 0xc5;
      g_byte_array_append (modulus, &b, 1);
    }

  append_der (integers, 0x02, modulus->data, modulus->len);
  append_der (integers, 0x02, exponent, sizeof exponent);
  append_der (rsa_key, 0x30, integers->data, integers->len);
  g_byte_array_append (bit_string, &zero, 1);   /* no unused bits */
  g_byte_array_append (bit_string, rsa_key->data, rsa_key->len);
  g_byte_array_append (spki_content, algorithm, sizeof algorithm);
  append_der (spki_content, 0x03, bit_string->data, bit_string->len);
  append_der (spki, 0x30, spki_content->data, spki_content->len);

  return g_byte_array_free_to_bytes (spki);
}

static PunchPublicKey *
public_key_from_hex (const gchar *hex)
{
  g_autoptr(GBytes) bytes = hex_bytes (hex);
  g_autoptr(GError) error = NULL;
  PunchPublicKey *key = punch_public_key_new_from_protobuf (bytes, &error);

  g_assert_no_error (error);
  g_assert_nonnull (key);

  return key;
}

static PunchKeypair *
keypair_from_hex (const gchar *hex)
{
  g_autoptr(GBytes) bytes = hex_bytes (hex);
  g_autoptr(GError) error = NULL;
  PunchKeypair *keypair = punch_keypair_new_from_protobuf (bytes, &error);

  g_assert_no_error (error);
  g_assert_nonnull (keypair);

  return keypair;
}

static void
assert_public_key_error (GBytes *protobuf,
                         gint    code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchPublicKey) key = punch_public_key_new_from_protobuf (protobuf, &error);

  g_test_message ("public key: %s", error != NULL ? error->message : "(no error)");
  g_assert_null (key);
  g_assert_error (error, PUNCH_ERROR, code);
}

static void
assert_keypair_error (GBytes *protobuf,
                      gint    code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = punch_keypair_new_from_protobuf (protobuf, &error);

  g_test_message ("private key: %s", error != NULL ? error->message : "(no error)");
  g_assert_null (keypair);
  g_assert_error (error, PUNCH_ERROR, code);
}

static gchar *
peer_id_string (PunchPeerId *peer_id)
{
  return punch_peer_id_to_string (peer_id);
}

/* Spec vectors */

typedef struct {
  const gchar *private_key;
  const gchar *public_key;
  const gchar *peer_id;
  PunchKeyType key_type;
} SpecVector;

static void
check_spec_vector (const SpecVector *v)
{
  g_autoptr(PunchKeypair) keypair = keypair_from_hex (v->private_key);
  g_autoptr(PunchPublicKey) public_key = public_key_from_hex (v->public_key);
  g_autoptr(GBytes) expected_private = hex_bytes (v->private_key);
  g_autoptr(GBytes) expected_public = hex_bytes (v->public_key);
  g_autoptr(GBytes) private_encoding = NULL;
  g_autoptr(GBytes) public_encoding = NULL;
  g_autoptr(GBytes) derived_encoding = NULL;
  g_autofree gchar *peer_id = NULL;
  g_autofree gchar *derived_peer_id = NULL;
  PunchPublicKey *derived = punch_keypair_get_public_key (keypair);

  g_assert_cmpint (punch_keypair_get_key_type (keypair), ==, v->key_type);
  g_assert_cmpint (punch_public_key_get_key_type (public_key), ==, v->key_type);
  g_assert_cmpint (punch_public_key_get_key_type (derived), ==, v->key_type);

  /* "Implementations SHOULD check that they can produce the provided
   * public key from the private key." */
  g_assert_true (punch_public_key_equal (derived, public_key));
  derived_encoding = punch_public_key_to_protobuf (derived);
  g_assert_true (g_bytes_equal (derived_encoding, expected_public));

  /* Both encodings round-trip byte for byte. */
  public_encoding = punch_public_key_to_protobuf (public_key);
  g_assert_true (g_bytes_equal (public_encoding, expected_public));
  private_encoding = punch_keypair_to_protobuf (keypair);
  g_assert_true (g_bytes_equal (private_encoding, expected_private));

  peer_id = peer_id_string (punch_public_key_get_peer_id (public_key));
  derived_peer_id = peer_id_string (punch_keypair_get_peer_id (keypair));
  g_assert_cmpstr (peer_id, ==, v->peer_id);
  g_assert_cmpstr (derived_peer_id, ==, v->peer_id);
}

static void
test_spec_ed25519 (void)
{
  /* The lead's acceptance check: the spec's Ed25519 key is
   * 12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq. */
  const SpecVector v = {
    SPEC_ED25519_PRIVATE_KEY, SPEC_ED25519_PUBLIC_KEY,
    "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq", PUNCH_KEY_TYPE_ED25519,
  };

  check_spec_vector (&v);
}

static void
test_spec_ecdsa (void)
{
  const SpecVector v = {
    SPEC_ECDSA_PRIVATE_KEY, SPEC_ECDSA_PUBLIC_KEY,
    "QmVMT29id3TUASyfZZ6k9hmNyc2nYabCo4uMSpDw4zrgDk", PUNCH_KEY_TYPE_ECDSA,
  };

  check_spec_vector (&v);
}

static void
test_spec_rsa (void)
{
  const SpecVector v = {
    SPEC_RSA_PRIVATE_KEY, SPEC_RSA_PUBLIC_KEY,
    "QmaeANgBs1DTSxWSrPPtobgQuxW8XTfsS4ydbK4rCHzqxG", PUNCH_KEY_TYPE_RSA,
  };

  check_spec_vector (&v);
}

static void
test_spec_secp256k1 (void)
{
  g_autoptr(PunchPublicKey) key = public_key_from_hex (SPEC_SECP256K1_PUBLIC_KEY);
  g_autoptr(GBytes) expected = hex_bytes (SPEC_SECP256K1_PUBLIC_KEY);
  g_autoptr(GBytes) encoding = punch_public_key_to_protobuf (key);
  g_autoptr(GBytes) private_key = hex_bytes (SPEC_SECP256K1_PRIVATE_KEY);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *peer_id = peer_id_string (punch_public_key_get_peer_id (key));

  g_assert_cmpint (punch_public_key_get_key_type (key), ==, PUNCH_KEY_TYPE_SECP256K1);
  g_assert_true (g_bytes_equal (encoding, expected));
  g_assert_cmpstr (peer_id, ==, "16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY");
  g_assert_null (punch_public_key_get_gnutls_pubkey (key));

  /* Verification is not available: GnuTLS has no secp256k1. */
  g_assert_false (punch_public_key_verify (key, (const guint8 *) "x", 1,
                                           (const guint8 *) "sig", 3, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  /* The private key is recognised as valid but cannot be used. */
  assert_keypair_error (private_key, PUNCH_ERROR_UNSUPPORTED);
}

static void
test_secp256k1_uncompressed (void)
{
  g_autoptr(GBytes) protobuf = key_protobuf_hex (PUNCH_KEY_TYPE_SECP256K1,
                                                 SECP256K1_UNCOMPRESSED_POINT);
  g_autoptr(GBytes) expected = hex_bytes (SPEC_SECP256K1_PUBLIC_KEY);
  g_autoptr(GBytes) encoding = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchPublicKey) key = punch_public_key_new_from_protobuf (protobuf, &error);
  g_autoptr(PunchPublicKey) compressed = public_key_from_hex (SPEC_SECP256K1_PUBLIC_KEY);

  g_assert_no_error (error);
  /* Encoded, and identified, in compressed form. */
  encoding = punch_public_key_to_protobuf (key);
  g_assert_true (g_bytes_equal (encoding, expected));
  g_assert_true (punch_public_key_equal (key, compressed));
  g_assert_true (punch_peer_id_equal (punch_public_key_get_peer_id (key),
                                      punch_public_key_get_peer_id (compressed)));
}

static void
test_ed25519_legacy_form (void)
{
  g_autoptr(GBytes) spec = hex_bytes (SPEC_ED25519_PRIVATE_KEY);
  g_autoptr(GBytes) data = protobuf_data (spec);
  g_autoptr(GByteArray) legacy = g_byte_array_new ();
  g_autoptr(GBytes) protobuf = NULL;
  g_autoptr(GBytes) encoding = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = NULL;
  g_autofree gchar *peer_id = NULL;
  const guint8 *buf;
  gsize len;

  /* [private key][public key][public key] */
  buf = g_bytes_get_data (data, &len);
  g_assert_cmpuint (len, ==, 64);
  g_byte_array_append (legacy, buf, 64);
  g_byte_array_append (legacy, buf + 32, 32);

  protobuf = key_protobuf (PUNCH_KEY_TYPE_ED25519, legacy->data, legacy->len);
  keypair = punch_keypair_new_from_protobuf (protobuf, &error);
  g_assert_no_error (error);
  peer_id = peer_id_string (punch_keypair_get_peer_id (keypair));
  g_assert_cmpstr (peer_id, ==, "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq");

  /* Re-encoded in the preferred 64-byte form. */
  encoding = punch_keypair_to_protobuf (keypair);
  g_assert_true (g_bytes_equal (encoding, spec));

  /* The two public keys must be identical. */
  legacy->data[95] ^= 0x01;
  g_clear_pointer (&protobuf, g_bytes_unref);
  protobuf = key_protobuf (PUNCH_KEY_TYPE_ED25519, legacy->data, legacy->len);
  assert_keypair_error (protobuf, PUNCH_ERROR_MALFORMED);
}

/* tls.md's SignedKeys: peer ids and known signatures. */
static void
test_tls_signed_keys (void)
{
  g_autoptr(GBytes) spki = hex_bytes (TLS_CERT_SPKI);
  g_autoptr(GByteArray) message = g_byte_array_new ();

  g_byte_array_append (message, (const guint8 *) TLS_SIGNATURE_PREFIX,
                       strlen (TLS_SIGNATURE_PREFIX));
  g_byte_array_append (message, g_bytes_get_data (spki, NULL), g_bytes_get_size (spki));

  for (gsize i = 0; i < G_N_ELEMENTS (tls_vectors); i++)
    {
      g_autoptr(PunchPublicKey) key = public_key_from_hex (tls_vectors[i].public_key);
      g_autoptr(GBytes) signature = hex_bytes (tls_vectors[i].signature);
      g_autoptr(GError) error = NULL;
      g_autofree gchar *peer_id = peer_id_string (punch_public_key_get_peer_id (key));
      gboolean ok;

      g_test_message ("tls.md vector %s", tls_vectors[i].name);
      g_assert_cmpint (punch_public_key_get_key_type (key), ==, tls_vectors[i].key_type);
      g_assert_cmpstr (peer_id, ==, tls_vectors[i].peer_id);

      ok = punch_public_key_verify (key, message->data, message->len,
                                    g_bytes_get_data (signature, NULL),
                                    g_bytes_get_size (signature), &error);
      if (tls_vectors[i].verify_error < 0)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
        }
      else
        {
          g_assert_false (ok);
          g_assert_error (error, PUNCH_ERROR, tls_vectors[i].verify_error);
        }
    }
}

static void
test_tls_signature_tampered (void)
{
  g_autoptr(GBytes) spki = hex_bytes (TLS_CERT_SPKI);
  g_autoptr(GByteArray) message = g_byte_array_new ();

  g_byte_array_append (message, (const guint8 *) TLS_SIGNATURE_PREFIX,
                       strlen (TLS_SIGNATURE_PREFIX));
  g_byte_array_append (message, g_bytes_get_data (spki, NULL), g_bytes_get_size (spki));

  /* Ed25519 and ECDSA vectors: change the message or the signature. */
  for (gsize i = 0; i < 2; i++)
    {
      g_autoptr(PunchPublicKey) key = public_key_from_hex (tls_vectors[i].public_key);
      g_autoptr(GBytes) signature_bytes = hex_bytes (tls_vectors[i].signature);
      g_autofree guint8 *signature = g_memdup2 (g_bytes_get_data (signature_bytes, NULL),
                                                g_bytes_get_size (signature_bytes));
      gsize signature_len = g_bytes_get_size (signature_bytes);
      g_autoptr(GError) error = NULL;

      message->data[message->len - 1] ^= 0x01;
      g_assert_false (punch_public_key_verify (key, message->data, message->len,
                                               signature, signature_len, &error));
      g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_BAD_SIGNATURE);
      g_clear_error (&error);
      message->data[message->len - 1] ^= 0x01;

      signature[signature_len - 2] ^= 0x10;
      g_assert_false (punch_public_key_verify (key, message->data, message->len,
                                               signature, signature_len, &error));
      g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_BAD_SIGNATURE);
      g_clear_error (&error);
      signature[signature_len - 2] ^= 0x10;

      /* Truncated and empty signatures. */
      g_assert_false (punch_public_key_verify (key, message->data, message->len,
                                               signature, signature_len - 1, &error));
      g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_BAD_SIGNATURE);
      g_clear_error (&error);
      g_assert_false (punch_public_key_verify (key, message->data, message->len,
                                               NULL, 0, &error));
      g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_BAD_SIGNATURE);
      g_clear_error (&error);

      /* Untouched, it still verifies. */
      g_assert_true (punch_public_key_verify (key, message->data, message->len,
                                              signature, signature_len, &error));
      g_assert_no_error (error);
    }
}

/* Generated keys: sign, verify, encode, decode. */

static void
test_sign_verify (gconstpointer user_data)
{
  PunchKeyType key_type = GPOINTER_TO_INT (user_data);
  static const guint8 message[] = "libp2p-tls-handshake:a certificate key";
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = NULL;
  g_autoptr(PunchKeypair) other = NULL;
  g_autoptr(PunchKeypair) reloaded = NULL;
  g_autoptr(PunchPublicKey) public_copy = NULL;
  g_autoptr(GBytes) signature = NULL;
  g_autoptr(GBytes) other_signature = NULL;
  g_autoptr(GBytes) empty_signature = NULL;
  g_autoptr(GBytes) private_encoding = NULL;
  g_autoptr(GBytes) private_encoding_again = NULL;
  g_autoptr(GBytes) public_encoding = NULL;
  g_autoptr(GBytes) signature_again = NULL;
  PunchPublicKey *public_key;
  g_autofree guint8 *tampered = NULL;
  gsize len;

  keypair = punch_keypair_generate (key_type, &error);
  g_assert_no_error (error);
  g_assert_nonnull (keypair);
  g_assert_cmpint (punch_keypair_get_key_type (keypair), ==, key_type);
  g_assert_nonnull (punch_keypair_get_gnutls_privkey (keypair));
  public_key = punch_keypair_get_public_key (keypair);
  g_assert_nonnull (punch_public_key_get_gnutls_pubkey (public_key));
  g_assert_true (punch_peer_id_matches_public_key (punch_keypair_get_peer_id (keypair),
                                                   public_key));

  signature = punch_keypair_sign (keypair, message, sizeof message, &error);
  g_assert_no_error (error);
  g_assert_nonnull (signature);
  if (key_type == PUNCH_KEY_TYPE_ED25519)
    g_assert_cmpuint (g_bytes_get_size (signature), ==, 64);
  if (key_type == PUNCH_KEY_TYPE_RSA)
    g_assert_cmpuint (g_bytes_get_size (signature), ==, 256);

  g_assert_true (punch_public_key_verify (public_key, message, sizeof message,
                                          g_bytes_get_data (signature, NULL),
                                          g_bytes_get_size (signature), &error));
  g_assert_no_error (error);

  /* Another message. */
  g_assert_false (punch_public_key_verify (public_key, message, sizeof message - 1,
                                           g_bytes_get_data (signature, NULL),
                                           g_bytes_get_size (signature), &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);

  /* A flipped bit. */
  tampered = g_bytes_unref_to_data (g_bytes_ref (signature), &len);
  tampered[len / 2] ^= 0x04;
  g_assert_false (punch_public_key_verify (public_key, message, sizeof message,
                                           tampered, len, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);

  /* Another key of the same type. */
  other = punch_keypair_generate (key_type, &error);
  g_assert_no_error (error);
  g_assert_false (punch_public_key_equal (punch_keypair_get_public_key (other), public_key));
  g_assert_false (punch_peer_id_equal (punch_keypair_get_peer_id (other),
                                       punch_keypair_get_peer_id (keypair)));
  other_signature = punch_keypair_sign (other, message, sizeof message, &error);
  g_assert_no_error (error);
  g_assert_false (punch_public_key_verify (public_key, message, sizeof message,
                                           g_bytes_get_data (other_signature, NULL),
                                           g_bytes_get_size (other_signature), &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);

  /* Empty data can be signed. */
  empty_signature = punch_keypair_sign (keypair, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_true (punch_public_key_verify (public_key, NULL, 0,
                                          g_bytes_get_data (empty_signature, NULL),
                                          g_bytes_get_size (empty_signature), &error));
  g_assert_no_error (error);

  /* The encodings round-trip. */
  private_encoding = punch_keypair_to_protobuf (keypair);
  if (key_type == PUNCH_KEY_TYPE_ED25519)
    {
      const guint8 *p = g_bytes_get_data (private_encoding, &len);

      g_assert_cmpuint (len, ==, 68);
      g_assert_cmpmem (p, 4, "\x08\x01\x12\x40", 4);
    }
  reloaded = punch_keypair_new_from_protobuf (private_encoding, &error);
  g_assert_no_error (error);
  g_assert_true (punch_public_key_equal (punch_keypair_get_public_key (reloaded), public_key));
  private_encoding_again = punch_keypair_to_protobuf (reloaded);
  g_assert_true (g_bytes_equal (private_encoding, private_encoding_again));

  public_encoding = punch_public_key_to_protobuf (public_key);
  public_copy = punch_public_key_new_from_protobuf (public_encoding, &error);
  g_assert_no_error (error);
  g_assert_true (punch_public_key_equal (public_copy, public_key));
  g_assert_true (punch_peer_id_equal (punch_public_key_get_peer_id (public_copy),
                                      punch_keypair_get_peer_id (keypair)));

  signature_again = punch_keypair_sign (reloaded, message, sizeof message, &error);
  g_assert_no_error (error);
  g_assert_true (punch_public_key_verify (public_copy, message, sizeof message,
                                          g_bytes_get_data (signature_again, NULL),
                                          g_bytes_get_size (signature_again), &error));
  g_assert_no_error (error);

  /* Peer ids: inline for Ed25519, hashed for the others. */
  {
    g_autofree gchar *text = peer_id_string (punch_keypair_get_peer_id (keypair));
    g_autoptr(PunchPublicKey) inlined =
      punch_peer_id_get_public_key (punch_keypair_get_peer_id (keypair));

    if (key_type == PUNCH_KEY_TYPE_ED25519)
      {
        g_assert_true (g_str_has_prefix (text, "12D3KooW"));
        g_assert_nonnull (inlined);
        g_assert_true (punch_public_key_equal (inlined, public_key));
      }
    else
      {
        g_assert_true (g_str_has_prefix (text, "Qm"));
        g_assert_null (inlined);
      }
  }
}

static void
test_spec_keys_sign (void)
{
  const gchar *keys[] = {
    SPEC_ED25519_PRIVATE_KEY, SPEC_ECDSA_PRIVATE_KEY, SPEC_RSA_PRIVATE_KEY,
  };

  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autoptr(PunchKeypair) keypair = keypair_from_hex (keys[i]);
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) signature = punch_keypair_sign (keypair, (const guint8 *) "hello", 5,
                                                        &error);

      g_assert_no_error (error);
      g_assert_true (punch_public_key_verify (punch_keypair_get_public_key (keypair),
                                              (const guint8 *) "hello", 5,
                                              g_bytes_get_data (signature, NULL),
                                              g_bytes_get_size (signature), &error));
      g_assert_no_error (error);
    }
}

static void
test_ed25519_deterministic_signature (void)
{
  /* Ed25519 signatures are deterministic (RFC 8032): the spec key signs
   * the same message the same way twice. */
  g_autoptr(PunchKeypair) keypair = keypair_from_hex (SPEC_ED25519_PRIVATE_KEY);
  g_autoptr(GBytes) a = punch_keypair_sign (keypair, (const guint8 *) "punch", 5, NULL);
  g_autoptr(GBytes) b = punch_keypair_sign (keypair, (const guint8 *) "punch", 5, NULL);

  g_assert_nonnull (a);
  g_assert_true (g_bytes_equal (a, b));
}

static void
test_generate_secp256k1 (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = punch_keypair_generate (PUNCH_KEY_TYPE_SECP256K1, &error);

  g_assert_null (keypair);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED);
}

static void
test_key_type_enum (void)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (PUNCH_TYPE_KEY_TYPE);

  g_assert_cmpint (PUNCH_KEY_TYPE_RSA, ==, 0);
  g_assert_cmpint (PUNCH_KEY_TYPE_ED25519, ==, 1);
  g_assert_cmpint (PUNCH_KEY_TYPE_SECP256K1, ==, 2);
  g_assert_cmpint (PUNCH_KEY_TYPE_ECDSA, ==, 3);
  g_assert_cmpstr (g_enum_get_value (klass, PUNCH_KEY_TYPE_ED25519)->value_nick, ==, "ed25519");
  g_assert_cmpstr (g_enum_get_value (klass, PUNCH_KEY_TYPE_SECP256K1)->value_nick, ==,
                   "secp256k1");
}

/* Malformed public keys */

static void
test_public_malformed_protobuf (void)
{
  g_autoptr(GBytes) spec = hex_bytes (SPEC_ED25519_PUBLIC_KEY);
  g_autoptr(GBytes) truncated = g_bytes_new_from_bytes (spec, 0, g_bytes_get_size (spec) - 1);
  g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);
  g_autoptr(GBytes) type_only = hex_bytes ("0801");
  g_autoptr(GBytes) data_only = hex_bytes ("1220" "1ed1e8fae2c4a144b8be8fd4b47bf3d3"
                                           "b34b871c3cacf6010f0e42d474fce27e");
  g_autoptr(GBytes) bad_wire = hex_bytes ("0f01");
  guint8 big[PUNCH_PUBLIC_KEY_MAX_LEN + 1] = { 0 };
  g_autoptr(GBytes) oversized = g_bytes_new (big, sizeof big);

  assert_public_key_error (truncated, PUNCH_ERROR_MALFORMED);
  assert_public_key_error (empty, PUNCH_ERROR_MALFORMED);
  assert_public_key_error (type_only, PUNCH_ERROR_MALFORMED);
  assert_public_key_error (data_only, PUNCH_ERROR_MALFORMED);
  assert_public_key_error (bad_wire, PUNCH_ERROR_MALFORMED);
  assert_public_key_error (oversized, PUNCH_ERROR_TOO_LARGE);
}

static void
test_public_unknown_type (void)
{
  g_autoptr(GBytes) type4 = key_protobuf_hex (4, "1ed1e8fae2c4a144b8be8fd4b47bf3d3"
                                                 "b34b871c3cacf6010f0e42d474fce27e");
  g_autoptr(GBytes) type_big = key_protobuf_hex (0x7fffffff, "00");

  assert_public_key_error (type4, PUNCH_ERROR_UNSUPPORTED);
  assert_public_key_error (type_big, PUNCH_ERROR_UNSUPPORTED);
}

static void
test_public_ed25519_length (void)
{
  g_autoptr(GBytes) short_key = key_protobuf_hex (PUNCH_KEY_TYPE_ED25519,
                                                  "1ed1e8fae2c4a144b8be8fd4b47bf3d3"
                                                  "b34b871c3cacf6010f0e42d474fce2");
  g_autoptr(GBytes) long_key = key_protobuf_hex (PUNCH_KEY_TYPE_ED25519,
                                                 "1ed1e8fae2c4a144b8be8fd4b47bf3d3"
                                                 "b34b871c3cacf6010f0e42d474fce27e00");
  g_autoptr(GBytes) empty_key = key_protobuf (PUNCH_KEY_TYPE_ED25519, NULL, 0);

  assert_public_key_error (short_key, PUNCH_ERROR_MALFORMED);
  assert_public_key_error (long_key, PUNCH_ERROR_MALFORMED);
  assert_public_key_error (empty_key, PUNCH_ERROR_MALFORMED);
}

static void
test_public_bad_der (void)
{
  g_autoptr(GBytes) ecdsa_spec = hex_bytes (SPEC_ECDSA_PUBLIC_KEY);
  g_autoptr(GBytes) ecdsa_der = protobuf_data (ecdsa_spec);
  g_autoptr(GBytes) rsa_spec = hex_bytes (SPEC_RSA_PUBLIC_KEY);
  g_autoptr(GBytes) rsa_der = protobuf_data (rsa_spec);
  g_autoptr(GBytes) rsa_garbage = key_protobuf_hex (PUNCH_KEY_TYPE_RSA, "3003020100");
  g_autoptr(GBytes) ecdsa_garbage = key_protobuf_hex (PUNCH_KEY_TYPE_ECDSA, "deadbeef");
  g_autoptr(GBytes) rsa_empty = key_protobuf (PUNCH_KEY_TYPE_RSA, NULL, 0);
  g_autoptr(GBytes) rsa_holding_ecdsa = NULL;
  g_autoptr(GBytes) ecdsa_holding_rsa = NULL;
  g_autoptr(GBytes) ecdsa_truncated = NULL;
  gsize len;
  const guint8 *der;

  assert_public_key_error (rsa_garbage, PUNCH_ERROR_MALFORMED);
  assert_public_key_error (ecdsa_garbage, PUNCH_ERROR_MALFORMED);
  assert_public_key_error (rsa_empty, PUNCH_ERROR_MALFORMED);

  /* A key of one algorithm in the other's type. */
  der = g_bytes_get_data (ecdsa_der, &len);
  rsa_holding_ecdsa = key_protobuf (PUNCH_KEY_TYPE_RSA, der, len);
  assert_public_key_error (rsa_holding_ecdsa, PUNCH_ERROR_MALFORMED);
  ecdsa_truncated = key_protobuf (PUNCH_KEY_TYPE_ECDSA, der, len - 1);
  assert_public_key_error (ecdsa_truncated, PUNCH_ERROR_MALFORMED);

  der = g_bytes_get_data (rsa_der, &len);
  ecdsa_holding_rsa = key_protobuf (PUNCH_KEY_TYPE_ECDSA, der, len);
  assert_public_key_error (ecdsa_holding_rsa, PUNCH_ERROR_MALFORMED);
}

static void
test_public_rsa_size (void)
{
  g_autoptr(GBytes) small_spki = rsa_spki_of_size (128);    /* 1024 bits */
  g_autoptr(GBytes) large_spki = rsa_spki_of_size (1025);   /* 8200 bits */
  g_autoptr(GBytes) ok_spki = rsa_spki_of_size (256);       /* 2048 bits */
  g_autoptr(GBytes) small = key_protobuf (PUNCH_KEY_TYPE_RSA,
                                          g_bytes_get_data (small_spki, NULL),
                                          g_bytes_get_size (small_spki));
  g_autoptr(GBytes) large = key_protobuf (PUNCH_KEY_TYPE_RSA,
                                          g_bytes_get_data (large_spki, NULL),
                                          g_bytes_get_size (large_spki));
  g_autoptr(GBytes) ok = key_protobuf (PUNCH_KEY_TYPE_RSA,
                                       g_bytes_get_data (ok_spki, NULL),
                                       g_bytes_get_size (ok_spki));
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchPublicKey) key = NULL;
  g_autoptr(GBytes) encoding = NULL;

  assert_public_key_error (small, PUNCH_ERROR_UNSUPPORTED);
  assert_public_key_error (large, PUNCH_ERROR_TOO_LARGE);

  /* The hand-made DER is canonical: it is kept as it is. */
  key = punch_public_key_new_from_protobuf (ok, &error);
  g_assert_no_error (error);
  encoding = punch_public_key_to_protobuf (key);
  g_assert_true (g_bytes_equal (encoding, ok));
}

static void
test_public_secp256k1_malformed (void)
{
  g_autoptr(GBytes) bad_prefix = key_protobuf_hex (PUNCH_KEY_TYPE_SECP256K1,
    "057777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99");
  g_autoptr(GBytes) no_prefix = key_protobuf_hex (PUNCH_KEY_TYPE_SECP256K1,
    "7777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99");
  g_autoptr(GBytes) x_too_big = key_protobuf_hex (PUNCH_KEY_TYPE_SECP256K1,
    "02fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f");
  g_autoptr(GBytes) uncompressed_bad_prefix = NULL;
  g_autoptr(GBytes) uncompressed_y_too_big = NULL;
  g_autofree gchar *hex = NULL;

  assert_public_key_error (bad_prefix, PUNCH_ERROR_MALFORMED);
  assert_public_key_error (no_prefix, PUNCH_ERROR_MALFORMED);
  assert_public_key_error (x_too_big, PUNCH_ERROR_MALFORMED);

  hex = g_strdup (SECP256K1_UNCOMPRESSED_POINT);
  hex[1] = '2';   /* 0x02 prefix with 65 bytes */
  uncompressed_bad_prefix = key_protobuf_hex (PUNCH_KEY_TYPE_SECP256K1, hex);
  assert_public_key_error (uncompressed_bad_prefix, PUNCH_ERROR_MALFORMED);

  hex[1] = '4';
  memset (hex + 66, 'f', 64);
  uncompressed_y_too_big = key_protobuf_hex (PUNCH_KEY_TYPE_SECP256K1, hex);
  assert_public_key_error (uncompressed_y_too_big, PUNCH_ERROR_MALFORMED);
}

/* Malformed private keys */

static void
test_private_malformed_protobuf (void)
{
  g_autoptr(GBytes) spec = hex_bytes (SPEC_ED25519_PRIVATE_KEY);
  g_autoptr(GBytes) truncated = g_bytes_new_from_bytes (spec, 0, g_bytes_get_size (spec) - 1);
  g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);
  g_autoptr(GBytes) type_only = hex_bytes ("0801");
  guint8 *big = g_malloc0 (PUNCH_PRIVATE_KEY_MAX_LEN + 1);
  g_autoptr(GBytes) oversized = g_bytes_new_take (big, PUNCH_PRIVATE_KEY_MAX_LEN + 1);
  g_autoptr(GBytes) type5 = key_protobuf_hex (5, "00");

  assert_keypair_error (truncated, PUNCH_ERROR_MALFORMED);
  assert_keypair_error (empty, PUNCH_ERROR_MALFORMED);
  assert_keypair_error (type_only, PUNCH_ERROR_MALFORMED);
  assert_keypair_error (oversized, PUNCH_ERROR_TOO_LARGE);
  assert_keypair_error (type5, PUNCH_ERROR_UNSUPPORTED);
}

static void
test_private_ed25519_malformed (void)
{
  g_autoptr(GBytes) spec = hex_bytes (SPEC_ED25519_PRIVATE_KEY);
  g_autoptr(GBytes) data = protobuf_data (spec);
  g_autofree guint8 *buf = g_memdup2 (g_bytes_get_data (data, NULL), 64);
  g_autoptr(GBytes) short_key = key_protobuf (PUNCH_KEY_TYPE_ED25519, buf, 63);
  g_autoptr(GBytes) seed_only = key_protobuf (PUNCH_KEY_TYPE_ED25519, buf, 32);
  g_autoptr(GBytes) mismatched = NULL;
  g_autoptr(GBytes) other_public = NULL;
  g_autoptr(GBytes) tls_public = hex_bytes (tls_vectors[0].public_key);
  g_autoptr(GBytes) tls_public_data = protobuf_data (tls_public);

  assert_keypair_error (short_key, PUNCH_ERROR_MALFORMED);
  assert_keypair_error (seed_only, PUNCH_ERROR_MALFORMED);

  /* The public half does not belong to the private half. */
  buf[40] ^= 0x01;
  mismatched = key_protobuf (PUNCH_KEY_TYPE_ED25519, buf, 64);
  assert_keypair_error (mismatched, PUNCH_ERROR_MALFORMED);

  /* Another valid Ed25519 public key as the public half. */
  memcpy (buf + 32, g_bytes_get_data (tls_public_data, NULL), 32);
  other_public = key_protobuf (PUNCH_KEY_TYPE_ED25519, buf, 64);
  assert_keypair_error (other_public, PUNCH_ERROR_MALFORMED);
}

static void
test_private_der_malformed (void)
{
  g_autoptr(GBytes) ecdsa_spec = hex_bytes (SPEC_ECDSA_PRIVATE_KEY);
  g_autoptr(GBytes) ecdsa_der = protobuf_data (ecdsa_spec);
  g_autoptr(GBytes) rsa_spec = hex_bytes (SPEC_RSA_PRIVATE_KEY);
  g_autoptr(GBytes) rsa_der = protobuf_data (rsa_spec);
  g_autoptr(GBytes) rsa_garbage = key_protobuf_hex (PUNCH_KEY_TYPE_RSA, "3003020100");
  g_autoptr(GBytes) ecdsa_garbage = key_protobuf_hex (PUNCH_KEY_TYPE_ECDSA, "0102030405");
  g_autoptr(GBytes) ecdsa_empty = key_protobuf (PUNCH_KEY_TYPE_ECDSA, NULL, 0);
  g_autoptr(GBytes) rsa_holding_ecdsa = NULL;
  g_autoptr(GBytes) ecdsa_holding_rsa = NULL;
  g_autoptr(GBytes) ecdsa_truncated = NULL;
  g_autoptr(GBytes) ecdsa_wrong_public = NULL;
  g_autofree guint8 *buf = NULL;
  gsize len;

  assert_keypair_error (rsa_garbage, PUNCH_ERROR_MALFORMED);
  assert_keypair_error (ecdsa_garbage, PUNCH_ERROR_MALFORMED);
  assert_keypair_error (ecdsa_empty, PUNCH_ERROR_MALFORMED);

  rsa_holding_ecdsa = key_protobuf (PUNCH_KEY_TYPE_RSA, g_bytes_get_data (ecdsa_der, NULL),
                                    g_bytes_get_size (ecdsa_der));
  assert_keypair_error (rsa_holding_ecdsa, PUNCH_ERROR_MALFORMED);
  ecdsa_holding_rsa = key_protobuf (PUNCH_KEY_TYPE_ECDSA, g_bytes_get_data (rsa_der, NULL),
                                    g_bytes_get_size (rsa_der));
  assert_keypair_error (ecdsa_holding_rsa, PUNCH_ERROR_MALFORMED);

  buf = g_bytes_unref_to_data (g_bytes_ref (ecdsa_der), &len);
  ecdsa_truncated = key_protobuf (PUNCH_KEY_TYPE_ECDSA, buf, len - 1);
  assert_keypair_error (ecdsa_truncated, PUNCH_ERROR_MALFORMED);

  /* The SEC 1 key carries its public point last: one that is not the
   * private scalar's. */
  buf[len - 1] ^= 0x01;
  ecdsa_wrong_public = key_protobuf (PUNCH_KEY_TYPE_ECDSA, buf, len);
  assert_keypair_error (ecdsa_wrong_public, PUNCH_ERROR_MALFORMED);
}

static void
test_private_secp256k1_malformed (void)
{
  g_autoptr(GBytes) zero = key_protobuf_hex (PUNCH_KEY_TYPE_SECP256K1,
    "0000000000000000000000000000000000000000000000000000000000000000");
  g_autoptr(GBytes) order = key_protobuf_hex (PUNCH_KEY_TYPE_SECP256K1,
    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
  g_autoptr(GBytes) short_key = key_protobuf_hex (PUNCH_KEY_TYPE_SECP256K1,
    "53dadf1d5a164d6b4acdb15e24aa4c5b1d3461bdbd42abedb0a4404d56ced8");

  assert_keypair_error (zero, PUNCH_ERROR_MALFORMED);
  assert_keypair_error (order, PUNCH_ERROR_MALFORMED);
  assert_keypair_error (short_key, PUNCH_ERROR_MALFORMED);
}

/* Key files */

typedef struct {
  gchar *dir;
  gchar *path;
} FileFixture;

static void
file_setup (FileFixture   *fixture,
            gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("punch-test-keys-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->path = g_build_filename (fixture->dir, "host.key", NULL);
}

static void
file_teardown (FileFixture   *fixture,
               gconstpointer  user_data)
{
  g_autoptr(GDir) dir = g_dir_open (fixture->dir, 0, NULL);
  const gchar *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (fixture->dir, name, NULL);

      if (g_remove (path) != 0)
        g_rmdir (path);
    }
  g_rmdir (fixture->dir);
  g_free (fixture->dir);
  g_free (fixture->path);
}

static void
write_file (const gchar  *path,
            const guint8 *data,
            gsize         len,
            int           mode)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents_full (path, (const gchar *) data, (gssize) len,
                            G_FILE_SET_CONTENTS_NONE, mode, &error);
  g_assert_no_error (error);
  /* The umask may have removed bits. */
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
}

static void
assert_load_error (const gchar *path,
                   const gchar *message_part)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = punch_keypair_load (path, &error);

  g_test_message ("load: %s", error != NULL ? error->message : "(no error)");
  g_assert_null (keypair);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_KEY_FILE);
  if (message_part != NULL)
    g_assert_nonnull (strstr (error->message, message_part));
}

static void
test_file_roundtrip (FileFixture   *fixture,
                     gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);
  g_autoptr(PunchKeypair) loaded = NULL;
  g_autoptr(GBytes) a = NULL;
  g_autoptr(GBytes) b = NULL;
  g_autofree gchar *contents = NULL;
  gsize len;
  GStatBuf st;

  g_assert_no_error (error);
  g_assert_true (punch_keypair_save (keypair, fixture->path, &error));
  g_assert_no_error (error);

  g_assert_cmpint (g_stat (fixture->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);

  /* The file is the PrivateKey protobuf. */
  a = punch_keypair_to_protobuf (keypair);
  g_assert_true (g_file_get_contents (fixture->path, &contents, &len, NULL));
  g_assert_cmpmem (contents, len, g_bytes_get_data (a, NULL), g_bytes_get_size (a));

  loaded = punch_keypair_load (fixture->path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (loaded);
  b = punch_keypair_to_protobuf (loaded);
  g_assert_true (g_bytes_equal (a, b));
  g_assert_true (punch_peer_id_equal (punch_keypair_get_peer_id (loaded),
                                      punch_keypair_get_peer_id (keypair)));
}

static void
test_file_spec_key (FileFixture   *fixture,
                    gconstpointer  user_data)
{
  /* A key file as go-libp2p writes it. */
  g_autoptr(GBytes) spec = hex_bytes (SPEC_ED25519_PRIVATE_KEY);
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = NULL;
  g_autofree gchar *peer_id = NULL;

  write_file (fixture->path, g_bytes_get_data (spec, NULL), g_bytes_get_size (spec), 0600);
  keypair = punch_keypair_load (fixture->path, &error);
  g_assert_no_error (error);
  peer_id = peer_id_string (punch_keypair_get_peer_id (keypair));
  g_assert_cmpstr (peer_id, ==, "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq");
}

static void
test_file_save_replaces_open_file (FileFixture   *fixture,
                                   gconstpointer  user_data)
{
  g_autoptr(PunchKeypair) keypair = keypair_from_hex (SPEC_ED25519_PRIVATE_KEY);
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  write_file (fixture->path, (const guint8 *) "old", 3, 0644);
  g_assert_true (punch_keypair_save (keypair, fixture->path, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (fixture->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
}

static void
test_file_too_open (FileFixture   *fixture,
                    gconstpointer  user_data)
{
  g_autoptr(PunchKeypair) keypair = keypair_from_hex (SPEC_ED25519_PRIVATE_KEY);
  g_autoptr(GError) error = NULL;
  const int modes[] = { 0644, 0640, 0604, 0660, 0620, 0601 };

  g_assert_true (punch_keypair_save (keypair, fixture->path, &error));
  g_assert_no_error (error);

  for (gsize i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_assert_cmpint (g_chmod (fixture->path, modes[i]), ==, 0);
      assert_load_error (fixture->path, "group or others");
    }

  /* Owner-only modes are fine. */
  g_assert_cmpint (g_chmod (fixture->path, 0400), ==, 0);
  {
    g_autoptr(PunchKeypair) loaded = punch_keypair_load (fixture->path, &error);

    g_assert_no_error (error);
    g_assert_nonnull (loaded);
  }
}

static void
test_file_bad_contents (FileFixture   *fixture,
                        gconstpointer  user_data)
{
  g_autofree guint8 *big = g_malloc0 (PUNCH_PRIVATE_KEY_MAX_LEN + 100);
  g_autoptr(GBytes) wrong_key = hex_bytes ("0801124001");
  g_autoptr(GBytes) public_key = hex_bytes (SPEC_ED25519_PUBLIC_KEY);
  g_autofree gchar *missing = g_build_filename (fixture->dir, "missing.key", NULL);

  assert_load_error (missing, "Cannot open");
  assert_load_error (fixture->dir, "not a regular file");

  write_file (fixture->path, (const guint8 *) "", 0, 0600);
  assert_load_error (fixture->path, "empty");

  write_file (fixture->path, (const guint8 *) "garbage\n", 8, 0600);
  assert_load_error (fixture->path, "no usable");

  write_file (fixture->path, g_bytes_get_data (wrong_key, NULL),
              g_bytes_get_size (wrong_key), 0600);
  assert_load_error (fixture->path, "no usable");

  /* A public key is no private key: its 32 bytes are too short. */
  write_file (fixture->path, g_bytes_get_data (public_key, NULL),
              g_bytes_get_size (public_key), 0600);
  assert_load_error (fixture->path, "no usable");

  write_file (fixture->path, big, PUNCH_PRIVATE_KEY_MAX_LEN + 100, 0600);
  assert_load_error (fixture->path, "exceeds");
}

static void
test_file_save_error (FileFixture   *fixture,
                      gconstpointer  user_data)
{
  g_autoptr(PunchKeypair) keypair = keypair_from_hex (SPEC_ED25519_PRIVATE_KEY);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *path = g_build_filename (fixture->dir, "no-such-dir", "host.key", NULL);

  g_assert_false (punch_keypair_save (keypair, path, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_KEY_FILE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/keys/spec/ed25519", test_spec_ed25519);
  g_test_add_func ("/keys/spec/ecdsa", test_spec_ecdsa);
  g_test_add_func ("/keys/spec/rsa", test_spec_rsa);
  g_test_add_func ("/keys/spec/secp256k1", test_spec_secp256k1);
  g_test_add_func ("/keys/spec/sign", test_spec_keys_sign);
  g_test_add_func ("/keys/secp256k1/uncompressed", test_secp256k1_uncompressed);
  g_test_add_func ("/keys/ed25519/legacy-form", test_ed25519_legacy_form);
  g_test_add_func ("/keys/ed25519/deterministic-signature", test_ed25519_deterministic_signature);
  g_test_add_func ("/keys/tls/signed-keys", test_tls_signed_keys);
  g_test_add_func ("/keys/tls/tampered", test_tls_signature_tampered);
  g_test_add_data_func ("/keys/sign-verify/ed25519",
                        GINT_TO_POINTER (PUNCH_KEY_TYPE_ED25519), test_sign_verify);
  g_test_add_data_func ("/keys/sign-verify/ecdsa",
                        GINT_TO_POINTER (PUNCH_KEY_TYPE_ECDSA), test_sign_verify);
  g_test_add_data_func ("/keys/sign-verify/rsa",
                        GINT_TO_POINTER (PUNCH_KEY_TYPE_RSA), test_sign_verify);
  g_test_add_func ("/keys/generate/secp256k1", test_generate_secp256k1);
  g_test_add_func ("/keys/key-type/enum", test_key_type_enum);
  g_test_add_func ("/keys/public/malformed/protobuf", test_public_malformed_protobuf);
  g_test_add_func ("/keys/public/malformed/unknown-type", test_public_unknown_type);
  g_test_add_func ("/keys/public/malformed/ed25519-length", test_public_ed25519_length);
  g_test_add_func ("/keys/public/malformed/der", test_public_bad_der);
  g_test_add_func ("/keys/public/malformed/rsa-size", test_public_rsa_size);
  g_test_add_func ("/keys/public/malformed/secp256k1", test_public_secp256k1_malformed);
  g_test_add_func ("/keys/private/malformed/protobuf", test_private_malformed_protobuf);
  g_test_add_func ("/keys/private/malformed/ed25519", test_private_ed25519_malformed);
  g_test_add_func ("/keys/private/malformed/der", test_private_der_malformed);
  g_test_add_func ("/keys/private/malformed/secp256k1", test_private_secp256k1_malformed);
  g_test_add ("/keys/file/roundtrip", FileFixture, NULL,
              file_setup, test_file_roundtrip, file_teardown);
  g_test_add ("/keys/file/spec-key", FileFixture, NULL,
              file_setup, test_file_spec_key, file_teardown);
  g_test_add ("/keys/file/save-replaces-open-file", FileFixture, NULL,
              file_setup, test_file_save_replaces_open_file, file_teardown);
  g_test_add ("/keys/file/too-open", FileFixture, NULL,
              file_setup, test_file_too_open, file_teardown);
  g_test_add ("/keys/file/bad-contents", FileFixture, NULL,
              file_setup, test_file_bad_contents, file_teardown);
  g_test_add ("/keys/file/save-error", FileFixture, NULL,
              file_setup, test_file_save_error, file_teardown);

  return g_test_run ();
}
