/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "text.h"

static void test_printable(void **state)
{
	assert_true(lc_text_printable("", 0));
	assert_true(lc_text_printable(" azAZ09~!", 9));
	assert_false(lc_text_printable("a\nb", 3));
	assert_false(lc_text_printable("a\tb", 3));
	assert_false(lc_text_printable("\x1f", 1));
	assert_false(lc_text_printable("\x7f", 1));
	assert_false(lc_text_printable("\xc3\xa9", 2)); /* UTF-8 is not ASCII */
	assert_false(lc_text_printable("a\0b", 3));
	/* Only the len bytes count. */
	assert_true(lc_text_printable("ab\n", 2));
}

static void test_printable_copy(void **state)
{
	char buf[8];

	assert_ptr_equal(lc_text_printable_copy(buf, sizeof(buf), "ok", 2), buf);
	assert_string_equal(buf, "ok");
	lc_text_printable_copy(buf, sizeof(buf), "a\nb\x7f\xc3\xa9", 6);
	assert_string_equal(buf, "a?b???");
	/* NULs within len are bytes like the others. */
	lc_text_printable_copy(buf, sizeof(buf), "a\0b", 3);
	assert_string_equal(buf, "a?b");
	/* At most size - 1 bytes, always ended. */
	lc_text_printable_copy(buf, sizeof(buf), "0123456789", 10);
	assert_string_equal(buf, "0123456");
	lc_text_printable_copy(buf, 1, "abc", 3);
	assert_string_equal(buf, "");
	lc_text_printable_copy(buf, sizeof(buf), "abc", 0);
	assert_string_equal(buf, "");
	/* size 0: nothing written. */
	buf[0] = 'x';
	lc_text_printable_copy(buf, 0, "abc", 3);
	assert_int_equal(buf[0], 'x');
}

/* s scrubbed with flags, compared with want (both len bytes). */
static void assert_scrub(const char *s, size_t len, unsigned flags, const char *want)
{
	char buf[64];

	assert_true(len < sizeof(buf));
	memcpy(buf, s, len);
	buf[len] = 0;
	lc_text_scrub(buf, len, flags);
	assert_memory_equal(buf, want, len);
}

static void test_scrub_ascii(void **state)
{
	assert_scrub("plain text ~", 12, 0, "plain text ~");
	assert_scrub("a\nb\tc\rd\x1b[0m\x7f", 12, 0, "a?b?c?d?[0m?");
	assert_scrub("\xc3\xa9", 2, 0, "??");
	assert_scrub("a\0b", 3, 0, "a?b");
	assert_scrub("", 0, 0, "");
}

static void test_scrub_keeps_what_flags_say(void **state)
{
	assert_scrub("a\nb\tc", 5, LC_TEXT_KEEP_NEWLINE, "a\nb?c");
	assert_scrub("a\nb\tc", 5, LC_TEXT_KEEP_TAB, "a?b\tc");
	assert_scrub("a\nb\tc\r", 6, LC_TEXT_KEEP_NEWLINE | LC_TEXT_KEEP_TAB, "a\nb\tc?");
	/* /proc's cmdline: arguments separated by NULs. */
	assert_scrub("sh\0-c\0x\x01", 8, LC_TEXT_NUL_AS_SPACE | LC_TEXT_KEEP_NEWLINE, "sh -c x?");
}

static void test_scrub_utf8(void **state)
{
	/* é, €, 😀 stay; control characters and DEL do not. */
	assert_scrub("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, LC_TEXT_KEEP_UTF8,
		     "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	assert_scrub("\xc3\xa9\n\x7f", 4, LC_TEXT_KEEP_UTF8, "\xc3\xa9??");
	/* Not UTF-8: a stray continuation byte, an overlong form, a surrogate, a start byte
	 * without its continuation, a sequence cut at the end (vsnprintf() cut it). */
	assert_scrub("\x80x", 2, LC_TEXT_KEEP_UTF8, "?x");
	assert_scrub("\xc0\x80", 2, LC_TEXT_KEEP_UTF8, "??");
	assert_scrub("\xed\xa0\x80", 3, LC_TEXT_KEEP_UTF8, "???");
	assert_scrub("\xc3(", 2, LC_TEXT_KEEP_UTF8, "?(");
	assert_scrub("ab\xe2\x82", 4, LC_TEXT_KEEP_UTF8, "ab??");
	assert_scrub("\xf5\x80\x80\x80", 4, LC_TEXT_KEEP_UTF8, "????");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_printable_copy),
		cmocka_unit_test(test_scrub_ascii),
		cmocka_unit_test(test_scrub_keeps_what_flags_say),
		cmocka_unit_test(test_scrub_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
