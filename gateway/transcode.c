#include "transcode.h"
#include "codec_neg.h"
#include "log.h"
#include "relay.h"

#include <errno.h>
#include <string.h>

/* SRTP adds up to 10 (auth tag) + 4 (SRTCP index) octets; keep room for more */
#define XC_TRAILER_ROOM 64

struct rg_transcoder {
	rg_pipeline *pipe;
	int in_pt;
	uint8_t out_pt;
	uint32_t ssrc, ts, last_inc;
	uint16_t seq;
	bool started;
	/* RFC 4733 telephone-event: passed through, payload type, clock and timestamp mapped */
	int ev_in_pt, ev_out_pt;
	unsigned ev_in_rate, ev_out_rate;
	bool ev_active;
	uint32_t ev_in_ts, ev_out_ts;
	uint64_t packets_in, packets_out, dropped, errors;
	uint8_t buf[RG_RELAY_MTU];   /* the output packet, built in place and protected in place */
};

rg_transcoder *rg_transcoder_new(const rg_codec_type *in_t, const char *in_fmtp, int in_pt,
				 const rg_codec_type *out_t, const char *out_fmtp, int out_pt,
				 unsigned out_ptime, const char **err)
{
	rg_codec_params ip, op;
	if (rg_codec_params_parse(in_t, in_fmtp, &ip) < 0)
		rg_codec_params_default(in_t, &ip);
	if (rg_codec_params_parse(out_t, out_fmtp, &op) < 0)
		rg_codec_params_default(out_t, &op);
	if (out_ptime && !rg_codec_frame_ms(out_t, out_ptime))
		out_ptime = 0;
	rg_transcoder *xc = g_new0(rg_transcoder, 1);
	int e = rg_pipeline_new(&xc->pipe, in_t, &ip, out_t, &op, out_ptime);
	if (e < 0 && out_ptime) /* a ptime the encoder cannot make: its default */
		e = rg_pipeline_new(&xc->pipe, in_t, &ip, out_t, &op, 0);
	if (e < 0) {
		g_free(xc);
		*err = e == -ENOTSUP ? "codec not supported for transcoding" : "cannot set up transcoding";
		return NULL;
	}
	xc->in_pt = in_pt;
	xc->ev_in_pt = xc->ev_out_pt = -1;
	xc->out_pt = (uint8_t)(out_pt & 0x7f);
	xc->ssrc = g_random_int();
	xc->seq = (uint16_t)g_random_int();
	xc->ts = g_random_int();
	return xc;
}

void rg_transcoder_free(rg_transcoder *xc)
{
	if (!xc)
		return;
	rg_pipeline_free(xc->pipe);
	g_free(xc);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

void rg_transcoder_continue(rg_transcoder *xc, const rg_transcoder *old)
{
	if (!old)
		return;
	xc->ssrc = old->ssrc;
	xc->seq = old->seq;
	xc->ts = old->ts;
	xc->last_inc = old->last_inc;
	xc->started = old->started;
}

void rg_transcoder_set_events(rg_transcoder *xc, int in_pt, unsigned in_rate, int out_pt, unsigned out_rate)
{
	xc->ev_in_pt = in_pt;
	xc->ev_out_pt = out_pt;
	xc->ev_in_rate = in_rate ? in_rate : 8000;
	xc->ev_out_rate = out_rate ? out_rate : 8000;
}

static void put_header(rg_transcoder *xc, bool marker, uint8_t pt, uint32_t ts)
{
	xc->buf[0] = 0x80;
	xc->buf[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	put16(xc->buf + 2, xc->seq);
	put32(xc->buf + 4, ts);
	put32(xc->buf + 8, xc->ssrc);
	xc->seq++;
	xc->packets_out++;
}

/* An RFC 4733 event packet: same events, durations in the output clock, the event's timestamp
 * placed where our audio stream is, our SSRC and sequence numbers. */
static void event_rtp(rg_worker *w, rg_media *m, rg_transcoder *xc, const uint8_t *pkt, const rtp_info *ri)
{
	const uint8_t *pl = pkt + ri->hdr_len;
	size_t n = ri->payload_len;
	if (n < 4 || n > sizeof(xc->buf) - 12 - XC_TRAILER_ROOM) {
		xc->errors++;
		return;
	}
	bool first = !xc->ev_active || ri->ts != xc->ev_in_ts;
	if (first) {
		xc->ev_active = true;
		xc->ev_in_ts = ri->ts;
		xc->ev_out_ts = xc->ts + (xc->started ? xc->last_inc : 0);
	}
	memcpy(xc->buf + 12, pl, n);
	for (size_t o = 0; o + 4 <= n; o += 4) {
		uint64_t d = (uint64_t)(pl[o + 2] << 8 | pl[o + 3]) * xc->ev_out_rate / xc->ev_in_rate;
		put16(xc->buf + 12 + o + 2, d > 0xffff ? 0xffff : (uint16_t)d);
	}
	put_header(xc, first, (uint8_t)xc->ev_out_pt, xc->ev_out_ts);
	if (m->peer)
		rg_relay_send(w, m->peer, xc->buf, 12 + n, sizeof(xc->buf), false);
}

void rg_transcode_rtp(rg_worker *w, rg_media *m, const uint8_t *pkt, const rtp_info *ri)
{
	rg_transcoder *xc = m->codecs->xc;
	if (xc->ev_in_pt >= 0 && (int)ri->pt == xc->ev_in_pt) {
		event_rtp(w, m, xc, pkt, ri);
		return;
	}
	if ((int)ri->pt != xc->in_pt) {
		xc->dropped++;   /* telephone-event, CN or a codec we do not transcode */
		return;
	}
	xc->packets_in++;
	int e = rg_pipeline_push(xc->pipe, pkt + ri->hdr_len, ri->payload_len, ri->ts);
	if (e < 0 && e != -EALREADY)
		xc->errors++;
	for (;;) {
		size_t plen;
		uint32_t inc;
		e = rg_pipeline_pull(xc->pipe, xc->buf + 12, sizeof(xc->buf) - 12 - XC_TRAILER_ROOM, &plen, &inc);
		if (e < 0)
			break;
		bool marker = !xc->started;
		if (xc->started)
			xc->ts += inc;
		xc->started = true;
		xc->last_inc = inc;
		put_header(xc, marker, xc->out_pt, xc->ts);
		if (m->peer)
			rg_relay_send(w, m->peer, xc->buf, 12 + plen, sizeof(xc->buf), false);
	}
}

void rg_transcoder_get_stats(const rg_transcoder *xc, rg_transcoder_stats *out)
{
	out->packets_in = xc->packets_in;
	out->packets_out = xc->packets_out;
	out->dropped = xc->dropped;
	out->errors = xc->errors;
	out->ssrc = xc->ssrc;
}
