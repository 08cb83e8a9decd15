/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "json-util.h"
#include "storage.h"

static const char *const state_names[_LC_STORAGE_STATE_MAX] = {
	[LC_STORAGE_OK] = "ok",
	[LC_STORAGE_LOW_SPACE] = "low-space",
	[LC_STORAGE_ERROR] = "error",
	[LC_STORAGE_FULL] = "full",
	[LC_STORAGE_READ_ONLY] = "read-only",
};

enum lc_storage_state lc_storage_state_of(int error)
{
	switch (error) {
	case 0:
		return LC_STORAGE_OK;
	case -ENOSPC:
	case -EDQUOT:
		return LC_STORAGE_FULL;
	case -EROFS:
		return LC_STORAGE_READ_ONLY;
	default:
		return LC_STORAGE_ERROR;
	}
}

const char *lc_storage_state_name(enum lc_storage_state s)
{
	return (unsigned)s < _LC_STORAGE_STATE_MAX ? state_names[s] : NULL;
}

bool lc_storage_fault_set(struct lc_storage_fault *f, int error, const char *op, const char *path,
			  uint64_t now_ms, uint64_t mono_ms)
{
	/* An episode that began in the quiet window is logged at its first failure after it. */
	bool news = (f->error != error || !f->logged) && mono_ms >= f->quiet_until;

	if (f->error == 0) {
		f->since_ms = now_ms;
		f->failures = 0;
		f->logged = false;
	}
	if (news) {
		f->logged = true;
		f->quiet_until = mono_ms + LC_STORAGE_LOG_INTERVAL_MS;
	}
	f->error = error;
	f->last_ms = now_ms;
	f->failures++;
	snprintf(f->op, sizeof(f->op), "%s", op);
	snprintf(f->path, sizeof(f->path), "%s", path);
	return news;
}

bool lc_storage_fault_clear(struct lc_storage_fault *f)
{
	bool was = f->error != 0 && f->logged;

	*f = (struct lc_storage_fault){ .quiet_until = f->quiet_until };
	return was;
}

static json_object *stamp(uint64_t ms)
{
	time_t secs = (time_t)(ms / 1000);
	char buf[32];
	struct tm tm;

	if (!gmtime_r(&secs, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return NULL;
	return json_object_new_string(buf);
}

json_object *lc_storage_fault_to_json(const struct lc_storage_fault *f, const char *what)
{
	json_object *o;

	if (f->error == 0)
		return NULL;
	o = json_object_new_object();
	if (!o || lc_json_add(o, "what", json_object_new_string(what)) < 0 ||
	    lc_json_add(o, "state",
			json_object_new_string(
				lc_storage_state_name(lc_storage_state_of(f->error)))) < 0 ||
	    lc_json_add(o, "error", json_object_new_string(strerror(-f->error))) < 0 ||
	    lc_json_add(o, "errno", json_object_new_int(-f->error)) < 0 ||
	    lc_json_add(o, "operation", json_object_new_string(f->op)) < 0 ||
	    lc_json_add(o, "path", json_object_new_string(f->path)) < 0 ||
	    lc_json_add(o, "since", stamp(f->since_ms)) < 0 ||
	    lc_json_add(o, "last", stamp(f->last_ms)) < 0 ||
	    lc_json_add(o, "failures", json_object_new_int64((int64_t)f->failures)) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}
