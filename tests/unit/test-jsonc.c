/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonc.h"
#include "macro.h"

/* Parses a copy of exactly len bytes (no terminator after them, so an over-read is caught by
 * AddressSanitizer). */
static int parse_exact(const char *text, size_t len, struct lc_json_node **ret,
		       struct lc_json_error *err)
{
	_cleanup_free_ char *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	memcpy(copy, text, len);
	return lc_jsonc_parse(copy, len, ret, err);
}

static struct lc_json_node *parse_ok(const char *text)
{
	struct lc_json_node *root = NULL;
	struct lc_json_error err = {};
	int r = parse_exact(text, strlen(text), &root, &err);

	if (r < 0)
		fail_msg("parse of <%s> failed: %d %u:%u %s", text, r, err.line, err.column,
			 err.message);
	assert_non_null(root);
	return root;
}

/* Asserts that text (len bytes) fails with r at line:column with exactly message. */
static void check_error_len(const char *text, size_t len, int r, unsigned line, unsigned column,
			    const char *message)
{
	struct lc_json_node *sentinel = (struct lc_json_node *)0x1, *root = sentinel;
	struct lc_json_error err = {};

	assert_int_equal(parse_exact(text, len, &root, &err), r);
	assert_ptr_equal(root, sentinel); /* untouched on failure */
	assert_string_equal(err.message, message);
	assert_int_equal(err.line, line);
	assert_int_equal(err.column, column);
}

static void check_error(const char *text, unsigned line, unsigned column, const char *message)
{
	check_error_len(text, strlen(text), -EINVAL, line, column, message);
}

static const struct lc_json_node *member(const struct lc_json_node *obj, const char *key)
{
	assert_int_equal(obj->type, LC_JSON_OBJECT);
	for (size_t i = 0; i < obj->u.children.n; i++)
		if (streq(obj->u.children.items[i]->key, key))
			return obj->u.children.items[i];
	fail_msg("no member %s", key);
	return NULL;
}

static void test_all_types_and_positions(void **state)
{
	struct lc_json_node *root = parse_ok("{\n"
					     "  \"b\": true,\n"
					     "  \"f\": false,\n"
					     "  \"n\": null,\n"
					     "  \"i\": -42,\n"
					     "  \"d\": 2.5,\n"
					     "  \"s\": \"text\",\n"
					     "  \"a\": [1, \"x\", {}],\n"
					     "  \"o\": {\"k\":\n"
					     "     7}\n"
					     "}");
	const struct lc_json_node *n;

	assert_int_equal(root->type, LC_JSON_OBJECT);
	assert_int_equal(root->line, 1);
	assert_int_equal(root->column, 1);
	assert_null(root->key);
	assert_int_equal(root->u.children.n, 8);

	n = member(root, "b");
	assert_int_equal(n->type, LC_JSON_BOOL);
	assert_true(n->u.b);
	assert_int_equal(n->line, 2);
	assert_int_equal(n->column, 8);
	assert_int_equal(n->key_line, 2);
	n = member(root, "f");
	assert_int_equal(n->type, LC_JSON_BOOL);
	assert_false(n->u.b);
	assert_int_equal(member(root, "n")->type, LC_JSON_NULL);
	n = member(root, "i");
	assert_int_equal(n->type, LC_JSON_INT);
	assert_int_equal(n->u.i, -42);
	n = member(root, "d");
	assert_int_equal(n->type, LC_JSON_DOUBLE);
	assert_true(n->u.d == 2.5);
	n = member(root, "s");
	assert_int_equal(n->type, LC_JSON_STRING);
	assert_string_equal(n->u.s, "text");
	assert_int_equal(n->column, 8);
	n = member(root, "a");
	assert_int_equal(n->type, LC_JSON_ARRAY);
	assert_int_equal(n->u.children.n, 3);
	assert_null(n->u.children.items[0]->key);
	assert_int_equal(n->u.children.items[1]->column, 12);
	assert_int_equal(n->u.children.items[2]->type, LC_JSON_OBJECT);
	assert_int_equal(n->u.children.items[2]->u.children.n, 0);
	n = member(root, "o");
	n = member(n, "k");
	assert_int_equal(n->u.i, 7);
	assert_int_equal(n->key_line, 9);
	assert_int_equal(n->line, 10);
	assert_int_equal(n->column, 6);

	assert_null(lc_json_node_free(root));
	assert_null(lc_json_node_free(NULL));
}

