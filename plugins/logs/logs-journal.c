/* SPDX-License-Identifier: MIT */
/*
 * The journal source: sd-journal's descriptor (inotify) is watched by the loop, and new entries are
 * read a bounded number at a time. Where reading stopped is the journal's cursor, saved with the
 * log file (logs-file.h): after a restart or a reboot, reading resumes right after the entry the
 * last flush saved, so that no line is read twice and none is skipped. When that entry is gone
 * (the journal was vacuumed or rotated away while faultd was not reading), reading resumes at the
 * next entry there is, and the gap is counted. Without a saved cursor, reading begins with the
 * first entry of this boot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "build-config.h"
#include "json-util.h"
#include "log.h"
#include "logs-sources.h"

#if HAVE_SYSTEMD
#include <systemd/sd-journal.h>

#include "record.h"

#define JOURNAL_ENTRIES_PER_TURN 512
#define JOURNAL_CURSOR_MAX	 1024
#define JOURNAL_MESSAGE_OVER	 4 /* the longest UTF-8 character */

/* The fields kept, and the room each has once copied out of the journal. */
enum { F_MESSAGE, F_IDENTIFIER, F_PID, F_UNIT, F_COMM, F_TRANSPORT, F_PRIORITY, F_FACILITY, F_MAX };

static const struct {
	const char *prefix; /* "FIELD=" */
	size_t len;
} journal_fields[F_MAX] = {
#define FIELD(s)                 \
	{                        \
		s "=", sizeof(s) \
	}
	[F_MESSAGE] = FIELD("MESSAGE"),	  [F_IDENTIFIER] = FIELD("SYSLOG_IDENTIFIER"),
	[F_PID] = FIELD("_PID"),	  [F_UNIT] = FIELD("_SYSTEMD_UNIT"),
	[F_COMM] = FIELD("_COMM"),	  [F_TRANSPORT] = FIELD("_TRANSPORT"),
	[F_PRIORITY] = FIELD("PRIORITY"), [F_FACILITY] = FIELD("SYSLOG_FACILITY"),
#undef FIELD
};

struct logs_journal {
	struct logs_data *logs;
	struct logs_source *src;
	sd_journal *j;
	int fd;
	bool current_unread; /* the read pointer is on an entry not taken yet */
	bool have_entry;     /* an entry was taken: the cursor is the read pointer's */
	bool pinned;	     /* cursor is the entry taken last, while the read pointer is past it */
	sd_id128_t boot;     /* of the entry taken last */
	/* The cursor of the entry taken last (at first the one faultd resumed from): after journald
	 * rotates, the read pointer has none until the next entry is read, and a flush then saves
	 * this one. */
	char *cursor;
	size_t max_message;
	/* Copies of the current entry's fields: the fixed ones, then logs.extra_attributes. */
	char *fields[F_MAX + LOGS_EXTRA_MAX];
	size_t lens[F_MAX + LOGS_EXTRA_MAX];
	size_t room[F_MAX + LOGS_EXTRA_MAX];
	char extra_names[LOGS_EXTRA_MAX][LOGS_EXTRA_NAME_MAX + 1];
	size_t extra_lens[LOGS_EXTRA_MAX];
	size_t n_extra;
	struct logs_field extra[LOGS_EXTRA_MAX]; /* those the current entry has */
	struct lc_watch *watch;
	struct lc_timer *timer; /* more entries than a turn reads: the rest at the next */
};

bool logs_journal_available(struct lc_plugin *p)
{
	static const char *const dirs[] = { "/run/log/journal", "/var/log/journal" };
	struct stat st;

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *path = lc_plugin_sysroot_path(p, dirs[i]);

		if (path && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return true;
	}
	return false;
}

struct logs_journal *logs_journal_stop(struct logs_journal *j)
{
	if (!j)
		return NULL;
	/* The host releases the watch and the timer before shutdown; the descriptor is the
	 * journal's. */
	if (j->j)
		sd_journal_close(j->j);
	for (size_t i = 0; i < F_MAX + LOGS_EXTRA_MAX; i++)
		free(j->fields[i]);
	free(j->cursor);
	free(j);
	return NULL;
}

static void journal_stopp(struct logs_journal **j)
{
	logs_journal_stop(*j);
}

/* A small number field (PRIORITY, SYSLOG_FACILITY): its value, or -1 when it is not 0..max. */
static int journal_number(const struct logs_journal *j, int f, int max)
{
	int v = 0;

	if (j->lens[f] == 0 || j->lens[f] > 3)
		return -1;
	for (size_t i = 0; i < j->lens[f]; i++) {
		if (j->fields[f][i] < '0' || j->fields[f][i] > '9')
			return -1;
		v = v * 10 + (j->fields[f][i] - '0');
	}
	return v <= max ? v : -1;
}

