/* punch-relay-client.c: reservations kept on relays, relayed connections both ways.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-relay-client.h"

#include "punch-connection.h"
#include "punch-error.h"
#include "punch-host-private.h"
#include "punch-stream.h"

/**
 * PunchRelayClient:
 *
 * The client side of circuit relay v2 (libp2p/specs relay/circuit-v2.md)
 * on a [class@Punch.Host]:
 *
 * - it keeps reservations on the relays added with
 *   [method@Punch.RelayClient.add_relay] while
 *   [property@Punch.RelayClient:reserving] is set, renews each at three
 *   quarters of its lifetime, and when a relay goes away (its connection
 *   closes, a renewal fails) reserves again with exponential backoff
 *   ([property@Punch.RelayClient:min-backoff] to
 *   [property@Punch.RelayClient:max-backoff]);
 * - it makes the host dial `/…/p2p/RELAY/p2p-circuit/p2p/PEER` addresses
 *   ([method@Punch.Host.dial_async]): a CONNECT through the relay, then
 *   the same upgrade as over TCP (multistream-select, libp2p TLS, yamux)
 *   end to end on the circuit, so that the relay carries only ciphertext
 *   and cannot pose as PEER;
 * - it accepts the relayed connections relays open to this host (stop
 *   CONNECT) and upgrades them likewise.
 *
 * Relayed connections are [property@Punch.Connection:limited] with the
 * relay's limits, and are announced by [signal@Punch.RelayClient::relayed-connection]
 * as well as by the host.
 *
 * Since: 0.1
 */

#define DEFAULT_MIN_BACKOFF_MS 1000
#define DEFAULT_MAX_BACKOFF_MS 60000

typedef struct {
  PunchRelayClient *client;        /* weak: the client owns the relay */
  PunchMultiaddr *address;         /* with /p2p/RELAY */
  PunchPeerId *id;
  PunchRelayReservation *reservation;
  GSource *timer;                  /* renewal, or retry after a failure */
  guint backoff_ms;
  gboolean busy;
  GCancellable *cancellable;
} Relay;

struct _PunchRelayClient {
  GObject parent_instance;

  PunchHost *host;
  GMainContext *context;
  GPtrArray *relays;               /* Relay */
  gboolean reserving;
  guint min_backoff_ms;
  guint max_backoff_ms;
  gulong closed_id;
};

enum {
  PROP_0,
  PROP_HOST,
  PROP_RESERVING,
  PROP_MIN_BACKOFF,
  PROP_MAX_BACKOFF,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_RESERVATION_GAINED,
  SIGNAL_RESERVATION_LOST,
  SIGNAL_RESERVATION_FAILED,
  SIGNAL_RELAYED_CONNECTION,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (PunchRelayClient, punch_relay_client, G_TYPE_OBJECT)

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
relay_free (gpointer data)
{
  Relay *relay = data;

  g_cancellable_cancel (relay->cancellable);
  clear_source (&relay->timer);
  g_clear_object (&relay->cancellable);
  g_clear_pointer (&relay->address, punch_multiaddr_unref);
  g_clear_pointer (&relay->id, punch_peer_id_unref);
  g_clear_pointer (&relay->reservation, punch_relay_reservation_unref);
  g_free (relay);
}

/* ------------------------------------------------------------------ */
/* Reservations                                                       */
/* ------------------------------------------------------------------ */

static void relay_reserve (Relay *relay);

static gboolean
on_relay_timer (gpointer data)
{
  Relay *relay = data;

  clear_source (&relay->timer);
  relay_reserve (relay);
  return G_SOURCE_REMOVE;
}

static void
relay_schedule (Relay  *relay,
                gint64  delay_ms)
{
  clear_source (&relay->timer);
  relay->timer = g_timeout_source_new ((guint) CLAMP (delay_ms, 0, G_MAXUINT));
  g_source_set_callback (relay->timer, on_relay_timer, relay, NULL);
  g_source_attach (relay->timer, relay->client->context);
}

/* A failure: the next try after the current backoff, which doubles. */
static void
relay_retry_later (Relay *relay)
{
  PunchRelayClient *self = relay->client;

  relay_schedule (relay, relay->backoff_ms);
  relay->backoff_ms = MIN ((guint64) relay->backoff_ms * 2, self->max_backoff_ms);
}

static void
relay_lose (Relay        *relay,
            const GError *reason)
{
  g_autoptr(PunchRelayReservation) lost = g_steal_pointer (&relay->reservation);
  g_autofree gchar *id = punch_peer_id_to_string (relay->id);

  if (lost == NULL)
    return;
  g_debug ("relay client: reservation on %s lost: %s", id,
           reason != NULL ? reason->message : "stopped");
  g_signal_emit (relay->client, signals[SIGNAL_RESERVATION_LOST], 0, relay->id, reason);
}

static void
on_reserved (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Relay *relay = user_data;
  PunchRelayClient *self;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchRelayReservation) reservation = NULL;
  g_autofree gchar *id = NULL;
  gboolean renewed;

