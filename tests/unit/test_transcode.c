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
	uint16_t last_seq, first_seq;
	uint32_t last_ts, first_ts;
	unsigned seq_errors, ts_errors, pt_errors, ssrc_changes, len_errors;
	size_t want_len;     /* payload length every packet must have, 0 = any */
	uint64_t payload_bytes;
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
	if (pkt[1] >= 200 && pkt[1] <= 204)
		return;   /* RTCP (rtpgate's own reports on a transcoded leg) */
	uint8_t pt = pkt[1] & 0x7f;
	if (sc->want_len && (size_t)n - 12 != sc->want_len)
		sc->len_errors++;
	sc->payload_bytes += (size_t)n - 12;
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
	if (!sc->packets) {
		sc->first_seq = seq;
		sc->first_ts = ts;
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

/* One media run: `packets` packets of tx_ms (20 if 0) of a tone encoded as tx (PT tx_pt) are sent
 * from fd to port; what comes back on rx_fd must be rx (PT rx_pt) in packets of rx_ms (20 if 0),
 * timestamps advancing by exactly that, sequence numbers by one, one SSRC (our own unless
 * relayed), payloads of rx_len octets (0 = any), and the tone must survive. */
typedef struct media_run {
	const char *tx;
	unsigned tx_rate, tx_ms;
	uint8_t tx_pt;
	double hz;
	const char *rx;
	unsigned rx_rate, rx_ms;
	uint8_t rx_pt;
	unsigned packets;
	size_t rx_len;
	bool relayed;
	uint16_t seq0;       /* first sequence number sent (0) */
	uint32_t ts0;        /* first timestamp sent (0 = 1000) */
	/* results */
	unsigned got;
	double avg_len;
	uint16_t first_seq;  /* of what came back */
	uint32_t first_ts;
} media_run;

static void run(int fd, unsigned port, int rx_fd, media_run *mr)
{
	const rg_codec_type *t, *rt;
	g_assert_cmpint(rg_codec_find(&t, mr->tx, mr->tx_rate, 0, NULL), ==, 0);
	g_assert_cmpint(rg_codec_find(&rt, mr->rx, mr->rx_rate, 0, NULL), ==, 0);
	unsigned tx_ms = mr->tx_ms ? mr->tx_ms : 20, rx_ms = mr->rx_ms ? mr->rx_ms : 20;
	unsigned pcm_rate = t->pcm_rate ? t->pcm_rate : 48000;
	unsigned rx_pcm = rt->pcm_rate ? rt->pcm_rate : 48000;
	unsigned ts_step = t->rate * tx_ms / 1000, rx_step = rt->rate * rx_ms / 1000;
	rg_encoder *enc;
	rg_decoder *dec;
	g_assert_cmpint(rg_enc_new(&enc, t, NULL, pcm_rate, 1), ==, 0);
	g_assert_cmpint(rg_dec_new(&dec, rt, NULL, rx_pcm, 1), ==, 0);
	stream_check sc = { .want_len = mr->rx_len };
	unsigned frame = pcm_rate * tx_ms / 1000;
	int16_t pcm[2880];
	uint8_t pkt[2048];
	uint32_t ssrc_in = 0x5eed1234;
	g_assert_cmpuint(frame, <=, G_N_ELEMENTS(pcm));
	for (unsigned i = 0; i < mr->packets; i++) {
		for (unsigned k = 0; k < frame; k++)
			pcm[k] = (int16_t)(8000 * sin(2 * M_PI * mr->hz * (double)(i * frame + k) / pcm_rate));
		size_t len = 0;
		g_assert_cmpint(rg_enc_encode(enc, pcm, frame, pkt + 12, sizeof(pkt) - 12, &len), ==, 0);
		pkt[0] = 0x80;
		pkt[1] = mr->tx_pt;
		uint16_t seq = (uint16_t)(mr->seq0 + i);
		pkt[2] = (uint8_t)(seq >> 8);
		pkt[3] = (uint8_t)seq;
		uint32_t ts = htonl((mr->ts0 ? mr->ts0 : 1000) + i * ts_step), ss = htonl(ssrc_in);
		memcpy(pkt + 4, &ts, 4);
		memcpy(pkt + 8, &ss, 4);
		send_to(fd, port, pkt, 12 + len);
		g_usleep(2000);
		drain(rx_fd, &sc, dec, mr->rx_pt, rx_step, 0);
	}
	drain(rx_fd, &sc, dec, mr->rx_pt, rx_step, 300);
	double f = tone_freq(sc.pcm, sc.n_pcm, rx_pcm, rx_pcm / 10);
	mr->got = sc.packets;
	mr->first_seq = sc.first_seq;
	mr->first_ts = sc.first_ts;
	mr->avg_len = sc.packets ? (double)sc.payload_bytes / sc.packets : 0;
	g_test_message("%s/%u ms -> %s/%u ms: %u packets out (%.1f octets), tone %.1f Hz", mr->tx, tx_ms, mr->rx,
		       rx_ms, sc.packets, mr->avg_len, f);
	unsigned want = mr->packets * tx_ms / rx_ms;
	g_assert_cmpuint(sc.packets, >=, want - 3);
	g_assert_cmpuint(sc.packets, <=, want + 1);
	g_assert_cmpuint(sc.pt_errors, ==, 0);
	g_assert_cmpuint(sc.seq_errors, ==, 0);
	g_assert_cmpuint(sc.ts_errors, ==, 0);
	g_assert_cmpuint(sc.ssrc_changes, ==, 0);
	g_assert_cmpuint(sc.len_errors, ==, 0);
	if (mr->relayed)
		g_assert_cmpuint(sc.ssrc, ==, ssrc_in);
	else
		g_assert_cmpuint(sc.ssrc, !=, ssrc_in);
	g_assert_cmpfloat(fabs(f - mr->hz), <, mr->hz * 0.02);
	last_ssrc = sc.ssrc;
	last_seq = sc.last_seq;
	last_ts = sc.last_ts;
	rg_enc_free(enc);
	rg_dec_free(dec);
	g_free(sc.pcm);
}

/* 20 ms packets of a tone encoded as `t` (PT pt) from fd to port, transcoded: what comes back on
 * rx_fd (PT want_pt, type rx_t) is checked and its tone measured. */
static void run_media(int fd, unsigned port, const char *t_name, unsigned t_rate, uint8_t pt, double hz,
		      int rx_fd, const char *rx_name, unsigned rx_rate, uint8_t want_pt, unsigned packets,
		      double want_hz)
{
	media_run mr = { .tx = t_name, .tx_rate = t_rate, .tx_pt = pt, .hz = hz, .rx = rx_name, .rx_rate = rx_rate,
			 .rx_pt = want_pt, .packets = packets };
	g_assert_cmpfloat(hz, ==, want_hz);
	run(fd, port, rx_fd, &mr);
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

/* Opus browser to a G.729-only phone (codec-strip-all codec-transcode-G729): the phone is
 * offered G.729 (static PT 18) and telephone-event, the audio is transcoded both ways. */
static void test_transcode_g729(void)
{
	unsigned pa, pb;
	int fa = udp_bind(&pa), fb = udp_bind(&pb);
	g_autofree char *sa = sdp_of(pa, "111 126", OPUS_ATTRS TE48_ATTRS);
	g_autoptr(reply) o = ng("offer", "call-id", "tc-g729", "from-tag", "browser", "sdp", sa, "flags",
				"[codec-strip-all codec-transcode-G729", NULL);
	assert_ok(o);
	g_autofree char *to_sip = rstr(o, "sdp");
	g_test_message("offer to the phone:\n%s", to_sip);
	assert_has(to_sip, " RTP/AVP 18 96\r\n", true);
	assert_has(to_sip, "a=rtpmap:18 G729/8000\r\n", true);
	assert_has(to_sip, "opus", false);
	g_autofree char *warn = rstr(o, "warning");
	g_assert_null(warn);
	unsigned gb = sdp_port(to_sip, 0);

	g_autofree char *sb = sdp_of(pb, "18", "a=rtpmap:18 G729/8000\r\na=fmtp:18 annexb=no\r\n");
	g_autoptr(reply) a = ng("answer", "call-id", "tc-g729", "from-tag", "browser", "to-tag", "sip", "sdp", sb,
				NULL);
	assert_ok(a);
	g_autofree char *to_browser = rstr(a, "sdp");
	assert_has(to_browser, " RTP/AVP 111", true);
	assert_has(to_browser, "G729", false);
	unsigned ga = sdp_port(to_browser, 0);

	/* browser -> phone: Opus 1 kHz in, G.729 out (two 10 ms frames a packet); phone -> browser:
	   G.729 440 Hz in, Opus out */
	media_run up = { .tx = "opus", .tx_rate = 48000, .tx_pt = 111, .hz = 1000, .rx = "G729", .rx_rate = 8000,
			 .rx_pt = 18, .packets = 50, .rx_len = 20 };
	run(fa, ga, fb, &up);
	run_media(fb, gb, "G729", 8000, 18, 440, fa, "opus", 48000, 111, 50, 440);
	g_autoptr(reply) d = ng("delete", "call-id", "tc-g729", NULL);
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

/* ---- query helpers ---- */

/* tags.<tag>.medias[i] of a query reply */
static const be_node *q_media(const reply *q, const char *tag, unsigned i)
{
	const be_node *tags = be_dict_get(q->d, "tags");
	g_assert_nonnull(tags);
	const be_node *t = be_dict_get(tags, tag);
	g_assert_nonnull(t);
	const be_node *ms = be_dict_get(t, "medias");
	g_assert_nonnull(ms);
	const be_node *m = ms->child;
	for (unsigned k = 0; m && k < i; k++)
		m = m->next;
	g_assert_nonnull(m);
	return m;
}

static bool has_item(const be_node *list, const char *what)
{
	for (const be_node *i = list ? list->child : NULL; i; i = i->next)
		if (i->type == BE_STR && rg_str_eq_c(i->str, what))
			return true;
	return false;
}

static char *nstr(const be_node *d, const char *key)
{
	rg_str s;
	if (!d || !be_dict_str(d, key, &s))
		return NULL;
	return rg_str_dup(s);
}

/* media i of tag: is it transcoded, and if so from/to which codec at which ptime */
static void assert_xc(const reply *q, const char *tag, const char *codec, const char *from, const char *to,
		      int64_t ptime)
{
	const be_node *m = q_media(q, tag, 0);
	g_autofree char *c = nstr(m, "codec");
	g_assert_cmpstr(c, ==, codec);
	const be_node *x = be_dict_get(m, "transcoding");
	g_assert_cmpint(has_item(be_dict_get(m, "flags"), "transcoding"), ==, from != NULL);
	if (!from) {
		g_assert_null(x);
		return;
	}
	g_assert_nonnull(x);
	g_autofree char *f = nstr(x, "from"), *t = nstr(x, "to");
	g_assert_cmpstr(f, ==, from);
	g_assert_cmpstr(t, ==, to);
	int64_t v = -1;
	g_assert_true(be_dict_int(x, "ptime", &v));
	g_assert_cmpint(v, ==, ptime);
	g_assert_true(be_dict_int(x, "packets in", &v));
	g_assert_cmpint(v, >, 0);
	g_assert_true(be_dict_int(x, "packets out", &v));
	g_assert_cmpint(v, >, 0);
	/* quiet senders, DTX toward the receiver, new sources: counters are there (0 here) */
	static const char *const more[] = { "CN in", "gaps filled", "packets filled", "DTX frames not sent",
					    "SSRC changes", "timestamp jumps" };
	for (size_t i = 0; i < G_N_ELEMENTS(more); i++) {
		v = -1;
		g_assert_true(be_dict_int(x, more[i], &v));
		g_assert_cmpint(v, ==, 0);
	}
}

static void assert_warning(const reply *r, const char *part)
{
	g_autofree char *w = rstr(r, "warning");
	if (!w || !strstr(w, part))
		g_error("warning '%s' lacks '%s'", w ? w : "(none)", part);
}

static void assert_no_warning(const reply *r)
{
	g_autofree char *w = rstr(r, "warning");
	if (w)
		g_error("unexpected warning '%s'", w);
}

/* offer+answer between A (sdp_a) and B (sdp_b built from B's port); returns the two SDPs */
static void offer_answer(const char *cid, const char *sa, const char *key, const char *val, const char *b_fmts,
			 const char *b_attrs, unsigned pb, char **to_b, char **to_a)
{
	g_autoptr(reply) o = ng("offer", "call-id", cid, "from-tag", "A", "sdp", sa, key, val, NULL);
	assert_ok(o);
	assert_no_warning(o);
	*to_b = rstr(o, "sdp");
	g_autofree char *sb = sdp_of(pb, b_fmts, b_attrs);
	g_autoptr(reply) a = ng("answer", "call-id", cid, "from-tag", "A", "to-tag", "B", "sdp", sb, NULL);
	assert_ok(a);
	assert_no_warning(a);
	*to_a = rstr(a, "sdp");
}

/* ptime=30 toward B: B is told 30 and gets 30 ms packets although its answer prefers 20; A, whose
 * SDP says 20, gets 20 ms packets from B's 30 ms ones. Same codec both ways: repacketized. */
static void test_ptime_forced(void)
{
	unsigned pa, pb;
	int fa = udp_bind(&pa), fb = udp_bind(&pb);
	g_autofree char *sa = sdp_of(pa, "0", PCMU_ATTRS "a=ptime:20\r\n");
	g_autofree char *to_b = NULL, *to_a = NULL;
	offer_answer("tp1", sa, "ptime", "30", "0", PCMU_ATTRS "a=ptime:20\r\n", pb, &to_b, &to_a);
	assert_has(to_b, "a=ptime:30\r\n", true);
	assert_has(to_b, "a=ptime:20", false);
	assert_has(to_a, "a=ptime:20\r\n", true);   /* the answer's own, passed on */
	assert_has(to_a, " RTP/AVP 0\r\n", true);
	unsigned ga = sdp_port(to_a, 0), gb = sdp_port(to_b, 0);
	/* A -> B: 20 ms in, 30 ms (240 octets, timestamps +240) out */
	media_run ab = { .tx = "PCMU", .tx_rate = 8000, .tx_pt = 0, .tx_ms = 20, .hz = 1000, .rx = "PCMU",
			 .rx_rate = 8000, .rx_pt = 0, .rx_ms = 30, .rx_len = 240, .packets = 60 };
	run(fa, ga, fb, &ab);
	/* B -> A: 30 ms in (what B was told), 20 ms (160 octets, +160) out */
	media_run ba = { .tx = "PCMU", .tx_rate = 8000, .tx_pt = 0, .tx_ms = 30, .hz = 440, .rx = "PCMU",
			 .rx_rate = 8000, .rx_pt = 0, .rx_ms = 20, .rx_len = 160, .packets = 40 };
	run(fb, gb, fa, &ba);
	g_autoptr(reply) q = ng("query", "call-id", "tp1", NULL);
	assert_ok(q);
	assert_xc(q, "A", "PCMU/8000", "PCMU/8000", "PCMU/8000", 30);
	assert_xc(q, "B", "PCMU/8000", "PCMU/8000", "PCMU/8000", 20);
	g_autoptr(reply) d = ng("delete", "call-id", "tp1", NULL);

	/* control: the sides' ptimes differ, nothing forced: each is told the other's a=ptime, so
	 * nothing needs repacketizing and packets pass byte for byte */
	g_autofree char *to_b2 = NULL, *to_a2 = NULL;
	offer_answer("tp2", sa, "label", "x", "0", PCMU_ATTRS "a=ptime:30\r\n", pb, &to_b2, &to_a2);
	assert_has(to_b2, "a=ptime:20\r\n", true);
	assert_has(to_a2, "a=ptime:30\r\n", true);
	media_run ab2 = { .tx = "PCMU", .tx_rate = 8000, .tx_pt = 0, .tx_ms = 30, .hz = 1000, .rx = "PCMU",
			  .rx_rate = 8000, .rx_pt = 0, .rx_ms = 30, .rx_len = 240, .packets = 20, .relayed = true };
	run(fa, sdp_port(to_a2, 0), fb, &ab2);
	g_autoptr(reply) q2 = ng("query", "call-id", "tp2", NULL);
	assert_xc(q2, "A", "PCMU/8000", NULL, NULL, 0);
	assert_xc(q2, "B", "PCMU/8000", NULL, NULL, 0);
	g_autoptr(reply) d2 = ng("delete", "call-id", "tp2", NULL);
	close(fa);
	close(fb);
}

/* ptime-reverse=40: written into the answer toward A (whose offer had no a=ptime), B's 20 ms
 * packets repacketized to 40 ms toward A; A's 40 ms packets go to B as they are (B's SDP asks
 * for no particular ptime). */
static void test_ptime_reverse(void)
{
	unsigned pa, pb;
	int fa = udp_bind(&pa), fb = udp_bind(&pb);
	g_autofree char *sa = sdp_of(pa, "0", PCMU_ATTRS);
	g_autofree char *to_b = NULL, *to_a = NULL;
	offer_answer("tpr", sa, "ptime-reverse", "40", "0", PCMU_ATTRS, pb, &to_b, &to_a);
	assert_has(to_b, "a=ptime", false);
	assert_has(to_a, "a=ptime:40\r\n", true);
	unsigned ga = sdp_port(to_a, 0), gb = sdp_port(to_b, 0);
	media_run ba = { .tx = "PCMU", .tx_rate = 8000, .tx_pt = 0, .tx_ms = 20, .hz = 440, .rx = "PCMU",
			 .rx_rate = 8000, .rx_pt = 0, .rx_ms = 40, .rx_len = 320, .packets = 60 };
	run(fb, gb, fa, &ba);
	media_run ab = { .tx = "PCMU", .tx_rate = 8000, .tx_pt = 0, .tx_ms = 40, .hz = 1000, .rx = "PCMU",
			 .rx_rate = 8000, .rx_pt = 0, .rx_ms = 40, .rx_len = 320, .packets = 20, .relayed = true };
	run(fa, ga, fb, &ab);
	g_autoptr(reply) q = ng("query", "call-id", "tpr", NULL);
	assert_xc(q, "A", "PCMU/8000", NULL, NULL, 0);
	assert_xc(q, "B", "PCMU/8000", "PCMU/8000", "PCMU/8000", 40);
	/* a re-offer without ptime-reverse ends it: a=ptime gone, nothing repacketized */
	g_autoptr(reply) o2 = ng("offer", "call-id", "tpr", "from-tag", "A", "sdp", sa, NULL);
	assert_ok(o2);
	g_autofree char *sb = sdp_of(pb, "0", PCMU_ATTRS);
	g_autoptr(reply) a2 = ng("answer", "call-id", "tpr", "from-tag", "A", "to-tag", "B", "sdp", sb, NULL);
	assert_ok(a2);
	g_autofree char *to_a2 = rstr(a2, "sdp");
	assert_has(to_a2, "a=ptime", false);
	g_autoptr(reply) q2 = ng("query", "call-id", "tpr", NULL);
	assert_xc(q2, "B", "PCMU/8000", NULL, NULL, 0);
	g_autoptr(reply) d = ng("delete", "call-id", "tpr", NULL);
	close(fa);
	close(fb);
}

/* always-transcode (= codec-accept-all): B answers PCMU, which A offered second; A keeps Opus,
 * its first codec, and the two are transcoded. Without the flag the same exchange is relayed. */
static void test_always_transcode(void)
{
	unsigned pa, pb;
	int fa = udp_bind(&pa), fb = udp_bind(&pb);
	g_autofree char *sa = sdp_of(pa, "111 0", OPUS_ATTRS PCMU_ATTRS);
	g_autofree char *to_b = NULL, *to_a = NULL;
	offer_answer("ta1", sa, "flags", "[always-transcode", "0", PCMU_ATTRS, pb, &to_b, &to_a);
	assert_has(to_b, " RTP/AVP 111 0\r\n", true);   /* the offer is untouched */
	assert_has(to_a, " RTP/AVP 111\r\n", true);
	assert_has(to_a, "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n", true);
	assert_has(to_a, "PCMU", false);
	unsigned ga = sdp_port(to_a, 0), gb = sdp_port(to_b, 0);
	run_media(fa, ga, "opus", 48000, 111, 1000, fb, "PCMU", 8000, 0, 50, 1000);
	run_media(fb, gb, "PCMU", 8000, 0, 440, fa, "opus", 48000, 111, 50, 440);
	g_autoptr(reply) q = ng("query", "call-id", "ta1", NULL);
	assert_ok(q);
	assert_xc(q, "A", "opus/48000/2", "opus/48000/2", "PCMU/8000", 20);
	assert_xc(q, "B", "PCMU/8000", "PCMU/8000", "opus/48000/2", 20);
	g_autoptr(reply) d = ng("delete", "call-id", "ta1", NULL);

	/* the same without the flag: PCMU in common, relayed */
	g_autofree char *to_b2 = NULL, *to_a2 = NULL;
	offer_answer("ta2", sa, "label", "x", "0", PCMU_ATTRS, pb, &to_b2, &to_a2);
	assert_has(to_a2, " RTP/AVP 0\r\n", true);
	g_autoptr(reply) d2 = ng("delete", "call-id", "ta2", NULL);

	/* B answers A's first codec: nothing was rejected, nothing to transcode */
	g_autofree char *sa3 = sdp_of(pa, "0 8", PCMU_ATTRS "a=rtpmap:8 PCMA/8000\r\n");
	g_autofree char *to_b3 = NULL, *to_a3 = NULL;
	offer_answer("ta3", sa3, "flags", "[always-transcode", "0 8", PCMU_ATTRS "a=rtpmap:8 PCMA/8000\r\n", pb,
		     &to_b3, &to_a3);
	assert_has(to_a3, " RTP/AVP 0 8\r\n", true);
	/* PCMA answered alone: A's PCMU accepted toward it, transcoded to B's PCMA */
	g_autoptr(reply) o4 = ng("offer", "call-id", "ta4", "from-tag", "A", "sdp", sa3, "flags", "[always-transcode",
				 NULL);
	assert_ok(o4);
	g_autofree char *sb4 = sdp_of(pb, "8", "a=rtpmap:8 PCMA/8000\r\n");
	g_autoptr(reply) a4 = ng("answer", "call-id", "ta4", "from-tag", "A", "to-tag", "B", "sdp", sb4, NULL);
	assert_ok(a4);
	g_autofree char *to_a4 = rstr(a4, "sdp");
	assert_has(to_a4, " RTP/AVP 0\r\n", true);
	g_autofree char *to_b4 = rstr(o4, "sdp");
	run_media(fa, sdp_port(to_a4, 0), "PCMU", 8000, 0, 1000, fb, "PCMA", 8000, 8, 20, 1000);
	run_media(fb, sdp_port(to_b4, 0), "PCMA", 8000, 8, 440, fa, "PCMU", 8000, 0, 20, 440);
	g_autoptr(reply) q3 = ng("query", "call-id", "ta3", NULL);
	assert_xc(q3, "A", "PCMU/8000", NULL, NULL, 0);
	g_autoptr(reply) d3 = ng("delete", "call-id", "ta3", NULL);
	g_autoptr(reply) d4 = ng("delete", "call-id", "ta4", NULL);
	close(fa);
	close(fb);
}

/* codec-accept keeps offering a codec and keeps it toward the offerer when the answerer rejects it
 * (then transcoded); codec-consume hides it like mask and still keeps it toward the offerer;
 * codec-mask alone just hides it. */
static void test_accept_consume(void)
{
	unsigned pa, pb;
	int fa = udp_bind(&pa), fb = udp_bind(&pb);
	g_autofree char *sa = sdp_of(pa, "111 0", OPUS_ATTRS PCMU_ATTRS);
	/* accept: still offered, B takes PCMU, A keeps Opus */
	g_autofree char *to_b = NULL, *to_a = NULL;
	offer_answer("tac1", sa, "flags", "[codec-accept-opus", "0", PCMU_ATTRS, pb, &to_b, &to_a);
	assert_has(to_b, " RTP/AVP 111 0\r\n", true);
	assert_has(to_a, " RTP/AVP 111\r\n", true);
	run_media(fa, sdp_port(to_a, 0), "opus", 48000, 111, 1000, fb, "PCMU", 8000, 0, 30, 1000);
	run_media(fb, sdp_port(to_b, 0), "PCMU", 8000, 0, 440, fa, "opus", 48000, 111, 30, 440);
	g_autoptr(reply) d1 = ng("delete", "call-id", "tac1", NULL);
	/* consume: hidden from B, and still A's codec: transcoding engaged without transcode= */
	g_autofree char *to_b2 = NULL, *to_a2 = NULL;
	offer_answer("tac2", sa, "flags", "[codec-consume-opus", "0", PCMU_ATTRS, pb, &to_b2, &to_a2);
	assert_has(to_b2, " RTP/AVP 0\r\n", true);
	assert_has(to_b2, "opus", false);
	assert_has(to_a2, " RTP/AVP 111\r\n", true);
	run_media(fa, sdp_port(to_a2, 0), "opus", 48000, 111, 1000, fb, "PCMU", 8000, 0, 30, 1000);
	g_autoptr(reply) q2 = ng("query", "call-id", "tac2", NULL);
	assert_xc(q2, "A", "opus/48000/2", "opus/48000/2", "PCMU/8000", 20);
	g_autoptr(reply) d2 = ng("delete", "call-id", "tac2", NULL);
	/* mask without a transcoding option: hidden, and B's PCMU is simply relayed */
	g_autofree char *to_b3 = NULL, *to_a3 = NULL;
	offer_answer("tac3", sa, "flags", "[codec-mask-opus", "0", PCMU_ATTRS, pb, &to_b3, &to_a3);
	assert_has(to_b3, " RTP/AVP 0\r\n", true);
	assert_has(to_a3, " RTP/AVP 0\r\n", true);
	g_autoptr(reply) d3 = ng("delete", "call-id", "tac3", NULL);
	/* accept of a codec the offerer prefers less than one B answered: relayed */
	g_autofree char *sa4 = sdp_of(pa, "0 111", PCMU_ATTRS OPUS_ATTRS);
	g_autofree char *to_b4 = NULL, *to_a4 = NULL;
	offer_answer("tac4", sa4, "flags", "[codec-accept-opus", "0", PCMU_ATTRS, pb, &to_b4, &to_a4);
	assert_has(to_a4, " RTP/AVP 0\r\n", true);
	g_autoptr(reply) d4 = ng("delete", "call-id", "tac4", NULL);
	/* accept given in the answer works as well (Kamailio's rtpengine_manage sends the same flags) */
	g_autoptr(reply) o5 = ng("offer", "call-id", "tac5", "from-tag", "A", "sdp", sa, NULL);
	assert_ok(o5);
	g_autofree char *sb = sdp_of(pb, "0", PCMU_ATTRS);
	g_autoptr(reply) a5 = ng("answer", "call-id", "tac5", "from-tag", "A", "to-tag", "B", "sdp", sb, "flags",
				 "[codec-accept-opus", NULL);
	assert_ok(a5);
	g_autofree char *to_a5 = rstr(a5, "sdp");
	assert_has(to_a5, " RTP/AVP 111\r\n", true);
	g_autoptr(reply) d5 = ng("delete", "call-id", "tac5", NULL);
	/* strip by name wins over accept; accept of a codec we cannot transcode is a warning */
	g_autoptr(reply) o6 = ng("offer", "call-id", "tac6", "from-tag", "A", "sdp", sa, "flags",
				 "[codec-strip-opus codec-accept-opus codec-accept-GSM codec-consume-nonesuch", NULL);
	assert_ok(o6);
	assert_warning(o6, "codec 'accept' GSM cannot be transcoded");
	assert_warning(o6, "codec 'consume' nonesuch cannot be transcoded");
	g_autofree char *to_b6 = rstr(o6, "sdp");
	assert_has(to_b6, " RTP/AVP 0\r\n", true);
	g_autoptr(reply) a6 = ng("answer", "call-id", "tac6", "from-tag", "A", "to-tag", "B", "sdp", sb, NULL);
	assert_ok(a6);
	g_autofree char *to_a6 = rstr(a6, "sdp");
	assert_has(to_a6, " RTP/AVP 0\r\n", true);
	g_autoptr(reply) d6 = ng("delete", "call-id", "tac6", NULL);
	close(fa);
	close(fb);
}

/* run `next` on the stream of the last run(): what comes back continues its stream (SSRC,
 * sequence numbers, timestamps advancing by step across the switch) */
static void continue_run(int fd, unsigned port, int rx_fd, media_run *next, uint32_t step)
{
	uint32_t ssrc = last_ssrc, ts = last_ts;
	uint16_t seq = last_seq;
	run(fd, port, rx_fd, next);
	g_assert_cmpuint(last_ssrc, ==, ssrc);
	g_assert_cmpuint(next->first_seq, ==, (uint16_t)(seq + 1));
	g_assert_cmpuint(next->first_ts, ==, ts + step);
}

static void switch_run(int fd, unsigned port, int rx_fd, media_run *first, media_run *second, uint32_t step)
{
	run(fd, port, rx_fd, first);
	continue_run(fd, port, rx_fd, second, step);
}

/* A party may send any codec of the answer (RFC 3264 5.1). A offers Opus, G.722 and PCMA; the
 * SIP side gets PCMU (added) and G.722 (restored) and answers both. As rtpengine does, A is
 * answered with Opus and then the codec both have (G.722). B switching from PCMU to G.722 and A
 * from Opus to G.722 mid-stream: the transcoded packets and then the G.722 ones, passed through
 * as the receiver has G.722 too, go out in one output stream (one SSRC, sequence numbers and
 * timestamps continuing), and each tone comes through. When the offerer is answered its codec
 * alone (always-transcode), the answerer's G.722 is transcoded to it instead. */
static void test_codec_switch(void)
{
	unsigned pa, pb;
	int fa = udp_bind(&pa), fb = udp_bind(&pb);
	const char *g722 = "a=rtpmap:9 G722/8000\r\n";
	g_autofree char *attrs_a = g_strconcat(OPUS_ATTRS, g722, "a=rtpmap:8 PCMA/8000\r\n", NULL);
	g_autofree char *attrs_b = g_strconcat(PCMU_ATTRS, g722, NULL);
	g_autofree char *sa = sdp_of(pa, "111 9 8", attrs_a);
	g_autofree char *to_b = NULL, *to_a = NULL;
	offer_answer("tsw", sa, "flags", "[codec-mask-all codec-transcode-PCMU codec-transcode-G722", "0 9", attrs_b, pb,
		     &to_b, &to_a);
	assert_has(to_b, "PCMA", false);
	assert_has(to_a, " RTP/AVP 111 9\r\n", true);
	assert_has(to_a, "a=rtpmap:9 G722/8000\r\n", true);
	unsigned ga = sdp_port(to_a, 0), gb = sdp_port(to_b, 0);
	/* B: PCMU, then G.722 (another clock of PCM, its own timestamps) */
	media_run b1 = { .tx = "PCMU", .tx_rate = 8000, .tx_pt = 0, .hz = 440, .rx = "opus", .rx_rate = 48000,
			 .rx_pt = 111, .packets = 40 };
	media_run b2 = { .tx = "G722", .tx_rate = 8000, .tx_pt = 9, .hz = 1000, .rx = "G722", .rx_rate = 8000,
			 .rx_pt = 9, .packets = 40, .seq0 = 40, .ts0 = 0x40000000 };
	switch_run(fb, gb, fa, &b1, &b2, 960);
	/* A: Opus, then G.722, both toward B's PCMU */
	media_run a1 = { .tx = "opus", .tx_rate = 48000, .tx_pt = 111, .hz = 1000, .rx = "PCMU", .rx_rate = 8000,
			 .rx_pt = 0, .packets = 40 };
	media_run a2 = { .tx = "G722", .tx_rate = 8000, .tx_pt = 9, .hz = 440, .rx = "G722", .rx_rate = 8000,
			 .rx_pt = 9, .packets = 40, .seq0 = 40, .ts0 = 77 };
	switch_run(fa, ga, fb, &a1, &a2, 160);
	/* and back to Opus: transcoded again, right after the passed-through G.722 */
	media_run a3 = { .tx = "opus", .tx_rate = 48000, .tx_pt = 111, .hz = 1000, .rx = "PCMU", .rx_rate = 8000,
			 .rx_pt = 0, .packets = 40, .seq0 = 80, .ts0 = 5000 };
	continue_run(fa, ga, fb, &a3, 160);
	g_autoptr(reply) q = ng("query", "call-id", "tsw", NULL);
	assert_ok(q);
	assert_xc(q, "A", "opus/48000/2", "opus/48000/2", "PCMU/8000", 20);
	assert_xc(q, "B", "PCMU/8000", "PCMU/8000", "opus/48000/2", 20);
	for (int i = 0; i < 2; i++) {
		const be_node *x = be_dict_get(q_media(q, i ? "B" : "A", 0), "transcoding");
		int64_t v = -1;
		g_assert_true(be_dict_int(x, "codec switches", &v));
		g_assert_cmpint(v, ==, i ? 1 : 2);
		g_assert_true(be_dict_int(x, "dropped", &v));
		g_assert_cmpint(v, ==, 0);
		g_assert_true(has_item(be_dict_get(x, "also from"), "G722/8000 (payload type 9, passed through as 9)"));
		g_assert_true(be_dict_int(x, "packets passed through", &v));
		g_assert_cmpint(v, ==, 40);
	}
	g_autoptr(reply) d = ng("delete", "call-id", "tsw", NULL);

	/* O kept by accept (always-transcode): rtpengine answers it alone, so do we; B's other
	   answered codec is still taken from B */
	g_autofree char *sa2 = sdp_of(pa, "111 0 9", OPUS_ATTRS PCMU_ATTRS "a=rtpmap:9 G722/8000\r\n");
	g_autofree char *to_b2 = NULL, *to_a2 = NULL;
	offer_answer("tsw2", sa2, "flags", "[always-transcode", "0 9", attrs_b, pb, &to_b2, &to_a2);
	assert_has(to_a2, " RTP/AVP 111\r\n", true);
	media_run c1 = { .tx = "G722", .tx_rate = 8000, .tx_pt = 9, .hz = 1000, .rx = "opus", .rx_rate = 48000,
			 .rx_pt = 111, .packets = 30 };
	run(fb, sdp_port(to_b2, 0), fa, &c1);
	g_autoptr(reply) d2 = ng("delete", "call-id", "tsw2", NULL);
	close(fa);
	close(fb);
}

/* single-codec (an answer flag): the offerer is answered with the first codec and the
 * telephone-event at its rate; in an offer it changes nothing. */
static void test_single_codec(void)
{
	unsigned pa, pb;
	int fa = udp_bind(&pa), fb = udp_bind(&pb);
	const char *attrs = PCMU_ATTRS "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n";
	g_autofree char *sa = sdp_of(pa, "0 8 101", attrs);
	g_autoptr(reply) o = ng("offer", "call-id", "ts1", "from-tag", "A", "sdp", sa, "flags", "[single-codec", NULL);
	assert_ok(o);
	assert_no_warning(o);
	g_autofree char *to_b = rstr(o, "sdp");
	assert_has(to_b, " RTP/AVP 0 8 101\r\n", true);
	g_autofree char *sb = sdp_of(pb, "8 0 101", attrs);
	g_autoptr(reply) a = ng("answer", "call-id", "ts1", "from-tag", "A", "to-tag", "B", "sdp", sb, "flags",
				"[single-codec", NULL);
	assert_ok(a);
	g_autofree char *to_a = rstr(a, "sdp");
	assert_has(to_a, " RTP/AVP 8 101\r\n", true);
	assert_has(to_a, "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n", true);
	assert_has(to_a, "PCMU", false);
	/* relayed as before */
	uint8_t pkt[172], got[2048];
	memset(pkt, 0x2a, sizeof(pkt));
	pkt[0] = 0x80;
	pkt[1] = 8;
	send_to(fa, sdp_port(to_a, 0), pkt, sizeof(pkt));
	g_assert_cmpint(recv(fb, got, sizeof(got), 0), ==, sizeof(pkt));
	g_assert_cmpmem(got, sizeof(pkt), pkt, sizeof(pkt));
	/* the same answer without the flag: every codec */
	g_autoptr(reply) a2 = ng("answer", "call-id", "ts1", "from-tag", "A", "to-tag", "B", "sdp", sb, NULL);
	assert_ok(a2);
	g_autofree char *to_a2 = rstr(a2, "sdp");
	assert_has(to_a2, " RTP/AVP 8 0 101\r\n", true);
	g_autoptr(reply) d = ng("delete", "call-id", "ts1", NULL);
	close(fa);
	close(fb);
}

/* codec-set: our Opus encoder toward B (codec added by transcode) at 12 kbit/s and 40 ms packets;
 * as fmtp (maxaveragebitrate--12000) at 20 ms; malformed entries are warnings. */
static void test_codec_set(void)
{
	unsigned pa, pb;
	int fa = udp_bind(&pa), fb = udp_bind(&pb);
	g_autofree char *sa = sdp_of(pa, "0", PCMU_ATTRS);
	const char *opus_b = "a=rtpmap:96 opus/48000/2\r\na=fmtp:96 useinbandfec=1\r\n";
	g_autofree char *to_b = NULL, *to_a = NULL;
	offer_answer("tcs1", sa, "flags", "[codec-transcode-opus codec-set-opus/48000/2/12000/40", "96", opus_b, pb,
		     &to_b, &to_a);
	assert_has(to_b, " RTP/AVP 0 96\r\n", true);
	assert_has(to_a, " RTP/AVP 0\r\n", true);
	media_run ab = { .tx = "PCMU", .tx_rate = 8000, .tx_pt = 0, .hz = 1000, .rx = "opus", .rx_rate = 48000,
			 .rx_pt = 96, .rx_ms = 40, .packets = 60 };
	run(fa, sdp_port(to_a, 0), fb, &ab);
	g_assert_cmpfloat(ab.avg_len, <, 70);   /* 12 kbit/s x 40 ms = 60 octets; by default about 90 */
	/* the other direction is not Opus: untouched (20 ms PCMU) */
	media_run ba = { .tx = "opus", .tx_rate = 48000, .tx_pt = 96, .hz = 440, .rx = "PCMU", .rx_rate = 8000,
			 .rx_pt = 0, .rx_len = 160, .packets = 30 };
	run(fb, sdp_port(to_b, 0), fa, &ba);
	g_autoptr(reply) q = ng("query", "call-id", "tcs1", NULL);
	assert_xc(q, "A", "PCMU/8000", "PCMU/8000", "opus/48000/2", 40);
	assert_xc(q, "B", "opus/48000/2", "opus/48000/2", "PCMU/8000", 20);
	g_autoptr(reply) d = ng("delete", "call-id", "tcs1", NULL);

	/* default bitrate for comparison, then the bitrate as fmtp */
	g_autofree char *to_b2 = NULL, *to_a2 = NULL;
	offer_answer("tcs2", sa, "flags", "[codec-transcode-opus", "96", opus_b, pb, &to_b2, &to_a2);
	media_run ab2 = { .tx = "PCMU", .tx_rate = 8000, .tx_pt = 0, .hz = 1000, .rx = "opus", .rx_rate = 48000,
			  .rx_pt = 96, .packets = 40 };
	run(fa, sdp_port(to_a2, 0), fb, &ab2);
	g_autoptr(reply) d2 = ng("delete", "call-id", "tcs2", NULL);
	g_autofree char *to_b3 = NULL, *to_a3 = NULL;
	offer_answer("tcs3", sa, "flags", "[codec-transcode-opus codec-set-opus/48000/2///maxaveragebitrate--12000", "96",
		     opus_b, pb, &to_b3, &to_a3);
	media_run ab3 = ab2;
	run(fa, sdp_port(to_a3, 0), fb, &ab3);
	g_test_message("opus 20 ms: %.1f octets by default, %.1f with maxaveragebitrate=12000", ab2.avg_len, ab3.avg_len);
	g_assert_cmpfloat(ab3.avg_len, <, ab2.avg_len * 0.75);
	g_autoptr(reply) d3 = ng("delete", "call-id", "tcs3", NULL);

	/* AMR: a bitrate picks the mode (7400 = mode 4, 7.40 kbit/s; 12.2 = mode 7 by default) */
	const char *amr_b = "a=rtpmap:96 AMR/8000\r\na=fmtp:96 octet-align=1\r\n";
	const char *flags_amr[] = { "[codec-transcode-AMR codec-set-AMR/8000/1/7400", "[codec-transcode-AMR" };
	const unsigned want_ft[] = { 4, 7 };
	for (int k = 0; k < 2; k++) {
		g_autofree char *tb = NULL, *ta = NULL;
		char cid[16];
		snprintf(cid, sizeof(cid), "tcs-amr%d", k);
		offer_answer(cid, sa, "flags", flags_amr[k], "96", amr_b, pb, &tb, &ta);
		assert_has(tb, "a=rtpmap:96 AMR/8000\r\n", true);
		unsigned got = 0, bad = 0;
		uint8_t pkt[172], in[2048];
		memset(pkt, 0xff, sizeof(pkt));   /* PCMU silence */
		pkt[0] = 0x80;
		pkt[1] = 0;
		for (unsigned i = 0; i < 20; i++) {
			uint32_t ts = htonl(160 * i);
			pkt[3] = (uint8_t)i;
			memcpy(pkt + 4, &ts, 4);
			pkt[12 + i] = (uint8_t)(0x80 | i);   /* not quite silence */
			send_to(fa, sdp_port(ta, 0), pkt, sizeof(pkt));
			g_usleep(2000);
		}
		struct timeval tv = { .tv_usec = 300000 };
		setsockopt(fb, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		ssize_t n;
		while ((n = recv(fb, in, sizeof(in), 0)) > 0) {
			if (in[1] >= 200 && in[1] <= 204)
				continue;
			g_assert_cmpint(n, >, 14);
			got++;
			/* octet-aligned (RFC 4867 4.4): CMR octet, then TOC F|FT|Q|pad */
			if (((in[13] >> 3) & 0xf) != want_ft[k])
				bad++;
		}
		g_test_message("AMR %s: %u packets, %u with another mode", flags_amr[k], got, bad);
		g_assert_cmpuint(got, >=, 17);
		g_assert_cmpuint(bad, ==, 0);
		g_autoptr(reply) da = ng("delete", "call-id", cid, NULL);
	}

	/* malformed or useless entries: warnings, the offer goes through */
	g_autoptr(reply) o4 = ng("offer", "call-id", "tcs4", "from-tag", "A", "sdp", sa, "flags",
				 "[codec-set-opus/abc codec-set-opus/48000/2 codec-set-nonesuch/8000/1/5000 "
				 "codec-set-opus/48000/2/x codec-set-opus/48000/2//1000 codec-set-opus/48000/2///stereo--7 "
				 "codec-set-/8000 codec-set-", "codec", "set=PCMU/8000/1/64000/20/ptime--5/opts", NULL);
	assert_ok(o4);
	assert_warning(o4, "'opus/abc' ignored: bad clock rate");
	assert_warning(o4, "'opus/48000/2' ignored: nothing to set");
	assert_warning(o4, "'nonesuch/8000/1/5000' ignored: not a codec rtpgate transcodes");
	assert_warning(o4, "'opus/48000/2/x' ignored: bad bitrate");
	assert_warning(o4, "ptime 1000 ms is more than 120");
	assert_warning(o4, "fmtp 'stereo=7' is not valid for opus");
	assert_warning(o4, "'/8000' ignored: no codec name");
	assert_warning(o4, "Unsupported flag ignored: 'codec-set-'");
	assert_warning(o4, "codec options are not supported");
	g_autofree char *s4 = rstr(o4, "sdp");
	assert_has(s4, " RTP/AVP 0\r\n", true);
	g_autoptr(reply) d4 = ng("delete", "call-id", "tcs4", NULL);
	close(fa);
	close(fb);
}

/* Malformed ptime values: warnings, never a failed or crashed request; an integer value works;
 * a ptime the codec cannot make is a warning at the answer. */
static void test_ptime_malformed(void)
{
	unsigned pa, pb;
	int fa = udp_bind(&pa), fb = udp_bind(&pb);
	g_autofree char *sa = sdp_of(pa, "0", PCMU_ATTRS "a=ptime:20\r\n");
	const char *bad[][2] = { { "abc", "'ptime' is not a number" }, { "-20", "'ptime' is not a number" },
				 { "1000", "'ptime' 1000 ms is out of range" }, { "", "'ptime' is not a number" } };
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(reply) o = ng("offer", "call-id", "tpm", "from-tag", "A", "sdp", sa, "ptime", bad[i][0],
					"ptime-reverse", "99999999999999999999", NULL);
		assert_ok(o);
		assert_warning(o, bad[i][1]);
		assert_warning(o, "'ptime-reverse' is not a number");
		g_autofree char *s = rstr(o, "sdp");
		assert_has(s, "a=ptime:20\r\n", true);
	}
	/* bencode integer, as a non-Kamailio client may send it */
	g_autofree char *body = g_strdup_printf("d7:command5:offer7:call-id3:tpm8:from-tag1:A5:ptimei30e3:sdp%zu:%se",
						strlen(sa), sa);
	g_autoptr(reply) oi = ng_raw(body);
	assert_ok(oi);
	g_autofree char *si = rstr(oi, "sdp");
	assert_has(si, "a=ptime:30\r\n", true);
	g_autoptr(reply) d = ng("delete", "call-id", "tpm", NULL);
	/* Opus cannot make 25 ms packets: warning, its default (20 ms) is used */
	g_autoptr(reply) o = ng("offer", "call-id", "tpm2", "from-tag", "A", "sdp", sa, "ptime", "25", "flags",
				"[codec-transcode-opus", NULL);
	assert_ok(o);
	g_autofree char *sb = sdp_of(pb, "96", "a=rtpmap:96 opus/48000/2\r\n");
	g_autoptr(reply) a = ng("answer", "call-id", "tpm2", "from-tag", "A", "to-tag", "B", "sdp", sb, NULL);
	assert_ok(a);
	assert_warning(a, "ptime 25 ms cannot be made with opus");
	g_autoptr(reply) q = ng("query", "call-id", "tpm2", NULL);
	const be_node *x = be_dict_get(q_media(q, "A", 0), "transcoding");
	int64_t v = 0;
	g_assert_true(be_dict_int(x, "ptime", &v));
	g_assert_cmpint(v, ==, 20);
	g_autoptr(reply) d2 = ng("delete", "call-id", "tpm2", NULL);
	close(fa);
	close(fb);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	rg_log_init(true, RG_LOG_ERR, "test_transcode");
	rg_config cfg = { 0 };
	test_engine_start(&cfg, "--config-file=none", "--interface=127.0.0.1",
			  "--port-min=" G_STRINGIFY(PORT_MIN), "--port-max=" G_STRINGIFY(PORT_MAX),
			  "--num-threads=2", "--delete-delay=0", "--dtx-delay=0", NULL);   /* sends faster than real time */
	g_test_add_func("/transcode/strip-all-transcode-pcmu", test_strip_all_transcode_pcmu);
	g_test_add_func("/transcode/common-codec-relayed", test_common_codec_relayed);
	g_test_add_func("/transcode/g729", test_transcode_g729);
	g_test_add_func("/transcode/transcode-opus-reverse", test_transcode_opus_reverse);
	g_test_add_func("/transcode/codec-ops-sdp", test_codec_ops_sdp);
	g_test_add_func("/transcode/ptime-forced", test_ptime_forced);
	g_test_add_func("/transcode/ptime-reverse", test_ptime_reverse);
	g_test_add_func("/transcode/always-transcode", test_always_transcode);
	g_test_add_func("/transcode/accept-consume", test_accept_consume);
	g_test_add_func("/transcode/codec-switch", test_codec_switch);
	g_test_add_func("/transcode/single-codec", test_single_codec);
	g_test_add_func("/transcode/codec-set", test_codec_set);
	g_test_add_func("/transcode/ptime-malformed", test_ptime_malformed);
	int ret = g_test_run();
	test_engine_stop(&cfg);
	return ret;
}
