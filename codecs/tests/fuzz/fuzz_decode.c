/* libFuzzer target for the decode side of rgcodecs: every decoder (opencore AMR/AMR-WB, libopus,
 * spandsp G.711/G.722 behind our length checks) and a whole transcoding pipeline fed hostile
 * payloads and timestamps (gaps, resyncs, late packets, FEC and PLC paths).
 * Input: octet 0 picks the input type, octet 1 the output type; then records of
 * [len][ts step][len octets of payload]. ts step: low 7 bits x 10 ms of the input clock,
 * bit 7 set = subtract instead (late / backwards). Into the pipeline, a 1-octet payload also
 * goes as RFC 3389 CN, an empty one is a quiet sender's gap (rg_pipeline_fill for the step).
 * The pipeline also decodes the next type in the list as a second input (a sender switching
 * codecs); a ts step octet of exactly 0x80 switches between the two. */
#include "rg_codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const rg_codec_type *types[32];
static unsigned n_types;

static void init(void)
{
	if (n_types)
		return;
	rg_codec_init();
	const rg_codec_type *t;
	for (unsigned i = 0; rg_codec_nth(&t, i) == 0 && n_types < 32; i++)
		if (t->decoder_new && t->encoder_new && !(t->flags & RG_CODEC_F_EVENT))
			types[n_types++] = t;
}

static int16_t pcm[48000 / 1000 * 250 * 2];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init();
	if (size < 2 || !n_types)
		return 0;
	const rg_codec_type *it = types[data[0] % n_types], *ot = types[data[1] % n_types];
	const rg_codec_type *it2 = types[(data[0] + 1u) % n_types];
	data += 2;
	size -= 2;
	rg_decoder *d = NULL;
	rg_pipeline *p = NULL;
	if (rg_dec_new(&d, it, NULL, 0, 1) != 0)
		abort();
	/* the AMR entries have no payload hooks when payload_amr.c is not built: decoder only */
	int perr = rg_pipeline_new(&p, it, NULL, ot, NULL, 20);
	if (perr && perr != -ENOTSUP)
		abort();
	int second = -1;
	unsigned cur = 0;
	if (p) {
		second = rg_pipeline_add_input(p, it2, NULL);
		if (second < 0 && second != -ENOTSUP)
			abort();
	}
	uint32_t ts = 0;
	uint32_t step = it->rate / 100;
	while (size >= 2) {
		size_t len = data[0];
		uint8_t tsb = data[1];
		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		if (tsb & 0x80)
			ts -= (tsb & 0x7f) * step;
		else
			ts += (tsb & 0x7f) * step;
		if (tsb == 0x80 && p && second > 0) {
			cur = cur ? 0 : (unsigned)second;
			if (rg_pipeline_use_input(p, cur) != 0)
				abort();
		}
		unsigned got;
		if (len) {
			int err = rg_dec_decode(d, data, len, pcm, sizeof(pcm) / sizeof(pcm[0]), &got);
			if (err && err != -EINVAL && err != -ENOBUFS)
				abort();
			if (rg_dec_has_fec(d))
				rg_dec_decode_fec(d, data, len, (tsb & 0x7f) * rg_dec_rate(d) / 100, pcm,
						  sizeof(pcm) / sizeof(pcm[0]), &got);
		} else {
			rg_dec_conceal(d, (tsb & 0x7f) * rg_dec_rate(d) / 100, pcm, sizeof(pcm) / sizeof(pcm[0]), &got);
		}
		if (p) {
			int err;
			if (len == 1)   /* a one-octet payload also goes in as RFC 3389 CN */
				err = rg_pipeline_push_cn(p, data, len, ts);
			else if (len)
				err = rg_pipeline_push(p, data, len, ts);
			else            /* no payload: the sender is quiet, fill the gap */
				err = rg_pipeline_fill(p, (tsb & 0x7f) * step);
			if (err && err != -EINVAL && err != -EALREADY && err != -EMSGSIZE && err != -ENOBUFS &&
			    err != -ENOTSUP && err != -EAGAIN)
				abort();
			uint8_t out[RG_ENC_MAX_FRAME];
			size_t olen;
			uint32_t inc;
			int n = 0;
			while ((err = rg_pipeline_pull(p, out, sizeof(out), &olen, &inc)) == 0)
				n++;
			if (err != -EAGAIN)
				abort();
		}
		data += len;
		size -= len;
	}
	rg_pipeline_free(p);
	rg_dec_free(d);
	return 0;
}
