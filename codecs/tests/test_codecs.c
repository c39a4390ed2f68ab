/* Codec registry, fmtp parsing, and every type's own test vectors (style.md §7): known answers,
 * frame sizes, and a tone's frequency, level and SNR through encoder + decoder. Plus a chirp per
 * codec, loss concealment, error paths, Opus stereo, and (if espeak-ng is installed) speech. */
#include "rg_codec.h"
#include "signal.h"

#include <bcg729/encoder.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

/* ---- round trip through encoder + decoder ---- */

typedef struct {
	double freq, level_in, level_out, snr, segsnr;
	size_t delay;
	size_t min_len, max_len;
} rt_result;

/* in: n samples (a multiple of the frame); out: room for n + slack. Returns out samples. */
static size_t roundtrip(const rg_codec_type *t, const rg_codec_params *p, unsigned rate, unsigned frame_ms,
			const int16_t *in, size_t n, int16_t *out, size_t out_cap, size_t *min_len, size_t *max_len)
{
	rg_encoder *e = NULL;
	rg_decoder *d = NULL;
	g_assert_cmpint(rg_enc_new(&e, t, p, rate, 1), ==, 0);
	g_assert_cmpint(rg_dec_new(&d, t, p, rate, 1), ==, 0);
	g_assert_cmpuint(rg_enc_rate(e), ==, rate);
	g_assert_cmpuint(rg_dec_rate(d), ==, rate);
	unsigned fs = frame_ms * rate / 1000;
	size_t pos = 0, mn = SIZE_MAX, mx = 0;
	for (size_t o = 0; o + fs <= n; o += fs) {
		uint8_t pkt[RG_ENC_MAX_FRAME];
		size_t len;
		g_assert_cmpint(rg_enc_encode(e, in + o, fs, pkt, sizeof(pkt), &len), ==, 0);
		mn = MIN(mn, len);
		mx = MAX(mx, len);
		unsigned got;
		g_assert_cmpint(rg_dec_decode(d, pkt, len, out + pos, (unsigned)(out_cap - pos), &got), ==, 0);
		pos += got;
	}
	rg_enc_free(e);
	rg_dec_free(d);
	if (min_len)
		*min_len = mn;
	if (max_len)
		*max_len = mx;
	return pos;
}

/* measure out against in: skip the first skip_ms (codec start-up), align by cross-correlation */
static rt_result measure(const int16_t *in, const int16_t *out, size_t n_out, unsigned rate, double tone_hz)
{
	rt_result r = {0};
	size_t skip = rate / 10, max_lag = rate / 25; /* 100 ms, 40 ms */
	g_assert_cmpuint(n_out, >, skip + max_lag + rate / 10);
	size_t n = n_out - skip - max_lag;
	r.delay = sig_find_delay(in + skip, out + skip, n, max_lag);
	r.snr = sig_snr_db(in + skip, out + skip, n, r.delay);
	r.segsnr = sig_segsnr_db(in + skip, out + skip, n, r.delay, rate);
	r.level_in = sig_level_db(in + skip, n, 1);
	r.level_out = sig_level_db(out + skip + r.delay, n, 1);
	r.freq = tone_hz > 0 ? sig_zc_freq(out + skip, n, 1, rate) : 0;
	return r;
}

/* ---- registry ---- */

