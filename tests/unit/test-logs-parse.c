/* SPDX-License-Identifier: MIT */
/*
 * The logs plugin's pure parts: syslog messages of both RFCs and malformed ones
 * (plugins/logs/syslog-parse.c), /dev/kmsg records (kmsg-parse.c) and the JSON line every source
 * becomes (logs-json.c). The JSON lines are read back with json-c, as the server would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kmsg-parse.h"
#include "logs-json.h"
#include "macro.h"
#include "syslog-parse.h"

/* text of t as a new string, "" when absent. */
static char *str(struct logs_text t)
{
	char *s = malloc(t.len + 1);

	assert_non_null(s);
	memcpy(s, t.s, t.len);
	s[t.len] = 0;
	return s;
}

static void assert_text(struct logs_text t, const char *want)
{
	_cleanup_free_ char *s = str(t);

	assert_string_equal(s, want);
}

static enum syslog_format parse(const char *msg, struct logs_record *r, const char **why)
{
	*why = NULL;
	return syslog_parse(msg, strlen(msg), r, why);
}

static void test_rfc3164_from_glibc(void **state)
{
	struct logs_record r;
	const char *why;

	/* What syslog(3) writes to /dev/log, and BusyBox syslogd -R forwards. */
	assert_int_equal(parse("<30>Nov 21 10:00:00 gatewayd[412]: link up\n", &r, &why),
			 SYSLOG_RFC3164);
	assert_int_equal(r.priority, 6);
	assert_int_equal(r.facility, 3);
	assert_text(r.identifier, "gatewayd");
	assert_text(r.pid, "412");
	assert_text(r.message, "link up");
	assert_int_equal(r.hostname.len, 0);
	assert_int_equal(r.ts_us, 0);
	assert_string_equal(r.transport, "syslog");

	assert_int_equal(parse("<13>Nov  1 09:05:07 cron: job done", &r, &why), SYSLOG_RFC3164);
	assert_text(r.identifier, "cron");
	assert_int_equal(r.pid.len, 0);
	assert_text(r.message, "job done");
}

static void test_rfc3164_with_host(void **state)
{
	struct logs_record r;
	const char *why;

	assert_int_equal(parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed", &r, &why),
			 SYSLOG_RFC3164);
	assert_int_equal(r.priority, 2);
	assert_int_equal(r.facility, 4);
	assert_text(r.hostname, "mymachine");
	assert_text(r.identifier, "su");
	assert_text(r.message, "'su root' failed");

	/* A host name without a tag: the rest is the message. */
	assert_int_equal(parse("<13>Oct 11 22:14:15 gw-01 plain words", &r, &why), SYSLOG_RFC3164);
	assert_text(r.hostname, "gw-01");
	assert_int_equal(r.identifier.len, 0);
	assert_text(r.message, "plain words");

	/* A tag whose brackets hold no number keeps the tag without a pid. */
	assert_int_equal(parse("<13>Oct 11 22:14:15 h app[main]: x", &r, &why), SYSLOG_RFC3164);
	assert_text(r.identifier, "app");
	assert_int_equal(r.pid.len, 0);
	assert_text(r.message, "x");
}

static void test_rfc3164_without_header(void **state)
{
	struct logs_record r;
	const char *why;

	/* A PRI and text only: valid, the text is the message (RFC 3164 4.3.2). */
	assert_int_equal(parse("<14>hello world", &r, &why), SYSLOG_RFC3164);
	assert_text(r.message, "hello world");
	assert_int_equal(r.identifier.len, 0);
	assert_int_equal(parse("<14>kernel: oops", &r, &why), SYSLOG_RFC3164);
	assert_text(r.identifier, "kernel");
	assert_text(r.message, "oops");
	/* A broken timestamp is text. */
	assert_int_equal(parse("<14>Nov 99 10:00:00 x: y", &r, &why), SYSLOG_RFC3164);
	assert_text(r.message, "Nov 99 10:00:00 x: y");
	/* Fractions of a second are tolerated. */
	assert_int_equal(parse("<14>Nov 21 10:00:00.123 x: y", &r, &why), SYSLOG_RFC3164);
	assert_text(r.identifier, "x");
	assert_text(r.message, "y");
}

