/* SPDX-License-Identifier: MIT */
/* The coredump plugin run by the plugin host on a fake /proc/sys/kernel: the core_pattern it
 * writes, only with its handler in the fake tree and only with consent, what it saves and gives
 * back, the check that warns without fighting, and the crash counts in its status and in the
 * heartbeat's metrics. */
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

#include "build-config.h"
#include "config.h"
#include "coredump-plugin.h"
#include "crashlog.h"
#include "fileio.h"
#include "harness-fs.h"
#include "harness-plugin.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"
#include "plugin-host.h"

#define HANDLER	    "/usr/libexec/faultd-core-handler"
#define ARGS	    " %P %I %s %t %u %g"
#define PATTERN_REL "proc/sys/kernel/core_pattern"
#define LIMIT_REL   "proc/sys/kernel/core_pipe_limit"
#define SAVED_REL   "state/coredump-kernel.json"
#define HANDLER_REL "root" HANDLER

struct fixture {
	struct plugin_harness *ph;
	const char *tmp;   /* ph's tree */
	const char *root;  /* the sysroot: the tree's root */
	const char *state; /* state_dir: the tree's state */
	char *conf;	   /* the main configuration file */
	bool consent_off;  /* "enable_data_collection": false in the configuration */
};

static void put_handler(struct fixture *f, mode_t mode);

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct lc_metrics_limits limits = { .max_keys = 2048, .max_set_members = 16 };

	if (!f)
		return -1;
	f->ph = plugin_harness_new(&coredump_plugin_ops, "coredump-plugin", &limits);
	f->tmp = f->ph->tree->dir;
	f->root = f->ph->tree->root;
	f->state = f->ph->tree->state;
	if (asprintf(&f->conf, "%s/faultd.conf", f->tmp) < 0 || lc_mkdir_p(f->state, 0700) < 0)
		return -1;
	*state = f;
	put_handler(f, 0755);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	plugin_harness_free(f->ph);
	free(f->conf);
	free(f);
	return 0;
}

/* ---- the fake tree ---- */

/* <tmp>/rel's content without its trailing newline (owned), or NULL when it does not exist. */
static char *get(struct fixture *f, const char *rel)
{
	char *text;
	size_t len = 0;

	if (!tree_exists(f->tmp, rel))
		return NULL;
	text = tree_read(f->tmp, rel, &len);
	while (len > 0 && text[len - 1] == '\n')
		text[--len] = 0;
	return text;
}

static void assert_file(struct fixture *f, const char *rel, const char *want)
{
	_cleanup_free_ char *got = get(f, rel);

	if (!got)
		fail_msg("%s does not exist, expected \"%s\"", rel, want);
	if (!streq(got, want))
		fail_msg("%s holds \"%s\", expected \"%s\"", rel, got, want);
}

/* The handler the pattern names, installed in the fake tree with mode (as setup() does). */
static void put_handler(struct fixture *f, mode_t mode)
{
	_cleanup_free_ char *path = tree_path(f->tmp, HANDLER_REL);

	tree_put(f->tmp, HANDLER_REL, "#!/bin/sh\nexit 0\n");
	assert_int_equal(chmod(path, mode), 0);
}

/* The kernel's files as a machine that never met faultd has them. */
static void put_kernel(struct fixture *f, const char *pattern, const char *limit)
{
	char text[256];

	snprintf(text, sizeof(text), "%s\n", pattern);
	tree_put(f->tmp, "root/" PATTERN_REL, text);
	snprintf(text, sizeof(text), "%s\n", limit);
	tree_put(f->tmp, "root/" LIMIT_REL, text);
}

/* The pattern faultd sets with the fixture's configuration file. */
static char *our_pattern(struct fixture *f)
{
	char *p = NULL;

	assert_true(asprintf(&p, "|" HANDLER " -c %s%s", f->conf, ARGS) > 0);
	return p;
}

/* ---- running the plugin ---- */

/*
 * Loads the configuration with the "coredump" section's members (JSON, may be "") into the
 * harness, from the main file f->conf or, with builtin_path, from a drop-in of the built-in
 * FAULTD_CONF_PATH (which must not exist).
 */
