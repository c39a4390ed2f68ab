/* Call recording: per-worker rings, the writer thread, pcap/WAV/metadata files (recording.h). */
#include "recording.h"
#include "bytes.h"
#include "codec_neg.h"
#include "log.h"
#include "ports.h"
#include "rg_codec.h"
#include "rtp.h"
#include "stats.h"
#include "webrtc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PCAP_BUF (64u * 1024)      /* > any UDP datagram with its headers */
#define WAV_BUF (32u * 1024)
#define WAV_HDR 44u
#define FLUSH_US (1000 * 1000)     /* buffers written and WAV headers fixed at least this often */
#define ICE_REFRESH 1024           /* a WebRTC leg's addresses are looked up again every N packets */
#define LINKTYPE_ETHERNET 1
#define LINKTYPE_RAW 101
#define NO_LEG 0xff
#define REC_F_RTCP 0x01
#define MAX_PCM 5760               /* 120 ms at 48 kHz: the longest frame a decoder returns */

/* ---- records in the rings ---- */

typedef struct rec_addr {
	uint8_t family;                /* 4, 6 or 0 (unknown) */
	uint8_t pad;
	uint16_t port;                 /* network order */
	uint8_t a[16];
} rec_addr;

typedef struct rec_hdr {
	uint32_t size;                 /* whole record, a multiple of 8; 0 = wrap to the ring's start */
	uint16_t len;                  /* packet bytes, after this header */
	uint8_t leg;                   /* index into rec->legs / rec->wav, NO_LEG = pcap only */
	uint8_t flags;                 /* REC_F_* */
	rg_rec *rec;
	const rg_codec_type *type;     /* audio codec of an RTP packet's payload type, NULL = none */
	int64_t t_us;                  /* unix time of reception */
	rec_addr src, dst;
} rec_hdr;

/* Single producer (the worker), single consumer (the writer). head and tail count bytes ever
 * written / consumed; size is a power of two. */
typedef struct rec_ring {
	uint8_t *buf;
	size_t size;
	uint64_t head __attribute__((aligned(64)));
	uint64_t tail __attribute__((aligned(64)));
} rec_ring;

/* ---- one recording ---- */

typedef struct rec_leg {           /* worker + signalling, call lock held */
	rg_media *media;
	unsigned media_index;
	uint8_t pt_known[16];          /* bit pt: pt_type[pt] is looked up */
	const rg_codec_type *pt_type[128];
	rec_addr ice_src, ice_dst;     /* WebRTC leg: the ICE pair */
	unsigned ice_age;
} rec_leg;

typedef struct wav_leg {           /* writer */
	int fd;                        /* -1 = not created */
	bool unusable;                 /* creating it failed, or too many legs */
	char *name;
	unsigned rate;                 /* PCM rate of the file */
	const rg_codec_type *type;     /* of dec */
	rg_decoder *dec;
	bool started;
	uint32_t next_ts, ssrc;
	uint8_t *buf;
	size_t blen;
	uint64_t committed;            /* data bytes in the file (after the header) */
	uint64_t samples, packets, skipped, late, resyncs;
	int64_t first_us;
} wav_leg;

struct rg_rec {
	/* set at creation, then read-only */
	char *call_id;
	char *dir, *base;              /* files are <dir>/<base>.pcap etc. */
	int64_t start_us;
	/* worker (call lock held) */
	bool paused;
	int failed;                    /* atomic; set (release) by the writer after `error` */
	rec_leg legs[RG_REC_MAX_LEGS];
	unsigned n_legs;
	uint64_t packets, drops;       /* relaxed atomics: one worker writes */
	/* what the call says (parties, metadata, legs): set at creation and at detach */
	char *meta_call;
	int64_t stop_us;               /* 0 = not stopped */
	/* writer */
	int pcap_fd;
	uint8_t *pbuf;
	size_t plen;
	uint64_t pcommitted, pwritten;
	wav_leg wav[RG_REC_MAX_LEGS];
	char *error;
	bool closed;                   /* files finished (or failed) */
	uint16_t ip_id;
};

static struct {
	bool enabled;
	char *dir;
	int linktype;
	rec_ring *rings;
	unsigned n_rings;
	GThread *thread;
	GMutex lock;                   /* starts, closes, stop, running */
	GCond cond;
	GPtrArray *starts, *closes;    /* rg_rec*: new recordings, detached recordings */
	bool stop, running;
	bool hold;                     /* tests: the writer drains nothing */
	size_t ring_bytes;             /* tests: ring size of the next init, 0 = RG_REC_RING_BYTES */
	GPtrArray *active;             /* writer only: recordings with files open */
} mod;

static void rec_free(rg_rec *rec);
static void rec_finish(rg_rec *rec);
static int rec_create(rg_rec *rec, const char *name_hint, char **err);

bool rg_rec_enabled(void)
{
	return mod.enabled;
}

/* ---- small helpers ---- */

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static char *iso_time(int64_t us)
{
	GDateTime *dt = g_date_time_new_from_unix_utc(us / 1000000);
	if (!dt)
		return g_strdup("?");
	char *s = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S");
	g_date_time_unref(dt);
	char *r = g_strdup_printf("%s.%06dZ (%" G_GINT64_FORMAT ".%06d)", s, (int)(us % 1000000), us / 1000000,
				  (int)(us % 1000000));
	g_free(s);
	return r;
}

