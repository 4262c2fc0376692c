/* punch-autonat.c: AutoNAT v1 service and client on a PunchHost.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-autonat.h"

#include "punch-autonat-core.h"
#include "punch-udp-probe.h"
#include "punch-enum-types.h"
#include "punch-error.h"
#include "punch-framing.h"
#include "punch-keypair.h"
#include "punch-stream.h"

/* How long a requester may take to send its Dial. */
#define SERVICE_READ_TIMEOUT_MS 10000
/* How long the client waits for a DialResponse once the stream is open:
 * more than a server's dial-back timeout (go-libp2p's is 15 s). */
#define CLIENT_TIMEOUT_MS 60000

/* ------------------------------------------------------------------ */
/* PunchAutonatResult                                                 */
/* ------------------------------------------------------------------ */

/**
 * PunchAutonatResult:
 *
 * An AutoNAT v1 DialResponse: the status, the server's explanation and
 * the address it dialed back. Made by [func@Punch.autonat_dial_finish].
 *
 * Since: 0.1
 */
G_DEFINE_BOXED_TYPE (PunchAutonatResult, punch_autonat_result,
                     punch_autonat_result_ref, punch_autonat_result_unref)

/**
 * punch_autonat_result_ref:
 * @result: a #PunchAutonatResult
 *
 * Takes a reference.
 *
 * Returns: (transfer full): @result
 *
 * Since: 0.1
 */
PunchAutonatResult *
punch_autonat_result_ref (PunchAutonatResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);

  g_atomic_ref_count_inc (&result->ref_count);
  return result;
}

/**
 * punch_autonat_result_unref:
 * @result: (transfer full): a #PunchAutonatResult
 *
 * Drops a reference.
 *
 * Since: 0.1
 */
void
punch_autonat_result_unref (PunchAutonatResult *result)
{
  g_return_if_fail (result != NULL);

  if (!g_atomic_ref_count_dec (&result->ref_count))
    return;
  g_free (result->status_text);
  g_clear_pointer (&result->address, punch_multiaddr_unref);
  g_free (result);
}

/**
 * punch_autonat_result_get_status:
 * @result: a #PunchAutonatResult
 *
 * Gets the response's status.
 *
 * Returns: the status
 *
 * Since: 0.1
 */
PunchAutonatStatus
punch_autonat_result_get_status (PunchAutonatResult *result)
{
  g_return_val_if_fail (result != NULL, PUNCH_AUTONAT_STATUS_INTERNAL_ERROR);
  return result->status;
}

/**
 * punch_autonat_result_get_status_text:
 * @result: a #PunchAutonatResult
 *
 * Gets the server's explanation (statusText), made valid UTF-8 and cut
 * to 256 bytes.
 *
 * Returns: (transfer none): the text, empty if the server sent none
 *
 * Since: 0.1
 */
const gchar *
punch_autonat_result_get_status_text (PunchAutonatResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  return result->status_text;
}

/**
 * punch_autonat_result_get_address:
 * @result: a #PunchAutonatResult
 *
 * Gets the address the server dialed back successfully, which it SHOULD
 * send with %PUNCH_AUTONAT_STATUS_OK.
 *
 * Returns: (transfer none) (nullable): the address, or %NULL
 *
 * Since: 0.1
 */
PunchMultiaddr *
punch_autonat_result_get_address (PunchAutonatResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  return result->address;
}

/* ------------------------------------------------------------------ */
/* Client                                                             */
/* ------------------------------------------------------------------ */

typedef struct {
  GBytes *request;
  PunchStream *stream;
  GSource *timeout;
  gboolean timed_out;
} ClientData;

static void
client_data_free (ClientData *data)
{
  if (data->timeout != NULL)
    {
      g_source_destroy (data->timeout);
      g_source_unref (data->timeout);
    }
  g_clear_pointer (&data->request, g_bytes_unref);
  g_clear_object (&data->stream);
  g_free (data);
}

static void
client_return_error (GTask  *task,
                     GError *error)
{
  ClientData *data = g_task_get_task_data (task);

  if (data->stream != NULL)
    punch_stream_reset (data->stream);
  if (data->timed_out)
    {
      g_error_free (error);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                               "no AutoNAT response within %d ms", CLIENT_TIMEOUT_MS);
      return;
    }
  g_task_return_error (task, error);
}

static void
on_client_closed (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
}

