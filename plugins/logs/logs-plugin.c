/* SPDX-License-Identifier: MIT */
/*
 * The logs plugin (docs/logs.md): its configuration, the log file in progress with its flushes and
 * rotations, the level and the budget every line passes, its counters for the heartbeat and
 * `faultctl logs`. The sources are logs-syslog.c, logs-kmsg.c and logs-journal.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "build-config.h"
#include "clock.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "logs-budget.h"
#include "logs-file.h"
#include "logs-json.h"
#include "logs-plugin.h"
#include "logs-recent.h"
#include "logs-rules.h"
#include "logs-sources.h"
#include "netaddr.h"
#include "record.h"
#include "schema.h"

#define LOGS_TYPE   "linux-logs"
#define LOGS_SUFFIX ".jsonl.gz"
#define RETRY_MS    5000 /* a rotation that failed, or a sealed file not followed: again then */
#define COMPRESSION 1	 /* zlib's fastest: logs compress well even so, and CPU is scarce */

static const char *const levels[] = { "emerg",	"alert", "crit",  "err", "warning",
				      "notice", "info",	 "debug", NULL };
static const char *const switches[] = { "auto", "on", "off", NULL };

/* What the plugin itself counts, beside each source's counts. */
struct logs_totals {
	uint64_t kept, over_budget, lost, gaps, malformed;
	uint64_t filtered, redactions, rule_errors;
	uint64_t files_committed, files_dropped;
	uint64_t lines_committed,
		lines_dropped; /* in files committed, and in files not committed */
};

struct logs_data {
	struct lc_plugin *plugin;
	int min_level;
	size_t max_line;
	uint64_t max_file_bytes, max_age_ms, flush_ms;
	bool collecting;

	char *dir; /* <state_dir>/logs */
	struct logs_file *file;
	char *line; /* the JSON line being written */
	size_t line_size;
	struct logs_rules *rules;
	char *redacted; /* the message with redactions */
	size_t redacted_size;
	struct logs_budget budget;

	/* The sources' positions moved since they were last saved (a line was read). */
	bool dirty;
	uint64_t dirty_ms; /* CLOCK_MONOTONIC when they first moved */
	struct lc_timer *timer;
	uint64_t timer_ms;	  /* CLOCK_MONOTONIC when it fires; 0: not armed */
	uint64_t rotate_after_ms; /* CLOCK_MONOTONIC: a rotation that failed is tried again then */

	/* The boot that the lines of the file in progress belong to (its last line's; "": not
	 * known), and this one: when they differ, the file holds the lines that ended a boot. */
	char line_boot[LC_UUID_LEN + 1];
	char boot[LC_UUID_LEN + 1];
	/* Data collection was turned off and the lines of the file in progress could not be thrown
	 * away: tried again on the timer, and until then the file is neither written nor closed. */
	bool discard_pending;

	struct logs_totals totals;
	struct logs_totals reported; /* as of the last heartbeat */
	int last_error;		     /* of the log file, for status */
	const char *last_drop;	     /* why the last file was not committed (static) */
	/* The entry of the sealed file once it was committed (or not recorded): while the next
	 * file cannot begin, only that is tried again. */
	char committed[LC_UUID_LEN + 1];

	struct logs_syslog *syslog;
	struct logs_kmsg *kmsg;
	struct logs_journal *journal;
	/* The lines kept last, for a crash's core (coredump.log_lines; NULL: none), and how old
	 * they may be (coredump.log_seconds). */
	struct logs_recent *recent;
	uint64_t recent_ms;
	struct logs_source sources[3]; /* SRC_* */
};

enum { SRC_JOURNAL, SRC_KERNEL, SRC_SYSLOG };

/* "" (off), "udp:ADDRESS:PORT", or the absolute path of a Unix datagram socket. */
static int logs_check_syslog_listen(const char *value, const char **ret_why)
{
	if (value[0] == 0)
		return 0;
	if (strncmp(value, "udp:", 4) == 0)
		return lc_listen_address_parse(value + 4, NULL, NULL, ret_why);
	if (value[0] != '/') {
		*ret_why = "expected \"udp:ADDRESS:PORT\" or the absolute path of a Unix datagram "
			   "socket";
		return -EINVAL;
	}
	return lc_check_socket_path(value, ret_why);
}

/* A rule's error: the configuration copies it as soon as the check returns, so one buffer does. */
static char logs_rule_why[256];

static int logs_check_rule(enum logs_rule_kind kind, const char *value, const char **ret_why)
{
	int r = logs_rule_check(kind, value, logs_rule_why, sizeof(logs_rule_why));

	*ret_why = r == -ENOMEM ? "out of memory" : logs_rule_why;
	return r < 0 ? -EINVAL : 0;
}

static int logs_check_filter(const char *value, const char **ret_why)
{
	return logs_check_rule(LOGS_RULE_FILTER, value, ret_why);
}

static int logs_check_redact(const char *value, const char **ret_why)
{
	return logs_check_rule(LOGS_RULE_REDACT, value, ret_why);
}

static int logs_check_metric(const char *value, const char **ret_why)
{
	return logs_check_rule(LOGS_RULE_METRIC, value, ret_why);
}

static int logs_check_failure(const char *value, const char **ret_why)
{
	return logs_check_rule(LOGS_RULE_FAILURE, value, ret_why);
}

static int logs_check_builtin(const char *const *names, const char *value, const char **ret_why)
{
	for (size_t i = 0; names[i]; i++)
		if (streq(names[i], value))
			return 0;
	*ret_why = names == logs_redact_builtins
			   ? "expected one of \"email\", \"secret\", \"private_key\""
			   : "expected one of \"oom_kill\", \"unit_restart\", \"unit_failed\", "
			     "\"unit_main_exit\", \"kernel_oops\", \"kernel_warning\", "
			     "\"segfault\"";
	return -EINVAL;
}

static int logs_check_redact_builtin(const char *value, const char **ret_why)
{
	return logs_check_builtin(logs_redact_builtins, value, ret_why);
}

static int logs_check_metric_builtin(const char *value, const char **ret_why)
{
	return logs_check_builtin(logs_metric_builtins, value, ret_why);
}

