/* Unit tests for ice/rg_ice.c: libnice agents on 127.0.0.1 whose sockets are polled by our own
 * epoll set (a miniature media worker), with libnice's timers folded into the same loop.
 * STUN requests for the credential tests are built here from scratch (RFC 5389/8445), not
 * with libnice's STUN code, so that the checks are independent of the library under test. */
#include "rg_ice.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* ------------------------------------------------------------------ mini worker */

typedef struct worker {
	int epfd;
	rg_ice_loop *loop;
	gboolean hold_socks;       /* T1: keep agent sockets out of epoll (nobody reads them) */
	GPtrArray *held;           /* rg_ice_io* held back */
	GArray *held_fds;
	unsigned ctx_fds_added;    /* fds the library registered that are not agent sockets */
	GHashTable *sock_fds;      /* fds known to be agent sockets (filled by the test) */
	GThread *thread;
	gint stop;
	GThread *self;
} worker;

static int w_add(void *ctx, int fd, uint32_t events, rg_ice_io *io)
{
	worker *w = ctx;
	if (w->hold_socks && events == EPOLLIN && w->held) {
		/* agent sockets are registered with EPOLLIN right after gathering; the context's
		 * wake-up fd is registered from rg_ice_loop_before_wait, before any agent exists */
		g_ptr_array_add(w->held, io);
		g_array_append_val(w->held_fds, fd);
		return 0;
	}
	struct epoll_event ev = { .events = events, .data.ptr = io };
	g_assert_cmpint(epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev), ==, 0);
	return 0;
}

static void w_del(void *ctx, int fd, rg_ice_io *io)
{
	worker *w = ctx;
	if (w->held)
		for (guint i = 0; i < w->held->len; i++)
			if (w->held->pdata[i] == io) {
				g_ptr_array_remove_index(w->held, i);
				g_array_remove_index(w->held_fds, i);
				return;
			}
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static const rg_ice_poll_ops w_ops = { w_add, w_del };

static void worker_init(worker *w)
{
	memset(w, 0, sizeof *w);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	g_assert_cmpint(w->epfd, >=, 0);
	w->loop = rg_ice_loop_new(&w_ops, w);
}

/* One round of the worker loop, as rtpgate's worker would run it. */
static void worker_step(worker *w, int max_ms)
{
	struct epoll_event ev[64];
	int timeout = rg_ice_loop_before_wait(w->loop, max_ms);
	int n = epoll_wait(w->epfd, ev, G_N_ELEMENTS(ev), timeout);
	for (int i = 0; i < n; i++)
		rg_ice_io_ready(ev[i].data.ptr, ev[i].events);
	rg_ice_loop_after_wait(w->loop);
}

static gpointer worker_thread(gpointer p)
{
	worker *w = p;
	w->self = g_thread_self();
	while (!g_atomic_int_get(&w->stop))
		worker_step(w, 50);
	return NULL;
}

static void worker_free(worker *w)
{
	rg_ice_loop_free(w->loop);
	close(w->epfd);
	if (w->held) {
		g_ptr_array_free(w->held, TRUE);
		g_array_free(w->held_fds, TRUE);
	}
}

/* ------------------------------------------------------------------ peers */

typedef struct peer {
	const char *name;
	rg_ice_agent *a;
	gint state[3];             /* per component, atomic */
	gint n_failed;             /* transitions to FAILED, atomic */
	gint rx;                   /* datagrams received, atomic */
	gint rx_bad;
	GThread *rx_thread;
	GMutex lock;
	GPtrArray *got;            /* GBytes of what arrived (when keep_rx) */
	gboolean keep_rx;
	gboolean log_states;
} peer;

static void p_recv(rg_ice_agent *a, unsigned comp, const rg_ice_pkt *pkts, unsigned n, void *ud)
{
	peer *p = ud;
	p->rx_thread = g_thread_self();
	for (unsigned i = 0; i < n; i++) {
		/* STUN must never get here: first byte 0..3 (RFC 7983) */
		if (pkts[i].len == 0 || pkts[i].buf[0] < 4)
			g_atomic_int_inc(&p->rx_bad);
		if (p->keep_rx) {
			g_mutex_lock(&p->lock);
			g_ptr_array_add(p->got, g_bytes_new(pkts[i].buf, pkts[i].len));
			g_mutex_unlock(&p->lock);
		}
	}
	g_atomic_int_add(&p->rx, (gint)n);
}

static void p_state(rg_ice_agent *a, unsigned comp, rg_ice_state st, void *ud)
{
	peer *p = ud;
	if (p->log_states)
		g_test_message("%s: component %u -> %s", p->name, comp, rg_ice_state_name(st));
	if (comp < 3)
		g_atomic_int_set(&p->state[comp], (gint)st);
	if (st == RG_ICE_FAILED)
		g_atomic_int_inc(&p->n_failed);
}

static const rg_ice_callbacks p_cb = { p_recv, p_state };

static void peer_new(peer *p, const char *name, worker *w, rg_ice_cfg cfg)
{
	memset(p, 0, sizeof *p);
	p->name = name;
	p->log_states = TRUE;
	g_mutex_init(&p->lock);
	p->got = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	if (!cfg.bind_addr)
		cfg.bind_addr = "127.0.0.1";
	char *err = NULL;
	p->a = rg_ice_agent_new(w->loop, &cfg, &p_cb, p, &err);
	g_assert_null(err);
	g_assert_nonnull(p->a);
	if (rg_ice_gather(p->a, &err) != 0)
		g_error("%s: %s", name, err ? err : "gathering failed");
	g_assert_null(err);
}

static void peer_free(peer *p)
{
	if (p->a)
		rg_ice_agent_retire(p->a);
	p->a = NULL;
	g_ptr_array_free(p->got, TRUE);
	g_mutex_clear(&p->lock);
}

/* Signalling: what an offer/answer carries from `from` to `to`. */
static int give_credentials(peer *from, peer *to)
{
	char *u, *pw;
	rg_ice_local_credentials(from->a, &u, &pw);
	int r = rg_ice_set_remote_credentials(to->a, u, pw);
	g_free(u);
	g_free(pw);
	return r;
}

static void give_candidates(peer *from, peer *to)
{
	char **c = rg_ice_local_candidates(from->a);
	g_assert_cmpuint(g_strv_length(c), >=, 1);
	for (char **i = c; *i; i++)
		g_assert_cmpint(rg_ice_add_remote_candidate(to->a, *i), ==, 1);
	g_strfreev(c);
}

static gboolean both_ready(peer *a, peer *b)
{
	return g_atomic_int_get(&a->state[1]) == RG_ICE_READY &&
	       g_atomic_int_get(&b->state[1]) == RG_ICE_READY;
}

typedef gboolean (*cond_fn)(gpointer);

static gboolean run_until(worker *w, cond_fn cond, gpointer arg, int timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	while (g_get_monotonic_time() < end) {
		if (cond && cond(arg))
			return TRUE;
		worker_step(w, 10);
	}
	return cond ? cond(arg) : TRUE;
}

typedef struct { peer *a, *b; gint want_a, want_b; } pair_arg;

static gboolean cond_ready(gpointer p)
{
	pair_arg *x = p;
	return both_ready(x->a, x->b);
}

static gboolean cond_rx(gpointer p)
{
	pair_arg *x = p;
	return g_atomic_int_get(&x->a->rx) >= x->want_a && g_atomic_int_get(&x->b->rx) >= x->want_b;
}

static void send_one(peer *p, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };
	g_assert_cmpint(rg_ice_send(p->a, 1, &v, 1), ==, 1);
}

