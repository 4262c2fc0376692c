/* punch-peer-id.c: libp2p peer ids (multihashes of public keys).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-peer-id.h"
#include "punch-peer-id-private.h"

#include <string.h>

#include "punch-error.h"
#include "punch-multibase.h"
#include "punch-varint.h"

/**
 * PunchPeerId:
 *
 * The identity of a libp2p peer: the multihash of its public key's
 * `PublicKey` protobuf encoding (libp2p/specs peer-ids/peer-ids.md).
 *
 * Keys whose encoding is at most 42 bytes (Ed25519, secp256k1) are inlined
 * in an "identity" multihash, so the public key can be recovered from the
 * peer id with [method@Punch.PeerId.get_public_key]; longer ones (RSA,
 * ECDSA) are hashed with SHA-256.
 *
 * A peer id is immutable and reference counted. Its text forms are the
 * base58btc multihash (`12D3KooW…`, `Qm…`, `16Uiu2…`), which
 * [method@Punch.PeerId.to_string] prints, and the CIDv1 with the
 * `libp2p-key` codec (`bafz…`), which [method@Punch.PeerId.to_cid_string]
 * prints; [ctor@Punch.PeerId.new_from_string] reads both.
 *
 * Since: 0.1
 */
struct _PunchPeerId {
  gatomicrefcount ref_count;
  GBytes *bytes;  /* the validated multihash */
};

G_DEFINE_BOXED_TYPE (PunchPeerId, punch_peer_id, punch_peer_id_ref, punch_peer_id_unref)

/* Takes @bytes, which must be a valid multihash. */
static PunchPeerId *
peer_id_new_take (GBytes *bytes)
{
  PunchPeerId *self = g_new0 (PunchPeerId, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->bytes = bytes;

  return self;
}

static gboolean
validate_multihash (const guint8  *data,
                    gsize          len,
                    GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  guint64 code, digest_len;
  gsize consumed, offset = 0;

  if (len == 0)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Peer id is empty");
      return FALSE;
    }

  if (len > PUNCH_PEER_ID_MAX_LEN)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "Peer id of %" G_GSIZE_FORMAT " bytes exceeds the limit of %d",
                   len, PUNCH_PEER_ID_MAX_LEN);
      return FALSE;
    }

  if (!punch_varint_decode (data, len, &code, &consumed, &local_error))
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "Peer id has a bad multihash code: %s", local_error->message);
      return FALSE;
    }
  offset += consumed;

  if (!punch_varint_decode (data + offset, len - offset, &digest_len, &consumed,
                            &local_error))
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "Peer id has a bad multihash length: %s", local_error->message);
      return FALSE;
    }
  offset += consumed;

  if (digest_len != len - offset)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "Peer id multihash announces a %" G_GUINT64_FORMAT
                   "-byte digest but holds %" G_GSIZE_FORMAT " bytes",
                   digest_len, len - offset);
      return FALSE;
    }

  switch (code)
    {
    case PUNCH_MULTIHASH_IDENTITY:
      if (digest_len == 0 || digest_len > PUNCH_PEER_ID_MAX_INLINE_KEY_LEN)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "Peer id inlines a key of %" G_GUINT64_FORMAT
                       " bytes; an identity multihash holds 1 to %d bytes",
                       digest_len, PUNCH_PEER_ID_MAX_INLINE_KEY_LEN);
          return FALSE;
        }
      return TRUE;

    case PUNCH_MULTIHASH_SHA2_256:
      if (digest_len != 32)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "Peer id has a %" G_GUINT64_FORMAT
                       "-byte sha2-256 digest instead of 32 bytes", digest_len);
          return FALSE;
        }
      return TRUE;

    default:
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "Peer id uses multihash code 0x%" G_GINT64_MODIFIER "x; only "
                   "identity (0x00) and sha2-256 (0x12) are peer ids", code);
      return FALSE;
    }
}

/*
 * punch_peer_id_new_from_data:
 * @data: (array length=len): a multihash
 * @len: its length
 * @error: return location for a #GError
 *
 * Like punch_peer_id_new_from_bytes(), for a buffer.
 *
 * Returns: (transfer full) (nullable): a new peer id
 */
PunchPeerId *
punch_peer_id_new_from_data (const guint8  *data,
                             gsize          len,
                             GError       **error)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!validate_multihash (data, len, error))
    return NULL;

  return peer_id_new_take (g_bytes_new (data, len));
}

