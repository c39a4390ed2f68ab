/* Bencode decoder/encoder for the NG control protocol. Ownership rules: see bencode.h.
 *
 * Decoding is a single iterative pass with an explicit stack of at most BE_MAX_DEPTH open
 * containers. Nodes are appended in pre-order to one growable array; because the array may move
 * while it grows, child/next pointers are filled in only after the parse, from the pre-order
 * sequence and each container's item count (link_nodes). */
#include "bencode.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>

static _Thread_local char be_errbuf[160];

typedef struct be_parser {
	const char *buf;
	size_t len;
	const char **err;
} be_parser;

static int be_fail(const be_parser *ps, int rc, size_t off, const char *what)
{
	if (ps->err) {
		snprintf(be_errbuf, sizeof(be_errbuf), "bencode: %s at offset %zu", what, off);
		*ps->err = be_errbuf;
	}
	return rc;
}

static inline bool be_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

/* Appends a zeroed node; its index in *idx. The array never holds more than
 * min(BE_MAX_NODES, len) nodes: every node starts at a distinct input byte. */
static int be_node_new(be_doc *d, size_t len, unsigned *idx)
{
	if (d->n >= BE_MAX_NODES)
		return -E2BIG;
	if (d->n == d->cap) {
		size_t bound = len < BE_MAX_NODES ? len : BE_MAX_NODES;
		size_t cap = d->cap ? (size_t)d->cap * 2 : 16;
		if (cap > bound)
			cap = bound;
		if (cap <= d->n)
			cap = (size_t)d->n + 1;
		d->nodes = g_renew(be_node, d->nodes, cap);
		d->cap = (unsigned)cap;
	}
	*idx = d->n++;
	memset(&d->nodes[*idx], 0, sizeof(be_node));
	return 0;
}

/* <decimal length>:<bytes> at *pos (which holds a digit). */
static int be_parse_str(const be_parser *ps, size_t *pos, rg_str *out)
{
	const char *buf = ps->buf;
	size_t len = ps->len, p = *pos, v = 0;

	if (buf[p] == '0' && p + 1 < len && be_isdigit(buf[p + 1]))
		return be_fail(ps, -EINVAL, p, "leading zero in string length");
	while (p < len && be_isdigit(buf[p])) {
		size_t d = (size_t)(buf[p] - '0');
		/* keeps v <= len, so nothing below can overflow */
		if (v > len / 10)
			return be_fail(ps, -EINVAL, *pos, "string length exceeds input");
		v *= 10;
		if (d > len - v)
			return be_fail(ps, -EINVAL, *pos, "string length exceeds input");
		v += d;
		p++;
	}
	if (p >= len || buf[p] != ':')
		return be_fail(ps, -EINVAL, p, "expected ':' after string length");
	p++;
	if (v > len - p)
		return be_fail(ps, -EINVAL, *pos, "string length exceeds input");
	*out = rg_str_mk(buf + p, v);
	*pos = p + v;
	return 0;
}

/* i-?[0-9]+e at *pos (which holds 'i'). */
static int be_parse_int(const be_parser *ps, size_t *pos, int64_t *out)
{
	const char *buf = ps->buf;
	size_t len = ps->len, p = *pos + 1;
	bool neg = false;

	if (p < len && buf[p] == '-') {
		neg = true;
		p++;
	}
	if (p >= len || !be_isdigit(buf[p]))
		return be_fail(ps, -EINVAL, p, "expected digit in integer");
	if (buf[p] == '0') {
		if (neg)
			return be_fail(ps, -EINVAL, p, "negative zero integer");
		if (p + 1 < len && be_isdigit(buf[p + 1]))
			return be_fail(ps, -EINVAL, p, "leading zero in integer");
	}
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	uint64_t mag = 0;
	while (p < len && be_isdigit(buf[p])) {
		uint64_t d = (uint64_t)(buf[p] - '0');
		if (mag > (limit - d) / 10)
			return be_fail(ps, -EINVAL, *pos, "integer overflow");
		mag = mag * 10 + d;
		p++;
	}
	if (p >= len || buf[p] != 'e')
		return be_fail(ps, -EINVAL, p, "expected 'e' after integer");
	if (!neg)
		*out = (int64_t)mag;
	else if (mag == (uint64_t)INT64_MAX + 1)
		*out = INT64_MIN;
	else
		*out = -(int64_t)mag;
	*pos = p + 1;
	return 0;
}

/* Fill child/next from the pre-order node sequence and the containers' counts. The input was
 * produced by the parser, so nesting never exceeds BE_MAX_DEPTH. */
