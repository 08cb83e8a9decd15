/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for syslog messages (plugins/logs/syslog-parse.c): the input is one datagram,
 * parsed as the logs plugin parses it and written as the JSON line it keeps (logs-json.c).
 * Checked beyond crashes: every field lies within the datagram, a malformed message says why and
 * keeps its text, the priority and the facility are in range, a _PID is a process id, and the JSON
 * line is one line that json-c reads back as {"ts", "data": {"MESSAGE": ...}} with MESSAGE as
 * long as the message (each byte that is not UTF-8 becoming U+FFFD's three), cut at the limit.
 */
#include <json-c/json.h>
#include <string.h>

#include "fuzz-util.h"
#include "logs-json.h"
#include "macro.h"
#include "syslog-parse.h"

#define MAX_MESSAGE 1024

static bool within(const uint8_t *data, size_t size, struct logs_text t)
{
	return t.len == 0 || ((const uint8_t *)t.s >= data && t.len <= size &&
			      (const uint8_t *)t.s - data <= (ptrdiff_t)(size - t.len));
}

static const char *member(json_object *o, const char *a, const char *b)
{
	json_object *v;

	if (!json_object_object_get_ex(o, a, &v) || (b && !json_object_object_get_ex(v, b, &v)) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[LOGS_JSON_LINE_MAX(MAX_MESSAGE) + 1];
	struct logs_record r;
	const char *why = NULL, *message;
	enum syslog_format f;
	json_object *o;
	bool cut;
	size_t n;

	f = syslog_parse((const char *)data, size, &r, &why);
	CHECK(f == SYSLOG_MALFORMED || f == SYSLOG_RFC3164 || f == SYSLOG_RFC5424);
	CHECK(f != SYSLOG_MALFORMED || (why && why[0]));
	CHECK(r.priority >= 0 && r.priority <= 7 && r.facility >= 0 && r.facility <= 23);
	CHECK(within(data, size, r.message) && within(data, size, r.identifier) &&
	      within(data, size, r.pid) && within(data, size, r.hostname));
	CHECK(r.pid.len == 0 || logs_json_is_pid(r.pid));
	CHECK(r.identifier.len <= 64 && r.hostname.len <= 255);
	CHECK(f != SYSLOG_MALFORMED || (r.identifier.len == 0 && r.pid.len == 0 && r.ts_us == 0));
	CHECK(strcmp(r.transport, "syslog") == 0);

	n = logs_json_line(line, sizeof(line) - 1, &r, r.ts_us ? r.ts_us : 1, MAX_MESSAGE, &cut);
	CHECK(n > 0 && line[n - 1] == '\n' && !memchr(line, '\n', n - 1));
	CHECK(cut == (r.message.len > MAX_MESSAGE));
	line[n] = 0;
	o = json_tokener_parse(line);
	CHECK(o);
	message = member(o, "data", "MESSAGE");
	CHECK(message && member(o, "ts", NULL));
	CHECK(strlen(message) <= 3 * MIN(r.message.len, (size_t)MAX_MESSAGE));
	json_object_put(o);
	return 0;
}