static void connect_and_wait(worker *w, peer *a, peer *b)
{
	g_assert_cmpint(give_credentials(a, b), ==, 0);
	g_assert_cmpint(give_credentials(b, a), ==, 0);
	give_candidates(a, b);
	give_candidates(b, a);
	pair_arg x = { a, b, 0, 0 };
	g_assert_true(run_until(w, cond_ready, &x, 10000));
}

static void exchange_data(worker *w, peer *a, peer *b, int n)
{
	a->keep_rx = b->keep_rx = TRUE;
	gint a0 = g_atomic_int_get(&a->rx), b0 = g_atomic_int_get(&b->rx);
	g_ptr_array_set_size(a->got, 0);
	g_ptr_array_set_size(b->got, 0);
	for (int i = 0; i < n; i++) {
		uint8_t buf[1200];
		size_t len = 20 + (size_t)(i * 37) % 1100;
		memset(buf, i & 0xff, len);
		buf[0] = (i & 1) ? 0x80 : 22;   /* RTP-like and DTLS-like first bytes */
		send_one(a, buf, len);
		buf[0] = (i & 1) ? 22 : 0x80;
		send_one(b, buf, len);
		if (i % 16 == 15)
			worker_step(w, 0);
	}
	pair_arg x = { a, b, a0 + n, b0 + n };
	g_assert_true(run_until(w, cond_rx, &x, 5000));
	g_assert_cmpint(g_atomic_int_get(&a->rx_bad), ==, 0);
	g_assert_cmpint(g_atomic_int_get(&b->rx_bad), ==, 0);
	/* loopback keeps order: check contents */
	for (int i = 0; i < n; i++) {
		size_t len = 20 + (size_t)(i * 37) % 1100;
		gsize glen;
		const uint8_t *got = g_bytes_get_data(b->got->pdata[i], &glen);
		g_assert_cmpuint(glen, ==, len);
		g_assert_cmpuint(got[0], ==, (i & 1) ? 0x80 : 22);
		g_assert_cmpuint(got[len - 1], ==, (uint8_t)(i & 0xff));
		got = g_bytes_get_data(a->got->pdata[i], &glen);
		g_assert_cmpuint(glen, ==, len);
		g_assert_cmpuint(got[0], ==, (i & 1) ? 22 : 0x80);
	}
	a->keep_rx = b->keep_rx = FALSE;
}

/* ------------------------------------------------------------------ tests */

/* (a): with no reader, libnice leaves its sockets alone: our timer context holds no socket fds,
 * the peer's checks pile up unread in the kernel, ICE does not complete. Once the sockets go
 * into our epoll set, the queued checks are answered and ICE completes. */
static void test_no_reader_then_epoll(void)
{
	worker w;
	worker_init(&w);
	rg_ice_loop_before_wait(w.loop, 0);   /* registers the context's wake-up fd */
	rg_ice_loop_after_wait(w.loop);
	w.hold_socks = TRUE;
	w.held = g_ptr_array_new();
	w.held_fds = g_array_new(FALSE, FALSE, sizeof(int));

	peer a, b;
	peer_new(&a, "A", &w, (rg_ice_cfg){ .controlling = true });
	peer_new(&b, "B", &w, (rg_ice_cfg){ .controlling = false });
	g_assert_cmpuint(w.held->len, ==, 2);
	g_assert_cmpint(give_credentials(&a, &b), ==, 0);
	g_assert_cmpint(give_credentials(&b, &a), ==, 0);
	give_candidates(&a, &b);
	give_candidates(&b, &a);

	/* Drive only the timers for 1.5 s. */
	run_until(&w, NULL, NULL, 1500);
	g_assert_cmpint(g_atomic_int_get(&a.state[1]), !=, RG_ICE_READY);
	g_assert_cmpint(g_atomic_int_get(&b.state[1]), !=, RG_ICE_READY);
	int queued = 0, total = 0;
	for (guint i = 0; i < w.held_fds->len; i++) {
		int fd = g_array_index(w.held_fds, int, i);
		g_assert_cmpint(ioctl(fd, FIONREAD, &queued), ==, 0);
		total += queued;
	}
	g_test_message("no reader: %d bytes of STUN waiting unread in the two sockets", total);
	g_assert_cmpint(total, >, 0);

	/* Hand the sockets to epoll: the worker reads, libnice answers, ICE completes. */
	w.hold_socks = FALSE;
	while (w.held->len) {
		rg_ice_io *io = w.held->pdata[0];
		int fd = g_array_index(w.held_fds, int, 0);
		g_ptr_array_remove_index(w.held, 0);
		g_array_remove_index(w.held_fds, 0);
		w_add(&w, fd, EPOLLIN, io);
	}
	pair_arg x = { &a, &b, 0, 0 };
	gint64 t0 = g_get_monotonic_time();
	g_assert_true(run_until(&w, cond_ready, &x, 10000));
	g_test_message("after handing the sockets to epoll: READY in %.0f ms",
	               (g_get_monotonic_time() - t0) / 1000.0);
	exchange_data(&w, &a, &b, 50);
	peer_free(&a);
	peer_free(&b);
	worker_free(&w);
}

/* The timer context carries no socket: only its own wake-up fd is ever registered. */
typedef struct {
	worker w;
	guint ctx_adds;
	GHashTable *sockfds;
} count_worker;

static int cw_add(void *ctx, int fd, uint32_t events, rg_ice_io *io)
{
	count_worker *c = ctx;
	if (!g_hash_table_contains(c->sockfds, GINT_TO_POINTER(fd)))
		c->ctx_adds++;
	return w_add(&c->w, fd, events, io);
}

static void cw_del(void *ctx, int fd, rg_ice_io *io)
{
	count_worker *c = ctx;
	w_del(&c->w, fd, io);
}

static const rg_ice_poll_ops cw_ops = { cw_add, cw_del };

