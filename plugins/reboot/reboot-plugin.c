/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "build-config.h"
#include "evidence.h"
#include "history.h"
#include "json-util.h"
#include "last.h"
#include "log.h"
#include "macro.h"
#include "reboot-plugin.h"
#include "schema.h"

struct reboot_data {
	json_object *last; /* the decision last.json holds, for the status */
};

static int reboot_check_reason(const char *value, const char **ret_why)
{
	struct lc_reboot_reason r;

	return lc_reboot_reason_parse(value, &r, ret_why);
}

static const struct lc_cfg_key reboot_keys[] = {
	{
		.name = "enabled",
		.type = LC_CFG_BOOL,
		.def_bool = true,
		.description = "Record once per boot, as a linux-reboot entry, why the previous "
			       "boot ended.",
	},
	{
		.name = "reason_file",
		.type = LC_CFG_STRING,
		.def_string = FAULTD_STATE_DIR "/last_reboot_reason",
		.check = lc_check_optional_absolute_path,
		.description = "File (below sysroot) in which the integrator's software may leave "
			       "the reason for the coming reboot as a code, a name or \"!name\", "
			       "read and deleted at the next boot; empty: not used.",
	},
	{
		.name = "unclean_reason",
		.type = LC_CFG_STRING,
		.def_string = "UnknownError",
		.max = LC_REBOOT_NAME_MAX + 1,
		.check = reboot_check_reason,
		.description = "Reason recorded when nothing explains the end of the previous "
			       "boot (typically a power cut): a code, a name or \"!name\".",
	},
	{
		.name = "loop_count",
		.type = LC_CFG_INT,
		.def_int = 3,
		.min = 2,
		.max = 100,
		.description = "This many unexpected reboots in a row (an expected one ends a "
			       "loop) within loop_minutes, the last one "
			       "included, are a boot loop: its linux-reboot entry says so "
			       "(\"boot_loop\"), the boot's first heartbeat carries boot_loop = 1, "
			       "and `faultctl status` and `faultctl timeline` show it.",
	},
	{
		.name = "loop_minutes",
		.type = LC_CFG_INT,
		.def_int = 15,
		.min = 1,
		.max = 10080,
		.description = "The window of loop_count, counted back from the start of the "
			       "boot that follows the last unexpected reboot.",
	},
};

static const struct lc_cfg_section reboot_section = {
	.name = "reboot",
	.description = "Reboot reasons: the watchdog's boot status, kernel crashes in pstore, "
		       "the reason declared with `faultctl reboot`, the integrator's reason file "
		       "and the clean-shutdown marker, strongest first.",
	.keys = reboot_keys,
	.n_keys = ARRAY_SIZE(reboot_keys),
};

/* A boot loop found at this boot: the unexpected reboots within the window, this one included. */
struct reboot_loop {
	unsigned unexpected_reboots;
	unsigned minutes;
};

