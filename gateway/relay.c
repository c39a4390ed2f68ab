#include "relay.h"
#include "codec_neg.h"
#include "log.h"
#include "player.h"
#include "repack.h"
#include "recording.h"
#include "transcode.h"
#include "rtp.h"
#include "sdes.h"
#include "webrtc.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

struct rg_relay_ctx {
	rg_worker *w;
	struct mmsghdr in[RG_RELAY_BATCH];
	struct iovec in_iov[RG_RELAY_BATCH];
	struct sockaddr_storage from[RG_RELAY_BATCH];
	struct mmsghdr out[RG_RELAY_BATCH];
	struct iovec out_iov[RG_RELAY_BATCH];
	struct sockaddr_storage to[RG_RELAY_BATCH];
	uint8_t buf[RG_RELAY_BATCH][RG_RELAY_MTU];
};

rg_relay_ctx *rg_relay_ctx_new(rg_worker *w)
{
	rg_relay_ctx *c = g_new0(rg_relay_ctx, 1);
	c->w = w;
	for (int i = 0; i < RG_RELAY_BATCH; i++) {
		c->in_iov[i].iov_base = c->buf[i];
		c->in_iov[i].iov_len = RG_RELAY_MTU;
		c->in[i].msg_hdr.msg_iov = &c->in_iov[i];
		c->in[i].msg_hdr.msg_iovlen = 1;
		c->out[i].msg_hdr.msg_iov = &c->out_iov[i];
		c->out[i].msg_hdr.msg_iovlen = 1;
		c->out[i].msg_hdr.msg_name = &c->to[i];
	}
	return c;
}

void rg_relay_ctx_free(rg_relay_ctx *ctx)
{
	g_free(ctx);
}

static bool sa_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

static void flush(rg_relay_ctx *ctx, rg_sock *out, unsigned n)
{
	unsigned done = 0;
	while (done < n) {
		int r = sendmmsg(out->fd, ctx->out + done, n - done, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* Skip the failing packet (e.g. unreachable destination) and go on. */
			ctx->w->ctr[RG_CTR_DROP_SEND]++;
			done++;
			continue;
		}
		done += (unsigned)r;
	}
}

/* Learn or check the packet's source. Returns false to drop. */
static bool check_source(rg_worker *w, rg_stream *st, const struct sockaddr_storage *from, socklen_t flen)
{
	rg_media *m = st->media;
	if (!st->latched) {
		st->learned.ss = *from;
		st->learned.len = flen;
		st->learned.set = true;
		st->latched = true;
		return true;
	}
	if (sa_eq(&st->learned.ss, from))
		return true;
	if (m->media_handover) {
		st->learned.ss = *from;
		st->learned.len = flen;
		return true;
	}
	if (m->strict_source) {
		w->ctr[RG_CTR_DROP_SOURCE]++;
		return false;
	}
	return true;
}

/* Where a packet for the peer's stream goes: the learned source unless asymmetric, else the SDP. */
static const rg_endpoint *destination(const rg_stream *st)
{
	if (st->latched && !st->media->asymmetric)
		return &st->learned;
	if (st->sdp_ep.set)
		return &st->sdp_ep;
	return NULL;
}

/* Quality from RTCP passing through (RFC 3550 6.4): the receiver reports of party m tell how
 * the peer's stream reached m; an SR forwarded to the peer is remembered so that the peer's
 * later LSR/DLSR gives the round trip between rtpgate and the peer (6.4.1, "A-LSR-DLSR"). */
static void rtcp_account(rg_media *m, rg_media *peer, const rtcp_info *ri)
{
	int64_t now = -1;
	if (ri->n_reports > 0) {
		const rtcp_report *rep = &ri->reports[0];
		m->rr_jitter = rep->jitter;
		m->rr_lost = rep->cumulative_lost < 0 ? 0 : (uint32_t)rep->cumulative_lost;
		m->rr_fraction = rep->fraction_lost;
		m->rr_seen = true;
		if (rep->lsr) {
			for (unsigned i = 0; i < G_N_ELEMENTS(m->sr_sent); i++) {
				if (m->sr_sent[i].lsr != rep->lsr || !m->sr_sent[i].t_us)
					continue;
				now = rg_mono_us();
				int64_t rtt = now - m->sr_sent[i].t_us - (int64_t)rep->dlsr * 1000000 / 65536;
				if (rtt >= 0)
					m->rtt_us = rtt;
				break;
			}
		}
	}
	/* a transcoded media's SRs are not forwarded: the peer gets ours (transcode.c) */
	if (ri->has_sr && peer && !(m->codecs && m->codecs->xc)) {
		if (now < 0)
			now = rg_mono_us();
		peer->sr_sent[peer->sr_next].lsr = (uint32_t)(ri->sr_ntp >> 16);
		peer->sr_sent[peer->sr_next].t_us = now;
		peer->sr_next = (peer->sr_next + 1) % G_N_ELEMENTS(peer->sr_sent);
	}
}

