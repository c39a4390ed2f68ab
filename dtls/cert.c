/* cert.c: the process' self-signed DTLS certificate and a=fingerprint text (RFC 8122). */
#include "dtls_priv.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#define CERT_DAYS 30

/* RFC 8122 section 5: hash function textual names from the IANA registry. The broken md2/md5 are
 * refused (browsers send sha-256). */
static const struct {
	const char *name;
	const EVP_MD *(*md)(void);
} md_table[] = {
	{"sha-1", EVP_sha1},
	{"sha-224", EVP_sha224},
	{"sha-256", EVP_sha256},
	{"sha-384", EVP_sha384},
	{"sha-512", EVP_sha512},
};

const EVP_MD *rg_dtls_md_by_name(const char *algo)
{
	if (!algo)
		return NULL;
	for (size_t i = 0; i < sizeof(md_table) / sizeof(md_table[0]); i++)
		if (!strcasecmp(algo, md_table[i].name))
			return md_table[i].md();
	return NULL;
}

/* "AB:CD:..": uppercase hex octets joined by ':' (RFC 8122 section 5, fingerprint ABNF) */
int rg_dtls_fp_format(const uint8_t *md, unsigned mdlen, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	if (!mdlen || len < (size_t)mdlen * 3)
		return -ENOSPC;
	char *p = buf;
	for (unsigned i = 0; i < mdlen; i++) {
		if (i)
			*p++ = ':';
		*p++ = hex[md[i] >> 4];
		*p++ = hex[md[i] & 0xf];
	}
	*p = '\0';
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parse exactly mdlen octets; hex digits in either case (peers differ), ':' between octets. */
int rg_dtls_fp_parse(const char *fp, uint8_t *md, unsigned mdlen)
{
	const char *p = fp;
	uint8_t tmp[EVP_MAX_MD_SIZE];
	if (!fp || mdlen > sizeof(tmp))
		return -EINVAL;
	while (*p == ' ' || *p == '\t')
		p++;
	for (unsigned i = 0; i < mdlen; i++) {
		if (i && *p++ != ':')
			return -EINVAL;
		int hi = hexval((unsigned char)p[0]);
		int lo = hi < 0 ? -1 : hexval((unsigned char)p[1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		tmp[i] = (uint8_t)(hi << 4 | lo);
		p += 2;
	}
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (*p)
		return -EINVAL;
	memcpy(md, tmp, mdlen);
	return 0;
}

static EVP_PKEY *gen_key(int kind)
{
	switch (kind) {
	case RG_DTLS_CERT_ECDSA_P256:
		return EVP_EC_gen("P-256");
	case RG_DTLS_CERT_RSA_2048:
		return EVP_RSA_gen(2048);
	default:
		return NULL;
	}
}

static int make_x509(EVP_PKEY *pkey, X509 **out)
{
	int err = -EIO;
	X509 *x = X509_new();
	X509_NAME *name = NULL;
	BIGNUM *bn = NULL;
	uint8_t rnd[8];
	char cn[2 * sizeof(rnd) + 1];

	if (!x)
		return -ENOMEM;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(cn + 2 * i, 3, "%02x", rnd[i]);

	/* random positive 63-bit serial */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	rnd[0] &= 0x7f;
	bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto out;

	if (!X509_set_version(x, X509_VERSION_3))
		goto out;
	/* valid from a day back (peers with a slow clock), for CERT_DAYS */
	if (!X509_gmtime_adj(X509_getm_notBefore(x), -24L * 3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)CERT_DAYS * 24 * 3600))
		goto out;
	name = X509_NAME_new();
	if (!name || !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn,
						  -1, -1, 0))
		goto out;
	if (!X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name))
		goto out;
	if (!X509_set_pubkey(x, pkey))
		goto out;
	if (!X509_sign(x, pkey, EVP_sha256()))
		goto out;

	*out = x;
	x = NULL;
	err = 0;
out:
	X509_NAME_free(name);
	BN_free(bn);
	X509_free(x);
	return err;
}

int rg_dtls_cert_new(rg_dtls_cert **out, int kind)
{
	int err;
	rg_dtls_cert *c = NULL;
	SSL_CTX *ctx = NULL;

	if (!out)
		return -EINVAL;
	if (kind != RG_DTLS_CERT_ECDSA_P256 && kind != RG_DTLS_CERT_RSA_2048)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;

	err = -EIO;
	c->pkey = gen_key(kind);
	if (!c->pkey)
		goto out;
	err = make_x509(c->pkey, &c->x509);
	if (err)
		goto out;

	err = -EIO;
	ctx = SSL_CTX_new(DTLS_method());
	if (!ctx)
		goto out;
	/* RFC 8827 section 6.5 (WebRTC security architecture): DTLS 1.2 or later */
	if (!SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION))
		goto out;
	if (SSL_CTX_use_certificate(ctx, c->x509) != 1 || SSL_CTX_use_PrivateKey(ctx, c->pkey) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto out;
	/* forward secrecy only (ECDHE); no renegotiation: the SRTP keys come from the one handshake
	 * (RFC 5764 section 4.2), a new handshake is a new association */
	if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:!aNULL") != 1)
		goto out;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1)
		goto out;
	c->ctx = ctx;
	ctx = NULL;

	*out = c;
	c = NULL;
	err = 0;
out:
	if (err)
		ERR_clear_error();
	SSL_CTX_free(ctx);
	rg_dtls_cert_free(c);
	return err;
}

void rg_dtls_cert_free(rg_dtls_cert *c)
{
	if (!c)
		return;
	SSL_CTX_free(c->ctx);
	X509_free(c->x509);
	EVP_PKEY_free(c->pkey);
	free(c);
}

int rg_dtls_cert_fingerprint(const rg_dtls_cert *c, const char *algo, char *buf, size_t len)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	const EVP_MD *type;

	if (!c || !buf)
		return -EINVAL;
	type = rg_dtls_md_by_name(algo);
	if (!type)
		return -ENOTSUP;
	/* RFC 8122 section 5: the hash is over the DER form of the certificate */
	if (X509_digest(c->x509, type, md, &mdlen) != 1)
		return -EIO;
	return rg_dtls_fp_format(md, mdlen, buf, len);
}
