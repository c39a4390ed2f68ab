#include "webrtc.h"
#include "bytes.h"
#include "log.h"
#include "relay.h"
#include "stats.h"
#include "worker.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static rg_dtls_cert *cert;
static char cert_fp[RG_DTLS_FP_MAX];

int rg_webrtc_init(char **err)
{
	if (cert)
		return 0;
	int r = rg_dtls_cert_new(&cert, RG_DTLS_CERT_ECDSA_P256);
	if (r < 0 || rg_dtls_cert_fingerprint(cert, "sha-256", cert_fp, sizeof(cert_fp)) < 0) {
		*err = g_strdup("cannot create the DTLS certificate");
		return r < 0 ? r : -EINVAL;
	}
	rg_srtp_init();
	rg_log(RG_LOG_INFO, "DTLS certificate ready, fingerprint sha-256 %s", cert_fp);
	return 0;
}

void rg_webrtc_cleanup(void)
{
	if (cert)
		rg_dtls_cert_free(cert);
	cert = NULL;
}

static const char *attr_ms(const sdp_session *s, const sdp_media *sm, const char *name)
{
	const char *v = sdp_attr_value(sm->attrs, name);
	return v ? v : sdp_attr_value(s->attrs, name);
}

bool rg_webrtc_sdp_wants(const sdp_session *s, const sdp_media *sm)
{
	return sm->port != 0 && sm->proto && strstr(sm->proto, "SAVP") && attr_ms(s, sm, "fingerprint");
}

/* ---- callbacks ---- */

static void on_ice_state(rg_ice_agent *a, unsigned comp, rg_ice_state st, void *ud)
{
	rg_webrtc *wt = ud;
	__atomic_store_n(&wt->ice_state, (int)st, __ATOMIC_RELEASE);
	rg_clog(st == RG_ICE_FAILED ? RG_LOG_WARN : RG_LOG_INFO, wt->call->call_id,
		"media %u: ICE %s", wt->media->index, rg_ice_state_name(st));
}

/* DTLS output (called under the call lock). A browser may send its ClientHello as soon as its own
 * check succeeded, before our side has selected a pair: what cannot be sent yet is kept and sent
 * once ICE is up (dtls_flush), instead of waiting for OpenSSL's 1 s retransmission. */
static void dtls_send(void *arg, const uint8_t *buf, size_t len)
{
	rg_webrtc *wt = arg;
	struct iovec iov = { (void *)buf, len };
	if (!wt->ice)
		return;
	if ((!wt->dtls_backlog || wt->dtls_backlog->len == 0) && rg_ice_send(wt->ice, 1, &iov, 1) == 1)
		return;
	if (!wt->dtls_backlog)
		wt->dtls_backlog = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	if (wt->dtls_backlog->len < 16)
		g_ptr_array_add(wt->dtls_backlog, g_bytes_new(buf, len));
}

static void dtls_flush(rg_webrtc *wt)
{
	while (wt->dtls_backlog && wt->dtls_backlog->len) {
		gsize len;
		const void *d = g_bytes_get_data(wt->dtls_backlog->pdata[0], &len);
		struct iovec iov = { (void *)d, len };
		if (rg_ice_send(wt->ice, 1, &iov, 1) != 1)
			return;
		g_ptr_array_remove_index(wt->dtls_backlog, 0);
	}
}

