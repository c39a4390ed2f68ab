/* payload_dtmf.c: RFC 4733 telephone-event payload: event blocks, the receive-side tracker and the
 * send-side generator. See rg_dtmf.h for the API. */
#include "rg_dtmf.h"

#include <errno.h>
#include <string.h>

/* RFC 4733 section 3.2, table of DTMF named events */
static const char dtmf_chars[16] = { '0', '1', '2', '3', '4', '5', '6', '7',
				     '8', '9', '*', '#', 'A', 'B', 'C', 'D' };

char rg_te_event_to_char(uint8_t event)
{
	return event <= RG_TE_EVENT_MAX_DTMF ? dtmf_chars[event] : 0;
}

int rg_te_char_to_event(char c)
{
	if (c >= 'a' && c <= 'd')
		c = (char)(c - 'a' + 'A');
	for (int i = 0; i <= RG_TE_EVENT_MAX_DTMF; i++)
		if (dtmf_chars[i] == c)
			return i;
	return -EINVAL;
}

/* ---- event block ---- */

int rg_te_parse(const uint8_t *p, size_t len, struct rg_te_event *ev)
{
	if (!p || !ev || len < RG_TE_BLOCK_LEN)
		return -EINVAL;
	/* RFC 4733 section 2.3: event(8) | E(1) R(1) volume(6) | duration(16), network order */
	ev->event = p[0];
	ev->end = p[1] & 0x80;            /* 2.3.2 */
	/* 2.3.3: R is reserved, ignored by the receiver */
	ev->volume = p[1] & 0x3f;         /* 2.3.4 */
	ev->duration = (uint16_t)(p[2] << 8 | p[3]); /* 2.3.5 */
	return 0;
}

int rg_te_build(const struct rg_te_event *ev, uint8_t *out, size_t size)
{
	if (!ev || ev->volume > 63)
		return -EINVAL;
	if (!out || size < RG_TE_BLOCK_LEN)
		return -ENOBUFS;
	out[0] = ev->event;
	out[1] = (uint8_t)((ev->end ? 0x80 : 0) | ev->volume); /* 2.3.3: R sent as zero */
	out[2] = (uint8_t)(ev->duration >> 8);
	out[3] = (uint8_t)ev->duration;
	return 0;
}

/* ---- tracker ---- */

/* A timestamp this far behind the current event is taken as a stream restart (new timestamp
 * base) rather than a late packet. */
#define TE_STALE_WINDOW 0x1000000

void rg_te_tracker_init(struct rg_te_tracker *tr, rg_te_digit_h *start_h, rg_te_digit_h *end_h,
			void *arg)
{
	if (!tr)
		return;
	memset(tr, 0, sizeof(*tr));
	tr->start_h = start_h;
	tr->end_h = end_h;
	tr->arg = arg;
}

static void tracker_end(struct rg_te_tracker *tr, bool forced)
{
	struct rg_te_digit d = {
		.event = tr->event,
		.digit = rg_te_event_to_char(tr->event),
		.volume = tr->volume,
		.timestamp = tr->start_ts,
		.duration = tr->seg_base + tr->seg_dur,
		.forced = forced,
	};
	/* state first: the callback sees a consistent tracker */
	tr->active = false;
	tr->have_ended = true;
	tr->ended_event = tr->event;
	tr->ended_seg_ts = tr->seg_ts;
	if (tr->end_h)
		tr->end_h(&d, tr->arg);
}

static bool is_stale(int32_t d)
{
	return d < 0 && d > -TE_STALE_WINDOW;
}

static void tracker_block(struct rg_te_tracker *tr, uint32_t ts, bool marker,
			  const struct rg_te_event *ev)
{
	if (tr->active) {
		int32_t d = (int32_t)(ts - tr->seg_ts);
		if (d == 0 && ev->event == tr->event) {
			/* an update or a retransmission of the current segment (RFC 4733 sections
			 * 2.2.1 and 2.5.2: same timestamp, same event); durations only grow */
			if (ev->duration > tr->seg_dur)
				tr->seg_dur = ev->duration;
			tr->volume = ev->volume;
			if (ev->end)
				tracker_end(tr, false);
			return;
		}
		if (ev->event == tr->event && !marker && ts - tr->seg_ts == RG_TE_MAX_DURATION) {
			/* RFC 4733 section 2.5.1.3 (and 2.5.2): the next segment of a long event starts
			 * where the previous one reached its maximum duration; same event, no marker */
			tr->seg_base += RG_TE_MAX_DURATION;
			tr->seg_ts = ts;
			tr->seg_dur = ev->duration;
			tr->volume = ev->volume;
			if (ev->end)
				tracker_end(tr, false);
			return;
		}
		if (d == 0 || is_stale(d)) {
			/* late packet of an earlier segment or event, or a second event with the
			 * same start (concurrent events, section 2.5.1.6, are not tracked) */
			tr->stale++;
			return;
		}
		/* a new event while this one had not ended: its end packets were lost */
		tracker_end(tr, true);
	} else if (tr->have_ended) {
		int32_t d = (int32_t)(ts - tr->ended_seg_ts);
		if (d == 0) {
			/* RFC 4733 section 2.5.1.4: the final packet is sent three times */
			tr->duplicates++;
			return;
		}
		if (is_stale(d)) {
			tr->stale++;
			return;
		}
	}

	/* RFC 4733 section 2.2.1: the timestamp is the event's start; the first packet seen may
	 * not be the one with the marker (2.2.2) if that one was lost */
	tr->active = true;
	tr->event = ev->event;
	tr->volume = ev->volume;
	tr->start_ts = tr->seg_ts = ts;
	tr->seg_base = 0;
	tr->seg_dur = ev->duration;
	struct rg_te_digit s = {
		.event = ev->event,
		.digit = rg_te_event_to_char(ev->event),
		.volume = ev->volume,
		.timestamp = ts,
		.duration = ev->duration,
	};
	if (tr->start_h)
		tr->start_h(&s, tr->arg);
	if (ev->end && tr->active && tr->seg_ts == ts)
		tracker_end(tr, false);
}

