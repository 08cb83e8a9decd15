/* SPDX-License-Identifier: MIT */
/*
 * Coredump filters (plugins/coredump/filter.c, filter-state.c): the rules' syntax and every
 * error's message, path, process and signal matching, the first rule that matches, and each
 * rule's rate limit kept in a state directory: allowed, denied, a window that passes, a damaged
 * record, an edited rule starting afresh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "harness-fs.h"
#include "macro.h"

#define T0     1700000000000ULL
#define SECOND 1000ULL
#define STATE  COREDUMP_FILTER_STATE_FILE

static struct coredump_filters *parse(const char *const *rules)
{
	struct coredump_filters *f = NULL;
	char *error = NULL;

	assert_int_equal(coredump_filters_parse(rules, &f, &error), 0);
	assert_null(error);
	assert_non_null(f);
	return f;
}

static void test_good_rules(void **state)
{
	static const char *const good[] = {
		"path:/usr/bin/",
		"path:/usr/bin/gatewayd limit:1/3600",
		"process:gatewayd",
		"signal:SIGABRT",
		"signal:abrt",
		"signal:6",
		"  path:/   process:a   signal:SEGV   limit:0/1  ",
		"limit:1000/604800 signal:SIGSYS",
	};
	char why[256];

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_int_equal(coredump_filter_check(good[i], why, sizeof(why)), 0);
}

static void test_bad_rules(void **state)
{
	static const struct {
		const char *rule, *why;
	} bad[] = {
		{ "", "expected at least one of path:, process:, signal:" },
		{ "limit:1/60", "expected at least one of path:, process:, signal:" },
		{ "signal:SIGFOO", "unknown signal \"SIGFOO\"" },
		{ "signal:SIG", "unknown signal \"SIG\"" },
		{ "signal:9", "signal 9 does not dump core" },
		{ "signal:0", "signal 0 does not dump core" },
		{ "signal:65", "unknown signal \"65\"" },
		{ "signal:SIGKILL", "unknown signal \"SIGKILL\"" },
		{ "path:usr/bin", "path \"usr/bin\" is not absolute" },
		{ "path:/usr//bin",
		  "path \"/usr//bin\" is not normal (no \"//\", \".\" or \"..\")" },
		{ "path:/usr/../bin",
		  "path \"/usr/../bin\" is not normal (no \"//\", \".\" or \"..\")" },
		{ "path:/./x/", "path \"/./x/\" is not normal (no \"//\", \".\" or \"..\")" },
		{ "process:a_name_of_16_bytes",
		  "process name \"a_name_of_16_bytes\" is longer than 15 bytes: it never matches" },
		{ "process:", "process: expected a value" },
		{ "process:a process:b", "process: given twice" },
		{ "comm:a",
		  "unknown word \"comm:a\" (expected path:, process:, signal: or limit:)" },
		{ "gatewayd",
		  "unknown word \"gatewayd\" (expected path:, process:, signal: or limit:)" },
		{ "process:a limit:5", "limit \"5\": expected COUNT/SECONDS" },
		{ "process:a limit:x/60", "limit \"x/60\": expected COUNT/SECONDS" },
		{ "process:a limit:1/", "limit \"1/\": expected COUNT/SECONDS" },
		{ "process:a limit:1001/60", "limit \"1001/60\": COUNT must be 0 to 1000" },
		{ "process:a limit:1/0", "limit \"1/0\": SECONDS must be 1 to 604800" },
		{ "process:a limit:1/604801", "limit \"1/604801\": SECONDS must be 1 to 604800" },
		{ "process:a\tb", "expected printable ASCII" },
	};
	char why[256], rule[COREDUMP_FILTER_TEXT_MAX + 2];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why[0] = 0;
		assert_int_equal(coredump_filter_check(bad[i].rule, why, sizeof(why)), -EINVAL);
		assert_string_equal(why, bad[i].why);
	}
	/* 512 bytes at most. */
	memset(rule, ' ', sizeof(rule) - 1);
	rule[sizeof(rule) - 1] = 0;
	memcpy(rule, "process:a", 9);
	assert_int_equal(coredump_filter_check(rule, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "longer than 512 bytes");
	rule[sizeof(rule) - 2] = 0;
	assert_int_equal(coredump_filter_check(rule, why, sizeof(why)), 0);
}

