/* rtpproxy protocol inside one process: the real engine (interfaces internal/127.0.0.1,
 * external/127.0.0.2, internal/::1, workers, control sockets) is started; commands go through
 * rtpp_process() or the sockets, and media is pushed through real sockets and counted.
 * Covers the tokeniser and modifier parser, every answer format and error code, Kamailio's
 * quirks, the session model (medianum, tags both ways, weak/strong, new port, hold, asymmetric),
 * bridging (internal/external, IPv6 <-> IPv4) and the four socket kinds with the reply cache. */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "call.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "rtpp.h"
#include "stats.h"
#include "engine_harness.h"

#define PORT_MIN 24000
#define PORT_MAX 24199

static unsigned ctl_port;
static char unix_path[64], unixd_path[64];

/* ---- helpers ---- */

static char *rpn(const char *cmd, size_t len, size_t room)
{
	GString *out = g_string_new(NULL);
	rtpp_process(cmd, len, room, out);
	return g_string_free(out, FALSE);
}

static char *rp(const char *cmd)
{
	return rpn(cmd, strlen(cmd), RTPP_REPLY_MAX);
}

#define ASSERT_RP(cmd, want) do { g_autofree char *_a = rp(cmd); g_assert_cmpstr(_a, ==, want); } while (0)

/* "<port> <addr>[ 6]\n": returns the port, checks the address and the family token */
static unsigned port_of(const char *ans, const char *want_addr)
{
	unsigned port = 0;
	char addr[64] = "", six[8] = "";
	int n = sscanf(ans, "%u %63s %7s", &port, addr, six);
	if (n < 2 || g_strcmp0(addr, want_addr) != 0 || ans[strlen(ans) - 1] != '\n')
		g_error("answer '%s' is not '<port> %s'", ans, want_addr);
	g_assert_cmpuint(port, >=, PORT_MIN);
	g_assert_cmpuint(port, <=, PORT_MAX);
	g_assert_cmpint(port % 2, ==, 0);
	if (strchr(want_addr, ':'))
		g_assert_cmpstr(six, ==, "6");
	else
		g_assert_cmpint(n, ==, 2);
	return port;
}

static unsigned rp_port(const char *cmd, const char *want_addr)
{
	g_autofree char *a = rp(cmd);
	return port_of(a, want_addr);
}

static int udp_sock(const char *ip, unsigned *port)
{
	int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;
	int fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	if (fam == AF_INET) {
		struct sockaddr_in *s = (void *)&ss;
		s->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &s->sin_addr);
		sl = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (void *)&ss;
		s->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &s->sin6_addr);
		sl = sizeof(*s);
	}
	g_assert_cmpint(bind(fd, (struct sockaddr *)&ss, sl), ==, 0);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);   /* same offset for v6 */
	return fd;
}

static void send_to(int fd, const char *ip, unsigned port, const void *buf, size_t len)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s = (void *)&ss;
		s->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &s->sin6_addr);
		s->sin6_port = htons((uint16_t)port);
		sl = sizeof(*s);
	} else {
		struct sockaddr_in *s = (void *)&ss;
		s->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &s->sin_addr);
		s->sin_port = htons((uint16_t)port);
		sl = sizeof(*s);
	}
	g_assert_cmpint(sendto(fd, buf, len, 0, (struct sockaddr *)&ss, sl), ==, (ssize_t)len);
}

static size_t mk_rtp(uint8_t *b, uint16_t seq)
{
	memset(b, 0, 172);
	b[0] = 0x80;
	b[1] = 0;
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	b[8] = 0x12;
	b[11] = 0x34;
	for (int i = 12; i < 172; i++)
		b[i] = (uint8_t)(seq + i);
	return 172;
}

/* One datagram within timeout_ms; its source address/port in from/fport. -1 on timeout. */
static ssize_t recv_one(int fd, int timeout_ms, char *from, unsigned *fport)
{
	struct pollfd p = { fd, POLLIN, 0 };
	if (poll(&p, 1, timeout_ms) <= 0)
		return -1;
	uint8_t b[2048];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ssize_t n = recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *)&ss, &sl);
	if (from) {
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, from, 64);
		else
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, from, 64);
	}
	if (fport)
		*fport = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return n;
}

/* Push n RTP packets from (fd) to relay ip:port; count what arrives at rx from relay
 * (want_from:want_port). */
static unsigned push(int fd, const char *relay_ip, unsigned relay_port, int rx, const char *want_from,
		     unsigned want_port, unsigned n)
{
	uint8_t b[200];
	unsigned got = 0;
	for (unsigned i = 0; i < n; i++) {
		size_t l = mk_rtp(b, (uint16_t)i);
		send_to(fd, relay_ip, relay_port, b, l);
		char from[64];
		unsigned fp;
		if (recv_one(rx, 500, from, &fp) == (ssize_t)l) {
			g_assert_cmpstr(from, ==, want_from);
			g_assert_cmpuint(fp, ==, want_port);
			got++;
		}
	}
	return got;
}

static ssize_t recv_one_buf(int fd, uint8_t *buf, size_t cap)
{
	struct pollfd p = { fd, POLLIN, 0 };
	if (poll(&p, 1, 500) <= 0)
		return -1;
	return recv(fd, buf, cap, 0);
}

static void no_traffic(int rx)
{
	g_assert_cmpint(recv_one(rx, 300, NULL, NULL), ==, -1);
}

typedef struct q5 { long ttl, ina, ino, relayed, dropped; } q5;

static q5 query(const char *cmd)
{
	g_autofree char *a = rp(cmd);
	q5 q;
	char nl = 0;
	if (sscanf(a, "%ld %ld %ld %ld %ld%c", &q.ttl, &q.ina, &q.ino, &q.relayed, &q.dropped, &nl) != 6 || nl != '\n')
		g_error("Q answer '%s'", a);
	return q;
}

/* ---- tokeniser and modifiers ---- */

