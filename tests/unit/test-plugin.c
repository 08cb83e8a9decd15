/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "harness-plugin.h"
#include "log.h"
#include "macro.h"
#include "plugin-host.h"

/* What the test plugins did, in order. */
static char trace[512];
static int ticks_good, ticks_bad, watch_hits;
static int pipe_fds[2] = { -1, -1 };

static void record(const char *what)
{
	strncat(trace, what, sizeof(trace) - strlen(trace) - 1);
	strncat(trace, " ", sizeof(trace) - strlen(trace) - 1);
}

static void good_tick(struct lc_plugin *p, void *userdata)
{
	ticks_good++;
}

static void good_watch(struct lc_plugin *p, int fd, unsigned events, int error, void *userdata)
{
	char c;

	assert_int_equal(error, 0);
	assert_true(events & LC_WATCH_READ);
	assert_int_equal(read(fd, &c, 1), 1);
	watch_hits++;
}

static int good_init(struct lc_plugin *p)
{
	int *data = malloc(sizeof(int));
	_cleanup_free_ char *path = lc_plugin_sysroot_path(p, "/proc/stat");

	assert_non_null(data);
	*data = (int)lc_plugin_config_int(p, "interval_ms");
	assert_int_equal(*data, 5);
	assert_string_equal(lc_plugin_config_string(p, "label"), "hello");
	assert_string_equal(path, "/fake/root/proc/stat");
	assert_string_equal(lc_plugin_name(p), "good");
	lc_plugin_set_data(p, data);
	assert_int_equal(lc_plugin_timer_add(p, 1, (uint64_t)*data, good_tick, NULL, NULL), 0);
	assert_int_equal(lc_plugin_watch_fd(p, pipe_fds[0], LC_WATCH_READ, good_watch, NULL, NULL),
			 0);
	record("init:good");
	return 0;
}

static void good_collect(struct lc_plugin *p)
{
	record("collect:good");
}

static void good_shutdown(struct lc_plugin *p)
{
	free(lc_plugin_get_data(p));
	record("shutdown:good");
}

static void bad_tick(struct lc_plugin *p, void *userdata)
{
	ticks_bad++;
}

static int bad_init(struct lc_plugin *p)
{
	/* Asks for a timer, then fails: the core must release the timer. */
	assert_int_equal(lc_plugin_timer_add(p, 1, 1, bad_tick, NULL, NULL), 0);
	record("init:bad");
	return -ENODEV;
}

static void bad_shutdown(struct lc_plugin *p)
{
	record("shutdown:bad");
}

static int plain_init(struct lc_plugin *p)
{
	record("init:plain");
	return 0;
}

static void plain_shutdown(struct lc_plugin *p)
{
	record("shutdown:plain");
}

static int off_init(struct lc_plugin *p)
{
	record("init:off");
	return 0;
}

static int told_init(struct lc_plugin *p)
{
	record("init:told");
	return lc_plugin_set_message(p, "Waiting for consent.");
}

static void told_consent(struct lc_plugin *p, bool on)
{
	record(on ? "consent:on" : "consent:off");
	assert_int_equal(lc_plugin_set_message(p, on ? NULL : "Waiting for consent."), 0);
}

static int mute_init(struct lc_plugin *p)
{
	/* A failed plugin's message is not shown: its error is. */
	assert_int_equal(lc_plugin_set_message(p, "never shown"), 0);
	return -EIO;
}

static void mute_consent(struct lc_plugin *p, bool on)
{
	record("consent:mute");
}

static const struct lc_cfg_key good_keys[] = {
	{ .name = "enabled", .type = LC_CFG_BOOL, .def_bool = true },
	{ .name = "interval_ms", .type = LC_CFG_INT, .def_int = 5, .min = 1, .max = 1000 },
	{ .name = "label", .type = LC_CFG_STRING, .def_string = "hello" },
};
static const struct lc_cfg_section good_section = { .name = "good",
						    .keys = good_keys,
						    .n_keys = ARRAY_SIZE(good_keys) };

static const struct lc_cfg_key bad_keys[] = {
	{ .name = "enabled", .type = LC_CFG_BOOL, .def_bool = true },
};
static const struct lc_cfg_section bad_section = { .name = "bad",
						   .keys = bad_keys,
						   .n_keys = ARRAY_SIZE(bad_keys) };

