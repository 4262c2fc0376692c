/* punch-keypair.c: libp2p host key pairs (the PrivateKey protobuf).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-keypair.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gnutls/x509.h>

#include "keys.pb-c.h"
#include "punch-crypto-private.h"
#include "punch-error.h"
#include "punch-proto.h"

/**
 * PunchKeypair:
 *
 * A libp2p host key: a private key and its [class@Punch.PublicKey], whose
 * [struct@Punch.PeerId] is the identity of the host.
 *
 * Key pairs are stored in libp2p's `PrivateKey` protobuf (libp2p/specs
 * peer-ids/peer-ids.md), the format go-libp2p and js-libp2p keep on disk,
 * so their key files can be loaded:
 *
 * - Ed25519: the 32-byte private key followed by the 32-byte public key
 *   (the legacy 96-byte form, with the public key twice, is read too);
 * - RSA: the key in PKCS#1 DER;
 * - ECDSA: the key in SEC 1 (RFC 5915) DER, as go-libp2p writes it;
 * - secp256k1: the 32-byte private scalar. Punch recognises these keys but
 *   cannot use them: GnuTLS has no secp256k1 curve.
 *
 * Private key material is zeroed when the key pair is freed.
 *
 * Since: 0.1
 */
struct _PunchKeypair {
  GObject parent_instance;

  PunchKeyType key_type;
  gnutls_privkey_t privkey;
  GBytes *encoded;              /* the PrivateKey protobuf, zeroed on free */
  PunchPublicKey *public_key;
};

G_DEFINE_FINAL_TYPE (PunchKeypair, punch_keypair, G_TYPE_OBJECT)

static void
punch_keypair_finalize (GObject *object)
{
  PunchKeypair *self = PUNCH_KEYPAIR (object);

  /* GnuTLS zeroes the key material of its own objects. */
  g_clear_pointer (&self->privkey, gnutls_privkey_deinit);
  g_clear_pointer (&self->encoded, g_bytes_unref);
  g_clear_object (&self->public_key);

  G_OBJECT_CLASS (punch_keypair_parent_class)->finalize (object);
}

static void
punch_keypair_class_init (PunchKeypairClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = punch_keypair_finalize;
}

static void
punch_keypair_init (PunchKeypair *self)
{
}

/* Encodes @privkey's private key in the Data field of a PrivateKey. */
static gboolean
export_private_key (PunchKeyType       key_type,
                    gnutls_privkey_t   privkey,
                    gnutls_datum_t    *out,
                    GError           **error)
{
  int ret;

  if (key_type == PUNCH_KEY_TYPE_ED25519)
    {
      gnutls_datum_t x = { NULL, 0 }, k = { NULL, 0 };
      gnutls_ecc_curve_t curve;

      ret = gnutls_privkey_export_ecc_raw2 (privkey, &curve, &x, NULL, &k, 0);
      if (ret == 0 && (curve != GNUTLS_ECC_CURVE_ED25519 ||
                       x.size != PUNCH_ED25519_KEY_LEN ||
                       k.size != PUNCH_ED25519_KEY_LEN))
        ret = GNUTLS_E_ILLEGAL_PARAMETER;

      if (ret == 0)
        {
          /* [private key][public key] */
          out->size = 2 * PUNCH_ED25519_KEY_LEN;
          out->data = gnutls_malloc (out->size);
          if (out->data == NULL)
            ret = GNUTLS_E_MEMORY_ERROR;
          else
            {
              memcpy (out->data, k.data, PUNCH_ED25519_KEY_LEN);
              memcpy (out->data + PUNCH_ED25519_KEY_LEN, x.data, PUNCH_ED25519_KEY_LEN);
            }
        }

      punch_crypto_gnutls_datum_clear (&k);
      gnutls_free (x.data);
    }
  else
    {
      gnutls_x509_privkey_t x509 = NULL;

      /* PKCS#1 for RSA, SEC 1 ECPrivateKey for ECDSA. */
      ret = gnutls_privkey_export_x509 (privkey, &x509);
      if (ret == 0)
        ret = gnutls_x509_privkey_export2 (x509, GNUTLS_X509_FMT_DER, out);
      g_clear_pointer (&x509, gnutls_x509_privkey_deinit);
    }

  if (ret < 0)
    {
      punch_crypto_gnutls_datum_clear (out);
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_FAILED, ret,
                                     "Cannot encode %s private key",
                                     punch_key_type_to_string (key_type));
      return FALSE;
    }

  return TRUE;
}

