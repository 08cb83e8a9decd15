/* SPDX-License-Identifier: MIT */
/* The plugins compiled into faultd, in start order (stopped in reverse). */
#pragma once

#include <stddef.h>

#include "plugin.h"

extern const struct lc_plugin_ops *const faultd_plugins[];
extern const size_t faultd_n_plugins;
