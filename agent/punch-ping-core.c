/* punch-ping-core.c: the ping protocol, sans-I/O.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "punch-ping-private.h"

#include "punch-error.h"

/* Responder */

struct _PunchPingResponder {
  guint8 partial[PUNCH_PING_PAYLOAD_SIZE];
  gsize n_partial;
  GByteArray *output;
  gint64 tokens_at_us;    /* the time the bucket was last computed */
  guint tokens;
  guint64 n_echoed;
};

/*
 * punch_ping_responder_new:
 * @now_us: the current time (the bucket starts full)
 */
PunchPingResponder *
punch_ping_responder_new (gint64 now_us)
{
  PunchPingResponder *self = g_new0 (PunchPingResponder, 1);

  self->output = g_byte_array_new ();
  self->tokens = PUNCH_PING_RESPONDER_BURST;
  self->tokens_at_us = now_us;
  return self;
}

void
punch_ping_responder_free (PunchPingResponder *self)
{
  if (self == NULL)
    return;
  g_byte_array_unref (self->output);
  g_free (self);
}

static void
refill (PunchPingResponder *self,
        gint64              now_us)
{
  gint64 elapsed = now_us - self->tokens_at_us;
  gint64 earned;

  if (elapsed <= 0)
    return;
  earned = elapsed / PUNCH_PING_RESPONDER_REFILL_US;
  if (earned == 0)
    return;
  if (earned >= PUNCH_PING_RESPONDER_BURST - self->tokens)
    {
      self->tokens = PUNCH_PING_RESPONDER_BURST;
      self->tokens_at_us = now_us;
    }
  else
    {
      self->tokens += (guint) earned;
      self->tokens_at_us += earned * PUNCH_PING_RESPONDER_REFILL_US;
    }
}

/*
 * punch_ping_responder_receive:
 * @data: (array length=len): bytes read from the stream
 * @now_us: the current time
 *
 * Takes bytes from the pinger; each complete payload is queued for
 * punch_ping_responder_pull_output().
 *
 * Errors: %PUNCH_ERROR_PROTOCOL when the peer pings faster than the
 * bucket allows (the caller resets the stream). After an error nothing
 * more is echoed.
 */
gboolean
punch_ping_responder_receive (PunchPingResponder  *self,
                              const guint8        *data,
                              gsize                len,
                              gint64               now_us,
                              GError             **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  while (len > 0)
    {
      gsize take = MIN (len, PUNCH_PING_PAYLOAD_SIZE - self->n_partial);

      memcpy (self->partial + self->n_partial, data, take);
      self->n_partial += take;
      data += take;
      len -= take;
      if (self->n_partial < PUNCH_PING_PAYLOAD_SIZE)
        break;

      refill (self, now_us);
      if (self->tokens == 0)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                       "ping flood: more than %d pings in a burst, or more than "
                       "one per %d ms", PUNCH_PING_RESPONDER_BURST,
                       PUNCH_PING_RESPONDER_REFILL_US / 1000);
          self->n_partial = 0;
          self->tokens_at_us = G_MAXINT64; /* never refills again */
          return FALSE;
        }
      self->tokens--;
      g_byte_array_append (self->output, self->partial, PUNCH_PING_PAYLOAD_SIZE);
      self->n_partial = 0;
      self->n_echoed++;
    }
  return TRUE;
}

/*
 * punch_ping_responder_pull_output:
 *
 * Returns: (transfer full) (nullable): the echoes to write, or %NULL
 */
GBytes *
punch_ping_responder_pull_output (PunchPingResponder *self)
{
  GBytes *out;

  g_return_val_if_fail (self != NULL, NULL);

  if (self->output->len == 0)
    return NULL;
  out = g_byte_array_free_to_bytes (self->output);
  self->output = g_byte_array_new ();
  return out;
}

guint64
punch_ping_responder_get_n_echoed (PunchPingResponder *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->n_echoed;
}

/* Initiator */

struct _PunchPingInitiator {
  guint8 payload[PUNCH_PING_PAYLOAD_SIZE];
  guint8 received[PUNCH_PING_PAYLOAD_SIZE];
  gsize n_received;
  gint64 sent_us;
  gboolean waiting;
};

PunchPingInitiator *
punch_ping_initiator_new (void)
{
  return g_new0 (PunchPingInitiator, 1);
}

void
punch_ping_initiator_free (PunchPingInitiator *self)
{
  g_free (self);
}

/*
 * punch_ping_initiator_start:
 * @payload: (array fixed-size=32): 32 random bytes
 * @now_us: the time the payload is written
 *
 * Starts one ping.
 *
 * Errors: %PUNCH_ERROR_FAILED if the previous ping is still waiting for
 * its echo.
 *
 * Returns: (transfer full) (nullable): the bytes to write
 */
GBytes *
punch_ping_initiator_start (PunchPingInitiator  *self,
                            const guint8        *payload,
                            gint64               now_us,
                            GError             **error)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (payload != NULL, NULL);

  if (self->waiting)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_FAILED,
                   "a ping is already waiting for its echo");
      return NULL;
    }
  memcpy (self->payload, payload, PUNCH_PING_PAYLOAD_SIZE);
  self->n_received = 0;
  self->sent_us = now_us;
  self->waiting = TRUE;
  return g_bytes_new (payload, PUNCH_PING_PAYLOAD_SIZE);
}

/*
 * punch_ping_initiator_receive:
 * @data: (array length=len): bytes read from the stream
 * @now_us: the time they were read
 * @out_rtt_us: (out): the round-trip time, when the echo is complete
 *
 * Returns: %TRUE when the echo is complete and matches (@out_rtt_us is
 *   set), %FALSE with no error when more bytes are needed, %FALSE with an
 *   error otherwise.
 *
 * Errors: %PUNCH_ERROR_PROTOCOL when the echo differs from the payload or
 * bytes come that were not asked for.
 */
gboolean
punch_ping_initiator_receive (PunchPingInitiator  *self,
                              const guint8        *data,
                              gsize                len,
                              gint64               now_us,
                              gint64              *out_rtt_us,
                              GError             **error)
{
  gsize take;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  if (len == 0)
    return FALSE;
  if (!self->waiting || len > PUNCH_PING_PAYLOAD_SIZE - self->n_received)
    {
      self->waiting = FALSE;
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                   "ping echo longer than the %d-byte payload", PUNCH_PING_PAYLOAD_SIZE);
      return FALSE;
    }
  take = len;
  memcpy (self->received + self->n_received, data, take);
  self->n_received += take;
  if (self->n_received < PUNCH_PING_PAYLOAD_SIZE)
    return FALSE;

  self->waiting = FALSE;
  if (memcmp (self->received, self->payload, PUNCH_PING_PAYLOAD_SIZE) != 0)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                   "ping echo differs from the payload");
      return FALSE;
    }
  if (out_rtt_us != NULL)
    *out_rtt_us = MAX (now_us - self->sent_us, 0);
  return TRUE;
}

gboolean
punch_ping_initiator_is_waiting (PunchPingInitiator *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->waiting;
}
