/* SPDX-License-Identifier: MIT */
/*
 * Device identity: validation, the device-info command's KEY=VALUE output, and the fallbacks.
 *
 * Values the operator gave (configuration, device-info command) are validated strictly and a bad
 * one is an error: silently replacing an operator's serial would split a device's history in
 * two. Values guessed from the system (machine-id, os-release, device-tree model, DMI, uname) are
 * made valid instead, because the operator never chose them.
 *
 * The device-info command is device.info_command when it is set, else memfaultd's
 * memfault-device-info when a program of that name is found in the default PATH below sysroot,
 * so a device moving from memfaultd keeps its script and its identity. Its keys may carry
 * memfaultd's MEMFAULT_ prefix: MEMFAULT_DEVICE_ID is another spelling of DEVICE_ID, and when both
 * appear the rule for a key given twice applies (the last line decides, with a warning), as it
 * does in memfaultd.
 *
 * KEY=VALUE text (device-info output and os-release) follows os-release(5): one assignment a
 * line, '#' comment lines, blank lines; a value is unquoted, "double-quoted" (backslash escapes
 * \" \\ \$ \`, any other backslash is kept) or 'single-quoted' (literal), and pieces may be
 * concatenated. Unquoted text runs to the end of the line with backslash escaping the next
 * character; its trailing blanks are dropped. A key given twice: the last line decides, and
 * when that line is invalid or empty the key counts as not given at all (for os-release, lines
 * that cannot be read are skipped).
 *
 * From the device-info command, an invalid value for a field the configuration does not set is an
 * error like an invalid configured one; an empty value ("KEY=") leaves the field to the fallbacks.
 */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "exec.h"
#include "fileio.h"
#include "identity.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"

#define SMALL_FILE_MAX	    (4 * 1024) /* machine-id, device-tree model, DMI product name */
#define OS_RELEASE_MAX	    (64 * 1024)
#define DISPLAY_MAX	    80 /* untrusted text quoted in a message */
#define DISPLAY_COMMAND_MAX 200

/* The hosted service's sets (spec/device-api.md), which memfaultd checks too. */
enum charset {
	CHARSET_SERIAL,	 /* A-Z a-z 0-9 _ - */
	CHARSET_TYPE,	 /* ... and . : + */
	CHARSET_VERSION, /* ... and space ( ) [ ] \ ; never '/' */
};

static const struct field_info {
	const char *name;	  /* JSON and message name */
	const char *config_key;	  /* configuration key that sets it */
	const char *info_key;	  /* device-info command key */
	const char *memfault_key; /* the same key as memfaultd's memfault-device-info prints it */
	const char *fallback;	  /* the fallbacks tried, for the message when none gives it */
	enum charset charset;
} fields[_LC_ID_MAX] = {
	[LC_ID_DEVICE_SERIAL] = { "device_serial", "device.serial", "DEVICE_ID",
				  "MEMFAULT_DEVICE_ID",
				  "/etc/machine-id (missing, empty or \"uninitialized\")",
				  CHARSET_SERIAL },
	[LC_ID_HARDWARE_VERSION] = { "hardware_version", "device.hardware_version",
				     "HARDWARE_VERSION", "MEMFAULT_HARDWARE_VERSION",
				     "/proc/device-tree/model, /sys/class/dmi/id/product_name and "
				     "uname (no usable value)",
				     CHARSET_TYPE },
	[LC_ID_SOFTWARE_TYPE] = { "software_type", "device.software_type", "SOFTWARE_TYPE",
				  "MEMFAULT_SOFTWARE_TYPE",
				  "ID in /etc/os-release or /usr/lib/os-release (missing or empty)",
				  CHARSET_TYPE },
	[LC_ID_SOFTWARE_VERSION] = { "software_version", "device.software_version",
				     "SOFTWARE_VERSION", "MEMFAULT_SOFTWARE_VERSION",
				     "VERSION_ID in /etc/os-release or /usr/lib/os-release "
				     "(missing or empty)",
				     CHARSET_VERSION },
};

static const char *const charset_why[] = {
	[CHARSET_SERIAL] = "expected 1-128 characters of A-Z a-z 0-9 _ -",
	[CHARSET_TYPE] = "expected 1-128 characters of A-Z a-z 0-9 _ . : + -",
	[CHARSET_VERSION] = "expected 1-128 characters of A-Z a-z 0-9 _ . : + - ( ) [ ] \\ and "
			    "space (not /)",
};

