/* punch-proto.c: the thin codec over protobuf-c's generated code.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "punch-proto.h"

#include <string.h>

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

/* Reads a protobuf varint at *pos; FALSE when it runs past @len or 10
 * bytes. Not punch_varint_decode(): multiformats varints are at most 9
 * bytes and minimal, protobuf's may be neither (protobuf-c accepted them). */
static gboolean
read_varint (const guint8 *data,
             gsize         len,
             gsize        *pos,
             guint64      *value)
{
  guint64 v = 0;

  for (guint shift = 0; shift < 70 && *pos < len; shift += 7)
    {
      guint8 byte = data[(*pos)++];

      v |= (guint64) (byte & 0x7f) << shift;
      if ((byte & 0x80) == 0)
        {
          *value = v;
          return TRUE;
        }
    }
  return FALSE;
}

/* protobuf-c hands strings back NUL-terminated, without their length: a
 * string holding a NUL byte would silently lose its tail ("abcd\0!!" read
 * as "abcd"), past every check made on it. No protocol's string has one,
 * so such input is malformed. Walks the encoding (which protobuf-c already
 * accepted) with the descriptor, into sub-messages. */
static gboolean
strings_without_nul (const ProtobufCMessageDescriptor *descriptor,
                     const guint8                     *data,
                     gsize                             len,
                     guint                             depth)
{
  gsize pos = 0;

  if (depth > 32)
    return FALSE;
  while (pos < len)
    {
      guint64 key, value;
      const ProtobufCFieldDescriptor *field;

      if (!read_varint (data, len, &pos, &key))
        return FALSE;
      switch (key & 7)
        {
        case 0:
          if (!read_varint (data, len, &pos, &value))
            return FALSE;
          break;
        case 1:
          if (len - pos < 8)
            return FALSE;
          pos += 8;
          break;
        case 5:
          if (len - pos < 4)
            return FALSE;
          pos += 4;
          break;
        case 2:
          if (!read_varint (data, len, &pos, &value) || value > len - pos)
            return FALSE;
          field = key >> 3 <= MAX_FIELD_NUMBER ?
                  protobuf_c_message_descriptor_get_field (descriptor, (unsigned) (key >> 3)) : NULL;
          if (field != NULL && field->type == PROTOBUF_C_TYPE_STRING &&
              memchr (data + pos, 0, value) != NULL)
            return FALSE;
          if (field != NULL && field->type == PROTOBUF_C_TYPE_MESSAGE &&
              !strings_without_nul (field->descriptor, data + pos, value, depth + 1))
            return FALSE;
          pos += value;
          break;
        default:
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
 * types and lengths; this adds the per-protocol size limit, refuses
 * strings holding a NUL byte (protobuf-c would cut them there) and turns
 * the failures into GErrors.
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
  if (message != NULL &&
      (!unknown_fields_valid (message) || !strings_without_nul (descriptor, data, len, 0)))
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
