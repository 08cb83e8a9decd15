/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "json-util.h"

static const char *text(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

static void test_add(void **state)
{
	_cleanup_json_ json_object *o = json_object_new_object();

	assert_int_equal(lc_json_add(o, "a", json_object_new_int(1)), 0);
	assert_int_equal(lc_json_add(o, "b", json_object_new_string("x")), 0);
	assert_string_equal(text(o), "{\"a\":1,\"b\":\"x\"}");
}

static void test_add_failed_allocation(void **state)
{
	_cleanup_json_ json_object *o = json_object_new_object();

	/* A value whose allocation failed is not stored as a null. */
	assert_int_equal(lc_json_add(o, "a", NULL), -ENOMEM);
	assert_false(json_object_object_get_ex(o, "a", NULL));
	/* An object whose allocation failed: the value is released (the leak checker says so). */
	assert_int_equal(lc_json_add(NULL, "a", json_object_new_string("x")), -ENOMEM);
	assert_int_equal(lc_json_add_null(NULL, "a"), -ENOMEM);
	assert_int_equal(lc_json_add_string_or_null(NULL, "a", "x"), -ENOMEM);
}

static void test_add_null(void **state)
{
	_cleanup_json_ json_object *o = json_object_new_object();

	assert_int_equal(lc_json_add_null(o, "a"), 0);
	assert_int_equal(lc_json_add_string_or_null(o, "b", NULL), 0);
	assert_int_equal(lc_json_add_string_or_null(o, "c", "x"), 0);
	assert_string_equal(text(o), "{\"a\":null,\"b\":null,\"c\":\"x\"}");
}

static void test_sticky(void **state)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	int r = 0;

	assert_int_equal(lc_json_add_sticky(o, "a", json_object_new_int(1), &r), 0);
	assert_int_equal(r, 0);
	assert_int_equal(lc_json_add_sticky(o, "b", NULL, &r), -ENOMEM);
	assert_int_equal(r, -ENOMEM);
	/* Building goes on after a failure, and the first failure is kept. */
	assert_int_equal(lc_json_add_sticky(o, "c", json_object_new_int(3), &r), 0);
	assert_int_equal(lc_json_sticky(-EIO, &r), -EIO);
	assert_int_equal(lc_json_sticky(0, &r), 0);
	assert_int_equal(r, -ENOMEM);
	assert_string_equal(text(o), "{\"a\":1,\"c\":3}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_add_failed_allocation),
		cmocka_unit_test(test_add_null),
		cmocka_unit_test(test_sticky),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
