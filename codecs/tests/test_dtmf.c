/* test_dtmf.c: rg_dtmf.h: RFC 4733 event blocks, tracker (realistic packet streams with loss,
 * duplicates, reordering, retransmitted ends, long events), generator (field by field, segments,
 * open-ended events), and in-band DTMF through spandsp (generate, detect back, with noise). */
#include "rg_dtmf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- minimal harness: CHECK* record a failure and go on ---- */
static int checks, failed_checks;

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		checks++;                                                                    \
		if (!(cond)) {                                                               \
			failed_checks++;                                                     \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
		}                                                                            \
	} while (0)

#define CHECK_INT(got, want)                                                                 \
	do {                                                                                 \
		long long g_ = (long long)(got), w_ = (long long)(want);                     \
		checks++;                                                                    \
		if (g_ != w_) {                                                              \
			failed_checks++;                                                     \
			fprintf(stderr, "%s:%d: %s == %lld, want %s == %lld\n", __FILE__, __LINE__, \
				#got, g_, #want, w_);                                        \
		}                                                                            \
	} while (0)

#define CHECK_STR(got, want)                                                                 \
	do {                                                                                 \
		const char *g_ = (got), *w_ = (want);                                        \
		checks++;                                                                    \
		if (strcmp(g_, w_)) {                                                        \
			failed_checks++;                                                     \
			fprintf(stderr, "%s:%d: %s ==\n    \"%s\"\n  want\n    \"%s\"\n", __FILE__, \
				__LINE__, #got, g_, w_);                                     \
		}                                                                            \
	} while (0)

static uint32_t rng = 2463534242u;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* ---- event blocks ---- */

static void test_block(void)
{
	struct rg_te_event ev = { .event = 5, .end = true, .volume = 10, .duration = 800 };
	uint8_t b[4], want[4] = { 0x05, 0x8a, 0x03, 0x20 };
	/* RFC 4733 section 2.3: event | E R volume | duration */
	CHECK_INT(rg_te_build(&ev, b, sizeof(b)), 0);
	CHECK(!memcmp(b, want, 4));
	struct rg_te_event back;
	CHECK_INT(rg_te_parse(b, 4, &back), 0);
	CHECK_INT(back.event, 5);
	CHECK(back.end);
	CHECK_INT(back.volume, 10);
	CHECK_INT(back.duration, 800);
	/* the R bit is ignored on reception (section 2.3.3) */
	uint8_t r[4] = { 11, 0x40 | 63, 0xff, 0xff };
	CHECK_INT(rg_te_parse(r, 4, &back), 0);
	CHECK_INT(back.event, 11);
	CHECK(!back.end);
	CHECK_INT(back.volume, 63);
	CHECK_INT(back.duration, 65535);
	CHECK_INT(rg_te_parse(r, 3, &back), -EINVAL);
	ev.volume = 64;
	CHECK_INT(rg_te_build(&ev, b, 4), -EINVAL);
	ev.volume = 0;
	CHECK_INT(rg_te_build(&ev, b, 3), -ENOBUFS);

	/* event codes, section 3.2 */
	const char *digits = "0123456789*#ABCD";
	for (int i = 0; i < 16; i++) {
		CHECK_INT(rg_te_event_to_char((uint8_t)i), digits[i]);
		CHECK_INT(rg_te_char_to_event(digits[i]), i);
	}
	CHECK_INT(rg_te_char_to_event('a'), 12);
	CHECK_INT(rg_te_char_to_event('d'), 15);
	CHECK_INT(rg_te_char_to_event('E'), -EINVAL);
	CHECK_INT(rg_te_char_to_event(0), -EINVAL);
	CHECK_INT(rg_te_event_to_char(16), 0);
}

/* ---- tracker ---- */

struct log {
	char text[4096];
	int starts, ends;
};

static void log_start(const struct rg_te_digit *d, void *arg)
{
	struct log *l = arg;
	size_t n = strlen(l->text);
	snprintf(l->text + n, sizeof(l->text) - n, "S%c@%u/%u ", d->digit ? d->digit : '?',
		 d->timestamp, d->duration);
	l->starts++;
}

static void log_end(const struct rg_te_digit *d, void *arg)
{
	struct log *l = arg;
	size_t n = strlen(l->text);
	snprintf(l->text + n, sizeof(l->text) - n, "E%c@%u/%u%s ", d->digit ? d->digit : '?',
		 d->timestamp, d->duration, d->forced ? "!" : "");
	l->ends++;
}

/* one telephone-event packet */
static int feed(struct rg_te_tracker *tr, uint32_t ts, bool m, uint8_t event, bool end,
		uint16_t dur)
{
	uint8_t b[4];
	struct rg_te_event ev = { .event = event, .end = end, .volume = 10, .duration = dur };
	rg_te_build(&ev, b, sizeof(b));
	return rg_te_tracker_input(tr, ts, m, b, sizeof(b));
}

static void test_tracker_stream(void)
{
	struct rg_te_tracker tr;
	struct log l = { "" };
	rg_te_tracker_init(&tr, log_start, log_end, &l);

	/* '1' at 1000: start (marker), a duplicated update, end sent three times */
	feed(&tr, 1000, true, 1, false, 160);
	feed(&tr, 1000, false, 1, false, 320);
	feed(&tr, 1000, false, 1, false, 320);
	feed(&tr, 1000, false, 1, false, 480);
	feed(&tr, 1000, false, 1, true, 640);
	feed(&tr, 1000, false, 1, true, 640);
	feed(&tr, 1000, false, 1, true, 640);
	/* '2' at 4000: marker packet lost, updates reordered, first end packet lost */
	feed(&tr, 4000, false, 2, false, 320);
	feed(&tr, 4000, false, 2, false, 640);
	feed(&tr, 4000, false, 2, false, 480); /* late: does not shrink the duration */
	feed(&tr, 4000, false, 2, true, 800);
	feed(&tr, 4000, false, 2, true, 800);
	/* '2' again at 8000 (same digit, new press), all its end packets lost ... */
	feed(&tr, 8000, true, 2, false, 160);
	feed(&tr, 8000, false, 2, false, 320);
	/* ... ended by '3' at 12000 */
	feed(&tr, 12000, true, 3, false, 160);
	feed(&tr, 1000, false, 1, true, 640); /* very late retransmission of '1': stale */
	feed(&tr, 12000, false, 3, true, 480);
	feed(&tr, 12000, false, 3, true, 480);
	feed(&tr, 8000, false, 2, true, 800); /* late end of the second '2': stale */
	feed(&tr, 12000, false, 3, true, 480);
	/* '#' at 20000: only the last end packet arrives */
	feed(&tr, 20000, false, 11, true, 960);
	feed(&tr, 20000, false, 11, true, 960);
	/* '4' at 30000: nothing after 480; the soft-state timeout ends it; a late end is ignored */
	feed(&tr, 30000, true, 4, false, 160);
	feed(&tr, 30000, false, 4, false, 480);
	rg_te_tracker_expire(&tr, 30000 + 480 + 8000, 8000); /* not yet */
	rg_te_tracker_expire(&tr, 30000 + 480 + 8001, 8000);
	feed(&tr, 30000, false, 4, true, 640);
	/* '5' at 40000, then the stream ends */
	feed(&tr, 40000, true, 5, false, 160);
	rg_te_tracker_flush(&tr);
	rg_te_tracker_flush(&tr);

	CHECK_STR(l.text, "S1@1000/160 E1@1000/640 "
			  "S2@4000/320 E2@4000/800 "
			  "S2@8000/160 E2@8000/320! "
			  "S3@12000/160 E3@12000/480 "
			  "S#@20000/960 E#@20000/960 "
			  "S4@30000/160 E4@30000/480! "
			  "S5@40000/160 E5@40000/160! ");
	CHECK_INT(l.starts, 7);
	CHECK_INT(l.ends, 7);
	CHECK_INT(tr.duplicates, 7);
	CHECK_INT(tr.stale, 2);

	/* malformed payloads: nothing happens */
	uint8_t junk[7] = { 0 };
	CHECK_INT(rg_te_tracker_input(&tr, 50000, true, junk, 0), -EINVAL);
	CHECK_INT(rg_te_tracker_input(&tr, 50000, true, junk, 3), -EINVAL);
	CHECK_INT(rg_te_tracker_input(&tr, 50000, true, junk, 7), -EINVAL);
	CHECK_INT(rg_te_tracker_input(&tr, 50000, true, NULL, 4), -EINVAL);
	CHECK_INT(l.starts, 7);
}

static void test_tracker_multi_block(void)
{
	struct rg_te_tracker tr;
	struct log l = { "" };
	rg_te_tracker_init(&tr, log_start, log_end, &l);

	/* RFC 4733 section 2.5.1.5: the end of '6' and the start of '7' in one packet; '7' starts
	 * where '6' ends (50000 + 800) */
	uint8_t two[8];
	struct rg_te_event e6 = { 6, true, 10, 800 }, e7 = { 7, false, 10, 160 };
	rg_te_build(&e6, two, 4);
	rg_te_build(&e7, two + 4, 4);
	feed(&tr, 50000, true, 6, false, 320);
	CHECK_INT(rg_te_tracker_input(&tr, 50000, false, two, 8), 0);
	CHECK_INT(rg_te_tracker_input(&tr, 50000, false, two, 8), 0); /* a repeat changes nothing */
	feed(&tr, 50800, false, 7, true, 480);
	CHECK_INT(rg_te_tracker_input(&tr, 50000, false, two, 8), 0);
	CHECK_STR(l.text, "S6@50000/320 E6@50000/800 S7@50800/160 E7@50800/480 ");

	/* a timestamp far behind (a new timestamp base) is a new event, not a late packet */
	feed(&tr, 0x80000000u, true, 8, true, 160);
	CHECK_INT(l.starts, 3);
	CHECK_INT(l.ends, 3);
	/* NULL callbacks are fine */
	rg_te_tracker_init(&tr, NULL, NULL, NULL);
	CHECK_INT(feed(&tr, 1, true, 1, true, 160), 0);
}

/* ---- generator ---- */

static void test_gen_short(void)
{
	struct rg_te_gen g;
	struct rg_te_packet p;
	/* '5', 100 ms at 8 kHz, 20 ms updates, volume 10, starting at timestamp 0xfffffff0 */
	CHECK_INT(rg_te_gen_start(&g, 5, 10, 0xfffffff0u, 160, 800), 0);
	static const struct {
		bool m, e;
		uint16_t dur;
		uint32_t off;
	} want[] = {
		{ true, false, 160, 0 },   { false, false, 320, 160 }, { false, false, 480, 320 },
		{ false, false, 640, 480 }, { false, true, 800, 640 },  { false, true, 800, 800 },
		{ false, true, 800, 960 },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		CHECK_INT(rg_te_gen_next(&g, &p), 0);
		CHECK_INT(p.timestamp, 0xfffffff0u); /* RFC 4733 section 2.2.1: the event start */
		CHECK_INT(p.marker, want[i].m);
		CHECK_INT(p.ev.event, 5);
		CHECK_INT(p.ev.volume, 10);
		CHECK_INT(p.ev.end, want[i].e);
		CHECK_INT(p.ev.duration, want[i].dur);
		CHECK_INT(p.offset, want[i].off);
	}
	CHECK_INT(rg_te_gen_next(&g, &p), -ENOENT);
	CHECK_INT(rg_te_gen_next(&g, &p), -ENOENT);
	CHECK_INT(rg_te_gen_stop(&g, 100), -EALREADY);

	/* a length that is not a multiple of the step: last update 160, then 250 with E */
	CHECK_INT(rg_te_gen_start(&g, 11, 0, 0, 160, 250), 0);
	uint16_t durs[5];
	bool ends[5];
	for (int i = 0; i < 4; i++) {
		CHECK_INT(rg_te_gen_next(&g, &p), 0);
		durs[i] = p.ev.duration;
		ends[i] = p.ev.end;
	}
	CHECK_INT(rg_te_gen_next(&g, &p), -ENOENT);
	CHECK(durs[0] == 160 && !ends[0] && durs[1] == 250 && ends[1] && durs[3] == 250 && ends[3]);

	/* shorter than one step: one packet with M and E, sent three times */
	CHECK_INT(rg_te_gen_start(&g, 0, 0, 7, 160, 40), 0);
	CHECK_INT(rg_te_gen_next(&g, &p), 0);
	CHECK(p.marker && p.ev.end && p.ev.duration == 40);
	CHECK_INT(rg_te_gen_next(&g, &p), 0);
	CHECK(!p.marker && p.ev.end && p.ev.duration == 40);
	CHECK_INT(rg_te_gen_next(&g, &p), 0);
	CHECK_INT(rg_te_gen_next(&g, &p), -ENOENT);

	/* open-ended: updates until stopped */
	CHECK_INT(rg_te_gen_start(&g, 3, 10, 1000, 160, 0), 0);
	for (int i = 0; i < 5; i++) {
		CHECK_INT(rg_te_gen_next(&g, &p), 0);
		CHECK_INT(p.ev.duration, 160 * (i + 1));
		CHECK(!p.ev.end);
	}
	CHECK_INT(rg_te_gen_stop(&g, 1000), 0);
	CHECK_INT(rg_te_gen_next(&g, &p), 0);
	CHECK(p.ev.duration == 960 && !p.ev.end);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(rg_te_gen_next(&g, &p), 0);
		CHECK(p.ev.duration == 1000 && p.ev.end && p.timestamp == 1000);
	}
	CHECK_INT(rg_te_gen_next(&g, &p), -ENOENT);
	/* stopped "in the past": ends at what was reported */
	CHECK_INT(rg_te_gen_start(&g, 3, 10, 1000, 160, 0), 0);
	for (int i = 0; i < 5; i++)
		rg_te_gen_next(&g, &p);
	CHECK_INT(rg_te_gen_stop(&g, 300), 0);
	CHECK_INT(rg_te_gen_next(&g, &p), 0);
	CHECK(p.ev.duration == 800 && p.ev.end);

	/* bad arguments */
	CHECK_INT(rg_te_gen_start(&g, 1, 64, 0, 160, 800), -EINVAL);
	CHECK_INT(rg_te_gen_start(&g, 1, 0, 0, 0, 800), -EINVAL);
	CHECK_INT(rg_te_gen_start(&g, 1, 0, 0, 0x8000, 800), -EINVAL);
	CHECK_INT(rg_te_gen_start(NULL, 1, 0, 0, 160, 800), -EINVAL);
	CHECK_INT(rg_te_gen_next(&g, NULL), -EINVAL);
}

/* Generates an event of total units, checks the sequence against RFC 4733 sections 2.5.1.2-4,
 * and feeds it (optionally with loss) to a tracker, which must see one event of that length. */
static void gen_long(uint32_t start_ts, uint32_t step, uint64_t total, int loss_pct)
{
	struct rg_te_gen g;
	struct rg_te_packet p;
	struct rg_te_tracker tr;
	struct log l = { "" };
	rg_te_tracker_init(&tr, log_start, log_end, &l);
	CHECK_INT(rg_te_gen_start(&g, 9, 7, start_ts, step, total), 0);

	uint64_t segs = total > 0xffff ? (total - 1) / 0xffff : 0; /* boundaries crossed */
	uint64_t ticks = (total + step - 1) / step;
	uint64_t count = 0, ends = 0, closes = 0, markers = 0;
	uint32_t last_ts = start_ts, last_off = 0;
	uint16_t last_dur = 0;
	bool final_seen = false;
	while (rg_te_gen_next(&g, &p) == 0) {
		count++;
		markers += p.marker;
		CHECK(p.offset >= last_off);
		last_off = p.offset;
		if (p.ev.end) {
			ends++;
			CHECK_INT(p.ev.duration, total - segs * 0xffff);
			CHECK_INT(p.timestamp, start_ts + (uint32_t)(segs * 0xffff));
			final_seen = true;
		} else if (p.ev.duration == 0xffff && p.timestamp != start_ts + segs * 0xffff) {
			closes++; /* a segment's final report, E bit clear (section 2.5.1.3) */
		} else {
			CHECK(!final_seen); /* nothing but retransmissions after the final packet */
			/* updates: durations grow within a segment; a new segment starts where the
			 * previous reached 0xffff */
			if (p.timestamp == last_ts)
				CHECK(p.ev.duration > last_dur || count == 1);
			else
				CHECK_INT(p.timestamp - last_ts, 0xffff);
			last_ts = p.timestamp;
			last_dur = p.ev.duration;
		}
		if (loss_pct && (int)(rnd() % 100) < loss_pct && !(p.ev.end && ends == 3))
			continue; /* lost (but keep one final packet) */
		uint8_t b[4];
		CHECK_INT(rg_te_build(&p.ev, b, 4), 0);
		CHECK_INT(rg_te_tracker_input(&tr, p.timestamp, p.marker, b, 4), 0);
	}
	CHECK_INT(markers, 1);
	CHECK_INT(ends, 3);
	CHECK_INT(closes, 3 * segs);
	CHECK_INT(count, ticks + 2 + 3 * segs);
	char want[128];
	snprintf(want, sizeof(want), "E9@%u/%llu ", start_ts, (unsigned long long)total);
	CHECK(strstr(l.text, want) != NULL);
	CHECK_INT(l.starts, 1);
	CHECK_INT(l.ends, 1);
	if (strstr(l.text, want) == NULL)
		fprintf(stderr, "  tracker saw: %s\n", l.text);
}

static void test_gen_long(void)
{
	/* RFC 4733 section 2.5.1.3: 10 s at 8 kHz = 80000 units, one segment boundary */
	gen_long(1000, 160, 80000, 0);
	/* exactly 0xffff: no boundary; 0x10000: a 1-unit second segment */
	gen_long(5, 160, 0xffff, 0);
	gen_long(5, 160, 0x10000, 0);
	/* 3 s at 48 kHz (144000 units, two boundaries), 20 ms updates, timestamps wrapping */
	gen_long(0xffff0000u, 960, 144000, 0);
	/* 30 s at 48 kHz with 20 % packet loss */
	for (int i = 0; i < 20; i++)
		gen_long(rnd(), 960, 1440000 + rnd() % 5000, 20);
	/* the largest step */
	gen_long(0, 0x7fff, 500000, 0);
}

/* ---- in-band ---- */

struct tones {
	char digits[64];
	uint64_t start[64], dur[64];
	int nstart, nend;
};

static void on_tone(const struct rg_dtmf_tone *t, void *arg)
{
	struct tones *s = arg;
	if (!t->end) {
		if (s->nstart < 63) {
			s->digits[s->nstart] = t->digit;
			s->start[s->nstart] = t->start;
		}
		s->nstart++;
	} else {
		if (s->nend < 63)
			s->dur[s->nend] = t->duration;
		s->nend++;
	}
}

/* Gaussian-ish noise (sum of 4 uniforms) of the given rms */
static int16_t noise(double rms)
{
	double u = 0;
	for (int i = 0; i < 4; i++)
		u += (double)rnd() / 4294967295.0 - 0.5;
	double v = u * rms * sqrt(3.0); /* var of the sum of 4 U(-.5,.5) = 1/3 */
	return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

/* Goertzel power of pcm at freq (8 kHz) */
static double goertzel(const int16_t *pcm, size_t n, double freq)
{
	double c = 2 * cos(2 * M_PI * freq / 8000.0), s1 = 0, s2 = 0;
	for (size_t i = 0; i < n; i++) {
		double s = pcm[i] + c * s1 - s2;
		s2 = s1;
		s1 = s;
	}
	return s1 * s1 + s2 * s2 - c * s1 * s2;
}

static double rms(const int16_t *pcm, size_t n)
{
	double e = 0;
	for (size_t i = 0; i < n; i++)
		e += (double)pcm[i] * pcm[i];
	return sqrt(e / (double)n);
}

#define LEAD 800
static int16_t pcm[8000 * 8];

/* digits with on/off ms after LEAD samples of silence, optional noise; returns samples */
static size_t render(const char *digits, unsigned on_ms, unsigned off_ms, double noise_rms)
{
	struct rg_dtmf_gen *gen;
	size_t n = LEAD, w;
	memset(pcm, 0, sizeof(pcm));
	CHECK_INT(rg_dtmf_gen_new(&gen, -10, 0), 0);
	for (const char *d = digits; *d; d++)
		CHECK_INT(rg_dtmf_gen_queue(gen, *d, on_ms, off_ms), 0);
	CHECK(rg_dtmf_gen_busy(gen));
	/* read in odd-sized pieces to cross digit boundaries inside reads */
	do {
		size_t want = 97;
		if (n + want > sizeof(pcm) / sizeof(pcm[0]))
			want = sizeof(pcm) / sizeof(pcm[0]) - n;
		CHECK_INT(rg_dtmf_gen_read(gen, pcm + n, want, &w), 0);
		n += w;
	} while (w);
	CHECK(!rg_dtmf_gen_busy(gen));
	rg_dtmf_gen_free(gen);
	CHECK_INT(n - LEAD, strlen(digits) * (on_ms + off_ms) * 8);
	n += 1600; /* trailing silence */
	if (noise_rms > 0)
		for (size_t i = 0; i < n; i++) {
			int v = pcm[i] + noise(noise_rms);
			pcm[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
		}
	return n;
}

static void detect(size_t n, size_t chunk, struct tones *s)
{
	struct rg_dtmf_det *det;
	memset(s, 0, sizeof(*s));
	CHECK_INT(rg_dtmf_det_new(&det, NULL, on_tone, s), 0);
	for (size_t off = 0; off < n; off += chunk)
		CHECK_INT(rg_dtmf_det_process(det, pcm + off, off + chunk > n ? n - off : chunk), 0);
	CHECK_INT(rg_dtmf_det_position(det), n);
	rg_dtmf_det_free(det);
}

static void test_inband_roundtrip(void)
{
	static const char *digits = "123#*0ABCD";
	struct tones s;
	size_t n = render(digits, 100, 100, 0);
	size_t chunks[] = { 160, 1, 102, 1000 };
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		detect(n, chunks[c], &s);
		s.digits[s.nstart < 63 ? s.nstart : 63] = 0;
		CHECK_STR(s.digits, digits);
		CHECK_INT(s.nstart, 10);
		CHECK_INT(s.nend, 10);
		for (int i = 0; i < 10 && i < s.nstart && i < s.nend; i++) {
			long long onset = LEAD + i * 1600;
			long long err = (long long)s.start[i] - onset;
			if (err < -64 || err > 64)
				fprintf(stderr, "  digit %d start %llu, onset %lld\n", i,
					(unsigned long long)s.start[i], onset);
			CHECK(err >= -64 && err <= 64);
			long long derr = (long long)s.dur[i] - 800;
			if (derr < -110 || derr > 110)
				fprintf(stderr, "  digit %d duration %llu\n", i,
					(unsigned long long)s.dur[i]);
			CHECK(derr >= -110 && derr <= 110);
		}
	}
	/* short digits, Q.24-ish: 50 ms on, 50 ms off */
	n = render(digits, 50, 50, 0);
	detect(n, 160, &s);
	s.digits[s.nstart < 63 ? s.nstart : 63] = 0;
	CHECK_STR(s.digits, digits);
}

static void test_inband_noise(void)
{
	static const char *digits = "123#*0ABCD";
	struct tones s;
	/* each tone at -10 dBm0 (rms of the pair ~7200); noise rms 1000: about 17 dB SNR */
	size_t n = render(digits, 100, 100, 1000);
	detect(n, 160, &s);
	s.digits[s.nstart < 63 ? s.nstart : 63] = 0;
	CHECK_STR(s.digits, digits);
	CHECK_INT(s.nend, 10);
	/* noise or silence alone: nothing */
	memset(pcm, 0, sizeof(pcm));
	detect(16000, 160, &s);
	CHECK_INT(s.nstart, 0);
	for (size_t i = 0; i < 32000; i++)
		pcm[i] = noise(3000);
	detect(32000, 160, &s);
	CHECK_INT(s.nstart, 0);
	/* a single 1 kHz tone is not a digit */
	for (size_t i = 0; i < 16000; i++)
		pcm[i] = (int16_t)(8000 * sin(2 * M_PI * 1000 * (double)i / 8000));
	detect(16000, 160, &s);
	CHECK_INT(s.nstart, 0);
}

static void test_inband_det_misc(void)
{
	struct rg_dtmf_det *det;
	struct tones s;
	memset(&s, 0, sizeof(s));
	size_t n = render("7", 200, 0, 0);
	struct rg_dtmf_det_cfg cfg = { .filter_dialtone = true, .threshold_dbm0 = -30 };
	CHECK_INT(rg_dtmf_det_new(&det, &cfg, on_tone, &s), 0);
	/* fill-in advances time; a digit cut by the end of the stream is ended by flush */
	CHECK_INT(rg_dtmf_det_fillin(det, 1000), 0);
	CHECK_INT(rg_dtmf_det_process(det, pcm, LEAD + 800), 0);
	CHECK_INT(rg_dtmf_det_position(det), 1000 + LEAD + 800);
	CHECK_INT(s.nstart, 1);
	CHECK_INT(s.nend, 0);
	rg_dtmf_det_flush(det);
	CHECK_INT(s.nend, 1);
	rg_dtmf_det_flush(det);
	CHECK_INT(s.nend, 1);
	CHECK(s.start[0] >= 1000 + LEAD - 102 && s.start[0] <= 1000 + LEAD + 102);
	/* the detector's own late end of that digit is not reported twice */
	memset(pcm, 0, 1600 * sizeof(pcm[0]));
	CHECK_INT(rg_dtmf_det_process(det, pcm, 1600), 0);
	CHECK_INT(s.nend, 1);
	CHECK_INT(rg_dtmf_det_process(det, NULL, 0), 0);
	CHECK_INT(rg_dtmf_det_process(det, NULL, 5), -EINVAL);
	rg_dtmf_det_free(det);
	rg_dtmf_det_free(NULL);
	(void)n;

	struct rg_dtmf_det_cfg bad = { .threshold_dbm0 = 5 };
	CHECK_INT(rg_dtmf_det_new(&det, &bad, on_tone, &s), -EINVAL);
	CHECK_INT(rg_dtmf_det_new(NULL, NULL, on_tone, &s), -EINVAL);
}

static void test_inband_gen(void)
{
	static const char *digits = "123A456B789C*0#D";
	static const double lo[4] = { 697, 770, 852, 941 }, hi[4] = { 1209, 1336, 1477, 1633 };
	struct rg_dtmf_gen *gen;
	int16_t buf[1600];
	size_t w;

	CHECK_INT(rg_dtmf_gen_new(&gen, -10, 0), 0);
	for (int k = 0; k < 16; k++) {
		/* 100 ms on, 0 off: 800 samples; the two strongest DTMF frequencies are the digit's
		 * row and column (ITU-T Q.23 keypad) */
		CHECK_INT(rg_dtmf_gen_queue(gen, digits[k], 100, 0), 0);
		CHECK_INT(rg_dtmf_gen_read(gen, buf, sizeof(buf) / sizeof(buf[0]), &w), 0);
		CHECK_INT(w, 800);
		double pl[4], ph[4];
		int bl = 0, bh = 0;
		for (int i = 0; i < 4; i++) {
			pl[i] = goertzel(buf, w, lo[i]);
			ph[i] = goertzel(buf, w, hi[i]);
			if (pl[i] > pl[bl])
				bl = i;
			if (ph[i] > ph[bh])
				bh = i;
		}
		CHECK_INT(bl, k / 4);
		CHECK_INT(bh, k % 4);
		for (int i = 0; i < 4; i++) {
			if (i != bl)
				CHECK(pl[i] * 100 < pl[bl]); /* > 20 dB below */
			if (i != bh)
				CHECK(ph[i] * 100 < ph[bh]);
		}
	}
	/* level: -20 dBm0 is 10 dB below -10 dBm0 */
	struct rg_dtmf_gen *quiet;
	CHECK_INT(rg_dtmf_gen_new(&quiet, -20, 0), 0);
	int16_t b2[800];
	CHECK_INT(rg_dtmf_gen_queue(gen, '5', 100, 0), 0);
	CHECK_INT(rg_dtmf_gen_queue(quiet, '5', 100, 0), 0);
	CHECK_INT(rg_dtmf_gen_read(gen, buf, 800, &w), 0);
	CHECK_INT(rg_dtmf_gen_read(quiet, b2, 800, &w), 0);
	double db = 20 * log10(rms(buf, 800) / rms(b2, 800));
	CHECK(db > 9.5 && db < 10.5);
	rg_dtmf_gen_free(quiet);

	/* tone then pause: 40 ms on, 60 ms off = 320 + 480 samples, the pause silent */
	for (size_t i = 0; i < 1600; i++)
		buf[i] = 0x5555;
	CHECK_INT(rg_dtmf_gen_queue(gen, '9', 40, 60), 0);
	CHECK_INT(rg_dtmf_gen_read(gen, buf, 1600, &w), 0);
	CHECK_INT(w, 800);
	CHECK(rms(buf, 320) > 1000);
	CHECK(rms(buf + 320, 480) == 0);
	CHECK_INT(buf[800], 0x5555); /* the rest untouched */
	CHECK_INT(rg_dtmf_gen_read(gen, buf, 1600, &w), 0);
	CHECK_INT(w, 0);
	CHECK(!rg_dtmf_gen_busy(gen));

	/* queue limits and bad input */
	for (int i = 0; i < RG_DTMF_GEN_QUEUE; i++)
		CHECK_INT(rg_dtmf_gen_queue(gen, '1', 10, 0), 0);
	CHECK_INT(rg_dtmf_gen_queue(gen, '1', 10, 0), -ENOSPC);
	CHECK_INT(rg_dtmf_gen_queue(gen, 'x', 100, 0), -EINVAL);
	CHECK_INT(rg_dtmf_gen_queue(gen, '1', 5, 0), -EINVAL);
	CHECK_INT(rg_dtmf_gen_queue(gen, '1', 100, 10001), -EINVAL);
	CHECK_INT(rg_dtmf_gen_read(gen, NULL, 10, &w), -EINVAL);
	size_t total = 0;
	do {
		CHECK_INT(rg_dtmf_gen_read(gen, buf, 1600, &w), 0);
		total += w;
	} while (w);
	CHECK_INT(total, RG_DTMF_GEN_QUEUE * 80);
	rg_dtmf_gen_free(gen);
	rg_dtmf_gen_free(NULL);
	CHECK_INT(rg_dtmf_gen_new(&gen, 1, 0), -EINVAL);
	CHECK_INT(rg_dtmf_gen_new(&gen, -10, 20), -EINVAL);
	/* lower-case a-d are accepted */
	CHECK_INT(rg_dtmf_gen_new(&gen, -10, 2), 0);
	CHECK_INT(rg_dtmf_gen_queue(gen, 'd', 100, 0), 0);
	CHECK_INT(rg_dtmf_gen_read(gen, buf, 1600, &w), 0);
	CHECK_INT(w, 800);
	CHECK(goertzel(buf, 800, 1633) > 100 * goertzel(buf, 800, 1477));
	/* cancel: a long tone cut short, the next digit starts at once */
	CHECK_INT(rg_dtmf_gen_queue(gen, '1', 10000, 0), 0);
	CHECK_INT(rg_dtmf_gen_read(gen, buf, 400, &w), 0);
	CHECK_INT(w, 400);
	CHECK(rg_dtmf_gen_busy(gen));
	CHECK_INT(rg_dtmf_gen_cancel(gen), 0);
	CHECK(!rg_dtmf_gen_busy(gen));
	CHECK_INT(rg_dtmf_gen_read(gen, buf, 400, &w), 0);
	CHECK_INT(w, 0);
	CHECK_INT(rg_dtmf_gen_queue(gen, '9', 50, 0), 0);
	CHECK_INT(rg_dtmf_gen_read(gen, buf, 1600, &w), 0);
	CHECK_INT(w, 400);
	CHECK(goertzel(buf, 400, 1477) > 100 * goertzel(buf, 400, 1209));   /* 9 = 852 + 1477 Hz */
	CHECK_INT(rg_dtmf_gen_cancel(gen), 0);   /* idle: nothing to do */
	CHECK_INT(rg_dtmf_gen_cancel(NULL), -EINVAL);
	rg_dtmf_gen_free(gen);
}

int main(void)
{
	struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "te block", test_block },
		{ "te tracker stream", test_tracker_stream },
		{ "te tracker multi-block", test_tracker_multi_block },
		{ "te generator", test_gen_short },
		{ "te generator long events + tracker", test_gen_long },
		{ "in-band generate -> detect", test_inband_roundtrip },
		{ "in-band with noise", test_inband_noise },
		{ "in-band detector fill-in, flush", test_inband_det_misc },
		{ "in-band generator", test_inband_gen },
	};
	int failed_tests = 0;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		int before = failed_checks;
		tests[i].fn();
		bool ok = failed_checks == before;
		failed_tests += !ok;
		printf("%s %s\n", ok ? "ok  " : "FAIL", tests[i].name);
	}
	printf("%d checks, %d failed; %d test(s) failed\n", checks, failed_checks, failed_tests);
	return failed_checks ? 1 : 0;
}
