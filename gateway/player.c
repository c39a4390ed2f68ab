#include "player.h"
#include "codec_neg.h"
#include "bytes.h"
#include "log.h"
#include "relay.h"
#include "stats.h"
#include "rg_codec.h"
#include "rg_dtmf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PTIME_MS 20
#define MAX_CATCH_UP 5     /* packets sent at once after a late tick; beyond that, skipped */

struct rg_player {
	struct rg_player_pub pub;   /* first: read by rg_player_active() */
	rg_media *media;
	rg_call *call;
	char *what;                 /* for log lines */
	/* audio: PCM at the pipeline's input rate through an encode-only pipeline, or raw octets */
	rg_pipeline *pipe;
	unsigned in_clock, pcm_rate, frame;   /* frame = PCM samples per packet */
	int16_t *pcm;
	size_t n_pcm;
	uint8_t *raw;               /* pre-encoded, sample-based codec */
	size_t n_raw, raw_frame;
	size_t pos;                 /* samples (pcm) or octets (raw) played of this pass */
	uint32_t in_ts;
	/* events: RFC 4733 digits */
	char *digits;
	unsigned digit, on_units, pause_packets, pause_left;
	struct rg_te_gen gen;
	bool gen_running;
	uint8_t volume;
	/* output stream */
	uint8_t pt;
	unsigned clock;             /* RTP clock of the output */
	uint32_t ssrc, ts;
	uint16_t seq;
	bool first;
	int repeats_left;           /* -1 = loop */
	int64_t start_us;
	uint64_t due;               /* packets due since start (sent or skipped) */
	uint64_t packets;
	bool watched, detached;
	uint8_t buf[RG_RELAY_MTU];
};

static char *dup_err(const char *fmt, const char *arg)
{
	return g_strdup_printf(fmt, arg);
}

void rg_player_free(rg_player *p)
{
	if (!p)
		return;
	rg_pipeline_free(p->pipe);
	free(p->pcm);
	g_free(p->raw);
	g_free(p->digits);
	g_free(p->what);
	g_free(p);
}

/* ---- the leg's codec ---- */

/* Is payload type pt in the list "0,8,101"? */
static bool pt_listed(const char *list, int pt)
{
	for (const char *s = list; s && *s;) {
		if (*s >= '0' && *s <= '9' && atoi(s) == pt)
			return true;
		s = strchr(s, ',');
		s = s ? s + 1 : NULL;
	}
	return false;
}

/* The codec the party of m receives: from its SDP (what it answered, or of what it offered the
 * first that its peer answered with), else the first static payload type of pt_list we know that
 * the peer's rtpproxy c<pts> list has too (the negotiated one: an offerer's list goes on with
 * codecs the answer dropped), else the first of pt_list we know. */
static bool leg_codec(rg_media *m, const char *pt_list, const rg_codec_type **t, int *pt, const char **fmtp)
{
	GPtrArray *own = m->codecs ? m->codecs->own : NULL;
	GPtrArray *other = m->peer && m->peer->codecs ? m->peer->codecs->own : NULL;
	for (int pass = 0; own && pass < 2; pass++) {
		for (guint i = 0; i < own->len; i++) {
			const rg_cn_codec *c = own->pdata[i];
			if (c->event)
				continue;
			bool in_other = false;
			for (guint j = 0; other && j < other->len; j++) {
				const rg_cn_codec *o = other->pdata[j];
				in_other |= g_ascii_strcasecmp(o->name, c->name) == 0 && o->rate == c->rate;
			}
			if (pass == 0 && other && !in_other)
				continue;
			if (rg_codec_find(t, c->name, c->rate, c->channels, c->fmtp) == 0 && (*t)->encoder_new) {
				*pt = c->pt;
				*fmtp = c->fmtp;
				return true;
			}
		}
	}
	static const struct { int pt; const char *name; unsigned rate; } statics[] = {
		{ 0, "PCMU", 8000 }, { 8, "PCMA", 8000 }, { 9, "G722", 8000 },
	};
	gchar **list = g_strsplit(pt_list && *pt_list ? pt_list : "0", ",", -1);
	const char *peer_pts = m->peer ? m->peer->rtpp_pts : NULL;
	bool found = false;
	for (int pass = peer_pts ? 0 : 1; pass < 2 && !found; pass++) {
		for (gchar **l = list; *l && !found; l++) {
			for (size_t k = 0; k < G_N_ELEMENTS(statics) && !found; k++) {
				if (atoi(*l) == statics[k].pt && **l >= '0' && **l <= '9' &&
				    (pass == 1 || pt_listed(peer_pts, statics[k].pt)) &&
				    rg_codec_find(t, statics[k].name, statics[k].rate, 0, NULL) == 0) {
					*pt = statics[k].pt;
					*fmtp = NULL;
					found = true;
				}
			}
		}
	}
	g_strfreev(list);
	return found;
}

