/* SPDX-License-Identifier: MIT */
/*
 * <state_dir>/reboot/last.json: the reboot plugin's last decision, which makes it once per boot
 * and which `faultctl status` shows. It holds {"boot_id" (the boot that decided),
 * "previous_boot_id", "source", "reason" (as in a linux-reboot entry; absent for "first-boot"),
 * "decided_realtime_ms", "others" {source: what it said}, "entry" (UUID) or "not_recorded" (why),
 * and "reason_file" {"dev", "ino", "size", "mtime_ns"} when one was there}.
 */
#pragma once

#include <json-c/json.h>

#include "evidence.h"

#define REBOOT_LAST_FILE "last.json"

/* What to do at start-up. */
enum reboot_plan {
	REBOOT_PLAN_DONE,	/* last.json has this boot's decision: only show it */
	REBOOT_PLAN_FIRST_BOOT, /* the state directory is new: use up evidence, record nothing */
	REBOOT_PLAN_DECIDE,
};

/*
 * Decides whether this start decides: only when last.json (last; NULL when missing or damaged)
 * holds no decision for this boot, and history says a last.json existed at all (a damaged one
 * did). Also when boot is not new: then an earlier start in this boot stopped before writing
 * last.json, and deciding again from the same evidence gives at worst a duplicate entry, never
 * a lost one. Without history (no last.json) nothing watched the previous boot: first boot.
 */
enum reboot_plan reboot_plan(const struct lc_boot_info *boot, json_object *last, bool history);

/* Reads last.json. Returns 0 with *ret (owned), -ENOENT, or another -errno after logging why
 * (-EINVAL: damaged). */
int reboot_last_read(const char *state_dir, json_object **ret);

/* The boot id last.json names, or NULL. */
const char *reboot_last_boot_id(json_object *last);

/* The reason file's identity last.json remembers: 0, or -ENOENT when it has none. */
int reboot_last_reason_file(json_object *last, struct reboot_file_id *ret);

/*
 * Builds the content of last.json for a decision made at now_ms (d->source is
 * REBOOT_SRC_FIRST_BOOT when nothing was decided), with the entry's UUID, or why it was not
 * recorded (either may be NULL). Returns a new object, or NULL on allocation failure.
 */
json_object *reboot_last_new(const struct lc_boot_info *boot, const struct reboot_evidence *ev,
			     const struct reboot_decision *d, uint64_t now_ms,
			     const char *entry_uuid, const char *not_recorded);

/* Writes last atomically and durably as <state_dir>/reboot/last.json. Returns 0 or -errno. */
int reboot_last_write(const char *state_dir, json_object *last);

/*
 * What `faultctl status` shows: {"last_reason": "KernelPanic (0x8008)", "code": 32776 or
 * "name": "...", "unexpected": true, "source", "boot_id", "previous_boot_id", "decided_at"
 * (RFC 3339), "others", "entry" or "not_recorded"}; {"last_reason": null} without a decision.
 * Returns a new object, or NULL on allocation failure.
 */
json_object *reboot_last_status(json_object *last);
