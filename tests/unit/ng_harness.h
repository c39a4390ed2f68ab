/* What the in-process NG tests share (test_ng.c, test_transcode.c): building requests, running them
 * through ng_process(), reading replies, and UDP peers on loopback. Header-only (static functions):
 * each test is one executable. */
#ifndef RG_TEST_NG_HARNESS_H
#define RG_TEST_NG_HARNESS_H

#include <arpa/inet.h>
#include <glib.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bencode.h"
#include "ng.h"

/* A request from key/value pairs (NULL-terminated): a value starting with "[" is a list of
 * space-separated items; the key "codec" takes "op=a,b;op=c" and becomes a dictionary of lists. */
static char *req_v(const char *cmd, va_list ap, size_t *len)
{
	be_buf b;
	be_buf_init(&b);
	be_dict_open(&b);
	const char *k;
	while ((k = va_arg(ap, const char *))) {
		const char *v = va_arg(ap, const char *);
		be_key(&b, k);
		if (strcmp(k, "codec") == 0) {
			be_dict_open(&b);
			gchar **ops = g_strsplit(v, ";", -1);
			for (gchar **o = ops; *o; o++) {
				gchar **kv = g_strsplit(*o, "=", 2);
				be_key(&b, kv[0]);
				be_list_open(&b);
				gchar **items = g_strsplit(kv[1] ? kv[1] : "", ",", -1);
				for (gchar **i = items; *i; i++)
					be_cstr(&b, *i);
				g_strfreev(items);
				be_close(&b);
				g_strfreev(kv);
			}
			g_strfreev(ops);
			be_close(&b);
		} else if (v[0] == '[') {
			be_list_open(&b);
			gchar **items = g_strsplit(v + 1, " ", -1);
			for (gchar **i = items; *i; i++)
				if (**i)
					be_cstr(&b, *i);
			g_strfreev(items);
			be_close(&b);
		} else {
			be_cstr(&b, v);
		}
	}
	be_kv_cstr(&b, "command", cmd);
	be_close(&b);
	return be_buf_steal(&b, len);
}

typedef struct reply {
	char *raw;
	be_doc doc;
	const be_node *d;
} reply;

static void reply_free(reply *r)
{
	be_doc_free(&r->doc);
	g_free(r->raw);
	g_free(r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(reply, reply_free)

static reply *parse_reply(char *raw, size_t len)
{
	reply *r = g_new0(reply, 1);
	r->raw = raw;
	const char *err = NULL;
	g_assert_cmpint(be_decode(raw, len, &r->doc, &err), ==, 0);
	r->d = r->doc.root;
	g_assert_cmpint(r->d->type, ==, BE_DICT);
	return r;
}

static G_GNUC_UNUSED reply *ng(const char *cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	size_t len, olen;
	char *q = req_v(cmd, ap, &len);
	va_end(ap);
	char *out = ng_process(q, len, &olen);
	g_free(q);
	return parse_reply(out, olen);
}

static G_GNUC_UNUSED reply *ng_raw(const char *payload)
{
	size_t olen;
	char *out = ng_process(payload, strlen(payload), &olen);
	return parse_reply(out, olen);
}

static char *rstr(const reply *r, const char *key)
{
	rg_str s;
	if (!be_dict_str(r->d, key, &s))
		return NULL;
	return rg_str_dup(s);
}

static G_GNUC_UNUSED void assert_result(const reply *r, const char *want)
{
	g_autofree char *res = rstr(r, "result");
	if (g_strcmp0(res, want) != 0) {
		g_autofree char *why = rstr(r, "error-reason");
		g_error("result '%s' (%s), wanted '%s'", res, why ? why : "", want);
	}
}

static G_GNUC_UNUSED void assert_error(const reply *r, const char *reason_part)
{
	assert_result(r, "error");
	g_autofree char *why = rstr(r, "error-reason");
	g_assert_nonnull(why);
	if (!strstr(why, reason_part))
		g_error("error-reason '%s' lacks '%s'", why, reason_part);
}

/* The port of the nth m= line (from 0). */
static G_GNUC_UNUSED unsigned sdp_port(const char *sdp, unsigned nth)
{
	const char *p = sdp;
	for (unsigned i = 0; i <= nth; i++) {
		p = strstr(p, "m=");
		g_assert_nonnull(p);
		p += 2;
	}
	p = strchr(p, ' ');
	return (unsigned)atoi(p + 1);
}

/* A UDP socket on 127.0.0.1 (any port, in *port) that waits at most one second in recv. */
static G_GNUC_UNUSED int udp_bind(unsigned *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
	socklen_t sl = sizeof(sin);
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	*port = ntohs(sin.sin_port);
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static G_GNUC_UNUSED void send_to(int fd, unsigned port, const void *buf, size_t len)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				   .sin_port = htons((uint16_t)port) };
	g_assert_cmpint(sendto(fd, buf, len, 0, (struct sockaddr *)&sin, sizeof(sin)), ==, (ssize_t)len);
}

/* A 172-octet PCMU-sized RTP packet: sequence seq, timestamp seq x 160, SSRC 0x11223344, payload 0xd5 */
static G_GNUC_UNUSED size_t mk_test_rtp(uint8_t *b, uint16_t seq, uint8_t pt)
{
	b[0] = 0x80;
	b[1] = pt;
	b[2] = seq >> 8;
	b[3] = seq & 0xff;
	uint32_t ts = htonl(seq * 160u), ssrc = htonl(0x11223344);
	memcpy(b + 4, &ts, 4);
	memcpy(b + 8, &ssrc, 4);
	memset(b + 12, 0xd5, 160);
	return 172;
}

#endif
