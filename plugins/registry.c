/* SPDX-License-Identifier: MIT */
#include "registry.h"

/* Each evidence source adds its ops table here, guarded by its build option. The trailing NULL
 * keeps the array valid while no plugin is compiled in. */
const struct lc_plugin_ops *const faultd_plugins[] = {
	NULL,
};

const size_t faultd_n_plugins = sizeof(faultd_plugins) / sizeof(faultd_plugins[0]) - 1;
