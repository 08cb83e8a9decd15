/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "config.h"
#include "fileio.h"
#include "harness-conf.h"
#include "harness-fs.h"
#include "jsonc.h"
#include "log.h"
#include "macro.h"

/* ---- the schema under test: a core section and a plugin-like "statsd" section ---- */

static int check_absolute(const char *value, const char **ret_why)
{
	if (value[0] != '/') {
		*ret_why = "expected an absolute path";
		return -EINVAL;
	}
	return 0;
}

static const char *const level_choices[] = { "debug", "info", "warning", "error", NULL };
static const char *const tags_default[] = { "env:prod", NULL };

static const struct lc_cfg_key core_keys[] = {
	{ .name = "state_dir",
	  .type = LC_CFG_STRING,
	  .def_string = "/nonexistent/faultd-test-state",
	  .check = check_absolute,
	  .description = "Directory for the spool, the hours ledger and runtime.conf." },
	{ .name = "upload_interval_seconds",
	  .type = LC_CFG_INT,
	  .def_int = 3600,
	  .min = 1,
	  .max = 86400,
	  .description =
		  "How often collected data is uploaded. Shorter intervals get crashes to the "
		  "fleet dashboard sooner but cost more radio time and server requests; "
		  "longer ones batch better.\nThe first upload happens shortly after start." },
	{ .name = "data_collection",
	  .type = LC_CFG_BOOL,
	  .flags = LC_CFG_RUNTIME,
	  .description = "Whether anything is recorded and uploaded at all." },
	{ .name = "developer_mode", .type = LC_CFG_BOOL, .flags = LC_CFG_RUNTIME },
	{ .name = "update_channel",
	  .type = LC_CFG_STRING,
	  .def_string = "stable",
	  .flags = LC_CFG_RUNTIME },
	{ .name = "device.serial", .type = LC_CFG_STRING, .max = 16 },
	{ .name = "project_key", .type = LC_CFG_STRING, .flags = LC_CFG_SECRET },
	{ .name = "log_level",
	  .type = LC_CFG_STRING,
	  .def_string = "info",
	  .choices = level_choices },
	{ .name = "device.hardware_version", .type = LC_CFG_STRING, .def_string = "evt" },
	{ .name = "clock_skew", .type = LC_CFG_INT, .def_int = -5 },
};

static const struct lc_cfg_key statsd_keys[] = {
	{ .name = "enabled", .type = LC_CFG_BOOL, .def_bool = true, .flags = LC_CFG_RUNTIME },
	{ .name = "listen", .type = LC_CFG_STRING, .def_string = "127.0.0.1:8125" },
	{ .name = "flush_seconds", .type = LC_CFG_INT, .def_int = 10, .min = 0, .max = 604800 },
	{ .name = "limits.max_metrics",
	  .type = LC_CFG_INT,
	  .def_int = 1000,
	  .min = 1,
	  .max = 100000 },
	{ .name = "tags", .type = LC_CFG_STRV, .def_strv = tags_default, .max = 3 },
	{ .name = "paths", .type = LC_CFG_STRV, .check = check_absolute },
	{ .name = "limits.max_line", .type = LC_CFG_INT, .def_int = 512, .min = 64, .max = 65536 },
};

static const struct lc_cfg_section sections[] = {
	{ .name = NULL,
	  .description = "Core settings.",
	  .keys = core_keys,
	  .n_keys = ARRAY_SIZE(core_keys) },
	{ .name = "statsd",
	  .description = "The statsd receiver: UDP, statsd line protocol.",
	  .keys = statsd_keys,
	  .n_keys = ARRAY_SIZE(statsd_keys) },
};

/* ---- fixture: a temporary directory holding faultd.conf, faultd.conf.d/ and state/ ---- */

static int setup(void **state)
{
	return conf_fixture_setup(state, "config");
}

static int teardown(void **state)
{
	return conf_fixture_teardown(state);
}

/* Returns pattern with every "$D" replaced by the fixture's directory. */
static char *expand(const struct conf_fixture *f, const char *pattern)
{
	size_t n = strlen(pattern) + 1, dlen = strlen(f->dir);
	char *out, *o;

	for (const char *p = strstr(pattern, "$D"); p; p = strstr(p + 2, "$D"))
		n += dlen;
	out = o = malloc(n);
	assert_non_null(out);
	for (const char *p = pattern; *p;) {
		if (p[0] == '$' && p[1] == 'D') {
			memcpy(o, f->dir, dlen);
			o += dlen;
			p += 2;
		} else {
			*o++ = *p++;
		}
	}
	*o = 0;
	return out;
}

/* Writes content (with "$D" expanded) to the file name relative to the fixture directory. */
static void write_at(const struct conf_fixture *f, const char *name, const char *content)
{
	_cleanup_free_ char *text = expand(f, content);

	tree_put(f->dir, name, text);
}

static int load(const struct conf_fixture *f, bool skip_runtime, struct lc_config **ret,
		char ***ret_errors)
{
	struct lc_config_files files = { .main = f->main, .skip_runtime = skip_runtime };

	return lc_config_load(sections, ARRAY_SIZE(sections), &files, ret, ret_errors);
}

static struct lc_config *load_ok(const struct conf_fixture *f)
{
	struct lc_config *cfg = NULL;
	char **errors = NULL;
	int r = load(f, false, &cfg, &errors);

	if (r < 0)
		fail_msg("load failed: %d, first error: %s", r, errors ? errors[0] : "(none)");
	assert_null(errors);
	assert_non_null(cfg);
	return cfg;
}

/* Loads and asserts that exactly the expected errors (NULL-terminated, "$D" expanded) come back,
 * in order. */
