/* What the NG and rtpproxy control sockets share (main thread only):
 *  - a reply cache keyed by (sender address, cookie), two generations of 30 s each, so that a
 *    retransmitted request gets the first reply and is never run twice;
 *  - datagram receive that remembers which local address the request was sent to, and a reply
 *    sent from that address (IP_PKTINFO / IPV6_PKTINFO), since Kamailio's sockets are connect()ed
 *    and drop a reply from any other address when we listen on a wildcard.
 * An rg_ctl_cache is owned by the module that embeds it (ng.c, rtpp.c) and cleared by it. */
#ifndef RG_CTL_H
#define RG_CTL_H

#include <glib.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct rg_ctl_cache {
	GHashTable *cur, *old;   /* "hex(sender) cookie" -> GBytes reply */
	int64_t rotated;
} rg_ctl_cache;

/* Drop the older generation when the current one is 30 s old (creates the tables on first use). */
void rg_ctl_cache_age(rg_ctl_cache *c);
/* The cached reply (a new reference), or NULL and *key set to the key to rg_ctl_cache_put later. */
GBytes *rg_ctl_cache_get(rg_ctl_cache *c, const struct sockaddr_storage *from, socklen_t fromlen,
			 const char *cookie, size_t clen, char **key);
/* Store reply under key (takes key; adds its own reference to reply). */
void rg_ctl_cache_put(rg_ctl_cache *c, char *key, GBytes *reply);
void rg_ctl_cache_clear(rg_ctl_cache *c);

/* One received datagram's sender and the local address it was sent to. */
typedef struct rg_ctl_msg {
	struct sockaddr_storage from;
	socklen_t fromlen;
	union {
		char buf[128];   /* room for one IP_PKTINFO and one IPV6_PKTINFO message */
		struct cmsghdr align;
	} cmsg;
	size_t cmsglen;
	bool truncated;
} rg_ctl_msg;

/* Ask the kernel for the destination address of each datagram (before rg_ctl_recv). */
void rg_ctl_want_pktinfo(int fd, int family);
/* recvmsg into buf (at most cap bytes): length, or -1 (EAGAIN etc.). */
ssize_t rg_ctl_recv(int fd, char *buf, size_t cap, rg_ctl_msg *m);
/* Send to the sender of m, from the address m was sent to. 0 or -errno. */
int rg_ctl_reply(int fd, const void *data, size_t len, const rg_ctl_msg *m);

#endif
