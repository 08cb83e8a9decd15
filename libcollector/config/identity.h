/* SPDX-License-Identifier: MIT */
/*
 * Device identity (see spec/device-api.md): device_serial, hardware_version, software_type and
 * software_version. Each comes from, in order: the configuration, the output of the device-info
 * command (KEY=VALUE lines; device.info_command, else memfault-device-info when found below
 * sysroot), then a fallback read under sysroot (/etc/machine-id; /etc/os-release ID and
 * VERSION_ID; the device-tree model, DMI product name or machine type). Values given by the
 * operator are validated strictly; fallback values are made valid by replacing characters outside
 * the allowed set with '_' and truncating to the maximum length.
 */
#pragma once

#include <json-c/json.h>

enum lc_id_field {
	LC_ID_DEVICE_SERIAL,
	LC_ID_HARDWARE_VERSION,
	LC_ID_SOFTWARE_TYPE,
	LC_ID_SOFTWARE_VERSION,
	_LC_ID_MAX,
};

#define LC_ID_VALUE_MAX	      128
#define LC_ID_INFO_OUTPUT_MAX (64 * 1024)
#define LC_ID_INFO_TIMEOUT_MS 10000

struct lc_identity {
	char *value[_LC_ID_MAX];  /* owned */
	char *source[_LC_ID_MAX]; /* owned: "configuration (FILE:LINE)", "device-info command",
				   * "/etc/machine-id", ... */
};

struct lc_identity_input {
	const char *sysroot;		/* prefix for every fallback file; NULL or "/" */
	const char *value[_LC_ID_MAX];	/* from the configuration; NULL or "" when unset */
	const char *origin[_LC_ID_MAX]; /* where each configured value came from, for messages */
	const char *info_command;	/* run as /bin/sh -c COMMAND; NULL or "" for the default:
					 * memfault-device-info in /usr/local/sbin, /usr/local/bin,
					 * /usr/sbin, /usr/bin, /sbin or /bin below sysroot, if any */
	unsigned info_timeout_ms;	/* 0: LC_ID_INFO_TIMEOUT_MS */
};

/* "device_serial", "hardware_version", "software_type", "software_version". */
const char *lc_id_field_name(enum lc_id_field f);

/* Validates a value for a field; 0, or -EINVAL with *ret_why a static phrase. */
int lc_id_check(enum lc_id_field f, const char *value, const char **ret_why);

/* Config-schema checks (lc_cfg_check_t) that accept "" (unset) or a valid value. */
int lc_id_check_serial(const char *value, const char **ret_why);
int lc_id_check_type(const char *value, const char **ret_why); /* hardware_version too */
int lc_id_check_version(const char *value, const char **ret_why);

/*
 * Parses device-info output: KEY=VALUE lines with DEVICE_ID, HARDWARE_VERSION, SOFTWARE_TYPE,
 * SOFTWARE_VERSION, each also spelt with memfaultd's MEMFAULT_ prefix (the last line of a field
 * decides, whichever the spelling); blank lines and # comments skipped; a value may be "quoted".
 * Each value found is validated and stored in ret_values[field] (owned; fields not found stay
 * untouched). Problems (unknown key, invalid value, line without '=', a field given twice) are
 * appended to *ret_warnings as sentences naming the line number. Returns 0 or -ENOMEM.
 */
int lc_identity_parse_info(const char *text, size_t len, char *ret_values[_LC_ID_MAX],
			   char ***ret_warnings);

/*
 * Resolves all four fields. Returns 0 with *ret filled, or -EINVAL when a configured or
 * command-given value is invalid (the sentence names the key, and the configuration line or the
 * command) or a field has no source at all (the sentence lists every source tried), appending one
 * sentence per problem to *ret_errors (NULL-terminated, owned). A failing device-info command is
 * reported in *ret_errors but is not fatal by itself when the fallbacks cover every field.
 */
int lc_identity_resolve(const struct lc_identity_input *in, struct lc_identity *ret,
			char ***ret_errors);

/* Frees the strings of id and zeroes it; accepts a zeroed identity. */
void lc_identity_done(struct lc_identity *id);

/* {"device_serial": ..., ...} */
json_object *lc_identity_to_json(const struct lc_identity *id);
