/* punch-proto.c: the thin codec over protobuf-c's generated code.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "punch-proto.h"

#include "punch-error.h"

/* The largest field number the protobuf encoding allows. */
#define MAX_FIELD_NUMBER 536870911u /* 2^29 - 1 */

/* protobuf-c accepts two keys that the protobuf encoding forbids when they
 * are written in more bytes than needed (a key of field number 0 as 80 00,
 * a field number above 2^29 - 1 in a five-byte key), keeps them as unknown
 * fields and packs them back: such input is malformed. */
static gboolean
unknown_fields_valid (const ProtobufCMessage *message)
{
  const ProtobufCMessageDescriptor *desc = message->descriptor;

  for (unsigned i = 0; i < message->n_unknown_fields; i++)
    if (message->unknown_fields[i].tag == 0 ||
        message->unknown_fields[i].tag > MAX_FIELD_NUMBER)
      return FALSE;

  for (unsigned i = 0; i < desc->n_fields; i++)
    {
      const ProtobufCFieldDescriptor *f = &desc->fields[i];
      const char *base = (const char *) message;

      if (f->type != PROTOBUF_C_TYPE_MESSAGE)
        continue;
      if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
          *(const uint32_t *) (base + f->quantifier_offset) != f->id)
        continue;

      if (f->label == PROTOBUF_C_LABEL_REPEATED)
        {
          size_t n = *(const size_t *) (base + f->quantifier_offset);
          ProtobufCMessage * const *sub = *(ProtobufCMessage * const * const *) (base + f->offset);

          for (size_t j = 0; j < n; j++)
            if (!unknown_fields_valid (sub[j]))
              return FALSE;
        }
      else
        {
          const ProtobufCMessage *sub = *(ProtobufCMessage * const *) (base + f->offset);

          if (sub != NULL && !unknown_fields_valid (sub))
            return FALSE;
        }
    }

  return TRUE;
}

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
  if (message != NULL && !unknown_fields_valid (message))
    g_clear_pointer (&message, punch_proto_free);
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
