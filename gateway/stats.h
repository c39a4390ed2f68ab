/* Process-wide counters. Control-path counters live in one global array (atomic adds, only the main
 * thread and rare error paths touch them); packet-path counters live in each worker (rg_worker.ctr),
 * written only by that worker, and are summed when read. Owned by this module; never freed. */
#ifndef RG_STATS_H
#define RG_STATS_H

#include <stdint.h>

#define RG_COUNTERS(X) \
	X(NG_REQUESTS, "ng requests") \
	X(NG_RETRANSMITS, "ng retransmissions answered from cache") \
	X(NG_ERRORS, "ng error replies") \
	X(NG_MALFORMED, "ng malformed messages") \
	X(NG_OFFERS, "offers") \
	X(NG_ANSWERS, "answers") \
	X(NG_DELETES, "deletes") \
	X(NG_QUERIES, "queries") \
	X(RTPP_REQUESTS, "rtpproxy commands") \
	X(RTPP_RETRANSMITS, "rtpproxy retransmissions answered from cache") \
	X(RTPP_ERRORS, "rtpproxy error replies") \
	X(CALLS_CREATED, "calls created") \
	X(CALLS_DELETED, "calls deleted") \
	X(CALLS_TIMEOUT, "calls ended by media timeout") \
	X(CALLS_FINAL_TIMEOUT, "calls ended by final timeout") \
	X(CALLS_OFFER_TIMEOUT, "calls ended unanswered") \
	X(PORTS_EXHAUSTED, "port allocation failures") \
	X(SDP_PARSE_ERRORS, "SDP parse errors") \
	X(PKT_RELAYED, "packets relayed") \
	X(BYTES_RELAYED, "bytes relayed") \
	X(DROP_MALFORMED, "dropped: malformed RTP/RTCP") \
	X(DROP_OVERSIZE, "dropped: oversized") \
	X(DROP_SOURCE, "dropped: wrong source (strict-source)") \
	X(DROP_NO_PEER, "dropped: no destination yet") \
	X(DROP_SEND, "dropped: send error") \
	X(DROP_SRTP, "dropped: SRTP/SRTCP authentication or replay")

enum rg_ctr {
#define RG_CTR_ENUM(id, desc) RG_CTR_##id,
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
