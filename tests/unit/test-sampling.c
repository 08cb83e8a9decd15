/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "macro.h"
#include "sampling.h"
#include "tmpdir.h"

static int parse(const char *body, struct lc_sampling *ret, const char **ret_why)
{
	struct lc_sampling prev;

	lc_sampling_default(&prev);
	prev.confirmed_revision = 4;
	return lc_sampling_parse_reply(body, strlen(body), &prev, ret, ret_why);
}

static void test_default_records_everything_normal(void **state)
{
	struct lc_sampling s;

	lc_sampling_default(&s);
	assert_int_equal(s.monitoring, LC_RES_NORMAL);
	assert_int_equal(s.revision, -1);
	for (int c = 0; c < _LC_CLASS_MAX; c++)
		assert_true(lc_sampling_allows(&s, (enum lc_entry_class)c, false));
	assert_false(lc_sampling_needs_confirmation(&s));
}

static void test_parse_full_reply(void **state)
{
	const char *body =
		"{\"data\": {\"config\": {\"memfault\": {\"sampling\": {"
		"\"debugging.resolution\": \"off\", \"logging.resolution\": \"high\", "
		"\"monitoring.resolution\": \"low\"}}}, \"revision\": 7, \"completed\": 5}}";
	struct lc_sampling s;
	const char *why = NULL;

	assert_int_equal(parse(body, &s, &why), 0);
	assert_int_equal(s.debugging, LC_RES_OFF);
	assert_int_equal(s.logging, LC_RES_HIGH);
	assert_int_equal(s.monitoring, LC_RES_LOW);
	assert_int_equal(s.revision, 7);
	assert_int_equal(s.completed, 5);
	assert_int_equal(s.confirmed_revision, 4); /* kept from before */
	assert_true(lc_sampling_needs_confirmation(&s));

	/* low monitoring: no heartbeats, no attributes; off debugging: no core files. */
	assert_false(lc_sampling_allows(&s, LC_CLASS_METRICS, false));
	assert_false(lc_sampling_allows(&s, LC_CLASS_ATTRIBUTES, false));
	assert_false(lc_sampling_allows(&s, LC_CLASS_COREDUMP, false));
	assert_true(lc_sampling_allows(&s, LC_CLASS_REBOOT, false));
	/* Developer mode acts as high everywhere. */
	assert_true(lc_sampling_allows(&s, LC_CLASS_METRICS, true));
	assert_true(lc_sampling_allows(&s, LC_CLASS_COREDUMP, true));

	s.confirmed_revision = 7;
	assert_false(lc_sampling_needs_confirmation(&s));
	s.completed = 7;
	s.confirmed_revision = 3;
	assert_false(lc_sampling_needs_confirmation(&s));
}

static void test_null_completed_and_missing_sampling(void **state)
{
	struct lc_sampling s;
	const char *why = NULL;

	assert_int_equal(parse("{\"data\": {\"revision\": 1, \"completed\": null}}", &s, &why), 0);
	assert_int_equal(s.completed, -1);
	assert_int_equal(s.monitoring, LC_RES_NORMAL);
	assert_true(lc_sampling_needs_confirmation(&s));
	/* An unknown resolution name counts as normal. */
	assert_int_equal(parse("{\"data\": {\"revision\": 2, \"config\": {\"memfault\": "
			       "{\"sampling\": {\"monitoring.resolution\": \"ultra\"}}}}}",
			       &s, &why),
			 0);
	assert_int_equal(s.monitoring, LC_RES_NORMAL);
}

static void test_bad_replies(void **state)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"{}",
		"{\"data\": 5}",
		"{\"data\": {}}",
		"{\"data\": {\"revision\": \"7\"}}",
		"{\"data\": {\"revision\": -1}}",
		"{\"data\": {\"revision\": 1, \"completed\": \"x\"}}",
		"{\"data\": {\"revision\": 1, \"config\": []}}",
		"{\"data\": {\"revision\": 1}} trailing",
		"{\"data\": {\"revision\": 1, \"config\": {\"memfault\": 3}}}",
		"{\"data\": {\"revision\": 1, \"config\": {\"memfault\": {\"sampling\": []}}}}",
		"{\"data\": {\"revision\": 1, \"config\": {\"memfault\": {\"sampling\": "
		"{\"monitoring.resolution\": 2}}}}}",
	};
	struct lc_sampling s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;

		assert_int_equal(parse(bad[i], &s, &why), -EBADMSG);
		assert_non_null(why);
	}
}

static void test_deep_nesting_refused(void **state)
{
	char body[4096] = "";
	struct lc_sampling s;
	const char *why;

	for (int i = 0; i < 1000; i++)
		strcat(body, "[");
	assert_int_equal(parse(body, &s, &why), -EBADMSG);
}

