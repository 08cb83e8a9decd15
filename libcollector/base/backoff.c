/* SPDX-License-Identifier: MIT */
#include "backoff.h"

/* rnd scaled to [0, range): range * rnd / 2^32, computed on the two halves of range, as 32-bit
 * targets have no 128-bit integers. Each product fits in 64 bits, and so does their sum. */
static uint64_t scale(uint32_t rnd, uint64_t range)
{
	uint64_t hi = range >> 32, lo = range & UINT32_MAX;

	return hi * rnd + ((lo * rnd) >> 32);
}

uint64_t lc_backoff_delay_ms(const struct lc_backoff_policy *p, unsigned failures,
			     uint64_t retry_after_ms, uint32_t rnd)
{
	uint64_t max = p->max_ms < p->min_ms ? p->min_ms : p->max_ms;
	uint64_t d = p->min_ms, delay;

	for (unsigned i = 1; i < failures && d < max; i++)
		d = d > max / 2 ? max : d * 2;
	if (d > max)
		d = max;
	delay = d - d / 2 + scale(rnd, d / 2 + 1);
	if (delay > d)
		delay = d;
	if (retry_after_ms > LC_RETRY_AFTER_MAX_MS)
		retry_after_ms = LC_RETRY_AFTER_MAX_MS;
	return delay < retry_after_ms ? retry_after_ms : delay;
}

uint64_t lc_upload_first_delay_ms(uint64_t interval_ms, uint32_t rnd)
{
	const uint64_t window_max = 10ULL * 60 * 1000;

	return scale(rnd, interval_ms < window_max ? interval_ms : window_max);
}

enum lc_upload_verdict lc_upload_verdict(enum lc_upload_step step, bool transport_ok, long status)
{
	if (!transport_ok)
		return LC_UPLOAD_RETRY;
	if (status >= 200 && status < 300)
		return LC_UPLOAD_OK;
	if (status < 400 || status >= 500 || status == 401 || status == 403 || status == 408 ||
	    status == 429)
		return LC_UPLOAD_RETRY;
	switch (step) {
	case LC_STEP_PUT:
	case LC_STEP_COMMIT:
		return LC_UPLOAD_REJECT;
	case LC_STEP_PREPARE:
		return status == 413 ? LC_UPLOAD_REJECT : LC_UPLOAD_RETRY;
	default:
		return LC_UPLOAD_RETRY;
	}
}
