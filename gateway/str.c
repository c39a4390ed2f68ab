#include "str.h"

#include <glib.h>

bool rg_str_ieq_c(rg_str a, const char *c)
{
	size_t n = strlen(c);
	return a.len == n && (n == 0 || g_ascii_strncasecmp(a.s, c, n) == 0);
}

static inline char flag_fold(char ch)
{
	return (ch == ' ' || ch == '_') ? '-' : ch;
}

bool rg_str_flag_eq(rg_str a, const char *c)
{
	size_t n = strlen(c);
	if (a.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (flag_fold(a.s[i]) != flag_fold(c[i]))
			return false;
	return true;
}

bool rg_str_prefix(rg_str a, const char *prefix, rg_str *rest)
{
	size_t n = strlen(prefix);
	if (a.len < n || memcmp(a.s, prefix, n) != 0)
		return false;
	if (rest)
		*rest = rg_str_mk(a.s + n, a.len - n);
	return true;
}

bool rg_str_to_u64(rg_str a, uint64_t max, uint64_t *out)
{
	if (a.len == 0 || a.len > 20)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < a.len; i++) {
		if (a.s[i] < '0' || a.s[i] > '9')
			return false;
		uint64_t d = (uint64_t)(a.s[i] - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

char *rg_str_dup(rg_str a)
{
	if (!a.s)
		return NULL;
	return g_strndup(a.s, a.len);
}

rg_str rg_str_trim(rg_str a)
{
	while (a.len && (a.s[0] == ' ' || a.s[0] == '\t')) {
		a.s++;
		a.len--;
	}
	while (a.len && (a.s[a.len - 1] == ' ' || a.s[a.len - 1] == '\t'))
		a.len--;
	return a;
}