  reservation = punch_relay_reserve_finish (PUNCH_HOST (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* the relay was dropped, or reserving stopped */
  self = relay->client;
  relay->busy = FALSE;
  id = punch_peer_id_to_string (relay->id);
  if (reservation == NULL)
    {
      g_debug ("relay client: reservation on %s failed: %s (next try in %u ms)",
               id, error->message, relay->backoff_ms);
      relay_lose (relay, error);
      g_signal_emit (self, signals[SIGNAL_RESERVATION_FAILED], 0, relay->id, error);
      relay_retry_later (relay);
      return;
    }

  renewed = relay->reservation != NULL;
  g_clear_pointer (&relay->reservation, punch_relay_reservation_unref);
  relay->reservation = punch_relay_reservation_ref (reservation);
  relay->backoff_ms = self->min_backoff_ms;
  relay_schedule (relay, (punch_relay_reservation_get_renewal_time (reservation) -
                          g_get_real_time ()) / 1000);
  g_debug ("relay client: reservation on %s %s until %" G_GINT64_FORMAT, id,
           renewed ? "renewed" : "gained", punch_relay_reservation_get_expiration (reservation));
  if (!renewed)
    g_signal_emit (self, signals[SIGNAL_RESERVATION_GAINED], 0, reservation);
}

static void
on_relay_dialed (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Relay *relay = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchConnection) connection = NULL;

  connection = punch_host_dial_finish (PUNCH_HOST (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (connection == NULL)
    {
      g_autofree gchar *id = punch_peer_id_to_string (relay->id);

      relay->busy = FALSE;
      g_debug ("relay client: cannot reach relay %s: %s (next try in %u ms)",
               id, error->message, relay->backoff_ms);
      relay_lose (relay, error);
      g_signal_emit (relay->client, signals[SIGNAL_RESERVATION_FAILED], 0, relay->id, error);
      relay_retry_later (relay);
      return;
    }
  punch_relay_reserve_async (PUNCH_HOST (source), relay->id, relay->cancellable,
                             on_reserved, relay);
}

static void
relay_reserve (Relay *relay)
{
  PunchRelayClient *self = relay->client;

  if (relay->busy || !self->reserving)
    return;
  relay->busy = TRUE;
  punch_host_dial_async (self->host, relay->address, relay->cancellable, on_relay_dialed, relay);
}

/* Stops the work on @relay (dial, reservation, timer) without a trace. */
static void
relay_stop (Relay *relay)
{
  g_cancellable_cancel (relay->cancellable);
  g_clear_object (&relay->cancellable);
  relay->cancellable = g_cancellable_new ();
  clear_source (&relay->timer);
  relay->busy = FALSE;
}

static void
on_connection_closed (PunchHost        *host,
                      PunchConnection  *connection,
                      const GError     *reason,
                      PunchRelayClient *self)
{
  PunchPeerId *peer = punch_connection_get_remote_peer_id (connection);

  for (guint i = 0; i < self->relays->len; i++)
    {
      Relay *relay = g_ptr_array_index (self->relays, i);
      g_autoptr(GPtrArray) left = NULL;
      g_autoptr(GError) error = NULL;

      if (relay->reservation == NULL || !punch_peer_id_equal (relay->id, peer))
        continue;
      left = punch_host_get_connections (host, relay->id);
      if (left->len > 0)
        continue;
      /* A reservation lives as long as the connection it was made on. */
      error = reason != NULL ? g_error_copy (reason) :
        g_error_new_literal (PUNCH_ERROR, PUNCH_ERROR_CLOSED, "The connection to the relay closed");
      relay_stop (relay);
      relay_lose (relay, error);
      relay->backoff_ms = self->min_backoff_ms;
      relay_retry_later (relay);
    }
}

/* ------------------------------------------------------------------ */
/* Relayed connections                                                */
/* ------------------------------------------------------------------ */

typedef struct {
  PunchRelayClient *client;        /* strong */
  GTask *task;                     /* the host's dial (NULL inbound) */
  PunchMultiaddr *address;         /* the remote end, /…/p2p-circuit/p2p/PEER */
  PunchMultiaddr *local;           /* /…/p2p/RELAY/p2p-circuit */
  PunchPeerId *relay;
  PunchPeerId *target;
} CircuitDial;

static void
circuit_dial_free (CircuitDial *dial)
{
  g_clear_object (&dial->client);
  g_clear_object (&dial->task);
  g_clear_pointer (&dial->address, punch_multiaddr_unref);
  g_clear_pointer (&dial->local, punch_multiaddr_unref);
  g_clear_pointer (&dial->relay, punch_peer_id_unref);
  g_clear_pointer (&dial->target, punch_peer_id_unref);
  g_free (dial);
}

static void
on_circuit_upgraded (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  CircuitDial *dial = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchConnection) connection = NULL;

  connection = punch_host_upgrade_transport_finish (PUNCH_HOST (source), result, &error);
  if (connection != NULL)
    g_signal_emit (dial->client, signals[SIGNAL_RELAYED_CONNECTION], 0, connection);
  if (dial->task != NULL)
    {
      if (connection != NULL)
        g_task_return_pointer (dial->task, g_steal_pointer (&connection), g_object_unref);
      else
        g_task_return_error (dial->task, g_steal_pointer (&error));
    }
  else if (connection == NULL)
    g_debug ("relay client: an inbound relayed connection failed its upgrade: %s", error->message);
  circuit_dial_free (dial);
}

static void
upgrade_circuit (CircuitDial    *dial,
                 PunchStream    *stream,
                 PunchDirection  direction,
                 guint32         limit_duration,
                 guint64         limit_data)
{
  PunchHost *host = dial->client->host;

  punch_host_upgrade_transport_async (host, G_IO_STREAM (stream), direction, dial->target,
                                      dial->local, dial->address, limit_duration, limit_data,
                                      dial->task != NULL ? g_task_get_cancellable (dial->task) : NULL,
                                      on_circuit_upgraded, dial);
}

static void
on_circuit_connected (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  CircuitDial *dial = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) stream = NULL;
  guint32 limit_duration = 0;
  guint64 limit_data = 0;

  stream = punch_relay_connect_finish (PUNCH_HOST (source), result, &limit_duration,
                                       &limit_data, &error);
  if (stream == NULL)
    {
      g_task_return_error (dial->task, g_steal_pointer (&error));
      circuit_dial_free (dial);
      return;
    }
  upgrade_circuit (dial, stream, PUNCH_DIRECTION_OUTBOUND, limit_duration, limit_data);
}

static void
on_circuit_relay_dialed (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  CircuitDial *dial = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchConnection) connection = NULL;

