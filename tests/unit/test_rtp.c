/* Unit tests for gateway/rtp.c. Packets are parsed from exact-size heap copies so that ASan
 * catches any read past len. */
#include "rtp.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

static int parse_rtp(const uint8_t *p, size_t len, rtp_info *out)
{
	uint8_t *copy = g_malloc(len ? len : 1);
	if (len)
		memcpy(copy, p, len);
	int rc = rtp_parse(copy, len, out);
	if (rc == 0)
		g_assert_cmpuint(out->hdr_len + out->payload_len + out->padding_len, ==, len);
	g_free(copy);
	return rc;
}

static int parse_rtcp(const uint8_t *p, size_t len, rtcp_info *out)
{
	uint8_t *copy = g_malloc(len ? len : 1);
	if (len)
		memcpy(copy, p, len);
	int rc = rtcp_parse(copy, len, out);
	g_free(copy);
	return rc;
}

static bool is_rtcp(const uint8_t *p, size_t len)
{
	uint8_t *copy = g_malloc(len ? len : 1);
	if (len)
		memcpy(copy, p, len);
	bool r = rtp_is_rtcp(copy, len);
	g_free(copy);
	return r;
}

static void test_rtp_basic(void)
{
	uint8_t pkt[12 + 160];
	static const uint8_t hdr[] = { 0x80, 0x00, 0x12, 0x34, 0x00, 0x00, 0x0a, 0x0b, 0xde, 0xad, 0xbe, 0xef };
	memcpy(pkt, hdr, sizeof(hdr));
	memset(pkt + 12, 0xff, 160);
	rtp_info r;
	g_assert_cmpint(parse_rtp(pkt, sizeof(pkt), &r), ==, 0);
	g_assert_cmpuint(r.pt, ==, 0);
	g_assert_false(r.marker);
	g_assert_cmpuint(r.seq, ==, 0x1234);
	g_assert_cmpuint(r.ts, ==, 0x0a0b);
	g_assert_cmphex(r.ssrc, ==, 0xdeadbeef);
	g_assert_cmpuint(r.csrc_count, ==, 0);
	g_assert_false(r.has_ext);
	g_assert_cmpuint(r.hdr_len, ==, 12);
	g_assert_cmpuint(r.payload_len, ==, 160);
	g_assert_cmpuint(r.padding_len, ==, 0);
	g_assert_false(is_rtcp(pkt, sizeof(pkt)));

	/* header only, no payload */
	g_assert_cmpint(parse_rtp(pkt, 12, &r), ==, 0);
	g_assert_cmpuint(r.payload_len, ==, 0);

	/* marker + dynamic PT 111 (Opus), high sequence/timestamp/ssrc bits */
	static const uint8_t m[] = { 0x80, 0xef, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xf0, 0x80, 0x00, 0x00, 0x01, 0xaa };
	g_assert_cmpint(parse_rtp(m, sizeof(m), &r), ==, 0);
	g_assert_true(r.marker);
	g_assert_cmpuint(r.pt, ==, 111);
	g_assert_cmpuint(r.seq, ==, 0xfffe);
	g_assert_cmphex(r.ts, ==, 0xfffffff0);
	g_assert_cmphex(r.ssrc, ==, 0x80000001);
	g_assert_cmpuint(r.payload_len, ==, 1);
	g_assert_false(is_rtcp(m, sizeof(m)));
}