void rg_rec_safe_name(const char *call_id, const char *hint, char *out, size_t outlen)
{
	const char *src = hint && *hint ? hint : call_id;
	if (hint) {
		const char *slash = strrchr(hint, '/');
		if (slash && slash[1])
			src = slash + 1;
	}
	/* FNV-1a over the call-id and the hint: names that sanitize alike stay apart */
	uint32_t h = 2166136261u;
	for (const char *p = call_id; p && *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	for (const char *p = hint; p && *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	size_t max = outlen > 10 ? outlen - 10 : 0;   /* room for "-xxxxxxxx" and NUL */
	if (max > 64)
		max = 64;
	size_t n = 0;
	for (const char *p = src; *p && n < max; p++) {
		unsigned char ch = (unsigned char)*p;
		bool ok = g_ascii_isalnum(ch) || strchr("._+=@-", ch);
		out[n++] = ok && ch ? (char)ch : '_';
	}
	if (n == 0 && max > 0) {
		const char *d = "call";
		while (*d && n < max)
			out[n++] = *d++;
	}
	if (n && out[0] == '.')
		out[0] = '_';   /* no ".", "..", hidden files */
	snprintf(out + n, outlen - n, "-%08x", h);
}

/* ---- rings ---- */

static void *ring_reserve(rec_ring *r, size_t need, uint64_t *new_head)
{
	uint64_t head = r->head;   /* only this producer writes it */
	uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	size_t pos = (size_t)(head & (r->size - 1));
	size_t contig = r->size - pos;
	size_t skip = contig < need ? contig : 0;
	if (r->size - (size_t)(head - tail) < skip + need)
		return NULL;
	if (skip) {
		if (contig >= sizeof(uint32_t))
			*(uint32_t *)(void *)(r->buf + pos) = 0;   /* wrap marker */
		pos = 0;
	}
	*new_head = head + skip + need;
	return r->buf + pos;
}

static void write_one(const rec_hdr *h, const uint8_t *data);

static bool ring_drain(rec_ring *r)
{
	uint64_t tail = r->tail;
	uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	bool any = tail != head;
	while (tail != head) {
		size_t pos = (size_t)(tail & (r->size - 1));
		size_t contig = r->size - pos;
		const rec_hdr *h = (const void *)(r->buf + pos);
		if (contig < sizeof(rec_hdr) || h->size == 0) {
			tail += contig;
			continue;
		}
		write_one(h, (const uint8_t *)(h + 1));
		tail += h->size;
		__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
	return any;
}

/* ---- packet path ---- */

static void addr_set(rec_addr *a, const struct sockaddr_storage *ss, unsigned port_host)
{
	memset(a, 0, sizeof(*a));
	if (!ss)
		return;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;
		a->family = 4;
		a->port = port_host ? htons((uint16_t)port_host) : s->sin_port;
		memcpy(a->a, &s->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;
		a->family = 6;
		a->port = port_host ? htons((uint16_t)port_host) : s->sin6_port;
		memcpy(a->a, &s->sin6_addr, 16);
	}
}

/* The audio codec payload type pt of party m's packets maps to: the party's own SDP, else its
 * peer's, else the static types of RFC 3551. NULL for telephone-event, CN, video, unknown. */
static const rg_codec_type *resolve_pt(rg_media *m, unsigned pt)
{
	const rg_cn_codec *found = NULL;
	rg_media *look[2] = { m, m->peer };
	for (unsigned k = 0; k < 2 && !found; k++) {
		rg_media *x = look[k];
		if (!x || !x->codecs || !x->codecs->own)
			continue;
		for (guint i = 0; i < x->codecs->own->len && !found; i++) {
			const rg_cn_codec *cc = x->codecs->own->pdata[i];
			if (cc->pt == (int)pt)
				found = cc;
		}
	}
	const char *name = NULL, *fmtp = NULL;
	unsigned rate = 8000, channels = 0;
	if (found) {
		if (found->event)
			return NULL;
		name = found->name;
		rate = found->rate;
		channels = found->channels;
		fmtp = found->fmtp;
	} else if (pt == 0) {
		name = "PCMU";
	} else if (pt == 8) {
		name = "PCMA";
	} else if (pt == 9) {
		name = "G722";
	}
	if (!name || !g_ascii_strcasecmp(name, "CN") || !g_ascii_strcasecmp(name, "telephone-event"))
		return NULL;
	const rg_codec_type *t;
	if (rg_codec_find(&t, name, rate, channels, fmtp) < 0 || (t->flags & RG_CODEC_F_EVENT))
		return NULL;
	return t;
}

static unsigned leg_of(rg_rec *rec, rg_media *m)
{
	for (unsigned i = 0; i < rec->n_legs; i++)
		if (rec->legs[i].media == m)
			return i;
	if (rec->n_legs == RG_REC_MAX_LEGS)
		return NO_LEG;
	rec_leg *l = &rec->legs[rec->n_legs];
	memset(l, 0, sizeof(*l));
	l->media = m;
	l->media_index = m->index;
	return rec->n_legs++;
}

static void ice_addrs(rec_leg *l, rg_media *m)
{
	struct sockaddr_storage peer, local;
	socklen_t ll = sizeof(local);
	int fd;
	if (!m->wrtc || !m->wrtc->ice || rg_ice_selected(m->wrtc->ice, 1, &fd, &peer) < 0 ||
	    getsockname(fd, (struct sockaddr *)&local, &ll) < 0)
		return;
	addr_set(&l->ice_src, &peer, 0);
	addr_set(&l->ice_dst, &local, 0);
}

void rg_rec_packet(rg_worker *w, rg_rec *rec, rg_media *m, const uint8_t *p, size_t len, bool is_rtcp,
		   const struct sockaddr_storage *src, const rg_sock *dst)
{
	if (rec->paused || __atomic_load_n(&rec->failed, __ATOMIC_RELAXED) || w->index >= mod.n_rings ||
	    len > UINT16_MAX)
		return;
	unsigned leg = leg_of(rec, m);
	rec_leg *l = leg != NO_LEG ? &rec->legs[leg] : NULL;
	const rg_codec_type *type = NULL;
	if (l && !is_rtcp && len >= 12) {
		unsigned pt = p[1] & 0x7f;
		if (!(l->pt_known[pt / 8] & (1u << (pt % 8)))) {
			l->pt_type[pt] = resolve_pt(m, pt);
			l->pt_known[pt / 8] |= (uint8_t)(1u << (pt % 8));
		}
		type = l->pt_type[pt];
	}
	rec_ring *r = &mod.rings[w->index];
	size_t need = (sizeof(rec_hdr) + len + 7) & ~(size_t)7;
	uint64_t nh;
	rec_hdr *h = ring_reserve(r, need, &nh);
	if (!h) {
		w->ctr[RG_CTR_REC_DROPS]++;
		__atomic_store_n(&rec->drops, rec->drops + 1, __ATOMIC_RELAXED);
		return;
	}
	h->size = (uint32_t)need;
	h->len = (uint16_t)len;
	h->leg = (uint8_t)leg;
	h->flags = is_rtcp ? REC_F_RTCP : 0;
	h->rec = rec;
	h->type = type;
	h->t_us = now_us();
	if (src) {
		addr_set(&h->src, src, 0);
		addr_set(&h->dst, dst ? &dst->iface->local : NULL, dst ? dst->port : 0);
	} else if (l) {
		if (l->ice_age++ % ICE_REFRESH == 0)
			ice_addrs(l, m);
		h->src = l->ice_src;
		h->dst = l->ice_dst;
	} else {
		memset(&h->src, 0, sizeof(h->src));
		memset(&h->dst, 0, sizeof(h->dst));
	}
	memcpy(h + 1, p, len);
	__atomic_store_n(&r->head, nh, __ATOMIC_RELEASE);
	w->ctr[RG_CTR_REC_PACKETS]++;
	__atomic_store_n(&rec->packets, rec->packets + 1, __ATOMIC_RELAXED);
}

/* ---- writer: files ---- */

/* Write all of buf at the end of fd; on failure cut the file back to *committed bytes (the last
 * complete record) and return -errno. */
static int write_all(int fd, const uint8_t *buf, size_t len, uint64_t *committed)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : ENOSPC;
			if (ftruncate(fd, (off_t)*committed) < 0 || lseek(fd, (off_t)*committed, SEEK_SET) < 0)
				rg_log(RG_LOG_DEBUG, "recording: cutting back a file: %s", strerror(errno));
			return -e;
		}
		done += (size_t)n;
	}
	*committed += len;
	return 0;
}

