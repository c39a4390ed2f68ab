/* rg_str: a non-owning slice of bytes (pointer + length), used by every parser (bencode, SDP, RTP,
 * rtpproxy commands). Ownership: an rg_str never owns its bytes; whoever owns the buffer it points
 * into must outlive it. Copy into call state with rg_str_dup() (result freed with g_free). */
#ifndef RG_STR_H
#define RG_STR_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef struct rg_str {
	const char *s;
	size_t len;
} rg_str;

#define RG_STR_FMT "%.*s"
#define RG_STR_ARG(x) (int)(x).len, (x).s
#define RG_STR_C(lit) ((rg_str){ (lit), sizeof(lit) - 1 })
#define RG_STR_NULL ((rg_str){ NULL, 0 })

static inline rg_str rg_str_from(const char *s) { return (rg_str){ s, s ? strlen(s) : 0 }; }
static inline rg_str rg_str_mk(const char *s, size_t len) { return (rg_str){ s, len }; }
static inline bool rg_str_is_set(rg_str a) { return a.s != NULL; }
static inline bool rg_str_eq(rg_str a, rg_str b) { return a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, a.len) == 0); }
static inline bool rg_str_eq_c(rg_str a, const char *c) { return rg_str_eq(a, rg_str_from(c)); }

/* Case-insensitive comparison (ASCII). */
bool rg_str_ieq_c(rg_str a, const char *c);
/* Equality where ' ', '-' and '_' are treated alike (NG keys and flags: "received from" ==
 * "received-from"), case-sensitive otherwise. */
bool rg_str_flag_eq(rg_str a, const char *c);
/* a starts with prefix (case-sensitive); on success *rest is the remainder. */
bool rg_str_prefix(rg_str a, const char *prefix, rg_str *rest);
/* Parse an unsigned decimal that fills the whole slice; false on empty, junk or overflow past max. */
bool rg_str_to_u64(rg_str a, uint64_t max, uint64_t *out);
/* Newly allocated NUL-terminated copy (g_malloc); free with g_free. NULL for an unset slice. */
char *rg_str_dup(rg_str a);
/* Trim ASCII spaces and tabs on both ends. */
rg_str rg_str_trim(rg_str a);

#endif
