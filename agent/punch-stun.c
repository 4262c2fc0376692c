/* punch-stun.c: sans-I/O STUN: the Binding server's codec and ICE check helpers.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <stun/stunagent.h>
#include <stun/usages/ice.h>

#include "punch-error.h"
#include "punch-stun.h"

/* RFC 5389 18.1 / 18.2 */
#define METHOD_BINDING 0x001
#define TYPE_BINDING_REQUEST 0x0001
#define TYPE_BINDING_SUCCESS 0x0101
#define TYPE_BINDING_ERROR 0x0111

#define ATTR_MAPPED_ADDRESS 0x0001
#define ATTR_USERNAME 0x0006
#define ATTR_MESSAGE_INTEGRITY 0x0008
#define ATTR_ERROR_CODE 0x0009
#define ATTR_UNKNOWN_ATTRIBUTES 0x000A
#define ATTR_XOR_MAPPED_ADDRESS 0x0020
#define ATTR_PRIORITY 0x0024        /* RFC 8445 16.1 */
#define ATTR_USE_CANDIDATE 0x0025
#define ATTR_FINGERPRINT 0x8028
#define ATTR_ICE_CONTROLLED 0x8029
#define ATTR_ICE_CONTROLLING 0x802A

#define FINGERPRINT_XOR 0x5354554Eu
#define MESSAGE_INTEGRITY_LEN 20

/* The tie-breaker of our checks.  Zero loses every role conflict
 * (RFC 8445 7.3.1.1): a controlling agent answers 487 and keeps its role,
 * a controlled one never sees a conflict, so a probe never changes the
 * client agent's role. */
#define CHECK_TIE_BREAKER G_GUINT64_CONSTANT (0)

static inline guint16
get16 (const guint8 *p)
{
  return (guint16) ((p[0] << 8) | p[1]);
}

static inline guint32
get32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static inline void
put16 (guint8 *p, guint16 v)
{
  p[0] = v >> 8;
  p[1] = v & 0xff;
}

static inline void
put32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = (v >> 16) & 0xff;
  p[2] = (v >> 8) & 0xff;
  p[3] = v & 0xff;
}

/**
 * punch_stun_crc32:
 * @buf: (array length=len): bytes
 * @len: their count
 *
 * The CRC-32 of ISO 3309 / ITU-T V.42 (reflected polynomial 0xEDB88320)
 * that FINGERPRINT uses (RFC 5389 15.5).
 *
 * Returns: the CRC
 */
