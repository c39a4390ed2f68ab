#include "call.h"
#include "codec_neg.h"
#include "log.h"
#include "recording.h"
#include "player.h"
#include "repack.h"
#include "stats.h"
#include "sdes.h"
#include "webrtc.h"
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

static void party_free(rg_party *p);

GMutex rg_calls_lock;
GHashTable *rg_calls;
unsigned rg_max_sessions;

int64_t rg_now(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

int64_t rg_mono_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

void rg_calls_init(void)
{
	if (!rg_calls)
		rg_calls = g_hash_table_new(g_str_hash, g_str_equal);
}

rg_call *rg_call_get(const char *call_id)
{
	g_mutex_lock(&rg_calls_lock);
	rg_call *c = g_hash_table_lookup(rg_calls, call_id);
	if (c)
		rg_call_ref(c);
	g_mutex_unlock(&rg_calls_lock);
	return c;
}

rg_call *rg_call_create(const char *call_id, const char **err)
{
	g_mutex_lock(&rg_calls_lock);
	if (rg_max_sessions && g_hash_table_size(rg_calls) >= rg_max_sessions) {
		g_mutex_unlock(&rg_calls_lock);
		*err = "Parallel session limit reached";
		return NULL;
	}
	rg_call *c = g_new0(rg_call, 1);
	c->ref = 2;  /* the table's and the caller's */
	c->call_id = g_strdup(call_id);
	g_mutex_init(&c->lock);
	c->worker = rg_worker_pick();
	int64_t us = g_get_real_time();
	c->created = us / G_USEC_PER_SEC;
	c->created_us = us % G_USEC_PER_SEC;
	c->last_signal = c->created;
	c->parties = g_ptr_array_new();
	c->graveyard = g_ptr_array_new_with_free_func((GDestroyNotify)party_free);
	g_hash_table_insert(rg_calls, c->call_id, c);
	g_mutex_unlock(&rg_calls_lock);
	rg_ctr_inc(RG_CTR_CALLS_CREATED);
	rg_clog(RG_LOG_INFO, call_id, "call created (worker %u)", c->worker->index);
	return c;
}

void rg_call_ref(rg_call *c)
{
	g_atomic_int_inc(&c->ref);
}

static void media_free(rg_media *m)
{
	if (!m->wrtc_member)
		rg_webrtc_free(m->wrtc);   /* a BUNDLE member's transport belongs to its owner */
	rg_sdes_free(m->sdes);
	rg_player_free(m->player);   /* no worker watches it any more: the call is being freed */
	g_free(m->rtpp_pts);
	rg_repack_free(m->repack);
	rg_media_codecs_free(m->codecs);
	g_free(m->type);
	g_free(m->proto);
	g_free(m);
}

static void party_free(rg_party *p)
{
	g_ptr_array_free(p->medias, TRUE);
	g_ptr_array_free(p->old_tags, TRUE);
	g_free(p->tag);
	g_free(p->via_branch);
	g_free(p->label);
	g_free(p->last_sdp);
	g_free(p);
}

void rg_call_unref(rg_call *c)
{
	if (!g_atomic_int_dec_and_test(&c->ref))
		return;
	rg_rec_call_freed(c);   /* the recording's files are finished by its writer thread */
	for (guint i = 0; i < c->parties->len; i++)
		party_free(c->parties->pdata[i]);
	g_ptr_array_free(c->parties, TRUE);
	g_ptr_array_free(c->graveyard, TRUE);
	g_mutex_clear(&c->lock);
	g_free(c->metadata);
	g_free(c->notify_sock);
	g_free(c->notify_tag);
	g_free(c->call_id);
	g_free(c);
}

static void retire_stream_sock(rg_call *c, rg_stream *st)
{
	if (!st->sock)
		return;
	st->sock->stream = NULL;   /* the worker checks this under the call lock */
	rg_worker_retire_sock(st->sock->worker, st->sock);
	st->sock = NULL;
}

void rg_call_destroy(rg_call *c, const char *reason)
{
	g_mutex_lock(&rg_calls_lock);
	bool in_table = g_hash_table_lookup(rg_calls, c->call_id) == c;
	if (in_table)
		g_hash_table_remove(rg_calls, c->call_id);
	g_mutex_unlock(&rg_calls_lock);

	g_mutex_lock(&c->lock);
	if (c->dead) {
		g_mutex_unlock(&c->lock);
		return;
	}
	c->dead = true;
	uint64_t pk = 0;
	for (guint i = 0; i < c->parties->len; i++) {
		rg_party *p = c->parties->pdata[i];
		for (guint j = 0; j < p->medias->len; j++) {
			rg_media *m = p->medias->pdata[j];
			pk += m->rtp.packets + m->rtcp.packets;
			retire_stream_sock(c, &m->rtp);
			retire_stream_sock(c, &m->rtcp);
		}
	}
	g_mutex_unlock(&c->lock);
	rg_ctr_inc(RG_CTR_CALLS_DELETED);
	rg_clog(RG_LOG_INFO, c->call_id, "call deleted (%s), %" G_GUINT64_FORMAT " packets received in all",
		reason, pk);
	if (in_table)
		rg_call_unref(c);  /* the table's reference */
}

unsigned rg_calls_destroy_where(const char *(*verdict)(rg_call *c, void *ud), void *ud)
{
	GPtrArray *doomed = g_ptr_array_new();
	GPtrArray *why = g_ptr_array_new();
	g_mutex_lock(&rg_calls_lock);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, rg_calls);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		const char *reason = verdict(v, ud);
		if (reason) {
			rg_call_ref(v);
			g_ptr_array_add(doomed, v);
			g_ptr_array_add(why, (gpointer)reason);
		}
	}
	g_mutex_unlock(&rg_calls_lock);
	unsigned n = doomed->len;
	for (guint i = 0; i < n; i++) {
		rg_call_destroy(doomed->pdata[i], why->pdata[i]);
		rg_call_unref(doomed->pdata[i]);
	}
	g_ptr_array_free(doomed, TRUE);
	g_ptr_array_free(why, TRUE);
	return n;
}

