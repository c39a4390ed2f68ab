/* payload_opus.c: Opus RTP payload (RFC 7587). The payload is exactly one Opus packet (RFC 7587
 * section 4.2), so all there is to check before the decoder is the packet framing of RFC 6716
 * section 3: the TOC byte, the frame count code and the frame lengths ([R1]-[R7] of section 3.4).
 * See rg_payload.h for the API. */
#include "rg_payload.h"

#include <errno.h>
#include <string.h>

#define OPUS_MAX_SAMPLES 5760 /* 120 ms at 48 kHz, RFC 6716 section 3.2.5 [R5] */

/* RFC 6716 section 3.1 table 2: mode, bandwidth and frame size from the TOC config. */
static void toc_config(uint8_t config, enum rg_opus_mode *mode, enum rg_opus_bandwidth *bw,
		       unsigned *samples)
{
	static const unsigned silk[4] = { 480, 960, 1920, 2880 }; /* 10, 20, 40, 60 ms */
	static const unsigned celt[4] = { 120, 240, 480, 960 };   /* 2.5, 5, 10, 20 ms */

	if (config < 12) { /* 0-3 NB, 4-7 MB, 8-11 WB */
		*mode = RG_OPUS_SILK;
		*bw = (enum rg_opus_bandwidth)(config / 4);
		*samples = silk[config & 3];
	} else if (config < 16) { /* 12-13 SWB, 14-15 FB; 10 or 20 ms */
		*mode = RG_OPUS_HYBRID;
		*bw = config < 14 ? RG_OPUS_SWB : RG_OPUS_FB;
		*samples = (config & 1) ? 960 : 480;
	} else { /* 16-19 NB, 20-23 WB, 24-27 SWB, 28-31 FB */
		static const enum rg_opus_bandwidth cbw[4] = { RG_OPUS_NB, RG_OPUS_WB, RG_OPUS_SWB,
							       RG_OPUS_FB };
		*mode = RG_OPUS_CELT;
		*bw = cbw[(config - 16) / 4];
		*samples = celt[config & 3];
	}
}

int rg_opus_packet_duration(const uint8_t *pkt, size_t len, unsigned *samples48)
{
	enum rg_opus_mode mode;
	enum rg_opus_bandwidth bw;
	unsigned fs, n;

	if (!pkt || len < 1) /* [R1] */
		return -EINVAL;
	toc_config(pkt[0] >> 3, &mode, &bw, &fs);
	switch (pkt[0] & 3) { /* RFC 6716 section 3.1: frame count code c */
	case 0:
		n = 1;
		break;
	case 1:
	case 2:
		n = 2;
		break;
	default:
		/* RFC 6716 section 3.2.5: frame count octet v(1) p(1) M(6) */
		if (len < 2)
			return -EINVAL;
		n = pkt[1] & 0x3f;
		if (n == 0 || n * fs > OPUS_MAX_SAMPLES) /* [R5] */
			return -EINVAL;
		break;
	}
	*samples48 = n * fs;
	return 0;
}

/* RFC 6716 section 3.2.1: a frame length in one octet (0-251) or two (252-255, then
 * 4 * second + first). Returns the octets used, 0 if truncated. */
static size_t read_length(const uint8_t *p, size_t avail, size_t *flen)
{
	if (avail < 1)
		return 0;
	if (p[0] < 252) {
		*flen = p[0];
		return 1;
	}
	if (avail < 2)
		return 0;
	*flen = (size_t)p[1] * 4 + p[0];
	return 2;
}

int rg_opus_packet_parse(const uint8_t *pkt, size_t len, struct rg_opus_info *info)
{
	struct rg_opus_info r;
	size_t off, flen;

	if (!pkt || len < 1 || len > UINT16_MAX) /* [R1]; offsets are 16-bit */
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.config = pkt[0] >> 3;
	r.stereo = pkt[0] & 0x04;
	r.code = pkt[0] & 3;
	toc_config(r.config, &r.mode, &r.bandwidth, &r.frame_samples);

	switch (r.code) {
	case 0: /* RFC 6716 section 3.2.2: one frame */
		r.nframes = 1;
		r.frame_off[0] = 1;
		r.frame_len[0] = (uint16_t)(len - 1);
		break;
	case 1: /* RFC 6716 section 3.2.3: two frames of equal size; [R3] N-1 even */
		if ((len - 1) & 1)
			return -EINVAL;
		r.nframes = 2;
		r.frame_len[0] = r.frame_len[1] = (uint16_t)((len - 1) / 2);
		r.frame_off[0] = 1;
		r.frame_off[1] = (uint16_t)(1 + r.frame_len[0]);
		break;
	case 2: { /* RFC 6716 section 3.2.4: two frames, the first one's length coded */
		size_t used = read_length(pkt + 1, len - 1, &flen);
		if (!used)
			return -EINVAL;
		off = 1 + used;
		if (flen > len - off) /* [R4] */
			return -EINVAL;
		r.nframes = 2;
		r.frame_off[0] = (uint16_t)off;
		r.frame_len[0] = (uint16_t)flen;
		r.frame_off[1] = (uint16_t)(off + flen);
		r.frame_len[1] = (uint16_t)(len - off - flen);
		break;
	}
	default: { /* RFC 6716 section 3.2.5: an arbitrary number of frames */
		if (len < 2) /* [R6]/[R7]: at least the TOC and the frame count octet */
			return -EINVAL;
		uint8_t fc = pkt[1];
		bool vbr = fc & 0x80, padded = fc & 0x40;
		unsigned m = fc & 0x3f;
		if (m == 0 || m * r.frame_samples > OPUS_MAX_SAMPLES) /* [R5] */
			return -EINVAL;
		off = 2;
		size_t pad = 0;
		if (padded) {
			/* 0-254: that many octets of padding; 255: 254 octets and one more length
			 * octet follows */
			uint8_t b;
			do {
				if (off >= len)
					return -EINVAL;
				b = pkt[off++];
				pad += b == 255 ? 254 : b;
			} while (b == 255);
		}
		if (pad > len - off) /* [R6]/[R7]: padding must fit */
			return -EINVAL;
		size_t end = len - pad; /* frame data ends where the trailing padding starts */
		r.padding = pad;
		r.nframes = m;
		if (!vbr) {
			/* [R6] CBR: the remaining octets split evenly among the M frames */
			size_t rem = end - off;
			if (rem % m)
				return -EINVAL;
			for (unsigned i = 0; i < m; i++) {
				r.frame_off[i] = (uint16_t)(off + i * (rem / m));
				r.frame_len[i] = (uint16_t)(rem / m);
			}
		} else {
			/* [R7] VBR: M-1 coded lengths, the last frame takes the rest */
			size_t lens[RG_OPUS_MAX_FRAMES], sum = 0;
			for (unsigned i = 0; i + 1 < m; i++) {
				size_t used = read_length(pkt + off, end - off, &lens[i]);
				if (!used)
					return -EINVAL;
				off += used;
				sum += lens[i];
			}
			if (sum > end - off)
				return -EINVAL;
			lens[m - 1] = end - off - sum;
			for (unsigned i = 0; i < m; i++) {
				r.frame_off[i] = (uint16_t)off;
				r.frame_len[i] = (uint16_t)lens[i];
				off += lens[i];
			}
		}
		break;
	}
	}
	for (unsigned i = 0; i < r.nframes; i++)
		if (r.frame_len[i] > RG_OPUS_MAX_FRAME_LEN) /* [R2] */
			return -EINVAL;
	r.samples = r.nframes * r.frame_samples;
	if (info)
		*info = r;
	return 0;
}
