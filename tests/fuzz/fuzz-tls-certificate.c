/* fuzz-tls-certificate.c: libFuzzer target for libp2p TLS certificate checks.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "punch-crypto-private.h"
#include "punch-error.h"
#include "punch-tls-certificate.h"

/*
 * The first byte picks what the rest is:
 *   0: a certificate in DER, checked at a fixed time, and (independently)
 *      a SignedKey structure;
 *   1: the value of the libp2p extension of a certificate this harness
 *      signs, so the input gets past the self-signature check;
 *   2: the same, with the input split into a PublicKey protobuf and a
 *      signature wrapped in a valid SignedKey.
 * The corpus seeds are our own certificates (mode 0) and SignedKeys.
 */

/* 2026-01-01T00:00:00Z, the time the seed certificates were made. */
#define NOW G_GINT64_CONSTANT (1767225600)

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static gnutls_x509_privkey_t certificate_key;

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  /* A g_return_if_fail() reached from a decoder is a bug too. */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);

  if (gnutls_x509_privkey_init (&certificate_key) < 0 ||
      gnutls_x509_privkey_generate2 (certificate_key, GNUTLS_PK_ECDSA,
                                     GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1),
                                     0, NULL, 0) < 0)
    abort ();

  return 0;
}

static void
check_error (GError *error)
{
  if (error == NULL || error->domain != PUNCH_ERROR || error->message == NULL)
    abort ();
}

static void
check_certificate (const uint8_t *data,
                   size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchPublicKey) public_key = NULL;
  PunchPeerId *peer_id;

  peer_id = punch_tls_certificate_verify (data, size, NOW, NULL, &public_key, &error);
  if (peer_id != NULL)
    {
      if (public_key == NULL || error != NULL)
        abort ();
      if (!punch_peer_id_matches_public_key (peer_id, public_key))
        abort ();
      punch_peer_id_unref (peer_id);
    }
  else
    {
      check_error (error);
      if (public_key != NULL)
        abort ();
    }
}

static void
check_signed_key (const uint8_t *data,
                  size_t         size)
{
  g_autoptr(GError) error = NULL;
  const guint8 *key, *signature;
  gsize key_len, signature_len;

  if (punch_tls_signed_key_decode (data, size, &key, &key_len,
                                   &signature, &signature_len, &error))
    {
      g_autoptr(GBytes) again = NULL;

      if (error != NULL || key_len == 0 || signature_len == 0 ||
          key < data || key + key_len > data + size ||
          signature < data || signature + signature_len > data + size)
        abort ();

      /* DER is canonical: re-encoding gives the input back. */
      again = punch_tls_signed_key_encode (key, key_len, signature, signature_len);
      if (g_bytes_get_size (again) != size ||
          memcmp (g_bytes_get_data (again, NULL), data, size) != 0)
        abort ();
    }
  else
    {
      check_error (error);
    }
}

/* A certificate signed by certificate_key whose libp2p extension holds
 * @value. */
static void
check_extension (const uint8_t *value,
                 size_t         size)
{
  static const guint8 serial[] = { 0x01 };
  gnutls_x509_crt_t crt;
  gnutls_datum_t der = { NULL, 0 };

  if (gnutls_x509_crt_init (&crt) < 0)
    abort ();
  if (gnutls_x509_crt_set_version (crt, 3) < 0 ||
      gnutls_x509_crt_set_serial (crt, serial, sizeof serial) < 0 ||
      gnutls_x509_crt_set_activation_time (crt, NOW - 1) < 0 ||
      gnutls_x509_crt_set_expiration_time (crt, NOW + 1) < 0 ||
      gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, "fuzz", 4) < 0 ||
      gnutls_x509_crt_set_key (crt, certificate_key) < 0)
    abort ();

  /* GnuTLS refuses empty extension values; so does the check anyway. */
  if (size > 0 &&
      gnutls_x509_crt_set_extension_by_oid (crt, PUNCH_TLS_EXTENSION_OID,
                                            value, size, 1) >= 0 &&
      gnutls_x509_crt_sign2 (crt, crt, certificate_key, GNUTLS_DIG_SHA256, 0) >= 0 &&
      gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_DER, &der) >= 0)
    check_certificate (der.data, der.size);

  gnutls_free (der.data);
  gnutls_x509_crt_deinit (crt);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  if (size < 1)
    return 0;

  switch (data[0])
    {
    case 0:
      check_certificate (data + 1, size - 1);
      check_signed_key (data + 1, size - 1);
      break;

    case 1:
      if (size - 1 <= PUNCH_TLS_SIGNED_KEY_MAX_LEN + 16)
        check_extension (data + 1, size - 1);
      break;

    case 2:
      /* data[1]: how many of the remaining bytes are the public key. */
      if (size >= 4 && size - 2 <= PUNCH_TLS_SIGNED_KEY_MAX_LEN)
        {
          gsize key_len = MIN ((gsize) data[1] * 4, size - 3);
          gsize signature_len = size - 2 - key_len;
          g_autoptr(GBytes) signed_key = NULL;

          if (key_len == 0 || key_len > PUNCH_PUBLIC_KEY_MAX_LEN ||
              signature_len == 0 || signature_len > PUNCH_TLS_SIGNATURE_MAX_LEN)
            break;
          signed_key = punch_tls_signed_key_encode (data + 2, key_len,
                                                    data + 2 + key_len, signature_len);
          check_signed_key (g_bytes_get_data (signed_key, NULL),
                            g_bytes_get_size (signed_key));
          check_extension (g_bytes_get_data (signed_key, NULL),
                           g_bytes_get_size (signed_key));
        }
      break;

    default:
      break;
    }

  return 0;
}
