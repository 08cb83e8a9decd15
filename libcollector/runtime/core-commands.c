/* SPDX-License-Identifier: MIT */
/*
 * The control commands' handlers: each command of lc_commands (control/commands.h) that faultd
 * runs, on the core it was registered with. See core-commands.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build-config.h"
#include "clock.h"
#include "commands.h"
#include "core-commands.h"
#include "core-internal.h"
#include "exec.h"
#include "failure-kind.h"
#include "fileio.h"
#include "gate.h"
#include "history.h"
#include "json-util.h"
#include "log.h"
#include "reboot.h"
#include "text.h"

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

/* The path of the reason declared for the coming reboot, or NULL without memory. */
static char *declared_reboot_path(struct lc_core *c)
{
	char *path;

	if (asprintf(&path, "%s/reboot/%s", lc_config_get_string(c->cfg, "state_dir"),
		     LC_REBOOT_DECLARED_FILE) < 0)
		return NULL;
	return path;
}

/*
 * "reboot_declared": the reason `faultctl reboot` declared for the coming reboot, {"reason" (as
 * people write it), "unexpected", "declared_ms"}, or null when there is none; a damaged note is
 * {"damaged": why}, since the next boot will ignore it.
 */
static int add_declared_reboot(struct lc_core *c, json_object *o)
{
	_cleanup_free_ char *path = declared_reboot_path(c);
	_cleanup_json_ json_object *d = NULL;
	struct lc_reboot_note note;
	const char *why;
	char name[96];
	int r;

	if (!path)
		return -ENOMEM;
	r = lc_reboot_note_read(path, &note, &why);
	if (r == -ENOENT)
		return lc_json_add_null(o, "reboot_declared");
	d = json_object_new_object();
	if (r < 0) {
		if (lc_json_add(d, "damaged", json_object_new_string(why)) < 0)
			return -ENOMEM;
	} else if (lc_json_add(d, "reason",
			       json_object_new_string(lc_reboot_reason_format(&note.reason, name,
									      sizeof(name)))) < 0 ||
		   lc_json_add(d, "unexpected",
			       json_object_new_boolean(lc_reboot_reason_unexpected(&note.reason))) <
			   0 ||
		   lc_json_add(d, "declared_ms", json_object_new_int64((int64_t)note.realtime_ms)) <
			   0)
		return -ENOMEM;
	return lc_json_add(o, "reboot_declared", TAKE_PTR(d));
}

#define LOOPS_CRASH_WINDOW_MS (60 * 60 * 1000) /* crash loops shown by status */

/* Reads the history quietly (faultd logged its damage at start); an unreadable one is empty. */
static int history_read(struct lc_core *c, struct lc_history *ret)
{
	struct lc_history_limits l = lc_history_default_limits();
	int r;

	r = lc_history_load(lc_config_get_string(c->cfg, "state_dir"), &l, true, ret);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		*ret = (struct lc_history){ 0 };
	lc_history_sort(ret);
	return 0;
}

/*
 * "loops": from the history, {"boot_loop": {"unexpected_reboots", "minutes", "time_ms"} when this
 * boot followed a boot loop, else null; "crash_loops": [{"process", "crashes", "time_ms"}] of the
 * last hour}.
 */
static int add_loops(struct lc_core *c, json_object *o)
{
	_cleanup_(lc_history_done) struct lc_history h = { 0 };
	_cleanup_json_ json_object *loops = json_object_new_object();
	_cleanup_json_ json_object *crash = json_object_new_array();
	json_object *boot = NULL;
	uint64_t now = lc_clock_ms(CLOCK_REALTIME);
	int r = 0;

	if (!loops || !crash || history_read(c, &h) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < h.n; i++) {
		const struct lc_history_event *e = &h.events[i];
		json_object *l;

		if (e->kind == LC_HISTORY_BOOT_LOOP && streq(e->boot_id, c->boot.boot_id)) {
			json_object_put(boot);
			boot = json_object_new_object();
			lc_json_add_sticky(boot, "unexpected_reboots",
					   json_object_new_int64(e->count), &r);
			lc_json_add_sticky(boot, "minutes", json_object_new_int64(e->minutes), &r);
			lc_json_add_sticky(boot, "time_ms",
					   json_object_new_int64((int64_t)e->time_ms), &r);
		}
		if (e->kind != LC_HISTORY_CRASH_LOOP || e->time_ms + LOOPS_CRASH_WINDOW_MS < now)
			continue;
		l = json_object_new_object();
		lc_json_add_sticky(l, "process", json_object_new_string(e->process), &r);
		lc_json_add_sticky(l, "crashes", json_object_new_int64(e->count), &r);
		lc_json_add_sticky(l, "time_ms", json_object_new_int64((int64_t)e->time_ms), &r);
		if (!l || json_object_array_add(crash, l) < 0) {
			json_object_put(l);
			r = -ENOMEM;
		}
	}
	if (boot)
		lc_json_add_sticky(loops, "boot_loop", boot, &r);
	else
		lc_json_sticky(lc_json_add_null(loops, "boot_loop"), &r);
	lc_json_add_sticky(loops, "crash_loops", TAKE_PTR(crash), &r);
	if (r < 0)
		return r;
	return lc_json_add(o, "loops", TAKE_PTR(loops));
}