static void assert_load_errors(const struct conf_fixture *f, bool skip_runtime, ...)
{
	struct lc_config *sentinel = (struct lc_config *)0x1, *cfg = sentinel;
	_cleanup_strv_free_ char **errors = NULL;
	const char *expected;
	size_t i = 0;
	va_list ap;

	assert_int_equal(load(f, skip_runtime, &cfg, &errors), -EINVAL);
	assert_ptr_equal(cfg, sentinel);
	assert_non_null(errors);
	va_start(ap, skip_runtime);
	while ((expected = va_arg(ap, const char *))) {
		_cleanup_free_ char *e = expand(f, expected);

		if (!errors[i])
			fail_msg("missing error %zu: %s", i, e);
		assert_string_equal(errors[i], e);
		i++;
	}
	va_end(ap);
	if (errors[i])
		fail_msg("unexpected extra error: %s", errors[i]);
}

/* Writes content as the main file and asserts that loading it yields exactly one error. */
static void check_one_error(const struct conf_fixture *f, const char *content, const char *expected)
{
	write_at(f, "faultd.conf", content);
	assert_load_errors(f, true, expected, NULL);
}

/* ---- tests ---- */

static void test_defaults(void **state)
{
	struct conf_fixture *f = *state;
	struct lc_config_files files = { .main = f->main, .main_optional = true };
	struct lc_config *cfg = NULL;
	char **errors = (char **)0x1;
	const char *const *tags;

	assert_int_equal(lc_config_load(sections, ARRAY_SIZE(sections), &files, &cfg, &errors), 0);
	assert_null(errors);
	assert_string_equal(lc_config_main_path(cfg), f->main);
	assert_string_equal(lc_config_get_string(cfg, "state_dir"),
			    "/nonexistent/faultd-test-state");
	assert_int_equal(lc_config_get_int(cfg, "upload_interval_seconds"), 3600);
	assert_int_equal(lc_config_get_int(cfg, "clock_skew"), -5);
	assert_false(lc_config_get_bool(cfg, "data_collection"));
	assert_true(lc_config_get_bool(cfg, "statsd.enabled"));
	assert_string_equal(lc_config_get_string(cfg, "device.serial"), "");
	assert_string_equal(lc_config_get_string(cfg, "statsd.listen"), "127.0.0.1:8125");
	assert_int_equal(lc_config_get_int(cfg, "statsd.limits.max_metrics"), 1000);
	tags = lc_config_get_strv(cfg, "statsd.tags");
	assert_string_equal(tags[0], "env:prod");
	assert_null(tags[1]);
	assert_null(lc_config_get_strv(cfg, "statsd.paths")[0]);
	assert_string_equal(lc_config_origin(cfg, "upload_interval_seconds"), "default");
	assert_string_equal(lc_config_origin(cfg, "statsd.tags"), "default");
	assert_null(lc_config_free(cfg));
	assert_null(lc_config_free(NULL));
}

static void test_file_errors(void **state)
{
	struct conf_fixture *f = *state;
	_cleanup_free_ char *big = NULL;
	size_t n = 1024 * 1024;
	struct lc_config *cfg;

	/* Missing main file, when it was asked for explicitly. */
	assert_load_errors(f, true, "$D/faultd.conf: cannot read: No such file or directory", NULL);

	/* A directory where the file should be: unreadable. */
	tree_mkdir(f->dir, "faultd.conf");
	assert_load_errors(f, true, "$D/faultd.conf: cannot read: Is a directory", NULL);
	assert_int_equal(rmdir(f->main), 0);

	/* Exactly 1 MiB is accepted; one byte more is not. */
	big = malloc(n + 2);
	assert_non_null(big);
	memset(big, ' ', n + 1);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = 0;
	assert_int_equal(lc_write_file_atomic(f->main, big, n, 0644), 0);
	cfg = load_ok(f);
	lc_config_free(cfg);
	assert_int_equal(lc_write_file_atomic(f->main, big, n + 1, 0644), 0);
	assert_load_errors(f, true, "$D/faultd.conf: file too large (more than 1048576 bytes)",
			   NULL);

	/* An unreadable drop-in directory (a file in its place). */
	write_at(f, "faultd.conf", "{}");
	write_at(f, "faultd.conf.d", "not a directory");
	assert_load_errors(f, true, "$D/faultd.conf.d: cannot open directory: Not a directory",
			   NULL);
}

static void test_syntax_errors(void **state)
{
	struct conf_fixture *f = *state;

	check_one_error(
		f, "{\n  \"log_level\": \"info\",\n  \"upload_interval_seconds\" 2\n}",
		"$D/faultd.conf:3:29: syntax error: expected ':' after the member name, got "
		"'2'");
	check_one_error(f, "{\n  /* unterminated",
			"$D/faultd.conf:2:3: syntax error: unterminated comment");
	check_one_error(f, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
			"$D/faultd.conf:1:33: limit exceeded: nesting deeper than 32 levels");
	check_one_error(f, "[1, 2]",
			"$D/faultd.conf:1: expected an object at the top level, got [1, 2]");
	check_one_error(f, "\n\"text\"",
			"$D/faultd.conf:2: expected an object at the top level, got \"text\"");
}

static void test_empty_files_set_nothing(void **state)
{
	struct conf_fixture *f = *state;
	struct lc_config *cfg;

	/* A touched main file and a fully commented-out drop-in load as if absent. */
	write_at(f, "faultd.conf", "");
	tree_mkdir(f->dir, "faultd.conf.d");
	write_at(f, "faultd.conf.d/10-off.conf", "// {\"log_level\": \"debug\"}\n");
	cfg = load_ok(f);
	assert_string_equal(lc_config_get_string(cfg, "log_level"), "info");
	assert_string_equal(lc_config_origin(cfg, "log_level"), "default");
	lc_config_free(cfg);
}

