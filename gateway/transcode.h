/* Transcoding on the packet path: one rg_transcoder per media and direction (RTP received from
 * the media's party, sent to the peer): an rg_pipeline (codecs/rg_codec.h: decode -> resample ->
 * encode with ptime repacketization) plus the output RTP state (our own SSRC, continuous
 * sequence numbers and timestamps, the payload type the receiver negotiated).
 *
 * Created by signalling at answer time (codec_neg.c) with the call lock held, owned by
 * rg_media_codecs.xc; used only by the call's worker under the call lock; no allocation per
 * packet. From its first packet on, the worker also holds it on its timer list (with a call
 * reference): rg_transcoder_free() while it is listed only marks it, and the worker frees it
 * when it lets go (rg_transcoder_unwatch). */
#ifndef RG_TRANSCODE_H
#define RG_TRANSCODE_H

#include "call.h"
#include "rg_codec.h"
#include "rtp.h"
#include "worker.h"

typedef struct rg_transcoder rg_transcoder;

/* in_pt: the payload type the sender uses for in_t (others are dropped unless added by
 * rg_transcoder_add_input); out_pt
 * what the receiver expects for out_t. fmtp strings may be NULL. out_ptime 0 = from out_fmtp or
 * 20 ms. NULL with *err on failure. */
rg_transcoder *rg_transcoder_new(const rg_codec_type *in_t, const char *in_fmtp, int in_pt,
				 const rg_codec_type *out_t, const char *out_fmtp, int out_pt,
				 unsigned out_ptime, const char **err);
void rg_transcoder_free(rg_transcoder *xc);
/* Another codec the sender may send (RFC 3264 5.1: any it negotiated; rtp_pt its payload type),
 * put into the same output stream (our SSRC, sequence numbers and timestamps continuing):
 * pass_pt -1: transcoded into out_t; else the receiver has this codec too under pass_pt, and its
 * packets are passed through unchanged but for the header (decoded only while in-band DTMF is
 * detected or generated on this direction). Its decoder is made now, switching to it when its
 * packets come allocates nothing. NULL, or why not. */
const char *rg_transcoder_add_input(rg_transcoder *xc, const rg_codec_type *t, const char *fmtp, int rtp_pt,
				    int pass_pt);
/* The pass_pt an input of payload type rtp_pt was added with (-1: transcoded, or no such input). */
int rg_transcoder_pass_pt(const rg_transcoder *xc, int rtp_pt);
/* A re-negotiated transcoder goes on with the output stream of the one it replaces (same SSRC,
 * sequence numbers and timestamps continue). */
void rg_transcoder_continue(rg_transcoder *xc, const rg_transcoder *old);
/* RFC 4733 telephone-event: packets of payload type in_pt (clock in_rate) pass through as out_pt
 * (clock out_rate): durations scaled, timestamps placed in our output stream. When only the
 * sender has telephone-event (out_pt -1), its events become in-band tones in the audio; when only
 * the receiver has it (in_pt -1), in-band tones of the sender's audio are detected and sent as
 * events (the audio is left as it is). Both -1: events are dropped. */
void rg_transcoder_set_events(rg_transcoder *xc, int in_pt, unsigned in_rate, int out_pt, unsigned out_rate);
/* The sender's RFC 3389 comfort noise payload type (-1: none): its CN packets set the level of
 * the noise rtpgate sends in its silence (rg_pipeline_push_cn). */
void rg_transcoder_set_cn(rg_transcoder *xc, int cn_pt);

/* Gap filling, for every transcoder (from the config, at start-up): when a sender goes quiet
 * (Opus DTX, silence suppression, RFC 3389 CN, lost packets) for dtx_delay_ms after its next
 * packet was due (at once after a CN; 10 ms when it paused within the last 2 s), rtpgate keeps
 * sending to the receiver: one output ptime per ptime of real time, of comfort noise (CN level,
 * or the decoder's own after Opus DTX / AMR SID) or concealment fading to silence, so the
 * receiver's stream keeps its pace and clock. dtx_delay_ms 0 = never; max_dtx_s 0 = as long as
 * the call lives (its media timeout ends it), else the filling stops after that long. */
void rg_transcode_configure(unsigned dtx_delay_ms, unsigned max_dtx_s);
/* Worker, from its timer list (rg_worker_watch_xc; a transcoder is put there with a call
 * reference by its first packet): jitter-buffer expiry and gap filling. Returns ms until it
 * wants to run again, < 0 to be let go (call dead, transcoder freed by signalling). */
int rg_transcoder_tick(rg_transcoder *xc, rg_worker *w);
/* The worker lets go of it: frees it if signalling freed it meanwhile, drops the call ref. */
void rg_transcoder_unwatch(rg_transcoder *xc);

/* Worker, call lock held: one plain RTP packet (parsed into ri) received on media m, whose
 * codecs->xc is set: push its payload, pull every ready output packet and send it to m's peer
 * (plain socket, SDES-SRTP or WebRTC leg). */
void rg_transcode_rtp(rg_worker *w, rg_media *m, const uint8_t *pkt, const rtp_info *ri);

/* Worker, call lock held: RTCP received on transcoded media m (not forwarded: it describes the
 * party's view of our stream). Its SR feeds the LSR/DLSR of the reports we send to the party.
 * Our own SR + SDES go to each party every 5 s (randomized) while media flows toward it. */
void rg_transcode_rtcp_in(rg_media *m, const rtcp_info *ri);

typedef struct rg_transcoder_stats {
	uint64_t packets_in, packets_out, dropped, errors;
	uint64_t dtmf_events_out;    /* digits detected in-band and sent as RFC 4733 events */
	uint64_t dtmf_tones_out;     /* RFC 4733 events turned into in-band tones */
	uint64_t rtcp_out;           /* SRs we generated toward the receiver */
	uint64_t jb_reordered;       /* packets the jitter buffer held until the gap before them filled */
	uint64_t jb_late;            /* packets that came after their place was concealed */
	uint64_t jb_gaps;            /* gaps given up (lost packets) */
	uint64_t cn_in;              /* RFC 3389 comfort noise packets taken from the sender */
	uint64_t fill_periods;       /* times the input went quiet and rtpgate filled the gap */
	uint64_t fill_packets;       /* output packets made while filling */
	uint64_t dtx_out;            /* Opus DTX frames not sent (receiver said usedtx=1) */
	uint64_t ssrc_changes;       /* the sender's SSRC changed (a new source, taken seamlessly) */
	uint64_t ts_jumps;           /* its timestamps jumped > 1 s against real time (taken seamlessly) */
	uint64_t codec_switches;     /* it switched between its codecs (rg_transcoder_add_input) */
	uint64_t passed;             /* packets of a codec both sides have, passed through */
	uint32_t ssrc;
} rg_transcoder_stats;
void rg_transcoder_get_stats(const rg_transcoder *xc, rg_transcoder_stats *out);

#endif
