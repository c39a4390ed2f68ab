/* Call recording through the real engine (recording.h): started by NG (start recording,
 * record-call=yes), paused and resumed, and by the rtpproxy protocol (R, C, N); tones sent through
 * real sockets in PCMU, Opus and G.722; then the pcap (records, IP/UDP headers, ports, RTP
 * sequence numbers), the WAV per leg (format, length by RTP timestamps, the tone's frequency) and
 * the metadata are read back. File errors: an unwritable directory refuses the recording, a full
 * disk stops it; both are counted, the media is still relayed and what was written stays valid. */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "call.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "ng.h"
#include "recording.h"
#include "rg_codec.h"
#include "rtpp.h"
#include "stats.h"
#include "ng_harness.h"
#include "rtpp_harness.h"
#include "engine_harness.h"

#define PORT_MIN 21600
#define PORT_MAX 21663

static char *tmp_root, *rec_dir;

/* ---- media ---- */

static const rg_codec_type *codec(const char *name, unsigned rate)
{
	const rg_codec_type *t;
	g_assert_cmpint(rg_codec_find(&t, name, rate, 0, NULL), ==, 0);
	return t;
}

/* A party sending a tone in one codec: RTP packets of 20 ms. */
typedef struct sender {
	int fd;
	bool v6;               /* on ::1 instead of 127.0.0.1 */
	unsigned port;         /* our socket */
	unsigned to;           /* rtpgate's port we send to */
	rg_encoder *enc;
	unsigned pcm_rate, clock, pt;
	double hz;
	uint32_t ssrc, ts;
	uint16_t seq;
	double phase;
	unsigned sent;
} sender;

static int udp6_bind(unsigned *port)
{
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 sin = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
	socklen_t sl = sizeof(sin);
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	*port = ntohs(sin.sin6_port);
	return fd;
}

static void sender_send(const struct sender *s, unsigned port, const void *buf, size_t len)
{
	if (!s->v6) {
		send_to(s->fd, port, buf, len);
		return;
	}
	struct sockaddr_in6 sin = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT,
				    .sin6_port = htons((uint16_t)port) };
	g_assert_cmpint(sendto(s->fd, buf, len, 0, (struct sockaddr *)&sin, sizeof(sin)), ==, (ssize_t)len);
}

static void sender_init_on(sender *s, bool v6, const char *codec_name, unsigned rate, unsigned pt, double hz,
			   uint32_t ssrc)
{
	memset(s, 0, sizeof(*s));
	s->v6 = v6;
	s->fd = v6 ? udp6_bind(&s->port) : udp_bind(&s->port);
	const rg_codec_type *t = codec(codec_name, rate);
	s->pcm_rate = t->pcm_rate ? t->pcm_rate : 48000;
	s->clock = t->rate;
	rg_codec_params prm;
	rg_codec_params_default(t, &prm);
	g_assert_cmpint(rg_enc_new(&s->enc, t, &prm, s->pcm_rate, 1), ==, 0);
	s->pt = pt;
	s->hz = hz;
	s->ssrc = ssrc;
	s->ts = 1000;
	s->seq = 100;
}

static void sender_init(sender *s, const char *codec_name, unsigned rate, unsigned pt, double hz, uint32_t ssrc)
{
	sender_init_on(s, false, codec_name, rate, pt, hz, ssrc);
}

static void sender_free(sender *s)
{
	rg_enc_free(s->enc);
	close(s->fd);
}

static size_t rtp_hdr(uint8_t *b, unsigned pt, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
	b[0] = 0x80;
	b[1] = (uint8_t)pt;
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	b[4] = (uint8_t)(ts >> 24);
	b[5] = (uint8_t)(ts >> 16);
	b[6] = (uint8_t)(ts >> 8);
	b[7] = (uint8_t)ts;
	b[8] = (uint8_t)(ssrc >> 24);
	b[9] = (uint8_t)(ssrc >> 16);
	b[10] = (uint8_t)(ssrc >> 8);
	b[11] = (uint8_t)ssrc;
	return 12;
}

/* One 20 ms packet; send = false: encoded and counted in the timeline but not sent (a loss). */
static void send_tone(sender *s, bool send)
{
	unsigned n = s->pcm_rate / 50;
	int16_t pcm[960];
	for (unsigned i = 0; i < n; i++) {
		pcm[i] = (int16_t)(8000 * sin(s->phase));
		s->phase += 2 * M_PI * s->hz / s->pcm_rate;
	}
	uint8_t pkt[1500];
	size_t hl = rtp_hdr(pkt, s->pt, s->seq, s->ts, s->ssrc), len;
	g_assert_cmpint(rg_enc_encode(s->enc, pcm, n, pkt + hl, sizeof(pkt) - hl, &len), ==, 0);
	if (send) {
		sender_send(s, s->to, pkt, hl + len);
		s->sent++;
	}
	s->seq++;
	s->ts += s->clock / 50;
}

static void send_raw(sender *s, unsigned pt, const uint8_t *payload, size_t plen)
{
	uint8_t pkt[256];
	size_t hl = rtp_hdr(pkt, pt, 60000, s->ts, s->ssrc);   /* outside the audio's numbering */
	memcpy(pkt + hl, payload, plen);
	sender_send(s, s->to, pkt, hl + plen);
}

/* RTP packets from the other side waiting on s's socket */
static unsigned drain(sender *s)
{
	uint8_t buf[2048];
	unsigned n = 0;
	for (;;) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
		setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		ssize_t r = recv(s->fd, buf, sizeof(buf), 0);
		if (r < 0)
			return n;
		if (r >= 12 && !(buf[1] >= 200 && buf[1] <= 204))
			n++;
	}
}

/* both directions, n packets each, lightly paced */
static void talk(sender *a, sender *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (a)
			send_tone(a, true);
		if (i == 0)
			g_usleep(10000);   /* A's first packet first: A is leg 1 */
		if (b)
			send_tone(b, true);
		if (i % 4 == 3)
			g_usleep(2000);
	}
}

