/* registry.c: the codec type table (style.md §7), parameters, and the encoder/decoder dispatch. */
#include "codec_priv.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RG_CODEC_MAX_TYPES 64

static const rg_codec_type *types[RG_CODEC_MAX_TYPES];
static unsigned n_types; /* published with g_atomic_int_set after the slot is written */
static GMutex reg_lock;

int rg_codec_register(const rg_codec_type *t)
{
	if (!t || !t->name || !t->rate)
		return -EINVAL;
	int err = 0;
	g_mutex_lock(&reg_lock);
	unsigned n = (unsigned)g_atomic_int_get(&n_types);
	for (unsigned i = 0; i < n; i++)
		if (types[i] == t) {
			err = -EEXIST;
			goto out;
		}
	if (n >= RG_CODEC_MAX_TYPES) {
		err = -ENOSPC;
		goto out;
	}
	types[n] = t;
	g_atomic_int_set(&n_types, (gint)(n + 1));
out:
	g_mutex_unlock(&reg_lock);
	return err;
}

int rg_codec_init(void)
{
	static gsize once;
	if (g_once_init_enter(&once)) {
		static const rg_codec_type *const builtin[] = {
			&rg_codec_pcmu,  &rg_codec_pcma,     &rg_codec_g722,     &rg_codec_opus,
			&rg_codec_amr_oa, &rg_codec_amr_be,  &rg_codec_amrwb_oa, &rg_codec_amrwb_be,
			&rg_codec_g729,  &rg_codec_tev8,     &rg_codec_tev16,    &rg_codec_tev48,
		};
		for (size_t i = 0; i < G_N_ELEMENTS(builtin); i++)
			rg_codec_register(builtin[i]);
		g_once_init_leave(&once, 1);
	}
	return 0;
}

int rg_codec_nth(const rg_codec_type **out, unsigned i)
{
	rg_codec_init();
	if (i >= (unsigned)g_atomic_int_get(&n_types))
		return -ENOENT;
	*out = types[i];
	return 0;
}

int rg_codec_find(const rg_codec_type **out, const char *name, unsigned rate, unsigned channels,
		  const char *fmtp)
{
	if (!name)
		return -EINVAL;
	rg_codec_init();
	unsigned n = (unsigned)g_atomic_int_get(&n_types);
	for (unsigned i = 0; i < n; i++) {
		const rg_codec_type *t = types[i];
		if (g_ascii_strcasecmp(t->name, name) != 0 || t->rate != rate)
			continue;
		if (channels && channels != t->channels)
			continue;
		if (!t->fmtp_match || t->fmtp_match(t, fmtp)) {
			*out = t;
			return 0;
		}
	}
	return -ENOENT;
}

int rg_codec_find_rtpmap(const rg_codec_type **out, const char *rtpmap, const char *fmtp)
{
	if (!rtpmap)
		return -EINVAL;
	const char *slash = strchr(rtpmap, '/');
	if (!slash || slash == rtpmap || (size_t)(slash - rtpmap) >= 64)
		return -EINVAL;
	char name[64];
	memcpy(name, rtpmap, (size_t)(slash - rtpmap));
	name[slash - rtpmap] = '\0';
	char *end;
	unsigned long rate = strtoul(slash + 1, &end, 10);
	if (end == slash + 1 || rate == 0 || rate > 1000000)
		return -EINVAL;
	unsigned long ch = 0;
	if (*end == '/') {
		const char *c = end + 1;
		ch = strtoul(c, &end, 10);
		if (end == c || ch == 0 || ch > 8)
			return -EINVAL;
	}
	if (*end)
		return -EINVAL;
	return rg_codec_find(out, name, (unsigned)rate, (unsigned)ch, fmtp);
}

void rg_codec_params_default(const rg_codec_type *t, rg_codec_params *out)
{
	memset(out, 0, sizeof(*out));
	out->opus.maxplaybackrate = 48000;
	out->opus.sprop_maxcapturerate = 48000;
	out->opus.complexity = -1;
	out->amr.mode_set = RG_AMR_MODES_ALL;
	out->amr.mode_change_period = 1;
	out->amr.mode_change_capability = 1;
	out->amr.mode = -1;
	out->amr.cmr = 15;
	out->amr.octet_align = t && (t->flags & RG_CODEC_F_OCTET_ALIGN);
	out->event.events[0] = 0xffff; /* RFC 4733 §2.4.1: "0-15" when not given */
}

int rg_codec_params_parse(const rg_codec_type *t, const char *fmtp, rg_codec_params *out)
{
	rg_codec_params p;
	rg_codec_params_default(t, &p);
	if (t->fmtp_parse) {
		int err = t->fmtp_parse(t, fmtp, &p);
		if (err)
			return err;
	}
	*out = p;
	return 0;
}

unsigned rg_codec_frame_ms(const rg_codec_type *t, unsigned ptime_ms)
{
	if (t->flags & RG_CODEC_F_SAMPLE_BASED)
		return ptime_ms;
	unsigned best = 0;
	for (size_t i = 0; i < sizeof(t->frame_ms) && t->frame_ms[i]; i++)
		if (ptime_ms % t->frame_ms[i] == 0)
			best = t->frame_ms[i];
	return best;
}

