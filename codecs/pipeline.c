/* pipeline.c: one transcoding direction, RTP payload of type A in -> RTP payload of type B out.
 *
 *   push: depacketize -> gap? (FEC | PLC) -> decode each frame -> resample -> FIFO
 *   pull: FIFO has out_ptime ms? -> encode out_ptime / frame_ms frames -> packetize
 *
 * Everything is sized and allocated in rg_pipeline_new(); push and pull allocate nothing (the
 * unit test checks that by counting calloc/malloc calls). */
#include "codec_priv.h"
#include "rg_payload.h"

#include <spandsp.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OUT_FRAMES 12 /* 120 ms of 10 ms Opus frames */

/* One input codec: its decoder and the resampler from its PCM rate to the encoder's
 * (rg_pipeline_new's codec is inputs[0], rg_pipeline_add_input adds more). */
struct pipe_input {
	const rg_codec_type *in_t;
	rg_codec_params in_p;
	rg_decoder *dec;
	rg_resampler *rs; /* NULL when the rates are equal */
	unsigned in_rate; /* PCM */
	unsigned dec_cap; /* samples per channel of dec_buf it may use (longest PLC or packet) */
	unsigned pkt_cap; /* RG_PIPELINE_MAX_PACKET_MS at in_rate */
	unsigned rs_cap;  /* samples per channel of rs_buf it may use */
};

struct rg_pipeline {
	struct pipe_input inputs[RG_PIPELINE_MAX_INPUTS];
	unsigned n_inputs;
	struct pipe_input *in; /* the input in use */
	const rg_codec_type *out_t;
	rg_codec_params out_p;
	rg_encoder *enc;
	unsigned C;
	unsigned out_rate; /* PCM */
	unsigned ptime, frame_ms, frame_samples, nframes;

	bool have_ts;
	uint32_t next_ts;      /* input RTP timestamp expected next */
	uint64_t pending_jump; /* output clock units to add to the next ts_increment */
	bool filled;           /* the input was continued by rg_pipeline_fill since the last payload */
	bool cn;               /* a CN payload set the noise that fill makes until the next payload */
	unsigned cn_level;     /* its level, -dBov */
	noise_state_t *noise;  /* spandsp Hoth noise at cn_level, made at creation */

	rg_depkt depkt;
	int16_t *dec_buf; /* dec_buf_cap samples per channel, at the input's rate */
	int16_t *rs_buf;  /* rs_buf_cap samples per channel at out_rate */
	unsigned dec_buf_cap, rs_buf_cap; /* per channel, the largest any input needs */
	int16_t *fifo; /* ring of fifo_cap samples per channel at out_rate */
	unsigned fifo_cap, fifo_head, fifo_len;
	unsigned fifo_reserve; /* free space a push needs: max packet + max PLC at out_rate */
	int16_t *frame_pcm; /* ptime of PCM, contiguous */
	uint8_t *enc_buf;   /* nframes x RG_ENC_MAX_FRAME */
	rg_frame frames[MAX_OUT_FRAMES];

	rg_pipeline_tap_fn *tap; /* sees every PCM chunk entering the FIFO */
	void *tap_arg;

	rg_pipeline_stats st;
};

static unsigned round_rate(unsigned r)
{
	return r <= 8000 ? 8000 : r <= 16000 ? 16000 : 48000;
}

static unsigned min_u(unsigned a, unsigned b)
{
	return a < b ? a : b;
}

void rg_pipeline_free(rg_pipeline *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->n_inputs; i++) {
		rg_dec_free(p->inputs[i].dec);
		rg_resampler_free(p->inputs[i].rs);
	}
	rg_enc_free(p->enc);
	if (p->noise)
		noise_free(p->noise);
	free(p->dec_buf);
	free(p->rs_buf);
	free(p->fifo);
	free(p->frame_pcm);
	free(p->enc_buf);
	free(p);
}

static bool usable(const rg_codec_type *t)
{
	if (t->flags & RG_CODEC_F_EVENT)
		return false;
	if (!t->encoder_new || !t->decoder_new)
		return false;
	/* AMR on the wire needs the RFC 4867 payload hooks: its frames are not payloads */
	if ((t->flags & RG_CODEC_F_AMR) && (!t->packetize || !t->depacketize))
		return false;
	return true;
}

