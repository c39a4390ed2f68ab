/* SDP parser and writer; see sdp.h for ownership rules. The parser works on rg_str slices of the
 * caller's buffer and copies each field out once it is validated; on error the partly built session is
 * freed and nothing is returned. */
#include "sdp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- allocation ---- */

static void attr_free(gpointer p)
{
	sdp_attr *a = p;
	if (!a)
		return;
	g_free(a->name);
	g_free(a->value);
	g_free(a);
}

static void line_free(gpointer p)
{
	sdp_line *l = p;
	if (!l)
		return;
	g_free(l->value);
	g_free(l);
}

static void conn_clear(sdp_conn *c)
{
	g_free(c->nettype);
	g_free(c->addrtype);
	g_free(c->addr);
	memset(c, 0, sizeof(*c));
}

static void media_free_cb(gpointer p)
{
	sdp_media_free(p);
}

void sdp_media_free(sdp_media *m)
{
	if (!m)
		return;
	g_free(m->media);
	g_free(m->proto);
	if (m->fmts)
		g_ptr_array_unref(m->fmts);
	if (m->lines)
		g_ptr_array_unref(m->lines);
	conn_clear(&m->conn);
	if (m->attrs)
		g_ptr_array_unref(m->attrs);
	g_free(m);
}

static sdp_media *media_alloc(void)
{
	sdp_media *m = g_new0(sdp_media, 1);
	m->fmts = g_ptr_array_new_with_free_func(g_free);
	m->lines = g_ptr_array_new_with_free_func(line_free);
	m->attrs = g_ptr_array_new_with_free_func(attr_free);
	return m;
}

sdp_media *sdp_media_new(const char *media, unsigned port, const char *proto)
{
	sdp_media *m = media_alloc();
	m->media = g_strdup(media);
	m->port = port;
	m->proto = g_strdup(proto);
	return m;
}

static sdp_session *session_alloc(void)
{
	sdp_session *s = g_new0(sdp_session, 1);
	s->lines = g_ptr_array_new_with_free_func(line_free);
	s->attrs = g_ptr_array_new_with_free_func(attr_free);
	s->media = g_ptr_array_new_with_free_func(media_free_cb);
	return s;
}

void sdp_free(sdp_session *s)
{
	if (!s)
		return;
	g_free(s->v);
	g_free(s->o_user);
	g_free(s->o_sess_id);
	g_free(s->o_nettype);
	g_free(s->o_addrtype);
	g_free(s->o_addr);
	g_free(s->s);
	if (s->lines)
		g_ptr_array_unref(s->lines);
	conn_clear(&s->conn);
	if (s->attrs)
		g_ptr_array_unref(s->attrs);
	if (s->media)
		g_ptr_array_unref(s->media);
	g_free(s);
}

/* ---- copy ---- */

static void conn_copy(sdp_conn *dst, const sdp_conn *src)
{
	dst->set = src->set;
	dst->nettype = g_strdup(src->nettype);
	dst->addrtype = g_strdup(src->addrtype);
	dst->addr = g_strdup(src->addr);
}

static void copy_lines(GPtrArray *dst, const GPtrArray *src)
{
	for (guint i = 0; src && i < src->len; i++) {
		const sdp_line *l = g_ptr_array_index(src, i);
		if (l)
			sdp_line_add(dst, l->type, l->value);
	}
}

static void copy_attrs(GPtrArray *dst, const GPtrArray *src)
{
	for (guint i = 0; src && i < src->len; i++) {
		const sdp_attr *a = g_ptr_array_index(src, i);
		if (a)
			sdp_attr_add(dst, a->name, a->value);
	}
}

sdp_session *sdp_copy(const sdp_session *s)
{
	if (!s)
		return NULL;
	sdp_session *c = session_alloc();
	c->v = g_strdup(s->v);
	c->o_user = g_strdup(s->o_user);
	c->o_sess_id = g_strdup(s->o_sess_id);
	c->o_version = s->o_version;
	c->o_nettype = g_strdup(s->o_nettype);
	c->o_addrtype = g_strdup(s->o_addrtype);
	c->o_addr = g_strdup(s->o_addr);
	c->s = g_strdup(s->s);
	copy_lines(c->lines, s->lines);
	conn_copy(&c->conn, &s->conn);
	copy_attrs(c->attrs, s->attrs);
	for (guint i = 0; s->media && i < s->media->len; i++) {
		const sdp_media *m = g_ptr_array_index(s->media, i);
		if (!m)
			continue;
		sdp_media *cm = sdp_media_new(m->media, m->port, m->proto);
		cm->num_ports = m->num_ports;
		for (guint j = 0; m->fmts && j < m->fmts->len; j++)
			g_ptr_array_add(cm->fmts, g_strdup(g_ptr_array_index(m->fmts, j)));
		copy_lines(cm->lines, m->lines);
		conn_copy(&cm->conn, &m->conn);
		copy_attrs(cm->attrs, m->attrs);
		g_ptr_array_add(c->media, cm);
	}
	return c;
}