static void test_parse(void)
{
	rtpp_cmd c;
	g_assert_cmpint(rtpp_cmd_parse("U callid 1.2.3.4 5 a;1", 22, &c), ==, 0);
	g_assert_cmpint(c.op, ==, 'U');
	g_assert_cmpuint(c.mods.len, ==, 0);
	g_assert_cmpuint(c.argc, ==, 4);
	g_assert_true(rg_str_eq_c(c.arg[3], "a;1"));

	const char *s = "  uAc0,8\tcid\r\n1.2.3.4  5 a;1 b;1\n";
	g_assert_cmpint(rtpp_cmd_parse(s, strlen(s), &c), ==, 0);
	g_assert_cmpint(c.op, ==, 'U');
	g_assert_true(rg_str_eq_c(c.mods, "Ac0,8"));
	g_assert_cmpuint(c.argc, ==, 5);
	g_assert_true(rg_str_eq_c(c.arg[0], "cid"));
	g_assert_true(rg_str_eq_c(c.arg[4], "b;1"));

	/* Kamailio 8.1: junk after Z<digits> stays in the command token */
	static const char z[] = "UZ20\0\0\x01\x80" "c96 cid 1.2.3.4 5 a;2";
	g_assert_cmpint(rtpp_cmd_parse(z, sizeof(z) - 1, &c), ==, 0);
	g_assert_cmpuint(c.mods.len, ==, 10);
	g_assert_cmpuint(c.argc, ==, 4);
	g_assert_true(rg_str_eq_c(c.arg[0], "cid"));

	/* NUL elsewhere separates */
	static const char d[] = "D\0cid\0a";
	g_assert_cmpint(rtpp_cmd_parse(d, sizeof(d) - 1, &c), ==, 0);
	g_assert_cmpint(c.op, ==, 'D');
	g_assert_cmpuint(c.argc, ==, 2);

	g_assert_cmpint(rtpp_cmd_parse("vf 20050322", 11, &c), ==, 0);
	g_assert_true(c.op == 'V' && c.feature && c.mods.len == 0 && c.argc == 1);
	g_assert_cmpint(rtpp_cmd_parse("V", 1, &c), ==, 0);
	g_assert_true(c.op == 'V' && !c.feature);

	g_assert_cmpint(rtpp_cmd_parse("U a && b", 8, &c), ==, 0);
	g_assert_true(c.subcmd);
	GString *many = g_string_new("G");
	for (int i = 0; i < RTPP_MAX_ARGS + 3; i++)
		g_string_append(many, " x");
	g_assert_cmpint(rtpp_cmd_parse(many->str, many->len, &c), ==, 0);
	g_assert_true(c.too_many);
	g_assert_cmpuint(c.argc, ==, RTPP_MAX_ARGS);
	g_string_free(many, TRUE);

	g_assert_cmpint(rtpp_cmd_parse("", 0, &c), ==, RTPP_E_SYNTAX);
	g_assert_cmpint(rtpp_cmd_parse(" \r\n\t", 4, &c), ==, RTPP_E_SYNTAX);
}

static int mods(const char *m, rtpp_ul_mods *out)
{
	const char *why = NULL;
	int e = rtpp_ul_mods_parse(rg_str_mk(m, strlen(m)), out, &why);
	if (e)
		g_assert_nonnull(why);
	return e;
}

static void test_mods(void)
{
	rtpp_ul_mods m;
	g_assert_cmpint(mods("", &m), ==, 0);
	g_assert_true(!m.asymmetric && !m.weak && !m.ipv6 && m.n_iface == 0 && m.ptime == -1 && !m.codecs.s);
	g_assert_cmpint(mods("AS", &m), ==, 0);
	g_assert_false(m.asymmetric);
	g_assert_cmpint(mods("sa", &m), ==, 0);
	g_assert_true(m.asymmetric);
	g_assert_cmpint(mods("IE6", &m), ==, 0);
	g_assert_true(m.n_iface == 2 && m.iface[0] == 'I' && m.iface[1] == 'E' && m.ipv6);
	g_assert_cmpint(mods("ei", &m), ==, 0);
	g_assert_true(m.iface[0] == 'E' && m.iface[1] == 'I');
	g_assert_cmpint(mods("IEI", &m), ==, RTPP_E_IFACE_I);
	g_assert_cmpint(mods("EIE", &m), ==, RTPP_E_IFACE_E);
	g_assert_cmpint(mods("66", &m), ==, 0);  /* Kamailio 8.4 */
	g_assert_true(m.ipv6);
	g_assert_cmpint(mods("Z20", &m), ==, 0);
	g_assert_cmpint(m.ptime, ==, 20);
	g_assert_cmpint(mods("Z", &m), ==, RTPP_E_Z);
	g_assert_cmpint(mods("Z0", &m), ==, RTPP_E_Z);
	g_assert_cmpint(mods("Z1000", &m), ==, RTPP_E_Z);
	rtpp_ul_mods_parse(rg_str_mk("Z20\0\0\0c96", 10), &m, &(const char *){ NULL });
	g_assert_cmpint(m.ptime, ==, 20);
	g_assert_true(rg_str_eq_c(m.codecs, "96"));
	g_assert_cmpint(mods("c0,8,101", &m), ==, 0);
	g_assert_true(rg_str_eq_c(m.codecs, "0,8,101"));
	g_assert_cmpint(mods("c", &m), ==, RTPP_E_CODECS);
	g_assert_cmpint(mods("c0c8", &m), ==, RTPP_E_CODECS);
	g_assert_cmpint(mods("L127.0.0.1c0", &m), ==, 0);
	g_assert_true(rg_str_eq_c(m.laddr, "127.0.0.1") && rg_str_eq_c(m.codecs, "0"));
	g_assert_cmpint(mods("L[::1]A", &m), ==, 0);
	g_assert_true(rg_str_eq_c(m.laddr, "::1") && m.asymmetric);
	g_assert_cmpint(mods("R::1", &m), ==, 0);
	g_assert_true(rg_str_eq_c(m.raddr, "::1"));
	g_assert_cmpint(mods("L", &m), ==, RTPP_E_LADDR_SYNTAX);
	g_assert_cmpint(mods("L[]", &m), ==, RTPP_E_LADDR_SYNTAX);
	g_assert_cmpint(mods("Rx", &m), ==, RTPP_E_RADDR_SYNTAX);
	g_assert_cmpint(mods("wN", &m), ==, 0);
	g_assert_true(m.weak && m.new_port);
	g_assert_cmpint(mods("xyq", &m), ==, 0);   /* unknown letters are ignored, as Sippy does */
	g_assert_cmpuint(m.n_unknown, ==, 3);
}

static void test_tags(void)
{
	rtpp_tag t;
	g_assert_true(rtpp_tag_parse(rg_str_from("abc;1"), &t));
	g_assert_true(rg_str_eq_c(t.tag, "abc") && t.medianum == 1);
	g_assert_true(rtpp_tag_parse(rg_str_from("abc"), &t));
	g_assert_true(rg_str_eq_c(t.tag, "abc") && t.medianum == 0);
	g_assert_true(rtpp_tag_parse(rg_str_from("a;b"), &t));
	g_assert_true(rg_str_eq_c(t.tag, "a;b") && t.medianum == 0);
	g_assert_true(rtpp_tag_parse(rg_str_from("x;y;128"), &t));
	g_assert_true(rg_str_eq_c(t.tag, "x;y") && t.medianum == 128);
	g_assert_false(rtpp_tag_parse(rg_str_from("abc;0"), &t));
	g_assert_false(rtpp_tag_parse(rg_str_from("abc;129"), &t));
	g_assert_false(rtpp_tag_parse(rg_str_from("abc;99999999999999999999"), &t) && t.medianum);
	g_assert_false(rtpp_tag_parse(rg_str_from(";1"), &t));
}

