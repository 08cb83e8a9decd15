/* SPDX-License-Identifier: MIT */
/* The hours ledger as pure functions of monotonic readings; the worked examples of docs/hours.md.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hours.h"

#define MIN_MS	(60ULL * 1000)
#define HOUR_MS (60 * MIN_MS)

static const char *const BOOT_A = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
static const char *const BOOT_B = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";

/* A save and a restore, as a checkpoint then a restart or reboot would do. */
static void persist(struct lc_hours *h)
{
	json_object *o = lc_hours_to_json(h);
	const char *why = NULL;
	struct lc_hours copy;

	assert_non_null(o);
	/* Through text, as on flash. */
	json_object *back = json_tokener_parse(json_object_to_json_string(o));
	assert_int_equal(lc_hours_from_json(back, &copy, &why), 0);
	json_object *again = lc_hours_to_json(&copy);
	assert_string_equal(json_object_to_json_string(again), json_object_to_json_string(o));
	json_object_put(again);
	json_object_put(back);
	json_object_put(o);
	*h = copy;
}

/* Closes every heartbeat due on the way to now_ms, in steps of step_ms as the timer would. */
static unsigned run_until(struct lc_hours *h, uint64_t from_ms, uint64_t now_ms, uint64_t step_ms,
			  uint64_t interval_ms, struct lc_hours_report *reports, unsigned max)
{
	unsigned n = 0;

	for (uint64_t t = from_ms; t <= now_ms; t += step_ms) {
		lc_hours_advance(h, t);
		if (h->odometer_ms >= lc_hours_due_ms(h, interval_ms)) {
			assert_true(n < max);
			lc_hours_close(h, &reports[n++]);
		}
	}
	return n;
}

/* Worked example 1: a crash at minute 30 makes that hour crash time. */
static void test_crash_at_minute_30(void **state)
{
	struct lc_hours h;
	struct lc_hours_report r;

	lc_hours_init(&h, BOOT_A, HOUR_MS, 5000);
	lc_hours_advance(&h, 5000 + 30 * MIN_MS);
	lc_hours_crash(&h);
	assert_int_equal(lc_hours_due_ms(&h, HOUR_MS), HOUR_MS);
	lc_hours_advance(&h, 5000 + HOUR_MS);
	lc_hours_close(&h, &r);
	assert_int_equal(r.operational_ms, HOUR_MS);
	assert_int_equal(r.crashfree_ms, 0);
	assert_int_equal(r.crashes, 1);

	/* The next hour is clean again. */
	lc_hours_advance(&h, 5000 + 2 * HOUR_MS);
	lc_hours_close(&h, &r);
	assert_int_equal(r.operational_ms, HOUR_MS);
	assert_int_equal(r.crashfree_ms, HOUR_MS);
	assert_int_equal(r.crashes, 0);
}

/* Worked example 2: an unexpected reboot every 40 minutes, checkpoints every 5 minutes. Each boot
 * keeps 35 of its 40 minutes (the last 5 were not checkpointed), and every hour holds a reboot. */
static void test_unexpected_reboot_every_40_minutes(void **state)
{
	struct lc_hours h;
	struct lc_hours_report reports[16];
	unsigned n = 0;
	char boot[37];

	lc_hours_init(&h, "00000000-0000-4000-8000-000000000000", HOUR_MS, 0);
	for (unsigned b = 0; b < 12; b++) {
		if (b > 0) {
			snprintf(boot, sizeof(boot), "00000000-0000-4000-8000-%012u", b);
			lc_hours_resume(&h, boot, 0);
			lc_hours_unexpected_reboot(&h); /* the reboot plugin's verdict */
		}
		/* Checkpoints at 5, 10, ... 35 minutes; it dies at 40, just before the next. */
		for (uint64_t t = 5 * MIN_MS; t <= 35 * MIN_MS; t += 5 * MIN_MS) {
			lc_hours_advance(&h, t);
			if (h.odometer_ms >= lc_hours_due_ms(&h, HOUR_MS))
				lc_hours_close(&h, &reports[n++]);
			persist(&h);
		}
	}
	/* 12 boots x 35 minutes = 7 hours counted: 7 heartbeats, every one crash time. */
	assert_int_equal(h.odometer_ms, 12 * 35 * MIN_MS);
	assert_int_equal(n, 7);
	uint64_t op = 0, crashes = 0;
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(reports[i].operational_ms, HOUR_MS);
		assert_int_equal(reports[i].crashfree_ms, 0);
		op += reports[i].operational_ms;
		crashes += reports[i].crashes;
	}
	assert_int_equal(op, 7 * HOUR_MS);
	/* Reboots 1..11 at odometer 35, 70, ... 385 minutes; the ones before 420 were reported. */
	assert_int_equal(crashes, 11);
}