/* telephone-event payload type of the party of m (clock 8000 or the codec's), -1 if none */
static int leg_events(rg_media *m, unsigned rate, unsigned *ev_rate)
{
	GPtrArray *own = m->codecs ? m->codecs->own : NULL;
	for (guint i = 0; own && i < own->len; i++) {
		const rg_cn_codec *c = own->pdata[i];
		if (c->event && (c->rate == rate || c->rate == 8000)) {
			*ev_rate = c->rate;
			return c->pt;
		}
	}
	return -1;
}

/* ---- setting up ---- */

static rg_player *player_new(rg_media *m, const char *what)
{
	rg_player *p = g_new0(rg_player, 1);
	p->media = m;
	p->call = m->party->call;
	p->what = g_strdup(what);
	p->ssrc = g_random_int();
	p->seq = (uint16_t)g_random_int();
	p->ts = g_random_int();
	p->first = true;
	p->repeats_left = 1;
	return p;
}

/* The encode-only pipeline (t -> t) that turns PCM at its input rate into payloads. */
static int audio_setup(rg_player *p, const rg_codec_type *t, const char *fmtp)
{
	rg_codec_params prm;
	if (rg_codec_params_parse(t, fmtp, &prm) < 0)
		rg_codec_params_default(t, &prm);
	prm.opus.stereo = false;
	prm.opus.sprop_stereo = false;
	int e = rg_pipeline_new(&p->pipe, t, &prm, t, &prm, PTIME_MS);
	if (e < 0)
		return e;
	rg_pipeline_info pi;
	rg_pipeline_get_info(p->pipe, &pi);
	p->pcm_rate = pi.in_pcm_rate;
	p->frame = pi.in_pcm_rate * PTIME_MS / 1000;
	p->in_clock = t->rate;
	return 0;
}

/* Start on m: replaces what played there, hands the player to the worker. */
static void start(rg_media *m, rg_player *p)
{
	if (m->player)
		rg_player_detach(m->player);
	m->player = p;
	p->pub.playing = true;
	p->start_us = rg_mono_us();
	p->watched = true;
	rg_call_ref(p->call);
	rg_worker_watch_player(p->call->worker, p);
	rg_ctr_inc(RG_CTR_PROMPTS);
	rg_clog(RG_LOG_INFO, p->call->call_id, "media %u: playing %s to %s (PT %u, %s)", m->index, p->what,
		m->party->tag ? m->party->tag : "(untagged)", p->pt,
		p->repeats_left < 0 ? "until stopped" : p->repeats_left == 1 ? "once" : "repeated");
}

static bool sample_based(const rg_codec_type *t)
{
	return strcmp(t->name, "PCMU") == 0 || strcmp(t->name, "PCMA") == 0 || strcmp(t->name, "G722") == 0;
}