static void load_config(struct fixture *f, const char *section, bool builtin_path)
{
	_cleanup_free_ char *text = NULL, *dropins = NULL, *error = NULL;
	bool handler = strstr(section, "\"handler\"");
	int r;

	/* HANDLER unless the section names another. */
	assert_true(asprintf(&text,
			     "{\"state_dir\": \"%s\", \"sysroot\": \"%s\", "
			     "\"enable_data_collection\": %s, \"coredump\": {%s%s%s}}",
			     f->state, f->root, f->consent_off ? "false" : "true",
			     handler ? "" : "\"handler\": \"" HANDLER "\"",
			     section[0] && !handler ? ", " : "", section) > 0);
	if (builtin_path) {
		struct lc_config_files files = { .main = FAULTD_CONF_PATH,
						 .main_optional = true,
						 .skip_runtime = true };

		dropins = tree_path(f->tmp, "conf.d");
		tree_put(f->tmp, "conf.d/10-test.conf", text);
		files.dropin_dir = dropins;
		r = plugin_harness_load_files(f->ph, &files, &f->ph->cfg, &error);
	} else {
		assert_string_equal(f->ph->conf, f->conf);
		r = plugin_harness_load(f->ph, text, &f->ph->cfg, &error);
	}
	if (r < 0)
		fail_msg("configuration: %s", error);
}

/* Starts a host with the plugin under a configuration as load_config() makes it; returns the
 * plugin's state. */
static enum lc_plugin_state start_with(struct fixture *f, const char *section, bool builtin_path)
{
	load_config(f, section, builtin_path);
	plugin_harness_start(f->ph);
	return lc_plugin_host_state(f->ph->host, 0);
}

/* What the core does on SIGHUP: the plugins stop, then start with the new configuration. */
static enum lc_plugin_state reload(struct fixture *f, const char *section)
{
	lc_plugin_host_stop(f->ph->host);
	f->ph->cfg = lc_config_free(f->ph->cfg);
	load_config(f, section, false);
	lc_plugin_host_start(f->ph->host, f->ph->cfg);
	return lc_plugin_host_state(f->ph->host, 0);
}

static void start(struct fixture *f, const char *section)
{
	assert_int_equal(start_with(f, section, false), LC_PLUGIN_RUNNING);
}

static bool status_ours(struct fixture *f)
{
	json_object *st = plugin_harness_status(f->ph);
	bool ours = json_object_get_boolean(plugin_harness_member(st, "core_pattern.ours"));

	json_object_put(st);
	return ours;
}

static bool pattern_ours(void *userdata)
{
	return status_ours(userdata);
}

static bool pattern_not_ours(void *userdata)
{
	return !status_ours(userdata);
}

/* The plugin's message in the host's status (owned), or NULL when it has none. */
static char *message(struct fixture *f)
{
	json_object *all = lc_plugin_host_status(f->ph->host), *m;
	char *text = NULL;

	if (json_object_object_get_ex(json_object_array_get_idx(all, 0), "message", &m))
		text = strdup(json_object_get_string(m));
	json_object_put(all);
	return text;
}

static void assert_message_has(struct fixture *f, const char *want)
{
	_cleanup_free_ char *got = message(f);

	if (!got)
		fail_msg("no message in the plugin's status, expected one with \"%s\"", want);
	if (!strstr(got, want))
		fail_msg("message \"%s\" lacks \"%s\"", got, want);
}

static void assert_no_message(struct fixture *f)
{
	_cleanup_free_ char *got = message(f);

	if (got)
		fail_msg("unexpected message in the plugin's status: \"%s\"", got);
}

static void crash(struct fixture *f, const char *process, int n)
{
	struct lc_crash_report r = { .pid = 100, .signal = 11, .time_ms = 1 };

	snprintf(r.process, sizeof(r.process), "%s", process);
	snprintf(r.core, sizeof(r.core), "%s", LC_CRASH_CORE_STORED);
	for (int i = 0; i < n; i++)
		lc_plugin_host_crash(f->ph->host, &r);
}