static void test_scalar_top_level(void **state)
{
	struct lc_json_node *root = parse_ok("  \"just a string\"  ");

	assert_int_equal(root->type, LC_JSON_STRING);
	assert_int_equal(root->column, 3);
	lc_json_node_free(root);
	root = parse_ok("[]");
	assert_int_equal(root->type, LC_JSON_ARRAY);
	assert_int_equal(root->u.children.n, 0);
	lc_json_node_free(root);
}

static void test_comments(void **state)
{
	struct lc_json_node *root =
		parse_ok("// leading comment\n"
			 "/* block\n   comment */ {\n"
			 "  \"a\" /* between */ : /* x */ 1, // after \"quoted\"\n"
			 "  \"b\": \"// not a comment /* either */\"\n"
			 "} // trailing comment without newline");

	assert_int_equal(root->line, 3);
	assert_int_equal(root->column, 15);
	assert_int_equal(member(root, "a")->u.i, 1);
	assert_int_equal(member(root, "a")->line, 4);
	assert_string_equal(member(root, "b")->u.s, "// not a comment /* either */");
	lc_json_node_free(root);

	root = parse_ok("/**/1/***/");
	assert_int_equal(root->u.i, 1);
	lc_json_node_free(root);
}

static void test_comment_errors(void **state)
{
	check_error("{\n  /* never closed\n", 2, 3, "unterminated comment");
	check_error("{} /* * /", 1, 4, "unterminated comment");
	check_error("{\"a\": 1 / 2}", 1, 9, "expected ',' or '}' after a member, got '/'");
	check_error("/", 1, 1, "expected a value, got '/'");
	check_error_len("// a\0b\n{}", 9, -EINVAL, 1, 5, "NUL byte in a comment");
	check_error_len("/* a\0b */{}", 11, -EINVAL, 1, 5, "NUL byte in a comment");
}

static void test_trailing_commas(void **state)
{
	struct lc_json_node *root = parse_ok("{\"a\": [1, 2, 3,], \"b\": {\"c\": 1,},}");

	assert_int_equal(member(root, "a")->u.children.n, 3);
	assert_int_equal(member(member(root, "b"), "c")->u.i, 1);
	lc_json_node_free(root);

	check_error("[,]", 1, 2, "expected a value, got ','");
	check_error("[1,,]", 1, 4, "expected a value, got ','");
	check_error("{,}", 1, 2, "expected a member name in double quotes or '}', got ','");
	check_error("{\"a\": 1,,}", 1, 9,
		    "expected a member name in double quotes or '}', got ','");
}

static void test_structure_errors(void **state)
{
	check_error("{\"a\" 1}", 1, 6, "expected ':' after the member name, got '1'");
	check_error("{\"a\": 1\n \"b\": 2}", 2, 2, "expected ',' or '}' after a member, got '\"'");
	check_error("{\"a\": 1 x}", 1, 9, "expected ',' or '}' after a member, got 'x'");
	check_error("[1 2]", 1, 4, "expected ',' or ']' after an array element, got '2'");
	check_error("[1", 1, 3, "expected ',' or ']' after an array element, got end of input");
	check_error("[1,", 1, 4, "expected a value, got end of input");
	check_error("{", 1, 2, "expected a member name in double quotes or '}', got end of input");
	check_error("{a: 1}", 1, 2, "expected a member name in double quotes or '}', got 'a'");
	check_error("{'a': 1}", 1, 2, "expected a member name in double quotes or '}', got \"'\"");
	check_error("{\"a\": }", 1, 7, "expected a value, got '}'");
	check_error("{} x", 1, 4, "trailing characters after the top-level value");
	check_error("1 2", 1, 3, "trailing characters after the top-level value");
	check_error("{\"a\": yes}", 1, 7,
		    "expected a value, got 'yes' (strings must be in double quotes)");
	check_error("[True]", 1, 2,
		    "expected a value, got 'True' (strings must be in double quotes)");
	check_error("[\x01]", 1, 2, "expected a value, got control character 0x01");
	check_error("[\xff]", 1, 2, "expected a value, got byte 0xff (not UTF-8)");
	check_error("[\xc3\xa9]", 1, 2, "expected a value, got '\xc3\xa9'");
}

