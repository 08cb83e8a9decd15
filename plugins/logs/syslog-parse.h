/* SPDX-License-Identifier: MIT */
/*
 * Syslog messages, one per datagram, parsed in place without allocating: pure functions of their
 * input, free of the plugin API, so that tests/unit/test-syslog-parse.c and the fuzz target link
 * only this file.
 *
 * RFC 5424:  <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]
 * RFC 3164:  <PRI>[Mmm dd hh:mm:ss ][HOSTNAME ][TAG[PID]: ]MSG
 *
 * The RFC 3164 form is what syslog(3) of glibc, musl and BusyBox writes to /dev/log (without a
 * host name) and what BusyBox syslogd -R forwards unchanged; after the timestamp, a first word
 * that ends in ':' is the tag, else it is the host name and the tag may follow. Its timestamp has
 * no year and no zone and is not used: the line is stamped when it is received. An RFC 5424
 * timestamp with its offset is used; "-" is none. PROCID becomes _PID when it is a number,
 * STRUCTURED-DATA is checked and skipped, a UTF-8 byte-order mark before MSG is dropped.
 *
 * A message without a valid PRI, or whose RFC 5424 header is broken, is malformed: it is still
 * kept, whole, as plain text with the priority RFC 3164 gives a message without PRI (user.notice),
 * or the PRI's when that one was valid.
 */
#pragma once

#include <stddef.h>

#include "logs-record.h"

/* What RFC 3164 gives a message without PRI: facility user (1), severity notice (5). */
#define SYSLOG_DEFAULT_PRI 13

enum syslog_format {
	SYSLOG_MALFORMED, /* kept as plain text */
	SYSLOG_RFC3164,
	SYSLOG_RFC5424,
};

/*
 * Parses the message of one datagram (len bytes; trailing '\n', '\r' and NUL bytes are dropped,
 * others are part of the text) into *ret, whose text fields point into buf; transport is
 * "syslog". Returns the format; for SYSLOG_MALFORMED *ret_why says why (static) and *ret still
 * holds the text. An empty message is malformed too, with an empty MESSAGE.
 */
enum syslog_format syslog_parse(const char *buf, size_t len, struct logs_record *ret,
				const char **ret_why);
