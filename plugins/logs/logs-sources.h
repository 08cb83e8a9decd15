/* SPDX-License-Identifier: MIT */
/*
 * Inside the logs plugin: what its sources (logs-syslog.c, logs-kmsg.c, logs-journal.c) share with
 * the plugin (logs-plugin.c), which owns the log file, the level, the budget and the counters.
 * A source reads on the loop through the plugin API and hands each line to logs_take().
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "logs-record.h"
#include "macro.h"
#include "plugin.h"

struct logs_data;

/* How a source is doing, as `faultctl logs` shows it. */
enum logs_source_state {
	LOGS_SOURCE_OFF,	 /* not configured */
	LOGS_SOURCE_UNAVAILABLE, /* "auto", and this system does not have it */
	LOGS_SOURCE_RUNNING,
	LOGS_SOURCE_FAILED, /* configured and could not start, or stopped by an error */
};

/* What a source's lines became. */
struct logs_counts {
	uint64_t received;	/* lines (datagrams, records, journal entries) read */
	uint64_t kept;		/* written to the log file */
	uint64_t malformed;	/* kept as plain text (syslog) or skipped (kernel records) */
	uint64_t below_level;	/* less severe than logs.min_level */
	uint64_t filtered;	/* dropped by logs.filters */
	uint64_t over_budget;	/* dropped by logs.max_lines_per_minute */
	uint64_t not_collected; /* data collection was off */
	uint64_t cut;		/* messages cut to logs.max_line_bytes */
	uint64_t lost;		/* could not be written to the log file */
	uint64_t errors;	/* failed reads */
	uint64_t gaps;		/* lines the source lost before faultd read them (kernel: exact;
				 * journal: each gap once) */
};

struct logs_source {
	const char *name; /* "syslog", "kernel", "journal": also its key in positions */
	enum logs_source_state state;
	char *detail; /* where it reads, or why it does not (owned) */
	struct logs_counts counts;
	struct logs_data *logs;
	bool own_boot; /* the source tells each line's boot by logs_boot() (the journal); the
			* others' lines are of this boot */
};

/* Hands a line of src to the log file: the level, the budget and the JSON line; r->ts_us 0 is
 * stamped now. Counts what became of it. */
void logs_take(struct logs_data *d, struct logs_source *src, const struct logs_record *r);

/* The lines that follow are of boot boot_id (the journal reads the last lines of the boot before
 * this one after a restart): when the file in progress holds lines of another boot, it is closed
 * and committed first, so that the lines that ended a boot travel in a file of their own, as soon
 * as faultd sees that boot ended. */
void logs_boot(struct logs_data *d, const char *boot_id);

/* A line was read and dropped before logs_take() (malformed kernel record...): only noted so that
 * the source's position is saved at the next flush. */
void logs_consumed(struct logs_data *d);

/* The plugin, for the plugin API. */
struct lc_plugin *logs_plugin(const struct logs_data *d);

/* The positions saved with the log file (borrowed), NULL when none: {"kernel": {...}, ...}. */
json_object *logs_saved_position(const struct logs_data *d, const char *source);

/* Sets what the state says, with a detail (formatted; NULL clears it). */
void logs_source_set(struct logs_source *s, enum logs_source_state state, const char *fmt, ...)
	_printf_(3, 4);

/* A source's counters and state as JSON (its own members are added by the caller). */
json_object *logs_source_status(const struct logs_source *s);

/* The sources. Each start fills src (the plugin's, which outlives the source) and returns 0 when
 * running, or leaves src's state saying why not and returns -errno when the source was asked for
 * (required) and failed: logged. position reads the source's position for the log file's state
 * (new reference), or NULL; stop frees what start made and accepts NULL. */
struct logs_syslog;
int logs_syslog_start(struct logs_data *d, struct logs_source *src, const char *listen,
		      int receive_buffer, size_t datagram_max, struct logs_syslog **ret);
struct logs_syslog *logs_syslog_stop(struct logs_syslog *s);
/* Adds the source's own members to its status o. Returns 0 or -ENOMEM. */
int logs_syslog_status_add(const struct logs_syslog *s, json_object *o);
/* Takes the datagrams already waiting, without blocking, at most a turn's share (a crash's lines
 * are asked for). */
void logs_syslog_pending(struct logs_syslog *s);

struct logs_kmsg;
int logs_kmsg_start(struct logs_data *d, struct logs_source *src, bool required,
		    struct logs_kmsg **ret);
struct logs_kmsg *logs_kmsg_stop(struct logs_kmsg *k);
json_object *logs_kmsg_position(const struct logs_kmsg *k);
int logs_kmsg_status_add(const struct logs_kmsg *k, json_object *o);
void logs_kmsg_pending(struct logs_kmsg *k);

struct logs_journal;
/* Whether this system has a journal to read: the build has libsystemd and sysroot a journal
 * directory (/run/log/journal or /var/log/journal). */
bool logs_journal_available(struct lc_plugin *p);
int logs_journal_start(struct logs_data *d, struct logs_source *src, bool required,
		       struct logs_journal **ret);
struct logs_journal *logs_journal_stop(struct logs_journal *j);
/* The position is the cursor of the entry taken last, also while the journal has none (it just
 * rotated): remembered. */
json_object *logs_journal_position(struct logs_journal *j);
int logs_journal_status_add(struct logs_journal *j, json_object *o);
void logs_journal_pending(struct logs_journal *j);
