/* NG commands end to end inside one process: the real engine (interfaces, workers, NG socket)
 * is started, requests go through ng_process() or the UDP socket, and media is pushed through
 * real sockets and counted. */
#include <arpa/inet.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bencode.h"
#include "call.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "ng.h"
#include "stats.h"
#include "ng_harness.h"
#include "engine_harness.h"
#include "rg_dtls.h"

#define PORT_MIN 21000
#define PORT_MAX 21063
static int ng_port;

static int64_t total(const reply *r, const char *proto, const char *what)
{
	const be_node *t = be_dict_get(be_dict_get(r->d, "totals"), proto);
	int64_t v = -1;
	g_assert_true(be_dict_int(t, what, &v));
	return v;
}

/* ---- media peers ---- */
/* receive one datagram; -1 on timeout */
static ssize_t recv_one(int fd, unsigned *from_port)
{
	uint8_t buf[2048];
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&sin, &sl);
	if (n >= 0 && from_port)
		*from_port = ntohs(sin.sin_port);
	return n;
}

static char *mk_sdp(const char *origin_ver, unsigned port, const char *extra)
{
	return g_strdup_printf("v=0\r\no=- 1545997027 %s IN IP4 127.0.0.1\r\ns=tester\r\n"
			       "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %u RTP/AVP 0 101\r\n"
			       "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
			       "a=fmtp:101 0-15\r\n%s",
			       origin_ver, port, extra ? extra : "a=sendrecv\r\n");
}

typedef struct call_fx {
	int fa, fb;
	unsigned pa, pb;      /* our peers' ports */
	unsigned ga, gb;      /* gateway ports A and B send to */
} call_fx;

static void setup_call(call_fx *fx, const char *cid, const char *offer_flags)
{
	fx->fa = udp_bind(&fx->pa);
	fx->fb = udp_bind(&fx->pb);
	g_autofree char *sa = mk_sdp("1", fx->pa, NULL);
	g_autofree char *sb = mk_sdp("7", fx->pb, NULL);
	g_autoptr(reply) o = ng("offer", "call-id", cid, "from-tag", "tagA", "sdp", sa,
				"flags", offer_flags ? offer_flags : "[trust-address", NULL);
	assert_result(o, "ok");
	g_autofree char *osdp = rstr(o, "sdp");
	fx->gb = sdp_port(osdp, 0);
	g_autoptr(reply) a = ng("answer", "call-id", cid, "from-tag", "tagA", "to-tag", "tagB", "sdp", sb, NULL);
	assert_result(a, "ok");
	g_autofree char *asdp = rstr(a, "sdp");
	fx->ga = sdp_port(asdp, 0);
}

static void close_call(call_fx *fx)
{
	close(fx->fa);
	close(fx->fb);
}

/* ---- tests ---- */

static void test_ping(void)
{
	g_autoptr(reply) r = ng_raw("d7:command4:pinge");
	assert_result(r, "pong");
}

