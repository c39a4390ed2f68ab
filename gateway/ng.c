/* NG server: sockets, reply cache, request parsing and command dispatch. */
#include "ng.h"
#include "config.h"
#include "ctl.h"
#include "log.h"
#include "stats.h"

#include <errno.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

unsigned rg_default_delete_delay = 30;
char rg_instance_id[17];

void ng_warn(ng_req *r, const char *fmt, ...)
{
	va_list ap;
	if (!r->warnings)
		r->warnings = g_string_new(NULL);
	else if (r->warnings->len)
		g_string_append(r->warnings, "; ");
	va_start(ap, fmt);
	g_string_append_vprintf(r->warnings, fmt, ap);
	va_end(ap);
}

void ng_req_clear(ng_req *r)
{
	if (r->warnings)
		g_string_free(r->warnings, TRUE);
	r->warnings = NULL;
}

/* ---- flags: one table, name -> bool in ng_req ---- */
typedef struct ng_flag_def {
	const char *name;
	size_t off;        /* offset of a bool in ng_req, or (size_t)-1: accepted without effect */
	const char *doc;
} ng_flag_def;

#define F(n, field, doc) { n, offsetof(ng_req, field), doc }
#define NOOP(n, doc) { n, (size_t)-1, doc }
static const ng_flag_def flag_defs[] = {
	F("trust-address", trust_address, "use the addresses in the SDP (default)"),
	F("SIP-source-address", sip_source_address, "use received-from instead of the SDP address"),
	F("symmetric", symmetric, "learn each side's source address (default)"),
	F("asymmetric", asymmetric, "never learn source addresses: send to the SDP address"),
	F("port-latching", port_latching, "keep local ports across re-offers (always done)"),
	F("no-port-latching", no_port_latching, "accepted; local ports are always kept"),
	F("strict-source", strict_source, "once learned, drop packets from any other source"),
	F("media-handover", media_handover, "re-learn the source whenever it changes"),
	F("no-rtcp-attribute", no_rtcp_attribute, "write no a=rtcp"),
	F("full-rtcp-attribute", full_rtcp_attribute, "write a=rtcp with address"),
	F("loop-protect", loop_protect, "mark the SDP and pass marked SDP through untouched"),
	F("original-sendrecv", original_sendrecv, "keep the direction attribute as given (always done)"),
	F("record-call", record_call_flag, "offer/answer: record the call (as record-call=on)"),
	F("fatal", fatal, "delete: unknown call is an error"),
	F("all", all, "apply to all participants"),
	F("fragment", fragment, "trickle-ICE fragment (not supported yet: reported)"),
	F("generate-mid", generate_mid, "add a=mid to media without one"),
	F("strip-extmap", strip_extmap, "remove a=extmap"),
	F("unidirectional", unidirectional, "accepted"),
	F("reset", reset, "reset ICE/DTLS state on re-offer"),
	F("always-transcode", always_transcode, "accept every codec of the offerer (= codec-accept-all): the offerer keeps its codec, transcoded to the answerer's"),
	F("single-codec", single_codec, "answer: only the first codec (and its telephone-event) toward the offerer"),
	NOOP("no-redis-update", "accepted (no redis in rtpgate)"),
	NOOP("directional", "accepted"),
	NOOP("pierce-NAT", "accepted"),
	NOOP("NAT-wait", "accepted"),
	NOOP("to-tag", "accepted"),
	NOOP("allow-transcoding", "accepted"),
};
#undef F
#undef NOOP

static void add_sdes(ng_req *r, rg_str v);

const char *const ng_codec_op_names[NG_CODEC__N] = { "strip", "except", "offer", "mask", "consume", "accept",
						     "transcode", "set" };

static void add_codec_op(ng_req *r, unsigned op, rg_str v)
{
	if (!v.len)
		return;
	if (r->n_codec[op] >= NG_CODEC_MAX) {
		ng_warn(r, "too many '%s' codecs; extra ignored", ng_codec_op_names[op]);
		return;
	}
	r->codec[op][r->n_codec[op]++] = v;
}

/* "codec-<op>-<codec>" flag; false when <op> is not one we know */
static bool codec_flag(ng_req *r, rg_str rest)
{
	for (unsigned op = 0; op < NG_CODEC__N; op++) {
		size_t l = strlen(ng_codec_op_names[op]);
		if (rest.len > l + 1 && memcmp(rest.s, ng_codec_op_names[op], l) == 0 && rest.s[l] == '-') {
			add_codec_op(r, op, rg_str_mk(rest.s + l + 1, rest.len - l - 1));
			return true;
		}
	}
	return false;
}

