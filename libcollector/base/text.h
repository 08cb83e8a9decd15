/* SPDX-License-Identifier: MIT */
/*
 * Text made safe for logs, messages and terminals, in one place: a byte that is not printable
 * ASCII (0x20-0x7e) becomes '?', so that what a process, a file or a client wrote can neither
 * forge a log line, nor break a JSON reply, nor drive a terminal.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Whether the len bytes at s are all printable ASCII (0x20-0x7e); true when len is 0. */
bool lc_text_printable(const char *s, size_t len);

/*
 * Copies the first len bytes of s (NULs among them too), at most size - 1 of them, into buf
 * (size > 0) with each byte that is not printable ASCII as '?', and ends it with a NUL.
 * Returns buf.
 */
char *lc_text_printable_copy(char *buf, size_t size, const char *s, size_t len);

/* What lc_text_scrub() leaves as it is besides printable ASCII. */
enum {
	LC_TEXT_KEEP_NEWLINE = 1 << 0, /* '\n', in multi-line text */
	LC_TEXT_KEEP_TAB = 1 << 1,     /* '\t' */
	LC_TEXT_KEEP_UTF8 = 1 << 2,    /* valid UTF-8 characters above U+007F */
	LC_TEXT_NUL_AS_SPACE = 1 << 3, /* a NUL becomes ' ' (the separator of /proc's cmdline) */
};

/* Replaces in place each of the len bytes at s that is not printable ASCII, nor kept by flags
 * (LC_TEXT_*), with '?'; so is each byte of a sequence that is not valid UTF-8. */
void lc_text_scrub(char *s, size_t len, unsigned flags);
