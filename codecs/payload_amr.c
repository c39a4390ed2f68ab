/* payload_amr.c: AMR and AMR-WB RTP payload format (RFC 4867 section 4), octet-aligned and
 * bandwidth-efficient mode, to and from the storage frame format (RFC 4867 section 5.3).
 * See rg_payload.h for the API (codec_amr.c adapts it to the rg_codec_type hooks).
 * Interleaving, frame CRCs and robust sorting (octet-aligned options) and multi-channel payloads
 * are not supported. */
#include "rg_payload.h"

#include <errno.h>
#include <string.h>

/* Speech bits per frame type, class A+B+C (3GPP TS 26.101 table 1a for AMR, TS 26.201 table 1a
 * for AMR-WB, to which RFC 4867 section 4.3.2 defers for FT).
 * -1: reserved / not allowed in this payload format (RFC 4867 section 4.3.2: FT 9-14 for AMR,
 * 10-13 for AMR-WB make the receiver discard the whole payload). */
static const int16_t amr_nb_bits[16] = {
	95,  /* 0: 4.75 kbit/s */
	103, /* 1: 5.15 */
	118, /* 2: 5.90 */
	134, /* 3: 6.70 */
	148, /* 4: 7.40 */
	159, /* 5: 7.95 */
	204, /* 6: 10.2 */
	244, /* 7: 12.2 */
	39,  /* 8: AMR SID */
	-1, -1, -1, /* 9-11: GSM-EFR / TDMA-EFR / PDC-EFR SID, not used by RFC 4867 */
	-1, -1, -1, /* 12-14: for future use */
	0,   /* 15: NO_DATA */
};

static const int16_t amr_wb_bits[16] = {
	132, /* 0: 6.60 kbit/s */
	177, /* 1: 8.85 */
	253, /* 2: 12.65 */
	285, /* 3: 14.25 */
	317, /* 4: 15.85 */
	365, /* 5: 18.25 */
	397, /* 6: 19.85 */
	461, /* 7: 23.05 */
	477, /* 8: 23.85 */
	40,  /* 9: AMR-WB SID */
	-1, -1, -1, -1, /* 10-13: for future use */
	0,   /* 14: SPEECH_LOST */
	0,   /* 15: NO_DATA */
};

struct amr_frame {
	uint8_t ft, q;
	uint16_t bits;
	const uint8_t *data; /* packetize: speech octets in the storage frame */
	size_t bitpos;       /* depacketize: first speech bit in the payload */
};

static const int16_t *bits_table(enum rg_amr_variant v)
{
	return v == RG_AMR_WB ? amr_wb_bits : amr_nb_bits;
}

static uint16_t speech_modes(enum rg_amr_variant v)
{
	return v == RG_AMR_WB ? 0x1ff : 0xff;
}

int rg_amr_frame_bits(enum rg_amr_variant v, unsigned ft)
{
	if ((v != RG_AMR_NB && v != RG_AMR_WB) || ft > 15)
		return -EINVAL;
	int bits = bits_table(v)[ft];
	return bits < 0 ? -EINVAL : bits;
}

int rg_amr_storage_len(enum rg_amr_variant v, uint8_t hdr)
{
	/* RFC 4867 section 5.3: header octet P(1) FT(4) Q(1) P(2), speech bits padded to octets */
	int bits = rg_amr_frame_bits(v, (hdr >> 3) & 0x0f);
	if (bits < 0)
		return bits;
	return 1 + (bits + 7) / 8;
}

bool rg_amr_ft_is_speech(enum rg_amr_variant v, unsigned ft)
{
	return (v == RG_AMR_NB || v == RG_AMR_WB) && ft < 16 && (speech_modes(v) >> ft & 1);
}

/* Validates cfg; *set gets the effective mode set. */
static int cfg_check(const struct rg_amr_cfg *cfg, uint16_t *set)
{
	if (!cfg || (cfg->variant != RG_AMR_NB && cfg->variant != RG_AMR_WB))
		return -EINVAL;
	if (cfg->crc || cfg->robust_sorting || cfg->interleaving)
		return -ENOTSUP;
	uint16_t all = speech_modes(cfg->variant);
	if (cfg->mode_set & ~all)
		return -EINVAL;
	*set = cfg->mode_set ? cfg->mode_set : all;
	return 0;
}

