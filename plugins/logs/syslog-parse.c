/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "logs-json.h"
#include "syslog-parse.h"

/* RFC 5424's field lengths (section 6). */
#define HOSTNAME_MAX 255
#define APP_NAME_MAX 48
#define PROCID_MAX   128
#define MSGID_MAX    32
/* A tag longer than this is taken for text: RFC 3164 allows 32, programs use a little more. */
#define TAG_MAX 64

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Whether c is PRINTUSASCII (RFC 5424: %d33-126). */
static bool is_printusascii(char c)
{
	return c >= 33 && c <= 126;
}

/* The value of the n digits at s, or -1 when one is not a digit. */
static int digits(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "<PRI>" at the start of s: 1 to 3 digits without a leading zero (but "0"), at most 191. Returns
 * its length with the PRI in *ret, or 0. */
static size_t parse_pri(const char *s, size_t len, int *ret)
{
	size_t i = 1;
	int v = 0;

	if (len < 3 || s[0] != '<')
		return 0;
	for (; i < len && i <= 4 && is_digit(s[i]); i++)
		v = v * 10 + (s[i] - '0');
	if (i == 1 || i > 4 || i >= len || s[i] != '>' || (s[1] == '0' && i > 2) || v > 191)
		return 0;
	*ret = v;
	return i + 1;
}

/* Days from 1970-01-01 to the date (proleptic Gregorian), month 1-12. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(int y, int m)
{
	static const unsigned char days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/*
 * An RFC 5424 TIMESTAMP that fills s exactly (len bytes): YYYY-MM-DDTHH:MM:SS[.1-6 digits] and
 * Z or +HH:MM / -HH:MM. Returns 0 with the Unix time in µs in *ret (0 before 1970), or -1.
 */
static int parse_rfc5424_time(const char *s, size_t len, uint64_t *ret)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	uint64_t frac = 0;
	size_t i = 19, n_frac = 0;
	int64_t t;

	if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, mo) || h < 0 ||
	    h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
		return -1;
	if (s[i] == '.') {
		for (i++; i < len && is_digit(s[i]); i++, n_frac++)
			if (n_frac < 6)
				frac = frac * 10 + (uint64_t)(s[i] - '0');
		if (n_frac == 0 || n_frac > 6)
			return -1;
		for (; n_frac < 6; n_frac++)
			frac *= 10;
	}
	if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		sign = s[i] == '+' ? 1 : -1;
		oh = digits(s + i + 1, 2);
		om = digits(s + i + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -1;
		i += 6;
	} else {
		return -1;
	}
	t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec -
	    sign * (oh * 3600 + om * 60);
	*ret = t > 0 ? (uint64_t)t * 1000000 + frac : 0;
	return 0;
}

/* The next field of an RFC 5424 header at *p (before end): 1 to max PRINTUSASCII bytes ended by
 * a space, which is consumed. Returns 0 with the field in *ret, or -1. */
static int next_field(const char **p, const char *end, size_t max, struct logs_text *ret)
{
	const char *s = *p, *e = s;

	while (e < end && is_printusascii(*e))
		e++;
	if (e == s || (size_t)(e - s) > max || e >= end || *e != ' ')
		return -1;
	*ret = (struct logs_text){ s, (size_t)(e - s) };
	*p = e + 1;
	return 0;
}

/* STRUCTURED-DATA at *p: "-" or one or more "[ID PARAM=\"VALUE\"...]" with \", \\ and \]
 * escaped in values. Moves *p past it; returns 0, or -1 with *ret_why. */
static int skip_structured_data(const char **p, const char *end, const char **ret_why)
{
	const char *s = *p;

	if (s < end && *s == '-') {
		*p = s + 1;
		return 0;
	}
	if (s >= end || *s != '[') {
		*ret_why = "expected STRUCTURED-DATA (\"-\" or \"[...]\")";
		return -1;
	}
	while (s < end && *s == '[') {
		bool quoted = false;

		for (s++; s < end; s++) {
			if (quoted && *s == '\\' && s + 1 < end)
				s++;
			else if (*s == '"')
				quoted = !quoted;
			else if (!quoted && *s == ']')
				break;
		}
		if (s >= end) {
			*ret_why = "STRUCTURED-DATA is not closed with ']'";
			return -1;
		}
		s++;
	}
	*p = s;
	return 0;
}

