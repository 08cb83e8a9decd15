/* SPDX-License-Identifier: MIT */
#include <curl/curl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>

#include "build-config.h"
#include "control-server.h"
#include "core.h"
#include "crashlog.h"
#include "exec.h"
#include "fileio.h"
#include "heartbeat.h"
#include "identity.h"
#include "json-util.h"
#include "log.h"
#include "plugin-host.h"
#include "metrics.h"
#include "reboot.h"
#include "record.h"
#include "schema.h"
#include "settings.h"
#include "spool.h"
#include "uploader.h"

#if HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

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
	struct lc_control *control;
	struct lc_plugin_host *plugins;
	uv_signal_t signals[3];
	unsigned n_signals; /* initialised so far, closed at stop */
	uv_timer_t watchdog;
	bool watchdog_on;
	uv_timer_t crash_poll; /* drains the crash log in case a poke was lost */
	bool crash_poll_on;
	bool stopping;

	uint64_t start_usec;
	unsigned reloads;
	char *last_reload; /* "ok" or the reason it failed */
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000ULL;
}

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
	int level = lc_log_level_from_string(lc_config_get_string(cfg, "log_level"));

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

static json_object *json_string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/*
 * "storage": how the state directory's filesystem is doing: {"state" (the worst of the problems,
 * or "low-space" when the spool's free-space limits are biting), "free_bytes", "free_inodes",
 * "write_failures", "problems": [the storage fault episodes going on]}.
 */
