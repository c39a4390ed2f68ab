/* bench_codecs: microseconds per 20 ms frame for each codec's encoder and decoder, the resampler,
 * and whole transcoding pipelines (push + pull of one packet), on one core. Not a test: prints a
 * table (compare rtpengine's ~200 us per transcoded packet). Also Opus quality (SNR) against CPU
 * at complexity 5 and 10 at 8 kHz, the measurement behind RG_OPUS_DEFAULT_COMPLEXITY.
 *
 *   build/codecs/tests/bench_codecs [seconds-of-audio-per-case, default 20]
 */
#include "rg_codec.h"
#include "signal.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Test signal: espeak-ng speech when espeak-ng is installed (generated once, 22.05 kHz, brought
 * to the codec's rate by linear interpolation and repeated), else a synthetic voiced signal. */
static int16_t *speech_raw;
static size_t speech_n;
static unsigned speech_rate;

static void load_speech(void)
{
	gchar *espeak = g_find_program_in_path("espeak-ng");
	if (!espeak)
		return;
	gchar *dir = g_dir_make_tmp("rgbench-XXXXXX", NULL);
	gchar *wav = g_build_filename(dir, "s.wav", NULL);
	gchar *argv[] = {espeak, "-w", wav, "-s", "160",
			 "Please hold the line while your call is being transferred. The gateway translates "
			 "between WebRTC and the telephone network, frame by frame, without adding delay.",
			 NULL};
	gint status = -1;
	if (g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL,
			 NULL, &status, NULL) &&
	    status == 0)
		sig_read_wav(wav, &speech_raw, &speech_n, &speech_rate);
	g_remove(wav);
	g_rmdir(dir);
	g_free(wav);
	g_free(dir);
	g_free(espeak);
}

static void speechlike(int16_t *x, size_t n, unsigned rate)
{
	if (speech_raw) {
		size_t m;
		int16_t *s = sig_resample_linear(speech_raw, speech_n, speech_rate, rate, &m);
		for (size_t i = 0; i < n; i++)
			x[i] = s[i % m];
		g_free(s);
		return;
	}
	double ph = 0;
	GRand *r = g_rand_new_with_seed(7);
	for (size_t i = 0; i < n; i++) {
		double t = (double)i / rate;
		double f0 = 120 + 30 * sin(2 * M_PI * 3 * t);
		ph += 2 * M_PI * f0 / rate;
		double v = 0;
		for (int k = 1; k <= 25 && k * f0 < rate * 0.45; k++)
			v += sin(k * ph) / k;
		double env = 0.55 + 0.45 * sin(2 * M_PI * 4 * t);
		double noise = g_rand_double_range(r, -1, 1) * 0.05;
		x[i] = (int16_t)lrint(6000 * (env * v + noise));
	}
	g_rand_free(r);
}

typedef struct {
	const char *rtpmap;
	unsigned rate;
	int complexity;
	const char *label;
} codec_case;

static double bench_encode(const rg_codec_type *t, const rg_codec_params *p, unsigned rate, const int16_t *pcm,
			   size_t n, uint8_t (*pkts)[RG_ENC_MAX_FRAME], size_t *lens)
{
	rg_encoder *e;
	if (rg_enc_new(&e, t, p, rate, 1))
		abort();
	unsigned fs = rate / 50;
	size_t frames = n / fs;
	/* warm-up */
	for (size_t i = 0; i < 10 && i < frames; i++)
		if (rg_enc_encode(e, pcm + i * fs, fs, pkts[i], RG_ENC_MAX_FRAME, &lens[i]))
			abort();
	rg_enc_free(e);
	if (rg_enc_new(&e, t, p, rate, 1))
		abort();
	double t0 = sig_now_us();
	for (size_t i = 0; i < frames; i++)
		if (rg_enc_encode(e, pcm + i * fs, fs, pkts[i], RG_ENC_MAX_FRAME, &lens[i]))
			abort();
	double us = (sig_now_us() - t0) / frames;
	rg_enc_free(e);
	return us;
}

