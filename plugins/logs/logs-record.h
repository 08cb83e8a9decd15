/* SPDX-License-Identifier: MIT */
/*
 * One log line as every source hands it to the log file: the journal's field names are the common
 * language (spec/device-api.md, linux-logs). Text fields point into the source's buffer and are
 * not terminated; each is cut to LOGS_FIELD_MAX bytes (the message to logs.max_line_bytes) when
 * the line is written.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The longest value of a field other than MESSAGE that is kept. */
#define LOGS_FIELD_MAX 256

/* Severities, as syslog(3) and the journal's PRIORITY number them. */
#define LOGS_PRIORITY_MAX 7

/* Text within a source's buffer; len 0 means absent. */
struct logs_text {
	const char *s;
	size_t len;
};

/* Journal fields kept besides the fixed ones (logs.extra_attributes): at most this many, each
 * name at most LOGS_EXTRA_NAME_MAX bytes of [A-Z0-9_]. */
#define LOGS_EXTRA_MAX	    16
#define LOGS_EXTRA_NAME_MAX 64

/* One such field of a line. */
struct logs_field {
	const char *name; /* checked by logs_extra_name_check(), terminated */
	struct logs_text value;
};

struct logs_record {
	uint64_t ts_us; /* Unix time in µs the line was written; 0: not known, the time it
			 * was received is used */
	int priority;	/* 0 (emerg) to 7 (debug) */
	int facility;	/* 0 to 127 (syslog's 0 to 23, the kernel's up to 127); -1: none */
	struct logs_text message;	/* MESSAGE */
	struct logs_text identifier;	/* SYSLOG_IDENTIFIER: the program's tag */
	struct logs_text pid;		/* _PID, digits */
	struct logs_text unit;		/* _SYSTEMD_UNIT */
	struct logs_text comm;		/* _COMM */
	struct logs_text hostname;	/* _HOSTNAME, when the sender named one */
	const char *transport;		/* _TRANSPORT: "syslog", "kernel", "journal"... (static) */
	const struct logs_field *extra; /* n_extra more fields (the journal's), each cut to
					 * LOGS_FIELD_MAX; the first LOGS_EXTRA_MAX are written */
	size_t n_extra;
};
