/* SPDX-License-Identifier: MIT */
/*
 * The core: start and stop in order, reload, the record gate's wiring and the crash log, on one
 * loop. The control commands' handlers are core-commands.c.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "build-config.h"
#include "core-commands.h"
#include "core-internal.h"
#include "fileio.h"
#include "gate.h"
#include "history.h"
#include "json-util.h"
#include "log.h"
#include "reboot.h"
#include "reload.h"
#include "schema.h"
#include "settings.h"

#if HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

/* Tells the service manager about our state; a no-op without systemd or outside a unit. */
_printf_(1, 2) static void notifyf(const char *fmt, ...)
{
#if HAVE_SYSTEMD
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	(void)sd_notify(0, buf);
#else
	(void)fmt;
#endif
}

int lc_core_new(const struct lc_core_options *o, struct lc_core **ret)
{
	struct lc_core *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->opts = o;
	r = lc_plugin_config_sections(&lc_core_config_section, 1, o->plugins, o->n_plugins,
				      &c->sections, &c->n_sections);
	if (r < 0) {
		free(c);
		return r;
	}
	*ret = c;
	return 0;
}

struct lc_core *lc_core_free(struct lc_core *c)
{
	if (!c)
		return NULL;
	free(c->sections);
	free(c);
	return NULL;
}

const struct lc_cfg_section *lc_core_sections(const struct lc_core *c, size_t *ret_n)
{
	*ret_n = c->n_sections;
	return c->sections;
}

int lc_core_load_config(const struct lc_core *c, struct lc_config **ret, char ***ret_errors)
{
	struct lc_config_files files = {
		.main = c->opts->config_path ? c->opts->config_path : FAULTD_CONF_PATH,
		.main_optional = !c->opts->config_path,
	};

	return lc_config_load(c->sections, c->n_sections, &files, ret, ret_errors);
}

/* A damaged runtime.conf turns data collection and developer mode off until faultctl sets them. */
static void log_runtime_damage(const struct lc_config *cfg)
{
	const char *why = lc_config_runtime_damage(cfg);

	if (why)
		log_error("%s: runtime.conf is damaged and was not applied; data collection and "
			  "developer mode are off until faultctl enables them again.",
			  why);
}

/* The command line's log target, if given, outranks the configuration's, also on reload. */
static void apply_logging(const struct lc_core *c, const struct lc_config *cfg)
{
	const char *t =
		c->opts->log_target ? c->opts->log_target : lc_config_get_string(cfg, "log_target");
	int target = lc_log_target_from_string(t);
	int level = lc_log_level_from_string(
		c->opts->log_level ? c->opts->log_level : lc_config_get_string(cfg, "log_level"));

	if (target >= 0)
		lc_log_open(NULL, (enum lc_log_target)target);
	if (level >= 0)
		lc_log_set_max_level(level);
}

/* Resolves control_group to a gid: (gid_t)-1 when unset. */
static int resolve_group(const struct lc_config *cfg, gid_t *ret)
{
	const char *name = lc_config_get_string(cfg, "control_group");
	int r;

	if (!name[0]) {
		*ret = (gid_t)-1;
		return 0;
	}
	r = lc_control_group_from_name(name, ret);
	if (r == -ENOENT)
		return log_error_errno(r, "control_group \"%s\" (%s): no such group.", name,
				       lc_config_origin(cfg, "control_group"));
	if (r < 0)
		return log_error_errno(r, "Failed to look up control_group \"%s\": %m", name);
	return 0;
}

static void heartbeat_timing_from(const struct lc_config *cfg, struct lc_heartbeat_timing *ret)
{
	*ret = (struct lc_heartbeat_timing){
		.interval_ms =
			(uint64_t)lc_config_get_int(cfg, "heartbeat_interval_seconds") * 1000,
		.checkpoint_ms =
			(uint64_t)lc_config_get_int(cfg, "hours.checkpoint_interval_seconds") *
			1000,
	};
}

/* Says which keys of cfg, set in a file, are obsolete and ignored. */
static void log_obsolete_keys(const struct lc_config *cfg)
{
	/* A crash costs its whole heartbeat interval now: the window is the interval. */
	if (!streq(lc_config_origin(cfg, "hours.crash_window_seconds"), "default"))
		log_warning("%s: hours.crash_window_seconds is obsolete and ignored: a crash makes "
			    "its whole heartbeat interval crash time (docs/hours.md).",
			    lc_config_origin(cfg, "hours.crash_window_seconds"));
}

