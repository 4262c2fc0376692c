/* punch-tls-certificate.c: libp2p TLS certificates: generation and checks.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-tls-certificate.h"

#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "punch-crypto-private.h"
#include "punch-error.h"

/*
 * libp2p TLS (libp2p/specs tls/tls.md) authenticates peers with a
 * self-signed X.509 certificate whose key is unrelated to the host key. The
 * host key is carried in the libp2p Public Key Extension
 * (1.3.6.1.4.1.53594.1.1) as
 *
 *   SignedKey ::= SEQUENCE { publicKey OCTET STRING, signature OCTET STRING }
 *
 * where publicKey is the host's PublicKey protobuf and signature is the host
 * key's signature over "libp2p-tls-handshake:" followed by the DER
 * SubjectPublicKeyInfo of the certificate key.
 *
 * Our certificates have a fresh ECDSA P-256 key (what go-libp2p, rust-libp2p
 * and js-libp2p use), a random positive 62-bit serial, the same one-attribute
 * name (serialNumber) as subject and issuer, and exactly one extension: ours,
 * marked critical. js-libp2p only looks at the first extension of a peer's
 * certificate, so nothing may come before it.
 *
 * Checking a peer's certificate follows tls.md: exactly one certificate, no
 * unique identifiers, issuer equal to subject and a valid self-signature,
 * inside its validity period at the time the caller passes, our extension
 * present once, no other critical extension except basicConstraints and
 * keyUsage (which GnuTLS parses and which do not change what we check), and
 * a SignedKey whose host key signs the certificate's own SubjectPublicKeyInfo
 * (taken byte for byte from the certificate).
 *
 * GnuTLS parses the certificate; the few DER fields we need raw (the signed
 * part, the signature, the SubjectPublicKeyInfo) and SignedKey are read here
 * by a strict DER reader: definite minimal lengths, no trailing bytes.
 */

#define DER_TAG_INTEGER 0x02
#define DER_TAG_BIT_STRING 0x03
#define DER_TAG_OCTET_STRING 0x04
#define DER_TAG_SEQUENCE 0x30
#define DER_TAG_VERSION 0xa0           /* [0] EXPLICIT, constructed */
#define DER_TAG_ISSUER_UID 0x81        /* [1] IMPLICIT BIT STRING */
#define DER_TAG_SUBJECT_UID 0x82       /* [2] IMPLICIT BIT STRING */
#define DER_TAG_EXTENSIONS 0xa3        /* [3] EXPLICIT, constructed */

#define OID_X520_SERIAL_NUMBER "2.5.4.5"
#define OID_BASIC_CONSTRAINTS "2.5.29.19"
#define OID_KEY_USAGE "2.5.29.15"

/* Longest dotted OID text read from a peer certificate. */
#define OID_TEXT_MAX_LEN 128

/* Aliases so GLib's cleanup macros get names of our own. */
typedef gnutls_x509_crt_t PunchTlsX509Crt;
typedef gnutls_x509_privkey_t PunchTlsX509Privkey;
typedef gnutls_pubkey_t PunchTlsPubkey;
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (PunchTlsX509Crt, gnutls_x509_crt_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (PunchTlsX509Privkey, gnutls_x509_privkey_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (PunchTlsPubkey, gnutls_pubkey_deinit, NULL)

struct _PunchTlsCertificate {
  gnutls_x509_crt_t crt;
  gnutls_x509_privkey_t key;
  GBytes *der;
  PunchPeerId *peer_id;
  gnutls_certificate_credentials_t credentials; /* made on first use */
};

/* Guards the credentials' creation (a certificate may be shared). */
static GMutex credentials_lock;

/* ------------------------------------------------------------------ */
/* DER                                                                */
/* ------------------------------------------------------------------ */

typedef struct {
  const guint8 *data;
  gsize len;
} DerSpan;

/*
 * der_read:
 * @reader: the bytes left to read; advanced past the element on success
 * @tag: the identifier octet expected
 * @what: the element's name, for errors
 * @out_value: (out) (optional): the contents
 * @out_element: (out) (optional): the whole element, header included
 *
 * Reads one DER element with a definite, minimally encoded length of at most
 * 2^24 - 1 bytes.
 */
static gboolean
der_read (DerSpan      *reader,
          guint8        tag,
          const gchar  *what,
          DerSpan      *out_value,
          DerSpan      *out_element,
          GError      **error)
{
  const guint8 *p = reader->data;
  gsize header_len;
  gsize length;

  if (reader->len < 2)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED,
                   "%s: truncated before its header", what);
      return FALSE;
    }
  if (p[0] != tag)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "%s: expected DER tag 0x%02x, found 0x%02x",
                   what, tag, p[0]);
      return FALSE;
    }

  if (p[1] < 0x80)
    {
      length = p[1];
      header_len = 2;
    }
  else if (p[1] == 0x80)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "%s: indefinite length is not DER", what);
      return FALSE;
    }
  else
    {
      gsize n = p[1] & 0x7f;
      gsize i;

      if (n > 3)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                       "%s: length of %" G_GSIZE_FORMAT " bytes is too large",
                       what, n);
          return FALSE;
        }
      if (reader->len < 2 + n)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED,
                       "%s: truncated inside its length", what);
          return FALSE;
        }
      if (p[2] == 0 || (n == 1 && p[2] < 0x80))
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "%s: length is not minimally encoded", what);
          return FALSE;
        }
      length = 0;
      for (i = 0; i < n; i++)
        length = (length << 8) | p[2 + i];
      header_len = 2 + n;
    }

  if (length > reader->len - header_len)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED,
                   "%s: %" G_GSIZE_FORMAT " bytes announced, %" G_GSIZE_FORMAT
                   " present", what, length, reader->len - header_len);
      return FALSE;
    }

  if (out_value != NULL)
    {
      out_value->data = p + header_len;
      out_value->len = length;
    }
  if (out_element != NULL)
    {
      out_element->data = p;
      out_element->len = header_len + length;
    }
  reader->data += header_len + length;
  reader->len -= header_len + length;

  return TRUE;
}

