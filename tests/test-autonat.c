/* test-autonat.c: AutoNAT v1 codec, server policy and client verdicts (sans-I/O).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <punch.h>

#include "autonat.pb-c.h"
#include "punch-autonat-core.h"
#include "punch-proto.h"

#define SEC G_USEC_PER_SEC
#define MINUTE (60 * G_USEC_PER_SEC)

static PunchPeerId *
new_peer (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchKeypair) keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);

  g_assert_no_error (error);
  return punch_peer_id_ref (punch_keypair_get_peer_id (keypair));
}

static PunchMultiaddr *
ma (const gchar *text)
{
  g_autoptr(GError) error = NULL;
  PunchMultiaddr *addr = punch_multiaddr_new_from_string (text, &error);

  g_assert_no_error (error);
  return addr;
}

/* A multiaddr with /p2p/<peer> appended. */
static PunchMultiaddr *
ma_p2p (const gchar *text,
        PunchPeerId *peer)
{
  g_autofree gchar *id = punch_peer_id_to_string (peer);
  g_autofree gchar *full = g_strdup_printf ("%s/p2p/%s", text, id);

  return ma (full);
}

static GPtrArray *
addr_list (const gchar *first,
           ...)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);
  va_list ap;

  va_start (ap, first);
  for (const gchar *text = first; text != NULL; text = va_arg (ap, const gchar *))
    g_ptr_array_add (list, ma (text));
  va_end (ap);
  return list;
}

static gchar *
addr_string (GPtrArray *list,
             guint      i)
{
  return punch_multiaddr_to_string (list->pdata[i]);
}

/* ------------------------------------------------------------------ */
/* Codec                                                              */
/* ------------------------------------------------------------------ */

static void
test_codec_dial_roundtrip (void)
{
  g_autoptr(PunchPeerId) peer = new_peer ();
  g_autoptr(GPtrArray) addrs = addr_list ("/ip4/1.2.3.4/tcp/4001", "/ip6/2001:4860::1/tcp/4002",
                                          "/ip4/1.2.3.4/udp/4001/quic-v1", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = punch_autonat_encode_dial (peer, addrs, &error);
  g_autoptr(PunchAutonatDial) dial = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (bytes);
  g_assert_cmpuint (g_bytes_get_size (bytes), <=, PUNCH_AUTONAT_MAX_MESSAGE_SIZE);

  dial = punch_autonat_decode_dial (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  g_assert_no_error (error);
  g_assert_true (punch_peer_id_equal (dial->peer_id, peer));
  g_assert_cmpuint (dial->addrs->len, ==, 3);
  g_assert_cmpuint (dial->n_invalid, ==, 0);
  for (guint i = 0; i < 3; i++)
    g_assert_true (punch_multiaddr_equal (dial->addrs->pdata[i], addrs->pdata[i]));

  /* No address at all is a valid Dial too. */
  g_clear_pointer (&addrs, g_ptr_array_unref);
  addrs = g_ptr_array_new ();
  g_clear_pointer (&bytes, g_bytes_unref);
  bytes = punch_autonat_encode_dial (peer, addrs, &error);
  g_assert_no_error (error);
  g_clear_pointer (&dial, punch_autonat_dial_free);
  dial = punch_autonat_decode_dial (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dial->addrs->len, ==, 0);
}

static void
test_codec_response_roundtrip (void)
{
  static const PunchAutonatStatus statuses[] = {
    PUNCH_AUTONAT_STATUS_OK, PUNCH_AUTONAT_STATUS_DIAL_ERROR, PUNCH_AUTONAT_STATUS_DIAL_REFUSED,
    PUNCH_AUTONAT_STATUS_BAD_REQUEST, PUNCH_AUTONAT_STATUS_INTERNAL_ERROR,
  };
  g_autoptr(PunchMultiaddr) addr = ma ("/ip4/1.2.3.4/tcp/4001");

  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    {
      g_autoptr(GError) error = NULL;
      gboolean with_addr = statuses[i] == PUNCH_AUTONAT_STATUS_OK;
      g_autoptr(GBytes) bytes = punch_autonat_encode_dial_response (statuses[i], with_addr ? NULL : "why",
                                                                    with_addr ? addr : NULL);
      g_autoptr(PunchAutonatResult) result =
        punch_autonat_decode_dial_response (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);

      g_assert_no_error (error);
      g_assert_cmpint (punch_autonat_result_get_status (result), ==, statuses[i]);
      g_assert_cmpstr (punch_autonat_result_get_status_text (result), ==, with_addr ? "" : "why");
      if (with_addr)
        g_assert_true (punch_multiaddr_equal (punch_autonat_result_get_address (result), addr));
      else
        g_assert_null (punch_autonat_result_get_address (result));
    }
}

/* The wire values of the statuses are the specification's. */
static void
test_codec_status_values (void)
{
  g_assert_cmpint (PUNCH_AUTONAT_STATUS_OK, ==, AUTONAT__PB__MESSAGE__RESPONSE_STATUS__OK);
  g_assert_cmpint (PUNCH_AUTONAT_STATUS_DIAL_ERROR, ==, AUTONAT__PB__MESSAGE__RESPONSE_STATUS__E_DIAL_ERROR);
  g_assert_cmpint (PUNCH_AUTONAT_STATUS_DIAL_REFUSED, ==, AUTONAT__PB__MESSAGE__RESPONSE_STATUS__E_DIAL_REFUSED);
  g_assert_cmpint (PUNCH_AUTONAT_STATUS_BAD_REQUEST, ==, AUTONAT__PB__MESSAGE__RESPONSE_STATUS__E_BAD_REQUEST);
  g_assert_cmpint (PUNCH_AUTONAT_STATUS_INTERNAL_ERROR, ==, AUTONAT__PB__MESSAGE__RESPONSE_STATUS__E_INTERNAL_ERROR);
  g_assert_cmpint (PUNCH_AUTONAT_STATUS_DIAL_ERROR, ==, 100);
  g_assert_cmpint (PUNCH_AUTONAT_STATUS_INTERNAL_ERROR, ==, 300);
}

/* Bytes of a hand-made message. */
static GBytes *
pack (Autonat__Pb__Message *m)
{
  return punch_proto_pack (&m->base);
}

static void
assert_dial_error (GBytes *bytes,
                   gint    code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchAutonatDial) dial = punch_autonat_decode_dial (g_bytes_get_data (bytes, NULL),
                                                                g_bytes_get_size (bytes), &error);

  g_assert_null (dial);
  g_assert_error (error, PUNCH_ERROR, code);
}

static void
assert_response_error (GBytes *bytes,
                       gint    code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchAutonatResult) result =
    punch_autonat_decode_dial_response (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);

  g_assert_null (result);
  g_assert_error (error, PUNCH_ERROR, code);
}

