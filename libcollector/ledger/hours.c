/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "hours.h"
#include "json-util.h"
#include "macro.h"

void lc_hours_init(struct lc_hours *h, const char *boot_id, uint64_t now_ms)
{
	*h = (struct lc_hours){ .mono_ms = now_ms };
	snprintf(h->boot_id, sizeof(h->boot_id), "%s", boot_id);
}

void lc_hours_resume(struct lc_hours *h, const char *boot_id, uint64_t boot_start_ms)
{
	if (strcmp(h->boot_id, boot_id) == 0)
		return;
	snprintf(h->boot_id, sizeof(h->boot_id), "%s", boot_id);
	h->mono_ms = boot_start_ms;
	h->boot_odometer_ms = h->odometer_ms;
	h->reboot_marked = false;
}

void lc_hours_advance(struct lc_hours *h, uint64_t now_ms)
{
	if (now_ms <= h->mono_ms)
		return;
	h->odometer_ms += now_ms - h->mono_ms;
	h->mono_ms = now_ms;
}

uint64_t lc_hours_position(const struct lc_hours *h, const char *boot_id, uint64_t mono_ms)
{
	uint64_t back;

	if (boot_id && strcmp(boot_id, h->boot_id) != 0)
		return h->boot_odometer_ms > 0 ? h->boot_odometer_ms - 1 : 0;
	/* Within a boot the odometer and the monotonic clock move together. */
	if (mono_ms >= h->mono_ms)
		return h->odometer_ms;
	back = h->mono_ms - mono_ms;
	return back > h->odometer_ms - h->boot_odometer_ms ? h->boot_odometer_ms
							   : h->odometer_ms - back;
}

void lc_hours_crash(struct lc_hours *h, uint64_t pos)
{
	unsigned i;

	pos = MAX(pos, h->start_ms);
	if (h->n_marks == LC_HOURS_CRASHES_MAX) {
		h->unplaced++;
		return;
	}
	for (i = h->n_marks; i > 0 && h->marks[i - 1] > pos; i--)
		h->marks[i] = h->marks[i - 1];
	h->marks[i] = pos;
	h->n_marks++;
}

/* The index of the kind called name, added when absent; LC_FAILURE_KIND_OTHER's beyond
 * LC_HOURS_FAILURE_KINDS_MAX others. There is always a place: kinds[] has one more for it. */
static unsigned kind_index(struct lc_hours *h, const char *name)
{
	unsigned named = 0;

	for (unsigned i = 0; i < h->n_kinds; i++) {
		if (streq(h->kinds[i].name, name))
			return i;
		named += !streq(h->kinds[i].name, LC_FAILURE_KIND_OTHER);
	}
	if (!streq(name, LC_FAILURE_KIND_OTHER) && named == LC_HOURS_FAILURE_KINDS_MAX)
		return kind_index(h, LC_FAILURE_KIND_OTHER);
	h->kinds[h->n_kinds] = (struct lc_hours_kind){};
	snprintf(h->kinds[h->n_kinds].name, sizeof(h->kinds[0].name), "%s", name);
	return h->n_kinds++;
}

/* Places a failure of the kind at index k at pos (>= start_ms). */
static void failure_place(struct lc_hours *h, unsigned k, uint64_t pos)
{
	unsigned i;

	if (h->n_failures == LC_HOURS_FAILURES_MAX) {
		h->kinds[k].unplaced++;
		return;
	}
	for (i = h->n_failures; i > 0 && h->failures[i - 1].pos > pos; i--)
		h->failures[i] = h->failures[i - 1];
	h->failures[i] = (struct lc_hours_failure){ .pos = pos, .kind = k };
	h->n_failures++;
}

int lc_hours_failure(struct lc_hours *h, const char *kind, uint64_t pos,
		     const char **ret_counted_as)
{
	unsigned n = h->n_kinds, k;

	if (!lc_failure_kind_valid(kind, strlen(kind)))
		return -EINVAL;
	k = kind_index(h, kind);
	failure_place(h, k, MAX(pos, h->start_ms));
	if (ret_counted_as)
		*ret_counted_as = h->kinds[k].name;
	return h->n_kinds > n;
}

void lc_hours_unexpected_reboot(struct lc_hours *h)
{
	if (h->reboot_marked)
		return;
	h->reboot_marked = true;
	lc_hours_crash(h, h->boot_odometer_ms > 0 ? h->boot_odometer_ms - 1 : 0);
}

uint64_t lc_hours_due_ms(const struct lc_hours *h, uint64_t interval_ms)
{
	return h->start_ms + MAX(interval_ms, 1ULL);
}