static void
on_response_read (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClientData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) payload = NULL;
  PunchAutonatResult *response;

  payload = punch_framing_read_finish (G_INPUT_STREAM (source), result, &error);
  if (payload == NULL)
    {
      client_return_error (task, g_steal_pointer (&error));
      return;
    }
  response = punch_autonat_decode_dial_response (g_bytes_get_data (payload, NULL),
                                                 g_bytes_get_size (payload), &error);
  if (response == NULL)
    {
      client_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* One exchange per stream: done with it. */
  g_io_stream_close_async (G_IO_STREAM (data->stream), G_PRIORITY_DEFAULT, NULL,
                           on_client_closed, NULL);
  g_task_return_pointer (task, response, (GDestroyNotify) punch_autonat_result_unref);
}

static void
on_request_written (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClientData *data = g_task_get_task_data (task);
  GCancellable *cancellable;
  g_autoptr(GError) error = NULL;

  if (!punch_framing_write_finish (G_OUTPUT_STREAM (source), result, &error))
    {
      client_return_error (task, g_steal_pointer (&error));
      return;
    }
  cancellable = g_task_get_cancellable (task);
  punch_framing_read_async (g_io_stream_get_input_stream (G_IO_STREAM (data->stream)),
                            PUNCH_AUTONAT_MAX_MESSAGE_SIZE, G_PRIORITY_DEFAULT,
                            cancellable, on_response_read, g_steal_pointer (&task));
}

static gboolean
on_client_timeout (gpointer user_data)
{
  ClientData *data = user_data;

  data->timed_out = TRUE;
  if (data->stream != NULL)
    punch_stream_reset (data->stream);
  return G_SOURCE_REMOVE;
}

static void
on_client_stream (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClientData *data = g_task_get_task_data (task);
  GCancellable *cancellable;
  g_autoptr(GError) error = NULL;

  data->stream = punch_host_new_stream_finish (PUNCH_HOST (source), result, &error);
  if (data->stream == NULL)
    {
      client_return_error (task, g_steal_pointer (&error));
      return;
    }

  data->timeout = g_timeout_source_new (CLIENT_TIMEOUT_MS);
  g_source_set_callback (data->timeout, on_client_timeout, data, NULL);
  g_source_attach (data->timeout, g_main_context_get_thread_default ());

  cancellable = g_task_get_cancellable (task);
  punch_framing_write_async (g_io_stream_get_output_stream (G_IO_STREAM (data->stream)),
                             data->request, G_PRIORITY_DEFAULT, cancellable,
                             on_request_written, g_steal_pointer (&task));
}

/**
 * punch_autonat_dial_async:
 * @host: the host whose reachability is asked about
 * @server: the AutoNAT server, a peer @host has a connection to
 * @addresses: (element-type Punch.Multiaddr): the addresses of @host to
 *   have dialed back (at most 64), usually its observed public addresses
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the server's response
 * @user_data: (closure): data for @callback
 *
 * Asks @server to dial @host back (AutoNAT v1, libp2p/specs
 * autonat/autonat-v1.md): opens a `/libp2p/autonat/1.0.0` stream on an
 * open connection to @server, sends a Dial with @host's peer id and
 * @addresses, and reads the DialResponse. The server dials only the
 * addresses on the IP it sees @host at.
 *
 * Since: 0.1
 */
