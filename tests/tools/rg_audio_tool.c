/* rg_audio_tool: encode PCM to RTP payloads and decode RTP payloads to PCM with the codecs/
 * library (rgcodecs), over stdin/stdout, for test harnesses that have no codec of their own
 * (the Python SIP phone of tests/integration/test_kamailio_transcode.py speaking AMR-WB).
 *
 *   rg_audio_tool info   RTPMAP [--fmtp F] [--ptime MS] [--rate HZ]
 *   rg_audio_tool encode RTPMAP [--fmtp F] [--ptime MS] [--rate HZ]
 *   rg_audio_tool decode RTPMAP [--fmtp F] [--ptime MS] [--rate HZ]
 *
 * RTPMAP is the a=rtpmap value ("AMR-WB/16000", "PCMU/8000", "opus/48000/2"); F the a=fmtp value
 * (e.g. "octet-align=1", which selects the octet-aligned AMR payload format); MS the packet
 * duration (default 20); HZ the PCM rate (default: the codec's, 48000 for Opus).
 *
 * Framing, both directions: records of a 4-octet big-endian length followed by that many octets.
 *   encode: input records are PCM, signed 16 bit little-endian mono at the PCM rate, of any size
 *           (buffered); one output record per RTP payload, i.e. per MS of PCM. A remainder shorter
 *           than MS at end of input is dropped.
 *   decode: one input record per RTP payload, in order; a zero-length input record stands for a
 *           lost packet (MS of loss concealment). One output record of PCM per input record; a
 *           payload that does not decode gives a zero-length record.
 * Output is flushed after every record, so the tool works as a co-process as well as in a batch.
 *
 * `info` prints one line: "pcm_rate=16000 rtp_rate=16000 frame_ms=20 ptime=20 name=AMR-WB
 * octet_align=1". At the end of encode/decode a summary line goes to stderr:
 * "rg_audio_tool: decode: 250 records, 250 payloads, 250 frames, 0 errors, 0 lost".
 * Exit status: 0, 1 if a payload failed to decode/encode, 2 for a usage or setup error. */
#include "rg_codec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RECORD (1u << 20)
#define MAX_PCM    (48000u * RG_PIPELINE_MAX_PACKET_MS / 1000u) /* samples in one packet */

struct tool {
	const rg_codec_type *t;
	rg_codec_params params;
	unsigned pcm_rate;  /* encoder / decoder rate */
	unsigned ptime;     /* ms per RTP payload */
	unsigned frame_ms;  /* encoder frame duration (ptime for sample-based codecs) */
	unsigned nframes;   /* frames per payload */
	unsigned long records, payloads, frames, errors, lost;
};

static void usage(void)
{
	fprintf(stderr, "usage: rg_audio_tool info|encode|decode RTPMAP [--fmtp F] [--ptime MS] [--rate HZ]\n"
			"  RTPMAP as in a=rtpmap (AMR-WB/16000, PCMU/8000, opus/48000/2); records on stdin and\n"
			"  stdout are a 4-octet big-endian length + data (PCM s16le mono, or one RTP payload)\n");
}

/* 1 = a record, 0 = clean end of input, -EIO truncated or oversized */
static int read_record(uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t hdr[4];
	size_t n = fread(hdr, 1, 4, stdin);
	if (n == 0 && feof(stdin))
		return 0;
	if (n != 4)
		return -EIO;
	uint32_t l = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (l > cap)
		return -EIO;
	if (l && fread(buf, 1, l, stdin) != l)
		return -EIO;
	*len = l;
	return 1;
}

static int write_record(const void *data, size_t len)
{
	uint8_t hdr[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };
	if (fwrite(hdr, 1, 4, stdout) != 4 || (len && fwrite(data, 1, len, stdout) != len) || fflush(stdout))
		return -EIO;
	return 0;
}

