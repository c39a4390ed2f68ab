/* dtls_priv.h: internals of the rgdtls library, shared between its .c files. Not installed. */
#ifndef RG_DTLS_PRIV_H
#define RG_DTLS_PRIV_H

#include "rg_dtls.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* Owned by the caller of rg_dtls_cert_new(), freed by rg_dtls_cert_free(). ctx holds its own
 * references to x509 and pkey; every rg_dtls takes a reference to ctx (SSL_new). */
struct rg_dtls_cert {
	SSL_CTX *ctx;
	X509 *x509;
	EVP_PKEY *pkey;
};

/* A datagram that arrived while the role was unset; buf owned by the rg_dtls (freed with it or
 * when fed). */
struct rg_dtls_early {
	uint8_t *buf;
	size_t len;
};

/* See rg_dtls.h. Owned by the caller, freed by rg_dtls_free(). ssl owns bio (SSL_set_bio). */
struct rg_dtls {
	SSL *ssl;
	BIO *bio;
	rg_dtls_send_h send;
	void *arg;

	enum rg_dtls_role role;
	enum rg_dtls_state state;
	bool started;     /* connect/accept state set, handshake running */
	bool hs_done;     /* OpenSSL handshake finished (CONNECTED once the fingerprint matched) */
	bool profiles_set;

	/* peer a=fingerprint (RFC 8122): hash and raw digest */
	const EVP_MD *peer_md;
	uint8_t peer_fp[EVP_MAX_MD_SIZE];
	unsigned peer_fp_len;
	const char *verify_fail; /* set by the verify callback on mismatch */

	char reason[160];

	unsigned rto_ms;          /* initial retransmission timeout */
	unsigned handshake_ms;    /* overall deadline after start */
	uint64_t deadline_ms;     /* CLOCK_MONOTONIC ms, 0 = not armed */

	/* memory BIO state (dtls_bio.c): the datagram being read, the datagram being assembled */
	const uint8_t *rx;
	size_t rx_len;
	uint8_t tx[RG_DTLS_MTU];
	size_t tx_len;

	struct rg_dtls_early early[RG_DTLS_EARLY_MAX];
	unsigned n_early;

	struct rg_dtls_stats stats;
};

/* cert.c */
const EVP_MD *rg_dtls_md_by_name(const char *algo);
int rg_dtls_fp_format(const uint8_t *md, unsigned mdlen, char *buf, size_t len);
int rg_dtls_fp_parse(const char *fp, uint8_t *md, unsigned mdlen);

/* dtls_bio.c: a datagram BIO over d->rx / d->tx; flush hands d->tx to d->send */
BIO *rg_dtls_bio_new(struct rg_dtls *d);
void rg_dtls_bio_flush(struct rg_dtls *d);

/* srtp.c */
const struct rg_srtp_suite_info *rg_srtp_suite_by_dtls_id(uint16_t id);

#endif