guint32
punch_stun_crc32 (const guint8 *buf,
                  gsize         len)
{
  guint32 crc = 0xFFFFFFFFu;

  for (gsize i = 0; i < len; i++)
    {
      crc ^= buf[i];
      for (guint k = 0; k < 8; k++)
        crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
  return crc ^ 0xFFFFFFFFu;
}

static gboolean
attribute_is_understood (guint16 type)
{
  switch (type)
    {
    case ATTR_USERNAME:
    case ATTR_MESSAGE_INTEGRITY:
    case ATTR_PRIORITY:
    case ATTR_USE_CANDIDATE:
      return TRUE;
    default:
      return FALSE;
    }
}

/**
 * punch_stun_parse_binding_request:
 * @buf: (array length=len): a datagram
 * @len: its length
 * @request: (out caller-allocates): the request's transaction id and the
 *   comprehension-required attributes it holds that a server without
 *   authentication does not understand
 * @error: return location for a #GError
 *
 * Checks that @buf is a well-formed RFC 5389 Binding request: a 20-byte
 * header with the two top bits zero and a length that is a multiple of 4
 * and matches @len; attributes that fit exactly;
 * FINGERPRINT, if present, last and correct.  USERNAME and
 * MESSAGE-INTEGRITY are accepted and not verified (the server does no
 * authentication).  A request without the magic cookie comes from an
 * RFC 3489 client (libnice 0.1.21 discovers server-reflexive candidates
 * with such requests) and is flagged in @request.
 *
 * Errors: %PUNCH_ERROR_TRUNCATED for fewer than 20 bytes;
 * %PUNCH_ERROR_TOO_LARGE above %PUNCH_STUN_MAX_MESSAGE_LEN;
 * %PUNCH_ERROR_MALFORMED for anything that is not a well-formed STUN
 * message (bad length, bad attribute layout, wrong FINGERPRINT);
 * %PUNCH_ERROR_UNSUPPORTED for a well-formed STUN message that is not a
 * Binding request (another method or class).
 *
 * Returns: %TRUE if @request was filled
 */
gboolean
punch_stun_parse_binding_request (const guint8      *buf,
                                  gsize              len,
                                  PunchStunRequest  *request,
                                  GError           **error)
{
  gsize msg_len, off;
  gboolean seen_integrity = FALSE;

  g_return_val_if_fail (buf != NULL || len == 0, FALSE);
  g_return_val_if_fail (request != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (request, 0, sizeof *request);

  if (len < PUNCH_STUN_HEADER_LEN)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED,
                   "STUN message of %" G_GSIZE_FORMAT " bytes, shorter than its header", len);
      return FALSE;
    }
  if (len > PUNCH_STUN_MAX_MESSAGE_LEN)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "STUN message of %" G_GSIZE_FORMAT " bytes, above %d",
                   len, PUNCH_STUN_MAX_MESSAGE_LEN);
      return FALSE;
    }
  if ((buf[0] & 0xC0) != 0)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "not a STUN message: the first two bits are not zero");
      return FALSE;
    }
  msg_len = get16 (buf + 2);
  if ((msg_len & 3) != 0 || msg_len + PUNCH_STUN_HEADER_LEN != len)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "STUN length %" G_GSIZE_FORMAT " does not match a %" G_GSIZE_FORMAT
                   "-byte datagram", msg_len, len);
      return FALSE;
    }
  /* RFC 5389 12.2: without the magic cookie, an RFC 3489 client. */
  request->rfc3489 = get32 (buf + 4) != PUNCH_STUN_MAGIC_COOKIE;

  /* Walk every attribute before looking at the type, so a malformed
   * message is reported as such whatever it claims to be. */
  off = PUNCH_STUN_HEADER_LEN;
  while (off < len)
    {
      guint16 type, alen;
      gsize padded;

      if (len - off < 4)
        {
          g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                               "truncated STUN attribute header");
          return FALSE;
        }
      type = get16 (buf + off);
      alen = get16 (buf + off + 2);
      padded = ((gsize) alen + 3) & ~(gsize) 3;
      if (padded > len - off - 4)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                       "STUN attribute 0x%04x of %u bytes runs past the message",
                       type, alen);
          return FALSE;
        }

      if (type == ATTR_FINGERPRINT)
        {
          guint32 expected;

          if (alen != 4 || off + 8 != len)
            {
              g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                                   "FINGERPRINT is not the last 4-byte attribute");
              return FALSE;
            }
          expected = punch_stun_crc32 (buf, off) ^ FINGERPRINT_XOR;
          if (get32 (buf + off + 4) != expected)
            {
              g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                                   "wrong STUN FINGERPRINT");
              return FALSE;
            }
        }
      else if (type == ATTR_MESSAGE_INTEGRITY)
        {
          if (alen != MESSAGE_INTEGRITY_LEN)
            {
              g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                           "MESSAGE-INTEGRITY of %u bytes", alen);
              return FALSE;
            }
          seen_integrity = TRUE;
        }
      else if (!seen_integrity && type < 0x8000 && !attribute_is_understood (type) &&
               request->n_unknown < PUNCH_STUN_MAX_UNKNOWN)
        {
          /* RFC 5389 15.4: attributes after MESSAGE-INTEGRITY (other
           * than FINGERPRINT) are ignored. */
          request->unknown[request->n_unknown++] = type;
        }
      off += 4 + padded;
    }

  if (get16 (buf) != TYPE_BINDING_REQUEST)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                   "STUN message type 0x%04x is not a Binding request", get16 (buf));
      return FALSE;
    }

  memcpy (request->cookie, buf + 4, 4);
  memcpy (request->transaction_id, buf + 8, PUNCH_STUN_TRANSACTION_ID_LEN);
  return TRUE;
}

