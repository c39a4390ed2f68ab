/* Codec negotiation (ng-protocol 6.4): the codec list of each party's SDP, what the NG codec ops
 * (strip, except, offer, mask, consume, accept, transcode, set) and the flags always-transcode,
 * single-codec, ptime and ptime-reverse make of it toward the other party, payload types for
 * codecs we add, and after the answer the decision per media and direction: relay unchanged, or
 * transcode (gateway/transcode.h) from which codec to which at which ptime (the same codec at
 * another ptime = repacketization).
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
	bool accept;         /* offerer's codec accepted toward it even if the answerer rejects it
	                        (accept, consume, always-transcode): then transcoded */
} rg_cn_codec;

/* One codec-set entry (ng-protocol 6.4): "name[/clock[/channels[/bitrate[/ptime[/fmtp]]]]]",
 * applied to our transcoding of the codecs it matches (clock and channels, when given, must match). */
typedef struct rg_cn_set {
	char *name;
	unsigned rate, channels;  /* 0 = any */
	unsigned bitrate;         /* bit/s for our encoder toward that codec, 0 = unchanged */
	unsigned ptime;           /* ms of our packets in that codec, 0 = unchanged */
	char *fmtp;               /* key=value;... merged over the SDP's fmtp for that codec, or NULL */
} rg_cn_set;

typedef struct rg_media_codecs {
	GPtrArray *own;      /* rg_cn_codec*: this party's last SDP (offer or answer), in order */
	GPtrArray *sent;     /* rg_cn_codec*: the list we write toward this party; NULL = unchanged */
	bool ops;            /* the last offer toward this party went through codec ops */
	unsigned ptime;      /* a=ptime of this party's SDP, 0 = none */
	unsigned force_ptime;  /* ptime this party receives, forced by the last offer's `ptime` (toward
	                          the recipient) or `ptime-reverse` (toward the offerer); 0 = none */
	unsigned told_ptime;   /* a=ptime of the last SDP written toward this party, 0 = none */
	GPtrArray *set;      /* rg_cn_set*: codec-set of the last offer this party made, or NULL */
	struct rg_transcoder *xc;  /* RTP received from this party is transcoded toward the peer */
	/* what xc does, for query: codec received from this party, codec sent to the peer, ptime */
	rg_cn_codec *xc_from, *xc_to;
	GPtrArray *xc_also;  /* rg_cn_codec*: the party's other codecs xc decodes too, or NULL */
	unsigned xc_ptime;
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
/* "name/rate[/channels]" of a codec into buf (query replies) */
const char *rg_cn_codec_str(const rg_cn_codec *c, char *buf, size_t len);

#endif