/* A validated packet of media m (plaintext, after any SRTP unprotect), on both entry paths: into
 * the recording, then dropped (no peer yet, or a prompt plays to the peer's party: muted), or
 * taken by the transcoder (RTP; the party's RTCP only feeds our own reports, it describes its
 * stream, not ours) or the rtpproxy Z repacketizer. false: forward it as it is. from/s: where it
 * came from on a plain socket, NULL on a WebRTC leg. */
static bool divert(rg_worker *w, rg_media *m, uint8_t *buf, size_t len, bool is_rtcp, const rtp_info *ri,
		   const rtcp_info *rci, const struct sockaddr_storage *from, rg_sock *s)
{
	rg_call *call = m->party->call;
	if (call->rec)
		rg_rec_packet(w, call->rec, m, buf, len, is_rtcp, from, s);
	rg_media *peer = m->peer;
	if (!peer || peer->rejected) {
		w->ctr[RG_CTR_DROP_NO_PEER]++;
		return true;
	}
	if (rg_player_active(peer)) {
		w->ctr[RG_CTR_DROP_MUTED]++;
		return true;
	}
	if (m->codecs && m->codecs->xc) {
		if (!is_rtcp)
			rg_transcode_rtp(w, m, buf, ri);
		else
			rg_transcode_rtcp_in(m, rci);
		return true;
	}
	if (m->repack && !is_rtcp) {
		rg_repack_rtp(w, m, buf, ri);
		return true;
	}
	return false;
}

