/* rtpproxy control sockets and the reply cache (ref 1).
 *
 * udp:/udp6: and unix-dgram: datagrams are "<cookie> <command>"; the answer "<cookie> <answer>"
 * goes back to the sender from the address it targeted (IP_PKTINFO), and is cached per (sender,
 * cookie) for 30-60 s so a retransmitted U is never run twice. unix: is a stream socket without
 * cookies: each read is one command (Kamailio writes one, reads the answer, closes).
 * Everything here runs on the main GMainContext. The socket list and the cache are owned by this
 * file, created by rtpp_start/rtpp_listen and freed by rtpp_stop. */
#include "rtpp.h"
#include "call.h"
#include "ctl.h"
#include "log.h"
#include "stats.h"

#include <errno.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

typedef enum { RS_DGRAM, RS_STREAM_LISTEN, RS_STREAM_CONN } rs_kind;

typedef struct rtpp_sock {
	rs_kind kind;
	int fd;
	GSource *src;
	char *spec;
	char *path;          /* unix listeners: the socket file, removed by rtpp_stop */
	int64_t last;        /* connections: last activity (unix s) */
} rtpp_sock;

#define MAX_CONNS 128
#define CONN_IDLE_S 30

static GPtrArray *socks;           /* rtpp_sock*: listeners and open connections */
static GMainContext *rtpp_ctx;
static rg_ctl_cache cache;

static void sock_free(rtpp_sock *s)
{
	if (s->src) {
		g_source_destroy(s->src);
		g_source_unref(s->src);
	}
	if (s->fd >= 0)
		close(s->fd);
	if (s->path)
		unlink(s->path);
	g_free(s->path);
	g_free(s->spec);
	g_free(s);
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\0';
}

/* ---- datagram sockets (udp, udp6, unix-dgram) ---- */

static void handle_datagram(rtpp_sock *s, const char *buf, size_t n, const rg_ctl_msg *m)
{
	size_t i = 0;
	while (i < n && is_space(buf[i]))
		i++;
	size_t cstart = i;
	while (i < n && !is_space(buf[i]))
		i++;
	size_t clen = i - cstart;
	if (clen == 0) {
		rg_ctr_inc(RG_CTR_RTPP_ERRORS);
		rg_log(RG_LOG_WARN, "rtpproxy %s: datagram of %zu bytes without a cookie dropped", s->spec, n);
		return;
	}
	const char *cookie = buf + cstart;
	bool can_answer = m->fromlen > sizeof(sa_family_t);   /* an unbound unix sender has no address */
	char *key = NULL;
	GBytes *ans = rg_ctl_cache_get(&cache, &m->from, m->fromlen, cookie, clen, &key);
	if (ans) {
		rg_ctr_inc(RG_CTR_RTPP_RETRANSMITS);
		rg_log(RG_LOG_DEBUG, "rtpproxy: retransmission of cookie %.*s answered from cache", (int)MIN(clen, 64),
		       cookie);
	} else {
		GString *r = g_string_sized_new(clen + 64);
		g_string_append_len(r, cookie, (gssize)clen);
		g_string_append_c(r, ' ');
		size_t room = clen + 1 < RTPP_REPLY_MAX ? RTPP_REPLY_MAX - clen - 1 : 4;
		rtpp_process(buf + i, n - i, room, r);
		size_t rl = r->len;
		ans = g_bytes_new_take(g_string_free(r, FALSE), rl);
		rg_ctl_cache_put(&cache, key, ans);
	}
	gsize al;
	const void *ad = g_bytes_get_data(ans, &al);
	if (!can_answer) {
		rg_log(RG_LOG_WARN, "rtpproxy %s: sender has no address (unbound unix socket): answer dropped",
		       s->spec);
	} else {
		int e = rg_ctl_reply(s->fd, ad, al, m);
		if (e < 0)
			rg_log(RG_LOG_WARN, "rtpproxy %s: sending answer: %s", s->spec, strerror(-e));
	}
	g_bytes_unref(ans);
}