static void test_rfc5424(void **state)
{
	struct logs_record r;
	const char *why;

	assert_int_equal(
		parse("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog "
		      "- ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Appli\\]cation\"] "
		      "\xEF\xBB\xBF"
		      "An application event",
		      &r, &why),
		SYSLOG_RFC5424);
	assert_int_equal(r.priority, 5);
	assert_int_equal(r.facility, 20);
	assert_int_equal(r.ts_us, 1065910455003000ULL);
	assert_text(r.hostname, "mymachine.example.com");
	assert_text(r.identifier, "evntslog");
	assert_int_equal(r.pid.len, 0);
	assert_text(r.message, "An application event");

	/* An offset, a numeric PROCID, no structured data, no message. */
	assert_int_equal(parse("<13>1 2026-11-21T12:00:00.5+02:00 - app 4242 - -", &r, &why),
			 SYSLOG_RFC5424);
	assert_int_equal(r.ts_us, 1795255200500000ULL);
	assert_int_equal(r.hostname.len, 0);
	assert_text(r.pid, "4242");
	assert_text(r.message, "");

	/* Nil timestamp: stamped on receipt. */
	assert_int_equal(parse("<13>1 - - - - - - text", &r, &why), SYSLOG_RFC5424);
	assert_int_equal(r.ts_us, 0);
	assert_text(r.message, "text");
}

static void test_malformed_kept_as_text(void **state)
{
	static const struct {
		const char *msg, *message;
		int priority;
	} cases[] = {
		{ "no pri at all", "no pri at all", 5 },
		{ "<192>too high", "<192>too high", 5 },
		{ "<01>leading zero", "<01>leading zero", 5 },
		{ "<1234>x", "<1234>x", 5 },
		{ "<>x", "<>x", 5 },
		{ "<13", "<13", 5 },
		{ "<11>1 2026-13-01T00:00:00Z h a p m - x", "1 2026-13-01T00:00:00Z h a p m - x",
		  3 },
		{ "<11>1 2026-02-30T00:00:00Z h a p m - x", "1 2026-02-30T00:00:00Z h a p m - x",
		  3 },
		{ "<11>1 2026-01-01T00:00:00 h a p m - x", "1 2026-01-01T00:00:00 h a p m - x", 3 },
		{ "<11>1 - h a p", "1 - h a p", 3 },
		{ "<11>1 - h a p m [unclosed x=\"]\"", "1 - h a p m [unclosed x=\"]\"", 3 },
		{ "<11>1 - h a p m -x", "1 - h a p m -x", 3 },
		{ "<11>2 - h a p m - x", "2 - h a p m - x", 3 },
		{ "<11>1 - h  a p m - x", "1 - h  a p m - x", 3 },
	};
	struct logs_record r;
	const char *why;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(parse(cases[i].msg, &r, &why), SYSLOG_MALFORMED);
		assert_non_null(why);
		assert_text(r.message, cases[i].message);
		assert_int_equal(r.priority, cases[i].priority);
		assert_int_equal(r.identifier.len + r.pid.len + r.hostname.len, 0);
	}
	/* Empty, or only line ends and padding. */
	assert_int_equal(syslog_parse("\n\r\0", 3, &r, &why), SYSLOG_MALFORMED);
	assert_int_equal(r.message.len, 0);
}

static void test_trailing_bytes_and_nul(void **state)
{
	struct logs_record r;
	const char *why;
	const char msg[] = "<14>a: b\0c\r\n\0";

	assert_int_equal(syslog_parse(msg, sizeof(msg) - 1, &r, &why), SYSLOG_RFC3164);
	assert_int_equal(r.message.len, 3);
	assert_memory_equal(r.message.s, "b\0c", 3);
}

static void test_kmsg_records(void **state)
{
	const char rec[] = "6,1234,5140900,-,caller=T1;NET: Registered PF_INET6\n"
			   " SUBSYSTEM=net\n DEVICE=n2\n";
	struct kmsg_record k;
	const char *why = NULL;

	assert_int_equal(kmsg_parse(rec, sizeof(rec) - 1, &k, &why), 0);
	assert_int_equal(k.seq, 1234);
	assert_int_equal(k.mono_us, 5140900);
	assert_int_equal(k.priority, 6);
	assert_int_equal(k.facility, 0);
	assert_false(k.continuation);
	assert_text(k.message, "NET: Registered PF_INET6");

	/* A message from user space (facility user), a continuation flag, an old kernel's header
	 * without flags, a message with a ';' in it. */
	assert_int_equal(kmsg_parse("12,7,100,c;a;b", 14, &k, &why), 0);
	assert_int_equal(k.facility, 1);
	assert_int_equal(k.priority, 4);
	assert_true(k.continuation);
	assert_text(k.message, "a;b");
	assert_int_equal(kmsg_parse("3,8,9;x\n", 8, &k, &why), 0);
	assert_int_equal(k.mono_us, 9);
	assert_text(k.message, "x");

	static const char *const bad[] = {
		"",
		";x",
		"6;x",
		"6,1;x",
		"1024,1,1,-;x",
		"6,1,1,-",
		"a,1,1,-;x",
		"6,18446744073709551616,1,-;x",
		"6,,1,-;x",
		"-1,1,1,-;x",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why = NULL;
		assert_int_equal(kmsg_parse(bad[i], strlen(bad[i]), &k, &why), -EINVAL);
		assert_non_null(why);
	}
	assert_int_equal(kmsg_parse("6,18446744073709551615,1,-;x", 28, &k, &why), 0);
	assert_true(k.seq == UINT64_MAX);
}