static void set_flag(ng_req *r, rg_str f)
{
	for (size_t i = 0; i < G_N_ELEMENTS(flag_defs); i++) {
		if (!rg_str_flag_eq(f, flag_defs[i].name))
			continue;
		if (flag_defs[i].off != (size_t)-1)
			*(bool *)((char *)r + flag_defs[i].off) = true;
		return;
	}
	rg_str rest;
	if (rg_str_prefix(f, "SDES-", &rest)) {   /* the same as an item of the SDES list */
		add_sdes(r, rest);
		return;
	}
	if (rg_str_prefix(f, "codec-", &rest) && codec_flag(r, rest))
		return;
	if (rg_str_prefix(f, "codec-", &rest) ||
	    rg_str_prefix(f, "OSRTP-", &rest) || rg_str_prefix(f, "T38-", &rest) ||
	    rg_str_prefix(f, "endpoint-learning", &rest) || rg_str_prefix(f, "ICE-", &rest) ||
	    rg_str_flag_eq(f, "inject-DTMF") || rg_str_flag_eq(f, "detect-DTMF") ||
	    rg_str_flag_eq(f, "trickle-ICE") || rg_str_flag_eq(f, "reject-ICE") ||
	    rg_str_flag_eq(f, "generate-RTCP")) {
		ng_warn(r, "Unsupported flag ignored: '" RG_STR_FMT "'", RG_STR_ARG(f));
		return;
	}
	ng_warn(r, "Unknown flag encountered: '" RG_STR_FMT "'", RG_STR_ARG(f));
}

static void set_replace(ng_req *r, rg_str v)
{
	if (rg_str_flag_eq(v, "origin"))
		r->replace_origin = true;
	else if (rg_str_flag_eq(v, "session-connection") || rg_str_flag_eq(v, "session-conn"))
		r->replace_session_connection = true;
	else if (rg_str_flag_eq(v, "session-name"))
		r->replace_session_name = true;
	else if (rg_str_flag_eq(v, "SDP-version"))
		r->replace_sdp_version = true;
	else if (rg_str_flag_eq(v, "username"))
		r->replace_username = true;
	else if (rg_str_flag_eq(v, "zero-address"))
		r->replace_zero_address = true;
	else
		ng_warn(r, "Unknown 'replace' flag encountered: '" RG_STR_FMT "'", RG_STR_ARG(v));
}

static void set_mux(ng_req *r, rg_str v)
{
	if (rg_str_flag_eq(v, "offer"))
		r->mux_offer = true;
	else if (rg_str_flag_eq(v, "demux"))
		r->mux_demux = true;
	else if (rg_str_flag_eq(v, "accept"))
		r->mux_accept = true;
	else if (rg_str_flag_eq(v, "reject"))
		r->mux_reject = true;
	else if (rg_str_flag_eq(v, "require"))
		r->mux_require = true;
	else
		ng_warn(r, "Unknown 'rtcp-mux' flag encountered: '" RG_STR_FMT "'", RG_STR_ARG(v));
}

/* ---- keys: one table ---- */
enum key_kind { K_STR, K_INT, K_LIST_FLAGS, K_LIST_REPLACE, K_LIST_MUX, K_LIST_DIRECTION,
		K_RECEIVED_FROM, K_LIST_SUPPORTS, K_LIST_SDES, K_CODEC, K_UNSUPPORTED, K_IGNORE };
typedef struct ng_key_def {
	const char *name;
	enum key_kind kind;
	size_t off;          /* rg_str or int64_t field */
	const char *doc;
} ng_key_def;

