/* SPDX-License-Identifier: MIT */
#include <string.h>
#include <sys/un.h>

#include "build-config.h"
#include "identity.h"
#include "macro.h"
#include "schema.h"

int lc_check_absolute_path(const char *value, const char **ret_why)
{
	if (value[0] != '/') {
		*ret_why = "expected an absolute path";
		return -EINVAL;
	}
	return 0;
}

int lc_check_optional_absolute_path(const char *value, const char **ret_why)
{
	return value[0] ? lc_check_absolute_path(value, ret_why) : 0;
}

int lc_check_socket_path(const char *value, const char **ret_why)
{
	if (lc_check_absolute_path(value, ret_why) < 0)
		return -EINVAL;
	if (strlen(value) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		*ret_why = "expected a socket path shorter than 108 bytes";
		return -EINVAL;
	}
	return 0;
}

bool lc_host_is_loopback(const char *host, size_t len)
{
	static const char *const names[] = { "localhost", "[::1]" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (len == strlen(names[i]) && strncmp(host, names[i], len) == 0)
			return true;
	return len > 4 && strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") == len;
}

int lc_check_base_url(const char *value, const char **ret_why)
{
	const char *host, *end;

	if (value[0] == 0)
		return 0; /* unset: nothing is uploaded */
	if (strncmp(value, "https://", 8) == 0)
		host = value + 8;
	else if (strncmp(value, "http://", 7) == 0)
		host = value + 7;
	else {
		*ret_why = "expected an https:// URL";
		return -EINVAL;
	}
	end = host + strcspn(host, "/?#");
	if (strpbrk(host, "?#")) {
		*ret_why = "expected a URL without query or fragment";
		return -EINVAL;
	}
	/* The host without the port: an IPv6 literal keeps its brackets. */
	const char *colon = host[0] == '[' ? memchr(host, ']', (size_t)(end - host)) : host;
	size_t host_len;

	if (!colon) {
		*ret_why = "expected a closing ']' in the IPv6 address";
		return -EINVAL;
	}
	if (host[0] == '[')
		host_len = (size_t)(colon - host) + 1;
	else {
		const char *c = memchr(host, ':', (size_t)(end - host));
		host_len = (size_t)((c ? c : end) - host);
	}
	if (host_len == 0) {
		*ret_why = "expected a host name after the scheme";
		return -EINVAL;
	}
	if (value[4] == ':' && !lc_host_is_loopback(host, host_len)) {
		*ret_why = "plain http:// is accepted only for a loopback address; use https://";
		return -EINVAL;
	}
	return 0;
}

int lc_check_group_name(const char *value, const char **ret_why)
{
	if (value[0] == 0)
		return 0;
	if (strlen(value) > 32 ||
	    strspn(value, "abcdefghijklmnopqrstuvwxyz"
			  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(value) ||
	    value[0] == '-') {
		*ret_why = "expected a group name";
		return -EINVAL;
	}
	return 0;
}

static const char *const log_levels[] = { "debug", "info", "notice", "warning", "error", NULL };
static const char *const log_targets[] = { "auto", "journal", "syslog", "stderr", NULL };

static const struct lc_cfg_key core_keys[] = {
	{
		.name = "state_dir",
		.type = LC_CFG_STRING,
		.def_string = FAULTD_STATE_DIR,
		.check = lc_check_absolute_path,
		.description =
			"Directory for everything faultd keeps across restarts: the spool of "
			"entries waiting for upload, the hours ledger, markers and "
			"runtime.conf. Created (mode 0700) if missing.",
	},
	{
		.name = "control_socket",
		.type = LC_CFG_STRING,
		.def_string = FAULTD_CONTROL_SOCKET,
		.check = lc_check_socket_path,
		.description = "Unix socket on which faultctl talks to faultd. Anyone may connect "
			       "and read status; changing state needs root or control_group.",
	},
	{
		.name = "control_group",
		.type = LC_CFG_STRING,
		.def_string = "",
		.check = lc_check_group_name,
		.description = "Group whose members may change state over the control socket "
			       "(consent, developer mode), besides root. Empty: root only.",
	},
	{
		.name = "log_level",
		.type = LC_CFG_STRING,
		.def_string = "info",
		.choices = log_levels,
		.description = "Least severe message that is logged.",
	},
	{
		.name = "log_target",
		.type = LC_CFG_STRING,
		.def_string = "auto",
		.choices = log_targets,
		.description = "Where messages go. auto: the journal when started by systemd, "
			       "otherwise standard error.",
	},
	{
		.name = "sysroot",
		.type = LC_CFG_STRING,
		.def_string = "/",
		.check = lc_check_absolute_path,
		.description = "Prefix for every read of /proc, /sys, /dev and /etc that describes "
			       "the observed system, so tests and containers can point faultd at "
			       "another tree.",
	},
	{
		.name = "enable_data_collection",
		.type = LC_CFG_BOOL,
		.def_bool = false,
		.flags = LC_CFG_RUNTIME,
		.description = "Consent: nothing is recorded or uploaded until this is true. "
			       "`faultctl enable-data-collection` sets it in runtime.conf.",
	},
	{
		.name = "enable_dev_mode",
		.type = LC_CFG_BOOL,
		.def_bool = false,
		.flags = LC_CFG_RUNTIME,
		.description = "Developer mode: acts as the highest fleet sampling level and lifts "
			       "rate limits, for devices on a developer's desk. "
			       "`faultctl enable-dev-mode` sets it in runtime.conf.",
	},
	{
		.name = "upload_interval_seconds",
		.type = LC_CFG_INT,
		.def_int = 3600,
		.min = 0,
		.max = 7 * 24 * 3600,
		.description = "How often committed entries are uploaded in batches. "
			       "0: only when asked (`faultctl sync`).",
	},
	{
		.name = "heartbeat_interval_seconds",
		.type = LC_CFG_INT,
		.def_int = 3600,
		.min = 1,
		.max = 24 * 3600,
		.description = "Length of one heartbeat in operating time: the metrics and hours "
			       "aggregated on the device into one report. A crash makes its whole "
			       "interval crash time. Below 60 only for tests.",
	},
	{
		.name = "hours.checkpoint_interval_seconds",
		.type = LC_CFG_INT,
		.def_int = 300,
		.min = 1,
		.max = 3600,
		.description =
			"How often the hours ledger and the heartbeat in progress are saved once "
			"a boot is ten times as old (earlier, every tenth of the boot's age, from "
			"10 s on): at most this much operating time is lost at a power cut.",
	},
	{
		.name = "hours.crash_window_seconds",
		.type = LC_CFG_INT,
		.def_int = 3600,
		.min = 1,
		.max = 24 * 3600,
		.description = "Obsolete and ignored (a warning says where it is set): a crash "
			       "or unexpected reboot makes its whole heartbeat interval crash "
			       "time (docs/hours.md).",
	},
	{
		.name = "metrics.max_keys",
		.type = LC_CFG_INT,
		.def_int = 1000,
		.min = 1,
		.max = 10000,
		.description = "Distinct metric keys one heartbeat may hold; readings of further "
			       "keys are counted (faultd/metrics_over_key_cap) but not kept.",
	},
	{
		.name = "metrics.max_set_members",
		.type = LC_CFG_INT,
		.def_int = 16384,
		.min = 1,
		.max = 262144,
		.description = "Distinct members remembered in all sets of one heartbeat together "
			       "(8 bytes each); beyond, set counts stop growing and the excess is "
			       "counted (faultd/metrics_set_overflow).",
	},
	{
		.name = "metrics.gauge_statistics",
		.type = LC_CFG_STRV,
		.max = 64,
		.description =
			"Gauge keys (shell patterns, as in fnmatch(3), e.g. \"load/*\") that "
			"report \"<key>.min\", \"<key>.mean\" and \"<key>.max\" of the "
			"heartbeat besides their last value.",
	},
	{
		.name = "reboot_command",
		.type = LC_CFG_STRING,
		.def_string = "reboot",
		.max = 4096,
		.description = "Run with /bin/sh -c by `faultctl reboot` after the reason is "
			       "recorded, to ask the system to reboot (`reboot` is systemd's or "
			       "BusyBox's).",
	},
	{
		.name = "base_url",
		.type = LC_CFG_STRING,
		.def_string = "",
		.max = 2048,
		.check = lc_check_base_url,
		.description = "Base URL of the device API, e.g. https://device.example.com. "
			       "Plain http:// only for a loopback address. Empty: nothing is "
			       "uploaded.",
	},
	{
		.name = "project_key",
		.type = LC_CFG_STRING,
		.def_string = "",
		.max = 256,
		.flags = LC_CFG_SECRET,
		.description = "Project key sent with every request to base_url.",
	},
	{
		.name = "ca_bundle",
		.type = LC_CFG_STRING,
		.def_string = "",
		.check = lc_check_optional_absolute_path,
		.description = "PEM file of the certificate authorities trusted for base_url and "
			       "the upload URLs it hands out. Empty: the system bundle. "
			       "Verification of the certificate and the host name is always on.",
	},
	{
		.name = "upload.max_batch_bytes",
		.type = LC_CFG_INT,
		.def_int = 10 * 1024 * 1024,
		.min = 4096,
		.max = 1024 * 1024 * 1024,
		.description = "Largest batch (MAR file) sent in one request. An entry is never "
			       "split; one larger than this travels alone.",
	},
	{
		.name = "upload.connect_timeout_seconds",
		.type = LC_CFG_INT,
		.def_int = 30,
		.min = 1,
		.max = 600,
		.description = "Time allowed to connect and complete the TLS handshake.",
	},
	{
		.name = "upload.low_speed_timeout_seconds",
		.type = LC_CFG_INT,
		.def_int = 60,
		.min = 1,
		.max = 3600,
		.description = "A request that moves no byte for this long is abandoned.",
	},
	{
		.name = "upload.timeout_seconds",
		.type = LC_CFG_INT,
		.def_int = 600,
		.min = 1,
		.max = 24 * 3600,
		.description = "Longest time one request (prepare, upload or commit) may take.",
	},
	{
		.name = "upload.backoff_min_seconds",
		.type = LC_CFG_INT,
		.def_int = 60,
		.min = 1,
		.max = 24 * 3600,
		.description = "Delay before the first retry of a failed upload; it doubles with "
			       "each further failure, with random jitter.",
	},
	{
		.name = "upload.backoff_max_seconds",
		.type = LC_CFG_INT,
		.def_int = 6 * 3600,
		.min = 1,
		.max = 7 * 24 * 3600,
		.description = "Longest delay between retries, unless the server's Retry-After "
			       "asks for more (up to a day).",
	},
	{
		.name = "spool.max_bytes",
		.type = LC_CFG_INT,
		.def_int = 64 * 1024 * 1024,
		.min = 0,
		.max = INT64_C(1) << 40,
		.description = "Most bytes the spool may hold; 0: no limit. When full, the oldest "
			       "entries of the lowest value go first (metrics, then log files, "
			       "then attributes, then core files, then reboot events).",
	},
	{
		.name = "spool.max_entries",
		.type = LC_CFG_INT,
		.def_int = 20000,
		.min = 0,
		.max = 100000,
		.description = "Most entries the spool may hold; 0: no limit (100000 at most are "
			       "indexed).",
	},
	{
		.name = "spool.min_free_bytes",
		.type = LC_CFG_INT,
		.def_int = 32 * 1024 * 1024,
		.min = 0,
		.max = INT64_C(1) << 40,
		.description = "Free space to leave on the state directory's filesystem; entries "
			       "are evicted or refused to keep it. 0: no limit.",
	},
	{
		.name = "spool.min_free_inodes",
		.type = LC_CFG_INT,
		.def_int = 1000,
		.min = 0,
		.max = INT64_C(1) << 40,
		.description = "Free inodes to leave on the state directory's filesystem. "
			       "0: no limit.",
	},
	{
		.name = "spool.max_age_seconds",
		.type = LC_CFG_INT,
		.def_int = 30 * 24 * 3600,
		.min = 0,
		.max = 10LL * 365 * 24 * 3600,
		.description = "Entries older than this are dropped unsent; 0: no limit. Entries "
			       "stamped before the clock was set (before 2020) never age out.",
	},
	{
		.name = "device.serial",
		.type = LC_CFG_STRING,
		.def_string = "",
		.max = LC_ID_VALUE_MAX,
		.check = lc_id_check_serial,
		.description = "Device serial ([A-Za-z0-9_-], 1-128). Empty: from the device-info "
			       "command, then /etc/machine-id.",
	},
	{
		.name = "device.hardware_version",
		.type = LC_CFG_STRING,
		.def_string = "",
		.max = LC_ID_VALUE_MAX,
		.check = lc_id_check_type,
		.description = "Hardware version ([A-Za-z0-9_.:+-], 1-128). Empty: from the "
			       "device-info command, then the device-tree model, the DMI product "
			       "name or the machine type.",
	},
	{
		.name = "device.software_type",
		.type = LC_CFG_STRING,
		.def_string = "",
		.max = LC_ID_VALUE_MAX,
		.check = lc_id_check_type,
		.description = "Software type ([A-Za-z0-9_.:+-], 1-128). Empty: from the "
			       "device-info command, then ID in /etc/os-release.",
	},
	{
		.name = "device.software_version",
		.type = LC_CFG_STRING,
		.def_string = "",
		.max = LC_ID_VALUE_MAX,
		.check = lc_id_check_version,
		.description = "Software version ([A-Za-z0-9_.:+-], space, ( ) [ ] and \\, not /; "
			       "1-128). Empty: from the device-info command, then VERSION_ID in "
			       "/etc/os-release.",
	},
	{
		.name = "device.info_command",
		.type = LC_CFG_STRING,
		.def_string = "",
		.max = 4096,
		.description =
			"The device-info command: a shell command printing KEY=VALUE lines "
			"(DEVICE_ID, HARDWARE_VERSION, SOFTWARE_TYPE, SOFTWARE_VERSION, or "
			"the same with memfaultd's MEMFAULT_ prefix; the last line of a field "
			"wins) for the identity fields not set above. Run at start and on "
			"reload, 10 s at most. Empty: memfault-device-info if found in "
			"/usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin or /bin.",
	},
};

const struct lc_cfg_section lc_core_config_section = {
	.name = NULL,
	.keys = core_keys,
	.n_keys = ARRAY_SIZE(core_keys),
};
