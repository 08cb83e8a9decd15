/* SPDX-License-Identifier: MIT */
/*
 * What faultd-core-handler remembers of past crashes, across crashes, restarts and reboots, to
 * decide about the next one: per crash signature and software version, how many of its cores
 * are stored and how many crashes it had; per executable, the times of its recent crashes and
 * whether it is in a crash loop. One small JSON file, <state_dir>/coredump-crashes.json, read and
 * written under an flock so that simultaneous crashes count one by one. See docs/coredumps.md.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRASHDB_SIGNATURES 256 /* remembered signatures; the least recent are forgotten */
#define CRASHDB_PROCESSES  64  /* remembered executables; the least recent are forgotten */
#define CRASHDB_TIMES	   64  /* crash times remembered per executable (loop_count's max) */

/*
 * The crash-loop decision, a pure function. times (n of them, ascending Unix ms) are the
 * executable's remembered crashes, in_loop whether it was in a loop at the last one. A crash at
 * now_ms: the times older than window_ms are forgotten; a loop ends when the last crash is that
 * old. Returns what the crash is: 0 an ordinary crash, 1 the crash that makes a loop
 * (*ret_crashes: the crashes within the window, this one included, at least count), 2 a crash
 * inside a loop. times and *n are updated (this crash appended, the oldest dropped beyond
 * CRASHDB_TIMES), and *in_loop.
 */
int crashdb_loop_step(uint64_t *times, size_t *n, bool *in_loop, uint64_t now_ms,
		      uint64_t window_ms, unsigned count, uint32_t *ret_crashes);

struct crashdb;

/* Opens and locks the record under state_dir, waiting at most timeout_ms for another handler's
 * lock; a damaged record is started afresh (logged). Returns 0, -ETIMEDOUT or -errno. */
int crashdb_open(const char *state_dir, unsigned timeout_ms, struct crashdb **ret);

/* Records a crash of exe (its path, or its name when the path is unknown) at now_ms and returns
 * crashdb_loop_step()'s verdict for it. */
int crashdb_crash(struct crashdb *db, const char *exe, uint64_t now_ms, uint64_t window_ms,
		  unsigned count, uint32_t *ret_crashes);

/* Counts a crash of signature under software_version; returns the cores stored for it so far
 * (before this crash) in *ret_cores. */
int crashdb_signature(struct crashdb *db, const char *signature, const char *software_version,
		      uint64_t now_ms, uint32_t *ret_cores);

/* Counts a stored core of signature under software_version (after crashdb_signature()). */
void crashdb_core_stored(struct crashdb *db, const char *signature, const char *software_version);

/* Writes the record if it changed, unlocks and frees it. Returns 0 or -errno (the record is
 * freed either way). NULL is allowed. */
int crashdb_close(struct crashdb *db);
