/* punch-multistream.c: multistream-select 1.0 negotiation, sans-I/O.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "punch-multistream.h"

#include <string.h>

#include "punch-error.h"
#include "punch-varint.h"

/* The answer to a proposal the listener does not accept, and the listing
 * request a listener may answer (Punch answers it with "na"). */
#define NA "na"
#define LS "ls"

struct _PunchMultistream {
  gboolean dialer;
  gboolean started;
  PunchMultistreamState state;
  gboolean header_received;

  /* Dialer: the proposals, in order, and the one awaiting an answer. */
  gchar **protocols;
  guint current;

  /* Listener. */
  PunchMultistreamMatchFunc match;
  gpointer match_data;
  GDestroyNotify match_data_free;
  guint refused;

  gchar *protocol;     /* the agreed protocol, once DONE */
  GByteArray *input;   /* received, not yet parsed */
  GByteArray *output;  /* to send */
  GByteArray *remaining; /* after the negotiation, once DONE */
};

/* Codec */

static gboolean
line_is_valid (const gchar *line,
               gsize        len)
{
  /* g_utf8_validate() with a length also refuses NUL bytes. */
  return len > 0 &&
         len < PUNCH_MULTISTREAM_MAX_MESSAGE &&
         memchr (line, '\n', len) == NULL &&
         g_utf8_validate (line, (gssize) len, NULL);
}

/*
 * punch_multistream_is_valid_protocol:
 * @protocol: (nullable): a protocol id
 *
 * Whether @protocol can be sent as a multistream-select message: non-empty
 * UTF-8 without a newline, at most %PUNCH_MULTISTREAM_MAX_MESSAGE - 1
 * bytes. Any such string is a valid protocol id; the "/name/version" form
 * is a convention only.
 *
 * Returns: %TRUE if it can
 */
gboolean
punch_multistream_is_valid_protocol (const gchar *protocol)
{
  if (protocol == NULL)
    return FALSE;

  return line_is_valid (protocol, strnlen (protocol, PUNCH_MULTISTREAM_MAX_MESSAGE));
}

/*
 * punch_multistream_write_message:
 * @out: where to append the message
 * @line: a valid protocol id, "na" or "ls" (see
 *   punch_multistream_is_valid_protocol())
 *
 * Appends the message for @line: its length plus one as an unsigned
 * varint, @line, then '\n'.
 */
void
punch_multistream_write_message (GByteArray  *out,
                                 const gchar *line)
{
  guint8 prefix[PUNCH_VARINT_MAX_LEN];
  gsize len, n;

  g_return_if_fail (out != NULL);
  g_return_if_fail (punch_multistream_is_valid_protocol (line));

  len = strlen (line);
  n = punch_varint_encode (len + 1, prefix);
  g_byte_array_append (out, prefix, (guint) n);
  g_byte_array_append (out, (const guint8 *) line, (guint) len);
  g_byte_array_append (out, (const guint8 *) "\n", 1);
}

/*
 * punch_multistream_read_message:
 * @buf: (array length=len): received bytes
 * @len: their number
 * @out_line: (out) (optional) (transfer full): the message's text, without
 *   its newline
 * @out_consumed: (out) (optional): the length of the message in @buf,
 *   prefix included
 * @error: return location for a #GError
 *
 * Decodes the message at the start of @buf; bytes after it are ignored.
 *
 * Errors: %PUNCH_ERROR_TRUNCATED if @buf ends inside the message (wait for
 * more); %PUNCH_ERROR_TOO_LARGE if the length prefix says more than
 * %PUNCH_MULTISTREAM_MAX_MESSAGE bytes (decided from the prefix alone, so a
 * prefix of three bytes or more, which encodes at least 16384, is refused
 * as soon as its second byte is seen); %PUNCH_ERROR_PROTOCOL if the prefix
 * is not minimally encoded, the message is empty or does not end with
 * '\n', or its text is empty, not UTF-8, or holds a NUL or another '\n'.
 *
 * Returns: %TRUE on success
 */
