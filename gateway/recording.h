/* Call recording (rtpproxy R/C/N, NG start/stop/pause recording, record-call=yes|no).
 *
 * Per recorded call, under --recording-dir (rtpengine's recording-dir; --recording-method=pcap,
 * --recording-format=raw|eth):
 *   <base>.pcap        every packet either party sent to rtpgate (plain RTP/RTCP: after SRTP
 *                      unprotect on SDES and WebRTC legs), both legs in one file, each with an
 *                      IPv4/IPv6 + UDP header built from the packet's source and our socket;
 *                      LINKTYPE_RAW (101) or, with recording-format=eth, LINKTYPE_ETHERNET (1)
 *   <base>-legN.wav    per leg (one party's media, in the order its first audio packet came),
 *                      the audio decoded with the codec its payload type maps to (the party's
 *                      SDP via codec_neg.h, else the static RFC 3551 types), 16-bit mono PCM at
 *                      that codec's PCM rate (G.722 16 kHz, Opus 48 kHz); telephone-event and CN
 *                      skipped; a gap in RTP timestamps up to RG_REC_MAX_GAP_S is filled with
 *                      silence, a larger one (or an SSRC change) resynchronises without filling
 *   <base>.meta        text, one "key: value" per line: call-id, metadata, start, stop, parties
 *                      (tag, label), the files, per leg media/tag/codec/rate/samples, counters and
 *                      the outcome; written at start and rewritten (via a temporary file) at stop
 * <base> = the call-id (or a C target's file name) made safe: only [A-Za-z0-9._+=@-], others
 * '_', no leading '.', at most 64 characters, then '-' and 8 hex digits of a hash of the full
 * call-id (and target); "-2", "-3"... when a recording of that name exists already.
 *
 * Threads and ownership:
 *  - Signalling (main thread, call lock held) creates an rg_rec (rg_rec_start: the directory is
 *    created if missing, the pcap header and the metadata are written at once so an unwritable
 *    directory or a full disk is an error in the reply) and hangs it on the call (call->rec).
 *    The call owns it until it is detached: by rg_rec_stop (call lock held) or when the call is
 *    freed (rg_rec_call_freed, from rg_call_unref). Detaching hands the rg_rec to the writer
 *    thread, which frees it after writing what is still queued for it.
 *  - The packet path (the call's worker, call lock held) copies each received packet into its
 *    worker's ring (rg_rec_packet): a preallocated single-producer single-consumer byte ring per
 *    worker, no allocation, no system call except clock_gettime. Ring full: the packet is not
 *    recorded, counted in recording-drops. It reads only rg_rec fields marked "worker" below.
 *  - One writer thread ("rg-recorder", started by rg_rec_init when recording is configured)
 *    drains the rings into the files through per-file buffers, flushes at least once a second
 *    and then fixes up the WAV headers, so a crash loses at most about a second. A write error
 *    (ENOSPC, EIO, EACCES...) cuts the files back to the last complete record, fixes the WAV
 *    headers, closes everything, logs once with the call-id and counts recording-errors; that
 *    call's recording stops (the worker sees rec->failed and stops copying), the relay goes on.
 *  - Ordering: a record in a ring always precedes the rg_rec's detach (both happen with the
 *    call lock held), and the writer processes a detach only after draining every ring past
 *    the moment it took the detach: a record never outlives its rg_rec.
 *  - rg_rec_shutdown (engine stop, after the workers stopped): the writer drains the rings,
 *    closes what was detached and finishes the files of recordings still attached (their
 *    rg_rec is freed with the call). Without recording-dir nothing is started and every command
 *    answers "recording not configured".
 * Locks: rec_mod.lock guards the writer's op queue (signalling and whichever thread frees a call
 * push ops; the writer pops them); never taken on the packet path and never while the writer
 * writes files. Lock order: call->lock before rec_mod.lock. */
#ifndef RG_RECORDING_H
#define RG_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "call.h"
#include "config.h"
#include "worker.h"

#define RG_REC_MAX_LEGS 8          /* WAV files per call; further legs go to the pcap only */
#define RG_REC_MAX_GAP_S 10        /* longest RTP timestamp gap filled with silence */
#define RG_REC_RING_BYTES (2u << 20)  /* per worker */

typedef struct rg_rec rg_rec;

/* Engine start: with cfg->recording_dir, one ring per worker and the writer thread. 0, or
 * -EINVAL with *err (recording-method / recording-format not supported). An unwritable directory
 * is only a warning here (it may be fixed later); each start reports it. */
int rg_rec_init(const rg_config *cfg, unsigned n_workers, char **err);
/* Engine stop, after rg_workers_stop(): flush and close everything, stop the writer. */
void rg_rec_shutdown(void);
/* Recording is configured. */
bool rg_rec_enabled(void);

/* Signalling, call lock held. Start recording call c (or resume a paused recording; a failed
 * one is replaced by a new one). The call lock is released while the files are created (no
 * file I/O under a lock the worker takes) and taken again before it returns. name_hint: NULL = from the call-id, else a C target's file
 * name (its last path component is used). 0, or a negative errno with *err (g_malloc'd reason:
 * "recording not configured", "<path>: Permission denied"...). */
int rg_rec_start(rg_call *c, const char *name_hint, char **err);
/* Stop and detach (files finished by the writer). false when the call was not being recorded.
 * *why (may be NULL): set to a g_malloc'd text when the recording had failed before. */
bool rg_rec_stop(rg_call *c, char **why);
/* Pause: packets are not recorded until rg_rec_start resumes. false when not recording. */
bool rg_rec_pause(rg_call *c);
/* Offer/answer changed the call's SDP: payload type -> codec mappings are looked up again. */
void rg_rec_sdp_changed(rg_call *c);
/* rg_call_unref, last reference (parties still there): detach and hand to the writer. */
void rg_rec_call_freed(rg_call *c);
/* "<dir>/<base>" of the call's recording (g_malloc'd), NULL when not recording (tests, logs). */
char *rg_rec_path(rg_call *c);

/* Packet path (worker, call lock held, rec == the call's rec): packet p of len bytes, plain RTP
 * or RTCP, received from party of media m. src: where it came from; dst: the socket it came in
 * on. NULL src/dst (a WebRTC leg): the leg's ICE pair, looked up now and then. */
void rg_rec_packet(rg_worker *w, rg_rec *rec, rg_media *m, const uint8_t *p, size_t len, bool is_rtcp,
		   const struct sockaddr_storage *src, const rg_sock *dst);

/* Helpers (exposed for tests): the safe base name of a call-id (and optional hint) into out. */
void rg_rec_safe_name(const char *call_id, const char *hint, char *out, size_t outlen);
/* Tests: ring size (rounded up to a power of two) for the next rg_rec_init, 0 = the default;
 * holding the writer (it drains nothing while held) to fill a ring. */
void rg_rec_test_set_ring(size_t bytes);
void rg_rec_test_hold_writer(bool hold);

#endif