static void test_bad_requests(void)
{
	uint64_t before = rg_ctr_read(RG_CTR_NG_ERRORS);
	struct { const char *payload, *reason; } cases[] = {
		{ "d7:command4:ping", "Could not decode" },          /* truncated */
		{ "li1ee", "Could not decode" },                     /* not a dict */
		{ "d3:foo3:bare", "no key \"command\"" },
		{ "d7:command5:fnorde", "Unrecognized command" },
		{ "d7:command11:block mediae", "not supported" },
		{ "d7:command10:play mediae", "No media file" },
		{ "d7:call-id7:nothere7:command10:play media4:file4:/x/ye", "Unknown call-id" },
		{ "d7:call-id7:nothere7:command9:play DTMF4:code1:Ze", "Invalid DTMF code" },
		{ "d7:command5:offere", "No call-id" },
		{ "d7:call-id1:x7:command5:offere", "No from-tag" },
		{ "d7:call-id1:x8:from-tag1:a7:command5:offere", "No SDP body" },
		{ "d3:sdp5:hello7:call-id1:x8:from-tag1:a7:command5:offere", "Failed to parse SDP" },
		{ "d7:call-idi5e7:command5:querye", "Invalid value type" },
		{ "d7:call-id7:nothere7:command5:querye", "Unknown call-id" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(reply) r = ng_raw(cases[i].payload);
		assert_error(r, cases[i].reason);
	}
	g_assert_cmpuint(rg_ctr_read(RG_CTR_NG_ERRORS) - before, ==, G_N_ELEMENTS(cases));
	/* none of them created a call */
	g_assert_cmpuint(rg_calls_count(), ==, 0);

	g_autofree char *sdp = mk_sdp("1", 5000, NULL);
	g_autoptr(reply) a = ng("answer", "call-id", "unknown-call", "from-tag", "a", "to-tag", "b", "sdp", sdp, NULL);
	assert_error(a, "Unknown call-id");
	g_autoptr(reply) a2 = ng("answer", "call-id", "unknown-call", "from-tag", "a", "sdp", sdp, NULL);
	assert_error(a2, "No to-tag");
	g_autoptr(reply) s = ng("offer", "call-id", "srtp", "from-tag", "a", "sdp", sdp,
				"transport-protocol", "RTP/SAVP", "DTLS", "off", "SDES", "[off", NULL);
	assert_error(s, "both DTLS and SDES off");
	g_autoptr(reply) s2 = ng("offer", "call-id", "srtp", "from-tag", "a", "sdp", sdp,
				 "transport-protocol", "RTP/XYZ", NULL);
	assert_error(s2, "Unsupported transport-protocol");
	g_assert_cmpuint(rg_calls_count(), ==, 0);
}

static void test_offer_answer_relay(void)
{
	call_fx fx;
	setup_call(&fx, "call-relay", NULL);
	g_assert_cmpuint(fx.ga, >=, PORT_MIN);
	g_assert_cmpuint(fx.ga, <=, PORT_MAX);
	g_assert_cmpuint(fx.gb, >=, PORT_MIN);
	g_assert_cmpuint(fx.ga % 2, ==, 0);
	g_assert_cmpuint(fx.ga, !=, fx.gb);

	uint8_t pkt[200];
	unsigned from = 0;
	for (uint16_t i = 0; i < 50; i++) {
		size_t n = mk_test_rtp(pkt, i, 0);
		send_to(fx.fa, fx.ga, pkt, n);
		g_assert_cmpint(recv_one(fx.fb, &from), ==, (ssize_t)n);
		g_assert_cmpuint(from, ==, fx.gb);   /* B hears us from the port it sends to */
	}
	for (uint16_t i = 0; i < 30; i++) {
		size_t n = mk_test_rtp(pkt, i, 0);
		send_to(fx.fb, fx.gb, pkt, n);
		g_assert_cmpint(recv_one(fx.fa, &from), ==, (ssize_t)n);
		g_assert_cmpuint(from, ==, fx.ga);
	}
	/* garbage, a bad RTP version and an oversized datagram are dropped and counted, not forwarded */
	uint64_t malformed = rg_ctr_read(RG_CTR_DROP_MALFORMED), oversize = rg_ctr_read(RG_CTR_DROP_OVERSIZE);
	send_to(fx.fa, fx.ga, "garbage!", 8);
	pkt[0] = 0x40;
	send_to(fx.fa, fx.ga, pkt, 172);
	static uint8_t big[4000];
	mk_test_rtp(big, 60, 0);
	send_to(fx.fa, fx.ga, big, sizeof(big));
	g_assert_cmpint(recv_one(fx.fb, NULL), ==, -1);
	g_assert_cmpuint(rg_ctr_read(RG_CTR_DROP_MALFORMED), ==, malformed + 2);
	g_assert_cmpuint(rg_ctr_read(RG_CTR_DROP_OVERSIZE), ==, oversize + 1);

	g_autoptr(reply) q = ng("query", "call-id", "call-relay", NULL);
	assert_result(q, "ok");
	g_assert_cmpint(total(q, "RTP", "packets"), ==, 80);
	g_assert_cmpint(total(q, "RTP", "bytes"), ==, 80 * 172);
	g_assert_cmpint(total(q, "RTP", "errors"), ==, 3);

	g_autoptr(reply) l = ng("list", NULL);
	const be_node *calls = be_dict_get(l->d, "calls");
	g_assert_nonnull(calls);
	g_assert_cmpuint(calls->count, ==, 1);

	g_autoptr(reply) d = ng("delete", "call-id", "call-relay", "from-tag", "tagA", NULL);
	assert_result(d, "ok");
	g_assert_cmpint(total(d, "RTP", "packets"), ==, 80);
	g_assert_cmpuint(rg_calls_count(), ==, 0);
	/* media is no longer relayed */
	send_to(fx.fa, fx.ga, pkt, mk_test_rtp(pkt, 99, 0));
	g_assert_cmpint(recv_one(fx.fb, NULL), ==, -1);
	close_call(&fx);
}

static void test_sdp_rewrite(void)
{
	unsigned pa;
	int fa = udp_bind(&pa);
	g_autofree char *sa = mk_sdp("1", pa, "a=rtcp-mux\r\na=candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host\r\n"
				     "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\na=sendrecv\r\n");
	g_autoptr(reply) o = ng("offer", "call-id", "rw", "from-tag", "A", "sdp", sa,
				"replace", "[origin session-connection", "rtcp-mux", "[demux", NULL);
	assert_result(o, "ok");
	g_autofree char *s1 = rstr(o, "sdp");
	unsigned port = sdp_port(s1, 0);
	g_autofree char *want_rtcp = g_strdup_printf("a=rtcp:%u\r\n", port + 1);
	g_assert_nonnull(strstr(s1, "c=IN IP4 127.0.0.1\r\n"));
	g_assert_nonnull(strstr(s1, want_rtcp));
	g_assert_null(strstr(s1, "a=rtcp-mux"));       /* demux: not offered to B */
	g_assert_null(strstr(s1, "candidate"));
	g_assert_null(strstr(s1, "ice-ufrag"));
	g_assert_nonnull(strstr(s1, "o=- 1545997027 1 IN IP4 127.0.0.1"));
	g_assert_nonnull(strstr(s1, "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15"));

	/* answer without mux: A still gets mux because of demux */
	unsigned pb;
	int fb = udp_bind(&pb);
	g_autofree char *sb = mk_sdp("3", pb, NULL);
	g_autoptr(reply) a = ng("answer", "call-id", "rw", "from-tag", "A", "to-tag", "B", "sdp", sb, NULL);
	assert_result(a, "ok");
	g_autofree char *s2 = rstr(a, "sdp");
	unsigned aport = sdp_port(s2, 0);
	g_autofree char *want_mux = g_strdup_printf("a=rtcp-mux\r\na=rtcp:%u\r\n", aport);
	g_assert_nonnull(strstr(s2, want_mux));

	/* same re-offer: same port, same version; hold re-offer: same port, version + 1 */
	g_autoptr(reply) o2 = ng("offer", "call-id", "rw", "from-tag", "A", "to-tag", "B", "sdp", sa,
				 "replace", "[origin session-connection", "rtcp-mux", "[demux", NULL);
	g_autofree char *s3 = rstr(o2, "sdp");
	g_assert_cmpuint(sdp_port(s3, 0), ==, port);
	g_assert_cmpstr(s3, ==, s1);
	g_autofree char *hold = mk_sdp("2", pa, "a=sendonly\r\n");
	g_autoptr(reply) o3 = ng("offer", "call-id", "rw", "from-tag", "A", "to-tag", "B", "sdp", hold,
				 "replace", "[origin", NULL);
	g_autofree char *s4 = rstr(o3, "sdp");
	g_assert_cmpuint(sdp_port(s4, 0), ==, port);
	g_assert_nonnull(strstr(s4, "a=sendonly"));
	g_assert_nonnull(strstr(s4, "o=- 1545997027 2 IN IP4"));

	/* loop protection: our own marked SDP comes back untouched */
	g_autoptr(reply) lp = ng("offer", "call-id", "loop", "from-tag", "A", "sdp", sa, "flags", "[loop-protect", NULL);
	g_autofree char *s5 = rstr(lp, "sdp");
	g_assert_nonnull(strstr(s5, "a=rtpgate:"));
	g_autoptr(reply) lp2 = ng("offer", "call-id", "loop2", "from-tag", "A", "sdp", s5, "flags", "[loop-protect", NULL);
	g_autofree char *s6 = rstr(lp2, "sdp");
	g_assert_cmpstr(s6, ==, s5);

	/* unknown flags are reported, not ignored silently */
	g_autoptr(reply) w = ng("offer", "call-id", "rw", "from-tag", "A", "to-tag", "B", "sdp", sa,
				"flags", "[bogus-flag", NULL);
	g_autofree char *warn = rstr(w, "warning");
	g_assert_nonnull(warn);
	g_assert_nonnull(strstr(warn, "bogus-flag"));

	g_autoptr(reply) d = ng("delete", "call-id", "rw", NULL);
	g_autoptr(reply) d2 = ng("delete", "call-id", "loop", NULL);
	close(fa);
	close(fb);
}

static void test_strict_source(void)
{
	call_fx fx;
	setup_call(&fx, "strict", "[strict-source");
	uint8_t pkt[200];
	size_t n = mk_test_rtp(pkt, 1, 0);
	send_to(fx.fa, fx.ga, pkt, n);
	g_assert_cmpint(recv_one(fx.fb, NULL), ==, (ssize_t)n);
	unsigned px;
	int fx_other = udp_bind(&px);
	uint64_t drops = rg_ctr_read(RG_CTR_DROP_SOURCE);
	send_to(fx_other, fx.ga, pkt, n);   /* spoofed source */
	g_assert_cmpint(recv_one(fx.fb, NULL), ==, -1);
	g_assert_cmpuint(rg_ctr_read(RG_CTR_DROP_SOURCE), ==, drops + 1);
	send_to(fx.fa, fx.ga, pkt, n);     /* the real one still passes */
	g_assert_cmpint(recv_one(fx.fb, NULL), ==, (ssize_t)n);
	g_autoptr(reply) d = ng("delete", "call-id", "strict", NULL);
	close(fx_other);
	close_call(&fx);
}

static void test_delete_semantics(void)
{
	g_autoptr(reply) d = ng("delete", "call-id", "nope", "from-tag", "x", NULL);
	assert_result(d, "ok");
	g_autofree char *w = rstr(d, "warning");
	g_assert_cmpstr(w, ==, "Call-ID not found or tags didn't match");
	g_autoptr(reply) d2 = ng("delete", "call-id", "nope", "flags", "[fatal", NULL);
	assert_error(d2, "Call-ID not found");

	call_fx fx;
	setup_call(&fx, "delayed", NULL);
	g_autoptr(reply) d3 = ng("delete", "call-id", "delayed", "delete-delay", "5", NULL);
	assert_result(d3, "ok");
	g_assert_cmpuint(rg_calls_count(), ==, 1);
	rg_engine_tick(rg_now() + 2);
	g_assert_cmpuint(rg_calls_count(), ==, 1);
	rg_engine_tick(rg_now() + 6);
	g_assert_cmpuint(rg_calls_count(), ==, 0);
	close_call(&fx);
}

static void test_media_timeout(void)
{
	call_fx fx;
	setup_call(&fx, "timeout", NULL);
	rg_engine_tick(rg_now() + 30);
	g_assert_cmpuint(rg_calls_count(), ==, 1);
	uint64_t before = rg_ctr_read(RG_CTR_CALLS_TIMEOUT);
	rg_engine_tick(rg_now() + 61);
	g_assert_cmpuint(rg_calls_count(), ==, 0);
	g_assert_cmpuint(rg_ctr_read(RG_CTR_CALLS_TIMEOUT), ==, before + 1);
	close_call(&fx);
}

static void test_fork_and_early_media(void)
{
	unsigned pa, pb1, pb2;
	int fa = udp_bind(&pa), fb1 = udp_bind(&pb1), fb2 = udp_bind(&pb2);
	g_autofree char *sa = mk_sdp("1", pa, NULL);
	g_autoptr(reply) o = ng("offer", "call-id", "fork", "from-tag", "A", "sdp", sa, NULL);
	g_autofree char *so = rstr(o, "sdp");
	unsigned gb = sdp_port(so, 0);
	/* early media from fork 1 (183) */
	g_autofree char *s1 = mk_sdp("1", pb1, NULL);
	g_autoptr(reply) a1 = ng("answer", "call-id", "fork", "from-tag", "A", "to-tag", "B1", "sdp", s1, NULL);
	assert_result(a1, "ok");
	g_autofree char *sa1 = rstr(a1, "sdp");
	unsigned ga = sdp_port(sa1, 0);
	uint8_t pkt[200];
	size_t n = mk_test_rtp(pkt, 1, 0);
	send_to(fa, ga, pkt, n);
	g_assert_cmpint(recv_one(fb1, NULL), ==, (ssize_t)n);
	/* 200 OK from fork 2 with another to-tag and another address: media now goes there */
	g_autofree char *s2 = mk_sdp("1", pb2, NULL);
	g_autoptr(reply) a2 = ng("answer", "call-id", "fork", "from-tag", "A", "to-tag", "B2", "sdp", s2, NULL);
	assert_result(a2, "ok");
	g_autofree char *sa2 = rstr(a2, "sdp");
	g_assert_cmpuint(sdp_port(sa2, 0), ==, ga);   /* same port toward the caller */
	send_to(fa, ga, pkt, n);
	g_assert_cmpint(recv_one(fb2, NULL), ==, (ssize_t)n);
	send_to(fb2, gb, pkt, n);
	g_assert_cmpint(recv_one(fa, NULL), ==, (ssize_t)n);
	/* delete by the new tag ends the call */
	g_autoptr(reply) d = ng("delete", "call-id", "fork", "from-tag", "B2", NULL);
	assert_result(d, "ok");
	g_assert_null(be_dict_get(d->d, "warning"));
	g_assert_cmpuint(rg_calls_count(), ==, 0);
	close(fa);
	close(fb1);
	close(fb2);
}

static void wait_ports_free(void)
{
	rg_iface *ifc = rg_iface_default(0);
	for (int i = 0; i < 200 && rg_iface_ports_free(ifc) != PORT_MAX - PORT_MIN + 1; i++)
		g_usleep(10000);
	g_assert_cmpuint(rg_iface_ports_free(ifc), ==, PORT_MAX - PORT_MIN + 1);
}

/* Forks that got their own offer (via-branch): deleting one branch keeps the call and the other. */
static void test_delete_branch(void)
{
	g_autofree char *sa = mk_sdp("1", 5000, NULL);
	g_autoptr(reply) o1 = ng("offer", "call-id", "br", "from-tag", "A", "via-branch", "z9hG4bK-1", "sdp", sa, NULL);
	g_autoptr(reply) o2 = ng("offer", "call-id", "br", "from-tag", "A", "via-branch", "z9hG4bK-2", "sdp", sa, NULL);
	assert_result(o1, "ok");
	assert_result(o2, "ok");
	g_autofree char *s1 = rstr(o1, "sdp");
	g_autofree char *s2 = rstr(o2, "sdp");
	g_assert_cmpuint(sdp_port(s1, 0), !=, sdp_port(s2, 0));   /* each fork has its own leg */
	g_autoptr(reply) d = ng("delete", "call-id", "br", "via-branch", "z9hG4bK-1", NULL);
	assert_result(d, "ok");
	g_assert_cmpuint(rg_calls_count(), ==, 1);
	/* the remaining fork answers and the call goes on */
	g_autofree char *sb = mk_sdp("2", 5002, NULL);
	g_autoptr(reply) a = ng("answer", "call-id", "br", "from-tag", "A", "to-tag", "B", "via-branch", "z9hG4bK-2",
				"sdp", sb, NULL);
	assert_result(a, "ok");
	g_autoptr(reply) d2 = ng("delete", "call-id", "br", NULL);
	g_assert_cmpuint(rg_calls_count(), ==, 0);
}

static void test_ports_exhausted(void)
{
	g_assert_cmpuint(rg_calls_count(), ==, 0);
	wait_ports_free();
	/* 64 ports = 16 calls of 4 ports each; the 17th fails cleanly */
	call_fx first;
	setup_call(&first, "px-0", NULL);
	GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *sdp = mk_sdp("1", 4000, NULL);
	const char *err = NULL;
	for (int i = 1; i < 40 && !err; i++) {
		char *cid = g_strdup_printf("px-%d", i);
		g_autoptr(reply) o = ng("offer", "call-id", cid, "from-tag", "A", "sdp", sdp, NULL);
		g_autofree char *res = rstr(o, "result");
		if (strcmp(res, "ok") != 0) {
			g_autofree char *why = rstr(o, "error-reason");
			g_assert_cmpstr(why, ==, "Ran out of ports");
			err = "x";
			g_free(cid);
		} else {
			g_ptr_array_add(ids, cid);
		}
	}
	g_assert_nonnull(err);
	/* 64 ports hold 16 calls; fewer when another process on this machine holds some of them */
	g_assert_cmpuint(ids->len, <=, 15);
	g_assert_cmpuint(ids->len, >=, 8);
	g_assert_cmpuint(rg_calls_count(), ==, ids->len + 1);  /* the failed offer left nothing behind */
	/* the established call still relays */
	uint8_t pkt[200];
	size_t n = mk_test_rtp(pkt, 1, 0);
	send_to(first.fa, first.ga, pkt, n);
	g_assert_cmpint(recv_one(first.fb, NULL), ==, (ssize_t)n);
	for (guint i = 0; i < ids->len; i++) {
		g_autoptr(reply) d = ng("delete", "call-id", ids->pdata[i], NULL);
		assert_result(d, "ok");
	}
	g_autoptr(reply) d = ng("delete", "call-id", "px-0", NULL);
	g_ptr_array_free(ids, TRUE);
	close_call(&first);
	/* ports come back once the worker has closed the sockets */
	wait_ports_free();
}

static void test_retransmission_cache(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				   .sin_port = htons((uint16_t)ng_port) };
	g_autofree char *sdp = mk_sdp("1", 4000, NULL);
	va_list dummy;
	(void)dummy;
	be_buf b;
	be_buf_init(&b);
	be_dict_open(&b);
	be_kv_cstr(&b, "sdp", sdp);
	be_kv_cstr(&b, "call-id", "retrans");
	be_kv_cstr(&b, "from-tag", "A");
	be_kv_cstr(&b, "command", "offer");
	be_close(&b);
	size_t len;
	g_autofree char *payload = be_buf_steal(&b, &len);
	g_autofree char *msg = g_strdup_printf("0_99_1 %s", payload);
	char r1[65536], r2[65536];
	uint64_t offers = rg_ctr_read(RG_CTR_NG_OFFERS);
	ssize_t n1 = -1, n2 = -1;
	for (int round = 0; round < 2; round++) {
		sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sin, sizeof(sin));
		ssize_t n = -1;
		for (int i = 0; i < 200 && n < 0; i++) {
			g_main_context_iteration(NULL, FALSE);
			n = recv(fd, round ? r2 : r1, sizeof(r1), MSG_DONTWAIT);
			if (n < 0)
				g_usleep(5000);
		}
		if (round)
			n2 = n;
		else
			n1 = n;
	}
	g_assert_cmpint(n1, >, 0);
	g_assert_cmpint(n1, ==, n2);
	g_assert_cmpmem(r1, n1, r2, n2);
	g_assert_true(g_str_has_prefix(r1, "0_99_1 d"));
	g_assert_cmpuint(rg_ctr_read(RG_CTR_NG_OFFERS), ==, offers + 1);   /* ran once */
	close(fd);
	g_autoptr(reply) d = ng("delete", "call-id", "retrans", NULL);
}

