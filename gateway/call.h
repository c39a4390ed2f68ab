/* The call model.
 *
 *   rg_call (by call-id, refcounted)            owned by the call table while live
 *     -> rg_party (one per SIP tag / fork)     owned by the call, freed with it
 *          -> rg_media (one per m= line)        owned by its party
 *               -> rg_stream rtp, rtcp          embedded in the media
 *                    -> rg_sock                 owned by the worker once registered; holds a call ref
 *
 * A party's media holds the local sockets that party talks to: the party sends its media to them
 * and rtpgate sends the other side's media to the party from them. A packet received on
 * party A's media i is sent out of the peer party's media i sockets to the peer's endpoint.
 *
 * Locks: rg_calls_lock guards the call table (signalling and timers only). call->lock guards
 * everything under a call: signalling holds it while changing a call; a worker holds it once per
 * received batch. Counters in rg_stream are written by the call's worker only and read with
 * relaxed atomics. A call is freed when the table's reference and every socket's reference are
 * gone (the last socket is freed by the worker after the call is marked dead). */
#ifndef RG_CALL_H
#define RG_CALL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include "ports.h"
#include "sdp.h"

struct rg_worker;
struct rg_media;
struct rg_call;

typedef struct rg_endpoint {
	struct sockaddr_storage ss;
	socklen_t len;
	bool set;
} rg_endpoint;

typedef struct rg_sock {
	int fd;
	unsigned port;
	rg_iface *iface;
	struct rg_stream *stream;  /* the stream this socket receives for */
	struct rg_call *call;      /* reference held until the worker frees the socket */
	struct rg_worker *worker;
} rg_sock;

typedef struct rg_stream {
	struct rg_media *media;
	bool is_rtcp;
	rg_sock *sock;             /* local socket (NULL for rejected media) */
	rg_endpoint sdp_ep;        /* where the party said it receives (from its SDP) */
	rg_endpoint learned;       /* source learned from the party's packets */
	bool latched;
	/* counters: written by the worker */
	uint64_t packets, bytes, errors;
	int64_t last_packet;       /* unix seconds */
	uint32_t ssrc;
	bool seen_ssrc;
} rg_stream;

typedef struct rg_media {
	struct rg_party *party;
	unsigned index;            /* 1-based m= index */
	char *type;                /* "audio" */
	char *proto;               /* as the party wrote it */
	rg_iface *iface;
	rg_stream rtp, rtcp;
	struct rg_media *peer;     /* same m= line of the peer party */
	bool rejected;             /* port 0 from this party */
	bool rtcp_mux;             /* this party's leg multiplexes RTCP on the RTP port */
	bool mux_offered;          /* the party's SDP carried a=rtcp-mux */
	bool mux_accept;           /* accept mux from this party even if the peer does not mux */
	bool mux_offer_to;         /* we offered mux toward this party */
	bool asymmetric, strict_source, media_handover;
	sdp_dir dir;
	/* RTCP-derived quality reported about this leg (from the party's receiver reports) */
	uint32_t rr_jitter, rr_lost, rr_fraction;   /* jitter in timestamp units */
	bool rr_seen;
	int64_t rtt_us;            /* round trip to the party, from RR LSR/DLSR vs when we sent the SR */
	struct { uint32_t lsr; int64_t t_us; } sr_sent[4];  /* SRs forwarded to the party */
	unsigned sr_next;
	uint8_t rtpp_flags;        /* rtpproxy protocol: this side's session flags (RTPP_F_*, rtpp_cmds.c) */
	char *rtpp_pts;            /* rtpproxy protocol: the party's c<pt,...> list ("session" of P) */
	struct rg_webrtc *wrtc;    /* non-NULL: this leg is ICE + DTLS-SRTP, terminated here (webrtc.h) */
	bool wrtc_member;          /* wrtc is owned by another media of the party (BUNDLE) */
	struct rg_sdes *sdes;      /* non-NULL: this leg is SDES-SRTP, terminated here (sdes.h) */
	struct rg_media_codecs *codecs;  /* codec lists and transcoder (codec_neg.h); NULL = untouched */
	struct rg_player *player;  /* a prompt / DTMF playing to this media's party (player.h) */
	struct rg_repack *repack;  /* rtpproxy Z: what the party sends is repacketized (repack.h) */
} rg_media;

