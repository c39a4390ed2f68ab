/* NG commands: offer, answer, delete, query, list, statistics. Each runs on the main thread with
 * the call's lock held while it changes the call. */
#include "ng.h"
#include "codec_neg.h"
#include "log.h"
#include "player.h"
#include "recording.h"
#include "rg_dtmf.h"
#include "sdp_rewrite.h"
#include "sdes.h"
#include "webrtc.h"
#include "stats.h"
#include "worker.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int family_of(const char *addrtype)
{
	if (addrtype && g_ascii_strcasecmp(addrtype, "IP6") == 0)
		return AF_INET6;
	return AF_INET;
}

/* Interface for one side: a named direction wins, else the address family wanted, else the
 * family of the party's own SDP. */
static const char *pick_iface(const ng_req *r, unsigned dir_idx, int family, rg_iface **out)
{
	if (r->n_direction > dir_idx) {
		char *name = rg_str_dup(r->direction[dir_idx]);
		rg_iface *ifc = rg_iface_find(name, family);
		if (!ifc) {
			/* legacy rtpengine meaning when no such interface: internal = IPv4, external = IPv6 */
			if (strcmp(name, "internal") == 0)
				ifc = rg_iface_default(AF_INET);
			else if (strcmp(name, "external") == 0)
				ifc = rg_iface_default(AF_INET6);
		}
		g_free(name);
		if (!ifc)
			return "Unknown interface name in 'direction'";
		*out = ifc;
		return NULL;
	}
	rg_iface *ifc = rg_iface_default(family);
	if (!ifc)
		ifc = rg_iface_default(0);
	if (!ifc)
		return "No media interface configured";
	*out = ifc;
	return NULL;
}

static int sdp_family(const sdp_session *sdp)
{
	const sdp_conn *c = sdp->conn.set ? &sdp->conn : NULL;
	for (guint i = 0; !c && i < sdp->media->len; i++) {
		sdp_media *m = sdp->media->pdata[i];
		if (m->conn.set)
			c = &m->conn;
	}
	return c ? family_of(c->addrtype) : AF_INET;
}

/* Take what a party's own SDP says about its media (where it receives, rtcp-mux, direction). */
static void apply_party_sdp(rg_media *m, const sdp_session *sdp, const sdp_media *sm, const ng_req *r)
{
	g_free(m->type);
	m->type = g_strdup(sm->media);
	g_free(m->proto);
	m->proto = g_strdup(sm->proto);
	m->rejected = sm->port == 0;
	m->dir = sdp_media_dir(sdp, sm);
	m->mux_offered = sdp_attr_has(sm->attrs, "rtcp-mux");
	if (r->asymmetric)
		m->asymmetric = true;
	if (r->strict_source)
		m->strict_source = true;
	if (r->media_handover)
		m->media_handover = true;

	const char *addr = NULL;
	char *tmp = NULL;
	if (rg_str_is_set(r->media_address)) {
		addr = tmp = rg_str_dup(r->media_address);
	} else if (r->sip_source_address && rg_str_is_set(r->received_from_addr)) {
		addr = tmp = rg_str_dup(r->received_from_addr);
	} else {
		const sdp_conn *c = sdp_media_conn(sdp, sm);
		addr = c ? c->addr : NULL;
	}
	rg_endpoint rtp, rtcp;
	bool ok = !m->rejected && rg_endpoint_from_str(&rtp, addr, sm->port);
	unsigned rport;
	const char *rtype = NULL, *raddr = NULL;
	if (sdp_media_rtcp(sm, &rport, &rtype, &raddr)) {
		char *ra = raddr ? g_strndup(raddr, strcspn(raddr, " /")) : NULL;
		rg_endpoint_from_str(&rtcp, ra ? ra : addr, rport);
		g_free(ra);
	} else {
		rg_endpoint_from_str(&rtcp, addr, sm->port + 1);
	}
	/* A changed SDP address is a new destination: forget what was learned, the party moved. */
	if (!ok)
		memset(&rtp, 0, sizeof(rtp));
	rg_media_set_endpoints(m, &rtp, &rtcp);
	g_free(tmp);
}

static bool is_srtp_proto(const char *p)
{
	return p && strstr(p, "SAVP") != NULL;
}