void
punch_autonat_dial_async (PunchHost           *host,
                          PunchPeerId         *server,
                          GPtrArray           *addresses,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  static const gchar * const protocols[] = { PUNCH_AUTONAT_PROTOCOL_ID, NULL };
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  ClientData *data;

  g_return_if_fail (PUNCH_IS_HOST (host));
  g_return_if_fail (server != NULL);
  g_return_if_fail (addresses != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (host, cancellable, callback, user_data);
  g_task_set_source_tag (task, punch_autonat_dial_async);
  data = g_new0 (ClientData, 1);
  g_task_set_task_data (task, data, (GDestroyNotify) client_data_free);

  data->request = punch_autonat_encode_dial (punch_host_get_peer_id (host), addresses, &error);
  if (data->request == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  punch_host_new_stream_async (host, server, protocols, cancellable,
                               on_client_stream, g_steal_pointer (&task));
}

/**
 * punch_autonat_dial_finish:
 * @host: the host passed to [func@Punch.autonat_dial_async]
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [func@Punch.autonat_dial_async]. A response is returned
 * whatever its status; only failures to get one are errors.
 *
 * Errors: %PUNCH_ERROR_TOO_LARGE when the Dial would exceed 4 KiB or 64
 * addresses, or the response 4 KiB; %PUNCH_ERROR_MALFORMED,
 * %PUNCH_ERROR_PROTOCOL for a bad response; %PUNCH_ERROR_CLOSED without
 * a connection to the server; %G_IO_ERROR_TIMED_OUT after 60 s without a
 * response; stream errors (a server that does not speak AutoNAT, a
 * stream closed early); %G_IO_ERROR_CANCELLED.
 *
 * Returns: (transfer full): the server's response
 *
 * Since: 0.1
 */
PunchAutonatResult *
punch_autonat_dial_finish (PunchHost     *host,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (PUNCH_IS_HOST (host), NULL);
  g_return_val_if_fail (g_task_is_valid (result, host), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ------------------------------------------------------------------ */
/* PunchAutonatService                                                */
/* ------------------------------------------------------------------ */

/**
 * PunchAutonatService:
 *
 * The server side of AutoNAT v1 (libp2p/specs autonat/autonat-v1.md) on
 * a [class@Punch.Host]: it answers `/libp2p/autonat/1.0.0` streams by
 * dialing the requesting peer back.
 *
 * Each stream carries one Dial (at most 4 KiB). The service answers
 * %PUNCH_AUTONAT_STATUS_BAD_REQUEST when it is malformed or names
 * another peer than the one that sent it. It then keeps only the
 * addresses it may dial: TCP on the very IP the requester's connection
 * comes from (never another, RFC 3489 section 12.1.1), no relay
 * addresses, public addresses only unless
 * [property@Punch.AutonatService:allow-private], at most
 * [property@Punch.AutonatService:max-addresses]. None left, or a rate
 * limit reached ([property@Punch.AutonatService:global-rate],
 * [property@Punch.AutonatService:peer-rate],
 * [property@Punch.AutonatService:max-concurrent]): it answers
 * %PUNCH_AUTONAT_STATUS_DIAL_REFUSED at once.
 *
 * Otherwise it dials the addresses in parallel for at most
 * [property@Punch.AutonatService:dial-timeout], each with
 * `/p2p/<requester>` so that only the requester itself counts, and
 * answers %PUNCH_AUTONAT_STATUS_OK with the first address that worked
 * (then closes that connection) or %PUNCH_AUTONAT_STATUS_DIAL_ERROR.
 *
 * The dial-backs come from a second host that the service owns, with
 * its own fresh Ed25519 identity (see
 * [method@Punch.AutonatService.get_dialer_peer_id]) and its own
 * connections: the specification allows a different peer id, and a
 * fresh connection from a new source port is what tests whether the
 * requester accepts unsolicited connections, which reusing the existing
 * connection would not.
 *
 * Since: 0.1
 */
struct _PunchAutonatService {
  GObject parent_instance;

  PunchHost *host;
  PunchHost *dialer;
  PunchAutonatServer *server;
  GCancellable *cancellable;
  PunchUdpProbeService *udp;      /* /punch/autonat/udp/1.0.0 alongside */
};

enum {
  PROP_0,
  PROP_HOST,
  PROP_ALLOW_PRIVATE,
  PROP_GLOBAL_RATE,
  PROP_PEER_RATE,
  PROP_MAX_CONCURRENT,
  PROP_DIAL_TIMEOUT,
  PROP_MAX_ADDRESSES,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_REQUEST_HANDLED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (PunchAutonatService, punch_autonat_service, G_TYPE_OBJECT)

typedef struct {
  PunchAutonatService *self;        /* owned */
  PunchStream *stream;
  PunchPeerId *requester;
  GCancellable *cancellable;        /* this request's reads, writes and dials */
  GSource *timeout;
  gulong cancelled_id;              /* on self->cancellable */
  gboolean dialing;                 /* counts in the core's active dial-backs */
  guint n_pending;
  PunchMultiaddr *reached;
  GPtrArray *connections;           /* dial-back connections to close */
  PunchAutonatStatus status;
  gchar *text;
} Request;

static void
request_clear_timeout (Request *req)
{
  if (req->timeout != NULL)
    {
      g_source_destroy (req->timeout);
      g_clear_pointer (&req->timeout, g_source_unref);
    }
}

static void
request_free (Request *req)
{
  request_clear_timeout (req);
  if (req->dialing)
    punch_autonat_server_dial_done (req->self->server);
  g_cancellable_disconnect (req->self->cancellable, req->cancelled_id);
  for (guint i = 0; req->connections != NULL && i < req->connections->len; i++)
    punch_connection_close (req->connections->pdata[i]);
  g_clear_pointer (&req->connections, g_ptr_array_unref);
  g_clear_object (&req->stream);
  g_clear_pointer (&req->requester, punch_peer_id_unref);
  g_clear_object (&req->cancellable);
  g_clear_pointer (&req->reached, punch_multiaddr_unref);
  g_free (req->text);
  g_clear_object (&req->self);
  g_free (req);
}

static gboolean
on_request_timeout (gpointer user_data)
{
  Request *req = user_data;

  g_cancellable_cancel (req->cancellable);
  return G_SOURCE_REMOVE;
}

static void
request_arm_timeout (Request *req,
                     guint    timeout_ms)
{
  request_clear_timeout (req);
  req->timeout = g_timeout_source_new (MAX (timeout_ms, 1));
  g_source_set_callback (req->timeout, on_request_timeout, req, NULL);
  g_source_attach (req->timeout, g_main_context_get_thread_default ());
}

static void
on_service_cancelled (GCancellable *cancellable,
                      gpointer      user_data)
{
  g_cancellable_cancel (user_data);
}

static void
on_response_closed (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  request_free (user_data);
}

static void
on_response_written (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  Request *req = user_data;
  g_autoptr(GError) error = NULL;

  if (!punch_framing_write_finish (G_OUTPUT_STREAM (source), result, &error))
    {
      g_debug ("autonat: cannot write the response: %s", error->message);
      punch_stream_reset (req->stream);
      request_free (req);
      return;
    }
  g_io_stream_close_async (G_IO_STREAM (req->stream), G_PRIORITY_DEFAULT, NULL,
                           on_response_closed, req);
}

static void
request_respond (Request            *req,
                 PunchAutonatStatus  status,
                 const gchar        *text,
                 PunchMultiaddr     *address)
{
  g_autoptr(GBytes) payload = punch_autonat_encode_dial_response (status, text, address);
  g_autofree gchar *peer = punch_peer_id_to_string (req->requester);

  g_debug ("autonat: answering %s: %d %s", peer, status, text != NULL ? text : "");
  req->status = status;
  g_signal_emit (req->self, signals[SIGNAL_REQUEST_HANDLED], 0, req->requester, status);

  /* The write gets its own time, whatever the dial-backs took. */
  g_cancellable_reset (req->cancellable);
  request_arm_timeout (req, SERVICE_READ_TIMEOUT_MS);
  punch_framing_write_async (g_io_stream_get_output_stream (G_IO_STREAM (req->stream)),
                             payload, G_PRIORITY_DEFAULT, req->cancellable,
                             on_response_written, req);
}

static void
on_dialed_back (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Request *req = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchConnection) connection = NULL;

  connection = punch_host_dial_finish (PUNCH_HOST (source), result, &error);
  if (connection != NULL)
    {
      g_ptr_array_add (req->connections, g_object_ref (connection));
      if (req->reached == NULL)
        {
          PunchMultiaddr *remote = punch_connection_get_remote_address (connection);
          g_autoptr(GSocketAddress) sockaddr = punch_multiaddr_to_inet_socket_address (remote, NULL, NULL);

          /* The address as dialed, without the /p2p part. */
          req->reached = sockaddr != NULL
            ? punch_multiaddr_new_from_inet_socket_address (G_INET_SOCKET_ADDRESS (sockaddr),
                                                            PUNCH_MULTIADDR_PROTOCOL_TCP)
            : punch_multiaddr_ref (remote);
          /* One is enough: stop the others. */
          g_cancellable_cancel (req->cancellable);
        }
    }
  else
    g_debug ("autonat: dial-back failed: %s", error->message);

  if (--req->n_pending > 0)
    return;

  punch_autonat_server_dial_done (req->self->server);
  req->dialing = FALSE;
  if (req->reached != NULL)
    request_respond (req, PUNCH_AUTONAT_STATUS_OK, NULL, req->reached);
  else
    request_respond (req, PUNCH_AUTONAT_STATUS_DIAL_ERROR, "all dial-backs failed", NULL);
}

static void
request_dial_back (Request   *req,
                   GPtrArray *addrs)
{
  g_autoptr(PunchMultiaddr) p2p = punch_multiaddr_new_from_peer_id (req->requester);

  req->dialing = TRUE;
  req->connections = g_ptr_array_new_with_free_func (g_object_unref);
  request_arm_timeout (req, punch_autonat_server_get_config (req->self->server)->dial_timeout_ms);
  req->n_pending = addrs->len;
  for (guint i = 0; i < addrs->len; i++)
    {
      g_autoptr(PunchMultiaddr) target = punch_multiaddr_encapsulate (addrs->pdata[i], p2p, NULL);

      punch_host_dial_async (req->self->dialer, target != NULL ? target : addrs->pdata[i],
                             req->cancellable, on_dialed_back, req);
    }
}

static void
on_dial_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Request *req = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GPtrArray) addrs = NULL;
  g_autofree gchar *text = NULL;
  PunchConnection *connection;
  PunchAutonatStatus status;

  payload = punch_framing_read_finish (G_INPUT_STREAM (source), result, &error);
  if (payload == NULL)
    {
      if (g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE) ||
          g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED))
        {
          g_autofree gchar *why = g_strdup_printf ("bad request: %s", error->message);

          request_respond (req, PUNCH_AUTONAT_STATUS_BAD_REQUEST, why, NULL);
          return;
        }
      g_debug ("autonat: no Dial read: %s", error->message);
      punch_stream_reset (req->stream);
      request_free (req);
      return;
    }

  connection = punch_stream_get_connection (req->stream);
  status = punch_autonat_server_handle_request (req->self->server,
                                                g_bytes_get_data (payload, NULL),
                                                g_bytes_get_size (payload),
                                                req->requester,
                                                punch_connection_get_remote_address (connection),
                                                g_get_monotonic_time (), &addrs, &text);
  if (status != PUNCH_AUTONAT_STATUS_OK)
    {
      request_respond (req, status, text, NULL);
      return;
    }
  request_dial_back (req, addrs);
}

