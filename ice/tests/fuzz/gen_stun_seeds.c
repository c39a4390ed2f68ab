/* Writes the seed corpus of fuzz_stun (corpus/stun/) with libnice's own STUN API
 * (stun/stunagent.h, stun/usages/ice.h): Binding requests as a browser sends them to rtpgate,
 * with the right and wrong credentials, with and without USE-CANDIDATE, ICE-CONTROLLING or
 * ICE-CONTROLLED, keepalive indications, responses, and datagrams that are not STUN.
 *
 *   gen_stun_seeds DIR        (built with -Dfuzzers=true next to fuzz_stun)
 *
 * Transaction IDs come from libnice's random generator, so the files differ from run to run; the
 * checked-in seeds were made once with this program. */
#include "fuzz_stun.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stun/stunagent.h>
#include <stun/usages/ice.h>

static const uint16_t known_attrs[] = {
	STUN_ATTRIBUTE_USERNAME, STUN_ATTRIBUTE_MESSAGE_INTEGRITY, STUN_ATTRIBUTE_FINGERPRINT,
	STUN_ATTRIBUTE_PRIORITY, STUN_ATTRIBUTE_USE_CANDIDATE, STUN_ATTRIBUTE_ICE_CONTROLLED,
	STUN_ATTRIBUTE_ICE_CONTROLLING, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, STUN_ATTRIBUTE_ERROR_CODE, 0
};

static StunAgent agent;

/* an input being built: flags octet, then length-prefixed datagrams */
typedef struct seed {
	uint8_t b[8192];
	size_t len;
} seed;

static void seed_init(seed *s, unsigned flags)
{
	s->b[0] = (uint8_t)flags;
	s->len = 1;
}

static void seed_add(seed *s, const uint8_t *d, size_t len)
{
	if (s->len + 2 + len > sizeof(s->b))
		abort();
	s->b[s->len] = (uint8_t)(len >> 8);
	s->b[s->len + 1] = (uint8_t)len;
	memcpy(s->b + s->len + 2, d, len);
	s->len += 2 + len;
}

static const char *outdir;

