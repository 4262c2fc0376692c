/* punch-crypto-util.c: secret buffers and GnuTLS errors for the key code.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-crypto-private.h"

#include <string.h>

#include "punch-error.h"

/*
 * punch_crypto_clear:
 * @data: (nullable): a buffer
 * @len: its length
 *
 * Overwrites @data with zeroes in a way the compiler cannot optimise away
 * (gnutls_memset() is GnuTLS's explicit_bzero()).
 */
void
punch_crypto_clear (gpointer data,
                    gsize    len)
{
  if (data != NULL && len > 0)
    gnutls_memset (data, 0, len);
}

typedef struct {
  gsize len;
  guint8 data[];
} SecureBuffer;

static void
secure_buffer_free (gpointer user_data)
{
  SecureBuffer *buffer = user_data;

  punch_crypto_clear (buffer->data, buffer->len);
  g_free (buffer);
}

/*
 * punch_crypto_secure_bytes_new:
 * @data: (array length=len): secret bytes
 * @len: their length
 *
 * Returns: (transfer full): a #GBytes holding a copy of @data that is
 *   zeroed when the last reference goes
 */
GBytes *
punch_crypto_secure_bytes_new (gconstpointer data,
                               gsize         len)
{
  SecureBuffer *buffer;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  buffer = g_malloc (sizeof (SecureBuffer) + MAX (len, 1));
  buffer->len = len;
  if (len > 0)
    memcpy (buffer->data, data, len);

  return g_bytes_new_with_free_func (buffer->data, len, secure_buffer_free, buffer);
}

/*
 * punch_crypto_secure_bytes_take:
 * @data: (transfer full) (array length=len): secret bytes from g_malloc()
 * @len: their length
 *
 * Like punch_crypto_secure_bytes_new(), but clears and frees @data.
 *
 * Returns: (transfer full): the bytes
 */
GBytes *
punch_crypto_secure_bytes_take (gpointer data,
                                gsize    len)
{
  GBytes *bytes = punch_crypto_secure_bytes_new (data, len);

  punch_crypto_clear (data, len);
  g_free (data);

  return bytes;
}

/*
 * punch_crypto_gnutls_datum_clear:
 * @datum: a datum whose data GnuTLS allocated (may be empty)
 *
 * Zeroes, then frees the data of @datum with gnutls_free().
 */
void
punch_crypto_gnutls_datum_clear (gnutls_datum_t *datum)
{
  if (datum->data != NULL)
    {
      punch_crypto_clear (datum->data, datum->size);
      gnutls_free (datum->data);
    }
  datum->data = NULL;
  datum->size = 0;
}

void
punch_crypto_set_gnutls_error (GError     **error,
                               gint         code,
                               int          gnutls_code,
                               const gchar *format,
                               ...)
{
  g_autofree gchar *message = NULL;
  va_list args;

  if (error == NULL)
    return;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, PUNCH_ERROR, code, "%s: %s", message,
               gnutls_strerror (gnutls_code));
}

/*
 * punch_key_type_to_string:
 * @key_type: a key type
 *
 * Returns: the name of @key_type as the libp2p protobuf spells it
 */
const gchar *
punch_key_type_to_string (PunchKeyType key_type)
{
  switch (key_type)
    {
    case PUNCH_KEY_TYPE_RSA:
      return "RSA";
    case PUNCH_KEY_TYPE_ED25519:
      return "Ed25519";
    case PUNCH_KEY_TYPE_SECP256K1:
      return "Secp256k1";
    case PUNCH_KEY_TYPE_ECDSA:
      return "ECDSA";
    default:
      return "unknown";
    }
}
