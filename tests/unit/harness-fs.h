/* SPDX-License-Identifier: MIT */
/*
 * A fake filesystem tree for unit tests: files and directories written, read back and removed
 * below a directory (a temporary directory from tmpdir.h, a fake sysroot, a state directory).
 * Every function fails the running cmocka test when the filesystem refuses; rel may begin with
 * '/' (a path as the code under test names it below its sysroot) or not.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "macro.h"

/* A temporary directory for a test, removed with everything below it, and the paths of the
 * fake sysroot and the state directory a test puts below it (neither made). */
struct tree {
	char *dir;   /* $TMPDIR (else /tmp)/test-NAME-XXXXXX */
	char *root;  /* <dir>/root */
	char *state; /* <dir>/state */
};

/* Makes a temporary tree for the test name; NULL on failure (a cmocka set-up returns -1). */
struct tree *tree_new(const char *name);

/* Removes the tree and frees t; accepts NULL. Returns 0, or -1 when the removal failed (a cmocka
 * teardown returns it). */
int tree_free(struct tree *t);

/* dir/rel as a new string (free()); never NULL. */
char *tree_path(const char *dir, const char *rel);

/* Writes len bytes of data to dir/rel in place, as a shell's redirection does: a new file gets
 * mode, an existing one keeps its inode and is truncated first. Missing parents are made (0755). */
void tree_write(const char *dir, const char *rel, const void *data, size_t len, mode_t mode);

/* Writes text to dir/rel as tree_write() does, with mode 0644. */
void tree_put(const char *dir, const char *rel, const char *text);

/* Writes the formatted text to dir/rel as tree_put() does. */
void tree_putf(const char *dir, const char *rel, const char *fmt, ...) _printf_(3, 4);

/* Makes the new directory dir/rel (0755), and its missing parents; nothing may be there yet. */
void tree_mkdir(const char *dir, const char *rel);

/* Whether anything exists at dir/rel (a dangling symbolic link does). */
bool tree_exists(const char *dir, const char *rel);

/* Removes the file dir/rel, which must exist. */
void tree_unlink(const char *dir, const char *rel);

/* Removes dir/rel and everything below it, never following links; nothing there is no error. */
void tree_remove(const char *dir, const char *rel);

/* The content of the file dir/rel, which must exist and hold at most 1 MiB: a new NUL-terminated
 * string (free()), its size in *ret_size unless that is NULL. */
char *tree_read(const char *dir, const char *rel, size_t *ret_size);