rg_player *rg_player_play_file(rg_media *m, const char *file, const char *pt_list, int repeats,
			       unsigned *duration_ms, char **err)
{
	const rg_codec_type *t;
	int pt;
	const char *fmtp;
	if (!file || !*file || strlen(file) > 1024) {
		*err = g_strdup("no prompt file given");
		return NULL;
	}
	if (!leg_codec(m, pt_list, &t, &pt, &fmtp)) {
		*err = g_strdup("no codec of that leg can be played");
		return NULL;
	}
	rg_player *p = player_new(m, file);
	p->pt = (uint8_t)pt;
	p->clock = t->rate;
	p->repeats_left = repeats == 0 ? 1 : repeats;
	/* rtpproxy's makeann convention first: "<prompt>.<pt>", raw octets of that payload type */
	char *pre = g_strdup_printf("%s.%d", file, pt);
	gsize len = 0;
	gchar *raw = NULL;
	if (sample_based(t) && g_file_get_contents(pre, &raw, &len, NULL) && len > 0) {
		p->raw = (uint8_t *)raw;
		p->n_raw = len;
		p->raw_frame = (size_t)t->rate * PTIME_MS / 1000;   /* one octet per clock tick: 160 */
		*duration_ms = (unsigned)(len * 1000 / t->rate);
		g_free(pre);
		start(m, p);
		return p;
	}
	g_free(raw);
	g_free(pre);
	int16_t *pcm = NULL;
	size_t n = 0;
	unsigned rate = 0;
	char *werr = NULL;
	const char *path = file;
	char *wav = NULL;
	if (!g_file_test(file, G_FILE_TEST_IS_REGULAR)) {
		wav = g_strdup_printf("%s.wav", file);
		path = wav;
	}
	int e = rg_wav_read(path, &pcm, &n, &rate, &werr);
	g_free(wav);
	if (e < 0) {
		*err = werr ? g_strdup(werr) : dup_err("cannot read %s", file);
		free(werr);
		rg_player_free(p);
		return NULL;
	}
	if (n / rate > RG_PLAYER_MAX_SECONDS) {
		free(pcm);
		rg_player_free(p);
		*err = dup_err("%s is longer than the 10 minutes a prompt may last", file);
		return NULL;
	}
	if ((e = audio_setup(p, t, fmtp)) < 0) {
		free(pcm);
		rg_player_free(p);
		*err = g_strdup("cannot encode for the leg's codec");
		return NULL;
	}
	if (rate != p->pcm_rate) {
		int16_t *rs = NULL;
		size_t m2 = 0;
		e = rg_resample_offline(pcm, n, rate, p->pcm_rate, &rs, &m2);
		free(pcm);
		if (e < 0) {
			rg_player_free(p);
			*err = g_strdup("cannot resample the prompt");
			return NULL;
		}
		pcm = rs;
		n = m2;
	}
	p->pcm = pcm;
	p->n_pcm = n;
	*duration_ms = (unsigned)((uint64_t)n * 1000 / p->pcm_rate);
	if (!n) {
		rg_player_free(p);
		*err = dup_err("%s has no audio", file);
		return NULL;
	}
	start(m, p);
	return p;
}