static enum syslog_format parse_rfc5424(const char *p, const char *end, struct logs_record *r,
					const char **ret_why)
{
	struct logs_text stamp, host, app, procid, msgid;

	if (next_field(&p, end, 64, &stamp) < 0) {
		*ret_why = "expected the TIMESTAMP of RFC 5424";
		return SYSLOG_MALFORMED;
	}
	if (!(stamp.len == 1 && stamp.s[0] == '-') &&
	    parse_rfc5424_time(stamp.s, stamp.len, &r->ts_us) < 0) {
		*ret_why = "the TIMESTAMP is not an RFC 3339 date and time with an offset";
		return SYSLOG_MALFORMED;
	}
	if (next_field(&p, end, HOSTNAME_MAX, &host) < 0 ||
	    next_field(&p, end, APP_NAME_MAX, &app) < 0 ||
	    next_field(&p, end, PROCID_MAX, &procid) < 0 ||
	    next_field(&p, end, MSGID_MAX, &msgid) < 0) {
		*ret_why = "expected HOSTNAME, APP-NAME, PROCID and MSGID of RFC 5424, each "
			   "printable ASCII or \"-\", separated by single spaces";
		return SYSLOG_MALFORMED;
	}
	if (skip_structured_data(&p, end, ret_why) < 0)
		return SYSLOG_MALFORMED;
	if (p < end && *p != ' ') {
		*ret_why = "expected a space after STRUCTURED-DATA";
		return SYSLOG_MALFORMED;
	}
	if (p < end)
		p++;
	if (end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	if (!(host.len == 1 && host.s[0] == '-'))
		r->hostname = host;
	if (!(app.len == 1 && app.s[0] == '-'))
		r->identifier = app;
	if (logs_json_is_pid(procid))
		r->pid = procid;
	r->message = (struct logs_text){ p, (size_t)(end - p) };
	return SYSLOG_RFC5424;
}

/* The length of an RFC 3164 timestamp "Mmm dd hh:mm:ss" (day also " d"; fractions of a second
 * tolerated) followed by a space at s, with the space; 0 when there is none. */
static size_t rfc3164_time_length(const char *s, size_t len)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	size_t i = 15;
	bool month = false;
	int day;

	if (len < 16 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':')
		return 0;
	for (size_t m = 0; m < 12 && !month; m++)
		month = memcmp(s, months + 3 * m, 3) == 0;
	day = (s[4] == ' ' ? 0 : digits(s + 4, 1) * 10) + digits(s + 5, 1);
	if (!month || !(s[4] == ' ' || is_digit(s[4])) || !is_digit(s[5]) || day < 1 || day > 31 ||
	    digits(s + 7, 2) < 0 || digits(s + 7, 2) > 23 || digits(s + 10, 2) < 0 ||
	    digits(s + 10, 2) > 59 || digits(s + 13, 2) < 0 || digits(s + 13, 2) > 60)
		return 0;
	if (s[i] == '.') {
		size_t start = ++i;

		while (i < len && i - start < 9 && is_digit(s[i]))
			i++;
		if (i == start)
			return 0;
	}
	return i < len && s[i] == ' ' ? i + 1 : 0;
}

/* The word at s (up to a space or the end): its length. */
static size_t word_length(const char *s, const char *end)
{
	const char *e = memchr(s, ' ', (size_t)(end - s));

	return (size_t)((e ? e : end) - s);
}

/*
 * A tag "NAME:" or "NAME[PID]:" as the whole word at s (n bytes): NAME is 1 to TAG_MAX printable
 * ASCII bytes without '[' or ':'. Fills identifier and pid (when PID is a number) and returns
 * true; false leaves r untouched.
 */
