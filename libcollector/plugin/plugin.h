/* SPDX-License-Identifier: MIT */
/*
 * The plugin API. A plugin is a const table of callbacks plus a configuration section; it asks the
 * core for timers and descriptor watches and never sees the event loop. Everything it asked for
 * is released by the core when the plugin stops, so shutdown only undoes what init itself built.
 * A plugin whose init fails is disabled and reported; the others and the daemon keep running.
 *
 * Convention: a plugin's configuration section has a boolean key "enabled"; the host starts the
 * plugin only when it is true. A plugin without a section is always started.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "config.h"
#include "macro.h"
#include "metric-kind.h"

struct lc_boot_info;
struct lc_crash_report;
struct lc_plugin;
struct lc_timer;
struct lc_watch;

struct lc_plugin_ops {
	const char *name;		       /* [a-z0-9_], also the configuration section */
	const struct lc_cfg_section *config;   /* NULL when the plugin has no settings */
	int (*init)(struct lc_plugin *p);      /* 0, or -errno after logging why */
	void (*collect)(struct lc_plugin *p);  /* optional: add readings now (heartbeat rolling) */
	void (*shutdown)(struct lc_plugin *p); /* optional: free what init allocated; its
						* timers and watches are already released */
	json_object *(*status)(struct lc_plugin *p); /* optional: shown by `faultctl status` */
	/* optional: a process crashed (a report of faultd-core-handler, crashlog.h); called only
	 * while data collection is on, once per report, after the hours ledger counted it */
	void (*crash)(struct lc_plugin *p, const struct lc_crash_report *r);
	/* optional: a reload turned the plugin off (it ran, its section now says "enabled":
	 * false); called after its shutdown, instead of init, with no data, timers or watches, to
	 * undo a setting outside faultd that shutdown leaves in place on purpose */
	void (*disabled)(struct lc_plugin *p);
	/* optional: data collection (consent) was turned on or off while the plugin runs, by
	 * faultctl enable-/disable-data-collection; init reads it from "enable_data_collection" */
	void (*consent)(struct lc_plugin *p, bool on);
	/* optional: `faultctl sync` is about to upload: record what is held in progress (a log
	 * file) now, so that this upload carries it. Called while data collection is on. */
	void (*sync)(struct lc_plugin *p);
	/* optional: faultd-core-handler asks for the log lines kept before a crash that happened
	 * at crash_mono_ms (CLOCK_MONOTONIC): a new array of JSON-line strings, oldest first, at
	 * most max_bytes of lines together; NULL when the plugin keeps none (turned off). */
	json_object *(*crash_logs)(struct lc_plugin *p, uint64_t crash_mono_ms, size_t max_bytes);
};

/* The plugin's name, as in its ops table. */
const char *lc_plugin_name(const struct lc_plugin *p);

/* Private data of the plugin instance; NULL until set. */
void *lc_plugin_get_data(const struct lc_plugin *p);
void lc_plugin_set_data(struct lc_plugin *p, void *data);

/* Configuration of the plugin's own section, by key within the section ("listen"). */
bool lc_plugin_config_bool(const struct lc_plugin *p, const char *key);
int64_t lc_plugin_config_int(const struct lc_plugin *p, const char *key);
const char *lc_plugin_config_string(const struct lc_plugin *p, const char *key);
const char *const *lc_plugin_config_strv(const struct lc_plugin *p, const char *key);

/* The whole configuration, read-only, for core keys such as "sysroot" or "state_dir". */
const struct lc_config *lc_plugin_config(const struct lc_plugin *p);

/* Returns path resolved under the configured sysroot (new string, NULL on OOM). */
char *lc_plugin_sysroot_path(const struct lc_plugin *p, const char *path);

/*
 * Logs a message of the plugin at level (LOG_ERR, LOG_WARNING, ...), prefixed with its name
 * ("statsd: failed to bind ..."), as log.h does otherwise: rate-limited per call site, "%m"
 * standing for strerror(error). Returns -abs(error), 0 when error is 0, so init can end with
 * `return lc_plugin_log_errno(p, LOG_ERR, r, ...)`. The first message at LOG_ERR or worse that
 * init logs is the reason `faultctl status` gives if init fails.
 */
int lc_plugin_log_internal(struct lc_plugin *p, int level, int error, const char *file, int line,
			   const char *func, const char *fmt, ...) _printf_(7, 8);