  connection = punch_host_dial_finish (PUNCH_HOST (source), result, &error);
  if (connection == NULL)
    {
      g_prefix_error (&error, "Cannot reach the relay: ");
      g_task_return_error (dial->task, g_steal_pointer (&error));
      circuit_dial_free (dial);
      return;
    }
  punch_relay_connect_async (PUNCH_HOST (source), dial->relay, dial->target,
                             g_task_get_cancellable (dial->task), on_circuit_connected, dial);
}

/* The host's circuit dialer: /…/p2p/RELAY/p2p-circuit/p2p/PEER (the host
 * checked the shape). */
static void
circuit_dial (PunchHost      *host,
              PunchMultiaddr *address,
              GTask          *task,
              gpointer        user_data)
{
  PunchRelayClient *self = user_data;
  g_autoptr(PunchMultiaddr) relay_address =
    punch_multiaddr_decapsulate_protocol (address, PUNCH_MULTIADDR_PROTOCOL_P2P_CIRCUIT);
  g_autoptr(PunchMultiaddr) circuit = punch_multiaddr_new_from_string ("/p2p-circuit", NULL);
  CircuitDial *dial = g_new0 (CircuitDial, 1);

  dial->client = g_object_ref (self);
  dial->task = g_object_ref (task);
  dial->address = punch_multiaddr_ref (address);
  dial->local = punch_multiaddr_encapsulate (relay_address, circuit, NULL);
  dial->relay = punch_multiaddr_get_peer_id (relay_address);
  dial->target = punch_multiaddr_get_peer_id (address);

  if (punch_peer_id_equal (dial->target, punch_host_get_peer_id (host)))
    {
      g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                               "A relayed connection to this host itself");
      circuit_dial_free (dial);
      return;
    }
  if (punch_multiaddr_get_n_components (relay_address) == 1)
    {
      /* /p2p/RELAY/p2p-circuit/p2p/PEER: over a connection to RELAY. */
      g_autoptr(GPtrArray) connections = punch_host_get_connections (host, dial->relay);

      if (connections->len == 0)
        {
          g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                                   "No connection to the relay, and no address to dial it at");
          circuit_dial_free (dial);
          return;
        }
      punch_relay_connect_async (host, dial->relay, dial->target, g_task_get_cancellable (task),
                                 on_circuit_connected, dial);
      return;
    }
  punch_host_dial_async (host, relay_address, g_task_get_cancellable (task),
                         on_circuit_relay_dialed, dial);
}