static void test_type_errors(void **state)
{
	struct conf_fixture *f = *state;

	check_one_error(
		f, "{\n  \"upload_interval_seconds\": \"abc\"\n}",
		"$D/faultd.conf:2: upload_interval_seconds: expected an integer between 1 and "
		"86400, got \"abc\"");
	check_one_error(
		f, "{\"upload_interval_seconds\": 0}",
		"$D/faultd.conf:1: upload_interval_seconds: expected an integer between 1 and "
		"86400, got 0");
	check_one_error(
		f, "{\"upload_interval_seconds\": 86401}",
		"$D/faultd.conf:1: upload_interval_seconds: expected an integer between 1 and "
		"86400, got 86401");
	check_one_error(
		f, "{\"upload_interval_seconds\": 1.5}",
		"$D/faultd.conf:1: upload_interval_seconds: expected an integer between 1 and "
		"86400, got 1.5");
	check_one_error(
		f, "{\"upload_interval_seconds\": 1e30}",
		"$D/faultd.conf:1: upload_interval_seconds: expected an integer between 1 and "
		"86400, got 1e+30");
	check_one_error(f, "{\"clock_skew\": true}",
			"$D/faultd.conf:1: clock_skew: expected an integer, got true");
	check_one_error(f, "{\"data_collection\": \"yes\"}",
			"$D/faultd.conf:1: data_collection: expected a boolean, got \"yes\"");
	check_one_error(f, "{\"data_collection\": null}",
			"$D/faultd.conf:1: data_collection: expected a boolean, got null");
	check_one_error(f, "{\"log_level\": 12}",
			"$D/faultd.conf:1: log_level: expected a string, got 12");
	check_one_error(f, "{\"statsd\": {\"tags\": \"x\"}}",
			"$D/faultd.conf:1: statsd.tags: expected an array of strings, got \"x\"");
	check_one_error(f, "{\"statsd\": {\n\"tags\": [\"a\",\n 5]}}",
			"$D/faultd.conf:3: statsd.tags: item 2: expected a string, got 5");
	/* An object where a scalar is expected. */
	check_one_error(
		f, "{\"upload_interval_seconds\": {\"a\": 1}}",
		"$D/faultd.conf:1: upload_interval_seconds: expected an integer between 1 and "
		"86400, got {\"a\": 1}");
	check_one_error(
		f, "{\"device\": {\"serial\": {\"x\": [1, \"y\"]}}}",
		"$D/faultd.conf:1: device.serial: expected a string, got {\"x\": [1, \"y\"]}");
	/* A long found value is cut at 40 bytes. */
	check_one_error(
		f,
		"{\"data_collection\": "
		"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
		"$D/faultd.conf:1: data_collection: expected a boolean, got "
		"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...");
	check_one_error(
		f, "{\"data_collection\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]}",
		"$D/faultd.conf:1: data_collection: expected a boolean, got [1, 2, 3, 4, 5, 6, "
		"7, 8, 9, 10, 11, 12, ...");
	/* Sections must be objects. */
	check_one_error(
		f, "{\"device\": 5}",
		"$D/faultd.conf:1: device: expected an object (a section of settings), got 5");
	check_one_error(
		f, "{\"statsd\": [1, 2]}",
		"$D/faultd.conf:1: statsd: expected an object (a section of settings), got [1, "
		"2]");
	check_one_error(
		f, "{\"statsd\": {\"limits\": \"none\"}}",
		"$D/faultd.conf:1: statsd.limits: expected an object (a section of settings), "
		"got \"none\"");
}

static void test_value_errors(void **state)
{
	struct conf_fixture *f = *state;

	check_one_error(
		f, "{\"device\": {\"serial\": \"0123456789abcdefX\"}}",
		"$D/faultd.conf:1: device.serial: expected a string of at most 16 bytes, got "
		"17 bytes");
	check_one_error(f, "{\"log_level\": \"verbose\"}",
			"$D/faultd.conf:1: log_level: expected one of \"debug\", \"info\", "
			"\"warning\", \"error\", got \"verbose\"");
	check_one_error(
		f, "{\"state_dir\": \"relative/path\"}",
		"$D/faultd.conf:1: state_dir: expected an absolute path, got \"relative/path\"");
	check_one_error(
		f, "{\"statsd\": {\"paths\": [\"/ok\", \"rel\"]}}",
		"$D/faultd.conf:1: statsd.paths: item 2: expected an absolute path, got \"rel\"");
	check_one_error(f, "{\"statsd\": {\"tags\": [\"a\", \"b\", \"c\", \"d\"]}}",
			"$D/faultd.conf:1: statsd.tags: expected at most 3 items, got 4");
	check_one_error(f, "{\n  \"log_level\": \"info\",\n  \"log_level\": \"debug\"\n}",
			"$D/faultd.conf:3: log_level: duplicate key, first set at line 2");
	/* A duplicate across two objects of the same section is still a duplicate. */
	check_one_error(f, "{\"statsd\": {\"listen\": \"a\"},\n \"statsd\": {\"listen\": \"b\"}}",
			"$D/faultd.conf:2: statsd.listen: duplicate key, first set at line 1");
}

