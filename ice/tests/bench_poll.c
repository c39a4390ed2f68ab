/* What GLib's main loop costs per wake-up when it carries N sockets: one poll() over all N fds
 * (plus GLib's prepare/check walk over N sources) versus one epoll_wait() that returns the one
 * ready fd. N = 1000 UDP sockets on 127.0.0.1, one of them readable (a datagram is kept queued,
 * so every call finds exactly one ready fd). Also: one prepare/query/check round of a GMainContext
 * that holds N timer sources (libnice's timers of N agents). Usage: bench_poll [N] [iterations] */
#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static gboolean on_sock(GIOChannel *ch, GIOCondition c, gpointer ud)
{
	(*(long *)ud)++;
	return TRUE;   /* the datagram stays queued: ready again next time */
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	long iters = argc > 2 ? atol(argv[2]) : 20000;
	struct rlimit rl = { (rlim_t)n + 64, (rlim_t)n + 64 };
	setrlimit(RLIMIT_NOFILE, &rl);

	int *fds = calloc((size_t)n, sizeof *fds);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	for (int i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&a, sizeof a) < 0) {
			perror("socket/bind");
			return 1;
		}
	}
	/* make fds[n/2] readable */
	struct sockaddr_in t;
	socklen_t tl = sizeof t;
	getsockname(fds[n / 2], (struct sockaddr *)&t, &tl);
	int tx = socket(AF_INET, SOCK_DGRAM, 0);
	sendto(tx, "x", 1, 0, (struct sockaddr *)&t, sizeof t);
	usleep(10000);

	/* 1. plain poll() over all fds */
	struct pollfd *pf = calloc((size_t)n, sizeof *pf);
	for (int i = 0; i < n; i++) {
		pf[i].fd = fds[i];
		pf[i].events = POLLIN;
	}
	double t0 = now_ns();
	for (long k = 0; k < iters; k++)
		if (poll(pf, (nfds_t)n, 0) != 1)
			abort();
	double poll_ns = (now_ns() - t0) / iters;

	/* 2. epoll_wait, all fds registered */
	int ep = epoll_create1(0);
	for (int i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
	}
	struct epoll_event out[64];
	t0 = now_ns();
	for (long k = 0; k < iters; k++)
		if (epoll_wait(ep, out, 64, 0) != 1)
			abort();
	double epoll_ns = (now_ns() - t0) / iters;

	/* 3. one GMainContext iteration with the N sockets as GSources (what attaching libnice's
	 *    sockets to a GLib loop amounts to) */
	GMainContext *ctx = g_main_context_new();
	long dispatched = 0;
	for (int i = 0; i < n; i++) {
		GIOChannel *ch = g_io_channel_unix_new(fds[i]);
		GSource *s = g_io_create_watch(ch, G_IO_IN);
		g_source_set_callback(s, (GSourceFunc)(void (*)(void))on_sock, &dispatched, NULL);
		g_source_attach(s, ctx);
		g_source_unref(s);
		g_io_channel_unref(ch);
	}
	long glib_iters = iters / 4 > 0 ? iters / 4 : 1;
	t0 = now_ns();
	for (long k = 0; k < glib_iters; k++)
		g_main_context_iteration(ctx, FALSE);
	double glib_ns = (now_ns() - t0) / glib_iters;

	/* 4. a GMainContext holding N timer sources and no fd: what one prepare/query/check round
	 *    costs (libnice's timers for N agents in one worker context) */
	GMainContext *tctx = g_main_context_new();
	g_main_context_acquire(tctx);
	for (int i = 0; i < n; i++) {
		GSource *s = g_timeout_source_new(4000 + (guint)(i % 2000));
		g_source_set_callback(s, (GSourceFunc)(void (*)(void))on_sock, &dispatched, NULL);
		g_source_attach(s, tctx);
		g_source_unref(s);
	}
	GPollFD tfds[8];
	gint prio, tmo;
	t0 = now_ns();
	for (long k = 0; k < iters; k++) {
		g_main_context_prepare(tctx, &prio);
		gint nf = g_main_context_query(tctx, prio, &tmo, tfds, 8);
		for (gint i = 0; i < nf && i < 8; i++)
			tfds[i].revents = 0;
		if (g_main_context_check(tctx, prio, tfds, nf < 8 ? nf : 8))
			g_main_context_dispatch(tctx);
	}
	double timers_ns = (now_ns() - t0) / iters;

	printf("N=%d fds, 1 ready, %ld iterations\n", n, iters);
	printf("  poll(N fds)                     %9.0f ns/wake-up\n", poll_ns);
	printf("  epoll_wait (N registered)       %9.0f ns/wake-up\n", epoll_ns);
	printf("  g_main_context_iteration (N src)%9.0f ns/wake-up (%ld dispatches)\n", glib_ns, dispatched);
	printf("  poll/epoll = %.0fx, glib/epoll = %.0fx\n", poll_ns / epoll_ns, glib_ns / epoll_ns);
	printf("  GMainContext with N timers, no fd: prepare+query+check %9.0f ns/round\n", timers_ns);
	return 0;
}
