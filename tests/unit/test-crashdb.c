/* SPDX-License-Identifier: MIT */
/*
 * What faultd-core-handler remembers of past crashes (plugins/coredump/crashdb.c): the crash-loop
 * decision as a pure function, and the record on disk: signatures' cores and crashes per software
 * version, crash loops across handlers, the bounds, and a damaged record started afresh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crashdb.h"
#include "harness-fs.h"
#include "macro.h"

#define T0     1700000000000ULL
#define MINUTE 60000ULL
#define WINDOW (10 * MINUTE)

static void test_loop_needs_count_within_window(void **state)
{
	uint64_t times[CRASHDB_TIMES];
	size_t n = 0;
	bool loop = false;
	uint32_t crashes;

	/* Four crashes a minute apart: ordinary; the fifth makes the loop, with 5 in the window. */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(
			crashdb_loop_step(times, &n, &loop, T0 + i * MINUTE, WINDOW, 5, &crashes),
			0);
		assert_int_equal(crashes, i + 1);
	}
	assert_int_equal(crashdb_loop_step(times, &n, &loop, T0 + 4 * MINUTE, WINDOW, 5, &crashes),
			 1);
	assert_int_equal(crashes, 5);
	assert_true(loop);
	/* Further crashes are inside the loop, not a new one. */
	assert_int_equal(crashdb_loop_step(times, &n, &loop, T0 + 5 * MINUTE, WINDOW, 5, &crashes),
			 2);
	assert_int_equal(crashdb_loop_step(times, &n, &loop, T0 + 14 * MINUTE, WINDOW, 5, &crashes),
			 2);
	/* A whole window without a crash ends it: the next crash is ordinary again. */
	assert_int_equal(crashdb_loop_step(times, &n, &loop, T0 + 24 * MINUTE, WINDOW, 5, &crashes),
			 0);
	assert_false(loop);
	assert_int_equal(crashes, 1);
}

static void test_spread_crashes_are_no_loop(void **state)
{
	uint64_t times[CRASHDB_TIMES];
	size_t n = 0;
	bool loop = false;
	uint32_t crashes;

	/* One crash every 3 minutes: at most 4 lie within 10 minutes, never 5. */
	for (int i = 0; i < 50; i++) {
		assert_int_equal(crashdb_loop_step(times, &n, &loop, T0 + i * 3 * MINUTE, WINDOW, 5,
						   &crashes),
				 0);
		assert_true(crashes <= 4);
	}
	/* The window's edge: a crash exactly one window ago no longer counts. */
	n = 0;
	loop = false;
	assert_int_equal(crashdb_loop_step(times, &n, &loop, T0, WINDOW, 2, &crashes), 0);
	assert_int_equal(crashdb_loop_step(times, &n, &loop, T0 + WINDOW, WINDOW, 2, &crashes), 0);
	assert_int_equal(crashdb_loop_step(times, &n, &loop, T0 + WINDOW + 1, WINDOW, 2, &crashes),
			 1);
}

static void test_loop_times_are_bounded(void **state)
{
	uint64_t times[CRASHDB_TIMES];
	size_t n = 0;
	bool loop = false;
	uint32_t crashes;

	for (int i = 0; i < 3 * CRASHDB_TIMES; i++)
		(void)crashdb_loop_step(times, &n, &loop, T0 + i, WINDOW, CRASHDB_TIMES, &crashes);
	assert_int_equal(n, CRASHDB_TIMES);
	assert_int_equal(times[n - 1], T0 + 3 * CRASHDB_TIMES - 1);
	assert_true(loop);
	/* A clock set back: the crashes "in the future" are forgotten, no loop is declared. */
	n = 0;
	loop = false;
	(void)crashdb_loop_step(times, &n, &loop, T0 + 1000, WINDOW, 2, &crashes);
	assert_int_equal(crashdb_loop_step(times, &n, &loop, T0, WINDOW, 2, &crashes), 0);
	assert_int_equal(crashes, 1);
}

static int setup(void **state)
{
	*state = tree_new("crashdb");
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	return tree_free(*state);
}

static void test_record_signatures(void **state)
{
	struct tree *t = *state;
	struct crashdb *db;
	uint32_t cores;

	tree_mkdir(t->dir, "state");
	for (int i = 0; i < 4; i++) {
		assert_int_equal(crashdb_open(t->state, 1000, &db), 0);
		assert_int_equal(crashdb_signature(db, "0123456789abcdef", "1.0", T0 + i, &cores),
				 0);
		assert_int_equal(cores, MIN(i, 2));
		if (cores < 2)
			crashdb_core_stored(db, "0123456789abcdef", "1.0");
		assert_int_equal(crashdb_close(db), 0);
	}
	/* Another version of the software starts its own count. */
	assert_int_equal(crashdb_open(t->state, 1000, &db), 0);
	assert_int_equal(crashdb_signature(db, "0123456789abcdef", "1.1", T0 + 10, &cores), 0);
	assert_int_equal(cores, 0);
	assert_int_equal(crashdb_signature(db, "0123456789abcdef", "1.0", T0 + 11, &cores), 0);
	assert_int_equal(cores, 2);
	assert_int_equal(crashdb_close(db), 0);
}

