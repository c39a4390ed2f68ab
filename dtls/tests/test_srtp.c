/* SRTP/SRTCP through rg_srtp with keys from a real DTLS-SRTP handshake (and from SDES): protect
 * on one side, unprotect on the other, tampering, replay, room for the tag, MKI. */
#include "pair.h"
#include "th.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t make_rtp(uint8_t *buf, uint16_t seq, uint32_t ssrc, size_t payload)
{
	buf[0] = 0x80;
	buf[1] = 111;
	buf[2] = (uint8_t)(seq >> 8);
	buf[3] = (uint8_t)seq;
	uint32_t ts = (uint32_t)seq * 960u;
	buf[4] = (uint8_t)(ts >> 24), buf[5] = (uint8_t)(ts >> 16), buf[6] = (uint8_t)(ts >> 8),
	buf[7] = (uint8_t)ts;
	buf[8] = (uint8_t)(ssrc >> 24), buf[9] = (uint8_t)(ssrc >> 16), buf[10] = (uint8_t)(ssrc >> 8),
	buf[11] = (uint8_t)ssrc;
	for (size_t i = 0; i < payload; i++)
		buf[12 + i] = (uint8_t)(seq + i);
	return 12 + payload;
}

/* an RTCP receiver report with one report block */
static size_t make_rtcp(uint8_t *buf, uint32_t ssrc)
{
	static const uint8_t rr[32] = {0x81, 201, 0, 7, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44,
				       0, 0, 0, 3, 0, 0, 0x12, 0x34, 0, 0, 0, 9,
				       0, 0, 0, 0, 0, 0, 0, 0};
	memcpy(buf, rr, sizeof(rr));
	buf[4] = (uint8_t)(ssrc >> 24), buf[5] = (uint8_t)(ssrc >> 16), buf[6] = (uint8_t)(ssrc >> 8),
	buf[7] = (uint8_t)ssrc;
	return sizeof(rr);
}

/* protect a copy of plain into an exactly sized heap buffer; returns it (caller frees) */
static uint8_t *protect(rg_srtp *s, bool rtcp, const uint8_t *plain, size_t n, size_t *out_len)
{
	size_t cap = n + (rtcp ? rg_srtp_rtcp_overhead(s) : rg_srtp_rtp_overhead(s));
	uint8_t *buf = malloc(cap);
	memcpy(buf, plain, n);
	*out_len = n;
	int r = rtcp ? rg_srtp_protect_rtcp(s, buf, out_len, cap)
		     : rg_srtp_protect_rtp(s, buf, out_len, cap);
	CHECK_INT(r, 0);
	return buf;
}

static int unprotect_copy(rg_srtp *s, bool rtcp, const uint8_t *pkt, size_t n, uint8_t *out,
			  size_t *out_len)
{
	memcpy(out, pkt, n);
	*out_len = n;
	return rtcp ? rg_srtp_unprotect_rtcp(s, out, out_len) : rg_srtp_unprotect_rtp(s, out, out_len);
}