void rg_relay_readable(rg_relay_ctx *ctx, rg_sock *s)
{
	rg_worker *w = ctx->w;
	for (int i = 0; i < RG_RELAY_BATCH; i++) {
		ctx->in[i].msg_hdr.msg_name = &ctx->from[i];
		ctx->in[i].msg_hdr.msg_namelen = sizeof(ctx->from[i]);
		ctx->in[i].msg_hdr.msg_flags = 0;
	}
	int n = recvmmsg(s->fd, ctx->in, RG_RELAY_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;

	rg_call *call = s->call;
	g_mutex_lock(&call->lock);
	if (call->dead || !s->stream) {
		g_mutex_unlock(&call->lock);
		return;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME_COARSE, &now);
	rg_stream *in_st = s->stream;
	rg_media *m = in_st->media;
	rg_media *peer = m->peer;
	rg_sock *cur_out = NULL;
	unsigned nout = 0;

	for (int i = 0; i < n; i++) {
		struct msghdr *h = &ctx->in[i].msg_hdr;
		unsigned len = ctx->in[i].msg_len;
		const uint8_t *p = ctx->buf[i];
		rg_stream *st = in_st;

		if (h->msg_flags & MSG_TRUNC) {
			w->ctr[RG_CTR_DROP_OVERSIZE]++;
			st->errors++;
			continue;
		}
		bool is_rtcp = in_st->is_rtcp || (m->rtcp_mux && rtp_is_rtcp(p, len));
		if (is_rtcp && !in_st->is_rtcp)
			st = &m->rtcp;      /* muxed RTCP: count and learn on the RTCP stream */
		if (m->sdes && m->sdes->srtp) {
			/* SDES-SRTP leg: authenticate and decrypt in place (RFC 3711 3.3, 3.4) */
			size_t l = len;
			int e = is_rtcp ? rg_srtp_unprotect_rtcp(m->sdes->srtp, ctx->buf[i], &l)
					: rg_srtp_unprotect_rtp(m->sdes->srtp, ctx->buf[i], &l);
			if (e < 0) {
				w->ctr[RG_CTR_DROP_SRTP]++;
				st->errors++;
				continue;
			}
			len = (unsigned)l;
		}
		rtp_info ri;
		rtcp_info rci;
		if (is_rtcp) {
			if (rtcp_parse(p, len, &rci) < 0) {
				w->ctr[RG_CTR_DROP_MALFORMED]++;
				st->errors++;
				continue;
			}
			rtcp_account(m, peer, &rci);
		} else {
			if (rtp_parse(p, len, &ri) < 0) {
				w->ctr[RG_CTR_DROP_MALFORMED]++;
				st->errors++;
				continue;
			}
			st->ssrc = ri.ssrc;
			st->seen_ssrc = true;
		}
		if (!check_source(w, st, &ctx->from[i], h->msg_namelen)) {
			st->errors++;
			continue;
		}
		st->packets++;
		st->bytes += len;
		st->last_packet = now.tv_sec;
		if (divert(w, m, ctx->buf[i], len, is_rtcp, &ri, &rci, &ctx->from[i], s))
			continue;
		if (peer->wrtc) {
			/* toward a WebRTC leg: SRTP-protect in place and send on the ICE pair */
			if (rg_webrtc_send(peer->wrtc, ctx->buf[i], len, RG_RELAY_MTU, is_rtcp) < 0)
				w->ctr[RG_CTR_DROP_NO_PEER]++;
			else {
				w->ctr[RG_CTR_PKT_RELAYED]++;
				w->ctr[RG_CTR_BYTES_RELAYED] += len;
			}
			continue;
		}
		rg_stream *ost = (is_rtcp && !peer->rtcp_mux) ? &peer->rtcp : &peer->rtp;
		const rg_endpoint *dst = destination(ost);
		rg_sock *out = ost->sock;
		if (peer->sdes && dst && out) {
			size_t l = len;
			if (!peer->sdes->srtp ||
			    (is_rtcp ? rg_srtp_protect_rtcp(peer->sdes->srtp, ctx->buf[i], &l, RG_RELAY_MTU)
				     : rg_srtp_protect_rtp(peer->sdes->srtp, ctx->buf[i], &l, RG_RELAY_MTU)) < 0) {
				w->ctr[RG_CTR_DROP_NO_PEER]++;
				continue;
			}
			len = (unsigned)l;
		}
		if (!dst || !out) {
			w->ctr[RG_CTR_DROP_NO_PEER]++;
			continue;
		}
		if (cur_out && out != cur_out) {
			flush(ctx, cur_out, nout);
			nout = 0;
		}
		cur_out = out;
		struct mmsghdr *o = &ctx->out[nout];
		ctx->to[nout] = dst->ss;
		o->msg_hdr.msg_namelen = dst->len;
		ctx->out_iov[nout].iov_base = (void *)p;
		ctx->out_iov[nout].iov_len = len;
		nout++;
		w->ctr[RG_CTR_PKT_RELAYED]++;
		w->ctr[RG_CTR_BYTES_RELAYED] += len;
	}
	if (nout)
		flush(ctx, cur_out, nout);
	g_mutex_unlock(&call->lock);
}

void rg_relay_forward(rg_worker *w, rg_media *m, uint8_t *buf, size_t len, size_t cap, bool is_rtcp)
{
	rg_stream *st = is_rtcp ? &m->rtcp : &m->rtp;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME_COARSE, &now);
	rtp_info ri;
	rtcp_info rci;
	if (is_rtcp) {
		if (rtcp_parse(buf, len, &rci) < 0) {
			w->ctr[RG_CTR_DROP_MALFORMED]++;
			st->errors++;
			return;
		}
		rtcp_account(m, m->peer, &rci);
	} else {
		if (rtp_parse(buf, len, &ri) < 0) {
			w->ctr[RG_CTR_DROP_MALFORMED]++;
			st->errors++;
			return;
		}
		st->ssrc = ri.ssrc;
		st->seen_ssrc = true;
	}
	st->packets++;
	st->bytes += len;
	st->last_packet = now.tv_sec;
	/* a WebRTC leg's packet, after SRTP unprotect: no socket of ours, the ICE pair's addresses */
	if (divert(w, m, buf, len, is_rtcp, &ri, &rci, NULL, NULL))
		return;
	rg_relay_send(w, m->peer, buf, len, cap, is_rtcp);
}

int rg_relay_send(rg_worker *w, rg_media *peer, uint8_t *buf, size_t len, size_t cap, bool is_rtcp)
{
	if (peer->rejected) {
		w->ctr[RG_CTR_DROP_NO_PEER]++;
		return -1;
	}
	if (peer->wrtc) {
		if (rg_webrtc_send(peer->wrtc, buf, len, cap, is_rtcp) < 0) {
			w->ctr[RG_CTR_DROP_NO_PEER]++;
			return -1;
		}
	} else {
		rg_stream *ost = (is_rtcp && !peer->rtcp_mux) ? &peer->rtcp : &peer->rtp;
		const rg_endpoint *dst = destination(ost);
		if (!dst || !ost->sock) {
			w->ctr[RG_CTR_DROP_NO_PEER]++;
			return -1;
		}
		if (peer->sdes) {
			if (!peer->sdes->srtp ||
			    (is_rtcp ? rg_srtp_protect_rtcp(peer->sdes->srtp, buf, &len, cap)
				     : rg_srtp_protect_rtp(peer->sdes->srtp, buf, &len, cap)) < 0) {
				w->ctr[RG_CTR_DROP_NO_PEER]++;
				return -1;
			}
		}
		if (sendto(ost->sock->fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)&dst->ss, dst->len) < 0) {
			w->ctr[RG_CTR_DROP_SEND]++;
			return -1;
		}
	}
	w->ctr[RG_CTR_PKT_RELAYED]++;
	w->ctr[RG_CTR_BYTES_RELAYED] += len;
	return 0;
}
