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

static void drop_transcoder(rg_media_codecs *mc)
{
	if (mc && mc->xc) {
		rg_transcoder_free(mc->xc);
		mc->xc = NULL;
	}
}

void rg_media_codecs_free(rg_media_codecs *mc)
{
	if (!mc)
		return;
	drop_transcoder(mc);
	set_list(&mc->own, NULL);
	set_list(&mc->sent, NULL);
	g_free(mc);
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
		const char *rest;
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
	bool ok = g_ascii_strcasecmp(p[0], c->name) == 0;
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

void rg_codec_offer(rg_media *mf, rg_media *mt, sdp_media *sm, ng_req *r)
{
	rg_media_codecs *cf = codecs_of(mf), *ct = codecs_of(mt);
	set_list(&cf->own, rg_cn_parse(sm));
	cf->ptime = sdp_ptime(sm);
	set_list(&ct->sent, NULL);
	ct->ops = false;
	if (r->n_codec[NG_CODEC_SET] && mf->index == 1)
		ng_warn(r, "codec 'set' is not supported yet: ignored");
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
		char *s = rg_str_dup(spec);
		gchar **p = g_strsplit(s, "/", 4);
		unsigned rate = p[1] ? (unsigned)strtoul(p[1], NULL, 10) : 0;
		unsigned ch = p[1] && p[2] ? (unsigned)strtoul(p[2], NULL, 10) : 0;
		const rg_codec_type *t = NULL;
		if (find_type(&t, p[0], rate, ch, NULL) < 0 || (t->flags & RG_CODEC_F_EVENT)) {
			ng_warn(r, "codec '%s' cannot be transcoded: not added", s);
		} else {
			int pt = pick_pt(t->name, t->rate, own, out);
			if (pt >= 0)
				g_ptr_array_add(out, new_codec(t, pt));
			else
				ng_warn(r, "no free payload type for codec '%s'", s);
		}
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

const char *rg_codec_answer(rg_media *ma, rg_media *mo, sdp_media *sm, ng_req *r)
{
	rg_media_codecs *ca = codecs_of(ma), *co = codecs_of(mo);
	set_list(&ca->own, rg_cn_parse(sm));
	ca->ptime = sdp_ptime(sm);
	/* the transcoders of an earlier answer: replaced below, their output streams continued */
	rg_transcoder *old_a = ca->xc, *old_o = co->xc;
	ca->xc = co->xc = NULL;
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

static void decide(rg_media *ma, rg_media_codecs *ca, rg_media_codecs *co, sdp_media *sm, ng_req *r)
{
	if (!ca->ops || !ca->sent || sm->port == 0 || !rtp_media(sm) || !co->own)
		return;
	rg_cn_codec *A = NULL;
	for (guint i = 0; i < ca->own->len && !A; i++)
		if (!((rg_cn_codec *)ca->own->pdata[i])->event)
			A = ca->own->pdata[i];
	if (!A)
		return;
	rg_cn_codec *S = find_same(ca->sent, A);
	char *cid = rg_str_dup(r->call_id);
	if (!S || !S->added) {
		/* relay: the offerer gets the answer without codecs it never offered */
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
		rg_clog(RG_LOG_DEBUG, cid, "media %u: %s/%u in common, relayed", ma->index, A->name, A->rate);
		g_free(cid);
		return;
	}
	/* transcode: the offerer's first codec we can decode and encode */
	const rg_codec_type *ta = type_of(A), *to = NULL;
	rg_cn_codec *O = NULL;
	for (guint i = 0; i < co->own->len && !O; i++) {
		rg_cn_codec *c = co->own->pdata[i];
		if (c->event || !(to = type_of(c)) || (to->flags & RG_CODEC_F_EVENT))
			continue;
		O = c;
	}
	const char *err = NULL;
	if (!ta || !O) {
		ng_warn(r, "media %u: no codec of the offerer to transcode %s to", ma->index, A->name);
		g_free(cid);
		return;
	}
	co->xc = rg_transcoder_new(to, O->fmtp, O->pt, ta, A->fmtp, A->pt, ca->ptime, &err);
	if (co->xc)
		ca->xc = rg_transcoder_new(ta, A->fmtp, A->pt, to, O->fmtp, O->pt, co->ptime, &err);
	if (!ca->xc) {
		drop_transcoder(co);
		ng_warn(r, "media %u: %s; relayed unchanged", ma->index, err ? err : "transcoding failed");
		g_free(cid);
		return;
	}
	co->sent = cn_list_new();
	g_ptr_array_add(co->sent, cn_copy(O));
	/* telephone-event at each side's codec clock rate: relayed (remapped) when both have it; when
	 * one side lacks it, its events become in-band tones toward it and the in-band tones it
	 * sends are detected and sent to the other side as events */
	rg_cn_codec want_a = { .name = (char *)"telephone-event", .rate = A->rate };
	rg_cn_codec want_o = { .name = (char *)"telephone-event", .rate = O->rate };
	rg_cn_codec *ae = find_same(ca->own, &want_a), *oe = find_same(co->own, &want_o);
	if (ae || oe) {
		if (oe)
			g_ptr_array_add(co->sent, cn_copy(oe));
		rg_transcoder_set_events(co->xc, oe ? oe->pt : -1, O->rate, ae ? ae->pt : -1, A->rate);
		rg_transcoder_set_events(ca->xc, ae ? ae->pt : -1, A->rate, oe ? oe->pt : -1, O->rate);
	}
	rg_clog(RG_LOG_INFO, cid, "media %u: transcoding %s/%u (PT %d, offerer) <-> %s/%u (PT %d, answerer)",
		ma->index, O->name, O->rate, O->pt, A->name, A->rate, A->pt);
	g_free(cid);
	return;
}

void rg_codec_write_sdp(rg_media *lm, sdp_media *sm)
{
	if (!sm->port)
		return;
	if (lm->codecs && lm->codecs->sent)
		apply_list(sm, lm->codecs->sent);
	/* what lm's party receives is our transcoded stream: the other party's SSRCs do not apply */
	if (lm->peer && lm->peer->codecs && lm->peer->codecs->xc) {
		sdp_attr_remove(sm->attrs, "ssrc");
		sdp_attr_remove(sm->attrs, "ssrc-group");
	}
}
