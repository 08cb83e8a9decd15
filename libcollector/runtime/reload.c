/* SPDX-License-Identifier: MIT */
/* A reload's plan. See reload.h. */
#include <stdio.h>

#include "macro.h"
#include "reload.h"
#include "schema.h"

static const char *const identity_keys[] = {
	"sysroot",
	"device.serial",
	"device.hardware_version",
	"device.software_type",
	"device.software_version",
	"device.info_command",
};
static const char *const control_keys[] = { "control_socket", "control_group" };
static const char *const consent_keys[] = { "enable_data_collection" };
static const char *const logging_keys[] = { "log_target", "log_level" };
static const char *const spool_keys[] = {
	"spool.max_bytes",	 "spool.max_entries",	  "spool.min_free_bytes",
	"spool.min_free_inodes", "spool.max_age_seconds",
};
static const char *const uploader_keys[] = {
	"base_url",
	"project_key",
	"ca_bundle",
	"upload_interval_seconds",
	"upload.max_batch_bytes",
	"upload.connect_timeout_seconds",
	"upload.low_speed_timeout_seconds",
	"upload.timeout_seconds",
	"upload.backoff_min_seconds",
	"upload.backoff_max_seconds",
};
static const char *const heartbeat_keys[] = {
	"heartbeat_interval_seconds",
	"hours.checkpoint_interval_seconds",
};

static bool strv_equal(const char *const *a, const char *const *b)
{
	for (; a && *a && b && *b; a++, b++)
		if (!streq(*a, *b))
			return false;
	return !(a && *a) && !(b && *b);
}

/* Whether the core key called name differs between a and b. */
static bool key_changed(const struct lc_config *a, const struct lc_config *b, const char *name)
{
	const struct lc_cfg_section *s = &lc_core_config_section;

	for (size_t i = 0; i < s->n_keys; i++) {
		if (!streq(s->keys[i].name, name))
			continue;
		switch (s->keys[i].type) {
		case LC_CFG_BOOL:
			return lc_config_get_bool(a, name) != lc_config_get_bool(b, name);
		case LC_CFG_INT:
			return lc_config_get_int(a, name) != lc_config_get_int(b, name);
		case LC_CFG_STRING:
			return !streq(lc_config_get_string(a, name), lc_config_get_string(b, name));
		case LC_CFG_STRV:
			return !strv_equal(lc_config_get_strv(a, name),
					   lc_config_get_strv(b, name));
		}
	}
	/* Not a core key: a mistake in the lists above, which lc_config_get_*() would abort on. */
	return true;
}

static bool keys_changed(const struct lc_config *a, const struct lc_config *b,
			 const char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (key_changed(a, b, keys[i]))
			return true;
	return false;
}

void lc_reload_plan(const struct lc_config *old, const struct lc_config *next,
		    struct lc_reload_plan *ret)
{
#define CHANGED(keys) keys_changed(old, next, keys, ARRAY_SIZE(keys))
	*ret = (struct lc_reload_plan){
		.state_dir = key_changed(old, next, "state_dir"),
		.identity = CHANGED(identity_keys),
		.control = CHANGED(control_keys),
		.consent = CHANGED(consent_keys),
		.logging = CHANGED(logging_keys),
		.spool_limits = CHANGED(spool_keys),
		.uploader = CHANGED(uploader_keys),
		.heartbeat_timing = CHANGED(heartbeat_keys),
	};
#undef CHANGED
}

const char *lc_reload_plan_describe(const struct lc_reload_plan *plan, char *buf, size_t size)
{
	const struct {
		bool on;
		const char *what;
	} parts[] = {
		{ plan->identity, "identity" },
		{ plan->control, "control socket" },
		{ plan->consent, "data collection" },
		{ plan->logging, "logging" },
		{ plan->spool_limits, "spool limits" },
		{ plan->uploader, "uploads" },
		{ plan->heartbeat_timing, "heartbeat timing" },
	};
	size_t len = 0;

	if (size == 0)
		return buf;
	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		int n;

		if (!parts[i].on)
			continue;
		n = snprintf(buf + len, size - len, "%s%s", len ? ", " : "", parts[i].what);
		if (n < 0 || (size_t)n >= size - len) {
			buf[len] = 0; /* the parts that fit: it is only for the log */
			return buf;
		}
		len += (size_t)n;
	}
	if (len == 0)
		snprintf(buf, size, "nothing");
	return buf;
}
