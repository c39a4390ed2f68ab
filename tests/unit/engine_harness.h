/* Starting and stopping the real engine inside a unit test (test_ng.c, test_transcode.c,
 * test_rtpp.c, test_bundle.c, ...): the daemon's own option parsing, then rg_engine_start().
 * Header-only; each test is one executable. */
#ifndef RG_TEST_ENGINE_HARNESS_H
#define RG_TEST_ENGINE_HARNESS_H

#include <glib.h>
#include <stdarg.h>

#include "config.h"
#include "engine.h"

/* Daemon options (NULL-terminated, argv[0] not included) into cfg, then the engine is started;
 * any failure ends the test with the reason. Stop with test_engine_stop(). */
static G_GNUC_NULL_TERMINATED void test_engine_start(rg_config *cfg, const char *opt, ...)
{
	GPtrArray *argv = g_ptr_array_new();
	g_ptr_array_add(argv, (char *)"rtpgate");
	va_list ap;
	va_start(ap, opt);
	for (const char *o = opt; o; o = va_arg(ap, const char *))
		g_ptr_array_add(argv, (char *)o);
	va_end(ap);
	char *err = NULL;
	if (rg_config_load(cfg, (int)argv->len, (char **)argv->pdata, &err) < 0)
		g_error("config: %s", err);
	if (rg_engine_start(cfg, NULL, &err) < 0)
		g_error("engine: %s", err);
	g_ptr_array_free(argv, TRUE);
}

static void test_engine_stop(rg_config *cfg)
{
	rg_engine_stop();
	rg_config_clear(cfg);
}

#endif
