/* dtls.c: one DTLS-SRTP association (RFC 5764, roles and fingerprints per RFC 5763 / 8842),
 * driven by the caller: datagrams in through rg_dtls_input(), out through the send callback,
 * retransmissions through rg_dtls_timeout_ms() / rg_dtls_handle_timeout(). */
#include "dtls_priv.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/srtp.h>

/* RFC 5764 section 4.1.2 and RFC 7714 section 14.2 profiles, in our order of preference: AEAD
 * first (smaller per-packet work, no separate HMAC), then the mandatory AES128_CM_SHA1_80. */
static const char *const known_profiles[] = {
	"SRTP_AEAD_AES_128_GCM",
	"SRTP_AEAD_AES_256_GCM",
	"SRTP_AES128_CM_SHA1_80",
	"SRTP_AES128_CM_SHA1_32",
};
#define DEFAULT_PROFILES \
	"SRTP_AEAD_AES_128_GCM:SRTP_AEAD_AES_256_GCM:SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32"

/* RFC 6347 section 4.2.4.1: double the timer on each expiry, up to at least 60 s */
#define MAX_RTO_US 60000000u

/* RFC 5764 section 4.2: the exporter label */
static const char exporter_label[] = "EXTRACTOR-dtls_srtp";

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool is_terminal(const rg_dtls *d)
{
	return d->state == RG_DTLS_FAILED || d->state == RG_DTLS_CLOSED;
}

static void set_reason(rg_dtls *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_reason(rg_dtls *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
}

static void fail(rg_dtls *d, const char *reason)
{
	if (is_terminal(d))
		return;
	d->state = RG_DTLS_FAILED;
	d->deadline_ms = 0;
	set_reason(d, "%s", reason);
}

/* After an OpenSSL call failed: our verify callback's reason wins, else OpenSSL's. */
static void fail_ssl(rg_dtls *d, int sslerr)
{
	if (d->verify_fail) {
		fail(d, d->verify_fail);
	} else {
		unsigned long e = ERR_peek_last_error();
		const char *r = e ? ERR_reason_error_string(e) : NULL;
		char buf[sizeof(d->reason)];
		if (!r)
			r = sslerr == SSL_ERROR_SYSCALL ? "I/O error" : "unknown error";
		snprintf(buf, sizeof(buf), "DTLS handshake failed: %s", r);
		if (d->hs_done)
			snprintf(buf, sizeof(buf), "DTLS error: %s", r);
		fail(d, buf);
	}
	ERR_clear_error();
}

/* Failure after the handshake completed: tell the peer with close_notify (we cannot send a
 * handshake alert any more). */
static void fail_established(rg_dtls *d, const char *reason)
{
	fail(d, reason);
	ERR_clear_error();
	SSL_shutdown(d->ssl);
	ERR_clear_error();
}

static bool fp_matches(const rg_dtls *d, X509 *cert)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	if (!cert || !d->peer_md || X509_digest(cert, d->peer_md, md, &n) != 1 ||
	    n != d->peer_fp_len)
		return false;
	return CRYPTO_memcmp(md, d->peer_fp, n) == 0;
}

/* RFC 5763 section 5: the certificate is self-signed and verified only by matching the
 * fingerprint from the SDP, so all chain errors are ignored; the leaf must match the
 * fingerprint if we know it already (else we check when it arrives). A mismatch here aborts the
 * handshake with a bad_certificate alert. */
static int verify_cb(int preverify_ok, X509_STORE_CTX *xs)
{
	(void)preverify_ok;
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	rg_dtls *d = ssl ? SSL_get_app_data(ssl) : NULL;
	if (!d)
		return 0;
	if (X509_STORE_CTX_get_error_depth(xs) != 0 || !d->peer_md)
		return 1;
	if (!fp_matches(d, X509_STORE_CTX_get_current_cert(xs))) {
		d->verify_fail = "peer certificate fingerprint mismatch";
		X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
		return 0;
	}
	return 1;
}

