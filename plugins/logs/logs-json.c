/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>
#include <time.h>

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

/* Writes the len bytes at s as the inside of a JSON string. */
static void put_escaped(struct json_out *o, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s, *end = s + len;

	while (s < end) {
		unsigned char c = (unsigned char)*s;
		char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
		size_t n;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
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

/* ,"KEY":"N" for a small number that is present (>= 0). */
static void put_number_field(struct json_out *o, const char *key, int v)
{
	char num[16];
	int n;

	if (v < 0)
		return;
	n = snprintf(num, sizeof(num), "%d", v);
	put_field(o, key, (struct logs_text){ num, (size_t)n }, sizeof(num));
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
	time_t secs = (time_t)(ts_us / 1000000);
	struct tm tm;

	if (!gmtime_r(&secs, &tm))
		memset(&tm, 0, sizeof(tm));
	return (size_t)snprintf(buf, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ",
				(tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
				tm.tm_min, tm.tm_sec, (unsigned)(ts_us % 1000000));
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
	PUT_LITERAL(&o, "}}\n");
	return o.overflow ? 0 : (size_t)(o.p - buf);
}
