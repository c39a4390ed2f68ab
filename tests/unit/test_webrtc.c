/* WebRTC legs through the real gateway: the engine is started in-process, NG requests go through
 * ng_process(), and the browser is made here from the project's own libraries: an rg_ice agent
 * (full ICE, trickle; controlling when it offers, controlled when it answers) polled by its own
 * epoll thread, an rg_dtls endpoint and an rg_srtp session. The SIP side is a plain UDP socket.
 * What each case proves is said above it. ~60 s under ASan, most of it in the consent cases
 * (libnice's consent timeout is 10 s).
 *
 *   browser (rg_ice + rg_dtls + rg_srtp)  <-ICE/DTLS-SRTP->  rtpgate  <-plain RTP->  SIP socket
 */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bencode.h"
#include "call.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "ng.h"
#include "rg_dtls.h"
#include "rg_ice.h"
#include "stats.h"
#include "webrtc.h"
#include "ng_harness.h"

#define PORT_MIN 21300
#define PORT_MAX 21363
#define PAYLOAD 160
enum { DEAF_NO, DEAF_LISTEN, DEAF_GONE };

/* ------------------------------------------------------------------ the browser */

typedef struct browser {
	/* its own "worker": an epoll set, the rg_ice loop and the DTLS timers, in one thread */
	int epfd;
	rg_ice_loop *loop;
	GThread *thread;
	gint stop;
	rg_ice_agent *ice;      /* replaced (test thread) only with the lock held */
	bool controlled;        /* the browser answered rtpgate's offer (set before browser_new) */
	gint state;             /* rg_ice_state of component 1, atomic */
	gint n_ready;           /* transitions to READY, atomic */

	GMutex lock;            /* guards what follows (worker thread vs test thread) */
	rg_dtls_cert *cert;
	char fp[RG_DTLS_FP_MAX];
	rg_dtls *dtls;
	bool dtls_started;
	rg_srtp *srtp;
	GPtrArray *rx;          /* GBytes: RTP received (after SRTP unprotect) */
	unsigned srtp_errors, rx_other;

	/* deaf: the browser stops answering STUN. The worker takes the agent's socket out of its
	 * epoll set and reads it raw itself: libnice sees nothing any more (no consent answers),
	 * while the test still sees what rtpgate sends. DEAF_LISTEN: the browser's libnice timers
	 * still run (it keeps sending its own consent checks); DEAF_GONE: they stop too (nothing
	 * comes from the browser any more, as when its host went away). */
	gint deaf;
	bool deaf_done;
	struct { int fd; rg_ice_io *io; } ios[8];   /* what the loop registered, to put back */
	bool hold_new;          /* sockets of agents made from now on stay out of epoll */
	int sock_fd;
	gint raw_srtp, raw_stun;  /* atomic */
	gint64 raw_last_srtp;     /* monotonic us, guarded by the lock */
} browser;

