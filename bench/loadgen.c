/*
 * rg-loadgen: plain-RTP relay load generator for rtpengine-compatible
 * daemons (rtpengine, rtpgate), driven over the NG control protocol.
 *
 *   1. sets up N calls over NG (offer from a "caller" socket, answer from a
 *      "callee" socket, both on 127.0.0.1, PCMU/8000 RTP/AVP), paced;
 *   2. sends RTP (12-byte header + 160-byte payload, 50 pkt/s per direction
 *      per call by default) to the gateway ports taken from the SDP replies,
 *      spread evenly over small ticks, and receives the relayed packets on
 *      the opposite side's socket;
 *   3. reports loss per direction, latency (recv - send, CLOCK_MONOTONIC,
 *      timestamp carried in the payload; also kernel receive timestamps,
 *      SO_TIMESTAMPNS, which leave out the receiver thread's wake-up), the
 *      gateway's CPU time per relayed packet (/proc/PID/stat), its RSS growth
 *      per call (/proc/PID/status), and how busy the machine was otherwise;
 *   4. deletes all calls.
 *
 * --baseline skips NG and sends each side's packets straight to the other
 * side's socket: same pacing, same sockets, no gateway.  The difference in
 * latency between a gateway run and a baseline run is the gateway's.
 *
 * --srtp makes the caller an SDES-SRTP endpoint (RTP/SAVP, one a=crypto line,
 * AES_CM_128_HMAC_SHA1_80, RFC 4568) and keeps the callee plain RTP/AVP: the
 * offer carries transport-protocol RTP/AVP, so the gateway decrypts toward the
 * callee and encrypts toward the caller with the key of its answer's a=crypto.
 * The caller protects with its own key and unprotects with the gateway's
 * (libsrtp2); the receiver checks call, side and packet number after
 * unprotect, so a packet the gateway did not really decrypt or encrypt counts
 * as bad (or srtp_fail), never as received.  --srtp --baseline does the same
 * crypto work per packet without a gateway: the caller protects, the callee
 * unprotects with the caller's key, the callee's packets stay plain.
 *
 * --transcode: the caller offers Opus only (a=rtpmap:111 opus/48000/2) and the offer asks for
 * codec-strip-all codec-transcode-PCMU, so the callee is offered PCMU only and answers PCMU; the
 * gateway transcodes both ways.  The caller sends real Opus frames (a few seconds of a
 * speech-like signal encoded once with libopus at start, replayed), the callee sends PCMU of the
 * same signal.  No probe survives transcoding, so the receiver checks payload type and size
 * (callee: PT 0, 160 octets; caller: PT 111, a 20 ms Opus packet) and counts; latency matches
 * the k-th packet the gateway sent to a side (by the gateway's own RTP sequence number,
 * relative to its first one, so a lost packet does not shift the match) with the k-th packet
 * the other side sent.  --codec-bench S: no network, times bare libopus + G.711 at the settings
 * rtpgate uses for Opus<->PCMU (see codec_bench()).
 *
 * Threads: the main thread does NG and the paced sending; one receiver
 * thread does epoll + recvmmsg over all sockets.
 *
 * Output: one line "RESULT key=value ..." (fixed key order), plus a JSON
 * object with the same keys when --json is given.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <opus.h>
#include <srtp2/srtp.h>
#ifdef LOADGEN_NSS
#include <nss.h>
#endif

#define RTP_HDR_LEN 12
#define RTP_PAYLOAD_LEN 160
#define RTP_PKT_LEN (RTP_HDR_LEN + RTP_PAYLOAD_LEN)
#define PROBE_MAGIC 0x52474c47u /* "RGLG" */
#define RECV_BATCH 32
#define SEND_BATCH 64
/* latency histogram: 250 ns buckets up to 50 ms, then 100 us buckets up to 30 s */
#define HIST_FINE_NS 250ULL
#define HIST_FINE_N 200000ULL
#define HIST_COARSE_NS 100000ULL
#define HIST_COARSE_N 299500ULL
#define HIST_FINE_END (HIST_FINE_NS * HIST_FINE_N)
#define HIST_BUCKETS (HIST_FINE_N + HIST_COARSE_N)
#define NG_BUF 65536

/* ------------------------------------------------------------------ */
/* options                                                             */

static struct {
	char ng_host[64];
	int ng_port;
	int calls;
	double duration;
	double warmup;
	int pps;
	int pid;
	double setup_rate;
	int base_port;
	int tick_us;
	double drain;
	int max_lag_ms;
	int rx_coalesce_us;
	bool baseline;
	bool srtp;
	bool transcode;
	double codec_bench;
	double codec_bench_pps;
	bool nss_space;
	bool json;
	bool ping_only;
	bool verbose;
	char label[64];
} opt = {
	.ng_host = "127.0.0.1",
	.ng_port = 0,
	.calls = 50,
	.duration = 20,
	.warmup = 1,
	.pps = 50,
	.pid = 0,
	.setup_rate = 200,
	.base_port = 0,
	.tick_us = 1000,
	.drain = 0.5,
	.max_lag_ms = 20,
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "rg-loadgen: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "rg-loadgen: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / 1000000000ULL), .tv_nsec = (long)(t % 1000000000ULL) };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { (void)sig; interrupted = 1; }

/* ------------------------------------------------------------------ */
/* /proc sampling                                                      */

/* utime+stime of a process (all threads), in nanoseconds; -1 if gone */
static int64_t proc_cpu_ns(int pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	p += 2; /* now at field 3 (state) */
	unsigned long long ut = 0, st = 0;
	for (int field = 3; field <= 15 && *p; field++) {
		char *end;
		if (field == 14)
			ut = strtoull(p, &end, 10);
		else if (field == 15)
			st = strtoull(p, &end, 10);
		end = strchr(p, ' ');
		if (!end)
			break;
		p = end + 1;
	}
	long hz = sysconf(_SC_CLK_TCK);
	return (int64_t)((ut + st) * (1000000000ULL / (unsigned long long)hz));
}

/* VmRSS in KiB; -1 if unavailable */
static long proc_rss_kib(int pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long v = -1;
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, "VmRSS:", 6)) {
			v = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* does process pid hold the UDP socket bound to local port `port`?
 * 1 yes, 0 no, -1 cannot tell.  Guards against --pid pointing at a wrapper. */
static int pid_owns_udp_port(int pid, int port)
{
	FILE *f = fopen("/proc/net/udp", "r");
	if (!f)
		return -1;
	char line[512];
	unsigned long inodes[16];
	int ni = 0;
	while (fgets(line, sizeof line, f) && ni < 16) {
		unsigned addr, lport;
		unsigned long inode;
		/* "  sl  local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode" */
		if (sscanf(line, " %*d: %x:%x %*x:%*x %*x %*x:%*x %*x:%*x %*x %*u %*u %lu", &addr, &lport, &inode) == 3 &&
		    (int)lport == port)
			inodes[ni++] = inode;
	}
	fclose(f);
	if (!ni)
		return -1;
	char dpath[64];
	snprintf(dpath, sizeof dpath, "/proc/%d/fd", pid);
	DIR *d = opendir(dpath);
	if (!d)
		return -1;
	int found = 0;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		char lp[320], target[64];
		snprintf(lp, sizeof lp, "%s/%s", dpath, de->d_name);
		ssize_t n = readlink(lp, target, sizeof target - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		unsigned long ino;
		if (sscanf(target, "socket:[%lu]", &ino) == 1)
			for (int i = 0; i < ni; i++)
				if (inodes[i] == ino)
					found = 1;
	}
	closedir(d);
	return found;
}

/* system-wide UDP counters from /proc/net/snmp */
struct udp_snmp { long long in_dgrams, rcvbuf_errors, sndbuf_errors, in_errors; };

static bool read_udp_snmp(struct udp_snmp *u)
{
	FILE *f = fopen("/proc/net/snmp", "r");
	if (!f)
		return false;
	char hdr[1024], val[1024];
	bool ok = false;
	while (fgets(hdr, sizeof hdr, f)) {
		if (strncmp(hdr, "Udp:", 4))
			continue;
		if (!fgets(val, sizeof val, f))
			break;
		char *hs, *vs;
		char *h = strtok_r(hdr + 4, " \n", &hs);
		char *v = strtok_r(val + 4, " \n", &vs);
		memset(u, 0, sizeof *u);
		while (h && v) {
			long long x = atoll(v);
			if (!strcmp(h, "InDatagrams")) u->in_dgrams = x;
			else if (!strcmp(h, "RcvbufErrors")) u->rcvbuf_errors = x;
			else if (!strcmp(h, "SndbufErrors")) u->sndbuf_errors = x;
			else if (!strcmp(h, "InErrors")) u->in_errors = x;
			h = strtok_r(NULL, " \n", &hs);
			v = strtok_r(NULL, " \n", &vs);
		}
		ok = true;
		break;
	}
	fclose(f);
	return ok;
}

/* machine-wide CPU from the first line of /proc/stat, in clock ticks */
struct sys_cpu { long long busy, total; };
static bool read_sys_cpu(struct sys_cpu *c)
{
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return false;
	long long v[10] = { 0 };
	int n = fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3],
		       &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	fclose(f);
	if (n < 8)
		return false;
	/* user nice system idle iowait irq softirq steal (guest is inside user) */
	c->busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	c->total = c->busy + v[3] + v[4];
	return true;
}

/* kernel softirq threads: loopback delivery deferred to them is network work
 * done for us and the gateway, not "other processes" */
static int ksoftirqd_pids[256];
static int n_ksoftirqd;
static void find_ksoftirqd(void)
{
	for (int cpu = 0; cpu < 256 && n_ksoftirqd < 256; cpu++) {
		char want[32];
		snprintf(want, sizeof want, "ksoftirqd/%d", cpu);
		/* kernel threads have small pids; scan the first few thousand */
		bool found = false;
		for (int pid = 2; pid < 4096 && !found; pid++) {
			char path[64], comm[64];
			snprintf(path, sizeof path, "/proc/%d/comm", pid);
			FILE *f = fopen(path, "r");
			if (!f)
				continue;
			if (fgets(comm, sizeof comm, f)) {
				comm[strcspn(comm, "\n")] = 0;
				if (!strcmp(comm, want)) {
					ksoftirqd_pids[n_ksoftirqd++] = pid;
					found = true;
				}
			}
			fclose(f);
		}
		if (!found)
			break;
	}
}
static int64_t ksoftirqd_cpu_ns(void)
{
	int64_t sum = 0;
	for (int i = 0; i < n_ksoftirqd; i++) {
		int64_t v = proc_cpu_ns(ksoftirqd_pids[i]);
		if (v > 0)
			sum += v;
	}
	return sum;
}

static double self_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* ------------------------------------------------------------------ */
/* bencode (just enough to read the reply dictionary)                   */

/* returns pointer after the value starting at p, or NULL */
static const char *bskip(const char *p, const char *end, int depth)
{
	if (p >= end || depth > 32)
		return NULL;
	if (*p == 'i') {
		const char *e = memchr(p, 'e', (size_t)(end - p));
		return e ? e + 1 : NULL;
	}
	if (*p == 'l' || *p == 'd') {
		p++;
		while (p < end && *p != 'e') {
			p = bskip(p, end, depth + 1);
			if (!p)
				return NULL;
		}
		return p < end ? p + 1 : NULL;
	}
	if (*p >= '0' && *p <= '9') {
		size_t len = 0;
		while (p < end && *p >= '0' && *p <= '9')
			len = len * 10 + (size_t)(*p++ - '0');
		if (p >= end || *p != ':' || (size_t)(end - p - 1) < len)
			return NULL;
		return p + 1 + len;
	}
	return NULL;
}

