/* Known-answer tests for the SRTP layer.
 *
 * The chain of trust: a small reference SRTP written here on OpenSSL's AES/HMAC (independent of
 * libsrtp, which Debian builds on NSS) is first checked against the RFC texts themselves:
 *   RFC 3711 appendix B.2 (AES-CM keystream), B.3 (key derivation, all 94 auth-key octets),
 *   RFC 6188 section 7.2 (AES-256 key derivation), RFC 7714 section 16.1.1 (AES-128-GCM packet).
 * Then every suite's protect/unprotect through rg_srtp (libsrtp) must produce exactly what the
 * reference produces, and for AES_CM_128_HMAC_SHA1_80/32 also the constants libsrtp's own test
 * driver publishes for the RFC 3711 B.3 master key (srtp_driver.c: RTP 0x1234/0xcafebabe, and
 * SRTCP index 1).
 */
#include "rg_dtls.h"
#include "th.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* ---- reference SRTP on OpenSSL ---- */

static const EVP_CIPHER *ctr_for(size_t klen)
{
	return klen == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr();
}

/* XOR buf with the AES-CM keystream starting at counter block iv (RFC 3711 section 4.1.1) */
static void aes_cm(const uint8_t *key, size_t klen, const uint8_t iv[16], uint8_t *buf, size_t n)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl = 0;
	EVP_EncryptInit_ex(c, ctr_for(klen), NULL, key, iv);
	EVP_EncryptUpdate(c, buf, &outl, buf, (int)n);
	EVP_CIPHER_CTX_free(c);
}

/* RFC 3711 section 4.3.1-4.3.3 with kdr = 0: x = label<<48 XOR master_salt (112 bits), output =
 * AES-CM keystream from IV x*2^16. A 96-bit (GCM) master salt is zero-padded on the right to
 * 112 bits (RFC 7714 section 11 keeps the RFC 3711 KDF; libsrtp and pion pad the same way). */
static void kdf(const uint8_t *mk, size_t mklen, const uint8_t *ms, size_t mslen, uint8_t label,
		uint8_t *out, size_t n)
{
	uint8_t iv[16] = {0};
	memcpy(iv, ms, mslen);
	iv[7] ^= label;
	memset(out, 0, n);
	aes_cm(mk, mklen, iv, out, n);
}

/* Session keys of the reference (a plain value on the test's stack). */
struct ref_keys {
	uint8_t k_e[32], k_a[20], k_s[14];
	size_t klen, slen;
};

static void ref_derive(struct ref_keys *r, const uint8_t *mk, size_t mklen, const uint8_t *ms,
		       size_t mslen, bool rtcp)
{
	uint8_t base = rtcp ? 3 : 0;
	r->klen = mklen;
	r->slen = mslen;
	kdf(mk, mklen, ms, mslen, base + 0, r->k_e, mklen);
	kdf(mk, mklen, ms, mslen, base + 1, r->k_a, 20);
	kdf(mk, mklen, ms, mslen, base + 2, r->k_s, mslen);
}

static void hmac_sha1(const uint8_t *key, const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
		      uint8_t out[20])
{
	uint8_t buf[2048];
	unsigned ol = 20;
	memcpy(buf, a, an);
	if (bn)
		memcpy(buf + an, b, bn);
	HMAC(EVP_sha1(), key, 20, buf, an + bn, out, &ol);
}

/* RFC 3711 section 3.3 / 4.1.1 / 4.2: SRTP with AES-CM + HMAC-SHA1, 12-octet header, ROC 0 */
static size_t ref_srtp_cm(const struct ref_keys *r, size_t tag_len, const uint8_t *in, size_t n,
			  uint8_t *out)
{
	uint8_t iv[16] = {0}, tag[20], roc[4] = {0};
	memcpy(out, in, n);
	memcpy(iv, r->k_s, 14);
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= in[8 + i]; /* SSRC * 2^64 */
	iv[12] ^= in[2];                /* index (ROC 0 || SEQ) * 2^16 */
	iv[13] ^= in[3];
	aes_cm(r->k_e, r->klen, iv, out + 12, n - 12);
	hmac_sha1(r->k_a, out, n, roc, 4, tag);
	memcpy(out + n, tag, tag_len);
	return n + tag_len;
}

/* RFC 3711 section 3.4: SRTCP, payload after the first 8 octets encrypted, E|index appended,
 * 80-bit tag over all of it */