static void test_rtp_csrc_ext_padding(void)
{
	/* two CSRCs */
	static const uint8_t c[] = {
		0x82, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x11, 0x22, 0x33, 0x44,
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
		0xd5, 0xd5,
	};
	rtp_info r;
	g_assert_cmpint(parse_rtp(c, sizeof(c), &r), ==, 0);
	g_assert_cmpuint(r.pt, ==, 8);
	g_assert_cmpuint(r.csrc_count, ==, 2);
	g_assert_cmpuint(r.hdr_len, ==, 20);
	g_assert_cmpuint(r.payload_len, ==, 2);

	/* RFC 8285 one-byte extension (0xBEDE), one word: audio level */
	static const uint8_t x[] = {
		0x90, 0x6f, 0x00, 0x02, 0x00, 0x00, 0x03, 0xc0, 0x01, 0x02, 0x03, 0x04,
		0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00,
		0x01, 0x02, 0x03,
	};
	g_assert_cmpint(parse_rtp(x, sizeof(x), &r), ==, 0);
	g_assert_true(r.has_ext);
	g_assert_cmphex(r.ext_profile, ==, 0xbede);
	g_assert_cmpuint(r.hdr_len, ==, 20);
	g_assert_cmpuint(r.payload_len, ==, 3);

	/* empty extension (length 0) is legal */
	static const uint8_t x0[] = {
		0x90, 0x00, 0x00, 0x02, 0x00, 0x00, 0x03, 0xc0, 0x01, 0x02, 0x03, 0x04,
		0x10, 0x00, 0x00, 0x00,
	};
	g_assert_cmpint(parse_rtp(x0, sizeof(x0), &r), ==, 0);
	g_assert_cmphex(r.ext_profile, ==, 0x1000);
	g_assert_cmpuint(r.hdr_len, ==, 16);
	g_assert_cmpuint(r.payload_len, ==, 0);

	/* everything: P, X, CC=1, marker; ext of 2 words; 20 bytes payload; 4 bytes padding */
	uint8_t all[12 + 4 + 4 + 8 + 20 + 4];
	static const uint8_t ah[] = {
		0xb1, 0xe0, 0x55, 0xaa, 0x01, 0x02, 0x03, 0x04, 0x0a, 0x0b, 0x0c, 0x0d,
		0xc5, 0xc5, 0xc5, 0xc5,
		0x10, 0x00, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 7, 8,
	};
	memcpy(all, ah, sizeof(ah));
	memset(all + sizeof(ah), 0x77, 20);
	memcpy(all + sizeof(ah) + 20, (uint8_t[]){ 0, 0, 0, 4 }, 4);
	g_assert_cmpint(parse_rtp(all, sizeof(all), &r), ==, 0);
	g_assert_true(r.marker);
	g_assert_cmpuint(r.pt, ==, 96);
	g_assert_cmpuint(r.csrc_count, ==, 1);
	g_assert_true(r.has_ext);
	g_assert_cmpuint(r.hdr_len, ==, 28);
	g_assert_cmpuint(r.payload_len, ==, 20);
	g_assert_cmpuint(r.padding_len, ==, 4);
	g_assert_false(is_rtcp(all, sizeof(all)));  /* 0xe0 = 224: PT 96 with marker */

	/* every prefix: no crash, and success only with the invariant (checked in parse_rtp) */
	for (size_t i = 0; i < sizeof(all); i++)
		(void)parse_rtp(all, i, &r);

	/* padding covering the whole body (1 byte) */
	static const uint8_t p1[] = { 0xa0, 0x00, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x01 };
	g_assert_cmpint(parse_rtp(p1, sizeof(p1), &r), ==, 0);
	g_assert_cmpuint(r.padding_len, ==, 1);
	g_assert_cmpuint(r.payload_len, ==, 0);
}