static const char *check_transport(ng_req *r)
{
	if (!rg_str_is_set(r->transport_protocol))
		return NULL;
	static const char *const known[] = { "RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF",
					     "UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVPF" };
	for (size_t i = 0; i < G_N_ELEMENTS(known); i++)
		if (rg_str_eq_c(r->transport_protocol, known[i]))
			return NULL;
	if (rg_str_eq_c(r->transport_protocol, "accept")) {
		r->transport_protocol = RG_STR_NULL;
		return NULL;
	}
	return "Unsupported transport-protocol";
}

static bool dtls_off(const ng_req *r)
{
	return rg_str_is_set(r->dtls) &&
	       (rg_str_eq_c(r->dtls, "off") || rg_str_eq_c(r->dtls, "no") || rg_str_eq_c(r->dtls, "disable"));
}

/* WebRTC legs of one m= line in an offer: the offerer's own leg is terminated when its SDP has
 * DTLS-SRTP; the recipient's when the protocol it gets is SRTP and we terminate something
 * (an explicit transport-protocol, or the offerer's leg). Call lock held. */
static const char *offer_webrtc(rg_media *mf, rg_media *mt, const sdp_session *sdp,
				const sdp_media *sm, ng_req *r)
{
	const char *err = NULL;
	bool explicit_tp = rg_str_is_set(r->transport_protocol);
	/* ICE-lite=forward: lite toward the recipient; backward: toward the offerer; both */
	bool lite_fwd = rg_str_is_set(r->ice_lite) && (rg_str_eq_c(r->ice_lite, "forward") || rg_str_eq_c(r->ice_lite, "both"));
	bool lite_back = rg_str_is_set(r->ice_lite) && (rg_str_eq_c(r->ice_lite, "backward") || rg_str_eq_c(r->ice_lite, "both"));
	if (rg_webrtc_sdp_wants(sdp, sm) && !mf->wrtc) {
		/* BUNDLE: an m= line grouped behind an earlier one shares that one's transport */
		int tag = rg_webrtc_bundle_tag(sdp, mf->index - 1);
		rg_media *tm = tag >= 0 && (unsigned)tag < mf->index - 1 ? mf->party->medias->pdata[tag] : NULL;
		bool joined = tm && tm->wrtc && !tm->wrtc_member && rg_webrtc_bundle_join(tm->wrtc, mf);
		if (!joined && tag != (int)mf->index - 1)
			ng_warn(r, "BUNDLE group not usable for this m= line: it gets a transport of its own");
		if (!mf->wrtc && !rg_webrtc_new(mf, false, lite_back, &err))
			return err;
	}
	if (mf->wrtc && sm->port && (err = rg_webrtc_remote(mf, sdp, sm, false, r)))
		return err;
	/* SDES from the offerer is terminated only when the recipient gets another protocol;
	 * without transport-protocol the a=crypto lines pass through end to end */
	if (!mf->wrtc && (mf->sdes || (explicit_tp && rg_sdes_sdp_has(sdp, sm))) && sm->port &&
	    (err = rg_sdes_take_offer(mf, sm, r)))
		return err;
	char *target = rg_str_is_set(r->transport_protocol) ? rg_str_dup(r->transport_protocol)
							    : g_strdup(sm->proto);
	bool terminate = sm->port && is_srtp_proto(target) && (mf->wrtc || mf->sdes || explicit_tp);
	bool ice_force = rg_str_is_set(r->ice) && rg_str_eq_c(r->ice, "force");
	bool want_sdes = terminate && (dtls_off(r) || (!ice_force && g_str_has_prefix(target, "RTP/")));
	g_free(target);
	if (!terminate) {
		if (rg_str_is_set(r->ice) && rg_str_eq_c(r->ice, "force"))
			ng_warn(r, "ICE=force on a plain RTP leg is not supported: ICE attributes removed");
		return NULL;
	}
	if (want_sdes) {
		if (r->sdes_off)
			return "SRTP requested with both DTLS and SDES off";
		if (!mt->wrtc)
			rg_sdes_new(mt);
		return NULL;
	}
	if (mt->wrtc)
		return NULL;
	/* several m= lines toward one WebRTC party: one transport for all (BUNDLE, RFC 8843), the
	 * first one's; what browsers with bundlePolicy max-bundle require */
	for (guint i = 0; i + 1 < mt->index; i++) {
		rg_media *o = mt->party->medias->pdata[i];
		if (o->wrtc && !o->wrtc_member && !o->rejected && rg_webrtc_bundle_join(o->wrtc, mt))
			return NULL;
	}
	if (!rg_webrtc_new(mt, true, lite_fwd, &err))
		return err;
	return NULL;
}
static const char *check_common(ng_req *r, sdp_session **sdp, bool need_sdp)
{
	if (!rg_str_is_set(r->call_id))
		return "No call-id in message";
	if (!rg_str_is_set(r->from_tag))
		return "No from-tag in message";
	if (!need_sdp)
		return NULL;
	if (!rg_str_is_set(r->sdp))
		return "No SDP body in message";
	const char *perr = NULL;
	if (sdp_parse(r->sdp.s, r->sdp.len, sdp, &perr) < 0) {
		rg_ctr_inc(RG_CTR_SDP_PARSE_ERRORS);
		char *cid = rg_str_dup(r->call_id);
		rg_clog(RG_LOG_WARN, cid, "SDP does not parse: %s", perr ? perr : "?");
		g_free(cid);
		return "Failed to parse SDP";
	}
	const char *e = check_transport(r);
	if (e) {
		sdp_free(*sdp);
		*sdp = NULL;
		return e;
	}
	if (rg_str_is_set(r->ice) && !rg_str_eq_c(r->ice, "remove") && !rg_str_eq_c(r->ice, "default") &&
	    !rg_str_eq_c(r->ice, "force"))
		ng_warn(r, "ICE=" RG_STR_FMT " not supported yet: treated as ICE=force", RG_STR_ARG(r->ice));
	if (r->fragment)
		ng_warn(r, "trickle-ICE fragments are not supported yet");
	return NULL;
}

