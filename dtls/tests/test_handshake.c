/* Two rg_dtls endpoints in one process, datagrams passed between them through the API: roles
 * fixed late, lost flights, fingerprint mismatch, profile negotiation, key export (RFC 5764). */
#include "dtls_priv.h" /* the SSL*, for the exporter layout test */
#include "pair.h"
#include "th.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static enum rg_dtls_state st(rg_dtls *d)
{
	return rg_dtls_state(d, NULL);
}

static const char *why(rg_dtls *d)
{
	const char *r = NULL;
	rg_dtls_state(d, &r);
	return r ? r : "";
}

/* both export the same material: client half of one == client half of the other */
static void check_mirrored_keys(rg_dtls *a, rg_dtls *b, enum rg_srtp_suite want)
{
	rg_srtp_keys ka, kb;
	CHECK_INT(rg_dtls_srtp_keys(a, &ka), 0);
	CHECK_INT(rg_dtls_srtp_keys(b, &kb), 0);
	CHECK_INT(ka.suite, want);
	CHECK_INT(kb.suite, want);
	const struct rg_srtp_suite_info *info = rg_srtp_suite_info(want);
	CHECK(info != NULL);
	if (!info)
		return;
	CHECK_MEM(ka.client.key, kb.client.key, info->key_len);
	CHECK_MEM(ka.client.salt, kb.client.salt, info->salt_len);
	CHECK_MEM(ka.server.key, kb.server.key, info->key_len);
	CHECK_MEM(ka.server.salt, kb.server.salt, info->salt_len);
	/* the two directions use different keys (RFC 5764 section 4.2) */
	CHECK(memcmp(ka.client.key, ka.server.key, info->key_len) != 0);
	CHECK(memcmp(ka.client.salt, ka.server.salt, info->salt_len) != 0);
	/* octets past key_len/salt_len stay zero */
	static const uint8_t zero[RG_SRTP_MAX_KEY_LEN];
	CHECK_MEM(ka.client.key + info->key_len, zero, RG_SRTP_MAX_KEY_LEN - info->key_len);
	CHECK_INT(ka.client.mki_len, 0);
	rg_srtp_keys_wipe(&ka);
	rg_srtp_keys_wipe(&kb);
	CHECK_INT(ka.suite, 0);
}

static void test_basic_handshake(void)
{
	struct pair p;
	CHECK_INT(pair_new(&p, RG_DTLS_ACTIVE, RG_DTLS_PASSIVE, true), 0);
	/* the default 1 s timer: this test counts datagrams, a loaded machine must not add a
	 * retransmission (OpenSSL also retransmits from inside its own read when a timer expired) */
	CHECK_INT(rg_dtls_set_timeouts(p.a, RG_DTLS_DEFAULT_RTO_MS, 0), 0);
	CHECK_INT(rg_dtls_set_timeouts(p.b, RG_DTLS_DEFAULT_RTO_MS, 0), 0);
	rg_srtp_keys k;
	CHECK_INT(rg_dtls_srtp_keys(p.a, &k), -EAGAIN);
	CHECK_INT(rg_dtls_timeout_ms(p.a), -1); /* not started: no timer */
	CHECK_INT(rg_dtls_start(p.b), 0);
	CHECK_INT(p.ba.sent, 0); /* a server waits */
	CHECK_INT(rg_dtls_start(p.a), 0);
	CHECK_INT(rg_dtls_start(p.a), -EALREADY);
	CHECK_INT(p.ab.sent, 1); /* the ClientHello, one datagram */
	CHECK(p.ab.n_q == 1 && rg_dtls_is_dtls(p.ab.q[0].buf, p.ab.q[0].len));
	CHECK(p.ab.n_q == 1 && p.ab.q[0].buf[0] == 22); /* handshake record */
	CHECK(rg_dtls_timeout_ms(p.a) > 0);
	pair_pump(&p, 2000);
	CHECK_INT(st(p.a), RG_DTLS_CONNECTED);
	CHECK_INT(st(p.b), RG_DTLS_CONNECTED);
	CHECK(rg_dtls_is_client(p.a));
	CHECK(!rg_dtls_is_client(p.b));
	/* default preference: AEAD_AES_128_GCM first */
	check_mirrored_keys(p.a, p.b, RG_SRTP_AEAD_AES_128_GCM);
	/* every datagram we sent fits the MTU */
	struct rg_dtls_stats sa, sb;
	rg_dtls_get_stats(p.a, &sa);
	rg_dtls_get_stats(p.b, &sb);
	CHECK_INT(sa.tx_datagrams, p.ab.sent);
	CHECK_INT(sb.tx_datagrams, p.ba.sent);
	CHECK_INT(sa.rx_datagrams, p.ba.sent);
	CHECK_INT(sa.retransmits + sb.retransmits, 0);
	/* both are done: no timer left, a late handle_timeout sends nothing */
	CHECK_INT(rg_dtls_timeout_ms(p.a), -1);
	CHECK_INT(rg_dtls_timeout_ms(p.b), -1);
	unsigned sent_before = p.ab.sent + p.ba.sent;
	CHECK_INT(rg_dtls_handle_timeout(p.a), 0);
	CHECK_INT(rg_dtls_handle_timeout(p.b), 0);
	CHECK_INT(p.ab.sent + p.ba.sent, sent_before);
	CHECK_INT(rg_dtls_set_role(p.a, RG_DTLS_PASSIVE), -EALREADY);
	CHECK_INT(rg_dtls_set_srtp_profiles(p.a, "SRTP_AES128_CM_SHA1_80"), -EALREADY);
	pair_free(&p);
}

