/* SPDX-License-Identifier: MIT */
/*
 * The lines kept last, in memory, for faultd-core-handler to put into a crash's core
 * (docs/logs.md, "Lines before a crash"): a ring of the JSON lines the log file received, each
 * with the CLOCK_MONOTONIC millisecond it was kept, bounded by a number of lines and a number of
 * bytes; the oldest line gives way. Pure: no clock, no I/O, free of the plugin API.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The most bytes of lines a ring of the plugin holds: what a crash's core may receive
 * (LC_CRASH_LOGS_BYTES_MAX of control.h). */
#define LOGS_RECENT_BYTES_MAX (64 * 1024)

struct logs_recent;

/* A ring of at most max_lines lines (1 or more) and max_bytes bytes of them. Returns 0 or
 * -EINVAL/-ENOMEM. */
int logs_recent_new(size_t max_lines, size_t max_bytes, struct logs_recent **ret);

/* Frees r; accepts NULL and returns NULL. */
struct logs_recent *logs_recent_free(struct logs_recent *r);

/* Keeps a copy of the len bytes of line (a trailing '\n' is not kept), kept at mono_ms, dropping
 * the oldest lines as needed. A line longer than max_bytes is not kept but counted as skipped.
 * Allocates nothing (the ring's room is taken by logs_recent_new()): returns 0. */
int logs_recent_add(struct logs_recent *r, const char *line, size_t len, uint64_t mono_ms);

/* Forgets every line (data collection was withdrawn); accepts NULL. */
void logs_recent_clear(struct logs_recent *r);

/* Lines held, and lines not kept for their size. */
size_t logs_recent_lines(const struct logs_recent *r);
uint64_t logs_recent_skipped(const struct logs_recent *r);

typedef int (*logs_recent_cb_t)(const char *line, size_t len, void *userdata);

/*
 * Calls cb for the newest lines kept at or after since_ms, oldest first: at most max_lines of
 * them, and only as many of the newest as fit max_bytes together. Stops at cb's first negative
 * return and returns it; else returns the number of lines given.
 */
int logs_recent_select(const struct logs_recent *r, uint64_t since_ms, size_t max_lines,
		       size_t max_bytes, logs_recent_cb_t cb, void *userdata);