#define S(n, field, doc) { n, K_STR, offsetof(ng_req, field), doc }
static const ng_key_def key_defs[] = {
	S("command", command, "the command"),
	S("call-id", call_id, "SIP Call-ID"),
	S("from-tag", from_tag, "tag of the party whose SDP this is (offer) / the offerer (answer)"),
	S("to-tag", to_tag, "tag of the answerer"),
	S("via-branch", via_branch, "separates forks of one call"),
	S("sdp", sdp, "the SDP body"),
	S("label", label, "label of the from-tag party"),
	S("from-label", label, "label of the from-tag party"),
	S("set-label", set_label, "label to set"),
	S("to-label", set_label, "label of the to-tag party"),
	S("metadata", metadata, "free text stored with the call"),
	S("media-address", media_address, "use this address as the party's media address"),
	S("address-family", address_family, "IP4 or IP6 for the SDP sent to the recipient"),
	S("ICE", ice, "ICE handling"),
	S("DTLS", dtls, "DTLS handling"),
	S("transport-protocol", transport_protocol, "RTP/AVP or RTP/AVPF toward the recipient"),
	S("record-call", record_call, "offer/answer: on/yes starts recording the call, off/no stops it"),
	{ "delete-delay", K_INT, offsetof(ng_req, delete_delay), "seconds before a delete takes effect" },
	{ "limit", K_INT, offsetof(ng_req, limit), "list: how many call-ids" },
	{ "flags", K_LIST_FLAGS, 0, "list of flags" },
	{ "replace", K_LIST_REPLACE, 0, "SDP fields to replace" },
	{ "rtcp-mux", K_LIST_MUX, 0, "rtcp-mux handling" },
	{ "direction", K_LIST_DIRECTION, 0, "interface names: [toward sender, toward recipient]" },
	{ "received-from", K_RECEIVED_FROM, 0, "[family, address] of the SIP hop" },
	{ "supports", K_LIST_SUPPORTS, 0, "extensions the client supports (\"load limit\")" },
	{ "TOS", K_IGNORE, 0, "accepted" },
	{ "repacketize", K_IGNORE, 0, "accepted" },
	{ "codec", K_CODEC, 0, "codec manipulation: dict of strip, offer, except, transcode, mask, consume, accept, set lists" },
	{ "SDES", K_LIST_SDES, 0, "SDES-SRTP: off, no-<suite>, only-<suite>" },
	{ "T.38", K_UNSUPPORTED, 0, "T.38" },
	{ "ptime", K_INT, offsetof(ng_req, ptime), "offer: a=ptime (ms) toward the recipient, media repacketized to it" },
	{ "ptime-reverse", K_INT, offsetof(ng_req, ptime_reverse), "offer: a=ptime (ms) in the answer toward the offerer, media repacketized to it" },
	{ "OSRTP", K_UNSUPPORTED, 0, "opportunistic SRTP" },
	S("ICE-lite", ice_lite, "be an ICE-lite agent: forward (toward the recipient), backward, both, off"),
	{ "DTLS-fingerprint", K_IGNORE, 0, "accepted" },
	/* play media / play DTMF: read by their handlers (ng_cmds.c) */
	{ "file", K_IGNORE, 0, "play media: the audio file (WAV, or <file>.<pt> pre-encoded)" },
	{ "repeat-times", K_IGNORE, 0, "play media: how many times (default 1; -1 = until stop media)" },
	{ "code", K_IGNORE, 0, "play DTMF: 0-15 or one of 0-9*#A-D" },
	{ "digit", K_IGNORE, 0, "play DTMF: same as code" },
	{ "duration", K_IGNORE, 0, "play DTMF: tone length in ms (100-5000, default 250)" },
	{ "pause", K_IGNORE, 0, "play DTMF: pause after it in ms (100-5000, default 100)" },
	{ "volume", K_IGNORE, 0, "play DTMF: level in -dBm0 (default 8)" },
};
#undef S

static void list_each(ng_req *r, const be_node *n, void (*fn)(ng_req *, rg_str), const char *what)
{
	if (n->type == BE_STR) {   /* a lone string where a list is expected: take it as one item */
		fn(r, n->str);
		return;
	}
	if (n->type != BE_LIST) {
		ng_warn(r, "'%s' should be a list; ignored", what);
		return;
	}
	for (const be_node *i = n->child; i; i = i->next) {
		if (i->type == BE_STR)
			fn(r, i->str);
		else
			ng_warn(r, "non-string item in '%s' ignored", what);
	}
}

static void add_sdes(ng_req *r, rg_str v)
{
	rg_str rest;
	if (rg_str_flag_eq(v, "off"))
		r->sdes_off = true;
	else if ((rg_str_prefix(v, "no-", &rest) || rg_str_prefix(v, "only-", &rest)) && r->n_sdes < G_N_ELEMENTS(r->sdes))
		r->sdes[r->n_sdes++] = v;
	else
		ng_warn(r, "Unsupported 'SDES' flag ignored: '" RG_STR_FMT "'", RG_STR_ARG(v));
}