static json_object *storage_status(struct lc_core *c)
{
	const struct {
		const char *what;
		const struct lc_storage_fault *f;
	} faults[] = {
		{ "spool", lc_spool_fault(c->spool) },
		{ "spool drop counters", lc_spool_drops_fault(c->spool) },
		{ "hours ledger", c->heartbeat ? lc_heartbeat_fault(c->heartbeat) : NULL },
	};
	enum lc_storage_state state =
		lc_spool_low_space(c->spool) ? LC_STORAGE_LOW_SPACE : LC_STORAGE_OK;
	_cleanup_json_ json_object *o = json_object_new_object();
	_cleanup_json_ json_object *problems = json_object_new_array();
	struct statvfs st;

	if (!o || !problems)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(faults); i++) {
		if (!faults[i].f || faults[i].f->error == 0)
			continue;
		state = MAX(state, lc_storage_state_of(faults[i].f->error));
		if (json_object_array_add(
			    problems, lc_storage_fault_to_json(faults[i].f, faults[i].what)) < 0)
			return NULL;
	}
	if (lc_json_add(o, "state", json_object_new_string(lc_storage_state_name(state))) < 0 ||
	    lc_json_add(o, "write_failures",
			json_object_new_int64((int64_t)lc_spool_write_failures(c->spool))) < 0)
		return NULL;
	if (statvfs(lc_config_get_string(c->cfg, "state_dir"), &st) == 0 &&
	    (lc_json_add(o, "free_bytes",
			 json_object_new_int64(
				 (int64_t)((uint64_t)st.f_bavail * (uint64_t)st.f_frsize))) < 0 ||
	     lc_json_add(o, "free_inodes", json_object_new_int64((int64_t)st.f_favail)) < 0))
		return NULL;
	if (lc_json_add(o, "problems", TAKE_PTR(problems)) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static void cmd_status(struct lc_control_call *call, json_object *args, void *userdata)
{
	struct lc_core *c = userdata;
	json_object *o = json_object_new_object(), *src;

	if (!o) {
		lc_control_call_fail(call, ENOMEM, "out of memory");
		return;
	}
	json_object_object_add(o, "version", json_object_new_string(FAULTD_VERSION));
	json_object_object_add(o, "pid", json_object_new_int64(getpid()));
	json_object_object_add(
		o, "uptime_seconds",
		json_object_new_int64((int64_t)((now_usec() - c->start_usec) / 1000000ULL)));
	json_object_object_add(o, "config_file",
			       json_object_new_string(lc_config_main_path(c->cfg)));
	json_object_object_add(o, "state_dir",
			       json_object_new_string(lc_config_get_string(c->cfg, "state_dir")));
	json_object_object_add(
		o, "data_collection",
		json_object_new_boolean(lc_config_get_bool(c->cfg, "enable_data_collection")));
	json_object_object_add(
		o, "developer_mode",
		json_object_new_boolean(lc_config_get_bool(c->cfg, "enable_dev_mode")));
	json_object_object_add(o, "runtime_config_damage",
			       json_string_or_null(lc_config_runtime_damage(c->cfg)));
	json_object_object_add(o, "identity", lc_identity_to_json(&c->identity));
	src = json_object_new_object();
	for (int f = 0; src && f < _LC_ID_MAX; f++)
		json_object_object_add(src, lc_id_field_name(f),
				       json_string_or_null(c->identity.source[f]));
	json_object_object_add(o, "identity_sources", src);
	json_object_object_add(o, "plugins", lc_plugin_host_status(c->plugins));
	if (c->spool) {
		(void)lc_spool_refresh(c->spool);
		json_object_object_add(o, "spool", lc_spool_status(c->spool));
		json_object_object_add(o, "storage", storage_status(c));
	}
	if (c->uploader)
		json_object_object_add(o, "upload", lc_uploader_status(c->uploader));
	if (c->heartbeat)
		json_object_object_add(o, "hours", lc_heartbeat_status(c->heartbeat));
	json_object_object_add(o, "reloads", json_object_new_int64(c->reloads));
	json_object_object_add(o, "last_reload", json_string_or_null(c->last_reload));
	lc_control_call_reply(call, o);
}

static void cmd_show_config(struct lc_control_call *call, json_object *args, void *userdata)
{
	struct lc_core *c = userdata;
	json_object *o = lc_config_to_json(c->cfg, true, true);

	if (!o) {
		lc_control_call_fail(call, ENOMEM, "out of memory");
		return;
	}
	lc_control_call_reply(call, o);
}

/* Sets a runtime switch, persisted in runtime.conf, effective at once; the plugins are told of a
 * change of consent. */
static void set_switch(struct lc_core *c, struct lc_control_call *call, const char *key,
		       const char *what, bool on)
{
	json_object *o;
	char msg[128];
	int r;

	if (lc_config_get_bool(c->cfg, key) == on) {
		snprintf(msg, sizeof(msg), "%s was already %s.", what, on ? "enabled" : "disabled");
	} else {
		r = lc_config_set_runtime_bool(c->cfg, key, on);
		c->collecting = lc_config_get_bool(c->cfg, "enable_data_collection");
		lc_heartbeat_set_collecting(c->heartbeat, c->collecting);
		if (r < 0) {
			log_error_errno(r, "Failed to save %s=%s in runtime.conf: %m", key,
					on ? "true" : "false");
			_cleanup_free_ char *path = lc_path_prefix(
				lc_config_get_string(c->cfg, "state_dir"), "runtime.conf");

			lc_control_call_fail(call, r, "failed to save the setting in %s: %s",
					     path ? path : "runtime.conf", strerror(-r));
			return;
		}
		log_notice("%s %s by uid %u (pid %d).", what, on ? "enabled" : "disabled",
			   (unsigned)lc_control_call_uid(call), (int)lc_control_call_pid(call));
		snprintf(msg, sizeof(msg), "%s %s.", what, on ? "enabled" : "disabled");
		if (streq(key, "enable_data_collection"))
			lc_plugin_host_consent(c->plugins, on);
	}
	o = json_object_new_object();
	if (o) {
		json_object_object_add(o, "message", json_object_new_string(msg));
		json_object_object_add(o, key, json_object_new_boolean(on));
	}
	lc_control_call_reply(call, o);
}

static void cmd_enable_collection(struct lc_control_call *call, json_object *args, void *u)
{
	set_switch(u, call, "enable_data_collection", "Data collection", true);
}

static void cmd_disable_collection(struct lc_control_call *call, json_object *args, void *u)
{
	set_switch(u, call, "enable_data_collection", "Data collection", false);
}

static void cmd_enable_dev(struct lc_control_call *call, json_object *args, void *u)
{
	set_switch(u, call, "enable_dev_mode", "Developer mode", true);
}

static void cmd_disable_dev(struct lc_control_call *call, json_object *args, void *u)
{
	set_switch(u, call, "enable_dev_mode", "Developer mode", false);
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

/*
 * Records an entry of type with metadata (reference taken) if consent and the fleet's sampling
 * allow it, as the current software version or as software_version when not NULL. Returns 0,
 * -EPERM (consent off), -ECANCELED (sampling), or the spool's -errno; *ret_why (static) says why
 * it was not recorded.
 */
static int core_record_as(struct lc_core *c, const char *type, json_object *metadata,
			  const char *software_version, char *ret_uuid, const char **ret_why)
{
	struct lc_record_context ctx = c->record;
	struct lc_identity id = c->identity;
	struct lc_clock_sample t;
	uint64_t failures;
	int cls = lc_entry_class_from_type(type), r;

	if (!lc_config_get_bool(c->cfg, "enable_data_collection")) {
		json_object_put(metadata);
		*ret_why = "data collection is disabled";
		return -EPERM;
	}
	if (cls < 0 ||
	    !lc_sampling_allows(lc_uploader_sampling(c->uploader), (enum lc_entry_class)cls,
				lc_config_get_bool(c->cfg, "enable_dev_mode"))) {
		json_object_put(metadata);
		*ret_why = "the fleet's sampling excludes this type of entry";
		return -ECANCELED;
	}
	if (software_version) {
		id.value[LC_ID_SOFTWARE_VERSION] = (char *)software_version;
		ctx.identity = &id;
	}
	lc_clock_sample_now(&t);
	failures = lc_spool_write_failures(c->spool);
	r = lc_record_commit(c->spool, &ctx, &t, type, metadata, ret_uuid);
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
	else if (r < 0)
		*ret_why = "the spool could not store it";
	return r;
}

static int core_record(struct lc_core *c, const char *type, json_object *metadata, char *ret_uuid,
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

/* A heartbeat closes: the plugins' last readings, and the spool's drops since it was created
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

#define ATTRIBUTES_MAX 100

static void cmd_write_attributes(struct lc_control_call *call, json_object *args, void *userdata)
{
	struct lc_core *c = userdata;
	json_object *list, *items = NULL, *meta = NULL, *reply;
	const char *why = NULL;
	char uuid[37];
	size_t n;
	int r;

	if (!json_object_object_get_ex(args, "attributes", &list) ||
	    !json_object_is_type(list, json_type_array) ||
	    (n = json_object_array_length(list)) == 0) {
		lc_control_call_fail(call, EINVAL, "expected \"attributes\": [\"KEY=VALUE\", ...]");
		return;
	}
	if (n > ATTRIBUTES_MAX) {
		lc_control_call_fail(call, E2BIG, "at most %d attributes at once, got %zu",
				     ATTRIBUTES_MAX, n);
		return;
	}
	items = json_object_new_array();
	for (size_t i = 0; items && i < n; i++) {
		json_object *a = json_object_array_get_idx(list, i), *item = NULL, *key;

		if (!json_object_is_type(a, json_type_string)) {
			lc_control_call_fail(call, EINVAL, "attribute %zu: expected a string",
					     i + 1);
			goto out;
		}
		r = lc_attribute_parse(json_object_get_string(a), &item, &why);
		if (r < 0) {
			lc_control_call_fail(call, -r, "attribute %zu (\"%.40s\"): %s", i + 1,
					     json_object_get_string(a), why);
			goto out;
		}
		json_object_object_get_ex(item, "string_key", &key);
		for (size_t j = 0; j < json_object_array_length(items); j++) {
			json_object *k2;

			json_object_object_get_ex(json_object_array_get_idx(items, j), "string_key",
						  &k2);
			if (streq(json_object_get_string(k2), json_object_get_string(key))) {
				lc_control_call_fail(call, EINVAL,
						     "attribute %zu: key \"%s\" given twice", i + 1,
						     json_object_get_string(key));
				json_object_put(item);
				goto out;
			}
		}
		json_object_array_add(items, item);
	}
	meta = json_object_new_object();
	if (!items || !meta) {
		lc_control_call_fail(call, ENOMEM, "out of memory");
		goto out;
	}
	json_object_object_add(meta, "attributes", TAKE_PTR(items));
	r = core_record(c, "device-attributes", TAKE_PTR(meta), uuid, &why);
	if (r < 0) {
		lc_control_call_fail(call, -r, "not recorded: %s", why);
		goto out;
	}
	log_info("Recorded %zu device attribute%s as entry %s (uid %u).", n, n == 1 ? "" : "s",
		 uuid, (unsigned)lc_control_call_uid(call));
	reply = json_object_new_object();
	if (reply) {
		char msg[128];

		snprintf(msg, sizeof(msg), "Recorded %zu attribute%s as entry %s.", n,
			 n == 1 ? "" : "s", uuid);
		json_object_object_add(reply, "message", json_object_new_string(msg));
		json_object_object_add(reply, "entry", json_object_new_string(uuid));
	}
	lc_control_call_reply(call, reply);
out:
	json_object_put(items);
	json_object_put(meta);
}

static void sync_done(const struct lc_upload_result *res, void *userdata)
{
	struct lc_control_call *call = userdata;
	json_object *o;
	char msg[256];

	if (res->error < 0) {
		lc_control_call_fail(call, -res->error, "upload failed: %s",
				     res->message ? res->message : strerror(-res->error));
		return;
	}
	if (res->entries == 0 && res->rejected == 0)
		snprintf(msg, sizeof(msg), "Nothing to upload.");
	else
		snprintf(msg, sizeof(msg),
			 "Uploaded %" PRIu64 " entr%s (%" PRIu64 " bytes) in %" PRIu64
			 " batch%s%s; %" PRIu64 " left in the spool.",
			 res->entries, res->entries == 1 ? "y" : "ies", res->bytes, res->batches,
			 res->batches == 1 ? "" : "es",
			 res->rejected ? "; the server refused some, which were dropped" : "",
			 res->remaining);
	o = json_object_new_object();
	if (o) {
		json_object_object_add(o, "message", json_object_new_string(msg));
		json_object_object_add(o, "entries", json_object_new_int64((int64_t)res->entries));
		json_object_object_add(o, "bytes", json_object_new_int64((int64_t)res->bytes));
		json_object_object_add(o, "batches", json_object_new_int64((int64_t)res->batches));
		json_object_object_add(o, "rejected",
				       json_object_new_int64((int64_t)res->rejected));
		json_object_object_add(o, "remaining",
				       json_object_new_int64((int64_t)res->remaining));
	}
	lc_control_call_reply(call, o);
}

static void cmd_sync(struct lc_control_call *call, json_object *args, void *userdata)
{
	struct lc_core *c = userdata;

	lc_uploader_sync(c->uploader, sync_done, call);
}

/* Replies {"message": msg} or fails with ENOMEM. */
static void reply_message(struct lc_control_call *call, const char *msg)
{
	json_object *o = json_object_new_object();

	if (o)
		json_object_object_add(o, "message", json_object_new_string(msg));
	lc_control_call_reply(call, o);
}

#define REBOOT_COMMAND_TIMEOUT_MS 30000

static void cmd_reboot(struct lc_control_call *call, json_object *args, void *userdata)
{
	struct lc_core *c = userdata;
	const char *state_dir = lc_config_get_string(c->cfg, "state_dir");
	const char *command = lc_config_get_string(c->cfg, "reboot_command");
	struct lc_reboot_reason reason;
	_cleanup_free_ char *output = NULL;
	json_object *v;
	const char *why;
	char name[96], msg[256];
	bool reboot = true;
	int r, status;

	if (!json_object_object_get_ex(args, "reason", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		lc_control_call_fail(call, EINVAL,
				     "expected \"reason\": a code, a name or \"!name\"");
		return;
	}
	r = lc_reboot_reason_parse(json_object_get_string(v), &reason, &why);
	if (r < 0) {
		lc_control_call_fail(call, EINVAL, "reason \"%.64s\": %s",
				     json_object_get_string(v), why);
		return;
	}
	if (json_object_object_get_ex(args, "reboot", &v)) {
		if (!json_object_is_type(v, json_type_boolean)) {
			lc_control_call_fail(call, EINVAL, "\"reboot\": expected true or false");
			return;
		}
		reboot = json_object_get_boolean(v);
	}
	lc_reboot_reason_format(&reason, name, sizeof(name));
	r = lc_reboot_declare(state_dir, c->boot.boot_id, &reason);
	if (r < 0) {
		log_error_errno(r, "Failed to record the reboot reason %s: %m", name);
		lc_control_call_fail(call, -r, "failed to record the reason in %s/reboot: %s",
				     state_dir, strerror(-r));
		return;
	}
	log_notice("Reboot reason %s declared by uid %u (pid %d)%s.", name,
		   (unsigned)lc_control_call_uid(call), (int)lc_control_call_pid(call),
		   reboot ? "; asking the system to reboot" : "");
	if (!reboot) {
		snprintf(msg, sizeof(msg), "Recorded %s as the reason for the next reboot.", name);
		reply_message(call, msg);
		return;
	}
	r = lc_run_capture(command, REBOOT_COMMAND_TIMEOUT_MS, 4096, &output, &status);
	if (r >= 0 && WIFSIGNALED(status)) {
		/* Killed, most likely by the shutdown it started: the reason stays. */
		log_notice("reboot_command \"%s\" was killed by signal %d; keeping the reason.",
			   command, WTERMSIG(status));
		r = 0;
	} else if (r >= 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		r = -ECHILD;
	}
	if (r < 0) {
		/* A reason left behind would be given to whatever ends this boot later. */
		_cleanup_free_ char *path = NULL;

		if (asprintf(&path, "%s/reboot/%s", state_dir, LC_REBOOT_DECLARED_FILE) >= 0)
			(void)unlink(path);
		log_error("reboot_command \"%s\" failed (%s); the reason was withdrawn.", command,
			  r == -ECHILD ? "non-zero exit" : strerror(-r));
		lc_control_call_fail(call, r == -ECHILD ? EIO : -r,
				     "reboot_command \"%s\" failed (%s); the reason was withdrawn",
				     command,
				     r == -ECHILD ? (WIFEXITED(status) ? "non-zero exit status"
								       : "killed by a signal")
						  : strerror(-r));
		return;
	}
	snprintf(msg, sizeof(msg), "Recorded %s; the system is rebooting.", name);
	reply_message(call, msg);
}

#define PROCESS_NAME_MAX 64

static bool printable_ascii(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

static void cmd_report_crash(struct lc_control_call *call, json_object *args, void *userdata)
{
	struct lc_core *c = userdata;
	const char *process = "?";
	int64_t signo = 0;
	json_object *v;
	char msg[192];
	int r;

	if (json_object_object_get_ex(args, "process", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    !printable_ascii(json_object_get_string(v), 1, PROCESS_NAME_MAX)) {
			lc_control_call_fail(call, EINVAL,
					     "\"process\": expected 1-%d printable characters",
					     PROCESS_NAME_MAX);
			return;
		}
		process = json_object_get_string(v);
	}
	if (json_object_object_get_ex(args, "signal", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
		    json_object_get_int64(v) > 64) {
			lc_control_call_fail(call, EINVAL, "\"signal\": expected 1-64");
			return;
		}
		signo = json_object_get_int64(v);
	}
	/* One rule for every source of crashes: nothing is counted without consent. */
	if (!c->collecting) {
		lc_control_call_fail(call, EPERM,
				     "data collection is disabled: the crash of %s is not counted",
				     process);
		return;
	}
	r = lc_heartbeat_crash(c->heartbeat, NULL, 0);
	log_notice("Crash of %s (signal %" PRId64 ") counted in the hours ledger (uid %u).",
		   process, signo, (unsigned)lc_control_call_uid(call));
	if (r < 0) {
		lc_control_call_fail(call, -r, "counted, but the ledger could not be saved: %s",
				     strerror(-r));
		return;
	}
	snprintf(msg, sizeof(msg),
		 "Crash of %s counted: this heartbeat interval is not crash-free.", process);
	reply_message(call, msg);
}

struct crash_drain {
	struct lc_core *core;
	unsigned counted;
	unsigned discarded; /* data collection off */
};

static bool crash_report_has_drops(const struct lc_crash_report *r)
{
	for (size_t c = 0; c < _LC_CLASS_MAX; c++)
		for (size_t k = 0; k < _LC_DROP_MAX; k++)
			if (r->drops[c][k] > 0)
				return true;
	return false;
}

/* One report of faultd-core-handler: the hours ledger and the plugins learn of it when data
 * collection is on; without consent it is only logged, and the report goes either way. */
static void crash_report(const struct lc_crash_report *r, void *userdata)
{
	struct crash_drain *d = userdata;
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
	lc_plugin_host_crash(c->plugins, r);
	d->counted++;
}

/* Takes every report waiting in <state_dir>/crashes. Returns how many, or -errno (logged). */
static int crash_log_drain(struct lc_core *c, struct crash_drain *d)
{
	const char *state_dir = lc_config_get_string(c->cfg, "state_dir");
	int r;

	*d = (struct crash_drain){ .core = c };
	r = lc_crash_log_drain(state_dir, crash_report, d);
	if (r < 0)
		return log_error_errno(r, "Failed to read the crash log in %s/crashes: %m",
				       state_dir);
	return r;
}

static void on_crash_poll(uv_timer_t *t)
{
	struct crash_drain d;

	(void)crash_log_drain(t->data, &d);
}

/* Before an hours interval closes, the crashes waiting in the crash log are placed in it. */
static void heartbeat_before_close(void *userdata)
{
	struct crash_drain d;

	(void)crash_log_drain(userdata, &d);
}

/* faultd-core-handler left a report: count it now rather than at the next poll. */
static void cmd_crash_reported(struct lc_control_call *call, json_object *args, void *userdata)
{
	struct lc_core *c = userdata;
	struct lc_crash_report rep;
	struct crash_drain d;
	json_object *o;
	bool inline_report = false;
	char msg[128];
	int r;

	/* A report the handler could not write (a full filesystem) comes in the request. */
	if (args && json_object_object_get_ex(args, "report", &o)) {
		if (lc_crash_report_from_json(o, &rep) < 0) {
			lc_control_call_fail(call, EINVAL, "\"report\": not a crash report");
			return;
		}
		inline_report = true;
	}
	r = crash_log_drain(c, &d);
	if (r < 0) {
		lc_control_call_fail(call, -r, "cannot read the crash log in %s/crashes: %s",
				     lc_config_get_string(c->cfg, "state_dir"), strerror(-r));
		return;
	}
	if (inline_report)
		crash_report(&rep, &d);
	if (d.discarded)
		snprintf(msg, sizeof(msg),
			 "Counted %u crash%s; %u discarded: data collection is disabled.",
			 d.counted, d.counted == 1 ? "" : "es", d.discarded);
	else
		snprintf(msg, sizeof(msg), "Counted %u crash%s.", d.counted,
			 d.counted == 1 ? "" : "es");
	o = json_object_new_object();
	if (o && (lc_json_add(o, "message", json_object_new_string(msg)) < 0 ||
		  lc_json_add(o, "counted", json_object_new_int64(d.counted)) < 0 ||
		  lc_json_add(o, "discarded", json_object_new_int64(d.discarded)) < 0)) {
		json_object_put(o);
		o = NULL;
	}
	lc_control_call_reply(call, o);
}

#define METRICS_WRITE_MAX 100

/* Whether reading i keeps the kind its key has in the store and earlier in the same request. */
static bool kind_fits(const struct lc_metrics *m, const struct lc_metric_assignment *a, size_t i)
{
	enum lc_metric_kind k;

	if (lc_metrics_kind_of(m, a[i].key, a[i].key_len, &k) == 0 && k != a[i].kind)
		return false;
	for (size_t j = 0; j < i; j++)
		if (a[j].key_len == a[i].key_len && memcmp(a[j].key, a[i].key, a[i].key_len) == 0 &&
		    a[j].kind != a[i].kind)
			return false;
	return true;
}

static void cmd_write_metric(struct lc_control_call *call, json_object *args, void *userdata)
{
	struct lc_core *c = userdata;
	struct lc_metric_assignment a[METRICS_WRITE_MAX];
	size_t n, kept = 0, capped = 0, refused = 0;
	const char *why = NULL;
	json_object *list;
	char msg[192];
	int r;

	if (!json_object_object_get_ex(args, "metrics", &list) ||
	    !json_object_is_type(list, json_type_array) ||
	    (n = json_object_array_length(list)) == 0) {
		lc_control_call_fail(call, EINVAL,
				     "expected \"metrics\": [\"NAME=VALUE[:KIND]\", ...]");
		return;
	}
	if (n > METRICS_WRITE_MAX) {
		lc_control_call_fail(call, E2BIG, "at most %d readings at once, got %zu",
				     METRICS_WRITE_MAX, n);
		return;
	}
	if (!lc_config_get_bool(c->cfg, "enable_data_collection")) {
		lc_control_call_fail(call, EPERM, "not recorded: data collection is disabled");
		return;
	}
	/* All or nothing: every reading is checked before any is taken. */
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(list, i);

		if (!json_object_is_type(v, json_type_string)) {
			lc_control_call_fail(call, EINVAL, "reading %zu: expected a string", i + 1);
			return;
		}
		r = lc_metric_assignment_parse(json_object_get_string(v), &a[i], &why);
		if (r < 0) {
			lc_control_call_fail(call, -r, "reading %zu (\"%.40s\"): %s", i + 1,
					     json_object_get_string(v), why);
			return;
		}
		if (!kind_fits(c->metrics, a, i)) {
			lc_control_call_fail(call, EINVAL,
					     "reading %zu: \"%.*s\" already holds another kind of "
					     "metric in this heartbeat",
					     i + 1, (int)a[i].key_len, a[i].key);
			return;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (a[i].kind == LC_METRIC_SET)
			r = lc_metrics_set_add(c->metrics, a[i].key, a[i].key_len, a[i].member,
					       a[i].member_len);
		else
			r = lc_metrics_add(c->metrics, a[i].key, a[i].key_len, a[i].kind,
					   a[i].value);
		if (r == -ENOMEM) {
			lc_control_call_fail(call, ENOMEM, "out of memory after %zu reading%s",
					     kept, kept == 1 ? "" : "s");
			return;
		}
		/* -EINVAL is left for names the heartbeat holds itself ("operational_hours",
		 * "faultd/..."), and for histogram names too long for ".count". */
		if (r == -ENOSPC)
			capped++;
		else if (r < 0)
			refused++;
		else
			kept++;
	}
	if (capped || refused)
		snprintf(msg, sizeof(msg),
			 "Recorded %zu reading%s; not kept: %zu over metrics.max_keys, %zu with a "
			 "name reserved for faultd or too long for its kind.",
			 kept, kept == 1 ? "" : "s", capped, refused);
	else
		snprintf(msg, sizeof(msg), "Recorded %zu reading%s in the heartbeat in progress.",
			 kept, kept == 1 ? "" : "s");
	log_debug("%s (uid %u)", msg, (unsigned)lc_control_call_uid(call));
	reply_message(call, msg);
}

static void cmd_request_metrics(struct lc_control_call *call, json_object *args, void *userdata)
{
	struct lc_core *c = userdata;
	char msg[256];
	int r;

	if (!c->collecting) {
		reply_message(call, "Heartbeat not recorded: data collection is disabled.");
		return;
	}
	r = lc_heartbeat_close_now(c->heartbeat);
	if (r == -EPERM)
		snprintf(msg, sizeof(msg),
			 "Heartbeat closed, not recorded: data collection is disabled.");
	else if (r == -ECANCELED)
		snprintf(msg, sizeof(msg),
			 "Heartbeat closed, not recorded: the fleet's sampling excludes "
			 "heartbeats.");
	else if (r < 0) {
		lc_control_call_fail(call, -r, "the heartbeat could not be recorded: %s",
				     strerror(-r));
		return;
	} else
		snprintf(msg, sizeof(msg),
			 "%s The hours of this interval come with the heartbeat that ends it, "
			 "in %" PRIu64 " s.",
			 r > 0 ? "Heartbeat closed; `faultctl sync` uploads it."
			       : "Nothing to report since the last heartbeat.",
			 (lc_heartbeat_next_in_ms(c->heartbeat) + 999) / 1000);
	reply_message(call, msg);
}

static const struct lc_control_command core_commands[] = {
	{ "status", false, cmd_status, "Show version, consent, identity and plugin states" },
	{ "show-config", false, cmd_show_config,
	  "Show the merged configuration and where each value came from" },
	{ "enable-data-collection", true, cmd_enable_collection,
	  "Give consent: start recording and uploading (persisted)" },
	{ "disable-data-collection", true, cmd_disable_collection,
	  "Withdraw consent: record and upload nothing (persisted)" },
	{ "enable-dev-mode", true, cmd_enable_dev,
	  "Developer mode: highest sampling, no rate limits (persisted)" },
	{ "disable-dev-mode", true, cmd_disable_dev, "Leave developer mode (persisted)" },
	{ "sync", true, cmd_sync, "Upload the spooled entries now and report what happened" },
	{ "write-attributes", true, cmd_write_attributes,
	  "Record a device-attributes entry from KEY=VALUE items" },
	{ "reboot", true, cmd_reboot,
	  "Record the reason for the coming reboot, then reboot (unless \"reboot\": false)" },
	{ "report-crash", true, cmd_report_crash,
	  "Count a process crash in the hours ledger by hand" },
	{ "crash-reported", true, cmd_crash_reported,
	  "Count the crashes faultd-core-handler left in the crash log (it sends this)" },
	{ "write-metric", true, cmd_write_metric,
	  "Record metric readings: {\"metrics\": [\"NAME=VALUE[:KIND]\", ...]}" },
	{ "request-metrics", true, cmd_request_metrics,
	  "Close the heartbeat in progress now; the next sync uploads it" },
};

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
	r = lc_control_register(ctl, core_commands, ARRAY_SIZE(core_commands), c);
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

/* The keys the device identity is resolved from. */
static const char *const identity_inputs[] = {
	"sysroot",
	"device.serial",
	"device.hardware_version",
	"device.software_type",
	"device.software_version",
	"device.info_command",
};

static bool same_strings(const struct lc_config *a, const struct lc_config *b,
			 const char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!streq(lc_config_get_string(a, keys[i]), lc_config_get_string(b, keys[i])))
			return false;
	return true;
}

/*
 * Loads the configuration again; the running one stays unless the new one is entirely valid.
 * The device-info command runs (blocking the loop, 10 s at most) only when an identity input
 * changed, so a plain reload never stalls the watchdog or control clients.
 */
static void core_reload(struct lc_core *c)
{
	_cleanup_strv_free_ char **errors = NULL;
	struct lc_identity id = {};
	struct lc_config *cfg = NULL;
	struct lc_control *ctl = NULL;
	bool control_changed, identity_changed;
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
		goto done;
	}
	if (!streq(lc_config_get_string(cfg, "state_dir"),
		   lc_config_get_string(c->cfg, "state_dir"))) {
		log_error("state_dir changed from %s to %s: that needs a restart; "
			  "keeping the running configuration.",
			  lc_config_get_string(c->cfg, "state_dir"),
			  lc_config_get_string(cfg, "state_dir"));
		set_last_reload(c, "failed: state_dir changed; restart faultd to move it");
		goto done;
	}
	identity_changed = !same_strings(cfg, c->cfg, identity_inputs, ARRAY_SIZE(identity_inputs));
	if (identity_changed) {
		r = lc_settings_identity(cfg, &id);
		if (r < 0) {
			set_last_reload(c, "failed: device identity could not be determined");
			goto done;
		}
	}

	control_changed = !c->control ||
			  !streq(lc_config_get_string(cfg, "control_socket"),
				 lc_config_get_string(c->cfg, "control_socket")) ||
			  !streq(lc_config_get_string(cfg, "control_group"),
				 lc_config_get_string(c->cfg, "control_group"));
	if (control_changed) {
		/* The old socket goes first: the new one may live at the same path. */
		lc_control_close(c->control);
		c->control = NULL;
		r = control_start(c, cfg, &ctl);
		if (r < 0) {
			log_warning("Trying the previous control socket again.");
			if (control_start(c, c->cfg, &c->control) < 0)
				log_error("No control socket until the next successful reload.");
			lc_identity_done(&id);
			set_last_reload(c, "failed: control socket: %s", strerror(-r));
			goto done;
		}
		c->control = ctl;
	}

	/* What the plugins hold (queued datagrams, counter baselines) goes into the store first. */
	lc_plugin_host_collect(c->plugins);
	lc_plugin_host_stop(c->plugins);
	lc_config_free(c->cfg);
	c->cfg = TAKE_PTR(cfg);
	c->collecting = lc_config_get_bool(c->cfg, "enable_data_collection");
	lc_heartbeat_set_collecting(c->heartbeat, c->collecting);
	log_runtime_damage(c->cfg);
	if (identity_changed) {
		lc_identity_done(&c->identity);
		c->identity = id;
	}
	apply_logging(c, c->cfg);
	{
		struct lc_spool_limits limits;

		lc_settings_spool_limits(c->cfg, &limits);
		lc_spool_set_limits(c->spool, &limits);
	}
	c->record.project_key = lc_config_get_string(c->cfg, "project_key");
	lc_uploader_set_config(c->uploader, c->cfg);
	{
		struct lc_heartbeat_timing timing;

		heartbeat_timing_from(c->cfg, &timing);
		lc_heartbeat_set_timing(c->heartbeat, &timing);
	}
	metrics_configure(c->metrics, c->cfg);
	if (identity_changed)
		lc_heartbeat_set_software_version(c->heartbeat,
						  c->identity.value[LC_ID_SOFTWARE_VERSION]);
	lc_plugin_host_start(c->plugins, c->cfg);
	set_last_reload(c, "ok");
	log_info("Configuration reloaded.");
done:
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

/* Crashes while faultd was down (or faultd's own) are counted now, then every CRASH_POLL_MS in
 * case the handler's "crash-reported" was lost. */
static int crash_poll_start(struct lc_core *c)
{
	struct crash_drain d;
	int r;

	(void)crash_log_drain(c, &d);
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
			.before_close = heartbeat_before_close,
			.commit = heartbeat_commit,
			.userdata = c,
		};

		heartbeat_timing_from(c->cfg, &ho.timing);
		r = lc_heartbeat_new(&ho, &c->heartbeat);
		if (r < 0)
			return log_error_errno(r, "Failed to set up the hours ledger: %m");
	}
	c->services = (struct lc_plugin_services){
		.record = plugin_record,
		.unexpected_reboot = plugin_unexpected_reboot,
		.record_ended_boot = plugin_record_ended_boot,
		.metrics = plugin_metrics,
		.boot = &c->boot,
		.userdata = c,
	};
	lc_plugin_host_set_services(c->plugins, &c->services);
	return 0;
}

static int start_components(struct lc_core *c)
{
	const char *state_dir = lc_config_get_string(c->cfg, "state_dir");
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
	c->start_usec = now_usec();
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
	free(c->last_reload);
	c->last_reload = NULL;
	return r < 0 ? r : r_close;
}
