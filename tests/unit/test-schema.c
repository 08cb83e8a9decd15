/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "macro.h"
#include "schema.h"

static void test_base_url(void **state)
{
	static const char *const good[] = {
		"",
		"https://device.example.com",
		"https://device.example.com:8443/prefix",
		"http://127.0.0.1:8080",
		"http://localhost",
		"http://[::1]:9000/",
		"https://[2001:db8::1]:443",
	};
	static const struct {
		const char *url, *why;
	} bad[] = {
		{ "ftp://x", "expected an https:// URL" },
		{ "device.example.com", "expected an https:// URL" },
		{ "http://device.example.com", "plain http:// is accepted only for a loopback "
					       "address; use https://" },
		{ "http://127.0.0.1.evil.com", "plain http:// is accepted only for a loopback "
					       "address; use https://" },
		{ "http://10.0.0.1", "plain http:// is accepted only for a loopback address; use "
				     "https://" },
		{ "https://", "expected a host name after the scheme" },
		{ "https://:443", "expected a host name after the scheme" },
		{ "https://x/?a=b", "expected a URL without query or fragment" },
		{ "https://[::1", "expected a closing ']' in the IPv6 address" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		const char *why = NULL;
		assert_int_equal(lc_check_base_url(good[i], &why), 0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *why = NULL;
		assert_int_equal(lc_check_base_url(bad[i].url, &why), -EINVAL);
		assert_string_equal(why, bad[i].why);
	}
}

static void test_paths(void **state)
{
	char long_path[120];
	const char *why = NULL;

	assert_int_equal(lc_check_absolute_path("/var/lib/faultd", &why), 0);
	assert_int_equal(lc_check_absolute_path("var/lib", &why), -EINVAL);
	assert_string_equal(why, "expected an absolute path");

	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = 0;
	assert_int_equal(lc_check_socket_path("/run/faultd/faultd.sock", &why), 0);
	assert_int_equal(lc_check_socket_path(long_path, &why), -EINVAL);
	assert_string_equal(why, "expected a socket path shorter than 108 bytes");
	long_path[107] = 0;
	assert_int_equal(lc_check_socket_path(long_path, &why), 0);
}

static void test_group_name(void **state)
{
	const char *why = NULL;

	assert_int_equal(lc_check_group_name("", &why), 0);
	assert_int_equal(lc_check_group_name("faultd", &why), 0);
	assert_int_equal(lc_check_group_name("-x", &why), -EINVAL);
	assert_int_equal(lc_check_group_name("a b", &why), -EINVAL);
	assert_string_equal(why, "expected a group name");
}

static void test_core_table_is_consistent(void **state)
{
	const struct lc_cfg_section *s = &lc_core_config_section;

	assert_null(s->name);
	for (size_t i = 0; i < s->n_keys; i++) {
		const struct lc_cfg_key *k = &s->keys[i];

		assert_non_null(k->description);
		for (size_t j = i + 1; j < s->n_keys; j++)
			assert_string_not_equal(k->name, s->keys[j].name);
		if (k->type == LC_CFG_INT) {
			assert_true(k->min <= k->def_int && k->def_int <= k->max);
		}
		if (k->type == LC_CFG_STRING && k->check && k->def_string) {
			const char *why = NULL;
			assert_int_equal(k->check(k->def_string, &why), 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_url),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_group_name),
		cmocka_unit_test(test_core_table_is_consistent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
