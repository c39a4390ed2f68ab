/* Call statistics in the shape of rtpengine's query/delete replies (what Kamailio reads:
 * totals.RTP/RTCP for $rtpstat, created, SSRC MOS dicts, tags.*.medias[].streams[]).
 * Caller holds the call lock. */
#include "ng.h"
#include "codec_neg.h"
#include "transcode.h"
#include "webrtc.h"

#include <math.h>
#include <stdio.h>

static void endpoint(be_buf *b, const char *key, const rg_endpoint *ep)
{
	char a[64];
	unsigned port;
	be_key(b, key);
	be_dict_open(b);
	if (ep->set) {
		rg_endpoint_format(ep, a, sizeof(a), &port);
		be_kv_cstr(b, "family", ep->ss.ss_family == AF_INET6 ? "IPv6" : "IPv4");
		be_kv_cstr(b, "address", a);
		be_kv_int(b, "port", port);
	}
	be_close(b);
}

static void stream(be_buf *b, const rg_media *m, const rg_stream *st)
{
	be_dict_open(b);
	if (st->sock) {
		be_kv_int(b, "local port", st->sock->port);
		be_kv_cstr(b, "local address", st->sock->iface->addr);
		be_kv_cstr(b, "family", st->sock->iface->family == AF_INET6 ? "IPv6" : "IPv4");
	}
	endpoint(b, "endpoint", st->latched ? &st->learned : &st->sdp_ep);
	endpoint(b, "advertised endpoint", &st->sdp_ep);
	be_kv_int(b, "last packet", __atomic_load_n(&st->last_packet, __ATOMIC_RELAXED));
	be_key(b, "flags");
	be_list_open(b);
	be_cstr(b, st->is_rtcp ? "RTCP" : "RTP");
	if (st->sdp_ep.set)
		be_cstr(b, "filled");
	if (st->latched)
		be_cstr(b, "confirmed");
	if (m->strict_source)
		be_cstr(b, "strict source address");
	if (m->media_handover)
		be_cstr(b, "media handover");
	be_close(b);
	if (st->seen_ssrc)
		be_kv_int(b, "SSRC", st->ssrc);
	be_key(b, "stats");
	be_dict_open(b);
	be_kv_int(b, "packets", (int64_t)__atomic_load_n(&st->packets, __ATOMIC_RELAXED));
	be_kv_int(b, "bytes", (int64_t)__atomic_load_n(&st->bytes, __ATOMIC_RELAXED));
	be_kv_int(b, "errors", (int64_t)__atomic_load_n(&st->errors, __ATOMIC_RELAXED));
	be_close(b);
	be_close(b);
}

/* Codec information of a media (what the party sends): "codec" as rtpengine reports it, and when
 * the party's RTP is transcoded, "transcoding": from which codec to which, the ptime of our packets
 * and the transcoder's counters. */