static const struct lc_cfg_key logs_keys[] = {
	{
		.name = "enabled",
		.type = LC_CFG_BOOL,
		.def_bool = true,
		.description = "Collect logs into compressed log files uploaded as linux-logs "
			       "entries (docs/logs.md).",
	},
	{
		.name = "journal",
		.type = LC_CFG_STRING,
		.def_string = "auto",
		.choices = switches,
		.description = "Read the systemd journal (every line of this boot, then new ones, "
			       "resuming after a restart where the last log file ended). auto: "
			       "when the system has one (/run/log/journal or /var/log/journal "
			       "below sysroot) and faultd is built with systemd.",
	},
	{
		.name = "extra_attributes",
		.type = LC_CFG_STRV,
		.max = LOGS_EXTRA_MAX,
		.check = logs_extra_name_check,
		.description = "Journal fields kept in each journal line besides the fixed ones "
			       "(docs/logs.md), when the entry has them: names of [A-Z0-9_], at "
			       "most 64 bytes, not beginning with __; each value cut to 256 bytes. "
			       "Syslog and kernel lines have no such fields.",
	},
	{
		.name = "kmsg",
		.type = LC_CFG_STRING,
		.def_string = "auto",
		.choices = switches,
		.description = "Read the kernel log from /dev/kmsg below sysroot, resuming by its "
			       "sequence numbers. auto: when the journal is not read (the journal "
			       "carries the kernel's lines itself) and /dev/kmsg exists.",
	},
	{
		.name = "syslog_listen",
		.type = LC_CFG_STRING,
		.def_string = "",
		.max = 128,
		.check = logs_check_syslog_listen,
		.description =
			"Receive syslog messages (RFC 3164 or RFC 5424, one per datagram) on "
			"\"udp:ADDRESS:PORT\" (numeric, as statsd.listen; port 0 takes a free "
			"one) or on a Unix datagram socket at an absolute path, made writable "
			"by everyone, as /dev/log is. BusyBox syslogd forwards to it with -R. "
			"Empty: no syslog. Anyone who can reach it can write log lines.",
	},
	{
		.name = "syslog_receive_buffer_bytes",
		.type = LC_CFG_INT,
		.def_int = 1024 * 1024,
		.min = 0,
		.max = 256 * 1024 * 1024,
		.description = "Receive buffer (SO_RCVBUF) asked for the syslog socket, so that a "
			       "burst waits for faultd instead of being dropped by the kernel; 0 "
			       "keeps the system's default.",
	},
	{
		.name = "min_level",
		.type = LC_CFG_STRING,
		.def_string = "info",
		.choices = levels,
		.description = "Least severe line kept; less severe ones are counted and dropped.",
	},
	{
		.name = "max_lines_per_minute",
		.type = LC_CFG_INT,
		.def_int = 1000,
		.min = 0,
		.max = 100000000,
		.description = "Lines kept per minute, all sources together: a burst of up to a "
			       "minute's lines passes, a flood is held to the rate and the excess "
			       "is dropped and counted (logs/dropped_rate_limit in the heartbeat). "
			       "0: no limit. Developer mode lifts it.",
	},
	{
		.name = "filters",
		.type = LC_CFG_STRV,
		.max = LOGS_RULES_MAX,
		.check = logs_check_filter,
		.description =
			"Lines dropped (after the level and the metrics rules, before the budget), "
			"each rule \"[unit:PATTERN] [identifier:PATTERN] [message:PATTERN]\": "
			"PCRE2 patterns, all given ones must match; a unit or identifier pattern "
			"ends at the next space and must match the whole _SYSTEMD_UNIT or "
			"SYSLOG_IDENTIFIER, the message pattern is the rest of the rule and is "
			"searched for in MESSAGE. At most 512 bytes a pattern (docs/logs.md).",
	},
	{
		.name = "redact",
		.type = LC_CFG_STRV,
		.max = LOGS_RULES_MAX,
		.check = logs_check_redact,
		.description = "PCRE2 patterns whose matches in the MESSAGE of a kept line are "
			       "replaced by [REDACTED] (\\K keeps what comes before it), besides "
			       "redact_builtin. At most 512 bytes a pattern.",
	},
	{
		.name = "redact_builtin",
		.type = LC_CFG_STRV,
		.def_strv = logs_redact_builtins,
		.max = 8,
		.check = logs_check_redact_builtin,
		.description = "Built-in redactions (docs/logs.md): \"email\" (e-mail addresses), "
			       "\"secret\" (the value after password=, token: and the like, and "
			       "bearer tokens), \"private_key\" (a PEM private key). [] turns "
			       "them off.",
	},
	{
		.name = "metrics",
		.type = LC_CFG_STRV,
		.max = LOGS_RULES_MAX,
		.check = logs_check_metric,
		.description =
			"Log-to-metrics rules: \"KEY [unit:PATTERN] [identifier:PATTERN] "
			"message:PATTERN\" adds 1 to the heartbeat counter KEY for each line "
			"that passes min_level and matches (before filters and the budget); $1 "
			"to $9 in KEY stand for the message pattern's groups, and a byte outside "
			"[A-Za-z0-9_./-] becomes _ (docs/logs.md).",
	},
	{
		.name = "failures",
		.type = LC_CFG_STRV,
		.max = LOGS_RULES_MAX,
		.check = logs_check_failure,
		.description =
			"Failure-kind rules: \"KIND [unit:PATTERN] [identifier:PATTERN] "
			"message:PATTERN\" counts one failure of KIND (1 to 32 of [a-z0-9_], "
			"beginning with a letter or a digit: wifi_disconnect) for each line that "
			"passes min_level and matches (before filters and the budget), as "
			"faultctl report-failure KIND does: the heartbeat interval in progress "
			"becomes KIND-failure time (docs/hours.md). Patterns as in metrics; KIND "
			"takes no groups (docs/logs.md).",
	},
	{
		.name = "metrics_builtin",
		.type = LC_CFG_STRV,
		.def_strv = logs_metric_builtins,
		.max = 16,
		.check = logs_check_metric_builtin,
		.description = "Built-in log-to-metrics rules (docs/logs.md): \"oom_kill\" "
			       "(oom_kill/PROCESS), \"unit_restart\", \"unit_failed\", "
			       "\"unit_main_exit\" (unit_.../UNIT), \"kernel_oops\", "
			       "\"kernel_warning\", \"segfault\" (segfault/PROCESS). [] turns them "
			       "off.",
	},
	{
		.name = "max_keys_per_rule",
		.type = LC_CFG_INT,
		.def_int = 32,
		.min = 1,
		.max = 1000,
		.description = "Distinct keys a metrics rule with groups in its key counts in one "
			       "heartbeat; lines beyond are counted under the key with each group "
			       "as _other.",
	},
	{
		.name = "max_line_bytes",
		.type = LC_CFG_INT,
		.def_int = 4096,
		.min = 256,
		.max = 65536,
		.description = "Longest message kept; a longer one is cut (not within a UTF-8 "
			       "character) and counted.",
	},
	{
		.name = "max_file_bytes",
		.type = LC_CFG_INT,
		.def_int = 1024 * 1024,
		.min = 4096,
		.max = 64 * 1024 * 1024,
		.description = "A log file is closed and committed to the spool once its lines, "
			       "uncompressed, reach this many bytes.",
	},
	{
		.name = "max_file_age_seconds",
		.type = LC_CFG_INT,
		.def_int = 3600,
		.min = 1,
		.max = 7 * 24 * 3600,
		.description =
			"A log file is closed and committed once its first line is this old, "
			"so that lines reach the server within about this time plus "
			"upload_interval_seconds. `faultctl sync` closes it at once.",
	},
	{
		.name = "flush_interval_seconds",
		.type = LC_CFG_INT,
		.def_int = 10,
		.min = 1,
		.max = 3600,
		.description =
			"How often the log file in progress is made durable: a crash or power cut "
			"loses at most the lines of this interval that no source can give again "
			"(syslog; the kernel log and the journal are read again from where the "
			"last flush left them).",
	},
};