/* Worked example 3: faultd restarts at minute 20 and is back at 25 of the same boot: the minutes
 * it was down still count, once. */
static void test_daemon_restart_mid_hour(void **state)
{
	struct lc_hours h;
	struct lc_hours_report r;

	lc_hours_init(&h, BOOT_A, HOUR_MS, 0);
	lc_hours_advance(&h, 20 * MIN_MS);
	persist(&h); /* the checkpoint at stop */
	lc_hours_resume(&h, BOOT_A, 123456789 /* ignored in the same boot */);
	lc_hours_advance(&h, 25 * MIN_MS);
	assert_int_equal(h.odometer_ms, 25 * MIN_MS);
	lc_hours_advance(&h, 25 * MIN_MS); /* twice the same reading counts nothing */
	lc_hours_advance(&h, 24 * MIN_MS); /* nor does one from the past */
	lc_hours_advance(&h, HOUR_MS);
	lc_hours_close(&h, &r);
	assert_int_equal(r.operational_ms, HOUR_MS);
	assert_int_equal(r.crashfree_ms, HOUR_MS);
	assert_int_equal(r.crashes, 0);
}

/* Worked example 4: a clean reboot at minute 30; the new boot counts from its own start, the time
 * the device was down is not operating time, and nothing is crash time. */
static void test_clean_reboot(void **state)
{
	struct lc_hours h;
	struct lc_hours_report r;

	lc_hours_init(&h, BOOT_A, HOUR_MS, 0);
	lc_hours_advance(&h, 30 * MIN_MS);
	persist(&h);
	lc_hours_resume(&h, BOOT_B, 0);
	assert_int_equal(h.boot_odometer_ms, 30 * MIN_MS);
	lc_hours_advance(&h, 20 * 1000); /* faultd up 20 s into the new boot: counted */
	assert_int_equal(h.odometer_ms, 30 * MIN_MS + 20 * 1000);
	lc_hours_advance(&h, 30 * MIN_MS);
	assert_true(h.odometer_ms >= lc_hours_due_ms(&h, HOUR_MS));
	lc_hours_close(&h, &r);
	assert_int_equal(r.operational_ms, HOUR_MS);
	assert_int_equal(r.crashfree_ms, HOUR_MS);
	assert_int_equal(r.crashes, 0);
}

/* A new ledger does not claim the time the device ran before faultd was installed. */
static void test_new_ledger_counts_from_now(void **state)
{
	struct lc_hours h;

	lc_hours_init(&h, BOOT_A, HOUR_MS, 30ULL * 24 * HOUR_MS);
	lc_hours_advance(&h, 30ULL * 24 * HOUR_MS + MIN_MS);
	assert_int_equal(h.odometer_ms, MIN_MS);
}

/* The boot start reading comes from the caller: a new boot counts from it. */
static void test_new_boot_counts_from_boot_start(void **state)
{
	struct lc_hours h;

	lc_hours_init(&h, BOOT_A, HOUR_MS, 0);
	lc_hours_advance(&h, 10 * MIN_MS);
	lc_hours_resume(&h, BOOT_B, 500 * MIN_MS);
	lc_hours_advance(&h, 502 * MIN_MS);
	assert_int_equal(h.odometer_ms, 12 * MIN_MS);
}

