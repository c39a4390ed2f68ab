/* rtpproxy's Z<ms>: repacketization of G.711 / G.722 without transcoding. The payload octets
 * of a sample-based codec (one octet per RTP clock tick: PCMU, PCMA, G.722) are cut into or
 * joined to packets of the asked duration; the sender's SSRC, payload type and timestamps are
 * kept, sequence numbers are those of the output. A packet of the asked duration that arrives
 * in order goes out as it came. Other payload types pass unchanged.
 *
 * Owned by its rg_media (media->repack: RTP the media's party sends is repacketized toward the
 * peer), set by signalling with the call lock held, used by the call's worker under that lock.
 * Preallocated: nothing is allocated per packet. */
#ifndef RG_REPACK_H
#define RG_REPACK_H

#include "call.h"
#include "rtp.h"
#include "worker.h"

typedef struct rg_repack rg_repack;

/* m's party sends payload type pt (0, 8 or 9); repacketize to ptime_ms (10-120, a multiple of
 * 10 for G.711... any ms). Replaces an earlier setting. NULL or an error text. */
const char *rg_repack_set(rg_media *m, int pt, unsigned ptime_ms);
void rg_repack_free(rg_repack *rp);
/* Worker, call lock held: one RTP packet (parsed) from m's party: out to m's peer. */
void rg_repack_rtp(rg_worker *w, rg_media *m, const uint8_t *pkt, const rtp_info *ri);
/* The payload type of a pt list ("0,101") that rg_repack_set takes, -1 if none. */
int rg_repack_pick_pt(const char *pt_list);

#endif