/**
 * punch_peer_id_new_from_bytes:
 * @multihash: the binary peer id: a multihash
 * @error: return location for a #GError
 *
 * Reads a peer id in its binary form, as carried by protocols (identify,
 * circuit relay, the `/p2p/` multiaddr component). Only the multihashes
 * that libp2p derives from keys are accepted: an identity multihash of at
 * most 42 bytes, or a sha2-256 multihash.
 *
 * Errors: %PUNCH_ERROR_MALFORMED if @multihash is empty, is not a multihash,
 * uses another hash function or has a digest of the wrong length;
 * %PUNCH_ERROR_TOO_LARGE if it is longer than any peer id.
 *
 * Returns: (transfer full): a new peer id, or %NULL on error
 *
 * Since: 0.1
 */
PunchPeerId *
punch_peer_id_new_from_bytes (GBytes  *multihash,
                              GError **error)
{
  const guint8 *data;
  gsize len;

  g_return_val_if_fail (multihash != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = g_bytes_get_data (multihash, &len);
  if (!validate_multihash (data, len, error))
    return NULL;

  return peer_id_new_take (g_bytes_ref (multihash));
}

/* @text is the escaped text, for messages. */
static PunchPeerId *
peer_id_new_from_decoded (GBytes       *decoded,
                          gboolean      is_cid,
                          const gchar  *text,
                          GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  const guint8 *data;
  gsize len, consumed;
  guint64 value;
  PunchPeerId *self;

  data = g_bytes_get_data (decoded, &len);

  if (is_cid)
    {
      /* <cid-version><multicodec><multihash> */
      if (!punch_varint_decode (data, len, &value, &consumed, &local_error))
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "Peer id “%s” is not a CID: %s", text, local_error->message);
          return NULL;
        }
      if (value != 1)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "Peer id “%s” is a CID of version %" G_GUINT64_FORMAT
                       ", not 1", text, value);
          return NULL;
        }
      data += consumed;
      len -= consumed;

      if (!punch_varint_decode (data, len, &value, &consumed, &local_error))
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "Peer id “%s” is not a CID: %s", text, local_error->message);
          return NULL;
        }
      if (value != PUNCH_MULTICODEC_LIBP2P_KEY)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "Peer id “%s” is a CID with codec 0x%" G_GINT64_MODIFIER
                       "x, not libp2p-key (0x72)", text, value);
          return NULL;
        }
      data += consumed;
      len -= consumed;
    }

  self = punch_peer_id_new_from_data (data, len, &local_error);
  if (self == NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "Bad peer id “%s”: ", text);
      return NULL;
    }

  return self;
}

/**
 * punch_peer_id_new_from_string:
 * @text: a peer id in text
 * @error: return location for a #GError
 *
 * Reads a peer id in either of the text forms of the libp2p peer id spec:
 *
 * - a base58btc multihash: `12D3KooW…` (identity multihash of an Ed25519
 *   key), `Qm…` (sha2-256), `16Uiu2…` (identity multihash of a secp256k1
 *   key);
 * - a CIDv1 with the `libp2p-key` codec (0x72) in a multibase: base32
 *   (`b…`, the default, and `B…`), base58btc (`z…`) or base16 (`f…`, `F…`).
 *
 * Errors: %PUNCH_ERROR_MALFORMED if @text is empty, is in neither form, is
 * a CID of another version or codec, or does not hold a valid peer id
 * multihash (see [ctor@Punch.PeerId.new_from_bytes]);
 * %PUNCH_ERROR_TOO_LARGE if @text is longer than any peer id.
 *
 * Returns: (transfer full): a new peer id, or %NULL on error
 *
 * Since: 0.1
 */
PunchPeerId *
punch_peer_id_new_from_string (const gchar  *text,
                               GError      **error)
{
  g_autoptr(GBytes) decoded = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree gchar *shown = NULL;
  gboolean is_cid = TRUE;
  gsize len;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  len = strnlen (text, PUNCH_PEER_ID_MAX_TEXT_LEN + 1);
  if (len == 0)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Peer id is empty");
      return NULL;
    }
  if (len > PUNCH_PEER_ID_MAX_TEXT_LEN)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "Peer id text exceeds the limit of %d characters",
                   PUNCH_PEER_ID_MAX_TEXT_LEN);
      return NULL;
    }

  /* Error messages quote @text, which may come from anywhere. */
  shown = g_strescape (text, NULL);

  if (text[0] == '1' || g_str_has_prefix (text, "Qm"))
    {
      /* A bare base58btc multihash (the legacy, canonical form). */
      is_cid = FALSE;
      decoded = punch_base58btc_decode (text, &local_error);
    }
  else
    {
      /* A multibase CID: the first character names the base. */
      switch (text[0])
        {
        case 'b':
        case 'B':
          decoded = punch_base32_decode (text + 1, &local_error);
          break;
        case 'z':
          decoded = punch_base58btc_decode (text + 1, &local_error);
          break;
        case 'f':
        case 'F':
          decoded = punch_base16_decode (text + 1, &local_error);
          break;
        default:
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "“%s” is not a peer id: neither a base58btc multihash "
                       "(“1…”, “Qm…”) nor a CID in base32, base58btc or base16",
                       shown);
          return NULL;
        }
    }

  if (decoded == NULL)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "Bad peer id “%s”: %s", shown, local_error->message);
      return NULL;
    }

  return peer_id_new_from_decoded (decoded, is_cid, shown, error);
}

