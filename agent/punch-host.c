/* punch-host.c: a libp2p host: identity, TCP listeners and dials, protocol handlers.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-host-private.h"

#include "punch-connection-private.h"
#include "punch-error.h"
#include "punch-identify.h"
#include "punch-multistream.h"
#include "punch-ping.h"
#include "punch-stream-private.h"

/**
 * PunchHost:
 *
 * A libp2p host: an identity ([class@Punch.Keypair]), TCP listeners,
 * outgoing dials, the connections that result, and the handlers of the
 * protocols it serves on their streams.
 *
 * Connections are TCP upgraded with libp2p TLS 1.3 and yamux (see
 * [class@Punch.Connection]).
 *
 * A host runs on the [struct@GLib.MainContext] that is the thread-default
 * one when it is created (as libsoup's sessions do): its sockets, timers
 * and callbacks are dispatched there, and the host, its connections and
 * their streams must be used from the thread that runs that context, with
 * the context pushed as thread-default (the rule of every GIO asynchronous
 * API). Nothing in it blocks.
 *
 * Limits: at most [property@Punch.Host:max-connections] connections
 * (upgraded or being upgraded; further inbound ones are closed at once,
 * dials fail); the upgrade of each must finish within
 * [property@Punch.Host:handshake-timeout]; the protocol negotiation of each
 * stream within [property@Punch.Host:negotiation-timeout]; each connection
 * holds at most 256 streams (yamux refuses more).
 *
 * Since: 0.1
 */

typedef struct {
  PunchStreamHandler func;
  gpointer data;
  GDestroyNotify destroy;
} Handler;

struct _PunchHost {
  GObject parent_instance;

  PunchKeypair *keypair;
  PunchMultiaddr *p2p_address;    /* /p2p/<own id> */
  GMainContext *context;
  PunchTlsCertificate *certificate;
  gchar **alpn;                   /* test hook */

  guint max_connections;
  guint handshake_timeout;
  guint negotiation_timeout;

  GSocketService *service;
  GPtrArray *listen_addresses;    /* PunchMultiaddr, with /p2p */
  GSocketClient *client;

  GPtrArray *connections;         /* upgraded; owned */
  GPtrArray *pending;             /* being upgraded; owned */
  GHashTable *handlers;           /* protocol id -> Handler */
  gboolean closed;

  PunchCircuitDialFunc circuit_dial;
  gpointer circuit_dial_data;
  GDestroyNotify circuit_dial_destroy;
};

enum {
  PROP_0,
  PROP_KEYPAIR,
  PROP_PEER_ID,
  PROP_MAX_CONNECTIONS,
  PROP_HANDSHAKE_TIMEOUT,
  PROP_NEGOTIATION_TIMEOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_CONNECTION_OPENED,
  SIGNAL_CONNECTION_CLOSED,
  SIGNAL_PROTOCOLS_CHANGED,
  SIGNAL_LISTEN_ADDRESSES_CHANGED,
  SIGNAL_STREAM_OPENED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (PunchHost, punch_host, G_TYPE_OBJECT)

static void
handler_free (gpointer data)
{
  Handler *handler = data;

  if (handler->destroy != NULL)
    handler->destroy (handler->data);
  g_free (handler);
}

/* ------------------------------------------------------------------ */
/* Dials                                                              */
/* ------------------------------------------------------------------ */

typedef struct {
  PunchPeerId *expected;
  GCancellable *connect_cancellable;
  GSource *timer;
  GSource *cancel_source;
  PunchConnection *connection;
  gboolean done;
} Dial;

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static void
dial_free (gpointer data)
{
  Dial *dial = data;

  clear_source (&dial->timer);
  clear_source (&dial->cancel_source);
  g_clear_pointer (&dial->expected, punch_peer_id_unref);
  g_clear_object (&dial->connect_cancellable);
  g_clear_object (&dial->connection);
  g_free (dial);
}

/* Ends a dial once: with @connection, or with @error (transfer full). The
 * caller holds a reference to @task (closing the abandoned connection
 * drops the one it held). */
static void
dial_complete_held (GTask           *task,
                    PunchConnection *connection,
                    GError          *error)
{
  Dial *dial = g_task_get_task_data (task);
  g_autoptr(PunchConnection) abandoned = NULL;

  if (dial->done)
    {
      g_clear_error (&error);
      return;
    }
  dial->done = TRUE;
  clear_source (&dial->timer);
  clear_source (&dial->cancel_source);
  g_cancellable_cancel (dial->connect_cancellable);
  abandoned = g_steal_pointer (&dial->connection);

  if (error != NULL)
    {
      if (abandoned != NULL && !punch_connection_is_closed (abandoned))
        punch_connection_close (abandoned);
      g_task_return_error (task, error);
    }
  else
    g_task_return_pointer (task, g_object_ref (connection), g_object_unref);
}

static void
dial_complete (GTask           *task,
               PunchConnection *connection,
               GError          *error)
{
  g_object_ref (task);
  dial_complete_held (task, connection, error);
  g_object_unref (task);
}

static gboolean
on_dial_timeout (gpointer data)
{
  GTask *task = data;
  Dial *dial = g_task_get_task_data (task);

  clear_source (&dial->timer);
  dial_complete (task, NULL, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                                  "The dial timed out"));
  return G_SOURCE_REMOVE;
}

static gboolean
on_dial_cancelled (GCancellable *cancellable,
                   gpointer      data)
{
  GTask *task = data;
  Dial *dial = g_task_get_task_data (task);

  clear_source (&dial->cancel_source);
  dial_complete (task, NULL, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                  "The dial was cancelled"));
  return G_SOURCE_REMOVE;
}

/* The state of a dial or transport upgrade, bounded by the handshake
 * timeout and @cancellable; @expected is taken. */
