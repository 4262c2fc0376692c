/* punch-identify.c: identify and identify push on a PunchHost.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-identify.h"

#include "punch-identify-private.h"

#include "punch-error.h"
#include "punch-stream.h"

/* PunchIdentify */

/**
 * PunchIdentify:
 *
 * Identify and identify push (libp2p/specs identify/README.md) on a
 * [class@Punch.Host].
 *
 * The object answers `/ipfs/id/1.0.0` with this host's record (agent and
 * protocol versions, public key, listen addresses, the protocols it has
 * handlers for, and the address it sees the asking peer at), identifies
 * every new connection in both directions, accepts pushes on
 * `/ipfs/id/push/1.0.0`, and keeps:
 *
 * - per connection, what the remote peer said on it
 *   ([method@Punch.Identify.get_connection_info]);
 * - per connected peer, the latest record with pushes applied
 *   ([method@Punch.Identify.get_peer_info]);
 * - the addresses remote peers observe this host at, per local address,
 *   counted by distinct observers ([method@Punch.Identify.get_observed_addresses]),
 *   for AutoNAT and hole punching.
 *
 * A record whose public key is not the connection's authenticated peer id
 * is refused and the connection closed. Messages above 8 KiB, more than
 * ten messages on a stream, and identify exchanges that take longer than
 * ten seconds fail the exchange.
 *
 * Each host has one, made by [func@Punch.Identify.get_for_host].
 *
 * Since: 0.1
 */

/* How long one identify exchange (either role) may take. */
#define IDENTIFY_TIMEOUT_MS 10000
/* Bytes asked of a stream per read. */
#define IDENTIFY_READ_SIZE 4096
/* Pushes after a change are delayed this long, to coalesce changes. */
#define PUSH_DELAY_MS 500

struct _PunchIdentify {
  GObject parent_instance;

  PunchHost *host;                 /* weak */
  GHashTable *connections;         /* PunchConnection* (weak) -> ConnState */
  GHashTable *peers;               /* PunchPeerId -> PunchIdentifyInfo */
  PunchObservedAddrs *observed;
  GCancellable *cancellable;       /* cancelled on dispose */
  gulong opened_id;
  gulong closed_id;
  guint push_source_id;
  GPtrArray *advertised;           /* PunchMultiaddr, or NULL: listen addresses */
};

typedef struct {
  PunchIdentify *self;             /* not owned */
  PunchConnection *connection;     /* weak */
  PunchIdentifyInfo *info;         /* what the peer said on this connection */
  GPtrArray *waiters;              /* GTask, waiting for the running identify */
  gboolean running;
  GError *error;                   /* the last identify failed */
} ConnState;

enum {
  SIGNAL_IDENTIFY_RECEIVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (PunchIdentify, punch_identify, G_TYPE_OBJECT)

static GQuark
identify_quark (void)
{
  return g_quark_from_static_string ("punch-identify");
}

static void conn_state_finalized (gpointer data, GObject *where_the_object_was);

static void
conn_state_free (gpointer data)
{
  ConnState *state = data;

  if (state->connection != NULL)
    g_object_weak_unref (G_OBJECT (state->connection), conn_state_finalized, state->self);
  g_clear_pointer (&state->info, punch_identify_info_unref);
  /* Waiters are failed before a state goes; none are left here. */
  g_ptr_array_unref (state->waiters);
  g_clear_error (&state->error);
  g_free (state);
}

static void
fail_waiters (ConnState    *state,
              const GError *error)
{
  g_autoptr(GPtrArray) waiters = g_steal_pointer (&state->waiters);

  state->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < waiters->len; i++)
    g_task_return_error (waiters->pdata[i], g_error_copy (error));
}

/* Forgets @connection; drops its peer's record when it was the peer's
 * last connection. */
static void
forget_connection (PunchIdentify   *self,
                   PunchConnection *connection,
                   gboolean         finalized)
{
  ConnState *state = g_hash_table_lookup (self->connections, connection);
  g_autoptr(PunchPeerId) peer = NULL;
  GHashTableIter iter;
  gpointer value;
  gboolean still_connected = FALSE;

  if (state == NULL)
    return;

  if (!finalized)
    peer = punch_peer_id_ref (punch_connection_get_remote_peer_id (connection));
  else if (state->info != NULL && state->info->peer_id != NULL)
    peer = punch_peer_id_ref (state->info->peer_id);
  if (finalized)
    state->connection = NULL; /* no weak ref left to remove */

  if (state->waiters->len > 0)
    {
      g_autoptr(GError) error = g_error_new (PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                                             "the connection closed before identify finished");

      fail_waiters (state, error);
    }
  g_hash_table_remove (self->connections, connection);

  if (peer == NULL)
    return;
  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, NULL, &value) && !still_connected)
    {
      ConnState *other = value;

      if (other->connection != NULL &&
          punch_peer_id_equal (punch_connection_get_remote_peer_id (other->connection), peer))
        still_connected = TRUE;
    }
  if (!still_connected)
    g_hash_table_remove (self->peers, peer);
}

