/* Per-datagram cost of receiving through libnice (epoll + nice_agent_recv_messages_nonblocking,
 * the rg_ice design) against the relay's own recvmmsg on a plain socket, on 127.0.0.1.
 * Two agents complete ICE; the sender blasts datagrams with sendmmsg from its selected socket to
 * the receiver's (so they come from the validated address); the receiver's worker drains them.
 * Usage: bench_nice_recv [datagrams] [burst (1..200)] */
#include "rg_ice.h"

#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static int epfd;
static long rx;

static int b_add(void *c, int fd, uint32_t ev, rg_ice_io *io)
{
	struct epoll_event e = { .events = ev, .data.ptr = io };
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e);
}
static void b_del(void *c, int fd, rg_ice_io *io) { epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL); }
static const rg_ice_poll_ops ops = { b_add, b_del };

static int ready[2];
static void on_recv(rg_ice_agent *a, unsigned comp, const rg_ice_pkt *p, unsigned n, void *ud) { rx += n; }
static void on_state(rg_ice_agent *a, unsigned comp, rg_ice_state st, void *ud)
{
	if (st == RG_ICE_READY)
		ready[GPOINTER_TO_INT(ud)] = 1;
}

static double now_s(void) { return g_get_monotonic_time() / 1e6; }

static void step(rg_ice_loop *l, int ms)
{
	struct epoll_event ev[64];
	int t = rg_ice_loop_before_wait(l, ms);
	int n = epoll_wait(epfd, ev, 64, t);
	for (int i = 0; i < n; i++)
		rg_ice_io_ready(ev[i].data.ptr, ev[i].events);
	rg_ice_loop_after_wait(l);
}

/* blast `total` datagrams from fd to dst in rounds that fit the receive buffer, draining with
 * drain() between rounds; returns receive-side seconds */
static int BURST = 200;
enum { LEN = 172, MAXBURST = 200 };   /* 20 ms G.711 RTP + SRTP tag */

static double blast(int fd, struct sockaddr_storage *dst, long total, long *counter,
                    void (*drain)(void *), void *arg)
{
	static uint8_t buf[LEN];
	memset(buf, 0x80, sizeof buf);
	struct mmsghdr mm[MAXBURST];
	struct iovec iov[MAXBURST];
	for (int i = 0; i < BURST; i++) {
		iov[i].iov_base = buf;
		iov[i].iov_len = LEN;
		memset(&mm[i], 0, sizeof mm[i]);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = dst;
		mm[i].msg_hdr.msg_namelen = dst->ss_family == AF_INET ? sizeof(struct sockaddr_in)
		                                                     : sizeof(struct sockaddr_in6);
	}
	double spent = 0;
	long start = *counter;
	for (long sent = 0; sent < total; sent += BURST) {
		if (sendmmsg(fd, mm, BURST, 0) != BURST)
			abort();
		double t0 = now_s();
		long want = start + sent + BURST;
		while (*counter < want) {
			drain(arg);
			if (now_s() - t0 > 2) {
				fprintf(stderr, "lost datagrams: %ld < %ld\n", *counter, want);
				return -1;
			}
		}
		spent += now_s() - t0;
	}
	return spent;
}

static void drain_nice(void *l) { step(l, 0); }

static int plain_fd;
static long plain_rx;
static void drain_plain(void *unused)
{
	struct epoll_event ev[64];
	int n = epoll_wait(epfd, ev, 64, 0);
	static uint8_t bufs[32][2048];
	struct mmsghdr mm[32];
	struct iovec iov[32];
	struct sockaddr_storage from[32];
	for (int k = 0; k < n; k++) {
		for (;;) {
			for (int i = 0; i < 32; i++) {
				iov[i].iov_base = bufs[i];
				iov[i].iov_len = sizeof bufs[i];
				memset(&mm[i], 0, sizeof mm[i]);
				mm[i].msg_hdr.msg_iov = &iov[i];
				mm[i].msg_hdr.msg_iovlen = 1;
				mm[i].msg_hdr.msg_name = &from[i];
				mm[i].msg_hdr.msg_namelen = sizeof from[i];
			}
			int r = recvmmsg(plain_fd, mm, 32, MSG_DONTWAIT, NULL);
			if (r <= 0)
				break;
			plain_rx += r;
			if (r < 32)
				break;
		}
	}
}

int main(int argc, char **argv)
{
	long total = argc > 1 ? atol(argv[1]) : 200000;
	if (argc > 2)
		BURST = atoi(argv[2]);
	if (BURST < 1 || BURST > MAXBURST)
		BURST = MAXBURST;
	total -= total % BURST;
	epfd = epoll_create1(0);
	rg_ice_loop *l = rg_ice_loop_new(&ops, NULL);
	rg_ice_callbacks cb = { on_recv, on_state };
	char *err = NULL;
	rg_ice_cfg ca = { .controlling = true, .bind_addr = "127.0.0.1" };
	rg_ice_cfg cbb = { .controlling = false, .bind_addr = "127.0.0.1" };
	rg_ice_agent *a = rg_ice_agent_new(l, &ca, &cb, GINT_TO_POINTER(0), &err);
	rg_ice_agent *b = rg_ice_agent_new(l, &cbb, &cb, GINT_TO_POINTER(1), &err);
	rg_ice_gather(a, &err);
	rg_ice_gather(b, &err);
	rg_ice_agent *pr[2][2] = { { a, b }, { b, a } };
	for (int k = 0; k < 2; k++) {
		char *u, *p;
		rg_ice_local_credentials(pr[k][0], &u, &p);
		rg_ice_set_remote_credentials(pr[k][1], u, p);
		g_free(u);
		g_free(p);
		char **c = rg_ice_local_candidates(pr[k][0]);
		for (char **i = c; *i; i++)
			rg_ice_add_remote_candidate(pr[k][1], *i);
		g_strfreev(c);
	}
	double t0 = now_s();
	while (!(ready[0] && ready[1]) && now_s() - t0 < 10)
		step(l, 10);
	if (!(ready[0] && ready[1])) {
		fprintf(stderr, "ICE did not complete\n");
		return 1;
	}
	int afd;
	struct sockaddr_storage bpeer;
	rg_ice_selected(a, 1, &afd, &bpeer);   /* A's socket, B's address */

	double nice_s = blast(afd, &bpeer, total, &rx, drain_nice, l);

	/* the same traffic into a plain socket drained with recvmmsg */
	plain_fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in pa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bind(plain_fd, (struct sockaddr *)&pa, sizeof pa);
	struct sockaddr_storage pdst;
	socklen_t pl = sizeof pdst;
	getsockname(plain_fd, (struct sockaddr *)&pdst, &pl);
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(epfd, EPOLL_CTL_ADD, plain_fd, &e);
	double plain_s = blast(afd, &pdst, total, &plain_rx, drain_plain, NULL);

	printf("%ld datagrams of 172 bytes, bursts of %d, receive side only\n", total, BURST);
	printf("  epoll + nice_agent_recv_messages_nonblocking: %7.0f ns/datagram (%.2f Mpps)\n",
	       nice_s * 1e9 / total, total / nice_s / 1e6);
	printf("  epoll + recvmmsg(32), plain socket:           %7.0f ns/datagram (%.2f Mpps)\n",
	       plain_s * 1e9 / total, total / plain_s / 1e6);
	rg_ice_agent_retire(a);
	rg_ice_agent_retire(b);
	rg_ice_loop_free(l);
	return 0;
}
