#include "config.h"

#include "log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#define MAX_TIMEOUT 31536000u /* one year, in seconds */
#define MAX_THREADS 1024u

enum opt_kind {
	K_CONFIG_FILE,
	K_CONFIG_SECTION,
	K_VERSION,
	K_BOOL,
	K_LEVEL,
	K_FACILITY,
	K_PATH,      /* char *, made absolute */
	K_STRING,    /* char *, as given */
	K_UINT,      /* unsigned in [min, max] */
	K_SESSIONS,  /* unsigned, "-1" (rtpengine's "unlimited") accepted as 0 */
	K_THREADS,   /* unsigned, 0 = number of CPUs */
	K_IFACES,    /* GPtrArray of rg_iface_cfg* */
	K_NG,        /* GPtrArray of char*, validated by rg_parse_listen */
	K_RTPPROXY,  /* GPtrArray of char*, validated by rg_parse_listen_rtpproxy */
};

typedef struct opt_def {
	const char *name;
	char short_name;
	enum opt_kind kind;
	size_t off;
	unsigned min, max;
	const char *desc;
	const char *arg;
} opt_def;

#define OFF(f) offsetof(rg_config, f)

static const opt_def opt_defs[] = {
	{ "config-file", 0, K_CONFIG_FILE, 0, 0, 0,
	  "Config file to load (\"none\": no file; default " RG_DEFAULT_CONFIG_FILE " if it exists)", "FILE" },
	{ "config-section", 0, K_CONFIG_SECTION, 0, 0, 0,
	  "Config file section to use (default \"rtpgate\", then \"rtpengine\")", "STRING" },
	{ "version", 'v', K_VERSION, 0, 0, 0, "Print the version and exit", NULL },
	{ "foreground", 'f', K_BOOL, OFF(foreground), 0, 0, "Don't fork to the background", NULL },
	{ "log-stderr", 'E', K_BOOL, OFF(log_stderr), 0, 0, "Log to stderr instead of syslog", NULL },
	{ "log-level", 'L', K_LEVEL, OFF(log_level), 0, 7, "Log level, 0-7 or a name (default 6, info)", "INT" },
	{ "log-facility", 0, K_FACILITY, OFF(log_facility), 0, 0, "Syslog facility (default daemon)", "daemon|local0|..." },
	{ "pidfile", 'p', K_PATH, OFF(pidfile), 0, 0, "Write the daemon's PID to this file", "FILE" },
	{ "interface", 'i', K_IFACES, OFF(interfaces), 0, 0,
	  "Media interface (repeatable; default 127.0.0.1)", "[NAME/]IP[!ADVERTISED]" },
	{ "listen-ng", 'n', K_NG, OFF(listen_ng), 0, 0,
	  "UDP address for the NG protocol (repeatable; default 127.0.0.1:2223)", "[IP:]PORT" },
	{ "listen-rtpproxy", 0, K_RTPPROXY, OFF(listen_rtpproxy), 0, 0,
	  "Socket for the rtpproxy protocol (repeatable; default udp:127.0.0.1:7722)",
	  "udp[6]:IP:PORT|unix:PATH|unix-dgram:PATH" },
	{ "port-min", 'm', K_UINT, OFF(port_min), 1024, 65535, "Lowest media port (default 30000)", "INT" },
	{ "port-max", 'M', K_UINT, OFF(port_max), 1024, 65535, "Highest media port (default 40000)", "INT" },
	{ "timeout", 'o', K_UINT, OFF(timeout), 0, MAX_TIMEOUT,
	  "Media timeout: drop a call after this long without RTP (default 60, 0 = off)", "SECS" },
	{ "silent-timeout", 's', K_UINT, OFF(silent_timeout), 0, MAX_TIMEOUT,
	  "Media timeout for on-hold/muted calls (default 3600)", "SECS" },
	{ "final-timeout", 'a', K_UINT, OFF(final_timeout), 0, MAX_TIMEOUT,
	  "Drop any call after this long (default 0 = off)", "SECS" },
	{ "offer-timeout", 0, K_UINT, OFF(offer_timeout), 0, MAX_TIMEOUT,
	  "Drop a call never answered after this long (default 3600)", "SECS" },
	{ "delete-delay", 'd', K_UINT, OFF(delete_delay), 0, MAX_TIMEOUT,
	  "Keep a deleted call this long before freeing it (default 30)", "SECS" },
	{ "num-threads", 0, K_THREADS, OFF(num_threads), 0, MAX_THREADS,
	  "Number of media worker threads (default: number of CPUs)", "INT" },
	{ "max-sessions", 0, K_SESSIONS, OFF(max_sessions), 0, G_MAXINT,
	  "Refuse new calls beyond this many (default 0 = unlimited)", "INT" },
	{ "dtx-delay", 0, K_UINT, OFF(dtx_delay), 0, 10000,
	  "Transcoding: ms a sender may fall silent (Opus DTX, CN, silence suppression, loss) before "
	  "rtpgate fills the gap with comfort noise or concealment (default 50, 0 = never)", "MS" },
	{ "max-dtx", 0, K_UINT, OFF(max_dtx), 0, MAX_TIMEOUT,
	  "Transcoding: stop filling a silent sender's gap after this long (default 0 = never)", "SECS" },
	{ "recording-dir", 0, K_PATH, OFF(recording_dir), 0, 0,
	  "Directory for call recordings: pcap + a WAV per leg + metadata (default: recording disabled)", "DIR" },
	{ "recording-method", 0, K_STRING, OFF(recording_method), 0, 0,
	  "How calls are recorded: only \"pcap\" (files under recording-dir)", "pcap" },
	{ "recording-format", 0, K_STRING, OFF(recording_format), 0, 0,
	  "pcap link layer: \"raw\" (IP packets, default) or \"eth\" (Ethernet frames)", "raw|eth" },
};
#define N_OPTS G_N_ELEMENTS(opt_defs)