static void
test_codec_malformed_dial (void)
{
  g_autoptr(PunchPeerId) peer = new_peer ();
  g_autoptr(GBytes) id = punch_peer_id_get_bytes (peer);
  Autonat__Pb__Message m = AUTONAT__PB__MESSAGE__INIT;
  Autonat__Pb__Message__Dial dial = AUTONAT__PB__MESSAGE__DIAL__INIT;
  Autonat__Pb__Message__PeerInfo info = AUTONAT__PB__MESSAGE__PEER_INFO__INIT;
  ProtobufCBinaryData many[PUNCH_AUTONAT_MAX_ADDRS + 1];
  g_autoptr(PunchMultiaddr) addr = ma ("/ip4/1.2.3.4/tcp/1");
  static const guint8 garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
  static const guint8 bad_addr[] = { 0x99, 0x99, 0x99, 0x01 };
  g_autofree guint8 *big = NULL;
  GBytes *bytes;

  /* Not protobuf. */
  bytes = g_bytes_new_static (garbage, sizeof garbage);
  assert_dial_error (bytes, PUNCH_ERROR_MALFORMED);
  g_bytes_unref (bytes);

  /* Over-size (checked before parsing). */
  big = g_malloc0 (PUNCH_AUTONAT_MAX_MESSAGE_SIZE + 1);
  bytes = g_bytes_new_static (big, PUNCH_AUTONAT_MAX_MESSAGE_SIZE + 1);
  assert_dial_error (bytes, PUNCH_ERROR_TOO_LARGE);
  g_bytes_unref (bytes);

  /* Empty: no type. */
  bytes = g_bytes_new_static ("", 0);
  assert_dial_error (bytes, PUNCH_ERROR_MALFORMED);
  g_bytes_unref (bytes);

  /* Type DIAL without a dial. */
  m.has_type = TRUE;
  m.type = AUTONAT__PB__MESSAGE__MESSAGE_TYPE__DIAL;
  bytes = pack (&m);
  assert_dial_error (bytes, PUNCH_ERROR_MALFORMED);
  g_bytes_unref (bytes);

  /* A dial without peer. */
  m.dial = &dial;
  bytes = pack (&m);
  assert_dial_error (bytes, PUNCH_ERROR_MALFORMED);
  g_bytes_unref (bytes);

  /* A peer without id. */
  dial.peer = &info;
  bytes = pack (&m);
  assert_dial_error (bytes, PUNCH_ERROR_MALFORMED);
  g_bytes_unref (bytes);

  /* An id that is no peer id. */
  info.has_id = TRUE;
  info.id.data = (guint8 *) "nope";
  info.id.len = 4;
  bytes = pack (&m);
  assert_dial_error (bytes, PUNCH_ERROR_MALFORMED);
  g_bytes_unref (bytes);

  /* The right type is needed. */
  info.id.data = (guint8 *) g_bytes_get_data (id, &info.id.len);
  m.type = AUTONAT__PB__MESSAGE__MESSAGE_TYPE__DIAL_RESPONSE;
  bytes = pack (&m);
  assert_dial_error (bytes, PUNCH_ERROR_PROTOCOL);
  g_bytes_unref (bytes);
  m.type = AUTONAT__PB__MESSAGE__MESSAGE_TYPE__DIAL;

  /* Too many addresses. */
  for (guint i = 0; i < G_N_ELEMENTS (many); i++)
    many[i].data = (guint8 *) punch_multiaddr_get_data (addr, &many[i].len);
  info.addrs = many;
  info.n_addrs = G_N_ELEMENTS (many);
  bytes = pack (&m);
  assert_dial_error (bytes, PUNCH_ERROR_TOO_LARGE);
  g_bytes_unref (bytes);

  /* Exactly the limit is fine; invalid addresses are dropped, not fatal. */
  many[0].data = (guint8 *) bad_addr;
  many[0].len = sizeof bad_addr;
  info.n_addrs = PUNCH_AUTONAT_MAX_ADDRS;
  bytes = pack (&m);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(PunchAutonatDial) d = punch_autonat_decode_dial (g_bytes_get_data (bytes, NULL),
                                                               g_bytes_get_size (bytes), &error);
    g_assert_no_error (error);
    g_assert_cmpuint (d->n_invalid, ==, 1);
    g_assert_cmpuint (d->addrs->len, ==, PUNCH_AUTONAT_MAX_ADDRS - 1);
  }
  g_bytes_unref (bytes);
}

static void
test_codec_malformed_response (void)
{
  Autonat__Pb__Message m = AUTONAT__PB__MESSAGE__INIT;
  Autonat__Pb__Message__DialResponse r = AUTONAT__PB__MESSAGE__DIAL_RESPONSE__INIT;
  static const guint8 bad_addr[] = { 0x99, 0x99, 0x99, 0x01 };
  GBytes *bytes;

  /* No type. */
  bytes = pack (&m);
  assert_response_error (bytes, PUNCH_ERROR_MALFORMED);
  g_bytes_unref (bytes);

  /* A DIAL where a response is expected. */
  m.has_type = TRUE;
  m.type = AUTONAT__PB__MESSAGE__MESSAGE_TYPE__DIAL;
  bytes = pack (&m);
  assert_response_error (bytes, PUNCH_ERROR_PROTOCOL);
  g_bytes_unref (bytes);

  /* No dialResponse. */
  m.type = AUTONAT__PB__MESSAGE__MESSAGE_TYPE__DIAL_RESPONSE;
  bytes = pack (&m);
  assert_response_error (bytes, PUNCH_ERROR_MALFORMED);
  g_bytes_unref (bytes);

  /* No status. */
  m.dialresponse = &r;
  bytes = pack (&m);
  assert_response_error (bytes, PUNCH_ERROR_MALFORMED);
  g_bytes_unref (bytes);

  /* A status the specification does not have. */
  r.has_status = TRUE;
  r.status = 42;
  bytes = pack (&m);
  assert_response_error (bytes, PUNCH_ERROR_MALFORMED);
  g_bytes_unref (bytes);

  /* An address that is not a multiaddr. */
  r.status = AUTONAT__PB__MESSAGE__RESPONSE_STATUS__OK;
  r.has_addr = TRUE;
  r.addr.data = (guint8 *) bad_addr;
  r.addr.len = sizeof bad_addr;
  bytes = pack (&m);
  assert_response_error (bytes, PUNCH_ERROR_MALFORMED);
  g_bytes_unref (bytes);

  /* An OK without address is accepted (the address is a SHOULD). */
  r.has_addr = FALSE;
  bytes = pack (&m);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(PunchAutonatResult) result =
      punch_autonat_decode_dial_response (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);

    g_assert_no_error (error);
    g_assert_cmpint (punch_autonat_result_get_status (result), ==, PUNCH_AUTONAT_STATUS_OK);
    g_assert_null (punch_autonat_result_get_address (result));
  }
  g_bytes_unref (bytes);
}

