/* resample.c: integer-ratio sample rate conversion between 8, 16 and 48 kHz (ratios 2, 3, 6).
 *
 * A windowed-sinc low-pass (Kaiser window, beta 7: about 70 dB stopband) designed at the higher
 * rate, cutoff 0.465 x the lower rate, transition band 0.43..0.50 x the lower rate, with
 * 2 * RG_RESAMPLER_HALF_TAPS zero crossings. Upsampling by L runs it as L polyphase branches of
 * 2K+1 taps (no multiplications by inserted zeros); downsampling by M computes only every M-th
 * output of the 2KM+1 tap filter. The filter is symmetric with its centre on a sample, so the
 * delay is exactly K samples of the lower rate and an up-then-down round trip is 2K samples.
 *
 * History is a "double-written" ring per channel: each input is stored at pos and pos + taps, so
 * the last `taps` inputs are always contiguous and the dot product needs no wrap-around test.
 */
#include "codec_priv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define K RG_RESAMPLER_HALF_TAPS
#define KAISER_BETA 7.0
#define CUTOFF 0.465 /* x the lower rate */

struct rg_resampler {
	unsigned in_rate, out_rate, channels;
	unsigned up, down;  /* L, M: one of them is 1 (both 1: plain copy) */
	unsigned taps;      /* per polyphase branch (up) or of the filter (down) */
	unsigned pos;       /* ring write position, same for every channel */
	unsigned phase;     /* down: index of the next input modulo M */
	float *coef;        /* up: L branches of taps, each reversed; down: taps (symmetric) */
	float *hist;        /* channels x 2 x taps */
};

static bool rate_ok(unsigned r)
{
	return r == 8000 || r == 16000 || r == 48000;
}

/* modified Bessel function of the first kind, order 0 (power series) */
static double bessel_i0(double x)
{
	double sum = 1.0, term = 1.0, q = x * x / 4.0;
	for (int k = 1; k < 64; k++) {
		term *= q / ((double)k * (double)k);
		sum += term;
		if (term < sum * 1e-12)
			break;
	}
	return sum;
}

/* prototype low-pass at R x the low rate: n = 2KR + 1 taps into h */
static void design(double *h, unsigned R)
{
	unsigned n = 2 * K * R + 1;
	double centre = (double)(K * R);
	double fc = CUTOFF / (double)R; /* cycles per high-rate sample */
	double i0b = bessel_i0(KAISER_BETA);
	double sum = 0;
	for (unsigned i = 0; i < n; i++) {
		double t = (double)i - centre;
		double x = 2.0 * fc * t;
		double sinc = t == 0 ? 1.0 : sin(M_PI * x) / (M_PI * x);
		double r = t / centre;
		double w = bessel_i0(KAISER_BETA * sqrt(fmax(0.0, 1.0 - r * r))) / i0b;
		h[i] = 2.0 * fc * sinc * w;
		sum += h[i];
	}
	for (unsigned i = 0; i < n; i++)
		h[i] /= sum;
}

int rg_resampler_new(rg_resampler **out, unsigned in_rate, unsigned out_rate, unsigned channels)
{
	if (!out || !rate_ok(in_rate) || !rate_ok(out_rate) || channels < 1 || channels > 2)
		return -EINVAL;
	int err = 0;
	double *h = NULL;
	rg_resampler *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->in_rate = in_rate;
	r->out_rate = out_rate;
	r->channels = channels;
	r->up = out_rate > in_rate ? out_rate / in_rate : 1;
	r->down = in_rate > out_rate ? in_rate / out_rate : 1;
	unsigned R = r->up > r->down ? r->up : r->down;
	if (R == 1) {
		*out = r;
		return 0;
	}
	h = malloc((2 * K * R + 1) * sizeof(*h));
	if (!h) {
		err = -ENOMEM;
		goto out;
	}
	design(h, R);
	if (r->up > 1) {
		unsigned L = r->up;
		r->taps = 2 * K + 1;
		r->coef = calloc((size_t)L * r->taps, sizeof(float));
		if (!r->coef) {
			err = -ENOMEM;
			goto out;
		}
		for (unsigned p = 0; p < L; p++) {
			/* branch p: g[k] = L h[p + kL], k = 0..2K; newest input meets g[0] */
			float *c = r->coef + (size_t)p * r->taps;
			double s = 0;
			for (unsigned k = 0; k < r->taps; k++) {
				unsigned idx = p + k * L;
				s += idx <= 2 * K * L ? h[idx] : 0;
			}
			for (unsigned k = 0; k < r->taps; k++) {
				unsigned idx = p + k * L;
				double g = idx <= 2 * K * L ? h[idx] / s : 0; /* each branch: unity DC gain */
				c[r->taps - 1 - k] = (float)g;
			}
		}
	} else {
		r->taps = 2 * K * r->down + 1;
		r->coef = calloc(r->taps, sizeof(float));
		if (!r->coef) {
			err = -ENOMEM;
			goto out;
		}
		for (unsigned i = 0; i < r->taps; i++)
			r->coef[i] = (float)h[r->taps - 1 - i];
	}
	r->hist = calloc((size_t)channels * 2 * r->taps, sizeof(float));
	if (!r->hist) {
		err = -ENOMEM;
		goto out;
	}
	*out = r;
	r = NULL;
out:
	free(h);
	if (r)
		rg_resampler_free(r);
	return err;
}

