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

/* Closes every interval due on the way to now_ms, in steps of step_ms as the timer would. */
static unsigned run_until(struct lc_hours *h, uint64_t from_ms, uint64_t now_ms, uint64_t step_ms,
			  uint64_t interval_ms, struct lc_hours_report *reports, unsigned max)
{
	unsigned n = 0;
	uint64_t end;

	for (uint64_t t = from_ms; t <= now_ms; t += step_ms) {
		lc_hours_advance(h, t);
		while ((end = lc_hours_next_roll(h, interval_ms)) != 0) {
			assert_true(n < max);
			lc_hours_roll(h, end, &reports[n++]);
		}
	}
	lc_hours_advance(h, now_ms);
	while ((end = lc_hours_next_roll(h, interval_ms)) != 0) {
		assert_true(n < max);
		lc_hours_roll(h, end, &reports[n++]);
	}
	return n;
}

static void crash_now(struct lc_hours *h)
{
	lc_hours_crash(h, lc_hours_position(h, NULL, h->mono_ms));
}

/* Worked example 1: a crash at minute 30 makes that hour crash time. */
static void test_crash_at_minute_30(void **state)
{
	struct lc_hours h;
	struct lc_hours_report r;

	lc_hours_init(&h, BOOT_A, 5000);
	lc_hours_advance(&h, 5000 + 30 * MIN_MS);
	crash_now(&h);
	assert_int_equal(lc_hours_due_ms(&h, HOUR_MS), HOUR_MS);
	lc_hours_advance(&h, 5000 + HOUR_MS);
	assert_int_equal(lc_hours_next_roll(&h, HOUR_MS), HOUR_MS);
	lc_hours_roll(&h, HOUR_MS, &r);
	assert_int_equal(r.operational_ms, HOUR_MS);
	assert_int_equal(r.crashfree_ms, 0);
	assert_int_equal(r.crashes, 1);

	/* The next hour is clean again. */
	lc_hours_advance(&h, 5000 + 2 * HOUR_MS);
	lc_hours_roll(&h, lc_hours_next_roll(&h, HOUR_MS), &r);
	assert_int_equal(r.operational_ms, HOUR_MS);
	assert_int_equal(r.crashfree_ms, HOUR_MS);
	assert_int_equal(r.crashes, 0);
}

/* One crash costs one interval wherever it falls in it, for any interval length (the crash window
 * used to be a second setting; a crash after minute 30 of a 60-minute window with 30-minute
 * heartbeats cost 30 minutes, before it 60). */
static void test_one_crash_costs_one_interval(void **state)
{
	static const uint64_t intervals[] = { 1000, 30 * MIN_MS, HOUR_MS, 24 * HOUR_MS };

	for (size_t i = 0; i < sizeof(intervals) / sizeof(intervals[0]); i++) {
		uint64_t iv = intervals[i];
		uint64_t at[] = { 1, iv / 2 - 1, iv / 2 + 1, iv - 1, iv, 3 * iv + iv / 3 };

		for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
			struct lc_hours h;
			struct lc_hours_report r[16];
			uint64_t crash = 0, op = 0;
			unsigned n;

			lc_hours_init(&h, BOOT_A, 0);
			lc_hours_advance(&h, at[k]);
			crash_now(&h);
			n = run_until(&h, at[k], 6 * iv, iv / 4 ? iv / 4 : 1, iv, r, 16);
			for (unsigned j = 0; j < n; j++) {
				crash += r[j].operational_ms - r[j].crashfree_ms;
				op += r[j].operational_ms;
			}
			assert_int_equal(op, 6 * iv);
			assert_int_equal(crash, iv);
		}
	}
}

/* Worked example 2: an unexpected reboot every 40 minutes, regular checkpoints every 5 minutes
 * (the early ones of each boot left out here). Each boot keeps 35 of its 40 minutes, and every hour
 * holds a reboot. */
