/* codec_g711.c: PCMU and PCMA (ITU-T G.711, RFC 3551 §4.5.14) through spandsp's g711_*, with
 * spandsp's plc_* (G.711 Appendix I style pitch-repetition PLC) for lost packets. */
#include "codec_priv.h"

#include "spandsp_plc.h"
#include <stdlib.h>

typedef struct {
	rg_encoder base;
	g711_state_t *g;
} g711_enc;

typedef struct {
	rg_decoder base;
	g711_state_t *g;
	plc_state_t *plc;
} g711_dec;

static int law_of(const rg_codec_type *t)
{
	return t == &rg_codec_pcma ? G711_ALAW : G711_ULAW;
}

static int enc_encode(rg_encoder *e, const int16_t *pcm, unsigned samples, uint8_t *out, size_t cap, size_t *outlen)
{
	g711_enc *s = (g711_enc *)e;
	if (cap < samples)
		return -ENOBUFS;
	if (samples > INT32_MAX)
		return -EINVAL;
	int n = g711_encode(s->g, out, pcm, (int)samples);
	if (n != (int)samples)
		return -EIO;
	*outlen = (size_t)n;
	return 0;
}

static void enc_free(rg_encoder *e)
{
	g711_enc *s = (g711_enc *)e;
	g711_free(s->g);
	free(s);
}

static const struct rg_enc_ops g711_enc_ops = {.encode = enc_encode, .free = enc_free};

static int g711_encoder_new(rg_encoder **out, const rg_codec_type *t, const rg_codec_params *p, unsigned rate,
			    unsigned channels)
{
	if ((rate && rate != 8000) || channels != 1)
		return -EINVAL;
	g711_enc *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->g = g711_init(NULL, law_of(t));
	if (!s->g) {
		free(s);
		return -ENOMEM;
	}
	s->base = (rg_encoder){.ops = &g711_enc_ops, .type = t, .rate = 8000, .channels = 1};
	*out = &s->base;
	return 0;
}

static int dec_decode(rg_decoder *d, const uint8_t *in, size_t len, int16_t *pcm, unsigned cap, unsigned *samples)
{
	g711_dec *s = (g711_dec *)d;
	if (len > cap)
		return -ENOBUFS;
	int n = g711_decode(s->g, pcm, in, (int)len);
	if (n != (int)len)
		return -EIO;
	plc_rx(s->plc, pcm, n);
	*samples = (unsigned)n;
	return 0;
}

static int dec_conceal(rg_decoder *d, unsigned lost, int16_t *pcm, unsigned cap, unsigned *samples)
{
	g711_dec *s = (g711_dec *)d;
	if (lost)
		rg_plc_fillin(s->plc, pcm, (int)lost);
	*samples = lost;
	return 0;
}

static void dec_free(rg_decoder *d)
{
	g711_dec *s = (g711_dec *)d;
	g711_free(s->g);
	plc_free(s->plc);
	free(s);
}

static const struct rg_dec_ops g711_dec_ops = {.decode = dec_decode, .conceal = dec_conceal, .free = dec_free};

static int g711_decoder_new(rg_decoder **out, const rg_codec_type *t, const rg_codec_params *p, unsigned rate,
			    unsigned channels)
{
	if ((rate && rate != 8000) || channels != 1)
		return -EINVAL;
	g711_dec *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->g = g711_init(NULL, law_of(t));
	s->plc = plc_init(NULL);
	if (!s->g || !s->plc) {
		if (s->g)
			g711_free(s->g);
		if (s->plc)
			plc_free(s->plc);
		free(s);
		return -ENOMEM;
	}
	s->base = (rg_decoder){.ops = &g711_dec_ops, .type = t, .rate = 8000, .channels = 1};
	*out = &s->base;
	return 0;
}

/* Known answers from ITU-T G.711 tables 1 and 2 (decoder output scaled to 16 bits: mu-law
 * 8031 << 2 = 32124 at full scale, A-law 4032 << 3 = 32256; zero maps to the idle codes 0xFF
 * (mu-law) and 0xD5 (A-law, even bits inverted)). */
static const int16_t kat_pcm[] = {0, 32767, -32768, 8};
static const uint8_t kat_ulaw[] = {0xFF, 0x80, 0x00, 0xFE};
static const int16_t kat_ulaw_dec[] = {0, 32124, -32124, 8};
static const uint8_t kat_alaw[] = {0xD5, 0xAA, 0x2A, 0xD5};
static const int16_t kat_alaw_dec[] = {8, 32256, -32256, 8};

static const rg_codec_test_vector pcmu_vectors[] = {
	{.desc = "PCMU G.711 table 2 known answers", .pcm_rate = 8000, .frame_ms = 20, .frame_len = 160,
	 .kat_pcm = kat_pcm, .kat_enc = kat_ulaw, .kat_dec = kat_ulaw_dec, .kat_samples = 4, .kat_enc_len = 4,
	 .tone_hz = 1000, .min_snr_db = 30},
	{.desc = "PCMU 440 Hz", .pcm_rate = 8000, .frame_ms = 20, .frame_len = 160, .tone_hz = 440, .min_snr_db = 30},
	{0},
};

static const rg_codec_test_vector pcma_vectors[] = {
	{.desc = "PCMA G.711 table 1 known answers", .pcm_rate = 8000, .frame_ms = 20, .frame_len = 160,
	 .kat_pcm = kat_pcm, .kat_enc = kat_alaw, .kat_dec = kat_alaw_dec, .kat_samples = 4, .kat_enc_len = 4,
	 .tone_hz = 1000, .min_snr_db = 30},
	{.desc = "PCMA 440 Hz", .pcm_rate = 8000, .frame_ms = 20, .frame_len = 160, .tone_hz = 440, .min_snr_db = 30},
	{0},
};

const rg_codec_type rg_codec_pcmu = {
	.name = "PCMU", .rate = 8000, .channels = 1, .pcm_rate = 8000, .flags = RG_CODEC_F_SAMPLE_BASED,
	.desc = "G.711 mu-law (RFC 3551 §4.5.14, static PT 0)",
	.fmtp_parse = rg_fmtp_parse_generic, .decoder_new = g711_decoder_new, .encoder_new = g711_encoder_new,
	.test_vectors = pcmu_vectors,
};

const rg_codec_type rg_codec_pcma = {
	.name = "PCMA", .rate = 8000, .channels = 1, .pcm_rate = 8000, .flags = RG_CODEC_F_SAMPLE_BASED,
	.desc = "G.711 A-law (RFC 3551 §4.5.14, static PT 8)",
	.fmtp_parse = rg_fmtp_parse_generic, .decoder_new = g711_decoder_new, .encoder_new = g711_encoder_new,
	.test_vectors = pcma_vectors,
};
