/* rg_ice: libnice agents whose sockets are polled by the worker's epoll set. See rg_ice.h and
 * ice/DESIGN.md. */
#include "rg_ice.h"

#include <errno.h>
#include <gio/gio.h>
#include <nice/agent.h>
#include <string.h>
#include <sys/epoll.h>

#define RG_ICE_BATCH 32
#define RG_ICE_PKT_MAX 2048   /* >= 1280, or libnice allocates a bounce buffer per call */
#define RG_ICE_MAX_FDS 8      /* per component: one host socket per local address */
/* A GMainContext's prepare/check walk every source: ~26 us per round with 1000 timer sources
 * (bench_poll). So the timer context is not prepared on every epoll round: only when its
 * earliest deadline is due, when another thread attached a source (its wake-up fd fired), after
 * timers ran, and, when the worker itself went through libnice (a received packet may arm a
 * timer), at most every RG_ICE_TICK_US. Cost: a timer armed in the worker thread during a recv
 * can fire up to this late. */
#define RG_ICE_TICK_US 5000

typedef enum { IO_CTX, IO_SOCK } io_kind;

struct rg_ice_io {
	io_kind kind;
	int fd;
	rg_ice_loop *loop;
	rg_ice_agent *agent;  /* IO_SOCK */
	unsigned comp;        /* IO_SOCK */
	unsigned gen;         /* IO_CTX: last query that listed the fd */
};

struct rg_ice_loop {
	GMainContext *ctx;
	const rg_ice_poll_ops *ops;
	void *poll_ctx;
	gboolean acquired;
	gboolean prepared;     /* this round ran prepare/query: after_wait must check/dispatch */
	gint hard_dirty;       /* atomic: re-prepare on the next round */
	gboolean soft_dirty;   /* re-prepare once RG_ICE_TICK_US has passed since the last one */
	gint64 last_prepare;
	gint64 deadline;       /* monotonic us of the earliest timer (G_MAXINT64: none) */
	gint n_retired;        /* atomic: retired agents waiting */
	gint max_prio;
	GPollFD *fds;
	gint nfds, fds_alloc;
	GHashTable *ctx_ios;   /* fd -> rg_ice_io (IO_CTX) */
	unsigned gen;
	GMutex retire_lock;
	GPtrArray *retired;    /* rg_ice_agent* */
	/* receive buffers: the loop's thread only */
	uint8_t bufs[RG_ICE_BATCH][RG_ICE_PKT_MAX];
};

struct rg_ice_agent {
	rg_ice_loop *loop;
	NiceAgent *nice;
	guint stream;
	unsigned ncomp;
	rg_ice_cfg cfg;
	char *bind_addr, *advertised;
	rg_ice_callbacks cb;
	void *ud;
	gulong sig_state;
	gint retired;          /* atomic */
	GMutex lock;           /* guards ios and remote credentials */
	GPtrArray *ios;        /* rg_ice_io* (IO_SOCK) */
	char *remote_ufrag, *remote_pwd;
	gint restarting;       /* atomic: an ICE restart has not reached READY yet */
	GRecMutex restart_lock;  /* one restart sequence at a time (signalling vs restart_again);
	                          * recursive: libnice may emit a state change inside one */
};

const char *rg_ice_state_name(rg_ice_state st)
{
	static const char *const n[] = { "disconnected", "gathering", "connecting", "connected",
	                                 "ready", "failed" };
	return (unsigned)st < G_N_ELEMENTS(n) ? n[st] : "?";
}

/* ------------------------------------------------------------------ loop */

rg_ice_loop *rg_ice_loop_new(const rg_ice_poll_ops *ops, void *poll_ctx)
{
	rg_ice_loop *l = g_new0(rg_ice_loop, 1);
	l->ctx = g_main_context_new();
	l->ops = ops;
	l->poll_ctx = poll_ctx;
	l->ctx_ios = g_hash_table_new(g_direct_hash, g_direct_equal);
	g_mutex_init(&l->retire_lock);
	l->retired = g_ptr_array_new();
	g_atomic_int_set(&l->hard_dirty, 1);
	l->deadline = G_MAXINT64;
	return l;
}