/* An input of codec t: its PCM rate (the lowest that carries its content, at most the encoder's:
 * see rg_codec.h), decoder, resampler to the encoder's rate and buffer needs. On failure what was
 * made stays in *in for the caller to free. */
static int input_init(rg_pipeline *p, struct pipe_input *in, const rg_codec_type *t, const rg_codec_params *prm)
{
	in->in_t = t;
	in->in_p = *prm;
	unsigned content = t->pcm_rate ? t->pcm_rate : round_rate(prm->opus.sprop_maxcapturerate);
	in->in_rate = t->pcm_rate ? t->pcm_rate : round_rate(min_u(content, p->out_rate));
	unsigned longest_ms = RG_PIPELINE_MAX_PLC_MS > RG_PIPELINE_MAX_PACKET_MS ? RG_PIPELINE_MAX_PLC_MS
										    : RG_PIPELINE_MAX_PACKET_MS;
	in->dec_cap = in->in_rate / 1000 * longest_ms;
	in->pkt_cap = in->in_rate / 1000 * RG_PIPELINE_MAX_PACKET_MS;
	int err = rg_dec_new(&in->dec, t, &in->in_p, in->in_rate, p->C);
	if (err)
		return err;
	if (in->in_rate != p->out_rate && (err = rg_resampler_new(&in->rs, in->in_rate, p->out_rate, p->C)))
		return err;
	in->rs_cap = in->rs ? rg_resampler_out_max(in->rs, in->dec_cap) : 0;
	return 0;
}

int rg_pipeline_new(rg_pipeline **out, const rg_codec_type *in_t, const rg_codec_params *in_p,
		    const rg_codec_type *out_t, const rg_codec_params *out_p, unsigned out_ptime_ms)
{
	if (!out || !in_t || !out_t)
		return -EINVAL;
	if (!usable(in_t) || !usable(out_t))
		return -ENOTSUP;
	int err = 0;
	rg_pipeline *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->in = &p->inputs[0];
	p->n_inputs = 1;
	p->out_t = out_t;
	rg_codec_params ip;
	if (in_p)
		ip = *in_p;
	else
		rg_codec_params_default(in_t, &ip);
	if (out_p)
		p->out_p = *out_p;
	else
		rg_codec_params_default(out_t, &p->out_p);

	p->ptime = out_ptime_ms ? out_ptime_ms : p->out_p.ptime ? p->out_p.ptime : 20;
	p->frame_ms = rg_codec_frame_ms(out_t, p->ptime);
	if (!p->frame_ms || p->ptime > RG_PIPELINE_MAX_PACKET_MS) {
		err = -EINVAL;
		goto out;
	}
	p->nframes = p->ptime / p->frame_ms;
	if (p->nframes > MAX_OUT_FRAMES || (p->nframes > 1 && !out_t->packetize)) {
		err = -EINVAL;
		goto out;
	}

	/* the lowest rate that carries the content (see rg_codec.h) */
	unsigned content = in_t->pcm_rate ? in_t->pcm_rate : round_rate(ip.opus.sprop_maxcapturerate);
	p->out_rate = out_t->pcm_rate ? out_t->pcm_rate : round_rate(min_u(content, p->out_p.opus.maxplaybackrate));
	p->C = (in_t->flags & RG_CODEC_F_OPUS) && (out_t->flags & RG_CODEC_F_OPUS) && ip.opus.sprop_stereo &&
			       p->out_p.opus.stereo
		       ? 2
		       : 1;
	p->frame_samples = p->frame_ms * p->out_rate / 1000;

	if ((err = input_init(p, p->in, in_t, &ip)) ||
	    (err = rg_enc_new(&p->enc, out_t, &p->out_p, p->out_rate, p->C)))
		goto out;

	p->fifo_reserve = p->out_rate / 1000 * (RG_PIPELINE_MAX_PACKET_MS + RG_PIPELINE_MAX_PLC_MS);
	/* + out_ptime: what pull leaves behind; + RG_PIPELINE_BACKLOG_MS: pushes before a pull */
	p->fifo_cap = p->fifo_reserve + p->out_rate / 1000 * (p->ptime + RG_PIPELINE_BACKLOG_MS);
	p->dec_buf_cap = p->in->dec_cap;
	p->rs_buf_cap = p->in->rs_cap;
	p->dec_buf = calloc((size_t)p->in->dec_cap * p->C, sizeof(int16_t));
	p->rs_buf = p->in->rs ? calloc((size_t)p->in->rs_cap * p->C, sizeof(int16_t)) : NULL;
	p->fifo = calloc((size_t)p->fifo_cap * p->C, sizeof(int16_t));
	p->frame_pcm = calloc((size_t)p->frame_samples * p->nframes * p->C, sizeof(int16_t));
	p->enc_buf = calloc(p->nframes, RG_ENC_MAX_FRAME);
	p->noise = noise_init_dbov(NULL, 1, -70.0f, NOISE_CLASS_HOTH, 7);
	if (!p->dec_buf || (p->in->rs && !p->rs_buf) || !p->fifo || !p->frame_pcm || !p->enc_buf || !p->noise) {
		err = -ENOMEM;
		goto out;
	}
	*out = p;
	p = NULL;
out:
	rg_pipeline_free(p);
	return err;
}

