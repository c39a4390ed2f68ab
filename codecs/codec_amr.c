/* codec_amr.c: AMR (3GPP TS 26.071..26.104) through opencore-amrnb, AMR-WB (TS 26.171..26.204)
 * decoding through opencore-amrwb and encoding through vo-amrwbenc. Frames are RFC 4867 §5.3
 * storage frames (header octet + speech bits); the RTP payload formats (§4.3 bandwidth-efficient,
 * §4.4 octet-aligned) are the packetize/depacketize hooks of codecs/payload_amr.c. Four registry
 * entries: AMR and AMR-WB, each octet-aligned and bandwidth-efficient (style.md §7). */
#include "codec_priv.h"

#include <opencore-amrnb/interf_dec.h>
#include <opencore-amrnb/interf_enc.h>
#include <opencore-amrwb/dec_if.h>
#include <stdlib.h>
#include <string.h>
#include <vo-amrwbenc/enc_if.h>

#define AMR_MAX_FRAME 64 /* > 61, the largest storage frame (AMR-WB 23.85) */
/* opencore-amrnb's AMRDecode maps FT 9..14 to RX_SPEECH_BAD with the previous mode: our way to
   ask it for bad-frame concealment (its interface ignores the bfi argument and the Q bit) */
#define NB_BAD_FRAME ((14 << 3) | 0x04)

typedef struct {
	rg_encoder base;
	void *st;
	bool wb;
	bool dtx;
	int mode;
	unsigned mode_set;
} amr_enc;

typedef struct {
	rg_decoder base;
	void *st;
	bool wb;
} amr_dec;

static bool is_wb(const rg_codec_type *t)
{
	return (t->flags & RG_CODEC_F_WIDEBAND) != 0;
}

static unsigned n_modes(bool wb)
{
	return wb ? 9 : 8;
}

static unsigned frame_samples(bool wb)
{
	return wb ? 320 : 160;
}

/* ---- fmtp (RFC 4867 §8.1) ---- */

struct amr_parse {
	rg_codec_params p;
	bool wb;
};

static int amr_pair(const char *k, size_t kl, const char *v, size_t vl, void *arg)
{
	struct amr_parse *a = arg;
	rg_codec_params *p = &a->p;
	int r = rg_fmtp_common(k, kl, v, vl, p);
	if (r)
		return r < 0 ? r : 0;
	if (rg_fmtp_key_is(k, kl, "octet-align"))
		return rg_fmtp_bool(v, vl, &p->amr.octet_align);
	if (rg_fmtp_key_is(k, kl, "mode-set"))
		return rg_fmtp_list(v, vl, n_modes(a->wb) - 1, &p->amr.mode_set);
	if (rg_fmtp_key_is(k, kl, "mode-change-period"))
		return rg_fmtp_uint(v, vl, 1, 2, &p->amr.mode_change_period);
	if (rg_fmtp_key_is(k, kl, "mode-change-capability"))
		return rg_fmtp_uint(v, vl, 1, 2, &p->amr.mode_change_capability);
	if (rg_fmtp_key_is(k, kl, "mode-change-neighbor"))
		return rg_fmtp_bool(v, vl, &p->amr.mode_change_neighbor);
	if (rg_fmtp_key_is(k, kl, "crc"))
		return rg_fmtp_bool(v, vl, &p->amr.crc);
	if (rg_fmtp_key_is(k, kl, "robust-sorting"))
		return rg_fmtp_bool(v, vl, &p->amr.robust_sorting);
	if (rg_fmtp_key_is(k, kl, "interleaving"))
		return rg_fmtp_uint(v, vl, 1, 63, &p->amr.interleaving);
	if (rg_fmtp_key_is(k, kl, "max-red"))
		return rg_fmtp_uint(v, vl, 0, 65535, &p->amr.max_red);
	return 0; /* RFC 4867 §8.1: unknown parameters are ignored */
}

