/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "statsd-parse.h"

#define GOT_MAX 16

/* What the sink received from the last parse. */
struct got {
	char name[STATSD_NAME_MAX + 2];
	enum statsd_reading_kind kind;
	double value;
	char member[64];
};

static struct got got[GOT_MAX];
static size_t n_got;	 /* readings received, also beyond GOT_MAX */
static size_t n_refused; /* malformed callbacks */
static size_t last_member_len;
static const char *why[4]; /* the first reasons given */
static char refused_line[4][64];

static void on_reading(void *userdata, const struct statsd_reading *r)
{
	if (r->kind == STATSD_READING_SET) {
		assert_true(r->member_len > 0);
		last_member_len = r->member_len;
	}
	if (n_got < GOT_MAX) {
		struct got *g = &got[n_got];

		assert_true(r->name_len > 0 && r->name_len <= STATSD_NAME_MAX);
		memcpy(g->name, r->name, r->name_len);
		g->name[r->name_len] = '\0';
		g->kind = r->kind;
		g->value = r->value;
		g->member[0] = '\0';
		if (r->kind == STATSD_READING_SET && r->member_len < sizeof(g->member)) {
			memcpy(g->member, r->member, r->member_len);
			g->member[r->member_len] = '\0';
		}
	}
	n_got++;
}

static void on_malformed(void *userdata, const char *line, size_t len, const char *reason)
{
	assert_non_null(reason);
	if (n_refused < ARRAY_SIZE(why)) {
		why[n_refused] = reason;
		snprintf(refused_line[n_refused], sizeof(refused_line[0]), "%.*s",
			 (int)MIN(len, (size_t)60), line);
	}
	n_refused++;
}

static const struct statsd_sink sink = { .reading = on_reading, .malformed = on_malformed };

/* Parses a datagram of len bytes from a fresh count; the counts are returned. */
static struct statsd_parse_counts parse_n(const char *buf, size_t len)
{
	struct statsd_parse_counts c = {};

	n_got = n_refused = 0;
	memset(got, 0, sizeof(got));
	memset(why, 0, sizeof(why));
	statsd_parse_datagram(buf, len, &sink, &c);
	/* The counts and what the sink saw always agree. */
	assert_int_equal(c.readings, n_got);
	assert_int_equal(c.malformed, n_refused);
	return c;
}

static struct statsd_parse_counts parse(const char *s)
{
	return parse_n(s, strlen(s));
}

/* Asserts s is one metric line giving exactly one reading of kind and value. */
static void assert_one(const char *s, const char *name, enum statsd_reading_kind kind, double value)
{
	struct statsd_parse_counts c = parse(s);

	if (c.lines != 1 || n_got != 1)
		fail_msg("\"%s\": %zu readings, malformed: %s", s, n_got, why[0] ? why[0] : "-");
	assert_string_equal(got[0].name, name);
	assert_int_equal(got[0].kind, kind);
	if (got[0].value != value)
		fail_msg("\"%s\": got %.17g, expected %.17g", s, got[0].value, value);
}

/* Asserts s is one malformed line and nothing else, with a reason. */
static void assert_malformed(const char *s)
{
	struct statsd_parse_counts c = parse(s);

	if (c.malformed != 1 || c.lines != 0 || n_got != 0)
		fail_msg("\"%s\" was not refused (%" PRIu64 " lines)", s, c.lines);
	assert_non_null(why[0]);
}

static void test_number_valid(void **state)
{
	static const struct {
		const char *s;
		double v;
	} cases[] = {
		{ "0", 0 },
		{ "1", 1 },
		{ "-1", -1 },
		{ "+1", 1 },
		{ "42", 42 },
		{ "1.5", 1.5 },
		{ ".5", 0.5 },
		{ "5.", 5 },
		{ "0.1", 0.1 },
		{ "-0.25", -0.25 },
		{ "123.456", 123.456 },
		{ "000123", 123 },
		{ "9007199254740991", 9007199254740991.0 },
		{ "9007199254740993", 9007199254740992.0 }, /* beyond 2^53: rounded to even */
		{ "18446744073709551617", 18446744073709551616.0 },
		{ "0.30000000000000004", 0.30000000000000004 },
		{ "0.1234567890123456789012345", 0.1234567890123456789012345 },
		{ "1e3", 1000 },
		{ "1E3", 1000 },
		{ "1.5e+2", 150 },
		{ "25e-2", 0.25 },
		{ "-1.5E-3", -0.0015 },
		{ "1e308", 1e308 },
		{ "1e-400", 0 }, /* underflows to zero: finite */
	};
	double d;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		d = -12345;
		if (statsd_parse_number(cases[i].s, strlen(cases[i].s), &d) != 0)
			fail_msg("\"%s\" refused", cases[i].s);
		if (d != cases[i].v)
			fail_msg("\"%s\": got %.17g, expected %.17g", cases[i].s, d, cases[i].v);
	}
	/* Only len bytes count: the rest of the datagram follows without a terminator. */
	assert_int_equal(statsd_parse_number("12|c", 2, &d), 0);
	assert_true(d == 12);
	assert_int_equal(statsd_parse_number("1.5e3:7", 5, &d), 0);
	assert_true(d == 1500);
}

