/* punch-stream.c: a yamux stream of a libp2p connection, as a GIOStream.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-stream-private.h"

#include <string.h>

#include "punch-connection-private.h"
#include "punch-enum-types.h"
#include "punch-error.h"

/**
 * PunchStream:
 *
 * A stream of a [class@Punch.Connection]: a yamux stream whose protocol was
 * negotiated with multistream-select. It is a [class@Gio.IOStream]: read
 * it with [method@Gio.InputStream.read_async], write it with
 * [method@Gio.OutputStream.write_all_async], splice it with
 * [method@Gio.IOStream.splice_async].
 *
 * Its input and output streams are [iface@Gio.PollableInputStream] and
 * [iface@Gio.PollableOutputStream], so GIO's asynchronous operations run on
 * the host's [struct@GLib.MainContext] without threads. Like the rest of
 * Punch, a stream must be used from the thread of that context. The
 * blocking [method@Gio.InputStream.read] and [method@Gio.OutputStream.write]
 * never block: they return what they can, or fail with
 * %G_IO_ERROR_WOULD_BLOCK (blocking the only thread that moves the
 * connection's bytes would deadlock).
 *
 * Flow control is yamux's: a peer may send at most one window (256 KiB at
 * first, growing while the reader keeps up) that has not been read, so a
 * stream that is not read stops its writer without buffering more.
 *
 * [method@Gio.OutputStream.close] (or [method@Punch.Stream.close_write])
 * half-closes the stream: the peer reads the end of the stream, and can
 * still write. [method@Gio.IOStream.close] also closes the input: what the
 * peer still sends is discarded. [method@Punch.Stream.reset] aborts the
 * stream in both directions: the peer's reads and writes fail with
 * %G_IO_ERROR_CONNECTION_CLOSED. When the connection closes, operations
 * fail with %PUNCH_ERROR_CLOSED.
 *
 * Dropping the last reference closes the stream like
 * [method@Gio.IOStream.close].
 *
 * Since: 0.1
 */

enum {
  PROP_0,
  PROP_CONNECTION,
  PROP_PROTOCOL,
  PROP_DIRECTION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (PunchStream, punch_stream, G_TYPE_IO_STREAM)

/* The input and output sides: GIOStream hands these out. */
#define PUNCH_TYPE_STREAM_INPUT (punch_stream_input_get_type ())
G_DECLARE_FINAL_TYPE (PunchStreamInput, punch_stream_input, PUNCH, STREAM_INPUT, GInputStream)

struct _PunchStreamInput {
  GInputStream parent_instance;
  PunchStream *owner;           /* not owned; NULL once it is disposed */
};

#define PUNCH_TYPE_STREAM_OUTPUT (punch_stream_output_get_type ())
G_DECLARE_FINAL_TYPE (PunchStreamOutput, punch_stream_output, PUNCH, STREAM_OUTPUT, GOutputStream)

struct _PunchStreamOutput {
  GOutputStream parent_instance;
  PunchStream *owner;           /* not owned; NULL once it is disposed */
};

/* ------------------------------------------------------------------ */
/* State shared by the input and output sides                         */
/* ------------------------------------------------------------------ */

/* Whether the stream can no longer carry data, and why. */
static gboolean
stream_failed (PunchStream  *self,
               GError      **error)
{
  if (self->error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->error));
      return TRUE;
    }
  if (self->reset)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                           self->reset_by_peer ? "The stream was reset by the peer"
                                               : "The stream was reset");
      return TRUE;
    }
  return FALSE;
}

static PunchYamuxSession *
stream_get_yamux (PunchStream  *self,
                  GError      **error)
{
  PunchYamuxSession *yamux = punch_connection_get_yamux (self->connection);

  if (yamux == NULL)
    g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                         "The connection is closed");
  return yamux;
}

