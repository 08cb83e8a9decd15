/* SPDX-License-Identifier: MIT */
/*
 * What the fuzz targets share: a failing check that both libFuzzer and fuzz-replay report, and a
 * private scratch directory for the targets whose parser reads files.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fails loudly (libFuzzer and the replay both report an abort). */
#define CHECK(x)                          \
	do {                              \
		if (!(x))                 \
			__builtin_trap(); \
	} while (0)

/* A directory of this process, created on first use and removed with its files at exit (a
 * crash leaves it under $TMPDIR for the post-mortem). Aborts when it cannot be created. */
const char *fuzz_dir(void);

/* fuzz_dir()/rel, malloc'ed; aborts on OOM. */
char *fuzz_path(const char *rel);

/* Creates fuzz_dir()/rel as a directory and its missing parents; aborts on failure. */
void fuzz_mkdir(const char *rel);

/* Writes size bytes to path, replacing the file; aborts on failure. */
void fuzz_write(const char *path, const void *data, size_t size);

/* A NUL-terminated copy of the input (which may hold NUL bytes itself); aborts on OOM. */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* Only errors worse than LOG_CRIT are logged: the parsers' warnings would drown the output. */
void fuzz_quiet(void);