/* Takes @privkey, also on error. */
static PunchKeypair *
keypair_new_take (PunchKeyType       key_type,
                  gnutls_privkey_t   privkey,
                  GError           **error)
{
  g_autoptr(PunchKeypair) self = NULL;
  Keys__Pb__PrivateKey message = KEYS__PB__PRIVATE_KEY__INIT;
  gnutls_datum_t data = { NULL, 0 };
  gnutls_pubkey_t pubkey = NULL;
  guint8 *packed;
  gsize packed_len;
  int ret;

  self = g_object_new (PUNCH_TYPE_KEYPAIR, NULL);
  self->key_type = key_type;
  self->privkey = privkey;

  ret = gnutls_pubkey_init (&pubkey);
  if (ret == 0)
    ret = gnutls_pubkey_import_privkey (pubkey, privkey, 0, 0);
  if (ret < 0)
    {
      g_clear_pointer (&pubkey, gnutls_pubkey_deinit);
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_MALFORMED, ret,
                                     "Cannot derive the public key of a %s private key",
                                     punch_key_type_to_string (key_type));
      return NULL;
    }

  self->public_key = punch_public_key_new_from_gnutls (key_type, pubkey, error);
  if (self->public_key == NULL)
    return NULL;

  if (!export_private_key (key_type, privkey, &data, error))
    return NULL;

  message.type = (Keys__Pb__KeyType) key_type;
  message.data.data = data.data;
  message.data.len = data.size;
  packed_len = keys__pb__private_key__get_packed_size (&message);
  packed = g_malloc (packed_len);
  keys__pb__private_key__pack (&message, packed);
  self->encoded = punch_crypto_secure_bytes_take (packed, packed_len);

  punch_crypto_gnutls_datum_clear (&data);

  return g_steal_pointer (&self);
}

/**
 * punch_keypair_generate:
 * @key_type: the type of key to make
 * @error: return location for a #GError
 *
 * Makes a new random key pair: an Ed25519 key (what Punch hosts use), an
 * ECDSA key on the P-256 curve or a 2048-bit RSA key.
 *
 * Errors: %PUNCH_ERROR_UNSUPPORTED for %PUNCH_KEY_TYPE_SECP256K1;
 * %PUNCH_ERROR_FAILED if GnuTLS cannot make the key.
 *
 * Returns: (transfer full): a new key pair, or %NULL on error
 *
 * Since: 0.1
 */
PunchKeypair *
punch_keypair_generate (PunchKeyType   key_type,
                        GError       **error)
{
  gnutls_privkey_t privkey = NULL;
  gnutls_pk_algorithm_t algorithm;
  unsigned int bits;
  int ret;

  g_return_val_if_fail (key_type >= PUNCH_KEY_TYPE_RSA &&
                        key_type <= PUNCH_KEY_TYPE_ECDSA, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  switch (key_type)
    {
    case PUNCH_KEY_TYPE_ED25519:
      algorithm = GNUTLS_PK_EDDSA_ED25519;
      bits = GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_ED25519);
      break;
    case PUNCH_KEY_TYPE_ECDSA:
      algorithm = GNUTLS_PK_ECDSA;
      bits = GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1);
      break;
    case PUNCH_KEY_TYPE_RSA:
      algorithm = GNUTLS_PK_RSA;
      bits = PUNCH_RSA_GENERATE_BITS;
      break;
    case PUNCH_KEY_TYPE_SECP256K1:
    default:
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                           "Cannot make secp256k1 keys: GnuTLS has no secp256k1 curve");
      return NULL;
    }

  ret = gnutls_privkey_init (&privkey);
  if (ret == 0)
    ret = gnutls_privkey_generate2 (privkey, algorithm, bits, 0, NULL, 0);
  if (ret < 0)
    {
      g_clear_pointer (&privkey, gnutls_privkey_deinit);
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_FAILED, ret,
                                     "Cannot generate a %s key",
                                     punch_key_type_to_string (key_type));
      return NULL;
    }

  return keypair_new_take (key_type, privkey, error);
}