static void test_parse_names_the_item(void **state)
{
	const char *rules[] = { "process:a", "signal:SIGFOO", NULL };
	const char *many[COREDUMP_FILTERS_MAX + 2];
	struct coredump_filters *f = NULL;
	char *error = NULL;

	assert_int_equal(coredump_filters_parse(rules, &f, &error), -EINVAL);
	assert_null(f);
	assert_string_equal(error, "coredump.filters: item 2: unknown signal \"SIGFOO\"");
	free(error);
	error = NULL;

	for (size_t i = 0; i < COREDUMP_FILTERS_MAX + 1; i++)
		many[i] = "process:a";
	many[COREDUMP_FILTERS_MAX + 1] = NULL;
	assert_int_equal(coredump_filters_parse(many, &f, &error), -EINVAL);
	assert_string_equal(error, "coredump.filters: more than 32 rules");
	free(error);

	/* No rules: nothing matches. */
	f = parse(NULL);
	assert_int_equal(coredump_filters_match(f, "/usr/bin/x", "x", SIGSEGV), -1);
	assert_null(coredump_filter_text(f, 0));
	coredump_filters_free(f);
}

static void test_path_matching(void **state)
{
	const char *const dir[] = { "path:/usr/bin", NULL };
	const char *const slash[] = { "path:/usr/bin/", NULL };
	const char *const file[] = { "path:/usr/bin/gatewayd", NULL };
	const char *const root[] = { "path:/", NULL };
	struct coredump_filters *f;

	for (int i = 0; i < 2; i++) {
		f = parse(i == 0 ? dir : slash);
		assert_int_equal(coredump_filters_match(f, "/usr/bin/x", "x", SIGSEGV), 0);
		assert_int_equal(coredump_filters_match(f, "/usr/bin/sub/y", "y", SIGSEGV), 0);
		assert_int_equal(coredump_filters_match(f, "/usr/bin2/x", "x", SIGSEGV), -1);
		assert_int_equal(coredump_filters_match(f, "/usr/bi", "bi", SIGSEGV), -1);
		assert_int_equal(coredump_filters_match(f, "/usr/sbin/x", "x", SIGSEGV), -1);
		assert_int_equal(coredump_filters_match(f, NULL, "x", SIGSEGV), -1);
		coredump_filters_free(f);
	}

	f = parse(file);
	assert_int_equal(coredump_filters_match(f, "/usr/bin/gatewayd", "gatewayd", SIGSEGV), 0);
	/* A program removed while it ran (an update) is still itself. */
	assert_int_equal(
		coredump_filters_match(f, "/usr/bin/gatewayd (deleted)", "gatewayd", SIGSEGV), 0);
	assert_int_equal(coredump_filters_match(f, "/usr/bin/gatewayd2", "gatewayd2", SIGSEGV), -1);
	assert_int_equal(coredump_filters_match(f, "/usr/bin/gateway", "gateway", SIGSEGV), -1);
	coredump_filters_free(f);

	f = parse(root);
	assert_int_equal(coredump_filters_match(f, "/x", "x", SIGSEGV), 0);
	assert_int_equal(coredump_filters_match(f, "/usr/bin/x", "x", SIGSEGV), 0);
	assert_int_equal(coredump_filters_match(f, NULL, "x", SIGSEGV), -1);
	coredump_filters_free(f);
}

static void test_process_and_signal_matching(void **state)
{
	const char *const rules[] = {
		"process:gatewayd signal:SIGABRT limit:1/60",
		"process:gatewayd",
		"signal:11",
		"path:/opt/app/ signal:segv",
		NULL,
	};
	struct coredump_filters *f = parse(rules);
	uint64_t interval;

	/* All given matchers must match; the first rule that matches wins. */
	assert_int_equal(coredump_filters_match(f, "/usr/bin/gatewayd", "gatewayd", SIGABRT), 0);
	assert_int_equal(coredump_filters_match(f, "/usr/bin/gatewayd", "gatewayd", SIGSEGV), 1);
	assert_int_equal(coredump_filters_match(f, "/usr/bin/gatewayd", "gatewayd", SIGBUS), 1);
	assert_int_equal(coredump_filters_match(f, "/opt/app/x", "x", SIGSEGV), 2);
	assert_int_equal(coredump_filters_match(f, "/opt/app/x", "x", SIGABRT), -1);
	/* The name is matched whole. */
	assert_int_equal(coredump_filters_match(f, "/usr/bin/gw", "gatewayd2", SIGABRT), -1);
	assert_int_equal(coredump_filters_match(f, "/usr/bin/gw", "gateway", SIGABRT), -1);
	assert_int_equal(coredump_filters_match(f, "/usr/bin/gw", NULL, SIGABRT), -1);

	assert_string_equal(coredump_filter_text(f, 1), "process:gatewayd");
	assert_int_equal(coredump_filter_limit(f, 0, &interval), 1);
	assert_int_equal(interval, 60 * SECOND);
	assert_int_equal(coredump_filter_limit(f, 1, NULL), 0);
	coredump_filters_free(f);
}

static int setup(void **state)
{
	struct tree *t = tree_new("coredump-filter");

	if (!t)
		return -1;
	tree_mkdir(t->dir, "state");
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	return tree_free(*state);
}

