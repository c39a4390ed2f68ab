/* Media on transcoded calls beyond the audio itself.
 *
 * /xcmedia/rtcp: rtpgate's own RTCP toward each side (RFC 3550 6.4.1): an SR for the stream it
 * sends (its SSRC, packet count), a report block about what that side sends (SSRC, loss,
 * extended highest sequence number, LSR/DLSR from the side's SR), SDES CNAME; the side's RR
 * about our stream gives the round trip in `query`.
 *
 * /xcmedia/dtmf-*: DTMF across a transcoded call where only one side negotiated telephone-event (RFC 4733):
 *  - the side with telephone-event (A) sends events: the other side (B, PCMA only) hears them as
 *    in-band tones, detected here in its decoded audio;
 *  - B sends in-band tones: A receives RFC 4733 events with its payload type, in A's output
 *    stream (same SSRC as the audio, timestamps of that stream, marker on the first packet, the
 *    end three times), one event per digit.
 * Run for A = PCMU (everything at 8 kHz) and A = G.722 (16 kHz: the tone and detector
 * resamplers).
 *
 * /xcmedia/dtx-cn: senders that go quiet on purpose, in real time: a G.711 phone that sends an
 * RFC 3389 CN packet and then nothing, and an Opus sender with DTX (usedtx=1: libopus marks
 * silent frames, which are not sent). The receiver's stream goes on at 20 ms, timestamps in
 * steps of one ptime, with comfort noise at the CN level, and the tone after the pause arrives.
 *
 * Through the real engine, NG offer/answer and real sockets. The other tests run with
 * dtx-delay 0 (no gap filling): they send faster than real time and wait for quiet. */
#include <arpa/inet.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bencode.h"
#include "call.h"
#include "codec_neg.h"
#include "transcode.h"
#include "log.h"
#include "ng.h"
#include "rg_codec.h"
#include "rg_dtmf.h"
#include "ng_harness.h"
#include "engine_harness.h"

#define PORT_MIN 21200
#define PORT_MAX 21263
#define TE_PT 101

typedef struct side {
	int fd, rfd;       /* RTP and RTCP sockets */
	unsigned port, rport;   /* ours */
	unsigned gw;       /* the gateway's port we send to */
	const rg_codec_type *t;
	unsigned pcm_rate;
	rg_encoder *enc;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts, ssrc;
} side;

static void side_init(side *s, const char *codec, unsigned rate, uint8_t pt, unsigned pcm_rate)
{
	s->fd = udp_bind(&s->port);
	s->rfd = udp_bind(&s->rport);
	g_assert_cmpint(rg_codec_find(&s->t, codec, rate, 0, NULL), ==, 0);
	s->pcm_rate = pcm_rate;
	g_assert_cmpint(rg_enc_new(&s->enc, s->t, NULL, pcm_rate, 1), ==, 0);
	s->pt = pt;
	s->seq = 100;
	s->ts = 5000;
	s->ssrc = g_random_int();
}

static void side_clear(side *s)
{
	rg_enc_free(s->enc);
	close(s->fd);
	close(s->rfd);
}

static void put_hdr(uint8_t *b, bool marker, uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
	b[0] = 0x80;
	b[1] = (uint8_t)((marker ? 0x80 : 0) | pt);
	b[2] = seq >> 8;
	b[3] = seq & 0xff;
	uint32_t t = htonl(ts), s = htonl(ssrc);
	memcpy(b + 4, &t, 4);
	memcpy(b + 8, &s, 4);
}

/* 20 ms of pcm (side's PCM rate) as one packet; 20 ms of RTP clock on */
static void send_audio(side *s, const int16_t *pcm)
{
	uint8_t pkt[1500];
	size_t len = 0;
	g_assert_cmpint(rg_enc_encode(s->enc, pcm, s->pcm_rate / 50, pkt + 12, sizeof(pkt) - 12, &len), ==, 0);
	put_hdr(pkt, false, s->pt, s->seq++, s->ts, s->ssrc);
	send_to(s->fd, s->gw, pkt, 12 + len);
	s->ts += s->t->rate / 50;
	g_usleep(1500);
}

/* Packet k of a 1 kHz tone (seq/ts from the side's start values + k), sent now */
static void send_tone_packet(side *s, unsigned k)
{
	int16_t pcm[960];
	unsigned n = s->pcm_rate / 50;
	for (unsigned i = 0; i < n; i++)
		pcm[i] = (int16_t)(8000 * sin(2 * M_PI * 1000 * (double)(k * n + i) / s->pcm_rate));
	uint8_t pkt[1500];
	size_t len = 0;
	g_assert_cmpint(rg_enc_encode(s->enc, pcm, n, pkt + 12, sizeof(pkt) - 12, &len), ==, 0);
	put_hdr(pkt, false, s->pt, (uint16_t)(s->seq + k), s->ts + k * (s->t->rate / 50), s->ssrc);
	send_to(s->fd, s->gw, pkt, 12 + len);
	g_usleep(1500);
}

/* The packets of one event as a browser sends them: every 20 ms the duration so far, no audio
 * meanwhile, the end three times; the audio clock then moves past the event. */
static void send_event(side *s, char digit, unsigned ms)
{
	uint8_t pkt[16];
	unsigned step = s->t->rate / 50;   /* telephone-event/8000 with PCMU and G.722 */
	for (unsigned d = step, i = 0; d <= ms * s->t->rate / 1000; d += step, i++) {
		bool end = d + step > ms * s->t->rate / 1000;
		struct rg_te_event ev = { .event = (uint8_t)rg_te_char_to_event(digit), .end = end,
					  .volume = 10, .duration = (uint16_t)d };
		for (int k = 0; k < (end ? 3 : 1); k++) {
			put_hdr(pkt, i == 0, TE_PT, s->seq++, s->ts, s->ssrc);
			rg_te_build(&ev, pkt + 12, 4);
			send_to(s->fd, s->gw, pkt, 16);
		}
		g_usleep(1500);
	}
	s->ts += ms * s->t->rate / 1000;
}