/* _TRANSPORT as a static string. */
static const char *journal_transport(const struct logs_journal *j)
{
	static const char *const known[] = { "audit",	"driver", "syslog",
					     "journal", "stdout", "kernel" };

	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (j->lens[F_TRANSPORT] == strlen(known[i]) &&
		    memcmp(j->fields[F_TRANSPORT], known[i], j->lens[F_TRANSPORT]) == 0)
			return known[i];
	return "journal";
}

static const char *journal_cursor(struct logs_journal *j);

/* Takes the entry at the read pointer. */
static void journal_take(struct logs_journal *j)
{
	struct logs_record r;
	const void *data;
	size_t len;
	uint64_t usec = 0;
	sd_id128_t boot;
	char boot_id[SD_ID128_STRING_MAX];
	size_t n_extra = 0;

	for (size_t i = 0; i < F_MAX + j->n_extra; i++)
		j->lens[i] = 0;
	SD_JOURNAL_FOREACH_DATA(j->j, data, len)
	{
		for (size_t f = 0; f < F_MAX + j->n_extra; f++) {
			const char *name =
				f < F_MAX ? journal_fields[f].prefix : j->extra_names[f - F_MAX];
			size_t k = f < F_MAX ? journal_fields[f].len : j->extra_lens[f - F_MAX] + 1;
			size_t n;

			/* "NAME=": the fixed ones' prefix holds the '=', an extra name does not. */
			if (len < k || memcmp(data, name, k - 1) != 0 ||
			    ((const char *)data)[k - 1] != '=')
				continue;
			n = MIN(len - k, j->room[f]);
			memcpy(j->fields[f], (const char *)data + k, n);
			j->lens[f] = n;
			break;
		}
	}
	for (size_t i = 0; i < j->n_extra; i++)
		if (j->lens[F_MAX + i] > 0)
			j->extra[n_extra++] =
				(struct logs_field){ j->extra_names[i],
						     { j->fields[F_MAX + i], j->lens[F_MAX + i] } };
	(void)sd_journal_get_realtime_usec(j->j, &usec);
	/* The entry's boot: the last lines of the boot before come first after a reboot. Where the
	 * boot changes, the file that ends is closed with the position of the entry taken last, not
	 * this one's, which goes into the next file. */
	if (sd_journal_get_monotonic_usec(j->j, NULL, &boot) >= 0 &&
	    !sd_id128_equal(boot, j->boot)) {
		if (j->have_entry && sd_journal_previous(j->j) > 0) {
			(void)journal_cursor(j);
			j->pinned = true;
			if (sd_journal_next(j->j) <= 0)
				lc_plugin_log(logs_plugin(j->logs), LOG_WARNING,
					      "the journal lost its place at a boot's end.");
		}
		logs_boot(j->logs, sd_id128_to_string(boot, boot_id));
		j->pinned = false;
		j->boot = boot;
	}
	r = (struct logs_record){
		.ts_us = usec,
		.priority = journal_number(j, F_PRIORITY, LOGS_PRIORITY_MAX),
		.facility = journal_number(j, F_FACILITY, 127),
		.message = { j->fields[F_MESSAGE], j->lens[F_MESSAGE] },
		.identifier = { j->fields[F_IDENTIFIER], j->lens[F_IDENTIFIER] },
		.pid = { j->fields[F_PID], j->lens[F_PID] },
		.unit = { j->fields[F_UNIT], j->lens[F_UNIT] },
		.comm = { j->fields[F_COMM], j->lens[F_COMM] },
		.transport = journal_transport(j),
		.extra = j->extra,
		.n_extra = n_extra,
	};
	/* An entry without PRIORITY is as journald shows it: info. */
	if (r.priority < 0)
		r.priority = 6;
	j->have_entry = true;
	logs_take(j->logs, j->src, &r);
}

static void journal_fail(struct logs_journal *j, int error, const char *what)
{
	j->src->counts.errors++;
	j->watch = lc_watch_free(j->watch);
	j->timer = lc_timer_free(j->timer);
	logs_source_set(j->src, LOGS_SOURCE_FAILED, "%s: %s", what, strerror(-error));
	lc_plugin_log_errno(logs_plugin(j->logs), LOG_ERR, error,
			    "%s failed: %m; no more journal lines until faultd reloads.", what);
}

static void journal_on_more(struct lc_plugin *p, void *userdata);

/* The read pointer's cursor, remembered when it has one. */
static const char *journal_cursor(struct logs_journal *j)
{
	char *cursor = NULL;

	if (j->have_entry && !j->pinned && sd_journal_get_cursor(j->j, &cursor) >= 0) {
		free(j->cursor);
		j->cursor = cursor;
	}
	return j->cursor;
}

