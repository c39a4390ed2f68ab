/* rg_payload.h: RTP payload formats of the codecs/ library (rgcodecs).
 *
 *   AMR / AMR-WB (RFC 4867 section 4), payload_amr.c: octet-aligned and bandwidth-efficient mode
 *       are two entry points each (packetize, depacketize), not a flag. Frames on our side of the
 *       API are in the RFC 4867 section 5.3 storage format (what opencore-amrnb/-amrwb produce
 *       and consume): one header octet (FT << 3) | (Q << 2), then the speech bits of the frame
 *       type, most significant bit first, zero-padded to an octet. codec_amr.c adapts these
 *       functions to the rg_codec_type packetize / depacketize hooks.
 *   Opus (RFC 7587: one Opus packet per RTP payload), payload_opus.c: a validator for the packet
 *       framing of RFC 6716 section 3 and a duration helper.
 *
 * Telephone-event (RFC 4733) and in-band DTMF are in rg_dtmf.h.
 *
 * Conventions: functions returning int return 0 or a negative errno and write their
 * out-parameters only on success. Nothing here allocates; every struct is a plain value owned by
 * the caller (stack or embedded), freed with it. No function keeps a pointer to its arguments.
 * All functions are reentrant (no global state). Hostile input yields -EINVAL, never a read or
 * write outside the given buffers.
 */
#ifndef RG_PAYLOAD_H
#define RG_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------------------------------
 * AMR and AMR-WB (RFC 4867)
 * ------------------------------------------------------------------------------------------ */

enum rg_amr_variant {
	RG_AMR_NB = 0, /* "AMR", 8 kHz: FT 0-7 speech, 8 SID, 15 NO_DATA */
	RG_AMR_WB = 1, /* "AMR-WB", 16 kHz: FT 0-8 speech, 9 SID, 14 SPEECH_LOST, 15 NO_DATA */
};

#define RG_AMR_FT_NB_SID      8
#define RG_AMR_FT_WB_SID      9
#define RG_AMR_FT_SPEECH_LOST 14 /* AMR-WB only */
#define RG_AMR_FT_NO_DATA     15
#define RG_AMR_CMR_NONE       15 /* RFC 4867 section 4.3.1: no mode request */

/* Frames per payload we accept or produce (20 ms each: 320 ms). RFC 4867 sets no limit; more
 * frames than this in a payload is treated as hostile input (-EINVAL). */
#define RG_AMR_MAX_FRAMES 16
/* Largest storage-format frame: AMR-WB 23.85 kbit/s, 477 bits -> 60 octets + header. */
#define RG_AMR_MAX_STORAGE_FRAME 61
/* Largest payload we produce: octet-aligned, header + ToC + RG_AMR_MAX_FRAMES largest frames. */
#define RG_AMR_MAX_PAYLOAD (1 + RG_AMR_MAX_FRAMES * RG_AMR_MAX_STORAGE_FRAME)

/* The fmtp parameters of one AMR payload type (RFC 4867 section 8.1). A plain value. */
struct rg_amr_cfg {
	enum rg_amr_variant variant;
	/* mode-set: bit n set = speech FT n allowed; 0 = all speech modes of the variant */
	uint16_t mode_set;
	/* The following are not supported: any non-zero value makes every entry point return
	 * -ENOTSUP (RFC 4867 section 4.4.1 interleaving, 4.4.2 CRCs, 4.4.4 robust sorting; none
	 * of them exists in bandwidth-efficient mode, section 4.3). */
	bool crc;
	bool robust_sorting;
	unsigned interleaving;
};

/* What depacketizing found, besides the frames. A plain value owned by the caller. */
struct rg_amr_info {
	unsigned nframes;  /* storage frames written (ToC entries), 1..RG_AMR_MAX_FRAMES */
	unsigned filtered; /* speech frames outside mode_set, written as NO_DATA instead */
	size_t len;        /* octets written to the frame buffer */
	uint8_t cmr_raw;   /* CMR field as received */
	/* CMR to apply to our encoder: a speech mode inside mode_set, or RG_AMR_CMR_NONE. A
	 * reserved value is ignored (RFC 4867 section 4.3.1) -> NONE; a mode outside mode_set is
	 * taken as "not higher than" (section 4.3.1) -> highest allowed mode below it, or the
	 * lowest allowed mode if none is below. */
	uint8_t cmr;
};

/* Number of speech bits of frame type ft (3GPP TS 26.101 / 26.201 table 1a, as used by RFC 4867):
 * 0 for NO_DATA (and AMR-WB SPEECH_LOST), -EINVAL for a reserved FT. */
int rg_amr_frame_bits(enum rg_amr_variant v, unsigned ft);
/* Length in octets of the storage-format frame starting with header octet hdr (header included),
 * or -EINVAL for a reserved FT. */
int rg_amr_storage_len(enum rg_amr_variant v, uint8_t hdr);
/* true if FT ft is a speech mode of the variant (0-7 AMR, 0-8 AMR-WB) */
bool rg_amr_ft_is_speech(enum rg_amr_variant v, unsigned ft);

