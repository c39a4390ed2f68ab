/* th.h: a minimal test harness for the rgdtls unit tests (no dependency beyond libc).
 * CHECK* record a failure and go on; RUN runs one test function and prints "ok"/"FAIL" with its
 * name; th_done() prints the tally and gives the exit status for main(). */
#ifndef RG_DTLS_TH_H
#define RG_DTLS_TH_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int th_checks, th_failed_checks, th_tests, th_failed_tests;

#define CHECK(cond)                                                                     \
	do {                                                                            \
		th_checks++;                                                            \
		if (!(cond)) {                                                          \
			th_failed_checks++;                                             \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
		}                                                                       \
	} while (0)

#define CHECK_INT(got, want)                                                            \
	do {                                                                            \
		long long th_g = (long long)(got), th_w = (long long)(want);            \
		th_checks++;                                                            \
		if (th_g != th_w) {                                                     \
			th_failed_checks++;                                             \
			fprintf(stderr, "%s:%d: %s == %lld, want %s == %lld\n", __FILE__, __LINE__, \
				#got, th_g, #want, th_w);                               \
		}                                                                       \
	} while (0)

#define CHECK_STR(got, want)                                                            \
	do {                                                                            \
		const char *th_g = (got), *th_w = (want);                               \
		th_checks++;                                                            \
		if (!th_g || !th_w || strcmp(th_g, th_w)) {                             \
			th_failed_checks++;                                             \
			fprintf(stderr, "%s:%d: %s == \"%s\", want \"%s\"\n", __FILE__, __LINE__, \
				#got, th_g ? th_g : "(null)", th_w ? th_w : "(null)");  \
		}                                                                       \
	} while (0)

#define CHECK_MEM(got, want, n)                                                         \
	do {                                                                            \
		th_checks++;                                                            \
		if (memcmp((got), (want), (n))) {                                       \
			th_failed_checks++;                                             \
			fprintf(stderr, "%s:%d: %s != %s (%zu octets)\n", __FILE__, __LINE__, #got, \
				#want, (size_t)(n));                                    \
			th_hexdump("  got ", (const uint8_t *)(got), (n));              \
			th_hexdump("  want", (const uint8_t *)(want), (n));             \
		}                                                                       \
	} while (0)

static inline void th_hexdump(const char *label, const uint8_t *p, size_t n)
{
	fprintf(stderr, "%s:", label);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s%02x", i && !(i % 16) ? "\n       " : " ", p[i]);
	fprintf(stderr, "\n");
}

#define RUN(fn)                                                                         \
	do {                                                                            \
		int th_before = th_failed_checks;                                       \
		th_tests++;                                                             \
		fn();                                                                   \
		if (th_failed_checks != th_before)                                      \
			th_failed_tests++;                                              \
		printf("%s %s\n", th_failed_checks == th_before ? "ok  " : "FAIL", #fn); \
		fflush(stdout);                                                         \
	} while (0)

static inline int th_done(const char *suite)
{
	printf("%s: %d tests (%d failed), %d checks (%d failed)\n", suite, th_tests,
	       th_failed_tests, th_checks, th_failed_checks);
	return th_failed_tests ? 1 : 0;
}

/* hex string (spaces allowed) to bytes; returns the length */
static inline size_t th_unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (const char *p = hex; *p; p++) {
		int v;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			v = *p - 'A' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			if (n < cap)
				out[n] = (uint8_t)(hi << 4 | v);
			n++;
			hi = -1;
		}
	}
	return n;
}

#endif