/* read a byte string at p; returns pointer after it */
static const char *bstr(const char *p, const char *end, const char **s, size_t *slen)
{
	if (p >= end || *p < '0' || *p > '9')
		return NULL;
	size_t len = 0;
	while (p < end && *p >= '0' && *p <= '9')
		len = len * 10 + (size_t)(*p++ - '0');
	if (p >= end || *p != ':' || (size_t)(end - p - 1) < len)
		return NULL;
	*s = p + 1;
	*slen = len;
	return p + 1 + len;
}

/* find top-level string value for key in dictionary [p,end) */
static bool bdict_str(const char *p, const char *end, const char *key, const char **val, size_t *vlen)
{
	if (p >= end || *p != 'd')
		return false;
	p++;
	size_t klen = strlen(key);
	while (p < end && *p != 'e') {
		const char *k;
		size_t kl;
		p = bstr(p, end, &k, &kl);
		if (!p)
			return false;
		if (kl == klen && !memcmp(k, key, kl) && p < end && *p >= '0' && *p <= '9')
			return bstr(p, end, val, vlen) != NULL;
		p = bskip(p, end, 1);
		if (!p)
			return false;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* NG client                                                           */

static int ng_fd = -1;
static unsigned ng_seq;
static unsigned ng_timeouts;

struct ng_reply {
	char buf[NG_BUF];
	size_t len;
	const char *dict, *end;
};

/* buf and len: the bencoded dictionary. Sends "<cookie> <dict>", waits for
 * the reply with the same cookie; retransmits the same bytes on timeout. */
static bool ng_call(const char *dict, size_t dlen, struct ng_reply *r, int timeout_ms, int tries)
{
	static char out[NG_BUF];
	char cookie[48];
	int cl = snprintf(cookie, sizeof cookie, "rglg_%d_%u", (int)getpid(), ++ng_seq);
	if ((size_t)cl + 1 + dlen > sizeof out)
		return false;
	memcpy(out, cookie, (size_t)cl);
	out[cl] = ' ';
	memcpy(out + cl + 1, dict, dlen);
	size_t olen = (size_t)cl + 1 + dlen;

	for (int t = 0; t < tries; t++) {
		if (send(ng_fd, out, olen, 0) < 0) {
			if (errno == ECONNREFUSED) {
				usleep(100000);
				continue;
			}
			return false;
		}
		uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ULL;
		for (;;) {
			uint64_t n = now_ns();
			if (n >= deadline)
				break;
			struct pollfd pfd = { .fd = ng_fd, .events = POLLIN };
			int pr = poll(&pfd, 1, (int)((deadline - n) / 1000000ULL) + 1);
			if (pr <= 0) {
				if (pr < 0 && errno == EINTR)
					continue;
				break;
			}
			ssize_t rl = recv(ng_fd, r->buf, sizeof r->buf - 1, 0);
			if (rl < 0)
				break; /* ECONNREFUSED etc.: retry after timeout */
			r->buf[rl] = 0;
			if ((size_t)rl > (size_t)cl && !memcmp(r->buf, cookie, (size_t)cl) && r->buf[cl] == ' ') {
				r->len = (size_t)rl;
				r->dict = r->buf + cl + 1;
				r->end = r->buf + rl;
				return true;
			}
			/* stale reply for another cookie: ignore */
		}
		ng_timeouts++;
	}
	return false;
}

static bool ng_result_is(struct ng_reply *r, const char *want)
{
	const char *v;
	size_t vl;
	if (!bdict_str(r->dict, r->end, "result", &v, &vl))
		return false;
	return vl == strlen(want) && !memcmp(v, want, vl);
}

static void ng_print_error(const char *what, int call, struct ng_reply *r)
{
	const char *v;
	size_t vl;
	if (bdict_str(r->dict, r->end, "error-reason", &v, &vl))
		info("%s call %d: error: %.*s", what, call, (int)vl, v);
	else
		info("%s call %d: unexpected reply: %.200s", what, call, r->dict);
}

/* bencode writer */
struct bw { char *buf; size_t len, cap; };
static void bw_raw(struct bw *b, const char *s, size_t n)
{
	if (b->len + n > b->cap)
		die("NG request too large");
	memcpy(b->buf + b->len, s, n);
	b->len += n;
}
static void bw_str(struct bw *b, const char *s)
{
	char num[24];
	size_t n = strlen(s);
	int l = snprintf(num, sizeof num, "%zu:", n);
	bw_raw(b, num, (size_t)l);
	bw_raw(b, s, n);
}
static void bw_c(struct bw *b, char c) { bw_raw(b, &c, 1); }

/* The next line of an SDP (without CR/LF, cut to cap - 1 octets) into line; false at the end. */
static bool sdp_line(const char **pp, const char *end, char *line, size_t cap)
{
	const char *p = *pp;
	if (p >= end)
		return false;
	const char *eol = memchr(p, '\n', (size_t)(end - p));
	if (!eol)
		eol = end;
	size_t ll = (size_t)(eol - p);
	if (ll && p[ll - 1] == '\r')
		ll--;
	if (ll >= cap)
		ll = cap - 1;
	memcpy(line, p, ll);
	line[ll] = 0;
	*pp = eol < end ? eol + 1 : end;
	return true;
}

/* parse "c=IN IP4 <addr>" (media-level wins) and "m=audio <port>" */
static bool sdp_media_addr(const char *sdp, size_t len, struct sockaddr_in *sa)
{
	char addr_s[64] = "", addr_m[64] = "";
	int port = -1;
	bool in_media = false;
	const char *p = sdp, *end = sdp + len;
	char line[256];
	while (sdp_line(&p, end, line, sizeof line)) {
		if (!strncmp(line, "m=", 2)) {
			if (port >= 0)
				break; /* only the first m= line */
			if (!strncmp(line, "m=audio ", 8)) {
				port = atoi(line + 8);
				in_media = true;
			}
		} else if (!strncmp(line, "c=IN IP4 ", 9)) {
			char *dst = in_media ? addr_m : addr_s;
			snprintf(dst, 64, "%.63s", line + 9);
			char *sl = strchr(dst, '/');
			if (sl)
				*sl = 0;
		}
	}
	const char *a = addr_m[0] ? addr_m : addr_s;
	if (port <= 0 || port > 65535 || !a[0])
		return false;
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, a, &sa->sin_addr) != 1)
		return false;
	if (sa->sin_addr.s_addr == htonl(INADDR_ANY))
		return false;
	return true;
}

/* the format list of the first m=audio line ("0 101"), into out */
static bool sdp_fmts(const char *sdp, size_t len, char *out, size_t n)
{
	const char *p = sdp, *end = sdp + len;
	char line[256];
	while (sdp_line(&p, end, line, sizeof line)) {
		if (!strncmp(line, "m=audio ", 8)) {
			int off = -1;
			sscanf(line, "m=audio %*s %*s %n", &off);
			if (off < 0)
				return false;
			snprintf(out, n, "%s", line + off);
			return true;
		}
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* SDES-SRTP (--srtp): keys in SDP, libsrtp2 sessions                   */

/* AES_CM_128_HMAC_SHA1_80: 16-byte master key + 14-byte master salt (RFC 4568 section 6.2.1) */
#define SDES_SUITE "AES_CM_128_HMAC_SHA1_80"
#define SDES_KEY_LEN 30
#define SDES_TAG 1

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* standard base64 with padding; out needs 4 * ((n + 2) / 3) + 1 bytes */
static void b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64_chars[(v >> 18) & 63];
		out[o++] = b64_chars[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64_chars[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64_chars[v & 63] : '=';
	}
	out[o] = 0;
}

/* decodes n characters (padding optional); returns the byte count, or -1 */
static int b64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n && in[i] != '='; i++) {
		const char *c = memchr(b64_chars, in[i], 64);
		if (!c)
			return -1;
		acc = (acc << 6) | (uint32_t)(c - b64_chars);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return (int)o;
}

/* one libsrtp session for SRTP (no SRTCP: nobody sends RTCP) with the given master key+salt;
 * inbound = for srtp_unprotect of any SSRC, else for srtp_protect of any SSRC */
static srtp_t srtp_session(const uint8_t key[SDES_KEY_LEN], bool inbound)
{
	srtp_policy_t pol;
	uint8_t k[SDES_KEY_LEN];
	memset(&pol, 0, sizeof pol);
	srtp_crypto_policy_set_rtp_default(&pol.rtp);   /* AES_CM_128_HMAC_SHA1_80 */
	srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
	pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	memcpy(k, key, sizeof k);
	pol.key = k;
	pol.window_size = 0;   /* libsrtp's default replay window (128) */
	srtp_t s = NULL;
	srtp_err_status_t st = srtp_create(&s, &pol);
	memset(k, 0, sizeof k);
	if (st != srtp_err_status_ok)
		die("srtp_create failed (%d)", (int)st);
	return s;
}

/* the first m= section of an SDP: its protocol, whether it has a=crypto, and the key of the
 * a=crypto line with our tag and suite (0 = found, -1 = none, -2 = unusable: MKI, bad key) */
struct sdp_srtp { char proto[32]; int ncrypto; int key_st; uint8_t key[SDES_KEY_LEN]; };

static void sdp_srtp_info(const char *sdp, size_t len, struct sdp_srtp *out)
{
	memset(out, 0, sizeof *out);
	out->key_st = -1;
	bool in_media = false;
	const char *p = sdp, *end = sdp + len;
	char line[512];
	while (sdp_line(&p, end, line, sizeof line)) {
		if (!strncmp(line, "m=", 2)) {
			if (in_media)
				break;   /* only the first m= line */
			in_media = true;
			sscanf(line, "m=%*s %*s %31s", out->proto);
			continue;
		}
		if (!in_media || strncmp(line, "a=crypto:", 9))
			continue;
		out->ncrypto++;
		/* a=crypto:<tag> <suite> inline:<key||salt>[|lifetime][|mki:len] [session params] */
		char suite[64], keyp[256];
		int tag;
		if (sscanf(line + 9, "%d %63s %255s", &tag, suite, keyp) != 3 || tag != SDES_TAG ||
		    strcmp(suite, SDES_SUITE) || strncmp(keyp, "inline:", 7))
			continue;
		char *k = keyp + 7, *bar = strchr(k, '|');
		if (bar && strchr(bar, ':')) {
			out->key_st = -2;   /* an MKI: rg-loadgen sends and expects none */
			continue;
		}
		int n = b64_decode(k, bar ? (size_t)(bar - k) : strlen(k), out->key, sizeof out->key);
		out->key_st = n == SDES_KEY_LEN ? 0 : -2;
	}
}

/* ------------------------------------------------------------------ */
/* --transcode: test signal, G.711 mu-law, Opus frames                  */

#define TC_OPUS_PT 111
#define TC_SIGNAL_S 4          /* seconds of signal, replayed */
#define TC_FRAMES (TC_SIGNAL_S * 50)
#define TC_OPUS_MAX 400

/* speech-like: a voiced source (pitch gliding 100-220 Hz, 12 harmonics with a falling
 * spectrum and two moving formant bumps) under a syllable envelope (~4 Hz, with pauses),
 * plus a little noise */
static void tc_signal(int16_t *x, size_t n, unsigned rate)
{
	double ph = 0;
	uint32_t rnd = 12345;
	for (size_t i = 0; i < n; i++) {
		double t = (double)i / rate;
		double f0 = 160 + 60 * sin(2 * M_PI * 0.7 * t) + 20 * sin(2 * M_PI * 3.1 * t);
		ph += 2 * M_PI * f0 / rate;
		double f1 = 600 + 300 * sin(2 * M_PI * 1.3 * t), f2 = 1700 + 500 * sin(2 * M_PI * 0.9 * t);
		double v = 0;
		for (int h = 1; h <= 12; h++) {
			double fh = f0 * h;
			if (fh > rate / 2.0 - 200)
				break;
			double g = 1.0 / h + 0.8 * exp(-pow((fh - f1) / 200, 2)) + 0.5 * exp(-pow((fh - f2) / 300, 2));
			v += g * sin(h * ph);
		}
		double env = sin(2 * M_PI * 2.1 * t);
		env = env > 0 ? env : 0.05 * -env;   /* syllables with near-silent gaps */
		rnd = rnd * 1103515245u + 12345u;
		double noise = ((double)(rnd >> 16 & 0x7fff) / 16384.0 - 1.0) * 0.02;
		double y = 5000 * env * v / 3 + 32768 * noise * 0.05;
		x[i] = (int16_t)(y > 32767 ? 32767 : y < -32768 ? -32768 : y);
	}
}

/* G.711 mu-law (ITU-T G.711, the usual segment coding) */
static uint8_t lin2ulaw(int16_t pcm)
{
	int v = pcm, sign = 0;
	if (v < 0) {
		v = -v;
		sign = 0x80;
	}
	if (v > 32635)
		v = 32635;
	v += 0x84;
	int seg = 7;
	for (int m = 0x4000; seg > 0 && !(v & m); m >>= 1)
		seg--;
	int mant = (v >> (seg + 3)) & 0x0f;
	return (uint8_t)~(sign | seg << 4 | mant);
}

static int16_t ulaw2lin(uint8_t u)
{
	u = (uint8_t)~u;
	int t = ((u & 0x0f) << 3) + 0x84;
	t <<= (u & 0x70) >> 4;
	return (int16_t)((u & 0x80) ? 0x84 - t : t - 0x84);
}

static uint8_t tc_opus[TC_FRAMES][TC_OPUS_MAX];   /* what the caller sends */
static uint16_t tc_opus_len[TC_FRAMES];
static uint8_t tc_pcmu[TC_FRAMES][160];           /* what the callee sends */

/* encode the caller's Opus frames once, as a browser would send them: 48 kHz mono, 32 kbit/s,
 * VOIP, complexity 10 (not on the clock: done before the media phase) */
static void tc_prepare(void)
{
	size_t n48 = (size_t)TC_SIGNAL_S * 48000, n8 = (size_t)TC_SIGNAL_S * 8000;
	int16_t *x48 = malloc(n48 * sizeof *x48), *x8 = malloc(n8 * sizeof *x8);
	if (!x48 || !x8)
		die("out of memory");
	tc_signal(x48, n48, 48000);
	tc_signal(x8, n8, 8000);
	int err;
	OpusEncoder *e = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
	if (!e)
		die("opus_encoder_create: %s", opus_strerror(err));
	opus_encoder_ctl(e, OPUS_SET_BITRATE(32000));
	opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(10));
	for (int f = 0; f < TC_FRAMES; f++) {
		int l = opus_encode(e, x48 + (size_t)f * 960, 960, tc_opus[f], TC_OPUS_MAX);
		if (l <= 0)
			die("opus_encode: %s", opus_strerror(l));
		tc_opus_len[f] = (uint16_t)l;
		for (int i = 0; i < 160; i++)
			tc_pcmu[f][i] = lin2ulaw(x8[(size_t)f * 160 + (size_t)i]);
	}
	opus_encoder_destroy(e);
	free(x48);
	free(x8);
}

