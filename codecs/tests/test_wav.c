/* Audio files for prompts (wav.c): WAV formats read back (16-bit stereo mixed to mono, 8-bit,
 * 24-bit, float, A-law, extensible), bad files refused with a reason, and the offline resampler
 * from uncommon rates (44.1 kHz, 22.05 kHz, 11.025 kHz) keeping frequency and level. */
#include "rg_codec.h"
#include "signal.h"

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void le16(GByteArray *b, unsigned v)
{
	uint8_t x[2] = { v & 0xff, (v >> 8) & 0xff };
	g_byte_array_append(b, x, 2);
}

static void le32(GByteArray *b, uint32_t v)
{
	uint8_t x[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };
	g_byte_array_append(b, x, 4);
}

/* a WAV file with the given format of a 1 kHz tone (or 440 Hz on the second channel) */
static char *write_wav(unsigned fmt, unsigned ch, unsigned rate, unsigned bits, size_t frames, bool extensible)
{
	GByteArray *d = g_byte_array_new();
	for (size_t i = 0; i < frames; i++) {
		for (unsigned c = 0; c < ch; c++) {
			double v = 0.5 * sin(2 * M_PI * (c ? 440 : 1000) * (double)i / rate);
			if (fmt == 1 && bits == 16) {
				le16(d, (uint16_t)(int16_t)lrint(v * 32767));
			} else if (fmt == 1 && bits == 8) {
				uint8_t x = (uint8_t)(128 + lrint(v * 127));
				g_byte_array_append(d, &x, 1);
			} else if (fmt == 1 && bits == 24) {
				int32_t s = (int32_t)lrint(v * 8388607);
				uint8_t x[3] = { s & 0xff, (s >> 8) & 0xff, (s >> 16) & 0xff };
				g_byte_array_append(d, x, 3);
			} else if (fmt == 3) {
				float f = (float)v;
				uint32_t u;
				memcpy(&u, &f, 4);
				le32(d, u);
			} else { /* A-law via the codec */
				const rg_codec_type *t;
				rg_encoder *e;
				g_assert_cmpint(rg_codec_find(&t, "PCMA", 8000, 0, NULL), ==, 0);
				g_assert_cmpint(rg_enc_new(&e, t, NULL, 8000, 1), ==, 0);
				int16_t s = (int16_t)lrint(v * 32767);
				uint8_t x;
				size_t l;
				g_assert_cmpint(rg_enc_encode(e, &s, 1, &x, 1, &l), ==, 0);
				g_byte_array_append(d, &x, 1);
				rg_enc_free(e);
			}
		}
	}
	GByteArray *b = g_byte_array_new();
	unsigned fmt_len = extensible ? 40 : 16;
	g_byte_array_append(b, (const uint8_t *)"RIFF", 4);
	le32(b, 4 + 8 + fmt_len + 8 + 8 + d->len);
	g_byte_array_append(b, (const uint8_t *)"WAVE", 4);
	/* an unknown chunk first, odd length: skipped with its pad byte */
	g_byte_array_append(b, (const uint8_t *)"LIST", 4);
	le32(b, 3);
	g_byte_array_append(b, (const uint8_t *)"abc\0", 4);
	g_byte_array_append(b, (const uint8_t *)"fmt ", 4);
	le32(b, fmt_len);
	le16(b, extensible ? 0xFFFE : fmt);
	le16(b, ch);
	le32(b, rate);
	le32(b, rate * ch * bits / 8);
	le16(b, ch * bits / 8);
	le16(b, bits);
	if (extensible) {
		le16(b, 22);
		le16(b, bits);
		le32(b, 0);
		le16(b, fmt);   /* sub-format GUID: the tag in its first two octets */
		static const uint8_t rest[14] = { 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA,
						  0x00, 0x38, 0x9B, 0x71 };
		g_byte_array_append(b, rest, 14);
	}
	g_byte_array_append(b, (const uint8_t *)"data", 4);
	le32(b, d->len);
	g_byte_array_append(b, d->data, d->len);
	char *path = g_strdup_printf("%s/rg-test-wav-%d-%u-%u-%u-%u.wav", g_get_tmp_dir(), (int)getpid(), fmt, ch,
				     rate, bits);
	g_assert_true(g_file_set_contents(path, (const char *)b->data, b->len, NULL));
	g_byte_array_free(b, TRUE);
	g_byte_array_free(d, TRUE);
	return path;
}