static void
conn_state_finalized (gpointer  data,
                      GObject  *where_the_object_was)
{
  PunchIdentify *self = data;

  forget_connection (self, (PunchConnection *) where_the_object_was, TRUE);
}

static ConnState *
ensure_conn_state (PunchIdentify   *self,
                   PunchConnection *connection)
{
  ConnState *state = g_hash_table_lookup (self->connections, connection);

  if (state != NULL)
    return state;
  state = g_new0 (ConnState, 1);
  state->self = self;
  state->connection = connection;
  state->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  g_object_weak_ref (G_OBJECT (connection), conn_state_finalized, self);
  g_hash_table_insert (self->connections, connection, state);
  return state;
}

/* A GCancellable cancelled by @parent or after @timeout_ms. */
typedef struct {
  GCancellable *cancellable;
  GCancellable *parent;
  gulong parent_id;
  GSource *timer;
  gboolean timed_out;
} Deadline;

static void
on_parent_cancelled (GCancellable *parent,
                     gpointer      data)
{
  g_cancellable_cancel (data);
}

static gboolean
on_deadline (gpointer data)
{
  Deadline *d = data;

  d->timed_out = TRUE;
  g_cancellable_cancel (d->cancellable);
  g_clear_pointer (&d->timer, g_source_unref);
  return G_SOURCE_REMOVE;
}

static Deadline *
deadline_new (GCancellable *parent,
              guint         timeout_ms)
{
  Deadline *d = g_new0 (Deadline, 1);

  d->cancellable = g_cancellable_new ();
  if (parent != NULL)
    {
      d->parent = g_object_ref (parent);
      d->parent_id = g_cancellable_connect (parent, G_CALLBACK (on_parent_cancelled),
                                            d->cancellable, NULL);
    }
  d->timer = g_timeout_source_new (timeout_ms);
  g_source_set_callback (d->timer, on_deadline, d, NULL);
  g_source_attach (d->timer, g_main_context_get_thread_default ());
  return d;
}

static void
deadline_free (Deadline *d)
{
  if (d->timer != NULL)
    {
      g_source_destroy (d->timer);
      g_source_unref (d->timer);
    }
  if (d->parent != NULL)
    {
      g_cancellable_disconnect (d->parent, d->parent_id);
      g_object_unref (d->parent);
    }
  g_object_unref (d->cancellable);
  g_free (d);
}

/* Turns a cancellation caused by the deadline into a timeout error. */
static void
deadline_fix_error (Deadline    *d,
                    GError     **error,
                    const gchar *what)
{
  if (d->timed_out && g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_error (error);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "%s timed out after %d ms", what, IDENTIFY_TIMEOUT_MS);
    }
}

/* Reading identify messages from a stream, until its end. */

typedef struct {
  PunchStream *stream;
  PunchIdentifyReader *reader;
  Deadline *deadline;
} ReadData;

static void
read_data_free (ReadData *data)
{
  g_clear_object (&data->stream);
  g_clear_pointer (&data->reader, punch_identify_reader_free);
  g_clear_pointer (&data->deadline, deadline_free);
  g_free (data);
}

