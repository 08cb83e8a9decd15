/* SPDX-License-Identifier: MIT */
/* Heartbeats driven through their API with a fake monotonic clock: what is committed, as which
 * version, what survives a restart, and what a damaged ledger file does. */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"
#include "heartbeat.h"
#include "tmpdir.h"

static const char *const BOOT_A = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
static const char *const BOOT_B = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";

static uint64_t fake_now;
static unsigned n_commits;

/* What was committed, in order. */
static struct commit {
	char version[32];
	bool hours;
	double op_hours, crashfree_hours;
	int64_t crashes, duration;
	bool has_reading;
	int64_t wifi_failures; /* operational_failures/wifi_disconnect, -1 when absent */
	double wifi_failurefree_hours;
	unsigned failure_keys; /* keys of failure kinds, all kinds */
} commits[16];

static uint64_t now_ms(void)
{
	return fake_now;
}

static int commit(json_object *md, const char *version, void *userdata)
{
	struct commit *c = &commits[n_commits];
	json_object *metrics, *v;

	assert_true(n_commits < 16);
	n_commits++;
	*c = (struct commit){};
	snprintf(c->version, sizeof(c->version), "%s", version);
	assert_true(json_object_object_get_ex(md, "metrics", &metrics));
	c->hours = json_object_object_get_ex(metrics, "operational_hours", &v);
	if (c->hours) {
		c->op_hours = json_object_get_double(v);
		assert_true(json_object_object_get_ex(metrics, "operational_crashfree_hours", &v));
		c->crashfree_hours = json_object_get_double(v);
		assert_true(json_object_object_get_ex(metrics, "operational_crashes", &v));
		c->crashes = json_object_get_int64(v);
	}
	c->has_reading = json_object_object_get_ex(metrics, "reading", &v);
	c->wifi_failures = -1;
	if (json_object_object_get_ex(metrics, "operational_failures/wifi_disconnect", &v)) {
		c->wifi_failures = json_object_get_int64(v);
		assert_true(json_object_object_get_ex(
			metrics, "operational_failurefree_hours/wifi_disconnect", &v));
		c->wifi_failurefree_hours = json_object_get_double(v);
	}
	json_object_object_foreach(metrics, key, value)
	{
		(void)value;
		c->failure_keys += strncmp(key, "operational_failures/", 21) == 0 ||
				   strncmp(key, "operational_failurefree_hours/", 30) == 0;
	}
	assert_true(json_object_object_get_ex(md, "duration_ms", &v));
	c->duration = json_object_get_int64(v);
	assert_true(json_object_object_get_ex(md, "report_type", &v));
	assert_string_equal(json_object_get_string(v), "heartbeat");
	json_object_put(md);
	return 0;
}

/* The crash log of the test: crashes handed over when the heartbeat asks, before a roll-over. */
static struct waiting {
	const char *boot;
	uint64_t mono_ms;
} waiting[8];
static unsigned n_waiting;

struct run {
	uv_loop_t loop;
	struct lc_heartbeat *hb;
	struct lc_metrics *metrics;
};

static void before_roll(void *userdata)
{
	struct run *r = userdata;

	for (unsigned i = 0; i < n_waiting; i++)
		assert_int_equal(lc_heartbeat_crash(r->hb, waiting[i].boot, waiting[i].mono_ms), 0);
	n_waiting = 0;
}

#define MIN_MS	60000ULL
#define HOUR_MS (60 * MIN_MS)

static void run_start_full(struct run *r, const char *dir, const char *boot, const char *version,
			   bool collecting)
{
	struct lc_metrics_limits limits = { .max_keys = 10, .max_set_members = 10 };
	struct lc_heartbeat_options o = {
		.loop = &r->loop,
		.state_dir = dir,
		.boot_id = boot,
		.boot_start_ms = 0,
		.software_version = version,
		.collecting = collecting,
		.timing = { .interval_ms = HOUR_MS, .checkpoint_ms = 300000 },
		.before_roll = before_roll,
		.commit = commit,
		.userdata = r,
		.now_ms = now_ms,
	};

	assert_int_equal(lc_metrics_new(&limits, &r->metrics), 0);
	o.metrics = r->metrics;
	assert_int_equal(uv_loop_init(&r->loop), 0);
	assert_int_equal(lc_heartbeat_new(&o, &r->hb), 0);
	assert_int_equal(lc_heartbeat_start(r->hb), 0);
}

static void run_start(struct run *r, const char *dir, const char *boot, const char *version)
{
	run_start_full(r, dir, boot, version, true);
}

