/* libFuzzer target for the AMR / AMR-WB payload format (payload_amr.c), both modes and variants.
 * Input: octet 0 selects variant (bit 0), mode (bit 1: octet-aligned), whether a mode-set applies
 * (bit 2) and whether the rest is also tried as storage frames to packetize (bit 3); octets 1-2
 * are the mode-set; the rest is the payload. Whatever depacketizes must packetize back (in both
 * modes) to the same frames; errors are only the documented ones. */
#include "rg_payload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FRAMES_MAX (RG_AMR_MAX_FRAMES * RG_AMR_MAX_STORAGE_FRAME)

typedef int (*pack_fn)(const struct rg_amr_cfg *, uint8_t, const uint8_t *, size_t, uint8_t *,
		       size_t, size_t *);
typedef int (*unpack_fn)(const struct rg_amr_cfg *, const uint8_t *, size_t, uint8_t *, size_t,
			 struct rg_amr_info *);
static const pack_fn packs[2] = { rg_amr_be_packetize, rg_amr_oa_packetize };
static const unpack_fn unpacks[2] = { rg_amr_be_depacketize, rg_amr_oa_depacketize };

/* frames must be well-formed storage frames totalling len; returns their count */
static unsigned check_frames(const struct rg_amr_cfg *cfg, const uint8_t *f, size_t len)
{
	size_t off = 0;
	unsigned n = 0;
	while (off < len) {
		int l = rg_amr_storage_len(cfg->variant, f[off]);
		if (l < 0 || (size_t)l > len - off)
			abort();
		unsigned ft = (f[off] >> 3) & 15;
		if (f[off] & 0x83) /* P bits */
			abort();
		if (rg_amr_ft_is_speech(cfg->variant, ft) && cfg->mode_set &&
		    !(cfg->mode_set >> ft & 1))
			abort(); /* mode-set filtering missed it */
		int bits = rg_amr_frame_bits(cfg->variant, ft);
		if ((bits & 7) && (f[off + (size_t)l - 1] & (0xff >> (bits & 7))))
			abort(); /* speech padding bits must be zero */
		off += (size_t)l;
		n++;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	uint8_t sel = data[0];
	struct rg_amr_cfg cfg = { .variant = (sel & 1) ? RG_AMR_WB : RG_AMR_NB };
	uint16_t all = (sel & 1) ? 0x1ff : 0xff;
	if (sel & 4)
		cfg.mode_set = (uint16_t)(data[1] | data[2] << 8) & all;
	int oa = (sel >> 1) & 1;
	const uint8_t *pl = data + 3;
	size_t len = size - 3;

	static uint8_t frames[FRAMES_MAX], frames2[FRAMES_MAX], frames3[FRAMES_MAX];
	static uint8_t out[RG_AMR_MAX_PAYLOAD], out2[RG_AMR_MAX_PAYLOAD];
	struct rg_amr_info info, info2;
	size_t olen;

	int rc = unpacks[oa](&cfg, pl, len, frames, sizeof(frames), &info);
	if (rc != 0 && rc != -EINVAL)
		abort();
	if (rc == 0) {
		if (info.nframes < 1 || info.nframes > RG_AMR_MAX_FRAMES || info.len > FRAMES_MAX)
			abort();
		if (check_frames(&cfg, frames, info.len) != info.nframes)
			abort();
		if (info.cmr != RG_AMR_CMR_NONE &&
		    (!rg_amr_ft_is_speech(cfg.variant, info.cmr) ||
		     (cfg.mode_set && !(cfg.mode_set >> info.cmr & 1))))
			abort();
		/* back through both modes: same frames, same CMR; in the input's own mode, the
		 * same length (only reserved and padding bits may differ) */
		for (int m = 0; m < 2; m++) {
			if (packs[m](&cfg, info.cmr, frames, info.len, out, sizeof(out), &olen))
				abort();
			if (m == oa && !info.filtered && olen != len)
				abort();
			if (unpacks[m](&cfg, out, olen, frames2, sizeof(frames2), &info2))
				abort();
			if (info2.len != info.len || memcmp(frames2, frames, info.len) ||
			    info2.cmr != info.cmr || info2.nframes != info.nframes || info2.filtered)
				abort();
		}
	}

	if (sel & 8) {
		/* the payload bytes as storage frames to send */
		for (int m = 0; m < 2; m++) {
			uint8_t cmr = (uint8_t)(data[1] & 15);
			rc = packs[m](&cfg, cmr, pl, len, out2, sizeof(out2), &olen);
			if (rc != 0 && rc != -EINVAL)
				abort();
			if (rc)
				continue;
			if (unpacks[m](&cfg, out2, olen, frames3, sizeof(frames3), &info2))
				abort();
			if (info2.filtered || info2.cmr != cmr || info2.len != len)
				abort();
			/* equal to the input once its P bits and padding are cleared */
			size_t off = 0;
			while (off < len) {
				int l = rg_amr_storage_len(cfg.variant, pl[off]);
				int bits = rg_amr_frame_bits(cfg.variant, (pl[off] >> 3) & 15);
				if (frames3[off] != (pl[off] & 0x7c))
					abort();
				for (int i = 1; i < l; i++) {
					uint8_t want = pl[off + (size_t)i];
					if (i == l - 1 && (bits & 7))
						want &= (uint8_t)(0xff << (8 - (bits & 7)));
					if (frames3[off + (size_t)i] != want)
						abort();
				}
				off += (size_t)l;
			}
		}
	}
	return 0;
}
