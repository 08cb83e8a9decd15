/* SPDX-License-Identifier: MIT */
/*
 * collectd's write_http JSON (Format "JSON") turned into metric readings, free of the plugin API
 * so that tests link it alone. A body is an array of value lists:
 *
 *   [{"values":[1901474177],"dstypes":["counter"],"dsnames":["value"],"time":1280959128.000,
 *     "interval":10.000,"host":"leeloo","plugin":"cpu","plugin_instance":"0","type":"cpu",
 *     "type_instance":"idle","meta":{"k":"v"}}]
 *
 * Each data source becomes one reading keyed plugin[/plugin_instance]/type[/type_instance][/dsname]
 * (empty or absent instances left out; the dsname left out when the list has a single data
 * source named "value"). A gauge is a gauge reading of its value. derive, counter and absolute
 * become counter readings of the increase during the interval, so the heartbeat's sum is the
 * total increase whatever write_http's StoreRates says:
 *  - store_rates (StoreRates true): the value is a per-second rate, the increase rate × interval;
 *  - raw values (StoreRates false): absolute is the increase itself; counter and derive are
 *    compared with the previous value of their key, kept in a bounded table: the first value is
 *    only a baseline, a counter below its previous value wrapped at 2^32 (or 2^64 when the
 *    previous value did not fit 32 bits) as collectd assumes, a derive below its previous value
 *    was reset and becomes the new baseline.
 * A null value (NaN for collectd) is skipped and counted. host, time and meta are checked for
 * type and otherwise ignored: the device is the host.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metric-kind.h"

/* Nesting json-c may follow, counting every value down to the innermost number: collectd's
 * bodies need 4 (the array, a value list, its "values", a number). */
#define COLLECTD_JSON_MAX_DEPTH 8
/* JSON values (containers included) in one body, bounding json-c's memory whatever the body. A
 * value list written by collectd holds about a dozen, so 1 MiB of them stays below this. */
#define COLLECTD_JSON_MAX_VALUES 65536
/* Data sources in one value list; collectd's types have at most a handful. */
#define COLLECTD_MAX_DS 64

/* The previous raw values of counter and derive data sources, by key. */
struct collectd_table;

/*
 * A new, empty table of at most max_entries keys; keys not seen for max_age_sec are pruned
 * (lazily, see collectd_table_prune()). Returns 0 or -ENOMEM.
 */
int collectd_table_new(size_t max_entries, uint64_t max_age_sec, struct collectd_table **ret);

/* Frees t; accepts NULL and returns NULL. */
struct collectd_table *collectd_table_free(struct collectd_table *t);

/* Keys in the table now. */
size_t collectd_table_size(const struct collectd_table *t);

/* Forgets keys last seen more than the table's max age before now_sec; returns how many. */
size_t collectd_table_prune(struct collectd_table *t, uint64_t now_sec);

/* What one body held, in value lists and values. */
struct collectd_result {
	uint64_t lists_accepted;   /* valid: their readings went to the callback */
	uint64_t lists_rejected;   /* malformed: ignored entirely */
	uint64_t values_nan;	   /* null values, skipped */
	uint64_t values_baseline;  /* first raw counter/derive value of a key: kept, no reading */
	uint64_t values_reset;	   /* derive below its previous value, or a negative rate */
	uint64_t values_untracked; /* raw counter/derive of a new key while the table was full */
	char first_error[192];	   /* why the first rejected list was rejected; "" when none */
};

/* Receives one reading; key is key_len bytes, not terminated, valid during the call. */
typedef void (*collectd_reading_cb_t)(void *userdata, const char *key, size_t key_len,
				      enum lc_metric_kind kind, double value);

/*
 * Parses body (len bytes) and calls cb for every reading of every valid value list, updating t
 * (raw mode) with now_sec as the time keys were seen. A malformed value list is counted in
 * *ret and skipped; the others are kept. Returns 0 with *ret filled when the body is a JSON
 * array; -EINVAL with why (why_size bytes) when it is not JSON, not an array, nested deeper than
 * COLLECTD_JSON_MAX_DEPTH, holds more than COLLECTD_JSON_MAX_VALUES values or an integer outside
 * [-2^63, 2^64) (which json-c would silently clamp); -ENOMEM.
 */
int collectd_parse_body(const char *body, size_t len, bool store_rates, struct collectd_table *t,
			uint64_t now_sec, collectd_reading_cb_t cb, void *userdata,
			struct collectd_result *ret, char *why, size_t why_size);

/* Returns the increase from old to new of a collectd counter that may have wrapped at 2^32 or
 * 2^64, as collectd itself computes it. */
uint64_t collectd_counter_diff(uint64_t old, uint64_t new);