/* ---- tests ---- */

static void test_pattern_set_saved_and_left_in_place(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *ours = our_pattern(f), *saved = NULL;
	json_object *st;

	put_kernel(f, "core", "0");
	start(f, "");
	assert_file(f, "root/" PATTERN_REL, ours);
	assert_file(f, "root/" LIMIT_REL, "16");
	saved = get(f, SAVED_REL);
	assert_non_null(saved);
	assert_non_null(strstr(saved, "\"core_pattern\":\"core\""));
	assert_non_null(strstr(saved, "\"core_pipe_limit\":0"));

	st = plugin_harness_status(f->ph);
	assert_true(json_object_get_boolean(plugin_harness_member(st, "core_pattern.ours")));
	assert_string_equal(json_object_get_string(plugin_harness_member(st, "core_pattern.value")),
			    ours);
	assert_string_equal(json_object_get_string(plugin_harness_member(st, "expected")), ours);
	assert_int_equal(json_object_get_int64(plugin_harness_member(st, "core_pipe_limit")), 16);
	assert_int_equal(json_object_get_int64(plugin_harness_member(st, "crashes.total")), 0);
	json_object_put(st);

	/* A normal stop leaves it: the handler works without faultd. */
	plugin_harness_stop(f->ph);
	assert_file(f, "root/" PATTERN_REL, ours);
	assert_file(f, "root/" LIMIT_REL, "16");

	/* The next start finds its own pattern: what it saved stays what the kernel had. */
	start(f, "");
	plugin_harness_stop(f->ph);
	assert_file(f, "root/" PATTERN_REL, ours);
	free(saved);
	saved = get(f, SAVED_REL);
	assert_non_null(strstr(saved, "\"core_pattern\":\"core\""));
	assert_non_null(strstr(saved, "\"core_pipe_limit\":0"));
}

static void test_reload_that_disables_gives_the_settings_back(void **state)
{
	struct fixture *f = *state;
	const char *theirs = "|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h";
	_cleanup_free_ char *ours = our_pattern(f), *saved = NULL;

	put_kernel(f, theirs, "0");
	start(f, "");
	assert_file(f, "root/" PATTERN_REL, ours);
	assert_int_equal(reload(f, "\"enabled\": false"), LC_PLUGIN_DISABLED);
	assert_file(f, "root/" PATTERN_REL, theirs);
	assert_file(f, "root/" LIMIT_REL, "0");
	saved = get(f, SAVED_REL);
	assert_null(saved);

	/* Taken again by a reload that enables it, and again given back. */
	assert_int_equal(reload(f, ""), LC_PLUGIN_RUNNING);
	assert_file(f, "root/" PATTERN_REL, ours);
	assert_int_equal(reload(f, "\"enabled\": false"), LC_PLUGIN_DISABLED);
	assert_file(f, "root/" PATTERN_REL, theirs);

	/* A reload that finds it off already does nothing. */
	put_kernel(f, "|/opt/other/faultd-core-handler %P", "16");
	assert_int_equal(reload(f, "\"enabled\": false"), LC_PLUGIN_DISABLED);
	plugin_harness_stop(f->ph);
	assert_file(f, "root/" PATTERN_REL, "|/opt/other/faultd-core-handler %P");
	assert_file(f, "root/" LIMIT_REL, "16");
}

static void test_start_with_the_plugin_off_touches_nothing(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *ours = our_pattern(f), *saved = NULL;

	/* faultd set it, then was restarted with the plugin off (as beside the sysctl.d file). */
	put_kernel(f, "core", "0");
	start(f, "");
	plugin_harness_stop(f->ph);
	assert_int_equal(start_with(f, "\"enabled\": false", false), LC_PLUGIN_DISABLED);
	plugin_harness_stop(f->ph);
	assert_file(f, "root/" PATTERN_REL, ours);
	assert_file(f, "root/" LIMIT_REL, "16");
	saved = get(f, SAVED_REL);
	assert_non_null(saved);
}