/* RFC 5764 section 4.2, checked against the exporter itself (two of our own endpoints would
 * agree on a wrong split): the 2 * (key + salt) octets exported with the label
 * "EXTRACTOR-dtls_srtp" and no context are client key | server key | client salt | server salt */
static void test_exporter_layout(void)
{
	static const char *const profiles[] = {"SRTP_AES128_CM_SHA1_80", "SRTP_AEAD_AES_256_GCM"};
	for (size_t i = 0; i < 2; i++) {
		struct pair p;
		CHECK_INT(pair_connect(&p, profiles[i], NULL), 0);
		rg_srtp_keys k;
		CHECK_INT(rg_dtls_srtp_keys(p.b, &k), 0);
		const struct rg_srtp_suite_info *info = rg_srtp_suite_info(k.suite);
		CHECK(info != NULL);
		if (info) {
			size_t kl = info->key_len, sl = info->salt_len;
			uint8_t mat[2 * (32 + 14)];
			CHECK_INT(SSL_export_keying_material(p.a->ssl, mat, 2 * (kl + sl),
							     "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0),
				  1);
			CHECK_MEM(k.client.key, mat, kl);
			CHECK_MEM(k.server.key, mat + kl, kl);
			CHECK_MEM(k.client.salt, mat + 2 * kl, sl);
			CHECK_MEM(k.server.salt, mat + 2 * kl + sl, sl);
			/* a different label gives different octets (the label is really used) */
			uint8_t other[2 * (32 + 14)];
			CHECK_INT(SSL_export_keying_material(p.a->ssl, other, 2 * (kl + sl),
							     "EXTRACTOR-dtls_srtq", 19, NULL, 0, 0),
				  1);
			CHECK(memcmp(mat, other, 2 * (kl + sl)) != 0);
		}
		rg_srtp_keys_wipe(&k);
		pair_free(&p);
	}
}

static unsigned max_len_seen;
static bool note_len(void *ctx, unsigned n, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)n;
	(void)buf;
	if (len > max_len_seen)
		max_len_seen = (unsigned)len;
	return false;
}

static void test_rsa_and_mtu(void)
{
	/* an RSA-2048 certificate on one side: bigger flights, still within RG_DTLS_MTU */
	rg_dtls_cert *rsa;
	char fp_rsa[RG_DTLS_FP_MAX], fp_b[RG_DTLS_FP_MAX];
	CHECK_INT(rg_dtls_cert_new(&rsa, RG_DTLS_CERT_RSA_2048), 0);
	CHECK_INT(rg_dtls_cert_fingerprint(rsa, "sha-384", fp_rsa, sizeof(fp_rsa)), 0);
	CHECK_INT(rg_dtls_cert_fingerprint(cert_b, "sha-1", fp_b, sizeof(fp_b)), 0);
	struct pair p;
	memset(&p, 0, sizeof(p));
	CHECK_INT(rg_dtls_new(&p.a, rsa, RG_DTLS_ACTIVE, "SHA-1", fp_b, net_send_ab, &p), 0);
	CHECK_INT(rg_dtls_new(&p.b, cert_b, RG_DTLS_PASSIVE, "sha-384", fp_rsa, net_send_ba, &p), 0);
	rg_dtls_cert_free(rsa); /* endpoints hold their own references */
	max_len_seen = 0;
	p.ab.drop = note_len;
	p.ba.drop = note_len;
	CHECK_INT(rg_dtls_start(p.a), 0);
	pair_pump(&p, 3000);
	CHECK_INT(st(p.a), RG_DTLS_CONNECTED);
	CHECK_INT(st(p.b), RG_DTLS_CONNECTED);
	CHECK(max_len_seen > 0 && max_len_seen <= RG_DTLS_MTU);
	check_mirrored_keys(p.a, p.b, RG_SRTP_AEAD_AES_128_GCM);
	pair_free(&p);
}