static int amr_fmtp_parse(const rg_codec_type *t, const char *fmtp, rg_codec_params *out)
{
	struct amr_parse a = {.p = *out, .wb = is_wb(t)};
	int err = rg_fmtp_walk(fmtp, amr_pair, &a);
	if (err)
		return err;
	/* RFC 4867 §8.1: crc, robust-sorting and interleaving imply octet-aligned operation */
	if (a.p.amr.crc || a.p.amr.robust_sorting || a.p.amr.interleaving)
		a.p.amr.octet_align = true;
	*out = a.p;
	return 0;
}

static int octet_align_pair(const char *k, size_t kl, const char *v, size_t vl, void *arg)
{
	bool *oa = arg;
	bool b;
	if ((rg_fmtp_key_is(k, kl, "octet-align") || rg_fmtp_key_is(k, kl, "crc") ||
	     rg_fmtp_key_is(k, kl, "robust-sorting")) &&
	    rg_fmtp_bool(v, vl, &b) == 0 && b)
		*oa = true;
	if (rg_fmtp_key_is(k, kl, "interleaving"))
		*oa = true;
	return 0;
}

/* RFC 4867 §8.3: octet-aligned and bandwidth-efficient are different payload formats; the
 * default (octet-align absent or 0) is bandwidth-efficient. */
static bool amr_fmtp_match(const rg_codec_type *t, const char *fmtp)
{
	bool oa = false;
	rg_fmtp_walk(fmtp, octet_align_pair, &oa);
	return oa == ((t->flags & RG_CODEC_F_OCTET_ALIGN) != 0);
}

/* ---- encoder ---- */

static int pick_mode(bool wb, unsigned mode_set, int want)
{
	unsigned all = (1u << n_modes(wb)) - 1;
	unsigned set = mode_set ? (mode_set & all) : all;
	if (!set)
		return -EINVAL;
	if (want >= 0) {
		if ((unsigned)want >= n_modes(wb) || !(set & (1u << want)))
			return -EINVAL;
		return want;
	}
	for (int m = (int)n_modes(wb) - 1; m >= 0; m--)
		if (set & (1u << m))
			return m;
	return -EINVAL;
}

static int enc_encode(rg_encoder *e, const int16_t *pcm, unsigned samples, uint8_t *out, size_t cap, size_t *outlen)
{
	amr_enc *s = (amr_enc *)e;
	if (samples != frame_samples(s->wb))
		return -EINVAL;
	uint8_t buf[AMR_MAX_FRAME];
	int n;
	if (s->wb) {
		n = E_IF_encode(s->st, s->mode, pcm, buf, s->dtx ? 1 : 0);
	} else {
		/* opencore-amrnb runs its pre-processing (high-pass, /2) in place on the "const"
		   input: hand it a copy so the caller's buffer is left alone */
		int16_t copy[160];
		memcpy(copy, pcm, sizeof(copy));
		n = Encoder_Interface_Encode(s->st, (enum Mode)s->mode, copy, buf, 0);
	}
	if (n <= 0 || n > AMR_MAX_FRAME)
		return -EIO;
	if ((size_t)n > cap)
		return -ENOBUFS;
	memcpy(out, buf, (size_t)n);
	*outlen = (size_t)n;
	return 0;
}

static int enc_set_bitrate(rg_encoder *e, unsigned bps)
{
	amr_enc *s = (amr_enc *)e;
	unsigned all = (1u << n_modes(s->wb)) - 1;
	unsigned set = s->mode_set ? (s->mode_set & all) : all;
	int best = -1, lowest = -1;
	for (unsigned m = 0; m < n_modes(s->wb); m++) {
		if (!(set & (1u << m)))
			continue;
		if (lowest < 0)
			lowest = (int)m;
		if (rg_amr_mode_bitrate(s->wb, m) <= bps)
			best = (int)m;
	}
	s->mode = best >= 0 ? best : lowest;
	return 0;
}

