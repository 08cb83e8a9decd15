/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build-config.h"
#include "coredump-config.h"
#include "coredump-plugin.h"
#include "crashlog.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"

#define CORE_PATTERN_PATH    "/proc/sys/kernel/core_pattern"
#define CORE_PIPE_LIMIT_PATH "/proc/sys/kernel/core_pipe_limit"
/* The kernel keeps core_pattern in CORENAME_MAX_SIZE (128) bytes with its NUL, and cuts a longer
 * one silently: a cut pattern would lose the handler's arguments. */
#define CORE_PATTERN_MAX 127
/*
 * With core_pipe_limit 0 the kernel does not wait for the handler before it reaps the crashed
 * process, so /proc/<pid> (maps, mem for the dynamic linker's list) may be gone before the handler
 * has read it. A limit makes the kernel wait; crashes beyond that many concurrent dumps get no core
 * at all, so it is generous: 16, as systemd-coredump uses. A limit someone set is kept.
 */
#define CORE_PIPE_LIMIT	  16
#define SYSCTL_READ_MAX	  4096
#define SAVED_FILE	  "/coredump-kernel.json"
#define SAVED_MAX	  4096
#define HANDLER_NAME	  "faultd-core-handler"
#define CRASH_NAMES_MAX	  256 /* processes counted by name; further names count as "other" */
#define STATUS_TOP	  32  /* processes named in the status; the rest are summed as "other" */
#define METRIC_PREFIX	  "coredump/crashes/"
#define PROCESS_NAME_SIZE sizeof(((struct lc_crash_report *)0)->process)

struct coredump_count {
	char process[PROCESS_NAME_SIZE];
	uint64_t count;
};

struct coredump_data {
	char *pattern_path;		    /* core_pattern below sysroot */
	char *limit_path;		    /* core_pipe_limit below sysroot */
	char *handler_path;		    /* coredump.handler below sysroot */
	char pattern[CORE_PATTERN_MAX + 1]; /* ours */

	/* As of the last check. */
	char *current;	/* core_pattern; NULL when it could not be read */
	int read_error; /* why it could not, 0 */
	int64_t limit;	/* core_pipe_limit; -1 when unknown */
	bool ours;	/* current is our pattern */
	bool held;	/* faultd set it (or found it set) while data collection is on */
	char *warned;	/* the foreign value last warned about, so that each change is told once */

	struct coredump_count counts[CRASH_NAMES_MAX];
	size_t n_counts;
	uint64_t other; /* crashes of processes beyond CRASH_NAMES_MAX names */
	uint64_t total;
};

/* What the kernel had before faultd set it, kept in state_dir across restarts. */
struct coredump_saved {
	char *pattern; /* NULL: not saved */
	int64_t limit; /* -1: not saved (faultd did not change it) */
};

static void saved_done(struct coredump_saved *s)
{
	free(s->pattern);
	s->pattern = NULL;
	s->limit = -1;
}

/* Reads a sysctl file into a new string without its trailing newline. Returns 0 or -errno. */
static int sysctl_read(const char *path, char **ret)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	r = lc_read_file(path, SYSCTL_READ_MAX, &text, &len);
	if (r < 0)
		return r;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = 0;
	*ret = text;
	return 0;
}

/*
 * Writes value to a sysctl file. The file must exist (never created: in /proc a missing one means
 * the kernel has no such setting, and a fake tree must say what it holds); then it is read back,
 * since a kernel may refuse a value without failing the write. Returns 0, -EIO when the kernel
 * kept another value, or -errno.
 */
static int sysctl_write(const char *path, const char *value)
{
	_cleanup_free_ char *line = NULL, *back = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (asprintf(&line, "%s\n", value) < 0)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	r = lc_write_all(fd, line, strlen(line));
	if (r < 0)
		return r;
	if (close(TAKE_FD(fd)) < 0)
		return -errno;
	r = sysctl_read(path, &back);
	if (r < 0)
		return r;
	return streq(back, value) ? 0 : -EIO;
}

static int sysctl_read_int(const char *path, int64_t *ret)
{
	_cleanup_free_ char *text = NULL;
	char *end;
	long long v;
	int r;

	r = sysctl_read(path, &text);
	if (r < 0)
		return r;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || end == text || *end)
		return -EBADMSG;
	*ret = v;
	return 0;
}

/* The kernel splits core_pattern at spaces and expands '%': a path holding either cannot be
 * passed to the handler. */
static bool pattern_safe_path(const char *s)
{
	return !strpbrk(s, " \t\n%");
}

