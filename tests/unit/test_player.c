/* Prompts, music on hold and injected DTMF (player.c) through the real engine:
 *  - /player/rtpproxy: P-1 (music on hold, WAV at 44.1 kHz) to the callee in its codec (PCMA),
 *    looped, the caller's media toward it muted meanwhile, S stops it and unmutes; P once to the
 *    caller (PCMU) with an explicit codec list, and with "session" in the codec the answer kept
 *    (PCMA, though the caller listed PCMU first); a pre-encoded "<prompt>.<pt>" file played byte for
 *    byte; P0 stops; errors: missing file, not audio, "session" without a c list, unknown tag;
 *  - /player/ng: play media (duration in the reply, repeat-times), stop media, play DTMF as
 *    RFC 4733 events (party with telephone-event) and as in-band tones (party without). */
#include <arpa/inet.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bencode.h"
#include "log.h"
#include "ng.h"
#include "rg_codec.h"
#include "rg_dtmf.h"
#include "rtpp.h"
#include "stats.h"
#include "ng_harness.h"
#include "rtpp_harness.h"
#include "engine_harness.h"

#define PORT_MIN 21400
#define PORT_MAX 21463

static char *tmpdir;

static unsigned rp_port(const char *cmd)
{
	g_autofree char *a = rp(cmd);
	unsigned port = 0;
	if (sscanf(a, "%u", &port) != 1 || !port)
		g_error("'%s' -> '%s'", cmd, a);
	return port;
}

static void put_le(GByteArray *b, uint32_t v, unsigned octets)
{
	for (unsigned i = 0; i < octets; i++) {
		uint8_t x = (uint8_t)(v >> (8 * i));
		g_byte_array_append(b, &x, 1);
	}
}

/* a WAV file: 16-bit mono, `rate`, a `hz` tone for `ms` */
static char *write_wav(const char *name, unsigned rate, double hz, unsigned ms)
{
	size_t n = (size_t)rate * ms / 1000;
	GByteArray *b = g_byte_array_new();
	g_byte_array_append(b, (const uint8_t *)"RIFF", 4);
	put_le(b, (uint32_t)(36 + n * 2), 4);
	g_byte_array_append(b, (const uint8_t *)"WAVEfmt ", 8);
	put_le(b, 16, 4);
	put_le(b, 1, 2);            /* PCM */
	put_le(b, 1, 2);            /* mono */
	put_le(b, rate, 4);
	put_le(b, rate * 2, 4);
	put_le(b, 2, 2);
	put_le(b, 16, 2);
	g_byte_array_append(b, (const uint8_t *)"data", 4);
	put_le(b, (uint32_t)(n * 2), 4);
	for (size_t i = 0; i < n; i++)
		put_le(b, (uint16_t)(int16_t)lrint(12000 * sin(2 * M_PI * hz * (double)i / rate)), 2);
	char *path = g_build_filename(tmpdir, name, NULL);
	g_assert_true(g_file_set_contents(path, (const char *)b->data, b->len, NULL));
	g_byte_array_free(b, TRUE);
	return path;
}

typedef struct got {
	unsigned packets, from_peer, other_pt, seq_err, ts_err, markers, ssrcs;
	uint32_t ssrc;
	uint16_t seq;
	uint32_t ts;
	int16_t *pcm;
	size_t n_pcm;
	GString *events;      /* RFC 4733: digits with the E bit (once per event) */
	uint32_t ev_ts;
	bool ev_ended;
	uint8_t first_payload[160];
} got;