static double cpu_thread_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --codec-bench S --codec-bench-pps P: the same codec work, one transcoded packet every 1/P s
 * (alternately Opus->PCMU and PCMU->Opus, states round-robin), the thread sleeping in between as
 * a gateway's worker does at that packet rate. Only the codec calls are timed (thread CPU). A CPU
 * that sleeps between packets finds the codec's code and state colder than a loop does, so the
 * same work costs more per packet at low rates: this is the bare cost at the load's pace. */
static void codec_bench_paced(OpusDecoder **dec, OpusEncoder **enc, int ncalls)
{
	long packets = (long)(opt.codec_bench * opt.codec_bench_pps);
	if (packets < 200)
		packets = 200;
	uint64_t step = (uint64_t)(1e9 / opt.codec_bench_pps), next = now_ns();
	double cpu_o2p = 0, cpu_p2o = 0;
	long n_o2p = 0, n_p2o = 0;
	int16_t pcm[960];
	uint8_t out[TC_OPUS_MAX];
	volatile unsigned sink = 0;
	double cpu_start = cpu_thread_s();
	for (long k = 0; k < packets; k++) {
		next += step;
		struct timespec ts = { .tv_sec = (time_t)(next / 1000000000u), .tv_nsec = (long)(next % 1000000000u) };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		long j = k / 2;
		int c = (int)(j % ncalls), f = (int)((j / ncalls + c) % TC_FRAMES);
		double t0 = cpu_thread_s();
		if (k % 2 == 0) {
			if (opus_decode(dec[c], tc_opus[f], tc_opus_len[f], pcm, 960, 0) != 160)
				die("opus_decode at 8 kHz failed");
			uint8_t u[160];
			for (int i = 0; i < 160; i++)
				u[i] = lin2ulaw(pcm[i]);
			sink += u[k % 160];
			cpu_o2p += cpu_thread_s() - t0;
			n_o2p++;
		} else {
			for (int i = 0; i < 160; i++)
				pcm[i] = ulaw2lin(tc_pcmu[f][i]);
			if (opus_encode(enc[c], pcm, 160, out, sizeof out) <= 0)
				die("opus_encode failed");
			cpu_p2o += cpu_thread_s() - t0;
			n_p2o++;
		}
	}
	double cpu_all = cpu_thread_s() - cpu_start;
	/* what reading the thread clock itself adds to each timed packet, taken off */
	double c0 = cpu_thread_s(), c1 = c0;
	for (int i = 0; i < 1000; i++)
		c1 = cpu_thread_s();
	double clock_us = (c1 - c0) * 1e6 / 1000;
	double o2p = cpu_o2p * 1e6 / (double)n_o2p - clock_us, p2o = cpu_p2o * 1e6 / (double)n_p2o - clock_us;
	/* the thread's CPU for the whole paced loop, less the timed codec work and the clock reads:
	 * what one sleep and wake-up per packet costs on this machine (kernel side, charged to us) */
	double wake_us = cpu_all * 1e6 / (double)packets - (o2p + p2o) / 2 - 3 * clock_us;
	printf("CODEC label=codec-bench-paced libopus=%s states=%d pace_pps=%.0f packets=%ld opus_to_pcmu_us=%.2f "
	       "pcmu_to_opus_us=%.2f mean_us_per_pkt=%.2f clock_us=%.2f wake_us=%.2f sink=%u\n",
	       opus_get_version_string(), ncalls, opt.codec_bench_pps, packets, o2p, p2o, (o2p + p2o) / 2, clock_us,
	       wake_us, sink);
}

/* --codec-bench S: bare libopus + G.711 per transcoded 20 ms packet, one thread, at the settings
 * rtpgate's pipeline uses for Opus<->PCMU (codecs/codec_opus.c, pipeline PCM rate 8 kHz):
 *   Opus->PCMU: opus_decode at 8 kHz mono of the caller's frames, then mu-law encode of 160 samples;
 *   PCMU->Opus: mu-law decode of 160 samples, then opus_encode at 8 kHz mono, 24 kbit/s,
 *   complexity 5 (RG_OPUS_DEFAULT_COMPLEXITY), VOIP, signal voice, VBR, no FEC, no DTX,
 *   narrowband.  One decoder and one encoder per call, as many as --calls (cache effects of
 *   many states), cycled round-robin like the gateway sees them. */
