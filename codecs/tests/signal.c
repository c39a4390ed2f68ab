/* signal.c: see signal.h. Plain double-precision reference measurements, no codec code. */
#include "signal.h"

#include <errno.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double amp_of(double dbfs)
{
	return 32767.0 * pow(10.0, dbfs / 20.0);
}

void sig_tone(int16_t *buf, size_t n, unsigned rate, double freq, double dbfs)
{
	double a = amp_of(dbfs);
	for (size_t i = 0; i < n; i++)
		buf[i] = (int16_t)lrint(a * sin(2.0 * M_PI * freq * (double)i / rate));
}

void sig_tone_stereo(int16_t *buf, size_t n, unsigned rate, double freq_l, double freq_r, double dbfs)
{
	double a = amp_of(dbfs);
	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = (int16_t)lrint(a * sin(2.0 * M_PI * freq_l * (double)i / rate));
		buf[2 * i + 1] = (int16_t)lrint(a * sin(2.0 * M_PI * freq_r * (double)i / rate));
	}
}

void sig_chirp(int16_t *buf, size_t n, unsigned rate, double f0, double f1, double dbfs)
{
	double a = amp_of(dbfs), T = (double)n / rate, k = (f1 - f0) / T;
	for (size_t i = 0; i < n; i++) {
		double t = (double)i / rate;
		buf[i] = (int16_t)lrint(a * sin(2.0 * M_PI * (f0 * t + 0.5 * k * t * t)));
	}
}

double sig_level_db(const int16_t *x, size_t n, size_t stride)
{
	double e = 0;
	for (size_t i = 0; i < n; i++)
		e += (double)x[i * stride] * x[i * stride];
	if (e <= 0 || n == 0)
		return -200;
	double rms = sqrt(e / n);
	return 20.0 * log10(rms / (32767.0 / sqrt(2.0)));
}

double sig_goertzel_db(const int16_t *x, size_t n, size_t stride, unsigned rate, double freq)
{
	/* Goertzel gives |X(f)|^2 = |sum x[i] e^(-jwi)|^2; the energy of the least-squares sinusoid
	   at f is then about 2 |X|^2 / n (n spanning many periods): compare with the total */
	double w = 2.0 * M_PI * freq / rate, c = 2.0 * cos(w), s1 = 0, s2 = 0, tot = 0;
	for (size_t i = 0; i < n; i++) {
		double v = x[i * stride];
		double s0 = v + c * s1 - s2;
		s2 = s1;
		s1 = s0;
		tot += v * v;
	}
	double p = s1 * s1 + s2 * s2 - c * s1 * s2;
	if (tot <= 0 || n == 0)
		return -200;
	return 10.0 * log10(2.0 * p / (double)n / tot);
}

double sig_zc_freq(const int16_t *x, size_t n, size_t stride, unsigned rate)
{
	double first = -1, last = -1;
	size_t count = 0;
	for (size_t i = 1; i < n; i++) {
		double a = x[(i - 1) * stride], b = x[i * stride];
		if (a < 0 && b >= 0) {
			double t = (double)(i - 1) + (-a) / (b - a);
			if (first < 0)
				first = t;
			last = t;
			count++;
		}
	}
	if (count < 2)
		return 0;
	return (double)(count - 1) * rate / (last - first);
}

size_t sig_find_delay(const int16_t *ref, const int16_t *out, size_t n, size_t max_lag)
{
	size_t best = 0;
	double best_c = -1e300;
	for (size_t d = 0; d <= max_lag; d++) {
		double c = 0, eo = 0;
		for (size_t i = 0; i < n; i++) {
			c += (double)ref[i] * out[i + d];
			eo += (double)out[i + d] * out[i + d];
		}
		double nc = eo > 0 ? c / sqrt(eo) : -1e300;
		if (nc > best_c) {
			best_c = nc;
			best = d;
		}
	}
	return best;
}

static double ls_gain(const int16_t *ref, const int16_t *out, size_t n, size_t delay)
{
	double ro = 0, rr = 0;
	for (size_t i = 0; i < n; i++) {
		ro += (double)ref[i] * out[i + delay];
		rr += (double)ref[i] * ref[i];
	}
	return rr > 0 ? ro / rr : 0;
}

