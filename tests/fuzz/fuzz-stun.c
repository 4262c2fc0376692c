/* fuzz-stun.c: libFuzzer target for the STUN Binding server's request parser
 * (and, on the same bytes, the probe's answer check and request decoder).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "punch-error.h"
#include "punch-stun.h"
#include "punch-udp-probe.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static const guint8 ip4[4] = { 192, 0, 2, 1 };
  static const guint8 ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStunChecker) checker = NULL;
  g_autoptr(PunchUdpProbeRequest) request = NULL;
  PunchStunRequest parsed;
  PunchStunCheckAnswer answer;
  guint8 out[PUNCH_STUN_MAX_RESPONSE_LEN];
  guint8 check[PUNCH_STUN_MAX_CHECK_LEN];
  guint8 tid[PUNCH_STUN_TRANSACTION_ID_LEN];

  if (punch_stun_parse_binding_request (data, size, &parsed, &error))
    {
      gsize n;

      g_assert_no_error (error);
      g_assert_cmpuint (size, >=, PUNCH_STUN_HEADER_LEN);
      g_assert_cmpuint (parsed.n_unknown, <=, PUNCH_STUN_MAX_UNKNOWN);
      g_assert_true (memcmp (parsed.transaction_id, data + 8, sizeof parsed.transaction_id) == 0);
      n = punch_stun_build_binding_response (&parsed, ip4, 4, 3478, out, sizeof out);
      g_assert_cmpuint (n, >, PUNCH_STUN_HEADER_LEN);
      g_assert_cmpuint (n, <=, sizeof out);
      n = punch_stun_build_binding_response (&parsed, ip6, 16, 3478, out, sizeof out);
      g_assert_cmpuint (n, >, PUNCH_STUN_HEADER_LEN);
      /* The answer is a response, never taken for a request. */
      g_assert_false (punch_stun_parse_binding_request (out, n, &parsed, NULL));
    }
  else
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == PUNCH_ERROR);
    }
  g_clear_error (&error);

  /* What the probe does with a datagram on its socket, with one check
   * outstanding. */
  checker = punch_stun_checker_new ("abcd:efgh", "0123456789abcdefghijkl");
  g_assert_cmpuint (punch_stun_checker_build (checker, 1, check, sizeof check, tid), >, 0);
  if (!punch_stun_checker_process (checker, data, size, tid, &answer, &error))
    g_assert_nonnull (error);
  g_clear_error (&error);

  request = punch_udp_probe_request_decode (data, size, &error);
  g_assert_true ((request == NULL) == (error != NULL));
  if (request != NULL)
    g_assert_cmpuint (request->targets->len, <=, PUNCH_UDP_PROBE_MAX_CANDIDATES);

  return 0;
}
