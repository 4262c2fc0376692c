/* punch-public-key.c: libp2p public keys (the PublicKey protobuf).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-public-key.h"

#include <string.h>

#include "keys.pb-c.h"
#include "punch-crypto-private.h"
#include "punch-error.h"
#include "punch-peer-id-private.h"
#include "punch-proto.h"

/**
 * PunchPublicKey:
 *
 * The public half of a libp2p identity key, as peers exchange it in the
 * `PublicKey` protobuf (libp2p/specs peer-ids/peer-ids.md): a key type and
 * the key's encoding, which depends on the type:
 *
 * - Ed25519: the 32 bytes of the key;
 * - RSA: the key in PKIX (SubjectPublicKeyInfo) DER;
 * - ECDSA: the key in PKIX (SubjectPublicKeyInfo) DER;
 * - secp256k1: the compressed point (33 bytes).
 *
 * A public key verifies signatures made with its private key and derives
 * the [struct@Punch.PeerId] of its owner. Punch understands secp256k1 keys
 * and their peer ids, but cannot verify secp256k1 signatures: GnuTLS has no
 * secp256k1 curve.
 *
 * Public keys are immutable.
 *
 * Since: 0.1
 */
struct _PunchPublicKey {
  GObject parent_instance;

  PunchKeyType key_type;
  GBytes *encoded;          /* the canonical PublicKey protobuf */
  gnutls_pubkey_t pubkey;   /* NULL for secp256k1 */
  PunchPeerId *peer_id;
};

G_DEFINE_FINAL_TYPE (PunchPublicKey, punch_public_key, G_TYPE_OBJECT)

static void
punch_public_key_finalize (GObject *object)
{
  PunchPublicKey *self = PUNCH_PUBLIC_KEY (object);

  g_clear_pointer (&self->encoded, g_bytes_unref);
  g_clear_pointer (&self->pubkey, gnutls_pubkey_deinit);
  g_clear_pointer (&self->peer_id, punch_peer_id_unref);

  G_OBJECT_CLASS (punch_public_key_parent_class)->finalize (object);
}

static void
punch_public_key_class_init (PunchPublicKeyClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = punch_public_key_finalize;
}

static void
punch_public_key_init (PunchPublicKey *self)
{
}

/* Takes @pubkey (which may be NULL). @data is the canonical Data field. */
static PunchPublicKey *
public_key_new_take (PunchKeyType     key_type,
                     const guint8    *data,
                     gsize            len,
                     gnutls_pubkey_t  pubkey)
{
  PunchPublicKey *self = g_object_new (PUNCH_TYPE_PUBLIC_KEY, NULL);
  Keys__Pb__PublicKey message = KEYS__PB__PUBLIC_KEY__INIT;

  message.type = (Keys__Pb__KeyType) key_type;
  message.data.data = (guint8 *) data;
  message.data.len = len;

  self->key_type = key_type;
  self->pubkey = pubkey;
  self->encoded = punch_proto_pack ((const ProtobufCMessage *) &message);
  self->peer_id = punch_peer_id_new_from_key_protobuf (self->encoded);

  return self;
}

/* The bytes of p, the prime of secp256k1's field, big-endian. */
static const guint8 secp256k1_p[32] = {
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xfc, 0x2f,
};

static PunchPublicKey *
public_key_new_secp256k1 (const guint8  *data,
                          gsize          len,
                          GError       **error)
{
  guint8 compressed[PUNCH_SECP256K1_COMPRESSED_LEN];

  /* SEC 1 point encodings: 0x02/0x03 ‖ x (compressed), 0x04 ‖ x ‖ y. The
   * coordinates must be field elements. Without secp256k1 arithmetic, Punch
   * cannot check that the point is on the curve. */
  if (len == PUNCH_SECP256K1_COMPRESSED_LEN && (data[0] == 0x02 || data[0] == 0x03))
    {
      memcpy (compressed, data, len);
    }
  else if (len == PUNCH_SECP256K1_UNCOMPRESSED_LEN && data[0] == 0x04)
    {
      if (memcmp (data + 33, secp256k1_p, 32) >= 0)
        {
          g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                               "Secp256k1 public key has a y coordinate out of range");
          return NULL;
        }
      /* Peer ids are derived from the compressed form, as go-libp2p does. */
      compressed[0] = 0x02 | (data[64] & 1);
      memcpy (compressed + 1, data + 1, 32);
    }
  else
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "Secp256k1 public key of %" G_GSIZE_FORMAT " bytes is neither "
                   "a compressed (33 bytes, 0x02/0x03) nor an uncompressed "
                   "(65 bytes, 0x04) point", len);
      return NULL;
    }

  if (memcmp (compressed + 1, secp256k1_p, 32) >= 0)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Secp256k1 public key has an x coordinate out of range");
      return NULL;
    }

  return public_key_new_take (PUNCH_KEY_TYPE_SECP256K1, compressed,
                              sizeof compressed, NULL);
}