static gsize
der_header_size (gsize length)
{
  if (length < 0x80)
    return 2;
  if (length <= 0xff)
    return 3;
  return 4;
}

static void
der_append_header (GByteArray *out,
                   guint8      tag,
                   gsize       length)
{
  guint8 header[4];
  gsize n = 0;

  g_assert (length <= 0xffff);

  header[n++] = tag;
  if (length < 0x80)
    {
      header[n++] = (guint8) length;
    }
  else if (length <= 0xff)
    {
      header[n++] = 0x81;
      header[n++] = (guint8) length;
    }
  else
    {
      header[n++] = 0x82;
      header[n++] = (guint8) (length >> 8);
      header[n++] = (guint8) length;
    }
  g_byte_array_append (out, header, n);
}

/* ------------------------------------------------------------------ */
/* SignedKey                                                          */
/* ------------------------------------------------------------------ */

/*
 * punch_tls_signed_key_encode:
 * @public_key: (array length=public_key_len): the host's PublicKey protobuf
 * @public_key_len: its length, 1 to %PUNCH_PUBLIC_KEY_MAX_LEN
 * @signature: (array length=signature_len): the host key's signature
 * @signature_len: its length, 1 to %PUNCH_TLS_SIGNATURE_MAX_LEN
 *
 * Encodes the SignedKey structure of the libp2p Public Key Extension in DER.
 *
 * Returns: (transfer full): the DER bytes
 */