static const struct lc_cfg_section logs_section = {
	.name = "logs",
	.description = "Logs: the journal, the kernel log and syslog, kept as JSON lines in "
		       "gzip-compressed log files that are committed to the spool as linux-logs "
		       "entries, chained so that the server sees a gap (docs/logs.md).",
	.keys = logs_keys,
	.n_keys = ARRAY_SIZE(logs_keys),
};

struct lc_plugin *logs_plugin(const struct logs_data *d)
{
	return d->plugin;
}

void logs_source_set(struct logs_source *s, enum logs_source_state state, const char *fmt, ...)
{
	va_list ap;

	s->state = state;
	free(s->detail);
	s->detail = NULL;
	if (!fmt)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s->detail, fmt, ap) < 0)
		s->detail = NULL;
	va_end(ap);
}

json_object *logs_saved_position(const struct logs_data *d, const char *source)
{
	json_object *positions = d->file ? logs_file_positions(d->file) : NULL, *v;

	if (!positions || !json_object_object_get_ex(positions, source, &v) ||
	    !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

/* The sources' positions now, for the log file's state (new reference), or NULL on OOM. A source
 * without one now (it did not start this run, or has read nothing yet) keeps the one saved. */
static json_object *logs_positions(struct logs_data *d)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object *saved = d->file ? logs_file_positions(d->file) : NULL, *v;

	if (!o)
		return NULL;
	if (saved) {
		json_object_object_foreach(saved, key, value)
		{
			if (lc_json_add(o, key, json_object_get(value)) < 0)
				return NULL;
		}
	}
	if (d->kmsg && (v = logs_kmsg_position(d->kmsg)) && lc_json_add(o, "kernel", v) < 0)
		return NULL;
	if (d->journal && (v = logs_journal_position(d->journal)) &&
	    lc_json_add(o, "journal", v) < 0)
		return NULL;
	if (d->line_boot[0]) {
		v = json_object_new_object();
		if (lc_json_add(o, "boot", v) < 0 ||
		    lc_json_add(v, "boot_id", json_object_new_string(d->line_boot)) < 0)
			return NULL;
	}
	return TAKE_PTR(o);
}

static void logs_on_timer(struct lc_plugin *p, void *userdata);

/* Arms the timer for the next thing due: the flush of what moved, the file's age, a retry. */
static void logs_arm(struct logs_data *d)
{
	uint64_t now = lc_clock_ms(CLOCK_MONOTONIC), due = UINT64_MAX, in_ms;
	struct logs_file_info info;
	int r;

	if (d->dirty)
		due = d->dirty_ms + d->flush_ms;
	if (d->discard_pending)
		due = MIN(due, now + RETRY_MS);
	if (d->file) {
		logs_file_info(d->file, &info);
		if (info.sealed)
			due = MIN(due, now + RETRY_MS);
		else if (logs_rotate_due(&info, d->max_file_bytes, d->max_age_ms,
					 lc_clock_ms(CLOCK_REALTIME), &in_ms) == LOGS_ROTATE_NO &&
			 in_ms != UINT64_MAX)
			due = MIN(due, now + in_ms);
		else if (in_ms != UINT64_MAX)
			due = MIN(due, MAX(now, d->rotate_after_ms));
	}
	if (due == UINT64_MAX || (d->timer_ms && d->timer_ms <= due))
		return;
	due = MAX(due, now + 1);
	if (d->timer)
		r = lc_timer_restart(d->timer, due - now, 0);
	else
		r = lc_plugin_timer_add(d->plugin, due - now, 0, logs_on_timer, d, &d->timer);
	if (r < 0) {
		lc_plugin_log_errno(d->plugin, LOG_ERR, r,
				    "failed to arm the timer of the log file: %m; its lines are "
				    "flushed and committed with the next line.");
		return;
	}
	d->timer_ms = due;
}

/* The positions moved: saved within flush_ms. */
static void logs_moved(struct logs_data *d)
{
	if (d->dirty)
		return;
	d->dirty = true;
	d->dirty_ms = lc_clock_ms(CLOCK_MONOTONIC);
	logs_arm(d);
}

void logs_consumed(struct logs_data *d)
{
	logs_moved(d);
}

static void logs_rotate(struct logs_data *d, const char *why);

/* Whether two boot ids name the same boot: the journal writes them without dashes. */
static bool same_boot(const char *a, const char *b)
{
	for (;; a++, b++) {
		while (*a == '-')
			a++;
		while (*b == '-')
			b++;
		if (*a != *b)
			return false;
		if (!*a)
			return true;
	}
}

void logs_boot(struct logs_data *d, const char *boot_id)
{
	if (!d->file || !boot_id[0] || same_boot(d->line_boot, boot_id))
		return;
	if (d->line_boot[0]) {
		struct logs_file_info info;
		char why[96];

		/* The lines that ended the boot go now, in a file of their own. */
		snprintf(why, sizeof(why), "boot %.36s ended", d->line_boot);
		logs_rotate(d, why);
		/* Not closed (a failed seal, a discard pending): the next line tries again. */
		logs_file_info(d->file, &info);
		if (info.lines > 0 || info.sealed)
			return;
	}
	snprintf(d->line_boot, sizeof(d->line_boot), "%s", boot_id);
	logs_moved(d);
}

/* Makes the lines durable and saves the positions. */
static void logs_flush(struct logs_data *d)
{
	uint64_t unflushed;
	int r;

	if (!d->file || !d->dirty)
		return;
	unflushed = logs_file_unflushed(d->file);
	r = logs_file_flush(d->file, logs_positions(d));
	if (r < 0)
		d->dirty_ms = lc_clock_ms(CLOCK_MONOTONIC); /* tried again a flush interval later */
	if (r == -EBUSY)
		return; /* sealed: the positions go with the next file */
	if (r < 0) {
		/* A failed state write leaves the lines in the file, for the next flush. */
		uint64_t lost = unflushed - MIN(unflushed, logs_file_unflushed(d->file));

		d->last_error = r;
		d->totals.lost += lost;
		lc_plugin_log_errno(d->plugin, LOG_ERR, r,
				    "failed to flush the log file in %s: %m; %" PRIu64
				    " lines lost.",
				    d->dir, lost);
		return;
	}
	d->dirty = false;
}

/* Commits the sealed file as its entry, then begins the next one. */
static void logs_commit_sealed(struct logs_data *d)
{
	struct logs_file_info info;
	char name[LC_UUID_LEN + sizeof(LOGS_SUFFIX)];
	_cleanup_json_ json_object *meta = NULL;
	json_object *format, *cid, *next;
	const char *why = NULL;
	int r;

	logs_file_info(d->file, &info);
	if (streq(d->committed, info.entry))
		goto begin_next;
	meta = json_object_new_object();
	format = json_object_new_object();
	cid = json_object_new_object();
	next = json_object_new_object();
	snprintf(name, sizeof(name), "%s" LOGS_SUFFIX, info.cid);
	if (lc_json_add(meta, "format", format) < 0 ||
	    lc_json_add(format, "id", json_object_new_string("v1")) < 0 ||
	    lc_json_add(format, "serialization", json_object_new_string("json-lines")) < 0 ||
	    lc_json_add(meta, "log_file_name", json_object_new_string(name)) < 0 ||
	    lc_json_add(meta, "compression", json_object_new_string("gzip")) < 0 ||
	    lc_json_add(meta, "cid", cid) < 0 ||
	    lc_json_add(cid, "uuid", json_object_new_string(info.cid)) < 0 ||
	    lc_json_add(meta, "next_cid", next) < 0 ||
	    lc_json_add(next, "uuid", json_object_new_string(info.next_cid)) < 0) {
		log_oom();
		return; /* tried again on the timer */
	}
	r = lc_plugin_record_file(d->plugin, LOGS_TYPE, TAKE_PTR(meta), info.entry, name,
				  logs_file_sealed_fd(d->file), info.bytes, &why);
	if (r == -ENOMEM) {
		log_oom();
		return;
	}
	if (r >= 0 || r == -EEXIST) {
		d->totals.files_committed++;
		d->totals.lines_committed += info.lines;
		lc_plugin_log(d->plugin, LOG_DEBUG,
			      "log file %s (%" PRIu64 " lines, %" PRIu64 " bytes) committed as "
			      "entry %s%s.",
			      info.cid, info.lines, info.bytes, info.entry,
			      r == -EEXIST ? " before faultd stopped" : "");
	} else {
		/* Consent, sampling and the spool's limits are choices, not failures: counted. */
		d->totals.files_dropped++;
		d->totals.lines_dropped += info.lines;
		d->last_drop = why;
		lc_plugin_log_errno(d->plugin,
				    r == -EPERM || r == -ECANCELED ? LOG_INFO : LOG_WARNING, r,
				    "log file %s (%" PRIu64 " lines) not recorded: %s.", info.cid,
				    info.lines, why ? why : "");
	}
	memcpy(d->committed, info.entry, sizeof(d->committed));
begin_next:
	r = logs_file_next(d->file);
	if (r < 0) {
		d->last_error = r;
		lc_plugin_log_errno(d->plugin, LOG_ERR, r,
				    "failed to begin the next log file in %s: %m; lines are "
				    "dropped until it can be.",
				    d->dir);
	}
}

/* Closes the file in progress and commits it (nothing without lines). */
static void logs_rotate(struct logs_data *d, const char *why)
{
	uint64_t lines = d->file ? logs_file_unflushed(d->file) : 0;
	int r;

	if (!d->file || d->discard_pending)
		return;
	r = logs_file_seal(d->file, logs_positions(d));
	if (r == -ENODATA || r == -EBUSY) {
		if (r == -EBUSY)
			logs_commit_sealed(d);
		return;
	}
	if (r < 0) {
		/* Lines are lost when the file could not be finished; when only its state could not
		 * be written, it stays sealed and the state is tried again (logs_file_seal()). */
		d->last_error = r;
		d->totals.lost += lines - MIN(lines, logs_file_unflushed(d->file));
		d->rotate_after_ms = lc_clock_ms(CLOCK_MONOTONIC) + RETRY_MS;
		lc_plugin_log_errno(d->plugin, LOG_ERR, r,
				    "failed to close the log file (%s): %m; trying again in %d s.",
				    why, RETRY_MS / 1000);
		return;
	}
	d->dirty = false;
	lc_plugin_log(d->plugin, LOG_DEBUG, "closing the log file: %s.", why);
	logs_commit_sealed(d);
}

/* Throws away the lines of the file in progress: data collection was turned off. */
static void logs_discard(struct logs_data *d)
{
	int r = logs_file_discard(d->file);

	/* A sealed file waits for its commit, which the record gate refuses without consent. */
	d->discard_pending = r < 0 && r != -EBUSY;
	if (d->discard_pending)
		lc_plugin_log_errno(d->plugin, LOG_ERR, r,
				    "failed to throw away the log file in progress after data "
				    "collection was turned off: %m; it is neither written nor "
				    "recorded until that succeeds, tried again in %d s.",
				    RETRY_MS / 1000);
}

static void logs_on_timer(struct lc_plugin *p, void *userdata)
{
	struct logs_data *d = userdata;
	uint64_t now = lc_clock_ms(CLOCK_MONOTONIC);
	struct logs_file_info info;
	enum logs_rotate why;

	d->timer_ms = 0;
	if (d->discard_pending)
		logs_discard(d);
	if (d->file) {
		logs_file_info(d->file, &info);
		why = logs_rotate_due(&info, d->max_file_bytes, d->max_age_ms,
				      lc_clock_ms(CLOCK_REALTIME), NULL);
		if (info.sealed)
			logs_rotate(d,
				    "sealed before"); /* its state, its commit or the next file */
		else if (why != LOGS_ROTATE_NO && now >= d->rotate_after_ms)
			logs_rotate(d, why == LOGS_ROTATE_AGE ? "max_file_age_seconds"
							      : "max_file_bytes");
	}
	if (d->dirty && now >= d->dirty_ms + d->flush_ms)
		logs_flush(d);
	logs_arm(d);
}

/* A metrics rule matched: one more in the heartbeat's counter key. */
static void logs_count(const char *key, size_t len, void *userdata)
{
	struct logs_data *d = userdata;

	/* Refusals (key cap, reserved name) are counted by the metric store. */
	(void)lc_plugin_metric(d->plugin, key, len, LC_METRIC_COUNTER, 1);
}

/* A failures rule matched: one failure of kind in the hours ledger. */
static void logs_failure(const char *kind, void *userdata)
{
	struct logs_data *d = userdata;
	int r = lc_plugin_report_failure(d->plugin, kind);

	/* A failed save of the ledger (the failure is counted even so) is logged by the ledger;
	 * without consent this is not reached. */
	if (r == -EINVAL || r == -ENOTSUP)
		lc_plugin_log_errno(d->plugin, LOG_WARNING, r,
				    "Failed to count a failure of %s: %m", kind);
}

void logs_take(struct logs_data *d, struct logs_source *src, const struct logs_record *r)
{
	const struct lc_config *cfg = lc_plugin_config(d->plugin);
	struct logs_counts *c = &src->counts;
	struct logs_file_info info;
	struct logs_record copy;
	uint64_t unflushed;
	unsigned replaced;
	size_t n, redacted;
	bool cut, late;
	int k;

	c->received++;
	/* A line of this boot. With the journal, the journal alone tells where a boot ends: it may
	 * still be reading the last lines of the boot before. */
	if (!src->own_boot && !d->journal)
		logs_boot(d, d->boot);
	/* The journal's last lines of the boot before, read after a reboot: in their file, but not
	 * a failure of this boot, nor lines before a crash of it. */
	late = src->own_boot && d->boot[0] && !same_boot(d->line_boot, d->boot);
	logs_moved(d);
	if (!d->collecting) {
		c->not_collected++;
		return;
	}
	if (r->priority > d->min_level) {
		c->below_level++;
		return;
	}
	/* Counted before the filters and the budget: a line dropped still happened. */
	logs_rules_metrics(d->rules, r, logs_count, d);
	if (!late)
		logs_rules_failures(d->rules, r, logs_failure, d);
	if (logs_rules_filter(d->rules, r)) {
		c->filtered++;
		d->totals.filtered++;
		return;
	}
	if (!logs_budget_take(&d->budget, lc_clock_ms(CLOCK_MONOTONIC)) &&
	    !lc_config_get_bool(cfg, "enable_dev_mode")) {
		c->over_budget++;
		d->totals.over_budget++;
		return;
	}
	/* Until the withdrawn lines are thrown away (tried again on the timer), none is added. */
	if (!d->file || d->discard_pending) {
		c->lost++;
		d->totals.lost++;
		return;
	}
	redacted = logs_rules_redact(d->rules, r->message.s, r->message.len, d->redacted,
				     d->redacted_size, &replaced);
	if (replaced > 0) {
		copy = *r;
		copy.message = (struct logs_text){ d->redacted, redacted };
		r = &copy;
		d->totals.redactions += replaced;
	}
	n = logs_json_line(d->line, d->line_size, r,
			   r->ts_us ? r->ts_us : lc_clock_us(CLOCK_REALTIME), d->max_line, &cut);
	if (cut)
		c->cut++;
	if (d->recent && n > 0 && !late)
		(void)logs_recent_add(d->recent, d->line, n, lc_clock_ms(CLOCK_MONOTONIC));
	unflushed = logs_file_unflushed(d->file);
	k = n > 0 ? logs_file_append(d->file, d->line, n, lc_clock_ms(CLOCK_REALTIME)) : -ENOBUFS;
	if (k < 0) {
		uint64_t lost = 1 + unflushed - logs_file_unflushed(d->file);

		c->lost++;
		d->totals.lost += lost;
		d->last_error = k;
		lc_plugin_log_errno(d->plugin, LOG_ERR, k,
				    "failed to write to the log file in %s: %m; %" PRIu64
				    " lines lost.",
				    d->dir, lost);
		return;
	}
	c->kept++;
	d->totals.kept++;
	logs_file_info(d->file, &info);
	if (info.raw_bytes >= d->max_file_bytes &&
	    lc_clock_ms(CLOCK_MONOTONIC) >= d->rotate_after_ms)
		logs_rotate(d, "max_file_bytes");
	else if (info.lines == 1)
		logs_arm(d); /* the file's age counts from its first line */
}

/* The level name's severity (levels[]): 0 to 7. */
static int logs_level(const char *name)
{
	for (int i = 0; levels[i]; i++)
		if (streq(levels[i], name))
			return i;
	return LOGS_PRIORITY_MAX;
}

static struct logs_data *logs_data_free(struct logs_data *d)
{
	if (!d)
		return NULL;
	logs_syslog_stop(d->syslog);
	logs_kmsg_stop(d->kmsg);
	logs_journal_stop(d->journal);
	logs_file_free(d->file);
	logs_rules_free(d->rules);
	logs_recent_free(d->recent);
	free(d->redacted);
	for (size_t i = 0; i < ARRAY_SIZE(d->sources); i++)
		free(d->sources[i].detail);
	free(d->dir);
	free(d->line);
	free(d);
	return NULL;
}

static void logs_data_freep(struct logs_data **d)
{
	logs_data_free(*d);
}

/* Compiles the built-in and the configured rules (checked already when the configuration was
 * loaded: a failure here is out of memory). */
static int logs_rules_load(struct logs_data *d)
{
	static const struct {
		enum logs_rule_kind kind;
		const char *key;
		bool builtin;
	} lists[] = {
		{ LOGS_RULE_FILTER, "filters", false },
		{ LOGS_RULE_REDACT, "redact_builtin", true },
		{ LOGS_RULE_REDACT, "redact", false },
		{ LOGS_RULE_METRIC, "metrics_builtin", true },
		{ LOGS_RULE_METRIC, "metrics", false },
		{ LOGS_RULE_FAILURE, "failures", false },
	};
	const struct lc_config *cfg = lc_plugin_config(d->plugin);
	char why[256], key[64];
	int r;

	d->rules = logs_rules_new((unsigned)lc_plugin_config_int(d->plugin, "max_keys_per_rule"));
	if (!d->rules)
		return log_oom();
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		const char *const *v;

		snprintf(key, sizeof(key), "logs.%s", lists[i].key);
		v = lc_config_get_strv(cfg, key);
		for (size_t j = 0; v && v[j]; j++) {
			r = logs_rules_add(d->rules, lists[i].kind, v[j], lists[i].builtin, why,
					   sizeof(why));
			if (r == -ENOMEM)
				return log_oom();
			if (r < 0)
				return lc_plugin_log_errno(d->plugin, LOG_ERR, r,
							   "%s: item %zu: %s", key, j + 1, why);
		}
	}
	return 0;
}