static void test_unknown_keys(void **state)
{
	struct conf_fixture *f = *state;

	check_one_error(f, "{\n\"upload_interval_secs\": 5}",
			"$D/faultd.conf:2: upload_interval_secs: unknown key; did you mean "
			"'upload_interval_seconds'?");
	check_one_error(
		f, "{\"statsd\": {\"listn\": \"x\"}}",
		"$D/faultd.conf:1: statsd.listn: unknown key; did you mean 'statsd.listen'?");
	check_one_error(f, "{\"statsdd\": {\"listen\": \"x\"}}",
			"$D/faultd.conf:1: statsdd: unknown key; did you mean 'statsd'?");
	check_one_error(f, "{\"log-level\": \"x\"}",
			"$D/faultd.conf:1: log-level: unknown key; did you mean 'log_level'?");
	check_one_error(f, "{\"completely_unrelated\": 1}",
			"$D/faultd.conf:1: completely_unrelated: unknown key");
	check_one_error(f, "{\"xyz\": 1}", "$D/faultd.conf:1: xyz: unknown key");
	check_one_error(f, "{\"bad\\u0001key\": 1}", "$D/faultd.conf:1: bad\\x01key: unknown key");
}

static void test_three_mistakes(void **state)
{
	struct conf_fixture *f = *state;

	write_at(f, "faultd.conf",
		 "// three mistakes, one per line 2, 5 and 8\n"
		 "{ \"upload_interval_seconds\": \"abc\",\n"
		 "  \"log_level\": \"info\",\n"
		 "  \"statsd\": {\n"
		 "    \"listn\": \"x\",\n"
		 "    \"enabled\": true,\n"
		 "  },\n"
		 "  \"data_collection\": 1,\n"
		 "}\n");
	assert_load_errors(
		f, true,
		"$D/faultd.conf:2: upload_interval_seconds: expected an integer between "
		"1 and 86400, got \"abc\"",
		"$D/faultd.conf:5: statsd.listn: unknown key; did you mean 'statsd.listen'?",
		"$D/faultd.conf:8: data_collection: expected a boolean, got 1", NULL);
}

static void test_errors_from_every_file(void **state)
{
	struct conf_fixture *f = *state;

	write_at(f, "faultd.conf", "{\"state_dir\": \"$D/state\",\n \"log_level\": \"loud\"}");
	tree_mkdir(f->dir, "faultd.conf.d");
	write_at(f, "faultd.conf.d/10-b.conf", "{\"statsd\": {\n\"listen\": }}");
	write_at(f, "faultd.conf.d/20-c.conf", "{\"statsd\": {\"enabled\": \"no\"}}");
	/* A damaged runtime.conf is not an error of the configuration (see test_runtime_damage). */
	write_at(f, "state/runtime.conf",
		 "{\"data_collection\": true,\n\"upload_interval_seconds\": 5}");
	assert_load_errors(
		f, false,
		"$D/faultd.conf:2: log_level: expected one of \"debug\", \"info\", "
		"\"warning\", \"error\", got \"loud\"",
		"$D/faultd.conf.d/10-b.conf:2:11: syntax error: expected a value, got '}'",
		"$D/faultd.conf.d/20-c.conf:1: statsd.enabled: expected a boolean, got \"no\"",
		NULL);

	/* Without runtime.conf the error list is the same. */
	assert_load_errors(
		f, true,
		"$D/faultd.conf:2: log_level: expected one of \"debug\", \"info\", "
		"\"warning\", \"error\", got \"loud\"",
		"$D/faultd.conf.d/10-b.conf:2:11: syntax error: expected a value, got '}'",
		"$D/faultd.conf.d/20-c.conf:1: statsd.enabled: expected a boolean, got \"no\"",
		NULL);
}

static void test_error_count_is_bounded(void **state)
{
	struct conf_fixture *f = *state;
	_cleanup_strv_free_ char **errors = NULL;
	struct lc_config *cfg = NULL;
	FILE *m = fopen(f->main, "we");
	size_t n = 0;

	assert_non_null(m);
	fputs("{\n", m);
	for (int i = 0; i < 150; i++)
		fprintf(m, "\"unknown_%d\": 1,\n", i);
	fputs("}\n", m);
	assert_int_equal(fclose(m), 0);
	assert_int_equal(load(f, true, &cfg, &errors), -EINVAL);
	while (errors[n])
		n++;
	assert_int_equal(n, 101);
	assert_string_equal(errors[100], "(and 50 more errors)");
}