static PunchKeypair *
keypair_new_ed25519 (const guint8  *data,
                     gsize          len,
                     GError       **error)
{
  gnutls_privkey_t privkey = NULL;
  gnutls_datum_t k, x;
  int ret;

  /* [private key][public key], or the legacy [private key][public key]
   * [public key] whose two public keys must be identical. */
  if (len != 2 * PUNCH_ED25519_KEY_LEN && len != 3 * PUNCH_ED25519_KEY_LEN)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "Ed25519 private key of %" G_GSIZE_FORMAT " bytes instead of "
                   "64 (or the legacy 96)", len);
      return NULL;
    }
  if (len == 3 * PUNCH_ED25519_KEY_LEN &&
      memcmp (data + PUNCH_ED25519_KEY_LEN, data + 2 * PUNCH_ED25519_KEY_LEN,
              PUNCH_ED25519_KEY_LEN) != 0)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Legacy 96-byte Ed25519 private key holds two "
                           "different public keys");
      return NULL;
    }

  k.data = (guint8 *) data;
  k.size = PUNCH_ED25519_KEY_LEN;
  x.data = (guint8 *) data + PUNCH_ED25519_KEY_LEN;
  x.size = PUNCH_ED25519_KEY_LEN;

  ret = gnutls_privkey_init (&privkey);
  if (ret < 0)
    {
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_FAILED, ret,
                                     "Cannot allocate a private key");
      return NULL;
    }

  ret = gnutls_privkey_import_ecc_raw (privkey, GNUTLS_ECC_CURVE_ED25519, &x, NULL, &k);
  if (ret < 0)
    {
      gnutls_privkey_deinit (privkey);
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_MALFORMED, ret,
                                     "Bad Ed25519 private key");
      return NULL;
    }

  /* GnuTLS keeps the public key it is given: check that it is the one of
   * the private key. */
  ret = gnutls_privkey_verify_params (privkey);
  if (ret < 0)
    {
      gnutls_privkey_deinit (privkey);
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Ed25519 private key holds a public key that does "
                           "not belong to it");
      return NULL;
    }

  return keypair_new_take (PUNCH_KEY_TYPE_ED25519, privkey, error);
}

static PunchKeypair *
keypair_new_x509 (PunchKeyType    key_type,
                  const guint8   *data,
                  gsize           len,
                  GError        **error)
{
  gnutls_x509_privkey_t x509 = NULL;
  gnutls_privkey_t privkey = NULL;
  gnutls_datum_t datum = { (guint8 *) data, (unsigned int) len };
  gnutls_pk_algorithm_t expected;
  int algorithm, ret;

  expected = key_type == PUNCH_KEY_TYPE_RSA ? GNUTLS_PK_RSA : GNUTLS_PK_ECDSA;

  if (len == 0)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "%s private key is empty", punch_key_type_to_string (key_type));
      return NULL;
    }

  ret = gnutls_x509_privkey_init (&x509);
  if (ret < 0)
    {
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_FAILED, ret,
                                     "Cannot allocate a private key");
      return NULL;
    }

  /* PKCS#1 RSAPrivateKey for RSA, SEC 1 ECPrivateKey for ECDSA. */
  ret = gnutls_x509_privkey_import (x509, &datum, GNUTLS_X509_FMT_DER);
  if (ret < 0)
    {
      gnutls_x509_privkey_deinit (x509);
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_MALFORMED, ret,
                                     "Bad %s private key",
                                     punch_key_type_to_string (key_type));
      return NULL;
    }

  algorithm = gnutls_x509_privkey_get_pk_algorithm2 (x509, NULL);
  if (algorithm != (int) expected)
    {
      gnutls_x509_privkey_deinit (x509);
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "%s private key holds a key of another algorithm (%s)",
                   punch_key_type_to_string (key_type),
                   algorithm > 0 && gnutls_pk_algorithm_get_name (algorithm) != NULL ?
                     gnutls_pk_algorithm_get_name (algorithm) : "unknown");
      return NULL;
    }

  /* Checks that the parts of the key agree (for ECDSA: that the public
   * point is the private scalar's). */
  ret = gnutls_x509_privkey_verify_params (x509);
  if (ret < 0)
    {
      gnutls_x509_privkey_deinit (x509);
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_MALFORMED, ret,
                                     "Inconsistent %s private key",
                                     punch_key_type_to_string (key_type));
      return NULL;
    }

  ret = gnutls_privkey_init (&privkey);
  if (ret == 0)
    ret = gnutls_privkey_import_x509 (privkey, x509, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE);
  if (ret < 0)
    {
      g_clear_pointer (&privkey, gnutls_privkey_deinit);
      gnutls_x509_privkey_deinit (x509);
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_FAILED, ret,
                                     "Cannot use %s private key",
                                     punch_key_type_to_string (key_type));
      return NULL;
    }

  return keypair_new_take (key_type, privkey, error);
}

