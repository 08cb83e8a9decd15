/* SPDX-License-Identifier: MIT */
/* The sysmetrics plugin: CPU, load, memory, paging, filesystems, disk I/O and eMMC wear, network,
 * thermal zones and chosen processes sampled from /proc and /sys into the heartbeat's metrics. */
#pragma once

#include "plugin.h"

extern const struct lc_plugin_ops sysmetrics_plugin_ops;
