/* SPDX-License-Identifier: MIT */
/* The crash log (libcollector/store/crashlog.c): what faultd-core-handler appends, faultd drains
 * oldest first, exactly once; whatever else lies in the directory is handled without harm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crashlog.h"
#include "fileio.h"
#include "harness-fs.h"
#include "log.h"
#include "macro.h"
#include "tmpdir.h"

#define MAX_SEEN (LC_CRASH_LOG_MAX + 8)

struct seen {
	struct lc_crash_report r[MAX_SEEN];
	size_t n;
};

static void collect(const struct lc_crash_report *r, void *userdata)
{
	struct seen *s = userdata;

	assert_true(s->n < MAX_SEEN);
	s->r[s->n++] = *r;
}

static int setup(void **state)
{
	char *dir = test_tmpdir_new("crashlog");

	if (!dir)
		return -1;
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	return test_tmpdir_free(*state);
}

static struct lc_crash_report report(const char *process, uint32_t pid, int signo, uint64_t t,
				     const char *core, const char *entry)
{
	struct lc_crash_report r = { .pid = pid, .signal = signo, .time_ms = t };

	snprintf(r.process, sizeof(r.process), "%s", process);
	snprintf(r.core, sizeof(r.core), "%s", core);
	snprintf(r.entry, sizeof(r.entry), "%s", entry);
	return r;
}

/* Files in <state>/crashes, or -1 when it does not exist. */
static int count_files(const char *state_dir)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int n = 0;

	assert_true(asprintf(&dir, "%s/crashes", state_dir) > 0);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	return n;
}

static void test_append_then_drain_oldest_first(void **state)
{
	const char *dir = *state;
	struct lc_crash_report a = report("gatewayd", 4242, 11, 1700000002000, "stored",
					  "0b8e2d36-5c7e-4a51-9d3f-6f1d2c3b4a59"),
			       b = report("modemd", 17, 6, 1700000001000, "rate-limited", ""),
			       c = report("gatewayd", 99, 7, 1700000003000, "failed", "");
	struct seen *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	assert_int_equal(lc_crash_log_append(dir, &a), 0);
	assert_int_equal(lc_crash_log_append(dir, &b), 0);
	assert_int_equal(lc_crash_log_append(dir, &c), 0);
	assert_int_equal(count_files(dir), 3);

	assert_int_equal(lc_crash_log_drain(dir, collect, s), 3);
	assert_int_equal(s->n, 3);
	/* By time of the crash, not of the append. */
	assert_string_equal(s->r[0].process, "modemd");
	assert_int_equal(s->r[0].pid, 17);
	assert_int_equal(s->r[0].signal, 6);
	assert_int_equal(s->r[0].time_ms, 1700000001000);
	assert_string_equal(s->r[0].core, "rate-limited");
	assert_string_equal(s->r[0].entry, "");
	assert_string_equal(s->r[1].process, "gatewayd");
	assert_int_equal(s->r[1].pid, 4242);
	assert_string_equal(s->r[1].core, "stored");
	assert_string_equal(s->r[1].entry, "0b8e2d36-5c7e-4a51-9d3f-6f1d2c3b4a59");
	assert_int_equal(s->r[2].pid, 99);
	assert_int_equal(s->r[2].signal, 7);

	/* Each report is given once: the files are gone. */
	assert_int_equal(count_files(dir), 0);
	s->n = 0;
	assert_int_equal(lc_crash_log_drain(dir, collect, s), 0);
	assert_int_equal(s->n, 0);
	free(s);
}

