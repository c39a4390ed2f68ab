#include "transcode.h"
#include "codec_neg.h"
#include "log.h"
#include "bytes.h"
#include "player.h"
#include "relay.h"
#include "rg_dtmf.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

/* SRTP adds up to 10 (auth tag) + 4 (SRTCP index) octets; keep room for more */
#define XC_TRAILER_ROOM 64
#define JB_SLOTS 8                 /* packets held at most (160 ms of 20 ms packets) */
#define JB_PAYLOAD_MAX 1500
#define JB_MAX_MS 60               /* longest a packet waits for the gap before it */
#define XC_TICK_MS 10              /* the worker looks at its transcoders at least this often */
#define FILL_CATCH_UP 10           /* output packets a late tick makes at once, at most */
#define EVENT_HOLD_US 120000       /* an RFC 4733 event keeps the input "alive" this long */
#define DTX_RECENT_US 2000000      /* a sender that paused within this is in DTX: short hold */
#define DTX_SHORT_HOLD_US 10000
#define TONE_MAX_MS 200            /* tone made per event packet, at most */

/* Gap filling (configured once at start-up, rg_transcode_configure) */
static int64_t dtx_delay_us = 50000, max_dtx_us = 0;

/* One codec the sender may send (RFC 3264 5.1: any of those it negotiated), decoded by the
 * pipeline's input of the same index. */
struct xc_input {
	int pt;
	int pass_pt;                 /* the receiver's PT of the same codec: passed through; -1 decoded */
	unsigned clock;              /* RTP clock */
	unsigned pcm_rate;           /* its decoder's rate in the pipeline */
	rg_resampler *tone_rs;       /* 8 kHz DTMF tones -> pcm_rate; NULL when that is 8 kHz or no tones */
};

struct rg_transcoder {
	rg_pipeline *pipe;
	struct xc_input in[RG_PIPELINE_MAX_INPUTS];
	unsigned n_in, cur;          /* inputs; the one in use (its clock is in_clock) */
	uint64_t codec_switches;
	bool passing;                /* the last audio packet was passed through */
	uint32_t pass_off;           /* its output timestamp - its input timestamp */
	uint64_t passed;
	int cn_in_pt;                /* RFC 3389 CN of the sender (clock cn_clock), -1 none */
	unsigned cn_clock;
	uint8_t out_pt;
	uint32_t ssrc, ts, last_inc;
	uint16_t seq;
	bool started;
	bool out_dtx;                /* Opus toward a receiver with usedtx=1: DTX frames are not sent */
	bool after_gap;              /* the next packet sent follows unsent DTX frames: marker */
	uint64_t dtx_out;            /* DTX frames not sent */
	/* RFC 4733 telephone-event: passed through, payload type, clock and timestamp mapped */
	int ev_in_pt, ev_out_pt;
	unsigned ev_in_rate, ev_out_rate;
	bool ev_active;
	uint32_t ev_in_ts, ev_out_ts;
	unsigned in_clock, out_clock;   /* RTP clock rates of the two codecs */
	/* RFC 4733 in, receiver without telephone-event: the events become tones in the audio */
	struct rg_dtmf_gen *tone_gen;
	rg_resampler *tone_rs;       /* the input in use's (xc_input.tone_rs) */
	int16_t *tone8, *tone_pcm;   /* TONE_MAX_MS of PCM at 8 kHz / at the largest decoder rate */
	unsigned tone_pcm_cap;
	bool tone_active, tone_ended;
	uint32_t tone_ts, tone_ended_ts;   /* event start (input clock) */
	uint32_t tone_done;          /* input clock units of the event already turned into tone */
	/* in-band tones in, receiver with telephone-event and sender without: detected digits are
	 * sent as RFC 4733 events next to the audio */
	struct rg_dtmf_det *det;
	rg_resampler *det_rs;        /* encoder rate -> 8 kHz; NULL when that is 8 kHz */
	int16_t det_buf[512];
	char det_digit;
	bool det_active, det_new, det_end;
	uint32_t det_ts, det_dur, det_final;   /* event timestamp (output clock), durations (event clock) */
	uint64_t dtmf_events_out, dtmf_tones_out;
	/* RTCP (RFC 3550 6.4): what we receive from the sender, for the report blocks of the SRs the
	 * transcoder in the other direction sends to it; what we send, for our own SRs */
	struct {
		bool init;
		uint32_t ssrc, base_seq, max_seq, cycles;   /* max_seq: 16 bits */
		uint64_t received, expected_prior, received_prior;
		int64_t transit;
		uint32_t jitter16;                 /* jitter x 16, input clock units */
		uint32_t lsr;                      /* middle 32 bits of the NTP time of its last SR */
		int64_t lsr_at_us;                 /* when that SR arrived (monotonic) */
		bool retransit;                    /* the input clock changed: transit measured anew */
	} rx;
	/* jitter buffer (audio and CN of the sender): in-order packets go straight through; one that comes
	 * early (a gap before it) waits until the gap is filled or its wait exceeds the target,
	 * which follows the measured jitter (3 x, 0..JB_MAX_MS). No timer: waiting packets are
	 * looked at when the next one arrives. */
	struct jb_slot {
		bool used;
		uint16_t seq, len;
		bool cn;                       /* an RFC 3389 payload, not audio */
		uint32_t ts;
		int64_t arrival_us;
		uint8_t data[JB_PAYLOAD_MAX];
	} jb[JB_SLOTS];
	bool jb_started;
	uint16_t jb_next;                      /* sequence number expected next */
	unsigned jb_held;
	uint64_t jb_reordered, jb_late, jb_gaps;
	uint64_t octets_out;
	int64_t next_rtcp_us;                  /* 0 = not scheduled yet */
	uint64_t rtcp_out;
	uint64_t packets_in, packets_out, dropped, errors;
	/* Gaps the sender makes (Opus DTX, silence suppression, after CN, loss): the worker's
	 * timer (rg_transcoder_tick) fills them one output ptime at a time, so the receiver's
	 * stream keeps its 20 ms pace. */
	rg_media *media;             /* the media it was last used on (worker, call lock) */
	rg_call *call;               /* referenced while watched */
	bool watched, detached;      /* on the worker's list; freed by signalling meanwhile */
	bool in_seen, filling, cn_wait;
	int64_t expect_us;           /* when the input's next packet is due (monotonic) */
	int64_t fill_pos_us;         /* how far (in time) the filling has gone */
	int64_t dtx_recent_us;       /* when the last filled gap ended */
	unsigned fill_step_ms;       /* output ptime */
	uint32_t fill_units;         /* the same in input clock units */
	uint64_t cn_in, fill_periods, fill_packets;
	uint32_t in_ssrc;            /* the sender's SSRC of the audio we take */
	bool in_ssrc_set;
	uint64_t ssrc_changes;
	/* timestamp jumps: the sender's clock against ours, from its last in-order audio packet */
	bool ref_set;
	uint32_t ref_ts;
	int64_t ref_us;
	uint64_t ts_jumps;
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
	rg_pipeline_info pi;
	rg_pipeline_get_info(xc->pipe, &pi);
	xc->in[0] = (struct xc_input){ .pt = in_pt, .pass_pt = -1, .clock = in_t->rate, .pcm_rate = pi.in_pcm_rate };
	xc->n_in = 1;
	xc->cn_in_pt = -1;
	xc->in_clock = in_t->rate;
	xc->out_clock = out_t->rate;
	xc->ev_in_pt = xc->ev_out_pt = -1;
	xc->out_pt = (uint8_t)(out_pt & 0x7f);
	xc->ssrc = g_random_int();
	xc->seq = (uint16_t)g_random_int();
	xc->ts = g_random_int();
	xc->out_dtx = (out_t->flags & RG_CODEC_F_OPUS) && op.opus.usedtx;
	xc->fill_step_ms = pi.out_ptime;
	xc->fill_units = (uint32_t)((uint64_t)pi.out_ptime * xc->in_clock / 1000);
	return xc;
}

