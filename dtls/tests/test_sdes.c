/* a=crypto (RFC 4568): parse, generate, format, round trips, refusals. */
#include "rg_dtls.h"
#include "th.h"

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

static int parse(const char *s, rg_sdes_crypto *c)
{
	return rg_sdes_parse(s, strlen(s), c);
}

/* the example of RFC 4568 section 4 (also 9.2's key-info form) */
static const char rfc_line[] =
	"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4";

static void test_rfc4568_example(void)
{
	rg_sdes_crypto c;
	CHECK_INT(parse(rfc_line, &c), 0);
	CHECK_INT(c.tag, 1);
	CHECK_INT(c.suite, RG_SRTP_AES_CM_128_HMAC_SHA1_80);
	CHECK_INT(c.lifetime, 1u << 20);
	CHECK_INT(c.key.mki, 1);
	CHECK_INT(c.key.mki_len, 4);
	/* key || salt is the base64 text decoded (by OpenSSL here, independently) */
	uint8_t raw[33];
	CHECK_INT(EVP_DecodeBlock(raw, (const unsigned char *)"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", 40),
		  30);
	CHECK_MEM(c.key.key, raw, 16);
	CHECK_MEM(c.key.salt, raw + 16, 14);
	/* and back to the same text */
	char buf[256];
	CHECK_INT(rg_sdes_format(&c, buf, sizeof(buf)), 0);
	CHECK_STR(buf, rfc_line);
	/* exactly fitting buffer, then one short */
	CHECK_INT(rg_sdes_format(&c, buf, strlen(rfc_line) + 1), 0);
	CHECK_INT(rg_sdes_format(&c, buf, strlen(rfc_line)), -ENOSPC);
	rg_sdes_crypto_wipe(&c);
	CHECK_INT(c.suite, 0);
}

