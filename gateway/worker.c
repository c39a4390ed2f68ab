#include "worker.h"
#include "call.h"
#include "log.h"
#include "relay.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

rg_worker *rg_workers;
unsigned rg_num_workers;
static unsigned next_worker;

static void free_retired(rg_worker *w)
{
	GPtrArray *batch;
	g_mutex_lock(&w->retire_lock);
	if (w->retired->len == 0) {
		g_mutex_unlock(&w->retire_lock);
		return;
	}
	batch = w->retired;
	w->retired = g_ptr_array_new();
	g_mutex_unlock(&w->retire_lock);
	for (guint i = 0; i < batch->len; i++) {
		rg_sock *s = batch->pdata[i];
		close(s->fd);
		rg_iface_release_port(s->iface, s->port);
		rg_call_unref(s->call);
		g_free(s);
	}
	g_ptr_array_free(batch, TRUE);
}

static gpointer worker_main(gpointer data)
{
	rg_worker *w = data;
	struct epoll_event ev[128];
	rg_relay_ctx *ctx = rg_relay_ctx_new(w);
	while (!w->stop) {
		int n = epoll_wait(w->epfd, ev, G_N_ELEMENTS(ev), 1000);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rg_log(RG_LOG_ERR, "worker %u: epoll_wait: %s", w->index, strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			rg_sock *s = ev[i].data.ptr;
			if (!s) {
				uint64_t v;
				if (read(w->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					rg_log(RG_LOG_WARN, "worker %u: eventfd read: %s", w->index, strerror(errno));
				continue;
			}
			rg_relay_readable(ctx, s);
		}
		/* Between batches no socket of ours is in use: free what signalling retired. */
		free_retired(w);
	}
	free_retired(w);
	rg_relay_ctx_free(ctx);
	return NULL;
}

int rg_workers_start(unsigned n, char **err)
{
	if (n == 0)
		n = 1;
	rg_workers = g_new0(rg_worker, n);
	rg_num_workers = n;
	for (unsigned i = 0; i < n; i++) {
		rg_worker *w = &rg_workers[i];
		w->index = i;
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->epfd < 0 || w->evfd < 0) {
			*err = g_strdup_printf("worker %u: %s", i, strerror(errno));
			return -errno;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
		epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev);
		g_mutex_init(&w->retire_lock);
		w->retired = g_ptr_array_new();
		char name[32];
		snprintf(name, sizeof(name), "rg-worker-%u", i);
		w->thread = g_thread_new(name, worker_main, w);
	}
	return 0;
}

static void wake(rg_worker *w)
{
	uint64_t one = 1;
	if (write(w->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		rg_log(RG_LOG_WARN, "worker %u: eventfd write: %s", w->index, strerror(errno));
}

void rg_workers_stop(void)
{
	for (unsigned i = 0; i < rg_num_workers; i++) {
		rg_workers[i].stop = 1;
		wake(&rg_workers[i]);
	}
	for (unsigned i = 0; i < rg_num_workers; i++) {
		rg_worker *w = &rg_workers[i];
		g_thread_join(w->thread);
		close(w->epfd);
		close(w->evfd);
		g_ptr_array_free(w->retired, TRUE);
		g_mutex_clear(&w->retire_lock);
	}
	/* Counters are kept: fold them into the global array before the workers go. */
	for (unsigned i = 0; i < rg_num_workers; i++)
		for (unsigned c = 0; c < RG_CTR__MAX; c++)
			rg_ctr_global[c] += rg_workers[i].ctr[c];
	g_free(rg_workers);
	rg_workers = NULL;
	rg_num_workers = 0;
}

rg_worker *rg_worker_pick(void)
{
	rg_worker *w = &rg_workers[next_worker % rg_num_workers];
	next_worker++;
	return w;
}

int rg_worker_add_sock(rg_worker *w, rg_sock *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
	s->worker = w;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
		return -errno;
	__atomic_fetch_add(&w->nsocks, 1, __ATOMIC_RELAXED);
	return 0;
}

void rg_worker_retire_sock(rg_worker *w, rg_sock *s)
{
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	__atomic_fetch_sub(&w->nsocks, 1, __ATOMIC_RELAXED);
	g_mutex_lock(&w->retire_lock);
	g_ptr_array_add(w->retired, s);
	g_mutex_unlock(&w->retire_lock);
	wake(w);
}