/* RFC 5763 section 6.2: the answerer (active) sends its ClientHello before the offerer knows
 * the answer, i.e. its role and the peer fingerprint */
static void test_early_client_hello(void)
{
	struct pair p;
	char fa[RG_DTLS_FP_MAX], fb[RG_DTLS_FP_MAX];
	CHECK_INT(rg_dtls_cert_fingerprint(cert_a, "sha-256", fa, sizeof(fa)), 0);
	CHECK_INT(rg_dtls_cert_fingerprint(cert_b, "sha-256", fb, sizeof(fb)), 0);
	CHECK_INT(pair_new(&p, RG_DTLS_ACTIVE, RG_DTLS_ROLE_UNSET, false), 0);
	CHECK_INT(rg_dtls_set_peer_fingerprint(p.a, "sha-256", fb), 0);
	CHECK_INT(rg_dtls_start(p.b), -EINVAL); /* role unknown */
	CHECK_INT(rg_dtls_start(p.a), 0);
	net_deliver(&p, &p.ab); /* ClientHello reaches b, which does not know its role yet */
	CHECK_INT(p.ba.sent, 0);
	CHECK_INT(st(p.b), RG_DTLS_CONNECTING);
	CHECK_INT(rg_dtls_timeout_ms(p.b), -1);
	/* the answer arrives: we are passive, here is their fingerprint */
	CHECK_INT(rg_dtls_set_peer_fingerprint(p.b, "sha-256", fa), 0);
	CHECK_INT(rg_dtls_set_role(p.b, RG_DTLS_PASSIVE), 0);
	CHECK(p.ba.sent > 0); /* the queued ClientHello was answered at once */
	CHECK_INT(rg_dtls_get_role(p.b), RG_DTLS_PASSIVE);
	pair_pump(&p, 2000);
	CHECK_INT(st(p.a), RG_DTLS_CONNECTED);
	CHECK_INT(st(p.b), RG_DTLS_CONNECTED);
	check_mirrored_keys(p.a, p.b, RG_SRTP_AEAD_AES_128_GCM);
	pair_free(&p);
}

/* The ClientHello arrives after the role is set (the usual order) but the peer fingerprint
 * only after the handshake: CONNECTING "waiting for the peer fingerprint" until it comes. */
static void test_late_fingerprint(void)
{
	struct pair p;
	char fa[RG_DTLS_FP_MAX], fb[RG_DTLS_FP_MAX];
	CHECK_INT(rg_dtls_cert_fingerprint(cert_a, "sha-512", fa, sizeof(fa)), 0);
	CHECK_INT(rg_dtls_cert_fingerprint(cert_b, "sha-256", fb, sizeof(fb)), 0);
	CHECK_INT(pair_new(&p, RG_DTLS_ACTIVE, RG_DTLS_ROLE_UNSET, false), 0);
	CHECK_INT(rg_dtls_set_peer_fingerprint(p.a, "sha-256", fb), 0);
	CHECK_INT(rg_dtls_set_role(p.b, RG_DTLS_PASSIVE), 0);
	CHECK_INT(rg_dtls_start(p.a), 0);
	pair_pump(&p, 300);
	CHECK_INT(st(p.a), RG_DTLS_CONNECTED);
	CHECK_INT(st(p.b), RG_DTLS_CONNECTING);
	CHECK(strstr(why(p.b), "waiting for the peer fingerprint") != NULL);
	rg_srtp_keys k;
	CHECK_INT(rg_dtls_srtp_keys(p.b, &k), -EAGAIN);
	/* a malformed or unknown fingerprint changes nothing */
	CHECK_INT(rg_dtls_set_peer_fingerprint(p.b, "md5", "00:11"), -ENOTSUP);
	CHECK_INT(rg_dtls_set_peer_fingerprint(p.b, "sha-512", "AB:CD"), -EINVAL);
	CHECK_INT(st(p.b), RG_DTLS_CONNECTING);
	CHECK_INT(rg_dtls_set_peer_fingerprint(p.b, "sha-512", fa), 0);
	CHECK_INT(st(p.b), RG_DTLS_CONNECTED);
	check_mirrored_keys(p.a, p.b, RG_SRTP_AEAD_AES_128_GCM);
	/* the same fingerprint again (re-INVITE with unchanged SDP) is fine */
	CHECK_INT(rg_dtls_set_peer_fingerprint(p.b, "sha-512", fa), 0);
	CHECK_INT(st(p.b), RG_DTLS_CONNECTED);
	/* a different one on an established association fails it */
	CHECK_INT(rg_dtls_set_peer_fingerprint(p.b, "sha-256", fb), -EKEYREJECTED);
	CHECK_INT(st(p.b), RG_DTLS_FAILED);
	CHECK_STR(why(p.b), "peer certificate fingerprint mismatch");
	pair_free(&p);
}