void rg_resampler_free(rg_resampler *r)
{
	if (!r)
		return;
	free(r->coef);
	free(r->hist);
	free(r);
}

void rg_resampler_reset(rg_resampler *r)
{
	if (r->hist)
		memset(r->hist, 0, (size_t)r->channels * 2 * r->taps * sizeof(float));
	r->pos = 0;
	r->phase = 0;
}

unsigned rg_resampler_out_max(const rg_resampler *r, unsigned in_samples)
{
	if (r->up > 1)
		return in_samples * r->up;
	return (in_samples + r->down - 1) / r->down;
}

unsigned rg_resampler_delay(const rg_resampler *r)
{
	if (r->up > 1)
		return K * r->up;
	if (r->down > 1)
		return K;
	return 0;
}

/* eight partial sums in a GCC/clang vector (two SSE registers on baseline x86-64, one AVX
 * register where available): the loop vectorizes without -ffast-math */
typedef float v8f __attribute__((vector_size(32)));

static float dot(const float *a, const float *b, unsigned n)
{
	v8f acc = {0};
	unsigned i = 0;
	for (; i + 8 <= n; i += 8) {
		v8f x, y;
		memcpy(&x, a + i, sizeof(x));
		memcpy(&y, b + i, sizeof(y));
		acc += x * y;
	}
	float t = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
	for (; i < n; i++)
		t += a[i] * b[i];
	return t;
}

static int16_t to_s16(float v)
{
	if (v >= 32767.0f)
		return 32767;
	if (v <= -32768.0f)
		return -32768;
	return (int16_t)lrintf(v);
}

int rg_resample(rg_resampler *r, const int16_t *in, unsigned in_samples, int16_t *out, unsigned out_cap,
		unsigned *out_samples)
{
	if (!r || (!in && in_samples) || !out_samples)
		return -EINVAL;
	if (out_cap < rg_resampler_out_max(r, in_samples) || (!out && in_samples))
		return -ENOBUFS;
	unsigned C = r->channels;
	if (r->up == 1 && r->down == 1) {
		memcpy(out, in, (size_t)in_samples * C * sizeof(int16_t));
		*out_samples = in_samples;
		return 0;
	}
	unsigned taps = r->taps, n = 0;
	for (unsigned i = 0; i < in_samples; i++) {
		for (unsigned c = 0; c < C; c++) {
			float *buf = r->hist + (size_t)c * 2 * taps;
			float x = in[(size_t)i * C + c];
			buf[r->pos] = x;
			buf[r->pos + taps] = x;
		}
		r->pos = r->pos + 1 == taps ? 0 : r->pos + 1;
		if (r->up > 1) {
			for (unsigned p = 0; p < r->up; p++) {
				const float *coef = r->coef + (size_t)p * taps;
				for (unsigned c = 0; c < C; c++) {
					const float *w = r->hist + (size_t)c * 2 * taps + r->pos;
					out[(size_t)n * C + c] = to_s16(dot(w, coef, taps));
				}
				n++;
			}
		} else {
			if (r->phase == 0) {
				for (unsigned c = 0; c < C; c++) {
					const float *w = r->hist + (size_t)c * 2 * taps + r->pos;
					out[(size_t)n * C + c] = to_s16(dot(w, r->coef, taps));
				}
				n++;
			}
			r->phase = r->phase + 1 == r->down ? 0 : r->phase + 1;
		}
	}
	*out_samples = n;
	return 0;
}
