/* SPDX-License-Identifier: MIT */
/*
 * The persistent rate limit's decision (capture_rate_allows() in plugins/coredump/capture.c): a
 * capture at now is allowed while fewer than count stored captures lie in (now - interval, now];
 * captures in the future (a clock set back) do not count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>

#include "capture.h"
#include "macro.h"

#define NOW	 1700000000000ULL
#define INTERVAL 3600000ULL

static void test_window_edges(void **state)
{
	/* One capture allowed per interval. */
	uint64_t t[1];

	t[0] = NOW - INTERVAL; /* exactly one interval ago: out of the window */
	assert_true(capture_rate_allows(t, 1, NOW, INTERVAL, 1));
	t[0] = NOW - INTERVAL + 1; /* a millisecond later: in it */
	assert_false(capture_rate_allows(t, 1, NOW, INTERVAL, 1));
	t[0] = NOW; /* at the same millisecond */
	assert_false(capture_rate_allows(t, 1, NOW, INTERVAL, 1));
	t[0] = 0; /* long ago */
	assert_true(capture_rate_allows(t, 1, NOW, INTERVAL, 1));
}

static void test_counts(void **state)
{
	const uint64_t t[] = { NOW - 10, NOW - 20, NOW - 30, NOW - INTERVAL - 1,
			       NOW - 2 * INTERVAL };

	/* Three in the window. */
	assert_false(capture_rate_allows(t, ARRAY_SIZE(t), NOW, INTERVAL, 1));
	assert_false(capture_rate_allows(t, ARRAY_SIZE(t), NOW, INTERVAL, 3));
	assert_true(capture_rate_allows(t, ARRAY_SIZE(t), NOW, INTERVAL, 4));
	assert_true(capture_rate_allows(t, ARRAY_SIZE(t), NOW, INTERVAL, 10000));
	/* Nothing remembered. */
	assert_true(capture_rate_allows(NULL, 0, NOW, INTERVAL, 1));
	assert_true(capture_rate_allows(t, 0, NOW, INTERVAL, 1));
	/* A count of 0 stores nothing, ever. */
	assert_false(capture_rate_allows(NULL, 0, NOW, INTERVAL, 0));
	assert_false(capture_rate_allows(t, ARRAY_SIZE(t), NOW, INTERVAL, 0));
	/* The order of the times does not matter. */
	{
		const uint64_t r[] = { NOW - 2 * INTERVAL, NOW - 30, NOW - INTERVAL - 1, NOW - 10,
				       NOW - 20 };

		assert_false(capture_rate_allows(r, ARRAY_SIZE(r), NOW, INTERVAL, 3));
		assert_true(capture_rate_allows(r, ARRAY_SIZE(r), NOW, INTERVAL, 4));
	}
}

static void test_future_times(void **state)
{
	/* Stored by a clock that was ahead: they do not count, so a clock set back cannot stop
	 * captures for as long as it was ahead. */
	const uint64_t t[] = { NOW + 1, NOW + INTERVAL, UINT64_MAX };

	assert_true(capture_rate_allows(t, ARRAY_SIZE(t), NOW, INTERVAL, 1));
	/* A mix: only the past one counts. */
	{
		const uint64_t m[] = { NOW + 1, NOW - 1 };

		assert_false(capture_rate_allows(m, ARRAY_SIZE(m), NOW, INTERVAL, 1));
		assert_true(capture_rate_allows(m, ARRAY_SIZE(m), NOW, INTERVAL, 2));
	}
}

static void test_early_clock(void **state)
{
	/* now smaller than the interval (a clock near the epoch): no wrap-around. */
	const uint64_t t[] = { 0, 5 };

	assert_false(capture_rate_allows(t, ARRAY_SIZE(t), 10, INTERVAL, 2));
	assert_true(capture_rate_allows(t, ARRAY_SIZE(t), 10, INTERVAL, 3));
	assert_true(capture_rate_allows(t, ARRAY_SIZE(t), 0, INTERVAL, 2)); /* 5 is ahead */
	/* An interval of a millisecond: only captures at now count. */
	assert_true(capture_rate_allows(t, ARRAY_SIZE(t), 6, 1, 1));
	assert_false(capture_rate_allows(t, ARRAY_SIZE(t), 5, 1, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_edges),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_future_times),
		cmocka_unit_test(test_early_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
