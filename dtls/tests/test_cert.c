/* The DTLS certificate and a=fingerprint text (RFC 8122 section 5). Uses the private header to
 * look at the X509 itself. */
#include "dtls_priv.h"
#include "th.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

static const struct {
	const char *algo;
	size_t octets;
	const EVP_MD *(*md)(void);
} hashes[] = {
	{"sha-1", 20, EVP_sha1},     {"sha-224", 28, EVP_sha224}, {"sha-256", 32, EVP_sha256},
	{"sha-384", 48, EVP_sha384}, {"sha-512", 64, EVP_sha512},
};

/* formatting known answers: FIPS 180-2 digests of "abc" */
static void test_format_kat(void)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned n;
	char buf[RG_DTLS_FP_MAX];
	EVP_Digest("abc", 3, md, &n, EVP_sha1(), NULL);
	CHECK_INT(rg_dtls_fp_format(md, n, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D");
	EVP_Digest("abc", 3, md, &n, EVP_sha256(), NULL);
	CHECK_INT(rg_dtls_fp_format(md, n, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:"
		       "B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD");
	/* and parsed back, in lowercase too */
	uint8_t back[32];
	CHECK_INT(rg_dtls_fp_parse("ba:78:16:bf:8f:01:cf:ea:41:41:40:de:5d:ae:22:23:"
				   "b0:03:61:a3:96:17:7a:9c:b4:10:ff:61:f2:00:15:ad  ",
				   back, 32),
		  0);
	CHECK_MEM(back, md, 32);
	CHECK_INT(rg_dtls_fp_parse(buf, back, 20), -EINVAL);  /* too long for sha-1 */
	CHECK_INT(rg_dtls_fp_parse("BA:78", back, 32), -EINVAL);
	CHECK_INT(rg_dtls_fp_parse("BA78", back, 2), -EINVAL);
	CHECK_INT(rg_dtls_fp_parse("BA:7G", back, 2), -EINVAL);
	CHECK_INT(rg_dtls_fp_parse("BA:78:", back, 2), -EINVAL);
	CHECK_INT(rg_dtls_fp_parse("BA:78 x", back, 2), -EINVAL);
	CHECK_INT(rg_dtls_fp_parse(" BA:78\r\n", back, 2), 0);
}

static void check_fingerprints(rg_dtls_cert *c)
{
	uint8_t *der = NULL;
	int derlen = i2d_X509(c->x509, &der);
	CHECK(derlen > 0);
	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++) {
		char buf[RG_DTLS_FP_MAX], want[RG_DTLS_FP_MAX];
		size_t n = hashes[i].octets;
		CHECK_INT(rg_dtls_cert_fingerprint(c, hashes[i].algo, buf, sizeof(buf)), 0);
		/* "XX:XX:..": 3n-1 characters, uppercase hex, ':' every third */
		CHECK_INT(strlen(buf), 3 * n - 1);
		bool shape = true;
		for (size_t j = 0; j < strlen(buf); j++) {
			if (j % 3 == 2)
				shape &= buf[j] == ':';
			else
				shape &= isxdigit((unsigned char)buf[j]) && !islower((unsigned char)buf[j]);
		}
		CHECK(shape);
		/* it is the hash of the DER certificate */
		uint8_t md[EVP_MAX_MD_SIZE];
		unsigned mdn;
		EVP_Digest(der, (size_t)derlen, md, &mdn, hashes[i].md(), NULL);
		CHECK_INT(mdn, n);
		for (unsigned j = 0; j < mdn; j++)
			snprintf(want + 3 * j, 4, j + 1 < mdn ? "%02X:" : "%02X", md[j]);
		CHECK_STR(buf, want);
		/* exactly fitting buffer, then one too small */
		CHECK_INT(rg_dtls_cert_fingerprint(c, hashes[i].algo, buf, 3 * n), 0);
		CHECK_INT(rg_dtls_cert_fingerprint(c, hashes[i].algo, buf, 3 * n - 1), -ENOSPC);
	}
	OPENSSL_free(der);
	char buf[RG_DTLS_FP_MAX];
	CHECK_INT(rg_dtls_cert_fingerprint(c, "SHA-256", buf, sizeof(buf)), 0); /* case */
	CHECK_INT(rg_dtls_cert_fingerprint(c, "md5", buf, sizeof(buf)), -ENOTSUP);
	CHECK_INT(rg_dtls_cert_fingerprint(c, "sha-3", buf, sizeof(buf)), -ENOTSUP);
	CHECK_INT(rg_dtls_cert_fingerprint(c, NULL, buf, sizeof(buf)), -ENOTSUP);
}

static void check_x509(rg_dtls_cert *c)
{
	X509 *x = c->x509;
	/* self-signed: issuer is subject, signature verifies with its own key */
	CHECK_INT(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
	CHECK_INT(X509_verify(x, c->pkey), 1);
	CHECK_INT(X509_get_version(x), X509_VERSION_3);
	/* 30 days valid, from a day back */
	int days = 0, secs = 0;
	CHECK_INT(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
	CHECK_INT(days, 31);
	CHECK_INT(X509_cmp_current_time(X509_get0_notBefore(x)), -1);
	CHECK_INT(X509_cmp_current_time(X509_get0_notAfter(x)), 1);
	/* random CN: 16 hex digits */
	char cn[64];
	CHECK(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)) == 16);
	/* positive serial */
	const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	CHECK(bn && !BN_is_negative(bn) && !BN_is_zero(bn));
	BN_free(bn);
}

static void test_ecdsa(void)
{
	rg_dtls_cert *c = NULL;
	CHECK_INT(rg_dtls_cert_new(&c, RG_DTLS_CERT_ECDSA_P256), 0);
	if (!c)
		return;
	CHECK_INT(EVP_PKEY_get_base_id(c->pkey), EVP_PKEY_EC);
	char group[32] = "";
	size_t gl = 0;
	CHECK_INT(EVP_PKEY_get_group_name(c->pkey, group, sizeof(group), &gl), 1);
	CHECK_STR(group, "prime256v1");
	check_x509(c);
	check_fingerprints(c);
	rg_dtls_cert_free(c);
}

static void test_rsa(void)
{
	rg_dtls_cert *c = NULL;
	CHECK_INT(rg_dtls_cert_new(&c, RG_DTLS_CERT_RSA_2048), 0);
	if (!c)
		return;
	CHECK_INT(EVP_PKEY_get_base_id(c->pkey), EVP_PKEY_RSA);
	CHECK_INT(EVP_PKEY_get_bits(c->pkey), 2048);
	check_x509(c);
	check_fingerprints(c);
	rg_dtls_cert_free(c);
}

static void test_unique(void)
{
	rg_dtls_cert *a, *b;
	CHECK_INT(rg_dtls_cert_new(&a, RG_DTLS_CERT_ECDSA_P256), 0);
	CHECK_INT(rg_dtls_cert_new(&b, RG_DTLS_CERT_ECDSA_P256), 0);
	char fa[RG_DTLS_FP_MAX], fb[RG_DTLS_FP_MAX];
	CHECK_INT(rg_dtls_cert_fingerprint(a, "sha-256", fa, sizeof(fa)), 0);
	CHECK_INT(rg_dtls_cert_fingerprint(b, "sha-256", fb, sizeof(fb)), 0);
	CHECK(strcmp(fa, fb) != 0);
	CHECK(X509_NAME_cmp(X509_get_subject_name(a->x509), X509_get_subject_name(b->x509)) != 0);
	rg_dtls_cert_free(a);
	rg_dtls_cert_free(b);

	rg_dtls_cert *c = (rg_dtls_cert *)0x1;
	CHECK_INT(rg_dtls_cert_new(&c, 2), -EINVAL);
	CHECK_INT(rg_dtls_cert_new(&c, -1), -EINVAL);
	CHECK_INT(rg_dtls_cert_new(NULL, 0), -EINVAL);
	CHECK(c == (rg_dtls_cert *)0x1);
	rg_dtls_cert_free(NULL);
}

int main(void)
{
	RUN(test_format_kat);
	RUN(test_ecdsa);
	RUN(test_rsa);
	RUN(test_unique);
	return th_done("rgdtls cert");
}