static void test_cache_round_trip_and_damage(void **state)
{
	char *dir = test_tmpdir_new("sampling");
	char path[128];
	struct lc_sampling s, t;
	FILE *f;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/device-config.json", dir);
	lc_sampling_load(path, &t); /* missing: the default */
	assert_int_equal(t.revision, -1);

	lc_sampling_default(&s);
	s.debugging = LC_RES_HIGH;
	s.monitoring = LC_RES_OFF;
	s.revision = 12;
	s.completed = -1;
	s.confirmed_revision = 12;
	assert_int_equal(lc_sampling_save(path, &s), 0);
	lc_sampling_load(path, &t);
	assert_int_equal(t.debugging, LC_RES_HIGH);
	assert_int_equal(t.logging, LC_RES_NORMAL);
	assert_int_equal(t.monitoring, LC_RES_OFF);
	assert_int_equal(t.revision, 12);
	assert_int_equal(t.completed, -1);
	assert_int_equal(t.confirmed_revision, 12);
	assert_int_equal(t.upload_start_ms, 0);
	/* The upload start date, with its milliseconds. */
	s.upload_start_ms = 669859200123LL;
	assert_int_equal(lc_sampling_save(path, &s), 0);
	lc_sampling_load(path, &t);
	assert_int_equal(t.upload_start_ms, 669859200123LL);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"data\": garbage", f);
	fclose(f);
	lc_sampling_load(path, &t);
	assert_int_equal(t.revision, -1);
	assert_int_equal(t.monitoring, LC_RES_NORMAL);
	assert_int_equal(test_tmpdir_free(dir), 0);
}

static void test_upload_start_date(void **state)
{
	static const struct {
		const char *text;
		int64_t ms; /* -1: refused */
	} cases[] = {
		{ "1991-03-25T00:00:00Z", 669859200000LL },
		{ "1991-03-25T00:00:00+00:00", 669859200000LL },
		{ "1991-03-25T02:00:00+02:00", 669859200000LL },
		{ "1991-03-24T23:30:00-00:30", 669859200000LL },
		{ "1991-03-25T00:00:00.5Z", 669859200500LL },
		{ "1991-03-25T00:00:00.123456Z", 669859200123LL },
		{ "1991-03-25t00:00:00z", 669859200000LL },
		{ "1991-03-25 00:00:00Z", 669859200000LL },
		{ "1991-03-25T00:00:00", -1 },
		{ "1991-03-25", -1 },
		{ "1991-13-25T00:00:00Z", -1 },
		{ "1991-03-25T24:00:00Z", -1 },
		{ "1991-03-25T00:00:00.Z", -1 },
		{ "1991-03-25T00:00:00Zjunk", -1 },
		{ "1991-03-25T00:00:00+0200", -1 },
		{ "", -1 },
	};
	struct lc_sampling s;
	const char *why = NULL;
	char body[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t ms = -1;
		int r = lc_rfc3339_parse_ms(cases[i].text, &ms);

		if (cases[i].ms < 0)
			assert_int_equal(r, -EINVAL);
		else {
			assert_int_equal(r, 0);
			assert_int_equal(ms, cases[i].ms);
		}
	}
	/* In the reply: a date, null, or refused when it is not one. */
	snprintf(body, sizeof(body),
		 "{\"data\": {\"config\": {\"memfault\": {\"data_upload_start_date\": "
		 "\"1991-03-25T00:00:00Z\"}}, \"revision\": 1, \"completed\": 1}}");
	assert_int_equal(lc_sampling_parse_reply(body, strlen(body), NULL, &s, &why), 0);
	assert_int_equal(s.upload_start_ms, 669859200000LL);
	/* Entries before it are not sent, reboots and device-config entries are. */
	assert_false(lc_sampling_upload_allows(&s, LC_CLASS_METRICS, 669859199999ULL));
	assert_true(lc_sampling_upload_allows(&s, LC_CLASS_METRICS, 669859200000ULL));
	assert_true(lc_sampling_upload_allows(&s, LC_CLASS_REBOOT, 0));
	snprintf(body, sizeof(body),
		 "{\"data\": {\"config\": {\"memfault\": {\"data_upload_start_date\": "
		 "null}}, \"revision\": 1, \"completed\": 1}}");
	assert_int_equal(lc_sampling_parse_reply(body, strlen(body), NULL, &s, &why), 0);
	assert_int_equal(s.upload_start_ms, 0);
	assert_true(lc_sampling_upload_allows(&s, LC_CLASS_COREDUMP, 0));
	snprintf(body, sizeof(body),
		 "{\"data\": {\"config\": {\"memfault\": {\"data_upload_start_date\": "
		 "\"yesterday\"}}, \"revision\": 1, \"completed\": 1}}");
	assert_int_equal(lc_sampling_parse_reply(body, strlen(body), NULL, &s, &why), -EBADMSG);
	assert_non_null(strstr(why, "data_upload_start_date"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_records_everything_normal),
		cmocka_unit_test(test_parse_full_reply),
		cmocka_unit_test(test_null_completed_and_missing_sampling),
		cmocka_unit_test(test_bad_replies),
		cmocka_unit_test(test_deep_nesting_refused),
		cmocka_unit_test(test_cache_round_trip_and_damage),
		cmocka_unit_test(test_upload_start_date),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