static void wav_header(uint8_t *h, unsigned rate, uint64_t data)
{
	uint32_t d = data > 0xffffffffu - 36 ? 0xffffffffu - 36 : (uint32_t)data;
	memcpy(h, "RIFF", 4);
	rg_put_le32(h + 4, 36 + d);
	memcpy(h + 8, "WAVEfmt ", 8);
	rg_put_le32(h + 16, 16);
	rg_put_le16(h + 20, 1);            /* PCM */
	rg_put_le16(h + 22, 1);            /* mono */
	rg_put_le32(h + 24, rate);
	rg_put_le32(h + 28, rate * 2);
	rg_put_le16(h + 32, 2);
	rg_put_le16(h + 34, 16);
	memcpy(h + 36, "data", 4);
	rg_put_le32(h + 40, d);
}

static int wav_fix_header(wav_leg *L)
{
	uint8_t h[WAV_HDR];
	wav_header(h, L->rate, L->committed);
	return pwrite(L->fd, h, sizeof(h), 0) == (ssize_t)sizeof(h) ? 0 : -(errno ? errno : EIO);
}

static void rec_fail(rg_rec *rec, int e, const char *what);

static int pcap_flush(rg_rec *rec)
{
	if (rec->pcap_fd < 0 || !rec->plen)
		return 0;
	int r = write_all(rec->pcap_fd, rec->pbuf, rec->plen, &rec->pcommitted);
	rec->plen = 0;
	return r;
}

static int wav_flush(wav_leg *L, bool fix)
{
	if (L->fd < 0)
		return 0;
	uint64_t c = WAV_HDR + L->committed;
	int r = 0;
	if (L->blen) {
		r = write_all(L->fd, L->buf, L->blen, &c);
		L->committed = c - WAV_HDR;
		L->blen = 0;
	}
	if (fix || r < 0) {
		int r2 = wav_fix_header(L);
		if (!r)
			r = r2;
	}
	return r;
}

/* Everything buffered to the files; WAV headers fixed up. false when the recording failed. */
static bool rec_flush(rg_rec *rec)
{
	if (rec->closed)
		return false;
	int r = pcap_flush(rec);
	if (r < 0) {
		rec_fail(rec, -r, "pcap");
		return false;
	}
	for (unsigned i = 0; i < RG_REC_MAX_LEGS; i++) {
		if ((r = wav_flush(&rec->wav[i], true)) < 0) {
			rec_fail(rec, -r, rec->wav[i].name);
			return false;
		}
	}
	return true;
}

