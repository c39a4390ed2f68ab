/* demux.c: RFC 7983 first-byte demultiplexing, RFC 5761 RTP/RTCP split, a=setup and role names. */
#include "rg_dtls.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

enum rg_demux_class rg_demux_classify(const uint8_t *p, size_t len)
{
	if (!p || !len)
		return RG_DEMUX_UNKNOWN;
	uint8_t b = p[0];
	/* RFC 7983 section 7 (updates RFC 5764 section 5.1.2) */
	if (b <= 3)
		return RG_DEMUX_STUN;
	if (b >= 16 && b <= 19)
		return RG_DEMUX_ZRTP;
	if (b >= 20 && b <= 63)
		return RG_DEMUX_DTLS;
	if (b >= 64 && b <= 79)
		return RG_DEMUX_TURN_CHANNEL;
	if (b >= 128 && b <= 191)
		return RG_DEMUX_RTP;
	return RG_DEMUX_UNKNOWN;
}

const char *rg_demux_name(enum rg_demux_class c)
{
	switch (c) {
	case RG_DEMUX_STUN: return "stun";
	case RG_DEMUX_ZRTP: return "zrtp";
	case RG_DEMUX_DTLS: return "dtls";
	case RG_DEMUX_TURN_CHANNEL: return "turn-channel";
	case RG_DEMUX_RTP: return "rtp";
	default: return "unknown";
	}
}

bool rg_dtls_is_dtls(const uint8_t *p, size_t len)
{
	return rg_demux_classify(p, len) == RG_DEMUX_DTLS;
}

bool rg_demux_is_rtcp(const uint8_t *p, size_t len)
{
	/* RFC 5761 section 4: RTCP packet types 192..223 read as marker+PT give PT 64..95 */
	if (!p || len < 2)
		return false;
	uint8_t pt = p[1] & 0x7f;
	return pt >= 64 && pt <= 95;
}

/* RFC 4145 section 4: setup = "active" / "passive" / "actpass" / "holdconn" */
static const char *const setup_names[] = {
	[RG_DTLS_SETUP_ACTPASS] = "actpass",
	[RG_DTLS_SETUP_ACTIVE] = "active",
	[RG_DTLS_SETUP_PASSIVE] = "passive",
	[RG_DTLS_SETUP_HOLDCONN] = "holdconn",
};

int rg_dtls_setup_parse(const char *s, size_t len, enum rg_dtls_setup *out)
{
	if (!s || !out)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(setup_names) / sizeof(setup_names[0]); i++) {
		if (strlen(setup_names[i]) == len && !strncasecmp(s, setup_names[i], len)) {
			*out = (enum rg_dtls_setup)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *rg_dtls_setup_name(enum rg_dtls_setup s)
{
	if ((unsigned)s >= sizeof(setup_names) / sizeof(setup_names[0]))
		return "?";
	return setup_names[s];
}

int rg_dtls_role_from_peer_setup(enum rg_dtls_setup peer, enum rg_dtls_role *out)
{
	if (!out)
		return -EINVAL;
	switch (peer) {
	case RG_DTLS_SETUP_ACTIVE:
		*out = RG_DTLS_PASSIVE;
		return 0;
	case RG_DTLS_SETUP_PASSIVE:
		*out = RG_DTLS_ACTIVE;
		return 0;
	case RG_DTLS_SETUP_ACTPASS:
		/* the peer offered actpass, we answer: RFC 5763 section 5 wants the answerer
		 * active (RFC 8842 section 5 allows either, never actpass in an answer) */
		*out = RG_DTLS_ACTIVE;
		return 0;
	default:
		return -EINVAL;
	}
}

const char *rg_dtls_role_name(enum rg_dtls_role r)
{
	switch (r) {
	case RG_DTLS_ACTIVE: return "active";
	case RG_DTLS_PASSIVE: return "passive";
	default: return "unset";
	}
}

const char *rg_dtls_state_name(enum rg_dtls_state s)
{
	switch (s) {
	case RG_DTLS_CONNECTING: return "connecting";
	case RG_DTLS_CONNECTED: return "connected";
	case RG_DTLS_FAILED: return "failed";
	case RG_DTLS_CLOSED: return "closed";
	default: return "?";
	}
}