static bool char_ok(enum charset cs, unsigned char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '_' || c == '-')
		return true;
	if (cs == CHARSET_SERIAL)
		return false;
	if (c == '.' || c == ':' || c == '+')
		return true;
	if (cs == CHARSET_TYPE)
		return false;
	return c == ' ' || c == '(' || c == ')' || c == '[' || c == ']' || c == '\\';
}

static bool value_ok(enum charset cs, const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (n >= LC_ID_VALUE_MAX || !char_ok(cs, (unsigned char)s[n]))
			return false;
	return n > 0;
}

const char *lc_id_field_name(enum lc_id_field f)
{
	if ((unsigned)f >= _LC_ID_MAX)
		return NULL;
	return fields[f].name;
}

int lc_id_check(enum lc_id_field f, const char *value, const char **ret_why)
{
	if ((unsigned)f >= _LC_ID_MAX) {
		if (ret_why)
			*ret_why = "unknown identity field";
		return -EINVAL;
	}
	if (!value || !value_ok(fields[f].charset, value)) {
		if (ret_why)
			*ret_why = charset_why[fields[f].charset];
		return -EINVAL;
	}
	return 0;
}

static int check_optional(enum lc_id_field f, const char *value, const char **ret_why)
{
	if (!value || !value[0])
		return 0;
	return lc_id_check(f, value, ret_why);
}

int lc_id_check_serial(const char *value, const char **ret_why)
{
	return check_optional(LC_ID_DEVICE_SERIAL, value, ret_why);
}

int lc_id_check_type(const char *value, const char **ret_why)
{
	return check_optional(LC_ID_SOFTWARE_TYPE, value, ret_why);
}

int lc_id_check_version(const char *value, const char **ret_why)
{
	return check_optional(LC_ID_SOFTWARE_VERSION, value, ret_why);
}

/* Makes a guessed value valid in place: other characters become '_', at most 128 are kept. */
static void sanitize(enum charset cs, char *s)
{
	size_t n;

	for (n = 0; s[n] && n < LC_ID_VALUE_MAX; n++)
		if (!char_ok(cs, (unsigned char)s[n]))
			s[n] = '_';
	s[n] = 0;
}

/* ---- small string list and message helpers ---- */

/* Appends s (taking ownership, freed on failure) to the NULL-terminated list *l. */
static int list_consume(char ***l, char *s)
{
	size_t n = strv_length(*l);
	char **p;

	if (!s)
		return -ENOMEM;
	p = realloc(*l, (n + 2) * sizeof(char *));
	if (!p) {
		free(s);
		return -ENOMEM;
	}
	p[n] = s;
	p[n + 1] = NULL;
	*l = p;
	return 0;
}

static _printf_(2, 3) int list_printf(char ***l, const char *fmt, ...)
{
	char *s;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	return list_consume(l, s);
}

/* Moves every string of *from to the end of *to; *from is freed and cleared either way. */
static int list_move(char ***to, char ***from)
{
	_cleanup_strv_free_ char **src = TAKE_PTR(*from);
	size_t n = strv_length(*to), m = strv_length(src);
	char **p;

	if (m == 0)
		return 0;
	p = realloc(*to, (n + m + 1) * sizeof(char *));
	if (!p)
		return -ENOMEM;
	memcpy(p + n, src, (m + 1) * sizeof(char *));
	*to = p;
	free(TAKE_PTR(src)); /* the strings now belong to *to */
	return 0;
}

/*
 * Returns s[0..len) as printable ASCII for a message: bytes outside 0x20-0x7e escaped as \xNN,
 * and '"' and '\\' too when quoted (the text goes between double quotes), cut after max bytes
 * with "..." appended. NULL on allocation failure.
 */
static char *display(const char *s, size_t len, size_t max, bool quoted)
{
	bool cut = len > max;
	size_t n = MIN(len, max), k = 0;
	char *out = malloc(n * 4 + 4);

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (quoted && (c == '"' || c == '\\')) {
			out[k++] = '\\';
			out[k++] = (char)c;
		} else if (c < 0x20 || c > 0x7e) {
			k += (size_t)snprintf(out + k, 5, "\\x%02x", c);
		} else
			out[k++] = (char)c;
	}
	if (cut) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = 0;
	return out;
}

