/* rtpproxy commands: tokeniser, modifier table, and the handlers over the call core.
 * Runs on the main thread; a handler holds call->lock while it changes a call (call.h rules).
 * Reference: /work/shared/docs/rtpproxy-protocol.md (sections cited as "ref 4.1" etc.). */
#include "rtpp.h"
#include "call.h"
#include "log.h"
#include "player.h"
#include "repack.h"
#include "ports.h"
#include "recording.h"
#include "stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RTPP_OK (-1)            /* handler result: answer written */
#define RTPP_F_STRONG 0x01      /* rg_media.rtpp_flags: a U/L without W named this side */
#define RTPP_F_WEAK 0x02        /* a U/L with W named this side (only Dw clears it) */

/* VF answers 1 for these dates only: what rtpgate really does (ref 3). 20050322 is what every
 * Kamailio requires; its "music on hold" half is P, not supported yet. */
const char *const rtpp_capabilities[] = {
	"20040107",   /* base protocol */
	"20050322",   /* several streams per call (medianum) */
	"20060704",   /* VF itself (extra parameter to V) */
	"20071116",   /* Z<ms>: repacketization of G.711 / G.722 (repack.c) */
	"20080403",   /* Q */
	"20081102",   /* c<pts> in U/L: kept per leg, the "session" codec list of P */
	"20081224",   /* session-timeout notification to notify_socket (engine.c) */
	"20141004",   /* G */
	"20150330",   /* N modifier: a new port on U/L */
	"20200226",   /* N: stop recording */
	NULL,
};

static struct {
	unsigned timeout, silent_timeout, offer_timeout;
} tmo = { 60, 3600, 3600 };

void rtpp_set_timeouts(unsigned timeout, unsigned silent_timeout, unsigned offer_timeout)
{
	tmo.timeout = timeout;
	tmo.silent_timeout = silent_timeout;
	tmo.offer_timeout = offer_timeout;
}

/* ---- tokens ---- */

static inline bool is_sep(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\0';
}

/* Bytes Kamailio may leave after Z<digits> (ref 8.1): NUL, control bytes other than the
 * whitespace separators, and non-ASCII. */
static inline bool is_junk(unsigned char ch)
{
	return (ch < 0x20 && ch != '\t' && ch != '\r' && ch != '\n') || ch >= 0x7f;
}