/* ---------- small helpers ---------- */

static void set_err(char **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void set_err(char **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (err) {
		g_free(*err);
		*err = m;
	} else {
		g_free(m);
	}
}

#define FIELD(cfg, T, off) (*(T *)((char *)(cfg) + (off)))

static bool parse_decimal(const char *s, unsigned long long max, unsigned long long *out)
{
	if (!s || !*s)
		return false;
	unsigned long long v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned)(*p - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

static bool parse_port(const char *s, unsigned *port)
{
	unsigned long long v;
	if (!parse_decimal(s, 65535, &v) || v == 0)
		return false;
	*port = (unsigned)v;
	return true;
}

/* IP text (IPv6 optionally in brackets) to family + binary; canon gets the inet_ntop form. */
static bool parse_ip(const char *s, int *family, void *bin, char canon[INET6_ADDRSTRLEN])
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n - 2 >= sizeof(buf))
			return false;
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
		if (inet_pton(AF_INET6, buf, bin) != 1)
			return false;
		*family = AF_INET6;
	} else if (inet_pton(AF_INET, s, bin) == 1) {
		*family = AF_INET;
	} else if (inet_pton(AF_INET6, s, bin) == 1) {
		*family = AF_INET6;
	} else {
		return false;
	}
	if (canon)
		inet_ntop(*family, bin, canon, INET6_ADDRSTRLEN);
	return true;
}

static bool ip_is_unspecified(int family, const void *bin)
{
	static const unsigned char zero[16];
	return memcmp(bin, zero, family == AF_INET ? 4 : 16) == 0;
}

static char *make_absolute(const char *path)
{
	if (!path)
		return NULL;
	if (g_path_is_absolute(path))
		return g_strdup(path);
	return g_canonicalize_filename(path, NULL);
}

