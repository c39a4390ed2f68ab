/* Codec negotiation (ng-protocol 6.4): the codec list of each party's SDP, what the NG codec ops
 * (strip, except, offer, mask, consume, accept, transcode, set) make of it toward the other
 * party, payload types for codecs we add, and after the answer the decision per media and
 * direction: relay unchanged, or transcode (gateway/transcode.h) from which codec to which.
 *
 * State lives in rg_media.codecs (allocated on first use, freed with the media), changed by
 * signalling with the call lock held; the packet path reads codecs->xc under the same lock. */
#ifndef RG_CODEC_NEG_H
#define RG_CODEC_NEG_H

#include "call.h"
#include "ng.h"
#include "sdp.h"

/* One payload type of an SDP media section. */
typedef struct rg_cn_codec {
	int pt;
	char *name;          /* encoding name as written ("opus", "PCMU") */
	unsigned rate, channels;   /* channels 0 = not written */
	char *fmtp;          /* a=fmtp value after the PT, or NULL */
	bool added;          /* not in the offerer's SDP: added by transcode (needs transcoding) */
	bool event;          /* telephone-event */
} rg_cn_codec;

typedef struct rg_media_codecs {
	GPtrArray *own;      /* rg_cn_codec*: this party's last SDP (offer or answer), in order */
	GPtrArray *sent;     /* rg_cn_codec*: the list we write toward this party; NULL = unchanged */
	bool ops;            /* the last offer toward this party went through codec ops */
	unsigned ptime;      /* a=ptime of this party's SDP, 0 = none */
	struct rg_transcoder *xc;  /* RTP received from this party is transcoded toward the peer */
} rg_media_codecs;

/* Offer (call lock held): mf offered sm (its SDP, rewritten in place for mt when codec ops are
 * given). Called before rg_sdp_rewrite(). */
void rg_codec_offer(rg_media *mf, rg_media *mt, sdp_media *sm, ng_req *r);
/* Answer (call lock held): ma (the answerer) answered sm; decides relay or transcoding for the
 * media and rewrites sm for the offerer. NULL or an error text. */
const char *rg_codec_answer(rg_media *ma, rg_media *mo, sdp_media *sm, ng_req *r);
/* rg_sdp_rewrite(): apply codecs->sent of lm (the recipient's media) to sm. */
void rg_codec_write_sdp(rg_media *lm, sdp_media *sm);
/* Free a media's codec state (its transcoder included). */
void rg_media_codecs_free(rg_media_codecs *mc);

/* Helpers (exposed for tests) */
GPtrArray *rg_cn_parse(const sdp_media *sm);   /* rg_cn_codec* list of an SDP media */
void rg_cn_codec_free(rg_cn_codec *c);

#endif
