/* The transcoding pipeline: every pair of audio types keeps a tone's frequency (±2 %), the PCM
 * rates chosen, ptime repacketization, loss (PLC, Opus FEC), resync, late and malformed input,
 * back-pressure, stereo, and no allocation per packet (calloc/malloc/realloc are wrapped). */
#include "rg_codec.h"
#include "rg_payload.h"
#include "signal.h"

#include <bcg729/encoder.h>
#include <errno.h>
#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- allocation counter (linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc) ---- */

static unsigned long n_allocs;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n)
{
	n_allocs++;
	return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
	n_allocs++;
	return __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
	n_allocs++;
	return __real_realloc(p, n);
}

/* ---- an RTP source of one type and a sink that decodes what the pipeline produces ---- */

typedef struct {
	const rg_codec_type *t;
	rg_codec_params p;
	rg_encoder *enc;
	unsigned rate, ptime, frame_ms;
	uint32_t ts;
} source;

static void source_init(source *s, const char *rtpmap, const char *fmtp, unsigned ptime)
{
	memset(s, 0, sizeof(*s));
	g_assert_cmpint(rg_codec_find_rtpmap(&s->t, rtpmap, fmtp), ==, 0);
	g_assert_cmpint(rg_codec_params_parse(s->t, fmtp, &s->p), ==, 0);
	s->rate = s->t->pcm_rate ? s->t->pcm_rate : 48000;
	s->ptime = ptime;
	s->frame_ms = rg_codec_frame_ms(s->t, ptime);
	g_assert_cmpuint(s->frame_ms, >, 0);
	s->ts = 1000;
	g_assert_cmpint(rg_enc_new(&s->enc, s->t, &s->p, s->rate, 1), ==, 0);
}

/* one RTP payload of ptime ms from pcm (ptime * rate / 1000 samples) */
static size_t source_packet(source *s, const int16_t *pcm, uint8_t *out, size_t cap)
{
	unsigned n = s->ptime / s->frame_ms, fs = s->frame_ms * s->rate / 1000;
	static uint8_t fbuf[12][RG_ENC_MAX_FRAME];
	rg_frame frames[12];
	for (unsigned i = 0; i < n; i++) {
		size_t len;
		g_assert_cmpint(rg_enc_encode(s->enc, pcm + i * fs, fs, fbuf[i], RG_ENC_MAX_FRAME, &len), ==, 0);
		frames[i] = (rg_frame){fbuf[i], len};
	}
	size_t len;
	if (s->t->packetize) {
		g_assert_cmpint(s->t->packetize(s->t, &s->p, frames, n, out, cap, &len), ==, 0);
	} else {
		g_assert_cmpuint(n, ==, 1);
		memcpy(out, frames[0].data, frames[0].len);
		len = frames[0].len;
	}
	return len;
}

typedef struct {
	const rg_codec_type *t;
	rg_codec_params p;
	rg_decoder *dec;
	unsigned rate;
	int16_t *pcm;
	size_t n, cap;
	rg_depkt depkt;
} sink;

static void sink_init(sink *k, const char *rtpmap, const char *fmtp, size_t cap, unsigned channels)
{
	memset(k, 0, sizeof(*k));
	g_assert_cmpint(rg_codec_find_rtpmap(&k->t, rtpmap, fmtp), ==, 0);
	g_assert_cmpint(rg_codec_params_parse(k->t, fmtp, &k->p), ==, 0);
	k->rate = k->t->pcm_rate ? k->t->pcm_rate : 48000;
	g_assert_cmpint(rg_dec_new(&k->dec, k->t, &k->p, k->rate, channels), ==, 0);
	k->cap = cap;
	k->pcm = g_new0(int16_t, cap * channels);
}

static void sink_payload(sink *k, const uint8_t *pl, size_t len)
{
	unsigned C = rg_dec_channels(k->dec);
	if (k->t->depacketize) {
		g_assert_cmpint(k->t->depacketize(k->t, &k->p, pl, len, &k->depkt), ==, 0);
	} else {
		k->depkt.frame[0] = (rg_frame){pl, len};
		k->depkt.n = 1;
	}
	for (unsigned i = 0; i < k->depkt.n; i++) {
		unsigned got;
		g_assert_cmpint(rg_dec_decode(k->dec, k->depkt.frame[i].data, k->depkt.frame[i].len, k->pcm + k->n * C,
					      (unsigned)(k->cap - k->n), &got),
				==, 0);
		k->n += got;
	}
}

static void sink_free(sink *k)
{
	rg_dec_free(k->dec);
	g_free(k->pcm);
}

typedef struct {
	const char *in, *in_fmtp, *out, *out_fmtp;
	unsigned in_ptime, out_ptime;
	double seconds;
	unsigned drop_every; /* drop packet k when k % drop_every == drop_every - 1; 0 = none */
	double tone;
} run_cfg;

typedef struct {
	rg_pipeline_stats st;
	rg_pipeline_info info;
	double freq, level, in_ms, out_ms;
	size_t packets_out;
	uint64_t ts_sum;
	size_t min_len, max_len;
} run_result;

static run_result run(const run_cfg *c)
{
	run_result r = {0};
	source src;
	source_init(&src, c->in, c->in_fmtp, c->in_ptime);
	const rg_codec_type *ot;
	g_assert_cmpint(rg_codec_find_rtpmap(&ot, c->out, c->out_fmtp), ==, 0);
	rg_codec_params op;
	g_assert_cmpint(rg_codec_params_parse(ot, c->out_fmtp, &op), ==, 0);
	rg_pipeline *p;
	g_assert_cmpint(rg_pipeline_new(&p, src.t, &src.p, ot, &op, c->out_ptime), ==, 0);
	rg_pipeline_get_info(p, &r.info);

	size_t n = (size_t)(c->seconds * src.rate);
	unsigned pkt_samples = c->in_ptime * src.rate / 1000;
	n -= n % pkt_samples;
	int16_t *pcm = g_new(int16_t, n);
	sig_tone(pcm, n, src.rate, c->tone, -10);
	sink k;
	sink_init(&k, c->out, c->out_fmtp, (size_t)((c->seconds + 1) * 48000), 1);

	uint32_t clock_step = c->in_ptime * src.t->rate / 1000;
	r.min_len = SIZE_MAX;
	for (size_t o = 0, i = 0; o < n; o += pkt_samples, i++) {
		uint8_t pl[4000];
		size_t len = source_packet(&src, pcm + o, pl, sizeof(pl));
		if (!(c->drop_every && i % c->drop_every == c->drop_every - 1))
			g_assert_cmpint(rg_pipeline_push(p, pl, len, src.ts), ==, 0);
		src.ts += clock_step;
		uint8_t out[4000];
		size_t olen;
		uint32_t inc;
		int err;
		while ((err = rg_pipeline_pull(p, out, sizeof(out), &olen, &inc)) == 0) {
			sink_payload(&k, out, olen);
			r.packets_out++;
			r.ts_sum += inc;
			r.min_len = MIN(r.min_len, olen);
			r.max_len = MAX(r.max_len, olen);
		}
		g_assert_cmpint(err, ==, -EAGAIN);
	}
	rg_pipeline_get_stats(p, &r.st);
	size_t skip = k.rate / 5;
	g_assert_cmpuint(k.n, >, 2 * skip);
	r.freq = sig_zc_freq(k.pcm + skip, k.n - skip, 1, k.rate);
	r.level = sig_level_db(k.pcm + skip, k.n - 2 * skip, 1) - (-10);
	r.in_ms = 1000.0 * (double)n / src.rate;
	r.out_ms = 1000.0 * (double)k.n / k.rate;
	rg_pipeline_free(p);
	rg_enc_free(src.enc);
	sink_free(&k);
	g_free(pcm);
	return r;
}