static int udp6_bind(unsigned *port)
{
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)), ==, 0);
	socklen_t sl = sizeof(sin6);
	getsockname(fd, (struct sockaddr *)&sin6, &sl);
	*port = ntohs(sin6.sin6_port);
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* IPv4 caller, IPv6 callee: direction picks the interfaces, media crosses families. */
static void test_bridge_v4_v6(void)
{
	unsigned pa, pb;
	int fa = udp_bind(&pa), fb = udp6_bind(&pb);
	g_autofree char *sa = mk_sdp("1", pa, NULL);
	g_autoptr(reply) o = ng("offer", "call-id", "bridge", "from-tag", "A", "sdp", sa,
				"direction", "[default ext", "replace", "[origin", NULL);
	assert_result(o, "ok");
	g_autofree char *so = rstr(o, "sdp");
	g_assert_nonnull(strstr(so, "c=IN IP6 ::1\r\n"));
	g_assert_nonnull(strstr(so, "o=- 1545997027 1 IN IP6 ::1\r\n"));
	unsigned gb = sdp_port(so, 0);
	g_autofree char *sb = g_strdup_printf("v=0\r\no=- 5 5 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\n"
					      "m=audio %u RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", pb);
	g_autoptr(reply) a = ng("answer", "call-id", "bridge", "from-tag", "A", "to-tag", "B", "sdp", sb, NULL);
	assert_result(a, "ok");
	g_autofree char *sa2 = rstr(a, "sdp");
	g_assert_nonnull(strstr(sa2, "c=IN IP4 127.0.0.1\r\n"));
	unsigned ga = sdp_port(sa2, 0);
	uint8_t pkt[200];
	size_t n = mk_test_rtp(pkt, 1, 0);
	send_to(fa, ga, pkt, n);
	g_assert_cmpint(recv(fb, pkt, sizeof(pkt), 0), ==, (ssize_t)n);
	struct sockaddr_in6 to6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT,
				    .sin6_port = htons((uint16_t)gb) };
	n = mk_test_rtp(pkt, 2, 0);
	g_assert_cmpint(sendto(fb, pkt, n, 0, (struct sockaddr *)&to6, sizeof(to6)), ==, (ssize_t)n);
	g_assert_cmpint(recv_one(fa, NULL), ==, (ssize_t)n);

	/* address-family alone picks an IPv6 interface for the recipient */
	g_autoptr(reply) o2 = ng("offer", "call-id", "af", "from-tag", "A", "sdp", sa, "address-family", "IP6", NULL);
	g_autofree char *so2 = rstr(o2, "sdp");
	g_assert_nonnull(strstr(so2, "c=IN IP6 ::1\r\n"));
	/* an interface name nobody configured is an error, not a guess */
	g_autoptr(reply) o3 = ng("offer", "call-id", "badif", "from-tag", "A", "sdp", sa, "direction", "[default nowhere", NULL);
	assert_error(o3, "interface");
	/* 1:1 NAT: the SDP carries the advertised address, media uses the local one */
	g_autoptr(reply) o4 = ng("offer", "call-id", "nat", "from-tag", "A", "sdp", sa, "direction", "[default nat",
				 "replace", "[origin", NULL);
	assert_result(o4, "ok");
	g_autofree char *so4 = rstr(o4, "sdp");
	g_assert_nonnull(strstr(so4, "c=IN IP4 203.0.113.7\r\n"));
	g_assert_nonnull(strstr(so4, "o=- 1545997027 1 IN IP4 203.0.113.7\r\n"));
	g_assert_null(strstr(so4, "127.0.0.3"));
	g_autoptr(reply) d4 = ng("delete", "call-id", "nat", NULL);
	g_autoptr(reply) d1 = ng("delete", "call-id", "bridge", NULL);
	g_autoptr(reply) d2 = ng("delete", "call-id", "af", NULL);
	g_assert_cmpuint(rg_calls_count(), ==, 0);
	close(fa);
	close(fb);
}