static void codecs(be_buf *b, const rg_media *m)
{
	const rg_media_codecs *mc = m->codecs;
	char s[96];
	if (!mc)
		return;
	const rg_cn_codec *c = mc->xc ? mc->xc_from : NULL;
	/* relayed: the party's first audio codec its peer has too (else its first) */
	const GPtrArray *peer_own = m->peer && m->peer->codecs ? m->peer->codecs->own : NULL;
	for (guint i = 0; !c && mc->own && i < mc->own->len; i++) {
		const rg_cn_codec *k = mc->own->pdata[i];
		if (k->event)
			continue;
		for (guint j = 0; peer_own && j < peer_own->len && !c; j++) {
			const rg_cn_codec *p = peer_own->pdata[j];
			if (g_ascii_strcasecmp(p->name, k->name) == 0 && p->rate == k->rate)
				c = k;
		}
	}
	for (guint i = 0; !c && mc->own && i < mc->own->len; i++)
		if (!((const rg_cn_codec *)mc->own->pdata[i])->event)
			c = mc->own->pdata[i];
	if (c)
		be_kv_cstr(b, "codec", rg_cn_codec_str(c, s, sizeof(s)));
	if (!mc->xc || !mc->xc_from || !mc->xc_to)
		return;
	rg_transcoder_stats st;
	rg_transcoder_get_stats(mc->xc, &st);
	be_key(b, "transcoding");
	be_dict_open(b);
	be_kv_cstr(b, "from", rg_cn_codec_str(mc->xc_from, s, sizeof(s)));
	be_kv_int(b, "from payload type", mc->xc_from->pt);
	be_kv_cstr(b, "to", rg_cn_codec_str(mc->xc_to, s, sizeof(s)));
	be_kv_int(b, "to payload type", mc->xc_to->pt);
	if (mc->xc_also) {
		/* the party's other codecs, transcoded too when it switches to them */
		be_key(b, "also from");
		be_list_open(b);
		for (guint i = 0; i < mc->xc_also->len; i++) {
			const rg_cn_codec *k = mc->xc_also->pdata[i];
			char e[112];
			int pass = rg_transcoder_pass_pt(mc->xc, k->pt);
			if (pass >= 0)
				snprintf(e, sizeof(e), "%s (payload type %d, passed through as %d)",
					 rg_cn_codec_str(k, s, sizeof(s)), k->pt, pass);
			else
				snprintf(e, sizeof(e), "%s (payload type %d)", rg_cn_codec_str(k, s, sizeof(s)), k->pt);
			be_cstr(b, e);
		}
		be_close(b);
	}
	be_kv_int(b, "ptime", mc->xc_ptime);
	be_kv_int(b, "SSRC", st.ssrc);
	be_kv_int(b, "packets in", (int64_t)st.packets_in);
	be_kv_int(b, "packets out", (int64_t)st.packets_out);
	be_kv_int(b, "dropped", (int64_t)st.dropped);
	be_kv_int(b, "errors", (int64_t)st.errors);
	be_kv_int(b, "CN in", (int64_t)st.cn_in);
	be_kv_int(b, "gaps filled", (int64_t)st.fill_periods);
	be_kv_int(b, "packets filled", (int64_t)st.fill_packets);
	be_kv_int(b, "DTX frames not sent", (int64_t)st.dtx_out);
	be_kv_int(b, "SSRC changes", (int64_t)st.ssrc_changes);
	be_kv_int(b, "timestamp jumps", (int64_t)st.ts_jumps);
	be_kv_int(b, "codec switches", (int64_t)st.codec_switches);
	be_kv_int(b, "packets passed through", (int64_t)st.passed);
	be_close(b);
}

static void media(be_buf *b, const rg_media *m)
{
	be_dict_open(b);
	be_kv_int(b, "index", m->index);
	be_kv_cstr(b, "type", m->type ? m->type : "");
	be_kv_cstr(b, "protocol", m->proto ? m->proto : "");
	be_key(b, "flags");
	be_list_open(b);
	be_cstr(b, "initialized");
	if (m->asymmetric)
		be_cstr(b, "asymmetric");
	if (m->dir == SDP_SENDRECV || m->dir == SDP_SENDONLY)
		be_cstr(b, "send");
	if (m->dir == SDP_SENDRECV || m->dir == SDP_RECVONLY)
		be_cstr(b, "recv");
	if (m->rtcp_mux || m->wrtc)
		be_cstr(b, "rtcp-mux");
	if (m->wrtc) {
		be_cstr(b, "ICE");
		be_cstr(b, "DTLS-SRTP");
		if (m->wrtc->controlling)
			be_cstr(b, "ICE controlling");
		enum rg_dtls_role role = rg_dtls_get_role(m->wrtc->dtls);
		if (role == RG_DTLS_ACTIVE)
			be_cstr(b, "DTLS role active");
		else if (role == RG_DTLS_PASSIVE)
			be_cstr(b, "DTLS role passive");
	}
	if (m->sdes)
		be_cstr(b, "SDES");
	const rg_media_codecs *mc = m->codecs;
	if (mc && mc->xc)
		be_cstr(b, "transcoding");
	be_close(b);
	codecs(b, m);
	be_key(b, "streams");
	be_list_open(b);
	stream(b, m, &m->rtp);
	if (!m->rtcp_mux)
		stream(b, m, &m->rtcp);
	be_close(b);
	be_close(b);
}

/* A MOS estimate from what RTCP receiver reports said about a leg: E-model R from loss and
 * jitter (ITU-T G.107 simplified, G.711), mapped to MOS x10 as rtpengine reports it. */