static void test_rtp_malformed(void)
{
	uint8_t b[64];
	rtp_info r, before;
	memset(b, 0, sizeof(b));
	b[0] = 0x80;

	memset(&r, 0x5a, sizeof(r));
	before = r;
	for (size_t len = 0; len < 12; len++)
		g_assert_cmpint(parse_rtp(b, len, &r), ==, -EINVAL);
	g_assert_cmpint(rtp_parse(NULL, 12, &r), ==, -EINVAL);
	g_assert_cmpmem(&r, sizeof(r), &before, sizeof(before));  /* untouched on failure */

	/* versions 0, 1, 3 */
	for (uint8_t v = 0; v < 4; v++) {
		b[0] = (uint8_t)(v << 6);
		g_assert_cmpint(parse_rtp(b, 20, &r), ==, v == 2 ? 0 : -EINVAL);
	}

	/* CSRC list longer than the packet: CC=15 needs 72 bytes */
	b[0] = 0x8f;
	g_assert_cmpint(parse_rtp(b, 64, &r), ==, -EINVAL);
	b[0] = 0x82;
	g_assert_cmpint(parse_rtp(b, 19, &r), ==, -EINVAL);
	g_assert_cmpint(parse_rtp(b, 20, &r), ==, 0);

	/* extension header truncated */
	b[0] = 0x90;
	g_assert_cmpint(parse_rtp(b, 12, &r), ==, -EINVAL);
	g_assert_cmpint(parse_rtp(b, 15, &r), ==, -EINVAL);
	g_assert_cmpint(parse_rtp(b, 16, &r), ==, 0);
	/* extension length beyond the packet */
	b[14] = 0x00;
	b[15] = 0x03;  /* 12 more bytes */
	g_assert_cmpint(parse_rtp(b, 27, &r), ==, -EINVAL);
	g_assert_cmpint(parse_rtp(b, 28, &r), ==, 0);
	b[14] = 0xff;
	b[15] = 0xff;
	g_assert_cmpint(parse_rtp(b, 64, &r), ==, -EINVAL);
	/* extension after CSRCs, truncated */
	b[0] = 0x92;
	b[14] = b[15] = 0;
	b[22] = 0x00;
	b[23] = 0x01;
	g_assert_cmpint(parse_rtp(b, 27, &r), ==, -EINVAL);
	g_assert_cmpint(parse_rtp(b, 28, &r), ==, 0);
	g_assert_cmpuint(r.hdr_len, ==, 28);

	/* padding */
	memset(b, 0, sizeof(b));
	b[0] = 0xa0;
	g_assert_cmpint(parse_rtp(b, 12, &r), ==, -EINVAL);  /* P set, no room for the count */
	b[19] = 0;
	g_assert_cmpint(parse_rtp(b, 20, &r), ==, -EINVAL);  /* count 0 */
	b[19] = 9;
	g_assert_cmpint(parse_rtp(b, 20, &r), ==, -EINVAL);  /* longer than the 8-byte body */
	b[19] = 8;
	g_assert_cmpint(parse_rtp(b, 20, &r), ==, 0);
	g_assert_cmpuint(r.payload_len, ==, 0);
	b[19] = 0xff;
	g_assert_cmpint(parse_rtp(b, 20, &r), ==, -EINVAL);
	/* padding may not eat into the CSRC list */
	b[0] = 0xa1;
	b[19] = 5;
	g_assert_cmpint(parse_rtp(b, 20, &r), ==, -EINVAL);
	b[19] = 4;
	g_assert_cmpint(parse_rtp(b, 20, &r), ==, 0);
	g_assert_cmpuint(r.hdr_len, ==, 16);
}

static void test_is_rtcp(void)
{
	uint8_t b[2] = { 0x80, 0 };
	for (unsigned v = 0; v < 256; v++) {
		b[1] = (uint8_t)v;
		g_assert_true(is_rtcp(b, 2) == (v >= 192 && v <= 223));
	}
	b[1] = 200;
	g_assert_false(is_rtcp(b, 1));
	g_assert_false(is_rtcp(b, 0));
	g_assert_false(rtp_is_rtcp(NULL, 2));
	b[0] = 0x40;
	g_assert_false(is_rtcp(b, 2));
	b[0] = 0xc0;
	g_assert_false(is_rtcp(b, 2));
	b[0] = 0xbf;  /* version 2 with P and RC bits */
	g_assert_true(is_rtcp(b, 2));
}

