/* srtp.c: crypto suite table and SRTP/SRTCP sessions over libsrtp2 (RFC 3711, 6188, 7714). */
#include "dtls_priv.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#ifdef RG_SRTP_NSS
#include <nss.h>
#endif
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <srtp2/srtp.h>

typedef void (*policy_set_fn)(srtp_crypto_policy_t *p);

/* One row per suite (a static const table, never freed): lengths from RFC 3711 section 8.2 / RFC 4568 section 6.2 (AES-CM),
 * RFC 6188 (AES-256-CM), RFC 7714 sections 12 and 14.2 (AEAD); DTLS-SRTP ids from RFC
 * 5764 section 4.1.2 and RFC 7714 section 14.2. The _32 suites keep an 80-bit SRTCP tag (RFC
 * 5764 section 4.1.2, RFC 4568 section 6.2.2). */
static const struct suite_row {
	struct rg_srtp_suite_info info;
	policy_set_fn rtp, rtcp;
} suites[RG_SRTP_SUITE_COUNT] = {
	[RG_SRTP_AES_CM_128_HMAC_SHA1_80] = {
		{RG_SRTP_AES_CM_128_HMAC_SHA1_80, "AES_CM_128_HMAC_SHA1_80", "SRTP_AES128_CM_SHA1_80",
		 0x0001, 16, 14, 10, 10},
		srtp_crypto_policy_set_rtp_default, srtp_crypto_policy_set_rtcp_default},
	[RG_SRTP_AES_CM_128_HMAC_SHA1_32] = {
		{RG_SRTP_AES_CM_128_HMAC_SHA1_32, "AES_CM_128_HMAC_SHA1_32", "SRTP_AES128_CM_SHA1_32",
		 0x0002, 16, 14, 4, 10},
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32, srtp_crypto_policy_set_rtcp_default},
	[RG_SRTP_AEAD_AES_128_GCM] = {
		{RG_SRTP_AEAD_AES_128_GCM, "AEAD_AES_128_GCM", "SRTP_AEAD_AES_128_GCM", 0x0007, 16, 12,
		 16, 16},
		srtp_crypto_policy_set_aes_gcm_128_16_auth, srtp_crypto_policy_set_aes_gcm_128_16_auth},
	[RG_SRTP_AEAD_AES_256_GCM] = {
		{RG_SRTP_AEAD_AES_256_GCM, "AEAD_AES_256_GCM", "SRTP_AEAD_AES_256_GCM", 0x0008, 32, 12,
		 16, 16},
		srtp_crypto_policy_set_aes_gcm_256_16_auth, srtp_crypto_policy_set_aes_gcm_256_16_auth},
	[RG_SRTP_AES_256_CM_HMAC_SHA1_80] = {
		{RG_SRTP_AES_256_CM_HMAC_SHA1_80, "AES_256_CM_HMAC_SHA1_80", NULL, 0, 32, 14, 10, 10},
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80,
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80},
	[RG_SRTP_AES_256_CM_HMAC_SHA1_32] = {
		{RG_SRTP_AES_256_CM_HMAC_SHA1_32, "AES_256_CM_HMAC_SHA1_32", NULL, 0, 32, 14, 4, 10},
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_32,
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80},
};

/* Inbound and outbound libsrtp sessions: libsrtp allows one wildcard template per session, so
 * ssrc_any_inbound and ssrc_any_outbound need one each. Owned by rg_srtp, freed (and zeroed by
 * libsrtp) in rg_srtp_free(). */