/* Opens the log file and commits one sealed before faultd stopped. */
static int logs_open_file(struct logs_data *d)
{
	struct logs_file_recovery rec;
	struct logs_file_info info;
	json_object *saved, *v;
	int r;

	r = logs_file_open(d->dir, COMPRESSION, &d->file, &rec);
	if (r < 0)
		return lc_plugin_log_errno(d->plugin, LOG_ERR, r,
					   "failed to open the log file in %s: %m", d->dir);
	logs_file_info(d->file, &info);
	if (rec.damaged)
		lc_plugin_log(d->plugin, LOG_WARNING,
			      "the log file in %s did not hold together; %" PRIu64
			      " lines lost, a new one begun.",
			      d->dir, rec.lost_lines);
	else if (!rec.fresh)
		lc_plugin_log(d->plugin, LOG_DEBUG,
			      "log file %s goes on with %" PRIu64 " lines%s (%" PRIu64
			      " bytes after its last flush cut off).",
			      info.cid, rec.kept_lines, info.sealed ? ", sealed" : "",
			      rec.cut_bytes);
	d->totals.lost += rec.lost_lines;
	saved = logs_saved_position(d, "boot");
	if (saved && json_object_object_get_ex(saved, "boot_id", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) <= LC_UUID_LEN)
		snprintf(d->line_boot, sizeof(d->line_boot), "%s", json_object_get_string(v));
	if (info.sealed)
		logs_commit_sealed(d);
	return 0;
}