static void metrics_limits_from(const struct lc_config *cfg, struct lc_metrics_limits *ret)
{
	*ret = (struct lc_metrics_limits){
		.max_keys = (size_t)lc_config_get_int(cfg, "metrics.max_keys"),
		.max_set_members = (size_t)lc_config_get_int(cfg, "metrics.max_set_members"),
	};
}

/* Applies the metrics settings of cfg, which the store borrows from until the next call. */
static void metrics_configure(struct lc_metrics *m, const struct lc_config *cfg)
{
	struct lc_metrics_limits limits;

	metrics_limits_from(cfg, &limits);
	lc_metrics_set_limits(m, &limits);
	lc_metrics_set_gauge_stats(m, lc_config_get_strv(cfg, "metrics.gauge_statistics"));
}

/* Whether the record gate lets an entry of type through; takes metadata when it does not. */
static int record_gate(struct lc_core *c, const char *type, json_object *metadata,
		       const char **ret_why)
{
	int r = lc_gate_check(lc_config_get_bool(c->cfg, "enable_data_collection"),
			      lc_config_get_bool(c->cfg, "enable_dev_mode"),
			      lc_uploader_sampling(c->uploader), lc_entry_class_from_type(type),
			      ret_why);

	if (r < 0)
		json_object_put(metadata);
	return r;
}

/* Why the spool did not commit an entry (r < 0), failures being its write failures before. */
static void record_why(struct lc_core *c, int r, uint64_t failures, const char **ret_why)
{
	if (r < 0 && lc_spool_write_failures(c->spool) != failures)
		switch (lc_storage_state_of(r)) {
		case LC_STORAGE_FULL:
			*ret_why = "the state directory's filesystem is full (see faultctl status)";
			break;
		case LC_STORAGE_READ_ONLY:
			*ret_why = "the state directory's filesystem is read-only";
			break;
		default:
			*ret_why = "the spool could not write it to the state directory";
			break;
		}
	else if (r == -ENOSPC && lc_spool_low_space(c->spool))
		*ret_why = "free space on the state directory's filesystem is below the spool's "
			   "minimum";
	else if (r == -ENOSPC)
		*ret_why = "the spool is full of more valuable entries";
	else if (r == -EEXIST)
		*ret_why = "the spool holds it already";
	else if (r < 0)
		*ret_why = "the spool could not store it";
}

int core_record_as(struct lc_core *c, const char *type, json_object *metadata,
		   const char *software_version, char *ret_uuid, const char **ret_why)
{
	struct lc_record_context ctx = c->record;
	struct lc_identity id = c->identity;
	struct lc_clock_sample t;
	uint64_t failures;
	int r;

	r = record_gate(c, type, metadata, ret_why);
	if (r < 0)
		return r;
	if (software_version) {
		id.value[LC_ID_SOFTWARE_VERSION] = (char *)software_version;
		ctx.identity = &id;
	}
	lc_clock_sample_now(&t);
	failures = lc_spool_write_failures(c->spool);
	r = lc_record_commit(c->spool, &ctx, &t, type, metadata, ret_uuid);
	record_why(c, r, failures, ret_why);
	return r;
}

static int plugin_record_file(void *userdata, const char *type, json_object *metadata,
			      const char *uuid, const char *name, int fd, uint64_t len,
			      const char **ret_why)
{
	struct lc_core *c = userdata;
	struct lc_clock_sample t;
	uint64_t failures;
	int r;

	r = record_gate(c, type, metadata, ret_why);
	if (r < 0)
		return r;
	lc_clock_sample_now(&t);
	failures = lc_spool_write_failures(c->spool);
	r = lc_record_commit_file(c->spool, &c->record, &t, type, metadata, uuid, name, fd, len);
	record_why(c, r, failures, ret_why);
	return r;
}

int core_record(struct lc_core *c, const char *type, json_object *metadata, char *ret_uuid,
		const char **ret_why)
{
	return core_record_as(c, type, metadata, NULL, ret_uuid, ret_why);
}

