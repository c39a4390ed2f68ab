/* RTP (RFC 3550 5.1) and RTCP (RFC 3550 6) header parsing for the relay's hot path.
 *
 * Ownership: nothing is allocated and there is no global state. The packet bytes are owned by
 * the caller; the result structs are plain values (owned by the caller, usually on the stack)
 * and hold no pointers into the packet. Out-structs are written only on success.
 * Every function accepts any bytes of any length without reading outside p[0..len).
 * These parse plain RTP/RTCP: SRTP/SRTCP must be decrypted (and the SRTCP trailer removed)
 * before rtcp_parse(); rtp_parse() works on SRTP too (the header is in clear), but then
 * payload_len/padding_len include the encrypted part and the authentication tag. */
#ifndef RG_RTP_H
#define RG_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rtp_info {
	uint8_t pt;
	bool marker;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	uint8_t csrc_count;
	bool has_ext;
	uint16_t ext_profile;  /* "defined by profile" field, e.g. 0xBEDE (RFC 8285 one-byte) */
	size_t hdr_len;        /* fixed header + CSRCs + extension */
	size_t payload_len;    /* excluding padding */
	uint8_t padding_len;   /* 0 when the P bit is clear */
} rtp_info;

/* RFC 3550 5.1: version 2, header, CSRC list, extension and padding lengths all inside len.
 * With the P bit set the padding count (last byte) must be 1..len-hdr_len. 0 or -EINVAL.
 * hdr_len + payload_len + padding_len == len on success. */
int rtp_parse(const uint8_t *p, size_t len, rtp_info *out);

/* RFC 5761 section 4 demultiplexing of RTP and RTCP on one port: true when the second byte
 * (payload type with marker bit) falls in 192..223. Requires len >= 2 and version 2. */
bool rtp_is_rtcp(const uint8_t *p, size_t len);

/* One RTCP report block (RFC 3550 6.4.1). */
typedef struct rtcp_report {
	uint32_t ssrc;
	uint8_t fraction_lost;
	int32_t cumulative_lost;  /* 24-bit signed on the wire, sign-extended */
	uint32_t ext_high_seq;
	uint32_t jitter;
	uint32_t lsr;
	uint32_t dlsr;
} rtcp_report;

#define RTCP_MAX_REPORTS 4

typedef struct rtcp_info {
	bool has_sr;               /* sr_* come from the first SR of the compound */
	uint32_t sr_ssrc;
	uint64_t sr_ntp;
	uint32_t sr_rtp_ts;
	uint32_t sr_packets;
	uint32_t sr_octets;
	uint32_t rr_ssrc;          /* SSRC of the reporter (from the first SR or RR) */
	unsigned n_reports;        /* up to RTCP_MAX_REPORTS kept, in order, across all SR/RR */
	rtcp_report reports[RTCP_MAX_REPORTS];
	unsigned n_packets;        /* packets in the compound */
} rtcp_info;

/* Walk a compound RTCP packet (RFC 3550 6.1): every sub-packet version 2, length field
 * consistent and inside len, the sub-packets exactly filling len; a sub-packet with the P bit
 * must carry a padding count 1..(its length - 4); SR/RR must be long enough for their report
 * count. SR/RR report blocks extracted (first RTCP_MAX_REPORTS); other types skipped. The first
 * sub-packet need not be SR/RR (reduced-size RTCP, RFC 5506). 0 or -EINVAL. */
int rtcp_parse(const uint8_t *p, size_t len, rtcp_info *out);

#endif