static gboolean dgram_readable(gint fd, GIOCondition cond, gpointer data)
{
	rtpp_sock *s = data;
	static char buf[65536];
	for (int round = 0; round < 64; round++) {
		rg_ctl_msg m;
		ssize_t n = rg_ctl_recv(fd, buf, sizeof(buf) - 1, &m);
		if (n < 0)
			break;
		if (m.truncated) {
			rg_ctr_inc(RG_CTR_RTPP_ERRORS);
			rg_log(RG_LOG_WARN, "rtpproxy %s: oversized datagram dropped", s->spec);
			continue;
		}
		handle_datagram(s, buf, (size_t)n, &m);
	}
	return G_SOURCE_CONTINUE;
}

/* ---- unix stream sockets ---- */

static void conn_close(rtpp_sock *c)
{
	g_ptr_array_remove(socks, c);
	sock_free(c);
}

static gboolean conn_readable(gint fd, GIOCondition cond, gpointer data)
{
	rtpp_sock *c = data;
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {   /* peer closed: destroying the source inside its own dispatch is allowed */
		conn_close(c);
		return G_SOURCE_REMOVE;
	}
	c->last = rg_now();
	GString *r = g_string_sized_new(64);
	rtpp_process(buf, (size_t)n, RTPP_REPLY_MAX, r);
	if (write(fd, r->str, r->len) != (ssize_t)r->len)
		rg_log(RG_LOG_WARN, "rtpproxy %s: writing answer: %s", c->spec, strerror(errno));
	g_string_free(r, TRUE);
	return G_SOURCE_CONTINUE;
}

static void conns_sweep(int64_t now, bool need_room)
{
	rtpp_sock *oldest = NULL;
	unsigned n = 0;
	for (guint i = 0; i < socks->len;) {
		rtpp_sock *c = socks->pdata[i];
		if (c->kind != RS_STREAM_CONN) {
			i++;
			continue;
		}
		if (now - c->last >= CONN_IDLE_S) {
			conn_close(c);
			continue;
		}
		if (!oldest || c->last < oldest->last)
			oldest = c;
		n++;
		i++;
	}
	if (need_room && n >= MAX_CONNS && oldest) {
		rg_log(RG_LOG_WARN, "rtpproxy %s: too many open connections, closing the oldest", oldest->spec);
		conn_close(oldest);
	}
}

static gboolean listen_readable(gint fd, GIOCondition cond, gpointer data)
{
	rtpp_sock *l = data;
	for (int round = 0; round < 16; round++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			break;
		conns_sweep(rg_now(), true);
		rtpp_sock *c = g_new0(rtpp_sock, 1);
		c->kind = RS_STREAM_CONN;
		c->fd = cfd;
		c->spec = g_strdup(l->spec);
		c->last = rg_now();
		c->src = g_unix_fd_source_new(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR);
		g_source_set_callback(c->src, (GSourceFunc)(void (*)(void))conn_readable, c, NULL);
		g_source_attach(c->src, rtpp_ctx);
		g_ptr_array_add(socks, c);
	}
	return G_SOURCE_CONTINUE;
}

/* ---- listeners ---- */