GBytes *
punch_tls_signed_key_encode (const guint8 *public_key,
                             gsize         public_key_len,
                             const guint8 *signature,
                             gsize         signature_len)
{
  g_autoptr(GByteArray) out = NULL;
  gsize body_len;

  g_return_val_if_fail (public_key != NULL, NULL);
  g_return_val_if_fail (public_key_len > 0 &&
                        public_key_len <= PUNCH_PUBLIC_KEY_MAX_LEN, NULL);
  g_return_val_if_fail (signature != NULL, NULL);
  g_return_val_if_fail (signature_len > 0 &&
                        signature_len <= PUNCH_TLS_SIGNATURE_MAX_LEN, NULL);

  body_len = der_header_size (public_key_len) + public_key_len +
             der_header_size (signature_len) + signature_len;

  out = g_byte_array_sized_new (der_header_size (body_len) + body_len);
  der_append_header (out, DER_TAG_SEQUENCE, body_len);
  der_append_header (out, DER_TAG_OCTET_STRING, public_key_len);
  g_byte_array_append (out, public_key, public_key_len);
  der_append_header (out, DER_TAG_OCTET_STRING, signature_len);
  g_byte_array_append (out, signature, signature_len);

  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/*
 * punch_tls_signed_key_decode:
 * @der: (array length=der_len): the extension's value
 * @der_len: its length
 * @out_public_key: (out) (transfer none): the PublicKey protobuf, inside @der
 * @out_public_key_len: (out): its length
 * @out_signature: (out) (transfer none): the signature, inside @der
 * @out_signature_len: (out): its length
 * @error: return location for a #GError
 *
 * Decodes a SignedKey structure. The DER must be exact: a SEQUENCE of two
 * non-empty primitive OCTET STRINGs with definite minimal lengths and
 * nothing after them.
 *
 * Errors: %PUNCH_ERROR_TOO_LARGE if @der, the public key or the signature
 *   is larger than allowed, %PUNCH_ERROR_TRUNCATED if an element is cut
 *   short, %PUNCH_ERROR_MALFORMED for anything else that is not the
 *   structure above.
 *
 * Returns: %TRUE if @der is a SignedKey
 */
gboolean
punch_tls_signed_key_decode (const guint8  *der,
                             gsize          der_len,
                             const guint8 **out_public_key,
                             gsize         *out_public_key_len,
                             const guint8 **out_signature,
                             gsize         *out_signature_len,
                             GError       **error)
{
  DerSpan reader = { der, der_len };
  DerSpan body, public_key, signature;

  g_return_val_if_fail (der != NULL || der_len == 0, FALSE);
  g_return_val_if_fail (out_public_key != NULL && out_public_key_len != NULL, FALSE);
  g_return_val_if_fail (out_signature != NULL && out_signature_len != NULL, FALSE);

  if (der_len > PUNCH_TLS_SIGNED_KEY_MAX_LEN)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "SignedKey of %" G_GSIZE_FORMAT " bytes exceeds the limit of %d",
                   der_len, PUNCH_TLS_SIGNED_KEY_MAX_LEN);
      return FALSE;
    }

  if (!der_read (&reader, DER_TAG_SEQUENCE, "SignedKey", &body, NULL, error))
    return FALSE;
  if (reader.len != 0)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "SignedKey: %" G_GSIZE_FORMAT " trailing bytes", reader.len);
      return FALSE;
    }
  if (!der_read (&body, DER_TAG_OCTET_STRING, "SignedKey.publicKey",
                 &public_key, NULL, error) ||
      !der_read (&body, DER_TAG_OCTET_STRING, "SignedKey.signature",
                 &signature, NULL, error))
    return FALSE;
  if (body.len != 0)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "SignedKey: %" G_GSIZE_FORMAT " unexpected bytes after the signature",
                   body.len);
      return FALSE;
    }

  if (public_key.len == 0)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "SignedKey: empty public key");
      return FALSE;
    }
  if (public_key.len > PUNCH_PUBLIC_KEY_MAX_LEN)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "SignedKey: public key of %" G_GSIZE_FORMAT
                   " bytes exceeds the limit of %d",
                   public_key.len, PUNCH_PUBLIC_KEY_MAX_LEN);
      return FALSE;
    }
  if (signature.len == 0)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "SignedKey: empty signature");
      return FALSE;
    }
  if (signature.len > PUNCH_TLS_SIGNATURE_MAX_LEN)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "SignedKey: signature of %" G_GSIZE_FORMAT
                   " bytes exceeds the limit of %d",
                   signature.len, PUNCH_TLS_SIGNATURE_MAX_LEN);
      return FALSE;
    }

  *out_public_key = public_key.data;
  *out_public_key_len = public_key.len;
  *out_signature = signature.data;
  *out_signature_len = signature.len;

  return TRUE;
}

/* The message the host key signs: the prefix, then the SPKI. */
static GBytes *
signed_message_new (const guint8 *spki,
                    gsize         spki_len)
{
  gsize prefix_len = strlen (PUNCH_TLS_SIGNATURE_PREFIX);
  guint8 *message = g_malloc (prefix_len + spki_len);

  memcpy (message, PUNCH_TLS_SIGNATURE_PREFIX, prefix_len);
  memcpy (message + prefix_len, spki, spki_len);

  return g_bytes_new_take (message, prefix_len + spki_len);
}

/* ------------------------------------------------------------------ */
/* Our certificate                                                    */
/* ------------------------------------------------------------------ */

static void
certificate_clear (gpointer data)
{
  PunchTlsCertificate *self = data;

  g_clear_pointer (&self->credentials, gnutls_certificate_free_credentials);
  g_clear_pointer (&self->crt, gnutls_x509_crt_deinit);
  g_clear_pointer (&self->key, gnutls_x509_privkey_deinit);
  g_clear_pointer (&self->der, g_bytes_unref);
  g_clear_pointer (&self->peer_id, punch_peer_id_unref);
}

/*
 * punch_tls_certificate_new:
 * @host: the host's identity key pair
 * @now_unix_s: the current time, in seconds since the Unix epoch
 * @error: return location for a #GError
 *
 * Makes a self-signed certificate for @host with a new ECDSA P-256
 * certificate key, valid from an hour before @now_unix_s for about 100
 * years, whose only extension is the libp2p Public Key Extension (critical).
 * A certificate may serve any number of connections (tls.md).
 *
 * Errors: %PUNCH_ERROR_FAILED if GnuTLS fails, or the error of
 *   punch_keypair_sign() (%PUNCH_ERROR_UNSUPPORTED for a host key type
 *   Punch cannot sign with).
 *
 * Returns: (transfer full) (nullable): the certificate, or %NULL on error
 */