/* DTLS connected: keys to libsrtp (call lock held). */
static void dtls_check(rg_webrtc *wt)
{
	const char *reason = NULL;
	enum rg_dtls_state st = rg_dtls_state(wt->dtls, &reason);
	if (st == RG_DTLS_CONNECTED && !wt->srtp) {
		rg_srtp_keys keys;
		if (rg_dtls_srtp_keys(wt->dtls, &keys) == 0) {
			int r = rg_srtp_new(&wt->srtp, &keys, rg_dtls_is_client(wt->dtls));
			const struct rg_srtp_suite_info *si = rg_srtp_suite_info(keys.suite);
			rg_srtp_keys_wipe(&keys);
			if (r == 0)
				rg_clog(RG_LOG_INFO, wt->call->call_id, "media %u: DTLS-SRTP up (%s, %s)",
					wt->media->index, si ? si->sdes_name : "?",
					rg_dtls_is_client(wt->dtls) ? "client" : "server");
			else
				rg_clog(RG_LOG_WARN, wt->call->call_id, "media %u: SRTP setup failed (%d)",
					wt->media->index, r);
		}
	} else if ((st == RG_DTLS_FAILED || st == RG_DTLS_CLOSED) && !wt->failure_logged) {
		wt->failure_logged = true;
		if (st == RG_DTLS_FAILED)
			rg_ctr_inc(RG_CTR_DTLS_FAILED);
		rg_clog(RG_LOG_WARN, wt->call->call_id, "media %u: DTLS %s: %s", wt->media->index,
			st == RG_DTLS_FAILED ? "failed" : "closed", reason ? reason : "");
	}
}

/* Application datagrams of the leg (DTLS, SRTP, SRTCP): the worker, for one batch. */
static void on_ice_recv(rg_ice_agent *a, unsigned comp, const rg_ice_pkt *pkts, unsigned n, void *ud)
{
	rg_webrtc_input(ud, pkts, n);
}

void rg_webrtc_input(rg_webrtc *wt, const rg_ice_pkt *pkts, unsigned n)
{
	rg_call *c = wt->call;
	static __thread uint8_t buf[RG_RELAY_MTU];
	g_mutex_lock(&c->lock);
	if (c->dead || wt->media->wrtc != wt || !wt->ice) {
		g_mutex_unlock(&c->lock);
		return;
	}
	rg_worker *w = c->worker;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *p = pkts[i].buf;
		size_t len = pkts[i].len;
		switch (rg_demux_classify(p, len)) {
		case RG_DEMUX_DTLS:
			wt->dtls_datagrams++;
			if (wt->dtls) {
				rg_dtls_input(wt->dtls, p, len);
				dtls_check(wt);
			}
			break;
		case RG_DEMUX_RTP: {
			if (!wt->srtp || len > sizeof(buf)) {
				wt->no_keys_drops++;
				w->ctr[RG_CTR_DROP_NO_PEER]++;
				break;
			}
			memcpy(buf, p, len);
			bool is_rtcp = rg_demux_is_rtcp(buf, len);
			int r = is_rtcp ? rg_srtp_unprotect_rtcp(wt->srtp, buf, &len)
					: rg_srtp_unprotect_rtp(wt->srtp, buf, &len);
			if (r < 0) {
				wt->srtp_errors++;
				(is_rtcp ? &wt->media->rtcp : &wt->media->rtp)->errors++;
				w->ctr[RG_CTR_DROP_SRTP]++;
				break;
			}
			rg_relay_forward(w, rg_webrtc_route(wt, buf, len, is_rtcp), buf, len, sizeof(buf), is_rtcp);
			break;
		}
		default:
			w->ctr[RG_CTR_DROP_MALFORMED]++;
			wt->media->rtp.errors++;
			break;
		}
	}
	g_mutex_unlock(&c->lock);
}

static const rg_ice_callbacks ice_cb = { on_ice_recv, on_ice_state };