static void enc_free(rg_encoder *e)
{
	amr_enc *s = (amr_enc *)e;
	if (s->wb)
		E_IF_exit(s->st);
	else
		Encoder_Interface_exit(s->st);
	free(s);
}

static const struct rg_enc_ops amr_enc_ops = {.encode = enc_encode, .set_bitrate = enc_set_bitrate, .free = enc_free};

static int amr_encoder_new(rg_encoder **out, const rg_codec_type *t, const rg_codec_params *p, unsigned rate,
			   unsigned channels)
{
	bool wb = is_wb(t);
	unsigned want_rate = wb ? 16000 : 8000;
	if ((rate && rate != want_rate) || channels != 1)
		return -EINVAL;
	int mode = pick_mode(wb, p->amr.mode_set, p->amr.mode);
	if (mode < 0)
		return mode;
	amr_enc *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->wb = wb;
	s->dtx = p->amr.dtx;
	s->mode = mode;
	s->mode_set = p->amr.mode_set;
	s->st = wb ? E_IF_init() : Encoder_Interface_init(p->amr.dtx ? 1 : 0);
	if (!s->st) {
		free(s);
		return -ENOMEM;
	}
	s->base = (rg_encoder){.ops = &amr_enc_ops, .type = t, .rate = want_rate, .channels = 1};
	*out = &s->base;
	return 0;
}

/* ---- decoder ---- */

static void run_decoder(amr_dec *s, const uint8_t *frame, int16_t *pcm)
{
	if (s->wb)
		D_IF_decode(s->st, frame, pcm, _good_frame);
	else
		Decoder_Interface_Decode(s->st, frame, pcm, 0);
}

static int dec_decode(rg_decoder *d, const uint8_t *in, size_t len, int16_t *pcm, unsigned cap, unsigned *samples)
{
	amr_dec *s = (amr_dec *)d;
	unsigned fs = frame_samples(s->wb);
	if (cap < fs)
		return -ENOBUFS;
	if (in[0] & 0x83)
		return -EINVAL; /* padding bits of the storage header must be 0 (RFC 4867 §5.3) */
	unsigned ft = (in[0] >> 3) & 0x0f;
	int need = rg_amr_frame_len(s->wb, ft);
	if (need < 0 || len < (size_t)need)
		return -EINVAL;
	/* a private zero-padded copy: the libraries read whole frames and trust the header */
	uint8_t buf[AMR_MAX_FRAME] = {0};
	memcpy(buf, in, (size_t)need);
	/* Q=0, a damaged frame (RFC 4867 §4.3.2): opencore-amrnb ignores Q, so hand it a reserved
	   FT instead, which it decodes as RX_SPEECH_BAD (bad-frame substitution, TS 26.091);
	   opencore-amrwb honours Q itself */
	if (!s->wb && !(buf[0] & 0x04) && ft != 15)
		buf[0] = NB_BAD_FRAME;
	run_decoder(s, buf, pcm);
	*samples = fs;
	return 0;
}

static int dec_conceal(rg_decoder *d, unsigned lost, int16_t *pcm, unsigned cap, unsigned *samples)
{
	amr_dec *s = (amr_dec *)d;
	unsigned fs = frame_samples(s->wb);
	unsigned n = lost / fs;
	/* bad-frame substitution and muting (TS 26.091 / 26.191), comfort noise in a DTX period.
	   AMR-WB: SPEECH_LOST (FT 14). AMR: opencore-amrnb takes NO_DATA (FT 15) for DTX silence
	   and mutes, so use a reserved FT, which it treats as RX_SPEECH_BAD. */
	uint8_t buf[AMR_MAX_FRAME] = {s->wb ? (14 << 3) | 0x04 : NB_BAD_FRAME};
	for (unsigned i = 0; i < n; i++)
		run_decoder(s, buf, pcm + (size_t)i * fs);
	*samples = n * fs;
	return 0;
}

static void dec_free(rg_decoder *d)
{
	amr_dec *s = (amr_dec *)d;
	if (s->wb)
		D_IF_exit(s->st);
	else
		Decoder_Interface_exit(s->st);
	free(s);
}