static void test_kmsg_record_length(void **state)
{
	const char two[] = "6,1,1,-;a\n K=V\n6,2,2,-;b\n";
	size_t n;

	n = kmsg_record_length(two, sizeof(two) - 1, false);
	assert_int_equal(n, strlen("6,1,1,-;a\n K=V\n"));
	/* The second one may still get continuation lines, until the end of the stream. */
	assert_int_equal(kmsg_record_length(two + n, sizeof(two) - 1 - n, false), 0);
	assert_int_equal(kmsg_record_length(two + n, sizeof(two) - 1 - n, true), 10);
	/* No newline yet: incomplete, even at the end. */
	assert_int_equal(kmsg_record_length("6,1,1,-;a", 9, true), 0);
	assert_int_equal(kmsg_record_length("", 0, true), 0);
}

/* The JSON line of r as json-c reads it back: checks that it is one line, then returns it. */
static json_object *line_of(const struct logs_record *r, uint64_t ts_us, size_t max, bool *cut)
{
	static char buf[LOGS_JSON_LINE_MAX(4096)];
	size_t n = logs_json_line(buf, sizeof(buf), r, ts_us, max, cut);
	json_object *o;

	assert_true(n > 0);
	assert_int_equal(buf[n - 1], '\n');
	assert_null(memchr(buf, '\n', n - 1));
	buf[n] = 0;
	o = json_tokener_parse(buf);
	assert_non_null(o);
	return o;
}

static const char *member(json_object *o, const char *a, const char *b)
{
	json_object *v;

	if (!json_object_object_get_ex(o, a, &v) || (b && !json_object_object_get_ex(v, b, &v)))
		return NULL;
	return json_object_get_string(v);
}

static void test_json_line(void **state)
{
	const char msg[] = "say \"hi\"\\\n\t\x01\x7f caf\xC3\xA9 \xFF\xC3 end";
	struct logs_record r = {
		.priority = 3,
		.facility = -1,
		.message = { msg, sizeof(msg) - 1 },
		.identifier = { "app", 3 },
		.pid = { "42", 2 },
		.unit = { "app.service", 11 },
		.transport = "journal",
	};
	json_object *o;
	bool cut;

	o = line_of(&r, 1795255200123456ULL, 4096, &cut);
	assert_false(cut);
	assert_string_equal(member(o, "ts", NULL), "2026-11-21T10:00:00.123456Z");
	assert_string_equal(member(o, "data", "MESSAGE"),
			    "say \"hi\"\\\n\t\x01\x7f caf\xC3\xA9 \xEF\xBF\xBD\xEF\xBF\xBD end");
	assert_string_equal(member(o, "data", "PRIORITY"), "3");
	assert_null(member(o, "data", "SYSLOG_FACILITY"));
	assert_string_equal(member(o, "data", "SYSLOG_IDENTIFIER"), "app");
	assert_string_equal(member(o, "data", "_PID"), "42");
	assert_string_equal(member(o, "data", "_SYSTEMD_UNIT"), "app.service");
	assert_string_equal(member(o, "data", "_TRANSPORT"), "journal");
	assert_null(member(o, "data", "_HOSTNAME"));
	json_object_put(o);

	/* Cut at the limit, never inside a character. */
	r.message = (struct logs_text){ "ab\xC3\xA9", 4 };
	o = line_of(&r, 0, 3, &cut);
	assert_true(cut);
	assert_string_equal(member(o, "data", "MESSAGE"), "ab");
	assert_string_equal(member(o, "ts", NULL), "1970-01-01T00:00:00.000000Z");
	json_object_put(o);
}

static void test_json_line_worst_case_fits(void **state)
{
	static char big[4096], field[LOGS_FIELD_MAX + 50];
	static char buf[LOGS_JSON_LINE_MAX(sizeof(big))];
	struct logs_text f = { field, sizeof(field) };
	struct logs_record r = {
		.priority = 7,
		.facility = 127,
		.message = { big, sizeof(big) },
		.identifier = f,
		.pid = f,
		.unit = f,
		.comm = f,
		.hostname = f,
		.transport = "syslog",
	};
	struct logs_field extra[LOGS_EXTRA_MAX + 1];
	bool cut;

	/* The most extra fields, with the longest names (and one more, left out). */
	for (size_t i = 0; i < ARRAY_SIZE(extra); i++)
		extra[i] =
			(struct logs_field){ "FIELD_NAME_OF_SIXTY_FOUR_BYTES_____________________"
					     "_____________",
					     f };
	r.extra = extra;
	r.n_extra = ARRAY_SIZE(extra);
	/* Every byte a control character: each one takes 6 bytes. */
	memset(big, 1, sizeof(big));
	memset(field, 2, sizeof(field));
	assert_true(logs_json_line(buf, sizeof(buf), &r, UINT64_MAX / 2, sizeof(big), &cut) > 0);
	assert_false(cut);
	/* Too small a buffer is refused, not overrun. */
	assert_int_equal(logs_json_line(buf, 100, &r, 0, sizeof(big), &cut), 0);
}