/* ---- KEY=VALUE text ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_key_char(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

/*
 * Unquotes the value text p[0..len) (leading blanks already skipped). Returns 0 with *ret
 * (owned), -EINVAL with *ret_why for an unterminated quote, or -ENOMEM.
 */
static int unquote(const char *p, size_t len, char **ret, const char **ret_why)
{
	_cleanup_free_ char *out = malloc(len + 1);
	size_t k = 0, keep = 0; /* keep: length without trailing unquoted blanks */
	size_t i = 0;

	if (!out)
		return -ENOMEM;
	while (i < len) {
		char c = p[i++];

		if (c == '\'') {
			while (i < len && p[i] != '\'')
				out[k++] = p[i++];
			if (i >= len) {
				*ret_why = "unterminated single quote";
				return -EINVAL;
			}
			i++;
			keep = k;
		} else if (c == '"') {
			while (i < len && p[i] != '"') {
				if (p[i] == '\\' && i + 1 < len && strchr("\"\\$`", p[i + 1]))
					i++;
				out[k++] = p[i++];
			}
			if (i >= len) {
				*ret_why = "unterminated double quote";
				return -EINVAL;
			}
			i++;
			keep = k;
		} else if (c == '\\' && i < len) {
			out[k++] = p[i++];
			keep = k;
		} else {
			out[k++] = c;
			if (!is_blank(c))
				keep = k;
		}
	}
	out[keep] = 0;
	*ret = TAKE_PTR(out);
	return 0;
}

/*
 * Called for each non-blank, non-comment line. key is NULL when the line is not KEY=VALUE;
 * value is NULL when it could not be parsed, why then says why. Returns 0 or -errno to stop.
 */
typedef int (*env_handler_t)(void *userdata, unsigned line, const char *key, const char *value,
			     const char *why, const char *text, size_t text_len);