static inline bool is_digit(unsigned char ch) { return ch >= '0' && ch <= '9'; }
static inline bool is_xdigit(unsigned char ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}
static inline char upper(char ch) { return (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch; }

int rtpp_cmd_parse(const char *buf, size_t len, rtpp_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	size_t i = 0;
	while (i < len && is_sep((unsigned char)buf[i]))
		i++;
	if (i == len)
		return RTPP_E_SYNTAX;
	size_t start = i++;
	while (i < len) {
		unsigned char ch = (unsigned char)buf[i];
		if (ch == 'Z' || ch == 'z') {
			for (i++; i < len && is_digit((unsigned char)buf[i]); i++)
				;
			while (i < len && is_junk((unsigned char)buf[i]))
				i++;
			continue;
		}
		if (is_sep(ch))
			break;
		i++;
	}
	cmd->op = upper(buf[start]);
	cmd->mods = rg_str_mk(buf + start + 1, i - start - 1);
	if (cmd->op == 'V' && cmd->mods.len && upper(cmd->mods.s[0]) == 'F') {
		cmd->feature = true;
		cmd->mods.s++;
		cmd->mods.len--;
	}
	while (i < len) {
		while (i < len && is_sep((unsigned char)buf[i]))
			i++;
		if (i == len)
			break;
		size_t s = i;
		while (i < len && !is_sep((unsigned char)buf[i]))
			i++;
		rg_str tok = rg_str_mk(buf + s, i - s);
		if (rg_str_eq_c(tok, "&&"))
			cmd->subcmd = true;
		if (cmd->argc == RTPP_MAX_ARGS)
			cmd->too_many = true;
		else
			cmd->arg[cmd->argc++] = tok;
	}
	return 0;
}

bool rtpp_tag_parse(rg_str a, rtpp_tag *t)
{
	t->tag = a;
	t->medianum = 0;
	const char *semi = a.len ? memrchr(a.s, ';', a.len) : NULL;
	if (semi) {
		rg_str n = rg_str_mk(semi + 1, (size_t)(a.s + a.len - semi - 1));
		uint64_t v;
		if (n.len && is_digit((unsigned char)n.s[0]) && rg_str_to_u64(n, UINT32_MAX, &v)) {
			if (v == 0 || v > RTPP_MAX_MEDIANUM)
				return false;
			t->tag = rg_str_mk(a.s, (size_t)(semi - a.s));
			t->medianum = (unsigned)v;
		}
	}
	return t->tag.len > 0;
}

/* "tag;N" shape (Kamailio's to-tag before its timeout socket, ref 8.2) */
static bool looks_like_tag(rg_str a)
{
	rtpp_tag t;
	return rtpp_tag_parse(a, &t) && t.medianum > 0;
}

/* L<addr> / R<addr>: "[v6]", an IPv4 dotted quad, or an unbracketed IPv6 (a run with a ':'). */
static bool take_addr(const char **pp, const char *end, rg_str *out)
{
	const char *p = *pp;
	if (p < end && *p == '[') {
		const char *q = memchr(p, ']', (size_t)(end - p));
		if (!q || q == p + 1)
			return false;
		*out = rg_str_mk(p + 1, (size_t)(q - p - 1));
		*pp = q + 1;
		return true;
	}
	const char *q = p;
	bool colon = false;
	while (q < end && (is_xdigit((unsigned char)*q) || *q == ':' || *q == '.')) {
		colon |= *q == ':';
		q++;
	}
	if (!colon)
		for (q = p; q < end && (is_digit((unsigned char)*q) || *q == '.'); q++)
			;
	if (q == p)
		return false;
	*out = rg_str_mk(p, (size_t)(q - p));
	*pp = q;
	return true;
}

/* ---- U/L modifiers: one table ---- */
enum mod_kind { M_ASYM, M_SYM, M_WEAK, M_IPV6, M_NEWPORT, M_IFACE, M_PTIME, M_CODECS, M_LADDR, M_RADDR };
typedef struct ul_mod_def {
	char letter;          /* upper case; the lower case letter means the same */
	enum mod_kind kind;
	const char *doc;
} ul_mod_def;

static const ul_mod_def ul_mod_defs[] = {
	{ 'A', M_ASYM, "asymmetric: always send to the given address, never learn the source" },
	{ 'S', M_SYM, "symmetric: learn the source of the party's packets (default; Kamailio flag w)" },
	{ 'W', M_WEAK, "weak side: survives a plain D, removed by Dw" },
	{ '6', M_IPV6, "the address is IPv6" },
	{ 'N', M_NEWPORT, "allocate a new port for the answered side" },
	{ 'I', M_IFACE, "interface 'internal' (first I/E: facing the SDP's author, second: the other party)" },
	{ 'E', M_IFACE, "interface 'external' (as I)" },
	{ 'Z', M_PTIME, "Z<ms>: repacketize what the party sends (G.711, G.722) to <ms>" },
	{ 'C', M_CODECS, "c<pt,pt,...>: payload types of the m= line (checked, not used)" },
	{ 'L', M_LADDR, "L<addr>: allocate on the interface with this address" },
	{ 'R', M_RADDR, "R<addr>: allocate on the interface that routes to this address" },
};

int rtpp_ul_mods_parse(rg_str mods, rtpp_ul_mods *m, const char **why)
{
	memset(m, 0, sizeof(*m));
	m->ptime = -1;
	const char *p = mods.s, *end = mods.s + mods.len;
	while (p < end) {
		char ch = *p++;
		const ul_mod_def *d = NULL;
		for (size_t i = 0; i < G_N_ELEMENTS(ul_mod_defs); i++)
			if (ul_mod_defs[i].letter == upper(ch))
				d = &ul_mod_defs[i];
		if (!d) {
			if (!is_junk((unsigned char)ch))
				m->n_unknown++;   /* Sippy 2.x ignores unknown modifiers too (ref 10.5) */
			continue;
		}
		switch (d->kind) {
		case M_ASYM:
			m->asymmetric = true;
			break;
		case M_SYM:
			m->asymmetric = false;
			break;
		case M_WEAK:
			m->weak = true;
			break;
		case M_IPV6:
			m->ipv6 = true;
			break;
		case M_NEWPORT:
			m->new_port = true;
			break;
		case M_IFACE:
			if (m->n_iface == 2) {
				*why = "more than two I/E modifiers";
				return upper(ch) == 'E' ? RTPP_E_IFACE_E : RTPP_E_IFACE_I;
			}
			m->iface[m->n_iface++] = upper(ch);
			break;
		case M_PTIME: {
			const char *s = p;
			unsigned v = 0;
			while (p < end && is_digit((unsigned char)*p) && v < 100000)
				v = v * 10 + (unsigned)(*p++ - '0');
			if (p == s || v == 0 || v >= 1000) {
				*why = "Z needs a packetization time of 1-999 ms";
				return RTPP_E_Z;
			}
			m->ptime = (int)v;
			break;
		}
		case M_CODECS: {
			const char *s = p;
			while (p < end && (is_digit((unsigned char)*p) || *p == ','))
				p++;
			if (p == s || m->codecs.s) {
				*why = p == s ? "empty codec list after c" : "codec list given twice";
				return RTPP_E_CODECS;
			}
			m->codecs = rg_str_mk(s, (size_t)(p - s));
			break;
		}
		case M_LADDR:
		case M_RADDR:
			if (!take_addr(&p, end, d->kind == M_LADDR ? &m->laddr : &m->raddr)) {
				*why = d->kind == M_LADDR ? "L needs an address" : "R needs an address";
				return d->kind == M_LADDR ? RTPP_E_LADDR_SYNTAX : RTPP_E_RADDR_SYNTAX;
			}
			break;
		}
	}
	return 0;
}

/* ---- helpers over the call core ---- */

typedef struct rtpp_res {
	const char *why;     /* error text for the log line (static or in whybuf) */
	char whybuf[160];
	char *call_id;       /* for log lines (owned) */
} rtpp_res;

static int fail(rtpp_res *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(rtpp_res *r, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->whybuf, sizeof(r->whybuf), fmt, ap);
	va_end(ap);
	r->why = r->whybuf;
	return code;
}

static uint64_t ld(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

/* The interface an I or E modifier names: 'internal'/'external' by name (preferring family pf),
 * else with two or more interfaces the first/second one, as Sippy's -l internal/external. */
static rg_iface *bridge_iface(char which, int pf)
{
	rg_iface *ifc = rg_iface_find(which == 'I' ? "internal" : "external", pf);
	if (!ifc && rg_ifaces && rg_ifaces->len >= 2)
		ifc = rg_ifaces->pdata[which == 'I' ? 0 : 1];
	return ifc;
}

static rg_iface *iface_by_addr(const struct sockaddr_storage *ss)
{
	for (guint i = 0; rg_ifaces && i < rg_ifaces->len; i++) {
		rg_iface *ifc = rg_ifaces->pdata[i];
		if (ifc->family != ss->ss_family)
			continue;
		if (ss->ss_family == AF_INET &&
		    ((const struct sockaddr_in *)&ifc->local)->sin_addr.s_addr ==
			    ((const struct sockaddr_in *)ss)->sin_addr.s_addr)
			return ifc;
		if (ss->ss_family == AF_INET6 &&
		    !memcmp(&((const struct sockaddr_in6 *)&ifc->local)->sin6_addr,
			    &((const struct sockaddr_in6 *)ss)->sin6_addr, sizeof(struct in6_addr)))
			return ifc;
	}
	return NULL;
}

static bool addr_parse(rg_str a, struct sockaddr_storage *ss)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	memset(ss, 0, sizeof(*ss));
	if (a.len == 0 || a.len >= sizeof(tmp))
		return false;
	memcpy(tmp, a.s, a.len);
	tmp[a.len] = '\0';
	if (inet_pton(AF_INET, tmp, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, tmp, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		return true;
	}
	return false;
}

/* Interfaces for one U/L: [0] for the socket the SDP's author sends to, [1] for the other
 * party's (where the answered port lives). Only used when a side gets its first socket. */
static int pick_ifaces(const rtpp_ul_mods *m, int pf, rg_iface *out[2], rtpp_res *r)
{
	struct sockaddr_storage ss;
	if (m->laddr.s) {
		if (!addr_parse(m->laddr, &ss) || !(out[0] = iface_by_addr(&ss)))
			return fail(r, RTPP_E_LADDR, "L%.*s is not the address of a media interface",
				    (int)m->laddr.len, m->laddr.s);
		out[1] = out[0];
		return 0;
	}
	if (m->raddr.s) {
		if (!addr_parse(m->raddr, &ss))
			return fail(r, RTPP_E_RADDR, "R%.*s is not an IP address", (int)m->raddr.len, m->raddr.s);
		((struct sockaddr_in *)&ss)->sin_port = htons(9);   /* same offset in sockaddr_in6 */
		int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		socklen_t sl = ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		struct sockaddr_storage loc;
		socklen_t ll = sizeof(loc);
		bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&ss, sl) == 0 &&
			  getsockname(fd, (struct sockaddr *)&loc, &ll) == 0;
		if (fd >= 0)
			close(fd);
		if (!ok)
			return fail(r, RTPP_E_RADDR_ROUTE, "no route to R%.*s", (int)m->raddr.len, m->raddr.s);
		if (!(out[0] = iface_by_addr(&loc)))
			return fail(r, RTPP_E_RADDR_LOCAL, "the local address toward R%.*s is no media interface",
				    (int)m->raddr.len, m->raddr.s);
		out[1] = out[0];
		return 0;
	}
	if (m->n_iface == 0) {
		out[0] = out[1] = rg_iface_default(pf);
		if (!out[0])
			return fail(r, RTPP_E_FAMILY, "no media interface for IPv%c", pf == AF_INET6 ? '6' : '4');
		return 0;
	}
	for (unsigned i = 0; i < m->n_iface; i++) {
		out[i] = bridge_iface(m->iface[i], pf);
		if (!out[i])
			return fail(r, m->iface[i] == 'E' ? RTPP_E_IFACE_E : RTPP_E_IFACE_I,
				    "%c needs two interfaces ('internal' and 'external')", m->iface[i]);
	}
	if (m->n_iface == 1) {   /* the other side stays on the first (internal) interface */
		out[1] = bridge_iface('I', pf);
		if (!out[1])
			out[1] = out[0];
	}
	return 0;
}

/* A party now answers to `tag`: an untagged placeholder takes it; a leg answered by another fork
 * before keeps its old tag for lookups (as NG's answer does). */
static void adopt_tag(rg_party *p, const char *tag, const char *cid)
{
	if (!tag || (p->tag && strcmp(p->tag, tag) == 0))
		return;
	if (p->tag) {
		rg_clog(RG_LOG_INFO, cid, "rtpproxy: leg %s now answered by %s", p->tag, tag);
		g_ptr_array_add(p->old_tags, p->tag);
	}
	p->tag = g_strdup(tag);
}

/* The two parties a command names: *a has tag a (the first tag), *b has tag b or is a's peer
 * (untagged until the answer names it). Creates what is missing when `create`. Call lock held. */
static bool resolve_pair(rg_call *c, const char *ta, const char *tb, bool create, rg_party **pa,
			 rg_party **pb)
{
	rg_party *a = rg_party_find(c, ta), *b = tb ? rg_party_find(c, tb) : NULL;
	if (!a && !b) {
		if (!create)
			return false;
		a = rg_party_new(c, ta, NULL);
	}
	if (!a) {
		a = b->peer ? b->peer : rg_party_new(c, NULL, NULL);
		adopt_tag(a, ta, c->call_id);
	} else if (!b || b == a) {
		b = a->peer ? a->peer : rg_party_new(c, tb, NULL);
		adopt_tag(b, tb, c->call_id);
	}
	a->peer = b;
	b->peer = a;
	*pa = a;
	*pb = b;
	return true;
}

static rg_media *media_at(rg_party *p, unsigned n)
{
	return p && n >= 1 && p->medias->len >= n ? p->medias->pdata[n - 1] : NULL;
}

/* "<port>", "<port> <addr>" or "<port> <addr> 6" (ref 4.3) */
static void answer_port(GString *out, unsigned port, const rg_iface *ifc)
{
	struct sockaddr_storage ss;
	const char *adv = ifc->advertised;
	if (!addr_parse(rg_str_from(adv), &ss))
		ss.ss_family = (sa_family_t)ifc->family;
	bool wildcard = (ss.ss_family == AF_INET && ((struct sockaddr_in *)&ss)->sin_addr.s_addr == 0) ||
			(ss.ss_family == AF_INET6 &&
			 IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr));
	if (wildcard)
		g_string_append_printf(out, "%u\n", port);
	else
		g_string_append_printf(out, "%u %s%s\n", port, adv, ss.ss_family == AF_INET6 ? " 6" : "");
}