/* Reads what the journal has, at most a turn's share; the rest on a timer at once. */
static void journal_drain(struct logs_journal *j)
{
	bool taken = false;
	int r = 0;

	if (j->current_unread) {
		j->current_unread = false;
		journal_take(j);
		taken = true;
	}
	for (unsigned i = 0; i < JOURNAL_ENTRIES_PER_TURN; i++) {
		r = sd_journal_next(j->j);
		if (r <= 0)
			break;
		journal_take(j);
		taken = true;
	}
	/* The read pointer is on the entry taken last, until journald rotates it away. */
	if (taken)
		(void)journal_cursor(j);
	if (r < 0) {
		j->src->counts.errors++;
		lc_plugin_log_errno(logs_plugin(j->logs), LOG_WARNING, r,
				    "failed to read the journal: %m.");
		return;
	}
	if (r == 0)
		return;
	if (j->timer)
		r = lc_timer_restart(j->timer, 1, 0);
	else
		r = lc_plugin_timer_add(logs_plugin(j->logs), 1, 0, journal_on_more, j, &j->timer);
	if (r < 0)
		lc_plugin_log_errno(logs_plugin(j->logs), LOG_WARNING, r,
				    "failed to arm the journal's timer: %m; the rest is read with "
				    "the next entry.");
}

static void journal_on_more(struct lc_plugin *p, void *userdata)
{
	journal_drain(userdata);
}

static void journal_on_readable(struct lc_plugin *p, int fd, unsigned events, int error,
				void *userdata)
{
	struct logs_journal *j = userdata;
	int r;

	if (error < 0) {
		journal_fail(j, error, "watching the journal");
		return;
	}
	r = sd_journal_process(j->j);
	if (r < 0) {
		journal_fail(j, r, "following the journal");
		return;
	}
	journal_drain(j);
}

/* The read pointer on the first entry of this boot (not taken yet), or after the last entry
 * there is when this boot has none. */
static int journal_seek_boot(struct logs_journal *j, const char *boot_id)
{
	char match[sizeof("_BOOT_ID=") + 32], *cursor = NULL;
	size_t k = strlen("_BOOT_ID=");
	int r;

	memcpy(match, "_BOOT_ID=", k);
	for (const char *s = boot_id; *s && k < sizeof(match) - 1; s++)
		if (*s != '-')
			match[k++] = *s;
	match[k] = 0;
	r = sd_journal_add_match(j->j, match, 0);
	if (r < 0)
		return r;
	r = sd_journal_seek_head(j->j);
	if (r >= 0)
		r = sd_journal_next(j->j);
	if (r > 0)
		r = sd_journal_get_cursor(j->j, &cursor);
	sd_journal_flush_matches(j->j);
	if (r < 0)
		return r;
	if (cursor) {
		r = sd_journal_seek_cursor(j->j, cursor);
		free(cursor);
		if (r >= 0)
			r = sd_journal_next(j->j);
		j->current_unread = r > 0;
		return r < 0 ? r : 0;
	}
	r = sd_journal_seek_tail(j->j);
	if (r >= 0)
		r = sd_journal_previous(j->j);
	return r < 0 ? r : 0;
}

/* The read pointer right after the entry of cursor; when that entry is gone, on the next one (not
 * taken yet), the gap counted. */
static int journal_seek_saved(struct logs_journal *j, const char *cursor)
{
	int r;

	r = sd_journal_seek_cursor(j->j, cursor);
	if (r >= 0)
		r = sd_journal_next(j->j);
	if (r <= 0)
		return r;
	r = sd_journal_test_cursor(j->j, cursor);
	if (r < 0)
		return r;
	if (r == 0) {
		j->src->counts.gaps++;
		j->current_unread = true;
		lc_plugin_log(logs_plugin(j->logs), LOG_WARNING,
			      "the journal no longer holds the entry faultd read last (it was "
			      "vacuumed or rotated away); resuming at the oldest one after it, "
			      "the lines in between are lost.");
	}
	return 0;
}

int logs_journal_start(struct logs_data *d, struct logs_source *src, bool required,
		       struct logs_journal **ret)
{
	struct lc_plugin *p = logs_plugin(d);
	const char *sysroot = lc_config_get_string(lc_plugin_config(p), "sysroot");
	const struct lc_boot_info *boot = lc_plugin_boot_info(p);
	_cleanup_(journal_stopp) struct logs_journal *j = NULL;
	json_object *saved = logs_saved_position(d, "journal"), *v;
	const char *cursor = NULL;
	int r;