static int plugin_record(void *userdata, const char *type, json_object *metadata, char *ret_uuid,
			 const char **ret_why)
{
	return core_record(userdata, type, metadata, ret_uuid, ret_why);
}

static void plugin_unexpected_reboot(void *userdata)
{
	struct lc_core *c = userdata;

	if (!c->collecting) {
		log_info("The last boot ended unexpectedly; not counted: data collection is "
			 "disabled.");
		return;
	}
	(void)lc_heartbeat_unexpected_reboot(c->heartbeat);
}

int core_failure(struct lc_core *c, const char *kind, const char **ret_counted_as)
{
	/* One rule for every source: nothing is counted without consent. */
	if (!c->collecting)
		return -EPERM;
	return lc_heartbeat_failure(c->heartbeat, kind, ret_counted_as);
}

static int plugin_report_failure(void *userdata, const char *kind)
{
	return core_failure(userdata, kind, NULL);
}

/* The reboot event of the boot that ended belongs to the version that was running then. */
static int plugin_record_ended_boot(void *userdata, const char *type, json_object *metadata,
				    char *ret_uuid, const char **ret_why)
{
	struct lc_core *c = userdata;

	return core_record_as(c, type, metadata, lc_heartbeat_ended_boot_version(c->heartbeat),
			      ret_uuid, ret_why);
}

static struct lc_metrics *plugin_metrics(void *userdata)
{
	struct lc_core *c = userdata;

	return c->collecting ? c->metrics : NULL;
}

/* A heartbeat rolls over: the plugins' last readings, and the spool's drops since it was created
 * (persistent, so a restart does not hide them). */
static void heartbeat_collect(json_object *metrics, void *userdata)
{
	struct lc_core *c = userdata;
	uint64_t drops = 0;

	lc_plugin_host_collect(c->plugins);
	for (unsigned k = 0; k < _LC_CLASS_MAX; k++)
		for (unsigned r = 0; r < _LC_DROP_MAX; r++)
			drops += lc_spool_drops(c->spool, k, r);
	if (lc_json_add(metrics, "faultd/spool_drops", json_object_new_int64((int64_t)drops)) < 0)
		log_oom();
}

static int heartbeat_commit(json_object *metadata, const char *software_version, void *userdata)
{
	struct lc_core *c = userdata;
	const char *why = NULL;
	char uuid[37];
	int r;

	r = core_record_as(c, "linux-metric-report", metadata, software_version, uuid, &why);
	if (r == -EPERM || r == -ECANCELED)
		log_debug("Heartbeat not recorded: %s.", why);
	else if (r < 0)
		log_warning_errno(r, "Heartbeat lost: %s (%m).", why);
	else
		log_debug("Heartbeat recorded as entry %s.", uuid);
	return r;
}

static bool crash_report_has_drops(const struct lc_crash_report *r)
{
	for (size_t c = 0; c < _LC_CLASS_MAX; c++)
		for (size_t k = 0; k < _LC_DROP_MAX; k++)
			if (r->drops[c][k] > 0)
				return true;
	return false;
}

/* Per-signature counts and crash loops, in the heartbeat in progress: crash_signature/<sig> for
 * each crash with a stack trace, crash_loops when a process became one. */
static void crash_report_metrics(struct lc_core *c, const struct lc_crash_report *r)
{
	char key[64];
	int k = 0;

	if (!c->metrics)
		return;
	if (r->signature[0]) {
		snprintf(key, sizeof(key), "crash_signature/%s", r->signature);
		k = lc_metrics_add(c->metrics, key, strlen(key), LC_METRIC_COUNTER, 1);
	}
	if (k >= 0 && r->loop_crashes)
		k = lc_metrics_add(c->metrics, "crash_loops", strlen("crash_loops"),
				   LC_METRIC_COUNTER, 1);
	if (k < 0)
		log_warning_errno(k,
				  "The crash of %s[%" PRIu32 "] is counted, but not in the "
				  "heartbeat's metrics: %m",
				  r->process, r->pid);
}