static void test_reload_that_disables_leaves_what_others_set(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *saved = NULL;

	put_kernel(f, "core", "0");
	start(f, "");
	/* Someone else took both after faultd. */
	put_kernel(f, "|/usr/share/apport/apport %p %s %c", "4");
	assert_int_equal(reload(f, "\"enabled\": false"), LC_PLUGIN_DISABLED);
	plugin_harness_stop(f->ph);
	assert_file(f, "root/" PATTERN_REL, "|/usr/share/apport/apport %p %s %c");
	assert_file(f, "root/" LIMIT_REL, "4");
	saved = get(f, SAVED_REL);
	assert_null(saved);
}

static void test_builtin_configuration_path_has_no_c(void **state)
{
	struct fixture *f = *state;

	if (access(FAULTD_CONF_PATH, F_OK) == 0)
		skip(); /* this machine's own file would be read */
	put_kernel(f, "core", "0");
	assert_int_equal(start_with(f, "", true), LC_PLUGIN_RUNNING);
	assert_file(f, "root/" PATTERN_REL, "|" HANDLER ARGS);
	plugin_harness_stop(f->ph);
}

static void test_pipe_limit_someone_set_is_kept(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *saved = NULL;

	put_kernel(f, "core", "4");
	start(f, "");
	plugin_harness_stop(f->ph);
	assert_file(f, "root/" LIMIT_REL, "4");
	saved = get(f, SAVED_REL);
	assert_non_null(saved);
	assert_null(strstr(saved, "core_pipe_limit"));
}

static void test_pattern_already_set_is_not_saved(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *ours = our_pattern(f), *saved = NULL;

	/* As the sysctl.d file leaves it: nothing to replace, nothing to give back. */
	put_kernel(f, ours, "16");
	start(f, "");
	assert_true(status_ours(f));
	plugin_harness_stop(f->ph);
	saved = get(f, SAVED_REL);
	assert_null(saved);
	assert_file(f, "root/" PATTERN_REL, ours);
}

static void test_impossible_patterns_are_refused(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *longdir = NULL, *text = NULL;

	put_kernel(f, "core", "0");

	/* A configuration path that makes the pattern longer than the kernel's 127 bytes. */
	free(f->conf);
	assert_true(asprintf(&longdir,
			     "%s/a-directory-with-quite-a-long-name-for-the-test-0123456789",
			     f->tmp) > 0);
	assert_true(asprintf(&f->conf, "%s/faultd.conf", longdir) > 0);
	assert_true(strlen("|" HANDLER " -c " ARGS) + strlen(f->conf) > 127);
	assert_true(asprintf(&text, "{\"state_dir\": \"%s\", \"sysroot\": \"%s\"}", f->state,
			     f->root) > 0);
	assert_int_equal(lc_mkdir_p(longdir, 0755), 0);
	{
		struct lc_config_files files = { .main = f->conf, .skip_runtime = true };

		assert_int_equal(lc_write_file_atomic(f->conf, text, strlen(text), 0600), 0);
		assert_int_equal(plugin_harness_load_files(f->ph, &files, &f->ph->cfg, NULL), 0);
		assert_int_equal(plugin_harness_start(f->ph), 0);
		assert_int_equal(lc_plugin_host_state(f->ph->host, 0), LC_PLUGIN_FAILED);
		plugin_harness_stop(f->ph);
	}
	assert_file(f, "root/" PATTERN_REL, "core");
	assert_file(f, "root/" LIMIT_REL, "0");
	free(f->conf);
	assert_true(asprintf(&f->conf, "%s/faultd.conf", f->tmp) > 0);

	/* The kernel splits at spaces and expands '%': a handler path with either is refused. */
	assert_int_equal(start_with(f, "\"handler\": \"/opt/my tools/faultd-core-handler\"", false),
			 LC_PLUGIN_FAILED);
	plugin_harness_stop(f->ph);
	assert_int_equal(start_with(f, "\"handler\": \"/opt/100%/faultd-core-handler\"", false),
			 LC_PLUGIN_FAILED);
	plugin_harness_stop(f->ph);
	assert_file(f, "root/" PATTERN_REL, "core");

	/* A kernel without core dumps has no core_pattern: nothing is created. */
	{
		_cleanup_free_ char *path = NULL, *none = NULL;

		assert_true(asprintf(&path, "%s/" PATTERN_REL, f->root) > 0);
		assert_int_equal(unlink(path), 0);
		assert_int_equal(start_with(f, "", false), LC_PLUGIN_FAILED);
		plugin_harness_stop(f->ph);
		none = get(f, "root/" PATTERN_REL);
		assert_null(none);
	}
	/* Nothing was replaced, so nothing was saved. */
	{
		_cleanup_free_ char *saved = get(f, SAVED_REL);

		assert_null(saved);
	}
}