/* A browser's compound: SR (one report block) + SDES CNAME. */
static const uint8_t sr_sdes[] = {
	/* SR: V=2 RC=1, PT=200, length 12 (52 bytes) */
	0x81, 0xc8, 0x00, 0x0c,
	0x5e, 0x2a, 0x1b, 0x3c,                         /* sender SSRC */
	0xe8, 0xf2, 0xa3, 0xb4, 0x12, 0x34, 0x56, 0x78, /* NTP */
	0x00, 0x01, 0xe2, 0x40,                         /* RTP ts 123456 */
	0x00, 0x00, 0x05, 0xdc,                         /* 1500 packets */
	0x00, 0x03, 0xa9, 0x80,                         /* 240000 octets */
	0x1a, 0x2b, 0x3c, 0x4d,                         /* report: SSRC */
	0x05, 0x00, 0x00, 0x10,                         /* fraction 5, cumulative 16 */
	0x00, 0x01, 0x23, 0x45,                         /* ext. highest seq */
	0x00, 0x00, 0x00, 0x20,                         /* jitter */
	0xa3, 0xb4, 0x12, 0x34,                         /* LSR */
	0x00, 0x01, 0x00, 0x00,                         /* DLSR */
	/* SDES: V=2 SC=1, PT=202, length 6 (28 bytes) */
	0x81, 0xca, 0x00, 0x06,
	0x5e, 0x2a, 0x1b, 0x3c,
	0x01, 0x10, 'P', 'K', 'b', 'F', 'n', 'p', 'f', 'N', 'R', 'x', 'B', 'M', 'I', 'g', 't', 'S',
	0x00, 0x00,
};

static void test_rtcp_sr_sdes(void)
{
	rtcp_info r;
	g_assert_cmpuint(sizeof(sr_sdes), ==, 80);
	g_assert_true(is_rtcp(sr_sdes, sizeof(sr_sdes)));
	g_assert_cmpint(parse_rtcp(sr_sdes, sizeof(sr_sdes), &r), ==, 0);
	g_assert_cmpuint(r.n_packets, ==, 2);
	g_assert_true(r.has_sr);
	g_assert_cmphex(r.sr_ssrc, ==, 0x5e2a1b3c);
	g_assert_cmphex(r.rr_ssrc, ==, 0x5e2a1b3c);
	g_assert_cmphex(r.sr_ntp, ==, 0xe8f2a3b412345678ull);
	g_assert_cmpuint(r.sr_rtp_ts, ==, 123456);
	g_assert_cmpuint(r.sr_packets, ==, 1500);
	g_assert_cmpuint(r.sr_octets, ==, 240000);
	g_assert_cmpuint(r.n_reports, ==, 1);
	g_assert_cmphex(r.reports[0].ssrc, ==, 0x1a2b3c4d);
	g_assert_cmpuint(r.reports[0].fraction_lost, ==, 5);
	g_assert_cmpint(r.reports[0].cumulative_lost, ==, 16);
	g_assert_cmphex(r.reports[0].ext_high_seq, ==, 0x12345);
	g_assert_cmpuint(r.reports[0].jitter, ==, 32);
	g_assert_cmphex(r.reports[0].lsr, ==, 0xa3b41234);
	g_assert_cmphex(r.reports[0].dlsr, ==, 0x10000);

	/* every prefix fails, except the one ending right after the SR */
	for (size_t i = 0; i < sizeof(sr_sdes); i++) {
		int rc = parse_rtcp(sr_sdes, i, &r);
		g_assert_cmpint(rc, ==, i == 52 ? 0 : -EINVAL);
	}
	g_assert_cmpuint(r.n_packets, ==, 1);

	/* trailing junk after a valid compound */
	uint8_t big[sizeof(sr_sdes) + 4];
	memcpy(big, sr_sdes, sizeof(sr_sdes));
	memset(big + sizeof(sr_sdes), 0, 4);
	g_assert_cmpint(parse_rtcp(big, sizeof(sr_sdes) + 2, &r), ==, -EINVAL);
	g_assert_cmpint(parse_rtcp(big, sizeof(big), &r), ==, -EINVAL);  /* version 0 */
	/* a zero-length (4 byte) version-2 packet of unknown type is skipped */
	big[sizeof(sr_sdes)] = 0x80;
	big[sizeof(sr_sdes) + 1] = 0xcc;  /* APP */
	g_assert_cmpint(parse_rtcp(big, sizeof(big), &r), ==, 0);
	g_assert_cmpuint(r.n_packets, ==, 3);
}