static void test_merge_order(void **state)
{
	struct conf_fixture *f = *state;
	struct lc_config *cfg;
	const char *const *tags;
	_cleanup_free_ char *o = NULL;

	write_at(f, "faultd.conf",
		 "{\n"
		 "  \"state_dir\": \"$D/wrong\",\n"
		 "  \"upload_interval_seconds\": 100,\n"
		 "  \"log_level\": \"debug\",\n"
		 "  \"device\": {\"serial\": \"main\"},\n"
		 "  \"statsd\": {\"listen\": \"main\", \"tags\": [\"a\", \"b\", \"c\"]}\n"
		 "}\n");
	tree_mkdir(f->dir, "faultd.conf.d");
	write_at(f, "faultd.conf.d/05-a.conf",
		 "{\"upload_interval_seconds\": 200,\n"
		 " \"state_dir\": \"$D/state\",\n"
		 " \"statsd\": {\"listen\": \"05\",\n"
		 "   \"tags\": [\"x\"]}}");
	write_at(f, "faultd.conf.d/10-b.conf",
		 "{\n\"upload_interval_seconds\": 300, \"log_level\": \"error\"}");
	/* strcmp order: "9-z.conf" sorts after "10-b.conf". */
	write_at(f, "faultd.conf.d/9-z.conf", "{\"log_level\": \"warning\"}");
	/* Ignored: wrong suffix, a directory, a README. */
	write_at(f, "faultd.conf.d/99-off.conf.bak", "{\"upload_interval_seconds\": 999}");
	write_at(f, "faultd.conf.d/README", "not json");
	tree_mkdir(f->dir, "faultd.conf.d/50-dir.conf");
	/* runtime.conf is found in the state_dir the drop-ins settled on, not the main file's. */
	write_at(f, "state/runtime.conf", "// comment\n{\"data_collection\": true}");

	cfg = load_ok(f);
	assert_int_equal(lc_config_get_int(cfg, "upload_interval_seconds"), 300);
	o = expand(f, "$D/faultd.conf.d/10-b.conf:2");
	assert_string_equal(lc_config_origin(cfg, "upload_interval_seconds"), o);
	free(o);

	assert_string_equal(lc_config_get_string(cfg, "log_level"), "warning");
	o = expand(f, "$D/faultd.conf.d/9-z.conf:1");
	assert_string_equal(lc_config_origin(cfg, "log_level"), o);
	free(o);

	assert_string_equal(lc_config_get_string(cfg, "statsd.listen"), "05");
	o = expand(f, "$D/faultd.conf.d/05-a.conf:3");
	assert_string_equal(lc_config_origin(cfg, "statsd.listen"), o);
	free(o);

	/* Arrays replace, never merge. */
	tags = lc_config_get_strv(cfg, "statsd.tags");
	assert_string_equal(tags[0], "x");
	assert_null(tags[1]);
	o = expand(f, "$D/faultd.conf.d/05-a.conf:4");
	assert_string_equal(lc_config_origin(cfg, "statsd.tags"), o);
	free(o);

	assert_string_equal(lc_config_get_string(cfg, "device.serial"), "main");
	o = expand(f, "$D/faultd.conf:5");
	assert_string_equal(lc_config_origin(cfg, "device.serial"), o);
	free(o);

	assert_true(lc_config_get_bool(cfg, "data_collection"));
	o = expand(f, "$D/state/runtime.conf:2");
	assert_string_equal(lc_config_origin(cfg, "data_collection"), o);
	free(o);
	o = NULL;

	assert_string_equal(lc_config_origin(cfg, "developer_mode"), "default");
	assert_string_equal(lc_config_get_string(cfg, "device.hardware_version"), "evt");
	lc_config_free(cfg);

	/* skip_runtime leaves runtime.conf out. */
	assert_int_equal(load(f, true, &cfg, NULL), 0);
	assert_false(lc_config_get_bool(cfg, "data_collection"));
	lc_config_free(cfg);
}

static void test_explicit_dropin_dir(void **state)
{
	struct conf_fixture *f = *state;
	struct lc_config_files files = { .main = f->main, .skip_runtime = true };
	_cleanup_free_ char *dir = expand(f, "$D/other.d");
	struct lc_config *cfg = NULL;

	write_at(f, "faultd.conf", "{}");
	tree_mkdir(f->dir, "faultd.conf.d");
	write_at(f, "faultd.conf.d/a.conf", "{\"clock_skew\": 1}");
	tree_mkdir(f->dir, "other.d");
	write_at(f, "other.d/a.conf", "{\"clock_skew\": 2}");
	files.dropin_dir = dir;
	assert_int_equal(lc_config_load(sections, ARRAY_SIZE(sections), &files, &cfg, NULL), 0);
	assert_int_equal(lc_config_get_int(cfg, "clock_skew"), 2);
	lc_config_free(cfg);
}

static void test_dotted_member_names(void **state)
{
	struct conf_fixture *f = *state;
	struct lc_config *cfg;

	/* A member may spell a nested key with dots; it names the same key. */
	write_at(f, "faultd.conf",
		 "{\"statsd.limits.max_line\": 100, \"statsd\": {\"limits\": {\"max_metrics\": "
		 "7}}}");
	cfg = load_ok(f);
	assert_int_equal(lc_config_get_int(cfg, "statsd.limits.max_line"), 100);
	assert_int_equal(lc_config_get_int(cfg, "statsd.limits.max_metrics"), 7);
	lc_config_free(cfg);
}

static void assert_origin(const struct conf_fixture *f, const struct lc_config *cfg,
			  const char *key, const char *pattern)
{
	_cleanup_free_ char *o = expand(f, pattern);

	assert_string_equal(lc_config_origin(cfg, key), o);
}

static void test_runtime_round_trip(void **state)
{
	struct conf_fixture *f = *state;
	_cleanup_free_ char *text = NULL;
	struct lc_config *cfg, *again;
	size_t size;

	write_at(f, "faultd.conf", "{\"state_dir\": \"$D/state\"}");
	write_at(f, "state/runtime.conf", "{\"update_channel\": \"beta \\\"q\\\" \\u00e9\"}");
	cfg = load_ok(f);
	assert_string_equal(lc_config_get_string(cfg, "update_channel"), "beta \"q\" \xc3\xa9");

	assert_int_equal(lc_config_set_runtime_bool(cfg, "data_collection", true), 0);
	assert_int_equal(lc_config_set_runtime_bool(cfg, "statsd.enabled", false), 0);
	assert_true(lc_config_get_bool(cfg, "data_collection"));
	assert_false(lc_config_get_bool(cfg, "statsd.enabled"));

	assert_int_equal(lc_read_file(f->runtime, 65536, &text, &size), 0);
	assert_string_equal(text, "// Written by faultctl: runtime settings (consent, developer "
				  "mode). Edits are\n"
				  "// overwritten the next time faultctl changes a setting.\n"
				  "{\n"
				  "\t\"data_collection\": true,\n"
				  "\t\"update_channel\": \"beta \\\"q\\\" \xc3\xa9\",\n"
				  "\t\"statsd\": {\n"
				  "\t\t\"enabled\": false\n"
				  "\t}\n"
				  "}\n");
	assert_origin(f, cfg, "data_collection", "$D/state/runtime.conf:4");
	assert_origin(f, cfg, "update_channel", "$D/state/runtime.conf:5");
	assert_origin(f, cfg, "statsd.enabled", "$D/state/runtime.conf:7");
	assert_origin(f, cfg, "developer_mode", "default");

	/* Reloading from disk gives the same values and origins. */
	again = load_ok(f);
	assert_true(lc_config_get_bool(again, "data_collection"));
	assert_false(lc_config_get_bool(again, "statsd.enabled"));
	assert_string_equal(lc_config_get_string(again, "update_channel"), "beta \"q\" \xc3\xa9");
	for (const char *const *k =
		     (const char *const[]){ "data_collection", "update_channel", "statsd.enabled",
					    "developer_mode", NULL };
	     *k; k++)
		assert_string_equal(lc_config_origin(again, *k), lc_config_origin(cfg, *k));

	/* Setting back to the default value keeps the key in runtime.conf. */
	assert_int_equal(lc_config_set_runtime_bool(again, "data_collection", false), 0);
	lc_config_free(again);
	again = load_ok(f);
	assert_false(lc_config_get_bool(again, "data_collection"));
	assert_origin(f, again, "data_collection", "$D/state/runtime.conf:4");
	lc_config_free(again);
	lc_config_free(cfg);
}