/* Receive on fd for `ms`: audio of pt (decoded with dec) or events of ev_pt. */
static void collect(int fd, got *g, uint8_t pt, rg_decoder *dec, int ev_pt, int ms)
{
	uint8_t b[2048];
	int64_t end = g_get_monotonic_time() + ms * 1000;
	for (;;) {
		int64_t left = end - g_get_monotonic_time();
		if (left <= 0)
			break;
		struct timeval tv = { .tv_sec = left / 1000000, .tv_usec = left % 1000000 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		ssize_t n = recv(fd, b, sizeof(b), 0);
		if (n < 12)
			continue;
		uint8_t p = b[1] & 0x7f;
		uint32_t ssrc = (uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | (uint32_t)b[10] << 8 | b[11];
		uint16_t seq = (uint16_t)(b[2] << 8 | b[3]);
		uint32_t ts = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
		if (ssrc == 0x11223344) {
			g->from_peer++;
			continue;
		}
		if (ev_pt >= 0 && p == ev_pt) {
			struct rg_te_event ev;
			g_assert_cmpint(rg_te_parse(b + 12, (size_t)n - 12, &ev), ==, 0);
			if (b[1] & 0x80)
				g->markers++;
			if (ts != g->ev_ts) {
				g->ev_ts = ts;
				g->ev_ended = false;
			}
			if (ev.end && !g->ev_ended) {
				g_string_append_c(g->events, rg_te_event_to_char(ev.event));
				g->ev_ended = true;
			}
			continue;
		}
		if (p != pt) {
			g->other_pt++;
			continue;
		}
		if (g->packets) {
			if (ssrc != g->ssrc)
				g->ssrcs++;
			if (seq != (uint16_t)(g->seq + 1))
				g->seq_err++;
			if (ts != g->ts + 160)
				g->ts_err++;
		} else {
			memcpy(g->first_payload, b + 12, (size_t)n - 12 < 160 ? (size_t)n - 12 : 160);
			if (b[1] & 0x80)
				g->markers++;
		}
		g->ssrc = ssrc;
		g->seq = seq;
		g->ts = ts;
		g->packets++;
		if (dec) {
			g->pcm = g_renew(int16_t, g->pcm, g->n_pcm + 960);
			unsigned k = 0;
			if (rg_dec_decode(dec, b + 12, (size_t)n - 12, g->pcm + g->n_pcm, 960, &k) == 0)
				g->n_pcm += k;
		}
	}
}

static void got_init(got *g)
{
	memset(g, 0, sizeof(*g));
	g->events = g_string_new(NULL);
}

static void got_clear(got *g)
{
	g_free(g->pcm);
	g_string_free(g->events, TRUE);
}

static double zc_freq(const int16_t *x, size_t n, unsigned rate)
{
	unsigned cross = 0;
	size_t first = 0, last = 0;
	for (size_t i = 1; i < n; i++) {
		if (x[i - 1] < 0 && x[i] >= 0) {
			if (!cross)
				first = i;
			last = i;
			cross++;
		}
	}
	return cross < 2 ? 0 : (double)(cross - 1) * rate / (double)(last - first);
}

static rg_decoder *decoder(const char *name)
{
	const rg_codec_type *t;
	rg_decoder *d;
	g_assert_cmpint(rg_codec_find(&t, name, 8000, 0, NULL), ==, 0);
	g_assert_cmpint(rg_dec_new(&d, t, NULL, 8000, 1), ==, 0);
	return d;
}

static void test_rtpproxy(void)
{
	unsigned pa, pb;
	int A = udp_bind(&pa), B = udp_bind(&pb);
	g_autofree char *u = g_strdup_printf("Uc0,8 moh1 127.0.0.1 %u ftag;1", pa);
	rp_port(u);                      /* where B would send */
	g_autofree char *l = g_strdup_printf("Lc8 moh1 127.0.0.1 %u ftag;1 ttag;1", pb);
	unsigned p_a = rp_port(l);       /* where A sends */
	g_autofree char *wav = write_wav("moh.wav", 44100, 1000, 600);
	g_autofree char *prompt = g_build_filename(tmpdir, "moh", NULL);   /* ".wav" found by the player */

	/* music on hold to the callee (rtpproxy_stream2uas: P-1 callid prompt session To;1 From;1) */
	uint64_t muted0 = rg_ctr_read(RG_CTR_DROP_MUTED);
	g_autofree char *p1 = g_strdup_printf("P-1 moh1 %s session ttag;1 ftag;1", prompt);
	ASSERT_RP(p1, "0\n");
	rg_decoder *pcma = decoder("PCMA"), *pcmu = decoder("PCMU");
	got g;
	got_init(&g);
	uint8_t pkt[200];
	for (int i = 0; i < 50; i++) {           /* 1 s: A talks, B must hear only the prompt */
		send_to(A, p_a, pkt, mk_test_rtp(pkt, (uint16_t)i, 0));
		collect(B, &g, 8, pcma, -1, 20);
	}
	collect(B, &g, 8, pcma, -1, 100);
	double f = zc_freq(g.pcm, g.n_pcm, 8000);
	g_test_message("P-1: %u PCMA packets, %.1f Hz, %u from A", g.packets, f, g.from_peer);
	g_assert_cmpuint(g.packets, >=, 40);        /* looped past the 0.6 s prompt */
	g_assert_cmpuint(g.from_peer, ==, 0);       /* A muted toward B */
	g_assert_cmpuint(g.other_pt, ==, 0);
	g_assert_cmpuint(g.seq_err, ==, 0);
	g_assert_cmpuint(g.ts_err, ==, 0);
	g_assert_cmpuint(g.ssrcs, ==, 0);
	g_assert_cmpuint(g.markers, ==, 1);
	g_assert_cmpfloat(fabs(f - 1000), <, 15);
	g_assert_cmpuint(rg_ctr_read(RG_CTR_DROP_MUTED) - muted0, >=, 40);
	/* S stops it: A's media reaches B again */
	ASSERT_RP("S moh1 ttag;1 ftag;1", "0\n");
	g_usleep(50000);
	got g2;
	got_init(&g2);
	collect(B, &g2, 8, NULL, -1, 50);   /* what was in flight */
	got_clear(&g2);
	got_init(&g2);
	for (int i = 0; i < 5; i++)
		send_to(A, p_a, pkt, mk_test_rtp(pkt, (uint16_t)(100 + i), 0));
	collect(B, &g2, 8, NULL, -1, 200);
	g_assert_cmpuint(g2.from_peer, ==, 5);
	g_assert_cmpuint(g2.packets, ==, 0);
	got_clear(&g2);
	got_clear(&g);

	/* once to the caller in PCMU (explicit codec list): 0.6 s = 30 packets, then nothing */
	g_autofree char *p2 = g_strdup_printf("P moh1 %s 0 ftag;1 ttag;1", prompt);
	ASSERT_RP(p2, "0\n");
	got_init(&g);
	collect(A, &g, 0, pcmu, -1, 1200);
	f = zc_freq(g.pcm, g.n_pcm, 8000);
	g_test_message("P once: %u PCMU packets, %.1f Hz", g.packets, f);
	g_assert_cmpuint(g.packets, >=, 29);
	g_assert_cmpuint(g.packets, <=, 31);
	g_assert_cmpfloat(fabs(f - 1000), <, 15);
	got_clear(&g);

	/* "session" to the caller: its c list is 0,8 but the answer (the callee's list) kept only 8,
	 * so the prompt goes out in the negotiated PCMA, not in the caller's first codec */
	g_autofree char *p2s = g_strdup_printf("P moh1 %s session ftag;1 ttag;1", prompt);
	ASSERT_RP(p2s, "0\n");
	got_init(&g);
	collect(A, &g, 8, pcma, -1, 900);
	f = zc_freq(g.pcm, g.n_pcm, 8000);
	g_test_message("P session to the caller: %u PCMA packets, %u of another PT, %.1f Hz", g.packets, g.other_pt, f);
	g_assert_cmpuint(g.packets, >=, 29);
	g_assert_cmpuint(g.other_pt, ==, 0);
	g_assert_cmpfloat(fabs(f - 1000), <, 15);
	got_clear(&g);

	/* a pre-encoded file for the payload type wins over the WAV: its octets as they are */
	g_autofree char *pre = g_build_filename(tmpdir, "moh.8", NULL);
	uint8_t raw[800];
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 3);
	g_assert_true(g_file_set_contents(pre, (const char *)raw, sizeof(raw), NULL));
	g_autofree char *p3 = g_strdup_printf("P moh1 %s session ttag;1 ftag;1", prompt);
	ASSERT_RP(p3, "0\n");
	got_init(&g);
	collect(B, &g, 8, NULL, -1, 500);
	g_assert_cmpuint(g.packets, ==, 5);
	g_assert_cmpmem(g.first_payload, 160, raw, 160);
	got_clear(&g);
	g_unlink(pre);

	/* P0 only stops; errors */
	g_autofree char *p4 = g_strdup_printf("P-1 moh1 %s session ttag;1 ftag;1", prompt);
	ASSERT_RP(p4, "0\n");
	ASSERT_RP("P0 moh1 x session ttag;1 ftag;1", "0\n");
	g_autofree char *junk = g_build_filename(tmpdir, "junk", NULL);
	g_assert_true(g_file_set_contents(junk, "not audio, just some text in a file.........", -1, NULL));
	g_autofree char *e1 = g_strdup_printf("P moh1 %s session ttag;1 ftag;1", junk);
	ASSERT_RP(e1, "E60\n");
	ASSERT_RP("P moh1 /nonexistent/prompt session ttag;1 ftag;1", "E60\n");
	ASSERT_RP("P moh1 x session nobody;1", "E60\n");
	ASSERT_RP("Pz moh1 x session ttag;1", "E17\n");
	unsigned pc;
	int C = udp_bind(&pc);
	g_autofree char *u2 = g_strdup_printf("U moh2 127.0.0.1 %u x;1", pc);
	rp_port(u2);
	g_autofree char *e2 = g_strdup_printf("P moh2 %s session x;1", prompt);
	ASSERT_RP(e2, "E35\n");    /* no c list for that leg */
	g_autofree char *ok2 = g_strdup_printf("P moh2 %s 0 x;1", prompt);
	ASSERT_RP(ok2, "0\n");
	ASSERT_RP("D moh2 x", "0\n");
	ASSERT_RP("D moh1 ftag ttag", "0\n");
	g_unlink(junk);
	g_unlink(wav);
	rg_dec_free(pcma);
	rg_dec_free(pcmu);
	close(A);
	close(B);
	close(C);
}

static char *sdp(unsigned port, bool te)
{
	return g_strdup_printf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			       "m=audio %u RTP/AVP 0%s\r\na=rtpmap:0 PCMU/8000\r\n%sa=sendrecv\r\n", port,
			       te ? " 101" : "", te ? "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n" : "");
}