static gnutls_pk_algorithm_t
gnutls_pk_for_key_type (PunchKeyType key_type)
{
  switch (key_type)
    {
    case PUNCH_KEY_TYPE_RSA:
      return GNUTLS_PK_RSA;
    case PUNCH_KEY_TYPE_ED25519:
      return GNUTLS_PK_EDDSA_ED25519;
    case PUNCH_KEY_TYPE_ECDSA:
      return GNUTLS_PK_ECDSA;
    case PUNCH_KEY_TYPE_SECP256K1:
    default:
      return GNUTLS_PK_UNKNOWN;
    }
}

/*
 * punch_public_key_new_from_gnutls:
 * @key_type: the type @pubkey must have (not secp256k1)
 * @pubkey: (transfer full): a GnuTLS public key
 * @error: return location for a #GError
 *
 * Wraps a GnuTLS public key, checking that it is of @key_type (and, for
 * RSA, of an accepted size) and computing its canonical encoding. @pubkey
 * is taken, also on error.
 *
 * Errors: %PUNCH_ERROR_MALFORMED if @pubkey is not a @key_type key or
 * cannot be exported, %PUNCH_ERROR_UNSUPPORTED for an RSA key below 2048
 * bits, %PUNCH_ERROR_TOO_LARGE for one above 8192 bits.
 *
 * Returns: (transfer full) (nullable): the public key
 */
PunchPublicKey *
punch_public_key_new_from_gnutls (PunchKeyType      key_type,
                                  gnutls_pubkey_t   pubkey,
                                  GError          **error)
{
  gnutls_pk_algorithm_t expected = gnutls_pk_for_key_type (key_type);
  gnutls_datum_t exported = { NULL, 0 };
  PunchPublicKey *self = NULL;
  unsigned int bits = 0;
  int algorithm, ret;

  g_return_val_if_fail (pubkey != NULL, NULL);
  g_return_val_if_fail (expected != GNUTLS_PK_UNKNOWN, NULL);

  algorithm = gnutls_pubkey_get_pk_algorithm (pubkey, &bits);
  if (algorithm != (int) expected)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "%s public key holds a key of another algorithm (%s)",
                   punch_key_type_to_string (key_type),
                   gnutls_pk_algorithm_get_name (algorithm) != NULL ?
                     gnutls_pk_algorithm_get_name (algorithm) : "unknown");
      goto out;
    }

  if (key_type == PUNCH_KEY_TYPE_RSA && bits < PUNCH_RSA_MIN_BITS)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                   "RSA key of %u bits is too small: at least %d bits are required",
                   bits, PUNCH_RSA_MIN_BITS);
      goto out;
    }
  if (key_type == PUNCH_KEY_TYPE_RSA && bits > PUNCH_RSA_MAX_BITS)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "RSA key of %u bits exceeds the limit of %d bits",
                   bits, PUNCH_RSA_MAX_BITS);
      goto out;
    }

  if (key_type == PUNCH_KEY_TYPE_ED25519)
    {
      gnutls_ecc_curve_t curve;

      ret = gnutls_pubkey_export_ecc_raw2 (pubkey, &curve, &exported, NULL, 0);
      if (ret == 0 && (curve != GNUTLS_ECC_CURVE_ED25519 ||
                       exported.size != PUNCH_ED25519_KEY_LEN))
        ret = GNUTLS_E_ILLEGAL_PARAMETER;
    }
  else
    {
      /* PKIX SubjectPublicKeyInfo in DER: the encoding of RSA and ECDSA
       * keys, re-exported so that the peer id is that of the canonical
       * encoding. */
      ret = gnutls_pubkey_export2 (pubkey, GNUTLS_X509_FMT_DER, &exported);
    }

  if (ret < 0)
    {
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_MALFORMED, ret,
                                     "Cannot encode %s public key",
                                     punch_key_type_to_string (key_type));
      goto out;
    }

  self = public_key_new_take (key_type, exported.data, exported.size,
                              g_steal_pointer (&pubkey));

out:
  gnutls_free (exported.data);
  g_clear_pointer (&pubkey, gnutls_pubkey_deinit);

  return self;
}