/* Packetize: frames/frames_len is 1..RG_AMR_MAX_FRAMES storage-format frames back to back, in
 * time order. cmr is the mode request sent to the peer (a speech mode of the variant, or
 * RG_AMR_CMR_NONE). Writes the RTP payload to out (out_size octets) and its length to *out_len.
 * -EINVAL: bad cfg, cmr, truncated frame, reserved FT, speech FT outside mode_set, no frame or too
 * many; -ENOBUFS: out too small; -ENOTSUP: crc / interleaving / robust sorting requested.
 * Padding bits (storage header P bits, speech padding) of the input are ignored; the output's
 * are zero. */
int rg_amr_oa_packetize(const struct rg_amr_cfg *cfg, uint8_t cmr, const uint8_t *frames,
			size_t frames_len, uint8_t *out, size_t out_size, size_t *out_len);
int rg_amr_be_packetize(const struct rg_amr_cfg *cfg, uint8_t cmr, const uint8_t *frames,
			size_t frames_len, uint8_t *out, size_t out_size, size_t *out_len);

/* Depacketize one RTP payload into storage-format frames written back to back to out (out_size
 * octets; RG_AMR_MAX_FRAMES * RG_AMR_MAX_STORAGE_FRAME always suffices) and fill *info.
 * Speech frames whose mode is outside cfg->mode_set become NO_DATA frames (header 0x7c) so frame
 * timing is kept; info->filtered counts them. -EINVAL: truncated payload, reserved FT (the whole
 * payload is discarded, RFC 4867 section 4.3.2), more than RG_AMR_MAX_FRAMES frames, trailing
 * octets; -ENOBUFS: out too small; -ENOTSUP: crc / interleaving / robust sorting in cfg. */
int rg_amr_oa_depacketize(const struct rg_amr_cfg *cfg, const uint8_t *payload, size_t len,
			  uint8_t *out, size_t out_size, struct rg_amr_info *info);
int rg_amr_be_depacketize(const struct rg_amr_cfg *cfg, const uint8_t *payload, size_t len,
			  uint8_t *out, size_t out_size, struct rg_amr_info *info);

/* ---------------------------------------------------------------------------------------------
 * Opus (RFC 7587, packet framing of RFC 6716 section 3)
 * ------------------------------------------------------------------------------------------ */

#define RG_OPUS_MAX_FRAMES    48   /* 120 ms of 2.5 ms frames, RFC 6716 section 3.2.5 */
#define RG_OPUS_MAX_FRAME_LEN 1275 /* RFC 6716 section 3.4 [R2] */

enum rg_opus_mode { RG_OPUS_SILK = 0, RG_OPUS_HYBRID, RG_OPUS_CELT };
enum rg_opus_bandwidth { RG_OPUS_NB = 0, RG_OPUS_MB, RG_OPUS_WB, RG_OPUS_SWB, RG_OPUS_FB };

/* A parsed Opus packet: a plain value owned by the caller; offsets refer to the caller's
 * packet buffer. */
struct rg_opus_info {
	uint8_t config;       /* TOC config 0..31 (RFC 6716 section 3.1, table 2) */
	bool stereo;          /* TOC s bit */
	uint8_t code;         /* frame count code c, 0..3 */
	enum rg_opus_mode mode;
	enum rg_opus_bandwidth bandwidth;
	unsigned frame_samples; /* per frame, at 48 kHz: 120, 240, 480, 960, 1920 or 2880 */
	unsigned nframes;       /* 1..RG_OPUS_MAX_FRAMES */
	unsigned samples;       /* nframes * frame_samples, at 48 kHz, <= 5760 (120 ms) */
	size_t padding;         /* code 3 padding octets (length bytes excluded) */
	uint16_t frame_off[RG_OPUS_MAX_FRAMES]; /* offset of frame i in the packet */
	uint16_t frame_len[RG_OPUS_MAX_FRAMES]; /* its length, 0..1275 (0: DTX / lost) */
};

/* Validate an Opus packet per RFC 6716 section 3.4 requirements [R1]-[R7] and describe it.
 * info may be NULL (validation only). -EINVAL if malformed (incl. an empty payload). */
int rg_opus_packet_parse(const uint8_t *pkt, size_t len, struct rg_opus_info *info);
/* Duration of an Opus packet in samples at 48 kHz, from the TOC and (code 3) the frame count
 * octet only: cheaper than rg_opus_packet_parse, checks only what it reads (and the 120 ms
 * limit). -EINVAL if the octets it needs are missing or say 0 frames / more than 120 ms. */
int rg_opus_packet_duration(const uint8_t *pkt, size_t len, unsigned *samples48);

/* ---------------------------------------------------------------------------------------------
 * Comfort noise (RFC 3389), payload_cn.c
 * ------------------------------------------------------------------------------------------ */

/* The noise level of a CN payload: *level = -dBov, 0..127 (section 3: 127 is -127 dBov, digital
 * silence for 16-bit PCM is about -96). Reflection coefficients after it are accepted and
 * ignored. -EINVAL for an empty payload or a level octet with its reserved bit set. */
int rg_comfort_noise_parse(const uint8_t *p, size_t len, unsigned *level);
/* A level-only CN payload (1 octet) into p; returns its length, 0 if cap is 0. */
size_t rg_comfort_noise_build(uint8_t *p, size_t cap, unsigned level);

#endif