static void cmd_status(struct lc_control_call *call, json_object *args, void *userdata)
{
	struct lc_core *c = userdata;
	json_object *o = json_object_new_object(), *src;
	int r = 0;

	if (!o) {
		lc_control_call_fail(call, ENOMEM, "out of memory");
		return;
	}
	lc_json_add_sticky(o, "version", json_object_new_string(FAULTD_VERSION), &r);
	lc_json_add_sticky(o, "pid", json_object_new_int64(getpid()), &r);
	lc_json_add_sticky(
		o, "uptime_seconds",
		json_object_new_int64((int64_t)((uv_hrtime() - c->start_ns) / 1000000000ULL)), &r);
	lc_json_add_sticky(o, "config_file", json_object_new_string(lc_config_main_path(c->cfg)),
			   &r);
	lc_json_add_sticky(o, "state_dir",
			   json_object_new_string(lc_config_get_string(c->cfg, "state_dir")), &r);
	lc_json_add_sticky(
		o, "data_collection",
		json_object_new_boolean(lc_config_get_bool(c->cfg, "enable_data_collection")), &r);
	lc_json_add_sticky(o, "developer_mode",
			   json_object_new_boolean(lc_config_get_bool(c->cfg, "enable_dev_mode")),
			   &r);
	lc_json_sticky(lc_json_add_string_or_null(o, "runtime_config_damage",
						  lc_config_runtime_damage(c->cfg)),
		       &r);
	lc_json_add_sticky(o, "identity", lc_identity_to_json(&c->identity), &r);
	src = json_object_new_object();
	for (int f = 0; f < _LC_ID_MAX; f++)
		lc_json_sticky(
			lc_json_add_string_or_null(src, lc_id_field_name(f), c->identity.source[f]),
			&r);
	lc_json_add_sticky(o, "identity_sources", src, &r);
	lc_json_add_sticky(o, "plugins", lc_plugin_host_status(c->plugins), &r);
	if (c->spool) {
		(void)lc_spool_refresh(c->spool);
		lc_json_add_sticky(o, "spool", lc_spool_status(c->spool), &r);
		lc_json_add_sticky(o, "storage", storage_status(c), &r);
	}
	if (c->uploader)
		lc_json_add_sticky(o, "upload", lc_uploader_status(c->uploader), &r);
	if (c->heartbeat)
		lc_json_add_sticky(o, "hours", lc_heartbeat_status(c->heartbeat), &r);
	lc_json_sticky(add_declared_reboot(c, o), &r);
	lc_json_sticky(add_loops(c, o), &r);
	lc_json_add_sticky(o, "reloads", json_object_new_int64(c->reloads), &r);
	lc_json_sticky(lc_json_add_string_or_null(o, "last_reload", c->last_reload), &r);
	/* A status with gaps says more than none. */
	if (r < 0)
		log_warning_errno(r, "Failed to build the whole status reply, sending it with "
				     "members missing: %m");
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
	_cleanup_json_ json_object *o = NULL;
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
	if (lc_json_add(o, "message", json_object_new_string(msg)) < 0 ||
	    lc_json_add(o, key, json_object_new_boolean(on)) < 0) {
		lc_control_call_fail(call, ENOMEM, "out of memory");
		return;
	}
	lc_control_call_reply(call, TAKE_PTR(o));
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

#define ATTRIBUTES_MAX 100

static void cmd_write_attributes(struct lc_control_call *call, json_object *args, void *userdata)
{
	struct lc_core *c = userdata;
	json_object *list, *items = NULL, *meta = NULL, *reply;
	const char *why = NULL;
	char uuid[37], msg[128];
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
	if (!items || lc_json_add(meta, "attributes", TAKE_PTR(items)) < 0) {
		lc_control_call_fail(call, ENOMEM, "out of memory");
		goto out;
	}
	r = core_record(c, "device-attributes", TAKE_PTR(meta), uuid, &why);
	if (r < 0) {
		lc_control_call_fail(call, -r, "not recorded: %s", why);
		goto out;
	}
	log_info("Recorded %zu device attribute%s as entry %s (uid %u).", n, n == 1 ? "" : "s",
		 uuid, (unsigned)lc_control_call_uid(call));
	snprintf(msg, sizeof(msg), "Recorded %zu attribute%s as entry %s.", n, n == 1 ? "" : "s",
		 uuid);
	reply = json_object_new_object();
	if (lc_json_add(reply, "message", json_object_new_string(msg)) < 0 ||
	    lc_json_add(reply, "entry", json_object_new_string(uuid)) < 0) {
		json_object_put(reply);
		lc_control_call_fail(call, ENOMEM,
				     "recorded as entry %s, but out of memory for the reply", uuid);
		goto out;
	}
	lc_control_call_reply(call, reply);
out:
	json_object_put(items);
	json_object_put(meta);
}

static void sync_done(const struct lc_upload_result *res, void *userdata)
{
	struct lc_control_call *call = userdata;
	_cleanup_json_ json_object *o = NULL;
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
	if (lc_json_add(o, "message", json_object_new_string(msg)) < 0 ||
	    lc_json_add(o, "entries", json_object_new_int64((int64_t)res->entries)) < 0 ||
	    lc_json_add(o, "bytes", json_object_new_int64((int64_t)res->bytes)) < 0 ||
	    lc_json_add(o, "batches", json_object_new_int64((int64_t)res->batches)) < 0 ||
	    lc_json_add(o, "rejected", json_object_new_int64((int64_t)res->rejected)) < 0 ||
	    lc_json_add(o, "remaining", json_object_new_int64((int64_t)res->remaining)) < 0) {
		lc_control_call_fail(call, ENOMEM, "out of memory");
		return;
	}
	lc_control_call_reply(call, TAKE_PTR(o));
}

static void cmd_sync(struct lc_control_call *call, json_object *args, void *userdata)
{
	struct lc_core *c = userdata;
	int r;

	/* What plugins hold in progress (the log file) goes with this upload. */
	if (c->collecting)
		lc_plugin_host_sync(c->plugins);
	r = lc_uploader_sync(c->uploader, sync_done, call);
	if (r < 0)
		lc_control_call_fail(call, -r, "upload failed: %s", strerror(-r));
}

/* {"entries", "bytes", "oldest_ms", "drops": {reason: n}} of the log files in the spool. */
static json_object *spool_logs_status(struct lc_core *c)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object *drops = json_object_new_object();
	uint64_t n = 0, bytes = 0, oldest = 0;

	if (!o || lc_json_add(o, "drops", drops) < 0)
		return NULL;
	(void)lc_spool_refresh(c->spool);
	for (size_t i = 0; i < lc_spool_count(c->spool); i++) {
		const struct lc_spool_entry *e = lc_spool_entry_at(c->spool, i);

		if (e->cls != LC_CLASS_LOGS)
			continue;
		if (n++ == 0)
			oldest = e->created_ms;
		bytes += e->bytes;
	}
	for (int r = 0; r < _LC_DROP_MAX; r++)
		if (lc_json_add(
			    drops, lc_drop_reason_name(r),
			    json_object_new_uint64(lc_spool_drops(c->spool, LC_CLASS_LOGS, r))) < 0)
			return NULL;
	if (lc_json_add(o, "entries", json_object_new_uint64(n)) < 0 ||
	    lc_json_add(o, "bytes", json_object_new_uint64(bytes)) < 0 ||
	    (n ? lc_json_add(o, "oldest_ms", json_object_new_uint64(oldest))
	       : lc_json_add_null(o, "oldest_ms")) < 0)
		return NULL;
	return TAKE_PTR(o);
}

