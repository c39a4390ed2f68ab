/* wav.c: reading audio files for prompts (rg_codec.h, "Audio files"): RIFF/WAVE with PCM (8, 16,
 * 24, 32 bit), IEEE float (32 bit), A-law and mu-law (decoded with the G.711 codec of the
 * registry), any channel count (mixed down to mono), any rate, plus an offline windowed-sinc
 * resampler from any rate to any other for what the streaming resampler (8/16/48 kHz) cannot do.
 * Not for the packet path: it allocates and reads files. */
#include "codec_priv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static int fail(char **err, int code, const char *fmt, const char *arg)
{
	if (err) {
		size_t n = strlen(fmt) + (arg ? strlen(arg) : 0) + 1;
		*err = malloc(n);
		if (*err)
			snprintf(*err, n, fmt, arg ? arg : "");
	}
	return code;
}

/* one sample of channel c of frame i, as a double in -32768..32767 */
static double sample_at(const uint8_t *d, unsigned fmt, unsigned bits, unsigned ch, size_t i, unsigned c,
			rg_decoder *g711)
{
	size_t k = i * ch + c;
	switch (fmt) {
	case 1:
		switch (bits) {
		case 8:
			return ((int)d[k] - 128) * 256.0;
		case 16:
			return (int16_t)le16(d + 2 * k);
		case 24: {
			int32_t v = (int32_t)((uint32_t)d[3 * k] << 8 | (uint32_t)d[3 * k + 1] << 16 | (uint32_t)d[3 * k + 2] << 24);
			return v / 65536.0;
		}
		default:
			return (int32_t)le32(d + 4 * k) / 65536.0;
		}
	case 3: {
		uint32_t u = le32(d + 4 * k);
		float f;
		memcpy(&f, &u, 4);
		return isfinite(f) ? f * 32767.0 : 0;
	}
	default: { /* A-law / mu-law: one octet through the G.711 decoder */
		int16_t s = 0;
		unsigned got = 0;
		rg_dec_decode(g711, d + k, 1, &s, 1, &got);
		return got ? s : 0;
	}
	}
}