/* the checks every suite must pass, tx -> rx */
static void exercise(rg_srtp *tx, rg_srtp *rx, const struct rg_srtp_suite_info *info, uint32_t ssrc)
{
	uint8_t plain[400], out[600];
	size_t n, pn, on;

	/* RTP: header in clear, payload encrypted, tag appended */
	pn = make_rtp(plain, 1000, ssrc, 160);
	uint8_t *p = protect(tx, false, plain, pn, &n);
	CHECK_INT(n, pn + info->rtp_tag_len);
	CHECK_MEM(p, plain, 12);
	CHECK(memcmp(p + 12, plain + 12, 160) != 0);
	/* tamper with the payload, the header, the tag: each is an authentication failure */
	size_t spots[] = {20, 2, n - 1};
	for (size_t i = 0; i < 3; i++) {
		uint8_t bad[600];
		memcpy(bad, p, n);
		bad[spots[i]] ^= 0x40;
		CHECK_INT(unprotect_copy(rx, false, bad, n, out, &on), -EBADMSG);
	}
	/* the genuine packet still passes (failed ones did not touch the replay window) */
	CHECK_INT(unprotect_copy(rx, false, p, n, out, &on), 0);
	CHECK_INT(on, pn);
	CHECK_MEM(out, plain, pn);
	/* RFC 3711 section 3.3.2: the same packet again is a replay */
	CHECK_INT(unprotect_copy(rx, false, p, n, out, &on), -EALREADY);
	free(p);

	/* reordering inside the window is fine; too old is not */
	uint8_t *pk[3];
	size_t pkn[3];
	uint16_t seqs[3] = {1003, 1001, 1002};
	for (int i = 0; i < 3; i++) {
		pn = make_rtp(plain, seqs[i], ssrc, 20);
		pk[i] = protect(tx, false, plain, pn, &pkn[i]);
	}
	for (int i = 0; i < 3; i++) {
		CHECK_INT(unprotect_copy(rx, false, pk[i], pkn[i], out, &on), 0);
		free(pk[i]);
	}
	pn = make_rtp(plain, 1500, ssrc, 20);
	p = protect(tx, false, plain, pn, &n);
	CHECK_INT(unprotect_copy(rx, false, p, n, out, &on), 0);
	free(p);
	/* the sender itself refuses an index older than its window (and never reuses one:
	 * allow_repeat_tx is off, which matters for the AEAD nonce) */
	pn = make_rtp(plain, 1200, ssrc, 20);
	uint8_t tmp[64];
	size_t tn = pn;
	memcpy(tmp, plain, pn);
	CHECK_INT(rg_srtp_protect_rtp(tx, tmp, &tn, sizeof(tmp)), -EALREADY);
	pn = make_rtp(plain, 1500, ssrc, 20);
	memcpy(tmp, plain, pn);
	tn = pn;
	CHECK_INT(rg_srtp_protect_rtp(tx, tmp, &tn, sizeof(tmp)), -EALREADY);

	/* no room for the tag */
	pn = make_rtp(plain, 1501, ssrc, 20);
	memcpy(tmp, plain, pn);
	tn = pn;
	CHECK_INT(rg_srtp_protect_rtp(tx, tmp, &tn, pn + info->rtp_tag_len - 1), -ENOSPC);
	CHECK_INT(tn, pn); /* untouched */
	tn = 11;
	CHECK_INT(rg_srtp_protect_rtp(tx, tmp, &tn, sizeof(tmp)), -EINVAL);

	/* RTCP */
	pn = make_rtcp(plain, ssrc);
	p = protect(tx, true, plain, pn, &n);
	CHECK_INT(n, pn + 4 + info->rtcp_tag_len);
	CHECK_MEM(p, plain, 8);
	/* E flag (encrypted) + SRTCP index: before the tag for AES-CM (RFC 3711 section 3.4), after
	 * it for AEAD (RFC 7714 section 9) */
	bool aead = info->suite == RG_SRTP_AEAD_AES_128_GCM || info->suite == RG_SRTP_AEAD_AES_256_GCM;
	size_t e_at = aead ? n - 4 : pn;
	CHECK((p[e_at] & 0x80) != 0);
	CHECK_INT(p[e_at + 3], 1); /* the first SRTCP index of this sender */
	uint8_t bad[600];
	memcpy(bad, p, n);
	bad[12] ^= 1;
	CHECK_INT(unprotect_copy(rx, true, bad, n, out, &on), -EBADMSG);
	memcpy(bad, p, n);
	bad[e_at + 3] ^= 1; /* the SRTCP index is authenticated too */
	CHECK_INT(unprotect_copy(rx, true, bad, n, out, &on), -EBADMSG);
	CHECK_INT(unprotect_copy(rx, true, p, n, out, &on), 0);
	CHECK_INT(on, pn);
	CHECK_MEM(out, plain, pn);
	CHECK_INT(unprotect_copy(rx, true, p, n, out, &on), -EALREADY);
	free(p);
	memcpy(tmp, plain, pn);
	tn = pn;
	CHECK_INT(rg_srtp_protect_rtcp(tx, tmp, &tn, pn + 4 + info->rtcp_tag_len - 1), -ENOSPC);
	tn = 7;
	CHECK_INT(rg_srtp_protect_rtcp(tx, tmp, &tn, sizeof(tmp)), -EINVAL);
}