/* RFC 6347 section 4.2.4.1: initial timer (ours configurable), doubled per expiry, capped */
static unsigned int timer_cb(SSL *ssl, unsigned int prev_us)
{
	rg_dtls *d = SSL_get_app_data(ssl);
	if (prev_us == 0)
		return d->rto_ms * 1000u;
	return prev_us >= MAX_RTO_US / 2 ? MAX_RTO_US : prev_us * 2;
}

static int parse_fp(const char *algo, const char *fp, const EVP_MD **md, uint8_t *raw,
		    unsigned *rawlen)
{
	const EVP_MD *m = rg_dtls_md_by_name(algo);
	if (!algo || !fp)
		return -EINVAL;
	if (!m)
		return -ENOTSUP;
	int n = EVP_MD_get_size(m);
	if (n <= 0 || n > EVP_MAX_MD_SIZE)
		return -EINVAL;
	int err = rg_dtls_fp_parse(fp, raw, (unsigned)n);
	if (err)
		return err;
	*md = m;
	*rawlen = (unsigned)n;
	return 0;
}

/* The peer certificate against the SDP fingerprint, once both the handshake and the fingerprint
 * are there. */
static void check_peer(rg_dtls *d)
{
	if (!d->hs_done || d->state != RG_DTLS_CONNECTING)
		return;
	if (!d->peer_md) {
		set_reason(d, "handshake done, waiting for the peer fingerprint");
		return;
	}
	if (!fp_matches(d, SSL_get0_peer_certificate(d->ssl))) {
		fail_established(d, "peer certificate fingerprint mismatch");
		return;
	}
	d->state = RG_DTLS_CONNECTED;
	d->deadline_ms = 0;
	d->reason[0] = '\0';
}

static void handshake_done(rg_dtls *d)
{
	d->hs_done = true;
	/* RFC 5764 section 4.1.1: no use_srtp in the ServerHello means no DTLS-SRTP */
	SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(d->ssl);
	if (!p || !rg_srtp_suite_by_dtls_id((uint16_t)p->id)) {
		fail_established(d, "no SRTP protection profile negotiated");
		return;
	}
	/* RFC 5763 section 5: both sides present a certificate (the server asks for it with
	 * SSL_VERIFY_FAIL_IF_NO_PEER_CERT; a client always gets one) */
	if (!SSL_get0_peer_certificate(d->ssl)) {
		fail_established(d, "peer sent no certificate");
		return;
	}
	check_peer(d);
}

/* Let OpenSSL process what is in d->rx (if anything) and send what it produced. */
static void drive(rg_dtls *d)
{
	if (is_terminal(d))
		goto out;
	ERR_clear_error();
	if (!d->hs_done) {
		int r = SSL_do_handshake(d->ssl);
		if (r == 1) {
			handshake_done(d);
		} else {
			int e = SSL_get_error(d->ssl, r);
			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
				fail_ssl(d, e);
				goto out;
			}
		}
	}
	if (d->hs_done && !is_terminal(d)) {
		/* after the handshake: alerts, the peer's retransmitted last flight (answered
		 * with ours), application data (we carry none: counted and dropped) */
		uint8_t buf[2048];
		for (;;) {
			int r = SSL_read(d->ssl, buf, sizeof(buf));
			if (r > 0) {
				d->stats.app_data_dropped++;
				continue;
			}
			int e = SSL_get_error(d->ssl, r);
			if (e == SSL_ERROR_ZERO_RETURN) {
				SSL_shutdown(d->ssl); /* answer close_notify */
				d->state = RG_DTLS_CLOSED;
				d->deadline_ms = 0;
				set_reason(d, "peer sent close_notify");
			} else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
				fail_ssl(d, e);
			}
			break;
		}
	}
out:
	ERR_clear_error();
	d->rx = NULL;
	d->rx_len = 0;
	rg_dtls_bio_flush(d);
}

static void feed(rg_dtls *d, const uint8_t *pkt, size_t len)
{
	d->rx = pkt;
	d->rx_len = len;
	drive(d);
}