static int setup(struct tool *tl, const char *rtpmap, const char *fmtp, unsigned ptime, unsigned rate)
{
	if (rg_codec_find_rtpmap(&tl->t, rtpmap, fmtp) < 0) {
		fprintf(stderr, "rg_audio_tool: unknown codec '%s' (fmtp '%s')\n", rtpmap, fmtp ? fmtp : "");
		return -ENOENT;
	}
	if (tl->t->flags & RG_CODEC_F_EVENT) {
		fprintf(stderr, "rg_audio_tool: '%s' is not an audio codec\n", rtpmap);
		return -EINVAL;
	}
	if (rg_codec_params_parse(tl->t, fmtp, &tl->params) < 0) {
		fprintf(stderr, "rg_audio_tool: bad fmtp '%s'\n", fmtp);
		return -EINVAL;
	}
	tl->pcm_rate = rate ? rate : (tl->t->pcm_rate ? tl->t->pcm_rate : 48000);
	if (tl->t->pcm_rate && tl->pcm_rate != tl->t->pcm_rate) {
		fprintf(stderr, "rg_audio_tool: %s runs at %u Hz only\n", tl->t->name, tl->t->pcm_rate);
		return -EINVAL;
	}
	tl->ptime = ptime ? ptime : 20;
	tl->frame_ms = rg_codec_frame_ms(tl->t, tl->ptime);
	if (!tl->frame_ms || tl->ptime > RG_PIPELINE_MAX_PACKET_MS) {
		fprintf(stderr, "rg_audio_tool: %s cannot make %u ms packets\n", tl->t->name, tl->ptime);
		return -EINVAL;
	}
	tl->nframes = tl->ptime / tl->frame_ms;
	if (tl->nframes > 1 && !tl->t->packetize) {
		fprintf(stderr, "rg_audio_tool: %s takes one frame per payload: ptime %u ms unsupported\n",
			tl->t->name, tl->ptime);
		return -EINVAL;
	}
	if (tl->nframes > RG_DEPKT_MAX_FRAMES)
		return -EINVAL;
	return 0;
}

static int run_encode(struct tool *tl)
{
	rg_encoder *enc;
	int e = rg_enc_new(&enc, tl->t, &tl->params, tl->pcm_rate, 1);
	if (e < 0) {
		fprintf(stderr, "rg_audio_tool: cannot create the %s encoder: %s\n", tl->t->name, strerror(-e));
		return 2;
	}
	const unsigned frame_samples = tl->frame_ms * tl->pcm_rate / 1000;
	const unsigned pkt_samples = frame_samples * tl->nframes;
	int16_t *pcm = calloc(pkt_samples, sizeof(int16_t));
	uint8_t *in = malloc(MAX_RECORD);
	uint8_t *enc_buf = malloc((size_t)RG_ENC_MAX_FRAME * tl->nframes);
	uint8_t out[RG_ENC_MAX_FRAME * 4];
	unsigned have = 0;
	int rc = 0;
	size_t len;
	while ((e = read_record(in, MAX_RECORD, &len)) > 0) {
		tl->records++;
		for (size_t off = 0; off + 1 < len; off += 2) {
			pcm[have++] = (int16_t)(in[off] | in[off + 1] << 8);
			if (have < pkt_samples)
				continue;
			have = 0;
			rg_frame fr[RG_DEPKT_MAX_FRAMES];
			size_t used = 0, plen = 0;
			int err = 0;
			for (unsigned i = 0; i < tl->nframes && !err; i++) {
				size_t flen = 0;
				err = rg_enc_encode(enc, pcm + i * frame_samples, frame_samples, enc_buf + used,
						    RG_ENC_MAX_FRAME, &flen);
				if (err)
					break;
				fr[i] = (rg_frame){ .data = enc_buf + used, .len = flen };
				used += flen;
				tl->frames++;
			}
			if (!err && tl->t->packetize)
				err = tl->t->packetize(tl->t, &tl->params, fr, tl->nframes, out, sizeof(out), &plen);
			else if (!err) {
				if (fr[0].len > sizeof(out))
					err = -ENOBUFS;
				else
					memcpy(out, fr[0].data, plen = fr[0].len);
			}
			if (err) {
				tl->errors++;
				rc = 1;
				plen = 0;
			} else
				tl->payloads++;
			if (write_record(out, plen) < 0) {
				e = -EIO;
				goto done;
			}
		}
	}
done:
	if (e < 0) {
		fprintf(stderr, "rg_audio_tool: encode: bad input or output framing\n");
		rc = 2;
	}
	fprintf(stderr, "rg_audio_tool: encode: %lu records, %lu payloads, %lu frames, %lu errors\n", tl->records,
		tl->payloads, tl->frames, tl->errors);
	free(pcm);
	free(in);
	free(enc_buf);
	rg_enc_free(enc);
	return rc;
}

