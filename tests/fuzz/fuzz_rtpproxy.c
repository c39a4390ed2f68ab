/* libFuzzer target for the rtpproxy command path: tokeniser, U/L modifier table, tag parsing and
 * every command against a running engine (workers, real media sockets, no control sockets).
 * One input is up to 8 commands separated by "#RP#", so U/L/Q/D sequences on one call are
 * reachable; calls are torn down after every input so ports never run out.
 * Invariants checked: every command gets exactly one answer line ending in '\n', an error answer
 * is "E<digits>\n", and no answer is longer than the room the client has. */
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "rtpp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *args[] = { "rtpgate", "--config-file=none", "--interface=internal/127.0.0.1",
			 "--interface=external/127.0.0.2", "--interface=internal/::1", "--port-min=24800",
			 "--port-max=24999", "--num-threads=1", NULL };
	static rg_config cfg;
	char *err = NULL;
	rg_log_init(true, RG_LOG_ERR - 1, "fuzz_rtpproxy");  /* quiet */
	if (rg_config_load(&cfg, G_N_ELEMENTS(args) - 1, args, &err) < 0)
		abort();
	g_ptr_array_set_size(cfg.listen_ng, 0);        /* no sockets: inputs go to rtpp_process() */
	g_ptr_array_set_size(cfg.listen_rtpproxy, 0);
	if (rg_engine_start(&cfg, NULL, &err) < 0)
		abort();
	return 0;
}

static void check_answer(const GString *out, size_t room)
{
	if (out->len == 0 || out->str[out->len - 1] != '\n')
		abort();
	if (memchr(out->str, '\n', out->len) != out->str + out->len - 1 && out->str[0] != 's')
		abort();   /* one line, except I's fixed five ("sessions created: ...") */
	if (out->str[0] == 'E') {
		for (size_t i = 1; i + 1 < out->len; i++)
			if (out->str[i] < '0' || out->str[i] > '9')
				abort();
	} else if (out->len > room) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	for (int i = 0; i < 8 && p <= end; i++) {
		const char *sep = memmem(p, (size_t)(end - p), "#RP#", 4);
		size_t len = sep ? (size_t)(sep - p) : (size_t)(end - p);
		/* the parsers on their own */
		rtpp_cmd cmd;
		if (rtpp_cmd_parse(p, len, &cmd) == 0) {
			rtpp_ul_mods m;
			const char *why = NULL;
			if (rtpp_ul_mods_parse(cmd.mods, &m, &why) != 0 && !why)
				abort();
			for (unsigned a = 0; a < cmd.argc; a++) {
				rtpp_tag t;
				if (rtpp_tag_parse(cmd.arg[a], &t) && t.tag.len == 0)
					abort();
			}
		}
		/* the whole command; room varies as the cookie length would */
		size_t room = len & 1 ? RTPP_REPLY_MAX : 16;
		GString *out = g_string_new(NULL);
		rtpp_process(p, len, room, out);
		check_answer(out, room);
		g_string_free(out, TRUE);
		if (!sep)
			break;
		p = sep + 4;
	}
	rg_calls_destroy_all();
	return 0;
}