static const struct lc_cfg_key off_keys[] = {
	{ .name = "enabled", .type = LC_CFG_BOOL, .def_bool = false },
};
static const struct lc_cfg_section off_section = { .name = "off",
						   .keys = off_keys,
						   .n_keys = ARRAY_SIZE(off_keys) };

static const struct lc_plugin_ops good_ops = {
	.name = "good",
	.config = &good_section,
	.init = good_init,
	.collect = good_collect,
	.shutdown = good_shutdown,
};
static const struct lc_plugin_ops bad_ops = {
	.name = "bad",
	.config = &bad_section,
	.init = bad_init,
	.shutdown = bad_shutdown,
};
static const struct lc_plugin_ops plain_ops = {
	.name = "plain",
	.init = plain_init,
	.shutdown = plain_shutdown,
};
static const struct lc_plugin_ops off_ops = {
	.name = "off",
	.config = &off_section,
	.init = off_init,
};

static const struct lc_plugin_ops told_ops = {
	.name = "told",
	.init = told_init,
	.consent = told_consent,
};
static const struct lc_plugin_ops mute_ops = {
	.name = "mute",
	.init = mute_init,
	.consent = mute_consent,
};

static const struct lc_plugin_ops *const plugins[] = { &good_ops, &bad_ops, &plain_ops, &off_ops };

/* A harness for the n plugins of list, configured with the sysroot /fake/root and every other key
 * at its default; not started. */
static struct plugin_harness *harness(const struct lc_plugin_ops *const *list, size_t n)
{
	struct plugin_harness *h = plugin_harness_new_list(list, n, "plugin", NULL);

	assert_int_equal(plugin_harness_load(h, "{\"sysroot\": \"/fake/root\"}", &h->cfg, NULL), 0);
	return h;
}

static void run_until(uv_loop_t *loop, int *counter, int target)
{
	for (int i = 0; i < 2000 && *counter < target; i++)
		uv_run(loop, UV_RUN_ONCE);
	assert_true(*counter >= target);
}