/* ---- parse ---- */

static _Thread_local char err_buf[128];

static const char *mkerr(unsigned lineno, const char *msg)
{
	if (lineno)
		snprintf(err_buf, sizeof(err_buf), "SDP line %u: %s", lineno, msg);
	else
		snprintf(err_buf, sizeof(err_buf), "SDP: %s", msg);
	return err_buf;
}

/* Next space-separated token of *rest (runs of spaces separate); false when none is left. */
static bool next_tok(rg_str *rest, rg_str *tok)
{
	size_t i = 0;
	while (i < rest->len && rest->s[i] == ' ')
		i++;
	if (i == rest->len) {
		*rest = rg_str_mk(rest->s + i, 0);
		return false;
	}
	size_t st = i;
	while (i < rest->len && rest->s[i] != ' ')
		i++;
	*tok = rg_str_mk(rest->s + st, i - st);
	*rest = rg_str_mk(rest->s + i, rest->len - i);
	return true;
}

/* Split into at most max tokens (stored in tok[]); returns the total number of tokens, which may be
 * larger than max. */
static size_t split_tok(rg_str s, rg_str *tok, size_t max)
{
	size_t n = 0;
	rg_str t;
	while (next_tok(&s, &t)) {
		if (n < max)
			tok[n] = t;
		n++;
	}
	return n;
}

static const char *parse_conn(rg_str v, sdp_conn *c)
{
	rg_str t[3];
	if (split_tok(v, t, 3) != 3)
		return "c= needs 3 fields";
	c->set = true;
	c->nettype = rg_str_dup(t[0]);
	c->addrtype = rg_str_dup(t[1]);
	c->addr = rg_str_dup(t[2]);
	return NULL;
}

static const char *parse_origin(rg_str v, sdp_session *s)
{
	rg_str t[6];
	uint64_t ver;
	if (split_tok(v, t, 6) != 6)
		return "o= needs 6 fields";
	if (!rg_str_to_u64(t[2], G_MAXUINT64, &ver))
		return "o= version is not a number";
	s->o_user = rg_str_dup(t[0]);
	s->o_sess_id = rg_str_dup(t[1]);
	s->o_version = ver;
	s->o_nettype = rg_str_dup(t[3]);
	s->o_addrtype = rg_str_dup(t[4]);
	s->o_addr = rg_str_dup(t[5]);
	return NULL;
}

static const char *parse_media(rg_str v, sdp_media **out)
{
	rg_str rest = v, t_media, t_port, t_proto, tok;
	if (!next_tok(&rest, &t_media) || !next_tok(&rest, &t_port) || !next_tok(&rest, &t_proto))
		return "m= needs media, port and proto";

	rg_str t_num = RG_STR_NULL;
	const char *slash = memchr(t_port.s, '/', t_port.len);
	if (slash) {
		t_num = rg_str_mk(slash + 1, t_port.len - (size_t)(slash - t_port.s) - 1);
		t_port.len = (size_t)(slash - t_port.s);
	}
	uint64_t port, num = 0;
	if (!rg_str_to_u64(t_port, 65535, &port))
		return "m= has a bad port";
	if (slash && (!rg_str_to_u64(t_num, 65535, &num) || num == 0))
		return "m= has a bad port count";

	sdp_media *m = media_alloc();
	m->media = rg_str_dup(t_media);
	m->port = (unsigned)port;
	m->num_ports = (unsigned)num;
	m->proto = rg_str_dup(t_proto);
	while (next_tok(&rest, &tok)) {
		if (m->fmts->len >= SDP_MAX_FMTS) {
			sdp_media_free(m);
			return "m= has too many formats";
		}
		g_ptr_array_add(m->fmts, rg_str_dup(tok));
	}
	if (m->fmts->len == 0 && m->port != 0) {
		sdp_media_free(m);
		return "m= needs at least one format";
	}
	*out = m;
	return NULL;
}

static const char *parse_attr(rg_str v, GPtrArray *attrs)
{
	const char *colon = memchr(v.s, ':', v.len);
	size_t nlen = colon ? (size_t)(colon - v.s) : v.len;
	if (nlen == 0)
		return "a= needs a name";
	sdp_attr *a = g_new0(sdp_attr, 1);
	a->name = g_strndup(v.s, nlen);
	if (colon)
		a->value = g_strndup(colon + 1, v.len - nlen - 1);
	g_ptr_array_add(attrs, a);
	return NULL;
}