/* Sippy's URL encoding check of the notify tag (E10) */
static bool url_encoding_ok(rg_str s)
{
	for (size_t i = 0; i < s.len; i++)
		if (s.s[i] == '%' && (i + 2 >= s.len || !is_xdigit((unsigned char)s.s[i + 1]) ||
				      !is_xdigit((unsigned char)s.s[i + 2])))
			return false;
	return true;
}

/* ---- U and L (ref 4.1) ---- */

static int cmd_ul(const rtpp_cmd *cm, GString *out, rtpp_res *r, bool lookup)
{
	rtpp_ul_mods m;
	int e = rtpp_ul_mods_parse(cm->mods, &m, &r->why);
	r->call_id = rg_str_dup(cm->arg[0]);
	if (e)
		return e;
	const char *cid = r->call_id;
	if (m.n_unknown)
		rg_clog(RG_LOG_INFO, cid, "rtpproxy %c: %u unknown modifier(s) in '%.*s' ignored", cm->op,
			m.n_unknown, (int)cm->mods.len, cm->mods.s);

	/* arguments: callid addr port tag1 [tag2 [notify_socket [notify_tag]]] (ref 4.1, 8.2) */
	rtpp_tag t1, t2 = { RG_STR_NULL, 0 };
	rg_str notify_sock = RG_STR_NULL, notify_tag = RG_STR_NULL, tag2 = RG_STR_NULL;
	if (cm->argc == 6 && !looks_like_tag(cm->arg[4])) {
		notify_sock = cm->arg[4];   /* Sippy's 7-word form: no to_tag */
		notify_tag = cm->arg[5];
	} else {
		if (cm->argc >= 5)
			tag2 = cm->arg[4];
		if (cm->argc >= 6)
			notify_sock = cm->arg[5];  /* Kamailio's timeout_socket comes without a tag */
		if (cm->argc >= 7)
			notify_tag = cm->arg[6];
	}
	if (!rtpp_tag_parse(cm->arg[3], &t1) || (tag2.s && !rtpp_tag_parse(tag2, &t2)))
		return fail(r, RTPP_E_SYNTAX, "bad tag (empty, or medianum not in 1-%d)", RTPP_MAX_MEDIANUM);
	if (notify_tag.s && !url_encoding_ok(notify_tag))
		return fail(r, RTPP_E_NOTIFY_TAG, "notify tag has invalid URL encoding");
	unsigned n = t1.medianum ? t1.medianum : (t2.medianum ? t2.medianum : 1);

	uint64_t port;
	struct sockaddr_storage ss;
	if (!rg_str_to_u64(cm->arg[2], 65535, &port))
		return fail(r, RTPP_E_ADDR, "bad port '%.*s'", (int)MIN(cm->arg[2].len, 40), cm->arg[2].s);
	if (!addr_parse(cm->arg[1], &ss))
		return fail(r, RTPP_E_ADDR, "bad address '%.*s'", (int)MIN(cm->arg[1].len, 60), cm->arg[1].s);
	int pf = m.ipv6 ? AF_INET6 : AF_INET;
	rg_iface *ifs[2];
	if ((e = pick_ifaces(&m, pf, ifs, r)))
		return e;
	char *addr = rg_str_dup(cm->arg[1]);
	rg_endpoint rtp, rtcp;
	bool hold = !rg_endpoint_from_str(&rtp, addr, (unsigned)port) && port != 0;
	if (!rtp.set || !rg_endpoint_from_str(&rtcp, addr, (unsigned)port + 1))
		memset(&rtcp, 0, sizeof(rtcp));

	char *ta = rg_str_dup(t1.tag), *tb = rg_str_dup(t2.tag);
	const char *err = NULL;
	bool created = false;
	rg_call *c = rg_call_get(cid);
	if (!c && !lookup) {
		c = rg_call_create(cid, &err);
		if (!c) {
			e = fail(r, RTPP_E_OVERLOAD, "%s", err);
			goto out;
		}
		created = true;
	}
	if (!c) {
		rg_clog(RG_LOG_INFO, cid, "rtpproxy L: session not found");
		g_string_append(out, "0\n");
		e = RTPP_OK;
		goto out;
	}
	g_mutex_lock(&c->lock);
	c->last_signal = rg_now();
	if (created)
		c->rtpproxy = true;
	rg_party *a, *b;
	rg_media *mo = NULL, *ma;
	if (!resolve_pair(c, ta, tb, !lookup, &a, &b) || (lookup && (!media_at(a, n) || !media_at(a, n)->rtp.sock))) {
		g_mutex_unlock(&c->lock);
		rg_clog(RG_LOG_INFO, cid, "rtpproxy L: session %s;%u not found", ta, n);
		g_string_append(out, "0\n");
		e = RTPP_OK;
		goto out;
	}
	rg_party *author = lookup ? b : a, *other = lookup ? a : b;
	mo = media_at(other, n);
	if (m.new_port && mo && mo->rtp.sock)
		rg_media_release(mo);
	if (!(mo = rg_media_ensure(other, n, ifs[1], &err)) || !(ma = rg_media_ensure(author, n, ifs[0], &err))) {
		g_mutex_unlock(&c->lock);
		e = fail(r, created ? RTPP_E_PORTS_NEW : RTPP_E_PORTS_OLD, "%s", err);
		goto out;
	}
	ma->peer = mo;
	mo->peer = ma;
	if (rtp.set && rtp.ss.ss_family != ma->iface->family) {
		/* e.g. SIP over IPv4 for an IPv6 stream (Kamailio sends the SIP source without flag r) */
		rg_clog(RG_LOG_INFO, cid, "rtpproxy %c: %s is not of the family of interface %s: the party's "
			"address is learned from its packets", cm->op, addr, ma->iface->name);
		memset(&rtp, 0, sizeof(rtp));
		memset(&rtcp, 0, sizeof(rtcp));
	}
	ma->rejected = port == 0;
	ma->asymmetric = m.asymmetric;
	ma->dir = hold ? SDP_INACTIVE : SDP_SENDRECV;
	rg_media_set_endpoints(ma, &rtp, &rtcp);
	ma->rtpp_flags |= m.weak ? RTPP_F_WEAK : RTPP_F_STRONG;
	if (notify_sock.s && notify_sock.len < 256) {
		/* Sippy's session-timeout notification: on a media timeout (engine.c) */
		g_free(c->notify_sock);
		g_free(c->notify_tag);
		c->notify_sock = rg_str_dup(notify_sock);
		c->notify_tag = NULL;
		if (notify_tag.s) {
			char *enc = rg_str_dup(notify_tag);
			c->notify_tag = g_uri_unescape_string(enc, NULL);
			g_free(enc);
		}
	}
	if (rg_str_is_set(m.codecs)) {
		g_free(ma->rtpp_pts);
		ma->rtpp_pts = rg_str_dup(m.codecs);
	}
	if (m.ptime < 0 && ma->repack) {
		rg_repack_free(ma->repack);   /* a U/L without Z from the same party: no more */
		ma->repack = NULL;
	} else if (m.ptime >= 0) {
		/* Z<ms>: what the author sends is repacketized (G.711/G.722 of its c list) */
		const char *why = rg_repack_set(ma, rg_repack_pick_pt(ma->rtpp_pts), (unsigned)m.ptime);
		if (why)
			rg_clog(RG_LOG_INFO, cid, "rtpproxy %c media %u: Z%d ignored: %s", cm->op, ma->index,
				m.ptime, why);
		else
			rg_clog(RG_LOG_INFO, cid, "rtpproxy %c media %u: packets from %s repacketized to %d ms",
				cm->op, ma->index, author->tag ? author->tag : "(untagged)", m.ptime);
	}
	if (lookup) {
		c->answered = true;
		author->answered = true;
	}
	unsigned aport = mo->rtp.sock->port, myport = ma->rtp.sock->port;
	rg_iface *aif = mo->iface, *myif = ma->iface;
	char *who = g_strdup(author->tag ? author->tag : "(untagged)");
	g_mutex_unlock(&c->lock);
	answer_port(out, aport, aif);
	rg_clog(RG_LOG_INFO, cid, "rtpproxy %c media %u: %s at %s:%u%s sends to %u (%s); answered %u (%s)",
		cm->op, n, who, addr, (unsigned)port, hold ? " (on hold)" : port == 0 ? " (rejected)" : "",
		myport, myif->name, aport, aif->name);
	g_free(who);
	e = RTPP_OK;
out:
	if (e != RTPP_OK && created)
		rg_call_destroy(c, "failed rtpproxy U");
	if (c)
		rg_call_unref(c);
	g_free(addr);
	g_free(ta);
	g_free(tb);
	return e;
}