struct rg_srtp {
	srtp_t in;
	srtp_t out;
	const struct rg_srtp_suite_info *info;
	uint8_t in_mki_len;
	uint8_t out_mki_len;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t init_status = srtp_err_status_init_fail;

static void do_init(void)
{
#ifdef RG_SRTP_NSS
	/* libsrtp2 built on NSS (Debian's) calls NSS_NoDB_Init(), which asks for small tables
	 * (NSS_INIT_OPTIMIZESPACE: a few hash buckets and one lock for every key object): with
	 * many SRTP streams each packet's key lookup slows down and both workers contend for that
	 * lock (measured in bench/README.md). Initialised first, with full-size tables, NSS is
	 * left as it is by libsrtp2. */
	if (!NSS_IsInitialized())
		NSS_Initialize("", "", "", "", NSS_INIT_READONLY | NSS_INIT_NOCERTDB | NSS_INIT_NOMODDB |
						   NSS_INIT_FORCEOPEN | NSS_INIT_NOROOTINIT);
#endif
	/* libsrtp's srtp_init() is not thread-safe and must run once */
	init_status = srtp_init();
}

int rg_srtp_init(void)
{
	pthread_once(&init_once, do_init);
	return init_status == srtp_err_status_ok ? 0 : -EIO;
}

const struct rg_srtp_suite_info *rg_srtp_suite_info(enum rg_srtp_suite s)
{
	if (s <= RG_SRTP_SUITE_NONE || s >= RG_SRTP_SUITE_COUNT)
		return NULL;
	return &suites[s].info;
}

const struct rg_srtp_suite_info *rg_srtp_suite_by_sdes_name(const char *name, size_t len)
{
	if (!name)
		return NULL;
	for (int s = RG_SRTP_SUITE_NONE + 1; s < RG_SRTP_SUITE_COUNT; s++)
		if (strlen(suites[s].info.sdes_name) == len &&
		    !memcmp(name, suites[s].info.sdes_name, len))
			return &suites[s].info;
	return NULL;
}

const struct rg_srtp_suite_info *rg_srtp_suite_by_dtls_id(uint16_t id)
{
	if (!id)
		return NULL;
	for (int s = RG_SRTP_SUITE_NONE + 1; s < RG_SRTP_SUITE_COUNT; s++)
		if (suites[s].info.dtls_id == id)
			return &suites[s].info;
	return NULL;
}

void rg_srtp_keys_wipe(rg_srtp_keys *k)
{
	if (k)
		OPENSSL_cleanse(k, sizeof(*k));
}

static int map_err(srtp_err_status_t st)
{
	switch (st) {
	case srtp_err_status_ok:
		return 0;
	case srtp_err_status_auth_fail:
		return -EBADMSG;
	/* RFC 3711 section 3.3.2: replayed, or older than the window */
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
	case srtp_err_status_pkt_idx_old:
		return -EALREADY;
	case srtp_err_status_bad_param:
	case srtp_err_status_parse_err:
		return -EINVAL;
	case srtp_err_status_bad_mki:
		return -ENOKEY;
	case srtp_err_status_key_expired:
		return -EKEYEXPIRED;
	case srtp_err_status_no_ctx:
		return -ENOENT;
	case srtp_err_status_alloc_fail:
		return -ENOMEM;
	case srtp_err_status_pkt_idx_adv:
		return -ERANGE;
	default:
		return -EIO;
	}
}

static int make_session(srtp_t *out, const struct suite_row *row, const struct rg_srtp_master *m,
			bool inbound)
{
	const struct rg_srtp_suite_info *info = &row->info;
	uint8_t keybuf[RG_SRTP_MAX_KEY_LEN + RG_SRTP_MAX_SALT_LEN];
	uint8_t mki[RG_SRTP_MAX_MKI_LEN];
	srtp_master_key_t mk;
	srtp_master_key_t *mkp = &mk;
	srtp_policy_t pol;
	int err;

	if (m->mki_len > RG_SRTP_MAX_MKI_LEN)
		return -EINVAL;
	memset(&pol, 0, sizeof(pol));
	row->rtp(&pol.rtp);
	row->rtcp(&pol.rtcp);
	pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	/* libsrtp wants key || salt in one buffer */
	memcpy(keybuf, m->key, info->key_len);
	memcpy(keybuf + info->key_len, m->salt, info->salt_len);
	if (m->mki_len) {
		/* RFC 3711 section 3.1: the MKI travels in the packet, network order */
		for (unsigned i = 0; i < m->mki_len; i++)
			mki[i] = (uint8_t)(m->mki >> (8 * (m->mki_len - 1 - i)));
		mk.key = keybuf;
		mk.mki_id = mki;
		mk.mki_size = m->mki_len;
		pol.keys = &mkp;
		pol.num_master_keys = 1;
	} else {
		pol.key = keybuf;
	}
	/* replay protection on, libsrtp's default window (128); never re-send one index: with an
	 * AEAD suite that would reuse a nonce */
	pol.window_size = 0;
	pol.allow_repeat_tx = 0;

	err = map_err(srtp_create(out, &pol));
	OPENSSL_cleanse(keybuf, sizeof(keybuf));
	OPENSSL_cleanse(mki, sizeof(mki));
	return err;
}

int rg_srtp_new(rg_srtp **out, const rg_srtp_keys *keys, bool is_client)
{
	int err;
	rg_srtp *s = NULL;

	if (!out || !keys)
		return -EINVAL;
	const struct rg_srtp_suite_info *info = rg_srtp_suite_info(keys->suite);
	if (!info)
		return -EINVAL;
	err = rg_srtp_init();
	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->info = info;

	/* RFC 5764 section 4.3: each side sends with its own write key, receives with the peer's */
	const struct rg_srtp_master *local = is_client ? &keys->client : &keys->server;
	const struct rg_srtp_master *remote = is_client ? &keys->server : &keys->client;
	err = make_session(&s->out, &suites[keys->suite], local, false);
	if (err)
		goto out;
	err = make_session(&s->in, &suites[keys->suite], remote, true);
	if (err)
		goto out;
	s->out_mki_len = local->mki_len;
	s->in_mki_len = remote->mki_len;

	*out = s;
	s = NULL;
out:
	if (err == -EINVAL || err == -EIO)
		err = rg_srtp_suite_supported(keys->suite) ? err : -ENOTSUP;
	rg_srtp_free(s);
	return err;
}

void rg_srtp_free(rg_srtp *s)
{
	if (!s)
		return;
	/* srtp_dealloc zeroes the session keys */
	if (s->in)
		srtp_dealloc(s->in);
	if (s->out)
		srtp_dealloc(s->out);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

size_t rg_srtp_rtp_overhead(const rg_srtp *s)
{
	return s ? (size_t)s->info->rtp_tag_len + s->out_mki_len : 0;
}

size_t rg_srtp_rtcp_overhead(const rg_srtp *s)
{
	/* RFC 3711 section 3.4: E flag + 31-bit SRTCP index, then MKI and tag */
	return s ? (size_t)s->info->rtcp_tag_len + 4 + s->out_mki_len : 0;
}

#define RTP_HDR_MIN 12
#define RTCP_HDR_MIN 8

int rg_srtp_protect_rtp(rg_srtp *s, uint8_t *buf, size_t *len, size_t cap)
{
	if (!s || !buf || !len || *len < RTP_HDR_MIN || *len > INT_MAX / 2)
		return -EINVAL;
	if (cap < *len + rg_srtp_rtp_overhead(s))
		return -ENOSPC;
	int l = (int)*len;
	srtp_err_status_t st = s->out_mki_len ? srtp_protect_mki(s->out, buf, &l, 1, 0)
					      : srtp_protect(s->out, buf, &l);
	if (st != srtp_err_status_ok)
		return map_err(st);
	*len = (size_t)l;
	return 0;
}

int rg_srtp_unprotect_rtp(rg_srtp *s, uint8_t *buf, size_t *len)
{
	if (!s || !buf || !len || *len < RTP_HDR_MIN || *len > INT_MAX / 2)
		return -EINVAL;
	int l = (int)*len;
	srtp_err_status_t st = s->in_mki_len ? srtp_unprotect_mki(s->in, buf, &l, 1)
					     : srtp_unprotect(s->in, buf, &l);
	if (st != srtp_err_status_ok)
		return map_err(st);
	*len = (size_t)l;
	return 0;
}

int rg_srtp_protect_rtcp(rg_srtp *s, uint8_t *buf, size_t *len, size_t cap)
{
	if (!s || !buf || !len || *len < RTCP_HDR_MIN || *len > INT_MAX / 2)
		return -EINVAL;
	if (cap < *len + rg_srtp_rtcp_overhead(s))
		return -ENOSPC;
	int l = (int)*len;
	srtp_err_status_t st = s->out_mki_len ? srtp_protect_rtcp_mki(s->out, buf, &l, 1, 0)
					      : srtp_protect_rtcp(s->out, buf, &l);
	if (st != srtp_err_status_ok)
		return map_err(st);
	*len = (size_t)l;
	return 0;
}

int rg_srtp_unprotect_rtcp(rg_srtp *s, uint8_t *buf, size_t *len)
{
	if (!s || !buf || !len || *len < RTCP_HDR_MIN || *len > INT_MAX / 2)
		return -EINVAL;
	int l = (int)*len;
	srtp_err_status_t st = s->in_mki_len ? srtp_unprotect_rtcp_mki(s->in, buf, &l, 1)
					     : srtp_unprotect_rtcp(s->in, buf, &l);
	if (st != srtp_err_status_ok)
		return map_err(st);
	*len = (size_t)l;
	return 0;
}

/* Probe each suite once: can this libsrtp build (crypto backend) create a session for it? */
static bool supported[RG_SRTP_SUITE_COUNT];
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

static void probe(void)
{
	if (rg_srtp_init())
		return;
	for (int i = RG_SRTP_SUITE_NONE + 1; i < RG_SRTP_SUITE_COUNT; i++) {
		struct rg_srtp_master m;
		srtp_t t = NULL;
		memset(&m, 0x5a, sizeof(m));
		m.mki_len = 0;
		supported[i] = make_session(&t, &suites[i], &m, false) == 0;
		if (t)
			srtp_dealloc(t);
	}
}

bool rg_srtp_suite_supported(enum rg_srtp_suite s)
{
	if (s <= RG_SRTP_SUITE_NONE || s >= RG_SRTP_SUITE_COUNT)
		return false;
	pthread_once(&probe_once, probe);
	return supported[s];
}
