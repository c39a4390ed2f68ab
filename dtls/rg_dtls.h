/* rg_dtls.h: DTLS-SRTP (RFC 5763/5764) and SRTP/SRTCP (RFC 3711, libsrtp2) for rtpgate.
 *
 * A self-contained static library (rgdtls): it knows nothing of the gateway, opens no socket and
 * reads no clock but CLOCK_MONOTONIC. The caller moves datagrams and drives the timers.
 *
 * Conventions: functions returning int return 0 or a negative errno and write their
 * out-parameters only on success. Objects are not locked: one thread at a time per object (the
 * certificate is read-only after creation and may be shared by all threads). Key material is
 * wiped (OPENSSL_cleanse) when the object holding it is freed and is never logged.
 */
#ifndef RG_DTLS_H
#define RG_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------------------------------
 * Demultiplexing of one UDP port (RFC 7983 section 7, first byte of the datagram)
 * ------------------------------------------------------------------------------------------ */

enum rg_demux_class {
	RG_DEMUX_UNKNOWN = 0, /* anything else: drop */
	RG_DEMUX_STUN,        /* 0..3 */
	RG_DEMUX_ZRTP,        /* 16..19 */
	RG_DEMUX_DTLS,        /* 20..63 */
	RG_DEMUX_TURN_CHANNEL, /* 64..79 */
	RG_DEMUX_RTP,         /* 128..191: RTP or RTCP, see rg_demux_is_rtcp() */
};

enum rg_demux_class rg_demux_classify(const uint8_t *p, size_t len);
const char *rg_demux_name(enum rg_demux_class c);
/* true if p classifies as DTLS (first byte 20..63) */
bool rg_dtls_is_dtls(const uint8_t *p, size_t len);
/* For an RG_DEMUX_RTP packet on an rtcp-mux port: true if RTCP (RFC 5761 section 4: the second
 * octet, read as an RTP marker + payload type, has a payload type in 64..95). */
bool rg_demux_is_rtcp(const uint8_t *p, size_t len);

/* ---------------------------------------------------------------------------------------------
 * SRTP crypto suites, shared by DTLS-SRTP (RFC 5764 / 7714 profiles) and SDES (RFC 4568 names)
 * ------------------------------------------------------------------------------------------ */

enum rg_srtp_suite {
	RG_SRTP_SUITE_NONE = 0,
	RG_SRTP_AES_CM_128_HMAC_SHA1_80,
	RG_SRTP_AES_CM_128_HMAC_SHA1_32,
	RG_SRTP_AEAD_AES_128_GCM,
	RG_SRTP_AEAD_AES_256_GCM,
	RG_SRTP_AES_256_CM_HMAC_SHA1_80, /* RFC 6188, SDES only (no DTLS-SRTP profile) */
	RG_SRTP_AES_256_CM_HMAC_SHA1_32, /* RFC 6188, SDES only */
	RG_SRTP_SUITE_COUNT
};

/* Static description of one suite (a row of a const table: owned by the library, never freed). */
struct rg_srtp_suite_info {
	enum rg_srtp_suite suite;
	const char *sdes_name;  /* RFC 4568 / 6188 / 7714 a=crypto name */
	const char *dtls_name;  /* OpenSSL use_srtp profile name, NULL if none */
	uint16_t dtls_id;       /* RFC 5764 section 4.1.2 / RFC 7714 section 14.2 id, 0 if none */
	uint8_t key_len;        /* master key, octets */
	uint8_t salt_len;       /* master salt, octets */
	uint8_t rtp_tag_len;    /* SRTP auth tag, octets */
	uint8_t rtcp_tag_len;   /* SRTCP auth tag, octets (80 bits even for _32 suites) */
};

/* NULL for RG_SRTP_SUITE_NONE or an out-of-range value */
const struct rg_srtp_suite_info *rg_srtp_suite_info(enum rg_srtp_suite s);
/* look up by SDES name (exact, case-sensitive as in RFC 4568), or NULL */
const struct rg_srtp_suite_info *rg_srtp_suite_by_sdes_name(const char *name, size_t len);
/* true if the libsrtp2 we link can run the suite (all six with Debian 12's libsrtp2 2.5) */
bool rg_srtp_suite_supported(enum rg_srtp_suite s);

#define RG_SRTP_MAX_KEY_LEN  32
#define RG_SRTP_MAX_SALT_LEN 14
#define RG_SRTP_MAX_MKI_LEN  4 /* we carry MKI values as uint32 */

/* One master key + salt (+ optional MKI), the key of one direction. Plain value type. */
struct rg_srtp_master {
	uint8_t key[RG_SRTP_MAX_KEY_LEN];
	uint8_t salt[RG_SRTP_MAX_SALT_LEN];
	uint8_t mki_len; /* 0: no MKI in packets */
	uint32_t mki;
};