/* The order n of secp256k1's group, big-endian. */
static const guint8 secp256k1_n[32] = {
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
  0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
  0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
};

static PunchKeypair *
keypair_new_secp256k1 (const guint8  *data,
                       gsize          len,
                       GError       **error)
{
  static const guint8 zero[PUNCH_SECP256K1_PRIVATE_LEN] = { 0 };

  if (len != PUNCH_SECP256K1_PRIVATE_LEN)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "Secp256k1 private key of %" G_GSIZE_FORMAT " bytes instead of %d",
                   len, PUNCH_SECP256K1_PRIVATE_LEN);
      return NULL;
    }
  if (memcmp (data, zero, len) == 0 || memcmp (data, secp256k1_n, len) >= 0)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Secp256k1 private key is out of range");
      return NULL;
    }

  g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                       "Cannot use secp256k1 private keys: GnuTLS has no "
                       "secp256k1 curve");
  return NULL;
}

/**
 * punch_keypair_new_from_protobuf:
 * @protobuf: a `PrivateKey` protobuf
 * @error: return location for a #GError
 *
 * Reads a key pair from libp2p's `PrivateKey` protobuf (the contents of a
 * go-libp2p or js-libp2p key file). The public key is derived from the
 * private key; where the encoding also carries the public key (Ed25519,
 * ECDSA), the two must match.
 *
 * Errors: %PUNCH_ERROR_TOO_LARGE if @protobuf is longer than 8192 bytes or
 * holds an RSA key above 8192 bits; %PUNCH_ERROR_MALFORMED if it is not a
 * `PrivateKey` message, its data is not a key of its type, or its public
 * and private parts do not match; %PUNCH_ERROR_UNSUPPORTED for an unknown
 * key type, a secp256k1 key, or an RSA key below 2048 bits.
 *
 * Returns: (transfer full): a new key pair, or %NULL on error
 *
 * Since: 0.1
 */
PunchKeypair *
punch_keypair_new_from_protobuf (GBytes  *protobuf,
                                 GError **error)
{
  Keys__Pb__PrivateKey *message;
  PunchKeypair *self = NULL;
  const guint8 *data;
  gsize len;

  g_return_val_if_fail (protobuf != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = g_bytes_get_data (protobuf, &len);
  message = (Keys__Pb__PrivateKey *) punch_proto_unpack (&keys__pb__private_key__descriptor,
                                                         data, len,
                                                         PUNCH_PRIVATE_KEY_MAX_LEN,
                                                         error);
  if (message == NULL)
    return NULL;

  switch ((gint) message->type)
    {
    case PUNCH_KEY_TYPE_ED25519:
      self = keypair_new_ed25519 (message->data.data, message->data.len, error);
      break;
    case PUNCH_KEY_TYPE_RSA:
    case PUNCH_KEY_TYPE_ECDSA:
      self = keypair_new_x509 ((PunchKeyType) message->type,
                               message->data.data, message->data.len, error);
      break;
    case PUNCH_KEY_TYPE_SECP256K1:
      self = keypair_new_secp256k1 (message->data.data, message->data.len, error);
      break;
    default:
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                   "Private key of unknown type %d", (gint) message->type);
      break;
    }

  /* protobuf-c's copy of the key. */
  punch_crypto_clear (message->data.data, message->data.len);
  punch_proto_free ((ProtobufCMessage *) message);

  return self;
}

/**
 * punch_keypair_load:
 * @path: (type filename): the key file
 * @error: return location for a #GError
 *
 * Loads a key pair from a key file that holds a `PrivateKey` protobuf, as
 * written by [method@Punch.Keypair.save] (or by go-libp2p).
 *
 * Like ssh with its private keys, this refuses a key file that its group
 * or others may access in any way (any of the permission bits 0077 set):
 * such a key may be known to others. `chmod 600` the file.
 *
 * Errors: %PUNCH_ERROR_KEY_FILE if the file is missing, unreadable, not a
 * regular file, accessible by group or others, empty, larger than 8192
 * bytes, or does not hold a key pair Punch can use.
 *
 * Returns: (transfer full): the key pair, or %NULL on error
 *
 * Since: 0.1
 */
