/* SPDX-License-Identifier: MIT */
/* Two json-c habits every module needs: building objects without leaking or storing a null when
 * an allocation fails, and scope-bound release. */
#pragma once

#include <errno.h>
#include <json-c/json.h>

#include "macro.h"

/* Adds v to o under key, taking v over on every path; v NULL (a failed allocation) or a failed
 * add is -ENOMEM, so no member is silently null. */
static inline int lc_json_add(json_object *o, const char *key, json_object *v)
{
	if (!v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static inline void lc_json_putp(json_object **o)
{
	json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(lc_json_putp)