static void be_link_nodes(be_doc *d)
{
	struct be_link_frame { unsigned idx, remaining, prev; } st[BE_MAX_DEPTH];
	unsigned depth = 0;

	for (unsigned i = 0; i < d->n; i++) {
		be_node *node = &d->nodes[i];
		if (depth > 0) {
			struct be_link_frame *top = &st[depth - 1];
			if (top->prev == UINT_MAX)
				d->nodes[top->idx].child = node;
			else
				d->nodes[top->prev].next = node;
			top->prev = i;
			top->remaining--;
		}
		if ((node->type == BE_LIST || node->type == BE_DICT) && node->count > 0) {
			g_assert(depth < BE_MAX_DEPTH);
			st[depth].idx = i;
			st[depth].remaining = node->count;
			st[depth].prev = UINT_MAX;
			depth++;
		}
		while (depth > 0 && st[depth - 1].remaining == 0)
			depth--;
	}
}

int be_decode(const char *buf, size_t len, be_doc *doc, const char **err)
{
	be_parser ps = { .buf = buf, .len = len, .err = err };
	be_doc d = { 0 };
	unsigned stack[BE_MAX_DEPTH];  /* node indices of the open containers */
	unsigned depth = 0;
	size_t pos = 0;
	int rc;

	if (!doc || (!buf && len))
		return be_fail(&ps, -EINVAL, 0, "invalid arguments");
	if (len == 0)
		return be_fail(&ps, -EINVAL, 0, "empty input");

	for (;;) {
		rg_str key = RG_STR_NULL;

		if (depth > 0) {
			be_type ptype = d.nodes[stack[depth - 1]].type;
			if (pos >= len) {
				rc = be_fail(&ps, -EINVAL, pos,
					     ptype == BE_DICT ? "unterminated dict" : "unterminated list");
				goto fail;
			}
			if (buf[pos] == 'e') {
				pos++;
				if (--depth == 0)
					break;
				continue;
			}
			if (ptype == BE_DICT) {
				if (!be_isdigit(buf[pos])) {
					rc = be_fail(&ps, -EINVAL, pos, "dict key must be a string");
					goto fail;
				}
				if ((rc = be_parse_str(&ps, &pos, &key)))
					goto fail;
				if (pos >= len || buf[pos] == 'e') {
					rc = be_fail(&ps, -EINVAL, pos, "dict key without value");
					goto fail;
				}
			}
		}

		/* one value starts at buf[pos], pos < len */
		unsigned idx;
		if ((rc = be_node_new(&d, len, &idx))) {
			rc = be_fail(&ps, rc, pos, "too many nodes");
			goto fail;
		}
		be_node *n = &d.nodes[idx];
		n->key = key;
		if (depth > 0)
			d.nodes[stack[depth - 1]].count++;

		char c = buf[pos];
		if (c == 'i') {
			n->type = BE_INT;
			if ((rc = be_parse_int(&ps, &pos, &n->num)))
				goto fail;
		} else if (be_isdigit(c)) {
			n->type = BE_STR;
			if ((rc = be_parse_str(&ps, &pos, &n->str)))
				goto fail;
		} else if (c == 'l' || c == 'd') {
			if (depth >= BE_MAX_DEPTH) {
				rc = be_fail(&ps, -ELOOP, pos, "nesting too deep");
				goto fail;
			}
			n->type = c == 'l' ? BE_LIST : BE_DICT;
			stack[depth++] = idx;
			pos++;
			continue;
		} else {
			char what[48];
			snprintf(what, sizeof(what), "unexpected byte 0x%02x", (unsigned)(unsigned char)c);
			rc = be_fail(&ps, -EINVAL, pos, what);
			goto fail;
		}
		if (depth == 0)
			break;
	}

	if (pos != len) {
		rc = be_fail(&ps, -EINVAL, pos, "trailing data after value");
		goto fail;
	}
	be_link_nodes(&d);
	d.root = &d.nodes[0];
	*doc = d;
	return 0;

fail:
	g_free(d.nodes);
	return rc;
}

void be_doc_free(be_doc *doc)
{
	if (!doc)
		return;
	g_free(doc->nodes);
	memset(doc, 0, sizeof(*doc));
}

const be_node *be_dict_get(const be_node *dict, const char *key)
{
	const be_node *found = NULL;

	if (!dict || dict->type != BE_DICT || !key)
		return NULL;
	for (const be_node *c = dict->child; c; c = c->next)
		if (c->key.s && rg_str_flag_eq(c->key, key))
			found = c;
	return found;
}

bool be_dict_str(const be_node *dict, const char *key, rg_str *out)
{
	const be_node *n = be_dict_get(dict, key);
	if (!n || n->type != BE_STR)
		return false;
	*out = n->str;
	return true;
}

