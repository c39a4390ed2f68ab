/* The 8/16/48 kHz resampler: frequency and level kept, round-trip SNR, alias and image
 * rejection, exact delay, streaming in arbitrary chunks equal to one call, stereo, errors. */
#include "rg_codec.h"
#include "signal.h"

#include <errno.h>
#include <glib.h>
#include <math.h>
#include <string.h>

static const unsigned rates[] = {8000, 16000, 48000};

/* resample n samples of in (mono) in one call; returns g_malloc'ed output and its length */
static int16_t *run(unsigned from, unsigned to, const int16_t *in, size_t n, size_t *out_n)
{
	rg_resampler *r;
	g_assert_cmpint(rg_resampler_new(&r, from, to, 1), ==, 0);
	unsigned cap = rg_resampler_out_max(r, (unsigned)n);
	int16_t *out = g_new0(int16_t, cap ? cap : 1);
	unsigned got;
	g_assert_cmpint(rg_resample(r, in, (unsigned)n, out, cap, &got), ==, 0);
	*out_n = got;
	rg_resampler_free(r);
	return out;
}

/* 1 kHz through 8 -> 48 -> 8 (and the other round trips): same frequency, SNR > 40 dB, and the
 * delay is exactly 2 x RG_RESAMPLER_HALF_TAPS samples of the lower rate */
static void test_roundtrip(void)
{
	static const unsigned pairs[][2] = {{8000, 48000}, {8000, 16000}, {16000, 48000}};
	for (size_t i = 0; i < G_N_ELEMENTS(pairs); i++) {
		unsigned lo = pairs[i][0], hi = pairs[i][1];
		size_t n = lo; /* 1 s */
		int16_t *in = g_new(int16_t, n);
		sig_tone(in, n, lo, 1000, -6);
		size_t n1, n2;
		int16_t *up = run(lo, hi, in, n, &n1);
		g_assert_cmpuint(n1, ==, n * (hi / lo));
		int16_t *back = run(hi, lo, up, n1, &n2);
		g_assert_cmpuint(n2, ==, n);
		size_t skip = lo / 20, d = 2 * RG_RESAMPLER_HALF_TAPS, m = n - skip - d - 1;
		double snr = sig_snr_db(in + skip, back + skip, m, d);
		double snr_off = sig_snr_db(in + skip, back + skip, m, d + 1);
		double f = sig_zc_freq(back + skip + d, m, 1, lo);
		double lv = sig_level_db(back + skip + d, m, 1) - sig_level_db(in + skip, m, 1);
		g_test_message("MEASURE resample %u->%u->%u 1 kHz: SNR %.1f dB at delay %zu (%.1f dB one sample off), "
			       "freq %.2f Hz, level %+.3f dB",
			       lo, hi, lo, snr, d, snr_off, f, lv);
		g_assert_cmpfloat(snr, >, 40);
		g_assert_cmpfloat(snr, >, snr_off); /* the delay is where the header says */
		g_assert_cmpfloat(fabs(f - 1000), <, 1000 * 0.001);
		g_assert_cmpfloat(fabs(lv), <, 0.1);
		g_free(in);
		g_free(up);
		g_free(back);
	}
}

/* every pair keeps a tone's frequency and level; passband edge checked too */
static void test_pairs(void)
{
	for (size_t a = 0; a < 3; a++)
		for (size_t b = 0; b < 3; b++) {
			unsigned from = rates[a], to = rates[b];
			unsigned lo = MIN(from, to);
			static const double freqs[] = {300, 1000, 3000};
			for (size_t k = 0; k < G_N_ELEMENTS(freqs); k++) {
				/* at 16/48 kHz also a tone near the 16 kHz side's band edge */
				double fq = (lo > 8000 && k == 2) ? 6800 : freqs[k];
				size_t n = from / 2;
				int16_t *in = g_new(int16_t, n);
				sig_tone(in, n, from, fq, -6);
				size_t m;
				int16_t *out = run(from, to, in, n, &m);
				size_t skip = to / 20;
				double f = sig_zc_freq(out + skip, m - skip, 1, to);
				double lv = sig_level_db(out + skip, m - 2 * skip, 1) - sig_level_db(in + from / 20, n - from / 10, 1);
				double purity = sig_goertzel_db(out + skip, m - 2 * skip, 1, to, fq);
				g_test_message("MEASURE resample %5u->%5u %6.0f Hz: freq %.2f level %+.3f dB, tone %.4f dB of total",
					       from, to, fq, f, lv, purity);
				g_assert_cmpfloat(fabs(f - fq), <, fq * 0.002);
				g_assert_cmpfloat(fabs(lv), <, k == 2 ? 0.5 : 0.05);
				g_assert_cmpfloat(purity, >, -0.01); /* nothing but the tone: no images */
				g_free(in);
				g_free(out);
			}
		}
}