/* ---- every pair ---- */

static const struct {
	const char *rtpmap, *fmtp;
} types[] = {
	{"PCMU/8000", NULL},   {"PCMA/8000", NULL},      {"G722/8000", NULL},
	{"opus/48000/2", NULL}, {"AMR/8000", NULL},      {"AMR/8000", "octet-align=1"},
	{"AMR-WB/16000", NULL}, {"AMR-WB/16000", "octet-align=1"}, {"G729/8000", NULL},
};

static bool have_hooks(const char *rtpmap, const char *fmtp)
{
	const rg_codec_type *t;
	g_assert_cmpint(rg_codec_find_rtpmap(&t, rtpmap, fmtp), ==, 0);
	return !(t->flags & RG_CODEC_F_AMR) || (t->packetize && t->depacketize);
}

static void test_pair(gconstpointer data)
{
	unsigned idx = GPOINTER_TO_UINT(data);
	unsigned a = idx / G_N_ELEMENTS(types), b = idx % G_N_ELEMENTS(types);
	if (!have_hooks(types[a].rtpmap, types[a].fmtp) || !have_hooks(types[b].rtpmap, types[b].fmtp)) {
		g_test_skip("AMR payload format (codecs/payload_amr.c) not built");
		return;
	}
	run_cfg c = {types[a].rtpmap, types[a].fmtp, types[b].rtpmap, types[b].fmtp, 20, 20, 1.0, 0, 1000};
	run_result r = run(&c);
	g_test_message("MEASURE pipeline %-12s%s -> %-12s%s pcm %5u -> %5u%s: freq %7.2f Hz level %+.1f dB, %zu packets "
		       "of %zu..%zu octets",
		       types[a].rtpmap, types[a].fmtp ? " oa" : "   ", types[b].rtpmap, types[b].fmtp ? " oa" : "   ",
		       r.info.in_pcm_rate, r.info.out_pcm_rate, r.info.resampling ? " (resampled)" : "", r.freq, r.level,
		       r.packets_out, r.min_len, r.max_len);
	g_assert_cmpfloat(fabs(r.freq - 1000), <, 1000 * 0.02);
	g_assert_cmpfloat(fabs(r.level), <, 4);
	g_assert_cmpuint(r.st.decode_errors, ==, 0);
	g_assert_cmpuint(r.st.samples_concealed, ==, 0);
	/* everything but less than one packet (and the resampler's history) comes out */
	g_assert_cmpuint(r.packets_out, >=, 49 - (r.info.resampling ? 1 : 0));
	g_assert_cmpuint(r.ts_sum, ==, r.packets_out * (20 * (uint64_t)r.info.out_ptime / 20) *
					       (strstr(types[b].rtpmap, "opus") ? 48 : strstr(types[b].rtpmap, "WB") ? 16 : 8));
}

/* ---- rates ---- */

static void check_rates(const char *in, const char *in_fmtp, const char *out, const char *out_fmtp, unsigned in_rate,
			unsigned out_rate, unsigned channels)
{
	const rg_codec_type *it, *ot;
	rg_codec_params ip, op;
	g_assert_cmpint(rg_codec_find_rtpmap(&it, in, in_fmtp), ==, 0);
	g_assert_cmpint(rg_codec_find_rtpmap(&ot, out, out_fmtp), ==, 0);
	g_assert_cmpint(rg_codec_params_parse(it, in_fmtp, &ip), ==, 0);
	g_assert_cmpint(rg_codec_params_parse(ot, out_fmtp, &op), ==, 0);
	rg_pipeline *p;
	g_assert_cmpint(rg_pipeline_new(&p, it, &ip, ot, &op, 0), ==, 0);
	rg_pipeline_info info;
	rg_pipeline_get_info(p, &info);
	g_assert_cmpuint(info.in_pcm_rate, ==, in_rate);
	g_assert_cmpuint(info.out_pcm_rate, ==, out_rate);
	g_assert_cmpuint(info.channels, ==, channels);
	g_assert_cmpint(info.resampling, ==, in_rate != out_rate);
	g_assert_cmpuint(info.out_ptime, ==, op.ptime ? op.ptime : 20);
	rg_pipeline_free(p);
}

static void test_rates(void)
{
	/* the lowest rate that carries the content: no resampler for Opus <-> G.711 */
	check_rates("PCMU/8000", NULL, "opus/48000/2", NULL, 8000, 8000, 1);
	check_rates("opus/48000/2", NULL, "PCMA/8000", NULL, 8000, 8000, 1);
	check_rates("opus/48000/2", NULL, "G722/8000", NULL, 16000, 16000, 1);
	check_rates("G722/8000", NULL, "opus/48000/2", NULL, 16000, 16000, 1);
	check_rates("AMR-WB/16000", NULL, "opus/48000/2", "maxplaybackrate=8000", 16000, 8000, 1);
	check_rates("opus/48000/2", "sprop-maxcapturerate=8000", "G722/8000", NULL, 8000, 16000, 1);
	check_rates("opus/48000/2", NULL, "opus/48000/2", NULL, 48000, 48000, 1);
	check_rates("opus/48000/2", NULL, "opus/48000/2", "maxplaybackrate=16000", 16000, 16000, 1);
	check_rates("opus/48000/2", "sprop-stereo=1", "opus/48000/2", "stereo=1", 48000, 48000, 2);
	check_rates("opus/48000/2", "sprop-stereo=1", "opus/48000/2", NULL, 48000, 48000, 1);
	check_rates("G722/8000", NULL, "PCMU/8000", NULL, 16000, 8000, 1);
	check_rates("PCMU/8000", NULL, "AMR-WB/16000", NULL, 8000, 16000, 1);
	check_rates("PCMU/8000", NULL, "PCMA/8000", "ptime=30", 8000, 8000, 1);
}

/* ---- ptime ---- */

static void test_ptime(void)
{
	static const run_cfg cases[] = {
		{"PCMU/8000", NULL, "opus/48000/2", NULL, 20, 60, 1.2, 0, 1000},
		{"opus/48000/2", NULL, "PCMU/8000", NULL, 60, 20, 1.2, 0, 1000},
		{"PCMU/8000", NULL, "opus/48000/2", NULL, 20, 30, 1.2, 0, 1000}, /* 3 x 10 ms repacketized */
		{"PCMU/8000", NULL, "opus/48000/2", NULL, 10, 120, 1.2, 0, 1000},
		{"opus/48000/2", NULL, "PCMA/8000", NULL, 10, 30, 1.2, 0, 1000},
		{"G722/8000", NULL, "PCMU/8000", NULL, 40, 10, 1.2, 0, 1000},
		{"PCMA/8000", NULL, "G722/8000", NULL, 30, 50, 1.5, 0, 1000},
		{"PCMU/8000", NULL, "AMR/8000", NULL, 20, 60, 1.2, 0, 1000},
		{"AMR-WB/16000", "octet-align=1", "opus/48000/2", NULL, 40, 20, 1.2, 0, 1000},
		{"opus/48000/2", NULL, "AMR-WB/16000", NULL, 20, 40, 1.2, 0, 1000},
		{"opus/48000/2", NULL, "G729/8000", NULL, 20, 30, 1.2, 0, 1000},
		{"G729/8000", NULL, "PCMU/8000", NULL, 40, 20, 1.2, 0, 1000},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const run_cfg *c = &cases[i];
		if (!have_hooks(c->in, c->in_fmtp) || !have_hooks(c->out, c->out_fmtp))
			continue;
		run_result r = run(c);
		unsigned clock = strstr(c->out, "opus") ? 48000 : strstr(c->out, "WB") ? 16000 : 8000;
		g_test_message("MEASURE ptime %s/%u -> %s/%u: %zu packets, %.0f ms in, %.0f ms out, freq %.1f",
			       c->in, c->in_ptime, c->out, c->out_ptime, r.packets_out, r.in_ms, r.out_ms, r.freq);
		g_assert_cmpuint(r.info.out_ptime, ==, c->out_ptime);
		g_assert_cmpuint(r.ts_sum, ==, r.packets_out * c->out_ptime * clock / 1000);
		g_assert_cmpfloat(r.out_ms, ==, r.packets_out * (double)c->out_ptime);
		/* all of the input but less than one output packet (+ resampler history) */
		g_assert_cmpfloat(r.out_ms, >, r.in_ms - c->out_ptime - 5);
		g_assert_cmpfloat(r.out_ms, <=, r.in_ms);
		g_assert_cmpfloat(fabs(r.freq - 1000), <, 20);
	}
}