static void set_label(rg_party *p, rg_str label)
{
	if (!rg_str_is_set(label))
		return;
	g_free(p->label);
	p->label = rg_str_dup(label);
}

/* The party that receives what `from` offers: the peer for this via-branch (forks), else the
 * current peer, else a new untagged placeholder. */
static rg_party *offer_peer(rg_call *c, rg_party *from, const char *to_tag, const char *branch)
{
	rg_party *to = NULL;
	if (to_tag)
		to = rg_party_find(c, to_tag);
	if (!to && branch) {
		for (guint i = 0; i < c->parties->len; i++) {
			rg_party *p = c->parties->pdata[i];
			if (p != from && p->peer == from && p->via_branch && strcmp(p->via_branch, branch) == 0)
				to = p;
		}
		if (!to && from->peer && from->peer->via_branch && strcmp(from->peer->via_branch, branch) != 0 &&
		    !from->peer->tag)
			to = rg_party_new(c, NULL, branch);   /* a new fork */
	}
	if (!to)
		to = from->peer;
	if (!to)
		to = rg_party_new(c, to_tag, branch);
	if (to_tag && !to->tag)
		to->tag = g_strdup(to_tag);
	to->peer = from;
	from->peer = to;
	return to;
}

/* record-call (the key: on/yes or off/no; the flag: on) and metadata of an offer or answer,
 * call lock held, once its SDP is taken: recording started or stopped; a renegotiation makes a
 * running recording look its payload types up again. */
static void sdp_recording(rg_call *c, ng_req *r)
{
	if (rg_str_is_set(r->metadata)) {
		g_free(c->metadata);
		c->metadata = rg_str_dup(r->metadata);
	}
	rg_rec_sdp_changed(c);
	bool on = r->record_call_flag, off = false;
	if (rg_str_is_set(r->record_call)) {
		on = rg_str_eq_c(r->record_call, "on") || rg_str_eq_c(r->record_call, "yes");
		off = rg_str_eq_c(r->record_call, "off") || rg_str_eq_c(r->record_call, "no");
		if (!on && !off)
			ng_warn(r, "record-call=" RG_STR_FMT " ignored (on, yes, off or no)", RG_STR_ARG(r->record_call));
	}
	if (on) {
		char *e = NULL;
		if (rg_rec_start(c, NULL, &e) < 0)
			ng_warn(r, "call not recorded: %s", e);
		g_free(e);
	} else if (off) {
		rg_rec_stop(c, NULL);
	}
}