/**
 * punch_stun_build_binding_response:
 * @request: a request parsed by punch_stun_parse_binding_request()
 * @ip: (array length=ip_len): the request's source IP address
 * @ip_len: 4 or 16
 * @port: the request's source UDP port
 * @out: (out caller-allocates) (array length=out_len): where to write
 * @out_len: room in @out, at least %PUNCH_STUN_MAX_RESPONSE_LEN
 *
 * Writes the answer to @request: a Binding success response with
 * XOR-MAPPED-ADDRESS (RFC 5389 15.2) and FINGERPRINT; to an RFC 3489
 * client, with MAPPED-ADDRESS, its magic cookie field echoed and no
 * FINGERPRINT (RFC 5389 12.2); or, when the
 * request holds comprehension-required attributes that are not
 * understood, a 420 (Unknown Attribute) error response listing them in
 * UNKNOWN-ATTRIBUTES (RFC 5389 7.3.1), with FINGERPRINT.
 *
 * Returns: the length written
 */
gsize
punch_stun_build_binding_response (const PunchStunRequest *request,
                                   const guint8           *ip,
                                   gsize                   ip_len,
                                   guint16                 port,
                                   guint8                 *out,
                                   gsize                   out_len)
{
  gsize off = PUNCH_STUN_HEADER_LEN;

  g_return_val_if_fail (request != NULL, 0);
  g_return_val_if_fail (request->n_unknown <= PUNCH_STUN_MAX_UNKNOWN, 0);
  g_return_val_if_fail (ip != NULL && (ip_len == 4 || ip_len == 16), 0);
  g_return_val_if_fail (out != NULL && out_len >= PUNCH_STUN_MAX_RESPONSE_LEN, 0);

  memset (out, 0, PUNCH_STUN_MAX_RESPONSE_LEN);
  memcpy (out + 4, request->cookie, 4);
  memcpy (out + 8, request->transaction_id, PUNCH_STUN_TRANSACTION_ID_LEN);

  if (request->n_unknown > 0)
    {
      static const char reason[] = "Unknown Attribute";
      gsize rlen = sizeof reason - 1;
      gsize ulen = 2 * (gsize) request->n_unknown;

      put16 (out, TYPE_BINDING_ERROR);
      /* ERROR-CODE: 21 reserved bits, class 4, number 20, reason. */
      put16 (out + off, ATTR_ERROR_CODE);
      put16 (out + off + 2, (guint16) (4 + rlen));
      out[off + 6] = 4;
      out[off + 7] = 20;
      memcpy (out + off + 8, reason, rlen);
      off += 4 + ((4 + rlen + 3) & ~(gsize) 3);

      put16 (out + off, ATTR_UNKNOWN_ATTRIBUTES);
      put16 (out + off + 2, (guint16) ulen);
      for (guint i = 0; i < request->n_unknown; i++)
        put16 (out + off + 4 + 2 * i, request->unknown[i]);
      off += 4 + ((ulen + 3) & ~(gsize) 3);
    }
  else if (request->rfc3489)
    {
      put16 (out, TYPE_BINDING_SUCCESS);
      put16 (out + off, ATTR_MAPPED_ADDRESS);
      put16 (out + off + 2, (guint16) (4 + ip_len));
      out[off + 4] = 0;
      out[off + 5] = ip_len == 4 ? 0x01 : 0x02;
      put16 (out + off + 6, port);
      memcpy (out + off + 8, ip, ip_len);
      off += 8 + ip_len;
    }
  else
    {
      put16 (out, TYPE_BINDING_SUCCESS);
      put16 (out + off, ATTR_XOR_MAPPED_ADDRESS);
      put16 (out + off + 2, (guint16) (4 + ip_len));
      out[off + 4] = 0;
      out[off + 5] = ip_len == 4 ? 0x01 : 0x02;
      put16 (out + off + 6, port ^ (PUNCH_STUN_MAGIC_COOKIE >> 16));
      /* X-Address: the address XORed with the cookie, then (IPv6) the
       * transaction id. */
      for (gsize i = 0; i < ip_len; i++)
        out[off + 8 + i] = ip[i] ^ out[4 + i];
      off += 8 + ip_len;
    }

  if (request->rfc3489)
    {
      put16 (out + 2, (guint16) (off - PUNCH_STUN_HEADER_LEN));
      return off;
    }

  /* FINGERPRINT covers the header with the final length. */
  put16 (out + 2, (guint16) (off + 8 - PUNCH_STUN_HEADER_LEN));
  put16 (out + off, ATTR_FINGERPRINT);
  put16 (out + off + 2, 4);
  put32 (out + off + 4, punch_stun_crc32 (out, off) ^ FINGERPRINT_XOR);
  off += 8;

  g_assert (off <= PUNCH_STUN_MAX_RESPONSE_LEN);
  return off;
}