/* ---- loss ---- */

static void test_loss_plc(void)
{
	run_cfg c = {"PCMU/8000", NULL, "opus/48000/2", NULL, 20, 20, 2.0, 7, 1000};
	run_result r = run(&c);
	unsigned dropped = 100 / 7;
	g_test_message("MEASURE loss PCMU -> opus 1/7 dropped: %" G_GUINT64_FORMAT " samples concealed, %zu packets out, "
		       "freq %.1f",
		       r.st.samples_concealed, r.packets_out, r.freq);
	g_assert_cmpuint(r.st.samples_concealed, ==, dropped * 160);
	g_assert_cmpuint(r.st.samples_fec, ==, 0);
	g_assert_cmpuint(r.packets_out, ==, 100); /* the output stream has no hole */
	g_assert_cmpfloat(fabs(r.freq - 1000), <, 20);

	/* AMR: multi-frame packets lost -> whole frames concealed */
	run_cfg a = {"AMR/8000", "octet-align=1", "PCMA/8000", NULL, 40, 20, 2.0, 5, 1000};
	if (have_hooks(a.in, a.in_fmtp)) {
		r = run(&a);
		/* 50 packets, every 5th lost; the last one is lost too and nothing follows it */
		g_assert_cmpuint(r.st.samples_concealed, ==, 9 * 320);
		g_assert_cmpuint(r.packets_out, ==, 98);
	}
}

static void test_loss_fec(void)
{
	/* the source (a WebRTC peer) sends FEC because our side said useinbandfec=1 */
	run_cfg c = {"opus/48000/2", "useinbandfec=1", "PCMU/8000", NULL, 20, 20, 2.0, 10, 1000};
	run_result r = run(&c);
	g_test_message("MEASURE loss opus(FEC) -> PCMU 1/10 dropped: %" G_GUINT64_FORMAT " samples via FEC, "
		       "%" G_GUINT64_FORMAT " concealed, freq %.1f",
		       r.st.samples_fec, r.st.samples_concealed, r.freq);
	/* 100 packets, every 10th lost, the last one too (nothing follows it); decoded at 8 kHz */
	g_assert_cmpuint(r.st.samples_fec, ==, 9 * 160);
	g_assert_cmpuint(r.st.samples_concealed, ==, 0);
	g_assert_cmpuint(r.packets_out, ==, 99);
	g_assert_cmpfloat(fabs(r.freq - 1000), <, 20);
}

/* ---- timing edge cases, errors ---- */

static rg_pipeline *new_pipe(const char *in, const char *out, unsigned ptime)
{
	const rg_codec_type *it, *ot;
	g_assert_cmpint(rg_codec_find_rtpmap(&it, in, NULL), ==, 0);
	g_assert_cmpint(rg_codec_find_rtpmap(&ot, out, NULL), ==, 0);
	rg_pipeline *p;
	g_assert_cmpint(rg_pipeline_new(&p, it, NULL, ot, NULL, ptime), ==, 0);
	return p;
}

/* a pipeline taking what source s sends (its type and params) to `out` (default params) */
static rg_pipeline *source_pipe(const source *s, const char *out, unsigned ptime)
{
	const rg_codec_type *ot;
	g_assert_cmpint(rg_codec_find_rtpmap(&ot, out, NULL), ==, 0);
	rg_pipeline *p;
	g_assert_cmpint(rg_pipeline_new(&p, s->t, &s->p, ot, NULL, ptime), ==, 0);
	return p;
}

static void test_timing(void)
{
	rg_pipeline *p = new_pipe("PCMU/8000", "PCMA/8000", 20);
	uint8_t pl[160], out[400];
	memset(pl, 0xd5, sizeof(pl));
	size_t len;
	uint32_t inc;
	rg_pipeline_stats st;
	g_assert_cmpint(rg_pipeline_pull(p, out, sizeof(out), &len, &inc), ==, -EAGAIN);
	g_assert_cmpint(rg_pipeline_push(p, pl, 160, 0xfffffe00u), ==, 0);
	g_assert_cmpint(rg_pipeline_pull(p, out, 159, &len, &inc), ==, -ENOBUFS);
	g_assert_cmpint(rg_pipeline_pull(p, out, sizeof(out), &len, &inc), ==, 0);
	g_assert_cmpuint(len, ==, 160);
	g_assert_cmpuint(inc, ==, 160);
	/* wrap-around of the 32-bit timestamp is no gap */
	g_assert_cmpint(rg_pipeline_push(p, pl, 160, 0xfffffea0u), ==, 0);
	g_assert_cmpint(rg_pipeline_push(p, pl, 160, 0xffffff40u), ==, 0);
	g_assert_cmpint(rg_pipeline_push(p, pl, 160, 0xffffffe0u), ==, 0);
	g_assert_cmpint(rg_pipeline_push(p, pl, 160, 0x00000080u), ==, 0);
	rg_pipeline_get_stats(p, &st);
	g_assert_cmpuint(st.samples_concealed, ==, 0);
	g_assert_cmpuint(st.resyncs, ==, 0);
	for (int i = 0; i < 4; i++)
		g_assert_cmpint(rg_pipeline_pull(p, out, sizeof(out), &len, &inc), ==, 0);
	/* late and duplicate */
	g_assert_cmpint(rg_pipeline_push(p, pl, 160, 0xffffffe0u), ==, -EALREADY);
	g_assert_cmpint(rg_pipeline_push(p, pl, 160, 0x00000080u), ==, -EALREADY);
	/* a 40 ms gap: concealed */
	g_assert_cmpint(rg_pipeline_push(p, pl, 160, 0x00000080u + 3 * 160), ==, 0);
	rg_pipeline_get_stats(p, &st);
	g_assert_cmpuint(st.late, ==, 2);
	g_assert_cmpuint(st.samples_concealed, ==, 320);
	for (int i = 0; i < 3; i++) {
		g_assert_cmpint(rg_pipeline_pull(p, out, sizeof(out), &len, &inc), ==, 0);
		g_assert_cmpuint(inc, ==, 160);
	}
	g_assert_cmpint(rg_pipeline_pull(p, out, sizeof(out), &len, &inc), ==, -EAGAIN);
	/* a 2 s gap: resync, nothing concealed, the output timestamp jumps along */
	uint32_t ts = 0x00000080u + 4 * 160 + 16000;
	g_assert_cmpint(rg_pipeline_push(p, pl, 160, ts), ==, 0);
	rg_pipeline_get_stats(p, &st);
	g_assert_cmpuint(st.resyncs, ==, 1);
	g_assert_cmpuint(st.samples_concealed, ==, 320);
	g_assert_cmpint(rg_pipeline_pull(p, out, sizeof(out), &len, &inc), ==, 0);
	g_assert_cmpuint(inc, ==, 160 + 16000);
	g_assert_cmpint(rg_pipeline_push(p, pl, 160, ts + 160), ==, 0);
	g_assert_cmpint(rg_pipeline_pull(p, out, sizeof(out), &len, &inc), ==, 0);
	g_assert_cmpuint(inc, ==, 160);
	/* far backwards (> 1 s): a new stream, not "late" */
	g_assert_cmpint(rg_pipeline_push(p, pl, 160, ts - 80000), ==, 0);
	rg_pipeline_get_stats(p, &st);
	g_assert_cmpuint(st.resyncs, ==, 2);
	/* back-pressure: without pulls the FIFO fills up */
	int err = 0;
	uint32_t t2 = ts - 80000 + 160;
	for (int i = 0; i < 100 && err == 0; i++, t2 += 160)
		err = rg_pipeline_push(p, pl, 160, t2);
	g_assert_cmpint(err, ==, -ENOBUFS);
	rg_pipeline_get_stats(p, &st);
	g_assert_cmpuint(st.overflows, ==, 1);
	while (rg_pipeline_pull(p, out, sizeof(out), &len, &inc) == 0)
		;
	g_assert_cmpint(rg_pipeline_push(p, pl, 160, t2 - 160), ==, 0);
	rg_pipeline_free(p);

	/* G.722: RTP clock 8000 for 16 kHz samples; 20 ms = 160 octets = 160 ticks */
	p = new_pipe("G722/8000", "opus/48000/2", 20);
	g_assert_cmpint(rg_pipeline_push(p, pl, 160, 0), ==, 0);
	g_assert_cmpint(rg_pipeline_push(p, pl, 160, 320), ==, 0); /* one packet lost */
	rg_pipeline_get_stats(p, &st);
	g_assert_cmpuint(st.samples_concealed, ==, 320);
	g_assert_cmpint(rg_pipeline_pull(p, out, sizeof(out), &len, &inc), ==, 0);
	g_assert_cmpuint(inc, ==, 960);
	rg_pipeline_free(p);
}

