/* SPDX-License-Identifier: MIT */
/* The coredump filters' persistent rate limits (filter.h): faultd-core-handler's alone, so that
 * faultd, which only checks the rules, does not link the capture code. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "capture.h"
#include "fileio.h"
#include "filter.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"

/* The times remembered for text in the state's "rules" object (NULL: none), at most max. */
static size_t state_times(json_object *rules, const char *text, uint64_t *times, size_t max)
{
	json_object *arr;
	size_t n = 0;

	if (!rules || !json_object_object_get_ex(rules, text, &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(arr) && n < max; i++) {
		json_object *v = json_object_array_get_idx(arr, i);

		if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) > 0)
			times[n++] = (uint64_t)json_object_get_int64(v);
	}
	return n;
}

/* The times of n that still count at now_ms for a window of interval_ms, as a JSON array; NULL
 * on OOM. */
static json_object *times_json(const uint64_t *times, size_t n, uint64_t now_ms,
			       uint64_t interval_ms)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; arr && i < n; i++)
		if (times[i] <= now_ms && now_ms - times[i] < interval_ms &&
		    json_object_array_add(arr, json_object_new_int64((int64_t)times[i])) < 0) {
			json_object_put(arr);
			return NULL;
		}
	return arr;
}

int coredump_filter_take(const char *state_dir, const struct coredump_filters *f, int rule,
			 uint64_t now_ms, bool *ret_allowed)
{
	_cleanup_free_ char *path = NULL, *lock_path = NULL, *text = NULL;
	_cleanup_free_ uint64_t *times = NULL;
	_cleanup_close_ int lock = -1;
	_cleanup_json_ json_object *old = NULL, *out = NULL;
	json_object *old_rules = NULL, *rules;
	const char *rule_text = coredump_filter_text(f, rule), *text_out;
	uint64_t interval_ms = 0;
	unsigned count = coredump_filter_limit(f, rule, &interval_ms);
	size_t len, n;
	int r;

	if (!rule_text)
		return -EINVAL;
	if (count == 0) {
		*ret_allowed = false;
		return 0;
	}
	if (asprintf(&path, "%s/%s", state_dir, COREDUMP_FILTER_STATE_FILE) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	if (asprintf(&lock_path, "%s.lock", path) < 0) {
		lock_path = NULL;
		return -ENOMEM;
	}
	lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0)
		return -errno;
	times = calloc(COREDUMP_FILTER_COUNT_MAX + 1, sizeof(*times));
	if (!times)
		return -ENOMEM;

	r = lc_read_file(path, COREDUMP_FILTER_STATE_FILE_MAX, &text, &len);
	if (r >= 0) {
		old = json_tokener_parse(text);
		if (!json_object_object_get_ex(old, "rules", &old_rules) ||
		    !json_object_is_type(old_rules, json_type_object)) {
			log_warning("%s: not a coredump filters' record; starting it afresh.",
				    path);
			old_rules = NULL;
		}
	} else if (r != -ENOENT) {
		log_warning_errno(r, "Failed to read %s (%m); starting it afresh.", path);
	}

	n = state_times(old_rules, rule_text, times, COREDUMP_FILTER_COUNT_MAX);
	if (!capture_rate_allows(times, n, now_ms, interval_ms, count)) {
		*ret_allowed = false;
		return 0;
	}
	times[n++] = now_ms;

	/* The new record: this rule's times with this core, every other configured rule's as they
	 * were (without those out of their window); rules no longer configured are left out. */
	out = json_object_new_object();
	rules = json_object_new_object();
	if (lc_json_add(out, "rules", rules) < 0)
		return -ENOMEM;
	for (int i = 0; coredump_filter_text(f, i); i++) {
		const char *o = coredump_filter_text(f, i);
		_cleanup_free_ uint64_t *other = NULL;
		uint64_t o_interval_ms = 0;
		json_object *arr;
		size_t m;

		(void)coredump_filter_limit(f, i, &o_interval_ms);
		if (streq(o, rule_text)) {
			arr = times_json(times, n, now_ms, interval_ms);
		} else {
			other = calloc(COREDUMP_FILTER_COUNT_MAX, sizeof(*other));
			if (!other)
				return -ENOMEM;
			m = state_times(old_rules, o, other, COREDUMP_FILTER_COUNT_MAX);
			if (m == 0)
				continue;
			arr = times_json(other, m, now_ms, o_interval_ms);
		}
		if (!arr)
			return -ENOMEM;
		if (json_object_array_length(arr) == 0) {
			json_object_put(arr);
			continue;
		}
		if (lc_json_add(rules, o, arr) < 0)
			return -ENOMEM;
	}
	text_out = json_object_to_json_string_length(
		out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!text_out)
		return -ENOMEM;
	r = lc_write_file_atomic(path, text_out, len, 0600);
	if (r < 0)
		return r;
	*ret_allowed = true;
	return 0;
}
