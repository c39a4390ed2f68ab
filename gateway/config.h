/* Daemon configuration: command line (GOptionContext, rtpengine's option names) and config file
 * (GKeyFile, [rtpgate] group, or [rtpengine] for migrated files). Precedence: built-in defaults <
 * config file < command line; a list option given on the command line replaces the file's list.
 * Ownership: rg_config owns every string and array in it; free with rg_config_clear(). */
#ifndef RG_CONFIG_H
#define RG_CONFIG_H

#include <glib.h>
#include <stdbool.h>
#include <sys/socket.h>

#ifndef RG_VERSION
#define RG_VERSION "0.1.0" /* keep in step with project() in meson.build */
#endif

#define RG_DEFAULT_CONFIG_FILE "/etc/rtpgate/rtpgate.conf"

/* One media interface: --interface=[NAME/]IP[!ADVERTISED]. Owned by rg_config. */
typedef struct rg_iface_cfg {
	char *name;        /* "default" when no NAME/ given */
	char *addr;        /* local IP as text (IPv4 or IPv6, no brackets) */
	char *advertised;  /* address written into SDP; == a copy of addr when no !ADVERTISED */
	int family;        /* AF_INET or AF_INET6 (of addr) */
} rg_iface_cfg;

typedef struct rg_config {
	char *config_file;      /* NULL when --config-file=none */
	bool foreground, log_stderr;
	int log_level;          /* syslog numbering, default 6 (info) */
	char *log_facility;     /* default "daemon" */
	char *pidfile;          /* NULL = none */
	GPtrArray *interfaces;  /* rg_iface_cfg*, at least one after rg_config_load (default: "default" 127.0.0.1) */
	GPtrArray *listen_ng;   /* char*: "IP:PORT", "[IPv6]:PORT" or "PORT"; default {"127.0.0.1:2223"} */
	GPtrArray *listen_rtpproxy; /* char*: "udp:IP:PORT", "udp6:[IP]:PORT", "unix:PATH"; default {"udp:127.0.0.1:7722"} */
	unsigned port_min, port_max;      /* default 30000, 40000; validate 1024<=min<max<=65535, make min even */
	unsigned timeout;        /* s, default 60 (media timeout; 0 = off) */
	unsigned silent_timeout; /* s, default 3600 */
	unsigned final_timeout;  /* s, default 0 = off */
	unsigned offer_timeout;  /* s, default 3600: a call never answered is dropped after this */
	unsigned delete_delay;   /* s, default 30 */
	unsigned num_threads;    /* default: number of online CPUs */
	unsigned max_sessions;   /* default 0 = unlimited */
	unsigned dtx_delay;      /* ms a transcoded sender may be quiet before rtpgate fills, 0 = never; default 50 */
	unsigned max_dtx;        /* s of filling at most, default 0 = while the call lives */
	char *recording_dir;     /* default NULL = recording disabled (recording.h) */
	char *recording_method;  /* rtpengine's name; only "pcap" (default NULL = pcap) */
	char *recording_format;  /* "raw" (LINKTYPE_RAW, default) or "eth" (Ethernet frames) */
} rg_config;

/* Parse argv (GOptionContext) and the config file, fill *cfg. Precedence: defaults < config file <
 * command line. Returns 0, or -EINVAL with *err set to a g_malloc'd message for the user
 * ("--interface: 'foo/1.2.3' is not an IP address"); on error *cfg is left cleared (all zero).
 * argv is not modified. --help and --version print to stdout and exit(0), as GOption does.
 * Relative paths (pidfile, recording-dir, unix: sockets) are made absolute against the working
 * directory, since the daemon later does chdir("/"). Unknown config file keys log a warning. */
int rg_config_load(rg_config *cfg, int argc, char **argv, char **err);
/* Frees all members and zeroes *cfg; safe on a zeroed or already cleared struct. */
void rg_config_clear(rg_config *cfg);

/* Parse one interface spec; 0 or -EINVAL. Exposed for tests. On success *out owns g_malloc'd
 * strings (free with rg_iface_clear); addresses are normalised (inet_ntop), IPv6 may be written
 * with brackets. On error *out is zeroed and *err names the spec ("'x/1.2.3' is not an IP address"). */
int rg_iface_parse(const char *spec, rg_iface_cfg *out, char **err);
void rg_iface_clear(rg_iface_cfg *iface);

/* Parse an NG listen spec into a sockaddr: "IP:PORT", "[IPv6]:PORT", "PORT" (=> 0.0.0.0:PORT);
 * "localhost" is accepted as 127.0.0.1. 0 or -EINVAL with *err. */
int rg_parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len, char **err);

/* Parse an rtpproxy-protocol listen spec: "udp:IP:PORT", "udp6:[IP]:PORT" (brackets optional),
 * "unix:PATH" (stream socket) or "unix-dgram:PATH" (datagram socket). For udp/udp6 fills *ss and *len, sets *path = NULL; for unix sets *path (g_malloc'd,
 * caller frees) and zeroes *ss / *len = 0. 0 or -EINVAL with *err. */
int rg_parse_listen_rtpproxy(const char *spec, struct sockaddr_storage *ss, socklen_t *len, char **path,
			     char **err);

/* Facility name ("daemon", "local0".."local7", "user", ...) to LOG_* value; -1 if unknown. */
int rg_log_parse_facility(const char *name);

/* Pidfile: write our pid (0 or -errno), remove at exit (only if it still holds our pid). */
int rg_pidfile_write(const char *path);
void rg_pidfile_remove(const char *path);

#endif
