/* rg_ice: ICE (RFC 8445 full and lite, RFC 7675 consent freshness) for rtpgate on top of libnice,
 * with the media sockets polled by the application's own epoll set, not by GLib.
 *
 * How the pieces meet (see ice/DESIGN.md for the evidence):
 *  - One rg_ice_loop per media worker thread. It owns a GMainContext that carries only libnice's
 *    timers (pacing of checks, retransmissions, keepalives, consent checks). The worker folds it
 *    into its epoll loop: rg_ice_loop_before_wait() gives the epoll timeout and keeps the context's
 *    own wake-up fd in the epoll set; rg_ice_loop_after_wait() runs the timers that are due.
 *  - Each agent's UDP sockets (nice_agent_get_sockets) are put into the same epoll set. libnice
 *    never polls them by itself (they sit on a private per-component context nobody iterates);
 *    when epoll reports one readable the worker calls rg_ice_io_ready(), which drains it with
 *    nice_agent_recv_messages_nonblocking(): libnice consumes STUN (checks, responses, consent)
 *    and returns only application datagrams (DTLS, SRTP), handed to the recv callback in batches.
 *
 * Threads: rg_ice_loop_* and rg_ice_io_ready() run only in the loop's (worker's) thread. The agent
 * functions (credentials, candidates, restart, send) may be called from any thread: libnice takes
 * its per-agent mutex in every entry point. Agents are freed through rg_ice_agent_retire(), which
 * takes their fds out of the epoll set at once and frees them in the worker between two batches.
 *
 * This library never includes gateway/ headers; the worker plugs in through rg_ice_poll_ops. */
#ifndef RG_ICE_H
#define RG_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct rg_ice_loop rg_ice_loop;
typedef struct rg_ice_agent rg_ice_agent;
typedef struct rg_ice_io rg_ice_io;   /* one fd the worker polls on behalf of this library */

/* How the library adds fds to / removes them from the worker's epoll set. `events` is an epoll
 * mask (EPOLLIN, EPOLLOUT); level-triggered. When epoll reports the fd, the worker calls
 * rg_ice_io_ready(io, revents). add and del may be called from any thread (epoll_ctl is). */
typedef struct rg_ice_poll_ops {
	int (*add)(void *poll_ctx, int fd, uint32_t events, rg_ice_io *io);
	void (*del)(void *poll_ctx, int fd, rg_ice_io *io);
} rg_ice_poll_ops;

/* ---- per-worker loop: call from the worker thread only ---- */
rg_ice_loop *rg_ice_loop_new(const rg_ice_poll_ops *ops, void *poll_ctx);
/* Frees retired agents, prepares the timer context and returns the epoll_wait timeout in ms,
 * at most max_ms (max_ms < 0: no upper bound). */
int rg_ice_loop_before_wait(rg_ice_loop *l, int max_ms);
/* Runs the libnice timers that are due (after epoll_wait, after the rg_ice_io_ready calls). */
void rg_ice_loop_after_wait(rg_ice_loop *l);
/* epoll reported io; revents is the epoll mask. */
void rg_ice_io_ready(rg_ice_io *io, uint32_t revents);
/* Frees the loop; all its agents must have been retired. Worker thread. */
void rg_ice_loop_free(rg_ice_loop *l);

/* ---- agents ---- */
typedef enum { RG_ICE_FULL = 0, RG_ICE_LITE = 1 } rg_ice_mode;

typedef enum {
	RG_ICE_DISCONNECTED, RG_ICE_GATHERING, RG_ICE_CONNECTING, RG_ICE_CONNECTED, RG_ICE_READY,
	RG_ICE_FAILED,
} rg_ice_state;

typedef struct rg_ice_cfg {
	rg_ice_mode mode;
	bool controlling;          /* ignored (always controlled) in lite mode */
	const char *bind_addr;     /* the interface address host candidates are gathered on */
	const char *advertised;    /* 1:1 NAT: address written into our candidates instead (or NULL) */
	uint16_t port_min, port_max;  /* 0,0: any port */
	unsigned components;       /* 1 (rtcp-mux / bundle) or 2 */
	bool trickle;              /* remote candidates may come later, until end-of-candidates */
	bool no_consent_freshness; /* RFC 7675 is on unless this is set */
} rg_ice_cfg;

