/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cbor.h"

#define assert_bytes(w, ...)                                         \
	do {                                                         \
		const uint8_t want_[] = { __VA_ARGS__ };             \
		assert_int_equal(cbor_writer_len(w), sizeof(want_)); \
		assert_memory_equal((w)->buf, want_, sizeof(want_)); \
	} while (0)

/* RFC 8949, appendix A. */
static void test_uints(void **state)
{
	uint8_t buf[64];
	struct cbor_writer w;

	cbor_writer_init(&w, buf, sizeof(buf));
	cbor_uint(&w, 0);
	cbor_uint(&w, 23);
	cbor_uint(&w, 24);
	cbor_uint(&w, 1000);
	cbor_uint(&w, 1000000);
	cbor_uint(&w, 1000000000000ULL);
	assert_bytes(&w, 0x00, 0x17, 0x18, 0x18, 0x19, 0x03, 0xe8, 0x1a, 0x00, 0x0f, 0x42, 0x40,
		     0x1b, 0x00, 0x00, 0x00, 0xe8, 0xd4, 0xa5, 0x10, 0x00);
}

static void test_text_array_map_null(void **state)
{
	uint8_t buf[64];
	struct cbor_writer w;

	cbor_writer_init(&w, buf, sizeof(buf));
	cbor_cstr(&w, "");
	cbor_cstr(&w, "IETF");
	cbor_text(&w, "\xc3\xbc", 2); /* "ü" */
	cbor_array(&w, 3);
	cbor_map(&w, 2);
	cbor_null(&w);
	assert_bytes(&w, 0x60, 0x64, 0x49, 0x45, 0x54, 0x46, 0x62, 0xc3, 0xbc, 0x83, 0xa2, 0xf6);
}

static void test_long_text_head(void **state)
{
	static uint8_t buf[70000];
	static char text[300];
	struct cbor_writer w;

	memset(text, 'a', sizeof(text));
	cbor_writer_init(&w, buf, sizeof(buf));
	cbor_text(&w, text, 24);
	assert_int_equal(buf[0], 0x78);
	assert_int_equal(buf[1], 24);
	cbor_writer_init(&w, buf, sizeof(buf));
	cbor_text(&w, text, sizeof(text));
	assert_int_equal(buf[0], 0x79);
	assert_int_equal(buf[1], 0x01);
	assert_int_equal(buf[2], 0x2c);
	assert_int_equal(cbor_writer_len(&w), 3 + sizeof(text));
}

static void test_full_writer_stays_full(void **state)
{
	uint8_t buf[4];
	struct cbor_writer w;

	cbor_writer_init(&w, buf, sizeof(buf));
	cbor_cstr(&w, "abc");
	assert_int_equal(cbor_writer_len(&w), 4);
	cbor_cstr(&w, "too long");
	assert_int_equal(cbor_writer_len(&w), 0);
	cbor_null(&w); /* would fit if the writer forgot */
	assert_true(w.full);
	assert_int_equal(cbor_writer_len(&w), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uints),
		cmocka_unit_test(test_text_array_map_null),
		cmocka_unit_test(test_long_text_head),
		cmocka_unit_test(test_full_writer_stays_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