static int64_t mos_x10(const rg_media *m)
{
	double loss = m->rr_fraction * 100.0 / 256.0;
	double jitter_ms = m->rr_jitter / 8.0;
	double delay = jitter_ms * 2 + 10 + m->rtt_us / 2000.0;
	double r = 93.2 - (delay < 160 ? delay / 40 : (delay - 120) / 10) - 2.5 * loss;
	if (r < 0)
		r = 0;
	double mos = 1 + 0.035 * r + 0.000007 * r * (r - 60) * (100 - r);
	if (mos > 4.5)
		mos = 4.5;
	return (int64_t)lround(mos * 10);
}

void ng_stats_call(be_buf *b, rg_call *c)
{
	be_kv_int(b, "created", c->created);
	be_kv_int(b, "created_us", c->created_us);
	be_kv_int(b, "last signal", c->last_signal);
	uint64_t tot[2][3] = { { 0 } };

	be_key(b, "SSRC");
	be_dict_open(b);
	for (guint i = 0; i < c->parties->len; i++) {
		rg_party *p = c->parties->pdata[i];
		for (guint j = 0; j < p->medias->len; j++) {
			rg_media *m = p->medias->pdata[j];
			if (!m->rtp.seen_ssrc || !m->peer || !m->peer->rr_seen)
				continue;
			/* quality of what this party sent, as reported by the receiving side's RTCP */
			const rg_media *rep = m->peer;
			char key[16];
			snprintf(key, sizeof(key), "%u", m->rtp.ssrc);
			be_key(b, key);
			be_dict_open(b);
			be_kv_int(b, "cumulative loss", rep->rr_lost);
			const char *names[] = { "average MOS", "lowest MOS", "highest MOS" };
			for (int k = 0; k < 3; k++) {
				be_key(b, names[k]);
				be_dict_open(b);
				be_kv_int(b, "MOS", mos_x10(rep));
				be_kv_int(b, "round-trip time", rep->rtt_us);
				be_kv_int(b, "round-trip time leg", rep->rtt_us);
				be_kv_int(b, "jitter", rep->rr_jitter / 8);
				be_kv_int(b, "packet loss", rep->rr_fraction * 100 / 256);
				if (k == 0)
					be_kv_int(b, "samples", 1);
				else
					be_kv_int(b, "reported at", c->last_signal);
				be_close(b);
			}
			be_close(b);
		}
	}
	be_close(b);

	be_key(b, "tags");
	be_dict_open(b);
	for (guint i = 0; i < c->parties->len; i++) {
		rg_party *p = c->parties->pdata[i];
		be_key(b, p->tag ? p->tag : "");
		be_dict_open(b);
		be_kv_cstr(b, "tag", p->tag ? p->tag : "");
		if (p->via_branch)
			be_kv_cstr(b, "via-branch", p->via_branch);
		if (p->label)
			be_kv_cstr(b, "label", p->label);
		be_kv_int(b, "created", p->created);
		be_key(b, "subscriptions");
		be_list_open(b);
		if (p->peer) {
			be_dict_open(b);
			be_kv_cstr(b, "tag", p->peer->tag ? p->peer->tag : "");
			be_kv_cstr(b, "type", "offer/answer");
			be_close(b);
		}
		be_close(b);
		be_key(b, "medias");
		be_list_open(b);
		for (guint j = 0; j < p->medias->len; j++) {
			rg_media *m = p->medias->pdata[j];
			media(b, m);
			const rg_stream *ss[2] = { &m->rtp, &m->rtcp };
			for (int k = 0; k < 2; k++) {
				tot[k][0] += __atomic_load_n(&ss[k]->packets, __ATOMIC_RELAXED);
				tot[k][1] += __atomic_load_n(&ss[k]->bytes, __ATOMIC_RELAXED);
				tot[k][2] += __atomic_load_n(&ss[k]->errors, __ATOMIC_RELAXED);
			}
		}
		be_close(b);
		be_close(b);
	}
	be_close(b);

	be_key(b, "totals");
	be_dict_open(b);
	const char *tn[2] = { "RTP", "RTCP" };
	for (int k = 0; k < 2; k++) {
		be_key(b, tn[k]);
		be_dict_open(b);
		be_kv_int(b, "packets", (int64_t)tot[k][0]);
		be_kv_int(b, "bytes", (int64_t)tot[k][1]);
		be_kv_int(b, "errors", (int64_t)tot[k][2]);
		be_close(b);
	}
	be_close(b);
}
