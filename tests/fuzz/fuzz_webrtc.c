/* libFuzzer target for what arrives on a WebRTC leg after ICE: RFC 7983 demultiplexing, DTLS
 * records into a passive DTLS endpoint (OpenSSL's record and handshake parsing), SRTP/SRTCP
 * without keys. A real call is set up once over NG (an aiortc offer from the SDP corpus, a plain
 * answer); each input is split into datagrams on "#DG#" and fed to rg_webrtc_input(). */
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "ng.h"
#include "webrtc.h"

static rg_webrtc *wt;

static char *slurp(const char *path)
{
	char *s = NULL;
	if (!g_file_get_contents(path, &s, NULL, NULL))
		abort();
	return s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *args[] = { "rtpgate", "--config-file=none", "--interface=127.0.0.1", "--port-min=23000",
			 "--port-max=23999", "--num-threads=1", "--delete-delay=0", NULL };
	static rg_config cfg;
	char *err = NULL;
	rg_log_init(true, RG_LOG_ERR - 1, "fuzz_webrtc");
	if (rg_config_load(&cfg, G_N_ELEMENTS(args) - 1, args, &err) < 0)
		abort();
	g_ptr_array_set_size(cfg.listen_ng, 0);
	g_ptr_array_set_size(cfg.listen_rtpproxy, 0);
	if (rg_engine_start(&cfg, NULL, &err) < 0)
		abort();
	char *offer = slurp(RG_SRCDIR "/tests/sdp/aiortc-1.4-audio-offer.sdp");
	const char *answer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			     "m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n";
	GString *q = g_string_new(NULL);
	g_string_printf(q, "d3:sdp%zu:%s3:ICE6:remove18:transport-protocol7:RTP/AVP7:call-id2:fz"
			"8:from-tag1:A7:command5:offere", strlen(offer), offer);
	size_t olen;
	g_free(ng_process(q->str, q->len, &olen));
	g_string_printf(q, "d3:sdp%zu:%s3:ICE5:force18:transport-protocol17:UDP/TLS/RTP/SAVPF7:call-id2:fz"
			"8:from-tag1:A6:to-tag1:B7:command6:answere", strlen(answer), answer);
	g_free(ng_process(q->str, q->len, &olen));
	g_string_free(q, TRUE);
	g_free(offer);
	rg_call *c = rg_call_get("fz");
	if (!c)
		abort();
	rg_party *a = rg_party_find(c, "A");
	if (!a || !a->medias->len || !(wt = ((rg_media *)a->medias->pdata[0])->wrtc))
		abort();   /* the browser's leg must be a WebRTC leg */
	rg_call_unref(c);   /* the table keeps it */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rg_ice_pkt pkts[8];
	unsigned n = 0;
	const uint8_t *p = data, *end = data + size;
	while (n < G_N_ELEMENTS(pkts) && p <= end) {
		const uint8_t *sep = memmem(p, (size_t)(end - p), "#DG#", 4);
		size_t len = sep ? (size_t)(sep - p) : (size_t)(end - p);
		pkts[n].buf = p;
		pkts[n].len = len;
		memset(&pkts[n].from, 0, sizeof(pkts[n].from));
		n++;
		if (!sep)
			break;
		p = sep + 4;
	}
	rg_webrtc_input(wt, pkts, n);
	return 0;
}