const char *ng_cmd_offer(ng_req *r, be_buf *reply)
{
	sdp_session *sdp = NULL;
	const char *err = check_common(r, &sdp, true);
	if (err)
		return err;
	char *call_id = rg_str_dup(r->call_id);
	char *from_tag = rg_str_dup(r->from_tag);
	char *to_tag = rg_str_dup(r->to_tag);
	char *branch = rg_str_dup(r->via_branch);
	rg_call *c = NULL;
	char *out = NULL;
	bool created = false;

	if (r->loop_protect && rg_sdp_has_marker(sdp)) {
		rg_clog(RG_LOG_INFO, call_id, "offer carries our loop-protect marker: passed through unchanged");
		be_kv_str(reply, "sdp", r->sdp);
		goto out;
	}
	c = rg_call_get(call_id);
	if (!c) {
		c = rg_call_create(call_id, &err);
		if (!c)
			goto out;
		created = true;
	}
	g_mutex_lock(&c->lock);
	c->last_signal = rg_now();
	if (rg_str_is_set(r->metadata)) {
		g_free(c->metadata);
		c->metadata = rg_str_dup(r->metadata);
	}
	rg_party *from = rg_party_find(c, from_tag);
	if (!from)
		from = rg_party_new(c, from_tag, branch);
	set_label(from, r->label);
	rg_party *to = offer_peer(c, from, to_tag, branch);
	set_label(to, r->set_label);

	int fam_from = sdp_family(sdp);
	int fam_to = fam_from;
	if (rg_str_is_set(r->address_family))
		fam_to = rg_str_eq_c(r->address_family, "IP6") ? AF_INET6 : AF_INET;
	rg_iface *if_from, *if_to;
	if ((err = pick_iface(r, 0, fam_from, &if_from)) || (err = pick_iface(r, 1, fam_to, &if_to)))
		goto unlock;

	for (guint i = 0; i < sdp->media->len; i++) {
		sdp_media *sm = sdp->media->pdata[i];
		rg_media *mf = rg_media_ensure(from, i + 1, if_from, &err);
		if (!mf)
			goto unlock;
		rg_media *mt = rg_media_ensure(to, i + 1, if_to, &err);
		if (!mt)
			goto unlock;
		mf->peer = mt;
		mt->peer = mf;
		apply_party_sdp(mf, sdp, sm, r);
		mf->mux_accept = r->mux_demux || r->mux_accept || r->mux_require;
		if (r->mux_reject)
			mf->rtcp_mux = false;
		mt->mux_offer_to = !r->mux_reject &&
				   ((mf->mux_offered && !r->mux_demux) || r->mux_offer || r->mux_require);
		if ((err = offer_webrtc(mf, mt, sdp, sm, r)))
			goto unlock;
		rg_codec_offer(mf, mt, sm, r);
		rg_clog(RG_LOG_DEBUG, call_id, "offer media %u %s: ports %u (to %s) / %u (to %s)", i + 1,
			sm->media, mf->rtp.sock->port, from_tag, mt->rtp.sock->port, to_tag ? to_tag : "(answerer)");
	}
	out = rg_sdp_rewrite(sdp, to, r, false, &err);
	if (!out)
		goto unlock;
	be_kv_cstr(reply, "sdp", out);
	sdp_recording(c, r);
	rg_clog(RG_LOG_INFO, call_id, "offer from %s: %u media", from_tag, sdp->media->len);
unlock:
	g_mutex_unlock(&c->lock);
	/* A call created by this offer must not linger holding ports when the offer failed. */
	if (err && created)
		rg_call_destroy(c, "failed offer");
out:
	if (c)
		rg_call_unref(c);
	g_free(out);
	g_free(call_id);
	g_free(from_tag);
	g_free(to_tag);
	g_free(branch);
	sdp_free(sdp);
	return err;
}

