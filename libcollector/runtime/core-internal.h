/* SPDX-License-Identifier: MIT */
/*
 * The core's inside, shared by core.c (start and stop, reload, the record gate's wiring, the crash
 * log) and core-commands.c (the control commands' handlers), and by nothing else.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "control-server.h"
#include "core.h"
#include "crashlog.h"
#include "heartbeat.h"
#include "identity.h"
#include "metrics.h"
#include "plugin-host.h"
#include "record.h"
#include "spool.h"
#include "uploader.h"

struct lc_core {
	const struct lc_core_options *opts;
	struct lc_cfg_section *sections;
	size_t n_sections;

	uv_loop_t loop;
	struct lc_config *cfg;
	struct lc_identity identity;
	struct lc_boot_info boot;
	char os_version[65];
	struct lc_record_context record;
	struct lc_spool *spool;
	struct lc_uploader *uploader;
	struct lc_heartbeat *heartbeat;
	struct lc_metrics *metrics;
	bool collecting; /* enable_data_collection, cached for the readings' hot path */
	struct lc_plugin_services services;
	struct lc_control_command *commands; /* lc_commands with their handlers, for the server */
	size_t n_commands;
	struct lc_control *control;
	struct lc_plugin_host *plugins;
	uv_signal_t signals[3];
	unsigned n_signals; /* initialised so far, closed at stop */
	uv_timer_t watchdog;
	bool watchdog_on;
	uv_timer_t crash_poll; /* drains the crash log in case a poke was lost */
	bool crash_poll_on;
	bool stopping;

	uint64_t start_ns; /* uv_hrtime() at start */
	unsigned reloads;
	char *last_reload; /* "ok" or the reason it failed */
};

/*
 * Records an entry of type with metadata (reference taken) if the record gate (gate.h: consent,
 * the fleet's sampling, developer mode) allows it, as the current software version or as
 * software_version when not NULL. Returns 0, -EPERM (consent off), -ECANCELED (sampling), or the
 * spool's -errno; *ret_why (static) says why it was not recorded.
 */
int core_record_as(struct lc_core *c, const char *type, json_object *metadata,
		   const char *software_version, char *ret_uuid, const char **ret_why);

/* core_record_as() as the current software version. */
int core_record(struct lc_core *c, const char *type, json_object *metadata, char *ret_uuid,
		const char **ret_why);

/*
 * Counts a failure of kind (failure-kind.h) in the hours ledger now, the one way for every source
 * (faultctl report-failure, a plugin). *ret_counted_as as lc_heartbeat_failure(). Returns 0,
 * -EPERM while data collection is off (nothing counted), -EINVAL for a bad kind, or the ledger's
 * checkpoint -errno (counted in memory).
 */
int core_failure(struct lc_core *c, const char *kind, const char **ret_counted_as);

/* What a drain of the crash log did. */
struct core_crash_drain {
	struct lc_core *core;
	unsigned counted;
	unsigned discarded; /* data collection off */
};

/* Takes every report waiting in <state_dir>/crashes, each as core_crash_report() does. Returns
 * how many, or -errno (logged). */
int core_crash_log_drain(struct lc_core *c, struct core_crash_drain *d);

/* One report of faultd-core-handler (borrowed), counted in userdata (a struct core_crash_drain):
 * hours ledger and the plugins learn of it when data collection is on; without consent it is
 * only logged. */
void core_crash_report(const struct lc_crash_report *r, void *userdata);