/* a mono sample buffer of *cap samples to at least want (its content need not be kept) */
static int grow(int16_t **buf, unsigned *cap, unsigned want)
{
	if (want <= *cap)
		return 0;
	int16_t *b = calloc(want, sizeof(int16_t));
	if (!b)
		return -ENOMEM;
	free(*buf);
	*buf = b;
	*cap = want;
	return 0;
}

int rg_pipeline_add_input(rg_pipeline *p, const rg_codec_type *t, const rg_codec_params *prm)
{
	if (!p || !t)
		return -EINVAL;
	if (!usable(t) || p->C != 1)
		return -ENOTSUP;
	if (p->n_inputs >= RG_PIPELINE_MAX_INPUTS)
		return -ENOSPC;
	rg_codec_params defaults;
	if (!prm) {
		rg_codec_params_default(t, &defaults);
		prm = &defaults;
	}
	struct pipe_input in = { 0 };
	int err = input_init(p, &in, t, prm);
	/* the shared buffers grow to what it needs (now, not when a payload comes) */
	if (!err && (grow(&p->dec_buf, &p->dec_buf_cap, in.dec_cap) < 0 ||
		     grow(&p->rs_buf, &p->rs_buf_cap, in.rs_cap) < 0))
		err = -ENOMEM;
	if (err) {
		rg_dec_free(in.dec);
		rg_resampler_free(in.rs);
		return err;
	}
	p->inputs[p->n_inputs] = in;
	return (int)p->n_inputs++;
}

unsigned rg_pipeline_input_rate(const rg_pipeline *p, unsigned idx)
{
	return p && idx < p->n_inputs ? p->inputs[idx].in_rate : 0;
}

int rg_pipeline_use_input(rg_pipeline *p, unsigned idx)
{
	if (!p || idx >= p->n_inputs)
		return -EINVAL;
	if (p->in == &p->inputs[idx])
		return 0;
	p->in = &p->inputs[idx];
	/* its timestamps have nothing to do with the other codec's (another clock, maybe): as a new
	   source, the next payload is neither a gap nor late; the output goes on seamlessly */
	p->have_ts = false;
	p->filled = false;
	p->cn = false;
	p->st.input_switches++;
	return 0;
}

static int fifo_write(rg_pipeline *p, const int16_t *pcm, unsigned n)
{
	/* push checked fifo_reserve, so n always fits; this is the belt to those braces */
	if (n > p->fifo_cap - p->fifo_len) {
		p->st.overflows++;
		return -ENOBUFS;
	}
	if (p->tap)
		p->tap(pcm, n, p->out_rate, p->C, p->tap_arg);
	unsigned C = p->C;
	unsigned tail = (p->fifo_head + p->fifo_len) % p->fifo_cap;
	unsigned first = min_u(n, p->fifo_cap - tail);
	memcpy(p->fifo + (size_t)tail * C, pcm, (size_t)first * C * sizeof(int16_t));
	memcpy(p->fifo, pcm + (size_t)first * C, (size_t)(n - first) * C * sizeof(int16_t));
	p->fifo_len += n;
	return 0;
}

