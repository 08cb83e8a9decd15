/* SPDX-License-Identifier: MIT */
/*
 * A reload's plan: what differs between the running configuration and a new, valid one, so that
 * the core applies what changed and only that (core.c). Pure: it compares two configurations.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/*
 * What a reload changes. The plugins are not in it: each holds the configuration it started with,
 * which the reload frees, so every one is stopped and started again whatever changed.
 */
struct lc_reload_plan {
	bool state_dir;	   /* moved: that needs a restart, so the reload is refused */
	bool identity;	   /* sysroot or device.*: resolve the identity again */
	bool control;	   /* control_socket or control_group: a new control socket */
	bool consent;	   /* enable_data_collection */
	bool logging;	   /* log_target or log_level */
	bool spool_limits; /* spool.* */
	bool uploader;	   /* base_url, project_key, ca_bundle, upload_interval_seconds, upload.* */
	bool heartbeat_timing; /* heartbeat_interval_seconds or hours.checkpoint_interval_seconds */
};

/* Compares the core keys of the running configuration old with those of next (both borrowed). */
void lc_reload_plan(const struct lc_config *old, const struct lc_config *next,
		    struct lc_reload_plan *ret);

/* "identity, uploads" for the parts of plan that change, "nothing" when none does: for the log.
 * Returns buf. */
const char *lc_reload_plan_describe(const struct lc_reload_plan *plan, char *buf, size_t size);
