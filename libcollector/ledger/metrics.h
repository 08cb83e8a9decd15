/* SPDX-License-Identifier: MIT */
/*
 * The metric store: readings aggregated on the device into the heartbeat in progress, so that a
 * heartbeat carries one number per aggregate instead of raw samples (docs/metrics.md).
 *
 *  - counter:   the sum of the heartbeat's readings, reported as "<key>";
 *  - gauge:     the last reading as "<key>", and where configured "<key>.min", "<key>.mean" and
 *               "<key>.max" of the heartbeat's readings; a delta (statsd "+3") moves the last
 *               value, which a gauge keeps across heartbeats for that purpose;
 *  - histogram: "<key>.count", "<key>.sum", "<key>.min", "<key>.max", "<key>.mean" (statsd
 *               timers and distributions are histograms);
 *  - set:       the number of distinct members, as "<key>" (members are kept as 64-bit hashes,
 *               at most max_set_members in all sets together; beyond, counts stop growing and
 *               the excess is counted as overflow).
 *
 * Keys are [A-Za-z0-9_./-]{1,LC_METRIC_KEY_MAX}; any other byte becomes '_'. Histogram keys are
 * at most LC_METRIC_KEY_MAX - 6 bytes, so that "<key>.count" still is a key. The names the
 * heartbeat holds itself (operational_hours, operational_crashfree_hours, operational_crashes,
 * operational_failures/..., operational_failurefree_hours/... and faultd/...) are refused. A key
 * keeps the kind of its first reading in a heartbeat; a reading of another kind is rejected. At
 * most max_keys distinct keys: readings of further keys are counted, not stored. A key with no
 * reading in a heartbeat is not reported in it; a gauge's last value survives one heartbeat without
 * readings as the base for deltas, then goes.
 *
 * The store is pure: no clock, no I/O. The heartbeat module saves it with the hours ledger
 * (lc_metrics_to_json) so a crash loses at most one checkpoint period of readings.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metric-kind.h"

/* "counter", "gauge", "histogram", "set"; NULL for an invalid kind. */
const char *lc_metric_kind_name(enum lc_metric_kind kind);

/* The kind named by s (the names above, plus statsd's "c", "g", "ms", "h", "d", "s" and "timer");
 * -EINVAL when none. */
int lc_metric_kind_parse(const char *s, enum lc_metric_kind *ret);

/* A reading written as text, "NAME=VALUE[:KIND]" (`faultctl write-metric`). */
struct lc_metric_assignment {
	const char *key; /* into the parsed string */
	size_t key_len;
	enum lc_metric_kind kind; /* gauge when not given */
	double value;		  /* all kinds but sets */
	const char *member;	  /* sets: VALUE, into the parsed string */
	size_t member_len;
};

/* Parses s into *ret (pointing into s). KIND is a kind name or alias; VALUE is a finite number
 * except for sets, whose VALUE is the member. Returns 0 or -EINVAL with *ret_why (static). */
int lc_metric_assignment_parse(const char *s, struct lc_metric_assignment *ret,
			       const char **ret_why);

struct lc_metrics_limits {
	size_t max_keys;	/* distinct keys in a heartbeat, >= 1 */
	size_t max_set_members; /* distinct members remembered in all sets, >= 1 */
};

/* Counts of readings the store did not take, since the heartbeat began. */
struct lc_metrics_counters {
	uint64_t readings;     /* taken */
	uint64_t over_key_cap; /* of a new key when max_keys were already in use */
	uint64_t rejected;     /* bad key, value not finite, kind differing from the key's */
	uint64_t set_overflow; /* members beyond max_set_members */
};

struct lc_metrics;

/* A new, empty store. Returns 0 or -ENOMEM. */
int lc_metrics_new(const struct lc_metrics_limits *limits, struct lc_metrics **ret);

/* Frees m; accepts NULL and returns NULL. */
struct lc_metrics *lc_metrics_free(struct lc_metrics *m);

/* New limits (configuration reload); keys already in use beyond a lower max_keys stay until the
 * heartbeat closes. */
void lc_metrics_set_limits(struct lc_metrics *m, const struct lc_metrics_limits *limits);

/* Patterns (fnmatch(3), borrowed until changed; NULL-terminated, NULL for none) of gauge keys
 * that also report min, mean and max. */
void lc_metrics_set_gauge_stats(struct lc_metrics *m, const char *const *patterns);

/*
 * Records a reading of key (key_len bytes, not necessarily terminated) as kind, which must not be
 * LC_METRIC_SET. Returns 0; -EINVAL for an empty or over-long key, a value that is not finite or
 * a kind differing from the key's (counted as rejected); -ENOSPC over the key cap (counted);
 * -ENOMEM.
 */
int lc_metrics_add(struct lc_metrics *m, const char *key, size_t key_len, enum lc_metric_kind kind,
		   double value);

/* Moves gauge key's last value by delta (from 0 for a new key), as a reading. Returns as
 * lc_metrics_add(). */
int lc_metrics_gauge_delta(struct lc_metrics *m, const char *key, size_t key_len, double delta);

/* Adds member (member_len bytes) to set key. Returns as lc_metrics_add(); a member beyond
 * max_set_members is counted as overflow and still returns 0. */
int lc_metrics_set_add(struct lc_metrics *m, const char *key, size_t key_len, const char *member,
		       size_t member_len);

/* The kind of key in the heartbeat in progress: 0, or -ENOENT when it has no reading yet. */
int lc_metrics_kind_of(const struct lc_metrics *m, const char *key, size_t key_len,
		       enum lc_metric_kind *ret);

/* Distinct keys in use now. */
size_t lc_metrics_n_keys(const struct lc_metrics *m);

/* The counters of the heartbeat in progress. */
void lc_metrics_counters(const struct lc_metrics *m, struct lc_metrics_counters *ret);

/* Adds the heartbeat's aggregates to metrics (a JSON object of numbers, as in the heartbeat's
 * "metrics"), and "faultd/metrics_over_key_cap", "faultd/metrics_rejected" and
 * "faultd/metrics_set_overflow" when not zero; a name already in metrics or longer than
 * LC_METRIC_KEY_MAX (a gauge's ".mean") is left out and counted as rejected. Then rolls over to a
 * new heartbeat: readings and counters are cleared, gauges keep their last value for deltas.
 * Returns 0 or -ENOMEM (the store is then left unchanged). */
int lc_metrics_roll(struct lc_metrics *m, json_object *metrics);

/* The whole state (aggregates, set hashes, gauge bases, counters) as JSON; NULL on OOM. */
json_object *lc_metrics_to_json(const struct lc_metrics *m);

/* Replaces m's state with o's. A malformed o leaves m empty and returns -EINVAL with *ret_why
 * (static); keys beyond the limits are dropped and counted as over the cap. */
int lc_metrics_from_json(struct lc_metrics *m, json_object *o, const char **ret_why);
