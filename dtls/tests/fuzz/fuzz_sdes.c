/* libFuzzer target for rg_sdes_parse (dtls/sdes.c): whatever parses must format and parse back
 * to the same values; errors are only the documented ones. */
#include "rg_dtls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rg_sdes_crypto c, back;
	int rc = rg_sdes_parse((const char *)data, size, &c);
	if (rc == -EINVAL || rc == -ENOTSUP)
		return 0;
	if (rc != 0)
		abort();
	const struct rg_srtp_suite_info *info = rg_srtp_suite_info(c.suite);
	if (!info || c.tag > 999999999u || c.key.mki_len > RG_SRTP_MAX_MKI_LEN)
		abort();
	char buf[512];
	if (rg_sdes_format(&c, buf, sizeof(buf)))
		abort();
	if (rg_sdes_parse(buf, strlen(buf), &back))
		abort();
	if (back.tag != c.tag || back.suite != c.suite || back.lifetime != c.lifetime ||
	    back.key.mki != c.key.mki || back.key.mki_len != c.key.mki_len ||
	    memcmp(back.key.key, c.key.key, info->key_len) ||
	    memcmp(back.key.salt, c.key.salt, info->salt_len))
		abort();
	rg_sdes_crypto_wipe(&c);
	rg_sdes_crypto_wipe(&back);
	return 0;
}