gboolean
punch_multistream_read_message (const guint8  *buf,
                                gsize          len,
                                gchar        **out_line,
                                gsize         *out_consumed,
                                GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  guint64 msg_len;
  gsize prefix_len;
  const gchar *text;

  g_return_val_if_fail (buf != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* A length of at most 1024 fits in two varint bytes: two continuation
   * bits in a row already mean 2^14 or more. */
  if (len >= 2 && (buf[0] & 0x80) && (buf[1] & 0x80))
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "multistream message is longer than %d bytes",
                   PUNCH_MULTISTREAM_MAX_MESSAGE);
      return FALSE;
    }

  if (!punch_varint_decode (buf, MIN (len, 2), &msg_len, &prefix_len, &local_error))
    {
      if (g_error_matches (local_error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                     "Bad multistream length prefix: %s", local_error->message);
      return FALSE;
    }

  if (msg_len > PUNCH_MULTISTREAM_MAX_MESSAGE)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_TOO_LARGE,
                   "multistream message of %" G_GUINT64_FORMAT " bytes is "
                   "longer than %d bytes", msg_len, PUNCH_MULTISTREAM_MAX_MESSAGE);
      return FALSE;
    }

  if (msg_len == 0)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                           "Empty multistream message (no newline)");
      return FALSE;
    }

  if (len - prefix_len < msg_len)
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED,
                           "Input ends inside a multistream message");
      return FALSE;
    }

  text = (const gchar *) buf + prefix_len;
  if (text[msg_len - 1] != '\n')
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                           "multistream message does not end with a newline");
      return FALSE;
    }

  if (!line_is_valid (text, msg_len - 1))
    {
      g_set_error_literal (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                           "multistream message is empty, not UTF-8, or "
                           "holds a NUL or newline");
      return FALSE;
    }

  if (out_line)
    *out_line = g_strndup (text, msg_len - 1);
  if (out_consumed)
    *out_consumed = prefix_len + msg_len;

  return TRUE;
}

/* Machine */

static gboolean
protocols_are_valid (const gchar * const *protocols)
{
  if (protocols == NULL || protocols[0] == NULL)
    return FALSE;

  for (gsize i = 0; protocols[i] != NULL; i++)
    if (!punch_multistream_is_valid_protocol (protocols[i]))
      return FALSE;

  return TRUE;
}

static PunchMultistream *
multistream_new (gboolean dialer)
{
  PunchMultistream *ms = g_new0 (PunchMultistream, 1);

  ms->dialer = dialer;
  ms->state = PUNCH_MULTISTREAM_NEGOTIATING;
  ms->input = g_byte_array_new ();
  ms->output = g_byte_array_new ();

  return ms;
}

/*
 * punch_multistream_new_dialer:
 * @protocols: (array zero-terminated=1): the protocol ids to propose, most
 *   preferred first; at least one, each valid (see
 *   punch_multistream_is_valid_protocol())
 *
 * Creates the dialer (Initiator) side. It proposes @protocols one after
 * the other until the listener accepts one.
 *
 * Returns: (transfer full): the new machine
 */
PunchMultistream *
punch_multistream_new_dialer (const gchar * const *protocols)
{
  PunchMultistream *ms;

  g_return_val_if_fail (protocols_are_valid (protocols), NULL);

  ms = multistream_new (TRUE);
  ms->protocols = g_strdupv ((gchar **) protocols);

  return ms;
}

/*
 * punch_multistream_new_listener:
 * @match: (scope notified): decides whether a proposed protocol id is
 *   accepted; called with valid ids only, never with "ls" or the header
 * @user_data: (closure): data for @match
 * @user_data_free: (nullable): frees @user_data with the machine
 *
 * Creates the listener (Responder) side. It accepts the first proposal
 * @match accepts.
 *
 * Returns: (transfer full): the new machine
 */
PunchMultistream *
punch_multistream_new_listener (PunchMultistreamMatchFunc match,
                                gpointer                  user_data,
                                GDestroyNotify            user_data_free)
{
  PunchMultistream *ms;

  g_return_val_if_fail (match != NULL, NULL);

  ms = multistream_new (FALSE);
  ms->match = match;
  ms->match_data = user_data;
  ms->match_data_free = user_data_free;

  return ms;
}

static gboolean
match_in_strv (const gchar *protocol,
               gpointer     user_data)
{
  return g_strv_contains ((const gchar * const *) user_data, protocol);
}

/*
 * punch_multistream_new_listener_for_protocols:
 * @protocols: (array zero-terminated=1): the protocol ids accepted (exact
 *   matches), each valid
 *
 * Creates a listener that accepts exactly the ids in @protocols.
 *
 * Returns: (transfer full): the new machine
 */
PunchMultistream *
punch_multistream_new_listener_for_protocols (const gchar * const *protocols)
{
  g_return_val_if_fail (protocols_are_valid (protocols), NULL);

  return punch_multistream_new_listener (match_in_strv,
                                         g_strdupv ((gchar **) protocols),
                                         (GDestroyNotify) g_strfreev);
}

/*
 * punch_multistream_free:
 * @ms: (nullable) (transfer full): a machine
 *
 * Frees @ms and the data of its match function.
 */
