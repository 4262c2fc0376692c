/* punch-framing.c: length-prefixed messages (varint length + payload).
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-framing-private.h"

#include <string.h>

#include "punch-error.h"
#include "punch-varint.h"

static gboolean
check_length (guint64   len,
              gsize     max_size,
              GError  **error)
{
  if (len > max_size)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "Message of %" G_GUINT64_FORMAT " bytes exceeds the maximum of %"
                   G_GSIZE_FORMAT, len, max_size);
      return FALSE;
    }
  return TRUE;
}

/*
 * punch_framing_append:
 * @out: the buffer to append to
 * @payload: (array length=len) (nullable): the message
 * @len: its length
 * @max_size: the largest payload allowed
 * @error: return location for a #GError
 *
 * Appends the varint length of @payload and @payload to @out.
 *
 * Errors: %PUNCH_ERROR_TOO_LARGE if @len exceeds @max_size (@out is left
 * untouched).
 *
 * Returns: %TRUE on success
 */
gboolean
punch_framing_append (GByteArray    *out,
                      const guint8  *payload,
                      gsize          len,
                      gsize          max_size,
                      GError       **error)
{
  guint8 header[PUNCH_VARINT_MAX_LEN];
  gsize header_len;

  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (payload != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_length (len, max_size, error) ||
      !check_length (len, PUNCH_VARINT_MAX_VALUE, error))
    return FALSE;

  header_len = punch_varint_encode (len, header);
  g_byte_array_append (out, header, header_len);
  if (len > 0)
    g_byte_array_append (out, payload, len);

  return TRUE;
}

/*
 * punch_framing_encode:
 * @payload: (array length=len) (nullable): the message
 * @len: its length
 * @max_size: the largest payload allowed
 * @error: return location for a #GError
 *
 * Errors: %PUNCH_ERROR_TOO_LARGE if @len exceeds @max_size.
 *
 * Returns: (transfer full) (nullable): the varint length followed by
 *   @payload, or %NULL on error
 */
GBytes *
punch_framing_encode (const guint8  *payload,
                      gsize          len,
                      gsize          max_size,
                      GError       **error)
{
  g_autoptr(GByteArray) out = NULL;

  g_return_val_if_fail (payload != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_length (len, max_size, error))
    return NULL;

  out = g_byte_array_sized_new (PUNCH_VARINT_MAX_LEN + len);
  if (!punch_framing_append (out, payload, len, max_size, error))
    return NULL;

  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/*
 * punch_framing_parse:
 * @buf: (array length=len): the bytes received so far
 * @len: their number
 * @max_size: the largest payload allowed
 * @out_payload_offset: (out) (optional): where the payload starts in @buf
 * @out_payload_len: (out) (optional): the payload length
 * @error: return location for a #GError
 *
 * Looks for a complete frame at the start of @buf. On
 * %PUNCH_FRAMING_STATUS_FRAME the frame occupies
 * @out_payload_offset + @out_payload_len bytes of @buf; what follows is
 * the next frame. On %PUNCH_FRAMING_STATUS_NEED_MORE the caller keeps the
 * bytes and calls again when more arrived; the out parameters are
 * untouched.
 *
 * Errors (with %PUNCH_FRAMING_STATUS_ERROR): %PUNCH_ERROR_MALFORMED for a
 * non-minimal or over-long varint, %PUNCH_ERROR_TOO_LARGE if the length
 * exceeds @max_size (reported as soon as the varint is complete).
 *
 * Returns: whether a frame is there, more bytes are needed, or the input
 *   is bad
 */
PunchFramingStatus
punch_framing_parse (const guint8  *buf,
                     gsize          len,
                     gsize          max_size,
                     gsize         *out_payload_offset,
                     gsize         *out_payload_len,
                     GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  guint64 payload_len;
  gsize header_len;

  g_return_val_if_fail (buf != NULL || len == 0, PUNCH_FRAMING_STATUS_ERROR);
  g_return_val_if_fail (error == NULL || *error == NULL, PUNCH_FRAMING_STATUS_ERROR);

  if (!punch_varint_decode (buf, len, &payload_len, &header_len, &local_error))
    {
      if (g_error_matches (local_error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED))
        return PUNCH_FRAMING_STATUS_NEED_MORE;
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "Bad message length: ");
      return PUNCH_FRAMING_STATUS_ERROR;
    }

  if (!check_length (payload_len, max_size, error))
    return PUNCH_FRAMING_STATUS_ERROR;

  if (len - header_len < payload_len)
    return PUNCH_FRAMING_STATUS_NEED_MORE;

  if (out_payload_offset)
    *out_payload_offset = header_len;
  if (out_payload_len)
    *out_payload_len = (gsize) payload_len;

  return PUNCH_FRAMING_STATUS_FRAME;
}