static void codec_bench(void)
{
	tc_prepare();
	int ncalls = opt.calls < 1 ? 1 : opt.calls > 2000 ? 2000 : opt.calls;
	OpusDecoder **dec = calloc((size_t)ncalls, sizeof *dec);
	OpusEncoder **enc = calloc((size_t)ncalls, sizeof *enc);
	if (!dec || !enc)
		die("out of memory");
	int err;
	for (int c = 0; c < ncalls; c++) {
		dec[c] = opus_decoder_create(8000, 1, &err);
		enc[c] = opus_encoder_create(8000, 1, OPUS_APPLICATION_VOIP, &err);
		if (!dec[c] || !enc[c])
			die("opus create: %s", opus_strerror(err));
		opus_encoder_ctl(enc[c], OPUS_SET_BITRATE(24000));
		opus_encoder_ctl(enc[c], OPUS_SET_COMPLEXITY(5));
		opus_encoder_ctl(enc[c], OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
		opus_encoder_ctl(enc[c], OPUS_SET_VBR(1));
		opus_encoder_ctl(enc[c], OPUS_SET_DTX(0));
		opus_encoder_ctl(enc[c], OPUS_SET_INBAND_FEC(0));
		opus_encoder_ctl(enc[c], OPUS_SET_PACKET_LOSS_PERC(0));
		opus_encoder_ctl(enc[c], OPUS_SET_MAX_BANDWIDTH(OPUS_BANDWIDTH_NARROWBAND));
	}
	/* frames per direction: S seconds of audio per call-state rotation, at least 2000 */
	long frames = (long)(opt.codec_bench * 50);
	if (frames < 2000)
		frames = 2000;
	int16_t pcm[960];
	uint8_t out[TC_OPUS_MAX];
	volatile unsigned sink = 0;
	/* warm-up: one frame per state */
	for (int c = 0; c < ncalls; c++) {
		if (opus_decode(dec[c], tc_opus[c % TC_FRAMES], tc_opus_len[c % TC_FRAMES], pcm, 960, 0) < 0 ||
		    opus_encode(enc[c], pcm, 160, out, sizeof out) < 0)
			die("opus warm-up failed");
	}
	if (opt.codec_bench_pps > 0) {
		codec_bench_paced(dec, enc, ncalls);
		goto out;
	}
	double t0 = cpu_thread_s();
	long bytes_out = 0;
	for (long k = 0; k < frames; k++) {
		int c = (int)(k % ncalls), f = (int)((k / ncalls + c) % TC_FRAMES);
		int ns = opus_decode(dec[c], tc_opus[f], tc_opus_len[f], pcm, 960, 0);
		if (ns != 160)
			die("opus_decode at 8 kHz gave %d samples, want 160", ns);
		uint8_t u[160];
		for (int i = 0; i < 160; i++)
			u[i] = lin2ulaw(pcm[i]);
		sink += u[k % 160];
	}
	double t1 = cpu_thread_s();
	for (long k = 0; k < frames; k++) {
		int c = (int)(k % ncalls), f = (int)((k / ncalls + c) % TC_FRAMES);
		for (int i = 0; i < 160; i++)
			pcm[i] = ulaw2lin(tc_pcmu[f][i]);
		int l = opus_encode(enc[c], pcm, 160, out, sizeof out);
		if (l <= 0)
			die("opus_encode: %s", opus_strerror(l));
		bytes_out += l;
	}
	double t2 = cpu_thread_s();
	double o2p = (t1 - t0) * 1e6 / (double)frames, p2o = (t2 - t1) * 1e6 / (double)frames;
	long in_bytes = 0;
	for (int f = 0; f < TC_FRAMES; f++)
		in_bytes += tc_opus_len[f];
	printf("CODEC label=codec-bench libopus=%s states=%d frames_per_dir=%ld opus_to_pcmu_us=%.2f "
	       "pcmu_to_opus_us=%.2f mean_us_per_pkt=%.2f caller_opus_bytes=%.1f gw_opus_bytes=%.1f sink=%u\n",
	       opus_get_version_string(), ncalls, frames, o2p, p2o, (o2p + p2o) / 2,
	       (double)in_bytes / TC_FRAMES, (double)bytes_out / (double)frames, sink);
out:
	for (int c = 0; c < ncalls; c++) {
		opus_decoder_destroy(dec[c]);
		opus_encoder_destroy(enc[c]);
	}
	free(dec);
	free(enc);
}

/* ------------------------------------------------------------------ */
/* media state                                                         */

struct side {
	int fd;
	uint16_t lport;
	bool active;
	struct sockaddr_in dst; /* where this side sends to */
	uint32_t ssrc;
	uint16_t seq0;
	uint32_t ts0;
	uint8_t *seen; /* receiver: bitmap of packet numbers received */
	/* --srtp: the sender thread protects with tx, the receiver thread unprotects with rx
	 * (separate libsrtp sessions, so the two threads never share one); NULL = plain */
	srtp_t tx_srtp, rx_srtp;
	/* --transcode: the n-th packet this side really sent (sender thread), and what the
	 * receiver thread learned of the gateway's stream toward this side */
	uint64_t *sent_ns;   /* CLOCK_MONOTONIC send time of sent packet n */
	uint8_t *sent_meas;  /* sent packet n was in the measured window */
	uint32_t nsent;
	bool out_started;
	uint16_t out_seq0, out_last;
	uint32_t out_cycles;
	uint32_t out_n;      /* packets received from the gateway on this side, any window */
};

struct probe {
	uint32_t magic;
	uint32_t call;
	uint32_t pktno;
	uint8_t from_side; /* 0 = caller (A), 1 = callee (B) */
	uint8_t measured;
	uint16_t pad;
	uint64_t sent_ns;    /* CLOCK_MONOTONIC at send */
	uint64_t sent_rt_ns; /* CLOCK_REALTIME at send (same instant), for kernel rx timestamps */
} __attribute__((packed));

static struct side *sides; /* 2*calls: [2i] caller, [2i+1] callee */
static int nsides;
static uint32_t pkts_per_side; /* warmup + measured packets per side */
static uint32_t warm_pkts_per_side;
static uint32_t meas_end_per_side; /* packets before this number are measured (tail after it) */
static char *run_id;

/* latency histogram */
struct lathist {
	uint32_t *hist;
	uint64_t over, max, sum, n;
};

static void lh_init(struct lathist *h)
{
	h->hist = calloc(HIST_BUCKETS, sizeof *h->hist);
	if (!h->hist)
		die("out of memory");
}

static void lh_add(struct lathist *h, uint64_t lat)
{
	if (lat > h->max)
		h->max = lat;
	h->sum += lat;
	h->n++;
	uint64_t b = lat < HIST_FINE_END ? lat / HIST_FINE_NS : HIST_FINE_N + (lat - HIST_FINE_END) / HIST_COARSE_NS;
	if (b < HIST_BUCKETS)
		h->hist[b]++;
	else
		h->over++;
}

static double lh_pct_us(const struct lathist *h, double pct)
{
	if (!h->n)
		return 0;
	uint64_t want = (uint64_t)ceil(pct / 100.0 * (double)h->n);
	if (want < 1)
		want = 1;
	uint64_t acc = 0;
	for (uint64_t b = 0; b < HIST_BUCKETS; b++) {
		acc += h->hist[b];
		if (acc >= want) {
			/* bucket upper edge, but never above the exact maximum */
			uint64_t edge = b < HIST_FINE_N ? (b + 1) * HIST_FINE_NS
							: HIST_FINE_END + (b - HIST_FINE_N + 1) * HIST_COARSE_NS;
			if (edge > h->max)
				edge = h->max;
			return (double)edge / 1000.0;
		}
	}
	return (double)h->max / 1000.0;
}

/* receiver-thread results */
static struct {
	uint64_t rx[2];          /* measured packets received, index: sending side */
	uint64_t rx_warm;        /* warmup packets received */
	uint64_t dup, misrouted, bad;
	uint64_t srtp_fail;      /* --srtp: srtp_unprotect refused the packet (auth, replay) */
	uint64_t overflow_drops; /* SO_RXQ_OVFL on our sockets */
	struct lathist lat;      /* user-space receive time - send time (CLOCK_MONOTONIC) */
	struct lathist klat;     /* kernel receive timestamp - send time (CLOCK_REALTIME) */
	uint64_t no_kts;         /* packets without a kernel timestamp */
	uint64_t recv_calls;
	/* --transcode */
	uint64_t bad_pt, bad_size; /* wrong payload type / payload size for the side */
	uint64_t ahead;            /* k-th packet from the gateway before the peer sent its k-th */
	uint64_t after_end;        /* beyond the peer's last packet: a gateway filling the gap after
				      the sender stopped (rtpgate's dtx-delay); not an error */
	uint64_t rtcp;             /* RTCP on an RTP port (ignored) */
	int64_t rt_minus_mono;     /* CLOCK_REALTIME - CLOCK_MONOTONIC, for kernel timestamps */
} rxs;

/* --transcode: one packet from the gateway (or, --baseline, from the peer) on side s.
 * Callee sides must get PCMU (PT 0, 160 octets), caller sides Opus (PT 111, one 20 ms packet);
 * in a baseline run each side gets what its peer sends. The k-th packet on a side (k from the
 * sender's RTP sequence numbers, relative to its first) is matched with the peer's k-th sent. */
static void tc_rx(int s, const uint8_t *b, unsigned len, uint64_t t, uint64_t kts)
{
	struct side *me = &sides[s], *peer = &sides[s ^ 1];
	if (len >= 2 && b[1] >= 200 && b[1] <= 204) {
		rxs.rtcp++;
		return;
	}
	if (len < RTP_HDR_LEN || (b[0] & 0xc0) != 0x80) {
		rxs.bad++;
		return;
	}
	unsigned hl = RTP_HDR_LEN + 4u * (b[0] & 0x0f);
	if ((b[0] & 0x10) && len >= hl + 4)
		hl += 4 + 4u * ((unsigned)b[hl + 2] << 8 | b[hl + 3]);
	unsigned pad = (b[0] & 0x20) && len > hl ? b[len - 1] : 0;
	if (len < hl + pad) {
		rxs.bad++;
		return;
	}
	unsigned plen = len - hl - pad;
	int pt = b[1] & 0x7f;
	/* side 1 (callee) gets PCMU from a gateway; in a baseline, the caller's Opus */
	bool want_pcmu = (s & 1) ^ opt.baseline;
	if (pt != (want_pcmu ? 0 : TC_OPUS_PT)) {
		rxs.bad_pt++;
		return;
	}
	if (want_pcmu ? plen != 160 : (plen < 1 || opus_packet_get_nb_samples(b + hl, (opus_int32)plen, 48000) != 960)) {
		rxs.bad_size++;
		return;
	}
	uint16_t seq = (uint16_t)(b[2] << 8 | b[3]);
	if (!me->out_started) {
		me->out_started = true;
		me->out_seq0 = me->out_last = seq;
	} else {
		if ((int16_t)(seq - me->out_last) > 0) {
			if (seq < me->out_last)
				me->out_cycles += 65536;
			me->out_last = seq;
		}
	}
	/* extended index relative to the first sequence number seen */
	int64_t ext = (int64_t)me->out_cycles + me->out_last - me->out_seq0;
	int64_t k = ext - (int16_t)(me->out_last - seq);
	me->out_n++;
	if (k >= (int64_t)pkts_per_side) {
		rxs.after_end++;
		return;
	}
	if (k < 0) {
		rxs.bad++;
		return;
	}
	uint8_t bit = (uint8_t)(1u << (k & 7));
	if (me->seen[k >> 3] & bit) {
		rxs.dup++;
		return;
	}
	me->seen[k >> 3] |= bit;
	uint32_t nsent = __atomic_load_n(&peer->nsent, __ATOMIC_ACQUIRE);
	if ((uint64_t)k >= nsent) {
		rxs.ahead++;
		return;
	}
	if (!peer->sent_meas[k]) {
		rxs.rx_warm++;
		return;
	}
	rxs.rx[(s & 1) ^ 1]++;
	uint64_t st = peer->sent_ns[k];
	lh_add(&rxs.lat, t > st ? t - st : 0);
	if (kts) {
		uint64_t km = (uint64_t)((int64_t)kts - rxs.rt_minus_mono);
		lh_add(&rxs.klat, km > st ? km - st : 0);
	} else {
		rxs.no_kts++;
	}
}


static atomic_bool rx_stop;
static uint32_t *ovfl_last; /* last SO_RXQ_OVFL value per socket */

static void *rx_thread(void *arg)
{
	(void)arg;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1: %s", strerror(errno));
	for (int s = 0; s < nsides; s++) {
		if (!sides[s].active)
			continue;
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)s };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, sides[s].fd, &ev) < 0)
			die("epoll_ctl: %s", strerror(errno));
	}
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	static uint8_t bufs[RECV_BATCH][2048];
	static char ctrl[RECV_BATCH][128];
	struct epoll_event evs[512];
	if (opt.rx_coalesce_us)
		prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

	while (!atomic_load_explicit(&rx_stop, memory_order_relaxed)) {
		int n = epoll_wait(ep, evs, 512, 20);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (int e = 0; e < n; e++) {
			int s = (int)evs[e].data.u32;
			for (int i = 0; i < RECV_BATCH; i++) {
				iov[i].iov_base = bufs[i];
				iov[i].iov_len = sizeof bufs[i];
				memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
				msgs[i].msg_hdr.msg_iov = &iov[i];
				msgs[i].msg_hdr.msg_iovlen = 1;
				msgs[i].msg_hdr.msg_control = ctrl[i];
				msgs[i].msg_hdr.msg_controllen = sizeof ctrl[i];
			}
			int r = recvmmsg(sides[s].fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
			rxs.recv_calls++;
			if (r <= 0)
				continue;
			uint64_t t = now_ns();
			int my_side = s & 1;
			uint32_t my_call = (uint32_t)(s >> 1);
			for (int i = 0; i < r; i++) {
				/* overflow counter (cumulative per socket) */
				uint64_t kts = 0;
				for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c;
				     c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
					if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
						struct timespec ts;
						memcpy(&ts, CMSG_DATA(c), sizeof ts);
						kts = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
					} else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
						uint32_t v;
						memcpy(&v, CMSG_DATA(c), sizeof v);
						if (v != ovfl_last[s]) {
							rxs.overflow_drops += (uint32_t)(v - ovfl_last[s]);
							ovfl_last[s] = v;
						}
					}
				}
				unsigned len = msgs[i].msg_len;
				if (opt.transcode) {
					tc_rx(s, bufs[i], len, t, kts);
					continue;
				}
				if (sides[s].rx_srtp) {
					/* authenticate and decrypt in place; the checks below then prove
					 * the payload really went through the gateway's crypto */
					int l = (int)len;
					if (srtp_unprotect(sides[s].rx_srtp, bufs[i], &l) != srtp_err_status_ok) {
						rxs.srtp_fail++;
						continue;
					}
					len = (unsigned)l;
				}
				if (len < RTP_HDR_LEN + sizeof(struct probe)) {
					rxs.bad++;
					continue;
				}
				struct probe pr;
				memcpy(&pr, bufs[i] + RTP_HDR_LEN, sizeof pr);
				if (pr.magic != PROBE_MAGIC || pr.pktno >= pkts_per_side || pr.from_side > 1) {
					rxs.bad++;
					continue;
				}
				if (pr.call != my_call || pr.from_side == my_side) {
					rxs.misrouted++;
					continue;
				}
				uint8_t *bm = sides[s].seen;
				uint8_t bit = (uint8_t)(1u << (pr.pktno & 7));
				if (bm[pr.pktno >> 3] & bit) {
					rxs.dup++;
					continue;
				}
				bm[pr.pktno >> 3] |= bit;
				if (!pr.measured) {
					rxs.rx_warm++;
					continue;
				}
				rxs.rx[pr.from_side]++;
				lh_add(&rxs.lat, t > pr.sent_ns ? t - pr.sent_ns : 0);
				if (kts)
					lh_add(&rxs.klat, kts > pr.sent_rt_ns ? kts - pr.sent_rt_ns : 0);
				else
					rxs.no_kts++;
			}
		}
		if (opt.rx_coalesce_us && n > 0) {
			/* let packets accumulate: fewer wakeups, coarser user-space latency */
			struct timespec ts = { .tv_sec = 0, .tv_nsec = opt.rx_coalesce_us * 1000L };
			nanosleep(&ts, NULL);
		}
	}
	close(ep);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* sockets                                                             */