/* RFC 4867 section 4.3.1: CMR 15 = no request, reserved values ignored; a request means "not
 * higher than mode X", mapped into the negotiated mode set (section 8.1 mode-set). */
static uint8_t cmr_effective(enum rg_amr_variant v, uint16_t set, uint8_t raw)
{
	if (!rg_amr_ft_is_speech(v, raw))
		return RG_AMR_CMR_NONE;
	if (set >> raw & 1)
		return raw;
	for (int m = raw - 1; m >= 0; m--)
		if (set >> m & 1)
			return (uint8_t)m;
	for (unsigned m = 0; m < 16; m++)
		if (set >> m & 1)
			return (uint8_t)m;
	return RG_AMR_CMR_NONE; /* unreachable: set is never empty */
}

static int cmr_check(enum rg_amr_variant v, uint16_t set, uint8_t cmr)
{
	if (cmr == RG_AMR_CMR_NONE)
		return 0;
	return rg_amr_ft_is_speech(v, cmr) && (set >> cmr & 1) ? 0 : -EINVAL;
}

/* ---- bit access, most significant bit first (RFC 4867 section 4.3: "transmitted in network
 * byte order", bit 0 the MSB of the first octet) ---- */

/* OR n <= 8 bits (right-aligned in val) into the zeroed buffer p at bit position pos. */
static void put_bits(uint8_t *p, size_t pos, unsigned val, unsigned n)
{
	for (unsigned i = 0; i < n; i++, pos++)
		if (val >> (n - 1 - i) & 1)
			p[pos >> 3] |= (uint8_t)(0x80 >> (pos & 7));
}

static unsigned get_bits(const uint8_t *p, size_t pos, unsigned n)
{
	unsigned v = 0;
	for (unsigned i = 0; i < n; i++, pos++)
		v = (v << 1) | ((p[pos >> 3] >> (7 - (pos & 7))) & 1);
	return v;
}

/* Copy nbits from the octet-aligned src into the zeroed dst at bit position dpos. */
static void copy_bits_to(uint8_t *dst, size_t dpos, const uint8_t *src, size_t nbits)
{
	size_t full = nbits / 8;
	unsigned sh = dpos & 7;
	uint8_t *d = dst + (dpos >> 3);
	for (size_t i = 0; i < full; i++) {
		d[i] |= (uint8_t)(src[i] >> sh);
		if (sh)
			d[i + 1] |= (uint8_t)(src[i] << (8 - sh));
	}
	unsigned rest = nbits & 7;
	if (rest)
		put_bits(dst, dpos + full * 8, src[full] >> (8 - rest), rest);
}

/* Copy nbits at bit position spos of src (which holds at least spos + nbits bits) into the
 * zeroed, octet-aligned dst. */
static void copy_bits_from(uint8_t *dst, const uint8_t *src, size_t spos, size_t nbits)
{
	size_t full = nbits / 8;
	unsigned sh = spos & 7;
	const uint8_t *s = src + (spos >> 3);
	for (size_t i = 0; i < full; i++) {
		/* the 8 bits end at spos + 8i + 7 < spos + nbits: s[i + 1] is inside when sh != 0 */
		dst[i] = sh ? (uint8_t)(s[i] << sh | s[i + 1] >> (8 - sh)) : s[i];
	}
	unsigned rest = nbits & 7;
	if (rest)
		dst[full] = (uint8_t)(get_bits(src, spos + full * 8, rest) << (8 - rest));
}


/* ---- packetize ---- */

/* Checks one storage frame of len octets (the header octet first) and describes it in *f. */
static int storage_frame(enum rg_amr_variant v, uint16_t set, const uint8_t *p, size_t len,
			 struct amr_frame *f)
{
	if (!p || !len)
		return -EINVAL;
	unsigned ft = (p[0] >> 3) & 0x0f;
	int bits = bits_table(v)[ft];
	if (bits < 0)
		return -EINVAL;
	/* RFC 4867 section 8.1 mode-set: the sender uses only modes from the set */
	if (rg_amr_ft_is_speech(v, ft) && !(set >> ft & 1))
		return -EINVAL;
	if (len - 1 < ((size_t)bits + 7) / 8)
		return -EINVAL;
	f->ft = (uint8_t)ft;
	f->q = (p[0] >> 2) & 1;
	f->bits = (uint16_t)bits;
	f->data = p + 1;
	f->bitpos = 0;
	return 0;
}

