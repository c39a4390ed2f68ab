#include "sdp_rewrite.h"
#include "codec_neg.h"
#include "log.h"
#include "sdes.h"
#include "webrtc.h"

#include <stdio.h>
#include <string.h>

#define MARKER_ATTR "rtpgate"

static const char *const ice_attrs[] = { "candidate", "ice-ufrag", "ice-pwd", "ice-options",
					 "end-of-candidates", "remote-candidates", "ice-lite",
					 "ice-mismatch", "ice-pacing" };

bool rg_sdp_has_marker(const sdp_session *sdp)
{
	const char *v = sdp_attr_value(sdp->attrs, MARKER_ATTR);
	return v && strcmp(v, rg_instance_id) == 0;
}

static void strip_ice(GPtrArray *attrs)
{
	for (size_t i = 0; i < G_N_ELEMENTS(ice_attrs); i++)
		sdp_attr_remove(attrs, ice_attrs[i]);
}

static const char *addrtype(const rg_iface *ifc)
{
	return ifc->family == AF_INET6 ? "IP6" : "IP4";
}

char *rg_sdp_rewrite(sdp_session *sdp, rg_party *to, const ng_req *r, bool is_answer, const char **err)
{
	rg_iface *first = NULL;
	strip_ice(sdp->attrs);
	if (r->strip_extmap)
		sdp_attr_remove(sdp->attrs, "extmap");

	for (guint i = 0; i < sdp->media->len; i++) {
		sdp_media *sm = sdp->media->pdata[i];
		if (i >= to->medias->len) {
			*err = "Incomplete SDP specification";
			return NULL;
		}
		rg_media *lm = to->medias->pdata[i];
		strip_ice(sm->attrs);
		if (r->strip_extmap)
			sdp_attr_remove(sm->attrs, "extmap");
		if (sm->port == 0 || !lm->rtp.sock)
			continue;   /* rejected stays rejected */
		if (!first)
			first = lm->iface;
		unsigned port = lm->rtp.sock->port;
		sm->port = port;
		sm->num_ports = 0;
		rg_codec_write_sdp(lm, sm);
		if (rg_str_is_set(r->transport_protocol)) {
			g_free(sm->proto);
			sm->proto = rg_str_dup(r->transport_protocol);
			if (strcmp(sm->proto, "RTP/AVP") == 0)
				sdp_attr_remove(sm->attrs, "rtcp-fb");
		}
		bool mux = is_answer ? lm->rtcp_mux : lm->mux_offer_to;
		sdp_attr_remove(sm->attrs, "rtcp");
		sdp_attr_remove(sm->attrs, "rtcp-mux");
		if (mux)
			sdp_attr_add(sm->attrs, "rtcp-mux", NULL);
		bool same_port = (is_answer && mux) || (!is_answer && mux && r->mux_require);
		if (!r->no_rtcp_attribute) {
			char v[128];
			unsigned rp = same_port ? port : port + 1;
			if (r->full_rtcp_attribute)
				snprintf(v, sizeof(v), "%u IN %s %s", rp, addrtype(lm->iface), lm->iface->advertised);
			else
				snprintf(v, sizeof(v), "%u", rp);
			/* a=rtcp goes right after any rtpmap/fmtp block is not required; append. */
			sdp_attr_add(sm->attrs, "rtcp", v);
		}
		if (r->generate_mid && !sdp_attr_has(sm->attrs, "mid")) {
			char v[16];
			snprintf(v, sizeof(v), "%u", i);
			sdp_attr_add(sm->attrs, "mid", v);
		}
		if (sm->conn.set || !sdp->conn.set)
			sdp_conn_set(&sm->conn, addrtype(lm->iface), lm->iface->advertised);
		if (lm->wrtc)
			rg_webrtc_write_sdp(lm, sdp, sm, is_answer, r);
		else if (lm->sdes)
			rg_sdes_write_sdp(lm, sm, is_answer, r);
		else if (lm->peer && (lm->peer->wrtc || lm->peer->sdes))
			rg_webrtc_strip_sdp(sm);   /* what the other leg's transport needed stays there */
	}
	if (!first)
		first = to->medias->len ? ((rg_media *)to->medias->pdata[0])->iface : NULL;
	if (!first)
		first = rg_iface_default(0);
	if (sdp->conn.set) {
		sdp_conn_set(&sdp->conn, addrtype(first), first->advertised);
		/* media whose interface differs from the session-level one get their own c= */
		for (guint i = 0; i < sdp->media->len; i++) {
			sdp_media *sm = sdp->media->pdata[i];
			rg_media *lm = to->medias->pdata[i];
			if (sm->port && lm->iface && lm->iface != first && !sm->conn.set)
				sdp_conn_set(&sm->conn, addrtype(lm->iface), lm->iface->advertised);
		}
	}
	bool any_wrtc = false, any_plain_from_wrtc = false;
	for (guint i = 0; i < to->medias->len; i++) {
		rg_media *lm = to->medias->pdata[i];
		any_wrtc |= lm->wrtc != NULL;
		any_plain_from_wrtc |= !lm->wrtc && lm->peer && lm->peer->wrtc;
	}
	if (any_plain_from_wrtc && !any_wrtc) {
		static const char *const sess[] = { "fingerprint", "setup", "group", "ice-options" };
		for (size_t i = 0; i < G_N_ELEMENTS(sess); i++)
			sdp_attr_remove(sdp->attrs, sess[i]);
	}
	if (any_wrtc) {
		/* a=group:BUNDLE per transport that carries several m= lines (RFC 8843), and for a single
		 * WebRTC m= line (what max-bundle browsers require); m= lines on transports of their
		 * own are not grouped. */
		sdp_attr_remove(sdp->attrs, "group");
		GPtrArray *tps = g_ptr_array_new();
		for (guint i = 0; i < sdp->media->len && i < to->medias->len; i++) {
			rg_media *lm = to->medias->pdata[i];
			if (((sdp_media *)sdp->media->pdata[i])->port && lm->wrtc && !g_ptr_array_find(tps, lm->wrtc, NULL))
				g_ptr_array_add(tps, lm->wrtc);
		}
		for (guint t = 0; t < tps->len; t++) {
			GString *g = g_string_new("BUNDLE");
			unsigned n = 0;
			for (guint i = 0; i < sdp->media->len && i < to->medias->len; i++) {
				sdp_media *sm = sdp->media->pdata[i];
				rg_media *lm = to->medias->pdata[i];
				const char *mid = sdp_attr_value(sm->attrs, "mid");
				if (sm->port && lm->wrtc == tps->pdata[t] && mid && *mid) {
					g_string_append_printf(g, " %s", mid);
					n++;
				}
			}
			if (n > 1 || (n == 1 && tps->len == 1))
				sdp_attr_add(sdp->attrs, "group", g->str);
			g_string_free(g, TRUE);
		}
		g_ptr_array_free(tps, TRUE);
	}
	if (r->replace_origin) {
		g_free(sdp->o_addrtype);
		g_free(sdp->o_addr);
		sdp->o_addrtype = g_strdup(addrtype(first));
		sdp->o_addr = g_strdup(first->advertised);
	}
	if (r->replace_username) {
		g_free(sdp->o_user);
		sdp->o_user = g_strdup("-");
	}
	if (r->replace_session_name) {
		g_free(sdp->s);
		sdp->s = g_strdup("rtpgate");
	}
	if (r->loop_protect && !sdp_attr_has(sdp->attrs, MARKER_ATTR))
		sdp_attr_add(sdp->attrs, MARKER_ATTR, rg_instance_id);

	/* o= version: the first SDP toward a party keeps the writer's version; afterwards it goes up
	 * by one whenever what we send changes (RFC 3264 8). */
	char *out;
	if (!to->last_sdp) {
		out = sdp_write(sdp, NULL);
		to->sdp_version = sdp->o_version;
	} else {
		sdp->o_version = to->sdp_version;
		out = sdp_write(sdp, NULL);
		if (strcmp(out, to->last_sdp) != 0 || r->replace_sdp_version) {
			g_free(out);
			sdp->o_version = ++to->sdp_version;
			out = sdp_write(sdp, NULL);
		}
	}
	g_free(to->last_sdp);
	to->last_sdp = g_strdup(out);
	return out;
}
