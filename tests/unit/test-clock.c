/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"

static void test_units_agree(void **state)
{
	uint64_t ms0 = lc_clock_ms(CLOCK_MONOTONIC);
	uint64_t us = lc_clock_us(CLOCK_MONOTONIC);
	uint64_t ms1 = lc_clock_monotonic_ms();

	assert_true(ms0 <= us / 1000);
	assert_true(us / 1000 <= ms1);
}

static void test_clocks(void **state)
{
	uint64_t a = lc_clock_ms(CLOCK_MONOTONIC);

	/* Unix time after 2020-01-01; the monotonic clock never goes back. */
	assert_true(lc_clock_ms(CLOCK_REALTIME) > 1577836800000ULL);
	assert_true(lc_clock_us(CLOCK_REALTIME) > 1577836800000000ULL);
	assert_true(lc_clock_ms(CLOCK_BOOTTIME) > 0);
	assert_true(lc_clock_ms(CLOCK_MONOTONIC) >= a);
}

static void test_unreadable_clock_is_zero(void **state)
{
	assert_int_equal(lc_clock_ms((clockid_t)1000), 0);
	assert_int_equal(lc_clock_us((clockid_t)1000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units_agree),
		cmocka_unit_test(test_clocks),
		cmocka_unit_test(test_unreadable_clock_is_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