/* Splits back-to-back storage frames (each one's length follows from its header). */
static int scan_storage(enum rg_amr_variant v, uint16_t set, const uint8_t *frames, size_t len,
			struct amr_frame *f, unsigned *nframes)
{
	size_t off = 0;
	unsigned n = 0;
	int err;

	if (!frames || !len)
		return -EINVAL;
	while (off < len) {
		if (n == RG_AMR_MAX_FRAMES)
			return -EINVAL;
		if ((err = storage_frame(v, set, frames + off, len - off, &f[n])))
			return err;
		off += 1 + ((size_t)f[n].bits + 7) / 8;
		n++;
	}
	*nframes = n;
	return 0;
}

static int pack(enum rg_amr_variant v, uint16_t set, uint8_t cmr, const struct amr_frame *f,
		unsigned n, bool octet_aligned, uint8_t *out, size_t out_size, size_t *out_len)
{
	size_t sbits = 0, soct = 0, need;
	int err;

	if ((err = cmr_check(v, set, cmr)))
		return err;
	if (!n || n > RG_AMR_MAX_FRAMES)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		sbits += f[i].bits;
		soct += ((size_t)f[i].bits + 7) / 8;
	}
	if (octet_aligned)
		/* RFC 4867 section 4.4: payload header (1 octet without interleaving), one ToC
		 * octet per frame, then the octet-aligned speech frames */
		need = 1 + n + soct;
	else
		/* RFC 4867 section 4.3: CMR (4 bits), 6-bit ToC entries, the speech bits back to
		 * back, then 0-7 zero padding bits to the octet boundary (section 4.3.4) */
		need = (4 + 6 * (size_t)n + sbits + 7) / 8;
	if (!out || out_size < need)
		return -ENOBUFS;

	if (octet_aligned) {
		/* RFC 4867 section 4.4.1: CMR (4 bits), R (4 reserved bits, zero) */
		out[0] = (uint8_t)(cmr << 4);
		size_t off = 1;
		for (unsigned i = 0; i < n; i++)
			/* RFC 4867 section 4.4.2: F(1) FT(4) Q(1) P(2); F = 1 but in the last entry */
			out[off++] = (uint8_t)((i + 1 < n ? 0x80 : 0) | f[i].ft << 3 | f[i].q << 2);
		for (unsigned i = 0; i < n; i++) {
			/* RFC 4867 section 4.4.3: speech bits octet-aligned, padding bits zero */
			size_t oct = ((size_t)f[i].bits + 7) / 8;
			if (!oct)
				continue;
			memcpy(out + off, f[i].data, oct);
			if (f[i].bits & 7)
				out[off + oct - 1] &= (uint8_t)(0xff << (8 - (f[i].bits & 7)));
			off += oct;
		}
	} else {
		memset(out, 0, need);
		size_t pos = 0;
		put_bits(out, pos, cmr, 4); /* RFC 4867 section 4.3.1 */
		pos += 4;
		for (unsigned i = 0; i < n; i++) {
			/* RFC 4867 section 4.3.2: F(1) FT(4) Q(1), F = 1 but in the last entry */
			put_bits(out, pos, (i + 1 < n ? 0x20u : 0) | (unsigned)f[i].ft << 1 | f[i].q, 6);
			pos += 6;
		}
		for (unsigned i = 0; i < n; i++) {
			/* RFC 4867 section 4.3.3: the frames' bits in ToC order, nothing between */
			copy_bits_to(out, pos, f[i].data, f[i].bits);
			pos += f[i].bits;
		}
	}
	*out_len = need;
	return 0;
}