static int logs_init(struct lc_plugin *p)
{
	const struct lc_config *cfg = lc_plugin_config(p);
	const char *journal = lc_plugin_config_string(p, "journal");
	const char *kmsg = lc_plugin_config_string(p, "kmsg");
	const char *listen = lc_plugin_config_string(p, "syslog_listen");
	_cleanup_(logs_data_freep) struct logs_data *d = NULL;
	_cleanup_free_ char *kmsg_path = NULL;
	const struct lc_boot_info *boot;
	struct stat st;
	bool want_journal, want_kmsg;
	char names[64] = "";
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return log_oom();
	d->plugin = p;
	boot = lc_plugin_boot_info(p);
	snprintf(d->boot, sizeof(d->boot), "%s", boot ? boot->boot_id : "");
	d->sources[SRC_JOURNAL] = (struct logs_source){ .name = "journal", .logs = d };
	d->sources[SRC_KERNEL] = (struct logs_source){ .name = "kernel", .logs = d };
	d->sources[SRC_SYSLOG] = (struct logs_source){ .name = "syslog", .logs = d };
	d->min_level = logs_level(lc_plugin_config_string(p, "min_level"));
	d->max_line = (size_t)lc_plugin_config_int(p, "max_line_bytes");
	d->max_file_bytes = (uint64_t)lc_plugin_config_int(p, "max_file_bytes");
	d->max_age_ms = (uint64_t)lc_plugin_config_int(p, "max_file_age_seconds") * 1000;
	d->flush_ms = (uint64_t)lc_plugin_config_int(p, "flush_interval_seconds") * 1000;
	d->collecting = lc_config_get_bool(cfg, "enable_data_collection");
	logs_budget_init(&d->budget, (uint64_t)lc_plugin_config_int(p, "max_lines_per_minute"),
			 lc_clock_ms(CLOCK_MONOTONIC));
	d->line_size = LOGS_JSON_LINE_MAX(d->max_line);
	d->line = malloc(d->line_size);
	/* Longer than max_line_bytes, so that a message cut here is cut (and counted) again. */
	d->redacted_size = d->max_line + sizeof(LOGS_REDACTED);
	d->redacted = malloc(d->redacted_size);
	r = logs_rules_load(d);
	if (r < 0)
		return r;
	/* The coredump section is there when faultd has the core handler. */
	if (lc_config_has(cfg, "coredump.log_lines") &&
	    lc_config_get_int(cfg, "coredump.log_lines") > 0) {
		d->recent_ms = (uint64_t)lc_config_get_int(cfg, "coredump.log_seconds") * 1000;
		if (logs_recent_new((size_t)lc_config_get_int(cfg, "coredump.log_lines"),
				    LOGS_RECENT_BYTES_MAX, &d->recent) < 0)
			return log_oom();
	}
	d->dir = lc_path_prefix(lc_config_get_string(cfg, "state_dir"), "/logs");
	kmsg_path = lc_plugin_sysroot_path(p, "/dev/kmsg");
	if (!d->line || !d->redacted || !d->dir || !kmsg_path)
		return log_oom();

	want_journal =
		streq(journal, "on") || (streq(journal, "auto") && logs_journal_available(p));
	want_kmsg = streq(kmsg, "on") ||
		    (streq(kmsg, "auto") && !want_journal && stat(kmsg_path, &st) == 0);
	/* Without a source, a log file is opened only to commit what an earlier run left. */
	if (want_journal || want_kmsg || listen[0] || stat(d->dir, &st) == 0) {
		r = logs_open_file(d);
		if (r < 0)
			return r;
	}

	if (want_journal) {
		r = logs_journal_start(d, &d->sources[SRC_JOURNAL], streq(journal, "on"),
				       &d->journal);
		if (r < 0)
			(void)lc_plugin_set_message(p, "the journal could not be read (see "
						       "faultctl logs)");
	} else if (!streq(journal, "off")) {
		logs_source_set(&d->sources[SRC_JOURNAL], LOGS_SOURCE_UNAVAILABLE,
				"no journal below sysroot%s",
				HAVE_SYSTEMD ? "" : ", nor libsystemd");
	}
	/* The journal holds the kernel's lines: "auto" does not read them twice. */
	if (streq(kmsg, "auto") && d->journal) {
		logs_source_set(&d->sources[SRC_KERNEL], LOGS_SOURCE_OFF,
				"its lines come through the journal");
	} else if (!streq(kmsg, "off")) {
		r = logs_kmsg_start(d, &d->sources[SRC_KERNEL], streq(kmsg, "on"), &d->kmsg);
		if (r < 0)
			(void)lc_plugin_set_message(p, "the kernel log could not be read (see "
						       "faultctl logs)");
	}
	if (listen[0]) {
		r = logs_syslog_start(d, &d->sources[SRC_SYSLOG], listen,
				      (int)lc_plugin_config_int(p, "syslog_receive_buffer_bytes"),
				      d->max_line + 1024, &d->syslog);
		if (r < 0)
			(void)lc_plugin_set_message(p, "syslog could not be received (see "
						       "faultctl logs)");
	}
	for (size_t i = 0; i < ARRAY_SIZE(d->sources); i++)
		if (d->sources[i].state == LOGS_SOURCE_RUNNING)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 names[0] ? ", " : "", d->sources[i].name);
	/* The file of a boot that ended goes now; the journal first reads what is left of that
	 * boot's lines, and says when its lines are of this boot. */
	if (d->file && !d->journal)
		logs_boot(d, d->boot);
	if (!names[0] && d->file) {
		/* Nothing more will come: what an earlier run left goes now. */
		logs_rotate(d, "no source is configured");
		d->file = logs_file_free(d->file);
	}
	lc_plugin_log(p, LOG_INFO, "collecting logs from %s.", names[0] ? names : "no source");
	/* A recovered file is due by its age, a sealed one not committed is tried again, whether
	 * a line comes or not. */
	if (d->file)
		logs_arm(d);
	lc_plugin_set_data(p, TAKE_PTR(d));
	return 0;
}

