/* SPDX-License-Identifier: MIT */
/*
 * The hours ledger: how long the device has operated, and which of that time was crash-free, as
 * pure functions of CLOCK_MONOTONIC readings and of the persisted state. docs/hours.md gives the
 * semantics with worked examples; in short:
 *
 *  - The odometer counts operating time (CLOCK_MONOTONIC, so suspend is not operating) over the
 *    device's whole life. In each boot it counts from the boot's start, whether or not faultd was
 *    running, and only time up to the last checkpoint survives a power cut.
 *  - Operating time is cut into intervals of the heartbeat length, one after the other; an
 *    interval ends early only when the software version changes. An interval is reported once,
 *    when it ends.
 *  - A crash is placed at the odometer position of the moment it happened (its boot and the
 *    monotonic time in that boot). An interval holding a crash is crash time as a whole, so one
 *    crash costs one interval wherever it falls; an interval without one is crash-free.
 *  - A failure of a kind (failure-kind.h: a Wi-Fi disconnect, a sensor read error) is placed the
 *    same way, and an interval holding one of kind K is K-failure time as a whole.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "failure-kind.h"

/* Crash positions remembered ahead of the interval in progress; beyond, a crash is counted in the
 * interval in progress (never lost). */
#define LC_HOURS_CRASHES_MAX 256

/* The first checkpoint of a boot comes this soon after its start, then one every tenth of the
 * boot's age until that is the regular period: a device in a reboot loop keeps 90 % of its time. */
#define LC_HOURS_EARLY_CHECKPOINT_MS 10000ULL

/* Failure kinds the ledger holds at once (in the interval in progress and ahead of it); failures
 * of further kinds are counted under LC_FAILURE_KIND_OTHER, which takes one more place. */
#define LC_HOURS_FAILURE_KINDS_MAX 16

/* Failure positions remembered, all kinds together; beyond, a failure is counted in the interval
 * in progress (never lost), as a crash is. */
#define LC_HOURS_FAILURES_MAX 256

struct lc_hours_kind {
	char name[LC_FAILURE_KIND_MAX + 1];
	uint64_t unplaced; /* failures of it counted in the interval in progress, not placed */
};

struct lc_hours_failure {
	uint64_t pos;  /* odometer position, >= start_ms */
	unsigned kind; /* index in kinds */
};

/* How many failures of a kind a closed interval holds. */
struct lc_hours_failure_count {
	char kind[LC_FAILURE_KIND_MAX + 1];
	uint64_t count;
};

struct lc_hours {
	char boot_id[37];	   /* the boot whose time mono_ms refers to */
	uint64_t mono_ms;	   /* CLOCK_MONOTONIC up to which this boot's time is counted */
	uint64_t odometer_ms;	   /* operating time counted, ever */
	uint64_t boot_odometer_ms; /* the odometer when this boot's counting began */
	bool reboot_marked;	   /* the unexpected end of the boot before was counted */

	/* The interval in progress. */
	uint64_t start_ms; /* odometer at its start */
	uint64_t unplaced; /* crashes counted in it whose position could not be kept */
	uint64_t marks[LC_HOURS_CRASHES_MAX]; /* positions >= start_ms of crashes, ascending */
	unsigned n_marks;
	/* The kinds of the failures below and of the unplaced ones, none without either. */
	struct lc_hours_kind kinds[LC_HOURS_FAILURE_KINDS_MAX + 1];
	unsigned n_kinds;
	struct lc_hours_failure failures[LC_HOURS_FAILURES_MAX]; /* ascending by position */
	unsigned n_failures;
};

/* What a closed interval reports. */
struct lc_hours_report {
	uint64_t operational_ms;
	uint64_t crashfree_ms; /* operational_ms, or 0 when the interval holds a crash */
	uint64_t crashes;
	/* The kinds with at least one failure in the interval (its K-failure-free time is 0). */
	struct lc_hours_failure_count failures[LC_HOURS_FAILURE_KINDS_MAX + 1];
	unsigned n_failures;
};

/* A new ledger in boot boot_id, counting from the monotonic reading now_ms: a daemon installed on
 * a running device does not claim the time before it. */