const char *ng_cmd_answer(ng_req *r, be_buf *reply)
{
	sdp_session *sdp = NULL;
	const char *err = check_common(r, &sdp, true);
	if (err)
		return err;
	if (!rg_str_is_set(r->to_tag)) {
		sdp_free(sdp);
		return "No to-tag in message";
	}
	char *call_id = rg_str_dup(r->call_id);
	char *from_tag = rg_str_dup(r->from_tag);
	char *to_tag = rg_str_dup(r->to_tag);
	char *branch = rg_str_dup(r->via_branch);
	char *out = NULL;
	rg_call *c = rg_call_get(call_id);
	if (!c) {
		err = "Unknown call-id";
		goto out;
	}
	g_mutex_lock(&c->lock);
	c->last_signal = rg_now();
	rg_party *offerer = rg_party_find(c, from_tag);
	rg_party *answerer = rg_party_find(c, to_tag);
	if (!offerer) {
		err = "Invalid dialogue association";
		goto unlock;
	}
	if (!answerer || answerer->peer != offerer) {
		rg_party *ph = NULL;
		/* the leg this answer belongs to: same via-branch, else the offerer's current peer */
		for (guint i = 0; branch && i < c->parties->len; i++) {
			rg_party *p = c->parties->pdata[i];
			if (p->peer == offerer && p->via_branch && strcmp(p->via_branch, branch) == 0)
				ph = p;
		}
		if (!ph)
			ph = offerer->peer;
		if (!ph) {
			err = "Invalid dialogue association";
			goto unlock;
		}
		if (answerer && answerer != ph) {
			err = "Invalid dialogue association";
			goto unlock;
		}
		if (ph->tag && strcmp(ph->tag, to_tag) != 0) {
			/* another fork answers: the leg now belongs to it */
			rg_clog(RG_LOG_INFO, call_id, "leg %s now answered by %s", ph->tag, to_tag);
			g_ptr_array_add(ph->old_tags, ph->tag);
			ph->tag = NULL;
		}
		if (!ph->tag)
			ph->tag = g_strdup(to_tag);
		answerer = ph;
		offerer->peer = answerer;
	}
	set_label(answerer, r->label);
	if (sdp->media->len > answerer->medias->len) {
		err = "Incomplete SDP specification";
		goto unlock;
	}
	for (guint i = 0; i < sdp->media->len; i++) {
		sdp_media *sm = sdp->media->pdata[i];
		rg_media *ma = answerer->medias->pdata[i];
		rg_media *mo = ma->peer;
		apply_party_sdp(ma, sdp, sm, r);
		if (ma->wrtc && sm->port && (err = rg_webrtc_remote(ma, sdp, sm, true, r)))
			goto unlock;
		if (ma->sdes && ma->sdes->n_offered && sm->port && (err = rg_sdes_take_answer(ma, sm)))
			goto unlock;
		if (mo && (err = rg_codec_answer(ma, mo, sm, r)))
			goto unlock;
		if (!ma->wrtc && rg_webrtc_sdp_wants(sdp, sm))
			ng_warn(r, "answer has DTLS-SRTP for media %u that was offered as plain RTP", i + 1);
		ma->rtcp_mux = ma->mux_offer_to && ma->mux_offered;
		if (mo)
			mo->rtcp_mux = mo->mux_offered && (ma->rtcp_mux || mo->mux_accept) && !r->mux_reject;
	}
	out = rg_sdp_rewrite(sdp, offerer, r, true, &err);
	if (!out)
		goto unlock;
	be_kv_cstr(reply, "sdp", out);
	sdp_recording(c, r);
	c->answered = true;
	answerer->answered = true;
	rg_clog(RG_LOG_INFO, call_id, "answer from %s to %s: %u media", to_tag, from_tag, sdp->media->len);
unlock:
	g_mutex_unlock(&c->lock);
	rg_call_unref(c);
out:
	g_free(out);
	g_free(call_id);
	g_free(from_tag);
	g_free(to_tag);
	g_free(branch);
	sdp_free(sdp);
	return err;
}