static void logs_shutdown(struct lc_plugin *p)
{
	struct logs_data *d = lc_plugin_get_data(p);

	/* The sources stop first; what they gave goes to flash with their positions. */
	if (d && d->file) {
		d->dirty = true;
		logs_flush(d);
	}
	logs_data_free(d);
}

/* Adds the increase of a counter since the last heartbeat to the heartbeat, when there is one. */
static void logs_report(struct logs_data *d, const char *key, uint64_t now, uint64_t *reported)
{
	if (now > *reported)
		(void)lc_plugin_metric(d->plugin, key, strlen(key), LC_METRIC_COUNTER,
				       (double)(now - *reported));
	*reported = now;
}

static void logs_collect(struct lc_plugin *p)
{
	struct logs_data *d = lc_plugin_get_data(p);
	uint64_t gaps = 0, malformed = 0;

	for (size_t i = 0; i < ARRAY_SIZE(d->sources); i++) {
		gaps += d->sources[i].counts.gaps;
		malformed += d->sources[i].counts.malformed;
	}
	d->totals.gaps = gaps;
	d->totals.malformed = malformed;
	d->totals.rule_errors = logs_rules_errors(d->rules);
	if (!d->collecting) {
		/* Nothing is reported of a time without consent, now or later. */
		d->reported = d->totals;
		return;
	}
	logs_report(d, "logs/lines", d->totals.kept, &d->reported.kept);
	logs_report(d, "logs/dropped_rate_limit", d->totals.over_budget, &d->reported.over_budget);
	logs_report(d, "logs/lost", d->totals.lost, &d->reported.lost);
	logs_report(d, "logs/gaps", d->totals.gaps, &d->reported.gaps);
	logs_report(d, "logs/malformed", d->totals.malformed, &d->reported.malformed);
	logs_report(d, "logs/dropped_filter", d->totals.filtered, &d->reported.filtered);
	logs_report(d, "logs/redactions", d->totals.redactions, &d->reported.redactions);
	logs_report(d, "logs/rule_errors", d->totals.rule_errors, &d->reported.rule_errors);
	/* The heartbeat rolls over: each metrics rule may count new keys. */
	logs_rules_interval(d->rules);
}