/*
 * Composes "|<handler> [-c <config>] %P %I %s %t %u %g" into buf, with -c only when faultd reads
 * another configuration file than the built-in one. Returns 0, or -errno after logging.
 */
static int coredump_pattern(struct lc_plugin *p, char *buf, size_t size)
{
	const struct lc_config *cfg = lc_plugin_config(p);
	const char *handler = lc_plugin_config_string(p, "handler");
	const char *main_path = lc_config_main_path(cfg);
	_cleanup_free_ char *config = NULL;
	int n;

	if (!pattern_safe_path(handler)) {
		log_error("coredump.handler \"%s\" (%s) holds a space or '%%', which core_pattern "
			  "cannot pass on.",
			  handler, lc_config_origin(cfg, "coredump.handler"));
		return -EINVAL;
	}
	if (main_path && !streq(main_path, FAULTD_CONF_PATH)) {
		/* The kernel starts the handler in /: a relative path would name another file. */
		config = main_path[0] == '/' ? strdup(main_path) : realpath(main_path, NULL);
		if (!config)
			return log_error_errno(-errno,
					       "Failed to make the configuration file's path %s "
					       "absolute for core_pattern: %m",
					       main_path);
		if (!pattern_safe_path(config)) {
			log_error("The configuration file's path %s holds a space or '%%', which "
				  "core_pattern cannot pass on to %s.",
				  config, HANDLER_NAME);
			return -EINVAL;
		}
	}
	n = snprintf(buf, size, "|%s%s%s %%P %%I %%s %%t %%u %%g", handler, config ? " -c " : "",
		     config ?: "");
	if (n < 0)
		return -EINVAL;
	if ((size_t)n > CORE_PATTERN_MAX || (size_t)n >= size) {
		log_error("core_pattern would be %d bytes, more than the kernel's %d: shorten "
			  "coredump.handler (%s)%s%s.",
			  n, CORE_PATTERN_MAX, handler,
			  config ? " or the path of the configuration file, " : "", config ?: "");
		return -ENAMETOOLONG;
	}
	return 0;
}

static char *saved_path(const struct lc_plugin *p, const char *rel)
{
	return lc_path_prefix(lc_config_get_string(lc_plugin_config(p), "state_dir"), rel);
}

/* Loads the saved settings; a missing file leaves *ret empty. Returns 0 or -errno (a file that is
 * not what we write is -EBADMSG). */
static int saved_load(const struct lc_plugin *p, struct coredump_saved *ret)
{
	_cleanup_free_ char *path = saved_path(p, SAVED_FILE), *text = NULL;
	_cleanup_json_ json_object *o = NULL;
	json_object *v;
	size_t len;
	int r;

	*ret = (struct coredump_saved){ .limit = -1 };
	if (!path)
		return -ENOMEM;
	r = lc_read_file(path, SAVED_MAX, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	o = json_tokener_parse(text);
	if (!o || !json_object_is_type(o, json_type_object))
		return -EBADMSG;
	if (json_object_object_get_ex(o, "core_pattern", &v)) {
		if (!json_object_is_type(v, json_type_string))
			return -EBADMSG;
		ret->pattern = strdup(json_object_get_string(v));
		if (!ret->pattern)
			return -ENOMEM;
	}
	if (json_object_object_get_ex(o, "core_pipe_limit", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0) {
			saved_done(ret);
			return -EBADMSG;
		}
		ret->limit = json_object_get_int64(v);
	}
	return 0;
}

static int saved_store(const struct lc_plugin *p, const struct coredump_saved *s)
{
	_cleanup_free_ char *path = saved_path(p, SAVED_FILE);
	_cleanup_json_ json_object *o = json_object_new_object();
	const char *text;

	if (!path || !o)
		return -ENOMEM;
	if (s->pattern && lc_json_add(o, "core_pattern", json_object_new_string(s->pattern)) < 0)
		return -ENOMEM;
	if (s->limit >= 0 && lc_json_add(o, "core_pipe_limit", json_object_new_int64(s->limit)) < 0)
		return -ENOMEM;
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	return lc_write_file_atomic(path, text, strlen(text), 0600);
}

static void saved_remove(const struct lc_plugin *p)
{
	_cleanup_free_ char *path = saved_path(p, SAVED_FILE);

	if (path && unlink(path) < 0 && errno != ENOENT)
		log_warning_errno(-errno, "Failed to remove %s: %m", path);
}

/* Says why faultd does not hold core_pattern (what, where, why, what to do): logged at level and
 * kept as the plugin's message in `faultctl status` until it holds it again. */
_printf_(3, 4) static void coredump_tell(struct lc_plugin *p, int level, const char *fmt, ...)
{
	_cleanup_free_ char *text = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		text = NULL;
		(void)lc_plugin_set_message(p, NULL);
		log_oom();
		return;
	}
	lc_log_full_errno(level, 0, "%s", text);
	if (lc_plugin_set_message(p, text) < 0)
		log_oom();
}

