/* SPDX-License-Identifier: MIT */
/* A reload's plan (libcollector/runtime/reload.c): what differs between two configurations, each
 * part from the keys it comes from and from nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "fileio.h"
#include "harness-conf.h"
#include "macro.h"
#include "reload.h"
#include "schema.h"

static int setup(void **state)
{
	return conf_fixture_setup(state, "reload");
}

static int teardown(void **state)
{
	return conf_fixture_teardown(state);
}

/* The configuration of the file text (runtime.conf left out). */
static struct lc_config *load(const struct conf_fixture *f, const char *text)
{
	struct lc_config_files files = { .main = f->main, .skip_runtime = true };
	struct lc_config *cfg = NULL;
	char **errors = NULL;
	int r;

	assert_int_equal(lc_write_file_atomic(f->main, text, strlen(text), 0644), 0);
	r = lc_config_load(&lc_core_config_section, 1, &files, &cfg, &errors);
	if (r < 0)
		fail_msg("%s: %s", text, errors && errors[0] ? errors[0] : "failed");
	return cfg;
}

static struct lc_reload_plan plan_of(const struct conf_fixture *f, const char *old,
				     const char *next)
{
	struct lc_config *a = load(f, old), *b = load(f, next);
	struct lc_reload_plan plan;

	lc_reload_plan(a, b, &plan);
	lc_config_free(a);
	lc_config_free(b);
	return plan;
}

static bool plan_is_empty(const struct lc_reload_plan *p)
{
	return !p->state_dir && !p->identity && !p->control && !p->consent && !p->logging &&
	       !p->spool_limits && !p->uploader && !p->heartbeat_timing;
}

/* Every key at its default. */
static const char base[] = "{}";

static void test_same_configuration_changes_nothing(void **state)
{
	struct lc_reload_plan plan = plan_of(*state, base, base);
	char buf[64];

	assert_true(plan_is_empty(&plan));
	assert_string_equal(lc_reload_plan_describe(&plan, buf, sizeof(buf)), "nothing");
	/* A default written out is the same value. */
	plan = plan_of(*state, base,
		       "{\"log_level\": \"info\", \"spool\": {\"max_entries\": 20000}, "
		       "\"heartbeat_interval_seconds\": 3600, \"sysroot\": \"/\", "
		       "\"enable_data_collection\": false, \"control_group\": \"\"}");
	assert_true(plan_is_empty(&plan));
}

#define PART(field) offsetof(struct lc_reload_plan, field)

/* Each change, made alone, sets exactly its part of the plan. */
static void test_each_change_sets_its_part(void **state)
{
	static const struct {
		const char *next;
		size_t part;
	} cases[] = {
		{ "\"state_dir\": \"/var/lib/other\"", PART(state_dir) },
		{ "\"device\": {\"serial\": \"b\"}", PART(identity) },
		{ "\"device\": {\"software_version\": \"2.0\"}", PART(identity) },
		{ "\"device\": {\"info_command\": \"true\"}", PART(identity) },
		{ "\"sysroot\": \"/tmp\"", PART(identity) },
		{ "\"control_socket\": \"/run/x/faultd.sock\"", PART(control) },
		{ "\"control_group\": \"users\"", PART(control) },
		{ "\"enable_data_collection\": true", PART(consent) },
		{ "\"log_level\": \"debug\"", PART(logging) },
		{ "\"log_target\": \"syslog\"", PART(logging) },
		{ "\"spool\": {\"max_bytes\": 1048576}", PART(spool_limits) },
		{ "\"spool\": {\"max_age_seconds\": 60}", PART(spool_limits) },
		{ "\"base_url\": \"https://other.example.com\"", PART(uploader) },
		{ "\"project_key\": \"other\"", PART(uploader) },
		{ "\"upload_interval_seconds\": 60", PART(uploader) },
		{ "\"upload\": {\"backoff_max_seconds\": 600}", PART(uploader) },
		{ "\"heartbeat_interval_seconds\": 60", PART(heartbeat_timing) },
		{ "\"hours\": {\"checkpoint_interval_seconds\": 30}", PART(heartbeat_timing) },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *next = NULL;
		struct lc_reload_plan plan, expected = {};

		assert_true(asprintf(&next, "{%s}", cases[i].next) > 0);
		plan = plan_of(*state, base, next);
		*(bool *)((char *)&expected + cases[i].part) = true;
		if (memcmp(&plan, &expected, sizeof(plan)) != 0)
			fail_msg("%s: a part other than its own changed", cases[i].next);
		/* And back again. */
		plan = plan_of(*state, next, base);
		if (memcmp(&plan, &expected, sizeof(plan)) != 0)
			fail_msg("%s, reverted: a part other than its own changed", cases[i].next);
	}
}

/* What needs nothing from the reload but the new configuration, which every part reads live. */
static void test_changes_without_a_part(void **state)
{
	static const char *const nexts[] = {
		"\"enable_dev_mode\": true",
		"\"reboot_command\": \"/sbin/reboot -f\"",
		"\"metrics\": {\"max_keys\": 10}",
	};

	for (size_t i = 0; i < ARRAY_SIZE(nexts); i++) {
		_cleanup_free_ char *next = NULL;
		struct lc_reload_plan plan;

		assert_true(asprintf(&next, "{%s}", nexts[i]) > 0);
		plan = plan_of(*state, base, next);
		if (!plan_is_empty(&plan))
			fail_msg("%s: changed a part of the plan", nexts[i]);
	}
}

static void test_several_changes_at_once(void **state)
{
	struct lc_reload_plan plan = plan_of(*state, base,
					     "{\"device\": {\"serial\": \"b\"}, "
					     "\"project_key\": \"k2\", \"log_level\": \"debug\"}");
	char buf[128], small[12];

	assert_true(plan.identity);
	assert_true(plan.uploader);
	assert_true(plan.logging);
	assert_false(plan.state_dir || plan.control || plan.consent || plan.spool_limits ||
		     plan.heartbeat_timing);
	assert_string_equal(lc_reload_plan_describe(&plan, buf, sizeof(buf)),
			    "identity, logging, uploads");
	/* Cut short, never overrun. */
	assert_string_equal(lc_reload_plan_describe(&plan, small, sizeof(small)), "identity");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_configuration_changes_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_each_change_sets_its_part, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_without_a_part, setup, teardown),
		cmocka_unit_test_setup_teardown(test_several_changes_at_once, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
