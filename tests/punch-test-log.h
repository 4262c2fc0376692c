/* punch-test-log.h: captures the library's log messages, for tests that
 * assert a logged reason.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <string.h>

#include <glib.h>

/* Messages of the "Punch" domain (the reasons connections close are
 * logged with g_debug), whatever G_MESSAGES_DEBUG says. A writer may run
 * in any thread, hence the lock. */
static GMutex log_mutex;
static GPtrArray *log_lines;

static inline GLogWriterOutput
log_capture_writer (GLogLevelFlags   log_level,
                    const GLogField *fields,
                    gsize            n_fields,
                    gpointer         user_data)
{
  const gchar *domain = NULL;
  const gchar *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0 && fields[i].length < 0)
        domain = fields[i].value;
      else if (g_strcmp0 (fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
        message = fields[i].value;
    }
  if (g_strcmp0 (domain, "Punch") == 0 && message != NULL)
    {
      g_mutex_lock (&log_mutex);
      if (log_lines != NULL)
        g_ptr_array_add (log_lines, g_strdup (message));
      g_mutex_unlock (&log_mutex);
    }

  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

/* Call once, from main(), before the tests run. */
static inline void
log_capture_start (void)
{
  log_lines = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (log_capture_writer, NULL, NULL);
}

static inline void
log_capture_stop (void)
{
  g_mutex_lock (&log_mutex);
  g_clear_pointer (&log_lines, g_ptr_array_unref);
  g_mutex_unlock (&log_mutex);
}

static inline void
log_clear (void)
{
  g_mutex_lock (&log_mutex);
  g_ptr_array_set_size (log_lines, 0);
  g_mutex_unlock (&log_mutex);
}

/* Whether a captured line contains @first and then @second. */
static inline gboolean
log_has (const gchar *first,
         const gchar *second)
{
  gboolean found = FALSE;

  g_mutex_lock (&log_mutex);
  for (guint i = 0; i < log_lines->len && !found; i++)
    {
      const gchar *line = g_ptr_array_index (log_lines, i);
      const gchar *at = strstr (line, first);

      found = at != NULL && strstr (at + strlen (first), second) != NULL;
    }
  g_mutex_unlock (&log_mutex);

  return found;
}

/* Puts the captured lines into the test's output (on a failure). */
static inline void
log_dump (void)
{
  g_mutex_lock (&log_mutex);
  for (guint i = 0; i < log_lines->len; i++)
    g_test_message ("Punch: %s", (const gchar *) g_ptr_array_index (log_lines, i));
  g_mutex_unlock (&log_mutex);
}
