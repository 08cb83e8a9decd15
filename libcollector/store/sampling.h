/* SPDX-License-Identifier: MIT */
/*
 * Fleet sampling: the server's device configuration decides which entry types a device records
 * (spec/device-api.md, "Device configuration"). The last configuration fetched is cached on flash
 * so a device that starts offline keeps its fleet's choice.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spool.h"

enum lc_resolution {
	LC_RES_OFF,
	LC_RES_LOW,
	LC_RES_NORMAL,
	LC_RES_HIGH,
};

struct lc_sampling {
	enum lc_resolution debugging, logging, monitoring;
	int64_t revision;	    /* -1: never fetched */
	int64_t completed;	    /* -1: null */
	int64_t confirmed_revision; /* the revision a device-config entry confirmed; -1: none */
	/* data.config.memfault.data_upload_start_date, Unix ms: entries recorded before it are
	 * not uploaded (reboots and device-config entries are); 0: none. */
	int64_t upload_start_ms;
};

/* Before any fetch: "normal" everywhere, so a new device records what a default fleet wants. */
void lc_sampling_default(struct lc_sampling *ret);

const char *lc_resolution_name(enum lc_resolution r);

/*
 * Parses the server's reply to POST /api/v0/device-config, untrusted: at most len bytes, the
 * object {"data": {"config": {"memfault": {"sampling": {...}}}, "revision": int,
 * "completed": int|null}}. A missing or unknown resolution counts as "normal"; a wrong type is an
 * error. confirmed_revision is copied from prev. Returns 0, or -EBADMSG with *ret_why (static).
 */
int lc_sampling_parse_reply(const char *body, size_t len, const struct lc_sampling *prev,
			    struct lc_sampling *ret, const char **ret_why);

/* Reads the cache at path; a missing or damaged one gives the default (damage is logged). */
void lc_sampling_load(const char *path, struct lc_sampling *ret);

/* Writes the cache at path atomically. Returns 0 or -errno. */
int lc_sampling_save(const char *path, const struct lc_sampling *s);

/* Whether entries of class c are recorded: reboots and device-config always; metrics and
 * attributes need monitoring >= normal; log files logging >= normal; core files debugging >=
 * normal. Developer mode acts as "high" everywhere. */
bool lc_sampling_allows(const struct lc_sampling *s, enum lc_entry_class c, bool dev_mode);

/* Whether the uploader sends an entry of class c recorded at created_ms: not one recorded before
 * the fleet's data_upload_start_date, unless it is a reboot or a device-config entry. */
bool lc_sampling_upload_allows(const struct lc_sampling *s, enum lc_entry_class c,
			       uint64_t created_ms);

/* Parses an RFC 3339 date and time ("2026-03-25T00:00:00Z", fractions and ±hh:mm offsets too)
 * into Unix ms. Returns 0 or -EINVAL. */
int lc_rfc3339_parse_ms(const char *s, int64_t *ret);

/* Whether a device-config entry must confirm the fetched revision: the server says it is not
 * completed and no entry confirmed it yet. */
bool lc_sampling_needs_confirmation(const struct lc_sampling *s);
