/* Codec negotiation: codec lists of SDP media, the NG codec ops (ng-protocol 6.4), and the
 * relay-or-transcode decision after the answer. See codec_neg.h. */
#include "codec_neg.h"
#include "log.h"
#include "rg_codec.h"
#include "transcode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 3551 static payload types (audio) */
static const struct { int pt; const char *name; unsigned rate; } static_pts[] = {
	{ 0, "PCMU", 8000 }, { 3, "GSM", 8000 }, { 4, "G723", 8000 }, { 8, "PCMA", 8000 },
	{ 9, "G722", 8000 }, { 13, "CN", 8000 }, { 18, "G729", 8000 },
};

void rg_cn_codec_free(rg_cn_codec *c)
{
	if (!c)
		return;
	g_free(c->name);
	g_free(c->fmtp);
	g_free(c);
}

static rg_cn_codec *cn_copy(const rg_cn_codec *c)
{
	rg_cn_codec *n = g_new(rg_cn_codec, 1);
	*n = *c;
	n->name = g_strdup(c->name);
	n->fmtp = g_strdup(c->fmtp);
	return n;
}

static GPtrArray *cn_list_new(void)
{
	return g_ptr_array_new_with_free_func((GDestroyNotify)rg_cn_codec_free);
}

static rg_media_codecs *codecs_of(rg_media *m)
{
	if (!m->codecs)
		m->codecs = g_new0(rg_media_codecs, 1);
	return m->codecs;
}

static void set_list(GPtrArray **where, GPtrArray *l)
{
	if (*where)
		g_ptr_array_free(*where, TRUE);
	*where = l;
}

static void clear_xc_info(rg_media_codecs *mc)
{
	rg_cn_codec_free(mc->xc_from);
	rg_cn_codec_free(mc->xc_to);
	mc->xc_from = mc->xc_to = NULL;
	set_list(&mc->xc_also, NULL);
	mc->xc_ptime = 0;
}

static void drop_transcoder(rg_media_codecs *mc)
{
	if (mc && mc->xc) {
		rg_transcoder_free(mc->xc);
		mc->xc = NULL;
	}
	if (mc)
		clear_xc_info(mc);
}

void rg_media_codecs_free(rg_media_codecs *mc)
{
	if (!mc)
		return;
	drop_transcoder(mc);
	set_list(&mc->own, NULL);
	set_list(&mc->sent, NULL);
	set_list(&mc->set, NULL);
	g_free(mc);
}

const char *rg_cn_codec_str(const rg_cn_codec *c, char *buf, size_t len)
{
	if (c->channels)
		snprintf(buf, len, "%s/%u/%u", c->name, c->rate, c->channels);
	else
		snprintf(buf, len, "%s/%u", c->name, c->rate);
	return buf;
}

/* "PT rest" attribute value: the PT, *rest after the space (NULL if none); -1 if no PT */
static int attr_pt(const char *v, const char **rest)
{
	if (!v || !g_ascii_isdigit(*v))
		return -1;
	char *end;
	long pt = strtol(v, &end, 10);
	if (pt < 0 || pt > 127 || (*end && *end != ' '))
		return -1;
	while (*end == ' ')
		end++;
	if (rest)
		*rest = *end ? end : NULL;
	return (int)pt;
}

static const char *attr_for_pt(GPtrArray *attrs, const char *name, int pt)
{
	for (guint i = 0; attrs && i < attrs->len; i++) {
		sdp_attr *a = attrs->pdata[i];
		const char *rest = NULL;
		if (strcmp(a->name, name) == 0 && attr_pt(a->value, &rest) == pt)
			return rest ? rest : "";
	}
	return NULL;
}

static bool is_event(const char *name)
{
	return g_ascii_strcasecmp(name, "telephone-event") == 0;
}

GPtrArray *rg_cn_parse(const sdp_media *sm)
{
	GPtrArray *l = cn_list_new();
	for (guint i = 0; i < sm->fmts->len; i++) {
		const char *f = sm->fmts->pdata[i];
		int pt = attr_pt(f, NULL);
		if (pt < 0)
			continue;
		rg_cn_codec *c = g_new0(rg_cn_codec, 1);
		c->pt = pt;
		const char *map = attr_for_pt(sm->attrs, "rtpmap", pt);
		if (map && *map) {
			gchar **p = g_strsplit(map, "/", 3);
			c->name = g_strdup(p[0]);
			c->rate = p[1] ? (unsigned)strtoul(p[1], NULL, 10) : 0;
			c->channels = p[1] && p[2] ? (unsigned)strtoul(p[2], NULL, 10) : 0;
			g_strfreev(p);
		} else {
			for (size_t k = 0; k < G_N_ELEMENTS(static_pts); k++)
				if (static_pts[k].pt == pt) {
					c->name = g_strdup(static_pts[k].name);
					c->rate = static_pts[k].rate;
				}
			if (!c->name)
				c->name = g_strdup_printf("pt%d", pt);
		}
		const char *fmtp = attr_for_pt(sm->attrs, "fmtp", pt);
		c->fmtp = fmtp ? g_strdup(fmtp) : NULL;
		c->event = is_event(c->name);
		g_ptr_array_add(l, c);
	}
	return l;
}

static unsigned chans(unsigned c)
{
	return c ? c : 1;
}

static bool same_codec(const rg_cn_codec *a, const rg_cn_codec *b)
{
	/* "opus/48000" and "opus/48000/2" are taken as the same codec (channels only compared when
	 * both sides write them) */
	return g_ascii_strcasecmp(a->name, b->name) == 0 && a->rate == b->rate &&
	       (!a->channels || !b->channels || a->channels == b->channels);
}

/* codec spec "name[/rate[/channels[/...]]]" against an entry */
static bool spec_match(rg_str spec, const rg_cn_codec *c)
{
	char *s = rg_str_dup(spec);
	gchar **p = g_strsplit(s, "/", 4);
	bool ok = p[0] && g_ascii_strcasecmp(p[0], c->name) == 0;   /* p[0] NULL: spec "" (a NUL in it) */
	if (ok && p[1] && *p[1] && strtoul(p[1], NULL, 10) != c->rate)
		ok = false;
	if (ok && p[1] && p[2] && *p[2] && strtoul(p[2], NULL, 10) != chans(c->channels))
		ok = false;
	g_strfreev(p);
	g_free(s);
	return ok;
}

