/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "fileio.h"
#include "heartbeat.h"
#include "hours.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "storage.h"

/* The ledger is small; a store at the schema's largest limits (metrics.max_keys,
 * metrics.max_set_members) stays well below this. */
#define HOURS_FILE_MAX (32 * 1024 * 1024)
#define MS_PER_HOUR    3600000.0

struct lc_heartbeat {
	uv_loop_t *loop;
	char *path;		  /* <state_dir>/hours.json */
	char *software_version;	  /* of the interval in progress */
	char *pending_version;	  /* the current one, when it differs: closes the old one */
	uint64_t pending_end_ms;  /* where the old version's interval ends, at start */
	char *ended_boot_version; /* what ran when the previous boot ended (a new boot), or NULL */
	uint64_t boot_start_ms;
	uint64_t report_start_ms; /* odometer where the metrics of the report in progress begin */
	bool collecting;
	struct lc_heartbeat_timing timing;
	struct lc_metrics *metrics;
	void (*collect)(json_object *metrics, void *userdata);
	void (*before_roll)(void *userdata);
	lc_heartbeat_commit_t commit;
	void *userdata;
	uint64_t (*now_ms)(void);

	struct lc_hours hours;
	uv_timer_t due, checkpoint;
	bool started;
	bool rolling; /* in before_roll: no roll-over may start inside it */
	unsigned open_handles;
	int last_checkpoint_error;
	struct lc_storage_fault fault; /* failed saves, retried at every checkpoint */
};

static void advance(struct lc_heartbeat *hb)
{
	lc_hours_advance(&hb->hours, hb->now_ms());
}