static uint32_t gio_to_epoll(gushort ev)
{
	uint32_t e = 0;
	if (ev & G_IO_IN) e |= EPOLLIN;
	if (ev & G_IO_PRI) e |= EPOLLPRI;
	if (ev & G_IO_OUT) e |= EPOLLOUT;
	return e;
}

static gushort epoll_to_gio(uint32_t e)
{
	gushort ev = 0;
	if (e & EPOLLIN) ev |= G_IO_IN;
	if (e & EPOLLPRI) ev |= G_IO_PRI;
	if (e & EPOLLOUT) ev |= G_IO_OUT;
	if (e & EPOLLERR) ev |= G_IO_ERR;
	if (e & EPOLLHUP) ev |= G_IO_HUP;
	return ev;
}

static void agent_free(rg_ice_agent *a);

/* Keeps the epoll set in step with the fds the timer context wants polled (normally just its
 * wake-up eventfd, which other threads write when they attach a timer). */
static void sync_ctx_fds(rg_ice_loop *l)
{
	l->gen++;
	for (gint i = 0; i < l->nfds; i++) {
		rg_ice_io *io = g_hash_table_lookup(l->ctx_ios, GINT_TO_POINTER(l->fds[i].fd));
		if (!io) {
			io = g_new0(rg_ice_io, 1);
			io->kind = IO_CTX;
			io->fd = l->fds[i].fd;
			io->loop = l;
			g_hash_table_insert(l->ctx_ios, GINT_TO_POINTER(io->fd), io);
			l->ops->add(l->poll_ctx, io->fd, gio_to_epoll(l->fds[i].events), io);
		}
		io->gen = l->gen;
	}
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, l->ctx_ios);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		rg_ice_io *io = v;
		if (io->gen != l->gen) {
			l->ops->del(l->poll_ctx, io->fd, io);
			g_hash_table_iter_remove(&it);
			g_free(io);
		}
	}
}

static int clamp_timeout(gint64 us, int max_ms)
{
	gint64 ms = us <= 0 ? 0 : (us + 999) / 1000;
	if (max_ms >= 0 && ms > max_ms)
		ms = max_ms;
	return ms > G_MAXINT ? G_MAXINT : (int)ms;
}

int rg_ice_loop_before_wait(rg_ice_loop *l, int max_ms)
{
	if (!l->acquired) {
		/* The worker owns the context for its whole life: libnice's timers then run here. */
		l->acquired = g_main_context_acquire(l->ctx);
		g_assert(l->acquired);
	}

	if (g_atomic_int_get(&l->n_retired)) {
		g_mutex_lock(&l->retire_lock);
		GPtrArray *dead = l->retired;
		l->retired = g_ptr_array_new();
		g_atomic_int_set(&l->n_retired, 0);
		g_mutex_unlock(&l->retire_lock);
		for (guint i = 0; i < dead->len; i++)
			agent_free(dead->pdata[i]);
		g_ptr_array_free(dead, TRUE);
		g_atomic_int_set(&l->hard_dirty, 1);
	}

	gint64 now = g_get_monotonic_time();
	gboolean soft_due = l->soft_dirty && now - l->last_prepare >= RG_ICE_TICK_US;
	if (!g_atomic_int_get(&l->hard_dirty) && !soft_due && now < l->deadline) {
		/* nothing new for the timers: skip GLib's walk over all sources this round */
		l->prepared = FALSE;
		gint64 wait = l->deadline == G_MAXINT64 ? G_MAXINT64 : l->deadline - now;
		if (l->soft_dirty)
			wait = MIN(wait, l->last_prepare + RG_ICE_TICK_US - now);
		return wait == G_MAXINT64 ? max_ms : clamp_timeout(wait, max_ms);
	}

	gint timeout;
	gboolean ready = g_main_context_prepare(l->ctx, &l->max_prio);
	for (;;) {
		gint n = g_main_context_query(l->ctx, l->max_prio, &timeout, l->fds, l->fds_alloc);
		if (n <= l->fds_alloc) {
			l->nfds = n;
			break;
		}
		l->fds_alloc = n + 4;
		l->fds = g_renew(GPollFD, l->fds, l->fds_alloc);
	}
	l->prepared = TRUE;
	g_atomic_int_set(&l->hard_dirty, 0);
	l->soft_dirty = FALSE;
	l->last_prepare = now;
	for (gint i = 0; i < l->nfds; i++)
		l->fds[i].revents = 0;
	sync_ctx_fds(l);

	if (ready)
		timeout = 0;
	l->deadline = timeout < 0 ? G_MAXINT64 : now + (gint64)timeout * 1000;
	if (timeout < 0)
		return max_ms;
	return clamp_timeout((gint64)timeout * 1000, max_ms);
}

