/* libFuzzer target for the whole NG request path: bencode decoding, key/flag tables, every
 * command with SDP parsing and rewriting, against a running engine (workers, real sockets).
 * Calls are torn down after every input so ports never run out. */
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "ng.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *args[] = { "rtpgate", "--config-file=none", "--interface=127.0.0.1", "--port-min=23000",
			 "--port-max=23999", "--num-threads=1", "--delete-delay=0", NULL };
	static rg_config cfg;
	char *err = NULL;
	rg_log_init(true, RG_LOG_ERR - 1, "fuzz_ng");  /* quiet */
	if (rg_config_load(&cfg, G_N_ELEMENTS(args) - 1, args, &err) < 0)
		abort();
	g_ptr_array_set_size(cfg.listen_ng, 0);   /* no control socket: inputs go to ng_process() */
	g_ptr_array_set_size(cfg.listen_rtpproxy, 0);
	if (rg_engine_start(&cfg, NULL, &err) < 0)
		abort();
	return 0;
}

/* One input is up to 8 requests separated by "#NG#", so offer/answer/query/delete sequences on
 * one call are reachable. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	for (int i = 0; i < 8 && p <= end; i++) {
		const char *sep = memmem(p, (size_t)(end - p), "#NG#", 4);
		size_t len = sep ? (size_t)(sep - p) : (size_t)(end - p);
		size_t olen = 0;
		char *out = ng_process(p, len, &olen);
		if (!out || olen == 0 || out[0] != 'd')
			abort();   /* every input gets a dictionary reply */
		g_free(out);
		if (!sep)
			break;
		p = sep + 4;
	}
	rg_calls_destroy_all();
	return 0;
}
