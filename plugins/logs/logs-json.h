/* SPDX-License-Identifier: MIT */
/*
 * A log line as the device API's linux-logs file holds it: one JSON object a line,
 *
 *     {"ts": "2026-11-21T10:00:00.123456Z", "data": {"MESSAGE": "...", "PRIORITY": "6", ...}}
 *
 * with the journal's field names, every value a string as the journal has them, fields without a
 * value left out. Written by hand into a caller's buffer, without allocating: this runs for every
 * line. Text becomes valid JSON whatever its bytes: control characters are escaped, a byte that
 * is not part of valid UTF-8 becomes U+FFFD. Pure, free of the plugin API.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "logs-record.h"

/* Room for everything but MESSAGE: the keys, the stamp and the other fields, each at most
 * LOGS_FIELD_MAX bytes of which every one may take 6 once escaped, the extra fields too. */
#define LOGS_JSON_FIXED_MAX                                \
	(6 * (6 + LOGS_EXTRA_MAX) * LOGS_FIELD_MAX + 512 + \
	 LOGS_EXTRA_MAX * (LOGS_EXTRA_NAME_MAX + 8))

/* The buffer logs_json_line() needs for a message cut to max_message bytes. */
#define LOGS_JSON_LINE_MAX(max_message) (6 * (size_t)(max_message) + LOGS_JSON_FIXED_MAX)

/*
 * Writes the line of r, stamped ts_us (Unix time in µs), with its '\n', into buf (size bytes, at
 * least LOGS_JSON_LINE_MAX(max_message)); the message is cut to max_message bytes (not within a
 * UTF-8 character; *ret_cut says whether it was), other fields to LOGS_FIELD_MAX; a _PID that
 * is not a process id is left out; r's extra fields come last. Returns the
 * length, or 0 when buf is too small (never with the size above).
 */
size_t logs_json_line(char *buf, size_t size, const struct logs_record *r, uint64_t ts_us,
		      size_t max_message, bool *ret_cut);

/* Checks the name of a journal field for logs.extra_attributes: 1 to LOGS_EXTRA_NAME_MAX bytes of
 * [A-Z0-9_], not beginning with "__" (the journal's own, not fields of an entry), not one of the
 * fields every journal line has already. Returns 0, or -EINVAL with why in *ret_why. */
int logs_extra_name_check(const char *name, const char **ret_why);

/* Whether t is a process id as _PID holds one: 1 to 10 digits, the first not 0. A _PID that is
 * not is left out of the line. */
bool logs_json_is_pid(struct logs_text t);

/* Formats ts_us as RFC 3339 in UTC with microseconds, "2026-11-21T10:00:00.123456Z", into buf.
 * Returns the length (27). */
size_t logs_json_time(char buf[static 32], uint64_t ts_us);
