/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "utf8.h"

/* Decodes the first n bytes of s from a buffer of exactly n bytes, so that a read past them is
 * caught by the address sanitizer. */
static size_t decode_exact(const char *s, size_t n, uint32_t *ret_cp)
{
	char *buf = malloc(n);
	size_t len;

	assert_non_null(buf);
	memcpy(buf, s, n);
	len = lc_utf8_decode(buf, n, ret_cp);
	free(buf);
	return len;
}

static void test_decode_valid(void **state)
{
	static const struct {
		const char *s;
		size_t n;
		uint32_t cp;
	} cases[] = {
		{ "A", 1, 'A' },
		{ "\x00", 1, 0 },
		{ "\x7F", 1, 0x7F },
		{ "\xC2\x80", 2, 0x80 },
		{ "\xC3\xA9", 2, 0xE9 },
		{ "\xDF\xBF", 2, 0x7FF },
		{ "\xE0\xA0\x80", 3, 0x800 },
		{ "\xE2\x82\xAC", 3, 0x20AC },
		{ "\xED\x9F\xBF", 3, 0xD7FF },
		{ "\xEE\x80\x80", 3, 0xE000 },
		{ "\xEF\xBF\xBF", 3, 0xFFFF },
		{ "\xF0\x90\x80\x80", 4, 0x10000 },
		{ "\xF0\x9F\x98\x80", 4, 0x1F600 },
		{ "\xF4\x8F\xBF\xBF", 4, 0x10FFFF },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t cp = 0xFFFFFFFF;

		if (decode_exact(cases[i].s, cases[i].n, &cp) != cases[i].n || cp != cases[i].cp)
			fail_msg("case %zu: expected U+%04X in %zu bytes", i, (unsigned)cases[i].cp,
				 cases[i].n);
		/* The code point is optional. */
		assert_int_equal(decode_exact(cases[i].s, cases[i].n, NULL), cases[i].n);
	}
}

static void test_decode_reads_one_character(void **state)
{
	uint32_t cp;

	/* Only the first character counts; what follows is not looked at. */
	assert_int_equal(lc_utf8_decode("\xC3\xA9\xFF", 3, &cp), 2);
	assert_int_equal(cp, 0xE9);
	assert_int_equal(lc_utf8_decode("ab", 2, &cp), 1);
	assert_int_equal(cp, 'a');
}

static void test_decode_invalid(void **state)
{
	static const struct {
		const char *s;
		size_t n;
	} cases[] = {
		/* stray continuation bytes */
		{ "\x80", 1 },
		{ "\xBF", 1 },
		/* overlong forms */
		{ "\xC0\x80", 2 },
		{ "\xC1\xBF", 2 },
		{ "\xE0\x80\x80", 3 },
		{ "\xE0\x9F\xBF", 3 },
		{ "\xF0\x80\x80\x80", 4 },
		{ "\xF0\x8F\xBF\xBF", 4 },
		/* surrogates */
		{ "\xED\xA0\x80", 3 },
		{ "\xED\xBF\xBF", 3 },
		/* above U+10FFFF, and bytes that never start a character */
		{ "\xF4\x90\x80\x80", 4 },
		{ "\xF5\x80\x80\x80", 4 },
		{ "\xF8\x88\x80\x80\x80", 5 },
		{ "\xFE", 1 },
		{ "\xFF", 1 },
		/* a continuation byte missing or replaced */
		{ "\xE2\x28\xA1", 3 },
		{ "\xF0\x9F\x98\x41", 4 },
		{ "\xC3\x00", 2 },
		/* a character cut short by the end of the buffer: nothing past it is read */
		{ "\xC3\xA9", 1 },
		{ "\xE2\x82\xAC", 2 },
		{ "\xF0\x9F\x98\x80", 3 },
		{ "\xF0\x9F\x98\x80", 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t cp = 0xABCD;

		if (decode_exact(cases[i].s, cases[i].n, &cp) != 0)
			fail_msg("case %zu: decoded", i);
		assert_int_equal(cp, 0xABCD); /* untouched */
	}
}

static void test_encode_round_trip(void **state)
{
	for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
		char out[LC_UTF8_MAX];
		size_t n, expected = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		uint32_t back = 0;

		if (cp >= 0xD800 && cp <= 0xDFFF)
			continue;
		n = lc_utf8_encode(cp, out);
		if (n != expected)
			fail_msg("U+%04X: %zu bytes, expected %zu", (unsigned)cp, n, expected);
		if (lc_utf8_decode(out, n, &back) != n || back != cp)
			fail_msg("U+%04X does not decode to itself", (unsigned)cp);
	}
}

static void test_encode_bytes(void **state)
{
	char out[LC_UTF8_MAX];

	assert_int_equal(lc_utf8_encode(0xE9, out), 2);
	assert_memory_equal(out, "\xC3\xA9", 2);
	assert_int_equal(lc_utf8_encode(0x20AC, out), 3);
	assert_memory_equal(out, "\xE2\x82\xAC", 3);
	assert_int_equal(lc_utf8_encode(0x10FFFF, out), 4);
	assert_memory_equal(out, "\xF4\x8F\xBF\xBF", 4);
}

static void test_is_continuation(void **state)
{
	assert_false(lc_utf8_is_continuation('a'));
	assert_false(lc_utf8_is_continuation(0xC3));
	assert_false(lc_utf8_is_continuation(0xF0));
	assert_true(lc_utf8_is_continuation(0x80));
	assert_true(lc_utf8_is_continuation(0xBF));
}

static void test_cut(void **state)
{
	/* "a" "é" "€": bytes 0, 1-2, 3-5 */
	const char *s = "a\xC3\xA9\xE2\x82\xAC";

	assert_int_equal(lc_utf8_cut(s, 6, 6), 6);
	assert_int_equal(lc_utf8_cut(s, 6, 100), 6);
	assert_int_equal(lc_utf8_cut(s, 6, 5), 3);
	assert_int_equal(lc_utf8_cut(s, 6, 4), 3);
	assert_int_equal(lc_utf8_cut(s, 6, 3), 3);
	assert_int_equal(lc_utf8_cut(s, 6, 2), 1);
	assert_int_equal(lc_utf8_cut(s, 6, 1), 1);
	assert_int_equal(lc_utf8_cut(s, 6, 0), 0);
	assert_int_equal(lc_utf8_cut("", 0, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_valid),
		cmocka_unit_test(test_decode_reads_one_character),
		cmocka_unit_test(test_decode_invalid),
		cmocka_unit_test(test_encode_round_trip),
		cmocka_unit_test(test_encode_bytes),
		cmocka_unit_test(test_is_continuation),
		cmocka_unit_test(test_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
