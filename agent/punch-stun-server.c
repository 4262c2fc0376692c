/* punch-stun-server.c: a STUN Binding server on a UDP port.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "punch-stun-server.h"

#include "punch-error.h"
#include "punch-stun.h"

/* Datagrams handled per wake-up before yielding to other sources. */
#define MAX_DATAGRAMS_PER_DISPATCH 64

/**
 * PunchStunServer:
 *
 * A STUN server for the NAT lab and small deployments: it answers RFC
 * 5389 Binding requests on one UDP socket with the request's source
 * address in XOR-MAPPED-ADDRESS, which is what an ICE agent (libnice's
 * `stun-server` property) needs to gather server-reflexive candidates.
 *
 * Requests without the magic cookie (RFC 3489 clients, which is what
 * libnice 0.1.21 sends when it discovers server-reflexive candidates) are
 * answered with MAPPED-ADDRESS as RFC 5389 12.2 says.
 *
 * It does no authentication and keeps no state per client.  Datagrams
 * that are not well-formed Binding requests (other STUN messages,
 * garbage) are counted in
 * [property@Punch.StunServer:ignored] and get no answer; a request with
 * unknown comprehension-required attributes gets a 420 error response.
 * The server runs in the thread-default main context of the thread that
 * created it.
 *
 * Since: 0.1
 */
struct _PunchStunServer {
  GObject parent_instance;

  GSocket *socket;
  GInetSocketAddress *address;
  GSource *source;
  guint64 answered;
  guint64 ignored;
};

enum {
  PROP_0,
  PROP_ADDRESS,
  PROP_PORT,
  PROP_ANSWERED,
  PROP_IGNORED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (PunchStunServer, punch_stun_server, G_TYPE_OBJECT)

static void
punch_stun_server_dispose (GObject *object)
{
  PunchStunServer *self = PUNCH_STUN_SERVER (object);

  punch_stun_server_close (self);
  g_clear_object (&self->address);

  G_OBJECT_CLASS (punch_stun_server_parent_class)->dispose (object);
}

static void
punch_stun_server_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  PunchStunServer *self = PUNCH_STUN_SERVER (object);

  switch (prop_id)
    {
    case PROP_ADDRESS:
      g_value_set_object (value, self->address);
      break;
    case PROP_PORT:
      g_value_set_uint (value, punch_stun_server_get_port (self));
      break;
    case PROP_ANSWERED:
      g_value_set_uint64 (value, self->answered);
      break;
    case PROP_IGNORED:
      g_value_set_uint64 (value, self->ignored);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
punch_stun_server_class_init (PunchStunServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = punch_stun_server_dispose;
  object_class->get_property = punch_stun_server_get_property;

  /**
   * PunchStunServer:address:
   *
   * The address the server is bound to, with the port the system chose
   * if it was asked for port 0.
   *
   * Since: 0.1
   */
  properties[PROP_ADDRESS] =
    g_param_spec_object ("address", NULL, NULL, G_TYPE_INET_SOCKET_ADDRESS,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * PunchStunServer:port:
   *
   * The UDP port the server is bound to.
   *
   * Since: 0.1
   */
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL, 0, G_MAXUINT16, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * PunchStunServer:answered:
   *
   * How many Binding requests the server answered.
   *
   * Since: 0.1
   */
  properties[PROP_ANSWERED] =
    g_param_spec_uint64 ("answered", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * PunchStunServer:ignored:
   *
   * How many datagrams the server dropped because they were not
   * well-formed Binding requests.
   *
   * Since: 0.1
   */
  properties[PROP_IGNORED] =
    g_param_spec_uint64 ("ignored", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
punch_stun_server_init (PunchStunServer *self)
{
}

static void
handle_datagram (PunchStunServer *self,
                 const guint8    *buf,
                 gsize            len,
                 GSocketAddress  *from)
{
  g_autoptr(GError) error = NULL;
  PunchStunRequest request;
  guint8 out[PUNCH_STUN_MAX_RESPONSE_LEN];
  guint8 ip[16];
  gsize ip_len, n;
  GInetAddress *inet;

  if (!G_IS_INET_SOCKET_ADDRESS (from))
    return;
  if (!punch_stun_parse_binding_request (buf, len, &request, &error))
    {
      g_debug ("stun server: ignoring a %" G_GSIZE_FORMAT "-byte datagram: %s",
               len, error->message);
      self->ignored++;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IGNORED]);
      return;
    }

  inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (from));
  ip_len = g_inet_address_get_native_size (inet);
  if (ip_len != 4 && ip_len != 16)
    return;
  memcpy (ip, g_inet_address_to_bytes (inet), ip_len);
  n = punch_stun_build_binding_response (&request, ip, ip_len,
                                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (from)),
                                         out, sizeof out);
  if (g_socket_send_to (self->socket, from, (const gchar *) out, n, NULL, &error) < 0)
    {
      g_debug ("stun server: answering: %s", error->message);
      return;
    }
  self->answered++;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ANSWERED]);
}

