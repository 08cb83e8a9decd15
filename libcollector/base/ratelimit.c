/* SPDX-License-Identifier: MIT */
#include "ratelimit.h"

bool lc_ratelimit_below(struct lc_ratelimit *rl, uint64_t now_usec, unsigned *ret_suppressed)
{
	unsigned suppressed = 0;

	if (rl->num == 0 || now_usec < rl->begin_usec ||
	    now_usec - rl->begin_usec >= rl->interval_usec) {
		if (rl->num > rl->burst)
			suppressed = rl->num - rl->burst;
		rl->begin_usec = now_usec;
		rl->num = 0;
	}
	if (ret_suppressed)
		*ret_suppressed = suppressed;

	/* Saturate instead of wrapping: a stuck loop must never reopen the limit by overflow. */
	if (rl->num < UINT32_MAX)
		rl->num++;
	return rl->num <= rl->burst;
}