typedef struct rg_party {
	struct rg_call *call;
	char *tag;                 /* NULL for the untagged placeholder until the answer names it */
	char *via_branch;
	char *label;
	GPtrArray *old_tags;       /* char*: earlier tags of this leg (forks answering) */
	int64_t created;
	GPtrArray *medias;         /* rg_media* */
	struct rg_party *peer;
	guint64 sdp_version;       /* o= version of the last SDP sent to this party */
	char *last_sdp;            /* that SDP, to bump the version only on change */
	bool answered;
} rg_party;

typedef struct rg_call {
	gint ref;
	char *call_id;
	GMutex lock;
	struct rg_worker *worker;
	int64_t created, created_us, last_signal;
	int64_t delete_at;         /* 0 = not scheduled */
	bool dead;
	bool answered;
	char *metadata;
	GPtrArray *parties;        /* rg_party* */
	GPtrArray *graveyard;      /* rg_party* removed from the call (a fork's leg): freed with the call,
				    * since the worker may still hold pointers into them until then */
	bool rtpproxy;             /* created through the rtpproxy protocol (its X deletes only these) */
	char *notify_sock;         /* rtpproxy: where to report a media timeout (U's notify_socket) */
	char *notify_tag;          /* ... and what (URL-decoded notify_tag; NULL: the call-id) */
	struct rg_rec *rec;        /* recording (recording.h): owned by the call until detached (stop,
				    * or the call's free), then by the recording writer thread */
} rg_call;

extern GMutex rg_calls_lock;
extern unsigned rg_max_sessions;  /* 0 = unlimited */
extern GHashTable *rg_calls;   /* call-id -> rg_call* (one reference) */

void rg_calls_init(void);
/* Lookup with a new reference; caller rg_call_unref()s. NULL if absent or dead. */
rg_call *rg_call_get(const char *call_id);
/* Create (counts against max-sessions); NULL with *err "Parallel session limit reached". */
rg_call *rg_call_create(const char *call_id, const char **err);
void rg_call_ref(rg_call *c);
void rg_call_unref(rg_call *c);
/* Remove from the table, mark dead, retire every socket. Idempotent. reason is logged. */
void rg_call_destroy(rg_call *c, const char *reason);
/* Destroy every call for which verdict() returns a reason (logged with it); NULL keeps the call.
 * verdict runs with rg_calls_lock held (it may take the call's lock); the calls are destroyed
 * after that lock is released. Returns how many were destroyed. */
unsigned rg_calls_destroy_where(const char *(*verdict)(rg_call *c, void *ud), void *ud);
/* Destroy every call (shutdown). */
void rg_calls_destroy_all(void);
unsigned rg_calls_count(void);

rg_party *rg_party_new(rg_call *c, const char *tag, const char *via_branch);
rg_party *rg_party_find(rg_call *c, const char *tag);
/* Take a party out of the call (call lock held): its sockets and ICE agent are retired, nothing
 * points at it any more; its memory stays in c->graveyard until the call is freed. */
void rg_call_remove_party(rg_call *c, rg_party *p);
/* Make sure party has media index (1-based) with sockets on iface; returns it or NULL with *err. */
rg_media *rg_media_ensure(rg_party *p, unsigned index, rg_iface *iface, const char **err);
/* Set where the party of m receives RTP and RTCP (from its SDP or an rtpproxy U/L; an unset
 * endpoint = nowhere to send, e.g. on hold). A changed endpoint is a new destination: what was
 * learned from packets is forgotten and latching starts over. Call lock held. */
void rg_media_set_endpoints(rg_media *m, const rg_endpoint *rtp, const rg_endpoint *rtcp);
/* Retire the media's two sockets (ports go back to the interface); the media stays, without
 * sockets, until rg_media_ensure gives it new ones. Call lock held. */
void rg_media_release(rg_media *m);
/* Endpoint helpers */
bool rg_endpoint_from_str(rg_endpoint *ep, const char *addr, unsigned port);
bool rg_endpoint_eq(const rg_endpoint *a, const rg_endpoint *b);
void rg_endpoint_format(const rg_endpoint *ep, char *buf, size_t len, unsigned *port);
int64_t rg_now(void);
/* Monotonic microseconds (intervals on the packet path: RTCP timing, jitter, RTT, players). */
int64_t rg_mono_us(void);

#endif