static void test_duplicate_keys_kept(void **state)
{
	struct lc_json_node *root = parse_ok("{\"a\": 1, \"a\": 2}");

	assert_int_equal(root->u.children.n, 2);
	assert_string_equal(root->u.children.items[0]->key, "a");
	assert_int_equal(root->u.children.items[0]->u.i, 1);
	assert_int_equal(root->u.children.items[1]->u.i, 2);
	lc_json_node_free(root);
}

static void check_string(const char *json, const char *expected)
{
	struct lc_json_node *root = parse_ok(json);

	assert_int_equal(root->type, LC_JSON_STRING);
	assert_string_equal(root->u.s, expected);
	lc_json_node_free(root);
}

static void test_string_escapes(void **state)
{
	check_string("\"\"", "");
	check_string("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\" \\ / \b \f \n \r \t");
	check_string("\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac");
	check_string("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80"); /* U+1F600 */
	check_string("\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
	check_string("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
		     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	check_string("\"\x7f\"", "\x7f");
}

static void test_string_errors(void **state)
{
	check_error("[\"abc", 1, 2, "unterminated string");
	check_error("[\"abc\\", 1, 2, "unterminated string");
	check_error("{\"a\": \"abc\n\"}", 1, 7, "unterminated string");
	check_error("\"a\tb\"", 1, 3, "control character 0x09 in a string; write it as an escape");
	check_error_len("\"a\0b\"", 5, -EINVAL, 1, 3, "NUL byte in a string");
	check_error("\"\\u0000\"", 1, 2, "\\u0000 is not allowed in a string");
	check_error("\"ab\\x\"", 1, 4, "invalid escape '\\' followed by 'x'");
	check_error("\"\\u12G4\"", 1, 6,
		    "invalid \\u escape: expected 4 hexadecimal digits, got 'G'");
	check_error("\"\\u12", 1, 6,
		    "invalid \\u escape: expected 4 hexadecimal digits, got end of input");
	check_error(
		"\"\\ud83d\"", 1, 2,
		"invalid \\u escape: high surrogate \\uD83D is not followed by a low surrogate");
	check_error(
		"\"\\ud83dx\"", 1, 2,
		"invalid \\u escape: high surrogate \\uD83D is not followed by a low surrogate");
	check_error(
		"\"\\ud83d\\u0041\"", 1, 2,
		"invalid \\u escape: high surrogate \\uD83D is not followed by a low surrogate");
	check_error("\"\\ude00\"", 1, 2, "invalid \\u escape: unpaired low surrogate \\uDE00");
	/* Invalid UTF-8: a stray continuation byte, an overlong '/', an encoded surrogate, a
	 * truncated sequence at the end of the input, a code point above U+10FFFF. */
	check_error("\"a\x80\"", 1, 3, "invalid UTF-8 in a string (byte 0x80)");
	check_error("\"\xc0\xaf\"", 1, 2, "invalid UTF-8 in a string (byte 0xc0)");
	check_error("\"\xed\xa0\x80\"", 1, 2, "invalid UTF-8 in a string (byte 0xed)");
	check_error("\"\xe2\x82", 1, 2, "invalid UTF-8 in a string (byte 0xe2)");
	check_error("\"\xf4\x90\x80\x80\"", 1, 2, "invalid UTF-8 in a string (byte 0xf4)");
}

static void test_columns_count_characters(void **state)
{
	/* "é" is two bytes but one column. */
	check_error("[\"\xc3\xa9\xc3\xa9\", x]", 1, 8,
		    "expected a value, got 'x' (strings must be in double quotes)");
	/* A CR-LF file counts lines by LF. */
	check_error("{\r\n\"a\": 1\r\n\"b\"}", 3, 1,
		    "expected ',' or '}' after a member, got '\"'");
}

static void test_long_string_limit(void **state)
{
	size_t len = 1024 * 1024 + 3;
	_cleanup_free_ char *text = malloc(len);
	struct lc_json_node *root = NULL;
	struct lc_json_error err = {};

	assert_non_null(text);
	memset(text, 'a', len);
	text[0] = '"';
	text[len - 1] = '"';
	assert_int_equal(lc_jsonc_parse(text, len, &root, &err), -E2BIG);
	assert_null(root);
	assert_string_equal(err.message, "string longer than 1048576 bytes");
	assert_int_equal(err.line, 1);
	assert_int_equal(err.column, 1);

	/* Exactly at the limit is fine. */
	assert_int_equal(lc_jsonc_parse(text + 1, len - 1, &root, &err), -EINVAL);
	text[1024 * 1024 + 1] = '"';
	assert_int_equal(lc_jsonc_parse(text, 1024 * 1024 + 2, &root, &err), 0);
	assert_int_equal(strlen(root->u.s), 1024 * 1024);
	lc_json_node_free(root);
}

static void check_int(const char *json, int64_t expected)
{
	struct lc_json_node *root = parse_ok(json);

	assert_int_equal(root->type, LC_JSON_INT);
	assert_true(root->u.i == expected);
	lc_json_node_free(root);
}

static void check_double(const char *json, double expected)
{
	struct lc_json_node *root = parse_ok(json);

	assert_int_equal(root->type, LC_JSON_DOUBLE);
	assert_true(root->u.d == expected);
	lc_json_node_free(root);
}

static void test_numbers(void **state)
{
	check_int("0", 0);
	check_int("-0", 0);
	check_int("123", 123);
	check_int("-7", -7);
	check_int("9223372036854775807", INT64_MAX);
	check_int("-9223372036854775808", INT64_MIN);
	check_double("9223372036854775808", 9223372036854775808.0);
	check_double("-9223372036854775809", -9223372036854775809.0);
	check_double("123456789012345678901234567890", 123456789012345678901234567890.0);
	check_double("1.5", 1.5);
	check_double("-0.25", -0.25);
	check_double("1e3", 1000.0);
	check_double("1E+2", 100.0);
	check_double("-1.25e-2", -0.0125);
	check_double("1.0", 1.0);
	check_double("1e-400", 0.0); /* underflow to zero is still a finite number */
}

static void test_number_errors(void **state)
{
	check_error("01", 1, 1, "invalid number: leading zeros are not allowed");
	check_error("-01", 1, 1, "invalid number: leading zeros are not allowed");
	check_error("[+1]", 1, 2, "expected a value, got '+' (a number may not start with '+')");
	check_error("1.", 1, 3, "invalid number: expected a digit after '.', got end of input");
	check_error("1.e5", 1, 3, "invalid number: expected a digit after '.', got 'e'");
	check_error(".5", 1, 1, "expected a value, got '.'");
	check_error("1e", 1, 3,
		    "invalid number: expected a digit in the exponent, got end of input");
	check_error("1e+", 1, 4,
		    "invalid number: expected a digit in the exponent, got end of input");
	check_error("-", 1, 2, "invalid number: expected a digit after '-', got end of input");
	check_error("-x", 1, 2, "invalid number: expected a digit after '-', got 'x'");
	check_error("0x10", 1, 2, "invalid number, got 'x'");
	check_error("12abc", 1, 3, "invalid number, got 'a'");
	check_error("1.2.3", 1, 4, "invalid number, got '.'");
	check_error("[1e999]", 1, 2, "number out of range (not a finite double)");
	check_error("-1e999", 1, 1, "number out of range (not a finite double)");
	check_error("NaN", 1, 1, "expected a value, got 'NaN' (strings must be in double quotes)");
	check_error("[-Infinity]", 1, 3, "invalid number: expected a digit after '-', got 'I'");
	check_error("Infinity", 1, 1,
		    "expected a value, got 'Infinity' (strings must be in double quotes)");
}

static char *nested(unsigned depth, char open, char close)
{
	char *s = malloc(2 * depth + 1);

	assert_non_null(s);
	memset(s, open, depth);
	memset(s + depth, close, depth);
	s[2 * depth] = 0;
	return s;
}

static void test_depth_limit(void **state)
{
	_cleanup_free_ char *ok = nested(LC_JSONC_MAX_DEPTH, '[', ']');
	_cleanup_free_ char *deep = nested(LC_JSONC_MAX_DEPTH + 1, '[', ']');
	_cleanup_free_ char *very_deep = nested(100000, '[', ']');
	struct lc_json_node *root;

	root = parse_ok(ok);
	lc_json_node_free(root);
	check_error_len(deep, strlen(deep), -E2BIG, 1, 33, "nesting deeper than 32 levels");
	check_error_len(very_deep, strlen(very_deep), -E2BIG, 1, 33,
			"nesting deeper than 32 levels");
	/* Objects count too: the 33rd '{' is at column 32 * strlen("{\"a\":") + 1. */
	char objects[33 * 6 + 2] = "";
	for (int i = 0; i < 33; i++)
		strcat(objects, "{\"a\":");
	strcat(objects, "1");
	for (int i = 0; i < 33; i++)
		strcat(objects, "}");
	check_error_len(objects, strlen(objects), -E2BIG, 1, 32 * 5 + 1,
			"nesting deeper than 32 levels");
}

static char *array_of_zeros(size_t n)
{
	/* "[0,0,...,0]" */
	char *s = malloc(2 * n + 2);

	assert_non_null(s);
	s[0] = '[';
	for (size_t i = 0; i < n; i++) {
		s[1 + 2 * i] = '0';
		s[2 + 2 * i] = i + 1 < n ? ',' : ']';
	}
	s[2 * n + 1] = 0;
	return s;
}

static void test_node_limit(void **state)
{
	/* The array itself is a node: 65535 elements fit, 65536 do not. */
	_cleanup_free_ char *ok = array_of_zeros(LC_JSONC_MAX_NODES - 1);
	_cleanup_free_ char *big = array_of_zeros(LC_JSONC_MAX_NODES);
	struct lc_json_node *root = parse_ok(ok);

	assert_int_equal(root->u.children.n, LC_JSONC_MAX_NODES - 1);
	lc_json_node_free(root);
	check_error_len(big, strlen(big), -E2BIG, 1, 2 + 2 * (LC_JSONC_MAX_NODES - 1),
			"more than 65536 values");
}

static void test_nul_bytes_and_unterminated_input(void **state)
{
	struct lc_json_node *root = NULL;
	struct lc_json_error err = {};
	const char text[] = { '{', '"', 'a', '"', ':', '1', '}' }; /* no terminator */

	check_error_len("{\"a\": 1}\0", 9, -EINVAL, 1, 9,
			"trailing characters after the top-level value");
	check_error_len("{\"a\": \0}", 8, -EINVAL, 1, 7, "expected a value, got a NUL byte");
	check_error_len("\0", 1, -EINVAL, 1, 1, "expected a value, got a NUL byte");

	assert_int_equal(parse_exact(text, sizeof(text), &root, &err), 0);
	assert_int_equal(member(root, "a")->u.i, 1);
	lc_json_node_free(root);

	/* A length shorter than the string: only len bytes count. */
	root = NULL;
	assert_int_equal(lc_jsonc_parse("[1, 2]", 4, &root, &err), -EINVAL);
	assert_string_equal(err.message, "expected a value, got end of input");
	assert_null(root);
	assert_int_equal(lc_jsonc_parse("[1] garbage", 3, &root, &err), 0);
	lc_json_node_free(root);

	/* Empty input, or only comments, is an empty object; NULL text with length 0 is empty. */
	static const char *const empty[] = { "", "  \n // only a comment\n", "/* x */" };
	for (size_t i = 0; i < ARRAY_SIZE(empty); i++) {
		assert_int_equal(lc_jsonc_parse(empty[i], strlen(empty[i]), &root, &err), 0);
		assert_int_equal(root->type, LC_JSON_OBJECT);
		assert_int_equal(root->u.children.n, 0);
		root = lc_json_node_free(root);
	}
	assert_int_equal(lc_jsonc_parse(NULL, 0, &root, NULL), 0);
	root = lc_json_node_free(root);
	/* An unterminated comment is still an error. */
	assert_int_equal(lc_jsonc_parse("/* x", 4, &root, &err), -EINVAL);
	assert_null(root);
}

static void test_type_names(void **state)
{
	assert_string_equal(lc_json_type_name(LC_JSON_NULL), "null");
	assert_string_equal(lc_json_type_name(LC_JSON_BOOL), "boolean");
	assert_string_equal(lc_json_type_name(LC_JSON_INT), "integer");
	assert_string_equal(lc_json_type_name(LC_JSON_DOUBLE), "number");
	assert_string_equal(lc_json_type_name(LC_JSON_STRING), "string");
	assert_string_equal(lc_json_type_name(LC_JSON_ARRAY), "array");
	assert_string_equal(lc_json_type_name(LC_JSON_OBJECT), "object");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_types_and_positions),
		cmocka_unit_test(test_scalar_top_level),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_comment_errors),
		cmocka_unit_test(test_trailing_commas),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_duplicate_keys_kept),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_string_errors),
		cmocka_unit_test(test_columns_count_characters),
		cmocka_unit_test(test_long_string_limit),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_number_errors),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_node_limit),
		cmocka_unit_test(test_nul_bytes_and_unterminated_input),
		cmocka_unit_test(test_type_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