static gboolean
stream_is_readable (PunchStream *self)
{
  PunchYamuxSession *yamux;

  if (self == NULL || self->read_closed || self->error != NULL || self->reset ||
      self->read_eof || self->pending != NULL)
    return TRUE;

  yamux = punch_connection_get_yamux (self->connection);
  if (yamux == NULL || punch_yamux_session_get_readable (yamux, self->id) > 0)
    return TRUE;

  switch (punch_yamux_session_get_stream_state (yamux, self->id))
    {
    case PUNCH_YAMUX_STREAM_STATE_REMOTE_CLOSED:
    case PUNCH_YAMUX_STREAM_STATE_CLOSED:
    case PUNCH_YAMUX_STREAM_STATE_RESET:
    case PUNCH_YAMUX_STREAM_STATE_NONE:
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
stream_is_writable (PunchStream *self)
{
  PunchYamuxSession *yamux;

  if (self == NULL || self->write_closed || self->error != NULL || self->reset)
    return TRUE;

  yamux = punch_connection_get_yamux (self->connection);
  if (yamux == NULL)
    return TRUE;
  if (self->negotiation_output != NULL && self->negotiation_output->len > 0)
    return FALSE;

  switch (punch_yamux_session_get_stream_state (yamux, self->id))
    {
    case PUNCH_YAMUX_STREAM_STATE_NONE:
    case PUNCH_YAMUX_STREAM_STATE_RESET:
      return TRUE;
    default:
      break;
    }

  return punch_yamux_session_get_send_window (yamux, self->id) > 0 &&
         punch_yamux_session_get_output_size (yamux) < PUNCH_CONNECTION_YAMUX_MAX_OUTPUT;
}

static gssize
stream_read (PunchStream  *self,
             guint8       *buffer,
             gsize         count,
             GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  PunchYamuxSession *yamux;
  gboolean eof = FALSE;
  gssize n;

  if (self == NULL || self->read_closed)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "The stream is closed");
      return -1;
    }
  if (stream_failed (self, error))
    return -1;

  if (self->pending != NULL)
    {
      gsize size;
      const guint8 *data = g_bytes_get_data (self->pending, &size);

      n = (gssize) MIN (MIN (count, size - self->pending_offset), G_MAXSSIZE);
      memcpy (buffer, data + self->pending_offset, n);
      self->pending_offset += n;
      if (self->pending_offset == size)
        {
          g_clear_pointer (&self->pending, g_bytes_unref);
          self->pending_offset = 0;
        }
      return n;
    }

  if (self->read_eof || count == 0)
    return 0;

  yamux = stream_get_yamux (self, error);
  if (yamux == NULL)
    return -1;

  n = punch_yamux_session_read (yamux, self->id, buffer, MIN (count, G_MAXSSIZE),
                                &eof, &local_error);
  if (n < 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                           local_error->message);
      return -1;
    }
  if (eof)
    self->read_eof = TRUE;
  if (n > 0 || eof)
    {
      /* A window update or the stream's release may be due. */
      punch_connection_schedule_flush (self->connection);
      return n;
    }

  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
                       "No data to read on the stream yet");
  return -1;
}

static gssize
stream_write (PunchStream   *self,
              const guint8  *buffer,
              gsize          count,
              GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  PunchYamuxSession *yamux;
  gssize n;

  if (self == NULL || self->write_closed)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                           "The stream is closed for writing");
      return -1;
    }
  if (stream_failed (self, error))
    return -1;
  yamux = stream_get_yamux (self, error);
  if (yamux == NULL)
    return -1;
  if (count == 0)
    return 0;

  if (self->negotiation_output != NULL && self->negotiation_output->len > 0)
    {
      if (!punch_connection_write_negotiation (self->connection, self, error))
        return -1;
      if (self->negotiation_output->len > 0)
        goto would_block;
    }

  n = punch_yamux_session_write (yamux, self->id, buffer, MIN (count, G_MAXSSIZE),
                                 &local_error);
  if (n < 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                           local_error->message);
      return -1;
    }
  if (n > 0)
    {
      punch_connection_schedule_flush (self->connection);
      return n;
    }