int rg_log_parse_facility(const char *name)
{
	static const struct { const char *n; int v; } fac[] = {
		{ "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV }, { "cron", LOG_CRON },
		{ "daemon", LOG_DAEMON }, { "ftp", LOG_FTP }, { "kern", LOG_KERN }, { "lpr", LOG_LPR },
		{ "mail", LOG_MAIL }, { "news", LOG_NEWS }, { "syslog", LOG_SYSLOG }, { "user", LOG_USER },
		{ "uucp", LOG_UUCP }, { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
		{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};
	if (!name)
		return -1;
	for (size_t i = 0; i < G_N_ELEMENTS(fac); i++)
		if (g_ascii_strcasecmp(name, fac[i].n) == 0)
			return fac[i].v;
	return -1;
}

/* ---------- interfaces ---------- */

void rg_iface_clear(rg_iface_cfg *iface)
{
	if (!iface)
		return;
	g_free(iface->name);
	g_free(iface->addr);
	g_free(iface->advertised);
	memset(iface, 0, sizeof(*iface));
}

static void iface_free(gpointer p)
{
	rg_iface_cfg *i = p;
	rg_iface_clear(i);
	g_free(i);
}

static bool iface_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (const char *p = s; *p; p++)
		if (!g_ascii_isalnum(*p) && !strchr("_-.:", *p))
			return false;
	return true;
}

int rg_iface_parse(const char *spec, rg_iface_cfg *out, char **err)
{
	memset(out, 0, sizeof(*out));
	if (!spec || !*spec) {
		set_err(err, "empty interface, expected [NAME/]IP[!ADVERTISED]");
		return -EINVAL;
	}
	const char *rest = spec;
	char *name;
	const char *slash = strchr(spec, '/');
	if (slash) {
		name = g_strndup(spec, (gsize)(slash - spec));
		rest = slash + 1;
		if (!iface_name_ok(name)) {
			set_err(err, "'%s': interface name '%s' is empty or has characters other than "
				"letters, digits and _-.:", spec, name);
			g_free(name);
			return -EINVAL;
		}
	} else {
		name = g_strdup("default");
	}
	const char *bang = strchr(rest, '!');
	char *addr_s = bang ? g_strndup(rest, (gsize)(bang - rest)) : g_strdup(rest);
	const char *adv_s = bang ? bang + 1 : NULL;

	int fam = 0, afam = 0;
	unsigned char bin[16], abin[16];
	char canon[INET6_ADDRSTRLEN], acanon[INET6_ADDRSTRLEN];
	int ret = -EINVAL;

	if (!parse_ip(addr_s, &fam, bin, canon)) {
		set_err(err, "'%s' is not an IP address", spec);
		goto out;
	}
	if (adv_s) {
		if (!parse_ip(adv_s, &afam, abin, acanon)) {
			set_err(err, "'%s': advertised address '%s' is not an IP address", spec, adv_s);
			goto out;
		}
		if (afam != fam) {
			set_err(err, "'%s': advertised address '%s' is %s but '%s' is %s (they must be the "
				"same family)", spec, adv_s, afam == AF_INET ? "IPv4" : "IPv6", addr_s,
				fam == AF_INET ? "IPv4" : "IPv6");
			goto out;
		}
		if (ip_is_unspecified(afam, abin)) {
			set_err(err, "'%s': advertised address '%s' is a wildcard address", spec, adv_s);
			goto out;
		}
	} else if (ip_is_unspecified(fam, bin)) {
		set_err(err, "'%s': wildcard address '%s' needs an advertised address: %s/%s!PUBLIC-IP",
			spec, addr_s, name, addr_s);
		goto out;
	}
	out->name = name;
	out->addr = g_strdup(canon);
	out->advertised = g_strdup(adv_s ? acanon : canon);
	out->family = fam;
	name = NULL;
	ret = 0;
out:
	g_free(name);
	g_free(addr_s);
	return ret;
}

/* ---------- listen specs ---------- */

/* "IP:PORT", "[IPv6]:PORT", "PORT" ("localhost" = 127.0.0.1). want_family 0 = any. A bare PORT
 * binds the wildcard of want_family (IPv4 when 0). */
static int parse_hostport(const char *spec, int want_family, struct sockaddr_storage *ss, socklen_t *len,
			  char **err)
{
	const char *usage = want_family == AF_INET6 ? "[IPv6]:PORT or PORT"
			  : want_family == AF_INET ? "IPv4:PORT or PORT" : "IP:PORT, [IPv6]:PORT or PORT";
	char *host = NULL;
	const char *port_s;
	unsigned port = 0;
	int fam = 0;
	unsigned char bin[16] = { 0 };
	int ret = -EINVAL;

	if (!spec || !*spec) {
		set_err(err, "empty address, expected %s", usage);
		return -EINVAL;
	}
	if (spec[0] >= '0' && spec[0] <= '9' && !strpbrk(spec, ".:")) {
		/* bare port */
		port_s = spec;
		fam = want_family ? want_family : AF_INET;
	} else if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close[1] != ':') {
			set_err(err, "'%s' is not %s", spec, usage);
			return -EINVAL;
		}
		host = g_strndup(spec + 1, (gsize)(close - spec - 1));
		port_s = close + 2;
		if (inet_pton(AF_INET6, host, bin) != 1) {
			set_err(err, "'%s': '%s' is not an IPv6 address", spec, host);
			goto out;
		}
		fam = AF_INET6;
	} else {
		const char *colon = strrchr(spec, ':');
		if (!colon) {
			set_err(err, "'%s' is not %s", spec, usage);
			return -EINVAL;
		}
		host = g_strndup(spec, (gsize)(colon - spec));
		port_s = colon + 1;
		if (strchr(host, ':')) {
			/* unbracketed IPv6: tolerated only where IPv6 is the only choice (udp6:) */
			if (want_family == AF_INET6 && inet_pton(AF_INET6, host, bin) == 1) {
				fam = AF_INET6;
			} else {
				set_err(err, "'%s': write IPv6 addresses in brackets: [IPv6]:PORT", spec);
				goto out;
			}
		} else if (g_ascii_strcasecmp(host, "localhost") == 0 && want_family != AF_INET6) {
			inet_pton(AF_INET, "127.0.0.1", bin);
			fam = AF_INET;
		} else if (inet_pton(AF_INET, host, bin) == 1) {
			fam = AF_INET;
		} else {
			set_err(err, "'%s': '%s' is not an IP address", spec, host);
			goto out;
		}
	}
	if (!parse_port(port_s, &port)) {
		set_err(err, "'%s': port '%s' is not a number between 1 and 65535", spec, port_s);
		goto out;
	}
	if (want_family && fam != want_family) {
		set_err(err, "'%s' is not an %s address", spec, want_family == AF_INET ? "IPv4" : "IPv6");
		goto out;
	}
	memset(ss, 0, sizeof(*ss));
	if (fam == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, bin, 4);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, bin, 16);
		*len = sizeof(*sin6);
	}
	ret = 0;