static void
test_codec_status_text (void)
{
  Autonat__Pb__Message m = AUTONAT__PB__MESSAGE__INIT;
  Autonat__Pb__Message__DialResponse r = AUTONAT__PB__MESSAGE__DIAL_RESPONSE__INIT;
  g_autofree gchar *long_text = g_strnfill (1000, 'x');
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) bytes2 = NULL;
  g_autoptr(PunchAutonatResult) result = NULL;
  g_autoptr(PunchAutonatResult) result2 = NULL;
  g_autoptr(GError) error = NULL;

  m.has_type = TRUE;
  m.type = AUTONAT__PB__MESSAGE__MESSAGE_TYPE__DIAL_RESPONSE;
  m.dialresponse = &r;
  r.has_status = TRUE;
  r.status = AUTONAT__PB__MESSAGE__RESPONSE_STATUS__E_DIAL_REFUSED;
  r.statustext = long_text;
  bytes = pack (&m);
  result = punch_autonat_decode_dial_response (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (punch_autonat_result_get_status_text (result)), ==, PUNCH_AUTONAT_MAX_STATUS_TEXT);

  /* Invalid UTF-8 is repaired, not trusted. */
  bytes2 = punch_autonat_encode_dial_response (PUNCH_AUTONAT_STATUS_DIAL_ERROR, "bad \xff\xfe text", NULL);
  result2 = punch_autonat_decode_dial_response (g_bytes_get_data (bytes2, NULL), g_bytes_get_size (bytes2), &error);
  g_assert_no_error (error);
  g_assert_true (g_utf8_validate (punch_autonat_result_get_status_text (result2), -1, NULL));
  g_assert_true (g_str_has_prefix (punch_autonat_result_get_status_text (result2), "bad "));
}

static void
test_codec_encode_limits (void)
{
  g_autoptr(PunchPeerId) peer = new_peer ();
  g_autoptr(GPtrArray) addrs = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;

  for (guint i = 0; i <= PUNCH_AUTONAT_MAX_ADDRS; i++)
    g_ptr_array_add (addrs, ma ("/ip4/1.2.3.4/tcp/4001"));
  bytes = punch_autonat_encode_dial (peer, addrs, &error);
  g_assert_null (bytes);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
  g_clear_error (&error);

  /* Within the count but over 4 KiB. */
  g_ptr_array_set_size (addrs, 0);
  for (guint i = 0; i < PUNCH_AUTONAT_MAX_ADDRS; i++)
    g_ptr_array_add (addrs, ma ("/dns4/a-very-long-host-name-to-fill-the-message.with-more-labels.and-still-more-labels.example.com/tcp/4001/ws"));
  bytes = punch_autonat_encode_dial (peer, addrs, &error);
  g_assert_null (bytes);
  g_assert_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE);
}

/* ------------------------------------------------------------------ */
/* Server policy                                                      */
/* ------------------------------------------------------------------ */

static GBytes *
dial_bytes (PunchPeerId *peer,
            GPtrArray   *addrs)
{
  g_autoptr(GError) error = NULL;
  GBytes *bytes = punch_autonat_encode_dial (peer, addrs, &error);

  g_assert_no_error (error);
  return bytes;
}

/* Runs one request through @server; returns the status, *out_addrs the
 * addresses to dial (or NULL), *out_text the text. */
static PunchAutonatStatus
serve (PunchAutonatServer *server,
       PunchPeerId        *sender,
       PunchPeerId        *claimed,
       GPtrArray          *addrs,
       const gchar        *observed,
       gint64              now_us,
       GPtrArray         **out_addrs,
       gchar             **out_text)
{
  g_autoptr(GBytes) bytes = dial_bytes (claimed, addrs);
  g_autoptr(PunchMultiaddr) obs = ma (observed);
  g_autoptr(GPtrArray) dial = NULL;
  g_autofree gchar *text = NULL;
  PunchAutonatStatus status;

  status = punch_autonat_server_handle_request (server, g_bytes_get_data (bytes, NULL),
                                                g_bytes_get_size (bytes), sender, obs, now_us,
                                                &dial, &text);
  if (status == PUNCH_AUTONAT_STATUS_OK)
    {
      g_assert_nonnull (dial);
      g_assert_cmpuint (dial->len, >, 0);
      g_assert_null (text);
    }
  else
    {
      g_assert_null (dial);
      g_assert_nonnull (text);
    }
  if (out_addrs != NULL)
    *out_addrs = g_steal_pointer (&dial);
  if (out_text != NULL)
    *out_text = g_steal_pointer (&text);
  return status;
}

static PunchAutonatServer *
server_new (gboolean allow_private,
            guint    global,
            guint    peer,
            guint    concurrent)
{
  PunchAutonatServerConfig config;

  punch_autonat_server_config_init (&config);
  config.allow_private = allow_private;
  config.global_per_minute = global;
  config.peer_per_minute = peer;
  config.max_concurrent = concurrent;
  return punch_autonat_server_new (&config);
}

static void
test_server_defaults (void)
{
  PunchAutonatServerConfig config;

  punch_autonat_server_config_init (&config);
  g_assert_false (config.allow_private);
  g_assert_cmpuint (config.global_per_minute, ==, 30);
  g_assert_cmpuint (config.peer_per_minute, ==, 3);
  g_assert_cmpuint (config.max_concurrent, >, 0);
  g_assert_cmpuint (config.dial_timeout_ms, ==, 15000);
  g_assert_cmpuint (config.max_dial_addrs, ==, 4);
}

