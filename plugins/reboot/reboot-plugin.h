/* SPDX-License-Identifier: MIT */
/* The reboot plugin: once per boot, a linux-reboot entry saying why the previous boot ended. */
#pragma once

#include "plugin.h"

extern const struct lc_plugin_ops reboot_plugin_ops;