PunchTlsCertificate *
punch_tls_certificate_new (PunchKeypair  *host,
                           gint64         now_unix_s,
                           GError       **error)
{
  g_auto(PunchTlsX509Privkey) key = NULL;
  g_auto(PunchTlsX509Crt) crt = NULL;
  g_auto(PunchTlsPubkey) pubkey = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GBytes) signature = NULL;
  g_autoptr(GBytes) host_key = NULL;
  g_autoptr(GBytes) extension = NULL;
  g_autofree gchar *serial_text = NULL;
  gnutls_datum_t spki = { NULL, 0 };
  gnutls_datum_t der = { NULL, 0 };
  PunchTlsCertificate *self;
  PunchPublicKey *public_key;
  guint8 serial[8];
  guint64 serial_value = 0;
  gint64 not_before, not_after;
  gsize i;
  int ret;

  g_return_val_if_fail (PUNCH_IS_KEYPAIR (host), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if ((ret = gnutls_x509_privkey_init (&key)) < 0 ||
      (ret = gnutls_x509_privkey_generate2 (key, GNUTLS_PK_ECDSA,
                                            GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1),
                                            0, NULL, 0)) < 0)
    {
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_FAILED, ret,
                                     "Cannot generate a certificate key");
      return NULL;
    }

  /* The SubjectPublicKeyInfo the host key signs. GnuTLS encodes the
   * certificate's from the same key the same way. */
  if ((ret = gnutls_x509_crt_init (&crt)) < 0 ||
      (ret = gnutls_x509_crt_set_key (crt, key)) < 0 ||
      (ret = gnutls_pubkey_init (&pubkey)) < 0 ||
      (ret = gnutls_pubkey_import_x509 (pubkey, crt, 0)) < 0 ||
      (ret = gnutls_pubkey_export2 (pubkey, GNUTLS_X509_FMT_DER, &spki)) < 0)
    {
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_FAILED, ret,
                                     "Cannot encode the certificate key");
      return NULL;
    }
  message = signed_message_new (spki.data, spki.size);
  gnutls_free (spki.data);

  signature = punch_keypair_sign (host, g_bytes_get_data (message, NULL),
                                  g_bytes_get_size (message), error);
  if (signature == NULL)
    {
      g_prefix_error (error, "Cannot sign the certificate key with the host key: ");
      return NULL;
    }

  public_key = punch_keypair_get_public_key (host);
  host_key = punch_public_key_to_protobuf (public_key);
  if (g_bytes_get_size (host_key) > PUNCH_PUBLIC_KEY_MAX_LEN ||
      g_bytes_get_size (signature) > PUNCH_TLS_SIGNATURE_MAX_LEN ||
      g_bytes_get_size (signature) == 0)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "Host key (%" G_GSIZE_FORMAT " bytes) or signature (%"
                   G_GSIZE_FORMAT " bytes) too large for the certificate",
                   g_bytes_get_size (host_key), g_bytes_get_size (signature));
      return NULL;
    }
  extension = punch_tls_signed_key_encode (g_bytes_get_data (host_key, NULL),
                                           g_bytes_get_size (host_key),
                                           g_bytes_get_data (signature, NULL),
                                           g_bytes_get_size (signature));

  /* A positive serial with its top byte in 0x40..0x7f: 62 random bits, an
   * INTEGER of exactly 8 bytes with no sign padding. */
  gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof serial);
  serial[0] = (serial[0] & 0x3f) | 0x40;
  for (i = 0; i < sizeof serial; i++)
    serial_value = (serial_value << 8) | serial[i];
  serial_text = g_strdup_printf ("%" G_GUINT64_FORMAT, serial_value);

  not_before = now_unix_s - PUNCH_TLS_CERTIFICATE_BACKDATE_S;
  not_after = now_unix_s + PUNCH_TLS_CERTIFICATE_LIFETIME_S;
  if (sizeof (time_t) < sizeof (gint64))
    not_after = MIN (not_after, G_MAXINT32);

  if ((ret = gnutls_x509_crt_set_version (crt, 3)) < 0 ||
      (ret = gnutls_x509_crt_set_serial (crt, serial, sizeof serial)) < 0 ||
      (ret = gnutls_x509_crt_set_activation_time (crt, (time_t) not_before)) < 0 ||
      (ret = gnutls_x509_crt_set_expiration_time (crt, (time_t) not_after)) < 0 ||
      (ret = gnutls_x509_crt_set_dn_by_oid (crt, OID_X520_SERIAL_NUMBER, 0,
                                            serial_text, strlen (serial_text))) < 0 ||
      (ret = gnutls_x509_crt_set_extension_by_oid (crt, PUNCH_TLS_EXTENSION_OID,
                                                   g_bytes_get_data (extension, NULL),
                                                   g_bytes_get_size (extension),
                                                   1)) < 0 ||
      (ret = gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0 ||
      (ret = gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_DER, &der)) < 0)
    {
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_FAILED, ret,
                                     "Cannot make the TLS certificate");
      return NULL;
    }

  self = g_atomic_rc_box_new0 (PunchTlsCertificate);
  self->crt = g_steal_pointer (&crt);
  self->key = g_steal_pointer (&key);
  self->der = g_bytes_new (der.data, der.size);
  self->peer_id = punch_peer_id_ref (punch_public_key_get_peer_id (public_key));
  gnutls_free (der.data);

  g_debug ("Made a TLS certificate of %" G_GSIZE_FORMAT " bytes, serial %s",
           g_bytes_get_size (self->der), serial_text);

  return self;
}