static void test_late_fingerprint_mismatch(void)
{
	struct pair p;
	char fb[RG_DTLS_FP_MAX];
	CHECK_INT(rg_dtls_cert_fingerprint(cert_b, "sha-256", fb, sizeof(fb)), 0);
	CHECK_INT(pair_new(&p, RG_DTLS_ACTIVE, RG_DTLS_PASSIVE, false), 0);
	CHECK_INT(rg_dtls_set_peer_fingerprint(p.a, "sha-256", fb), 0);
	CHECK_INT(rg_dtls_start(p.a), 0);
	pair_pump(&p, 300);
	CHECK_INT(st(p.b), RG_DTLS_CONNECTING);
	/* b is told a's fingerprint is b's own: mismatch, FAILED, a learns through close_notify */
	CHECK_INT(rg_dtls_set_peer_fingerprint(p.b, "sha-256", fb), -EKEYREJECTED);
	CHECK_INT(st(p.b), RG_DTLS_FAILED);
	CHECK_STR(why(p.b), "peer certificate fingerprint mismatch");
	pair_pump(&p, 300);
	CHECK_INT(st(p.a), RG_DTLS_CLOSED);
	pair_free(&p);
}

/* the "drop first datagram" shim on the client's direction: the ClientHello is lost and comes
 * again from the retransmission timer (RFC 6347 section 4.2.4) */
static void test_lost_first_flight(void)
{
	struct pair p;
	CHECK_INT(pair_new(&p, RG_DTLS_ACTIVE, RG_DTLS_PASSIVE, true), 0);
	p.ab.drop = drop_first;
	/* a wide first timer, so that a slow (sanitized, loaded) run cannot see it expire between
	 * the next two lines */
	CHECK_INT(rg_dtls_set_timeouts(p.a, 200, 3000), 0);
	CHECK_INT(rg_dtls_start(p.a), 0);
	CHECK_INT(p.ab.dropped, 1);
	CHECK_INT(p.ab.n_q, 0);
	int t = rg_dtls_timeout_ms(p.a);
	CHECK(t > 100 && t <= 200);
	CHECK_INT(rg_dtls_handle_timeout(p.a), 0); /* not yet expired: nothing sent */
	CHECK_INT(p.ab.sent, 1);
	pair_pump(&p, 2000);
	CHECK_INT(st(p.a), RG_DTLS_CONNECTED);
	CHECK_INT(st(p.b), RG_DTLS_CONNECTED);
	struct rg_dtls_stats s;
	rg_dtls_get_stats(p.a, &s);
	CHECK(s.retransmits >= 1);
	check_mirrored_keys(p.a, p.b, RG_SRTP_AEAD_AES_128_GCM);
	pair_free(&p);
}

/* the server's last flight (ChangeCipherSpec + Finished) is lost: the client retransmits its
 * flight and the already finished server answers with its own again */
static bool drop_server_last(void *ctx, unsigned n, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)n;
	(void)len;
	/* the first datagram that starts with a ChangeCipherSpec record (type 20) */
	static bool done;
	if (!done && buf[0] == 20) {
		done = true;
		return true;
	}
	return false;
}

static void test_lost_last_flight(void)
{
	struct pair p;
	CHECK_INT(pair_new(&p, RG_DTLS_ACTIVE, RG_DTLS_PASSIVE, true), 0);
	p.ba.drop = drop_server_last;
	CHECK_INT(rg_dtls_start(p.a), 0);
	pair_pump(&p, 2000);
	CHECK_INT(p.ba.dropped, 1);
	CHECK_INT(st(p.a), RG_DTLS_CONNECTED);
	CHECK_INT(st(p.b), RG_DTLS_CONNECTED);
	check_mirrored_keys(p.a, p.b, RG_SRTP_AEAD_AES_128_GCM);
	pair_free(&p);
}