/*
 * Whether the kernel can start the handler at path (coredump.handler below sysroot, where the
 * kernel of the system sysroot stands for looks for it): a regular file with an execute bit, as
 * the kernel runs it as root. Returns 0, or -errno with why (size bytes) saying why not.
 */
static int handler_check(const char *path, char *why, size_t size)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		int r = -errno;

		snprintf(why, size, "%s%s",
			 r == -ENOENT ? "does not exist" : "cannot be examined: ",
			 r == -ENOENT ? "" : strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, size, "is not a regular file");
		return -EACCES;
	}
	if (!(st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH))) {
		snprintf(why, size, "is not executable (mode %04o)",
			 (unsigned)(st.st_mode & 07777));
		return -EACCES;
	}
	return 0;
}

/*
 * Gives back what faultd replaced (saved in the state directory), if faultd's pattern is still
 * the kernel's; why ("Data collection is off") starts the log line. What could not be given back
 * stays saved for the next try.
 */
static void coredump_give_back(struct lc_plugin *p, const char *why)
{
	_cleanup_(saved_done) struct coredump_saved saved = { .limit = -1 };
	_cleanup_free_ char *pattern_path = NULL, *limit_path = NULL, *current = NULL;
	bool restored = true;
	int64_t limit;
	int r;

	r = saved_load(p, &saved);
	if (r < 0) {
		log_warning_errno(r,
				  "Ignoring the saved kernel settings in the state directory: %m");
		saved_remove(p);
		return;
	}
	if (!saved.pattern && saved.limit < 0)
		return;
	pattern_path = lc_plugin_sysroot_path(p, CORE_PATTERN_PATH);
	limit_path = lc_plugin_sysroot_path(p, CORE_PIPE_LIMIT_PATH);
	if (!pattern_path || !limit_path) {
		log_oom();
		return;
	}
	if (saved.pattern && sysctl_read(pattern_path, &current) == 0 &&
	    lc_core_pattern_is_faultd(current)) {
		r = sysctl_write(pattern_path, saved.pattern);
		if (r < 0) {
			log_warning_errno(r, "Failed to give kernel.core_pattern back (\"%s\"): %m",
					  saved.pattern);
			restored = false;
		} else {
			log_notice("%s: kernel.core_pattern is \"%s\" again.", why, saved.pattern);
		}
	}
	if (saved.limit >= 0 && sysctl_read_int(limit_path, &limit) == 0 &&
	    limit == CORE_PIPE_LIMIT) {
		char text[24];

		snprintf(text, sizeof(text), "%" PRId64, saved.limit);
		r = sysctl_write(limit_path, text);
		if (r < 0) {
			log_warning_errno(r, "Failed to give kernel.core_pipe_limit back (%s): %m",
					  text);
			restored = false;
		}
	}
	if (restored)
		saved_remove(p);
}

/* Re-reads core_pattern and core_pipe_limit. While faultd holds core_pattern, warns once per
 * change when it is not ours; faultd does not take it back: whoever changed it may have meant
 * to. */
static void coredump_check(struct lc_plugin *p, void *userdata)
{
	struct coredump_data *data = lc_plugin_get_data(p);
	char *value = NULL;
	bool was_ours = data->ours;
	int r;

	if (sysctl_read_int(data->limit_path, &data->limit) < 0)
		data->limit = -1;
	r = sysctl_read(data->pattern_path, &value);
	if (r < 0) {
		if (r != data->read_error)
			log_warning_errno(r, "Failed to read %s: %m", data->pattern_path);
		data->read_error = r;
		data->ours = false;
		free(data->current);
		data->current = NULL;
		return;
	}
	data->read_error = 0;
	free(data->current);
	data->current = value;
	data->ours = streq(value, data->pattern);
	if (!data->held || data->ours) {
		if (data->held && !was_ours)
			log_info("kernel.core_pattern pipes into %s again.", HANDLER_NAME);
		free(data->warned);
		data->warned = NULL;
		return;
	}
	if (data->warned && streq(data->warned, value))
		return;
	log_warning(
		"kernel.core_pattern was changed to \"%s\": %s. faultd leaves it so, as it "
		"may have been set on purpose; a reload or restart of faultd takes it back, and "
		"\"coredump\": {\"enabled\": false} leaves it alone.",
		value,
		lc_core_pattern_is_faultd(value) ? "cores go to " HANDLER_NAME
						   " with other arguments "
						   "than faultd's"
						 : "cores no longer reach " HANDLER_NAME);
	free(data->warned);
	data->warned = strdup(value);
}