/* Stops as faultd does: a last checkpoint, then the loop must close with nothing left open. */
static void run_stop(struct run *r)
{
	lc_heartbeat_close(r->hb);
	assert_int_equal(uv_run(&r->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&r->loop), 0);
	r->metrics = lc_metrics_free(r->metrics);
}

static void reading(struct run *r)
{
	assert_int_equal(lc_metrics_add(r->metrics, "reading", 7, LC_METRIC_GAUGE, 1.0), 0);
}

/* request-metrics reports the readings, not the hours: a crash after it still costs the whole
 * interval, which the heartbeat at its end reports whole. */
static void test_request_metrics_leaves_the_interval_whole(void **state)
{
	char *dir = test_tmpdir_new("hb");
	struct run r;

	n_commits = 0;
	fake_now = 1000;
	run_start(&r, dir, BOOT_A, "1.0");
	assert_int_equal(n_commits, 0);
	/* No time, nothing read: nothing to report. */
	assert_int_equal(lc_heartbeat_report_now(r.hb), 0);
	assert_int_equal(n_commits, 0);
	fake_now += 20 * MIN_MS;
	reading(&r);
	assert_int_equal(lc_heartbeat_report_now(r.hb), 1);
	assert_int_equal(lc_heartbeat_report_now(r.hb), 0);
	assert_int_equal(n_commits, 1);
	assert_true(commits[0].hours); /* present, as the device API wants, and zero */
	assert_true(commits[0].op_hours == 0.0);
	assert_true(commits[0].crashfree_hours == 0.0);
	assert_int_equal(commits[0].crashes, 0);
	assert_true(commits[0].has_reading);
	assert_int_equal(commits[0].duration, 20 * MIN_MS);
	fake_now += 20 * MIN_MS;
	assert_int_equal(lc_heartbeat_crash(r.hb, NULL, 0), 0);
	run_stop(&r);
	/* faultd back after the hour: the whole hour is crash time, its metrics since minute 20. */
	fake_now += 30 * MIN_MS;
	run_start(&r, dir, BOOT_A, "1.0");
	assert_int_equal(n_commits, 2);
	assert_true(commits[1].hours);
	assert_true(commits[1].op_hours == 1.0);
	assert_true(commits[1].crashfree_hours == 0.0);
	assert_int_equal(commits[1].crashes, 1);
	assert_int_equal(commits[1].duration, 40 * MIN_MS);
	run_stop(&r);
	test_tmpdir_free(dir);
}

/* Case 1 of the audit, end to end at this level: 1.0 crashes at minute 50, is updated and
 * rebooted; 1.0 is charged its 55 minutes with the crash, 2.0's first hour is clean, and the
 * reboot entry learns that 1.0 was running when the boot ended. */
static void test_update_keeps_the_crash_with_the_old_version(void **state)
{
	char *dir = test_tmpdir_new("hb");
	struct run r;

	n_commits = 0;
	fake_now = 0;
	run_start(&r, dir, BOOT_A, "1.0");
	assert_null(lc_heartbeat_ended_boot_version(r.hb));
	fake_now = 50 * MIN_MS;
	assert_int_equal(lc_heartbeat_crash(r.hb, NULL, 0), 0);
	fake_now = 55 * MIN_MS;
	run_stop(&r);

	/* The new boot: faultd starts 30 s in. The 30 s belong to 2.0. */
	fake_now = 30000;
	run_start(&r, dir, BOOT_B, "2.0");
	assert_string_equal(lc_heartbeat_ended_boot_version(r.hb), "1.0");
	assert_int_equal(n_commits, 1);
	assert_string_equal(commits[0].version, "1.0");
	assert_true(commits[0].op_hours * 60 == 55.0);
	assert_true(commits[0].crashfree_hours == 0.0);
	assert_int_equal(commits[0].crashes, 1);
	fake_now = 10 * MIN_MS;
	run_stop(&r);
	fake_now = HOUR_MS + MIN_MS;
	run_start(&r, dir, BOOT_B, "2.0");
	/* A restart in the same boot: no boot ended. */
	assert_null(lc_heartbeat_ended_boot_version(r.hb));
	assert_int_equal(n_commits, 2);
	assert_string_equal(commits[1].version, "2.0");
	assert_true(commits[1].op_hours == 1.0);
	assert_true(commits[1].crashfree_hours == 1.0);
	assert_int_equal(commits[1].crashes, 0);
	run_stop(&r);
	test_tmpdir_free(dir);
}