static double bench_decode(const rg_codec_type *t, const rg_codec_params *p, unsigned rate,
			   uint8_t (*pkts)[RG_ENC_MAX_FRAME], const size_t *lens, size_t frames, int16_t *out)
{
	rg_decoder *d;
	if (rg_dec_new(&d, t, p, rate, 1))
		abort();
	unsigned fs = rate / 50;
	double t0 = sig_now_us();
	for (size_t i = 0; i < frames; i++) {
		unsigned got;
		if (rg_dec_decode(d, pkts[i], lens[i], out + i * fs, fs, &got))
			abort();
	}
	double us = (sig_now_us() - t0) / frames;
	rg_dec_free(d);
	return us;
}

static void codecs(double seconds)
{
	static const codec_case cases[] = {
		{"PCMU/8000", 8000, -1, "G.711 u-law"},
		{"PCMA/8000", 8000, -1, "G.711 A-law"},
		{"G722/8000", 16000, -1, "G.722 64k"},
		{"opus/48000/2", 8000, 5, "Opus 8 kHz 24k c5"},
		{"opus/48000/2", 8000, 10, "Opus 8 kHz 24k c10"},
		{"opus/48000/2", 16000, 5, "Opus 16 kHz 32k c5"},
		{"opus/48000/2", 16000, 10, "Opus 16 kHz 32k c10"},
		{"opus/48000/2", 48000, 5, "Opus 48 kHz 48k c5"},
		{"opus/48000/2", 48000, 10, "Opus 48 kHz 48k c10"},
		{"AMR/8000", 8000, -1, "AMR-NB 12.2"},
		{"AMR-WB/16000", 16000, -1, "AMR-WB 23.85"},
	};
	printf("%-22s %10s %10s %8s %9s\n", "codec (20 ms frames)", "enc us", "dec us", "bytes", "SNR dB*");
	for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
		const rg_codec_type *t;
		if (rg_codec_find_rtpmap(&t, cases[c].rtpmap, NULL))
			abort();
		rg_codec_params p;
		rg_codec_params_default(t, &p);
		p.opus.complexity = cases[c].complexity;
		unsigned rate = cases[c].rate, fs = rate / 50;
		size_t frames = (size_t)(seconds * 50), n = frames * fs;
		int16_t *pcm = g_new(int16_t, n), *out = g_new0(int16_t, n);
		speechlike(pcm, n, rate);
		uint8_t(*pkts)[RG_ENC_MAX_FRAME] = g_malloc(frames * RG_ENC_MAX_FRAME);
		size_t *lens = g_new(size_t, frames), bytes = 0;
		double enc = bench_encode(t, &p, rate, pcm, n, pkts, lens);
		double dec = bench_decode(t, &p, rate, pkts, lens, frames, out);
		for (size_t i = 0; i < frames; i++)
			bytes += lens[i];
		size_t skip = rate / 10;
		double snr = sig_local_snr_db(pcm + skip, out + skip, n - skip, rate / 25, rate / 4);
		printf("%-22s %10.1f %10.1f %8.1f %9.1f\n", cases[c].label, enc, dec, (double)bytes / frames, snr);
		g_free(pcm);
		g_free(out);
		g_free(pkts);
		g_free(lens);
	}
}

/* Opus at 8 kHz, 24 kbit/s: quality against CPU for complexity 0..10 on a tone, a chirp and the
 * speech-like signal */