rg_webrtc *rg_webrtc_new(rg_media *m, bool controlling, bool lite, const char **err)
{
	rg_call *c = m->party->call;
	rg_webrtc *wt = g_new0(rg_webrtc, 1);
	wt->media = m;
	wt->call = c;
	wt->controlling = controlling && !lite;
	wt->lite = lite;
	wt->local_setup = RG_DTLS_SETUP_ACTPASS;
	bool adv = strcmp(m->iface->advertised, m->iface->addr) != 0;
	rg_ice_cfg cfg = {
		.mode = lite ? RG_ICE_LITE : RG_ICE_FULL,
		.controlling = wt->controlling,
		.bind_addr = m->iface->addr,
		.advertised = adv ? m->iface->advertised : NULL,
		.components = 1,
		/* libnice binds its own socket: keep it inside the configured media range (firewalls);
		 * a port our own pool holds makes libnice try the next one, and the other way round */
		.port_min = (uint16_t)m->iface->port_min,
		.port_max = (uint16_t)m->iface->port_max,
	};
	char *e = NULL;
	wt->ice = rg_ice_agent_new(c->worker->ice_loop, &cfg, &ice_cb, wt, &e);
	if (!wt->ice || rg_ice_gather(wt->ice, &e) < 0) {
		rg_clog(RG_LOG_ERR, c->call_id, "ICE agent: %s", e ? e : "?");
		g_free(e);
		if (wt->ice)
			rg_ice_agent_retire(wt->ice);
		g_free(wt);
		*err = "Failed to set up ICE";
		return NULL;
	}
	if (rg_dtls_new(&wt->dtls, cert, RG_DTLS_ROLE_UNSET, NULL, NULL, dtls_send, wt) < 0) {
		rg_ice_agent_retire(wt->ice);
		g_free(wt);
		*err = "Failed to set up DTLS";
		return NULL;
	}
	m->wrtc = wt;
	wt->members[0].media = m;
	wt->n_members = 1;
	rg_clog(RG_LOG_INFO, c->call_id, "media %u: WebRTC leg (ICE %s, %s)", m->index,
		lite ? "lite" : "full", wt->controlling ? "controlling" : "controlled");
	return wt;
}

void rg_webrtc_detach(rg_webrtc *wt)
{
	if (wt->ice)
		rg_ice_agent_retire(wt->ice);
	wt->ice = NULL;
}

void rg_webrtc_free(rg_webrtc *wt)
{
	if (!wt)
		return;
	if (wt->ice)
		rg_ice_agent_retire(wt->ice);
	if (wt->dtls)
		rg_dtls_free(wt->dtls);
	if (wt->srtp)
		rg_srtp_free(wt->srtp);
	for (unsigned i = 0; i < wt->n_members; i++)
		g_free(wt->members[i].mid);
	if (wt->dtls_backlog)
		g_ptr_array_free(wt->dtls_backlog, TRUE);
	g_free(wt);
}

static void watch(rg_webrtc *wt)
{
	if (wt->watched)
		return;
	wt->watched = true;
	wt->watch_since = rg_now();
	rg_call_ref(wt->call);
	rg_worker_watch_dtls(wt->call->worker, wt);
}

void rg_webrtc_unwatch(rg_webrtc *wt)
{
	rg_call *c = wt->call;
	g_mutex_lock(&c->lock);
	wt->watched = false;
	g_mutex_unlock(&c->lock);
	rg_call_unref(c);
}

int rg_webrtc_dtls_tick(rg_webrtc *wt)
{
	rg_call *c = wt->call;
	int ret = -1;
	g_mutex_lock(&c->lock);
	if (c->dead || !wt->dtls || !wt->ice || wt->media->wrtc != wt)
		goto out;
	dtls_check(wt);
	enum rg_dtls_state st = rg_dtls_state(wt->dtls, NULL);
	if (st != RG_DTLS_CONNECTING)
		goto out;
	if (rg_now() - wt->watch_since > 120) {
		rg_clog(RG_LOG_WARN, c->call_id, "media %u: no DTLS handshake within 120 s", wt->media->index);
		goto out;
	}
	int ice = __atomic_load_n(&wt->ice_state, __ATOMIC_ACQUIRE);
	bool ice_up = ice == RG_ICE_CONNECTED || ice == RG_ICE_READY;
	if (wt->dtls_backlog && wt->dtls_backlog->len) {
		if (ice_up)
			dtls_flush(wt);
		if (wt->dtls_backlog->len) {
			ret = 10;    /* ICE is about to select its pair: look again soon */
			goto out;
		}
	}
	if (!wt->dtls_started && rg_dtls_get_role(wt->dtls) == RG_DTLS_ACTIVE) {
		if (ice != RG_ICE_CONNECTED && ice != RG_ICE_READY) {
			ret = 50;    /* start once ICE has a pair */
			goto out;
		}
		wt->dtls_started = true;
		rg_dtls_start(wt->dtls);
	}
	int t = rg_dtls_timeout_ms(wt->dtls);
	if (t == 0) {
		rg_dtls_handle_timeout(wt->dtls);
		dtls_check(wt);
		t = rg_dtls_timeout_ms(wt->dtls);
	}
	ret = t < 0 || t > 200 ? 200 : t;
out:
	g_mutex_unlock(&c->lock);
	return ret;
}