static size_t put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return 4;
}

/* RR from ssrc with n report blocks (block i: ssrc 0x100+i, cumulative lost `lost[i]`). */
static size_t build_rr(uint8_t *p, uint32_t ssrc, unsigned n, const uint32_t *lost)
{
	size_t o = 0;
	p[o++] = (uint8_t)(0x80 | n);
	p[o++] = 201;
	p[o++] = (uint8_t)((1 + 6 * n) >> 8);
	p[o++] = (uint8_t)(1 + 6 * n);
	o += put32(p + o, ssrc);
	for (unsigned i = 0; i < n; i++) {
		o += put32(p + o, 0x100 + i);
		o += put32(p + o, (uint32_t)(i << 24) | (lost ? lost[i] & 0xffffff : 0));
		o += put32(p + o, 1000 + i);
		o += put32(p + o, 10 + i);
		o += put32(p + o, 0);
		o += put32(p + o, 0);
	}
	return o;
}

static void test_rtcp_rr(void)
{
	uint8_t b[1024];
	rtcp_info r;
	static const uint32_t lost[] = { 0xffffff, 0x800000, 0x7fffff, 0 };

	size_t n = build_rr(b, 0xcafe, 3, lost);
	g_assert_cmpuint(n, ==, 8 + 3 * 24);
	/* + BYE */
	static const uint8_t bye[] = { 0x81, 0xcb, 0x00, 0x01, 0x00, 0x00, 0xca, 0xfe };
	memcpy(b + n, bye, sizeof(bye));
	n += sizeof(bye);
	g_assert_cmpint(parse_rtcp(b, n, &r), ==, 0);
	g_assert_false(r.has_sr);
	g_assert_cmphex(r.rr_ssrc, ==, 0xcafe);
	g_assert_cmpuint(r.n_packets, ==, 2);
	g_assert_cmpuint(r.n_reports, ==, 3);
	g_assert_cmpint(r.reports[0].cumulative_lost, ==, -1);
	g_assert_cmpint(r.reports[1].cumulative_lost, ==, -8388608);
	g_assert_cmpint(r.reports[2].cumulative_lost, ==, 8388607);
	g_assert_cmpuint(r.reports[2].fraction_lost, ==, 2);
	g_assert_cmphex(r.reports[2].ssrc, ==, 0x102);
	g_assert_cmpuint(r.reports[2].ext_high_seq, ==, 1002);
	g_assert_cmpuint(r.reports[2].jitter, ==, 12);

	/* RR with 5 blocks then another with 3: only the first 4 are kept */
	n = build_rr(b, 1, 5, NULL);
	n += build_rr(b + n, 2, 3, NULL);
	g_assert_cmpint(parse_rtcp(b, n, &r), ==, 0);
	g_assert_cmpuint(r.n_reports, ==, RTCP_MAX_REPORTS);
	g_assert_cmpuint(r.rr_ssrc, ==, 1);
	g_assert_cmphex(r.reports[3].ssrc, ==, 0x103);

	/* two RRs with 3 blocks: 3 from the first, 1 from the second */
	n = build_rr(b, 1, 3, NULL);
	n += build_rr(b + n, 2, 3, NULL);
	g_assert_cmpint(parse_rtcp(b, n, &r), ==, 0);
	g_assert_cmpuint(r.n_reports, ==, 4);
	g_assert_cmphex(r.reports[3].ssrc, ==, 0x100);
	g_assert_cmpuint(r.n_packets, ==, 2);

	/* RR with 31 blocks (max RC) */
	n = build_rr(b, 7, 31, NULL);
	g_assert_cmpint(parse_rtcp(b, n, &r), ==, 0);
	g_assert_cmpuint(r.n_reports, ==, 4);

	/* empty RR + PSFB REMB-like, reduced size: a lone PLI */
	n = build_rr(b, 9, 0, NULL);
	static const uint8_t pli[] = { 0x81, 0xce, 0x00, 0x02, 0, 0, 0, 9, 0x12, 0x34, 0x56, 0x78 };
	memcpy(b + n, pli, sizeof(pli));
	g_assert_cmpint(parse_rtcp(b, n + sizeof(pli), &r), ==, 0);
	g_assert_cmpuint(r.n_reports, ==, 0);
	g_assert_cmpuint(r.rr_ssrc, ==, 9);
	g_assert_cmpint(parse_rtcp(pli, sizeof(pli), &r), ==, 0);
	g_assert_cmpuint(r.n_packets, ==, 1);
	g_assert_false(r.has_sr);
	g_assert_cmpuint(r.rr_ssrc, ==, 0);

	/* RR followed by SR: rr_ssrc from the RR, sr_* from the SR, reports from both */
	n = build_rr(b, 0x11, 1, NULL);
	memcpy(b + n, sr_sdes, 52);
	n += 52;
	g_assert_cmpint(parse_rtcp(b, n, &r), ==, 0);
	g_assert_cmpuint(r.rr_ssrc, ==, 0x11);
	g_assert_true(r.has_sr);
	g_assert_cmphex(r.sr_ssrc, ==, 0x5e2a1b3c);
	g_assert_cmpuint(r.n_reports, ==, 2);
	g_assert_cmphex(r.reports[1].ssrc, ==, 0x1a2b3c4d);
}