static void test_number_invalid(void **state)
{
	static const char *const cases[] = {
		"",	 "+",	   "-",	    ".",     "+.",    "e5",    "1e",   "1e+",
		"1e-",	 "nan",	   "NaN",   "-nan",  "inf",   "-inf",  "+inf", "Infinity",
		"1e400", "-1e400", "1e309", "0x10",  "0X10",  "0x1p3", " 1",   "1 ",
		"\t1",	 "1\n",	   "1,5",   "1..2",  "1.2.3", "--1",   "+-1",  "1e5.5",
		"1e+-5", "12a",	   "a12",   "1_000", "\xff",  "٣",
	};
	char longest[STATSD_NUMBER_MAX + 2];
	double d = 7;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (statsd_parse_number(cases[i], strlen(cases[i]), &d) != -EINVAL)
			fail_msg("\"%s\" accepted as %.17g", cases[i], d);
	assert_true(d == 7); /* untouched on failure */

	/* A NUL byte inside is not a terminator. */
	assert_int_equal(statsd_parse_number("1\0002", 3, &d), -EINVAL);

	/* STATSD_NUMBER_MAX digits are a number, one more is not. */
	memset(longest, '1', sizeof(longest));
	longest[0] = '0';
	longest[1] = '.';
	assert_int_equal(statsd_parse_number(longest, STATSD_NUMBER_MAX, &d), 0);
	assert_true(d > 0.11 && d < 0.12);
	assert_int_equal(statsd_parse_number(longest, STATSD_NUMBER_MAX + 1, &d), -EINVAL);
}

/* The exact fast path agrees bit for bit with strtod() on random decimals. */
static void test_number_matches_strtod(void **state)
{
	char buf[64];
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	double d;

	for (int i = 0; i < 200000; i++) {
		int int_digits, frac_digits, n = 0;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int_digits = (int)(x % 17);
		frac_digits = (int)((x >> 8) % 24);
		if (x & (1ULL << 40))
			buf[n++] = '-';
		for (int k = 0; k < int_digits; k++)
			buf[n++] = (char)('0' + (x >> (k * 3 % 60)) % 10);
		if (frac_digits || !int_digits) {
			buf[n++] = '.';
			for (int k = 0; k < frac_digits + !int_digits; k++)
				buf[n++] = (char)('0' + ((x >> (k * 5 % 60)) ^ (uint64_t)k) % 10);
		}
		buf[n] = '\0';
		assert_int_equal(statsd_parse_number(buf, (size_t)n, &d), 0);
		if (d != strtod(buf, NULL))
			fail_msg("\"%s\": got %.17g, strtod %.17g", buf, d, strtod(buf, NULL));
	}
}

static void test_counter(void **state)
{
	assert_one("hits:1|c", "hits", STATSD_READING_COUNTER, 1);
	assert_one("hits:0|c", "hits", STATSD_READING_COUNTER, 0);
	assert_one("hits:-3|c", "hits", STATSD_READING_COUNTER, -3);
	assert_one("hits:+3|c", "hits", STATSD_READING_COUNTER, 3);
	assert_one("hits:2.5|c", "hits", STATSD_READING_COUNTER, 2.5);
	assert_one("a.b-c_d/e:1|c", "a.b-c_d/e", STATSD_READING_COUNTER, 1);
	/* Names are taken as they are: the store maps other bytes. */
	assert_one("my app{x}:1|c", "my app{x}", STATSD_READING_COUNTER, 1);
}