/* Drops the handler could not write to drops.json travel with its report, by file or inline. */
static void test_unsaved_drops_travel_with_the_report(void **state)
{
	const char *dir = *state;
	struct lc_crash_report a = report("gatewayd", 7, 11, 1700000000000, "no-space", ""), back;
	struct seen *s = calloc(1, sizeof(*s));
	json_object *o;

	assert_non_null(s);
	a.drops[LC_CLASS_COREDUMP][LC_DROP_FREE_SPACE] = 1;
	a.drops[LC_CLASS_METRICS][LC_DROP_FREE_SPACE] = 2;
	a.drops[LC_CLASS_ATTRIBUTES][LC_DROP_WRITE_ERROR] = UINT32_MAX;
	assert_int_equal(lc_crash_log_append(dir, &a), 0);
	assert_int_equal(lc_crash_log_drain(dir, collect, s), 1);
	assert_memory_equal(s->r[0].drops, a.drops, sizeof(a.drops));

	o = lc_crash_report_to_json(&a);
	assert_non_null(o);
	assert_string_equal(json_object_get_string(json_object_object_get(o, "unsaved_drops")),
			    "{ \"metrics\": { \"free_space\": 2 }, \"attributes\": { "
			    "\"write_error\": 4294967295 }, \"coredump\": { \"free_space\": 1 } }");
	assert_int_equal(lc_crash_report_from_json(o, &back), 0);
	assert_memory_equal(back.drops, a.drops, sizeof(a.drops));
	assert_string_equal(back.core, "no-space");
	assert_int_equal(back.pid, 7);
	json_object_put(o);

	/* Without drops the member is left out. */
	memset(s->r[0].drops, 0, sizeof(s->r[0].drops));
	o = lc_crash_report_to_json(&s->r[0]);
	assert_false(json_object_object_get_ex(o, "unsaved_drops", NULL));
	json_object_put(o);

	/* Unknown names are skipped (a newer handler); wrong shapes are refused. */
	static const struct {
		const char *drops;
		int expect;
	} cases[] = {
		{ "{\"coredump\": {\"free_space\": 3, \"cosmic_rays\": 1}, \"tapes\": {}}", 0 },
		{ "[]", -EBADMSG },
		{ "{\"coredump\": 3}", -EBADMSG },
		{ "{\"coredump\": {\"free_space\": -1}}", -EBADMSG },
		{ "{\"coredump\": {\"free_space\": 4294967296}}", -EBADMSG },
		{ "{\"coredump\": {\"free_space\": \"1\"}}", -EBADMSG },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		o = lc_crash_report_to_json(&a);
		json_object_object_add(o, "unsaved_drops", json_tokener_parse(cases[i].drops));
		memset(&back, 0, sizeof(back));
		assert_int_equal(lc_crash_report_from_json(o, &back), cases[i].expect);
		if (cases[i].expect == 0) {
			assert_int_equal(back.drops[LC_CLASS_COREDUMP][LC_DROP_FREE_SPACE], 3);
			assert_int_equal(back.drops[LC_CLASS_METRICS][LC_DROP_FREE_SPACE], 0);
		}
		json_object_put(o);
	}
	free(s);
}

static void test_process_names_come_back_printable(void **state)
{
	const char *dir = *state;
	struct lc_crash_report a = report("bad\001name\x7f", 1, 11, 5, "stored", "");
	struct seen *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	assert_int_equal(lc_crash_log_append(dir, &a), 0);
	assert_int_equal(lc_crash_log_drain(dir, collect, s), 1);
	assert_string_equal(s->r[0].process, "bad?name?");
	free(s);
}

static void test_log_is_bounded(void **state)
{
	const char *dir = *state;
	struct seen *s = calloc(1, sizeof(*s));
	struct lc_crash_report r;

	assert_non_null(s);
	for (unsigned i = 0; i < LC_CRASH_LOG_MAX; i++) {
		r = report("flappy", 1000 + i, 11, 1000 + i, "rate-limited", "");
		assert_int_equal(lc_crash_log_append(dir, &r), 0);
	}
	r = report("flappy", 1, 11, 99999, "rate-limited", "");
	assert_int_equal(lc_crash_log_append(dir, &r), -ENOSPC);
	assert_int_equal(count_files(dir), LC_CRASH_LOG_MAX);

	assert_int_equal(lc_crash_log_drain(dir, collect, s), LC_CRASH_LOG_MAX);
	for (unsigned i = 0; i < LC_CRASH_LOG_MAX; i++)
		assert_int_equal(s->r[i].pid, 1000 + i);
	/* Room again once drained. */
	assert_int_equal(lc_crash_log_append(dir, &r), 0);
	free(s);
}

static void test_malformed_reports_are_removed(void **state)
{
	static const char *const bad[] = {
		"not json at all",
		"[1, 2, 3]",
		"{\"process\": \"x\", \"pid\": 1, \"signal\": 11, \"time_ms\": 1, \"core\": "
		"\"stored\"}",
		"{\"process\": \"x\", \"pid\": -1, \"signal\": 11, \"time_ms\": 1, \"core\": "
		"\"stored\", "
		"\"entry\": \"\"}",
		"{\"process\": \"x\", \"pid\": 1, \"signal\": 300, \"time_ms\": 1, \"core\": "
		"\"stored\", \"entry\": \"\"}",
		"{\"process\": 7, \"pid\": 1, \"signal\": 11, \"time_ms\": 1, \"core\": "
		"\"stored\", "
		"\"entry\": \"\"}",
		"{\"process\": \"x\", \"pid\": \"1\", \"signal\": 11, \"time_ms\": 1, \"core\": "
		"\"stored\", \"entry\": \"\"}",
	};
	const char *dir = *state;
	struct lc_crash_report good = report("gatewayd", 5, 11, 2, "stored", "");
	_cleanup_free_ char *other = NULL;
	struct seen *s = calloc(1, sizeof(*s));
	struct stat st;

	assert_non_null(s);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char name[64];

		snprintf(name, sizeof(name), "crashes/%020zu-%zu.json", i + 10, i);
		tree_put(dir, name, bad[i]);
	}
	assert_int_equal(lc_crash_log_append(dir, &good), 0);
	/* Not a report's name: not the crash log's business, left alone. */
	tree_put(dir, "crashes/README", "notes\n");
	tree_put(dir, "crashes/.tmp-00000000000000000001-1.json", "{}");

	assert_int_equal(lc_crash_log_drain(dir, collect, s), 1);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->r[0].process, "gatewayd");
	assert_int_equal(count_files(dir), 1);
	assert_true(asprintf(&other, "%s/crashes/README", dir) > 0);
	assert_int_equal(stat(other, &st), 0);
	free(s);
}