/* Fix connect/accept state once the role is known; arm the handshake deadline. */
static void begin(rg_dtls *d)
{
	if (d->started)
		return;
	d->started = true;
	if (d->role == RG_DTLS_ACTIVE)
		SSL_set_connect_state(d->ssl);
	else
		SSL_set_accept_state(d->ssl);
	if (!d->deadline_ms)
		d->deadline_ms = now_ms() + d->handshake_ms;
}

static void drop_early(rg_dtls *d)
{
	for (unsigned i = 0; i < d->n_early; i++) {
		free(d->early[i].buf);
		d->early[i].buf = NULL;
	}
	d->n_early = 0;
}

int rg_dtls_new(rg_dtls **out, rg_dtls_cert *cert, enum rg_dtls_role role,
		const char *peer_fp_algo, const char *peer_fp, rg_dtls_send_h send, void *arg)
{
	int err;
	rg_dtls *d = NULL;

	if (!out || !cert || !cert->ctx || !send || role > RG_DTLS_PASSIVE)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->send = send;
	d->arg = arg;
	d->role = role;
	d->rto_ms = RG_DTLS_DEFAULT_RTO_MS;
	d->handshake_ms = RG_DTLS_DEFAULT_HANDSHAKE_MS;

	if (peer_fp_algo || peer_fp) {
		err = parse_fp(peer_fp_algo, peer_fp, &d->peer_md, d->peer_fp, &d->peer_fp_len);
		if (err)
			goto out;
	}

	err = -ENOMEM;
	d->ssl = SSL_new(cert->ctx); /* takes a reference to the SSL_CTX */
	if (!d->ssl)
		goto out;
	SSL_set_app_data(d->ssl, d);
	d->bio = rg_dtls_bio_new(d);
	if (!d->bio)
		goto out;
	SSL_set_bio(d->ssl, d->bio, d->bio); /* the SSL owns the one reference */

	err = -EIO;
	SSL_set_options(d->ssl, SSL_OP_NO_QUERY_MTU);
	if (SSL_set_mtu(d->ssl, RG_DTLS_MTU) <= 0)
		goto out;
	SSL_set_verify(d->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
	DTLS_set_timer_cb(d->ssl, timer_cb);
	/* RFC 5764 section 4.1.1: offer (client) / select from (server) these profiles; note the
	 * inverted OpenSSL return value (0 = success) */
	if (SSL_set_tlsext_use_srtp(d->ssl, DEFAULT_PROFILES) != 0)
		goto out;

	*out = d;
	d = NULL;
	err = 0;
out:
	ERR_clear_error();
	rg_dtls_free(d);
	return err;
}

void rg_dtls_free(rg_dtls *d)
{
	if (!d)
		return;
	drop_early(d);
	SSL_free(d->ssl); /* frees the BIO, drops the SSL_CTX reference */
	OPENSSL_cleanse(d, sizeof(*d));
	free(d);
}

int rg_dtls_set_peer_fingerprint(rg_dtls *d, const char *algo, const char *fp)
{
	const EVP_MD *md;
	uint8_t raw[EVP_MAX_MD_SIZE];
	unsigned rawlen;

	if (!d)
		return -EINVAL;
	int err = parse_fp(algo, fp, &md, raw, &rawlen);
	if (err)
		return err;
	if (is_terminal(d))
		return -EPROTO;
	d->peer_md = md;
	memcpy(d->peer_fp, raw, rawlen);
	d->peer_fp_len = rawlen;

	if (d->state == RG_DTLS_CONNECTED) {
		if (!fp_matches(d, SSL_get0_peer_certificate(d->ssl))) {
			fail_established(d, "peer certificate fingerprint mismatch");
			rg_dtls_bio_flush(d);
			return -EKEYREJECTED;
		}
		return 0;
	}
	check_peer(d);
	rg_dtls_bio_flush(d);
	return d->state == RG_DTLS_FAILED ? -EKEYREJECTED : 0;
}

int rg_dtls_set_role(rg_dtls *d, enum rg_dtls_role role)
{
	if (!d || role > RG_DTLS_PASSIVE)
		return -EINVAL;
	if (role == d->role)
		return 0;
	if (d->started)
		return -EALREADY;
	d->role = role;
	if (role == RG_DTLS_PASSIVE && d->n_early) {
		/* RFC 5763 section 6.2: the answerer (active) may send its ClientHello before our
		 * offerer side learns the answer; it waited in the early queue */
		begin(d);
		for (unsigned i = 0; i < d->n_early; i++) {
			feed(d, d->early[i].buf, d->early[i].len);
			free(d->early[i].buf);
			d->early[i].buf = NULL;
		}
		d->n_early = 0;
	} else if (d->n_early) {
		/* we are the client: what the peer sent unasked cannot be for us */
		d->stats.early_dropped += d->n_early;
		drop_early(d);
	}
	return d->state == RG_DTLS_FAILED ? -EPROTO : 0;
}

enum rg_dtls_role rg_dtls_get_role(const rg_dtls *d)
{
	return d ? d->role : RG_DTLS_ROLE_UNSET;
}

int rg_dtls_set_srtp_profiles(rg_dtls *d, const char *profiles)
{
	if (!d || !profiles || !*profiles)
		return -EINVAL;
	if (d->started)
		return -EALREADY;
	/* every token must be one we can map to a suite */
	const char *p = profiles;
	while (*p) {
		size_t n = strcspn(p, ":");
		bool ok = false;
		for (size_t i = 0; i < sizeof(known_profiles) / sizeof(known_profiles[0]); i++)
			if (strlen(known_profiles[i]) == n && !strncmp(p, known_profiles[i], n))
				ok = true;
		if (!ok)
			return -EINVAL;
		p += n;
		if (*p == ':')
			p++;
	}
	if (SSL_set_tlsext_use_srtp(d->ssl, profiles) != 0) {
		ERR_clear_error();
		return -EINVAL;
	}
	d->profiles_set = true;
	return 0;
}

int rg_dtls_set_timeouts(rg_dtls *d, unsigned initial_rto_ms, unsigned handshake_ms)
{
	if (!d || initial_rto_ms > MAX_RTO_US / 1000)
		return -EINVAL;
	if (d->started)
		return -EALREADY;
	if (initial_rto_ms)
		d->rto_ms = initial_rto_ms;
	if (handshake_ms)
		d->handshake_ms = handshake_ms;
	return 0;
}

int rg_dtls_start(rg_dtls *d)
{
	if (!d || d->role == RG_DTLS_ROLE_UNSET)
		return -EINVAL;
	if (is_terminal(d))
		return -EPROTO;
	if (d->started)
		return -EALREADY;
	begin(d);
	if (d->role == RG_DTLS_ACTIVE)
		drive(d); /* writes the ClientHello */
	return is_terminal(d) ? -EPROTO : 0;
}

int rg_dtls_input(rg_dtls *d, const uint8_t *pkt, size_t len)
{
	if (!d || !pkt || !len)
		return -EINVAL;
	d->stats.rx_datagrams++;
	if (is_terminal(d)) {
		d->stats.dead_dropped++;
		return -EPROTO;
	}
	if (d->role == RG_DTLS_ROLE_UNSET) {
		if (d->n_early >= RG_DTLS_EARLY_MAX) {
			d->stats.early_dropped++;
			return -ENOBUFS;
		}
		uint8_t *copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, pkt, len);
		d->early[d->n_early].buf = copy;
		d->early[d->n_early].len = len;
		d->n_early++;
		return 0;
	}
	if (d->role == RG_DTLS_ACTIVE && !d->started) {
		/* a client speaks first: nothing the peer sends before our ClientHello is ours */
		d->stats.early_dropped++;
		return 0;
	}
	begin(d); /* a passive endpoint starts with the first datagram */
	feed(d, pkt, len);
	return is_terminal(d) ? -EPROTO : 0;
}