/* ---- BUNDLE ---- */

rg_bundle_member *rg_webrtc_member(rg_media *m)
{
	rg_webrtc *wt = m->wrtc;
	for (unsigned i = 0; wt && i < wt->n_members; i++)
		if (wt->members[i].media == m)
			return &wt->members[i];
	return NULL;
}

bool rg_webrtc_bundle_join(rg_webrtc *wt, rg_media *m)
{
	if (m->wrtc == wt)
		return true;
	if (m->wrtc || wt->n_members >= RG_BUNDLE_MAX)
		return false;
	wt->members[wt->n_members++] = (rg_bundle_member){ .media = m };
	m->wrtc = wt;
	m->wrtc_member = true;
	rg_clog(RG_LOG_INFO, wt->call->call_id, "media %u: bundled on the transport of media %u",
		m->index, wt->media->index);
	return true;
}

int rg_webrtc_bundle_tag(const sdp_session *s, unsigned idx)
{
	const sdp_media *sm = s->media->pdata[idx];
	const char *mid = sdp_attr_value(sm->attrs, "mid");
	if (!mid || !*mid)
		return (int)idx;
	for (guint i = 0; i < s->attrs->len; i++) {
		const sdp_attr *a = s->attrs->pdata[i];
		if (strcmp(a->name, "group") || !a->value || !g_str_has_prefix(a->value, "BUNDLE "))
			continue;
		gchar **tok = g_strsplit_set(a->value + 7, " \t", -1);
		const char *tag = NULL;
		bool in = false;
		for (gchar **t = tok; *t; t++) {
			if (!**t)
				continue;
			if (!tag)
				tag = *t;
			if (strcmp(*t, mid) == 0)
				in = true;
		}
		int ret = (int)idx;
		if (in && tag) {
			ret = -1;
			for (guint j = 0; j < s->media->len; j++) {
				const char *mj = sdp_attr_value(((sdp_media *)s->media->pdata[j])->attrs, "mid");
				if (mj && strcmp(mj, tag) == 0) {
					ret = (int)j;
					break;
				}
			}
		}
		g_strfreev(tok);
		if (in)
			return ret;
	}
	return (int)idx;
}

