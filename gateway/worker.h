/* Media workers: one thread per core, each with its own epoll set. Every socket of a call is
 * registered with the call's worker, so one call's packets are handled by one thread.
 *
 * Socket lifetime: signalling creates rg_sock objects and adds them to a worker's epoll set
 * (rg_worker_add_sock). To retire one it removes it from epoll and hands it to the worker
 * (rg_worker_retire_sock); the worker frees retired sockets only between two epoll batches, so a
 * socket returned by epoll_wait is never freed while it is being handled. The worker closes the fd,
 * gives the port back to its interface and drops the socket's reference on the call.
 * The rg_worker array is owned by this module (rg_workers_start / rg_workers_stop). */
#ifndef RG_WORKER_H
#define RG_WORKER_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include "stats.h"

struct rg_sock;
struct rg_ice_loop;
struct rg_webrtc;

typedef struct rg_worker {
	unsigned index;
	int epfd;
	int evfd;                /* wakes the worker to free retired sockets or stop */
	int tfd;                 /* timerfd: the worker's next deadline (worker thread only) */
	int64_t timer_at;        /* what tfd is set to, rg_mono_us() time (0: not set) */
	GThread *thread;
	GMutex retire_lock;
	GPtrArray *retired;      /* rg_sock* waiting to be freed by this worker */
	volatile int stop;
	unsigned nsocks;         /* sockets registered (approximate, for balancing) */
	struct rg_ice_loop *ice_loop;  /* libnice timers and ICE sockets of this worker's calls */
	GMutex pending_lock;
	GPtrArray *dtls_pending; /* rg_webrtc* whose DTLS handshake the worker drives (timers, start) */
	GPtrArray *players;      /* rg_player* sending prompts/DTMF (20 ms timers); under pending_lock */
	GPtrArray *xcs;          /* rg_transcoder* (jitter buffer and gap-filling timers); pending_lock */
	int64_t xc_next_us;      /* when the worker runs through xcs next (worker thread only) */
	bool backlog;            /* its last epoll_wait filled the event array: it is behind */
	uint64_t ctr[RG_CTR__MAX] __attribute__((aligned(64)));  /* written only by this worker */
} rg_worker;

extern rg_worker *rg_workers;
extern unsigned rg_num_workers;

int rg_workers_start(unsigned n, char **err);
void rg_workers_stop(void);
/* The worker a new call is pinned to (round robin). */
rg_worker *rg_worker_pick(void);
int rg_worker_add_sock(rg_worker *w, struct rg_sock *s);
void rg_worker_retire_sock(rg_worker *w, struct rg_sock *s);
/* Hand a WebRTC leg to its worker until its DTLS handshake is done (holds a call reference). */
void rg_worker_watch_dtls(rg_worker *w, struct rg_webrtc *wt);
struct rg_player;
/* Hand a player to its worker until it is done or detached (the caller took a call reference for
 * it, which rg_player_unwatch drops). */
void rg_worker_watch_player(rg_worker *w, struct rg_player *p);
struct rg_transcoder;
/* From the worker itself (its first packet): a transcoder's timers run on w until
 * rg_transcoder_tick says otherwise (the caller took a call reference, which
 * rg_transcoder_unwatch drops). */
void rg_worker_watch_xc(rg_worker *w, struct rg_transcoder *xc);

#endif