void rg_transcode_configure(unsigned dtx_delay_ms, unsigned max_dtx_s)
{
	dtx_delay_us = (int64_t)dtx_delay_ms * 1000;
	max_dtx_us = (int64_t)max_dtx_s * 1000000;
}

static int tone_rs_for(rg_transcoder *xc, struct xc_input *in)
{
	if (in->pcm_rate == 8000 || in->tone_rs)
		return 0;
	int e = rg_resampler_new(&in->tone_rs, 8000, in->pcm_rate, 1);
	if (e < 0)
		return e;
	unsigned cap = rg_resampler_out_max(in->tone_rs, 8 * TONE_MAX_MS);
	if (cap > xc->tone_pcm_cap) {
		g_free(xc->tone_pcm);
		xc->tone_pcm = g_new(int16_t, cap);
		xc->tone_pcm_cap = cap;
	}
	return 0;
}

static int input_of(const rg_transcoder *xc, int pt)
{
	for (unsigned i = 0; i < xc->n_in; i++)
		if (xc->in[i].pt == pt)
			return (int)i;
	return -1;
}

const char *rg_transcoder_add_input(rg_transcoder *xc, const rg_codec_type *t, const char *fmtp, int pt,
				    int pass_pt)
{
	if (input_of(xc, pt) >= 0)
		return "payload type already taken";
	rg_codec_params prm;
	if (rg_codec_params_parse(t, fmtp, &prm) < 0)
		rg_codec_params_default(t, &prm);
	int idx = rg_pipeline_add_input(xc->pipe, t, &prm);
	if (idx < 0)
		return idx == -ENOSPC ? "too many codecs" : "codec not supported for transcoding";
	g_assert((unsigned)idx == xc->n_in);
	struct xc_input *in = &xc->in[xc->n_in++];
	*in = (struct xc_input){ .pt = pt, .pass_pt = pass_pt < 0 ? -1 : pass_pt & 0x7f, .clock = t->rate,
				 .pcm_rate = rg_pipeline_input_rate(xc->pipe, (unsigned)idx) };
	if (xc->tone_gen && tone_rs_for(xc, in) < 0)
		return "cannot set up DTMF tones";
	return NULL;
}

int rg_transcoder_pass_pt(const rg_transcoder *xc, int rtp_pt)
{
	int i = input_of(xc, rtp_pt);
	return i < 0 ? -1 : xc->in[i].pass_pt;
}

void rg_transcoder_set_cn(rg_transcoder *xc, int cn_pt)
{
	xc->cn_in_pt = cn_pt;
	xc->cn_clock = xc->in[0].clock;
}

static void destroy(rg_transcoder *xc)
{
	rg_pipeline_free(xc->pipe);
	rg_dtmf_gen_free(xc->tone_gen);
	for (unsigned i = 0; i < xc->n_in; i++)
		rg_resampler_free(xc->in[i].tone_rs);
	g_free(xc->tone8);
	g_free(xc->tone_pcm);
	rg_dtmf_det_free(xc->det);
	rg_resampler_free(xc->det_rs);
	g_free(xc);
}