uint64_t lc_hours_next_roll(const struct lc_hours *h, uint64_t interval_ms)
{
	uint64_t limit = h->odometer_ms, k;

	interval_ms = MAX(interval_ms, 1ULL);
	if (h->odometer_ms < h->start_ms + interval_ms)
		return 0;
	/* The whole intervals before the first crash's, and before the odometer, are crash-free:
	 * one report for all of them. */
	if (h->n_marks > 0)
		limit = MIN(limit, h->marks[0]);
	if (h->n_failures > 0)
		limit = MIN(limit, h->failures[0].pos);
	k = (limit - h->start_ms) / interval_ms;
	return h->start_ms + MAX(k, 1ULL) * interval_ms;
}

/* Crashes placed before end_ms, with those that could not be placed. */
static uint64_t crashes_before(const struct lc_hours *h, uint64_t end_ms, unsigned *ret_n)
{
	unsigned n = 0;

	while (n < h->n_marks && h->marks[n] < end_ms)
		n++;
	*ret_n = n;
	return n + h->unplaced;
}

/* The failures of each kind placed before end_ms, with those that could not be placed, into ret;
 * *ret_n the failures placed before end_ms. */
static void failures_before(const struct lc_hours *h, uint64_t end_ms, struct lc_hours_report *ret,
			    unsigned *ret_n)
{
	uint64_t counts[ARRAY_SIZE(h->kinds)] = {};
	unsigned n = 0;

	while (n < h->n_failures && h->failures[n].pos < end_ms)
		counts[h->failures[n++].kind]++;
	*ret_n = n;
	ret->n_failures = 0;
	for (unsigned k = 0; k < h->n_kinds; k++) {
		struct lc_hours_failure_count *c = &ret->failures[ret->n_failures];

		if (counts[k] + h->kinds[k].unplaced == 0)
			continue;
		snprintf(c->kind, sizeof(c->kind), "%s", h->kinds[k].name);
		c->count = counts[k] + h->kinds[k].unplaced;
		ret->n_failures++;
	}
}

static void report(const struct lc_hours *h, uint64_t end_ms, struct lc_hours_report *ret,
		   unsigned *ret_n, unsigned *ret_n_failures)
{
	uint64_t op = end_ms - h->start_ms, crashes = crashes_before(h, end_ms, ret_n);

	*ret = (struct lc_hours_report){
		.operational_ms = op,
		.crashfree_ms = crashes > 0 ? 0 : op,
		.crashes = crashes,
	};
	failures_before(h, end_ms, ret, ret_n_failures);
}

void lc_hours_peek(const struct lc_hours *h, struct lc_hours_report *ret)
{
	unsigned n, n_failures;

	/* Crashes and failures ahead of the odometer (none in practice) are in the interval in
	 * progress too. */
	report(h, h->odometer_ms, ret, &n, &n_failures);
	ret->crashes += h->n_marks - n;
	if (ret->crashes > 0)
		ret->crashfree_ms = 0;
	if (n_failures < h->n_failures)
		failures_before(h, UINT64_MAX, ret, &n_failures);
}

/* Drops the kinds that neither a failure nor an unplaced count refers to any more. */
static void kinds_compact(struct lc_hours *h)
{
	unsigned map[ARRAY_SIZE(h->kinds)] = {}, used[ARRAY_SIZE(h->kinds)] = {}, n = 0;

	for (unsigned i = 0; i < h->n_failures; i++)
		used[h->failures[i].kind] = 1;
	for (unsigned k = 0; k < h->n_kinds; k++) {
		if (!used[k] && h->kinds[k].unplaced == 0)
			continue;
		map[k] = n;
		h->kinds[n++] = h->kinds[k];
	}
	h->n_kinds = n;
	for (unsigned i = 0; i < h->n_failures; i++)
		h->failures[i].kind = map[h->failures[i].kind];
}

void lc_hours_roll(struct lc_hours *h, uint64_t end_ms, struct lc_hours_report *ret)
{
	unsigned n, n_failures;

	end_ms = MIN(MAX(end_ms, h->start_ms), h->odometer_ms);
	report(h, end_ms, ret, &n, &n_failures);
	memmove(h->marks, h->marks + n, (h->n_marks - n) * sizeof(h->marks[0]));
	h->n_marks -= n;
	h->unplaced = 0;
	memmove(h->failures, h->failures + n_failures,
		(h->n_failures - n_failures) * sizeof(h->failures[0]));
	h->n_failures -= n_failures;
	for (unsigned k = 0; k < h->n_kinds; k++)
		h->kinds[k].unplaced = 0;
	kinds_compact(h);
	h->start_ms = end_ms;
}

void lc_hours_restart(struct lc_hours *h)
{
	h->start_ms = h->odometer_ms;
	h->n_marks = 0;
	h->unplaced = 0;
	h->n_failures = 0;
	h->n_kinds = 0;
}