static void test_takeover_is_reported_not_fought(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *ours = our_pattern(f);
	const char *theirs = "|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h";
	json_object *st;

	put_kernel(f, "core", "0");
	start(f, "\"check_interval_seconds\": 1");
	assert_true(status_ours(f));

	put_kernel(f, theirs, "16");
	plugin_harness_run_until(f->ph, UV_RUN_ONCE, 5, pattern_not_ours, f);
	assert_false(status_ours(f));
	st = plugin_harness_status(f->ph);
	assert_string_equal(json_object_get_string(plugin_harness_member(st, "core_pattern.value")),
			    theirs);
	json_object_put(st);
	/* Another check: still theirs, not taken back. */
	uv_run(&f->ph->loop, UV_RUN_ONCE);
	assert_file(f, "root/" PATTERN_REL, theirs);
	assert_false(status_ours(f));

	/* Given back by hand: ours again. */
	put_kernel(f, ours, "16");
	plugin_harness_run_until(f->ph, UV_RUN_ONCE, 5, pattern_ours, f);
	assert_true(status_ours(f));

	/* Unreadable: reported as such. */
	{
		_cleanup_free_ char *path = NULL;

		assert_true(asprintf(&path, "%s/" PATTERN_REL, f->root) > 0);
		assert_int_equal(unlink(path), 0);
	}
	plugin_harness_run_until(f->ph, UV_RUN_ONCE, 5, pattern_not_ours, f);
	st = plugin_harness_status(f->ph);
	assert_false(json_object_get_boolean(plugin_harness_member(st, "core_pattern.ours")));
	assert_null(plugin_harness_member(st, "core_pattern.value"));
	assert_non_null(
		strstr(json_object_get_string(plugin_harness_member(st, "core_pattern.error")),
		       "No such file"));
	json_object_put(st);
	plugin_harness_stop(f->ph);
}

static void test_crashes_counted_per_process(void **state)
{
	struct fixture *f = *state;
	json_object *st, *procs, *h;
	char name[32];

	put_kernel(f, "core", "0");
	start(f, "");
	crash(f, "gatewayd", 3);
	crash(f, "kworker/0:1 x", 1);
	crash(f, "", 1);

	h = plugin_harness_heartbeat(f->ph);
	assert_int_equal(
		json_object_get_int64(plugin_harness_member(h, "coredump/crashes/gatewayd")), 3);
	/* No new levels, no spaces: '/' and ' ' and ':' become '_'. */
	assert_true(json_object_object_get_ex(h, "coredump/crashes/kworker_0_1_x", NULL));
	assert_true(json_object_object_get_ex(h, "coredump/crashes/unknown", NULL));
	json_object_put(h);

	st = plugin_harness_status(f->ph);
	assert_int_equal(json_object_get_int64(plugin_harness_member(st, "crashes.total")), 5);
	procs = plugin_harness_member(st, "crashes.processes");
	assert_int_equal(json_object_object_length(procs), 3);
	assert_int_equal(json_object_get_int64(plugin_harness_member(procs, "gatewayd")), 3);
	assert_int_equal(json_object_get_int64(plugin_harness_member(procs, "kworker/0:1 x")), 1);
	assert_int_equal(json_object_get_int64(plugin_harness_member(procs, "unknown")), 1);
	assert_int_equal(json_object_get_int64(plugin_harness_member(st, "crashes.other")), 0);
	json_object_put(st);

	/* 40 more names: the 32 most crashed are named, the others summed. */
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "proc%02d", i);
		crash(f, name, i < 29 ? 2 : 1);
	}
	st = plugin_harness_status(f->ph);
	assert_int_equal(json_object_get_int64(plugin_harness_member(st, "crashes.total")),
			 5 + 29 * 2 + 11);
	procs = plugin_harness_member(st, "crashes.processes");
	assert_int_equal(json_object_object_length(procs), 32);
	/* gatewayd (3), proc00..proc28 (2 each), then by name among the 1s: kworker..., proc29 */
	assert_true(json_object_object_get_ex(procs, "gatewayd", NULL));
	assert_true(json_object_object_get_ex(procs, "proc28", NULL));
	assert_true(json_object_object_get_ex(procs, "kworker/0:1 x", NULL));
	assert_true(json_object_object_get_ex(procs, "proc29", NULL));
	assert_false(json_object_object_get_ex(procs, "proc30", NULL));
	assert_false(json_object_object_get_ex(procs, "unknown", NULL));
	assert_int_equal(json_object_get_int64(plugin_harness_member(st, "crashes.other")), 11);
	json_object_put(st);

	/* Without consent the heartbeat takes no reading. */
	f->ph->collection_off = true;
	crash(f, "gatewayd", 1);
	h = plugin_harness_heartbeat(f->ph);
	assert_false(json_object_object_get_ex(h, "coredump/crashes/gatewayd", NULL));
	json_object_put(h);
	plugin_harness_stop(f->ph);
}