static bool op_all(const ng_req *r, unsigned op)
{
	for (unsigned i = 0; i < r->n_codec[op]; i++)
		if (rg_str_ieq_c(r->codec[op][i], "all") || rg_str_ieq_c(r->codec[op][i], "full"))
			return true;
	return false;
}

static bool op_match(const ng_req *r, unsigned op, const rg_cn_codec *c)
{
	for (unsigned i = 0; i < r->n_codec[op]; i++)
		if (spec_match(r->codec[op][i], c))
			return true;
	return false;
}

static bool pt_used(GPtrArray *a, int pt)
{
	for (guint i = 0; a && i < a->len; i++)
		if (((rg_cn_codec *)a->pdata[i])->pt == pt)
			return true;
	return false;
}

/* a payload type for a codec we add: its static one if free, else the lowest free dynamic */
static int pick_pt(const char *name, unsigned rate, GPtrArray *own, GPtrArray *out)
{
	for (size_t k = 0; k < G_N_ELEMENTS(static_pts); k++)
		if (g_ascii_strcasecmp(static_pts[k].name, name) == 0 && static_pts[k].rate == rate &&
		    !pt_used(own, static_pts[k].pt) && !pt_used(out, static_pts[k].pt))
			return static_pts[k].pt;
	for (int pt = 96; pt <= 127; pt++)
		if (!pt_used(own, pt) && !pt_used(out, pt))
			return pt;
	return -1;
}

/* registry lookup; rate 0 = the first entry of that name */
static int find_type(const rg_codec_type **out, const char *name, unsigned rate, unsigned ch, const char *fmtp)
{
	if (rate)
		return rg_codec_find(out, name, rate, ch, fmtp);
	const rg_codec_type *t;
	for (unsigned i = 0; rg_codec_nth(&t, i) == 0; i++)
		if (g_ascii_strcasecmp(t->name, name) == 0 && (!ch || ch == t->channels))
			return rg_codec_find(out, name, t->rate, ch, fmtp);
	return -ENOENT;
}

static const char *default_fmtp(const rg_codec_type *t)
{
	if (t->flags & RG_CODEC_F_OPUS)
		return "minptime=10;useinbandfec=1";
	if (t->flags & RG_CODEC_F_EVENT)
		return "0-15";
	return NULL;
}

static rg_cn_codec *find_same(GPtrArray *a, const rg_cn_codec *c)
{
	for (guint i = 0; a && i < a->len; i++)
		if (same_codec(a->pdata[i], c))
			return a->pdata[i];
	return NULL;
}

static rg_cn_codec *new_codec(const rg_codec_type *t, int pt)
{
	rg_cn_codec *c = g_new0(rg_cn_codec, 1);
	c->pt = pt;
	c->name = g_strdup(t->name);
	c->rate = t->rate;
	c->channels = t->channels > 1 ? t->channels : 0;
	c->fmtp = g_strdup(default_fmtp(t));
	c->added = true;
	c->event = (t->flags & RG_CODEC_F_EVENT) != 0;
	return c;
}

static const rg_codec_type *type_of(const rg_cn_codec *c)
{
	const rg_codec_type *t = NULL;
	if (rg_codec_find(&t, c->name, c->rate, c->channels, c->fmtp) < 0)
		return NULL;
	return t;
}

/* Write a codec list into an SDP media section: m= formats, rtpmap and fmtp lines; rtcp-fb lines
 * of payload types that are gone are dropped. */
static void apply_list(sdp_media *sm, GPtrArray *l)
{
	g_ptr_array_set_size(sm->fmts, 0);
	for (guint i = 0; i < l->len; i++)
		g_ptr_array_add(sm->fmts, g_strdup_printf("%d", ((rg_cn_codec *)l->pdata[i])->pt));
	guint at = G_MAXUINT;
	for (guint i = 0; i < sm->attrs->len;) {
		sdp_attr *a = sm->attrs->pdata[i];
		bool map = strcmp(a->name, "rtpmap") == 0 || strcmp(a->name, "fmtp") == 0;
		bool fb = strcmp(a->name, "rtcp-fb") == 0;
		if (map || fb) {
			if (at == G_MAXUINT)
				at = i;
			if (map || (a->value && a->value[0] != '*' && !pt_used(l, attr_pt(a->value, NULL)))) {
				g_ptr_array_remove_index(sm->attrs, i);
				continue;
			}
		}
		i++;
	}
	if (at == G_MAXUINT || at > sm->attrs->len)
		at = sm->attrs->len;
	for (guint i = 0; i < l->len; i++) {
		rg_cn_codec *c = l->pdata[i];
		char v[256];
		if (c->channels)
			snprintf(v, sizeof(v), "%d %s/%u/%u", c->pt, c->name, c->rate, c->channels);
		else
			snprintf(v, sizeof(v), "%d %s/%u", c->pt, c->name, c->rate);
		sdp_attr_add(sm->attrs, "rtpmap", v);
		g_ptr_array_insert(sm->attrs, (gint)at++, g_ptr_array_steal_index(sm->attrs, sm->attrs->len - 1));
		if (c->fmtp) {
			char *f = g_strdup_printf("%d %s", c->pt, c->fmtp);
			sdp_attr_add(sm->attrs, "fmtp", f);
			g_free(f);
			g_ptr_array_insert(sm->attrs, (gint)at++, g_ptr_array_steal_index(sm->attrs, sm->attrs->len - 1));
		}
	}
}

static unsigned sdp_ptime(const sdp_media *sm)
{
	const char *v = sdp_attr_value(sm->attrs, "ptime");
	return v ? (unsigned)strtoul(v, NULL, 10) : 0;
}

static bool any_ops(const ng_req *r)
{
	for (unsigned op = 0; op < NG_CODEC__N; op++)
		if (op != NG_CODEC_SET && op != NG_CODEC_ACCEPT && r->n_codec[op])
			return true;
	return false;
}

static bool rtp_media(const sdp_media *sm)
{
	return sm->proto && strstr(sm->proto, "RTP/") != NULL;
}

/* ---- codec-set, accept, ptime (offer side) ---- */

static void cn_set_free(rg_cn_set *e)
{
	if (!e)
		return;
	g_free(e->name);
	g_free(e->fmtp);
	g_free(e);
}

/* a decimal field of a codec string: "" = 0 */
static bool num_field(const char *f, unsigned max, unsigned *out)
{
	*out = 0;
	if (!f || !*f)
		return true;
	unsigned long v = 0;
	for (const char *p = f; *p; p++) {
		if (!g_ascii_isdigit(*p))
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > max)
			return false;
	}
	*out = (unsigned)v;
	return true;
}