	j = calloc(1, sizeof(*j));
	if (!j)
		return log_oom();
	j->logs = d;
	j->src = src;
	src->own_boot = true;
	j->max_message = (size_t)lc_plugin_config_int(p, "max_line_bytes");
	/* The schema checked each name; one given twice is kept once. */
	for (const char *const *name = lc_plugin_config_strv(p, "extra_attributes");
	     name && *name && j->n_extra < LOGS_EXTRA_MAX; name++) {
		size_t k, len = strlen(*name);

		for (k = 0; k < j->n_extra && !streq(j->extra_names[k], *name); k++)
			;
		if (k < j->n_extra || len > LOGS_EXTRA_NAME_MAX)
			continue;
		memcpy(j->extra_names[j->n_extra], *name, len + 1);
		j->extra_lens[j->n_extra++] = len;
	}
	for (size_t i = 0; i < F_MAX + j->n_extra; i++) {
		/* Longer than the JSON line keeps, so that it cuts each field between two UTF-8
		 * characters (and counts a cut MESSAGE). */
		j->room[i] =
			(i == F_MESSAGE ? j->max_message : LOGS_FIELD_MAX) + JOURNAL_MESSAGE_OVER;
		j->fields[i] = malloc(j->room[i]);
		if (!j->fields[i])
			return log_oom();
	}
	/* The system's journal; a sysroot's is below it, as journalctl --root reads it. */
	if (streq(sysroot, "/"))
		r = sd_journal_open(&j->j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
	else
		r = sd_journal_open_directory(&j->j, sysroot, SD_JOURNAL_OS_ROOT);
	if (r >= 0)
		r = sd_journal_set_data_threshold(j->j, journal_fields[F_MESSAGE].len +
								j->room[F_MESSAGE]);
	if (r >= 0)
		r = j->fd = sd_journal_get_fd(j->j);
	if (r < 0) {
		logs_source_set(src, LOGS_SOURCE_FAILED, "opening the journal: %s", strerror(-r));
		lc_plugin_log_errno(p, required ? LOG_ERR : LOG_WARNING, r,
				    "failed to open the journal: %m");
		return required ? r : 0;
	}
	if (saved && json_object_object_get_ex(saved, "cursor", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) <= JOURNAL_CURSOR_MAX)
		cursor = json_object_get_string(v);
	if (cursor) {
		j->cursor = strdup(cursor);
		if (!j->cursor)
			return log_oom();
		r = journal_seek_saved(j, cursor);
	} else {
		r = journal_seek_boot(j, boot ? boot->boot_id : "");
	}
	if (r >= 0)
		r = lc_plugin_watch_fd(p, j->fd, LC_WATCH_READ, journal_on_readable, j, &j->watch);
	/* What is there already is read at once. */
	if (r >= 0)
		r = lc_plugin_timer_add(p, 1, 0, journal_on_more, j, &j->timer);
	if (r < 0) {
		logs_source_set(src, LOGS_SOURCE_FAILED, "starting to read the journal: %s",
				strerror(-r));
		lc_plugin_log_errno(p, required ? LOG_ERR : LOG_WARNING, r,
				    "failed to start reading the journal: %m");
		return required ? r : 0;
	}
	logs_source_set(src, LOGS_SOURCE_RUNNING, "%s",
			streq(sysroot, "/") ? "the system journal" : "the journal below sysroot");
	*ret = TAKE_PTR(j);
	return 0;
}

json_object *logs_journal_position(struct logs_journal *j)
{
	_cleanup_json_ json_object *o = NULL;
	const char *cursor = journal_cursor(j);

	if (!cursor)
		return NULL;
	o = json_object_new_object();
	if (lc_json_add(o, "cursor", json_object_new_string(cursor)) < 0)
		return NULL;
	return TAKE_PTR(o);
}

void logs_journal_pending(struct logs_journal *j)
{
	if (j && j->watch)
		journal_on_readable(logs_plugin(j->logs), j->fd, LC_WATCH_READ, 0, j);
}

int logs_journal_status_add(struct logs_journal *j, json_object *o)
{
	_cleanup_json_ json_object *pos = logs_journal_position(j);
	json_object *v;

	if (pos && json_object_object_get_ex(pos, "cursor", &v))
		return lc_json_add(o, "cursor", json_object_get(v));
	return lc_json_add_null(o, "cursor");
}

#else /* !HAVE_SYSTEMD */

bool logs_journal_available(struct lc_plugin *p)
{
	return false;
}

int logs_journal_start(struct logs_data *d, struct logs_source *src, bool required,
		       struct logs_journal **ret)
{
	logs_source_set(src, LOGS_SOURCE_FAILED, "faultd was built without libsystemd");
	lc_plugin_log(logs_plugin(d), required ? LOG_ERR : LOG_INFO,
		      "the journal cannot be read: faultd was built without libsystemd.");
	return required ? -EOPNOTSUPP : 0;
}

struct logs_journal *logs_journal_stop(struct logs_journal *j)
{
	return NULL;
}

json_object *logs_journal_position(struct logs_journal *j)
{
	return NULL;
}

int logs_journal_status_add(struct logs_journal *j, json_object *o)
{
	return 0;
}

void logs_journal_pending(struct logs_journal *j)
{
}

#endif
