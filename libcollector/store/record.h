/* SPDX-License-Identifier: MIT */
/*
 * Records: an entry's manifest as spec/device-api.md draws it (collection time, device,
 * producer, type, metadata), committed to the spool. Also the boot facts every manifest carries
 * and the typing of `faultctl write-attributes` values.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "identity.h"
#include "spool.h"

/* The three clocks of a manifest's collection_time, sampled together. */
struct lc_clock_sample {
	uint64_t realtime_ms;  /* CLOCK_REALTIME, Unix time */
	uint64_t monotonic_ms; /* CLOCK_MONOTONIC: uptime_ms */
	uint64_t boottime_ms;  /* CLOCK_BOOTTIME: elapsed_realtime_ms */
};

void lc_clock_sample_now(struct lc_clock_sample *ret);

struct lc_boot_info {
	char boot_id[37];      /* lowercase UUID */
	char prev_boot_id[37]; /* the boot before it that this state directory saw, or "" */
	uint64_t boot_count;   /* boots seen by this state directory, the first one is 0 */
	bool new_boot;	       /* the boot id differs from the one persisted before */
	bool first_boot;       /* nothing was persisted before: the state directory is new */
	uint64_t start_ms;     /* CLOCK_MONOTONIC when the boot began: now less
				* <sysroot>/proc/uptime, at least 0 (so 0 on a real system, whose
				* uptime includes suspend) */
};

/*
 * Reads <sysroot>/proc/sys/kernel/random/boot_id, <sysroot>/proc/uptime and
 * <state_dir>/boot.json, and persists the count, incremented when the boot id changed, with the
 * previous boot id. An unreadable boot id is replaced by one made for this boot and kept in
 * <sysroot>/run/faultd/boot_id (logged; random for this run if that cannot be written); a
 * damaged boot.json restarts the count (logged). Returns 0, or -errno when out of memory or when
 * no boot id can be read, kept or made (logged).
 */
int lc_boot_info_load(const char *sysroot, const char *state_dir, struct lc_boot_info *ret);

/* As lc_boot_info_load(), but writes nothing: for faultd-core-handler, which must not take the
 * news of a new boot from faultd. The count is the one faultd will persist. */
int lc_boot_info_peek(const char *sysroot, const char *state_dir, struct lc_boot_info *ret);

/* What every manifest says about the device and the producer (all borrowed). */
struct lc_record_context {
	const struct lc_identity *identity;
	const char *project_key;
	const struct lc_boot_info *boot;
	const char *os_version; /* the kernel release */
};

/* Returns the manifest for an entry of type with metadata (reference taken, also on failure),
 * or NULL on allocation failure. */
json_object *lc_manifest_new(const struct lc_record_context *ctx, const struct lc_clock_sample *t,
			     const char *type, json_object *metadata);

/*
 * Commits an entry without attachments to the spool: its manifest built from ctx, t, type and
 * metadata (reference taken, also on failure). *ret_uuid (37 bytes), if not NULL, receives the
 * entry's UUID. Returns 0 or the spool's -errno (-ENOSPC: refused by the limits, counted).
 */
int lc_record_commit(struct lc_spool *s, const struct lc_record_context *ctx,
		     const struct lc_clock_sample *t, const char *type, json_object *metadata,
		     char *ret_uuid);

/*
 * As lc_record_commit(), for an entry named uuid (lc_spool_txn_begin_uuid()) with one attachment,
 * name, holding the len bytes of fd from offset 0 (read with pread(): fd stays the caller's and
 * its offset is untouched). Returns 0, -EEXIST when the spool already holds an entry named uuid
 * (nothing is committed), or the spool's -errno.
 */
int lc_record_commit_file(struct lc_spool *s, const struct lc_record_context *ctx,
			  const struct lc_clock_sample *t, const char *type, json_object *metadata,
			  const char *uuid, const char *name, int fd, uint64_t len);

#define LC_ATTRIBUTE_KEY_MAX   128
#define LC_ATTRIBUTE_VALUE_MAX 1024

/*
 * Parses "KEY=VALUE" into a device-attributes item {"string_key": KEY, "value": V}. VALUE becomes
 * a bool for true/false, a number when it is a JSON number (an integer only within 64 bits, so
 * no digit is lost), else a string; a value in double quotes is always the string inside them. KEY
 * is 1-128 of [A-Za-z0-9_.:/-], VALUE at most 1024 bytes of printable UTF-8 without control
 * characters. Returns 0 or -EINVAL with *ret_why, a static phrase.
 */
int lc_attribute_parse(const char *assignment, json_object **ret, const char **ret_why);