/* codec-set entries of an offer: "name[/clock[/channels[/bitrate[/ptime[/fmtp]]]]]" with "--" for
 * "=" in the fmtp (ng-protocol 6.4). rtpengine takes bitrate and codec options from them for
 * codecs it transcodes; rtpgate takes bitrate (Opus, AMR), ptime and fmtp. Anything malformed is
 * a warning and the entry is left out. NULL when none is left. */
static GPtrArray *parse_sets(ng_req *r, bool warn)
{
	if (!r->n_codec[NG_CODEC_SET])
		return NULL;
	GPtrArray *l = g_ptr_array_new_with_free_func((GDestroyNotify)cn_set_free);
	for (unsigned k = 0; k < r->n_codec[NG_CODEC_SET]; k++) {
		char *spec = rg_str_dup(r->codec[NG_CODEC_SET][k]);
		gchar **p = g_strsplit(spec, "/", 7);
		rg_cn_set e = { 0 };
		const char *bad = NULL;
		if (!p[0] || !*p[0])
			bad = "no codec name";
		else if (!num_field(p[1], 192000, &e.rate))
			bad = "bad clock rate";
		else if (p[1] && !num_field(p[2], 8, &e.channels))
			bad = "bad channel count";
		else if (p[1] && p[2] && !num_field(p[3], 10000000, &e.bitrate))
			bad = "bad bitrate";
		else if (p[1] && p[2] && p[3] && !num_field(p[4], 100000, &e.ptime))
			bad = "bad ptime";
		const rg_codec_type *t = NULL;
		if (!bad && find_type(&t, p[0], e.rate, 0, NULL) < 0)
			bad = "not a codec rtpgate transcodes";
		if (!bad && t && (t->flags & RG_CODEC_F_EVENT))
			bad = "not an audio codec";
		if (!bad && p[1] && p[2] && p[3] && p[4] && p[5] && *p[5]) {
			GString *f = g_string_new(NULL);
			for (const char *c = p[5]; *c; c++) {
				if (c[0] == '-' && c[1] == '-') {
					g_string_append_c(f, '=');
					c++;
				} else {
					g_string_append_c(f, *c);
				}
			}
			rg_codec_params cp;
			if (rg_codec_params_parse(t, f->str, &cp) < 0) {
				if (warn)
					ng_warn(r, "codec 'set' '%s': fmtp '%s' is not valid for %s: fmtp ignored", spec,
						f->str, t->name);
				g_string_free(f, TRUE);
			} else {
				e.fmtp = g_string_free(f, FALSE);
			}
		}
		if (!bad && e.ptime > RG_PIPELINE_MAX_PACKET_MS) {
			if (warn)
				ng_warn(r, "codec 'set' '%s': ptime %u ms is more than %u: ptime ignored", spec, e.ptime,
					RG_PIPELINE_MAX_PACKET_MS);
			e.ptime = 0;
		}
		if (!bad && p[1] && p[2] && p[3] && p[4] && p[5] && p[6] && warn)
			ng_warn(r, "codec 'set' '%s': codec options are not supported: ignored", spec);
		if (!bad && !e.bitrate && !e.ptime && !e.fmtp)
			bad = "nothing to set (name/clock/channels/bitrate/ptime/fmtp)";
		if (bad) {
			if (warn)
				ng_warn(r, "codec 'set' '%s' ignored: %s", spec, bad);
			g_free(e.fmtp);
		} else {
			e.name = g_strdup(p[0]);
			g_ptr_array_add(l, g_memdup2(&e, sizeof(e)));
		}
		g_strfreev(p);
		g_free(spec);
	}
	if (!l->len) {
		g_ptr_array_free(l, TRUE);
		return NULL;
	}
	return l;
}

/* ptime / ptime-reverse of an offer: 0 = not given; out of the pipeline's range = warning */
static unsigned offer_ptime(ng_req *r, int64_t v, const char *what, bool warn)
{
	if (v <= 0)
		return 0;
	if (v > RG_PIPELINE_MAX_PACKET_MS) {
		if (warn)
			ng_warn(r, "'%s' %lld ms is out of range (1-%u): ignored", what, (long long)v,
				RG_PIPELINE_MAX_PACKET_MS);
		return 0;
	}
	return (unsigned)v;
}

static bool accepted_by(const ng_req *r, const rg_cn_codec *c)
{
	return r->always_transcode || op_all(r, NG_CODEC_ACCEPT) || op_match(r, NG_CODEC_ACCEPT, c) ||
	       op_all(r, NG_CODEC_CONSUME) || op_match(r, NG_CODEC_CONSUME, c);
}

/* accept, consume and always-transcode (= accept all): the offerer's codecs it may keep even when
 * the answerer rejects them (then transcoded). A codec stripped by name stays out: strip means
 * "as if it had never been offered". */
static void mark_accepted(GPtrArray *own, const ng_req *r)
{
	for (guint i = 0; i < own->len; i++) {
		rg_cn_codec *c = own->pdata[i];
		c->accept = !c->event && accepted_by(r, c) && !op_match(r, NG_CODEC_STRIP, c);
	}
}

/* accept/consume naming a codec we cannot transcode: said once per request */
static void check_accept_specs(ng_req *r)
{
	const unsigned ops[] = { NG_CODEC_ACCEPT, NG_CODEC_CONSUME };
	for (size_t o = 0; o < G_N_ELEMENTS(ops); o++) {
		for (unsigned k = 0; k < r->n_codec[ops[o]]; k++) {
			rg_str spec = r->codec[ops[o]][k];
			if (rg_str_ieq_c(spec, "all") || rg_str_ieq_c(spec, "full") || rg_str_ieq_c(spec, "any"))
				continue;
			char *s = rg_str_dup(spec);
			gchar **p = g_strsplit(s, "/", 4);
			unsigned rate = 0, ch = 0;
			const rg_codec_type *t = NULL;
			bool ok = p[0] && num_field(p[1], 192000, &rate) && (!p[1] || num_field(p[2], 8, &ch)) &&
				  find_type(&t, p[0], rate, 0, NULL) == 0 && !(t->flags & RG_CODEC_F_EVENT);
			if (!ok)
				ng_warn(r, "codec '%s' %s cannot be transcoded: %s", ng_codec_op_names[ops[o]], s,
					ops[o] == NG_CODEC_ACCEPT ? "not accepted" : "only masked");
			g_strfreev(p);
			g_free(s);
		}
	}
}