/* RFC 4867 §3.6 / 3GPP TS 26.101 table 1a (AMR), TS 26.201 table 1a (AMR-WB): speech bits per
 * frame type; SID frames carry 39 and 40 bits (TS 26.101/26.201). */
static const uint16_t amr_bits[16] = {95, 103, 118, 134, 148, 159, 204, 244, 39};
static const uint16_t amrwb_bits[16] = {132, 177, 253, 285, 317, 365, 397, 461, 477, 40};
static const unsigned amr_rate[8] = {4750, 5150, 5900, 6700, 7400, 7950, 10200, 12200};
static const unsigned amrwb_rate[9] = {6600, 8850, 12650, 14250, 15850, 18250, 19850, 23050, 23850};

int rg_amr_frame_len(bool wideband, unsigned ft)
{
	if (ft == 15 || (wideband && ft == 14))
		return 1; /* NO_DATA; AMR-WB SPEECH_LOST */
	if (ft > 15)
		return -EINVAL;
	unsigned bits = wideband ? amrwb_bits[ft] : amr_bits[ft];
	if (!bits)
		return -EINVAL; /* reserved, or a 3GPP-private SID type we do not support */
	return 1 + (int)((bits + 7) / 8);
}

unsigned rg_amr_mode_bitrate(bool wideband, unsigned ft)
{
	if (wideband)
		return ft < 9 ? amrwb_rate[ft] : 0;
	return ft < 8 ? amr_rate[ft] : 0;
}

/* ---- encoder / decoder dispatch ---- */

int rg_enc_new(rg_encoder **out, const rg_codec_type *t, const rg_codec_params *p, unsigned pcm_rate,
	       unsigned channels)
{
	if (!out || !t)
		return -EINVAL;
	if (!t->encoder_new)
		return -ENOTSUP;
	rg_codec_params def;
	if (!p) {
		rg_codec_params_default(t, &def);
		p = &def;
	}
	return t->encoder_new(out, t, p, pcm_rate, channels ? channels : 1);
}

void rg_enc_free(rg_encoder *e)
{
	if (e)
		e->ops->free(e);
}

int rg_enc_encode(rg_encoder *e, const int16_t *pcm, unsigned samples, uint8_t *out, size_t cap, size_t *outlen)
{
	if (!e || !pcm || !out || !outlen || !samples)
		return -EINVAL;
	return e->ops->encode(e, pcm, samples, out, cap, outlen);
}

int rg_enc_set_bitrate(rg_encoder *e, unsigned bps)
{
	if (!e)
		return -EINVAL;
	if (!e->ops->set_bitrate)
		return -ENOTSUP;
	return e->ops->set_bitrate(e, bps);
}

unsigned rg_enc_rate(const rg_encoder *e)
{
	return e->rate;
}

unsigned rg_enc_channels(const rg_encoder *e)
{
	return e->channels;
}

const rg_codec_type *rg_enc_type(const rg_encoder *e)
{
	return e->type;
}

int rg_dec_new(rg_decoder **out, const rg_codec_type *t, const rg_codec_params *p, unsigned pcm_rate,
	       unsigned channels)
{
	if (!out || !t)
		return -EINVAL;
	if (!t->decoder_new)
		return -ENOTSUP;
	rg_codec_params def;
	if (!p) {
		rg_codec_params_default(t, &def);
		p = &def;
	}
	return t->decoder_new(out, t, p, pcm_rate, channels ? channels : 1);
}

void rg_dec_free(rg_decoder *d)
{
	if (d)
		d->ops->free(d);
}

int rg_dec_decode(rg_decoder *d, const uint8_t *payload, size_t len, int16_t *pcm, unsigned cap,
		  unsigned *samples)
{
	if (!d || (!payload && len) || !pcm || !samples)
		return -EINVAL;
	if (!len)
		return -EINVAL;
	return d->ops->decode(d, payload, len, pcm, cap, samples);
}

int rg_dec_conceal(rg_decoder *d, unsigned lost, int16_t *pcm, unsigned cap, unsigned *samples)
{
	if (!d || !pcm || !samples)
		return -EINVAL;
	if (lost > cap)
		return -ENOBUFS;
	return d->ops->conceal(d, lost, pcm, cap, samples);
}

int rg_dec_decode_fec(rg_decoder *d, const uint8_t *next, size_t len, unsigned lost, int16_t *pcm, unsigned cap,
		      unsigned *samples)
{
	if (!d || !next || !len || !pcm || !samples)
		return -EINVAL;
	if (!d->ops->decode_fec)
		return -ENOTSUP;
	if (lost > cap)
		return -ENOBUFS;
	return d->ops->decode_fec(d, next, len, lost, pcm, cap, samples);
}

bool rg_dec_has_fec(const rg_decoder *d)
{
	return d->ops->decode_fec != NULL;
}

unsigned rg_dec_rate(const rg_decoder *d)
{
	return d->rate;
}

unsigned rg_dec_channels(const rg_decoder *d)
{
	return d->channels;
}

const rg_codec_type *rg_dec_type(const rg_decoder *d)
{
	return d->type;
}
