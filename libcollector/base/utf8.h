/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 as RFC 3629 has it, in one place: decoding one character, encoding one, and cutting text
 * without splitting a character. Valid means the shortest form of a Unicode scalar value: overlong
 * forms, surrogates (U+D800-U+DFFF) and values above U+10FFFF are not UTF-8.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest sequence, in bytes. */
#define LC_UTF8_MAX 4

/*
 * Decodes the character at s (avail bytes, avail > 0; s need not be NUL-terminated): returns its
 * length, 1 to 4, with its code point in *ret_cp (ret_cp may be NULL), or 0 when the bytes there
 * are not valid UTF-8 (a stray continuation byte, a sequence cut short, an overlong form, a
 * surrogate, a value above U+10FFFF), leaving *ret_cp untouched.
 */
size_t lc_utf8_decode(const char *s, size_t avail, uint32_t *ret_cp);

/* Writes cp, a Unicode scalar value (at most U+10FFFF, not a surrogate), to out as UTF-8 and
 * returns its length, 1 to 4. */
size_t lc_utf8_encode(uint32_t cp, char out[static LC_UTF8_MAX]);

/* Whether byte c continues a character (10xxxxxx) rather than starting one. */
static inline bool lc_utf8_is_continuation(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

/* The length at most max to which s (len bytes) can be cut without splitting a character: len if
 * it is at most max, else max moved back to the start of the character it falls in. */
size_t lc_utf8_cut(const char *s, size_t len, size_t max);