/* Heartbeats shorter than the window: a marked window carries into the next heartbeat, and the
 * part of it reported before the crash stays crash-free. */
static void test_window_spans_heartbeats(void **state)
{
	struct lc_hours h;
	struct lc_hours_report r[8];
	unsigned n;

	lc_hours_init(&h, BOOT_A, HOUR_MS, 0);
	lc_hours_advance(&h, 10 * MIN_MS);
	lc_hours_crash(&h);
	n = run_until(&h, 10 * MIN_MS, 90 * MIN_MS, MIN_MS, 30 * MIN_MS, r, 8);
	assert_int_equal(n, 3);
	assert_int_equal(r[0].crashfree_ms, 0);		  /* [0, 30): window 0 */
	assert_int_equal(r[1].crashfree_ms, 0);		  /* [30, 60): still window 0 */
	assert_int_equal(r[1].crashes, 0);		  /* but the crash was counted once */
	assert_int_equal(r[2].crashfree_ms, 30 * MIN_MS); /* [60, 90) */

	/* A crash at 100 marks window 1, whose part [60, 90) was already reported clean. */
	lc_hours_advance(&h, 100 * MIN_MS);
	lc_hours_crash(&h);
	lc_hours_advance(&h, 120 * MIN_MS);
	lc_hours_close(&h, &r[3]);
	assert_int_equal(r[3].operational_ms, 30 * MIN_MS);
	assert_int_equal(r[3].crashfree_ms, 0);
}

/* Several crashes in one window count as crashes, but the window is crash time only once. */
static void test_crashes_in_one_window(void **state)
{
	struct lc_hours h;
	struct lc_hours_report r;

	lc_hours_init(&h, BOOT_A, 10 * MIN_MS, 0);
	for (int i = 1; i <= 5; i++) {
		lc_hours_advance(&h, (uint64_t)i * MIN_MS);
		lc_hours_crash(&h);
	}
	assert_int_equal(h.n_marks, 1);
	lc_hours_advance(&h, HOUR_MS);
	lc_hours_close(&h, &r);
	assert_int_equal(r.crashes, 5);
	assert_int_equal(r.crashfree_ms, 50 * MIN_MS);
}

/* An unexpected reboot whose window was already reported lands in the heartbeat in progress. */
static void test_unexpected_reboot_after_close(void **state)
{
	struct lc_hours h;
	struct lc_hours_report r;

	lc_hours_init(&h, BOOT_A, HOUR_MS, 0);
	lc_hours_advance(&h, 59 * MIN_MS);
	lc_hours_resume(&h, BOOT_B, 0);
	lc_hours_advance(&h, 2 * MIN_MS); /* odometer 61: the first hour is due */
	lc_hours_close(&h, &r);
	assert_int_equal(r.crashes, 0);
	lc_hours_unexpected_reboot(&h); /* the boot ended at 59, in the hour just reported */
	persist(&h);
	lc_hours_unexpected_reboot(&h); /* decided again after a restart: not counted twice */
	lc_hours_advance(&h, 61 * MIN_MS);
	lc_hours_close(&h, &r);
	assert_int_equal(r.crashes, 1);
	assert_int_equal(r.crashfree_ms, 0);
}

/* More crash windows than the ledger remembers: from the last remembered one on, all is crash time
 * (never less crash time than the truth). */