static void seed_write(const seed *s, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(s->b, 1, s->len, f) != s->len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* A connectivity check from the peer (RFC 8445 7.1.1), keyed with pwd. */
static size_t check(uint8_t *buf, size_t cap, StunMessage *msg, const char *username, const char *pwd,
		    bool use_candidate, bool controlling)
{
	size_t n = stun_usage_ice_conncheck_create(&agent, msg, buf, cap, (const uint8_t *)username,
						   strlen(username), (const uint8_t *)pwd, strlen(pwd),
						   use_candidate, controlling, 0x6e7f1effu,
						   0x0123456789abcdefULL, NULL,
						   STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
	if (!n)
		abort();
	return n;
}

static void one_check(const char *name, unsigned flags, const char *username, const char *pwd,
		      bool use_candidate, bool controlling)
{
	uint8_t buf[1280];
	StunMessage msg;
	seed s;
	seed_init(&s, flags);
	seed_add(&s, buf, check(buf, sizeof(buf), &msg, username, pwd, use_candidate, controlling));
	seed_write(&s, name);
}

/* A success response to a check the agent sent (transaction ID patched by FZ_FIXUP), with the
 * peer's XOR-MAPPED-ADDRESS, keyed with the remote password. */
static size_t response(uint8_t *buf, size_t cap, bool error)
{
	uint8_t rbuf[1280];
	StunMessage req, resp;
	/* a request of the agent's kind (towards the peer) to answer */
	check(rbuf, sizeof(rbuf), &req, FZ_REMOTE_UFRAG ":" FZ_LOCAL_UFRAG, FZ_REMOTE_PWD, false, false);
	if (error) {
		if (!stun_agent_init_error(&agent, &resp, buf, cap, &req, STUN_ERROR_ROLE_CONFLICT))
			abort();
	} else {
		if (!stun_agent_init_response(&agent, &resp, buf, cap, &req))
			abort();
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(40000),
					   .sin_addr.s_addr = htonl(0x7f000001) };
		if (stun_message_append_xor_addr(&resp, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS,
						 (struct sockaddr_storage *)&sin, sizeof(sin)) != STUN_MESSAGE_RETURN_SUCCESS)
			abort();
	}
	size_t n = stun_agent_finish_message(&agent, &resp, (const uint8_t *)FZ_REMOTE_PWD, strlen(FZ_REMOTE_PWD));
	if (!n)
		abort();
	return n;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	stun_agent_init(&agent, known_attrs, STUN_COMPATIBILITY_RFC5389,
			STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);

	/* the browser (controlling) checks our controlled full agent */
	one_check("req-good-controlling", FZ_PEER_CAND, FZ_USERNAME, FZ_LOCAL_PWD, false, true);
	one_check("req-good-use-candidate", FZ_PEER_CAND, FZ_USERNAME, FZ_LOCAL_PWD, true, true);
	one_check("req-good-no-peer-cand", 0, FZ_USERNAME, FZ_LOCAL_PWD, true, true);
	one_check("req-good-lite", FZ_LITE, FZ_USERNAME, FZ_LOCAL_PWD, true, true);
	one_check("req-good-trickle-eoc", FZ_TRICKLE | FZ_END_OF_CANDS, FZ_USERNAME, FZ_LOCAL_PWD, true, true);
	/* role conflicts: controlled meets controlled, controlling meets controlling */
	one_check("req-conflict-controlled", FZ_PEER_CAND, FZ_USERNAME, FZ_LOCAL_PWD, false, false);
	one_check("req-conflict-controlling", FZ_PEER_CAND | FZ_CONTROLLING, FZ_USERNAME, FZ_LOCAL_PWD, true, true);
	/* the peer is controlled (we offered, it answered) */
	one_check("req-good-controlled", FZ_PEER_CAND | FZ_CONTROLLING, FZ_USERNAME, FZ_LOCAL_PWD, false, false);
	/* wrong credentials */
	one_check("req-wrong-pwd", FZ_PEER_CAND, FZ_USERNAME, "notTheRightPassword0000", true, true);
	one_check("req-remote-pwd", FZ_PEER_CAND, FZ_USERNAME, FZ_REMOTE_PWD, true, true);
	one_check("req-wrong-ufrag", FZ_PEER_CAND, "zzzz:" FZ_REMOTE_UFRAG, FZ_LOCAL_PWD, true, true);
	one_check("req-ufrag-prefix", FZ_PEER_CAND, FZ_LOCAL_UFRAG "X:" FZ_REMOTE_UFRAG, FZ_LOCAL_PWD, true, true);
	one_check("req-swapped-username", FZ_PEER_CAND, FZ_REMOTE_UFRAG ":" FZ_LOCAL_UFRAG, FZ_LOCAL_PWD, true, true);
	/* wrong credentials, but FZ_FIXUP re-keys with the right password */
	one_check("req-fixup", FZ_PEER_CAND | FZ_FIXUP, FZ_USERNAME, "notTheRightPassword0000", true, true);

	uint8_t buf[1280], buf2[1280];
	StunMessage msg;
	seed s;

	/* corrupted: a bit of MESSAGE-INTEGRITY, of FINGERPRINT; truncated */
	size_t n = check(buf, sizeof(buf), &msg, FZ_USERNAME, FZ_LOCAL_PWD, true, true);
	memcpy(buf2, buf, n);
	buf2[n - 8 - 24 + 4] ^= 0x01;   /* MI value: 24 + 8 (FINGERPRINT) octets from the end */
	seed_init(&s, FZ_PEER_CAND);
	seed_add(&s, buf2, n);
	seed_write(&s, "req-bad-integrity");
	memcpy(buf2, buf, n);
	buf2[n - 1] ^= 0x80;
	seed_init(&s, FZ_PEER_CAND);
	seed_add(&s, buf2, n);
	seed_write(&s, "req-bad-fingerprint");
	seed_init(&s, FZ_PEER_CAND);
	seed_add(&s, buf, n - 8);
	seed_write(&s, "req-truncated");

	/* a good check, then what a browser sends next: media-looking datagrams (DTLS, RTP) */
	seed_init(&s, FZ_PEER_CAND);
	seed_add(&s, buf, n);
	static const uint8_t dtls[] = { 22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x01 };
	static const uint8_t rtp[] = { 0x80, 0x6f, 0, 1, 0, 0, 0, 160, 0x11, 0x22, 0x33, 0x44, 0xde, 0xad };
	seed_add(&s, dtls, sizeof(dtls));
	seed_add(&s, rtp, sizeof(rtp));
	seed_write(&s, "req-then-data");

	/* a keepalive (Binding indication, RFC 8445 11) */
	if (!stun_agent_init_indication(&agent, &msg, buf2, sizeof(buf2), STUN_BINDING))
		abort();
	size_t m = stun_agent_finish_message(&agent, &msg, NULL, 0);
	seed_init(&s, FZ_PEER_CAND);
	seed_add(&s, buf, n);
	seed_add(&s, buf2, m);
	seed_write(&s, "indication");

	/* our agent checks the peer (controlling, peer candidate known); the peer answers: with
	 * FZ_RUN_TIMERS the agent's checks go out first and FZ_FIXUP gives the responses their IDs */
	seed_init(&s, FZ_PEER_CAND | FZ_CONTROLLING | FZ_FIXUP | FZ_RUN_TIMERS);
	seed_add(&s, buf2, response(buf2, sizeof(buf2), false));
	seed_write(&s, "response-success");
	seed_init(&s, FZ_PEER_CAND | FZ_FIXUP | FZ_RUN_TIMERS);
	seed_add(&s, buf, n);
	seed_add(&s, buf2, response(buf2, sizeof(buf2), false));
	seed_write(&s, "check-and-response");
	seed_init(&s, FZ_PEER_CAND | FZ_CONTROLLING | FZ_FIXUP | FZ_RUN_TIMERS);
	seed_add(&s, buf2, response(buf2, sizeof(buf2), true));
	seed_write(&s, "response-role-conflict");

	/* not STUN at all: first octet in each RFC 7983 range */
	seed_init(&s, FZ_PEER_CAND);
	static const uint8_t junk[][8] = { { 0x00, 0x01, 0, 0 }, { 17, 1, 2, 3 }, { 64, 0 }, { 200, 1 } };
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		seed_add(&s, junk[i], sizeof(junk[i]));
	seed_write(&s, "junk");
	return 0;
}