int rg_te_tracker_input(struct rg_te_tracker *tr, uint32_t ts, bool marker, const uint8_t *payload,
			size_t len)
{
	if (!tr || !payload || len < RG_TE_BLOCK_LEN || len % RG_TE_BLOCK_LEN)
		return -EINVAL;
	tr->packets++;
	/* RFC 4733 section 2.5.1.5 (and 2.5.2): several events in one packet, in time order; the RTP
	 * timestamp is the first event's start, each next one starts where the previous one's
	 * duration ends */
	uint32_t bts = ts;
	for (size_t off = 0; off < len; off += RG_TE_BLOCK_LEN) {
		struct rg_te_event ev;
		if (rg_te_parse(payload + off, len - off, &ev)) /* cannot fail: len checked */
			return -EINVAL;
		tracker_block(tr, bts, marker, &ev);
		bts += ev.duration;
	}
	return 0;
}

void rg_te_tracker_expire(struct rg_te_tracker *tr, uint32_t now_ts, uint32_t timeout)
{
	if (!tr || !tr->active)
		return;
	uint32_t last = tr->seg_ts + tr->seg_dur;
	int32_t late = (int32_t)(now_ts - last);
	if (late > 0 && (uint32_t)late > timeout)
		tracker_end(tr, true);
}

void rg_te_tracker_flush(struct rg_te_tracker *tr)
{
	if (tr && tr->active)
		tracker_end(tr, true);
}

/* ---- generator ---- */

int rg_te_gen_start(struct rg_te_gen *g, uint8_t event, uint8_t volume, uint32_t start_ts,
		    uint32_t step, uint64_t duration)
{
	if (!g || volume > 63 || step == 0 || step > 0x7fff)
		return -EINVAL;
	memset(g, 0, sizeof(*g));
	g->event = event;
	g->volume = volume;
	g->step = step;
	g->seg_ts = start_ts;
	g->total = duration;
	return 0;
}

int rg_te_gen_stop(struct rg_te_gen *g, uint64_t duration)
{
	if (!g)
		return -EINVAL;
	if (g->final_sent)
		return -EALREADY;
	if (duration < g->reported)
		duration = g->reported;
	g->total = duration ? duration : 1;
	return 0;
}

static void gen_push(struct rg_te_gen *g, uint32_t ts, bool marker, uint64_t dur, bool end)
{
	struct rg_te_packet *p = &g->queue[(g->qhead + g->qlen) % 3];
	p->timestamp = ts;
	p->marker = marker;
	p->ev.event = g->event;
	p->ev.end = end;
	p->ev.volume = g->volume;
	p->ev.duration = (uint16_t)dur;
	p->offset = (uint32_t)(g->tick * g->step);
	g->qlen++;
}

/* Produce the packets of one update interval into the queue. */
static void gen_tick(struct rg_te_gen *g)
{
	if (g->close_left) {
		/* RFC 4733 section 2.5.1.4: the final packet of each segment too is sent three
		 * times */
		gen_push(g, g->close_ts, false, RG_TE_MAX_DURATION, false);
		g->close_left--;
	}
	if (g->final_sent) {
		/* RFC 4733 section 2.5.1.4: retransmissions of the final packet, same timestamp
		 * and duration */
		struct rg_te_packet *p = &g->queue[(g->qhead + g->qlen) % 3];
		*p = g->final;
		p->marker = false;
		p->offset = (uint32_t)(g->tick * g->step);
		g->qlen++;
		if (--g->end_left == 0)
			g->done = true;
		g->tick++;
		return;
	}

	/* RFC 4733 section 2.5.1.2: each update carries the duration since the event start */
	uint64_t d = (g->tick + 1) * (uint64_t)g->step;
	bool fin = false;
	if (g->total && d >= g->total) {
		d = g->total;
		fin = true;
	}
	if (d - g->seg_off > RG_TE_MAX_DURATION) {
		/* RFC 4733 section 2.5.1.3: report the maximum duration without the E bit, then
		 * go on in a new segment whose timestamp is where that one ended; step <= 0x7fff
		 * makes one boundary per tick at most */
		gen_push(g, g->seg_ts, false, RG_TE_MAX_DURATION, false);
		g->close_ts = g->seg_ts;
		g->close_left = 2;
		g->seg_ts += RG_TE_MAX_DURATION;
		g->seg_off += RG_TE_MAX_DURATION;
	}
	/* RFC 4733 section 2.2.2: the marker bit on the first packet of the event only */
	gen_push(g, g->seg_ts, g->tick == 0, d - g->seg_off, fin);
	g->reported = d;
	if (fin) {
		g->final = g->queue[(g->qhead + g->qlen - 1) % 3];
		g->final_sent = true;
		g->end_left = 2;
	}
	g->tick++;
}

int rg_te_gen_next(struct rg_te_gen *g, struct rg_te_packet *pkt)
{
	if (!g || !pkt)
		return -EINVAL;
	if (!g->qlen) {
		if (g->done)
			return -ENOENT;
		gen_tick(g);
	}
	*pkt = g->queue[g->qhead];
	g->qhead = (uint8_t)((g->qhead + 1) % 3);
	g->qlen--;
	return 0;
}