/* A runtime.conf faultd cannot apply (flash damage, a hand edit) neither stops it nor turns on
 * what the file may have turned off: every runtime boolean is off until faultctl rewrites it. */
static void test_runtime_damage(void **state)
{
	static const char *const damaged[] = {
		"{\"data_collection\": tru",				 /* truncated */
		"\x01\x02garbage\xff",					 /* not JSON */
		"[true]",						 /* not an object */
		"{\"data_collection\": \"yes\"}",			 /* wrong type */
		"{\"data_collection\": true, \"log_level\": \"debug\"}", /* not a runtime key */
		"",							 /* cut short to nothing */
	};
	static const char *const why[] = {
		"$D/state/runtime.conf:1:21: syntax error: ",
		"$D/state/runtime.conf:1:1: syntax error: ",
		"$D/state/runtime.conf:1: expected an object at the top level",
		"$D/state/runtime.conf:1: data_collection: expected a boolean",
		"$D/state/runtime.conf:1: log_level: may not be set in runtime.conf",
		"$D/state/runtime.conf:1: no settings (faultd never writes it empty)",
	};
	struct conf_fixture *f = *state;

	for (size_t i = 0; i < ARRAY_SIZE(damaged); i++) {
		_cleanup_free_ char *prefix = expand(f, why[i]);
		_cleanup_free_ char *origin = expand(f, "$D/state/runtime.conf (damaged: off)");
		struct lc_config *cfg, *again;

		/* The main file turns everything on; the damaged layer must still win. */
		write_at(f, "faultd.conf",
			 "{\"state_dir\": \"$D/state\", \"data_collection\": true,\n"
			 " \"developer_mode\": true, \"log_level\": \"error\"}");
		write_at(f, "state/runtime.conf", damaged[i]);
		cfg = load_ok(f);
		assert_non_null(lc_config_runtime_damage(cfg));
		if (strncmp(lc_config_runtime_damage(cfg), prefix, strlen(prefix)) != 0)
			fail_msg("case %zu: damage \"%s\", expected it to start with \"%s\"", i,
				 lc_config_runtime_damage(cfg), prefix);
		assert_false(lc_config_get_bool(cfg, "data_collection"));
		assert_false(lc_config_get_bool(cfg, "developer_mode"));
		assert_string_equal(lc_config_origin(cfg, "data_collection"), origin);
		/* Nothing of the damaged file is applied, and the other layers are. */
		assert_string_equal(lc_config_get_string(cfg, "log_level"), "error");

		/* faultctl writing the file anew repairs it. */
		assert_int_equal(lc_config_set_runtime_bool(cfg, "data_collection", true), 0);
		assert_null(lc_config_runtime_damage(cfg));
		again = load_ok(f);
		assert_null(lc_config_runtime_damage(again));
		assert_true(lc_config_get_bool(again, "data_collection"));
		assert_false(lc_config_get_bool(again, "developer_mode"));
		lc_config_free(again);
		lc_config_free(cfg);
	}
}

static void test_runtime_set_refusals(void **state)
{
	struct conf_fixture *f = *state;
	_cleanup_free_ char *before = NULL;
	struct lc_config *cfg;

	write_at(f, "faultd.conf",
		 "{\"state_dir\": \"$D/state\", \"upload_interval_seconds\": 60}");
	cfg = load_ok(f);
	assert_int_equal(lc_config_set_runtime_bool(cfg, "upload_interval_seconds", true), -EPERM);
	assert_int_equal(lc_config_set_runtime_bool(cfg, "log_level", true), -EPERM);
	assert_int_equal(lc_config_set_runtime_bool(cfg, "update_channel", true), -EINVAL);
	assert_int_equal(lc_config_set_runtime_bool(cfg, "no_such_key", true), -ENOENT);
	assert_int_equal(access(f->runtime, F_OK), -1);

	/* A failed write leaves the configuration as it was. */
	assert_int_equal(rmdir(f->state), 0);
	before = strdup(lc_config_origin(cfg, "data_collection"));
	assert_int_equal(lc_config_set_runtime_bool(cfg, "data_collection", true), -ENOENT);
	assert_false(lc_config_get_bool(cfg, "data_collection"));
	assert_string_equal(lc_config_origin(cfg, "data_collection"), before);
	assert_int_equal(mkdir(f->state, 0755), 0);
	lc_config_free(cfg);
}