uint64_t lc_hours_checkpoint_delay_ms(uint64_t uptime_ms, uint64_t checkpoint_ms)
{
	checkpoint_ms = MAX(checkpoint_ms, 1ULL);
	/* The first at LC_HOURS_EARLY_CHECKPOINT_MS, then every tenth of the boot's age until that
	 * is the regular period: a boot that ends unexpectedly keeps at least 90 % of its time once
	 * it is ten times LC_HOURS_EARLY_CHECKPOINT_MS old. */
	if (uptime_ms < LC_HOURS_EARLY_CHECKPOINT_MS)
		return MIN(LC_HOURS_EARLY_CHECKPOINT_MS - uptime_ms, checkpoint_ms);
	return MIN(MAX(uptime_ms / 10, LC_HOURS_EARLY_CHECKPOINT_MS), checkpoint_ms);
}

/* {"KIND": {"positions": [...], "unplaced": N}, ...}; NULL on allocation failure. */
static json_object *failures_to_json(const struct lc_hours *h)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	int r = 0;

	for (unsigned k = 0; o && r >= 0 && k < h->n_kinds; k++) {
		json_object *kind = json_object_new_object(), *positions = json_object_new_array();

		lc_json_add_sticky(o, h->kinds[k].name, kind, &r);
		lc_json_add_sticky(kind, "positions", positions, &r);
		lc_json_add_sticky(kind, "unplaced",
				   json_object_new_int64((int64_t)h->kinds[k].unplaced), &r);
		for (unsigned i = 0; r >= 0 && i < h->n_failures; i++) {
			json_object *m;

			if (h->failures[i].kind != k)
				continue;
			m = json_object_new_int64((int64_t)h->failures[i].pos);
			if (!m || json_object_array_add(positions, m) < 0) {
				json_object_put(m);
				r = -ENOMEM;
			}
		}
	}
	return o && r >= 0 ? TAKE_PTR(o) : NULL;
}

json_object *lc_hours_to_json(const struct lc_hours *h)
{
	json_object *o = json_object_new_object(), *marks = json_object_new_array();

	if (!o || !marks)
		goto fail;
	for (unsigned i = 0; i < h->n_marks; i++) {
		json_object *m = json_object_new_int64((int64_t)h->marks[i]);

		if (!m || json_object_array_add(marks, m) < 0) {
			json_object_put(m);
			goto fail;
		}
	}
	if (lc_json_add(o, "boot_id", json_object_new_string(h->boot_id)) < 0 ||
	    lc_json_add(o, "monotonic_ms", json_object_new_int64((int64_t)h->mono_ms)) < 0 ||
	    lc_json_add(o, "odometer_ms", json_object_new_int64((int64_t)h->odometer_ms)) < 0 ||
	    lc_json_add(o, "boot_odometer_ms",
			json_object_new_int64((int64_t)h->boot_odometer_ms)) < 0 ||
	    lc_json_add(o, "start_ms", json_object_new_int64((int64_t)h->start_ms)) < 0 ||
	    lc_json_add(o, "unplaced", json_object_new_int64((int64_t)h->unplaced)) < 0 ||
	    lc_json_add(o, "crash_positions", TAKE_PTR(marks)) < 0 ||
	    lc_json_add(o, "reboot_marked", json_object_new_boolean(h->reboot_marked)) < 0 ||
	    lc_json_add(o, "failures", failures_to_json(h)) < 0)
		goto fail;
	return o;
fail:
	json_object_put(marks);
	json_object_put(o);
	return NULL;
}

static bool get_u64(json_object *o, const char *key, uint64_t *ret)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0)
		return false;
	*ret = (uint64_t)json_object_get_int64(v);
	return true;
}

/* The earlier form kept one position per crash window and the heartbeat's crash count beside
 * them: its positions are crashes still, and the count beyond them is unplaced. */
static int from_windows(json_object *o, struct lc_hours *h, json_object **ret_marks)
{
	uint64_t crashes;

	if (!get_u64(o, "crashes", &crashes) || !json_object_object_get_ex(o, "marks", ret_marks) ||
	    !json_object_is_type(*ret_marks, json_type_array))
		return -EINVAL;
	h->unplaced = crashes;
	return 0;
}