/* What the party's m= line says about the packets it will send: mid, payload types, SSRCs. */
static void member_from_sdp(rg_webrtc *wt, rg_bundle_member *bm, const sdp_media *sm)
{
	if (!bm)
		return;
	const char *mid = sdp_attr_value(sm->attrs, "mid");
	if (mid && *mid && (!bm->mid || strcmp(bm->mid, mid))) {
		g_free(bm->mid);
		bm->mid = g_strdup(mid);
	}
	memset(bm->pts, 0, sizeof(bm->pts));
	for (guint i = 0; i < sm->fmts->len; i++) {
		const char *f = sm->fmts->pdata[i];
		char *end;
		unsigned long pt = strtoul(f, &end, 10);
		if (*f && !*end && pt < 128)
			bm->pts[pt / 64] |= 1ull << (pt % 64);
	}
	bm->n_ssrcs = 0;
	for (guint i = 0; i < sm->attrs->len; i++) {
		const sdp_attr *a = sm->attrs->pdata[i];
		if (!a->value)
			continue;
		if (strcmp(a->name, "ssrc") == 0) {
			char *end;
			unsigned long long v = strtoull(a->value, &end, 10);
			if (end != a->value && v <= 0xffffffffull && bm->n_ssrcs < G_N_ELEMENTS(bm->ssrcs)) {
				bool dup = false;
				for (unsigned k = 0; k < bm->n_ssrcs; k++)
					dup |= bm->ssrcs[k] == (uint32_t)v;
				if (!dup)
					bm->ssrcs[bm->n_ssrcs++] = (uint32_t)v;
			}
		} else if (strcmp(a->name, "extmap") == 0 && strstr(a->value, "urn:ietf:params:rtp-hdrext:sdes:mid")) {
			unsigned long id = strtoul(a->value, NULL, 10);
			if (id >= 1 && id <= 255)
				wt->mid_ext_id = (uint8_t)id;
		}
	}
}

static int member_by_mid(rg_webrtc *wt, const uint8_t *v, size_t len)
{
	for (unsigned i = 0; i < wt->n_members; i++) {
		const char *mid = wt->members[i].mid;
		if (mid && strlen(mid) == len && memcmp(mid, v, len) == 0)
			return (int)i;
	}
	return -1;
}

/* The MID RTP header extension (RFC 8843 15), one-byte or two-byte form (RFC 8285). */
static int member_by_mid_ext(rg_webrtc *wt, const uint8_t *p, size_t len)
{
	if (!wt->mid_ext_id || !(p[0] & 0x10))
		return -1;
	size_t off = 12 + 4u * (p[0] & 0x0f);
	if (off + 4 > len)
		return -1;
	unsigned profile = (unsigned)p[off] << 8 | p[off + 1];
	size_t elen = 4u * ((unsigned)p[off + 2] << 8 | p[off + 3]);
	off += 4;
	if (elen > len - off)
		return -1;
	const uint8_t *e = p + off, *end = e + elen;
	bool one_byte = profile == 0xBEDE;
	if (!one_byte && (profile & 0xfff0) != 0x1000)
		return -1;
	while (e < end) {
		if (*e == 0) {         /* padding */
			e++;
			continue;
		}
		unsigned id, l;
		if (one_byte) {
			id = *e >> 4;
			l = (*e & 0x0f) + 1u;
			if (id == 15)
				break;
			e++;
		} else {
			if (end - e < 2)
				break;
			id = e[0];
			l = e[1];
			e += 2;
		}
		if ((size_t)(end - e) < l)
			break;
		if (id == wt->mid_ext_id)
			return member_by_mid(wt, e, l);
		e += l;
	}
	return -1;
}

static int member_by_pt(rg_webrtc *wt, unsigned pt)
{
	int found = -1;
	for (unsigned i = 0; i < wt->n_members; i++) {
		if (!(wt->members[i].pts[pt / 64] & (1ull << (pt % 64))))
			continue;
		if (found >= 0)
			return -1;     /* not unique within the bundle */
		found = (int)i;
	}
	return found;
}

static int member_by_ssrc(rg_webrtc *wt, uint32_t ssrc)
{
	for (unsigned i = 0; i < wt->n_bound; i++)
		if (wt->bound[i].ssrc == ssrc)
			return wt->bound[i].member;
	for (unsigned i = 0; i < wt->n_members; i++)
		for (unsigned k = 0; k < wt->members[i].n_ssrcs; k++)
			if (wt->members[i].ssrcs[k] == ssrc)
				return (int)i;
	return -1;
}

/* RTCP whose sender is unknown (a receiver-only SSRC): the member whose outgoing SSRC the first
 * report block is about. What we send to the party comes from the peer leg unchanged. */