static size_t ref_srtcp_cm(const struct ref_keys *r, uint32_t index, const uint8_t *in, size_t n,
			   uint8_t *out)
{
	uint8_t iv[16] = {0}, tag[20], ei[4];
	memcpy(out, in, n);
	memcpy(iv, r->k_s, 14);
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= in[4 + i];
	iv[10] ^= (uint8_t)(index >> 24);
	iv[11] ^= (uint8_t)(index >> 16);
	iv[12] ^= (uint8_t)(index >> 8);
	iv[13] ^= (uint8_t)index;
	aes_cm(r->k_e, r->klen, iv, out + 8, n - 8);
	uint32_t e = 0x80000000u | index;
	ei[0] = (uint8_t)(e >> 24), ei[1] = (uint8_t)(e >> 16), ei[2] = (uint8_t)(e >> 8),
	ei[3] = (uint8_t)e;
	memcpy(out + n, ei, 4);
	hmac_sha1(r->k_a, out, n + 4, NULL, 0, tag);
	memcpy(out + n + 4, tag, 10);
	return n + 14;
}

static void gcm(const uint8_t *key, size_t klen, const uint8_t iv[12], const uint8_t *aad,
		size_t aadn, uint8_t *buf, size_t n, uint8_t tag[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl = 0;
	EVP_EncryptInit_ex(c, klen == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm(), NULL, NULL, NULL);
	EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL);
	EVP_EncryptInit_ex(c, NULL, NULL, key, iv);
	EVP_EncryptUpdate(c, NULL, &outl, aad, (int)aadn);
	EVP_EncryptUpdate(c, buf, &outl, buf, (int)n);
	EVP_EncryptFinal_ex(c, buf + n, &outl);
	EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
	EVP_CIPHER_CTX_free(c);
}

/* RFC 7714 section 8.1: IV = (0x0000 || SSRC || ROC || SEQ) XOR salt, AAD = the header */
static size_t ref_srtp_gcm(const uint8_t *k_e, size_t klen, const uint8_t k_s[12],
			   const uint8_t *in, size_t n, uint8_t *out)
{
	uint8_t iv[12] = {0};
	memcpy(iv + 2, in + 8, 4);
	memcpy(iv + 10, in + 2, 2);
	for (int i = 0; i < 12; i++)
		iv[i] ^= k_s[i];
	memcpy(out, in, n);
	gcm(k_e, klen, iv, in, 12, out + 12, n - 12, out + n);
	return n + 16;
}

/* RFC 7714 section 9.1: IV = (0x0000 || SSRC || 0x0000 || 0 || index31) XOR salt, AAD = the
 * first 8 octets || E|index; trailer E|index after the tag */
static size_t ref_srtcp_gcm(const uint8_t *k_e, size_t klen, const uint8_t k_s[12], uint32_t index,
			    const uint8_t *in, size_t n, uint8_t *out)
{
	uint8_t iv[12] = {0}, aad[12];
	memcpy(iv + 2, in + 4, 4);
	iv[8] = (uint8_t)(index >> 24), iv[9] = (uint8_t)(index >> 16);
	iv[10] = (uint8_t)(index >> 8), iv[11] = (uint8_t)index;
	for (int i = 0; i < 12; i++)
		iv[i] ^= k_s[i];
	uint32_t e = 0x80000000u | index;
	memcpy(aad, in, 8);
	aad[8] = (uint8_t)(e >> 24), aad[9] = (uint8_t)(e >> 16), aad[10] = (uint8_t)(e >> 8),
	aad[11] = (uint8_t)e;
	memcpy(out, in, n);
	gcm(k_e, klen, iv, aad, 12, out + 8, n - 8, out + n);
	memcpy(out + n + 16, aad + 8, 4);
	return n + 20;
}

/* ---- the RFC vectors, against the reference ---- */

static void test_rfc3711_b2_keystream(void)
{
	uint8_t key[16], iv[16], want[48];
	size_t ksn = 0xff02 * 16;
	uint8_t *ks = calloc(1, ksn);
	th_unhex("2B7E151628AED2A6ABF7158809CF4F3C", key, sizeof(key));
	th_unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000", iv, sizeof(iv));
	aes_cm(key, 16, iv, ks, ksn);
	th_unhex("E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB"
		 "41E95B3BB0A2E8DD477901E4FCA894C0", want, sizeof(want));
	CHECK_MEM(ks, want, 48);
	th_unhex("EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE"
		 "6A2CC3787889374FBEB4C81B17BA6C44", want, sizeof(want));
	CHECK_MEM(ks + 0xfeff * 16, want, 48);
	free(ks);
}

