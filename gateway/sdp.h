/* SDP (RFC 8866 / 4566) parser and writer.
 *
 * Ownership: an sdp_session owns everything reachable from it. Every string is g_malloc'd and every
 * GPtrArray owns its elements (the arrays are created with an element free function), so:
 *   - sdp_free() releases the whole tree;
 *   - g_ptr_array_remove_index() on s->attrs, m->fmts, m->lines, s->media, ... frees the removed
 *     element (use g_ptr_array_steal_index() to take it out instead);
 *   - elements you add yourself must be g_malloc'd with g_malloc'd strings (sdp_attr_add(),
 *     sdp_line_add() and sdp_media_new() do that for you). Strings you put into a field replace the
 *     old one: g_free() the old value first.
 * Strings handed out by the helpers (sdp_attr_value(), sdp_media_rtcp(), ...) point into the session
 * and stay valid until that attribute is changed or the session is freed.
 *
 * Parsing never reads outside [buf, buf+len) and does not need buf to be NUL-terminated. Values are
 * kept verbatim (minus trailing spaces/tabs), so parse -> write reproduces well-formed input byte for
 * byte (with CRLF line ends). Values must never contain CR, LF or NUL; the writer turns a stray CR or
 * LF into a space rather than let it split a line.
 *
 * Thread-safety: functions touching one session are not synchronised; distinct sessions may be used
 * from distinct threads. The error text of sdp_parse() lives in a thread-local buffer (valid until the
 * next sdp_parse() in the same thread) or is static. */
#ifndef RG_SDP_H
#define RG_SDP_H

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>

#include "str.h"

/* Parser limits. */
#define SDP_MAX_LEN (1024 * 1024) /* bytes of input */
#define SDP_MAX_LINES 4096        /* physical lines */
#define SDP_MAX_MEDIA 64          /* m= lines */
#define SDP_MAX_FMTS 1024         /* format tokens on one m= line */

typedef struct sdp_attr {
	char *name;  /* "a=name:value": everything before the first ':' */
	char *value; /* everything after the first ':' (verbatim, may start with a space); NULL for "a=name" */
} sdp_attr;

typedef struct sdp_line {
	char type;   /* 'a'..'z' */
	char *value; /* everything after "x=" */
} sdp_line;

typedef struct sdp_conn {
	bool set;
	char *nettype;  /* "IN" */
	char *addrtype; /* "IP4" / "IP6" */
	char *addr;     /* keeps any "/ttl[/n]" suffix */
} sdp_conn;

typedef struct sdp_media {
	char *media;        /* "audio", "video", "application", ... */
	unsigned port;      /* 0 = rejected stream */
	unsigned num_ports; /* the "/n" of "port/n", 0 when absent */
	char *proto;        /* "RTP/AVP", "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP", ... */
	GPtrArray *fmts;    /* char*: format tokens in order ("0", "8", "101", "webrtc-datachannel") */
	GPtrArray *lines;   /* sdp_line*: i=, b=, k= (and unknown) lines of this media, in order */
	sdp_conn conn;      /* media-level c= */
	GPtrArray *attrs;   /* sdp_attr*, in order */
} sdp_media;

typedef struct sdp_session {
	char *v; /* v= value, normally "0" */
	char *o_user, *o_sess_id;
	guint64 o_version;
	char *o_nettype, *o_addrtype, *o_addr;
	char *s;          /* s= value ("-" or a name; " " when the line was "s= ") */
	GPtrArray *lines; /* sdp_line*: session-level i= u= e= p= b= t= r= z= k= (and unknown) lines, in order */
	sdp_conn conn;    /* session-level c= */
	GPtrArray *attrs; /* sdp_attr*, session-level, in order */
	GPtrArray *media; /* sdp_media*, in order */
} sdp_session;