static void
test_server_refuses_foreign_ip (void)
{
  g_autoptr(PunchAutonatServer) server = server_new (FALSE, 0, 0, 0);
  g_autoptr(PunchPeerId) peer = new_peer ();
  g_autoptr(GPtrArray) addrs = addr_list ("/ip4/5.6.7.8/tcp/4001", "/ip4/1.2.3.4/tcp/4001",
                                          "/ip4/9.9.9.9/tcp/4001", "/ip6/2001:4860::1/tcp/4001", NULL);
  g_autoptr(GPtrArray) only_foreign = addr_list ("/ip4/5.6.7.8/tcp/4001", "/ip4/9.9.9.9/tcp/80", NULL);
  g_autoptr(GPtrArray) dial = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *first = NULL;

  g_assert_cmpint (serve (server, peer, peer, addrs, "/ip4/1.2.3.4/tcp/51000", 0, &dial, &text),
                   ==, PUNCH_AUTONAT_STATUS_OK);
  g_assert_cmpuint (dial->len, ==, 1);
  first = addr_string (dial, 0);
  g_assert_cmpstr (first, ==, "/ip4/1.2.3.4/tcp/4001");
  punch_autonat_server_dial_done (server);
  g_clear_pointer (&dial, g_ptr_array_unref);

  g_assert_cmpint (serve (server, peer, peer, only_foreign, "/ip4/1.2.3.4/tcp/51000", 0, &dial, &text),
                   ==, PUNCH_AUTONAT_STATUS_DIAL_REFUSED);
  g_assert_null (dial);
  g_assert_nonnull (strstr (text, "2 not on the observed IP"));
  g_assert_cmpuint (punch_autonat_server_get_n_active (server), ==, 0);
}

static void
test_server_filters (void)
{
  g_autoptr(PunchPeerId) peer = new_peer ();
  g_autoptr(PunchPeerId) other = new_peer ();
  g_autoptr(PunchMultiaddr) observed = ma ("/ip4/1.2.3.4/tcp/50000");
  g_autoptr(GPtrArray) addrs = addr_list ("/ip4/1.2.3.4/udp/4001/quic-v1",
                                          "/ip4/1.2.3.4/tcp/4001/ws",
                                          "/dns4/example.com/tcp/4001",
                                          "/ip4/1.2.3.4/tcp/0",
                                          "/ip4/1.2.3.4/tcp/4001",
                                          "/ip4/1.2.3.4/tcp/4001",
                                          NULL);
  g_autoptr(GPtrArray) keep = NULL;
  g_autofree gchar *reason = NULL;
  g_autofree gchar *s0 = NULL;
  g_autofree gchar *s1 = NULL;
  g_autofree gchar *other_id = punch_peer_id_to_string (other);
  g_autofree gchar *circuit = g_strdup_printf ("/ip4/1.2.3.4/tcp/4001/p2p/%s/p2p-circuit", other_id);

  g_ptr_array_add (addrs, ma (circuit));
  g_ptr_array_add (addrs, ma_p2p ("/ip4/1.2.3.4/tcp/4003", other));
  g_ptr_array_add (addrs, ma_p2p ("/ip4/1.2.3.4/tcp/4002", peer));

  keep = punch_autonat_filter_addrs (addrs, peer, observed, FALSE, 4, &reason);
  g_assert_null (reason);
  g_assert_cmpuint (keep->len, ==, 2);
  s0 = addr_string (keep, 0);
  s1 = addr_string (keep, 1);
  g_assert_cmpstr (s0, ==, "/ip4/1.2.3.4/tcp/4001");
  /* The /p2p/<requester> suffix is accepted and removed. */
  g_assert_cmpstr (s1, ==, "/ip4/1.2.3.4/tcp/4002");

  /* The cap. */
  g_clear_pointer (&keep, g_ptr_array_unref);
  keep = punch_autonat_filter_addrs (addrs, peer, observed, FALSE, 1, &reason);
  g_assert_cmpuint (keep->len, ==, 1);

  /* A dual-stack listener sees an IPv4 peer as ::ffff:a.b.c.d. */
  {
    g_autoptr(PunchMultiaddr) mapped = ma ("/ip6/::ffff:1.2.3.4/tcp/50000");
    g_autoptr(GPtrArray) kept = punch_autonat_filter_addrs (addrs, peer, mapped, FALSE, 4, NULL);

    g_assert_cmpuint (kept->len, ==, 2);
  }

  /* A request over a relay: the observed IP is the relay's. */
  {
    g_autofree gchar *relayed_text = g_strdup_printf ("/ip4/1.2.3.4/tcp/4001/p2p/%s/p2p-circuit", other_id);
    g_autoptr(PunchMultiaddr) relayed = ma (relayed_text);
    g_autoptr(GPtrArray) kept = NULL;
    g_autofree gchar *why = NULL;

    kept = punch_autonat_filter_addrs (addrs, peer, relayed, TRUE, 4, &why);
    g_assert_cmpuint (kept->len, ==, 0);
    g_assert_nonnull (strstr (why, "no observed IP"));
  }

  /* Without the good ones: refused, with the reasons. */
  g_ptr_array_remove_range (addrs, 4, 2);
  g_ptr_array_set_size (addrs, addrs->len - 1);
  g_clear_pointer (&keep, g_ptr_array_unref);
  keep = punch_autonat_filter_addrs (addrs, peer, observed, TRUE, 4, &reason);
  g_assert_cmpuint (keep->len, ==, 0);
  g_assert_nonnull (reason);
  g_assert_nonnull (strstr (reason, "1 relayed"));
  g_assert_nonnull (strstr (reason, "3 not TCP"));
  g_assert_nonnull (strstr (reason, "1 for another peer"));
  g_assert_nonnull (strstr (reason, "1 port 0"));
}

static void
test_server_private (void)
{
  static const struct {
    const gchar *observed;
    const gchar *addr;
  } cases[] = {
    { "/ip4/192.168.1.2/tcp/50000", "/ip4/192.168.1.2/tcp/4001" },
    { "/ip4/127.0.0.1/tcp/50000", "/ip4/127.0.0.1/tcp/4001" },
    { "/ip4/10.1.2.3/tcp/50000", "/ip4/10.1.2.3/tcp/4001" },
    /* The NAT lab's "internet": documentation ranges. */
    { "/ip4/198.51.100.7/tcp/50000", "/ip4/198.51.100.7/tcp/4001" },
    { "/ip4/203.0.113.9/tcp/50000", "/ip4/203.0.113.9/tcp/4001" },
    { "/ip6/::1/tcp/50000", "/ip6/::1/tcp/4001" },
  };
  g_autoptr(PunchPeerId) peer = new_peer ();

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(PunchAutonatServer) strict = server_new (FALSE, 0, 0, 0);
      g_autoptr(PunchAutonatServer) lab = server_new (TRUE, 0, 0, 0);
      g_autoptr(GPtrArray) addrs = addr_list (cases[i].addr, NULL);
      g_autoptr(GPtrArray) dial = NULL;
      g_autofree gchar *text = NULL;

      g_assert_cmpint (serve (strict, peer, peer, addrs, cases[i].observed, 0, NULL, &text),
                       ==, PUNCH_AUTONAT_STATUS_DIAL_REFUSED);
      g_assert_nonnull (strstr (text, "not public"));
      g_assert_cmpint (serve (lab, peer, peer, addrs, cases[i].observed, 0, &dial, NULL),
                       ==, PUNCH_AUTONAT_STATUS_OK);
      g_assert_cmpuint (dial->len, ==, 1);
      g_assert_true (punch_multiaddr_equal (dial->pdata[0], addrs->pdata[0]));
      punch_autonat_server_dial_done (lab);

      /* allow_private never lifts the observed-IP rule. */
      g_clear_pointer (&addrs, g_ptr_array_unref);
      addrs = addr_list ("/ip4/1.2.3.4/tcp/4001", NULL);
      g_assert_cmpint (serve (lab, peer, peer, addrs, cases[i].observed, 0, NULL, NULL),
                       ==, PUNCH_AUTONAT_STATUS_DIAL_REFUSED);
    }
}

