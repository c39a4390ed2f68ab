/* libFuzzer target for rg_dtls_input (dtls/dtls.c, dtls_bio.c): the input is a sequence of
 * datagrams, each prefixed by a 2-octet length, fed to a passive endpoint whose role is set
 * after the first one (exercising the early queue). Nothing may crash or leak; the state must
 * stay one of the four. */
#include "rg_dtls.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rg_dtls_cert *cert;

static void sink(void *arg, const uint8_t *buf, size_t len)
{
	(void)arg;
	if (!buf || !len || len > 65536)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!cert && rg_dtls_cert_new(&cert, RG_DTLS_CERT_ECDSA_P256))
		abort();
	rg_dtls *d;
	if (rg_dtls_new(&d, cert, RG_DTLS_ROLE_UNSET, "sha-256",
			"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
			"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
			sink, NULL))
		abort();
	size_t off = 0;
	int n = 0;
	while (off + 2 <= size) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (len > size - off)
			len = size - off;
		if (len)
			rg_dtls_input(d, data + off, len);
		off += len;
		if (++n == 1)
			rg_dtls_set_role(d, RG_DTLS_PASSIVE);
	}
	rg_dtls_handle_timeout(d);
	if (rg_dtls_state(d, NULL) > RG_DTLS_CLOSED)
		abort();
	rg_dtls_free(d);
	return 0;
}
