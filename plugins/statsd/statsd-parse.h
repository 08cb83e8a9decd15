/* SPDX-License-Identifier: MIT */
/*
 * The statsd line protocol, parsed in place without allocating: pure functions of their input,
 * free of the plugin API, so that tests/unit/test-statsd-parse.c links only this file.
 *
 * A datagram holds lines separated by '\n' ("\r\n" and a trailing newline tolerated):
 *
 *     name:value[:value...]|type[|@rate][|#tag,...][|field...]
 *
 * type is c (counter), g (gauge), ms (timer), h (histogram), d (distribution) or s (set).
 * Values are decimal numbers ([+-]digits[.digits][e[+-]digits]; no hex, nan or inf). A counter
 * reading is value / rate, rate in (0, 1]; for every other type the rate is checked and ignored
 * (a histogram keeps count, sum, min and max, which a sample rate cannot honestly scale). A gauge
 * value with a leading '+' or '-' moves the gauge (statsd's convention, so "-5" is a delta); a
 * plain value sets it. A set's value is its member, taken as it is, ':' included. Several values
 * ("t:1:2:3|ms", DogStatsD's packing) are several readings, for every type but sets. Tags
 * ("|#..."), DogStatsD's container ("|c:...") and timestamp ("|T...") and unknown fields are
 * ignored; DogStatsD events ("_e{...") and service checks ("_sc|...") are skipped and counted as
 * ignored. A malformed line (no name, no ':' or '|', a name over STATSD_NAME_MAX bytes, an unknown
 * type, a bad number or rate) yields no reading; the rest of the datagram is still parsed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest metric name, as the metric store's LC_METRIC_KEY_MAX. */
#define STATSD_NAME_MAX 128

/* The longest number accepted in a value or a sample rate. */
#define STATSD_NUMBER_MAX 63

enum statsd_reading_kind {
	STATSD_READING_COUNTER,
	STATSD_READING_GAUGE,	    /* sets the gauge to value */
	STATSD_READING_GAUGE_DELTA, /* moves the gauge by value */
	STATSD_READING_HISTOGRAM,   /* ms, h and d */
	STATSD_READING_SET,	    /* member joins the set */
};

/* One reading; name and member point into the datagram and are not terminated. */
struct statsd_reading {
	const char *name;
	size_t name_len;
	enum statsd_reading_kind kind;
	double value;	    /* all kinds but SET */
	const char *member; /* SET only */
	size_t member_len;
};

/* What the lines of the datagrams parsed so far became; statsd_parse_datagram() adds to it. */
struct statsd_parse_counts {
	uint64_t lines;	    /* metric lines accepted (a packed line is one line) */
	uint64_t readings;  /* readings handed to the sink */
	uint64_t malformed; /* lines refused */
	uint64_t ignored;   /* DogStatsD events and service checks */
};

/* Where the readings go. malformed may be NULL; it receives the refused line and why (static). */
struct statsd_sink {
	void (*reading)(void *userdata, const struct statsd_reading *r);
	void (*malformed)(void *userdata, const char *line, size_t len, const char *why);
	void *userdata;
};

/*
 * Parses the decimal number s (len bytes, not terminated) as the protocol allows it and stores it
 * in *ret. Returns 0, or -EINVAL (*ret untouched) for anything else, an empty string, more than
 * STATSD_NUMBER_MAX bytes or a value out of a double's finite range.
 */
int statsd_parse_number(const char *s, size_t len, double *ret);

/*
 * Parses one line (len bytes without its '\n'; a final '\r' is ignored; NUL bytes are not looked
 * for) and hands its readings to sink, none if the line is refused. Returns how many readings
 * (>= 1) for a metric line; 0 for an empty line, an event or a service check (*ret_ignored set for
 * the latter two); or -EINVAL with *ret_why (static).
 */
int statsd_parse_line(const char *line, size_t len, const struct statsd_sink *sink,
		      bool *ret_ignored, const char **ret_why);

/*
 * Parses every line of a datagram (len bytes, NUL bytes included; NUL padding at its end is
 * ignored, a NUL byte within a line makes the line malformed), handing readings to sink and adding
 * what the lines became to *counts.
 */
void statsd_parse_datagram(const char *buf, size_t len, const struct statsd_sink *sink,
			   struct statsd_parse_counts *counts);
