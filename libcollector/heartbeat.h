/* SPDX-License-Identifier: MIT */
/*
 * Heartbeats: the periodic linux-metric-report. This module drives the hours ledger (hours.h)
 * and the metric store (metrics.h) from the event loop: it restores both from
 * <state_dir>/hours.json, checkpoints them together every checkpoint period and at stop, and
 * closes a heartbeat each time the ledger says one is due, handing its metadata (the store's
 * aggregates and the hours) to a commit callback. A heartbeat begun under another software version
 * (an update happened) is closed as that version before anything else, so hours are never credited
 * to the wrong version.
 */
#pragma once

#include <json-c/json.h>
#include <stdint.h>
#include <uv.h>

#include "metrics.h"
#include "storage.h"

struct lc_heartbeat;

/* Commits a heartbeat's metadata (reference taken, also on failure) as recorded under
 * software_version. Returns 0 or -errno (the heartbeat is then lost, which the callee logs). */
typedef int (*lc_heartbeat_commit_t)(json_object *metadata, const char *software_version,
				     void *userdata);

struct lc_heartbeat_timing {
	uint64_t interval_ms;	/* heartbeat length in operating time */
	uint64_t checkpoint_ms; /* how often the ledger is saved */
	uint64_t window_ms;	/* crash window */
};

struct lc_heartbeat_options {
	uv_loop_t *loop;
	const char *state_dir;	      /* copied */
	const char *boot_id;	      /* the current boot */
	uint64_t boot_start_ms;	      /* CLOCK_MONOTONIC when it began (0 on a real system) */
	const char *software_version; /* the current version, copied */
	struct lc_heartbeat_timing timing;
	struct lc_metrics *metrics; /* borrowed, must outlive the heartbeat; NULL: hours only */
	/* Called as a heartbeat closes, before the store is: last readings go into the store,
	 * and the caller's own numbers (spool drops) into metrics. Optional. */
	void (*collect)(json_object *metrics, void *userdata);
	lc_heartbeat_commit_t commit;
	void *userdata;
	uint64_t (*now_ms)(void); /* CLOCK_MONOTONIC in ms; NULL for the real clock */
};

/*
 * Restores the ledger and the store (a missing file starts at zero; a damaged one is set aside
 * as hours.json.bad and restarted, logged; a damaged store alone is dropped, logged, keeping the
 * ledger) and resumes the ledger in the current boot. Timers start with
 * lc_heartbeat_start(). Returns 0 or -errno.
 */
int lc_heartbeat_new(const struct lc_heartbeat_options *o, struct lc_heartbeat **ret);

/* Closes a heartbeat left over from another software version, then any that is overdue, and
 * starts the timers. Returns 0 or -errno. */
int lc_heartbeat_start(struct lc_heartbeat *hb);

/* Applies new timing (configuration reload) and reschedules. */
void lc_heartbeat_set_timing(struct lc_heartbeat *hb, const struct lc_heartbeat_timing *t);

/* The software version changed (reload): the heartbeat in progress closes as the old one. */
void lc_heartbeat_set_software_version(struct lc_heartbeat *hb, const char *software_version);

/* A process crashed now / the previous boot ended unexpectedly; checkpointed at once.
 * Returns 0 or the checkpoint's -errno (the crash is counted in memory either way). */
int lc_heartbeat_crash(struct lc_heartbeat *hb);
int lc_heartbeat_unexpected_reboot(struct lc_heartbeat *hb);

/* Closes the heartbeat in progress now (`faultctl request-metrics`); an empty one (no operating
 * time, no crash, no reading) is not committed. Returns 0 or the commit's -errno. */
int lc_heartbeat_close_now(struct lc_heartbeat *hb);

/* {"operational_hours", "operational_crashfree_hours", "operational_crashes" of the heartbeat
 * in progress, "odometer_hours", "next_in_seconds", "last_checkpoint_error", "metrics": {"keys",
 * "readings", "over_key_cap", "rejected", "set_overflow"}}; NULL on OOM. */
json_object *lc_heartbeat_status(struct lc_heartbeat *hb);

/* The episode of failed saves of the ledger going on (error 0: none). */
const struct lc_storage_fault *lc_heartbeat_fault(const struct lc_heartbeat *hb);

/* Saves the ledger now. Returns 0 or -errno; failures are logged once per storage fault episode
 * (storage.h), its end too. */
int lc_heartbeat_checkpoint(struct lc_heartbeat *hb);

/* Checkpoints, stops the timers and frees hb once the loop has closed them. Accepts NULL. */
void lc_heartbeat_close(struct lc_heartbeat *hb);