static Dial *
dial_new (PunchHost    *self,
          GTask        *task,
          PunchPeerId  *expected,
          GCancellable *cancellable)
{
  Dial *dial = g_new0 (Dial, 1);

  dial->expected = expected;
  dial->connect_cancellable = g_cancellable_new ();
  g_task_set_task_data (task, dial, dial_free);

  if (self->handshake_timeout > 0)
    {
      dial->timer = g_timeout_source_new (self->handshake_timeout);
      g_source_set_callback (dial->timer, on_dial_timeout, task, NULL);
      g_source_attach (dial->timer, self->context);
    }
  if (cancellable != NULL)
    {
      dial->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (dial->cancel_source, G_SOURCE_FUNC (on_dial_cancelled), task, NULL);
      g_source_attach (dial->cancel_source, self->context);
    }
  return dial;
}

static void
on_dial_connected (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Dial *dial = g_task_get_task_data (task);
  PunchHost *self = g_task_get_source_object (task);
  g_autoptr(GSocketConnection) socket = NULL;
  g_autoptr(GError) error = NULL;
  PunchConnection *connection;

  socket = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  if (dial->done)
    {
      if (socket != NULL)
        g_io_stream_close (G_IO_STREAM (socket), NULL, NULL);
      return;
    }
  if (socket == NULL)
    {
      dial_complete (task, NULL, g_steal_pointer (&error));
      return;
    }
  if (self->closed)
    {
      g_io_stream_close (G_IO_STREAM (socket), NULL, NULL);
      dial_complete (task, NULL, g_error_new_literal (PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                                                      "The host is closed"));
      return;
    }

  connection = punch_connection_new (self, socket, PUNCH_DIRECTION_OUTBOUND,
                                     dial->expected, &error);
  if (connection == NULL)
    {
      g_io_stream_close (G_IO_STREAM (socket), NULL, NULL);
      dial_complete (task, NULL, g_steal_pointer (&error));
      return;
    }

  dial->connection = g_object_ref (connection);
  punch_connection_set_host_data (connection, g_object_ref (task));
  g_ptr_array_add (self->pending, connection);
  punch_connection_start (connection);
}

/* Checks that @address is /ip4|ip6/…/tcp/PORT, optionally followed by
 * /p2p/ID when @allow_p2p. */
static GSocketAddress *
tcp_address (PunchMultiaddr  *address,
             gboolean         allow_p2p,
             PunchPeerId    **out_peer_id,
             GError         **error)
{
  PunchMultiaddrProtocol transport;
  g_autoptr(GSocketAddress) socket_address = NULL;
  guint n = punch_multiaddr_get_n_components (address);
  guint i = 0;

  if (n > 0 && punch_multiaddr_get_protocol (address, 0) == PUNCH_MULTIADDR_PROTOCOL_IP6ZONE)
    i++;
  if (i + 2 > n ||
      (punch_multiaddr_get_protocol (address, i) != PUNCH_MULTIADDR_PROTOCOL_IP4 &&
       punch_multiaddr_get_protocol (address, i) != PUNCH_MULTIADDR_PROTOCOL_IP6) ||
      punch_multiaddr_get_protocol (address, i + 1) != PUNCH_MULTIADDR_PROTOCOL_TCP ||
      (i + 2 < n && !(allow_p2p && i + 3 == n &&
                      punch_multiaddr_get_protocol (address, i + 2) == PUNCH_MULTIADDR_PROTOCOL_P2P)))
    {
      g_autofree gchar *text = punch_multiaddr_to_string (address);

      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                   "Unsupported address %s: expected /ip4|ip6/…/tcp/PORT%s",
                   text, allow_p2p ? "[/p2p/ID]" : "");
      return NULL;
    }

  socket_address = punch_multiaddr_to_inet_socket_address (address, &transport, error);
  if (socket_address == NULL)
    return NULL;
  if (out_peer_id != NULL)
    *out_peer_id = punch_multiaddr_get_peer_id (address);
  return g_steal_pointer (&socket_address);
}

/* An open connection to @peer_id that takes new streams, unlimited ones
 * first. */
static PunchConnection *
find_connection (PunchHost   *self,
                 PunchPeerId *peer_id)
{
  PunchConnection *limited = NULL;

  for (guint i = 0; i < self->connections->len; i++)
    {
      PunchConnection *connection = g_ptr_array_index (self->connections, i);

      if (!punch_connection_accepts_streams (connection) ||
          !punch_peer_id_equal (punch_connection_get_remote_peer_id (connection), peer_id))
        continue;
      if (!punch_connection_is_limited (connection))
        return connection;
      if (limited == NULL)
        limited = connection;
    }
  return limited;
}

/* ------------------------------------------------------------------ */
/* Listening                                                          */
/* ------------------------------------------------------------------ */