static void read_next (GTask *task);

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ReadData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  PunchIdentifyInfo *info;

  if (bytes == NULL)
    {
      deadline_fix_error (data->deadline, &error, "identify");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (g_bytes_get_size (bytes) > 0)
    {
      if (!punch_identify_reader_feed (data->reader, g_bytes_get_data (bytes, NULL),
                                       g_bytes_get_size (bytes), &error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      if (!punch_identify_reader_is_full (data->reader))
        {
          read_next (g_steal_pointer (&task));
          return;
        }
    }

  /* The end of the stream, or as many messages as we take. */
  info = punch_identify_reader_finish (data->reader, &error);
  if (info == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, info, (GDestroyNotify) punch_identify_info_unref);
}

static void
read_next (GTask *task)
{
  ReadData *data = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (g_io_stream_get_input_stream (G_IO_STREAM (data->stream)),
                                   IDENTIFY_READ_SIZE, G_PRIORITY_DEFAULT,
                                   data->deadline->cancellable, on_read, task);
}

static void
read_identify_async (PunchStream         *stream,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  GTask *task = g_task_new (stream, cancellable, callback, user_data);
  ReadData *data = g_new0 (ReadData, 1);
  PunchConnection *connection = punch_stream_get_connection (stream);

  g_task_set_source_tag (task, read_identify_async);
  data->stream = g_object_ref (stream);
  data->reader = punch_identify_reader_new (connection != NULL
                                            ? punch_connection_get_remote_peer_id (connection)
                                            : NULL);
  data->deadline = deadline_new (cancellable, IDENTIFY_TIMEOUT_MS);
  g_task_set_task_data (task, data, (GDestroyNotify) read_data_free);
  read_next (task);
}

static PunchIdentifyInfo *
read_identify_finish (PunchStream   *stream,
                      GAsyncResult  *result,
                      GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Writing a record on a stream, then closing it. */

typedef struct {
  PunchStream *stream;
  GBytes *bytes;
  Deadline *deadline;
} WriteData;

static void
write_data_free (WriteData *data)
{
  g_clear_object (&data->stream);
  g_clear_pointer (&data->bytes, g_bytes_unref);
  g_clear_pointer (&data->deadline, deadline_free);
  g_free (data);
}

static void
on_write_closed (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_io_stream_close_finish (G_IO_STREAM (source), result, &error))
    g_debug ("identify: closing the stream: %s", error->message);
  g_task_return_boolean (task, TRUE);
}

static void
on_written (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  WriteData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error) ||
      !punch_stream_close_write (data->stream, &error))
    {
      deadline_fix_error (data->deadline, &error, "identify");
      punch_stream_reset (data->stream);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_io_stream_close_async (G_IO_STREAM (data->stream), G_PRIORITY_DEFAULT,
                           data->deadline->cancellable, on_write_closed,
                           g_steal_pointer (&task));
}

static void
write_identify_async (PunchStream         *stream,
                      GBytes              *bytes,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  GTask *task = g_task_new (stream, cancellable, callback, user_data);
  WriteData *data = g_new0 (WriteData, 1);

  g_task_set_source_tag (task, write_identify_async);
  data->stream = g_object_ref (stream);
  data->bytes = g_bytes_ref (bytes);
  data->deadline = deadline_new (cancellable, IDENTIFY_TIMEOUT_MS);
  g_task_set_task_data (task, data, (GDestroyNotify) write_data_free);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (stream)),
                                   g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                   G_PRIORITY_DEFAULT, data->deadline->cancellable,
                                   on_written, task);
}

static gboolean
write_identify_finish (PunchStream   *stream,
                       GAsyncResult  *result,
                       GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* This host's record, as sent to the peer of @connection (nullable: a
 * push to several peers carries no observed address). */
PunchIdentifyInfo *
punch_identify_build_local_info (PunchIdentify   *self,
                                 PunchConnection *connection)
{
  PunchIdentifyInfo *info = punch_identify_info_new ();
  g_autoptr(GPtrArray) addrs = NULL;
  g_auto(GStrv) protocols = NULL;
  PunchKeypair *keypair;

  g_return_val_if_fail (PUNCH_IS_IDENTIFY (self), info);

  info->protocol_version = g_strdup (PUNCH_IDENTIFY_PROTOCOL_VERSION);
  info->agent_version = g_strdup (PUNCH_AGENT_VERSION);
  if (self->host == NULL)
    return info;

  keypair = punch_host_get_keypair (self->host);
  info->public_key = g_object_ref (punch_keypair_get_public_key (keypair));
  punch_identify_info_set_peer_id (info, punch_host_get_peer_id (self->host));

  /* An unspecified address (0.0.0.0, ::) is not one a peer can dial:
   * it is not announced. */
  addrs = self->advertised != NULL ? g_ptr_array_ref (self->advertised) :
                                      punch_host_get_listen_addresses (self->host);
  for (guint i = 0; addrs != NULL && i < addrs->len; i++)
    {
      g_autoptr(GInetAddress) ip = punch_multiaddr_get_inet_address (addrs->pdata[i]);

      if (ip != NULL && g_inet_address_get_is_any (ip))
        continue;
      punch_identify_info_add_listen_addr (info, addrs->pdata[i]);
    }

  protocols = punch_host_get_protocols (self->host);
  for (guint i = 0; protocols != NULL && protocols[i] != NULL; i++)
    punch_identify_info_add_protocol (info, protocols[i]);

  if (connection != NULL)
    {
      PunchMultiaddr *remote = punch_connection_get_remote_address (connection);

      /* identify/README.md: the observed address is the connection's
       * source address; a relayed connection has none worth telling. */
      if (remote != NULL &&
          punch_multiaddr_find_protocol (remote, PUNCH_MULTIADDR_PROTOCOL_P2P_CIRCUIT) < 0)
        {
          PunchMultiaddr *bare = punch_multiaddr_decapsulate_protocol (remote, PUNCH_MULTIADDR_PROTOCOL_P2P);

          info->observed_addr = bare;
        }
    }
  return info;
}