static void opus_complexity(double seconds)
{
	const rg_codec_type *t;
	if (rg_codec_find_rtpmap(&t, "opus/48000/2", NULL))
		abort();
	unsigned rate = 8000, fs = 160;
	size_t frames = (size_t)(seconds * 50), n = frames * fs;
	int16_t *sig[3];
	const char *names[3] = {"1 kHz tone", "chirp", speech_raw ? "speech" : "synthetic voice"};
	for (int s = 0; s < 3; s++)
		sig[s] = g_new(int16_t, n);
	sig_tone(sig[0], n, rate, 1000, -10);
	sig_chirp(sig[1], n, rate, 200, 3400, -12);
	speechlike(sig[2], n, rate);
	int16_t *out = g_new0(int16_t, n);
	uint8_t(*pkts)[RG_ENC_MAX_FRAME] = g_malloc(frames * RG_ENC_MAX_FRAME);
	size_t *lens = g_new(size_t, frames);
	printf("* %s, SNR of 250 ms windows each aligned on its own (sig_local_snr_db)\n",
	       speech_raw ? "espeak-ng speech" : "synthetic voiced signal (no espeak-ng)");
	printf("\nOpus 8 kHz 24 kbit/s, complexity vs quality (windowed SNR, dB) and encoder CPU\n");
	printf("%-10s %9s", "complexity", "enc us");
	for (int s = 0; s < 3; s++)
		printf(" %16s", names[s]);
	printf("\n");
	static const int cx[] = {0, 3, 5, 8, 10};
	for (size_t k = 0; k < G_N_ELEMENTS(cx); k++) {
		rg_codec_params p;
		rg_codec_params_default(t, &p);
		p.opus.complexity = cx[k];
		p.opus.bitrate = 24000;
		double enc_us = 0;
		printf("%-10d", cx[k]);
		char line[256] = "";
		for (int s = 0; s < 3; s++) {
			enc_us += bench_encode(t, &p, rate, sig[s], n, pkts, lens) / 3;
			bench_decode(t, &p, rate, pkts, lens, frames, out);
			size_t skip = rate / 10, lag = rate / 25;
			double snr = sig_local_snr_db(sig[s] + skip, out + skip, n - skip, lag, rate / 4);
			size_t l = strlen(line);
			snprintf(line + l, sizeof(line) - l, " %16.1f", snr);
		}
		printf(" %9.1f%s\n", enc_us, line);
	}
	for (int s = 0; s < 3; s++)
		g_free(sig[s]);
	g_free(out);
	g_free(pkts);
	g_free(lens);
}

static void resampler(double seconds)
{
	static const unsigned pairs[][2] = {{8000, 16000}, {16000, 8000}, {8000, 48000}, {48000, 8000},
					    {16000, 48000}, {48000, 16000}};
	printf("\n%-22s %10s\n", "resampler (20 ms)", "us");
	for (size_t i = 0; i < G_N_ELEMENTS(pairs); i++) {
		rg_resampler *r;
		if (rg_resampler_new(&r, pairs[i][0], pairs[i][1], 1))
			abort();
		unsigned fs = pairs[i][0] / 50;
		size_t frames = (size_t)(seconds * 50);
		int16_t *in = g_new(int16_t, fs), *out = g_new(int16_t, rg_resampler_out_max(r, fs));
		speechlike(in, fs, pairs[i][0]);
		double t0 = sig_now_us();
		for (size_t k = 0; k < frames; k++) {
			unsigned got;
			if (rg_resample(r, in, fs, out, rg_resampler_out_max(r, fs), &got))
				abort();
		}
		double us = (sig_now_us() - t0) / frames;
		char label[64];
		snprintf(label, sizeof(label), "%u -> %u", pairs[i][0], pairs[i][1]);
		printf("%-22s %10.1f\n", label, us);
		rg_resampler_free(r);
		g_free(in);
		g_free(out);
	}
}

typedef struct {
	const char *in, *in_fmtp, *out, *out_fmtp, *label;
} pipe_case;