/* The stamp written by hand is gmtime_r()'s, formatted as before, for any stamp. */
static void test_json_time_is_gmtime(void **state)
{
	static const uint64_t fixed[] = {
		0,
		951782400000000ULL - 1, /* 2000-02-28T23:59:59.999999 */
		951782400000000ULL,	/* 2000-02-29 */
		4107542400000000ULL,	/* 2100-03-01 */
		253402300799999999ULL,	/* 9999-12-31T23:59:59.999999 */
		253402300800000000ULL,	/* 10000: the year is written mod 10000 */
		UINT64_MAX / 2,
		UINT64_MAX,
	};
	uint64_t x = 88172645463325252ULL;

	for (size_t i = 0; i < ARRAY_SIZE(fixed) + 200000; i++) {
		uint64_t ts;
		char got[32], want[64];
		time_t secs;
		struct tm tm;

		if (i < ARRAY_SIZE(fixed)) {
			ts = fixed[i];
		} else {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
			/* Half of them within 1970 to 2200, the rest anywhere. */
			ts = i % 2 ? x % 7258118400000000ULL : x;
		}
		secs = (time_t)(ts / 1000000);
		/* Where time_t has 32 bits (armhf), gmtime_r() cannot tell the later ones. */
		if (secs < 0 || (uint64_t)secs != ts / 1000000)
			continue;
		assert_non_null(gmtime_r(&secs, &tm));
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ",
			 (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, (unsigned)(ts % 1000000));
		assert_int_equal(logs_json_time(got, ts), 27);
		assert_string_equal(got, want);
	}
}

static void test_json_extra_fields(void **state)
{
	static char long_value[LOGS_FIELD_MAX + 10];
	struct logs_field extra[] = {
		{ "CONTAINER_NAME", { "modem", 5 } },
		{ "CODE_FILE", { long_value, sizeof(long_value) } },
	};
	struct logs_record r = {
		.priority = 6,
		.facility = 3,
		.message = { "m", 1 },
		.transport = "journal",
		.extra = extra,
		.n_extra = ARRAY_SIZE(extra),
	};
	json_object *o;
	bool cut;

	/* 254 bytes, then a 2-byte character across the limit. */
	memset(long_value, 'x', sizeof(long_value));
	memcpy(long_value + 255, "\xC3\xA9", 2);
	o = line_of(&r, 0, 4096, &cut);
	assert_string_equal(member(o, "data", "CONTAINER_NAME"), "modem");
	assert_int_equal(strlen(member(o, "data", "CODE_FILE")), 255);
	assert_false(cut); /* only MESSAGE's cut is counted */
	json_object_put(o);
}

static void test_extra_name_check(void **state)
{
	static const char *const good[] = { "CONTAINER_NAME",
					    "_HOSTNAME",
					    "CODE_LINE",
					    "A",
					    "_X",
					    "0123456789012345678901234567890123456789012345678901"
					    "234567890123" };
	static const char *const bad[] = { "",
					   "__CURSOR",
					   "lower",
					   "WITH-DASH",
					   "WITH SPACE",
					   "MESSAGE",
					   "_PID",
					   "_TRANSPORT",
					   "0123456789012345678901234567890123456789012345678901"
					   "2345678901234" };
	const char *why;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_int_equal(logs_extra_name_check(good[i], &why), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why = NULL;
		assert_int_equal(logs_extra_name_check(bad[i], &why), -EINVAL);
		assert_non_null(why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_time_is_gmtime),
		cmocka_unit_test(test_json_extra_fields),
		cmocka_unit_test(test_extra_name_check),
		cmocka_unit_test(test_rfc3164_from_glibc),
		cmocka_unit_test(test_rfc3164_with_host),
		cmocka_unit_test(test_rfc3164_without_header),
		cmocka_unit_test(test_rfc5424),
		cmocka_unit_test(test_malformed_kept_as_text),
		cmocka_unit_test(test_trailing_bytes_and_nul),
		cmocka_unit_test(test_kmsg_records),
		cmocka_unit_test(test_kmsg_record_length),
		cmocka_unit_test(test_json_line),
		cmocka_unit_test(test_json_line_worst_case_fits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