static void
handle_autonat (PunchHost   *host,
                PunchStream *stream,
                gpointer     user_data)
{
  PunchAutonatService *self = user_data;
  PunchConnection *connection = punch_stream_get_connection (stream);
  PunchPeerId *requester = connection != NULL ? punch_connection_get_remote_peer_id (connection) : NULL;
  Request *req;

  if (requester == NULL)
    {
      punch_stream_reset (stream);
      return;
    }

  req = g_new0 (Request, 1);
  req->self = g_object_ref (self);
  req->stream = g_object_ref (stream);
  req->requester = punch_peer_id_ref (requester);
  req->cancellable = g_cancellable_new ();
  req->cancelled_id = g_cancellable_connect (self->cancellable, G_CALLBACK (on_service_cancelled),
                                             req->cancellable, NULL);
  request_arm_timeout (req, SERVICE_READ_TIMEOUT_MS);
  punch_framing_read_async (g_io_stream_get_input_stream (G_IO_STREAM (stream)),
                            PUNCH_AUTONAT_MAX_MESSAGE_SIZE, G_PRIORITY_DEFAULT,
                            req->cancellable, on_dial_read, req);
}

/**
 * punch_autonat_service_new:
 * @host: the host to serve AutoNAT on
 *
 * Registers the `/libp2p/autonat/1.0.0` handler on @host, answered
 * until the service is finalized. The service keeps @host alive.
 *
 * Returns: (transfer full): the service
 *
 * Since: 0.1
 */