static gboolean
at_connection_limit (PunchHost *self)
{
  return self->connections->len + self->pending->len >= self->max_connections;
}

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *socket,
             GObject           *source_object,
             gpointer           user_data)
{
  PunchHost *self = user_data;
  g_autoptr(GError) error = NULL;
  PunchConnection *connection;

  if (self->closed)
    return TRUE;
  if (at_connection_limit (self))
    {
      g_debug ("host: refusing a connection: %u connections already", self->max_connections);
      g_io_stream_close (G_IO_STREAM (socket), NULL, NULL);
      return TRUE;
    }

  connection = punch_connection_new (self, socket, PUNCH_DIRECTION_INBOUND, NULL, &error);
  if (connection == NULL)
    {
      g_debug ("host: refusing a connection: %s", error->message);
      g_io_stream_close (G_IO_STREAM (socket), NULL, NULL);
      return TRUE;
    }
  g_ptr_array_add (self->pending, connection);
  punch_connection_start (connection);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* What connections ask                                               */
/* ------------------------------------------------------------------ */

GMainContext *
punch_host_get_context (PunchHost *self)
{
  g_return_val_if_fail (PUNCH_IS_HOST (self), NULL);

  return self->context;
}

/* The host's TLS certificate, made on first use and kept (it is valid for
 * a century). */
PunchTlsCertificate *
punch_host_get_certificate (PunchHost  *self,
                            GError    **error)
{
  g_return_val_if_fail (PUNCH_IS_HOST (self), NULL);

  if (self->certificate == NULL)
    self->certificate = punch_tls_certificate_new (self->keypair,
                                                   g_get_real_time () / G_USEC_PER_SEC,
                                                   error);
  return self->certificate;
}

const gchar * const *
punch_host_get_alpn (PunchHost *self)
{
  g_return_val_if_fail (PUNCH_IS_HOST (self), NULL);

  return (const gchar * const *) self->alpn;
}

void
punch_host_set_alpn (PunchHost           *self,
                     const gchar * const *alpn)
{
  g_return_if_fail (PUNCH_IS_HOST (self));

  g_strfreev (self->alpn);
  self->alpn = g_strdupv ((gchar **) alpn);
}

guint
punch_host_get_n_pending (PunchHost *self)
{
  g_return_val_if_fail (PUNCH_IS_HOST (self), 0);

  return self->pending->len;
}

gboolean
punch_host_has_handler (PunchHost   *self,
                        const gchar *protocol_id)
{
  g_return_val_if_fail (PUNCH_IS_HOST (self), FALSE);

  return g_hash_table_contains (self->handlers, protocol_id);
}

/* Calls the handler of the stream's protocol; FALSE if there is none. */
gboolean
punch_host_dispatch_stream (PunchHost   *self,
                            PunchStream *stream)
{
  Handler *handler;

  g_return_val_if_fail (PUNCH_IS_HOST (self), FALSE);

  if (!g_hash_table_contains (self->handlers, punch_stream_get_protocol (stream)))
    return FALSE;
  g_signal_emit (self, signals[SIGNAL_STREAM_OPENED], 0, stream);
  /* Looked up again: a ::stream-opened handler may have removed or
   * replaced the protocol's handler. */
  handler = g_hash_table_lookup (self->handlers, punch_stream_get_protocol (stream));
  if (handler == NULL)
    return FALSE;
  handler->func (self, stream, handler->data);
  return TRUE;
}

void
punch_host_connection_upgraded (PunchHost       *self,
                                PunchConnection *connection)
{
  GTask *task;

  g_return_if_fail (PUNCH_IS_HOST (self));

  g_object_ref (connection);
  g_ptr_array_add (self->connections, g_object_ref (connection));
  g_ptr_array_remove (self->pending, connection);
  task = punch_connection_get_host_data (connection);
  punch_connection_set_host_data (connection, NULL);

  g_signal_emit (self, signals[SIGNAL_CONNECTION_OPENED], 0, connection);
  if (task != NULL)
    {
      dial_complete (task, connection, NULL);
      g_object_unref (task);
    }
  g_object_unref (connection);
}

void
punch_host_connection_closed (PunchHost       *self,
                              PunchConnection *connection,
                              const GError    *reason)
{
  GTask *task;
  guint index;

  g_return_if_fail (PUNCH_IS_HOST (self));

  g_object_ref (connection);
  task = punch_connection_get_host_data (connection);
  punch_connection_set_host_data (connection, NULL);

  if (g_ptr_array_find (self->connections, connection, &index))
    {
      g_ptr_array_remove_index (self->connections, index);
      g_signal_emit (self, signals[SIGNAL_CONNECTION_CLOSED], 0, connection, reason);
    }
  else
    g_ptr_array_remove (self->pending, connection);

  if (task != NULL)
    {
      dial_complete (task, NULL,
                     reason != NULL ? g_error_copy (reason) :
                     g_error_new_literal (PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                                          "The connection closed during its upgrade"));
      g_object_unref (task);
    }
  g_object_unref (connection);
}

/* ------------------------------------------------------------------ */
/* GObject                                                            */
/* ------------------------------------------------------------------ */

static void
punch_host_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  PunchHost *self = PUNCH_HOST (object);

  switch (prop_id)
    {
    case PROP_KEYPAIR:
      g_value_set_object (value, self->keypair);
      break;
    case PROP_PEER_ID:
      g_value_set_boxed (value, punch_host_get_peer_id (self));
      break;
    case PROP_MAX_CONNECTIONS:
      g_value_set_uint (value, self->max_connections);
      break;
    case PROP_HANDSHAKE_TIMEOUT:
      g_value_set_uint (value, self->handshake_timeout);
      break;
    case PROP_NEGOTIATION_TIMEOUT:
      g_value_set_uint (value, self->negotiation_timeout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
punch_host_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  PunchHost *self = PUNCH_HOST (object);

  switch (prop_id)
    {
    case PROP_KEYPAIR:
      self->keypair = g_value_dup_object (value);
      break;
    case PROP_MAX_CONNECTIONS:
      punch_host_set_max_connections (self, g_value_get_uint (value));
      break;
    case PROP_HANDSHAKE_TIMEOUT:
      punch_host_set_handshake_timeout (self, g_value_get_uint (value));
      break;
    case PROP_NEGOTIATION_TIMEOUT:
      punch_host_set_negotiation_timeout (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
punch_host_constructed (GObject *object)
{
  PunchHost *self = PUNCH_HOST (object);

  G_OBJECT_CLASS (punch_host_parent_class)->constructed (object);

  if (self->keypair == NULL)
    self->keypair = punch_keypair_generate (PUNCH_KEY_TYPE_ED25519, NULL);
  g_assert (PUNCH_IS_KEYPAIR (self->keypair));
  self->p2p_address = punch_multiaddr_new_from_peer_id (punch_keypair_get_peer_id (self->keypair));

  /* Like go-libp2p's basic host, every host answers identify (and pushes
   * its changes) and ping: libp2p peers expect both (js-libp2p drops
   * connections whose pings go unanswered). */
  punch_identify_get_for_host (self);
  punch_ping_attach_responder (self);
}

/* Stops listening and closes every connection; @notify: report closes
 * (signals, failed dials) as usual, else forget the connections silently
 * (the host is being disposed). */
static void
host_shut_down (PunchHost *self,
                gboolean   notify)
{
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func (g_object_unref);

  self->closed = TRUE;
  if (self->service != NULL)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_signal_handlers_disconnect_by_data (self->service, self);
      g_clear_object (&self->service);
    }

  for (guint i = 0; i < self->pending->len; i++)
    g_ptr_array_add (all, g_object_ref (g_ptr_array_index (self->pending, i)));
  for (guint i = 0; i < self->connections->len; i++)
    g_ptr_array_add (all, g_object_ref (g_ptr_array_index (self->connections, i)));

  for (guint i = 0; i < all->len; i++)
    {
      PunchConnection *connection = g_ptr_array_index (all, i);

      if (!notify)
        {
          GTask *task = punch_connection_get_host_data (connection);

          punch_connection_set_host_data (connection, NULL);
          punch_connection_detach_host (connection);
          if (task != NULL)
            {
              dial_complete (task, NULL, g_error_new_literal (PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                                                              "The host is closed"));
              g_object_unref (task);
            }
        }
      punch_connection_close (connection);
    }
  g_ptr_array_set_size (self->pending, 0);
  g_ptr_array_set_size (self->connections, 0);
}

static void
punch_host_dispose (GObject *object)
{
  PunchHost *self = PUNCH_HOST (object);

  host_shut_down (self, FALSE);
  g_clear_object (&self->client);
  g_clear_pointer (&self->handlers, g_hash_table_unref);

  punch_host_set_circuit_dialer (self, NULL, NULL, NULL);

  G_OBJECT_CLASS (punch_host_parent_class)->dispose (object);
}

static void
punch_host_finalize (GObject *object)
{
  PunchHost *self = PUNCH_HOST (object);

  g_clear_object (&self->keypair);
  g_clear_pointer (&self->p2p_address, punch_multiaddr_unref);
  g_clear_pointer (&self->certificate, punch_tls_certificate_unref);
  g_clear_pointer (&self->alpn, g_strfreev);
  g_clear_pointer (&self->listen_addresses, g_ptr_array_unref);
  g_clear_pointer (&self->connections, g_ptr_array_unref);
  g_clear_pointer (&self->pending, g_ptr_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (punch_host_parent_class)->finalize (object);
}

static void
punch_host_class_init (PunchHostClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = punch_host_get_property;
  object_class->set_property = punch_host_set_property;
  object_class->constructed = punch_host_constructed;
  object_class->dispose = punch_host_dispose;
  object_class->finalize = punch_host_finalize;

  /**
   * PunchHost:keypair:
   *
   * The host's identity key pair; its key authenticates every connection.
   * A host made without one gets a new Ed25519 key pair.
   *
   * Since: 0.1
   */
  properties[PROP_KEYPAIR] =
    g_param_spec_object ("keypair", NULL, NULL,
                         PUNCH_TYPE_KEYPAIR,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PunchHost:peer-id:
   *
   * The host's peer id, from [property@Punch.Host:keypair].
   *
   * Since: 0.1
   */
  properties[PROP_PEER_ID] =
    g_param_spec_boxed ("peer-id", NULL, NULL,
                        PUNCH_TYPE_PEER_ID,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PunchHost:max-connections:
   *
   * The most connections the host holds, upgraded or being upgraded.
   * Inbound connections beyond it are closed as soon as they are accepted;
   * dials fail with %PUNCH_ERROR_TOO_LARGE.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_CONNECTIONS] =
    g_param_spec_uint ("max-connections", NULL, NULL,
                       1, G_MAXUINT, PUNCH_HOST_DEFAULT_MAX_CONNECTIONS,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PunchHost:handshake-timeout:
   *
   * How long, in milliseconds, a connection may take from the TCP connect
   * to the end of its upgrade (security and muxer negotiation, TLS
   * handshake) before it is closed with %G_IO_ERROR_TIMED_OUT; 0 for no
   * limit. Applies to connections started after a change.
   *
   * Since: 0.1
   */
  properties[PROP_HANDSHAKE_TIMEOUT] =
    g_param_spec_uint ("handshake-timeout", NULL, NULL,
                       0, G_MAXUINT, PUNCH_HOST_DEFAULT_HANDSHAKE_TIMEOUT_MS,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PunchHost:negotiation-timeout:
   *
   * How long, in milliseconds, the multistream-select negotiation of a
   * stream may take before the stream is reset (and its opening fails
   * with %G_IO_ERROR_TIMED_OUT); 0 for no limit. Applies to streams opened
   * after a change.
   *
   * Since: 0.1
   */
  properties[PROP_NEGOTIATION_TIMEOUT] =
    g_param_spec_uint ("negotiation-timeout", NULL, NULL,
                       0, G_MAXUINT, PUNCH_HOST_DEFAULT_NEGOTIATION_TIMEOUT_MS,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PunchHost::connection-opened:
   * @self: the host
   * @connection: the connection, upgraded
   *
   * Emitted when a connection, inbound or outbound, has finished its
   * upgrade: its peer is authenticated and streams can be opened. For a
   * dial, this comes before the dial's callback.
   *
   * Since: 0.1
   */
  signals[SIGNAL_CONNECTION_OPENED] =
    g_signal_new ("connection-opened",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, PUNCH_TYPE_CONNECTION);

  /**
   * PunchHost::connection-closed:
   * @self: the host
   * @connection: the connection, already removed from
   *   [method@Punch.Host.get_connections]
   * @reason: (nullable): why it closed: %NULL for a clean close by either
   *   side, else the error (see [signal@Punch.Connection::closed])
   *
   * Emitted when a connection that [signal@Punch.Host::connection-opened]
   * announced closes.
   *
   * Since: 0.1
   */
  signals[SIGNAL_CONNECTION_CLOSED] =
    g_signal_new ("connection-closed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, PUNCH_TYPE_CONNECTION, G_TYPE_ERROR);

  /**
   * PunchHost::protocols-changed:
   * @self: the host
   *
   * Emitted when a stream handler is set or removed, so that
   * [method@Punch.Host.get_protocols] has changed (identify pushes it to
   * connected peers).
   *
   * Since: 0.1
   */
  signals[SIGNAL_PROTOCOLS_CHANGED] =
    g_signal_new ("protocols-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  /**
   * PunchHost::stream-opened:
   * @self: the host
   * @stream: the stream, its protocol negotiated
   *
   * Emitted when a peer opened a stream and its protocol was agreed on,
   * right before the protocol's handler (see
   * [method@Punch.Host.set_stream_handler]) gets it: for every inbound
   * stream, the host's own services (identify, ping...) included. A
   * signal handler that removes the protocol's handler gets the stream
   * reset; one that replaces it hands the stream to the new handler.
   *
   * Since: 0.1
   */
  signals[SIGNAL_STREAM_OPENED] =
    g_signal_new ("stream-opened",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, PUNCH_TYPE_STREAM);

  /**
   * PunchHost::listen-addresses-changed:
   * @self: the host
   *
   * Emitted when [method@Punch.Host.listen] added addresses to
   * [method@Punch.Host.get_listen_addresses].
   *
   * Since: 0.1
   */
  signals[SIGNAL_LISTEN_ADDRESSES_CHANGED] =
    g_signal_new ("listen-addresses-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
punch_host_init (PunchHost *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->max_connections = PUNCH_HOST_DEFAULT_MAX_CONNECTIONS;
  self->handshake_timeout = PUNCH_HOST_DEFAULT_HANDSHAKE_TIMEOUT_MS;
  self->negotiation_timeout = PUNCH_HOST_DEFAULT_NEGOTIATION_TIMEOUT_MS;
  self->client = g_socket_client_new ();
  /* Peers are dialed directly: no system proxy (nor its settings lookup). */
  g_socket_client_set_enable_proxy (self->client, FALSE);
  self->listen_addresses = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);
  self->connections = g_ptr_array_new_with_free_func (g_object_unref);
  self->pending = g_ptr_array_new_with_free_func (g_object_unref);
  self->handlers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, handler_free);
}

/* ------------------------------------------------------------------ */
/* Public API                                                         */
/* ------------------------------------------------------------------ */

/**
 * punch_host_new:
 * @keypair: the host's identity
 *
 * Creates a host on the thread-default main context. It neither listens
 * nor dials until told to.
 *
 * Returns: (transfer full): the new host
 *
 * Since: 0.1
 */
PunchHost *
punch_host_new (PunchKeypair *keypair)
{
  g_return_val_if_fail (PUNCH_IS_KEYPAIR (keypair), NULL);

  return g_object_new (PUNCH_TYPE_HOST, "keypair", keypair, NULL);
}

/**
 * punch_host_get_keypair:
 * @self: a host
 *
 * Gets the host's identity key pair.
 *
 * Returns: (transfer none): the key pair
 *
 * Since: 0.1
 */
PunchKeypair *
punch_host_get_keypair (PunchHost *self)
{
  g_return_val_if_fail (PUNCH_IS_HOST (self), NULL);

  return self->keypair;
}

/**
 * punch_host_get_peer_id:
 * @self: a host
 *
 * Gets the host's peer id.
 *
 * Returns: (transfer none): the peer id
 *
 * Since: 0.1
 */
PunchPeerId *
punch_host_get_peer_id (PunchHost *self)
{
  g_return_val_if_fail (PUNCH_IS_HOST (self), NULL);

  return punch_keypair_get_peer_id (self->keypair);
}

/**
 * punch_host_get_max_connections:
 * @self: a host
 *
 * Gets [property@Punch.Host:max-connections].
 *
 * Returns: the most connections the host holds
 *
 * Since: 0.1
 */
guint
punch_host_get_max_connections (PunchHost *self)
{
  g_return_val_if_fail (PUNCH_IS_HOST (self), 0);

  return self->max_connections;
}

/**
 * punch_host_set_max_connections:
 * @self: a host
 * @max_connections: the most connections to hold, at least 1
 *
 * Sets [property@Punch.Host:max-connections]. Connections beyond a lowered
 * limit are not closed; new ones are refused until fewer remain.
 *
 * Since: 0.1
 */
void
punch_host_set_max_connections (PunchHost *self,
                                guint      max_connections)
{
  g_return_if_fail (PUNCH_IS_HOST (self));
  g_return_if_fail (max_connections > 0);

  if (self->max_connections == max_connections)
    return;
  self->max_connections = max_connections;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_CONNECTIONS]);
}

/**
 * punch_host_get_handshake_timeout:
 * @self: a host
 *
 * Gets [property@Punch.Host:handshake-timeout].
 *
 * Returns: the timeout in milliseconds, 0 for none
 *
 * Since: 0.1
 */
guint
punch_host_get_handshake_timeout (PunchHost *self)
{
  g_return_val_if_fail (PUNCH_IS_HOST (self), 0);

  return self->handshake_timeout;
}

/**
 * punch_host_set_handshake_timeout:
 * @self: a host
 * @timeout_ms: the timeout in milliseconds, 0 for none
 *
 * Sets [property@Punch.Host:handshake-timeout].
 *
 * Since: 0.1
 */
void
punch_host_set_handshake_timeout (PunchHost *self,
                                  guint      timeout_ms)
{
  g_return_if_fail (PUNCH_IS_HOST (self));

  if (self->handshake_timeout == timeout_ms)
    return;
  self->handshake_timeout = timeout_ms;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HANDSHAKE_TIMEOUT]);
}

/**
 * punch_host_get_negotiation_timeout:
 * @self: a host
 *
 * Gets [property@Punch.Host:negotiation-timeout].
 *
 * Returns: the timeout in milliseconds, 0 for none
 *
 * Since: 0.1
 */
guint
punch_host_get_negotiation_timeout (PunchHost *self)
{
  g_return_val_if_fail (PUNCH_IS_HOST (self), 0);

  return self->negotiation_timeout;
}

/**
 * punch_host_set_negotiation_timeout:
 * @self: a host
 * @timeout_ms: the timeout in milliseconds, 0 for none
 *
 * Sets [property@Punch.Host:negotiation-timeout].
 *
 * Since: 0.1
 */
void
punch_host_set_negotiation_timeout (PunchHost *self,
                                    guint      timeout_ms)
{
  g_return_if_fail (PUNCH_IS_HOST (self));

  if (self->negotiation_timeout == timeout_ms)
    return;
  self->negotiation_timeout = timeout_ms;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NEGOTIATION_TIMEOUT]);
}

/**
 * punch_host_listen:
 * @self: a host
 * @address: where to listen: `/ip4/ADDRESS/tcp/PORT` or
 *   `/ip6/ADDRESS/tcp/PORT`; port 0 picks a free port
 * @error: return location for a #GError
 *
 * Accepts TCP connections on @address; they are upgraded and announced
 * with [signal@Punch.Host::connection-opened]. Call it once per address.
 * [method@Punch.Host.get_listen_addresses] tells the port bound.
 *
 * Errors: %PUNCH_ERROR_UNSUPPORTED for another kind of address,
 * %PUNCH_ERROR_CLOSED after [method@Punch.Host.close], or the
 * %G_IO_ERROR of the socket (%G_IO_ERROR_ADDRESS_IN_USE…).
 *
 * Returns: %TRUE if the host listens on @address
 *
 * Since: 0.1
 */
gboolean
punch_host_listen (PunchHost       *self,
                   PunchMultiaddr  *address,
                   GError         **error)
{
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(PunchMultiaddr) bound = NULL;
  PunchMultiaddr *full;

  g_return_val_if_fail (PUNCH_IS_HOST (self), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->closed)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED, "The host is closed");
      return FALSE;
    }

  socket_address = tcp_address (address, FALSE, NULL, error);
  if (socket_address == NULL)
    return FALSE;

  if (self->service == NULL)
    {
      self->service = g_socket_service_new ();
      g_signal_connect (self->service, "incoming", G_CALLBACK (on_incoming), self);
    }
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), socket_address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                      NULL, &effective, error))
    return FALSE;
  g_socket_service_start (self->service);

  bound = punch_multiaddr_new_from_inet_socket_address (G_INET_SOCKET_ADDRESS (effective),
                                                        PUNCH_MULTIADDR_PROTOCOL_TCP);
  full = punch_multiaddr_encapsulate (bound, self->p2p_address, NULL);
  g_ptr_array_add (self->listen_addresses, full);

  if (g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN) == FALSE)
    {
      g_autofree gchar *text = punch_multiaddr_to_string (full);

      g_debug ("host: listening on %s", text);
    }
  g_signal_emit (self, signals[SIGNAL_LISTEN_ADDRESSES_CHANGED], 0);
  return TRUE;
}

