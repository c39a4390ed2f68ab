/* codec_opus.c: Opus (RFC 6716) in RTP (RFC 7587) through libopus. Encodes and decodes directly
 * at 8, 12, 16, 24 or 48 kHz, mono or stereo; the RTP clock is always 48000 (RFC 7587 §4.1). */
#include "codec_priv.h"

#include <opus.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	rg_encoder base;
	OpusEncoder *o;
} opus_enc;

typedef struct {
	rg_decoder base;
	OpusDecoder *o;
} opus_dec;

static bool rate_ok(unsigned r)
{
	return r == 8000 || r == 12000 || r == 16000 || r == 24000 || r == 48000;
}

static int from_opus_err(int e)
{
	switch (e) {
	case OPUS_BAD_ARG:
		return -EINVAL;
	case OPUS_BUFFER_TOO_SMALL:
		return -ENOBUFS;
	case OPUS_INVALID_PACKET:
		return -EINVAL;
	case OPUS_ALLOC_FAIL:
		return -ENOMEM;
	case OPUS_UNIMPLEMENTED:
		return -ENOTSUP;
	default:
		return -EIO;
	}
}

/* ---- fmtp (RFC 7587 §6.1, §7) ---- */

static int opus_pair(const char *k, size_t kl, const char *v, size_t vl, void *arg)
{
	rg_codec_params *p = arg;
	int r = rg_fmtp_common(k, kl, v, vl, p);
	if (r)
		return r < 0 ? r : 0;
	if (rg_fmtp_key_is(k, kl, "maxplaybackrate"))
		return rg_fmtp_uint(v, vl, 8000, 48000, &p->opus.maxplaybackrate);
	if (rg_fmtp_key_is(k, kl, "sprop-maxcapturerate"))
		return rg_fmtp_uint(v, vl, 8000, 48000, &p->opus.sprop_maxcapturerate);
	if (rg_fmtp_key_is(k, kl, "maxaveragebitrate"))
		return rg_fmtp_uint(v, vl, 6000, 510000, &p->opus.maxaveragebitrate);
	if (rg_fmtp_key_is(k, kl, "stereo"))
		return rg_fmtp_bool(v, vl, &p->opus.stereo);
	if (rg_fmtp_key_is(k, kl, "sprop-stereo"))
		return rg_fmtp_bool(v, vl, &p->opus.sprop_stereo);
	if (rg_fmtp_key_is(k, kl, "cbr"))
		return rg_fmtp_bool(v, vl, &p->opus.cbr);
	if (rg_fmtp_key_is(k, kl, "useinbandfec"))
		return rg_fmtp_bool(v, vl, &p->opus.useinbandfec);
	if (rg_fmtp_key_is(k, kl, "usedtx"))
		return rg_fmtp_bool(v, vl, &p->opus.usedtx);
	return 0; /* RFC 7587 §7: unknown parameters are ignored */
}

static int opus_fmtp_parse(const rg_codec_type *t, const char *fmtp, rg_codec_params *out)
{
	rg_codec_params p = *out;
	int err = rg_fmtp_walk(fmtp, opus_pair, &p);
	if (err)
		return err;
	*out = p;
	return 0;
}

/* ---- encoder ---- */

static unsigned default_bitrate(unsigned rate, unsigned channels)
{
	unsigned b = rate <= 8000 ? 24000 : rate <= 16000 ? 32000 : 48000;
	return channels == 2 ? b * 3 / 2 : b;
}

static int enc_encode(rg_encoder *e, const int16_t *pcm, unsigned samples, uint8_t *out, size_t cap, size_t *outlen)
{
	opus_enc *s = (opus_enc *)e;
	/* 2.5, 5, 10, 20, 40 or 60 ms */
	unsigned unit = e->rate / 400;
	unsigned q = samples / unit;
	if (samples % unit || !(q == 1 || q == 2 || q == 4 || q == 8 || q == 16 || q == 24))
		return -EINVAL;
	int n = opus_encode(s->o, pcm, (int)samples, out, (opus_int32)(cap > 0x7fffffff ? 0x7fffffff : cap));
	if (n < 0)
		return from_opus_err(n);
	*outlen = (size_t)n;
	return 0;
}

static int enc_set_bitrate(rg_encoder *e, unsigned bps)
{
	opus_enc *s = (opus_enc *)e;
	if (bps < 6000 || bps > 510000)
		return -EINVAL;
	int r = opus_encoder_ctl(s->o, OPUS_SET_BITRATE((opus_int32)bps));
	return r == OPUS_OK ? 0 : from_opus_err(r);
}

static void enc_free(rg_encoder *e)
{
	opus_enc *s = (opus_enc *)e;
	opus_encoder_destroy(s->o);
	free(s);
}

static const struct rg_enc_ops opus_enc_ops = {.encode = enc_encode, .set_bitrate = enc_set_bitrate, .free = enc_free};