PunchAutonatService *
punch_autonat_service_new (PunchHost *host)
{
  g_return_val_if_fail (PUNCH_IS_HOST (host), NULL);

  return g_object_new (PUNCH_TYPE_AUTONAT_SERVICE, "host", host, NULL);
}

/**
 * punch_autonat_service_get_host:
 * @self: a #PunchAutonatService
 *
 * Gets the host the service answers on.
 *
 * Returns: (transfer none): the host
 *
 * Since: 0.1
 */
PunchHost *
punch_autonat_service_get_host (PunchAutonatService *self)
{
  g_return_val_if_fail (PUNCH_IS_AUTONAT_SERVICE (self), NULL);
  return self->host;
}

/**
 * punch_autonat_service_get_dialer_peer_id:
 * @self: a #PunchAutonatService
 *
 * Gets the peer id the dial-backs authenticate with: that of the
 * service's own dialing host, not that of [property@Punch.AutonatService:host].
 *
 * Returns: (transfer none): the dialer's peer id
 *
 * Since: 0.1
 */
PunchPeerId *
punch_autonat_service_get_dialer_peer_id (PunchAutonatService *self)
{
  g_return_val_if_fail (PUNCH_IS_AUTONAT_SERVICE (self), NULL);
  return punch_host_get_peer_id (self->dialer);
}

static void
service_update (PunchAutonatService      *self,
                PunchAutonatServerConfig *config,
                GParamSpec               *pspec)
{
  punch_autonat_server_set_config (self->server, config);
  if (pspec == properties[PROP_DIAL_TIMEOUT] && self->dialer != NULL)
    punch_host_set_handshake_timeout (self->dialer, MAX (config->dial_timeout_ms, 1));
  g_object_notify_by_pspec (G_OBJECT (self), pspec);
}

