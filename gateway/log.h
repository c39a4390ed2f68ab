/* Logging: to stderr or syslog, with levels (syslog numbering: 3 err .. 7 debug). Every line about a
 * call carries its call-id: use rg_clog(call_id, ...). Thread-safe; the log target is process state
 * owned by this module (rg_log_init / rg_log_reopen on SIGHUP). */
#ifndef RG_LOG_H
#define RG_LOG_H

#include <stdbool.h>
#include <syslog.h>

enum { RG_LOG_ERR = LOG_ERR, RG_LOG_WARN = LOG_WARNING, RG_LOG_NOTICE = LOG_NOTICE,
       RG_LOG_INFO = LOG_INFO, RG_LOG_DEBUG = LOG_DEBUG };

extern int rg_log_level;

void rg_log_init(bool to_stderr, int level, const char *ident);
void rg_log_reopen(void);
/* Name ("err", "warning", "info", "debug", ...) or number 0-7 to level; -1 if unknown. */
int rg_log_parse_level(const char *s);
void rg_log_msg(int level, const char *call_id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define rg_log(lvl, ...) do { if ((lvl) <= rg_log_level) rg_log_msg((lvl), NULL, __VA_ARGS__); } while (0)
#define rg_clog(lvl, cid, ...) do { if ((lvl) <= rg_log_level) rg_log_msg((lvl), (cid), __VA_ARGS__); } while (0)

#endif