static void test_registry(void)
{
	const rg_codec_type *t;
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "opus/48000/2", NULL), ==, 0);
	g_assert_cmpstr(t->name, ==, "opus");
	g_assert_cmpuint(t->pcm_rate, ==, 0);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "OPUS/48000", NULL), ==, 0);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "opus/48000/1", NULL), ==, -ENOENT);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "pcmu/8000", NULL), ==, 0);
	g_assert_cmpstr(t->name, ==, "PCMU");
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "PCMA/8000/1", NULL), ==, 0);
	g_assert_cmpstr(t->name, ==, "PCMA");
	/* RFC 3551 §4.5.2: G722/8000 samples at 16000 */
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "G722/8000", NULL), ==, 0);
	g_assert_cmpuint(t->pcm_rate, ==, 16000);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "G722/16000", NULL), ==, -ENOENT);
	/* AMR: two entries, selected by the fmtp (RFC 4867 §8.3: octet-align absent = BE) */
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "AMR/8000", NULL), ==, 0);
	g_assert_false(t->flags & RG_CODEC_F_OCTET_ALIGN);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "AMR/8000", "mode-set=7; octet-align=0"), ==, 0);
	g_assert_false(t->flags & RG_CODEC_F_OCTET_ALIGN);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "amr/8000", "octet-align=1;mode-change-period=2"), ==, 0);
	g_assert_true(t->flags & RG_CODEC_F_OCTET_ALIGN);
	g_assert_false(t->flags & RG_CODEC_F_WIDEBAND);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "AMR-WB/16000", "octet-align=1"), ==, 0);
	g_assert_true(t->flags & RG_CODEC_F_OCTET_ALIGN);
	g_assert_true(t->flags & RG_CODEC_F_WIDEBAND);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "AMR-WB/16000/1", NULL), ==, 0);
	g_assert_false(t->flags & RG_CODEC_F_OCTET_ALIGN);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "telephone-event/8000", "0-15"), ==, 0);
	g_assert_true(t->flags & RG_CODEC_F_EVENT);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "telephone-event/48000", NULL), ==, 0);
	g_assert_cmpint(rg_codec_find(&t, "telephone-event", 16000, 0, NULL), ==, 0);
	/* no encoder for events */
	rg_encoder *e;
	g_assert_cmpint(rg_enc_new(&e, t, NULL, 0, 0), ==, -ENOTSUP);

	g_assert_cmpint(rg_codec_find_rtpmap(&t, "GSM/8000", NULL), ==, -ENOENT);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "PCMU", NULL), ==, -EINVAL);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "PCMU/", NULL), ==, -EINVAL);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "PCMU/8000/", NULL), ==, -EINVAL);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "/8000", NULL), ==, -EINVAL);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "PCMU/8k", NULL), ==, -EINVAL);

	/* iterate; registering the same pointer twice is refused */
	unsigned n = 0;
	while (rg_codec_nth(&t, n) == 0)
		n++;
	g_assert_cmpuint(n, >=, 12);
	g_assert_cmpint(rg_codec_nth(&t, 0), ==, 0);
	g_assert_cmpint(rg_codec_register(t), ==, -EEXIST);

	/* frame durations */
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "opus/48000/2", NULL), ==, 0);
	g_assert_cmpuint(rg_codec_frame_ms(t, 20), ==, 20);
	g_assert_cmpuint(rg_codec_frame_ms(t, 30), ==, 10);
	g_assert_cmpuint(rg_codec_frame_ms(t, 120), ==, 60);
	g_assert_cmpuint(rg_codec_frame_ms(t, 25), ==, 0);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "AMR/8000", NULL), ==, 0);
	g_assert_cmpuint(rg_codec_frame_ms(t, 60), ==, 20);
	g_assert_cmpuint(rg_codec_frame_ms(t, 30), ==, 0);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "PCMA/8000", NULL), ==, 0);
	g_assert_cmpuint(rg_codec_frame_ms(t, 30), ==, 30);

	/* storage frame sizes (RFC 4867 §5.3 with TS 26.101/26.201 bit counts) */
	g_assert_cmpint(rg_amr_frame_len(false, 7), ==, 32);
	g_assert_cmpint(rg_amr_frame_len(false, 0), ==, 13);
	g_assert_cmpint(rg_amr_frame_len(false, 8), ==, 6);
	g_assert_cmpint(rg_amr_frame_len(false, 15), ==, 1);
	g_assert_cmpint(rg_amr_frame_len(false, 9), ==, -EINVAL);
	g_assert_cmpint(rg_amr_frame_len(false, 14), ==, -EINVAL);
	g_assert_cmpint(rg_amr_frame_len(true, 8), ==, 61);
	g_assert_cmpint(rg_amr_frame_len(true, 0), ==, 18);
	g_assert_cmpint(rg_amr_frame_len(true, 9), ==, 6);
	g_assert_cmpint(rg_amr_frame_len(true, 14), ==, 1);
	g_assert_cmpint(rg_amr_frame_len(true, 10), ==, -EINVAL);
	g_assert_cmpuint(rg_amr_mode_bitrate(false, 7), ==, 12200);
	g_assert_cmpuint(rg_amr_mode_bitrate(true, 8), ==, 23850);
	g_assert_cmpuint(rg_amr_mode_bitrate(true, 9), ==, 0);
}

/* ---- fmtp ---- */

static void test_fmtp(void)
{
	const rg_codec_type *t;
	rg_codec_params p;
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "opus/48000/2", NULL), ==, 0);
	g_assert_cmpint(rg_codec_params_parse(t, NULL, &p), ==, 0);
	g_assert_cmpuint(p.opus.maxplaybackrate, ==, 48000);
	g_assert_false(p.opus.useinbandfec);
	g_assert_cmpint(p.opus.complexity, ==, -1);
	g_assert_cmpint(rg_codec_params_parse(t,
					      " minptime=10; useinbandfec=1;maxaveragebitrate=20000; "
					      "maxplaybackrate=16000;stereo=1;sprop-stereo=0;usedtx=1;cbr=1;"
					      "sprop-maxcapturerate=8000;ptime=40;x-unknown=7;flag",
					      &p),
			==, 0);
	g_assert_cmpuint(p.minptime, ==, 10);
	g_assert_true(p.opus.useinbandfec);
	g_assert_cmpuint(p.opus.maxaveragebitrate, ==, 20000);
	g_assert_cmpuint(p.opus.maxplaybackrate, ==, 16000);
	g_assert_true(p.opus.stereo);
	g_assert_false(p.opus.sprop_stereo);
	g_assert_true(p.opus.usedtx);
	g_assert_true(p.opus.cbr);
	g_assert_cmpuint(p.opus.sprop_maxcapturerate, ==, 8000);
	g_assert_cmpuint(p.ptime, ==, 40);
	/* RFC 7587 §7: out-of-range values are errors, out-params untouched */
	rg_codec_params q = p;
	g_assert_cmpint(rg_codec_params_parse(t, "maxplaybackrate=96000", &q), ==, -EINVAL);
	g_assert_cmpint(rg_codec_params_parse(t, "useinbandfec=2", &q), ==, -EINVAL);
	g_assert_cmpint(rg_codec_params_parse(t, "maxaveragebitrate=", &q), ==, -EINVAL);
	g_assert_cmpint(rg_codec_params_parse(t, "stereo=yes", &q), ==, -EINVAL);
	g_assert_cmpmem(&q, sizeof(q), &p, sizeof(p));

	g_assert_cmpint(rg_codec_find_rtpmap(&t, "AMR/8000", NULL), ==, 0);
	g_assert_cmpint(rg_codec_params_parse(t, "mode-set=0,2,5,7; mode-change-period=2; "
						 "mode-change-capability=2;mode-change-neighbor=1; max-red=220",
					      &p),
			==, 0);
	g_assert_cmphex(p.amr.mode_set, ==, 0xa5);
	g_assert_cmpuint(p.amr.mode_change_period, ==, 2);
	g_assert_cmpuint(p.amr.mode_change_capability, ==, 2);
	g_assert_true(p.amr.mode_change_neighbor);
	g_assert_cmpuint(p.amr.max_red, ==, 220);
	g_assert_false(p.amr.octet_align);
	g_assert_cmpint(p.amr.mode, ==, -1);
	g_assert_cmpuint(p.amr.cmr, ==, 15);
	g_assert_cmpint(rg_codec_params_parse(t, "mode-set=8", &p), ==, -EINVAL); /* AMR: 0..7 */
	g_assert_cmpint(rg_codec_params_parse(t, "mode-change-period=3", &p), ==, -EINVAL);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "AMR-WB/16000", NULL), ==, 0);
	g_assert_cmpint(rg_codec_params_parse(t, "mode-set=8", &p), ==, 0);
	g_assert_cmphex(p.amr.mode_set, ==, 0x100);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "AMR-WB/16000", "octet-align=1"), ==, 0);
	g_assert_cmpint(rg_codec_params_parse(t, "octet-align=1; crc=1", &p), ==, 0);
	g_assert_true(p.amr.octet_align);
	g_assert_true(p.amr.crc);

	g_assert_cmpint(rg_codec_find_rtpmap(&t, "telephone-event/8000", NULL), ==, 0);
	g_assert_cmpint(rg_codec_params_parse(t, NULL, &p), ==, 0);
	g_assert_cmphex(p.event.events[0], ==, 0xffff);
	g_assert_cmpint(rg_codec_params_parse(t, "0-11,16, 66", &p), ==, 0);
	g_assert_cmphex(p.event.events[0], ==, 0x10fff);
	g_assert_cmphex(p.event.events[2], ==, 0x4);
	g_assert_cmpint(rg_codec_params_parse(t, "0-300", &p), ==, -EINVAL);
	g_assert_cmpint(rg_codec_params_parse(t, "11-3", &p), ==, -EINVAL);

	g_assert_cmpint(rg_codec_find_rtpmap(&t, "PCMU/8000", NULL), ==, 0);
	g_assert_cmpint(rg_codec_params_parse(t, "ptime=30; annexb=no", &p), ==, 0);
	g_assert_cmpuint(p.ptime, ==, 30);
}