void rg_codec_offer(rg_media *mf, rg_media *mt, sdp_media *sm, ng_req *r)
{
	rg_media_codecs *cf = codecs_of(mf), *ct = codecs_of(mt);
	bool first = mf->index == 1;   /* request-wide warnings once, not per m= line */
	set_list(&cf->own, rg_cn_parse(sm));
	cf->ptime = sdp_ptime(sm);
	set_list(&ct->sent, NULL);
	ct->ops = false;
	/* each offer says anew what is forced: ptime toward the recipient, ptime-reverse toward the
	 * offerer (written into the answer); a re-offer without them ends them */
	bool audio = sm->media && g_ascii_strcasecmp(sm->media, "audio") == 0;   /* a=ptime is audio's */
	unsigned pt = offer_ptime(r, r->ptime, "ptime", first), ptr = offer_ptime(r, r->ptime_reverse, "ptime-reverse", first);
	ct->force_ptime = audio ? pt : 0;
	cf->force_ptime = audio ? ptr : 0;
	set_list(&cf->set, parse_sets(r, first));
	mark_accepted(cf->own, r);
	if (first)
		check_accept_specs(r);
	if (!any_ops(r) || sm->port == 0 || !rtp_media(sm) || !cf->own->len)
		return;
	GPtrArray *own = cf->own;
	GPtrArray *out = cn_list_new();
	bool strip_all = op_all(r, NG_CODEC_STRIP) || op_all(r, NG_CODEC_MASK) || op_all(r, NG_CODEC_CONSUME);
	bool had_event = false;
	/* strip / mask / consume, with except and offer as the whitelist */
	for (guint i = 0; i < own->len; i++) {
		rg_cn_codec *c = own->pdata[i];
		had_event |= c->event;
		bool removed = strip_all || op_match(r, NG_CODEC_STRIP, c) || op_match(r, NG_CODEC_MASK, c) ||
			       op_match(r, NG_CODEC_CONSUME, c);
		if (removed && !op_match(r, NG_CODEC_EXCEPT, c) && !op_match(r, NG_CODEC_OFFER, c))
			continue;
		g_ptr_array_add(out, cn_copy(c));
	}
	/* offer: to the front, in the order given */
	for (unsigned k = r->n_codec[NG_CODEC_OFFER]; k-- > 0;) {
		for (guint i = 0, front = 0; i < out->len; i++) {
			if (!spec_match(r->codec[NG_CODEC_OFFER][k], out->pdata[i]))
				continue;
			gpointer c = g_ptr_array_steal_index(out, i);
			g_ptr_array_insert(out, (gint)front++, c);
		}
	}
	/* transcode: restore what the offerer has, else add the codec with a payload type of ours */
	for (unsigned k = 0; k < r->n_codec[NG_CODEC_TRANSCODE]; k++) {
		rg_str spec = r->codec[NG_CODEC_TRANSCODE][k];
		bool have = false;
		for (guint i = 0; i < out->len && !have; i++)
			have = spec_match(spec, out->pdata[i]);
		for (guint i = 0; i < own->len && !have; i++) {
			if (spec_match(spec, own->pdata[i])) {
				g_ptr_array_add(out, cn_copy(own->pdata[i]));
				have = true;
			}
		}
		if (have)
			continue;
		/* rtpengine's spec: name/clock/channels/bitrate/ptime/fmtp/options, "--" for "=" in the
		 * fmtp (a Kamailio flag cannot carry '='): e.g. AMR-WB/16000/1/23850//octet-align--1 */
		char *s = rg_str_dup(spec);
		gchar **p = g_strsplit(s, "/", 7);
		guint np = g_strv_length(p);
		unsigned rate = np > 1 ? (unsigned)strtoul(p[1], NULL, 10) : 0;
		unsigned ch = np > 2 ? (unsigned)strtoul(p[2], NULL, 10) : 0;
		char *fmtp = NULL;
		if (np > 5 && *p[5]) {
			gchar **q = g_strsplit(p[5], "--", -1);
			fmtp = g_strjoinv("=", q);
			g_strfreev(q);
		}
		bool ctl = false;   /* an fmtp goes into the SDP: no line breaks or other control octets */
		for (const char *c = fmtp; c && *c; c++)
			ctl |= (unsigned char)*c < 0x20 || *c == 0x7f;
		const rg_codec_type *t = NULL;
		if (ctl) {
			ng_warn(r, "codec '%s': control characters in its fmtp: not added", s);
		} else if (!np || find_type(&t, p[0], rate, ch, fmtp) < 0 || (t->flags & RG_CODEC_F_EVENT)) {
			ng_warn(r, "codec '%s' cannot be transcoded: not added", s);
		} else {
			int pt = pick_pt(t->name, t->rate, own, out);
			if (pt >= 0) {
				rg_cn_codec *c = new_codec(t, pt);
				if (fmtp) {
					g_free(c->fmtp);
					c->fmtp = g_strdup(fmtp);
				}
				g_ptr_array_add(out, c);
			} else {
				ng_warn(r, "no free payload type for codec '%s'", s);
			}
		}
		g_free(fmtp);
		g_strfreev(p);
		g_free(s);
	}
	/* telephone-event follows the audio clock rates when the offerer has it */
	if (had_event) {
		for (guint i = 0; i < out->len; i++) {
			rg_cn_codec *c = out->pdata[i];
			if (c->event)
				continue;
			rg_cn_codec want = { .name = (char *)"telephone-event", .rate = c->rate };
			if (find_same(out, &want))
				continue;
			rg_cn_codec *o = find_same(own, &want);
			const rg_codec_type *t = NULL;
			if (o)
				g_ptr_array_add(out, cn_copy(o));
			else if (rg_codec_find(&t, "telephone-event", c->rate, 0, NULL) == 0) {
				int pt = pick_pt(t->name, t->rate, own, out);
				if (pt >= 0)
					g_ptr_array_add(out, new_codec(t, pt));
			}
		}
	}
	for (guint i = 0; i < out->len;) {   /* no event without audio at its rate */
		rg_cn_codec *c = out->pdata[i];
		bool keep = !c->event;
		for (guint j = 0; j < out->len && !keep; j++) {
			rg_cn_codec *a = out->pdata[j];
			keep = !a->event && a->rate == c->rate;
		}
		if (keep)
			i++;
		else
			g_ptr_array_remove_index(out, i);
	}
	if (!out->len) {
		ng_warn(r, "codec ops left no codec for media %u: offered unchanged", mf->index);
		g_ptr_array_free(out, TRUE);
		return;
	}
	ct->sent = out;
	ct->ops = true;
}

