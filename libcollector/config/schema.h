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

/* Whether host (len bytes, an IPv6 literal in brackets) is this machine: localhost, [::1],
 * 127.x.y.z. Plain http is only for such a receiver: a fleet's data never crosses a network
 * unencrypted. */
bool lc_host_is_loopback(const char *host, size_t len);
int lc_check_group_name(const char *value, const char **ret_why);
