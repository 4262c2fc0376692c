/* punch-proto.c: the thin codec over protobuf-c's generated code.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "punch-proto.h"

#include "punch-error.h"

/*
 * punch_proto_unpack:
 * @descriptor: the message type to decode
 * @data: (array length=len): the encoded message
 * @len: length of @data
 * @max_len: the largest encoding accepted (0: no limit of its own)
 * @error: return location for a #GError
 *
 * Decodes one protobuf message. protobuf-c checks required fields, wire
 * types and lengths; this adds the per-protocol size limit and turns its
 * failures into GErrors.
 *
 * Errors: %PUNCH_ERROR_TOO_LARGE when @len exceeds @max_len,
 * %PUNCH_ERROR_MALFORMED when protobuf-c rejects the bytes.
 *
 * Returns: (transfer full) (nullable): the message, free with
 *   punch_proto_free()
 */
ProtobufCMessage *
punch_proto_unpack (const ProtobufCMessageDescriptor *descriptor,
                    const guint8                     *data,
                    gsize                             len,
                    gsize                             max_len,
                    GError                          **error)
{
  ProtobufCMessage *message;

  g_return_val_if_fail (descriptor != NULL, NULL);
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (max_len > 0 && len > max_len)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "%s message of %" G_GSIZE_FORMAT " bytes exceeds the limit of %"
                   G_GSIZE_FORMAT, descriptor->name, len, max_len);
      return NULL;
    }

  message = protobuf_c_message_unpack (descriptor, NULL, len,
                                       data != NULL ? data : (const guint8 *) "");
  if (message == NULL)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_MALFORMED,
                   "malformed %s message (%" G_GSIZE_FORMAT " bytes)",
                   descriptor->name, len);
      return NULL;
    }

  return message;
}

/*
 * punch_proto_pack:
 * @message: a message
 *
 * Returns: (transfer full): the encoding of @message
 */
GBytes *
punch_proto_pack (const ProtobufCMessage *message)
{
  gsize len;
  guint8 *buf;

  g_return_val_if_fail (message != NULL, NULL);

  len = protobuf_c_message_get_packed_size (message);
  buf = g_malloc (len > 0 ? len : 1);
  protobuf_c_message_pack (message, buf);

  return g_bytes_new_take (buf, len);
}

/*
 * punch_proto_free:
 * @message: (nullable) (transfer full): a message from punch_proto_unpack()
 */
void
punch_proto_free (ProtobufCMessage *message)
{
  if (message != NULL)
    protobuf_c_message_free_unpacked (message, NULL);
}