static void test_marks_overflow_is_conservative(void **state)
{
	struct lc_hours h;
	struct lc_hours_report r;

	lc_hours_init(&h, BOOT_A, 1000, 0);
	for (uint64_t i = 0; i < LC_HOURS_CRASHES_MAX + 50; i++) {
		lc_hours_advance(&h, i * 2000 + 500); /* one crash every other window */
		lc_hours_crash(&h);
	}
	assert_int_equal(h.n_marks, LC_HOURS_CRASHES_MAX);
	assert_true(h.overflow);
	persist(&h);
	lc_hours_advance(&h, 2000ULL * (LC_HOURS_CRASHES_MAX + 100));
	lc_hours_close(&h, &r);
	assert_int_equal(r.crashes, LC_HOURS_CRASHES_MAX + 50);
	/* Exact for the first 255 marked windows; everything from the 256th window on is crash. */
	uint64_t exact = (LC_HOURS_CRASHES_MAX - 1) * 1000ULL;
	uint64_t tail = r.operational_ms - (LC_HOURS_CRASHES_MAX - 1) * 2000ULL;
	assert_int_equal(r.operational_ms - r.crashfree_ms, exact + tail);
	assert_false(h.overflow);
}

static void test_from_json_rejects(void **state)
{
	static const char *const bad[] = {
		"[]",
		"{}",
		"{\"boot_id\":\"x\",\"window_ms\":0,\"monotonic_ms\":0,\"odometer_ms\":0,"
		"\"boot_odometer_ms\":0,\"start_ms\":0,\"crashes\":0,\"marks\":[],\"overflow\":"
		"false}",
		"{\"boot_id\":\"x\",\"window_ms\":1,\"monotonic_ms\":0,\"odometer_ms\":5,"
		"\"boot_odometer_ms\":0,\"start_ms\":6,\"crashes\":0,\"marks\":[],\"overflow\":"
		"false}",
		"{\"boot_id\":\"x\",\"window_ms\":1,\"monotonic_ms\":0,\"odometer_ms\":5,"
		"\"boot_odometer_ms\":0,\"start_ms\":0,\"crashes\":0,\"marks\":[3,2],"
		"\"overflow\":false}",
		"{\"boot_id\":\"x\",\"window_ms\":1,\"monotonic_ms\":0,\"odometer_ms\":5,"
		"\"boot_odometer_ms\":0,\"start_ms\":0,\"crashes\":0,\"marks\":[9],"
		"\"overflow\":false}",
		"{\"boot_id\":\"x\",\"window_ms\":1,\"monotonic_ms\":-1,\"odometer_ms\":5,"
		"\"boot_odometer_ms\":0,\"start_ms\":0,\"crashes\":0,\"marks\":[],"
		"\"overflow\":false}",
		"{\"boot_id\":\"x\",\"window_ms\":1,\"monotonic_ms\":0,\"odometer_ms\":5,"
		"\"boot_odometer_ms\":0,\"start_ms\":0,\"crashes\":0,\"marks\":[],"
		"\"overflow\":true}",
		"{\"boot_id\":\"x\",\"window_ms\":1,\"monotonic_ms\":0,\"odometer_ms\":\"5\","
		"\"boot_odometer_ms\":0,\"start_ms\":0,\"crashes\":0,\"marks\":[],"
		"\"overflow\":false}",
	};
	struct lc_hours h, untouched;

	memset(&h, 0x5a, sizeof(h));
	untouched = h;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_object *o = json_tokener_parse(bad[i]);
		const char *why = NULL;

		assert_int_equal(lc_hours_from_json(o, &h, &why), -EINVAL);
		assert_non_null(why);
		assert_memory_equal(&h, &untouched, sizeof(h));
		json_object_put(o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash_at_minute_30),
		cmocka_unit_test(test_unexpected_reboot_every_40_minutes),
		cmocka_unit_test(test_daemon_restart_mid_hour),
		cmocka_unit_test(test_clean_reboot),
		cmocka_unit_test(test_new_ledger_counts_from_now),
		cmocka_unit_test(test_new_boot_counts_from_boot_start),
		cmocka_unit_test(test_window_spans_heartbeats),
		cmocka_unit_test(test_crashes_in_one_window),
		cmocka_unit_test(test_unexpected_reboot_after_close),
		cmocka_unit_test(test_marks_overflow_is_conservative),
		cmocka_unit_test(test_from_json_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
