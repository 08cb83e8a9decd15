/* SPDX-License-Identifier: MIT */
#include "registry.h"
#include "reboot/reboot-plugin.h"

/* Each evidence source adds its ops table here, guarded by its build option if it has one. The
 * trailing NULL keeps the array valid whatever is compiled in. */
const struct lc_plugin_ops *const faultd_plugins[] = {
	&reboot_plugin_ops,
	NULL,
};

const size_t faultd_n_plugins = sizeof(faultd_plugins) / sizeof(faultd_plugins[0]) - 1;