#define DEFINE_UINT_PROPERTY(name, field, prop)                                  \
  guint                                                                          \
  punch_autonat_service_get_##name (PunchAutonatService *self)                   \
  {                                                                              \
    g_return_val_if_fail (PUNCH_IS_AUTONAT_SERVICE (self), 0);                   \
    return punch_autonat_server_get_config (self->server)->field;                \
  }                                                                              \
  void                                                                           \
  punch_autonat_service_set_##name (PunchAutonatService *self,                   \
                                    guint                value)                  \
  {                                                                              \
    PunchAutonatServerConfig config;                                             \
                                                                                 \
    g_return_if_fail (PUNCH_IS_AUTONAT_SERVICE (self));                          \
    config = *punch_autonat_server_get_config (self->server);                    \
    if (config.field == value)                                                   \
      return;                                                                    \
    config.field = value;                                                        \
    service_update (self, &config, properties[prop]);                            \
  }

/**
 * punch_autonat_service_get_allow_private:
 * @self: a #PunchAutonatService
 *
 * Gets [property@Punch.AutonatService:allow-private].
 *
 * Returns: whether non-public addresses are dialed back
 *
 * Since: 0.1
 */
gboolean
punch_autonat_service_get_allow_private (PunchAutonatService *self)
{
  g_return_val_if_fail (PUNCH_IS_AUTONAT_SERVICE (self), FALSE);
  return punch_autonat_server_get_config (self->server)->allow_private;
}

/**
 * punch_autonat_service_set_allow_private:
 * @self: a #PunchAutonatService
 * @allow_private: whether to dial back non-public addresses
 *
 * Sets [property@Punch.AutonatService:allow-private].
 *
 * Since: 0.1
 */
void
punch_autonat_service_set_allow_private (PunchAutonatService *self,
                                         gboolean             allow_private)
{
  PunchAutonatServerConfig config;

  g_return_if_fail (PUNCH_IS_AUTONAT_SERVICE (self));

  allow_private = !!allow_private;
  config = *punch_autonat_server_get_config (self->server);
  if (config.allow_private == allow_private)
    return;
  config.allow_private = allow_private;
  if (self->udp != NULL)
    punch_udp_probe_service_set_allow_private (self->udp, allow_private);
  service_update (self, &config, properties[PROP_ALLOW_PRIVATE]);
}

/**
 * punch_autonat_service_get_global_rate:
 * @self: a #PunchAutonatService
 *
 * Gets [property@Punch.AutonatService:global-rate].
 *
 * Returns: the dial-back requests allowed a minute, 0 for no limit
 *
 * Since: 0.1
 */
/**
 * punch_autonat_service_set_global_rate:
 * @self: a #PunchAutonatService
 * @per_minute: the dial-back requests allowed a minute, 0 for no limit
 *
 * Sets [property@Punch.AutonatService:global-rate].
 *
 * Since: 0.1
 */
DEFINE_UINT_PROPERTY (global_rate, global_per_minute, PROP_GLOBAL_RATE)

/**
 * punch_autonat_service_get_peer_rate:
 * @self: a #PunchAutonatService
 *
 * Gets [property@Punch.AutonatService:peer-rate].
 *
 * Returns: the dial-back requests allowed a minute per peer, 0 for no limit
 *
 * Since: 0.1
 */
/**
 * punch_autonat_service_set_peer_rate:
 * @self: a #PunchAutonatService
 * @per_minute: the dial-back requests allowed a minute per peer, 0 for
 *   no limit
 *
 * Sets [property@Punch.AutonatService:peer-rate].
 *
 * Since: 0.1
 */
DEFINE_UINT_PROPERTY (peer_rate, peer_per_minute, PROP_PEER_RATE)

/**
 * punch_autonat_service_get_max_concurrent:
 * @self: a #PunchAutonatService
 *
 * Gets [property@Punch.AutonatService:max-concurrent].
 *
 * Returns: the dial-backs allowed at once, 0 for no limit
 *
 * Since: 0.1
 */
/**
 * punch_autonat_service_set_max_concurrent:
 * @self: a #PunchAutonatService
 * @max_concurrent: the dial-backs allowed at once, 0 for no limit
 *
 * Sets [property@Punch.AutonatService:max-concurrent].
 *
 * Since: 0.1
 */
DEFINE_UINT_PROPERTY (max_concurrent, max_concurrent, PROP_MAX_CONCURRENT)