/* "logs": the logs plugin's entry of status (its sources, the file in progress, the budget and
 * what it dropped) and the log files waiting in the spool. */
static void cmd_logs(struct lc_control_call *call, json_object *args, void *userdata)
{
	struct lc_core *c = userdata;
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object *plugin = lc_plugin_host_status_of(c->plugins, "logs");

	if (!plugin) {
		lc_control_call_fail(call, ENOENT, "this faultd was built without the logs plugin");
		return;
	}
	if (!o || lc_json_add(o, "plugin", plugin) < 0 ||
	    (c->spool ? lc_json_add(o, "spool", spool_logs_status(c))
		      : lc_json_add_null(o, "spool")) < 0) {
		lc_control_call_fail(call, ENOMEM, "out of memory");
		return;
	}
	lc_control_call_reply(call, TAKE_PTR(o));
}

/* Replies {"message": msg} or fails with ENOMEM. */
static void reply_message(struct lc_control_call *call, const char *msg)
{
	json_object *o = json_object_new_object();

	if (lc_json_add(o, "message", json_object_new_string(msg)) < 0) {
		json_object_put(o);
		lc_control_call_fail(call, ENOMEM, "out of memory");
		return;
	}
	lc_control_call_reply(call, o);
}

#define REBOOT_COMMAND_TIMEOUT_MS 30000

