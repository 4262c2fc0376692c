/* punch-udp-probe.h: /punch/autonat/udp/1.0.0, UDP reachability of ICE candidates (internal).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <agent.h>

#include "punch-host.h"

G_BEGIN_DECLS

#define PUNCH_UDP_PROBE_PROTOCOL_ID "/punch/autonat/udp/1.0.0"

/* Limits of the request (doc/autonat-udp.md). */
#define PUNCH_UDP_PROBE_MAX_MESSAGE_SIZE 4096
#define PUNCH_UDP_PROBE_MAX_CANDIDATES 8
#define PUNCH_UDP_PROBE_MIN_UFRAG_LEN 4
#define PUNCH_UDP_PROBE_MIN_PWD_LEN 22
#define PUNCH_UDP_PROBE_MAX_CREDENTIAL_LEN 256

/* Checks per candidate, PUNCH_UDP_PROBE_INTERVAL_MS apart; the verdict
 * is final PUNCH_UDP_PROBE_INTERVAL_MS after the last. */
#define PUNCH_UDP_PROBE_ATTEMPTS 3
#define PUNCH_UDP_PROBE_INTERVAL_MS 500

/* Probes a service runs at once; more are answered E_INTERNAL. */
#define PUNCH_UDP_PROBE_MAX_CONCURRENT 4

/* A server waits this long for the request. */
#define PUNCH_UDP_PROBE_REQUEST_TIMEOUT_MS 10000

typedef enum {
  PUNCH_UDP_VERDICT_REACHABLE,
  PUNCH_UDP_VERDICT_UNREACHABLE,
  PUNCH_UDP_VERDICT_REFUSED,
} PunchUdpVerdict;

/* What a server asked to check: the decoded, validated request. */
typedef struct {
  guint32             id;
  GInetSocketAddress *address;
} PunchUdpProbeTarget;

typedef struct {
  gchar     *ufrag;
  gchar     *pwd;
  gchar     *remote_ufrag;
  GPtrArray *targets;   /* of PunchUdpProbeTarget */
} PunchUdpProbeRequest;

void                  punch_udp_probe_request_free     (PunchUdpProbeRequest  *request);
PunchUdpProbeRequest *punch_udp_probe_request_decode   (const guint8          *data,
                                                        gsize                  len,
                                                        GError               **error);
GBytes               *punch_udp_probe_request_encode   (const PunchUdpProbeRequest *request);

/* One verdict, on the client side with the candidate it is for. */
typedef struct {
  guint32             id;
  NiceCandidate      *candidate;   /* client side only */
  PunchUdpVerdict     verdict;
  GInetSocketAddress *observed;    /* nullable: source of the answer */
} PunchUdpProbeResult;

void                  punch_udp_probe_result_free      (PunchUdpProbeResult   *result);
GBytes               *punch_udp_probe_response_encode  (GPtrArray             *results,
                                                        gboolean               ok,
                                                        const gchar           *status_text);
GPtrArray            *punch_udp_probe_response_decode  (const guint8          *data,
                                                        gsize                  len,
                                                        GError               **error);

/* Server */
#define PUNCH_TYPE_UDP_PROBE_SERVICE (punch_udp_probe_service_get_type ())
G_DECLARE_FINAL_TYPE (PunchUdpProbeService, punch_udp_probe_service, PUNCH, UDP_PROBE_SERVICE, GObject)

PunchUdpProbeService *punch_udp_probe_service_new               (PunchHost             *host);
void                  punch_udp_probe_service_set_allow_private (PunchUdpProbeService  *self,
                                                                 gboolean               allow_private);
gboolean              punch_udp_probe_service_get_allow_private (PunchUdpProbeService  *self);
guint64               punch_udp_probe_service_get_checks_sent   (PunchUdpProbeService  *self);
guint                 punch_udp_probe_service_get_n_active      (PunchUdpProbeService  *self);

/* Client */
void                  punch_udp_probe_async  (PunchHost            *host,
                                              PunchPeerId          *server,
                                              NiceAgent            *agent,
                                              guint                 stream_id,
                                              GPtrArray            *candidates,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
GPtrArray            *punch_udp_probe_finish (PunchHost            *host,
                                              GAsyncResult         *result,
                                              GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchUdpProbeRequest, punch_udp_probe_request_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchUdpProbeResult, punch_udp_probe_result_free)

G_END_DECLS