static void test_full_full(void)
{
	count_worker cw;
	memset(&cw, 0, sizeof cw);
	cw.w.epfd = epoll_create1(EPOLL_CLOEXEC);
	cw.sockfds = g_hash_table_new(g_direct_hash, g_direct_equal);
	cw.w.loop = rg_ice_loop_new(&cw_ops, &cw);
	worker *w = &cw.w;
	rg_ice_loop_before_wait(w->loop, 0);
	rg_ice_loop_after_wait(w->loop);

	peer a, b;
	/* sockets are registered right after gathering: mark their fds as sockets first */
	peer_new(&a, "A", w, (rg_ice_cfg){ .controlling = true, .port_min = 40000, .port_max = 40999 });
	peer_new(&b, "B", w, (rg_ice_cfg){ .controlling = false, .port_min = 40000, .port_max = 40999 });
	int fds[8];
	unsigned nf = rg_ice_fds(a.a, fds, 8);
	nf += rg_ice_fds(b.a, fds + nf, 8 - nf);
	g_assert_cmpuint(nf, ==, 2);
	for (unsigned i = 0; i < nf; i++)
		g_hash_table_add(cw.sockfds, GINT_TO_POINTER(fds[i]));
	/* the two sockets were counted as non-socket adds before we knew their fds */
	g_assert_cmpuint(cw.ctx_adds - nf, ==, 1);
	connect_and_wait(w, &a, &b);
	g_test_message("fds registered besides the agents' sockets: %u (the context's wake-up fd)",
	               cw.ctx_adds - nf);
	g_assert_cmpuint(cw.ctx_adds - nf, ==, 1);

	char **c = rg_ice_local_candidates(a.a);
	g_test_message("A candidate: %s", c[0]);
	g_assert_nonnull(strstr(c[0], "127.0.0.1"));
	unsigned port = 0;
	sscanf(strstr(c[0], "127.0.0.1") + 10, "%u", &port);
	g_assert_cmpuint(port, >=, 40000);
	g_assert_cmpuint(port, <=, 40999);
	g_strfreev(c);

	exchange_data(w, &a, &b, 200);
	g_assert_true(a.rx_thread == g_thread_self());   /* data callbacks: the worker thread */

	int sfd;
	struct sockaddr_storage peer_addr;
	g_assert_cmpint(rg_ice_selected(a.a, 1, &sfd, &peer_addr), ==, 0);
	g_assert_cmpint(sfd, ==, fds[0]);
	g_assert_cmpint(peer_addr.ss_family, ==, AF_INET);

	peer_free(&a);
	peer_free(&b);
	rg_ice_loop_free(w->loop);
	close(w->epfd);
	g_hash_table_destroy(cw.sockfds);
}

/* A full controlling agent (the browser's role) against our ICE-lite agent. */
static void test_full_lite(void)
{
	worker w;
	worker_init(&w);
	peer br, gw;
	peer_new(&br, "browser", &w, (rg_ice_cfg){ .controlling = true });
	peer_new(&gw, "lite", &w, (rg_ice_cfg){ .mode = RG_ICE_LITE, .controlling = true /* ignored */ });
	connect_and_wait(&w, &br, &gw);
	exchange_data(&w, &br, &gw, 100);
	peer_free(&br);
	peer_free(&gw);
	worker_free(&w);
}

/* Remote candidates trickled after the credentials, then a=end-of-candidates; and the 1:1 NAT
 * advertised address written into our candidates. */
static void test_trickle_and_advertised(void)
{
	worker w;
	worker_init(&w);
	peer a, b;
	peer_new(&a, "A", &w, (rg_ice_cfg){ .controlling = true, .trickle = true });
	peer_new(&b, "B", &w, (rg_ice_cfg){ .controlling = false, .trickle = true });
	g_assert_cmpint(give_credentials(&a, &b), ==, 0);
	g_assert_cmpint(give_credentials(&b, &a), ==, 0);
	run_until(&w, NULL, NULL, 300);
	g_assert_cmpint(g_atomic_int_get(&a.state[1]), !=, RG_ICE_READY);
	/* malformed and ignorable candidates */
	g_assert_cmpint(rg_ice_add_remote_candidate(b.a, "candidate:garbage"), ==, -1);
	g_assert_cmpint(rg_ice_add_remote_candidate(b.a,
	    "candidate:1 1 UDP 2122252543 4f1c2d3e-aaaa-bbbb-cccc-0123456789ab.local 50000 typ host"), ==, 0);
	g_assert_cmpint(rg_ice_add_remote_candidate(b.a,
	    "candidate:2 1 TCP 1518280447 127.0.0.1 9 typ host tcptype active"), ==, 0);
	give_candidates(&a, &b);
	rg_ice_end_of_candidates(b.a);
	give_candidates(&b, &a);
	rg_ice_end_of_candidates(a.a);
	pair_arg x = { &a, &b, 0, 0 };
	g_assert_true(run_until(&w, cond_ready, &x, 10000));
	exchange_data(&w, &a, &b, 20);

	peer n;
	peer_new(&n, "nat", &w, (rg_ice_cfg){ .advertised = "203.0.113.7" });
	char **c = rg_ice_local_candidates(n.a);
	g_test_message("advertised: %s", c[0]);
	g_assert_nonnull(strstr(c[0], " 203.0.113.7 "));
	g_assert_null(strstr(c[0], "127.0.0.1"));
	g_assert_true(g_str_has_prefix(c[0], "candidate:"));
	g_strfreev(c);

	peer_free(&n);
	peer_free(&a);
	peer_free(&b);
	worker_free(&w);
}

/* ICE restart on a re-offer: new ufrag/pwd on both sides, the sockets (and so the epoll set)
 * stay, media keeps flowing on the old pair during the restart, a new pair is nominated. */
static void test_restart(void)
{
	worker w;
	worker_init(&w);
	peer a, b;
	peer_new(&a, "A", &w, (rg_ice_cfg){ .controlling = true });
	peer_new(&b, "B", &w, (rg_ice_cfg){ .controlling = false });
	connect_and_wait(&w, &a, &b);
	exchange_data(&w, &a, &b, 10);

	int fds0[4], fds1[4];
	unsigned n0 = rg_ice_fds(a.a, fds0, 4);
	char *ua0, *pa0, *ub0, *pb0;
	rg_ice_local_credentials(a.a, &ua0, &pa0);
	rg_ice_local_credentials(b.a, &ub0, &pb0);

	/* A re-offers with an ICE restart */
	g_assert_cmpint(rg_ice_restart(a.a), ==, 0);
	char *ua1, *pa1;
	rg_ice_local_credentials(a.a, &ua1, &pa1);
	g_assert_cmpstr(ua0, !=, ua1);
	g_assert_cmpstr(pa0, !=, pa1);
	/* B sees new credentials in the offer: restart detected, B restarts too */
	g_assert_cmpint(give_credentials(&a, &b), ==, 1);
	char *ub1, *pb1;
	rg_ice_local_credentials(b.a, &ub1, &pb1);
	g_assert_cmpstr(ub0, !=, ub1);
	/* the old selected pair still carries media while the new checks run */
	exchange_data(&w, &a, &b, 10);
	/* B's answer */
	g_assert_cmpint(give_credentials(&b, &a), ==, 0);
	g_atomic_int_set(&a.state[1], RG_ICE_CONNECTING);
	g_atomic_int_set(&b.state[1], RG_ICE_CONNECTING);
	give_candidates(&a, &b);
	give_candidates(&b, &a);
	pair_arg x = { &a, &b, 0, 0 };
	g_assert_true(run_until(&w, cond_ready, &x, 10000));
	exchange_data(&w, &a, &b, 50);

	unsigned n1 = rg_ice_fds(a.a, fds1, 4);
	g_assert_cmpuint(n0, ==, n1);
	g_assert_cmpint(fds0[0], ==, fds1[0]);

	g_free(ua0); g_free(pa0); g_free(ub0); g_free(pb0);
	g_free(ua1); g_free(pa1); g_free(ub1); g_free(pb1);
	peer_free(&a);
	peer_free(&b);
	worker_free(&w);
}

/* ------------------------------------------------------------------ raw STUN (own codec) */

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
	static uint32_t table[256];
	static gsize once = 0;
	if (g_once_init_enter(&once)) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		g_once_init_leave(&once, 1);
	}
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++)
		c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

