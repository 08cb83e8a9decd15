/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "hours.h"
#include "json-util.h"
#include "macro.h"

void lc_hours_init(struct lc_hours *h, const char *boot_id, uint64_t window_ms, uint64_t now_ms)
{
	*h = (struct lc_hours){ .window_ms = MAX(window_ms, 1ULL), .mono_ms = now_ms };
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

static uint64_t window_of(const struct lc_hours *h, uint64_t pos)
{
	return pos / h->window_ms;
}

/* Remembers a crash at odometer position pos; one mark per window is enough. */
static void mark(struct lc_hours *h, uint64_t pos)
{
	unsigned i;

	h->crashes++;
	for (i = 0; i < h->n_marks; i++)
		if (window_of(h, h->marks[i]) == window_of(h, pos))
			return;
	if (h->overflow && window_of(h, pos) >= window_of(h, h->marks[h->n_marks - 1]))
		return;
	if (h->n_marks == LC_HOURS_CRASHES_MAX) {
		/* Keep the earliest marks exact; everything from the last one on is crash time. */
		if (pos < h->marks[h->n_marks - 1])
			h->marks[h->n_marks - 1] = pos;
		h->overflow = true;
		return;
	}
	for (i = h->n_marks; i > 0 && h->marks[i - 1] > pos; i--)
		h->marks[i] = h->marks[i - 1];
	h->marks[i] = pos;
	h->n_marks++;
}

void lc_hours_crash(struct lc_hours *h)
{
	mark(h, h->odometer_ms);
}

void lc_hours_unexpected_reboot(struct lc_hours *h)
{
	if (h->reboot_marked)
		return;
	h->reboot_marked = true;
	mark(h, MAX(h->boot_odometer_ms, h->start_ms));
}

uint64_t lc_hours_due_ms(const struct lc_hours *h, uint64_t interval_ms)
{
	interval_ms = MAX(interval_ms, 1ULL);
	return (h->start_ms / interval_ms + 1) * interval_ms;
}

/* Crash time within [start_ms, odometer_ms): the overlap of every marked window. */
static uint64_t crash_ms(const struct lc_hours *h)
{
	uint64_t total = 0, end = h->odometer_ms;

	for (unsigned i = 0; i < h->n_marks; i++) {
		uint64_t w = window_of(h, h->marks[i]);
		uint64_t lo = MAX(h->start_ms, w * h->window_ms);
		uint64_t hi = MIN(end, (w + 1) * h->window_ms);

		if (h->overflow && i == h->n_marks - 1)
			hi = end; /* from the last mark's window to the end */
		if (hi > lo)
			total += hi - lo;
	}
	return total;
}

void lc_hours_peek(const struct lc_hours *h, struct lc_hours_report *ret)
{
	uint64_t op = h->odometer_ms - h->start_ms, crash = MIN(crash_ms(h), op);

	*ret = (struct lc_hours_report){
		.operational_ms = op,
		.crashfree_ms = op - crash,
		.crashes = h->crashes,
	};
}

void lc_hours_close(struct lc_hours *h, struct lc_hours_report *ret)
{
	uint64_t current = window_of(h, h->odometer_ms);
	unsigned kept = 0;

	lc_hours_peek(h, ret);
	/* A marked window the odometer is still in carries on into the next heartbeat. */
	for (unsigned i = 0; i < h->n_marks; i++)
		if (window_of(h, h->marks[i]) == current ||
		    (h->overflow && i == h->n_marks - 1 && window_of(h, h->marks[i]) <= current)) {
			h->marks[0] =
				MAX(h->marks[i], h->odometer_ms - h->odometer_ms % h->window_ms);
			kept = 1;
			break;
		}
	h->n_marks = kept;
	h->overflow = false;
	h->crashes = 0;
	h->start_ms = h->odometer_ms;
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
	    lc_json_add(o, "window_ms", json_object_new_int64((int64_t)h->window_ms)) < 0 ||
	    lc_json_add(o, "monotonic_ms", json_object_new_int64((int64_t)h->mono_ms)) < 0 ||
	    lc_json_add(o, "odometer_ms", json_object_new_int64((int64_t)h->odometer_ms)) < 0 ||
	    lc_json_add(o, "boot_odometer_ms",
			json_object_new_int64((int64_t)h->boot_odometer_ms)) < 0 ||
	    lc_json_add(o, "start_ms", json_object_new_int64((int64_t)h->start_ms)) < 0 ||
	    lc_json_add(o, "crashes", json_object_new_int64((int64_t)h->crashes)) < 0 ||
	    lc_json_add(o, "marks", TAKE_PTR(marks)) < 0)
		goto fail;
	if (lc_json_add(o, "overflow", json_object_new_boolean(h->overflow)) < 0 ||
	    lc_json_add(o, "reboot_marked", json_object_new_boolean(h->reboot_marked)) < 0)
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

int lc_hours_from_json(json_object *o, struct lc_hours *ret, const char **ret_why)
{
	struct lc_hours h = {};
	json_object *id, *marks, *overflow, *marked;
	size_t n;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "boot_id", &id) ||
	    !json_object_is_type(id, json_type_string) ||
	    strlen(json_object_get_string(id)) >= sizeof(h.boot_id) ||
	    !get_u64(o, "window_ms", &h.window_ms) || !get_u64(o, "monotonic_ms", &h.mono_ms) ||
	    !get_u64(o, "odometer_ms", &h.odometer_ms) ||
	    !get_u64(o, "boot_odometer_ms", &h.boot_odometer_ms) ||
	    !get_u64(o, "start_ms", &h.start_ms) || !get_u64(o, "crashes", &h.crashes) ||
	    !json_object_object_get_ex(o, "marks", &marks) ||
	    !json_object_is_type(marks, json_type_array) ||
	    !json_object_object_get_ex(o, "overflow", &overflow) ||
	    !json_object_is_type(overflow, json_type_boolean)) {
		*ret_why = "not a ledger (a member is missing or has the wrong type)";
		return -EINVAL;
	}
	strcpy(h.boot_id, json_object_get_string(id));
	h.overflow = json_object_get_boolean(overflow);
	/* Absent in ledgers written before it existed. */
	if (json_object_object_get_ex(o, "reboot_marked", &marked)) {
		if (!json_object_is_type(marked, json_type_boolean)) {
			*ret_why = "not a ledger (reboot_marked is not a boolean)";
			return -EINVAL;
		}
		h.reboot_marked = json_object_get_boolean(marked);
	}
	n = json_object_array_length(marks);
	if (h.window_ms == 0 || n > LC_HOURS_CRASHES_MAX || (h.overflow && n == 0) ||
	    h.start_ms > h.odometer_ms || h.boot_odometer_ms > h.odometer_ms) {
		*ret_why = "inconsistent ledger";
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(marks, i);

		if (!json_object_is_type(m, json_type_int) || json_object_get_int64(m) < 0 ||
		    (uint64_t)json_object_get_int64(m) > h.odometer_ms ||
		    (i > 0 && (uint64_t)json_object_get_int64(m) < h.marks[i - 1])) {
			*ret_why = "inconsistent ledger: bad crash marks";
			return -EINVAL;
		}
		h.marks[i] = (uint64_t)json_object_get_int64(m);
	}
	h.n_marks = (unsigned)n;
	*ret = h;
	return 0;
}