/*
 * punch_peer_id_new_from_key_protobuf:
 * @encoded_key: the canonical PublicKey protobuf of a key
 *
 * Derives the peer id of a key from its encoding (peer-ids.md, "Peer
 * Ids"): the identity multihash of the encoding when it is at most 42
 * bytes, its sha2-256 multihash otherwise.
 *
 * Returns: (transfer full): the peer id
 */
PunchPeerId *
punch_peer_id_new_from_key_protobuf (GBytes *encoded_key)
{
  const guint8 *key;
  gsize key_len;
  guint8 *buf;
  gsize len;

  g_return_val_if_fail (encoded_key != NULL, NULL);

  key = g_bytes_get_data (encoded_key, &key_len);
  g_return_val_if_fail (key_len > 0, NULL);

  if (key_len <= PUNCH_PEER_ID_MAX_INLINE_KEY_LEN)
    {
      len = 2 + key_len;
      buf = g_malloc (len);
      buf[0] = PUNCH_MULTIHASH_IDENTITY;
      buf[1] = (guint8) key_len;
      memcpy (buf + 2, key, key_len);
    }
  else
    {
      g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
      gsize digest_len = 32;

      len = 2 + digest_len;
      buf = g_malloc (len);
      buf[0] = PUNCH_MULTIHASH_SHA2_256;
      buf[1] = (guint8) digest_len;
      g_checksum_update (checksum, key, key_len);
      g_checksum_get_digest (checksum, buf + 2, &digest_len);
      g_assert (digest_len == 32);
    }

  return peer_id_new_take (g_bytes_new_take (buf, len));
}

/**
 * punch_peer_id_new_from_public_key:
 * @key: a public key
 *
 * Derives the peer id of @key; the same as [method@Punch.PublicKey.get_peer_id].
 *
 * Returns: (transfer full): the peer id of @key
 *
 * Since: 0.1
 */
PunchPeerId *
punch_peer_id_new_from_public_key (PunchPublicKey *key)
{
  g_return_val_if_fail (PUNCH_IS_PUBLIC_KEY (key), NULL);

  return punch_peer_id_ref (punch_public_key_get_peer_id (key));
}

/**
 * punch_peer_id_ref:
 * @self: a peer id
 *
 * Takes a reference to a peer id.
 *
 * Returns: (transfer full): @self, with one more reference
 *
 * Since: 0.1
 */
PunchPeerId *
punch_peer_id_ref (PunchPeerId *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);

  return self;
}

/**
 * punch_peer_id_unref:
 * @self: (transfer full): a peer id
 *
 * Drops a reference to @self, freeing it with the last one.
 *
 * Since: 0.1
 */
void
punch_peer_id_unref (PunchPeerId *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_ref_count_dec (&self->ref_count))
    {
      g_bytes_unref (self->bytes);
      g_free (self);
    }
}

/**
 * punch_peer_id_get_bytes:
 * @self: a peer id
 *
 * Gets the binary form of the peer id, as protocols carry it.
 *
 * Returns: (transfer full): the binary form of @self: its multihash
 *
 * Since: 0.1
 */
GBytes *
punch_peer_id_get_bytes (PunchPeerId *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_bytes_ref (self->bytes);
}

/*
 * punch_peer_id_peek_data:
 * @self: a peer id
 * @out_len: (out): the length of the multihash
 *
 * Returns: (transfer none) (array length=out_len): the multihash of @self
 */
const guint8 *
punch_peer_id_peek_data (PunchPeerId *self,
                         gsize       *out_len)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (out_len != NULL, NULL);

  return g_bytes_get_data (self->bytes, out_len);
}