/**
 * punch_autonat_service_get_dial_timeout:
 * @self: a #PunchAutonatService
 *
 * Gets [property@Punch.AutonatService:dial-timeout].
 *
 * Returns: the time given to the dial-backs of a request, in milliseconds
 *
 * Since: 0.1
 */
/**
 * punch_autonat_service_set_dial_timeout:
 * @self: a #PunchAutonatService
 * @timeout_ms: the time given to the dial-backs of a request, in
 *   milliseconds
 *
 * Sets [property@Punch.AutonatService:dial-timeout].
 *
 * Since: 0.1
 */
DEFINE_UINT_PROPERTY (dial_timeout, dial_timeout_ms, PROP_DIAL_TIMEOUT)

/**
 * punch_autonat_service_get_max_addresses:
 * @self: a #PunchAutonatService
 *
 * Gets [property@Punch.AutonatService:max-addresses].
 *
 * Returns: the most addresses dialed back per request
 *
 * Since: 0.1
 */
/**
 * punch_autonat_service_set_max_addresses:
 * @self: a #PunchAutonatService
 * @max_addresses: the most addresses dialed back per request
 *
 * Sets [property@Punch.AutonatService:max-addresses].
 *
 * Since: 0.1
 */
DEFINE_UINT_PROPERTY (max_addresses, max_dial_addrs, PROP_MAX_ADDRESSES)

static void
punch_autonat_service_constructed (GObject *object)
{
  PunchAutonatService *self = PUNCH_AUTONAT_SERVICE (object);
  g_autoptr(PunchKeypair) keypair = NULL;
  g_autoptr(GError) error = NULL;

  G_OBJECT_CLASS (punch_autonat_service_parent_class)->constructed (object);

  g_assert (self->host != NULL);

  keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, &error);
  /* Ed25519 generation fails only without entropy. */
  if (keypair == NULL)
    g_error ("autonat: cannot make the dial-back identity: %s", error->message);
  self->dialer = punch_host_new (keypair);
  punch_host_set_handshake_timeout (self->dialer,
                                    MAX (punch_autonat_server_get_config (self->server)->dial_timeout_ms, 1));

  punch_host_set_stream_handler (self->host, PUNCH_AUTONAT_PROTOCOL_ID, handle_autonat, self, NULL);
  /* The UDP side of reachability: ICE candidates (doc/autonat-udp.md). */
  self->udp = punch_udp_probe_service_new (self->host);
  punch_udp_probe_service_set_allow_private (self->udp,
                                             punch_autonat_server_get_config (self->server)->allow_private);
}

static void
punch_autonat_service_dispose (GObject *object)
{
  PunchAutonatService *self = PUNCH_AUTONAT_SERVICE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->udp);
  if (self->host != NULL)
    {
      punch_host_remove_stream_handler (self->host, PUNCH_AUTONAT_PROTOCOL_ID);
      g_clear_object (&self->host);
    }
  if (self->dialer != NULL)
    {
      punch_host_close (self->dialer);
      g_clear_object (&self->dialer);
    }

  G_OBJECT_CLASS (punch_autonat_service_parent_class)->dispose (object);
}

static void
punch_autonat_service_finalize (GObject *object)
{
  PunchAutonatService *self = PUNCH_AUTONAT_SERVICE (object);

  g_clear_pointer (&self->server, punch_autonat_server_free);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (punch_autonat_service_parent_class)->finalize (object);
}