/* Parse. Accepts CRLF or bare LF line ends, ignores empty lines at the end and trailing spaces/tabs on
 * every line. Requires v= first, exactly one o= (6 fields, version fitting in guint64) and exactly one
 * s= in the session section; m= needs "media port[/n] proto fmt..." with port <= 65535, 1 <= n <=
 * 65535 and at least one fmt (zero fmts allowed only for port 0); c= needs exactly 3 fields and at
 * most one per section; a= needs a non-empty name. Other single-lowercase-letter lines are kept in the
 * `lines` of the current section. Rejected: lines not shaped "x=...", empty lines before the end, NUL
 * bytes, CR not followed by LF, input over the SDP_MAX_* limits.
 * Returns 0 and sets *out, or -EINVAL and sets *err (if err != NULL) to text such as
 * "SDP line 3: c= needs 3 fields". */
int sdp_parse(const char *buf, size_t len, sdp_session **out, const char **err);
void sdp_free(sdp_session *s);
/* Deep copy (NULL for NULL). */
sdp_session *sdp_copy(const sdp_session *s);
/* Write with CRLF line ends in RFC order: v o s, the session lines of types i u e p (kept order), c,
 * then b t r z k (kept order), then a=; each media: m, its i lines, c, its b/k lines, a=. A line of
 * another type stays with the group of the line before it in `lines` (first group when it is first),
 * so an unknown line written where RFC order allows keeps its place. Returns g_malloc'd NUL-terminated
 * text, its length in *len if len != NULL. NULL strings are written as empty ("-" for o=, c= and
 * m= media/proto tokens, which must not be empty). */
char *sdp_write(const sdp_session *s, size_t *len);

/* Attribute helpers on an attrs array (session or media). attrs may be NULL (nothing found). */
sdp_attr *sdp_attr_find(GPtrArray *attrs, const char *name);     /* first match, exact name, or NULL */
const char *sdp_attr_value(GPtrArray *attrs, const char *name);  /* value of the first match, "" for a flag attribute, NULL if absent */
bool sdp_attr_has(GPtrArray *attrs, const char *name);
unsigned sdp_attr_remove(GPtrArray *attrs, const char *name);   /* removes all with that name, returns count */
void sdp_attr_add(GPtrArray *attrs, const char *name, const char *value);  /* append (value may be NULL) */
void sdp_attr_set(GPtrArray *attrs, const char *name, const char *value);  /* replace first's value, or append */
void sdp_conn_set(sdp_conn *c, const char *addrtype, const char *addr);    /* sets nettype "IN" and set=true */

/* Additions beyond the agreed API (conveniences for building/rewriting sessions). */
/* Append an "x=value" line (e.g. 'b', "AS:64") to a lines array. */
void sdp_line_add(GPtrArray *lines, char type, const char *value);
/* New media section with empty fmts/lines/attrs arrays (element-owning) and no c=; free with
 * sdp_media_free() unless added to a session's media array. */
sdp_media *sdp_media_new(const char *media, unsigned port, const char *proto);
void sdp_media_free(sdp_media *m);

/* Media direction from a=sendrecv/sendonly/recvonly/inactive (first at media level, else first at
 * session level, else sendrecv). */
typedef enum { SDP_SENDRECV = 0, SDP_SENDONLY, SDP_RECVONLY, SDP_INACTIVE } sdp_dir;
sdp_dir sdp_media_dir(const sdp_session *s, const sdp_media *m);
const char *sdp_dir_name(sdp_dir d); /* "sendrecv", "sendonly", "recvonly", "inactive" */

/* Effective connection of a media: media-level c= if set, else session-level; NULL if neither. */
const sdp_conn *sdp_media_conn(const sdp_session *s, const sdp_media *m);

/* First a=rtcp:PORT [IN IP4|IP6 ADDR] of the media (RFC 3605): true when present and valid (port
 * 1..65535; if an address is given, nettype "IN", addrtype "IP4" or "IP6" and exactly 4 tokens).
 * Each out-param may be NULL and is set only on success: *port; *addrtype a static "IP4"/"IP6" or NULL
 * when the attribute has no address; *addr a pointer into the attribute value (the last token, running
 * to its end) or NULL when the attribute has no address. */
bool sdp_media_rtcp(const sdp_media *m, unsigned *port, const char **addrtype, const char **addr);

#endif
