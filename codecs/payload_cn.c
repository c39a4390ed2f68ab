/* payload_cn.c: RFC 3389 comfort noise payloads. */
#include "rg_payload.h"

#include <errno.h>

int rg_comfort_noise_parse(const uint8_t *p, size_t len, unsigned *level)
{
	/* section 3: the noise level octet (bit 0 reserved, 0), then optional spectral
	   coefficients, which we do not use (the noise we make is Hoth-shaped) */
	if (!p || !len || (p[0] & 0x80))
		return -EINVAL;
	if (level)
		*level = p[0];
	return 0;
}

size_t rg_comfort_noise_build(uint8_t *p, size_t cap, unsigned level)
{
	if (!p || !cap)
		return 0;
	p[0] = (uint8_t)(level > 127 ? 127 : level);
	return 1;
}