/* ---- answers: version, errors ---- */

static void test_version(void)
{
	ASSERT_RP("V", "20040107\n");
	for (const char *const *c = rtpp_capabilities; *c; c++) {
		g_autofree char *q = g_strdup_printf("VF %s", *c);
		ASSERT_RP(q, "1\n");
	}
	/* only what works: no C (copy to an address), autobridge, load, rtpa_*, &&, TTL */
	const char *no[] = { "20071218", "20090810", "20140323",
			     "20140617", "20150420", "20150617", "20191015", "20210524", "19990101", "x" };
	for (size_t i = 0; i < G_N_ELEMENTS(no); i++) {
		g_autofree char *q = g_strdup_printf("VF %s", no[i]);
		ASSERT_RP(q, "0\n");
	}
	ASSERT_RP("vf 20050322", "1\n");
	ASSERT_RP("VF", "E1\n");
	ASSERT_RP("VF 1 2", "E1\n");
	ASSERT_RP("VFx 20050322", "E2\n");
	ASSERT_RP("Vx", "E2\n");
	ASSERT_RP("V 1", "E1\n");
}

static void test_errors(void)
{
	uint64_t e0 = rg_ctr_read(RG_CTR_RTPP_ERRORS);
	ASSERT_RP("Y cid", "E0\n");
	ASSERT_RP("\x01", "E0\n");
	ASSERT_RP("U a", "E1\n");
	ASSERT_RP("U a b c", "E1\n");
	ASSERT_RP("U a b c d e f g h", "E1\n");
	ASSERT_RP("L a b c d e f", "E1\n");
	ASSERT_RP("D a", "E1\n");
	ASSERT_RP("Q a", "E1\n");
	ASSERT_RP("X now", "E1\n");
	ASSERT_RP("Sx cid a", "E2\n");
	ASSERT_RP("Xx", "E2\n");
	ASSERT_RP("G &&", "E3\n");
	ASSERT_RP("", "E5\n");
	ASSERT_RP("U cid 1.2.3.4 5 ;1", "E5\n");
	ASSERT_RP("U cid 1.2.3.4 5 a;0", "E5\n");
	ASSERT_RP("U cid 1.2.3.4 5 a;1 b;999", "E5\n");
	ASSERT_RP("Dx cid a", "E8\n");
	ASSERT_RP("Gx", "E9\n");
	ASSERT_RP("U cid 1.2.3.4 5 a;1 b;1 sock tag%zz", "E10\n");
	ASSERT_RP("UIEI cid 1.2.3.4 5 a;1", "E12\n");
	ASSERT_RP("UZ0 cid 1.2.3.4 5 a;1", "E13\n");   /* Z needs 1-999 ms */
	ASSERT_RP("Uc cid 1.2.3.4 5 a;1", "E14\n");
	ASSERT_RP("UL cid 1.2.3.4 5 a;1", "E15\n");
	ASSERT_RP("URz cid 1.2.3.4 5 a;1", "E16\n");
	ASSERT_RP("Pz cid p session a", "E17\n");
	ASSERT_RP("Ix", "E18\n");
	ASSERT_RP("Il", "E18\n");
	ASSERT_RP("Qx cid a", "E19\n");
	ASSERT_RP("UL10.99.99.99 cid 1.2.3.4 5 a;1", "E31\n");
	ASSERT_RP("UR1.2.3 cid 1.2.3.4 5 a;1", "E32\n");
	ASSERT_RP("U cid 1.2.3 5 a;1", "E37\n");
	ASSERT_RP("U cid 1.2.3.4 70000 a;1", "E37\n");
	ASSERT_RP("U cid 1.2.3.4 x a;1", "E37\n");
	ASSERT_RP("U cid host.example 5 a;1", "E37\n");
	ASSERT_RP("D nosuchcall a b", "E50\n");
	ASSERT_RP("Q nosuchcall a;1 b", "E50\n");
	g_assert_cmpuint(rg_ctr_read(RG_CTR_RTPP_ERRORS) - e0, ==, 36);   /* one per command above */
	g_assert_null(rg_call_get("cid"));   /* no failed U left a call behind */
}

static void test_unsupported(void)
{
	ASSERT_RP("P-1 cid /var/lib/prompts/moh session a;1 b;1", "E50\n");   /* no such call */
	ASSERT_RP("P cid prompt 0,8 a;1", "E50\n");
	ASSERT_RP("S cid a;1 b;1", "E50\n");
	ASSERT_RP("R cid a b", "E65\n");
	ASSERT_RP("Rs cid a", "E65\n");
	ASSERT_RP("Rsx cid a", "E6\n");
	ASSERT_RP("Rx cid a", "E7\n");
	ASSERT_RP("C cid /tmp/x a b", "E65\n");
	ASSERT_RP("N cid a", "E65\n");
	ASSERT_RP("Nx cid a", "E7\n");
}

/* ---- sessions and media ---- */

