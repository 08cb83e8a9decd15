/* SPDX-License-Identifier: MIT */
/*
 * The "coredump" configuration section, shared by the coredump plugin (which installs the
 * kernel's core_pattern) and faultd-core-handler (which captures the cores): both read the same
 * file, and each checks the same keys.
 */
#pragma once

#include "config.h"

extern const struct lc_cfg_section coredump_config_section;