static int env_parse(const char *text, size_t len, env_handler_t handler, void *userdata)
{
	unsigned line = 0;
	size_t pos = 0;
	int r;

	while (pos < len) {
		const char *s = text + pos, *eol = memchr(s, '\n', len - pos);
		size_t n = eol ? (size_t)(eol - s) : len - pos, k;
		_cleanup_free_ char *key = NULL, *value = NULL;
		const char *why = NULL;

		line++;
		pos += n + (eol ? 1 : 0);

		while (n > 0 && is_blank(s[n - 1])) /* also drops the '\r' of CRLF lines */
			n--;
		while (n > 0 && is_blank(*s)) {
			s++;
			n--;
		}
		if (n == 0 || *s == '#')
			continue;

		if (memchr(s, 0, n)) {
			r = handler(userdata, line, NULL, NULL, "contains a NUL byte", s, n);
			if (r < 0)
				return r;
			continue;
		}

		for (k = 0; k < n && is_key_char(s[k], k == 0); k++)
			;
		if (k == 0 || k >= n || s[k] != '=') {
			r = handler(userdata, line, NULL, NULL, "expected KEY=VALUE", s, n);
			if (r < 0)
				return r;
			continue;
		}
		key = strndup(s, k);
		if (!key)
			return -ENOMEM;
		for (k++; k < n && is_blank(s[k]); k++)
			;
		r = unquote(s + k, n - k, &value, &why);
		if (r == -ENOMEM)
			return r;
		r = handler(userdata, line, key, value, why, s, n);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- device-info output ---- */

struct info_parse {
	char *values[_LC_ID_MAX];    /* owned; the last valid line of each key */
	unsigned line[_LC_ID_MAX];   /* line of the last assignment of each key, 0: none */
	const char *key[_LC_ID_MAX]; /* its spelling (static): DEVICE_ID or MEMFAULT_DEVICE_ID */
	const char
		*invalid[_LC_ID_MAX]; /* the warning (in warnings) refusing the last assignment */
	char **warnings;	      /* owned; every problem, invalid values included */
};

static void info_parse_done(struct info_parse *ip)
{
	for (size_t f = 0; f < _LC_ID_MAX; f++)
		free(ip->values[f]);
	strv_free(ip->warnings);
	*ip = (struct info_parse){ 0 };
}

static int info_handler(void *userdata, unsigned line, const char *key, const char *value,
			const char *why, const char *text, size_t text_len)
{
	struct info_parse *ip = userdata;
	_cleanup_free_ char *shown = NULL;
	char *msg = NULL;
	size_t f;

	if (!key) {
		shown = display(text, text_len, DISPLAY_MAX, true);
		if (!shown)
			return -ENOMEM;
		return list_printf(&ip->warnings, "line %u: %s, got \"%s\", ignoring", line, why,
				   shown);
	}

	for (f = 0; f < _LC_ID_MAX; f++)
		if (streq(key, fields[f].info_key) || streq(key, fields[f].memfault_key))
			break;
	if (f == _LC_ID_MAX) {
		shown = display(key, strlen(key), DISPLAY_MAX, true);
		if (!shown)
			return -ENOMEM;
		return list_printf(&ip->warnings, "line %u: unknown key \"%s\", ignoring", line,
				   shown);
	}

	if (ip->line[f] > 0) {
		int r;

		if (streq(key, ip->key[f]))
			r = list_printf(&ip->warnings,
					"line %u: %s given again, replacing the value from line %u",
					line, key, ip->line[f]);
		else
			r = list_printf(&ip->warnings,
					"line %u: %s given after %s, replacing the value from line "
					"%u",
					line, key, ip->key[f], ip->line[f]);
		if (r < 0)
			return r;
	}
	ip->line[f] = line;
	ip->key[f] = streq(key, fields[f].info_key) ? fields[f].info_key : fields[f].memfault_key;
	free(ip->values[f]);
	ip->values[f] = NULL;
	ip->invalid[f] = NULL;

	/* "KEY=" is how a script says it does not know: the next source is asked. */
	if (value && !value[0])
		return list_printf(&ip->warnings, "line %u: %s is empty, ignoring", line, key);

	if (value && lc_id_check((enum lc_id_field)f, value, &why) >= 0) {
		ip->values[f] = strdup(value);
		return ip->values[f] ? 0 : -ENOMEM;
	}

	if (value)
		shown = display(value, strlen(value), DISPLAY_MAX, true);
	else
		shown = display(text, text_len, DISPLAY_MAX, true);
	if (!shown)
		return -ENOMEM;
	if (asprintf(&msg, "line %u: invalid %s value \"%s\": %s", line, key, shown, why) < 0)
		return -ENOMEM;
	ip->invalid[f] = msg;
	return list_consume(&ip->warnings, TAKE_PTR(msg));
}

static int info_parse_text(const char *text, size_t len, struct info_parse *ret)
{
	struct info_parse ip = { 0 };
	int r;

	r = env_parse(text, len, info_handler, &ip);
	if (r < 0) {
		info_parse_done(&ip);
		return r;
	}
	*ret = ip;
	return 0;
}

int lc_identity_parse_info(const char *text, size_t len, char *ret_values[_LC_ID_MAX],
			   char ***ret_warnings)
{
	struct info_parse ip;
	int r;

	if (!text || !ret_values)
		return -EINVAL;
	r = info_parse_text(text, len, &ip);
	if (r < 0)
		return r;
	if (ret_warnings) {
		r = list_move(ret_warnings, &ip.warnings);
		if (r < 0) {
			info_parse_done(&ip);
			return r;
		}
		memset(ip.invalid, 0, sizeof(ip.invalid)); /* they pointed into the moved list */
	}
	for (size_t f = 0; f < _LC_ID_MAX; f++)
		if (ip.values[f]) {
			free(ret_values[f]);
			ret_values[f] = TAKE_PTR(ip.values[f]);
		}
	info_parse_done(&ip);
	return 0;
}

/* ---- fallbacks ---- */

struct os_release {
	char *id, *version_id;
};

static int os_release_handler(void *userdata, unsigned line, const char *key, const char *value,
			      const char *why, const char *text, size_t text_len)
{
	struct os_release *osr = userdata;
	char **slot;

	if (!key || !value)
		return 0; /* a line we cannot read is not a reason to distrust the others */
	if (streq(key, "ID"))
		slot = &osr->id;
	else if (streq(key, "VERSION_ID"))
		slot = &osr->version_id;
	else
		return 0;
	free(*slot);
	*slot = strdup(value);
	return *slot ? 0 : -ENOMEM;
}

/* Reads sysroot + path (at most max bytes) into *ret; -ENOENT etc. when it is not a source. */
static int read_under(const char *sysroot, const char *path, size_t max, char **ret)
{
	_cleanup_free_ char *full = lc_path_prefix(sysroot, path);
	int r;

	if (!full)
		return -ENOMEM;
	r = lc_read_file(full, max, ret, NULL);
	if (r < 0 && r != -ENOENT && r != -ENOMEM)
		log_warning_errno(r, "Failed to read %s: %m, ignoring", full);
	return r;
}

/* Trims blanks and newlines from both ends of s in place and returns s. */
static char *strip(char *s)
{
	size_t n;

	while (*s && (is_blank(*s) || *s == '\n'))
		s++;
	n = strlen(s);
	while (n > 0 && (is_blank(s[n - 1]) || s[n - 1] == '\n'))
		s[--n] = 0;
	return s;
}

/*
 * Takes raw (owned) as the guessed value of a field: the text before any NUL, trimmed and
 * sanitized. Stores it with a copy of source and returns 1, or returns 0 when nothing is left.
 */
static int take_guess(struct lc_identity *id, enum lc_id_field f, char *raw, const char *source)
{
	_cleanup_free_ char *owned = raw, *v = NULL, *src = NULL;

	v = strdup(strip(owned));
	if (!v)
		return -ENOMEM;
	sanitize(fields[f].charset, v);
	if (!v[0])
		return 0;
	src = strdup(source);
	if (!src)
		return -ENOMEM;
	id->value[f] = TAKE_PTR(v);
	id->source[f] = TAKE_PTR(src);
	return 1;
}

static int guess_serial(const char *sysroot, struct lc_identity *id)
{
	char *s = NULL;
	int r;

	r = read_under(sysroot, "/etc/machine-id", SMALL_FILE_MAX, &s);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return 0;
	/* systemd writes "uninitialized" there until first boot completes: shared by every
	 * device in that state, so not an identity. */
	if (streq(strip(s), "uninitialized")) {
		free(s);
		return 0;
	}
	return take_guess(id, LC_ID_DEVICE_SERIAL, s, "/etc/machine-id");
}

static int guess_hardware(const char *sysroot, struct lc_identity *id)
{
	static const char *const paths[] = { "/proc/device-tree/model",
					     "/sys/class/dmi/id/product_name" };
	struct utsname u;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		char *s = NULL;

		r = read_under(sysroot, paths[i], SMALL_FILE_MAX, &s);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			continue;
		/* The device-tree property is a NUL-terminated string: the NUL ends it. */
		r = take_guess(id, LC_ID_HARDWARE_VERSION, s, paths[i]);
		if (r != 0)
			return r;
	}

	if (uname(&u) < 0)
		return 0;
	char *m = strdup(u.machine);
	if (!m)
		return -ENOMEM;
	return take_guess(id, LC_ID_HARDWARE_VERSION, m, "uname");
}

static int guess_software(const char *sysroot, struct lc_identity *id, bool want_type,
			  bool want_version)
{
	static const char *const paths[] = { "/etc/os-release", "/usr/lib/os-release" };
	struct os_release osr = { 0 };
	const char *path = NULL;
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(paths) && !path; i++) {
		_cleanup_free_ char *text = NULL;
		size_t size;
		_cleanup_free_ char *full = lc_path_prefix(sysroot, paths[i]);

		if (!full)
			return -ENOMEM;
		r = lc_read_file(full, OS_RELEASE_MAX, &text, &size);
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			if (r != -ENOENT)
				log_warning_errno(r, "Failed to read %s: %m, ignoring", full);
			continue;
		}
		r = env_parse(text, size, os_release_handler, &osr);
		if (r < 0)
			goto out;
		path = paths[i];
	}
	r = 0;
	if (!path)
		goto out;

	if (want_type && osr.id) {
		r = take_guess(id, LC_ID_SOFTWARE_TYPE, TAKE_PTR(osr.id), path);
		if (r < 0)
			goto out;
	}
	if (want_version && osr.version_id) {
		r = take_guess(id, LC_ID_SOFTWARE_VERSION, TAKE_PTR(osr.version_id), path);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	free(osr.id);
	free(osr.version_id);
	return r;
}