void rg_transcoder_free(rg_transcoder *xc)
{
	if (!xc)
		return;
	if (xc->watched) {
		xc->detached = true;   /* the worker lets go of it at its next tick */
		xc->media = NULL;
		return;
	}
	destroy(xc);
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

/* RFC 3550 A.1/A.8: sequence and jitter accounting of the stream we receive. */
static void rx_account(rg_transcoder *xc, const rtp_info *ri, int64_t now_us)
{
	int64_t arrival = now_us * (int64_t)xc->in_clock / 1000000;
	if (xc->rx.init && xc->rx.retransit) {
		/* another codec of the same source, another clock: only the transit starts anew */
		xc->rx.retransit = false;
		xc->rx.transit = arrival - ri->ts;
	}
	if (!xc->rx.init || ri->ssrc != xc->rx.ssrc) {
		memset(&xc->rx, 0, offsetof(typeof(xc->rx), lsr));   /* a new source; its SR info stays */
		xc->rx.init = true;
		xc->rx.ssrc = ri->ssrc;
		xc->rx.base_seq = xc->rx.max_seq = ri->seq;
		xc->rx.transit = arrival - ri->ts;
		xc->rx.received = 1;
		return;
	}
	uint16_t delta = (uint16_t)(ri->seq - xc->rx.max_seq);
	if (delta < 3000) {
		if (ri->seq < xc->rx.max_seq)
			xc->rx.cycles += 65536;
		xc->rx.max_seq = ri->seq;
	}
	xc->rx.received++;
	int64_t transit = arrival - (int64_t)ri->ts;
	int64_t d = transit - xc->rx.transit;
	xc->rx.transit = transit;
	if (d < 0)
		d = -d;
	if (d < (int64_t)xc->in_clock * 10)   /* not a timestamp jump */
		xc->rx.jitter16 += (uint32_t)d - ((xc->rx.jitter16 + 8) >> 4);
}

static void put24(uint8_t *p, uint32_t v)
{
	p[0] = (v >> 16) & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = v & 0xff;
}

static void det_digit(const struct rg_dtmf_tone *t, void *arg)
{
	rg_transcoder *xc = arg;
	if (!t->end) {
		if (xc->det_active)
			return;
		xc->det_active = xc->det_new = true;
		xc->det_end = false;
		xc->det_digit = t->digit;
		xc->det_dur = 0;
	} else if (xc->det_active && t->digit == xc->det_digit) {
		xc->det_end = true;
		xc->det_final = (uint32_t)(t->duration * xc->ev_out_rate / 8000);
	}
}

/* The pipeline's PCM on its way to the encoder: in-band DTMF detection (8 kHz mono). */
static void det_tap(const int16_t *pcm, unsigned n, unsigned rate, unsigned channels, void *arg)
{
	rg_transcoder *xc = arg;
	if (channels != 1)
		return;
	if (!xc->det_rs) {
		rg_dtmf_det_process(xc->det, pcm, n);
		return;
	}
	unsigned slice = (unsigned)(G_N_ELEMENTS(xc->det_buf) / 2) * (rate / 8000);
	for (unsigned off = 0; off < n; off += slice) {
		unsigned k = n - off < slice ? n - off : slice, got = 0;
		if (rg_resample(xc->det_rs, pcm + off, k, xc->det_buf, G_N_ELEMENTS(xc->det_buf), &got) == 0)
			rg_dtmf_det_process(xc->det, xc->det_buf, got);
	}
}

void rg_transcoder_set_events(rg_transcoder *xc, int in_pt, unsigned in_rate, int out_pt, unsigned out_rate)
{
	xc->ev_in_pt = in_pt;
	xc->ev_out_pt = out_pt;
	xc->ev_in_rate = in_rate ? in_rate : 8000;
	xc->ev_out_rate = out_rate ? out_rate : 8000;
	rg_pipeline_info pi;
	rg_pipeline_get_info(xc->pipe, &pi);
	if (in_pt >= 0 && out_pt < 0 && pi.channels == 1 && !xc->tone_gen) {
		if (rg_dtmf_gen_new(&xc->tone_gen, -10, 2) < 0)
			return;
		for (unsigned i = 0; i < xc->n_in; i++) {
			if (tone_rs_for(xc, &xc->in[i]) < 0) {
				rg_dtmf_gen_free(xc->tone_gen);
				xc->tone_gen = NULL;
				return;
			}
		}
		xc->tone_rs = xc->in[xc->cur].tone_rs;
		xc->tone8 = g_new(int16_t, 8 * TONE_MAX_MS);
	} else if (in_pt < 0 && out_pt >= 0 && pi.channels == 1 && !xc->det) {
		if (rg_dtmf_det_new(&xc->det, NULL, det_digit, xc) < 0)
			return;
		if (pi.out_pcm_rate != 8000 && rg_resampler_new(&xc->det_rs, pi.out_pcm_rate, 8000, 1) < 0) {
			rg_dtmf_det_free(xc->det);
			xc->det = NULL;
			return;
		}
		rg_pipeline_set_tap(xc->pipe, det_tap, xc);
	}
}

static void put_header(rg_transcoder *xc, bool marker, uint8_t pt, uint32_t ts)
{
	xc->buf[0] = 0x80;
	xc->buf[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	rg_put_be16(xc->buf + 2, xc->seq);
	rg_put_be32(xc->buf + 4, ts);
	rg_put_be32(xc->buf + 8, xc->ssrc);
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
		rg_put_be16(xc->buf + 12 + o + 2, d > 0xffff ? 0xffff : (uint16_t)d);
	}
	put_header(xc, first, (uint8_t)xc->ev_out_pt, xc->ev_out_ts);
	if (m->peer)
		rg_relay_send(w, m->peer, xc->buf, 12 + n, sizeof(xc->buf), false);
}

/* One RFC 4733 packet of the detected digit, in our output stream. */
static void send_event(rg_worker *w, rg_media *m, rg_transcoder *xc, bool marker, bool end, uint32_t dur)
{
	struct rg_te_event ev = { .event = (uint8_t)rg_te_char_to_event(xc->det_digit), .end = end,
				  .volume = 10, .duration = dur > 0xffff ? 0xffff : (uint16_t)dur };
	rg_te_build(&ev, xc->buf + 12, RG_TE_BLOCK_LEN);
	put_header(xc, marker, (uint8_t)xc->ev_out_pt, xc->det_ts);
	if (m->peer)
		rg_relay_send(w, m->peer, xc->buf, 12 + RG_TE_BLOCK_LEN, sizeof(xc->buf), false);
}

/* After each audio packet: the detected digit's events, one update per packet, the end three
 * times (RFC 4733 2.5.1.4). */
static void detected_events(rg_worker *w, rg_media *m, rg_transcoder *xc)
{
	if (!xc->det_active)
		return;
	bool first = xc->det_new;
	if (first) {
		xc->det_new = false;
		xc->det_ts = xc->ts;
		xc->dtmf_events_out++;
	}
	xc->det_dur += (uint32_t)((uint64_t)xc->last_inc * xc->ev_out_rate / xc->out_clock);
	if (!xc->det_end) {
		send_event(w, m, xc, first, false, xc->det_dur);
		return;
	}
	uint32_t dur = xc->det_final > xc->det_dur ? xc->det_final : xc->det_dur;
	for (int i = 0; i < 3; i++)
		send_event(w, m, xc, first && i == 0, true, dur);
	xc->det_active = false;
}

#define RTCP_INTERVAL_US 5000000
#define RTCP_FIRST_US 1000000

/* Our SR toward m's peer (RFC 3550 6.4.1): sender info of this transcoder's output, a report
 * block about what the peer sends us (received by the peer's transcoder), SDES CNAME. */
static void send_sr(rg_worker *w, rg_media *m, rg_transcoder *xc, int64_t now_us)
{
	rg_media *peer = m->peer;
	uint8_t *b = xc->buf;
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	uint64_t ntp = ((uint64_t)rt.tv_sec + 2208988800u) << 32 | ((uint64_t)rt.tv_nsec << 32) / 1000000000u;
	rg_transcoder *back = peer->codecs ? peer->codecs->xc : NULL;
	unsigned rc = back && back->rx.init ? 1 : 0;
	size_t len = 28 + 24 * rc;
	b[0] = (uint8_t)(0x80 | rc);
	b[1] = 200;
	rg_put_be16(b + 2, (uint16_t)(len / 4 - 1));
	rg_put_be32(b + 4, xc->ssrc);
	rg_put_be32(b + 8, (uint32_t)(ntp >> 32));
	rg_put_be32(b + 12, (uint32_t)ntp);
	rg_put_be32(b + 16, xc->ts);
	rg_put_be32(b + 20, (uint32_t)xc->packets_out);
	rg_put_be32(b + 24, (uint32_t)xc->octets_out);
	if (rc) {
		uint8_t *r = b + 28;
		uint64_t ext_max = back->rx.cycles + back->rx.max_seq;
		uint64_t expected = ext_max - back->rx.base_seq + 1;
		int64_t lost = (int64_t)expected - (int64_t)back->rx.received;
		if (lost > 0x7fffff)
			lost = 0x7fffff;
		if (lost < -0x800000)
			lost = -0x800000;
		uint64_t exp_int = expected - back->rx.expected_prior;
		uint64_t rec_int = back->rx.received - back->rx.received_prior;
		back->rx.expected_prior = expected;
		back->rx.received_prior = back->rx.received;
		int64_t lost_int = (int64_t)exp_int - (int64_t)rec_int;
		uint8_t fraction = exp_int && lost_int > 0 ? (uint8_t)((lost_int << 8) / (int64_t)exp_int) : 0;
		rg_put_be32(r, back->rx.ssrc);
		r[4] = fraction;
		put24(r + 5, (uint32_t)lost & 0xffffff);
		rg_put_be32(r + 8, (uint32_t)ext_max);
		rg_put_be32(r + 12, back->rx.jitter16 >> 4);
		rg_put_be32(r + 16, back->rx.lsr);
		uint32_t dlsr = back->rx.lsr_at_us ? (uint32_t)((now_us - back->rx.lsr_at_us) * 65536 / 1000000) : 0;
		rg_put_be32(r + 20, back->rx.lsr ? dlsr : 0);
	}
	/* SDES with one CNAME chunk: "rtpgate", padded to a 32-bit boundary */
	static const char cname[] = "rtpgate";
	uint8_t *sd = b + len;
	size_t item = 2 + sizeof(cname) - 1, chunk = (4 + item + 1 + 3) & ~(size_t)3;
	memset(sd, 0, 4 + chunk);
	sd[0] = 0x81;
	sd[1] = 202;
	rg_put_be16(sd + 2, (uint16_t)(chunk / 4));
	rg_put_be32(sd + 4, xc->ssrc);
	sd[8] = 1;
	sd[9] = (uint8_t)(sizeof(cname) - 1);
	memcpy(sd + 10, cname, sizeof(cname) - 1);
	len += 4 + chunk;
	/* remembered for the round trip the peer's receiver reports give (relay.c) */
	peer->sr_sent[peer->sr_next].lsr = (uint32_t)(ntp >> 16);
	peer->sr_sent[peer->sr_next].t_us = now_us;
	peer->sr_next = (peer->sr_next + 1) % G_N_ELEMENTS(peer->sr_sent);
	xc->rtcp_out++;
	rg_relay_send(w, peer, b, len, sizeof(xc->buf), true);
}

void rg_transcode_rtcp_in(rg_media *m, const rtcp_info *ri)
{
	rg_transcoder *xc = m->codecs ? m->codecs->xc : NULL;
	if (!xc || !ri->has_sr)
		return;
	xc->rx.lsr = (uint32_t)(ri->sr_ntp >> 16);
	xc->rx.lsr_at_us = rg_mono_us();
}

static void rtcp_due(rg_worker *w, rg_media *m, rg_transcoder *xc);

/* Every output packet the pipeline has ready, to m's peer. */
static void drain(rg_worker *w, rg_media *m, rg_transcoder *xc)
{
	for (;;) {
		size_t plen;
		uint32_t inc;
		int e = rg_pipeline_pull(xc->pipe, xc->buf + 12, sizeof(xc->buf) - 12 - XC_TRAILER_ROOM, &plen, &inc);
		if (e < 0)
			break;
		bool marker = !xc->started || xc->after_gap;
		if (xc->started)
			xc->ts += inc;
		xc->started = true;
		xc->last_inc = inc;
		if (xc->out_dtx && plen <= 2) {
			/* RFC 7587 3.1.3: a DTX frame (TOC only) need not be sent; the next packet's
			   timestamp shows the gap, its marker the start of talk (RFC 3551 4.1) */
			xc->after_gap = true;
			xc->dtx_out++;
			continue;
		}
		xc->after_gap = false;
		put_header(xc, marker, xc->out_pt, xc->ts);
		xc->octets_out += plen;
		if (m->peer)
			rg_relay_send(w, m->peer, xc->buf, 12 + plen, sizeof(xc->buf), false);
		if (xc->det)
			detected_events(w, m, xc);
	}
	rtcp_due(w, m, xc);
}

/* Our SR toward m's peer when it is due (after packets of our output stream went out) */
static void rtcp_due(rg_worker *w, rg_media *m, rg_transcoder *xc)
{
	if (!xc->started || !m->peer)
		return;
	int64_t now = rg_mono_us();
	if (!xc->next_rtcp_us) {
		xc->next_rtcp_us = now + RTCP_FIRST_US;
	} else if (now >= xc->next_rtcp_us) {
		send_sr(w, m, xc, now);
		/* RFC 3550 6.3.1: randomized to 0.5-1.5 of the interval */
		xc->next_rtcp_us = now + RTCP_INTERVAL_US / 2 + g_random_int_range(0, RTCP_INTERVAL_US);
	}
}

/* RFC 4733 event toward a receiver without telephone-event: tone up to the event's reported
 * duration, placed at the event's timestamp (audio the sender may send meanwhile is dropped). */
static void event_to_tone(rg_transcoder *xc, const uint8_t *pkt, const rtp_info *ri)
{
	struct rg_te_event ev;
	if (rg_te_parse(pkt + ri->hdr_len, ri->payload_len, &ev) < 0 || ev.event > RG_TE_EVENT_MAX_DTMF) {
		xc->dropped++;
		return;
	}
	if (!xc->tone_active || ri->ts != xc->tone_ts) {
		if (xc->tone_ended && ri->ts == xc->tone_ended_ts)
			return;   /* the retransmitted end of the event just played */
		if (rg_dtmf_gen_cancel(xc->tone_gen) < 0 ||
		    rg_dtmf_gen_queue(xc->tone_gen, rg_te_event_to_char(ev.event), 10000, 0) < 0) {
			xc->errors++;
			return;
		}
		xc->tone_active = true;
		xc->tone_ts = ri->ts;
		xc->tone_done = 0;
		xc->dtmf_tones_out++;
	}
	uint32_t target = (uint32_t)((uint64_t)ev.duration * xc->in_clock / xc->ev_in_rate);
	while (target > xc->tone_done) {
		uint32_t units = target - xc->tone_done;
		uint32_t max_units = xc->in_clock / 1000 * TONE_MAX_MS;
		if (units > max_units)
			units = max_units;
		size_t n8 = (size_t)units * 8000 / xc->in_clock, got = 0;
		if (!n8 || rg_dtmf_gen_read(xc->tone_gen, xc->tone8, n8, &got) < 0 || !got)
			break;
		const int16_t *pcm = xc->tone8;
		unsigned n = (unsigned)got;
		if (xc->tone_rs) {
			if (rg_resample(xc->tone_rs, xc->tone8, (unsigned)got, xc->tone_pcm, xc->tone_pcm_cap, &n) < 0)
				break;
			pcm = xc->tone_pcm;
		}
		int e = rg_pipeline_push_pcm(xc->pipe, pcm, n, xc->tone_ts + xc->tone_done);
		if (e < 0 && e != -EALREADY)
			xc->errors++;
		xc->tone_done += (uint32_t)(got * xc->in_clock / 8000);
	}
	if (ev.end) {
		xc->tone_active = false;
		xc->tone_ended = true;
		xc->tone_ended_ts = xc->tone_ts;
	}
}

/* ---- jitter buffer ---- */

static void jb_push(rg_transcoder *xc, const uint8_t *payload, size_t len, uint32_t ts, bool cn)
{
	int e = cn ? rg_pipeline_push_cn(xc->pipe, payload, len, ts) : rg_pipeline_push(xc->pipe, payload, len, ts);
	if (e < 0 && e != -EALREADY)
		xc->errors++;
}

/* Waiting packets that are next in sequence, in order. */
static void jb_flush_ready(rg_transcoder *xc)
{
	bool more = true;
	while (xc->jb_held && more) {
		more = false;
		for (unsigned i = 0; i < JB_SLOTS; i++) {
			struct jb_slot *sl = &xc->jb[i];
			if (sl->used && sl->seq == xc->jb_next) {
				jb_push(xc, sl->data, sl->len, sl->ts, sl->cn);
				sl->used = false;
				xc->jb_held--;
				xc->jb_next++;
				xc->jb_reordered++;
				more = true;
			}
		}
	}
}

/* Give up on the gap before the oldest waiting packet: go on from there (the pipeline conceals
 * the missing audio). */
static void jb_skip_gap(rg_transcoder *xc)
{
	struct jb_slot *first = NULL;
	for (unsigned i = 0; i < JB_SLOTS; i++) {
		struct jb_slot *sl = &xc->jb[i];
		if (sl->used && (!first || (int16_t)(sl->seq - first->seq) < 0))
			first = sl;
	}
	if (!first)
		return;
	xc->jb_gaps++;
	jb_push(xc, first->data, first->len, first->ts, first->cn);
	first->used = false;
	xc->jb_held--;
	xc->jb_next = first->seq + 1;
	jb_flush_ready(xc);
}

/* All that waits goes into the pipeline now, each gap before it given up. */
static void jb_flush(rg_transcoder *xc)
{
	while (xc->jb_held)
		jb_skip_gap(xc);
}

static int64_t jb_target_us(const rg_transcoder *xc)
{
	/* 3 x the interarrival jitter (RFC 3550 A.8, input clock units), at most JB_MAX_MS */
	int64_t j_us = (int64_t)(xc->rx.jitter16 >> 4) * 1000000 / (xc->in_clock ? xc->in_clock : 8000);
	int64_t t = 3 * j_us;
	return t > JB_MAX_MS * 1000 ? JB_MAX_MS * 1000 : t;
}

/* The oldest waiting packet waited long enough: the gap before it is lost. */
static bool jb_expire(rg_transcoder *xc, int64_t now)
{
	int64_t target = jb_target_us(xc);
	for (unsigned i = 0; i < JB_SLOTS && xc->jb_held; i++) {
		if (xc->jb[i].used && now - xc->jb[i].arrival_us >= target) {
			jb_skip_gap(xc);
			return true;
		}
	}
	return false;
}

/* A packet of the stream that is not for the pipeline (RFC 4733, audio replaced by a tone):
 * its sequence number is no gap to wait for. */
static void jb_skip_seq(rg_transcoder *xc, uint16_t seq)
{
	if (!xc->jb_started)
		return;
	int16_t d = (int16_t)(seq - xc->jb_next);
	if (d == 0) {
		xc->jb_next++;
		jb_flush_ready(xc);
	} else if (d > 0 && d < 1000 && !xc->jb_held) {
		xc->jb_next = seq + 1;
	}
}

static void jb_input(rg_transcoder *xc, const uint8_t *payload, size_t len, uint16_t seq, uint32_t ts,
		     int64_t now, bool cn)
{
	if (!xc->jb_started) {
		xc->jb_started = true;
		xc->jb_next = seq;
	}
	int16_t d = (int16_t)(seq - xc->jb_next);
	if (d == 0 || len > JB_PAYLOAD_MAX || d >= 1000 || d < -1000) {
		/* in order (the usual case: straight through), or unholdable, or a new sequence */
		if (d != 0 && xc->jb_held)
			jb_skip_gap(xc);
		jb_push(xc, payload, len, ts, cn);
		xc->jb_next = seq + 1;
		jb_flush_ready(xc);
	} else if (d < 0) {
		xc->jb_late++;   /* its time is over: the pipeline concealed it already */
	} else {
		unsigned free_slot = JB_SLOTS;
		bool dup = false;
		for (unsigned i = 0; i < JB_SLOTS; i++) {
			if (xc->jb[i].used && xc->jb[i].seq == seq)
				dup = true;
			else if (!xc->jb[i].used && free_slot == JB_SLOTS)
				free_slot = i;
		}
		if (dup)
			return;
		if (free_slot == JB_SLOTS) {
			jb_skip_gap(xc);   /* full: the oldest gap is given up */
			jb_input(xc, payload, len, seq, ts, now, cn);
			return;
		}
		struct jb_slot *sl = &xc->jb[free_slot];
		sl->used = true;
		sl->cn = cn;
		sl->seq = seq;
		sl->ts = ts;
		sl->len = (uint16_t)len;
		sl->arrival_us = now;
		memcpy(sl->data, payload, len);
		xc->jb_held++;
	}
	jb_expire(xc, now);
}

/* ---- the input's gaps, filled by the clock ---- */

static void watch(rg_worker *w, rg_media *m, rg_transcoder *xc)
{
	xc->media = m;
	if (xc->watched)
		return;
	xc->watched = true;
	xc->call = m->party->call;
	rg_call_ref(xc->call);
	rg_worker_watch_xc(w, xc);
}

/* The sender is back: a gap being filled ends (and marks the sender as one that pauses) */
static void end_fill(rg_transcoder *xc, int64_t now)
{
	if (xc->filling) {
		xc->filling = false;
		xc->dtx_recent_us = now;
	}
}

/* Audio or CN was taken at now: the next packet is due after its duration (CN: the sender is
 * silent from now on, filling starts at once). */
static void note_input(rg_transcoder *xc, uint32_t ts, int64_t now, bool cn)
{
	end_fill(xc, now);
	xc->in_seen = true;
	xc->cn_wait = cn;
	int64_t dur = 0;
	uint32_t next;
	if (!cn && rg_pipeline_next_ts(xc->pipe, &next) == 0) {
		int32_t d = (int32_t)(next - ts);
		if (d > 0 && d <= (int32_t)(xc->in_clock / 1000 * RG_PIPELINE_MAX_PACKET_MS))
			dur = (int64_t)d * 1000000 / xc->in_clock;
	}
	xc->expect_us = now + dur;
}

/* An RFC 4733 packet: while events come the sender is not silent, whether it sends audio or not */
static void note_event(rg_transcoder *xc, int64_t now)
{
	end_fill(xc, now);
	xc->cn_wait = false;
	if (xc->in_seen && xc->expect_us < now + EVENT_HOLD_US)
		xc->expect_us = now + EVENT_HOLD_US;
}

static int ms_until(int64_t t, int64_t now)
{
	int64_t d = (t - now + 999) / 1000;
	return d < 1 ? 1 : d > XC_TICK_MS ? XC_TICK_MS : (int)d;
}

static void drain(rg_worker *w, rg_media *m, rg_transcoder *xc);

/* Is the input late because we are? Its packets wait in our socket, or the worker's last pass
 * found more ready sockets than it takes at once. Filling then would add encoder work exactly
 * when the CPU cannot keep up (and conceal audio that is there). */
static bool we_are_behind(const rg_worker *w, const rg_media *m)
{
	if (w->backlog)
		return true;
	int n = 0;
	return !m->wrtc && m->rtp.sock && ioctl(m->rtp.sock->fd, FIONREAD, &n) == 0 && n > 0;
}

/* Nothing to fill toward m's peer: the sender said it does not send or the receiver that it does
 * not receive (hold), a prompt plays to the receiver, or the call was deleted (kept only for late
 * packets). */
static bool quiet_on_purpose(const rg_media *m)
{
	const rg_media *peer = m->peer;
	return !peer || peer->rejected || rg_player_active(peer) || m->party->call->delete_at ||
	       m->dir == SDP_RECVONLY || m->dir == SDP_INACTIVE || peer->dir == SDP_SENDONLY ||
	       peer->dir == SDP_INACTIVE;
}

/* Timer work: a jitter-buffer gap waited long enough; the input went quiet (no packet for
 * dtx-delay after the last one was due, or a CN came): keep the output going, one output ptime
 * of the pipeline's fill (CN noise or the decoder's concealment) per ptime of real time, for at
 * most max-dtx. Returns ms until it wants to run again. */
static int timer(rg_worker *w, rg_media *m, rg_transcoder *xc, int64_t now)
{
	if (xc->jb_held && jb_expire(xc, now))
		drain(w, m, xc);
	if (!dtx_delay_us || !xc->in_seen || !xc->fill_units || xc->tone_active || xc->passing)
		return XC_TICK_MS;   /* (a passed-through codec's pauses are the receiver's, as relayed) */
	if (quiet_on_purpose(m)) {
		xc->filling = false;
		xc->expect_us = now;
		return XC_TICK_MS;
	}
	if (!xc->filling) {
		int64_t hold = xc->cn_wait ? 0 : dtx_delay_us;
		if (!xc->cn_wait && xc->dtx_recent_us && now - xc->dtx_recent_us < DTX_RECENT_US &&
		    hold > DTX_SHORT_HOLD_US)
			hold = DTX_SHORT_HOLD_US;   /* it paused a moment ago: a DTX sender */
		if (!xc->cn_wait && hold < jb_target_us(xc))
			hold = jb_target_us(xc);    /* never shorter than the jitter we see */
		if (now < xc->expect_us + hold)
			return ms_until(xc->expect_us + hold, now);
		if (we_are_behind(w, m)) {
			xc->expect_us = now;
			return XC_TICK_MS;
		}
		if (xc->jb_held) {
			jb_flush(xc);   /* what waits goes out first */
			drain(w, m, xc);
			return XC_TICK_MS;
		}
		xc->filling = true;
		xc->fill_pos_us = xc->expect_us;
		xc->fill_periods++;
	}
	if (max_dtx_us && now - xc->expect_us >= max_dtx_us)
		return XC_TICK_MS;
	if (w->backlog) {
		xc->fill_pos_us = now;   /* no catching up while the worker is behind */
		return XC_TICK_MS;
	}
	int64_t step = (int64_t)xc->fill_step_ms * 1000;
	for (unsigned n = 0; xc->fill_pos_us + step <= now; n++) {
		if (n == FILL_CATCH_UP) {
			xc->fill_pos_us = now;   /* a stalled worker: skip, do not burst */
			break;
		}
		if (rg_pipeline_fill(xc->pipe, xc->fill_units) < 0) {
			xc->errors++;
			xc->fill_pos_us = now;
			break;
		}
		xc->fill_pos_us += step;
		xc->fill_packets++;
		drain(w, m, xc);
	}
	return ms_until(xc->fill_pos_us + step, now);
}

/* The sender switched to another of its codecs: what still waits in the jitter buffer goes out
 * with the old one, the pipeline decodes the new one from its next payload on (its timestamps are
 * its own, the output stream goes on), and what counts in the input clock follows the new clock. */
static void switch_input(rg_transcoder *xc, unsigned idx)
{
	jb_flush(xc);
	unsigned old_clock = xc->in_clock;
	rg_pipeline_use_input(xc->pipe, idx);
	xc->cur = idx;
	xc->in_clock = xc->in[idx].clock;
	xc->fill_units = (uint32_t)((uint64_t)xc->fill_step_ms * xc->in_clock / 1000);
	xc->tone_rs = xc->in[idx].tone_rs;
	xc->tone_active = false;   /* an event's timestamps were the old clock's */
	xc->ref_set = false;
	if (old_clock != xc->in_clock) {
		xc->rx.retransit = true;
		xc->rx.jitter16 = (uint32_t)((uint64_t)xc->rx.jitter16 * xc->in_clock / old_clock);
	}
	xc->codec_switches++;
}

/* A packet of a codec the receiver has as well (xc_input.pass_pt): its payload unchanged, in our
 * output stream (SSRC, sequence numbers; its timestamps moved to follow ours, marker on the first
 * of a run). What the jitter buffer holds of the transcoded codec goes out first. */
static void pass_through(rg_worker *w, rg_media *m, rg_transcoder *xc, const uint8_t *pkt, const rtp_info *ri)
{
	size_t n = ri->payload_len;
	if (n > sizeof(xc->buf) - 12 - XC_TRAILER_ROOM) {
		xc->errors++;
		return;
	}
	if (xc->jb_held) {
		jb_flush(xc);
		drain(w, m, xc);
	}
	jb_skip_seq(xc, ri->seq);
	bool first = !xc->passing;
	if (first) {
		xc->passing = true;
		xc->pass_off = (xc->started ? xc->ts + xc->last_inc : xc->ts) - ri->ts;
	}
	uint32_t ts = ri->ts + xc->pass_off;
	if (!first && (int32_t)(ts - xc->ts) > 0)
		xc->last_inc = ts - xc->ts;   /* where a transcoded packet after it goes */
	xc->ts = ts;
	xc->started = true;
	memcpy(xc->buf + 12, pkt + ri->hdr_len, n);
	put_header(xc, first || ri->marker, (uint8_t)xc->in[xc->cur].pass_pt, ts);
	xc->octets_out += n;
	xc->passed++;
	if (m->peer)
		rg_relay_send(w, m->peer, xc->buf, 12 + n, sizeof(xc->buf), false);
	rtcp_due(w, m, xc);
}

int rg_transcoder_tick(rg_transcoder *xc, rg_worker *w)
{
	rg_call *c = xc->call;
	int ret = -1;
	g_mutex_lock(&c->lock);
	rg_media *m = xc->media;
	if (!c->dead && !xc->detached && m && m->codecs && m->codecs->xc == xc)
		ret = timer(w, m, xc, rg_mono_us());
	g_mutex_unlock(&c->lock);
	return ret;
}

void rg_transcoder_unwatch(rg_transcoder *xc)
{
	rg_call *c = xc->call;
	g_mutex_lock(&c->lock);
	xc->watched = false;
	bool free_it = xc->detached;
	g_mutex_unlock(&c->lock);
	if (free_it)
		destroy(xc);
	rg_call_unref(c);
}

void rg_transcode_rtp(rg_worker *w, rg_media *m, const uint8_t *pkt, const rtp_info *ri)
{
	rg_transcoder *xc = m->codecs->xc;
	int64_t now = rg_mono_us();
	watch(w, m, xc);
	if (xc->ev_in_pt >= 0 && (int)ri->pt == xc->ev_in_pt) {
		jb_skip_seq(xc, ri->seq);
		note_event(xc, now);
		if (xc->tone_gen && xc->in_clock != xc->ev_in_rate) {
			xc->dropped++;   /* the sender's codec now has another clock than its events */
		} else if (xc->tone_gen) {
			event_to_tone(xc, pkt, ri);
			drain(w, m, xc);
		} else if (xc->ev_out_pt >= 0) {
			event_rtp(w, m, xc, pkt, ri);
		} else {
			xc->dropped++;
		}
		return;
	}
	bool cn = xc->cn_in_pt >= 0 && (int)ri->pt == xc->cn_in_pt;
	int in = cn ? (int)xc->cur : input_of(xc, (int)ri->pt);
	if (in < 0 || (cn && xc->in_clock != xc->cn_clock)) {
		xc->dropped++;   /* a codec we do not transcode (or CN of another codec's clock) */
		return;
	}
	if ((unsigned)in != xc->cur)
		switch_input(xc, (unsigned)in);
	if (xc->tone_active) {
		/* audio during an event is replaced by the tone; an event whose end never came is over
		 * once the audio is half a second past it (RFC 4733 2.5.2 soft state) */
		if ((int32_t)(ri->ts - (xc->tone_ts + xc->tone_done)) < (int32_t)(xc->in_clock / 2)) {
			jb_skip_seq(xc, ri->seq);
			xc->dropped++;
			return;
		}
		xc->tone_active = false;
	}
	if (xc->in_ssrc_set && ri->ssrc != xc->in_ssrc) {
		/* a new source (RFC 3550 8.2; a transfer, a re-INVITE to another phone): its sequence
		   numbers and timestamps start afresh; what still waits of the old one goes first */
		jb_flush(xc);
		xc->jb_started = false;
		xc->ref_set = false;
		rg_pipeline_new_source(xc->pipe);
		xc->passing = false;   /* a new timestamp offset */
		xc->ssrc_changes++;
	}
	xc->in_ssrc = ri->ssrc;
	xc->in_ssrc_set = true;
	/* a codec both sides have goes through as it is (not while in-band DTMF is converted: that
	   needs the audio decoded); CN meanwhile is the receiver's business, not ours to fill */
	if (cn && xc->passing) {
		xc->dropped++;
		return;
	}
	if (!cn && xc->in[xc->cur].pass_pt >= 0 && !xc->tone_gen && !xc->det) {
		xc->packets_in++;
		rx_account(xc, ri, now);
		pass_through(w, m, xc, pkt, ri);
		return;
	}
	if (xc->passing) {
		xc->passing = false;   /* transcoding again: the next packet we make starts a talkspurt */
		xc->after_gap = true;
	}
	if (!cn && xc->jb_started && ri->seq == xc->jb_next) {
		if (xc->ref_set) {
			/* in order, yet its timestamp moved a second more (or less) than real time did:
			   the sender's clock jumped (not a pause, which DTX filling covers). Taken as a
			   new start, so the jump does not reach our output timestamps. */
			int64_t want = (now - xc->ref_us) * (int64_t)xc->in_clock / 1000000;
			int64_t got = (int32_t)(ri->ts - xc->ref_ts);
			if (got - want > (int64_t)xc->in_clock || got - want < -(int64_t)xc->in_clock) {
				rg_pipeline_new_source(xc->pipe);
				xc->ts_jumps++;
			}
		}
		xc->ref_set = true;
		xc->ref_ts = ri->ts;
		xc->ref_us = now;
	}
	xc->packets_in++;
	if (cn)
		xc->cn_in++;
	rx_account(xc, ri, now);
	jb_input(xc, pkt + ri->hdr_len, ri->payload_len, ri->seq, ri->ts, now, cn);
	drain(w, m, xc);
	note_input(xc, ri->ts, now, cn);
}

void rg_transcoder_get_stats(const rg_transcoder *xc, rg_transcoder_stats *out)
{
	out->packets_in = xc->packets_in;
	out->packets_out = xc->packets_out;
	out->dropped = xc->dropped;
	out->errors = xc->errors;
	out->ssrc = xc->ssrc;
	out->dtmf_events_out = xc->dtmf_events_out;
	out->rtcp_out = xc->rtcp_out;
	out->jb_reordered = xc->jb_reordered;
	out->jb_late = xc->jb_late;
	out->jb_gaps = xc->jb_gaps;
	out->dtmf_tones_out = xc->dtmf_tones_out;
	out->cn_in = xc->cn_in;
	out->fill_periods = xc->fill_periods;
	out->fill_packets = xc->fill_packets;
	out->dtx_out = xc->dtx_out;
	out->ssrc_changes = xc->ssrc_changes;
	out->ts_jumps = xc->ts_jumps;
	out->codec_switches = xc->codec_switches;
	out->passed = xc->passed;
}