static void test_offer_answer_relay(void)
{
	unsigned pa, pb;
	int A = udp_sock("127.0.0.1", &pa), B = udp_sock("127.0.0.1", &pb);
	g_autofree char *u = g_strdup_printf("Uc0,8,101 oa1 127.0.0.1 %u ftag;1", pa);
	unsigned p_b = rp_port(u, "127.0.0.1");          /* where the callee sends */
	ASSERT_RP("L oa1 127.0.0.1 4000 zzz;1 yyy;1", "0\n");   /* lookup with unknown tags */
	g_autofree char *l = g_strdup_printf("Lc0 oa1 127.0.0.1 %u ftag;1 ttag;1", pb);
	unsigned p_a = rp_port(l, "127.0.0.1");          /* where the caller sends */
	g_assert_cmpuint(p_a, !=, p_b);
	/* U retransmitted with another cookie, and a re-INVITE from the callee (tags reversed),
	 * keep the ports */
	g_assert_cmpuint(rp_port(u, "127.0.0.1"), ==, p_b);
	g_autofree char *re = g_strdup_printf("U oa1 127.0.0.1 %u ttag;1 ftag;1", pb);
	g_assert_cmpuint(rp_port(re, "127.0.0.1"), ==, p_a);
	g_autofree char *l2 = g_strdup_printf("L oa1 127.0.0.1 %u ttag;1 ftag;1", pa);
	g_assert_cmpuint(rp_port(l2, "127.0.0.1"), ==, p_b);

	g_assert_cmpuint(push(A, "127.0.0.1", p_a, B, "127.0.0.1", p_b, 20), ==, 20);
	g_assert_cmpuint(push(B, "127.0.0.1", p_b, A, "127.0.0.1", p_a, 15), ==, 15);
	q5 q = query("Q oa1 ftag;1 ttag");
	g_assert_cmpint(q.ina, ==, 20);
	g_assert_cmpint(q.ino, ==, 15);
	g_assert_cmpint(q.relayed, ==, 35);
	g_assert_cmpint(q.dropped, ==, 0);
	g_assert_cmpint(q.ttl, >, 50);
	q = query("Q oa1 ttag;1 ftag");   /* the first tag's party is "ina" */
	g_assert_cmpint(q.ina, ==, 15);
	{
		g_autofree char *v = rp("Qv oa1 ftag;1 ttag");
		g_assert_true(g_regex_match_simple("^ttl=\\d+ npkts_ina=20 npkts_ino=15 nrelayed=35 ndropped=0\n$", v, 0, 0));
	}
	ASSERT_RP("Q oa1 ftag;1 ttag npkts_ino nrelayed", "15 35\n");
	ASSERT_RP("Qv oa1 ftag;1 ttag ndropped", "ndropped=0\n");
	ASSERT_RP("Q oa1 ftag;1 ttag rtpa_nsent", "E62\n");
	ASSERT_RP("Q oa1 ftag;2 ttag", "E50\n");
	ASSERT_RP("Q oa1 nobody;1", "E50\n");
	/* the call is the core's: NG sees it too */
	rg_call *c = rg_call_get("oa1");
	g_assert_nonnull(c);
	g_assert_true(c->rtpproxy && c->answered);
	rg_call_unref(c);
	ASSERT_RP("D oa1 ftag ttag", "0\n");
	ASSERT_RP("D oa1 ftag ttag", "E50\n");
	g_assert_null(rg_call_get("oa1"));
	g_autofree char *l3 = g_strdup_printf("L oa1 127.0.0.1 %u ftag;1 ttag;1", pb);
	ASSERT_RP(l3, "0\n");
	close(A);
	close(B);
}

static void test_multi_media(void)
{
	unsigned p1 = rp_port("U mm 127.0.0.1 5000 f;1", "127.0.0.1");
	unsigned p2 = rp_port("U mm 127.0.0.1 5002 f;2", "127.0.0.1");
	g_assert_cmpuint(p1, !=, p2);
	unsigned q1 = rp_port("L mm 127.0.0.1 6000 f;1 t;1", "127.0.0.1");
	unsigned q2 = rp_port("L mm 127.0.0.1 6002 f;2 t;2", "127.0.0.1");
	g_assert_cmpuint(q1, !=, q2);
	/* D with ;N removes that session only; the call stays */
	ASSERT_RP("D mm f;2 t;2", "0\n");
	ASSERT_RP("Q mm f;2 t", "E50\n");
	ASSERT_RP("L mm 127.0.0.1 6002 f;2 t;2", "0\n");
	query("Q mm f;1 t");
	/* D without ;N (what Kamailio sends) removes every session of the call */
	ASSERT_RP("D mm f t", "0\n");
	g_assert_null(rg_call_get("mm"));
}

static void test_weak(void)
{
	rp_port("UW wk 127.0.0.1 5000 f;1", "127.0.0.1");
	rp_port("LW wk 127.0.0.1 6000 f;1 t;1", "127.0.0.1");
	ASSERT_RP("D wk f t", "0\n");       /* both sides weak: a plain D keeps the session */
	query("Q wk f;1 t");
	ASSERT_RP("Dw wk f t", "0\n");      /* f's weak mark gone, t's remains */
	query("Q wk f;1 t");
	ASSERT_RP("DW wk t f", "0\n");
	ASSERT_RP("Q wk f;1 t", "E50\n");
	g_assert_null(rg_call_get("wk"));
	/* strong + weak: D removes the strong mark only */
	rp_port("U wk2 127.0.0.1 5000 f;1", "127.0.0.1");
	rp_port("LW wk2 127.0.0.1 6000 f;1 t;1", "127.0.0.1");
	ASSERT_RP("D wk2 f t", "0\n");
	query("Q wk2 f;1 t");
	ASSERT_RP("Dw wk2 t", "0\n");
	g_assert_null(rg_call_get("wk2"));
}

static void test_new_port_hold_asym(void)
{
	unsigned pa, pb;
	int A = udp_sock("127.0.0.1", &pa), B = udp_sock("127.0.0.1", &pb);
	g_autofree char *u = g_strdup_printf("U nh 127.0.0.1 %u f;1", pa);
	unsigned p_b = rp_port(u, "127.0.0.1");
	g_autofree char *l = g_strdup_printf("L nh 127.0.0.1 %u f;1 t;1", pb);
	unsigned p_a = rp_port(l, "127.0.0.1");
	g_assert_cmpuint(push(A, "127.0.0.1", p_a, B, "127.0.0.1", p_b, 3), ==, 3);
	/* N: a new port for the answered side (the callee's), media follows */
	g_autofree char *un = g_strdup_printf("UN nh 127.0.0.1 %u f;1 t;1", pa);
	unsigned p_b2 = rp_port(un, "127.0.0.1");
	g_assert_cmpuint(p_b2, !=, p_b);
	g_assert_cmpuint(push(B, "127.0.0.1", p_b2, A, "127.0.0.1", p_a, 3), ==, 3);
	/* hold: the caller's address 0.0.0.0 -> nothing is sent to it */
	g_assert_cmpuint(rp_port("U nh 0.0.0.0 4000 f;1 t;1", "127.0.0.1"), ==, p_b2);
	uint8_t b[200];
	send_to(B, "127.0.0.1", p_b2, b, mk_rtp(b, 1));
	no_traffic(A);
	/* resume */
	rp_port(u, "127.0.0.1");
	g_assert_cmpuint(push(B, "127.0.0.1", p_b2, A, "127.0.0.1", p_a, 3), ==, 3);
	ASSERT_RP("D nh f", "0\n");
	close(A);
	close(B);
}

