/* libFuzzer target for gateway/sdp.c: parse arbitrary bytes; when they parse, write, parse the output
 * again and write again: the second parse must succeed and both writes must be identical (the writer's
 * output is a fixed point). Also exercises sdp_copy and the read-only helpers. Seeds:
 * tests/fuzz/corpus/sdp/. Owns nothing beyond one iteration. */
#include "sdp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void poke_helpers(const sdp_session *s)
{
	for (guint i = 0; i < s->media->len; i++) {
		const sdp_media *m = g_ptr_array_index(s->media, i);
		unsigned port;
		const char *at, *addr;
		if (sdp_media_rtcp(m, &port, &at, &addr)) {
			if (port == 0 || port > 65535)
				abort();
			if ((at == NULL) != (addr == NULL))
				abort();
			if (addr && strlen(addr) == 0)
				abort();
		}
		(void)sdp_dir_name(sdp_media_dir(s, m));
		(void)sdp_media_conn(s, m);
		(void)sdp_attr_value(m->attrs, "rtpmap");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sdp_session *s = NULL;
	const char *err = NULL;
	if (sdp_parse((const char *)data, size, &s, &err) != 0) {
		if (!err || strncmp(err, "SDP", 3) != 0)
			abort();
		return 0;
	}
	poke_helpers(s);

	size_t len1 = 0, len2 = 0;
	char *w1 = sdp_write(s, &len1);
	if (len1 != strlen(w1))
		abort();

	/* The output may grow a little (LF -> CRLF); it only has to fit the limits for inputs that are
	 * well below them, which is all libFuzzer generates with its default -max_len. */
	sdp_session *s2 = NULL;
	if (sdp_parse(w1, len1, &s2, &err) != 0) {
		fprintf(stderr, "re-parse failed: %s\n--- written\n%s", err, w1);
		abort();
	}
	char *w2 = sdp_write(s2, &len2);
	if (len1 != len2 || memcmp(w1, w2, len1) != 0) {
		fprintf(stderr, "writes differ\n--- first\n%s--- second\n%s", w1, w2);
		abort();
	}

	sdp_session *c = sdp_copy(s2);
	char *w3 = sdp_write(c, NULL);
	if (strcmp(w3, w2) != 0) {
		fprintf(stderr, "copy writes differently\n");
		abort();
	}

	g_free(w3);
	sdp_free(c);
	g_free(w2);
	sdp_free(s2);
	g_free(w1);
	sdp_free(s);
	return 0;
}