/**
 * punch_host_get_listen_addresses:
 * @self: a host
 *
 * Gets the addresses the host listens on, with the ports actually bound
 * and the host's `/p2p/ID` appended, in the order
 * [method@Punch.Host.listen] was called. An unspecified address (0.0.0.0,
 * ::) is reported as such, not expanded to the interfaces' addresses.
 *
 * Returns: (transfer container) (element-type PunchMultiaddr): the
 *   addresses, owned by the host
 *
 * Since: 0.1
 */
GPtrArray *
punch_host_get_listen_addresses (PunchHost *self)
{
  GPtrArray *addresses;

  g_return_val_if_fail (PUNCH_IS_HOST (self), NULL);

  addresses = g_ptr_array_sized_new (self->listen_addresses->len);
  for (guint i = 0; i < self->listen_addresses->len; i++)
    g_ptr_array_add (addresses, g_ptr_array_index (self->listen_addresses, i));
  return addresses;
}

/* /…/p2p/RELAY/p2p-circuit/p2p/PEER: handed to the relay client. */
static void
dial_circuit (PunchHost      *self,
              GTask          *task,
              PunchMultiaddr *address)
{
  guint n = punch_multiaddr_get_n_components (address);
  gint circuit = punch_multiaddr_find_protocol (address, PUNCH_MULTIADDR_PROTOCOL_P2P_CIRCUIT);
  g_autoptr(PunchPeerId) target = NULL;
  PunchConnection *existing;

  if (circuit < 1 || (guint) circuit + 2 != n ||
      punch_multiaddr_get_protocol (address, circuit - 1) != PUNCH_MULTIADDR_PROTOCOL_P2P ||
      punch_multiaddr_get_protocol (address, n - 1) != PUNCH_MULTIADDR_PROTOCOL_P2P)
    {
      g_autofree gchar *text = punch_multiaddr_to_string (address);

      g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                               "Unsupported relayed address %s: expected "
                               "/…/p2p/RELAY/p2p-circuit/p2p/PEER", text);
      return;
    }
  if (self->closed)
    {
      g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_CLOSED, "The host is closed");
      return;
    }
  target = punch_multiaddr_get_peer_id (address);
  if (target != NULL && (existing = find_connection (self, target)) != NULL)
    {
      g_task_return_pointer (task, g_object_ref (existing), g_object_unref);
      return;
    }
  if (self->circuit_dial == NULL)
    {
      g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                               "This host has no relay client: it cannot dial "
                               "/p2p-circuit addresses");
      return;
    }
  self->circuit_dial (self, address, task, self->circuit_dial_data);
}

