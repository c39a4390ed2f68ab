/* The WebRTC transport of one media leg: ICE (ice/rg_ice), DTLS-SRTP (dtls/rg_dtls) and SRTP.
 * An rg_webrtc is owned by its rg_media (media->wrtc), created and configured by signalling with
 * the call lock held, and freed with the media (rg_webrtc_free retires the ICE agent; the worker
 * frees it between two batches). Packets of the leg enter in the ICE receive callback, on the
 * call's worker; DTLS handshakes are driven by the worker (rg_worker_watch_dtls), which holds a
 * call reference while it watches one. */
#ifndef RG_WEBRTC_H
#define RG_WEBRTC_H

#include "call.h"
#include "ng.h"
#include "rg_dtls.h"
#include "rg_ice.h"

/* BUNDLE (RFC 8843): several m= lines of one party share one transport. The first of them owns
 * the rg_webrtc (wt->media, members[0]); the others point to it (media->wrtc) with
 * media->wrtc_member set and never free it. Packets are routed to a member by SSRC (learned, or
 * from a=ssrc), the MID header extension, then a payload type unique within the bundle. */
#define RG_BUNDLE_MAX 8
typedef struct rg_bundle_member {
	rg_media *media;
	char *mid;                  /* the party's a=mid for this m= line (NULL: none) */
	uint64_t pts[2];            /* payload types of the party's m= line */
	uint32_t ssrcs[8];          /* the party's a=ssrc values */
	unsigned n_ssrcs;
} rg_bundle_member;

typedef struct rg_webrtc {
	rg_media *media;            /* the owner */
	rg_call *call;              /* the media's call (no reference of its own) */
	rg_ice_agent *ice;
	rg_dtls *dtls;
	rg_srtp *srtp;              /* once DTLS is connected */
	enum rg_dtls_setup local_setup;   /* what we write in a=setup */
	bool controlling, lite;
	bool dtls_started, watched, failure_logged;
	int ice_state;              /* rg_ice_state, written from any thread */
	int64_t watch_since;
	rg_bundle_member members[RG_BUNDLE_MAX];   /* [0] = the owner */
	unsigned n_members;
	uint8_t mid_ext_id;         /* a=extmap id of urn:ietf:params:rtp-hdrext:sdes:mid, 0 = none */
	struct { uint32_t ssrc; uint8_t member; } bound[16];   /* SSRCs routed so far (ring) */
	unsigned n_bound, next_bound;
	uint64_t bundle_unrouted;   /* packets no rule could place (given to the owner) */
	GPtrArray *dtls_backlog;    /* GBytes*: DTLS datagrams written before ICE had a pair */
	uint64_t srtp_errors, dtls_datagrams, no_keys_drops;
} rg_webrtc;

/* Process-wide certificate (ECDSA P-256) and its SHA-256 fingerprint: engine start/stop. */
int rg_webrtc_init(char **err);
void rg_webrtc_cleanup(void);

/* A party's own SDP for media sm terminates DTLS-SRTP (a fingerprint and an SRTP profile). */
bool rg_webrtc_sdp_wants(const sdp_session *s, const sdp_media *sm);
/* Make media m a WebRTC leg (call lock held). */
rg_webrtc *rg_webrtc_new(rg_media *m, bool controlling, bool lite, const char **err);
/* Put media m on the transport of wt (BUNDLE; call lock held); false when the bundle is full. */
bool rg_webrtc_bundle_join(rg_webrtc *wt, rg_media *m);
/* The m= index (0-based) whose transport m= line idx of s bundles onto: the BUNDLE tag of its
 * a=group:BUNDLE (the first mid of the group); idx itself when not bundled; -1 when the tag
 * is not an m= line of s. */
int rg_webrtc_bundle_tag(const sdp_session *s, unsigned idx);
/* The member entry of m in its transport (NULL if none). */
rg_bundle_member *rg_webrtc_member(rg_media *m);
/* Which member media an unprotected packet of the transport belongs to (worker, call lock held).
 * Never NULL: what no rule places goes to the owner. */
rg_media *rg_webrtc_route(rg_webrtc *wt, const uint8_t *p, size_t len, bool is_rtcp);
void rg_webrtc_free(rg_webrtc *wt);
/* The leg leaves the call (call lock held): its ICE agent is retired now, no packet is taken or
 * sent any more; the object itself is freed with its media. */
void rg_webrtc_detach(rg_webrtc *wt);
/* Apply the party's own SDP for media m (m->wrtc): its mid, payload types and SSRCs; for the
 * transport's owner also ICE credentials and candidates, fingerprint, a=setup. In an offer
 * from the party (is_answer false) our DTLS role follows from its a=setup and ng's DTLS=;
 * in its answer to our offer, from its a=setup. NULL or an error text. */
const char *rg_webrtc_remote(rg_media *m, const sdp_session *s, const sdp_media *sm,
			     bool is_answer, const ng_req *r);
/* Our side in the SDP toward the party: port and address of our ICE candidate, ICE
 * credentials and candidates, fingerprint, a=setup, rtcp-mux, SRTP profile. */
void rg_webrtc_write_sdp(rg_media *m, sdp_session *s, sdp_media *sm, bool is_answer,
			 const ng_req *r);
/* Strip what belongs to a terminated DTLS-SRTP/ICE transport (toward a plain leg). */
void rg_webrtc_strip_sdp(sdp_media *sm);

/* Datagrams that ICE delivered for the leg (DTLS, SRTP, SRTCP; RFC 7983 demultiplexing): where a
 * WebRTC leg's packets enter. Worker thread (or a fuzzer), takes the call lock. */
void rg_webrtc_input(rg_webrtc *wt, const rg_ice_pkt *pkts, unsigned n);
/* Worker, call lock held: protect in place (cap = buffer size) and send to the party. */
int rg_webrtc_send(rg_webrtc *wt, uint8_t *buf, size_t len, size_t cap, bool is_rtcp);
/* Worker: drive the DTLS handshake; ms until the next deadline, -1 when done watching. */
int rg_webrtc_dtls_tick(rg_webrtc *wt);
void rg_webrtc_unwatch(rg_webrtc *wt);

#endif
