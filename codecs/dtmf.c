/* dtmf.c: in-band DTMF detection and generation for 8 kHz PCM, wrapping spandsp's dtmf_rx and
 * dtmf_tx. See rg_dtmf.h for the API. */
#include "rg_dtmf.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <spandsp/telephony.h>
#include <spandsp/logging.h>
#include <spandsp/super_tone_rx.h>
#include <spandsp/dtmf.h>

/* spandsp's detector works on blocks of 102 samples (DTMF_SAMPLES_PER_BLOCK in its private
 * header) and reports state changes at the end of a block. We feed it block-aligned chunks so a
 * report can be pinned to a sample position. */
#define DET_BLOCK 102
/* Measured with spandsp 0.0.6 (Debian 12) on its own tones at every block phase, 40-100 ms tones:
 * a start is reported 185..289 samples after the onset, an end 118..223 samples after the tone
 * stops. The midpoints are subtracted, leaving an error within about half a block. */
#define DET_START_LATENCY 237
#define DET_END_LATENCY   170

/* dtmf_rx_init / dtmf_tx_init build shared tables on their first call without a lock. */
static pthread_mutex_t spandsp_init_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- detector ---- */

struct rg_dtmf_det {
	dtmf_rx_state_t *rx;
	rg_dtmf_tone_h *h;
	void *arg;
	uint64_t pos;    /* samples fed so far */
	uint64_t cb_pos; /* position at the end of the chunk being detected */
	unsigned phase;  /* samples into the current detector block */
	bool in_digit;
	char digit;
	uint64_t start;
};

static void det_report_end(struct rg_dtmf_det *det, uint64_t at)
{
	struct rg_dtmf_tone t = { .digit = det->digit, .end = true, .start = det->start };
	if (at < det->start)
		at = det->start;
	t.duration = at - det->start;
	det->in_digit = false;
	if (det->h)
		det->h(&t, det->arg);
}

/* spandsp realtime callback: code is the digit's ASCII value at a start, 0 at an end */
static void det_rt(void *user, int code, int level, int delay)
{
	struct rg_dtmf_det *det = user;
	uint64_t at_end = det->cb_pos > DET_END_LATENCY ? det->cb_pos - DET_END_LATENCY : 0;

	if (det->in_digit)
		det_report_end(det, at_end); /* an end, or a change of digit without a gap */
	if (!code || rg_te_char_to_event((char)code) < 0)
		return;
	uint64_t start = det->cb_pos > DET_START_LATENCY ? det->cb_pos - DET_START_LATENCY : 0;
	struct rg_dtmf_tone t = { .digit = (char)code, .start = start, .level_dbm0 = level };
	det->in_digit = true;
	det->digit = (char)code;
	det->start = start;
	if (det->h)
		det->h(&t, det->arg);
}

int rg_dtmf_det_new(struct rg_dtmf_det **detp, const struct rg_dtmf_det_cfg *cfg,
		    rg_dtmf_tone_h *h, void *arg)
{
	struct rg_dtmf_det *det;
	int err = 0;

	if (!detp)
		return -EINVAL;
	if (cfg && (cfg->threshold_dbm0 > 0 || cfg->threshold_dbm0 < -60 || cfg->twist_db < 0 ||
		    cfg->twist_db > 20 || cfg->reverse_twist_db < 0 || cfg->reverse_twist_db > 20))
		return -EINVAL;
	det = calloc(1, sizeof(*det));
	if (!det)
		return -ENOMEM;
	pthread_mutex_lock(&spandsp_init_lock);
	det->rx = dtmf_rx_init(NULL, NULL, NULL);
	pthread_mutex_unlock(&spandsp_init_lock);
	if (!det->rx) {
		err = -ENOMEM;
		goto out;
	}
	dtmf_rx_set_realtime_callback(det->rx, det_rt, det);
	if (cfg) {
		/* spandsp: twist < 0 and threshold <= -99 leave its defaults */
		dtmf_rx_parms(det->rx, cfg->filter_dialtone, cfg->twist_db ? cfg->twist_db : -1,
			      cfg->reverse_twist_db ? cfg->reverse_twist_db : -1,
			      cfg->threshold_dbm0 ? cfg->threshold_dbm0 : -99);
	}
	det->h = h;
	det->arg = arg;
	*detp = det;
	det = NULL;
out:
	if (det) {
		if (det->rx)
			dtmf_rx_free(det->rx);
		free(det);
	}
	return err;
}

void rg_dtmf_det_free(struct rg_dtmf_det *det)
{
	if (!det)
		return;
	dtmf_rx_free(det->rx);
	free(det);
}

int rg_dtmf_det_process(struct rg_dtmf_det *det, const int16_t *pcm, size_t n)
{
	if (!det || (!pcm && n))
		return -EINVAL;
	while (n) {
		size_t c = DET_BLOCK - det->phase;
		if (c > n)
			c = n;
		det->cb_pos = det->pos + c;
		dtmf_rx(det->rx, pcm, (int)c);
		det->pos += c;
		det->phase = (unsigned)((det->phase + c) % DET_BLOCK);
		pcm += c;
		n -= c;
	}
	return 0;
}