/* The keys of an SRTP session: for DTLS-SRTP the client's and the server's write keys (RFC 5764
 * section 4.2); for SDES client = local (our a=crypto), server = remote (theirs), see
 * rg_sdes_keys(). A plain value: whoever holds one wipes it with rg_srtp_keys_wipe(). */
typedef struct rg_srtp_keys {
	enum rg_srtp_suite suite;
	struct rg_srtp_master client;
	struct rg_srtp_master server;
} rg_srtp_keys;

void rg_srtp_keys_wipe(rg_srtp_keys *k);

/* ---------------------------------------------------------------------------------------------
 * SRTP/SRTCP sessions over libsrtp2
 * ------------------------------------------------------------------------------------------ */

/* Inbound + outbound SRTP contexts of one media stream (ssrc_any_inbound / ssrc_any_outbound,
 * libsrtp replay window). Owned by the caller (the gateway's stream), freed by rg_srtp_free(),
 * which wipes the keys. */
typedef struct rg_srtp rg_srtp;

/* Idempotent and thread-safe srtp_init(); rg_srtp_new() calls it. */
int rg_srtp_init(void);

/* is_client picks the local half: true = we send with keys->client and receive with
 * keys->server. -EINVAL bad suite/keys, -ENOTSUP suite not in libsrtp, -ENOMEM. */
int rg_srtp_new(rg_srtp **out, const rg_srtp_keys *keys, bool is_client);
void rg_srtp_free(rg_srtp *s);

/* In place. protect: *len in = RTP/RTCP packet, out = SRTP/SRTCP packet; cap = buffer size.
 * unprotect: the reverse. Errors: -EBADMSG authentication failed, -EALREADY replayed or too old,
 * -ENOSPC cap too small for the trailer, -EINVAL not a valid packet, -EKEYEXPIRED key lifetime
 * exhausted, -EIO other libsrtp failure. After a failed unprotect the buffer content is
 * unspecified (AEAD suites decrypt in place before the tag check fails): drop the packet. */
int rg_srtp_protect_rtp(rg_srtp *s, uint8_t *buf, size_t *len, size_t cap);
int rg_srtp_unprotect_rtp(rg_srtp *s, uint8_t *buf, size_t *len);
int rg_srtp_protect_rtcp(rg_srtp *s, uint8_t *buf, size_t *len, size_t cap);
int rg_srtp_unprotect_rtcp(rg_srtp *s, uint8_t *buf, size_t *len);

/* Octets protect adds at most (tag + MKI, + 4 for the SRTCP E|index word). */
size_t rg_srtp_rtp_overhead(const rg_srtp *s);
size_t rg_srtp_rtcp_overhead(const rg_srtp *s);

/* ---------------------------------------------------------------------------------------------
 * SDES: a=crypto (RFC 4568)
 * ------------------------------------------------------------------------------------------ */

/* One parsed or generated a=crypto value. Plain value type holding key material: wipe with
 * rg_sdes_crypto_wipe(). */
typedef struct rg_sdes_crypto {
	unsigned tag;              /* 1..999999999 */
	enum rg_srtp_suite suite;
	struct rg_srtp_master key; /* key, salt, MKI */
	uint64_t lifetime;         /* packets; 0 = not given */
} rg_sdes_crypto;

/* value: the a=crypto attribute value, e.g.
 *   "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4"
 * -EINVAL malformed, -ENOTSUP unknown suite, several keys, or a session parameter we do not
 * implement (UNENCRYPTED_SRTP, KDR, ...); session parameters starting with '-' are ignored. */
int rg_sdes_parse(const char *value, size_t len, rg_sdes_crypto *out);
/* Fresh random key + salt for suite (RAND_bytes), no lifetime, no MKI. */
int rg_sdes_generate(rg_sdes_crypto *out, unsigned tag, enum rg_srtp_suite suite);
/* Writes the attribute value (NUL-terminated) to buf; -ENOSPC if it does not fit. */
int rg_sdes_format(const rg_sdes_crypto *c, char *buf, size_t len);
/* Session keys from our a=crypto (local, used to send) and the peer's (remote, used to
 * receive): rg_srtp_new(&s, &keys, true). -EINVAL if the suites differ. */
int rg_sdes_keys(rg_srtp_keys *out, const rg_sdes_crypto *local, const rg_sdes_crypto *remote);
void rg_sdes_crypto_wipe(rg_sdes_crypto *c);

/* ---------------------------------------------------------------------------------------------
 * DTLS certificate: one per process, self-signed, fingerprint in SDP (RFC 8122)
 * ------------------------------------------------------------------------------------------ */