static void test_sample_rate(void **state)
{
	/* A counter is scaled up by its rate. */
	assert_one("hits:1|c|@1", "hits", STATSD_READING_COUNTER, 1);
	assert_one("hits:1|c|@0.1", "hits", STATSD_READING_COUNTER, 1 / 0.1);
	assert_one("hits:3|c|@0.5", "hits", STATSD_READING_COUNTER, 6);
	assert_one("hits:1|c|@1e-1", "hits", STATSD_READING_COUNTER, 1 / 0.1);
	assert_one("hits:1|c|@.25", "hits", STATSD_READING_COUNTER, 4);
	/* Other types check it and ignore it. */
	assert_one("t:10|ms|@0.1", "t", STATSD_READING_HISTOGRAM, 10);
	assert_one("t:10|h|@0.5", "t", STATSD_READING_HISTOGRAM, 10);
	assert_one("t:10|d|@0.5", "t", STATSD_READING_HISTOGRAM, 10);
	assert_one("g:10|g|@0.5", "g", STATSD_READING_GAUGE, 10);
	assert_int_equal(parse("u:x|s|@0.5").lines, 1);
	assert_string_equal(got[0].member, "x");
	/* The rate wherever it is among the fields; the last one counts. */
	assert_one("hits:1|c|#a:b|@0.5", "hits", STATSD_READING_COUNTER, 2);
	assert_one("hits:1|c|@0.5|@0.25", "hits", STATSD_READING_COUNTER, 4);

	assert_malformed("hits:1|c|@0");
	assert_malformed("hits:1|c|@0.0");
	assert_malformed("hits:1|c|@-0.5");
	assert_malformed("hits:1|c|@1.5");
	assert_malformed("hits:1|c|@2");
	assert_malformed("hits:1|c|@");
	assert_malformed("hits:1|c|@abc");
	assert_malformed("hits:1|c|@nan");
	assert_malformed("hits:1|c|@inf");
	assert_malformed("hits:1|c|@0x1");
	assert_malformed("hits:1|c|@ 0.5");
	assert_malformed("hits:1|c|@1e-400"); /* 0 after underflow */
	assert_malformed("t:1|ms|@0");
	assert_malformed("u:x|s|@5");
	/* A huge counter divided by its rate leaves the finite range. */
	assert_malformed("hits:1e308|c|@0.1");
}

static void test_gauge(void **state)
{
	assert_one("g:5|g", "g", STATSD_READING_GAUGE, 5);
	assert_one("g:0|g", "g", STATSD_READING_GAUGE, 0);
	assert_one("g:2.5|g", "g", STATSD_READING_GAUGE, 2.5);
	assert_one("g:.5|g", "g", STATSD_READING_GAUGE, 0.5);
	assert_one("g:1e2|g", "g", STATSD_READING_GAUGE, 100);
	/* A sign makes a delta: statsd's convention, so "-5" does not set -5. */
	assert_one("g:+5|g", "g", STATSD_READING_GAUGE_DELTA, 5);
	assert_one("g:-5|g", "g", STATSD_READING_GAUGE_DELTA, -5);
	assert_one("g:+0|g", "g", STATSD_READING_GAUGE_DELTA, 0);
	assert_one("g:-0.5|g", "g", STATSD_READING_GAUGE_DELTA, -0.5);
	assert_one("g:+1e3|g", "g", STATSD_READING_GAUGE_DELTA, 1000);
	assert_malformed("g:+|g");
	assert_malformed("g:-|g");
	assert_malformed("g:++1|g");
	assert_malformed("g:|g");
}

static void test_histograms(void **state)
{
	assert_one("t:320|ms", "t", STATSD_READING_HISTOGRAM, 320);
	assert_one("t:0.5|ms", "t", STATSD_READING_HISTOGRAM, 0.5);
	assert_one("t:-1|ms", "t", STATSD_READING_HISTOGRAM, -1);
	assert_one("h:7|h", "h", STATSD_READING_HISTOGRAM, 7);
	assert_one("d:7.25|d", "d", STATSD_READING_HISTOGRAM, 7.25);
	/* A sign on a non-gauge is just a sign. */
	assert_one("d:+7|d", "d", STATSD_READING_HISTOGRAM, 7);
}