/*
 * punch_tls_certificate_ref:
 * @self: a certificate
 *
 * Returns: (transfer full): @self
 */
PunchTlsCertificate *
punch_tls_certificate_ref (PunchTlsCertificate *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_atomic_rc_box_acquire (self);
}

/*
 * punch_tls_certificate_unref:
 * @self: (transfer full): a certificate
 */
void
punch_tls_certificate_unref (PunchTlsCertificate *self)
{
  g_return_if_fail (self != NULL);

  g_atomic_rc_box_release_full (self, certificate_clear);
}

/*
 * punch_tls_certificate_get_der:
 * @self: a certificate
 *
 * Returns: (transfer full): the certificate in DER
 */
GBytes *
punch_tls_certificate_get_der (PunchTlsCertificate *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_bytes_ref (self->der);
}

/*
 * punch_tls_certificate_get_peer_id:
 * @self: a certificate
 *
 * Returns: (transfer none): the peer id of the host the certificate is for
 */
PunchPeerId *
punch_tls_certificate_get_peer_id (PunchTlsCertificate *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->peer_id;
}

/*
 * punch_tls_certificate_add_to_credentials:
 * @self: a certificate
 * @credentials: GnuTLS certificate credentials
 * @error: return location for a #GError
 *
 * Copies the certificate and its key into @credentials.
 *
 * Errors: %PUNCH_ERROR_FAILED if GnuTLS refuses them.
 *
 * Returns: %TRUE on success
 */
gboolean
punch_tls_certificate_add_to_credentials (PunchTlsCertificate              *self,
                                          gnutls_certificate_credentials_t  credentials,
                                          GError                          **error)
{
  int ret;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (credentials != NULL, FALSE);

  ret = gnutls_certificate_set_x509_key (credentials, &self->crt, 1, self->key);
  if (ret < 0)
    {
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_FAILED, ret,
                                     "Cannot use the TLS certificate");
      return FALSE;
    }

  return TRUE;
}

/*
 * punch_tls_certificate_get_credentials:
 * @self: a certificate
 * @error: return location for a #GError
 *
 * GnuTLS certificate credentials holding the certificate and its key, for
 * every session that presents it: made once, not one copy (a trust list,
 * the certificate and the key, several KiB) per connection. They set no
 * verify function; a session sets its own.
 *
 * Errors: %PUNCH_ERROR_FAILED if GnuTLS cannot make them.
 *
 * Returns: (transfer none) (nullable): the credentials, valid as long as
 *   @self is
 */
gnutls_certificate_credentials_t
punch_tls_certificate_get_credentials (PunchTlsCertificate  *self,
                                       GError              **error)
{
  gnutls_certificate_credentials_t credentials;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_mutex_lock (&credentials_lock);
  if (self->credentials == NULL)
    {
      gnutls_certificate_credentials_t made = NULL;
      int ret = gnutls_certificate_allocate_credentials (&made);

      if (ret < 0)
        punch_crypto_set_gnutls_error (error, PUNCH_ERROR_FAILED, ret,
                                       "Cannot allocate TLS credentials");
      else if (!punch_tls_certificate_add_to_credentials (self, made, error))
        g_clear_pointer (&made, gnutls_certificate_free_credentials);
      self->credentials = made;
    }
  credentials = self->credentials;
  g_mutex_unlock (&credentials_lock);

  return credentials;
}

/* ------------------------------------------------------------------ */
/* A peer's certificate                                               */
/* ------------------------------------------------------------------ */

typedef struct {
  DerSpan tbs;          /* the signed TBSCertificate, whole */
  DerSpan signature;    /* the signature bits */
  DerSpan spki;         /* the SubjectPublicKeyInfo, whole */
} CertificateParts;

/*
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
 *                            signatureValue BIT STRING }
 * TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber,
 *   signature AlgorithmIdentifier, issuer, validity, subject,
 *   subjectPublicKeyInfo, [1] issuerUniqueID OPTIONAL,
 *   [2] subjectUniqueID OPTIONAL, [3] extensions OPTIONAL }
 */
