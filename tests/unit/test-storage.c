/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "storage.h"

#define T2026 1795000000000ULL /* a Unix time in ms */
#define MONO  5000000ULL       /* a CLOCK_MONOTONIC time in ms */
#define QUIET LC_STORAGE_LOG_INTERVAL_MS

static bool fault_at(struct lc_storage_fault *f, int error, uint64_t mono_ms)
{
	return lc_storage_fault_set(f, error, "create", "/spool/.tmp-x", T2026 + mono_ms, mono_ms);
}

/* The first failure of an episode is logged, its repeats are not, and its end is. */
static void test_first_logged_repeats_quiet(void **state)
{
	struct lc_storage_fault f = { 0 };

	assert_true(fault_at(&f, -ENOSPC, MONO));
	assert_int_equal(f.error, -ENOSPC);
	assert_int_equal(f.failures, 1);
	assert_int_equal(f.since_ms, T2026 + MONO);
	assert_string_equal(f.op, "create");
	assert_string_equal(f.path, "/spool/.tmp-x");
	for (uint64_t t = 1; t <= 3 * QUIET; t += QUIET / 2)
		assert_false(fault_at(&f, -ENOSPC, MONO + t));
	assert_int_equal(f.failures, 7);
	assert_int_equal(f.since_ms, T2026 + MONO);
	assert_int_equal(f.last_ms, T2026 + MONO + 1 + 5 * (QUIET / 2));
	assert_true(lc_storage_fault_clear(&f));
	assert_int_equal(f.error, 0);
	assert_int_equal(f.failures, 0);
	assert_null(lc_storage_fault_to_json(&f, "spool"));
}

/* Another errno within the episode is logged, once the quiet interval has passed. */
static void test_cause_change(void **state)
{
	struct lc_storage_fault f = { 0 };

	assert_true(fault_at(&f, -ENOSPC, MONO));
	assert_false(fault_at(&f, -EROFS, MONO + 1)); /* within the interval */
	assert_false(fault_at(&f, -ENOSPC, MONO + 2));
	assert_true(fault_at(&f, -EROFS, MONO + QUIET));
	assert_false(fault_at(&f, -EROFS, MONO + QUIET + 1));
	assert_int_equal(f.since_ms, T2026 + MONO);
	assert_int_equal(f.failures, 5);
}

/* An episode that begins within the quiet interval after the last one's log line is logged at
 * its first failure after the interval, and its end then too. */
static void test_new_episode_in_quiet_window(void **state)
{
	struct lc_storage_fault f = { 0 };

	assert_true(fault_at(&f, -ENOSPC, MONO));
	assert_true(lc_storage_fault_clear(&f));
	assert_false(fault_at(&f, -ENOSPC, MONO + 10));
	assert_int_equal(f.since_ms, T2026 + MONO + 10);
	assert_int_equal(f.failures, 1);
	assert_false(fault_at(&f, -ENOSPC, MONO + QUIET - 1));
	assert_true(fault_at(&f, -ENOSPC, MONO + QUIET));
	assert_false(fault_at(&f, -ENOSPC, MONO + QUIET + 1));
	assert_false(fault_at(&f, -ENOSPC, MONO + 5 * QUIET));
	assert_int_equal(f.since_ms, T2026 + MONO + 10);
	assert_int_equal(f.failures, 5);
	assert_true(lc_storage_fault_clear(&f));
}

/* An episode never logged (it began and ended within the quiet interval) ends quietly too, and
 * does not start the interval again. */
static void test_recovery_logged_iff_failure_logged(void **state)
{
	struct lc_storage_fault f = { 0 };

	assert_true(fault_at(&f, -EIO, MONO));
	assert_true(lc_storage_fault_clear(&f));
	assert_false(fault_at(&f, -EIO, MONO + 100));
	assert_false(lc_storage_fault_clear(&f));
	assert_true(fault_at(&f, -EIO, MONO + QUIET));
	assert_true(lc_storage_fault_clear(&f));
	/* Nothing failed: nothing to log. */
	assert_false(lc_storage_fault_clear(&f));
}

static void test_states_and_json(void **state)
{
	struct lc_storage_fault f = { 0 };
	json_object *o, *v;

	assert_int_equal(lc_storage_state_of(0), LC_STORAGE_OK);
	assert_int_equal(lc_storage_state_of(-ENOSPC), LC_STORAGE_FULL);
	assert_int_equal(lc_storage_state_of(-EDQUOT), LC_STORAGE_FULL);
	assert_int_equal(lc_storage_state_of(-EROFS), LC_STORAGE_READ_ONLY);
	assert_int_equal(lc_storage_state_of(-EIO), LC_STORAGE_ERROR);
	assert_string_equal(lc_storage_state_name(LC_STORAGE_LOW_SPACE), "low-space");
	assert_null(lc_storage_state_name(_LC_STORAGE_STATE_MAX));

	(void)fault_at(&f, -EROFS, MONO);
	(void)fault_at(&f, -EROFS, MONO + 1000);
	o = lc_storage_fault_to_json(&f, "spool");
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "state", &v));
	assert_string_equal(json_object_get_string(v), "read-only");
	assert_true(json_object_object_get_ex(o, "errno", &v));
	assert_int_equal(json_object_get_int(v), EROFS);
	assert_true(json_object_object_get_ex(o, "failures", &v));
	assert_int_equal(json_object_get_int(v), 2);
	assert_true(json_object_object_get_ex(o, "since", &v));
	assert_string_equal(json_object_get_string(v), "2026-11-18T12:30:00Z");
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_logged_repeats_quiet),
		cmocka_unit_test(test_cause_change),
		cmocka_unit_test(test_new_episode_in_quiet_window),
		cmocka_unit_test(test_recovery_logged_iff_failure_logged),
		cmocka_unit_test(test_states_and_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