/* Raises core_pipe_limit from 0 (see CORE_PIPE_LIMIT). A failure only costs the handler some of
 * /proc, so it is a warning. */
static void coredump_set_pipe_limit(struct coredump_data *data, int64_t limit)
{
	char text[16];
	int r;

	if (limit != 0)
		return;
	snprintf(text, sizeof(text), "%d", CORE_PIPE_LIMIT);
	r = sysctl_write(data->limit_path, text);
	if (r < 0)
		log_warning_errno(r,
				  "Failed to set %s to %d: %m; the kernel may reap a crashed "
				  "process before %s has read its /proc entries.",
				  data->limit_path, CORE_PIPE_LIMIT, HANDLER_NAME);
	else
		log_info("kernel.core_pipe_limit set to %d (was 0), so the kernel waits for %s.",
			 CORE_PIPE_LIMIT, HANDLER_NAME);
}

/*
 * Makes the kernel pipe cores into the handler, which must be there to run: saves what it
 * replaces, writes core_pattern, raises core_pipe_limit from 0. Returns 0, or -errno after
 * telling why (coredump_tell()); a handler that cannot run also gets back what faultd replaced,
 * as faultd's pattern would lose every core.
 */
static int coredump_take(struct lc_plugin *p)
{
	struct coredump_data *data = lc_plugin_get_data(p);
	const struct lc_config *cfg = lc_plugin_config(p);
	_cleanup_(saved_done) struct coredump_saved saved = { .limit = -1 };
	_cleanup_free_ char *current = NULL;
	const char *sysroot = lc_config_get_string(cfg, "sysroot");
	bool save = false, rooted = sysroot[0] && !streq(sysroot, "/");
	char why[128];
	int64_t limit = -1;
	int r;

	r = handler_check(data->handler_path, why, sizeof(why));
	if (r < 0) {
		coredump_tell(
			p, LOG_ERR,
			"Not setting kernel.core_pattern: its handler %s%s%s%s %s, so the "
			"kernel could not start it and every core would be lost. Install %s "
			"there as an executable file, or set coredump.handler (%s) to where it "
			"is, then reload faultd; or turn the plugin off with \"coredump\": "
			"{\"enabled\": false}.",
			data->handler_path, rooted ? " (coredump.handler under sysroot " : "",
			rooted ? sysroot : "", rooted ? ")" : "", why, HANDLER_NAME,
			lc_config_origin(cfg, "coredump.handler"));
		coredump_give_back(p, "Its handler cannot run");
		return r;
	}

	r = sysctl_read(data->pattern_path, &current);
	if (r < 0) {
		coredump_tell(p, LOG_ERR, "Not setting kernel.core_pattern: failed to read %s: %s.",
			      data->pattern_path, strerror(-r));
		return r;
	}
	if (sysctl_read_int(data->limit_path, &limit) < 0) {
		log_warning("Failed to read %s; the kernel may reap a crashed process before %s "
			    "has read its /proc entries.",
			    data->limit_path, HANDLER_NAME);
		limit = -1;
	}

	/* What faultd replaces is saved before it changes, so that it can be given back whatever
	 * happens next; a faultd pattern (an earlier run's) is not worth saving. */
	r = saved_load(p, &saved);
	if (r < 0)
		log_warning_errno(r,
				  "Ignoring the saved kernel settings in the state directory: %m");
	if (!streq(current, data->pattern) && !lc_core_pattern_is_faultd(current)) {
		free(saved.pattern);
		saved.pattern = strdup(current);
		if (!saved.pattern)
			return log_oom();
		save = true;
	}
	if (limit == 0 && saved.limit != 0) {
		saved.limit = 0;
		save = true;
	}
	if (save) {
		r = saved_store(p, &saved);
		if (r < 0) {
			coredump_tell(
				p, LOG_ERR,
				"Not setting kernel.core_pattern: failed to save the kernel's "
				"core settings in the state directory: %s.",
				strerror(-r));
			return r;
		}
	}

	if (!streq(current, data->pattern)) {
		r = sysctl_write(data->pattern_path, data->pattern);
		if (r == -EIO) {
			coredump_tell(p, LOG_ERR,
				      "The kernel did not take core_pattern \"%s\" in %s.",
				      data->pattern, data->pattern_path);
			return r;
		}
		if (r < 0) {
			coredump_tell(
				p, LOG_ERR,
				"Failed to set %s to \"%s\": %s. faultd must run as root with "
				"this file writable; or install the sysctl.d file "
				"(docs/coredumps.md).",
				data->pattern_path, data->pattern, strerror(-r));
			return r;
		}
		log_notice("kernel.core_pattern set to \"%s\" (was \"%s\").", data->pattern,
			   current);
	} else {
		log_debug("kernel.core_pattern already pipes into %s.", HANDLER_NAME);
	}
	coredump_set_pipe_limit(data, limit);
	data->held = true;
	data->ours = true;
	(void)lc_plugin_set_message(p, NULL);
	return 0;
}