typedef struct { uint8_t b[548]; size_t len; } stun_msg;

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void stun_init(stun_msg *m, uint16_t type, const uint8_t txid[12])
{
	memset(m, 0, sizeof *m);
	put16(m->b, type);
	put32(m->b + 4, 0x2112A442);
	memcpy(m->b + 8, txid, 12);
	m->len = 20;
}

static void stun_attr(stun_msg *m, uint16_t type, const void *v, size_t n)
{
	put16(m->b + m->len, type);
	put16(m->b + m->len + 2, (uint16_t)n);
	if (n)
		memcpy(m->b + m->len + 4, v, n);
	m->len += 4 + ((n + 3) & ~(size_t)3);
	put16(m->b + 2, (uint16_t)(m->len - 20));
}

static void stun_integrity(stun_msg *m, const char *key)
{
	/* MESSAGE-INTEGRITY: HMAC-SHA1 over the message with the length counting the MI attribute */
	put16(m->b + 2, (uint16_t)(m->len - 20 + 24));
	uint8_t mac[20];
	gsize maclen = sizeof mac;
	GHmac *h = g_hmac_new(G_CHECKSUM_SHA1, (const guchar *)key, strlen(key));
	g_hmac_update(h, m->b, m->len);
	g_hmac_get_digest(h, mac, &maclen);
	g_hmac_unref(h);
	stun_attr(m, 0x0008, mac, 20);
}

static void stun_fingerprint(stun_msg *m)
{
	/* FINGERPRINT: CRC-32 with the length counting the fingerprint, XOR 0x5354554e */
	put16(m->b + 2, (uint16_t)(m->len - 20 + 8));
	uint32_t crc = crc32_ieee(m->b, m->len) ^ 0x5354554eu;
	uint8_t v[4];
	put32(v, crc);
	stun_attr(m, 0x8028, v, 4);
}

static void stun_integrity_fingerprint(stun_msg *m, const char *key)
{
	stun_integrity(m, key);
	stun_fingerprint(m);
}

static void binding_request(stun_msg *m, const uint8_t txid[12], const char *username,
                            const char *key, gboolean controlling, gboolean use_candidate)
{
	stun_init(m, 0x0001, txid);
	stun_attr(m, 0x0006, username, strlen(username));
	uint8_t prio[4];
	put32(prio, 0x6e7f1eff);   /* a peer-reflexive priority */
	stun_attr(m, 0x0024, prio, 4);
	uint8_t tb[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	stun_attr(m, controlling ? 0x802A : 0x8029, tb, 8);
	if (use_candidate)
		stun_attr(m, 0x0025, NULL, 0);
	stun_integrity_fingerprint(m, key);
}

/* Reads datagrams from fd for up to ms while stepping the worker. Returns the message type of
 * the first STUN message matching txid (or with any txid when txid is NULL), 0 if none. */
static uint16_t raw_wait(worker *w, int fd, const uint8_t *txid, int ms, uint8_t *out, size_t *outlen,
                         uint16_t *error_code)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
	while (g_get_monotonic_time() < end) {
		worker_step(w, 5);
		uint8_t buf[1500];
		ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 20)
			continue;
		if (txid && memcmp(buf + 8, txid, 12) != 0)
			continue;
		uint16_t type = get16(buf);
		if (error_code) {
			*error_code = 0;
			for (size_t off = 20; off + 4 <= (size_t)n;) {
				uint16_t at = get16(buf + off), al = get16(buf + off + 2);
				if (at == 0x0009 && al >= 4)
					*error_code = (uint16_t)(buf[off + 6] * 100 + buf[off + 7]);
				off += 4 + ((al + 3u) & ~3u);
			}
		}
		if (out) {
			memcpy(out, buf, (size_t)n);
			*outlen = (size_t)n;
		}
		return type;
	}
	return 0;
}

/* Short-term credentials are checked on every request: a Binding request with a wrong password
 * (or wrong ufrag) gets a 401 and nothing else (no peer-reflexive candidate, no triggered check,
 * no nomination); the same request with the right password gets a success response and a
 * triggered check back, and once we answer that, the agent (controlled) nominates: READY. */
static void test_credentials(void)
{
	worker w;
	worker_init(&w);
	peer g;
	peer_new(&g, "gw", &w, (rg_ice_cfg){ .controlling = false });
	g_assert_cmpint(rg_ice_set_remote_credentials(g.a, "rawU", "rawpassword0123456789012"), ==, 0);
	char *lu, *lp;
	rg_ice_local_credentials(g.a, &lu, &lp);

	/* where the agent listens */
	int gfd;
	g_assert_cmpuint(rg_ice_fds(g.a, &gfd, 1), ==, 1);
	struct sockaddr_in ga;
	socklen_t gl = sizeof ga;
	g_assert_cmpint(getsockname(gfd, (struct sockaddr *)&ga, &gl), ==, 0);

	int r = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in ra = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	g_assert_cmpint(bind(r, (struct sockaddr *)&ra, sizeof ra), ==, 0);
	g_assert_cmpint(connect(r, (struct sockaddr *)&ga, sizeof ga), ==, 0);

	char *uname = g_strdup_printf("%s:rawU", lu);
	char *bad_uname = g_strdup_printf("Z%s:rawU", lu);
	stun_msg m;
	uint16_t ec = 0;

	/* 1. wrong password, with USE-CANDIDATE */
	uint8_t tx1[12] = "txid-bad-pw";
	binding_request(&m, tx1, uname, "not-the-password-at-all", TRUE, TRUE);
	g_assert_cmpint(send(r, m.b, m.len, 0), ==, (ssize_t)m.len);
	uint16_t t = raw_wait(&w, r, tx1, 400, NULL, NULL, &ec);
	g_test_message("wrong password: response type 0x%04x error %u", t, ec);
	g_assert_cmpuint(t, !=, 0x0101);
	g_assert_true(t == 0 || (t == 0x0111 && ec == 401));
	/* nothing else comes back: no triggered check towards us */
	g_assert_cmpuint(raw_wait(&w, r, NULL, 600, NULL, NULL, NULL), ==, 0);
	g_assert_cmpint(g_atomic_int_get(&g.state[1]), <, RG_ICE_CONNECTED);

	/* 2. a different local ufrag, right password */
	uint8_t tx2[12] = "txid-bad-uf";
	binding_request(&m, tx2, bad_uname, lp, TRUE, TRUE);
	send(r, m.b, m.len, 0);
	t = raw_wait(&w, r, tx2, 400, NULL, NULL, &ec);
	g_test_message("wrong ufrag: response type 0x%04x error %u", t, ec);
	g_assert_cmpuint(t, !=, 0x0101);
	g_assert_true(t == 0 || (t == 0x0111 && ec == 401));
	g_assert_cmpuint(raw_wait(&w, r, NULL, 300, NULL, NULL, NULL), ==, 0);
	g_assert_cmpint(g_atomic_int_get(&g.state[1]), <, RG_ICE_CONNECTED);

	/* 3. the right credentials: success, then a triggered check comes back to us */
	uint8_t tx3[12] = "txid-good-1";
	binding_request(&m, tx3, uname, lp, TRUE, TRUE);
	send(r, m.b, m.len, 0);
	t = raw_wait(&w, r, tx3, 400, NULL, NULL, &ec);
	g_test_message("right credentials: response type 0x%04x", t);
	g_assert_cmpuint(t, ==, 0x0101);
	uint8_t req[1500];
	size_t reqlen = 0;
	t = raw_wait(&w, r, NULL, 2000, req, &reqlen, NULL);
	g_assert_cmpuint(t, ==, 0x0001);   /* the agent's triggered check on the new prflx pair */
	/* answer it: success, XOR-MAPPED-ADDRESS = the agent's address, keyed with our password */
	stun_msg resp;
	stun_init(&resp, 0x0101, req + 8);
	uint8_t xma[8] = { 0, 1 };
	put16(xma + 2, ntohs(ga.sin_port) ^ 0x2112);
	put32(xma + 4, ntohl(ga.sin_addr.s_addr) ^ 0x2112A442u);
	stun_attr(&resp, 0x0020, xma, 8);
	stun_integrity_fingerprint(&resp, "rawpassword0123456789012");
	send(r, resp.b, resp.len, 0);
	gint64 t0 = g_get_monotonic_time();
	while (g_atomic_int_get(&g.state[1]) != RG_ICE_READY && g_get_monotonic_time() - t0 < 3000000) {
		worker_step(&w, 5);
		uint8_t junk[1500];
		while (recv(r, junk, sizeof junk, MSG_DONTWAIT) > 0)
			;   /* further checks / keepalives from the agent */
	}
	g_assert_cmpint(g_atomic_int_get(&g.state[1]), ==, RG_ICE_READY);

	close(r);
	g_free(uname);
	g_free(bad_uname);
	g_free(lu);
	g_free(lp);
	peer_free(&g);
	worker_free(&w);
}