static PunchPublicKey *
public_key_new_from_data (PunchKeyType    key_type,
                          const guint8   *data,
                          gsize           len,
                          GError        **error)
{
  gnutls_pubkey_t pubkey = NULL;
  gnutls_datum_t datum = { (guint8 *) data, (unsigned int) len };
  int ret;

  if (key_type == PUNCH_KEY_TYPE_SECP256K1)
    return public_key_new_secp256k1 (data, len, error);

  if (key_type == PUNCH_KEY_TYPE_ED25519 && len != PUNCH_ED25519_KEY_LEN)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "Ed25519 public key of %" G_GSIZE_FORMAT " bytes instead of %d",
                   len, PUNCH_ED25519_KEY_LEN);
      return NULL;
    }
  if (len == 0)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "%s public key is empty", punch_key_type_to_string (key_type));
      return NULL;
    }

  ret = gnutls_pubkey_init (&pubkey);
  if (ret < 0)
    {
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_FAILED, ret,
                                     "Cannot allocate a public key");
      return NULL;
    }

  if (key_type == PUNCH_KEY_TYPE_ED25519)
    ret = gnutls_pubkey_import_ecc_raw (pubkey, GNUTLS_ECC_CURVE_ED25519, &datum, NULL);
  else
    ret = gnutls_pubkey_import (pubkey, &datum, GNUTLS_X509_FMT_DER);

  if (ret < 0)
    {
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_MALFORMED, ret,
                                     "Bad %s public key",
                                     punch_key_type_to_string (key_type));
      gnutls_pubkey_deinit (pubkey);
      return NULL;
    }

  return punch_public_key_new_from_gnutls (key_type, pubkey, error);
}

/**
 * punch_public_key_new_from_protobuf:
 * @protobuf: a `PublicKey` protobuf
 * @error: return location for a #GError
 *
 * Reads a public key in libp2p's `PublicKey` protobuf, as peers send it
 * (in identify, in the libp2p TLS certificate extension, in signed
 * envelopes).
 *
 * Secp256k1 keys are accepted in compressed and uncompressed form; the
 * key's encoding (and peer id) always uses the compressed form. RSA keys
 * must have 2048 to 8192 bits.
 *
 * Errors: %PUNCH_ERROR_TOO_LARGE if @protobuf is longer than 2048 bytes or
 * holds an RSA key above 8192 bits; %PUNCH_ERROR_MALFORMED if it is not a
 * `PublicKey` message or its data is not a key of its type;
 * %PUNCH_ERROR_UNSUPPORTED for an unknown key type or an RSA key below 2048
 * bits.
 *
 * Returns: (transfer full): a new public key, or %NULL on error
 *
 * Since: 0.1
 */
PunchPublicKey *
punch_public_key_new_from_protobuf (GBytes  *protobuf,
                                    GError **error)
{
  Keys__Pb__PublicKey *message;
  PunchPublicKey *self = NULL;
  const guint8 *data;
  gsize len;

  g_return_val_if_fail (protobuf != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = g_bytes_get_data (protobuf, &len);
  message = (Keys__Pb__PublicKey *) punch_proto_unpack (&keys__pb__public_key__descriptor,
                                                        data, len,
                                                        PUNCH_PUBLIC_KEY_MAX_LEN,
                                                        error);
  if (message == NULL)
    return NULL;

  switch ((gint) message->type)
    {
    case PUNCH_KEY_TYPE_RSA:
    case PUNCH_KEY_TYPE_ED25519:
    case PUNCH_KEY_TYPE_SECP256K1:
    case PUNCH_KEY_TYPE_ECDSA:
      self = public_key_new_from_data ((PunchKeyType) message->type,
                                       message->data.data, message->data.len,
                                       error);
      break;
    default:
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                   "Public key of unknown type %d", (gint) message->type);
      break;
    }

  punch_proto_free ((ProtobufCMessage *) message);

  return self;
}

/**
 * punch_public_key_to_protobuf:
 * @self: a public key
 *
 * Encodes @self in libp2p's `PublicKey` protobuf, in the deterministic
 * encoding its peer id is derived from.
 *
 * Returns: (transfer full): the encoding of @self
 *
 * Since: 0.1
 */
GBytes *
punch_public_key_to_protobuf (PunchPublicKey *self)
{
  g_return_val_if_fail (PUNCH_IS_PUBLIC_KEY (self), NULL);

  return g_bytes_ref (self->encoded);
}

/**
 * punch_public_key_get_key_type:
 * @self: a public key
 *
 * Gets the type of the key.
 *
 * Returns: the type of @self
 *
 * Since: 0.1
 */
PunchKeyType
punch_public_key_get_key_type (PunchPublicKey *self)
{
  g_return_val_if_fail (PUNCH_IS_PUBLIC_KEY (self), PUNCH_KEY_TYPE_ED25519);

  return self->key_type;
}