/* A relay opened a circuit to us (stop CONNECT). */
static void
on_stop (PunchHost   *host,
         PunchStream *stream,
         PunchPeerId *initiator,
         guint32      limit_duration,
         guint64      limit_data,
         gpointer     user_data)
{
  PunchRelayClient *self = user_data;
  PunchConnection *via = punch_stream_get_connection (stream);
  g_autoptr(PunchMultiaddr) relay = punch_multiaddr_new_from_peer_id (punch_connection_get_remote_peer_id (via));
  g_autoptr(PunchMultiaddr) circuit = punch_multiaddr_new_from_string ("/p2p-circuit", NULL);
  g_autoptr(PunchMultiaddr) peer = punch_multiaddr_new_from_peer_id (initiator);
  g_autoptr(PunchMultiaddr) relayed = punch_multiaddr_encapsulate (relay, circuit, NULL);
  CircuitDial *dial = g_new0 (CircuitDial, 1);

  dial->client = g_object_ref (self);
  dial->local = punch_multiaddr_ref (relayed);
  dial->address = punch_multiaddr_encapsulate (relayed, peer, NULL);
  dial->relay = punch_peer_id_ref (punch_connection_get_remote_peer_id (via));
  dial->target = punch_peer_id_ref (initiator);
  upgrade_circuit (dial, stream, PUNCH_DIRECTION_INBOUND, limit_duration, limit_data);
}

/* ------------------------------------------------------------------ */
/* GObject                                                            */
/* ------------------------------------------------------------------ */