static bool parse_tag(const char *s, size_t n, struct logs_record *r)
{
	size_t name = 0;

	if (n < 2 || s[n - 1] != ':')
		return false;
	while (name < n - 1 && is_printusascii(s[name]) && s[name] != '[' && s[name] != ':')
		name++;
	if (name == 0 || name > TAG_MAX)
		return false;
	if (name == n - 1) {
		r->identifier = (struct logs_text){ s, name };
		return true;
	}
	if (s[name] != '[' || n < name + 3 || s[n - 2] != ']')
		return false;
	struct logs_text pid = { s + name + 1, n - 2 - (name + 1) };

	if (memchr(pid.s, ']', pid.len) || memchr(pid.s, '[', pid.len))
		return false;
	r->identifier = (struct logs_text){ s, name };
	if (logs_json_is_pid(pid))
		r->pid = pid;
	return true;
}

/* Whether the n bytes at s can be a host name: letters, digits, '.', '-', '_', ':' (IPv6). */
static bool is_hostname(const char *s, size_t n)
{
	if (n == 0 || n > HOSTNAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      is_digit(s[i]) || s[i] == '.' || s[i] == '-' || s[i] == '_' || s[i] == ':'))
			return false;
	return true;
}

/* Takes the tag word at *p if there is one, and the space after it. */
static void take_tag(const char **p, const char *end, struct logs_record *r)
{
	size_t n = word_length(*p, end);

	if (!parse_tag(*p, n, r))
		return;
	*p += n;
	if (*p < end)
		(*p)++;
}

static enum syslog_format parse_rfc3164(const char *p, const char *end, struct logs_record *r)
{
	size_t n = rfc3164_time_length(p, (size_t)(end - p));

	if (n > 0) {
		size_t w;

		p += n;
		w = word_length(p, end);
		/* A host name only ever follows the timestamp; a word that is a tag is none. */
		if (!parse_tag(p, w, r) && is_hostname(p, w) && p + w < end) {
			r->hostname = (struct logs_text){ p, w };
			p += w + 1;
		}
		if (!r->identifier.len)
			take_tag(&p, end, r);
		else
			p = p + w < end ? p + w + 1 : end;
	} else {
		take_tag(&p, end, r);
	}
	r->message = (struct logs_text){ p, (size_t)(end - p) };
	return SYSLOG_RFC3164;
}

enum syslog_format syslog_parse(const char *buf, size_t len, struct logs_record *ret,
				const char **ret_why)
{
	const char *end;
	size_t n;
	int pri = SYSLOG_DEFAULT_PRI;
	enum syslog_format f;

	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == '\0'))
		len--;
	end = buf + len;
	*ret = (struct logs_record){
		.priority = SYSLOG_DEFAULT_PRI & 7,
		.facility = SYSLOG_DEFAULT_PRI >> 3,
		.message = { buf, len },
		.transport = "syslog",
	};
	if (len == 0) {
		*ret_why = "empty message";
		return SYSLOG_MALFORMED;
	}
	n = parse_pri(buf, len, &pri);
	if (n == 0) {
		*ret_why = "no valid <PRI> (0 to 191) at the start";
		return SYSLOG_MALFORMED;
	}
	ret->priority = pri & 7;
	ret->facility = pri >> 3;
	if (len > n + 1 && is_digit(buf[n]) && buf[n + 1] == ' ') {
		if (buf[n] != '1') {
			*ret_why = "unknown syslog protocol version (RFC 5424 is version 1)";
			f = SYSLOG_MALFORMED;
		} else {
			f = parse_rfc5424(buf + n + 2, end, ret, ret_why);
		}
	} else {
		f = parse_rfc3164(buf + n, end, ret);
	}
	if (f == SYSLOG_MALFORMED) {
		/* Whatever the header held is not trusted: the text after the PRI, as it is. */
		*ret = (struct logs_record){
			.priority = pri & 7,
			.facility = pri >> 3,
			.message = { buf + n, len - n },
			.transport = "syslog",
		};
	}
	return f;
}
