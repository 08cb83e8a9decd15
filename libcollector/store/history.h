/* SPDX-License-Identifier: MIT */
/*
 * The device's history: what happened to it across boots (its boots with the reason each previous
 * one ended, crashes, crash loops, software updates and boot loops), one JSON object a line in
 * <state_dir>/history.jsonl, for `faultctl timeline` and `faultctl crashes` and for deciding boot
 * loops. Local only: nothing here is uploaded. The file is bounded: appending is one write of a
 * line, and a line that would take the file past max_bytes rewrites it atomically with the newest
 * events only. A torn last line (a power cut while appending) and damaged lines are skipped.
 * Parsing, formatting and the decisions are pure; only lc_history_load() and lc_history_append()
 * touch the filesystem. See docs/timeline.md.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crashlog.h"
#include "reboot.h"

#define LC_HISTORY_FILE "history.jsonl"

enum lc_history_kind {
	LC_HISTORY_BOOT,       /* a boot began; the reason the previous one ended */
	LC_HISTORY_CRASH,      /* a process crashed (a report of faultd-core-handler) */
	LC_HISTORY_CRASH_LOOP, /* that crash made its process a crash loop */
	LC_HISTORY_UPDATE,     /* the software version differs from the previous boot's */
	LC_HISTORY_BOOT_LOOP,  /* loop_count unexpected reboots within loop_minutes */
	_LC_HISTORY_KIND_MAX,
};

/* One event. Members a kind does not use are zero/empty. */
struct lc_history_event {
	enum lc_history_kind kind;
	uint64_t time_ms;	    /* Unix time in ms: a boot's start, a crash's time */
	char boot_id[37];	    /* the boot it happened in */
	char software_version[129]; /* boot: this boot's; update: the new one; crash: crashed under
				     */
	/* boot */
	bool has_reason; /* false for the first boot the state directory saw */
	struct lc_reboot_reason reason;
	bool unexpected;
	bool boot_loop;
	/* update */
	char from_version[129];
	/* crash, crash-loop */
	char process[64];
	uint32_t pid;
	int signal;
	char core[16];	/* LC_CRASH_CORE_* */
	char entry[37]; /* the elf-coredump entry, or "" */
	char trace_entry[37];
	char signature[17];
	char frames[LC_CRASH_FRAMES][LC_CRASH_FRAME_CHARS];
	/* crash-loop: its crashes in the window; boot-loop: the unexpected reboots */
	uint32_t count;
	uint32_t minutes; /* boot-loop: the window */
};

struct lc_history_limits {
	size_t max_events; /* events kept by a rewrite, and returned by a load */
	size_t max_bytes;  /* the file's size that makes an append rewrite it */
};

#define LC_HISTORY_MAX_EVENTS 256
#define LC_HISTORY_MAX_BYTES  (128 * 1024)
#define LC_HISTORY_LINE_MAX   4096 /* longer lines are damage */

/* The events read from the file, oldest first. */
struct lc_history {
	struct lc_history_event *events;
	size_t n;
	size_t damaged; /* lines skipped as not an event, the torn last one not counted */
	bool torn;	/* the last line had no newline: an append cut short */
};

/* "boot", "crash", "crash-loop", "update", "boot-loop". */
const char *lc_history_kind_name(enum lc_history_kind k);

/* The line's object: {"kind", "time_ms", "boot_id", ...the kind's members}. NULL on OOM. */
json_object *lc_history_event_to_json(const struct lc_history_event *e);

/* The reverse of lc_history_event_to_json(): 0, or -EBADMSG for anything else. *ret is untouched
 * on failure. */
int lc_history_event_from_json(json_object *o, struct lc_history_event *ret);

/*
 * Parses the file's content (len bytes): every line that is an event, the newest max_events of
 * them when there are more. Damaged lines are counted, a last line without a newline is torn;
 * neither is an error. Returns 0 with *ret (release with lc_history_done()), or -ENOMEM.
 */
int lc_history_parse(const char *buf, size_t len, size_t max_events, struct lc_history *ret);

/* Frees the events; accepts a zeroed struct. */
void lc_history_done(struct lc_history *h);

/* e as one line with its newline, NUL-terminated (owned). NULL on OOM. */
char *lc_history_format_line(const struct lc_history_event *e);

/*
 * The content a rewrite gives the file: the newest events of h, then extra (NULL: none), as many
 * as fit in max_events and half of max_bytes, so that appends run a while before the next
 * rewrite. Returns 0 with *ret (owned) and *ret_len, or -ENOMEM.
 */
int lc_history_format(const struct lc_history *h, const struct lc_history_event *extra,
		      const struct lc_history_limits *l, char **ret, size_t *ret_len);

/* Whether appending a line of line_len bytes to a file of size bytes rewrites it instead. */
bool lc_history_needs_rewrite(uint64_t size, size_t line_len, const struct lc_history_limits *l);

/* Sorts the events by time, stable: events recorded late (a crash counted at the next start)
 * take their place. */
void lc_history_sort(struct lc_history *h);

/* The unexpected boots among h's boot events that began at or after now_ms - minutes, counted
 * back from the newest to the first expected boot (which ends a loop); boots "after" now_ms (a
 * clock set back) are passed over. */
unsigned lc_history_unexpected_boots(const struct lc_history *h, uint64_t now_ms, unsigned minutes);

/* The newest boot event of h, or NULL. */
const struct lc_history_event *lc_history_last_boot(const struct lc_history *h);

/*
 * Reads <state_dir>/history.jsonl. A missing file is an empty history; damaged lines are skipped
 * (and logged unless quiet); a file over twice max_bytes, or not a regular file, is treated as
 * empty (logged unless quiet; the next append replaces it). Returns 0 with *ret (release with
 * lc_history_done()), -ENOMEM, or -errno when it cannot be read (logged).
 */
int lc_history_load(const char *state_dir, const struct lc_history_limits *l, bool quiet,
		    struct lc_history *ret);

/*
 * Appends e to <state_dir>/history.jsonl durably. Rewrites the file atomically instead, with the
 * newest events and e, when the line would take it past max_bytes, when its last line is torn,
 * when it is not a file one can append to, or when rewrite says so (the caller found damaged
 * lines). Returns 0 or -errno; the caller logs.
 */
int lc_history_append(const char *state_dir, const struct lc_history_limits *l,
		      const struct lc_history_event *e, bool rewrite);

/* The crash event of a crash report (the frames, signature and entries as far as it has them). */
void lc_history_event_from_crash(const struct lc_crash_report *r, struct lc_history_event *ret);

/* Appends the crash of report r to the history under state_dir, and a crash-loop event when it
 * made its process a crash loop, with the default limits. Returns 0 or -errno; the caller logs. */
int lc_history_add_crash(const char *state_dir, const struct lc_crash_report *r);

/* The default limits. */
static inline struct lc_history_limits lc_history_default_limits(void)
{
	return (struct lc_history_limits){ .max_events = LC_HISTORY_MAX_EVENTS,
					   .max_bytes = LC_HISTORY_MAX_BYTES };
}
