/* SPDX-License-Identifier: MIT */
/* A temporary directory for a unit test: made under $TMPDIR (else /tmp), removed with everything
 * inside. */
#pragma once

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

/* Makes $TMPDIR/test-NAME-XXXXXX in buf (size bytes); returns buf, or NULL on failure. */
static inline char *test_tmpdir_make(char *buf, size_t size, const char *name)
{
	const char *base = getenv("TMPDIR");
	int n = snprintf(buf, size, "%s/test-%s-XXXXXX", base && base[0] ? base : "/tmp", name);

	if (n < 0 || (size_t)n >= size)
		return NULL;
	return mkdtemp(buf);
}

/* As test_tmpdir_make(), in a new string (free with test_tmpdir_free()). */
static inline char *test_tmpdir_new(const char *name)
{
	char *dir = malloc(PATH_MAX);

	if (dir && !test_tmpdir_make(dir, PATH_MAX, name)) {
		free(dir);
		return NULL;
	}
	return dir;
}

static inline int test_tmpdir_remove_entry(const char *path, const struct stat *st, int flag,
					   struct FTW *ftw)
{
	return remove(path);
}

/* Removes dir and everything below it, never following links. Returns 0 or -1. */
static inline int test_tmpdir_remove(const char *dir)
{
	return nftw(dir, test_tmpdir_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Removes and frees a directory from test_tmpdir_new(); accepts NULL. Returns 0 or -1. */
static inline int test_tmpdir_free(char *dir)
{
	int r = dir ? test_tmpdir_remove(dir) : 0;

	free(dir);
	return r;
}