/* S (default) learns where a party really sends from; A always sends to the given address. */
static void test_symmetric_asymmetric(void)
{
	unsigned pa, pb, px;
	int A = udp_sock("127.0.0.1", &pa), B = udp_sock("127.0.0.1", &pb), X = udp_sock("127.0.0.1", &px);
	g_autofree char *u = g_strdup_printf("US sy 127.0.0.1 %u f;1", pa);
	unsigned p_b = rp_port(u, "127.0.0.1");
	g_autofree char *l = g_strdup_printf("L sy 127.0.0.1 %u f;1 t;1", pb);
	unsigned p_a = rp_port(l, "127.0.0.1");
	g_assert_cmpuint(push(X, "127.0.0.1", p_a, B, "127.0.0.1", p_b, 2), ==, 2);  /* caller sends from X */
	g_assert_cmpuint(push(B, "127.0.0.1", p_b, X, "127.0.0.1", p_a, 2), ==, 2);  /* answers go to X */
	no_traffic(A);
	ASSERT_RP("D sy f t", "0\n");

	g_autofree char *ua = g_strdup_printf("UA as 127.0.0.1 %u f;1", pa);
	p_b = rp_port(ua, "127.0.0.1");
	g_autofree char *la = g_strdup_printf("L as 127.0.0.1 %u f;1 t;1", pb);
	p_a = rp_port(la, "127.0.0.1");
	g_assert_cmpuint(push(X, "127.0.0.1", p_a, B, "127.0.0.1", p_b, 2), ==, 2);
	g_assert_cmpuint(push(B, "127.0.0.1", p_b, A, "127.0.0.1", p_a, 2), ==, 2);  /* to the SDP address */
	no_traffic(X);
	ASSERT_RP("D as f t", "0\n");
	close(A);
	close(B);
	close(X);
}

/* I/E: the caller on internal 127.0.0.1, the callee on external 127.0.0.2; IPv6 <-> IPv4 */
static void test_bridge(void)
{
	unsigned pa, pb;
	int A = udp_sock("127.0.0.1", &pa), B = udp_sock("127.0.0.3", &pb);
	g_autofree char *u = g_strdup_printf("UIEc0 br 127.0.0.1 %u f;1", pa);
	unsigned p_b = rp_port(u, "127.0.0.2");
	g_autofree char *l = g_strdup_printf("LEIc0 br 127.0.0.3 %u f;1 t;1", pb);
	unsigned p_a = rp_port(l, "127.0.0.1");
	g_assert_cmpuint(push(A, "127.0.0.1", p_a, B, "127.0.0.2", p_b, 5), ==, 5);
	g_assert_cmpuint(push(B, "127.0.0.2", p_b, A, "127.0.0.1", p_a, 5), ==, 5);
	/* I/E are applied when a side gets its socket; later commands keep the interfaces */
	g_autofree char *u2 = g_strdup_printf("UEI br 127.0.0.1 %u f;1 t;1", pa);
	g_assert_cmpuint(rp_port(u2, "127.0.0.2"), ==, p_b);
	ASSERT_RP("D br f t", "0\n");
	close(A);
	close(B);

	/* one letter: the author on it, the other party on internal */
	rp_port("UE br1 127.0.0.1 4000 f;1", "127.0.0.1");
	ASSERT_RP("D br1 f", "0\n");

	/* IPv6 caller on internal ::1, IPv4 callee on external 127.0.0.2 (Kamailio flag x: "EI6"/"IE") */
	unsigned p6, p4;
	int A6 = udp_sock("::1", &p6), B4 = udp_sock("127.0.0.3", &p4);
	g_autofree char *u6 = g_strdup_printf("UIE6 v6 ::1 %u f;1", p6);
	unsigned p_b4 = rp_port(u6, "127.0.0.2");
	g_autofree char *l6 = g_strdup_printf("LEI v6 127.0.0.3 %u f;1 t;1", p4);
	unsigned p_a6 = rp_port(l6, "::1");
	g_assert_cmpuint(push(A6, "::1", p_a6, B4, "127.0.0.2", p_b4, 5), ==, 5);
	g_assert_cmpuint(push(B4, "127.0.0.2", p_b4, A6, "::1", p_a6, 5), ==, 5);
	ASSERT_RP("D v6 f t", "0\n");
	close(A6);
	close(B4);

	/* L<addr> / R<addr> pick the interface for both sides */
	rp_port("UL127.0.0.2 la 127.0.0.1 4000 f;1", "127.0.0.2");
	rp_port("UL[::1] la6 ::1 4000 f;1", "::1");
	rp_port("UR[::1] ra6 ::1 4000 f;1", "::1");
	ASSERT_RP("D la f", "0\n");
	ASSERT_RP("D la6 f", "0\n");
	ASSERT_RP("D ra6 f", "0\n");
	/* an IPv6 address without 6 on an IPv4 socket: the party is learned from its packets */
	rp_port("U fam ::1 4000 f;1", "127.0.0.1");
	ASSERT_RP("D fam f", "0\n");
}

/* Z<ms>: G.711 from the party that sent the U is cut into / joined to packets of <ms>, same SSRC
 * and payload octets, timestamps of the audio, sequence numbers of the output */
static size_t pcmu_packet(uint8_t *b, uint16_t seq, uint32_t ts, unsigned octets)
{
	b[0] = 0x80;
	b[1] = 0;
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	b[4] = (uint8_t)(ts >> 24);
	b[5] = (uint8_t)(ts >> 16);
	b[6] = (uint8_t)(ts >> 8);
	b[7] = (uint8_t)ts;
	b[8] = 0xab;
	b[9] = 0xcd;
	b[10] = 0x00;
	b[11] = 0x01;
	for (unsigned i = 0; i < octets; i++)
		b[12 + i] = (uint8_t)(ts + i);   /* the octet tells its own timestamp */
	return 12 + octets;
}

static void check_repack(int A, unsigned p_a, int B, unsigned want_octets, unsigned n_in)
{
	uint8_t b[2048];
	uint32_t ts = 16000;
	for (unsigned i = 0; i < n_in; i++)
		send_to(A, "127.0.0.1", p_a, b, pcmu_packet(b, (uint16_t)(500 + i), ts + 160 * i, 160));
	unsigned want = n_in * 160 / want_octets, got = 0;
	uint32_t next_ts = ts;
	uint16_t seq = 0;
	for (unsigned k = 0; k < want; k++) {
		struct pollfd pf = { B, POLLIN, 0 };
		g_assert_cmpint(poll(&pf, 1, 500), ==, 1);
		ssize_t n = recv(B, b, sizeof(b), 0);
		g_assert_cmpint(n, ==, 12 + (ssize_t)want_octets);
		uint32_t t = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
		uint16_t sq = (uint16_t)(b[2] << 8 | b[3]);
		g_assert_cmpuint(t, ==, next_ts);
		if (got)
			g_assert_cmpuint(sq, ==, (uint16_t)(seq + 1));
		g_assert_cmpuint(b[8], ==, 0xab);   /* the sender's SSRC */
		g_assert_cmpuint(b[11], ==, 0x01);
		for (unsigned i = 0; i < want_octets; i++)
			g_assert_cmpuint(b[12 + i], ==, (uint8_t)(t + i));
		next_ts += want_octets;
		seq = sq;
		got++;
	}
	no_traffic(B);
}

