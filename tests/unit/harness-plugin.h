/* SPDX-License-Identifier: MIT */
/*
 * One plugin run as faultd runs it, for unit tests: a plugin host on a libuv loop, a configuration
 * of faultd's core keys and the plugin's section written in a temporary tree (harness-fs.h), and a
 * fake core whose only service is the metric store of the heartbeat in progress. The host may run
 * a few plugins instead, for the tests of the host itself. Every function
 * fails the running cmocka test when the host, the loop, the configuration or the tree misbehaves
 * where the test cannot expect it.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "harness-fs.h"
#include "metrics.h"
#include "plugin-host.h"

/* The most plugins one harness hosts. */
#define PLUGIN_HARNESS_MAX 4

struct plugin_harness {
	/* The plugins under test, in the host's order; the status functions below report the
	 * first. */
	const struct lc_plugin_ops *plugins[PLUGIN_HARNESS_MAX];
	size_t n_plugins;
	struct tree *tree; /* the test's files: its sysroot, its state directory, ... */
	char *conf;	   /* <tree's dir>/faultd.conf: plugin_harness_load() writes it */
	struct lc_cfg_section *sections; /* the core's keys and the plugin's section */
	size_t n_sections;
	struct lc_metrics *metrics; /* the heartbeat's store; NULL when made without limits */
	bool collection_off;	    /* the store is withheld, as the core does without consent */
	/* The fake core: the store alone. A test may set other services before the start. */
	struct lc_plugin_services services;
	struct lc_config *cfg; /* what plugin_harness_start() starts the plugin with (owned) */

	/* While started. */
	uv_loop_t loop;
	struct lc_plugin_host *host;

	/* While what is logged is captured. */
	int saved_stderr;
	char *log;
};

/*
 * A harness for the plugin ops in a new temporary tree for the test name, offering a metric store
 * with limits (none when NULL). Core keys: "state_dir", "sysroot" (default "/"),
 * "enable_data_collection" (default true) and "enable_dev_mode" (default false).
 */
struct plugin_harness *plugin_harness_new(const struct lc_plugin_ops *ops, const char *name,
					  const struct lc_metrics_limits *limits);

/* As plugin_harness_new() for the n (at most PLUGIN_HARNESS_MAX) plugins ops, in this order. */
struct plugin_harness *plugin_harness_new_list(const struct lc_plugin_ops *const *ops, size_t n,
					       const char *name,
					       const struct lc_metrics_limits *limits);

/* Stops h if it is started, removes its tree and frees it; accepts NULL and returns NULL. */
struct plugin_harness *plugin_harness_free(struct plugin_harness *h);

/*
 * Loads the configuration files with h's sections into *ret. Returns 0, or lc_config_load()'s
 * error with its first message in *ret_error (owned) unless ret_error is NULL.
 */
int plugin_harness_load_files(struct plugin_harness *h, const struct lc_config_files *files,
			      struct lc_config **ret, char **ret_error);

/* As plugin_harness_load_files() with text (JSON) written to h->conf as the main file, without the
 * runtime file. */
int plugin_harness_load(struct plugin_harness *h, const char *text, struct lc_config **ret,
			char **ret_error);

/*
 * Starts a loop and a host on it with the plugins, h->services and h->cfg; returns how many plugins
 * run (with one plugin: 1, or 0 when it is disabled or its init failed).
 */
unsigned plugin_harness_start(struct plugin_harness *h);

/* Frees the host, runs the loop until it has released everything and checks that the loop closes
 * with nothing left open; frees h->cfg. */
void plugin_harness_stop(struct plugin_harness *h);

/*
 * Runs the loop a pass at a time (UV_RUN_ONCE, or UV_RUN_NOWAIT with a 1 ms pause after each pass
 * that leaves done false) until done(userdata) holds, at most max_passes passes. Returns done's
 * last answer.
 */
bool plugin_harness_run_until(struct plugin_harness *h, uv_run_mode mode, unsigned max_passes,
			      bool (*done)(void *userdata), void *userdata);

/* The running plugin's status (owned). */
json_object *plugin_harness_status(struct plugin_harness *h);

/* The member of o at a dotted path ("crashes.total"), borrowed; fails the test when absent. */
json_object *plugin_harness_member(json_object *o, const char *path);

/* The running plugin's status member at a dotted path, as an integer. */
int64_t plugin_harness_status_int(struct plugin_harness *h, const char *path);

/* Rolls the metric store over: the aggregates of the heartbeat in progress (owned). */
json_object *plugin_harness_heartbeat(struct plugin_harness *h);

/* The reading key of a heartbeat's aggregates; fails the test when absent. */
double plugin_harness_reading(json_object *heartbeat, const char *key);

/* Sends standard error, where the plugin and the host log, to a file in h's tree until
 * plugin_harness_log_end(). */
void plugin_harness_log_start(struct plugin_harness *h);

/* Gives standard error back; returns what was logged since plugin_harness_log_start() (owned). */
char *plugin_harness_log_end(struct plugin_harness *h);