void lc_hours_init(struct lc_hours *h, const char *boot_id, uint64_t now_ms);

/*
 * Continues a restored ledger in boot boot_id: in the same boot (faultd restarted) counting goes
 * on from mono_ms, so time faultd was not running still counts once; in a new boot it starts from
 * the boot's beginning, the monotonic reading boot_start_ms, and the time lost since the last
 * checkpoint stays lost.
 */
void lc_hours_resume(struct lc_hours *h, const char *boot_id, uint64_t boot_start_ms);

/* Counts operating time up to the monotonic reading now_ms (a reading before mono_ms counts
 * nothing). */
void lc_hours_advance(struct lc_hours *h, uint64_t now_ms);

/*
 * The odometer position of a moment: in the current boot (boot_id NULL or equal) the monotonic
 * reading mono_ms, clamped to the time this boot has counted; in any other boot the last counted
 * millisecond before this boot began.
 */
uint64_t lc_hours_position(const struct lc_hours *h, const char *boot_id, uint64_t mono_ms);

/* Counts a crash at odometer position pos (lc_hours_position()); one before the interval in
 * progress (its report came late) counts in the interval in progress. */
void lc_hours_crash(struct lc_hours *h, uint64_t pos);

/*
 * Counts a failure of kind (lc_failure_kind_valid()) at odometer position pos, placed as a crash
 * is; beyond LC_HOURS_FAILURE_KINDS_MAX kinds in the ledger it is counted under
 * LC_FAILURE_KIND_OTHER. *ret_counted_as, if not NULL, receives the kind it was counted under
 * (valid until the ledger changes). Returns 1 when that kind is new in the ledger (the interval
 * in progress had none of it: worth saving at once), 0 when not, -EINVAL for a bad kind (nothing
 * counted).
 */
int lc_hours_failure(struct lc_hours *h, const char *kind, uint64_t pos,
		     const char **ret_counted_as);

/*
 * The boot before this one ended unexpectedly: a crash at the last millisecond that boot counted.
 * Once per boot: a repeat (the reboot plugin deciding again after a restart) changes nothing.
 */
void lc_hours_unexpected_reboot(struct lc_hours *h);

/* The odometer reading at which the interval in progress ends: start + interval_ms. */
uint64_t lc_hours_due_ms(const struct lc_hours *h, uint64_t interval_ms);

/*
 * Where to roll over next when intervals are overdue (faultd was not running while the device
 * was), or 0 when the interval in progress has not ended. Overdue intervals without a crash or a
 * failure roll over together, one report for all of them; each one with a crash or failure alone.
 */
uint64_t lc_hours_next_roll(const struct lc_hours *h, uint64_t interval_ms);

/* Rolls over: ends the interval in progress at odometer position end_ms (clamped to [start,
 * odometer]), reports it with the crashes and failures placed before end_ms, and starts the next
 * one there. */
void lc_hours_roll(struct lc_hours *h, uint64_t end_ms, struct lc_hours_report *ret);

/* Forgets the interval in progress and starts a new one at the current odometer, counting no
 * crash and no failure: data collection was just turned on, and nothing before it is reported. */
void lc_hours_restart(struct lc_hours *h);

/* The report the interval in progress would give if closed now (for status). */
void lc_hours_peek(const struct lc_hours *h, struct lc_hours_report *ret);

/* How long after uptime_ms (time since the boot began) the next checkpoint is due, given the
 * regular period checkpoint_ms: early in a boot sooner (see LC_HOURS_EARLY_CHECKPOINT_MS). */
uint64_t lc_hours_checkpoint_delay_ms(uint64_t uptime_ms, uint64_t checkpoint_ms);

/* Persisted form; NULL on allocation failure. */
json_object *lc_hours_to_json(const struct lc_hours *h);

/* Restores from the persisted form (also the earlier ones: with crash windows, without
 * failures). Returns 0 or
 * -EINVAL (with *ret_why, static) when o is not a ledger or is inconsistent; *ret is untouched on
 * failure. */
int lc_hours_from_json(json_object *o, struct lc_hours *ret, const char **ret_why);