static void open_sockets(void)
{
	int port = opt.base_port ? (opt.base_port + 1) & ~1 : 10000; /* RTP on even ports */
	int first = port;
	for (int s = 0; s < nsides; s++) {
		int fd = -1;
		for (;;) {
			if (port > 65534)
				die("ran out of local ports (started at %d)", first);
			fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0)
				die("socket: %s (raise ulimit -n; need %d fds)", strerror(errno), nsides + 16);
			struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
			sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
				break;
			if (errno != EADDRINUSE)
				die("bind 127.0.0.1:%d: %s", port, strerror(errno));
			close(fd);
			port += 2;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
		setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
		sides[s].fd = fd;
		sides[s].lport = (uint16_t)port;
		/* RTP on even ports, RTCP (port+1) left unbound: nobody sends RTCP */
		port += 2;
	}
}

/* ------------------------------------------------------------------ */
/* NG setup / teardown                                                 */

static void call_id(char *buf, size_t n, int i) { snprintf(buf, n, "rglg-%s-%d", run_id, i); }

/* key_b64: SDES master key+salt (base64) for an RTP/SAVP side, NULL for plain RTP/AVP */
static size_t make_sdp(char *buf, size_t n, int i, int side, uint16_t port, const char *key_b64)
{
	if (opt.transcode) {
		/* the caller offers Opus only, as an Opus-only browser; the callee PCMU only */
		return (size_t)snprintf(buf, n,
			"v=0\r\n"
			"o=- %u 1 IN IP4 127.0.0.1\r\n"
			"s=rg-loadgen\r\n"
			"c=IN IP4 127.0.0.1\r\n"
			"t=0 0\r\n"
			"m=audio %u RTP/AVP %s\r\n"
			"%s"
			"a=ptime:20\r\n"
			"a=sendrecv\r\n",
			(unsigned)(1000000 + i * 2 + side), (unsigned)port, side ? "0" : "111",
			side ? "a=rtpmap:0 PCMU/8000\r\n" : "a=rtpmap:111 opus/48000/2\r\n");
	}
	int l = snprintf(buf, n,
		"v=0\r\n"
		"o=- %u 1 IN IP4 127.0.0.1\r\n"
		"s=rg-loadgen\r\n"
		"c=IN IP4 127.0.0.1\r\n"
		"t=0 0\r\n"
		"m=audio %u %s 0\r\n"
		"a=rtpmap:0 PCMU/8000\r\n"
		"a=ptime:20\r\n"
		"a=sendrecv\r\n",
		(unsigned)(1000000 + i * 2 + side), (unsigned)port, key_b64 ? "RTP/SAVP" : "RTP/AVP");
	if (key_b64 && l > 0 && (size_t)l < n)
		l += snprintf(buf + l, n - (size_t)l, "a=crypto:%d " SDES_SUITE " inline:%s\r\n", SDES_TAG, key_b64);
	return (size_t)l;
}

/* --srtp: a fresh SDES key for the caller of call i and its sending session */
static void caller_key(int i, char *b64, size_t n)
{
	uint8_t key[SDES_KEY_LEN];
	if (n < 4 * ((SDES_KEY_LEN + 2) / 3) + 1)
		die("key buffer too small");
	if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key)
		die("getrandom: %s", strerror(errno));
	struct side *a = &sides[2 * i];
	if (a->tx_srtp)
		srtp_dealloc(a->tx_srtp);
	a->tx_srtp = srtp_session(key, false);
	b64_encode(key, sizeof key, b64);
	memset(key, 0, sizeof key);
}

static bool ng_offer_answer(int i)
{
	static char req[8192];
	static struct ng_reply r;
	char cid[96], ftag[32], ttag[32], sdp[1024], key_b64[64];
	call_id(cid, sizeof cid, i);
	snprintf(ftag, sizeof ftag, "a%d", i);
	snprintf(ttag, sizeof ttag, "b%d", i);
	if (opt.srtp)
		caller_key(i, key_b64, sizeof key_b64);

	for (int phase = 0; phase < 2; phase++) {
		struct bw b = { req, 0, sizeof req };
		make_sdp(sdp, sizeof sdp, i, phase, sides[2 * i + phase].lport,
			 opt.srtp && phase == 0 ? key_b64 : NULL);
		bw_c(&b, 'd');
		bw_str(&b, "supports"); bw_c(&b, 'l'); bw_str(&b, "load limit"); bw_c(&b, 'e');
		bw_str(&b, "sdp"); bw_str(&b, sdp);
		bw_str(&b, "flags"); bw_c(&b, 'l'); bw_str(&b, "trust-address");
		/* --transcode: the callee is offered PCMU only (same spelling for both daemons) */
		if (opt.transcode && phase == 0) {
			bw_str(&b, "codec-strip-all");
			bw_str(&b, "codec-transcode-PCMU");
		}
		bw_c(&b, 'e');
		bw_str(&b, "replace"); bw_c(&b, 'l'); bw_str(&b, "origin"); bw_str(&b, "session-connection"); bw_c(&b, 'e');
		bw_str(&b, "call-id"); bw_str(&b, cid);
		bw_str(&b, "received-from"); bw_c(&b, 'l'); bw_str(&b, "IP4"); bw_str(&b, "127.0.0.1"); bw_c(&b, 'e');
		bw_str(&b, "from-tag"); bw_str(&b, ftag);
		if (phase == 1) {
			bw_str(&b, "to-tag");
			bw_str(&b, ttag);
		}
		/* SRTP caller, plain callee: the recipient of the offer gets RTP/AVP */
		if (opt.srtp && phase == 0) {
			bw_str(&b, "transport-protocol");
			bw_str(&b, "RTP/AVP");
		}
		bw_str(&b, "command"); bw_str(&b, phase ? "answer" : "offer");
		bw_c(&b, 'e');
		const char *what = phase ? "answer" : "offer";
		if (!ng_call(req, b.len, &r, 1000, 3)) {
			info("%s call %d: no reply", what, i);
			return false;
		}
		if (!ng_result_is(&r, "ok")) {
			ng_print_error(what, i, &r);
			return false;
		}
		const char *rs;
		size_t rsl;
		if (!bdict_str(r.dict, r.end, "sdp", &rs, &rsl)) {
			info("%s call %d: reply without sdp", what, i);
			return false;
		}
		/* offer reply goes to the callee: the callee sends there.
		 * answer reply goes to the caller: the caller sends there. */
		struct side *sender = &sides[2 * i + (phase ? 0 : 1)];
		if (!sdp_media_addr(rs, rsl, &sender->dst)) {
			info("%s call %d: cannot parse m=audio/c= in reply SDP", what, i);
			return false;
		}
		if (opt.transcode) {
			/* the callee must be offered PCMU (first format 0, no Opus), the caller answered Opus */
			char fmts[128];
			if (!sdp_fmts(rs, rsl, fmts, sizeof fmts) ||
			    (phase == 0 ? (strncmp(fmts, "0", 1) || (fmts[1] && fmts[1] != ' ') ||
					   strstr(fmts, "111") != NULL)
					: strncmp(fmts, "111", 3) != 0)) {
				info("%s call %d: the %s's SDP offers formats '%s', want %s", what, i,
				     phase ? "caller" : "callee", fmts, phase ? "111 (Opus)" : "0 (PCMU) and no 111");
				return false;
			}
			continue;
		}
		if (!opt.srtp)
			continue;
		/* the callee must get plain RTP, the caller SDES-SRTP with the gateway's own key */
		struct sdp_srtp ss;
		sdp_srtp_info(rs, rsl, &ss);
		if (phase == 0 && (strcmp(ss.proto, "RTP/AVP") || ss.ncrypto)) {
			info("offer call %d: the callee's SDP is %s with %d a=crypto, want plain RTP/AVP", i,
			     ss.proto, ss.ncrypto);
			return false;
		}
		if (phase == 1) {
			if (strcmp(ss.proto, "RTP/SAVP") || ss.key_st != 0) {
				info("answer call %d: the caller's SDP is %s, %s", i, ss.proto,
				     ss.key_st == -2 ? "a=crypto:1 " SDES_SUITE " with an MKI or a bad key"
						     : "no a=crypto:1 " SDES_SUITE);
				return false;
			}
			struct side *a = &sides[2 * i];
			if (a->rx_srtp)
				srtp_dealloc(a->rx_srtp);
			a->rx_srtp = srtp_session(ss.key, true);
			memset(ss.key, 0, sizeof ss.key);
		}
	}
	return true;
}

static bool ng_delete(int i)
{
	static char req[1024];
	static struct ng_reply r;
	char cid[96], ftag[32];
	call_id(cid, sizeof cid, i);
	snprintf(ftag, sizeof ftag, "a%d", i);
	struct bw b = { req, 0, sizeof req };
	bw_c(&b, 'd');
	bw_str(&b, "supports"); bw_c(&b, 'l'); bw_str(&b, "load limit"); bw_c(&b, 'e');
	bw_str(&b, "call-id"); bw_str(&b, cid);
	bw_str(&b, "received-from"); bw_c(&b, 'l'); bw_str(&b, "IP4"); bw_str(&b, "127.0.0.1"); bw_c(&b, 'e');
	bw_str(&b, "from-tag"); bw_str(&b, ftag);
	bw_str(&b, "command"); bw_str(&b, "delete");
	bw_c(&b, 'e');
	if (!ng_call(req, b.len, &r, 1000, 3)) {
		info("delete call %d: no reply", i);
		return false;
	}
	if (!ng_result_is(&r, "ok")) {
		ng_print_error("delete", i, &r);
		return false;
	}
	const char *w;
	size_t wl;
	if (bdict_str(r.dict, r.end, "warning", &w, &wl)) {
		info("delete call %d: warning: %.*s", i, (int)wl, w);
		return false;
	}
	return true;
}

static bool ng_ping(int tries)
{
	static struct ng_reply r;
	const char *req = "d7:command4:pinge";
	if (!ng_call(req, strlen(req), &r, 500, tries))
		return false;
	return ng_result_is(&r, "pong");
}