static void logs_sync(struct lc_plugin *p)
{
	struct logs_data *d = lc_plugin_get_data(p);

	logs_rotate(d, "faultctl sync");
	logs_arm(d);
}

static int logs_crash_line(const char *line, size_t len, void *userdata)
{
	json_object *s = json_object_new_string_len(line, (int)len);

	if (!s || json_object_array_add(userdata, s) < 0) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

/* The lines kept in the crash's window, with what the sources hold unread: the crashed process
 * may have written its last lines just before it died. */
static json_object *logs_crash_logs(struct lc_plugin *p, uint64_t crash_mono_ms, size_t max_bytes)
{
	struct logs_data *d = lc_plugin_get_data(p);
	_cleanup_json_ json_object *a = NULL;

	if (!d->recent)
		return NULL;
	logs_syslog_pending(d->syslog);
	logs_kmsg_pending(d->kmsg);
	logs_journal_pending(d->journal);
	a = json_object_new_array();
	if (!a || logs_recent_select(d->recent, crash_mono_ms - MIN(crash_mono_ms, d->recent_ms),
				     SIZE_MAX, max_bytes, logs_crash_line, a) < 0)
		return NULL;
	return TAKE_PTR(a);
}

static void logs_consent(struct lc_plugin *p, bool on)
{
	struct logs_data *d = lc_plugin_get_data(p);

	d->collecting = on;
	if (!on)
		logs_recent_clear(d->recent);
	if (on || !d->file)
		return;
	/* Collected with consent, but not yet recorded: withdrawn with it. */
	logs_discard(d);
	logs_moved(d);
}

json_object *logs_source_status(const struct logs_source *s)
{
	static const char *const states[] = {
		[LOGS_SOURCE_OFF] = "off",
		[LOGS_SOURCE_UNAVAILABLE] = "unavailable",
		[LOGS_SOURCE_RUNNING] = "running",
		[LOGS_SOURCE_FAILED] = "failed",
	};
	const struct logs_counts *c = &s->counts;
	_cleanup_json_ json_object *o = json_object_new_object();
	int r = 0;

	lc_json_add_sticky(o, "state", json_object_new_string(states[s->state]), &r);
	if (s->detail)
		lc_json_add_sticky(o, "detail", json_object_new_string(s->detail), &r);
	lc_json_add_sticky(o, "received", json_object_new_uint64(c->received), &r);
	lc_json_add_sticky(o, "kept", json_object_new_uint64(c->kept), &r);
	lc_json_add_sticky(o, "malformed", json_object_new_uint64(c->malformed), &r);
	lc_json_add_sticky(o, "below_level", json_object_new_uint64(c->below_level), &r);
	lc_json_add_sticky(o, "filtered", json_object_new_uint64(c->filtered), &r);
	lc_json_add_sticky(o, "over_budget", json_object_new_uint64(c->over_budget), &r);
	lc_json_add_sticky(o, "not_collected", json_object_new_uint64(c->not_collected), &r);
	lc_json_add_sticky(o, "cut", json_object_new_uint64(c->cut), &r);
	lc_json_add_sticky(o, "lost", json_object_new_uint64(c->lost), &r);
	lc_json_add_sticky(o, "errors", json_object_new_uint64(c->errors), &r);
	lc_json_add_sticky(o, "gaps", json_object_new_uint64(c->gaps), &r);
	return r < 0 ? NULL : TAKE_PTR(o);
}

/* The file in progress: {"cid", "lines", "bytes", "raw_bytes", "unflushed", "age_seconds"}. */
static json_object *logs_file_status(const struct logs_data *d)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	struct logs_file_info info;
	uint64_t now = lc_clock_ms(CLOCK_REALTIME);
	int r = 0;

	logs_file_info(d->file, &info);
	lc_json_add_sticky(o, "cid", json_object_new_string(info.cid), &r);
	lc_json_add_sticky(o, "sealed", json_object_new_boolean(info.sealed), &r);
	lc_json_add_sticky(o, "lines", json_object_new_uint64(info.lines), &r);
	lc_json_add_sticky(o, "bytes", json_object_new_uint64(info.bytes), &r);
	lc_json_add_sticky(o, "raw_bytes", json_object_new_uint64(info.raw_bytes), &r);
	lc_json_add_sticky(o, "unflushed", json_object_new_uint64(logs_file_unflushed(d->file)),
			   &r);
	if (info.lines > 0)
		lc_json_add_sticky(o, "age_seconds",
				   json_object_new_uint64(
					   now > info.first_ms ? (now - info.first_ms) / 1000 : 0),
				   &r);
	return r < 0 ? NULL : TAKE_PTR(o);
}

