/* libFuzzer target for the Opus packet validator (payload_opus.c): no crash, consistent frame
 * offsets, and the same verdict, frame sizes and duration as libopus' own parser. */
#include "rg_payload.h"

#include <errno.h>
#include <opus/opus.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rg_opus_info in;
	const unsigned char *frames[48];
	opus_int16 sizes[48];
	int rc = rg_opus_packet_parse(data, size, &in);
	if (rc != 0 && rc != -EINVAL)
		abort();
	int n = size <= 0x7fffffff ? opus_packet_parse(data, (opus_int32)size, NULL, frames, sizes, NULL)
				   : -1;
	if ((rc == 0) != (n > 0))
		abort();
	unsigned d;
	int drc = rg_opus_packet_duration(data, size, &d);
	if (rc == 0) {
		if (in.nframes != (unsigned)n || in.nframes > RG_OPUS_MAX_FRAMES)
			abort();
		size_t end = 0;
		for (unsigned i = 0; i < in.nframes; i++) {
			if (in.frame_len[i] != sizes[i] || in.frame_off[i] != frames[i] - data)
				abort();
			if (in.frame_off[i] < end || (size_t)in.frame_off[i] + in.frame_len[i] > size)
				abort();
			end = (size_t)in.frame_off[i] + in.frame_len[i];
		}
		if (end + in.padding > size)
			abort();
		if ((int)in.samples != opus_packet_get_nb_samples(data, (opus_int32)size, 48000))
			abort();
		if (drc || d != in.samples)
			abort();
	} else if (drc != 0 && drc != -EINVAL) {
		abort();
	}
	return 0;
}
