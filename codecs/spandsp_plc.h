/* spandsp_plc.h: plc_fillin() without spandsp 0.0.6's overlapping memcpy (private to codecs/).
 *
 * spandsp 0.0.6 (Debian 12) rotates its PLC history at the start of a loss with
 * memcpy(history, history + buf_ptr, ...) on overlapping ranges: undefined behaviour (ASan
 * reports memcpy-param-overlap; later spandsp releases use memmove). Its plc_state_t is public in
 * that release, so we do the same rotation first, correctly; spandsp then finds buf_ptr == 0
 * and skips its own. Newer spandsp keeps the struct private and needs no help. */
#ifndef RG_SPANDSP_PLC_H
#define RG_SPANDSP_PLC_H

#include <spandsp.h>
#include <spandsp/version.h>
#include <string.h>

static inline int rg_plc_fillin(plc_state_t *s, int16_t amp[], int len)
{
#if defined(SPANDSP_RELEASE_DATE) && SPANDSP_RELEASE_DATE < 20120101
	if (s->missing_samples == 0 && s->buf_ptr > 0 && s->buf_ptr < PLC_HISTORY_LEN) {
		int16_t tmp[PLC_HISTORY_LEN];
		size_t head = (size_t)(PLC_HISTORY_LEN - s->buf_ptr);
		memcpy(tmp, s->history + s->buf_ptr, head * sizeof(int16_t));
		memcpy(tmp + head, s->history, (size_t)s->buf_ptr * sizeof(int16_t));
		memcpy(s->history, tmp, sizeof(tmp));
		s->buf_ptr = 0;
	}
#endif
	return plc_fillin(s, amp, len);
}

#endif