/* ---- the device-info command ---- */

#define MEMFAULT_DEVICE_INFO "memfault-device-info"

/* Where memfault-device-info is looked for, below sysroot: systemd's default PATH, then /sbin and
 * /bin for systems without a merged /usr. Fixed rather than $PATH, so the identity does not
 * depend on how the daemon happened to be started. */
static const char *const default_path[] = {
	"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin",
};

/* The device-info command to run, and how messages name it. */
struct info_command {
	char *shell;	    /* owned: the text given to /bin/sh -c */
	char *label;	    /* owned: "device-info command 'CMD'", "memfault-device-info 'PATH'" */
	const char *source; /* lc_identity.source of the values it gives */
	const char *tried;  /* its name in the list of sources tried */
};

static void info_command_done(struct info_command *ic)
{
	free(ic->shell);
	free(ic->label);
	*ic = (struct info_command){ 0 };
}

/* s in single quotes for /bin/sh, each ' written as '\''. NULL on allocation failure. */
static char *shell_quote(const char *s)
{
	size_t n = 2;
	char *out, *p;

	for (const char *c = s; *c; c++)
		n += *c == '\'' ? 4 : 1;
	out = malloc(n + 1);
	if (!out)
		return NULL;
	p = out;
	*p++ = '\'';
	for (const char *c = s; *c; c++) {
		if (*c == '\'') {
			memcpy(p, "'\\''", 4);
			p += 4;
		} else
			*p++ = *c;
	}
	*p++ = '\'';
	*p = 0;
	return out;
}