int lc_heartbeat_checkpoint(struct lc_heartbeat *hb)
{
	json_object *o;
	const char *text;
	int r;

	advance(hb);
	o = lc_hours_to_json(&hb->hours);
	if (!o ||
	    lc_json_add(o, "software_version", json_object_new_string(hb->software_version)) < 0 ||
	    lc_json_add(o, "report_start_ms", json_object_new_int64((int64_t)hb->report_start_ms)) <
		    0 ||
	    lc_json_add(o, "collecting", json_object_new_boolean(hb->collecting)) < 0 ||
	    (hb->metrics && lc_json_add(o, "metrics", lc_metrics_to_json(hb->metrics)) < 0)) {
		json_object_put(o);
		return log_oom();
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	r = text ? lc_write_file_atomic(hb->path, text, strlen(text), 0600) : -ENOMEM;
	json_object_put(o);
	/* Logged once per episode (and per errno), not at every retry. */
	if (r < 0 && lc_storage_fault_set(&hb->fault, r, "save", hb->path,
					  lc_clock_ms(CLOCK_REALTIME), hb->now_ms()))
		log_error_errno(r, "Failed to save the hours ledger to %s, will retry: %m",
				hb->path);
	if (r >= 0 && hb->fault.error < 0) {
		uint64_t failures = hb->fault.failures;

		if (lc_storage_fault_clear(&hb->fault))
			log_notice("Saved the hours ledger to %s again, after %" PRIu64
				   " failed attempt%s.",
				   hb->path, failures, failures == 1 ? "" : "s");
	}
	hb->last_checkpoint_error = r;
	return r;
}

/* Reads hours.json; *ret_version receives the version the interval in progress began under and
 * *ret_collecting whether data collection was on when it was saved. */
static int restore(struct lc_heartbeat *hb, const char *boot_id, char **ret_version,
		   bool *ret_collecting)
{
	_cleanup_free_ char *text = NULL, *bad = NULL;
	json_object *o, *v;
	const char *why = "not JSON";
	size_t len;
	int r;

	r = lc_read_file(hb->path, HOURS_FILE_MAX, &text, &len);
	if (r == -ENOENT) {
		lc_hours_init(&hb->hours, boot_id, hb->now_ms());
		return 0;
	}
	if (r == -ENOMEM)
		return log_oom();
	o = r < 0 ? NULL : json_tokener_parse(text);
	if (r == -EFBIG)
		why = "larger than 32 MiB";
	else if (r == -EBADFD)
		why = "not a regular file";
	else if (r < 0)
		why = strerror(-r);
	if (o && lc_hours_from_json(o, &hb->hours, &why) == 0) {
		/* The readings are worth less than the hours: a store that does not restore is
		 * dropped alone. */
		if (hb->metrics && json_object_object_get_ex(o, "metrics", &v) &&
		    lc_metrics_from_json(hb->metrics, v, &why) < 0)
			log_warning(
				"The metrics of the heartbeat in progress in %s are damaged (%s); "
				"dropped, the hours are kept.",
				hb->path, why);
		if (json_object_object_get_ex(o, "software_version", &v) &&
		    json_object_is_type(v, json_type_string)) {
			*ret_version = strdup(json_object_get_string(v));
			if (!*ret_version) {
				json_object_put(o);
				return log_oom();
			}
		}
		/* Both absent in ledgers written before they existed. */
		hb->report_start_ms = hb->hours.start_ms;
		if (json_object_object_get_ex(o, "report_start_ms", &v) &&
		    json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0)
			hb->report_start_ms =
				MIN((uint64_t)json_object_get_int64(v), hb->hours.odometer_ms);
		if (json_object_object_get_ex(o, "collecting", &v) &&
		    json_object_is_type(v, json_type_boolean))
			*ret_collecting = json_object_get_boolean(v);
		json_object_put(o);
		return 0;
	}
	json_object_put(o);
	/* Keep the damaged file for a post-mortem, and count from zero. */
	if (asprintf(&bad, "%s.bad", hb->path) < 0)
		return log_oom();
	if (rename(hb->path, bad) < 0)
		log_warning_errno(-errno, "Failed to set %s aside: %m", hb->path);
	log_warning("The hours ledger %s is damaged (%s); set aside as %s, counting from zero.",
		    hb->path, why, bad);
	lc_hours_init(&hb->hours, boot_id, hb->now_ms());
	return 0;
}

int lc_heartbeat_new(const struct lc_heartbeat_options *o, struct lc_heartbeat **ret)
{
	struct lc_heartbeat *hb = calloc(1, sizeof(*hb));
	_cleanup_free_ char *old_version = NULL;
	bool new_boot, was_collecting;
	uint64_t now;
	int r;

	if (!hb)
		return -ENOMEM;
	hb->loop = o->loop;
	hb->timing = o->timing;
	hb->metrics = o->metrics;
	hb->collect = o->collect;
	hb->before_roll = o->before_roll;
	hb->commit = o->commit;
	hb->userdata = o->userdata;
	hb->now_ms = o->now_ms ? o->now_ms : lc_clock_monotonic_ms;
	hb->boot_start_ms = o->boot_start_ms;
	hb->collecting = was_collecting = o->collecting;
	hb->path = lc_path_prefix(o->state_dir, "/hours.json");
	hb->software_version = strdup(o->software_version);
	if (!hb->path || !hb->software_version) {
		r = -ENOMEM;
		goto fail;
	}
	r = restore(hb, o->boot_id, &old_version, &was_collecting);
	if (r < 0)
		goto fail;
	now = hb->now_ms();
	new_boot = strcmp(hb->hours.boot_id, o->boot_id) != 0;
	if (new_boot && old_version) {
		hb->ended_boot_version = strdup(old_version);
		if (!hb->ended_boot_version) {
			r = -ENOMEM;
			goto fail;
		}
	}
	lc_hours_resume(&hb->hours, o->boot_id, o->boot_start_ms);
	if (hb->hours.mono_ms > now) {
		log_warning("The hours ledger %s was saved at a monotonic time later than now "
			    "(%" PRIu64 " > %" PRIu64 " ms) in this boot; counting from now.",
			    hb->path, hb->hours.mono_ms, now);
		hb->hours.mono_ms = now;
	}
	if (!was_collecting && hb->collecting) {
		/* Consent came while faultd was not running: the ledger starts now. */
		lc_hours_advance(&hb->hours, now);
		lc_hours_restart(&hb->hours);
		hb->report_start_ms = hb->hours.odometer_ms;
	} else if (old_version && strcmp(old_version, hb->software_version) != 0) {
		/* Until start, the interval in progress keeps the version it began under; it ends
		 * where the old version stopped running: the end of the last boot's counted time,
		 * or faultd's last checkpoint in this boot. */
		free(hb->software_version);
		hb->software_version = TAKE_PTR(old_version);
		hb->pending_end_ms = hb->hours.odometer_ms;
		hb->pending_version = strdup(o->software_version);
		if (!hb->pending_version) {
			r = -ENOMEM;
			goto fail;
		}
	}
	*ret = hb;
	return 0;
fail:
	free(hb->path);
	free(hb->software_version);
	free(hb->pending_version);
	free(hb->ended_boot_version);
	free(hb);
	return r;
}

/* A report's "metrics": the caller's and the store's, then the hours of rep. On failure nothing
 * is closed. */
static int build_metrics(struct lc_heartbeat *hb, const struct lc_hours_report *rep,
			 json_object **ret)
{
	_cleanup_json_ json_object *metrics = json_object_new_object();

	if (!metrics)
		return -ENOMEM;
	if (hb->collect)
		hb->collect(metrics, hb->userdata);
	if (lc_json_add(metrics, "operational_hours",
			json_object_new_double(rep->operational_ms / MS_PER_HOUR)) < 0 ||
	    lc_json_add(metrics, "operational_crashfree_hours",
			json_object_new_double(rep->crashfree_ms / MS_PER_HOUR)) < 0 ||
	    lc_json_add(metrics, "operational_crashes",
			json_object_new_int64((int64_t)rep->crashes)) < 0)
		return -ENOMEM;
	/* Only the kinds that failed: a heartbeat without K counts as K-free. */
	for (unsigned i = 0; i < rep->n_failures; i++) {
		char key[64];

		snprintf(key, sizeof(key), "%s%s", LC_HEARTBEAT_FAILURES_PREFIX,
			 rep->failures[i].kind);
		if (lc_json_add(metrics, key,
				json_object_new_int64((int64_t)rep->failures[i].count)) < 0)
			return -ENOMEM;
		snprintf(key, sizeof(key), "%s%s", LC_HEARTBEAT_FAILUREFREE_PREFIX,
			 rep->failures[i].kind);
		if (lc_json_add(metrics, key, json_object_new_double(0.0)) < 0)
			return -ENOMEM;
	}
	/* Last, as it resets the store: nothing may fail after it. */
	if (hb->metrics && lc_metrics_roll(hb->metrics, metrics) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(metrics);
	return 0;
}

/*
 * Commits a report of the metrics since report_start_ms up to the odometer position end_ms, and,
 * when hours is true, ends the hours interval there with its operational and crash-free hours.
 * Without, the report's hours are zero: the device API wants them in every heartbeat, and the
 * interval's come whole with the heartbeat that ends it.
 */
static int report(struct lc_heartbeat *hb, uint64_t end_ms, bool hours)
{
	_cleanup_json_ json_object *md = json_object_new_object();
	struct lc_hours_report rep = {};
	json_object *metrics = NULL;
	uint64_t duration;
	size_t n_keys;

	n_keys = hb->metrics ? lc_metrics_n_keys(hb->metrics) : 0;
	duration = end_ms > hb->report_start_ms ? end_ms - hb->report_start_ms : 0;
	if (!md || lc_json_add(md, "duration_ms", json_object_new_int64((int64_t)duration)) < 0 ||
	    lc_json_add(md, "report_type", json_object_new_string("heartbeat")) < 0)
		return log_oom();
	if (hours) {
		struct lc_hours copy = hb->hours;

		/* On a copy: nothing is closed until the metrics are built. */
		lc_hours_roll(&copy, end_ms, &rep);
	}
	if (build_metrics(hb, &rep, &metrics) < 0)
		return log_oom();
	/* The store is closed: from here the report is closed whatever happens. */
	if (hours)
		lc_hours_roll(&hb->hours, end_ms, &rep);
	hb->report_start_ms = MAX(hb->report_start_ms, end_ms);
	if (lc_json_add(md, "metrics", metrics) < 0) {
		(void)lc_heartbeat_checkpoint(hb);
		return log_oom();
	}
	if (hours)
		log_debug("Heartbeat of %s: %.3f h operating, %.3f h crash-free, %" PRIu64
			  " crashes, %u failure kinds, %zu metric keys.",
			  hb->software_version, rep.operational_ms / MS_PER_HOUR,
			  rep.crashfree_ms / MS_PER_HOUR, rep.crashes, rep.n_failures, n_keys);
	else
		log_debug("Metrics of %s requested: %zu metric keys.", hb->software_version,
			  n_keys);
	/* The ledger and the store move on first: a power cut between the two loses this report
	 * rather than sending its hours and readings twice. */
	(void)lc_heartbeat_checkpoint(hb);
	return hb->commit(TAKE_PTR(md), hb->software_version, hb->userdata);
}

/* Crashes waiting to be counted are placed before any interval rolls over. */
static void take_crashes(struct lc_heartbeat *hb)
{
	if (!hb->before_roll || hb->rolling)
		return;
	hb->rolling = true;
	hb->before_roll(hb->userdata);
	hb->rolling = false;
}

/* Rolls over every interval that ended at or before the odometer position limit. */
static void roll_due(struct lc_heartbeat *hb, uint64_t limit)
{
	uint64_t end;

	while ((end = lc_hours_next_roll(&hb->hours, hb->timing.interval_ms)) != 0 &&
	       end <= limit) {
		uint64_t start = hb->hours.start_ms;

		/* Out of memory before it closed: the next timer tries again. */
		if (report(hb, end, true) < 0 && hb->hours.start_ms == start)
			break;
	}
}

/* Ends the interval of the older software version at end_ms, as that version. */
static void roll_old_version(struct lc_heartbeat *hb, uint64_t end_ms)
{
	if (!hb->pending_version)
		return;
	log_info("Software version changed from %s to %s: the interval in progress ends as %s.",
		 hb->software_version, hb->pending_version, hb->software_version);
	roll_due(hb, end_ms);
	if (end_ms > hb->hours.start_ms || hb->hours.unplaced > 0)
		(void)report(hb, end_ms, true);
	free(hb->software_version);
	hb->software_version = TAKE_PTR(hb->pending_version);
	(void)lc_heartbeat_checkpoint(hb);
}

static void on_due(uv_timer_t *t);

/* Arms the due timer for the operating time left in the interval in progress. */
static void schedule(struct lc_heartbeat *hb)
{
	uint64_t due, odo;

	if (!hb->started)
		return;
	advance(hb);
	due = lc_hours_due_ms(&hb->hours, hb->timing.interval_ms);
	odo = hb->hours.odometer_ms;
	/* Never 0 ms: libuv before 1.48 runs a 0 ms timer again in the same pass. */
	(void)uv_timer_start(&hb->due, on_due, due > odo ? due - odo : 1, 0);
}

static void on_due(uv_timer_t *t)
{
	struct lc_heartbeat *hb = t->data;

	advance(hb);
	/* Timers can fire a little early; roll over only once the odometer got there. */
	if (lc_hours_next_roll(&hb->hours, hb->timing.interval_ms) != 0) {
		take_crashes(hb);
		advance(hb);
		roll_due(hb, hb->hours.odometer_ms);
	}
	schedule(hb);
}

static void schedule_checkpoint(struct lc_heartbeat *hb);

static void on_checkpoint(uv_timer_t *t)
{
	struct lc_heartbeat *hb = t->data;

	(void)lc_heartbeat_checkpoint(hb);
	schedule_checkpoint(hb);
}

/* Early in a boot checkpoints come sooner (a reboot loop keeps its time), then regularly. */
static void schedule_checkpoint(struct lc_heartbeat *hb)
{
	uint64_t now = hb->now_ms();
	uint64_t uptime = now > hb->boot_start_ms ? now - hb->boot_start_ms : 0;

	if (!hb->started)
		return;
	(void)uv_timer_start(&hb->checkpoint, on_checkpoint,
			     lc_hours_checkpoint_delay_ms(uptime, hb->timing.checkpoint_ms), 0);
}

int lc_heartbeat_start(struct lc_heartbeat *hb)
{
	int r;

	r = uv_timer_init(hb->loop, &hb->due);
	if (r < 0)
		return r;
	hb->due.data = hb;
	hb->open_handles++;
	r = uv_timer_init(hb->loop, &hb->checkpoint);
	if (r < 0)
		return r;
	hb->checkpoint.data = hb;
	hb->open_handles++;
	hb->started = true;

	/* Crashes that waited (faultd was down, or was what crashed) are placed first, so each
	 * lands in the interval and the version it happened in. */
	advance(hb);
	take_crashes(hb);
	advance(hb);
	roll_old_version(hb, hb->pending_end_ms);
	roll_due(hb, hb->hours.odometer_ms);
	(void)lc_heartbeat_checkpoint(hb);
	schedule(hb);
	schedule_checkpoint(hb);
	return 0;
}

void lc_heartbeat_set_timing(struct lc_heartbeat *hb, const struct lc_heartbeat_timing *t)
{
	hb->timing = *t;
	if (!hb->started)
		return;
	schedule_checkpoint(hb);
	schedule(hb);
}

void lc_heartbeat_set_software_version(struct lc_heartbeat *hb, const char *software_version)
{
	char *v;

	if (strcmp(hb->software_version, software_version) == 0)
		return;
	v = strdup(software_version);
	if (!v) {
		log_oom();
		return;
	}
	free(hb->pending_version);
	hb->pending_version = v;
	if (hb->started) {
		advance(hb);
		take_crashes(hb);
		advance(hb);
		roll_old_version(hb, hb->hours.odometer_ms);
		schedule(hb);
	}
}

void lc_heartbeat_set_collecting(struct lc_heartbeat *hb, bool on)
{
	if (hb->collecting == on)
		return;
	hb->collecting = on;
	advance(hb);
	if (on) {
		/* Nothing from before consent is reported: the interval starts now. */
		lc_hours_restart(&hb->hours);
		hb->report_start_ms = hb->hours.odometer_ms;
		schedule(hb);
	}
	(void)lc_heartbeat_checkpoint(hb);
}

const char *lc_heartbeat_ended_boot_version(const struct lc_heartbeat *hb)
{
	return hb->ended_boot_version;
}

int lc_heartbeat_crash(struct lc_heartbeat *hb, const char *boot_id, uint64_t mono_ms)
{
	advance(hb);
	lc_hours_crash(&hb->hours, boot_id ? lc_hours_position(&hb->hours, boot_id, mono_ms)
					   : hb->hours.odometer_ms);
	return lc_heartbeat_checkpoint(hb);
}

int lc_heartbeat_failure(struct lc_heartbeat *hb, const char *kind, const char **ret_counted_as)
{
	int r;

	advance(hb);
	r = lc_hours_failure(&hb->hours, kind, hb->hours.odometer_ms, ret_counted_as);
	if (r < 0)
		return r;
	/* The first of its kind decides the interval's K-failure-free hours: saved at once. The
	 * count of the others waits for the next checkpoint, so that a flood of them (a log line
	 * repeated) costs no flash writes. */
	return r > 0 ? lc_heartbeat_checkpoint(hb) : 0;
}

int lc_heartbeat_unexpected_reboot(struct lc_heartbeat *hb)
{
	lc_hours_unexpected_reboot(&hb->hours);
	return lc_heartbeat_checkpoint(hb);
}

int lc_heartbeat_report_now(struct lc_heartbeat *hb)
{
	int r;

	advance(hb);
	if (hb->hours.odometer_ms <= hb->report_start_ms &&
	    (!hb->metrics || lc_metrics_n_keys(hb->metrics) == 0))
		return 0;
	r = report(hb, hb->hours.odometer_ms, false);
	return r < 0 ? r : 1;
}

uint64_t lc_heartbeat_next_in_ms(struct lc_heartbeat *hb)
{
	uint64_t due;

	advance(hb);
	due = lc_hours_due_ms(&hb->hours, hb->timing.interval_ms);
	return due > hb->hours.odometer_ms ? due - hb->hours.odometer_ms : 0;
}

const struct lc_storage_fault *lc_heartbeat_fault(const struct lc_heartbeat *hb)
{
	return &hb->fault;
}

json_object *lc_heartbeat_status(struct lc_heartbeat *hb)
{
	struct lc_hours_report rep;
	_cleanup_json_ json_object *o = json_object_new_object();
	uint64_t due;
	int r = 0;

	advance(hb);
	lc_hours_peek(&hb->hours, &rep);
	due = lc_hours_due_ms(&hb->hours, hb->timing.interval_ms);
	lc_json_add_sticky(o, "operational_hours",
			   json_object_new_double(rep.operational_ms / MS_PER_HOUR), &r);
	lc_json_add_sticky(o, "operational_crashfree_hours",
			   json_object_new_double(rep.crashfree_ms / MS_PER_HOUR), &r);
	lc_json_add_sticky(o, "operational_crashes", json_object_new_int64((int64_t)rep.crashes),
			   &r);
	if (rep.n_failures > 0) {
		json_object *f = json_object_new_object();

		lc_json_add_sticky(o, "operational_failures", f, &r);
		for (unsigned i = 0; r >= 0 && i < rep.n_failures; i++)
			lc_json_add_sticky(f, rep.failures[i].kind,
					   json_object_new_int64((int64_t)rep.failures[i].count),
					   &r);
	}
	lc_json_add_sticky(o, "odometer_hours",
			   json_object_new_double(hb->hours.odometer_ms / MS_PER_HOUR), &r);
	lc_json_add_sticky(
		o, "next_in_seconds",
		json_object_new_int64(
			(int64_t)((due > hb->hours.odometer_ms ? due - hb->hours.odometer_ms : 0) /
				  1000)),
		&r);
	lc_json_add_sticky(o, "software_version", json_object_new_string(hb->software_version), &r);
	if (hb->last_checkpoint_error < 0)
		lc_json_add_sticky(o, "last_checkpoint_error",
				   json_object_new_string(strerror(-hb->last_checkpoint_error)),
				   &r);
	if (hb->metrics) {
		struct lc_metrics_counters c;
		json_object *m = json_object_new_object();

		lc_metrics_counters(hb->metrics, &c);
		lc_json_add_sticky(m, "keys",
				   json_object_new_int64((int64_t)lc_metrics_n_keys(hb->metrics)),
				   &r);
		lc_json_add_sticky(m, "readings", json_object_new_int64((int64_t)c.readings), &r);
		lc_json_add_sticky(m, "over_key_cap",
				   json_object_new_int64((int64_t)c.over_key_cap), &r);
		lc_json_add_sticky(m, "rejected", json_object_new_int64((int64_t)c.rejected), &r);
		lc_json_add_sticky(m, "set_overflow",
				   json_object_new_int64((int64_t)c.set_overflow), &r);
		lc_json_add_sticky(o, "metrics", m, &r);
	}
	/* Whole or not at all, as the contract says. */
	return r < 0 ? NULL : TAKE_PTR(o);
}

static void free_heartbeat(struct lc_heartbeat *hb)
{
	free(hb->path);
	free(hb->software_version);
	free(hb->pending_version);
	free(hb->ended_boot_version);
	free(hb);
}

static void on_closed(uv_handle_t *h)
{
	struct lc_heartbeat *hb = h->data;

	if (--hb->open_handles == 0)
		free_heartbeat(hb);
}

void lc_heartbeat_close(struct lc_heartbeat *hb)
{
	if (!hb)
		return;
	(void)lc_heartbeat_checkpoint(hb);
	hb->started = false;
	if (hb->open_handles == 0) {
		free_heartbeat(hb);
		return;
	}
	if (hb->open_handles >= 1)
		uv_close((uv_handle_t *)&hb->due, on_closed);
	if (hb->open_handles >= 2)
		uv_close((uv_handle_t *)&hb->checkpoint, on_closed);
}