static void close_files(rg_rec *rec)
{
	if (rec->pcap_fd >= 0)
		close(rec->pcap_fd);
	rec->pcap_fd = -1;
	for (unsigned i = 0; i < RG_REC_MAX_LEGS; i++) {
		wav_leg *L = &rec->wav[i];
		if (L->fd >= 0)
			close(L->fd);
		L->fd = -1;
		rg_dec_free(L->dec);
		L->dec = NULL;
	}
	rec->closed = true;
}

/* A file error: keep what is complete (each file was cut back to its last complete record by
 * write_all; the others are flushed as far as they go), close, log once, count. */
static void rec_fail(rg_rec *rec, int e, const char *what)
{
	if (rec->closed)
		return;
	rec->error = g_strdup_printf("%s: %s", what ? what : "file", strerror(e));
	pcap_flush(rec);
	for (unsigned i = 0; i < RG_REC_MAX_LEGS; i++)
		wav_flush(&rec->wav[i], true);
	close_files(rec);
	__atomic_store_n(&rec->failed, 1, __ATOMIC_RELEASE);
	rg_ctr_inc(RG_CTR_REC_ERRORS);
	rg_clog(RG_LOG_WARN, rec->call_id, "recording stopped: %s (%s/%s.*: kept up to the last complete "
		"packet); media still relayed", rec->error, rec->dir, rec->base);
}

static void pcap_append(rg_rec *rec, const void *d, size_t n)
{
	memcpy(rec->pbuf + rec->plen, d, n);
	rec->plen += n;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* v4-mapped IPv6 of an IPv4 rec_addr (a packet with one IPv6 end) */
static void as_v6(const rec_addr *a, uint8_t out[16])
{
	if (a->family == 6) {
		memcpy(out, a->a, 16);
		return;
	}
	memset(out, 0, 16);
	if (a->family == 4) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, a->a, 4);
	}
}

static void write_pcap(rg_rec *rec, const rec_hdr *h, const uint8_t *data)
{
	uint8_t hdr[16 + 14 + 40 + 8];
	size_t l2 = mod.linktype == LINKTYPE_ETHERNET ? 14 : 0;
	bool v6 = h->src.family == 6 || h->dst.family == 6;
	size_t ipl = v6 ? 40 : 20;
	size_t udp_len = 8 + h->len;
	size_t total = l2 + ipl + udp_len;
	if (rec->plen + 16 + total > PCAP_BUF) {
		int r = pcap_flush(rec);
		if (r < 0) {
			rec_fail(rec, -r, "pcap");
			return;
		}
	}
	uint8_t *p = hdr;
	rg_put_le32(p, (uint32_t)(h->t_us / 1000000));   /* pcap records are in host order: little */
	rg_put_le32(p + 4, (uint32_t)(h->t_us % 1000000));
	rg_put_le32(p + 8, (uint32_t)total);
	rg_put_le32(p + 12, (uint32_t)total);
	p += 16;
	if (l2) {
		static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };
		memcpy(p, macs, 12);
		rg_put_be16(p + 12, v6 ? 0x86dd : 0x0800);
		p += 14;
	}
	uint8_t *ip = p;
	uint32_t pseudo = 0;
	if (v6) {
		memset(ip, 0, 40);
		ip[0] = 0x60;
		rg_put_be16(ip + 4, (uint16_t)udp_len);
		ip[6] = 17;
		ip[7] = 64;
		as_v6(&h->src, ip + 8);
		as_v6(&h->dst, ip + 24);
		pseudo = csum_add(0, ip + 8, 32) + (uint32_t)udp_len + 17;
	} else {
		memset(ip, 0, 20);
		ip[0] = 0x45;
		rg_put_be16(ip + 2, (uint16_t)(20 + udp_len));
		rg_put_be16(ip + 4, rec->ip_id++);
		rg_put_be16(ip + 6, 0x4000);   /* DF */
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, h->src.a, 4);
		memcpy(ip + 16, h->dst.a, 4);
		rg_put_be16(ip + 10, csum_fold(csum_add(0, ip, 20)));
		pseudo = csum_add(0, ip + 12, 8) + (uint32_t)udp_len + 17;
	}
	uint8_t *udp = ip + ipl;
	memcpy(udp, &h->src.port, 2);
	memcpy(udp + 2, &h->dst.port, 2);
	rg_put_be16(udp + 4, (uint16_t)udp_len);
	rg_put_be16(udp + 6, 0);
	uint16_t ck = csum_fold(csum_add(csum_add(pseudo, udp, 8), data, h->len));
	rg_put_be16(udp + 6, ck ? ck : 0xffff);
	pcap_append(rec, hdr, 16 + l2 + ipl + 8);
	pcap_append(rec, data, h->len);
	rec->pwritten++;
}

static int wav_append(wav_leg *L, const int16_t *pcm, size_t n)
{
	while (n) {
		size_t room = (WAV_BUF - L->blen) / 2;
		if (!room) {
			int r = wav_flush(L, false);
			if (r < 0)
				return r;
			continue;
		}
		size_t k = n < room ? n : room;
		uint8_t *o = L->buf + L->blen;
		if (pcm) {
			for (size_t i = 0; i < k; i++)
				rg_put_le16(o + 2 * i, (uint16_t)pcm[i]);
			pcm += k;
		} else {
			memset(o, 0, 2 * k);
		}
		L->blen += 2 * k;
		L->samples += k;
		n -= k;
	}
	return 0;
}

