/* SPDX-License-Identifier: MIT */
/* The logs plugin: syslog, the kernel log and the journal, into gzip-compressed JSON-lines files
 * committed to the spool as linux-logs entries (docs/logs.md). */
#pragma once

#include "plugin.h"

extern const struct lc_plugin_ops logs_plugin_ops;
