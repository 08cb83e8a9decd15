/* SPDX-License-Identifier: MIT */
/* The device's history (libcollector/store/history.c): events round-trip through their lines,
 * damaged and torn lines are skipped, the file stays bounded and keeps the newest events, and
 * boot loops are counted over a window of time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "history.h"
#include "log.h"
#include "macro.h"
#include "tmpdir.h"

#define BOOT_A "0b5d2b9e-7a41-4c65-9a3e-2f3c4d5e6f70"
#define BOOT_B "1c6e3caf-8b52-4d76-ab4f-304d5e6f7081"

static int setup(void **state)
{
	char *dir = test_tmpdir_new("history");

	if (!dir)
		return -1;
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	return test_tmpdir_free(*state);
}

static struct lc_history_event boot_event(const char *boot_id, uint64_t t, uint16_t code,
					  const char *version)
{
	struct lc_history_event e = { .kind = LC_HISTORY_BOOT, .time_ms = t, .has_reason = true };

	e.reason.code = code;
	e.unexpected = lc_reboot_reason_unexpected(&e.reason);
	snprintf(e.boot_id, sizeof(e.boot_id), "%s", boot_id);
	snprintf(e.software_version, sizeof(e.software_version), "%s", version);
	return e;
}

static struct lc_history_event crash_event(uint64_t t, uint32_t pid)
{
	struct lc_crash_report r = { .pid = pid, .signal = 11, .time_ms = t, .loop_crashes = 4 };
	struct lc_history_event e;

	snprintf(r.process, sizeof(r.process), "gatewayd");
	snprintf(r.boot_id, sizeof(r.boot_id), BOOT_A);
	snprintf(r.core, sizeof(r.core), LC_CRASH_CORE_STORED);
	snprintf(r.entry, sizeof(r.entry), BOOT_B);
	snprintf(r.signature, sizeof(r.signature), "0123456789abcdef");
	snprintf(r.frames[0], sizeof(r.frames[0]), "libgw.so!parse");
	snprintf(r.frames[1], sizeof(r.frames[1]), "gatewayd+0x10");
	lc_history_event_from_crash(&r, &e);
	return e;
}

static void assert_round_trip(const struct lc_history_event *e)
{
	_cleanup_free_ char *line = lc_history_format_line(e);
	_cleanup_free_ char *again = NULL;
	_cleanup_(lc_history_done) struct lc_history h = { 0 };

	assert_non_null(line);
	assert_int_equal(line[strlen(line) - 1], '\n');
	assert_null(memchr(line, '\n', strlen(line) - 1));
	assert_int_equal(lc_history_parse(line, strlen(line), 16, &h), 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.damaged, 0);
	assert_false(h.torn);
	/* Padding aside, the same event: the same line. */
	again = lc_history_format_line(&h.events[0]);
	assert_non_null(again);
	assert_string_equal(again, line);
	assert_int_equal(h.events[0].kind, e->kind);
	assert_int_equal(h.events[0].time_ms, e->time_ms);
	assert_int_equal(h.events[0].boot_loop, e->boot_loop);
	assert_int_equal(h.events[0].has_reason, e->has_reason);
	assert_string_equal(h.events[0].frames[0], e->frames[0]);
}

static void test_every_kind_round_trips(void **state)
{
	struct lc_history_event e = boot_event(BOOT_A, 1700000000000, 0x8008, "1.0");
	struct lc_history_event first = { .kind = LC_HISTORY_BOOT, .time_ms = 5 };

	assert_round_trip(&e);
	e.boot_loop = true;
	assert_round_trip(&e);
	e.reason = (struct lc_reboot_reason){ .name = "Overheat" };
	assert_round_trip(&e);
	assert_round_trip(&first);

	e = crash_event(1700000000123, 77);
	assert_string_equal(e.frames[1], "gatewayd+0x10");
	assert_string_equal(e.frames[2], "");
	assert_round_trip(&e);

	e = (struct lc_history_event){ .kind = LC_HISTORY_CRASH_LOOP, .time_ms = 9, .count = 5 };
	snprintf(e.process, sizeof(e.process), "gatewayd");
	assert_round_trip(&e);

	e = (struct lc_history_event){ .kind = LC_HISTORY_UPDATE, .time_ms = 10 };
	snprintf(e.from_version, sizeof(e.from_version), "1.0");
	snprintf(e.software_version, sizeof(e.software_version), "1.1");
	assert_round_trip(&e);

	e = (struct lc_history_event){
		.kind = LC_HISTORY_BOOT_LOOP, .time_ms = 11, .count = 3, .minutes = 15
	};
	assert_round_trip(&e);
}