static int cmd_update(const rtpp_cmd *c, GString *out, rtpp_res *r) { return cmd_ul(c, out, r, false); }
static int cmd_lookup(const rtpp_cmd *c, GString *out, rtpp_res *r) { return cmd_ul(c, out, r, true); }

/* ---- D (ref 4.4): Sippy's strong/weak flags per session ---- */

static int cmd_delete(const rtpp_cmd *cm, GString *out, rtpp_res *r)
{
	bool weak = false;
	r->call_id = rg_str_dup(cm->arg[0]);
	for (size_t i = 0; i < cm->mods.len; i++) {
		if (upper(cm->mods.s[i]) != 'W')
			return fail(r, RTPP_E_DEL_MOD, "unknown D modifier '%c'", cm->mods.s[i]);
		weak = true;
	}
	rtpp_tag t1, t2 = { RG_STR_NULL, 0 };
	if (!rtpp_tag_parse(cm->arg[1], &t1) || (cm->argc > 2 && !rtpp_tag_parse(cm->arg[2], &t2)))
		return fail(r, RTPP_E_SYNTAX, "bad tag");
	rg_call *c = rg_call_get(r->call_id);
	if (!c)
		return fail(r, RTPP_E_NOSESSION, "delete: no such call");
	char *ta = rg_str_dup(t1.tag), *tb = rg_str_dup(t2.tag);
	unsigned n = t1.medianum ? t1.medianum : t2.medianum;   /* 0: every medianum */
	g_mutex_lock(&c->lock);
	rg_party *p = rg_party_find(c, ta);
	if (!p && tb)
		p = rg_party_find(c, tb);
	g_free(ta);
	g_free(tb);
	if (!p) {
		g_mutex_unlock(&c->lock);
		rg_call_unref(c);
		return fail(r, RTPP_E_NOSESSION, "delete: tags do not match the call");
	}
	for (guint i = 0; i < p->medias->len; i++) {
		rg_media *mp = p->medias->pdata[i], *mq = mp->peer;
		if (n && mp->index != n)
			continue;
		if (weak) {
			mp->rtpp_flags &= (uint8_t)~RTPP_F_WEAK;
		} else {
			mp->rtpp_flags &= (uint8_t)~RTPP_F_STRONG;
			if (mq)
				mq->rtpp_flags &= (uint8_t)~RTPP_F_STRONG;
		}
	}
	/* the call goes when no session keeps a flag; else only the sessions without one */
	bool keep = false;
	for (guint j = 0; j < c->parties->len; j++) {
		rg_party *q = c->parties->pdata[j];
		for (guint i = 0; i < q->medias->len; i++) {
			rg_media *mq = q->medias->pdata[i];
			if (mq->rtp.sock && (mq->rtpp_flags || (mq->peer && mq->peer->rtpp_flags)))
				keep = true;
		}
	}
	unsigned released = 0;
	for (guint i = 0; keep && i < p->medias->len; i++) {
		rg_media *mp = p->medias->pdata[i], *mq = mp->peer;
		if ((n && mp->index != n) || mp->rtpp_flags || (mq && mq->rtpp_flags) || !mp->rtp.sock)
			continue;
		rg_media_release(mp);
		if (mq)
			rg_media_release(mq);
		released++;
	}
	g_mutex_unlock(&c->lock);
	if (keep)
		rg_clog(RG_LOG_INFO, r->call_id, "rtpproxy D%s: %u session(s) removed, call kept (weak/strong flags)",
			weak ? "w" : "", released);
	else
		rg_call_destroy(c, "rtpproxy D");
	rg_call_unref(c);
	g_string_append(out, "0\n");
	return RTPP_OK;
}