typedef struct rx {
	GString *digits;       /* detected in-band, or events with the E bit */
	uint64_t audio, events, event_ends, markers, bad_ts, other_pt;
	uint32_t audio_ssrc, event_ssrc;
	GArray *audio_ts;      /* uint32_t, every audio timestamp seen */
	uint32_t cur_event_ts;
	bool in_event;
} rx;

static void on_tone(const struct rg_dtmf_tone *t, void *arg)
{
	rx *r = arg;
	if (t->end)
		g_string_append_c(r->digits, t->digit);
}

/* Receive on fd until it stays quiet 300 ms: audio of type t (decoded into det when given) and
 * telephone-event packets of te_pt. */
static void receive(int fd, rx *r, const rg_codec_type *t, uint8_t pt, int te_pt, struct rg_dtmf_det *det)
{
	rg_decoder *dec = NULL;
	if (det)
		g_assert_cmpint(rg_dec_new(&dec, t, NULL, 8000, 1), ==, 0);
	uint8_t buf[2048];
	int16_t pcm[2048];
	struct timeval tv = { .tv_usec = 300000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			break;
		if (n < 12)
			continue;
		uint8_t ppt = buf[1] & 0x7f;
		uint32_t ts = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
		uint32_t ssrc = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11];
		if (ppt == pt) {
			r->audio++;
			r->audio_ssrc = ssrc;
			g_array_append_val(r->audio_ts, ts);
			unsigned got = 0;
			if (dec && rg_dec_decode(dec, buf + 12, (size_t)n - 12, pcm, G_N_ELEMENTS(pcm), &got) == 0)
				rg_dtmf_det_process(det, pcm, got);
		} else if (te_pt >= 0 && ppt == te_pt && n >= 16) {
			struct rg_te_event ev;
			g_assert_cmpint(rg_te_parse(buf + 12, (size_t)n - 12, &ev), ==, 0);
			r->events++;
			r->event_ssrc = ssrc;
			if (buf[1] & 0x80)
				r->markers++;
			/* an event's timestamp is one of the audio stream's (its start) */
			bool found = false;
			for (guint i = 0; i < r->audio_ts->len && !found; i++)
				found = g_array_index(r->audio_ts, uint32_t, i) == ts;
			if (!found)
				r->bad_ts++;
			if (ev.end) {
				if (!r->in_event || r->cur_event_ts != ts)
					g_string_append_c(r->digits, rg_te_event_to_char(ev.event));
				r->event_ends++;
				r->in_event = true;
				r->cur_event_ts = ts;
			}
		} else {
			r->other_pt++;
		}
	}
	rg_dec_free(dec);
}

static void rx_init(rx *r)
{
	memset(r, 0, sizeof(*r));
	r->digits = g_string_new(NULL);
	r->audio_ts = g_array_new(FALSE, FALSE, sizeof(uint32_t));
}

static void rx_clear(rx *r)
{
	g_string_free(r->digits, TRUE);
	g_array_free(r->audio_ts, TRUE);
}

/* A offers sa with `flags` (one NG flag), B answers sb; both sides learn the gateway's ports.
 * Returns the answer's SDP toward A (g_free). */
static char *offer_answer(side *a, side *b, const char *cid, const char *sa, const char *flags, const char *sb)
{
	g_autoptr(reply) o = ng("offer", "call-id", cid, "from-tag", "A", "sdp", sa, "flags", flags, NULL);
	assert_result(o, "ok");
	g_autofree char *to_b = rstr(o, "sdp");
	b->gw = sdp_port(to_b, 0);
	g_autoptr(reply) an = ng("answer", "call-id", cid, "from-tag", "A", "to-tag", "B", "sdp", sb, NULL);
	assert_result(an, "ok");
	char *to_a = rstr(an, "sdp");
	a->gw = sdp_port(to_a, 0);
	return to_a;
}