static void decide(rg_media *ma, rg_media_codecs *ca, rg_media_codecs *co, sdp_media *sm, ng_req *r);

/* ptime, ptime-reverse and codec-set in an answer are ignored, as rtpengine does (the offer set
 * them); accept, always-transcode and single-codec are read from the answer. */
const char *rg_codec_answer(rg_media *ma, rg_media *mo, sdp_media *sm, ng_req *r)
{
	rg_media_codecs *ca = codecs_of(ma), *co = codecs_of(mo);
	set_list(&ca->own, rg_cn_parse(sm));
	ca->ptime = sdp_ptime(sm);
	/* the transcoders of an earlier answer: replaced below, their output streams continued */
	rg_transcoder *old_a = ca->xc, *old_o = co->xc;
	ca->xc = co->xc = NULL;
	clear_xc_info(ca);
	clear_xc_info(co);
	set_list(&co->sent, NULL);
	decide(ma, ca, co, sm, r);
	if (ca->xc)
		rg_transcoder_continue(ca->xc, old_a);
	if (co->xc)
		rg_transcoder_continue(co->xc, old_o);
	rg_transcoder_free(old_a);
	rg_transcoder_free(old_o);
	return NULL;
}

/* ---- answer: relay, transcode or repacketize ---- */

static rg_cn_codec *first_audio(GPtrArray *l)
{
	for (guint i = 0; l && i < l->len; i++) {
		rg_cn_codec *c = l->pdata[i];
		if (!c->event && g_ascii_strcasecmp(c->name, "CN") != 0)   /* CN is no codec of its own */
			return c;
	}
	return NULL;
}

/* the codec-set entry (of the offer) for codec c. Opus is always "opus/48000/2" in SDP (RFC 7587),
 * mono or stereo being an fmtp matter, so a set for opus/48000/1 applies to it as well. */
static const rg_cn_set *set_for(GPtrArray *sets, const rg_cn_codec *c)
{
	for (guint i = 0; sets && i < sets->len; i++) {
		const rg_cn_set *e = sets->pdata[i];
		if (g_ascii_strcasecmp(e->name, c->name) != 0 || (e->rate && e->rate != c->rate))
			continue;
		if (e->channels && e->channels != chans(c->channels) && g_ascii_strcasecmp(c->name, "opus") != 0)
			continue;
		return e;
	}
	return NULL;
}

/* "k=v" (or a bare "k") into an ordered key list, replacing the same key */
static void fmtp_put(GPtrArray *kv, const char *item)
{
	size_t kl = strcspn(item, "=");
	for (guint i = 0; i < kv->len; i++) {
		const char *e = kv->pdata[i];
		if (strcspn(e, "=") == kl && g_ascii_strncasecmp(e, item, kl) == 0) {
			g_free(kv->pdata[i]);
			kv->pdata[i] = g_strdup(item);
			return;
		}
	}
	g_ptr_array_add(kv, g_strdup(item));
}

static void fmtp_merge(GPtrArray *kv, const char *fmtp)
{
	if (!fmtp)
		return;
	gchar **items = g_strsplit(fmtp, ";", -1);
	for (gchar **i = items; *i; i++) {
		g_strstrip(*i);
		if (**i)
			fmtp_put(kv, *i);
	}
	g_strfreev(items);
}

static char *fmtp_join(GPtrArray *kv)
{
	if (!kv->len)
		return NULL;
	g_ptr_array_add(kv, NULL);
	char *s = g_strjoinv(";", (gchar **)kv->pdata);
	g_ptr_array_remove_index(kv, kv->len - 1);
	return s;
}

/* A bitrate as the encoder's fmtp knows it: Opus maxaveragebitrate (a ceiling: the encoder's own
 * default, by PCM rate, is not raised), AMR the modes of the mode-set at or below it (the encoder
 * takes the highest; the lowest allowed mode when none is that low). */
static void fmtp_bitrate(GPtrArray *kv, const rg_codec_type *t, unsigned bps, ng_req *r, unsigned idx)
{
	if (t->flags & RG_CODEC_F_OPUS) {
		if (bps < 6000 || bps > 510000) {
			ng_warn(r, "media %u: opus bitrate %u out of range (6000-510000): ignored", idx, bps);
			return;
		}
		char v[48];
		snprintf(v, sizeof(v), "maxaveragebitrate=%u", bps);
		fmtp_put(kv, v);
	} else if (t->flags & RG_CODEC_F_AMR) {
		bool wb = (t->flags & RG_CODEC_F_WIDEBAND) != 0;
		unsigned n = wb ? 9 : 8, all = (1u << n) - 1, modes = all;
		char *cur = fmtp_join(kv);
		rg_codec_params cp;
		if (rg_codec_params_parse(t, cur, &cp) == 0 && cp.amr.mode_set)
			modes = cp.amr.mode_set & all;
		g_free(cur);
		unsigned pick = 0;
		int lowest = -1;
		for (unsigned ft = 0; ft < n; ft++) {
			if (!(modes & (1u << ft)))
				continue;
			if (lowest < 0)
				lowest = (int)ft;
			if (rg_amr_mode_bitrate(wb, ft) <= bps)
				pick |= 1u << ft;
		}
		if (!pick && lowest >= 0)
			pick = 1u << lowest;
		GString *v = g_string_new("mode-set=");
		for (unsigned ft = 0; ft < n; ft++)
			if (pick & (1u << ft))
				g_string_append_printf(v, "%s%u", v->str[v->len - 1] == '=' ? "" : ",", ft);
		fmtp_put(kv, v->str);
		g_string_free(v, TRUE);
	} else {
		ng_warn(r, "media %u: %s has no bitrate to set: ignored", idx, t->name);
	}
}

/* The fmtp our transcoder uses for codec c: its SDP's, with a codec-set's fmtp merged over it and,
 * for our encoder (encode), the codec-set bitrate. g_free. */
static char *xc_fmtp(const rg_cn_codec *c, const rg_codec_type *t, const rg_cn_set *e, bool encode, ng_req *r,
		     unsigned idx)
{
	if (!e)
		return g_strdup(c->fmtp);
	GPtrArray *kv = g_ptr_array_new_with_free_func(g_free);
	fmtp_merge(kv, c->fmtp);
	fmtp_merge(kv, e->fmtp);
	if (encode && e->bitrate)
		fmtp_bitrate(kv, t, e->bitrate, r, idx);
	char *f = fmtp_join(kv);
	g_ptr_array_free(kv, TRUE);
	return f;
}