static int member_by_report(rg_webrtc *wt, const uint8_t *p, size_t len)
{
	unsigned pt = p[1], rc = p[0] & 0x1f;
	size_t off = pt == 200 ? 28 : pt == 201 ? 8 : 0;
	if (!off || !rc || len < off + 24)   /* one whole report block */
		return -1;
	uint32_t src = rg_get_be32(p + off);
	for (unsigned i = 0; i < wt->n_members; i++) {
		rg_media *peer = wt->members[i].media->peer;
		if (peer && peer->rtp.seen_ssrc && peer->rtp.ssrc == src)
			return (int)i;
	}
	return -1;
}

rg_media *rg_webrtc_route(rg_webrtc *wt, const uint8_t *p, size_t len, bool is_rtcp)
{
	if (wt->n_members <= 1 || len < 12)
		return wt->media;
	uint32_t ssrc = rg_get_be32(p + (is_rtcp ? 4 : 8));
	int idx = member_by_ssrc(wt, ssrc);
	if (idx >= 0)
		return wt->members[idx].media;
	if (is_rtcp) {
		idx = member_by_report(wt, p, len);
	} else {
		idx = member_by_mid_ext(wt, p, len);
		if (idx < 0)
			idx = member_by_pt(wt, p[1] & 0x7f);
		if (idx >= 0) {
			/* remember the SSRC: later packets need neither the extension nor a unique PT */
			unsigned slot = wt->n_bound < G_N_ELEMENTS(wt->bound) ? wt->n_bound++ : wt->next_bound++ % G_N_ELEMENTS(wt->bound);
			wt->bound[slot].ssrc = ssrc;
			wt->bound[slot].member = (uint8_t)idx;
		}
	}
	if (idx < 0) {
		wt->bundle_unrouted++;
		return wt->media;
	}
	return wt->members[idx].media;
}

/* ---- SDP ---- */

static void set_role(rg_webrtc *wt, enum rg_dtls_role role)
{
	if (rg_dtls_get_role(wt->dtls) != RG_DTLS_ROLE_UNSET)
		return;
	rg_dtls_set_role(wt->dtls, role);
	if (role == RG_DTLS_PASSIVE && !wt->dtls_started) {
		wt->dtls_started = true;
		rg_dtls_start(wt->dtls);   /* waits for the ClientHello */
	}
	watch(wt);
}