static void test_dtls_keys_all_profiles(void)
{
	static const struct {
		const char *profile;
		enum rg_srtp_suite suite;
	} cases[] = {
		{"SRTP_AES128_CM_SHA1_80", RG_SRTP_AES_CM_128_HMAC_SHA1_80},
		{"SRTP_AES128_CM_SHA1_32", RG_SRTP_AES_CM_128_HMAC_SHA1_32},
		{"SRTP_AEAD_AES_128_GCM", RG_SRTP_AEAD_AES_128_GCM},
		{"SRTP_AEAD_AES_256_GCM", RG_SRTP_AEAD_AES_256_GCM},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pair p;
		CHECK_INT(pair_connect(&p, cases[i].profile, NULL), 0);
		rg_srtp_keys ka, kb;
		CHECK_INT(rg_dtls_srtp_keys(p.a, &ka), 0);
		CHECK_INT(rg_dtls_srtp_keys(p.b, &kb), 0);
		CHECK_INT(ka.suite, cases[i].suite);
		rg_srtp *sa = NULL, *sb = NULL;
		CHECK_INT(rg_srtp_new(&sa, &ka, rg_dtls_is_client(p.a)), 0);
		CHECK_INT(rg_srtp_new(&sb, &kb, rg_dtls_is_client(p.b)), 0);
		rg_srtp_keys_wipe(&ka);
		rg_srtp_keys_wipe(&kb);
		const struct rg_srtp_suite_info *info = rg_srtp_suite_info(cases[i].suite);
		if (sa && sb) {
			CHECK_INT(rg_srtp_rtp_overhead(sa), info->rtp_tag_len);
			CHECK_INT(rg_srtp_rtcp_overhead(sa), info->rtcp_tag_len + 4);
			exercise(sa, sb, info, 0x11223344); /* client -> server */
			exercise(sb, sa, info, 0x55667788); /* server -> client */
			/* a side cannot read its own packets: the directions have their own keys */
			uint8_t plain[64], out[128];
			size_t pn = make_rtp(plain, 7, 0x01020304, 20), n, on;
			uint8_t *own = NULL;
			size_t cap = pn + rg_srtp_rtp_overhead(sa);
			own = malloc(cap);
			memcpy(own, plain, pn);
			n = pn;
			CHECK_INT(rg_srtp_protect_rtp(sa, own, &n, cap), 0);
			CHECK_INT(unprotect_copy(sa, false, own, n, out, &on), -EBADMSG);
			free(own);
		}
		rg_srtp_free(sa);
		rg_srtp_free(sb);
		pair_free(&p);
	}
}

/* ssrc_any_inbound: any number of SSRCs on one session, each with its own replay window */
static void test_many_ssrcs(void)
{
	struct pair p;
	CHECK_INT(pair_connect(&p, "SRTP_AES128_CM_SHA1_80", NULL), 0);
	rg_srtp_keys k;
	CHECK_INT(rg_dtls_srtp_keys(p.a, &k), 0);
	rg_srtp *sa, *sb;
	CHECK_INT(rg_srtp_new(&sa, &k, true), 0);
	CHECK_INT(rg_srtp_new(&sb, &k, false), 0);
	rg_srtp_keys_wipe(&k);
	for (uint32_t ssrc = 1; ssrc <= 5; ssrc++) {
		uint8_t plain[64], out[128];
		size_t pn = make_rtp(plain, 42, ssrc, 30), n, on;
		uint8_t *pk = protect(sa, false, plain, pn, &n);
		CHECK_INT(unprotect_copy(sb, false, pk, n, out, &on), 0);
		free(pk);
	}
	rg_srtp_free(sa);
	rg_srtp_free(sb);
	pair_free(&p);
}

/* SDES keys (RFC 4568): each side sends with its own a=crypto; AES-256-CM suites are SDES-only */
static void test_sdes_sessions(void)
{
	for (int s = RG_SRTP_SUITE_NONE + 1; s < RG_SRTP_SUITE_COUNT; s++) {
		CHECK(rg_srtp_suite_supported((enum rg_srtp_suite)s));
		rg_sdes_crypto ours, theirs;
		CHECK_INT(rg_sdes_generate(&ours, 1, (enum rg_srtp_suite)s), 0);
		CHECK_INT(rg_sdes_generate(&theirs, 1, (enum rg_srtp_suite)s), 0);
		rg_srtp_keys ka, kb;
		CHECK_INT(rg_sdes_keys(&ka, &ours, &theirs), 0);
		CHECK_INT(rg_sdes_keys(&kb, &theirs, &ours), 0);
		rg_srtp *sa, *sb;
		CHECK_INT(rg_srtp_new(&sa, &ka, true), 0);
		CHECK_INT(rg_srtp_new(&sb, &kb, true), 0);
		const struct rg_srtp_suite_info *info = rg_srtp_suite_info((enum rg_srtp_suite)s);
		exercise(sa, sb, info, 0xabcdef01);
		exercise(sb, sa, info, 0xabcdef02);
		rg_srtp_free(sa);
		rg_srtp_free(sb);
		rg_srtp_keys_wipe(&ka);
		rg_srtp_keys_wipe(&kb);
		rg_sdes_crypto_wipe(&ours);
		rg_sdes_crypto_wipe(&theirs);
	}
}

