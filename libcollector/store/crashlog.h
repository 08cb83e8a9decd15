/* SPDX-License-Identifier: MIT */
/*
 * The crash log: crashes faultd-core-handler saw, waiting for faultd to count them. Each is one
 * small JSON file in <state_dir>/crashes/, written atomically by the handler; faultd drains the
 * directory at start and whenever the handler pokes it (control command "crash-reported"), so a
 * crash is counted even when faultd was not running at the time, or was the process that crashed.
 * See docs/coredumps.md.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coredump-names.h"
#include "spool.h"

#define LC_CRASH_LOG_MAX 256 /* pending reports; beyond, new ones are refused (-ENOSPC) */

/* What became of the core: one of these words. */
#define LC_CRASH_CORE_STORED	   "stored"
#define LC_CRASH_CORE_RATE_LIMITED "rate-limited"
#define LC_CRASH_CORE_NO_CONSENT   "consent-off"
#define LC_CRASH_CORE_SAMPLING	   "sampling"
#define LC_CRASH_CORE_NO_SPACE	   "no-space"
#define LC_CRASH_CORE_FAILED	   "failed"
#define LC_CRASH_CORE_DISABLED	   "disabled"
#define LC_CRASH_CORE_DUPLICATE	   "duplicate"	/* its signature has its cores for this version */
#define LC_CRASH_CORE_LOOP	   "crash-loop" /* the process is in a crash loop */
#define LC_CRASH_CORE_FILTERED	   "filtered"	/* a coredump.filters rule left it out */

#define LC_CRASH_FRAMES		   5  /* top frames of the crashing thread a report carries */
#define LC_CRASH_FRAME_CHARS	   96 /* each one at most this long, with its NUL */

struct lc_crash_report {
	char process[64]; /* the crashed process's comm, printable ASCII ("?" for others) */
	uint32_t pid;	  /* in the initial pid namespace */
	int signal;
	uint64_t time_ms; /* Unix time in ms of the crash */
	/* When and under what it happened, for the hours ledger: the boot, CLOCK_MONOTONIC in that
	 * boot, and the software version (each empty or 0 in reports of older handlers). */
	char boot_id[37];
	uint64_t mono_ms;
	char software_version[129];
	char core[16];	/* LC_CRASH_CORE_* */
	char entry[37]; /* UUID of the elf-coredump entry, or "" */
	/* From the on-device stack trace (all empty when there is none): its linux-stacktrace
	 * entry, the signature of the crashing thread's top frames (16 hex digits) and those
	 * frames as text ("libfoo.so!func", "prog+0x1234"). */
	char trace_entry[37];
	char signature[17];
	char frames[LC_CRASH_FRAMES][LC_CRASH_FRAME_CHARS];
	/* Non-zero when this crash made its process a crash loop: the crashes of that executable
	 * within coredump.loop_minutes, this one included. */
	uint32_t loop_crashes;
	/* Spool drops the handler counted but could not write to drops.json (a full filesystem):
	 * faultd adds them to its own. */
	uint32_t drops[_LC_CLASS_MAX][_LC_DROP_MAX];
};

/* {"process", "pid", "signal", "time_ms", "boot_id", "monotonic_ms", "software_version", "core",
 * "entry"[, "trace_entry", "signature", "frames": [...]][, "loop_crashes"][, "unsaved_drops":
 * {CLASS: {REASON: n}}]}; NULL on OOM. */
json_object *lc_crash_report_to_json(const struct lc_crash_report *r);

/* The reverse; unknown classes and reasons in unsaved_drops are ignored, and boot_id,
 * monotonic_ms, software_version, the trace's members and loop_crashes may be absent (older
 * handlers). A signature that is not 16 hex digits is refused. Returns 0 or -EBADMSG. */
int lc_crash_report_from_json(json_object *o, struct lc_crash_report *ret);

/* Appends r to the crash log under state_dir (creating crashes/ if needed). Returns 0, -ENOSPC
 * when LC_CRASH_LOG_MAX reports are already waiting, or -errno. */
int lc_crash_log_append(const char *state_dir, const struct lc_crash_report *r);

typedef void (*lc_crash_log_fn)(const struct lc_crash_report *r, void *userdata);

/*
 * Calls fn for each waiting report, oldest first. Each report is removed just before fn gets it:
 * the removal is what makes two drains at once count it once (a faultd killed in between loses
 * that one report). A file that is not a valid report is removed with a warning. Returns how many
 * reports fn got, or -errno when the directory cannot be read (a missing one is 0).
 */
int lc_crash_log_drain(const char *state_dir, lc_crash_log_fn fn, void *userdata);