void core_crash_report(const struct lc_crash_report *r, void *userdata)
{
	struct core_crash_drain *d = userdata;
	struct lc_core *c = d->core;
	const char *name = lc_core_signal_name(r->signal);
	char signame[24];
	int k;

	if (name)
		snprintf(signame, sizeof(signame), "%s", name);
	else
		snprintf(signame, sizeof(signame), "signal %d", r->signal);
	/* Drops the handler could not write (a full filesystem) count whatever the consent. */
	if (c->spool && crash_report_has_drops(r)) {
		k = lc_spool_add_drops(c->spool, r->drops);
		if (k < 0)
			log_warning_errno(k,
					  "Failed to add the drops of the crash report of "
					  "%s[%" PRIu32 "]: %m",
					  r->process, r->pid);
	}
	/* Not counted when consent was off when it happened (the handler says so) or is now. */
	if (!c->collecting || streq(r->core, LC_CRASH_CORE_NO_CONSENT)) {
		log_notice("Process %s[%" PRIu32 "] crashed with %s; not counted: data collection "
			   "%s disabled.",
			   r->process, r->pid, signame, c->collecting ? "was" : "is");
		d->discarded++;
		return;
	}
	log_notice("Process %s[%" PRIu32 "] crashed with %s; core: %s%s%s%s", r->process, r->pid,
		   signame, r->core, r->entry[0] ? " (entry " : "", r->entry,
		   r->entry[0] ? ")." : ".");
	/* Placed where it happened: a report without its boot (an older handler's) counts now. */
	k = lc_heartbeat_crash(c->heartbeat, r->boot_id[0] ? r->boot_id : NULL, r->mono_ms);
	if (k < 0)
		log_warning_errno(k, "The crash is counted, but the hours ledger could not be "
				     "saved: %m");
	crash_report_metrics(c, r);
	k = lc_history_add_crash(lc_config_get_string(c->cfg, "state_dir"), r);
	if (k < 0)
		log_warning_errno(k, "The crash is counted, but not in the history: %m");
	lc_plugin_host_crash(c->plugins, r);
	d->counted++;
}

int core_crash_log_drain(struct lc_core *c, struct core_crash_drain *d)
{
	const char *state_dir = lc_config_get_string(c->cfg, "state_dir");
	int r;

	*d = (struct core_crash_drain){ .core = c };
	r = lc_crash_log_drain(state_dir, core_crash_report, d);
	if (r < 0)
		return log_error_errno(r, "Failed to read the crash log in %s/crashes: %m",
				       state_dir);
	return r;
}

static void on_crash_poll(uv_timer_t *t)
{
	struct core_crash_drain d;

	(void)core_crash_log_drain(t->data, &d);
}

/* Before an hours interval rolls over, the crashes waiting in the crash log are placed in it. */
static void heartbeat_before_roll(void *userdata)
{
	struct core_crash_drain d;

	(void)core_crash_log_drain(userdata, &d);
}

/* Creates and starts the control server for cfg. */
static int control_start(struct lc_core *c, const struct lc_config *cfg, struct lc_control **ret)
{
	struct lc_control_options opts = {
		.path = lc_config_get_string(cfg, "control_socket"),
	};
	struct lc_control *ctl;
	int r;

	r = resolve_group(cfg, &opts.group);
	if (r < 0)
		return r;
	r = lc_control_new(&c->loop, &opts, &ctl);
	if (r < 0)
		return log_error_errno(r, "Failed to create the control socket: %m");
	r = lc_control_register(ctl, c->commands, c->n_commands, c);
	if (r < 0) {
		lc_control_close(ctl);
		return log_error_errno(r, "Failed to register the control commands: %m");
	}
	r = lc_control_start(ctl);
	if (r < 0) {
		lc_control_close(ctl);
		return log_error_errno(r, "Failed to listen on %s: %m", opts.path);
	}
	*ret = ctl;
	return 0;
}

static void notify_status(struct lc_core *c)
{
	unsigned running = 0;

	for (size_t i = 0; i < c->opts->n_plugins; i++)
		if (lc_plugin_host_state(c->plugins, i) == LC_PLUGIN_RUNNING)
			running++;
	notifyf("STATUS=Running: data collection %s%s, %u of %zu plugins running",
		lc_config_get_bool(c->cfg, "enable_data_collection") ? "on" : "off",
		lc_config_get_bool(c->cfg, "enable_dev_mode") ? ", developer mode" : "", running,
		c->opts->n_plugins);
}