static const char *verdict_all(rg_call *c, void *ud)
{
	return "shutdown";
}

void rg_calls_destroy_all(void)
{
	rg_calls_destroy_where(verdict_all, NULL);
}

unsigned rg_calls_count(void)
{
	g_mutex_lock(&rg_calls_lock);
	unsigned n = g_hash_table_size(rg_calls);
	g_mutex_unlock(&rg_calls_lock);
	return n;
}

rg_party *rg_party_new(rg_call *c, const char *tag, const char *via_branch)
{
	rg_party *p = g_new0(rg_party, 1);
	p->call = c;
	p->tag = g_strdup(tag);
	p->via_branch = g_strdup(via_branch);
	p->created = rg_now();
	p->medias = g_ptr_array_new_with_free_func((GDestroyNotify)media_free);
	p->old_tags = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(c->parties, p);
	return p;
}

void rg_call_remove_party(rg_call *c, rg_party *p)
{
	for (guint j = 0; j < p->medias->len; j++) {
		rg_media *m = p->medias->pdata[j];
		retire_stream_sock(c, &m->rtp);
		retire_stream_sock(c, &m->rtcp);
		if (m->wrtc && !m->wrtc_member)
			rg_webrtc_detach(m->wrtc);
		if (m->player)
			rg_player_detach(m->player);
		if (m->peer && m->peer->peer == m)
			m->peer->peer = NULL;
		m->peer = NULL;
	}
	for (guint i = 0; i < c->parties->len; i++) {
		rg_party *q = c->parties->pdata[i];
		if (q->peer == p)
			q->peer = NULL;
	}
	g_ptr_array_remove(c->parties, p);
	g_ptr_array_add(c->graveyard, p);
}