int rg_amr_oa_packetize(const struct rg_amr_cfg *cfg, uint8_t cmr, const uint8_t *frames,
			size_t frames_len, uint8_t *out, size_t out_size, size_t *out_len)
{
	struct amr_frame f[RG_AMR_MAX_FRAMES];
	unsigned n;
	uint16_t set;
	int err;

	if ((err = cfg_check(cfg, &set)))
		return err;
	if ((err = scan_storage(cfg->variant, set, frames, frames_len, f, &n)))
		return err;
	return pack(cfg->variant, set, cmr, f, n, true, out, out_size, out_len);
}

int rg_amr_be_packetize(const struct rg_amr_cfg *cfg, uint8_t cmr, const uint8_t *frames,
			size_t frames_len, uint8_t *out, size_t out_size, size_t *out_len)
{
	struct amr_frame f[RG_AMR_MAX_FRAMES];
	unsigned n;
	uint16_t set;
	int err;

	if ((err = cfg_check(cfg, &set)))
		return err;
	if ((err = scan_storage(cfg->variant, set, frames, frames_len, f, &n)))
		return err;
	return pack(cfg->variant, set, cmr, f, n, false, out, out_size, out_len);
}

/* ---- depacketize ---- */

/* Octet-aligned payload -> f[] (bitpos of each frame's speech bits) and the raw CMR. */
static int parse_oa(enum rg_amr_variant v, const uint8_t *payload, size_t len,
		    struct amr_frame *f, unsigned *nframes, uint8_t *cmr_raw)
{
	const int16_t *tbl = bits_table(v);
	unsigned n = 0;
	bool more;

	if (!payload || len < 2)
		return -EINVAL;
	/* RFC 4867 section 4.4.1: CMR(4) R(4); R is ignored on reception */
	*cmr_raw = payload[0] >> 4;
	size_t off = 1;
	do {
		/* RFC 4867 section 4.4.2: ToC entries until one with F = 0 */
		if (off >= len || n == RG_AMR_MAX_FRAMES)
			return -EINVAL;
		uint8_t toc = payload[off++];
		more = toc & 0x80;
		unsigned ft = (toc >> 3) & 0x0f;
		if (tbl[ft] < 0) /* RFC 4867 section 4.3.2: discard the whole payload */
			return -EINVAL;
		f[n].ft = (uint8_t)ft;
		f[n].q = (toc >> 2) & 1;
		f[n].bits = (uint16_t)tbl[ft];
		f[n].data = NULL;
		n++;
	} while (more);

	for (unsigned i = 0; i < n; i++) {
		/* RFC 4867 section 4.4.3: each frame octet-aligned, in ToC order */
		size_t oct = ((size_t)f[i].bits + 7) / 8;
		if (len - off < oct)
			return -EINVAL;
		f[i].bitpos = off * 8;
		off += oct;
	}
	if (off != len) /* trailing octets: not a well-formed payload */
		return -EINVAL;
	*nframes = n;
	return 0;
}

/* Bandwidth-efficient payload -> f[] and the raw CMR. */
static int parse_be(enum rg_amr_variant v, const uint8_t *payload, size_t len,
		    struct amr_frame *f, unsigned *nframes, uint8_t *cmr_raw)
{
	const int16_t *tbl = bits_table(v);
	unsigned n = 0;
	bool more;

	if (!payload || len < 2 || len > SIZE_MAX / 8)
		return -EINVAL;
	size_t total = len * 8, pos = 0;
	/* RFC 4867 section 4.3.1: CMR, 4 bits */
	*cmr_raw = (uint8_t)get_bits(payload, pos, 4);
	pos += 4;
	do {
		/* RFC 4867 section 4.3.2: 6-bit ToC entries F(1) FT(4) Q(1) until F = 0 */
		if (total - pos < 6 || n == RG_AMR_MAX_FRAMES)
			return -EINVAL;
		unsigned toc = get_bits(payload, pos, 6);
		pos += 6;
		more = toc & 0x20;
		unsigned ft = (toc >> 1) & 0x0f;
		if (tbl[ft] < 0) /* RFC 4867 section 4.3.2: discard the whole payload */
			return -EINVAL;
		f[n].ft = (uint8_t)ft;
		f[n].q = toc & 1;
		f[n].bits = (uint16_t)tbl[ft];
		f[n].data = NULL;
		n++;
	} while (more);