rg_player *rg_player_play_dtmf(rg_media *m, const char *digits, unsigned duration_ms, unsigned pause_ms,
			       int volume_dbm0, char **err)
{
	for (const char *d = digits; *d; d++) {
		if (rg_te_char_to_event(*d) < 0) {
			*err = g_strdup_printf("'%c' is not a DTMF digit", *d);
			return NULL;
		}
	}
	if (!*digits || strlen(digits) > 64) {
		*err = g_strdup("no DTMF digits, or more than 64");
		return NULL;
	}
	const rg_codec_type *t;
	int pt;
	const char *fmtp;
	if (!leg_codec(m, NULL, &t, &pt, &fmtp)) {
		*err = g_strdup("no codec of that leg can be played");
		return NULL;
	}
	char *what = g_strdup_printf("DTMF %s", digits);
	rg_player *p = player_new(m, what);
	g_free(what);
	unsigned ev_rate = 8000;
	int ev_pt = leg_events(m, t->rate, &ev_rate);
	if (volume_dbm0 > 0)
		volume_dbm0 = -volume_dbm0;
	if (ev_pt >= 0) {
		p->pt = (uint8_t)ev_pt;
		p->clock = ev_rate;
		p->digits = g_strdup(digits);
		p->on_units = duration_ms * ev_rate / 1000;
		p->pause_packets = (pause_ms + PTIME_MS - 1) / PTIME_MS;
		p->volume = (uint8_t)(volume_dbm0 < -63 ? 63 : -volume_dbm0);
		start(m, p);
		return p;
	}
	/* in-band: the tones as PCM at 8 kHz, then like a prompt */
	struct rg_dtmf_gen *gen;
	if (rg_dtmf_gen_new(&gen, volume_dbm0 < -50 ? -50 : volume_dbm0, 2) < 0 || audio_setup(p, t, fmtp) < 0) {
		rg_player_free(p);
		*err = g_strdup("cannot make DTMF tones for the leg's codec");
		return NULL;
	}
	for (const char *d = digits; *d; d++)
		rg_dtmf_gen_queue(gen, *d, duration_ms, pause_ms);
	size_t n8 = strlen(digits) * (size_t)(duration_ms + pause_ms) * 8, got = 0;
	int16_t *pcm8 = g_new0(int16_t, n8 + 1);
	rg_dtmf_gen_read(gen, pcm8, n8, &got);
	rg_dtmf_gen_free(gen);
	int16_t *pcm = NULL;
	size_t n = 0;
	int e = rg_resample_offline(pcm8, got, 8000, p->pcm_rate, &pcm, &n);
	g_free(pcm8);
	if (e < 0) {
		rg_player_free(p);
		*err = g_strdup("cannot make DTMF tones");
		return NULL;
	}
	p->pt = (uint8_t)pt;
	p->clock = t->rate;
	p->pcm = pcm;
	p->n_pcm = n;
	start(m, p);
	return p;
}

bool rg_player_stop(rg_media *m)
{
	if (!m->player)
		return false;
	bool was = m->player->pub.playing;
	rg_clog(RG_LOG_INFO, m->player->call->call_id, "media %u: %s stopped", m->index, m->player->what);
	rg_player_detach(m->player);
	return was;
}

void rg_player_detach(rg_player *p)
{
	if (p->media && p->media->player == p)
		p->media->player = NULL;
	p->pub.playing = false;
	p->detached = true;
	if (!p->watched)
		rg_player_free(p);
}

uint64_t rg_player_packets(const rg_player *p)
{
	return p->packets;
}

/* ---- sending ---- */

static void put_header(rg_player *p, bool marker, uint32_t ts)
{
	uint8_t *b = p->buf;
	b[0] = 0x80;
	b[1] = (uint8_t)((marker ? 0x80 : 0) | (p->pt & 0x7f));
	rg_put_be16(b + 2, p->seq);
	rg_put_be32(b + 4, ts);
	rg_put_be32(b + 8, p->ssrc);
	p->seq++;
}

static void send_pkt(rg_player *p, rg_worker *w, size_t len)
{
	p->packets++;
	rg_relay_send(w, p->media, p->buf, len, sizeof(p->buf), false);
}

/* One pass is over: again, or done. */
static bool next_pass(rg_player *p)
{
	p->pos = 0;
	if (p->repeats_left > 0)
		p->repeats_left--;
	return p->repeats_left != 0;
}

