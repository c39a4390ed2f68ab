/* What fuzz_stun.c (the libFuzzer target) and gen_stun_seeds.c (its seed generator) agree on.
 *
 * An input is one flags octet, then datagrams, each prefixed by its length (2 octets, big endian;
 * a length past the end takes what is left), at most FZ_MAX_DGRAMS of them. Each datagram is sent
 * from the fuzzer's "peer" socket (127.0.0.1) to the agent's host candidate. */
#ifndef RG_FUZZ_STUN_H
#define RG_FUZZ_STUN_H

/* Fixed credentials (rg_ice_set_local_credentials), so that the seeds' MESSAGE-INTEGRITY holds. */
#define FZ_LOCAL_UFRAG "fzLU"
#define FZ_LOCAL_PWD "fuzzLocalPassword012345"
#define FZ_REMOTE_UFRAG "fzRU"
#define FZ_REMOTE_PWD "fuzzRemotePassword01234"
/* USERNAME of a request to the agent: <local ufrag>:<remote ufrag> (RFC 8445 7.2.2) */
#define FZ_USERNAME FZ_LOCAL_UFRAG ":" FZ_REMOTE_UFRAG

enum {
	FZ_CONTROLLING = 1 << 0,  /* agent controlling (full mode only) */
	FZ_LITE = 1 << 1,         /* agent in ICE-lite mode */
	FZ_PEER_CAND = 1 << 2,    /* the peer socket is a remote candidate (checks go to it) */
	FZ_FIXUP = 1 << 3,        /* recompute MESSAGE-INTEGRITY and FINGERPRINT where the datagram
	                           * has them (requests/indications with the local password, responses
	                           * with the remote one), and give responses the transaction ID of the
	                           * agent's last request to the peer: mutations then reach the code
	                           * behind the integrity check */
	FZ_TRICKLE = 1 << 4,      /* agent with trickle ICE */
	FZ_END_OF_CANDS = 1 << 5, /* a=end-of-candidates after the remote credentials */
	FZ_RUN_TIMERS = 3 << 6,   /* both bits: after the datagrams, run libnice's timers for 25 ms
	                           * (checks, triggered checks, nomination) and feed the same
	                           * datagrams again. Real time, so it costs: two bits keep it to a
	                           * quarter of the mutated inputs */
};

#define FZ_MAX_DGRAMS 16

#endif