static void test_repack(void)
{
	unsigned pa, pb;
	int A = udp_sock("127.0.0.1", &pa), B = udp_sock("127.0.0.1", &pb);
	g_autofree char *u = g_strdup_printf("UZ10c0,101 rpk 127.0.0.1 %u ftag;1", pa);
	rp_port(u, "127.0.0.1");
	g_autofree char *l = g_strdup_printf("Lc0 rpk 127.0.0.1 %u ftag;1 ttag;1", pb);
	unsigned p_a = rp_port(l, "127.0.0.1");
	check_repack(A, p_a, B, 80, 6);        /* 20 ms in, 10 ms out */
	g_autofree char *u40 = g_strdup_printf("UZ40c0 rpk 127.0.0.1 %u ftag;1 ttag;1", pa);
	rp_port(u40, "127.0.0.1");
	check_repack(A, p_a, B, 320, 6);       /* 20 ms in, 40 ms out */
	g_autofree char *u20 = g_strdup_printf("UZ20c0 rpk 127.0.0.1 %u ftag;1 ttag;1", pa);
	rp_port(u20, "127.0.0.1");
	check_repack(A, p_a, B, 160, 4);       /* as it came */
	/* a U without Z ends it: packets go through untouched (sequence numbers of the sender) */
	g_autofree char *u0 = g_strdup_printf("Uc0 rpk 127.0.0.1 %u ftag;1 ttag;1", pa);
	rp_port(u0, "127.0.0.1");
	uint8_t b[256], r[256];
	send_to(A, "127.0.0.1", p_a, b, pcmu_packet(b, 9999, 1234, 240));
	g_assert_cmpint(recv_one_buf(B, r, sizeof(r)), ==, 252);
	g_assert_cmpmem(r, 252, b, 252);
	/* Z with no G.711 in the c list: ignored (logged), still relayed */
	g_autofree char *u96 = g_strdup_printf("UZ30c96 rpk 127.0.0.1 %u ftag;1 ttag;1", pa);
	rp_port(u96, "127.0.0.1");
	send_to(A, "127.0.0.1", p_a, b, pcmu_packet(b, 10000, 1474, 160));
	g_assert_cmpint(recv_one_buf(B, r, sizeof(r)), ==, 172);
	ASSERT_RP("D rpk ftag", "0\n");
	close(A);
	close(B);
}

/* Session-timeout notification (VF 20081224): a media timeout of a session given a notify socket
 * sends the (URL-decoded) notify tag, or the call-id with Kamailio's tagless timeout_socket form */
