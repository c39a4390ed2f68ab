#include "ports.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

GPtrArray *rg_ifaces;

static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		*len = sizeof(*sin);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		*len = sizeof(*sin6);
		return AF_INET6;
	}
	return -EINVAL;
}

rg_iface *rg_iface_new(const char *name, const char *addr, const char *advertised,
		       unsigned port_min, unsigned port_max, char **err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fam = parse_addr(addr, &ss, &len);
	if (fam < 0) {
		*err = g_strdup_printf("interface %s: '%s' is not an IP address", name, addr);
		return NULL;
	}
	if (port_min & 1)
		port_min++;
	if (port_max <= port_min) {
		*err = g_strdup_printf("interface %s: empty port range", name);
		return NULL;
	}
	rg_iface *ifc = g_new0(rg_iface, 1);
	ifc->name = g_strdup(name);
	ifc->family = fam;
	ifc->local = ss;
	ifc->local_len = len;
	ifc->addr = g_strdup(addr);
	ifc->advertised = g_strdup(advertised && *advertised ? advertised : addr);
	ifc->port_min = port_min;
	ifc->port_max = port_max;
	g_mutex_init(&ifc->lock);
	ifc->used = g_malloc0((port_max - port_min) / 8 + 2);
	ifc->next = port_min;
	return ifc;
}

void rg_iface_free(rg_iface *ifc)
{
	if (!ifc)
		return;
	g_mutex_clear(&ifc->lock);
	g_free(ifc->name);
	g_free(ifc->addr);
	g_free(ifc->advertised);
	g_free(ifc->used);
	g_free(ifc);
}

static inline bool bit_get(const uint8_t *b, unsigned i) { return b[i >> 3] & (1u << (i & 7)); }
static inline void bit_set(uint8_t *b, unsigned i) { b[i >> 3] |= (uint8_t)(1u << (i & 7)); }
static inline void bit_clr(uint8_t *b, unsigned i) { b[i >> 3] &= (uint8_t)~(1u << (i & 7)); }

static int bind_one(rg_iface *ifc, unsigned port)
{
	int fd = socket(ifc->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_storage ss = ifc->local;
	if (ifc->family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	else {
		int one = 1;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
	}
	if (bind(fd, (struct sockaddr *)&ss, ifc->local_len) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

int rg_iface_alloc_pair(rg_iface *ifc, int fds[2], unsigned *port)
{
	g_mutex_lock(&ifc->lock);
	unsigned span = ifc->port_max - ifc->port_min + 1;
	unsigned tries = span / 2;
	int ret = -EADDRNOTAVAIL;
	for (unsigned t = 0; t < tries; t++) {
		unsigned p = ifc->next;
		ifc->next += 2;
		if (ifc->next + 1 > ifc->port_max)
			ifc->next = ifc->port_min;
		if (p + 1 > ifc->port_max)
			continue;
		unsigned i = p - ifc->port_min;
		if (bit_get(ifc->used, i) || bit_get(ifc->used, i + 1))
			continue;
		int a = bind_one(ifc, p);
		if (a < 0)
			continue;
		int b = bind_one(ifc, p + 1);
		if (b < 0) {
			close(a);
			continue;
		}
		bit_set(ifc->used, i);
		bit_set(ifc->used, i + 1);
		ifc->in_use += 2;
		fds[0] = a;
		fds[1] = b;
		*port = p;
		ret = 0;
		break;
	}
	g_mutex_unlock(&ifc->lock);
	return ret;
}

void rg_iface_release_port(rg_iface *ifc, unsigned port)
{
	if (port < ifc->port_min || port > ifc->port_max)
		return;
	g_mutex_lock(&ifc->lock);
	unsigned i = port - ifc->port_min;
	if (bit_get(ifc->used, i)) {
		bit_clr(ifc->used, i);
		ifc->in_use--;
	}
	g_mutex_unlock(&ifc->lock);
}

unsigned rg_iface_ports_free(rg_iface *ifc)
{
	g_mutex_lock(&ifc->lock);
	unsigned n = ifc->port_max - ifc->port_min + 1 - ifc->in_use;
	g_mutex_unlock(&ifc->lock);
	return n;
}

rg_iface *rg_iface_find(const char *name, int family)
{
	rg_iface *any = NULL;
	if (!rg_ifaces)
		return NULL;
	for (guint i = 0; i < rg_ifaces->len; i++) {
		rg_iface *ifc = rg_ifaces->pdata[i];
		if (strcmp(ifc->name, name) != 0)
			continue;
		if (!family || ifc->family == family)
			return ifc;
		if (!any)
			any = ifc;
	}
	return any;
}

rg_iface *rg_iface_default(int family)
{
	if (!rg_ifaces || rg_ifaces->len == 0)
		return NULL;
	for (guint i = 0; i < rg_ifaces->len; i++) {
		rg_iface *ifc = rg_ifaces->pdata[i];
		if (!family || ifc->family == family)
			return ifc;
	}
	return NULL;
}