static void
punch_relay_client_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  PunchRelayClient *self = PUNCH_RELAY_CLIENT (object);

  switch (prop_id)
    {
    case PROP_HOST:
      g_value_set_object (value, self->host);
      break;
    case PROP_RESERVING:
      g_value_set_boolean (value, self->reserving);
      break;
    case PROP_MIN_BACKOFF:
      g_value_set_uint (value, self->min_backoff_ms);
      break;
    case PROP_MAX_BACKOFF:
      g_value_set_uint (value, self->max_backoff_ms);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
punch_relay_client_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  PunchRelayClient *self = PUNCH_RELAY_CLIENT (object);

  switch (prop_id)
    {
    case PROP_HOST:
      self->host = g_value_dup_object (value);
      break;
    case PROP_RESERVING:
      punch_relay_client_set_reserving (self, g_value_get_boolean (value));
      break;
    case PROP_MIN_BACKOFF:
      self->min_backoff_ms = g_value_get_uint (value);
      break;
    case PROP_MAX_BACKOFF:
      self->max_backoff_ms = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
punch_relay_client_constructed (GObject *object)
{
  PunchRelayClient *self = PUNCH_RELAY_CLIENT (object);

  G_OBJECT_CLASS (punch_relay_client_parent_class)->constructed (object);

  g_assert (self->host != NULL);
  self->context = g_main_context_ref_thread_default ();
  punch_host_set_circuit_dialer (self->host, circuit_dial, self, NULL);
  punch_relay_set_stop_handler (self->host, on_stop, self, NULL);
  self->closed_id = g_signal_connect (self->host, "connection-closed",
                                      G_CALLBACK (on_connection_closed), self);
}

static void
punch_relay_client_dispose (GObject *object)
{
  PunchRelayClient *self = PUNCH_RELAY_CLIENT (object);

  if (self->relays != NULL)
    g_ptr_array_set_size (self->relays, 0);
  if (self->host != NULL)
    {
      g_clear_signal_handler (&self->closed_id, self->host);
      punch_host_set_circuit_dialer (self->host, NULL, NULL, NULL);
      punch_relay_set_stop_handler (self->host, NULL, NULL, NULL);
      g_clear_object (&self->host);
    }

  G_OBJECT_CLASS (punch_relay_client_parent_class)->dispose (object);
}

static void
punch_relay_client_finalize (GObject *object)
{
  PunchRelayClient *self = PUNCH_RELAY_CLIENT (object);

  g_clear_pointer (&self->relays, g_ptr_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (punch_relay_client_parent_class)->finalize (object);
}

static void
punch_relay_client_class_init (PunchRelayClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = punch_relay_client_get_property;
  object_class->set_property = punch_relay_client_set_property;
  object_class->constructed = punch_relay_client_constructed;
  object_class->dispose = punch_relay_client_dispose;
  object_class->finalize = punch_relay_client_finalize;

  /**
   * PunchRelayClient:host:
   *
   * The host whose reservations and relayed connections this client
   * handles.
   *
   * Since: 0.1
   */
  properties[PROP_HOST] =
    g_param_spec_object ("host", NULL, NULL, PUNCH_TYPE_HOST,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PunchRelayClient:reserving:
   *
   * Whether reservations are kept on the relays (a node that is reachable
   * directly needs none).
   *
   * Since: 0.1
   */
  properties[PROP_RESERVING] =
    g_param_spec_boolean ("reserving", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PunchRelayClient:min-backoff:
   *
   * Milliseconds before the first new try after a relay failed or went
   * away; each further failure doubles it.
   *
   * Since: 0.1
   */
  properties[PROP_MIN_BACKOFF] =
    g_param_spec_uint ("min-backoff", NULL, NULL, 10, G_MAXUINT, DEFAULT_MIN_BACKOFF_MS,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  /**
   * PunchRelayClient:max-backoff:
   *
   * The longest wait, in milliseconds, between tries on a relay.
   *
   * Since: 0.1
   */
  properties[PROP_MAX_BACKOFF] =
    g_param_spec_uint ("max-backoff", NULL, NULL, 10, G_MAXUINT, DEFAULT_MAX_BACKOFF_MS,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PunchRelayClient::reservation-gained:
   * @self: the client
   * @reservation: the reservation
   *
   * Emitted when a relay accepted a reservation (not for renewals).
   *
   * Since: 0.1
   */
  signals[SIGNAL_RESERVATION_GAINED] =
    g_signal_new ("reservation-gained", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                  PUNCH_TYPE_RELAY_RESERVATION | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * PunchRelayClient::reservation-lost:
   * @self: the client
   * @relay: the relay's peer id
   * @reason: (nullable): why (%NULL when reserving was stopped)
   *
   * Emitted when a reservation ended: the relay went away, refused a
   * renewal, or [property@Punch.RelayClient:reserving] was unset. The
   * client tries again with backoff unless it was unset.
   *
   * Since: 0.1
   */
  signals[SIGNAL_RESERVATION_LOST] =
    g_signal_new ("reservation-lost", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                  PUNCH_TYPE_PEER_ID | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * PunchRelayClient::reservation-failed:
   * @self: the client
   * @relay: the relay's peer id
   * @error: why: the relay could not be reached, or refused (an error in
   *   the %PUNCH_RELAY_ERROR domain)
   *
   * Emitted when a try to reserve failed; the next one follows after the
   * backoff.
   *
   * Since: 0.1
   */
  signals[SIGNAL_RESERVATION_FAILED] =
    g_signal_new ("reservation-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                  PUNCH_TYPE_PEER_ID | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * PunchRelayClient::relayed-connection:
   * @self: the client
   * @connection: the connection, upgraded
   *
   * Emitted for every relayed connection, dialed or accepted, once it is
   * upgraded.
   *
   * Since: 0.1
   */
  signals[SIGNAL_RELAYED_CONNECTION] =
    g_signal_new ("relayed-connection", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, PUNCH_TYPE_CONNECTION);
}

static void
punch_relay_client_init (PunchRelayClient *self)
{
  self->relays = g_ptr_array_new_with_free_func (relay_free);
  self->min_backoff_ms = DEFAULT_MIN_BACKOFF_MS;
  self->max_backoff_ms = DEFAULT_MAX_BACKOFF_MS;
}

/* ------------------------------------------------------------------ */
/* Public API                                                         */
/* ------------------------------------------------------------------ */

/**
 * punch_relay_client_new:
 * @host: a host
 *
 * Creates the relay client of @host: from now on the host dials
 * `/p2p-circuit` addresses and accepts relayed connections. A host has at
 * most one.
 *
 * Returns: (transfer full): the client
 *
 * Since: 0.1
 */
PunchRelayClient *
punch_relay_client_new (PunchHost *host)
{
  g_return_val_if_fail (PUNCH_IS_HOST (host), NULL);

  return g_object_new (PUNCH_TYPE_RELAY_CLIENT, "host", host, NULL);
}

/**
 * punch_relay_client_get_host:
 * @self: a client
 *
 * Gets [property@Punch.RelayClient:host].
 *
 * Returns: (transfer none): the host
 *
 * Since: 0.1
 */
PunchHost *
punch_relay_client_get_host (PunchRelayClient *self)
{
  g_return_val_if_fail (PUNCH_IS_RELAY_CLIENT (self), NULL);

  return self->host;
}

/**
 * punch_relay_client_add_relay:
 * @self: a client
 * @address: the relay's address, `/ip4|ip6/…/tcp/PORT/p2p/RELAY`
 * @error: return location for a #GError
 *
 * Adds a relay to keep a reservation on (at once if
 * [property@Punch.RelayClient:reserving] is set).
 *
 * Errors: %PUNCH_ERROR_UNSUPPORTED for an address without `/p2p/ID` or
 * a relay added already.
 *
 * Returns: %TRUE if the relay was added
 *
 * Since: 0.1
 */
gboolean
punch_relay_client_add_relay (PunchRelayClient  *self,
                              PunchMultiaddr    *address,
                              GError           **error)
{
  g_autoptr(PunchPeerId) id = NULL;
  Relay *relay;

  g_return_val_if_fail (PUNCH_IS_RELAY_CLIENT (self), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  id = punch_multiaddr_get_peer_id (address);
  if (id == NULL)
    {
      g_autofree gchar *text = punch_multiaddr_to_string (address);

      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                   "A relay address must end with /p2p/ID: %s", text);
      return FALSE;
    }
  for (guint i = 0; i < self->relays->len; i++)
    if (punch_peer_id_equal (((Relay *) g_ptr_array_index (self->relays, i))->id, id))
      {
        g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                             "This relay was added already");
        return FALSE;
      }

  relay = g_new0 (Relay, 1);
  relay->client = self;
  relay->address = punch_multiaddr_ref (address);
  relay->id = g_steal_pointer (&id);
  relay->backoff_ms = self->min_backoff_ms;
  relay->cancellable = g_cancellable_new ();
  g_ptr_array_add (self->relays, relay);
  relay_reserve (relay);
  return TRUE;
}

/**
 * punch_relay_client_set_reserving:
 * @self: a client
 * @reserving: whether to keep reservations
 *
 * Sets [property@Punch.RelayClient:reserving]. Unsetting it drops the
 * reservations ([signal@Punch.RelayClient::reservation-lost] with no
 * reason); relayed connections stay.
 *
 * Since: 0.1
 */
void
punch_relay_client_set_reserving (PunchRelayClient *self,
                                  gboolean          reserving)
{
  g_return_if_fail (PUNCH_IS_RELAY_CLIENT (self));

  reserving = !!reserving;
  if (self->reserving == reserving)
    return;
  self->reserving = reserving;
  for (guint i = 0; i < self->relays->len; i++)
    {
      Relay *relay = g_ptr_array_index (self->relays, i);

      if (reserving)
        {
          relay->backoff_ms = self->min_backoff_ms;
          relay_reserve (relay);
        }
      else
        {
          relay_stop (relay);
          relay_lose (relay, NULL);
        }
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESERVING]);
}

/**
 * punch_relay_client_get_reserving:
 * @self: a client
 *
 * Gets [property@Punch.RelayClient:reserving].
 *
 * Returns: whether reservations are kept
 *
 * Since: 0.1
 */
gboolean
punch_relay_client_get_reserving (PunchRelayClient *self)
{
  g_return_val_if_fail (PUNCH_IS_RELAY_CLIENT (self), FALSE);

  return self->reserving;
}

/**
 * punch_relay_client_get_reservations:
 * @self: a client
 *
 * Gets the reservations held now.
 *
 * Returns: (transfer container) (element-type Punch.RelayReservation): the
 *   reservations
 *
 * Since: 0.1
 */
GPtrArray *
punch_relay_client_get_reservations (PunchRelayClient *self)
{
  GPtrArray *reservations;

  g_return_val_if_fail (PUNCH_IS_RELAY_CLIENT (self), NULL);

  reservations = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_relay_reservation_unref);
  for (guint i = 0; i < self->relays->len; i++)
    {
      Relay *relay = g_ptr_array_index (self->relays, i);

      if (relay->reservation != NULL)
        g_ptr_array_add (reservations, punch_relay_reservation_ref (relay->reservation));
    }
  return reservations;
}

/**
 * punch_relay_client_get_relayed_addresses:
 * @self: a client
 *
 * Gets the addresses at which peers can reach this host through its
 * reservations: each relay address of each reservation followed by
 * `/p2p-circuit/p2p/<this host>`.
 *
 * Returns: (transfer container) (element-type Punch.Multiaddr): the addresses
 *
 * Since: 0.1
 */
GPtrArray *
punch_relay_client_get_relayed_addresses (PunchRelayClient *self)
{
  g_autoptr(PunchMultiaddr) circuit = NULL;
  g_autoptr(PunchMultiaddr) me = NULL;
  GPtrArray *addresses;

  g_return_val_if_fail (PUNCH_IS_RELAY_CLIENT (self), NULL);

  circuit = punch_multiaddr_new_from_string ("/p2p-circuit", NULL);
  me = punch_multiaddr_new_from_peer_id (punch_host_get_peer_id (self->host));
  addresses = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);
  for (guint i = 0; i < self->relays->len; i++)
    {
      Relay *relay = g_ptr_array_index (self->relays, i);
      g_autoptr(GPtrArray) relay_addresses = NULL;

      if (relay->reservation == NULL)
        continue;
      relay_addresses = punch_relay_reservation_get_addresses (relay->reservation);
      if (relay_addresses == NULL || relay_addresses->len == 0)
        {
          /* The relay announced none: the address it was dialed at. */
          g_clear_pointer (&relay_addresses, g_ptr_array_unref);
          relay_addresses = g_ptr_array_new ();
          g_ptr_array_add (relay_addresses, relay->address);
        }
      for (guint j = 0; j < relay_addresses->len; j++)
        {
          g_autoptr(PunchMultiaddr) with_circuit =
            punch_multiaddr_encapsulate (g_ptr_array_index (relay_addresses, j), circuit, NULL);
          PunchMultiaddr *full = with_circuit != NULL ?
            punch_multiaddr_encapsulate (with_circuit, me, NULL) : NULL;

          if (full != NULL && !g_ptr_array_find_with_equal_func (addresses, full,
                                                                 punch_multiaddr_equal, NULL))
            g_ptr_array_add (addresses, full);
          else if (full != NULL)
            punch_multiaddr_unref (full);
        }
    }
  return addresses;
}
