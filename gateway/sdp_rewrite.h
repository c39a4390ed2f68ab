/* Rewriting a party's SDP for the other party: our addresses and ports, a=rtcp, rtcp-mux, ICE
 * attributes removed, o= handling and version bumps, loop-protect marker. Works on a parsed
 * sdp_session owned by the caller. */
#ifndef RG_SDP_REWRITE_H
#define RG_SDP_REWRITE_H

#include "call.h"
#include "ng.h"
#include "sdp.h"

/* Rewrite sdp (written by `from`'s side) to be sent to party `to`, whose media hold the local
 * sockets `to` must send to. is_answer selects the negotiated rtcp-mux state instead of what we
 * offer. Returns the SDP text (g_malloc'd) or NULL with *err. Updates to->sdp_version/last_sdp. */
char *rg_sdp_rewrite(sdp_session *sdp, rg_party *to, const ng_req *r, bool is_answer, const char **err);
/* true when the SDP carries our loop-protect marker. */
bool rg_sdp_has_marker(const sdp_session *sdp);

#endif
