/* SPDX-License-Identifier: MIT */
/*
 * Configuration: a schema (sections of typed keys with defaults, ranges and descriptions) and the
 * layered files validated against it. Layers, later ones winning key by key:
 *   built-in defaults -> main file -> <main>.d/\*.conf in lexical order -> <state_dir>/runtime.conf
 * Files are JSON with comments (see jsonc.h); nested objects are sections, so the key
 * "device.serial" is written {"device": {"serial": "..."}}. Arrays replace, never merge.
 * Every error names file, line, key, what was expected and what was found; loading reports all
 * errors of all files, not just the first.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum lc_cfg_type {
	LC_CFG_BOOL,
	LC_CFG_INT,
	LC_CFG_STRING,
	LC_CFG_STRV, /* array of strings */
};

enum {
	LC_CFG_RUNTIME = 1 << 0, /* may be set in runtime.conf (by faultctl), not only in /etc */
	LC_CFG_SECRET = 1 << 1,	 /* redacted in show-config and --print-config */
};

/* Validates one string value (or one element of a STRV); 0 or -EINVAL with *ret_why set to a
 * static phrase such as "expected an absolute path". */
typedef int (*lc_cfg_check_t)(const char *value, const char **ret_why);

struct lc_cfg_key {
	const char *name; /* within its section, may be dotted: "device.serial" */
	enum lc_cfg_type type;
	bool def_bool;
	int64_t def_int;
	const char *def_string;	     /* NULL means "" */
	const char *const *def_strv; /* NULL-terminated; NULL means empty */
	int64_t min, max;	     /* INT: inclusive range (min == max == 0: any);
				      * STRING: max is the maximum length (0: 4096);
				      * STRV: max is the maximum number of items (0: 64) */
	const char *const *choices;  /* STRING: NULL-terminated list of allowed values */
	lc_cfg_check_t check;	     /* STRING, STRV elements: extra validation */
	unsigned flags;		     /* LC_CFG_RUNTIME, LC_CFG_SECRET */
	const char *description;     /* one or more sentences, for the documented file */
};

struct lc_cfg_section {
	const char *name; /* NULL for the core keys; else the top-level object, e.g. "statsd" */
	const char *description; /* for the documented file; may be NULL for the core section */
	const struct lc_cfg_key *keys;
	size_t n_keys;
};

struct lc_config_files {
	const char *main;	    /* the main file */
	bool main_optional;	    /* the built-in default path: a missing file is not an error */
	const char *dropin_dir;	    /* NULL: "<main>.d" */
	bool skip_runtime;	    /* do not read <state_dir>/runtime.conf */
	bool skip_unknown_sections; /* top-level objects the schema does not know are skipped
				     * unchecked: for a program that reads only some sections
				     * (faultd-core-handler) of a file faultd validates whole */
};

struct lc_config;

/*
 * Loads and validates all layers. The core section must hold a STRING key "state_dir" (used to
 * find runtime.conf). On success returns 0 and *ret. On failure returns -EINVAL (or -ENOMEM) and,
 * if ret_errors is not NULL, a NULL-terminated list of every error found (owned by the caller,
 * free with strv_free()), each formatted "FILE:LINE: KEY: MESSAGE" or "FILE: MESSAGE".
 * The sections array and the tables it points to must outlive the configuration.
 */
int lc_config_load(const struct lc_cfg_section *sections, size_t n_sections,
		   const struct lc_config_files *files, struct lc_config **ret, char ***ret_errors);

/* Frees a configuration; accepts NULL and returns NULL. */
struct lc_config *lc_config_free(struct lc_config *cfg);

/* Typed getters by full dotted key ("upload_interval_seconds", "statsd.listen"). Asking for an
 * unknown key or the wrong type is a programming error and aborts. */
/* Whether cfg has key: its section was loaded (a plugin reading another plugin's setting, which
 * a build or a test may leave out). */
bool lc_config_has(const struct lc_config *cfg, const char *key);
bool lc_config_get_bool(const struct lc_config *cfg, const char *key);
int64_t lc_config_get_int(const struct lc_config *cfg, const char *key);
const char *lc_config_get_string(const struct lc_config *cfg, const char *key);
const char *const *lc_config_get_strv(const struct lc_config *cfg, const char *key);

/* Where the key's value came from: "default", or "FILE:LINE" of the file that set it last. */
const char *lc_config_origin(const struct lc_config *cfg, const char *key);

/* Why <state_dir>/runtime.conf could not be applied ("FILE:LINE: KEY: MESSAGE"), or NULL when it
 * was (or is missing). A damaged runtime.conf is not a configuration error: every runtime key is
 * off (origin "FILE (damaged: off)") until lc_config_set_runtime_bool() writes the file anew. */
const char *lc_config_runtime_damage(const struct lc_config *cfg);

/* The main file's path as given at load time. */
const char *lc_config_main_path(const struct lc_config *cfg);

/* The files that were read (main file, drop-ins, runtime.conf), in the order they were applied;
 * *ret_n may be 0 (only the built-in defaults). Borrowed from cfg. */
const char *const *lc_config_files_read(const struct lc_config *cfg, size_t *ret_n);

/*
 * Sets an LC_CFG_RUNTIME boolean key and persists every runtime-set key to
 * <state_dir>/runtime.conf atomically (see fileio.h). On failure the configuration is unchanged.
 * Returns 0, -EPERM for a key without LC_CFG_RUNTIME, or the write's -errno.
 */
int lc_config_set_runtime_bool(struct lc_config *cfg, const char *key, bool value);

/* The merged configuration as a nested JSON object; secrets are replaced by "(secret)" when
 * redact is true. With with_origin, each leaf is {"value": ..., "origin": "..."} instead. */
json_object *lc_config_to_json(const struct lc_config *cfg, bool with_origin, bool redact);

/* Prints the merged configuration as commented JSON, each value followed by "// origin". */
int lc_config_print(const struct lc_config *cfg, FILE *f);

/* Prints the documented default file: every key of every section, its description, type, range
 * and default, all commented out so that an unedited file changes nothing. */
int lc_config_print_template(const struct lc_cfg_section *sections, size_t n_sections, FILE *f);