/* decoded PCM at in_rate -> (resampler) -> FIFO */
static int feed(rg_pipeline *p, const int16_t *pcm, unsigned n)
{
	if (!n)
		return 0;
	if (!p->in->rs)
		return fifo_write(p, pcm, n);
	unsigned m;
	int err = rg_resample(p->in->rs, pcm, n, p->rs_buf, p->in->rs_cap, &m);
	if (err)
		return err;
	return fifo_write(p, p->rs_buf, m);
}

static uint64_t in_ts_to_samples(const rg_pipeline *p, uint64_t ts)
{
	return ts * p->in->in_rate / p->in->in_t->rate;
}

/* conceal `lost` decoder samples, in chunks that fit dec_buf; *count adds what was made (the
 * stats counter of loss or of filling) */
static int conceal(rg_pipeline *p, uint64_t lost, uint64_t *count)
{
	while (lost) {
		unsigned want = (unsigned)(lost < p->in->dec_cap ? lost : p->in->dec_cap);
		unsigned got;
		int err = rg_dec_conceal(p->in->dec, want, p->dec_buf, p->in->dec_cap, &got);
		if (err)
			return err;
		if (!got)
			break; /* less than the codec's concealment unit */
		*count += got;
		if ((err = feed(p, p->dec_buf, got)))
			return err;
		lost -= got;
	}
	return 0;
}

/* Where a payload of input timestamp rtp_ts goes (RFC 3550 5.1: the timestamp counts sampling
 * instants of the input clock): -EALREADY if it is older than what was decoded, -ENOBUFS if the
 * FIFO is full; a forward gap up to RG_PIPELINE_MAX_PLC_MS is filled by Opus FEC from fec (the
 * payload's only frame, or NULL) or PLC, a larger jump is a resync. On success next_ts = rtp_ts. */
static int place(rg_pipeline *p, uint32_t rtp_ts, const rg_frame *fec)
{
	int err;
	uint32_t clock = p->in->in_t->rate;
	uint64_t gap = 0;
	if (p->have_ts) {
		int32_t diff = (int32_t)(rtp_ts - p->next_ts);
		uint64_t max_plc = (uint64_t)clock * RG_PIPELINE_MAX_PLC_MS / 1000;
		if (diff < 0 && diff >= -(int32_t)clock && !p->filled) {
			p->st.late++;
			return -EALREADY;
		}
		if (diff < 0 || (uint64_t)diff > max_plc) {
			p->st.resyncs++;
			if (diff > 0)
				p->pending_jump += (uint64_t)diff * p->out_t->rate / clock;
		} else {
			gap = (uint64_t)diff;
		}
	}
	if (p->fifo_cap - p->fifo_len < p->fifo_reserve) {
		p->st.overflows++;
		return -ENOBUFS;
	}
	uint64_t lost = in_ts_to_samples(p, gap);
	if (lost) {
		unsigned got = 0;
		err = -ENOTSUP;
		if (fec && rg_dec_has_fec(p->in->dec) && lost <= p->in->dec_cap)
			err = rg_dec_decode_fec(p->in->dec, fec->data, fec->len, (unsigned)lost, p->dec_buf, p->in->dec_cap, &got);
		if (err == 0) {
			p->st.samples_fec += got;
			if ((err = feed(p, p->dec_buf, got)))
				return err;
		} else if ((err = conceal(p, lost, &p->st.samples_concealed))) {
			return err;
		}
	}
	p->have_ts = true;
	p->filled = false;
	p->next_ts = rtp_ts;
	return 0;
}