static void pipelines(double seconds)
{
	static const pipe_case cases[] = {
		{"opus/48000/2", NULL, "PCMU/8000", NULL, "Opus -> PCMU"},
		{"PCMU/8000", NULL, "opus/48000/2", NULL, "PCMU -> Opus"},
		{"opus/48000/2", NULL, "G722/8000", NULL, "Opus -> G.722"},
		{"G722/8000", NULL, "opus/48000/2", NULL, "G.722 -> Opus"},
		{"opus/48000/2", NULL, "opus/48000/2", NULL, "Opus -> Opus 48k"},
		{"PCMU/8000", NULL, "G722/8000", NULL, "PCMU -> G.722"},
		{"G722/8000", NULL, "PCMA/8000", NULL, "G.722 -> PCMA"},
		{"AMR/8000", "octet-align=1", "opus/48000/2", NULL, "AMR -> Opus"},
		{"opus/48000/2", NULL, "AMR/8000", "octet-align=1", "Opus -> AMR"},
		{"AMR-WB/16000", NULL, "opus/48000/2", NULL, "AMR-WB -> Opus"},
		{"opus/48000/2", NULL, "AMR-WB/16000", NULL, "Opus -> AMR-WB"},
		{"PCMA/8000", NULL, "AMR-WB/16000", NULL, "PCMA -> AMR-WB"},
	};
	printf("\n%-22s %12s %s\n", "pipeline (20 ms pkts)", "us/packet", "(push + pull, default complexity)");
	for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
		const rg_codec_type *it, *ot;
		rg_codec_params ip, op;
		if (rg_codec_find_rtpmap(&it, cases[c].in, cases[c].in_fmtp) ||
		    rg_codec_find_rtpmap(&ot, cases[c].out, cases[c].out_fmtp) ||
		    rg_codec_params_parse(it, cases[c].in_fmtp, &ip) || rg_codec_params_parse(ot, cases[c].out_fmtp, &op))
			abort();
		rg_pipeline *p;
		int err = rg_pipeline_new(&p, it, &ip, ot, &op, 20);
		if (err) {
			printf("%-22s %12s (%s)\n", cases[c].label, "-", g_strerror(-err));
			continue;
		}
		/* the input stream, made beforehand by a source encoder at the input's own rate */
		unsigned srate = it->pcm_rate ? it->pcm_rate : 48000, fs = srate / 50;
		size_t frames = (size_t)(seconds * 50), n = frames * fs;
		int16_t *pcm = g_new(int16_t, n);
		speechlike(pcm, n, srate);
		rg_encoder *e;
		if (rg_enc_new(&e, it, &ip, srate, 1))
			abort();
		uint8_t(*pkts)[RG_ENC_MAX_FRAME] = g_malloc(frames * RG_ENC_MAX_FRAME);
		size_t *lens = g_new(size_t, frames);
		for (size_t i = 0; i < frames; i++) {
			uint8_t f[RG_ENC_MAX_FRAME];
			size_t fl;
			if (rg_enc_encode(e, pcm + i * fs, fs, f, sizeof(f), &fl))
				abort();
			rg_frame fr = {f, fl};
			if (it->packetize) {
				if (it->packetize(it, &ip, &fr, 1, pkts[i], RG_ENC_MAX_FRAME, &lens[i]))
					abort();
			} else {
				memcpy(pkts[i], f, fl);
				lens[i] = fl;
			}
		}
		rg_enc_free(e);
		uint32_t step = 20 * it->rate / 1000, ts = 0;
		double t0 = sig_now_us();
		size_t out_pkts = 0;
		for (size_t i = 0; i < frames; i++, ts += step) {
			if (rg_pipeline_push(p, pkts[i], lens[i], ts))
				abort();
			uint8_t out[RG_ENC_MAX_FRAME];
			size_t ol;
			uint32_t inc;
			while (rg_pipeline_pull(p, out, sizeof(out), &ol, &inc) == 0)
				out_pkts++;
		}
		double us = (sig_now_us() - t0) / frames;
		rg_pipeline_info info;
		rg_pipeline_get_info(p, &info);
		printf("%-22s %12.1f (pcm %u -> %u%s)\n", cases[c].label, us, info.in_pcm_rate, info.out_pcm_rate,
		       info.resampling ? ", resampled" : "");
		rg_pipeline_free(p);
		g_free(pcm);
		g_free(pkts);
		g_free(lens);
	}
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 20;
	if (seconds < 1)
		seconds = 1;
	rg_codec_init();
	load_speech();
	printf("rgcodecs micro-benchmark: %.0f s of audio per case, one thread\n\n", seconds);
	codecs(seconds);
	opus_complexity(seconds);
	resampler(seconds);
	pipelines(seconds);
	return 0;
}
