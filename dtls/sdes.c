/* sdes.c: SDP Security Descriptions, the a=crypto attribute (RFC 4568), SRTP key method "inline". */
#include "dtls_priv.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#define TAG_MAX 999999999u /* RFC 4568 section 9.1: tag = 1*9DIGIT */
#define KEY_SALT_MAX (RG_SRTP_MAX_KEY_LEN + RG_SRTP_MAX_SALT_LEN)
#define B64_MAX (((KEY_SALT_MAX + 2) / 3) * 4)

/* ---- base64 (RFC 4648 section 4, the alphabet RFC 4568 section 9.2 names) ---- */

static const char b64_alpha[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64_alpha[(v >> 18) & 63];
		out[o++] = b64_alpha[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64_alpha[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64_alpha[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Padding optional (some peers strip it); no characters after the padding. Returns the decoded
 * length, or -EINVAL. */
static int b64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0, pad = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	while (n && in[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	if (pad && (n + pad) % 4)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int v = b64_val(in[i]);
		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -EINVAL;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (bits >= 6) /* a lone trailing character carries no full octet */
		return -EINVAL;
	return (int)o;
}

/* ---- a=crypto ---- */

/* A view into the caller's attribute value; owns nothing. */
struct cursor {
	const char *p, *end;
};

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/* next run of non-blank characters */
static size_t token(struct cursor *c, const char **tok)
{
	skip_ws(c);
	*tok = c->p;
	while (c->p < c->end && *c->p != ' ' && *c->p != '\t')
		c->p++;
	return (size_t)(c->p - *tok);
}

static int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (!n || n > 20)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* RFC 4568 section 9.2: lifetime = ["2^"] 1*(DIGIT). At most 2^48 SRTP packets per master key
 * (RFC 3711 section 9.2); 0 is meaningless. */
static int parse_lifetime(const char *s, size_t n, uint64_t *out)
{
	uint64_t v;
	if (n > 2 && s[0] == '2' && s[1] == '^') {
		if (parse_u64(s + 2, n - 2, 48, &v))
			return -EINVAL;
		*out = (uint64_t)1 << v;
		return 0;
	}
	if (parse_u64(s, n, (uint64_t)1 << 48, &v) || v == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

/* RFC 4568 section 9.2: mki = mki-value ":" mki-length, length 1..128 octets (we take 1..4) */
static int parse_mki(const char *s, size_t n, struct rg_srtp_master *m)
{
	const char *colon = memchr(s, ':', n);
	uint64_t val, len;
	if (!colon)
		return -EINVAL;
	if (parse_u64(s, (size_t)(colon - s), UINT64_MAX, &val) ||
	    parse_u64(colon + 1, n - (size_t)(colon - s) - 1, 128, &len) || len == 0)
		return -EINVAL;
	if (len > RG_SRTP_MAX_MKI_LEN)
		return -ENOTSUP;
	if (len < 8 && val >> (8 * len))
		return -EINVAL; /* the value does not fit its length */
	m->mki = (uint32_t)val;
	m->mki_len = (uint8_t)len;
	return 0;
}

int rg_sdes_parse(const char *value, size_t len, rg_sdes_crypto *out)
{
	struct cursor c = {value, value + len};
	const char *tok;
	size_t n;
	uint64_t tag;
	uint8_t raw[KEY_SALT_MAX];
	rg_sdes_crypto res;
	int err;

	if (!value || !out)
		return -EINVAL;
	memset(&res, 0, sizeof(res));
	while (c.end > c.p && (c.end[-1] == '\r' || c.end[-1] == '\n' || c.end[-1] == ' '))
		c.end--;

	/* crypto-attribute = tag 1*WSP crypto-suite 1*WSP key-params *(1*WSP session-param) */
	err = -EINVAL;
	n = token(&c, &tok);
	if (!n || n > 9 || parse_u64(tok, n, TAG_MAX, &tag))
		goto out;
	res.tag = (unsigned)tag;

	n = token(&c, &tok);
	if (!n)
		goto out;
	const struct rg_srtp_suite_info *info = rg_srtp_suite_by_sdes_name(tok, n);
	if (!info) {
		err = -ENOTSUP;
		goto out;
	}
	res.suite = info->suite;

	/* key-params: only the "inline" method (RFC 4568 section 6.1), one key */
	n = token(&c, &tok);
	if (n < 7 || strncasecmp(tok, "inline:", 7))
		goto out;
	if (memchr(tok, ';', n)) {
		err = -ENOTSUP; /* several master keys */
		goto out;
	}
	const char *ki = tok + 7, *ki_end = tok + n;
	const char *bar = memchr(ki, '|', (size_t)(ki_end - ki));
	const char *ks_end = bar ? bar : ki_end;
	if ((size_t)(ks_end - ki) > B64_MAX + 2)
		goto out;
	int rawlen = b64_decode(ki, (size_t)(ks_end - ki), raw, sizeof(raw));
	if (rawlen != info->key_len + info->salt_len)
		goto out;
	memcpy(res.key.key, raw, info->key_len);
	memcpy(res.key.salt, raw + info->key_len, info->salt_len);

	/* ["|" lifetime] ["|" mki], in that order */
	bool have_mki = false;
	for (int field = 0; bar && field < 2; field++) {
		const char *f = bar + 1;
		bar = memchr(f, '|', (size_t)(ki_end - f));
		const char *f_end = bar ? bar : ki_end;
		if (memchr(f, ':', (size_t)(f_end - f))) {
			err = parse_mki(f, (size_t)(f_end - f), &res.key);
			if (err)
				goto out;
			err = -EINVAL;
			have_mki = true;
		} else {
			if (have_mki || res.lifetime)
				goto out;
			if (parse_lifetime(f, (size_t)(f_end - f), &res.lifetime))
				goto out;
		}
	}
	if (bar)
		goto out; /* a third '|' field */

	/* session parameters (RFC 4568 section 6.3): we implement none of the defined ones
	 * (UNENCRYPTED_SRTP, KDR, FEC_ORDER, WSH, ...) and refuse the line; the ones marked optional
	 * with a leading '-' are ignored */
	while ((n = token(&c, &tok)) > 0) {
		if (tok[0] != '-') {
			err = -ENOTSUP;
			goto out;
		}
	}

	*out = res;
	err = 0;
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(&res, sizeof(res));
	return err;
}

int rg_sdes_generate(rg_sdes_crypto *out, unsigned tag, enum rg_srtp_suite suite)
{
	const struct rg_srtp_suite_info *info = rg_srtp_suite_info(suite);
	rg_sdes_crypto res;
	int err = -EIO;

	if (!out || !info || tag > TAG_MAX)
		return -EINVAL;
	memset(&res, 0, sizeof(res));
	res.tag = tag;
	res.suite = suite;
	/* a fresh random master key and salt for every a=crypto we offer */
	if (RAND_bytes(res.key.key, info->key_len) != 1 ||
	    RAND_bytes(res.key.salt, info->salt_len) != 1)
		goto out;
	*out = res;
	err = 0;
out:
	OPENSSL_cleanse(&res, sizeof(res));
	return err;
}

int rg_sdes_format(const rg_sdes_crypto *cr, char *buf, size_t len)
{
	const struct rg_srtp_suite_info *info = cr ? rg_srtp_suite_info(cr->suite) : NULL;
	uint8_t raw[KEY_SALT_MAX];
	char b64[B64_MAX + 1];
	char life[32] = "", mki[32] = "";
	int err = -EINVAL;

	if (!info || !buf || cr->tag > TAG_MAX || cr->key.mki_len > RG_SRTP_MAX_MKI_LEN)
		return -EINVAL;
	memcpy(raw, cr->key.key, info->key_len);
	memcpy(raw + info->key_len, cr->key.salt, info->salt_len);
	b64_encode(raw, (size_t)info->key_len + info->salt_len, b64);

	if (cr->lifetime) {
		uint64_t l = cr->lifetime;
		if (l > 1 && !(l & (l - 1)))
			snprintf(life, sizeof(life), "|2^%d", __builtin_ctzll(l));
		else
			snprintf(life, sizeof(life), "|%" PRIu64, l);
	}
	if (cr->key.mki_len)
		snprintf(mki, sizeof(mki), "|%" PRIu32 ":%u", cr->key.mki, (unsigned)cr->key.mki_len);

	int n = snprintf(buf, len, "%u %s inline:%s%s%s", cr->tag, info->sdes_name, b64, life, mki);
	if (n < 0 || (size_t)n >= len) {
		if (len)
			OPENSSL_cleanse(buf, len);
		err = -ENOSPC;
		goto out;
	}
	err = 0;
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(b64, sizeof(b64));
	return err;
}

int rg_sdes_keys(rg_srtp_keys *out, const rg_sdes_crypto *local, const rg_sdes_crypto *remote)
{
	if (!out || !local || !remote || !rg_srtp_suite_info(local->suite))
		return -EINVAL;
	/* RFC 4568 section 7.1: the answer accepts one offered suite, both directions use it,
	 * each with the key of its sender's a=crypto */
	if (local->suite != remote->suite)
		return -EINVAL;
	out->suite = local->suite;
	out->client = local->key;
	out->server = remote->key;
	return 0;
}

void rg_sdes_crypto_wipe(rg_sdes_crypto *c)
{
	if (c)
		OPENSSL_cleanse(c, sizeof(*c));
}
