#include "log.h"

#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int rg_log_level = RG_LOG_INFO;
static bool log_stderr = true;
static char log_ident[64] = "rtpgate";
static GMutex log_mutex;

static const char *const level_names[8] = { "emerg", "alert", "crit", "err",
					    "warning", "notice", "info", "debug" };

void rg_log_init(bool to_stderr, int level, const char *ident)
{
	log_stderr = to_stderr;
	rg_log_level = level;
	if (ident)
		g_strlcpy(log_ident, ident, sizeof(log_ident));
	if (!to_stderr)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void rg_log_reopen(void)
{
	if (!log_stderr) {
		closelog();
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
}

int rg_log_parse_level(const char *s)
{
	if (!s || !*s)
		return -1;
	if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
		return s[0] - '0';
	for (int i = 0; i < 8; i++)
		if (g_ascii_strcasecmp(s, level_names[i]) == 0)
			return i;
	if (g_ascii_strcasecmp(s, "warn") == 0)
		return RG_LOG_WARN;
	if (g_ascii_strcasecmp(s, "error") == 0)
		return RG_LOG_ERR;
	return -1;
}

void rg_log_msg(int level, const char *call_id, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (level < 0)
		level = 0;
	if (level > 7)
		level = 7;
	if (!log_stderr) {
		if (call_id)
			syslog(level, "[%s] %s", call_id, msg);
		else
			syslog(level, "%s", msg);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	localtime_r(&ts.tv_sec, &tm);
	char tbuf[32];
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%d %H:%M:%S", &tm);
	g_mutex_lock(&log_mutex);
	if (call_id)
		fprintf(stderr, "%s.%03ld %s: [%s] %s\n", tbuf, ts.tv_nsec / 1000000, level_names[level],
			call_id, msg);
	else
		fprintf(stderr, "%s.%03ld %s: %s\n", tbuf, ts.tv_nsec / 1000000, level_names[level], msg);
	g_mutex_unlock(&log_mutex);
}