static const struct rg_dec_ops amr_dec_ops = {.decode = dec_decode, .conceal = dec_conceal, .free = dec_free};

static int amr_decoder_new(rg_decoder **out, const rg_codec_type *t, const rg_codec_params *p, unsigned rate,
			   unsigned channels)
{
	bool wb = is_wb(t);
	unsigned want_rate = wb ? 16000 : 8000;
	if ((rate && rate != want_rate) || channels != 1)
		return -EINVAL;
	amr_dec *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->wb = wb;
	s->st = wb ? D_IF_init() : Decoder_Interface_init();
	if (!s->st) {
		free(s);
		return -ENOMEM;
	}
	s->base = (rg_decoder){.ops = &amr_dec_ops, .type = t, .rate = want_rate, .channels = 1};
	*out = &s->base;
	return 0;
}

/* ---- types ---- */

/* tone SNR of a CELP codec is low and level-dependent: segmental SNR thresholds, see README */
static const rg_codec_test_vector amr_vectors[] = {
	{.desc = "AMR 12.2 1 kHz", .pcm_rate = 8000, .frame_ms = 20, .amr_mode = 7, .frame_len = 32,
	 .tone_hz = 1000, .min_snr_db = 5, .segmental = true},
	{.desc = "AMR 12.2 440 Hz", .pcm_rate = 8000, .frame_ms = 20, .amr_mode = 7, .frame_len = 32,
	 .tone_hz = 440, .min_snr_db = 5, .segmental = true},
	{.desc = "AMR 4.75 1 kHz", .pcm_rate = 8000, .frame_ms = 20, .amr_mode = 0, .frame_len = 13,
	 .tone_hz = 1000, .min_snr_db = 0, .segmental = true},
	{0},
};

static const rg_codec_test_vector amrwb_vectors[] = {
	{.desc = "AMR-WB 23.85 1 kHz", .pcm_rate = 16000, .frame_ms = 20, .amr_mode = 8, .frame_len = 61,
	 .tone_hz = 1000, .min_snr_db = 5, .segmental = true},
	{.desc = "AMR-WB 23.85 440 Hz", .pcm_rate = 16000, .frame_ms = 20, .amr_mode = 8, .frame_len = 61,
	 .tone_hz = 440, .min_snr_db = 5, .segmental = true},
	{.desc = "AMR-WB 12.65 1 kHz", .pcm_rate = 16000, .frame_ms = 20, .amr_mode = 2, .frame_len = 33,
	 .tone_hz = 1000, .min_snr_db = 3, .segmental = true},
	{.desc = "AMR-WB 6.60 1 kHz", .pcm_rate = 16000, .frame_ms = 20, .amr_mode = 0, .frame_len = 18,
	 .tone_hz = 1000, .min_snr_db = 0, .segmental = true},
	{0},
};

#ifdef RG_HAVE_PAYLOAD_AMR
/* ---- payload format hooks: adapters to codecs/payload_amr.c (rg_payload.h) ---- */
#include "rg_payload.h"

static int amr_cfg(const rg_codec_type *t, const rg_codec_params *p, struct rg_amr_cfg *cfg)
{
	*cfg = (struct rg_amr_cfg){
		.variant = is_wb(t) ? RG_AMR_WB : RG_AMR_NB,
		.mode_set = (uint16_t)p->amr.mode_set,
		.crc = p->amr.crc,
		.robust_sorting = p->amr.robust_sorting,
		.interleaving = p->amr.interleaving,
	};
	return 0;
}

