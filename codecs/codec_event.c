/* codec_event.c: the telephone-event registry entries (RFC 4733 §7.1.1: "telephone-event" with
 * the clock rate of the audio it accompanies). No encoder or decoder: the event payload itself
 * (RFC 4733 §2.3) is codecs/payload_dtmf.c's; here only the type and its fmtp (§2.4.1 events). */
#include "codec_priv.h"

static int event_pair(const char *k, size_t kl, const char *v, size_t vl, void *arg)
{
	rg_codec_params *p = arg;
	int r = rg_fmtp_common(k, kl, v, vl, p);
	if (r)
		return r < 0 ? r : 0;
	return 0;
}

/* RFC 4733 §2.4.1: the fmtp is the bare list "0-15,66" (no key); a key=value form is tolerated
 * for the common keys. */
static int event_fmtp_parse(const rg_codec_type *t, const char *fmtp, rg_codec_params *out)
{
	if (!fmtp)
		return 0;
	while (*fmtp == ' ' || *fmtp == '\t')
		fmtp++;
	if (!*fmtp)
		return 0;
	rg_codec_params p = *out;
	if (*fmtp >= '0' && *fmtp <= '9') {
		size_t n = 0;
		while (fmtp[n] && fmtp[n] != ';' && fmtp[n] != '\r' && fmtp[n] != '\n')
			n++;
		int err = rg_fmtp_ranges(fmtp, n, p.event.events);
		if (err)
			return err;
		fmtp += n;
	}
	int err = rg_fmtp_walk(fmtp, event_pair, &p);
	if (err)
		return err;
	*out = p;
	return 0;
}

#define EVENT_TYPE(ident, clk)                                                                        \
	const rg_codec_type ident = {                                                                 \
		.name = "telephone-event", .rate = clk, .channels = 1, .pcm_rate = clk,                 \
		.flags = RG_CODEC_F_EVENT, .desc = "RFC 4733 named telephone events",                    \
		.fmtp_parse = event_fmtp_parse,                                                          \
	}

EVENT_TYPE(rg_codec_tev8, 8000);
EVENT_TYPE(rg_codec_tev16, 16000);
EVENT_TYPE(rg_codec_tev48, 48000);