static gboolean
on_socket_readable (GSocket      *socket,
                    GIOCondition  condition,
                    gpointer      user_data)
{
  PunchStunServer *self = user_data;

  /* A notify handler may drop the last reference to the server. */
  g_object_ref (self);
  for (guint i = 0; i < MAX_DATAGRAMS_PER_DISPATCH && self->socket != NULL; i++)
    {
      /* One byte more than the largest request taken, to see oversize. */
      guint8 buf[PUNCH_STUN_MAX_MESSAGE_LEN + 1];
      g_autoptr(GSocketAddress) from = NULL;
      g_autoptr(GError) error = NULL;
      gssize n;

      n = g_socket_receive_from (socket, &from, (gchar *) buf, sizeof buf, NULL, &error);
      if (n < 0)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            g_debug ("stun server: receiving: %s", error->message);
          break;
        }
      handle_datagram (self, buf, (gsize) n, from);
    }
  g_object_unref (self);
  return G_SOURCE_CONTINUE;
}

/**
 * punch_stun_server_new:
 * @address: the address and UDP port to bind (port 0: any free port)
 * @error: return location for a #GError
 *
 * Creates a STUN server bound to @address and starts answering in the
 * thread-default main context.
 *
 * Errors: the %G_IO_ERROR of creating or binding the socket
 * (%G_IO_ERROR_ADDRESS_IN_USE...).
 *
 * Returns: (transfer full): the server, or %NULL on error
 *
 * Since: 0.1
 */
PunchStunServer *
punch_stun_server_new (GInetSocketAddress  *address,
                       GError             **error)
{
  g_autoptr(PunchStunServer) self = NULL;
  g_autoptr(GSocketAddress) bound = NULL;

  g_return_val_if_fail (G_IS_INET_SOCKET_ADDRESS (address), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (PUNCH_TYPE_STUN_SERVER, NULL);
  self->socket = g_socket_new (g_socket_address_get_family (G_SOCKET_ADDRESS (address)),
                               G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
  if (self->socket == NULL)
    return NULL;
  g_socket_set_blocking (self->socket, FALSE);
  if (!g_socket_bind (self->socket, G_SOCKET_ADDRESS (address), FALSE, error))
    return NULL;
  bound = g_socket_get_local_address (self->socket, error);
  if (bound == NULL)
    return NULL;
  self->address = G_INET_SOCKET_ADDRESS (g_steal_pointer (&bound));

  self->source = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_callback (self->source, G_SOURCE_FUNC (on_socket_readable), self, NULL);
  g_source_attach (self->source, g_main_context_get_thread_default ());

  g_debug ("stun server: listening on UDP port %u",
           g_inet_socket_address_get_port (self->address));
  return g_steal_pointer (&self);
}

/**
 * punch_stun_server_get_address:
 * @self: a server
 *
 * Gets the address the server is bound to.
 *
 * Returns: (transfer none): the value of [property@Punch.StunServer:address]
 *
 * Since: 0.1
 */
GInetSocketAddress *
punch_stun_server_get_address (PunchStunServer *self)
{
  g_return_val_if_fail (PUNCH_IS_STUN_SERVER (self), NULL);

  return self->address;
}

/**
 * punch_stun_server_get_port:
 * @self: a server
 *
 * Gets the UDP port the server is bound to.
 *
 * Returns: the value of [property@Punch.StunServer:port]
 *
 * Since: 0.1
 */
guint16
punch_stun_server_get_port (PunchStunServer *self)
{
  g_return_val_if_fail (PUNCH_IS_STUN_SERVER (self), 0);

  return self->address != NULL ? g_inet_socket_address_get_port (self->address) : 0;
}

/**
 * punch_stun_server_get_answered:
 * @self: a server
 *
 * Gets how many Binding requests the server answered.
 *
 * Returns: the value of [property@Punch.StunServer:answered]
 *
 * Since: 0.1
 */
guint64
punch_stun_server_get_answered (PunchStunServer *self)
{
  g_return_val_if_fail (PUNCH_IS_STUN_SERVER (self), 0);

  return self->answered;
}

/**
 * punch_stun_server_get_ignored:
 * @self: a server
 *
 * Gets how many datagrams the server ignored.
 *
 * Returns: the value of [property@Punch.StunServer:ignored]
 *
 * Since: 0.1
 */
guint64
punch_stun_server_get_ignored (PunchStunServer *self)
{
  g_return_val_if_fail (PUNCH_IS_STUN_SERVER (self), 0);

  return self->ignored;
}

/**
 * punch_stun_server_close:
 * @self: a server
 *
 * Stops answering and closes the socket.  Calling it again does nothing;
 * dropping the last reference closes the server too.
 *
 * Since: 0.1
 */
void
punch_stun_server_close (PunchStunServer *self)
{
  g_return_if_fail (PUNCH_IS_STUN_SERVER (self));

  if (self->source != NULL)
    {
      g_source_destroy (self->source);
      g_clear_pointer (&self->source, g_source_unref);
    }
  if (self->socket != NULL)
    {
      g_socket_close (self->socket, NULL);
      g_clear_object (&self->socket);
    }
}
