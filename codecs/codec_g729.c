/* codec_g729.c: G.729 / G.729A at 8 kbit/s through bcg729 (Debian libbcg729), with the Annex B
 * comfort noise frames a peer may send.
 *
 * RTP (RFC 3551 §4.5.6, static PT 18, clock 8000): a payload is zero or more 10-octet speech
 * frames (10 ms, 80 samples each) followed by at most one 2-octet Annex B SID frame. This
 * file's frame format is the same thing, so the payload is decoded whole (no depacketize hook)
 * and packetize only concatenates encoder output:
 *  - the encoder takes any multiple of 80 samples and writes 10 octets per 80 (its VAD is off:
 *    every frame is speech, which a receiver with or without annexb=yes decodes);
 *  - the decoder takes 10 x k octets, optionally plus a 2-octet SID at the end; a SID decodes
 *    to 10 ms of comfort noise. A payload of any other length is -EINVAL.
 * Loss: rg_dec_conceal runs bcg729's frame erasure, which after speech is the G.729 concealment
 * and after a SID is more comfort noise (Annex B: a DTX sender sends nothing between SIDs). */
#include "codec_priv.h"

#include <bcg729/decoder.h>
#include <bcg729/encoder.h>
#include <stdlib.h>
#include <string.h>

#define G729_FRAME_SAMPLES 80
#define G729_FRAME_OCTETS 10
#define G729_SID_OCTETS 2

typedef struct {
	rg_encoder base;
	bcg729EncoderChannelContextStruct *c;
} g729_enc;

typedef struct {
	rg_decoder base;
	bcg729DecoderChannelContextStruct *c;
} g729_dec;

static int enc_encode(rg_encoder *e, const int16_t *pcm, unsigned samples, uint8_t *out, size_t cap, size_t *outlen)
{
	g729_enc *s = (g729_enc *)e;
	if (samples == 0 || samples % G729_FRAME_SAMPLES)
		return -EINVAL;
	unsigned frames = samples / G729_FRAME_SAMPLES;
	if (cap < (size_t)frames * G729_FRAME_OCTETS)
		return -ENOBUFS;
	size_t n = 0;
	for (unsigned f = 0; f < frames; f++) {
		uint8_t len = 0;
		bcg729Encoder(s->c, pcm + (size_t)f * G729_FRAME_SAMPLES, out + n, &len);
		if (len != G729_FRAME_OCTETS)   /* VAD is off: anything else is a library failure */
			return -EIO;
		n += len;
	}
	*outlen = n;
	return 0;
}

static void enc_free(rg_encoder *e)
{
	g729_enc *s = (g729_enc *)e;
	closeBcg729EncoderChannel(s->c);
	free(s);
}

static const struct rg_enc_ops g729_enc_ops = {.encode = enc_encode, .free = enc_free};

static int g729_encoder_new(rg_encoder **out, const rg_codec_type *t, const rg_codec_params *p, unsigned rate,
			    unsigned channels)
{
	if ((rate && rate != 8000) || channels != 1)
		return -EINVAL;
	g729_enc *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->c = initBcg729EncoderChannel(0);
	if (!s->c) {
		free(s);
		return -ENOMEM;
	}
	s->base = (rg_encoder){.ops = &g729_enc_ops, .type = t, .rate = 8000, .channels = 1};
	*out = &s->base;
	return 0;
}

static int dec_decode(rg_decoder *d, const uint8_t *in, size_t len, int16_t *pcm, unsigned cap, unsigned *samples)
{
	g729_dec *s = (g729_dec *)d;
	size_t speech = len / G729_FRAME_OCTETS, rest = len % G729_FRAME_OCTETS;
	if (len == 0 || (rest != 0 && rest != G729_SID_OCTETS))
		return -EINVAL;
	size_t frames = speech + (rest ? 1 : 0);
	if ((size_t)cap < frames * G729_FRAME_SAMPLES)
		return -ENOBUFS;
	for (size_t f = 0; f < speech; f++)
		bcg729Decoder(s->c, in + f * G729_FRAME_OCTETS, G729_FRAME_OCTETS, 0, 0, 0, pcm + f * G729_FRAME_SAMPLES);
	if (rest)
		bcg729Decoder(s->c, in + speech * G729_FRAME_OCTETS, G729_SID_OCTETS, 0, 1, 0,
			      pcm + speech * G729_FRAME_SAMPLES);
	*samples = (unsigned)(frames * G729_FRAME_SAMPLES);
	return 0;
}

static int dec_conceal(rg_decoder *d, unsigned lost, int16_t *pcm, unsigned cap, unsigned *samples)
{
	g729_dec *s = (g729_dec *)d;
	unsigned frames = lost / G729_FRAME_SAMPLES;
	if (cap < frames * G729_FRAME_SAMPLES)
		return -ENOBUFS;
	for (unsigned f = 0; f < frames; f++)
		bcg729Decoder(s->c, NULL, 0, 1, 0, 0, pcm + (size_t)f * G729_FRAME_SAMPLES);
	*samples = frames * G729_FRAME_SAMPLES;
	return 0;
}

static void dec_free(rg_decoder *d)
{
	g729_dec *s = (g729_dec *)d;
	closeBcg729DecoderChannel(s->c);
	free(s);
}

static const struct rg_dec_ops g729_dec_ops = {.decode = dec_decode, .conceal = dec_conceal, .free = dec_free};

static int g729_decoder_new(rg_decoder **out, const rg_codec_type *t, const rg_codec_params *p, unsigned rate,
			    unsigned channels)
{
	if ((rate && rate != 8000) || channels != 1)
		return -EINVAL;
	g729_dec *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->c = initBcg729DecoderChannel();
	if (!s->c) {
		free(s);
		return -ENOMEM;
	}
	s->base = (rg_decoder){.ops = &g729_dec_ops, .type = t, .rate = 8000, .channels = 1};
	*out = &s->base;
	return 0;
}

/* n encoder outputs, consecutive in time, into one payload: they are concatenated */
static int g729_packetize(const rg_codec_type *t, const rg_codec_params *p, const rg_frame *frames, unsigned n,
			  uint8_t *out, size_t cap, size_t *outlen)
{
	size_t len = 0;
	for (unsigned i = 0; i < n; i++) {
		if (frames[i].len == 0 || frames[i].len % G729_FRAME_OCTETS)
			return -EINVAL;
		if (frames[i].len > cap - len)
			return -ENOBUFS;
		memcpy(out + len, frames[i].data, frames[i].len);
		len += frames[i].len;
	}
	*outlen = len;
	return 0;
}

static const rg_codec_test_vector g729_vectors[] = {
	/* thresholds: measured (10.5 and 25.8 dB segmental) minus a margin */
	{.desc = "G729 1 kHz", .pcm_rate = 8000, .frame_ms = 10, .frame_len = 10, .tone_hz = 1000,
	 .min_snr_db = 7, .segmental = true},
	{.desc = "G729 440 Hz, 20 ms a call", .pcm_rate = 8000, .frame_ms = 20, .frame_len = 20, .tone_hz = 440,
	 .min_snr_db = 18, .segmental = true},
	{0},
};

const rg_codec_type rg_codec_g729 = {
	.name = "G729", .rate = 8000, .channels = 1, .pcm_rate = 8000, .frame_ms = {10},
	.desc = "G.729/G.729A 8 kbit/s (RFC 3551 §4.5.6, static PT 18; Annex B SID frames decoded)",
	.fmtp_parse = rg_fmtp_parse_generic, .decoder_new = g729_decoder_new, .encoder_new = g729_encoder_new,
	.packetize = g729_packetize, .test_vectors = g729_vectors,
};