static void test_rfc3711_b3_kdf(void)
{
	uint8_t mk[16], ms[14], out[94], want[94];
	th_unhex("E1F97A0D3E018BE0D64FA32C06DE4139", mk, sizeof(mk));
	th_unhex("0EC675AD498AFEEBB6960B3AABE6", ms, sizeof(ms));
	kdf(mk, 16, ms, 14, 0x00, out, 16);
	th_unhex("C61E7A93744F39EE10734AFE3FF7A087", want, 16);
	CHECK_MEM(out, want, 16);
	kdf(mk, 16, ms, 14, 0x02, out, 14);
	th_unhex("30CBBC08863D8C85D49DB34A9AE1", want, 14);
	CHECK_MEM(out, want, 14);
	kdf(mk, 16, ms, 14, 0x01, out, 94);
	CHECK_INT(th_unhex("CEBE321F6FF7716B6FD4AB49AF256A15 6D38BAA48F0A0ACF3C34E2359E6CDBCE"
			   "E049646C43D9327AD175578EF7227098 6371C10C9A369AC2F94A8C5FBCDDDC25"
			   "6D6E919A48B610EF17C2041E47403576 6B68642C59BBFC2F34DB60DBDFB2",
			   want, sizeof(want)),
		  94);
	CHECK_MEM(out, want, 94);
}

static void test_rfc6188_kdf(void)
{
	uint8_t mk[32], ms[14], out[32], want[32];
	th_unhex("f0f04914b513f2763a1b1fa130f10e29 98f6f6e43e4309d1e622a0e332b9f1b6", mk, 32);
	th_unhex("3b04803de51ee7c96423ab5b78d2", ms, 14);
	kdf(mk, 32, ms, 14, 0x00, out, 32);
	th_unhex("5ba1064e30ec51613cad926c5a28ef73 1ec7fb397f70a960653caf06554cd8c4", want, 32);
	CHECK_MEM(out, want, 32);
	kdf(mk, 32, ms, 14, 0x02, out, 14);
	th_unhex("fa31791685ca444a9e07c6c64e93", want, 14);
	CHECK_MEM(out, want, 14);
	kdf(mk, 32, ms, 14, 0x01, out, 20);
	th_unhex("fd9c32d39ed5fbb5a9dc96b30818454d1313dc05", want, 20);
	CHECK_MEM(out, want, 20);
}

static const char rfc7714_rtp[] = "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f"
				  "6d6e6973 20646976 69736120 696e2070 61727465 73207472 6573";

static void test_rfc7714_gcm_packet(void)
{
	uint8_t key[16], salt[12], in[64], out[128], want[128];
	th_unhex("000102030405060708090a0b0c0d0e0f", key, 16);
	th_unhex("517569642070726f2071756f", salt, 12); /* "Quid pro quo" */
	size_t n = th_unhex(rfc7714_rtp, in, sizeof(in));
	CHECK_INT(n, 50);
	size_t wn = th_unhex("8040f17b8041f8d35501a0b2"
			     "f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b"
			     "36de3adf8833"
			     "899d7f27beb16a9152cf765ee4390cce",
			     want, sizeof(want));
	CHECK_INT(ref_srtp_gcm(key, 16, salt, in, n, out), wn);
	CHECK_MEM(out, want, wn);
}

/* ---- rg_srtp (libsrtp) against the reference and the published constants ---- */

static const char plain_rtp[] = "800f1234decafbadcafebabe abababababababababababababababab";
static const char plain_rtcp[] = "81c8000bcafebabe abababababababababababababababab";
/* libsrtp test/srtp_driver.c, for the RFC 3711 B.3 master key and salt */
static const char libsrtp_rtp_80[] = "800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d"
				     "6acc99ea179b8dbb";
static const char libsrtp_rtcp_80[] = "81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001"
				      "993e08cd54d6c1230798";

static void session_pair(const rg_srtp_keys *k, rg_srtp **tx, rg_srtp **rx)
{
	/* tx sends with the client half; rx (is_client false) receives with it */
	CHECK_INT(rg_srtp_new(tx, k, true), 0);
	CHECK_INT(rg_srtp_new(rx, k, false), 0);
}

/* protect in a buffer of exactly len + overhead octets (ASan sees any overrun), compare, then
 * unprotect on the receiving side */
