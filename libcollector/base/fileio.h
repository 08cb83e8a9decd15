/* SPDX-License-Identifier: MIT */
/*
 * File helpers with limits and durability: every read has a maximum size, every persistent write
 * is atomic (temporary file, fsync, rename, fsync of the directory). All return 0 or -errno.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Reads the whole file at path into a NUL-terminated buffer (*ret, owned by the caller) of
 * *ret_size bytes, reading at most max + 1 bytes. Returns -EFBIG when the file holds more than
 * max bytes, -EISDIR for a directory, -EBADFD for anything else that is not a regular file (a
 * FIFO, a socket, a device), -ENOENT etc. as open(2) says. On failure *ret and *ret_size are
 * untouched.
 */
int lc_read_file(const char *path, size_t max, char **ret, size_t *ret_size);

/*
 * Reads the first max bytes at most of the regular file at path (a symlink is -ELOOP), as
 * lc_read_file() does, but a longer file is not an error: *ret_truncated says there was more.
 */
int lc_read_file_head(const char *path, size_t max, char **ret, size_t *ret_size,
		      bool *ret_truncated);

/*
 * Makes room in *buf (of *alloc bytes, size used) for at least one more byte and a terminating
 * NUL, growing geometrically but never past max + 2 bytes: one byte beyond max proves the input
 * too long without storing more of it. Returns 0, -EFBIG when size already exceeds max, -ENOMEM.
 */
int lc_buf_reserve(char **buf, size_t *alloc, size_t size, size_t max);

/* Reads up to max bytes from fd until end of file, as lc_read_file() does. */
int lc_read_fd(int fd, size_t max, char **ret, size_t *ret_size);

/*
 * Replaces path with data atomically and durably: after a power cut the file holds either the old
 * or the new content, never a mix. The temporary file lives beside path.
 */
int lc_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Writes all len bytes of data to fd, retrying short writes and EINTR. */
int lc_write_all(int fd, const void *data, size_t len);

/* Fsyncs the directory at path so that entries created or renamed in it are durable. */
int lc_fsync_dir(const char *path);

/* Creates path and its missing parents with mode; an existing directory is not an error. */
int lc_mkdir_p(const char *path, mode_t mode);

/* The directory part of path as a new string: "." when it has none, "/" for a file in the root.
 * NULL on allocation failure. */
char *lc_path_dirname(const char *path);

/*
 * Returns root + path as a new string (NULL on allocation failure). A root of NULL, "" or "/"
 * returns a copy of path; used to resolve /proc, /sys, /dev and /etc against `sysroot`.
 */
char *lc_path_prefix(const char *root, const char *path);