would_block:
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
                       "The stream's send window or the connection's output is full");
  return -1;
}

/* A child source of a GPollableSource that is ready while the stream is
 * readable (or writable): level-triggered, checked at every main loop
 * iteration. The state only changes in callbacks of the same context. */
typedef struct {
  GSource source;
  GObject *stream;    /* the PunchStreamInput or PunchStreamOutput */
  gboolean output;
} ReadySource;

static gboolean
ready_source_check (GSource *source)
{
  ReadySource *ready = (ReadySource *) source;
  PunchStream *stream;

  if (ready->output)
    stream = PUNCH_STREAM_OUTPUT (ready->stream)->owner;
  else
    stream = PUNCH_STREAM_INPUT (ready->stream)->owner;
  return ready->output ? stream_is_writable (stream) : stream_is_readable (stream);
}

static gboolean
ready_source_prepare (GSource *source,
                      gint    *timeout)
{
  *timeout = -1;
  return ready_source_check (source);
}

static gboolean
ready_source_dispatch (GSource     *source,
                       GSourceFunc  callback,
                       gpointer     user_data)
{
  /* The parent GPollableSource calls the user's callback. */
  if (callback != NULL)
    return callback (user_data);
  return G_SOURCE_CONTINUE;
}

static void
ready_source_finalize (GSource *source)
{
  ReadySource *ready = (ReadySource *) source;

  g_clear_object (&ready->stream);
}

/* g_pollable_source_new_full() gives its child a dummy closure. */
static gboolean
ready_source_closure_callback (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs ready_source_funcs = {
  ready_source_prepare,
  ready_source_check,
  ready_source_dispatch,
  ready_source_finalize,
  ready_source_closure_callback,
  NULL,
};

static GSource *
ready_source_new (GObject      *stream,
                  gboolean      output,
                  GCancellable *cancellable)
{
  ReadySource *ready = (ReadySource *) g_source_new (&ready_source_funcs, sizeof (ReadySource));
  GSource *source;

  ready->stream = g_object_ref (stream);
  ready->output = output;
  g_source_set_static_name ((GSource *) ready, output ? "PunchStream output" : "PunchStream input");

  source = g_pollable_source_new_full (stream, (GSource *) ready, cancellable);
  g_source_unref ((GSource *) ready);
  return source;
}

/* ------------------------------------------------------------------ */
/* Input                                                              */
/* ------------------------------------------------------------------ */

static void punch_stream_input_pollable_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PunchStreamInput, punch_stream_input, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      punch_stream_input_pollable_init))

static gssize
punch_stream_input_read_nonblocking (GPollableInputStream  *stream,
                                     void                  *buffer,
                                     gsize                  count,
                                     GError               **error)
{
  return stream_read (PUNCH_STREAM_INPUT (stream)->owner, buffer, count, error);
}

static gboolean
punch_stream_input_is_readable (GPollableInputStream *stream)
{
  return stream_is_readable (PUNCH_STREAM_INPUT (stream)->owner);
}

static GSource *
punch_stream_input_create_source (GPollableInputStream *stream,
                                  GCancellable         *cancellable)
{
  return ready_source_new (G_OBJECT (stream), FALSE, cancellable);
}

static gboolean
punch_stream_input_can_poll (GPollableInputStream *stream)
{
  return TRUE;
}

static void
punch_stream_input_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = punch_stream_input_can_poll;
  iface->is_readable = punch_stream_input_is_readable;
  iface->create_source = punch_stream_input_create_source;
  iface->read_nonblocking = punch_stream_input_read_nonblocking;
}

