/* SPDX-License-Identifier: MIT */
/* The statsd plugin: readings sent over UDP in the statsd line protocol (DogStatsD tolerated)
 * go to the metric store of the heartbeat in progress. */
#pragma once

#include "plugin.h"

extern const struct lc_plugin_ops statsd_plugin_ops;