const char *rg_webrtc_remote(rg_media *m, const sdp_session *s, const sdp_media *sm,
			     bool is_answer, const ng_req *r)
{
	rg_webrtc *wt = m->wrtc;
	member_from_sdp(wt, rg_webrtc_member(m), sm);
	if (m->wrtc_member) {
		/* the owner's m= line carries the transport; an answer that does not bundle this
		 * m= line with it leaves the m= line without one (rtpgate offers BUNDLE only) */
		if (is_answer && sm->port && rg_webrtc_bundle_tag(s, m->index - 1) != (int)wt->media->index - 1) {
			rg_clog(RG_LOG_WARN, wt->call->call_id, "media %u: the answer does not accept BUNDLE: no "
				"transport for it", m->index);
			ng_warn((ng_req *)r, "media %u: answer without BUNDLE: that media gets no packets", m->index);
		}
		return NULL;
	}
	const char *ufrag = attr_ms(s, sm, "ice-ufrag"), *pwd = attr_ms(s, sm, "ice-pwd");
	if (!ufrag || !pwd)
		return "WebRTC media without ICE credentials";
	int rs = rg_ice_set_remote_credentials(wt->ice, ufrag, pwd);
	if (rs < 0)
		return "Invalid ICE credentials";
	unsigned ncand = 0;
	for (guint i = 0; i < sm->attrs->len; i++) {
		sdp_attr *a = sm->attrs->pdata[i];
		if (strcmp(a->name, "candidate") == 0 && a->value) {
			char *line = g_strdup_printf("candidate:%s", a->value);
			if (rg_ice_add_remote_candidate(wt->ice, line) > 0)
				ncand++;
			else
				rg_clog(RG_LOG_DEBUG, wt->call->call_id, "ICE candidate ignored: %s", a->value);
			g_free(line);
		}
	}
	if (sdp_attr_has(sm->attrs, "end-of-candidates"))
		rg_ice_end_of_candidates(wt->ice);

	const char *fp = attr_ms(s, sm, "fingerprint");
	if (fp) {
		const char *sp = strchr(fp, ' ');
		if (!sp)
			return "Invalid a=fingerprint";
		char *algo = g_strndup(fp, (gsize)(sp - fp));
		int e = rg_dtls_set_peer_fingerprint(wt->dtls, algo, sp + 1);
		g_free(algo);
		if (e < 0)
			return "Invalid a=fingerprint";
	}
	const char *setup = attr_ms(s, sm, "setup");
	enum rg_dtls_setup peer = RG_DTLS_SETUP_ACTPASS;
	if (setup && rg_dtls_setup_parse(setup, strlen(setup), &peer) < 0)
		return "Invalid a=setup";
	if (is_answer) {
		/* the party answers our offer: its a=setup decides (RFC 5763 5) */
		enum rg_dtls_role role;
		if (rg_dtls_role_from_peer_setup(peer, &role) < 0)
			return "Unsupported a=setup in answer";
		set_role(wt, role);
	} else if (rg_dtls_get_role(wt->dtls) == RG_DTLS_ROLE_UNSET) {
		/* the party offers: we choose, and never start a handshake before it has our answer.
		 * actpass -> passive (the browser starts once it has our answer) unless DTLS=active. */
		bool want_active = rg_str_is_set(r->dtls) && rg_str_eq_c(r->dtls, "active");
		enum rg_dtls_role role = RG_DTLS_PASSIVE;
		if (peer == RG_DTLS_SETUP_PASSIVE || (peer == RG_DTLS_SETUP_ACTPASS && want_active))
			role = RG_DTLS_ACTIVE;
		wt->local_setup = role == RG_DTLS_ACTIVE ? RG_DTLS_SETUP_ACTIVE : RG_DTLS_SETUP_PASSIVE;
		set_role(wt, role);
	}
	rg_clog(RG_LOG_DEBUG, wt->call->call_id, "media %u: remote ICE %s, %u candidates%s", wt->media->index,
		ufrag, ncand, rs == 1 ? " (ICE restart)" : "");
	return NULL;
}

static const char *const transport_attrs[] = { "candidate", "ice-ufrag", "ice-pwd", "ice-options",
	"end-of-candidates", "remote-candidates", "ice-lite", "fingerprint", "setup", "crypto",
	"rtcp", "rtcp-mux", "tls-id" };

void rg_webrtc_strip_sdp(sdp_media *sm)
{
	for (size_t i = 0; i < G_N_ELEMENTS(transport_attrs); i++)
		if (strcmp(transport_attrs[i], "rtcp") && strcmp(transport_attrs[i], "rtcp-mux"))
			sdp_attr_remove(sm->attrs, transport_attrs[i]);
}

