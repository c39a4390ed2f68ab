/* SDES-SRTP legs (RFC 4568 a=crypto, RTP/SAVP): SIP devices that key SRTP in the SDP. An rg_sdes
 * is owned by its rg_media (media->sdes), set up by signalling with the call lock held and used by
 * the relay (also under the call lock); freed with the media. The media keeps its own relay
 * sockets: only the payload protection differs from a plain leg. */
#ifndef RG_SDES_H
#define RG_SDES_H

#include "call.h"
#include "ng.h"
#include "rg_dtls.h"

typedef struct rg_sdes {
	rg_sdes_crypto offered[RG_SRTP_SUITE_COUNT];  /* what we offered the party, by tag - 1 */
	unsigned n_offered;
	rg_sdes_crypto local, remote;
	bool have_local, have_remote;
	rg_srtp *srtp;
} rg_sdes;

/* The party's own SDP keys its SRTP with a=crypto (and has no DTLS fingerprint). */
bool rg_sdes_sdp_has(const sdp_session *s, const sdp_media *sm);
void rg_sdes_free(rg_sdes *sd);
/* The party offers a=crypto: pick the first suite we support and NG's SDES flags allow, make
 * our own key for it. NULL or an error text. */
const char *rg_sdes_take_offer(rg_media *m, const sdp_media *sm, const ng_req *r);
/* The party answers our a=crypto offer with one line: match its tag, key the session. */
const char *rg_sdes_take_answer(rg_media *m, const sdp_media *sm);
/* a=crypto toward the party: our offer (every allowed suite) or our answer (the chosen one). */
void rg_sdes_write_sdp(rg_media *m, sdp_media *sm, bool is_answer, const ng_req *r);
/* Make media m an SDES leg (call lock held). */
rg_sdes *rg_sdes_new(rg_media *m);

#endif