/* ---- every type's vectors ---- */

static void run_vector(const rg_codec_type *t, const rg_codec_test_vector *v)
{
	rg_codec_params p;
	rg_codec_params_default(t, &p);
	p.amr.mode = v->amr_mode;
	p.opus.bitrate = v->opus_bitrate;
	unsigned rate = v->pcm_rate;

	/* known answers */
	if (v->kat_samples) {
		rg_encoder *e;
		rg_decoder *d;
		g_assert_cmpint(rg_enc_new(&e, t, &p, rate, 1), ==, 0);
		g_assert_cmpint(rg_dec_new(&d, t, &p, rate, 1), ==, 0);
		uint8_t enc[64];
		size_t len;
		g_assert_cmpint(rg_enc_encode(e, v->kat_pcm, v->kat_samples, enc, sizeof(enc), &len), ==, 0);
		g_assert_cmpmem(enc, len, v->kat_enc, v->kat_enc_len);
		int16_t dec[64];
		unsigned got;
		g_assert_cmpint(rg_dec_decode(d, v->kat_enc, v->kat_enc_len, dec, 64, &got), ==, 0);
		g_assert_cmpmem(dec, got * sizeof(int16_t), v->kat_dec, v->kat_samples * sizeof(int16_t));
		rg_enc_free(e);
		rg_dec_free(d);
	}

	/* tone quality */
	size_t n = rate; /* 1 s */
	int16_t *in = g_new(int16_t, n), *out = g_new0(int16_t, n + rate);
	sig_tone(in, n, rate, v->tone_hz, -10);
	size_t mn, mx;
	size_t got = roundtrip(t, &p, rate, v->frame_ms, in, n, out, n + rate, &mn, &mx);
	g_assert_cmpuint(got, ==, n);
	if (v->frame_len) {
		g_assert_cmpuint(mn, ==, v->frame_len);
		g_assert_cmpuint(mx, ==, v->frame_len);
	}
	rt_result r = measure(in, out, got, rate, v->tone_hz);
	double snr = v->segmental ? r.segsnr : r.snr;
	g_test_message("MEASURE %-40s rate %5u frame %4zu..%-4zu delay %3zu freq %7.1f level %+.1f dB SNR %.1f dB "
		       "segSNR %.1f dB (min %.0f%s)",
		       v->desc, rate, mn, mx, r.delay, r.freq, r.level_out - r.level_in, r.snr, r.segsnr, v->min_snr_db,
		       v->segmental ? " seg" : "");
	g_assert_cmpfloat(fabs(r.freq - v->tone_hz), <, v->tone_hz * 0.02);
	g_assert_cmpfloat(fabs(r.level_out - r.level_in), <, 3.0);
	g_assert_cmpfloat(snr, >=, v->min_snr_db);
	g_free(in);
	g_free(out);
}

static void test_vectors(gconstpointer data)
{
	const rg_codec_type *t = data;
	for (const rg_codec_test_vector *v = t->test_vectors; v && v->desc; v++)
		run_vector(t, v);
}

/* ---- chirp per codec: whole-band behaviour, thresholds in README ---- */

typedef struct {
	const char *rtpmap;
	unsigned rate;
	unsigned frame_ms;
	double f1;
	double min_snr; /* whole-signal SNR, or segmental for CELP */
	bool segmental;
	unsigned opus_bitrate;
	int opus_complexity;
} chirp_case;