static opus_int32 bandwidth_for(unsigned maxplaybackrate)
{
	/* RFC 7587 §6.1: maxplaybackrate is a hint for the encoder's audio bandwidth */
	if (maxplaybackrate <= 8000)
		return OPUS_BANDWIDTH_NARROWBAND;
	if (maxplaybackrate <= 12000)
		return OPUS_BANDWIDTH_MEDIUMBAND;
	if (maxplaybackrate <= 16000)
		return OPUS_BANDWIDTH_WIDEBAND;
	if (maxplaybackrate <= 24000)
		return OPUS_BANDWIDTH_SUPERWIDEBAND;
	return OPUS_BANDWIDTH_FULLBAND;
}

static int opus_encoder_new(rg_encoder **out, const rg_codec_type *t, const rg_codec_params *p, unsigned rate,
			    unsigned channels)
{
	if (!rate)
		rate = 48000;
	if (!rate_ok(rate) || channels < 1 || channels > 2)
		return -EINVAL;
	int complexity = p->opus.complexity < 0 ? RG_OPUS_DEFAULT_COMPLEXITY : p->opus.complexity;
	if (complexity > 10)
		return -EINVAL;
	unsigned bitrate = p->opus.bitrate ? p->opus.bitrate : default_bitrate(rate, channels);
	if (p->opus.maxaveragebitrate && bitrate > p->opus.maxaveragebitrate)
		bitrate = p->opus.maxaveragebitrate;
	if (bitrate < 6000 || bitrate > 510000)
		return -EINVAL;

	int err = 0;
	opus_enc *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int oe;
	s->o = opus_encoder_create((opus_int32)rate, (int)channels, OPUS_APPLICATION_VOIP, &oe);
	if (!s->o) {
		err = from_opus_err(oe);
		goto out;
	}
	unsigned loss = p->opus.packet_loss_perc ? p->opus.packet_loss_perc : (p->opus.useinbandfec ? 10 : 0);
	if (opus_encoder_ctl(s->o, OPUS_SET_BITRATE((opus_int32)bitrate)) != OPUS_OK ||
	    opus_encoder_ctl(s->o, OPUS_SET_COMPLEXITY(complexity)) != OPUS_OK ||
	    opus_encoder_ctl(s->o, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)) != OPUS_OK ||
	    opus_encoder_ctl(s->o, OPUS_SET_VBR(p->opus.cbr ? 0 : 1)) != OPUS_OK ||
	    opus_encoder_ctl(s->o, OPUS_SET_DTX(p->opus.usedtx ? 1 : 0)) != OPUS_OK ||
	    opus_encoder_ctl(s->o, OPUS_SET_INBAND_FEC(p->opus.useinbandfec ? 1 : 0)) != OPUS_OK ||
	    opus_encoder_ctl(s->o, OPUS_SET_PACKET_LOSS_PERC((int)(loss > 100 ? 100 : loss))) != OPUS_OK ||
	    opus_encoder_ctl(s->o, OPUS_SET_MAX_BANDWIDTH(bandwidth_for(p->opus.maxplaybackrate))) != OPUS_OK) {
		err = -EINVAL;
		goto out;
	}
	/* a stereo encoder for a peer that said stereo=0 (the default) would waste bits */
	if (channels == 2 && !p->opus.stereo)
		opus_encoder_ctl(s->o, OPUS_SET_FORCE_CHANNELS(1));
	s->base = (rg_encoder){.ops = &opus_enc_ops, .type = t, .rate = rate, .channels = channels};
	*out = &s->base;
	s = NULL;
out:
	if (s) {
		if (s->o)
			opus_encoder_destroy(s->o);
		free(s);
	}
	return err;
}

/* ---- decoder ---- */

static int dec_decode(rg_decoder *d, const uint8_t *in, size_t len, int16_t *pcm, unsigned cap, unsigned *samples)
{
	opus_dec *s = (opus_dec *)d;
	if (len > 0x7fffffff)
		return -EINVAL;
	int ns = opus_decoder_get_nb_samples(s->o, in, (opus_int32)len);
	if (ns < 0)
		return from_opus_err(ns);
	if ((unsigned)ns > cap)
		return -ENOBUFS;
	int n = opus_decode(s->o, in, (opus_int32)len, pcm, (int)cap, 0);
	if (n < 0)
		return from_opus_err(n);
	*samples = (unsigned)n;
	return 0;
}

static int dec_conceal(rg_decoder *d, unsigned lost, int16_t *pcm, unsigned cap, unsigned *samples)
{
	opus_dec *s = (opus_dec *)d;
	unsigned unit = d->rate / 400; /* opus PLC works in 2.5 ms steps */
	unsigned n = lost / unit * unit;
	if (!n) {
		*samples = 0;
		return 0;
	}
	int r = opus_decode(s->o, NULL, 0, pcm, (int)n, 0);
	if (r < 0)
		return from_opus_err(r);
	*samples = (unsigned)r;
	return 0;
}