PunchKeypair *
punch_keypair_load (const gchar  *path,
                    GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GBytes) contents = NULL;
  g_autofree gchar *display = NULL;
  g_autofree guint8 *buf = NULL;
  PunchKeypair *self;
  gsize len = 0;
  struct stat st;
  int fd, saved_errno;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  display = g_filename_display_name (path);

  /* O_NONBLOCK: do not hang on a FIFO; it is refused below. */
  fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
  if (fd < 0)
    {
      saved_errno = errno;
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_KEY_FILE,
                   "Cannot open key file “%s”: %s", display, g_strerror (saved_errno));
      return NULL;
    }

  if (fstat (fd, &st) < 0)
    {
      saved_errno = errno;
      close (fd);
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_KEY_FILE,
                   "Cannot stat key file “%s”: %s", display, g_strerror (saved_errno));
      return NULL;
    }

  if (!S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_KEY_FILE,
                   "Key file “%s” is not a regular file", display);
      return NULL;
    }

  if ((st.st_mode & 0077) != 0)
    {
      close (fd);
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_KEY_FILE,
                   "Permissions %04o of key file “%s” are too open: a private "
                   "key must not be accessible by group or others (chmod 600 it)",
                   (guint) (st.st_mode & 07777), display);
      return NULL;
    }

  if (st.st_size > PUNCH_PRIVATE_KEY_MAX_LEN)
    {
      close (fd);
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_KEY_FILE,
                   "Key file “%s” of %" G_GINT64_FORMAT " bytes exceeds the limit "
                   "of %d bytes", display, (gint64) st.st_size,
                   PUNCH_PRIVATE_KEY_MAX_LEN);
      return NULL;
    }

  /* Read at most one byte more than the limit, in case the file grows. */
  buf = g_malloc (PUNCH_PRIVATE_KEY_MAX_LEN + 1);
  while (len <= PUNCH_PRIVATE_KEY_MAX_LEN)
    {
      gssize n = read (fd, buf + len, PUNCH_PRIVATE_KEY_MAX_LEN + 1 - len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          saved_errno = errno;
          close (fd);
          punch_crypto_clear (buf, len);
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_KEY_FILE,
                       "Cannot read key file “%s”: %s", display,
                       g_strerror (saved_errno));
          return NULL;
        }
      if (n == 0)
        break;
      len += (gsize) n;
    }
  close (fd);

  if (len == 0)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_KEY_FILE,
                   "Key file “%s” is empty", display);
      return NULL;
    }
  if (len > PUNCH_PRIVATE_KEY_MAX_LEN)
    {
      punch_crypto_clear (buf, len);
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_KEY_FILE,
                   "Key file “%s” exceeds the limit of %d bytes", display,
                   PUNCH_PRIVATE_KEY_MAX_LEN);
      return NULL;
    }

  contents = punch_crypto_secure_bytes_new (buf, len);
  punch_crypto_clear (buf, len);

  self = punch_keypair_new_from_protobuf (contents, &local_error);
  if (self == NULL)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_KEY_FILE,
                   "Key file “%s” holds no usable libp2p private key: %s",
                   display, local_error->message);
      return NULL;
    }

  g_debug ("Loaded %s key pair from “%s”",
           punch_key_type_to_string (self->key_type), display);

  return self;
}

/**
 * punch_keypair_save:
 * @self: a key pair
 * @path: (type filename): the key file
 * @error: return location for a #GError
 *
 * Saves @self to a key file as a `PrivateKey` protobuf, readable by
 * [func@Punch.Keypair.load] and by go-libp2p. The file is replaced
 * atomically (a temporary file, flushed, then renamed over @path) and is
 * readable by its owner only (mode 0600).
 *
 * Errors: %PUNCH_ERROR_KEY_FILE if the file cannot be written.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
punch_keypair_save (PunchKeypair  *self,
                    const gchar   *path,
                    GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  const guint8 *data;
  gsize len;

  g_return_val_if_fail (PUNCH_IS_KEYPAIR (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  data = g_bytes_get_data (self->encoded, &len);
  if (!g_file_set_contents_full (path, (const gchar *) data, (gssize) len,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                 &local_error))
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_KEY_FILE,
                   "Cannot save key file: %s", local_error->message);
      return FALSE;
    }

  return TRUE;
}

/**
 * punch_keypair_to_protobuf:
 * @self: a key pair
 *
 * Encodes @self in libp2p's `PrivateKey` protobuf, the contents of a key
 * file. The buffer is zeroed when its last reference is dropped.
 *
 * Returns: (transfer full): the private key encoding of @self
 *
 * Since: 0.1
 */
GBytes *
punch_keypair_to_protobuf (PunchKeypair *self)
{
  g_return_val_if_fail (PUNCH_IS_KEYPAIR (self), NULL);

  return g_bytes_ref (self->encoded);
}

