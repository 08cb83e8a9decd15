/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the statsd line protocol (plugins/statsd/statsd-parse.c): the input is one
 * UDP datagram. Checked beyond crashes: every reading and every refused line lies within the
 * datagram, names are 1 to STATSD_NAME_MAX bytes, values are finite, and the counts add up to
 * what the sink received.
 */
#include <math.h>
#include <string.h>

#include "fuzz-util.h"
#include "statsd-parse.h"

struct seen {
	const char *buf;
	size_t len;
	uint64_t readings, malformed;
};

static bool within(const struct seen *s, const char *p, size_t n)
{
	return p >= s->buf && p <= s->buf + s->len && n <= (size_t)(s->buf + s->len - p);
}

static void on_reading(void *userdata, const struct statsd_reading *r)
{
	struct seen *s = userdata;

	CHECK(r->name_len >= 1 && r->name_len <= STATSD_NAME_MAX);
	CHECK(within(s, r->name, r->name_len));
	CHECK(!memchr(r->name, 0, r->name_len) && !memchr(r->name, '\n', r->name_len));
	if (r->kind == STATSD_READING_SET)
		CHECK(within(s, r->member, r->member_len));
	else
		CHECK(isfinite(r->value));
	s->readings++;
}

static void on_malformed(void *userdata, const char *line, size_t len, const char *why)
{
	struct seen *s = userdata;

	CHECK(within(s, line, len));
	CHECK(why && why[0]);
	s->malformed++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = { .buf = (const char *)data, .len = size };
	struct statsd_sink sink = { .reading = on_reading,
				    .malformed = on_malformed,
				    .userdata = &s };
	struct statsd_parse_counts counts = { 0 };

	statsd_parse_datagram((const char *)data, size, &sink, &counts);
	CHECK(counts.readings == s.readings);
	CHECK(counts.malformed == s.malformed);
	CHECK(counts.lines <= counts.readings);
	CHECK(counts.lines + counts.malformed + counts.ignored <= size);
	return 0;
}