static void set_supports(ng_req *r, rg_str v)
{
	if (rg_str_flag_eq(v, "load limit"))
		r->supports_load_limit = true;
}

static void add_direction(ng_req *r, rg_str v)
{
	if (r->n_direction < 2)
		r->direction[r->n_direction++] = v;
	else
		ng_warn(r, "more than two 'direction' items; extra ignored");
}

const char *ng_req_parse(ng_req *r, const be_node *dict)
{
	r->dict = dict;
	r->delete_delay = -1;
	r->limit = -1;
	for (const be_node *n = dict->child; n; n = n->next) {
		const ng_key_def *def = NULL;
		for (size_t i = 0; i < G_N_ELEMENTS(key_defs); i++)
			if (rg_str_flag_eq(n->key, key_defs[i].name)) {
				def = &key_defs[i];
				break;
			}
		if (!def) {
			rg_log(RG_LOG_DEBUG, "NG: ignoring unknown key '" RG_STR_FMT "'", RG_STR_ARG(n->key));
			continue;
		}
		switch (def->kind) {
		case K_STR:
			if (n->type != BE_STR)
				return "Invalid value type in message: a string was expected";
			*(rg_str *)((char *)r + def->off) = n->str;
			break;
		case K_INT: {
			int64_t v;
			if (!be_node_int(n, &v) || v < 0)
				ng_warn(r, "'%s' is not a number; ignored", def->name);
			else
				*(int64_t *)((char *)r + def->off) = v;
			break;
		}
		case K_LIST_FLAGS:
			list_each(r, n, set_flag, "flags");
			break;
		case K_LIST_REPLACE:
			list_each(r, n, set_replace, "replace");
			break;
		case K_LIST_MUX:
			list_each(r, n, set_mux, "rtcp-mux");
			break;
		case K_LIST_DIRECTION:
			r->n_direction = 0;
			list_each(r, n, add_direction, "direction");
			break;
		case K_RECEIVED_FROM:
			if (n->type == BE_LIST && n->count == 2 && n->child->type == BE_STR &&
			    n->child->next->type == BE_STR) {
				r->received_from_family = n->child->str;
				r->received_from_addr = n->child->next->str;
			} else {
				ng_warn(r, "'received-from' should be [family, address]; ignored");
			}
			break;
		case K_LIST_SDES:
			list_each(r, n, add_sdes, "SDES");
			break;
		case K_LIST_SUPPORTS:
			list_each(r, n, set_supports, "supports");
			break;
		case K_CODEC:
			if (n->type != BE_DICT) {
				ng_warn(r, "'codec' should be a dictionary; ignored");
				break;
			}
			for (const be_node *c = n->child; c; c = c->next) {
				unsigned op = 0;
				while (op < NG_CODEC__N && !rg_str_flag_eq(c->key, ng_codec_op_names[op]))
					op++;
				if (op == NG_CODEC__N) {
					ng_warn(r, "Unsupported 'codec' operation ignored: '" RG_STR_FMT "'", RG_STR_ARG(c->key));
					continue;
				}
				if (c->type == BE_STR) {
					add_codec_op(r, op, c->str);
				} else if (c->type == BE_LIST) {
					for (const be_node *i = c->child; i; i = i->next)
						if (i->type == BE_STR)
							add_codec_op(r, op, i->str);
				} else {
					ng_warn(r, "'codec' '%s' should be a list; ignored", ng_codec_op_names[op]);
				}
			}
			break;
		case K_UNSUPPORTED:
			ng_warn(r, "Unsupported option ignored: '%s'", def->name);
			break;
		case K_IGNORE:
			break;
		}
	}
	/* delete-delay may also come as "delete delay" (handled by flag_eq) */
	return NULL;
}

/* ---- dispatch ---- */
typedef struct ng_cmd_def {
	const char *name;
	const char *(*fn)(ng_req *, be_buf *);
	enum rg_ctr ctr;
} ng_cmd_def;

static const ng_cmd_def cmd_defs[] = {
	{ "offer", ng_cmd_offer, RG_CTR_NG_OFFERS },
	{ "answer", ng_cmd_answer, RG_CTR_NG_ANSWERS },
	{ "delete", ng_cmd_delete, RG_CTR_NG_DELETES },
	{ "query", ng_cmd_query, RG_CTR_NG_QUERIES },
	{ "list", ng_cmd_list, RG_CTR__MAX },
	{ "statistics", ng_cmd_statistics, RG_CTR__MAX },
	{ "start recording", ng_cmd_start_recording, RG_CTR__MAX },
	{ "stop recording", ng_cmd_stop_recording, RG_CTR__MAX },
	{ "pause recording", ng_cmd_pause_recording, RG_CTR__MAX },
	{ "play media", ng_cmd_play_media, RG_CTR__MAX },
	{ "stop media", ng_cmd_stop_media, RG_CTR__MAX },
	{ "play DTMF", ng_cmd_play_dtmf, RG_CTR__MAX },
};

