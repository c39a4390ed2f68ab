/* codec_priv.h: internals shared by the files of codecs/ (not installed, not for the gateway). */
#ifndef RG_CODEC_PRIV_H
#define RG_CODEC_PRIV_H

#include "rg_codec.h"

#include <errno.h>

/* Each codec's encoder/decoder struct starts with one of these bases; the ops table is a static
 * const of the codec's file. The object is allocated by the codec's *_new (calloc) and freed by
 * ops->free, reached through rg_enc_free()/rg_dec_free(). */
struct rg_enc_ops {
	int (*encode)(rg_encoder *e, const int16_t *pcm, unsigned samples, uint8_t *out, size_t cap, size_t *outlen);
	int (*set_bitrate)(rg_encoder *e, unsigned bps); /* NULL: -ENOTSUP */
	void (*free)(rg_encoder *e);
};

struct rg_encoder {
	const struct rg_enc_ops *ops;
	const rg_codec_type *type;
	unsigned rate;
	unsigned channels;
};

struct rg_dec_ops {
	int (*decode)(rg_decoder *d, const uint8_t *in, size_t len, int16_t *pcm, unsigned cap, unsigned *samples);
	int (*conceal)(rg_decoder *d, unsigned lost, int16_t *pcm, unsigned cap, unsigned *samples);
	int (*decode_fec)(rg_decoder *d, const uint8_t *next, size_t len, unsigned lost, int16_t *pcm, unsigned cap,
			  unsigned *samples); /* NULL: no FEC */
	void (*free)(rg_decoder *d);
};

struct rg_decoder {
	const struct rg_dec_ops *ops;
	const rg_codec_type *type;
	unsigned rate;
	unsigned channels;
};

/* Built-in types, defined in codec_*.c (registry.c registers them). */
extern const rg_codec_type rg_codec_pcmu, rg_codec_pcma, rg_codec_g722, rg_codec_g729;
extern const rg_codec_type rg_codec_opus;
extern const rg_codec_type rg_codec_amr_be, rg_codec_amr_oa, rg_codec_amrwb_be, rg_codec_amrwb_oa;
extern const rg_codec_type rg_codec_tev8, rg_codec_tev16, rg_codec_tev48;

/* fmtp.c: "key=value; key=value" walker. Calls h(key, klen, val, vlen, arg) for each pair (val
 * NULL for a bare key); stops on and returns the first non-zero return of h. */
typedef int (*rg_fmtp_pair_h)(const char *key, size_t klen, const char *val, size_t vlen, void *arg);
int rg_fmtp_walk(const char *fmtp, rg_fmtp_pair_h h, void *arg);
bool rg_fmtp_key_is(const char *key, size_t klen, const char *name);
/* unsigned decimal in [min, max] */
int rg_fmtp_uint(const char *val, size_t vlen, unsigned min, unsigned max, unsigned *out);
int rg_fmtp_bool(const char *val, size_t vlen, bool *out);
/* "0,2,5,7" -> bitmask; each value <= max */
int rg_fmtp_list(const char *val, size_t vlen, unsigned max, unsigned *mask);
/* "0-15,66" -> events bitmap */
int rg_fmtp_ranges(const char *val, size_t vlen, uint32_t bitmap[8]);

/* Common ptime/maxptime/minptime keys (any codec's fmtp may carry them): 1 handled, 0 not one of
 * them, -EINVAL bad value. */
int rg_fmtp_common(const char *key, size_t klen, const char *val, size_t vlen, rg_codec_params *p);
int rg_fmtp_parse_generic(const rg_codec_type *t, const char *fmtp, rg_codec_params *out);

#endif