static int decode_one(struct tool *tl, rg_decoder *dec, const uint8_t *payload, size_t len, int16_t *pcm,
		      unsigned cap, unsigned *n)
{
	static rg_depkt dp;
	*n = 0;
	if (tl->t->depacketize) {
		int e = tl->t->depacketize(tl->t, &tl->params, payload, len, &dp);
		if (e < 0)
			return e;
	} else {
		dp.n = 1;
		dp.frame[0] = (rg_frame){ .data = payload, .len = len };
	}
	for (unsigned i = 0; i < dp.n; i++) {
		unsigned got;
		int e = rg_dec_decode(dec, dp.frame[i].data, dp.frame[i].len, pcm + *n, cap - *n, &got);
		if (e < 0)
			return e;
		*n += got;
		tl->frames++;
	}
	return 0;
}

static int run_decode(struct tool *tl)
{
	rg_decoder *dec;
	int e = rg_dec_new(&dec, tl->t, &tl->params, tl->pcm_rate, 1);
	if (e < 0) {
		fprintf(stderr, "rg_audio_tool: cannot create the %s decoder: %s\n", tl->t->name, strerror(-e));
		return 2;
	}
	uint8_t *in = malloc(MAX_RECORD);
	int16_t *pcm = malloc(MAX_PCM * sizeof(int16_t));
	uint8_t *out = malloc(MAX_PCM * 2);
	int rc = 0;
	size_t len;
	while ((e = read_record(in, MAX_RECORD, &len)) > 0) {
		tl->records++;
		unsigned n = 0;
		int err;
		if (len == 0) {
			tl->lost++;
			err = rg_dec_conceal(dec, tl->ptime * tl->pcm_rate / 1000, pcm, MAX_PCM, &n);
		} else {
			err = decode_one(tl, dec, in, len, pcm, MAX_PCM, &n);
			if (!err)
				tl->payloads++;
		}
		if (err) {
			tl->errors++;
			rc = 1;
			n = 0;
		}
		for (unsigned i = 0; i < n; i++) {
			out[2 * i] = (uint8_t)((uint16_t)pcm[i] & 0xff);
			out[2 * i + 1] = (uint8_t)((uint16_t)pcm[i] >> 8);
		}
		if (write_record(out, (size_t)n * 2) < 0) {
			e = -EIO;
			break;
		}
	}
	if (e < 0) {
		fprintf(stderr, "rg_audio_tool: decode: bad input or output framing\n");
		rc = 2;
	}
	fprintf(stderr, "rg_audio_tool: decode: %lu records, %lu payloads, %lu frames, %lu errors, %lu lost\n",
		tl->records, tl->payloads, tl->frames, tl->errors, tl->lost);
	free(in);
	free(pcm);
	free(out);
	rg_dec_free(dec);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		usage();
		return 2;
	}
	const char *mode = argv[1], *rtpmap = argv[2], *fmtp = NULL;
	unsigned ptime = 0, rate = 0;
	for (int i = 3; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--fmtp") == 0)
			fmtp = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--ptime") == 0)
			ptime = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (i + 1 < argc && strcmp(argv[i], "--rate") == 0)
			rate = (unsigned)strtoul(argv[++i], NULL, 10);
		else {
			usage();
			return 2;
		}
	}
	rg_codec_init();
	struct tool tl = { 0 };
	if (setup(&tl, rtpmap, fmtp, ptime, rate) < 0)
		return 2;
	if (strcmp(mode, "info") == 0) {
		printf("pcm_rate=%u rtp_rate=%u frame_ms=%u ptime=%u name=%s octet_align=%d\n", tl.pcm_rate,
		       tl.t->rate, tl.frame_ms, tl.ptime, tl.t->name, (tl.t->flags & RG_CODEC_F_OCTET_ALIGN) ? 1 : 0);
		return 0;
	}
	if (strcmp(mode, "encode") == 0)
		return run_encode(&tl);
	if (strcmp(mode, "decode") == 0)
		return run_decode(&tl);
	usage();
	return 2;
}
