/* pair.h: two rg_dtls endpoints joined by an in-memory "network" for tests: datagrams queue per
 * direction, an optional drop filter per direction (lossy link), and a pump that delivers them
 * and drives the timers (short real sleeps: OpenSSL's DTLS timer reads the wall clock). */
#ifndef RG_DTLS_TEST_PAIR_H
#define RG_DTLS_TEST_PAIR_H

#include "rg_dtls.h"

#define NET_QMAX 128

/* return true to drop the n-th datagram (0-based) sent in this direction */
typedef bool (*net_drop_h)(void *ctx, unsigned n, const uint8_t *buf, size_t len);

/* One direction of the test network; its queued copies are owned here, freed on delivery or by
 * net_clear(). */
struct net_dir {
	struct {
		uint8_t *buf;
		size_t len;
	} q[NET_QMAX];
	unsigned n_q;
	unsigned sent;    /* datagrams offered by the sender */
	unsigned dropped; /* of which the filter dropped */
	net_drop_h drop;
	void *drop_ctx;
	bool hold;        /* queue but do not deliver (pump leaves them) */
};

/* a: usually the active side, b: the passive side. Owned by the test, freed by pair_free(). */
struct pair {
	rg_dtls *a, *b;
	struct net_dir ab, ba;
};

extern rg_dtls_cert *cert_a, *cert_b; /* made once per test program by pair_certs() */

void pair_certs(void);
void pair_certs_free(void);
/* fp of the other side set at creation when with_fp */
int pair_new(struct pair *p, enum rg_dtls_role role_a, enum rg_dtls_role role_b, bool with_fp);
void pair_free(struct pair *p);
void net_send_ab(void *arg, const uint8_t *buf, size_t len);
void net_send_ba(void *arg, const uint8_t *buf, size_t len);
/* deliver queued datagrams, sleep to timer deadlines, call handle_timeout; until both sides are
 * CONNECTED or terminal, nothing is left to do, or max_ms passed. Returns the elapsed ms. */
unsigned pair_pump(struct pair *p, unsigned max_ms);
/* deliver what is queued in one direction (to b for ab, to a for ba) */
void net_deliver(struct pair *p, struct net_dir *dir);
void net_clear(struct net_dir *dir);
void sleep_ms(unsigned ms);
bool drop_first(void *ctx, unsigned n, const uint8_t *buf, size_t len);
bool drop_all(void *ctx, unsigned n, const uint8_t *buf, size_t len);
/* handshake to CONNECTED with fingerprints known up front; 0 or -1 */
int pair_connect(struct pair *p, const char *profiles_a, const char *profiles_b);

#endif
