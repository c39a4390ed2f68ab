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
 * resamplers). Through the real engine, NG offer/answer and real sockets. */
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
	g_autoptr(reply) o = ng("offer", "call-id", cid, "from-tag", "A", "sdp", sa,
				"flags", "[codec-transcode-PCMA", NULL);
	assert_result(o, "ok");
	g_autofree char *to_b = rstr(o, "sdp");
	b->gw = sdp_port(to_b, 0);
	g_autofree char *sb = g_strdup_printf(
		"v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=b\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		"m=audio %u RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=rtcp:%u\r\na=sendrecv\r\n", b->port, b->rport);
	g_autoptr(reply) an = ng("answer", "call-id", cid, "from-tag", "A", "to-tag", "B", "sdp", sb, NULL);
	assert_result(an, "ok");
	g_autofree char *to_a = rstr(an, "sdp");
	a->gw = sdp_port(to_a, 0);
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

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	rg_log_init(true, RG_LOG_ERR, "test_xcmedia");
	g_autofree char *listen = g_strdup_printf("--listen-ng=127.0.0.1:%d", 20900 + (getpid() % 90));
	rg_config cfg = { 0 };
	test_engine_start(&cfg, "--config-file=none", "--interface=127.0.0.1", listen,
			  "--port-min=" G_STRINGIFY(PORT_MIN), "--port-max=" G_STRINGIFY(PORT_MAX),
			  "--num-threads=1", "--delete-delay=0", NULL);
	g_test_add_func("/xcmedia/rtcp", test_rtcp);
	g_test_add_func("/xcmedia/jitter", test_jitter);
	g_test_add_func("/xcmedia/dtmf-pcmu-pcma", test_pcmu);
	g_test_add_func("/xcmedia/dtmf-g722-pcma", test_g722);
	int ret = g_test_run();
	test_engine_stop(&cfg);
	return ret;
}