void rg_ice_loop_after_wait(rg_ice_loop *l)
{
	if (!l->prepared)
		return;
	l->prepared = FALSE;
	if (g_main_context_check(l->ctx, l->max_prio, l->fds, l->nfds)) {
		g_main_context_dispatch(l->ctx);
		g_atomic_int_set(&l->hard_dirty, 1);   /* timers ran and may have re-armed */
	} else if (g_get_monotonic_time() >= l->deadline) {
		g_atomic_int_set(&l->hard_dirty, 1);
	}
}

void rg_ice_loop_free(rg_ice_loop *l)
{
	if (!l)
		return;
	g_atomic_int_set(&l->hard_dirty, 1);
	rg_ice_loop_before_wait(l, 0);   /* frees what was retired */
	rg_ice_loop_after_wait(l);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, l->ctx_ios);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		rg_ice_io *io = v;
		l->ops->del(l->poll_ctx, io->fd, io);
		g_free(io);
	}
	g_hash_table_destroy(l->ctx_ios);
	/* let sources destroyed with the agents finalize */
	while (g_main_context_iteration(l->ctx, FALSE))
		;
	if (l->acquired)
		g_main_context_release(l->ctx);
	g_main_context_unref(l->ctx);
	g_ptr_array_free(l->retired, TRUE);
	g_mutex_clear(&l->retire_lock);
	g_free(l->fds);
	g_free(l);
}

/* ------------------------------------------------------------------ receive */

static void sock_readable(rg_ice_io *io)
{
	rg_ice_agent *a = io->agent;
	rg_ice_loop *l = io->loop;
	GInputVector vec[RG_ICE_BATCH];
	NiceAddress from[RG_ICE_BATCH];
	NiceInputMessage msg[RG_ICE_BATCH];
	rg_ice_pkt pkt[RG_ICE_BATCH];

	if (g_atomic_int_get(&a->retired))
		return;
	for (int round = 0; round < 64; round++) {   /* bounded: fairness with other sockets */
		for (int i = 0; i < RG_ICE_BATCH; i++) {
			vec[i].buffer = l->bufs[i];
			vec[i].size = RG_ICE_PKT_MAX;
			msg[i].buffers = &vec[i];
			msg[i].n_buffers = 1;
			msg[i].from = &from[i];
			msg[i].length = 0;
		}
		GError *err = NULL;
		/* libnice iterates the component's private context (only its sockets): STUN is handled
		 * inside, application datagrams land in msg[]. */
		gint n = nice_agent_recv_messages_nonblocking(a->nice, a->stream, io->comp, msg,
		                                              RG_ICE_BATCH, NULL, &err);
		if (n < 0) {
			if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
				g_debug("rg_ice: recv: %s", err->message);
			g_error_free(err);
			return;
		}
		if (n > 0 && a->cb.recv) {
			for (gint i = 0; i < n; i++) {
				pkt[i].buf = l->bufs[i];
				pkt[i].len = msg[i].length;
				nice_address_copy_to_sockaddr(&from[i], (struct sockaddr *)&pkt[i].from);
			}
			a->cb.recv(a, io->comp, pkt, (unsigned)n, a->ud);
		}
		if (n < RG_ICE_BATCH)
			return;
	}
}

void rg_ice_io_ready(rg_ice_io *io, uint32_t revents)
{
	if (io->kind == IO_CTX) {
		rg_ice_loop *l = io->loop;
		/* another thread attached a source (or retired an agent): re-prepare. If this round
		 * was not prepared the fd stays readable (level-triggered) and is seen next round. */
		g_atomic_int_set(&l->hard_dirty, 1);
		if (!l->prepared)
			return;
		for (gint i = 0; i < l->nfds; i++)
			if (l->fds[i].fd == io->fd)
				l->fds[i].revents |= epoll_to_gio(revents) & (l->fds[i].events | G_IO_ERR | G_IO_HUP);
		return;
	}
	sock_readable(io);
	io->loop->soft_dirty = TRUE;
}

