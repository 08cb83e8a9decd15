/* SPDX-License-Identifier: MIT */
/*
 * Small helpers every libcollector file uses: scope-bound cleanup, ownership transfer and a few
 * attribute spellings. Nothing here allocates or logs.
 */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_       __attribute__((unused))
#define _noreturn_     __attribute__((noreturn))
#define _warn_unused_  __attribute__((warn_unused_result))
#define _likely_(x)    __builtin_expect(!!(x), 1)
#define _unlikely_(x)  __builtin_expect(!!(x), 0)

#define ARRAY_SIZE(a)  (sizeof(a) / sizeof((a)[0]))

/* <sys/param.h> defines the same two; keep whichever came first. */
#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

/* Returns the pointer held in *p and clears *p, so a _cleanup_ variable no longer frees it. */
#define TAKE_PTR(p)                         \
	({                                  \
		__typeof__(p) *_pp_ = &(p); \
		__typeof__(p) _v_ = *_pp_;  \
		*_pp_ = NULL;               \
		_v_;                        \
	})

/* Returns the descriptor held in fd and sets fd to -1. */
#define TAKE_FD(fd)                 \
	({                          \
		int *_pfd_ = &(fd); \
		int _f_ = *_pfd_;   \
		*_pfd_ = -1;        \
		_f_;                \
	})

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

/* Closes fd if it is valid, keeping errno, and returns -1 so callers can write fd = safe_close(fd).
 */
static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}

static inline void closep(int *fd)
{
	safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Frees a NULL-terminated array of strings and the array itself; accepts NULL, returns NULL. */
static inline char **strv_free(char **l)
{
	if (!l)
		return NULL;
	for (char **i = l; *i; i++)
		free(*i);
	free(l);
	return NULL;
}

/* Number of strings in a NULL-terminated array; 0 for NULL. */
static inline size_t strv_length(char *const *l)
{
	size_t n = 0;

	for (; l && l[n]; n++)
		;
	return n;
}

static inline void strv_freep(char ***l)
{
	strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* A negative errno value from errno itself, never 0 (a failing call that left errno 0 is EIO). */
static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

static inline bool streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return __builtin_strcmp(a, b) == 0;
}

#define streq(a, b) (__builtin_strcmp((a), (b)) == 0)
