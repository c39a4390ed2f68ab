/* pair.c: see pair.h */
#include "pair.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

rg_dtls_cert *cert_a, *cert_b;

void pair_certs(void)
{
	if (rg_dtls_cert_new(&cert_a, RG_DTLS_CERT_ECDSA_P256) ||
	    rg_dtls_cert_new(&cert_b, RG_DTLS_CERT_ECDSA_P256)) {
		fprintf(stderr, "cannot make test certificates\n");
		exit(2);
	}
}

void pair_certs_free(void)
{
	rg_dtls_cert_free(cert_a);
	rg_dtls_cert_free(cert_b);
	cert_a = cert_b = NULL;
}

void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void enqueue(struct net_dir *d, const uint8_t *buf, size_t len)
{
	unsigned n = d->sent++;
	if (d->drop && d->drop(d->drop_ctx, n, buf, len)) {
		d->dropped++;
		return;
	}
	if (d->n_q >= NET_QMAX) {
		fprintf(stderr, "net queue overflow\n");
		abort();
	}
	d->q[d->n_q].buf = malloc(len);
	memcpy(d->q[d->n_q].buf, buf, len);
	d->q[d->n_q].len = len;
	d->n_q++;
}

void net_send_ab(void *arg, const uint8_t *buf, size_t len)
{
	enqueue(&((struct pair *)arg)->ab, buf, len);
}

void net_send_ba(void *arg, const uint8_t *buf, size_t len)
{
	enqueue(&((struct pair *)arg)->ba, buf, len);
}

void net_clear(struct net_dir *d)
{
	for (unsigned i = 0; i < d->n_q; i++)
		free(d->q[i].buf);
	d->n_q = 0;
}

void net_deliver(struct pair *p, struct net_dir *dir)
{
	rg_dtls *to = dir == &p->ab ? p->b : p->a;
	/* take the queue first: delivering makes the receiver send, into the other queue */
	unsigned n = dir->n_q;
	struct {
		uint8_t *buf;
		size_t len;
	} q[NET_QMAX];
	memcpy(q, dir->q, sizeof(q[0]) * n);
	dir->n_q = 0;
	for (unsigned i = 0; i < n; i++) {
		rg_dtls_input(to, q[i].buf, q[i].len);
		free(q[i].buf);
	}
}

static bool settled(rg_dtls *d)
{
	return rg_dtls_state(d, NULL) != RG_DTLS_CONNECTING;
}

unsigned pair_pump(struct pair *p, unsigned max_ms)
{
	uint64_t t0 = mono_ms();
	for (;;) {
		bool moved = false;
		if (!p->ab.hold && p->ab.n_q) {
			net_deliver(p, &p->ab);
			moved = true;
		}
		if (!p->ba.hold && p->ba.n_q) {
			net_deliver(p, &p->ba);
			moved = true;
		}
		if (moved)
			continue;
		if (settled(p->a) && settled(p->b))
			break;
		uint64_t el = mono_ms() - t0;
		if (el >= max_ms)
			break;
		int ta = rg_dtls_timeout_ms(p->a), tb = rg_dtls_timeout_ms(p->b);
		int t = ta < 0 ? tb : tb < 0 ? ta : ta < tb ? ta : tb;
		if (t < 0)
			break; /* nothing will happen any more */
		if ((uint64_t)t > max_ms - el)
			t = (int)(max_ms - el);
		if (t > 0)
			sleep_ms((unsigned)t);
		rg_dtls_handle_timeout(p->a);
		rg_dtls_handle_timeout(p->b);
	}
	return (unsigned)(mono_ms() - t0);
}

bool drop_first(void *ctx, unsigned n, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	return n == 0;
}

bool drop_all(void *ctx, unsigned n, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)n;
	(void)buf;
	(void)len;
	return true;
}

int pair_new(struct pair *p, enum rg_dtls_role role_a, enum rg_dtls_role role_b, bool with_fp)
{
	char fa[RG_DTLS_FP_MAX], fb[RG_DTLS_FP_MAX];
	memset(p, 0, sizeof(*p));
	if (rg_dtls_cert_fingerprint(cert_a, "sha-256", fa, sizeof(fa)) ||
	    rg_dtls_cert_fingerprint(cert_b, "sha-256", fb, sizeof(fb)))
		return -1;
	if (rg_dtls_new(&p->a, cert_a, role_a, with_fp ? "sha-256" : NULL, with_fp ? fb : NULL,
			net_send_ab, p) ||
	    rg_dtls_new(&p->b, cert_b, role_b, with_fp ? "sha-256" : NULL, with_fp ? fa : NULL,
			net_send_ba, p))
		return -1;
	/* fast retransmission so lossy tests take a fraction of a second */
	rg_dtls_set_timeouts(p->a, 100, 5000);
	rg_dtls_set_timeouts(p->b, 100, 5000);
	return 0;
}

void pair_free(struct pair *p)
{
	rg_dtls_free(p->a);
	rg_dtls_free(p->b);
	net_clear(&p->ab);
	net_clear(&p->ba);
	memset(p, 0, sizeof(*p));
}

int pair_connect(struct pair *p, const char *profiles_a, const char *profiles_b)
{
	if (pair_new(p, RG_DTLS_ACTIVE, RG_DTLS_PASSIVE, true))
		return -1;
	if (profiles_a && rg_dtls_set_srtp_profiles(p->a, profiles_a))
		return -1;
	if (profiles_b && rg_dtls_set_srtp_profiles(p->b, profiles_b))
		return -1;
	if (rg_dtls_start(p->b) || rg_dtls_start(p->a))
		return -1;
	pair_pump(p, 2000);
	if (rg_dtls_state(p->a, NULL) != RG_DTLS_CONNECTED ||
	    rg_dtls_state(p->b, NULL) != RG_DTLS_CONNECTED)
		return -1;
	return 0;
}