static void test_rtcp_malformed(void)
{
	uint8_t b[256] = { 0 };
	rtcp_info r, before;

	memset(&r, 0x5a, sizeof(r));
	before = r;
	g_assert_cmpint(parse_rtcp(b, 0, &r), ==, -EINVAL);
	g_assert_cmpint(rtcp_parse(NULL, 8, &r), ==, -EINVAL);
	static const uint8_t three[] = { 0x80, 0xc9, 0x00 };
	g_assert_cmpint(parse_rtcp(three, 3, &r), ==, -EINVAL);
	g_assert_cmpmem(&r, sizeof(r), &before, sizeof(before));  /* untouched on failure */

	/* bad version in the first and in the second sub-packet */
	size_t n = build_rr(b, 1, 1, NULL);
	b[0] = 0x41;
	g_assert_cmpint(parse_rtcp(b, n, &r), ==, -EINVAL);
	b[0] = 0x81;
	size_t m = build_rr(b + n, 2, 0, NULL);
	b[n] = 0xc0;
	g_assert_cmpint(parse_rtcp(b, n + m, &r), ==, -EINVAL);
	b[n] = 0x80;
	g_assert_cmpint(parse_rtcp(b, n + m, &r), ==, 0);

	/* length field overflowing the buffer */
	static const uint8_t ovf[] = { 0x80, 0xc9, 0xff, 0xff, 0, 0, 0, 1 };
	g_assert_cmpint(parse_rtcp(ovf, sizeof(ovf), &r), ==, -EINVAL);
	static const uint8_t ovf2[] = { 0x80, 0xc9, 0x00, 0x02, 0, 0, 0, 1 };
	g_assert_cmpint(parse_rtcp(ovf2, sizeof(ovf2), &r), ==, -EINVAL);
	/* second packet overflowing */
	n = build_rr(b, 1, 0, NULL);
	memcpy(b + n, ovf, sizeof(ovf));
	g_assert_cmpint(parse_rtcp(b, n + sizeof(ovf), &r), ==, -EINVAL);

	/* SR / RR too short for their report count (length consistent with the buffer) */
	static const uint8_t sr_short[] = {
		0x81, 0xc8, 0x00, 0x06, 0, 0, 0, 1,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	g_assert_cmpint(parse_rtcp(sr_short, sizeof(sr_short), &r), ==, -EINVAL);
	uint8_t sr0[sizeof(sr_short)];
	memcpy(sr0, sr_short, sizeof(sr0));
	sr0[0] = 0x80;  /* RC=0: fits exactly */
	g_assert_cmpint(parse_rtcp(sr0, sizeof(sr0), &r), ==, 0);
	g_assert_true(r.has_sr);
	g_assert_cmpuint(r.n_reports, ==, 0);
	static const uint8_t sr_tiny[] = { 0x80, 0xc8, 0x00, 0x01, 0, 0, 0, 1 };
	g_assert_cmpint(parse_rtcp(sr_tiny, sizeof(sr_tiny), &r), ==, -EINVAL);
	static const uint8_t rr_tiny[] = { 0x80, 0xc9, 0x00, 0x00 };
	g_assert_cmpint(parse_rtcp(rr_tiny, sizeof(rr_tiny), &r), ==, -EINVAL);
	static const uint8_t rr_rc31[] = { 0x9f, 0xc9, 0x00, 0x01, 0, 0, 0, 1 };
	g_assert_cmpint(parse_rtcp(rr_rc31, sizeof(rr_rc31), &r), ==, -EINVAL);

	/* padding: valid, zero count, count too large, padding eating into report blocks */
	static const uint8_t rr_pad[] = { 0xa0, 0xc9, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 4 };
	g_assert_cmpint(parse_rtcp(rr_pad, sizeof(rr_pad), &r), ==, 0);
	g_assert_cmpuint(r.rr_ssrc, ==, 1);
	uint8_t pad[sizeof(rr_pad)];
	memcpy(pad, rr_pad, sizeof(pad));
	pad[11] = 0;
	g_assert_cmpint(parse_rtcp(pad, sizeof(pad), &r), ==, -EINVAL);
	pad[11] = 9;
	g_assert_cmpint(parse_rtcp(pad, sizeof(pad), &r), ==, -EINVAL);
	pad[11] = 8;  /* fits the packet, but then the RR lacks its SSRC */
	g_assert_cmpint(parse_rtcp(pad, sizeof(pad), &r), ==, -EINVAL);
	n = build_rr(b, 1, 1, NULL);
	b[0] |= 0x20;
	b[n - 1] = 4;
	g_assert_cmpint(parse_rtcp(b, n, &r), ==, -EINVAL);
	/* padded non-SR/RR packet */
	static const uint8_t app_pad[] = { 0xa0, 0xcc, 0x00, 0x01, 0, 0, 0, 4 };
	g_assert_cmpint(parse_rtcp(app_pad, sizeof(app_pad), &r), ==, 0);
	uint8_t app_bad[sizeof(app_pad)];
	memcpy(app_bad, app_pad, sizeof(app_bad));
	app_bad[7] = 5;
	g_assert_cmpint(parse_rtcp(app_bad, sizeof(app_bad), &r), ==, -EINVAL);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rtp/basic", test_rtp_basic);
	g_test_add_func("/rtp/csrc_ext_padding", test_rtp_csrc_ext_padding);
	g_test_add_func("/rtp/malformed", test_rtp_malformed);
	g_test_add_func("/rtp/is_rtcp", test_is_rtcp);
	g_test_add_func("/rtcp/sr_sdes", test_rtcp_sr_sdes);
	g_test_add_func("/rtcp/rr", test_rtcp_rr);
	g_test_add_func("/rtcp/malformed", test_rtcp_malformed);
	return g_test_run();
}