int sdp_parse(const char *buf, size_t len, sdp_session **out, const char **err)
{
	const char *e = NULL;
	unsigned lineno = 0, empty_line = 0;
	bool have_v = false, have_o = false, have_s = false;
	sdp_session *s = NULL;
	sdp_media *cur = NULL;

	if (!buf || len == 0) {
		e = mkerr(0, "empty");
		goto fail;
	}
	if (len > SDP_MAX_LEN) {
		e = mkerr(0, "too large (over 1 MiB)");
		goto fail;
	}

	s = session_alloc();
	size_t pos = 0;
	while (pos < len) {
		const char *p = buf + pos;
		const char *nl = memchr(p, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - p) : len - pos;
		pos += ll + (nl ? 1 : 0);
		if (++lineno > SDP_MAX_LINES) {
			e = mkerr(lineno, "too many lines");
			goto fail;
		}

		rg_str line = rg_str_mk(p, ll);
		if (line.len && line.s[line.len - 1] == '\r')
			line.len--;
		if (memchr(line.s, '\0', line.len)) {
			e = mkerr(lineno, "NUL byte");
			goto fail;
		}
		if (memchr(line.s, '\r', line.len)) {
			e = mkerr(lineno, "CR not followed by LF");
			goto fail;
		}
		size_t raw_len = line.len;
		while (line.len && (line.s[line.len - 1] == ' ' || line.s[line.len - 1] == '\t'))
			line.len--;
		if (line.len == 0) {
			if (!empty_line)
				empty_line = lineno;
			continue;
		}
		if (empty_line) {
			e = mkerr(empty_line, "empty line");
			goto fail;
		}
		if (line.len < 2 || line.s[1] != '=' || line.s[0] < 'a' || line.s[0] > 'z') {
			e = mkerr(lineno, "not a type=value line");
			goto fail;
		}
		char type = line.s[0];
		rg_str val = rg_str_mk(line.s + 2, line.len - 2);
		const char *msg = NULL;

		if (!have_v) {
			if (type != 'v') {
				e = mkerr(lineno, "SDP must start with v=");
				goto fail;
			}
			s->v = rg_str_dup(val);
			have_v = true;
			continue;
		}

		switch (type) {
		case 'v':
			msg = "duplicate v=";
			break;
		case 'o':
			if (cur)
				msg = "o= in a media section";
			else if (have_o)
				msg = "duplicate o=";
			else if (!(msg = parse_origin(val, s)))
				have_o = true;
			break;
		case 's':
			if (cur) {
				msg = "s= in a media section";
			} else if (have_s) {
				msg = "duplicate s=";
			} else {
				/* "s= " (a single space) is the conventional empty name: keep it. */
				s->s = (val.len == 0 && raw_len > 2) ? g_strdup(" ") : rg_str_dup(val);
				have_s = true;
			}
			break;
		case 'c': {
			sdp_conn *c = cur ? &cur->conn : &s->conn;
			if (c->set)
				msg = "duplicate c=";
			else
				msg = parse_conn(val, c);
			break;
		}
		case 'a':
			msg = parse_attr(val, cur ? cur->attrs : s->attrs);
			break;
		case 'm': {
			sdp_media *m = NULL;
			if (s->media->len >= SDP_MAX_MEDIA) {
				msg = "more than 64 m= lines";
			} else if (!(msg = parse_media(val, &m))) {
				g_ptr_array_add(s->media, m);
				cur = m;
			}
			break;
		}
		default: {
			sdp_line *l = g_new0(sdp_line, 1);
			l->type = type;
			l->value = rg_str_dup(val);
			g_ptr_array_add(cur ? cur->lines : s->lines, l);
			break;
		}
		}
		if (msg) {
			e = mkerr(lineno, msg);
			goto fail;
		}
	}

	if (!have_v) {
		e = mkerr(0, "empty");
		goto fail;
	}
	if (!have_o) {
		e = mkerr(0, "no o= line");
		goto fail;
	}
	if (!have_s) {
		e = mkerr(0, "no s= line");
		goto fail;
	}
	*out = s;
	return 0;

fail:
	sdp_free(s);
	if (err)
		*err = e;
	return -EINVAL;
}

/* ---- write ---- */

