/* NG control protocol (rtpengine's "ng": "<cookie> <bencoded dict>" over UDP).
 * ng.c owns the listening sockets (on the main GMainContext) and the reply cache;
 * ng_cmds.c implements the commands; ng_stats.c writes call statistics.
 * An ng_req points into the request's buffer and bencode document, both owned by the caller of
 * the command handler (ng.c) for the duration of one request. */
#ifndef RG_NG_H
#define RG_NG_H

#include <glib.h>
#include <stdbool.h>
#include "bencode.h"
#include "call.h"
#include "str.h"

/* codec ops, in the order codec_neg.c applies them */
enum { NG_CODEC_STRIP, NG_CODEC_EXCEPT, NG_CODEC_OFFER, NG_CODEC_MASK, NG_CODEC_CONSUME, NG_CODEC_ACCEPT,
       NG_CODEC_TRANSCODE, NG_CODEC_SET, NG_CODEC__N };
#define NG_CODEC_MAX 16
extern const char *const ng_codec_op_names[NG_CODEC__N];

typedef struct ng_req {
	const be_node *dict;
	rg_str command;
	rg_str call_id, from_tag, to_tag, via_branch, sdp, label, set_label, metadata;
	rg_str media_address, address_family, ice, dtls, transport_protocol, record_call, ice_lite;
	rg_str received_from_family, received_from_addr;
	rg_str direction[2];
	unsigned n_direction;
	int64_t delete_delay;       /* -1 = not given */
	int64_t limit;              /* list */
	/* flags */
	bool trust_address, sip_source_address, symmetric, asymmetric, port_latching,
	     no_port_latching, strict_source, media_handover, no_rtcp_attribute,
	     full_rtcp_attribute, loop_protect, original_sendrecv, record_call_flag, fatal, all,
	     fragment, generate_mid, strip_extmap, unidirectional, reset, always_transcode, single_codec;
	int64_t ptime, ptime_reverse;   /* ms; 0 = not given */
	/* replace list */
	bool replace_origin, replace_session_connection, replace_session_name,
	     replace_sdp_version, replace_username, replace_zero_address;
	/* rtcp-mux list */
	bool mux_offer, mux_demux, mux_accept, mux_reject, mux_require;
	bool supports_load_limit;
	rg_str sdes[8];             /* "SDES" list items: off, no-<suite>, only-<suite> */
	unsigned n_sdes;
	bool sdes_off;
	/* codec manipulation (ng-protocol 6.4): the `codec` dict and codec-<op>-<codec> flags */
	rg_str codec[NG_CODEC__N][NG_CODEC_MAX];
	unsigned n_codec[NG_CODEC__N];
	GString *warnings;          /* "; "-separated, owned by the request */
} ng_req;

/* Parse keys and flags of a request dictionary into r (warnings for unknown/unsupported ones).
 * Returns NULL or an error text for the reply. */
const char *ng_req_parse(ng_req *r, const be_node *dict);
void ng_req_clear(ng_req *r);
void ng_warn(ng_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Process one datagram's payload (after the cookie) and return the reply dictionary bytes
 * (g_malloc'd, *len set). Exposed for tests and fuzzers: no sockets involved. */
char *ng_process(const char *payload, size_t len, size_t *out_len);

/* Command handlers: write their reply keys into the open reply dict; NULL on success, else the
 * error-reason (then the reply is replaced by an error reply). */
const char *ng_cmd_offer(ng_req *r, be_buf *reply);
const char *ng_cmd_answer(ng_req *r, be_buf *reply);
const char *ng_cmd_delete(ng_req *r, be_buf *reply);
const char *ng_cmd_query(ng_req *r, be_buf *reply);
const char *ng_cmd_list(ng_req *r, be_buf *reply);
/* Prompts and DTMF (player.h): play media / stop media to a participant, play DTMF from one. */
const char *ng_cmd_play_media(ng_req *r, be_buf *reply);
const char *ng_cmd_stop_media(ng_req *r, be_buf *reply);
const char *ng_cmd_play_dtmf(ng_req *r, be_buf *reply);
const char *ng_cmd_statistics(ng_req *r, be_buf *reply);
/* Recording (recording.h): start (or resume), stop, pause the call's recording. */
const char *ng_cmd_start_recording(ng_req *r, be_buf *reply);
const char *ng_cmd_stop_recording(ng_req *r, be_buf *reply);
const char *ng_cmd_pause_recording(ng_req *r, be_buf *reply);

/* Statistics of a call as in rtpengine's query reply (created, last signal, SSRC, tags, totals). */
void ng_stats_call(be_buf *b, rg_call *c);

/* Sockets */
int ng_listen(const char *spec, GMainContext *ctx, char **err);
void ng_shutdown(void);
/* Drop cache generations older than 60 s (called by the engine timer). */
void ng_cache_age(void);

extern unsigned rg_default_delete_delay;
extern char rg_instance_id[17];

#endif