/**
 * punch_public_key_get_peer_id:
 * @self: a public key
 *
 * Gets the peer id derived from the key (libp2p/specs peer-ids.md).
 *
 * Returns: (transfer none): the peer id of @self
 *
 * Since: 0.1
 */
PunchPeerId *
punch_public_key_get_peer_id (PunchPublicKey *self)
{
  g_return_val_if_fail (PUNCH_IS_PUBLIC_KEY (self), NULL);

  return self->peer_id;
}

/*
 * punch_public_key_get_gnutls_pubkey:
 * @self: a public key
 *
 * Returns: (transfer none) (nullable): the GnuTLS key of @self, or %NULL
 *   for a secp256k1 key
 */
gnutls_pubkey_t
punch_public_key_get_gnutls_pubkey (PunchPublicKey *self)
{
  g_return_val_if_fail (PUNCH_IS_PUBLIC_KEY (self), NULL);

  return self->pubkey;
}

/**
 * punch_public_key_verify:
 * @self: a public key
 * @data: (array length=data_len) (nullable): the signed data
 * @data_len: the length of @data
 * @signature: (array length=signature_len) (nullable): the signature
 * @signature_len: the length of @signature
 * @error: return location for a #GError
 *
 * Checks that @signature is a signature of @data by the private key of
 * @self, following the libp2p peer id spec: Ed25519 signatures (RFC 8032),
 * RSASSA-PKCS1-v1_5 over SHA-256 for RSA, and DER-encoded ECDSA signatures
 * over SHA-256 for ECDSA.
 *
 * Errors: %PUNCH_ERROR_BAD_SIGNATURE if the signature does not verify or is
 * malformed; %PUNCH_ERROR_UNSUPPORTED for secp256k1 keys, which Punch
 * cannot verify; %PUNCH_ERROR_TOO_LARGE if @data is 4 GiB or more.
 *
 * Returns: %TRUE if the signature is valid
 *
 * Since: 0.1
 */
gboolean
punch_public_key_verify (PunchPublicKey  *self,
                         const guint8    *data,
                         gsize            data_len,
                         const guint8    *signature,
                         gsize            signature_len,
                         GError         **error)
{
  gnutls_datum_t data_datum, signature_datum;
  gnutls_sign_algorithm_t algorithm;
  int ret;

  g_return_val_if_fail (PUNCH_IS_PUBLIC_KEY (self), FALSE);
  g_return_val_if_fail (data != NULL || data_len == 0, FALSE);
  g_return_val_if_fail (signature != NULL || signature_len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

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
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                           "Cannot verify secp256k1 signatures: GnuTLS has no "
                           "secp256k1 curve");
      return FALSE;
    }

  if (data_len > G_MAXUINT)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "Cannot verify a signature over %" G_GSIZE_FORMAT " bytes of data",
                   data_len);
      return FALSE;
    }
  if (signature_len == 0 || signature_len > G_MAXUINT)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_BAD_SIGNATURE,
                   "%s signature of %" G_GSIZE_FORMAT " bytes is invalid",
                   punch_key_type_to_string (self->key_type), signature_len);
      return FALSE;
    }

  /* GnuTLS wants non-NULL pointers even for empty data. */
  data_datum.data = (guint8 *) (data != NULL ? data : (const guint8 *) "");
  data_datum.size = (unsigned int) data_len;
  signature_datum.data = (guint8 *) signature;
  signature_datum.size = (unsigned int) signature_len;

  ret = gnutls_pubkey_verify_data2 (self->pubkey, algorithm, 0,
                                    &data_datum, &signature_datum);
  if (ret < 0)
    {
      gint code = PUNCH_ERROR_BAD_SIGNATURE;

      if (ret == GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM)
        code = PUNCH_ERROR_UNSUPPORTED;

      punch_crypto_set_gnutls_error (error, code, ret,
                                     "%s signature does not verify",
                                     punch_key_type_to_string (self->key_type));
      return FALSE;
    }

  return TRUE;
}

/**
 * punch_public_key_equal:
 * @self: a public key
 * @other: another public key
 *
 * Compares two public keys by their encodings.
 *
 * Returns: %TRUE if @self and @other are the same key
 *
 * Since: 0.1
 */
gboolean
punch_public_key_equal (PunchPublicKey *self,
                        PunchPublicKey *other)
{
  g_return_val_if_fail (PUNCH_IS_PUBLIC_KEY (self), FALSE);
  g_return_val_if_fail (PUNCH_IS_PUBLIC_KEY (other), FALSE);

  return self == other || g_bytes_equal (self->encoded, other->encoded);
}