/* {"unexpected_reboots": K, "minutes": T}, the linux-reboot entry's "boot_loop"; NULL on OOM. */
static json_object *reboot_loop_to_json(const struct reboot_loop *loop)
{
	json_object *o = json_object_new_object();

	if (lc_json_add(o, "unexpected_reboots", json_object_new_int64(loop->unexpected_reboots)) <
		    0 ||
	    lc_json_add(o, "minutes", json_object_new_int64(loop->minutes)) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Commits the linux-reboot entry, with the boot loop it ends (NULL: none). Returns 0 or -errno
 * with *ret_why, after logging. */
static int reboot_record(struct lc_plugin *p, const struct reboot_decision *d,
			 const struct reboot_loop *loop, char *ret_uuid, const char **ret_why)
{
	json_object *metadata = json_object_new_object();
	int r;

	if (lc_json_add(metadata, "reason", lc_reboot_reason_to_json(&d->reason)) < 0 ||
	    (loop && lc_json_add(metadata, "boot_loop", reboot_loop_to_json(loop)) < 0)) {
		json_object_put(metadata);
		*ret_why = "out of memory";
		return log_oom();
	}
	/* As the software that was running when the boot ended, not the one that runs now. */
	r = lc_plugin_record_ended_boot(p, "linux-reboot", metadata, ret_uuid, ret_why);
	if (r == 0)
		log_debug("Recorded the reboot reason as entry %s.", ret_uuid);
	else if (r == -EPERM || r == -ECANCELED)
		log_info("The reboot reason is not recorded: %s.", *ret_why);
	else
		log_warning_errno(r, "Failed to record the reboot reason: %s (%m).", *ret_why);
	return r;
}

/* What this boot adds to the device's history (history.h). */
struct reboot_history {
	struct lc_history h;
	bool seen;		      /* this boot has its boot event already (a start again) */
	struct lc_history_event boot; /* this boot's event */
	char from_version[129];	      /* the previous boot's version, "" when unknown */
};

/* Reads the history and prepares this boot's event, which begins at boot_ms. */
static void reboot_history_prepare(struct lc_plugin *p, const char *state_dir, uint64_t boot_ms,
				   struct reboot_history *ret)
{
	const struct lc_boot_info *boot = lc_plugin_boot_info(p);
	const struct lc_config *cfg = lc_plugin_config(p);
	struct lc_history_limits l = lc_history_default_limits();
	const struct lc_history_event *last;
	const struct lc_identity *ident;

	if (lc_history_load(state_dir, &l, false, &ret->h) < 0)
		ret->h = (struct lc_history){ 0 };
	last = lc_history_last_boot(&ret->h);
	ret->seen = last && streq(last->boot_id, boot->boot_id);
	if (last && !ret->seen)
		snprintf(ret->from_version, sizeof(ret->from_version), "%s",
			 last->software_version);
	ret->boot = (struct lc_history_event){ .kind = LC_HISTORY_BOOT, .time_ms = boot_ms };
	snprintf(ret->boot.boot_id, sizeof(ret->boot.boot_id), "%s", boot->boot_id);
	/* The version this boot runs, as the core resolved it (configuration, device-info command
	 * or fallback files): nothing is run again here. */
	ident = lc_plugin_identity(p);
	if (ident && ident->value[LC_ID_SOFTWARE_VERSION])
		snprintf(ret->boot.software_version, sizeof(ret->boot.software_version), "%s",
			 ident->value[LC_ID_SOFTWARE_VERSION]);
	else if (lc_config_has(cfg, "device.software_version"))
		snprintf(ret->boot.software_version, sizeof(ret->boot.software_version), "%s",
			 lc_config_get_string(cfg, "device.software_version"));
}

/* Whether the unexpected end of the previous boot makes a boot loop with those before it. */
static bool reboot_history_loop(struct lc_plugin *p, const struct reboot_history *rh,
				struct reboot_loop *ret)
{
	unsigned count = (unsigned)lc_plugin_config_int(p, "loop_count");
	unsigned minutes = (unsigned)lc_plugin_config_int(p, "loop_minutes");
	unsigned n;

	if (rh->seen || !rh->boot.unexpected)
		return false;
	n = lc_history_unexpected_boots(&rh->h, rh->boot.time_ms, minutes) + 1;
	if (n < count)
		return false;
	*ret = (struct reboot_loop){ .unexpected_reboots = n, .minutes = minutes };
	return true;
}

/* Appends this boot's events: the boot, an update when the version changed, the boot loop. */
static void reboot_history_append(const char *state_dir, struct reboot_history *rh,
				  const struct reboot_loop *loop)
{
	struct lc_history_limits l = lc_history_default_limits();
	struct lc_history_event e;
	/* Damage found when reading is dropped by rewriting the file with this boot's event. */
	bool rewrite = rh->h.damaged > 0;
	int r;

	if (rh->seen)
		return;
	rh->boot.boot_loop = loop != NULL;
	r = lc_history_append(state_dir, &l, &rh->boot, rewrite);
	if (r >= 0 && rh->from_version[0] && rh->boot.software_version[0] &&
	    !streq(rh->from_version, rh->boot.software_version)) {
		e = (struct lc_history_event){ .kind = LC_HISTORY_UPDATE,
					       .time_ms = rh->boot.time_ms };
		memcpy(e.boot_id, rh->boot.boot_id, sizeof(e.boot_id));
		memcpy(e.software_version, rh->boot.software_version, sizeof(e.software_version));
		memcpy(e.from_version, rh->from_version, sizeof(e.from_version));
		r = lc_history_append(state_dir, &l, &e, false);
	}
	if (r >= 0 && loop) {
		e = (struct lc_history_event){ .kind = LC_HISTORY_BOOT_LOOP,
					       .time_ms = rh->boot.time_ms,
					       .count = loop->unexpected_reboots,
					       .minutes = loop->minutes };
		memcpy(e.boot_id, rh->boot.boot_id, sizeof(e.boot_id));
		r = lc_history_append(state_dir, &l, &e, false);
	}
	if (r < 0)
		log_warning_errno(r, "Failed to add this boot to the history in %s/%s: %m",
				  state_dir, LC_HISTORY_FILE);
}

static void reboot_history_done(struct reboot_history *rh)
{
	lc_history_done(&rh->h);
}

/* The Unix time in ms at which this boot began, from when faultd started in it. */
static uint64_t reboot_boot_realtime_ms(const struct lc_boot_info *boot,
					const struct lc_clock_sample *now)
{
	uint64_t up = now->monotonic_ms > boot->start_ms ? now->monotonic_ms - boot->start_ms : 0;

	return now->realtime_ms > up ? now->realtime_ms - up : 0;
}

static int reboot_init(struct lc_plugin *p)
{
	const struct lc_boot_info *boot = lc_plugin_boot_info(p);
	const struct lc_config *cfg = lc_plugin_config(p);
	const char *state_dir = lc_config_get_string(cfg, "state_dir");
	const char *reason_file = lc_plugin_config_string(p, "reason_file");
	_cleanup_(reboot_evidence_done) struct reboot_evidence ev = {};
	_cleanup_free_ struct reboot_data *data = NULL;
	_cleanup_free_ char *reason_path = NULL;
	struct lc_reboot_reason unclean = { .code = 0x8000 }; /* UnknownError */
	struct reboot_decision d = { .source = REBOOT_SRC_FIRST_BOOT };
	_cleanup_(reboot_history_done) struct reboot_history rh = { 0 };
	struct reboot_loop loop;
	bool looping = false;
	struct reboot_file_id used;
	struct lc_clock_sample now;
	struct reboot_input in;
	json_object *last = NULL;
	char uuid[37] = "", summary[1280];
	const char *why = NULL;
	enum reboot_plan plan;
	bool retry = false;
	int r, recorded = 0;

	if (!boot) {
		log_error("The reboot plugin needs the boot facts of faultd's core.");
		return -ENOTSUP;
	}
	data = calloc(1, sizeof(*data));
	if (!data)
		return log_oom();
	if (reason_file[0]) {
		reason_path = lc_plugin_sysroot_path(p, reason_file);
		if (!reason_path)
			return log_oom();
	}
	/* Validated when the configuration was loaded. */
	(void)lc_reboot_reason_parse(lc_plugin_config_string(p, "unclean_reason"), &unclean, &why);

	reboot_evidence_drop_own_marker(state_dir, boot);
	r = reboot_last_read(state_dir, &last);
	if (r == -ENOMEM)
		return log_oom();
	plan = reboot_plan(boot, last, r != -ENOENT);
	if (plan == REBOOT_PLAN_DONE) {
		log_debug("The end of the previous boot was decided during this boot already.");
		data->last = last;
		lc_plugin_set_data(p, TAKE_PTR(data));
		return 0;
	}
	if (plan == REBOOT_PLAN_DECIDE && !boot->new_boot)
		log_notice("No decision about the previous boot was saved during this boot (faultd "
			   "stopped first); deciding now.");

	in = (struct reboot_input){
		.sysroot = lc_config_get_string(cfg, "sysroot"),
		.state_dir = state_dir,
		.reason_file = reason_path,
		.boot = boot,
		.used_reason_file = reboot_last_reason_file(last, &used) == 0 ? &used : NULL,
	};
	json_object_put(last);
	last = NULL;
	r = reboot_evidence_gather(&in, &ev);
	if (r < 0)
		return log_oom();

	lc_clock_sample_now(&now);
	reboot_history_prepare(p, state_dir, reboot_boot_realtime_ms(boot, &now), &rh);
	if (plan == REBOOT_PLAN_FIRST_BOOT) {
		log_info("%s", reboot_summary(&ev, &d, summary, sizeof(summary)));
	} else {
		reboot_decide(&ev, &unclean, &d);
		log_notice("%s", reboot_summary(&ev, &d, summary, sizeof(summary)));
		rh.boot.has_reason = true;
		rh.boot.reason = d.reason;
		rh.boot.unexpected = lc_reboot_reason_unexpected(&d.reason);
		looping = reboot_history_loop(p, &rh, &loop);
		if (looping) {
			log_warning("Boot loop: %u unexpected reboots within %u minutes.",
				    loop.unexpected_reboots, loop.minutes);
			/* In the heartbeat in progress: the first one of this boot. */
			(void)lc_plugin_metric(p, "boot_loop", strlen("boot_loop"), LC_METRIC_GAUGE,
					       1);
		}
		/* The entry first. */
		recorded = reboot_record(p, &d, looping ? &loop : NULL, uuid, &why);
		/* The hours ledger is local: an unexpected end counts against the crash-free
		 * hours even when sampling kept the entry out of the spool (the core counts
		 * nothing without consent). */
		if (lc_reboot_reason_unexpected(&d.reason))
			lc_plugin_report_unexpected_reboot(p);
		/* A spool that could not store the entry may store it at the next start. */
		retry = recorded < 0 && recorded != -EPERM && recorded != -ECANCELED &&
			recorded != -ENOSPC;
	}

	reboot_history_append(state_dir, &rh, looping ? &loop : NULL);
	data->last = reboot_last_new(boot, &ev, &d, now.realtime_ms, uuid[0] ? uuid : NULL,
				     recorded < 0 ? why : NULL);
	if (!data->last)
		return log_oom();
	/*
	 * Then last.json, and only then is the evidence used up. If faultd dies before last.json is
	 * written, the next start decides again from the same evidence: a duplicate entry is
	 * better than a lost one.
	 */
	if (retry) {
		log_warning("The evidence is kept; the next start of faultd decides again.");
	} else {
		r = reboot_last_write(state_dir, data->last);
		if (r < 0)
			log_error_errno(r,
					"Failed to save the decision in %s/reboot/%s: %m; the "
					"evidence is kept and the next start decides again.",
					state_dir, REBOOT_LAST_FILE);
		else
			reboot_evidence_consume(&in, &ev);
	}
	lc_plugin_set_data(p, TAKE_PTR(data));
	return 0;
}

static void reboot_shutdown(struct lc_plugin *p)
{
	struct reboot_data *data = lc_plugin_get_data(p);

	if (!data)
		return;
	json_object_put(data->last);
	free(data);
}

static json_object *reboot_status(struct lc_plugin *p)
{
	struct reboot_data *data = lc_plugin_get_data(p);

	return reboot_last_status(data ? data->last : NULL);
}

const struct lc_plugin_ops reboot_plugin_ops = {
	.name = "reboot",
	.config = &reboot_section,
	.init = reboot_init,
	.shutdown = reboot_shutdown,
	.status = reboot_status,
};