enum rg_dtls_cert_kind {
	RG_DTLS_CERT_ECDSA_P256 = 0, /* default */
	RG_DTLS_CERT_RSA_2048 = 1,
};

/* Certificate, key and the SSL_CTX built on them. Owned by the caller (the gateway creates one
 * at start-up), freed by rg_dtls_cert_free(). Endpoints take their own reference to the
 * OpenSSL objects, so the cert may be freed while endpoints made with it still live. */
typedef struct rg_dtls_cert rg_dtls_cert;

/* kind: enum rg_dtls_cert_kind. 30 days valid (from one day back, for clock skew), random CN. */
int rg_dtls_cert_new(rg_dtls_cert **out, int kind);
void rg_dtls_cert_free(rg_dtls_cert *c);

/* Longest fingerprint text: sha-512, 64 octets as "XX:" .. "XX" + NUL */
#define RG_DTLS_FP_MAX 192

/* algo: "sha-1", "sha-224", "sha-256", "sha-384" or "sha-512" (case-insensitive). Writes the
 * a=fingerprint value, uppercase hex octets separated by ':' (RFC 8122 section 5).
 * -ENOTSUP unknown algo, -ENOSPC buffer too small. */
int rg_dtls_cert_fingerprint(const rg_dtls_cert *c, const char *algo, char *buf, size_t len);

/* ---------------------------------------------------------------------------------------------
 * a=setup (RFC 4145 section 4, RFC 8842 section 5)
 * ------------------------------------------------------------------------------------------ */

enum rg_dtls_setup {
	RG_DTLS_SETUP_ACTPASS = 0,
	RG_DTLS_SETUP_ACTIVE,
	RG_DTLS_SETUP_PASSIVE,
	RG_DTLS_SETUP_HOLDCONN,
};

int rg_dtls_setup_parse(const char *s, size_t len, enum rg_dtls_setup *out);
const char *rg_dtls_setup_name(enum rg_dtls_setup s);

/* ---------------------------------------------------------------------------------------------
 * DTLS-SRTP endpoint (RFC 5764), driven by the caller through memory I/O
 * ------------------------------------------------------------------------------------------ */

enum rg_dtls_role {
	RG_DTLS_ROLE_UNSET = 0, /* not known yet (we offered actpass and await the answer) */
	RG_DTLS_ACTIVE,         /* DTLS client */
	RG_DTLS_PASSIVE,        /* DTLS server */
};

/* Our role from the peer's a=setup: peer active -> PASSIVE, peer passive -> ACTIVE, peer actpass
 * (we answer) -> ACTIVE (RFC 5763 section 5 recommends the answerer be active).
 * -EINVAL for holdconn. */
int rg_dtls_role_from_peer_setup(enum rg_dtls_setup peer, enum rg_dtls_role *out);
const char *rg_dtls_role_name(enum rg_dtls_role r);

enum rg_dtls_state {
	RG_DTLS_CONNECTING = 0, /* handshake not done (or done, waiting for the peer fingerprint) */
	RG_DTLS_CONNECTED,      /* handshake done, peer certificate verified, keys exportable */
	RG_DTLS_FAILED,         /* terminal; rg_dtls_state() gives the reason */
	RG_DTLS_CLOSED,         /* the peer sent close_notify (after CONNECTED); terminal */
};

const char *rg_dtls_state_name(enum rg_dtls_state s);

/* Called synchronously, from inside rg_dtls_start/input/set_role/handle_timeout/close, with
 * one datagram to send to the peer. buf is valid only during the call. */
typedef void (*rg_dtls_send_h)(void *arg, const uint8_t *buf, size_t len);

/* One DTLS association. Owned by the caller (the gateway's media stream), freed by
 * rg_dtls_free(). Holds an OpenSSL SSL* (its own reference to the cert's SSL_CTX), the peer
 * fingerprint and up to RG_DTLS_EARLY_MAX datagrams received before the role was set. */
typedef struct rg_dtls rg_dtls;

#define RG_DTLS_MTU 1200       /* largest datagram we send */
#define RG_DTLS_EARLY_MAX 8    /* datagrams kept while the role is unset */
#define RG_DTLS_DEFAULT_RTO_MS 1000        /* RFC 6347 section 4.2.4.1 initial timer */
#define RG_DTLS_DEFAULT_HANDSHAKE_MS 30000 /* whole handshake, then FAILED */

/* role may be RG_DTLS_ROLE_UNSET; peer_fp_algo/peer_fp may be NULL (set later). send is
 * required. -EINVAL bad argument or fingerprint, -ENOTSUP hash, -ENOMEM, -EIO OpenSSL. */
