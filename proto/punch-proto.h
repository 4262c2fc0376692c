/* punch-proto.h: the thin codec over protobuf-c's generated code.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <protobuf-c/protobuf-c.h>

G_BEGIN_DECLS

ProtobufCMessage *punch_proto_unpack (const ProtobufCMessageDescriptor *descriptor,
                                      const guint8                     *data,
                                      gsize                             len,
                                      gsize                             max_len,
                                      GError                          **error);

GBytes           *punch_proto_pack   (const ProtobufCMessage *message);

void              punch_proto_free   (ProtobufCMessage *message);

G_END_DECLS