static void test_unexpected_reboot_every_40_minutes(void **state)
{
	struct lc_hours h;
	struct lc_hours_report reports[16];
	unsigned n = 0;
	uint64_t end;
	char boot[37];

	lc_hours_init(&h, "00000000-0000-4000-8000-000000000000", 0);
	for (unsigned b = 0; b < 12; b++) {
		if (b > 0) {
			snprintf(boot, sizeof(boot), "00000000-0000-4000-8000-%012u", b);
			lc_hours_resume(&h, boot, 0);
			lc_hours_unexpected_reboot(&h); /* the reboot plugin's verdict */
		}
		/* Checkpoints at 5, 10, ... 35 minutes; it dies at 40, just before the next. */
		for (uint64_t t = 5 * MIN_MS; t <= 35 * MIN_MS; t += 5 * MIN_MS) {
			lc_hours_advance(&h, t);
			while ((end = lc_hours_next_roll(&h, HOUR_MS)) != 0)
				lc_hours_roll(&h, end, &reports[n++]);
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
	/* Reboots 1..11 at odometer 35, 70, ... 385 minutes; all before 420 were reported. */
	assert_int_equal(crashes, 11);
}

/* A device in a 3-minute reboot loop, checkpointing as lc_hours_checkpoint_delay_ms() says, keeps
 * at least 90 % of its operating time, and so does one in a 10-minute or an hour's loop; a
 * 30-second loop keeps two thirds. */
static void test_reboot_loop_keeps_its_time(void **state)
{
	static const struct {
		uint64_t boot_ms;
		unsigned percent;
	} loops[] = { { 3 * MIN_MS, 90 }, { 30000, 66 },   { 10 * MIN_MS, 90 },
		      { 47000, 80 },	  { HOUR_MS, 90 }, { 150000, 90 } };

	for (size_t i = 0; i < sizeof(loops) / sizeof(loops[0]); i++) {
		struct lc_hours h;
		char boot[37];
		unsigned writes = 0;

		lc_hours_init(&h, "00000000-0000-4000-8000-000000000000", 0);
		for (unsigned b = 1; b <= 20; b++) {
			snprintf(boot, sizeof(boot), "00000000-0000-4000-8000-%012u", b);
			lc_hours_resume(&h, boot, 0);
			/* faultd starts 3 s into the boot; the boot counts from its start. */
			for (uint64_t t = 3000;;) {
				t += lc_hours_checkpoint_delay_ms(t, 5 * MIN_MS);
				if (t >= loops[i].boot_ms)
					break; /* the power goes before this checkpoint */
				lc_hours_advance(&h, t);
				persist(&h);
				writes++;
			}
		}
		assert_true(h.odometer_ms * 100 >= 20 * loops[i].boot_ms * loops[i].percent);
		/* What it costs: 47 writes in a boot's first hour where the regular period
		 * alone makes 11. */
		if (loops[i].boot_ms == HOUR_MS)
			assert_int_equal(writes, 20 * 47);
	}
	/* Then the regular period. */
	assert_int_equal(lc_hours_checkpoint_delay_ms(50 * MIN_MS, 5 * MIN_MS), 5 * MIN_MS);
	assert_int_equal(lc_hours_checkpoint_delay_ms(5 * MIN_MS, 5 * MIN_MS), 30000);
	assert_int_equal(lc_hours_checkpoint_delay_ms(0, 5 * MIN_MS), 10000);
	assert_int_equal(lc_hours_checkpoint_delay_ms(200000, 5 * MIN_MS), 20000);
	assert_int_equal(lc_hours_checkpoint_delay_ms(0, 1000), 1000);
}

/* Worked example 3: faultd restarts at minute 20 and is back at 25 of the same boot: the minutes
 * it was down still count, once. */
static void test_daemon_restart_mid_hour(void **state)
{
	struct lc_hours h;
	struct lc_hours_report r;

	lc_hours_init(&h, BOOT_A, 0);
	lc_hours_advance(&h, 20 * MIN_MS);
	persist(&h); /* the checkpoint at stop */
	lc_hours_resume(&h, BOOT_A, 123456789 /* ignored in the same boot */);
	lc_hours_advance(&h, 25 * MIN_MS);
	assert_int_equal(h.odometer_ms, 25 * MIN_MS);
	lc_hours_advance(&h, 25 * MIN_MS); /* twice the same reading counts nothing */
	lc_hours_advance(&h, 24 * MIN_MS); /* nor does one from the past */
	lc_hours_advance(&h, HOUR_MS);
	lc_hours_roll(&h, lc_hours_next_roll(&h, HOUR_MS), &r);
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

	lc_hours_init(&h, BOOT_A, 0);
	lc_hours_advance(&h, 30 * MIN_MS);
	persist(&h);
	lc_hours_resume(&h, BOOT_B, 0);
	assert_int_equal(h.boot_odometer_ms, 30 * MIN_MS);
	lc_hours_advance(&h, 20 * 1000); /* faultd up 20 s into the new boot: counted */
	assert_int_equal(h.odometer_ms, 30 * MIN_MS + 20 * 1000);
	lc_hours_advance(&h, 30 * MIN_MS);
	lc_hours_roll(&h, lc_hours_next_roll(&h, HOUR_MS), &r);
	assert_int_equal(r.operational_ms, HOUR_MS);
	assert_int_equal(r.crashfree_ms, HOUR_MS);
	assert_int_equal(r.crashes, 0);
}

/* A new ledger does not claim the time the device ran before faultd was installed. */
static void test_new_ledger_counts_from_now(void **state)
{
	struct lc_hours h;

	lc_hours_init(&h, BOOT_A, 30ULL * 24 * HOUR_MS);
	lc_hours_advance(&h, 30ULL * 24 * HOUR_MS + MIN_MS);
	assert_int_equal(h.odometer_ms, MIN_MS);
}

/* The boot start reading comes from the caller: a new boot counts from it. */
static void test_new_boot_counts_from_boot_start(void **state)
{
	struct lc_hours h;

	lc_hours_init(&h, BOOT_A, 0);
	lc_hours_advance(&h, 10 * MIN_MS);
	lc_hours_resume(&h, BOOT_B, 500 * MIN_MS);
	lc_hours_advance(&h, 502 * MIN_MS);
	assert_int_equal(h.odometer_ms, 12 * MIN_MS);
}

/* A crash is placed where it happened: in this boot by its monotonic time, in another boot at the
 * last millisecond that boot counted. */
static void test_position_of_a_moment(void **state)
{
	struct lc_hours h;

	lc_hours_init(&h, BOOT_A, 1000);
	lc_hours_advance(&h, 1000 + 50 * MIN_MS);
	assert_int_equal(lc_hours_position(&h, BOOT_A, 1000 + 20 * MIN_MS), 20 * MIN_MS);
	assert_int_equal(lc_hours_position(&h, NULL, 1000 + 20 * MIN_MS), 20 * MIN_MS);
	/* Before the ledger began, and in the future: clamped. */
	assert_int_equal(lc_hours_position(&h, BOOT_A, 10), 0);
	assert_int_equal(lc_hours_position(&h, BOOT_A, 1000 + 99 * MIN_MS), 50 * MIN_MS);
	/* No boot before the first one counted anything. */
	assert_int_equal(lc_hours_position(&h, BOOT_B, 5), 0);

	lc_hours_resume(&h, BOOT_B, 0);
	lc_hours_advance(&h, 5 * MIN_MS);
	assert_int_equal(lc_hours_position(&h, BOOT_A, 1000 + 20 * MIN_MS), 50 * MIN_MS - 1);
	assert_int_equal(lc_hours_position(&h, "cccccccc-cccc-4ccc-8ccc-cccccccccccc", 7),
			 50 * MIN_MS - 1);
	assert_int_equal(lc_hours_position(&h, BOOT_B, 2 * MIN_MS), 52 * MIN_MS);
	assert_int_equal(lc_hours_position(&h, BOOT_B, 0), 50 * MIN_MS);
}

/* Case 2 of the audit: three crashes in three hours while faultd was down within one boot are
 * three crash hours, not one later. */
static void test_crashes_while_faultd_was_down(void **state)
{
	struct lc_hours h;
	struct lc_hours_report r[8];
	unsigned n;

	lc_hours_init(&h, BOOT_A, 0);
	lc_hours_advance(&h, 10 * MIN_MS);
	persist(&h); /* faultd stops */
	lc_hours_resume(&h, BOOT_A, 0);
	lc_hours_advance(&h, 5 * HOUR_MS + 10 * MIN_MS); /* back five hours later */
	/* The crash log drained before anything closes. */
	lc_hours_crash(&h, lc_hours_position(&h, BOOT_A, 90 * MIN_MS));
	lc_hours_crash(&h, lc_hours_position(&h, BOOT_A, 30 * MIN_MS));
	lc_hours_crash(&h, lc_hours_position(&h, BOOT_A, 4 * HOUR_MS + 1));
	n = run_until(&h, 5 * HOUR_MS + 10 * MIN_MS, 5 * HOUR_MS + 10 * MIN_MS, 1, HOUR_MS, r, 8);
	/* [0,1) [1,2) crash; [2,4) together, crash-free; [4,5) crash. */
	assert_int_equal(n, 4);
	assert_int_equal(r[0].crashes, 1);
	assert_int_equal(r[0].crashfree_ms, 0);
	assert_int_equal(r[1].crashes, 1);
	assert_int_equal(r[1].crashfree_ms, 0);
	assert_int_equal(r[2].operational_ms, 2 * HOUR_MS);
	assert_int_equal(r[2].crashfree_ms, 2 * HOUR_MS);
	assert_int_equal(r[3].crashes, 1);
	assert_int_equal(r[3].operational_ms, HOUR_MS);
	assert_int_equal(h.start_ms, 5 * HOUR_MS);
	assert_int_equal(h.n_marks, 0);
}

/* An update: 1.0 crashes at minute 50, the interval ends where 1.0 stopped (the end of the boot),
 * 2.0's interval begins there with nothing carried over. */
static void test_update_ends_the_interval(void **state)
{
	struct lc_hours h;
	struct lc_hours_report r;

	lc_hours_init(&h, BOOT_A, 0);
	lc_hours_advance(&h, 50 * MIN_MS);
	crash_now(&h);
	lc_hours_advance(&h, 55 * MIN_MS);
	persist(&h);
	lc_hours_resume(&h, BOOT_B, 0);
	lc_hours_advance(&h, 30000);
	lc_hours_roll(&h, h.boot_odometer_ms, &r); /* as 1.0 */
	assert_int_equal(r.operational_ms, 55 * MIN_MS);
	assert_int_equal(r.crashfree_ms, 0);
	assert_int_equal(r.crashes, 1);
	lc_hours_advance(&h, HOUR_MS);
	lc_hours_roll(&h, lc_hours_next_roll(&h, HOUR_MS), &r); /* as 2.0 */
	assert_int_equal(r.operational_ms, HOUR_MS);
	assert_int_equal(r.crashfree_ms, HOUR_MS);
	assert_int_equal(r.crashes, 0);
}

/* Several crashes in one interval count as crashes, but the interval is crash time once. */
static void test_crashes_in_one_interval(void **state)
{
	struct lc_hours h;
	struct lc_hours_report r;

	lc_hours_init(&h, BOOT_A, 0);
	for (int i = 1; i <= 5; i++) {
		lc_hours_advance(&h, (uint64_t)i * MIN_MS);
		crash_now(&h);
	}
	lc_hours_advance(&h, HOUR_MS);
	lc_hours_roll(&h, lc_hours_next_roll(&h, HOUR_MS), &r);
	assert_int_equal(r.crashes, 5);
	assert_int_equal(r.crashfree_ms, 0);
	assert_int_equal(r.operational_ms, HOUR_MS);
}

/* An unexpected reboot whose interval was already reported lands in the interval in progress;
 * one whose interval is open lands there, even after a restart decided it again. */
static void test_unexpected_reboot_after_roll(void **state)
{
	struct lc_hours h;
	struct lc_hours_report r;

	lc_hours_init(&h, BOOT_A, 0);
	lc_hours_advance(&h, 59 * MIN_MS);
	lc_hours_resume(&h, BOOT_B, 0);
	lc_hours_advance(&h, 2 * MIN_MS); /* odometer 61: the first hour is due */
	lc_hours_roll(&h, lc_hours_next_roll(&h, HOUR_MS), &r);
	assert_int_equal(r.crashes, 0);
	lc_hours_unexpected_reboot(&h); /* the boot ended at 59, in the hour just reported */
	persist(&h);
	lc_hours_unexpected_reboot(&h); /* decided again after a restart: not counted twice */
	lc_hours_advance(&h, 61 * MIN_MS);
	lc_hours_roll(&h, lc_hours_next_roll(&h, HOUR_MS), &r);
	assert_int_equal(r.crashes, 1);
	assert_int_equal(r.crashfree_ms, 0);

	/* A boot that ended at exactly a whole hour is charged to the hour it ended in. */
	lc_hours_init(&h, BOOT_A, 0);
	lc_hours_advance(&h, HOUR_MS);
	lc_hours_roll(&h, HOUR_MS, &r);
	lc_hours_advance(&h, 2 * HOUR_MS);
	lc_hours_resume(&h, BOOT_B, 0);
	lc_hours_unexpected_reboot(&h);
	lc_hours_advance(&h, MIN_MS);
	lc_hours_roll(&h, lc_hours_next_roll(&h, HOUR_MS), &r);
	assert_int_equal(r.operational_ms, HOUR_MS);
	assert_int_equal(r.crashes, 1);
	lc_hours_advance(&h, HOUR_MS);
	lc_hours_roll(&h, HOUR_MS * 3, &r);
	assert_int_equal(r.crashes, 0);
}

/* Consent given: nothing from before it is reported. */
static void test_restart_forgets_the_interval(void **state)
{
	struct lc_hours h;
	struct lc_hours_report r;

	lc_hours_init(&h, BOOT_A, 0);
	lc_hours_advance(&h, 40 * MIN_MS);
	crash_now(&h);
	lc_hours_restart(&h);
	lc_hours_peek(&h, &r);
	assert_int_equal(r.operational_ms, 0);
	assert_int_equal(r.crashes, 0);
	lc_hours_advance(&h, 100 * MIN_MS);
	assert_int_equal(lc_hours_next_roll(&h, HOUR_MS), 100 * MIN_MS);
	lc_hours_roll(&h, 100 * MIN_MS, &r);
	assert_int_equal(r.operational_ms, HOUR_MS);
	assert_int_equal(r.crashfree_ms, HOUR_MS);
}

/* More crashes than the ledger places: the rest count in the interval in progress, never lost. */
static void test_crash_positions_overflow(void **state)
{
	struct lc_hours h;
	struct lc_hours_report r;

	lc_hours_init(&h, BOOT_A, 0);
	lc_hours_advance(&h, 10 * HOUR_MS);
	for (uint64_t i = 0; i < LC_HOURS_CRASHES_MAX + 50; i++)
		lc_hours_crash(&h, 9 * HOUR_MS + i); /* all in the last hour, as a late drain */
	assert_int_equal(h.n_marks, LC_HOURS_CRASHES_MAX);
	assert_int_equal(h.unplaced, 50);
	persist(&h);
	lc_hours_roll(&h, lc_hours_next_roll(&h, HOUR_MS), &r);
	/* The first nine hours are crash-free, in one report, and carry the 50 unplaced. */
	assert_int_equal(r.operational_ms, 9 * HOUR_MS);
	assert_int_equal(r.crashes, 50);
	lc_hours_roll(&h, lc_hours_next_roll(&h, HOUR_MS), &r);
	assert_int_equal(r.crashes, LC_HOURS_CRASHES_MAX);
	assert_int_equal(r.crashfree_ms, 0);
}

/* A ledger written with crash windows restores: its positions are crashes, its count beyond them
 * is unplaced, and nothing is lost. */
static void test_from_json_earlier_form(void **state)
{
	const char *text = "{\"boot_id\":\"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa\","
			   "\"window_ms\":3600000,\"monotonic_ms\":600000,\"odometer_ms\":"
			   "7200000,\"boot_odometer_ms\":0,\"start_ms\":3600000,\"crashes\":3,"
			   "\"marks\":[3000000,6000000],\"overflow\":false,\"reboot_marked\":true}";
	json_object *o = json_tokener_parse(text);
	const char *why = NULL;
	struct lc_hours h;

	assert_int_equal(lc_hours_from_json(o, &h, &why), 0);
	json_object_put(o);
	assert_int_equal(h.n_marks, 2);
	assert_int_equal(h.marks[0], 3600000); /* a window begun before the heartbeat */
	assert_int_equal(h.marks[1], 6000000);
	assert_int_equal(h.unplaced, 1);
	assert_true(h.reboot_marked);
	persist(&h);
}

static void test_from_json_rejects(void **state)
{
	static const char *const bad[] = {
		"[]",
		"{}",
		/* start after the odometer */
		"{\"boot_id\":\"x\",\"monotonic_ms\":0,\"odometer_ms\":5,"
		"\"boot_odometer_ms\":0,\"start_ms\":6,\"unplaced\":0,\"crash_positions\":[]}",
		/* positions out of order, beyond the odometer, before the start */
		"{\"boot_id\":\"x\",\"monotonic_ms\":0,\"odometer_ms\":5,"
		"\"boot_odometer_ms\":0,\"start_ms\":0,\"unplaced\":0,\"crash_positions\":[3,2]}",
		"{\"boot_id\":\"x\",\"monotonic_ms\":0,\"odometer_ms\":5,"
		"\"boot_odometer_ms\":0,\"start_ms\":0,\"unplaced\":0,\"crash_positions\":[9]}",
		"{\"boot_id\":\"x\",\"monotonic_ms\":0,\"odometer_ms\":5,"
		"\"boot_odometer_ms\":0,\"start_ms\":2,\"unplaced\":0,\"crash_positions\":[1]}",
		"{\"boot_id\":\"x\",\"monotonic_ms\":-1,\"odometer_ms\":5,"
		"\"boot_odometer_ms\":0,\"start_ms\":0,\"unplaced\":0,\"crash_positions\":[]}",
		"{\"boot_id\":\"x\",\"monotonic_ms\":0,\"odometer_ms\":\"5\","
		"\"boot_odometer_ms\":0,\"start_ms\":0,\"unplaced\":0,\"crash_positions\":[]}",
		"{\"boot_id\":\"x\",\"monotonic_ms\":0,\"odometer_ms\":5,"
		"\"boot_odometer_ms\":0,\"start_ms\":0,\"crash_positions\":[]}",
		"{\"boot_id\":\"x\",\"monotonic_ms\":0,\"odometer_ms\":5,"
		"\"boot_odometer_ms\":0,\"start_ms\":0,\"unplaced\":0,\"crash_positions\":{}}",
		"{\"boot_id\":\"x\",\"monotonic_ms\":0,\"odometer_ms\":5,\"boot_odometer_ms\":0,"
		"\"start_ms\":0,\"unplaced\":0,\"crash_positions\":[],\"reboot_marked\":1}",
		/* the earlier form without its count */
		"{\"boot_id\":\"x\",\"window_ms\":1,\"monotonic_ms\":0,\"odometer_ms\":5,"
		"\"boot_odometer_ms\":0,\"start_ms\":0,\"marks\":[],\"overflow\":false}",
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

/* The failures of kind in a report, 0 when it has none. */
static uint64_t failures_of(const struct lc_hours_report *r, const char *kind)
{
	for (unsigned i = 0; i < r->n_failures; i++)
		if (strcmp(r->failures[i].kind, kind) == 0)
			return r->failures[i].count;
	return 0;
}

static void failure_now(struct lc_hours *h, const char *kind)
{
	assert_true(lc_hours_failure(h, kind, h->odometer_ms, NULL) >= 0);
}

/* A failure kind is placed as a crash is: its whole interval is K-failure time, and only K's. */
static void test_failure_costs_its_interval(void **state)
{
	struct lc_hours h;
	struct lc_hours_report r[4];
	const char *as = NULL;

	lc_hours_init(&h, BOOT_A, 0);
	lc_hours_advance(&h, 30 * MIN_MS);
	assert_int_equal(lc_hours_failure(&h, "wifi_disconnect", h.odometer_ms, &as), 1);
	assert_string_equal(as, "wifi_disconnect");
	lc_hours_advance(&h, 31 * MIN_MS);
	/* A second of the same kind is not new: the ledger need not be saved at once for it. */
	assert_int_equal(lc_hours_failure(&h, "wifi_disconnect", h.odometer_ms, NULL), 0);
	lc_hours_peek(&h, &r[0]);
	assert_int_equal(failures_of(&r[0], "wifi_disconnect"), 2);
	assert_int_equal(run_until(&h, 31 * MIN_MS, 2 * HOUR_MS, MIN_MS, HOUR_MS, r, 4), 2);
	assert_int_equal(r[0].operational_ms, HOUR_MS);
	assert_int_equal(r[0].crashfree_ms, HOUR_MS); /* a failure is no crash */
	assert_int_equal(r[0].crashes, 0);
	assert_int_equal(r[0].n_failures, 1);
	assert_int_equal(failures_of(&r[0], "wifi_disconnect"), 2);
	/* The next interval says nothing of it, and the ledger forgot the kind. */
	assert_int_equal(r[1].n_failures, 0);
	assert_int_equal(h.n_kinds, 0);
	assert_int_equal(h.n_failures, 0);
}

/* Failures of several kinds, with a crash; one placed after the end of the interval that rolls
 * (the timer came late) counts in the next; overdue intervals split around each failure. */
static void test_failure_placement(void **state)
{
	struct lc_hours h;
	struct lc_hours_report r;

	lc_hours_init(&h, BOOT_A, 0);
	lc_hours_advance(&h, 10 * MIN_MS);
	failure_now(&h, "sensor_read");
	crash_now(&h);
	lc_hours_advance(&h, 61 * MIN_MS);
	failure_now(&h, "lock_open");
	lc_hours_roll(&h, HOUR_MS, &r);
	assert_int_equal(r.crashfree_ms, 0);
	assert_int_equal(r.n_failures, 1);
	assert_int_equal(failures_of(&r, "sensor_read"), 1);
	assert_int_equal(failures_of(&r, "lock_open"), 0);
	assert_int_equal(h.n_kinds, 1);
	/* faultd was down: the ledger holds a failure at 61 min and the odometer is at 5 h. */
	lc_hours_advance(&h, 5 * HOUR_MS);
	assert_int_equal(lc_hours_next_roll(&h, HOUR_MS), 2 * HOUR_MS);
	lc_hours_roll(&h, 2 * HOUR_MS, &r);
	assert_int_equal(failures_of(&r, "lock_open"), 1);
	assert_int_equal(r.crashes, 0);
	/* The three failure-free hours after it in one report. */
	assert_int_equal(lc_hours_next_roll(&h, HOUR_MS), 5 * HOUR_MS);
	lc_hours_roll(&h, 5 * HOUR_MS, &r);
	assert_int_equal(r.operational_ms, 3 * HOUR_MS);
	assert_int_equal(r.n_failures, 0);
}

/* Failures survive a restart of faultd (save and restore) and a reboot; consent forgets them. */
static void test_failure_persisted(void **state)
{
	struct lc_hours h;
	struct lc_hours_report r;

	lc_hours_init(&h, BOOT_A, 0);
	lc_hours_advance(&h, 20 * MIN_MS);
	failure_now(&h, "wifi_disconnect");
	failure_now(&h, "sensor_read");
	failure_now(&h, "wifi_disconnect");
	persist(&h);
	assert_int_equal(h.n_kinds, 2);
	assert_int_equal(h.n_failures, 3);
	lc_hours_resume(&h, BOOT_B, 1000);
	lc_hours_advance(&h, 1000 + 40 * MIN_MS);
	persist(&h);
	lc_hours_roll(&h, lc_hours_next_roll(&h, HOUR_MS), &r);
	assert_int_equal(r.operational_ms, HOUR_MS);
	assert_int_equal(failures_of(&r, "wifi_disconnect"), 2);
	assert_int_equal(failures_of(&r, "sensor_read"), 1);

	failure_now(&h, "sensor_read");
	lc_hours_restart(&h);
	lc_hours_peek(&h, &r);
	assert_int_equal(r.n_failures, 0);
	assert_int_equal(h.n_kinds, 0);
}

/* A ledger written before failure kinds existed has no "failures": it restores with none. */
static void test_failure_from_json_without_failures(void **state)
{
	const char *text = "{\"boot_id\":\"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa\","
			   "\"monotonic_ms\":600000,\"odometer_ms\":7200000,\"boot_odometer_ms\":0,"
			   "\"start_ms\":3600000,\"unplaced\":0,\"crash_positions\":[4000000],"
			   "\"reboot_marked\":false}";
	json_object *o = json_tokener_parse(text);
	const char *why = NULL;
	struct lc_hours h;
	struct lc_hours_report r;

	assert_int_equal(lc_hours_from_json(o, &h, &why), 0);
	json_object_put(o);
	assert_int_equal(h.n_kinds, 0);
	assert_int_equal(h.n_failures, 0);
	assert_int_equal(h.n_marks, 1);
	assert_int_equal(lc_hours_failure(&h, "wifi_disconnect", 5000000, NULL), 1);
	persist(&h);
	lc_hours_roll(&h, 2 * HOUR_MS, &r);
	assert_int_equal(r.crashes, 1);
	assert_int_equal(failures_of(&r, "wifi_disconnect"), 1);
}

/* Bad kinds are refused; beyond 16 kinds failures count under _other; beyond 256 positions
 * they count in the interval in progress: none is lost. */
static void test_failure_caps(void **state)
{
	static const char *const bad[] = {
		"",	     "Wifi",	  "_other", "_x",
		"wifi-down", "wifi down", "a/b",    "abcdefghijklmnopqrstuvwxyz0123456", /* 33 */
	};
	struct lc_hours h;
	struct lc_hours_report r;
	const char *as = NULL;
	char kind[16];

	lc_hours_init(&h, BOOT_A, 0);
	lc_hours_advance(&h, HOUR_MS / 2);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(lc_hours_failure(&h, bad[i], 0, NULL), -EINVAL);
	assert_int_equal(h.n_kinds, 0);
	assert_int_equal(lc_hours_failure(&h, "abcdefghijklmnopqrstuvwxyz012345", 0, NULL), 1);
	for (int i = 1; i < LC_HOURS_FAILURE_KINDS_MAX; i++) {
		snprintf(kind, sizeof(kind), "kind%d", i);
		assert_int_equal(lc_hours_failure(&h, kind, h.odometer_ms, &as), 1);
		assert_string_equal(as, kind);
	}
	assert_int_equal(lc_hours_failure(&h, "one_more", h.odometer_ms, &as), 1);
	assert_string_equal(as, LC_FAILURE_KIND_OTHER);
	assert_int_equal(lc_hours_failure(&h, "and_another", h.odometer_ms, &as), 0);
	assert_string_equal(as, LC_FAILURE_KIND_OTHER);
	assert_int_equal(lc_hours_failure(&h, "kind3", h.odometer_ms, &as), 0);
	assert_string_equal(as, "kind3");
	for (int i = 0; i < LC_HOURS_FAILURES_MAX; i++)
		failure_now(&h, "kind5");
	assert_int_equal(h.n_failures, LC_HOURS_FAILURES_MAX);
	persist(&h);
	lc_hours_advance(&h, HOUR_MS);
	lc_hours_roll(&h, HOUR_MS, &r);
	assert_int_equal(r.n_failures, LC_HOURS_FAILURE_KINDS_MAX + 1);
	assert_int_equal(failures_of(&r, LC_FAILURE_KIND_OTHER), 2);
	assert_int_equal(failures_of(&r, "kind3"), 2);
	assert_int_equal(failures_of(&r, "kind5"), LC_HOURS_FAILURES_MAX + 1);
	assert_int_equal(h.n_failures, 0);
	assert_int_equal(h.n_kinds, 0);
}

/* A failures section this version cannot read drops the failures alone, not the ledger. */
static void test_failure_from_json_rejects(void **state)
{
#define LEDGER                                                                             \
	"{\"boot_id\":\"x\",\"monotonic_ms\":0,\"odometer_ms\":50,\"boot_odometer_ms\":0," \
	"\"start_ms\":10,\"unplaced\":0,\"crash_positions\":[],"
	static const char *const bad[] = {
		LEDGER "\"failures\":[]}",
		LEDGER "\"failures\":{\"Wifi\":{\"positions\":[],\"unplaced\":1}}}",
		LEDGER "\"failures\":{\"wifi\":{\"positions\":[],\"unplaced\":-1}}}",
		LEDGER "\"failures\":{\"wifi\":{\"positions\":[]}}}",
		LEDGER "\"failures\":{\"wifi\":{\"positions\":[5],\"unplaced\":0}}}",
		LEDGER "\"failures\":{\"wifi\":{\"positions\":[51],\"unplaced\":0}}}",
		LEDGER "\"failures\":{\"wifi\":{\"positions\":[\"20\"],\"unplaced\":0}}}",
		LEDGER "\"failures\":{\"a\":1}}",
	};
	struct lc_hours h;
	char many[4096];
	size_t o;

	memset(&h, 0x5a, sizeof(h));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]) + 1; i++) {
		json_object *j;
		const char *why = NULL;

		if (i < sizeof(bad) / sizeof(bad[0])) {
			j = json_tokener_parse(bad[i]);
		} else {
			/* 17 named kinds */
			o = (size_t)snprintf(many, sizeof(many), "%s\"failures\":{", LEDGER);
			for (int k = 0; k < 17; k++)
				o += (size_t)snprintf(
					many + o, sizeof(many) - o,
					"%s\"k%d\":{\"positions\":[20],\"unplaced\":0}",
					k ? "," : "", k);
			snprintf(many + o, sizeof(many) - o, "}}");
			j = json_tokener_parse(many);
		}
		assert_non_null(j);
		/* The hours and crashes are kept; only the failures go. */
		assert_int_equal(lc_hours_from_json(j, &h, &why), 0);
		assert_int_equal(h.odometer_ms, 50);
		assert_int_equal(h.start_ms, 10);
		assert_int_equal(h.n_kinds, 0);
		assert_int_equal(h.n_failures, 0);
		json_object_put(j);
	}
#undef LEDGER
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash_at_minute_30),
		cmocka_unit_test(test_one_crash_costs_one_interval),
		cmocka_unit_test(test_unexpected_reboot_every_40_minutes),
		cmocka_unit_test(test_reboot_loop_keeps_its_time),
		cmocka_unit_test(test_daemon_restart_mid_hour),
		cmocka_unit_test(test_clean_reboot),
		cmocka_unit_test(test_new_ledger_counts_from_now),
		cmocka_unit_test(test_new_boot_counts_from_boot_start),
		cmocka_unit_test(test_position_of_a_moment),
		cmocka_unit_test(test_crashes_while_faultd_was_down),
		cmocka_unit_test(test_update_ends_the_interval),
		cmocka_unit_test(test_crashes_in_one_interval),
		cmocka_unit_test(test_unexpected_reboot_after_roll),
		cmocka_unit_test(test_restart_forgets_the_interval),
		cmocka_unit_test(test_crash_positions_overflow),
		cmocka_unit_test(test_from_json_earlier_form),
		cmocka_unit_test(test_from_json_rejects),
		cmocka_unit_test(test_failure_costs_its_interval),
		cmocka_unit_test(test_failure_placement),
		cmocka_unit_test(test_failure_persisted),
		cmocka_unit_test(test_failure_from_json_without_failures),
		cmocka_unit_test(test_failure_caps),
		cmocka_unit_test(test_failure_from_json_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