int rg_dtmf_det_fillin(struct rg_dtmf_det *det, size_t n)
{
	if (!det)
		return -EINVAL;
	while (n) {
		int c = n > INT_MAX ? INT_MAX : (int)n;
		dtmf_rx_fillin(det->rx, c);
		det->pos += (size_t)c;
		n -= (size_t)c;
	}
	det->phase = 0; /* spandsp restarts its block after a fill-in */
	return 0;
}

void rg_dtmf_det_flush(struct rg_dtmf_det *det)
{
	if (det && det->in_digit)
		det_report_end(det, det->pos);
}

uint64_t rg_dtmf_det_position(const struct rg_dtmf_det *det)
{
	return det ? det->pos : 0;
}

/* ---- generator ---- */

struct gen_item {
	char digit;
	uint16_t on_ms, off_ms;
};

struct rg_dtmf_gen {
	dtmf_tx_state_t *tx;
	int level_dbm0, twist_db;
	bool playing; /* spandsp holds a digit not yet fully written */
	unsigned head, len;
	struct gen_item q[RG_DTMF_GEN_QUEUE];
};

int rg_dtmf_gen_new(struct rg_dtmf_gen **genp, int level_dbm0, int twist_db)
{
	struct rg_dtmf_gen *gen;

	if (!genp || level_dbm0 > 0 || level_dbm0 < -50 || twist_db < -10 || twist_db > 10)
		return -EINVAL;
	gen = calloc(1, sizeof(*gen));
	if (!gen)
		return -ENOMEM;
	pthread_mutex_lock(&spandsp_init_lock);
	gen->tx = dtmf_tx_init(NULL);
	pthread_mutex_unlock(&spandsp_init_lock);
	if (!gen->tx) {
		free(gen);
		return -ENOMEM;
	}
	dtmf_tx_set_level(gen->tx, level_dbm0, twist_db);
	gen->level_dbm0 = level_dbm0;
	gen->twist_db = twist_db;
	*genp = gen;
	return 0;
}

int rg_dtmf_gen_cancel(struct rg_dtmf_gen *gen)
{
	if (!gen)
		return -EINVAL;
	gen->head = gen->len = 0;
	if (!gen->playing)
		return 0;
	/* spandsp keeps the digit being written in its state: start from a fresh one */
	pthread_mutex_lock(&spandsp_init_lock);
	dtmf_tx_state_t *tx = dtmf_tx_init(NULL);
	pthread_mutex_unlock(&spandsp_init_lock);
	if (!tx)
		return -ENOMEM;
	dtmf_tx_free(gen->tx);
	gen->tx = tx;
	dtmf_tx_set_level(gen->tx, gen->level_dbm0, gen->twist_db);
	gen->playing = false;
	return 0;
}

void rg_dtmf_gen_free(struct rg_dtmf_gen *gen)
{
	if (!gen)
		return;
	dtmf_tx_free(gen->tx);
	free(gen);
}

int rg_dtmf_gen_queue(struct rg_dtmf_gen *gen, char digit, unsigned on_ms, unsigned off_ms)
{
	int ev = rg_te_char_to_event(digit);

	if (!gen || ev < 0 || on_ms < 10 || on_ms > 10000 || off_ms > 10000)
		return -EINVAL;
	if (gen->len == RG_DTMF_GEN_QUEUE)
		return -ENOSPC;
	struct gen_item *it = &gen->q[(gen->head + gen->len) % RG_DTMF_GEN_QUEUE];
	it->digit = rg_te_event_to_char((uint8_t)ev); /* upper case, as spandsp wants */
	it->on_ms = (uint16_t)on_ms;
	it->off_ms = (uint16_t)off_ms;
	gen->len++;
	return 0;
}

int rg_dtmf_gen_read(struct rg_dtmf_gen *gen, int16_t *pcm, size_t n, size_t *written)
{
	size_t done = 0;

	if (!gen || !written || (!pcm && n))
		return -EINVAL;
	while (done < n) {
		if (!gen->playing) {
			if (!gen->len)
				break;
			/* one digit at a time, so each gets its own timing */
			struct gen_item *it = &gen->q[gen->head];
			gen->head = (gen->head + 1) % RG_DTMF_GEN_QUEUE;
			gen->len--;
			dtmf_tx_set_timing(gen->tx, it->on_ms, it->off_ms);
			dtmf_tx_put(gen->tx, &it->digit, 1);
			gen->playing = true;
		}
		size_t want = n - done;
		if (want > INT_MAX)
			want = INT_MAX;
		int got = dtmf_tx(gen->tx, pcm + done, (int)want);
		if (got < 0)
			return -EIO;
		done += (size_t)got;
		if ((size_t)got < want)
			gen->playing = false; /* tone and pause fully written */
	}
	*written = done;
	return 0;
}

bool rg_dtmf_gen_busy(const struct rg_dtmf_gen *gen)
{
	return gen && (gen->playing || gen->len);
}
