/* test-tls.c: libp2p TLS certificates and in-memory TLS 1.3 sessions.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <punch.h>

#include <errno.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "punch-crypto-private.h"
#include "punch-tls-certificate.h"
#include "punch-tls-session.h"

/* 2026-01-01T00:00:00Z: the injected "now" of these tests. */
#define NOW G_GINT64_CONSTANT (1767225600)

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

static GBytes *
hex_to_bytes (const gchar *hex)
{
  gsize len = strlen (hex);
  guint8 *data;
  gsize i;

  g_assert_cmpuint (len % 2, ==, 0);
  data = g_malloc (len / 2 + 1);
  for (i = 0; i < len / 2; i++)
    {
      gint hi = g_ascii_xdigit_value (hex[2 * i]);
      gint lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      g_assert_cmpint (hi, >=, 0);
      g_assert_cmpint (lo, >=, 0);
      data[i] = (guint8) (hi << 4 | lo);
    }

  return g_bytes_new_take (data, len / 2);
}

/* Host keys are slow to make (RSA): one of each type per test run. */
static PunchKeypair *
get_host (PunchKeyType key_type,
          guint        which)
{
  static PunchKeypair *hosts[4][3];
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (key_type, <, 4);
  g_assert_cmpuint (which, <, 3);

  if (hosts[key_type][which] == NULL)
    {
      hosts[key_type][which] = punch_keypair_generate (key_type, &error);
      g_assert_no_error (error);
      g_assert_nonnull (hosts[key_type][which]);
    }

  return hosts[key_type][which];
}

static PunchPeerId *
host_peer_id (PunchKeypair *host)
{
  return punch_keypair_get_peer_id (host);
}

/* A minimal DER walker, independent of the library's, for layout checks. */
static gboolean
tlv (const guint8 **p,
     const guint8  *end,
     guint8        *tag,
     const guint8 **value,
     gsize         *len)
{
  gsize n, length = 0, i;

  if (end - *p < 2)
    return FALSE;
  *tag = (*p)[0];
  if ((*p)[1] < 0x80)
    {
      length = (*p)[1];
      *p += 2;
    }
  else
    {
      n = (*p)[1] & 0x7f;
      if (n == 0 || n > 4 || (gsize) (end - *p) < 2 + n)
        return FALSE;
      for (i = 0; i < n; i++)
        length = (length << 8) | (*p)[2 + i];
      *p += 2 + n;
    }
  if ((gsize) (end - *p) < length)
    return FALSE;
  *value = *p;
  *len = length;
  *p += length;

  return TRUE;
}

/* ------------------------------------------------------------------ */
/* SignedKey                                                          */
/* ------------------------------------------------------------------ */

static void
test_signed_key_roundtrip (void)
{
  static const gsize sizes[] = { 1, 32, 127, 128, 255, 256, 1024 };
  gsize i, j;

  for (i = 0; i < G_N_ELEMENTS (sizes); i++)
    for (j = 0; j < G_N_ELEMENTS (sizes); j++)
      {
        g_autofree guint8 *key = g_malloc (sizes[i]);
        g_autofree guint8 *sig = g_malloc (sizes[j]);
        g_autoptr(GBytes) der = NULL;
        g_autoptr(GError) error = NULL;
        const guint8 *out_key = NULL, *out_sig = NULL;
        gsize out_key_len = 0, out_sig_len = 0;
        const guint8 *d;
        gsize len;

        memset (key, 0x11 + (int) i, sizes[i]);
        memset (sig, 0x22 + (int) j, sizes[j]);
        der = punch_tls_signed_key_encode (key, sizes[i], sig, sizes[j]);
        g_assert_nonnull (der);
        d = g_bytes_get_data (der, &len);
        g_assert_cmpuint (d[0], ==, 0x30);

        g_assert_true (punch_tls_signed_key_decode (d, len, &out_key, &out_key_len,
                                                    &out_sig, &out_sig_len, &error));
        g_assert_no_error (error);
        g_assert_cmpmem (out_key, out_key_len, key, sizes[i]);
        g_assert_cmpmem (out_sig, out_sig_len, sig, sizes[j]);
        /* The results point into the input. */
        g_assert_true (out_key >= d && out_key + out_key_len <= d + len);
        g_assert_true (out_sig >= d && out_sig + out_sig_len <= d + len);

        /* Every strict prefix is truncated. */
        for (gsize cut = 0; cut < len; cut += 1 + len / 17)
          {
            g_autoptr(GError) cut_error = NULL;

            g_assert_false (punch_tls_signed_key_decode (d, cut, &out_key, &out_key_len,
                                                         &out_sig, &out_sig_len,
                                                         &cut_error));
            g_assert_error (cut_error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED);
          }
      }
}

static void
test_signed_key_known_encoding (void)
{
  const guint8 key[] = { 0xaa, 0xbb };
  const guint8 sig[] = { 0xcc };
  const guint8 expected[] = { 0x30, 0x07, 0x04, 0x02, 0xaa, 0xbb, 0x04, 0x01, 0xcc };
  g_autoptr(GBytes) der = punch_tls_signed_key_encode (key, sizeof key, sig, sizeof sig);
  g_autofree guint8 *big_key = g_malloc0 (200);
  g_autoptr(GBytes) big = NULL;
  const guint8 *d;
  gsize len;

  d = g_bytes_get_data (der, &len);
  g_assert_cmpmem (d, len, expected, sizeof expected);

  /* Long-form lengths: 0x81 for 128..255, 0x82 above. */
  big = punch_tls_signed_key_encode (big_key, 200, sig, sizeof sig);
  d = g_bytes_get_data (big, &len);
  g_assert_cmpuint (len, ==, 3 + 3 + 200 + 2 + 1);
  g_assert_cmpuint (d[0], ==, 0x30);
  g_assert_cmpuint (d[1], ==, 0x81);
  g_assert_cmpuint (d[2], ==, 206);
  g_assert_cmpuint (d[3], ==, 0x04);
  g_assert_cmpuint (d[4], ==, 0x81);
  g_assert_cmpuint (d[5], ==, 200);
}

typedef struct {
  const gchar *name;
  const gchar *hex;
  gint code;
} BadDer;

static const BadDer bad_signed_keys[] = {
  { "empty", "", PUNCH_ERROR_TRUNCATED },
  { "lone tag", "30", PUNCH_ERROR_TRUNCATED },
  { "not a sequence", "3100", PUNCH_ERROR_MALFORMED },
  { "set of strings", "3106 0401aa 0401bb", PUNCH_ERROR_MALFORMED },
  { "indefinite length", "3080 0401aa 0401bb 0000", PUNCH_ERROR_MALFORMED },
  { "non-minimal 0x81", "308106 0401aa 0401bb", PUNCH_ERROR_MALFORMED },
  { "non-minimal 0x82", "30820006 0401aa 0401bb", PUNCH_ERROR_MALFORMED },
  { "leading zero length", "308200ff", PUNCH_ERROR_MALFORMED },
  { "huge length", "308400000006 0401aa 0401bb", PUNCH_ERROR_TOO_LARGE },
  { "length cut", "3082", PUNCH_ERROR_TRUNCATED },
  { "trailing byte", "3006 0401aa 0401bb 00", PUNCH_ERROR_MALFORMED },
  { "extra element", "3009 0401aa 0401bb 0401cc", PUNCH_ERROR_MALFORMED },
  { "trailing byte inside", "3007 0401aa 0401bb 00", PUNCH_ERROR_MALFORMED },
  { "missing signature", "3003 0401aa", PUNCH_ERROR_TRUNCATED },
  { "empty sequence", "3000", PUNCH_ERROR_TRUNCATED },
  { "empty public key", "3005 0400 0401bb", PUNCH_ERROR_MALFORMED },
  { "empty signature", "3005 0401aa 0400", PUNCH_ERROR_MALFORMED },
  { "constructed octet string", "3008 2403 0401aa 0401bb", PUNCH_ERROR_MALFORMED },
  { "integer instead of key", "3006 020101 0401bb", PUNCH_ERROR_MALFORMED },
  { "bit string signature", "3006 0401aa 030100", PUNCH_ERROR_MALFORMED },
  { "announced beyond end", "3006 0405aa 0401bb", PUNCH_ERROR_TRUNCATED },
  { "inner length past outer", "3006 0401aa 0402bb", PUNCH_ERROR_TRUNCATED },
  { "inner element crossing the end", "3005 0401aa 0402bb", PUNCH_ERROR_MALFORMED },
};

static GBytes *
hex_to_bytes_spaced (const gchar *hex)
{
  g_autoptr(GString) clean = g_string_new (NULL);

  for (; *hex != '\0'; hex++)
    if (*hex != ' ')
      g_string_append_c (clean, *hex);

  return hex_to_bytes (clean->str);
}

static void
test_signed_key_malformed (void)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (bad_signed_keys); i++)
    {
      const BadDer *bad = &bad_signed_keys[i];
      g_autoptr(GBytes) der = NULL;
      g_autoptr(GError) error = NULL;
      const guint8 *k, *s;
      gsize kl, sl;

      g_test_message ("SignedKey: %s", bad->name);
      der = hex_to_bytes_spaced (bad->hex);
      g_assert_false (punch_tls_signed_key_decode (g_bytes_get_data (der, NULL),
                                                   g_bytes_get_size (der),
                                                   &k, &kl, &s, &sl, &error));
      g_assert_error (error, PUNCH_ERROR, bad->code);
    }
}

