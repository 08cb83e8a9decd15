/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>

#include "macro.h"
#include "uuid.h"

/*
 * Linked with -Wl,--wrap=getrandom (tests/unit/meson.build): the kernel's pool as this test wants
 * it, to see that a UUID is made without ever waiting for it.
 */
enum pool { POOL_READY, POOL_NOT_READY, POOL_PARTIAL, POOL_INTERRUPTED };

static enum pool pool;
static unsigned getrandom_calls;
static bool getrandom_blocking; /* a call without GRND_NONBLOCK was made */

ssize_t __real_getrandom(void *buf, size_t len, unsigned flags);
ssize_t __wrap_getrandom(void *buf, size_t len, unsigned flags);

ssize_t __wrap_getrandom(void *buf, size_t len, unsigned flags)
{
	getrandom_calls++;
	if (!(flags & GRND_NONBLOCK))
		getrandom_blocking = true;
	switch (pool) {
	case POOL_READY:
		break;
	case POOL_NOT_READY:
		errno = EAGAIN;
		return -1;
	case POOL_PARTIAL:
		/* Five bytes, then the pool runs dry. */
		if (getrandom_calls > 1) {
			errno = EAGAIN;
			return -1;
		}
		len = len < 5 ? len : 5;
		break;
	case POOL_INTERRUPTED:
		if (getrandom_calls == 1) {
			errno = EINTR;
			return -1;
		}
		break;
	}
	return __real_getrandom(buf, len, flags);
}

static int reset(void **state)
{
	pool = POOL_READY;
	getrandom_calls = 0;
	getrandom_blocking = false;
	return 0;
}

/* A version 4 UUID of the RFC 4122 variant, lowercase. */
static void assert_random_uuid(const char *s)
{
	assert_int_equal(strlen(s), LC_UUID_LEN);
	assert_true(lc_uuid_valid(s));
	assert_int_equal(s[14], '4');
	assert_non_null(strchr("89ab", s[19]));
}

static void test_random_is_valid_and_distinct(void **state)
{
	char a[LC_UUID_LEN + 1], b[LC_UUID_LEN + 1];

	assert_int_equal(lc_uuid_random(a), 0);
	assert_int_equal(lc_uuid_random(b), 0);
	assert_random_uuid(a);
	assert_random_uuid(b);
	assert_string_not_equal(a, b);
	assert_false(getrandom_blocking);
}

static void test_pool_not_ready_reads_urandom(void **state)
{
	char a[LC_UUID_LEN + 1], b[LC_UUID_LEN + 1];

	pool = POOL_NOT_READY;
	assert_int_equal(lc_uuid_random(a), 0);
	assert_int_equal(lc_uuid_random(b), 0);
	assert_random_uuid(a);
	assert_random_uuid(b);
	assert_string_not_equal(a, b);
	assert_true(getrandom_calls >= 2);
	assert_false(getrandom_blocking);
}

static void test_pool_partial_completed_from_urandom(void **state)
{
	char a[LC_UUID_LEN + 1];

	pool = POOL_PARTIAL;
	assert_int_equal(lc_uuid_random(a), 0);
	assert_random_uuid(a);
	assert_int_equal(getrandom_calls, 2);
	assert_false(getrandom_blocking);
}

static void test_interrupted_is_retried(void **state)
{
	char a[LC_UUID_LEN + 1];

	pool = POOL_INTERRUPTED;
	assert_int_equal(lc_uuid_random(a), 0);
	assert_random_uuid(a);
	assert_int_equal(getrandom_calls, 2);
}

static void test_no_source_says_why(void **state)
{
	char a[LC_UUID_LEN + 1] = "untouched";
	struct rlimit saved, none = { 0, 0 };
	int r;

	/* No pool, and no descriptor left to open /dev/urandom with. */
	pool = POOL_NOT_READY;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	none.rlim_max = saved.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &none), 0);
	r = lc_uuid_random(a);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_int_equal(r, -EMFILE);
	assert_string_equal(a, "untouched");
	assert_false(getrandom_blocking);
}

static void test_valid(void **state)
{
	assert_true(lc_uuid_valid("0b5c1f7e-9a5e-4b8e-b2f5-3c1d2e4f5a6b"));
	/* Any version: the kernel's boot ids and older entries are checked too. */
	assert_true(lc_uuid_valid("00000000-0000-0000-0000-000000000000"));
	assert_true(lc_uuid_valid("22222222-2222-2222-2222-222222222222"));
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {
		"",
		"short",
		"0B5C1F7E-9A5E-4B8E-B2F5-3C1D2E4F5A6B",	 /* uppercase */
		"0b5c1f7e-9a5e-4b8e-b2f5-3c1d2e4f5a6",	 /* 35 */
		"0b5c1f7e-9a5e-4b8e-b2f5-3c1d2e4f5a6bc", /* 37 */
		"0b5c1f7e-9a5e-4b8e-b2f5-3c1d2e4f5a6b\n",
		"0b5c1f7e9-a5e-4b8e-b2f5-3c1d2e4f5a6b", /* a dash moved */
		"0b5c1f7e-9a5e-4b8e-b2f5-3c1d2e4f5a6g", /* not hexadecimal */
		"0b5c1f7e 9a5e 4b8e b2f5 3c1d2e4f5a6b",
		"{0b5c1f7-9a5e-4b8e-b2f5-3c1d2e4f5a6b}",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_false(lc_uuid_valid(bad[i]));
	assert_false(lc_uuid_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_random_is_valid_and_distinct, reset),
		cmocka_unit_test_setup(test_pool_not_ready_reads_urandom, reset),
		cmocka_unit_test_setup(test_pool_partial_completed_from_urandom, reset),
		cmocka_unit_test_setup(test_interrupted_is_retried, reset),
		cmocka_unit_test_setup(test_no_source_says_why, reset),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