static void test_set(void **state)
{
	assert_int_equal(parse("users:alice|s").lines, 1);
	assert_int_equal(n_got, 1);
	assert_int_equal(got[0].kind, STATSD_READING_SET);
	assert_string_equal(got[0].name, "users");
	assert_string_equal(got[0].member, "alice");
	/* Members are strings, numbers included, and keep their ':' (no packing for sets). */
	assert_int_equal(parse("users:12|s").lines, 1);
	assert_string_equal(got[0].member, "12");
	assert_int_equal(parse("users:a:b:c|s|#t:1").lines, 1);
	assert_int_equal(n_got, 1);
	assert_string_equal(got[0].member, "a:b:c");
	assert_int_equal(parse("users:nan|s").lines, 1);
	assert_string_equal(got[0].member, "nan");
	assert_malformed("users:|s");
}

static void test_types(void **state)
{
	assert_malformed("a:1|x");
	assert_malformed("a:1|");
	assert_malformed("a:1||c");
	assert_malformed("a:1|C");
	assert_malformed("a:1|cc");
	assert_malformed("a:1|m");
	assert_malformed("a:1|mss");
	assert_malformed("a:1|sm");
	assert_malformed("a:1|timer");
	assert_malformed("a:1| c");
	assert_malformed("a:1|c ");
	assert_malformed("a:1|\xff");
}

static void test_multiple_lines(void **state)
{
	struct statsd_parse_counts c;

	c = parse("a:1|c\nb:2|g\nc:3|ms\nd:x|s");
	assert_int_equal(c.lines, 4);
	assert_int_equal(c.readings, 4);
	assert_string_equal(got[0].name, "a");
	assert_string_equal(got[1].name, "b");
	assert_int_equal(got[1].kind, STATSD_READING_GAUGE);
	assert_string_equal(got[2].name, "c");
	assert_string_equal(got[3].member, "x");

	/* A trailing newline, CRLF and empty lines are neither lines nor errors. */
	c = parse("a:1|c\n");
	assert_int_equal(c.lines, 1);
	assert_int_equal(c.malformed, 0);
	c = parse("a:1|c\r\nb:2|c\r\n");
	assert_int_equal(c.lines, 2);
	assert_int_equal(c.malformed, 0);
	assert_true(got[1].value == 2);
	c = parse("\n\n\r\na:1|c\n\n\nb:1|c|#t\r\n\n");
	assert_int_equal(c.lines, 2);
	assert_int_equal(c.malformed, 0);
	assert_int_equal(c.ignored, 0);
	c = parse("");
	assert_int_equal(c.lines + c.malformed + c.ignored, 0);
	c = parse("\n");
	assert_int_equal(c.lines + c.malformed + c.ignored, 0);
	/* A lone '\r' is an empty line; '\r' elsewhere is data. */
	c = parse("\r");
	assert_int_equal(c.lines + c.malformed, 0);
	c = parse("a:1|c\r\r\n");
	assert_int_equal(c.malformed, 1);
	c = parse("a:1\r|c");
	assert_int_equal(c.malformed, 1);
}

static void test_malformed_lines_are_skipped(void **state)
{
	struct statsd_parse_counts c;

	c = parse("garbage\na:1|c\n:1|c\nb:2|nope\nc:3|c");
	assert_int_equal(c.lines, 2);
	assert_int_equal(c.malformed, 3);
	assert_string_equal(got[0].name, "a");
	assert_string_equal(got[1].name, "c");
	/* The sink hears of each refused line, the line itself and why. */
	assert_string_equal(refused_line[0], "garbage");
	assert_string_equal(refused_line[1], ":1|c");
	assert_string_equal(refused_line[2], "b:2|nope");
	assert_string_equal(why[0], "no ':' between the name and the value");
	assert_string_equal(why[1], "empty name");
	assert_string_equal(why[2], "unknown type");

	/* Without a malformed callback the counts still say it. */
	{
		const struct statsd_sink quiet = { .reading = on_reading };
		struct statsd_parse_counts q = {};

		n_got = 0;
		statsd_parse_datagram("x\ny:1|c", 7, &quiet, &q);
		assert_int_equal(q.malformed, 1);
		assert_int_equal(q.lines, 1);
	}
}