void rg_webrtc_write_sdp(rg_media *m, sdp_session *s, sdp_media *sm, bool is_answer, const ng_req *r)
{
	rg_webrtc *wt = m->wrtc;
	rg_bundle_member *bm = rg_webrtc_member(m);
	for (size_t i = 0; i < G_N_ELEMENTS(transport_attrs); i++)
		sdp_attr_remove(sm->attrs, transport_attrs[i]);
	sdp_attr_remove(s->attrs, "fingerprint");
	sdp_attr_remove(s->attrs, "setup");
	sdp_attr_remove(s->attrs, "ice-lite");
	if (!strstr(sm->proto, "SAVP")) {
		g_free(sm->proto);
		sm->proto = g_strdup("UDP/TLS/RTP/SAVPF");
	}
	char **cands = rg_ice_local_candidates(wt->ice);
	/* m= port and c= from our first (host) candidate: "candidate:F 1 UDP PRIO ADDR PORT typ host" */
	if (cands && cands[0]) {
		gchar **f = g_strsplit(cands[0], " ", 8);
		if (g_strv_length(f) >= 6) {
			sm->port = (unsigned)atoi(f[5]);
			sdp_conn_set(&sm->conn, strchr(f[4], ':') ? "IP6" : "IP4", f[4]);
		}
		g_strfreev(f);
	}
	/* the full form of RFC 3605: some WebRTC stacks (aiortc) require the address */
	char v[96];
	snprintf(v, sizeof(v), "%u IN %s %s", sm->port, sm->conn.addrtype ? sm->conn.addrtype : "IP4",
		 sm->conn.addr ? sm->conn.addr : "0.0.0.0");
	sdp_attr_add(sm->attrs, "rtcp", v);
	/* a=mid: the party's own in an answer; one of ours in an offer (browsers need it) */
	if (!sdp_attr_has(sm->attrs, "mid")) {
		char mid[16];
		snprintf(mid, sizeof(mid), "%u", m->index - 1);
		sdp_attr_add(sm->attrs, "mid", is_answer && bm && bm->mid ? bm->mid : mid);
	}
	char *ufrag = NULL, *pwd = NULL;
	rg_ice_local_credentials(wt->ice, &ufrag, &pwd);
	sdp_attr_add(sm->attrs, "ice-ufrag", ufrag);
	sdp_attr_add(sm->attrs, "ice-pwd", pwd);
	g_free(ufrag);
	g_free(pwd);
	char *fp = g_strdup_printf("sha-256 %s", cert_fp);
	sdp_attr_add(sm->attrs, "fingerprint", fp);
	g_free(fp);
	enum rg_dtls_setup setup = wt->local_setup;
	if (!is_answer && rg_dtls_get_role(wt->dtls) == RG_DTLS_ROLE_UNSET) {
		/* our offer is always actpass (RFC 5763 5): the answer decides who is client, and no
		 * handshake starts before it (DTLS=passive/active only matter when we answer) */
		setup = RG_DTLS_SETUP_ACTPASS;
		wt->local_setup = setup;
	} else if (is_answer && setup == RG_DTLS_SETUP_ACTPASS) {
		/* we offered actpass and the party's answer fixed the roles: our answer to its
		 * re-offer states the role we have (an answer never says actpass, RFC 5763 5) */
		setup = rg_dtls_get_role(wt->dtls) == RG_DTLS_ACTIVE ? RG_DTLS_SETUP_ACTIVE : RG_DTLS_SETUP_PASSIVE;
	}
	sdp_attr_add(sm->attrs, "setup", rg_dtls_setup_name(setup));
	sdp_attr_add(sm->attrs, "rtcp-mux", NULL);
	for (char **c = cands; c && *c; c++)
		sdp_attr_add(sm->attrs, "candidate", g_str_has_prefix(*c, "candidate:") ? *c + 10 : *c);
	sdp_attr_add(sm->attrs, "end-of-candidates", NULL);
	if (wt->lite && !sdp_attr_has(s->attrs, "ice-lite"))
		sdp_attr_add(s->attrs, "ice-lite", NULL);
	g_strfreev(cands);
}

/* ---- media toward the party ---- */

int rg_webrtc_send(rg_webrtc *wt, uint8_t *buf, size_t len, size_t cap, bool is_rtcp)
{
	if (!wt->srtp || !wt->ice)
		return -ENOTCONN;
	int r = is_rtcp ? rg_srtp_protect_rtcp(wt->srtp, buf, &len, cap)
			: rg_srtp_protect_rtp(wt->srtp, buf, &len, cap);
	if (r < 0)
		return r;
	struct iovec iov = { buf, len };
	return rg_ice_send(wt->ice, 1, &iov, 1) == 1 ? 0 : -EIO;
}