int rg_dtls_new(rg_dtls **out, rg_dtls_cert *cert, enum rg_dtls_role role,
		const char *peer_fp_algo, const char *peer_fp, rg_dtls_send_h send, void *arg);
void rg_dtls_free(rg_dtls *d);

/* The peer's a=fingerprint. If the handshake already finished and was waiting for it, the peer
 * certificate is checked now: -EKEYREJECTED and FAILED on mismatch. Setting a different
 * fingerprint on a CONNECTED association also fails it (under RFC 8842 a changed certificate
 * comes with a new DTLS association: make a new rg_dtls). */
int rg_dtls_set_peer_fingerprint(rg_dtls *d, const char *algo, const char *fp);

/* Fix the role once known. Setting PASSIVE feeds the datagrams that arrived while unset (a
 * ClientHello sent by an answerer before its answer reached us, RFC 5763 section 6.2).
 * -EALREADY if a different role is already fixed and the handshake has begun. */
int rg_dtls_set_role(rg_dtls *d, enum rg_dtls_role role);
enum rg_dtls_role rg_dtls_get_role(const rg_dtls *d);

/* Optional, before the handshake begins. Colon-separated OpenSSL profile names from
 * SRTP_AEAD_AES_128_GCM, SRTP_AEAD_AES_256_GCM, SRTP_AES128_CM_SHA1_80, SRTP_AES128_CM_SHA1_32
 * in preference order (default: that order). -EINVAL unknown name, -EALREADY too late. */
int rg_dtls_set_srtp_profiles(rg_dtls *d, const char *profiles);
/* Optional, before rg_dtls_start(): initial retransmission timeout (doubling up to 60 s, RFC
 * 6347 section 4.2.4.1) and overall handshake deadline, in ms; 0 keeps the default. */
int rg_dtls_set_timeouts(rg_dtls *d, unsigned initial_rto_ms, unsigned handshake_ms);

/* Begin: ACTIVE sends the first flight (ClientHello); PASSIVE waits for one. Both arm the
 * handshake deadline (also armed by the first datagram a PASSIVE endpoint takes in).
 * -EINVAL if the role is unset, -EALREADY if already started, -EPROTO if it failed. */
int rg_dtls_start(rg_dtls *d);

/* Feed one received datagram (demultiplexed as DTLS). May call send. Returns 0 when taken
 * (invalid records are dropped silently, RFC 6347 section 4.1.2.7), -EPROTO if the association
 * is or has just become FAILED or CLOSED, -ENOBUFS if the role is unset and the early queue is
 * full (datagram dropped), -EINVAL bad argument. */
int rg_dtls_input(rg_dtls *d, const uint8_t *pkt, size_t len);

/* Milliseconds until rg_dtls_handle_timeout() must be called (0 = now), -1 if no timer runs.
 * Covers both the retransmission timer and the overall handshake deadline. */
int rg_dtls_timeout_ms(const rg_dtls *d);
/* Retransmit the last flight if its timer expired (DTLSv1_handle_timeout); fail the association
 * when the handshake deadline passed. 0, or -EPROTO if now FAILED. */
int rg_dtls_handle_timeout(rg_dtls *d);

/* State and, for FAILED/CLOSED (or a CONNECTING that waits for the fingerprint), a static or
 * per-object reason text (valid until the next call on d); reason may be NULL. */
enum rg_dtls_state rg_dtls_state(const rg_dtls *d, const char **reason);

/* Keys per RFC 5764 section 4.2 (exporter label "EXTRACTOR-dtls_srtp"), suite = negotiated
 * profile. -EAGAIN unless CONNECTED. Wipe *out with rg_srtp_keys_wipe() when done. */
int rg_dtls_srtp_keys(const rg_dtls *d, rg_srtp_keys *out);
/* rg_srtp_new() argument for this endpoint: true if we are the DTLS client. */
bool rg_dtls_is_client(const rg_dtls *d);

/* Send close_notify (may call send). 0, or -ENOTCONN if not CONNECTED. State becomes CLOSED. */
int rg_dtls_close(rg_dtls *d);

/* Counters of one rg_dtls, for the gateway's per-stream stats (a drop counter for every rejected
 * datagram). Plain value, copied out by rg_dtls_get_stats(). */
struct rg_dtls_stats {
	uint64_t rx_datagrams;   /* handed to rg_dtls_input */
	uint64_t tx_datagrams;   /* given to the send callback */
	uint64_t early_dropped;  /* role unset and the early queue full */
	uint64_t dead_dropped;   /* arrived after FAILED/CLOSED */
	uint64_t retransmits;    /* timer expiries that resent a flight */
	uint64_t app_data_dropped; /* DTLS application data reads (we carry none) */
};
void rg_dtls_get_stats(const rg_dtls *d, struct rg_dtls_stats *out);

#endif