/* ICE checks */

/* Transactions a checker may have outstanding: StunAgent keeps
 * STUN_AGENT_MAX_SAVED_IDS (200). */
struct _PunchStunChecker {
  StunAgent agent;
  gchar *username;
  gchar *password;  /* StunAgent keeps a pointer to it per request */
};

static const uint16_t known_attributes[] = {
  STUN_ATTRIBUTE_MAPPED_ADDRESS,
  STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS,
  STUN_ATTRIBUTE_USERNAME,
  STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
  STUN_ATTRIBUTE_ERROR_CODE,
  STUN_ATTRIBUTE_UNKNOWN_ATTRIBUTES,
  STUN_ATTRIBUTE_PRIORITY,
  STUN_ATTRIBUTE_USE_CANDIDATE,
  STUN_ATTRIBUTE_ICE_CONTROLLED,
  STUN_ATTRIBUTE_ICE_CONTROLLING,
  STUN_ATTRIBUTE_FINGERPRINT,
  0
};

/**
 * punch_stun_checker_new:
 * @username: the USERNAME of the checks: "<agent's ufrag>:<our ufrag>"
 * @password: the agent's local ICE password, the MESSAGE-INTEGRITY key
 *
 * Returns: (transfer full): a checker that builds ICE connectivity checks
 *   for one remote ICE agent and recognises their answers
 */
PunchStunChecker *
punch_stun_checker_new (const gchar *username,
                        const gchar *password)
{
  PunchStunChecker *self;

  g_return_val_if_fail (username != NULL, NULL);
  g_return_val_if_fail (password != NULL, NULL);

  self = g_new0 (PunchStunChecker, 1);
  self->username = g_strdup (username);
  self->password = g_strdup (password);
  stun_agent_init (&self->agent, known_attributes, STUN_COMPATIBILITY_RFC5389,
                   STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS |
                   STUN_AGENT_USAGE_USE_FINGERPRINT);
  return self;
}

void
punch_stun_checker_free (PunchStunChecker *self)
{
  if (self == NULL)
    return;
  g_free (self->username);
  g_free (self->password);
  g_free (self);
}

/**
 * punch_stun_checker_build:
 * @self: a checker
 * @priority: the PRIORITY attribute (RFC 8445 7.1.1: the priority a
 *   peer-reflexive candidate of ours would have)
 * @out: (out caller-allocates) (array length=out_len): where to write
 * @out_len: room in @out, at least %PUNCH_STUN_MAX_CHECK_LEN
 * @transaction_id: (out caller-allocates): the check's transaction id
 *
 * Builds a new connectivity check: a Binding request with USERNAME,
 * PRIORITY, ICE-CONTROLLING with tie-breaker 0, MESSAGE-INTEGRITY and
 * FINGERPRINT (RFC 8445 7.2.2, RFC 5389).  Retransmissions resend the
 * same bytes.
 *
 * Returns: the length written, 0 if libnice's encoder failed
 */