int rg_pipeline_push(rg_pipeline *p, const uint8_t *payload, size_t len, uint32_t rtp_ts)
{
	if (!p || !payload || !len)
		return -EINVAL;
	int err;

	/* 1. split the payload into frames (validates it before anything changes) */
	rg_depkt *d = &p->depkt;
	if (p->in->in_t->depacketize) {
		d->n = 0;
		d->cmr = -1;
		if ((err = p->in->in_t->depacketize(p->in->in_t, &p->in->in_p, payload, len, d))) {
			p->st.decode_errors++;
			return err == -ENOBUFS ? -EMSGSIZE : err;
		}
		if (d->n == 0) {
			p->st.decode_errors++;
			return -EINVAL;
		}
	} else {
		d->frame[0] = (rg_frame){payload, len};
		d->n = 1;
		d->cmr = -1;
	}

	/* frame-based input: at most RG_PIPELINE_MAX_PACKET_MS per payload (the FIFO is sized for it;
	   sample-based and Opus payloads are held to it by the decode capacity below) */
	if (p->in->in_t->frame_ms[0] && !(p->in->in_t->flags & RG_CODEC_F_OPUS) &&
	    d->n * p->in->in_t->frame_ms[0] > RG_PIPELINE_MAX_PACKET_MS) {
		p->st.decode_errors++;
		return -EMSGSIZE;
	}

	/* 2.-3. timing, and the gap before this payload filled (FEC from its only frame, or PLC) */
	if ((err = place(p, rtp_ts, d->n == 1 ? &d->frame[0] : NULL)))
		return err;
	p->cn = false;

	/* 4. decode */
	uint64_t decoded = 0;
	int ret = 0;
	for (unsigned i = 0; i < d->n; i++) {
		unsigned got;
		/* at most RG_PIPELINE_MAX_PACKET_MS per payload: an Opus packet is <= 120 ms anyway */
		unsigned room = p->in->pkt_cap - (unsigned)decoded;
		err = rg_dec_decode(p->in->dec, d->frame[i].data, d->frame[i].len, p->dec_buf, room, &got);
		if (err) {
			p->st.decode_errors++;
			ret = err == -ENOBUFS ? -EMSGSIZE : err;
			if (!p->in->in_t->frame_ms[0] || d->n == 1)
				break; /* duration unknown: the next packet's gap conceals it */
			/* a frame of a multi-frame payload (AMR, 20 ms): conceal just that frame */
			if ((err = rg_dec_conceal(p->in->dec, p->in->in_t->frame_ms[0] * p->in->in_rate / 1000, p->dec_buf,
						  p->in->dec_cap, &got)))
				return err;
		} else {
			p->st.frames_decoded++;
		}
		decoded += got;
		if ((err = feed(p, p->dec_buf, got)))
			return err;
	}
	p->next_ts = rtp_ts + (uint32_t)(decoded * p->in->in_t->rate / p->in->in_rate);
	if (decoded)
		p->st.packets_in++;
	return ret;
}

int rg_pipeline_push_pcm(rg_pipeline *p, const int16_t *pcm, unsigned n, uint32_t rtp_ts)
{
	if (!p || (!pcm && n))
		return -EINVAL;
	if (p->C != 1)
		return -ENOTSUP;
	if (n > p->in->pkt_cap)
		return -EMSGSIZE;
	/* the part that overlaps what was already decoded is dropped, the rest is placed */
	if (p->have_ts) {
		int32_t diff = (int32_t)(rtp_ts - p->next_ts);
		if (diff < 0 && diff >= -(int32_t)p->in->in_t->rate) {
			uint64_t skip = in_ts_to_samples(p, (uint64_t)-diff);
			if (skip >= n) {
				p->st.late++;
				return -EALREADY;
			}
			pcm += skip;
			n -= (unsigned)skip;
			rtp_ts = p->next_ts;
		}
	}
	int err = place(p, rtp_ts, NULL);
	if (err)
		return err;
	p->cn = false;
	if ((err = feed(p, pcm, n)))
		return err;
	p->next_ts = rtp_ts + (uint32_t)((uint64_t)n * p->in->in_t->rate / p->in->in_rate);
	return 0;
}

int rg_pipeline_push_cn(rg_pipeline *p, const uint8_t *payload, size_t len, uint32_t rtp_ts)
{
	if (!p || !payload)
		return -EINVAL;
	unsigned level;
	if (rg_comfort_noise_parse(payload, len, &level) < 0) {
		p->st.decode_errors++;
		return -EINVAL;
	}
	/* the gap before it is concealed like before audio; a CN update older than what was
	   decoded still sets the level */
	int err = place(p, rtp_ts, NULL);
	if (err && err != -EALREADY)
		return err;
	if (!p->cn || level != p->cn_level)
		noise_init_dbov(p->noise, (int)(rtp_ts | 1), -(float)level, NOISE_CLASS_HOTH, 7);
	p->cn = true;
	p->cn_level = level;
	p->st.cn_payloads++;
	return 0;
}