static void put_str(GString *g, const char *v)
{
	if (!v)
		return;
	for (const char *p = v; *p; ) {
		size_t n = strcspn(p, "\r\n");
		g_string_append_len(g, p, (gssize)n);
		p += n;
		if (*p) {
			g_string_append_c(g, ' ');
			p++;
		}
	}
}

/* A token that must not be empty (o=, c=, m= fields). */
static void put_tok(GString *g, const char *v)
{
	if (!v || !*v)
		g_string_append_c(g, '-');
	else
		put_str(g, v);
}

static void put_line(GString *g, char type, const char *v)
{
	g_string_append_c(g, type);
	g_string_append_c(g, '=');
	put_str(g, v);
	g_string_append(g, "\r\n");
}

static int sess_rank(char t)
{
	switch (t) {
	case 'i': case 'u': case 'e': case 'p':
		return 1;
	case 'b': case 't': case 'r': case 'z': case 'k':
		return 2;
	default:
		return 0;
	}
}

static int media_rank(char t)
{
	switch (t) {
	case 'i':
		return 1;
	case 'b': case 'k':
		return 2;
	default:
		return 0;
	}
}

/* Emit the lines of group `want` (1: before c=, 2: after c=); lines of unknown type belong to the
 * group of the line before them. */
static void put_lines(GString *g, const GPtrArray *lines, int (*rank)(char), int want)
{
	int prev = 1;
	for (guint i = 0; lines && i < lines->len; i++) {
		const sdp_line *l = g_ptr_array_index(lines, i);
		if (!l)
			continue;
		int r = rank(l->type);
		if (!r)
			r = prev;
		prev = r;
		if (r == want)
			put_line(g, l->type, l->value);
	}
}

static void put_conn(GString *g, const sdp_conn *c)
{
	if (!c->set)
		return;
	g_string_append(g, "c=");
	put_tok(g, c->nettype);
	g_string_append_c(g, ' ');
	put_tok(g, c->addrtype);
	g_string_append_c(g, ' ');
	put_tok(g, c->addr);
	g_string_append(g, "\r\n");
}

static void put_attrs(GString *g, const GPtrArray *attrs)
{
	for (guint i = 0; attrs && i < attrs->len; i++) {
		const sdp_attr *a = g_ptr_array_index(attrs, i);
		if (!a)
			continue;
		g_string_append(g, "a=");
		put_str(g, a->name);
		if (a->value) {
			g_string_append_c(g, ':');
			put_str(g, a->value);
		}
		g_string_append(g, "\r\n");
	}
}

char *sdp_write(const sdp_session *s, size_t *len)
{
	GString *g = g_string_sized_new(1024);
	if (s) {
		put_line(g, 'v', s->v);
		g_string_append(g, "o=");
		put_tok(g, s->o_user);
		g_string_append_c(g, ' ');
		put_tok(g, s->o_sess_id);
		g_string_append_printf(g, " %" G_GUINT64_FORMAT " ", s->o_version);
		put_tok(g, s->o_nettype);
		g_string_append_c(g, ' ');
		put_tok(g, s->o_addrtype);
		g_string_append_c(g, ' ');
		put_tok(g, s->o_addr);
		g_string_append(g, "\r\n");
		put_line(g, 's', s->s);
		put_lines(g, s->lines, sess_rank, 1);
		put_conn(g, &s->conn);
		put_lines(g, s->lines, sess_rank, 2);
		put_attrs(g, s->attrs);

		for (guint i = 0; s->media && i < s->media->len; i++) {
			const sdp_media *m = g_ptr_array_index(s->media, i);
			if (!m)
				continue;
			g_string_append(g, "m=");
			put_tok(g, m->media);
			g_string_append_printf(g, " %u", m->port);
			if (m->num_ports)
				g_string_append_printf(g, "/%u", m->num_ports);
			g_string_append_c(g, ' ');
			put_tok(g, m->proto);
			for (guint j = 0; m->fmts && j < m->fmts->len; j++) {
				g_string_append_c(g, ' ');
				put_str(g, g_ptr_array_index(m->fmts, j));
			}
			g_string_append(g, "\r\n");
			put_lines(g, m->lines, media_rank, 1);
			put_conn(g, &m->conn);
			put_lines(g, m->lines, media_rank, 2);
			put_attrs(g, m->attrs);
		}
	}
	if (len)
		*len = g->len;
	return g_string_free(g, FALSE);
}

/* ---- helpers ---- */

sdp_attr *sdp_attr_find(GPtrArray *attrs, const char *name)
{
	for (guint i = 0; attrs && name && i < attrs->len; i++) {
		sdp_attr *a = g_ptr_array_index(attrs, i);
		if (a && a->name && strcmp(a->name, name) == 0)
			return a;
	}
	return NULL;
}