static bool wav_open(rg_rec *rec, unsigned legi, wav_leg *L, unsigned rate)
{
	L->name = g_strdup_printf("%s-leg%u.wav", rec->base, legi + 1);
	char *path = g_build_filename(rec->dir, L->name, NULL);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	int e = errno;
	g_free(path);
	if (fd < 0) {
		rec_fail(rec, e, L->name);
		return false;
	}
	L->fd = fd;
	L->rate = rate;
	uint64_t c = 0;
	uint8_t h[WAV_HDR];
	wav_header(h, rate, 0);
	int r = write_all(fd, h, sizeof(h), &c);
	if (r < 0) {
		rec_fail(rec, -r, L->name);
		return false;
	}
	L->buf = g_malloc(WAV_BUF);
	return true;
}

static void write_wav(rg_rec *rec, unsigned legi, const rec_hdr *h, const uint8_t *pkt)
{
	static int16_t pcm[MAX_PCM];
	static rg_depkt dp;
	wav_leg *L = &rec->wav[legi];
	const rg_codec_type *t = h->type;
	rtp_info ri;
	if (L->unusable || rtp_parse(pkt, h->len, &ri) < 0 || !ri.payload_len)
		return;
	unsigned rate = t->pcm_rate ? t->pcm_rate : 48000;
	if (L->fd < 0) {
		if (!wav_open(rec, legi, L, rate))
			return;
		L->first_us = h->t_us;
	}
	if (t != L->type) {
		if (t->pcm_rate && t->pcm_rate != L->rate) {
			L->skipped++;   /* another codec at another rate: not in this file */
			return;
		}
		rg_dec_free(L->dec);
		L->dec = NULL;
		L->type = t;
		rg_codec_params prm;
		rg_codec_params_default(t, &prm);
		if (rg_dec_new(&L->dec, t, &prm, L->rate, 1) < 0) {
			rg_clog(RG_LOG_WARN, rec->call_id, "recording: no %s decoder: leg %u not in its WAV",
				t->name, legi + 1);
			L->dec = NULL;
		}
	}
	if (!L->dec) {
		L->skipped++;
		return;
	}
	uint64_t clock = t->rate ? t->rate : 8000;
	if (!L->started || ri.ssrc != L->ssrc) {
		if (L->started)
			L->resyncs++;
		L->started = true;
		L->ssrc = ri.ssrc;
		L->next_ts = ri.ts;
	}
	int32_t d = (int32_t)(ri.ts - L->next_ts);
	int r = 0;
	if (d < 0) {
		if ((uint64_t)(-(int64_t)d) < clock) {
			L->late++;     /* reordered or duplicate: its place is written already */
			return;
		}
		L->resyncs++;
	} else if (d > 0) {
		if ((uint64_t)d <= RG_REC_MAX_GAP_S * clock)
			r = wav_append(L, NULL, (size_t)((uint64_t)d * L->rate / clock));
		else
			L->resyncs++;
	}
	L->next_ts = ri.ts;
	if (r < 0) {
		rec_fail(rec, -r, L->name);
		return;
	}
	const uint8_t *pl = pkt + ri.hdr_len;
	rg_frame one = { pl, ri.payload_len };
	const rg_frame *frames = &one;
	unsigned nf = 1;
	if (t->depacketize) {
		rg_codec_params prm;
		rg_codec_params_default(t, &prm);
		if (t->depacketize(t, &prm, pl, ri.payload_len, &dp) < 0) {
			L->skipped++;
			return;
		}
		frames = dp.frame;
		nf = dp.n;
	}
	uint64_t got_total = 0;
	for (unsigned i = 0; i < nf; i++) {
		unsigned got = 0;
		if (rg_dec_decode(L->dec, frames[i].data, frames[i].len, pcm, MAX_PCM, &got) < 0)
			continue;
		if ((r = wav_append(L, pcm, got)) < 0) {
			rec_fail(rec, -r, L->name);
			return;
		}
		got_total += got;
	}
	if (!got_total) {
		L->skipped++;
		return;
	}
	L->packets++;
	L->next_ts = ri.ts + (uint32_t)(got_total * clock / L->rate);
}

static void write_one(const rec_hdr *h, const uint8_t *data)
{
	rg_rec *rec = h->rec;
	if (rec->closed)
		return;
	write_pcap(rec, h, data);
	if (!rec->closed && h->leg != NO_LEG && h->type && !(h->flags & REC_F_RTCP))
		write_wav(rec, h->leg, h, data);
}

/* ---- metadata ---- */

static char *esc(const char *s)
{
	return g_strescape(s ? s : "", NULL);
}

/* The call's part (call lock held, or the call's last reference): metadata, parties, legs. */
static char *meta_of_call(rg_call *c, rg_rec *rec)
{
	GString *g = g_string_new(NULL);
	char *m = esc(c->metadata);
	g_string_append_printf(g, "metadata: %s\n", m);
	g_free(m);
	for (guint i = 0; i < c->parties->len; i++) {
		rg_party *p = c->parties->pdata[i];
		char *t = esc(p->tag), *l = esc(p->label);
		g_string_append_printf(g, "party: tag=%s label=%s\n", t, l);
		g_free(t);
		g_free(l);
	}
	for (unsigned i = 0; i < rec->n_legs; i++) {
		rg_media *md = rec->legs[i].media;
		char *t = esc(md->party->tag), *l = esc(md->party->label);
		g_string_append_printf(g, "leg%u-party: media=%u tag=%s label=%s\n", i + 1, rec->legs[i].media_index,
				       t, l);
		g_free(t);
		g_free(l);
	}
	return g_string_free(g, FALSE);
}