static void set_last_reload(struct lc_core *c, const char *fmt, ...) _printf_(2, 3);
static void set_last_reload(struct lc_core *c, const char *fmt, ...)
{
	va_list ap;

	free(c->last_reload);
	va_start(ap, fmt);
	if (vasprintf(&c->last_reload, fmt, ap) < 0)
		c->last_reload = NULL;
	va_end(ap);
}

/*
 * Applies plan for the new configuration *next: takes it (*next becomes NULL), unless a step the
 * plan needs fails first (the identity, the control socket), which is logged and kept in
 * last_reload with the running configuration.
 */
static void reload_apply(struct lc_core *c, struct lc_config **next,
			 const struct lc_reload_plan *plan)
{
	struct lc_identity id = {};
	struct lc_control *ctl = NULL;
	char changes[160];
	int r;

	if (plan->state_dir) {
		log_error("state_dir changed from %s to %s: that needs a restart; "
			  "keeping the running configuration.",
			  lc_config_get_string(c->cfg, "state_dir"),
			  lc_config_get_string(*next, "state_dir"));
		set_last_reload(c, "failed: state_dir changed; restart faultd to move it");
		return;
	}
	if (plan->identity) {
		r = lc_settings_identity(*next, &id);
		if (r < 0) {
			set_last_reload(c, "failed: device identity could not be determined");
			return;
		}
	}
	if (plan->control || !c->control) {
		/* The old socket goes first: the new one may live at the same path. */
		lc_control_close(c->control);
		c->control = NULL;
		r = control_start(c, *next, &ctl);
		if (r < 0) {
			log_warning("Trying the previous control socket again.");
			if (control_start(c, c->cfg, &c->control) < 0)
				log_error("No control socket until the next successful reload.");
			lc_identity_done(&id);
			set_last_reload(c, "failed: control socket: %s", strerror(-r));
			return;
		}
		c->control = ctl;
	}

	/* Every plugin holds the configuration it started with: they all stop before it goes, and
	 * what they hold (queued datagrams, counter baselines) goes into the store first. */
	lc_plugin_host_collect(c->plugins);
	lc_plugin_host_stop(c->plugins);
	lc_config_free(c->cfg);
	c->cfg = TAKE_PTR(*next);
	if (plan->consent) {
		c->collecting = lc_config_get_bool(c->cfg, "enable_data_collection");
		lc_heartbeat_set_collecting(c->heartbeat, c->collecting);
	}
	log_runtime_damage(c->cfg);
	log_obsolete_keys(c->cfg);
	if (plan->identity) {
		lc_identity_done(&c->identity);
		c->identity = id;
	}
	if (plan->logging)
		apply_logging(c, c->cfg);
	if (plan->spool_limits) {
		struct lc_spool_limits limits;

		lc_settings_spool_limits(c->cfg, &limits);
		lc_spool_set_limits(c->spool, &limits);
	}
	/* The record context, the uploader and the metric store borrow from the configuration:
	 * they take the new one whatever changed. */
	c->record.project_key = lc_config_get_string(c->cfg, "project_key");
	lc_uploader_set_config(c->uploader, c->cfg);
	if (plan->heartbeat_timing) {
		struct lc_heartbeat_timing timing;

		heartbeat_timing_from(c->cfg, &timing);
		lc_heartbeat_set_timing(c->heartbeat, &timing);
	}
	metrics_configure(c->metrics, c->cfg);
	if (plan->identity)
		lc_heartbeat_set_software_version(c->heartbeat,
						  c->identity.value[LC_ID_SOFTWARE_VERSION]);
	lc_plugin_host_start(c->plugins, c->cfg);
	set_last_reload(c, "ok");
	log_info("Configuration reloaded (changed: %s).",
		 lc_reload_plan_describe(plan, changes, sizeof(changes)));
}

/*
 * Loads the configuration again and applies what changed; the running one stays unless the new
 * one is entirely valid. The device-info command runs (blocking the loop, 10 s at most) only when
 * an identity input changed, so a plain reload never stalls the watchdog or control clients.
 */