static unsigned tapped, tap_rate;
static void tap(const int16_t *pcm, unsigned n, unsigned rate, unsigned channels, void *arg)
{
	(void)pcm;
	g_assert_cmpuint(channels, ==, 1);
	g_assert_true(arg == &tapped);
	tapped += n;
	tap_rate = rate;
}

/* PCM pushed in place of a payload (DTMF tones), timed like one; the tap sees what goes to the
 * encoder */
static void test_push_pcm(void)
{
	rg_pipeline *p = new_pipe("PCMU/8000", "G722/8000", 20);
	rg_pipeline_set_tap(p, tap, &tapped);
	uint8_t pl[160], out[400];
	memset(pl, 0xd5, sizeof(pl));
	int16_t pcm[1600];
	for (unsigned i = 0; i < G_N_ELEMENTS(pcm); i++)
		pcm[i] = (int16_t)(i * 37);
	size_t len;
	uint32_t inc;
	rg_pipeline_stats st;
	g_assert_cmpint(rg_pipeline_push(p, pl, 160, 1000), ==, 0);
	g_assert_cmpuint(tapped, ==, 320);    /* 20 ms at the encoder's 16 kHz */
	g_assert_cmpuint(tap_rate, ==, 16000);
	/* 40 ms of PCM right after: no gap */
	g_assert_cmpint(rg_pipeline_push_pcm(p, pcm, 320, 1160), ==, 0);
	rg_pipeline_get_stats(p, &st);
	g_assert_cmpuint(st.samples_concealed, ==, 0);
	/* overlapping the last 20 ms: that part is skipped, the rest placed */
	g_assert_cmpint(rg_pipeline_push_pcm(p, pcm, 320, 1320), ==, 0);
	g_assert_cmpint(rg_pipeline_push_pcm(p, pcm, 160, 1320), ==, -EALREADY);
	g_assert_cmpint(rg_pipeline_push(p, pl, 160, 1640), ==, 0);
	rg_pipeline_get_stats(p, &st);
	g_assert_cmpuint(st.samples_concealed, ==, 0);
	g_assert_cmpuint(st.late, ==, 1);
	unsigned pulled = 0;
	while (rg_pipeline_pull(p, out, sizeof(out), &len, &inc) == 0) {
		g_assert_cmpuint(inc, ==, 160);
		pulled++;
	}
	g_assert_cmpuint(pulled, ==, 5);      /* 20 + 40 + 20 + 20 ms */
	g_assert_cmpuint(tapped, ==, 5 * 320);
	/* a gap before PCM is concealed like one before a payload */
	g_assert_cmpint(rg_pipeline_push_pcm(p, pcm, 160, 1800 + 160), ==, 0);
	rg_pipeline_get_stats(p, &st);
	g_assert_cmpuint(st.samples_concealed, ==, 160);
	g_assert_cmpint(rg_pipeline_push_pcm(p, pcm, 8 * RG_PIPELINE_MAX_PACKET_MS + 1, 2120), ==, -EMSGSIZE);
	g_assert_cmpint(rg_pipeline_push_pcm(p, NULL, 10, 2120), ==, -EINVAL);
	rg_pipeline_set_tap(p, NULL, NULL);
	rg_pipeline_free(p);
}

static void test_errors(void)
{
	const rg_codec_type *pcmu, *opus, *tev, *amr, *g722;
	g_assert_cmpint(rg_codec_find_rtpmap(&pcmu, "PCMU/8000", NULL), ==, 0);
	g_assert_cmpint(rg_codec_find_rtpmap(&opus, "opus/48000/2", NULL), ==, 0);
	g_assert_cmpint(rg_codec_find_rtpmap(&tev, "telephone-event/8000", NULL), ==, 0);
	g_assert_cmpint(rg_codec_find_rtpmap(&amr, "AMR/8000", NULL), ==, 0);
	g_assert_cmpint(rg_codec_find_rtpmap(&g722, "G722/8000", NULL), ==, 0);
	rg_pipeline *p;
	g_assert_cmpint(rg_pipeline_new(&p, tev, NULL, pcmu, NULL, 20), ==, -ENOTSUP);
	g_assert_cmpint(rg_pipeline_new(&p, pcmu, NULL, tev, NULL, 20), ==, -ENOTSUP);
	g_assert_cmpint(rg_pipeline_new(&p, pcmu, NULL, opus, NULL, 25), ==, -EINVAL);
	g_assert_cmpint(rg_pipeline_new(&p, pcmu, NULL, opus, NULL, 180), ==, -EINVAL);
	g_assert_cmpint(rg_pipeline_new(&p, pcmu, NULL, pcmu, NULL, 140), ==, -EINVAL);
	if (amr->packetize)
		g_assert_cmpint(rg_pipeline_new(&p, pcmu, NULL, amr, NULL, 30), ==, -EINVAL);
	else
		g_assert_cmpint(rg_pipeline_new(&p, pcmu, NULL, amr, NULL, 20), ==, -ENOTSUP);

	/* malformed Opus: counted, nothing decoded, the next packet conceals the hole */
	g_assert_cmpint(rg_pipeline_new(&p, opus, NULL, pcmu, NULL, 20), ==, 0);
	static const uint8_t bad[] = {0xff, 0xff};
	g_assert_cmpint(rg_pipeline_push(p, bad, sizeof(bad), 0), ==, -EINVAL);
	rg_pipeline_stats st;
	rg_pipeline_get_stats(p, &st);
	g_assert_cmpuint(st.decode_errors, ==, 1);
	g_assert_cmpuint(st.packets_in, ==, 0);
	g_assert_cmpint(rg_pipeline_push(p, bad, 0, 0), ==, -EINVAL);
	rg_pipeline_free(p);

	/* malformed AMR */
	if (amr->depacketize) {
		g_assert_cmpint(rg_pipeline_new(&p, amr, NULL, pcmu, NULL, 20), ==, 0);
		static const uint8_t junk[] = {0xf4, 0xff, 0xff};
		g_assert_cmpint(rg_pipeline_push(p, junk, sizeof(junk), 0), ==, -EINVAL);
		rg_pipeline_free(p);
	}
	/* more than 120 ms in one payload */
	g_assert_cmpint(rg_pipeline_new(&p, g722, NULL, pcmu, NULL, 20), ==, 0);
	static uint8_t big[1000];
	g_assert_cmpint(rg_pipeline_push(p, big, 961, 0), ==, -EMSGSIZE);
	g_assert_cmpint(rg_pipeline_push(p, big, 960, 0), ==, 0);
	rg_pipeline_free(p);
	rg_pipeline_free(NULL);
}