/* Write <base>.meta through a temporary file, so a failure (a full disk) leaves the last good
 * one in place. */
static int meta_write(rg_rec *rec, const char *status)
{
	GString *g = g_string_new("rtpgate-recording: 1\n");
	char *cid = esc(rec->call_id), *st = iso_time(rec->start_us);
	g_string_append_printf(g, "call-id: %s\nstart: %s\n", cid, st);
	g_free(cid);
	g_free(st);
	if (rec->stop_us) {
		char *sp = iso_time(rec->stop_us);
		g_string_append_printf(g, "stop: %s\n", sp);
		g_free(sp);
	}
	g_string_append_printf(g, "status: %s\n", status);
	g_string_append(g, rec->meta_call ? rec->meta_call : "");
	g_string_append_printf(g, "pcap: %s.pcap\nlinktype: %s\npackets: %" G_GUINT64_FORMAT "\n"
			       "recorded: %" G_GUINT64_FORMAT "\ndropped: %" G_GUINT64_FORMAT "\n",
			       rec->base, mod.linktype == LINKTYPE_ETHERNET ? "ethernet" : "raw",
			       __atomic_load_n(&rec->packets, __ATOMIC_RELAXED), rec->pwritten,
			       __atomic_load_n(&rec->drops, __ATOMIC_RELAXED));
	for (unsigned i = 0; i < RG_REC_MAX_LEGS; i++) {
		wav_leg *L = &rec->wav[i];
		if (!L->name)
			continue;
		char *fp = iso_time(L->first_us);
		g_string_append_printf(g, "leg%u: file=%s codec=%s/%u rate=%u samples=%" G_GUINT64_FORMAT
				       " packets=%" G_GUINT64_FORMAT " skipped=%" G_GUINT64_FORMAT " late=%"
				       G_GUINT64_FORMAT " resyncs=%" G_GUINT64_FORMAT "\nleg%u-first-packet: %s\n",
				       i + 1, L->name, L->type ? L->type->name : "-", L->type ? L->type->rate : 0,
				       L->rate, L->committed / 2, L->packets, L->skipped, L->late, L->resyncs, i + 1, fp);
		g_free(fp);
	}
	char *path = g_strdup_printf("%s/%s.meta", rec->dir, rec->base);
	char *tmp = g_strdup_printf("%s.tmp", path);
	int e = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		e = errno;
	} else {
		uint64_t c = 0;
		int r = write_all(fd, (const uint8_t *)g->str, g->len, &c);
		if (close(fd) < 0 && !r)
			r = -errno;
		if (r < 0 || rename(tmp, path) < 0) {
			e = r < 0 ? -r : errno;
			unlink(tmp);
		}
	}
	g_free(tmp);
	g_free(path);
	g_string_free(g, TRUE);
	return -e;
}

/* Writer (or shutdown): files finished, final metadata. */
static void rec_finish(rg_rec *rec)
{
	if (!rec->closed) {
		rec_flush(rec);
		close_files(rec);
	}
	if (!rec->stop_us)
		rec->stop_us = now_us();
	char *status = rec->error ? g_strdup_printf("failed: %s", rec->error) : g_strdup("ok");
	int r = meta_write(rec, status);
	if (r < 0)
		rg_clog(RG_LOG_WARN, rec->call_id, "recording: final metadata not written: %s", strerror(-r));
	else
		rg_clog(RG_LOG_INFO, rec->call_id, "recording finished (%s): %s/%s.*, %" G_GUINT64_FORMAT
			" packets", status, rec->dir, rec->base, rec->pwritten);
	g_free(status);
}

static void rec_free(rg_rec *rec)
{
	for (unsigned i = 0; i < RG_REC_MAX_LEGS; i++) {
		g_free(rec->wav[i].name);
		g_free(rec->wav[i].buf);
		rg_dec_free(rec->wav[i].dec);
	}
	g_free(rec->pbuf);
	g_free(rec->error);
	g_free(rec->meta_call);
	g_free(rec->call_id);
	g_free(rec->dir);
	g_free(rec->base);
	g_free(rec);
}

/* ---- writer thread ---- */

static gpointer writer_main(gpointer data)
{
	(void)data;
	int64_t last_flush = g_get_monotonic_time();
	g_mutex_lock(&mod.lock);
	for (;;) {
		if (mod.hold && !mod.stop) {
			g_cond_wait_until(&mod.cond, &mod.lock, g_get_monotonic_time() + 10 * 1000);
			continue;
		}
		GPtrArray *starts = mod.starts, *closes = mod.closes;
		mod.starts = g_ptr_array_new();
		mod.closes = g_ptr_array_new();
		bool stop = mod.stop;
		g_mutex_unlock(&mod.lock);

		for (guint i = 0; i < starts->len; i++)
			g_ptr_array_add(mod.active, starts->pdata[i]);
		/* every record of a detached recording was queued before its detach: drain first */
		for (unsigned i = 0; i < mod.n_rings; i++)
			ring_drain(&mod.rings[i]);
		for (guint i = 0; i < closes->len; i++) {
			rg_rec *rec = closes->pdata[i];
			g_ptr_array_remove_fast(mod.active, rec);
			rec_finish(rec);
			rec_free(rec);
		}
		g_ptr_array_free(starts, TRUE);
		g_ptr_array_free(closes, TRUE);
		int64_t now = g_get_monotonic_time();
		if (now - last_flush >= FLUSH_US || stop) {
			last_flush = now;
			for (guint i = 0; i < mod.active->len; i++)
				rec_flush(mod.active->pdata[i]);
		}
		if (stop) {
			/* still attached to a call: files finished now, memory freed with the call */
			for (guint i = 0; i < mod.active->len; i++)
				rec_finish(mod.active->pdata[i]);
			g_ptr_array_set_size(mod.active, 0);
			break;
		}
		g_mutex_lock(&mod.lock);
		if (!mod.stop && !mod.starts->len && !mod.closes->len)
			g_cond_wait_until(&mod.cond, &mod.lock,
					  g_get_monotonic_time() + (mod.active->len ? 20 : 1000) * 1000);
	}
	return NULL;
}