/* Responder: /ipfs/id/1.0.0 */

static void
on_response_written (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!write_identify_finish (PUNCH_STREAM (source), result, &error))
    g_debug ("identify: answering failed: %s", error->message);
  g_object_unref (user_data); /* the PunchIdentify, kept while answering */
}

static void
handle_identify (PunchHost   *host,
                 PunchStream *stream,
                 gpointer     user_data)
{
  PunchIdentify *self = user_data;
  g_autoptr(PunchIdentifyInfo) info = punch_identify_build_local_info (self, punch_stream_get_connection (stream));
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = punch_identify_info_encode (info, &error);

  if (bytes == NULL)
    {
      g_debug ("identify: cannot encode our record: %s", error->message);
      punch_stream_reset (stream);
      return;
    }
  write_identify_async (stream, bytes, self->cancellable, on_response_written,
                        g_object_ref (self));
}

/* Requester */

static void
record_observation (PunchIdentify     *self,
                    PunchConnection   *connection,
                    PunchIdentifyInfo *info)
{
  PunchMultiaddr *local = punch_connection_get_local_address (connection);
  PunchMultiaddr *remote = punch_connection_get_remote_address (connection);
  g_autofree gchar *observer = NULL;

  if (info->observed_addr == NULL || local == NULL)
    return;
  observer = punch_observed_addrs_observer_key (remote, punch_connection_get_remote_peer_id (connection));
  if (punch_observed_addrs_record (self->observed, local, info->observed_addr, observer,
                                   g_get_monotonic_time ()))
    {
      g_autofree gchar *text = punch_multiaddr_to_string (info->observed_addr);

      g_debug ("identify: %s observed us at %s", observer, text);
    }
}

/* Stores what a peer said, on @connection and for the peer. */
static PunchIdentifyInfo *
store_info (PunchIdentify     *self,
            PunchConnection   *connection,
            PunchIdentifyInfo *received,
            gboolean           is_push)
{
  ConnState *state = ensure_conn_state (self, connection);
  PunchPeerId *peer = punch_connection_get_remote_peer_id (connection);
  PunchIdentifyInfo *peer_info = g_hash_table_lookup (self->peers, peer);

  if (state->info == NULL || !is_push)
    {
      g_clear_pointer (&state->info, punch_identify_info_unref);
      state->info = punch_identify_info_ref (received);
    }
  else
    {
      /* A push updates the record in place: copy, then apply. */
      PunchIdentifyInfo *updated = punch_identify_info_copy (state->info);

      punch_identify_info_apply_update (updated, received);
      punch_identify_info_unref (state->info);
      state->info = updated;
    }

  if (peer_info == NULL)
    peer_info = punch_identify_info_copy (state->info);
  else
    {
      peer_info = punch_identify_info_copy (peer_info);
      punch_identify_info_apply_update (peer_info, received);
    }
  punch_identify_info_set_peer_id (peer_info, peer);
  g_hash_table_replace (self->peers, punch_peer_id_ref (peer), peer_info);
  return state->info;
}

static void
on_identify_read (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(PunchIdentify) self = user_data;
  PunchStream *stream = PUNCH_STREAM (source);
  g_autoptr(PunchConnection) connection = g_object_ref (punch_stream_get_connection (stream));
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchIdentifyInfo) received = read_identify_finish (stream, result, &error);
  ConnState *state = g_hash_table_lookup (self->connections, connection);
  g_autoptr(GPtrArray) waiters = NULL;
  PunchIdentifyInfo *info;

  if (received == NULL)
    punch_stream_reset (stream);
  else
    g_io_stream_close_async (G_IO_STREAM (stream), G_PRIORITY_DEFAULT, NULL, NULL, NULL);

  if (state == NULL)
    return; /* the connection went away meanwhile */
  state->running = FALSE;

  if (received == NULL)
    {
      g_debug ("identify: failed: %s", error->message);
      g_clear_error (&state->error);
      state->error = g_error_copy (error);
      fail_waiters (state, error);
      if (g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH))
        punch_connection_close (connection);
      return;
    }

  g_clear_error (&state->error);
  record_observation (self, connection, received);
  info = store_info (self, connection, received, FALSE);

  waiters = g_steal_pointer (&state->waiters);
  state->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < waiters->len; i++)
    g_task_return_pointer (waiters->pdata[i], punch_identify_info_ref (info),
                           (GDestroyNotify) punch_identify_info_unref);

  g_signal_emit (self, signals[SIGNAL_IDENTIFY_RECEIVED], 0, connection, info);
}

