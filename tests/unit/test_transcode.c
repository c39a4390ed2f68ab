/* Transcoding through the real engine: NG codec ops rewrite offer and answer (codec_neg.c), and
 * media sent through real sockets is decoded and re-encoded (transcode.c): Opus <-> PCMU. */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bencode.h"
#include "call.h"
#include "codec_neg.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "ng.h"
#include "rg_codec.h"
#include "ng_harness.h"
#include "engine_harness.h"

#define PORT_MIN 23100
#define PORT_MAX 23163

static void assert_ok(const reply *r)
{
	assert_result(r, "ok");
}

static void assert_has(const char *sdp, const char *what, bool want)
{
	if ((strstr(sdp, what) != NULL) != want)
		g_error("SDP %s '%s':\n%s", want ? "lacks" : "has", what, sdp);
}

static char *sdp_of(unsigned port, const char *fmts, const char *attrs)
{
	return g_strdup_printf("v=0\r\no=- 1545997027 1 IN IP4 127.0.0.1\r\ns=tester\r\n"
			       "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %u RTP/AVP %s\r\n%sa=sendrecv\r\n",
			       port, fmts, attrs);
}

#define OPUS_ATTRS "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n" \
		   "a=rtcp-fb:111 transport-cc\r\n"
#define TE48_ATTRS "a=rtpmap:126 telephone-event/48000\r\na=fmtp:126 0-15\r\n"
#define PCMU_ATTRS "a=rtpmap:0 PCMU/8000\r\n"

/* ---- media ---- */
typedef struct stream_check {
	unsigned packets;
	uint8_t pt;
	uint32_t ssrc;
	uint16_t last_seq;
	uint32_t last_ts;
	unsigned seq_errors, ts_errors, pt_errors, ssrc_changes;
	int16_t *pcm;        /* decoded */
	unsigned n_pcm, cap_pcm;
} stream_check;

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void take(stream_check *sc, rg_decoder *dec, const uint8_t *pkt, ssize_t n, uint8_t want_pt,
		 uint32_t ts_step)
{
	g_assert_cmpint(n, >, 12);
	uint8_t pt = pkt[1] & 0x7f;
	uint16_t seq = (uint16_t)(pkt[2] << 8 | pkt[3]);
	uint32_t ts = get32(pkt + 4), ssrc = get32(pkt + 8);
	if (pt != want_pt)
		sc->pt_errors++;
	if (sc->packets) {
		if (seq != (uint16_t)(sc->last_seq + 1))
			sc->seq_errors++;
		if (ts != sc->last_ts + ts_step)
			sc->ts_errors++;
		if (ssrc != sc->ssrc)
			sc->ssrc_changes++;
	}
	sc->ssrc = ssrc;
	sc->last_seq = seq;
	sc->last_ts = ts;
	sc->packets++;
	if (sc->n_pcm + 5760 > sc->cap_pcm) {
		sc->cap_pcm = sc->cap_pcm * 2 + 8192;
		sc->pcm = g_renew(int16_t, sc->pcm, sc->cap_pcm);
	}
	unsigned got = 0;
	if (rg_dec_decode(dec, pkt + 12, (size_t)n - 12, sc->pcm + sc->n_pcm, sc->cap_pcm - sc->n_pcm, &got) == 0)
		sc->n_pcm += got;
}

static void drain(int fd, stream_check *sc, rg_decoder *dec, uint8_t want_pt, uint32_t ts_step, int timeout_ms)
{
	uint8_t buf[2048];
	for (;;) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = timeout_ms * 1000 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		ssize_t n = timeout_ms ? recv(fd, buf, sizeof(buf), 0) : recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			return;
		take(sc, dec, buf, n, want_pt, ts_step);
	}
}

/* frequency by zero crossings of pcm[skip..] */
static double tone_freq(const int16_t *pcm, unsigned n, unsigned rate, unsigned skip)
{
	if (n <= skip + rate / 10)
		return 0;
	unsigned cross = 0, first = 0, last = 0;
	for (unsigned i = skip + 1; i < n; i++) {
		if (pcm[i - 1] < 0 && pcm[i] >= 0) {
			if (!cross)
				first = i;
			last = i;
			cross++;
		}
	}
	if (cross < 2)
		return 0;
	return (double)(cross - 1) * rate / (double)(last - first);
}