static void
test_server_bad_request (void)
{
  g_autoptr(PunchAutonatServer) server = server_new (TRUE, 0, 0, 0);
  g_autoptr(PunchPeerId) peer = new_peer ();
  g_autoptr(PunchPeerId) other = new_peer ();
  g_autoptr(GPtrArray) addrs = addr_list ("/ip4/1.2.3.4/tcp/4001", NULL);
  g_autoptr(PunchMultiaddr) observed = ma ("/ip4/1.2.3.4/tcp/5");
  g_autoptr(GPtrArray) dial = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *text2 = NULL;
  static const guint8 garbage[] = { 0x0a, 0xff, 0x01 };

  /* Another peer's id. */
  g_assert_cmpint (serve (server, peer, other, addrs, "/ip4/1.2.3.4/tcp/5", 0, NULL, &text),
                   ==, PUNCH_AUTONAT_STATUS_BAD_REQUEST);
  g_assert_cmpstr (text, ==, "peer id mismatch");

  /* Not a Dial. */
  g_assert_cmpint (punch_autonat_server_handle_request (server, garbage, sizeof garbage, peer,
                                                        observed, 0, &dial, &text2),
                   ==, PUNCH_AUTONAT_STATUS_BAD_REQUEST);
  g_assert_null (dial);
  g_assert_true (g_str_has_prefix (text2, "bad request"));
  g_assert_cmpuint (punch_autonat_server_get_n_active (server), ==, 0);
}

static void
test_server_rate_global (void)
{
  g_autoptr(PunchAutonatServer) server = server_new (FALSE, 2, 0, 0);
  g_autoptr(GPtrArray) addrs = addr_list ("/ip4/1.2.3.4/tcp/4001", NULL);
  PunchPeerId *peers[4];
  gint64 t0 = 1000 * SEC;
  g_autofree gchar *text = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (peers); i++)
    peers[i] = new_peer ();

  g_assert_cmpint (serve (server, peers[0], peers[0], addrs, "/ip4/1.2.3.4/tcp/1", t0, NULL, NULL), ==, PUNCH_AUTONAT_STATUS_OK);
  punch_autonat_server_dial_done (server);
  g_assert_cmpint (serve (server, peers[1], peers[1], addrs, "/ip4/1.2.3.4/tcp/1", t0 + 10 * SEC, NULL, NULL), ==, PUNCH_AUTONAT_STATUS_OK);
  punch_autonat_server_dial_done (server);
  g_assert_cmpint (serve (server, peers[2], peers[2], addrs, "/ip4/1.2.3.4/tcp/1", t0 + 20 * SEC, NULL, &text), ==, PUNCH_AUTONAT_STATUS_DIAL_REFUSED);
  g_assert_cmpstr (text, ==, "too many requests");

  /* The first request leaves the window after a minute; refused ones never counted. */
  g_assert_cmpint (serve (server, peers[2], peers[2], addrs, "/ip4/1.2.3.4/tcp/1", t0 + MINUTE - 1, NULL, NULL), ==, PUNCH_AUTONAT_STATUS_DIAL_REFUSED);
  g_assert_cmpint (serve (server, peers[2], peers[2], addrs, "/ip4/1.2.3.4/tcp/1", t0 + MINUTE, NULL, NULL), ==, PUNCH_AUTONAT_STATUS_OK);
  punch_autonat_server_dial_done (server);
  g_assert_cmpint (serve (server, peers[3], peers[3], addrs, "/ip4/1.2.3.4/tcp/1", t0 + MINUTE + 1, NULL, NULL), ==, PUNCH_AUTONAT_STATUS_DIAL_REFUSED);
  g_assert_cmpint (serve (server, peers[3], peers[3], addrs, "/ip4/1.2.3.4/tcp/1", t0 + MINUTE + 10 * SEC, NULL, NULL), ==, PUNCH_AUTONAT_STATUS_OK);
  punch_autonat_server_dial_done (server);

  for (guint i = 0; i < G_N_ELEMENTS (peers); i++)
    punch_peer_id_unref (peers[i]);
}

static void
test_server_rate_peer (void)
{
  g_autoptr(PunchAutonatServer) server = server_new (FALSE, 0, 2, 0);
  g_autoptr(GPtrArray) addrs = addr_list ("/ip4/1.2.3.4/tcp/4001", NULL);
  g_autoptr(PunchPeerId) a = new_peer ();
  g_autoptr(PunchPeerId) b = new_peer ();
  g_autofree gchar *text = NULL;
  gint64 t0 = 5 * SEC;

  for (guint i = 0; i < 2; i++)
    {
      g_assert_cmpint (serve (server, a, a, addrs, "/ip4/1.2.3.4/tcp/1", t0 + i * SEC, NULL, NULL), ==, PUNCH_AUTONAT_STATUS_OK);
      punch_autonat_server_dial_done (server);
    }
  g_assert_cmpint (serve (server, a, a, addrs, "/ip4/1.2.3.4/tcp/1", t0 + 30 * SEC, NULL, &text), ==, PUNCH_AUTONAT_STATUS_DIAL_REFUSED);
  g_assert_cmpstr (text, ==, "too many requests from this peer");
  /* Another peer is not affected. */
  g_assert_cmpint (serve (server, b, b, addrs, "/ip4/1.2.3.4/tcp/1", t0 + 30 * SEC, NULL, NULL), ==, PUNCH_AUTONAT_STATUS_OK);
  punch_autonat_server_dial_done (server);
  /* Recovery: one slot is free a minute after the first. */
  g_assert_cmpint (serve (server, a, a, addrs, "/ip4/1.2.3.4/tcp/1", t0 + MINUTE, NULL, NULL), ==, PUNCH_AUTONAT_STATUS_OK);
  punch_autonat_server_dial_done (server);
  g_assert_cmpint (serve (server, a, a, addrs, "/ip4/1.2.3.4/tcp/1", t0 + MINUTE + 1, NULL, NULL), ==, PUNCH_AUTONAT_STATUS_DIAL_REFUSED);
}