static void test_to_json_and_redaction(void **state)
{
	struct conf_fixture *f = *state;
	struct lc_config *cfg;
	json_object *j, *o, *leaf;
	_cleanup_free_ char *origin = NULL;

	write_at(f, "faultd.conf", "{\"state_dir\": \"$D/state\",\n\"project_key\": \"s3cr3t\"}");
	cfg = load_ok(f);
	assert_string_equal(lc_config_get_string(cfg, "project_key"), "s3cr3t");

	j = lc_config_to_json(cfg, false, true);
	assert_non_null(j);
	assert_true(json_object_object_get_ex(j, "project_key", &o));
	assert_string_equal(json_object_get_string(o), "(secret)");
	assert_true(json_object_object_get_ex(j, "statsd", &o));
	assert_true(json_object_object_get_ex(o, "limits", &o));
	assert_true(json_object_object_get_ex(o, "max_line", &o));
	assert_int_equal(json_object_get_int64(o), 512);
	assert_true(json_object_object_get_ex(j, "statsd", &o));
	assert_true(json_object_object_get_ex(o, "tags", &o));
	assert_int_equal(json_object_array_length(o), 1);
	assert_true(json_object_object_get_ex(j, "device", &o));
	assert_true(json_object_object_get_ex(o, "hardware_version", &o));
	assert_string_equal(json_object_get_string(o), "evt");
	json_object_put(j);

	j = lc_config_to_json(cfg, false, false);
	assert_true(json_object_object_get_ex(j, "project_key", &o));
	assert_string_equal(json_object_get_string(o), "s3cr3t");
	json_object_put(j);

	j = lc_config_to_json(cfg, true, true);
	assert_true(json_object_object_get_ex(j, "project_key", &o));
	assert_true(json_object_object_get_ex(o, "value", &leaf));
	assert_string_equal(json_object_get_string(leaf), "(secret)");
	assert_true(json_object_object_get_ex(o, "origin", &leaf));
	origin = expand(f, "$D/faultd.conf:2");
	assert_string_equal(json_object_get_string(leaf), origin);
	assert_true(json_object_object_get_ex(j, "upload_interval_seconds", &o));
	assert_true(json_object_object_get_ex(o, "origin", &leaf));
	assert_string_equal(json_object_get_string(leaf), "default");
	json_object_put(j);
	lc_config_free(cfg);
}

static char *print_to_string(const struct lc_config *cfg)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *m = open_memstream(&buf, &size);

	assert_non_null(m);
	assert_int_equal(lc_config_print(cfg, m), 0);
	assert_int_equal(fclose(m), 0);
	return buf;
}

static void test_print(void **state)
{
	struct conf_fixture *f = *state;
	_cleanup_free_ char *out = NULL, *line = NULL;
	struct lc_config *cfg, *again;

	write_at(f, "faultd.conf",
		 "{\"state_dir\": \"$D/state\",\n\"project_key\": \"s3cr3t\",\n"
		 "\"statsd\": {\"tags\": [\"a\", \"b\\n\"]}}");
	cfg = load_ok(f);
	out = print_to_string(cfg);
	assert_null(strstr(out, "s3cr3t"));
	line = expand(f, "\t\"project_key\": \"(secret)\", // $D/faultd.conf:2\n");
	assert_non_null(strstr(out, line));
	assert_non_null(strstr(out, "\t\"upload_interval_seconds\": 3600, // default\n"));
	assert_non_null(strstr(out, "\t\"device\": {\n\t\t\"serial\": \"\", // default\n"
				    "\t\t\"hardware_version\": \"evt\" // default\n\t},\n"));
	assert_non_null(strstr(out, "\t\t\"limits\": {\n\t\t\t\"max_metrics\": 1000, // default\n"
				    "\t\t\t\"max_line\": 512 // default\n\t\t},\n"));
	free(line);
	line = expand(f, "\t\t\"tags\": [\"a\", \"b\\n\"], // $D/faultd.conf:3\n");
	assert_non_null(strstr(out, line));
	assert_int_equal(out[0], '{');
	assert_string_equal(out + strlen(out) - 3, "\n}\n");

	/* The printed configuration is itself a valid configuration file with the same values. */
	write_at(f, "printed.conf", out);
	snprintf(f->main, sizeof(f->main), "%s/printed.conf", f->dir);
	assert_int_equal(load(f, true, &again, NULL), 0);
	assert_string_equal(lc_config_get_string(again, "project_key"), "(secret)");
	assert_string_equal(lc_config_get_strv(again, "statsd.tags")[1], "b\n");
	assert_int_equal(lc_config_get_int(again, "clock_skew"), -5);
	lc_config_free(again);
	lc_config_free(cfg);
	snprintf(f->main, sizeof(f->main), "%s/faultd.conf", f->dir);
}

static char *template_to_string(void)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *m = open_memstream(&buf, &size);

	assert_non_null(m);
	assert_int_equal(lc_config_print_template(sections, ARRAY_SIZE(sections), m), 0);
	assert_int_equal(fclose(m), 0);
	return buf;
}

/* Every value equals its default; with_default_origin also asks that no file set it. */
static void assert_all_defaults(const struct lc_config *cfg, bool with_default_origin)
{
	for (size_t s = 0; s < ARRAY_SIZE(sections); s++)
		for (size_t k = 0; k < sections[s].n_keys; k++) {
			const struct lc_cfg_key *key = &sections[s].keys[k];
			_cleanup_free_ char *name = NULL;

			if (sections[s].name)
				assert_true(asprintf(&name, "%s.%s", sections[s].name, key->name) >
					    0);
			else
				name = strdup(key->name);
			if (with_default_origin)
				assert_string_equal(lc_config_origin(cfg, name), "default");
			else
				assert_string_not_equal(lc_config_origin(cfg, name), "default");
			switch (key->type) {
			case LC_CFG_BOOL:
				assert_int_equal(lc_config_get_bool(cfg, name), key->def_bool);
				break;
			case LC_CFG_INT:
				assert_int_equal(lc_config_get_int(cfg, name), key->def_int);
				break;
			case LC_CFG_STRING:
				assert_string_equal(lc_config_get_string(cfg, name),
						    key->def_string ? key->def_string : "");
				break;
			case LC_CFG_STRV: {
				const char *const *v = lc_config_get_strv(cfg, name);
				size_t i = 0;

				for (; key->def_strv && key->def_strv[i]; i++)
					assert_string_equal(v[i], key->def_strv[i]);
				assert_null(v[i]);
				break;
			}
			}
		}
}