static void
on_identify_stream (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(PunchIdentify) self = user_data;
  PunchConnection *connection = PUNCH_CONNECTION (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) stream = punch_connection_open_stream_finish (connection, result, &error);
  ConnState *state;

  if (stream != NULL)
    {
      read_identify_async (stream, self->cancellable, on_identify_read, g_object_ref (self));
      return;
    }

  g_debug ("identify: cannot open a stream: %s", error->message);
  state = g_hash_table_lookup (self->connections, connection);
  if (state == NULL)
    return;
  state->running = FALSE;
  g_clear_error (&state->error);
  state->error = g_error_copy (error);
  fail_waiters (state, error);
}

static void
start_identify (PunchIdentify   *self,
                PunchConnection *connection)
{
  static const gchar * const protocols[] = { PUNCH_IDENTIFY_PROTOCOL_ID, NULL };
  ConnState *state = ensure_conn_state (self, connection);

  if (state->running)
    return;
  state->running = TRUE;
  punch_connection_open_stream_async (connection, protocols, self->cancellable,
                                      on_identify_stream, g_object_ref (self));
}

/* Push: /ipfs/id/push/1.0.0 */

static void
on_push_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(PunchIdentify) self = user_data;
  PunchStream *stream = PUNCH_STREAM (source);
  PunchConnection *connection = punch_stream_get_connection (stream);
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchIdentifyInfo) received = read_identify_finish (stream, result, &error);
  PunchIdentifyInfo *info;

  if (received == NULL)
    {
      g_debug ("identify push: refused: %s", error->message);
      punch_stream_reset (stream);
      if (connection != NULL && g_error_matches (error, PUNCH_ERROR, PUNCH_ERROR_PEER_ID_MISMATCH))
        punch_connection_close (connection);
      return;
    }
  g_io_stream_close_async (G_IO_STREAM (stream), G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  if (connection == NULL || punch_connection_is_closed (connection) || self->host == NULL)
    return;

  /* A pushed observed address says nothing about this connection's
   * mapping that identify did not; it is not counted. */
  info = store_info (self, connection, received, TRUE);
  g_signal_emit (self, signals[SIGNAL_IDENTIFY_RECEIVED], 0, connection, info);
}

static void
handle_push (PunchHost   *host,
             PunchStream *stream,
             gpointer     user_data)
{
  PunchIdentify *self = user_data;

  read_identify_async (stream, self->cancellable, on_push_read, g_object_ref (self));
}

static void
on_push_written (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!write_identify_finish (PUNCH_STREAM (source), result, &error))
    g_debug ("identify push: failed: %s", error->message);
}

static void
on_push_stream (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GBytes) bytes = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PunchStream) stream = punch_connection_open_stream_finish (PUNCH_CONNECTION (source),
                                                                       result, &error);

  if (stream == NULL)
    {
      g_debug ("identify push: cannot open a stream: %s", error->message);
      return;
    }
  write_identify_async (stream, bytes, NULL, on_push_written, NULL);
}

/**
 * punch_identify_set_advertised_addresses:
 * @self: a #PunchIdentify
 * @addresses: (nullable) (element-type Punch.Multiaddr): the addresses to
 *   announce as listen addresses, or %NULL for the host's listen addresses
 *
 * Sets what identify announces as this host's listen addresses (a
 * [class@Punch.Agent] behind a NAT announces only what AutoNAT confirmed,
 * and its relayed addresses). Connected peers get an identify push if the
 * list changed.
 *
 * Since: 0.1
 */
void
punch_identify_set_advertised_addresses (PunchIdentify *self,
                                         GPtrArray     *addresses)
{
  gboolean same;

  g_return_if_fail (PUNCH_IS_IDENTIFY (self));

  same = (addresses == NULL && self->advertised == NULL) ||
         (addresses != NULL && self->advertised != NULL && addresses->len == self->advertised->len);
  for (guint i = 0; same && addresses != NULL && i < addresses->len; i++)
    same = punch_multiaddr_equal (g_ptr_array_index (addresses, i),
                                  g_ptr_array_index (self->advertised, i));
  if (same)
    return;
  g_clear_pointer (&self->advertised, g_ptr_array_unref);
  if (addresses != NULL)
    {
      self->advertised = g_ptr_array_new_with_free_func ((GDestroyNotify) punch_multiaddr_unref);
      for (guint i = 0; i < addresses->len; i++)
        g_ptr_array_add (self->advertised, punch_multiaddr_ref (g_ptr_array_index (addresses, i)));
    }
  punch_identify_schedule_push (self);
}