static const chirp_case chirps[] = {
	/* thresholds: the measured value (README) minus a margin */
	{"PCMU/8000", 8000, 20, 3400, 33, false, 0, -1},
	{"PCMA/8000", 8000, 20, 3400, 33, false, 0, -1},
	{"G722/8000", 16000, 20, 7000, 22, false, 0, -1},
	{"opus/48000/2", 8000, 20, 3400, 15, false, 24000, 5},
	{"opus/48000/2", 8000, 20, 3400, 15, false, 24000, 10},
	{"opus/48000/2", 16000, 20, 7000, 20, false, 32000, -1},
	{"opus/48000/2", 48000, 20, 7000, 5, false, 48000, -1},
	{"AMR/8000", 8000, 20, 3400, 12, true, 0, -1},
	{"AMR-WB/16000", 16000, 20, 7000, 8, true, 0, -1},
	{"G729/8000", 8000, 20, 3400, 9, true, 0, -1},
};

static void test_chirp(gconstpointer data)
{
	const chirp_case *c = data;
	const rg_codec_type *t;
	g_assert_cmpint(rg_codec_find_rtpmap(&t, c->rtpmap, NULL), ==, 0);
	rg_codec_params p;
	rg_codec_params_default(t, &p);
	p.opus.bitrate = c->opus_bitrate;
	p.opus.complexity = c->opus_complexity;
	size_t n = c->rate * 2;
	int16_t *in = g_new(int16_t, n), *out = g_new0(int16_t, n + c->rate);
	sig_chirp(in, n, c->rate, 200, c->f1, -12);
	size_t got = roundtrip(t, &p, c->rate, c->frame_ms, in, n, out, n + c->rate, NULL, NULL);
	rt_result r = measure(in, out, got, c->rate, 0);
	g_test_message("MEASURE chirp %-14s rate %5u 200..%4.0f Hz complexity %2d delay %3zu level %+.1f dB SNR %.1f dB "
		       "segSNR %.1f dB (min %.0f%s)",
		       c->rtpmap, c->rate, c->f1, c->opus_complexity, r.delay, r.level_out - r.level_in, r.snr,
		       r.segsnr, c->min_snr, c->segmental ? " seg" : "");
	g_assert_cmpfloat(c->segmental ? r.segsnr : r.snr, >=, c->min_snr);
	g_free(in);
	g_free(out);
}

/* ---- loss concealment ---- */

static void test_conceal(void)
{
	static const struct {
		const char *rtpmap;
		unsigned rate;
	} cases[] = {{"PCMU/8000", 8000}, {"PCMA/8000", 8000}, {"G722/8000", 16000}, {"opus/48000/2", 8000},
		     {"opus/48000/2", 48000}, {"AMR/8000", 8000}, {"AMR-WB/16000", 16000}, {"G729/8000", 8000}};
	for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
		const rg_codec_type *t;
		g_assert_cmpint(rg_codec_find_rtpmap(&t, cases[c].rtpmap, NULL), ==, 0);
		unsigned rate = cases[c].rate, fs = rate / 50;
		rg_encoder *e;
		rg_decoder *d;
		g_assert_cmpint(rg_enc_new(&e, t, NULL, rate, 1), ==, 0);
		g_assert_cmpint(rg_dec_new(&d, t, NULL, rate, 1), ==, 0);
		int16_t in[960], out[960 * 4];
		sig_tone(in, fs, rate, 400, -10); /* 400 Hz: whole periods in 20 ms */
		uint8_t pkt[RG_ENC_MAX_FRAME];
		size_t len;
		unsigned got;
		for (int i = 0; i < 10; i++) {
			g_assert_cmpint(rg_enc_encode(e, in, fs, pkt, sizeof(pkt), &len), ==, 0);
			g_assert_cmpint(rg_dec_decode(d, pkt, len, out, 960 * 4, &got), ==, 0);
			g_assert_cmpuint(got, ==, fs);
		}
		/* 40 ms lost */
		g_assert_cmpint(rg_dec_conceal(d, 2 * fs, out, 960 * 4, &got), ==, 0);
		g_assert_cmpuint(got, ==, 2 * fs);
		double lvl = sig_level_db(out, fs, 1);
		g_test_message("MEASURE conceal %-14s rate %5u first 20 ms of PLC at %.1f dB (tone at -10)", cases[c].rtpmap,
			       rate, lvl);
		g_assert_cmpfloat(lvl, >, -30); /* continues the signal, not silence */
		/* less than the concealment unit: nothing, no error */
		g_assert_cmpint(rg_dec_conceal(d, 1, out, 960 * 4, &got), ==, 0);
		g_assert_cmpuint(got, <=, 1);
		/* FEC: Opus only */
		g_assert_cmpint(rg_enc_encode(e, in, fs, pkt, sizeof(pkt), &len), ==, 0);
		int err = rg_dec_decode_fec(d, pkt, len, fs, out, 960 * 4, &got);
		if (t->flags & RG_CODEC_F_OPUS) {
			g_assert_true(rg_dec_has_fec(d));
			g_assert_cmpint(err, ==, 0);
			g_assert_cmpuint(got, ==, fs);
		} else {
			g_assert_false(rg_dec_has_fec(d));
			g_assert_cmpint(err, ==, -ENOTSUP);
		}
		g_assert_cmpint(rg_dec_decode(d, pkt, len, out, 960 * 4, &got), ==, 0);
		rg_enc_free(e);
		rg_dec_free(d);
	}
}

