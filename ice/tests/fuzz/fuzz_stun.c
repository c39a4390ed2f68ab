/* libFuzzer target: STUN (and anything else) as rtpgate receives it on an ICE socket.
 *
 * rtpgate never parses STUN itself: libnice reads the agent's socket (when the worker's epoll set
 * reports it readable, rg_ice_io_ready()), validates and answers STUN (USERNAME, MESSAGE-INTEGRITY,
 * FINGERPRINT, role attributes, USE-CANDIDATE) and hands the rest to the receive callback. libnice
 * 0.1.21 has no entry point for a datagram read by someone else, so this target takes the path a
 * peer's packet takes: for each input a fresh rg_ice agent is made on 127.0.0.1 with fixed local
 * and remote credentials, every datagram of the input is sent to its host candidate from a "peer"
 * UDP socket over loopback, and the agent is driven exactly as the worker drives it
 * (rg_ice_io_ready, rg_ice_loop_before_wait/after_wait). What the agent sends back (responses, its
 * own checks) is read from the peer socket. The agent is retired and freed at the end of each
 * input, so LeakSanitizer sees every input's allocations come back.
 *
 * Input format and flags: fuzz_stun.h. Seeds: corpus/stun/, made by gen_stun_seeds.c with
 * libnice's STUN API. */
#include "rg_ice.h"
#include "fuzz_stun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the worker's side: which fd is which rg_ice_io ---- */

#define MAX_IOS 16
static struct { int fd; rg_ice_io *io; } ios[MAX_IOS];
static rg_ice_loop *loop;
static int peer_fd;
static struct sockaddr_in peer_sin;
static uint8_t last_req_txid[12];   /* of the agent's last request to the peer */
static bool have_req_txid;
static unsigned rx_data;

static int f_add(void *ctx, int fd, uint32_t events, rg_ice_io *io)
{
	for (int i = 0; i < MAX_IOS; i++)
		if (!ios[i].io) {
			ios[i].fd = fd;
			ios[i].io = io;
			return 0;
		}
	abort();
}

static void f_del(void *ctx, int fd, rg_ice_io *io)
{
	for (int i = 0; i < MAX_IOS; i++)
		if (ios[i].io == io)
			ios[i].io = NULL;
}

static const rg_ice_poll_ops f_ops = { f_add, f_del };

static void f_recv(rg_ice_agent *a, unsigned comp, const rg_ice_pkt *pkts, unsigned n, void *ud)
{
	for (unsigned i = 0; i < n; i++) {
		if (pkts[i].len > 2048)
			abort();   /* longer than the receive buffers */
		rx_data++;
	}
}

static void f_state(rg_ice_agent *a, unsigned comp, rg_ice_state st, void *ud)
{
	if (comp != 1 || (unsigned)st > RG_ICE_FAILED)
		abort();
}

static const rg_ice_callbacks f_cb = { f_recv, f_state };

/* One round of the worker loop without sleeping: readable fds, then due timers. */
static void worker_round(void)
{
	rg_ice_loop_before_wait(loop, 0);
	for (int i = 0; i < MAX_IOS; i++) {
		if (!ios[i].io)
			continue;
		struct pollfd p = { .fd = ios[i].fd, .events = POLLIN };
		if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN) && ios[i].io)
			rg_ice_io_ready(ios[i].io, EPOLLIN);
	}
	rg_ice_loop_after_wait(loop);
}