static uint32_t last_ssrc, last_ts;   /* of the last stream run_media() received */
static uint16_t last_seq;

/* Send `packets` 20 ms packets of a tone encoded as `t` (PT pt) from fd to port; what comes back
 * on rx_fd (PT want_pt, type rx_t) is checked and its tone measured. */
static void run_media(int fd, unsigned port, const char *t_name, unsigned t_rate, uint8_t pt, double hz,
		      int rx_fd, const char *rx_name, unsigned rx_rate, uint8_t want_pt, unsigned packets,
		      double want_hz)
{
	const rg_codec_type *t, *rt;
	g_assert_cmpint(rg_codec_find(&t, t_name, t_rate, 0, NULL), ==, 0);
	g_assert_cmpint(rg_codec_find(&rt, rx_name, rx_rate, 0, NULL), ==, 0);
	unsigned pcm_rate = (t->flags & RG_CODEC_F_OPUS) ? 48000 : 8000;
	unsigned rx_pcm = (rt->flags & RG_CODEC_F_OPUS) ? 48000 : 8000;
	unsigned ts_step = t->rate / 50, rx_step = rt->rate / 50;
	rg_encoder *enc;
	rg_decoder *dec;
	g_assert_cmpint(rg_enc_new(&enc, t, NULL, pcm_rate, 1), ==, 0);
	g_assert_cmpint(rg_dec_new(&dec, rt, NULL, rx_pcm, 1), ==, 0);
	stream_check sc = { 0 };
	unsigned frame = pcm_rate / 50;
	int16_t pcm[960];
	uint8_t pkt[2048];
	uint32_t ssrc_in = 0x5eed1234;
	for (unsigned i = 0; i < packets; i++) {
		for (unsigned k = 0; k < frame; k++)
			pcm[k] = (int16_t)(8000 * sin(2 * M_PI * hz * (double)(i * frame + k) / pcm_rate));
		size_t len = 0;
		g_assert_cmpint(rg_enc_encode(enc, pcm, frame, pkt + 12, sizeof(pkt) - 12, &len), ==, 0);
		pkt[0] = 0x80;
		pkt[1] = pt;
		pkt[2] = (uint8_t)(i >> 8);
		pkt[3] = (uint8_t)i;
		uint32_t ts = htonl(1000 + i * ts_step), ss = htonl(ssrc_in);
		memcpy(pkt + 4, &ts, 4);
		memcpy(pkt + 8, &ss, 4);
		send_to(fd, port, pkt, 12 + len);
		g_usleep(2000);
		drain(rx_fd, &sc, dec, want_pt, rx_step, 0);
	}
	drain(rx_fd, &sc, dec, want_pt, rx_step, 300);
	double f = tone_freq(sc.pcm, sc.n_pcm, rx_pcm, rx_pcm / 10);
	g_test_message("%s -> %s: %u packets out, tone %.1f Hz", t_name, rx_name, sc.packets, f);
	g_assert_cmpuint(sc.packets, >=, packets - 3);
	g_assert_cmpuint(sc.pt_errors, ==, 0);
	g_assert_cmpuint(sc.seq_errors, ==, 0);
	g_assert_cmpuint(sc.ts_errors, ==, 0);
	g_assert_cmpuint(sc.ssrc_changes, ==, 0);
	g_assert_cmpuint(sc.ssrc, !=, ssrc_in);
	g_assert_cmpfloat(fabs(f - want_hz), <, want_hz * 0.02);
	last_ssrc = sc.ssrc;
	last_seq = sc.last_seq;
	last_ts = sc.last_ts;
	rg_enc_free(enc);
	rg_dec_free(dec);
	g_free(sc.pcm);
}

