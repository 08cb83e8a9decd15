/* SPDX-License-Identifier: MIT */
/*
 * Heartbeats: the periodic linux-metric-report. This module drives the hours ledger (hours.h)
 * and the metric store (metrics.h) from the event loop: it restores both from
 * <state_dir>/hours.json, checkpoints them together (often early in a boot, then every checkpoint
 * period, and at stop), and rolls over to the next heartbeat each time an hours interval ends,
 * handing the metadata of the one that ended (the store's aggregates and the hours) to a commit
 * callback. Before any interval rolls over, the caller hands over the crashes waiting to be
 * counted (before_roll), so each lands in the interval it happened in. An interval begun under
 * another software version (an update happened) ends where that version stopped running and is
 * reported as that version.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "metrics.h"
#include "storage.h"

struct lc_heartbeat;

/* The metrics of a heartbeat whose interval holds a failure of kind K (docs/hours.md): the
 * failures of K counted, and its K-failure-free hours (0). A heartbeat without K has neither. */
#define LC_HEARTBEAT_FAILURES_PREFIX	"operational_failures/"
#define LC_HEARTBEAT_FAILUREFREE_PREFIX "operational_failurefree_hours/"

/* Commits a heartbeat's metadata (reference taken, also on failure) as recorded under
 * software_version. Returns 0 or -errno (the heartbeat is then lost, which the callee logs). */
typedef int (*lc_heartbeat_commit_t)(json_object *metadata, const char *software_version,
				     void *userdata);

struct lc_heartbeat_timing {
	uint64_t interval_ms;	/* heartbeat length in operating time */
	uint64_t checkpoint_ms; /* how often the ledger is saved, once the boot is that old */
};

struct lc_heartbeat_options {
	uv_loop_t *loop;
	const char *state_dir;	      /* copied */
	const char *boot_id;	      /* the current boot */
	uint64_t boot_start_ms;	      /* CLOCK_MONOTONIC when it began (0 on a real system) */
	const char *software_version; /* the current version, copied */
	bool collecting;	      /* data collection is on */
	struct lc_heartbeat_timing timing;
	struct lc_metrics *metrics; /* borrowed, must outlive the heartbeat; NULL: hours only */
	/* Called as a heartbeat rolls over, before the store does: last readings go into the store,
	 * and the caller's own numbers (spool drops) into metrics. Optional. */
	void (*collect)(json_object *metrics, void *userdata);
	/* Called before an interval rolls over: the caller counts the crashes waiting for it with
	 * lc_heartbeat_crash() (no interval rolls over inside it). Optional. */
	void (*before_roll)(void *userdata);
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

/* Counts the waiting crashes (before_roll), ends the interval left over from another software
 * version, then rolls over any that is overdue, and starts the timers. Returns 0 or -errno. */
int lc_heartbeat_start(struct lc_heartbeat *hb);

/* Applies new timing (configuration reload) and reschedules. */
void lc_heartbeat_set_timing(struct lc_heartbeat *hb, const struct lc_heartbeat_timing *t);

/* The software version changed (reload): the waiting crashes are counted, then the interval in
 * progress ends now as the old version. */
void lc_heartbeat_set_software_version(struct lc_heartbeat *hb, const char *software_version);

/* Data collection was turned on or off. Turned on, the interval in progress starts afresh now:
 * nothing from before consent is reported. */
void lc_heartbeat_set_collecting(struct lc_heartbeat *hb, bool on);

/* The software version that was running when the previous boot ended, when this is the first
 * start in a new boot and the ledger knew it; NULL otherwise. */
const char *lc_heartbeat_ended_boot_version(const struct lc_heartbeat *hb);

/* A process crashed in boot boot_id at its CLOCK_MONOTONIC mono_ms (boot_id NULL: now), or the
 * previous boot ended unexpectedly; checkpointed at once. Returns 0 or the checkpoint's -errno
 * (the crash is counted in memory either way). */
int lc_heartbeat_crash(struct lc_heartbeat *hb, const char *boot_id, uint64_t mono_ms);
int lc_heartbeat_unexpected_reboot(struct lc_heartbeat *hb);

/*
 * A failure of kind (failure-kind.h) happened now: the interval in progress is K-failure time.
 * *ret_counted_as, if not NULL, receives the kind it was counted under (LC_FAILURE_KIND_OTHER
 * beyond the ledger's cap on kinds; valid until the ledger changes). Checkpointed at once when it
 * is the interval's first of that kind. Returns 0; -EINVAL for a bad kind (nothing counted); or
 * the checkpoint's -errno (the failure is counted in memory).
 */
int lc_heartbeat_failure(struct lc_heartbeat *hb, const char *kind, const char **ret_counted_as);

/* Reports the metrics gathered since the last report now (`faultctl request-metrics`), without
 * ending the hours interval: the report's hours are zero, and the interval's come whole with the
 * heartbeat that ends it. Nothing is committed when no operating time passed and nothing was read
 * since the last report. Returns 1 when a report was committed, 0 when there was none, or the
 * commit's -errno. */
int lc_heartbeat_report_now(struct lc_heartbeat *hb);

/* Operating time until the interval in progress ends. */
uint64_t lc_heartbeat_next_in_ms(struct lc_heartbeat *hb);

/* {"operational_hours", "operational_crashfree_hours", "operational_crashes" of the heartbeat
 * in progress, "operational_failures": {KIND: count} when it holds failures, "odometer_hours",
 * "next_in_seconds", "last_checkpoint_error", "metrics": {"keys", "readings", "over_key_cap",
 * "rejected", "set_overflow"}}; NULL on OOM. */
json_object *lc_heartbeat_status(struct lc_heartbeat *hb);

/* The episode of failed saves of the ledger going on (error 0: none). */
const struct lc_storage_fault *lc_heartbeat_fault(const struct lc_heartbeat *hb);

/* Saves the ledger now. Returns 0 or -errno; failures are logged once per storage fault episode
 * (storage.h), its end too. */
int lc_heartbeat_checkpoint(struct lc_heartbeat *hb);

/* Checkpoints, stops the timers and frees hb once the loop has closed them. Accepts NULL. */
void lc_heartbeat_close(struct lc_heartbeat *hb);