/* PunchFramingDecoder: a frame is either in its header (up to 9 bytes kept
 * in header[]) or in its payload, which grows with the bytes that actually
 * arrive (a peer announcing max_size bytes and sending none costs
 * nothing). Completed frames wait in a queue. */
struct _PunchFramingDecoder
{
  gsize max_size;

  guint8 header[PUNCH_VARINT_MAX_LEN];
  gsize header_len;

  GByteArray *payload;   /* NULL while reading a header */
  gsize payload_len;     /* announced */

  GQueue frames;         /* of GBytes */
  GError *error;         /* sticky once set */
};

/*
 * punch_framing_decoder_new:
 * @max_size: the largest payload allowed
 *
 * Returns: (transfer full): a new decoder
 */
PunchFramingDecoder *
punch_framing_decoder_new (gsize max_size)
{
  PunchFramingDecoder *self = g_new0 (PunchFramingDecoder, 1);

  self->max_size = max_size;
  g_queue_init (&self->frames);

  return self;
}

/*
 * punch_framing_decoder_free:
 * @self: (transfer full) (nullable): a decoder
 */
void
punch_framing_decoder_free (PunchFramingDecoder *self)
{
  if (self == NULL)
    return;

  g_clear_pointer (&self->payload, g_byte_array_unref);
  g_queue_clear_full (&self->frames, (GDestroyNotify) g_bytes_unref);
  g_clear_error (&self->error);
  g_free (self);
}

static void
decoder_fail (PunchFramingDecoder  *self,
              GError               *error_take)
{
  self->error = error_take;
  g_clear_pointer (&self->payload, g_byte_array_unref);
  self->header_len = 0;
}

/*
 * punch_framing_decoder_feed:
 * @self: a decoder
 * @data: (array length=len) (nullable): bytes that arrived
 * @len: their number
 * @error: return location for a #GError
 *
 * Consumes @data; every frame it completes is queued for
 * punch_framing_decoder_pop(). Partial frames are kept for the next call.
 * Besides the queued frames, only the bytes received of the current frame
 * are buffered (at most 9 header bytes and max_size payload bytes).
 *
 * After an error the decoder is dead: this and every later call fail with
 * the same error; frames completed before the bad one can still be
 * popped.
 *
 * Errors: %PUNCH_ERROR_MALFORMED for a bad varint length,
 * %PUNCH_ERROR_TOO_LARGE for a length above max_size.
 *
 * Returns: %TRUE on success
 */
gboolean
punch_framing_decoder_feed (PunchFramingDecoder  *self,
                            const guint8         *data,
                            gsize                 len,
                            GError              **error)
{
  gsize pos = 0;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->error)
    {
      if (error)
        *error = g_error_copy (self->error);
      return FALSE;
    }

  while (pos < len)
    {
      if (self->payload == NULL)
        {
          GError *local_error = NULL;
          guint64 payload_len;
          guint8 b = data[pos++];

          self->header[self->header_len++] = b;
          if ((b & 0x80) != 0 && self->header_len < PUNCH_VARINT_MAX_LEN)
            continue;

          if (!punch_varint_decode (self->header, self->header_len,
                                    &payload_len, NULL, &local_error))
            {
              g_prefix_error (&local_error, "Bad message length: ");
              decoder_fail (self, local_error);
            }
          else if (!check_length (payload_len, self->max_size, &local_error))
            {
              decoder_fail (self, local_error);
            }
          if (self->error)
            {
              if (error)
                *error = g_error_copy (self->error);
              return FALSE;
            }

          self->header_len = 0;
          if (payload_len == 0)
            {
              g_queue_push_tail (&self->frames, g_bytes_new (NULL, 0));
              continue;
            }
          self->payload = g_byte_array_new ();
          self->payload_len = payload_len;
        }
      else
        {
          gsize n = MIN (len - pos, self->payload_len - self->payload->len);

          g_byte_array_append (self->payload, data + pos, n);
          pos += n;
          if (self->payload->len == self->payload_len)
            {
              g_queue_push_tail (&self->frames,
                                 g_byte_array_free_to_bytes (g_steal_pointer (&self->payload)));
              self->payload_len = 0;
            }
        }
    }

  return TRUE;
}