/* ---- Q (ref 4.5) ---- */

static int64_t session_ttl(rg_call *c)
{
	int64_t now = rg_now(), last = c->last_signal;
	bool any = false, held = true;
	for (guint i = 0; i < c->parties->len; i++) {
		rg_party *p = c->parties->pdata[i];
		for (guint j = 0; j < p->medias->len; j++) {
			rg_media *m = p->medias->pdata[j];
			int64_t a = __atomic_load_n(&m->rtp.last_packet, __ATOMIC_RELAXED);
			int64_t b = __atomic_load_n(&m->rtcp.last_packet, __ATOMIC_RELAXED);
			last = MAX(last, MAX(a, b));
			if (!m->rejected) {
				any = true;
				held &= m->dir != SDP_SENDRECV;
			}
		}
	}
	if (!c->answered)
		return tmo.offer_timeout ? MAX(0, (int64_t)tmo.offer_timeout - (now - c->last_signal)) : -1;
	unsigned to = any && held ? tmo.silent_timeout : tmo.timeout;
	return to ? MAX(0, (int64_t)to - (now - last)) : -1;
}

static const char *const q_names[] = { "ttl", "npkts_ina", "npkts_ino", "nrelayed", "ndropped" };

static int cmd_query(const rtpp_cmd *cm, GString *out, rtpp_res *r)
{
	bool verbose = false;
	r->call_id = rg_str_dup(cm->arg[0]);
	for (size_t i = 0; i < cm->mods.len; i++) {
		if (upper(cm->mods.s[i]) != 'V')
			return fail(r, RTPP_E_Q_MOD, "unknown Q modifier '%c'", cm->mods.s[i]);
		verbose = true;
	}
	rtpp_tag t1, t2 = { RG_STR_NULL, 0 };
	if (!rtpp_tag_parse(cm->arg[1], &t1) || (cm->argc > 2 && !rtpp_tag_parse(cm->arg[2], &t2)))
		return fail(r, RTPP_E_SYNTAX, "bad tag");
	/* counters asked for (after to_tag), all known before anything is looked up */
	int want[RTPP_MAX_ARGS];
	unsigned nwant = 0;
	for (unsigned i = 3; i < cm->argc; i++) {
		int k = -1;
		for (unsigned j = 0; j < G_N_ELEMENTS(q_names); j++)
			if (rg_str_eq_c(cm->arg[i], q_names[j]))
				k = (int)j;
		if (k < 0)
			return fail(r, RTPP_E_QUERY, "counter '%.*s' is unknown or not supported (rtpa_* need "
				    "sequence tracking)", (int)MIN(cm->arg[i].len, 40), cm->arg[i].s);
		want[nwant++] = k;
	}
	if (!nwant)
		for (unsigned j = 0; j < G_N_ELEMENTS(q_names); j++)
			want[nwant++] = (int)j;
	rg_call *c = rg_call_get(r->call_id);
	if (!c)
		return fail(r, RTPP_E_NOSESSION, "query: no such call");
	char *ta = rg_str_dup(t1.tag), *tb = rg_str_dup(t2.tag);
	unsigned n = t1.medianum ? t1.medianum : (t2.medianum ? t2.medianum : 1);
	g_mutex_lock(&c->lock);
	rg_party *p = rg_party_find(c, ta);
	if (!p && tb) {
		rg_party *q = rg_party_find(c, tb);
		p = q ? q->peer : NULL;
	}
	rg_media *m1 = media_at(p, n), *m2;
	if (m1 && !m1->rtp.sock)
		m1 = NULL;   /* that session was deleted (D with ;N) */
	m2 = m1 ? m1->peer : NULL;
	int64_t v[G_N_ELEMENTS(q_names)] = { 0 };
	if (m1) {
		v[0] = session_ttl(c);
		v[1] = (int64_t)ld(&m1->rtp.packets);
		v[2] = m2 ? (int64_t)ld(&m2->rtp.packets) : 0;
		v[3] = v[1] + v[2];
		v[4] = (int64_t)(ld(&m1->rtp.errors) + (m2 ? ld(&m2->rtp.errors) : 0));
	}
	g_mutex_unlock(&c->lock);
	rg_call_unref(c);
	g_free(ta);
	g_free(tb);
	if (!m1)
		return fail(r, RTPP_E_NOSESSION, "query: tags/medianum %u do not match the call", n);
	for (unsigned i = 0; i < nwant; i++) {
		if (i)
			g_string_append_c(out, ' ');
		if (verbose)
			g_string_append_printf(out, "%s=", q_names[want[i]]);
		g_string_append_printf(out, "%" G_GINT64_FORMAT, v[want[i]]);
	}
	g_string_append_c(out, '\n');
	return RTPP_OK;
}

/* ---- V, VF, I, G, X ---- */

static int cmd_version(const rtpp_cmd *cm, GString *out, rtpp_res *r)
{
	g_string_append(out, "20040107\n");
	return RTPP_OK;
}

