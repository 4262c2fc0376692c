/* punch-envelope.c: signed envelopes (libp2p RFC 0002).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-envelope.h"

#include <string.h>

#include "envelope.pb-c.h"
#include "keys.pb-c.h"
#include "punch-crypto-private.h"
#include "punch-error.h"
#include "punch-proto.h"
#include "punch-varint.h"

/* An envelope is the protobuf of RFC 0002 ("Wire Format"): the signer's
 * PublicKey message, the payload type, the payload and the signature.
 * The domain string is never sent: both sides know it, and a signature
 * made for another domain simply does not verify. */

static void
append_field (GByteArray   *buf,
              const guint8 *data,
              gsize         len)
{
  guint8 header[PUNCH_VARINT_MAX_LEN];

  g_byte_array_append (buf, header, punch_varint_encode (len, header));
  if (len > 0)
    g_byte_array_append (buf, data, len);
}

/*
 * punch_envelope_signing_buffer:
 * @domain: the domain separation string
 * @payload_type: (array length=payload_type_len): the payload type
 * @payload_type_len: its length
 * @payload: (array length=payload_len): the payload
 * @payload_len: its length
 *
 * Returns: (transfer full): what is signed (RFC 0002 "Signature Production
 *   / Verification"): each of the domain, the payload type and the payload
 *   preceded by its length as an unsigned varint.
 */
GBytes *
punch_envelope_signing_buffer (const gchar  *domain,
                               const guint8 *payload_type,
                               gsize         payload_type_len,
                               const guint8 *payload,
                               gsize         payload_len)
{
  GByteArray *buf = g_byte_array_sized_new (strlen (domain) + payload_type_len + payload_len +
                                            3 * PUNCH_VARINT_MAX_LEN);

  append_field (buf, (const guint8 *) domain, strlen (domain));
  append_field (buf, payload_type, payload_type_len);
  append_field (buf, payload, payload_len);

  return g_byte_array_free_to_bytes (buf);
}

/*
 * punch_envelope_seal:
 * @keypair: the signer
 * @domain: the domain separation string
 * @payload_type: (array length=payload_type_len): the payload type
 * @payload_type_len: its length
 * @payload: (array length=payload_len) (nullable): the payload
 * @payload_len: its length
 * @error: return location for a #GError
 *
 * Signs @payload and wraps it in an envelope.
 *
 * Errors: those of punch_keypair_sign() (%PUNCH_ERROR_UNSUPPORTED for key
 * types Punch cannot sign with); %PUNCH_ERROR_TOO_LARGE when the envelope
 * would exceed %PUNCH_ENVELOPE_MAX_SIZE.
 *
 * Returns: (transfer full) (nullable): the encoded envelope
 */
GBytes *
punch_envelope_seal (PunchKeypair  *keypair,
                     const gchar   *domain,
                     const guint8  *payload_type,
                     gsize          payload_type_len,
                     const guint8  *payload,
                     gsize          payload_len,
                     GError       **error)
{
  Record__Pb__Envelope envelope = RECORD__PB__ENVELOPE__INIT;
  Keys__Pb__PublicKey *key = NULL;
  g_autoptr(GBytes) key_bytes = NULL;
  g_autoptr(GBytes) to_sign = NULL;
  g_autoptr(GBytes) signature = NULL;
  g_autoptr(GBytes) out = NULL;
  gsize key_len;
  const guint8 *key_data;

  g_return_val_if_fail (PUNCH_IS_KEYPAIR (keypair), NULL);
  g_return_val_if_fail (domain != NULL, NULL);
  g_return_val_if_fail (payload_type != NULL || payload_type_len == 0, NULL);
  g_return_val_if_fail (payload != NULL || payload_len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  to_sign = punch_envelope_signing_buffer (domain, payload_type, payload_type_len,
                                           payload, payload_len);
  signature = punch_keypair_sign (keypair, g_bytes_get_data (to_sign, NULL),
                                  g_bytes_get_size (to_sign), error);
  if (signature == NULL)
    return NULL;

  key_bytes = punch_public_key_to_protobuf (punch_keypair_get_public_key (keypair));
  key_data = g_bytes_get_data (key_bytes, &key_len);
  key = (Keys__Pb__PublicKey *) punch_proto_unpack (&keys__pb__public_key__descriptor,
                                                    key_data, key_len, 0, error);
  if (key == NULL)
    return NULL;

  envelope.public_key = key;
  envelope.payload_type.data = (guint8 *) payload_type;
  envelope.payload_type.len = payload_type_len;
  envelope.payload.data = (guint8 *) payload;
  envelope.payload.len = payload_len;
  envelope.signature.data = (guint8 *) g_bytes_get_data (signature, &envelope.signature.len);
  out = punch_proto_pack (&envelope.base);
  punch_proto_free (&key->base);

  if (g_bytes_get_size (out) > PUNCH_ENVELOPE_MAX_SIZE)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "Envelope of %" G_GSIZE_FORMAT " bytes exceeds the limit of %d",
                   g_bytes_get_size (out), PUNCH_ENVELOPE_MAX_SIZE);
      return NULL;
    }

  return g_steal_pointer (&out);
}

