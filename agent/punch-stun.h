/* punch-stun.h: sans-I/O STUN: the Binding server's codec and ICE check helpers.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PUNCH_STUN_HEADER_LEN 20
#define PUNCH_STUN_MAGIC_COOKIE 0x2112A442u
#define PUNCH_STUN_TRANSACTION_ID_LEN 12

/* Datagrams longer than this are not looked at (RFC 5389 7.1: a STUN
 * message should fit the path MTU; 576 bytes over IPv4 without it). */
#define PUNCH_STUN_MAX_MESSAGE_LEN 1280

/* Unknown comprehension-required attributes listed in a 420 answer. */
#define PUNCH_STUN_MAX_UNKNOWN 8

/* Room a caller gives punch_stun_build_binding_response(). */
#define PUNCH_STUN_MAX_RESPONSE_LEN 128

/* A Binding request as far as a server without authentication needs it. */
typedef struct {
  /* RFC 3489 client: no magic cookie (libnice's server-reflexive
   * discovery sends these); answered with MAPPED-ADDRESS. */
  gboolean rfc3489;
  guint8  cookie[4];   /* the magic cookie field as received */
  guint8  transaction_id[PUNCH_STUN_TRANSACTION_ID_LEN];
  guint16 unknown[PUNCH_STUN_MAX_UNKNOWN];
  guint   n_unknown;
} PunchStunRequest;

gboolean  punch_stun_parse_binding_request  (const guint8            *buf,
                                             gsize                    len,
                                             PunchStunRequest        *request,
                                             GError                 **error);

gsize     punch_stun_build_binding_response (const PunchStunRequest  *request,
                                             const guint8            *ip,
                                             gsize                    ip_len,
                                             guint16                  port,
                                             guint8                  *out,
                                             gsize                    out_len);

guint32   punch_stun_crc32                  (const guint8            *buf,
                                             gsize                    len);

/* ICE connectivity checks sent on behalf of a remote client (RFC 8445
 * 7.2.2), built and validated with libnice's STUN library. */
typedef struct _PunchStunChecker PunchStunChecker;

typedef enum {
  PUNCH_STUN_CHECK_SUCCESS,        /* Binding success response */
  PUNCH_STUN_CHECK_ROLE_CONFLICT,  /* 487: the agent is controlling too */
} PunchStunCheckAnswer;

#define PUNCH_STUN_MAX_CHECK_LEN 256

PunchStunChecker *punch_stun_checker_new     (const gchar        *username,
                                              const gchar        *password);
void              punch_stun_checker_free    (PunchStunChecker   *self);
gsize             punch_stun_checker_build   (PunchStunChecker   *self,
                                              guint32             priority,
                                              guint8             *out,
                                              gsize               out_len,
                                              guint8              transaction_id[PUNCH_STUN_TRANSACTION_ID_LEN]);
gboolean          punch_stun_checker_process (PunchStunChecker   *self,
                                              const guint8       *buf,
                                              gsize               len,
                                              guint8              transaction_id[PUNCH_STUN_TRANSACTION_ID_LEN],
                                              PunchStunCheckAnswer *answer,
                                              GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PunchStunChecker, punch_stun_checker_free)

G_END_DECLS