static void on_tone(const struct rg_dtmf_tone *t, void *arg)
{
	if (t->end)
		g_string_append_c(arg, t->digit);
}

static void test_ng(void)
{
	unsigned pa, pb;
	int A = udp_bind(&pa), B = udp_bind(&pb);
	g_autofree char *sa = sdp(pa, true), *sb = sdp(pb, false);
	g_autoptr(reply) o = ng("offer", "call-id", "play1", "from-tag", "A", "sdp", sa, NULL);
	assert_result(o, "ok");
	g_autoptr(reply) an = ng("answer", "call-id", "play1", "from-tag", "A", "to-tag", "B", "sdp", sb, NULL);
	assert_result(an, "ok");
	g_autofree char *wav = write_wav("hello.wav", 16000, 440, 400);

	g_autoptr(reply) pm = ng("play media", "call-id", "play1", "from-tag", "A", "file", wav, "repeat-times", "2", NULL);
	assert_result(pm, "ok");
	int64_t dur = 0;
	g_assert_true(be_dict_int(pm->d, "duration", &dur));
	g_assert_cmpint(dur, ==, 400);
	rg_decoder *pcmu = decoder("PCMU");
	got g;
	got_init(&g);
	collect(A, &g, 0, pcmu, 101, 1000);
	double f = zc_freq(g.pcm, g.n_pcm, 8000);
	g_test_message("play media x2: %u packets, %.1f Hz", g.packets, f);
	g_assert_cmpuint(g.packets, >=, 39);
	g_assert_cmpuint(g.packets, <=, 41);
	g_assert_cmpfloat(fabs(f - 440), <, 10);
	got_clear(&g);
	{
		g_autoptr(reply) sm = ng("stop media", "call-id", "play1", "from-tag", "A", NULL);
		assert_error(sm, "Not currently playing");
		g_autoptr(reply) pm2 = ng("play media", "call-id", "play1", "from-tag", "A", "file", wav,
					  "repeat-times", "-1", NULL);
		assert_result(pm2, "ok");
		g_usleep(200000);
		g_autoptr(reply) sm2 = ng("stop media", "call-id", "play1", "from-tag", "A", NULL);
		assert_result(sm2, "ok");
		got_init(&g);
		collect(A, &g, 0, NULL, 101, 300);
		got_clear(&g);
		got_init(&g);
		collect(A, &g, 0, NULL, 101, 300);
		g_assert_cmpuint(g.packets, ==, 0);   /* stopped */
		got_clear(&g);
		g_autoptr(reply) bad = ng("play media", "call-id", "play1", "from-tag", "A", "file", "/nonexistent.wav", NULL);
		assert_error(bad, "Failed to start media playback");
		g_autoptr(reply) nob = ng("play media", "call-id", "play1", "file", wav, NULL);
		assert_error(nob, "No participant");
	}

	/* play DTMF from B: A has telephone-event: RFC 4733 events, PT 101 */
	g_autoptr(reply) d1 = ng("play DTMF", "call-id", "play1", "from-tag", "B", "code", "7", "duration", "200", NULL);
	assert_result(d1, "ok");
	got_init(&g);
	collect(A, &g, 0, NULL, 101, 600);
	g_test_message("play DTMF to A: events '%s', %u markers", g.events->str, g.markers);
	g_assert_cmpstr(g.events->str, ==, "7");
	g_assert_cmpuint(g.markers, ==, 1);
	got_clear(&g);
	/* from A: B has no telephone-event: tones in its PCMU */
	g_autoptr(reply) d2 = ng("play DTMF", "call-id", "play1", "from-tag", "A", "code", "11", NULL);
	assert_result(d2, "ok");
	got_init(&g);
	collect(B, &g, 0, pcmu, -1, 600);
	GString *digits = g_string_new(NULL);
	struct rg_dtmf_det *det;
	g_assert_cmpint(rg_dtmf_det_new(&det, NULL, on_tone, digits), ==, 0);
	rg_dtmf_det_process(det, g.pcm, g.n_pcm);
	rg_dtmf_det_flush(det);
	rg_dtmf_det_free(det);
	g_test_message("play DTMF to B: %u packets, in-band '%s'", g.packets, digits->str);
	g_assert_cmpstr(digits->str, ==, "#");
	g_string_free(digits, TRUE);
	got_clear(&g);
	g_autoptr(reply) d3 = ng("play DTMF", "call-id", "play1", "from-tag", "A", "code", "x", NULL);
	assert_error(d3, "Invalid DTMF code");
	g_autoptr(reply) d4 = ng("play DTMF", "call-id", "play1", "from-tag", "A", "code", "1", "duration", "20", NULL);
	assert_error(d4, "duration");

	g_autoptr(reply) del = ng("delete", "call-id", "play1", NULL);
	g_unlink(wav);
	rg_dec_free(pcmu);
	close(A);
	close(B);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	rg_log_init(true, RG_LOG_ERR, "test_player");
	tmpdir = g_dir_make_tmp("rg-test-player-XXXXXX", NULL);
	g_assert_nonnull(tmpdir);
	g_autofree char *listen = g_strdup_printf("--listen-ng=127.0.0.1:%d", 20400 + (getpid() % 90));
	rg_config cfg = { 0 };
	test_engine_start(&cfg, "--config-file=none", "--interface=127.0.0.1", listen,
			  "--port-min=" G_STRINGIFY(PORT_MIN), "--port-max=" G_STRINGIFY(PORT_MAX),
			  "--num-threads=1", "--delete-delay=0", NULL);
	g_test_add_func("/player/rtpproxy", test_rtpproxy);
	g_test_add_func("/player/ng", test_ng);
	int ret = g_test_run();
	test_engine_stop(&cfg);
	g_rmdir(tmpdir);
	g_free(tmpdir);
	return ret;
}