/* The ptime of our packets toward a party in codec t: forced (ptime/ptime-reverse), else the
 * codec-set's, else the party's own a=ptime; one the encoder cannot make is a warning (forced
 * or set) and the codec's default is used. 0 = the default (fmtp ptime or 20 ms). */
static unsigned pick_ptime(unsigned forced, const rg_cn_set *e, unsigned own, const rg_codec_type *t, ng_req *r,
			   unsigned idx)
{
	unsigned want = forced ? forced : e && e->ptime ? e->ptime : own;
	if (!want)
		return 0;
	if (want > RG_PIPELINE_MAX_PACKET_MS || !rg_codec_frame_ms(t, want)) {
		if (forced || (e && e->ptime))
			ng_warn(r, "media %u: ptime %u ms cannot be made with %s: its default used", idx, want, t->name);
		return 0;
	}
	return want;
}

/* what the transcoder will make of ptime 0: the fmtp's ptime or 20 */
static unsigned real_ptime(const rg_codec_type *t, const char *fmtp, unsigned p)
{
	if (p)
		return p;
	rg_codec_params cp;
	if (rg_codec_params_parse(t, fmtp, &cp) == 0 && cp.ptime && rg_codec_frame_ms(t, cp.ptime) &&
	    cp.ptime <= RG_PIPELINE_MAX_PACKET_MS)
		return cp.ptime;
	return 20;
}

/* One direction: RTP of codec `in` (PT in->pt, sent by the party of `mi`) to codec `out` (PT
 * out->pt) toward the party of `mo`'s peer. NULL with *err. */
static rg_transcoder *make_xc(rg_media_codecs *mi, const rg_cn_codec *in, const rg_cn_codec *out, unsigned ptime,
			      GPtrArray *sets, ng_req *r, unsigned idx, const char **err)
{
	const rg_codec_type *ti = type_of(in), *to = type_of(out);
	if (!ti || !to || (ti->flags & RG_CODEC_F_EVENT) || (to->flags & RG_CODEC_F_EVENT)) {
		*err = "codec not supported for transcoding";
		return NULL;
	}
	char *fi = xc_fmtp(in, ti, set_for(sets, in), false, r, idx);
	char *fo = xc_fmtp(out, to, set_for(sets, out), true, r, idx);
	rg_transcoder *xc = rg_transcoder_new(ti, fi, in->pt, to, fo, out->pt, ptime, err);
	if (xc) {
		clear_xc_info(mi);
		mi->xc_from = cn_copy(in);
		mi->xc_to = cn_copy(out);
		mi->xc_ptime = real_ptime(to, fo, ptime);
	}
	g_free(fi);
	g_free(fo);
	return xc;
}

static bool is_audio(const rg_cn_codec *c)
{
	return !c->event && g_ascii_strcasecmp(c->name, "CN") != 0;
}

/* the payload type of codec c in the list of what the receiver takes (same codec, same payload
 * format), or -1 */
static int same_in(GPtrArray *l, const rg_cn_codec *c)
{
	const rg_cn_codec *s = l ? find_same(l, c) : NULL;
	return s && type_of(s) == type_of(c) ? s->pt : -1;
}

/* codec c (payload type c->pt) of the party of mi: taken by mi's transcoder as well, passed
 * through as pass_pt when that is >= 0 (the receiver has it), else transcoded */
static bool add_input(rg_media_codecs *mi, const rg_cn_codec *c, int pass_pt, GPtrArray *sets, ng_req *r,
		      unsigned idx, const char *cid)
{
	const rg_codec_type *t = type_of(c);
	const char *err = "codec not supported for transcoding";
	if (t && !(t->flags & RG_CODEC_F_EVENT)) {
		char *f = xc_fmtp(c, t, set_for(sets, c), false, r, idx);
		err = rg_transcoder_add_input(mi->xc, t, f, c->pt, pass_pt);
		g_free(f);
	}
	if (err) {
		rg_clog(RG_LOG_INFO, cid, "media %u: %s/%u (PT %d): %s; not taken from its sender", idx, c->name,
			c->rate, c->pt, err);
		return false;
	}
	if (!mi->xc_also)
		mi->xc_also = cn_list_new();
	g_ptr_array_add(mi->xc_also, cn_copy(c));
	return true;
}

/* A party may send any codec of the answer (RFC 3264 5.1), not only the first. With offerer_too
 * the offerer is answered with its transcoded codec O first and then the codecs both sides have
 * (as rtpengine does). Each transcoder takes its sender's other codecs too, in the same output
 * stream: one the receiver has as well (both sides' common codecs) is passed through, as
 * rtpengine relays it; any other is transcoded to the receiver's codec. */
static void other_inputs(rg_media_codecs *ca, rg_media_codecs *co, const rg_cn_codec *O, const rg_cn_codec *A,
			 bool offerer_too, ng_req *r, unsigned idx, const char *cid)
{
	for (guint i = 0; offerer_too && co->xc && i < co->own->len; i++) {
		rg_cn_codec *c = co->own->pdata[i];
		if (c != O && is_audio(c) && !same_codec(c, O) && find_same(ca->own, c) &&
		    add_input(co, c, same_in(ca->own, c), co->set, r, idx, cid))
			g_ptr_array_add(co->sent, cn_copy(c));
	}
	for (guint i = 0; ca->xc && i < ca->own->len; i++) {
		rg_cn_codec *c = ca->own->pdata[i];
		if (c != A && is_audio(c))
			add_input(ca, c, same_in(co->sent, c), co->set, r, idx, cid);
	}
}

/* telephone-event at each side's codec clock rate (O the offerer's codec, A the answerer's):
 * relayed (remapped) by a transcoder when both have it; when one side lacks it, its events
 * become in-band tones toward it and the in-band tones it sends are detected and sent to the
 * other side as events. The offerer's event goes into the answer toward it (to_sent). */