/* ------------------------------------------------------------------ agents */

/* An API call may have armed a libnice timer. From another thread GLib wakes the worker through
 * the context's wake-up fd; from the worker thread itself it does not, hence the flag. */
static void touch(rg_ice_agent *a)
{
	g_atomic_int_set(&a->loop->hard_dirty, 1);
}

/* libnice 0.1.21 keeps the selected pair through nice_agent_restart_stream() (so media goes on)
 * and with it that pair's consent timer. When consent on the old pair runs out while the restart's
 * checks are still running (the peer moved: the old path is dead), the component goes FAILED; the
 * next success response to one of our checks then makes libnice signal FAILED -> CONNECTED, which
 * its own state-machine assertion in agent_signal_component_state_change() does not allow:
 * g_assert, abort(), the whole process gone (tests/unit/test_webrtc.c /webrtc/consent-expiry-
 * in-restart, ice/tests/test_ice.c /ice/consent-expiry-in-restart). So a FAILED during a restart
 * restarts the stream once more with the same credentials on both sides and the same remote
 * candidates: FAILED -> GATHERING -> CONNECTING is a path libnice allows, the peer sees nothing
 * change, and the checks start over. Once per restart: a second FAILED is final. Signals are
 * emitted with the agent unlocked, so calling libnice from here is allowed. */
static void restart_again(rg_ice_agent *a, guint comp)
{
	g_rec_mutex_lock(&a->restart_lock);
	GSList *rc = nice_agent_get_remote_candidates(a->nice, a->stream, comp);
	char *lu = NULL, *lp = NULL;
	g_mutex_lock(&a->lock);
	char *ru = g_strdup(a->remote_ufrag), *rp = g_strdup(a->remote_pwd);
	g_mutex_unlock(&a->lock);
	g_debug("rg_ice: component %u failed during an ICE restart: checks start over", comp);
	if (nice_agent_get_local_credentials(a->nice, a->stream, &lu, &lp) &&
	    nice_agent_restart_stream(a->nice, a->stream) &&
	    nice_agent_set_local_credentials(a->nice, a->stream, lu, lp)) {
		/* the peer's may still be on their way (our own restart, rg_ice_restart) */
		if (ru && rp)
			nice_agent_set_remote_credentials(a->nice, a->stream, ru, rp);
		if (rc)
			nice_agent_set_remote_candidates(a->nice, a->stream, comp, rc);
	}
	g_free(ru);
	g_free(rp);
	g_free(lu);
	g_free(lp);
	g_slist_free_full(rc, (GDestroyNotify)nice_candidate_free);
	g_rec_mutex_unlock(&a->restart_lock);
}

static void on_state(NiceAgent *nice, guint stream, guint comp, guint state, gpointer ud)
{
	rg_ice_agent *a = ud;
	if (g_atomic_int_get(&a->retired))
		return;
	if (state == NICE_COMPONENT_STATE_READY)
		g_atomic_int_set(&a->restarting, 0);
	if (a->cb.state)
		a->cb.state(a, comp, (rg_ice_state)state, a->ud);
	/* after the callback: the states of the new round (gathering, connecting) come last */
	if (state == NICE_COMPONENT_STATE_FAILED && g_atomic_int_compare_and_exchange(&a->restarting, 1, 0))
		restart_again(a, comp);
}