static void test_notify(void)
{
	unsigned pn;
	int N = udp_sock("127.0.0.1", &pn);
	g_autofree char *u1 = g_strdup_printf("U nt1 127.0.0.1 4000 f;1 t;1 udp:127.0.0.1:%u h%%3A42", pn);
	rp_port(u1, "127.0.0.1");
	rp_port("L nt1 127.0.0.1 4002 f;1 t;1", "127.0.0.1");
	g_autofree char *u2 = g_strdup_printf("U nt2 127.0.0.1 4000 f;1 t;1 udp:127.0.0.1:%u", pn);
	rp_port(u2, "127.0.0.1");
	rp_port("L nt2 127.0.0.1 4002 f;1 t;1", "127.0.0.1");
	/* a unix stream socket, as rtpproxy -n unix:... */
	g_autofree char *path = g_strdup_printf("/tmp/rg-test-notify-%d.sock", (int)getpid());
	unlink(path);
	int L = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	g_assert_cmpint(bind(L, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
	g_assert_cmpint(listen(L, 4), ==, 0);
	g_autofree char *u3 = g_strdup_printf("U nt3 127.0.0.1 4000 f;1 t;1 unix:%s dlg7", path);
	rp_port(u3, "127.0.0.1");
	rp_port("L nt3 127.0.0.1 4002 f;1 t;1", "127.0.0.1");
	/* a session without a notify socket times out silently */
	rp_port("U nt4 127.0.0.1 4000 f;1", "127.0.0.1");
	rp_port("L nt4 127.0.0.1 4002 f;1 t;1", "127.0.0.1");

	rg_engine_tick(rg_now() + 30);    /* not yet */
	g_assert_cmpint(recv_one(N, 100, NULL, NULL), ==, -1);
	rg_engine_tick(rg_now() + 3700);  /* past the media (and the on-hold) timeout */
	g_assert_null(rg_call_get("nt1"));
	g_assert_null(rg_call_get("nt4"));
	char got[2][64] = { "", "" };
	for (int i = 0; i < 2; i++) {
		struct pollfd pf = { N, POLLIN, 0 };
		g_assert_cmpint(poll(&pf, 1, 500), ==, 1);
		ssize_t n = recv(N, got[i], sizeof(got[i]) - 1, 0);
		g_assert_cmpint(n, >, 0);
		got[i][n] = 0;
	}
	/* the order of the two calls is the table's */
	g_assert_true((strcmp(got[0], "h:42\n") == 0 && strcmp(got[1], "nt2\n") == 0) ||
		      (strcmp(got[1], "h:42\n") == 0 && strcmp(got[0], "nt2\n") == 0));
	int A = accept(L, NULL, NULL);
	g_assert_cmpint(A, >=, 0);
	char buf[64] = "";
	g_assert_cmpint(recv(A, buf, sizeof(buf) - 1, 0), ==, 5);
	g_assert_cmpstr(buf, ==, "dlg7\n");
	close(A);
	close(L);
	close(N);
	unlink(path);
}

/* Kamailio's quirks (ref 8) */
static void test_kamailio_quirks(void)
{
	static const char z[] = "UZ20\0\0\0c96 kq 127.0.0.1 4002 f;2";
	g_autofree char *a = rpn(z, sizeof(z) - 1, RTPP_REPLY_MAX);
	g_assert_true(g_ascii_isdigit(a[0]));   /* the junk after Z20 is no syntax error; Z ignored for PT 96 */
	/* timeout_socket: "U ... from;N to;N <socket>" (7 words, no notify tag) */
	unsigned p = rp_port("U kq 127.0.0.1 4000 f;1 t;1 udp:127.0.0.1:9999", "127.0.0.1");
	g_assert_cmpuint(rp_port("L kq 127.0.0.1 4000 f;1 t;1", "127.0.0.1"), !=, p);
	/* Sippy's own 7-word form: from, socket, tag */
	rp_port("U kq2 127.0.0.1 4000 f;1 unix:/tmp/n tag%20x", "127.0.0.1");
	/* 6 repeated */
	rp_port("U66c0 kq3 ::1 4000 f;1", "::1");
	/* Q: second tag without ;1 */
	query("Q kq f;1 t");
	ASSERT_RP("D kq f t", "0\n");
	ASSERT_RP("D kq2 f", "0\n");
	ASSERT_RP("D kq3 f", "0\n");
	/* the call-id is opaque, suffixes included (flags 1/2/3/b) */
	rp_port("U cid;z9hG4bK776 127.0.0.1 4000 f;1", "127.0.0.1");
	ASSERT_RP("D cid f", "E50\n");
	ASSERT_RP("D cid;z9hG4bK776 f", "0\n");
}

static void test_info_stats_x(void)
{
	rp_port("U ix 127.0.0.1 4000 f;1", "127.0.0.1");
	g_autofree char *i = rp("I");
	g_assert_true(g_regex_match_simple("^sessions created: \\d+\nactive sessions: [1-9]\\d*\nactive streams: "
					   "[1-9]\\d*\npackets received: \\d+\npackets transmitted: \\d+\n$", i, 0, 0));
	g_autofree char *ib = rp("Ib");
	g_assert_true(g_str_has_prefix(ib, "sessions created: "));
	ASSERT_RP("G", "\n");
	g_autofree char *g = rp("G nsess_created calls-created");
	unsigned long x, y;
	g_assert_cmpint(sscanf(g, "%lu %lu", &x, &y), ==, 2);
	g_assert_cmpuint(x, ==, y);
	g_autofree char *gv = rp("Gv ncmds_errs rtpproxy-errors");
	g_assert_true(g_regex_match_simple("^ncmds_errs=(\\d+) rtpproxy-errors=\\1\n$", gv, 0, 0));
	ASSERT_RP("G bogus", "E68\n");
	/* Kamailio reads 256 bytes: a longer answer is E25 */
	g_autofree char *big = rpn("G packets-relayed packets-relayed packets-relayed", 49, 8);
	g_assert_cmpstr(big, ==, "E25\n");
	/* X deletes the calls made through rtpproxy, not the ones made through NG */
	const char *err = NULL;
	rg_call *ng = rg_call_create("ng-made", &err);
	g_assert_nonnull(ng);
	ASSERT_RP("X", "0\n");
	g_assert_null(rg_call_get("ix"));
	rg_call *still = rg_call_get("ng-made");
	g_assert_nonnull(still);
	rg_call_unref(still);
	rg_call_destroy(ng, "test");
	rg_call_unref(ng);
	/* max-sessions: a new session is refused with E98, nothing left behind */
	rp_port("U keep 127.0.0.1 4000 f;1", "127.0.0.1");
	rg_max_sessions = rg_calls_count();
	ASSERT_RP("U full 127.0.0.1 4000 f;1", "E98\n");
	rp_port("U keep 127.0.0.1 4000 f;2", "127.0.0.1");   /* existing calls go on */
	rg_max_sessions = 0;
	g_assert_null(rg_call_get("full"));
	ASSERT_RP("D keep f", "0\n");
}

static void test_ports_exhausted(void)
{
	GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *a = NULL;
	for (int i = 0; i < 200; i++) {
		char *id = g_strdup_printf("px%d", i);
		g_autofree char *cmd = g_strdup_printf("U %s 127.0.0.1 4000 f;1", id);
		g_free(a);
		a = rp(cmd);
		g_ptr_array_add(ids, id);
		if (a[0] == 'E')
			break;
	}
	g_assert_cmpstr(a, ==, "E72\n");          /* no port pair for a new session */
	g_autofree char *last = g_strdup_printf("U %s 127.0.0.1 4000 f;2", (char *)ids->pdata[0]);
	g_autofree char *b = rp(last);
	g_assert_cmpstr(b, ==, "E71\n");          /* ... nor for another medianum of an existing one */
	ASSERT_RP("X", "0\n");
	g_ptr_array_free(ids, TRUE);
	/* the workers give the ports back between two epoll batches */
	for (int i = 0; i < 100; i++) {
		g_autofree char *t = rp("U pxok 127.0.0.1 4000 f;1");
		if (t[0] != 'E')
			break;
		g_usleep(20000);
	}
	ASSERT_RP("D pxok f", "0\n");
}

/* ---- sockets ---- */

/* Send one request and run the main context until the answer arrives. */
static char *exchange(int fd, const struct sockaddr *to, socklen_t tl, const char *req, size_t len,
		      struct sockaddr_storage *from)
{
	if (to)
		g_assert_cmpint(sendto(fd, req, len, 0, to, tl), ==, (ssize_t)len);
	else
		g_assert_cmpint(write(fd, req, len), ==, (ssize_t)len);
	char buf[4096];
	for (int i = 0; i < 400; i++) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		socklen_t fl = sizeof(struct sockaddr_storage);
		ssize_t n = recvfrom(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT, (struct sockaddr *)from, from ? &fl : NULL);
		if (n >= 0) {
			buf[n] = '\0';
			return g_strdup(buf);
		}
		g_usleep(5000);
	}
	g_error("no answer to '%.*s'", (int)len, req);
	return NULL;
}

static char *udp_ask(const char *ip, unsigned port, const char *req, char *from_ip)
{
	bool v6 = strchr(ip, ':') != NULL;
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_storage to = { 0 }, from;
	socklen_t tl;
	if (v6) {
		struct sockaddr_in6 *s = (void *)&to;
		s->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &s->sin6_addr);
		s->sin6_port = htons((uint16_t)port);
		tl = sizeof(*s);
	} else {
		struct sockaddr_in *s = (void *)&to;
		s->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &s->sin_addr);
		s->sin_port = htons((uint16_t)port);
		tl = sizeof(*s);
	}
	char *a = exchange(fd, (struct sockaddr *)&to, tl, req, strlen(req), &from);
	if (from_ip)
		inet_ntop(from.ss_family, from.ss_family == AF_INET ? (void *)&((struct sockaddr_in *)&from)->sin_addr
								      : (void *)&((struct sockaddr_in6 *)&from)->sin6_addr,
			  from_ip, 64);
	close(fd);
	return a;
}