/* The next 20 ms of audio; false when done. */
static bool audio_packet(rg_player *p, rg_worker *w)
{
	size_t plen = 0;
	uint32_t inc = p->clock * PTIME_MS / 1000;
	if (p->raw) {
		if (p->pos >= p->n_raw && !next_pass(p))
			return false;
		size_t k = p->n_raw - p->pos < p->raw_frame ? p->n_raw - p->pos : p->raw_frame;
		memcpy(p->buf + 12, p->raw + p->pos, k);
		memset(p->buf + 12 + k, p->pt == 0 ? 0xff : p->pt == 8 ? 0xd5 : 0, p->raw_frame - k);   /* silence */
		p->pos += k;
		plen = p->raw_frame;
	} else {
		if (p->pos >= p->n_pcm && !next_pass(p))
			return false;
		static __thread int16_t frame[48000 * PTIME_MS / 1000];
		size_t k = p->n_pcm - p->pos < p->frame ? p->n_pcm - p->pos : p->frame;
		memcpy(frame, p->pcm + p->pos, k * sizeof(int16_t));
		memset(frame + k, 0, (p->frame - k) * sizeof(int16_t));
		p->pos += k;
		rg_pipeline_push_pcm(p->pipe, frame, p->frame, p->in_ts);
		p->in_ts += p->in_clock * PTIME_MS / 1000;
		if (rg_pipeline_pull(p->pipe, p->buf + 12, sizeof(p->buf) - 12 - 64, &plen, &inc) < 0)
			return true;   /* nothing ready this time (cannot happen with 20 ms in, 20 ms out) */
	}
	if (!p->first)
		p->ts += inc;
	put_header(p, p->first, p->ts);
	p->first = false;
	send_pkt(p, w, 12 + plen);
	return true;
}

/* The next RFC 4733 packet(s) of the digit sequence; false when done. */
static bool event_packet(rg_player *p, rg_worker *w)
{
	if (p->pause_left) {
		p->pause_left--;
		return true;
	}
	uint32_t step = p->clock * PTIME_MS / 1000;
	if (!p->gen_running) {
		if (!p->digits[p->digit])
			return false;
		if (!p->first)
			p->ts += step * (p->pause_packets + 1);
		rg_te_gen_start(&p->gen, (uint8_t)rg_te_char_to_event(p->digits[p->digit]), p->volume, p->ts, step,
				p->on_units);
		p->gen_running = true;
		p->first = false;
	}
	/* every packet the generator has for this 20 ms slot */
	struct rg_te_packet tp;
	uint32_t slot = -1u;
	for (;;) {
		struct rg_te_gen save = p->gen;
		int e = rg_te_gen_next(&p->gen, &tp);
		if (e == -ENOENT) {
			p->gen_running = false;
			p->digit++;
			p->ts += p->on_units;
			p->pause_left = p->pause_packets;
			return true;
		}
		if (slot == -1u)
			slot = tp.offset;
		else if (tp.offset != slot) {
			p->gen = save;   /* the next slot's packet: next tick */
			return true;
		}
		put_header(p, tp.marker, tp.timestamp);
		rg_te_build(&tp.ev, p->buf + 12, RG_TE_BLOCK_LEN);
		send_pkt(p, w, 12 + RG_TE_BLOCK_LEN);
	}
}

int rg_player_tick(rg_player *p, rg_worker *w)
{
	rg_call *c = p->call;
	int ret = -1;
	g_mutex_lock(&c->lock);
	if (c->dead || p->detached || !p->pub.playing)
		goto out;
	int64_t now = rg_mono_us();
	uint64_t due = (uint64_t)(now - p->start_us) / (PTIME_MS * 1000) + 1;
	if (due > p->due + MAX_CATCH_UP)
		p->due = due - MAX_CATCH_UP;   /* a stall: skip rather than burst */
	while (p->due < due) {
		p->due++;
		bool more = p->digits ? event_packet(p, w) : audio_packet(p, w);
		if (!more) {
			p->pub.playing = false;
			rg_clog(RG_LOG_INFO, c->call_id, "media %u: %s done (%" G_GUINT64_FORMAT " packets)",
				p->media->index, p->what, p->packets);
			goto out;
		}
	}
	int64_t next = p->start_us + (int64_t)p->due * PTIME_MS * 1000;
	ret = next > now ? (int)((next - now + 999) / 1000) : 0;
out:
	g_mutex_unlock(&c->lock);
	return ret;
}

void rg_player_unwatch(rg_player *p)
{
	rg_call *c = p->call;
	g_mutex_lock(&c->lock);
	p->watched = false;
	bool free_it = p->detached;
	g_mutex_unlock(&c->lock);
	if (free_it)
		rg_player_free(p);
	rg_call_unref(c);
}
