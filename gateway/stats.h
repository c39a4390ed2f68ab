/* Process-wide counters. Control-path counters live in one global array (atomic adds, only the main
 * thread and rare error paths touch them); packet-path counters live in each worker (rg_worker.ctr),
 * written only by that worker, and are summed when read. Owned by this module; never freed. */
#ifndef RG_STATS_H
#define RG_STATS_H

#include <stdint.h>

/* X(ID, name in statistics replies, description) */
#define RG_COUNTERS(X) \
	X(NG_REQUESTS, "ng-requests", "ng requests") \
	X(NG_RETRANSMITS, "ng-retransmits", "ng retransmissions answered from cache") \
	X(NG_ERRORS, "ng-errors", "ng error replies") \
	X(NG_MALFORMED, "ng-malformed", "ng malformed messages") \
	X(NG_OFFERS, "offers", "offers") \
	X(NG_ANSWERS, "answers", "answers") \
	X(NG_DELETES, "deletes", "deletes") \
	X(NG_QUERIES, "queries", "queries") \
	X(RTPP_REQUESTS, "rtpproxy-requests", "rtpproxy commands") \
	X(RTPP_RETRANSMITS, "rtpproxy-retransmits", "rtpproxy retransmissions answered from cache") \
	X(RTPP_ERRORS, "rtpproxy-errors", "rtpproxy error replies") \
	X(CALLS_CREATED, "calls-created", "calls created") \
	X(CALLS_DELETED, "calls-deleted", "calls deleted") \
	X(CALLS_TIMEOUT, "calls-timeout", "calls ended by media timeout") \
	X(CALLS_FINAL_TIMEOUT, "calls-final-timeout", "calls ended by final timeout") \
	X(CALLS_OFFER_TIMEOUT, "calls-offer-timeout", "calls ended unanswered") \
	X(PORTS_EXHAUSTED, "ports-exhausted", "port allocation failures") \
	X(SDP_PARSE_ERRORS, "sdp-parse-errors", "SDP parse errors") \
	X(PKT_RELAYED, "packets-relayed", "packets relayed") \
	X(BYTES_RELAYED, "bytes-relayed", "bytes relayed") \
	X(DROP_MALFORMED, "drop-malformed", "dropped: malformed RTP/RTCP") \
	X(DROP_OVERSIZE, "drop-oversize", "dropped: oversized") \
	X(DROP_SOURCE, "drop-source", "dropped: wrong source (strict-source)") \
	X(DROP_NO_PEER, "drop-no-peer", "dropped: no destination yet") \
	X(DROP_SEND, "drop-send", "dropped: send error") \
	X(DROP_SRTP, "drop-srtp", "dropped: SRTP/SRTCP authentication or replay") \
	X(DROP_MUTED, "drop-muted", "dropped: toward a party a prompt plays to") \
	X(PROMPTS, "prompts", "prompts, music on hold and DTMF played") \
	X(DTLS_FAILED, "dtls-failed", "DTLS handshakes failed (fingerprint mismatch, timeout, alert)") \
	X(REC_PACKETS, "recording-packets", "packets copied for recording") \
	X(REC_DROPS, "recording-drops", "packets not recorded: the recording ring was full") \
	X(REC_ERRORS, "recording-errors", "recordings refused or stopped by a file error (full disk, permissions)")

enum rg_ctr {
#define RG_CTR_ENUM(id, name, desc) RG_CTR_##id,
	RG_COUNTERS(RG_CTR_ENUM)
#undef RG_CTR_ENUM
	RG_CTR__MAX
};

extern uint64_t rg_ctr_global[RG_CTR__MAX];
extern const char *const rg_ctr_names[RG_CTR__MAX];   /* "ng-requests", ... */
extern const char *const rg_ctr_desc[RG_CTR__MAX];

static inline void rg_ctr_add(enum rg_ctr c, uint64_t n)
{
	__atomic_fetch_add(&rg_ctr_global[c], n, __ATOMIC_RELAXED);
}
#define rg_ctr_inc(c) rg_ctr_add((c), 1)

/* Global + every worker's share. */
uint64_t rg_ctr_read(enum rg_ctr c);

#endif