/* Opus in-band FEC really rebuilds a lost frame from the next packet (RFC 6716 §2.1.7) */
static void test_opus_fec(void)
{
	const rg_codec_type *t;
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "opus/48000/2", NULL), ==, 0);
	rg_codec_params p;
	rg_codec_params_default(t, &p);
	p.opus.useinbandfec = true;
	p.opus.packet_loss_perc = 20;
	unsigned rate = 16000, fs = 320;
	size_t n = rate * 2;
	int16_t *in = g_new(int16_t, n), *fec = g_new0(int16_t, n + fs), *plc = g_new0(int16_t, n + fs);
	sig_chirp(in, n, rate, 300, 1500, -12);
	rg_encoder *e;
	rg_decoder *d1, *d2;
	g_assert_cmpint(rg_enc_new(&e, t, &p, rate, 1), ==, 0);
	g_assert_cmpint(rg_dec_new(&d1, t, &p, rate, 1), ==, 0);
	g_assert_cmpint(rg_dec_new(&d2, t, &p, rate, 1), ==, 0);
	size_t pos = 0;
	for (size_t o = 0, k = 0; o + fs <= n; o += fs, k++) {
		uint8_t pkt[1500];
		size_t len;
		unsigned got;
		g_assert_cmpint(rg_enc_encode(e, in + o, fs, pkt, sizeof(pkt), &len), ==, 0);
		if (k % 10 == 5)
			continue; /* lost: recovered when the next one arrives */
		if (k % 10 == 6) {
			g_assert_cmpint(rg_dec_decode_fec(d1, pkt, len, fs, fec + pos, fs, &got), ==, 0);
			g_assert_cmpuint(got, ==, fs);
			g_assert_cmpint(rg_dec_conceal(d2, fs, plc + pos, fs, &got), ==, 0);
			g_assert_cmpuint(got, ==, fs);
			pos += fs;
		}
		g_assert_cmpint(rg_dec_decode(d1, pkt, len, fec + pos, fs, &got), ==, 0);
		g_assert_cmpint(rg_dec_decode(d2, pkt, len, plc + pos, fs, &got), ==, 0);
		pos += fs;
	}
	size_t skip = rate / 10, lag = rate / 25, m = pos - skip - lag;
	size_t dl = sig_find_delay(in + skip, fec + skip, m, lag);
	double s_fec = sig_snr_db(in + skip, fec + skip, m, dl);
	double s_plc = sig_snr_db(in + skip, plc + skip, m, dl);
	g_test_message("MEASURE opus 16 kHz 10%% loss: SNR with FEC %.1f dB, with PLC only %.1f dB", s_fec, s_plc);
	g_assert_cmpfloat(s_fec, >, s_plc + 1.0);
	rg_enc_free(e);
	rg_dec_free(d1);
	rg_dec_free(d2);
	g_free(in);
	g_free(fec);
	g_free(plc);
}

/* ---- errors and edges ---- */