/* A failure kind goes where a crash goes: a failure of 1.0 before an update, saved across the
 * restart, is reported with 1.0's last interval, in its own keys, and not as a crash. */
static void test_failure_is_reported_with_its_interval_and_version(void **state)
{
	char *dir = test_tmpdir_new("hb");
	const char *as = NULL;
	struct run r;

	n_commits = 0;
	fake_now = 0;
	run_start(&r, dir, BOOT_A, "1.0");
	fake_now = 20 * MIN_MS;
	assert_int_equal(lc_heartbeat_failure(r.hb, "wifi_disconnect", &as), 0);
	assert_string_equal(as, "wifi_disconnect");
	assert_int_equal(lc_heartbeat_failure(r.hb, "wifi_disconnect", NULL), 0);
	assert_int_equal(lc_heartbeat_failure(r.hb, "Wifi", NULL), -EINVAL);
	/* A request-metrics heartbeat says nothing of failures: they come with the interval. */
	reading(&r);
	assert_int_equal(lc_heartbeat_report_now(r.hb), 1);
	assert_int_equal(commits[0].failure_keys, 0);
	fake_now = 55 * MIN_MS;
	run_stop(&r);

	fake_now = 30000;
	run_start(&r, dir, BOOT_B, "2.0");
	assert_int_equal(n_commits, 2);
	assert_string_equal(commits[1].version, "1.0");
	assert_true(commits[1].op_hours * 60 == 55.0);
	assert_true(commits[1].crashfree_hours == commits[1].op_hours);
	assert_int_equal(commits[1].crashes, 0);
	assert_int_equal(commits[1].wifi_failures, 2);
	assert_true(commits[1].wifi_failurefree_hours == 0.0);
	assert_int_equal(commits[1].failure_keys, 2);
	run_stop(&r);
	fake_now = HOUR_MS + MIN_MS;
	run_start(&r, dir, BOOT_B, "2.0");
	assert_int_equal(n_commits, 3);
	assert_string_equal(commits[2].version, "2.0");
	assert_int_equal(commits[2].wifi_failures, -1);
	assert_int_equal(commits[2].failure_keys, 0);
	run_stop(&r);
	test_tmpdir_free(dir);
}

/* Case 2: a crash of 1.0 that waited in the crash log while the device rebooted into 2.0 is
 * charged to 1.0's last interval; crashes of this boot before faultd started, to 2.0. */
static void test_waiting_crashes_land_where_they_happened(void **state)
{
	char *dir = test_tmpdir_new("hb");
	struct run r;

	n_commits = 0;
	fake_now = 0;
	run_start(&r, dir, BOOT_A, "1.0");
	fake_now = 20 * MIN_MS;
	run_stop(&r);
	/* 1.0 crashed at minute 25 (after faultd stopped), and 2.0 at 10 s into its boot. */
	waiting[0] = (struct waiting){ BOOT_A, 25 * MIN_MS };
	waiting[1] = (struct waiting){ BOOT_B, 10000 };
	n_waiting = 2;
	fake_now = 40000;
	run_start(&r, dir, BOOT_B, "2.0");
	assert_int_equal(n_waiting, 0);
	assert_int_equal(n_commits, 1);
	assert_string_equal(commits[0].version, "1.0");
	assert_int_equal(commits[0].crashes, 1);
	assert_true(commits[0].crashfree_hours == 0.0);
	fake_now = HOUR_MS;
	run_stop(&r);
	fake_now = HOUR_MS + 1000;
	run_start(&r, dir, BOOT_B, "2.0");
	assert_int_equal(n_commits, 2);
	assert_string_equal(commits[1].version, "2.0");
	assert_int_equal(commits[1].crashes, 1);
	assert_true(commits[1].op_hours == 1.0);
	run_stop(&r);

	/* Three crashes in three hours while faultd was down within a boot: three reports. */
	waiting[0] = (struct waiting){ BOOT_B, 2 * HOUR_MS + 30 * MIN_MS };
	waiting[1] = (struct waiting){ BOOT_B, 3 * HOUR_MS + 30 * MIN_MS };
	waiting[2] = (struct waiting){ BOOT_B, 4 * HOUR_MS + 30 * MIN_MS };
	n_waiting = 3;
	fake_now = 5 * HOUR_MS + 10 * MIN_MS;
	run_start(&r, dir, BOOT_B, "2.0");
	assert_int_equal(n_commits, 6);
	for (unsigned i = 3; i < 6; i++) {
		assert_int_equal(commits[i].crashes, 1);
		assert_true(commits[i].op_hours == 1.0);
		assert_true(commits[i].crashfree_hours == 0.0);
	}
	/* [1, 2) of 2.0 had none. */
	assert_int_equal(commits[2].crashes, 0);
	assert_true(commits[2].crashfree_hours == 1.0);
	run_stop(&r);
	test_tmpdir_free(dir);
}