rg_party *rg_party_find(rg_call *c, const char *tag)
{
	if (!tag)
		return NULL;
	for (guint i = 0; i < c->parties->len; i++) {
		rg_party *p = c->parties->pdata[i];
		if (p->tag && strcmp(p->tag, tag) == 0)
			return p;
	}
	for (guint i = 0; i < c->parties->len; i++) {
		rg_party *p = c->parties->pdata[i];
		for (guint j = 0; j < p->old_tags->len; j++)
			if (strcmp(p->old_tags->pdata[j], tag) == 0)
				return p;
	}
	return NULL;
}

static rg_sock *sock_new(rg_call *c, rg_stream *st, int fd, unsigned port, rg_iface *ifc)
{
	rg_sock *s = g_new0(rg_sock, 1);
	s->fd = fd;
	s->port = port;
	s->iface = ifc;
	s->stream = st;
	s->call = c;
	rg_call_ref(c);
	return s;
}

rg_media *rg_media_ensure(rg_party *p, unsigned index, rg_iface *iface, const char **err)
{
	while (p->medias->len < index) {
		rg_media *m = g_new0(rg_media, 1);
		m->party = p;
		m->index = p->medias->len + 1;
		m->rtp.media = m;
		m->rtcp.media = m;
		m->rtcp.is_rtcp = true;
		g_ptr_array_add(p->medias, m);
	}
	rg_media *m = p->medias->pdata[index - 1];
	if (m->rtp.sock)
		return m;
	int fds[2];
	unsigned port;
	if (rg_iface_alloc_pair(iface, fds, &port) < 0) {
		rg_ctr_inc(RG_CTR_PORTS_EXHAUSTED);
		*err = "Ran out of ports";
		return NULL;
	}
	rg_call *c = p->call;
	m->iface = iface;
	m->rtp.sock = sock_new(c, &m->rtp, fds[0], port, iface);
	m->rtcp.sock = sock_new(c, &m->rtcp, fds[1], port + 1, iface);
	if (rg_worker_add_sock(c->worker, m->rtp.sock) < 0 || rg_worker_add_sock(c->worker, m->rtcp.sock) < 0) {
		*err = "Failed to register media socket";
		return NULL;
	}
	return m;
}

void rg_media_set_endpoints(rg_media *m, const rg_endpoint *rtp, const rg_endpoint *rtcp)
{
	if (!rg_endpoint_eq(rtp, &m->rtp.sdp_ep)) {
		m->rtp.sdp_ep = *rtp;
		m->rtp.latched = false;
	}
	if (!rg_endpoint_eq(rtcp, &m->rtcp.sdp_ep)) {
		m->rtcp.sdp_ep = *rtcp;
		m->rtcp.latched = false;
	}
}

void rg_media_release(rg_media *m)
{
	rg_call *c = m->party->call;
	retire_stream_sock(c, &m->rtp);
	retire_stream_sock(c, &m->rtcp);
}

bool rg_endpoint_from_str(rg_endpoint *ep, const char *addr, unsigned port)
{
	memset(ep, 0, sizeof(*ep));
	if (!addr || port == 0 || port > 65535)
		return false;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ep->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ep->ss;
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		if (sin->sin_addr.s_addr == 0)
			return false;   /* 0.0.0.0: on hold, nowhere to send */
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		ep->len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
			return false;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		ep->len = sizeof(*sin6);
	} else {
		return false;
	}
	ep->set = true;
	return true;
}

bool rg_endpoint_eq(const rg_endpoint *a, const rg_endpoint *b)
{
	return a->set == b->set && a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

void rg_endpoint_format(const rg_endpoint *ep, char *buf, size_t len, unsigned *port)
{
	buf[0] = '\0';
	*port = 0;
	if (!ep->set)
		return;
	if (ep->ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&ep->ss;
		inet_ntop(AF_INET, &sin->sin_addr, buf, len);
		*port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)&ep->ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, len);
		*port = ntohs(sin6->sin6_port);
	}
}
