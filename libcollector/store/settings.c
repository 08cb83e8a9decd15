/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "log.h"
#include "macro.h"
#include "settings.h"

static const char *const identity_keys[_LC_ID_MAX] = {
	[LC_ID_DEVICE_SERIAL] = "device.serial",
	[LC_ID_HARDWARE_VERSION] = "device.hardware_version",
	[LC_ID_SOFTWARE_TYPE] = "device.software_type",
	[LC_ID_SOFTWARE_VERSION] = "device.software_version",
};

int lc_settings_identity(const struct lc_config *cfg, struct lc_identity *ret)
{
	struct lc_identity_input in = {
		.sysroot = lc_config_get_string(cfg, "sysroot"),
		.info_command = lc_config_get_string(cfg, "device.info_command"),
	};
	_cleanup_strv_free_ char **errors = NULL;
	int r;

	for (int f = 0; f < _LC_ID_MAX; f++) {
		in.value[f] = lc_config_get_string(cfg, identity_keys[f]);
		in.origin[f] = lc_config_origin(cfg, identity_keys[f]);
	}
	r = lc_identity_resolve(&in, ret, &errors);
	for (char **e = errors; e && *e; e++) {
		if (r < 0)
			log_error("Device identity: %s", *e);
		else
			log_warning("Device identity: %s", *e);
	}
	if (r < 0)
		return log_error_errno(r, "Failed to determine the device identity.");
	for (int f = 0; f < _LC_ID_MAX; f++)
		log_debug("%s=%s (from %s)", lc_id_field_name(f), ret->value[f], ret->source[f]);
	return 0;
}

void lc_settings_spool_limits(const struct lc_config *cfg, struct lc_spool_limits *ret)
{
	*ret = (struct lc_spool_limits){
		.max_bytes = (uint64_t)lc_config_get_int(cfg, "spool.max_bytes"),
		.max_entries = (uint64_t)lc_config_get_int(cfg, "spool.max_entries"),
		.min_free_bytes = (uint64_t)lc_config_get_int(cfg, "spool.min_free_bytes"),
		.min_free_inodes = (uint64_t)lc_config_get_int(cfg, "spool.min_free_inodes"),
		.max_age_seconds = (uint64_t)lc_config_get_int(cfg, "spool.max_age_seconds"),
	};
}