static void
test_server_rate_concurrent (void)
{
  g_autoptr(PunchAutonatServer) server = server_new (FALSE, 0, 0, 2);
  g_autoptr(GPtrArray) addrs = addr_list ("/ip4/1.2.3.4/tcp/4001", NULL);
  g_autoptr(PunchPeerId) a = new_peer ();
  g_autofree gchar *text = NULL;

  g_assert_cmpint (serve (server, a, a, addrs, "/ip4/1.2.3.4/tcp/1", 0, NULL, NULL), ==, PUNCH_AUTONAT_STATUS_OK);
  g_assert_cmpint (serve (server, a, a, addrs, "/ip4/1.2.3.4/tcp/1", 0, NULL, NULL), ==, PUNCH_AUTONAT_STATUS_OK);
  g_assert_cmpuint (punch_autonat_server_get_n_active (server), ==, 2);
  g_assert_cmpint (serve (server, a, a, addrs, "/ip4/1.2.3.4/tcp/1", 0, NULL, &text), ==, PUNCH_AUTONAT_STATUS_DIAL_REFUSED);
  g_assert_cmpstr (text, ==, "too many dial-backs at once");
  punch_autonat_server_dial_done (server);
  g_assert_cmpint (serve (server, a, a, addrs, "/ip4/1.2.3.4/tcp/1", 0, NULL, NULL), ==, PUNCH_AUTONAT_STATUS_OK);
  punch_autonat_server_dial_done (server);
  punch_autonat_server_dial_done (server);
  g_assert_cmpuint (punch_autonat_server_get_n_active (server), ==, 0);
}

/* ------------------------------------------------------------------ */
/* Client verdicts                                                    */
/* ------------------------------------------------------------------ */

#define N_SERVERS 8

typedef struct {
  PunchPeerId *servers[N_SERVERS];
  PunchAutonatTracker *tracker;
} TrackerFixture;

static void
tracker_setup (TrackerFixture *f,
               gconstpointer   data)
{
  PunchAutonatTrackerConfig config;

  for (guint i = 0; i < N_SERVERS; i++)
    f->servers[i] = new_peer ();
  punch_autonat_tracker_config_init (&config);
  config.threshold = GPOINTER_TO_UINT (data);
  f->tracker = punch_autonat_tracker_new (&config);
}

static void
tracker_teardown (TrackerFixture *f,
                  gconstpointer   data)
{
  for (guint i = 0; i < N_SERVERS; i++)
    punch_peer_id_unref (f->servers[i]);
  punch_autonat_tracker_free (f->tracker);
}

static gboolean
record (TrackerFixture     *f,
        guint               server,
        PunchAutonatStatus  status,
        gint64              now_us)
{
  return punch_autonat_tracker_record (f->tracker, f->servers[server], status, NULL, NULL, now_us);
}

static void
test_tracker_defaults (void)
{
  PunchAutonatTrackerConfig config;
  g_autoptr(PunchAutonatTracker) tracker = NULL;

  punch_autonat_tracker_config_init (&config);
  /* "more than 3 peers". */
  g_assert_cmpuint (config.threshold, ==, 4);
  g_assert_cmpuint (config.max_confidence, ==, 3);
  tracker = punch_autonat_tracker_new (NULL);
  g_assert_cmpint (punch_autonat_tracker_get_reachability (tracker), ==, PUNCH_REACHABILITY_UNKNOWN);
  g_assert_cmpuint (punch_autonat_tracker_get_confidence (tracker), ==, 0);
}

static void
test_tracker_threshold (TrackerFixture *f,
                        gconstpointer   data)
{
  /* Threshold 4: three OKs are not enough, the fourth is. */
  g_assert_false (record (f, 0, PUNCH_AUTONAT_STATUS_OK, 1));
  g_assert_false (record (f, 1, PUNCH_AUTONAT_STATUS_OK, 2));
  g_assert_false (record (f, 2, PUNCH_AUTONAT_STATUS_OK, 3));
  g_assert_cmpint (punch_autonat_tracker_get_reachability (f->tracker), ==, PUNCH_REACHABILITY_UNKNOWN);
  g_assert_cmpuint (punch_autonat_tracker_get_confidence (f->tracker), ==, 0);
  g_assert_true (record (f, 3, PUNCH_AUTONAT_STATUS_OK, 4));
  g_assert_cmpint (punch_autonat_tracker_get_reachability (f->tracker), ==, PUNCH_REACHABILITY_PUBLIC);
  /* Four for, none against: clamped to the maximum. */
  g_assert_cmpuint (punch_autonat_tracker_get_confidence (f->tracker), ==, 3);
  g_assert_false (record (f, 4, PUNCH_AUTONAT_STATUS_OK, 5));
  g_assert_cmpuint (punch_autonat_tracker_get_confidence (f->tracker), ==, 3);
}

static void
test_tracker_same_server_once (TrackerFixture *f,
                               gconstpointer   data)
{
  guint pub, priv;

  for (guint i = 0; i < 10; i++)
    g_assert_false (record (f, 0, PUNCH_AUTONAT_STATUS_OK, i + 1));
  punch_autonat_tracker_get_votes (f->tracker, &pub, &priv);
  g_assert_cmpuint (pub, ==, 1);
  g_assert_cmpuint (priv, ==, 0);
  g_assert_cmpint (punch_autonat_tracker_get_reachability (f->tracker), ==, PUNCH_REACHABILITY_UNKNOWN);

  /* A server changing its answer replaces its vote. */
  g_assert_false (record (f, 0, PUNCH_AUTONAT_STATUS_DIAL_ERROR, 20));
  punch_autonat_tracker_get_votes (f->tracker, &pub, &priv);
  g_assert_cmpuint (pub, ==, 0);
  g_assert_cmpuint (priv, ==, 1);
  g_assert_true (record (f, 1, PUNCH_AUTONAT_STATUS_DIAL_ERROR, 21));
  g_assert_cmpint (punch_autonat_tracker_get_reachability (f->tracker), ==, PUNCH_REACHABILITY_PRIVATE);
  g_assert_cmpuint (punch_autonat_tracker_get_confidence (f->tracker), ==, 2);
}

