/* punch-test-util.h: waits on the main context, shared by the unit tests.
 *
 * Copyright 2026 The Punch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

/* Every wait is a main loop iteration bounded by a failsafe timeout
 * (seconds; a test file may define its own before including this). */
#ifndef WAIT_TIMEOUT_S
#define WAIT_TIMEOUT_S 60
#endif

static inline gboolean
set_true (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the thread-default main context until @cond holds, at most
 * WAIT_TIMEOUT_S seconds, then asserts @cond. */
#define WAIT_FOR(cond)                                                       \
  G_STMT_START {                                                             \
    gboolean timed_out_ = FALSE;                                             \
    guint failsafe_ = g_timeout_add_seconds (WAIT_TIMEOUT_S, set_true,       \
                                             &timed_out_);                   \
    while (!(cond) && !timed_out_)                                           \
      g_main_context_iteration (NULL, TRUE);                                 \
    if (!timed_out_)                                                         \
      g_source_remove (failsafe_);                                           \
    g_assert_true (cond);                                                    \
  } G_STMT_END

/* A GAsyncReadyCallback that keeps the result in *(GAsyncResult **) user_data. */
static inline void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GAsyncResult **out = user_data;

  g_assert_null (*out);
  *out = g_object_ref (result);
}

/* Runs what is ready without waiting (bounded). */
static inline void
run_pending (void)
{
  for (guint i = 0; i < 10000 && g_main_context_iteration (NULL, FALSE); i++)
    ;
}