/**
 * punch_peer_id_to_string:
 * @self: a peer id
 *
 * Prints @self in its canonical text form, the base58btc encoding of its
 * multihash (`12D3KooW…` for Ed25519 keys, `Qm…` for hashed keys).
 *
 * Returns: (transfer full): the text of @self
 *
 * Since: 0.1
 */
gchar *
punch_peer_id_to_string (PunchPeerId *self)
{
  const guint8 *data;
  gsize len;

  g_return_val_if_fail (self != NULL, NULL);

  data = g_bytes_get_data (self->bytes, &len);

  return punch_base58btc_encode (data, len);
}

/**
 * punch_peer_id_to_cid_string:
 * @self: a peer id
 *
 * Prints @self as a CIDv1 with the `libp2p-key` codec in the base32
 * multibase (`bafz…`), the newer text form of peer ids.
 *
 * Returns: (transfer full): the CID text of @self
 *
 * Since: 0.1
 */
gchar *
punch_peer_id_to_cid_string (PunchPeerId *self)
{
  g_autofree guint8 *cid = NULL;
  g_autofree gchar *base32 = NULL;
  const guint8 *data;
  gsize len;

  g_return_val_if_fail (self != NULL, NULL);

  data = g_bytes_get_data (self->bytes, &len);
  cid = g_malloc (len + 2);
  cid[0] = 0x01;                          /* CID version 1 */
  cid[1] = PUNCH_MULTICODEC_LIBP2P_KEY;   /* one-byte varint */
  memcpy (cid + 2, data, len);

  base32 = punch_base32_encode (cid, len + 2);

  return g_strconcat ("b", base32, NULL);
}

/**
 * punch_peer_id_get_public_key:
 * @self: a peer id
 *
 * Recovers the public key inlined in @self, which identity-multihash peer
 * ids (Ed25519 and secp256k1 keys) carry.
 *
 * Returns: (transfer full) (nullable): the public key, or %NULL if @self
 *   is a hash of its key or its inlined bytes are not a valid public key
 *
 * Since: 0.1
 */
PunchPublicKey *
punch_peer_id_get_public_key (PunchPeerId *self)
{
  g_autoptr(GBytes) encoded = NULL;
  g_autoptr(GError) error = NULL;
  PunchPublicKey *key;
  const guint8 *data;
  gsize len;

  g_return_val_if_fail (self != NULL, NULL);

  data = g_bytes_get_data (self->bytes, &len);
  if (data[0] != PUNCH_MULTIHASH_IDENTITY)
    return NULL;

  /* validate_multihash() made sure the length is a one-byte varint. */
  encoded = g_bytes_new_from_bytes (self->bytes, 2, len - 2);
  key = punch_public_key_new_from_protobuf (encoded, &error);
  if (key == NULL)
    {
      g_debug ("Peer id inlines no valid public key: %s", error->message);
      return NULL;
    }

  return key;
}

/**
 * punch_peer_id_matches_public_key:
 * @self: a peer id
 * @key: a public key
 *
 * Checks that @self is the peer id of @key.
 *
 * Returns: %TRUE if @key's peer id is @self
 *
 * Since: 0.1
 */
gboolean
punch_peer_id_matches_public_key (PunchPeerId    *self,
                                  PunchPublicKey *key)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (PUNCH_IS_PUBLIC_KEY (key), FALSE);

  return punch_peer_id_equal (self, punch_public_key_get_peer_id (key));
}

/**
 * punch_peer_id_equal:
 * @a: (type PunchPeerId): a peer id
 * @b: (type PunchPeerId): another peer id
 *
 * Compares two peer ids; usable as a #GEqualFunc.
 *
 * Returns: %TRUE if @a and @b are the same peer id
 *
 * Since: 0.1
 */
gboolean
punch_peer_id_equal (gconstpointer a,
                     gconstpointer b)
{
  const PunchPeerId *pa = a;
  const PunchPeerId *pb = b;

  g_return_val_if_fail (pa != NULL, FALSE);
  g_return_val_if_fail (pb != NULL, FALSE);

  return pa == pb || g_bytes_equal (pa->bytes, pb->bytes);
}

/**
 * punch_peer_id_hash:
 * @peer_id: (type PunchPeerId): a peer id
 *
 * Hashes a peer id; usable as a #GHashFunc with [method@Punch.PeerId.equal].
 *
 * Returns: a hash of @peer_id
 *
 * Since: 0.1
 */
guint
punch_peer_id_hash (gconstpointer peer_id)
{
  const PunchPeerId *self = peer_id;

  g_return_val_if_fail (self != NULL, 0);

  return g_bytes_hash (self->bytes);
}