/*
 * punch_framing_decoder_pop:
 * @self: a decoder
 *
 * Returns: (transfer full) (nullable): the oldest complete payload, or
 *   %NULL if none is complete yet
 */
GBytes *
punch_framing_decoder_pop (PunchFramingDecoder *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_queue_pop_head (&self->frames);
}

/*
 * punch_framing_decoder_get_buffered:
 * @self: a decoder
 *
 * Returns: the number of bytes of the incomplete frame held (0 between
 *   frames); a stream that ends with this non-zero was truncated
 */
gsize
punch_framing_decoder_get_buffered (PunchFramingDecoder *self)
{
  g_return_val_if_fail (self != NULL, 0);

  if (self->payload != NULL)
    return punch_varint_size (self->payload_len) + self->payload->len;
  return self->header_len;
}

/* Async reading: the varint one byte at a time, then exactly the payload,
 * so nothing after the frame is taken from the stream. The payload buffer
 * grows by at most READ_CHUNK bytes per read, with what arrives. */
#define READ_CHUNK 16384

typedef struct {
  gsize max_size;
  guint8 header[PUNCH_VARINT_MAX_LEN];
  gsize header_len;
  GByteArray *payload;
  gsize payload_filled;
  gsize payload_len;
} ReadData;

static void
read_data_free (ReadData *data)
{
  g_clear_pointer (&data->payload, g_byte_array_unref);
  g_free (data);
}

static void read_header_byte (GTask *task);
static void read_payload_chunk (GTask *task);

static void
on_payload_read (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ReadData *data = g_task_get_task_data (task);
  GError *error = NULL;
  gssize n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (n < 0)
    {
      g_task_return_error (task, error);
      return;
    }
  if (n == 0)
    {
      g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED,
                               "Stream ended after %" G_GSIZE_FORMAT " of %"
                               G_GSIZE_FORMAT " message bytes",
                               data->payload_filled, data->payload_len);
      return;
    }

  data->payload_filled += n;
  if (data->payload_filled < data->payload_len)
    {
      read_payload_chunk (g_steal_pointer (&task));
      return;
    }

  g_byte_array_set_size (data->payload, data->payload_len);
  g_task_return_pointer (task,
                         g_byte_array_free_to_bytes (g_steal_pointer (&data->payload)),
                         (GDestroyNotify) g_bytes_unref);
}

static void
read_payload_chunk (GTask *task)
{
  ReadData *data = g_task_get_task_data (task);
  gsize chunk = MIN (data->payload_len - data->payload_filled, READ_CHUNK);

  g_byte_array_set_size (data->payload, data->payload_filled + chunk);
  g_input_stream_read_async (g_task_get_source_object (task),
                             data->payload->data + data->payload_filled, chunk,
                             g_task_get_priority (task),
                             g_task_get_cancellable (task),
                             on_payload_read, task);
}