int rg_wav_read(const char *path, int16_t **pcm, size_t *samples, unsigned *rate, char **err)
{
	if (err)
		*err = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail(err, -errno, "cannot open %s", path);
	uint8_t *buf = NULL;
	int ret;
	if (fseek(f, 0, SEEK_END) < 0) {
		ret = fail(err, -EIO, "cannot read %s", path);
		goto out;
	}
	long size = ftell(f);
	rewind(f);
	if (size < 44 || size > RG_WAV_MAX_BYTES) {
		ret = fail(err, -EINVAL, size < 44 ? "%s is not a WAV file (too short)" : "%s is too large", path);
		goto out;
	}
	buf = malloc((size_t)size);
	if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		ret = fail(err, buf ? -EIO : -ENOMEM, "cannot read %s", path);
		goto out;
	}
	if (memcmp(buf, "RIFF", 4) || memcmp(buf + 8, "WAVE", 4)) {
		ret = fail(err, -EINVAL, "%s is not a WAV file (no RIFF/WAVE header)", path);
		goto out;
	}
	unsigned fmt = 0, ch = 0, bits = 0;
	uint32_t sr = 0;
	const uint8_t *data = NULL;
	size_t data_len = 0;
	for (size_t off = 12; off + 8 <= (size_t)size;) {
		uint32_t clen = le32(buf + off + 4);
		const uint8_t *c = buf + off + 8;
		size_t avail = (size_t)size - off - 8;
		if (memcmp(buf + off, "fmt ", 4) == 0 && clen >= 16 && clen <= avail) {
			fmt = le16(c);
			ch = le16(c + 2);
			sr = le32(c + 4);
			bits = le16(c + 14);
			if (fmt == 0xFFFE && clen >= 40)   /* WAVE_FORMAT_EXTENSIBLE: the sub-format's tag */
				fmt = le16(c + 24);
		} else if (memcmp(buf + off, "data", 4) == 0) {
			data = c;
			data_len = clen <= avail ? clen : avail;   /* a truncated file: what is there */
			break;
		}
		if (clen > avail)
			break;
		off += 8 + (size_t)clen + (clen & 1);
	}
	bool ok_fmt = (fmt == 1 && (bits == 8 || bits == 16 || bits == 24 || bits == 32)) ||
		      (fmt == 3 && bits == 32) || ((fmt == 6 || fmt == 7) && bits == 8);
	if (!data || !ok_fmt || ch < 1 || ch > 8 || sr < 4000 || sr > 192000) {
		ret = fail(err, -EINVAL, "%s: unsupported WAV format (PCM 8/16/24/32-bit, float, A-law or mu-law, "
			   "1-8 channels, 4-192 kHz)", path);
		goto out;
	}
	size_t frames = data_len / ((size_t)ch * (bits / 8));
	if (!frames) {
		ret = fail(err, -EINVAL, "%s has no audio", path);
		goto out;
	}
	rg_decoder *g711 = NULL;
	if (fmt == 6 || fmt == 7) {
		const rg_codec_type *t;
		if (rg_codec_find(&t, fmt == 6 ? "PCMA" : "PCMU", 8000, 0, NULL) < 0 ||
		    rg_dec_new(&g711, t, NULL, 8000, 1) < 0) {
			ret = fail(err, -ENOTSUP, "%s: no G.711 decoder", path);
			goto out;
		}
	}
	int16_t *out = malloc(frames * sizeof(int16_t));
	if (!out) {
		rg_dec_free(g711);
		ret = fail(err, -ENOMEM, "out of memory reading %s", path);
		goto out;
	}
	for (size_t i = 0; i < frames; i++) {
		double v = 0;
		for (unsigned c = 0; c < ch; c++)
			v += sample_at(data, fmt, bits, ch, i, c, g711);
		v /= ch;
		out[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrint(v));
	}
	rg_dec_free(g711);
	*pcm = out;
	*samples = frames;
	*rate = sr;
	ret = 0;
out:
	free(buf);
	fclose(f);
	return ret;
}

/* Windowed sinc (Blackman), 2 x ZEROS zero crossings of the lower rate's low-pass. */
#define ZEROS 16

int rg_resample_offline(const int16_t *in, size_t n, unsigned in_rate, unsigned out_rate, int16_t **out,
			size_t *out_n)
{
	if (!in || !out || !out_n || !in_rate || !out_rate)
		return -EINVAL;
	size_t m = (size_t)((double)n * out_rate / in_rate);
	int16_t *o = malloc((m ? m : 1) * sizeof(int16_t));
	if (!o)
		return -ENOMEM;
	if (in_rate == out_rate) {
		memcpy(o, in, n * sizeof(int16_t));
		*out = o;
		*out_n = n;
		return 0;
	}
	/* cutoff at 0.45 x the lower rate, in cycles per input sample */
	double fc = 0.45 * (in_rate < out_rate ? in_rate : out_rate) / in_rate;
	double half = ZEROS / (2 * fc);   /* half the filter length, input samples */
	for (size_t j = 0; j < m; j++) {
		double t = (double)j * in_rate / out_rate;   /* position in input samples */
		long lo = (long)ceil(t - half), hi = (long)floor(t + half);
		double acc = 0;
		for (long k = lo < 0 ? 0 : lo; k <= hi && k < (long)n; k++) {
			double x = (double)k - t;
			double s = x == 0 ? 2 * fc : sin(2 * M_PI * fc * x) / (M_PI * x);
			double w = 0.42 + 0.5 * cos(M_PI * x / half) + 0.08 * cos(2 * M_PI * x / half);
			acc += in[k] * s * w;
		}
		o[j] = (int16_t)(acc > 32767 ? 32767 : acc < -32768 ? -32768 : lrint(acc));
	}
	*out = o;
	*out_n = m;
	return 0;
}