static void test_malformed_shapes(void **state)
{
	assert_malformed("abc");
	assert_malformed("abc|c");
	assert_malformed("a:1");
	assert_malformed("a:1c");
	assert_malformed("a|c:1");
	assert_malformed(":1|c");
	assert_malformed(":|");
	assert_malformed(":");
	assert_malformed("|");
	assert_malformed("a:");
	assert_malformed("a:|c");
	assert_malformed("a::1|c");
	assert_malformed("a:1:|c");
	assert_malformed("a:nan|c");
	assert_malformed("a:NaN|g");
	assert_malformed("a:inf|ms");
	assert_malformed("a:-inf|g");
	assert_malformed("a:1e400|h");
	assert_malformed("a:-1e400|d");
	assert_malformed("a:0x10|c");
	assert_malformed("a:1 |c");
	assert_malformed("a: 1|c");
	assert_malformed("a:1,5|c");
	assert_malformed("a:12345678901234567890123456789012345678901234567890123456789012345|c");
	assert_string_equal(why[0], "value not a finite decimal number");
}

static void test_truncated_lines(void **state)
{
	/* What a datagram cut anywhere in this line leaves: a line refused, or one reading. */
	static const char full[] = "latency:12.5|ms|@0.5|#a:b";
	const size_t type_end = strlen("latency:12.5|ms");

	for (size_t len = 1; len < sizeof(full); len++) {
		struct statsd_parse_counts c = parse_n(full, len);
		/* Refused: cut before the type is complete, or after "|@", "|@0", "|@0." (no rate
		 * or a rate of 0). Accepted: a complete type, an empty field, a rate, tags. */
		bool refused = len < type_end || (len >= type_end + 2 && len <= type_end + 4);

		if (refused && (c.malformed != 1 || n_got != 0))
			fail_msg("cut at %zu (\"%.*s\") accepted", len, (int)len, full);
		if (!refused && (c.lines != 1 || n_got != 1 || got[0].value != 12.5))
			fail_msg("cut at %zu (\"%.*s\") refused", len, (int)len, full);
	}
}

static void test_tags_and_fields(void **state)
{
	assert_one("a:1|c|#tag:x,tag2", "a", STATSD_READING_COUNTER, 1);
	assert_one("a:1|c|#", "a", STATSD_READING_COUNTER, 1);
	assert_one("a:1|c|@0.5|#env:prod,region:eu-1", "a", STATSD_READING_COUNTER, 2);
	assert_one("a:1|c|#env:prod|@0.5", "a", STATSD_READING_COUNTER, 2);
	/* DogStatsD's container id and timestamp, unknown fields and empty ones. */
	assert_one("a:1|c|c:83a6f7d|T1656581400", "a", STATSD_READING_COUNTER, 1);
	assert_one("a:1|g|x:anything at all|#t", "a", STATSD_READING_GAUGE, 1);
	assert_one("a:1|ms|", "a", STATSD_READING_HISTOGRAM, 1);
	assert_one("a:1|ms||||", "a", STATSD_READING_HISTOGRAM, 1);
	assert_one("a:1|c|e:1|card:high", "a", STATSD_READING_COUNTER, 1);
}

static void test_packed_values(void **state)
{
	struct statsd_parse_counts c;

	c = parse("h:1:2:3|h");
	assert_int_equal(c.lines, 1);
	assert_int_equal(c.readings, 3);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(got[i].name, "h");
		assert_int_equal(got[i].kind, STATSD_READING_HISTOGRAM);
		assert_true(got[i].value == i + 1);
	}
	c = parse("t:10.5:20|ms|#a:b");
	assert_int_equal(c.readings, 2);
	assert_true(got[0].value == 10.5 && got[1].value == 20);
	c = parse("d:1:2|d");
	assert_int_equal(c.readings, 2);
	/* The rate applies to every packed counter value. */
	c = parse("c:1:2|c|@0.5");
	assert_int_equal(c.readings, 2);
	assert_true(got[0].value == 2 && got[1].value == 4);
	/* Each gauge value is a delta or not by its own sign. */
	c = parse("g:+1:-2:3|g");
	assert_int_equal(c.readings, 3);
	assert_int_equal(got[0].kind, STATSD_READING_GAUGE_DELTA);
	assert_true(got[0].value == 1);
	assert_int_equal(got[1].kind, STATSD_READING_GAUGE_DELTA);
	assert_true(got[1].value == -2);
	assert_int_equal(got[2].kind, STATSD_READING_GAUGE);
	assert_true(got[2].value == 3);

	/* One bad value refuses the whole line: no reading of it goes out. */
	assert_malformed("h:1:x:3|h");
	assert_malformed("h:1:2:nan|h");
	assert_malformed("h:1:|h");
	assert_malformed("h::1|h");
	assert_malformed("h:1::2|h");
	assert_malformed("c:1:1e308|c|@0.1");
}