/* Observation, not a requirement: libnice 0.1.21 matches the USERNAME only by the local ufrag as a
 * prefix and does not look at the remote half; MESSAGE-INTEGRITY (the password) is what it
 * enforces. Logged for ice/DESIGN.md. */
static void test_username_laxness(void)
{
	worker w;
	worker_init(&w);
	const char *variants[] = { "%sX:rawU", "%s:someoneelse" };
	for (unsigned v = 0; v < G_N_ELEMENTS(variants); v++) {
		peer g;
		peer_new(&g, "gw", &w, (rg_ice_cfg){ .controlling = false });
		g.log_states = FALSE;
		rg_ice_set_remote_credentials(g.a, "rawU", "rawpassword0123456789012");
		char *lu, *lp;
		rg_ice_local_credentials(g.a, &lu, &lp);
		int gfd;
		rg_ice_fds(g.a, &gfd, 1);
		struct sockaddr_in ga;
		socklen_t gl = sizeof ga;
		getsockname(gfd, (struct sockaddr *)&ga, &gl);
		int r = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		connect(r, (struct sockaddr *)&ga, sizeof ga);
		G_GNUC_BEGIN_IGNORE_DEPRECATIONS
		char *uname = g_strdup_printf(variants[v], lu);
		G_GNUC_END_IGNORE_DEPRECATIONS
		stun_msg m;
		uint8_t tx[12] = "txid-lax-00";
		binding_request(&m, tx, uname, lp, TRUE, FALSE);
		send(r, m.b, m.len, 0);
		uint16_t ec = 0, t = raw_wait(&w, r, tx, 400, NULL, NULL, &ec);
		g_test_message("USERNAME '%s' (local ufrag '%s'), right password: response 0x%04x%s", uname, lu,
		               t, t == 0x0101 ? " (accepted)" : "");
		close(r);
		g_free(uname);
		g_free(lu);
		g_free(lp);
		peer_free(&g);
	}
	worker_free(&w);
}

/* ------------------------------------------------------------------ bad STUN */

#define BAD_LUFRAG "gwUF"
#define BAD_LPWD "gatewayPassword0123456789"
#define BAD_RUFRAG "rawU"
#define BAD_RPWD "rawpassword0123456789012"

/* A Binding request as binding_request() makes it, with parts left out or spoiled. */
typedef enum { SPOIL_NONE, SPOIL_MI_BIT, SPOIL_FP_BIT, SPOIL_NO_MI, SPOIL_NO_USERNAME, SPOIL_NO_FP,
               SPOIL_TRUNCATED } spoil;

