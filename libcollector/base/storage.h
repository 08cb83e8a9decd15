/* SPDX-License-Identifier: MIT */
/*
 * Storage faults as episodes: an episode begins with the first failed write of a kind (a spool
 * commit, the hours ledger) and ends when a write of that kind succeeds again. Whoever owns the
 * write keeps one lc_storage_fault, logs when an episode begins, changes cause, or ends (not at
 * every retry), and `faultctl status` shows it. See docs/spool.md, "Storage faults".
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

/* How the state directory's storage behaves, least serious first. */
enum lc_storage_state {
	LC_STORAGE_OK,
	LC_STORAGE_LOW_SPACE, /* writes work, but the free-space limits evict or refuse entries */
	LC_STORAGE_ERROR,     /* writes fail for another reason (EIO, EACCES, ...) */
	LC_STORAGE_FULL,      /* writes fail with ENOSPC or EDQUOT: no blocks or no inodes left */
	LC_STORAGE_READ_ONLY, /* writes fail with EROFS */
	_LC_STORAGE_STATE_MAX,
};

struct lc_storage_fault {
	int error;	   /* -errno of the latest failure; 0: no episode */
	char op[32];	   /* what failed: "commit", "save", ... */
	char path[256];	   /* on what (shortened if longer) */
	uint64_t since_ms; /* Unix time in ms of the episode's first failure */
	uint64_t last_ms;  /* and of its latest */
	uint64_t failures; /* in this episode */
	bool logged;	   /* a failure of this episode was logged */
	/* CLOCK_MONOTONIC ms before which nothing more is logged, across episodes */
	uint64_t quiet_until;
};

/* The state a failure with error (-errno) puts storage in; 0 is LC_STORAGE_OK. */
enum lc_storage_state lc_storage_state_of(int error);

/* "ok", "low-space", "error", "full", "read-only"; NULL when out of range. */
const char *lc_storage_state_name(enum lc_storage_state s);

/*
 * Records a failure (error < 0) of op on path at now_ms (Unix time in ms) and mono_ms
 * (CLOCK_MONOTONIC ms). Returns true when it deserves a log line: its errno differs from the
 * previous failure's (an episode begins, or changes cause) or nothing of the episode was logged
 * yet, and no such line was logged in the last LC_STORAGE_LOG_INTERVAL_MS, so that a filesystem
 * hovering at full, failing and recovering at every write, does not flood the log either: an
 * episode that begins within that interval is logged at its first failure after it.
 */
#define LC_STORAGE_LOG_INTERVAL_MS 60000
bool lc_storage_fault_set(struct lc_storage_fault *f, int error, const char *op, const char *path,
			  uint64_t now_ms, uint64_t mono_ms);

/* A write succeeded: ends the episode. Returns true when a failure of it was logged: then log
 * the recovery too. */
bool lc_storage_fault_clear(struct lc_storage_fault *f);

/*
 * {"what": what, "state", "error": strerror text, "errno": n, "operation", "path", "since",
 * "last" (RFC 3339), "failures"}; NULL when no episode is going on, or on OOM.
 */
json_object *lc_storage_fault_to_json(const struct lc_storage_fault *f, const char *what);