static void core_reload(struct lc_core *c)
{
	_cleanup_strv_free_ char **errors = NULL;
	struct lc_reload_plan plan;
	struct lc_config *cfg = NULL;
	int r;

	notifyf("RELOADING=1\nSTATUS=Reloading configuration");
	c->reloads++;
	log_info("Reloading configuration from %s.", lc_config_main_path(c->cfg));

	r = lc_core_load_config(c, &cfg, &errors);
	if (r < 0) {
		for (char **e = errors; e && *e; e++)
			log_error("%s", *e);
		log_error("Configuration reload failed (%zu error%s); keeping the running "
			  "configuration.",
			  strv_length(errors), strv_length(errors) == 1 ? "" : "s");
		set_last_reload(c, "failed: %s", errors && errors[0] ? errors[0] : strerror(-r));
	} else {
		lc_reload_plan(c->cfg, cfg, &plan);
		reload_apply(c, &cfg, &plan);
	}
	lc_config_free(cfg);
	notifyf("READY=1");
	notify_status(c);
}

/* Leaves the clean-shutdown marker for the next boot when the whole system is going down, not
 * when faultd alone is stopped or restarted. */
static void mark_clean_shutdown(struct lc_core *c)
{
	bool poweroff = false;
	int r;

	r = lc_system_shutting_down(lc_config_get_string(c->cfg, "sysroot"), &poweroff);
	if (r < 0)
		log_debug_errno(r, "Could not tell whether the system is shutting down (%m); "
				   "assuming it is not.");
	if (r <= 0)
		return;
	r = lc_reboot_mark_clean_shutdown(lc_config_get_string(c->cfg, "state_dir"),
					  c->boot.boot_id, poweroff);
	if (r < 0)
		log_error_errno(r, "Failed to write the clean-shutdown marker: %m");
	else
		log_info("The system is %s: clean-shutdown marker written.",
			 poweroff ? "powering off" : "rebooting");
}