typedef struct rg_ice_pkt {
	const uint8_t *buf;
	size_t len;
	struct sockaddr_storage from;
} rg_ice_pkt;

typedef struct rg_ice_callbacks {
	/* Application datagrams (never STUN), a batch per call; worker thread. pkts[i].buf points
	 * into the loop's receive buffers: valid only during the call. */
	void (*recv)(rg_ice_agent *a, unsigned comp, const rg_ice_pkt *pkts, unsigned n, void *ud);
	/* Component state changes; ANY thread (the one whose call into libnice caused it). */
	void (*state)(rg_ice_agent *a, unsigned comp, rg_ice_state st, void *ud);
} rg_ice_callbacks;

/* Creates the agent and its stream. Any thread. NULL on error (err set, g_free it). */
rg_ice_agent *rg_ice_agent_new(rg_ice_loop *l, const rg_ice_cfg *cfg, const rg_ice_callbacks *cb,
                               void *ud, char **err);
/* Binds the host candidates' sockets and registers them with the worker's epoll set. */
int rg_ice_gather(rg_ice_agent *a, char **err);
/* Our ufrag / password (valid until the next restart). g_free both. */
void rg_ice_local_credentials(rg_ice_agent *a, char **ufrag, char **pwd);
/* Replaces libnice's random ufrag / password with given ones (RFC 8445 5.3: ice-chars, ufrag
 * 4-256, pwd 22-256), right after rg_ice_gather(), before any check. For tests and fuzzing, where
 * fixed credentials make STUN inputs reproducible; rtpgate keeps the random ones. 0, or -1 if
 * libnice refused them. */
int rg_ice_set_local_credentials(rg_ice_agent *a, const char *ufrag, const char *pwd);
/* Our candidates as SDP attribute values ("candidate:..." without "a="), the advertised address
 * substituted for the bind address. NULL-terminated, g_strfreev it. */
char **rg_ice_local_candidates(rg_ice_agent *a);
/* The peer's credentials from an offer or answer. Returns 1 when they differ from the ones set
 * before (the peer restarted ICE: we restarted too, so our credentials are new), 0 when
 * unchanged or first set, -1 on error. */
int rg_ice_set_remote_credentials(rg_ice_agent *a, const char *ufrag, const char *pwd);
/* One remote candidate ("candidate:..." or "a=candidate:..."); from the SDP or trickled later.
 * Returns 1 added, 0 ignored (TCP, mDNS name, unknown component), -1 malformed. */
int rg_ice_add_remote_candidate(rg_ice_agent *a, const char *line);
/* a=end-of-candidates: the peer has no more (lets checks fail instead of waiting; trickle). */
void rg_ice_end_of_candidates(rg_ice_agent *a);
/* We restart ICE (our re-offer): new local credentials, remote candidates dropped; the selected
 * pair keeps carrying media until a new one is nominated. */
int rg_ice_restart(rg_ice_agent *a);
rg_ice_state rg_ice_get_state(rg_ice_agent *a, unsigned comp);
/* Sends datagrams on the selected pair. Any thread. Returns how many were sent, -1 on error
 * (no selected pair, consent lost, socket error). */
int rg_ice_send(rg_ice_agent *a, unsigned comp, const struct iovec *msgs, unsigned n);
/* The selected pair's socket and peer address, for a worker that wants to sendmmsg itself
 * (host UDP candidates only). 0 ok, -1 none. The fd stays owned by the agent. */
int rg_ice_selected(rg_ice_agent *a, unsigned comp, int *fd, struct sockaddr_storage *peer);
/* The fds registered for the agent's sockets (for tests / diagnostics). Returns the count. */
unsigned rg_ice_fds(rg_ice_agent *a, int *fds, unsigned max);
/* Revokes consent (RFC 7675 sec. 5.2): answer the peer's checks with 403 from now on. */
int rg_ice_revoke_consent(rg_ice_agent *a, unsigned comp);
/* Takes the agent's fds out of the epoll set now and frees it in the worker between two
 * batches. Any thread; no callback runs for it after the worker's current batch. */
void rg_ice_agent_retire(rg_ice_agent *a);

const char *rg_ice_state_name(rg_ice_state st);

#endif
