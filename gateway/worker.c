#include "worker.h"
#include "call.h"
#include "log.h"
#include "player.h"
#include "relay.h"
#include "rg_ice.h"
#include "transcode.h"
#include "webrtc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

rg_worker *rg_workers;
unsigned rg_num_workers;
static unsigned next_worker;
static void wake(rg_worker *w);

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

/* epoll data: NULL = the worker's eventfd, &timer_tag = its timerfd, low bit set = an rg_ice_io,
 * else an rg_sock. */
#define ICE_TAG ((uintptr_t)1)
static char timer_tag;

/* The worker's timers (transcoders, DTLS, players, libnice) wake it through one timerfd, and
 * epoll_wait itself never gets a timeout: a timeout arms and cancels a kernel timer at every
 * sleep, i.e. at nearly every packet under light load, while the timerfd is set again only when
 * it has fired or a deadline more than 1 ms earlier than it comes up (transcoders' timers are
 * 2-10 ms apart; a worker with no timers wakes once a second).
 * Returns the epoll_wait timeout: 0 when something is due now, else -1. */
static int arm_timer(rg_worker *w, int timeout_ms)
{
	if (timeout_ms == 0)
		return 0;
	if (timeout_ms < 0)
		timeout_ms = 1000;   /* no deadline: look around once a second all the same */
	int64_t now = rg_mono_us(), need = now + (int64_t)timeout_ms * 1000;
	/* still pending and not late: kept (if it comes early, that wake-up sets it again) */
	if (w->timer_at > now && w->timer_at <= need + 1000)
		return -1;
	struct itimerspec its = { .it_value = { .tv_sec = need / 1000000, .tv_nsec = need % 1000000 * 1000 } };
	if (timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		rg_log(RG_LOG_ERR, "worker %u: timerfd_settime: %s", w->index, strerror(errno));
		w->timer_at = 0;
		return timeout_ms;   /* fall back to epoll's own timeout */
	}
	w->timer_at = need;
	return -1;
}