static const char *const unsupported_cmds[] = {
	"block DTMF", "unblock DTMF",
	"block media", "unblock media", "silence media", "unsilence media", "start forwarding",
	"stop forwarding", "publish", "subscribe request",
	"subscribe answer", "unsubscribe",
};

static char *error_reply(const char *reason, size_t *out_len)
{
	be_buf b;
	be_buf_init(&b);
	be_dict_open(&b);
	be_kv_cstr(&b, "result", "error");
	be_kv_cstr(&b, "error-reason", reason);
	be_close(&b);
	rg_ctr_inc(RG_CTR_NG_ERRORS);
	return be_buf_steal(&b, out_len);
}

char *ng_process(const char *payload, size_t len, size_t *out_len)
{
	be_doc doc = { 0 };
	const char *err = NULL;
	char *out;
	ng_req r = { 0 };

	rg_ctr_inc(RG_CTR_NG_REQUESTS);
	if (len == 0) {
		rg_ctr_inc(RG_CTR_NG_MALFORMED);
		return error_reply("Invalid data (no payload)", out_len);
	}
	if (be_decode(payload, len, &doc, &err) < 0 || !doc.root || doc.root->type != BE_DICT) {
		rg_ctr_inc(RG_CTR_NG_MALFORMED);
		char msg[256];
		snprintf(msg, sizeof(msg), "Could not decode dictionary: %s",
			 err ? err : "message is not a dictionary");
		rg_log(RG_LOG_WARN, "NG: %s", msg);
		be_doc_free(&doc);
		return error_reply(msg, out_len);
	}
	err = ng_req_parse(&r, doc.root);
	if (err)
		goto fail;
	if (!rg_str_is_set(r.command)) {
		err = "Dictionary contains no key \"command\"";
		goto fail;
	}
	if (rg_str_eq_c(r.command, "ping")) {
		be_buf b;
		be_buf_init(&b);
		be_dict_open(&b);
		be_kv_cstr(&b, "result", "pong");
		be_close(&b);
		out = be_buf_steal(&b, out_len);
		goto done;
	}
	const ng_cmd_def *cmd = NULL;
	for (size_t i = 0; i < G_N_ELEMENTS(cmd_defs); i++)
		if (rg_str_eq_c(r.command, cmd_defs[i].name))
			cmd = &cmd_defs[i];
	if (!cmd) {
		err = "Unrecognized command";
		for (size_t i = 0; i < G_N_ELEMENTS(unsupported_cmds); i++)
			if (rg_str_eq_c(r.command, unsupported_cmds[i]))
				err = "Command not supported by rtpgate yet";
		goto fail;
	}
	if (cmd->ctr != RG_CTR__MAX)
		rg_ctr_inc(cmd->ctr);
	be_buf b;
	be_buf_init(&b);
	be_dict_open(&b);
	err = cmd->fn(&r, &b);
	if (err) {
		be_buf_free(&b);
		if (strcmp(err, "Parallel session limit reached") == 0 && r.supports_load_limit) {
			/* the clean way to shed load: Kamailio tries its next node */
			be_buf_init(&b);
			be_dict_open(&b);
			be_kv_cstr(&b, "result", "load limit");
			be_kv_cstr(&b, "message", err);
			be_close(&b);
			out = be_buf_steal(&b, out_len);
			rg_ctr_inc(RG_CTR_NG_ERRORS);
			rg_log(RG_LOG_WARN, "NG '" RG_STR_FMT "' refused: %s", RG_STR_ARG(r.command), err);
			goto done;
		}
		goto fail;
	}
	if (r.warnings && r.warnings->len)
		be_kv_cstr(&b, "warning", r.warnings->str);
	be_kv_cstr(&b, "result", "ok");
	be_close(&b);
	out = be_buf_steal(&b, out_len);
	goto done;
fail:
	{
		char *cid = rg_str_dup(r.call_id);
		rg_clog(RG_LOG_WARN, cid, "NG '" RG_STR_FMT "' failed: %s", RG_STR_ARG(r.command), err);
		g_free(cid);
	}
	out = error_reply(err, out_len);
done:
	ng_req_clear(&r);
	be_doc_free(&doc);
	return out;
}

