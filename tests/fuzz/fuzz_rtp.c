/* libFuzzer target for gateway/rtp.c: rtp_parse, rtp_is_rtcp and rtcp_parse on the same bytes,
 * checking the documented invariants of each result. */
#include "rtp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rtp_info ri;
	rtcp_info ci;
	int rc;

	rc = rtp_parse(data, size, &ri);
	if (rc == 0) {
		if (size < 12 || (data[0] >> 6) != 2)
			abort();
		if (ri.hdr_len < 12 + 4u * ri.csrc_count || ri.hdr_len > size)
			abort();
		if (ri.hdr_len + ri.payload_len + ri.padding_len != size)
			abort();
		if (ri.pt > 127 || ri.csrc_count > 15)
			abort();
		if (!!(data[0] & 0x20) != (ri.padding_len != 0))
			abort();
	} else if (rc != -EINVAL) {
		abort();
	}

	bool is = rtp_is_rtcp(data, size);
	if (is && (size < 2 || data[1] < 192 || data[1] > 223))
		abort();

	rc = rtcp_parse(data, size, &ci);
	if (rc == 0) {
		if (size < 4 || size % 4 != 0 || ci.n_packets == 0 || ci.n_packets > size / 4)
			abort();
		if (ci.n_reports > RTCP_MAX_REPORTS)
			abort();
		for (unsigned i = 0; i < ci.n_reports; i++)
			if (ci.reports[i].cumulative_lost < -0x800000 || ci.reports[i].cumulative_lost > 0x7fffff)
				abort();
		if (ci.has_sr && ci.sr_ssrc != ci.rr_ssrc && data[1] == 200)
			abort();
	} else if (rc != -EINVAL) {
		abort();
	}
	return 0;
}