static void test_record_loops_across_handlers(void **state)
{
	struct tree *t = *state;
	struct crashdb *db;
	uint32_t crashes;
	int verdicts[6];

	tree_mkdir(t->dir, "state");
	/* Each crash is another faultd-core-handler process: the record carries the loop. */
	for (int i = 0; i < 6; i++) {
		assert_int_equal(crashdb_open(t->state, 1000, &db), 0);
		verdicts[i] = crashdb_crash(db, "/usr/bin/app", T0 + i * 1000, WINDOW, 5, &crashes);
		/* Another program's crashes do not count towards it. */
		assert_int_equal(crashdb_crash(db, "/usr/bin/other", T0 + i * 1000 + 1, WINDOW, 5,
					       &crashes) == 1,
				 i == 4);
		assert_int_equal(crashdb_close(db), 0);
	}
	assert_int_equal(verdicts[3], 0);
	assert_int_equal(verdicts[4], 1);
	assert_int_equal(verdicts[5], 2);
}

static void test_record_bounded(void **state)
{
	struct tree *t = *state;
	struct crashdb *db;
	char sig[17], exe[32];
	uint32_t v;

	tree_mkdir(t->dir, "state");
	assert_int_equal(crashdb_open(t->state, 1000, &db), 0);
	for (int i = 0; i < 3 * CRASHDB_SIGNATURES; i++) {
		snprintf(sig, sizeof(sig), "%016x", i);
		assert_int_equal(crashdb_signature(db, sig, "1.0", T0 + i, &v), 0);
		snprintf(exe, sizeof(exe), "/bin/p%d", i);
		(void)crashdb_crash(db, exe, T0 + i, WINDOW, 5, &v);
	}
	assert_int_equal(crashdb_close(db), 0);
	/* The file holds at most the bounds; the newest are kept. */
	{
		_cleanup_free_ char *text = tree_read(t->state, "coredump-crashes.json", NULL);

		assert_true(strlen(text) < 512 * 1024);
		snprintf(sig, sizeof(sig), "%016x", 3 * CRASHDB_SIGNATURES - 1);
		assert_non_null(strstr(text, sig));
		snprintf(sig, sizeof(sig), "%016x", 0);
		assert_null(strstr(text, sig));
	}
}

static void test_record_damaged(void **state)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"{\"signatures\": {}, \"processes\": []}",
		"{\"signatures\": [{\"signature\": 5}], \"processes\": []}",
		"{\"signatures\": [], \"processes\": [{\"exe\": \"/a\", \"times_ms\": [3, 1], "
		"\"loop\": false, \"last_ms\": 1}]}",
	};
	struct tree *t = *state;
	struct crashdb *db;
	uint32_t cores;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		tree_put(t->state, "coredump-crashes.json", bad[i]);
		assert_int_equal(crashdb_open(t->state, 1000, &db), 0);
		assert_int_equal(crashdb_signature(db, "0123456789abcdef", "1.0", T0, &cores), 0);
		assert_int_equal(cores, 0);
		assert_int_equal(crashdb_close(db), 0);
	}
	/* A missing state directory is an error, not a crash. */
	assert_true(crashdb_open("/nonexistent/state", 1000, &db) < 0);
}

static void test_record_lock_times_out_and_long_names_match(void **state)
{
	struct tree *t = *state;
	struct crashdb *db, *other;
	char exe[400];
	uint32_t crashes;

	tree_mkdir(t->dir, "state");
	assert_int_equal(crashdb_open(t->state, 1000, &db), 0);
	/* A second handler waits for the lock, and gives up after its timeout. */
	assert_int_equal(crashdb_open(t->state, 100, &other), -ETIMEDOUT);
	assert_int_equal(crashdb_close(db), 0);
	/* A path longer than what is kept still finds its record: a loop is seen. */
	memset(exe, 'x', sizeof(exe) - 1);
	exe[0] = '/';
	exe[sizeof(exe) - 1] = 0;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(crashdb_open(t->state, 1000, &db), 0);
		assert_int_equal(crashdb_crash(db, exe, T0 + i, WINDOW, 3, &crashes),
				 i == 2 ? 1 : 0);
		assert_int_equal(crashdb_close(db), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_needs_count_within_window),
		cmocka_unit_test(test_spread_crashes_are_no_loop),
		cmocka_unit_test(test_loop_times_are_bounded),
		cmocka_unit_test_setup_teardown(test_record_signatures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_loops_across_handlers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_lock_times_out_and_long_names_match,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
