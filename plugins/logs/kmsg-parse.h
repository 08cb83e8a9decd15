/* SPDX-License-Identifier: MIT */
/*
 * Records of the kernel log as /dev/kmsg gives them (the kernel's
 * Documentation/ABI/testing/dev-kmsg), parsed in place without allocating: pure, free of the
 * plugin API, so that tests/unit/test-kmsg-parse.c links only this file.
 *
 *     PRI,SEQ,TIMESTAMP,FLAGS[,...];MESSAGE\n
 *      KEY=VALUE\n          (continuation lines, each starting with a space)
 *
 * PRI is facility << 3 | level, SEQ the record's sequence number (64 bits, from 0 at boot, never
 * reused within a boot), TIMESTAMP microseconds of CLOCK_MONOTONIC. The kernel escapes
 * unprintable bytes of MESSAGE as \xNN. A read() of /dev/kmsg returns one record; a plain file or
 * a FIFO standing in for it (tests) returns several, which kmsg_record_length() separates.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "logs-record.h"

/* The longest record the kernel writes (CONSOLE_EXT_LOG_MAX): a read needs a buffer this big. */
#define KMSG_RECORD_MAX 8192

struct kmsg_record {
	uint64_t seq;
	uint64_t mono_us;	  /* CLOCK_MONOTONIC when it was logged */
	int priority;		  /* 0 to 7 */
	int facility;		  /* 0 (kernel) to 127 */
	bool continuation;	  /* flag 'c': continues the previous record (older kernels) */
	struct logs_text message; /* up to the first '\n' */
};

/*
 * Parses the record at buf (len bytes: the header, the message and any continuation lines) into
 * *ret, whose message points into buf. Returns 0, or -EINVAL with *ret_why (static) for a header
 * that is not "PRI,SEQ,TIMESTAMP,FLAGS...;" (PRI at most 1023).
 */
int kmsg_parse(const char *buf, size_t len, struct kmsg_record *ret, const char **ret_why);

/*
 * The length of the first whole record at buf (len bytes of a stream of records): up to the '\n'
 * after which comes a line that does not start with a space. The last record in buf is whole
 * only when at_eof says no more bytes follow, and it ends with '\n'. Returns 0 when buf holds no
 * whole record yet.
 */
size_t kmsg_record_length(const char *buf, size_t len, bool at_eof);