#define lc_plugin_log_errno(p, level, error, ...) \
	lc_plugin_log_internal((p), (level), (error), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define lc_plugin_log(p, level, ...) ((void)lc_plugin_log_errno((p), (level), 0, __VA_ARGS__))

/*
 * Sets the sentence `faultctl status` shows beside the running plugin's state ("message"): what
 * it is not doing, why, and what to do. message is copied; NULL clears it, and so does a stop.
 * Returns 0 or -ENOMEM (the previous message is then cleared).
 */
int lc_plugin_set_message(struct lc_plugin *p, const char *message);

/*
 * Records an entry of type with metadata (reference taken, also on failure) through the core,
 * which applies consent and the fleet's sampling. *ret_uuid (37 bytes), if not NULL, receives
 * the entry's UUID. Returns 0 or -errno with *ret_why (static): -EPERM consent off, -ECANCELED
 * sampled out, -ENOSPC refused by the spool's limits, -ENOTSUP outside a daemon.
 */
int lc_plugin_record(struct lc_plugin *p, const char *type, json_object *metadata, char *ret_uuid,
		     const char **ret_why);

/*
 * As lc_plugin_record(), for an entry with one attachment, name ([A-Za-z0-9._-], 1 to 100 bytes),
 * holding the len bytes of fd from offset 0 (copied with pread(): fd and its offset stay the
 * plugin's). The entry is named uuid, a lowercase UUID the plugin chose and keeps with what it
 * records, so that recording the same file again after a crash never makes a second entry: that
 * returns -EEXIST while the spool still holds the first (or sends the same entry again, which the
 * server knows by its UUID). Returns 0 or -errno with *ret_why as lc_plugin_record().
 */
int lc_plugin_record_file(struct lc_plugin *p, const char *type, json_object *metadata,
			  const char *uuid, const char *name, int fd, uint64_t len,
			  const char **ret_why);

/* As lc_plugin_record(), recorded as the software version that was running when the previous
 * boot ended (known when this is faultd's first start in a new boot; else the current one):
 * for the entry that tells how that boot ended. */
int lc_plugin_record_ended_boot(struct lc_plugin *p, const char *type, json_object *metadata,
				char *ret_uuid, const char **ret_why);

/* Tells the hours ledger that the boot before this one ended unexpectedly. */
void lc_plugin_report_unexpected_reboot(struct lc_plugin *p);

/*
 * Tells the hours ledger that a failure of kind (failure-kind.h: 1 to 32 of [a-z0-9_], beginning
 * with a letter or a digit) happened now: the heartbeat interval in progress is kind-failure time
 * (docs/hours.md). Returns 0; -EPERM while data collection is off (not counted); -EINVAL for a bad
 * kind; -ENOTSUP outside a daemon; or the -errno of saving the ledger (counted even so).
 */
int lc_plugin_report_failure(struct lc_plugin *p, const char *kind);

/* This boot's facts (boot id, the previous one, first boot ever); NULL outside a daemon. */
const struct lc_boot_info *lc_plugin_boot_info(const struct lc_plugin *p);

/* The device's identity as the core resolved it (configuration, device-info command,
 * fallbacks), without running anything again; NULL outside a daemon. */
const struct lc_identity *lc_plugin_identity(const struct lc_plugin *p);

/*
 * Readings for the heartbeat in progress (metrics.h gives each kind's aggregate and the key
 * rules). Returns 0; -EINVAL for a bad key or value or a kind differing from the key's; -ENOSPC
 * over the key cap; -EPERM while data collection is off (nothing is kept); -ENOTSUP outside a
 * daemon; -ENOMEM. Rejections are counted by the store and reported in the heartbeat, so callers
 * need not log each one.
 */
int lc_plugin_metric(struct lc_plugin *p, const char *key, size_t key_len, enum lc_metric_kind kind,
		     double value);
int lc_plugin_metric_gauge_delta(struct lc_plugin *p, const char *key, size_t key_len,
				 double delta);
int lc_plugin_metric_set_add(struct lc_plugin *p, const char *key, size_t key_len,
			     const char *member, size_t member_len);

typedef void (*lc_timer_cb_t)(struct lc_plugin *p, void *userdata);

/*
 * Calls cb after first_ms, then every repeat_ms (0: once). A first_ms of 0 waits 1 ms, so that a
 * timer re-armed "at once" from its own callback lets the rest of the loop run. The timer
 * belongs to the plugin and is released when the plugin stops, or earlier with lc_timer_free().
 * Returns 0 or -errno.
 */
int lc_plugin_timer_add(struct lc_plugin *p, uint64_t first_ms, uint64_t repeat_ms,
			lc_timer_cb_t cb, void *userdata, struct lc_timer **ret);

/* Re-arms t: cb after first_ms (at least 1), then every repeat_ms (0: once). Returns 0 or
 * -errno. */
int lc_timer_restart(struct lc_timer *t, uint64_t first_ms, uint64_t repeat_ms);

/* Stops and releases a timer; accepts NULL and returns NULL. */
struct lc_timer *lc_timer_free(struct lc_timer *t);

enum {
	LC_WATCH_READ = 1 << 0,
	LC_WATCH_WRITE = 1 << 1,
};

/* events: LC_WATCH_READ/WRITE that fired; error: 0 or -errno reported by the loop. */
typedef void (*lc_watch_cb_t)(struct lc_plugin *p, int fd, unsigned events, int error,
			      void *userdata);

/*
 * Calls cb whenever fd is ready for events. The fd stays the plugin's (the core never closes
 * it); the watch is released when the plugin stops or by lc_watch_free(), which must come before
 * the plugin closes fd. Returns 0 or -errno.
 */
int lc_plugin_watch_fd(struct lc_plugin *p, int fd, unsigned events, lc_watch_cb_t cb,
		       void *userdata, struct lc_watch **ret);

/* Stops and releases a watch; accepts NULL and returns NULL. */
struct lc_watch *lc_watch_free(struct lc_watch *w);
