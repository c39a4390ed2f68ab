/* rg_dtmf.h: DTMF for the codecs/ library (rgcodecs).
 *
 *   RFC 4733 telephone-event, payload_dtmf.c: the 4-octet event block, a receive-side tracker
 *       turning event packets (with loss, duplicates and the retransmitted end packets) into one
 *       start and one end callback per event, and a send-side generator producing the packet
 *       sequence of one event. Pure code, no allocation, no clock: timestamps are RTP
 *       timestamps of the telephone-event stream (its clock rate, usually 8000 or 48000).
 *   In-band DTMF, dtmf.c: a detector for 8 kHz 16-bit PCM and a tone generator, both wrapping
 *       spandsp (dtmf_rx / dtmf_tx).
 *
 * Conventions: functions returning int return 0 or a negative errno and write their
 * out-parameters only on success. Objects are not locked: one thread at a time per object;
 * distinct objects may be used from distinct threads.
 */
#ifndef RG_DTMF_H
#define RG_DTMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------------------------------
 * Event codes (RFC 4733 section 3.2: 0-9, * = 10, # = 11, A-D = 12-15)
 * ------------------------------------------------------------------------------------------ */

#define RG_TE_EVENT_MAX_DTMF 15

/* '0'-'9', '*', '#', 'A'-'D' for events 0-15, else 0 */
char rg_te_event_to_char(uint8_t event);
/* event code 0-15 for '0'-'9', '*', '#', 'A'-'D' (also 'a'-'d'), else -EINVAL */
int rg_te_char_to_event(char c);

/* ---------------------------------------------------------------------------------------------
 * RFC 4733 event block (section 2.3)
 * ------------------------------------------------------------------------------------------ */

#define RG_TE_BLOCK_LEN    4
#define RG_TE_MAX_DURATION 0xffffu /* RFC 4733 section 2.5.1.3: a segment's longest duration */

/* One event block. A plain value. */
struct rg_te_event {
	uint8_t event;     /* section 2.3.1 */
	bool end;          /* E bit, section 2.3.2 */
	uint8_t volume;    /* section 2.3.4: power in -dBm0, 0..63 */
	uint16_t duration; /* section 2.3.5: in timestamp units since the event (segment) start */
};

/* Parse the first block of p (len >= 4; the R bit is ignored). -EINVAL if len < 4. */
int rg_te_parse(const uint8_t *p, size_t len, struct rg_te_event *ev);
/* Write ev as 4 octets to out (R bit zero). -EINVAL if volume > 63, -ENOBUFS if size < 4. */
int rg_te_build(const struct rg_te_event *ev, uint8_t *out, size_t size);

/* ---------------------------------------------------------------------------------------------
 * Receive side: event tracker
 * ------------------------------------------------------------------------------------------ */

/* One tracked event, as given to the callbacks (valid during the call only). */
struct rg_te_digit {
	uint8_t event;
	char digit;         /* rg_te_event_to_char(event), 0 for non-DTMF events */
	uint8_t volume;     /* last volume seen */
	uint32_t timestamp; /* RTP timestamp of the event start */
	uint32_t duration;  /* start: as first reported; end: total, segments included */
	bool forced;        /* end only: no E bit was seen (next event, timeout or flush) */
};

typedef void(rg_te_digit_h)(const struct rg_te_digit *d, void *arg);

/* Receive state of one telephone-event stream. A plain value owned by the caller (embed it in
 * the stream); rg_te_tracker_init sets it up, nothing to free. The fields are private except the
 * counters, which may be read. The callbacks must not call back into the same tracker. */
struct rg_te_tracker {
	rg_te_digit_h *start_h, *end_h;
	void *arg;
	bool active;       /* an event started and has not ended */
	bool have_ended;   /* ended_* below are valid */
	uint8_t event, volume, ended_event;
	uint32_t start_ts; /* event start */
	uint32_t seg_ts;   /* current segment start (RFC 4733 section 2.5.1.3) */
	uint32_t seg_base; /* seg_ts - start_ts */
	uint16_t seg_dur;  /* longest duration reported in the current segment */
	uint32_t ended_seg_ts;
	uint64_t packets;    /* well-formed packets fed */
	uint64_t duplicates; /* blocks of an already ended event (retransmitted ends) */
	uint64_t stale;      /* blocks older than the current event, ignored */
};

/* start_h / end_h may be NULL; arg is passed to both. */
void rg_te_tracker_init(struct rg_te_tracker *tr, rg_te_digit_h *start_h, rg_te_digit_h *end_h,
			void *arg);
/* Feed one telephone-event RTP packet: its timestamp and marker bit, and the payload (one or more
 * 4-octet blocks, RFC 4733 section 2.5.1.5). Calls start_h once when an event begins and end_h
 * once when it ends (E bit; or a new event arriving while it had not ended: forced). Duplicates,
 * retransmitted end packets and packets older than the current event are ignored.
 * -EINVAL if the payload is empty or not a multiple of 4 octets (nothing is called then). */
int rg_te_tracker_input(struct rg_te_tracker *tr, uint32_t ts, bool marker, const uint8_t *payload,
			size_t len);
/* Soft state on the receive side (RFC 4733 section 2.5.2): end the active event (forced) if
 * now_ts, the stream's current RTP time, is more than timeout units past its last reported end. */
void rg_te_tracker_expire(struct rg_te_tracker *tr, uint32_t now_ts, uint32_t timeout);
/* End the active event now (forced), e.g. at stream teardown. */
void rg_te_tracker_flush(struct rg_te_tracker *tr);

/* ---------------------------------------------------------------------------------------------
 * Send side: event generator (RFC 4733 section 2.5.1)
 * ------------------------------------------------------------------------------------------ */

/* One packet to send: RTP timestamp and marker, payload block, and when to send it. A plain
 * value filled by rg_te_gen_next, owned by the caller. */
struct rg_te_packet {
	uint32_t timestamp;
	bool marker;
	struct rg_te_event ev;
	uint32_t offset; /* send time: timestamp units after the first packet, a multiple of step
			    (modulo 2^32) */
};

/* Generator of one event. A plain value owned by the caller; nothing to free. Fields private. */
struct rg_te_gen {
	uint8_t event, volume;
	uint32_t step;       /* update interval (ptime) in timestamp units */
	uint32_t seg_ts;     /* current segment's timestamp */
	uint64_t seg_off;    /* current segment start, units after the event start */
	uint64_t reported;   /* duration reported so far */
	uint64_t total;      /* event length, 0 = open-ended until rg_te_gen_stop */
	uint64_t tick;       /* ticks done */
	uint32_t close_ts;   /* segment being closed (retransmitted), see close_left */
	uint8_t close_left;  /* retransmissions of the segment-closing packet left */
	uint8_t end_left;    /* retransmissions of the final packet left */
	bool final_sent, done;
	struct rg_te_packet final;
	struct rg_te_packet queue[3];
	uint8_t qhead, qlen;
};

/* Start generating event (0..255; DTMF 0-15) at RTP timestamp start_ts, volume 0..63, one update
 * every step units (1..32767, e.g. 160 for 20 ms at 8 kHz), lasting duration units (0: until
 * rg_te_gen_stop). -EINVAL on a bad argument. */
int rg_te_gen_start(struct rg_te_gen *g, uint8_t event, uint8_t volume, uint32_t start_ts,
		    uint32_t step, uint64_t duration);
/* Set the length of an open-ended event (or shorten a fixed one). A duration shorter than what
 * was already reported is taken as "now". -EALREADY if the final packet was already produced. */
int rg_te_gen_stop(struct rg_te_gen *g, uint64_t duration);
/* Next packet, in sending order: the first has the marker bit (section 2.2.2), updates follow
 * every step with the duration so far (2.5.1.2), a segment reaching 0xffff is closed and a new
 * one started at timestamp + 0xffff (2.5.1.3), and the final packet (E bit) is sent three times
 * with the same timestamp and duration (2.5.1.4), as is each segment's last report. Up to three
 * packets may share one send offset (around a segment boundary). -ENOENT when the event is
 * complete. */
int rg_te_gen_next(struct rg_te_gen *g, struct rg_te_packet *pkt);

/* ---------------------------------------------------------------------------------------------
 * In-band DTMF (spandsp), 8 kHz mono 16-bit PCM
 * ------------------------------------------------------------------------------------------ */

/* A detected digit, given to the callback (valid during the call only): at its start (end
 * false) and at its end (end true). Times are sample positions in the stream fed to the
 * detector (fill-in samples included). The detector confirms a start about 30 ms after the onset
 * and an end about 21 ms after the tone stops; start and duration are corrected for that, to
 * within about 60 samples (half a detector block). */
struct rg_dtmf_tone {
	char digit;          /* '0'-'9', '*', '#', 'A'-'D' */
	bool end;
	uint64_t start;      /* estimated onset, samples */
	uint64_t duration;   /* end only: estimated length, samples */
	int level_dbm0;      /* start only: level reported by the detector, dBm0 (approximate) */
};

typedef void(rg_dtmf_tone_h)(const struct rg_dtmf_tone *t, void *arg);

/* Detector settings: a plain value, read by rg_dtmf_det_new only. */
struct rg_dtmf_det_cfg {
	bool filter_dialtone; /* reject 350/440 Hz dial tone before detection */
	int threshold_dbm0;   /* minimum tone level, dBm0 (-60..-1); 0 = spandsp's default */
	int twist_db;         /* acceptable normal twist, dB (1..20); 0 = spandsp's default */
	int reverse_twist_db; /* acceptable reverse twist, dB (1..20); 0 = spandsp's default */
};

/* Detector: owned by its creator, freed with rg_dtmf_det_free (NULL is allowed there). */
struct rg_dtmf_det;

/* cfg may be NULL (defaults). h is called from within rg_dtmf_det_process/_fillin/_flush. */
int rg_dtmf_det_new(struct rg_dtmf_det **detp, const struct rg_dtmf_det_cfg *cfg,
		    rg_dtmf_tone_h *h, void *arg);
void rg_dtmf_det_free(struct rg_dtmf_det *det);
/* Feed n samples of 8 kHz PCM. -EINVAL on NULL arguments. */
int rg_dtmf_det_process(struct rg_dtmf_det *det, const int16_t *pcm, size_t n);
/* Account for n lost samples (packet loss): advances time without detecting. */
int rg_dtmf_det_fillin(struct rg_dtmf_det *det, size_t n);
/* If a digit is in progress, report its end now. */
void rg_dtmf_det_flush(struct rg_dtmf_det *det);
/* Samples fed so far (process + fillin). */
uint64_t rg_dtmf_det_position(const struct rg_dtmf_det *det);

/* Generator: owned by its creator, freed with rg_dtmf_gen_free (NULL is allowed there). */
struct rg_dtmf_gen;

/* level_dbm0: level of the low tone, dBm0 (-50..0, e.g. -10); twist_db: high tone minus low tone
 * level, dB (0..8 typical). -EINVAL out of range, -ENOMEM. */
int rg_dtmf_gen_new(struct rg_dtmf_gen **genp, int level_dbm0, int twist_db);
void rg_dtmf_gen_free(struct rg_dtmf_gen *gen);
/* Queue a digit: tone for on_ms (10..10000) then silence for off_ms (0..10000). -EINVAL for a bad
 * digit or time, -ENOSPC if RG_DTMF_GEN_QUEUE digits are already waiting. */
#define RG_DTMF_GEN_QUEUE 64
int rg_dtmf_gen_queue(struct rg_dtmf_gen *gen, char digit, unsigned on_ms, unsigned off_ms);
/* Write up to n samples of queued tones and pauses to pcm; *written gets the count (less than n
 * only when the queue ran empty; 0 when idle). The rest of pcm is left untouched. */
int rg_dtmf_gen_read(struct rg_dtmf_gen *gen, int16_t *pcm, size_t n, size_t *written);
/* Drop the queued digits and the one being written (at an RFC 4733 event's end, say): the next
 * read starts with whatever is queued after this. -EINVAL, -ENOMEM. */
int rg_dtmf_gen_cancel(struct rg_dtmf_gen *gen);
/* true while queued or partly written tones remain (a digit that ended exactly at the end of
 * the last read counts until the next read returns short) */
bool rg_dtmf_gen_busy(const struct rg_dtmf_gen *gen);

#endif
