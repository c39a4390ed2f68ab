/* rtpproxy control protocol (Sippy rtpproxy's text protocol, as Kamailio's rtpproxy module speaks
 * it) over the same call and media core as NG. Reference: /work/shared/docs/rtpproxy-protocol.md.
 *
 * rtpp.c owns the control sockets (UDP/IPv4, UDP/IPv6, unix stream, unix datagram; all on the main
 * GMainContext) and the reply cache; rtpp_cmds.c parses and runs the commands.
 *
 * Session model: an rtpproxy session (Call-ID incl. any ";suffix", medianum N) is media N of the
 * two parties named by the tags ("tag;N" -> party "tag", media N). The SDP author of a U is its
 * first tag, of an L its second tag; the answered port is the socket the *other* party sends to.
 * An rtpproxy token (rg_str) points into the datagram buffer, owned by rtpp.c for one command. */
#ifndef RG_RTPP_H
#define RG_RTPP_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include "config.h"
#include "str.h"

/* Error codes (Sippy rtpproxy 2.x numbering, "E<n>\n" on the wire). */
enum rtpp_ecode {
	RTPP_E_CMDUNKN = 0,       /* unknown command */
	RTPP_E_NARGS = 1,         /* wrong number of arguments */
	RTPP_E_MODS = 2,          /* modifiers not allowed for this command */
	RTPP_E_SUBC = 3,          /* sub-command ("&&") not allowed */
	RTPP_E_SYNTAX = 5,        /* general syntax error (empty command, bad medianum) */
	RTPP_E_REC_MOD = 6,       /* bad R/C modifier ("s" followed by more) */
	RTPP_E_REC_MOD2 = 7,      /* bad R/C modifier */
	RTPP_E_DEL_MOD = 8,       /* bad D modifier */
	RTPP_E_G_MOD = 9,         /* bad G modifier */
	RTPP_E_NOTIFY_TAG = 10,   /* notify tag: invalid URL encoding */
	RTPP_E_IFACE_E = 11,      /* E: no external interface, or more than two I/E */
	RTPP_E_IFACE_I = 12,      /* I: no internal interface, or more than two I/E */
	RTPP_E_Z = 13,            /* Z<ms>: not a packetization time of 1-999 ms */
	RTPP_E_CODECS = 14,       /* c<list>: empty or given twice */
	RTPP_E_LADDR_SYNTAX = 15, /* L<addr> syntax */
	RTPP_E_RADDR_SYNTAX = 16, /* R<addr> syntax */
	RTPP_E_P_COUNT = 17,      /* P<count> not a number */
	RTPP_E_I_MOD = 18,        /* bad I modifier */
	RTPP_E_Q_MOD = 19,        /* bad Q modifier */
	RTPP_E_TOOBIG = 25,       /* answer longer than the client's 256-byte buffer */
	RTPP_E_LADDR = 31,        /* L<addr> is not one of our interfaces */
	RTPP_E_RADDR = 32,        /* R<addr> is not an address */
	RTPP_E_RADDR_ROUTE = 33,  /* no route to R<addr> */
	RTPP_E_RADDR_LOCAL = 34,  /* the local address routing to R<addr> is not one of our interfaces */
	RTPP_E_NOCODECS = 35,     /* P with "session" but no c<list> was given for that leg */
	RTPP_E_FAMILY = 36,       /* no interface of the stream's address family */
	RTPP_E_ADDR = 37,         /* remote address or port of U/L unusable */
	RTPP_E_NOSESSION = 50,    /* session not found */
	RTPP_E_PLAY = 60,         /* playback failed: no such call/leg, prompt missing or not audio */
	RTPP_E_QUERY = 62,        /* Q: unknown or unsupported counter */
	RTPP_E_COPY = 65,         /* copy/record failed (R, C, N: not supported yet) */
	RTPP_E_STATS = 68,        /* G: unknown counter */
	RTPP_E_PORTS_OLD = 71,    /* no port pair for an existing session */
	RTPP_E_PORTS_NEW = 72,    /* no port pair for a new session */
	RTPP_E_OVERLOAD = 98,     /* max-sessions reached: new session refused */
};