static gboolean
split_certificate (const guint8     *der,
                   gsize             der_len,
                   CertificateParts *parts,
                   GError          **error)
{
  DerSpan reader = { der, der_len };
  DerSpan certificate, tbs_body, outer_algorithm, inner_algorithm, bits;

  if (!der_read (&reader, DER_TAG_SEQUENCE, "Certificate", &certificate, NULL, error))
    return FALSE;
  if (reader.len != 0)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "Certificate: %" G_GSIZE_FORMAT " trailing bytes", reader.len);
      return FALSE;
    }
  if (!der_read (&certificate, DER_TAG_SEQUENCE, "TBSCertificate",
                 &tbs_body, &parts->tbs, error) ||
      !der_read (&certificate, DER_TAG_SEQUENCE, "Certificate.signatureAlgorithm",
                 NULL, &outer_algorithm, error) ||
      !der_read (&certificate, DER_TAG_BIT_STRING, "Certificate.signatureValue",
                 &bits, NULL, error))
    return FALSE;
  if (certificate.len != 0)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "Certificate: %" G_GSIZE_FORMAT " unexpected bytes after the signature",
                   certificate.len);
      return FALSE;
    }
  if (bits.len < 2 || bits.data[0] != 0)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Certificate.signatureValue: not a whole number of bytes");
      return FALSE;
    }
  parts->signature.data = bits.data + 1;
  parts->signature.len = bits.len - 1;

  if (tbs_body.len > 0 && tbs_body.data[0] == DER_TAG_VERSION &&
      !der_read (&tbs_body, DER_TAG_VERSION, "TBSCertificate.version", NULL, NULL, error))
    return FALSE;
  if (!der_read (&tbs_body, DER_TAG_INTEGER, "TBSCertificate.serialNumber",
                 NULL, NULL, error) ||
      !der_read (&tbs_body, DER_TAG_SEQUENCE, "TBSCertificate.signature",
                 NULL, &inner_algorithm, error) ||
      !der_read (&tbs_body, DER_TAG_SEQUENCE, "TBSCertificate.issuer",
                 NULL, NULL, error) ||
      !der_read (&tbs_body, DER_TAG_SEQUENCE, "TBSCertificate.validity",
                 NULL, NULL, error) ||
      !der_read (&tbs_body, DER_TAG_SEQUENCE, "TBSCertificate.subject",
                 NULL, NULL, error) ||
      !der_read (&tbs_body, DER_TAG_SEQUENCE, "TBSCertificate.subjectPublicKeyInfo",
                 NULL, &parts->spki, error))
    return FALSE;

  /* RFC 5280 4.1.1.2: both algorithm identifiers must be the same. */
  if (inner_algorithm.len != outer_algorithm.len ||
      memcmp (inner_algorithm.data, outer_algorithm.data, inner_algorithm.len) != 0)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Certificate: the signature algorithms inside and "
                           "outside the signed part differ");
      return FALSE;
    }

  /* tls.md: certificates must omit the deprecated unique identifiers;
   * endpoints may refuse them, and we do. */
  if (tbs_body.len > 0 &&
      ((tbs_body.data[0] & 0xdf) == DER_TAG_ISSUER_UID ||
       (tbs_body.data[0] & 0xdf) == DER_TAG_SUBJECT_UID))
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Certificate carries a deprecated issuerUniqueID or "
                           "subjectUniqueID");
      return FALSE;
    }

  return TRUE;
}

static gchar *
format_unix_time (gint64 unix_s)
{
  g_autoptr(GDateTime) date = g_date_time_new_from_unix_utc (unix_s);

  if (date == NULL)
    return g_strdup_printf ("%" G_GINT64_FORMAT " s after the epoch", unix_s);

  return g_date_time_format_iso8601 (date);
}

static gboolean
check_validity (gnutls_x509_crt_t   crt,
                gint64              now_unix_s,
                GError            **error)
{
  time_t not_before = gnutls_x509_crt_get_activation_time (crt);
  time_t not_after = gnutls_x509_crt_get_expiration_time (crt);

  if (not_before == (time_t) -1 || not_after == (time_t) -1)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "Certificate has an unreadable validity period");
      return FALSE;
    }
  if (now_unix_s < (gint64) not_before)
    {
      g_autofree gchar *from = format_unix_time (not_before);
      g_autofree gchar *now = format_unix_time (now_unix_s);

      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                   "Certificate is not valid before %s (now %s)", from, now);
      return FALSE;
    }
  if (now_unix_s > (gint64) not_after)
    {
      g_autofree gchar *until = format_unix_time (not_after);
      g_autofree gchar *now = format_unix_time (now_unix_s);

      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                   "Certificate expired at %s (now %s)", until, now);
      return FALSE;
    }

  return TRUE;
}

