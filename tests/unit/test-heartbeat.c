/* SPDX-License-Identifier: MIT */
/* Heartbeats driven through their API with a fake monotonic clock: what is committed, as which
 * version, what survives a restart, and what a damaged ledger file does. */
#include <errno.h>
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
static char last_version[32];
static double last_op_hours, last_crashfree_hours;
static int64_t last_crashes, last_duration;

static uint64_t now_ms(void)
{
	return fake_now;
}

static int commit(json_object *md, const char *version, void *userdata)
{
	json_object *metrics, *v;

	n_commits++;
	snprintf(last_version, sizeof(last_version), "%s", version);
	assert_true(json_object_object_get_ex(md, "metrics", &metrics));
	assert_true(json_object_object_get_ex(metrics, "operational_hours", &v));
	last_op_hours = json_object_get_double(v);
	assert_true(json_object_object_get_ex(metrics, "operational_crashfree_hours", &v));
	last_crashfree_hours = json_object_get_double(v);
	assert_true(json_object_object_get_ex(metrics, "operational_crashes", &v));
	last_crashes = json_object_get_int64(v);
	assert_true(json_object_object_get_ex(md, "duration_ms", &v));
	last_duration = json_object_get_int64(v);
	assert_true(json_object_object_get_ex(md, "report_type", &v));
	assert_string_equal(json_object_get_string(v), "heartbeat");
	json_object_put(md);
	return 0;
}

struct run {
	uv_loop_t loop;
	struct lc_heartbeat *hb;
};

static void run_start(struct run *r, const char *dir, const char *boot, const char *version)
{
	struct lc_heartbeat_options o = {
		.loop = &r->loop,
		.state_dir = dir,
		.boot_id = boot,
		.boot_start_ms = 0,
		.software_version = version,
		.timing = { .interval_ms = 3600000, .checkpoint_ms = 300000, .window_ms = 3600000 },
		.commit = commit,
		.now_ms = now_ms,
	};

	assert_int_equal(uv_loop_init(&r->loop), 0);
	assert_int_equal(lc_heartbeat_new(&o, &r->hb), 0);
	assert_int_equal(lc_heartbeat_start(r->hb), 0);
}

/* Stops as faultd does: a last checkpoint, then the loop must close with nothing left open. */
static void run_stop(struct run *r)
{
	lc_heartbeat_close(r->hb);
	assert_int_equal(uv_run(&r->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&r->loop), 0);
}

static void test_close_now_reports_the_fake_time(void **state)
{
	char *dir = test_tmpdir_new("hb");
	struct run r;

	n_commits = 0;
	fake_now = 1000000;
	run_start(&r, dir, BOOT_A, "1.0");
	assert_int_equal(n_commits, 0);
	fake_now += 1800000; /* half an hour */
	assert_int_equal(lc_heartbeat_crash(r.hb), 0);
	fake_now += 900000;
	assert_int_equal(lc_heartbeat_close_now(r.hb), 0);
	assert_int_equal(n_commits, 1);
	assert_string_equal(last_version, "1.0");
	assert_int_equal(last_duration, 2700000);
	assert_true(last_op_hours == 0.75);
	assert_true(last_crashfree_hours == 0.0);
	assert_int_equal(last_crashes, 1);
	/* An empty heartbeat is not committed. */
	assert_int_equal(lc_heartbeat_close_now(r.hb), 0);
	assert_int_equal(n_commits, 1);
	run_stop(&r);
	test_tmpdir_free(dir);
}

static void test_restart_and_update(void **state)
{
	char *dir = test_tmpdir_new("hb");
	struct run r;

	n_commits = 0;
	fake_now = 5000;
	run_start(&r, dir, BOOT_A, "1.0");
	fake_now += 600000;
	run_stop(&r);

	/* faultd back 60 s later in the same boot: those 60 s count. */
	fake_now += 60000;
	run_start(&r, dir, BOOT_A, "1.0");
	fake_now += 60000;
	assert_int_equal(lc_heartbeat_close_now(r.hb), 0);
	assert_int_equal(last_duration, 720000);
	fake_now += 1000;
	run_stop(&r);

	/* An update and a reboot: the 1 s in progress closes as 1.0, nothing of the new boot. */
	fake_now = 30000;
	run_start(&r, dir, BOOT_B, "2.0");
	assert_int_equal(n_commits, 2);
	assert_string_equal(last_version, "1.0");
	assert_int_equal(last_duration, 1000);
	fake_now += 5000;
	assert_int_equal(lc_heartbeat_close_now(r.hb), 0);
	assert_string_equal(last_version, "2.0");
	assert_int_equal(last_duration, 5000);
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
		cmocka_unit_test(test_close_now_reports_the_fake_time),
		cmocka_unit_test(test_restart_and_update),
		cmocka_unit_test(test_damaged_ledger_is_set_aside),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
