/* SPDX-License-Identifier: MIT */
/* Two json-c habits every module needs: building objects without leaking or storing a null when
 * an allocation fails, and scope-bound release. Every member is added here and nowhere else. */
#pragma once

#include <errno.h>
#include <json-c/json.h>

#include "macro.h"

/* Adds v to o under key, taking v over on every path; o NULL or v NULL (a failed allocation) or
 * a failed add is -ENOMEM, so no member is silently null. */
static inline int lc_json_add(json_object *o, const char *key, json_object *v)
{
	if (!o || !v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* Adds a JSON null to o under key; -ENOMEM when o is NULL or the add fails. */
static inline int lc_json_add_null(json_object *o, const char *key)
{
	if (!o || json_object_object_add(o, key, NULL) < 0)
		return -ENOMEM;
	return 0;
}

/* Adds s to o under key as a string, or as null when s is NULL; -ENOMEM as lc_json_add(). */
static inline int lc_json_add_string_or_null(json_object *o, const char *key, const char *s)
{
	return s ? lc_json_add(o, key, json_object_new_string(s)) : lc_json_add_null(o, key);
}

/*
 * For a report where some members are better than none (a status): keeps the first failure r of
 * an add in *error and returns r, so that the report is built on and *error is checked once, at
 * the end. *error starts at 0.
 */
static inline int lc_json_sticky(int r, int *error)
{
	if (r < 0 && *error == 0)
		*error = r;
	return r;
}

/* lc_json_add() for such a report: a failure is kept in *error (see lc_json_sticky()). */
static inline int lc_json_add_sticky(json_object *o, const char *key, json_object *v, int *error)
{
	return lc_json_sticky(lc_json_add(o, key, v), error);
}

static inline void lc_json_putp(json_object **o)
{
	json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(lc_json_putp)