static void check_file(unsigned fmt, unsigned ch, unsigned rate, unsigned bits, bool ext)
{
	char *path = write_wav(fmt, ch, rate, bits, rate / 2, ext);
	int16_t *pcm = NULL;
	size_t n = 0;
	unsigned r = 0;
	char *err = NULL;
	int e = rg_wav_read(path, &pcm, &n, &r, &err);
	if (e)
		g_error("%s: %s", path, err);
	g_assert_cmpuint(r, ==, rate);
	g_assert_cmpuint(n, ==, rate / 2);
	/* mono: the 1 kHz channel, with the 440 Hz one mixed in when stereo */
	double l1 = sig_goertzel_db(pcm, n, 1, rate, 1000);
	g_assert_cmpfloat(l1, >, -16);
	if (ch == 2)
		g_assert_cmpfloat(sig_goertzel_db(pcm, n, 1, rate, 440), >, -16);
	free(pcm);
	g_unlink(path);
	g_free(path);
}

static void test_formats(void)
{
	check_file(1, 1, 8000, 16, false);
	check_file(1, 2, 44100, 16, false);
	check_file(1, 1, 22050, 8, false);
	check_file(1, 1, 48000, 24, false);
	check_file(3, 1, 32000, 32, false);
	check_file(6, 1, 8000, 8, false);
	check_file(1, 2, 16000, 16, true);
}

static void test_bad(void)
{
	int16_t *pcm;
	size_t n;
	unsigned r;
	char *err = NULL;
	g_assert_cmpint(rg_wav_read("/nonexistent/x.wav", &pcm, &n, &r, &err), ==, -ENOENT);
	g_assert_nonnull(strstr(err, "cannot open"));
	free(err);
	char *path = g_strdup_printf("%s/rg-test-wav-bad-%d", g_get_tmp_dir(), (int)getpid());
	g_assert_true(g_file_set_contents(path, "this is not audio at all, just text in a file....", -1, NULL));
	g_assert_cmpint(rg_wav_read(path, &pcm, &n, &r, &err), ==, -EINVAL);
	g_assert_nonnull(strstr(err, "not a WAV"));
	free(err);
	/* a WAV header with an unsupported format (ADPCM, tag 2) */
	char *p2 = write_wav(1, 1, 8000, 16, 100, false);
	gchar *data;
	gsize len;
	g_assert_true(g_file_get_contents(p2, &data, &len, NULL));
	data[12 + 8 + 4 + 8] = 2;   /* after RIFF/WAVE and the 12-octet LIST chunk: fmt tag */
	g_assert_true(g_file_set_contents(p2, data, (gssize)len, NULL));
	g_assert_cmpint(rg_wav_read(p2, &pcm, &n, &r, &err), ==, -EINVAL);
	g_assert_nonnull(strstr(err, "unsupported"));
	free(err);
	g_free(data);
	g_unlink(p2);
	g_free(p2);
	g_unlink(path);
	g_free(path);
}

static void test_resample_any(void)
{
	static const unsigned from[] = { 44100, 22050, 11025, 32000, 8000 };
	static const unsigned to[] = { 8000, 16000, 48000 };
	for (size_t i = 0; i < G_N_ELEMENTS(from); i++) {
		for (size_t j = 0; j < G_N_ELEMENTS(to); j++) {
			size_t n = from[i];   /* 1 s */
			int16_t *in = g_new(int16_t, n), *out;
			sig_tone(in, n, from[i], 1000, -6);
			size_t m;
			g_assert_cmpint(rg_resample_offline(in, n, from[i], to[j], &out, &m), ==, 0);
			g_assert_cmpuint(m, ==, (size_t)((double)n * to[j] / from[i]));
			double f = sig_zc_freq(out + m / 10, m - m / 5, 1, to[j]);
			double lv = sig_level_db(out + m / 10, m - m / 5, 1);
			g_assert_cmpfloat(fabs(f - 1000), <, 5);
			g_assert_cmpfloat(fabs(lv - sig_level_db(in, n, 1)), <, 0.5);
			free(out);
			g_free(in);
		}
	}
	/* content above the new Nyquist frequency is removed (3.9 kHz at 44.1 -> 8 kHz) */
	int16_t *in = g_new(int16_t, 44100), *out;
	sig_tone(in, 44100, 44100, 5000, -6);
	size_t m;
	g_assert_cmpint(rg_resample_offline(in, 44100, 44100, 8000, &out, &m), ==, 0);
	g_assert_cmpfloat(sig_level_db(out + 800, m - 1600, 1), <, -40);
	free(out);
	g_free(in);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	rg_codec_init();
	g_test_add_func("/wav/formats", test_formats);
	g_test_add_func("/wav/bad", test_bad);
	g_test_add_func("/wav/resample-any", test_resample_any);
	return g_test_run();
}
