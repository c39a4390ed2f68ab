/* RTP/RTCP header parsing. No allocation, no globals; see rtp.h for ownership. */
#include "rtp.h"

#include <errno.h>
#include <string.h>

#define RTP_FIXED_HDR 12
#define RTCP_HDR 4
#define RTCP_SR_TYPE 200
#define RTCP_RR_TYPE 201
#define RTCP_SENDER_INFO 20
#define RTCP_REPORT_BLOCK 24

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int rtp_parse(const uint8_t *p, size_t len, rtp_info *out)
{
	rtp_info r;

	if (!p || len < RTP_FIXED_HDR || (p[0] >> 6) != 2)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.csrc_count = p[0] & 0x0f;
	r.has_ext = (p[0] & 0x10) != 0;
	r.marker = (p[1] & 0x80) != 0;
	r.pt = p[1] & 0x7f;
	r.seq = rd16(p + 2);
	r.ts = rd32(p + 4);
	r.ssrc = rd32(p + 8);

	size_t hdr = RTP_FIXED_HDR + 4 * (size_t)r.csrc_count;
	if (hdr > len)
		return -EINVAL;
	if (r.has_ext) {
		if (len - hdr < 4)
			return -EINVAL;
		r.ext_profile = rd16(p + hdr);
		size_t ext_len = 4 * (size_t)rd16(p + hdr + 2);
		hdr += 4;
		if (ext_len > len - hdr)
			return -EINVAL;
		hdr += ext_len;
	}
	size_t body = len - hdr;
	if (p[0] & 0x20) {
		/* the last byte counts the padding, itself included */
		if (body == 0)
			return -EINVAL;
		uint8_t pad = p[len - 1];
		if (pad == 0 || pad > body)
			return -EINVAL;
		r.padding_len = pad;
		body -= pad;
	}
	r.hdr_len = hdr;
	r.payload_len = body;
	*out = r;
	return 0;
}

bool rtp_is_rtcp(const uint8_t *p, size_t len)
{
	if (!p || len < 2 || (p[0] >> 6) != 2)
		return false;
	return p[1] >= 192 && p[1] <= 223;
}

static void rtcp_read_reports(rtcp_info *r, const uint8_t *blk, unsigned count)
{
	for (unsigned i = 0; i < count && r->n_reports < RTCP_MAX_REPORTS; i++, blk += RTCP_REPORT_BLOCK) {
		rtcp_report *rep = &r->reports[r->n_reports++];
		uint32_t lost = ((uint32_t)blk[5] << 16) | ((uint32_t)blk[6] << 8) | blk[7];
		rep->ssrc = rd32(blk);
		rep->fraction_lost = blk[4];
		/* 24-bit two's complement */
		rep->cumulative_lost = (lost & 0x800000) ? (int32_t)lost - 0x1000000 : (int32_t)lost;
		rep->ext_high_seq = rd32(blk + 8);
		rep->jitter = rd32(blk + 12);
		rep->lsr = rd32(blk + 16);
		rep->dlsr = rd32(blk + 20);
	}
}

int rtcp_parse(const uint8_t *p, size_t len, rtcp_info *out)
{
	rtcp_info r;
	bool have_reporter = false;
	size_t off = 0;

	if (!p || len == 0)
		return -EINVAL;
	memset(&r, 0, sizeof(r));

	while (off < len) {
		const uint8_t *h = p + off;
		size_t left = len - off;

		if (left < RTCP_HDR || (h[0] >> 6) != 2)
			return -EINVAL;
		size_t pkt_len = ((size_t)rd16(h + 2) + 1) * 4;
		if (pkt_len > left)
			return -EINVAL;
		/* usable length: the sub-packet minus its padding */
		size_t use = pkt_len;
		if (h[0] & 0x20) {
			uint8_t pad = h[pkt_len - 1];
			if (pad == 0 || pad > pkt_len - RTCP_HDR)
				return -EINVAL;
			use -= pad;
		}
		unsigned rc = h[0] & 0x1f;
		uint8_t type = h[1];

		if (type == RTCP_SR_TYPE) {
			if (use < RTCP_HDR + 4 + RTCP_SENDER_INFO + (size_t)rc * RTCP_REPORT_BLOCK)
				return -EINVAL;
			uint32_t ssrc = rd32(h + 4);
			if (!r.has_sr) {
				const uint8_t *si = h + 8;
				r.has_sr = true;
				r.sr_ssrc = ssrc;
				r.sr_ntp = ((uint64_t)rd32(si) << 32) | rd32(si + 4);
				r.sr_rtp_ts = rd32(si + 8);
				r.sr_packets = rd32(si + 12);
				r.sr_octets = rd32(si + 16);
			}
			if (!have_reporter) {
				have_reporter = true;
				r.rr_ssrc = ssrc;
			}
			rtcp_read_reports(&r, h + 8 + RTCP_SENDER_INFO, rc);
		} else if (type == RTCP_RR_TYPE) {
			if (use < RTCP_HDR + 4 + (size_t)rc * RTCP_REPORT_BLOCK)
				return -EINVAL;
			if (!have_reporter) {
				have_reporter = true;
				r.rr_ssrc = rd32(h + 4);
			}
			rtcp_read_reports(&r, h + 8, rc);
		}
		r.n_packets++;
		off += pkt_len;
	}
	*out = r;
	return 0;
}