static void
test_tracker_hysteresis (TrackerFixture *f,
                         gconstpointer   data)
{
  /* Threshold 2. */
  g_assert_false (record (f, 0, PUNCH_AUTONAT_STATUS_OK, 1));
  g_assert_true (record (f, 1, PUNCH_AUTONAT_STATUS_OK, 2));
  g_assert_cmpint (punch_autonat_tracker_get_reachability (f->tracker), ==, PUNCH_REACHABILITY_PUBLIC);
  g_assert_cmpuint (punch_autonat_tracker_get_confidence (f->tracker), ==, 2);

  /* One contrary answer lowers the confidence, nothing more. */
  g_assert_false (record (f, 2, PUNCH_AUTONAT_STATUS_DIAL_ERROR, 3));
  g_assert_cmpint (punch_autonat_tracker_get_reachability (f->tracker), ==, PUNCH_REACHABILITY_PUBLIC);
  g_assert_cmpuint (punch_autonat_tracker_get_confidence (f->tracker), ==, 1);
  /* A tie does not flip either. */
  g_assert_false (record (f, 3, PUNCH_AUTONAT_STATUS_DIAL_ERROR, 4));
  g_assert_cmpint (punch_autonat_tracker_get_reachability (f->tracker), ==, PUNCH_REACHABILITY_PUBLIC);
  g_assert_cmpuint (punch_autonat_tracker_get_confidence (f->tracker), ==, 0);
  /* A contrary majority does. */
  g_assert_true (record (f, 4, PUNCH_AUTONAT_STATUS_DIAL_ERROR, 5));
  g_assert_cmpint (punch_autonat_tracker_get_reachability (f->tracker), ==, PUNCH_REACHABILITY_PRIVATE);
  g_assert_cmpuint (punch_autonat_tracker_get_confidence (f->tracker), ==, 1);

  /* Answers that are no evidence change nothing. */
  g_assert_false (record (f, 5, PUNCH_AUTONAT_STATUS_DIAL_REFUSED, 6));
  g_assert_false (record (f, 6, PUNCH_AUTONAT_STATUS_BAD_REQUEST, 7));
  g_assert_false (record (f, 7, PUNCH_AUTONAT_STATUS_INTERNAL_ERROR, 8));
  /* ...and do not erase a server's earlier vote. */
  g_assert_false (record (f, 2, PUNCH_AUTONAT_STATUS_DIAL_REFUSED, 9));
  {
    guint pub, priv;

    punch_autonat_tracker_get_votes (f->tracker, &pub, &priv);
    g_assert_cmpuint (pub, ==, 2);
    g_assert_cmpuint (priv, ==, 3);
  }
  g_assert_cmpint (punch_autonat_tracker_get_reachability (f->tracker), ==, PUNCH_REACHABILITY_PRIVATE);
}

static void
test_tracker_lying_server (TrackerFixture *f,
                           gconstpointer   data)
{
  /* Threshold 2: three honest servers cannot dial us. */
  record (f, 1, PUNCH_AUTONAT_STATUS_DIAL_ERROR, 1);
  record (f, 2, PUNCH_AUTONAT_STATUS_DIAL_ERROR, 2);
  record (f, 3, PUNCH_AUTONAT_STATUS_DIAL_ERROR, 3);
  g_assert_cmpint (punch_autonat_tracker_get_reachability (f->tracker), ==, PUNCH_REACHABILITY_PRIVATE);

  /* Server 0 claims success, again and again. */
  for (guint i = 0; i < 20; i++)
    g_assert_false (record (f, 0, PUNCH_AUTONAT_STATUS_OK, 10 + i));
  g_assert_cmpint (punch_autonat_tracker_get_reachability (f->tracker), ==, PUNCH_REACHABILITY_PRIVATE);
  g_assert_cmpuint (punch_autonat_tracker_get_confidence (f->tracker), ==, 2);
}

static void
test_tracker_expiry (TrackerFixture *f,
                     gconstpointer   data)
{
  gint64 ttl = PUNCH_AUTONAT_DEFAULT_VOTE_TTL_US;

  record (f, 0, PUNCH_AUTONAT_STATUS_OK, SEC);
  record (f, 1, PUNCH_AUTONAT_STATUS_OK, 2 * SEC);
  g_assert_cmpint (punch_autonat_tracker_get_reachability (f->tracker), ==, PUNCH_REACHABILITY_PUBLIC);
  g_assert_false (punch_autonat_tracker_expire (f->tracker, SEC + ttl - 1));
  /* One vote left: still public, with less confidence. */
  g_assert_false (punch_autonat_tracker_expire (f->tracker, SEC + ttl));
  g_assert_cmpint (punch_autonat_tracker_get_reachability (f->tracker), ==, PUNCH_REACHABILITY_PUBLIC);
  g_assert_cmpuint (punch_autonat_tracker_get_confidence (f->tracker), ==, 1);
  /* None left: unknown. */
  g_assert_true (punch_autonat_tracker_expire (f->tracker, 2 * SEC + ttl));
  g_assert_cmpint (punch_autonat_tracker_get_reachability (f->tracker), ==, PUNCH_REACHABILITY_UNKNOWN);
  g_assert_cmpuint (punch_autonat_tracker_get_confidence (f->tracker), ==, 0);
}