static void test_variants(void)
{
	rg_sdes_crypto c;
	/* SDP line ending, extra blanks, no lifetime, MKI only, decimal lifetime */
	CHECK_INT(parse("2  AES_CM_128_HMAC_SHA1_32   inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n",
			&c), 0);
	CHECK_INT(c.tag, 2);
	CHECK_INT(c.suite, RG_SRTP_AES_CM_128_HMAC_SHA1_32);
	CHECK_INT(c.lifetime, 0);
	CHECK_INT(c.key.mki_len, 0);
	CHECK_INT(parse("3 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|255:1", &c), 0);
	CHECK_INT(c.key.mki, 255);
	CHECK_INT(c.key.mki_len, 1);
	CHECK_INT(c.lifetime, 0);
	CHECK_INT(parse("4 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1048576", &c), 0);
	CHECK_INT(c.lifetime, 1048576);
	char buf[256];
	CHECK_INT(rg_sdes_format(&c, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "4 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20");
	/* the fuzzer's find: a lifetime of 1 packet must survive format + parse */
	CHECK_INT(parse("4 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^0", &c), 0);
	CHECK_INT(c.lifetime, 1);
	CHECK_INT(rg_sdes_format(&c, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "4 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1");
	c.lifetime = 1000;
	CHECK_INT(rg_sdes_format(&c, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "4 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1000");
	/* an optional session parameter ('-' prefix) is ignored */
	CHECK_INT(parse("5 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR -FOO=1", &c), 0);
	/* only the value before the newline counts (len bounds the parse) */
	const char *two = "6 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBRgarbage";
	CHECK_INT(rg_sdes_parse(two, strlen(two) - 7, &c), 0);
	CHECK_INT(c.tag, 6);
	/* the key method name is case-insensitive */
	CHECK_INT(parse("7 AES_CM_128_HMAC_SHA1_80 INLINE:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", &c), 0);
	CHECK_INT(parse("999999999 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", &c), 0);
	CHECK_INT(c.tag, 999999999);
}

static void test_generate_roundtrip(void)
{
	/* base64 text length per suite: 30, 30, 28, 44, 46, 46 octets */
	static const size_t b64len[RG_SRTP_SUITE_COUNT] = {0, 40, 40, 40, 60, 64, 64};
	for (int s = RG_SRTP_SUITE_NONE + 1; s < RG_SRTP_SUITE_COUNT; s++) {
		const struct rg_srtp_suite_info *info = rg_srtp_suite_info((enum rg_srtp_suite)s);
		rg_sdes_crypto a, b, back;
		CHECK_INT(rg_sdes_generate(&a, (unsigned)s, (enum rg_srtp_suite)s), 0);
		CHECK_INT(rg_sdes_generate(&b, (unsigned)s, (enum rg_srtp_suite)s), 0);
		CHECK(memcmp(a.key.key, b.key.key, info->key_len) != 0); /* random */
		char buf[256];
		CHECK_INT(rg_sdes_format(&a, buf, sizeof(buf)), 0);
		/* "N SUITE inline:<b64>" */
		const char *k = strstr(buf, "inline:");
		CHECK(k != NULL);
		if (k)
			CHECK_INT(strlen(k + 7), b64len[s]);
		CHECK(strstr(buf, info->sdes_name) == buf + 2);
		CHECK_INT(parse(buf, &back), 0);
		CHECK_INT(back.tag, (unsigned)s);
		CHECK_INT(back.suite, s);
		CHECK_MEM(back.key.key, a.key.key, info->key_len);
		CHECK_MEM(back.key.salt, a.key.salt, info->salt_len);
		/* padding stripped: still accepted */
		size_t l = strlen(buf);
		while (l && buf[l - 1] == '=')
			buf[--l] = '\0';
		CHECK_INT(parse(buf, &back), 0);
		CHECK_MEM(back.key.key, a.key.key, info->key_len);
		rg_sdes_crypto_wipe(&a);
		rg_sdes_crypto_wipe(&b);
		rg_sdes_crypto_wipe(&back);
	}
	rg_sdes_crypto c;
	CHECK_INT(rg_sdes_generate(&c, 1, RG_SRTP_SUITE_NONE), -EINVAL);
	CHECK_INT(rg_sdes_generate(&c, 1000000000u, RG_SRTP_AEAD_AES_128_GCM), -EINVAL);
}

static void test_refusals(void)
{
	static const struct {
		const char *line;
		int err;
	} cases[] = {
		{"", -EINVAL},
		{"1", -EINVAL},
		{"x AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", -EINVAL},
		{"1234567890 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", -EINVAL},
		{"1 F8_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", -ENOTSUP},
		{"1 aes_cm_128_hmac_sha1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", -ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 uri:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", -EINVAL},
		/* wrong key length for the suite: 30 octets given to a 46-octet suite */
		{"1 AES_256_CM_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBRAAAA", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhc*D0mXXtxaVBR", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaV=R", -EINVAL},
		/* several keys */
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4;"
		 "inline:QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5|2^20|2:4", -ENOTSUP},
		/* session parameters we do not implement */
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR UNENCRYPTED_SRTP", -ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR KDR=1", -ENOTSUP},
		/* lifetime */
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^49", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|0", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|", -EINVAL},
		/* MKI */
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1:5", -ENOTSUP},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1:0", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1:129", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|256:1", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1:4|2^20", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|2^20", -EINVAL},
		{"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4|x", -EINVAL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rg_sdes_crypto c;
		memset(&c, 0x77, sizeof(c));
		int r = parse(cases[i].line, &c);
		if (r != cases[i].err)
			fprintf(stderr, "case %zu: \"%s\"\n", i, cases[i].line);
		CHECK_INT(r, cases[i].err);
		CHECK_INT(c.tag, 0x77777777); /* out-param untouched */
	}
	CHECK_INT(rg_sdes_parse(NULL, 3, NULL), -EINVAL);
}

static void test_keys(void)
{
	rg_sdes_crypto a, b;
	rg_srtp_keys k;
	CHECK_INT(rg_sdes_generate(&a, 1, RG_SRTP_AES_CM_128_HMAC_SHA1_80), 0);
	CHECK_INT(rg_sdes_generate(&b, 1, RG_SRTP_AES_CM_128_HMAC_SHA1_32), 0);
	CHECK_INT(rg_sdes_keys(&k, &a, &b), -EINVAL); /* suites differ */
	CHECK_INT(rg_sdes_generate(&b, 2, RG_SRTP_AES_CM_128_HMAC_SHA1_80), 0);
	CHECK_INT(rg_sdes_keys(&k, &a, &b), 0);
	CHECK_INT(k.suite, RG_SRTP_AES_CM_128_HMAC_SHA1_80);
	CHECK_MEM(k.client.key, a.key.key, 16);
	CHECK_MEM(k.server.salt, b.key.salt, 14);
	rg_srtp_keys_wipe(&k);
	static const uint8_t zero[sizeof(k)];
	CHECK_MEM(&k, zero, sizeof(k));
}

int main(void)
{
	RUN(test_rfc4568_example);
	RUN(test_variants);
	RUN(test_generate_roundtrip);
	RUN(test_refusals);
	RUN(test_keys);
	return th_done("rgdtls sdes");
}
