/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "statsd-parse.h"

/* Powers of ten a double holds exactly: m / 10^k is then correctly rounded for m < 2^53. */
static const double statsd_pow10[] = {
	1e0,  1e1,  1e2,  1e3,	1e4,  1e5,  1e6,  1e7,	1e8,  1e9,  1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

#define STATSD_EXACT_MAX ((UINT64_C(1) << 53) - 1)

static bool statsd_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* strtod() of a terminated, already validated copy, in the "C" locale whatever the process's. */
static double statsd_strtod_c(const char *s)
{
	/* Created once: newlocale() per call would cost more than the conversion. */
	static locale_t c_locale;

	if (!c_locale)
		c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	if (!c_locale)
		return strtod(s, NULL);
	return strtod_l(s, NULL, c_locale);
}

int statsd_parse_number(const char *s, size_t len, double *ret)
{
	const char *p = s, *end = s + len;
	uint64_t mantissa = 0;
	unsigned n_digits = 0, n_fraction = 0;
	bool negative = false, exact = true;
	char copy[STATSD_NUMBER_MAX + 1];
	double d;

	if (len == 0 || len > STATSD_NUMBER_MAX)
		return -EINVAL;
	if (*p == '+' || *p == '-')
		negative = *p++ == '-';
	for (; p < end && statsd_is_digit(*p); p++, n_digits++) {
		unsigned digit = (unsigned)(*p - '0');

		if (mantissa > (STATSD_EXACT_MAX - digit) / 10)
			exact = false;
		else
			mantissa = mantissa * 10 + digit;
	}
	if (p < end && *p == '.')
		for (p++; p < end && statsd_is_digit(*p); p++, n_digits++, n_fraction++) {
			unsigned digit = (unsigned)(*p - '0');

			if (mantissa > (STATSD_EXACT_MAX - digit) / 10)
				exact = false;
			else
				mantissa = mantissa * 10 + digit;
		}
	if (n_digits == 0)
		return -EINVAL;
	if (p < end && (*p == 'e' || *p == 'E')) {
		const char *digits;

		exact = false;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		for (digits = p; p < end && statsd_is_digit(*p); p++)
			;
		if (p == digits)
			return -EINVAL;
	}
	if (p != end)
		return -EINVAL;

	if (exact && n_fraction < ARRAY_SIZE(statsd_pow10)) {
		d = (double)mantissa / statsd_pow10[n_fraction];
		*ret = negative ? -d : d;
		return 0;
	}

	/* Exponents and long mantissas: strtod() rounds them correctly, on a terminated copy. */
	memcpy(copy, s, len);
	copy[len] = '\0';
	d = statsd_strtod_c(copy);
	if (!isfinite(d))
		return -EINVAL;
	*ret = d;
	return 0;
}

/* The reading of one value token (known to be a valid number when the caller parsed it before). */
static int statsd_value_reading(enum statsd_reading_kind kind, const char *tok, size_t len,
				double rate, struct statsd_reading *r)
{
	double v;

	if (statsd_parse_number(tok, len, &v) < 0)
		return -EINVAL;
	switch (kind) {
	case STATSD_READING_COUNTER:
		/* A sampled counter stands for 1/rate as many events; a huge value may overflow. */
		v /= rate;
		if (!isfinite(v))
			return -EINVAL;
		r->kind = kind;
		break;
	case STATSD_READING_GAUGE:
	case STATSD_READING_GAUGE_DELTA:
		r->kind = tok[0] == '+' || tok[0] == '-' ? STATSD_READING_GAUGE_DELTA
							 : STATSD_READING_GAUGE;
		break;
	default:
		r->kind = kind;
		break;
	}
	r->value = v;
	return 0;
}

/* The kind of a type field, or -EINVAL. */
static int statsd_parse_type(const char *t, size_t len)
{
	if (len == 1)
		switch (t[0]) {
		case 'c':
			return STATSD_READING_COUNTER;
		case 'g':
			return STATSD_READING_GAUGE;
		case 'h':
		case 'd':
			return STATSD_READING_HISTOGRAM;
		case 's':
			return STATSD_READING_SET;
		default:
			return -EINVAL;
		}
	if (len == 2 && t[0] == 'm' && t[1] == 's')
		return STATSD_READING_HISTOGRAM;
	return -EINVAL;
}

/* The end of the ':'-separated token starting at p. */
static const char *statsd_token_end(const char *p, const char *end)
{
	const char *c = memchr(p, ':', (size_t)(end - p));

	return c ? c : end;
}

int statsd_parse_line(const char *line, size_t len, const struct statsd_sink *sink,
		      bool *ret_ignored, const char **ret_why)
{
	const char *end, *colon, *values, *bar, *type, *type_end, *p;
	struct statsd_reading r = { .name = line }, first;
	double rate = 1;
	size_t n = 0;
	int kind;

	*ret_ignored = false;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return 0;
	end = line + len;
	if (line[0] == '_' && ((len >= 3 && memcmp(line, "_e{", 3) == 0) ||
			       (len >= 4 && memcmp(line, "_sc|", 4) == 0))) {
		*ret_ignored = true;
		return 0;
	}

	colon = memchr(line, ':', len);
	if (!colon) {
		*ret_why = "no ':' between the name and the value";
		return -EINVAL;
	}
	r.name_len = (size_t)(colon - line);
	if (r.name_len > STATSD_NAME_MAX) {
		*ret_why = "name longer than 128 bytes";
		return -EINVAL;
	}
	bar = memchr(line, '|', len);
	if (!bar) {
		*ret_why = "no '|' before the type";
		return -EINVAL;
	}
	/* "name|c|#tag:x": the ':' found is past the type. */
	if (bar < colon) {
		*ret_why = "no ':' between the name and the value";
		return -EINVAL;
	}
	if (r.name_len == 0) {
		*ret_why = "empty name";
		return -EINVAL;
	}
	values = colon + 1;
	type = bar + 1;
	type_end = memchr(type, '|', (size_t)(end - type));
	if (!type_end)
		type_end = end;
	kind = statsd_parse_type(type, (size_t)(type_end - type));
	if (kind < 0) {
		*ret_why = "unknown type";
		return -EINVAL;
	}

	/* Fields: only the sample rate matters; tags, DogStatsD's container id and timestamp and
	 * whatever a newer client sends are ignored. */
	for (p = type_end; p < end;) {
		const char *field = p + 1, *field_end = memchr(field, '|', (size_t)(end - field));

		if (!field_end)
			field_end = end;
		if (field < field_end && field[0] == '@' &&
		    (statsd_parse_number(field + 1, (size_t)(field_end - field - 1), &rate) < 0 ||
		     !(rate > 0 && rate <= 1))) {
			*ret_why = "sample rate not in (0, 1]";
			return -EINVAL;
		}
		p = field_end;
	}

	if (kind == STATSD_READING_SET) {
		if (bar == values) {
			*ret_why = "empty set member";
			return -EINVAL;
		}
		r.kind = STATSD_READING_SET;
		r.member = values;
		r.member_len = (size_t)(bar - values);
		sink->reading(sink->userdata, &r);
		return 1;
	}

	/* Every value is checked before the first reading goes out: a malformed line yields none.
	 * The first is kept, so the usual single value is parsed once. */
	first = r;
	for (p = values; p <= bar; n++) {
		const char *tok_end = statsd_token_end(p, bar);

		if (statsd_value_reading(kind, p, (size_t)(tok_end - p), rate,
					 n == 0 ? &first : &r) < 0) {
			*ret_why = "value not a finite decimal number";
			return -EINVAL;
		}
		p = tok_end + 1;
	}
	sink->reading(sink->userdata, &first);
	if (n == 1)
		return 1;
	for (p = statsd_token_end(values, bar) + 1; p <= bar;) {
		const char *tok_end = statsd_token_end(p, bar);

		(void)statsd_value_reading(kind, p, (size_t)(tok_end - p), rate, &r);
		sink->reading(sink->userdata, &r);
		p = tok_end + 1;
	}
	return (int)MIN(n, (size_t)INT32_MAX);
}

void statsd_parse_datagram(const char *buf, size_t len, const struct statsd_sink *sink,
			   struct statsd_parse_counts *counts)
{
	const char *p = buf, *end;
	bool has_nul;

	/* Some clients send C strings, terminator included. */
	while (len > 0 && buf[len - 1] == '\0')
		len--;
	end = buf + len;
	/* One scan for the whole datagram, so lines are searched only when there is a NUL. */
	has_nul = memchr(buf, '\0', len) != NULL;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t line_len = (size_t)((nl ? nl : end) - p);
		const char *why = NULL;
		bool ignored;
		int r;

		if (has_nul && memchr(p, '\0', line_len)) {
			why = "NUL byte in the line";
			r = -EINVAL;
		} else {
			r = statsd_parse_line(p, line_len, sink, &ignored, &why);
		}
		if (r > 0) {
			counts->lines++;
			counts->readings += (unsigned)r;
		} else if (r < 0) {
			counts->malformed++;
			if (sink->malformed)
				sink->malformed(sink->userdata, p, line_len, why);
		} else if (ignored) {
			counts->ignored++;
		}
		p = nl ? nl + 1 : end;
	}
}
