#include "engine.h"
#include "transcode.h"
#include "call.h"
#include "log.h"
#include "ng.h"
#include "ports.h"
#include "recording.h"
#include "rtpp.h"
#include "stats.h"
#include "webrtc.h"
#include "worker.h"

#include <errno.h>
#include <stdio.h>

static struct {
	unsigned timeout, silent_timeout, final_timeout, offer_timeout;
	GSource *timer;
	bool running;
} eng;

static bool call_on_hold(rg_call *c)
{
	bool any = false;
	for (guint i = 0; i < c->parties->len; i++) {
		rg_party *p = c->parties->pdata[i];
		for (guint j = 0; j < p->medias->len; j++) {
			rg_media *m = p->medias->pdata[j];
			if (m->rejected)
				continue;
			any = true;
			if (m->dir == SDP_SENDRECV)
				return false;
		}
	}
	return any;
}

static int64_t last_media(rg_call *c)
{
	int64_t t = 0;
	for (guint i = 0; i < c->parties->len; i++) {
		rg_party *p = c->parties->pdata[i];
		for (guint j = 0; j < p->medias->len; j++) {
			rg_media *m = p->medias->pdata[j];
			int64_t a = __atomic_load_n(&m->rtp.last_packet, __ATOMIC_RELAXED);
			int64_t b = __atomic_load_n(&m->rtcp.last_packet, __ATOMIC_RELAXED);
			if (a > t)
				t = a;
			if (b > t)
				t = b;
		}
	}
	return t;
}

typedef struct tick_ctx {
	int64_t now;
	GPtrArray *notify;         /* char* pairs: rtpproxy notify socket, message */
} tick_ctx;

/* Why call c ends at time t->now (unix s), or NULL. rg_calls_lock held. */
static const char *tick_verdict(rg_call *c, void *ud)
{
	tick_ctx *t = ud;
	int64_t now = t->now;
	const char *reason = NULL;
	g_mutex_lock(&c->lock);
	int64_t lm = last_media(c);
	int64_t since = lm > c->last_signal ? lm : c->last_signal;
	unsigned to = call_on_hold(c) ? eng.silent_timeout : eng.timeout;
	if (c->delete_at && now >= c->delete_at) {
		reason = "delete delay expired";
	} else if (eng.final_timeout && now - c->created >= eng.final_timeout) {
		reason = "final timeout";
		rg_ctr_inc(RG_CTR_CALLS_FINAL_TIMEOUT);
	} else if (!c->answered && eng.offer_timeout && now - c->last_signal >= eng.offer_timeout) {
		reason = "offer timeout (never answered)";
		rg_ctr_inc(RG_CTR_CALLS_OFFER_TIMEOUT);
	} else if (c->answered && to && now - since >= to) {
		reason = "media timeout";
		rg_ctr_inc(RG_CTR_CALLS_TIMEOUT);
		if (c->notify_sock) {   /* rtpproxy: tell the notify socket (sent after the locks) */
			g_ptr_array_add(t->notify, g_strdup(c->notify_sock));
			g_ptr_array_add(t->notify, g_strdup_printf("%s\n", c->notify_tag ? c->notify_tag : c->call_id));
		}
	}
	g_mutex_unlock(&c->lock);
	return reason;
}

void rg_engine_tick(int64_t now)
{
	tick_ctx t = { now, g_ptr_array_new_with_free_func(g_free) };
	rg_calls_destroy_where(tick_verdict, &t);
	for (guint i = 0; i + 1 < t.notify->len; i += 2) {
		char *err = NULL;
		const char *sock = t.notify->pdata[i], *msg = t.notify->pdata[i + 1];
		if (rtpp_notify(sock, msg, &err) < 0)
			rg_log(RG_LOG_WARN, "rtpproxy: session-timeout notification to %s failed: %s", sock, err);
		else
			rg_log(RG_LOG_INFO, "rtpproxy: session timeout notified to %s: %.*s", sock,
			       (int)strcspn(msg, "\n"), msg);
		g_free(err);
	}
	g_ptr_array_free(t.notify, TRUE);
	ng_cache_age();
}

static gboolean timer_cb(gpointer data)
{
	rg_engine_tick(rg_now());
	return G_SOURCE_CONTINUE;
}

int rg_engine_start(const rg_config *cfg, GMainContext *ctx, char **err)
{
	int ret;
	rg_calls_init();
	guint32 a = g_random_int(), b = g_random_int();
	snprintf(rg_instance_id, sizeof(rg_instance_id), "%08x%08x", a, b);
	eng.timeout = cfg->timeout;
	eng.silent_timeout = cfg->silent_timeout;
	eng.final_timeout = cfg->final_timeout;
	eng.offer_timeout = cfg->offer_timeout;
	rg_default_delete_delay = cfg->delete_delay;
	rg_max_sessions = cfg->max_sessions;
	rg_transcode_configure(cfg->dtx_delay, cfg->max_dtx);

	rg_ifaces = g_ptr_array_new_with_free_func((GDestroyNotify)rg_iface_free);
	for (guint i = 0; i < cfg->interfaces->len; i++) {
		const rg_iface_cfg *ic = cfg->interfaces->pdata[i];
		rg_iface *ifc = rg_iface_new(ic->name, ic->addr, ic->advertised, cfg->port_min, cfg->port_max, err);
		if (!ifc)
			return -EINVAL;
		g_ptr_array_add(rg_ifaces, ifc);
		rg_log(RG_LOG_INFO, "media interface %s: %s (advertised %s), ports %u-%u", ifc->name,
		       ifc->addr, ifc->advertised, ifc->port_min, ifc->port_max);
	}
	ret = rg_webrtc_init(err);
	if (ret < 0)
		return ret;
	ret = rg_workers_start(cfg->num_threads, err);
	if (ret < 0)
		return ret;
	eng.running = true;
	ret = rg_rec_init(cfg, rg_num_workers, err);   /* nothing without recording-dir */
	if (ret < 0)
		return ret;
	for (guint i = 0; i < cfg->listen_ng->len; i++) {
		ret = ng_listen(cfg->listen_ng->pdata[i], ctx, err);
		if (ret < 0)
			return ret;
	}
	ret = rtpp_start(cfg, ctx, err);
	if (ret < 0)
		return ret;
	eng.timer = g_timeout_source_new_seconds(1);
	g_source_set_callback(eng.timer, timer_cb, NULL, NULL);
	g_source_attach(eng.timer, ctx);
	return 0;
}

void rg_engine_stop(void)
{
	if (eng.timer) {
		g_source_destroy(eng.timer);
		g_source_unref(eng.timer);
		eng.timer = NULL;
	}
	ng_shutdown();
	rtpp_stop();
	unsigned n = rg_calls ? rg_calls_count() : 0;
	if (rg_calls)
		rg_calls_destroy_all();
	if (eng.running)
		rg_workers_stop();
	eng.running = false;
	rg_rec_shutdown();   /* after the workers: nothing is queued any more */
	if (rg_ifaces) {
		g_ptr_array_free(rg_ifaces, TRUE);
		rg_ifaces = NULL;
	}
	rg_webrtc_cleanup();
	rg_log(RG_LOG_INFO, "engine stopped, %u calls torn down", n);
}