int rg_dtls_timeout_ms(const rg_dtls *d)
{
	if (!d || !d->started || is_terminal(d))
		return -1;
	int64_t best = -1;
	struct timeval tv;
	if (DTLSv1_get_timeout(d->ssl, &tv) == 1)
		best = (int64_t)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
	if (d->deadline_ms) {
		uint64_t now = now_ms();
		int64_t left = d->deadline_ms > now ? (int64_t)(d->deadline_ms - now) : 0;
		if (best < 0 || left < best)
			best = left;
	}
	return best > INT_MAX ? INT_MAX : (int)best;
}

int rg_dtls_handle_timeout(rg_dtls *d)
{
	if (!d)
		return -EINVAL;
	if (is_terminal(d))
		return -EPROTO;
	if (!d->started)
		return 0;
	if (d->state == RG_DTLS_CONNECTING && d->deadline_ms && now_ms() >= d->deadline_ms) {
		fail(d, d->hs_done ? "DTLS handshake timeout: no peer fingerprint"
				   : "DTLS handshake timeout");
		return -EPROTO;
	}
	ERR_clear_error();
	long r = DTLSv1_handle_timeout(d->ssl);
	if (r > 0)
		d->stats.retransmits++;
	else if (r < 0)
		fail_ssl(d, SSL_ERROR_SSL);
	ERR_clear_error();
	rg_dtls_bio_flush(d);
	return is_terminal(d) ? -EPROTO : 0;
}