#define RTPP_MAX_ARGS 16          /* arguments after the command token */
#define RTPP_MAX_MEDIANUM 128     /* "tag;N": N in 1..128 */
#define RTPP_REPLY_MAX 255        /* Kamailio reads answers into 256 bytes (cookie included) */

/* One command split into tokens. Tokens point into the caller's buffer. */
typedef struct rtpp_cmd {
	char op;                      /* command letter, upper case ('V' also for VF) */
	bool feature;                 /* VF */
	rg_str mods;                  /* bytes after the command letter (after "VF" for VF) */
	rg_str arg[RTPP_MAX_ARGS];    /* arguments after the command token */
	unsigned argc;
	bool too_many;                /* more than RTPP_MAX_ARGS arguments */
	bool subcmd;                  /* an "&&" token was seen */
} rtpp_cmd;

/* Modifiers of U and L (section 4.2 of the reference). */
typedef struct rtpp_ul_mods {
	bool asymmetric;              /* A (S resets it) */
	bool weak;                    /* W */
	bool ipv6;                    /* 6: the remote address is IPv6 */
	bool new_port;                /* N */
	char iface[2];                /* 'I'/'E' in the order given: [0] faces the SDP's author */
	unsigned n_iface;
	int ptime;                    /* Z<ms>, -1 if absent */
	rg_str codecs;                /* c<pt,pt,...> (unset if absent) */
	rg_str laddr, raddr;          /* L<addr>, R<addr> (unset if absent) */
	unsigned n_unknown;           /* modifier letters we ignored */
} rtpp_ul_mods;

/* A tag argument "tag[;N]": tag without the ";N" and N (0 when absent). */
typedef struct rtpp_tag {
	rg_str tag;
	unsigned medianum;
} rtpp_tag;

/* Tokenise one command (the text after the cookie). Separators are space, tab, CR, LF and NUL;
 * inside the command token, bytes that are not printable ASCII right after Z<digits> are junk
 * Kamailio leaves there (reference 8.1) and stay part of the token. Returns 0, or RTPP_E_SYNTAX
 * for an empty command. */
int rtpp_cmd_parse(const char *buf, size_t len, rtpp_cmd *cmd);
/* Parse U/L modifiers. 0 or an rtpp_ecode (*why says what was wrong, static text). */
int rtpp_ul_mods_parse(rg_str mods, rtpp_ul_mods *m, const char **why);
/* Split "tag;N". false if N is present but not in 1..RTPP_MAX_MEDIANUM. */
bool rtpp_tag_parse(rg_str arg, rtpp_tag *t);

/* Run one command (the text after the cookie) and append its answer, '\n' included, to out.
 * room: the longest answer the client can take (RTPP_REPLY_MAX minus cookie and space); a longer
 * one becomes E25. Counts the command and logs every error. Returns true when the answer is an
 * error (E<n>). Main thread. */
bool rtpp_process(const char *buf, size_t len, size_t room, GString *out);

/* Capability dates answered 1 to VF (only what works). NULL-terminated. */
extern const char *const rtpp_capabilities[];

/* Timeouts the Q command reports against (set by rtpp_start; tests may set them). */
void rtpp_set_timeouts(unsigned timeout, unsigned silent_timeout, unsigned offer_timeout);

/* Sockets: every cfg->listen_rtpproxy entry ("udp:IP:PORT", "udp6:[IP]:PORT", "unix:PATH" for a
 * stream socket, "unix-dgram:PATH" for a datagram socket). 0 or negative errno with *err set. */
int rtpp_start(const rg_config *cfg, GMainContext *ctx, char **err);
int rtpp_listen(const char *spec, GMainContext *ctx, char **err);
/* Close every socket (unix socket files are removed) and drop the reply cache. */
void rtpp_stop(void);
/* Session-timeout notification (Sippy's notify_socket): connect to spec ("tcp:host:port",
 * "udp:host:port", "unix:/path" or "/path") and send msg. Control thread; at most ~1 s. 0 or a
 * negative errno with *err (g_malloc'd). */
int rtpp_notify(const char *spec, const char *msg, char **err);

#endif