static int b_add(void *ctx, int fd, uint32_t events, rg_ice_io *io)
{
	browser *b = ctx;
	for (unsigned i = 0; i < G_N_ELEMENTS(b->ios); i++)
		if (!b->ios[i].io || b->ios[i].fd == fd) {
			b->ios[i].fd = fd;
			b->ios[i].io = io;
			break;
		}
	if (b->hold_new && events == EPOLLIN)
		return 0;   /* an agent socket kept out of the epoll set: nobody reads it */
	struct epoll_event ev = { .events = events, .data.ptr = io };
	return epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void b_del(void *ctx, int fd, rg_ice_io *io)
{
	browser *b = ctx;
	for (unsigned i = 0; i < G_N_ELEMENTS(b->ios); i++)
		if (b->ios[i].io == io)
			b->ios[i].io = NULL;
	epoll_ctl(b->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static const rg_ice_poll_ops b_ops = { b_add, b_del };

static void b_dtls_send(void *arg, const uint8_t *buf, size_t len)
{
	browser *b = arg;
	struct iovec v = { (void *)buf, len };
	rg_ice_send(b->ice, 1, &v, 1);   /* lost before ICE has a pair: DTLS retransmits */
}

static void b_recv(rg_ice_agent *a, unsigned comp, const rg_ice_pkt *pkts, unsigned n, void *ud)
{
	browser *b = ud;
	g_mutex_lock(&b->lock);
	for (unsigned i = 0; i < n; i++) {
		switch (rg_demux_classify(pkts[i].buf, pkts[i].len)) {
		case RG_DEMUX_DTLS:
			if (b->dtls)
				rg_dtls_input(b->dtls, pkts[i].buf, pkts[i].len);
			break;
		case RG_DEMUX_RTP: {
			uint8_t buf[2048];
			size_t len = pkts[i].len;
			if (!b->srtp || len > sizeof(buf)) {
				b->srtp_errors++;
				break;
			}
			memcpy(buf, pkts[i].buf, len);
			bool rtcp = rg_demux_is_rtcp(buf, len);
			int r = rtcp ? rg_srtp_unprotect_rtcp(b->srtp, buf, &len) : rg_srtp_unprotect_rtp(b->srtp, buf, &len);
			if (r < 0)
				b->srtp_errors++;
			else if (!rtcp)
				g_ptr_array_add(b->rx, g_bytes_new(buf, len));
			break;
		}
		default:
			b->rx_other++;
			break;
		}
	}
	g_mutex_unlock(&b->lock);
}

static void b_state(rg_ice_agent *a, unsigned comp, rg_ice_state st, void *ud)
{
	browser *b = ud;
	if (comp != 1)
		return;
	g_test_message("browser: ICE %s", rg_ice_state_name(st));
	g_atomic_int_set(&b->state, (gint)st);
	if (st == RG_ICE_READY)
		g_atomic_int_inc(&b->n_ready);
}

static const rg_ice_callbacks b_cb = { b_recv, b_state };

/* DTLS of the browser (worker thread): start once ICE has a pair, retransmit, keys to SRTP. */
static void b_dtls_tick(browser *b)
{
	g_mutex_lock(&b->lock);
	if (b->dtls && rg_dtls_get_role(b->dtls) != RG_DTLS_ROLE_UNSET) {
		gint st = g_atomic_int_get(&b->state);
		if (!b->dtls_started && (st == RG_ICE_CONNECTED || st == RG_ICE_READY)) {
			b->dtls_started = true;
			rg_dtls_start(b->dtls);
		}
		if (b->dtls_started && rg_dtls_timeout_ms(b->dtls) == 0)
			rg_dtls_handle_timeout(b->dtls);
		if (!b->srtp && rg_dtls_state(b->dtls, NULL) == RG_DTLS_CONNECTED) {
			rg_srtp_keys k;
			g_assert_cmpint(rg_dtls_srtp_keys(b->dtls, &k), ==, 0);
			g_assert_cmpint(rg_srtp_new(&b->srtp, &k, rg_dtls_is_client(b->dtls)), ==, 0);
			rg_srtp_keys_wipe(&k);
		}
	}
	g_mutex_unlock(&b->lock);
}

static void b_deaf_read(browser *b)
{
	if (!b->deaf_done) {
		epoll_ctl(b->epfd, EPOLL_CTL_DEL, b->sock_fd, NULL);
		b->deaf_done = true;
	}
	uint8_t buf[2048];
	ssize_t n;
	while ((n = recv(b->sock_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		if (buf[0] < 4) {
			g_atomic_int_inc(&b->raw_stun);
		} else if (buf[0] >= 128 && buf[0] < 192) {
			g_atomic_int_inc(&b->raw_srtp);
			g_mutex_lock(&b->lock);
			b->raw_last_srtp = g_get_monotonic_time();
			g_mutex_unlock(&b->lock);
		}
	}
}

/* The browser answers again: its socket goes back into its epoll set. */
static void b_undeaf(browser *b)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(b->ios); i++)
		if (b->ios[i].io && b->ios[i].fd == b->sock_fd) {
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = b->ios[i].io };
			g_assert_cmpint(epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->sock_fd, &ev), ==, 0);
		}
	b->deaf_done = false;
}

static gpointer b_thread(gpointer p)
{
	browser *b = p;
	struct epoll_event ev[32];
	while (!g_atomic_int_get(&b->stop)) {
		if (!g_atomic_int_get(&b->deaf) && b->deaf_done)
			b_undeaf(b);
		if (g_atomic_int_get(&b->deaf) == DEAF_GONE) {
			/* no libnice at all any more: neither answers nor checks of its own */
			b_deaf_read(b);
			g_usleep(2000);
			continue;
		}
		int t = rg_ice_loop_before_wait(b->loop, 5);
		int n = epoll_wait(b->epfd, ev, G_N_ELEMENTS(ev), t);
		for (int i = 0; i < n; i++)
			rg_ice_io_ready(ev[i].data.ptr, ev[i].events);
		rg_ice_loop_after_wait(b->loop);
		if (g_atomic_int_get(&b->deaf))
			b_deaf_read(b);
		b_dtls_tick(b);
	}
	rg_ice_loop_before_wait(b->loop, 0);   /* frees the retired agent */
	rg_ice_loop_free(b->loop);
	return NULL;
}

/* An ICE agent of the browser: a new host candidate (socket, port) and new credentials. */
static rg_ice_agent *browser_agent(browser *b, int *fd)
{
	rg_ice_cfg cfg = { .mode = RG_ICE_FULL, .controlling = !b->controlled, .bind_addr = "127.0.0.1",
			   .components = 1, .trickle = true };
	char *err = NULL;
	rg_ice_agent *a = rg_ice_agent_new(b->loop, &cfg, &b_cb, b, &err);
	g_assert_null(err);
	g_assert_cmpint(rg_ice_gather(a, &err), ==, 0);
	g_assert_cmpuint(rg_ice_fds(a, fd, 1), ==, 1);
	return a;
}

static void browser_new(browser *b, bool controlled)
{
	memset(b, 0, sizeof(*b));
	b->controlled = controlled;
	g_mutex_init(&b->lock);
	b->rx = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	g_assert_cmpint(b->epfd, >=, 0);
	b->loop = rg_ice_loop_new(&b_ops, b);
	b->ice = browser_agent(b, &b->sock_fd);
	g_assert_cmpint(rg_dtls_cert_new(&b->cert, RG_DTLS_CERT_ECDSA_P256), ==, 0);
	g_assert_cmpint(rg_dtls_cert_fingerprint(b->cert, "sha-256", b->fp, sizeof(b->fp)), ==, 0);
	g_assert_cmpint(rg_dtls_new(&b->dtls, b->cert, RG_DTLS_ROLE_UNSET, NULL, NULL, b_dtls_send, b), ==, 0);
	rg_dtls_set_timeouts(b->dtls, 200, 10000);
	/* the loop's context belongs to the thread that runs it: start that thread last */
	b->thread = g_thread_new("browser", b_thread, b);
}

static void browser_free(browser *b)
{
	rg_ice_agent_retire(b->ice);
	g_atomic_int_set(&b->stop, 1);
	g_thread_join(b->thread);
	close(b->epfd);
	if (b->srtp)
		rg_srtp_free(b->srtp);
	rg_dtls_free(b->dtls);
	rg_dtls_cert_free(b->cert);
	g_ptr_array_free(b->rx, TRUE);
	g_mutex_clear(&b->lock);
}

/* ------------------------------------------------------------------ SDP */

/* The browser's offer: its ICE credentials, fingerprint, actpass; with its candidates or, as a
 * trickling browser does (RFC 8840 4.3.1), none and the dummy 9 / 0.0.0.0. */
static char *browser_sdp(browser *b, unsigned version, bool with_candidates, bool end_of_candidates,
			 const char *extra_candidate, const char *setup)
{
	char *ufrag, *pwd;
	rg_ice_local_credentials(b->ice, &ufrag, &pwd);
	GString *cand = g_string_new(NULL);
	unsigned port = 9;
	const char *addr = "0.0.0.0";
	if (with_candidates) {
		char **c = rg_ice_local_candidates(b->ice);
		g_assert_nonnull(c[0]);
		gchar **f = g_strsplit(c[0], " ", 8);
		port = (unsigned)atoi(f[5]);
		g_strfreev(f);
		addr = "127.0.0.1";
		for (char **i = c; *i; i++)
			g_string_append_printf(cand, "a=%s\r\n", *i);
		g_strfreev(c);
	}
	if (extra_candidate)
		g_string_append_printf(cand, "a=%s\r\n", extra_candidate);
	if (end_of_candidates)
		g_string_append(cand, "a=end-of-candidates\r\n");
	char *sdp = g_strdup_printf("v=0\r\no=- 4004600955 %u IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
				    "a=group:BUNDLE 0\r\na=msid-semantic:WMS *\r\n"
				    "m=audio %u UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 %s\r\n"
				    "a=rtcp:9 IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n"
				    "a=rtpmap:0 PCMU/8000\r\na=ice-options:trickle\r\n"
				    "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:sha-256 %s\r\n"
				    "a=setup:%s\r\n%s",
				    version, port, addr, ufrag, pwd, b->fp, setup, cand->str);
	g_string_free(cand, TRUE);
	g_free(ufrag);
	g_free(pwd);
	return sdp;
}

static char *plain_sdp(unsigned port)
{
	return g_strdup_printf("v=0\r\no=- 1545997027 1 IN IP4 127.0.0.1\r\ns=phone\r\n"
			       "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %u RTP/AVP 0\r\n"
			       "a=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n", port);
}

/* Value of the first a=<name>: in sdp (g_free), or NULL. */
static char *sdp_attr_of(const char *sdp, const char *name)
{
	char *key = g_strdup_printf("\na=%s:", name);
	const char *p = strstr(sdp, key);
	char *v = NULL;
	if (p) {
		p += strlen(key);
		v = g_strndup(p, strcspn(p, "\r\n"));
	}
	g_free(key);
	return v;
}

/* What rtpgate's SDP to the browser tells it: credentials (a restart when they changed, which is
 * how the browser learns rtpgate restarted too), DTLS role and fingerprint, and, unless
 * use_candidates is false, rtpgate's candidates. */
static void browser_take_answer(browser *b, const char *sdp, bool use_candidates)
{
	g_autofree char *ufrag = sdp_attr_of(sdp, "ice-ufrag");
	g_autofree char *pwd = sdp_attr_of(sdp, "ice-pwd");
	g_autofree char *fp = sdp_attr_of(sdp, "fingerprint");
	g_autofree char *setup = sdp_attr_of(sdp, "setup");
	g_assert_nonnull(ufrag);
	g_assert_nonnull(pwd);
	g_assert_nonnull(fp);
	g_assert_nonnull(setup);
	g_assert_cmpint(rg_ice_set_remote_credentials(b->ice, ufrag, pwd), >=, 0);
	if (use_candidates) {
		unsigned n = 0;
		for (const char *p = strstr(sdp, "\na=candidate:"); p; p = strstr(p + 1, "\na=candidate:")) {
			g_autofree char *line = g_strndup(p + 3, strcspn(p + 3, "\r\n"));
			g_assert_cmpint(rg_ice_add_remote_candidate(b->ice, line), ==, 1);
			n++;
		}
		g_assert_cmpuint(n, >=, 1);
		if (strstr(sdp, "\na=end-of-candidates"))
			rg_ice_end_of_candidates(b->ice);
	}
	g_mutex_lock(&b->lock);
	if (rg_dtls_get_role(b->dtls) == RG_DTLS_ROLE_UNSET) {
		enum rg_dtls_setup s;
		enum rg_dtls_role role;
		g_assert_cmpint(rg_dtls_setup_parse(setup, strlen(setup), &s), ==, 0);
		g_assert_cmpint(rg_dtls_role_from_peer_setup(s, &role), ==, 0);
		const char *sp = strchr(fp, ' ');
		g_assert_nonnull(sp);
		g_autofree char *algo = g_strndup(fp, (gsize)(sp - fp));
		g_assert_cmpint(rg_dtls_set_peer_fingerprint(b->dtls, algo, sp + 1), ==, 0);
		g_assert_cmpint(rg_dtls_set_role(b->dtls, role), ==, 0);
	}
	g_mutex_unlock(&b->lock);
}

/* ------------------------------------------------------------------ a call */

typedef struct wcall {
	const char *cid;
	browser b;
	int sip_fd;
	unsigned sip_port;     /* the SIP phone's own port */
	unsigned gw_sip_port;  /* where the phone sends (rtpgate's port in the offer it got) */
	unsigned version;      /* o= version of the browser's last offer */
	char *gw_ufrag;        /* rtpgate's ICE ufrag in its last answer to the browser */
	const char *extra_candidate;   /* one more a=candidate in the browser's offers */
	uint16_t seq_b, seq_s; /* next RTP sequence numbers, browser and phone */
} wcall;

/* Browser offers, the phone answers; a re-offer (version > 1) carries the phone's to-tag, as
 * Kamailio passes it in a re-INVITE. Flags as the README's WebRTC <-> SIP pair toward the SIP
 * side. Returns rtpgate's answer to the browser. */
static char *offer_answer(wcall *w, bool with_candidates, bool end_of_candidates)
{
	g_autofree char *offer = browser_sdp(&w->b, ++w->version, with_candidates, end_of_candidates,
					     w->extra_candidate, "actpass");
	g_autoptr(reply) o = ng("offer", "call-id", w->cid, "from-tag", "browser", "sdp", offer,
				"ICE", "remove", "DTLS", "off", "transport-protocol", "RTP/AVP",
				"rtcp-mux", "[demux", "flags", "[trust-address", "replace", "[origin session-connection",
				w->version > 1 ? "to-tag" : NULL, "phone", NULL);   /* first offer: list ends here */
	assert_result(o, "ok");
	g_autofree char *to_phone = rstr(o, "sdp");
	g_assert_null(strstr(to_phone, "a=ice-"));
	g_assert_null(strstr(to_phone, "a=fingerprint"));
	g_assert_nonnull(strstr(to_phone, " RTP/AVP 0"));
	w->gw_sip_port = sdp_port(to_phone, 0);
	g_autofree char *ans = plain_sdp(w->sip_port);
	g_autoptr(reply) a = ng("answer", "call-id", w->cid, "from-tag", "browser", "to-tag", "phone", "sdp", ans,
				"ICE", "force", "transport-protocol", "UDP/TLS/RTP/SAVPF",
				"flags", "[trust-address", "replace", "[origin session-connection", NULL);
	assert_result(a, "ok");
	char *to_browser = rstr(a, "sdp");
	g_assert_nonnull(strstr(to_browser, "UDP/TLS/RTP/SAVPF"));
	/* an answer says active or passive, never actpass (RFC 5763 5, RFC 8842 5.2); rtpgate is
	 * the DTLS server in every call of this file */
	if (!strstr(to_browser, "a=setup:passive"))
		g_error("answer to the browser without a=setup:passive:\n%s", to_browser);
	g_free(w->gw_ufrag);
	w->gw_ufrag = sdp_attr_of(to_browser, "ice-ufrag");
	return to_browser;
}

static void wcall_init2(wcall *w, const char *cid, bool browser_answers)
{
	memset(w, 0, sizeof(*w));
	w->cid = cid;
	browser_new(&w->b, browser_answers);
	w->sip_fd = udp_bind(&w->sip_port);
	struct timeval tv = { .tv_usec = 20000 };
	setsockopt(w->sip_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	w->seq_b = 1000;
	w->seq_s = 5000;
}

static void wcall_init(wcall *w, const char *cid)
{
	wcall_init2(w, cid, false);
}

static void wcall_free(wcall *w)
{
	g_autoptr(reply) d = ng("delete", "call-id", w->cid, NULL);
	assert_result(d, "ok");
	browser_free(&w->b);
	close(w->sip_fd);
	g_free(w->gw_ufrag);
}

/* The other direction: the phone offers, rtpgate offers the browser ICE (controlling) and DTLS
 * actpass, the browser answers a=setup:active (it is the DTLS client, rtpgate the server). Flags
 * as the README's pair toward the browser. Returns rtpgate's offer to the browser. */
static char *phone_offers(wcall *w)
{
	g_autofree char *offer = plain_sdp(w->sip_port);
	g_autoptr(reply) o = ng("offer", "call-id", w->cid, "from-tag", "phone", "sdp", offer,
				"ICE", "force", "transport-protocol", "UDP/TLS/RTP/SAVPF", "DTLS", "passive",
				"rtcp-mux", "[offer require", "SDES", "[off", "flags", "[trust-address generate-mid",
				"replace", "[origin session-connection", NULL);
	assert_result(o, "ok");
	char *to_browser = rstr(o, "sdp");
	g_assert_nonnull(strstr(to_browser, "a=setup:actpass"));
	g_assert_nonnull(strstr(to_browser, "a=mid:0"));
	browser_take_answer(&w->b, to_browser, true);   /* actpass: the browser takes the active role */
	g_autofree char *ans = browser_sdp(&w->b, ++w->version, true, true, NULL, "active");
	g_autoptr(reply) a = ng("answer", "call-id", w->cid, "from-tag", "phone", "to-tag", "browser", "sdp", ans,
				"ICE", "remove", "DTLS", "off", "transport-protocol", "RTP/AVP",
				"rtcp-mux", "[demux", "flags", "[trust-address", "replace", "[origin session-connection",
				NULL);
	assert_result(a, "ok");
	g_autofree char *to_phone = rstr(a, "sdp");
	g_assert_null(strstr(to_phone, "a=ice-"));
	w->gw_sip_port = sdp_port(to_phone, 0);
	g_free(w->gw_ufrag);
	w->gw_ufrag = sdp_attr_of(to_browser, "ice-ufrag");
	return to_browser;
}

/* The leg rtpgate terminates toward the browser, read under the call lock. */
static rg_ice_state gw_ice_state(const char *cid)
{
	rg_call *c = rg_call_get(cid);
	g_assert_nonnull(c);
	g_mutex_lock(&c->lock);
	rg_party *p = rg_party_find(c, "browser");
	g_assert_nonnull(p);
	rg_webrtc *wt = ((rg_media *)p->medias->pdata[0])->wrtc;
	g_assert_nonnull(wt);
	rg_ice_state st = (rg_ice_state)__atomic_load_n(&wt->ice_state, __ATOMIC_ACQUIRE);
	g_mutex_unlock(&c->lock);
	rg_call_unref(c);
	return st;
}

static bool wait_for(bool (*cond)(wcall *), wcall *w, int ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
	while (!cond(w)) {
		if (g_get_monotonic_time() > end)
			return false;
		g_usleep(5000);
	}
	return true;
}

static bool srtp_up(wcall *w)
{
	g_mutex_lock(&w->b.lock);
	bool up = w->b.srtp != NULL;
	g_mutex_unlock(&w->b.lock);
	return up;
}

static bool browser_ready(wcall *w)
{
	return g_atomic_int_get(&w->b.state) == RG_ICE_READY;
}

/* ---- media ---- */

static size_t mk_rtp(uint8_t *p, uint16_t seq, uint32_t ssrc)
{
	p[0] = 0x80;
	p[1] = 0;   /* PCMU */
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	uint32_t ts = htonl(seq * 160u), s = htonl(ssrc);
	memcpy(p + 4, &ts, 4);
	memcpy(p + 8, &s, 4);
	for (unsigned k = 0; k < PAYLOAD; k++)
		p[12 + k] = (uint8_t)(seq * 7u + k * 3u + (ssrc & 0xff));
	return 12 + PAYLOAD;
}

#define SSRC_B 0xb0b0b0b0u
#define SSRC_S 0x5eed0002u

/* n packets each way, 2 ms apart; every one must arrive, byte for byte as sent (PCMU both
 * sides: relayed, not transcoded): the browser's SRTP as plain RTP at the phone, the phone's
 * RTP as SRTP at the browser (unprotected with the DTLS-SRTP keys). */
static void media_both_ways(wcall *w, unsigned n, const char *what)
{
	g_assert_true(srtp_up(w));
	g_mutex_lock(&w->b.lock);
	g_ptr_array_set_size(w->b.rx, 0);
	unsigned srtp_err0 = w->b.srtp_errors;
	g_mutex_unlock(&w->b.lock);
	uint64_t relayed0 = rg_ctr_read(RG_CTR_PKT_RELAYED);
	uint16_t seq_b0 = w->seq_b, seq_s0 = w->seq_s;
	unsigned at_phone = 0, bad_phone = 0;
	uint8_t pkt[1500], want[1500], got[1500];

	for (unsigned i = 0; i < n; i++) {
		/* browser -> rtpgate (SRTP over ICE) */
		size_t len = mk_rtp(pkt, w->seq_b++, SSRC_B);
		g_mutex_lock(&w->b.lock);
		g_assert_cmpint(rg_srtp_protect_rtp(w->b.srtp, pkt, &len, sizeof(pkt)), ==, 0);
		struct iovec v = { pkt, len };
		g_assert_cmpint(rg_ice_send(w->b.ice, 1, &v, 1), ==, 1);
		g_mutex_unlock(&w->b.lock);
		/* phone -> rtpgate (plain RTP) */
		len = mk_rtp(pkt, w->seq_s++, SSRC_S);
		send_to(w->sip_fd, w->gw_sip_port, pkt, len);
		g_usleep(2000);
		ssize_t r;
		while ((r = recv(w->sip_fd, got, sizeof(got), MSG_DONTWAIT)) > 0) {
			size_t wl = mk_rtp(want, (uint16_t)(seq_b0 + at_phone), SSRC_B);
			if ((size_t)r != wl || memcmp(got, want, wl) != 0)
				bad_phone++;
			at_phone++;
		}
	}
	gint64 end = g_get_monotonic_time() + 3000000;
	for (;;) {
		ssize_t r;
		while ((r = recv(w->sip_fd, got, sizeof(got), MSG_DONTWAIT)) > 0) {
			size_t wl = mk_rtp(want, (uint16_t)(seq_b0 + at_phone), SSRC_B);
			if ((size_t)r != wl || memcmp(got, want, wl) != 0)
				bad_phone++;
			at_phone++;
		}
		g_mutex_lock(&w->b.lock);
		unsigned at_browser = w->b.rx->len;
		g_mutex_unlock(&w->b.lock);
		if ((at_phone >= n && at_browser >= n) || g_get_monotonic_time() > end)
			break;
		g_usleep(5000);
	}
	g_mutex_lock(&w->b.lock);
	unsigned at_browser = w->b.rx->len, bad_browser = 0;
	for (unsigned i = 0; i < at_browser; i++) {
		gsize gl;
		const uint8_t *g = g_bytes_get_data(w->b.rx->pdata[i], &gl);
		size_t wl = mk_rtp(want, (uint16_t)(seq_s0 + i), SSRC_S);
		if (gl != wl || memcmp(g, want, wl) != 0)
			bad_browser++;
	}
	unsigned srtp_err = w->b.srtp_errors - srtp_err0;
	g_mutex_unlock(&w->b.lock);
	g_test_message("%s: browser->phone %u/%u (%u differ), phone->browser %u/%u (%u differ), "
		       "relayed +%" G_GUINT64_FORMAT, what, at_phone, n, bad_phone, at_browser, n, bad_browser,
		       rg_ctr_read(RG_CTR_PKT_RELAYED) - relayed0);
	g_assert_cmpuint(at_phone, ==, n);
	g_assert_cmpuint(bad_phone, ==, 0);
	g_assert_cmpuint(at_browser, ==, n);
	g_assert_cmpuint(bad_browser, ==, 0);
	g_assert_cmpuint(srtp_err, ==, 0);
}

/* The usual start: offer with candidates, answer, ICE and DTLS up. */
static char *connect_call(wcall *w, const char *cid)
{
	wcall_init(w, cid);
	char *to_browser = offer_answer(w, true, true);
	browser_take_answer(&w->b, to_browser, true);
	g_assert_true(wait_for(browser_ready, w, 10000));
	g_assert_true(wait_for(srtp_up, w, 10000));
	g_assert_cmpint(gw_ice_state(cid), ==, RG_ICE_READY);
	return to_browser;
}

/* ------------------------------------------------------------------ tests */

/* (a) Media through the real gateway, both directions: SRTP from the browser leaves toward the
 * phone as the exact plain RTP that was protected; plain RTP from the phone reaches the browser
 * as SRTP that its DTLS-SRTP keys authenticate and decrypt to the exact bytes. The query shows the
 * browser's leg as ICE + DTLS-SRTP with DTLS role passive (the browser offered actpass). */
static void test_media(void)
{
	wcall w;
	g_free(connect_call(&w, "wrtc-media"));
	media_both_ways(&w, 100, "media");

	g_autoptr(reply) q = ng("query", "call-id", w.cid, NULL);
	assert_result(q, "ok");
	g_assert_nonnull(strstr(q->raw, "3:ICE"));
	g_assert_nonnull(strstr(q->raw, "9:DTLS-SRTP"));
	g_assert_nonnull(strstr(q->raw, "DTLS role passive"));
	wcall_free(&w);
}

/* (b) ICE restart by re-offer (RFC 8445 9): the browser restarts (new ufrag/pwd) and re-offers;
 * rtpgate detects the new credentials, restarts too (new ufrag in its answer), and ICE completes
 * again on the new credentials; media keeps flowing during the restart (old pair) and after it,
 * on the same DTLS-SRTP association. */
static void test_ice_restart(void)
{
	wcall w;
	g_autofree char *ans1 = connect_call(&w, "wrtc-restart");
	media_both_ways(&w, 20, "before restart");
	g_autofree char *ufrag1 = g_strdup(w.gw_ufrag);
	g_autofree char *pwd1 = sdp_attr_of(ans1, "ice-pwd");
	gint ready0 = g_atomic_int_get(&w.b.n_ready);

	g_assert_cmpint(rg_ice_restart(w.b.ice), ==, 0);
	media_both_ways(&w, 10, "during restart (browser restarted, re-offer not sent yet)");
	g_autofree char *ans2 = offer_answer(&w, true, true);
	g_autofree char *pwd2 = sdp_attr_of(ans2, "ice-pwd");
	g_test_message("rtpgate ufrag %s -> %s", ufrag1, w.gw_ufrag);
	g_assert_cmpstr(w.gw_ufrag, !=, ufrag1);
	g_assert_cmpstr(pwd2, !=, pwd1);
	browser_take_answer(&w.b, ans2, true);
	gint64 t0 = g_get_monotonic_time();
	while (g_atomic_int_get(&w.b.n_ready) == ready0 && g_get_monotonic_time() - t0 < 10000000)
		g_usleep(5000);
	g_assert_cmpint(g_atomic_int_get(&w.b.n_ready), >, ready0);
	g_test_message("ICE ready again %.0f ms after the answer", (g_get_monotonic_time() - t0) / 1000.0);
	media_both_ways(&w, 100, "after restart");
	g_assert_cmpint(gw_ice_state(w.cid), ==, RG_ICE_READY);

	/* a re-offer with the same credentials is no restart: rtpgate keeps its own */
	g_autofree char *ufrag2 = g_strdup(w.gw_ufrag);
	g_free(offer_answer(&w, true, true));
	g_assert_cmpstr(w.gw_ufrag, ==, ufrag2);
	media_both_ways(&w, 20, "after a plain re-offer");
	wcall_free(&w);
}

/* (b, continued) An ICE restart because the browser moved (a new network: new host candidate,
 * new port, new credentials; the old socket is gone at once): rtpgate restarts on the re-offer,
 * checks the new candidate, the new pair is nominated and media continues to and from the new
 * address on the same DTLS-SRTP association. */
static void test_ice_restart_moved(void)
{
	wcall w;
	g_free(connect_call(&w, "wrtc-moved"));
	media_both_ways(&w, 20, "before moving");
	g_autofree char *ufrag1 = g_strdup(w.gw_ufrag);
	gint ready0 = g_atomic_int_get(&w.b.n_ready);

	int fd;
	rg_ice_agent *moved = browser_agent(&w.b, &fd);
	g_mutex_lock(&w.b.lock);
	rg_ice_agent *old = w.b.ice;
	w.b.ice = moved;
	w.b.sock_fd = fd;
	g_mutex_unlock(&w.b.lock);
	rg_ice_agent_retire(old);

	g_autofree char *ans = offer_answer(&w, true, true);
	g_assert_cmpstr(w.gw_ufrag, !=, ufrag1);
	browser_take_answer(&w.b, ans, true);
	gint64 t0 = g_get_monotonic_time();
	while (g_atomic_int_get(&w.b.n_ready) == ready0 && g_get_monotonic_time() - t0 < 10000000)
		g_usleep(5000);
	g_assert_cmpint(g_atomic_int_get(&w.b.n_ready), >, ready0);
	g_test_message("moved browser ready %.0f ms after the answer", (g_get_monotonic_time() - t0) / 1000.0);
	media_both_ways(&w, 100, "after moving");
	g_assert_cmpint(gw_ice_state(w.cid), ==, RG_ICE_READY);
	wcall_free(&w);
}

/* (a, b) the other way round: the phone calls the browser. rtpgate's leg toward the browser is
 * ICE controlling and offers actpass; the browser answers active (DTLS client). Media flows both
 * ways; then the browser re-offers with an ICE restart: rtpgate restarts, and its answer must say
 * a=setup:passive (it is the DTLS server of the running association: RFC 5763 5, RFC 8842 5.2 --
 * a browser rejects an answer with actpass); ICE completes again and media continues. */
static void test_browser_answers(void)
{
	wcall w;
	wcall_init2(&w, "wrtc-browser-answers", true);
	g_free(phone_offers(&w));
	g_assert_true(wait_for(browser_ready, &w, 10000));
	g_assert_true(wait_for(srtp_up, &w, 10000));
	g_assert_cmpint(gw_ice_state(w.cid), ==, RG_ICE_READY);
	media_both_ways(&w, 50, "phone called the browser");
	g_autoptr(reply) q = ng("query", "call-id", w.cid, NULL);
	g_assert_nonnull(strstr(q->raw, "ICE controlling"));
	g_assert_nonnull(strstr(q->raw, "DTLS role passive"));

	gint ready0 = g_atomic_int_get(&w.b.n_ready);
	g_autofree char *ufrag1 = g_strdup(w.gw_ufrag);
	g_assert_cmpint(rg_ice_restart(w.b.ice), ==, 0);
	g_autofree char *ans = offer_answer(&w, true, true);
	g_assert_cmpstr(w.gw_ufrag, !=, ufrag1);
	browser_take_answer(&w.b, ans, true);
	gint64 t0 = g_get_monotonic_time();
	while (g_atomic_int_get(&w.b.n_ready) == ready0 && g_get_monotonic_time() - t0 < 10000000)
		g_usleep(5000);
	g_assert_cmpint(g_atomic_int_get(&w.b.n_ready), >, ready0);
	media_both_ways(&w, 50, "after the browser's restart");
	wcall_free(&w);
}

/* (c) Trickle ICE: the first offer carries no candidate (port 9, 0.0.0.0, ice-options:trickle);
 * the browser's candidates come in a later re-offer with a=end-of-candidates. The browser here
 * never checks rtpgate's candidates itself (as if they were unreachable from it), so the only way
 * to connectivity is rtpgate checking the trickled candidates: nothing connects before they
 * arrive, ICE and DTLS-SRTP come up after, media flows; the re-offer is no ICE restart. */
static void test_trickle(void)
{
	wcall w;
	wcall_init(&w, "wrtc-trickle");
	g_autofree char *ans1 = offer_answer(&w, false, false);
	browser_take_answer(&w.b, ans1, false);
	g_usleep(1500000);
	g_assert_cmpint(g_atomic_int_get(&w.b.state), <, RG_ICE_CONNECTED);
	rg_ice_state st = gw_ice_state(w.cid);
	g_test_message("rtpgate's ICE without remote candidates: %s", rg_ice_state_name(st));
	g_assert_cmpint(st, <, RG_ICE_CONNECTED);

	g_autofree char *ufrag1 = g_strdup(w.gw_ufrag);
	g_autofree char *ans2 = offer_answer(&w, true, true);
	g_assert_cmpstr(w.gw_ufrag, ==, ufrag1);
	browser_take_answer(&w.b, ans2, false);
	gint64 t0 = g_get_monotonic_time();
	bool ready = wait_for(browser_ready, &w, 10000);
	g_test_message("after the trickled candidates: browser %s, rtpgate %s, %.0f ms",
		       rg_ice_state_name(g_atomic_int_get(&w.b.state)), rg_ice_state_name(gw_ice_state(w.cid)),
		       (g_get_monotonic_time() - t0) / 1000.0);
	g_assert_true(ready);
	g_assert_true(wait_for(srtp_up, &w, 10000));
	media_both_ways(&w, 50, "trickled");
	wcall_free(&w);
}

/* (c, continued) The first offer has one candidate that never answers (a socket nobody reads) and
 * no end-of-candidates; rtpgate's checks on it fail and the leg goes to failed. Candidates
 * trickled in a re-offer after that still bring ICE up (libnice takes a failed component back to
 * connecting when pairs are added), and media flows. */
static void test_trickle_after_failure(void)
{
	wcall w;
	wcall_init(&w, "wrtc-trickle-failed");
	unsigned dead_port;
	int dead = udp_bind(&dead_port);
	g_autofree char *dc = g_strdup_printf("candidate:9 1 UDP 2122260223 127.0.0.1 %u typ host", dead_port);
	w.extra_candidate = dc;
	g_autofree char *ans1 = offer_answer(&w, false, false);
	browser_take_answer(&w.b, ans1, false);
	gint64 t0 = g_get_monotonic_time();
	while (gw_ice_state(w.cid) != RG_ICE_FAILED && g_get_monotonic_time() - t0 < 30000000)
		g_usleep(50000);
	g_test_message("with only a dead candidate: %s after %.1f s", rg_ice_state_name(gw_ice_state(w.cid)),
		       (g_get_monotonic_time() - t0) / 1e6);
	g_assert_cmpint(gw_ice_state(w.cid), ==, RG_ICE_FAILED);
	g_assert_cmpint(g_atomic_int_get(&w.b.state), <, RG_ICE_CONNECTED);

	g_free(offer_answer(&w, true, true));
	t0 = g_get_monotonic_time();
	bool ready = wait_for(browser_ready, &w, 10000);
	g_test_message("after the trickled candidates: browser %s, rtpgate %s, %.0f ms",
		       rg_ice_state_name(g_atomic_int_get(&w.b.state)), rg_ice_state_name(gw_ice_state(w.cid)),
		       (g_get_monotonic_time() - t0) / 1000.0);
	g_assert_true(ready);
	g_assert_true(wait_for(srtp_up, &w, 10000));
	media_both_ways(&w, 50, "trickled after failure");
	close(dead);
	wcall_free(&w);
}

/* (d) Consent freshness (RFC 7675): the browser stops answering STUN (its socket is read raw by
 * the test, libnice no longer sees anything) while the phone keeps sending. rtpgate keeps sending
 * SRTP for a while (consent still fresh), keeps asking for consent, then stops sending media to
 * the browser within the consent timeout (libnice: 10 s since the last answer; RFC 7675 5.1
 * allows 30 s) and does not resume; what it can no longer send is counted as a drop.
 *   gone:   nothing comes from the browser any more; the leg's ICE state is failed.
 *   listen: the browser still sends its own consent checks (which rtpgate answers) but never
 *           answers rtpgate's: those checks must not bring consent back (only answers to our
 *           own checks grant it).
 * Then the browser is back and restarts ICE (a re-offer with new credentials): that is how
 * consent is regained (RFC 7675 5.1), and media flows again both ways. */
static void consent_case(const char *cid, int mode)
{
	wcall w;
	g_free(connect_call(&w, cid));
	media_both_ways(&w, 20, "before silence");

	uint64_t no_peer0 = rg_ctr_read(RG_CTR_DROP_NO_PEER);
	gint64 t0 = g_get_monotonic_time();
	g_atomic_int_set(&w.b.deaf, mode);
	gint64 stopped = 0;
	uint8_t pkt[1500];
	while (g_get_monotonic_time() - t0 < 40000000) {
		size_t len = mk_rtp(pkt, w.seq_s++, SSRC_S);
		send_to(w.sip_fd, w.gw_sip_port, pkt, len);
		g_usleep(20000);
		g_mutex_lock(&w.b.lock);
		gint64 last = w.b.raw_last_srtp;
		g_mutex_unlock(&w.b.lock);
		/* 3 s without any SRTP while the phone sends every 20 ms: rtpgate stopped */
		if (last && g_get_monotonic_time() - last > 3000000) {
			stopped = last;
			break;
		}
	}
	g_assert_cmpint(stopped, >, 0);
	double after = (stopped - t0) / 1e6;
	rg_ice_state st = gw_ice_state(w.cid);
	g_test_message("silence: rtpgate sent %d SRTP and %d STUN datagrams, the last SRTP %.1f s after the "
		       "browser stopped answering; ICE state of the leg: %s", g_atomic_int_get(&w.b.raw_srtp),
		       g_atomic_int_get(&w.b.raw_stun), after, rg_ice_state_name(st));
	g_assert_cmpfloat(after, >, 2.0);      /* not at once: consent was fresh */
	g_assert_cmpfloat(after, <=, 30.0);    /* RFC 7675 5.1: at most 30 s */
	g_assert_cmpint(g_atomic_int_get(&w.b.raw_stun), >, 0);   /* consent requests kept coming */
	if (mode == DEAF_GONE)
		g_assert_cmpint(st, ==, RG_ICE_FAILED);
	g_assert_cmpuint(rg_ctr_read(RG_CTR_DROP_NO_PEER) - no_peer0, >, 50);
	/* and it stays so, for longer than the browser's consent checks are apart (4-6 s) */
	gint srtp = g_atomic_int_get(&w.b.raw_srtp);
	for (int i = 0; i < (mode == DEAF_LISTEN ? 350 : 50); i++) {
		size_t len = mk_rtp(pkt, w.seq_s++, SSRC_S);
		send_to(w.sip_fd, w.gw_sip_port, pkt, len);
		g_usleep(20000);
	}
	g_assert_cmpint(g_atomic_int_get(&w.b.raw_srtp), ==, srtp);
	if (mode == DEAF_LISTEN)
		g_test_message("after the browser's own checks: ICE state of the leg %s, still no media",
			       rg_ice_state_name(gw_ice_state(w.cid)));

	/* RFC 7675 5.1: consent comes back only with an ICE restart. The browser is back, restarts
	 * and re-offers; rtpgate restarts too and media flows again, same DTLS-SRTP association. */
	g_atomic_int_set(&w.b.deaf, DEAF_NO);
	gint ready0 = g_atomic_int_get(&w.b.n_ready);
	g_assert_cmpint(rg_ice_restart(w.b.ice), ==, 0);
	g_autofree char *ufrag1 = g_strdup(w.gw_ufrag);
	g_autofree char *ans2 = offer_answer(&w, true, true);
	g_assert_cmpstr(w.gw_ufrag, !=, ufrag1);
	browser_take_answer(&w.b, ans2, true);
	t0 = g_get_monotonic_time();
	while (g_atomic_int_get(&w.b.n_ready) == ready0 && g_get_monotonic_time() - t0 < 10000000)
		g_usleep(5000);
	g_assert_cmpint(g_atomic_int_get(&w.b.n_ready), >, ready0);
	media_both_ways(&w, 50, "after the restart that renews consent");
	g_assert_cmpint(gw_ice_state(w.cid), ==, RG_ICE_READY);
	wcall_free(&w);
}

/* (b, d) rtpgate's consent on the old path runs out while an ICE restart is checking -- found
 * with this file: it aborted the whole daemon. The phone calls the browser (rtpgate's agent is
 * controlling); the browser's network goes away with its agent; ~9 s later it is back on a new
 * address and restarts ICE. rtpgate restarts too; libnice keeps the old selected pair, whose
 * consent (last answered when ICE completed) expires ~10 s after that, while rtpgate's checks to
 * the new address are in flight (the browser does not read yet: it has rtpgate's credentials but
 * no candidates, so it can only answer). The browser then reads and answers a check: libnice
 * 0.1.21 signalled FAILED -> CONNECTED and hit its own g_assert (abort(), every call gone).
 * rg_ice now starts the checks over on a FAILED during a restart (ice/rg_ice.c restart_again):
 * rtpgate survives, ICE completes, media flows both ways. */
static gint restart_again_seen;

static void test_consent_expiry_in_restart(void)
{
	wcall w;
	wcall_init2(&w, "wrtc-consent-restart", true);
	g_free(phone_offers(&w));
	g_assert_true(wait_for(browser_ready, &w, 10000));
	gint64 t_ready = g_get_monotonic_time();   /* rtpgate's last consent: ICE completing */
	g_assert_true(wait_for(srtp_up, &w, 10000));
	media_both_ways(&w, 20, "before");
	rg_ice_agent_retire(w.b.ice);   /* the browser's network goes, with its agent */
	while (g_get_monotonic_time() - t_ready < 9000000)
		g_usleep(20000);

	/* back on a new network: a new agent whose socket nobody reads yet */
	w.b.hold_new = true;
	int fd;
	rg_ice_agent *moved = browser_agent(&w.b, &fd);
	w.b.hold_new = false;
	g_mutex_lock(&w.b.lock);
	w.b.ice = moved;
	w.b.sock_fd = fd;
	g_mutex_unlock(&w.b.lock);
	gint seen0 = g_atomic_int_get(&restart_again_seen);
	g_autofree char *ufrag1 = g_strdup(w.gw_ufrag);
	g_autofree char *ans = offer_answer(&w, true, true);
	g_assert_cmpstr(w.gw_ufrag, !=, ufrag1);
	g_autofree char *u = sdp_attr_of(ans, "ice-ufrag");
	g_autofree char *pw = sdp_attr_of(ans, "ice-pwd");
	g_assert_cmpint(rg_ice_set_remote_credentials(w.b.ice, u, pw), ==, 0);
	while (g_get_monotonic_time() - t_ready < 11500000)
		g_usleep(20000);
	gint seen = g_atomic_int_get(&restart_again_seen) - seen0;
	g_test_message("old path's consent expired during the restart: %s", seen ? "yes" : "no");
	g_assert_cmpint(seen, ==, 1);   /* the case this test is about did happen */

	/* the browser reads: rtpgate's queued checks get their answers first */
	gint ready0 = g_atomic_int_get(&w.b.n_ready);
	for (unsigned i = 0; i < G_N_ELEMENTS(w.b.ios); i++)
		if (w.b.ios[i].io && w.b.ios[i].fd == fd) {
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w.b.ios[i].io };
			g_assert_cmpint(epoll_ctl(w.b.epfd, EPOLL_CTL_ADD, fd, &ev), ==, 0);
		}
	gint64 t1 = g_get_monotonic_time();
	while (g_atomic_int_get(&w.b.n_ready) == ready0 && g_get_monotonic_time() - t1 < 10000000)
		g_usleep(10000);
	g_assert_cmpint(g_atomic_int_get(&w.b.n_ready), >, ready0);
	g_usleep(100000);
	g_test_message("ICE ready again %.0f ms after the browser read; rtpgate %s",
		       (g_get_monotonic_time() - t1) / 1000.0, rg_ice_state_name(gw_ice_state(w.cid)));
	media_both_ways(&w, 50, "after the restart");
	g_assert_cmpint(gw_ice_state(w.cid), ==, RG_ICE_READY);
	wcall_free(&w);
}

static void test_consent_gone(void)
{
	consent_case("wrtc-consent-gone", DEAF_GONE);
}

static void test_consent_listen(void)
{
	consent_case("wrtc-consent-listen", DEAF_LISTEN);
}

/* rg_ice's debug messages: its send errors are dropped (noise after consent loss); its restart
 * of the checks (restart_again) is counted for test_consent_expiry_in_restart */
static void drop_debug(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer ud)
{
	if (strstr(msg, "failed during an ICE restart"))
		g_atomic_int_inc(&restart_again_seen);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_log_set_handler(NULL, G_LOG_LEVEL_DEBUG, drop_debug, NULL);
	rg_log_init(true, g_getenv("RG_TEST_LOG") ? atoi(g_getenv("RG_TEST_LOG")) : RG_LOG_ERR, "test_webrtc");
	char *args[] = { "rtpgate", "--config-file=none", "--interface=127.0.0.1",
			 "--port-min=" G_STRINGIFY(PORT_MIN), "--port-max=" G_STRINGIFY(PORT_MAX),
			 "--num-threads=2", "--delete-delay=0", NULL };
	rg_config cfg = { 0 };
	char *err = NULL;
	if (rg_config_load(&cfg, G_N_ELEMENTS(args) - 1, args, &err) < 0)
		g_error("config: %s", err);
	/* requests go through ng_process(): no control socket, so nothing to collide with the
	 * default 2223 / 7722 of another test or a running daemon (why not engine_harness.h) */
	g_ptr_array_set_size(cfg.listen_ng, 0);
	g_ptr_array_set_size(cfg.listen_rtpproxy, 0);
	if (rg_engine_start(&cfg, NULL, &err) < 0)
		g_error("engine: %s", err);
	g_test_add_func("/webrtc/media", test_media);
	g_test_add_func("/webrtc/ice-restart", test_ice_restart);
	g_test_add_func("/webrtc/ice-restart-moved", test_ice_restart_moved);
	g_test_add_func("/webrtc/browser-answers", test_browser_answers);
	g_test_add_func("/webrtc/trickle", test_trickle);
	g_test_add_func("/webrtc/trickle-after-failure", test_trickle_after_failure);
	g_test_add_func("/webrtc/consent-expiry-in-restart", test_consent_expiry_in_restart);
	g_test_add_func("/webrtc/consent-gone", test_consent_gone);
	g_test_add_func("/webrtc/consent-listen", test_consent_listen);
	int ret = g_test_run();
	rg_engine_stop();
	rg_config_clear(&cfg);
	return ret;
}
