/* signal.h: test/benchmark helpers for codecs/: signal generation and measurement. */
#ifndef RG_TEST_SIGNAL_H
#define RG_TEST_SIGNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* tone of freq Hz at level dBFS (peak amplitude 32767 * 10^(dbfs/20) * sqrt(2) for RMS dbfs) */
void sig_tone(int16_t *buf, size_t n, unsigned rate, double freq, double dbfs);
/* linear chirp f0 -> f1 over n samples, RMS level dbfs */
void sig_chirp(int16_t *buf, size_t n, unsigned rate, double f0, double f1, double dbfs);
/* stereo tone: left freq_l, right freq_r, interleaved (n frames) */
void sig_tone_stereo(int16_t *buf, size_t n, unsigned rate, double freq_l, double freq_r, double dbfs);

/* RMS level in dBFS (0 dBFS = RMS of a full-scale sine), -200 for silence */
double sig_level_db(const int16_t *x, size_t n, size_t stride);
/* energy of the sinusoid at freq (Goertzel) relative to the total energy, in dB (0 = a pure tone) */
double sig_goertzel_db(const int16_t *x, size_t n, size_t stride, unsigned rate, double freq);
/* frequency by zero crossings with linear interpolation, 0 if fewer than 2 crossings */
double sig_zc_freq(const int16_t *x, size_t n, size_t stride, unsigned rate);
/* lag d in [0, max_lag] maximising the normalized correlation of ref[i] and out[i + d] */
size_t sig_find_delay(const int16_t *ref, const int16_t *out, size_t n, size_t max_lag);
/* SNR in dB of out[i + delay] against ref[i], i < n, after least-squares gain alignment */
double sig_snr_db(const int16_t *ref, const int16_t *out, size_t n, size_t delay);
/* segmental SNR (20 ms segments at rate, each clamped to [-10, 35] dB, silent segments of the
 * reference skipped), after the same gain alignment */
double sig_segsnr_db(const int16_t *ref, const int16_t *out, size_t n, size_t delay, unsigned rate);
/* mean SNR of windows of win samples, each aligned on its own (lag 0..max_lag) and clamped to
 * [-10, 50] dB: for codecs whose delay/phase wanders (SILK, CELP on slow chirps) */
double sig_local_snr_db(const int16_t *ref, const int16_t *out, size_t n, size_t max_lag, size_t win);

/* 16-bit PCM WAV (mono or the first channel) into a g_malloc'ed buffer */
int sig_read_wav(const char *path, int16_t **out, size_t *n, unsigned *rate);
/* test-only linear interpolation to another rate (g_malloc'ed) */
int16_t *sig_resample_linear(const int16_t *in, size_t n, unsigned in_rate, unsigned out_rate, size_t *out_n);

/* monotonic time in microseconds */
double sig_now_us(void);

#endif
