/* rtpproxy-protocol commands in unit tests (test_player.c, test_recording.c): a command through
 * rtpp_process() and its answer. Header-only; each test is one executable. */
#ifndef RG_TEST_RTPP_HARNESS_H
#define RG_TEST_RTPP_HARNESS_H

#include <glib.h>
#include <string.h>

#include "rtpp.h"

/* The answer to one command (g_malloc'd), as Kamailio would get it. */
static G_GNUC_UNUSED char *rp(const char *cmd)
{
	GString *out = g_string_new(NULL);
	rtpp_process(cmd, strlen(cmd), RTPP_REPLY_MAX, out);
	return g_string_free(out, FALSE);
}

#define ASSERT_RP(cmd, want) do { g_autofree char *_a = rp(cmd); g_assert_cmpstr(_a, ==, want); } while (0)

#endif