/* faultd holds core_pattern only while data collection is on: without consent the handler
 * keeps no core, so the system's own setting (or another handler) is better. */
static void coredump_consent(struct lc_plugin *p, bool on)
{
	struct coredump_data *data = lc_plugin_get_data(p);

	if (on) {
		(void)coredump_take(p);
	} else {
		data->held = false;
		coredump_give_back(p, "Data collection is off");
		coredump_tell(p, LOG_INFO,
			      "Data collection is off: faultd leaves kernel.core_pattern to the "
			      "system, and sets it when data collection is enabled (faultctl "
			      "enable-data-collection).");
	}
	coredump_check(p, NULL);
}

static int coredump_init(struct lc_plugin *p)
{
	_cleanup_free_ struct coredump_data *data = NULL;
	_cleanup_free_ char *current = NULL;
	uint64_t interval_ms = (uint64_t)lc_plugin_config_int(p, "check_interval_seconds") * 1000;
	int r;

	data = calloc(1, sizeof(*data));
	if (!data)
		return log_oom();
	r = coredump_pattern(p, data->pattern, sizeof(data->pattern));
	if (r < 0)
		return r;
	data->limit = -1;
	data->pattern_path = lc_plugin_sysroot_path(p, CORE_PATTERN_PATH);
	data->limit_path = lc_plugin_sysroot_path(p, CORE_PIPE_LIMIT_PATH);
	data->handler_path = lc_plugin_sysroot_path(p, lc_plugin_config_string(p, "handler"));
	if (!data->pattern_path || !data->limit_path || !data->handler_path) {
		r = log_oom();
		goto fail;
	}

	r = sysctl_read(data->pattern_path, &current);
	if (r == -ENOENT) {
		log_error("%s does not exist: this kernel cannot dump cores (CONFIG_COREDUMP).",
			  data->pattern_path);
		goto fail;
	}
	if (r < 0) {
		log_error_errno(r, "Failed to read %s: %m", data->pattern_path);
		goto fail;
	}

	r = lc_plugin_timer_add(p, interval_ms, interval_ms, coredump_check, NULL, NULL);
	if (r < 0) {
		log_error_errno(r, "Failed to start the core_pattern check: %m");
		goto fail;
	}
	lc_plugin_set_data(p, TAKE_PTR(data));
	/* Takes core_pattern, or says why not; then the first check fills the status. */
	coredump_consent(p, lc_config_get_bool(lc_plugin_config(p), "enable_data_collection"));
	return 0;
fail:
	free(data->pattern_path);
	free(data->limit_path);
	free(data->handler_path);
	return r;
}

static void coredump_shutdown(struct lc_plugin *p)
{
	struct coredump_data *data = lc_plugin_get_data(p);

	if (!data)
		return;
	/* core_pattern stays: the handler works without faultd, and the crash log waits for the
	 * next start. */
	if (data->held)
		log_debug("Leaving kernel.core_pattern to %s.", HANDLER_NAME);
	free(data->pattern_path);
	free(data->limit_path);
	free(data->handler_path);
	free(data->current);
	free(data->warned);
	free(data);
}

/* A reload turned the plugin off: gives back what faultd replaced, if faultd's pattern is still
 * in place. (A start with the plugin off touches nothing, so that core_pattern can be set by
 * the sysctl.d file instead.) */
static void coredump_disabled(struct lc_plugin *p)
{
	coredump_give_back(p, "The coredump plugin is disabled");
}