const char *ng_cmd_delete(ng_req *r, be_buf *reply)
{
	if (!rg_str_is_set(r->call_id))
		return "No call-id in message";
	char *call_id = rg_str_dup(r->call_id);
	rg_call *c = rg_call_get(call_id);
	const char *err = NULL;
	if (!c)
		goto notfound;
	g_mutex_lock(&c->lock);
	rg_party *p = NULL;
	if (rg_str_is_set(r->from_tag)) {
		char *ft = rg_str_dup(r->from_tag), *tt = rg_str_dup(r->to_tag);
		p = tt ? rg_party_find(c, tt) : NULL;
		if (!p)
			p = rg_party_find(c, ft);
		g_free(ft);
		g_free(tt);
		if (!p) {
			g_mutex_unlock(&c->lock);
			rg_call_unref(c);
			goto notfound;
		}
	}
	/* a fork that never answered: with via-branch and no to-tag, only that branch goes while
	 * other legs of the call remain */
	if (!p && rg_str_is_set(r->via_branch) && !rg_str_is_set(r->to_tag)) {
		char *br = rg_str_dup(r->via_branch);
		rg_party *leg = NULL, *other = NULL;
		for (guint i = 0; i < c->parties->len; i++) {
			rg_party *q = c->parties->pdata[i];
			if (!q->tag && q->via_branch && strcmp(q->via_branch, br) == 0)
				leg = q;
		}
		for (guint i = 0; leg && i < c->parties->len; i++) {
			rg_party *q = c->parties->pdata[i];
			if (q != leg && q->peer == leg->peer && q != leg->peer)
				other = q;
		}
		g_free(br);
		if (leg && other) {
			if (leg->peer->peer == leg) {
				leg->peer->peer = other;
				for (guint j = 0; j < other->medias->len && j < leg->peer->medias->len; j++) {
					rg_media *om = other->medias->pdata[j], *pm = leg->peer->medias->pdata[j];
					pm->peer = om;
				}
			}
			rg_call_remove_party(c, leg);
			g_mutex_unlock(&c->lock);
			rg_clog(RG_LOG_INFO, call_id, "fork branch deleted, call goes on");
			rg_call_unref(c);
			g_free(call_id);
			return NULL;
		}
	}
	int64_t delay = r->delete_delay >= 0 ? r->delete_delay : rg_default_delete_delay;
	ng_stats_call(reply, c);
	if (delay > 0) {
		c->delete_at = rg_now() + delay;
		g_mutex_unlock(&c->lock);
		rg_clog(RG_LOG_INFO, call_id, "delete scheduled in %" G_GINT64_FORMAT " s", delay);
	} else {
		g_mutex_unlock(&c->lock);
		rg_call_destroy(c, "deleted by NG");
	}
	rg_call_unref(c);
	g_free(call_id);
	return NULL;
notfound:
	if (r->fatal)
		err = "Call-ID not found or tags didn't match";
	else
		ng_warn(r, "Call-ID not found or tags didn't match");
	rg_clog(RG_LOG_INFO, call_id, "delete: call-id not found or tags didn't match");
	g_free(call_id);
	return err;
}

const char *ng_cmd_query(ng_req *r, be_buf *reply)
{
	if (!rg_str_is_set(r->call_id))
		return "No call-id in message";
	char *call_id = rg_str_dup(r->call_id);
	rg_call *c = rg_call_get(call_id);
	g_free(call_id);
	if (!c)
		return "Unknown call-id";
	g_mutex_lock(&c->lock);
	ng_stats_call(reply, c);
	g_mutex_unlock(&c->lock);
	rg_call_unref(c);
	return NULL;
}

/* ---- start / stop / pause recording (recording.h): the whole call, whatever tags are given ---- */

static rg_call *recording_call(ng_req *r, const char **err)
{
	if (!rg_str_is_set(r->call_id)) {
		*err = "No call-id in message";
		return NULL;
	}
	if (!rg_rec_enabled()) {
		*err = "Recording not configured (no recording-dir)";
		return NULL;
	}
	char *cid = rg_str_dup(r->call_id);
	rg_call *c = rg_call_get(cid);
	g_free(cid);
	if (!c)
		*err = "Unknown call-id";
	return c;
}

const char *ng_cmd_start_recording(ng_req *r, be_buf *reply)
{
	static char errbuf[300];   /* main thread only: the reply is built before the next request */
	const char *err = NULL;
	rg_call *c = recording_call(r, &err);
	if (!c)
		return err;
	g_mutex_lock(&c->lock);
	if (rg_str_is_set(r->metadata)) {
		g_free(c->metadata);
		c->metadata = rg_str_dup(r->metadata);
	}
	char *e = NULL;
	if (rg_rec_start(c, NULL, &e) < 0) {
		snprintf(errbuf, sizeof(errbuf), "Failed to start recording: %s", e);
		err = errbuf;
	}
	g_mutex_unlock(&c->lock);
	rg_call_unref(c);
	g_free(e);
	return err;
}

const char *ng_cmd_stop_recording(ng_req *r, be_buf *reply)
{
	const char *err = NULL;
	rg_call *c = recording_call(r, &err);
	if (!c)
		return err;
	char *why = NULL;
	g_mutex_lock(&c->lock);
	bool was = rg_rec_stop(c, &why);
	g_mutex_unlock(&c->lock);
	rg_call_unref(c);
	if (!was)
		ng_warn(r, "Call is not being recorded");
	else if (why)
		ng_warn(r, "Recording had stopped on an error: %s", why);
	g_free(why);
	return NULL;
}

