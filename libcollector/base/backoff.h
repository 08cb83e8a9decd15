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

/* The requests of an upload. */
enum lc_upload_step {
	LC_STEP_DEVICE_CONFIG,
	LC_STEP_PREPARE,
	LC_STEP_PUT,
	LC_STEP_COMMIT,
};

/* What to do after one request of an upload. */
enum lc_upload_verdict {
	LC_UPLOAD_OK,	  /* 2xx */
	LC_UPLOAD_RETRY,  /* back off and try again later; the entries stay */
	LC_UPLOAD_REJECT, /* this batch will never be accepted: split it, drop what is refused */
};

/*
 * Classifies a request's outcome; transport_ok is false when no HTTP status arrived. REJECT only
 * for what the batch's content can cause: a 4xx other than 401, 403, 408 and 429 to the PUT or
 * the commit, and 413 to the prepare. Everything else that is not 2xx is RETRY: transport
 * errors, 408, 429, 5xx, 1xx and 3xx; 401 and 403 (a wrong project key or an expired upload
 * URL); and any 4xx to the prepare or the device configuration, which carry only the device's
 * identity and the batch's size: dropping a fleet's data for a wrong base_url path would be
 * worse than keeping it until the operator fixes it.
 */
enum lc_upload_verdict lc_upload_verdict(enum lc_upload_step step, bool transport_ok, long status);