/* "coredump/crashes/<process>" with the key characters of metrics.h but '/', so that a name
 * cannot add levels; buf holds sizeof(METRIC_PREFIX) + PROCESS_NAME_SIZE bytes. */
static void metric_key(const char *process, char *buf)
{
	size_t n = strlen(METRIC_PREFIX);

	memcpy(buf, METRIC_PREFIX, n);
	for (size_t i = 0; process[i] && i + 1 < PROCESS_NAME_SIZE; i++) {
		char c = process[i];
		bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';

		buf[n++] = keep ? c : '_';
	}
	buf[n] = 0;
}

static void coredump_crash(struct lc_plugin *p, const struct lc_crash_report *r)
{
	struct coredump_data *data = lc_plugin_get_data(p);
	const char *process = r->process[0] ? r->process : "unknown";
	char key[sizeof(METRIC_PREFIX) + PROCESS_NAME_SIZE];
	size_t i;
	int k;

	data->total++;
	for (i = 0; i < data->n_counts; i++)
		if (streq(data->counts[i].process, process))
			break;
	if (i < data->n_counts) {
		data->counts[i].count++;
	} else if (data->n_counts < CRASH_NAMES_MAX) {
		snprintf(data->counts[i].process, sizeof(data->counts[i].process), "%s", process);
		data->counts[i].count = 1;
		data->n_counts++;
	} else {
		data->other++;
	}
	metric_key(process, key);
	k = lc_plugin_metric(p, key, strlen(key), LC_METRIC_COUNTER, 1);
	if (k < 0 && k != -EPERM)
		log_debug_errno(k, "Crash of %s not counted in the metric %s: %m", process, key);
}

static int cmp_counts(const void *a, const void *b)
{
	const struct coredump_count *x = *(const struct coredump_count *const *)a;
	const struct coredump_count *y = *(const struct coredump_count *const *)b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->process, y->process);
}

/* {"total", "processes": {name: count} of the STATUS_TOP most crashed, "other"}. */
static json_object *crashes_status(const struct coredump_data *data)
{
	const struct coredump_count *order[CRASH_NAMES_MAX];
	json_object *o = json_object_new_object(), *procs = json_object_new_object();
	uint64_t other = data->other;

	if (!o || !procs) {
		json_object_put(o);
		json_object_put(procs);
		return NULL;
	}
	for (size_t i = 0; i < data->n_counts; i++)
		order[i] = &data->counts[i];
	qsort(order, data->n_counts, sizeof(order[0]), cmp_counts);
	for (size_t i = 0; i < data->n_counts; i++) {
		if (i >= STATUS_TOP) {
			other += order[i]->count;
			continue;
		}
		if (lc_json_add(procs, order[i]->process,
				json_object_new_int64((int64_t)order[i]->count)) < 0)
			break;
	}
	if (lc_json_add(o, "total", json_object_new_int64((int64_t)data->total)) < 0 ||
	    lc_json_add(o, "processes", procs) < 0 ||
	    lc_json_add(o, "other", json_object_new_int64((int64_t)other)) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* {"ours", "value" (null when unreadable), "error" (when unreadable)} */
static json_object *pattern_status(const struct coredump_data *data)
{
	_cleanup_json_ json_object *o = json_object_new_object();

	if (lc_json_add(o, "ours", json_object_new_boolean(data->ours)) < 0 ||
	    lc_json_add_string_or_null(o, "value", data->current) < 0)
		return NULL;
	if (data->read_error &&
	    lc_json_add(o, "error", json_object_new_string(strerror(-data->read_error))) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static json_object *coredump_status(struct lc_plugin *p)
{
	struct coredump_data *data = lc_plugin_get_data(p);
	_cleanup_json_ json_object *o = json_object_new_object();

	if (lc_json_add(o, "core_pattern", pattern_status(data)) < 0 ||
	    lc_json_add(o, "expected", json_object_new_string(data->pattern)) < 0 ||
	    (data->limit >= 0
		     ? lc_json_add(o, "core_pipe_limit", json_object_new_int64(data->limit))
		     : lc_json_add_null(o, "core_pipe_limit")) < 0 ||
	    lc_json_add(o, "crashes", crashes_status(data)) < 0)
		return NULL;
	return TAKE_PTR(o);
}

const struct lc_plugin_ops coredump_plugin_ops = {
	.name = "coredump",
	.config = &coredump_config_section,
	.init = coredump_init,
	.shutdown = coredump_shutdown,
	.status = coredump_status,
	.crash = coredump_crash,
	.disabled = coredump_disabled,
	.consent = coredump_consent,
};
