/* SPDX-License-Identifier: MIT */
/*
 * When to upload: pure functions of the configuration, the failures so far and a random number,
 * so the schedule is unit-tested without a clock.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct lc_backoff_policy {
	uint64_t min_ms; /* delay before the first retry */
	uint64_t max_ms; /* longest delay, unless the server asks for more */
};

/* The most a server's Retry-After may delay the next attempt: one day. */
#define LC_RETRY_AFTER_MAX_MS (24ULL * 3600 * 1000)

/*
 * Delay before the next attempt after `failures` consecutive failures (1 or more): min_ms doubled
 * per further failure, capped at max_ms, with "equal jitter" (the upper half of the interval is
 * drawn from rnd, uniform over 32 bits) so a fleet that failed together spreads out. A server's
 * retry_after_ms (0: none) is a floor, itself capped at LC_RETRY_AFTER_MAX_MS.
 */
uint64_t lc_backoff_delay_ms(const struct lc_backoff_policy *p, unsigned failures,
			     uint64_t retry_after_ms, uint32_t rnd);

/*
 * Delay from start-up to the first upload: uniform over [0, min(interval, 10 min)) from rnd, so
 * devices powered up together do not call the server together. 0 when interval_ms is 0 (uploads
 * only on request, so there is no first one to delay).
 */
uint64_t lc_upload_first_delay_ms(uint64_t interval_ms, uint32_t rnd);

/* What to do after one request of an upload. */
enum lc_upload_verdict {
	LC_UPLOAD_OK,	  /* 2xx */
	LC_UPLOAD_RETRY,  /* transport error, 408, 429, 5xx, and 401/403 (the device's key or a
			   * stale upload URL: not the batch's fault), 1xx/3xx: back off, keep all */
	LC_UPLOAD_REJECT, /* any other 4xx: this batch will never be accepted */
};

/* Classifies a request's outcome: transport_ok is false when no HTTP status arrived. */
enum lc_upload_verdict lc_upload_verdict(bool transport_ok, long status);