int rg_pipeline_fill(rg_pipeline *p, uint32_t units)
{
	if (!p)
		return -EINVAL;
	if (!p->have_ts)
		return -EAGAIN;
	if (p->fifo_cap - p->fifo_len < p->fifo_reserve) {
		p->st.overflows++;
		return -ENOBUFS;
	}
	uint64_t want = in_ts_to_samples(p, units);
	if (want > p->in->pkt_cap)
		return -EMSGSIZE;
	int err;
	if (p->cn && p->C == 1) {
		/* RFC 3389 4: noise at the sender's level until it sends audio again */
		for (unsigned i = 0; i < want; i++)
			p->dec_buf[i] = noise(p->noise);
		if ((err = feed(p, p->dec_buf, (unsigned)want)))
			return err;
		p->st.samples_filled += want;
	} else if ((err = conceal(p, want, &p->st.samples_filled))) {
		/* the decoder's own idea of a gap: Opus and AMR make comfort noise after DTX / SID,
		   G.711 and G.722 PLC fades to silence */
		return err;
	}
	p->next_ts += units;
	p->filled = true;
	return 0;
}

void rg_pipeline_new_source(rg_pipeline *p)
{
	p->have_ts = false;
	p->filled = false;
	p->cn = false;
	p->st.new_sources++;
}

int rg_pipeline_next_ts(const rg_pipeline *p, uint32_t *rtp_ts)
{
	if (!p || !p->have_ts)
		return -EAGAIN;
	*rtp_ts = p->next_ts;
	return 0;
}

void rg_pipeline_set_tap(rg_pipeline *p, rg_pipeline_tap_fn *fn, void *arg)
{
	p->tap = fn;
	p->tap_arg = arg;
}

int rg_pipeline_pull(rg_pipeline *p, uint8_t *out, size_t cap, size_t *len, uint32_t *ts_increment)
{
	if (!p || !out || !len || !ts_increment)
		return -EINVAL;
	unsigned need = p->frame_samples * p->nframes;
	if (p->fifo_len < need)
		return -EAGAIN;
	unsigned C = p->C;
	unsigned first = min_u(need, p->fifo_cap - p->fifo_head);
	memcpy(p->frame_pcm, p->fifo + (size_t)p->fifo_head * C, (size_t)first * C * sizeof(int16_t));
	memcpy(p->frame_pcm + (size_t)first * C, p->fifo, (size_t)(need - first) * C * sizeof(int16_t));

	int err;
	for (unsigned i = 0; i < p->nframes; i++) {
		uint8_t *buf = p->enc_buf + (size_t)i * RG_ENC_MAX_FRAME;
		size_t n;
		err = rg_enc_encode(p->enc, p->frame_pcm + (size_t)i * p->frame_samples * C, p->frame_samples, buf,
				    RG_ENC_MAX_FRAME, &n);
		if (err)
			return err;
		p->frames[i] = (rg_frame){buf, n};
	}
	size_t outlen;
	if (p->out_t->packetize) {
		err = p->out_t->packetize(p->out_t, &p->out_p, p->frames, p->nframes, out, cap, &outlen);
		if (err)
			return err;
	} else {
		if (p->frames[0].len > cap)
			return -ENOBUFS;
		memcpy(out, p->frames[0].data, p->frames[0].len);
		outlen = p->frames[0].len;
	}
	p->fifo_head = (p->fifo_head + need) % p->fifo_cap;
	p->fifo_len -= need;

	uint64_t inc = (uint64_t)p->ptime * p->out_t->rate / 1000 + p->pending_jump;
	p->pending_jump = 0;
	*len = outlen;
	*ts_increment = (uint32_t)inc;
	p->st.packets_out++;
	return 0;
}

void rg_pipeline_get_stats(const rg_pipeline *p, rg_pipeline_stats *out)
{
	*out = p->st;
}

void rg_pipeline_get_info(const rg_pipeline *p, rg_pipeline_info *out)
{
	*out = (rg_pipeline_info){
		.in_pcm_rate = p->in->in_rate,
		.out_pcm_rate = p->out_rate,
		.channels = p->C,
		.out_ptime = p->ptime,
		.out_frame_ms = p->frame_ms,
		.resampling = p->in->rs != NULL,
		.input = (unsigned)(p->in - p->inputs),
		.n_inputs = p->n_inputs,
	};
}
