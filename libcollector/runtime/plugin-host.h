/* SPDX-License-Identifier: MIT */
/*
 * The plugin host: the core's side of the plugin API (plugin/plugin.h). It runs the plugins'
 * callbacks from the event loop, gives them timers and descriptor watches, and passes their
 * entries, readings and crashes to the core's services.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "metrics.h"
#include "plugin.h"

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
	int (*record_file)(void *userdata, const char *type, json_object *metadata,
			   const char *uuid, const char *name, int fd, uint64_t len,
			   const char **ret_why);
	void (*unexpected_reboot)(void *userdata);
	/* lc_plugin_report_failure(): 0, -EPERM without consent, -EINVAL, or the ledger's -errno */
	int (*report_failure)(void *userdata, const char *kind);
	int (*record_ended_boot)(void *userdata, const char *type, json_object *metadata,
				 char *ret_uuid, const char **ret_why);
	/* The store of the heartbeat in progress; NULL while data collection is off. */
	struct lc_metrics *(*metrics)(void *userdata);
	const struct lc_boot_info *boot;
	const struct lc_identity *identity; /* the device's, as the core resolved it */
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

/* Asks every running plugin that has a sync callback to record what it holds in progress, before
 * `faultctl sync` uploads. */
void lc_plugin_host_sync(struct lc_plugin_host *h);

/* The log lines kept before a crash at crash_mono_ms, from the first running plugin that keeps
 * them (its crash_logs callback; the logs plugin): a new array, or NULL when none does. */
json_object *lc_plugin_host_crash_logs(struct lc_plugin_host *h, uint64_t crash_mono_ms,
				       size_t max_bytes);

/* Tells every running plugin that has a consent callback that data collection is now on or off.
 * The caller calls it once per change. */
void lc_plugin_host_consent(struct lc_plugin_host *h, bool on);

/* State of the plugin at index i (in array order). */
enum lc_plugin_state lc_plugin_host_state(const struct lc_plugin_host *h, size_t i);

/* [{"name": ..., "state": "running"|"disabled"|"failed"|"stopped", "error": ...,
 *   "message": what a running plugin set with lc_plugin_set_message(),
 *   "status": what a running plugin's status callback says}] */
json_object *lc_plugin_host_status(struct lc_plugin_host *h);

/* The entry of lc_plugin_host_status() of the plugin called name, or NULL when there is none (or
 * on OOM). */
json_object *lc_plugin_host_status_of(struct lc_plugin_host *h, const char *name);

/* Stops the plugins if needed and frees the host once the loop has released its handles.
 * Accepts NULL and returns NULL. */
struct lc_plugin_host *lc_plugin_host_free(struct lc_plugin_host *h);

/* Appends the configuration sections of plugins to a copy of core (n_core entries): the array
 * lc_config_load() needs. Returns 0 with *ret (owned, free()) and *ret_n, or -ENOMEM. */
int lc_plugin_config_sections(const struct lc_cfg_section *core, size_t n_core,
			      const struct lc_plugin_ops *const *plugins, size_t n,
			      struct lc_cfg_section **ret, size_t *ret_n);
