/* SPDX-License-Identifier: MIT */
/* A tiny CBOR writer. See cbor.h. */
#include <string.h>

#include "cbor.h"

enum {
	CBOR_UINT = 0,
	CBOR_TEXT = 3,
	CBOR_ARRAY = 4,
	CBOR_MAP = 5,
	CBOR_SIMPLE = 7,
};

static void put(struct cbor_writer *w, const void *p, size_t n)
{
	if (w->full || n > w->size - w->len) {
		w->full = true;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

/* A head: the major type and the argument, in the shortest form (big-endian). */
static void head(struct cbor_writer *w, unsigned major, uint64_t v)
{
	uint8_t b[9];
	size_t n;

	if (v < 24) {
		b[0] = (uint8_t)(major << 5 | v);
		n = 1;
	} else if (v <= UINT8_MAX) {
		b[0] = (uint8_t)(major << 5 | 24);
		n = 2;
	} else if (v <= UINT16_MAX) {
		b[0] = (uint8_t)(major << 5 | 25);
		n = 3;
	} else if (v <= UINT32_MAX) {
		b[0] = (uint8_t)(major << 5 | 26);
		n = 5;
	} else {
		b[0] = (uint8_t)(major << 5 | 27);
		n = 9;
	}
	for (size_t i = 1; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	put(w, b, n);
}

void cbor_uint(struct cbor_writer *w, uint64_t v)
{
	head(w, CBOR_UINT, v);
}

void cbor_text(struct cbor_writer *w, const char *s, size_t len)
{
	head(w, CBOR_TEXT, len);
	put(w, s, len);
}

void cbor_cstr(struct cbor_writer *w, const char *s)
{
	cbor_text(w, s, strlen(s));
}

void cbor_array(struct cbor_writer *w, uint64_t n)
{
	head(w, CBOR_ARRAY, n);
}

void cbor_map(struct cbor_writer *w, uint64_t n)
{
	head(w, CBOR_MAP, n);
}

void cbor_null(struct cbor_writer *w)
{
	head(w, CBOR_SIMPLE, 22);
}

size_t cbor_writer_len(const struct cbor_writer *w)
{
	return w->full ? 0 : w->len;
}
