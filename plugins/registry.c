/* SPDX-License-Identifier: MIT */
#include "registry.h"
#include "build-config.h"
#include "reboot/reboot-plugin.h"
#if HAVE_SYSMETRICS
#include "sysmetrics/sysmetrics-plugin.h"
#endif
#if HAVE_COLLECTD
#include "collectd/collectd-plugin.h"
#endif
#if HAVE_STATSD
#include "statsd/statsd-plugin.h"
#endif
#if HAVE_LOGS
#include "logs/logs-plugin.h"
#endif
#if HAVE_COREDUMP
#include "coredump/coredump-plugin.h"
#endif

/* Each evidence source adds its ops table here, guarded by its build option if it has one. The
 * trailing NULL keeps the array valid whatever is compiled in. */
const struct lc_plugin_ops *const faultd_plugins[] = {
	&reboot_plugin_ops,
#if HAVE_SYSMETRICS
	&sysmetrics_plugin_ops,
#endif
#if HAVE_COLLECTD
	&collectd_plugin_ops,
#endif
#if HAVE_STATSD
	&statsd_plugin_ops,
#endif
#if HAVE_LOGS
	&logs_plugin_ops,
#endif
#if HAVE_COREDUMP
	&coredump_plugin_ops,
#endif
	NULL,
};

const size_t faultd_n_plugins = sizeof(faultd_plugins) / sizeof(faultd_plugins[0]) - 1;
