/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "control.h"
#include "mfnote.h"

/* memfaultd's own tests of its note give these sizes for these values (schema 1). */
static const struct mf_metadata example = {
	.sdk_version = "SDK_VERSION",
	.captured_time = 1234,
	.device_serial = "12345678",
	.hardware_version = "evt",
	.software_type = "main",
	.software_version = "1.0.0",
	.cmdline = "binary -a -b -c",
	.full = true,
};

static size_t build(const struct mf_metadata *m, json_object *logs, uint8_t **ret)
{
	size_t len = 0;

	assert_int_equal(mf_note_build(m, logs, ret, &len), 0);
	return len;
}

static void test_note_matches_memfaultd_sizes(void **state)
{
	struct mf_metadata threads = example;
	json_object *logs = json_object_new_array();
	uint8_t *b;

	assert_int_equal(build(&example, NULL, &b), 91);
	/* A map of 10 pairs, key 1 is schema 1, key 10 is null at the end. */
	assert_int_equal(b[0], 0xaa);
	assert_int_equal(b[1], 0x01);
	assert_int_equal(b[2], 0x01);
	assert_int_equal(b[89], 0x0a);
	assert_int_equal(b[90], 0xf6);
	free(b);

	threads.full = false;
	threads.max_thread_kib = 32;
	assert_int_equal(build(&threads, NULL, &b), 104);
	free(b);

	json_object_array_add(logs, json_object_new_string("Error 1"));
	json_object_array_add(logs, json_object_new_string("Error 2"));
	json_object_array_add(logs, json_object_new_string("Error 3"));
	assert_int_equal(build(&example, logs, &b), 160);
	assert_non_null(memmem(b, 160,
			       "\x64logs\x83\x67"
			       "Error 1",
			       14));
	assert_non_null(memmem(b, 160,
			       "\x6a"
			       "json-lines",
			       11));
	free(b);
	json_object_put(logs);
}

static void test_invalid_text_is_empty(void **state)
{
	struct mf_metadata m = example;
	uint8_t *b;

	m.cmdline = "bad \xff byte";
	m.device_serial = NULL;
	/* 91 less "binary -a -b -c" (15) and "12345678" (8). */
	assert_int_equal(build(&m, NULL, &b), 91 - 15 - 8);
	free(b);
}

static int check(const char *text, json_object **ret_logs, const char **why)
{
	json_object *reply = json_tokener_parse(text);
	int r;

	assert_non_null(reply);
	*ret_logs = NULL;
	r = mf_logs_from_reply(reply, ret_logs, why);
	json_object_put(reply);
	return r;
}

static void test_reply_checked(void **state)
{
	json_object *logs;
	const char *why;

	assert_int_equal(check("{\"ok\": true, \"data\": {\"logs\": null}}", &logs, &why), 0);
	assert_null(logs);
	assert_int_equal(
		check("{\"ok\": true, \"data\": {\"logs\": [\"{\\\"ts\\\": 1}\"]}}", &logs, &why),
		0);
	assert_int_equal(check("{\"ok\": false, \"error\": \"unknown command\"}", &logs, &why),
			 -ENOENT);
	assert_int_equal(check("{\"data\": {\"logs\": []}}", &logs, &why), -EBADMSG);
	assert_int_equal(check("{\"ok\": true}", &logs, &why), -EBADMSG);
	assert_int_equal(check("{\"ok\": true, \"data\": {\"logs\": 3}}", &logs, &why), -EBADMSG);
	assert_int_equal(check("{\"ok\": true, \"data\": {\"logs\": [3]}}", &logs, &why), -EBADMSG);
	assert_string_equal(why, "a line is not a string");
	assert_int_equal(check("{\"ok\": true, \"data\": {\"logs\": [\"\"]}}", &logs, &why),
			 -EBADMSG);
	assert_int_equal(check("{\"ok\": true, \"data\": {\"logs\": [\"a\\nb\"]}}", &logs, &why),
			 -EBADMSG);
	assert_int_equal(check("{\"ok\": true, \"data\": {\"logs\": [\"a\xff\"]}}", &logs, &why),
			 -EBADMSG);
}

static void test_reply_bounds(void **state)
{
	json_object *reply = json_object_new_object(), *data = json_object_new_object();
	json_object *logs = json_object_new_array(), *got;
	char *big = malloc(LC_CRASH_LOGS_BYTES_MAX / 2 + 1);
	const char *why;

	json_object_object_add(reply, "ok", json_object_new_boolean(1));
	json_object_object_add(reply, "data", data);
	json_object_object_add(data, "logs", logs);
	for (int i = 0; i < LC_CRASH_LOGS_LINES_MAX; i++)
		json_object_array_add(logs, json_object_new_string("x"));
	assert_int_equal(mf_logs_from_reply(reply, &got, &why), 0);
	json_object_array_add(logs, json_object_new_string("x"));
	assert_int_equal(mf_logs_from_reply(reply, &got, &why), -EBADMSG);

	logs = json_object_new_array();
	json_object_object_add(data, "logs", logs);
	memset(big, 'a', LC_CRASH_LOGS_BYTES_MAX / 2);
	big[LC_CRASH_LOGS_BYTES_MAX / 2] = 0;
	json_object_array_add(logs, json_object_new_string(big));
	json_object_array_add(logs, json_object_new_string(big));
	assert_int_equal(mf_logs_from_reply(reply, &got, &why), 0);
	json_object_array_add(logs, json_object_new_string("a"));
	assert_int_equal(mf_logs_from_reply(reply, &got, &why), -EBADMSG);
	assert_string_equal(why, "more bytes than a reply may hold");
	free(big);
	json_object_put(reply);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_note_matches_memfaultd_sizes),
		cmocka_unit_test(test_invalid_text_is_empty),
		cmocka_unit_test(test_reply_checked),
		cmocka_unit_test(test_reply_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