/* What the agent sent to the peer: remember the transaction ID of its last request. */
static void drain_peer(void)
{
	uint8_t buf[2048];
	ssize_t n;
	while ((n = recv(peer_fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
		if (n >= 20 && (buf[0] & 0xc0) == 0 && (((buf[0] & 0x01) << 1 | (buf[1] & 0x10) >> 4) == 0) &&
		    buf[4] == 0x21 && buf[5] == 0x12 && buf[6] == 0xa4 && buf[7] == 0x42) {
			memcpy(last_req_txid, buf + 8, 12);
			have_req_txid = true;
		}
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	loop = rg_ice_loop_new(&f_ops, NULL);
	rg_ice_loop_before_wait(loop, 0);   /* the context's wake-up fd */
	rg_ice_loop_after_wait(loop);
	peer_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	peer_sin.sin_family = AF_INET;
	peer_sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(peer_sin);
	if (peer_fd < 0 || bind(peer_fd, (struct sockaddr *)&peer_sin, sizeof(peer_sin)) < 0 ||
	    getsockname(peer_fd, (struct sockaddr *)&peer_sin, &sl) < 0)
		abort();
	return 0;
}

/* ---- MESSAGE-INTEGRITY / FINGERPRINT fix-up (RFC 5389 15.4, 15.5) ---- */

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
	static uint32_t table[256];
	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++)
		c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

static void put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Walks the attributes of a STUN-shaped datagram; recomputes MESSAGE-INTEGRITY (HMAC-SHA1 over
 * the message up to it, length field covering it) and FINGERPRINT (CRC-32 ^ 0x5354554e) in place.
 * Anything that is not STUN-shaped is left alone. */
static void fixup(uint8_t *m, size_t len)
{
	if (len < 20 || (m[0] & 0xc0) != 0)
		return;
	unsigned cls = (m[0] & 0x01) << 1 | (m[1] & 0x10) >> 4;   /* 0 req, 1 ind, 2 ok, 3 err */
	if (cls >= 2 && have_req_txid)
		memcpy(m + 8, last_req_txid, 12);
	const char *key = cls >= 2 ? FZ_REMOTE_PWD : FZ_LOCAL_PWD;
	size_t saved_len = (size_t)m[2] << 8 | m[3];
	size_t off = 20;
	while (off + 4 <= len) {
		unsigned type = (unsigned)m[off] << 8 | m[off + 1];
		size_t alen = (size_t)m[off + 2] << 8 | m[off + 3];
		size_t end = off + 4 + ((alen + 3) & ~(size_t)3);
		if (type == 0x0008 && alen == 20 && off + 24 <= len) {
			put16(m + 2, off + 24 - 20);
			uint8_t mac[20];
			gsize maclen = sizeof(mac);
			GHmac *h = g_hmac_new(G_CHECKSUM_SHA1, (const guchar *)key, strlen(key));
			g_hmac_update(h, m, off);
			g_hmac_get_digest(h, mac, &maclen);
			g_hmac_unref(h);
			memcpy(m + off + 4, mac, 20);
			put16(m + 2, saved_len);
		} else if (type == 0x8028 && alen == 4 && off + 8 <= len) {
			put16(m + 2, off + 8 - 20);
			uint32_t crc = crc32_ieee(m, off) ^ 0x5354554eu;
			m[off + 4] = (uint8_t)(crc >> 24);
			m[off + 5] = (uint8_t)(crc >> 16);
			m[off + 6] = (uint8_t)(crc >> 8);
			m[off + 7] = (uint8_t)crc;
			put16(m + 2, saved_len);
		}
		if (end <= off)
			break;
		off = end;
	}
}

/* ---- one input ---- */

static void feed(int afd_port, const uint8_t *data, size_t size, unsigned flags)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons((uint16_t)afd_port) };
	static uint8_t buf[65536];
	size_t off = 0;
	for (unsigned n = 0; n < FZ_MAX_DGRAMS && off + 2 <= size; n++) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (len > size - off)
			len = size - off;
		memcpy(buf, data + off, len);
		off += len;
		if (flags & FZ_FIXUP)
			fixup(buf, len);
		if (sendto(peer_fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0 && errno != EMSGSIZE)
			abort();
		worker_round();
		drain_peer();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned flags = data[0];
	data++;
	size--;
	have_req_txid = false;
	rx_data = 0;

	rg_ice_cfg cfg = {
		.mode = (flags & FZ_LITE) ? RG_ICE_LITE : RG_ICE_FULL,
		.controlling = (flags & FZ_CONTROLLING) != 0,
		.bind_addr = "127.0.0.1",
		.components = 1,
		.trickle = (flags & FZ_TRICKLE) != 0,
	};
	char *err = NULL;
	rg_ice_agent *a = rg_ice_agent_new(loop, &cfg, &f_cb, NULL, &err);
	if (!a || rg_ice_gather(a, &err) < 0)
		abort();
	if (rg_ice_set_local_credentials(a, FZ_LOCAL_UFRAG, FZ_LOCAL_PWD) < 0 ||
	    rg_ice_set_remote_credentials(a, FZ_REMOTE_UFRAG, FZ_REMOTE_PWD) != 0)
		abort();
	if (flags & FZ_PEER_CAND) {
		char cand[96];
		snprintf(cand, sizeof(cand), "candidate:1 1 UDP 2130706431 127.0.0.1 %u typ host",
			 ntohs(peer_sin.sin_port));
		if (rg_ice_add_remote_candidate(a, cand) != 1)
			abort();
	}
	if (flags & FZ_END_OF_CANDS)
		rg_ice_end_of_candidates(a);

	int afd;
	if (rg_ice_fds(a, &afd, 1) != 1)
		abort();
	struct sockaddr_in asin;
	socklen_t sl = sizeof(asin);
	if (getsockname(afd, (struct sockaddr *)&asin, &sl) < 0)
		abort();

	drain_peer();
	feed(ntohs(asin.sin_port), data, size, flags);
	if ((flags & FZ_RUN_TIMERS) == FZ_RUN_TIMERS) {
		/* libnice paces checks at 20 ms: let its timers send a check (or a triggered check) to
		 * the peer, then the same datagrams again, responses now answering that check */
		gint64 end = g_get_monotonic_time() + 25000;
		bool had_txid = have_req_txid;
		have_req_txid = false;   /* until a new request goes out */
		while (g_get_monotonic_time() < end && !have_req_txid) {
			struct pollfd p = { .fd = afd, .events = POLLIN };
			int t = rg_ice_loop_before_wait(loop, 5);
			poll(&p, 1, t);
			if (p.revents & POLLIN)
				for (int i = 0; i < MAX_IOS; i++)
					if (ios[i].io && ios[i].fd == afd)
						rg_ice_io_ready(ios[i].io, EPOLLIN);
			rg_ice_loop_after_wait(loop);
			drain_peer();
		}
		have_req_txid |= had_txid;   /* last_req_txid is the newest either way */
		feed(ntohs(asin.sin_port), data, size, flags);
	}
	/* a state, and (once selected) a send on the pair, must work whatever came in */
	if ((unsigned)rg_ice_get_state(a, 1) > RG_ICE_FAILED)
		abort();
	if (rg_ice_get_state(a, 1) == RG_ICE_READY) {
		uint8_t rtp[12] = { 0x80 };
		struct iovec v = { rtp, sizeof(rtp) };
		rg_ice_send(a, 1, &v, 1);
	}
	rg_ice_agent_retire(a);
	rg_ice_loop_before_wait(loop, 0);   /* frees it */
	rg_ice_loop_after_wait(loop);
	drain_peer();
	return 0;
}