static void test_events_and_service_checks(void **state)
{
	struct statsd_parse_counts c;

	c = parse("_e{5,4}:title|text|d:1656581400|h:host|p:normal|t:info|#a:b");
	assert_int_equal(c.ignored, 1);
	assert_int_equal(c.lines + c.malformed + c.readings, 0);
	c = parse("_sc|my.check|0|d:1656581400|#a|m:all good");
	assert_int_equal(c.ignored, 1);
	assert_int_equal(c.lines + c.malformed, 0);
	c = parse("_e{1,1}:a|b\r\na:1|c\n_sc|x|1\nbad\n");
	assert_int_equal(c.ignored, 2);
	assert_int_equal(c.lines, 1);
	assert_int_equal(c.malformed, 1);
	/* Names merely starting like them are metrics or malformed, not skipped. */
	assert_one("_e:1|c", "_e", STATSD_READING_COUNTER, 1);
	assert_one("_sc:1|c", "_sc", STATSD_READING_COUNTER, 1);
	assert_malformed("_e");
	assert_malformed("_sc");
}

static void test_nul_bytes(void **state)
{
	struct statsd_parse_counts c;

	/* NUL padding at the end, as C clients sending their terminator leave it. */
	c = parse_n("a:1|c\0\0\0", 8);
	assert_int_equal(c.lines, 1);
	assert_int_equal(c.malformed, 0);
	c = parse_n("a:1|c\n\0", 7);
	assert_int_equal(c.lines, 1);
	assert_int_equal(c.malformed, 0);
	c = parse_n("\0\0\0\0", 4);
	assert_int_equal(c.lines + c.malformed, 0);

	/* Inside a line it is refused, with its line only. */
	c = parse_n("a\0b:1|c\nc:2|c", 13);
	assert_int_equal(c.malformed, 1);
	assert_int_equal(c.lines, 1);
	assert_string_equal(got[0].name, "c");
	assert_string_equal(why[0], "NUL byte in the line");
	c = parse_n("a:1|c\0b:2|c", 11);
	assert_int_equal(c.malformed, 1);
	assert_int_equal(c.lines, 0);
	c = parse_n("a:1\0|c\nb:1|c|#\0", 15);
	assert_int_equal(c.malformed, 1);
	assert_int_equal(c.lines, 1);
	c = parse_n("u:a\0b|s", 7);
	assert_int_equal(c.malformed, 1);
	c = parse_n("\0a:1|c", 6);
	assert_int_equal(c.malformed, 1);
}

static void test_name_length(void **state)
{
	char line[STATSD_NAME_MAX + 16];

	memset(line, 'n', STATSD_NAME_MAX);
	strcpy(line + STATSD_NAME_MAX, ":1|c");
	assert_int_equal(parse(line).lines, 1);
	assert_int_equal(strlen(got[0].name), STATSD_NAME_MAX);

	memset(line, 'n', STATSD_NAME_MAX + 1);
	strcpy(line + STATSD_NAME_MAX + 1, ":1|c");
	assert_malformed(line);
	assert_string_equal(why[0], "name longer than 128 bytes");
}

static void test_huge_inputs(void **state)
{
	size_t size = 4 * 1024 * 1024, n = 0;
	char *buf = malloc(size);
	struct statsd_parse_counts c;

	assert_non_null(buf);

	/* Many lines. */
	while (n + 6 <= size) {
		memcpy(buf + n, "x:1|c\n", 6);
		n += 6;
	}
	c = parse_n(buf, n);
	assert_int_equal(c.lines, n / 6);
	assert_int_equal(c.malformed, 0);

	/* One enormous name. */
	memset(buf, 'n', size);
	memcpy(buf + size - 4, ":1|c", 4);
	c = parse_n(buf, size);
	assert_int_equal(c.malformed, 1);

	/* No separator at all. */
	c = parse_n(buf, size - 4);
	assert_int_equal(c.malformed, 1);

	/* Hundreds of thousands of packed values on one line. */
	n = 0;
	memcpy(buf, "h:", 2);
	n = 2;
	while (n + 2 < size - 2) {
		memcpy(buf + n, "7:", 2);
		n += 2;
	}
	memcpy(buf + n - 1, "|h", 2);
	n++;
	c = parse_n(buf, n);
	assert_int_equal(c.lines, 1);
	assert_int_equal(c.readings, (n - 3) / 2);
	assert_true(got[0].value == 7);

	/* The same line with one bad value at its end gives nothing. */
	buf[n - 3] = 'x';
	c = parse_n(buf, n);
	assert_int_equal(c.malformed, 1);
	assert_int_equal(c.readings, 0);

	/* A huge set member is one member, whatever its size. */
	memset(buf, 'm', size);
	memcpy(buf, "u:", 2);
	memcpy(buf + size - 2, "|s", 2);
	c = parse_n(buf, size);
	assert_int_equal(c.lines, 1);
	assert_int_equal(c.readings, 1);
	assert_int_equal(last_member_len, size - 4);
	free(buf);
}