/* ---- reading the files back ---- */

static unsigned rd16(const uint8_t *p) { return (unsigned)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static unsigned be16(const uint8_t *p) { return (unsigned)(p[0] << 8 | p[1]); }

typedef struct pkt_rec {
	unsigned sport, dport;
	char src[64], dst[64];
	unsigned pt;
	uint16_t seq;
	bool rtcp;
	size_t len;     /* UDP payload */
} pkt_rec;

/* Every record must be complete and the file must end exactly after the last one. */
static GArray *read_pcap(const char *path, unsigned want_linktype)
{
	gchar *d;
	gsize n;
	GError *e = NULL;
	if (!g_file_get_contents(path, &d, &n, &e))
		g_error("%s: %s", path, e->message);
	const uint8_t *p = (const uint8_t *)d;
	g_assert_cmpuint(n, >=, 24);
	g_assert_cmphex(rd32(p), ==, 0xa1b2c3d4);
	g_assert_cmpuint(rd16(p + 4), ==, 2);
	g_assert_cmpuint(rd16(p + 6), ==, 4);
	g_assert_cmpuint(rd32(p + 20), ==, want_linktype);
	GArray *out = g_array_new(FALSE, TRUE, sizeof(pkt_rec));
	size_t off = 24;
	while (off < n) {
		g_assert_cmpuint(n - off, >=, 16);
		uint32_t incl = rd32(p + off + 8), orig = rd32(p + off + 12);
		g_assert_cmpuint(incl, ==, orig);
		g_assert_cmpuint(n - off - 16, >=, incl);   /* no truncated last record */
		const uint8_t *ip = p + off + 16;
		size_t l = incl;
		if (want_linktype == 1) {
			g_assert_cmpuint(be16(ip + 12), ==, (ip[14] >> 4) == 6 ? 0x86dd : 0x0800);
			ip += 14;
			l -= 14;
		}
		pkt_rec r = { 0 };
		const uint8_t *udp;
		if ((ip[0] >> 4) == 4) {
			g_assert_cmpuint(ip[9], ==, 17);
			g_assert_cmpuint(be16(ip + 2), ==, l);
			/* header checksum verifies to zero */
			uint32_t sum = 0;
			for (int i = 0; i < 20; i += 2)
				sum += be16(ip + i);
			while (sum >> 16)
				sum = (sum & 0xffff) + (sum >> 16);
			g_assert_cmphex(sum, ==, 0xffff);
			inet_ntop(AF_INET, ip + 12, r.src, sizeof(r.src));
			inet_ntop(AF_INET, ip + 16, r.dst, sizeof(r.dst));
			udp = ip + 20;
		} else {
			g_assert_cmpuint(ip[0] >> 4, ==, 6);
			g_assert_cmpuint(ip[6], ==, 17);
			inet_ntop(AF_INET6, ip + 8, r.src, sizeof(r.src));
			inet_ntop(AF_INET6, ip + 24, r.dst, sizeof(r.dst));
			udp = ip + 40;
		}
		r.sport = be16(udp);
		r.dport = be16(udp + 2);
		r.len = be16(udp + 4) - 8;
		{   /* UDP checksum over the pseudo header verifies to zero */
			bool v4 = (ip[0] >> 4) == 4;
			uint32_t sum = 17 + be16(udp + 4);
			const uint8_t *a = v4 ? ip + 12 : ip + 8;
			for (int i = 0; i < (v4 ? 8 : 32); i += 2)
				sum += be16(a + i);
			size_t ul = be16(udp + 4);
			for (size_t i = 0; i + 1 < ul; i += 2)
				sum += be16(udp + i);
			if (ul & 1)
				sum += (unsigned)udp[ul - 1] << 8;
			while (sum >> 16)
				sum = (sum & 0xffff) + (sum >> 16);
			g_assert_cmphex(sum, ==, 0xffff);
		}
		g_assert_cmpuint((size_t)(udp - (p + off + 16)) + 8 + r.len, ==, incl);
		const uint8_t *rtp = udp + 8;
		r.rtcp = r.len >= 2 && rtp[1] >= 200 && rtp[1] <= 204;
		r.pt = rtp[1] & 0x7f;
		r.seq = (uint16_t)be16(rtp + 2);
		g_array_append_val(out, r);
		off += 16 + incl;
	}
	g_assert_cmpuint(off, ==, n);
	g_free(d);
	return out;
}

/* WAV: 16-bit mono PCM at rate; the header's sizes agree with the file. Returns the samples. */
static int16_t *read_wav(const char *path, unsigned want_rate, size_t *samples)
{
	gchar *d;
	gsize n;
	GError *e = NULL;
	if (!g_file_get_contents(path, &d, &n, &e))
		g_error("%s: %s", path, e->message);
	const uint8_t *p = (const uint8_t *)d;
	g_assert_cmpuint(n, >=, 44);
	g_assert_cmpint(memcmp(p, "RIFF", 4), ==, 0);
	g_assert_cmpint(memcmp(p + 8, "WAVEfmt ", 8), ==, 0);
	g_assert_cmpuint(rd32(p + 4), ==, n - 8);
	g_assert_cmpuint(rd16(p + 20), ==, 1);
	g_assert_cmpuint(rd16(p + 22), ==, 1);
	g_assert_cmpuint(rd32(p + 24), ==, want_rate);
	g_assert_cmpuint(rd32(p + 28), ==, want_rate * 2);
	g_assert_cmpuint(rd16(p + 34), ==, 16);
	g_assert_cmpint(memcmp(p + 36, "data", 4), ==, 0);
	g_assert_cmpuint(rd32(p + 40), ==, n - 44);
	*samples = (n - 44) / 2;
	int16_t *pcm = g_new(int16_t, *samples + 1);
	for (size_t i = 0; i < *samples; i++)
		pcm[i] = (int16_t)rd16(p + 44 + 2 * i);
	g_free(d);
	return pcm;
}

/* The strongest frequency (10 Hz steps, 100-4000 Hz) of n samples from pcm. */
static double dominant_hz(const int16_t *pcm, size_t n, unsigned rate)
{
	double best = 0, best_hz = 0;
	for (double f = 100; f <= 4000; f += 10) {
		double re = 0, im = 0, w = 2 * M_PI * f / rate;
		for (size_t i = 0; i < n; i++) {
			re += pcm[i] * cos(w * (double)i);
			im += pcm[i] * sin(w * (double)i);
		}
		double m = re * re + im * im;
		if (m > best) {
			best = m;
			best_hz = f;
		}
	}
	return best_hz;
}

static double rms(const int16_t *pcm, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += (double)pcm[i] * pcm[i];
	return n ? sqrt(s / (double)n) : 0;
}

static char *path_of(const char *call_id, const char *hint, const char *suffix)
{
	char base[128];
	rg_rec_safe_name(call_id, hint, base, sizeof(base));
	return g_strdup_printf("%s/%s%s", rec_dir, base, suffix);
}

/* the metadata file once the writer finished it (stop written), NULL after timeout_ms */
static char *wait_meta(const char *path, int timeout_ms)
{
	for (int i = 0; i < timeout_ms / 10; i++) {
		gchar *m = NULL;
		if (g_file_get_contents(path, &m, NULL, NULL) && strstr(m, "\nstop: ") && !strstr(m, "status: recording"))
			return m;
		g_free(m);
		g_usleep(10000);
	}
	return NULL;
}

static void assert_has(const char *text, const char *what)
{
	if (!strstr(text, what))
		g_error("lacks '%s':\n%s", what, text);
}

/* ---- NG call setup ---- */

static char *sdp_of(const sender *s, const char *fmts, const char *attrs)
{
	const char *at = s->v6 ? "IP6 ::1" : "IP4 127.0.0.1";
	return g_strdup_printf("v=0\r\no=- 1545997027 1 IN %s\r\ns=tester\r\n"
			       "c=IN %s\r\nt=0 0\r\nm=audio %u RTP/AVP %s\r\n%sa=sendrecv\r\n",
			       at, at, s->port, fmts, attrs);
}

/* offer from tag A (extra key/values k1,v1 / k2,v2 may be NULL), answer from B: a and b get
 * the ports rtpgate gave them */
static void ng_call(const char *cid, sender *a, sender *b, const char *fmts, const char *attrs, const char *k1,
		    const char *v1, const char *k2, const char *v2)
{
	g_autofree char *sa = sdp_of(a, fmts, attrs), *sb = sdp_of(b, fmts, attrs);
	g_autoptr(reply) o = k2 ? ng("offer", "call-id", cid, "from-tag", "A", "sdp", sa, k1, v1, k2, v2, NULL)
			   : k1 ? ng("offer", "call-id", cid, "from-tag", "A", "sdp", sa, k1, v1, NULL)
				: ng("offer", "call-id", cid, "from-tag", "A", "sdp", sa, NULL);
	assert_result(o, "ok");
	g_autofree char *osdp = rstr(o, "sdp");
	b->to = sdp_port(osdp, 0);
	g_autoptr(reply) an = ng("answer", "call-id", cid, "from-tag", "A", "to-tag", "B", "sdp", sb, NULL);
	assert_result(an, "ok");
	g_autofree char *asdp = rstr(an, "sdp");
	a->to = sdp_port(asdp, 0);
}

static void check_pcap_stream(GArray *pk, const sender *s, unsigned want, uint16_t first_seq, unsigned skip_from,
			      unsigned skip_n)
{
	unsigned got = 0;
	uint16_t expect = first_seq;
	for (guint i = 0; i < pk->len; i++) {
		pkt_rec *r = &g_array_index(pk, pkt_rec, i);
		if (r->sport != s->port || r->rtcp || r->pt != s->pt)
			continue;
		g_assert_cmpuint(r->dport, ==, s->to);
		g_assert_cmpstr(r->src, ==, s->v6 ? "::1" : "127.0.0.1");
		g_assert_cmpstr(r->dst, ==, s->v6 ? "::1" : "127.0.0.1");
		if (got == skip_from)
			expect = (uint16_t)(expect + skip_n);
		g_assert_cmpuint(r->seq, ==, expect);
		expect++;
		got++;
	}
	g_assert_cmpuint(got, ==, want);
}

/* ---- tests ---- */

/* NG start/stop recording of a PCMU call: 440 Hz from A with 5 packets lost, 1000 Hz from B,
 * telephone-event and RTCP in the pcap only. */
/* A finished recording of call cid: its metadata (waited for), its pcap's packets and the WAVs of
 * its two legs at `rate` (wb NULL when legs < 2). */
typedef struct rec_files {
	char *meta;
	GArray *pk;
	int16_t *wa, *wb;
	size_t na, nb;
} rec_files;

static void rec_files_load(rec_files *f, const char *cid, unsigned linktype, unsigned rate, unsigned legs)
{
	memset(f, 0, sizeof(*f));
	g_autofree char *meta_p = path_of(cid, NULL, ".meta"), *pcap_p = path_of(cid, NULL, ".pcap");
	f->meta = wait_meta(meta_p, 3000);
	g_assert_nonnull(f->meta);
	f->pk = read_pcap(pcap_p, linktype);
	g_autofree char *wa_p = path_of(cid, NULL, "-leg1.wav"), *wb_p = path_of(cid, NULL, "-leg2.wav");
	f->wa = read_wav(wa_p, rate, &f->na);
	if (legs > 1)
		f->wb = read_wav(wb_p, rate, &f->nb);
}

static void rec_files_clear(rec_files *f)
{
	g_free(f->meta);
	g_array_free(f->pk, TRUE);
	g_free(f->wa);
	g_free(f->wb);
}

static void test_ng_pcmu(void)
{
	const char *cid = "rec-pcmu@host";
	sender a, b;
	sender_init(&a, "PCMU", 8000, 0, 440, 0xa0a0a0a0);
	sender_init(&b, "PCMU", 8000, 0, 1000, 0xb0b0b0b0);
	ng_call(cid, &a, &b, "0 101", "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n",
		"metadata", "k1:v1|k2:v2", "label", "caller");
	uint64_t pk0 = rg_ctr_read(RG_CTR_REC_PACKETS);

	g_autoptr(reply) s = ng("start recording", "call-id", cid, "from-tag", "A", NULL);
	assert_result(s, "ok");
	g_autoptr(reply) s2 = ng("start recording", "call-id", cid, NULL);   /* again: no-op */
	assert_result(s2, "ok");

	for (unsigned i = 0; i < 60; i++) {
		send_tone(&a, i < 20 || i >= 25);    /* packets 20-24 lost: 100 ms of silence */
		if (i == 0)
			g_usleep(10000);
		send_tone(&b, true);
		if (i == 30) {
			static const uint8_t ev[4] = { 5, 0x0a, 0, 160 };   /* digit 5: pcap only */
			send_raw(&a, 101, ev, sizeof(ev));
			static const uint8_t sr[28] = { 0x80, 200, 0, 6, 0xa0, 0xa0, 0xa0, 0xa0 };
			send_to(a.fd, a.to + 1, sr, sizeof(sr));   /* RTCP from A */
		}
		if (i % 4 == 3)
			g_usleep(2000);
	}
	unsigned at_b = drain(&b), at_a = drain(&a);
	g_assert_cmpuint(at_b, ==, 55 + 1);   /* relayed as always: audio + the event */
	g_assert_cmpuint(at_a, ==, 60);

	g_autoptr(reply) st = ng("stop recording", "call-id", cid, NULL);
	assert_result(st, "ok");
	g_autoptr(reply) st2 = ng("stop recording", "call-id", cid, NULL);
	assert_result(st2, "ok");
	g_autofree char *w = rstr(st2, "warning");
	g_assert_nonnull(strstr(w, "not being recorded"));

	rec_files f;
	rec_files_load(&f, cid, 101, 8000, 2);
	const char *meta = f.meta;
	GArray *pk = f.pk;
	assert_has(meta, "call-id: rec-pcmu@host\n");
	assert_has(meta, "metadata: k1:v1|k2:v2\n");
	assert_has(meta, "party: tag=A label=caller\n");
	assert_has(meta, "party: tag=B label=\n");
	assert_has(meta, "status: ok\n");
	assert_has(meta, "\nstart: ");
	assert_has(meta, "leg1-party: media=1 tag=A label=caller\n");
	assert_has(meta, "leg2-party: media=1 tag=B");
	assert_has(meta, "codec=PCMU/8000 rate=8000");
	g_assert_cmpuint(rg_ctr_read(RG_CTR_REC_PACKETS) - pk0, ==, 55 + 60 + 2);

	g_assert_cmpuint(pk->len, ==, 55 + 60 + 2);
	check_pcap_stream(pk, &a, 55, 100, 20, 5);
	check_pcap_stream(pk, &b, 60, 100, 0, 0);
	unsigned rtcp = 0, ev = 0;
	for (guint i = 0; i < pk->len; i++) {
		pkt_rec *r = &g_array_index(pk, pkt_rec, i);
		rtcp += r->rtcp && r->sport == a.port && r->dport == a.to + 1;
		ev += !r->rtcp && r->pt == 101;
	}
	g_assert_cmpuint(rtcp, ==, 1);
	g_assert_cmpuint(ev, ==, 1);

	/* leg 1 = A (its packet came first): 60 x 20 ms by the timestamps, the lost ones silent */
	const int16_t *wa = f.wa, *wb = f.wb;
	size_t na = f.na, nb = f.nb;
	g_assert_cmpuint(na, ==, 60 * 160);
	g_assert_cmpuint(nb, ==, 60 * 160);
	g_assert_cmpfloat(rms(wa + 20 * 160, 5 * 160), <, 1);        /* the gap */
	g_assert_cmpfloat(rms(wa + 30 * 160, 5 * 160), >, 3000);     /* the tone */
	g_assert_cmpfloat(fabs(dominant_hz(wa + 800, 2400, 8000) - 440), <=, 10);
	g_assert_cmpfloat(fabs(dominant_hz(wb + 800, 4000, 8000) - 1000), <=, 10);

	rec_files_clear(&f);

	g_autoptr(reply) d = ng("delete", "call-id", cid, "delete-delay", "0", NULL);
	assert_result(d, "ok");
	sender_free(&a);
	sender_free(&b);
}

/* record-call=yes in the offer (Opus, dynamic PT 111), pause and resume, the call deleted while
 * recording: the files are finished when the call goes. */
static void test_record_call_opus_pause(void)
{
	const char *cid = "rec-opus";
	sender a, b;
	sender_init(&a, "opus", 48000, 111, 440, 0x0a0a0a0a);
	sender_init(&b, "opus", 48000, 111, 1000, 0x0b0b0b0b);
	ng_call(cid, &a, &b, "111", "a=rtpmap:111 opus/48000/2\r\n", "record-call", "yes", "metadata", "m:1");
	talk(&a, &b, 25);
	g_usleep(50000);
	g_autoptr(reply) p = ng("pause recording", "call-id", cid, NULL);
	assert_result(p, "ok");
	g_usleep(50000);
	talk(&a, NULL, 10);          /* relayed, not recorded */
	g_usleep(50000);
	g_autoptr(reply) r = ng("start recording", "call-id", cid, NULL);   /* resumes */
	assert_result(r, "ok");
	talk(&a, &b, 25);
	g_assert_cmpuint(drain(&b), ==, 60);
	g_assert_cmpuint(drain(&a), ==, 50);
	g_autoptr(reply) d = ng("delete", "call-id", cid, "delete-delay", "0", NULL);
	assert_result(d, "ok");

	rec_files f;
	rec_files_load(&f, cid, 101, 48000, 2);
	assert_has(f.meta, "metadata: m:1\n");
	assert_has(f.meta, "codec=opus/48000 rate=48000");
	check_pcap_stream(f.pk, &a, 50, 100, 25, 10);
	check_pcap_stream(f.pk, &b, 50, 100, 0, 0);
	g_assert_cmpuint(f.na, ==, 60 * 960);   /* the paused 200 ms are silence, by the timestamps */
	g_assert_cmpuint(f.nb, ==, 50 * 960);
	g_assert_cmpfloat(rms(f.wa + 26 * 960, 8 * 960), <, 1);
	g_assert_cmpfloat(fabs(dominant_hz(f.wa + 4800, 9600, 48000) - 440), <=, 10);
	g_assert_cmpfloat(fabs(dominant_hz(f.wb + 4800, 9600, 48000) - 1000), <=, 10);
	rec_files_clear(&f);
	sender_free(&a);
	sender_free(&b);
}

static unsigned rp_port(const char *cmd)
{
	g_autofree char *a = rp(cmd);
	unsigned port = 0;
	if (sscanf(a, "%u", &port) != 1 || port < PORT_MIN || port > PORT_MAX)
		g_error("'%s' answered '%s'", cmd, a);
	return port;
}

/* a session of the rtpproxy protocol between a and b (no SDP: static payload types) */
static void rtpp_call(const char *cid, sender *a, sender *b)
{
	g_autofree char *u = g_strdup_printf("U %s 127.0.0.1 %u ftag;1", cid, a->port);
	b->to = rp_port(u);
	g_autofree char *l = g_strdup_printf("L %s 127.0.0.1 %u ftag;1 ttag;1", cid, b->port);
	a->to = rp_port(l);
}

/* rtpproxy R / N / C with G.722 (static PT 9, no SDP seen by rtpgate) */
static void test_rtpproxy_g722(void)
{
	const char *cid = "rec-rtpp-g722";
	sender a, b;
	sender_init(&a, "G722", 8000, 9, 440, 0x1111);
	sender_init(&b, "G722", 8000, 9, 1000, 0x2222);
	rtpp_call(cid, &a, &b);
	ASSERT_RP("R nosuchcall ftag ttag", "E50\n");
	ASSERT_RP("R rec-rtpp-g722 x y", "E50\n");
	ASSERT_RP("Rx rec-rtpp-g722 ftag ttag", "E7\n");
	ASSERT_RP("R rec-rtpp-g722 ftag ttag", "0\n");   /* as Kamailio's start_recording() sends it */
	talk(&a, &b, 50);
	g_assert_cmpuint(drain(&b), ==, 50);
	g_assert_cmpuint(drain(&a), ==, 50);
	ASSERT_RP("N rec-rtpp-g722 ftag ttag", "0\n");
	ASSERT_RP("Na rec-rtpp-g722 ftag", "0\n");       /* not recording any more: still 0 */

	rec_files f;
	rec_files_load(&f, cid, 101, 16000, 2);
	assert_has(f.meta, "party: tag=ftag");
	assert_has(f.meta, "codec=G722/8000 rate=16000");
	check_pcap_stream(f.pk, &a, 50, 100, 0, 0);
	check_pcap_stream(f.pk, &b, 50, 100, 0, 0);
	g_assert_cmpuint(f.na, ==, 50 * 320);
	g_assert_cmpuint(f.nb, ==, 50 * 320);
	g_assert_cmpfloat(fabs(dominant_hz(f.wa + 3200, 8000, 16000) - 440), <=, 10);
	g_assert_cmpfloat(fabs(dominant_hz(f.wb + 3200, 8000, 16000) - 1000), <=, 10);
	rec_files_clear(&f);

	/* C: a file name is the same recording under that name; a remote target is refused */
	ASSERT_RP("C rec-rtpp-g722 udp:192.0.2.1:5000 ftag ttag", "E65\n");
	ASSERT_RP("C rec-rtpp-g722 10.0.0.1:5000 ftag", "E65\n");
	ASSERT_RP("Cs rec-rtpp-g722 /var/spool/../copy.rtp ftag ttag", "0\n");
	talk(&a, &b, 10);
	g_assert_cmpuint(drain(&b), ==, 10);
	g_assert_cmpuint(drain(&a), ==, 10);
	ASSERT_RP("N rec-rtpp-g722 ttag", "0\n");
	g_autofree char *cmeta_p = path_of(cid, "/var/spool/../copy.rtp", ".meta");
	g_assert_nonnull(strstr(cmeta_p, "/copy.rtp-"));
	g_autofree char *cmeta = wait_meta(cmeta_p, 3000);
	g_assert_nonnull(cmeta);
	g_autofree char *cpcap_p = path_of(cid, "/var/spool/../copy.rtp", ".pcap");
	GArray *cpk = read_pcap(cpcap_p, 101);
	g_assert_cmpuint(cpk->len, ==, 20);
	g_array_free(cpk, TRUE);
	g_autofree char *dl = g_strdup_printf("D %s ftag ttag", cid);
	ASSERT_RP(dl, "0\n");
	sender_free(&a);
	sender_free(&b);
}

/* The ring full (the writer held, a 64 KiB ring): what does not fit is counted in
 * recording-drops and in the metadata, the relay is not held up, the pcap has the rest. */
static void test_ring_full(void)
{
	const char *cid = "rec-ring-full";
	sender a, b;
	sender_init(&a, "PCMU", 8000, 0, 440, 1);
	sender_init(&b, "PCMU", 8000, 0, 1000, 2);
	ng_call(cid, &a, &b, "0", "", NULL, NULL, NULL, NULL);
	g_autoptr(reply) s = ng("start recording", "call-id", cid, NULL);
	assert_result(s, "ok");
	uint64_t d0 = rg_ctr_read(RG_CTR_REC_DROPS), p0 = rg_ctr_read(RG_CTR_REC_PACKETS);
	rg_rec_test_hold_writer(true);
	unsigned relayed = 0;
	uint8_t buf[2048];
	for (unsigned i = 0; i < 400; i++) {
		send_tone(&a, true);
		if (i % 20 == 19) {
			g_usleep(3000);
			while (recv(b.fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
				relayed++;
		}
	}
	relayed += drain(&b);
	g_assert_cmpuint(relayed, ==, 400);
	uint64_t drops = rg_ctr_read(RG_CTR_REC_DROPS) - d0, kept = rg_ctr_read(RG_CTR_REC_PACKETS) - p0;
	g_test_message("ring: %" G_GUINT64_FORMAT " kept, %" G_GUINT64_FORMAT " dropped", kept, drops);
	g_assert_cmpuint(drops, >, 0);
	g_assert_cmpuint(drops + kept, ==, 400);
	rg_rec_test_hold_writer(false);
	g_autoptr(reply) st = ng("stop recording", "call-id", cid, NULL);
	assert_result(st, "ok");
	g_autofree char *meta_p = path_of(cid, NULL, ".meta");
	g_autofree char *meta = wait_meta(meta_p, 3000);
	g_assert_nonnull(meta);
	g_autofree char *want = g_strdup_printf("dropped: %" G_GUINT64_FORMAT "\n", drops);
	assert_has(meta, want);
	g_autofree char *pcap_p = path_of(cid, NULL, ".pcap");
	GArray *pk = read_pcap(pcap_p, 101);
	g_assert_cmpuint(pk->len, ==, kept);
	g_array_free(pk, TRUE);
	g_autoptr(reply) d = ng("delete", "call-id", cid, "delete-delay", "0", NULL);
	assert_result(d, "ok");
	sender_free(&a);
	sender_free(&b);
}

/* Names: nothing outside recording-dir, no hidden files, bounded length, distinct hashes. */
static void test_safe_names(void)
{
	char n1[96], n2[96], n3[96], n4[96];
	rg_rec_safe_name("../../etc/passwd", NULL, n1, sizeof(n1));
	g_assert_null(strchr(n1, '/'));
	g_assert_cmpint(n1[0], !=, '.');
	rg_rec_safe_name("a/b", NULL, n2, sizeof(n2));
	rg_rec_safe_name("a_b", NULL, n3, sizeof(n3));
	g_assert_cmpstr(n2, !=, n3);                  /* same sanitized text, other hash */
	g_assert_true(g_str_has_prefix(n2, "a_b-"));
	g_autofree char *lng = g_strnfill(500, 'x');
	rg_rec_safe_name(lng, NULL, n4, sizeof(n4));
	g_assert_cmpuint(strlen(n4), ==, 64 + 9);
	rg_rec_safe_name("\x01\n\x7f\xff ok", NULL, n4, sizeof(n4));
	for (const char *p = n4; *p; p++)
		g_assert_true(g_ascii_isalnum(*p) || strchr("._+=@-", *p));
	rg_rec_safe_name("", NULL, n4, sizeof(n4));
	g_assert_true(g_str_has_prefix(n4, "call-"));

	/* a hostile call-id through NG: the files land in recording-dir */
	const char *cid = "../../../tmp/evil\r\n.pcap";
	sender a, b;
	sender_init(&a, "PCMU", 8000, 0, 440, 1);
	sender_init(&b, "PCMU", 8000, 0, 1000, 2);
	ng_call(cid, &a, &b, "0", "", NULL, NULL, NULL, NULL);
	g_autoptr(reply) s = ng("start recording", "call-id", cid, NULL);
	assert_result(s, "ok");
	talk(&a, &b, 5);
	g_autoptr(reply) d = ng("delete", "call-id", cid, "delete-delay", "0", NULL);
	assert_result(d, "ok");
	g_autofree char *meta_p = path_of(cid, NULL, ".meta");
	g_assert_true(g_str_has_prefix(meta_p, rec_dir));
	g_assert_null(strchr(meta_p + strlen(rec_dir) + 1, '/'));
	g_autofree char *meta = wait_meta(meta_p, 3000);
	g_assert_nonnull(meta);
	assert_has(meta, "call-id: ../../../tmp/evil\\r\\n.pcap\n");   /* escaped: one line */
	sender_free(&a);
	sender_free(&b);
}

/* no recording-dir: a clear error (checked with the module's own switch) */
static void test_errors(void)
{
	g_autoptr(reply) s = ng("start recording", "call-id", "nosuchcall", NULL);
	assert_error(s, "Unknown call-id");
	g_autoptr(reply) s2 = ng("start recording", NULL);
	assert_error(s2, "No call-id");
	g_autoptr(reply) p = ng("pause recording", "call-id", "nosuchcall", NULL);
	assert_error(p, "Unknown call-id");
	ASSERT_RP("N nosuchcall a", "E50\n");
}

static bool mount_over(const char *opts)
{
	if (geteuid() != 0)
		return false;
	if (mount("tmpfs", rec_dir, "tmpfs", 0, opts) < 0) {
		g_test_message("mount tmpfs (%s) on %s: %s", opts, rec_dir, strerror(errno));
		return false;
	}
	return true;
}

/* An unwritable directory: refused with the reason, counted; the call goes on. */
static void test_unwritable(void)
{
	bool mounted = mount_over("ro,size=64k");
	if (!mounted && geteuid() == 0) {
		g_test_skip("cannot mount a read-only tmpfs");
		return;
	}
	if (!mounted)
		g_assert_cmpint(chmod(rec_dir, 0555), ==, 0);
	const char *cid = "rec-unwritable";
	sender a, b;
	sender_init(&a, "PCMU", 8000, 0, 440, 1);
	sender_init(&b, "PCMU", 8000, 0, 1000, 2);
	ng_call(cid, &a, &b, "0", "", NULL, NULL, NULL, NULL);
	uint64_t e0 = rg_ctr_read(RG_CTR_REC_ERRORS);
	g_autoptr(reply) s = ng("start recording", "call-id", cid, NULL);
	assert_error(s, "Failed to start recording");
	g_autofree char *why = rstr(s, "error-reason");
	g_assert_nonnull(strstr(why, mounted ? "Read-only file system" : "Permission denied"));
	g_autofree char *rc = g_strdup_printf("R %s A B", cid);
	ASSERT_RP(rc, "E65\n");
	g_assert_cmpuint(rg_ctr_read(RG_CTR_REC_ERRORS) - e0, ==, 2);
	talk(&a, &b, 10);
	g_assert_cmpuint(drain(&b), ==, 10);
	g_assert_cmpuint(drain(&a), ==, 10);
	g_autoptr(reply) d = ng("delete", "call-id", cid, "delete-delay", "0", NULL);
	assert_result(d, "ok");
	sender_free(&a);
	sender_free(&b);
	if (mounted)
		g_assert_cmpint(umount(rec_dir), ==, 0);
	else
		chmod(rec_dir, 0750);
}

/* A full disk while recording: the recording stops (logged, counted), the relay goes on, and the
 * files keep what was written: complete pcap records, WAV headers that match their data. */
static void test_disk_full(void)
{
	if (geteuid() != 0) {
		g_test_skip("needs root to mount a 64 KiB tmpfs");
		return;
	}
	if (!mount_over("size=64k")) {
		g_test_skip("cannot mount a tmpfs");
		return;
	}
	const char *cid = "rec-full";
	sender a, b;
	sender_init(&a, "PCMU", 8000, 0, 440, 1);
	sender_init(&b, "PCMU", 8000, 0, 1000, 2);
	ng_call(cid, &a, &b, "0", "", NULL, NULL, NULL, NULL);
	uint64_t e0 = rg_ctr_read(RG_CTR_REC_ERRORS);
	g_autoptr(reply) s = ng("start recording", "call-id", cid, NULL);
	assert_result(s, "ok");
	/* ~40 KiB of pcap and 2 x 8 KiB of WAV a second: full within 2 s */
	unsigned relayed_b = 0, relayed_a = 0;
	for (int round = 0; round < 40 && rg_ctr_read(RG_CTR_REC_ERRORS) == e0; round++) {
		talk(&a, &b, 25);
		relayed_b += drain(&b);
		relayed_a += drain(&a);
	}
	g_assert_cmpuint(rg_ctr_read(RG_CTR_REC_ERRORS) - e0, ==, 1);
	/* the media keeps flowing after the failure */
	talk(&a, &b, 25);
	relayed_b += drain(&b);
	relayed_a += drain(&a);
	g_assert_cmpuint(relayed_b, ==, a.sent);
	g_assert_cmpuint(relayed_a, ==, b.sent);
	g_autoptr(reply) st = ng("stop recording", "call-id", cid, NULL);
	assert_result(st, "ok");
	g_autofree char *w = rstr(st, "warning");
	g_assert_nonnull(w);
	g_assert_nonnull(strstr(w, "No space left on device"));
	g_usleep(100000);

	g_autofree char *pcap_p = path_of(cid, NULL, ".pcap");
	GArray *pk = read_pcap(pcap_p, 101);   /* every record complete */
	g_test_message("pcap kept %u packets of %u", pk->len, a.sent + b.sent);
	g_assert_cmpuint(pk->len, >, 0);
	g_assert_cmpuint(pk->len, <, a.sent + b.sent);
	g_array_free(pk, TRUE);
	for (unsigned leg = 1; leg <= 2; leg++) {
		g_autofree char *sfx = g_strdup_printf("-leg%u.wav", leg);
		g_autofree char *wp = path_of(cid, NULL, sfx);
		if (!g_file_test(wp, G_FILE_TEST_EXISTS))
			continue;
		size_t n;
		g_autofree int16_t *pcm = read_wav(wp, 8000, &n);   /* header agrees with the data */
		g_test_message("leg %u WAV kept %zu samples (rms %.0f)", leg, n, rms(pcm, n));
	}
	g_autofree char *meta_p = path_of(cid, NULL, ".meta");
	g_autofree char *meta = NULL;
	g_assert_true(g_file_get_contents(meta_p, &meta, NULL, NULL));
	assert_has(meta, "call-id: rec-full\n");
	g_autoptr(reply) d = ng("delete", "call-id", cid, "delete-delay", "0", NULL);
	assert_result(d, "ok");
	sender_free(&a);
	sender_free(&b);
	g_usleep(100000);
	g_assert_cmpint(umount(rec_dir), ==, 0);
}

static rg_config cfg;
static bool engine_up;
static char *opt_rd, *opt_ln, *opt_lr;

static sender sd_a, sd_b;

/* the recording of a call still running at engine stop is finished by the shutdown */
static void test_shutdown(void)
{
	sender_init(&sd_a, "PCMU", 8000, 0, 440, 1);
	sender_init(&sd_b, "PCMU", 8000, 0, 1000, 2);
	ng_call("rec-at-shutdown", &sd_a, &sd_b, "0", "", "record-call", "on", NULL, NULL);
	talk(&sd_a, &sd_b, 10);
	g_assert_cmpuint(drain(&sd_b), ==, 10);
	g_assert_cmpuint(drain(&sd_a), ==, 10);
	test_engine_stop(&cfg);
	engine_up = false;
	sender_free(&sd_a);
	sender_free(&sd_b);
	g_autofree char *meta_p = path_of("rec-at-shutdown", NULL, ".meta");
	g_autofree char *meta = wait_meta(meta_p, 100);
	g_assert_nonnull(meta);
	assert_has(meta, "status: ok\n");
	g_autofree char *pcap_p = path_of("rec-at-shutdown", NULL, ".pcap");
	GArray *pk = read_pcap(pcap_p, 101);
	g_assert_cmpuint(pk->len, ==, 20);
	g_array_free(pk, TRUE);
}

/* A second engine: recording-format=eth, media on ::1: Ethernet frames with IPv6 + UDP headers
 * (checksums verified by read_pcap). */
static void test_eth_ipv6(void)
{
	if (engine_up)
		test_engine_stop(&cfg);
	test_engine_start(&cfg, "--config-file=none", "--interface=::1", opt_rd, opt_ln, opt_lr,
			  "--recording-format=eth", "--port-min=" G_STRINGIFY(PORT_MIN),
			  "--port-max=" G_STRINGIFY(PORT_MAX), "--num-threads=1", NULL);
	engine_up = true;
	const char *cid = "rec-eth-v6";
	sender a, b;
	sender_init_on(&a, true, "PCMA", 8000, 8, 440, 7);
	sender_init_on(&b, true, "PCMA", 8000, 8, 1000, 8);
	ng_call(cid, &a, &b, "8", "", "record-call", "yes", NULL, NULL);
	talk(&a, &b, 30);
	g_assert_cmpuint(drain(&b), ==, 30);
	g_assert_cmpuint(drain(&a), ==, 30);
	g_autoptr(reply) st = ng("stop recording", "call-id", cid, NULL);
	assert_result(st, "ok");
	rec_files f;
	rec_files_load(&f, cid, 1, 8000, 1);
	assert_has(f.meta, "linktype: ethernet\n");
	check_pcap_stream(f.pk, &a, 30, 100, 0, 0);
	check_pcap_stream(f.pk, &b, 30, 100, 0, 0);
	g_assert_cmpuint(f.na, ==, 30 * 160);
	g_assert_cmpfloat(fabs(dominant_hz(f.wa + 800, 2400, 8000) - 440), <=, 10);
	rec_files_clear(&f);
	g_autoptr(reply) d = ng("delete", "call-id", cid, "delete-delay", "0", NULL);
	assert_result(d, "ok");
	sender_free(&a);
	sender_free(&b);
}

/* rtpengine's recording options: what maps is accepted, the rest is a configuration error */
static void test_config(void)
{
	static const struct { const char *opt; bool ok; } cases[] = {
		{ "--recording-method=pcap", true }, { "--recording-method=proc", false },
		{ "--recording-format=raw", true }, { "--recording-format=eth", true },
		{ "--recording-format=mp3", false },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		rg_config c = { 0 };
		char *err = NULL;
		char *argv[] = { (char *)"rtpgate", (char *)"--config-file=none", (char *)cases[i].opt, NULL };
		int r = rg_config_load(&c, 3, argv, &err);
		g_assert_cmpint(r == 0, ==, cases[i].ok);
		if (!cases[i].ok)
			g_assert_nonnull(strstr(err, "recording-"));
		g_free(err);
		rg_config_clear(&c);
	}
}

static void rm_rf(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	if (!d)
		return;
	const char *n;
	while ((n = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(dir, n, NULL);
		if (g_file_test(p, G_FILE_TEST_IS_DIR))
			rm_rf(p);
		else
			g_unlink(p);
	}
	g_dir_close(d);
	g_rmdir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	rg_log_init(true, g_getenv("RG_TEST_VERBOSE") ? RG_LOG_INFO : RG_LOG_ERR, "test_recording");
	tmp_root = g_dir_make_tmp("rg-rec-XXXXXX", NULL);
	g_assert_nonnull(tmp_root);
	rec_dir = g_build_filename(tmp_root, "rec", NULL);   /* created by the engine */
	g_autofree char *rd = g_strdup_printf("--recording-dir=%s", rec_dir);
	g_autofree char *ln = g_strdup_printf("--listen-ng=127.0.0.1:%d", 20600 + (getpid() % 90));
	g_autofree char *lr = g_strdup_printf("--listen-rtpproxy=udp:127.0.0.1:%d", 20700 + (getpid() % 90));
	opt_rd = rd;
	opt_ln = ln;
	opt_lr = lr;
	rg_rec_test_set_ring(64 * 1024);   /* small enough to fill in /recording/ring-full */
	test_engine_start(&cfg, "--config-file=none", "--interface=127.0.0.1", rd, ln, lr,
			  "--recording-method=pcap", "--recording-format=raw",
			  "--port-min=" G_STRINGIFY(PORT_MIN), "--port-max=" G_STRINGIFY(PORT_MAX),
			  "--num-threads=2", NULL);
	engine_up = true;
	g_assert_true(g_file_test(rec_dir, G_FILE_TEST_IS_DIR));
	g_test_add_func("/recording/ng-pcmu", test_ng_pcmu);
	g_test_add_func("/recording/record-call-opus-pause", test_record_call_opus_pause);
	g_test_add_func("/recording/rtpproxy-g722", test_rtpproxy_g722);
	g_test_add_func("/recording/ring-full", test_ring_full);
	g_test_add_func("/recording/safe-names", test_safe_names);
	g_test_add_func("/recording/errors", test_errors);
	g_test_add_func("/recording/unwritable", test_unwritable);
	g_test_add_func("/recording/disk-full", test_disk_full);
	g_test_add_func("/recording/config", test_config);
	g_test_add_func("/recording/shutdown", test_shutdown);   /* stops the engine */
	g_test_add_func("/recording/eth-ipv6", test_eth_ipv6);   /* a second engine */
	int ret = g_test_run();
	if (engine_up)
		test_engine_stop(&cfg);
	if (!g_getenv("RG_KEEP_RECORDINGS"))
		rm_rf(tmp_root);
	g_free(rec_dir);
	g_free(tmp_root);
	return ret;
}