static gboolean
check_self_signed (gnutls_x509_crt_t        crt,
                   const CertificateParts  *parts,
                   GError                 **error)
{
  g_auto(PunchTlsPubkey) pubkey = NULL;
  gnutls_datum_t issuer, subject, tbs, signature;
  int algorithm;
  int ret;

  if ((ret = gnutls_x509_crt_get_raw_issuer_dn (crt, &issuer)) < 0)
    {
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_MALFORMED, ret,
                                     "Certificate issuer unreadable");
      return FALSE;
    }
  if ((ret = gnutls_x509_crt_get_raw_dn (crt, &subject)) < 0)
    {
      gnutls_free (issuer.data);
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_MALFORMED, ret,
                                     "Certificate subject unreadable");
      return FALSE;
    }
  ret = issuer.size == subject.size &&
        memcmp (issuer.data, subject.data, issuer.size) == 0;
  gnutls_free (issuer.data);
  gnutls_free (subject.data);
  if (!ret)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                           "Certificate is not self-signed: its issuer differs "
                           "from its subject");
      return FALSE;
    }

  algorithm = gnutls_x509_crt_get_signature_algorithm (crt);
  if (algorithm <= 0 || algorithm == GNUTLS_SIGN_UNKNOWN)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                           "Certificate is signed with an unknown algorithm");
      return FALSE;
    }

  tbs.data = (guint8 *) parts->tbs.data;
  tbs.size = parts->tbs.len;
  signature.data = (guint8 *) parts->signature.data;
  signature.size = parts->signature.len;
  /* Not gnutls_x509_crt_verify_data2(): it also checks the validity period
   * against the system clock. */
  if ((ret = gnutls_pubkey_init (&pubkey)) < 0 ||
      (ret = gnutls_pubkey_import_x509 (pubkey, crt, 0)) < 0)
    {
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_UNSUPPORTED, ret,
                                     "Certificate key unusable");
      return FALSE;
    }
  ret = gnutls_pubkey_verify_data2 (pubkey, algorithm, 0, &tbs, &signature);
  if (ret == GNUTLS_E_PK_SIG_VERIFY_FAILED)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_BAD_SIGNATURE,
                   "Certificate self-signature (%s) does not verify",
                   gnutls_sign_get_name (algorithm));
      return FALSE;
    }
  if (ret < 0)
    {
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_UNSUPPORTED, ret,
                                     "Certificate self-signature (%s) cannot be checked",
                                     gnutls_sign_get_name (algorithm));
      return FALSE;
    }

  return TRUE;
}

/* Finds the libp2p extension and refuses critical extensions we do not
 * understand. Returns its index. */
static gboolean
find_libp2p_extension (gnutls_x509_crt_t   crt,
                       guint              *out_index,
                       GError            **error)
{
  gboolean found = FALSE;
  guint i;

  for (i = 0; ; i++)
    {
      gchar oid[OID_TEXT_MAX_LEN];
      size_t oid_size = sizeof oid;
      unsigned int critical = 0;
      int ret;

      ret = gnutls_x509_crt_get_extension_info (crt, i, oid, &oid_size, &critical);
      if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
        break;
      if (ret < 0)
        {
          punch_crypto_set_gnutls_error (error, PUNCH_ERROR_MALFORMED, ret,
                                         "Certificate extension %u unreadable", i);
          return FALSE;
        }
      if (i >= PUNCH_TLS_CERTIFICATE_MAX_EXTENSIONS)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                       "Certificate has more than %d extensions",
                       PUNCH_TLS_CERTIFICATE_MAX_EXTENSIONS);
          return FALSE;
        }

      if (g_str_equal (oid, PUNCH_TLS_EXTENSION_OID))
        {
          if (found)
            {
              g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                                   "Certificate has the libp2p Public Key "
                                   "Extension twice");
              return FALSE;
            }
          found = TRUE;
          *out_index = i;
        }
      else if (critical &&
               !g_str_equal (oid, OID_BASIC_CONSTRAINTS) &&
               !g_str_equal (oid, OID_KEY_USAGE))
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                       "Certificate has an unknown critical extension %s", oid);
          return FALSE;
        }
    }

  if (!found)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                           "Certificate lacks the libp2p Public Key Extension ("
                           PUNCH_TLS_EXTENSION_OID ")");
      return FALSE;
    }

  return TRUE;
}

/*
 * punch_tls_certificate_verify:
 * @der: (array length=der_len): a peer's certificate in DER
 * @der_len: its length
 * @now_unix_s: the current time, in seconds since the Unix epoch
 * @expected_peer_id: (nullable): the peer the caller meant to reach
 * @out_public_key: (out) (optional) (transfer full): the host public key
 * @error: return location for a #GError
 *
 * Checks a libp2p TLS certificate as tls.md requires and returns the peer
 * id it authenticates.
 *
 * Errors:
 * - %PUNCH_ERROR_TOO_LARGE: @der exceeds %PUNCH_TLS_CERTIFICATE_MAX_LEN,
 *   or it has too many extensions
 * - %PUNCH_ERROR_MALFORMED, %PUNCH_ERROR_TRUNCATED: the certificate or its
 *   SignedKey does not parse, or the host key protobuf is invalid
 * - %PUNCH_ERROR_PROTOCOL: the certificate is not self-signed, is outside
 *   its validity period, or lacks the libp2p extension
 * - %PUNCH_ERROR_BAD_SIGNATURE: the self-signature or the host key's
 *   signature does not verify
 * - %PUNCH_ERROR_UNSUPPORTED: an unknown critical extension, signature
 *   algorithm or host key type (secp256k1)
 * - %PUNCH_ERROR_PEER_ID_MISMATCH: the certificate authenticates another
 *   peer than @expected_peer_id
 *
 * Returns: (transfer full) (nullable): the peer id, or %NULL on error
 */