static void test_wrong_fingerprint_active_verifies(void)
{
	struct pair p;
	char fa[RG_DTLS_FP_MAX];
	CHECK_INT(rg_dtls_cert_fingerprint(cert_a, "sha-256", fa, sizeof(fa)), 0);
	CHECK_INT(pair_new(&p, RG_DTLS_ACTIVE, RG_DTLS_PASSIVE, true), 0);
	/* a expects its own certificate on the other side: b's will not match */
	CHECK_INT(rg_dtls_set_peer_fingerprint(p.a, "sha-256", fa), 0);
	CHECK_INT(rg_dtls_start(p.a), 0);
	pair_pump(&p, 2000);
	CHECK_INT(st(p.a), RG_DTLS_FAILED);
	CHECK_STR(why(p.a), "peer certificate fingerprint mismatch");
	/* b got a bad_certificate alert */
	CHECK_INT(st(p.b), RG_DTLS_FAILED);
	CHECK(strstr(why(p.b), "bad certificate") != NULL);
	rg_srtp_keys k;
	CHECK_INT(rg_dtls_srtp_keys(p.a, &k), -EAGAIN);
	CHECK_INT(rg_dtls_timeout_ms(p.a), -1);
	/* dead: further input is refused and counted */
	uint8_t junk[20] = {22, 0xfe, 0xfd};
	CHECK_INT(rg_dtls_input(p.a, junk, sizeof(junk)), -EPROTO);
	struct rg_dtls_stats s;
	rg_dtls_get_stats(p.a, &s);
	CHECK_INT(s.dead_dropped, 1);
	CHECK_INT(rg_dtls_start(p.a), -EPROTO);
	CHECK_INT(rg_dtls_handle_timeout(p.a), -EPROTO);
	pair_free(&p);
}

static void test_wrong_fingerprint_passive_verifies(void)
{
	struct pair p;
	char fb[RG_DTLS_FP_MAX];
	CHECK_INT(rg_dtls_cert_fingerprint(cert_b, "sha-1", fb, sizeof(fb)), 0);
	CHECK_INT(pair_new(&p, RG_DTLS_ACTIVE, RG_DTLS_PASSIVE, true), 0);
	CHECK_INT(rg_dtls_set_peer_fingerprint(p.b, "sha-1", fb), 0);
	CHECK_INT(rg_dtls_start(p.a), 0);
	pair_pump(&p, 2000);
	CHECK_INT(st(p.b), RG_DTLS_FAILED);
	CHECK_STR(why(p.b), "peer certificate fingerprint mismatch");
	CHECK_INT(st(p.a), RG_DTLS_FAILED);
	CHECK(strstr(why(p.a), "bad certificate") != NULL);
	pair_free(&p);
}

static void test_profiles(void)
{
	static const struct {
		const char *a, *b;
		enum rg_srtp_suite want;
	} cases[] = {
		{"SRTP_AES128_CM_SHA1_80", NULL, RG_SRTP_AES_CM_128_HMAC_SHA1_80},
		{"SRTP_AES128_CM_SHA1_32", NULL, RG_SRTP_AES_CM_128_HMAC_SHA1_32},
		{"SRTP_AEAD_AES_128_GCM", NULL, RG_SRTP_AEAD_AES_128_GCM},
		{"SRTP_AEAD_AES_256_GCM", NULL, RG_SRTP_AEAD_AES_256_GCM},
		/* the server's preference wins among what the client offers */
		{"SRTP_AES128_CM_SHA1_32:SRTP_AES128_CM_SHA1_80", NULL, RG_SRTP_AES_CM_128_HMAC_SHA1_80},
		{NULL, "SRTP_AEAD_AES_256_GCM:SRTP_AEAD_AES_128_GCM", RG_SRTP_AEAD_AES_256_GCM},
		{"SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_256_GCM", "SRTP_AES128_CM_SHA1_32:SRTP_AES128_CM_SHA1_80",
		 RG_SRTP_AES_CM_128_HMAC_SHA1_80},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pair p;
		int r = pair_connect(&p, cases[i].a, cases[i].b);
		CHECK_INT(r, 0);
		if (!r)
			check_mirrored_keys(p.a, p.b, cases[i].want);
		pair_free(&p);
	}
	/* unknown names are refused before OpenSSL sees them */
	struct pair p;
	CHECK_INT(pair_new(&p, RG_DTLS_ACTIVE, RG_DTLS_PASSIVE, true), 0);
	CHECK_INT(rg_dtls_set_srtp_profiles(p.a, "SRTP_NULL_SHA1_80"), -EINVAL);
	CHECK_INT(rg_dtls_set_srtp_profiles(p.a, "SRTP_AES128_CM_SHA1_80:bogus"), -EINVAL);
	CHECK_INT(rg_dtls_set_srtp_profiles(p.a, ""), -EINVAL);
	pair_free(&p);
}