static void test_errors(void)
{
	const rg_codec_type *t;
	rg_encoder *e;
	rg_decoder *d;
	uint8_t buf[RG_ENC_MAX_FRAME];
	int16_t pcm[2000] = {0};
	size_t len;
	unsigned got;

	/* fixed-rate codecs do not resample */
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "PCMU/8000", NULL), ==, 0);
	g_assert_cmpint(rg_enc_new(&e, t, NULL, 16000, 1), ==, -EINVAL);
	g_assert_cmpint(rg_enc_new(&e, t, NULL, 8000, 2), ==, -EINVAL);
	g_assert_cmpint(rg_enc_new(&e, t, NULL, 0, 0), ==, 0);
	g_assert_cmpuint(rg_enc_rate(e), ==, 8000);
	g_assert_true(rg_enc_type(e) == t);
	g_assert_cmpint(rg_enc_encode(e, pcm, 160, buf, 159, &len), ==, -ENOBUFS);
	g_assert_cmpint(rg_enc_set_bitrate(e, 64000), ==, -ENOTSUP);
	rg_enc_free(e);
	g_assert_cmpint(rg_dec_new(&d, t, NULL, 8000, 1), ==, 0);
	g_assert_cmpint(rg_dec_decode(d, buf, 161, pcm, 160, &got), ==, -ENOBUFS);
	g_assert_cmpint(rg_dec_decode(d, buf, 0, pcm, 160, &got), ==, -EINVAL);
	g_assert_cmpint(rg_dec_conceal(d, 161, pcm, 160, &got), ==, -ENOBUFS);
	rg_dec_free(d);

	g_assert_cmpint(rg_codec_find_rtpmap(&t, "G722/8000", NULL), ==, 0);
	g_assert_cmpint(rg_enc_new(&e, t, NULL, 8000, 1), ==, -EINVAL);
	g_assert_cmpint(rg_enc_new(&e, t, NULL, 0, 1), ==, 0);
	g_assert_cmpuint(rg_enc_rate(e), ==, 16000);
	g_assert_cmpint(rg_enc_encode(e, pcm, 321, buf, sizeof(buf), &len), ==, -EINVAL); /* odd */
	g_assert_cmpint(rg_enc_encode(e, pcm, 320, buf, sizeof(buf), &len), ==, 0);
	g_assert_cmpuint(len, ==, 160);
	rg_enc_free(e);

	/* Opus: frame durations, rates */
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "opus/48000/2", NULL), ==, 0);
	g_assert_cmpint(rg_enc_new(&e, t, NULL, 44100, 1), ==, -EINVAL);
	g_assert_cmpint(rg_enc_new(&e, t, NULL, 8000, 3), ==, -EINVAL);
	rg_codec_params p;
	rg_codec_params_default(t, &p);
	p.opus.complexity = 11;
	g_assert_cmpint(rg_enc_new(&e, t, &p, 8000, 1), ==, -EINVAL);
	g_assert_cmpint(rg_enc_new(&e, t, NULL, 8000, 1), ==, 0);
	g_assert_cmpint(rg_enc_encode(e, pcm, 100, buf, sizeof(buf), &len), ==, -EINVAL);
	g_assert_cmpint(rg_enc_encode(e, pcm, 240, buf, sizeof(buf), &len), ==, -EINVAL); /* 30 ms */
	for (unsigned s = 20; s <= 320; s *= 2) /* 2.5, 5, 10, 20, 40 ms at 8 kHz */
		g_assert_cmpint(rg_enc_encode(e, pcm, s, buf, sizeof(buf), &len), ==, 0);
	g_assert_cmpint(rg_enc_encode(e, pcm, 480, buf, sizeof(buf), &len), ==, 0); /* 60 ms */
	g_assert_cmpint(rg_enc_set_bitrate(e, 12000), ==, 0);
	g_assert_cmpint(rg_enc_set_bitrate(e, 1000), ==, -EINVAL);
	rg_enc_free(e);
	g_assert_cmpint(rg_dec_new(&d, t, NULL, 8000, 1), ==, 0);
	static const uint8_t bad[] = {0xff, 0xff}; /* code 3, 63 frames: > 120 ms, invalid */
	g_assert_cmpint(rg_dec_decode(d, bad, sizeof(bad), pcm, 2000, &got), ==, -EINVAL);
	rg_dec_free(d);

	/* AMR */
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "AMR/8000", NULL), ==, 0);
	rg_codec_params_default(t, &p);
	p.amr.mode_set = 0x05; /* 4.75 and 5.90 only */
	p.amr.mode = 7;
	g_assert_cmpint(rg_enc_new(&e, t, &p, 8000, 1), ==, -EINVAL);
	p.amr.mode = -1;
	g_assert_cmpint(rg_enc_new(&e, t, &p, 8000, 1), ==, 0);
	g_assert_cmpint(rg_enc_encode(e, pcm, 320, buf, sizeof(buf), &len), ==, -EINVAL);
	g_assert_cmpint(rg_enc_encode(e, pcm, 160, buf, sizeof(buf), &len), ==, 0);
	g_assert_cmpuint(len, ==, 16); /* highest of the set: 5.90 */
	g_assert_cmphex(buf[0], ==, (2 << 3) | 0x04);
	g_assert_cmpint(rg_enc_encode(e, pcm, 160, buf, 10, &len), ==, -ENOBUFS);
	g_assert_cmpint(rg_enc_set_bitrate(e, 5000), ==, 0); /* -> 4.75 */
	g_assert_cmpint(rg_enc_encode(e, pcm, 160, buf, sizeof(buf), &len), ==, 0);
	g_assert_cmpuint(len, ==, 13);
	g_assert_cmpint(rg_enc_set_bitrate(e, 100000), ==, 0); /* -> 5.90, never outside the set */
	g_assert_cmpint(rg_enc_encode(e, pcm, 160, buf, sizeof(buf), &len), ==, 0);
	g_assert_cmpuint(len, ==, 16);
	rg_enc_free(e);
	g_assert_cmpint(rg_dec_new(&d, t, NULL, 8000, 1), ==, 0);
	uint8_t f[64] = {(7 << 3) | 0x04};
	g_assert_cmpint(rg_dec_decode(d, f, 31, pcm, 160, &got), ==, -EINVAL); /* truncated 12.2 */
	g_assert_cmpint(rg_dec_decode(d, f, 32, pcm, 159, &got), ==, -ENOBUFS);
	g_assert_cmpint(rg_dec_decode(d, f, 32, pcm, 160, &got), ==, 0);
	g_assert_cmpuint(got, ==, 160);
	f[0] = (9 << 3) | 0x04; /* reserved FT for RFC 4867 */
	g_assert_cmpint(rg_dec_decode(d, f, 32, pcm, 160, &got), ==, -EINVAL);
	f[0] = (7 << 3) | 0x04 | 0x80; /* P bit set */
	g_assert_cmpint(rg_dec_decode(d, f, 32, pcm, 160, &got), ==, -EINVAL);
	f[0] = (15 << 3) | 0x04; /* NO_DATA */
	g_assert_cmpint(rg_dec_decode(d, f, 1, pcm, 160, &got), ==, 0);
	f[0] = (7 << 3); /* Q = 0: damaged, concealed */
	g_assert_cmpint(rg_dec_decode(d, f, 32, pcm, 160, &got), ==, 0);
	rg_dec_free(d);
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "AMR-WB/16000", NULL), ==, 0);
	g_assert_cmpint(rg_dec_new(&d, t, NULL, 16000, 1), ==, 0);
	f[0] = (8 << 3) | 0x04;
	g_assert_cmpint(rg_dec_decode(d, f, 60, pcm, 320, &got), ==, -EINVAL);
	g_assert_cmpint(rg_dec_decode(d, f, 61, pcm, 320, &got), ==, 0);
	f[0] = (14 << 3) | 0x04; /* SPEECH_LOST */
	g_assert_cmpint(rg_dec_decode(d, f, 1, pcm, 320, &got), ==, 0);
	rg_dec_free(d);
	g_assert_cmpint(rg_enc_new(&e, t, NULL, 8000, 1), ==, -EINVAL);
}