/* `reboot --cancel`: withdraws the reason declared for the coming reboot, if any. */
static void reboot_cancel(struct lc_core *c, struct lc_control_call *call)
{
	_cleanup_free_ char *path = declared_reboot_path(c);
	struct lc_reboot_note note;
	const char *why;
	char name[96] = "a damaged declaration", msg[192];
	int r;

	if (!path) {
		lc_control_call_fail(call, ENOMEM, "out of memory");
		return;
	}
	r = lc_reboot_note_read(path, &note, &why);
	if (r == -ENOENT) {
		reply_message(call, "No reboot reason was declared: nothing to withdraw.");
		return;
	}
	if (r >= 0)
		lc_reboot_reason_format(&note.reason, name, sizeof(name));
	if (unlink(path) < 0 && errno != ENOENT) {
		r = -errno;
		log_error_errno(r, "Failed to withdraw the reboot reason %s: %m", name);
		lc_control_call_fail(call, -r, "cannot remove %s: %s", path, strerror(-r));
		return;
	}
	log_notice("Reboot reason %s withdrawn by uid %u (pid %d).", name,
		   (unsigned)lc_control_call_uid(call), (int)lc_control_call_pid(call));
	snprintf(msg, sizeof(msg), "Withdrew %s, the reason declared for the coming reboot.", name);
	reply_message(call, msg);
}

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

	if (json_object_object_get_ex(args, "cancel", &v)) {
		if (!json_object_is_type(v, json_type_boolean) || !json_object_get_boolean(v) ||
		    json_object_object_length(args) != 1) {
			lc_control_call_fail(call, EINVAL,
					     "\"cancel\": expected true, and nothing else");
			return;
		}
		reboot_cancel(c, call);
		return;
	}
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