static void test_names_beyond_the_table_count_as_other(void **state)
{
	struct fixture *f = *state;
	json_object *st;
	char name[32];

	put_kernel(f, "core", "0");
	start(f, "");
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "p%03d", i);
		crash(f, name, 1);
	}
	st = plugin_harness_status(f->ph);
	assert_int_equal(json_object_get_int64(plugin_harness_member(st, "crashes.total")), 300);
	assert_int_equal(json_object_object_length(plugin_harness_member(st, "crashes.processes")),
			 32);
	assert_int_equal(json_object_get_int64(plugin_harness_member(st, "crashes.other")),
			 300 - 32);
	json_object_put(st);
	plugin_harness_stop(f->ph);
}

static void assert_untouched(struct fixture *f)
{
	_cleanup_free_ char *saved = get(f, SAVED_REL);

	assert_file(f, "root/" PATTERN_REL, "core");
	assert_file(f, "root/" LIMIT_REL, "0");
	assert_null(saved);
}

static void test_missing_handler_is_refused(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *ours = our_pattern(f), *saved = NULL, *want = NULL;

	/* The kernel would start the handler in the system sysroot stands for: not found there, it
	 * is refused. The plugin runs on (crashes are still counted) and says why. */
	put_kernel(f, "core", "0");
	tree_unlink(f->tmp, HANDLER_REL);
	start(f, "");
	assert_untouched(f);
	assert_false(status_ours(f));
	assert_true(asprintf(&want,
			     "Not setting kernel.core_pattern: its handler %s" HANDLER
			     " (coredump.handler under sysroot %s) does not exist, so the kernel "
			     "could not start it",
			     f->root, f->root) > 0);
	assert_message_has(f, want);
	plugin_harness_stop(f->ph);

	/* Present on this machine but not below sysroot: refused all the same. */
	if (access("/bin/sh", X_OK) == 0) {
		assert_int_equal(start_with(f, "\"handler\": \"/bin/sh\"", false),
				 LC_PLUGIN_RUNNING);
		assert_untouched(f);
		assert_message_has(f, "/bin/sh (coredump.handler under sysroot");
		plugin_harness_stop(f->ph);
	}

	/* Installed, then a reload: taken, and the message is gone. */
	start(f, "");
	put_handler(f, 0755);
	assert_int_equal(reload(f, ""), LC_PLUGIN_RUNNING);
	assert_file(f, "root/" PATTERN_REL, ours);
	assert_true(status_ours(f));
	assert_no_message(f);
	plugin_harness_stop(f->ph);

	/* Removed while faultd's pattern is in place: the next start gives back what it replaced,
	 * since that pattern would lose every core. */
	tree_unlink(f->tmp, HANDLER_REL);
	start(f, "");
	assert_untouched(f);
	assert_message_has(f, "does not exist");
	plugin_harness_stop(f->ph);
	saved = get(f, SAVED_REL);
	assert_null(saved);
}