/* Opus stereo: left and right keep their own tones */
static void test_opus_stereo(void)
{
	const rg_codec_type *t;
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "opus/48000/2", "stereo=1"), ==, 0);
	rg_codec_params p;
	g_assert_cmpint(rg_codec_params_parse(t, "stereo=1; sprop-stereo=1", &p), ==, 0);
	rg_encoder *e;
	rg_decoder *d;
	g_assert_cmpint(rg_enc_new(&e, t, &p, 48000, 2), ==, 0);
	g_assert_cmpint(rg_dec_new(&d, t, &p, 48000, 2), ==, 0);
	g_assert_cmpuint(rg_enc_channels(e), ==, 2);
	g_assert_cmpuint(rg_dec_channels(d), ==, 2);
	size_t n = 48000, fs = 960;
	int16_t *in = g_new(int16_t, 2 * n), *out = g_new0(int16_t, 2 * n);
	sig_tone_stereo(in, n, 48000, 440, 1000, -10);
	size_t pos = 0;
	for (size_t o = 0; o + fs <= n; o += fs) {
		uint8_t pkt[1500];
		size_t len;
		unsigned got;
		g_assert_cmpint(rg_enc_encode(e, in + 2 * o, (unsigned)fs, pkt, sizeof(pkt), &len), ==, 0);
		g_assert_true(pkt[0] & 0x04); /* TOC s bit: stereo (RFC 6716 §3.1) */
		g_assert_cmpint(rg_dec_decode(d, pkt, len, out + 2 * pos, (unsigned)(n - pos), &got), ==, 0);
		pos += got;
	}
	double fl = sig_zc_freq(out + 2 * 4800, n - 9600, 2, 48000);
	double fr = sig_zc_freq(out + 2 * 4800 + 1, n - 9600, 2, 48000);
	g_test_message("MEASURE opus stereo 48 kHz: left %.1f Hz right %.1f Hz", fl, fr);
	g_assert_cmpfloat(fabs(fl - 440), <, 440 * 0.02);
	g_assert_cmpfloat(fabs(fr - 1000), <, 1000 * 0.02);
	rg_enc_free(e);
	rg_dec_free(d);
	g_free(in);
	g_free(out);
}

/* ---- speech (optional: espeak-ng) ---- */

static void test_speech(void)
{
	gchar *espeak = g_find_program_in_path("espeak-ng");
	if (!espeak) {
		g_test_skip("espeak-ng not installed");
		return;
	}
	gchar *dir = g_dir_make_tmp("rgcodec-XXXXXX", NULL);
	g_assert_nonnull(dir);
	gchar *wav = g_build_filename(dir, "speech.wav", NULL);
	gchar *argv[] = {espeak, "-w", wav, "-s", "150",
			 "The quick brown fox jumps over the lazy dog. Transcoding keeps speech intelligible.", NULL};
	gint status = -1;
	gboolean ok = g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
				   NULL, NULL, &status, NULL);
	int16_t *raw = NULL;
	size_t nraw = 0;
	unsigned wrate = 0;
	if (!ok || status != 0 || sig_read_wav(wav, &raw, &nraw, &wrate) != 0 || nraw < wrate) {
		g_test_skip("espeak-ng did not produce a WAV");
		goto out;
	}
	static const struct {
		const char *rtpmap;
		unsigned rate;
		double min_seg;
	} cases[] = {{"PCMU/8000", 8000, 15}, {"PCMA/8000", 8000, 15}, {"G722/8000", 16000, 8},
		     {"opus/48000/2", 8000, 0}, {"opus/48000/2", 16000, 0}, {"AMR/8000", 8000, 0},
		     {"AMR-WB/16000", 16000, 0}};
	for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
		const rg_codec_type *t;
		g_assert_cmpint(rg_codec_find_rtpmap(&t, cases[c].rtpmap, NULL), ==, 0);
		unsigned rate = cases[c].rate;
		size_t n;
		int16_t *in = sig_resample_linear(raw, nraw, wrate, rate, &n);
		n -= n % (rate / 50);
		int16_t *out = g_new0(int16_t, n + rate);
		size_t got = roundtrip(t, NULL, rate, 20, in, n, out, n + rate, NULL, NULL);
		size_t skip = rate / 10, lag = rate / 25, m = got - skip - lag;
		size_t dl = sig_find_delay(in + skip, out + skip, m, lag);
		double seg = sig_segsnr_db(in + skip, out + skip, m, dl, rate);
		double lv = sig_level_db(out + skip + dl, m, 1) - sig_level_db(in + skip, m, 1);
		g_test_message("MEASURE speech %-14s rate %5u delay %3zu level %+.1f dB segSNR %.1f dB", cases[c].rtpmap,
			       rate, dl, lv, seg);
		g_assert_true(isfinite(seg));
		g_assert_cmpfloat(seg, >, cases[c].min_seg);
		g_assert_cmpfloat(fabs(lv), <, 6);
		g_free(in);
		g_free(out);
	}
out:
	g_free(raw);
	g_remove(wav);
	g_rmdir(dir);
	g_free(wav);
	g_free(dir);
	g_free(espeak);
}

/* G.729 payloads as an Annex B (VAD/DTX) sender makes them: speech frames, then a 2-octet SID
 * after them, then nothing until the noise changes or speech resumes. Decoded: the tone during
 * speech, comfort noise (quiet, not silent) during the silence, both from the SID and from
 * concealment of the frames never sent; wrong lengths refused. */
