/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "kmsg-parse.h"

/* The largest PRI: LOG_FACMASK (0x3f8) | LOG_PRIMASK (7). */
#define KMSG_PRI_MAX 1023

/* A decimal number of 1 to 20 digits at *p ended by sep, which is consumed; no overflow of
 * 64 bits. Returns 0 with it in *ret, or -1. */
static int kmsg_number(const char **p, const char *end, char sep, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (s == *p || s >= end || *s != sep)
		return -1;
	*ret = v;
	*p = s + 1;
	return 0;
}

int kmsg_parse(const char *buf, size_t len, struct kmsg_record *ret, const char **ret_why)
{
	const char *p = buf, *end = buf + len, *semi, *nl;
	uint64_t pri, seq, ts;

	if (kmsg_number(&p, end, ',', &pri) < 0 || pri > KMSG_PRI_MAX ||
	    kmsg_number(&p, end, ',', &seq) < 0) {
		*ret_why = "expected \"PRI,SEQ,\" at the start (PRI at most 1023)";
		return -EINVAL;
	}
	/* The timestamp ends at ',' before the flags; an old kernel may end it at ';'. */
	semi = memchr(p, ';', (size_t)(end - p));
	if (!semi ||
	    (kmsg_number(&p, semi + 1, ',', &ts) < 0 && kmsg_number(&p, semi + 1, ';', &ts) < 0)) {
		*ret_why = "expected \"TIMESTAMP,FLAGS;\" after the sequence number";
		return -EINVAL;
	}
	*ret = (struct kmsg_record){
		.seq = seq,
		.mono_us = ts,
		.priority = (int)(pri & 7),
		.facility = (int)(pri >> 3),
		/* The flags are the field right after the timestamp: "-", or "c" to continue. */
		.continuation = p < semi && *p == 'c',
	};
	p = semi + 1;
	nl = memchr(p, '\n', (size_t)(end - p));
	ret->message = (struct logs_text){ p, (size_t)((nl ? nl : end) - p) };
	return 0;
}

size_t kmsg_record_length(const char *buf, size_t len, bool at_eof)
{
	const char *p = buf, *end = buf + len;

	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			return 0;
		p = nl + 1;
		if (p == end)
			return at_eof ? len : 0;
		if (*p != ' ')
			return (size_t)(p - buf);
	}
}