/* RFC 3711 section 3.1: an MKI of 1..4 octets between payload and tag */
static void test_mki(void)
{
	rg_sdes_crypto ours, theirs;
	CHECK_INT(rg_sdes_parse("1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|7:4",
				strlen("1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|7:4"),
				&ours), 0);
	CHECK_INT(rg_sdes_generate(&theirs, 1, RG_SRTP_AES_CM_128_HMAC_SHA1_80), 0);
	rg_srtp_keys ka, kb;
	CHECK_INT(rg_sdes_keys(&ka, &ours, &theirs), 0);
	CHECK_INT(rg_sdes_keys(&kb, &theirs, &ours), 0);
	rg_srtp *sa, *sb;
	CHECK_INT(rg_srtp_new(&sa, &ka, true), 0);
	CHECK_INT(rg_srtp_new(&sb, &kb, true), 0);
	CHECK_INT(rg_srtp_rtp_overhead(sa), 10 + 4);
	CHECK_INT(rg_srtp_rtcp_overhead(sa), 10 + 4 + 4);
	CHECK_INT(rg_srtp_rtp_overhead(sb), 10);

	uint8_t plain[64], out[128];
	size_t pn = make_rtp(plain, 9, 0x1234, 20), n, on;
	uint8_t *pk = protect(sa, false, plain, pn, &n);
	CHECK_INT(n, pn + 14);
	/* the MKI 7 in 4 octets, network order, right after the payload */
	static const uint8_t mki[4] = {0, 0, 0, 7};
	CHECK_MEM(pk + pn, mki, 4);
	CHECK_INT(unprotect_copy(sb, false, pk, n, out, &on), 0);
	CHECK_INT(on, pn);
	CHECK_MEM(out, plain, pn);
	/* an unknown MKI */
	pn = make_rtp(plain, 10, 0x1234, 20);
	uint8_t *pk2 = protect(sa, false, plain, pn, &n);
	pk2[pn + 3] = 8;
	CHECK_INT(unprotect_copy(sb, false, pk2, n, out, &on), -ENOKEY);
	free(pk);
	free(pk2);
	/* RTCP with MKI */
	pn = make_rtcp(plain, 0x1234);
	pk = protect(sa, true, plain, pn, &n);
	CHECK_INT(n, pn + 18);
	CHECK_INT(unprotect_copy(sb, true, pk, n, out, &on), 0);
	CHECK_MEM(out, plain, pn);
	free(pk);
	rg_srtp_free(sa);
	rg_srtp_free(sb);
}

static void test_bad_args(void)
{
	rg_srtp *s = (rg_srtp *)0x1;
	rg_srtp_keys k;
	memset(&k, 0, sizeof(k));
	CHECK_INT(rg_srtp_new(&s, &k, true), -EINVAL); /* suite NONE */
	k.suite = RG_SRTP_SUITE_COUNT;
	CHECK_INT(rg_srtp_new(&s, &k, true), -EINVAL);
	CHECK_INT(rg_srtp_new(&s, NULL, true), -EINVAL);
	CHECK(s == (rg_srtp *)0x1);
	k.suite = RG_SRTP_AES_CM_128_HMAC_SHA1_80;
	k.client.mki_len = 5;
	CHECK_INT(rg_srtp_new(&s, &k, true), -EINVAL);
	CHECK(s == (rg_srtp *)0x1);
	CHECK_INT(rg_srtp_init(), 0);
	CHECK_INT(rg_srtp_init(), 0);
	CHECK(!rg_srtp_suite_supported(RG_SRTP_SUITE_NONE));
	CHECK(rg_srtp_suite_info(RG_SRTP_SUITE_NONE) == NULL);
	const struct rg_srtp_suite_info *i = rg_srtp_suite_info(RG_SRTP_AEAD_AES_256_GCM);
	CHECK(i && i->key_len == 32 && i->salt_len == 12 && i->rtp_tag_len == 16 && i->dtls_id == 8);
	i = rg_srtp_suite_info(RG_SRTP_AES_CM_128_HMAC_SHA1_32);
	CHECK(i && i->rtp_tag_len == 4 && i->rtcp_tag_len == 10 && i->dtls_id == 2);
	CHECK(rg_srtp_suite_by_sdes_name("AEAD_AES_128_GCM", 16) ==
	      rg_srtp_suite_info(RG_SRTP_AEAD_AES_128_GCM));
	CHECK(rg_srtp_suite_by_sdes_name("aead_aes_128_gcm", 16) == NULL);
	rg_srtp_free(NULL);
	CHECK_INT(rg_srtp_rtp_overhead(NULL), 0);
}

int main(void)
{
	pair_certs();
	RUN(test_dtls_keys_all_profiles);
	RUN(test_many_ssrcs);
	RUN(test_sdes_sessions);
	RUN(test_mki);
	RUN(test_bad_args);
	pair_certs_free();
	return th_done("rgdtls srtp");
}
