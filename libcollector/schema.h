/* SPDX-License-Identifier: MIT */
/*
 * The core configuration schema: every key that is not a plugin's. One table drives validation,
 * `faultd --print-config` and the documented config/faultd.conf.
 */
#pragma once

#include "config.h"

extern const struct lc_cfg_section lc_core_config_section;

/* lc_cfg_check_t validators used by the core table, exported for tests and plugins. */
int lc_check_absolute_path(const char *value, const char **ret_why);
int lc_check_optional_absolute_path(const char *value, const char **ret_why);
int lc_check_socket_path(const char *value, const char **ret_why);
int lc_check_base_url(const char *value, const char **ret_why);
int lc_check_group_name(const char *value, const char **ret_why);