PunchPeerId *
punch_tls_certificate_verify (const guint8    *der,
                              gsize            der_len,
                              gint64           now_unix_s,
                              PunchPeerId     *expected_peer_id,
                              PunchPublicKey **out_public_key,
                              GError         **error)
{
  g_auto(PunchTlsX509Crt) crt = NULL;
  g_autoptr(PunchPublicKey) public_key = NULL;
  g_autoptr(PunchPeerId) peer_id = NULL;
  g_autoptr(GBytes) key_bytes = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GError) local_error = NULL;
  CertificateParts parts;
  gnutls_datum_t datum;
  gnutls_datum_t extension = { NULL, 0 };
  const guint8 *key_data, *signature;
  gsize key_len, signature_len;
  guint index = 0;
  gboolean ok;
  int ret;

  g_return_val_if_fail (der != NULL || der_len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (der_len > PUNCH_TLS_CERTIFICATE_MAX_LEN)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "Certificate of %" G_GSIZE_FORMAT " bytes exceeds the limit of %d",
                   der_len, PUNCH_TLS_CERTIFICATE_MAX_LEN);
      return NULL;
    }
  if (!split_certificate (der, der_len, &parts, error))
    return NULL;

  datum.data = (guint8 *) der;
  datum.size = der_len;
  if ((ret = gnutls_x509_crt_init (&crt)) < 0 ||
      (ret = gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_DER)) < 0)
    {
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_MALFORMED, ret,
                                     "Certificate does not parse");
      return NULL;
    }

  if (!check_validity (crt, now_unix_s, error) ||
      !check_self_signed (crt, &parts, error) ||
      !find_libp2p_extension (crt, &index, error))
    return NULL;

  ret = gnutls_x509_crt_get_extension_data2 (crt, index, &extension);
  if (ret < 0)
    {
      punch_crypto_set_gnutls_error (error, PUNCH_ERROR_MALFORMED, ret,
                                     "libp2p Public Key Extension unreadable");
      return NULL;
    }
  ok = punch_tls_signed_key_decode (extension.data, extension.size,
                                    &key_data, &key_len,
                                    &signature, &signature_len, error);
  if (ok)
    key_bytes = g_bytes_new (key_data, key_len);
  if (ok)
    message = signed_message_new (parts.spki.data, parts.spki.len);
  if (!ok)
    {
      gnutls_free (extension.data);
      return NULL;
    }

  public_key = punch_public_key_new_from_protobuf (key_bytes, &local_error);
  if (public_key == NULL)
    {
      gnutls_free (extension.data);
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "libp2p Public Key Extension: ");
      return NULL;
    }
  ok = punch_public_key_verify (public_key,
                                g_bytes_get_data (message, NULL),
                                g_bytes_get_size (message),
                                signature, signature_len, &local_error);
  gnutls_free (extension.data);
  if (!ok)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "libp2p Public Key Extension: the %s host key "
                                  "does not sign the certificate key: ",
                                  punch_key_type_to_string (punch_public_key_get_key_type (public_key)));
      return NULL;
    }

  peer_id = punch_peer_id_ref (punch_public_key_get_peer_id (public_key));
  if (expected_peer_id != NULL && !punch_peer_id_equal (peer_id, expected_peer_id))
    {
      g_autofree gchar *expected = punch_peer_id_to_string (expected_peer_id);
      g_autofree gchar *actual = punch_peer_id_to_string (peer_id);

      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH,
                   "Expected peer %s, the certificate authenticates %s",
                   expected, actual);
      return NULL;
    }

  if (out_public_key != NULL)
    *out_public_key = g_steal_pointer (&public_key);

  return g_steal_pointer (&peer_id);
}

/*
 * punch_tls_certificate_verify_chain:
 * @chain: (array length=n_certificates): the certificates a peer sent, in DER
 * @n_certificates: their number
 * @now_unix_s: the current time, in seconds since the Unix epoch
 * @expected_peer_id: (nullable): the peer the caller meant to reach
 * @out_public_key: (out) (optional) (transfer full): the host public key
 * @error: return location for a #GError
 *
 * Like punch_tls_certificate_verify(), after checking that the peer sent
 * exactly one certificate (tls.md).
 *
 * Errors: %PUNCH_ERROR_PROTOCOL for no certificate or more than one, or
 *   those of punch_tls_certificate_verify().
 *
 * Returns: (transfer full) (nullable): the peer id, or %NULL on error
 */
PunchPeerId *
punch_tls_certificate_verify_chain (const gnutls_datum_t  *chain,
                                    gsize                  n_certificates,
                                    gint64                 now_unix_s,
                                    PunchPeerId           *expected_peer_id,
                                    PunchPublicKey       **out_public_key,
                                    GError               **error)
{
  g_return_val_if_fail (chain != NULL || n_certificates == 0, NULL);

  if (n_certificates == 0)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                           "Peer sent no certificate");
      return NULL;
    }
  if (n_certificates > 1)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                   "Peer sent %" G_GSIZE_FORMAT " certificates; libp2p TLS "
                   "allows exactly one", n_certificates);
      return NULL;
    }

  return punch_tls_certificate_verify (chain[0].data, chain[0].size, now_unix_s,
                                       expected_peer_id, out_public_key, error);
}