rg_ice_agent *rg_ice_agent_new(rg_ice_loop *l, const rg_ice_cfg *cfg, const rg_ice_callbacks *cb,
                               void *ud, char **err)
{
	NiceAddress addr;
	if (!cfg->bind_addr || !nice_address_set_from_string(&addr, cfg->bind_addr)) {
		*err = g_strdup_printf("bad bind address '%s'", cfg->bind_addr ? cfg->bind_addr : "");
		return NULL;
	}
	unsigned ncomp = cfg->components ? cfg->components : 1;
	if (ncomp > 2) {
		*err = g_strdup("at most 2 components");
		return NULL;
	}

	NiceAgentOption opts = NICE_AGENT_OPTION_REGULAR_NOMINATION;
	if (cfg->mode == RG_ICE_LITE)
		opts |= NICE_AGENT_OPTION_LITE_MODE;
	if (cfg->trickle)
		opts |= NICE_AGENT_OPTION_ICE_TRICKLE;
	if (!cfg->no_consent_freshness)
		opts |= NICE_AGENT_OPTION_CONSENT_FRESHNESS;

	rg_ice_agent *a = g_new0(rg_ice_agent, 1);
	a->loop = l;
	a->cfg = *cfg;
	a->bind_addr = g_strdup(cfg->bind_addr);
	a->advertised = cfg->advertised && *cfg->advertised ? g_strdup(cfg->advertised) : NULL;
	a->cfg.bind_addr = a->bind_addr;
	a->cfg.advertised = a->advertised;
	a->ncomp = ncomp;
	if (cb)
		a->cb = *cb;
	a->ud = ud;
	g_mutex_init(&a->lock);
	g_rec_mutex_init(&a->restart_lock);
	a->ios = g_ptr_array_new();

	/* Timers go to the loop's context; sockets are not attached to it (no attach_recv). */
	a->nice = nice_agent_new_full(l->ctx, NICE_COMPATIBILITY_RFC5245, opts);
	g_object_set(a->nice,
	             "controlling-mode", cfg->mode == RG_ICE_LITE ? FALSE : cfg->controlling,
	             "upnp", FALSE,      /* no SSDP multicast from a media server */
	             "ice-tcp", FALSE,
	             "ice-udp", TRUE,
	             NULL);
	nice_agent_add_local_address(a->nice, &addr);
	a->stream = nice_agent_add_stream(a->nice, ncomp);
	if (!a->stream) {
		*err = g_strdup("nice_agent_add_stream failed");
		g_object_unref(a->nice);
		g_ptr_array_free(a->ios, TRUE);
		g_mutex_clear(&a->lock);
		g_rec_mutex_clear(&a->restart_lock);
		g_free(a->bind_addr);
		g_free(a->advertised);
		g_free(a);
		return NULL;
	}
	if (cfg->port_min || cfg->port_max)
		for (unsigned c = 1; c <= ncomp; c++)
			nice_agent_set_port_range(a->nice, a->stream, c, cfg->port_min, cfg->port_max);
	a->sig_state = g_signal_connect(a->nice, "component-state-changed", G_CALLBACK(on_state), a);
	return a;
}

/* Registers the component sockets libnice created that are not in the epoll set yet. */
static void register_fds(rg_ice_agent *a)
{
	g_mutex_lock(&a->lock);
	for (unsigned c = 1; c <= a->ncomp; c++) {
		GPtrArray *socks = nice_agent_get_sockets(a->nice, a->stream, c);
		if (!socks)
			continue;
		for (guint i = 0; i < socks->len; i++) {
			int fd = g_socket_get_fd(socks->pdata[i]);
			gboolean have = FALSE;
			for (guint j = 0; j < a->ios->len; j++)
				if (((rg_ice_io *)a->ios->pdata[j])->fd == fd)
					have = TRUE;
			if (have)
				continue;
			rg_ice_io *io = g_new0(rg_ice_io, 1);
			io->kind = IO_SOCK;
			io->fd = fd;
			io->loop = a->loop;
			io->agent = a;
			io->comp = c;
			g_ptr_array_add(a->ios, io);
			a->loop->ops->add(a->loop->poll_ctx, fd, EPOLLIN, io);
		}
		g_ptr_array_unref(socks);
	}
	g_mutex_unlock(&a->lock);
}

int rg_ice_gather(rg_ice_agent *a, char **err)
{
	touch(a);
	if (!nice_agent_gather_candidates(a->nice, a->stream)) {
		*err = g_strdup_printf("gathering on %s failed (no host candidate could be bound)", a->bind_addr);
		return -1;
	}
	register_fds(a);
	return 0;
}

void rg_ice_local_credentials(rg_ice_agent *a, char **ufrag, char **pwd)
{
	nice_agent_get_local_credentials(a->nice, a->stream, ufrag, pwd);
}

int rg_ice_set_local_credentials(rg_ice_agent *a, const char *ufrag, const char *pwd)
{
	touch(a);
	if (!ufrag || !pwd)
		return -1;
	return nice_agent_set_local_credentials(a->nice, a->stream, ufrag, pwd) ? 0 : -1;
}