static int cmd_feature(const rtpp_cmd *cm, GString *out, rtpp_res *r)
{
	bool known = false;
	for (const char *const *p = rtpp_capabilities; *p; p++)
		known |= rg_str_eq_c(cm->arg[0], *p);
	g_string_append(out, known ? "1\n" : "0\n");
	return RTPP_OK;
}

static uint64_t pkts_received(void)
{
	return rg_ctr_read(RG_CTR_PKT_RELAYED) + rg_ctr_read(RG_CTR_DROP_MALFORMED) +
	       rg_ctr_read(RG_CTR_DROP_OVERSIZE) + rg_ctr_read(RG_CTR_DROP_SOURCE) +
	       rg_ctr_read(RG_CTR_DROP_NO_PEER);
}

static uint64_t pkts_sent(void)
{
	uint64_t a = rg_ctr_read(RG_CTR_PKT_RELAYED), b = rg_ctr_read(RG_CTR_DROP_SEND);
	return a > b ? a - b : 0;
}

static int cmd_info(const rtpp_cmd *cm, GString *out, rtpp_res *r)
{
	for (size_t i = 0; i < cm->mods.len; i++) {
		char ch = upper(cm->mods.s[i]);
		if (ch == 'L')
			return fail(r, RTPP_E_I_MOD, "Il: load tracking is not supported");
		if (ch != 'B')
			return fail(r, RTPP_E_I_MOD, "unknown I modifier '%c'", cm->mods.s[i]);
	}
	unsigned streams = 0, calls = 0;
	GPtrArray *all = g_ptr_array_new();
	g_mutex_lock(&rg_calls_lock);
	GHashTableIter it;
	gpointer k, val;
	g_hash_table_iter_init(&it, rg_calls);
	while (g_hash_table_iter_next(&it, &k, &val)) {
		rg_call_ref(val);
		g_ptr_array_add(all, val);
	}
	g_mutex_unlock(&rg_calls_lock);
	for (guint i = 0; i < all->len; i++) {
		rg_call *c = all->pdata[i];
		g_mutex_lock(&c->lock);
		calls++;
		for (guint j = 0; j < c->parties->len; j++) {
			rg_party *p = c->parties->pdata[j];
			for (guint l = 0; l < p->medias->len; l++)
				streams += ((rg_media *)p->medias->pdata[l])->rtp.sock != NULL;
		}
		g_mutex_unlock(&c->lock);
		rg_call_unref(c);
	}
	g_ptr_array_free(all, TRUE);
	g_string_append_printf(out, "sessions created: %" G_GUINT64_FORMAT "\nactive sessions: %u\n"
			       "active streams: %u\npackets received: %" G_GUINT64_FORMAT "\n"
			       "packets transmitted: %" G_GUINT64_FORMAT "\n",
			       rg_ctr_read(RG_CTR_CALLS_CREATED), calls, streams, pkts_received(), pkts_sent());
	return RTPP_OK;
}

/* G: Sippy's counter names where rtpgate has the same number, and every rtpgate counter name. */
static bool stat_value(rg_str name, uint64_t *v)
{
	if (rg_str_eq_c(name, "nsess_created"))
		*v = rg_ctr_read(RG_CTR_CALLS_CREATED);
	else if (rg_str_eq_c(name, "nsess_destroyed"))
		*v = rg_ctr_read(RG_CTR_CALLS_DELETED);
	else if (rg_str_eq_c(name, "nsess_timeout"))
		*v = rg_ctr_read(RG_CTR_CALLS_TIMEOUT) + rg_ctr_read(RG_CTR_CALLS_FINAL_TIMEOUT) +
		     rg_ctr_read(RG_CTR_CALLS_OFFER_TIMEOUT);
	else if (rg_str_eq_c(name, "npkts_rcvd"))
		*v = pkts_received();
	else if (rg_str_eq_c(name, "npkts_relayed"))
		*v = pkts_sent();
	else if (rg_str_eq_c(name, "npkts_discard"))
		*v = pkts_received() - pkts_sent();
	else if (rg_str_eq_c(name, "ncmds_rcvd"))
		*v = rg_ctr_read(RG_CTR_RTPP_REQUESTS) + rg_ctr_read(RG_CTR_RTPP_RETRANSMITS);
	else if (rg_str_eq_c(name, "ncmds_succd"))
		*v = rg_ctr_read(RG_CTR_RTPP_REQUESTS) - rg_ctr_read(RG_CTR_RTPP_ERRORS);
	else if (rg_str_eq_c(name, "ncmds_errs"))
		*v = rg_ctr_read(RG_CTR_RTPP_ERRORS);
	else {
		for (int i = 0; i < RG_CTR__MAX; i++)
			if (rg_str_eq_c(name, rg_ctr_names[i])) {
				*v = rg_ctr_read(i);
				return true;
			}
		return false;
	}
	return true;
}

static int cmd_stats(const rtpp_cmd *cm, GString *out, rtpp_res *r)
{
	bool verbose = false;
	for (size_t i = 0; i < cm->mods.len; i++) {
		if (upper(cm->mods.s[i]) != 'V')
			return fail(r, RTPP_E_G_MOD, "unknown G modifier '%c'", cm->mods.s[i]);
		verbose = true;
	}
	for (unsigned i = 0; i < cm->argc; i++) {
		uint64_t v;
		if (!stat_value(cm->arg[i], &v))
			return fail(r, RTPP_E_STATS, "unknown counter '%.*s'", (int)MIN(cm->arg[i].len, 40),
				    cm->arg[i].s);
		if (i)
			g_string_append_c(out, ' ');
		if (verbose)
			g_string_append_printf(out, RG_STR_FMT "=", RG_STR_ARG(cm->arg[i]));
		g_string_append_printf(out, "%" G_GUINT64_FORMAT, v);
	}
	g_string_append_c(out, '\n');
	return RTPP_OK;
}

static const char *verdict_rtpproxy(rg_call *c, void *ud)
{
	return c->rtpproxy ? "rtpproxy X" : NULL;   /* written and read on the main thread only */
}

static int cmd_delete_all(const rtpp_cmd *cm, GString *out, rtpp_res *r)
{
	unsigned n = rg_calls_destroy_where(verdict_rtpproxy, NULL);
	rg_log(RG_LOG_INFO, "rtpproxy X: %u call(s) deleted (calls made through NG are kept)", n);
	g_string_append(out, "0\n");
	return RTPP_OK;
}

/* ---- P, S: prompts and music on hold (player.c) ---- */

/* The media of the party a P or S command plays to: the first tag's party (or the peer of the
 * second tag's), its medianum-th media or all (medianum 0). Call lock held. */