/*
 * punch_envelope_open:
 * @data: (array length=len): an encoded envelope
 * @len: its length
 * @domain: the domain separation string expected
 * @payload_type: (array length=payload_type_len): the payload type expected
 * @payload_type_len: its length
 * @out_signer: (out) (optional) (transfer full): the signer's public key
 * @out_payload: (out) (optional) (transfer full): the payload
 * @error: return location for a #GError
 *
 * Decodes an envelope and checks its signature with the public key it
 * carries. Who the signer must be is the caller's business (compare
 * @out_signer's peer id).
 *
 * Errors: %PUNCH_ERROR_TOO_LARGE above %PUNCH_ENVELOPE_MAX_SIZE;
 * %PUNCH_ERROR_MALFORMED for a bad protobuf, a missing or bad public key;
 * %PUNCH_ERROR_UNSUPPORTED for another payload type or a key type Punch
 * cannot verify with; %PUNCH_ERROR_BAD_SIGNATURE when the signature does
 * not verify (also when it was made for another domain, which is not
 * sent).
 *
 * Returns: %TRUE when the envelope is valid
 */
gboolean
punch_envelope_open (const guint8     *data,
                     gsize             len,
                     const gchar      *domain,
                     const guint8     *payload_type,
                     gsize             payload_type_len,
                     PunchPublicKey  **out_signer,
                     GBytes          **out_payload,
                     GError          **error)
{
  Record__Pb__Envelope *envelope;
  g_autoptr(GBytes) key_bytes = NULL;
  g_autoptr(GBytes) to_verify = NULL;
  g_autoptr(PunchPublicKey) signer = NULL;
  g_autoptr(GError) local_error = NULL;
  gboolean ok = FALSE;

  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (domain != NULL, FALSE);
  g_return_val_if_fail (payload_type != NULL || payload_type_len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  envelope = (Record__Pb__Envelope *) punch_proto_unpack (&record__pb__envelope__descriptor,
                                                          data, len, PUNCH_ENVELOPE_MAX_SIZE,
                                                          error);
  if (envelope == NULL)
    {
      g_prefix_error (error, "Bad envelope: ");
      return FALSE;
    }

  if (envelope->public_key == NULL)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Envelope without a public key");
      goto out;
    }
  key_bytes = punch_proto_pack (&envelope->public_key->base);
  signer = punch_public_key_new_from_protobuf (key_bytes, &local_error);
  if (signer == NULL)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "Bad public key in envelope: %s", local_error->message);
      goto out;
    }

  if (envelope->payload_type.len != payload_type_len ||
      (payload_type_len > 0 &&
       memcmp (envelope->payload_type.data, payload_type, payload_type_len) != 0))
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                   "Envelope has payload type of %" G_GSIZE_FORMAT
                   " bytes other than the one expected", envelope->payload_type.len);
      goto out;
    }

  if (envelope->signature.len == 0)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_BAD_SIGNATURE,
                           "Envelope without a signature");
      goto out;
    }

  to_verify = punch_envelope_signing_buffer (domain, envelope->payload_type.data,
                                             envelope->payload_type.len,
                                             envelope->payload.data, envelope->payload.len);
  if (!punch_public_key_verify (signer, g_bytes_get_data (to_verify, NULL),
                                g_bytes_get_size (to_verify), envelope->signature.data,
                                envelope->signature.len, error))
    {
      g_prefix_error (error, "Envelope (domain %s): ", domain);
      goto out;
    }

  if (out_signer != NULL)
    *out_signer = g_steal_pointer (&signer);
  if (out_payload != NULL)
    *out_payload = g_bytes_new (envelope->payload.data, envelope->payload.len);
  ok = TRUE;

out:
  punch_proto_free (&envelope->base);
  return ok;
}