/* Restores "failures" of failures_to_json() into h (its start_ms and odometer_ms restored). */
static int failures_from_json(json_object *o, struct lc_hours *h, const char **ret_why)
{
	unsigned named = 0;

	if (!json_object_is_type(o, json_type_object) ||
	    json_object_object_length(o) > (int)ARRAY_SIZE(h->kinds)) {
		*ret_why = "inconsistent ledger: failures is not an object of at most 17 kinds";
		return -EINVAL;
	}
	json_object_object_foreach(o, name, kind)
	{
		bool other = streq(name, LC_FAILURE_KIND_OTHER);
		json_object *positions;
		unsigned k = h->n_kinds;
		size_t n;

		if ((!other && !lc_failure_kind_valid(name, strlen(name))) ||
		    (!other && ++named > LC_HOURS_FAILURE_KINDS_MAX) ||
		    !json_object_is_type(kind, json_type_object) ||
		    !json_object_object_get_ex(kind, "positions", &positions) ||
		    !json_object_is_type(positions, json_type_array) ||
		    !get_u64(kind, "unplaced", &h->kinds[k].unplaced)) {
			*ret_why = "inconsistent ledger: bad failures";
			return -EINVAL;
		}
		snprintf(h->kinds[k].name, sizeof(h->kinds[k].name), "%s", name);
		h->n_kinds++;
		n = json_object_array_length(positions);
		for (size_t i = 0; i < n; i++) {
			json_object *m = json_object_array_get_idx(positions, i);
			int64_t pos = json_object_is_type(m, json_type_int)
					      ? json_object_get_int64(m)
					      : -1;

			if (pos < 0 || (uint64_t)pos < h->start_ms ||
			    (uint64_t)pos > h->odometer_ms ||
			    h->n_failures == LC_HOURS_FAILURES_MAX) {
				*ret_why = "inconsistent ledger: bad failure positions";
				return -EINVAL;
			}
			failure_place(h, k, (uint64_t)pos);
		}
	}
	return 0;
}

int lc_hours_from_json(json_object *o, struct lc_hours *ret, const char **ret_why)
{
	struct lc_hours h = {};
	json_object *id, *marks, *marked, *failures;
	const char *why_failures;
	bool old;
	size_t n;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "boot_id", &id) ||
	    !json_object_is_type(id, json_type_string) ||
	    strlen(json_object_get_string(id)) >= sizeof(h.boot_id) ||
	    !get_u64(o, "monotonic_ms", &h.mono_ms) || !get_u64(o, "odometer_ms", &h.odometer_ms) ||
	    !get_u64(o, "boot_odometer_ms", &h.boot_odometer_ms) ||
	    !get_u64(o, "start_ms", &h.start_ms)) {
		*ret_why = "not a ledger (a member is missing or has the wrong type)";
		return -EINVAL;
	}
	old = !json_object_object_get_ex(o, "crash_positions", &marks);
	if (old ? from_windows(o, &h, &marks) < 0
		: !json_object_is_type(marks, json_type_array) ||
			    !get_u64(o, "unplaced", &h.unplaced)) {
		*ret_why = "not a ledger (crash_positions or unplaced is missing or has the wrong "
			   "type)";
		return -EINVAL;
	}
	strcpy(h.boot_id, json_object_get_string(id));
	/* Absent in ledgers written before it existed. */
	if (json_object_object_get_ex(o, "reboot_marked", &marked)) {
		if (!json_object_is_type(marked, json_type_boolean)) {
			*ret_why = "not a ledger (reboot_marked is not a boolean)";
			return -EINVAL;
		}
		h.reboot_marked = json_object_get_boolean(marked);
	}
	n = json_object_array_length(marks);
	if (n > LC_HOURS_CRASHES_MAX || h.start_ms > h.odometer_ms ||
	    h.boot_odometer_ms > h.odometer_ms) {
		*ret_why = "inconsistent ledger";
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(marks, i);

		if (!json_object_is_type(m, json_type_int) || json_object_get_int64(m) < 0 ||
		    (uint64_t)json_object_get_int64(m) > h.odometer_ms ||
		    (uint64_t)json_object_get_int64(m) < (old ? 0 : h.start_ms) ||
		    (i > 0 && (uint64_t)json_object_get_int64(m) < h.marks[i - 1])) {
			*ret_why = "inconsistent ledger: bad crash positions";
			return -EINVAL;
		}
		h.marks[i] = (uint64_t)json_object_get_int64(m);
	}
	h.n_marks = (unsigned)n;
	if (old) {
		/* Old positions were in windows that may have begun before the heartbeat. */
		for (unsigned i = 0; i < h.n_marks; i++)
			h.marks[i] = MAX(h.marks[i], h.start_ms);
		h.unplaced = h.unplaced > n ? h.unplaced - n : 0;
	}
	/* Absent in ledgers written before failure kinds existed: none. A section this version
	 * cannot read (a later one's, with more kinds) costs only the failures of the interval in
	 * progress, never the hours and crashes beside them. */
	if (json_object_object_get_ex(o, "failures", &failures) &&
	    failures_from_json(failures, &h, &why_failures) < 0) {
		memset(h.kinds, 0, sizeof(h.kinds));
		memset(h.failures, 0, sizeof(h.failures));
		h.n_kinds = h.n_failures = 0;
	}
	*ret = h;
	return 0;
}
