/* SPDX-License-Identifier: MIT */
#include "utf8.h"

size_t lc_utf8_decode(const char *s, size_t avail, uint32_t *ret_cp)
{
	unsigned char c = (unsigned char)s[0];
	uint32_t cp, min;
	size_t n;

	if (c < 0x80) {
		n = 1;
		cp = c;
		goto done;
	}
	if (c < 0xC2) /* a continuation byte, or the start of an overlong 2-byte form */
		return 0;
	if (c < 0xE0) {
		n = 2;
		cp = c & 0x1F;
		min = 0x80;
	} else if (c < 0xF0) {
		n = 3;
		cp = c & 0x0F;
		min = 0x800;
	} else if (c < 0xF5) {
		n = 4;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if (!lc_utf8_is_continuation((unsigned char)s[i]))
			return 0;
		cp = (cp << 6) | ((unsigned char)s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
done:
	if (ret_cp)
		*ret_cp = cp;
	return n;
}

size_t lc_utf8_encode(uint32_t cp, char out[static LC_UTF8_MAX])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

size_t lc_utf8_cut(const char *s, size_t len, size_t max)
{
	size_t n = max;

	if (len <= max)
		return len;
	while (n > 0 && lc_utf8_is_continuation((unsigned char)s[n]))
		n--;
	return n;
}