/* What each rule did: {"filters": [{"rule", "dropped"}], "redact": [{"rule", "replaced"}],
 * "metrics": [{"rule", "counted", "over_key_cap"}], "failures": [{"rule", "reported"}]}, a
 * built-in named by "builtin". */
static json_object *logs_rules_status(const struct logs_rules *rules)
{
	static const char *const names[] = { "filters", "redact", "metrics", "failures" };
	static const char *const hits[] = { "dropped", "replaced", "counted", "reported" };
	_cleanup_json_ json_object *o = json_object_new_object();
	int r = 0;

	for (int k = 0; k < LOGS_RULE_KINDS; k++) {
		json_object *list = json_object_new_array();

		lc_json_add_sticky(o, names[k], list, &r);
		for (size_t i = 0; r >= 0 && i < logs_rules_count(rules, k); i++) {
			const struct logs_rule_stats *st = logs_rules_stats(rules, k, i);
			json_object *v = json_object_new_object();

			lc_json_add_sticky(v, st->builtin ? "builtin" : "rule",
					   json_object_new_string(st->text), &r);
			lc_json_add_sticky(v, hits[k], json_object_new_uint64(st->hits), &r);
			if (k == LOGS_RULE_METRIC)
				lc_json_add_sticky(v, "over_key_cap",
						   json_object_new_uint64(st->over_key_cap), &r);
			if (r >= 0 && json_object_array_add(list, v) < 0) {
				json_object_put(v);
				r = -ENOMEM;
			} else if (r < 0) {
				json_object_put(v);
			}
		}
	}
	return r < 0 ? NULL : TAKE_PTR(o);
}

static json_object *logs_status(struct lc_plugin *p)
{
	const struct logs_data *d = lc_plugin_get_data(p);
	const struct logs_totals *t;
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object *sources = json_object_new_object(), *v;
	int r = 0;

	if (!d)
		return NULL;
	t = &d->totals;
	lc_json_add_sticky(o, "sources", sources, &r);
	for (size_t i = 0; i < ARRAY_SIZE(d->sources); i++) {
		const struct logs_source *s = &d->sources[i];

		v = logs_source_status(s);
		if (v && streq(s->name, "syslog") && d->syslog)
			lc_json_sticky(logs_syslog_status_add(d->syslog, v), &r);
		else if (v && streq(s->name, "kernel") && d->kmsg)
			lc_json_sticky(logs_kmsg_status_add(d->kmsg, v), &r);
		else if (v && streq(s->name, "journal") && d->journal)
			lc_json_sticky(logs_journal_status_add(d->journal, v), &r);
		lc_json_add_sticky(sources, s->name, v, &r);
	}
	lc_json_add_sticky(o, "collecting", json_object_new_boolean(d->collecting), &r);
	lc_json_add_sticky(o, "min_level", json_object_new_string(levels[d->min_level]), &r);
	lc_json_add_sticky(o, "max_lines_per_minute", json_object_new_uint64(d->budget.per_minute),
			   &r);
	if (d->file)
		lc_json_add_sticky(o, "file", logs_file_status(d), &r);
	else
		lc_json_sticky(lc_json_add_null(o, "file"), &r);
	lc_json_add_sticky(o, "lines", json_object_new_uint64(t->kept), &r);
	lc_json_add_sticky(o, "dropped_rate_limit", json_object_new_uint64(t->over_budget), &r);
	lc_json_add_sticky(o, "lost", json_object_new_uint64(t->lost), &r);
	lc_json_add_sticky(o, "dropped_filter", json_object_new_uint64(t->filtered), &r);
	lc_json_add_sticky(o, "redactions", json_object_new_uint64(t->redactions), &r);
	lc_json_add_sticky(o, "rule_errors", json_object_new_uint64(logs_rules_errors(d->rules)),
			   &r);
	lc_json_add_sticky(o, "rules", logs_rules_status(d->rules), &r);
	lc_json_add_sticky(o, "files_committed", json_object_new_uint64(t->files_committed), &r);
	lc_json_add_sticky(o, "lines_committed", json_object_new_uint64(t->lines_committed), &r);
	lc_json_add_sticky(o, "files_not_recorded", json_object_new_uint64(t->files_dropped), &r);
	lc_json_add_sticky(o, "lines_not_recorded", json_object_new_uint64(t->lines_dropped), &r);
	if (d->last_drop)
		lc_json_add_sticky(o, "last_not_recorded", json_object_new_string(d->last_drop),
				   &r);
	if (d->last_error)
		lc_json_add_sticky(o, "last_error",
				   json_object_new_string(strerror(-d->last_error)), &r);
	return r < 0 ? NULL : TAKE_PTR(o);
}

const struct lc_plugin_ops logs_plugin_ops = {
	.name = "logs",
	.config = &logs_section,
	.init = logs_init,
	.collect = logs_collect,
	.shutdown = logs_shutdown,
	.status = logs_status,
	.consent = logs_consent,
	.sync = logs_sync,
	.crash_logs = logs_crash_logs,
};