/**
 * punch_identify_push:
 * @self: a #PunchIdentify
 *
 * Sends this host's record (listen addresses, protocols, versions, key)
 * with identify push to every connected peer that announced
 * `/ipfs/id/push/1.0.0`. Punch calls it when the host's listen addresses
 * or protocols change (as far as the host reports such changes);
 * applications may call it after changing something a peer should know.
 *
 * Since: 0.1
 */
void
punch_identify_push (PunchIdentify *self)
{
  static const gchar * const protocols[] = { PUNCH_IDENTIFY_PUSH_PROTOCOL_ID, NULL };
  g_autoptr(PunchIdentifyInfo) info = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  GHashTableIter iter;
  gpointer key, value;

  g_return_if_fail (PUNCH_IS_IDENTIFY (self));

  g_clear_handle_id (&self->push_source_id, g_source_remove);
  if (self->host == NULL)
    return;

  info = punch_identify_build_local_info (self, NULL);
  bytes = punch_identify_info_encode (info, &error);
  if (bytes == NULL)
    {
      g_debug ("identify push: cannot encode our record: %s", error->message);
      return;
    }

  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      ConnState *state = value;

      if (state->connection == NULL || punch_connection_is_closed (state->connection) ||
          state->info == NULL ||
          !punch_identify_info_has_protocol (state->info, PUNCH_IDENTIFY_PUSH_PROTOCOL_ID))
        continue;
      punch_connection_open_stream_async (state->connection, protocols, self->cancellable,
                                          on_push_stream, g_bytes_ref (bytes));
    }
}

static gboolean
on_push_timeout (gpointer data)
{
  PunchIdentify *self = data;

  self->push_source_id = 0;
  punch_identify_push (self);
  return G_SOURCE_REMOVE;
}

/* Something peers know of us changed: push soon. */
void
punch_identify_schedule_push (PunchIdentify *self)
{
  g_return_if_fail (PUNCH_IS_IDENTIFY (self));

  if (self->push_source_id != 0)
    return;
  self->push_source_id = g_timeout_add (PUSH_DELAY_MS, on_push_timeout, self);
}


/* Connections */

static void
on_connection_opened (PunchHost       *host,
                      PunchConnection *connection,
                      gpointer         user_data)
{
  start_identify (user_data, connection);
}

static void
on_connection_closed (PunchHost       *host,
                      PunchConnection *connection,
                      gpointer         reason,
                      gpointer         user_data)
{
  forget_connection (user_data, connection, FALSE);
}

/**
 * punch_identify_identify_async:
 * @self: a #PunchIdentify
 * @connection: a connection of the host
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the remote peer's record is known
 * @user_data: (closure): data for @callback
 *
 * Gets what the peer of @connection says about itself. Identify runs on
 * every connection as soon as it opens; this waits for that exchange (or
 * returns its result at once), and starts a new one if the last one
 * failed.
 *
 * Since: 0.1
 */
void
punch_identify_identify_async (PunchIdentify       *self,
                               PunchConnection     *connection,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ConnState *state;

  g_return_if_fail (PUNCH_IS_IDENTIFY (self));
  g_return_if_fail (PUNCH_IS_CONNECTION (connection));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, punch_identify_identify_async);
  g_task_set_return_on_cancel (task, TRUE);

  if (punch_connection_is_closed (connection) || self->host == NULL)
    {
      g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                               "the connection is closed");
      return;
    }

  state = ensure_conn_state (self, connection);
  if (state->info != NULL && !state->running)
    {
      g_task_return_pointer (task, punch_identify_info_ref (state->info),
                             (GDestroyNotify) punch_identify_info_unref);
      return;
    }
  g_ptr_array_add (state->waiters, g_steal_pointer (&task));
  start_identify (self, connection);
}

/**
 * punch_identify_identify_finish:
 * @self: a #PunchIdentify
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Errors: %PUNCH_ERROR_CLOSED if the connection closed first;
 * %PUNCH_ERROR_PEER_ID_MISMATCH if the peer sent another peer's key
 * (the connection is then closed); %PUNCH_ERROR_MALFORMED,
 * %PUNCH_ERROR_TOO_LARGE, %PUNCH_ERROR_TRUNCATED, %PUNCH_ERROR_PROTOCOL
 * for bad messages; %G_IO_ERROR_TIMED_OUT after ten seconds; errors of
 * [method@Punch.Connection.open_stream_async] (such as a peer that does
 * not speak identify); %G_IO_ERROR_CANCELLED.
 *
 * Returns: (transfer full): what the peer said on the connection
 *
 * Since: 0.1
 */
