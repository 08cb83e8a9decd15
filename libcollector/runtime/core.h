/* SPDX-License-Identifier: MIT */
/*
 * The daemon's core: one libuv loop owning the signals, the control socket, the plugins and the
 * service-manager notifications. Components start in one order and stop in exactly the reverse.
 *   SIGTERM, SIGINT  stop cleanly
 *   SIGHUP           reload the configuration; an invalid one keeps the running one
 */
#pragma once

#include "config.h"
#include "plugin.h"

struct lc_core_options {
	const char *config_path; /* NULL: the built-in path, which may be missing */
	const struct lc_plugin_ops *const *plugins; /* compiled-in plugins, in start order */
	size_t n_plugins;
	const char *log_target; /* NULL: the configuration's log_target; else one of its values */
	const char *log_level;	/* NULL: the configuration's log_level; else one of its values */
};

struct lc_core;

/* Creates a core for options (borrowed; must outlive the core). Returns 0 or -errno. */
int lc_core_new(const struct lc_core_options *o, struct lc_core **ret);

/* Frees a core that is not running; accepts NULL and returns NULL. */
struct lc_core *lc_core_free(struct lc_core *c);

/* The configuration schema: core keys and every plugin's section. */
const struct lc_cfg_section *lc_core_sections(const struct lc_core *c, size_t *ret_n);

/* Loads all configuration layers; see lc_config_load() for *ret_errors. */
int lc_core_load_config(const struct lc_core *c, struct lc_config **ret, char ***ret_errors);

/*
 * Runs the daemon with cfg (ownership taken, also on failure) until SIGTERM or SIGINT. Returns 0
 * after a clean stop, or -errno when start-up failed (already logged).
 */
int lc_core_run(struct lc_core *c, struct lc_config *cfg);