void
punch_host_set_circuit_dialer (PunchHost            *self,
                               PunchCircuitDialFunc  func,
                               gpointer              user_data,
                               GDestroyNotify        destroy)
{
  g_return_if_fail (PUNCH_IS_HOST (self));

  if (self->circuit_dial_destroy != NULL)
    self->circuit_dial_destroy (self->circuit_dial_data);
  self->circuit_dial = func;
  self->circuit_dial_data = user_data;
  self->circuit_dial_destroy = destroy;
}

void
punch_host_upgrade_transport_async (PunchHost           *self,
                                    GIOStream           *transport,
                                    PunchDirection       direction,
                                    PunchPeerId         *expected_peer_id,
                                    PunchMultiaddr      *local_address,
                                    PunchMultiaddr      *remote_address,
                                    guint32              limit_duration,
                                    guint64              limit_data,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  PunchConnection *connection;
  Dial *dial;

  g_return_if_fail (PUNCH_IS_HOST (self));
  g_return_if_fail (G_IS_IO_STREAM (transport));
  g_return_if_fail (direction == PUNCH_DIRECTION_INBOUND || expected_peer_id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, punch_host_upgrade_transport_async);

  if (self->closed)
    {
      g_io_stream_close (transport, NULL, NULL);
      g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_CLOSED, "The host is closed");
      return;
    }
  if (at_connection_limit (self))
    {
      g_io_stream_close (transport, NULL, NULL);
      g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                               "The host has %u connections already", self->max_connections);
      return;
    }

  dial = dial_new (self, task,
                   expected_peer_id != NULL ? punch_peer_id_ref (expected_peer_id) : NULL,
                   cancellable);
  connection = punch_connection_new_for_transport (self, transport, direction, expected_peer_id,
                                                   local_address, remote_address,
                                                   limit_duration, limit_data);
  dial->connection = g_object_ref (connection);
  punch_connection_set_host_data (connection, g_object_ref (task));
  g_ptr_array_add (self->pending, connection);
  punch_connection_start (connection);
}