/* Synchronous reads never block (see the class documentation). */
static gssize
punch_stream_input_read (GInputStream  *stream,
                         void          *buffer,
                         gsize          count,
                         GCancellable  *cancellable,
                         GError       **error)
{
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return -1;
  return stream_read (PUNCH_STREAM_INPUT (stream)->owner, buffer, count, error);
}

static gboolean
punch_stream_input_close (GInputStream  *stream,
                          GCancellable  *cancellable,
                          GError       **error)
{
  PunchStream *self = PUNCH_STREAM_INPUT (stream)->owner;

  if (self == NULL || self->read_closed)
    return TRUE;

  self->read_closed = TRUE;
  g_clear_pointer (&self->pending, g_bytes_unref);
  if (self->in_table && !self->reset && self->error == NULL)
    punch_connection_discard_input (self->connection, self->id);
  return TRUE;
}

/* Closing never waits: no thread (GInputStream's default would use one). */
static void
punch_stream_input_close_async (GInputStream        *stream,
                                int                  io_priority,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (stream, cancellable, callback, user_data);
  GError *error = NULL;

  g_task_set_source_tag (task, punch_stream_input_close_async);
  if (punch_stream_input_close (stream, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
punch_stream_input_close_finish (GInputStream  *stream,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
punch_stream_input_class_init (PunchStreamInputClass *klass)
{
  GInputStreamClass *input_class = G_INPUT_STREAM_CLASS (klass);

  input_class->read_fn = punch_stream_input_read;
  input_class->close_fn = punch_stream_input_close;
  input_class->close_async = punch_stream_input_close_async;
  input_class->close_finish = punch_stream_input_close_finish;
}

static void
punch_stream_input_init (PunchStreamInput *self)
{
}

/* ------------------------------------------------------------------ */
/* Output                                                             */
/* ------------------------------------------------------------------ */

static void punch_stream_output_pollable_init (GPollableOutputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PunchStreamOutput, punch_stream_output, G_TYPE_OUTPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM,
                                                      punch_stream_output_pollable_init))

static gssize
punch_stream_output_write_nonblocking (GPollableOutputStream  *stream,
                                       const void             *buffer,
                                       gsize                   count,
                                       GError                **error)
{
  return stream_write (PUNCH_STREAM_OUTPUT (stream)->owner, buffer, count, error);
}

static gboolean
punch_stream_output_is_writable (GPollableOutputStream *stream)
{
  return stream_is_writable (PUNCH_STREAM_OUTPUT (stream)->owner);
}

static GSource *
punch_stream_output_create_source (GPollableOutputStream *stream,
                                   GCancellable          *cancellable)
{
  return ready_source_new (G_OBJECT (stream), TRUE, cancellable);
}

static gboolean
punch_stream_output_can_poll (GPollableOutputStream *stream)
{
  return TRUE;
}

static void
punch_stream_output_pollable_init (GPollableOutputStreamInterface *iface)
{
  iface->can_poll = punch_stream_output_can_poll;
  iface->is_writable = punch_stream_output_is_writable;
  iface->create_source = punch_stream_output_create_source;
  iface->write_nonblocking = punch_stream_output_write_nonblocking;
}

static gssize
punch_stream_output_write (GOutputStream  *stream,
                           const void     *buffer,
                           gsize           count,
                           GCancellable   *cancellable,
                           GError        **error)
{
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return -1;
  return stream_write (PUNCH_STREAM_OUTPUT (stream)->owner, buffer, count, error);
}

static gboolean
punch_stream_output_close (GOutputStream  *stream,
                           GCancellable   *cancellable,
                           GError        **error)
{
  PunchStream *self = PUNCH_STREAM_OUTPUT (stream)->owner;

  if (self == NULL)
    return TRUE;
  return punch_stream_close_write (self, error);
}

static void
punch_stream_output_close_async (GOutputStream       *stream,
                                 int                  io_priority,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (stream, cancellable, callback, user_data);
  GError *error = NULL;

  g_task_set_source_tag (task, punch_stream_output_close_async);
  if (punch_stream_output_close (stream, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
punch_stream_output_close_finish (GOutputStream  *stream,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Nothing to flush: written data is already in the connection's hands. */
static void
punch_stream_output_flush_async (GOutputStream       *stream,
                                 int                  io_priority,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (stream, cancellable, callback, user_data);

  g_task_set_source_tag (task, punch_stream_output_flush_async);
  g_task_return_boolean (task, TRUE);
}

static gboolean
punch_stream_output_flush_finish (GOutputStream  *stream,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
punch_stream_output_class_init (PunchStreamOutputClass *klass)
{
  GOutputStreamClass *output_class = G_OUTPUT_STREAM_CLASS (klass);

  output_class->write_fn = punch_stream_output_write;
  output_class->close_fn = punch_stream_output_close;
  output_class->close_async = punch_stream_output_close_async;
  output_class->close_finish = punch_stream_output_close_finish;
  output_class->flush_async = punch_stream_output_flush_async;
  output_class->flush_finish = punch_stream_output_flush_finish;
}

static void
punch_stream_output_init (PunchStreamOutput *self)
{
}

/* ------------------------------------------------------------------ */
/* PunchStream                                                        */
/* ------------------------------------------------------------------ */

static GInputStream *
punch_stream_get_input_stream (GIOStream *stream)
{
  return PUNCH_STREAM (stream)->input;
}

static GOutputStream *
punch_stream_get_output_stream (GIOStream *stream)
{
  return PUNCH_STREAM (stream)->output;
}

static void
punch_stream_close_async (GIOStream           *stream,
                          int                  io_priority,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (stream, cancellable, callback, user_data);
  GError *error = NULL;

  g_task_set_source_tag (task, punch_stream_close_async);
  /* GIOStream's close_fn closes the output, then the input; neither waits. */
  if (G_IO_STREAM_CLASS (punch_stream_parent_class)->close_fn (stream, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
punch_stream_close_finish (GIOStream     *stream,
                           GAsyncResult  *result,
                           GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
punch_stream_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  PunchStream *self = PUNCH_STREAM (object);

  switch (prop_id)
    {
    case PROP_CONNECTION:
      g_value_set_object (value, self->connection);
      break;
    case PROP_PROTOCOL:
      g_value_set_string (value, self->protocol);
      break;
    case PROP_DIRECTION:
      g_value_set_enum (value, self->direction);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
punch_stream_dispose (GObject *object)
{
  PunchStream *self = PUNCH_STREAM (object);

  /* Like g_io_stream_close(), which GIOStream's dispose would call, but
   * also when a pending operation on a side makes that fail: half-close
   * and let the connection discard what the peer still sends. */
  if (self->in_table && !self->reset && self->error == NULL)
    {
      if (!self->write_closed)
        punch_stream_close_write (self, NULL);
      if (!self->read_closed)
        {
          self->read_closed = TRUE;
          punch_connection_discard_input (self->connection, self->id);
        }
    }
  if (self->in_table)
    punch_connection_forget_stream (self->connection, self);

  if (self->input != NULL)
    PUNCH_STREAM_INPUT (self->input)->owner = NULL;
  if (self->output != NULL)
    PUNCH_STREAM_OUTPUT (self->output)->owner = NULL;

  G_OBJECT_CLASS (punch_stream_parent_class)->dispose (object);
}

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
punch_stream_finalize (GObject *object)
{
  PunchStream *self = PUNCH_STREAM (object);

  clear_source (&self->negotiation_timer);
  clear_source (&self->cancel_source);
  g_clear_pointer (&self->ms, punch_multistream_free);
  g_clear_pointer (&self->negotiation_output, g_byte_array_unref);
  g_clear_object (&self->open_task);
  g_clear_pointer (&self->pending, g_bytes_unref);
  g_clear_error (&self->error);
  g_clear_pointer (&self->protocol, g_free);
  g_clear_object (&self->input);
  g_clear_object (&self->output);
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (punch_stream_parent_class)->finalize (object);
}

static void
punch_stream_class_init (PunchStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *io_class = G_IO_STREAM_CLASS (klass);

  object_class->get_property = punch_stream_get_property;
  object_class->dispose = punch_stream_dispose;
  object_class->finalize = punch_stream_finalize;

  io_class->get_input_stream = punch_stream_get_input_stream;
  io_class->get_output_stream = punch_stream_get_output_stream;
  io_class->close_async = punch_stream_close_async;
  io_class->close_finish = punch_stream_close_finish;

  /**
   * PunchStream:connection:
   *
   * The connection the stream belongs to.
   *
   * Since: 0.1
   */
  properties[PROP_CONNECTION] =
    g_param_spec_object ("connection", NULL, NULL,
                         PUNCH_TYPE_CONNECTION,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PunchStream:protocol:
   *
   * The protocol id negotiated for the stream.
   *
   * Since: 0.1
   */
  properties[PROP_PROTOCOL] =
    g_param_spec_string ("protocol", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PunchStream:direction:
   *
   * Whether we opened the stream ([enum@Punch.Direction].OUTBOUND) or the
   * peer did.
   *
   * Since: 0.1
   */
  properties[PROP_DIRECTION] =
    g_param_spec_enum ("direction", NULL, NULL,
                       PUNCH_TYPE_DIRECTION, PUNCH_DIRECTION_OUTBOUND,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
punch_stream_init (PunchStream *self)
{
}

/* Internal API */

PunchStream *
punch_stream_new (PunchConnection *connection,
                  guint32          id,
                  PunchDirection   direction)
{
  PunchStream *self = g_object_new (PUNCH_TYPE_STREAM, NULL);

  self->connection = g_object_ref (connection);
  self->id = id;
  self->direction = direction;
  self->input = g_object_new (PUNCH_TYPE_STREAM_INPUT, NULL);
  PUNCH_STREAM_INPUT (self->input)->owner = self;
  self->output = g_object_new (PUNCH_TYPE_STREAM_OUTPUT, NULL);
  PUNCH_STREAM_OUTPUT (self->output)->owner = self;

  return self;
}

void
punch_stream_set_protocol (PunchStream *self,
                           const gchar *protocol,
                           GBytes      *pending)
{
  g_return_if_fail (PUNCH_IS_STREAM (self));

  g_free (self->protocol);
  self->protocol = g_strdup (protocol);
  g_clear_pointer (&self->pending, g_bytes_unref);
  self->pending_offset = 0;
  if (pending != NULL && g_bytes_get_size (pending) > 0)
    self->pending = g_bytes_ref (pending);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROTOCOL]);
}

void
punch_stream_connection_closed (PunchStream  *self,
                                const GError *reason)
{
  g_return_if_fail (PUNCH_IS_STREAM (self));

  if (self->error != NULL)
    return;
  if (reason != NULL)
    self->error = g_error_new (PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                               "The connection closed: %s", reason->message);
  else
    self->error = g_error_new_literal (PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                                       "The connection closed");
}

guint32
punch_stream_get_id (PunchStream *self)
{
  g_return_val_if_fail (PUNCH_IS_STREAM (self), 0);

  return self->id;
}

/* Received bytes not read yet: what the flow control bounds. */
gsize
punch_stream_get_readable_size (PunchStream *self)
{
  PunchYamuxSession *yamux;
  gsize size = 0;

  g_return_val_if_fail (PUNCH_IS_STREAM (self), 0);

  if (self->pending != NULL)
    size += g_bytes_get_size (self->pending) - self->pending_offset;
  yamux = punch_connection_get_yamux (self->connection);
  if (yamux != NULL)
    size += punch_yamux_session_get_readable (yamux, self->id);
  return size;
}

/* Caps how far the stream's receive window may grow (see
 * punch_yamux_session_set_max_receive_window()). */
void
punch_stream_set_max_receive_window (PunchStream *self,
                                     guint32      max_window)
{
  PunchYamuxSession *yamux;

  g_return_if_fail (PUNCH_IS_STREAM (self));

  yamux = punch_connection_get_yamux (self->connection);
  if (yamux != NULL)
    punch_yamux_session_set_max_receive_window (yamux, self->id, max_window);
}

/* Public API */

/**
 * punch_stream_get_protocol:
 * @self: a stream
 *
 * Gets the protocol id the two peers agreed on for the stream.
 *
 * Returns: the protocol id
 *
 * Since: 0.1
 */
const gchar *
punch_stream_get_protocol (PunchStream *self)
{
  g_return_val_if_fail (PUNCH_IS_STREAM (self), NULL);

  return self->protocol;
}

/**
 * punch_stream_get_connection:
 * @self: a stream
 *
 * Gets the connection the stream belongs to.
 *
 * Returns: (transfer none): the connection
 *
 * Since: 0.1
 */
PunchConnection *
punch_stream_get_connection (PunchStream *self)
{
  g_return_val_if_fail (PUNCH_IS_STREAM (self), NULL);

  return self->connection;
}

/**
 * punch_stream_get_direction:
 * @self: a stream
 *
 * Gets who opened the stream.
 *
 * Returns: %PUNCH_DIRECTION_OUTBOUND if we opened it
 *
 * Since: 0.1
 */
PunchDirection
punch_stream_get_direction (PunchStream *self)
{
  g_return_val_if_fail (PUNCH_IS_STREAM (self), PUNCH_DIRECTION_OUTBOUND);

  return self->direction;
}

/**
 * punch_stream_close_write:
 * @self: a stream
 * @error: return location for a #GError
 *
 * Half-closes the stream: sends a yamux FIN after the data written so far.
 * The peer reads the end of the stream and may go on writing. Closing
 * twice does nothing. This is what closing the stream's output stream
 * does.
 *
 * Errors: %G_IO_ERROR_CONNECTION_CLOSED if the stream was reset,
 * %PUNCH_ERROR_CLOSED if the connection is closed.
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
punch_stream_close_write (PunchStream  *self,
                          GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  PunchYamuxSession *yamux;

  g_return_val_if_fail (PUNCH_IS_STREAM (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->write_closed)
    return TRUE;
  self->write_closed = TRUE;
  if (stream_failed (self, error))
    return FALSE;
  yamux = stream_get_yamux (self, error);
  if (yamux == NULL)
    return FALSE;

  /* The FIN follows the negotiation bytes still waiting for room. */
  if (self->negotiation_output != NULL && self->negotiation_output->len > 0)
    return TRUE;

  if (!punch_yamux_session_close_stream (yamux, self->id, &local_error))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                           local_error->message);
      return FALSE;
    }
  punch_connection_schedule_flush (self->connection);
  return TRUE;
}

/**
 * punch_stream_reset:
 * @self: a stream
 *
 * Aborts the stream in both directions with a yamux RST: data not yet
 * delivered is dropped on both sides, the peer's reads and writes fail
 * with %G_IO_ERROR_CONNECTION_CLOSED, and so do ours. Resetting a stream
 * that is reset or whose connection is closed does nothing.
 *
 * Since: 0.1
 */
void
punch_stream_reset (PunchStream *self)
{
  PunchYamuxSession *yamux;

  g_return_if_fail (PUNCH_IS_STREAM (self));

  if (self->reset || self->error != NULL)
    return;

  self->reset = TRUE;
  g_clear_pointer (&self->pending, g_bytes_unref);
  yamux = punch_connection_get_yamux (self->connection);
  if (yamux != NULL && self->in_table)
    {
      punch_yamux_session_reset_stream (yamux, self->id, NULL);
      punch_connection_schedule_flush (self->connection);
    }
}
