/* test_payload_amr.c: RTP payload formats of rg_payload.h: AMR / AMR-WB (RFC 4867 section 4) in
 * both modes (round trips for every FT, known bytes computed by hand from the RFC's bit layouts,
 * mode-set filtering, CMR, hostile input) and the Opus packet validator
 * (RFC 6716 section 3, checked against libopus' own parser). */
#include "rg_payload.h"
#include "rg_codec.h"

#include <errno.h>
#include <inttypes.h>
#include <opus/opus.h>
#include <stdio.h>
#include <string.h>

/* ---- minimal harness: CHECK* record a failure and go on ---- */
static int checks, failed_checks;

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		checks++;                                                                    \
		if (!(cond)) {                                                               \
			failed_checks++;                                                     \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
		}                                                                            \
	} while (0)

#define CHECK_INT(got, want)                                                                 \
	do {                                                                                 \
		long long g_ = (long long)(got), w_ = (long long)(want);                     \
		checks++;                                                                    \
		if (g_ != w_) {                                                              \
			failed_checks++;                                                     \
			fprintf(stderr, "%s:%d: %s == %lld, want %s == %lld\n", __FILE__, __LINE__, \
				#got, g_, #want, w_);                                        \
		}                                                                            \
	} while (0)

static void hexdump(const char *label, const uint8_t *p, size_t n)
{
	fprintf(stderr, "%s:", label);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s%02x", i && !(i % 16) ? "\n       " : " ", p[i]);
	fprintf(stderr, "\n");
}

#define CHECK_MEM(got, glen, want, wlen)                                                     \
	do {                                                                                 \
		checks++;                                                                    \
		if ((size_t)(glen) != (size_t)(wlen) || memcmp((got), (want), (wlen))) {     \
			failed_checks++;                                                     \
			fprintf(stderr, "%s:%d: %s (%zu octets) != %s (%zu octets)\n", __FILE__, \
				__LINE__, #got, (size_t)(glen), #want, (size_t)(wlen));      \
			hexdump("  got ", (const uint8_t *)(got), (glen));                   \
			hexdump("  want", (const uint8_t *)(want), (wlen));                  \
		}                                                                            \
	} while (0)

static uint32_t rng = 12345;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static const struct rg_amr_cfg NB = { .variant = RG_AMR_NB };
static const struct rg_amr_cfg WB = { .variant = RG_AMR_WB };

typedef int (*pack_fn)(const struct rg_amr_cfg *, uint8_t, const uint8_t *, size_t, uint8_t *,
		       size_t, size_t *);
typedef int (*unpack_fn)(const struct rg_amr_cfg *, const uint8_t *, size_t, uint8_t *, size_t,
			 struct rg_amr_info *);

static const struct mode {
	const char *name;
	pack_fn pack;
	unpack_fn unpack;
} modes[2] = {
	{ "octet-aligned", rg_amr_oa_packetize, rg_amr_oa_depacketize },
	{ "bandwidth-efficient", rg_amr_be_packetize, rg_amr_be_depacketize },
};

/* A storage frame of type ft with random speech bits (padding bits zero); returns its length. */
static size_t make_frame(enum rg_amr_variant v, unsigned ft, unsigned q, uint8_t *out)
{
	int bits = rg_amr_frame_bits(v, ft);
	size_t oct = ((size_t)bits + 7) / 8;
	out[0] = (uint8_t)(ft << 3 | q << 2);
	for (size_t i = 0; i < oct; i++)
		out[1 + i] = (uint8_t)rnd();
	if (bits & 7)
		out[oct] &= (uint8_t)(0xff << (8 - (bits & 7)));
	return 1 + oct;
}

static const unsigned nb_fts[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 15 };
static const unsigned wb_fts[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14, 15 };

static void test_sizes(void)
{
	/* storage frame sizes incl. header (RFC 4867 section 5.3 with the 3GPP bit counts) */
	static const int nb[16] = { 13, 14, 16, 18, 20, 21, 27, 32, 6, -1, -1, -1, -1, -1, -1, 1 };
	static const int wb[16] = { 18, 24, 33, 37, 41, 47, 51, 59, 61, 6, -1, -1, -1, -1, 1, 1 };
	for (unsigned ft = 0; ft < 16; ft++) {
		int l = rg_amr_storage_len(RG_AMR_NB, (uint8_t)(ft << 3 | 4));
		CHECK_INT(l, nb[ft] < 0 ? -EINVAL : nb[ft]);
		l = rg_amr_storage_len(RG_AMR_WB, (uint8_t)(ft << 3));
		CHECK_INT(l, wb[ft] < 0 ? -EINVAL : wb[ft]);
		/* and the codec wrappers' table (rg_codec.h, registry.c) agrees */
		CHECK_INT(rg_amr_frame_len(false, ft), nb[ft] < 0 ? -EINVAL : nb[ft]);
		CHECK_INT(rg_amr_frame_len(true, ft), wb[ft] < 0 ? -EINVAL : wb[ft]);
	}
	CHECK_INT(rg_amr_frame_bits(RG_AMR_NB, 7), 244);
	CHECK_INT(rg_amr_frame_bits(RG_AMR_NB, 0), 95);
	CHECK_INT(rg_amr_frame_bits(RG_AMR_NB, 8), 39);
	CHECK_INT(rg_amr_frame_bits(RG_AMR_WB, 8), 477);
	CHECK_INT(rg_amr_frame_bits(RG_AMR_WB, 0), 132);
	CHECK_INT(rg_amr_frame_bits(RG_AMR_WB, 9), 40);
	CHECK_INT(rg_amr_frame_bits(RG_AMR_NB, 16), -EINVAL);
	CHECK(rg_amr_ft_is_speech(RG_AMR_WB, 8));
	CHECK(!rg_amr_ft_is_speech(RG_AMR_NB, 8));
	CHECK(!rg_amr_ft_is_speech(RG_AMR_NB, 15));
}

/* every FT alone, both modes, both variants: bit-exact round trip */
static void test_roundtrip_single(void)
{
	for (int vi = 0; vi < 2; vi++) {
		const struct rg_amr_cfg *cfg = vi ? &WB : &NB;
		const unsigned *fts = vi ? wb_fts : nb_fts;
		size_t nfts = vi ? sizeof(wb_fts) / sizeof(wb_fts[0]) : sizeof(nb_fts) / sizeof(nb_fts[0]);
		for (int m = 0; m < 2; m++) {
			for (size_t k = 0; k < nfts; k++) {
				for (unsigned q = 0; q < 2; q++) {
					uint8_t frame[RG_AMR_MAX_STORAGE_FRAME], pl[RG_AMR_MAX_PAYLOAD],
						back[RG_AMR_MAX_PAYLOAD];
					size_t flen = make_frame(cfg->variant, fts[k], q, frame), plen = 0;
					struct rg_amr_info info;
					int bits = rg_amr_frame_bits(cfg->variant, fts[k]);
					CHECK_INT(modes[m].pack(cfg, RG_AMR_CMR_NONE, frame, flen, pl,
								sizeof(pl), &plen), 0);
					/* payload size: RFC 4867 sections 4.3 and 4.4 */
					if (m == 0)
						CHECK_INT(plen, 2 + (bits + 7) / 8);
					else
						CHECK_INT(plen, (4 + 6 + bits + 7) / 8);
					memset(&info, 0, sizeof(info));
					CHECK_INT(modes[m].unpack(cfg, pl, plen, back, sizeof(back), &info), 0);
					CHECK_INT(info.nframes, 1);
					CHECK_INT(info.filtered, 0);
					CHECK_INT(info.cmr, RG_AMR_CMR_NONE);
					CHECK_MEM(back, info.len, frame, flen);
					/* every shorter payload is rejected, never over-read (ASan) */
					for (size_t cut = 0; cut < plen; cut++) {
						uint8_t tmp[RG_AMR_MAX_PAYLOAD];
						memcpy(tmp, pl, cut);
						CHECK_INT(modes[m].unpack(cfg, tmp, cut, back, sizeof(back),
									  &info), -EINVAL);
					}
				}
			}
		}
	}
}

/* many frames of every FT in one payload, random order and count */
static void test_roundtrip_multi(void)
{
	for (int iter = 0; iter < 2000; iter++) {
		int vi = iter & 1, m = (iter >> 1) & 1;
		const struct rg_amr_cfg *cfg = vi ? &WB : &NB;
		const unsigned *fts = vi ? wb_fts : nb_fts;
		size_t nfts = vi ? sizeof(wb_fts) / sizeof(wb_fts[0]) : sizeof(nb_fts) / sizeof(nb_fts[0]);
		unsigned n = 1 + rnd() % RG_AMR_MAX_FRAMES;
		uint8_t frames[RG_AMR_MAX_FRAMES * RG_AMR_MAX_STORAGE_FRAME];
		uint8_t pl[RG_AMR_MAX_PAYLOAD], back[sizeof(frames)];
		size_t flen = 0, plen = 0;
		for (unsigned i = 0; i < n; i++)
			flen += make_frame(cfg->variant, fts[rnd() % nfts], rnd() & 1, frames + flen);
		uint8_t cmr = (uint8_t)(rnd() % (vi ? 9 : 8));
		CHECK_INT(modes[m].pack(cfg, cmr, frames, flen, pl, sizeof(pl), &plen), 0);
		struct rg_amr_info info;
		CHECK_INT(modes[m].unpack(cfg, pl, plen, back, sizeof(back), &info), 0);
		CHECK_INT(info.nframes, n);
		CHECK_INT(info.cmr, cmr);
		CHECK_INT(info.cmr_raw, cmr);
		CHECK_MEM(back, info.len, frames, flen);
		/* the other mode carries the same frames */
		uint8_t pl2[RG_AMR_MAX_PAYLOAD], back2[sizeof(frames)];
		size_t plen2 = 0;
		CHECK_INT(modes[!m].pack(cfg, cmr, back, info.len, pl2, sizeof(pl2), &plen2), 0);
		CHECK_INT(modes[!m].unpack(cfg, pl2, plen2, back2, sizeof(back2), &info), 0);
		CHECK_MEM(back2, info.len, frames, flen);
		/* an output buffer one octet short is -ENOBUFS, for both directions */
		CHECK_INT(modes[m].pack(cfg, cmr, frames, flen, pl, plen - 1, &plen2), -ENOBUFS);
		CHECK_INT(modes[m].unpack(cfg, pl, plen, back, flen - 1, &info), -ENOBUFS);
	}
}

/* Known payloads, computed by hand from the bit layouts of RFC 4867 (figures of sections 4.3.5.1
 * and 4.4.5.1 use the same frame types; the speech bits d(i) are chosen here). */
static void test_known_bytes(void)
{
	uint8_t pl[RG_AMR_MAX_PAYLOAD], back[RG_AMR_MAX_PAYLOAD];
	struct rg_amr_info info;
	size_t plen;

	/* 1. Bandwidth-efficient, one AMR 7.40 frame (FT=4, 148 bits), CMR=1, Q=1, all d(i)=1:
	 *    RFC 4867 section 4.3.5.1 layout:
	 *      bits 0-3 CMR=0001 | 4 F=0 | 5-8 FT=0100 | 9 Q=1 | 10..157 d(0..147) | 158-159 P=00
	 *    octet 0 = 0001 0 010            = 0x12
	 *    octet 1 = 0 1 111111  (FT lsb, Q, d0-d5)  = 0x7f
	 *    octets 2-18 = d6..d141          = 0xff x 17
	 *    octet 19 = d142..d147, P P = 111111 00 = 0xfc            -> 20 octets */
	uint8_t f1[20] = { 4 << 3 | 1 << 2 };
	memset(f1 + 1, 0xff, 19);
	f1[19] = 0xf0; /* 148 = 18*8 + 4: last octet holds 4 bits */
	uint8_t want1[20] = { 0x12, 0x7f };
	memset(want1 + 2, 0xff, 17);
	want1[19] = 0xfc;
	CHECK_INT(rg_amr_be_packetize(&NB, 1, f1, sizeof(f1), pl, sizeof(pl), &plen), 0);
	CHECK_MEM(pl, plen, want1, sizeof(want1));
	CHECK_INT(rg_amr_be_depacketize(&NB, want1, sizeof(want1), back, sizeof(back), &info), 0);
	CHECK_MEM(back, info.len, f1, sizeof(f1));
	CHECK_INT(info.cmr, 1);

	/* 2. Octet-aligned, two AMR 7.95 frames (FT=5, 159 bits = 20 octets, 1 padding bit each),
	 *    CMR=15 (RFC 4867 section 4.4.5.1 layout):
	 *      octet 0: CMR=1111 R=0000                     = 0xf0
	 *      octet 1: F=1 FT=0101 Q=1 P=00  = 1 0101 1 00 = 0xac
	 *      octet 2: F=0 FT=0101 Q=1 P=00  = 0 0101 1 00 = 0x2c
	 *      frame 1: all d(i)=1 -> 19 x 0xff, then 1111111 P = 0xfe
	 *      frame 2: d(0)=1, rest 0 -> 0x80, 19 x 0x00                -> 43 octets
	 *    The storage input carries a stray padding bit (0xff last octet): it must not leak. */
	uint8_t f2[42];
	f2[0] = 5 << 3 | 1 << 2;
	memset(f2 + 1, 0xff, 20); /* last octet 0xff: padding bit set on purpose */
	f2[21] = 5 << 3 | 1 << 2;
	memset(f2 + 22, 0, 20);
	f2[22] = 0x80;
	uint8_t want2[43] = { 0xf0, 0xac, 0x2c };
	memset(want2 + 3, 0xff, 19);
	want2[22] = 0xfe;
	want2[23] = 0x80;
	CHECK_INT(rg_amr_oa_packetize(&NB, RG_AMR_CMR_NONE, f2, sizeof(f2), pl, sizeof(pl), &plen), 0);
	CHECK_MEM(pl, plen, want2, sizeof(want2));
	CHECK_INT(rg_amr_oa_depacketize(&NB, want2, sizeof(want2), back, sizeof(back), &info), 0);
	f2[20] = 0xfe; /* what comes back: padding zero */
	CHECK_MEM(back, info.len, f2, sizeof(f2));
	CHECK_INT(info.nframes, 2);
	CHECK_INT(info.cmr, RG_AMR_CMR_NONE);

	/* 3. Bandwidth-efficient AMR-WB: SID (FT=9, 40 bits) then NO_DATA (FT=15), CMR=15:
	 *      bits 0-3 1111 | 4 F=1 | 5-8 1001 | 9 Q=1 | 10 F=0 | 11-14 1111 | 15 Q=1 | 16-55 SID
	 *      octet 0 = 1111 1 100 = 0xfc ; octet 1 = 1 1 0 1111 1 = 0xdf
	 *      octets 2-6 = the SID bits a5 5a 0f f0 3c, no padding (56 bits)          */
	uint8_t f3[] = { 9 << 3 | 1 << 2, 0xa5, 0x5a, 0x0f, 0xf0, 0x3c, 15 << 3 | 1 << 2 };
	uint8_t want3[] = { 0xfc, 0xdf, 0xa5, 0x5a, 0x0f, 0xf0, 0x3c };
	CHECK_INT(rg_amr_be_packetize(&WB, RG_AMR_CMR_NONE, f3, sizeof(f3), pl, sizeof(pl), &plen), 0);
	CHECK_MEM(pl, plen, want3, sizeof(want3));
	CHECK_INT(rg_amr_be_depacketize(&WB, want3, sizeof(want3), back, sizeof(back), &info), 0);
	CHECK_MEM(back, info.len, f3, sizeof(f3));

	/* 4. Octet-aligned AMR-WB 23.85 (FT=8, 477 bits = 60 octets, 3 padding bits), CMR=8:
	 *      octet 0 = 1000 0000 = 0x80 ; octet 1 = 0 1000 1 00 = 0x44 ; 60 octets of speech */
	uint8_t f4[61];
	f4[0] = 8 << 3 | 1 << 2;
	for (int i = 1; i < 61; i++)
		f4[i] = (uint8_t)i;
	f4[60] = 0xa8; /* 1010 1 000: 5 speech bits, 3 padding */
	CHECK_INT(rg_amr_oa_packetize(&WB, 8, f4, sizeof(f4), pl, sizeof(pl), &plen), 0);
	CHECK_INT(plen, 62);
	CHECK_INT(pl[0], 0x80);
	CHECK_INT(pl[1], 0x44);
	CHECK_MEM(pl + 2, plen - 2, f4 + 1, 60);

	/* 5. Bandwidth-efficient, CMR only: one NO_DATA ToC entry (RFC 4867 section 4.3.2 allows a
	 *    payload with no speech), CMR=7: 0111 0 1111 1 + 6 padding bits = 0x77 0xc0 */
	uint8_t f5[] = { 15 << 3 | 1 << 2 };
	uint8_t want5[] = { 0x77, 0xc0 };
	CHECK_INT(rg_amr_be_packetize(&NB, 7, f5, 1, pl, sizeof(pl), &plen), 0);
	CHECK_MEM(pl, plen, want5, sizeof(want5));
	CHECK_INT(rg_amr_be_depacketize(&NB, want5, 2, back, sizeof(back), &info), 0);
	CHECK_INT(info.cmr, 7);
	CHECK_MEM(back, info.len, f5, 1);
	/* padding bits set by a sloppy sender are ignored */
	uint8_t sloppy5[] = { 0x77, 0xff };
	CHECK_INT(rg_amr_be_depacketize(&NB, sloppy5, 2, back, sizeof(back), &info), 0);
	CHECK_MEM(back, info.len, f5, 1);
	/* the OA R bits and ToC P bits too */
	uint8_t sloppy_oa[] = { 0x7f, 15 << 3 | 1 << 2 | 3 };
	CHECK_INT(rg_amr_oa_depacketize(&NB, sloppy_oa, 2, back, sizeof(back), &info), 0);
	CHECK_MEM(back, info.len, f5, 1);
}

static void test_mode_set(void)
{
	/* mode-set=0,2,4,7 (AMR) */
	struct rg_amr_cfg cfg = { .variant = RG_AMR_NB, .mode_set = 1 << 0 | 1 << 2 | 1 << 4 | 1 << 7 };
	uint8_t frames[4 * RG_AMR_MAX_STORAGE_FRAME], pl[RG_AMR_MAX_PAYLOAD], back[sizeof(frames)];
	size_t flen = 0, plen;
	struct rg_amr_info info;

	/* the sender refuses a mode outside the set */
	flen = make_frame(RG_AMR_NB, 5, 1, frames);
	CHECK_INT(rg_amr_oa_packetize(&cfg, RG_AMR_CMR_NONE, frames, flen, pl, sizeof(pl), &plen),
		  -EINVAL);
	CHECK_INT(rg_amr_be_packetize(&cfg, RG_AMR_CMR_NONE, frames, flen, pl, sizeof(pl), &plen),
		  -EINVAL);

	/* the receiver turns a frame outside the set into NO_DATA, keeping its 20 ms slot:
	 * packetized without the restriction, depacketized with it */
	for (int m = 0; m < 2; m++) {
		uint8_t f7[RG_AMR_MAX_STORAGE_FRAME], fsid[RG_AMR_MAX_STORAGE_FRAME];
		size_t l7 = make_frame(RG_AMR_NB, 7, 1, f7);
		size_t lsid = make_frame(RG_AMR_NB, 8, 1, fsid);
		flen = 0;
		memcpy(frames + flen, f7, l7), flen += l7;
		flen += make_frame(RG_AMR_NB, 5, 1, frames + flen);
		memcpy(frames + flen, fsid, lsid), flen += lsid;
		flen += make_frame(RG_AMR_NB, 6, 0, frames + flen);
		CHECK_INT(modes[m].pack(&NB, 5, frames, flen, pl, sizeof(pl), &plen), 0);
		CHECK_INT(modes[m].unpack(&cfg, pl, plen, back, sizeof(back), &info), 0);
		CHECK_INT(info.nframes, 4);
		CHECK_INT(info.filtered, 2);
		uint8_t want[2 * RG_AMR_MAX_STORAGE_FRAME + 2];
		size_t wl = 0;
		memcpy(want + wl, f7, l7), wl += l7;
		want[wl++] = 0x7c; /* NO_DATA for the 7.95 frame */
		memcpy(want + wl, fsid, lsid), wl += lsid; /* SID is not subject to mode-set */
		want[wl++] = 0x7c; /* NO_DATA for the 10.2 frame */
		CHECK_MEM(back, info.len, want, wl);
		/* CMR=5 is not in the set: "not higher than 7.95" -> 7.40 (FT 4) */
		CHECK_INT(info.cmr_raw, 5);
		CHECK_INT(info.cmr, 4);
	}

	/* bad mode-set bits */
	struct rg_amr_cfg bad = { .variant = RG_AMR_NB, .mode_set = 1 << 8 };
	CHECK_INT(rg_amr_oa_depacketize(&bad, pl, plen, back, sizeof(back), &info), -EINVAL);
	bad.variant = RG_AMR_WB; /* 8 is a WB mode */
	flen = make_frame(RG_AMR_WB, 8, 1, frames);
	CHECK_INT(rg_amr_oa_packetize(&bad, 8, frames, flen, pl, sizeof(pl), &plen), 0);
	bad.mode_set = 1 << 9;
	CHECK_INT(rg_amr_oa_packetize(&bad, 8, frames, flen, pl, sizeof(pl), &plen), -EINVAL);
}

static void test_cmr(void)
{
	struct rg_amr_cfg cfg = { .variant = RG_AMR_NB, .mode_set = 1 << 2 | 1 << 4 | 1 << 7 };
	uint8_t back[16];
	struct rg_amr_info info;
	/* raw CMR -> effective (RFC 4867 section 4.3.1) */
	static const uint8_t want[16] = {
		2, 2, 2, 2, /* 0, 1 below the lowest allowed -> lowest; 2 in; 3 -> 2 */
		4, 4, 4, 7, /* 4 in; 5, 6 -> 4; 7 in */
		15, 15, 15, 15, 15, 15, 15, 15, /* SID FT and reserved values: ignored */
	};
	for (unsigned c = 0; c < 16; c++) {
		/* octet-aligned: CMR then one NO_DATA ToC entry */
		uint8_t pl[2] = { (uint8_t)(c << 4), 15 << 3 | 1 << 2 };
		CHECK_INT(rg_amr_oa_depacketize(&cfg, pl, 2, back, sizeof(back), &info), 0);
		CHECK_INT(info.cmr_raw, c);
		CHECK_INT(info.cmr, want[c]);
		/* bandwidth-efficient: CMR(4) F=0 FT=1111 Q=1 */
		uint8_t be[2] = { (uint8_t)(c << 4 | 0x07), 0xc0 };
		CHECK_INT(rg_amr_be_depacketize(&cfg, be, 2, back, sizeof(back), &info), 0);
		CHECK_INT(info.cmr_raw, c);
		CHECK_INT(info.cmr, want[c]);
	}
	/* all modes allowed: every speech CMR passes, AMR-WB up to 8 */
	for (unsigned c = 0; c < 16; c++) {
		uint8_t pl[2] = { (uint8_t)(c << 4), 15 << 3 | 1 << 2 };
		CHECK_INT(rg_amr_oa_depacketize(&WB, pl, 2, back, sizeof(back), &info), 0);
		CHECK_INT(info.cmr, c <= 8 ? c : 15);
	}
	/* sending: a CMR must be a mode of the set, or 15 */
	uint8_t f[] = { 0x7c }, out[8];
	size_t olen;
	CHECK_INT(rg_amr_oa_packetize(&cfg, 7, f, 1, out, sizeof(out), &olen), 0);
	CHECK_INT(out[0], 0x70);
	CHECK_INT(rg_amr_oa_packetize(&cfg, 5, f, 1, out, sizeof(out), &olen), -EINVAL);
	CHECK_INT(rg_amr_oa_packetize(&cfg, 8, f, 1, out, sizeof(out), &olen), -EINVAL);
	CHECK_INT(rg_amr_be_packetize(&NB, 16, f, 1, out, sizeof(out), &olen), -EINVAL);
	CHECK_INT(rg_amr_be_packetize(&WB, 8, f, 1, out, sizeof(out), &olen), 0);
	CHECK_INT(rg_amr_be_packetize(&WB, 9, f, 1, out, sizeof(out), &olen), -EINVAL);
}

static void test_hostile(void)
{
	uint8_t back[RG_AMR_MAX_FRAMES * RG_AMR_MAX_STORAGE_FRAME], pl[64];
	struct rg_amr_info info;
	size_t plen;

	/* empty and one-octet payloads */
	for (int m = 0; m < 2; m++) {
		CHECK_INT(modes[m].unpack(&NB, pl, 0, back, sizeof(back), &info), -EINVAL);
		CHECK_INT(modes[m].unpack(&NB, NULL, 0, back, sizeof(back), &info), -EINVAL);
		pl[0] = 0xf0;
		CHECK_INT(modes[m].unpack(&NB, pl, 1, back, sizeof(back), &info), -EINVAL);
	}
	/* reserved FT: AMR 9-14, AMR-WB 10-13 discard the payload (RFC 4867 section 4.3.2) */
	for (unsigned ft = 0; ft < 16; ft++) {
		uint8_t oa[2 + 61] = { 0xf0, (uint8_t)(ft << 3 | 4) };
		bool nb_ok = ft <= 8 || ft == 15, wb_ok = ft <= 9 || ft >= 14;
		int nl = rg_amr_storage_len(RG_AMR_NB, (uint8_t)(ft << 3));
		int wl = rg_amr_storage_len(RG_AMR_WB, (uint8_t)(ft << 3));
		CHECK_INT(rg_amr_oa_depacketize(&NB, oa, nb_ok ? (size_t)(1 + nl) : sizeof(oa), back,
						sizeof(back), &info), nb_ok ? 0 : -EINVAL);
		CHECK_INT(rg_amr_oa_depacketize(&WB, oa, wb_ok ? (size_t)(1 + wl) : sizeof(oa), back,
						sizeof(back), &info), wb_ok ? 0 : -EINVAL);
		uint8_t be[64] = { 0xf0 | (uint8_t)(ft >> 1), (uint8_t)((ft & 1) << 7 | 0x40) };
		int nbits = rg_amr_frame_bits(RG_AMR_NB, ft), wbits = rg_amr_frame_bits(RG_AMR_WB, ft);
		CHECK_INT(rg_amr_be_depacketize(&NB, be, nb_ok ? (size_t)(10 + nbits + 7) / 8 : 64, back,
						sizeof(back), &info), nb_ok ? 0 : -EINVAL);
		CHECK_INT(rg_amr_be_depacketize(&WB, be, wb_ok ? (size_t)(10 + wbits + 7) / 8 : 64, back,
						sizeof(back), &info), wb_ok ? 0 : -EINVAL);
		/* and as storage frames on the sending side */
		uint8_t sf[62] = { (uint8_t)(ft << 3 | 4) };
		CHECK_INT(rg_amr_oa_packetize(&NB, 15, sf, nb_ok ? (size_t)nl : 1, pl, sizeof(pl), &plen),
			  nb_ok ? 0 : -EINVAL);
		CHECK_INT(rg_amr_be_packetize(&WB, 15, sf, wb_ok ? (size_t)wl : 1, pl, sizeof(pl), &plen),
			  wb_ok ? 0 : -EINVAL);
	}
	/* too many frames: 17 NO_DATA ToC entries (F=1 on the first 16) */
	uint8_t many[1 + 17];
	many[0] = 0xf0;
	for (int i = 1; i <= 17; i++)
		many[i] = (uint8_t)((i < 17 ? 0x80 : 0) | 15 << 3 | 4);
	CHECK_INT(rg_amr_oa_depacketize(&NB, many, sizeof(many), back, sizeof(back), &info), -EINVAL);
	CHECK_INT(rg_amr_oa_depacketize(&NB, many + 1, 16, back, sizeof(back), &info), -EINVAL);
	/* exactly 16 is fine */
	many[16] &= 0x7f;
	CHECK_INT(rg_amr_oa_depacketize(&NB, many, 17, back, sizeof(back), &info), 0);
	CHECK_INT(info.nframes, 16);
	/* bandwidth-efficient: 17 NO_DATA entries = 4 + 17*6 bits */
	uint8_t bemany[14];
	memset(bemany, 0, sizeof(bemany));
	size_t pos = 4;
	for (int i = 0; i < 17; i++, pos += 6) {
		unsigned e = (i < 16 ? 0x20u : 0) | 15 << 1 | 1;
		for (int b = 5; b >= 0; b--) {
			size_t p = pos + (size_t)(5 - b);
			if (e >> b & 1)
				bemany[p / 8] |= (uint8_t)(0x80 >> (p % 8));
		}
	}
	CHECK_INT(rg_amr_be_depacketize(&NB, bemany, sizeof(bemany), back, sizeof(back), &info),
		  -EINVAL);
	/* F=1 on the last ToC entry, nothing after it */
	uint8_t open_oa[] = { 0xf0, 0x80 | 15 << 3 | 4 };
	CHECK_INT(rg_amr_oa_depacketize(&NB, open_oa, 2, back, sizeof(back), &info), -EINVAL);
	uint8_t open_be[] = { 0xf1 /* F=1 */, 0xf0 };
	CHECK_INT(rg_amr_be_depacketize(&NB, open_be, 2, back, sizeof(back), &info), -EINVAL);
	/* trailing garbage: an extra octet after a complete OA payload; >= 8 bits in BE */
	uint8_t trail_oa[] = { 0xf0, 15 << 3 | 4, 0x00 };
	CHECK_INT(rg_amr_oa_depacketize(&NB, trail_oa, 3, back, sizeof(back), &info), -EINVAL);
	uint8_t trail_be[] = { 0xf7, 0xc0, 0x00 };
	CHECK_INT(rg_amr_be_depacketize(&NB, trail_be, 3, back, sizeof(back), &info), -EINVAL);
	/* unsupported options */
	struct rg_amr_cfg crc = { .variant = RG_AMR_NB, .crc = true };
	struct rg_amr_cfg il = { .variant = RG_AMR_WB, .interleaving = 4 };
	struct rg_amr_cfg rs = { .variant = RG_AMR_NB, .robust_sorting = true };
	uint8_t ok_oa[] = { 0xf0, 15 << 3 | 4 };
	uint8_t nod[] = { 0x7c };
	for (int m = 0; m < 2; m++) {
		CHECK_INT(modes[m].unpack(&crc, ok_oa, 2, back, sizeof(back), &info), -ENOTSUP);
		CHECK_INT(modes[m].unpack(&il, ok_oa, 2, back, sizeof(back), &info), -ENOTSUP);
		CHECK_INT(modes[m].unpack(&rs, ok_oa, 2, back, sizeof(back), &info), -ENOTSUP);
		CHECK_INT(modes[m].pack(&crc, 15, nod, 1, pl, sizeof(pl), &plen), -ENOTSUP);
		CHECK_INT(modes[m].pack(&il, 15, nod, 1, pl, sizeof(pl), &plen), -ENOTSUP);
		CHECK_INT(modes[m].pack(&rs, 15, nod, 1, pl, sizeof(pl), &plen), -ENOTSUP);
	}
	/* bad variant, NULLs, truncated storage frame, 17 storage frames */
	struct rg_amr_cfg badv = { .variant = (enum rg_amr_variant)7 };
	CHECK_INT(rg_amr_oa_depacketize(&badv, ok_oa, 2, back, sizeof(back), &info), -EINVAL);
	CHECK_INT(rg_amr_oa_depacketize(NULL, ok_oa, 2, back, sizeof(back), &info), -EINVAL);
	CHECK_INT(rg_amr_oa_depacketize(&NB, ok_oa, 2, back, sizeof(back), NULL), -EINVAL);
	CHECK_INT(rg_amr_oa_depacketize(&NB, ok_oa, 2, NULL, 0, &info), -ENOBUFS);
	uint8_t trunc[31] = { 7 << 3 | 4 };
	CHECK_INT(rg_amr_oa_packetize(&NB, 15, trunc, sizeof(trunc), pl, sizeof(pl), &plen), -EINVAL);
	CHECK_INT(rg_amr_be_packetize(&NB, 15, trunc, 0, pl, sizeof(pl), &plen), -EINVAL);
	uint8_t seventeen[17];
	memset(seventeen, 0x7c, sizeof(seventeen));
	CHECK_INT(rg_amr_oa_packetize(&NB, 15, seventeen, 17, pl, sizeof(pl), &plen), -EINVAL);
	CHECK_INT(rg_amr_be_packetize(&NB, 15, seventeen, 16, pl, sizeof(pl), &plen), 0);

	/* random garbage never crashes and, when accepted, re-packetizes to an equivalent payload */
	for (int iter = 0; iter < 200000; iter++) {
		uint8_t g[48];
		size_t gl = rnd() % sizeof(g);
		for (size_t i = 0; i < gl; i++)
			g[i] = (uint8_t)rnd();
		if (gl > 1 && (iter & 1))
			g[1] &= 0x7f; /* short ToC lists are more likely to parse */
		int m = (iter >> 1) & 1;
		const struct rg_amr_cfg *cfg = (iter >> 2) & 1 ? &WB : &NB;
		int rc = modes[m].unpack(cfg, g, gl, back, sizeof(back), &info);
		CHECK(rc == 0 || rc == -EINVAL);
		if (rc)
			continue;
		uint8_t again[RG_AMR_MAX_FRAMES * RG_AMR_MAX_STORAGE_FRAME], pl2[RG_AMR_MAX_PAYLOAD];
		size_t l2;
		struct rg_amr_info info2;
		CHECK_INT(modes[m].pack(cfg, info.cmr, back, info.len, pl2, sizeof(pl2), &l2), 0);
		CHECK_INT(modes[m].unpack(cfg, pl2, l2, again, sizeof(again), &info2), 0);
		CHECK_MEM(again, info2.len, back, info.len);
	}
}

/* ---- Opus ---- */

static void test_opus_known(void)
{
	struct rg_opus_info in;
	unsigned d;
	uint8_t p[4000];

	memset(p, 0x55, sizeof(p));
	/* [R1] empty */
	CHECK_INT(rg_opus_packet_parse(p, 0, &in), -EINVAL);
	CHECK_INT(rg_opus_packet_duration(p, 0, &d), -EINVAL);

	/* code 0, config 15 (hybrid FB 20 ms), stereo: TOC 01111 1 00 = 0x7c, one 10-octet frame */
	p[0] = 0x7c;
	CHECK_INT(rg_opus_packet_parse(p, 11, &in), 0);
	CHECK_INT(in.config, 15);
	CHECK(in.stereo);
	CHECK_INT(in.mode, RG_OPUS_HYBRID);
	CHECK_INT(in.bandwidth, RG_OPUS_FB);
	CHECK_INT(in.nframes, 1);
	CHECK_INT(in.frame_len[0], 10);
	CHECK_INT(in.frame_off[0], 1);
	CHECK_INT(in.samples, 960);
	/* a TOC alone: one empty frame (DTX), still valid */
	CHECK_INT(rg_opus_packet_parse(p, 1, &in), 0);
	CHECK_INT(in.frame_len[0], 0);
	/* [R2] 1275 is the longest frame */
	CHECK_INT(rg_opus_packet_parse(p, 1276, &in), 0);
	CHECK_INT(rg_opus_packet_parse(p, 1277, &in), -EINVAL);

	/* code 1: two equal frames; [R3] odd remainder is invalid. config 1 = SILK NB 20 ms */
	p[0] = 1 << 3 | 1;
	CHECK_INT(rg_opus_packet_parse(p, 9, &in), 0);
	CHECK_INT(in.nframes, 2);
	CHECK_INT(in.frame_len[1], 4);
	CHECK_INT(in.frame_off[1], 5);
	CHECK_INT(in.samples, 1920);
	CHECK_INT(in.mode, RG_OPUS_SILK);
	CHECK_INT(in.bandwidth, RG_OPUS_NB);
	CHECK_INT(rg_opus_packet_parse(p, 8, &in), -EINVAL);
	CHECK_INT(rg_opus_packet_parse(p, 1 + 2 * 1275, &in), 0);
	CHECK_INT(rg_opus_packet_parse(p, 1 + 2 * 1276, &in), -EINVAL);

	/* code 2: first length coded. config 31 (CELT FB 20 ms) */
	p[0] = 31 << 3 | 2;
	p[1] = 3; /* 1-octet length */
	CHECK_INT(rg_opus_packet_parse(p, 2 + 3 + 5, &in), 0);
	CHECK_INT(in.frame_off[0], 2);
	CHECK_INT(in.frame_len[0], 3);
	CHECK_INT(in.frame_off[1], 5);
	CHECK_INT(in.frame_len[1], 5);
	CHECK_INT(in.mode, RG_OPUS_CELT);
	CHECK_INT(in.bandwidth, RG_OPUS_FB);
	CHECK_INT(rg_opus_packet_parse(p, 2 + 2, &in), -EINVAL); /* [R4] */
	CHECK_INT(rg_opus_packet_parse(p, 1, &in), -EINVAL);
	p[1] = 252; /* 2-octet length: 4 * p[2] + 252 */
	p[2] = 2;   /* 260 */
	CHECK_INT(rg_opus_packet_parse(p, 3 + 260, &in), 0);
	CHECK_INT(in.frame_len[0], 260);
	CHECK_INT(in.frame_len[1], 0);
	CHECK_INT(rg_opus_packet_parse(p, 2, &in), -EINVAL);
	p[1] = 255; /* 4 * 255 + 255 = 1275 */
	p[2] = 255;
	CHECK_INT(rg_opus_packet_parse(p, 3 + 1275 + 1275, &in), 0);
	CHECK_INT(rg_opus_packet_parse(p, 3 + 1275 + 1276, &in), -EINVAL); /* second > 1275 */

	/* code 3 CBR: config 16 (CELT NB 2.5 ms), M = 48 (120 ms), no padding */
	p[0] = 16 << 3 | 3;
	p[1] = 48;
	CHECK_INT(rg_opus_packet_parse(p, 2 + 48 * 2, &in), 0);
	CHECK_INT(in.nframes, 48);
	CHECK_INT(in.samples, 5760);
	CHECK_INT(in.frame_off[47], 2 + 47 * 2);
	CHECK_INT(rg_opus_packet_parse(p, 2 + 48 * 2 + 1, &in), -EINVAL); /* [R6] not divisible */
	CHECK_INT(rg_opus_packet_duration(p, 2, &d), 0);
	CHECK_INT(d, 5760);
	p[1] = 49; /* [R5] 122.5 ms */
	CHECK_INT(rg_opus_packet_parse(p, 2 + 49 * 2, &in), -EINVAL);
	CHECK_INT(rg_opus_packet_duration(p, 2, &d), -EINVAL);
	p[1] = 0; /* [R5] M = 0 */
	CHECK_INT(rg_opus_packet_parse(p, 10, &in), -EINVAL);
	CHECK_INT(rg_opus_packet_duration(p, 1, &d), -EINVAL);
	/* config 3 (SILK NB 60 ms): M=2 is 120 ms, M=3 too long */
	p[0] = 3 << 3 | 3;
	p[1] = 2;
	CHECK_INT(rg_opus_packet_parse(p, 2 + 20, &in), 0);
	CHECK_INT(in.samples, 5760);
	p[1] = 3;
	CHECK_INT(rg_opus_packet_parse(p, 2 + 21, &in), -EINVAL);

	/* code 3 VBR with padding: config 9 (SILK WB 20 ms), v=1 p=1 M=3:
	 *   TOC, 0xc3, padding length 300 = 255 (254) + 46, lengths 2 and 3, frames 2+3+4, padding */
	p[0] = 9 << 3 | 3;
	p[1] = 0xc3;
	p[2] = 255;
	p[3] = 46;
	p[4] = 2;
	p[5] = 3;
	size_t len = 6 + 2 + 3 + 4 + 300;
	CHECK_INT(rg_opus_packet_parse(p, len, &in), 0);
	CHECK_INT(in.padding, 300);
	CHECK_INT(in.nframes, 3);
	CHECK_INT(in.frame_off[0], 6);
	CHECK_INT(in.frame_len[0], 2);
	CHECK_INT(in.frame_off[1], 8);
	CHECK_INT(in.frame_len[1], 3);
	CHECK_INT(in.frame_off[2], 11);
	CHECK_INT(in.frame_len[2], 4);
	CHECK_INT(in.samples, 2880);
	CHECK_INT(rg_opus_packet_parse(p, 6 + 2 + 3 + 300, &in), 0); /* last frame empty */
	CHECK_INT(rg_opus_packet_parse(p, 6 + 2 + 2 + 300, &in), -EINVAL); /* [R7] */
	CHECK_INT(rg_opus_packet_parse(p, 3, &in), -EINVAL); /* padding length truncated */
	CHECK_INT(rg_opus_packet_parse(p, 4 + 10, &in), -EINVAL); /* padding longer than packet */
	CHECK_INT(rg_opus_packet_parse(p, len, NULL), 0);
	CHECK_INT(rg_opus_packet_duration(p, len, &d), 0);
	CHECK_INT(d, 2880);
	CHECK_INT(rg_opus_packet_duration(p, 1, &d), -EINVAL); /* code 3 needs the count octet */
}

/* Our validator and libopus' opus_packet_parse() agree on random and mutated packets. */
static void test_opus_vs_libopus(void)
{
	static uint8_t p[3000];
	unsigned agree = 0, valid = 0;
	for (int iter = 0; iter < 300000; iter++) {
		size_t len = rnd() % (iter & 1 ? 40 : sizeof(p));
		for (size_t i = 0; i < len; i++)
			p[i] = (uint8_t)rnd();
		if (len > 1 && (iter & 2))
			p[1] &= (uint8_t)(0xc0 | (rnd() & 7)); /* small frame counts */
		if (len > 2 && (iter & 4))
			p[2] = (uint8_t)(rnd() % 8);
		struct rg_opus_info in;
		const unsigned char *frames[48];
		opus_int16 sizes[48];
		int payload_offset;
		int rc = rg_opus_packet_parse(p, len, &in);
		int n = opus_packet_parse(p, (opus_int32)len, NULL, frames, sizes, &payload_offset);
		CHECK_INT(rc == 0, n > 0);
		if (n > 0 && rc == 0) {
			valid++;
			CHECK_INT(in.nframes, n);
			int ns = opus_packet_get_nb_samples(p, (opus_int32)len, 48000);
			CHECK_INT(in.samples, ns);
			for (int i = 0; i < n && i < 48; i++) {
				CHECK_INT(in.frame_len[i], sizes[i]);
				CHECK_INT(in.frame_off[i], frames[i] - p);
			}
			unsigned d = 0;
			CHECK_INT(rg_opus_packet_duration(p, len, &d), 0);
			CHECK_INT(d, in.samples);
		}
		agree += (rc == 0) == (n > 0);
	}
	printf("  opus: %u of 300000 verdicts agree with libopus, %u valid packets\n", agree, valid);
}

int main(void)
{
	struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "amr sizes", test_sizes },
		{ "amr round trip, each FT alone", test_roundtrip_single },
		{ "amr round trip, multi-frame", test_roundtrip_multi },
		{ "amr known bytes", test_known_bytes },
		{ "amr mode-set", test_mode_set },
		{ "amr cmr", test_cmr },
		{ "amr hostile input", test_hostile },
		{ "opus known packets", test_opus_known },
		{ "opus vs libopus", test_opus_vs_libopus },
	};
	int failed_tests = 0;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		int before = failed_checks;
		tests[i].fn();
		bool ok = failed_checks == before;
		failed_tests += !ok;
		printf("%s %s\n", ok ? "ok  " : "FAIL", tests[i].name);
	}
	printf("%d checks, %d failed; %d test(s) failed\n", checks, failed_checks, failed_tests);
	return failed_checks ? 1 : 0;
}