gsize
punch_stun_checker_build (PunchStunChecker *self,
                          guint32           priority,
                          guint8           *out,
                          gsize             out_len,
                          guint8            transaction_id[PUNCH_STUN_TRANSACTION_ID_LEN])
{
  StunMessage msg;
  size_t n;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (out != NULL && out_len >= PUNCH_STUN_MAX_CHECK_LEN, 0);

  n = stun_usage_ice_conncheck_create (&self->agent, &msg, out, out_len,
                                       (const uint8_t *) self->username, strlen (self->username),
                                       (const uint8_t *) self->password, strlen (self->password),
                                       FALSE, TRUE, priority, CHECK_TIE_BREAKER, NULL,
                                       STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
  if (n > 0 && transaction_id != NULL)
    memcpy (transaction_id, out + 8, PUNCH_STUN_TRANSACTION_ID_LEN);
  return n;
}

/**
 * punch_stun_checker_process:
 * @self: a checker
 * @buf: (array length=len): a datagram received on the checks' socket
 * @len: its length
 * @transaction_id: (out caller-allocates): the id of the check answered
 * @answer: (out): how it was answered
 * @error: return location for a #GError
 *
 * Recognises an answer to one of the checks built by @self: a Binding
 * success response, or a 487 (Role Conflict) error response, whose
 * transaction id is one of ours and whose MESSAGE-INTEGRITY (required)
 * and FINGERPRINT verify with the agent's password.  Both prove that the
 * ICE agent holding the password answered from the address checked.  A
 * transaction is answered once: a second answer to it is unmatched.
 *
 * Errors: %PUNCH_ERROR_MALFORMED for a datagram that is not a valid STUN
 * message; %PUNCH_ERROR_UNSUPPORTED for a valid one that is not such an
 * answer (a request, an unknown transaction, another error code);
 * %PUNCH_ERROR_BAD_SIGNATURE when the integrity check fails or is absent.
 *
 * Returns: %TRUE for an answer
 */
gboolean
punch_stun_checker_process (PunchStunChecker      *self,
                            const guint8          *buf,
                            gsize                  len,
                            guint8                 transaction_id[PUNCH_STUN_TRANSACTION_ID_LEN],
                            PunchStunCheckAnswer  *answer,
                            GError               **error)
{
  StunMessage msg;
  StunValidationStatus status;
  StunClass klass;
  int code = 0;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (buf != NULL || len == 0, FALSE);
  g_return_val_if_fail (answer != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (len < PUNCH_STUN_HEADER_LEN || len > PUNCH_STUN_MAX_MESSAGE_LEN ||
      stun_message_validate_buffer_length (buf, len, TRUE) != (int) len)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "a %" G_GSIZE_FORMAT "-byte datagram that is not one STUN message", len);
      return FALSE;
    }

  status = stun_agent_validate (&self->agent, &msg, buf, len, NULL, NULL);
  switch (status)
    {
    case STUN_VALIDATION_SUCCESS:
      break;
    case STUN_VALIDATION_UNAUTHORIZED:
    case STUN_VALIDATION_UNAUTHORIZED_BAD_REQUEST:
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_BAD_SIGNATURE,
                           "STUN answer with a wrong MESSAGE-INTEGRITY");
      return FALSE;
    case STUN_VALIDATION_UNMATCHED_RESPONSE:
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                           "STUN answer to no outstanding check");
      return FALSE;
    default:
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "invalid STUN message (libnice validation status %d)", status);
      return FALSE;
    }

  klass = stun_message_get_class (&msg);
  if (stun_message_get_method (&msg) != STUN_BINDING ||
      (klass != STUN_RESPONSE && klass != STUN_ERROR))
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                           "STUN message that is not a Binding response");
      return FALSE;
    }
  if (!stun_message_has_attribute (&msg, STUN_ATTRIBUTE_MESSAGE_INTEGRITY))
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_BAD_SIGNATURE,
                           "STUN answer without MESSAGE-INTEGRITY");
      return FALSE;
    }
  if (klass == STUN_ERROR)
    {
      if (stun_message_find_error (&msg, &code) != STUN_MESSAGE_RETURN_SUCCESS ||
          code != STUN_ERROR_ROLE_CONFLICT)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                       "STUN error response %d to a check", code);
          return FALSE;
        }
      *answer = PUNCH_STUN_CHECK_ROLE_CONFLICT;
    }
  else
    *answer = PUNCH_STUN_CHECK_SUCCESS;

  if (transaction_id != NULL)
    memcpy (transaction_id, buf + 8, PUNCH_STUN_TRANSACTION_ID_LEN);
  return TRUE;
}