static void setup_events(rg_media_codecs *ca, rg_media_codecs *co, const rg_cn_codec *O, const rg_cn_codec *A,
			 bool to_sent)
{
	rg_cn_codec want_a = { .name = (char *)"telephone-event", .rate = A->rate };
	rg_cn_codec want_o = { .name = (char *)"telephone-event", .rate = O->rate };
	rg_cn_codec *ae = find_same(ca->own, &want_a), *oe = find_same(co->own, &want_o);
	if (!ae && !oe)
		return;
	if (oe && to_sent)
		g_ptr_array_add(co->sent, cn_copy(oe));
	if (co->xc)
		rg_transcoder_set_events(co->xc, oe ? oe->pt : -1, O->rate, ae ? ae->pt : -1, A->rate);
	if (ca->xc)
		rg_transcoder_set_events(ca->xc, ae ? ae->pt : -1, A->rate, oe ? oe->pt : -1, O->rate);
}

/* RFC 3389 comfort noise at each side's codec clock: a sender's CN packets set the level of the
 * noise its transcoder sends in the silence that follows (transcode.h). The offerer's CN goes
 * into the answer toward it (to_sent); the answerer has one only if our offer carried it. */
static void setup_cn(rg_media_codecs *ca, rg_media_codecs *co, const rg_cn_codec *O, const rg_cn_codec *A,
		     bool to_sent)
{
	rg_cn_codec want_a = { .name = (char *)"CN", .rate = A->rate };
	rg_cn_codec want_o = { .name = (char *)"CN", .rate = O->rate };
	rg_cn_codec *acn = find_same(ca->own, &want_a), *ocn = find_same(co->own, &want_o);
	if (ocn && to_sent && co->sent && !find_same(co->sent, ocn))
		g_ptr_array_add(co->sent, cn_copy(ocn));
	if (co->xc)
		rg_transcoder_set_cn(co->xc, ocn ? ocn->pt : -1);
	if (ca->xc)
		rg_transcoder_set_cn(ca->xc, acn ? acn->pt : -1);
}

/* Transcode between the offerer's codec O and the answerer's A, both directions; common: the
 * offerer's answer lists the codecs both sides have after O (not when O was kept by accept,
 * consume or always-transcode: rtpengine answers O alone then). */
static bool transcode(rg_media *ma, rg_media_codecs *ca, rg_media_codecs *co, rg_cn_codec *O, rg_cn_codec *A,
		      bool common, ng_req *r, const char *cid)
{
	const char *err = NULL;
	unsigned idx = ma->index;
	const rg_codec_type *ta = type_of(A), *to = type_of(O);
	if (!ta || !to) {
		ng_warn(r, "media %u: %s cannot be transcoded; relayed unchanged", idx, (!ta ? A : O)->name);
		return false;
	}
	/* toward the answerer: its forced ptime, else a codec-set's, else its own a=ptime; the same
	 * toward the offerer */
	unsigned pb = pick_ptime(ca->force_ptime, set_for(co->set, A), ca->ptime, ta, r, idx);
	unsigned pa = pick_ptime(co->force_ptime, set_for(co->set, O), co->ptime, to, r, idx);
	co->xc = make_xc(co, O, A, pb, co->set, r, idx, &err);
	if (co->xc)
		ca->xc = make_xc(ca, A, O, pa, co->set, r, idx, &err);
	if (!ca->xc) {
		drop_transcoder(co);
		drop_transcoder(ca);
		ng_warn(r, "media %u: %s; relayed unchanged", idx, err ? err : "transcoding failed");
		return false;
	}
	co->sent = cn_list_new();
	g_ptr_array_add(co->sent, cn_copy(O));
	other_inputs(ca, co, O, A, common, r, idx, cid);
	setup_events(ca, co, O, A, true);
	setup_cn(ca, co, O, A, true);
	rg_clog(RG_LOG_INFO, cid, "media %u: transcoding %s/%u (PT %d, offerer, %u ms) <-> %s/%u (PT %d, answerer, %u ms)",
		idx, O->name, O->rate, O->pt, ca->xc_ptime, A->name, A->rate, A->pt, co->xc_ptime);
	for (int side = 0; side < 2; side++) {
		rg_media_codecs *mc = side ? ca : co;
		for (guint i = 0; mc->xc_also && i < mc->xc_also->len; i++) {
			const rg_cn_codec *c = mc->xc_also->pdata[i];
			int pass = rg_transcoder_pass_pt(mc->xc, c->pt);
			char how[40] = "transcoded too";
			if (pass >= 0)
				snprintf(how, sizeof(how), "passed through as PT %d", pass);
			rg_clog(RG_LOG_INFO, cid, "media %u: %s's %s/%u (PT %d) %s", idx, side ? "answerer" : "offerer",
				c->name, c->rate, c->pt, how);
		}
	}
	return true;
}

/* The offerer's codec it keeps under accept/consume/always-transcode (rtpengine: accepted toward
 * the offerer although the answerer rejected it, then transcoded): the first in the offerer's
 * order that the answerer answered (then nothing needs transcoding) or that is accepted. NULL =
 * none accepted.
 * Where rtpengine is not explicit, rtpgate chooses:
 *  - accept (and always-transcode) given in the answer count as well: Kamailio's
 *    rtpengine_manage() sends the same flags with both;
 *  - consume = mask + accept: hidden from the answerer, yet the offerer keeps it (transcoding
 *    engaged without transcode=); mask alone keeps a codec toward the offerer only when
 *    transcoding is needed anyway (the answerer took a codec we added);
 *  - rtpengine answers the offerer with every accepted codec and transcodes per payload type;
 *    rtpgate's transcoder takes one codec per direction, so the offerer is answered with the one
 *    codec it keeps (plus telephone-event), its preferred accepted one. */
static rg_cn_codec *accepted_choice(rg_media_codecs *ca, rg_media_codecs *co, const ng_req *r)
{
	for (guint i = 0; i < co->own->len; i++) {
		rg_cn_codec *c = co->own->pdata[i];
		if (c->event)
			continue;
		if (find_same(ca->own, c))
			return c;
		if ((c->accept || accepted_by(r, c)) && type_of(c))
			return c;
	}
	return NULL;
}

/* Same codec on both sides, relayed, unless a side receives at a ptime other than the one its
 * peer was told to send (a forced ptime, ptime-reverse): that direction is repacketized (decoded
 * and encoded again at the wanted ptime). A sender whose SDP from us had no a=ptime is taken to
 * send 20 ms. Unforced, each party is told the other's own a=ptime and nothing is repacketized. */