static bool take(const struct tree *t, const struct coredump_filters *f, int rule, uint64_t now)
{
	bool allowed = false;

	assert_int_equal(coredump_filter_take(t->state, f, rule, now, &allowed), 0);
	return allowed;
}

static void test_take_limit_and_window(void **state)
{
	const struct tree *t = *state;
	const char *const rules[] = { "process:a limit:2/60", "process:b limit:1/10",
				      "process:never", NULL };
	struct coredump_filters *f = parse(rules);
	bool allowed;

	/* Two cores a minute: the third is denied, and being denied spends nothing. */
	assert_true(take(t, f, 0, T0));
	assert_true(take(t, f, 0, T0 + 10 * SECOND));
	assert_false(take(t, f, 0, T0 + 20 * SECOND));
	assert_false(take(t, f, 0, T0 + 59 * SECOND));
	/* A minute after the first, it no longer counts. */
	assert_true(take(t, f, 0, T0 + 60 * SECOND));
	assert_false(take(t, f, 0, T0 + 61 * SECOND));

	/* Each rule has its own limit. */
	assert_true(take(t, f, 1, T0 + 61 * SECOND));
	assert_false(take(t, f, 1, T0 + 62 * SECOND));
	assert_true(take(t, f, 1, T0 + 71 * SECOND));

	/* Without a limit: never, and the record is not even written for it. */
	tree_unlink(t->state, STATE);
	assert_false(take(t, f, 2, T0));
	assert_false(tree_exists(t->state, STATE));

	/* A rule that is not there. */
	assert_int_equal(coredump_filter_take(t->state, f, 3, T0, &allowed), -EINVAL);
	assert_int_equal(coredump_filter_take(t->state, f, -1, T0, &allowed), -EINVAL);
	coredump_filters_free(f);

	/* A state directory that is not there is an error. */
	f = parse(rules);
	assert_true(coredump_filter_take("/nonexistent/state", f, 0, T0, &allowed) < 0);
	coredump_filters_free(f);
}

static void test_take_across_handlers_and_edits(void **state)
{
	const struct tree *t = *state;
	const char *const before[] = { "process:a limit:1/3600", "process:b limit:1/3600", NULL };
	const char *const after[] = { "process:a limit:1/3600", "process:b limit:2/3600", NULL };
	struct coredump_filters *f = parse(before), *g;
	char *text;

	assert_true(take(t, f, 0, T0));
	assert_true(take(t, f, 1, T0));
	coredump_filters_free(f);

	/* Another handler, the same rules: the record holds across processes. */
	f = parse(before);
	assert_false(take(t, f, 0, T0 + SECOND));
	assert_false(take(t, f, 1, T0 + SECOND));
	coredump_filters_free(f);

	/* Rule b edited: its text is another rule's, which starts afresh; a keeps its state. */
	g = parse(after);
	assert_false(take(t, g, 0, T0 + 2 * SECOND));
	assert_true(take(t, g, 1, T0 + 2 * SECOND));
	assert_true(take(t, g, 1, T0 + 3 * SECOND));
	assert_false(take(t, g, 1, T0 + 4 * SECOND));
	/* The old text is forgotten, the current ones kept. */
	text = tree_read(t->state, STATE, NULL);
	assert_null(strstr(text, "\"process:b limit:1/3600\""));
	assert_non_null(strstr(text, "process:a limit:1"));
	assert_non_null(strstr(text, "process:b limit:2"));
	free(text);
	coredump_filters_free(g);
}

static void test_take_damaged_record(void **state)
{
	const struct tree *t = *state;
	static const char *const bad[] = {
		"",
		"not json",
		"[1, 2]",
		"{\"rules\": []}",
		"{\"rules\": {\"process:a limit:1/60\": \"x\"}}",
		"{\"rules\": {\"process:a limit:1/60\": [\"x\", -5, {}]}}",
	};
	const char *const rules[] = { "process:a limit:1/60", NULL };
	struct coredump_filters *f = parse(rules);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		tree_put(t->state, STATE, bad[i]);
		assert_true(take(t, f, 0, T0));
		assert_false(take(t, f, 0, T0 + SECOND));
	}
	/* A clock set back: captures in the future do not count, and are forgotten. */
	tree_putf(t->state, STATE, "{\"rules\": {\"process:a limit:1/60\": [%llu]}}",
		  (unsigned long long)(T0 + 3600 * SECOND));
	assert_true(take(t, f, 0, T0));
	assert_false(take(t, f, 0, T0 + SECOND));
	coredump_filters_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_rules),
		cmocka_unit_test(test_bad_rules),
		cmocka_unit_test(test_parse_names_the_item),
		cmocka_unit_test(test_path_matching),
		cmocka_unit_test(test_process_and_signal_matching),
		cmocka_unit_test_setup_teardown(test_take_limit_and_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take_across_handlers_and_edits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_take_damaged_record, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