/* A recording leaves its call: the writer finishes and frees it (or, after shutdown, now). */
static void hand_over(rg_rec *rec)
{
	g_mutex_lock(&mod.lock);
	if (mod.running) {
		g_ptr_array_add(mod.closes, rec);
		g_cond_signal(&mod.cond);
		g_mutex_unlock(&mod.lock);
		return;
	}
	g_mutex_unlock(&mod.lock);
	rec_free(rec);   /* shutdown finished its files already */
}

static void detach(rg_call *c)
{
	rg_rec *rec = c->rec;
	c->rec = NULL;
	g_free(rec->meta_call);
	rec->meta_call = meta_of_call(c, rec);
	rec->stop_us = now_us();
	hand_over(rec);
}

/* ---- module ---- */

int rg_rec_init(const rg_config *cfg, unsigned n_workers, char **err)
{
	if (cfg->recording_method && g_ascii_strcasecmp(cfg->recording_method, "pcap") != 0) {
		*err = g_strdup_printf("recording-method '%s' is not supported (only 'pcap')", cfg->recording_method);
		return -EINVAL;
	}
	int linktype = LINKTYPE_RAW;
	if (cfg->recording_format && !g_ascii_strcasecmp(cfg->recording_format, "eth"))
		linktype = LINKTYPE_ETHERNET;
	else if (cfg->recording_format && g_ascii_strcasecmp(cfg->recording_format, "raw") != 0) {
		*err = g_strdup_printf("recording-format '%s' is not supported ('raw' or 'eth')", cfg->recording_format);
		return -EINVAL;
	}
	if (!cfg->recording_dir || mod.enabled)
		return 0;
	if (g_mkdir_with_parents(cfg->recording_dir, 0750) < 0 || access(cfg->recording_dir, W_OK | X_OK) < 0)
		rg_log(RG_LOG_WARN, "recording-dir %s is not usable (%s): every recording will fail until it is",
		       cfg->recording_dir, strerror(errno));
	mod.dir = g_strdup(cfg->recording_dir);
	mod.linktype = linktype;
	mod.n_rings = n_workers ? n_workers : 1;
	mod.rings = g_new0(rec_ring, mod.n_rings);
	size_t rb = mod.ring_bytes ? mod.ring_bytes : RG_REC_RING_BYTES;
	for (unsigned i = 0; i < mod.n_rings; i++) {
		mod.rings[i].size = rb;
		mod.rings[i].buf = g_malloc(rb);
	}
	mod.starts = g_ptr_array_new();
	mod.closes = g_ptr_array_new();
	mod.active = g_ptr_array_new();
	mod.stop = false;
	mod.running = true;
	mod.enabled = true;
	mod.thread = g_thread_new("rg-recorder", writer_main, NULL);
	rg_log(RG_LOG_INFO, "recording to %s (pcap, %s; a WAV per leg)", mod.dir,
	       linktype == LINKTYPE_ETHERNET ? "Ethernet" : "raw IP");
	return 0;
}

void rg_rec_shutdown(void)
{
	if (!mod.enabled)
		return;
	mod.enabled = false;
	g_mutex_lock(&mod.lock);
	mod.stop = true;
	g_cond_signal(&mod.cond);
	g_mutex_unlock(&mod.lock);
	g_thread_join(mod.thread);
	mod.thread = NULL;
	g_mutex_lock(&mod.lock);
	mod.running = false;
	/* detached after the writer's last look: finish here */
	for (guint i = 0; i < mod.closes->len; i++) {
		rec_finish(mod.closes->pdata[i]);
		rec_free(mod.closes->pdata[i]);
	}
	g_ptr_array_free(mod.closes, TRUE);
	g_ptr_array_free(mod.starts, TRUE);   /* their recordings are in active (finished) or closed */
	mod.closes = mod.starts = NULL;
	g_mutex_unlock(&mod.lock);
	g_ptr_array_free(mod.active, TRUE);
	mod.active = NULL;
	for (unsigned i = 0; i < mod.n_rings; i++)
		g_free(mod.rings[i].buf);
	g_free(mod.rings);
	mod.rings = NULL;
	mod.n_rings = 0;
	g_free(mod.dir);
	mod.dir = NULL;
}

/* ---- signalling ---- */

