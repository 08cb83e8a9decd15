/* SPDX-License-Identifier: MIT */
/*
 * The hours ledger: how long the device has operated, and which of that time was crash-free, as
 * pure functions of CLOCK_MONOTONIC readings and of the persisted state. docs/hours.md gives the
 * semantics with worked examples; in short:
 *
 *  - The odometer counts operating time (CLOCK_MONOTONIC, so suspend is not operating) over the
 *    device's whole life. In each boot it counts from the boot's start, whether or not faultd was
 *    running, and only time up to the last checkpoint survives a power cut.
 *  - Operating time is cut into crash windows of window_ms (an hour by default). A process crash
 *    marks the window the odometer is in; an unexpected reboot marks the window where the counted
 *    time of the boot that ended stops. A marked window is crash time, the rest is crash-free.
 *  - A heartbeat closes each time the odometer crosses a multiple of the heartbeat interval, so
 *    heartbeats and windows line up and one heartbeat can span several boots. It reports its
 *    operating time, the part of it in unmarked windows, and the crashes counted in it.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

/* Distinct crash positions remembered per heartbeat; beyond, every later window counts as
 * crash time (the conservative answer). */
#define LC_HOURS_CRASHES_MAX 256

struct lc_hours {
	char boot_id[37];	   /* the boot whose time mono_ms refers to */
	uint64_t window_ms;	   /* crash window length, > 0 */
	uint64_t mono_ms;	   /* CLOCK_MONOTONIC up to which this boot's time is counted */
	uint64_t odometer_ms;	   /* operating time counted, ever */
	uint64_t boot_odometer_ms; /* the odometer when this boot's counting began */
	bool reboot_marked;	   /* the unexpected end of the boot before was marked */

	/* The heartbeat in progress. */
	uint64_t start_ms;		      /* odometer at its start */
	uint64_t crashes;		      /* process crashes and unexpected reboots in it */
	uint64_t marks[LC_HOURS_CRASHES_MAX]; /* odometer positions of crashes, ascending */
	unsigned n_marks;
	bool overflow; /* marks ran out: windows from the last mark on are all crash time */
};

/* What a closed heartbeat reports. */
struct lc_hours_report {
	uint64_t operational_ms;
	uint64_t crashfree_ms;
	uint64_t crashes;
};

/* A new ledger with crash windows of window_ms (> 0) in boot boot_id, counting from the monotonic
 * reading now_ms: a daemon installed on a running device does not claim the time before it. */
void lc_hours_init(struct lc_hours *h, const char *boot_id, uint64_t window_ms, uint64_t now_ms);

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

/* A process crashed at the current odometer: counted, and its window is crash time. */
void lc_hours_crash(struct lc_hours *h);

/*
 * The boot before this one ended unexpectedly: counted, and the window where its counted time
 * stops is crash time. If that window was already reported (a heartbeat closed since), the
 * heartbeat in progress's first window is marked instead, so the crash is never lost. Once per
 * boot: a repeat (the reboot plugin deciding again after a restart) changes nothing.
 */
void lc_hours_unexpected_reboot(struct lc_hours *h);

/* The odometer reading at which the heartbeat in progress is due to close. */
uint64_t lc_hours_due_ms(const struct lc_hours *h, uint64_t interval_ms);

/* Closes the heartbeat in progress at the current odometer and starts the next one. */
void lc_hours_close(struct lc_hours *h, struct lc_hours_report *ret);

/* The report the heartbeat in progress would give if closed now (for status). */
void lc_hours_peek(const struct lc_hours *h, struct lc_hours_report *ret);

/* Persisted form; NULL on allocation failure. */
json_object *lc_hours_to_json(const struct lc_hours *h);

/* Restores from the persisted form. Returns 0 or -EINVAL (with *ret_why, static) when o is
 * not a ledger or is inconsistent; *ret is untouched on failure. */
int lc_hours_from_json(json_object *o, struct lc_hours *ret, const char **ret_why);