static void test_damaged_and_torn_lines_are_skipped(void **state)
{
	_cleanup_free_ char *good =
		lc_history_format_line(&(struct lc_history_event){ .kind = LC_HISTORY_UPDATE,
								   .time_ms = 1,
								   .from_version = "a",
								   .software_version = "b" });
	_cleanup_(lc_history_done) struct lc_history h = { 0 };
	char buf[1024];
	int n;

	n = snprintf(buf, sizeof(buf),
		     "garbage\n%s{\"kind\":\"reboot\",\"time_ms\":1}\n"
		     "{\"kind\":\"update\",\"time_ms\":-1,\"from\":\"a\",\"to\":\"b\"}\n"
		     "{\"kind\":\"update\",\"time_ms\":1,\"from\":\"a\"}\n"
		     "\n[]\n%s{\"kind\":\"update\",\"ti",
		     good, good);
	assert_int_equal(lc_history_parse(buf, (size_t)n, 16, &h), 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.damaged, 5); /* the empty line is not damage */
	assert_true(h.torn);
	assert_string_equal(h.events[1].from_version, "a");

	/* A NUL in a line is damage, not the end of the file. */
	lc_history_done(&h);
	memcpy(buf, good, strlen(good));
	buf[3] = '\0';
	assert_int_equal(lc_history_parse(buf, strlen(good), 16, &h), 0);
	assert_int_equal(h.n, 0);
	assert_int_equal(h.damaged, 1);
}

static void test_parse_keeps_the_newest(void **state)
{
	_cleanup_(lc_history_done) struct lc_history h = { 0 };
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	for (uint64_t t = 1; t <= 43; t++) { /* 43: the ring of 8 is not back at its start */
		struct lc_history_event e = boot_event(BOOT_A, t, 3, "1.0");
		_cleanup_free_ char *line = lc_history_format_line(&e);

		fputs(line, f);
	}
	fclose(f);
	assert_int_equal(lc_history_parse(buf, len, 8, &h), 0);
	assert_int_equal(h.n, 8);
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(h.events[i].time_ms, 36 + i);
}