void
punch_multistream_free (PunchMultistream *ms)
{
  if (ms == NULL)
    return;

  if (ms->match_data_free)
    ms->match_data_free (ms->match_data);
  g_strfreev (ms->protocols);
  g_free (ms->protocol);
  g_byte_array_unref (ms->input);
  g_byte_array_unref (ms->output);
  g_clear_pointer (&ms->remaining, g_byte_array_unref);
  g_free (ms);
}

/*
 * punch_multistream_is_dialer:
 * @ms: a machine
 *
 * Returns: %TRUE for a dialer, %FALSE for a listener
 */
gboolean
punch_multistream_is_dialer (PunchMultistream *ms)
{
  g_return_val_if_fail (ms != NULL, FALSE);

  return ms->dialer;
}

/*
 * punch_multistream_start:
 * @ms: a machine not started yet
 *
 * Queues the first output: the header, and for a dialer its first
 * proposal right behind it. Call once, before punch_multistream_receive().
 */
void
punch_multistream_start (PunchMultistream *ms)
{
  g_return_if_fail (ms != NULL);
  g_return_if_fail (!ms->started);

  ms->started = TRUE;
  punch_multistream_write_message (ms->output, PUNCH_MULTISTREAM_PROTOCOL_ID);
  if (ms->dialer)
    {
      g_debug ("multistream: proposing %s", ms->protocols[0]);
      punch_multistream_write_message (ms->output, ms->protocols[0]);
    }
}

static gboolean
dialer_handle (PunchMultistream  *ms,
               const gchar       *line,
               GError           **error)
{
  const gchar *proposal = ms->protocols[ms->current];

  if (strcmp (line, proposal) == 0)
    {
      g_debug ("multistream: %s accepted", proposal);
      ms->protocol = g_strdup (proposal);
      ms->state = PUNCH_MULTISTREAM_DONE;
      return TRUE;
    }

  if (strcmp (line, NA) != 0)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                   "Unexpected multistream answer “%s” to “%s”", line, proposal);
      return FALSE;
    }

  g_debug ("multistream: %s refused", proposal);
  ms->current++;
  if (ms->protocols[ms->current] == NULL)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_UNSUPPORTED,
                   "The peer accepts none of the %u protocols proposed",
                   ms->current);
      return FALSE;
    }

  g_debug ("multistream: proposing %s", ms->protocols[ms->current]);
  punch_multistream_write_message (ms->output, ms->protocols[ms->current]);
  return TRUE;
}

static gboolean
listener_handle (PunchMultistream  *ms,
                 const gchar       *line,
                 GError           **error)
{
  if (strcmp (line, LS) != 0 &&
      strcmp (line, PUNCH_MULTISTREAM_PROTOCOL_ID) != 0 &&
      ms->match (line, ms->match_data))
    {
      g_debug ("multistream: accepting %s", line);
      punch_multistream_write_message (ms->output, line);
      ms->protocol = g_strdup (line);
      ms->state = PUNCH_MULTISTREAM_DONE;
      return TRUE;
    }

  if (++ms->refused > PUNCH_MULTISTREAM_MAX_PROPOSALS)
    {
      g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                   "More than %d multistream proposals refused",
                   PUNCH_MULTISTREAM_MAX_PROPOSALS);
      return FALSE;
    }

  g_debug ("multistream: refusing %s", line);
  punch_multistream_write_message (ms->output, NA);
  return TRUE;
}

static gboolean
handle_line (PunchMultistream  *ms,
             const gchar       *line,
             GError           **error)
{
  if (!ms->header_received)
    {
      if (strcmp (line, PUNCH_MULTISTREAM_PROTOCOL_ID) != 0)
        {
          g_set_error (error, PUNCH_ERROR, PUNCH_ERROR_PROTOCOL,
                       "Expected the multistream header " PUNCH_MULTISTREAM_PROTOCOL_ID
                       ", got “%s”", line);
          return FALSE;
        }
      ms->header_received = TRUE;
      return TRUE;
    }

  if (ms->dialer)
    return dialer_handle (ms, line, error);
  else
    return listener_handle (ms, line, error);
}

/*
 * punch_multistream_receive:
 * @ms: a started machine that has not failed
 * @buf: (array length=len): bytes read from the peer
 * @len: their number
 * @error: return location for a #GError
 *
 * Feeds bytes in any split (a byte at a time or many messages at once).
 * Complete messages are handled at once and their answers queued for
 * punch_multistream_pull_output(); an incomplete one waits for more
 * bytes. When the negotiation ends, the bytes after its last message are
 * kept for punch_multistream_steal_remaining(), and so are all bytes fed
 * after that.
 *
 * Errors (the state becomes %PUNCH_MULTISTREAM_FAILED): %PUNCH_ERROR_PROTOCOL
 * if the peer's first message is not the header, an answer is neither
 * the proposal nor "na", a message is malformed (see
 * punch_multistream_read_message()), or a listener refused more than
 * %PUNCH_MULTISTREAM_MAX_PROPOSALS proposals; %PUNCH_ERROR_TOO_LARGE if a
 * message is longer than %PUNCH_MULTISTREAM_MAX_MESSAGE bytes;
 * %PUNCH_ERROR_UNSUPPORTED if the listener answered "na" to every
 * proposal of a dialer.
 *
 * Returns: %FALSE on error
 */