/* Browser-like offerer with Opus (and telephone-event/48000) only; the SIP side gets PCMU. */
static void test_strip_all_transcode_pcmu(void)
{
	unsigned pa, pb;
	int fa = udp_bind(&pa), fb = udp_bind(&pb);
	g_autofree char *sa = sdp_of(pa, "111 126", OPUS_ATTRS TE48_ATTRS);
	g_autoptr(reply) o = ng("offer", "call-id", "tc1", "from-tag", "browser", "sdp", sa,
				"codec", "strip=all;transcode=PCMU", NULL);
	assert_ok(o);
	g_autofree char *to_sip = rstr(o, "sdp");
	assert_has(to_sip, " RTP/AVP 0 96\r\n", true);
	assert_has(to_sip, "a=rtpmap:0 PCMU/8000\r\n", true);
	assert_has(to_sip, "a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n", true);
	assert_has(to_sip, "opus", false);
	assert_has(to_sip, "a=fmtp:111", false);
	assert_has(to_sip, "a=rtcp-fb:111", false);
	assert_has(to_sip, "telephone-event/48000", false);
	g_autofree char *warn = rstr(o, "warning");
	g_assert_null(warn);
	unsigned gb = sdp_port(to_sip, 0);

	g_autofree char *sb = sdp_of(pb, "0 96", PCMU_ATTRS "a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n");
	g_autoptr(reply) a = ng("answer", "call-id", "tc1", "from-tag", "browser", "to-tag", "sip", "sdp", sb, NULL);
	assert_ok(a);
	g_autofree char *to_browser = rstr(a, "sdp");
	assert_has(to_browser, " RTP/AVP 111 126\r\n", true);
	assert_has(to_browser, "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n"
		   "a=rtpmap:126 telephone-event/48000\r\na=fmtp:126 0-15\r\n", true);
	assert_has(to_browser, "PCMU", false);
	assert_has(to_browser, "telephone-event/8000", false);
	unsigned ga = sdp_port(to_browser, 0);

	/* browser -> SIP: Opus 1 kHz in, PCMU out; SIP -> browser: PCMU 440 Hz in, Opus out */
	run_media(fa, ga, "opus", 48000, 111, 1000, fb, "PCMU", 8000, 0, 50, 1000);
	uint32_t ssrc_to_sip = last_ssrc;
	run_media(fb, gb, "PCMU", 8000, 0, 440, fa, "opus", 48000, 111, 50, 440);
	/* DTMF from the SIP side: telephone-event/8000 PT 96 -> /48000 PT 126 in our stream */
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(fa, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (unsigned i = 0; i < 3; i++) {
		uint8_t ev[16] = { 0x80, i ? 96 : 0x80 | 96, 0x10, (uint8_t)i, 0, 0x10, 0, 0, 1, 2, 3, 4,
				   5, (uint8_t)(i == 2 ? 0x80 | 10 : 10), 0, 0 };
		uint16_t dur = (uint16_t)(160 * (i + 1));
		ev[14] = (uint8_t)(dur >> 8);
		ev[15] = (uint8_t)dur;
		send_to(fb, gb, ev, sizeof(ev));
		uint8_t got[2048];
		g_assert_cmpint(recv(fa, got, sizeof(got), 0), ==, 16);
		g_assert_cmpuint(got[1] & 0x7f, ==, 126);
		g_assert_cmpuint(!!(got[1] & 0x80), ==, i == 0);
		g_assert_cmpuint((uint16_t)(got[2] << 8 | got[3]), ==, (uint16_t)(last_seq + 1 + i));
		g_assert_cmpuint(get32(got + 4), ==, last_ts + 960);
		g_assert_cmpuint(get32(got + 8), ==, last_ssrc);
		g_assert_cmpuint(got[12], ==, 5);
		g_assert_cmpuint((unsigned)(got[14] << 8 | got[15]), ==, 960u * (i + 1));
	}
	/* re-INVITE with the same flags: transcoding again, the output stream goes on (same SSRC) */
	g_autoptr(reply) o2 = ng("offer", "call-id", "tc1", "from-tag", "browser", "sdp", sa,
				 "codec", "strip=all;transcode=PCMU", NULL);
	assert_ok(o2);
	g_autoptr(reply) a2 = ng("answer", "call-id", "tc1", "from-tag", "browser", "to-tag", "sip", "sdp", sb, NULL);
	assert_ok(a2);
	run_media(fa, ga, "opus", 48000, 111, 1000, fb, "PCMU", 8000, 0, 20, 1000);
	g_assert_cmpuint(last_ssrc, ==, ssrc_to_sip);
	g_autoptr(reply) d = ng("delete", "call-id", "tc1", NULL);
	close(fa);
	close(fb);
}

/* A codec both sides have: restored by transcode, relayed byte for byte. */
static void test_common_codec_relayed(void)
{
	unsigned pa, pb;
	int fa = udp_bind(&pa), fb = udp_bind(&pb);
	g_autofree char *sa = sdp_of(pa, "111 0", OPUS_ATTRS PCMU_ATTRS);
	g_autoptr(reply) o = ng("offer", "call-id", "tc2", "from-tag", "A", "sdp", sa,
				"flags", "[codec-strip-all codec-transcode-PCMU", NULL);
	assert_ok(o);
	g_autofree char *to_b = rstr(o, "sdp");
	assert_has(to_b, " RTP/AVP 0\r\n", true);
	assert_has(to_b, "opus", false);
	unsigned gb = sdp_port(to_b, 0);
	g_autofree char *sb = sdp_of(pb, "0", PCMU_ATTRS);
	g_autoptr(reply) a = ng("answer", "call-id", "tc2", "from-tag", "A", "to-tag", "B", "sdp", sb, NULL);
	assert_ok(a);
	g_autofree char *to_a = rstr(a, "sdp");
	assert_has(to_a, " RTP/AVP 0\r\n", true);
	unsigned ga = sdp_port(to_a, 0);
	uint8_t pkt[172], got[2048];
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x80;
	for (unsigned i = 0; i < 172 - 12; i++)
		pkt[12 + i] = (uint8_t)(i * 7);
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(fb, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fa, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < 5; i++) {
		pkt[3] = (uint8_t)i;
		send_to(fa, ga, pkt, sizeof(pkt));
		g_assert_cmpint(recv(fb, got, sizeof(got), 0), ==, sizeof(pkt));
		g_assert_cmpmem(got, sizeof(pkt), pkt, sizeof(pkt));
		send_to(fb, gb, pkt, sizeof(pkt));
		g_assert_cmpint(recv(fa, got, sizeof(got), 0), ==, sizeof(pkt));
		g_assert_cmpmem(got, sizeof(pkt), pkt, sizeof(pkt));
	}
	g_autoptr(reply) d = ng("delete", "call-id", "tc2", NULL);
	close(fa);
	close(fb);
}

/* SIP offers PCMU; codec-transcode-opus adds Opus toward the browser, which answers Opus only. */
static void test_transcode_opus_reverse(void)
{
	unsigned pa, pb;
	int fa = udp_bind(&pa), fb = udp_bind(&pb);
	g_autofree char *sa = sdp_of(pa, "0 101", PCMU_ATTRS "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n");
	g_autoptr(reply) o = ng("offer", "call-id", "tc3", "from-tag", "sip", "sdp", sa,
				"flags", "[codec-transcode-opus", NULL);
	assert_ok(o);
	g_autofree char *to_browser = rstr(o, "sdp");
	assert_has(to_browser, " RTP/AVP 0 101 96 97\r\n", true);
	assert_has(to_browser, "a=rtpmap:96 opus/48000/2\r\na=fmtp:96 minptime=10;useinbandfec=1\r\n", true);
	assert_has(to_browser, "a=rtpmap:97 telephone-event/48000\r\n", true);
	unsigned gb = sdp_port(to_browser, 0);
	g_autofree char *sb = sdp_of(pb, "96", "a=rtpmap:96 opus/48000/2\r\na=fmtp:96 useinbandfec=1\r\n");
	g_autoptr(reply) a = ng("answer", "call-id", "tc3", "from-tag", "sip", "to-tag", "browser", "sdp", sb, NULL);
	assert_ok(a);
	g_autofree char *to_sip = rstr(a, "sdp");
	/* the SIP side keeps its telephone-event: its events become tones toward the browser */
	assert_has(to_sip, " RTP/AVP 0 101\r\n", true);
	assert_has(to_sip, "a=rtpmap:0 PCMU/8000\r\n", true);
	assert_has(to_sip, "opus", false);
	unsigned ga = sdp_port(to_sip, 0);
	run_media(fa, ga, "PCMU", 8000, 0, 1000, fb, "opus", 48000, 96, 50, 1000);
	run_media(fb, gb, "opus", 48000, 96, 440, fa, "PCMU", 8000, 0, 50, 440);
	/* a lone telephone-event packet (end of event 1) from the SIP side: no crash (tones:
	 * tests/unit/test_dtmf.c) */
	uint8_t ev[16] = { 0x80, 101, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 10, 0, 160 };
	send_to(fa, ga, ev, sizeof(ev));
	g_autoptr(reply) d = ng("delete", "call-id", "tc3", NULL);
	close(fa);
	close(fb);
}

/* Parsing of the codec ops and their SDP effect without media. */
static void test_codec_ops_sdp(void)
{
	unsigned pa;
	int fa = udp_bind(&pa);
	g_autofree char *sa = sdp_of(pa, "111 8 0 9", OPUS_ATTRS "a=rtpmap:8 PCMA/8000\r\n" PCMU_ATTRS
				     "a=rtpmap:9 G722/8000\r\n");
	/* offer moves PCMU and G722 first; mask hides PCMA; strip removes opus */
	g_autoptr(reply) o = ng("offer", "call-id", "tc4", "from-tag", "A", "sdp", sa,
				"codec", "strip=opus;mask=PCMA;offer=PCMU,G722", NULL);
	assert_ok(o);
	g_autofree char *s = rstr(o, "sdp");
	assert_has(s, " RTP/AVP 0 9\r\n", true);
	assert_has(s, "PCMA", false);
	/* except: whitelist after strip all, original order */
	g_autoptr(reply) o2 = ng("offer", "call-id", "tc5", "from-tag", "A", "sdp", sa,
				 "codec", "strip=all;except=G722,opus", NULL);
	assert_ok(o2);
	g_autofree char *s2 = rstr(o2, "sdp");
	assert_has(s2, " RTP/AVP 111 9\r\n", true);
	assert_has(s2, "a=fmtp:111 minptime=10;useinbandfec=1\r\n", true);
	assert_has(s2, "a=rtcp-fb:111 transport-cc\r\n", true);
	/* unknown codec to transcode: warning, nothing added */
	g_autoptr(reply) o3 = ng("offer", "call-id", "tc6", "from-tag", "A", "sdp", sa,
				 "flags", "[codec-transcode-nonesuch", NULL);
	assert_ok(o3);
	g_autofree char *w = rstr(o3, "warning");
	g_assert_nonnull(w);
	g_assert_nonnull(strstr(w, "nonesuch"));
	g_autofree char *s3 = rstr(o3, "sdp");
	assert_has(s3, " RTP/AVP 111 8 0 9\r\n", true);
	for (int i = 4; i <= 6; i++) {
		char cid[8];
		snprintf(cid, sizeof(cid), "tc%d", i);
		g_autoptr(reply) d = ng("delete", "call-id", cid, NULL);
	}
	close(fa);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	rg_log_init(true, RG_LOG_ERR, "test_transcode");
	rg_config cfg = { 0 };
	test_engine_start(&cfg, "--config-file=none", "--interface=127.0.0.1",
			  "--port-min=" G_STRINGIFY(PORT_MIN), "--port-max=" G_STRINGIFY(PORT_MAX),
			  "--num-threads=2", "--delete-delay=0", NULL);
	g_test_add_func("/transcode/strip-all-transcode-pcmu", test_strip_all_transcode_pcmu);
	g_test_add_func("/transcode/common-codec-relayed", test_common_codec_relayed);
	g_test_add_func("/transcode/transcode-opus-reverse", test_transcode_opus_reverse);
	g_test_add_func("/transcode/codec-ops-sdp", test_codec_ops_sdp);
	int ret = g_test_run();
	test_engine_stop(&cfg);
	return ret;
}