/* ---- stereo Opus -> Opus ---- */

static void test_stereo(void)
{
	const rg_codec_type *t;
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "opus/48000/2", NULL), ==, 0);
	rg_codec_params ip, op;
	g_assert_cmpint(rg_codec_params_parse(t, "sprop-stereo=1; stereo=1", &ip), ==, 0);
	g_assert_cmpint(rg_codec_params_parse(t, "stereo=1", &op), ==, 0);
	rg_encoder *e;
	g_assert_cmpint(rg_enc_new(&e, t, &ip, 48000, 2), ==, 0);
	rg_pipeline *p;
	g_assert_cmpint(rg_pipeline_new(&p, t, &ip, t, &op, 40), ==, 0);
	sink k;
	sink_init(&k, "opus/48000/2", "stereo=1", 48000 * 2, 2);
	size_t n = 48000;
	int16_t *pcm = g_new(int16_t, 2 * n);
	sig_tone_stereo(pcm, n, 48000, 440, 1000, -10);
	for (size_t o = 0; o < n; o += 960) {
		uint8_t pl[1500], out[4000];
		size_t len;
		uint32_t inc;
		g_assert_cmpint(rg_enc_encode(e, pcm + 2 * o, 960, pl, sizeof(pl), &len), ==, 0);
		g_assert_cmpint(rg_pipeline_push(p, pl, len, (uint32_t)o), ==, 0);
		while (rg_pipeline_pull(p, out, sizeof(out), &len, &inc) == 0) {
			g_assert_cmpuint(inc, ==, 1920);
			sink_payload(&k, out, len);
		}
	}
	double fl = sig_zc_freq(k.pcm + 2 * 4800, k.n - 4800, 2, 48000);
	double fr = sig_zc_freq(k.pcm + 2 * 4800 + 1, k.n - 4800, 2, 48000);
	g_test_message("MEASURE pipeline opus stereo -> opus stereo 40 ms: left %.1f right %.1f", fl, fr);
	g_assert_cmpfloat(fabs(fl - 440), <, 440 * 0.02);
	g_assert_cmpfloat(fabs(fr - 1000), <, 1000 * 0.02);
	rg_pipeline_free(p);
	rg_enc_free(e);
	sink_free(&k);
	g_free(pcm);
}

/* ---- no allocation per packet ---- */

static void test_no_alloc(void)
{
	static const struct {
		const char *in, *in_fmtp, *out;
		unsigned in_ptime, out_ptime;
	} cases[] = {
		{"opus/48000/2", "useinbandfec=1", "PCMU/8000", 20, 20},
		{"PCMU/8000", NULL, "opus/48000/2", 20, 30},
		{"G722/8000", NULL, "opus/48000/2", 20, 60},
		{"opus/48000/2", NULL, "G722/8000", 60, 20},
		{"PCMA/8000", NULL, "AMR-WB/16000", 20, 40},
		{"AMR/8000", "octet-align=1", "PCMU/8000", 40, 20},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		if (!have_hooks(cases[i].in, cases[i].in_fmtp) || !have_hooks(cases[i].out, NULL))
			continue;
		source src;
		source_init(&src, cases[i].in, cases[i].in_fmtp, cases[i].in_ptime);
		rg_pipeline *p = source_pipe(&src, cases[i].out, cases[i].out_ptime);
		unsigned ps = cases[i].in_ptime * src.rate / 1000;
		size_t n = 50 * ps;
		int16_t *pcm = g_new(int16_t, n);
		sig_chirp(pcm, n, src.rate, 200, 3000, -10);
		/* payloads made beforehand: the source encoder is not what is measured */
		uint8_t(*pl)[4000] = g_malloc(50 * sizeof(*pl));
		size_t *len = g_new(size_t, 50);
		for (size_t k = 0; k < 50; k++)
			len[k] = source_packet(&src, pcm + k * ps, pl[k], sizeof(pl[k]));
		unsigned long before = n_allocs;
		uint32_t ts = 0;
		for (size_t k = 0; k < 50; k++, ts += cases[i].in_ptime * src.t->rate / 1000) {
			if (k % 9 == 4)
				continue; /* loss: PLC or FEC paths too */
			g_assert_cmpint(rg_pipeline_push(p, pl[k], len[k], ts), ==, 0);
			uint8_t out[4000];
			size_t olen;
			uint32_t inc;
			while (rg_pipeline_pull(p, out, sizeof(out), &olen, &inc) == 0)
				;
		}
		g_assert_cmpuint(n_allocs, ==, before);
		rg_pipeline_free(p);
		rg_enc_free(src.enc);
		g_free(pcm);
		g_free(pl);
		g_free(len);
	}
	/* and the counter works */
	unsigned long before = n_allocs;
	rg_pipeline *p = new_pipe("PCMU/8000", "PCMA/8000", 20);
	g_assert_cmpuint(n_allocs, >, before);
	rg_pipeline_free(p);
}

/* ---- gaps the sender makes on purpose: RFC 3389 CN, Opus DTX ---- */

static void pull_all(rg_pipeline *p, sink *k, unsigned *packets, uint64_t *ts_sum, uint32_t *max_inc)
{
	uint8_t out[4000];
	size_t olen;
	uint32_t inc;
	while (rg_pipeline_pull(p, out, sizeof(out), &olen, &inc) == 0) {
		if (k)
			sink_payload(k, out, olen);
		(*packets)++;
		*ts_sum += inc;
		*max_inc = MAX(*max_inc, inc);
	}
}