static void roundtrip(rg_srtp *tx, rg_srtp *rx, bool rtcp, const uint8_t *plain, size_t n,
		      const uint8_t *want, size_t wn)
{
	size_t cap = n + (rtcp ? rg_srtp_rtcp_overhead(tx) : rg_srtp_rtp_overhead(tx));
	uint8_t *buf = malloc(cap);
	memcpy(buf, plain, n);
	size_t len = n;
	int r = rtcp ? rg_srtp_protect_rtcp(tx, buf, &len, cap) : rg_srtp_protect_rtp(tx, buf, &len, cap);
	CHECK_INT(r, 0);
	CHECK_INT(len, wn);
	if (!r && len == wn)
		CHECK_MEM(buf, want, wn);
	r = rtcp ? rg_srtp_unprotect_rtcp(rx, buf, &len) : rg_srtp_unprotect_rtp(rx, buf, &len);
	CHECK_INT(r, 0);
	CHECK_INT(len, n);
	if (!r && len == n)
		CHECK_MEM(buf, plain, n);
	free(buf);
}

static void test_aes_cm_128(void)
{
	uint8_t mk[16], ms[14], prtp[64], prtcp[64], want[128], ref[128];
	th_unhex("E1F97A0D3E018BE0D64FA32C06DE4139", mk, 16);
	th_unhex("0EC675AD498AFEEBB6960B3AABE6", ms, 14);
	size_t nrtp = th_unhex(plain_rtp, prtp, sizeof(prtp));
	size_t nrtcp = th_unhex(plain_rtcp, prtcp, sizeof(prtcp));

	struct ref_keys r, rc;
	ref_derive(&r, mk, 16, ms, 14, false);
	ref_derive(&rc, mk, 16, ms, 14, true);

	for (int tag = 0; tag < 2; tag++) {
		rg_srtp_keys k;
		memset(&k, 0, sizeof(k));
		k.suite = tag ? RG_SRTP_AES_CM_128_HMAC_SHA1_32 : RG_SRTP_AES_CM_128_HMAC_SHA1_80;
		memcpy(k.client.key, mk, 16);
		memcpy(k.client.salt, ms, 14);
		rg_srtp *tx, *rx;
		session_pair(&k, &tx, &rx);

		/* RTP: the reference reproduces libsrtp's published vector, rg_srtp both */
		size_t wn = th_unhex(libsrtp_rtp_80, want, sizeof(want));
		size_t tl = tag ? 4 : 10;
		CHECK_INT(ref_srtp_cm(&r, tl, prtp, nrtp, ref), nrtp + tl);
		CHECK_MEM(ref, want, nrtp + tl); /* the _32 tag is the 80-bit tag cut short */
		CHECK_INT(wn, nrtp + 10);
		roundtrip(tx, rx, false, prtp, nrtp, want, nrtp + tl);

		/* SRTCP index 1, 80-bit tag for both suites */
		wn = th_unhex(libsrtp_rtcp_80, want, sizeof(want));
		CHECK_INT(ref_srtcp_cm(&rc, 1, prtcp, nrtcp, ref), wn);
		CHECK_MEM(ref, want, wn);
		roundtrip(tx, rx, true, prtcp, nrtcp, want, wn);

		rg_srtp_free(tx);
		rg_srtp_free(rx);
		rg_srtp_keys_wipe(&k);
	}
}

/* AES_256_CM_HMAC_SHA1_80/32 (RFC 6188): reference with the RFC 6188 7.2 master key */
static void test_aes_cm_256(void)
{
	uint8_t mk[32], ms[14], prtp[64], prtcp[64], ref[128];
	th_unhex("f0f04914b513f2763a1b1fa130f10e29 98f6f6e43e4309d1e622a0e332b9f1b6", mk, 32);
	th_unhex("3b04803de51ee7c96423ab5b78d2", ms, 14);
	size_t nrtp = th_unhex(plain_rtp, prtp, sizeof(prtp));
	size_t nrtcp = th_unhex(plain_rtcp, prtcp, sizeof(prtcp));
	struct ref_keys r, rc;
	ref_derive(&r, mk, 32, ms, 14, false);
	ref_derive(&rc, mk, 32, ms, 14, true);

	for (int tag = 0; tag < 2; tag++) {
		rg_srtp_keys k;
		memset(&k, 0, sizeof(k));
		k.suite = tag ? RG_SRTP_AES_256_CM_HMAC_SHA1_32 : RG_SRTP_AES_256_CM_HMAC_SHA1_80;
		memcpy(k.client.key, mk, 32);
		memcpy(k.client.salt, ms, 14);
		rg_srtp *tx, *rx;
		session_pair(&k, &tx, &rx);
		size_t n = ref_srtp_cm(&r, tag ? 4 : 10, prtp, nrtp, ref);
		roundtrip(tx, rx, false, prtp, nrtp, ref, n);
		n = ref_srtcp_cm(&rc, 1, prtcp, nrtcp, ref);
		roundtrip(tx, rx, true, prtcp, nrtcp, ref, n);
		rg_srtp_free(tx);
		rg_srtp_free(rx);
	}
}