static void
test_signed_key_limits (void)
{
  g_autofree guint8 *big = g_malloc0 (PUNCH_TLS_SIGNED_KEY_MAX_LEN + 16);
  g_autoptr(GByteArray) der = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  const guint8 *k, *s;
  gsize kl, sl;
  guint8 header[4];

  /* Too large as a whole. */
  g_assert_false (punch_tls_signed_key_decode (big, PUNCH_TLS_SIGNED_KEY_MAX_LEN + 1,
                                               &k, &kl, &s, &sl, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
  g_clear_error (&error);

  /* A signature one byte over the limit, built by hand. */
  header[0] = 0x30;
  header[1] = 0x82;
  header[2] = (3 + 4 + PUNCH_TLS_SIGNATURE_MAX_LEN + 1) >> 8;
  header[3] = (3 + 4 + PUNCH_TLS_SIGNATURE_MAX_LEN + 1) & 0xff;
  g_byte_array_append (der, header, 4);
  g_byte_array_append (der, (const guint8 *) "\x04\x01\xaa", 3);
  header[0] = 0x04;
  header[2] = (PUNCH_TLS_SIGNATURE_MAX_LEN + 1) >> 8;
  header[3] = (PUNCH_TLS_SIGNATURE_MAX_LEN + 1) & 0xff;
  g_byte_array_append (der, header, 4);
  g_byte_array_append (der, big, PUNCH_TLS_SIGNATURE_MAX_LEN + 1);
  g_assert_false (punch_tls_signed_key_decode (der->data, der->len,
                                               &k, &kl, &s, &sl, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
  g_clear_error (&error);

  /* A public key one byte over the limit. */
  g_byte_array_set_size (der, 0);
  header[0] = 0x30;
  header[2] = (4 + PUNCH_PUBLIC_KEY_MAX_LEN + 1 + 3) >> 8;
  header[3] = (4 + PUNCH_PUBLIC_KEY_MAX_LEN + 1 + 3) & 0xff;
  g_byte_array_append (der, header, 4);
  header[0] = 0x04;
  header[2] = (PUNCH_PUBLIC_KEY_MAX_LEN + 1) >> 8;
  header[3] = (PUNCH_PUBLIC_KEY_MAX_LEN + 1) & 0xff;
  g_byte_array_append (der, header, 4);
  g_byte_array_append (der, big, PUNCH_PUBLIC_KEY_MAX_LEN + 1);
  g_byte_array_append (der, (const guint8 *) "\x04\x01\xbb", 3);
  g_assert_false (punch_tls_signed_key_decode (der->data, der->len,
                                               &k, &kl, &s, &sl, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
}

/* ------------------------------------------------------------------ */
/* Our certificates                                                   */
/* ------------------------------------------------------------------ */

static void
check_roundtrip (PunchKeyType key_type)
{
  PunchKeypair *host = get_host (key_type, 0);
  g_autoptr(PunchTlsCertificate) certificate = NULL;
  g_autoptr(PunchPublicKey) public_key = NULL;
  g_autoptr(PunchPeerId) peer_id = NULL;
  g_autoptr(PunchPeerId) again = NULL;
  g_autoptr(GBytes) der = NULL;
  g_autoptr(GError) error = NULL;

  certificate = punch_tls_certificate_new (host, NOW, &error);
  g_assert_no_error (error);
  g_assert_nonnull (certificate);
  g_assert_true (punch_peer_id_equal (punch_tls_certificate_get_peer_id (certificate),
                                      host_peer_id (host)));

  der = punch_tls_certificate_get_der (certificate);
  g_assert_cmpuint (g_bytes_get_size (der), <=, PUNCH_TLS_CERTIFICATE_MAX_LEN);

  peer_id = punch_tls_certificate_verify (g_bytes_get_data (der, NULL),
                                          g_bytes_get_size (der), NOW, NULL,
                                          &public_key, &error);
  g_assert_no_error (error);
  g_assert_nonnull (peer_id);
  g_assert_true (punch_peer_id_equal (peer_id, host_peer_id (host)));
  g_assert_true (punch_public_key_equal (public_key, punch_keypair_get_public_key (host)));

  /* With the right expectation, and the out parameter left out. */
  again = punch_tls_certificate_verify (g_bytes_get_data (der, NULL),
                                        g_bytes_get_size (der), NOW,
                                        host_peer_id (host), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (punch_peer_id_equal (again, peer_id));
}

static void
test_certificate_roundtrip_ed25519 (void)
{
  check_roundtrip (PUNCH_KEY_TYPE_ED25519);
}

static void
test_certificate_roundtrip_ecdsa (void)
{
  check_roundtrip (PUNCH_KEY_TYPE_ECDSA);
}

static void
test_certificate_roundtrip_rsa (void)
{
  check_roundtrip (PUNCH_KEY_TYPE_RSA);
}

/* Walks our certificate's DER by hand: the libp2p extension must be the
 * first (and only) one, critical, with a SignedKey whose key is the host's
 * and whose signature covers this certificate's SubjectPublicKeyInfo. */
static void
test_certificate_layout (void)
{
  static const guint8 oid[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xa2, 0x5a, 0x01, 0x01 };
  static const guint8 ecdsa_with_sha256[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                              0xce, 0x3d, 0x04, 0x03, 0x02 };
  static const guint8 p256_prefix[] = { 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86,
                                        0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
                                        0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
  PunchKeypair *host = get_host (PUNCH_KEY_TYPE_ED25519, 0);
  g_autoptr(PunchTlsCertificate) certificate = NULL;
  g_autoptr(GBytes) der = NULL;
  g_autoptr(GBytes) host_key = NULL;
  g_autoptr(GByteArray) message = NULL;
  g_autoptr(GError) error = NULL;
  /* All initialized: -O3 cannot see that the DER walks assign them. */
  const guint8 *p = NULL, *end = NULL, *cert = NULL, *tbs = NULL, *v = NULL;
  const guint8 *spki = NULL, *ext = NULL, *ext_end = NULL;
  const guint8 *issuer = NULL, *subject = NULL, *e = NULL, *key = NULL, *sig = NULL;
  gsize len = 0, cert_len = 0, tbs_len = 0, v_len = 0, spki_len = 0, ext_len = 0, issuer_len = 0;
  gsize subject_len = 0, key_len = 0, sig_len = 0;
  guint n_fields = 0, n_extensions = 0;
  guint8 tag = 0;
  gnutls_x509_crt_t crt;
  gnutls_datum_t datum;

  certificate = punch_tls_certificate_new (host, NOW, &error);
  g_assert_no_error (error);
  der = punch_tls_certificate_get_der (certificate);
  p = g_bytes_get_data (der, &len);
  end = p + len;

  g_assert_true (tlv (&p, end, &tag, &cert, &cert_len));
  g_assert_cmpuint (tag, ==, 0x30);
  g_assert_true (p == end);

  p = cert;
  end = cert + cert_len;
  g_assert_true (tlv (&p, end, &tag, &tbs, &tbs_len));
  g_assert_cmpuint (tag, ==, 0x30);
  /* Signed with ECDSA P-256 / SHA-256 (the certificate key). */
  g_assert_cmpmem (p, sizeof ecdsa_with_sha256, ecdsa_with_sha256, sizeof ecdsa_with_sha256);

  p = tbs;
  end = tbs + tbs_len;
  while (p < end)
    {
      const guint8 *start = p;

      g_assert_true (tlv (&p, end, &tag, &v, &v_len));
      switch (n_fields++)
        {
        case 0: /* version [0] { INTEGER 2 } */
          g_assert_cmpuint (tag, ==, 0xa0);
          g_assert_cmpmem (v, v_len, "\x02\x01\x02", 3);
          break;
        case 1: /* serial: positive, 8 bytes, minimal */
          g_assert_cmpuint (tag, ==, 0x02);
          g_assert_cmpuint (v_len, ==, 8);
          g_assert_cmpuint (v[0], >=, 0x40);
          g_assert_cmpuint (v[0], <=, 0x7f);
          break;
        case 2:
          g_assert_cmpmem (start, p - start, ecdsa_with_sha256, sizeof ecdsa_with_sha256);
          break;
        case 3:
          issuer = start;
          issuer_len = p - start;
          break;
        case 4: /* validity */
          g_assert_cmpuint (tag, ==, 0x30);
          break;
        case 5:
          subject = start;
          subject_len = p - start;
          break;
        case 6:
          spki = start;
          spki_len = p - start;
          break;
        case 7: /* extensions [3], nothing before it (no unique ids) */
          g_assert_cmpuint (tag, ==, 0xa3);
          ext = v;
          ext_len = v_len;
          break;
        default:
          g_assert_not_reached ();
        }
    }
  g_assert_cmpuint (n_fields, ==, 8);
  g_assert_cmpmem (issuer, issuer_len, subject, subject_len);
  g_assert_cmpuint (spki_len, ==, 91);
  g_assert_cmpmem (spki, sizeof p256_prefix, p256_prefix, sizeof p256_prefix);

  /* Extensions ::= SEQUENCE OF Extension */
  p = ext;
  end = ext + ext_len;
  g_assert_true (tlv (&p, end, &tag, &v, &v_len));
  g_assert_cmpuint (tag, ==, 0x30);
  g_assert_true (p == end);
  p = v;
  ext_end = v + v_len;
  while (p < ext_end)
    {
      const guint8 *f = NULL, *fv = NULL;
      gsize f_len = 0, fv_len = 0;

      g_assert_true (tlv (&p, ext_end, &tag, &f, &f_len));
      g_assert_cmpuint (tag, ==, 0x30);
      n_extensions++;
      if (n_extensions > 1)
        continue;

      /* The first: { extnID, critical TRUE, extnValue } */
      e = f;
      g_assert_true (tlv (&e, f + f_len, &tag, &fv, &fv_len));
      g_assert_cmpuint (tag, ==, 0x06);
      g_assert_cmpmem (fv, fv_len, oid, sizeof oid);
      g_assert_true (tlv (&e, f + f_len, &tag, &fv, &fv_len));
      g_assert_cmpuint (tag, ==, 0x01);
      g_assert_cmpmem (fv, fv_len, "\xff", 1);
      g_assert_true (tlv (&e, f + f_len, &tag, &fv, &fv_len));
      g_assert_cmpuint (tag, ==, 0x04);
      g_assert_true (e == f + f_len);

      g_assert_true (punch_tls_signed_key_decode (fv, fv_len, &key, &key_len,
                                                  &sig, &sig_len, &error));
      g_assert_no_error (error);
      host_key = punch_public_key_to_protobuf (punch_keypair_get_public_key (host));
      g_assert_cmpmem (key, key_len, g_bytes_get_data (host_key, NULL),
                       g_bytes_get_size (host_key));

      message = g_byte_array_new ();
      g_byte_array_append (message, (const guint8 *) PUNCH_TLS_SIGNATURE_PREFIX,
                           strlen (PUNCH_TLS_SIGNATURE_PREFIX));
      g_byte_array_append (message, spki, spki_len);
      g_assert_true (punch_public_key_verify (punch_keypair_get_public_key (host),
                                              message->data, message->len,
                                              sig, sig_len, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpuint (n_extensions, ==, 1);

  /* GnuTLS reads the same: extension 0 is ours and critical; the validity
   * is an hour back and about 100 years forward. */
  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  datum.data = (guint8 *) g_bytes_get_data (der, &len);
  datum.size = len;
  g_assert_cmpint (gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_DER), ==, 0);
  {
    gchar oid_text[64];
    size_t oid_size = sizeof oid_text;
    unsigned int critical = 0;

    g_assert_cmpint (gnutls_x509_crt_get_extension_info (crt, 0, oid_text, &oid_size,
                                                         &critical), ==, 0);
    g_assert_cmpstr (oid_text, ==, PUNCH_TLS_EXTENSION_OID);
    g_assert_cmpuint (critical, ==, 1);
    oid_size = sizeof oid_text;
    g_assert_cmpint (gnutls_x509_crt_get_extension_info (crt, 1, oid_text, &oid_size,
                                                         &critical),
                     ==, GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);
  }
  g_assert_cmpint (gnutls_x509_crt_get_version (crt), ==, 3);
  g_assert_cmpint (gnutls_x509_crt_get_activation_time (crt), ==,
                   NOW - PUNCH_TLS_CERTIFICATE_BACKDATE_S);
  g_assert_cmpint (gnutls_x509_crt_get_expiration_time (crt), ==,
                   NOW + PUNCH_TLS_CERTIFICATE_LIFETIME_S);
  gnutls_x509_crt_deinit (crt);
}

/* Each certificate has a fresh key and serial. */
static void
test_certificate_fresh (void)
{
  PunchKeypair *host = get_host (PUNCH_KEY_TYPE_ED25519, 0);
  g_autoptr(PunchTlsCertificate) a = punch_tls_certificate_new (host, NOW, NULL);
  g_autoptr(PunchTlsCertificate) b = punch_tls_certificate_new (host, NOW, NULL);
  g_autoptr(GBytes) a_der = punch_tls_certificate_get_der (a);
  g_autoptr(GBytes) b_der = punch_tls_certificate_get_der (b);
  PunchTlsCertificate *ref;

  g_assert_false (g_bytes_equal (a_der, b_der));

  ref = punch_tls_certificate_ref (a);
  g_assert_true (ref == a);
  punch_tls_certificate_unref (ref);
}

static void
test_certificate_validity (void)
{
  PunchKeypair *host = get_host (PUNCH_KEY_TYPE_ED25519, 0);
  g_autoptr(PunchTlsCertificate) certificate = punch_tls_certificate_new (host, NOW, NULL);
  g_autoptr(GBytes) der = punch_tls_certificate_get_der (certificate);
  const guint8 *d = g_bytes_get_data (der, NULL);
  gsize len = g_bytes_get_size (der);
  gint64 first = NOW - PUNCH_TLS_CERTIFICATE_BACKDATE_S;
  gint64 last = NOW + PUNCH_TLS_CERTIFICATE_LIFETIME_S;
  g_autoptr(GError) error = NULL;
  PunchPeerId *peer_id;

  peer_id = punch_tls_certificate_verify (d, len, first, NULL, NULL, &error);
  g_assert_no_error (error);
  punch_peer_id_unref (peer_id);
  peer_id = punch_tls_certificate_verify (d, len, last, NULL, NULL, &error);
  g_assert_no_error (error);
  punch_peer_id_unref (peer_id);

  g_assert_null (punch_tls_certificate_verify (d, len, first - 1, NULL, NULL, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "not valid before"));
  g_clear_error (&error);

  g_assert_null (punch_tls_certificate_verify (d, len, last + 1, NULL, NULL, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "expired"));
}

static void
test_certificate_peer_id_mismatch (void)
{
  PunchKeypair *host = get_host (PUNCH_KEY_TYPE_ED25519, 0);
  PunchKeypair *other = get_host (PUNCH_KEY_TYPE_ED25519, 1);
  g_autoptr(PunchTlsCertificate) certificate = punch_tls_certificate_new (host, NOW, NULL);
  g_autoptr(GBytes) der = punch_tls_certificate_get_der (certificate);
  g_autoptr(PunchPublicKey) public_key = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_null (punch_tls_certificate_verify (g_bytes_get_data (der, NULL),
                                               g_bytes_get_size (der), NOW,
                                               host_peer_id (other), &public_key,
                                               &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH);
  g_assert_null (public_key);
}

static void
test_certificate_chain_length (void)
{
  PunchKeypair *host = get_host (PUNCH_KEY_TYPE_ED25519, 0);
  g_autoptr(PunchTlsCertificate) certificate = punch_tls_certificate_new (host, NOW, NULL);
  g_autoptr(GBytes) der = punch_tls_certificate_get_der (certificate);
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchPeerId) peer_id = NULL;
  gnutls_datum_t chain[2];

  chain[0].data = chain[1].data = (guint8 *) g_bytes_get_data (der, NULL);
  chain[0].size = chain[1].size = g_bytes_get_size (der);

  peer_id = punch_tls_certificate_verify_chain (chain, 1, NOW, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (punch_peer_id_equal (peer_id, host_peer_id (host)));

  g_assert_null (punch_tls_certificate_verify_chain (chain, 2, NOW, NULL, NULL, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_clear_error (&error);

  g_assert_null (punch_tls_certificate_verify_chain (NULL, 0, NOW, NULL, NULL, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
}

/* ------------------------------------------------------------------ */
/* tls.md test vectors                                                */
/* ------------------------------------------------------------------ */

/* libp2p/specs tls/tls.md, "Test vectors". Their certificates are valid
 * from 1975 to 4096. */
static const gchar VECTOR_ED25519[] =
  "308201ae30820156a0030201020204499602d2300a06082a8648ce3d040302302031123010060355"
  "040a13096c69627032702e696f310a300806035504051301313020170d3735303130313133303030"
  "305a180f34303936303130313133303030305a302031123010060355040a13096c69627032702e69"
  "6f310a300806035504051301313059301306072a8648ce3d020106082a8648ce3d03010703420004"
  "0c901d423c831ca85e27c73c263ba132721bb9d7a84c4f0380b2a6756fd601331c8870234dec8785"
  "04c174144fa4b14b66a651691606d8173e55bd37e381569ea37c307a3078060a2b0601040183a25a"
  "0101046a3068042408011220a77f1d92fedb59dddaea5a1c4abd1ac2fbde7d7b879ed36450180992"
  "3d7c11b90440d90d2769db992d5e6195dbb08e706b6651e024fda6cfb8846694a435519941cac215"
  "a8207792e42849cccc6cd8136c6e4bde92a58c5e08cfd4206eb5fe0bf909300a06082a8648ce3d04"
  "03020346003043021f50f6b6c52711a881778718238f650c9fb48943ae6ee6d28427dc6071ae55e7"
  "02203625f116a7a454db9c56986c82a25682f7248ea1cb764d322ea983ed36a31b77";
static const gchar VECTOR_ED25519_PEER[] = "12D3KooWM6CgA9iBFZmcYAHA6A2qvbAxqfkmrYiRQuz3XEsk4Ksv";

static const gchar VECTOR_ECDSA[] =
  "308201f63082019da0030201020204499602d2300a06082a8648ce3d040302302031123010060355"
  "040a13096c69627032702e696f310a300806035504051301313020170d3735303130313133303030"
  "305a180f34303936303130313133303030305a302031123010060355040a13096c69627032702e69"
  "6f310a300806035504051301313059301306072a8648ce3d020106082a8648ce3d03010703420004"
  "0c901d423c831ca85e27c73c263ba132721bb9d7a84c4f0380b2a6756fd601331c8870234dec8785"
  "04c174144fa4b14b66a651691606d8173e55bd37e381569ea381c23081bf3081bc060a2b06010401"
  "83a25a01010481ad3081aa045f0803125b3059301306072a8648ce3d020106082a8648ce3d030107"
  "03420004bf30511f909414ebdd3242178fd290f093a551cf75c973155de0bb5a96fedf6cb5d52da7"
  "563e794b512f66e60c7f55ba8a3acf3dd72a801980d205e8a1ad29f2044730450220064ea8124774"
  "caf8f50e57f436aa62350ce652418c019df5d98a3ac666c9386a022100aa59d704a931b5f72fb922"
  "2cb6cc51f954d04a4e2e5450f8805fe8918f71eaae300a06082a8648ce3d04030203470030440220"
  "799395b0b6c1e940a7e4484705f610ab51ed376f19ff9d7c16757cfbf61b8d4302206205c03fbb0f"
  "95205c779be86581d3e31c01871ad5d1f3435bcf375cb0e5088a";
static const gchar VECTOR_ECDSA_PEER[] = "QmfXbAwNjJLXfesgztEHe8HwgVDCMMpZ9Eax1HYq6hn9uE";

static const gchar VECTOR_SECP256K1[] =
  "308201ba3082015fa0030201020204499602d2300a06082a8648ce3d040302302031123010060355"
  "040a13096c69627032702e696f310a300806035504051301313020170d3735303130313133303030"
  "305a180f34303936303130313133303030305a302031123010060355040a13096c69627032702e69"
  "6f310a300806035504051301313059301306072a8648ce3d020106082a8648ce3d03010703420004"
  "0c901d423c831ca85e27c73c263ba132721bb9d7a84c4f0380b2a6756fd601331c8870234dec8785"
  "04c174144fa4b14b66a651691606d8173e55bd37e381569ea38184308181307f060a2b0601040183"
  "a25a01010471306f0425080212210206dc6968726765b820f050263ececf7f71e4955892776c0970"
  "542efd689d2382044630440220145e15a991961f0d08cd15425bb95ec93f6ffa03c5a385eedc34ec"
  "f464c7a8ab022026b3109b8a3f40ef833169777eb2aa337cfb6282f188de0666d1bcec2a4690dd30"
  "0a06082a8648ce3d0403020349003046022100e1a217eeef9ec9204b3f774a08b70849646b6a1e6b"
  "8b27f93dc00ed58545d9fe022100b00dafa549d0f03547878338c7b15e7502888f6d45db387e5ae6"
  "b5d46899cef0";
static const gchar VECTOR_SECP256K1_PEER[] = "16Uiu2HAkutTMoTzDw1tCvSRtu6YoixJwS46S1ZFxW8hSx9fWHiPs";

static const gchar VECTOR_INVALID[] =
  "308201f73082019da0030201020204499602d2300a06082a8648ce3d040302302031123010060355"
  "040a13096c69627032702e696f310a300806035504051301313020170d3735303130313133303030"
  "305a180f34303936303130313133303030305a302031123010060355040a13096c69627032702e69"
  "6f310a300806035504051301313059301306072a8648ce3d020106082a8648ce3d03010703420004"
  "0c901d423c831ca85e27c73c263ba132721bb9d7a84c4f0380b2a6756fd601331c8870234dec8785"
  "04c174144fa4b14b66a651691606d8173e55bd37e381569ea381c23081bf3081bc060a2b06010401"
  "83a25a01010481ad3081aa045f0803125b3059301306072a8648ce3d020106082a8648ce3d030107"
  "03420004bf30511f909414ebdd3242178fd290f093a551cf75c973155de0bb5a96fedf6cb5d52da7"
  "563e794b512f66e60c7f55ba8a3acf3dd72a801980d205e8a1ad29f204473045022100bb6e03577b"
  "7cc7a3cd1558df0da2b117dfdcc0399bc2504ebe7de6f65cade72802206de96e2a5be9b6202adba2"
  "4ee0362e490641ac45c240db71fe955f2c5cf8df6e300a06082a8648ce3d04030203480030450221"
  "00e847f267f43717358f850355bdcabbefb2cfbf8a3c043b203a14788a092fe8db022027c1d04a2d"
  "41fd6b57a7e8b3989e470325de4406e52e084e34a3fd56eef0d0df";

static void
check_valid_vector (const gchar *hex,
                    const gchar *expected_text)
{
  g_autoptr(GBytes) der = hex_to_bytes (hex);
  g_autoptr(PunchPeerId) expected = NULL;
  g_autoptr(PunchPeerId) peer_id = NULL;
  g_autoptr(PunchPublicKey) public_key = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *text = NULL;

  expected = punch_peer_id_new_from_string (expected_text, &error);
  g_assert_no_error (error);

  peer_id = punch_tls_certificate_verify (g_bytes_get_data (der, NULL),
                                          g_bytes_get_size (der), NOW, NULL,
                                          &public_key, &error);
  g_assert_no_error (error);
  text = punch_peer_id_to_string (peer_id);
  g_assert_cmpstr (text, ==, expected_text);
  g_assert_true (punch_peer_id_matches_public_key (expected, public_key));
  g_clear_pointer (&peer_id, punch_peer_id_unref);

  /* The expected peer id is accepted... */
  peer_id = punch_tls_certificate_verify (g_bytes_get_data (der, NULL),
                                          g_bytes_get_size (der), NOW, expected,
                                          NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (peer_id);

  /* ...another is not... */
  g_assert_null (punch_tls_certificate_verify (g_bytes_get_data (der, NULL),
                                               g_bytes_get_size (der), NOW,
                                               host_peer_id (get_host (PUNCH_KEY_TYPE_ED25519, 0)),
                                               NULL, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH);
  g_clear_error (&error);

  /* ...and time matters: NotBefore is 1975-01-01T13:00:00Z. */
  g_assert_null (punch_tls_certificate_verify (g_bytes_get_data (der, NULL),
                                               g_bytes_get_size (der),
                                               G_GINT64_CONSTANT (157813200) - 1,
                                               NULL, NULL, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_clear_error (&error);
  g_clear_pointer (&peer_id, punch_peer_id_unref);
  peer_id = punch_tls_certificate_verify (g_bytes_get_data (der, NULL),
                                          g_bytes_get_size (der),
                                          G_GINT64_CONSTANT (157813200),
                                          NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (peer_id);
}

static void
test_vector_ed25519 (void)
{
  check_valid_vector (VECTOR_ED25519, VECTOR_ED25519_PEER);
}

static void
test_vector_ecdsa (void)
{
  check_valid_vector (VECTOR_ECDSA, VECTOR_ECDSA_PEER);
}

/* Punch cannot verify secp256k1 signatures (GnuTLS lacks the curve), so
 * the certificate is refused as unsupported; its SignedKey still carries
 * the listed peer's key. */
static void
test_vector_secp256k1 (void)
{
  g_autoptr(GBytes) der = hex_to_bytes (VECTOR_SECP256K1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) key_bytes = NULL;
  g_autoptr(PunchPublicKey) public_key = NULL;
  g_autofree gchar *text = NULL;
  gnutls_x509_crt_t crt;
  gnutls_datum_t datum, extension;
  const guint8 *key, *sig;
  gsize key_len, sig_len;

  g_assert_null (punch_tls_certificate_verify (g_bytes_get_data (der, NULL),
                                               g_bytes_get_size (der), NOW, NULL,
                                               NULL, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED);
  g_test_message ("secp256k1: %s", error->message);

  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  datum.data = (guint8 *) g_bytes_get_data (der, NULL);
  datum.size = g_bytes_get_size (der);
  g_assert_cmpint (gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_DER), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_get_extension_data2 (crt, 0, &extension), ==, 0);
  g_clear_error (&error);
  g_assert_true (punch_tls_signed_key_decode (extension.data, extension.size,
                                              &key, &key_len, &sig, &sig_len, &error));
  g_assert_no_error (error);
  key_bytes = g_bytes_new (key, key_len);
  public_key = punch_public_key_new_from_protobuf (key_bytes, &error);
  g_assert_no_error (error);
  g_assert_cmpint (punch_public_key_get_key_type (public_key), ==, PUNCH_KEY_TYPE_SECP256K1);
  text = punch_peer_id_to_string (punch_public_key_get_peer_id (public_key));
  g_assert_cmpstr (text, ==, VECTOR_SECP256K1_PEER);
  gnutls_free (extension.data);
  gnutls_x509_crt_deinit (crt);
}

static void
test_vector_invalid (void)
{
  g_autoptr(GBytes) der = hex_to_bytes (VECTOR_INVALID);
  g_autoptr(GError) error = NULL;

  g_assert_null (punch_tls_certificate_verify (g_bytes_get_data (der, NULL),
                                               g_bytes_get_size (der), NOW, NULL,
                                               NULL, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_BAD_SIGNATURE);
  g_assert_nonnull (strstr (error->message, "libp2p Public Key Extension"));
}

/* ------------------------------------------------------------------ */
/* Bad certificates, made with GnuTLS                                 */
/* ------------------------------------------------------------------ */

typedef struct {
  gboolean no_extension;           /* leave the libp2p extension out */
  PunchKeypair *key_of;            /* whose key goes in SignedKey (host) */
  PunchKeypair *signed_by;         /* who signs (host) */
  gboolean sign_other_spki;        /* sign another certificate key */
  const gchar *raw_extension_hex;  /* the extension's value, verbatim */
  gboolean not_critical;
  const gchar *extra_oid;          /* another extension, after ours */
  gboolean extra_critical;
  const gchar *extra_first_oid;    /* another extension, before ours */
  gboolean other_issuer;           /* issuer name differs from subject */
  gboolean signed_by_other_key;    /* self-signature by another key */
  gboolean unique_ids;             /* deprecated issuer/subjectUniqueID */
} CertSpec;

static gnutls_x509_privkey_t
new_p256_key (void)
{
  gnutls_x509_privkey_t key;

  g_assert_cmpint (gnutls_x509_privkey_init (&key), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_generate2 (key, GNUTLS_PK_ECDSA,
                                                  GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1),
                                                  0, NULL, 0), ==, 0);
  return key;
}

static GBytes *
spki_of (gnutls_x509_privkey_t key)
{
  gnutls_x509_crt_t crt;
  gnutls_pubkey_t pub;
  gnutls_datum_t spki;
  GBytes *bytes;

  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_key (crt, key), ==, 0);
  g_assert_cmpint (gnutls_pubkey_init (&pub), ==, 0);
  g_assert_cmpint (gnutls_pubkey_import_x509 (pub, crt, 0), ==, 0);
  g_assert_cmpint (gnutls_pubkey_export2 (pub, GNUTLS_X509_FMT_DER, &spki), ==, 0);
  bytes = g_bytes_new (spki.data, spki.size);
  gnutls_free (spki.data);
  gnutls_pubkey_deinit (pub);
  gnutls_x509_crt_deinit (crt);

  return bytes;
}

static GBytes *
make_certificate (const CertSpec *spec)
{
  PunchKeypair *host = get_host (PUNCH_KEY_TYPE_ED25519, 0);
  PunchKeypair *key_of = spec->key_of != NULL ? spec->key_of : host;
  PunchKeypair *signed_by = spec->signed_by != NULL ? spec->signed_by : host;
  gnutls_x509_privkey_t key = new_p256_key ();
  gnutls_x509_privkey_t signing_key = NULL;
  gnutls_x509_crt_t crt;
  gnutls_x509_crt_t issuer = NULL;
  gnutls_datum_t out;
  g_autoptr(GBytes) extension = NULL;
  GBytes *der;
  const guint8 serial[] = { 0x12, 0x34 };

  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_version (crt, 3), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_serial (crt, serial, sizeof serial), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_activation_time (crt, NOW - 10), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_expiration_time (crt, NOW + 1000), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                                  "test", 4), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_key (crt, key), ==, 0);

  if (spec->extra_first_oid != NULL)
    g_assert_cmpint (gnutls_x509_crt_set_extension_by_oid (crt, spec->extra_first_oid,
                                                           "\x05\x00", 2, 0), ==, 0);

  if (spec->raw_extension_hex != NULL)
    {
      extension = hex_to_bytes_spaced (spec->raw_extension_hex);
    }
  else if (!spec->no_extension)
    {
      g_autoptr(GBytes) spki = NULL;
      g_autoptr(GByteArray) message = g_byte_array_new ();
      g_autoptr(GBytes) signature = NULL;
      g_autoptr(GBytes) host_key = NULL;
      g_autoptr(GError) error = NULL;

      if (spec->sign_other_spki)
        {
          gnutls_x509_privkey_t other = new_p256_key ();

          spki = spki_of (other);
          gnutls_x509_privkey_deinit (other);
        }
      else
        {
          spki = spki_of (key);
        }
      g_byte_array_append (message, (const guint8 *) PUNCH_TLS_SIGNATURE_PREFIX,
                           strlen (PUNCH_TLS_SIGNATURE_PREFIX));
      g_byte_array_append (message, g_bytes_get_data (spki, NULL), g_bytes_get_size (spki));
      signature = punch_keypair_sign (signed_by, message->data, message->len, &error);
      g_assert_no_error (error);
      host_key = punch_public_key_to_protobuf (punch_keypair_get_public_key (key_of));
      extension = punch_tls_signed_key_encode (g_bytes_get_data (host_key, NULL),
                                               g_bytes_get_size (host_key),
                                               g_bytes_get_data (signature, NULL),
                                               g_bytes_get_size (signature));
    }
  if (extension != NULL)
    g_assert_cmpint (gnutls_x509_crt_set_extension_by_oid (crt, PUNCH_TLS_EXTENSION_OID,
                                                           g_bytes_get_data (extension, NULL),
                                                           g_bytes_get_size (extension),
                                                           !spec->not_critical), ==, 0);

  if (spec->extra_oid != NULL)
    g_assert_cmpint (gnutls_x509_crt_set_extension_by_oid (crt, spec->extra_oid,
                                                           "\x05\x00", 2,
                                                           spec->extra_critical), ==, 0);

  if (spec->unique_ids)
    {
      g_assert_cmpint (gnutls_x509_crt_set_subject_unique_id (crt, "\x01\x02", 2), ==, 0);
      g_assert_cmpint (gnutls_x509_crt_set_issuer_unique_id (crt, "\x01\x02", 2), ==, 0);
    }

  if (spec->other_issuer)
    {
      signing_key = new_p256_key ();
      g_assert_cmpint (gnutls_x509_crt_init (&issuer), ==, 0);
      g_assert_cmpint (gnutls_x509_crt_set_dn_by_oid (issuer, GNUTLS_OID_X520_COMMON_NAME, 0,
                                                      "issuer", 6), ==, 0);
      g_assert_cmpint (gnutls_x509_crt_set_key (issuer, signing_key), ==, 0);
      /* Sign with our own key under another name: only the names differ. */
      g_assert_cmpint (gnutls_x509_crt_sign2 (crt, issuer, key, GNUTLS_DIG_SHA256, 0), ==, 0);
    }
  else if (spec->signed_by_other_key)
    {
      signing_key = new_p256_key ();
      g_assert_cmpint (gnutls_x509_crt_sign2 (crt, crt, signing_key, GNUTLS_DIG_SHA256, 0), ==, 0);
    }
  else
    {
      g_assert_cmpint (gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0), ==, 0);
    }

  g_assert_cmpint (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_DER, &out), ==, 0);
  der = g_bytes_new (out.data, out.size);
  gnutls_free (out.data);
  gnutls_x509_crt_deinit (crt);
  if (issuer != NULL)
    gnutls_x509_crt_deinit (issuer);
  if (signing_key != NULL)
    gnutls_x509_privkey_deinit (signing_key);
  gnutls_x509_privkey_deinit (key);

  return der;
}

static void
expect_refused (const CertSpec *spec,
                gint            code,
                const gchar    *message_part)
{
  g_autoptr(GBytes) der = make_certificate (spec);
  g_autoptr(GError) error = NULL;

  g_assert_null (punch_tls_certificate_verify (g_bytes_get_data (der, NULL),
                                               g_bytes_get_size (der), NOW, NULL,
                                               NULL, &error));
  g_assert_error (error, PUNCH_ERROR, code);
  g_test_message ("refused: %s", error->message);
  if (message_part != NULL)
    g_assert_nonnull (strstr (error->message, message_part));
}

static void
expect_accepted (const CertSpec *spec)
{
  g_autoptr(GBytes) der = make_certificate (spec);
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchPeerId) peer_id = NULL;

  peer_id = punch_tls_certificate_verify (g_bytes_get_data (der, NULL),
                                          g_bytes_get_size (der), NOW, NULL,
                                          NULL, &error);
  g_assert_no_error (error);
  g_assert_true (punch_peer_id_equal (peer_id,
                                      host_peer_id (get_host (PUNCH_KEY_TYPE_ED25519, 0))));
}

static void
test_certificate_made_by_test (void)
{
  CertSpec spec = { 0 };

  /* The helper's certificates pass when nothing is wrong with them. */
  expect_accepted (&spec);
  spec.not_critical = TRUE;
  expect_accepted (&spec);
}

static void
test_certificate_no_extension (void)
{
  CertSpec spec = { .no_extension = TRUE };

  expect_refused (&spec, PUNCH_ERROR_PROTOCOL, "lacks the libp2p Public Key Extension");

  /* Only unrelated extensions. */
  spec.extra_oid = "1.2.3.4";
  expect_refused (&spec, PUNCH_ERROR_PROTOCOL, "lacks the libp2p Public Key Extension");
}

static void
test_certificate_bad_host_signature (void)
{
  CertSpec spec = { .sign_other_spki = TRUE };

  /* The host key signed another certificate key. */
  expect_refused (&spec, PUNCH_ERROR_BAD_SIGNATURE, "host key");
}

static void
test_certificate_key_signature_mismatch (void)
{
  CertSpec spec = { .key_of = get_host (PUNCH_KEY_TYPE_ED25519, 1) };

  /* SignedKey names host 1 but host 0 signed. */
  expect_refused (&spec, PUNCH_ERROR_BAD_SIGNATURE, NULL);

  /* An RSA key with an Ed25519 signature. */
  spec.key_of = get_host (PUNCH_KEY_TYPE_RSA, 0);
  expect_refused (&spec, PUNCH_ERROR_BAD_SIGNATURE, NULL);
}

static void
test_certificate_critical_extensions (void)
{
  CertSpec spec = { .extra_oid = "1.2.3.4", .extra_critical = TRUE };

  expect_refused (&spec, PUNCH_ERROR_UNSUPPORTED, "unknown critical extension 1.2.3.4");

  /* Unknown non-critical extensions are ignored, before or after ours. */
  spec.extra_critical = FALSE;
  expect_accepted (&spec);
  spec.extra_oid = NULL;
  spec.extra_first_oid = "1.2.3.5";
  expect_accepted (&spec);
}

static void
test_certificate_bad_extension_value (void)
{
  CertSpec spec = { .raw_extension_hex = "3000" };

  expect_refused (&spec, PUNCH_ERROR_TRUNCATED, "SignedKey");

  /* Trailing byte after a SignedKey. */
  spec.raw_extension_hex = "300604 01aa 0401bb 00";
  expect_refused (&spec, PUNCH_ERROR_MALFORMED, "trailing");

  /* A SignedKey whose public key is not a PublicKey protobuf. */
  spec.raw_extension_hex = "300604 01aa 0401bb";
  expect_refused (&spec, PUNCH_ERROR_MALFORMED, "libp2p Public Key Extension");
}

static void
test_certificate_not_self_signed (void)
{
  CertSpec spec = { .other_issuer = TRUE };

  expect_refused (&spec, PUNCH_ERROR_PROTOCOL, "not self-signed");

  spec.other_issuer = FALSE;
  spec.signed_by_other_key = TRUE;
  expect_refused (&spec, PUNCH_ERROR_BAD_SIGNATURE, "self-signature");
}

static void
test_certificate_unique_ids (void)
{
  CertSpec spec = { .unique_ids = TRUE };

  expect_refused (&spec, PUNCH_ERROR_MALFORMED, "UniqueID");
}

static void
test_certificate_tampered (void)
{
  PunchKeypair *host = get_host (PUNCH_KEY_TYPE_ED25519, 0);
  g_autoptr(PunchTlsCertificate) certificate = punch_tls_certificate_new (host, NOW, NULL);
  g_autoptr(GBytes) der = punch_tls_certificate_get_der (certificate);
  gsize len = g_bytes_get_size (der);
  g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (der, NULL), len);
  g_autofree guint8 *longer = g_malloc (len + 1);
  g_autoptr(GError) error = NULL;

  /* A bit of the serial number (byte 15: inside the 8-byte serial). */
  copy[15] ^= 0x01;
  g_assert_null (punch_tls_certificate_verify (copy, len, NOW, NULL, NULL, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);
  copy[15] ^= 0x01;

  /* The last byte of the self-signature. */
  copy[len - 1] ^= 0x01;
  g_assert_null (punch_tls_certificate_verify (copy, len, NOW, NULL, NULL, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);
  copy[len - 1] ^= 0x01;

  /* Trailing garbage. */
  memcpy (longer, copy, len);
  longer[len] = 0;
  g_assert_null (punch_tls_certificate_verify (longer, len + 1, NOW, NULL, NULL, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED);
  g_clear_error (&error);

  /* Every prefix is refused. */
  for (gsize cut = 0; cut < len; cut++)
    {
      g_assert_null (punch_tls_certificate_verify (copy, cut, NOW, NULL, NULL, &error));
      g_assert_true (g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED) ||
                     g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED));
      g_clear_error (&error);
    }

  /* Unchanged, it passes. */
  {
    g_autoptr(PunchPeerId) peer_id = punch_tls_certificate_verify (copy, len, NOW, NULL,
                                                                   NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (peer_id);
  }
}

static void
test_certificate_garbage (void)
{
  static const gchar * const inputs[] = {
    "",
    "00",
    "3000",
    "30030201 00",
    "3080 0000",
    "30 0a 30 03 02 01 00 30 00 03 01 00",
  };
  g_autofree guint8 *big = g_malloc0 (PUNCH_TLS_CERTIFICATE_MAX_LEN + 1);
  g_autoptr(GError) error = NULL;
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr(GBytes) der = hex_to_bytes_spaced (inputs[i]);

      g_assert_null (punch_tls_certificate_verify (g_bytes_get_data (der, NULL),
                                                   g_bytes_get_size (der), NOW, NULL,
                                                   NULL, &error));
      g_assert_true (g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED) ||
                     g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED));
      g_clear_error (&error);
    }

  g_assert_null (punch_tls_certificate_verify (big, PUNCH_TLS_CERTIFICATE_MAX_LEN + 1,
                                               NOW, NULL, NULL, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
}

/* ------------------------------------------------------------------ */
/* Sessions                                                           */
/* ------------------------------------------------------------------ */

/* Moves everything @from has produced to @to; returns the bytes moved. */
static gsize
transfer (PunchTlsSession *from,
          PunchTlsSession *to)
{
  g_autoptr(GBytes) bytes = punch_tls_session_pull_output (from);
  gsize len;

  if (bytes == NULL)
    return 0;
  len = g_bytes_get_size (bytes);
  g_assert_cmpuint (len, >, 0);
  punch_tls_session_receive (to, g_bytes_get_data (bytes, NULL), len);

  return len;
}

typedef struct {
  PunchTlsStatus client;
  PunchTlsStatus server;
  GError *client_error;
  GError *server_error;
} HandshakeResult;

static void
handshake_result_clear (HandshakeResult *result)
{
  g_clear_error (&result->client_error);
  g_clear_error (&result->server_error);
}

/* Runs both handshakes, shuttling bytes, until both have finished or
 * failed or nothing moves any more. */
static void
run_handshake (PunchTlsSession *client,
               PunchTlsSession *server,
               HandshakeResult *result)
{
  guint round;

  memset (result, 0, sizeof *result);
  result->client = result->server = PUNCH_TLS_WOULD_BLOCK;

  /* Each round, both sides process what the last round delivered; a
   * round that moves nothing leaves nothing to process. */
  for (round = 0; round < 16; round++)
    {
      if (result->client == PUNCH_TLS_WOULD_BLOCK)
        result->client = punch_tls_session_handshake (client, &result->client_error);
      if (result->server == PUNCH_TLS_WOULD_BLOCK)
        result->server = punch_tls_session_handshake (server, &result->server_error);

      if (transfer (client, server) + transfer (server, client) == 0)
        break;
    }
}

static void
make_pair (PunchKeypair        *client_host,
           PunchKeypair        *server_host,
           const gchar * const *client_alpn,
           const gchar * const *server_alpn,
           PunchPeerId         *client_expects,
           PunchTlsSession    **out_client,
           PunchTlsSession    **out_server)
{
  g_autoptr(GError) error = NULL;

  *out_client = punch_tls_session_new (PUNCH_TLS_ROLE_CLIENT, client_host, client_alpn,
                                       client_expects, NOW, &error);
  g_assert_no_error (error);
  *out_server = punch_tls_session_new (PUNCH_TLS_ROLE_SERVER, server_host, server_alpn,
                                       NULL, NOW, &error);
  g_assert_no_error (error);
  g_assert_cmpint (punch_tls_session_get_role (*out_client), ==, PUNCH_TLS_ROLE_CLIENT);
  g_assert_cmpint (punch_tls_session_get_role (*out_server), ==, PUNCH_TLS_ROLE_SERVER);
}

static void
check_established (PunchTlsSession *client,
                   PunchTlsSession *server,
                   PunchKeypair    *client_host,
                   PunchKeypair    *server_host,
                   const gchar     *alpn)
{
  g_assert_true (punch_tls_session_is_established (client));
  g_assert_true (punch_tls_session_is_established (server));
  g_assert_true (punch_peer_id_equal (punch_tls_session_get_remote_peer_id (client),
                                      host_peer_id (server_host)));
  g_assert_true (punch_peer_id_equal (punch_tls_session_get_remote_peer_id (server),
                                      host_peer_id (client_host)));
  g_assert_true (punch_peer_id_equal (punch_tls_session_get_local_peer_id (client),
                                      host_peer_id (client_host)));
  g_assert_true (punch_public_key_equal (punch_tls_session_get_remote_public_key (client),
                                         punch_keypair_get_public_key (server_host)));
  g_assert_true (punch_public_key_equal (punch_tls_session_get_remote_public_key (server),
                                         punch_keypair_get_public_key (client_host)));
  g_assert_cmpstr (punch_tls_session_get_alpn (client), ==, alpn);
  g_assert_cmpstr (punch_tls_session_get_alpn (server), ==, alpn);
}

static void
check_handshake (PunchKeyType client_type,
                 PunchKeyType server_type)
{
  PunchKeypair *client_host = get_host (client_type, 0);
  PunchKeypair *server_host = get_host (server_type, 1);
  g_autoptr(PunchTlsSession) client = NULL;
  g_autoptr(PunchTlsSession) server = NULL;
  HandshakeResult result;

  make_pair (client_host, server_host, NULL, NULL, host_peer_id (server_host),
             &client, &server);
  g_assert_false (punch_tls_session_is_established (client));
  g_assert_null (punch_tls_session_get_remote_peer_id (client));
  g_assert_null (punch_tls_session_get_alpn (client));

  run_handshake (client, server, &result);
  g_assert_no_error (result.client_error);
  g_assert_no_error (result.server_error);
  g_assert_cmpint (result.client, ==, PUNCH_TLS_DONE);
  g_assert_cmpint (result.server, ==, PUNCH_TLS_DONE);
  check_established (client, server, client_host, server_host, "libp2p");

  /* Once done, handshake() keeps saying so and produces nothing. */
  g_assert_cmpint (punch_tls_session_handshake (client, NULL), ==, PUNCH_TLS_DONE);
  g_assert_cmpuint (punch_tls_session_get_output_size (client), ==, 0);
  g_assert_null (punch_tls_session_pull_output (client));
}

static void
test_session_handshake_ed25519 (void)
{
  check_handshake (PUNCH_KEY_TYPE_ED25519, PUNCH_KEY_TYPE_ED25519);
}

static void
test_session_handshake_mixed_keys (void)
{
  check_handshake (PUNCH_KEY_TYPE_RSA, PUNCH_KEY_TYPE_ECDSA);
  check_handshake (PUNCH_KEY_TYPE_ECDSA, PUNCH_KEY_TYPE_ED25519);
}

typedef struct {
  const gchar *client[4];
  const gchar *server[4];
  const gchar *selected;   /* NULL: no protocol in common */
} AlpnCase;

static void
test_session_alpn (void)
{
  static const AlpnCase cases[] = {
    { { "/yamux/1.0.0", "libp2p" }, { "/yamux/1.0.0", "libp2p" }, "/yamux/1.0.0" },
    { { "/yamux/1.0.0", "libp2p" }, { "libp2p" }, "libp2p" },
    { { "libp2p" }, { "/yamux/1.0.0", "libp2p" }, "libp2p" },
    { { "libp2p" }, { "libp2p" }, "libp2p" },
    { { "/mplex/6.7.0", "/yamux/1.0.0", "libp2p" },
      { "/yamux/1.0.0", "/mplex/6.7.0", "libp2p" }, "/mplex/6.7.0" },
    { { "/yamux/1.0.0", "libp2p" }, { "/mplex/6.7.0", "libp2p" }, "libp2p" },
    { { "/yamux/1.0.0" }, { "libp2p" }, NULL },
  };
  PunchKeypair *client_host = get_host (PUNCH_KEY_TYPE_ED25519, 0);
  PunchKeypair *server_host = get_host (PUNCH_KEY_TYPE_ED25519, 1);
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(PunchTlsSession) client = NULL;
      g_autoptr(PunchTlsSession) server = NULL;
      HandshakeResult result;

      g_test_message ("ALPN case %" G_GSIZE_FORMAT, i);
      make_pair (client_host, server_host, cases[i].client, cases[i].server, NULL,
                 &client, &server);
      run_handshake (client, server, &result);
      if (cases[i].selected != NULL)
        {
          g_assert_no_error (result.client_error);
          g_assert_no_error (result.server_error);
          check_established (client, server, client_host, server_host, cases[i].selected);
        }
      else
        {
          g_assert_cmpint (result.server, ==, PUNCH_TLS_ERROR);
          g_assert_error (result.server_error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
          g_assert_nonnull (strstr (result.server_error->message, "ALPN"));
          g_assert_cmpint (result.client, ==, PUNCH_TLS_ERROR);
          g_assert_error (result.client_error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
          g_assert_false (punch_tls_session_is_established (client));
        }
      handshake_result_clear (&result);
    }
}

static void
test_session_alpn_invalid (void)
{
  static const gchar * const empty_name[] = { "", NULL };
  static const gchar * const nine[] = { "a", "b", "c", "d", "e", "f", "g", "h", "libp2p", NULL };
  static const gchar * const long_name[] = { "/a/very/long/protocol/name/1.0.0", "libp2p", NULL };
  PunchKeypair *host = get_host (PUNCH_KEY_TYPE_ED25519, 0);
  const gchar * const *lists[] = { empty_name, nine, long_name };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (lists); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_null (punch_tls_session_new (PUNCH_TLS_ROLE_CLIENT, host, lists[i], NULL,
                                            NOW, &error));
      g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED);
    }
}

/* Sends @len bytes each way at once and checks both sides read exactly
 * what the other wrote. */
static void
exchange (PunchTlsSession *a,
          PunchTlsSession *b,
          gsize            len)
{
  g_autofree guint8 *a_data = g_malloc (len);
  g_autofree guint8 *b_data = g_malloc (len);
  g_autofree guint8 *a_got = g_malloc (len);
  g_autofree guint8 *b_got = g_malloc (len);
  gsize a_read = 0, b_read = 0;
  guint8 buffer[20000];
  g_autoptr(GError) error = NULL;
  guint rounds = 0;
  gsize i;

  for (i = 0; i < len; i++)
    {
      a_data[i] = (guint8) g_test_rand_int ();
      b_data[i] = (guint8) (i * 7 + 3);
    }

  g_assert_cmpint (punch_tls_session_write (a, a_data, len, &error), ==, (gssize) len);
  g_assert_no_error (error);
  g_assert_cmpint (punch_tls_session_write (b, b_data, len, &error), ==, (gssize) len);
  g_assert_no_error (error);
  /* Records carry at most 16 KiB of plaintext, plus TLS 1.3 overhead. */
  g_assert_cmpuint (punch_tls_session_get_output_size (a), >=, len);
  g_assert_cmpuint (punch_tls_session_get_output_size (a), <=,
                    len + (len / 16384 + 1) * 64);

  while ((a_read < len || b_read < len) && rounds++ < 1000)
    {
      gsize n;

      transfer (a, b);
      transfer (b, a);
      for (;;)
        {
          PunchTlsStatus status = punch_tls_session_read (b, buffer, sizeof buffer, &n, &error);

          g_assert_no_error (error);
          if (status == PUNCH_TLS_WOULD_BLOCK)
            break;
          g_assert_cmpint (status, ==, PUNCH_TLS_DONE);
          g_assert_cmpuint (n, >, 0);
          g_assert_cmpuint (n, <=, 16384);
          g_assert_cmpuint (a_read + n, <=, len);
          memcpy (a_got + a_read, buffer, n);
          a_read += n;
        }
      for (;;)
        {
          PunchTlsStatus status = punch_tls_session_read (a, buffer, sizeof buffer, &n, &error);

          g_assert_no_error (error);
          if (status == PUNCH_TLS_WOULD_BLOCK)
            break;
          g_assert_cmpint (status, ==, PUNCH_TLS_DONE);
          g_assert_cmpuint (b_read + n, <=, len);
          memcpy (b_got + b_read, buffer, n);
          b_read += n;
        }
    }

  g_assert_cmpmem (a_got, a_read, a_data, len);
  g_assert_cmpmem (b_got, b_read, b_data, len);
}

static void
established_pair (PunchTlsSession **out_client,
                  PunchTlsSession **out_server)
{
  PunchKeypair *client_host = get_host (PUNCH_KEY_TYPE_ED25519, 0);
  PunchKeypair *server_host = get_host (PUNCH_KEY_TYPE_ED25519, 1);
  HandshakeResult result;

  make_pair (client_host, server_host, NULL, NULL, NULL, out_client, out_server);
  run_handshake (*out_client, *out_server, &result);
  g_assert_no_error (result.client_error);
  g_assert_no_error (result.server_error);
  g_assert_true (punch_tls_session_is_established (*out_client));
  g_assert_true (punch_tls_session_is_established (*out_server));
}

static void
test_session_data (void)
{
  g_autoptr(PunchTlsSession) client = NULL;
  g_autoptr(PunchTlsSession) server = NULL;
  g_autoptr(GError) error = NULL;
  guint8 buffer[16];
  gsize n = 99;

  established_pair (&client, &server);

  /* Nothing to read yet. */
  g_assert_cmpint (punch_tls_session_read (server, buffer, sizeof buffer, &n, &error),
                   ==, PUNCH_TLS_WOULD_BLOCK);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 0);

  exchange (client, server, 1);
  exchange (client, server, 1024 * 1024);
  exchange (server, client, 100000);

  /* A zero-length write is a no-op. */
  g_assert_cmpint (punch_tls_session_write (client, buffer, 0, &error), ==, 0);
  g_assert_no_error (error);
}

/* With an output sink, records are appended to the caller's buffer, after
 * anything already queued, and decrypt in order on the other side. */
static void
test_session_output_sink (void)
{
  g_autoptr(PunchTlsSession) client = NULL;
  g_autoptr(PunchTlsSession) server = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) sink = g_byte_array_new ();
  g_autoptr(GByteArray) received = g_byte_array_new ();
  guint8 plaintext[40000];
  guint8 buffer[4096];
  gsize queued;

  established_pair (&client, &server);
  for (gsize i = 0; i < sizeof plaintext; i++)
    plaintext[i] = (guint8) (i * 7);

  /* Queued before the sink is set: moved into it first. */
  g_assert_cmpint (punch_tls_session_write (client, plaintext, 1000, &error), ==, 1000);
  g_assert_no_error (error);
  queued = punch_tls_session_get_output_size (client);
  g_assert_cmpuint (queued, >, 1000);
  punch_tls_session_set_output (client, sink);
  g_assert_cmpuint (sink->len, ==, queued);
  g_assert_cmpuint (punch_tls_session_get_output_size (client), ==, 0);

  /* Written while the sink is set: appended to it, nothing queued inside. */
  g_assert_cmpint (punch_tls_session_write (client, plaintext + 1000, sizeof plaintext - 1000,
                                            &error), ==, sizeof plaintext - 1000);
  g_assert_no_error (error);
  g_assert_cmpuint (sink->len, >, queued + sizeof plaintext - 1000);
  g_assert_cmpuint (punch_tls_session_get_output_size (client), ==, 0);
  g_assert_null (punch_tls_session_pull_output (client));

  punch_tls_session_receive (server, sink->data, sink->len);
  g_byte_array_set_size (sink, 0);
  for (;;)
    {
      gsize n = 0;
      PunchTlsStatus status = punch_tls_session_read (server, buffer, sizeof buffer, &n, &error);

      g_assert_no_error (error);
      if (status == PUNCH_TLS_WOULD_BLOCK)
        break;
      g_assert_cmpint (status, ==, PUNCH_TLS_DONE);
      g_byte_array_append (received, buffer, (guint) n);
    }
  g_assert_cmpmem (received->data, received->len, plaintext, sizeof plaintext);

  /* Back to the session's own queue. */
  punch_tls_session_set_output (client, NULL);
  g_assert_cmpint (punch_tls_session_write (client, plaintext, 10, &error), ==, 10);
  g_assert_no_error (error);
  g_assert_cmpuint (sink->len, ==, 0);
  g_assert_cmpuint (punch_tls_session_get_output_size (client), >, 10);
}

/* Lent input is read in place; what is left when the caller takes its
 * buffer back is copied, and the stream of records stays intact even when
 * records straddle the pieces and the buffer is reused for the next one. */
static void
test_session_lent_input (void)
{
  g_autoptr(PunchTlsSession) client = NULL;
  g_autoptr(PunchTlsSession) server = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) ciphertext = NULL;
  g_autoptr(GByteArray) received = g_byte_array_new ();
  g_autofree guint8 *plaintext = g_malloc (100000);
  guint8 piece[7001];
  guint8 buffer[5000];
  const guint8 *data;
  gsize len;

  established_pair (&client, &server);
  for (gsize i = 0; i < 100000; i++)
    plaintext[i] = (guint8) (i * 13 + 1);
  g_assert_cmpint (punch_tls_session_write (client, plaintext, 100000, &error), ==, 100000);
  g_assert_no_error (error);
  ciphertext = punch_tls_session_pull_output (client);
  data = g_bytes_get_data (ciphertext, &len);

  for (gsize off = 0; off < len; off += sizeof piece)
    {
      gsize n = MIN (sizeof piece, len - off);

      memcpy (piece, data + off, n);
      punch_tls_session_receive_lent (server, piece, n);
      for (;;)
        {
          gsize got = 0;
          PunchTlsStatus status = punch_tls_session_read (server, buffer, sizeof buffer,
                                                          &got, &error);

          g_assert_no_error (error);
          if (status == PUNCH_TLS_WOULD_BLOCK)
            break;
          g_assert_cmpint (status, ==, PUNCH_TLS_DONE);
          g_byte_array_append (received, buffer, (guint) got);
        }
      punch_tls_session_keep_input (server);
      /* The session must not look at the piece any more. */
      memset (piece, 0xAA, sizeof piece);
    }
  g_assert_cmpmem (received->data, received->len, plaintext, 100000);

  /* Lent bytes then copied ones: the order is kept. */
  g_assert_cmpint (punch_tls_session_write (client, plaintext, 3000, &error), ==, 3000);
  g_assert_no_error (error);
  g_clear_pointer (&ciphertext, g_bytes_unref);
  ciphertext = punch_tls_session_pull_output (client);
  data = g_bytes_get_data (ciphertext, &len);
  g_assert_cmpuint (len, >, 100);
  memcpy (piece, data, 100);
  punch_tls_session_receive_lent (server, piece, 100);
  punch_tls_session_receive (server, data + 100, len - 100);
  memset (piece, 0xAA, sizeof piece);
  g_byte_array_set_size (received, 0);
  for (;;)
    {
      gsize got = 0;
      PunchTlsStatus status = punch_tls_session_read (server, buffer, sizeof buffer, &got, &error);

      g_assert_no_error (error);
      if (status == PUNCH_TLS_WOULD_BLOCK)
        break;
      g_assert_cmpint (status, ==, PUNCH_TLS_DONE);
      g_byte_array_append (received, buffer, (guint) got);
    }
  g_assert_cmpmem (received->data, received->len, plaintext, 3000);
  /* Nothing lent: a no-op. */
  punch_tls_session_keep_input (server);
}

static void
test_session_close_notify (void)
{
  g_autoptr(PunchTlsSession) client = NULL;
  g_autoptr(PunchTlsSession) server = NULL;
  g_autoptr(GError) error = NULL;
  guint8 buffer[64];
  gsize n;

  established_pair (&client, &server);

  /* Data, then close_notify from the client: the server reads the data,
   * then EOF, and can still answer. */
  g_assert_cmpint (punch_tls_session_write (client, (const guint8 *) "bye", 3, &error), ==, 3);
  g_assert_true (punch_tls_session_close (client, &error));
  g_assert_no_error (error);
  g_assert_true (punch_tls_session_close (client, &error));
  g_assert_cmpint (punch_tls_session_write (client, (const guint8 *) "x", 1, &error), ==, -1);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);
  transfer (client, server);

  g_assert_cmpint (punch_tls_session_read (server, buffer, sizeof buffer, &n, &error),
                   ==, PUNCH_TLS_DONE);
  g_assert_cmpmem (buffer, n, "bye", 3);
  g_assert_cmpint (punch_tls_session_read (server, buffer, sizeof buffer, &n, &error),
                   ==, PUNCH_TLS_EOF);
  g_assert_no_error (error);
  g_assert_cmpint (punch_tls_session_read (server, buffer, sizeof buffer, &n, &error),
                   ==, PUNCH_TLS_EOF);

  g_assert_cmpint (punch_tls_session_write (server, (const guint8 *) "ok", 2, &error), ==, 2);
  g_assert_true (punch_tls_session_close (server, &error));
  transfer (server, client);
  g_assert_cmpint (punch_tls_session_read (client, buffer, sizeof buffer, &n, &error),
                   ==, PUNCH_TLS_DONE);
  g_assert_cmpmem (buffer, n, "ok", 2);
  g_assert_cmpint (punch_tls_session_read (client, buffer, sizeof buffer, &n, &error),
                   ==, PUNCH_TLS_EOF);
  g_assert_no_error (error);
}

static void
test_session_eof_without_close_notify (void)
{
  g_autoptr(PunchTlsSession) client = NULL;
  g_autoptr(PunchTlsSession) server = NULL;
  g_autoptr(GError) error = NULL;
  guint8 buffer[64];
  gsize n;

  established_pair (&client, &server);
  punch_tls_session_receive_eof (server);
  g_assert_cmpint (punch_tls_session_read (server, buffer, sizeof buffer, &n, &error),
                   ==, PUNCH_TLS_ERROR);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);

  /* A failed session keeps failing with the same error. */
  g_assert_cmpint (punch_tls_session_write (server, buffer, 1, &error), ==, -1);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_false (punch_tls_session_close (server, &error));
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_assert_false (punch_tls_session_is_established (server));
}

static void
test_session_eof_during_handshake (void)
{
  g_autoptr(PunchTlsSession) client = NULL;
  g_autoptr(PunchTlsSession) server = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) flight = NULL;

  make_pair (get_host (PUNCH_KEY_TYPE_ED25519, 0), get_host (PUNCH_KEY_TYPE_ED25519, 1),
             NULL, NULL, NULL, &client, &server);
  g_assert_cmpint (punch_tls_session_handshake (client, &error), ==, PUNCH_TLS_WOULD_BLOCK);
  transfer (client, server);
  g_assert_cmpint (punch_tls_session_handshake (server, &error), ==, PUNCH_TLS_WOULD_BLOCK);

  /* Half of the server's flight, then the transport ends. */
  flight = punch_tls_session_pull_output (server);
  punch_tls_session_receive (client, g_bytes_get_data (flight, NULL),
                             g_bytes_get_size (flight) / 2);
  g_assert_cmpint (punch_tls_session_handshake (client, &error), ==, PUNCH_TLS_WOULD_BLOCK);
  g_assert_no_error (error);
  punch_tls_session_receive_eof (client);
  g_assert_cmpint (punch_tls_session_handshake (client, &error), ==, PUNCH_TLS_ERROR);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  /* The server's transport ends with nothing more. */
  punch_tls_session_receive_eof (server);
  g_assert_cmpint (punch_tls_session_handshake (server, &error), ==, PUNCH_TLS_ERROR);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
}

static void
test_session_peer_id_mismatch (void)
{
  PunchKeypair *client_host = get_host (PUNCH_KEY_TYPE_ED25519, 0);
  PunchKeypair *server_host = get_host (PUNCH_KEY_TYPE_ED25519, 1);
  PunchKeypair *someone_else = get_host (PUNCH_KEY_TYPE_ED25519, 2);
  g_autoptr(PunchTlsSession) client = NULL;
  g_autoptr(PunchTlsSession) server = NULL;
  HandshakeResult result;
  guint8 buffer[8];
  gsize n;

  make_pair (client_host, server_host, NULL, NULL, host_peer_id (someone_else),
             &client, &server);
  run_handshake (client, server, &result);

  /* The dialer refuses the server... */
  g_assert_cmpint (result.client, ==, PUNCH_TLS_ERROR);
  g_assert_error (result.client_error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH);
  g_assert_false (punch_tls_session_is_established (client));
  g_assert_null (punch_tls_session_get_remote_peer_id (client));
  /* ...and tells it with an alert, which fails the server's handshake. */
  g_assert_cmpint (result.server, ==, PUNCH_TLS_ERROR);
  g_assert_error (result.server_error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (result.server_error->message, "alert"));
  handshake_result_clear (&result);

  /* Reading reports the same error again. */
  g_assert_cmpint (punch_tls_session_read (client, buffer, sizeof buffer, &n,
                                           &result.client_error), ==, PUNCH_TLS_ERROR);
  g_assert_error (result.client_error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH);
  handshake_result_clear (&result);
}

/* The server refuses the client's certificate after the client has
 * finished its handshake (TLS 1.3): the client learns it on reading. */
static void
test_session_server_refuses_client (void)
{
  PunchKeypair *client_host = get_host (PUNCH_KEY_TYPE_ED25519, 0);
  PunchKeypair *server_host = get_host (PUNCH_KEY_TYPE_ED25519, 1);
  PunchKeypair *someone_else = get_host (PUNCH_KEY_TYPE_ED25519, 2);
  g_autoptr(PunchTlsSession) client = NULL;
  g_autoptr(PunchTlsSession) server = NULL;
  g_autoptr(GError) error = NULL;
  HandshakeResult result;
  guint8 buffer[8];
  gsize n;

  client = punch_tls_session_new (PUNCH_TLS_ROLE_CLIENT, client_host, NULL, NULL, NOW, &error);
  g_assert_no_error (error);
  server = punch_tls_session_new (PUNCH_TLS_ROLE_SERVER, server_host, NULL,
                                  host_peer_id (someone_else), NOW, &error);
  g_assert_no_error (error);

  run_handshake (client, server, &result);
  g_assert_cmpint (result.server, ==, PUNCH_TLS_ERROR);
  g_assert_error (result.server_error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH);
  g_assert_cmpint (result.client, ==, PUNCH_TLS_DONE);
  handshake_result_clear (&result);

  transfer (server, client);
  g_assert_cmpint (punch_tls_session_read (client, buffer, sizeof buffer, &n, &error),
                   ==, PUNCH_TLS_ERROR);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "alert"));
}

/* The server's certificate is not valid yet for the client. */
static void
test_session_certificate_not_yet_valid (void)
{
  PunchKeypair *client_host = get_host (PUNCH_KEY_TYPE_ED25519, 0);
  PunchKeypair *server_host = get_host (PUNCH_KEY_TYPE_ED25519, 1);
  g_autoptr(PunchTlsSession) client = NULL;
  g_autoptr(PunchTlsSession) server = NULL;
  g_autoptr(GError) error = NULL;
  HandshakeResult result;

  client = punch_tls_session_new (PUNCH_TLS_ROLE_CLIENT, client_host, NULL, NULL, NOW, &error);
  g_assert_no_error (error);
  /* A server whose clock is a day ahead makes a certificate valid from
   * 23 hours after the client's now. */
  server = punch_tls_session_new (PUNCH_TLS_ROLE_SERVER, server_host, NULL, NULL,
                                  NOW + 24 * 3600, &error);
  g_assert_no_error (error);

  run_handshake (client, server, &result);
  g_assert_cmpint (result.client, ==, PUNCH_TLS_ERROR);
  g_assert_error (result.client_error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (result.client_error->message, "not valid before"));
  handshake_result_clear (&result);
}

static void
test_session_byte_at_a_time (void)
{
  PunchKeypair *client_host = get_host (PUNCH_KEY_TYPE_ED25519, 0);
  PunchKeypair *server_host = get_host (PUNCH_KEY_TYPE_ED25519, 1);
  static const gchar * const alpn[] = { "/yamux/1.0.0", "libp2p", NULL };
  g_autoptr(PunchTlsSession) client = NULL;
  g_autoptr(PunchTlsSession) server = NULL;
  g_autoptr(GByteArray) to_server = g_byte_array_new ();
  g_autoptr(GByteArray) to_client = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) got = g_string_new (NULL);
  PunchTlsStatus client_status = PUNCH_TLS_WOULD_BLOCK;
  PunchTlsStatus server_status = PUNCH_TLS_WOULD_BLOCK;
  gsize to_server_pos = 0, to_client_pos = 0;
  guint steps = 0;

  make_pair (client_host, server_host, alpn, alpn, host_peer_id (server_host),
             &client, &server);

  while ((client_status != PUNCH_TLS_DONE || server_status != PUNCH_TLS_DONE) &&
         steps++ < 100000)
    {
      g_autoptr(GBytes) out = NULL;

      if (client_status == PUNCH_TLS_WOULD_BLOCK)
        client_status = punch_tls_session_handshake (client, &error);
      g_assert_no_error (error);
      if (server_status == PUNCH_TLS_WOULD_BLOCK)
        server_status = punch_tls_session_handshake (server, &error);
      g_assert_no_error (error);

      out = punch_tls_session_pull_output (client);
      if (out != NULL)
        g_byte_array_append (to_server, g_bytes_get_data (out, NULL), g_bytes_get_size (out));
      g_clear_pointer (&out, g_bytes_unref);
      out = punch_tls_session_pull_output (server);
      if (out != NULL)
        g_byte_array_append (to_client, g_bytes_get_data (out, NULL), g_bytes_get_size (out));

      /* One byte each way per step. */
      if (to_server_pos < to_server->len)
        punch_tls_session_receive (server, to_server->data + to_server_pos++, 1);
      if (to_client_pos < to_client->len)
        punch_tls_session_receive (client, to_client->data + to_client_pos++, 1);
    }
  g_assert_cmpint (client_status, ==, PUNCH_TLS_DONE);
  g_assert_cmpint (server_status, ==, PUNCH_TLS_DONE);
  g_test_message ("handshake in %u one-byte steps", steps);
  check_established (client, server, client_host, server_host, "/yamux/1.0.0");

  /* Application data, one byte at a time too. */
  g_assert_cmpint (punch_tls_session_write (client, (const guint8 *) "hello", 5, &error), ==, 5);
  {
    g_autoptr(GBytes) out = punch_tls_session_pull_output (client);
    const guint8 *d;
    gsize len, i;

    g_byte_array_append (to_server, g_bytes_get_data (out, NULL), g_bytes_get_size (out));
    d = to_server->data;
    len = to_server->len;
    for (i = to_server_pos; i < len; i++)
      {
        guint8 byte;
        gsize n = 0;
        PunchTlsStatus status;

        punch_tls_session_receive (server, d + i, 1);
        status = punch_tls_session_read (server, &byte, 1, &n, &error);
        g_assert_no_error (error);
        if (status == PUNCH_TLS_DONE)
          g_string_append_c (got, (gchar) byte);
        else
          g_assert_cmpint (status, ==, PUNCH_TLS_WOULD_BLOCK);
      }
    /* Reading one byte at a time drains what GnuTLS holds. */
    for (;;)
      {
        guint8 byte;
        gsize n = 0;

        if (punch_tls_session_read (server, &byte, 1, &n, &error) != PUNCH_TLS_DONE)
          break;
        g_string_append_c (got, (gchar) byte);
      }
    g_assert_no_error (error);
  }
  g_assert_cmpstr (got->str, ==, "hello");
}

static void
test_session_write_before_handshake (void)
{
  PunchKeypair *host = get_host (PUNCH_KEY_TYPE_ED25519, 0);
  g_autoptr(PunchTlsSession) client = NULL;
  g_autoptr(GError) error = NULL;

  client = punch_tls_session_new (PUNCH_TLS_ROLE_CLIENT, host, NULL, NULL, NOW, &error);
  g_assert_no_error (error);
  g_assert_cmpint (punch_tls_session_write (client, (const guint8 *) "x", 1, &error), ==, -1);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_FAILED);
  g_assert_null (punch_tls_session_pull_output (client));
}

static void
test_session_close_during_handshake (void)
{
  g_autoptr(PunchTlsSession) client = NULL;
  g_autoptr(PunchTlsSession) server = NULL;
  g_autoptr(GError) error = NULL;
  HandshakeResult result;

  make_pair (get_host (PUNCH_KEY_TYPE_ED25519, 0), get_host (PUNCH_KEY_TYPE_ED25519, 1),
             NULL, NULL, NULL, &client, &server);
  g_assert_cmpint (punch_tls_session_handshake (client, &error), ==, PUNCH_TLS_WOULD_BLOCK);
  g_assert_no_error (error);

  /* The server gives up before answering: user_canceled, close_notify. */
  g_assert_true (punch_tls_session_close (server, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (punch_tls_session_get_output_size (server), >, 0);
  g_assert_cmpint (punch_tls_session_handshake (server, &error), ==, PUNCH_TLS_ERROR);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_false (punch_tls_session_is_established (server));

  /* The client's handshake fails on them. */
  run_handshake (client, server, &result);
  g_assert_cmpint (result.client, ==, PUNCH_TLS_ERROR);
  g_assert_error (result.client_error, PUNCH_ERROR, PUNCH_ERROR_CLOSED);
  g_test_message ("client: %s", result.client_error->message);
  handshake_result_clear (&result);
}

static void
test_session_garbage (void)
{
  PunchKeypair *host = get_host (PUNCH_KEY_TYPE_ED25519, 0);
  g_autoptr(PunchTlsSession) server = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) alert = NULL;
  const gchar *http = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";

  server = punch_tls_session_new (PUNCH_TLS_ROLE_SERVER, host, NULL, NULL, NOW, &error);
  g_assert_no_error (error);
  punch_tls_session_receive (server, (const guint8 *) http, strlen (http));
  g_assert_cmpint (punch_tls_session_handshake (server, &error), ==, PUNCH_TLS_ERROR);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_test_message ("%s", error->message);

  /* An alert record for the peer. */
  alert = punch_tls_session_pull_output (server);
  g_assert_nonnull (alert);
  g_assert_cmpuint (((const guint8 *) g_bytes_get_data (alert, NULL))[0], ==, 21);
}

/* The ClientHello: TLS 1.3 only, our ALPN list, and no SNI (tls.md). */
static void
test_session_client_hello (void)
{
  static const gchar * const alpn[] = { "/yamux/1.0.0", "libp2p", NULL };
  static const guint8 expected_alpn[] = {
    0x00, 0x14, 12, '/', 'y', 'a', 'm', 'u', 'x', '/', '1', '.', '0', '.', '0',
    6, 'l', 'i', 'b', 'p', '2', 'p' };
  PunchKeypair *host = get_host (PUNCH_KEY_TYPE_ED25519, 0);
  g_autoptr(PunchTlsSession) client = NULL;
  g_autoptr(GBytes) hello = NULL;
  g_autoptr(GError) error = NULL;
  const guint8 *p, *end;
  gsize len, skip;
  gboolean seen_alpn = FALSE, seen_versions = FALSE;

  client = punch_tls_session_new (PUNCH_TLS_ROLE_CLIENT, host, alpn, NULL, NOW, &error);
  g_assert_no_error (error);
  g_assert_cmpint (punch_tls_session_handshake (client, &error), ==, PUNCH_TLS_WOULD_BLOCK);
  hello = punch_tls_session_pull_output (client);
  p = g_bytes_get_data (hello, &len);
  end = p + len;

  g_assert_cmpuint (len, >, 5 + 4 + 2 + 32 + 1);
  g_assert_cmpuint (p[0], ==, 22);                 /* handshake record */
  g_assert_cmpuint ((p[3] << 8 | p[4]), ==, len - 5);
  p += 5;
  g_assert_cmpuint (p[0], ==, 1);                  /* ClientHello */
  p += 4 + 2 + 32;                                 /* header, legacy_version, random */
  skip = p[0];                                     /* legacy_session_id */
  p += 1 + skip;
  skip = (p[0] << 8) | p[1];                       /* cipher_suites */
  p += 2 + skip;
  skip = p[0];                                     /* compression methods */
  p += 1 + skip;
  g_assert_cmpuint ((gsize) ((p[0] << 8) | p[1]), ==, (gsize) (end - p - 2));
  p += 2;

  while (p < end)
    {
      guint type = (p[0] << 8) | p[1];
      gsize ext_len = (p[2] << 8) | p[3];
      const guint8 *data = p + 4;

      g_assert_cmpuint (ext_len, <=, (gsize) (end - data));
      g_assert_cmpuint (type, !=, 0x0000);         /* server_name */
      g_assert_cmpuint (type, !=, 0x0029);         /* pre_shared_key: no resumption */
      if (type == 0x0010)
        {
          g_assert_cmpmem (data, ext_len, expected_alpn, sizeof expected_alpn);
          seen_alpn = TRUE;
        }
      if (type == 0x002b)
        {
          g_assert_cmpmem (data, ext_len, "\x02\x03\x04", 3);
          seen_versions = TRUE;
        }
      p = data + ext_len;
    }
  g_assert_true (seen_alpn);
  g_assert_true (seen_versions);
}

/* A bare GnuTLS peer over the same kind of memory transport, to play peers
 * that Punch's sessions never are. */
typedef struct {
  gnutls_session_t session;
  gnutls_certificate_credentials_t credentials;
  GByteArray *input;
  GByteArray *output;
} RawPeer;

static ssize_t
raw_push (gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
  RawPeer *peer = ptr;

  g_byte_array_append (peer->output, data, len);
  return (ssize_t) len;
}

static ssize_t
raw_pull (gnutls_transport_ptr_t ptr, void *data, size_t len)
{
  RawPeer *peer = ptr;
  gsize n = MIN (len, peer->input->len);

  if (n == 0)
    {
      gnutls_transport_set_errno (peer->session, EAGAIN);
      return -1;
    }
  memcpy (data, peer->input->data, n);
  g_byte_array_remove_range (peer->input, 0, n);
  return (ssize_t) n;
}

static RawPeer *
raw_peer_new (unsigned int         role,
              PunchTlsCertificate *certificate,
              gboolean             tickets)
{
  static const gnutls_datum_t libp2p = { (guint8 *) "libp2p", 6 };
  RawPeer *peer = g_new0 (RawPeer, 1);
  g_autoptr(GError) error = NULL;

  peer->input = g_byte_array_new ();
  peer->output = g_byte_array_new ();
  g_assert_cmpint (gnutls_certificate_allocate_credentials (&peer->credentials), ==, 0);
  if (certificate != NULL)
    {
      g_assert_true (punch_tls_certificate_add_to_credentials (certificate, peer->credentials,
                                                               &error));
      g_assert_no_error (error);
    }
  g_assert_cmpint (gnutls_init (&peer->session, role | GNUTLS_NONBLOCK |
                                (tickets ? 0 : GNUTLS_NO_TICKETS)), ==, 0);
  g_assert_cmpint (gnutls_priority_set_direct (peer->session, PUNCH_TLS_PRIORITY, NULL), ==, 0);
  g_assert_cmpint (gnutls_credentials_set (peer->session, GNUTLS_CRD_CERTIFICATE,
                                           peer->credentials), ==, 0);
  g_assert_cmpint (gnutls_alpn_set_protocols (peer->session, &libp2p, 1, 0), ==, 0);
  if (role == GNUTLS_SERVER && tickets)
    {
      gnutls_datum_t key;

      g_assert_cmpint (gnutls_session_ticket_key_generate (&key), ==, 0);
      g_assert_cmpint (gnutls_session_ticket_enable_server (peer->session, &key), ==, 0);
      gnutls_memset (key.data, 0, key.size);
      gnutls_free (key.data);
    }
  gnutls_transport_set_ptr (peer->session, peer);
  gnutls_transport_set_push_function (peer->session, raw_push);
  gnutls_transport_set_pull_function (peer->session, raw_pull);

  return peer;
}

static void
raw_peer_free (RawPeer *peer)
{
  gnutls_deinit (peer->session);
  gnutls_certificate_free_credentials (peer->credentials);
  g_byte_array_unref (peer->input);
  g_byte_array_unref (peer->output);
  g_free (peer);
}

static void
raw_to_session (RawPeer *peer, PunchTlsSession *session)
{
  if (peer->output->len > 0)
    {
      punch_tls_session_receive (session, peer->output->data, peer->output->len);
      g_byte_array_set_size (peer->output, 0);
    }
}

static void
session_to_raw (PunchTlsSession *session, RawPeer *peer)
{
  g_autoptr(GBytes) bytes = punch_tls_session_pull_output (session);

  if (bytes != NULL)
    g_byte_array_append (peer->input, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

/* A client that sends no certificate: the server must abort (tls.md). */
static void
test_session_client_without_certificate (void)
{
  PunchKeypair *host = get_host (PUNCH_KEY_TYPE_ED25519, 1);
  g_autoptr(PunchTlsSession) server = NULL;
  g_autoptr(GError) error = NULL;
  PunchTlsStatus status = PUNCH_TLS_WOULD_BLOCK;
  RawPeer *client;
  int ret = GNUTLS_E_AGAIN;
  guint round;

  server = punch_tls_session_new (PUNCH_TLS_ROLE_SERVER, host, NULL, NULL, NOW, &error);
  g_assert_no_error (error);
  client = raw_peer_new (GNUTLS_CLIENT, NULL, FALSE);

  for (round = 0; round < 10 && status == PUNCH_TLS_WOULD_BLOCK; round++)
    {
      if (ret == GNUTLS_E_AGAIN)
        ret = gnutls_handshake (client->session);
      raw_to_session (client, server);
      status = punch_tls_session_handshake (server, &error);
      session_to_raw (server, client);
    }
  g_assert_cmpint (status, ==, PUNCH_TLS_ERROR);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "certificate"));

  raw_peer_free (client);
}

/* A server that sends TLS 1.3 session tickets (as go-libp2p and
 * js-libp2p servers may): our client ignores them and reads data. */
static void
test_session_server_sends_tickets (void)
{
  PunchKeypair *client_host = get_host (PUNCH_KEY_TYPE_ED25519, 0);
  PunchKeypair *server_host = get_host (PUNCH_KEY_TYPE_ED25519, 1);
  g_autoptr(PunchTlsCertificate) certificate = NULL;
  g_autoptr(PunchTlsSession) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) got = g_string_new (NULL);
  PunchTlsStatus status = PUNCH_TLS_WOULD_BLOCK;
  RawPeer *server;
  int ret = GNUTLS_E_AGAIN;
  guint round;

  certificate = punch_tls_certificate_new (server_host, NOW, &error);
  g_assert_no_error (error);
  server = raw_peer_new (GNUTLS_SERVER, certificate, TRUE);
  client = punch_tls_session_new (PUNCH_TLS_ROLE_CLIENT, client_host, NULL,
                                  host_peer_id (server_host), NOW, &error);
  g_assert_no_error (error);

  for (round = 0; round < 10 && (ret != 0 || status != PUNCH_TLS_DONE); round++)
    {
      if (status == PUNCH_TLS_WOULD_BLOCK)
        status = punch_tls_session_handshake (client, &error);
      g_assert_no_error (error);
      session_to_raw (client, server);
      if (ret == GNUTLS_E_AGAIN)
        ret = gnutls_handshake (server->session);
      raw_to_session (server, client);
    }
  g_assert_cmpint (ret, ==, 0);
  g_assert_cmpint (status, ==, PUNCH_TLS_DONE);

  /* The server sends its tickets, then data. */
  g_byte_array_set_size (server->output, 0);
  g_assert_cmpint (gnutls_session_ticket_send (server->session, 2, 0), ==, 0);
  /* Two encrypted NewSessionTicket records went out. */
  g_assert_cmpuint (server->output->len, >, 2 * 22);
  raw_to_session (server, client);
  g_assert_cmpint (gnutls_record_send (server->session, "after tickets", 13), ==, 13);
  raw_to_session (server, client);
  for (round = 0; round < 10; round++)
    {
      guint8 buffer[64];
      gsize n;

      status = punch_tls_session_read (client, buffer, sizeof buffer, &n, &error);
      g_assert_no_error (error);
      if (status != PUNCH_TLS_DONE)
        break;
      g_string_append_len (got, (const gchar *) buffer, n);
    }
  g_assert_cmpint (status, ==, PUNCH_TLS_WOULD_BLOCK);
  g_assert_cmpstr (got->str, ==, "after tickets");

  raw_peer_free (server);
}

/* Sessions share one certificate. */
static void
test_session_shared_certificate (void)
{
  PunchKeypair *client_host = get_host (PUNCH_KEY_TYPE_ED25519, 0);
  PunchKeypair *server_host = get_host (PUNCH_KEY_TYPE_ED25519, 1);
  g_autoptr(PunchTlsCertificate) certificate = NULL;
  g_autoptr(GError) error = NULL;
  guint i;

  certificate = punch_tls_certificate_new (server_host, NOW, &error);
  g_assert_no_error (error);

  for (i = 0; i < 3; i++)
    {
      g_autoptr(PunchTlsSession) client = NULL;
      g_autoptr(PunchTlsSession) server = NULL;
      HandshakeResult result;

      client = punch_tls_session_new (PUNCH_TLS_ROLE_CLIENT, client_host, NULL,
                                      host_peer_id (server_host), NOW, &error);
      g_assert_no_error (error);
      server = punch_tls_session_new_with_certificate (PUNCH_TLS_ROLE_SERVER, certificate,
                                                       NULL, NULL, NOW, &error);
      g_assert_no_error (error);
      run_handshake (client, server, &result);
      g_assert_no_error (result.client_error);
      g_assert_no_error (result.server_error);
      check_established (client, server, client_host, server_host, "libp2p");
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/tls/signed-key/roundtrip", test_signed_key_roundtrip);
  g_test_add_func ("/tls/signed-key/known-encoding", test_signed_key_known_encoding);
  g_test_add_func ("/tls/signed-key/malformed", test_signed_key_malformed);
  g_test_add_func ("/tls/signed-key/limits", test_signed_key_limits);

  g_test_add_func ("/tls/certificate/roundtrip/ed25519", test_certificate_roundtrip_ed25519);
  g_test_add_func ("/tls/certificate/roundtrip/ecdsa", test_certificate_roundtrip_ecdsa);
  g_test_add_func ("/tls/certificate/roundtrip/rsa", test_certificate_roundtrip_rsa);
  g_test_add_func ("/tls/certificate/layout", test_certificate_layout);
  g_test_add_func ("/tls/certificate/fresh", test_certificate_fresh);
  g_test_add_func ("/tls/certificate/validity", test_certificate_validity);
  g_test_add_func ("/tls/certificate/peer-id-mismatch", test_certificate_peer_id_mismatch);
  g_test_add_func ("/tls/certificate/chain-length", test_certificate_chain_length);
  g_test_add_func ("/tls/certificate/made-by-test", test_certificate_made_by_test);
  g_test_add_func ("/tls/certificate/no-extension", test_certificate_no_extension);
  g_test_add_func ("/tls/certificate/bad-host-signature", test_certificate_bad_host_signature);
  g_test_add_func ("/tls/certificate/key-signature-mismatch", test_certificate_key_signature_mismatch);
  g_test_add_func ("/tls/certificate/critical-extensions", test_certificate_critical_extensions);
  g_test_add_func ("/tls/certificate/bad-extension-value", test_certificate_bad_extension_value);
  g_test_add_func ("/tls/certificate/not-self-signed", test_certificate_not_self_signed);
  g_test_add_func ("/tls/certificate/unique-ids", test_certificate_unique_ids);
  g_test_add_func ("/tls/certificate/tampered", test_certificate_tampered);
  g_test_add_func ("/tls/certificate/garbage", test_certificate_garbage);

  g_test_add_func ("/tls/vectors/ed25519", test_vector_ed25519);
  g_test_add_func ("/tls/vectors/ecdsa", test_vector_ecdsa);
  g_test_add_func ("/tls/vectors/secp256k1", test_vector_secp256k1);
  g_test_add_func ("/tls/vectors/invalid", test_vector_invalid);

  g_test_add_func ("/tls/session/handshake/ed25519", test_session_handshake_ed25519);
  g_test_add_func ("/tls/session/handshake/mixed-keys", test_session_handshake_mixed_keys);
  g_test_add_func ("/tls/session/alpn", test_session_alpn);
  g_test_add_func ("/tls/session/alpn-invalid", test_session_alpn_invalid);
  g_test_add_func ("/tls/session/data", test_session_data);
  g_test_add_func ("/tls/session/output-sink", test_session_output_sink);
  g_test_add_func ("/tls/session/lent-input", test_session_lent_input);
  g_test_add_func ("/tls/session/close-notify", test_session_close_notify);
  g_test_add_func ("/tls/session/eof-without-close-notify", test_session_eof_without_close_notify);
  g_test_add_func ("/tls/session/eof-during-handshake", test_session_eof_during_handshake);
  g_test_add_func ("/tls/session/peer-id-mismatch", test_session_peer_id_mismatch);
  g_test_add_func ("/tls/session/server-refuses-client", test_session_server_refuses_client);
  g_test_add_func ("/tls/session/certificate-not-yet-valid", test_session_certificate_not_yet_valid);
  g_test_add_func ("/tls/session/byte-at-a-time", test_session_byte_at_a_time);
  g_test_add_func ("/tls/session/write-before-handshake", test_session_write_before_handshake);
  g_test_add_func ("/tls/session/close-during-handshake", test_session_close_during_handshake);
  g_test_add_func ("/tls/session/garbage", test_session_garbage);
  g_test_add_func ("/tls/session/client-hello", test_session_client_hello);
  g_test_add_func ("/tls/session/client-without-certificate", test_session_client_without_certificate);
  g_test_add_func ("/tls/session/server-sends-tickets", test_session_server_sends_tickets);
  g_test_add_func ("/tls/session/shared-certificate", test_session_shared_certificate);

  return g_test_run ();
}