/* A (a_codec + telephone-event) offers with codec-transcode-PCMA, B answers PCMA only. */
static void setup_call(side *a, side *b, const char *a_codec, unsigned a_rate, uint8_t a_pt,
		       unsigned a_pcm, const char *cid)
{
	side_init(a, a_codec, a_rate, a_pt, a_pcm);
	side_init(b, "PCMA", 8000, 8, 8000);
	g_autofree char *sa = g_strdup_printf(
		"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=a\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		"m=audio %u RTP/AVP %u %u\r\na=rtpmap:%u %s/%u\r\na=rtpmap:%u telephone-event/8000\r\n"
		"a=fmtp:%u 0-15\r\na=rtcp:%u\r\na=sendrecv\r\n", a->port, a_pt, TE_PT, a_pt, a_codec, a_rate,
		TE_PT, TE_PT, a->rport);
	g_autofree char *sb = g_strdup_printf(
		"v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=b\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		"m=audio %u RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=rtcp:%u\r\na=sendrecv\r\n", b->port, b->rport);
	g_autofree char *to_a = offer_answer(a, b, cid, sa, "[codec-transcode-PCMA", sb);
	g_autofree char *want = g_strdup_printf(" RTP/AVP %u %u\r\n", a_pt, TE_PT);
	if (!strstr(to_a, want))
		g_error("answer to A lacks '%s':\n%s", want, to_a);
}

static void run(const char *a_codec, unsigned a_rate, uint8_t a_pt, unsigned a_pcm, const char *cid)
{
	side a, b;
	setup_call(&a, &b, a_codec, a_rate, a_pt, a_pcm, cid);

	/* A -> B: events become tones */
	int16_t silence[960] = { 0 };
	for (int i = 0; i < 10; i++)
		send_audio(&a, silence);
	send_event(&a, '5', 120);
	for (int i = 0; i < 8; i++)
		send_audio(&a, silence);
	send_event(&a, '#', 100);
	for (int i = 0; i < 10; i++)
		send_audio(&a, silence);
	rx rb;
	rx_init(&rb);
	struct rg_dtmf_det *det;
	g_assert_cmpint(rg_dtmf_det_new(&det, NULL, on_tone, &rb), ==, 0);
	receive(b.fd, &rb, b.t, 8, -1, det);
	rg_dtmf_det_flush(det);
	rg_dtmf_det_free(det);
	g_test_message("%s: B heard '%s' in %" G_GUINT64_FORMAT " PCMA packets", a_codec, rb.digits->str, rb.audio);
	g_assert_cmpstr(rb.digits->str, ==, "5#");
	g_assert_cmpuint(rb.other_pt, ==, 0);   /* no telephone-event toward B */
	g_assert_cmpuint(rb.audio, >=, 37);   /* 28 x 20 ms of audio + 220 ms of events */

	/* B -> A: tones become events */
	struct rg_dtmf_gen *gen;
	g_assert_cmpint(rg_dtmf_gen_new(&gen, -10, 2), ==, 0);
	for (int i = 0; i < 10; i++)
		send_audio(&b, silence);
	g_assert_cmpint(rg_dtmf_gen_queue(gen, '7', 100, 100), ==, 0);
	g_assert_cmpint(rg_dtmf_gen_queue(gen, '9', 140, 100), ==, 0);
	while (rg_dtmf_gen_busy(gen)) {
		int16_t pcm[160] = { 0 };
		size_t got = 0;
		g_assert_cmpint(rg_dtmf_gen_read(gen, pcm, 160, &got), ==, 0);
		send_audio(&b, pcm);
	}
	for (int i = 0; i < 10; i++)
		send_audio(&b, silence);
	rg_dtmf_gen_free(gen);
	rx ra;
	rx_init(&ra);
	receive(a.fd, &ra, a.t, a_pt, TE_PT, NULL);
	g_test_message("%s: A got events '%s': %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT
		       " ends, %" G_GUINT64_FORMAT " markers; %" G_GUINT64_FORMAT " audio", a_codec,
		       ra.digits->str, ra.events, ra.event_ends, ra.markers, ra.audio);
	g_assert_cmpstr(ra.digits->str, ==, "79");
	g_assert_cmpuint(ra.markers, ==, 2);
	g_assert_cmpuint(ra.event_ends, ==, 6);
	g_assert_cmpuint(ra.events, >, 6);
	g_assert_cmpuint(ra.bad_ts, ==, 0);
	g_assert_cmpuint(ra.event_ssrc, ==, ra.audio_ssrc);
	g_assert_cmpuint(ra.other_pt, ==, 0);

	g_autoptr(reply) d = ng("delete", "call-id", cid, NULL);
	rx_clear(&ra);
	rx_clear(&rb);
	side_clear(&a);
	side_clear(&b);
}

/* ---- RTCP ---- */

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

typedef struct sr_seen {
	unsigned srs;
	uint32_t ssrc, packets, rb_ssrc, rb_ext_max, rb_lsr, rb_dlsr;
	int32_t rb_lost;
	unsigned rb_count;
	uint64_t ntp;
	bool cname;
} sr_seen;

/* Read what arrives on an RTCP socket for 300 ms; the last SR's fields. */
static void read_rtcp(int fd, sr_seen *out)
{
	uint8_t buf[1500];
	struct timeval tv = { .tv_usec = 300000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ssize_t n;
	while ((n = recv(fd, buf, sizeof(buf), 0)) >= 0) {
		for (size_t off = 0; off + 4 <= (size_t)n;) {
			const uint8_t *p = buf + off;
			size_t plen = 4u * ((unsigned)(p[2] << 8 | p[3]) + 1);
			g_assert_cmpuint(off + plen, <=, (size_t)n);
			if (p[1] == 200 && plen >= 28) {
				out->srs++;
				out->ssrc = rd32(p + 4);
				out->ntp = (uint64_t)rd32(p + 8) << 32 | rd32(p + 12);
				out->packets = rd32(p + 20);
				out->rb_count = p[0] & 0x1f;
				if (out->rb_count && plen >= 52) {
					out->rb_ssrc = rd32(p + 28);
					uint32_t l = rd32(p + 32) & 0xffffff;
					out->rb_lost = (int32_t)(l << 8) >> 8;
					out->rb_ext_max = rd32(p + 36);
					out->rb_lsr = rd32(p + 44);
					out->rb_dlsr = rd32(p + 48);
				}
			} else if (p[1] == 202 && plen >= 12 && p[8] == 1) {
				out->cname = p[9] == 7 && memcmp(p + 10, "rtpgate", 7) == 0;
			}
			off += plen;
		}
	}
}

static void send_rtcp(side *s, const uint8_t *pkt, size_t len)
{
	send_to(s->rfd, s->gw + 1, pkt, len);
}

static void test_rtcp(void)
{
	side a, b;
	setup_call(&a, &b, "PCMU", 8000, 0, 8000, "xc-rtcp");
	/* A's SR first: the reports toward A must echo it (LSR) */
	uint8_t sr[28] = { 0x80, 200, 0, 6 };
	uint32_t v = htonl(a.ssrc);
	memcpy(sr + 4, &v, 4);
	v = htonl(0xe1234567);
	memcpy(sr + 8, &v, 4);
	v = htonl(0x89abcdef);
	memcpy(sr + 12, &v, 4);
	send_rtcp(&a, sr, sizeof(sr));
	/* 1.5 s of media both ways; A's packets 30-34 are lost on the way */
	int16_t silence[960] = { 0 };
	uint16_t a_last = 0;
	for (int i = 0; i < 75; i++) {
		if (i >= 30 && i < 35) {
			a.seq++;
			a.ts += 160;
		} else {
			a_last = a.seq;
			send_audio(&a, silence);
		}
		send_audio(&b, silence);
		g_usleep(17000);
	}
	rx ra, rb;
	rx_init(&ra);
	rx_init(&rb);
	receive(a.fd, &ra, a.t, 0, TE_PT, NULL);
	receive(b.fd, &rb, b.t, 8, -1, NULL);
	sr_seen ta = { 0 }, tb = { 0 };
	read_rtcp(a.rfd, &ta);
	read_rtcp(b.rfd, &tb);
	g_test_message("toward A: %u SR, %u packets, lost %d, ext max %u, lsr %08x; toward B: %u SR",
		       ta.srs, ta.packets, ta.rb_lost, ta.rb_ext_max, ta.rb_lsr, tb.srs);
	/* toward A: about our stream to A and about A's stream */
	g_assert_cmpuint(ta.srs, >=, 1);
	g_assert_cmpuint(ta.ssrc, ==, ra.audio_ssrc);
	g_assert_cmpuint(ta.packets, >=, 40);
	g_assert_cmpuint(ta.packets, <=, ra.audio);
	g_assert_cmpuint(ta.rb_count, ==, 1);
	g_assert_cmpuint(ta.rb_ssrc, ==, a.ssrc);
	g_assert_cmpint(ta.rb_lost, ==, 5);
	g_assert_cmpuint(ta.rb_ext_max & 0xffff, <=, a_last);
	g_assert_cmpuint(ta.rb_ext_max & 0xffff, >=, (uint16_t)(a_last - 30));
	g_assert_cmpuint(ta.rb_lsr, ==, 0x456789ab);
	g_assert_cmpuint(ta.rb_dlsr, >, 0);
	g_assert_true(ta.cname);
	/* toward B: the same about B, no loss, no LSR (B sent no SR) */
	g_assert_cmpuint(tb.srs, >=, 1);
	g_assert_cmpuint(tb.ssrc, ==, rb.audio_ssrc);
	g_assert_cmpuint(tb.rb_ssrc, ==, b.ssrc);
	g_assert_cmpint(tb.rb_lost, ==, 0);
	g_assert_cmpuint(tb.rb_lsr, ==, 0);
	g_assert_true(tb.cname);

	/* A's receiver report about our stream (it claims to have held our SR for 10 ms, so the round
	 * trip is the time since our SR, less 10 ms): a round trip in query */
	uint8_t rr[32] = { 0x81, 201, 0, 7 };
	v = htonl(a.ssrc);
	memcpy(rr + 4, &v, 4);
	v = htonl(ta.ssrc);
	memcpy(rr + 8, &v, 4);
	v = htonl((uint32_t)(ta.ntp >> 16));
	memcpy(rr + 24, &v, 4);
	v = htonl(655);   /* DLSR 10 ms */
	memcpy(rr + 28, &v, 4);
	send_rtcp(&a, rr, sizeof(rr));
	g_usleep(100000);
	g_autoptr(reply) q = ng("query", "call-id", "xc-rtcp", NULL);
	assert_result(q, "ok");
	const be_node *ssrcs = be_dict_get(q->d, "SSRC");
	g_assert_nonnull(ssrcs);
	char key[16];
	snprintf(key, sizeof(key), "%u", b.ssrc);
	const be_node *e = be_dict_get(be_dict_get(ssrcs, key), "average MOS");
	g_assert_nonnull(e);
	int64_t rtt = -1;
	g_assert_true(be_dict_int(e, "round-trip time", &rtt));
	g_test_message("round trip %" G_GINT64_FORMAT " us", rtt);
	g_assert_cmpint(rtt, >, 0);
	g_assert_cmpint(rtt, <, 5000000);

	g_autoptr(reply) d = ng("delete", "call-id", "xc-rtcp", NULL);
	rx_clear(&ra);
	rx_clear(&rb);
	side_clear(&a);
	side_clear(&b);
}

/* ---- jitter buffer ---- */

static rg_transcoder_stats xc_stats(const char *cid, const char *tag)
{
	rg_transcoder_stats st = { 0 };
	rg_call *c = rg_call_get(cid);
	g_assert_nonnull(c);
	g_mutex_lock(&c->lock);
	rg_party *p = rg_party_find(c, tag);
	rg_media *m = p ? p->medias->pdata[0] : NULL;
	g_assert_true(m && m->codecs && m->codecs->xc);
	rg_transcoder_get_stats(m->codecs->xc, &st);
	g_mutex_unlock(&c->lock);
	rg_call_unref(c);
	return st;
}

/* Reordered packets are put back in order before decoding (nothing concealed for them), a lost
 * one is concealed once the packets after it waited long enough, one that comes after its place
 * was concealed is dropped; the output stream stays continuous and the tone clean. */
static void test_jitter(void)
{
	side a, b;
	setup_call(&a, &b, "PCMU", 8000, 0, 8000, "xc-jitter");
	/* 0 1 3 2 5 4 ... pairs swapped from 2 on; 30 comes after 45, too late */
	unsigned order[80], n = 0;
	for (unsigned k = 0; k < 2; k++)
		order[n++] = k;
	for (unsigned k = 2; k < 26; k += 2) {
		order[n++] = k + 1;
		order[n++] = k;
	}
	for (unsigned k = 26; k < 60; k++) {
		if (k == 30)
			continue;
		order[n++] = k;
		if (k == 45)
			order[n++] = 30;   /* after 8 packets waited behind it: given up, then late */
	}
	for (unsigned i = 0; i < n; i++)
		send_tone_packet(&a, order[i]);
	rx rb;
	rx_init(&rb);
	rg_decoder *dec;
	g_assert_cmpint(rg_dec_new(&dec, b.t, NULL, 8000, 1), ==, 0);
	int16_t *pcm = g_new0(int16_t, 60 * 160);
	/* what B gets: 60 packets of 20 ms (one concealed), in sequence */
	uint8_t buf[2048];
	unsigned got = 0, seq_err = 0, n_pcm = 0;
	uint16_t last = 0;
	struct timeval tv = { .tv_usec = 300000 };
	setsockopt(b.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ssize_t len;
	while ((len = recv(b.fd, buf, sizeof(buf), 0)) > 12) {
		uint16_t sq = (uint16_t)(buf[2] << 8 | buf[3]);
		if (got && sq != (uint16_t)(last + 1))
			seq_err++;
		last = sq;
		got++;
		unsigned k = 0;
		if (n_pcm + 160 <= 60 * 160 &&
		    rg_dec_decode(dec, buf + 12, (size_t)len - 12, pcm + n_pcm, 160, &k) == 0)
			n_pcm += k;
	}
	rg_transcoder_stats st = xc_stats("xc-jitter", "A");
	g_test_message("jitter: %u packets out, reordered %" G_GUINT64_FORMAT ", gaps %" G_GUINT64_FORMAT
		       ", late %" G_GUINT64_FORMAT, got, st.jb_reordered, st.jb_gaps, st.jb_late);
	g_assert_cmpuint(got, ==, 60);
	g_assert_cmpuint(seq_err, ==, 0);
	g_assert_cmpuint(st.jb_reordered, >=, 12);   /* the swapped ones, and those held behind 30 */
	g_assert_cmpuint(st.jb_gaps, ==, 1);
	g_assert_cmpuint(st.jb_late, ==, 1);
	/* the swapped part (packets 2..25) decodes to a clean 1 kHz: no concealment in it */
	unsigned cross = 0;
	for (unsigned i = 2 * 160 + 1; i < 26 * 160; i++)
		cross += pcm[i - 1] < 0 && pcm[i] >= 0;
	g_assert_cmpuint(cross, >=, 478);
	g_assert_cmpuint(cross, <=, 482);
	g_free(pcm);
	rg_dec_free(dec);
	rx_clear(&rb);
	g_autoptr(reply) d = ng("delete", "call-id", "xc-jitter", NULL);
	side_clear(&a);
	side_clear(&b);
}

static void test_pcmu(void)
{
	run("PCMU", 8000, 0, 8000, "dtmf-pcmu");
}

static void test_g722(void)
{
	run("G722", 8000, 9, 16000, "dtmf-g722");
}

/* ---- DTX and CN ---- */

typedef struct arrivals {
	unsigned n, seq_err, bad_inc, other;
	uint16_t last_seq;
	uint32_t last_ts;
	int64_t last_us, max_gap_us;
	int16_t *pcm;          /* decoded, 8 kHz */
	size_t n_pcm, cap;
	size_t *pcm_at;        /* n_pcm when packet k arrived */
	rg_decoder *dec;
	uint8_t pt;
	uint32_t inc;          /* expected timestamp step */
} arrivals;

static void arrivals_init(arrivals *r, const char *codec, unsigned rate, uint8_t pt, uint32_t inc)
{
	memset(r, 0, sizeof(*r));
	const rg_codec_type *t;
	g_assert_cmpint(rg_codec_find(&t, codec, rate, 0, NULL), ==, 0);
	g_assert_cmpint(rg_dec_new(&r->dec, t, NULL, 8000, 1), ==, 0);
	r->cap = 8000 * 10;
	r->pcm = g_new0(int16_t, r->cap);
	r->pcm_at = g_new0(size_t, 1000);
	r->pt = pt;
	r->inc = inc;
}

static void arrivals_clear(arrivals *r)
{
	rg_dec_free(r->dec);
	g_free(r->pcm);
	g_free(r->pcm_at);
}

/* what arrived on fd by now, without waiting */
static void collect(int fd, arrivals *r)
{
	uint8_t buf[2048];
	ssize_t len;
	while ((len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 12) {
		int64_t now = g_get_monotonic_time();
		if ((buf[1] & 0x7f) != r->pt) {
			r->other++;
			continue;
		}
		uint16_t sq = (uint16_t)(buf[2] << 8 | buf[3]);
		uint32_t ts = rd32(buf + 4);
		if (r->n) {
			r->seq_err += sq != (uint16_t)(r->last_seq + 1);
			r->bad_inc += ts - r->last_ts != r->inc;
			r->max_gap_us = MAX(r->max_gap_us, now - r->last_us);
		}
		r->last_seq = sq;
		r->last_ts = ts;
		r->last_us = now;
		if (r->n < 1000)
			r->pcm_at[r->n] = r->n_pcm;
		r->n++;
		unsigned got = 0;
		if (r->n_pcm + 960 <= r->cap &&
		    rg_dec_decode(r->dec, buf + 12, (size_t)len - 12, r->pcm + r->n_pcm, 960, &got) == 0)
			r->n_pcm += got;
	}
}

/* sleep until t (monotonic us), collecting what arrives meanwhile */
static void wait_until(int64_t t, int fd, arrivals *r)
{
	for (;;) {
		collect(fd, r);
		int64_t now = g_get_monotonic_time();
		if (now >= t)
			return;
		g_usleep((gulong)MIN(t - now, 2000));
	}
}

static double level_db(const int16_t *x, size_t n)
{
	double e = 0;
	for (size_t i = 0; i < n; i++)
		e += (double)x[i] * x[i];
	return 10 * log10(e / (double)(n ? n : 1) / (32768.0 * 32768.0) + 1e-12);
}

/* 1 kHz tone cycles in x (8 kHz): zero crossings upward */
static unsigned cycles(const int16_t *x, size_t n)
{
	unsigned c = 0;
	for (size_t i = 1; i < n; i++)
		c += x[i - 1] < 0 && x[i] >= 0;
	return c;
}

static void test_dtx_cn(void)
{
	rg_transcode_configure(50, 0);
	/* A: a G.711 phone with CN; B: an Opus (WebRTC-like) sender with usedtx=1 */
	side a, b;
	side_init(&a, "PCMU", 8000, 0, 8000);
	side_init(&b, "opus", 48000, 111, 48000);
	rg_codec_params bp;
	const rg_codec_type *ot = b.t;
	g_assert_cmpint(rg_codec_params_parse(ot, "usedtx=1", &bp), ==, 0);
	rg_enc_free(b.enc);
	g_assert_cmpint(rg_enc_new(&b.enc, ot, &bp, 48000, 1), ==, 0);
	const char *cid = "xc-dtx";
	g_autofree char *sa = g_strdup_printf(
		"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=a\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		"m=audio %u RTP/AVP 0 13\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:13 CN/8000\r\na=rtcp:%u\r\n"
		"a=sendrecv\r\n", a.port, a.rport);
	g_autofree char *sb = g_strdup_printf(
		"v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=b\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		"m=audio %u RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\na=rtcp:%u\r\n"
		"a=sendrecv\r\n", b.port, b.rport);   /* B sends with DTX, but does not ask us to */
	g_autofree char *to_a = offer_answer(&a, &b, cid, sa, "[codec-transcode-opus", sb);
	/* A offered CN: rtpgate takes it (it makes the noise), so the answer keeps it */
	if (!strstr(to_a, " RTP/AVP 0 13\r\n") || !strstr(to_a, "a=rtpmap:13 CN/8000"))
		g_error("answer to A should keep CN:\n%s", to_a);

	/* A -> B: 200 ms tone, CN at -40 dBov, 600 ms nothing, 200 ms tone; B gets Opus */
	arrivals rb;
	arrivals_init(&rb, "opus", 48000, 111, 960);
	int64_t t0 = g_get_monotonic_time();
	unsigned k = 0;
	for (; k < 10; k++) {
		wait_until(t0 + (int64_t)k * 20000, b.fd, &rb);
		send_tone_packet(&a, k);
	}
	uint8_t cn[13];
	put_hdr(cn, false, 13, (uint16_t)(a.seq + k), a.ts + k * 160, a.ssrc);
	cn[12] = 40;
	wait_until(t0 + (int64_t)k * 20000, b.fd, &rb);
	send_to(a.fd, a.gw, cn, sizeof(cn));
	unsigned noise_from = rb.n;
	wait_until(t0 + (int64_t)(k + 30) * 20000, b.fd, &rb);
	unsigned noise_to = rb.n;
	a.seq++;   /* the CN packet took a sequence number */
	for (unsigned j = 0; j < 10; j++) {
		wait_until(t0 + (int64_t)(k + 30 + j) * 20000, b.fd, &rb);
		send_tone_packet(&a, k + 30 + j);
	}
	wait_until(g_get_monotonic_time() + 100000, b.fd, &rb);
	g_test_message("A->B: %u packets, during the CN pause %u, max gap %" G_GINT64_FORMAT " us, seq errors %u, "
		       "bad ts steps %u", rb.n, noise_to - noise_from, rb.max_gap_us, rb.seq_err, rb.bad_inc);
	g_assert_cmpuint(rb.seq_err, ==, 0);
	g_assert_cmpuint(rb.bad_inc, ==, 0);          /* one ptime per packet, no jump */
	g_assert_cmpuint(noise_to - noise_from, >=, 26);   /* 600 ms of it at 20 ms */
	g_assert_cmpuint(noise_to - noise_from, <=, 32);
	g_assert_cmpint(rb.max_gap_us, <, 45000);
	g_assert_cmpuint(rb.n, >=, 48);
	g_assert_cmpuint(rb.n, <=, 54);
	/* the noise B hears: near the CN level, far from silence and from the tone */
	size_t nf = rb.pcm_at[noise_from + 5], nt = rb.pcm_at[noise_to - 2];
	double nl = level_db(rb.pcm + nf, nt - nf);
	g_test_message("A->B: noise at %.1f dBFS", nl);
	g_assert_cmpfloat(nl, >, -52);
	g_assert_cmpfloat(nl, <, -30);
	size_t tf = rb.pcm_at[rb.n - 8];
	unsigned cy = cycles(rb.pcm + tf, 5 * 160);
	g_assert_cmpuint(cy, >=, 98);
	g_assert_cmpuint(cy, <=, 102);
	rg_transcoder_stats st = xc_stats(cid, "A");
	g_assert_cmpuint(st.cn_in, ==, 1);
	g_assert_cmpuint(st.fill_periods, >=, 1);

	/* B -> A: 300 ms tone, 1 s of digital silence (DTX: most of it not sent), 300 ms tone */
	arrivals ra;
	arrivals_init(&ra, "PCMU", 8000, 0, 160);
	unsigned sent = 0, quiet_from = 0, quiet_to = 0;
	t0 = g_get_monotonic_time();
	for (unsigned i = 0; i < 80; i++) {
		wait_until(t0 + (int64_t)i * 20000, a.fd, &ra);
		if (i == 15)
			quiet_from = ra.n;
		if (i == 65)
			quiet_to = ra.n;
		int16_t pcm[960];
		for (unsigned j = 0; j < 960; j++)
			pcm[j] = i < 15 || i >= 65 ? (int16_t)(8000 * sin(2 * M_PI * 1000 * (double)(i * 960 + j) / 48000)) : 0;
		uint8_t pkt[1500];
		size_t len = 0;
		g_assert_cmpint(rg_enc_encode(b.enc, pcm, 960, pkt + 12, sizeof(pkt) - 12, &len), ==, 0);
		if (len > 2) {   /* RFC 7587 3.1.3: DTX frames are not sent */
			put_hdr(pkt, false, 111, b.seq++, b.ts, b.ssrc);
			send_to(b.fd, b.gw, pkt, 12 + len);
			sent++;
		}
		b.ts += 960;
	}
	wait_until(g_get_monotonic_time() + 100000, a.fd, &ra);
	g_test_message("B->A: %u of 80 sent, %u PCMU packets, %u in the pause, max gap %" G_GINT64_FORMAT
		       " us, seq errors %u, bad ts steps %u", sent, ra.n, quiet_to - quiet_from, ra.max_gap_us,
		       ra.seq_err, ra.bad_inc);
	g_assert_cmpuint(sent, <, 60);                 /* DTX happened */
	g_assert_cmpuint(ra.seq_err, ==, 0);
	g_assert_cmpuint(ra.bad_inc, ==, 0);
	/* no CN here: filling starts once the next packet is dtx-delay (50 ms) overdue, then
	   catches up; the longest wait the receiver sees is about 20 + 50 ms, once */
	g_assert_cmpint(ra.max_gap_us, <, 100000);
	g_assert_cmpuint(quiet_to - quiet_from, >=, 46);
	g_assert_cmpuint(quiet_to - quiet_from, <=, 54);
	g_assert_cmpuint(ra.n, >=, 76);
	g_assert_cmpuint(ra.n, <=, 84);
	tf = ra.pcm_at[ra.n - 8];
	cy = cycles(ra.pcm + tf, 5 * 160);
	g_assert_cmpuint(cy, >=, 98);
	g_assert_cmpuint(cy, <=, 102);
	st = xc_stats(cid, "B");
	g_assert_cmpuint(st.fill_periods, >=, 1);
	g_assert_cmpuint(st.fill_packets, >=, 20);

	/* B puts A on hold (sendonly; A answers recvonly and stops): nothing is made up toward B */
	g_autofree char *sb2 = g_strdup_printf(
		"v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=b\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		"m=audio %u RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\na=rtcp:%u\r\na=sendonly\r\n",
		b.port, b.rport);
	g_autoptr(reply) o2 = ng("offer", "call-id", cid, "from-tag", "B", "to-tag", "A", "sdp", sb2, "flags",
				 "[codec-transcode-PCMU", NULL);
	assert_result(o2, "ok");
	g_autofree char *sa2 = g_strdup_printf(
		"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=a\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		"m=audio %u RTP/AVP 0 13\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:13 CN/8000\r\na=rtcp:%u\r\n"
		"a=recvonly\r\n", a.port, a.rport);
	g_autoptr(reply) an2 = ng("answer", "call-id", cid, "from-tag", "B", "to-tag", "A", "sdp", sa2, NULL);
	assert_result(an2, "ok");
	arrivals_clear(&rb);
	arrivals_init(&rb, "opus", 48000, 111, 960);
	collect(b.fd, &rb);   /* what came before the hold: A's silence, filled meanwhile */
	g_assert_cmpuint(rb.n, >, 50);
	rb.n = 0;
	/* A still sends three packets, then stops: they are transcoded, the silence after them is
	   not filled (A said it does not send, B that it does not receive) */
	for (unsigned j = 0; j < 3; j++) {
		wait_until(g_get_monotonic_time() + 20000, b.fd, &rb);
		send_tone_packet(&a, k + 50 + j);
	}
	wait_until(g_get_monotonic_time() + 400000, b.fd, &rb);
	g_test_message("on hold: %u packets toward B", rb.n);
	g_assert_cmpuint(rb.n, ==, 3);

	/* B went quiet long ago and A still hears the filling; a delete with a delay keeps the call
	   for late packets, but nothing is made up for a call that ended */
	arrivals_clear(&ra);
	arrivals_init(&ra, "PCMU", 8000, 0, 160);
	collect(a.fd, &ra);
	/* B (sendonly: music on hold, say) sends a little, then stops: A hears the gap filled */
	for (unsigned i = 0; i < 3; i++) {
		int16_t pcm[960];
		for (unsigned j = 0; j < 960; j++)
			pcm[j] = (int16_t)(8000 * sin(2 * M_PI * 1000 * (double)(i * 960 + j) / 48000));
		uint8_t pkt[1500];
		size_t len = 0;
		g_assert_cmpint(rg_enc_encode(b.enc, pcm, 960, pkt + 12, sizeof(pkt) - 12, &len), ==, 0);
		put_hdr(pkt, false, 111, b.seq++, b.ts, b.ssrc);
		b.ts += 960;
		send_to(b.fd, b.gw, pkt, 12 + len);
		wait_until(g_get_monotonic_time() + 20000, a.fd, &ra);
	}
	wait_until(g_get_monotonic_time() + 300000, a.fd, &ra);
	g_assert_cmpuint(ra.n, >, 10);
	g_autoptr(reply) dd = ng("delete", "call-id", cid, "delete-delay", "5", NULL);
	assert_result(dd, "ok");
	g_usleep(30000);
	collect(a.fd, &ra);
	ra.n = 0;
	wait_until(g_get_monotonic_time() + 300000, a.fd, &ra);
	g_test_message("after delete: %u packets toward A", ra.n);
	g_assert_cmpuint(ra.n, ==, 0);
	g_autoptr(reply) d = ng("delete", "call-id", cid, "delete-delay", "0", NULL);
	arrivals_clear(&ra);
	arrivals_clear(&rb);
	side_clear(&a);
	side_clear(&b);
	rg_transcode_configure(0, 0);
}

/* A receiver that says usedtx=1 gets DTX from our Opus encoder: the frames libopus marks as DTX
 * (TOC only) are not sent, the next packet's timestamp covers the pause and has the marker. */
static void test_opus_dtx_out(void)
{
	side a, b;
	side_init(&a, "PCMU", 8000, 0, 8000);
	side_init(&b, "opus", 48000, 111, 48000);
	const char *cid = "xc-dtx-out";
	g_autofree char *sa = g_strdup_printf(
		"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=a\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		"m=audio %u RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n", a.port);
	g_autofree char *sb = g_strdup_printf(
		"v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=b\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		"m=audio %u RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 usedtx=1\r\na=sendrecv\r\n",
		b.port);
	g_free(offer_answer(&a, &b, cid, sa, "[codec-transcode-opus", sb));
	/* 10 packets of tone, 60 of silence, 10 of tone (faster than real time: dtx-delay is 0 here) */
	for (unsigned k = 0; k < 80; k++) {
		if (k < 10 || k >= 70) {
			send_tone_packet(&a, k);
		} else {
			uint8_t pkt[12 + 160];
			memset(pkt + 12, 0xff, 160);   /* mu-law silence */
			put_hdr(pkt, false, 0, (uint16_t)(a.seq + k), a.ts + k * 160, a.ssrc);
			send_to(a.fd, a.gw, pkt, sizeof(pkt));
			g_usleep(1500);
		}
	}
	uint8_t buf[2048];
	struct timeval tv = { .tv_usec = 300000 };
	setsockopt(b.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	unsigned n = 0, seq_err = 0, markers = 0;
	uint32_t first_ts = 0, last_ts = 0, max_step = 0;
	uint16_t last_seq = 0;
	ssize_t len;
	while ((len = recv(b.fd, buf, sizeof(buf), 0)) >= 12) {
		uint16_t sq = (uint16_t)(buf[2] << 8 | buf[3]);
		uint32_t ts = rd32(buf + 4);
		if (n) {
			seq_err += sq != (uint16_t)(last_seq + 1);
			max_step = MAX(max_step, ts - last_ts);
			markers += (buf[1] & 0x80) != 0;
		} else {
			first_ts = ts;
		}
		g_assert_cmpint(len, >, 12 + 2);   /* no DTX frame on the wire */
		last_seq = sq;
		last_ts = ts;
		n++;
	}
	rg_transcoder_stats st = xc_stats(cid, "A");
	g_test_message("usedtx=1: %u of 80 packets sent, %" G_GUINT64_FORMAT " DTX frames kept back, longest "
		       "timestamp step %u, %u markers after the first", n, st.dtx_out, max_step, markers);
	g_assert_cmpuint(st.dtx_out, >, 10);
	g_assert_cmpuint(n + st.dtx_out, ==, 80);
	g_assert_cmpuint(seq_err, ==, 0);
	g_assert_cmpuint(last_ts - first_ts, ==, 79 * 960);   /* the clock went on through the pause */
	g_assert_cmpuint(max_step, >, 960);
	g_assert_cmpuint(markers, >=, 1);
	g_autoptr(reply) d = ng("delete", "call-id", cid, NULL);
	side_clear(&a);
	side_clear(&b);
}

/* The sender's SSRC changes mid-call (a transfer): its new sequence numbers and timestamps are
 * taken afresh, our output stream goes on with no jump and no hole. Then its timestamps jump
 * (10 s ahead, 5 s back) with no pause: the same. */
static void test_ssrc_change(void)
{
	side a, b;
	setup_call(&a, &b, "PCMU", 8000, 0, 8000, "xc-ssrc");
	for (unsigned k = 0; k < 20; k++)
		send_tone_packet(&a, k);
	a.ssrc ^= 0x5a5a5a5a;
	a.seq += 30000;
	a.ts += 0x7654321;
	for (unsigned k = 0; k < 20; k++)
		send_tone_packet(&a, k);
	arrivals r;
	arrivals_init(&r, "PCMA", 8000, 8, 160);
	wait_until(g_get_monotonic_time() + 300000, b.fd, &r);
	/* same SSRC, timestamps jump 10 s ahead, then 5 s back, with no pause */
	for (unsigned k = 20; k < 30; k++)
		send_tone_packet(&a, k);
	a.ts += 80000;
	for (unsigned k = 30; k < 40; k++)
		send_tone_packet(&a, k);
	a.ts -= 120000;
	for (unsigned k = 40; k < 50; k++)
		send_tone_packet(&a, k);
	wait_until(g_get_monotonic_time() + 300000, b.fd, &r);
	rg_transcoder_stats st = xc_stats("xc-ssrc", "A");
	g_test_message("SSRC change, timestamp jumps: %u packets, seq errors %u, bad ts steps %u, %" G_GUINT64_FORMAT
		       " SSRC changes, %" G_GUINT64_FORMAT " jumps", r.n, r.seq_err, r.bad_inc, st.ssrc_changes,
		       st.ts_jumps);
	g_assert_cmpuint(st.ssrc_changes, ==, 1);
	g_assert_cmpuint(st.ts_jumps, ==, 2);
	g_assert_cmpuint(r.n, ==, 70);
	g_assert_cmpuint(r.seq_err, ==, 0);
	g_assert_cmpuint(r.bad_inc, ==, 0);
	unsigned cy = cycles(r.pcm + r.pcm_at[25], 10 * 160);
	g_assert_cmpuint(cy, >=, 198);
	g_assert_cmpuint(cy, <=, 202);
	arrivals_clear(&r);
	g_autoptr(reply) d = ng("delete", "call-id", "xc-ssrc", NULL);
	side_clear(&a);
	side_clear(&b);
}

/* A jittery sender (packets in bursts of three every 60 ms) that also pauses: only the pause is
 * filled, never the gaps between its bursts, also right after the pause (when the hold is short
 * for a DTX sender): the hold is at least the jitter buffer's target. */
static void test_dtx_jitter(void)
{
	rg_transcode_configure(50, 0);
	side a, b;
	setup_call(&a, &b, "PCMU", 8000, 0, 8000, "xc-dtx-jitter");
	arrivals r;
	arrivals_init(&r, "PCMA", 8000, 8, 160);
	int64_t t0 = g_get_monotonic_time();
	unsigned k = 0;
	for (unsigned burst = 0; burst < 10; burst++) {
		wait_until(t0 + (int64_t)burst * 60000, b.fd, &r);
		for (unsigned j = 0; j < 3; j++, k++)
			send_tone_packet(&a, k);
	}
	rg_transcoder_stats st = xc_stats("xc-dtx-jitter", "A");
	g_assert_cmpuint(st.fill_periods, ==, 0);
	/* 400 ms of nothing, then bursts again */
	int64_t t1 = t0 + 10 * 60000 + 400000;
	k += 20;
	for (unsigned burst = 0; burst < 10; burst++) {
		wait_until(t1 + (int64_t)burst * 60000, b.fd, &r);
		for (unsigned j = 0; j < 3; j++, k++)
			send_tone_packet(&a, k);
	}
	wait_until(g_get_monotonic_time() + 40000, b.fd, &r);
	st = xc_stats("xc-dtx-jitter", "A");
	g_test_message("jittery sender: %u packets out, %" G_GUINT64_FORMAT " fill periods, %" G_GUINT64_FORMAT
		       " packets filled, seq errors %u, bad ts steps %u", r.n, st.fill_periods, st.fill_packets,
		       r.seq_err, r.bad_inc);
	g_assert_cmpuint(st.fill_periods, ==, 1);
	g_assert_cmpuint(r.seq_err, ==, 0);
	g_assert_cmpuint(r.bad_inc, ==, 0);
	arrivals_clear(&r);
	g_autoptr(reply) d = ng("delete", "call-id", "xc-dtx-jitter", NULL);
	side_clear(&a);
	side_clear(&b);
	rg_transcode_configure(0, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	rg_log_init(true, RG_LOG_ERR, "test_xcmedia");
	g_autofree char *listen = g_strdup_printf("--listen-ng=127.0.0.1:%d", 20900 + (getpid() % 90));
	rg_config cfg = { 0 };
	test_engine_start(&cfg, "--config-file=none", "--interface=127.0.0.1", listen,
			  "--port-min=" G_STRINGIFY(PORT_MIN), "--port-max=" G_STRINGIFY(PORT_MAX),
			  "--num-threads=1", "--delete-delay=0", "--dtx-delay=0", NULL);
	g_test_add_func("/xcmedia/rtcp", test_rtcp);
	g_test_add_func("/xcmedia/jitter", test_jitter);
	g_test_add_func("/xcmedia/dtmf-pcmu-pcma", test_pcmu);
	g_test_add_func("/xcmedia/dtmf-g722-pcma", test_g722);
	g_test_add_func("/xcmedia/dtx-cn", test_dtx_cn);
	g_test_add_func("/xcmedia/opus-dtx-out", test_opus_dtx_out);
	g_test_add_func("/xcmedia/ssrc-change", test_ssrc_change);
	g_test_add_func("/xcmedia/dtx-jitter", test_dtx_jitter);
	int ret = g_test_run();
	test_engine_stop(&cfg);
	return ret;
}