static void
punch_autonat_service_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  PunchAutonatService *self = PUNCH_AUTONAT_SERVICE (object);
  const PunchAutonatServerConfig *config = punch_autonat_server_get_config (self->server);

  switch (prop_id)
    {
    case PROP_HOST:
      g_value_set_object (value, self->host);
      break;
    case PROP_ALLOW_PRIVATE:
      g_value_set_boolean (value, config->allow_private);
      break;
    case PROP_GLOBAL_RATE:
      g_value_set_uint (value, config->global_per_minute);
      break;
    case PROP_PEER_RATE:
      g_value_set_uint (value, config->peer_per_minute);
      break;
    case PROP_MAX_CONCURRENT:
      g_value_set_uint (value, config->max_concurrent);
      break;
    case PROP_DIAL_TIMEOUT:
      g_value_set_uint (value, config->dial_timeout_ms);
      break;
    case PROP_MAX_ADDRESSES:
      g_value_set_uint (value, config->max_dial_addrs);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
punch_autonat_service_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  PunchAutonatService *self = PUNCH_AUTONAT_SERVICE (object);

  switch (prop_id)
    {
    case PROP_HOST:
      self->host = g_value_dup_object (value);
      break;
    case PROP_ALLOW_PRIVATE:
      punch_autonat_service_set_allow_private (self, g_value_get_boolean (value));
      break;
    case PROP_GLOBAL_RATE:
      punch_autonat_service_set_global_rate (self, g_value_get_uint (value));
      break;
    case PROP_PEER_RATE:
      punch_autonat_service_set_peer_rate (self, g_value_get_uint (value));
      break;
    case PROP_MAX_CONCURRENT:
      punch_autonat_service_set_max_concurrent (self, g_value_get_uint (value));
      break;
    case PROP_DIAL_TIMEOUT:
      punch_autonat_service_set_dial_timeout (self, g_value_get_uint (value));
      break;
    case PROP_MAX_ADDRESSES:
      punch_autonat_service_set_max_addresses (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
punch_autonat_service_class_init (PunchAutonatServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = punch_autonat_service_constructed;
  object_class->dispose = punch_autonat_service_dispose;
  object_class->finalize = punch_autonat_service_finalize;
  object_class->get_property = punch_autonat_service_get_property;
  object_class->set_property = punch_autonat_service_set_property;

  /**
   * PunchAutonatService:host:
   *
   * The host whose peers may ask for dial-backs.
   *
   * Since: 0.1
   */
  properties[PROP_HOST] =
    g_param_spec_object ("host", NULL, NULL, PUNCH_TYPE_HOST,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PunchAutonatService:allow-private:
   *
   * Whether addresses that are not public (loopback, private networks,
   * documentation ranges such as the NAT lab's 198.51.100.0/24 and
   * 203.0.113.0/24) are dialed back. Only for tests and labs: on the
   * internet a requester's observed IP is public anyway.
   *
   * Since: 0.1
   */
  properties[PROP_ALLOW_PRIVATE] =
    g_param_spec_boolean ("allow-private", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PunchAutonatService:global-rate:
   *
   * How many requests a minute, from all peers together, may lead to
   * dial-backs; the others get %PUNCH_AUTONAT_STATUS_DIAL_REFUSED. 0: no
   * limit.
   *
   * Since: 0.1
   */
  properties[PROP_GLOBAL_RATE] =
    g_param_spec_uint ("global-rate", NULL, NULL, 0, G_MAXUINT,
                       PUNCH_AUTONAT_DEFAULT_GLOBAL_PER_MINUTE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PunchAutonatService:peer-rate:
   *
   * How many requests a minute from one peer may lead to dial-backs. 0:
   * no limit.
   *
   * Since: 0.1
   */
  properties[PROP_PEER_RATE] =
    g_param_spec_uint ("peer-rate", NULL, NULL, 0, G_MAXUINT,
                       PUNCH_AUTONAT_DEFAULT_PEER_PER_MINUTE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PunchAutonatService:max-concurrent:
   *
   * How many requests may be dialing back at once. 0: no limit.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_CONCURRENT] =
    g_param_spec_uint ("max-concurrent", NULL, NULL, 0, G_MAXUINT,
                       PUNCH_AUTONAT_DEFAULT_MAX_CONCURRENT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PunchAutonatService:dial-timeout:
   *
   * How long the dial-backs of one request may take, in milliseconds.
   *
   * Since: 0.1
   */
  properties[PROP_DIAL_TIMEOUT] =
    g_param_spec_uint ("dial-timeout", NULL, NULL, 1, G_MAXUINT,
                       PUNCH_AUTONAT_DEFAULT_DIAL_TIMEOUT_MS,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PunchAutonatService:max-addresses:
   *
   * How many addresses of one request are dialed back at most.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_ADDRESSES] =
    g_param_spec_uint ("max-addresses", NULL, NULL, 1, PUNCH_AUTONAT_MAX_ADDRS,
                       PUNCH_AUTONAT_DEFAULT_MAX_DIAL_ADDRS,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PunchAutonatService::request-handled:
   * @self: the service
   * @peer_id: the peer that asked
   * @status: the status it is answered
   *
   * Emitted for every Dial answered, as the response is sent.
   *
   * Since: 0.1
   */
  signals[SIGNAL_REQUEST_HANDLED] =
    g_signal_new ("request-handled", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                  PUNCH_TYPE_PEER_ID | G_SIGNAL_TYPE_STATIC_SCOPE,
                  PUNCH_TYPE_AUTONAT_STATUS);
}

static void
punch_autonat_service_init (PunchAutonatService *self)
{
  self->server = punch_autonat_server_new (NULL);
  self->cancellable = g_cancellable_new ();
}