static void
on_header_byte_read (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ReadData *data = g_task_get_task_data (task);
  GError *error = NULL;
  guint64 payload_len;
  gssize n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (n < 0)
    {
      g_task_return_error (task, error);
      return;
    }
  if (n == 0)
    {
      if (data->header_len == 0)
        g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_CLOSED,
                                 "Stream closed");
      else
        g_task_return_new_error (task, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED,
                                 "Stream ended inside a message length");
      return;
    }

  data->header_len++;
  if ((data->header[data->header_len - 1] & 0x80) != 0 &&
      data->header_len < PUNCH_VARINT_MAX_LEN)
    {
      read_header_byte (g_steal_pointer (&task));
      return;
    }

  if (!punch_varint_decode (data->header, data->header_len, &payload_len,
                            NULL, &error))
    {
      g_prefix_error (&error, "Bad message length: ");
      g_task_return_error (task, error);
      return;
    }
  if (!check_length (payload_len, data->max_size, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (payload_len == 0)
    {
      g_task_return_pointer (task, g_bytes_new (NULL, 0),
                             (GDestroyNotify) g_bytes_unref);
      return;
    }

  data->payload_len = payload_len;
  data->payload = g_byte_array_new ();
  read_payload_chunk (g_steal_pointer (&task));
}

static void
read_header_byte (GTask *task)
{
  ReadData *data = g_task_get_task_data (task);

  g_input_stream_read_async (g_task_get_source_object (task),
                             &data->header[data->header_len], 1,
                             g_task_get_priority (task),
                             g_task_get_cancellable (task),
                             on_header_byte_read, task);
}

/**
 * punch_framing_read_async:
 * @stream: the stream to read from
 * @max_size: the largest payload accepted
 * @io_priority: the I/O priority of the reads
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the message is read
 * @user_data: data for @callback
 *
 * Reads one length-prefixed message (an unsigned varint length, then the
 * payload) as used by the libp2p protobuf protocols. Only the bytes of
 * this message are read: the length one byte at a time, then exactly the
 * payload, so whatever follows on @stream is left for the next reader.
 *
 * A length above @max_size fails as soon as it is read, before any of the
 * payload.
 *
 * Since: 0.1
 */
void
punch_framing_read_async (GInputStream        *stream,
                          gsize                max_size,
                          int                  io_priority,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ReadData *data;

  g_return_if_fail (G_IS_INPUT_STREAM (stream));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (stream, cancellable, callback, user_data);
  g_task_set_source_tag (task, punch_framing_read_async);
  g_task_set_priority (task, io_priority);

  data = g_new0 (ReadData, 1);
  data->max_size = max_size;
  g_task_set_task_data (task, data, (GDestroyNotify) read_data_free);

  read_header_byte (g_steal_pointer (&task));
}

/**
 * punch_framing_read_finish:
 * @stream: the stream passed to [func@Punch.framing_read_async]
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [func@Punch.framing_read_async].
 *
 * Errors: %PUNCH_ERROR_CLOSED if the stream ended before the first byte
 * of a message, %PUNCH_ERROR_TRUNCATED if it ended inside one,
 * %PUNCH_ERROR_MALFORMED for a bad varint length, %PUNCH_ERROR_TOO_LARGE
 * for a length above the maximum, %G_IO_ERROR_CANCELLED, or the stream's
 * own errors.
 *
 * Returns: (transfer full) (nullable): the payload (possibly empty), or
 *   %NULL on error
 *
 * Since: 0.1
 */
GBytes *
punch_framing_read_finish (GInputStream  *stream,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (G_IS_INPUT_STREAM (stream), NULL);
  g_return_val_if_fail (g_task_is_valid (result, stream), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        punch_framing_read_async, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct {
  guint8 header[PUNCH_VARINT_MAX_LEN];
  GBytes *payload;
  GOutputVector vectors[2];
} WriteData;

static void
write_data_free (WriteData *data)
{
  g_bytes_unref (data->payload);
  g_free (data);
}

static void
on_written (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!g_output_stream_writev_all_finish (G_OUTPUT_STREAM (source), result,
                                          NULL, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * punch_framing_write_async:
 * @stream: the stream to write to
 * @payload: the message
 * @io_priority: the I/O priority of the writes
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the message is written
 * @user_data: data for @callback
 *
 * Writes @payload preceded by its length as an unsigned varint. Checking
 * @payload against the protocol's maximum size is the caller's business.
 *
 * Since: 0.1
 */
void
punch_framing_write_async (GOutputStream       *stream,
                           GBytes              *payload,
                           int                  io_priority,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  WriteData *data;
  gsize header_len, len;
  gconstpointer bytes;

  g_return_if_fail (G_IS_OUTPUT_STREAM (stream));
  g_return_if_fail (payload != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (stream, cancellable, callback, user_data);
  g_task_set_source_tag (task, punch_framing_write_async);
  g_task_set_priority (task, io_priority);

  data = g_new0 (WriteData, 1);
  data->payload = g_bytes_ref (payload);
  g_task_set_task_data (task, data, (GDestroyNotify) write_data_free);

  bytes = g_bytes_get_data (payload, &len);
  header_len = punch_varint_encode (len, data->header);
  data->vectors[0].buffer = data->header;
  data->vectors[0].size = header_len;
  data->vectors[1].buffer = bytes;
  data->vectors[1].size = len;

  g_output_stream_writev_all_async (stream, data->vectors, len > 0 ? 2 : 1,
                                    io_priority, cancellable,
                                    on_written, g_steal_pointer (&task));
}

/**
 * punch_framing_write_finish:
 * @stream: the stream passed to [func@Punch.framing_write_async]
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [func@Punch.framing_write_async].
 *
 * Errors: %G_IO_ERROR_CANCELLED or the stream's own errors.
 *
 * Returns: %TRUE if the whole message was written
 *
 * Since: 0.1
 */
gboolean
punch_framing_write_finish (GOutputStream  *stream,
                            GAsyncResult   *result,
                            GError        **error)
{
  g_return_val_if_fail (G_IS_OUTPUT_STREAM (stream), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, stream), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        punch_framing_write_async, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