/* ---- sockets and reply cache ---- */

/* Replies are cached per (sender, cookie) (ctl.h), so a retransmission within 30 s always gets
 * the original reply and an offer never runs twice. */
typedef struct ng_sock {
	int fd;
	GSource *src;
	char *spec;
} ng_sock;

static GPtrArray *ng_socks;
static rg_ctl_cache cache;

void ng_cache_age(void)
{
	rg_ctl_cache_age(&cache);
}

static gboolean ng_readable(gint fd, GIOCondition cond, gpointer data)
{
	static char buf[65536];
	for (int round = 0; round < 64; round++) {
		rg_ctl_msg m;
		ssize_t n = rg_ctl_recv(fd, buf, sizeof(buf) - 1, &m);
		if (n < 0)
			break;
		if (m.truncated) {
			rg_ctr_inc(RG_CTR_NG_MALFORMED);
			rg_log(RG_LOG_WARN, "NG: oversized datagram dropped");
			continue;
		}
		char *sp = memchr(buf, ' ', (size_t)n);
		if (!sp || sp == buf) {
			rg_ctr_inc(RG_CTR_NG_MALFORMED);
			rg_log(RG_LOG_WARN, "NG: datagram of %zd bytes without a cookie dropped", n);
			continue;
		}
		size_t clen = (size_t)(sp - buf);
		char *key = NULL;
		GBytes *reply = rg_ctl_cache_get(&cache, &m.from, m.fromlen, buf, clen, &key);
		if (reply) {
			rg_ctr_inc(RG_CTR_NG_RETRANSMITS);
			rg_log(RG_LOG_DEBUG, "NG: retransmission of cookie %.*s answered from cache", (int)MIN(clen, 64), buf);
		} else {
			size_t plen = 0;
			char *payload = ng_process(sp + 1, (size_t)n - clen - 1, &plen);
			GString *r = g_string_sized_new(clen + 1 + plen);
			g_string_append_len(r, buf, (gssize)clen + 1);
			g_string_append_len(r, payload, (gssize)plen);
			g_free(payload);
			size_t rl = r->len;
			reply = g_bytes_new_take(g_string_free(r, FALSE), rl);
			rg_ctl_cache_put(&cache, key, reply);
		}
		gsize rl;
		const void *rd = g_bytes_get_data(reply, &rl);
		int e = rg_ctl_reply(fd, rd, rl, &m);
		if (e < 0)
			rg_log(RG_LOG_WARN, "NG: sending reply: %s", strerror(-e));
		g_bytes_unref(reply);
	}
	return G_SOURCE_CONTINUE;
}

int ng_listen(const char *spec, GMainContext *ctx, char **err)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (rg_parse_listen(spec, &ss, &sl, err) < 0)
		return -EINVAL;
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = g_strdup_printf("NG socket %s: %s", spec, strerror(errno));
		return -errno;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	rg_ctl_want_pktinfo(fd, ss.ss_family);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		int e = errno;
		*err = g_strdup_printf("NG socket %s: bind: %s", spec, strerror(e));
		close(fd);
		return -e;
	}
	if (!ng_socks)
		ng_socks = g_ptr_array_new();
	ng_sock *s = g_new0(ng_sock, 1);
	s->fd = fd;
	s->spec = g_strdup(spec);
	GSource *src = g_unix_fd_source_new(fd, G_IO_IN);
	g_source_set_callback(src, (GSourceFunc)(void (*)(void))ng_readable, NULL, NULL);
	g_source_attach(src, ctx);
	s->src = src;
	g_ptr_array_add(ng_socks, s);
	ng_cache_age();
	rg_log(RG_LOG_INFO, "NG control listening on %s", spec);
	return 0;
}

void ng_shutdown(void)
{
	if (ng_socks) {
		for (guint i = 0; i < ng_socks->len; i++) {
			ng_sock *s = ng_socks->pdata[i];
			g_source_destroy(s->src);
			g_source_unref(s->src);
			close(s->fd);
			g_free(s->spec);
			g_free(s);
		}
		g_ptr_array_free(ng_socks, TRUE);
		ng_socks = NULL;
	}
	rg_ctl_cache_clear(&cache);
}
