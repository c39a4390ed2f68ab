/* libFuzzer target for RFC 4733 telephone-event (payload_dtmf.c).
 * Part 1 (tracker): the input is a stream of packets, each [ts delta hi, lo, flags, blocks...]
 * with flags bit 0 = marker, bits 1-2 = blocks - 1, bit 3 = call expire, bit 4 = flush; the
 * callbacks must alternate start/end for the same event and timestamp, exactly once each.
 * Part 2 (generator): the first octets pick an event length and step; the generated sequence,
 * thinned by a loss pattern from the input, must end at the right time in a tracker. */
#include "rg_dtmf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct state {
	int open; /* a start without its end */
	unsigned starts, ends;
	uint8_t event;
	uint32_t ts, dur;
	uint32_t last_end_ts, last_end_dur;
};

static void on_start(const struct rg_te_digit *d, void *arg)
{
	struct state *s = arg;
	if (s->open)
		abort();
	s->open = 1;
	s->starts++;
	s->event = d->event;
	s->ts = d->timestamp;
	s->dur = d->duration;
	if (d->digit != rg_te_event_to_char(d->event))
		abort();
}

static void on_end(const struct rg_te_digit *d, void *arg)
{
	struct state *s = arg;
	if (!s->open || d->event != s->event || d->timestamp != s->ts || d->duration < s->dur)
		abort();
	s->open = 0;
	s->ends++;
	s->last_end_ts = d->timestamp;
	s->last_end_dur = d->duration;
}

static void fuzz_tracker(const uint8_t *data, size_t size)
{
	struct rg_te_tracker tr;
	struct state s;
	memset(&s, 0, sizeof(s));
	rg_te_tracker_init(&tr, on_start, on_end, &s);
	uint32_t ts = 0;
	size_t off = 0;
	while (size - off >= 3) {
		ts += (uint32_t)(int16_t)(data[off] << 8 | data[off + 1]);
		uint8_t fl = data[off + 2];
		off += 3;
		size_t len = 4 * (size_t)(((fl >> 1) & 3) + 1);
		if (fl & 0x20)
			len--; /* malformed length */
		if (len > size - off)
			len = size - off;
		int rc = rg_te_tracker_input(&tr, ts, fl & 1, data + off, len);
		if (rc != 0 && rc != -EINVAL)
			abort();
		if ((rc == 0) != (len >= 4 && len % 4 == 0))
			abort();
		off += len;
		if (fl & 8)
			rg_te_tracker_expire(&tr, ts + 2000, 1000);
		if (fl & 0x10)
			rg_te_tracker_flush(&tr);
	}
	rg_te_tracker_flush(&tr);
	if (s.open || s.starts != s.ends)
		abort();
}

static void fuzz_generator(const uint8_t *data, size_t size)
{
	if (size < 8)
		return;
	uint32_t step = 1 + ((uint32_t)(data[0] << 8 | data[1]) & 0x7ffe);
	uint64_t total = (uint64_t)(data[2] << 16 | data[3] << 8 | data[4]) << (data[5] & 7);
	uint32_t start = (uint32_t)data[6] << 24 | (uint32_t)data[7] << 16 | data[5];
	bool open_ended = data[0] & 0x80;
	if (total / step > 3000)
		total = (uint64_t)step * 3000 - (data[4] % step);
	if (!total)
		total = 1;
	struct rg_te_gen g;
	if (rg_te_gen_start(&g, data[6], data[7] & 63, start, step, open_ended ? 0 : total))
		abort();
	struct rg_te_tracker tr;
	struct state s;
	memset(&s, 0, sizeof(s));
	rg_te_tracker_init(&tr, on_start, on_end, &s);
	struct rg_te_packet p;
	uint64_t count = 0, finals = 0, markers = 0, stop_at = total / step / 2;
	uint64_t reported = 0;
	size_t bit = 0;
	while (rg_te_gen_next(&g, &p) == 0) {
		if (open_ended && count == stop_at && rg_te_gen_stop(&g, total))
			abort();
		count++;
		uint64_t at = (uint32_t)(p.timestamp - start) + (uint64_t)p.ev.duration;
		if (at > reported)
			reported = at;
		/* updates, 2 final retransmissions, 3 reports per segment boundary */
		if (count > (total + reported) / step + 4 + 3 * ((total + reported) / 0xffff + 1))
			abort(); /* runaway */
		markers += p.marker;
		if (p.ev.end)
			finals++;
		if (p.ev.event != data[6] || p.ev.volume != (data[7] & 63))
			abort();
		/* loss pattern from the input, the last final packet always delivered */
		bool lost = size > 8 && (data[8 + (bit / 8) % (size - 8)] >> (bit % 8) & 1);
		bit++;
		if (lost && !(p.ev.end && finals == 3))
			continue;
		uint8_t b[4];
		if (rg_te_build(&p.ev, b, 4) || rg_te_tracker_input(&tr, p.timestamp, p.marker, b, 4))
			abort();
	}
	if (finals != 3 || markers != 1)
		abort();
	rg_te_tracker_flush(&tr);
	if (s.open || s.starts != s.ends || s.ends < 1)
		abort();
	/* whatever was lost, the event's end is where it should be */
	if ((uint32_t)(s.last_end_ts + s.last_end_dur) != (uint32_t)(start + reported))
		abort();
	/* the event lasts as asked; a stop "in the past" ends it at what was already reported */
	if (open_ended ? (reported < total || reported >= total + 3 * (uint64_t)step)
		       : reported != total)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] & 1)
		fuzz_tracker(data + 1, size - 1);
	else
		fuzz_generator(data + 1, size - 1);
	return 0;
}