/* "a=candidate:F C UDP P ADDR PORT typ host ..." -> value without "a=", ADDR replaced. */
static char *candidate_value(rg_ice_agent *a, NiceCandidate *c)
{
	char *line = nice_agent_generate_local_candidate_sdp(a->nice, c);
	if (!line)
		return NULL;
	const char *v = g_str_has_prefix(line, "a=") ? line + 2 : line;
	char *out;
	if (a->advertised && c->type == NICE_CANDIDATE_TYPE_HOST) {
		char **tok = g_strsplit(v, " ", -1);
		if (g_strv_length(tok) > 5 && strcmp(tok[4], a->bind_addr) == 0) {
			g_free(tok[4]);
			tok[4] = g_strdup(a->advertised);
		}
		out = g_strjoinv(" ", tok);
		g_strfreev(tok);
	} else {
		out = g_strdup(v);
	}
	g_free(line);
	return out;
}

char **rg_ice_local_candidates(rg_ice_agent *a)
{
	GPtrArray *out = g_ptr_array_new();
	for (unsigned c = 1; c <= a->ncomp; c++) {
		GSList *cands = nice_agent_get_local_candidates(a->nice, a->stream, c);
		for (GSList *i = cands; i; i = i->next) {
			char *v = candidate_value(a, i->data);
			if (v)
				g_ptr_array_add(out, v);
		}
		g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
	}
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

int rg_ice_set_remote_credentials(rg_ice_agent *a, const char *ufrag, const char *pwd)
{
	touch(a);
	if (!ufrag || !pwd || !*ufrag || !*pwd)
		return -1;
	int restart = 0;
	g_rec_mutex_lock(&a->restart_lock);
	g_mutex_lock(&a->lock);
	if (a->remote_ufrag && (strcmp(a->remote_ufrag, ufrag) != 0 || strcmp(a->remote_pwd, pwd) != 0))
		restart = 1;
	g_free(a->remote_ufrag);
	g_free(a->remote_pwd);
	a->remote_ufrag = g_strdup(ufrag);
	a->remote_pwd = g_strdup(pwd);
	g_mutex_unlock(&a->lock);
	/* RFC 8445 sec. 9: new ufrag/pwd from the peer = ICE restart; we answer with new ones too.
	 * nice_agent_restart_stream drops remote candidates and checks, keeps local candidates (and
	 * so the sockets in the epoll set) and the selected pair until a new one is nominated. */
	if (restart)
		g_atomic_int_set(&a->restarting, 1);
	if ((restart && !nice_agent_restart_stream(a->nice, a->stream)) ||
	    !nice_agent_set_remote_credentials(a->nice, a->stream, ufrag, pwd))
		restart = -1;
	g_rec_mutex_unlock(&a->restart_lock);
	return restart;
}

int rg_ice_add_remote_candidate(rg_ice_agent *a, const char *line)
{
	touch(a);
	char *l = g_strstrip(g_strdup(line));
	char *sdp = g_str_has_prefix(l, "a=") ? g_strdup(l) : g_strconcat("a=", l, NULL);
	g_free(l);
	NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(a->nice, a->stream, sdp);
	int ret;
	if (!c) {
		/* libnice refuses what it cannot parse, hostnames (mDNS .local) included */
		ret = strstr(sdp, ".local ") ? 0 : -1;
	} else if (c->transport != NICE_CANDIDATE_TRANSPORT_UDP || c->component_id < 1 ||
	           c->component_id > a->ncomp) {
		ret = 0;
	} else {
		GSList one = { c, NULL };
		ret = nice_agent_set_remote_candidates(a->nice, a->stream, c->component_id, &one) > 0 ? 1 : 0;
	}
	if (c)
		nice_candidate_free(c);
	g_free(sdp);
	return ret;
}

void rg_ice_end_of_candidates(rg_ice_agent *a)
{
	touch(a);
	nice_agent_peer_candidate_gathering_done(a->nice, a->stream);
}

int rg_ice_restart(rg_ice_agent *a)
{
	touch(a);
	g_mutex_lock(&a->lock);
	g_clear_pointer(&a->remote_ufrag, g_free);
	g_clear_pointer(&a->remote_pwd, g_free);
	g_mutex_unlock(&a->lock);
	g_rec_mutex_lock(&a->restart_lock);
	g_atomic_int_set(&a->restarting, 1);
	int r = nice_agent_restart_stream(a->nice, a->stream) ? 0 : -1;
	g_rec_mutex_unlock(&a->restart_lock);
	return r;
}

rg_ice_state rg_ice_get_state(rg_ice_agent *a, unsigned comp)
{
	return (rg_ice_state)nice_agent_get_component_state(a->nice, a->stream, comp);
}

int rg_ice_send(rg_ice_agent *a, unsigned comp, const struct iovec *msgs, unsigned n)
{
	GOutputVector vec[RG_ICE_BATCH];
	NiceOutputMessage out[RG_ICE_BATCH];
	int total = 0;
	while (n > 0) {
		unsigned k = MIN(n, RG_ICE_BATCH);
		for (unsigned i = 0; i < k; i++) {
			vec[i].buffer = msgs[i].iov_base;
			vec[i].size = msgs[i].iov_len;
			out[i].buffers = &vec[i];
			out[i].n_buffers = 1;
		}
		GError *err = NULL;
		gint s = nice_agent_send_messages_nonblocking(a->nice, a->stream, comp, out, k, NULL, &err);
		if (s < 0) {
			g_debug("rg_ice: send: %s", err->message);
			g_error_free(err);
			return total ? total : -1;
		}
		total += s;
		if ((unsigned)s < k)
			break;
		msgs += k;
		n -= k;
	}
	return total;
}

int rg_ice_selected(rg_ice_agent *a, unsigned comp, int *fd, struct sockaddr_storage *peer)
{
	NiceCandidate *lc = NULL, *rc = NULL;
	if (!nice_agent_get_selected_pair(a->nice, a->stream, comp, &lc, &rc))
		return -1;
	/* the candidates belong to the agent: copy the address out at once */
	memset(peer, 0, sizeof *peer);
	nice_address_copy_to_sockaddr(&rc->addr, (struct sockaddr *)peer);
	GSocket *s = nice_agent_get_selected_socket(a->nice, a->stream, comp);
	if (!s)
		return -1;
	*fd = g_socket_get_fd(s);
	g_object_unref(s);   /* the agent keeps its own reference */
	return 0;
}

unsigned rg_ice_fds(rg_ice_agent *a, int *fds, unsigned max)
{
	unsigned n = 0;
	g_mutex_lock(&a->lock);
	for (guint i = 0; i < a->ios->len && n < max; i++)
		fds[n++] = ((rg_ice_io *)a->ios->pdata[i])->fd;
	g_mutex_unlock(&a->lock);
	return n;
}

int rg_ice_revoke_consent(rg_ice_agent *a, unsigned comp)
{
	touch(a);
	return nice_agent_consent_lost(a->nice, a->stream, comp) ? 0 : -1;
}

void rg_ice_agent_retire(rg_ice_agent *a)
{
	if (!g_atomic_int_compare_and_exchange(&a->retired, 0, 1))
		return;
	g_mutex_lock(&a->lock);
	for (guint i = 0; i < a->ios->len; i++) {
		rg_ice_io *io = a->ios->pdata[i];
		a->loop->ops->del(a->loop->poll_ctx, io->fd, io);
	}
	g_mutex_unlock(&a->lock);
	g_mutex_lock(&a->loop->retire_lock);
	g_ptr_array_add(a->loop->retired, a);
	g_atomic_int_inc(&a->loop->n_retired);
	g_mutex_unlock(&a->loop->retire_lock);
	g_main_context_wakeup(a->loop->ctx);   /* the worker frees it on its next round */
}

/* Worker thread, between two batches. */
static void agent_free(rg_ice_agent *a)
{
	g_signal_handler_disconnect(a->nice, a->sig_state);
	nice_agent_remove_stream(a->nice, a->stream);
	g_object_unref(a->nice);   /* closes the sockets */
	for (guint i = 0; i < a->ios->len; i++)
		g_free(a->ios->pdata[i]);
	g_ptr_array_free(a->ios, TRUE);
	g_mutex_clear(&a->lock);
	g_rec_mutex_clear(&a->restart_lock);
	g_free(a->remote_ufrag);
	g_free(a->remote_pwd);
	g_free(a->bind_addr);
	g_free(a->advertised);
	g_free(a);
}