const char *ng_cmd_pause_recording(ng_req *r, be_buf *reply)
{
	const char *err = NULL;
	rg_call *c = recording_call(r, &err);
	if (!c)
		return err;
	g_mutex_lock(&c->lock);
	bool was = rg_rec_pause(c);
	g_mutex_unlock(&c->lock);
	rg_call_unref(c);
	if (!was)
		ng_warn(r, "Call is not being recorded");
	return NULL;
}

const char *ng_cmd_list(ng_req *r, be_buf *reply)
{
	int64_t limit = r->limit >= 0 ? r->limit : 32;
	be_key(reply, "calls");
	be_list_open(reply);
	g_mutex_lock(&rg_calls_lock);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, rg_calls);
	while (limit > 0 && g_hash_table_iter_next(&it, &k, &v)) {
		be_cstr(reply, k);
		limit--;
	}
	g_mutex_unlock(&rg_calls_lock);
	be_close(reply);
	return NULL;
}

const char *ng_cmd_statistics(ng_req *r, be_buf *reply)
{
	be_key(reply, "statistics");
	be_dict_open(reply);
	be_key(reply, "currentstatistics");
	be_dict_open(reply);
	be_kv_int(reply, "sessionsown", rg_calls_count());
	be_kv_int(reply, "sessionstotal", (int64_t)rg_ctr_read(RG_CTR_CALLS_CREATED));
	be_close(reply);
	be_key(reply, "counters");
	be_dict_open(reply);
	for (int i = 0; i < RG_CTR__MAX; i++)
		be_kv_int(reply, rg_ctr_names[i], (int64_t)rg_ctr_read(i));
	be_close(reply);
	be_key(reply, "interfaces");
	be_list_open(reply);
	for (guint i = 0; rg_ifaces && i < rg_ifaces->len; i++) {
		rg_iface *ifc = rg_ifaces->pdata[i];
		be_dict_open(reply);
		be_kv_cstr(reply, "name", ifc->name);
		be_kv_cstr(reply, "address", ifc->addr);
		be_kv_cstr(reply, "advertised", ifc->advertised);
		be_kv_int(reply, "ports-free", rg_iface_ports_free(ifc));
		be_kv_int(reply, "ports-total", ifc->port_max - ifc->port_min + 1);
		be_close(reply);
	}
	be_close(reply);
	be_close(reply);
	return NULL;
}

/* ---- play media, stop media, play DTMF (ng-protocol 6.6; player.c) ---- */

/* The participant a play command names (label, then from-tag), with the call locked; NULL with
 * *err. The caller unlocks and unrefs *cp. */
static rg_party *participant(ng_req *r, rg_call **cp, const char **err)
{
	if (!rg_str_is_set(r->call_id)) {
		*err = "No call-id in message";
		return NULL;
	}
	char *cid = rg_str_dup(r->call_id);
	rg_call *c = rg_call_get(cid);
	g_free(cid);
	if (!c) {
		*err = "Unknown call-id";
		return NULL;
	}
	g_mutex_lock(&c->lock);
	rg_party *p = NULL;
	for (guint i = 0; rg_str_is_set(r->label) && !p && i < c->parties->len; i++) {
		rg_party *q = c->parties->pdata[i];
		if (q->label && rg_str_eq_c(r->label, q->label))
			p = q;
	}
	if (!p && rg_str_is_set(r->from_tag)) {
		char *tag = rg_str_dup(r->from_tag);
		p = rg_party_find(c, tag);
		g_free(tag);
	}
	if (!p) {
		g_mutex_unlock(&c->lock);
		rg_call_unref(c);
		*err = rg_str_is_set(r->label) || rg_str_is_set(r->from_tag) ? "No such participant"
									: "No participant party specified";
		return NULL;
	}
	*cp = c;
	return p;
}

static void participant_done(rg_call *c)
{
	g_mutex_unlock(&c->lock);
	rg_call_unref(c);
}