static void test_lifecycle(void **state)
{
	struct plugin_harness *h;
	struct lc_plugin_host *host;
	json_object *status;

	trace[0] = 0;
	ticks_good = ticks_bad = watch_hits = 0;
	assert_int_equal(pipe(pipe_fds), 0);
	h = harness(plugins, ARRAY_SIZE(plugins));
	/* plain has no section: core + good + bad + off. */
	assert_int_equal(h->n_sections, 4);

	assert_int_equal(plugin_harness_start(h), 2);
	host = h->host;
	assert_string_equal(trace, "init:good init:bad init:plain ");
	assert_int_equal(lc_plugin_host_state(host, 0), LC_PLUGIN_RUNNING);
	assert_int_equal(lc_plugin_host_state(host, 1), LC_PLUGIN_FAILED);
	assert_int_equal(lc_plugin_host_state(host, 2), LC_PLUGIN_RUNNING);
	assert_int_equal(lc_plugin_host_state(host, 3), LC_PLUGIN_DISABLED);

	status = lc_plugin_host_status(host);
	assert_string_equal(json_object_to_json_string_ext(status, JSON_C_TO_STRING_PLAIN),
			    "[{\"name\":\"good\",\"state\":\"running\"},"
			    "{\"name\":\"bad\",\"state\":\"failed\",\"error\":\"init failed: No "
			    "such device\"},"
			    "{\"name\":\"plain\",\"state\":\"running\"},"
			    "{\"name\":\"off\",\"state\":\"disabled\"}]");
	json_object_put(status);

	/* Timers and watches of the running plugin fire; the failed plugin's timer never does. */
	run_until(&h->loop, &ticks_good, 3);
	assert_int_equal(write(pipe_fds[1], "ab", 2), 2);
	run_until(&h->loop, &watch_hits, 2);
	assert_int_equal(ticks_bad, 0);

	trace[0] = 0;
	lc_plugin_host_collect(host);
	assert_string_equal(trace, "collect:good ");

	/* Stop runs in reverse order and releases what the plugins asked for. */
	trace[0] = 0;
	lc_plugin_host_stop(host);
	assert_string_equal(trace, "shutdown:plain shutdown:good ");
	assert_int_equal(lc_plugin_host_state(host, 0), LC_PLUGIN_STOPPED);
	assert_int_equal(lc_plugin_host_state(host, 1), LC_PLUGIN_FAILED);

	/* A reload starts them again, the failed one included. */
	trace[0] = 0;
	assert_int_equal(lc_plugin_host_start(host, h->cfg), 2);
	assert_string_equal(trace, "init:good init:bad init:plain ");

	plugin_harness_free(h);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

/* Starts a host with the one plugin ops, runs the loop until it has nothing left to do, and
 * checks that stopping leaves nothing open. */
static void run_single(const struct lc_plugin_ops *ops)
{
	struct plugin_harness *h = harness(&ops, 1);

	assert_int_equal(plugin_harness_start(h), 1);
	uv_run(&h->loop, UV_RUN_DEFAULT);
	plugin_harness_free(h);
}

static struct lc_timer *once_timer;
static int once_hits;

static void once_cb(struct lc_plugin *p, void *userdata)
{
	once_hits++;
	once_timer = lc_timer_free(once_timer);
}

static int once_init(struct lc_plugin *p)
{
	return lc_plugin_timer_add(p, 1, 1, once_cb, NULL, &once_timer);
}

static void test_timer_freed_from_its_callback(void **state)
{
	static const struct lc_plugin_ops once_ops = { .name = "once", .init = once_init };

	/* With the only timer freed by its own callback, the loop has nothing left and returns. */
	run_single(&once_ops);
	assert_int_equal(once_hits, 1);
	assert_null(once_timer);
}

/* A plugin that wants its timer again "as soon as possible", re-arming it at 0 ms from its own
 * callback. Capped, so that a loop that runs it again in the same pass cannot hang the test. */
#define EAGER_MAX 10000
static struct lc_timer *eager_timer;
static int eager_hits;

static void eager_cb(struct lc_plugin *p, void *userdata)
{
	if (++eager_hits < EAGER_MAX)
		assert_int_equal(lc_timer_restart(eager_timer, 0, 0), 0);
}

static int eager_init(struct lc_plugin *p)
{
	return lc_plugin_timer_add(p, 0, 0, eager_cb, NULL, &eager_timer);
}

static void test_timer_at_0ms_waits_for_the_clock(void **state)
{
	static const struct lc_plugin_ops eager_ops = { .name = "eager", .init = eager_init };
	const struct lc_plugin_ops *const list[] = { &eager_ops };
	struct plugin_harness *h = harness(list, 1);
	uint64_t start;

	eager_hits = 0;
	assert_int_equal(plugin_harness_start(h), 1);
	/* What the timers were armed against: starting the host does not move the loop's clock. */
	start = uv_now(&h->loop);

	/* One pass of the loop runs the timer at most once: libuv before 1.48 would run a timer
	 * re-armed at 0 ms again and again in the same pass, and nothing else would run. */
	uv_run(&h->loop, UV_RUN_NOWAIT);
	assert_in_range(eager_hits, 0, 1);

	/* And across passes it runs at most once per millisecond of the loop's clock, however
	 * fast the passes come. */
	for (int i = 0; i < 1000; i++)
		uv_run(&h->loop, UV_RUN_NOWAIT);
	uv_update_time(&h->loop);
	assert_in_range(eager_hits, 0, uv_now(&h->loop) - start);

	/* It still runs. */
	run_until(&h->loop, &eager_hits, eager_hits + 3);

	plugin_harness_free(h);
}

static int args_init(struct lc_plugin *p)
{
	assert_int_equal(lc_plugin_watch_fd(p, -1, LC_WATCH_READ, good_watch, NULL, NULL), -EINVAL);
	assert_int_equal(lc_plugin_watch_fd(p, 0, 0, good_watch, NULL, NULL), -EINVAL);
	return 0;
}

static void test_watch_rejects_bad_arguments(void **state)
{
	static const struct lc_plugin_ops args_ops = { .name = "args", .init = args_init };

	run_single(&args_ops);
}

static void assert_status(struct lc_plugin_host *host, const char *want)
{
	json_object *status = lc_plugin_host_status(host);

	assert_string_equal(
		json_object_to_json_string_ext(status, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE),
		want);
	json_object_put(status);
}

static void test_message_and_consent(void **state)
{
	const struct lc_plugin_ops *const list[] = { &told_ops, &mute_ops };
	struct plugin_harness *h = harness(list, ARRAY_SIZE(list));
	struct lc_plugin_host *host;

	trace[0] = 0;
	assert_int_equal(plugin_harness_start(h), 1);
	host = h->host;
	assert_status(host, "[{\"name\":\"told\",\"state\":\"running\","
			    "\"message\":\"Waiting for consent.\"},"
			    "{\"name\":\"mute\",\"state\":\"failed\","
			    "\"error\":\"init failed: Input/output error\"}]");

	/* Only running plugins are told; a message goes when the plugin clears it. */
	lc_plugin_host_consent(host, true);
	assert_string_equal(trace, "init:told consent:on ");
	assert_status(host, "[{\"name\":\"told\",\"state\":\"running\"},"
			    "{\"name\":\"mute\",\"state\":\"failed\","
			    "\"error\":\"init failed: Input/output error\"}]");
	lc_plugin_host_consent(host, false);
	assert_string_equal(trace, "init:told consent:on consent:off ");

	/* A stop takes the message with it, and a stopped plugin is told nothing. */
	lc_plugin_host_stop(host);
	lc_plugin_host_consent(host, true);
	assert_string_equal(trace, "init:told consent:on consent:off ");
	assert_status(host, "[{\"name\":\"told\",\"state\":\"stopped\"},"
			    "{\"name\":\"mute\",\"state\":\"failed\","
			    "\"error\":\"init failed: Input/output error\"}]");

	plugin_harness_free(h);
}

static int loud_init(struct lc_plugin *p)
{
	/* Warnings are not the reason; the first error is, and says it with the errno. */
	lc_plugin_log(p, LOG_WARNING, "port %d looks busy", 8125);
	return lc_plugin_log_errno(p, LOG_ERR, -EADDRINUSE, "failed to bind %s: %m.",
				   "127.0.0.1:8125") == -EADDRINUSE
		       ? lc_plugin_log_errno(p, LOG_ERR, EADDRINUSE, "giving up")
		       : -EIO;
}

static int vague_init(struct lc_plugin *p)
{
	lc_plugin_log(p, LOG_ERR, "\"listen\": expected HOST:PORT, got \"%s\".", "x");
	return -EINVAL;
}

static int recovering_init(struct lc_plugin *p)
{
	/* An error init gets over is no failure. */
	lc_plugin_log(p, LOG_ERR, "no thermal zones; reading none");
	return 0;
}

static void test_failure_reason_and_log_prefix(void **state)
{
	static const struct lc_plugin_ops loud_ops = { .name = "loud", .init = loud_init };
	static const struct lc_plugin_ops vague_ops = { .name = "vague", .init = vague_init };
	static const struct lc_plugin_ops recovering_ops = { .name = "recovering",
							     .init = recovering_init };
	const struct lc_plugin_ops *const list[] = { &loud_ops, &vague_ops, &recovering_ops };
	struct plugin_harness *h = harness(list, ARRAY_SIZE(list));
	_cleanup_free_ char *logged = NULL;

	/* What the plugins log goes to stderr, here a file. */
	plugin_harness_log_start(h);
	lc_log_set_max_level(LOG_INFO);
	lc_log_set_ratelimit(false);
	assert_int_equal(plugin_harness_start(h), 1);
	lc_log_set_ratelimit(true);
	lc_log_set_max_level(LOG_CRIT);
	logged = plugin_harness_log_end(h);

	assert_status(h->host, "[{\"name\":\"loud\",\"state\":\"failed\","
			       "\"error\":\"init failed: failed to bind 127.0.0.1:8125: Address "
			       "already in use\"},"
			       "{\"name\":\"vague\",\"state\":\"failed\","
			       "\"error\":\"init failed: \\\"listen\\\": expected HOST:PORT, got "
			       "\\\"x\\\" (Invalid argument)\"},"
			       "{\"name\":\"recovering\",\"state\":\"running\"}]");

	/* Each line names its plugin once. */
	assert_non_null(strstr(logged, "warning: loud: port 8125 looks busy\n"));
	assert_non_null(strstr(
		logged, "error: loud: failed to bind 127.0.0.1:8125: Address already in use.\n"));
	assert_non_null(strstr(logged, "error: loud: giving up\n"));
	assert_non_null(
		strstr(logged, "error: vague: \"listen\": expected HOST:PORT, got \"x\".\n"));
	assert_non_null(strstr(logged, "error: recovering: no thermal zones; reading none\n"));

	plugin_harness_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_timer_freed_from_its_callback),
		cmocka_unit_test(test_timer_at_0ms_waits_for_the_clock),
		cmocka_unit_test(test_watch_rejects_bad_arguments),
		cmocka_unit_test(test_message_and_consent),
		cmocka_unit_test(test_failure_reason_and_log_prefix),
	};

	lc_log_set_max_level(LOG_CRIT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