gboolean
punch_multistream_receive (PunchMultistream  *ms,
                           const guint8      *buf,
                           gsize              len,
                           GError           **error)
{
  g_autoptr(GError) local_error = NULL;
  gsize off = 0;

  g_return_val_if_fail (ms != NULL, FALSE);
  g_return_val_if_fail (buf != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (ms->started, FALSE);
  g_return_val_if_fail (ms->state != PUNCH_MULTISTREAM_FAILED, FALSE);
  /* GByteArray lengths are guint. */
  g_return_val_if_fail (len <= G_MAXUINT / 2, FALSE);

  if (ms->state == PUNCH_MULTISTREAM_DONE)
    {
      g_byte_array_append (ms->remaining, buf, (guint) len);
      return TRUE;
    }

  g_byte_array_append (ms->input, buf, (guint) len);

  while (ms->state == PUNCH_MULTISTREAM_NEGOTIATING && off < ms->input->len)
    {
      g_autofree gchar *line = NULL;
      gsize consumed = 0;

      if (!punch_multistream_read_message (ms->input->data + off,
                                           ms->input->len - off,
                                           &line, &consumed, &local_error))
        {
          if (g_error_matches (local_error, PUNCH_ERROR, PUNCH_ERROR_TRUNCATED))
            {
              g_clear_error (&local_error);
              break;
            }
          goto failed;
        }
      off += consumed;

      if (!handle_line (ms, line, &local_error))
        goto failed;
    }

  g_byte_array_remove_range (ms->input, 0, (guint) off);

  if (ms->state == PUNCH_MULTISTREAM_DONE)
    {
      /* What is left belongs to the negotiated protocol. */
      ms->remaining = g_steal_pointer (&ms->input);
      ms->input = g_byte_array_new ();
    }

  return TRUE;

failed:
  g_debug ("multistream: negotiation failed: %s", local_error->message);
  ms->state = PUNCH_MULTISTREAM_FAILED;
  g_byte_array_set_size (ms->input, 0);
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

/*
 * punch_multistream_pull_output:
 * @ms: a machine
 *
 * Takes the bytes queued for the peer.
 *
 * Returns: (transfer full) (nullable): the bytes to send, or %NULL if
 *   there are none
 */
GBytes *
punch_multistream_pull_output (PunchMultistream *ms)
{
  GBytes *bytes;

  g_return_val_if_fail (ms != NULL, NULL);

  if (ms->output->len == 0)
    return NULL;

  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&ms->output));
  ms->output = g_byte_array_new ();

  return bytes;
}

/*
 * punch_multistream_get_state:
 * @ms: a machine
 *
 * Returns: whether the negotiation is under way, done or failed
 */
PunchMultistreamState
punch_multistream_get_state (PunchMultistream *ms)
{
  g_return_val_if_fail (ms != NULL, PUNCH_MULTISTREAM_FAILED);

  return ms->state;
}

/*
 * punch_multistream_get_protocol:
 * @ms: a machine
 *
 * Returns: (nullable): the agreed protocol id once the state is
 *   %PUNCH_MULTISTREAM_DONE, else %NULL
 */
const gchar *
punch_multistream_get_protocol (PunchMultistream *ms)
{
  g_return_val_if_fail (ms != NULL, NULL);

  return ms->protocol;
}

/*
 * punch_multistream_steal_remaining:
 * @ms: a machine
 *
 * Takes the bytes received after the negotiation ended (the peer's first
 * bytes of the agreed protocol), exactly as they arrived. Later calls
 * return what later punch_multistream_receive() calls fed.
 *
 * Returns: (transfer full) (nullable): the bytes, or %NULL if there are
 *   none or the state is not %PUNCH_MULTISTREAM_DONE
 */
GBytes *
punch_multistream_steal_remaining (PunchMultistream *ms)
{
  GBytes *bytes;

  g_return_val_if_fail (ms != NULL, NULL);

  if (ms->state != PUNCH_MULTISTREAM_DONE || ms->remaining->len == 0)
    return NULL;

  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&ms->remaining));
  ms->remaining = g_byte_array_new ();

  return bytes;
}