static rg_party *play_target(rg_call *c, const rtpp_cmd *cm, unsigned tag_arg, unsigned *n)
{
	rtpp_tag t1, t2 = { RG_STR_NULL, 0 };
	if (!rtpp_tag_parse(cm->arg[tag_arg], &t1) ||
	    (cm->argc > tag_arg + 1 && !rtpp_tag_parse(cm->arg[tag_arg + 1], &t2)))
		return NULL;
	char *ta = rg_str_dup(t1.tag), *tb = rg_str_dup(t2.tag);
	rg_party *p = rg_party_find(c, ta);
	if (!p && tb) {
		rg_party *q = rg_party_find(c, tb);
		p = q ? q->peer : NULL;
	}
	g_free(ta);
	g_free(tb);
	*n = t1.medianum;
	return p;
}

/* P[count] callid prompt codecs tag1 [tag2] (ref 4.4): play to the first tag's party. */
static int cmd_play(const rtpp_cmd *cm, GString *out, rtpp_res *r)
{
	r->call_id = rg_str_dup(cm->arg[0]);
	int count = 1;
	if (cm->mods.len) {
		const char *s = cm->mods.s, *end = s + cm->mods.len;
		bool neg = *s == '-';
		if (neg)
			s++;
		if (s == end || end - s > 6)
			return fail(r, RTPP_E_P_COUNT, "P count is not a number");
		count = 0;
		for (; s < end; s++) {
			if (!is_digit((unsigned char)*s))
				return fail(r, RTPP_E_P_COUNT, "P count is not a number");
			count = count * 10 + (*s - '0');
		}
		if (neg)
			count = -1;   /* until S */
	}
	rtpp_tag tcheck;
	if (!rtpp_tag_parse(cm->arg[3], &tcheck))
		return fail(r, RTPP_E_SYNTAX, "bad tag");
	rg_call *c = rg_call_get(r->call_id);
	if (!c)
		return fail(r, RTPP_E_NOSESSION, "play: no such call");
	char *prompt = rg_str_dup(cm->arg[1]), *codecs = rg_str_dup(cm->arg[2]);
	bool session = strcmp(codecs, "session") == 0;
	unsigned n = 0, played = 0, dur = 0;
	int e = RTPP_OK;
	char *why = NULL;
	g_mutex_lock(&c->lock);
	rg_party *p = play_target(c, cm, 3, &n);
	for (guint i = 0; p && i < p->medias->len && e == RTPP_OK; i++) {
		rg_media *m = p->medias->pdata[i];
		if ((n && m->index != n) || !m->rtp.sock)
			continue;
		if (count == 0) {
			rg_player_stop(m);   /* "only stop what plays" */
			played++;
			continue;
		}
		if (session && !m->rtpp_pts) {
			e = RTPP_E_NOCODECS;
			why = g_strdup("no codec list (c modifier) was given for that leg");
			break;
		}
		if (!rg_player_play_file(m, prompt, session ? m->rtpp_pts : codecs, count, &dur, &why))
			e = RTPP_E_PLAY;
		else
			played++;
	}
	g_mutex_unlock(&c->lock);
	rg_call_unref(c);
	if (e == RTPP_OK && !played) {
		e = RTPP_E_PLAY;
		why = g_strdup("no such leg (tags or medianum)");
	}
	if (e != RTPP_OK)
		e = fail(r, e, "play %s: %s", prompt, why);
	else
		g_string_append(out, "0\n");
	g_free(why);
	g_free(prompt);
	g_free(codecs);
	return e;
}

/* S callid tag1 [tag2]: stop what plays to the first tag's party. */
static int cmd_noplay(const rtpp_cmd *cm, GString *out, rtpp_res *r)
{
	r->call_id = rg_str_dup(cm->arg[0]);
	rg_call *c = rg_call_get(r->call_id);
	if (!c)
		return fail(r, RTPP_E_NOSESSION, "stop play: no such call");
	unsigned n = 0;
	g_mutex_lock(&c->lock);
	rg_party *p = play_target(c, cm, 1, &n);
	for (guint i = 0; p && i < p->medias->len; i++) {
		rg_media *m = p->medias->pdata[i];
		if (!n || m->index == n)
			rg_player_stop(m);
	}
	g_mutex_unlock(&c->lock);
	rg_call_unref(c);
	if (!p)
		return fail(r, RTPP_E_NOSESSION, "stop play: tags do not match the call");
	g_string_append(out, "0\n");
	return RTPP_OK;
}

/* R, C, N (recording.h): they act on the whole call (every media, both legs) once either tag
 * names one of its parties. The call, referenced and locked; NULL with *e set. */
static rg_call *recorded_call(const rtpp_cmd *cm, unsigned tag_arg, rtpp_res *r, int *e)
{
	rtpp_tag t1, t2 = { RG_STR_NULL, 0 };
	if (!rtpp_tag_parse(cm->arg[tag_arg], &t1) ||
	    (cm->argc > tag_arg + 1 && !rtpp_tag_parse(cm->arg[tag_arg + 1], &t2))) {
		*e = fail(r, RTPP_E_SYNTAX, "bad tag");
		return NULL;
	}
	rg_call *c = rg_call_get(r->call_id);
	if (!c) {
		*e = fail(r, RTPP_E_NOSESSION, "%c: no such call", cm->op);
		return NULL;
	}
	char *ta = rg_str_dup(t1.tag), *tb = rg_str_dup(t2.tag);
	g_mutex_lock(&c->lock);
	bool ok = rg_party_find(c, ta) || (tb && rg_party_find(c, tb));
	g_free(ta);
	g_free(tb);
	if (!ok) {
		g_mutex_unlock(&c->lock);
		rg_call_unref(c);
		*e = fail(r, RTPP_E_NOSESSION, "%c: tags do not match the call", cm->op);
		return NULL;
	}
	return c;
}

/* R[s] callid from_tag [to_tag]: record the call (s, Sippy's single-file mode, is what rtpgate
 * always does: one pcap for both legs). C[s] callid target from_tag [to_tag]: the same recording,
 * named after target's file name (inside recording-dir); a remote target (udp:host:port,
 * host:port: Sippy streams the copy there) is not supported: E65. */
static int cmd_record(const rtpp_cmd *cm, GString *out, rtpp_res *r)
{
	r->call_id = rg_str_dup(cm->arg[0]);
	if (cm->mods.len && upper(cm->mods.s[0]) == 'S' && cm->mods.len > 1)
		return fail(r, RTPP_E_REC_MOD, "bad %c modifier", cm->op);
	if (cm->mods.len && upper(cm->mods.s[0]) != 'S')
		return fail(r, RTPP_E_REC_MOD2, "bad %c modifier", cm->op);
	if (!rg_rec_enabled())
		return fail(r, RTPP_E_COPY, "%c: recording not configured (no recording-dir)", cm->op);
	char *hint = NULL;
	if (cm->op == 'C') {
		rg_str t = cm->arg[1];
		if (memchr(t.s, ':', t.len))
			return fail(r, RTPP_E_COPY, "C: copying to a remote address (%.*s) is not supported; "
				    "give a file name", (int)MIN(t.len, 60), t.s);
		hint = rg_str_dup(t);
	}
	int e;
	rg_call *c = recorded_call(cm, cm->op == 'C' ? 2 : 1, r, &e);
	if (!c) {
		g_free(hint);
		return e;
	}
	char *why = NULL;
	int ret = rg_rec_start(c, hint, &why);
	g_mutex_unlock(&c->lock);
	rg_call_unref(c);
	g_free(hint);
	if (ret < 0) {
		e = fail(r, RTPP_E_COPY, "%c: %s", cm->op, why);
		g_free(why);
		return e;
	}
	g_string_append(out, "0\n");
	return RTPP_OK;
}