/* A crash reported with `faultctl report-crash` joins the history, without core or frames. */
static void history_add_reported_crash(struct lc_core *c, const char *process, int signo)
{
	struct lc_history_limits l = lc_history_default_limits();
	struct lc_history_event e = { .kind = LC_HISTORY_CRASH,
				      .time_ms = lc_clock_ms(CLOCK_REALTIME),
				      .signal = signo };
	int r;

	snprintf(e.boot_id, sizeof(e.boot_id), "%s", c->boot.boot_id);
	snprintf(e.process, sizeof(e.process), "%s", process);
	snprintf(e.software_version, sizeof(e.software_version), "%s",
		 c->identity.value[LC_ID_SOFTWARE_VERSION]);
	r = lc_history_append(lc_config_get_string(c->cfg, "state_dir"), &l, &e, false);
	if (r < 0)
		log_warning_errno(r, "The crash of %s is counted, but not in the history: %m",
				  process);
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
		size_t n = json_object_is_type(v, json_type_string)
				   ? strlen(json_object_get_string(v))
				   : 0;

		if (n < 1 || n > PROCESS_NAME_MAX ||
		    !lc_text_printable(json_object_get_string(v), n)) {
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
	history_add_reported_crash(c, process, (int)signo);
	if (r < 0) {
		lc_control_call_fail(call, -r, "counted, but the ledger could not be saved: %s",
				     strerror(-r));
		return;
	}
	snprintf(msg, sizeof(msg),
		 "Crash of %s counted: this heartbeat interval is not crash-free.", process);
	reply_message(call, msg);
}

static void cmd_report_failure(struct lc_control_call *call, json_object *args, void *userdata)
{
	struct lc_core *c = userdata;
	const char *kind = NULL, *as = NULL;
	char shown[LC_FAILURE_KIND_MAX + 8], msg[192];
	json_object *v;
	int r;

	if (json_object_object_get_ex(args, "kind", &v) && json_object_is_type(v, json_type_string))
		kind = json_object_get_string(v);
	if (!kind || !lc_failure_kind_valid(kind, strlen(kind))) {
		lc_control_call_fail(
			call, EINVAL, "\"kind\": expected %s, got \"%s\"", LC_FAILURE_KIND_EXPECTED,
			kind ? lc_text_printable_copy(shown, sizeof(shown), kind, strlen(kind))
			     : "");
		return;
	}
	r = core_failure(c, kind, &as);
	if (r == -EPERM) {
		lc_control_call_fail(call, EPERM,
				     "data collection is disabled: the failure %s is not counted",
				     kind);
		return;
	}
	log_notice("Failure %s counted in the hours ledger%s%s (uid %u).", kind,
		   as && !streq(as, kind) ? " as " : "", as && !streq(as, kind) ? as : "",
		   (unsigned)lc_control_call_uid(call));
	if (r < 0) {
		lc_control_call_fail(call, -r, "counted, but the ledger could not be saved: %s",
				     strerror(-r));
		return;
	}
	if (as && !streq(as, kind))
		snprintf(msg, sizeof(msg),
			 "Failure %s counted as %s (this interval holds as many other kinds as "
			 "the ledger keeps): this heartbeat interval is not %s-failure-free.",
			 kind, as, as);
	else
		snprintf(msg, sizeof(msg),
			 "Failure %s counted: this heartbeat interval is not %s-failure-free.",
			 kind, kind);
	reply_message(call, msg);
}

/* report-sync-success, report-sync-failure: a counter of the heartbeat in progress. */
static void report_sync(struct lc_control_call *call, struct lc_core *c, const char *key)
{
	char msg[96];
	int r;

	if (!c->collecting || !c->metrics) {
		lc_control_call_fail(call, EPERM, "data collection is disabled: %s is not counted",
				     key);
		return;
	}
	r = lc_metrics_add(c->metrics, key, strlen(key), LC_METRIC_COUNTER, 1);
	if (r < 0) {
		lc_control_call_fail(call, -r, "%s not counted: %s", key,
				     r == -E2BIG ? "the heartbeat holds as many metrics as it may"
						 : strerror(-r));
		return;
	}
	snprintf(msg, sizeof(msg), "Counted in %s of this heartbeat.", key);
	reply_message(call, msg);
}

static void cmd_report_sync_success(struct lc_control_call *call, json_object *args, void *userdata)
{
	report_sync(call, userdata, "sync_successful");
}

static void cmd_report_sync_failure(struct lc_control_call *call, json_object *args, void *userdata)
{
	report_sync(call, userdata, "sync_failure");
}

/* faultd-core-handler left a report: count it now rather than at the next poll. */
static void cmd_crash_reported(struct lc_control_call *call, json_object *args, void *userdata)
{
	struct lc_core *c = userdata;
	struct lc_crash_report rep;
	struct core_crash_drain d;
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
	r = core_crash_log_drain(c, &d);
	if (r < 0) {
		lc_control_call_fail(call, -r, "cannot read the crash log in %s/crashes: %s",
				     lc_config_get_string(c->cfg, "state_dir"), strerror(-r));
		return;
	}
	if (inline_report)
		core_crash_report(&rep, &d);
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

/* faultd-core-handler asks for the log lines kept before a crash, to put them into its core
 * (control.h gives the request, the reply and their bounds). */
static void cmd_crash_logs(struct lc_control_call *call, json_object *args, void *userdata)
{
	struct lc_core *c = userdata;
	uint64_t now = lc_clock_ms(CLOCK_MONOTONIC), crash_ms = now;
	json_object *v, *o, *lines;
	const char *why = NULL;
	uid_t uid = lc_control_call_uid(call);

	/* The lines are other programs' logs: only the core handler (root) and faultd's own user
	 * may read them, not every member of control_group. */
	if (uid != 0 && uid != geteuid()) {
		lc_control_call_fail(
			call, EPERM,
			"permission denied: 'crash-logs' is faultd-core-handler's (root)");
		return;
	}
	if (args && json_object_object_get_ex(args, "crash_mono_ms", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0) {
			lc_control_call_fail(call, EINVAL,
					     "\"crash_mono_ms\": expected a time in ms");
			return;
		}
		crash_ms = MIN((uint64_t)json_object_get_int64(v), now);
	}
	/* Given as a log file would be recorded: with consent, and a fleet's logging.resolution
	 * that records log files (a core's debugging.resolution alone does not carry them). */
	lines = lc_gate_check(c->collecting, lc_config_get_bool(c->cfg, "enable_dev_mode"),
			      lc_uploader_sampling(c->uploader), LC_CLASS_LOGS, &why) == 0
			? lc_plugin_host_crash_logs(c->plugins, crash_ms, LC_CRASH_LOGS_BYTES_MAX)
			: NULL;
	o = json_object_new_object();
	/* lc_json_add() takes lines over, also without o. */
	if ((lines ? lc_json_add(o, "logs", lines) : lc_json_add_null(o, "logs")) < 0) {
		json_object_put(o);
		lc_control_call_fail(call, ENOMEM, "out of memory");
		return;
	}
	lc_control_call_reply(call, o);
}

#define METRICS_WRITE_MAX 100
#define METRIC_KINDS	  "counter (c), gauge (g), histogram (h, ms, timer, d) or set (s)"

/* Whether the reading s, refused, ends in ":WORD" that names no kind: then the mistake is more
 * likely the kind than the number before it ("x=1:bogus"). */
static bool unknown_kind(const char *s)
{
	const char *eq = strchr(s, '='), *colon = strrchr(s, ':');
	enum lc_metric_kind k;

	if (!eq || !colon || colon < eq || !colon[1])
		return false;
	for (const char *p = colon + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return false;
	return lc_metric_kind_parse(colon + 1, &k) < 0;
}

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
		if (r < 0 && unknown_kind(json_object_get_string(v))) {
			const char *colon = strrchr(json_object_get_string(v), ':');

			lc_control_call_fail(call, EINVAL,
					     "reading %zu (\"%.40s\"): KIND \"%.20s\" is unknown; "
					     "KIND is " METRIC_KINDS,
					     i + 1, json_object_get_string(v), colon + 1);
			return;
		}
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
	if (kept == 0) {
		/* Nothing was taken: a failure, not a success that recorded nothing. */
		lc_control_call_fail(
			call, capped ? ENOSPC : EINVAL,
			"nothing recorded: %zu reading%s over metrics.max_keys, %zu with "
			"a name reserved for faultd (operational_*, faultd/...) or too "
			"long for its kind",
			capped, capped == 1 ? "" : "s", refused);
		return;
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
	r = lc_heartbeat_report_now(c->heartbeat);
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

/* The "limit" argument of timeline and crashes: 1 to LC_HISTORY_MAX_EVENTS, all when absent.
 * Returns 0, or -EINVAL after failing the call. */
static int history_limit(struct lc_control_call *call, json_object *args, size_t *ret)
{
	json_object *v;

	*ret = LC_HISTORY_MAX_EVENTS;
	if (!json_object_object_get_ex(args, "limit", &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
	    json_object_get_int64(v) > LC_HISTORY_MAX_EVENTS) {
		lc_control_call_fail(call, EINVAL, "\"limit\": expected 1-%d",
				     LC_HISTORY_MAX_EVENTS);
		return -EINVAL;
	}
	*ret = (size_t)json_object_get_int64(v);
	return 0;
}

/* Replies {"boot_id": this boot, "total": events of the kinds asked, "events": [the newest limit
 * of them, oldest first]}: every kind, or only crashes. */
static void reply_history(struct lc_core *c, struct lc_control_call *call, json_object *args,
			  bool crashes_only)
{
	_cleanup_(lc_history_done) struct lc_history h = { 0 };
	_cleanup_json_ json_object *o = json_object_new_object();
	_cleanup_json_ json_object *events = json_object_new_array();
	size_t limit, total = 0, skip;
	int r = 0;

	if (history_limit(call, args, &limit) < 0)
		return;
	if (!o || !events || history_read(c, &h) < 0) {
		lc_control_call_fail(call, ENOMEM, "out of memory");
		return;
	}
	for (size_t i = 0; i < h.n; i++)
		total += !crashes_only || h.events[i].kind == LC_HISTORY_CRASH;
	skip = total > limit ? total - limit : 0;
	for (size_t i = 0; i < h.n && r == 0; i++) {
		if (crashes_only && h.events[i].kind != LC_HISTORY_CRASH)
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		lc_json_sticky(
			json_object_array_add(events, lc_history_event_to_json(&h.events[i])), &r);
	}
	lc_json_add_sticky(o, "boot_id", json_object_new_string(c->boot.boot_id), &r);
	lc_json_add_sticky(o, "total", json_object_new_int64((int64_t)total), &r);
	lc_json_add_sticky(o, "events", TAKE_PTR(events), &r);
	if (r < 0) {
		lc_control_call_fail(call, ENOMEM, "out of memory");
		return;
	}
	lc_control_call_reply(call, TAKE_PTR(o));
}

static void cmd_timeline(struct lc_control_call *call, json_object *args, void *userdata)
{
	reply_history(userdata, call, args, false);
}

static void cmd_crashes(struct lc_control_call *call, json_object *args, void *userdata)
{
	reply_history(userdata, call, args, true);
}

const struct core_handler core_handlers[] = {
	{ "status", cmd_status },
	{ "show-config", cmd_show_config },
	{ "enable-data-collection", cmd_enable_collection },
	{ "disable-data-collection", cmd_disable_collection },
	{ "enable-dev-mode", cmd_enable_dev },
	{ "disable-dev-mode", cmd_disable_dev },
	{ "sync", cmd_sync },
	{ "write-attributes", cmd_write_attributes },
	{ "reboot", cmd_reboot },
	{ "report-crash", cmd_report_crash },
	{ "report-failure", cmd_report_failure },
	{ "report-sync-success", cmd_report_sync_success },
	{ "report-sync-failure", cmd_report_sync_failure },
	{ "crash-reported", cmd_crash_reported },
	{ "crash-logs", cmd_crash_logs },
	{ "write-metric", cmd_write_metric },
	{ "request-metrics", cmd_request_metrics },
	{ "logs", cmd_logs },
	{ "timeline", cmd_timeline },
	{ "crashes", cmd_crashes },
};

const size_t core_handlers_count = ARRAY_SIZE(core_handlers);

static const struct core_handler *find_handler(const struct core_handler *handlers, size_t n,
					       const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (streq(handlers[i].name, name))
			return &handlers[i];
	return NULL;
}

int core_commands_bind(const struct core_handler *handlers, size_t n,
		       struct lc_control_command **ret, size_t *ret_n, const char **ret_name,
		       const char **ret_why)
{
	_cleanup_free_ struct lc_control_command *cmds = NULL;
	size_t n_cmds = 0;

	for (size_t i = 0; i < n; i++) {
		const struct lc_command *cmd = lc_command_find(handlers[i].name);

		if (!cmd || cmd->runner != LC_COMMAND_DAEMON) {
			*ret_name = handlers[i].name;
			*ret_why = "has a handler but is no command faultd runs";
			return -ENOENT;
		}
	}
	cmds = calloc(lc_commands_count, sizeof(*cmds));
	if (!cmds)
		return -ENOMEM;
	for (size_t i = 0; i < lc_commands_count; i++) {
		const struct lc_command *cmd = &lc_commands[i];
		const struct core_handler *h;

		if (cmd->runner != LC_COMMAND_DAEMON)
			continue;
		h = find_handler(handlers, n, cmd->name);
		if (!h) {
			*ret_name = cmd->name;
			*ret_why = "has no handler";
			return -ENOENT;
		}
		cmds[n_cmds++] = (struct lc_control_command){
			.name = cmd->name,
			.privileged = cmd->privileged,
			.handler = h->handler,
			.summary = cmd->summary,
		};
	}
	*ret = TAKE_PTR(cmds);
	*ret_n = n_cmds;
	return 0;
}