/* no aliasing: a 6 kHz tone at 16 kHz, downsampled to 8 kHz (where it would fold to 2 kHz), is
 * attenuated by more than 40 dB; likewise 5 kHz at 48 -> 8 and 10 kHz at 48 -> 16 */
static void test_alias(void)
{
	static const struct {
		unsigned from, to;
		double f;
	} cases[] = {{16000, 8000, 6000}, {16000, 8000, 4500}, {48000, 8000, 5000}, {48000, 8000, 20000},
		     {48000, 16000, 10000}, {48000, 16000, 8500}};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		size_t n = cases[i].from / 2;
		int16_t *in = g_new(int16_t, n);
		sig_tone(in, n, cases[i].from, cases[i].f, -3);
		size_t m;
		int16_t *out = run(cases[i].from, cases[i].to, in, n, &m);
		size_t skip = cases[i].to / 20;
		double att = sig_level_db(out + skip, m - skip, 1) - sig_level_db(in, n, 1);
		g_test_message("MEASURE resample %5u->%5u %5.0f Hz tone: %.1f dB", cases[i].from, cases[i].to, cases[i].f,
			       att);
		g_assert_cmpfloat(att, <, -40);
		g_free(in);
		g_free(out);
	}
}

/* upsampling: the images of a 3 kHz tone at 8 kHz (5, 11, 13, 19 ... kHz at 48 kHz) are gone */
static void test_images(void)
{
	size_t n = 8000;
	int16_t *in = g_new(int16_t, n);
	sig_tone(in, n, 8000, 3000, -3);
	size_t m;
	int16_t *out = run(8000, 48000, in, n, &m);
	static const double images[] = {5000, 11000, 13000, 19000, 21000};
	for (size_t i = 0; i < G_N_ELEMENTS(images); i++) {
		double g = sig_goertzel_db(out + 2400, m - 4800, 1, 48000, images[i]);
		g_test_message("MEASURE resample 8000->48000 3 kHz: image at %5.0f Hz %.1f dB", images[i], g);
		g_assert_cmpfloat(g, <, -50);
	}
	g_free(in);
	g_free(out);
}

/* streaming: any chunking gives the bit-identical output of one call */
static void test_streaming(void)
{
	for (size_t a = 0; a < 3; a++)
		for (size_t b = 0; b < 3; b++) {
			unsigned from = rates[a], to = rates[b];
			size_t n = from / 4;
			int16_t *in = g_new(int16_t, n);
			sig_chirp(in, n, from, 100, from / 2.0 - 100, -6);
			size_t m;
			int16_t *whole = run(from, to, in, n, &m);
			rg_resampler *r;
			g_assert_cmpint(rg_resampler_new(&r, from, to, 1), ==, 0);
			int16_t *parts = g_new0(int16_t, m + 16);
			GRand *rnd = g_rand_new_with_seed((guint32)(from + to));
			size_t pos = 0, got_total = 0;
			while (pos < n) {
				unsigned c = (unsigned)MIN(n - pos, (size_t)g_rand_int_range(rnd, 0, 50));
				unsigned got;
				g_assert_cmpint(rg_resample(r, in + pos, c, parts + got_total,
							    rg_resampler_out_max(r, c), &got),
						==, 0);
				g_assert_cmpuint(got, <=, rg_resampler_out_max(r, c));
				pos += c;
				got_total += got;
			}
			g_assert_cmpuint(got_total, ==, m);
			g_assert_cmpmem(parts, m * sizeof(int16_t), whole, m * sizeof(int16_t));
			/* reset: starts over like a new one */
			rg_resampler_reset(r);
			unsigned got;
			g_assert_cmpint(rg_resample(r, in, (unsigned)n, parts, (unsigned)m + 16, &got), ==, 0);
			g_assert_cmpuint(got, ==, m);
			g_assert_cmpmem(parts, m * sizeof(int16_t), whole, m * sizeof(int16_t));
			g_rand_free(rnd);
			rg_resampler_free(r);
			g_free(in);
			g_free(whole);
			g_free(parts);
		}
}

