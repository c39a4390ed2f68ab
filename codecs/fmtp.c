/* fmtp.c: the SDP a=fmtp parameter list, "key=value; key=value" (RFC 4566 §6: format-specific,
 * but every audio format we know uses this shape: RFC 7587 §7, RFC 4867 §8.2, RFC 4733 §2.4.1). */
#include "codec_priv.h"

#include <string.h>

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int rg_fmtp_walk(const char *fmtp, rg_fmtp_pair_h h, void *arg)
{
	if (!fmtp)
		return 0;
	const char *s = fmtp;
	while (*s) {
		while (*s && (is_space(*s) || *s == ';'))
			s++;
		if (!*s)
			break;
		const char *end = s;
		while (*end && *end != ';')
			end++;
		const char *eq = memchr(s, '=', (size_t)(end - s));
		const char *kend = eq ? eq : end;
		while (kend > s && is_space(kend[-1]))
			kend--;
		const char *val = NULL;
		size_t vlen = 0;
		if (eq) {
			val = eq + 1;
			while (val < end && is_space(*val))
				val++;
			const char *vend = end;
			while (vend > val && is_space(vend[-1]))
				vend--;
			vlen = (size_t)(vend - val);
		}
		if (kend > s) {
			int err = h(s, (size_t)(kend - s), val, vlen, arg);
			if (err)
				return err;
		}
		s = end;
	}
	return 0;
}

bool rg_fmtp_key_is(const char *key, size_t klen, const char *name)
{
	size_t n = strlen(name);
	if (n != klen)
		return false;
	for (size_t i = 0; i < n; i++) {
		char a = key[i], b = name[i];
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (a != b)
			return false;
	}
	return true;
}

int rg_fmtp_uint(const char *val, size_t vlen, unsigned min, unsigned max, unsigned *out)
{
	if (!val || vlen == 0 || vlen > 10)
		return -EINVAL;
	uint64_t v = 0;
	for (size_t i = 0; i < vlen; i++) {
		if (val[i] < '0' || val[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(val[i] - '0');
	}
	if (v < min || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int rg_fmtp_bool(const char *val, size_t vlen, bool *out)
{
	unsigned v;
	int err = rg_fmtp_uint(val, vlen, 0, 1, &v);
	if (err)
		return err;
	*out = v != 0;
	return 0;
}

int rg_fmtp_list(const char *val, size_t vlen, unsigned max, unsigned *mask)
{
	if (!val || vlen == 0)
		return -EINVAL;
	unsigned m = 0;
	size_t i = 0;
	while (i < vlen) {
		size_t j = i;
		while (j < vlen && val[j] != ',')
			j++;
		const char *item = val + i;
		size_t ilen = j - i;
		while (ilen && is_space(*item)) {
			item++;
			ilen--;
		}
		while (ilen && is_space(item[ilen - 1]))
			ilen--;
		unsigned v;
		int err = rg_fmtp_uint(item, ilen, 0, max, &v);
		if (err)
			return err;
		m |= 1u << v;
		i = j + 1;
	}
	*mask = m;
	return 0;
}

int rg_fmtp_ranges(const char *val, size_t vlen, uint32_t bitmap[8])
{
	if (!val || vlen == 0)
		return -EINVAL;
	uint32_t bm[8] = {0};
	size_t i = 0;
	while (i < vlen) {
		size_t j = i;
		while (j < vlen && val[j] != ',')
			j++;
		const char *item = val + i;
		size_t ilen = j - i;
		while (ilen && is_space(*item)) {
			item++;
			ilen--;
		}
		while (ilen && is_space(item[ilen - 1]))
			ilen--;
		const char *dash = memchr(item, '-', ilen);
		unsigned lo, hi;
		int err;
		if (dash) {
			err = rg_fmtp_uint(item, (size_t)(dash - item), 0, 255, &lo);
			if (!err)
				err = rg_fmtp_uint(dash + 1, ilen - (size_t)(dash - item) - 1, 0, 255, &hi);
			if (!err && hi < lo)
				err = -EINVAL;
		} else {
			err = rg_fmtp_uint(item, ilen, 0, 255, &lo);
			hi = lo;
		}
		if (err)
			return err;
		for (unsigned e = lo; e <= hi; e++)
			bm[e / 32] |= 1u << (e % 32);
		i = j + 1;
	}
	memcpy(bitmap, bm, sizeof(bm));
	return 0;
}

int rg_fmtp_common(const char *key, size_t klen, const char *val, size_t vlen, rg_codec_params *p)
{
	unsigned *dst;
	if (rg_fmtp_key_is(key, klen, "ptime"))
		dst = &p->ptime;
	else if (rg_fmtp_key_is(key, klen, "maxptime"))
		dst = &p->maxptime;
	else if (rg_fmtp_key_is(key, klen, "minptime"))
		dst = &p->minptime;
	else
		return 0;
	int err = rg_fmtp_uint(val, vlen, 1, 10000, dst);
	return err ? err : 1;
}

static int generic_pair(const char *key, size_t klen, const char *val, size_t vlen, void *arg)
{
	int r = rg_fmtp_common(key, klen, val, vlen, arg);
	return r < 0 ? r : 0;
}

/* G.711 and G.722 define no fmtp parameters (RFC 4856); accept the common ones, ignore the rest */
int rg_fmtp_parse_generic(const rg_codec_type *t, const char *fmtp, rg_codec_params *out)
{
	rg_codec_params p = *out;
	int err = rg_fmtp_walk(fmtp, generic_pair, &p);
	if (err)
		return err;
	*out = p;
	return 0;
}