/*
 * Finds an executable regular file named memfault-device-info in default_path below sysroot.
 * Returns 1 with *ret_path (owned, sysroot included), 0 when there is none, or -ENOMEM.
 */
static int find_memfault_device_info(const char *sysroot, char **ret_path)
{
	for (size_t i = 0; i < ARRAY_SIZE(default_path); i++) {
		_cleanup_free_ char *rel = NULL, *full = NULL;
		struct stat st;

		if (asprintf(&rel, "%s/" MEMFAULT_DEVICE_INFO, default_path[i]) < 0)
			return -ENOMEM;
		full = lc_path_prefix(sysroot, rel);
		if (!full)
			return -ENOMEM;
		if (stat(full, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
			continue;
		*ret_path = TAKE_PTR(full);
		return 1;
	}
	return 0;
}

/*
 * Chooses the device-info command: device.info_command when set, else memfault-device-info when
 * found below sysroot. Returns 1 with *ret filled, 0 when there is none, or -ENOMEM.
 */
static int info_command_choose(const struct lc_identity_input *in, struct info_command *ret)
{
	_cleanup_free_ char *path = NULL, *shown = NULL;
	struct info_command ic = { 0 };
	int r;

	if (in->info_command && in->info_command[0]) {
		shown = display(in->info_command, strlen(in->info_command), DISPLAY_COMMAND_MAX,
				false);
		ic.shell = strdup(in->info_command);
		ic.source = "device-info command";
		ic.tried = "device.info_command";
		if (!shown || !ic.shell ||
		    asprintf(&ic.label, "device-info command '%s'", shown) < 0) {
			ic.label = NULL; /* undefined after a failed asprintf() */
			info_command_done(&ic);
			return -ENOMEM;
		}
		*ret = ic;
		return 1;
	}

	r = find_memfault_device_info(in->sysroot, &path);
	if (r <= 0)
		return r;
	shown = display(path, strlen(path), DISPLAY_COMMAND_MAX, false);
	ic.shell = shell_quote(path);
	ic.source = MEMFAULT_DEVICE_INFO;
	ic.tried = MEMFAULT_DEVICE_INFO;
	if (!shown || !ic.shell || asprintf(&ic.label, MEMFAULT_DEVICE_INFO " '%s'", shown) < 0) {
		ic.label = NULL;
		info_command_done(&ic);
		return -ENOMEM;
	}
	*ret = ic;
	return 1;
}

/* Runs the device-info command; 0 with *ret filled, or an error already added to *errors. */
static int run_info_command(const struct lc_identity_input *in, const struct info_command *ic,
			    struct info_parse *ret, char ***errors)
{
	unsigned timeout = in->info_timeout_ms ? in->info_timeout_ms : LC_ID_INFO_TIMEOUT_MS;
	const char *label = ic->label;
	_cleanup_free_ char *out = NULL;
	int r, status;

	r = lc_run_capture(ic->shell, timeout, LC_ID_INFO_OUTPUT_MAX, &out, &status);
	if (r == -ENOMEM)
		return r;
	if (r == -ETIMEDOUT)
		r = list_printf(errors, "%s did not finish within %u ms", label, timeout);
	else if (r == -EFBIG)
		r = list_printf(errors, "%s printed more than %u bytes", label,
				(unsigned)LC_ID_INFO_OUTPUT_MAX);
	else if (r == -EBADMSG)
		r = list_printf(errors, "%s printed a NUL byte", label);
	else if (r < 0)
		r = list_printf(errors, "%s failed: %s", label, strerror(-r));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		r = list_printf(errors, "%s exited with status %d", label, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		r = list_printf(errors, "%s was killed by signal %d", label, WTERMSIG(status));
	else if (!WIFEXITED(status))
		r = list_printf(errors, "%s ended with wait status 0x%x", label, (unsigned)status);
	else
		return info_parse_text(out, strlen(out), ret);
	/* Output of a command that failed is not trusted, not even in part. */
	return r < 0 ? r : -EIO;
}

/* ---- resolution ---- */

enum info_state {
	INFO_NONE,   /* no device-info command */
	INFO_FAILED, /* it ran and failed */
	INFO_RAN,    /* it ran; its output was read */
};

/* Adds the error for field f, which no source gave: every source tried, and what to do. */
static int add_no_source(char ***errors, enum lc_id_field f, const struct info_command *ic,
			 enum info_state state)
{
	const struct field_info *fi = &fields[f];
	const char *unset_command = "device.info_command (not set), ";
	const char *program = MEMFAULT_DEVICE_INFO;
	char outcome[80];

	if (state != INFO_NONE) {
		program = ic->tried;
		if (!streq(program, MEMFAULT_DEVICE_INFO))
			unset_command = "";
	}
	if (state == INFO_NONE)
		snprintf(outcome, sizeof(outcome), "not found");
	else if (state == INFO_FAILED)
		snprintf(outcome, sizeof(outcome), "failed");
	else
		snprintf(outcome, sizeof(outcome), "gave no %s or %s", fi->info_key,
			 fi->memfault_key);
	return list_printf(errors,
			   "no %s: tried %s (not set), %s%s (%s), %s; set %s, or have a "
			   "device-info command print %s",
			   fi->name, fi->config_key, unset_command, program, outcome, fi->fallback,
			   fi->config_key, fi->info_key);
}

static int resolve(const struct lc_identity_input *in, struct lc_identity *id, char ***errors)
{
	struct info_command ic = { 0 };
	struct info_parse ip = { 0 };
	enum info_state state = INFO_NONE;
	bool configured[_LC_ID_MAX] = { false }, failed[_LC_ID_MAX] = { false },
	     bad_info[_LC_ID_MAX] = { false };
	bool need_more = false;
	int r;

	for (size_t f = 0; f < _LC_ID_MAX; f++) {
		const char *v = in->value[f], *origin = in->origin[f], *why;
		_cleanup_free_ char *shown = NULL;

		if (!v || !v[0]) {
			need_more = true;
			continue;
		}
		configured[f] = true;
		if (lc_id_check((enum lc_id_field)f, v, &why) < 0) {
			shown = display(v, strlen(v), DISPLAY_MAX, true);
			if (!shown)
				return -ENOMEM;
			failed[f] = true;
			r = list_printf(errors, "%s%s%s%s: invalid value \"%s\": %s",
					fields[f].config_key, origin ? " (" : "",
					origin ? origin : "", origin ? ")" : "", shown, why);
			if (r < 0)
				return r;
			continue;
		}
		id->value[f] = strdup(v);
		if (!id->value[f])
			return -ENOMEM;
		if (origin) {
			if (asprintf(&id->source[f], "configuration (%s)", origin) < 0) {
				id->source[f] = NULL; /* undefined after a failed asprintf() */
				return -ENOMEM;
			}
		} else {
			id->source[f] = strdup("configuration");
			if (!id->source[f])
				return -ENOMEM;
		}
	}

	if (need_more) {
		r = info_command_choose(in, &ic);
		if (r < 0)
			return r;
		if (r > 0) {
			log_debug("Device identity: running %s.", ic.label);
			r = run_info_command(in, &ic, &ip, errors);
			if (r == -ENOMEM)
				goto out;
			state = r >= 0 ? INFO_RAN : INFO_FAILED;
		}
	}

	if (state == INFO_RAN) {
		for (size_t f = 0; f < _LC_ID_MAX; f++) {
			if (configured[f] || !ip.invalid[f])
				continue;
			/* The operator meant this value; do not quietly fall back. */
			failed[f] = bad_info[f] = true;
			r = list_printf(errors, "%s: %s", ic.label, ip.invalid[f]);
			if (r < 0)
				goto out;
		}
		/* Lines it ignored are worth knowing about, not worth refusing to start. */
		for (char **w = ip.warnings; w && *w; w++) {
			bool reported = false;

			for (size_t f = 0; f < _LC_ID_MAX; f++)
				reported = reported || (bad_info[f] && ip.invalid[f] == *w);
			if (!reported)
				log_warning("%s: %s", ic.label, *w);
		}
		for (size_t f = 0; f < _LC_ID_MAX; f++) {
			if (configured[f] || failed[f] || !ip.values[f])
				continue;
			id->value[f] = TAKE_PTR(ip.values[f]);
			id->source[f] = strdup(ic.source);
			if (!id->source[f]) {
				r = -ENOMEM;
				goto out;
			}
		}
	}

	if (!id->value[LC_ID_DEVICE_SERIAL] && !failed[LC_ID_DEVICE_SERIAL]) {
		r = guess_serial(in->sysroot, id);
		if (r < 0)
			goto out;
	}
	if (!id->value[LC_ID_HARDWARE_VERSION] && !failed[LC_ID_HARDWARE_VERSION]) {
		r = guess_hardware(in->sysroot, id);
		if (r < 0)
			goto out;
	}
	bool want_type = !id->value[LC_ID_SOFTWARE_TYPE] && !failed[LC_ID_SOFTWARE_TYPE];
	bool want_version = !id->value[LC_ID_SOFTWARE_VERSION] && !failed[LC_ID_SOFTWARE_VERSION];
	if (want_type || want_version) {
		r = guess_software(in->sysroot, id, want_type, want_version);
		if (r < 0)
			goto out;
	}

	for (size_t f = 0; f < _LC_ID_MAX; f++) {
		if (id->value[f] || failed[f])
			continue;
		failed[f] = true;
		r = add_no_source(errors, (enum lc_id_field)f, &ic, state);
		if (r < 0)
			goto out;
	}

	r = 0;
	for (size_t f = 0; f < _LC_ID_MAX; f++)
		if (failed[f])
			r = -EINVAL;
out:
	info_parse_done(&ip);
	info_command_done(&ic);
	return r;
}

int lc_identity_resolve(const struct lc_identity_input *in, struct lc_identity *ret,
			char ***ret_errors)
{
	_cleanup_strv_free_ char **errors = NULL;
	struct lc_identity id = { 0 };
	int r, k;

	if (!in || !ret)
		return -EINVAL;

	r = resolve(in, &id, &errors);
	if (ret_errors)
		k = list_move(ret_errors, &errors);
	else {
		for (char **e = errors; e && *e; e++)
			log_error("%s", *e);
		k = 0;
	}
	if (r >= 0 && k < 0)
		r = k;
	if (r < 0) {
		lc_identity_done(&id);
		return r;
	}
	*ret = id;
	return 0;
}

void lc_identity_done(struct lc_identity *id)
{
	if (!id)
		return;
	for (size_t f = 0; f < _LC_ID_MAX; f++) {
		free(id->value[f]);
		free(id->source[f]);
	}
	*id = (struct lc_identity){ 0 };
}

json_object *lc_identity_to_json(const struct lc_identity *id)
{
	json_object *o;

	if (!id)
		return NULL;
	o = json_object_new_object();
	if (!o)
		return NULL;
	/* A missing value is null rather than "", which the server would refuse anyway. */
	for (size_t f = 0; f < _LC_ID_MAX; f++)
		if (lc_json_add_string_or_null(o, fields[f].name, id->value[f]) < 0) {
			json_object_put(o);
			return NULL;
		}
	return o;
}
