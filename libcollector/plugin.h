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
#include <uv.h>

#include "config.h"
#include "metrics.h"

struct lc_boot_info;
struct lc_crash_report;
struct lc_plugin;
struct lc_timer;
struct lc_watch;

struct lc_plugin_ops {
	const char *name;		       /* [a-z0-9_], also the configuration section */
	const struct lc_cfg_section *config;   /* NULL when the plugin has no settings */
	int (*init)(struct lc_plugin *p);      /* 0, or -errno after logging why */
	void (*collect)(struct lc_plugin *p);  /* optional: add readings now (heartbeat closing) */
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

/* As lc_plugin_record(), recorded as the software version that was running when the previous
 * boot ended (known when this is faultd's first start in a new boot; else the current one):
 * for the entry that tells how that boot ended. */
int lc_plugin_record_ended_boot(struct lc_plugin *p, const char *type, json_object *metadata,
				char *ret_uuid, const char **ret_why);

/* Tells the hours ledger that the boot before this one ended unexpectedly. */
void lc_plugin_report_unexpected_reboot(struct lc_plugin *p);

/* This boot's facts (boot id, the previous one, first boot ever); NULL outside a daemon. */
const struct lc_boot_info *lc_plugin_boot_info(const struct lc_plugin *p);

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
 * Calls cb after first_ms, then every repeat_ms (0: once). The timer belongs to the plugin and
 * is released when the plugin stops, or earlier with lc_timer_free(). Returns 0 or -errno.
 */
int lc_plugin_timer_add(struct lc_plugin *p, uint64_t first_ms, uint64_t repeat_ms,
			lc_timer_cb_t cb, void *userdata, struct lc_timer **ret);

/* Re-arms t: cb after first_ms, then every repeat_ms (0: once). Returns 0 or -errno. */
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

/* The host: runs the compiled-in plugins. Used by the core, not by plugins. */

struct lc_plugin_host;

enum lc_plugin_state {
	LC_PLUGIN_STOPPED,
	LC_PLUGIN_DISABLED, /* "enabled": false in its section */
	LC_PLUGIN_RUNNING,
	LC_PLUGIN_FAILED, /* init returned an error */
};

/* Creates a host for plugins (array borrowed; must outlive the host). Returns 0 or -errno. */
int lc_plugin_host_new(uv_loop_t *loop, const struct lc_plugin_ops *const *plugins, size_t n,
		       struct lc_plugin_host **ret);

/* What the core offers plugins through lc_plugin_record() and its neighbours. */
struct lc_plugin_services {
	int (*record)(void *userdata, const char *type, json_object *metadata, char *ret_uuid,
		      const char **ret_why);
	void (*unexpected_reboot)(void *userdata);
	int (*record_ended_boot)(void *userdata, const char *type, json_object *metadata,
				 char *ret_uuid, const char **ret_why);
	/* The store of the heartbeat in progress; NULL while data collection is off. */
	struct lc_metrics *(*metrics)(void *userdata);
	const struct lc_boot_info *boot;
	void *userdata;
};

/* Sets the services (borrowed; must outlive the host) before plugins start. */
void lc_plugin_host_set_services(struct lc_plugin_host *h, const struct lc_plugin_services *s);

/* Starts every enabled plugin in array order with cfg (borrowed until stop). Failures are logged
 * and recorded; returns how many plugins are running. */
unsigned lc_plugin_host_start(struct lc_plugin_host *h, const struct lc_config *cfg);

/* Stops running plugins in reverse order: their timers and watches are released first, then
 * their shutdown is called. */
void lc_plugin_host_stop(struct lc_plugin_host *h);

/* Calls collect of every running plugin that has one. */
void lc_plugin_host_collect(struct lc_plugin_host *h);

/* Passes a crash report (borrowed for the call) to every running plugin that has a crash
 * callback. The caller has checked consent. */
void lc_plugin_host_crash(struct lc_plugin_host *h, const struct lc_crash_report *r);

/* Tells every running plugin that has a consent callback that data collection is now on or off.
 * The caller calls it once per change. */
void lc_plugin_host_consent(struct lc_plugin_host *h, bool on);

/* State of the plugin at index i (in array order). */
enum lc_plugin_state lc_plugin_host_state(const struct lc_plugin_host *h, size_t i);

/* [{"name": ..., "state": "running"|"disabled"|"failed"|"stopped", "error": ...,
 *   "message": what a running plugin set with lc_plugin_set_message(),
 *   "status": what a running plugin's status callback says}] */
json_object *lc_plugin_host_status(struct lc_plugin_host *h);

/* Stops the plugins if needed and frees the host once the loop has released its handles.
 * Accepts NULL and returns NULL. */
struct lc_plugin_host *lc_plugin_host_free(struct lc_plugin_host *h);

/* Appends the configuration sections of plugins to a copy of core (n_core entries): the array
 * lc_config_load() needs. Returns 0 with *ret (owned, free()) and *ret_n, or -ENOMEM. */
int lc_plugin_config_sections(const struct lc_cfg_section *core, size_t n_core,
			      const struct lc_plugin_ops *const *plugins, size_t n,
			      struct lc_cfg_section **ret, size_t *ret_n);
