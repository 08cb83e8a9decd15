/* SPDX-License-Identifier: MIT */
/*
 * Why did the previous boot end? The evidence the reboot plugin weighs, strongest first: the
 * watchdog's boot status, kernel crash records in pstore, the reason declared with `faultctl
 * reboot --reason`, the integrator's reason file, and the clean-shutdown marker; with none of
 * them the configured unclean_reason. Gathering reads files below a sysroot and a state
 * directory (so tests give fake trees), deciding is a pure function of what was gathered, and
 * consuming removes or archives what was used so that nothing is evidence twice.
 * docs/reboots.md explains the whole decision.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pstore.h"
#include "reboot.h"
#include "record.h"

#define REBOOT_REASON_FILE_MAX 256 /* bytes of the integrator's reason file */

enum reboot_source {
	REBOOT_SRC_WATCHDOG,
	REBOOT_SRC_PSTORE,
	REBOOT_SRC_DECLARED,
	REBOOT_SRC_REASON_FILE,
	REBOOT_SRC_SHUTDOWN,
	REBOOT_SRC_COUNT,		    /* the sources above, strongest first */
	REBOOT_SRC_NONE = REBOOT_SRC_COUNT, /* no evidence: unclean_reason */
	REBOOT_SRC_FIRST_BOOT,		    /* nothing decided: a new state directory */
};

/* "watchdog", "pstore", "declared", "reason-file", "clean-shutdown", "no-evidence",
 * "first-boot": the names last.json and the status use. */
const char *reboot_source_name(enum reboot_source s);

enum reboot_ev_state {
	REBOOT_EV_NONE,	   /* nothing there that concerns the boot that ended */
	REBOOT_EV_FOUND,   /* a reason */
	REBOOT_EV_IGNORED, /* there, but no evidence: stale, used before, not a crash */
	REBOOT_EV_BAD,	   /* there, but unusable: unreadable, damaged, too large (logged) */
};

/* What one source said. */
struct reboot_source_ev {
	enum reboot_ev_state state;
	struct lc_reboot_reason reason; /* when FOUND */
	char detail[160];		/* for people: what was seen; "" when there was nothing */
};

/* Which file the reason file was, so that one that could not be deleted is not used twice. */
struct reboot_file_id {
	uint64_t dev, ino, size;
	int64_t mtime_ns;
};

struct reboot_evidence {
	struct reboot_source_ev src[REBOOT_SRC_COUNT];
	bool pstore_oops_only; /* pstore's reason is !KernelOops: decisive only without a
				* clean-shutdown marker */
	struct reboot_pstore pstore;
	bool remove_declared, remove_shutdown; /* notes about an ended boot, used or stale */
	bool reason_file_present;	       /* to be deleted */
	bool reason_file_id_valid;
	struct reboot_file_id reason_file_id;
};

/* Where to look, and what the core knows about this boot (all borrowed). */
struct reboot_input {
	const char *sysroot;
	const char *state_dir;
	const char *reason_file; /* resolved under sysroot; NULL: not used */
	const struct lc_boot_info *boot;
	const struct reboot_file_id *used_reason_file; /* from last.json; NULL if none */
};

/*
 * Reads every source. Missing files are no evidence; unreadable, damaged or oversized ones are
 * logged (naming the file and why) and recorded as REBOOT_EV_BAD. Returns 0 with *ret (release
 * with reboot_evidence_done()), or -ENOMEM with *ret untouched.
 */
int reboot_evidence_gather(const struct reboot_input *in, struct reboot_evidence *ret);

/* Frees what gathering allocated; accepts a zeroed struct. */
void reboot_evidence_done(struct reboot_evidence *ev);

struct reboot_decision {
	struct lc_reboot_reason reason;
	enum reboot_source source;
};

/* The reason of the strongest source that gives one, else unclean from REBOOT_SRC_NONE. */
void reboot_decide(const struct reboot_evidence *ev, const struct lc_reboot_reason *unclean,
		   struct reboot_decision *ret);

/* What source s said, for people: "none", "dmesg-ramoops-0: Panic", "stale (boot ...)". */
const char *reboot_source_text(const struct reboot_evidence *ev, enum reboot_source s, char *buf,
			       size_t size);

/*
 * The one log line of a decision: "Previous boot ended: KernelPanic (0x8008), from pstore
 * (dmesg-ramoops-0: Panic); also: watchdog: none, declared: ...", or for REBOOT_SRC_FIRST_BOOT
 * what every source said. Returns buf.
 */
char *reboot_summary(const struct reboot_evidence *ev, const struct reboot_decision *d, char *buf,
		     size_t size);

/*
 * Uses up the evidence: removes the notes about the ended boot, deletes the reason file and
 * archives and releases the pstore records (see reboot_pstore_consume()). Notes written during
 * this boot are left for its own end. Failures are logged; nothing is returned.
 */
void reboot_evidence_consume(const struct reboot_input *in, const struct reboot_evidence *ev);

/*
 * Removes a clean-shutdown marker written during this boot (boot), which faultd finds when it
 * starts again in the boot the marker said was ending: the system did not go down after all
 * (BusyBox init's ::restart, a soft reboot), and kept, the marker would make whatever ends this
 * boot, a power cut included, look clean. Failures are logged.
 */
void reboot_evidence_drop_own_marker(const char *state_dir, const struct lc_boot_info *boot);