enum rg_dtls_state rg_dtls_state(const rg_dtls *d, const char **reason)
{
	if (!d) {
		if (reason)
			*reason = "no DTLS endpoint";
		return RG_DTLS_FAILED;
	}
	if (reason)
		*reason = d->reason[0] ? d->reason : NULL;
	return d->state;
}

int rg_dtls_srtp_keys(const rg_dtls *d, rg_srtp_keys *out)
{
	if (!d || !out)
		return -EINVAL;
	if (d->state != RG_DTLS_CONNECTED)
		return -EAGAIN;
	SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(d->ssl);
	const struct rg_srtp_suite_info *info = p ? rg_srtp_suite_by_dtls_id((uint16_t)p->id) : NULL;
	if (!info)
		return -EPROTO;

	int err = -EIO;
	size_t kl = info->key_len, sl = info->salt_len;
	uint8_t mat[2 * (RG_SRTP_MAX_KEY_LEN + RG_SRTP_MAX_SALT_LEN)];
	rg_srtp_keys k;
	memset(&k, 0, sizeof(k));

	/* RFC 5764 section 4.2: 2 * (key + salt) octets from the exporter (RFC 5705), no context */
	ERR_clear_error();
	if (SSL_export_keying_material(d->ssl, mat, 2 * (kl + sl), exporter_label,
				       sizeof(exporter_label) - 1, NULL, 0, 0) != 1) {
		ERR_clear_error();
		goto out;
	}
	/* client_write_SRTP_master_key[kl] | server_write_SRTP_master_key[kl] |
	 * client_write_SRTP_master_salt[sl] | server_write_SRTP_master_salt[sl] */
	k.suite = info->suite;
	memcpy(k.client.key, mat, kl);
	memcpy(k.server.key, mat + kl, kl);
	memcpy(k.client.salt, mat + 2 * kl, sl);
	memcpy(k.server.salt, mat + 2 * kl + sl, sl);
	*out = k;
	err = 0;
out:
	OPENSSL_cleanse(mat, sizeof(mat));
	OPENSSL_cleanse(&k, sizeof(k));
	return err;
}

bool rg_dtls_is_client(const rg_dtls *d)
{
	return d && d->role == RG_DTLS_ACTIVE;
}

int rg_dtls_close(rg_dtls *d)
{
	if (!d)
		return -EINVAL;
	if (d->state != RG_DTLS_CONNECTED)
		return -ENOTCONN;
	ERR_clear_error();
	SSL_shutdown(d->ssl);
	ERR_clear_error();
	rg_dtls_bio_flush(d);
	d->state = RG_DTLS_CLOSED;
	set_reason(d, "closed locally");
	return 0;
}

void rg_dtls_get_stats(const rg_dtls *d, struct rg_dtls_stats *out)
{
	if (!out)
		return;
	if (!d) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = d->stats;
}