out:
	g_free(host);
	return ret;
}

int rg_parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len, char **err)
{
	return parse_hostport(spec, 0, ss, len, err);
}

int rg_parse_listen_rtpproxy(const char *spec, struct sockaddr_storage *ss, socklen_t *len, char **path,
			     char **err)
{
	*path = NULL;
	size_t pfx = spec && g_str_has_prefix(spec, "unix:") ? 5
		   : spec && g_str_has_prefix(spec, "unix-dgram:") ? 11 : 0;
	if (pfx) {
		const char *p = spec + pfx;
		if (!*p) {
			set_err(err, "'%s': empty socket path", spec);
			return -EINVAL;
		}
		if (strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			set_err(err, "'%s': socket path too long (at most %zu bytes)", spec,
				sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			return -EINVAL;
		}
		memset(ss, 0, sizeof(*ss));
		*len = 0;
		*path = g_strdup(p);
		return 0;
	}
	char *e = NULL;
	int ret;
	if (spec && g_str_has_prefix(spec, "udp:"))
		ret = parse_hostport(spec + 4, AF_INET, ss, len, &e);
	else if (spec && g_str_has_prefix(spec, "udp6:"))
		ret = parse_hostport(spec + 5, AF_INET6, ss, len, &e);
	else {
		set_err(err, "'%s' is not udp:IP:PORT, udp6:[IP]:PORT, unix:PATH or unix-dgram:PATH",
			spec ? spec : "");
		return -EINVAL;
	}
	if (ret) {
		set_err(err, "'%s': %s", spec, e);
		g_free(e);
	}
	return ret;
}

/* ---------- config struct ---------- */

void rg_config_clear(rg_config *cfg)
{
	if (!cfg)
		return;
	g_free(cfg->config_file);
	g_free(cfg->log_facility);
	g_free(cfg->pidfile);
	g_free(cfg->recording_dir);
	g_free(cfg->recording_method);
	g_free(cfg->recording_format);
	if (cfg->interfaces)
		g_ptr_array_unref(cfg->interfaces);
	if (cfg->listen_ng)
		g_ptr_array_unref(cfg->listen_ng);
	if (cfg->listen_rtpproxy)
		g_ptr_array_unref(cfg->listen_rtpproxy);
	memset(cfg, 0, sizeof(*cfg));
}

static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static void set_defaults(rg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = RG_LOG_INFO;
	cfg->log_facility = g_strdup("daemon");
	cfg->interfaces = g_ptr_array_new_with_free_func(iface_free);
	rg_iface_cfg *def = g_new0(rg_iface_cfg, 1);
	def->name = g_strdup("default");
	def->addr = g_strdup("127.0.0.1");
	def->advertised = g_strdup("127.0.0.1");
	def->family = AF_INET;
	g_ptr_array_add(cfg->interfaces, def);
	cfg->listen_ng = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(cfg->listen_ng, g_strdup("127.0.0.1:2223"));
	cfg->listen_rtpproxy = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(cfg->listen_rtpproxy, g_strdup("udp:127.0.0.1:7722"));
	cfg->port_min = 30000;
	cfg->port_max = 40000;
	cfg->timeout = 60;
	cfg->silent_timeout = 3600;
	cfg->final_timeout = 0;
	cfg->offer_timeout = 3600;
	cfg->delete_delay = 30;
	cfg->num_threads = online_cpus();
	cfg->max_sessions = 0;
	cfg->dtx_delay = 50;
	cfg->max_dtx = 0;
}

/* Raw values of one source (command line or file): strings, not yet validated. */
typedef struct raw_src {
	gboolean set[N_OPTS];
	gboolean b[N_OPTS];
	char *s[N_OPTS];
	char **l[N_OPTS];
} raw_src;

static void raw_src_clear(raw_src *r)
{
	for (size_t i = 0; i < N_OPTS; i++) {
		g_free(r->s[i]);
		g_strfreev(r->l[i]);
	}
	memset(r, 0, sizeof(*r));
}

static bool parse_bool_text(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
		if (g_ascii_strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (g_ascii_strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static void rtpproxy_normalise(char **spec)
{
	/* make a relative unix: / unix-dgram: path absolute, the daemon does chdir("/") */
	const char *scheme = g_str_has_prefix(*spec, "unix:") ? "unix:"
			   : g_str_has_prefix(*spec, "unix-dgram:") ? "unix-dgram:" : NULL;
	if (scheme && !g_path_is_absolute(*spec + strlen(scheme))) {
		char *abs = make_absolute(*spec + strlen(scheme));
		char *n = g_strconcat(scheme, abs, NULL);
		g_free(abs);
		g_free(*spec);
		*spec = n;
	}
}

/* Validate and store one list option (values already split and trimmed). */
static int apply_list(rg_config *cfg, const opt_def *d, const char *label, char **vals, char **err)
{
	GPtrArray *arr;
	if (!vals || !vals[0]) {
		set_err(err, "%s: empty list", label);
		return -EINVAL;
	}
	if (d->kind == K_IFACES)
		arr = g_ptr_array_new_with_free_func(iface_free);
	else
		arr = g_ptr_array_new_with_free_func(g_free);
	for (char **v = vals; *v; v++) {
		char *e = NULL;
		if (d->kind == K_IFACES) {
			rg_iface_cfg *ifc = g_new0(rg_iface_cfg, 1);
			if (rg_iface_parse(*v, ifc, &e)) {
				g_free(ifc);
				goto fail;
			}
			for (guint i = 0; i < arr->len; i++) {
				rg_iface_cfg *o = arr->pdata[i];
				if (!strcmp(o->name, ifc->name) && !strcmp(o->addr, ifc->addr)) {
					e = g_strdup_printf("'%s': interface %s/%s is given twice", *v, ifc->name,
							    ifc->addr);
					iface_free(ifc);
					goto fail;
				}
			}
			g_ptr_array_add(arr, ifc);
		} else if (d->kind == K_NG) {
			struct sockaddr_storage ss;
			socklen_t len;
			if (rg_parse_listen(*v, &ss, &len, &e))
				goto fail;
			g_ptr_array_add(arr, g_strdup(*v));
		} else {
			struct sockaddr_storage ss;
			socklen_t len;
			char *path = NULL;
			if (rg_parse_listen_rtpproxy(*v, &ss, &len, &path, &e))
				goto fail;
			g_free(path);
			char *s = g_strdup(*v);
			rtpproxy_normalise(&s);
			g_ptr_array_add(arr, s);
		}
		continue;
fail:
		set_err(err, "%s: %s", label, e);
		g_free(e);
		g_ptr_array_unref(arr);
		return -EINVAL;
	}
	GPtrArray **slot = &FIELD(cfg, GPtrArray *, d->off);
	if (*slot)
		g_ptr_array_unref(*slot);
	*slot = arr;
	return 0;
}

/* Validate and store one scalar option given as text. */
static int apply_scalar(rg_config *cfg, const opt_def *d, const char *label, const char *val, char **err)
{
	unsigned long long v;
	switch (d->kind) {
	case K_BOOL: {
		bool b;
		if (!parse_bool_text(val, &b)) {
			set_err(err, "%s: '%s' is not a boolean (true or false)", label, val);
			return -EINVAL;
		}
		FIELD(cfg, bool, d->off) = b;
		return 0;
	}
	case K_LEVEL: {
		int l = rg_log_parse_level(val);
		if (l < 0) {
			set_err(err, "%s: '%s' is not a log level (0-7, or err, warning, notice, info, debug)",
				label, val);
			return -EINVAL;
		}
		FIELD(cfg, int, d->off) = l;
		return 0;
	}
	case K_FACILITY:
		if (rg_log_parse_facility(val) < 0) {
			set_err(err, "%s: '%s' is not a syslog facility (daemon, user, local0 ... local7, ...)",
				label, val);
			return -EINVAL;
		}
		g_free(FIELD(cfg, char *, d->off));
		FIELD(cfg, char *, d->off) = g_ascii_strdown(val, -1);
		return 0;
	case K_PATH:
		if (!*val) {
			set_err(err, "%s: empty path", label);
			return -EINVAL;
		}
		g_free(FIELD(cfg, char *, d->off));
		FIELD(cfg, char *, d->off) = make_absolute(val);
		return 0;
	case K_STRING:
		g_free(FIELD(cfg, char *, d->off));
		FIELD(cfg, char *, d->off) = g_strdup(val);
		return 0;
	case K_SESSIONS:
		if (strcmp(val, "-1") == 0) {
			FIELD(cfg, unsigned, d->off) = 0;
			return 0;
		}
		/* fall through */
	case K_UINT:
	case K_THREADS:
		if (!parse_decimal(val, d->max, &v) || v < d->min) {
			set_err(err, "%s: '%s' is not a number between %u and %u", label, val, d->min, d->max);
			return -EINVAL;
		}
		if (d->kind == K_THREADS && v == 0)
			v = online_cpus();
		FIELD(cfg, unsigned, d->off) = (unsigned)v;
		return 0;
	default:
		return 0;
	}
}

static bool is_list(const opt_def *d)
{
	return d->kind == K_IFACES || d->kind == K_NG || d->kind == K_RTPPROXY;
}

static const opt_def *find_opt(const char *name)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (strcmp(opt_defs[i].name, name) == 0)
			return &opt_defs[i];
	return NULL;
}

/* Split, trim and drop empty entries of a GKeyFile list. */
static char **clean_list(char **in)
{
	GPtrArray *a = g_ptr_array_new();
	for (char **p = in; p && *p; p++) {
		char *t = g_strstrip(g_strdup(*p));
		if (*t)
			g_ptr_array_add(a, t);
		else
			g_free(t);
	}
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}

static int load_file(const char *path, const char *section, bool section_explicit, raw_src *fr, char **err)
{
	GKeyFile *kf = g_key_file_new();
	GError *gerr = NULL;
	int ret = -EINVAL;
	char **keys = NULL;
	const char *group = section;

	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &gerr)) {
		set_err(err, "config file '%s': %s", path, gerr->message);
		g_error_free(gerr);
		goto out;
	}
	if (!g_key_file_has_group(kf, group)) {
		if (!section_explicit && g_key_file_has_group(kf, "rtpengine")) {
			group = "rtpengine";
		} else {
			if (section_explicit)
				set_err(err, "config file '%s' has no [%s] section", path, section);
			else
				set_err(err, "config file '%s' has no [%s] (or [rtpengine]) section", path, section);
			goto out;
		}
	}
	keys = g_key_file_get_keys(kf, group, NULL, NULL);
	for (char **k = keys; k && *k; k++) {
		const opt_def *d = find_opt(*k);
		if (!d) {
			rg_log(RG_LOG_WARN, "config file '%s' [%s]: unknown key '%s' ignored", path, group, *k);
			continue;
		}
		size_t i = (size_t)(d - opt_defs);
		if (d->kind == K_CONFIG_FILE || d->kind == K_CONFIG_SECTION || d->kind == K_VERSION) {
			rg_log(RG_LOG_WARN, "config file '%s' [%s]: key '%s' is only a command line option, ignored",
			       path, group, *k);
			continue;
		}
		if (is_list(d)) {
			char **l = g_key_file_get_string_list(kf, group, *k, NULL, &gerr);
			if (!l) {
				set_err(err, "config file '%s': %s: %s", path, *k, gerr->message);
				g_clear_error(&gerr);
				goto out;
			}
			g_strfreev(fr->l[i]);
			fr->l[i] = clean_list(l);
			g_strfreev(l);
		} else {
			char *s = g_key_file_get_string(kf, group, *k, &gerr);
			if (!s) {
				set_err(err, "config file '%s': %s: %s", path, *k, gerr->message);
				g_clear_error(&gerr);
				goto out;
			}
			g_free(fr->s[i]);
			fr->s[i] = g_strstrip(s);
		}
		fr->set[i] = TRUE;
	}
	ret = 0;
out:
	g_strfreev(keys);
	g_key_file_free(kf);
	return ret;
}

static int parse_cmdline(int argc, char **argv, raw_src *cl, char **err)
{
	GOptionEntry entries[N_OPTS + 1];
	memset(entries, 0, sizeof(entries));
	for (size_t i = 0; i < N_OPTS; i++) {
		const opt_def *d = &opt_defs[i];
		GOptionEntry *e = &entries[i];
		e->long_name = d->name;
		e->short_name = d->short_name;
		e->description = d->desc;
		e->arg_description = d->arg;
		if (d->kind == K_BOOL || d->kind == K_VERSION) {
			e->arg = G_OPTION_ARG_NONE;
			e->arg_data = &cl->b[i];
		} else if (is_list(d)) {
			e->arg = G_OPTION_ARG_STRING_ARRAY;
			e->arg_data = &cl->l[i];
		} else if (d->kind == K_PATH || d->kind == K_CONFIG_FILE) {
			e->arg = G_OPTION_ARG_FILENAME;
			e->arg_data = &cl->s[i];
		} else {
			e->arg = G_OPTION_ARG_STRING;
			e->arg_data = &cl->s[i];
		}
	}

	GOptionContext *ctx = g_option_context_new("- WebRTC to SIP media gateway (rtpengine compatible)");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(ctx,
		"Options can also be set in the config file (GKeyFile, section [rtpgate] or [rtpengine]),\n"
		"with keys named like the long options: port-min = 30000. List keys (interface,\n"
		"listen-ng, listen-rtpproxy) are ';'-separated. The command line overrides the file.\n");

	int n = argc > 0 ? argc : 1;
	char **args = g_new0(char *, (gsize)n + 1);
	args[0] = g_strdup(argc > 0 && argv && argv[0] ? argv[0] : "rtpgate");
	for (int i = 1; i < argc; i++)
		args[i] = g_strdup(argv[i] ? argv[i] : "");

	GError *gerr = NULL;
	int ret = 0;
	if (!g_option_context_parse_strv(ctx, &args, &gerr)) {
		set_err(err, "%s", gerr->message);
		g_error_free(gerr);
		ret = -EINVAL;
	} else if (args[0] && args[1]) {
		set_err(err, "unexpected argument '%s'", args[1]);
		ret = -EINVAL;
	}
	g_strfreev(args);
	g_option_context_free(ctx);
	if (ret)
		return ret;

	for (size_t i = 0; i < N_OPTS; i++) {
		const opt_def *d = &opt_defs[i];
		if (d->kind == K_BOOL || d->kind == K_VERSION)
			cl->set[i] = cl->b[i];
		else if (is_list(d)) {
			if (cl->l[i]) {
				char **c = clean_list(cl->l[i]);
				g_strfreev(cl->l[i]);
				cl->l[i] = c;
				cl->set[i] = TRUE;
			}
		} else {
			cl->set[i] = cl->s[i] != NULL;
		}
	}
	return 0;
}

int rg_config_load(rg_config *cfg, int argc, char **argv, char **err)
{
	raw_src cl, fr;
	memset(&cl, 0, sizeof(cl));
	memset(&fr, 0, sizeof(fr));
	memset(cfg, 0, sizeof(*cfg));
	int ret = parse_cmdline(argc, argv, &cl, err);
	if (ret)
		goto out;

	const size_t i_file = (size_t)(find_opt("config-file") - opt_defs);
	const size_t i_sect = (size_t)(find_opt("config-section") - opt_defs);
	const size_t i_ver = (size_t)(find_opt("version") - opt_defs);

	if (cl.set[i_ver]) {
		printf("rtpgate %s\n", RG_VERSION);
		fflush(stdout);
		raw_src_clear(&cl);
		exit(0);
	}

	set_defaults(cfg);

	/* which file */
	const char *file = NULL;
	if (cl.set[i_file]) {
		if (!*cl.s[i_file]) {
			set_err(err, "--config-file: empty file name (use --config-file=none for no file)");
			ret = -EINVAL;
			goto out;
		}
		if (strcmp(cl.s[i_file], "none") != 0)
			file = cl.s[i_file];
	} else if (g_file_test(RG_DEFAULT_CONFIG_FILE, G_FILE_TEST_EXISTS)) {
		file = RG_DEFAULT_CONFIG_FILE;
	}
	if (cl.set[i_sect] && !*cl.s[i_sect]) {
		set_err(err, "--config-section: empty section name");
		ret = -EINVAL;
		goto out;
	}
	if (file) {
		cfg->config_file = make_absolute(file);
		ret = load_file(cfg->config_file, cl.set[i_sect] ? cl.s[i_sect] : "rtpgate", cl.set[i_sect], &fr,
				err);
		if (ret)
			goto out;
	}

	/* apply file values, then command line values over them */
	for (int pass = 0; pass < 2; pass++) {
		raw_src *r = pass == 0 ? &fr : &cl;
		for (size_t i = 0; i < N_OPTS; i++) {
			const opt_def *d = &opt_defs[i];
			if (!r->set[i] || d->kind == K_CONFIG_FILE || d->kind == K_CONFIG_SECTION ||
			    d->kind == K_VERSION)
				continue;
			char *label = pass == 0 ? g_strdup_printf("%s: %s", cfg->config_file, d->name)
						: g_strdup_printf("--%s", d->name);
			if (is_list(d))
				ret = apply_list(cfg, d, label, r->l[i], err);
			else if (pass == 1 && d->kind == K_BOOL)
				FIELD(cfg, bool, d->off) = true; /* a flag: given means true */
			else
				ret = apply_scalar(cfg, d, label, r->s[i], err);
			g_free(label);
			if (ret)
				goto out;
		}
	}

	/* cross checks */
	if (cfg->recording_method && g_ascii_strcasecmp(cfg->recording_method, "pcap") != 0) {
		set_err(err, "recording-method: '%s' is not supported (only pcap)", cfg->recording_method);
		ret = -EINVAL;
		goto out;
	}
	if (cfg->recording_format && g_ascii_strcasecmp(cfg->recording_format, "raw") != 0 &&
	    g_ascii_strcasecmp(cfg->recording_format, "eth") != 0) {
		set_err(err, "recording-format: '%s' is not raw or eth", cfg->recording_format);
		ret = -EINVAL;
		goto out;
	}
	if (cfg->port_min >= cfg->port_max) {
		set_err(err, "--port-min (%u) must be lower than --port-max (%u)", cfg->port_min, cfg->port_max);
		ret = -EINVAL;
		goto out;
	}
	if (cfg->port_min & 1) {
		cfg->port_min++; /* RTP on even ports, RTCP on the next odd one */
		if (cfg->port_min >= cfg->port_max) {
			set_err(err, "port range %u-%u is too small: RTP needs an even port and the odd one after it",
				cfg->port_min - 1, cfg->port_max);
			ret = -EINVAL;
			goto out;
		}
	}
	ret = 0;
out:
	raw_src_clear(&cl);
	raw_src_clear(&fr);
	if (ret)
		rg_config_clear(cfg);
	return ret;
}