static int amr_packetize(const rg_codec_type *t, const rg_codec_params *p, const rg_frame *frames, unsigned n,
			 uint8_t *out, size_t cap, size_t *outlen)
{
	if (n == 0 || n > RG_AMR_MAX_FRAMES)
		return -EINVAL;
	uint8_t buf[RG_AMR_MAX_FRAMES * RG_AMR_MAX_STORAGE_FRAME];
	size_t len = 0;
	for (unsigned i = 0; i < n; i++) {
		if (frames[i].len > RG_AMR_MAX_STORAGE_FRAME)
			return -EINVAL;
		memcpy(buf + len, frames[i].data, frames[i].len);
		len += frames[i].len;
	}
	struct rg_amr_cfg cfg;
	amr_cfg(t, p, &cfg);
	uint8_t cmr = (uint8_t)(p->amr.cmr > 15 ? RG_AMR_CMR_NONE : p->amr.cmr);
	int err = (t->flags & RG_CODEC_F_OCTET_ALIGN) ? rg_amr_oa_packetize(&cfg, cmr, buf, len, out, cap, outlen)
						      : rg_amr_be_packetize(&cfg, cmr, buf, len, out, cap, outlen);
	return err == -ENOSPC ? -ENOBUFS : err;
}

static int amr_depacketize(const rg_codec_type *t, const rg_codec_params *p, const uint8_t *payload, size_t len,
			   rg_depkt *out)
{
	struct rg_amr_cfg cfg;
	amr_cfg(t, p, &cfg);
	struct rg_amr_info info;
	int err = (t->flags & RG_CODEC_F_OCTET_ALIGN)
			  ? rg_amr_oa_depacketize(&cfg, payload, len, out->buf, sizeof(out->buf), &info)
			  : rg_amr_be_depacketize(&cfg, payload, len, out->buf, sizeof(out->buf), &info);
	if (err)
		return err == -ENOSPC ? -ENOBUFS : err;
	if (info.nframes > RG_DEPKT_MAX_FRAMES)
		return -ENOBUFS;
	size_t off = 0;
	for (unsigned i = 0; i < info.nframes; i++) {
		int fl = rg_amr_storage_len(cfg.variant, out->buf[off]);
		if (fl < 0 || off + (size_t)fl > info.len)
			return -EINVAL;
		out->frame[i] = (rg_frame){out->buf + off, (size_t)fl};
		off += (size_t)fl;
	}
	out->n = info.nframes;
	out->cmr = info.cmr;
	return 0;
}

#define AMR_PACKETIZE amr_packetize
#define AMR_DEPACKETIZE amr_depacketize
#else
#define AMR_PACKETIZE NULL
#define AMR_DEPACKETIZE NULL
#endif

#define AMR_TYPE(ident, nm, clk, fl, d, vec)                                                           \
	const rg_codec_type ident = {                                                                  \
		.name = nm, .rate = clk, .channels = 1, .pcm_rate = clk, .flags = RG_CODEC_F_AMR | (fl), \
		.frame_ms = {20}, .desc = d, .fmtp_parse = amr_fmtp_parse, .fmtp_match = amr_fmtp_match, \
		.decoder_new = amr_decoder_new, .encoder_new = amr_encoder_new,                         \
		.packetize = AMR_PACKETIZE, .depacketize = AMR_DEPACKETIZE, .test_vectors = vec,        \
	}

AMR_TYPE(rg_codec_amr_be, "AMR", 8000, 0, "AMR, bandwidth-efficient (RFC 4867 §4.3)", amr_vectors);
AMR_TYPE(rg_codec_amr_oa, "AMR", 8000, RG_CODEC_F_OCTET_ALIGN, "AMR, octet-aligned (RFC 4867 §4.4)", amr_vectors);
AMR_TYPE(rg_codec_amrwb_be, "AMR-WB", 16000, RG_CODEC_F_WIDEBAND, "AMR-WB, bandwidth-efficient (RFC 4867 §4.3)",
	 amrwb_vectors);
AMR_TYPE(rg_codec_amrwb_oa, "AMR-WB", 16000, RG_CODEC_F_WIDEBAND | RG_CODEC_F_OCTET_ALIGN,
	 "AMR-WB, octet-aligned (RFC 4867 §4.4)", amrwb_vectors);
