/* SPDX-License-Identifier: MIT */
/*
 * A tiny CBOR writer (RFC 8949), for the "Memfault" note of a core: unsigned integers, text
 * strings, arrays and maps of a known length, and null. Definite lengths only, shortest
 * encodings, into a buffer of fixed size: a write past its end marks the writer full and every
 * later write does nothing, so the caller checks once at the end. Pure, no allocation.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cbor_writer {
	uint8_t *buf;
	size_t size, len;
	bool full; /* a write did not fit: the bytes are unusable */
};

static inline void cbor_writer_init(struct cbor_writer *w, void *buf, size_t size)
{
	*w = (struct cbor_writer){ .buf = buf, .size = size };
}

void cbor_uint(struct cbor_writer *w, uint64_t v);
/* len bytes of s, which the caller made valid UTF-8. */
void cbor_text(struct cbor_writer *w, const char *s, size_t len);
void cbor_cstr(struct cbor_writer *w, const char *s);
/* The heads of an array of n items and of a map of n pairs (key, value, key, value...). */
void cbor_array(struct cbor_writer *w, uint64_t n);
void cbor_map(struct cbor_writer *w, uint64_t n);
void cbor_null(struct cbor_writer *w);

/* Bytes written, or 0 when the writer is full. */
size_t cbor_writer_len(const struct cbor_writer *w);