/* AEAD_AES_128_GCM / AEAD_AES_256_GCM (RFC 7714): master key/salt through the KDF, then the
 * RFC 7714 packet construction */
static void test_aead_gcm(void)
{
	uint8_t mk[32], ms[12], prtp[64], prtcp[64], ref[128];
	th_unhex("000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f", mk, 32);
	th_unhex("517569642070726f2071756f", ms, 12);
	size_t nrtp = th_unhex(rfc7714_rtp, prtp, sizeof(prtp));
	size_t nrtcp = th_unhex(plain_rtcp, prtcp, sizeof(prtcp));

	for (int big = 0; big < 2; big++) {
		size_t kl = big ? 32 : 16;
		uint8_t ke[32], ks[12], kce[32], kcs[12];
		kdf(mk, kl, ms, 12, 0x00, ke, kl);
		kdf(mk, kl, ms, 12, 0x02, ks, 12);
		kdf(mk, kl, ms, 12, 0x03, kce, kl);
		kdf(mk, kl, ms, 12, 0x05, kcs, 12);

		rg_srtp_keys k;
		memset(&k, 0, sizeof(k));
		k.suite = big ? RG_SRTP_AEAD_AES_256_GCM : RG_SRTP_AEAD_AES_128_GCM;
		memcpy(k.client.key, mk, kl);
		memcpy(k.client.salt, ms, 12);
		rg_srtp *tx, *rx;
		session_pair(&k, &tx, &rx);
		size_t n = ref_srtp_gcm(ke, kl, ks, prtp, nrtp, ref);
		roundtrip(tx, rx, false, prtp, nrtp, ref, n);
		n = ref_srtcp_gcm(kce, kl, kcs, 1, prtcp, nrtcp, ref);
		roundtrip(tx, rx, true, prtcp, nrtcp, ref, n);
		rg_srtp_free(tx);
		rg_srtp_free(rx);
	}
}

/* the published ciphertext, fed to a fresh receiver, gives the plaintext back */
static void test_unprotect_published(void)
{
	uint8_t buf[128], plain[64];
	rg_srtp_keys k;
	memset(&k, 0, sizeof(k));
	k.suite = RG_SRTP_AES_CM_128_HMAC_SHA1_80;
	th_unhex("E1F97A0D3E018BE0D64FA32C06DE4139", k.server.key, 16);
	th_unhex("0EC675AD498AFEEBB6960B3AABE6", k.server.salt, 14);
	rg_srtp *rx;
	CHECK_INT(rg_srtp_new(&rx, &k, true), 0); /* as client we receive with the server half */
	size_t n = th_unhex(libsrtp_rtp_80, buf, sizeof(buf));
	size_t pn = th_unhex(plain_rtp, plain, sizeof(plain));
	CHECK_INT(rg_srtp_unprotect_rtp(rx, buf, &n), 0);
	CHECK_INT(n, pn);
	CHECK_MEM(buf, plain, pn);
	n = th_unhex(libsrtp_rtcp_80, buf, sizeof(buf));
	pn = th_unhex(plain_rtcp, plain, sizeof(plain));
	CHECK_INT(rg_srtp_unprotect_rtcp(rx, buf, &n), 0);
	CHECK_INT(n, pn);
	CHECK_MEM(buf, plain, pn);
	rg_srtp_free(rx);
}

int main(void)
{
	RUN(test_rfc3711_b2_keystream);
	RUN(test_rfc3711_b3_kdf);
	RUN(test_rfc6188_kdf);
	RUN(test_rfc7714_gcm_packet);
	RUN(test_aes_cm_128);
	RUN(test_aes_cm_256);
	RUN(test_aead_gcm);
	RUN(test_unprotect_published);
	return th_done("rgdtls srtp_kat");
}