const char *ng_cmd_play_media(ng_req *r, be_buf *reply)
{
	rg_str file;
	if (!be_dict_str(r->dict, "file", &file) || !file.len) {
		if (be_dict_get(r->dict, "blob") || be_dict_get(r->dict, "db-id"))
			return "Only 'file' media is supported by rtpgate";
		return "No media file specified";
	}
	int64_t repeat = 1;
	if (be_dict_get(r->dict, "repeat-times") && (!be_dict_int(r->dict, "repeat-times", &repeat) || repeat < -1))
		return "Invalid 'repeat-times'";
	rg_call *c;
	const char *err = NULL;
	rg_party *p = participant(r, &c, &err);
	if (!p)
		return err;
	char *path = rg_str_dup(file), *why = NULL;
	unsigned dur = 0, n = 0;
	for (guint i = 0; i < p->medias->len; i++) {
		rg_media *m = p->medias->pdata[i];
		if (!m->rtp.sock || m->rejected || !m->type || strcmp(m->type, "audio"))
			continue;
		g_free(why);
		why = NULL;
		if (rg_player_play_file(m, path, NULL, repeat == 0 ? 1 : (int)repeat, &dur, &why))
			n++;
	}
	participant_done(c);
	if (!n) {
		static __thread char msg[256];
		snprintf(msg, sizeof(msg), "Failed to start media playback: %s", why ? why : "no audio media");
		g_free(why);
		g_free(path);
		return msg;
	}
	g_free(why);
	g_free(path);
	be_kv_cstr(reply, "result", "ok");
	be_kv_int(reply, "duration", dur);
	return NULL;
}

const char *ng_cmd_stop_media(ng_req *r, be_buf *reply)
{
	rg_call *c;
	const char *err = NULL;
	rg_party *p = participant(r, &c, &err);
	if (!p)
		return err;
	unsigned n = 0;
	for (guint i = 0; i < p->medias->len; i++)
		n += rg_player_stop(p->medias->pdata[i]);
	participant_done(c);
	if (!n)
		return "Not currently playing media";
	be_kv_cstr(reply, "result", "ok");
	return NULL;
}

/* "code"/"digit": 0-15, or one character of 0-9*#A-D */
static int dtmf_char(const be_node *n)
{
	if (!n)
		return -1;
	if (n->type == BE_STR && n->str.len == 1)
		return rg_te_char_to_event(n->str.s[0]) >= 0 ? toupper((unsigned char)n->str.s[0]) : -1;
	int64_t v;
	if (!be_node_int(n, &v) || v < 0 || v > 15)
		return -1;
	return rg_te_event_to_char((uint8_t)v);
}

static bool ms_in(ng_req *r, const char *key, int64_t def, int64_t *out)
{
	*out = def;
	if (!be_dict_get(r->dict, key))
		return true;
	return be_dict_int(r->dict, key, out) && *out >= 100 && *out <= 5000;
}

const char *ng_cmd_play_dtmf(ng_req *r, be_buf *reply)
{
	const be_node *code = be_dict_get(r->dict, "code");
	if (!code)
		code = be_dict_get(r->dict, "digit");
	if (!code)
		return "No DTMF code specified";
	int ch = dtmf_char(code);
	if (ch <= 0)
		return "Invalid DTMF code";
	int64_t duration, pause, volume = 8;
	if (!ms_in(r, "duration", 250, &duration) || !ms_in(r, "pause", 100, &pause))
		return "Invalid DTMF duration or pause (100-5000 ms)";
	if (be_dict_get(r->dict, "volume") && !be_dict_int(r->dict, "volume", &volume))
		return "Invalid DTMF volume";
	if (volume < 0)
		volume = -volume;
	rg_call *c;
	const char *err = NULL;
	rg_party *p = participant(r, &c, &err);
	if (!p)
		return err;
	/* the participant is the source: the digit goes to the other party, in the stream it gets */
	char digits[2] = { (char)ch, 0 }, *why = NULL;
	unsigned n = 0;
	for (guint i = 0; i < p->medias->len && !n; i++) {
		rg_media *m = p->medias->pdata[i], *to = m->peer;
		if (!to || !to->rtp.sock || to->rejected || !m->type || strcmp(m->type, "audio"))
			continue;
		g_free(why);
		why = NULL;
		if (rg_player_play_dtmf(to, digits, (unsigned)duration, (unsigned)pause, -(int)volume, &why))
			n++;
	}
	participant_done(c);
	if (!n) {
		static __thread char msg[256];
		snprintf(msg, sizeof(msg), "Failed to inject DTMF: %s", why ? why : "no audio media");
		g_free(why);
		return msg;
	}
	g_free(why);
	be_kv_cstr(reply, "result", "ok");
	return NULL;
}
