/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ratelimit.h"

#define SEC 1000000ULL

static void test_burst_then_refuse(void **state)
{
	struct lc_ratelimit rl = { .interval_usec = 10 * SEC, .burst = 3 };
	unsigned suppressed = 99;

	assert_true(lc_ratelimit_below(&rl, 100 * SEC, &suppressed));
	assert_int_equal(suppressed, 0);
	assert_true(lc_ratelimit_below(&rl, 101 * SEC, NULL));
	assert_true(lc_ratelimit_below(&rl, 102 * SEC, NULL));
	assert_false(lc_ratelimit_below(&rl, 103 * SEC, NULL));
	assert_false(lc_ratelimit_below(&rl, 109 * SEC, &suppressed));
	assert_int_equal(suppressed, 0);
}

static void test_new_window_reports_suppressed(void **state)
{
	struct lc_ratelimit rl = { .interval_usec = 10 * SEC, .burst = 2 };
	unsigned suppressed = 0;

	for (int i = 0; i < 7; i++)
		(void)lc_ratelimit_below(&rl, 100 * SEC + (uint64_t)i, NULL);
	/* Exactly at the end of the window a new one opens. */
	assert_true(lc_ratelimit_below(&rl, 110 * SEC, &suppressed));
	assert_int_equal(suppressed, 5);
	assert_true(lc_ratelimit_below(&rl, 111 * SEC, &suppressed));
	assert_int_equal(suppressed, 0);
}

static void test_clock_going_back_opens_window(void **state)
{
	struct lc_ratelimit rl = { .interval_usec = 10 * SEC, .burst = 1 };

	assert_true(lc_ratelimit_below(&rl, 100 * SEC, NULL));
	assert_false(lc_ratelimit_below(&rl, 100 * SEC, NULL));
	/* A time before the window (another clock, a test) must not lock the limit forever. */
	assert_true(lc_ratelimit_below(&rl, 50 * SEC, NULL));
}

static void test_time_zero(void **state)
{
	struct lc_ratelimit rl = { .interval_usec = 10 * SEC, .burst = 1 };

	assert_true(lc_ratelimit_below(&rl, 0, NULL));
	assert_false(lc_ratelimit_below(&rl, 0, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_refuse),
		cmocka_unit_test(test_new_window_reports_suppressed),
		cmocka_unit_test(test_clock_going_back_opens_window),
		cmocka_unit_test(test_time_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