static void
test_tracker_addresses (TrackerFixture *f,
                        gconstpointer   data)
{
  g_autoptr(PunchMultiaddr) x = ma ("/ip4/1.2.3.4/tcp/4001");
  g_autoptr(PunchMultiaddr) y = ma ("/ip4/1.2.3.4/tcp/4002");
  g_autoptr(PunchMultiaddr) z = ma ("/ip4/1.2.3.4/tcp/4003");
  g_autoptr(PunchMultiaddr) x_p2p = ma_p2p ("/ip4/1.2.3.4/tcp/4001", f->servers[7]);
  g_autoptr(GPtrArray) requested = g_ptr_array_new ();
  g_autoptr(GPtrArray) reachable = NULL;
  gint64 last = -1;

  g_ptr_array_add (requested, x);
  g_ptr_array_add (requested, y);

  g_assert_cmpint (punch_autonat_tracker_get_addr_verdict (f->tracker, x, &last), ==, PUNCH_AUTONAT_ADDR_UNKNOWN);
  g_assert_cmpint (last, ==, 0);

  punch_autonat_tracker_record (f->tracker, f->servers[0], PUNCH_AUTONAT_STATUS_OK, x, requested, 10);
  g_assert_cmpint (punch_autonat_tracker_get_addr_verdict (f->tracker, x, &last), ==, PUNCH_AUTONAT_ADDR_REACHABLE);
  g_assert_cmpint (last, ==, 10);
  /* The other requested address: the server only names the first success. */
  g_assert_cmpint (punch_autonat_tracker_get_addr_verdict (f->tracker, y, NULL), ==, PUNCH_AUTONAT_ADDR_UNKNOWN);
  /* /p2p is not part of the key. */
  g_assert_cmpint (punch_autonat_tracker_get_addr_verdict (f->tracker, x_p2p, NULL), ==, PUNCH_AUTONAT_ADDR_REACHABLE);

  /* Another server fails on both: y unreachable, x tied so unchanged. */
  punch_autonat_tracker_record (f->tracker, f->servers[1], PUNCH_AUTONAT_STATUS_DIAL_ERROR, NULL, requested, 20);
  g_assert_cmpint (punch_autonat_tracker_get_addr_verdict (f->tracker, x, &last), ==, PUNCH_AUTONAT_ADDR_REACHABLE);
  g_assert_cmpint (last, ==, 20);
  g_assert_cmpint (punch_autonat_tracker_get_addr_verdict (f->tracker, y, &last), ==, PUNCH_AUTONAT_ADDR_UNREACHABLE);
  g_assert_cmpint (last, ==, 20);
  g_assert_cmpint (punch_autonat_tracker_get_addr_verdict (f->tracker, z, NULL), ==, PUNCH_AUTONAT_ADDR_UNKNOWN);

  /* A second failure on x flips it. */
  punch_autonat_tracker_record (f->tracker, f->servers[2], PUNCH_AUTONAT_STATUS_DIAL_ERROR, NULL, requested, 30);
  g_assert_cmpint (punch_autonat_tracker_get_addr_verdict (f->tracker, x, NULL), ==, PUNCH_AUTONAT_ADDR_UNREACHABLE);

  /* Refusals say nothing about addresses. */
  punch_autonat_tracker_record (f->tracker, f->servers[3], PUNCH_AUTONAT_STATUS_DIAL_REFUSED, z, requested, 40);
  g_assert_cmpint (punch_autonat_tracker_get_addr_verdict (f->tracker, z, NULL), ==, PUNCH_AUTONAT_ADDR_UNKNOWN);

  punch_autonat_tracker_record (f->tracker, f->servers[3], PUNCH_AUTONAT_STATUS_OK, z, requested, 50);
  reachable = punch_autonat_tracker_get_reachable_addrs (f->tracker);
  g_assert_cmpuint (reachable->len, ==, 1);
  g_assert_true (punch_multiaddr_equal (reachable->pdata[0], z));

  /* Address votes expire too. */
  punch_autonat_tracker_expire (f->tracker, 50 + PUNCH_AUTONAT_DEFAULT_VOTE_TTL_US);
  g_assert_cmpint (punch_autonat_tracker_get_addr_verdict (f->tracker, z, &last), ==, PUNCH_AUTONAT_ADDR_UNKNOWN);
  g_assert_cmpint (last, ==, 0);
}

static void
test_tracker_bounded (TrackerFixture *f,
                      gconstpointer   data)
{
  guint pub, priv;

  /* Many servers: the table keeps the most recent ones. */
  for (guint i = 0; i < PUNCH_AUTONAT_MAX_SERVERS + 10; i++)
    {
      g_autoptr(PunchPeerId) server = new_peer ();

      punch_autonat_tracker_record (f->tracker, server, PUNCH_AUTONAT_STATUS_DIAL_ERROR, NULL, NULL, i + 1);
    }
  punch_autonat_tracker_get_votes (f->tracker, &pub, &priv);
  g_assert_cmpuint (pub + priv, ==, PUNCH_AUTONAT_MAX_SERVERS);
  g_assert_cmpint (punch_autonat_tracker_get_reachability (f->tracker), ==, PUNCH_REACHABILITY_PRIVATE);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/autonat/codec/dial-roundtrip", test_codec_dial_roundtrip);
  g_test_add_func ("/autonat/codec/response-roundtrip", test_codec_response_roundtrip);
  g_test_add_func ("/autonat/codec/status-values", test_codec_status_values);
  g_test_add_func ("/autonat/codec/malformed-dial", test_codec_malformed_dial);
  g_test_add_func ("/autonat/codec/malformed-response", test_codec_malformed_response);
  g_test_add_func ("/autonat/codec/status-text", test_codec_status_text);
  g_test_add_func ("/autonat/codec/encode-limits", test_codec_encode_limits);

  g_test_add_func ("/autonat/server/defaults", test_server_defaults);
  g_test_add_func ("/autonat/server/refuses-foreign-ip", test_server_refuses_foreign_ip);
  g_test_add_func ("/autonat/server/filters", test_server_filters);
  g_test_add_func ("/autonat/server/private", test_server_private);
  g_test_add_func ("/autonat/server/bad-request", test_server_bad_request);
  g_test_add_func ("/autonat/server/rate-global", test_server_rate_global);
  g_test_add_func ("/autonat/server/rate-peer", test_server_rate_peer);
  g_test_add_func ("/autonat/server/rate-concurrent", test_server_rate_concurrent);

  g_test_add_func ("/autonat/tracker/defaults", test_tracker_defaults);
  g_test_add ("/autonat/tracker/threshold", TrackerFixture, GUINT_TO_POINTER (4),
              tracker_setup, test_tracker_threshold, tracker_teardown);
  g_test_add ("/autonat/tracker/same-server-once", TrackerFixture, GUINT_TO_POINTER (2),
              tracker_setup, test_tracker_same_server_once, tracker_teardown);
  g_test_add ("/autonat/tracker/hysteresis", TrackerFixture, GUINT_TO_POINTER (2),
              tracker_setup, test_tracker_hysteresis, tracker_teardown);
  g_test_add ("/autonat/tracker/lying-server", TrackerFixture, GUINT_TO_POINTER (2),
              tracker_setup, test_tracker_lying_server, tracker_teardown);
  g_test_add ("/autonat/tracker/expiry", TrackerFixture, GUINT_TO_POINTER (2),
              tracker_setup, test_tracker_expiry, tracker_teardown);
  g_test_add ("/autonat/tracker/addresses", TrackerFixture, GUINT_TO_POINTER (2),
              tracker_setup, test_tracker_addresses, tracker_teardown);
  g_test_add ("/autonat/tracker/bounded", TrackerFixture, GUINT_TO_POINTER (2),
              tracker_setup, test_tracker_bounded, tracker_teardown);

  return g_test_run ();
}