static void test_cn_fill(void)
{
	/* a G.711 phone: 200 ms of tone, CN at -50 dBov, 500 ms of nothing, tone again */
	rg_pipeline *p = new_pipe("PCMU/8000", "PCMA/8000", 20);
	source src;
	source_init(&src, "PCMU/8000", NULL, 20);
	int16_t pcm[160];
	sink k;
	sink_init(&k, "PCMA/8000", NULL, 8000 * 2, 1);
	unsigned packets = 0;
	uint64_t ts_sum = 0;
	uint32_t max_inc = 0;
	uint8_t pl[400];
	for (int i = 0; i < 10; i++, src.ts += 160) {
		sig_tone(pcm, 160, 8000, 1000, -10);
		size_t len = source_packet(&src, pcm, pl, sizeof(pl));
		g_assert_cmpint(rg_pipeline_push(p, pl, len, src.ts), ==, 0);
		pull_all(p, &k, &packets, &ts_sum, &max_inc);
	}
	uint32_t next;
	g_assert_cmpint(rg_pipeline_next_ts(p, &next), ==, 0);
	g_assert_cmpuint(next, ==, src.ts);
	/* malformed CN: refused, counted */
	uint8_t bad = 0x80;
	g_assert_cmpint(rg_pipeline_push_cn(p, &bad, 1, src.ts), ==, -EINVAL);
	g_assert_cmpint(rg_pipeline_push_cn(p, &bad, 0, src.ts), ==, -EINVAL);
	uint8_t cn[3] = {50, 0x12, 0x34}; /* level and two coefficients we ignore */
	unsigned long allocs = n_allocs;
	g_assert_cmpint(rg_pipeline_push_cn(p, cn, sizeof(cn), src.ts), ==, 0);
	size_t noise_from = k.n;
	for (int i = 0; i < 25; i++) {
		g_assert_cmpint(rg_pipeline_fill(p, 160), ==, 0);
		pull_all(p, &k, &packets, &ts_sum, &max_inc);
	}
	g_assert_cmpuint(n_allocs, ==, allocs);
	size_t noise_to = k.n;
	g_assert_cmpuint(packets, ==, 35); /* one packet per 20 ms filled, no hole */
	g_assert_cmpuint(max_inc, ==, 160);
	double lvl = sig_level_db(k.pcm + noise_from, noise_to - noise_from, 1);
	g_test_message("MEASURE CN level 50: noise at %.1f dBFS", lvl);
	g_assert_cmpfloat(lvl, >, -56);
	g_assert_cmpfloat(lvl, <, -44);
	/* the phone talks again 520 ms after its CN (20 ms later than what was filled) */
	src.ts += 26 * 160;
	sig_tone(pcm, 160, 8000, 1000, -10);
	size_t len = source_packet(&src, pcm, pl, sizeof(pl));
	g_assert_cmpint(rg_pipeline_push(p, pl, len, src.ts), ==, 0);
	pull_all(p, &k, &packets, &ts_sum, &max_inc);
	rg_pipeline_stats st;
	rg_pipeline_get_stats(p, &st);
	g_assert_cmpuint(st.cn_payloads, ==, 1);
	g_assert_cmpuint(st.decode_errors, ==, 2);
	g_assert_cmpuint(st.samples_filled, ==, 25 * 160);
	g_assert_cmpuint(st.samples_concealed, ==, 160); /* the 20 ms not filled */
	g_assert_cmpuint(packets, ==, 37);
	g_assert_cmpuint(ts_sum, ==, 37 * 160); /* the output clock never jumped */
	/* the sender's clock ran slower than ours: its next packet is 10 ms "behind" what was
	   filled; after a fill that is a resync, not a late packet */
	src.ts += 160;
	for (int i = 0; i < 3; i++) {
		g_assert_cmpint(rg_pipeline_fill(p, 160), ==, 0);
		pull_all(p, &k, &packets, &ts_sum, &max_inc);
	}
	g_assert_cmpint(rg_pipeline_push(p, pl, len, src.ts + 2 * 160 - 80), ==, 0);
	pull_all(p, &k, &packets, &ts_sum, &max_inc);
	rg_pipeline_get_stats(p, &st);
	g_assert_cmpuint(st.late, ==, 0);
	g_assert_cmpuint(st.resyncs, ==, 1);
	g_assert_cmpuint(max_inc, ==, 160);
	/* without CN, fill is the decoder's PLC (G.711: fades to silence) */
	size_t from = k.n;
	for (int i = 0; i < 10; i++) {
		g_assert_cmpint(rg_pipeline_fill(p, 160), ==, 0);
		pull_all(p, &k, &packets, &ts_sum, &max_inc);
	}
	g_assert_cmpfloat(sig_level_db(k.pcm + from + 800, k.n - from - 800, 1), <, -60);
	rg_pipeline_free(p);
	rg_enc_free(src.enc);
	sink_free(&k);

	/* nothing to continue before the first payload */
	p = new_pipe("PCMU/8000", "opus/48000/2", 20);
	g_assert_cmpint(rg_pipeline_fill(p, 160), ==, -EAGAIN);
	g_assert_cmpint(rg_pipeline_next_ts(p, &next), ==, -EAGAIN);
	rg_pipeline_free(p);
}

/* A sender switching between its negotiated codecs (RFC 3264 5.1): PCMU, G.722, Opus, PCMU again,
 * each with its own timestamps, into one Opus output. Each segment's tone comes out at its
 * frequency, the output clock never jumps or stalls, and switching allocates nothing. */