static int bind_unix(const char *spec, const char *path, int type, char **err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*err = g_strdup_printf("rtpproxy socket %s: path too long", spec);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		/* left over from an earlier run, unless someone still answers there */
		int probe = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
		bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0;
		if (probe >= 0)
			close(probe);
		if (live) {
			*err = g_strdup_printf("rtpproxy socket %s: another process listens there", spec);
			return -EADDRINUSE;
		}
		unlink(path);
	}
	int fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 64) < 0)) {
		int e = errno;
		*err = g_strdup_printf("rtpproxy socket %s: %s", spec, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

static int bind_udp(const char *spec, const struct sockaddr_storage *ss, socklen_t sl, char **err)
{
	int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = g_strdup_printf("rtpproxy socket %s: %s", spec, strerror(errno));
		return -errno;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));   /* as NG's sockets */
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	rg_ctl_want_pktinfo(fd, ss->ss_family);
	if (bind(fd, (const struct sockaddr *)ss, sl) < 0) {
		int e = errno;
		*err = g_strdup_printf("rtpproxy socket %s: bind: %s", spec, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

int rtpp_listen(const char *spec, GMainContext *ctx, char **err)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	char *path = NULL;
	int fd;
	rs_kind kind = RS_DGRAM;
	if (g_str_has_prefix(spec, "unix-dgram:")) {
		path = g_strdup(spec + strlen("unix-dgram:"));
		if (!*path) {
			*err = g_strdup_printf("'%s': empty socket path", spec);
			g_free(path);
			return -EINVAL;
		}
		fd = bind_unix(spec, path, SOCK_DGRAM, err);
	} else {
		if (rg_parse_listen_rtpproxy(spec, &ss, &sl, &path, err) < 0)
			return -EINVAL;
		if (path) {
			kind = RS_STREAM_LISTEN;
			fd = bind_unix(spec, path, SOCK_STREAM, err);
		} else {
			fd = bind_udp(spec, &ss, sl, err);
		}
	}
	if (fd < 0) {
		g_free(path);
		return fd;
	}
	if (!socks)
		socks = g_ptr_array_new();
	rtpp_ctx = ctx;
	rtpp_sock *s = g_new0(rtpp_sock, 1);
	s->kind = kind;
	s->fd = fd;
	s->spec = g_strdup(spec);
	s->path = path;
	s->src = g_unix_fd_source_new(fd, G_IO_IN);
	GSourceFunc cb = kind == RS_DGRAM ? (GSourceFunc)(void (*)(void))dgram_readable
					  : (GSourceFunc)(void (*)(void))listen_readable;
	g_source_set_callback(s->src, cb, s, NULL);
	g_source_attach(s->src, ctx);
	g_ptr_array_add(socks, s);
	rg_log(RG_LOG_INFO, "rtpproxy control listening on %s", spec);
	return 0;
}

int rtpp_start(const rg_config *cfg, GMainContext *ctx, char **err)
{
	rtpp_set_timeouts(cfg->timeout, cfg->silent_timeout, cfg->offer_timeout);
	for (guint i = 0; cfg->listen_rtpproxy && i < cfg->listen_rtpproxy->len; i++) {
		int ret = rtpp_listen(cfg->listen_rtpproxy->pdata[i], ctx, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void rtpp_stop(void)
{
	if (socks) {
		for (guint i = 0; i < socks->len; i++)
			sock_free(socks->pdata[i]);
		g_ptr_array_free(socks, TRUE);
		socks = NULL;
	}
	rg_ctl_cache_clear(&cache);
}

int rtpp_notify(const char *spec, const char *msg, char **err)
{
	/* "tcp:host:port", "udp:host:port" (also udp6:), "unix:/path" or a bare "/path" (stream) */
	bool tcp = g_str_has_prefix(spec, "tcp:");
	char *parse = tcp ? g_strconcat("udp:", spec + 4, NULL) : spec[0] == '/' ? g_strconcat("unix:", spec, NULL)
									: g_strdup(spec);
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	char *path = NULL;
	int r = rg_parse_listen_rtpproxy(parse, &ss, &sl, &path, err);
	g_free(parse);
	if (r < 0)
		return -EINVAL;
	int type = path || tcp ? SOCK_STREAM : SOCK_DGRAM;
	if (path) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
		memset(sun, 0, sizeof(*sun));
		sun->sun_family = AF_UNIX;
		if (strlen(path) >= sizeof(sun->sun_path)) {
			*err = g_strdup_printf("'%s': path too long", spec);
			g_free(path);
			return -EINVAL;
		}
		strcpy(sun->sun_path, path);
		sl = sizeof(*sun);
		g_free(path);
	}
	int fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = g_strdup_printf("socket: %s", strerror(errno));
		return -errno;
	}
	/* the control thread sends this: a peer that does not take it within a second is given up */
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	size_t len = strlen(msg);
	int ret = 0;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 || send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len) {
		ret = -errno;
		*err = g_strdup_printf("%s: %s", spec, strerror(errno));
	}
	close(fd);
	return ret;
}