static void test_g729_annexb(void)
{
	const rg_codec_type *t;
	g_assert_cmpint(rg_codec_find_rtpmap(&t, "G729/8000", NULL), ==, 0);
	rg_decoder *d;
	g_assert_cmpint(rg_dec_new(&d, t, NULL, 0, 0), ==, 0);
	bcg729EncoderChannelContextStruct *vad = initBcg729EncoderChannel(1);
	g_assert_nonnull(vad);
	/* 1 s of 1 kHz at -10 dBFS, then 2 s of faint noise (-60 dBFS) */
	enum { N = 24000 };
	static int16_t in[N], out[N];
	sig_tone(in, 8000, 8000, 1000, -10);
	uint32_t seed = 1;
	for (size_t i = 8000; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		in[i] = (int16_t)((int)(seed >> 16 & 0xff) - 128) / 8;
	}
	unsigned speech = 0, sid = 0, unsent = 0;
	size_t pos = 0;
	for (size_t f = 0; f < N / 80; f++) {
		uint8_t frame[10];
		uint8_t len = 0;
		bcg729Encoder(vad, in + f * 80, frame, &len);
		unsigned got = 0;
		if (len == 10 || len == 2) {
			len == 10 ? speech++ : sid++;
			g_assert_cmpint(rg_dec_decode(d, frame, len, out + pos, N - pos, &got), ==, 0);
		} else {
			g_assert_cmpuint(len, ==, 0);
			unsent++;
			g_assert_cmpint(rg_dec_conceal(d, 80, out + pos, N - pos, &got), ==, 0);
		}
		g_assert_cmpuint(got, ==, 80);
		pos += got;
	}
	closeBcg729EncoderChannel(vad);
	double tone = sig_level_db(out + 2000, 4000, 1), noise = sig_level_db(out + 16000, 8000, 1);
	double hz = sig_zc_freq(out + 2000, 4000, 1, 8000);
	g_test_message("MEASURE g729 annexb: %u speech, %u SID, %u unsent frames; tone %.1f Hz %.1f dB, "
		       "comfort noise %.1f dB",
		       speech, sid, unsent, hz, tone, noise);
	g_assert_cmpuint(sid, >, 0);
	g_assert_cmpuint(unsent, >, sid);
	g_assert_cmpfloat(fabs(hz - 1000), <, 20);
	g_assert_cmpfloat(fabs(tone + 10), <, 3);
	g_assert_cmpfloat(noise, <, -45);
	g_assert_cmpfloat(noise, >, -80);   /* silence in the unsent frames would be about -89 */

	/* one RTP payload: two speech frames and a SID = 30 ms; the lengths RFC 3551 4.5.6 allows */
	uint8_t pl[22] = {0};
	unsigned got;
	g_assert_cmpint(rg_dec_decode(d, pl, 22, out, N, &got), ==, 0);
	g_assert_cmpuint(got, ==, 240);
	g_assert_cmpint(rg_dec_decode(d, pl, 2, out, N, &got), ==, 0);
	g_assert_cmpuint(got, ==, 80);
	g_assert_cmpint(rg_dec_decode(d, pl, 7, out, N, &got), ==, -EINVAL);
	g_assert_cmpint(rg_dec_decode(d, pl, 21, out, N, &got), ==, -EINVAL);
	g_assert_cmpint(rg_dec_decode(d, pl, 20, out, 159, &got), ==, -ENOBUFS);
	/* concealment works in whole frames */
	g_assert_cmpint(rg_dec_conceal(d, 170, out, N, &got), ==, 0);
	g_assert_cmpuint(got, ==, 160);
	rg_dec_free(d);

	/* the encoder takes whole 10 ms frames only */
	rg_encoder *e;
	g_assert_cmpint(rg_enc_new(&e, t, NULL, 0, 0), ==, 0);
	size_t elen;
	g_assert_cmpint(rg_enc_encode(e, in, 100, pl, sizeof(pl), &elen), ==, -EINVAL);
	g_assert_cmpint(rg_enc_encode(e, in, 160, pl, 19, &elen), ==, -ENOBUFS);
	g_assert_cmpint(rg_enc_encode(e, in, 160, pl, sizeof(pl), &elen), ==, 0);
	g_assert_cmpuint(elen, ==, 20);
	rg_enc_free(e);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_cmpint(rg_codec_init(), ==, 0);
	g_test_add_func("/codecs/registry", test_registry);
	g_test_add_func("/codecs/fmtp", test_fmtp);
	const rg_codec_type *t;
	for (unsigned i = 0; rg_codec_nth(&t, i) == 0; i++) {
		if (!t->test_vectors)
			continue;
		gchar *path = g_strdup_printf("/codecs/vectors/%s-%u%s%s", t->name, t->rate,
					      (t->flags & RG_CODEC_F_AMR) ? "-" : "",
					      (t->flags & RG_CODEC_F_AMR) ? ((t->flags & RG_CODEC_F_OCTET_ALIGN) ? "oa" : "be")
									  : "");
		g_test_add_data_func(path, t, test_vectors);
		g_free(path);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(chirps); i++) {
		gchar *path = g_strdup_printf("/codecs/chirp/%zu-%s-%u", i, chirps[i].rtpmap, chirps[i].rate);
		for (char *s = path; *s; s++)
			if (*s == '/' && s > path + 13)
				*s = '_';
		g_test_add_data_func(path, &chirps[i], test_chirp);
		g_free(path);
	}
	g_test_add_func("/codecs/conceal", test_conceal);
	g_test_add_func("/codecs/opus-fec", test_opus_fec);
	g_test_add_func("/codecs/errors", test_errors);
	g_test_add_func("/codecs/opus-stereo", test_opus_stereo);
	g_test_add_func("/codecs/speech", test_speech);
	g_test_add_func("/codecs/g729-annexb", test_g729_annexb);
	return g_test_run();
}