static void test_switch_input(void)
{
	static const struct {
		const char *rtpmap;
		double freq;
		unsigned idx;
	} seg[] = { {"PCMU/8000", 600, 0}, {"G722/8000", 1000, 1}, {"opus/48000/2", 1400, 2}, {"PCMU/8000", 800, 0} };
	rg_pipeline *p = new_pipe("PCMU/8000", "opus/48000/2", 20);
	const rg_codec_type *g722, *opus, *te;
	g_assert_cmpint(rg_codec_find_rtpmap(&g722, "G722/8000", NULL), ==, 0);
	g_assert_cmpint(rg_codec_find_rtpmap(&opus, "opus/48000/2", NULL), ==, 0);
	g_assert_cmpint(rg_codec_find_rtpmap(&te, "telephone-event/8000", NULL), ==, 0);
	g_assert_cmpint(rg_pipeline_add_input(p, g722, NULL), ==, 1);
	g_assert_cmpint(rg_pipeline_add_input(p, opus, NULL), ==, 2);
	g_assert_cmpint(rg_pipeline_add_input(p, te, NULL), ==, -ENOTSUP);
	g_assert_cmpint(rg_pipeline_use_input(p, 3), ==, -EINVAL);
	rg_pipeline_info info;
	rg_pipeline_get_info(p, &info);
	g_assert_cmpuint(info.out_pcm_rate, ==, 8000);   /* chosen for the first input */
	g_assert_cmpuint(info.n_inputs, ==, 3);
	g_assert_cmpuint(rg_pipeline_input_rate(p, 0), ==, 8000);
	g_assert_cmpuint(rg_pipeline_input_rate(p, 1), ==, 16000);   /* resampled to the encoder's 8 kHz */
	g_assert_cmpuint(rg_pipeline_input_rate(p, 2), ==, 8000);    /* Opus decodes at 8 kHz directly */
	g_assert_cmpuint(rg_pipeline_input_rate(p, 3), ==, 0);
	sink k;
	sink_init(&k, "opus/48000/2", NULL, 48000 * 2, 1);
	unsigned packets = 0;
	uint64_t ts_sum = 0;
	uint32_t max_inc = 0;
	size_t seg_start[G_N_ELEMENTS(seg) + 1];
	unsigned long allocs = 0;   /* by use_input, push and pull */
	uint32_t ts0[] = { 1000, 0x7ffff000u, 0xfffff000u, 123456 };
	for (size_t s = 0; s < G_N_ELEMENTS(seg); s++) {
		source src;
		source_init(&src, seg[s].rtpmap, NULL, 20);
		src.ts = ts0[s];
		seg_start[s] = k.n;
		unsigned long before = n_allocs;
		g_assert_cmpint(rg_pipeline_use_input(p, seg[s].idx), ==, 0);
		allocs += n_allocs - before;
		rg_pipeline_get_info(p, &info);
		g_assert_cmpuint(info.input, ==, seg[s].idx);
		unsigned fs = src.rate / 50;
		int16_t *pcm = g_new(int16_t, fs * 15);
		sig_tone(pcm, fs * 15, src.rate, seg[s].freq, -10);
		for (int i = 0; i < 15; i++, src.ts += src.t->rate / 50) {
			uint8_t pl[2000];
			size_t len = source_packet(&src, pcm + i * fs, pl, sizeof(pl));
			before = n_allocs;
			g_assert_cmpint(rg_pipeline_push(p, pl, len, src.ts), ==, 0);
			pull_all(p, &k, &packets, &ts_sum, &max_inc);
			allocs += n_allocs - before;
		}
		g_free(pcm);
		rg_enc_free(src.enc);
	}
	seg_start[G_N_ELEMENTS(seg)] = k.n;
	g_assert_cmpuint(allocs, ==, 0);
	g_assert_cmpuint(packets, ==, 60);          /* 20 ms out per 20 ms in, nothing lost */
	g_assert_cmpuint(ts_sum, ==, 60 * 960);     /* no jump at any switch */
	g_assert_cmpuint(max_inc, ==, 960);
	for (size_t s = 0; s < G_N_ELEMENTS(seg); s++) {
		/* 60 ms margins: the codecs' delays and the switch itself */
		size_t a = seg_start[s] + 48000 * 60 / 1000, b = seg_start[s + 1] - 48000 * 20 / 1000;
		double f = sig_zc_freq(k.pcm + a, b - a, 1, 48000);
		double lvl = sig_level_db(k.pcm + a, b - a, 1);
		g_test_message("MEASURE input %s: %.1f Hz (sent %.0f) at %.1f dBFS", seg[s].rtpmap, f, seg[s].freq, lvl);
		g_assert_cmpfloat(fabs(f - seg[s].freq), <, seg[s].freq * 0.03);
		g_assert_cmpfloat(lvl, >, -16);
	}
	rg_pipeline_stats st;
	rg_pipeline_get_stats(p, &st);
	g_assert_cmpuint(st.input_switches, ==, 3);
	g_assert_cmpuint(st.late, ==, 0);
	g_assert_cmpuint(st.resyncs, ==, 0);
	g_assert_cmpuint(st.samples_concealed, ==, 0);
	g_assert_cmpuint(st.decode_errors, ==, 0);
	sink_free(&k);
	rg_pipeline_free(p);

	/* stereo pipelines take one input; at most RG_PIPELINE_MAX_INPUTS */
	const rg_codec_type *ot;
	rg_codec_params ip, op;
	g_assert_cmpint(rg_codec_find_rtpmap(&ot, "opus/48000/2", NULL), ==, 0);
	g_assert_cmpint(rg_codec_params_parse(ot, "sprop-stereo=1", &ip), ==, 0);
	g_assert_cmpint(rg_codec_params_parse(ot, "stereo=1", &op), ==, 0);
	g_assert_cmpint(rg_pipeline_new(&p, ot, &ip, ot, &op, 20), ==, 0);
	g_assert_cmpint(rg_pipeline_add_input(p, g722, NULL), ==, -ENOTSUP);
	rg_pipeline_free(p);
	p = new_pipe("PCMA/8000", "PCMU/8000", 20);
	for (int i = 1; i < RG_PIPELINE_MAX_INPUTS; i++)
		g_assert_cmpint(rg_pipeline_add_input(p, i % 2 ? g722 : opus, NULL), ==, i);
	g_assert_cmpint(rg_pipeline_add_input(p, g722, NULL), ==, -ENOSPC);
	rg_pipeline_free(p);
}

static void test_opus_dtx(void)
{
	/* a WebRTC sender with usedtx=1: 400 ms tone, 1.2 s silence, 400 ms tone; packets the
	   encoder marks as DTX (<= 2 octets) are not sent (RFC 7587 3.1.3); the receiver side
	   (here the test, in the gateway the transcoder's timer) fills 20 ms whenever no packet
	   came for a slot */
	source src;
	source_init(&src, "opus/48000/2", "usedtx=1", 20);
	rg_pipeline *p = source_pipe(&src, "PCMU/8000", 20);
	sink k;
	sink_init(&k, "PCMU/8000", NULL, 8000 * 3, 1);
	unsigned packets = 0, sent = 0, slots = 100;
	uint64_t ts_sum = 0;
	uint32_t max_inc = 0;
	int16_t pcm[960];
	for (unsigned i = 0; i < slots; i++, src.ts += 960) {
		bool talk = i < 20 || i >= 80;
		if (talk)
			sig_tone(pcm, 960, 48000, 440, -10);
		else
			memset(pcm, 0, sizeof(pcm));
		uint8_t pl[1500];
		size_t len = source_packet(&src, pcm, pl, sizeof(pl));
		if (len > 2) {
			g_assert_cmpint(rg_pipeline_push(p, pl, len, src.ts), ==, 0);
			sent++;
		} else {
			g_assert_cmpint(rg_pipeline_fill(p, 960), ==, 0);
		}
		pull_all(p, &k, &packets, &ts_sum, &max_inc);
	}
	rg_pipeline_stats st;
	rg_pipeline_get_stats(p, &st);
	g_test_message("MEASURE opus DTX: %u of %u packets sent, %" G_GUINT64_FORMAT " samples filled, %u out",
		       sent, slots, st.samples_filled, packets);
	g_assert_cmpuint(sent, <, 80);              /* DTX did happen */
	g_assert_cmpuint(st.samples_filled, >=, 20 * 160);
	g_assert_cmpuint(packets, ==, slots);       /* no hole in the output */
	g_assert_cmpuint(max_inc, ==, 160);
	g_assert_cmpuint(st.resyncs + st.late, ==, 0);
	/* the tone after the pause is there, at its frequency */
	g_assert_cmpuint(k.n, ==, slots * 160);
	double f = sig_zc_freq(k.pcm + 85 * 160, 15 * 160, 1, 8000);
	g_assert_cmpfloat(fabs(f - 440), <, 15);
	g_assert_cmpfloat(sig_level_db(k.pcm + 40 * 160, 30 * 160, 1), <, -40);
	rg_pipeline_free(p);
	rg_enc_free(src.enc);
	sink_free(&k);
}

/* AMR and AMR-WB with DTX (TS 26.093/26.193): silence is sent as SID frames, then NO_DATA, which
 * a sender leaves out; filling the missing frames gives the decoder's comfort noise at about the
 * level of the background, not silence, and the output keeps its pace. */