bool be_node_int(const be_node *n, int64_t *out)
{
	if (!n)
		return false;
	if (n->type == BE_INT) {
		*out = n->num;
		return true;
	}
	if (n->type != BE_STR)
		return false;

	rg_str s = n->str;
	bool neg = false;
	if (s.len && s.s[0] == '-') {
		neg = true;
		s.s++;
		s.len--;
	}
	if (s.len == 0)
		return false;
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	uint64_t mag = 0;
	for (size_t i = 0; i < s.len; i++) {
		if (!be_isdigit(s.s[i]))
			return false;
		uint64_t d = (uint64_t)(s.s[i] - '0');
		if (mag > (limit - d) / 10)
			return false;
		mag = mag * 10 + d;
	}
	if (!neg)
		*out = (int64_t)mag;
	else if (mag == (uint64_t)INT64_MAX + 1)
		*out = INT64_MIN;
	else
		*out = -(int64_t)mag;
	return true;
}

bool be_dict_int(const be_node *dict, const char *key, int64_t *out)
{
	return be_node_int(be_dict_get(dict, key), out);
}

/* ---- encoder ---- */

void be_buf_init(be_buf *b)
{
	b->s = g_string_sized_new(256);
	b->depth = 0;
}

void be_buf_free(be_buf *b)
{
	if (!b)
		return;
	if (b->s)
		g_string_free(b->s, TRUE);
	b->s = NULL;
	b->depth = 0;
}

char *be_buf_steal(be_buf *b, size_t *len)
{
	if (!b->s)
		be_buf_init(b);
	if (len)
		*len = b->s->len;
	char *r = g_string_free(b->s, FALSE);
	b->s = NULL;
	b->depth = 0;
	return r;
}

void be_dict_open(be_buf *b)
{
	g_string_append_c(b->s, 'd');
	b->depth++;
}

void be_list_open(be_buf *b)
{
	g_string_append_c(b->s, 'l');
	b->depth++;
}

void be_close(be_buf *b)
{
	g_return_if_fail(b->depth > 0);
	g_string_append_c(b->s, 'e');
	b->depth--;
}

void be_str(be_buf *b, rg_str s)
{
	size_t len = s.s ? s.len : 0;
	g_string_append_printf(b->s, "%zu:", len);
	if (len)
		g_string_append_len(b->s, s.s, (gssize)len);
}

void be_cstr(be_buf *b, const char *s)
{
	be_str(b, rg_str_from(s));
}

void be_int(be_buf *b, int64_t v)
{
	g_string_append_printf(b->s, "i%" PRId64 "e", v);
}

void be_key(be_buf *b, const char *key)
{
	be_cstr(b, key);
}

void be_kv_str(be_buf *b, const char *key, rg_str v)
{
	be_key(b, key);
	be_str(b, v);
}

void be_kv_cstr(be_buf *b, const char *key, const char *v)
{
	be_key(b, key);
	be_cstr(b, v);
}

void be_kv_int(be_buf *b, const char *key, int64_t v)
{
	be_key(b, key);
	be_int(b, v);
}

/* Iterative pre-order walk. Decoded trees are at most BE_MAX_DEPTH deep; in a hand-built tree that
 * is deeper, each container below that depth is written as an empty string (the output stays
 * decodable) and a warning is logged. */
void be_node_encode(be_buf *b, const be_node *n)
{
	struct { const be_node *next; bool dict; } st[BE_MAX_DEPTH];
	unsigned depth = 0;
	const be_node *cur = n;

	if (!cur)
		return;
	for (;;) {
		if (depth > 0 && st[depth - 1].dict)
			be_str(b, cur->key);
		switch (cur->type) {
		case BE_STR:
			be_str(b, cur->str);
			break;
		case BE_INT:
			be_int(b, cur->num);
			break;
		case BE_LIST:
		case BE_DICT:
			if (depth >= BE_MAX_DEPTH) {
				/* would nest deeper than be_decode() accepts */
				g_warning("be_node_encode: tree deeper than %d, container replaced by \"\"",
					  BE_MAX_DEPTH);
				be_str(b, RG_STR_NULL);
				break;
			}
			g_string_append_c(b->s, cur->type == BE_LIST ? 'l' : 'd');
			st[depth].next = cur->child;
			st[depth].dict = cur->type == BE_DICT;
			depth++;
			break;
		default:
			be_str(b, RG_STR_NULL);
			break;
		}
		for (;;) {
			if (depth == 0)
				return;
			if (st[depth - 1].next) {
				cur = st[depth - 1].next;
				st[depth - 1].next = cur->next;
				break;
			}
			g_string_append_c(b->s, 'e');
			depth--;
		}
	}
}