/* Random bytes and mutated lines: never a crash, counts and sink in agreement. */
static void test_random_input(void **state)
{
	static const char alphabet[] = "ab:|@#.\n\r\0-+1e5cgmshd_{}";
	char buf[512];
	uint64_t x = 12345;

	for (int round = 0; round < 100000; round++) {
		size_t len;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = x % sizeof(buf);
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = (round & 1) ? (char)x : alphabet[x % (sizeof(alphabet) - 1)];
		}
		(void)parse_n(buf, len);
	}
}

static void test_parse_line_results(void **state)
{
	const char *reason = NULL;
	bool ignored = true;

	n_got = 0;
	assert_int_equal(statsd_parse_line("a:1|c", 5, &sink, &ignored, &reason), 1);
	assert_false(ignored);
	assert_int_equal(statsd_parse_line("a:1:2:3|ms", 10, &sink, &ignored, &reason), 3);
	assert_int_equal(n_got, 4);
	assert_int_equal(statsd_parse_line("u:a:b|s", 7, &sink, &ignored, &reason), 1);
	/* Only len bytes count. */
	assert_int_equal(statsd_parse_line("a:1|c\nb:2|c", 5, &sink, &ignored, &reason), 1);
	assert_int_equal(statsd_parse_line("a:1|cc", 5, &sink, &ignored, &reason), 1);
	assert_int_equal(statsd_parse_line("a:1|c", 4, &sink, &ignored, &reason), -EINVAL);
	assert_string_equal(reason, "unknown type");

	/* Empty lines, events and service checks give nothing; the latter two are flagged. */
	ignored = true;
	assert_int_equal(statsd_parse_line("", 0, &sink, &ignored, &reason), 0);
	assert_false(ignored);
	assert_int_equal(statsd_parse_line("\r", 1, &sink, &ignored, &reason), 0);
	assert_false(ignored);
	assert_int_equal(statsd_parse_line("_e{1,1}:a|b", 11, &sink, &ignored, &reason), 0);
	assert_true(ignored);
	assert_int_equal(statsd_parse_line("_sc|a|0", 7, &sink, &ignored, &reason), 0);
	assert_true(ignored);

	/* Refusals leave no reading behind and say why. */
	n_got = 0;
	reason = NULL;
	assert_int_equal(statsd_parse_line("a:1|q", 5, &sink, &ignored, &reason), -EINVAL);
	assert_false(ignored);
	assert_string_equal(reason, "unknown type");
	assert_int_equal(statsd_parse_line("a:1", 3, &sink, &ignored, &reason), -EINVAL);
	assert_string_equal(reason, "no '|' before the type");
	assert_int_equal(statsd_parse_line("a:1|c|@2", 8, &sink, &ignored, &reason), -EINVAL);
	assert_string_equal(reason, "sample rate not in (0, 1]");
	assert_int_equal(statsd_parse_line("u:|s", 4, &sink, &ignored, &reason), -EINVAL);
	assert_string_equal(reason, "empty set member");
	assert_int_equal(n_got, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_number_valid),
		cmocka_unit_test(test_number_invalid),
		cmocka_unit_test(test_number_matches_strtod),
		cmocka_unit_test(test_counter),
		cmocka_unit_test(test_sample_rate),
		cmocka_unit_test(test_gauge),
		cmocka_unit_test(test_histograms),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_multiple_lines),
		cmocka_unit_test(test_malformed_lines_are_skipped),
		cmocka_unit_test(test_malformed_shapes),
		cmocka_unit_test(test_truncated_lines),
		cmocka_unit_test(test_tags_and_fields),
		cmocka_unit_test(test_packed_values),
		cmocka_unit_test(test_events_and_service_checks),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_name_length),
		cmocka_unit_test(test_huge_inputs),
		cmocka_unit_test(test_random_input),
		cmocka_unit_test(test_parse_line_results),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
