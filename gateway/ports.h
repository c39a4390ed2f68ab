/* Media interfaces and their RTP port pools.
 * An rg_iface is created at engine start from the configuration and lives until engine stop
 * (owned by the engine's interface array, freed by rg_ifaces_free). Each has its own port bitmap
 * guarded by its own mutex; ports are taken by signalling (rg_iface_alloc_pair) and given back by
 * the worker that closes the socket (rg_iface_release_port). */
#ifndef RG_PORTS_H
#define RG_PORTS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct rg_iface {
	char *name;
	int family;                     /* AF_INET / AF_INET6 */
	struct sockaddr_storage local;  /* port 0 */
	socklen_t local_len;
	char *addr;                     /* local address text */
	char *advertised;               /* address written into SDP */
	unsigned port_min, port_max;    /* port_min even */
	GMutex lock;
	uint8_t *used;                  /* bitmap, bit (port - port_min) */
	unsigned next;                  /* next even port to try */
	unsigned in_use;                /* ports currently held */
} rg_iface;

/* Create from config (name, addr, advertised). Returns NULL and *err on a bad address. */
rg_iface *rg_iface_new(const char *name, const char *addr, const char *advertised,
		       unsigned port_min, unsigned port_max, char **err);
void rg_iface_free(rg_iface *ifc);
/* Bind a non-blocking UDP socket pair on an even port P and P+1. 0 and fds/port set, or
 * -EADDRNOTAVAIL when no pair in the range could be bound. */
int rg_iface_alloc_pair(rg_iface *ifc, int fds[2], unsigned *port);
void rg_iface_release_port(rg_iface *ifc, unsigned port);
unsigned rg_iface_ports_free(rg_iface *ifc);

/* The engine's interfaces (set by rg_engine_start). */
extern GPtrArray *rg_ifaces;
/* Lookup by name, preferring the given family (0 = any); NULL if no interface has that name. */
rg_iface *rg_iface_find(const char *name, int family);
/* First interface of a family (0 = the very first). */
rg_iface *rg_iface_default(int family);

#endif