static void test_missing_directory_is_empty(void **state)
{
	const char *dir = *state;
	_cleanup_free_ char *nowhere = NULL;
	struct seen *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	assert_int_equal(count_files(dir), -1);
	assert_int_equal(lc_crash_log_drain(dir, collect, s), 0);
	assert_true(asprintf(&nowhere, "%s/no/such/state", dir) > 0);
	assert_int_equal(lc_crash_log_drain(nowhere, collect, s), 0);
	assert_int_equal(s->n, 0);
	/* Append creates what it needs. */
	{
		struct lc_crash_report r = report("x", 1, 11, 1, "stored", "");

		assert_int_equal(lc_crash_log_append(nowhere, &r), 0);
		assert_int_equal(lc_crash_log_drain(nowhere, collect, s), 1);
	}
	free(s);
}

static void test_unreadable_directory_is_an_error(void **state)
{
	const char *dir = *state;
	struct seen *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	/* crashes/ is a file: neither append nor drain can use it. */
	{
		_cleanup_free_ char *path = NULL;

		assert_true(asprintf(&path, "%s/crashes", dir) > 0);
		assert_int_equal(lc_write_file_atomic(path, "x", 1, 0600), 0);
	}
	assert_int_equal(lc_crash_log_drain(dir, collect, s), -ENOTDIR);
	{
		struct lc_crash_report r = report("x", 1, 11, 1, "stored", "");

		assert_true(lc_crash_log_append(dir, &r) < 0);
	}
	assert_int_equal(s->n, 0);
	free(s);
}

/* The stack trace's members and a crash loop travel with the report; older reports have none. */
static void test_trace_and_loop_round_trip(void **state)
{
	struct lc_crash_report r = { .process = "app",
				     .pid = 7,
				     .signal = 11,
				     .time_ms = 1,
				     .core = "duplicate",
				     .signature = "0123456789abcdef",
				     .trace_entry = "2c5a3c1e-0d7e-4a43-9b7a-6f4f0e2d9a10",
				     .frames = { "app!crash", "app!main",
						 "libc.so!__libc_start_main" },
				     .loop_crashes = 5 },
			       back;
	json_object *o = lc_crash_report_to_json(&r);
	json_object *old;

	assert_non_null(o);
	assert_int_equal(lc_crash_report_from_json(o, &back), 0);
	assert_string_equal(back.signature, r.signature);
	assert_string_equal(back.trace_entry, r.trace_entry);
	assert_string_equal(back.frames[0], "app!crash");
	assert_string_equal(back.frames[2], "libc.so!__libc_start_main");
	assert_string_equal(back.frames[3], "");
	assert_int_equal(back.loop_crashes, 5);
	/* A signature that is not 16 hex digits, or frames that are not strings, are refused. */
	json_object_object_add(o, "signature", json_object_new_string("ABCDEF"));
	assert_int_equal(lc_crash_report_from_json(o, &back), -EBADMSG);
	json_object_object_add(o, "signature", json_object_new_string("0123456789abcdef"));
	json_object_object_add(o, "frames", json_object_new_int(3));
	assert_int_equal(lc_crash_report_from_json(o, &back), -EBADMSG);
	json_object_put(o);
	/* An older handler's report: no trace, no loop. */
	old = json_tokener_parse("{\"process\": \"a\", \"pid\": 1, \"signal\": 6, "
				 "\"time_ms\": 5, \"core\": \"stored\", \"entry\": \"\"}");
	assert_int_equal(lc_crash_report_from_json(old, &back), 0);
	assert_string_equal(back.signature, "");
	assert_int_equal(back.loop_crashes, 0);
	json_object_put(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_then_drain_oldest_first, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unsaved_drops_travel_with_the_report, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_process_names_come_back_printable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_log_is_bounded, setup, teardown),
		cmocka_unit_test(test_trace_and_loop_round_trip),
		cmocka_unit_test_setup_teardown(test_malformed_reports_are_removed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_directory_is_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_directory_is_an_error, setup,
						teardown),
	};

	lc_log_open("test-crashlog", LC_LOG_TARGET_STDERR);
	lc_log_set_ratelimit(false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