static void core_stop(struct lc_core *c)
{
	if (c->stopping)
		return;
	c->stopping = true;
	notifyf("STOPPING=1\nSTATUS=Stopping");
	log_info("Stopping.");

	/* Reverse of the start order in lc_core_run(). */
	if (c->watchdog_on) {
		uv_close((uv_handle_t *)&c->watchdog, NULL);
		c->watchdog_on = false;
	}
	if (c->crash_poll_on) {
		uv_close((uv_handle_t *)&c->crash_poll, NULL);
		c->crash_poll_on = false;
	}
	lc_plugin_host_collect(c->plugins);
	lc_plugin_host_stop(c->plugins);
	lc_control_close(c->control);
	c->control = NULL;
	while (c->n_signals > 0)
		uv_close((uv_handle_t *)&c->signals[--c->n_signals], NULL);
	lc_uploader_close(c->uploader);
	c->uploader = NULL;
	lc_heartbeat_close(c->heartbeat);
	c->heartbeat = NULL;
	if (c->spool)
		mark_clean_shutdown(c);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct lc_core *c = h->data;

	if (signum == SIGHUP) {
		core_reload(c);
		return;
	}
	log_info("Received %s.", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	core_stop(c);
}

#if HAVE_SYSTEMD
static void on_watchdog(uv_timer_t *t)
{
	notifyf("WATCHDOG=1");
}
#endif

/* Starts WATCHDOG=1 pings at half the interval the service manager asked for, if it asked. */
static int watchdog_start(struct lc_core *c)
{
#if HAVE_SYSTEMD
	uint64_t usec = 0;
	int r;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	r = uv_timer_init(&c->loop, &c->watchdog);
	if (r < 0)
		return r;
	c->watchdog.data = c;
	c->watchdog_on = true;
	r = uv_timer_start(&c->watchdog, on_watchdog, 0, MAX(usec / 2000ULL, 1ULL));
	if (r < 0)
		return r;
	log_debug("Watchdog: pinging every %llu ms.", (unsigned long long)MAX(usec / 2000, 1));
#endif
	return 0;
}

#define CRASH_POLL_MS 60000

/* The crash log is drained every CRASH_POLL_MS in case the handler's "crash-reported" was lost.
 * Crashes while faultd was down (or faultd's own) were counted by lc_heartbeat_start(), which
 * drains it before any interval can close. */
static int crash_poll_start(struct lc_core *c)
{
	int r;

	r = uv_timer_init(&c->loop, &c->crash_poll);
	if (r < 0)
		return r;
	c->crash_poll.data = c;
	c->crash_poll_on = true;
	return uv_timer_start(&c->crash_poll, on_crash_poll, CRASH_POLL_MS, CRASH_POLL_MS);
}

static int signals_start(struct lc_core *c)
{
	static const int signums[] = { SIGTERM, SIGINT, SIGHUP };

	for (size_t i = 0; i < ARRAY_SIZE(signums); i++) {
		uv_signal_t *h = &c->signals[c->n_signals];
		int r = uv_signal_init(&c->loop, h);

		if (r < 0)
			return r;
		h->data = c;
		c->n_signals++;
		r = uv_signal_start(h, on_signal, signums[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* faultd's own upload runs, counted as the hosted service names them. */
static void upload_run_done(bool ok, void *userdata)
{
	struct lc_core *c = userdata;
	const char *key = ok ? "sync_memfault_successful" : "sync_memfault_failure";
	int r;

	if (!c->collecting || !c->metrics)
		return;
	r = lc_metrics_add(c->metrics, key, strlen(key), LC_METRIC_COUNTER, 1);
	if (r < 0)
		log_debug_errno(r, "%s not counted: %m", key);
}

/* The spool, the boot facts every entry carries, the uploader that empties the spool, and the
 * heartbeat with its hours ledger. */
static int spool_start(struct lc_core *c)
{
	const char *state_dir = lc_config_get_string(c->cfg, "state_dir");
	_cleanup_free_ char *dir = lc_path_prefix(state_dir, "/spool");
	struct lc_uploader_options uo = {
		.loop = &c->loop,
		.record = &c->record,
		.state_dir = state_dir,
		.run_done = upload_run_done,
		.userdata = c,
	};
	struct lc_spool_limits limits;
	struct utsname un;
	int r;

	if (!dir)
		return log_oom();
	r = lc_boot_info_load(lc_config_get_string(c->cfg, "sysroot"), state_dir, &c->boot);
	if (r < 0)
		return r;
	if (uname(&un) == 0)
		snprintf(c->os_version, sizeof(c->os_version), "%s", un.release);
	else
		snprintf(c->os_version, sizeof(c->os_version), "unknown");
	c->record = (struct lc_record_context){
		.identity = &c->identity,
		.project_key = lc_config_get_string(c->cfg, "project_key"),
		.boot = &c->boot,
		.os_version = c->os_version,
	};

	lc_settings_spool_limits(c->cfg, &limits);
	r = lc_spool_open(dir, &limits, &c->spool);
	if (r < 0)
		return log_error_errno(r, "Failed to open the spool in %s: %m", dir);
	log_debug("Spool %s: %zu entries, %" PRIu64 " bytes.", dir, lc_spool_count(c->spool),
		  lc_spool_bytes(c->spool));

	uo.spool = c->spool;
	r = lc_uploader_new(&uo, &c->uploader);
	if (r < 0)
		return log_error_errno(r, "Failed to create the uploader: %m");
	lc_uploader_set_config(c->uploader, c->cfg);

	{
		struct lc_metrics_limits ml;

		metrics_limits_from(c->cfg, &ml);
		r = lc_metrics_new(&ml, &c->metrics);
		if (r < 0)
			return log_oom();
		lc_metrics_set_gauge_stats(c->metrics,
					   lc_config_get_strv(c->cfg, "metrics.gauge_statistics"));
	}
	{
		struct lc_heartbeat_options ho = {
			.loop = &c->loop,
			.state_dir = state_dir,
			.boot_id = c->boot.boot_id,
			.boot_start_ms = c->boot.start_ms,
			.software_version = c->identity.value[LC_ID_SOFTWARE_VERSION],
			.collecting = c->collecting,
			.metrics = c->metrics,
			.collect = heartbeat_collect,
			.before_roll = heartbeat_before_roll,
			.commit = heartbeat_commit,
			.userdata = c,
		};

		heartbeat_timing_from(c->cfg, &ho.timing);
		log_obsolete_keys(c->cfg);
		r = lc_heartbeat_new(&ho, &c->heartbeat);
		if (r < 0)
			return log_error_errno(r, "Failed to set up the hours ledger: %m");
	}
	c->services = (struct lc_plugin_services){
		.record = plugin_record,
		.record_file = plugin_record_file,
		.unexpected_reboot = plugin_unexpected_reboot,
		.report_failure = plugin_report_failure,
		.record_ended_boot = plugin_record_ended_boot,
		.metrics = plugin_metrics,
		.boot = &c->boot,
		.identity = &c->identity,
		.userdata = c,
	};
	lc_plugin_host_set_services(c->plugins, &c->services);
	return 0;
}

static int start_components(struct lc_core *c)
{
	const char *state_dir = lc_config_get_string(c->cfg, "state_dir");
	const char *name = NULL, *why = NULL;
	int r;

	r = lc_mkdir_p(state_dir, 0700);
	if (r < 0)
		return log_error_errno(r, "Failed to create state_dir %s (%s): %m", state_dir,
				       lc_config_origin(c->cfg, "state_dir"));
	r = lc_settings_identity(c->cfg, &c->identity);
	if (r < 0)
		return r;

	r = spool_start(c);
	if (r < 0)
		return r;

	r = signals_start(c);
	if (r < 0)
		return log_error_errno(r, "Failed to set up signal handling: %m");

	r = core_commands_bind(core_handlers, core_handlers_count, &c->commands, &c->n_commands,
			       &name, &why);
	if (r == -ENOENT)
		return log_error_errno(r, "Control command \"%s\" %s.", name, why);
	if (r < 0)
		return log_oom();
	r = control_start(c, c->cfg, &c->control);
	if (r < 0)
		return r;

	/* Plugins first: the reboot plugin marks an unexpected end of the last boot in the
	 * heartbeat that start may close. */
	lc_plugin_host_start(c->plugins, c->cfg);
	r = lc_heartbeat_start(c->heartbeat);
	if (r < 0)
		return log_error_errno(r, "Failed to start the heartbeat timers: %m");

	r = crash_poll_start(c);
	if (r < 0)
		return log_error_errno(r, "Failed to start the crash log timer: %m");

	r = watchdog_start(c);
	if (r < 0)
		return log_error_errno(r, "Failed to start the watchdog timer: %m");
	return 0;
}

int lc_core_run(struct lc_core *c, struct lc_config *cfg)
{
	int r, r_close;

	c->cfg = cfg;
	c->collecting = lc_config_get_bool(c->cfg, "enable_data_collection");
	c->start_ns = uv_hrtime();
	apply_logging(c, c->cfg);
	log_runtime_damage(c->cfg);
	(void)signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		c->cfg = lc_config_free(c->cfg);
		return log_error_errno(-ENOMEM, "Failed to initialise libcurl.");
	}

	r = uv_loop_init(&c->loop);
	if (r < 0) {
		curl_global_cleanup();
		c->cfg = lc_config_free(c->cfg);
		return log_error_errno(r, "Failed to create the event loop: %m");
	}
	r = lc_plugin_host_new(&c->loop, c->opts->plugins, c->opts->n_plugins, &c->plugins);
	if (r < 0) {
		log_oom();
		goto out;
	}

	r = start_components(c);
	if (r < 0) {
		core_stop(c);
	} else {
		log_info("faultd " FAULTD_VERSION
			 " started: data collection %s, control socket %s.",
			 lc_config_get_bool(c->cfg, "enable_data_collection") ? "on" : "off",
			 lc_config_get_string(c->cfg, "control_socket"));
		notifyf("READY=1");
		notify_status(c);
	}
	uv_run(&c->loop, UV_RUN_DEFAULT);
out:
	c->plugins = lc_plugin_host_free(c->plugins);
	/* Let the close callbacks of everything stopped above run. */
	uv_run(&c->loop, UV_RUN_DEFAULT);
	r_close = uv_loop_close(&c->loop);
	if (r_close < 0)
		log_error_errno(r_close, "Event loop still had open handles at exit: %m");
	c->spool = lc_spool_free(c->spool);
	c->metrics = lc_metrics_free(c->metrics);
	curl_global_cleanup();
	lc_identity_done(&c->identity);
	c->cfg = lc_config_free(c->cfg);
	free(c->commands);
	c->commands = NULL;
	c->n_commands = 0;
	free(c->last_reload);
	c->last_reload = NULL;
	return r < 0 ? r : r_close;
}