const char *sdp_attr_value(GPtrArray *attrs, const char *name)
{
	sdp_attr *a = sdp_attr_find(attrs, name);
	if (!a)
		return NULL;
	return a->value ? a->value : "";
}

bool sdp_attr_has(GPtrArray *attrs, const char *name)
{
	return sdp_attr_find(attrs, name) != NULL;
}

unsigned sdp_attr_remove(GPtrArray *attrs, const char *name)
{
	unsigned n = 0;
	if (!attrs || !name)
		return 0;
	for (guint i = attrs->len; i-- > 0; ) {
		sdp_attr *a = g_ptr_array_index(attrs, i);
		if (a && a->name && strcmp(a->name, name) == 0) {
			g_ptr_array_remove_index(attrs, i);
			n++;
		}
	}
	return n;
}

void sdp_attr_add(GPtrArray *attrs, const char *name, const char *value)
{
	if (!attrs || !name)
		return;
	sdp_attr *a = g_new0(sdp_attr, 1);
	a->name = g_strdup(name);
	a->value = g_strdup(value);
	g_ptr_array_add(attrs, a);
}

void sdp_attr_set(GPtrArray *attrs, const char *name, const char *value)
{
	sdp_attr *a = sdp_attr_find(attrs, name);
	if (!a) {
		sdp_attr_add(attrs, name, value);
		return;
	}
	char *nv = g_strdup(value); /* value may point into the old one */
	g_free(a->value);
	a->value = nv;
}

void sdp_conn_set(sdp_conn *c, const char *addrtype, const char *addr)
{
	if (!c)
		return;
	char *at = g_strdup(addrtype), *ad = g_strdup(addr);
	conn_clear(c);
	c->set = true;
	c->nettype = g_strdup("IN");
	c->addrtype = at;
	c->addr = ad;
}

void sdp_line_add(GPtrArray *lines, char type, const char *value)
{
	if (!lines)
		return;
	sdp_line *l = g_new0(sdp_line, 1);
	l->type = type;
	l->value = g_strdup(value);
	g_ptr_array_add(lines, l);
}

static int attrs_dir(const GPtrArray *attrs)
{
	static const char *const names[] = { "sendrecv", "sendonly", "recvonly", "inactive" };
	for (guint i = 0; attrs && i < attrs->len; i++) {
		const sdp_attr *a = g_ptr_array_index(attrs, i);
		if (!a || !a->name)
			continue;
		for (int d = 0; d < 4; d++)
			if (strcmp(a->name, names[d]) == 0)
				return d;
	}
	return -1;
}

sdp_dir sdp_media_dir(const sdp_session *s, const sdp_media *m)
{
	int d = m ? attrs_dir(m->attrs) : -1;
	if (d < 0 && s)
		d = attrs_dir(s->attrs);
	return d < 0 ? SDP_SENDRECV : (sdp_dir)d;
}

const char *sdp_dir_name(sdp_dir d)
{
	switch (d) {
	case SDP_SENDONLY:
		return "sendonly";
	case SDP_RECVONLY:
		return "recvonly";
	case SDP_INACTIVE:
		return "inactive";
	case SDP_SENDRECV:
	default:
		return "sendrecv";
	}
}

const sdp_conn *sdp_media_conn(const sdp_session *s, const sdp_media *m)
{
	if (m && m->conn.set)
		return &m->conn;
	if (s && s->conn.set)
		return &s->conn;
	return NULL;
}

bool sdp_media_rtcp(const sdp_media *m, unsigned *port, const char **addrtype, const char **addr)
{
	const char *v = m ? sdp_attr_value(m->attrs, "rtcp") : NULL;
	if (!v)
		return false;
	rg_str full = rg_str_from(v), t[4];
	size_t n = split_tok(full, t, 4);
	uint64_t p;
	if ((n != 1 && n != 4) || !rg_str_to_u64(t[0], 65535, &p) || p == 0)
		return false;
	const char *at = NULL, *ad = NULL;
	if (n == 4) {
		if (!rg_str_eq_c(t[1], "IN"))
			return false;
		if (rg_str_eq_c(t[2], "IP4"))
			at = "IP4";
		else if (rg_str_eq_c(t[2], "IP6"))
			at = "IP6";
		else
			return false;
		if (t[3].s + t[3].len != full.s + full.len) /* trailing spaces after the address */
			return false;
		ad = t[3].s;
	}
	if (port)
		*port = (unsigned)p;
	if (addrtype)
		*addrtype = at;
	if (addr)
		*addr = ad;
	return true;
}