/**
 * punch_keypair_get_key_type:
 * @self: a key pair
 *
 * Gets the type of the key pair.
 *
 * Returns: the type of @self
 *
 * Since: 0.1
 */
PunchKeyType
punch_keypair_get_key_type (PunchKeypair *self)
{
  g_return_val_if_fail (PUNCH_IS_KEYPAIR (self), PUNCH_KEY_TYPE_ED25519);

  return self->key_type;
}

/**
 * punch_keypair_get_public_key:
 * @self: a key pair
 *
 * Gets the public half of the key pair.
 *
 * Returns: (transfer none): the public key of @self
 *
 * Since: 0.1
 */
PunchPublicKey *
punch_keypair_get_public_key (PunchKeypair *self)
{
  g_return_val_if_fail (PUNCH_IS_KEYPAIR (self), NULL);

  return self->public_key;
}

/**
 * punch_keypair_get_peer_id:
 * @self: a key pair
 *
 * Gets the peer id of the key pair: the identity of a host that uses it.
 *
 * Returns: (transfer none): the peer id of @self
 *
 * Since: 0.1
 */
PunchPeerId *
punch_keypair_get_peer_id (PunchKeypair *self)
{
  g_return_val_if_fail (PUNCH_IS_KEYPAIR (self), NULL);

  return punch_public_key_get_peer_id (self->public_key);
}

/*
 * punch_keypair_get_gnutls_privkey:
 * @self: a key pair
 *
 * Returns: (transfer none): the GnuTLS private key of @self
 */
gnutls_privkey_t
punch_keypair_get_gnutls_privkey (PunchKeypair *self)
{
  g_return_val_if_fail (PUNCH_IS_KEYPAIR (self), NULL);

  return self->privkey;
}

/**
 * punch_keypair_sign:
 * @self: a key pair
 * @data: (array length=data_len) (nullable): the data to sign
 * @data_len: the length of @data
 * @error: return location for a #GError
 *
 * Signs @data as the libp2p peer id spec says for the key type: an Ed25519
 * signature (RFC 8032), RSASSA-PKCS1-v1_5 over SHA-256 for RSA, or a
 * DER-encoded ECDSA signature over SHA-256. [method@Punch.PublicKey.verify]
 * checks it.
 *
 * Errors: %PUNCH_ERROR_FAILED if GnuTLS cannot sign.
 *
 * Returns: (transfer full): the signature, or %NULL on error
 *
 * Since: 0.1
 */
GBytes *
punch_keypair_sign (PunchKeypair  *self,
                    const guint8  *data,
                    gsize          data_len,
                    GError       **error)
{
  gnutls_datum_t data_datum, signature = { NULL, 0 };
  gnutls_sign_algorithm_t algorithm;
  GBytes *bytes;
  int ret;

  g_return_val_if_fail (PUNCH_IS_KEYPAIR (self), NULL);
  g_return_val_if_fail (data != NULL || data_len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  switch (self->key_type)
    {
    case PUNCH_KEY_TYPE_ED25519:
      algorithm = GNUTLS_SIGN_EDDSA_ED25519;
      break;
    case PUNCH_KEY_TYPE_RSA:
      algorithm = GNUTLS_SIGN_RSA_SHA256;
      break;
    case PUNCH_KEY_TYPE_ECDSA:
      algorithm = GNUTLS_SIGN_ECDSA_SHA256;
      break;
    case PUNCH_KEY_TYPE_SECP256K1:
    default:
      /* No secp256k1 keypair can be built today (GnuTLS has no such
       * curve); should one ever exist, fail cleanly. */
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                   "signing with %s keys is not supported",
                   punch_key_type_to_string (self->key_type));
      return NULL;
    }

  if (data_len > G_MAXUINT)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_FAILED,
                   "Cannot sign %" G_GSIZE_FORMAT " bytes at once", data_len);
      return NULL;
    }

  data_datum.data = (guint8 *) (data != NULL ? data : (const guint8 *) "");
  data_datum.size = (unsigned int) data_len;

  ret = gnutls_privkey_sign_data2 (self->privkey, algorithm, 0, &data_datum, &signature);
  if (ret < 0)
    {
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_FAILED, ret,
                                     "Cannot sign with %s key",
                                     punch_key_type_to_string (self->key_type));
      return NULL;
    }

  bytes = g_bytes_new (signature.data, signature.size);
  gnutls_free (signature.data);

  return bytes;
}