/* N[a] callid from_tag [to_tag]: stop recording the call (a: every session; always the case). */
static int cmd_norecord(const rtpp_cmd *cm, GString *out, rtpp_res *r)
{
	r->call_id = rg_str_dup(cm->arg[0]);
	for (size_t i = 0; i < cm->mods.len; i++)
		if (upper(cm->mods.s[i]) != 'A')
			return fail(r, RTPP_E_REC_MOD2, "bad N modifier '%c'", cm->mods.s[i]);
	if (!rg_rec_enabled())
		return fail(r, RTPP_E_COPY, "N: recording not configured (no recording-dir)");
	int e;
	rg_call *c = recorded_call(cm, 1, r, &e);
	if (!c)
		return e;
	char *why = NULL;
	bool was = rg_rec_stop(c, &why);
	g_mutex_unlock(&c->lock);
	rg_call_unref(c);
	if (!was)
		rg_clog(RG_LOG_INFO, r->call_id, "rtpproxy N: the call was not being recorded");
	else if (why)
		rg_clog(RG_LOG_WARN, r->call_id, "rtpproxy N: the recording had stopped on an error: %s", why);
	g_free(why);
	g_string_append(out, "0\n");
	return RTPP_OK;
}

/* ---- dispatch: one table (ref 4) ---- */

typedef struct rtpp_cmd_def {
	char op;
	bool feature;           /* VF */
	const char *name;
	unsigned min_args, max_args;
	bool mods;              /* modifiers allowed */
	int (*fn)(const rtpp_cmd *, GString *, rtpp_res *);
	const char *syntax;
} rtpp_cmd_def;

static const rtpp_cmd_def cmd_defs[] = {
	{ 'U', false, "update", 4, 7, true, cmd_update,
	  "U[mods] callid addr port from_tag[;N] [to_tag[;N] [notify_socket [notify_tag]]]" },
	{ 'L', false, "lookup", 4, 5, true, cmd_lookup, "L[mods] callid addr port from_tag[;N] [to_tag[;N]]" },
	{ 'D', false, "delete", 2, 3, true, cmd_delete, "D[w] callid from_tag [to_tag]" },
	{ 'Q', false, "query", 2, 3 + 10, true, cmd_query, "Q[v] callid from_tag[;N] [to_tag [counter ...]]" },
	{ 'V', false, "version", 0, 0, false, cmd_version, "V" },
	{ 'V', true, "feature check", 1, 1, false, cmd_feature, "VF YYYYMMDD" },
	{ 'I', false, "info", 0, 0, true, cmd_info, "I[b]" },
	{ 'G', false, "get stats", 0, RTPP_MAX_ARGS, true, cmd_stats, "G[v] [counter ...]" },
	{ 'X', false, "delete all", 0, 0, false, cmd_delete_all, "X" },
	{ 'P', false, "play", 4, 5, true, cmd_play, "P[count] callid prompt codecs from_tag [to_tag]" },
	{ 'S', false, "stop play", 2, 3, false, cmd_noplay, "S callid from_tag [to_tag]" },
	{ 'R', false, "record", 2, 3, true, cmd_record, "R[s] callid from_tag [to_tag]" },
	{ 'C', false, "copy", 3, 4, true, cmd_record, "C[s] callid target from_tag [to_tag]" },
	{ 'N', false, "stop recording", 2, 3, true, cmd_norecord, "N[a] callid from_tag [to_tag]" },
};

/* Printable excerpt of a command for log lines */
static void excerpt(const char *buf, size_t len, char *out, size_t olen)
{
	size_t j = 0;
	for (size_t i = 0; i < len && j + 5 < olen; i++) {
		unsigned char ch = (unsigned char)buf[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			out[j++] = (char)ch;
		else
			j += (size_t)snprintf(out + j, olen - j, "\\x%02x", ch);
	}
	if (j >= olen)
		j = olen - 1;
	out[j] = '\0';
}

bool rtpp_process(const char *buf, size_t len, size_t room, GString *out)
{
	rtpp_cmd cm;
	rtpp_res r = { 0 };
	const rtpp_cmd_def *def = NULL;
	size_t start = out->len;
	int e;

	rg_ctr_inc(RG_CTR_RTPP_REQUESTS);
	if ((e = rtpp_cmd_parse(buf, len, &cm))) {
		r.why = "empty command";
		goto fail;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(cmd_defs); i++)
		if (cmd_defs[i].op == cm.op && cmd_defs[i].feature == cm.feature)
			def = &cmd_defs[i];
	if (!def) {
		e = fail(&r, RTPP_E_CMDUNKN, "unknown command '%c'", cm.op >= 0x20 && cm.op < 0x7f ? cm.op : '?');
		goto fail;
	}
	if (cm.too_many || cm.argc < def->min_args || cm.argc > def->max_args) {
		e = fail(&r, RTPP_E_NARGS, "%u argument(s); syntax: %s", cm.argc, def->syntax);
		goto fail;
	}
	if (!def->mods && cm.mods.len) {
		e = fail(&r, RTPP_E_MODS, "%s takes no modifiers", def->name);
		goto fail;
	}
	if (cm.subcmd) {
		e = fail(&r, RTPP_E_SUBC, "sub-commands (&&) are not supported");
		goto fail;
	}
	e = def->fn(&cm, out, &r);
	if (e != RTPP_OK)
		goto fail;
	if (out->len - start > room) {
		e = fail(&r, RTPP_E_TOOBIG, "answer of %zu bytes does not fit the client's buffer (%zu)",
			 out->len - start, room);
		goto fail;
	}
	g_free(r.call_id);
	return false;
fail:
	g_string_truncate(out, start);
	g_string_append_printf(out, "E%d\n", e);
	rg_ctr_inc(RG_CTR_RTPP_ERRORS);
	if (RG_LOG_WARN <= rg_log_level) {
		char ex[160];
		while (len && (buf[0] == ' ' || buf[0] == '\t')) {
			buf++;
			len--;
		}
		excerpt(buf, MIN(len, 100), ex, sizeof(ex));
		rg_clog(RG_LOG_WARN, r.call_id, "rtpproxy %s: E%d: %s [%s%s]", def ? def->name : "command", e,
			r.why ? r.why : "?", ex, len > 100 ? "..." : "");
	}
	g_free(r.call_id);
	return true;
}