PunchConnection *
punch_host_upgrade_transport_finish (PunchHost     *self,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  g_return_val_if_fail (PUNCH_IS_HOST (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * punch_host_dial_async:
 * @self: a host
 * @address: `/ip4/…/tcp/PORT` or `/ip6/…/tcp/PORT`, optionally followed by
 *   `/p2p/ID`
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the connection is upgraded or the
 *   dial failed
 * @user_data: (closure): data for @callback
 *
 * Connects to @address over TCP and upgrades the connection (see
 * [class@Punch.Connection]). If @address ends with `/p2p/ID`, the remote
 * peer must authenticate as ID.
 *
 * If @address names a peer and the host already has an open connection
 * to it (one that is not [property@Punch.Connection:limited], if any), that
 * connection is returned and no new one is made. Without `/p2p/ID` a new
 * connection is always made.
 *
 * The dial, TCP connect included, is bounded by
 * [property@Punch.Host:handshake-timeout].
 *
 * Since: 0.1
 */
void
punch_host_dial_async (PunchHost           *self,
                       PunchMultiaddr      *address,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(PunchPeerId) expected = NULL;
  PunchConnection *existing;
  Dial *dial;

  g_return_if_fail (PUNCH_IS_HOST (self));
  g_return_if_fail (address != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, punch_host_dial_async);

  if (punch_multiaddr_find_protocol (address, PUNCH_MULTIADDR_PROTOCOL_P2P_CIRCUIT) >= 0)
    {
      dial_circuit (self, task, address);
      return;
    }

  socket_address = tcp_address (address, TRUE, &expected, &error);
  if (socket_address == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (self->closed)
    {
      g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_CLOSED, "The host is closed");
      return;
    }
  if (expected != NULL && (existing = find_connection (self, expected)) != NULL)
    {
      g_task_return_pointer (task, g_object_ref (existing), g_object_unref);
      return;
    }
  if (at_connection_limit (self))
    {
      g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                               "The host has %u connections already", self->max_connections);
      return;
    }

  dial = dial_new (self, task, g_steal_pointer (&expected), cancellable);

  g_socket_client_connect_async (self->client, G_SOCKET_CONNECTABLE (socket_address),
                                 dial->connect_cancellable, on_dial_connected,
                                 g_object_ref (task));
}

/**
 * punch_host_dial_finish:
 * @self: a host
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Punch.Host.dial_async].
 *
 * Errors: %PUNCH_ERROR_PEER_ID_MISMATCH if the peer authenticated as
 * another peer than the `/p2p/ID` of the address; %PUNCH_ERROR_UNSUPPORTED
 * for an address that is not TCP; %PUNCH_ERROR_TOO_LARGE at
 * [property@Punch.Host:max-connections]; %PUNCH_ERROR_PROTOCOL (and the
 * other codes of TLS certificate checks) if the peer broke a protocol of
 * the upgrade; %PUNCH_ERROR_CLOSED if the peer closed the connection
 * during the upgrade or the host was closed; %G_IO_ERROR_TIMED_OUT after
 * the handshake timeout; %G_IO_ERROR_CANCELLED; the %G_IO_ERROR of the TCP
 * connect (%G_IO_ERROR_CONNECTION_REFUSED…).
 *
 * Returns: (transfer full): the connection, or %NULL on error
 *
 * Since: 0.1
 */
PunchConnection *
punch_host_dial_finish (PunchHost     *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (PUNCH_IS_HOST (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * punch_host_get_connections:
 * @self: a host
 * @peer_id: (nullable): a peer, or %NULL for all
 *
 * Gets the host's upgraded connections that are not closed, to @peer_id
 * or to every peer, oldest first.
 *
 * Returns: (transfer container) (element-type PunchConnection): the
 *   connections, owned by the host
 *
 * Since: 0.1
 */
GPtrArray *
punch_host_get_connections (PunchHost   *self,
                            PunchPeerId *peer_id)
{
  GPtrArray *connections;

  g_return_val_if_fail (PUNCH_IS_HOST (self), NULL);

  connections = g_ptr_array_new ();
  for (guint i = 0; i < self->connections->len; i++)
    {
      PunchConnection *connection = g_ptr_array_index (self->connections, i);

      if (punch_connection_is_closed (connection))
        continue;
      if (peer_id != NULL &&
          !punch_peer_id_equal (punch_connection_get_remote_peer_id (connection), peer_id))
        continue;
      g_ptr_array_add (connections, connection);
    }
  return connections;
}

/**
 * punch_host_set_stream_handler:
 * @self: a host
 * @protocol_id: a protocol id such as `/ipfs/ping/1.0.0`
 * @handler: (scope notified) (closure user_data) (destroy destroy): called
 *   with each stream a peer opens for @protocol_id
 * @user_data: data for @handler
 * @destroy: (nullable): frees @user_data when the handler is replaced or
 *   removed, or the host is disposed
 *
 * Serves @protocol_id on every connection, present and future: when a
 * peer opens a stream and proposes @protocol_id, multistream-select
 * accepts it and @handler gets the stream. Protocols without a handler are
 * refused with "na" at once. A second handler for the same protocol id
 * replaces the first.
 *
 * Since: 0.1
 */
void
punch_host_set_stream_handler (PunchHost          *self,
                               const gchar        *protocol_id,
                               PunchStreamHandler  handler,
                               gpointer            user_data,
                               GDestroyNotify      destroy)
{
  Handler *entry;

  g_return_if_fail (PUNCH_IS_HOST (self));
  g_return_if_fail (punch_multistream_is_valid_protocol (protocol_id));
  g_return_if_fail (handler != NULL);

  entry = g_new0 (Handler, 1);
  entry->func = handler;
  entry->data = user_data;
  entry->destroy = destroy;
  g_hash_table_replace (self->handlers, g_strdup (protocol_id), entry);
  g_signal_emit (self, signals[SIGNAL_PROTOCOLS_CHANGED], 0);
}

/**
 * punch_host_remove_stream_handler:
 * @self: a host
 * @protocol_id: a protocol id
 *
 * Stops serving @protocol_id: new streams proposing it are refused. Streams
 * already handed to the handler go on.
 *
 * Returns: %TRUE if there was a handler for @protocol_id
 *
 * Since: 0.1
 */
gboolean
punch_host_remove_stream_handler (PunchHost   *self,
                                  const gchar *protocol_id)
{
  g_return_val_if_fail (PUNCH_IS_HOST (self), FALSE);
  g_return_val_if_fail (protocol_id != NULL, FALSE);

  if (!g_hash_table_remove (self->handlers, protocol_id))
    return FALSE;
  g_signal_emit (self, signals[SIGNAL_PROTOCOLS_CHANGED], 0);
  return TRUE;
}

static gint
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const gchar * const *) a, *(const gchar * const *) b);
}

/**
 * punch_host_get_protocols:
 * @self: a host
 *
 * Gets the protocol ids the host serves (those with a handler), sorted:
 * what identify announces.
 *
 * Returns: (transfer full) (array zero-terminated=1): the protocol ids
 *
 * Since: 0.1
 */
gchar **
punch_host_get_protocols (PunchHost *self)
{
  g_autofree gpointer *keys = NULL;
  GPtrArray *protocols;
  guint n = 0;

  g_return_val_if_fail (PUNCH_IS_HOST (self), NULL);

  keys = g_hash_table_get_keys_as_array (self->handlers, &n);
  protocols = g_ptr_array_new_full (n + 1, g_free);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (protocols, g_strdup (keys[i]));
  g_ptr_array_sort (protocols, compare_strings);
  g_ptr_array_add (protocols, NULL);
  return (gchar **) g_ptr_array_free (protocols, FALSE);
}

static void
on_host_stream_opened (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  PunchStream *stream;

  stream = punch_connection_open_stream_finish (PUNCH_CONNECTION (source), result, &error);
  if (stream == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, stream, g_object_unref);
}

/**
 * punch_host_new_stream_async:
 * @self: a host
 * @peer_id: the peer
 * @protocol_ids: (array zero-terminated=1): the protocols to propose, most
 *   preferred first
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the stream is ready or failed
 * @user_data: (closure): data for @callback
 *
 * Opens a stream on an open connection to @peer_id (one that is not
 * [property@Punch.Connection:limited] if there is one), as
 * [method@Punch.Connection.open_stream_async] does. It does not dial:
 * without a connection it fails with %PUNCH_ERROR_CLOSED.
 *
 * Since: 0.1
 */
void
punch_host_new_stream_async (PunchHost           *self,
                             PunchPeerId         *peer_id,
                             const gchar * const *protocol_ids,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  PunchConnection *connection;

  g_return_if_fail (PUNCH_IS_HOST (self));
  g_return_if_fail (peer_id != NULL);
  g_return_if_fail (protocol_ids != NULL && protocol_ids[0] != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, punch_host_new_stream_async);

  connection = find_connection (self, peer_id);
  if (connection == NULL)
    {
      g_autofree gchar *text = punch_peer_id_to_string (peer_id);

      g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                               "No open connection to %s", text);
      return;
    }
  punch_connection_open_stream_async (connection, protocol_ids, cancellable,
                                      on_host_stream_opened, g_steal_pointer (&task));
}

/**
 * punch_host_new_stream_finish:
 * @self: a host
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Punch.Host.new_stream_async].
 *
 * Errors: %PUNCH_ERROR_CLOSED if there is no open connection to the peer,
 * else those of [method@Punch.Connection.open_stream_finish].
 *
 * Returns: (transfer full): the stream, or %NULL on error
 *
 * Since: 0.1
 */
PunchStream *
punch_host_new_stream_finish (PunchHost     *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (PUNCH_IS_HOST (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * punch_host_close:
 * @self: a host
 *
 * Stops listening and closes every connection at once (see
 * [method@Punch.Connection.close]), emitting
 * [signal@Punch.Host::connection-closed] for each; dials under way fail.
 * The host cannot listen or dial afterwards. Disposing of the host does
 * the same, without the signals.
 *
 * Since: 0.1
 */
void
punch_host_close (PunchHost *self)
{
  g_return_if_fail (PUNCH_IS_HOST (self));

  g_object_ref (self);
  host_shut_down (self, TRUE);
  g_object_unref (self);
}