static void test_handler_that_cannot_run_is_refused(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *ours = our_pattern(f), *dir = NULL;

	put_kernel(f, "core", "0");
	put_handler(f, 0644);
	start(f, "");
	assert_untouched(f);
	assert_message_has(f, HANDLER " (coredump.handler under sysroot ");
	assert_message_has(f, "is not executable (mode 0644)");
	plugin_harness_stop(f->ph);

	tree_unlink(f->tmp, HANDLER_REL);
	assert_true(asprintf(&dir, "%s/" HANDLER_REL, f->tmp) > 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	start(f, "");
	assert_untouched(f);
	assert_message_has(f, "is not a regular file");
	plugin_harness_stop(f->ph);
	assert_int_equal(rmdir(dir), 0);

	/* One execute bit is enough: the kernel runs it as root. */
	put_handler(f, 0700);
	start(f, "");
	assert_file(f, "root/" PATTERN_REL, ours);
	assert_no_message(f);
	plugin_harness_stop(f->ph);
}

static void test_core_pattern_held_only_with_consent(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *ours = our_pattern(f), *saved = NULL;

	/* Without consent the handler keeps nothing: the kernel's setting stays. */
	f->consent_off = true;
	put_kernel(f, "core", "0");
	start(f, "");
	assert_untouched(f);
	assert_false(status_ours(f));
	assert_message_has(f, "Data collection is off");

	/* faultctl enable-data-collection: taken, what it replaced saved. */
	lc_plugin_host_consent(f->ph->host, true);
	assert_file(f, "root/" PATTERN_REL, ours);
	assert_file(f, "root/" LIMIT_REL, "16");
	saved = get(f, SAVED_REL);
	assert_non_null(saved);
	assert_non_null(strstr(saved, "\"core_pattern\":\"core\""));
	assert_true(status_ours(f));
	assert_no_message(f);

	/* faultctl disable-data-collection: both given back, and nothing is warned about. */
	lc_plugin_host_consent(f->ph->host, false);
	assert_untouched(f);
	assert_false(status_ours(f));
	assert_message_has(f, "Data collection is off");
	plugin_harness_stop(f->ph);
	assert_untouched(f);

	/* A start without consent gives back what a run with consent left in place. */
	f->consent_off = false;
	start(f, "");
	assert_file(f, "root/" PATTERN_REL, ours);
	plugin_harness_stop(f->ph);
	f->consent_off = true;
	start(f, "");
	assert_untouched(f);
	plugin_harness_stop(f->ph);
}

static void test_consent_with_a_missing_handler_is_refused(void **state)
{
	struct fixture *f = *state;

	f->consent_off = true;
	put_kernel(f, "core", "0");
	start(f, "");
	tree_unlink(f->tmp, HANDLER_REL);
	lc_plugin_host_consent(f->ph->host, true);
	assert_untouched(f);
	assert_message_has(f, "does not exist");
	lc_plugin_host_consent(f->ph->host, false);
	assert_untouched(f);
	assert_message_has(f, "Data collection is off");
	plugin_harness_stop(f->ph);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pattern_set_saved_and_left_in_place, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reload_that_disables_gives_the_settings_back,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_with_the_plugin_off_touches_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_that_disables_leaves_what_others_set,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_builtin_configuration_path_has_no_c, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pipe_limit_someone_set_is_kept, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pattern_already_set_is_not_saved, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_impossible_patterns_are_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_takeover_is_reported_not_fought, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_crashes_counted_per_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_beyond_the_table_count_as_other, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_handler_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handler_that_cannot_run_is_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_core_pattern_held_only_with_consent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_consent_with_a_missing_handler_is_refused,
						setup, teardown),
	};

	lc_log_open("test-coredump-plugin", LC_LOG_TARGET_STDERR);
	lc_log_set_ratelimit(false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