static size_t spoiled_request(stun_msg *m, const uint8_t txid[12], const char *key, spoil how)
{
	stun_init(m, 0x0001, txid);
	if (how != SPOIL_NO_USERNAME)
		stun_attr(m, 0x0006, BAD_LUFRAG ":" BAD_RUFRAG, strlen(BAD_LUFRAG ":" BAD_RUFRAG));
	uint8_t prio[4];
	put32(prio, 0x6e7f1eff);
	stun_attr(m, 0x0024, prio, 4);
	uint8_t tb[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	stun_attr(m, 0x802A, tb, 8);   /* ICE-CONTROLLING */
	stun_attr(m, 0x0025, NULL, 0); /* USE-CANDIDATE */
	if (how != SPOIL_NO_MI) {
		stun_integrity(m, key);
		if (how == SPOIL_MI_BIT)
			m->b[m->len - 1] ^= 0x01;   /* the FINGERPRINT below is computed over the spoiled MAC */
	}
	if (how != SPOIL_NO_FP)
		stun_fingerprint(m);
	if (how == SPOIL_FP_BIT)
		m->b[m->len - 1] ^= 0x01;
	return how == SPOIL_TRUNCATED ? m->len - 6 : m->len;
}

typedef struct {
	worker w;
	peer g;
	int r;                     /* the raw peer's socket, connected to the agent */
	struct sockaddr_in ga;
} bad_fx;

/* The agent rtpgate would run for a browser's offer: controlled, full, remote credentials set;
 * fixed local credentials (rg_ice_set_local_credentials) so that requests can be keyed here. */
static void bad_fx_init(bad_fx *f)
{
	worker_init(&f->w);
	peer_new(&f->g, "gw", &f->w, (rg_ice_cfg){ .controlling = false });
	g_assert_cmpint(rg_ice_set_local_credentials(f->g.a, BAD_LUFRAG, BAD_LPWD), ==, 0);
	char *lu, *lp;
	rg_ice_local_credentials(f->g.a, &lu, &lp);
	g_assert_cmpstr(lu, ==, BAD_LUFRAG);
	g_assert_cmpstr(lp, ==, BAD_LPWD);
	g_free(lu);
	g_free(lp);
	g_assert_cmpint(rg_ice_set_remote_credentials(f->g.a, BAD_RUFRAG, BAD_RPWD), ==, 0);
	int gfd;
	g_assert_cmpuint(rg_ice_fds(f->g.a, &gfd, 1), ==, 1);
	socklen_t gl = sizeof f->ga;
	g_assert_cmpint(getsockname(gfd, (struct sockaddr *)&f->ga, &gl), ==, 0);
	f->r = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in ra = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	g_assert_cmpint(bind(f->r, (struct sockaddr *)&ra, sizeof ra), ==, 0);
	g_assert_cmpint(connect(f->r, (struct sockaddr *)&f->ga, sizeof f->ga), ==, 0);
}

static void bad_fx_free(bad_fx *f)
{
	close(f->r);
	peer_free(&f->g);
	worker_free(&f->w);
}

/* Sends a request spoiled `how`; returns the type of the response to it (0: none) and its error
 * code. Whatever the answer, nothing else may follow: no triggered check towards the sender (it
 * would mean the request created a peer-reflexive candidate), no data delivered, no progress. */
static uint16_t send_spoiled(bad_fx *f, const char *key, spoil how, const char *what, uint16_t *ec)
{
	static unsigned n;
	uint8_t tx[12];
	memset(tx, 0, sizeof tx);
	snprintf((char *)tx, sizeof tx, "bad-%07u", n++);
	stun_msg m;
	size_t len = spoiled_request(&m, tx, key, how);
	g_assert_cmpint(send(f->r, m.b, len, 0), ==, (ssize_t)len);
	*ec = 0;
	uint16_t t = raw_wait(&f->w, f->r, tx, 300, NULL, NULL, ec);
	g_test_message("%s: response 0x%04x, error %u", what, t, *ec);
	g_assert_cmpuint(t, !=, 0x0101);
	g_assert_cmpuint(raw_wait(&f->w, f->r, NULL, 300, NULL, NULL, NULL), ==, 0);
	g_assert_cmpint(g_atomic_int_get(&f->g.state[1]), <, RG_ICE_CONNECTED);
	g_assert_cmpint(g_atomic_int_get(&f->g.rx), ==, 0);
	return t;
}

/* Every integrity check libnice does on a request, one spoiled at a time, from a source that is
 * not a remote candidate (a browser's first check comes from a peer-reflexive address, like
 * this): a bad MESSAGE-INTEGRITY (one bit, or keyed with the wrong side's password) gets a 401;
 * a bad FINGERPRINT, a truncated message, a request without MESSAGE-INTEGRITY or without USERNAME
 * gets nothing or an error, never a success; none of them creates a candidate, a triggered check,
 * a state change or a datagram for the application. The unspoiled request then succeeds: the
 * agent was able to connect all along. rg_ice exposes no counter of rejected STUN (libnice keeps
 * none that it exports); the response codes are what can be observed. */
static void test_bad_stun(void)
{
	bad_fx f;
	bad_fx_init(&f);
	uint16_t ec, t;

	t = send_spoiled(&f, BAD_LPWD, SPOIL_MI_BIT, "MESSAGE-INTEGRITY one bit off", &ec);
	g_assert_true(t == 0x0111 && ec == 401);
	t = send_spoiled(&f, BAD_RPWD, SPOIL_NONE, "MESSAGE-INTEGRITY keyed with the remote password", &ec);
	g_assert_true(t == 0x0111 && ec == 401);
	t = send_spoiled(&f, "", SPOIL_NONE, "MESSAGE-INTEGRITY keyed with an empty password", &ec);
	g_assert_true(t == 0x0111 && ec == 401);
	t = send_spoiled(&f, BAD_LPWD, SPOIL_FP_BIT, "FINGERPRINT one bit off", &ec);
	g_assert_cmpuint(t, ==, 0);   /* not STUN (RFC 5389 8): dropped without an answer */
	t = send_spoiled(&f, BAD_LPWD, SPOIL_TRUNCATED, "truncated", &ec);
	g_assert_cmpuint(t, ==, 0);
	/* RFC 5389 10.1.2: a request without MESSAGE-INTEGRITY or USERNAME gets a 400 */
	t = send_spoiled(&f, BAD_LPWD, SPOIL_NO_MI, "no MESSAGE-INTEGRITY", &ec);
	g_assert_true(t == 0x0111 && ec == 400);
	t = send_spoiled(&f, BAD_LPWD, SPOIL_NO_USERNAME, "no USERNAME", &ec);
	g_assert_true(t == 0x0111 && ec == 400);

	/* the same request, unspoiled: success, and the agent's triggered check follows */
	uint8_t tx[12] = "good-req-00";
	stun_msg m;
	size_t len = spoiled_request(&m, tx, BAD_LPWD, SPOIL_NONE);
	send(f.r, m.b, len, 0);
	g_assert_cmpuint(raw_wait(&f.w, f.r, tx, 400, NULL, NULL, &ec), ==, 0x0101);
	g_assert_cmpuint(raw_wait(&f.w, f.r, NULL, 2000, NULL, NULL, NULL), ==, 0x0001);
	bad_fx_free(&f);
}

/* Answers a check of the agent (buffer req) with success, keyed with the remote password. */
static void answer_check(bad_fx *f, const uint8_t *req)
{
	stun_msg resp;
	stun_init(&resp, 0x0101, req + 8);
	uint8_t xma[8] = { 0, 1 };
	put16(xma + 2, ntohs(f->ga.sin_port) ^ 0x2112);
	put32(xma + 4, ntohl(f->ga.sin_addr.s_addr) ^ 0x2112A442u);
	stun_attr(&resp, 0x0020, xma, 8);
	stun_integrity_fingerprint(&resp, BAD_RPWD);
	send(f->r, resp.b, resp.len, 0);
}

/* Once connected (the raw peer is a validated source, the pair is selected), spoiled STUN from
 * that same source still changes nothing: the agent stays READY, answers nothing with success,
 * and what it hands to the application, if anything, is the datagram unchanged with a first
 * octet in 0..3, which rtpgate's RFC 7983 demultiplexer drops as STUN. Data keeps flowing.
 * (libnice 0.1.21 does hand over a message whose FINGERPRINT is wrong, or which is truncated,
 * from a validated source: "passed fast STUN validation but failed slow validation".) */
static void test_bad_stun_connected(void)
{
	bad_fx f;
	bad_fx_init(&f);
	f.g.keep_rx = TRUE;
	uint8_t tx[12] = "good-req-01", req[1500];
	size_t reqlen = 0;
	stun_msg m;
	uint16_t ec;
	size_t len = spoiled_request(&m, tx, BAD_LPWD, SPOIL_NONE);
	send(f.r, m.b, len, 0);
	g_assert_cmpuint(raw_wait(&f.w, f.r, tx, 400, NULL, NULL, &ec), ==, 0x0101);
	g_assert_cmpuint(raw_wait(&f.w, f.r, NULL, 2000, req, &reqlen, NULL), ==, 0x0001);
	answer_check(&f, req);
	gint64 t0 = g_get_monotonic_time();
	while (g_atomic_int_get(&f.g.state[1]) != RG_ICE_READY && g_get_monotonic_time() - t0 < 3000000) {
		worker_step(&f.w, 5);
		uint8_t junk[1500];
		ssize_t n;
		while ((n = recv(f.r, junk, sizeof junk, MSG_DONTWAIT)) > 0)
			if (n >= 20 && get16(junk) == 0x0001)
				answer_check(&f, junk);   /* the nomination check, if any */
	}
	g_assert_cmpint(g_atomic_int_get(&f.g.state[1]), ==, RG_ICE_READY);

	static const spoil spoils[] = { SPOIL_MI_BIT, SPOIL_FP_BIT, SPOIL_NO_MI, SPOIL_NO_USERNAME, SPOIL_TRUNCATED };
	static const char *const names[] = { "MI bit", "FP bit", "no MI", "no USERNAME", "truncated" };
	for (size_t i = 0; i < G_N_ELEMENTS(spoils); i++) {
		uint8_t btx[12];
		memset(btx, 0, sizeof btx);
		snprintf((char *)btx, sizeof btx, "conn-bad-%zu", i);
		len = spoiled_request(&m, btx, BAD_LPWD, spoils[i]);
		gint rx0 = g_atomic_int_get(&f.g.rx);
		send(f.r, m.b, len, 0);
		ec = 0;
		uint16_t t = raw_wait(&f.w, f.r, btx, 300, NULL, NULL, &ec);
		gint got = g_atomic_int_get(&f.g.rx) - rx0;
		g_test_message("connected, %s: response 0x%04x error %u, %d datagram(s) to the application",
		               names[i], t, ec, got);
		g_assert_cmpuint(t, !=, 0x0101);
		g_assert_cmpint(g_atomic_int_get(&f.g.state[1]), ==, RG_ICE_READY);
		g_assert_cmpint(got, <=, 1);
		if (got) {
			g_mutex_lock(&f.g.lock);
			gsize glen;
			const uint8_t *d = g_bytes_get_data(f.g.got->pdata[f.g.got->len - 1], &glen);
			g_assert_cmpuint(glen, ==, len);
			g_assert_cmpmem(d, glen, m.b, len);
			g_assert_cmpuint(d[0], <, 4);
			g_mutex_unlock(&f.g.lock);
		}
	}
	/* still connected: data goes both ways on the selected pair */
	uint8_t rtp[20] = { 0x80, 0, 0, 1 };
	struct iovec v = { rtp, sizeof rtp };
	g_assert_cmpint(rg_ice_send(f.g.a, 1, &v, 1), ==, 1);
	uint8_t buf[1500];
	gint64 end = g_get_monotonic_time() + 1000000;
	gboolean got_rtp = FALSE;
	while (!got_rtp && g_get_monotonic_time() < end) {
		worker_step(&f.w, 5);
		ssize_t n;
		while ((n = recv(f.r, buf, sizeof buf, MSG_DONTWAIT)) > 0)
			if (n == sizeof rtp && buf[0] == 0x80)
				got_rtp = TRUE;
	}
	g_assert_true(got_rtp);
	gint rx0 = g_atomic_int_get(&f.g.rx);
	send(f.r, rtp, sizeof rtp, 0);
	run_until(&f.w, NULL, NULL, 200);
	g_assert_cmpint(g_atomic_int_get(&f.g.rx), ==, rx0 + 1);
	bad_fx_free(&f);
}

/* ------------------------------------------------------------------ consent expiry in a restart */

/* A peer made of a raw UDP socket and the test's own STUN code: it answers the agent's checks
 * when told to, never checks itself, so the test decides exactly when the agent hears what. */
typedef struct {
	int fd;
	unsigned port;
	const char *ufrag, *pwd;
} raw_peer;

static void raw_peer_init(raw_peer *r, const char *ufrag, const char *pwd)
{
	r->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	g_assert_cmpint(bind(r->fd, (struct sockaddr *)&sin, sizeof sin), ==, 0);
	socklen_t sl = sizeof sin;
	getsockname(r->fd, (struct sockaddr *)&sin, &sl);
	r->port = ntohs(sin.sin_port);
	r->ufrag = ufrag;
	r->pwd = pwd;
}

static void raw_peer_tell(raw_peer *r, peer *p)
{
	char cand[96];
	snprintf(cand, sizeof cand, "candidate:1 1 UDP 2130706431 127.0.0.1 %u typ host", r->port);
	g_assert_cmpint(rg_ice_add_remote_candidate(p->a, cand), ==, 1);
}

/* Reads what the agent sent to r; answers its Binding requests with success when `answer`.
 * Returns how many requests came. */
static unsigned raw_peer_serve(raw_peer *r, gboolean answer)
{
	uint8_t buf[1500];
	struct sockaddr_in from;
	socklen_t fl = sizeof from;
	ssize_t n;
	unsigned reqs = 0;
	while ((n = recvfrom(r->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl)) > 0) {
		if (n < 20 || get16(buf) != 0x0001)
			continue;
		reqs++;
		if (!answer)
			continue;
		stun_msg resp;
		stun_init(&resp, 0x0101, buf + 8);
		uint8_t xma[8] = { 0, 1 };
		put16(xma + 2, ntohs(from.sin_port) ^ 0x2112);
		put32(xma + 4, ntohl(from.sin_addr.s_addr) ^ 0x2112A442u);
		stun_attr(&resp, 0x0020, xma, 8);
		stun_integrity_fingerprint(&resp, r->pwd);
		sendto(r->fd, resp.b, resp.len, 0, (struct sockaddr *)&from, fl);
	}
	return reqs;
}

/* The crash this guards against (libnice 0.1.21, found through tests/unit/test_webrtc.c): our
 * agent (controlling, as rtpgate is toward a browser it called) is connected; the peer's path
 * dies (no more consent answers); the peer comes back from a new address with an ICE restart.
 * libnice keeps the old selected pair through the restart, and that pair's consent runs out
 * while the new checks are in flight: FAILED. The peer's answer to one of those checks then
 * made libnice signal FAILED -> CONNECTED, which its own g_assert forbids: abort(). rg_ice now
 * restarts the checks once more on a FAILED during a restart (rg_ice.c, restart_again); the
 * late answer is dropped, the next checks succeed, READY, data flows. */
static void test_consent_expiry_in_restart(void)
{
	worker w;
	worker_init(&w);
	peer g;
	peer_new(&g, "gw", &w, (rg_ice_cfg){ .controlling = true });
	raw_peer r1, r2;
	raw_peer_init(&r1, "pr1U", "peerOnePassword012345678");
	raw_peer_init(&r2, "pr2U", "peerTwoPassword012345678");
	g_assert_cmpint(rg_ice_set_remote_credentials(g.a, r1.ufrag, r1.pwd), ==, 0);
	raw_peer_tell(&r1, &g);
	gint64 t0 = g_get_monotonic_time();
	while (g_atomic_int_get(&g.state[1]) != RG_ICE_READY && g_get_monotonic_time() - t0 < 5000000) {
		worker_step(&w, 5);
		raw_peer_serve(&r1, TRUE);
	}
	g_assert_cmpint(g_atomic_int_get(&g.state[1]), ==, RG_ICE_READY);
	/* the last answer on the old path was just now: consent runs out ~10 s from here */
	gint64 t_last = g_get_monotonic_time();
	while (g_get_monotonic_time() - t_last < 9300000) {
		worker_step(&w, 20);
		raw_peer_serve(&r1, FALSE);
	}
	/* the peer is back, elsewhere, restarting ICE */
	g_assert_cmpint(rg_ice_set_remote_credentials(g.a, r2.ufrag, r2.pwd), ==, 1);
	raw_peer_tell(&r2, &g);
	unsigned unanswered = 0;
	while (g_atomic_int_get(&g.n_failed) == 0 && g_get_monotonic_time() - t_last < 14000000) {
		worker_step(&w, 5);
		raw_peer_serve(&r1, FALSE);
		unanswered += raw_peer_serve(&r2, FALSE);
	}
	g_test_message("old pair's consent ran out %.1f s after its last answer, %u checks to the new "
	               "address in flight", (g_get_monotonic_time() - t_last) / 1e6, unanswered);
	g_assert_cmpint(g_atomic_int_get(&g.n_failed), ==, 1);
	g_assert_cmpuint(unanswered, >, 0);
	/* now the new address answers; without the rg_ice fix the first answer aborted here */
	gint64 t1 = g_get_monotonic_time();
	while (g_atomic_int_get(&g.state[1]) != RG_ICE_READY && g_get_monotonic_time() - t1 < 5000000) {
		worker_step(&w, 5);
		raw_peer_serve(&r2, TRUE);
	}
	g_test_message("READY again %.0f ms after the new address answered", (g_get_monotonic_time() - t1) / 1000.0);
	g_assert_cmpint(g_atomic_int_get(&g.state[1]), ==, RG_ICE_READY);
	uint8_t rtp[20] = { 0x80 };
	struct iovec v = { rtp, sizeof rtp };
	g_assert_cmpint(rg_ice_send(g.a, 1, &v, 1), ==, 1);
	uint8_t buf[100];
	gint64 end = g_get_monotonic_time() + 1000000;
	ssize_t n = -1;
	while (n != sizeof rtp && g_get_monotonic_time() < end) {
		worker_step(&w, 5);
		n = recv(r2.fd, buf, sizeof buf, MSG_DONTWAIT);
	}
	g_assert_cmpint(n, ==, sizeof rtp);
	close(r1.fd);
	close(r2.fd);
	peer_free(&g);
	worker_free(&w);
}

/* ------------------------------------------------------------------ threads and consent */

typedef struct { peer *p, *to; int n; gint sent; } sender_arg;

static gpointer sender(gpointer v)
{
	sender_arg *s = v;
	uint8_t buf[200];
	memset(buf, 0x80, sizeof buf);
	for (int i = 0; i < s->n; i++) {
		struct iovec io = { buf, sizeof buf };
		/* a window of 100 datagrams in flight keeps the receive buffer from overflowing
		 * (UDP would drop, legitimately) even when the worker is slow (sanitizers) */
		gint64 t0 = g_get_monotonic_time();
		while (g_atomic_int_get(&s->sent) - g_atomic_int_get(&s->to->rx) >= 100 &&
		       g_get_monotonic_time() - t0 < 2000000)
			g_usleep(100);
		if (rg_ice_send(s->p->a, 1, &io, 1) == 1)
			g_atomic_int_inc(&s->sent);
	}
	return NULL;
}

/* (c): the worker thread runs the timers and reads; two other threads send through the same
 * agents at the same time (libnice's per-agent mutex serialises them); the signalling thread
 * (this one) queries state meanwhile. */
static void test_threads(void)
{
	worker w;
	worker_init(&w);
	peer a, b;
	peer_new(&a, "A", &w, (rg_ice_cfg){ .controlling = true });
	peer_new(&b, "B", &w, (rg_ice_cfg){ .controlling = false });
	a.log_states = b.log_states = FALSE;
	/* the worker runs in its own thread from the start; signalling happens here */
	w.thread = g_thread_new("rg-worker-test", worker_thread, &w);
	g_assert_cmpint(give_credentials(&a, &b), ==, 0);
	g_assert_cmpint(give_credentials(&b, &a), ==, 0);
	give_candidates(&a, &b);
	give_candidates(&b, &a);
	gint64 t0 = g_get_monotonic_time();
	while (!both_ready(&a, &b) && g_get_monotonic_time() - t0 < 10000000)
		g_usleep(2000);
	g_assert_true(both_ready(&a, &b));

	const int N = 5000;
	sender_arg sa = { &a, &b, N, 0 }, sb = { &b, &a, N, 0 };
	GThread *ta = g_thread_new("send-a", sender, &sa);
	GThread *tb = g_thread_new("send-b", sender, &sb);
	while (g_atomic_int_get(&sa.sent) + g_atomic_int_get(&sb.sent) < 2 * N &&
	       g_get_monotonic_time() - t0 < 30000000)
		g_assert_cmpint(rg_ice_get_state(a.a, 1), ==, RG_ICE_READY);
	g_thread_join(ta);
	g_thread_join(tb);
	while ((g_atomic_int_get(&a.rx) < sb.sent || g_atomic_int_get(&b.rx) < sa.sent) &&
	       g_get_monotonic_time() - t0 < 30000000)
		g_usleep(1000);
	g_test_message("threads: sent %d/%d, received %d/%d", sa.sent, sb.sent, b.rx, a.rx);
	g_assert_cmpint(sa.sent, ==, N);
	g_assert_cmpint(sb.sent, ==, N);
	g_assert_cmpint(b.rx, ==, N);
	g_assert_cmpint(a.rx, ==, N);
	g_assert_true(a.rx_thread == w.self);
	g_assert_true(b.rx_thread == w.self);

	/* retire from this (signalling) thread while the worker runs */
	peer_free(&a);
	peer_free(&b);
	g_usleep(100000);
	g_atomic_int_set(&w.stop, 1);
	g_thread_join(w.thread);
	worker_free(&w);
}

/* RFC 7675: B revokes consent; A's next consent check gets 403 -> A fails and stops sending. */
static void test_consent_revoked(void)
{
	worker w;
	worker_init(&w);
	peer a, b;
	peer_new(&a, "A", &w, (rg_ice_cfg){ .controlling = true });
	peer_new(&b, "B", &w, (rg_ice_cfg){ .controlling = false });
	connect_and_wait(&w, &a, &b);
	exchange_data(&w, &a, &b, 10);

	g_assert_cmpint(rg_ice_revoke_consent(b.a, 1), ==, 0);
	gint64 t0 = g_get_monotonic_time();
	while (g_atomic_int_get(&a.state[1]) != RG_ICE_FAILED && g_get_monotonic_time() - t0 < 15000000)
		worker_step(&w, 20);
	g_test_message("consent revoked by B: A failed after %.1f s, B is %s",
	               (g_get_monotonic_time() - t0) / 1e6,
	               rg_ice_state_name(g_atomic_int_get(&b.state[1])));
	g_assert_cmpint(g_atomic_int_get(&a.state[1]), ==, RG_ICE_FAILED);
	uint8_t buf[10] = { 0x80 };
	struct iovec v = { buf, sizeof buf };
	g_assert_cmpint(rg_ice_send(a.a, 1, &v, 1), ==, -1);
	peer_free(&a);
	peer_free(&b);
	worker_free(&w);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ice/no-reader-then-epoll", test_no_reader_then_epoll);
	g_test_add_func("/ice/full-full", test_full_full);
	g_test_add_func("/ice/full-lite", test_full_lite);
	g_test_add_func("/ice/trickle-advertised", test_trickle_and_advertised);
	g_test_add_func("/ice/restart", test_restart);
	g_test_add_func("/ice/credentials", test_credentials);
	g_test_add_func("/ice/username-laxness", test_username_laxness);
	g_test_add_func("/ice/bad-stun", test_bad_stun);
	g_test_add_func("/ice/bad-stun-connected", test_bad_stun_connected);
	g_test_add_func("/ice/consent-expiry-in-restart", test_consent_expiry_in_restart);
	g_test_add_func("/ice/threads", test_threads);
	g_test_add_func("/ice/consent-revoked", test_consent_revoked);
	return g_test_run();
}
