/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backoff.h"

#define S 1000ULL

static const struct lc_backoff_policy policy = { .min_ms = 60 * S, .max_ms = 3600 * S };

static void test_doubles_within_jitter_bounds(void **state)
{
	/* Equal jitter: failure k waits within [d/2, d] where d = min * 2^(k-1), capped. */
	uint64_t d = 60 * S;

	for (unsigned k = 1; k <= 12; k++, d = d * 2 > 3600 * S ? 3600 * S : d * 2) {
		uint64_t lo = lc_backoff_delay_ms(&policy, k, 0, 0);
		uint64_t hi = lc_backoff_delay_ms(&policy, k, 0, UINT32_MAX);
		uint64_t mid = lc_backoff_delay_ms(&policy, k, 0, UINT32_MAX / 2);

		assert_int_equal(lo, d - d / 2);
		assert_true(hi <= d);
		assert_true(hi >= d - 1);
		assert_true(mid > lo && mid < hi);
	}
}

static void test_exact_schedule(void **state)
{
	/* With the jitter at its floor, the schedule is min/2 doubling until max/2. */
	static const uint64_t expected[] = { 30, 60, 120, 240, 480, 960, 1800, 1800, 1800 };

	for (unsigned k = 1; k <= 9; k++)
		assert_int_equal(lc_backoff_delay_ms(&policy, k, 0, 0), expected[k - 1] * S);
}

static void test_huge_failure_count_does_not_overflow(void **state)
{
	assert_true(lc_backoff_delay_ms(&policy, 1000000, 0, UINT32_MAX) <= 3600 * S);
	struct lc_backoff_policy big = { .min_ms = UINT64_MAX / 3, .max_ms = UINT64_MAX };

	assert_true(lc_backoff_delay_ms(&big, 500, 0, UINT32_MAX) <= UINT64_MAX);
	assert_true(lc_backoff_delay_ms(&big, 500, 0, 0) >= UINT64_MAX / 2);
}

static void test_retry_after_is_a_floor_capped_at_a_day(void **state)
{
	assert_int_equal(lc_backoff_delay_ms(&policy, 1, 7200 * S, 0), 7200 * S);
	/* A shorter Retry-After does not shorten the backoff. */
	assert_int_equal(lc_backoff_delay_ms(&policy, 1, 1 * S, 0), 30 * S);
	assert_int_equal(lc_backoff_delay_ms(&policy, 1, 30ULL * 24 * 3600 * S, 0),
			 LC_RETRY_AFTER_MAX_MS);
}

static void test_max_below_min_uses_min(void **state)
{
	struct lc_backoff_policy p = { .min_ms = 10 * S, .max_ms = 1 * S };

	assert_int_equal(lc_backoff_delay_ms(&p, 5, 0, 0), 5 * S);
	assert_int_equal(lc_backoff_delay_ms(&p, 5, 0, UINT32_MAX), 10 * S);
}

static void test_first_upload_jitter(void **state)
{
	assert_int_equal(lc_upload_first_delay_ms(0, UINT32_MAX), 0);
	assert_int_equal(lc_upload_first_delay_ms(3600 * S, 0), 0);
	/* The window is the interval, at most ten minutes. */
	assert_true(lc_upload_first_delay_ms(3600 * S, UINT32_MAX) < 600 * S);
	assert_true(lc_upload_first_delay_ms(3600 * S, UINT32_MAX) > 599 * S);
	assert_true(lc_upload_first_delay_ms(60 * S, UINT32_MAX) < 60 * S);
	assert_int_equal(lc_upload_first_delay_ms(60 * S, UINT32_MAX / 2 + 1), 30 * S);
}

static void test_verdicts(void **state)
{
	static const enum lc_upload_step all[] = { LC_STEP_DEVICE_CONFIG, LC_STEP_PREPARE,
						   LC_STEP_PUT, LC_STEP_COMMIT };
	static const long retried[] = { 0, 100, 302, 401, 403, 408, 429, 500, 502, 503 };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		assert_int_equal(lc_upload_verdict(all[i], false, 0), LC_UPLOAD_RETRY);
		assert_int_equal(lc_upload_verdict(all[i], true, 200), LC_UPLOAD_OK);
		assert_int_equal(lc_upload_verdict(all[i], true, 204), LC_UPLOAD_OK);
		for (size_t j = 0; j < sizeof(retried) / sizeof(retried[0]); j++)
			assert_int_equal(lc_upload_verdict(all[i], true, retried[j]),
					 LC_UPLOAD_RETRY);
	}
	/* What the batch's content can cause drops it: 4xx to the PUT or the commit. */
	assert_int_equal(lc_upload_verdict(LC_STEP_PUT, true, 400), LC_UPLOAD_REJECT);
	assert_int_equal(lc_upload_verdict(LC_STEP_COMMIT, true, 400), LC_UPLOAD_REJECT);
	assert_int_equal(lc_upload_verdict(LC_STEP_COMMIT, true, 404), LC_UPLOAD_REJECT);
	assert_int_equal(lc_upload_verdict(LC_STEP_COMMIT, true, 422), LC_UPLOAD_REJECT);
	/* The prepare carries only the size and the identity: only "too large" is the batch's. */
	assert_int_equal(lc_upload_verdict(LC_STEP_PREPARE, true, 413), LC_UPLOAD_REJECT);
	assert_int_equal(lc_upload_verdict(LC_STEP_PREPARE, true, 400), LC_UPLOAD_RETRY);
	assert_int_equal(lc_upload_verdict(LC_STEP_PREPARE, true, 404), LC_UPLOAD_RETRY);
	assert_int_equal(lc_upload_verdict(LC_STEP_DEVICE_CONFIG, true, 404), LC_UPLOAD_RETRY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubles_within_jitter_bounds),
		cmocka_unit_test(test_exact_schedule),
		cmocka_unit_test(test_huge_failure_count_does_not_overflow),
		cmocka_unit_test(test_retry_after_is_a_floor_capped_at_a_day),
		cmocka_unit_test(test_max_below_min_uses_min),
		cmocka_unit_test(test_first_upload_jitter),
		cmocka_unit_test(test_verdicts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