/* RFC 5764 section 4.1.1: without a common profile there is no use_srtp in the ServerHello; the
 * handshake completes at the TLS level but neither side may use it */
static void test_no_common_profile(void)
{
	struct pair p;
	CHECK_INT(pair_new(&p, RG_DTLS_ACTIVE, RG_DTLS_PASSIVE, true), 0);
	CHECK_INT(rg_dtls_set_srtp_profiles(p.a, "SRTP_AES128_CM_SHA1_32"), 0);
	CHECK_INT(rg_dtls_set_srtp_profiles(p.b, "SRTP_AEAD_AES_128_GCM"), 0);
	CHECK_INT(rg_dtls_start(p.a), 0);
	pair_pump(&p, 2000);
	CHECK_INT(st(p.a), RG_DTLS_FAILED);
	CHECK_INT(st(p.b), RG_DTLS_FAILED);
	CHECK_STR(why(p.a), "no SRTP protection profile negotiated");
	CHECK_STR(why(p.b), "no SRTP protection profile negotiated");
	pair_free(&p);
}

static void test_handshake_timeout(void)
{
	struct pair p;
	CHECK_INT(pair_new(&p, RG_DTLS_ACTIVE, RG_DTLS_PASSIVE, true), 0);
	CHECK_INT(rg_dtls_set_timeouts(p.a, 10, 150), 0);
	p.ab.drop = drop_all;
	CHECK_INT(rg_dtls_start(p.a), 0);
	CHECK_INT(rg_dtls_set_timeouts(p.a, 10, 150), -EALREADY);
	unsigned ms = pair_pump(&p, 2000);
	CHECK_INT(st(p.a), RG_DTLS_FAILED);
	CHECK_STR(why(p.a), "DTLS handshake timeout");
	CHECK(ms >= 140 && ms < 1000);
	struct rg_dtls_stats s;
	rg_dtls_get_stats(p.a, &s);
	CHECK(s.retransmits >= 1); /* at 10, 30, 70 ms: at least one even on a loaded machine */
	CHECK(p.ab.sent >= 2);
	/* the passive side never started: no timer, still waiting */
	CHECK_INT(st(p.b), RG_DTLS_CONNECTING);
	CHECK_INT(rg_dtls_timeout_ms(p.b), -1);
	pair_free(&p);

	/* a started passive side that never hears a ClientHello times out too */
	CHECK_INT(pair_new(&p, RG_DTLS_ACTIVE, RG_DTLS_PASSIVE, true), 0);
	CHECK_INT(rg_dtls_set_timeouts(p.b, 0, 60), 0);
	CHECK_INT(rg_dtls_start(p.b), 0);
	int t = rg_dtls_timeout_ms(p.b);
	CHECK(t > 0 && t <= 60);
	sleep_ms(70);
	CHECK_INT(rg_dtls_timeout_ms(p.b), 0);
	CHECK_INT(rg_dtls_handle_timeout(p.b), -EPROTO);
	CHECK_STR(why(p.b), "DTLS handshake timeout");
	pair_free(&p);
}

/* RFC 6347 section 4.1.2.7: invalid records are discarded, the association survives */
static void test_garbage(void)
{
	struct pair p;
	CHECK_INT(pair_new(&p, RG_DTLS_ACTIVE, RG_DTLS_PASSIVE, true), 0);
	uint8_t g[300];
	for (size_t i = 0; i < sizeof(g); i++)
		g[i] = (uint8_t)(i * 37 + 11);
	g[0] = 23; /* application data record type, but nonsense */
	CHECK_INT(rg_dtls_input(p.b, g, sizeof(g)), 0);
	g[0] = 22;
	CHECK_INT(rg_dtls_input(p.b, g, 5), 0); /* truncated record header */
	g[1] = 0xfe;
	g[2] = 0xfd;
	CHECK_INT(rg_dtls_input(p.b, g, 40), 0); /* record length beyond the datagram */
	CHECK_INT(st(p.b), RG_DTLS_CONNECTING);
	CHECK_INT(p.ba.sent, 0);
	CHECK_INT(rg_dtls_input(p.b, NULL, 4), -EINVAL);
	CHECK_INT(rg_dtls_input(p.b, g, 0), -EINVAL);
	CHECK_INT(rg_dtls_start(p.a), 0);
	/* the ClientHello twice (a retransmission overtaking nothing): harmless */
	if (p.ab.n_q == 1) {
		uint8_t dup[RG_DTLS_MTU];
		size_t n = p.ab.q[0].len;
		memcpy(dup, p.ab.q[0].buf, n);
		net_deliver(&p, &p.ab);
		CHECK_INT(rg_dtls_input(p.b, dup, n), 0);
	}
	pair_pump(&p, 2000);
	CHECK_INT(st(p.a), RG_DTLS_CONNECTED);
	CHECK_INT(st(p.b), RG_DTLS_CONNECTED);
	/* after the handshake too: epoch-1 nonsense fails its MAC and is dropped */
	g[0] = 23;
	g[3] = 0;
	g[4] = 1;
	CHECK_INT(rg_dtls_input(p.a, g, sizeof(g)), 0);
	CHECK_INT(rg_dtls_input(p.b, g, 13), 0);
	CHECK_INT(st(p.a), RG_DTLS_CONNECTED);
	CHECK_INT(st(p.b), RG_DTLS_CONNECTED);
	check_mirrored_keys(p.a, p.b, RG_SRTP_AEAD_AES_128_GCM);
	pair_free(&p);
}