static void test_max_sessions(void)
{
	g_autofree char *sdp = mk_sdp("1", 4000, NULL);
	rg_max_sessions = 1;
	g_autoptr(reply) o1 = ng("offer", "call-id", "ms1", "from-tag", "A", "sdp", sdp, NULL);
	assert_result(o1, "ok");
	/* exactly what Kamailio sends: supports ["load limit"] first */
	g_autofree char *raw = g_strdup_printf("d8:supportsl10:load limite3:sdp%zu:%s7:call-id3:ms28:from-tag1:A"
					       "7:command5:offere", strlen(sdp), sdp);
	g_autoptr(reply) o2 = ng_raw(raw);
	assert_result(o2, "load limit");
	g_autofree char *msg = rstr(o2, "message");
	g_assert_cmpstr(msg, ==, "Parallel session limit reached");
	g_autoptr(reply) o3 = ng("offer", "call-id", "ms3", "from-tag", "A", "sdp", sdp, NULL);
	assert_error(o3, "Parallel session limit reached");
	/* the existing call can still be re-offered */
	g_autoptr(reply) o4 = ng("offer", "call-id", "ms1", "from-tag", "A", "sdp", sdp, NULL);
	assert_result(o4, "ok");
	rg_max_sessions = 0;
	g_autoptr(reply) d = ng("delete", "call-id", "ms1", NULL);
	g_assert_cmpuint(rg_calls_count(), ==, 0);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

/* RTCP passes through, and what it says ends up in the query: loss, jitter, RTT, MOS. */
static void test_rtcp_quality(void)
{
	call_fx fx;
	setup_call(&fx, "rtcp", NULL);
	uint8_t pkt[200];
	size_t n = mk_test_rtp(pkt, 1, 0);
	send_to(fx.fa, fx.ga, pkt, n);                 /* A's RTP, SSRC 0x11223344 */
	g_assert_cmpint(recv_one(fx.fb, NULL), ==, (ssize_t)n);
	/* A's SR (no report blocks) to A's RTCP port = RTP port + 1 */
	uint8_t sr[28] = { 0x80, 200, 0, 6 };
	put32(sr + 4, 0x11223344);
	put32(sr + 8, 0xe0000000);     /* NTP seconds */
	put32(sr + 12, 0x12345678);    /* NTP fraction */
	put32(sr + 16, 160);
	put32(sr + 20, 1);
	put32(sr + 24, 172);
	send_to(fx.fa, fx.ga + 1, sr, sizeof(sr));     /* relayed to B's RTCP port (pb + 1) */
	g_usleep(20000);
	/* B's RR about A's stream: 5% loss, jitter 80 (10 ms), LSR = middle of A's NTP, DLSR 0 */
	uint8_t rr[32] = { 0x81, 201, 0, 7 };
	put32(rr + 4, 0x55667788);
	put32(rr + 8, 0x11223344);
	rr[12] = 13;                   /* fraction lost 13/256 */
	rr[15] = 3;                    /* cumulative 3 */
	put32(rr + 16, 1);
	put32(rr + 20, 80);
	put32(rr + 24, 0x00001234);    /* LSR: low 16 of seconds, high 16 of fraction */
	put32(rr + 28, 0);
	send_to(fx.fb, fx.gb + 1, rr, sizeof(rr));
	g_usleep(20000);

	g_autoptr(reply) q = ng("query", "call-id", "rtcp", NULL);
	g_assert_cmpint(total(q, "RTCP", "packets"), ==, 2);
	const be_node *ssrc = be_dict_get(be_dict_get(q->d, "SSRC"), "287454020");   /* 0x11223344 */
	g_assert_nonnull(ssrc);
	int64_t v;
	g_assert_true(be_dict_int(ssrc, "cumulative loss", &v));
	g_assert_cmpint(v, ==, 3);
	const be_node *avg = be_dict_get(ssrc, "average MOS");
	g_assert_true(be_dict_int(avg, "packet loss", &v));
	g_assert_cmpint(v, ==, 5);
	g_assert_true(be_dict_int(avg, "jitter", &v));
	g_assert_cmpint(v, ==, 10);
	g_assert_true(be_dict_int(avg, "round-trip time", &v));
	g_assert_cmpint(v, >=, 0);
	g_assert_cmpint(v, <, 5000000);
	g_assert_true(be_dict_int(avg, "MOS", &v));
	g_assert_cmpint(v, >=, 10);
	g_assert_cmpint(v, <, 44);        /* 5% loss is below a clean call's 4.4 */
	g_autoptr(reply) d = ng("delete", "call-id", "rtcp", NULL);
	close_call(&fx);
}

static char *crypto_of(const char *sdp, unsigned tag)
{
	const char *p = sdp;
	char want[32];
	snprintf(want, sizeof(want), "a=crypto:%u ", tag);
	p = strstr(p, want);
	if (!p)
		return NULL;
	p += 9;
	return g_strndup(p, strcspn(p, "\r\n"));
}

/* SDES-SRTP: a SIP device keys SRTP with a=crypto; rtpgate terminates it toward a plain leg and
 * the other way round. Packets are protected and checked with our own libsrtp session. */
static void test_sdes(void)
{
	unsigned pa, pb;
	int fa = udp_bind(&pa), fb = udp_bind(&pb);
	rg_sdes_crypto a_key;
	g_assert_cmpint(rg_sdes_generate(&a_key, 1, RG_SRTP_AES_CM_128_HMAC_SHA1_80), ==, 0);
	char cl[256];
	g_assert_cmpint(rg_sdes_format(&a_key, cl, sizeof(cl)), ==, 0);
	g_autofree char *sa = g_strdup_printf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
					      "m=audio %u RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\na=crypto:%s\r\n", pa, cl);
	g_autoptr(reply) o = ng("offer", "call-id", "sdes", "from-tag", "A", "sdp", sa, "transport-protocol", "RTP/AVP", NULL);
	assert_result(o, "ok");
	g_autofree char *so = rstr(o, "sdp");
	g_assert_nonnull(strstr(so, " RTP/AVP 0"));
	g_assert_null(strstr(so, "a=crypto"));
	unsigned gb = sdp_port(so, 0);
	g_autofree char *sb = mk_sdp("1", pb, NULL);
	g_autoptr(reply) a = ng("answer", "call-id", "sdes", "from-tag", "A", "to-tag", "B", "sdp", sb,
				"transport-protocol", "RTP/SAVP", NULL);
	assert_result(a, "ok");
	g_autofree char *sa2 = rstr(a, "sdp");
	g_assert_nonnull(strstr(sa2, " RTP/SAVP 0"));
	g_autofree char *gw_line = crypto_of(sa2, 1);
	g_assert_nonnull(gw_line);
	rg_sdes_crypto gw_key;
	g_assert_cmpint(rg_sdes_parse(gw_line, strlen(gw_line), &gw_key), ==, 0);
	g_assert_cmpint(gw_key.suite, ==, RG_SRTP_AES_CM_128_HMAC_SHA1_80);
	unsigned ga = sdp_port(sa2, 0);
	rg_srtp_keys k;
	g_assert_cmpint(rg_sdes_keys(&k, &a_key, &gw_key), ==, 0);
	rg_srtp *as;
	g_assert_cmpint(rg_srtp_new(&as, &k, true), ==, 0);

	uint8_t pkt[300], clear[200], got[300];
	for (uint16_t i = 0; i < 5; i++) {
		size_t n = mk_test_rtp(clear, i, 0);
		memcpy(pkt, clear, n);
		size_t len = n;
		g_assert_cmpint(rg_srtp_protect_rtp(as, pkt, &len, sizeof(pkt)), ==, 0);
		g_assert_cmpuint(len, ==, n + 10);
		send_to(fa, ga, pkt, len);
		g_assert_cmpint(recv(fb, got, sizeof(got), 0), ==, (ssize_t)n);   /* plain toward B */
		g_assert_cmpmem(got, n, clear, n);
	}
	/* a tampered packet and a replayed one are dropped and counted */
	uint64_t drops = rg_ctr_read(RG_CTR_DROP_SRTP);
	size_t n = mk_test_rtp(clear, 100, 0), len = n;
	memcpy(pkt, clear, n);
	g_assert_cmpint(rg_srtp_protect_rtp(as, pkt, &len, sizeof(pkt)), ==, 0);
	send_to(fa, ga, pkt, len);
	g_assert_cmpint(recv(fb, got, sizeof(got), 0), ==, (ssize_t)n);
	send_to(fa, ga, pkt, len);                 /* replay */
	pkt[20] ^= 0x55;
	pkt[3] ^= 1;                               /* tampered (and another sequence number) */
	send_to(fa, ga, pkt, len);
	g_assert_cmpint(recv_one(fb, NULL), ==, -1);
	g_assert_cmpuint(rg_ctr_read(RG_CTR_DROP_SRTP), ==, drops + 2);
	/* B's plain RTP reaches A as SRTP that A's session accepts */
	n = mk_test_rtp(clear, 7, 0);
	send_to(fb, gb, clear, n);
	ssize_t r = recv(fa, got, sizeof(got), 0);
	g_assert_cmpint(r, ==, (ssize_t)n + 10);
	len = (size_t)r;
	g_assert_cmpint(rg_srtp_unprotect_rtp(as, got, &len), ==, 0);
	g_assert_cmpmem(got, len, clear, n);
	rg_srtp_free(as);
	rg_srtp_keys_wipe(&k);
	g_autoptr(reply) d = ng("delete", "call-id", "sdes", NULL);

	/* the other way: plain offerer, SDES recipient (several suites offered, one chosen) */
	g_autoptr(reply) o2 = ng("offer", "call-id", "sdes2", "from-tag", "A", "sdp", sb,
				 "transport-protocol", "RTP/SAVP", "DTLS", "off", "SDES", "[no-AEAD_AES_256_GCM", NULL);
	assert_result(o2, "ok");
	g_autofree char *so2 = rstr(o2, "sdp");
	g_assert_nonnull(strstr(so2, " RTP/SAVP 0"));
	g_assert_null(strstr(so2, "AEAD_AES_256_GCM"));
	g_assert_nonnull(strstr(so2, "AES_CM_128_HMAC_SHA1_80"));
	unsigned tag = 0;
	for (unsigned t = 1; t < 10 && !tag; t++) {
		g_autofree char *line = crypto_of(so2, t);
		if (line && strstr(line, "AES_CM_128_HMAC_SHA1_80"))
			tag = t;
	}
	g_assert_cmpuint(tag, >, 0);
	rg_sdes_crypto b_key;
	g_assert_cmpint(rg_sdes_generate(&b_key, tag, RG_SRTP_AES_CM_128_HMAC_SHA1_80), ==, 0);
	g_assert_cmpint(rg_sdes_format(&b_key, cl, sizeof(cl)), ==, 0);
	g_autofree char *sb2 = g_strdup_printf("v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
					       "m=audio %u RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\na=crypto:%s\r\n", pb, cl);
	g_autoptr(reply) a2 = ng("answer", "call-id", "sdes2", "from-tag", "A", "to-tag", "B", "sdp", sb2,
				 "transport-protocol", "RTP/AVP", NULL);
	assert_result(a2, "ok");
	g_autofree char *sa3 = rstr(a2, "sdp");
	g_assert_null(strstr(sa3, "crypto"));
	unsigned ga2 = sdp_port(sa3, 0);
	g_autofree char *gwl = crypto_of(so2, tag);
	g_assert_cmpint(rg_sdes_parse(gwl, strlen(gwl), &gw_key), ==, 0);
	g_assert_cmpint(rg_sdes_keys(&k, &b_key, &gw_key), ==, 0);
	rg_srtp *bs;
	g_assert_cmpint(rg_srtp_new(&bs, &k, true), ==, 0);
	n = mk_test_rtp(clear, 1, 0);
	send_to(fa, ga2, clear, n);                /* plain from A ... */
	r = recv(fb, got, sizeof(got), 0);        /* ... arrives at B as SRTP */
	g_assert_cmpint(r, ==, (ssize_t)n + 10);
	len = (size_t)r;
	g_assert_cmpint(rg_srtp_unprotect_rtp(bs, got, &len), ==, 0);
	g_assert_cmpmem(got, len, clear, n);
	rg_srtp_free(bs);
	rg_srtp_keys_wipe(&k);
	rg_sdes_crypto_wipe(&a_key);
	rg_sdes_crypto_wipe(&b_key);
	rg_sdes_crypto_wipe(&gw_key);
	g_autoptr(reply) d2 = ng("delete", "call-id", "sdes2", NULL);
	close(fa);
	close(fb);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	rg_log_init(true, RG_LOG_ERR, "test_ng");
	ng_port = 22000 + (getpid() % 1000);
	g_autofree char *listen = g_strdup_printf("--listen-ng=127.0.0.1:%d", ng_port);
	rg_config cfg = { 0 };
	test_engine_start(&cfg, "--config-file=none", "--interface=127.0.0.1", "--interface=ext/::1",
			  "--interface=int2/127.0.0.2", "--interface=nat/127.0.0.3!203.0.113.7", listen,
			  "--port-min=" G_STRINGIFY(PORT_MIN), "--port-max=" G_STRINGIFY(PORT_MAX),
			  "--num-threads=2", "--delete-delay=0", NULL);

	g_test_add_func("/ng/ping", test_ping);
	g_test_add_func("/ng/bad-requests", test_bad_requests);
	g_test_add_func("/ng/offer-answer-relay", test_offer_answer_relay);
	g_test_add_func("/ng/sdp-rewrite", test_sdp_rewrite);
	g_test_add_func("/ng/strict-source", test_strict_source);
	g_test_add_func("/ng/delete", test_delete_semantics);
	g_test_add_func("/ng/media-timeout", test_media_timeout);
	g_test_add_func("/ng/fork-early-media", test_fork_and_early_media);
	g_test_add_func("/ng/bridge-v4-v6", test_bridge_v4_v6);
	g_test_add_func("/ng/max-sessions", test_max_sessions);
	g_test_add_func("/ng/rtcp-quality", test_rtcp_quality);
	g_test_add_func("/ng/sdes", test_sdes);
	g_test_add_func("/ng/delete-branch", test_delete_branch);
	g_test_add_func("/ng/ports-exhausted", test_ports_exhausted);
	g_test_add_func("/ng/retransmission-cache", test_retransmission_cache);
	int ret = g_test_run();
	test_engine_stop(&cfg);
	return ret;
}