static void test_appends_then_rewrites_within_the_limits(void **state)
{
	const char *dir = *state;
	struct lc_history_limits l = { .max_events = 10, .max_bytes = 2048 };
	_cleanup_(lc_history_done) struct lc_history h = { 0 };
	_cleanup_free_ char *path = NULL;
	struct stat st;
	size_t peak = 0;

	assert_true(asprintf(&path, "%s/%s", dir, LC_HISTORY_FILE) > 0);
	for (uint64_t t = 1; t <= 100; t++) {
		struct lc_history_event e = boot_event(BOOT_A, t, 0x8000, "1.0");

		assert_int_equal(lc_history_append(dir, &l, &e, false), 0);
		assert_int_equal(stat(path, &st), 0);
		assert_true((size_t)st.st_size <= l.max_bytes);
		peak = MAX(peak, (size_t)st.st_size);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	assert_true(peak > l.max_bytes / 2);
	assert_int_equal(lc_history_load(dir, &l, false, &h), 0);
	assert_true(h.n >= 1 && h.n <= l.max_events);
	assert_int_equal(h.events[h.n - 1].time_ms, 100);
	for (size_t i = 1; i < h.n; i++)
		assert_int_equal(h.events[i].time_ms, h.events[i - 1].time_ms + 1);
}

static void test_format_keeps_the_newest_and_at_least_one(void **state)
{
	struct lc_history_event ev[4] = {
		boot_event(BOOT_A, 1, 3, "1.0"),
		boot_event(BOOT_A, 2, 3, "1.0"),
		boot_event(BOOT_A, 3, 3, "1.0"),
		boot_event(BOOT_A, 4, 3, "1.0"),
	};
	struct lc_history h = { .events = ev, .n = 3 };
	struct lc_history_limits l = { .max_events = 2, .max_bytes = 1 << 20 };
	_cleanup_(lc_history_done) struct lc_history back = { 0 };
	_cleanup_free_ char *buf = NULL, *tiny = NULL;
	size_t len;

	assert_int_equal(lc_history_format(&h, &ev[3], &l, &buf, &len), 0);
	assert_int_equal(lc_history_parse(buf, len, 16, &back), 0);
	assert_int_equal(back.n, 2);
	assert_int_equal(back.events[0].time_ms, 3);
	assert_int_equal(back.events[1].time_ms, 4);

	/* Too small for even one event: the newest stays anyway. */
	l = (struct lc_history_limits){ .max_events = 10, .max_bytes = 8 };
	assert_int_equal(lc_history_format(&h, NULL, &l, &tiny, &len), 0);
	lc_history_done(&back);
	assert_int_equal(lc_history_parse(tiny, len, 16, &back), 0);
	assert_int_equal(back.n, 1);
	assert_int_equal(back.events[0].time_ms, 3);
	assert_true(lc_history_needs_rewrite(8, 1, &l));
	assert_false(lc_history_needs_rewrite(4, 4, &l));
}

static void test_a_torn_file_is_rewritten_at_the_next_append(void **state)
{
	const char *dir = *state;
	struct lc_history_limits l = lc_history_default_limits();
	struct lc_history_event e = boot_event(BOOT_A, 1, 3, "1.0");
	_cleanup_(lc_history_done) struct lc_history h = { 0 };
	_cleanup_free_ char *path = NULL, *text = NULL;
	FILE *f;
	size_t len;

	assert_int_equal(lc_history_append(dir, &l, &e, false), 0);
	assert_true(asprintf(&path, "%s/%s", dir, LC_HISTORY_FILE) > 0);
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("{\"kind\":\"boot\",\"time_ms\":2,\"boot_id\":\"", f);
	fclose(f);
	assert_int_equal(lc_history_load(dir, &l, false, &h), 0);
	assert_int_equal(h.n, 1);
	assert_true(h.torn);

	e.time_ms = 3;
	assert_int_equal(lc_history_append(dir, &l, &e, false), 0);
	assert_int_equal(lc_read_file(path, 1 << 16, &text, &len), 0);
	lc_history_done(&h);
	assert_int_equal(lc_history_parse(text, len, 16, &h), 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.damaged, 0);
	assert_false(h.torn);
	assert_int_equal(h.events[1].time_ms, 3);
}

static void test_damage_and_oversize_start_fresh(void **state)
{
	const char *dir = *state;
	struct lc_history_limits l = { .max_events = 16, .max_bytes = 1024 };
	struct lc_history_event e = boot_event(BOOT_B, 7, 3, "1.0");
	_cleanup_(lc_history_done) struct lc_history h = { 0 };
	_cleanup_free_ char *path = NULL;
	char junk[4096];

	assert_true(asprintf(&path, "%s/%s", dir, LC_HISTORY_FILE) > 0);
	memset(junk, 'x', sizeof(junk));
	assert_int_equal(lc_write_file_atomic(path, junk, sizeof(junk), 0600), 0);
	assert_int_equal(lc_history_load(dir, &l, false, &h), 0);
	assert_int_equal(h.n, 0);
	assert_int_equal(lc_history_append(dir, &l, &e, false), 0);
	assert_int_equal(lc_history_load(dir, &l, false, &h), 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.damaged, 0);

	/* Damaged lines the caller saw: a rewrite drops them. */
	assert_int_equal(lc_write_file_atomic(path, "junk\n", 5, 0600), 0);
	lc_history_done(&h);
	assert_int_equal(lc_history_append(dir, &l, &e, true), 0);
	assert_int_equal(lc_history_load(dir, &l, false, &h), 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.damaged, 0);
}

static void test_boot_loops_count_unexpected_boots_in_the_window(void **state)
{
	struct lc_history_event ev[] = {
		boot_event(BOOT_A, 0, 0x8000, "1.0"),	       /* outside the window */
		boot_event(BOOT_A, 10 * 60000, 0x8008, "1.0"), /* in */
		boot_event(BOOT_A, 12 * 60000, 0x0003, "1.0"), /* expected */
		boot_event(BOOT_A, 14 * 60000, 0x8000, "1.0"), /* in */
		boot_event(BOOT_A, 40 * 60000, 0x8000, "1.0"), /* in the future of now */
	};
	struct lc_history h = { .events = ev, .n = ARRAY_SIZE(ev) };

	/* The expected boot at 12 min ends the run: only the one at 14 min counts. */
	assert_int_equal(lc_history_unexpected_boots(&h, 20 * 60000, 15), 1);
	assert_int_equal(lc_history_unexpected_boots(&h, 20 * 60000, 20), 1);
	assert_int_equal(lc_history_unexpected_boots(&h, 20 * 60000, 1), 0);
	assert_int_equal(lc_history_unexpected_boots(&h, 5, 100000), 1);
	/* Without it, every unexpected boot in the window. */
	ev[2] = boot_event(BOOT_A, 12 * 60000, 0x8006, "1.0");
	assert_int_equal(lc_history_unexpected_boots(&h, 20 * 60000, 15), 3);
	assert_int_equal(lc_history_unexpected_boots(&h, 20 * 60000, 20), 4);
	assert_ptr_equal(lc_history_last_boot(&h), &ev[4]);
	h.n = 0;
	assert_null(lc_history_last_boot(&h));
}

static void test_sort_is_stable_by_time(void **state)
{
	struct lc_history_event ev[] = {
		boot_event(BOOT_A, 5, 3, "a"),
		boot_event(BOOT_A, 3, 3, "b"),
		boot_event(BOOT_A, 5, 3, "c"),
		boot_event(BOOT_A, 1, 3, "d"),
	};
	struct lc_history h = { .events = ev, .n = ARRAY_SIZE(ev) };

	lc_history_sort(&h);
	assert_string_equal(ev[0].software_version, "d");
	assert_string_equal(ev[1].software_version, "b");
	assert_string_equal(ev[2].software_version, "a");
	assert_string_equal(ev[3].software_version, "c");
}

static void test_a_crash_loop_adds_its_event(void **state)
{
	const char *dir = *state;
	struct lc_history_limits l = lc_history_default_limits();
	_cleanup_(lc_history_done) struct lc_history h = { 0 };
	struct lc_crash_report r = { .pid = 1, .signal = 6, .time_ms = 42, .loop_crashes = 5 };

	snprintf(r.process, sizeof(r.process), "modemd");
	assert_int_equal(lc_history_add_crash(dir, &r), 0);
	r.loop_crashes = 0;
	assert_int_equal(lc_history_add_crash(dir, &r), 0);
	assert_int_equal(lc_history_load(dir, &l, false, &h), 0);
	assert_int_equal(h.n, 3);
	assert_int_equal(h.events[0].kind, LC_HISTORY_CRASH);
	assert_int_equal(h.events[1].kind, LC_HISTORY_CRASH_LOOP);
	assert_int_equal(h.events[1].count, 5);
	assert_string_equal(h.events[1].process, "modemd");
	assert_int_equal(h.events[2].kind, LC_HISTORY_CRASH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind_round_trips),
		cmocka_unit_test(test_damaged_and_torn_lines_are_skipped),
		cmocka_unit_test(test_parse_keeps_the_newest),
		cmocka_unit_test_setup_teardown(test_appends_then_rewrites_within_the_limits, setup,
						teardown),
		cmocka_unit_test(test_format_keeps_the_newest_and_at_least_one),
		cmocka_unit_test_setup_teardown(test_a_torn_file_is_rewritten_at_the_next_append,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_damage_and_oversize_start_fresh, setup,
						teardown),
		cmocka_unit_test(test_boot_loops_count_unexpected_boots_in_the_window),
		cmocka_unit_test(test_sort_is_stable_by_time),
		cmocka_unit_test_setup_teardown(test_a_crash_loop_adds_its_event, setup, teardown),
	};

	lc_log_open("test-history", LC_LOG_TARGET_STDERR);
	lc_log_set_ratelimit(false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
