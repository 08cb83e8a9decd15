/* SPDX-License-Identifier: MIT */
/*
 * A streaming compressor into a file descriptor: gzip (zlib), zstd (libzstd, when built with
 * it) or none, in fixed memory whatever the amount written, with a cap on the bytes it may write
 * so a capture can never fill the flash beyond its budget.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum cz_kind {
	CZ_NONE,
	CZ_GZIP,
	CZ_ZSTD,
};

/* "gzip" -> CZ_GZIP etc.; -EINVAL for an unknown name, -EOPNOTSUPP for zstd without libzstd. */
int cz_kind_from_name(const char *name, enum cz_kind *ret);

/* The file name suffix of a kind: "", ".gz" or ".zst". */
const char *cz_kind_suffix(enum cz_kind kind);

/* The name of a kind as the manifest's "compression" says it, or NULL for CZ_NONE. */
const char *cz_kind_name(enum cz_kind kind);

struct cz_writer;

/* A writer of kind into fd (borrowed, not closed) that refuses to write more than max_out bytes
 * (0: no cap). Returns 0 or -errno. */
int cz_writer_new(int fd, enum cz_kind kind, uint64_t max_out, struct cz_writer **ret);

/* Writes what the writer outputs with fn (instead of lc_write_all()), which returns 0 or -errno:
 * a caller that can make room on a full filesystem retries there. */
typedef int (*cz_output_t)(int fd, const void *buf, size_t len, void *userdata);
void cz_writer_set_output(struct cz_writer *w, cz_output_t fn, void *userdata);

/* Compresses and writes len bytes. Returns 0, -EFBIG once the output would exceed max_out (the
 * writer is then unusable), or the write's -errno. */
int cz_write(struct cz_writer *w, const void *buf, size_t len);

/* As cz_write() with n zero bytes. */
int cz_write_zeros(struct cz_writer *w, uint64_t n);

/* Flushes the stream's end. Returns 0, -EFBIG or -errno. */
int cz_finish(struct cz_writer *w);

uint64_t cz_bytes_in(const struct cz_writer *w);
uint64_t cz_bytes_out(const struct cz_writer *w);

/* Frees the writer; accepts NULL and returns NULL. */
struct cz_writer *cz_writer_free(struct cz_writer *w);