PunchIdentifyInfo *
punch_identify_identify_finish (PunchIdentify  *self,
                                GAsyncResult   *result,
                                GError        **error)
{
  g_return_val_if_fail (PUNCH_IS_IDENTIFY (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * punch_identify_get_connection_info:
 * @self: a #PunchIdentify
 * @connection: a connection of the host
 *
 * Gets what the peer of @connection said about itself on it.
 *
 * Returns: (transfer full) (nullable): what the peer said on
 *   @connection (identify, then pushes), or %NULL before identify
 *   finished
 *
 * Since: 0.1
 */
PunchIdentifyInfo *
punch_identify_get_connection_info (PunchIdentify   *self,
                                    PunchConnection *connection)
{
  ConnState *state;

  g_return_val_if_fail (PUNCH_IS_IDENTIFY (self), NULL);
  g_return_val_if_fail (PUNCH_IS_CONNECTION (connection), NULL);

  state = g_hash_table_lookup (self->connections, connection);
  return state != NULL && state->info != NULL ? punch_identify_info_ref (state->info) : NULL;
}

/**
 * punch_identify_get_peer_info:
 * @self: a #PunchIdentify
 * @peer_id: a peer
 *
 * Gets the latest record of a connected peer.
 *
 * Returns: (transfer full) (nullable): the latest record of @peer_id
 *   (identify on any of its connections, then pushes), or %NULL if no
 *   connection to it was identified; records are dropped with the peer's
 *   last connection
 *
 * Since: 0.1
 */
PunchIdentifyInfo *
punch_identify_get_peer_info (PunchIdentify *self,
                              PunchPeerId   *peer_id)
{
  PunchIdentifyInfo *info;

  g_return_val_if_fail (PUNCH_IS_IDENTIFY (self), NULL);
  g_return_val_if_fail (peer_id != NULL, NULL);

  info = g_hash_table_lookup (self->peers, peer_id);
  return info != NULL ? punch_identify_info_ref (info) : NULL;
}

/**
 * punch_identify_get_observed_addresses:
 * @self: a #PunchIdentify
 * @min_observers: how many distinct observers (IPv4 addresses, IPv6 /56
 *   networks) must have reported an address within the last 30 minutes
 *
 * The addresses remote peers saw this host at, as they reported in
 * identify's observedAddr; only those of the same shape as the local
 * address of the connection they came over (same IP version and
 * transport). With a NAT these are the mappings it made; AutoNAT decides
 * whether they are reachable.
 *
 * Returns: (transfer container) (element-type Punch.Multiaddr): the addresses,
 *   most observers first
 *
 * Since: 0.1
 */
GPtrArray *
punch_identify_get_observed_addresses (PunchIdentify *self,
                                       guint          min_observers)
{
  g_return_val_if_fail (PUNCH_IS_IDENTIFY (self), NULL);

  return punch_observed_addrs_get (self->observed, NULL, min_observers,
                                   g_get_monotonic_time ());
}

/* The table itself, for AutoNAT and DCUtR. */
PunchObservedAddrs *
punch_identify_get_observed_table (PunchIdentify *self)
{
  g_return_val_if_fail (PUNCH_IS_IDENTIFY (self), NULL);
  return self->observed;
}

/**
 * punch_identify_get_host:
 * @self: a #PunchIdentify
 *
 * Gets the host this identify service belongs to.
 *
 * Returns: (transfer none) (nullable): the host, %NULL once it is gone
 *
 * Since: 0.1
 */
PunchHost *
punch_identify_get_host (PunchIdentify *self)
{
  g_return_val_if_fail (PUNCH_IS_IDENTIFY (self), NULL);
  return self->host;
}

static void
on_host_finalized (gpointer  data,
                   GObject  *where_the_host_was)
{
  PunchIdentify *self = data;

  self->host = NULL;
}

static void
identify_detach (PunchIdentify *self)
{
  g_clear_handle_id (&self->push_source_id, g_source_remove);
  if (self->host != NULL)
    {
      g_clear_signal_handler (&self->opened_id, self->host);
      g_clear_signal_handler (&self->closed_id, self->host);
      g_signal_handlers_disconnect_by_data (self->host, self);
      g_object_weak_unref (G_OBJECT (self->host), on_host_finalized, self);
      self->host = NULL;
    }
}

/* The host's qdata goes: the host is being finalized. */
static void
identify_release (gpointer data)
{
  PunchIdentify *self = data;

  /* Signal handlers of a finalizing host are gone already; the weak
   * reference too is being notified or was. */
  self->opened_id = 0;
  self->closed_id = 0;
  if (self->host != NULL)
    {
      g_object_weak_unref (G_OBJECT (self->host), on_host_finalized, self);
      self->host = NULL;
    }
  g_cancellable_cancel (self->cancellable);
  g_object_unref (self);
}

/**
 * punch_identify_get_for_host:
 * @host: a #PunchHost
 *
 * Gets the identify service of @host, making it on first use: it then
 * registers the `/ipfs/id/1.0.0` and `/ipfs/id/push/1.0.0` handlers and
 * identifies every connection, the open ones included.
 *
 * Returns: (transfer none): the host's identify service, alive as long
 *   as the host
 *
 * Since: 0.1
 */
PunchIdentify *
punch_identify_get_for_host (PunchHost *host)
{
  PunchIdentify *self;
  g_autoptr(GPtrArray) open = NULL;

  g_return_val_if_fail (PUNCH_IS_HOST (host), NULL);

  self = g_object_get_qdata (G_OBJECT (host), identify_quark ());
  if (self != NULL)
    return self;

  self = g_object_new (PUNCH_TYPE_IDENTIFY, NULL);
  self->host = host;
  g_object_weak_ref (G_OBJECT (host), on_host_finalized, self);
  g_object_set_qdata_full (G_OBJECT (host), identify_quark (), self, identify_release);

  punch_host_set_stream_handler (host, PUNCH_IDENTIFY_PROTOCOL_ID, handle_identify, self, NULL);
  punch_host_set_stream_handler (host, PUNCH_IDENTIFY_PUSH_PROTOCOL_ID, handle_push, self, NULL);

  self->opened_id = g_signal_connect (host, "connection-opened",
                                      G_CALLBACK (on_connection_opened), self);
  self->closed_id = g_signal_connect (host, "connection-closed",
                                      G_CALLBACK (on_connection_closed), self);
  /* Push when what peers know of us changes. */
  g_signal_connect_swapped (host, "listen-addresses-changed",
                            G_CALLBACK (punch_identify_schedule_push), self);
  g_signal_connect_swapped (host, "protocols-changed",
                            G_CALLBACK (punch_identify_schedule_push), self);

  open = punch_host_get_connections (host, NULL);
  for (guint i = 0; open != NULL && i < open->len; i++)
    if (!punch_connection_is_closed (open->pdata[i]))
      start_identify (self, open->pdata[i]);

  return self;
}

static void
punch_identify_dispose (GObject *object)
{
  PunchIdentify *self = PUNCH_IDENTIFY (object);

  g_cancellable_cancel (self->cancellable);
  identify_detach (self);
  if (self->connections != NULL)
    {
      GHashTableIter iter;
      gpointer value;
      g_autoptr(GError) error = g_error_new (PUNCH_ERROR, PUNCH_ERROR_CLOSED, "identify is shut down");

      g_hash_table_iter_init (&iter, self->connections);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        fail_waiters (value, error);
    }
  g_clear_pointer (&self->connections, g_hash_table_unref);
  g_clear_pointer (&self->peers, g_hash_table_unref);

  G_OBJECT_CLASS (punch_identify_parent_class)->dispose (object);
}

static void
punch_identify_finalize (GObject *object)
{
  PunchIdentify *self = PUNCH_IDENTIFY (object);

  g_clear_pointer (&self->observed, punch_observed_addrs_free);
  g_clear_pointer (&self->advertised, g_ptr_array_unref);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (punch_identify_parent_class)->finalize (object);
}

static void
punch_identify_class_init (PunchIdentifyClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = punch_identify_dispose;
  object_class->finalize = punch_identify_finalize;

  /**
   * PunchIdentify::identify-received:
   * @self: the identify service
   * @connection: the connection the record came over
   * @info: what the peer of @connection has said on it so far (identify,
   *   with the pushes since applied)
   *
   * Emitted when identify on a connection finished, and for every
   * identify push received.
   *
   * Since: 0.1
   */
  signals[SIGNAL_IDENTIFY_RECEIVED] =
    g_signal_new ("identify-received", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                  PUNCH_TYPE_CONNECTION,
                  PUNCH_TYPE_IDENTIFY_INFO | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
punch_identify_init (PunchIdentify *self)
{
  self->connections = g_hash_table_new_full (NULL, NULL, NULL, conn_state_free);
  self->peers = g_hash_table_new_full (punch_peer_id_hash, punch_peer_id_equal,
                                       (GDestroyNotify) punch_peer_id_unref,
                                       (GDestroyNotify) punch_identify_info_unref);
  self->observed = punch_observed_addrs_new ();
  self->cancellable = g_cancellable_new ();
}