static int ice_poll_add(void *pctx, int fd, uint32_t events, rg_ice_io *io)
{
	rg_worker *w = pctx;
	struct epoll_event ev = { .events = events, .data.ptr = (void *)((uintptr_t)io | ICE_TAG) };
	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void ice_poll_del(void *pctx, int fd, rg_ice_io *io)
{
	rg_worker *w = pctx;
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static const rg_ice_poll_ops ice_ops = { ice_poll_add, ice_poll_del };

/* Objects the worker drives by time (DTLS handshakes of WebRTC legs, players): tick each one
 * without holding pending_lock (a tick takes the call lock, and signalling adds objects under
 * the call lock); an object whose tick returns < 0 is let go. Returns the ms until the next
 * deadline (-1: none). */
typedef int (*watch_tick_fn)(void *obj, rg_worker *w);
typedef void (*watch_unwatch_fn)(void *obj);

static int run_watched(rg_worker *w, GPtrArray **listp, watch_tick_fn tick, watch_unwatch_fn unwatch)
{
	int next = -1;
	g_mutex_lock(&w->pending_lock);
	if ((*listp)->len == 0) {
		g_mutex_unlock(&w->pending_lock);
		return -1;
	}
	GPtrArray *list = *listp;
	*listp = g_ptr_array_new();
	g_mutex_unlock(&w->pending_lock);
	GPtrArray *keep = g_ptr_array_new();
	for (guint i = 0; i < list->len; i++) {
		int t = tick(list->pdata[i], w);
		if (t >= 0) {
			g_ptr_array_add(keep, list->pdata[i]);
			if (next < 0 || t < next)
				next = t;
		} else {
			unwatch(list->pdata[i]);
		}
	}
	g_ptr_array_free(list, TRUE);
	g_mutex_lock(&w->pending_lock);
	g_ptr_array_extend_and_steal(*listp, keep);   /* frees keep */
	g_mutex_unlock(&w->pending_lock);
	return next;
}

static int dtls_tick(void *wt, rg_worker *w)
{
	return rg_webrtc_dtls_tick(wt);
}

static int player_tick(void *p, rg_worker *w)
{
	return rg_player_tick(p, w);
}

static int xc_tick(void *xc, rg_worker *w)
{
	return rg_transcoder_tick(xc, w);
}

/* Transcoders are many and their timers coarse (10 ms): they are run through only when due,
 * not at every wake-up. Returns ms until then (-1: none listed). */
static int run_xcs(rg_worker *w)
{
	int64_t now = rg_mono_us();
	if (now < w->xc_next_us)
		return (int)((w->xc_next_us - now + 999) / 1000);
	int t = run_watched(w, &w->xcs, xc_tick, (watch_unwatch_fn)rg_transcoder_unwatch);
	if (t < 0)
		return -1;   /* none listed (looked at again next round) */
	if (t < 2)
		t = 2;
	w->xc_next_us = now + (int64_t)t * 1000;
	return t;
}

static void unwatch_all(GPtrArray *list, watch_unwatch_fn unwatch)
{
	for (guint i = 0; i < list->len; i++)
		unwatch(list->pdata[i]);
	g_ptr_array_set_size(list, 0);
}

static gpointer worker_main(gpointer data)
{
	rg_worker *w = data;
	struct epoll_event ev[128];
	rg_relay_ctx *ctx = rg_relay_ctx_new(w);
	__atomic_store_n(&w->ice_loop, rg_ice_loop_new(&ice_ops, w), __ATOMIC_RELEASE);
	while (!w->stop) {
		int dt = run_watched(w, &w->dtls_pending, dtls_tick, (watch_unwatch_fn)rg_webrtc_unwatch);
		int pt = run_watched(w, &w->players, player_tick, (watch_unwatch_fn)rg_player_unwatch);
		if (pt >= 0 && (dt < 0 || pt < dt))
			dt = pt;
		int xt = run_xcs(w);
		if (xt >= 0 && (dt < 0 || xt < dt))
			dt = xt;
		int timeout = rg_ice_loop_before_wait(w->ice_loop, dt >= 0 && dt < 1000 ? dt : 1000);
		int n = epoll_wait(w->epfd, ev, G_N_ELEMENTS(ev), arm_timer(w, timeout));
		w->backlog = n == (int)G_N_ELEMENTS(ev);
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
			if ((void *)s == &timer_tag) {
				uint64_t v;
				if (read(w->tfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					rg_log(RG_LOG_WARN, "worker %u: timerfd read: %s", w->index, strerror(errno));
				w->timer_at = 0;
				continue;
			}
			if ((uintptr_t)s & ICE_TAG)
				rg_ice_io_ready((rg_ice_io *)((uintptr_t)s & ~ICE_TAG), ev[i].events);
			else
				rg_relay_readable(ctx, s);
		}
		rg_ice_loop_after_wait(w->ice_loop);
		/* Between batches no socket of ours is in use: free what signalling retired. */
		free_retired(w);
	}
	free_retired(w);
	unwatch_all(w->dtls_pending, (watch_unwatch_fn)rg_webrtc_unwatch);
	unwatch_all(w->players, (watch_unwatch_fn)rg_player_unwatch);
	unwatch_all(w->xcs, (watch_unwatch_fn)rg_transcoder_unwatch);
	/* agents retired at shutdown are freed by one more pass */
	rg_ice_loop_before_wait(w->ice_loop, 0);
	rg_ice_loop_free(w->ice_loop);
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
		w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (w->epfd < 0 || w->evfd < 0 || w->tfd < 0) {
			*err = g_strdup_printf("worker %u: %s", i, strerror(errno));
			return -errno;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
		epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev);
		ev.data.ptr = &timer_tag;
		epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->tfd, &ev);
		g_mutex_init(&w->retire_lock);
		w->retired = g_ptr_array_new();
		g_mutex_init(&w->pending_lock);
		w->dtls_pending = g_ptr_array_new();
		w->players = g_ptr_array_new();
		w->xcs = g_ptr_array_new();
		char name[32];
		snprintf(name, sizeof(name), "rg-worker-%u", i);
		w->thread = g_thread_new(name, worker_main, w);
	}
	/* signalling creates ICE agents on a worker's loop: wait until every loop exists */
	for (unsigned i = 0; i < n; i++)
		while (!__atomic_load_n(&rg_workers[i].ice_loop, __ATOMIC_ACQUIRE))
			g_usleep(1000);
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
		close(w->tfd);
		g_ptr_array_free(w->retired, TRUE);
		g_mutex_clear(&w->retire_lock);
		g_ptr_array_free(w->dtls_pending, TRUE);
		g_ptr_array_free(w->players, TRUE);
		g_ptr_array_free(w->xcs, TRUE);
		g_mutex_clear(&w->pending_lock);
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

void rg_worker_watch_dtls(rg_worker *w, rg_webrtc *wt)
{
	g_mutex_lock(&w->pending_lock);
	g_ptr_array_add(w->dtls_pending, wt);
	g_mutex_unlock(&w->pending_lock);
	wake(w);
}

void rg_worker_watch_player(rg_worker *w, struct rg_player *p)
{
	g_mutex_lock(&w->pending_lock);
	g_ptr_array_add(w->players, p);
	g_mutex_unlock(&w->pending_lock);
	wake(w);
}

void rg_worker_watch_xc(rg_worker *w, struct rg_transcoder *xc)
{
	g_mutex_lock(&w->pending_lock);
	g_ptr_array_add(w->xcs, xc);
	g_mutex_unlock(&w->pending_lock);
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
