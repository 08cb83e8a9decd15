/* SPDX-License-Identifier: MIT */
/*
 * The coredump plugin: makes the kernel pipe the cores of crashing processes into
 * faultd-core-handler (kernel.core_pattern, written through sysroot), checks that it still does,
 * and counts crashes per process (docs/coredumps.md). It takes core_pattern only while data
 * collection is on and only when the handler is an executable file below sysroot; otherwise it
 * leaves it alone and says why (log, and its message in `faultctl status`).
 *
 * core_pattern outlives faultd on purpose: a stop leaves it in place, since the handler works
 * without faultd (and so captures faultd's own crash, or one while faultd restarts). What it
 * replaced is saved in <state_dir>/coredump-kernel.json and given back when data collection is
 * turned off, when a reload turns the plugin off, or when the handler is gone; a start with the
 * plugin off touches nothing.
 */
#pragma once

#include "plugin.h"

extern const struct lc_plugin_ops coredump_plugin_ops;