static int dec_decode_fec(rg_decoder *d, const uint8_t *next, size_t len, unsigned lost, int16_t *pcm, unsigned cap,
			  unsigned *samples)
{
	opus_dec *s = (opus_dec *)d;
	unsigned unit = d->rate / 400;
	unsigned n = lost / unit * unit;
	if (!n) {
		*samples = 0;
		return 0;
	}
	if (len > 0x7fffffff)
		return -EINVAL;
	/* libopus: with decode_fec, frame_size must be exactly the missing duration; it conceals what
	   precedes the last frame and rebuilds that frame from next's LBRR data (or conceals it too
	   if next has none) */
	int r = opus_decode(s->o, next, (opus_int32)len, pcm, (int)n, 1);
	if (r < 0)
		return from_opus_err(r);
	*samples = (unsigned)r;
	return 0;
}

static void dec_free(rg_decoder *d)
{
	opus_dec *s = (opus_dec *)d;
	opus_decoder_destroy(s->o);
	free(s);
}

static const struct rg_dec_ops opus_dec_ops = {
	.decode = dec_decode, .conceal = dec_conceal, .decode_fec = dec_decode_fec, .free = dec_free};

static int opus_decoder_new(rg_decoder **out, const rg_codec_type *t, const rg_codec_params *p, unsigned rate,
			    unsigned channels)
{
	if (!rate)
		rate = 48000;
	if (!rate_ok(rate) || channels < 1 || channels > 2)
		return -EINVAL;
	opus_dec *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int oe;
	s->o = opus_decoder_create((opus_int32)rate, (int)channels, &oe);
	if (!s->o) {
		free(s);
		return from_opus_err(oe);
	}
	s->base = (rg_decoder){.ops = &opus_dec_ops, .type = t, .rate = rate, .channels = channels};
	*out = &s->base;
	return 0;
}

/* ---- packetize: several Opus frames of one encoder -> one Opus packet (RFC 6716 §3.2, code 1
 * or 3), for a ptime that is no Opus frame duration (30, 50 ms). RFC 7587 §4.2: one Opus packet
 * per RTP payload. ---- */

static int opus_packetize(const rg_codec_type *t, const rg_codec_params *p, const rg_frame *frames, unsigned n,
			  uint8_t *out, size_t cap, size_t *outlen)
{
	if (n == 0)
		return -EINVAL;
	if (n == 1) {
		if (frames[0].len > cap)
			return -ENOBUFS;
		memcpy(out, frames[0].data, frames[0].len);
		*outlen = frames[0].len;
		return 0;
	}
	/* the repacketizer is a small fixed struct; keep it on the stack (no allocation per packet) */
	alignas(max_align_t) unsigned char mem[2048];
	if ((size_t)opus_repacketizer_get_size() > sizeof(mem))
		return -ENOMEM;
	OpusRepacketizer *rp = opus_repacketizer_init((OpusRepacketizer *)mem);
	for (unsigned i = 0; i < n; i++) {
		int r = opus_repacketizer_cat(rp, frames[i].data, (opus_int32)frames[i].len);
		if (r != OPUS_OK)
			return from_opus_err(r);
	}
	opus_int32 r = opus_repacketizer_out(rp, out, (opus_int32)(cap > 0x7fffffff ? 0x7fffffff : cap));
	if (r < 0)
		return from_opus_err(r);
	*outlen = (size_t)r;
	return 0;
}

static const rg_codec_test_vector opus_vectors[] = {
	{.desc = "opus 8 kHz 24 kbit/s 1 kHz", .pcm_rate = 8000, .frame_ms = 20, .opus_bitrate = 24000,
	 .tone_hz = 1000, .min_snr_db = 12},
	{.desc = "opus 8 kHz 24 kbit/s 440 Hz", .pcm_rate = 8000, .frame_ms = 20, .opus_bitrate = 24000,
	 .tone_hz = 440, .min_snr_db = 12},
	{.desc = "opus 16 kHz 32 kbit/s 1 kHz", .pcm_rate = 16000, .frame_ms = 20, .opus_bitrate = 32000,
	 .tone_hz = 1000, .min_snr_db = 12},
	{.desc = "opus 48 kHz 48 kbit/s 1 kHz", .pcm_rate = 48000, .frame_ms = 20, .opus_bitrate = 48000,
	 .tone_hz = 1000, .min_snr_db = 12},
	{.desc = "opus 48 kHz 48 kbit/s 10 ms 440 Hz", .pcm_rate = 48000, .frame_ms = 10, .opus_bitrate = 48000,
	 .tone_hz = 440, .min_snr_db = 12},
	{0},
};

const rg_codec_type rg_codec_opus = {
	.name = "opus", .rate = 48000, .channels = 2, .pcm_rate = 0, .flags = RG_CODEC_F_OPUS,
	.frame_ms = {10, 20, 40, 60},
	.desc = "Opus (RFC 6716, RTP RFC 7587; clock 48000, /2 always)",
	.fmtp_parse = opus_fmtp_parse, .decoder_new = opus_decoder_new, .encoder_new = opus_encoder_new,
	.packetize = opus_packetize, .test_vectors = opus_vectors,
};