static void test_stereo(void)
{
	size_t n = 16000;
	int16_t *in = g_new(int16_t, 2 * n);
	sig_tone_stereo(in, n, 16000, 440, 1000, -6);
	rg_resampler *r;
	g_assert_cmpint(rg_resampler_new(&r, 16000, 48000, 2), ==, 0);
	unsigned cap = rg_resampler_out_max(r, (unsigned)n);
	int16_t *out = g_new(int16_t, 2 * cap);
	unsigned got;
	g_assert_cmpint(rg_resample(r, in, (unsigned)n, out, cap, &got), ==, 0);
	g_assert_cmpuint(got, ==, 3 * n);
	double fl = sig_zc_freq(out + 2 * 4800, got - 4800, 2, 48000);
	double fr = sig_zc_freq(out + 2 * 4800 + 1, got - 4800, 2, 48000);
	g_assert_cmpfloat(fabs(fl - 440), <, 0.5);
	g_assert_cmpfloat(fabs(fr - 1000), <, 0.5);
	g_assert_cmpfloat(sig_goertzel_db(out + 2 * 4800, got - 9600, 2, 48000, 1000), <, -60); /* no crosstalk */
	rg_resampler_free(r);
	g_free(in);
	g_free(out);
}

static void test_errors(void)
{
	rg_resampler *r;
	g_assert_cmpint(rg_resampler_new(&r, 44100, 48000, 1), ==, -EINVAL);
	g_assert_cmpint(rg_resampler_new(&r, 8000, 12000, 1), ==, -EINVAL);
	g_assert_cmpint(rg_resampler_new(&r, 8000, 16000, 0), ==, -EINVAL);
	g_assert_cmpint(rg_resampler_new(&r, 8000, 16000, 3), ==, -EINVAL);
	g_assert_cmpint(rg_resampler_new(&r, 48000, 8000, 1), ==, 0);
	g_assert_cmpuint(rg_resampler_out_max(r, 960), ==, 160);
	g_assert_cmpuint(rg_resampler_out_max(r, 961), ==, 161);
	g_assert_cmpuint(rg_resampler_delay(r), ==, RG_RESAMPLER_HALF_TAPS);
	int16_t in[961] = {0}, out[200];
	unsigned got;
	g_assert_cmpint(rg_resample(r, in, 961, out, 160, &got), ==, -ENOBUFS);
	g_assert_cmpint(rg_resample(r, in, 961, out, 161, &got), ==, 0);
	g_assert_cmpuint(got, ==, 161); /* the first input produces an output */
	g_assert_cmpint(rg_resample(r, in, 5, out, 1, &got), ==, 0);
	g_assert_cmpuint(got, ==, 0);
	g_assert_cmpint(rg_resample(r, in, 0, out, 0, &got), ==, 0);
	g_assert_cmpuint(got, ==, 0);
	rg_resampler_free(r);
	g_assert_cmpint(rg_resampler_new(&r, 8000, 48000, 1), ==, 0);
	g_assert_cmpuint(rg_resampler_delay(r), ==, 6 * RG_RESAMPLER_HALF_TAPS);
	rg_resampler_free(r);
	/* equal rates: a copy */
	g_assert_cmpint(rg_resampler_new(&r, 16000, 16000, 1), ==, 0);
	for (int i = 0; i < 100; i++)
		in[i] = (int16_t)(i * 300 - 15000);
	g_assert_cmpint(rg_resample(r, in, 100, out, 100, &got), ==, 0);
	g_assert_cmpuint(got, ==, 100);
	g_assert_cmpmem(out, 200, in, 200);
	g_assert_cmpuint(rg_resampler_delay(r), ==, 0);
	rg_resampler_free(r);
	rg_resampler_free(NULL);
	/* full scale does not wrap around */
	g_assert_cmpint(rg_resampler_new(&r, 8000, 48000, 1), ==, 0);
	int16_t sq[400], up[2400];
	for (int i = 0; i < 400; i++)
		sq[i] = (i / 20) % 2 ? 32767 : -32768;
	g_assert_cmpint(rg_resample(r, sq, 400, up, 2400, &got), ==, 0);
	for (unsigned i = 1; i < got; i++)
		g_assert_cmpint(abs(up[i] - up[i - 1]), <, 30000); /* clipped, never wrapped */
	rg_resampler_free(r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/resample/roundtrip", test_roundtrip);
	g_test_add_func("/resample/pairs", test_pairs);
	g_test_add_func("/resample/alias", test_alias);
	g_test_add_func("/resample/images", test_images);
	g_test_add_func("/resample/streaming", test_streaming);
	g_test_add_func("/resample/stereo", test_stereo);
	g_test_add_func("/resample/errors", test_errors);
	return g_test_run();
}