static int open_excl(const char *dir, const char *name, char **base_out, int *err)
{
	for (unsigned k = 1; k <= 1000; k++) {
		char *base = k == 1 ? g_strdup(name) : g_strdup_printf("%s-%u", name, k);
		char *path = g_strdup_printf("%s/%s.pcap", dir, base);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
		*err = errno;
		g_free(path);
		if (fd >= 0) {
			*base_out = base;
			return fd;
		}
		g_free(base);
		if (*err != EEXIST)
			return -1;
	}
	return -1;
}

int rg_rec_start(rg_call *c, const char *name_hint, char **err)
{
	if (!mod.enabled) {
		*err = g_strdup("recording not configured (no recording-dir)");
		return -ENOTSUP;
	}
	if (c->rec && !__atomic_load_n(&c->rec->failed, __ATOMIC_ACQUIRE)) {
		if (c->rec->paused)
			rg_clog(RG_LOG_INFO, c->call_id, "recording resumed");
		c->rec->paused = false;
		return 0;
	}
	if (c->rec)
		detach(c);   /* failed before: a new recording replaces it */
	rg_rec *rec = g_new0(rg_rec, 1);
	rec->call_id = g_strdup(c->call_id);
	rec->dir = g_strdup(mod.dir);
	rec->start_us = now_us();
	rec->pcap_fd = -1;
	for (unsigned i = 0; i < RG_REC_MAX_LEGS; i++)
		rec->wav[i].fd = -1;
	rec->meta_call = meta_of_call(c, rec);
	/* The files are created without the call lock: a slow disk must not hold up the call's
	 * worker. Signalling is one thread and the caller holds a reference, so the call is the
	 * same when the lock is taken again (the worker changes only its packet state meanwhile). */
	g_mutex_unlock(&c->lock);
	int r = rec_create(rec, name_hint, err);
	g_mutex_lock(&c->lock);
	if (r < 0) {
		rec_free(rec);
		rg_ctr_inc(RG_CTR_REC_ERRORS);
		return r;
	}
	g_mutex_lock(&mod.lock);
	g_ptr_array_add(mod.starts, rec);
	g_cond_signal(&mod.cond);
	g_mutex_unlock(&mod.lock);
	c->rec = rec;
	rg_clog(RG_LOG_INFO, c->call_id, "recording to %s/%s.pcap", rec->dir, rec->base);
	return 0;
}

/* The files of a new recording (no lock held): the directory, the pcap with its header, the
 * metadata. 0 or -errno with *err. */
static int rec_create(rg_rec *rec, const char *name_hint, char **err)
{
	int e;
	if (g_mkdir_with_parents(rec->dir, 0750) < 0) {
		e = errno;
		*err = g_strdup_printf("recording-dir %s: %s", rec->dir, strerror(e));
		return -e;
	}
	char name[96];
	rg_rec_safe_name(rec->call_id, name_hint, name, sizeof(name));
	int fd = open_excl(rec->dir, name, &rec->base, &e);
	if (fd < 0) {
		*err = g_strdup_printf("%s/%s.pcap: %s", rec->dir, name, strerror(e));
		return -e;
	}
	rec->pcap_fd = fd;
	uint8_t gh[24];
	rg_put_le32(gh, 0xa1b2c3d4);
	rg_put_le16(gh + 4, 2);
	rg_put_le16(gh + 6, 4);
	rg_put_le32(gh + 8, 0);
	rg_put_le32(gh + 12, 0);
	rg_put_le32(gh + 16, 65535);
	rg_put_le32(gh + 20, (uint32_t)mod.linktype);
	int r = write_all(fd, gh, sizeof(gh), &rec->pcommitted);
	if (!r)
		r = meta_write(rec, "recording");
	if (r < 0) {
		*err = g_strdup_printf("%s/%s: %s", rec->dir, rec->base, strerror(-r));
		close(fd);
		rec->pcap_fd = -1;
		char *p = g_strdup_printf("%s/%s.pcap", rec->dir, rec->base);
		unlink(p);
		g_free(p);
		return r;
	}
	rec->pbuf = g_malloc(PCAP_BUF);
	return 0;
}

bool rg_rec_stop(rg_call *c, char **why)
{
	if (!c->rec)
		return false;
	if (why && __atomic_load_n(&c->rec->failed, __ATOMIC_ACQUIRE))
		*why = g_strdup(c->rec->error);
	detach(c);
	rg_clog(RG_LOG_INFO, c->call_id, "recording stopped");
	return true;
}

bool rg_rec_pause(rg_call *c)
{
	if (!c->rec)
		return false;
	c->rec->paused = true;
	rg_clog(RG_LOG_INFO, c->call_id, "recording paused");
	return true;
}

void rg_rec_sdp_changed(rg_call *c)
{
	if (!c->rec)
		return;
	for (unsigned i = 0; i < c->rec->n_legs; i++)
		memset(c->rec->legs[i].pt_known, 0, sizeof(c->rec->legs[i].pt_known));
}

void rg_rec_call_freed(rg_call *c)
{
	if (c->rec)
		detach(c);
}

char *rg_rec_path(rg_call *c)
{
	return c->rec ? g_strdup_printf("%s/%s", c->rec->dir, c->rec->base) : NULL;
}

void rg_rec_test_set_ring(size_t bytes)
{
	size_t b = 4096;
	while (b < bytes)
		b <<= 1;
	mod.ring_bytes = bytes ? b : 0;
}

void rg_rec_test_hold_writer(bool hold)
{
	g_mutex_lock(&mod.lock);
	mod.hold = hold;
	g_cond_signal(&mod.cond);
	g_mutex_unlock(&mod.lock);
}