static void test_template(void **state)
{
	struct conf_fixture *f = *state;
	_cleanup_free_ char *out = template_to_string();
	_cleanup_free_ char *uncommented = malloc(strlen(out) + 1);
	struct lc_config *cfg;
	char *o = uncommented;

	assert_non_null(strstr(out, "\t// type: integer, 1..86400, default: 3600\n"
				    "\t// \"upload_interval_seconds\": 3600,\n"));
	assert_non_null(strstr(out, "\t// How often collected data is uploaded."));
	assert_non_null(strstr(out, "\t// The first upload happens shortly after start.\n"));
	assert_non_null(strstr(out, "\t// type: string, one of \"debug\", \"info\", \"warning\", "
				    "\"error\", default: \"info\"\n"));
	assert_non_null(strstr(out, "\t// type: boolean, may be set at run time with faultctl, "
				    "default: false\n\t// \"data_collection\": false,\n"));
	assert_non_null(strstr(out, "\t// type: string, secret, default: \"\"\n"));
	assert_non_null(strstr(out, "\t// The statsd receiver: UDP, statsd line protocol.\n"
				    "\t// \"statsd\": {\n"));
	assert_non_null(strstr(out, "\t\t// type: array of strings, at most 3 items, default: "
				    "[\"env:prod\"]\n\t\t// \"tags\": [\"env:prod\"],\n"));
	assert_non_null(strstr(out, "\t\t// \"limits\": {\n"));
	assert_non_null(strstr(out, "\t\t\t// \"max_line\": 512,\n"));
	assert_non_null(strstr(out, "\t// \"device\": {\n\t\t// type: string, at most 16 bytes, "
				    "default: \"\"\n\t\t// \"serial\": \"\",\n"));

	/* Descriptions are wrapped: no line is wider than 90 columns, a tab counting 8. */
	for (const char *line = out; *line;) {
		size_t col = 0;
		const char *p = line;

		for (; *p && *p != '\n'; p++)
			col += *p == '\t' ? 8 : 1;
		if (col > 90)
			fail_msg("line too long (%zu): %.*s", col, (int)(p - line), line);
		line = *p ? p + 1 : p;
	}

	/* Loaded as it is, the template yields every default and no error. */
	write_at(f, "faultd.conf", out);
	cfg = load_ok(f);
	assert_all_defaults(cfg, true);
	lc_config_free(cfg);

	/* Uncommenting every setting and section line sets every key to its default. */
	for (const char *line = out; *line;) {
		const char *p = line, *end = strchrnul(line, '\n');

		while (*p == '\t')
			p++;
		if (strncmp(p, "// \"", 4) == 0 || strncmp(p, "// }", 4) == 0) {
			memcpy(o, line, (size_t)(p - line));
			o += p - line;
			p += 3;
		} else {
			p = line;
		}
		memcpy(o, p, (size_t)(end - p));
		o += end - p;
		if (*end == '\n')
			*o++ = '\n';
		line = *end ? end + 1 : end;
	}
	*o = 0;
	write_at(f, "faultd.conf", uncommented);
	cfg = load_ok(f);
	assert_all_defaults(cfg, false);
	lc_config_free(cfg);
}

static bool aborts(void (*fn)(const struct lc_config *), const struct lc_config *cfg)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		fn(cfg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void get_unknown(const struct lc_config *cfg)
{
	(void)lc_config_get_int(cfg, "no_such_key");
}

static void get_wrong_type(const struct lc_config *cfg)
{
	(void)lc_config_get_bool(cfg, "upload_interval_seconds");
}

static void get_wrong_type_strv(const struct lc_config *cfg)
{
	(void)lc_config_get_strv(cfg, "statsd.listen");
}

static void origin_unknown(const struct lc_config *cfg)
{
	(void)lc_config_origin(cfg, "statsd");
}

static void get_right(const struct lc_config *cfg)
{
	(void)lc_config_get_int(cfg, "upload_interval_seconds");
}

static void test_getters_abort_on_misuse(void **state)
{
	struct conf_fixture *f = *state;
	struct lc_config_files files = { .main = f->main, .main_optional = true };
	struct lc_config *cfg = NULL;

	assert_int_equal(lc_config_load(sections, ARRAY_SIZE(sections), &files, &cfg, NULL), 0);
	assert_true(aborts(get_unknown, cfg));
	assert_true(aborts(get_wrong_type, cfg));
	assert_true(aborts(get_wrong_type_strv, cfg));
	assert_true(aborts(origin_unknown, cfg));
	assert_false(aborts(get_right, cfg));
	lc_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_files_set_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_value_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_three_mistakes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors_from_every_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_count_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explicit_dropin_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dotted_member_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runtime_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runtime_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runtime_set_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_to_json_and_redaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_print, setup, teardown),
		cmocka_unit_test_setup_teardown(test_template, setup, teardown),
		cmocka_unit_test_setup_teardown(test_getters_abort_on_misuse, setup, teardown),
	};

	lc_log_set_ratelimit(false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
