#include "repack.h"
#include "bytes.h"
#include "log.h"
#include "relay.h"

#include <stdlib.h>
#include <string.h>

#define REPACK_MAX_MS 120
#define REPACK_TRAILER_ROOM 64   /* SRTP tag and index when the peer leg is SRTP */

struct rg_repack {
	uint8_t pt;
	unsigned frame;             /* octets (= clock ticks) per output packet */
	bool have;                  /* buf holds audio starting at ts */
	uint32_t ts, ssrc;
	size_t len;
	uint8_t hdr0;               /* V/P/X/CC of the input (CSRCs are not carried) */
	bool marker;
	bool seq_started;
	uint16_t seq;
	uint8_t buf[8 * REPACK_MAX_MS];
	uint8_t out[12 + 8 * REPACK_MAX_MS + REPACK_TRAILER_ROOM];
};

int rg_repack_pick_pt(const char *pt_list)
{
	if (!pt_list)
		return -1;
	for (const char *p = pt_list; *p;) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		if (v == 0 || v == 8 || v == 9)
			return (int)v;
		p = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			break;
	}
	return -1;
}

const char *rg_repack_set(rg_media *m, int pt, unsigned ptime_ms)
{
	if (pt != 0 && pt != 8 && pt != 9)
		return "repacketization is for PCMU, PCMA and G.722 (payload types 0, 8, 9)";
	if (ptime_ms < 10 || ptime_ms > REPACK_MAX_MS)
		return "repacketization to 10-120 ms";
	rg_repack *rp = m->repack ? m->repack : g_new0(rg_repack, 1);
	rp->pt = (uint8_t)pt;
	rp->frame = 8 * ptime_ms;   /* 8000 Hz RTP clock, G.722 included */
	rp->have = false;
	rp->len = 0;
	m->repack = rp;
	return NULL;
}

void rg_repack_free(rg_repack *rp)
{
	g_free(rp);
}

/* Send the first n octets of the buffer as one packet and keep the rest. */
static void emit(rg_worker *w, rg_media *m, rg_repack *rp, size_t n)
{
	uint8_t *o = rp->out;
	o[0] = (uint8_t)(0x80);
	o[1] = (uint8_t)((rp->marker ? 0x80 : 0) | rp->pt);
	rg_put_be16(o + 2, rp->seq++);
	rg_put_be32(o + 4, rp->ts);
	rg_put_be32(o + 8, rp->ssrc);
	memcpy(o + 12, rp->buf, n);
	rp->marker = false;
	memmove(rp->buf, rp->buf + n, rp->len - n);
	rp->len -= n;
	rp->ts += (uint32_t)n;
	if (m->peer)
		rg_relay_send(w, m->peer, o, 12 + n, sizeof(rp->out), false);
}

void rg_repack_rtp(rg_worker *w, rg_media *m, const uint8_t *pkt, const rtp_info *ri)
{
	rg_repack *rp = m->repack;
	if (ri->pt != rp->pt || ri->payload_len > sizeof(rp->buf)) {
		/* another payload type (telephone-event, CN): as it came, after what is buffered */
		if (rp->len)
			emit(w, m, rp, rp->len);
		rp->have = false;
		size_t n = ri->hdr_len + ri->payload_len + ri->padding_len;
		if (m->peer && n <= sizeof(rp->out) - REPACK_TRAILER_ROOM) {
			memcpy(rp->out, pkt, n);
			rg_relay_send(w, m->peer, rp->out, n, sizeof(rp->out), false);
		}
		return;
	}
	if (!rp->seq_started) {
		rp->seq_started = true;
		rp->seq = ri->seq;
	}
	bool contiguous = rp->have && ri->ssrc == rp->ssrc && ri->ts == rp->ts + (uint32_t)rp->len;
	if (!contiguous) {
		/* a new stream, a gap or reordering: what is buffered goes out short, start again here */
		if (rp->len)
			emit(w, m, rp, rp->len);
		rp->have = true;
		rp->ts = ri->ts;
		rp->ssrc = ri->ssrc;
		rp->marker = ri->marker;
		rp->len = 0;
	}
	if (!rp->len && ri->payload_len == rp->frame && !ri->csrc_count && !ri->has_ext && !ri->padding_len) {
		/* already of the asked duration, nothing waiting: as it came (its own sequence number) */
		size_t n = 12 + ri->payload_len;
		memcpy(rp->out, pkt, n);
		rp->seq = (uint16_t)(ri->seq + 1);
		rp->ts = ri->ts + (uint32_t)rp->frame;
		rp->marker = false;
		if (m->peer)
			rg_relay_send(w, m->peer, rp->out, n, sizeof(rp->out), false);
		return;
	}
	size_t take = ri->payload_len;
	const uint8_t *p = pkt + ri->hdr_len;
	while (take) {
		size_t k = sizeof(rp->buf) - rp->len < take ? sizeof(rp->buf) - rp->len : take;
		memcpy(rp->buf + rp->len, p, k);
		rp->len += k;
		p += k;
		take -= k;
		while (rp->len >= rp->frame)
			emit(w, m, rp, rp->frame);
	}
}
