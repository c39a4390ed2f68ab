#include "ctl.h"
#include "call.h"

#include <errno.h>
#include <string.h>

#define GEN_SECONDS 30

static GHashTable *table_new(void)
{
	return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
}

void rg_ctl_cache_age(rg_ctl_cache *c)
{
	int64_t now = rg_now();
	if (!c->cur) {
		c->cur = table_new();
		c->old = table_new();
		c->rotated = now;
	}
	if (now - c->rotated >= GEN_SECONDS) {
		g_hash_table_destroy(c->old);
		c->old = c->cur;
		c->cur = table_new();
		c->rotated = now;
	}
}

GBytes *rg_ctl_cache_get(rg_ctl_cache *c, const struct sockaddr_storage *from, socklen_t fromlen,
			 const char *cookie, size_t clen, char **key)
{
	rg_ctl_cache_age(c);
	GString *k = g_string_sized_new(fromlen * 2 + clen + 2);
	for (socklen_t i = 0; i < fromlen; i++)
		g_string_append_printf(k, "%02x", ((const uint8_t *)from)[i]);
	g_string_append_c(k, ' ');
	g_string_append_len(k, cookie, (gssize)clen);
	GBytes *b = g_hash_table_lookup(c->cur, k->str);
	if (!b)
		b = g_hash_table_lookup(c->old, k->str);
	if (b) {
		g_string_free(k, TRUE);
		*key = NULL;
		return g_bytes_ref(b);
	}
	*key = g_string_free(k, FALSE);
	return NULL;
}

void rg_ctl_cache_put(rg_ctl_cache *c, char *key, GBytes *reply)
{
	rg_ctl_cache_age(c);
	g_hash_table_replace(c->cur, key, g_bytes_ref(reply));
}

void rg_ctl_cache_clear(rg_ctl_cache *c)
{
	if (c->cur) {
		g_hash_table_destroy(c->cur);
		g_hash_table_destroy(c->old);
	}
	c->cur = c->old = NULL;
}

void rg_ctl_want_pktinfo(int fd, int family)
{
	int one = 1;
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	else if (family == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
}

ssize_t rg_ctl_recv(int fd, char *buf, size_t cap, rg_ctl_msg *m)
{
	struct iovec iov = { buf, cap };
	memset(&m->from, 0, sizeof(m->from));
	struct msghdr mh = { .msg_name = &m->from, .msg_namelen = sizeof(m->from), .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = m->cmsg.buf, .msg_controllen = sizeof(m->cmsg.buf) };
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
	if (n < 0)
		return -1;
	m->fromlen = mh.msg_namelen;
	m->cmsglen = mh.msg_controllen;
	m->truncated = (mh.msg_flags & MSG_TRUNC) != 0;
	return n;
}

int rg_ctl_reply(int fd, const void *data, size_t len, const rg_ctl_msg *m)
{
	struct iovec iov = { (void *)data, len };
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} out;
	struct msghdr mh = { .msg_name = (void *)&m->from, .msg_namelen = m->fromlen, .msg_iov = &iov,
			     .msg_iovlen = 1 };
	struct msghdr in = { .msg_control = (void *)m->cmsg.buf, .msg_controllen = m->cmsglen };
	for (struct cmsghdr *c = m->cmsglen ? CMSG_FIRSTHDR(&in) : NULL; c; c = CMSG_NXTHDR(&in, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pi.ipi_spec_dst = pi.ipi_addr;   /* reply from the address the request went to */
			pi.ipi_ifindex = 0;
			mh.msg_control = out.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(pi));
			struct cmsghdr *o = CMSG_FIRSTHDR(&mh);
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			mh.msg_control = out.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(pi));
			struct cmsghdr *o = CMSG_FIRSTHDR(&mh);
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
		}
	}
	return sendmsg(fd, &mh, MSG_DONTWAIT) < 0 ? -errno : 0;
}
