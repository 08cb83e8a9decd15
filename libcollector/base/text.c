/* SPDX-License-Identifier: MIT */
#include "text.h"
#include "utf8.h"

static bool printable(char c)
{
	return c >= 0x20 && c <= 0x7e;
}

bool lc_text_printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!printable(s[i]))
			return false;
	return true;
}

char *lc_text_printable_copy(char *buf, size_t size, const char *s, size_t len)
{
	size_t i;

	if (size == 0)
		return buf;
	for (i = 0; i < len && i + 1 < size; i++)
		buf[i] = printable(s[i]) ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

/* Whether the byte c, taken alone, stays as it is under flags. */
static bool byte_kept(char c, unsigned flags)
{
	return printable(c) || (c == '\n' && (flags & LC_TEXT_KEEP_NEWLINE)) ||
	       (c == '\t' && (flags & LC_TEXT_KEEP_TAB));
}

void lc_text_scrub(char *s, size_t len, unsigned flags)
{
	for (size_t i = 0; i < len;) {
		size_t n = byte_kept(s[i], flags) ? 1 : 0;

		if ((unsigned char)s[i] >= 0x80 && (flags & LC_TEXT_KEEP_UTF8))
			n = lc_utf8_decode(s + i, len - i, NULL);
		if (n > 0) {
			i += n;
			continue;
		}
		s[i] = s[i] == '\0' && (flags & LC_TEXT_NUL_AS_SPACE) ? ' ' : '?';
		i++;
	}
}
