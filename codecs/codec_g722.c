/* codec_g722.c: G.722 at 64 kbit/s (mode 1) through spandsp's g722_*. PCM is 16 kHz; the RTP
 * clock rate is 8000 (RFC 3551 §4.5.2: "even though the actual sampling rate for G.722 audio is
 * 16,000 Hz", kept from RFC 1890 for compatibility), so the RTP timestamp advances by one per
 * octet, i.e. half a sample. Loss concealment: spandsp's plc_* run on the 16 kHz signal (it was
 * tuned for 8 kHz: its pitch search then covers 133..400 Hz instead of 66..200 Hz). */
#include "codec_priv.h"

#include "spandsp_plc.h"
#include <stdlib.h>

typedef struct {
	rg_encoder base;
	g722_encode_state_t *g;
} g722_enc;

typedef struct {
	rg_decoder base;
	g722_decode_state_t *g;
	plc_state_t *plc;
} g722_dec;

static int enc_encode(rg_encoder *e, const int16_t *pcm, unsigned samples, uint8_t *out, size_t cap, size_t *outlen)
{
	g722_enc *s = (g722_enc *)e;
	if (samples % 2 || samples > INT32_MAX)
		return -EINVAL;
	if (cap < samples / 2)
		return -ENOBUFS;
	int n = g722_encode(s->g, out, pcm, (int)samples);
	if (n != (int)(samples / 2))
		return -EIO;
	*outlen = (size_t)n;
	return 0;
}

static void enc_free(rg_encoder *e)
{
	g722_enc *s = (g722_enc *)e;
	g722_encode_free(s->g);
	free(s);
}

static const struct rg_enc_ops g722_enc_ops = {.encode = enc_encode, .free = enc_free};

static int g722_encoder_new(rg_encoder **out, const rg_codec_type *t, const rg_codec_params *p, unsigned rate,
			    unsigned channels)
{
	if ((rate && rate != 16000) || channels != 1)
		return -EINVAL;
	g722_enc *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->g = g722_encode_init(NULL, 64000, 0);
	if (!s->g) {
		free(s);
		return -ENOMEM;
	}
	s->base = (rg_encoder){.ops = &g722_enc_ops, .type = t, .rate = 16000, .channels = 1};
	*out = &s->base;
	return 0;
}

static int dec_decode(rg_decoder *d, const uint8_t *in, size_t len, int16_t *pcm, unsigned cap, unsigned *samples)
{
	g722_dec *s = (g722_dec *)d;
	if (len > cap / 2)
		return -ENOBUFS;
	int n = g722_decode(s->g, pcm, in, (int)len);
	if (n != (int)(2 * len))
		return -EIO;
	plc_rx(s->plc, pcm, n);
	*samples = (unsigned)n;
	return 0;
}

static int dec_conceal(rg_decoder *d, unsigned lost, int16_t *pcm, unsigned cap, unsigned *samples)
{
	g722_dec *s = (g722_dec *)d;
	if (lost)
		rg_plc_fillin(s->plc, pcm, (int)lost);
	*samples = lost;
	return 0;
}

static void dec_free(rg_decoder *d)
{
	g722_dec *s = (g722_dec *)d;
	g722_decode_free(s->g);
	plc_free(s->plc);
	free(s);
}

static const struct rg_dec_ops g722_dec_ops = {.decode = dec_decode, .conceal = dec_conceal, .free = dec_free};

static int g722_decoder_new(rg_decoder **out, const rg_codec_type *t, const rg_codec_params *p, unsigned rate,
			    unsigned channels)
{
	if ((rate && rate != 16000) || channels != 1)
		return -EINVAL;
	g722_dec *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->g = g722_decode_init(NULL, 64000, 0);
	s->plc = plc_init(NULL);
	if (!s->g || !s->plc) {
		if (s->g)
			g722_decode_free(s->g);
		if (s->plc)
			plc_free(s->plc);
		free(s);
		return -ENOMEM;
	}
	s->base = (rg_decoder){.ops = &g722_dec_ops, .type = t, .rate = 16000, .channels = 1};
	*out = &s->base;
	return 0;
}

static const rg_codec_test_vector g722_vectors[] = {
	{.desc = "G722 64k 1 kHz", .pcm_rate = 16000, .frame_ms = 20, .frame_len = 160, .tone_hz = 1000,
	 .min_snr_db = 20},
	{.desc = "G722 64k 440 Hz", .pcm_rate = 16000, .frame_ms = 20, .frame_len = 160, .tone_hz = 440,
	 .min_snr_db = 20},
	{.desc = "G722 64k 5 kHz (upper band)", .pcm_rate = 16000, .frame_ms = 20, .frame_len = 160,
	 .tone_hz = 5000, .min_snr_db = 10},
	{0},
};

const rg_codec_type rg_codec_g722 = {
	.name = "G722", .rate = 8000, .channels = 1, .pcm_rate = 16000, .flags = RG_CODEC_F_SAMPLE_BASED,
	.desc = "G.722 64 kbit/s (RFC 3551 §4.5.2, static PT 9, RTP clock 8000 for 16 kHz audio)",
	.fmtp_parse = rg_fmtp_parse_generic, .decoder_new = g722_decoder_new, .encoder_new = g722_encoder_new,
	.test_vectors = g722_vectors,
};