static void test_amr_dtx(void)
{
	static const char *const names[] = {"AMR/8000", "AMR-WB/16000"};
	for (size_t c = 0; c < G_N_ELEMENTS(names); c++) {
		if (!have_hooks(names[c], "octet-align=1"))
			continue;
		source src;
		source_init(&src, names[c], "octet-align=1", 20);
		src.p.amr.dtx = true;
		rg_enc_free(src.enc);
		g_assert_cmpint(rg_enc_new(&src.enc, src.t, &src.p, src.rate, 1), ==, 0);
		rg_pipeline *p = source_pipe(&src, "PCMU/8000", 20);
		sink k;
		sink_init(&k, "PCMU/8000", NULL, 8000 * 4, 1);
		unsigned packets = 0, sent = 0, slots = 150, fs = src.rate / 50;
		uint64_t ts_sum = 0;
		uint32_t max_inc = 0;
		int16_t pcm[640];
		GRand *rnd = g_rand_new_with_seed(7);
		for (unsigned i = 0; i < slots; i++, src.ts += src.t->rate / 50) {
			/* background noise at about -55 dBFS, a 440 Hz tone over it at the start and end */
			for (unsigned j = 0; j < fs; j++) {
				double v = g_rand_double_range(rnd, -100, 100);
				if (i < 25 || i >= 125)
					v += 8000 * sin(2 * M_PI * 440 * (double)(i * fs + j) / src.rate);
				pcm[j] = (int16_t)v;
			}
			uint8_t pl[400];
			size_t len = source_packet(&src, pcm, pl, sizeof(pl));
			/* octet-aligned, one frame: CMR octet, then the ToC with FT in bits 6..3 */
			if (((pl[1] >> 3) & 0x0f) != RG_AMR_FT_NO_DATA) {
				g_assert_cmpint(rg_pipeline_push(p, pl, len, src.ts), ==, 0);
				sent++;
			} else {
				g_assert_cmpint(rg_pipeline_fill(p, src.t->rate / 50), ==, 0);
			}
			pull_all(p, &k, &packets, &ts_sum, &max_inc);
		}
		double noise = sig_level_db(k.pcm + 80 * 160, 40 * 160, 1);
		g_test_message("MEASURE %s DTX: %u of %u frames sent, comfort noise at %.1f dBFS", names[c], sent, slots,
			       noise);
		g_assert_cmpuint(sent, <, 110);          /* DTX did happen */
		g_assert_cmpuint(packets, ==, slots);    /* no hole in the output */
		g_assert_cmpuint(max_inc, ==, 160);
		g_assert_cmpfloat(noise, >, -66);          /* comfort noise, not silence ... */
		g_assert_cmpfloat(noise, <, -46);          /* ... near the background's -55 dBFS */
		double f = sig_zc_freq(k.pcm + 135 * 160, 15 * 160, 1, 8000);
		g_assert_cmpfloat(fabs(f - 440), <, 15);
		g_rand_free(rnd);
		rg_pipeline_free(p);
		rg_enc_free(src.enc);
		sink_free(&k);
	}
}

/* G.729 with Annex B from a phone (bcg729's encoder with VAD): speech frames, a SID when the
 * background settles, then nothing. The payloads as such a phone packs 20 ms (speech frames, a
 * SID only last), the slots with nothing sent filled by the clock: comfort noise near the
 * background, not silence, the output at its pace, the tone back at the end. */
static void test_g729_dtx(void)
{
	rg_pipeline *p;
	const rg_codec_type *it, *ot;
	g_assert_cmpint(rg_codec_find_rtpmap(&it, "G729/8000", NULL), ==, 0);
	g_assert_cmpint(rg_codec_find_rtpmap(&ot, "PCMU/8000", NULL), ==, 0);
	g_assert_cmpint(rg_pipeline_new(&p, it, NULL, ot, NULL, 20), ==, 0);
	bcg729EncoderChannelContextStruct *vad = initBcg729EncoderChannel(1);
	g_assert_nonnull(vad);
	sink k;
	sink_init(&k, "PCMU/8000", NULL, 8000 * 4, 1);
	unsigned packets = 0, slots = 150, speech = 0, sid = 0, unsent = 0, filled = 0;
	uint64_t ts_sum = 0;
	uint32_t max_inc = 0, ts = 1000;
	int16_t pcm[160];
	GRand *rnd = g_rand_new_with_seed(7);
	for (unsigned i = 0; i < slots; i++, ts += 160) {
		/* background at about -55 dBFS, a 440 Hz tone over it at the start and the end */
		for (unsigned j = 0; j < 160; j++) {
			double v = g_rand_double_range(rnd, -100, 100);
			if (i < 25 || i >= 125)
				v += 8000 * sin(2 * M_PI * 440 * (double)(i * 160 + j) / 8000);
			pcm[j] = (int16_t)v;
		}
		uint8_t pl[20];
		size_t len = 0;
		uint32_t pl_ts = ts;
		for (unsigned f = 0; f < 2; f++) {
			uint8_t fr[10], flen = 0;
			bcg729Encoder(vad, pcm + 80 * f, fr, &flen);
			flen == 10 ? speech++ : flen == 2 ? sid++ : unsent++;
			memcpy(pl + len, fr, flen);
			len += flen;
			if (flen != 10) {
				/* a SID is the last frame of its payload; a frame not sent ends what came
				   before it: either way the next payload starts after this frame */
				if (len)
					g_assert_cmpint(rg_pipeline_push(p, pl, len, pl_ts), ==, 0);
				len = 0;
				pl_ts = ts + 80 * (f + 1);
			}
		}
		if (len)
			g_assert_cmpint(rg_pipeline_push(p, pl, len, pl_ts), ==, 0);
		uint32_t next;
		if (rg_pipeline_next_ts(p, &next) == 0 && (int32_t)(ts + 160 - next) > 0) {
			g_assert_cmpint(rg_pipeline_fill(p, ts + 160 - next), ==, 0);   /* the clock fills */
			filled++;
		}
		pull_all(p, &k, &packets, &ts_sum, &max_inc);
	}
	closeBcg729EncoderChannel(vad);
	double noise = sig_level_db(k.pcm + 80 * 160, 40 * 160, 1);
	double f = sig_zc_freq(k.pcm + 135 * 160, 15 * 160, 1, 8000);
	g_test_message("MEASURE G729 annex B: %u speech, %u SID, %u unsent frames, %u slots filled; comfort noise "
		       "at %.1f dBFS, tone after it %.1f Hz, %u packets out",
		       speech, sid, unsent, filled, noise, f, packets);
	g_assert_cmpuint(sid, >, 0);
	g_assert_cmpuint(unsent, >, 100);        /* DTX did happen */
	g_assert_cmpuint(packets, >=, slots - 1); /* no hole in the output */
	g_assert_cmpuint(max_inc, ==, 160);
	g_assert_cmpfloat(noise, >, -70);        /* comfort noise, not silence ... */
	g_assert_cmpfloat(noise, <, -46);        /* ... near the background's -55 dBFS */
	g_assert_cmpfloat(fabs(f - 440), <, 15);
	g_rand_free(rnd);
	rg_pipeline_free(p);
	sink_free(&k);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	rg_codec_init();
	for (unsigned a = 0; a < G_N_ELEMENTS(types); a++)
		for (unsigned b = 0; b < G_N_ELEMENTS(types); b++) {
			gchar *path = g_strdup_printf("/pipeline/pair/%s%s-%s%s", types[a].rtpmap, types[a].fmtp ? "-oa" : "",
						      types[b].rtpmap, types[b].fmtp ? "-oa" : "");
			for (char *s = path + strlen("/pipeline/pair/"); *s; s++)
				if (*s == '/')
					*s = '_';
			g_test_add_data_func(path, GUINT_TO_POINTER(a * G_N_ELEMENTS(types) + b), test_pair);
			g_free(path);
		}
	g_test_add_func("/pipeline/rates", test_rates);
	g_test_add_func("/pipeline/ptime", test_ptime);
	g_test_add_func("/pipeline/loss-plc", test_loss_plc);
	g_test_add_func("/pipeline/loss-fec", test_loss_fec);
	g_test_add_func("/pipeline/timing", test_timing);
	g_test_add_func("/pipeline/errors", test_errors);
	g_test_add_func("/pipeline/push-pcm", test_push_pcm);
	g_test_add_func("/pipeline/stereo", test_stereo);
	g_test_add_func("/pipeline/no-alloc", test_no_alloc);
	g_test_add_func("/pipeline/cn-fill", test_cn_fill);
	g_test_add_func("/pipeline/opus-dtx", test_opus_dtx);
	g_test_add_func("/pipeline/amr-dtx", test_amr_dtx);
	g_test_add_func("/pipeline/g729-dtx", test_g729_dtx);
	g_test_add_func("/pipeline/switch-input", test_switch_input);
	return g_test_run();
}