static void repacketize(rg_media *ma, rg_media_codecs *ca, rg_media_codecs *co, rg_cn_codec *A, ng_req *r,
			const char *cid)
{
	unsigned idx = ma->index;
	unsigned want_b = ca->force_ptime ? ca->force_ptime : ca->ptime;   /* toward the answerer */
	unsigned want_a = co->force_ptime ? co->force_ptime : co->ptime;   /* toward the offerer */
	unsigned sends_b = ca->told_ptime ? ca->told_ptime : 20;           /* told in our offer */
	unsigned sends_a = co->force_ptime ? co->force_ptime : ca->ptime ? ca->ptime : 20;  /* our answer */
	bool ab = want_b && want_b != sends_a, ba = want_a && want_a != sends_b;
	if (!ab && !ba)
		return;
	rg_cn_codec *oc = find_same(co->own, A);
	const rg_codec_type *t = type_of(A);
	if (!oc || !t || (t->flags & RG_CODEC_F_EVENT)) {
		ng_warn(r, "media %u: %s cannot be repacketized: ptime %u ms not enforced", idx, A->name,
			ab ? want_b : want_a);
		return;
	}
	const char *err = NULL;
	if (ab) {
		unsigned p = pick_ptime(ca->force_ptime, NULL, ca->ptime, t, r, idx);
		if (p && !(co->xc = make_xc(co, oc, A, p, NULL, r, idx, &err)))
			ng_warn(r, "media %u: %s; relayed unchanged", idx, err ? err : "repacketizing failed");
	}
	if (ba) {
		unsigned p = pick_ptime(co->force_ptime, NULL, co->ptime, t, r, idx);
		if (p && !(ca->xc = make_xc(ca, A, oc, p, NULL, r, idx, &err)))
			ng_warn(r, "media %u: %s; relayed unchanged", idx, err ? err : "repacketizing failed");
	}
	if (co->xc) {
		/* what the offerer sends must be the one codec its transcoder takes */
		set_list(&co->sent, cn_list_new());
		g_ptr_array_add(co->sent, cn_copy(oc));
	}
	other_inputs(ca, co, oc, A, false, r, idx, cid);
	setup_events(ca, co, oc, A, co->xc != NULL);
	setup_cn(ca, co, oc, A, co->xc != NULL);
	if (co->xc || ca->xc)
		rg_clog(RG_LOG_INFO, cid, "media %u: %s/%u repacketized:%s%s", idx, A->name, A->rate,
			co->xc ? " toward the answerer" : "", ca->xc ? " toward the offerer" : "");
}

/* single-codec (answer): the offerer is answered with the first codec only, plus the
 * telephone-event at its clock rate when there is one */
static void single_codec(rg_media_codecs *ca, rg_media_codecs *co)
{
	GPtrArray *base = co->sent ? co->sent : ca->own;
	rg_cn_codec *F = first_audio(base);
	if (!F)
		return;
	GPtrArray *l = cn_list_new();
	g_ptr_array_add(l, cn_copy(F));
	for (guint i = 0; i < base->len; i++) {
		rg_cn_codec *c = base->pdata[i];
		if (c->event && c->rate == F->rate) {
			g_ptr_array_add(l, cn_copy(c));
			break;
		}
	}
	if (l->len == base->len) {
		g_ptr_array_free(l, TRUE);
		return;
	}
	set_list(&co->sent, l);
}

static void decide(rg_media *ma, rg_media_codecs *ca, rg_media_codecs *co, sdp_media *sm, ng_req *r)
{
	if (sm->port == 0 || !rtp_media(sm) || !co->own || !co->own->len)
		return;
	rg_cn_codec *A = first_audio(ca->own);
	if (!A)
		return;
	/* what the answerer was offered: our rewritten list, or the offerer's own */
	GPtrArray *offered = ca->ops && ca->sent ? ca->sent : co->own;
	rg_cn_codec *S = find_same(offered, A);
	char *cid = rg_str_dup(r->call_id);
	if (S && S->added) {
		/* the answerer took a codec we added: the offerer's first codec we can decode and
		 * encode (masked and consumed ones included) */
		rg_cn_codec *O = NULL;
		for (guint i = 0; i < co->own->len && !O; i++) {
			rg_cn_codec *c = co->own->pdata[i];
			const rg_codec_type *t = c->event ? NULL : type_of(c);
			if (t && !(t->flags & RG_CODEC_F_EVENT))
				O = c;
		}
		if (!O)
			ng_warn(r, "media %u: no codec of the offerer to transcode %s to", ma->index, A->name);
		else
			transcode(ma, ca, co, O, A, true, r, cid);
		goto out;
	}
	rg_cn_codec *O = accepted_choice(ca, co, r);
	if (O && !find_same(ca->own, O) && transcode(ma, ca, co, O, A, false, r, cid))
		goto out;
	/* relay: the offerer gets the answer without codecs it never offered */
	if (ca->ops && ca->sent) {
		GPtrArray *l = cn_list_new();
		bool changed = false;
		for (guint i = 0; i < ca->own->len; i++) {
			rg_cn_codec *c = ca->own->pdata[i];
			rg_cn_codec *s = find_same(ca->sent, c);
			if (s && s->added)
				changed = true;
			else
				g_ptr_array_add(l, cn_copy(c));
		}
		if (changed && l->len)
			co->sent = l;
		else
			g_ptr_array_free(l, TRUE);
	}
	rg_clog(RG_LOG_DEBUG, cid, "media %u: %s/%u in common, relayed", ma->index, A->name, A->rate);
	repacketize(ma, ca, co, A, r, cid);
out:
	/* single-codec is an answer flag (rtpengine ignores it in offers, so do we) */
	if (r->single_codec)
		single_codec(ca, co);
	g_free(cid);
}

void rg_codec_write_sdp(rg_media *lm, sdp_media *sm)
{
	if (!sm->port)
		return;
	if (lm->codecs && lm->codecs->sent)
		apply_list(sm, lm->codecs->sent);
	if (lm->codecs) {
		/* ptime (toward the offer's recipient) / ptime-reverse (toward the offerer, in the answer) */
		if (lm->codecs->force_ptime) {
			char v[16];
			snprintf(v, sizeof(v), "%u", lm->codecs->force_ptime);
			sdp_attr_set(sm->attrs, "ptime", v);
		}
		lm->codecs->told_ptime = sdp_ptime(sm);
	}
	/* what lm's party receives is our transcoded stream: the other party's SSRCs do not apply */
	if (lm->peer && lm->peer->codecs && lm->peer->codecs->xc) {
		sdp_attr_remove(sm->attrs, "ssrc");
		sdp_attr_remove(sm->attrs, "ssrc-group");
	}
}