	for (unsigned i = 0; i < n; i++) {
		/* RFC 4867 section 4.3.3: speech bits back to back, in ToC order */
		if (total - pos < f[i].bits)
			return -EINVAL;
		f[i].bitpos = pos;
		pos += f[i].bits;
	}
	/* RFC 4867 section 4.3.4: only 0-7 padding bits may follow (their value is ignored) */
	if (total - pos >= 8)
		return -EINVAL;
	*nframes = n;
	return 0;
}

static bool filtered_out(enum rg_amr_variant v, uint16_t set, unsigned ft)
{
	return rg_amr_ft_is_speech(v, ft) && !(set >> ft & 1);
}

/* Writes the storage frames of f[] to out; frame i at offs[i] (if offs), total length *len. */
static int emit(enum rg_amr_variant v, uint16_t set, const uint8_t *payload,
		const struct amr_frame *f, unsigned n, bool octet_aligned, uint8_t *out,
		size_t out_size, size_t *offs, size_t *len, unsigned *filtered)
{
	size_t need = 0;
	unsigned nfilt = 0;

	for (unsigned i = 0; i < n; i++)
		need += 1 + (filtered_out(v, set, f[i].ft) ? 0 : ((size_t)f[i].bits + 7) / 8);
	if (!out || out_size < need)
		return -ENOBUFS;

	size_t off = 0;
	for (unsigned i = 0; i < n; i++) {
		if (offs)
			offs[i] = off;
		if (filtered_out(v, set, f[i].ft)) {
			/* mode-set filtering: keep the 20 ms slot, as a NO_DATA frame */
			out[off++] = RG_AMR_FT_NO_DATA << 3 | 1 << 2;
			nfilt++;
			continue;
		}
		/* RFC 4867 section 5.3 storage header: P=0, FT, Q, P=00 */
		out[off++] = (uint8_t)(f[i].ft << 3 | f[i].q << 2);
		size_t oct = ((size_t)f[i].bits + 7) / 8;
		if (!oct)
			continue;
		if (octet_aligned) {
			memcpy(out + off, payload + f[i].bitpos / 8, oct);
			/* section 5.3: speech padding bits are zero in the storage format */
			if (f[i].bits & 7)
				out[off + oct - 1] &= (uint8_t)(0xff << (8 - (f[i].bits & 7)));
		} else {
			memset(out + off, 0, oct);
			copy_bits_from(out + off, payload, f[i].bitpos, f[i].bits);
		}
		off += oct;
	}
	*len = off;
	*filtered = nfilt;
	return 0;
}

static int depacketize(const struct rg_amr_cfg *cfg, bool octet_aligned, const uint8_t *payload,
		       size_t len, uint8_t *out, size_t out_size, struct rg_amr_info *info)
{
	struct amr_frame f[RG_AMR_MAX_FRAMES];
	unsigned n, filtered;
	uint16_t set;
	uint8_t cmr_raw;
	size_t outlen;
	int err;

	if ((err = cfg_check(cfg, &set)))
		return err;
	if (!info)
		return -EINVAL;
	err = octet_aligned ? parse_oa(cfg->variant, payload, len, f, &n, &cmr_raw)
			    : parse_be(cfg->variant, payload, len, f, &n, &cmr_raw);
	if (err)
		return err;
	err = emit(cfg->variant, set, payload, f, n, octet_aligned, out, out_size, NULL, &outlen,
		   &filtered);
	if (err)
		return err;
	info->nframes = n;
	info->filtered = filtered;
	info->len = outlen;
	info->cmr_raw = cmr_raw;
	info->cmr = cmr_effective(cfg->variant, set, cmr_raw);
	return 0;
}

int rg_amr_oa_depacketize(const struct rg_amr_cfg *cfg, const uint8_t *payload, size_t len,
			  uint8_t *out, size_t out_size, struct rg_amr_info *info)
{
	return depacketize(cfg, true, payload, len, out, out_size, info);
}

int rg_amr_be_depacketize(const struct rg_amr_cfg *cfg, const uint8_t *payload, size_t len,
			  uint8_t *out, size_t out_size, struct rg_amr_info *info)
{
	return depacketize(cfg, false, payload, len, out, out_size, info);
}