/* A corrupted first ClientHello is not garbage to DTLS: epoch 0 carries no MAC, so it becomes
 * part of the handshake transcript and the handshake fails at the Finished / CertificateVerify
 * check. It must fail cleanly on both sides with a reason (a known limit of DTLS 1.2; the
 * gateway only feeds datagrams from the ICE-validated peer address). */
static void test_corrupted_client_hello(void)
{
	struct pair p;
	CHECK_INT(pair_new(&p, RG_DTLS_ACTIVE, RG_DTLS_PASSIVE, true), 0);
	CHECK_INT(rg_dtls_start(p.a), 0);
	CHECK_INT(p.ab.n_q, 1);
	if (p.ab.n_q == 1) {
		uint8_t bad[RG_DTLS_MTU];
		size_t n = p.ab.q[0].len;
		memcpy(bad, p.ab.q[0].buf, n);
		bad[30] ^= 0x01; /* inside client_random */
		rg_dtls_input(p.b, bad, n);
	}
	pair_pump(&p, 2000);
	CHECK_INT(st(p.a), RG_DTLS_FAILED);
	CHECK_INT(st(p.b), RG_DTLS_FAILED);
	CHECK(strncmp(why(p.a), "DTLS handshake failed: ", 23) == 0);
	CHECK(strncmp(why(p.b), "DTLS handshake failed: ", 23) == 0);
	pair_free(&p);
}

static void test_close(void)
{
	struct pair p;
	CHECK_INT(pair_connect(&p, NULL, NULL), 0);
	CHECK_INT(rg_dtls_close(p.a), 0);
	CHECK_INT(st(p.a), RG_DTLS_CLOSED);
	CHECK_INT(rg_dtls_close(p.a), -ENOTCONN);
	CHECK(p.ab.n_q >= 1); /* close_notify on its way */
	net_deliver(&p, &p.ab);
	CHECK_INT(st(p.b), RG_DTLS_CLOSED);
	CHECK_STR(why(p.b), "peer sent close_notify");
	rg_srtp_keys k;
	CHECK_INT(rg_dtls_srtp_keys(p.b, &k), -EAGAIN);
	pair_free(&p);
}