double sig_snr_db(const int16_t *ref, const int16_t *out, size_t n, size_t delay)
{
	double g = ls_gain(ref, out, n, delay), s = 0, e = 0;
	for (size_t i = 0; i < n; i++) {
		double r = g * ref[i], d = out[i + delay] - r;
		s += r * r;
		e += d * d;
	}
	if (e <= 0)
		return 200;
	if (s <= 0)
		return -200;
	return 10.0 * log10(s / e);
}

double sig_segsnr_db(const int16_t *ref, const int16_t *out, size_t n, size_t delay, unsigned rate)
{
	double g = ls_gain(ref, out, n, delay), sum = 0;
	size_t seg = rate / 50, count = 0;
	for (size_t o = 0; o + seg <= n; o += seg) {
		double s = 0, e = 0;
		for (size_t i = o; i < o + seg; i++) {
			double r = g * ref[i], d = out[i + delay] - r;
			s += r * r;
			e += d * d;
		}
		if (s < seg * 10.0 * 10.0)
			continue; /* reference below -70 dBFS: silence, not counted */
		double v = e > 0 ? 10.0 * log10(s / e) : 35;
		sum += v < -10 ? -10 : v > 35 ? 35 : v;
		count++;
	}
	return count ? sum / count : -200;
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int sig_read_wav(const char *path, int16_t **out, size_t *n, unsigned *rate)
{
	gchar *data;
	gsize len;
	if (!g_file_get_contents(path, &data, &len, NULL))
		return -ENOENT;
	const uint8_t *p = (const uint8_t *)data;
	int err = -EINVAL;
	if (len < 12 || memcmp(p, "RIFF", 4) || memcmp(p + 8, "WAVE", 4))
		goto out;
	unsigned channels = 0, bits = 0, r = 0;
	size_t off = 12;
	while (off + 8 <= len) {
		uint32_t cl = le32(p + off + 4);
		const uint8_t *c = p + off + 8;
		size_t avail = len - off - 8;
		if (!memcmp(p + off, "fmt ", 4) && avail >= 16) {
			channels = le16(c + 2);
			r = le32(c + 4);
			bits = le16(c + 14);
		} else if (!memcmp(p + off, "data", 4)) {
			if (bits != 16 || channels == 0)
				goto out;
			if (cl > avail || cl == 0xffffffffu || cl == 0)
				cl = (uint32_t)avail; /* streamed WAVs (espeak-ng --stdout) leave it open */
			size_t frames = cl / (2 * channels);
			int16_t *b = g_new(int16_t, frames ? frames : 1);
			for (size_t i = 0; i < frames; i++)
				b[i] = (int16_t)le16(c + i * 2 * channels);
			*out = b;
			*n = frames;
			*rate = r;
			err = 0;
			goto out;
		}
		off += 8 + cl + (cl & 1);
	}
out:
	g_free(data);
	return err;
}

int16_t *sig_resample_linear(const int16_t *in, size_t n, unsigned in_rate, unsigned out_rate, size_t *out_n)
{
	size_t m = (size_t)((double)n * out_rate / in_rate);
	int16_t *o = g_new(int16_t, m ? m : 1);
	for (size_t i = 0; i < m; i++) {
		double t = (double)i * in_rate / out_rate;
		size_t k = (size_t)t;
		double f = t - (double)k;
		double a = in[k], b = k + 1 < n ? in[k + 1] : a;
		o[i] = (int16_t)lrint(a + (b - a) * f);
	}
	*out_n = m;
	return o;
}

double sig_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

double sig_local_snr_db(const int16_t *ref, const int16_t *out, size_t n, size_t max_lag, size_t win)
{
	double sum = 0;
	size_t count = 0;
	for (size_t o = 0; o + win + max_lag <= n; o += win) {
		double e = 0;
		for (size_t i = o; i < o + win; i++)
			e += (double)ref[i] * ref[i];
		if (e < win * 100.0 * 100.0)
			continue; /* below -50 dBFS: pause, not counted */
		size_t d = sig_find_delay(ref + o, out + o, win, max_lag);
		double v = sig_snr_db(ref + o, out + o, win, d);
		sum += v < -10 ? -10 : v > 50 ? 50 : v;
		count++;
	}
	return count ? sum / count : -200;
}