/* A reload with a new version ends the interval now; a crash after it is the new version's. */
static void test_reload_with_a_new_version(void **state)
{
	char *dir = test_tmpdir_new("hb");
	struct run r;

	n_commits = 0;
	fake_now = 0;
	run_start(&r, dir, BOOT_A, "1.0");
	fake_now = 10 * MIN_MS;
	assert_int_equal(lc_heartbeat_crash(r.hb, NULL, 0), 0);
	fake_now = 40 * MIN_MS;
	waiting[0] = (struct waiting){ BOOT_A, 39 * MIN_MS };
	n_waiting = 1;
	lc_heartbeat_set_software_version(r.hb, "2.0");
	assert_int_equal(n_commits, 1);
	assert_string_equal(commits[0].version, "1.0");
	assert_int_equal(commits[0].crashes, 2);
	assert_true(commits[0].op_hours * 60 == 40.0);
	fake_now = 100 * MIN_MS;
	run_stop(&r);
	fake_now = 101 * MIN_MS;
	run_start(&r, dir, BOOT_A, "2.0");
	assert_int_equal(n_commits, 2);
	assert_string_equal(commits[1].version, "2.0");
	assert_int_equal(commits[1].crashes, 0);
	assert_true(commits[1].op_hours == 1.0);
	assert_true(commits[1].crashfree_hours == 1.0);
	run_stop(&r);
	test_tmpdir_free(dir);
}

/* Consent: given at minute 40, the interval starts there; given while faultd was down, at the
 * start. */
static void test_consent_starts_the_ledger(void **state)
{
	char *dir = test_tmpdir_new("hb");
	struct run r;

	n_commits = 0;
	fake_now = 0;
	run_start_full(&r, dir, BOOT_A, "1.0", false);
	fake_now = 40 * MIN_MS;
	lc_heartbeat_set_collecting(r.hb, true);
	fake_now = 90 * MIN_MS;
	run_stop(&r);
	fake_now = 101 * MIN_MS;
	run_start(&r, dir, BOOT_A, "1.0");
	assert_int_equal(n_commits, 1);
	assert_true(commits[0].op_hours == 1.0);
	lc_heartbeat_set_collecting(r.hb, false);
	fake_now = 130 * MIN_MS;
	run_stop(&r);
	/* On again while faultd was down: counting starts at this start. */
	fake_now = 200 * MIN_MS;
	run_start(&r, dir, BOOT_A, "1.0");
	assert_int_equal(n_commits, 1);
	fake_now = 259 * MIN_MS;
	run_stop(&r);
	fake_now = 261 * MIN_MS;
	run_start(&r, dir, BOOT_A, "1.0");
	assert_int_equal(n_commits, 2);
	assert_true(commits[1].op_hours == 1.0);
	run_stop(&r);
	test_tmpdir_free(dir);
}

static void test_damaged_ledger_is_set_aside(void **state)
{
	char *dir = test_tmpdir_new("hb");
	char path[128], bad[160];
	struct stat st;
	struct run r;

	snprintf(path, sizeof(path), "%s/hours.json", dir);
	snprintf(bad, sizeof(bad), "%s.bad", path);
	assert_int_equal(lc_write_file_atomic(path, "{\"boot_id\": 1}", 14, 0600), 0);
	fake_now = 1000;
	run_start(&r, dir, BOOT_A, "1.0");
	assert_int_equal(stat(bad, &st), 0);
	run_stop(&r);

	/* A FIFO where the ledger should be: set aside too, never waited on. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	run_start(&r, dir, BOOT_A, "1.0");
	assert_int_equal(lstat(bad, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	run_stop(&r);
	test_tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_metrics_leaves_the_interval_whole),
		cmocka_unit_test(test_update_keeps_the_crash_with_the_old_version),
		cmocka_unit_test(test_failure_is_reported_with_its_interval_and_version),
		cmocka_unit_test(test_waiting_crashes_land_where_they_happened),
		cmocka_unit_test(test_reload_with_a_new_version),
		cmocka_unit_test(test_consent_starts_the_ledger),
		cmocka_unit_test(test_damaged_ledger_is_set_aside),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
