/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "logs-json.h"
#include "utf8.h"

/* A bounded writer: a write that does not fit sets overflow and writes nothing more. */
struct json_out {
	char *p, *end;
	bool overflow;
};

static void put(struct json_out *o, const char *s, size_t n)
{
	if (o->overflow || (size_t)(o->end - o->p) < n) {
		o->overflow = true;
		return;
	}
	memcpy(o->p, s, n);
	o->p += n;
}

#define PUT_LITERAL(o, s) put((o), (s), sizeof(s) - 1)

/* The bytes that stand for themselves inside a JSON string: printable ASCII but '"' and '\\'. */
static const bool plain[256] = {
	[0x20 ... 0x21] = true, /* '"' is 0x22 */
	[0x23 ... 0x5b] = true, /* '\\' is 0x5c */
	[0x5d ... 0x7e] = true,
};

/* Writes the len bytes at s as the inside of a JSON string. */
static void put_escaped(struct json_out *o, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s, *end = s + len;

	while (s < end) {
		unsigned char c = (unsigned char)*s;
		char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
		size_t n;

		if (plain[c]) {
			s++;
			continue;
		}
		if (c >= 0x80 && (n = lc_utf8_decode(s, (size_t)(end - s), NULL)) > 0) {
			s += n;
			continue;
		}
		put(o, run, (size_t)(s - run));
		switch (c) {
		case '"':
			PUT_LITERAL(o, "\\\"");
			break;
		case '\\':
			PUT_LITERAL(o, "\\\\");
			break;
		case '\n':
			PUT_LITERAL(o, "\\n");
			break;
		case '\t':
			PUT_LITERAL(o, "\\t");
			break;
		case '\r':
			PUT_LITERAL(o, "\\r");
			break;
		default:
			if (c >= 0x80)
				PUT_LITERAL(
					o,
					"\xEF\xBF\xBD"); /* U+FFFD for a byte that is not UTF-8 */
			else
				put(o, esc, sizeof(esc));
			break;
		}
		run = ++s;
	}
	put(o, run, (size_t)(s - run));
}

/* ,"KEY":"VALUE" for a value that is present, cut to max bytes. */
static void put_field(struct json_out *o, const char *key, struct logs_text v, size_t max)
{
	if (v.len == 0)
		return;
	put(o, ",\"", 2);
	put(o, key, strlen(key));
	put(o, "\":\"", 3);
	put_escaped(o, v.s, lc_utf8_cut(v.s, v.len, max));
	put(o, "\"", 1);
}

/* Writes v as exactly n decimal digits, zero-padded, at p; returns the end. */
static char *put_digits(char *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

/* ,"KEY":"N" for a small number that is present (>= 0): by hand, as snprintf() costs more than
 * the rest of the field. */
static void put_number_field(struct json_out *o, const char *key, int v)
{
	char num[16];
	int n = 1;

	if (v < 0)
		return;
	for (int x = v; x >= 10; x /= 10)
		n++;
	put_digits(num, (uint64_t)v, n);
	put_field(o, key, (struct logs_text){ num, (size_t)n }, sizeof(num));
}

int logs_extra_name_check(const char *name, const char **ret_why)
{
	/* Those logs_json_line() writes for a journal line whenever the entry has them. */
	static const char *const fixed[] = {
		"MESSAGE", "PRIORITY",	    "SYSLOG_FACILITY", "SYSLOG_IDENTIFIER",
		"_PID",	   "_SYSTEMD_UNIT", "_COMM",	       "_TRANSPORT",
	};
	size_t len = strlen(name);

	if (len == 0 || len > LOGS_EXTRA_NAME_MAX) {
		*ret_why = "expected a journal field name of 1 to 64 bytes";
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		if (!((name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '_')) {
			*ret_why = "expected a journal field name of A-Z, 0-9 and _";
			return -EINVAL;
		}
	if (len >= 2 && name[0] == '_' && name[1] == '_') {
		*ret_why = "a name beginning with __ is the journal's own, not a field of an entry";
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(fixed[i], name) == 0) {
			*ret_why = "this field is kept always";
			return -EINVAL;
		}
	return 0;
}

bool logs_json_is_pid(struct logs_text t)
{
	if (t.len == 0 || t.len > 10 || t.s[0] < '1' || t.s[0] > '9')
		return false;
	for (size_t i = 1; i < t.len; i++)
		if (t.s[i] < '0' || t.s[i] > '9')
			return false;
	return true;
}

size_t logs_json_time(char buf[static 32], uint64_t ts_us)
{
	/* The civil date of a day number (Howard Hinnant's civil_from_days, in eras of 400
	 * years), by hand: gmtime_r() and snprintf() were a twentieth of a line's cost. What
	 * gmtime_r() gives, year cut to 4 digits as before (tests/unit/test-logs-parse.c compares
	 * them on the edges and 200,000 random stamps). */
	uint64_t secs = ts_us / 1000000, days = secs / 86400, sod = secs % 86400;
	uint64_t z = days + 719468, era = z / 146097, doe = z % 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	uint64_t day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
	uint64_t year = yoe + era * 400 + (month <= 2);
	char *p = buf;

	p = put_digits(p, year % 10000, 4);
	*p++ = '-';
	p = put_digits(p, month, 2);
	*p++ = '-';
	p = put_digits(p, day, 2);
	*p++ = 'T';
	p = put_digits(p, sod / 3600, 2);
	*p++ = ':';
	p = put_digits(p, sod / 60 % 60, 2);
	*p++ = ':';
	p = put_digits(p, sod % 60, 2);
	*p++ = '.';
	p = put_digits(p, ts_us % 1000000, 6);
	*p++ = 'Z';
	*p = 0;
	return (size_t)(p - buf);
}

size_t logs_json_line(char *buf, size_t size, const struct logs_record *r, uint64_t ts_us,
		      size_t max_message, bool *ret_cut)
{
	struct json_out o = { buf, buf + size, false };
	size_t message_len = lc_utf8_cut(r->message.s, r->message.len, max_message);
	char stamp[32];

	*ret_cut = message_len < r->message.len;
	PUT_LITERAL(&o, "{\"ts\":\"");
	put(&o, stamp, logs_json_time(stamp, ts_us));
	PUT_LITERAL(&o, "\",\"data\":{\"MESSAGE\":\"");
	put_escaped(&o, r->message.s, message_len);
	put(&o, "\"", 1);
	put_number_field(&o, "PRIORITY", r->priority);
	put_number_field(&o, "SYSLOG_FACILITY", r->facility);
	put_field(&o, "SYSLOG_IDENTIFIER", r->identifier, LOGS_FIELD_MAX);
	if (logs_json_is_pid(r->pid))
		put_field(&o, "_PID", r->pid, LOGS_FIELD_MAX);
	put_field(&o, "_SYSTEMD_UNIT", r->unit, LOGS_FIELD_MAX);
	put_field(&o, "_COMM", r->comm, LOGS_FIELD_MAX);
	put_field(&o, "_HOSTNAME", r->hostname, LOGS_FIELD_MAX);
	if (r->transport)
		put_field(&o, "_TRANSPORT",
			  (struct logs_text){ r->transport, strlen(r->transport) }, LOGS_FIELD_MAX);
	for (size_t i = 0; i < r->n_extra && i < LOGS_EXTRA_MAX; i++)
		put_field(&o, r->extra[i].name, r->extra[i].value, LOGS_FIELD_MAX);
	PUT_LITERAL(&o, "}}\n");
	return o.overflow ? 0 : (size_t)(o.p - buf);
}