static void test_udp_sockets(void)
{
	g_autofree char *v = udp_ask("127.0.0.1", ctl_port, "1450_0 V", NULL);
	g_assert_cmpstr(v, ==, "1450_0 20040107\n");
	g_autofree char *v6 = udp_ask("::1", ctl_port, "77_3 VF 20050322", NULL);
	g_assert_cmpstr(v6, ==, "77_3 1\n");
	/* a cookie alone: E5 with the cookie */
	g_autofree char *c = udp_ask("127.0.0.1", ctl_port, "lonely", NULL);
	g_assert_cmpstr(c, ==, "lonely E5\n");
	/* retransmission: same source + cookie -> the cached answer, the command is not run again */
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)ctl_port) };
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	g_autofree char *u1 = exchange(fd, (struct sockaddr *)&to, sizeof(to), "9_1 U rc 127.0.0.1 4000 f;1", 27, NULL);
	port_of(u1 + 4, "127.0.0.1");
	g_autofree char *d1 = exchange(fd, (struct sockaddr *)&to, sizeof(to), "9_2 D rc f", 10, NULL);
	g_assert_cmpstr(d1, ==, "9_2 0\n");
	uint64_t rt = rg_ctr_read(RG_CTR_RTPP_RETRANSMITS);
	g_autofree char *d2 = exchange(fd, (struct sockaddr *)&to, sizeof(to), "9_2 D rc f", 10, NULL);
	g_assert_cmpstr(d2, ==, "9_2 0\n");                 /* not E50: answered from the cache */
	g_assert_cmpuint(rg_ctr_read(RG_CTR_RTPP_RETRANSMITS), ==, rt + 1);
	g_autofree char *d3 = exchange(fd, (struct sockaddr *)&to, sizeof(to), "9_3 D rc f", 10, NULL);
	g_assert_cmpstr(d3, ==, "9_3 E50\n");
	/* a long cookie leaves less room in Kamailio's 256 bytes */
	char req[400];
	memset(req, 'k', 250);
	strcpy(req + 250, " G packets-relayed packets-relayed packets-relayed");
	g_autofree char *big = exchange(fd, (struct sockaddr *)&to, sizeof(to), req, strlen(req), NULL);
	g_assert_true(g_str_has_suffix(big, " E25\n"));
	close(fd);
	/* a wildcard socket answers from the address the command was sent to */
	char from[64];
	g_autofree char *w = udp_ask("127.0.0.2", ctl_port + 1, "w V", from);
	g_assert_cmpstr(w, ==, "w 20040107\n");
	g_assert_cmpstr(from, ==, "127.0.0.2");
}

static void test_unix_sockets(void)
{
	/* stream: no cookie, one command per read, several on one connection */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	strcpy(sun.sun_path, unix_path);
	g_assert_cmpint(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
	g_autofree char *a = exchange(fd, NULL, 0, "V", 1, NULL);
	g_assert_cmpstr(a, ==, "20040107\n");
	g_autofree char *b = exchange(fd, NULL, 0, "VF 20080403\n", 12, NULL);
	g_assert_cmpstr(b, ==, "1\n");
	close(fd);
	/* datagram: cookies as on UDP; the client needs an address of its own for the answer */
	int d = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un me = { .sun_family = AF_UNIX };
	snprintf(me.sun_path, sizeof(me.sun_path), "%s.client", unixd_path);
	unlink(me.sun_path);
	g_assert_cmpint(bind(d, (struct sockaddr *)&me, sizeof(me)), ==, 0);
	struct sockaddr_un srv = { .sun_family = AF_UNIX };
	strcpy(srv.sun_path, unixd_path);
	g_autofree char *c = exchange(d, (struct sockaddr *)&srv, sizeof(srv), "ck1 V", 5, NULL);
	g_assert_cmpstr(c, ==, "ck1 20040107\n");
	close(d);
	unlink(me.sun_path);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	rg_log_init(true, g_getenv("RG_TEST_VERBOSE") ? RG_LOG_DEBUG : RG_LOG_ERR, "test_rtpp");
	ctl_port = 23100 + (unsigned)(getpid() % 400) * 2;
	snprintf(unix_path, sizeof(unix_path), "/tmp/rg-test-rtpp-%d.sock", (int)getpid());
	snprintf(unixd_path, sizeof(unixd_path), "/tmp/rg-test-rtpp-%d.dsock", (int)getpid());
	g_autofree char *l4 = g_strdup_printf("--listen-rtpproxy=udp:127.0.0.1:%u", ctl_port);
	g_autofree char *l6 = g_strdup_printf("--listen-rtpproxy=udp6:[::1]:%u", ctl_port);
	g_autofree char *lw = g_strdup_printf("--listen-rtpproxy=udp:0.0.0.0:%u", ctl_port + 1);
	g_autofree char *lu = g_strdup_printf("--listen-rtpproxy=unix:%s", unix_path);
	g_autofree char *ng = g_strdup_printf("--listen-ng=127.0.0.1:%u", 23900 + (unsigned)(getpid() % 99));
	rg_config cfg = { 0 };
	test_engine_start(&cfg, "--config-file=none", "--interface=internal/127.0.0.1",
			  "--interface=external/127.0.0.2", "--interface=internal/::1", l4, l6, lw, lu, ng,
			  "--port-min=" G_STRINGIFY(PORT_MIN), "--port-max=" G_STRINGIFY(PORT_MAX),
			  "--num-threads=2", NULL);
	char *err = NULL;
	g_autofree char *ld = g_strdup_printf("unix-dgram:%s", unixd_path);
	if (rtpp_listen(ld, NULL, &err) < 0)
		g_error("unix-dgram: %s", err);

	g_test_add_func("/rtpp/parse", test_parse);
	g_test_add_func("/rtpp/modifiers", test_mods);
	g_test_add_func("/rtpp/tags", test_tags);
	g_test_add_func("/rtpp/version", test_version);
	g_test_add_func("/rtpp/errors", test_errors);
	g_test_add_func("/rtpp/unsupported", test_unsupported);
	g_test_add_func("/rtpp/offer-answer-relay", test_offer_answer_relay);
	g_test_add_func("/rtpp/multi-media", test_multi_media);
	g_test_add_func("/rtpp/weak", test_weak);
	g_test_add_func("/rtpp/new-port-hold", test_new_port_hold_asym);
	g_test_add_func("/rtpp/symmetric-asymmetric", test_symmetric_asymmetric);
	g_test_add_func("/rtpp/bridge", test_bridge);
	g_test_add_func("/rtpp/kamailio-quirks", test_kamailio_quirks);
	g_test_add_func("/rtpp/repacketize", test_repack);
	g_test_add_func("/rtpp/notify", test_notify);
	g_test_add_func("/rtpp/info-stats-x", test_info_stats_x);
	g_test_add_func("/rtpp/ports-exhausted", test_ports_exhausted);
	g_test_add_func("/rtpp/udp-sockets", test_udp_sockets);
	g_test_add_func("/rtpp/unix-sockets", test_unix_sockets);
	int ret = g_test_run();
	test_engine_stop(&cfg);
	g_assert_false(g_file_test(unix_path, G_FILE_TEST_EXISTS));   /* removed at stop */
	g_assert_false(g_file_test(unixd_path, G_FILE_TEST_EXISTS));
	return ret;
}