static void ng_connect(void)
{
	ng_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ng_fd < 0)
		die("socket: %s", strerror(errno));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opt.ng_port) };
	if (inet_pton(AF_INET, opt.ng_host, &sa.sin_addr) != 1)
		die("--ng: bad IPv4 address '%s'", opt.ng_host);
	if (connect(ng_fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("connect NG: %s", strerror(errno));
	int sz = 1 << 20;
	setsockopt(ng_fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
}

/* ------------------------------------------------------------------ */
/* sending                                                             */

static struct {
	uint64_t tx[2];         /* measured packets sent, index: sending side */
	uint64_t tx_warm;
	uint64_t send_err;      /* packets not accepted by the kernel */
	uint64_t send_calls;
	uint64_t lag_max_ns;    /* worst lateness of a send vs. its schedule */
	uint64_t late_pkts;     /* packets sent > 2 ms after their slot */
	uint64_t skipped;       /* packets dropped from the schedule (sender too far behind) */
} txs;

static uint8_t pkt_template[RTP_PKT_LEN];
static uint64_t srtp_protect_fail;   /* --srtp: packets srtp_protect refused (not sent) */

/* send packets [from, to) of the global schedule.  Packet k goes to side
 * k % nsides as that side's packet number k / nsides. */
static void send_range(uint64_t from, uint64_t to, uint64_t start_ns, double ns_per_pkt)
{
	static uint8_t bufs[SEND_BATCH][RTP_HDR_LEN + TC_OPUS_MAX + SRTP_MAX_TRAILER_LEN];
	static bool measured[SEND_BATCH];   /* the payload may be encrypted once built */
	static struct mmsghdr msgs[SEND_BATCH];
	static struct iovec iov[SEND_BATCH];
	uint64_t span = to - from;
	uint64_t first_pass = span < (uint64_t)nsides ? span : (uint64_t)nsides;

	for (uint64_t j = from; j < from + first_pass; j++) {
		int s = (int)(j % (uint64_t)nsides);
		struct side *sd = &sides[s];
		/* all packets of this side within [from, to): j, j+nsides, ... */
		uint64_t k = j;
		while (k < to) {
			int nb = 0;
			uint64_t kk = k;
			for (; kk < to && nb < SEND_BATCH; kk += (uint64_t)nsides, nb++)
				;
			if (!sd->active) {
				k = kk;
				continue;
			}
			struct timespec rt;
			uint64_t t = now_ns();
			clock_gettime(CLOCK_REALTIME, &rt);
			uint64_t t_rt = (uint64_t)rt.tv_sec * 1000000000ULL + (uint64_t)rt.tv_nsec;
			int m = 0;
			for (uint64_t q = k; q < kk; q += (uint64_t)nsides) {
				uint32_t pktno = (uint32_t)(q / (uint64_t)nsides);
				uint8_t *p = bufs[m];
				if (opt.transcode) {
					/* the n-th packet this side sends: seq and timestamp follow n, so a
					 * skipped slot is late media to the gateway, never a gap it would conceal */
					uint32_t n = sd->nsent + (uint32_t)m;
					int f = (int)((n + (uint32_t)(s >> 1) * 7u) % TC_FRAMES);
					bool caller = !(s & 1);
					p[0] = 0x80;
					p[1] = (uint8_t)((caller ? TC_OPUS_PT : 0) | (n == 0 ? 0x80 : 0));
					uint16_t seq = htons((uint16_t)(sd->seq0 + n));
					uint32_t ts = htonl(sd->ts0 + n * (caller ? 960u : 160u));
					uint32_t ssrc = htonl(sd->ssrc);
					memcpy(p + 2, &seq, 2);
					memcpy(p + 4, &ts, 4);
					memcpy(p + 8, &ssrc, 4);
					size_t pl = caller ? tc_opus_len[f] : 160;
					memcpy(p + RTP_HDR_LEN, caller ? tc_opus[f] : tc_pcmu[f], pl);
					measured[m] = pktno >= warm_pkts_per_side && pktno < meas_end_per_side;
					sd->sent_ns[n] = t;
					sd->sent_meas[n] = measured[m];
					iov[m].iov_base = p;
					iov[m].iov_len = RTP_HDR_LEN + pl;
					memset(&msgs[m].msg_hdr, 0, sizeof msgs[m].msg_hdr);
					msgs[m].msg_hdr.msg_iov = &iov[m];
					msgs[m].msg_hdr.msg_iovlen = 1;
					msgs[m].msg_hdr.msg_name = &sd->dst;
					msgs[m].msg_hdr.msg_namelen = sizeof sd->dst;
					uint64_t sched = start_ns + (uint64_t)((double)q * ns_per_pkt);
					uint64_t lag = t > sched ? t - sched : 0;
					if (lag > txs.lag_max_ns)
						txs.lag_max_ns = lag;
					if (lag > 2000000ULL)
						txs.late_pkts++;
					m++;
					continue;
				}
				memcpy(p, pkt_template, RTP_PKT_LEN);
				uint16_t seq = htons((uint16_t)(sd->seq0 + pktno));
				uint32_t ts = htonl(sd->ts0 + pktno * 160u);
				uint32_t ssrc = htonl(sd->ssrc);
				memcpy(p + 2, &seq, 2);
				memcpy(p + 4, &ts, 4);
				memcpy(p + 8, &ssrc, 4);
				struct probe pr = {
					.magic = PROBE_MAGIC,
					.call = (uint32_t)(s >> 1),
					.pktno = pktno,
					.from_side = (uint8_t)(s & 1),
					.measured = pktno >= warm_pkts_per_side,
					.sent_ns = t,
					.sent_rt_ns = t_rt,
				};
				memcpy(p + RTP_HDR_LEN, &pr, sizeof pr);
				int plen = RTP_PKT_LEN;
				if (sd->tx_srtp && srtp_protect(sd->tx_srtp, p, &plen) != srtp_err_status_ok) {
					srtp_protect_fail++;
					continue;
				}
				measured[m] = pr.measured;
				iov[m].iov_base = p;
				iov[m].iov_len = (size_t)plen;
				memset(&msgs[m].msg_hdr, 0, sizeof msgs[m].msg_hdr);
				msgs[m].msg_hdr.msg_iov = &iov[m];
				msgs[m].msg_hdr.msg_iovlen = 1;
				msgs[m].msg_hdr.msg_name = &sd->dst;
				msgs[m].msg_hdr.msg_namelen = sizeof sd->dst;
				uint64_t sched = start_ns + (uint64_t)((double)q * ns_per_pkt);
				uint64_t lag = t > sched ? t - sched : 0;
				if (lag > txs.lag_max_ns)
					txs.lag_max_ns = lag;
				if (lag > 2000000ULL)
					txs.late_pkts++;
				m++;
			}
			/* --transcode: publish before sending (the reply may beat our return from sendmmsg);
			 * a failed send (send_err) would shift the matching of this side's later packets */
			if (opt.transcode)
				__atomic_store_n(&sd->nsent, sd->nsent + (uint32_t)m, __ATOMIC_RELEASE);
			int done = 0;
			while (done < m) {
				int r = sendmmsg(sd->fd, msgs + done, (unsigned)(m - done), MSG_DONTWAIT);
				txs.send_calls++;
				if (r < 0) {
					/* count the failed packet and skip it */
					txs.send_err++;
					done++;
					continue;
				}
				for (int q = done; q < done + r; q++) {
					if (measured[q])
						txs.tx[s & 1]++;
					else
						txs.tx_warm++;
				}
				done += r;
			}
			k = kk;
		}
	}
}

/* ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
		"usage: rg-loadgen [options]\n"
		"  --ng HOST:PORT       NG control address of the gateway (required unless --baseline)\n"
		"  --calls N            number of calls (default 50)\n"
		"  --duration S         measured media phase in seconds (default 20)\n"
		"  --warmup S           unmeasured media before it (default 1)\n"
		"  --pps N              packets/s per direction per call (default 50)\n"
		"  --pid PID            gateway process for CPU/RSS sampling\n"
		"  --setup-rate R       offers per second (default 200); deletes use the same pace\n"
		"  --base-port P        first local UDP port (even ports, default: 10000 upwards, skipping busy ones)\n"
		"  --tick-us U          pacing tick in microseconds (default 1000)\n"
		"  --drain S            wait for in-flight packets after sending (default 0.5)\n"
		"  --max-lag-ms M       if the sender falls more than M ms behind its schedule, the\n"
		"                       overdue packets are skipped (not sent, not counted), not burst\n"
		"                       out; 0 = never skip (default 20)\n"
		"  --rx-coalesce-us U   receiver sleeps U us after each batch: fewer wakeups, less CPU\n"
		"                       for generator and gateway, user-space latency coarser by ~U\n"
		"                       (klat_* unaffected); default 0 = wake per packet\n"
		"  --baseline           no gateway: each side sends straight to the other side's socket\n"
		"  --srtp               caller SDES-SRTP (RTP/SAVP, " SDES_SUITE "), callee plain RTP/AVP;\n"
		"                       the offer asks for transport-protocol RTP/AVP toward the callee\n"
		"  --transcode          the caller offers Opus only (sends real Opus frames), the offer asks\n"
		"                       codec-strip-all codec-transcode-PCMU: the callee gets and sends\n"
		"                       PCMU; checks PT and size per side; latency by matched counters\n"
		"  --codec-bench S      no network: time bare libopus + G.711 per transcoded packet at\n"
		"                       rtpgate's Opus<->PCMU settings (S s of audio, --calls states); prints CODEC\n"
		"  --codec-bench-pps P  with --codec-bench: one packet every 1/P s for S s, sleeping between\n"
		"                       (the bare cost at a gateway worker's packet rate)\n"
		"  --nss-space          with --srtp: let libsrtp2 initialise NSS itself (small tables, one\n"
		"                       session lock: SRTP cost grows with the number of calls)\n"
		"  --label TEXT         free-form label copied into the result (e.g. daemon name)\n"
		"  --json               also print the result as one JSON object\n"
		"  --ping               only send an NG ping; exit 0 on pong\n"
		"  --verbose            progress on stderr\n");
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "ng", required_argument, NULL, 'n' },
		{ "calls", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "pps", required_argument, NULL, 'p' },
		{ "pid", required_argument, NULL, 'P' },
		{ "setup-rate", required_argument, NULL, 'r' },
		{ "base-port", required_argument, NULL, 'b' },
		{ "tick-us", required_argument, NULL, 't' },
		{ "drain", required_argument, NULL, 'D' },
		{ "max-lag-ms", required_argument, NULL, 'L' },
		{ "rx-coalesce-us", required_argument, NULL, 'C' },
		{ "baseline", no_argument, NULL, 'B' },
		{ "srtp", no_argument, NULL, 'S' },
		{ "nss-space", no_argument, NULL, 'N' },
		{ "transcode", no_argument, NULL, 'T' },
		{ "codec-bench", required_argument, NULL, 'K' },
		{ "codec-bench-pps", required_argument, NULL, 'Q' },
		{ "label", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "ping", no_argument, NULL, 'g' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'n': {
			const char *colon = strrchr(optarg, ':');
			if (!colon || colon == optarg || (size_t)(colon - optarg) >= sizeof opt.ng_host)
				die("--ng wants HOST:PORT");
			memcpy(opt.ng_host, optarg, (size_t)(colon - optarg));
			opt.ng_host[colon - optarg] = 0;
			if (!strcmp(opt.ng_host, "localhost"))
				strcpy(opt.ng_host, "127.0.0.1");
			opt.ng_port = atoi(colon + 1);
			break;
		}
		case 'c': opt.calls = atoi(optarg); break;
		case 'd': opt.duration = atof(optarg); break;
		case 'w': opt.warmup = atof(optarg); break;
		case 'p': opt.pps = atoi(optarg); break;
		case 'P': opt.pid = atoi(optarg); break;
		case 'r': opt.setup_rate = atof(optarg); break;
		case 'b': opt.base_port = atoi(optarg); break;
		case 't': opt.tick_us = atoi(optarg); break;
		case 'D': opt.drain = atof(optarg); break;
		case 'L': opt.max_lag_ms = atoi(optarg); break;
		case 'C': opt.rx_coalesce_us = atoi(optarg); break;
		case 'B': opt.baseline = true; break;
		case 'S': opt.srtp = true; break;
		case 'N': opt.nss_space = true; break;
		case 'T': opt.transcode = true; break;
		case 'K': opt.codec_bench = atof(optarg); break;
		case 'Q': opt.codec_bench_pps = atof(optarg); break;
		case 'l': snprintf(opt.label, sizeof opt.label, "%s", optarg); break;
		case 'j': opt.json = true; break;
		case 'g': opt.ping_only = true; break;
		case 'v': opt.verbose = true; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (opt.transcode && opt.srtp)
		die("--transcode and --srtp do not combine");
	if (opt.codec_bench < 0 || opt.codec_bench > 3600)
		die("--codec-bench must be 0..3600 seconds");
	if (opt.codec_bench_pps < 0 || opt.codec_bench_pps > 1000000)
		die("--codec-bench-pps must be 0..1000000");
	if (!opt.baseline && !opt.codec_bench && (opt.ng_port <= 0 || opt.ng_port > 65535))
		die("--ng HOST:PORT is required (or --baseline)");
	if (opt.calls < 1 || opt.calls > 16000)
		die("--calls must be 1..16000");
	if (opt.duration <= 0 || opt.duration > 3600)
		die("--duration must be in (0, 3600]");
	if (opt.warmup < 0 || opt.warmup > 600)
		die("--warmup must be in [0, 600]");
	if (opt.pps < 1 || opt.pps > 1000)
		die("--pps must be 1..1000");
	if (opt.setup_rate <= 0 || opt.setup_rate > 100000)
		die("--setup-rate must be > 0");
	if (opt.tick_us < 50 || opt.tick_us > 100000)
		die("--tick-us must be 50..100000");
	if (opt.drain < 0 || opt.drain > 10)
		die("--drain must be 0..10");
	if (opt.max_lag_ms < 0 || opt.max_lag_ms > 10000)
		die("--max-lag-ms must be 0..10000");
	if (opt.rx_coalesce_us < 0 || opt.rx_coalesce_us > 100000)
		die("--rx-coalesce-us must be 0..100000");
	if (opt.base_port && (opt.base_port < 1024 || opt.base_port > 65000))
		die("--base-port must be 1024..65000");
	if (!opt.label[0])
		snprintf(opt.label, sizeof opt.label, "%s%s", opt.baseline ? "baseline" : "gateway",
			 opt.srtp ? "-srtp" : opt.transcode ? "-tc" : "");
}

/* result output: a fixed list of key=value pairs, same order in text and JSON */
struct kv { const char *k; char v[64]; bool is_str; };
static struct kv kvs[80];
static int nkv;
static void put(const char *k, bool is_str, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(const char *k, bool is_str, const char *fmt, ...)
{
	va_list ap;
	if (nkv >= (int)(sizeof kvs / sizeof *kvs))
		die("too many result keys");
	va_start(ap, fmt);
	kvs[nkv].k = k;
	kvs[nkv].is_str = is_str;
	vsnprintf(kvs[nkv].v, sizeof kvs[nkv].v, fmt, ap);
	va_end(ap);
	nkv++;
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (opt.codec_bench > 0) {
		codec_bench();
		return 0;
	}

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!opt.baseline)
		ng_connect();
	if (opt.ping_only) {
		if (opt.baseline)
			die("--ping needs --ng");
		bool ok = ng_ping(2);
		printf("%s\n", ok ? "pong" : "no pong");
		return ok ? 0 : 1;
	}

	/* file descriptors: 2 per call + a few */
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rlim_t need = (rlim_t)opt.calls * 2 + 64;
	if (rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < need)
			die("need %lu file descriptors, hard limit is %lu", (unsigned long)need,
			    (unsigned long)rl.rlim_max);
	}

	char rid[32];
	snprintf(rid, sizeof rid, "%d-%ld", (int)getpid(), (long)time(NULL));
	run_id = rid;

	nsides = opt.calls * 2;
	sides = calloc((size_t)nsides, sizeof *sides);
	ovfl_last = calloc((size_t)nsides, sizeof *ovfl_last);
	lh_init(&rxs.lat);
	lh_init(&rxs.klat);
	if (!sides || !ovfl_last)
		die("out of memory");
	warm_pkts_per_side = (uint32_t)llround(opt.warmup * opt.pps);
	pkts_per_side = warm_pkts_per_side + (uint32_t)llround(opt.duration * opt.pps);
	meas_end_per_side = pkts_per_side;
	/* --transcode: 0.2 s of unmeasured tail, so a frame a gateway holds in its codec queue
	 * (rtpengine keeps one) comes out before the end instead of counting as lost */
	if (opt.transcode)
		pkts_per_side += (uint32_t)llround(0.2 * opt.pps) + 1;
	srandom((unsigned)(getpid() ^ time(NULL)));
	for (int s = 0; s < nsides; s++) {
		sides[s].ssrc = (uint32_t)random() ^ ((uint32_t)random() << 16);
		sides[s].seq0 = (uint16_t)random();
		sides[s].ts0 = (uint32_t)random();
		sides[s].seen = calloc((pkts_per_side + 7) / 8, 1);
		if (!sides[s].seen)
			die("out of memory");
		if (opt.transcode) {
			sides[s].sent_ns = calloc(pkts_per_side, sizeof *sides[s].sent_ns);
			sides[s].sent_meas = calloc(pkts_per_side, 1);
			if (!sides[s].sent_ns || !sides[s].sent_meas)
				die("out of memory");
		}
	}
	open_sockets();
	if (opt.transcode) {
		tc_prepare();
		struct timespec rt, mo;
		clock_gettime(CLOCK_REALTIME, &rt);
		clock_gettime(CLOCK_MONOTONIC, &mo);
		rxs.rt_minus_mono = ((int64_t)rt.tv_sec - mo.tv_sec) * 1000000000LL + (rt.tv_nsec - mo.tv_nsec);
	}
#ifdef LOADGEN_NSS
	/* Debian's libsrtp2 does its AES-CM and HMAC-SHA1 through NSS's PKCS#11 softoken, with a
	 * context opened and closed per packet, and initialises NSS itself with NSS_NoDB_Init(),
	 * which asks for small tables (NSS_INIT_OPTIMIZESPACE: 32 buckets for the key objects, one
	 * session lock). Then every packet's key lookup walks a chain that grows with the number of
	 * sessions, under a lock our two threads share. Initialised first, without that flag, NSS
	 * keeps 1024 buckets and per-bucket locks: same crypto, cost no longer grows with calls. */
	if (opt.srtp && !opt.nss_space && !NSS_IsInitialized() &&
	    NSS_Initialize("", "", "", "", NSS_INIT_READONLY | NSS_INIT_NOCERTDB | NSS_INIT_NOMODDB |
					       NSS_INIT_FORCEOPEN | NSS_INIT_NOROOTINIT) != SECSuccess)
		die("NSS_Initialize failed");
#endif
	if (opt.srtp && srtp_init() != srtp_err_status_ok)
		die("srtp_init failed");
	if (opt.verbose)
		info("%d sockets on 127.0.0.1:%u..%u", nsides, sides[0].lport, sides[nsides - 1].lport);

	/* RTP header template: V=2, PT=0 (PCMU), payload = 0xff (PCMU silence) */
	memset(pkt_template, 0xff, sizeof pkt_template);
	pkt_template[0] = 0x80;
	pkt_template[1] = 0x00;

	bool pid_ok = opt.pid > 0 && proc_cpu_ns(opt.pid) >= 0;
	if (opt.pid > 0 && !pid_ok)
		die("--pid %d: no such process", opt.pid);
	int pid_owns_ng = -1;
	if (pid_ok && !opt.baseline) {
		pid_owns_ng = pid_owns_udp_port(opt.pid, opt.ng_port);
		if (pid_owns_ng == 0)
			info("warning: --pid %d does not hold the NG socket (port %d): CPU/RSS figures are "
			     "for the wrong process (a shell or wrapper?)", opt.pid, opt.ng_port);
	}

	long rss_before = -1, rss_setup = -1, rss_media = -1;
	int calls_ok = 0, setup_fail = 0, delete_fail = 0;
	double setup_s = 0, delete_s = 0;

	if (opt.baseline) {
		for (int i = 0; i < opt.calls; i++) {
			for (int side = 0; side < 2; side++) {
				struct side *me = &sides[2 * i + side], *peer = &sides[2 * i + (side ^ 1)];
				me->dst.sin_family = AF_INET;
				me->dst.sin_port = htons(peer->lport);
				me->dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
				me->active = true;
			}
			if (opt.srtp) {
				/* the same crypto per packet as through a gateway: the caller protects,
				 * the callee unprotects (with the caller's key), the callee's packets
				 * stay plain */
				uint8_t key[SDES_KEY_LEN];
				if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key)
					die("getrandom: %s", strerror(errno));
				sides[2 * i].tx_srtp = srtp_session(key, false);
				sides[2 * i + 1].rx_srtp = srtp_session(key, true);
				memset(key, 0, sizeof key);
			}
		}
		calls_ok = opt.calls;
	} else {
		if (!ng_ping(6))
			die("no pong from NG %s:%d", opt.ng_host, opt.ng_port);
		if (pid_ok)
			rss_before = proc_rss_kib(opt.pid);
		uint64_t t0 = now_ns();
		double gap_ns = 1e9 / opt.setup_rate;
		for (int i = 0; i < opt.calls && !interrupted; i++) {
			sleep_until(t0 + (uint64_t)(i * gap_ns));
			if (ng_offer_answer(i)) {
				sides[2 * i].active = sides[2 * i + 1].active = true;
				calls_ok++;
			} else {
				setup_fail++;
				if (setup_fail > 20 && setup_fail > opt.calls / 10) {
					info("too many setup failures, giving up on further calls");
					break;
				}
			}
			if (opt.verbose && (i + 1) % 500 == 0)
				info("%d calls set up", i + 1);
		}
		setup_s = (double)(now_ns() - t0) / 1e9;
		if (pid_ok)
			rss_setup = proc_rss_kib(opt.pid);
		if (opt.verbose)
			info("setup: %d ok, %d failed in %.1f s", calls_ok, setup_fail, setup_s);
	}

	/* ---- media phase ---- */
	int64_t cpu0 = -1, cpu1 = -1;
	double self0 = 0, self1 = 0;
	struct udp_snmp snmp0 = { 0 }, snmp1 = { 0 };
	struct sys_cpu sys0 = { 0 }, sys1 = { 0 };
	int64_t ksi0 = 0, ksi1 = 0;
	find_ksoftirqd();
	uint64_t meas_t0 = 0, meas_t1 = 0;
	if (calls_ok > 0 && !interrupted) {
		pthread_t th;
		if (pthread_create(&th, NULL, rx_thread, NULL))
			die("pthread_create failed");
		usleep(20000); /* let the receiver get into epoll_wait */

		uint64_t total = (uint64_t)nsides * pkts_per_side;
		uint64_t boundary = (uint64_t)nsides * warm_pkts_per_side;
		double ns_per_pkt = 1e9 / ((double)nsides * opt.pps);
		uint64_t tick = (uint64_t)opt.tick_us * 1000ULL;
		uint64_t start = now_ns() + 1000000ULL;
		uint64_t sent = 0;
		bool measuring = false, ended = false;
		uint64_t meas_end = (uint64_t)nsides * meas_end_per_side;
#define SAMPLE_END()                                        \
	do {                                                \
		meas_t1 = now_ns();                         \
		if (pid_ok)                                 \
			cpu1 = proc_cpu_ns(opt.pid);        \
		self1 = self_cpu_s();                       \
		read_sys_cpu(&sys1);                        \
		ksi1 = ksoftirqd_cpu_ns();                  \
		read_udp_snmp(&snmp1);                      \
		if (pid_ok)                                 \
			rss_media = proc_rss_kib(opt.pid);  \
	} while (0)
		if (boundary == 0) {
			read_udp_snmp(&snmp0);
			read_sys_cpu(&sys0);
			ksi0 = ksoftirqd_cpu_ns();
			self0 = self_cpu_s();
			if (pid_ok)
				cpu0 = proc_cpu_ns(opt.pid);
			meas_t0 = now_ns();
			measuring = true;
		}
		uint64_t wake = start;
		while (sent < total && !interrupted) {
			sleep_until(wake);
			uint64_t t = now_ns();
			uint64_t due = t < start ? 0 : (uint64_t)((double)(t - start) / ns_per_pkt) + 1;
			if (due > total)
				due = total;
			/* too far behind: skip overdue packets instead of bursting them out */
			uint64_t max_backlog = (uint64_t)((double)opt.max_lag_ms * 1e6 / ns_per_pkt);
			if (opt.max_lag_ms && due - sent > max_backlog + 1) {
				uint64_t to = due - max_backlog - 1;
				for (uint64_t q = sent; q < to; q++)
					if (sides[q % (uint64_t)nsides].active)
						txs.skipped++;
				sent = to;
			}
			if (!measuring && due > boundary) {
				if (sent < boundary) {
					send_range(sent, boundary, start, ns_per_pkt);
					sent = boundary;
				}
				read_udp_snmp(&snmp0);
				read_sys_cpu(&sys0);
				ksi0 = ksoftirqd_cpu_ns();
				self0 = self_cpu_s();
				if (pid_ok)
					cpu0 = proc_cpu_ns(opt.pid);
				meas_t0 = now_ns();
				measuring = true;
			}
			/* --transcode: the measured window ends before the tail */
			if (measuring && !ended && due > meas_end) {
				if (sent < meas_end) {
					send_range(sent, meas_end, start, ns_per_pkt);
					sent = meas_end;
				}
				SAMPLE_END();
				ended = true;
			}
			if (due > sent) {
				send_range(sent, due, start, ns_per_pkt);
				sent = due;
			}
			wake += tick;
			uint64_t after = now_ns();
			if (wake < after)
				wake = after;
		}
		if (!ended)
			SAMPLE_END();
#undef SAMPLE_END
		usleep((useconds_t)(opt.drain * 1e6));
		atomic_store(&rx_stop, true);
		pthread_join(th, NULL);
	}

	bool gw_alive = !pid_ok || proc_cpu_ns(opt.pid) >= 0;

	if (!opt.baseline) {
		uint64_t t0 = now_ns();
		double gap_ns = 1e9 / opt.setup_rate;
		int k = 0;
		for (int i = 0; i < opt.calls; i++) {
			if (!sides[2 * i].active)
				continue;
			sleep_until(t0 + (uint64_t)(k++ * gap_ns));
			if (!ng_delete(i))
				delete_fail++;
			if (interrupted && k > 0 && delete_fail > 10)
				break;
		}
		delete_s = (double)(now_ns() - t0) / 1e9;
	}

	if (interrupted) {
		info("interrupted: no result");
		return 130;
	}

	/* ---- results ---- */
	uint64_t tx = txs.tx[0] + txs.tx[1], rx = rxs.rx[0] + rxs.rx[1];
	double loss_ab = txs.tx[0] ? 100.0 * (double)(txs.tx[0] - (rxs.rx[0] < txs.tx[0] ? rxs.rx[0] : txs.tx[0])) / (double)txs.tx[0] : 0;
	double loss_ba = txs.tx[1] ? 100.0 * (double)(txs.tx[1] - (rxs.rx[1] < txs.tx[1] ? rxs.rx[1] : txs.tx[1])) / (double)txs.tx[1] : 0;
	double loss = tx ? 100.0 * (double)(tx - (rx < tx ? rx : tx)) / (double)tx : 0;
	double meas_s = meas_t1 > meas_t0 ? (double)(meas_t1 - meas_t0) / 1e9 : 0;
	double gw_cpu_s = (cpu0 >= 0 && cpu1 >= 0) ? (double)(cpu1 - cpu0) / 1e9 : -1;
	double cpu_us_pkt = (gw_cpu_s >= 0 && rx) ? gw_cpu_s * 1e6 / (double)rx : -1;
	double kib_call_setup = (rss_before >= 0 && rss_setup >= 0 && calls_ok) ? (double)(rss_setup - rss_before) / calls_ok : -1;
	double kib_call = (rss_before >= 0 && rss_media >= 0 && calls_ok) ? (double)(rss_media - rss_before) / calls_ok : -1;
	bool consistent = rxs.rx[0] <= txs.tx[0] && rxs.rx[1] <= txs.tx[1] && rxs.lat.n == rx;

	put("label", true, "%s", opt.label);
	put("mode", true, "%s", opt.baseline ? "baseline" : "gateway");
	put("calls", false, "%d", opt.calls);
	put("calls_ok", false, "%d", calls_ok);
	put("setup_fail", false, "%d", setup_fail);
	put("duration_s", false, "%.3f", meas_s);
	put("pps_per_dir", false, "%d", opt.pps);
	put("offered_pps", false, "%d", calls_ok * 2 * opt.pps);
	put("tx_ab", false, "%" PRIu64, txs.tx[0]);
	put("rx_ab", false, "%" PRIu64, rxs.rx[0]);
	put("tx_ba", false, "%" PRIu64, txs.tx[1]);
	put("rx_ba", false, "%" PRIu64, rxs.rx[1]);
	put("fwd_pps", false, "%.0f", meas_s > 0 ? (double)rx / meas_s : 0);
	put("loss_ab_pct", false, "%.4f", loss_ab);
	put("loss_ba_pct", false, "%.4f", loss_ba);
	put("loss_pct", false, "%.4f", loss);
	put("dup", false, "%" PRIu64, rxs.dup);
	put("misrouted", false, "%" PRIu64, rxs.misrouted);
	put("bad", false, "%" PRIu64, rxs.bad);
	put("send_err", false, "%" PRIu64, txs.send_err);
	put("lat_p50_us", false, "%.2f", lh_pct_us(&rxs.lat, 50));
	put("lat_p90_us", false, "%.2f", lh_pct_us(&rxs.lat, 90));
	put("lat_p99_us", false, "%.2f", lh_pct_us(&rxs.lat, 99));
	put("lat_max_us", false, "%.2f", (double)rxs.lat.max / 1000.0);
	put("lat_mean_us", false, "%.2f", rxs.lat.n ? (double)rxs.lat.sum / (double)rxs.lat.n / 1000.0 : 0);
	put("klat_p50_us", false, "%.2f", lh_pct_us(&rxs.klat, 50));
	put("klat_p99_us", false, "%.2f", lh_pct_us(&rxs.klat, 99));
	put("klat_max_us", false, "%.2f", (double)rxs.klat.max / 1000.0);
	put("klat_missing", false, "%" PRIu64, rxs.no_kts);
	put("gw_cpu_s", false, "%.3f", gw_cpu_s);
	put("gw_cpu_pct", false, "%.1f", gw_cpu_s >= 0 && meas_s > 0 ? 100.0 * gw_cpu_s / meas_s : -1);
	put("cpu_us_per_pkt", false, "%.3f", cpu_us_pkt);
	put("rss_before_kib", false, "%ld", rss_before);
	put("rss_setup_kib", false, "%ld", rss_setup);
	put("rss_media_kib", false, "%ld", rss_media);
	put("kib_per_call_setup", false, "%.2f", kib_call_setup);
	put("kib_per_call", false, "%.2f", kib_call);
	put("gen_cpu_pct", false, "%.1f", meas_s > 0 ? 100.0 * (self1 - self0) / meas_s : 0);
	{
		/* whole machine busy time, and what is left after the gateway and us:
		 * other processes competing for the same cores */
		double hz = (double)sysconf(_SC_CLK_TCK);
		double busy_s = (double)(sys1.busy - sys0.busy) / hz;
		double ksi_s = (double)(ksi1 - ksi0) / 1e9;
		double other = busy_s - (self1 - self0) - (gw_cpu_s > 0 ? gw_cpu_s : 0) - ksi_s;
		put("ncpu", false, "%ld", sysconf(_SC_NPROCESSORS_ONLN));
		put("sys_busy_pct", false, "%.1f", meas_s > 0 ? 100.0 * busy_s / meas_s : 0);
		put("ksoftirqd_cpu_pct", false, "%.1f", meas_s > 0 ? 100.0 * ksi_s / meas_s : 0);
		put("other_cpu_pct", false, "%.1f", meas_s > 0 ? 100.0 * (other > 0 ? other : 0) / meas_s : 0);
	}
	put("gen_tx_lag_max_us", false, "%.0f", (double)txs.lag_max_ns / 1000.0);
	put("rx_coalesce_us", false, "%d", opt.rx_coalesce_us);
	put("gen_skipped", false, "%" PRIu64, txs.skipped);
	put("gen_skipped_pct", false, "%.4f", txs.skipped ? 100.0 * (double)txs.skipped / (double)(txs.skipped + tx + txs.tx_warm) : 0);
	put("gen_tx_late_pct", false, "%.4f", tx ? 100.0 * (double)txs.late_pkts / (double)(tx + txs.tx_warm) : 0);
	put("gen_rx_ovfl", false, "%" PRIu64, rxs.overflow_drops);
	put("udp_rcvbuf_errors", false, "%lld", snmp1.rcvbuf_errors - snmp0.rcvbuf_errors);
	put("udp_sndbuf_errors", false, "%lld", snmp1.sndbuf_errors - snmp0.sndbuf_errors);
	put("setup_s", false, "%.2f", setup_s);
	put("delete_s", false, "%.2f", delete_s);
	put("delete_fail", false, "%d", delete_fail);
	put("ng_timeouts", false, "%u", ng_timeouts);
	put("pid_owns_ng", false, "%d", pid_owns_ng);
	put("gw_alive", false, "%d", gw_alive ? 1 : 0);
	put("consistent", false, "%d", consistent ? 1 : 0);
	put("srtp", false, "%d", opt.srtp ? 1 : 0);
	{
		/* --transcode: receiving sides whose packet count equals what the peer sent (then the
		 * k-th/k-th latency match is exact unless the gateway both dropped and added packets) */
		int exact = 0, nact = 0;
		double short_sum = 0;
		for (int s = 0; s < nsides; s++) {
			if (!sides[s].active)
				continue;
			nact++;
			if (sides[s].out_n == sides[s ^ 1].nsent)
				exact++;
			short_sum += (double)sides[s ^ 1].nsent - (double)sides[s].out_n;
		}
		put("transcode", false, "%d", opt.transcode ? 1 : 0);
		put("tc_bad_pt", false, "%" PRIu64, rxs.bad_pt);
		put("tc_bad_size", false, "%" PRIu64, rxs.bad_size);
		put("tc_after_end", false, "%" PRIu64, rxs.after_end);
		put("tc_ahead", false, "%" PRIu64, rxs.ahead);
		put("tc_rtcp", false, "%" PRIu64, rxs.rtcp);
		put("tc_count_exact_pct", false, "%.1f", opt.transcode && nact ? 100.0 * exact / nact : -1);
		/* packets the peer sent minus packets received, per stream: a gateway that holds a
		 * frame in its codec queue shows 1.0 here (the tail makes that frame not count as lost) */
		put("tc_short_per_stream", false, "%.2f", opt.transcode && nact ? short_sum / nact : -1);
	}
	put("srtp_fail", false, "%" PRIu64, rxs.srtp_fail);
	put("srtp_protect_fail", false, "%" PRIu64, srtp_protect_fail);
#ifdef LOADGEN_NSS
	put("gen_nss_init", true, "%s", !opt.srtp ? "-" : opt.nss_space ? "libsrtp" : "own");
#else
	put("gen_nss_init", true, "%s", "-");
#endif

	printf("RESULT");
	for (int i = 0; i < nkv; i++)
		printf(" %s=%s", kvs[i].k, kvs[i].v);
	printf("\n");
	if (opt.json) {
		printf("{");
		for (int i = 0; i < nkv; i++)
			printf("%s\"%s\":%s%s%s", i ? "," : "", kvs[i].k, kvs[i].is_str ? "\"" : "", kvs[i].v,
			       kvs[i].is_str ? "\"" : "");
		printf("}\n");
	}

	for (int s = 0; s < nsides; s++) {
		close(sides[s].fd);
		free(sides[s].seen);
		free(sides[s].sent_ns);
		free(sides[s].sent_meas);
		if (sides[s].tx_srtp)
			srtp_dealloc(sides[s].tx_srtp);
		if (sides[s].rx_srtp)
			srtp_dealloc(sides[s].rx_srtp);
	}
	if (opt.srtp)
		srtp_shutdown();
	free(sides);
	free(ovfl_last);
	free(rxs.lat.hist);
	free(rxs.klat.hist);
	if (!consistent || calls_ok == 0 || !gw_alive)
		return 1;
	return 0;
}