static void test_role_rules(void)
{
	struct pair p;
	CHECK_INT(pair_new(&p, RG_DTLS_ACTIVE, RG_DTLS_ROLE_UNSET, true), 0);
	CHECK_INT(rg_dtls_set_role(p.b, (enum rg_dtls_role)7), -EINVAL);
	CHECK_INT(rg_dtls_start(p.a), 0);
	/* more early datagrams than the queue holds */
	uint8_t ch[RG_DTLS_MTU];
	size_t n = p.ab.q[0].len;
	memcpy(ch, p.ab.q[0].buf, n);
	for (int i = 0; i < RG_DTLS_EARLY_MAX; i++)
		CHECK_INT(rg_dtls_input(p.b, ch, n), 0);
	CHECK_INT(rg_dtls_input(p.b, ch, n), -ENOBUFS);
	/* b decides to be active as well: what it queued is dropped */
	CHECK_INT(rg_dtls_set_role(p.b, RG_DTLS_ACTIVE), 0);
	struct rg_dtls_stats s;
	rg_dtls_get_stats(p.b, &s);
	CHECK_INT(s.early_dropped, RG_DTLS_EARLY_MAX + 1);
	/* an active endpoint that has not started ignores input */
	CHECK_INT(rg_dtls_input(p.b, ch, n), 0);
	CHECK_INT(p.ba.sent, 0);
	CHECK_INT(rg_dtls_set_role(p.b, RG_DTLS_PASSIVE), 0); /* not started: may change */
	CHECK_INT(rg_dtls_set_role(p.b, RG_DTLS_PASSIVE), 0);
	pair_free(&p);

	/* setup attribute helpers (RFC 4145 section 4, RFC 8842 section 5) */
	enum rg_dtls_setup su;
	enum rg_dtls_role r;
	CHECK_INT(rg_dtls_setup_parse("actpass", 7, &su), 0);
	CHECK_INT(su, RG_DTLS_SETUP_ACTPASS);
	CHECK_INT(rg_dtls_setup_parse("PASSIVE", 7, &su), 0);
	CHECK_INT(su, RG_DTLS_SETUP_PASSIVE);
	CHECK_INT(rg_dtls_setup_parse("active ", 7, &su), -EINVAL);
	CHECK_INT(rg_dtls_setup_parse("act", 3, &su), -EINVAL);
	CHECK_STR(rg_dtls_setup_name(RG_DTLS_SETUP_HOLDCONN), "holdconn");
	CHECK_INT(rg_dtls_role_from_peer_setup(RG_DTLS_SETUP_ACTIVE, &r), 0);
	CHECK_INT(r, RG_DTLS_PASSIVE);
	CHECK_INT(rg_dtls_role_from_peer_setup(RG_DTLS_SETUP_PASSIVE, &r), 0);
	CHECK_INT(r, RG_DTLS_ACTIVE);
	CHECK_INT(rg_dtls_role_from_peer_setup(RG_DTLS_SETUP_ACTPASS, &r), 0);
	CHECK_INT(r, RG_DTLS_ACTIVE);
	CHECK_INT(rg_dtls_role_from_peer_setup(RG_DTLS_SETUP_HOLDCONN, &r), -EINVAL);
	CHECK_STR(rg_dtls_role_name(RG_DTLS_PASSIVE), "passive");
	CHECK_STR(rg_dtls_state_name(RG_DTLS_CONNECTED), "connected");
}

static void test_bad_args(void)
{
	rg_dtls *d = (rg_dtls *)0x1;
	char fb[RG_DTLS_FP_MAX];
	CHECK_INT(rg_dtls_cert_fingerprint(cert_b, "sha-256", fb, sizeof(fb)), 0);
	CHECK_INT(rg_dtls_new(&d, NULL, RG_DTLS_ACTIVE, NULL, NULL, net_send_ab, NULL), -EINVAL);
	CHECK_INT(rg_dtls_new(&d, cert_a, RG_DTLS_ACTIVE, NULL, NULL, NULL, NULL), -EINVAL);
	CHECK_INT(rg_dtls_new(&d, cert_a, RG_DTLS_ACTIVE, "sha-256", NULL, net_send_ab, NULL),
		  -EINVAL);
	CHECK_INT(rg_dtls_new(&d, cert_a, RG_DTLS_ACTIVE, "md5", fb, net_send_ab, NULL), -ENOTSUP);
	/* sha-256 text given as sha-1 */
	CHECK_INT(rg_dtls_new(&d, cert_a, RG_DTLS_ACTIVE, "sha-1", fb, net_send_ab, NULL), -EINVAL);
	CHECK(d == (rg_dtls *)0x1); /* out-param untouched on failure */
	CHECK_INT(rg_dtls_set_role(NULL, RG_DTLS_ACTIVE), -EINVAL);
	CHECK_INT(rg_dtls_start(NULL), -EINVAL);
	CHECK_INT(rg_dtls_timeout_ms(NULL), -1);
	CHECK_INT(rg_dtls_state(NULL, NULL), RG_DTLS_FAILED);
	rg_dtls_free(NULL);
}

int main(void)
{
	pair_certs();
	RUN(test_basic_handshake);
	RUN(test_exporter_layout);
	RUN(test_rsa_and_mtu);
	RUN(test_early_client_hello);
	RUN(test_late_fingerprint);
	RUN(test_late_fingerprint_mismatch);
	RUN(test_lost_first_flight);
	RUN(test_lost_last_flight);
	RUN(test_wrong_fingerprint_active_verifies);
	RUN(test_wrong_fingerprint_passive_verifies);
	RUN(test_profiles);
	RUN(test_no_common_profile);
	RUN(test_handshake_timeout);
	RUN(test_garbage);
	RUN(test_corrupted_client_hello);
	RUN(test_close);
	RUN(test_role_rules);
	RUN(test_bad_args);
	pair_certs_free();
	return th_done("rgdtls handshake");
}
