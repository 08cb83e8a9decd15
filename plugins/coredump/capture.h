/* SPDX-License-Identifier: MIT */
/*
 * One capture by faultd-core-handler: what the kernel said about the crash, the process read
 * from /proc, consent, the fleet's sampling, the persistent rate limit and the spool's budget
 * decided, the core trimmed into an elf-coredump entry, and the crash left in the crash log for
 * faultd's hours ledger whatever became of the core. See docs/coredumps.md.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

/* What the kernel passes on the command line (%P %I %s %t %u %g). */
struct capture_request {
	pid_t pid; /* global pid */
	pid_t tid; /* global tid of the crashing thread */
	int signal;
	uint64_t time;	  /* Unix time of the dump, seconds */
	uint64_t mono_ms; /* CLOCK_MONOTONIC when the handler started, for the hours ledger */
	uid_t uid;
	gid_t gid;
	int core_fd;		 /* the core: the kernel's pipe, or a saved core file */
	const char *output;	 /* trim only into this file: no entry, no consent or limits, no
				  * crash report; NULL for a normal capture */
	const char *compression; /* overrides coredump.compression; NULL */
};

/* Captures the crash in req with cfg (the core and coredump sections). Returns 0 when the crash
 * was handled as the settings say (a core stored, or not stored by consent, sampling or the rate
 * limit), or -errno when capturing failed (logged). */
int capture_run(const struct lc_config *cfg, const struct capture_request *req);

/* The persistent rate limit's decision, a pure function: times (Unix ms, any order) are the
 * stored captures remembered; a capture at now_ms is allowed when fewer than count of them lie
 * in (now_ms - interval_ms, now_ms]. Times in the future (a clock set back) do not count. */
bool capture_rate_allows(const uint64_t *times, size_t n, uint64_t now_ms, uint64_t interval_ms,
			 unsigned count);
