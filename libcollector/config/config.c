/* SPDX-License-Identifier: MIT */
/*
 * Layered configuration. Each file is parsed into a tree (jsonc.c), walked against the schema and
 * applied key by key onto the merged values; errors are collected, not returned at the first, so
 * that one run of the daemon tells the integrator everything that is wrong.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "fileio.h"
#include "json-util.h"
#include "jsonc.h"
#include "log.h"
#include "macro.h"
#include "utf8.h"

#define CFG_MAX_FILE_SIZE      (1024 * 1024)
#define CFG_MAX_DROPINS	       1024
#define CFG_MAX_ERRORS	       100
#define CFG_DEFAULT_STRING_MAX 4096
#define CFG_DEFAULT_STRV_MAX   64
#define CFG_RENDER_MAX	       40  /* a found value is shown up to this many bytes */
#define CFG_SUGGEST_MAX_LEN    128 /* longer unknown keys get no "did you mean" */
#define CFG_TEMPLATE_WIDTH     90
#define CFG_RUNTIME_FILE       "runtime.conf"
#define CFG_RUNTIME_HEADER                                                                \
	"// Written by faultctl: runtime settings (consent, developer mode). Edits are\n" \
	"// overwritten the next time faultctl changes a setting.\n"

struct cfg_value {
	const struct lc_cfg_key *key;
	char *name; /* full dotted key */
	bool b;
	int64_t i;
	char *s;
	char **strv;	  /* never NULL */
	char *origin;	  /* "default" or "FILE:LINE" */
	bool runtime;	  /* set by runtime.conf (or lc_config_set_runtime_bool()) */
	unsigned seen_at; /* line where the file being loaded set it; 0 when it has not */
};

struct lc_config {
	char *main_path;
	char *runtime_path;   /* NULL when state_dir is empty */
	char *runtime_damage; /* why runtime.conf was not applied; NULL when it was */
	char **files_read;    /* the files that were read, in order */
	size_t n_files_read;
	struct cfg_value *values;
	size_t n_values;
};

/* ---- a growing text buffer that counts lines, for messages and for generated files ---- */

struct strbuf {
	char *s;
	size_t n, alloc;
	unsigned line; /* 1-based line of the next byte appended */
	bool oom;
};

static void strbuf_done(struct strbuf *sb)
{
	free(sb->s);
	sb->s = NULL;
}

static void sb_append_len(struct strbuf *sb, const char *p, size_t len)
{
	if (sb->oom)
		return;
	if (sb->alloc - sb->n < len + 1) {
		size_t want = MAX(MAX(sb->alloc * 2, sb->n + len + 1), (size_t)64);
		char *q = realloc(sb->s, want);

		if (!q) {
			sb->oom = true;
			return;
		}
		sb->s = q;
		sb->alloc = want;
	}
	memcpy(sb->s + sb->n, p, len);
	sb->n += len;
	sb->s[sb->n] = 0;
	for (size_t i = 0; i < len; i++)
		if (p[i] == '\n')
			sb->line++;
}

static void sb_append(struct strbuf *sb, const char *s)
{
	sb_append_len(sb, s, strlen(s));
}

static _printf_(2, 3) void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		s = NULL;
		sb->oom = true;
		return;
	}
	sb_append_len(sb, s, (size_t)r);
}

static void sb_indent(struct strbuf *sb, unsigned depth)
{
	for (unsigned i = 0; i < depth; i++)
		sb_append_len(sb, "\t", 1);
}

/* Appends s as a JSON string literal; non-ASCII UTF-8 is kept as it is. */
static void sb_append_quoted(struct strbuf *sb, const char *s)
{
	sb_append_len(sb, "\"", 1);
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };
			sb_append_len(sb, esc, 2);
		} else if (c == '\n') {
			sb_append_len(sb, "\\n", 2);
		} else if (c == '\t') {
			sb_append_len(sb, "\\t", 2);
		} else if (c < 0x20) {
			sb_printf(sb, "\\u%04x", c);
		} else {
			sb_append_len(sb, p, 1);
		}
	}
	sb_append_len(sb, "\"", 1);
}

/* Cuts sb to at most max bytes plus "...", never inside a UTF-8 sequence. */
static void sb_truncate(struct strbuf *sb, size_t max)
{
	if (sb->oom || sb->n <= max)
		return;
	sb->n = lc_utf8_cut(sb->s, sb->n, max);
	sb->s[sb->n] = 0;
	sb_append(sb, "...");
}

/* ---- schema lookups ---- */

static _noreturn_ _printf_(1, 2) void config_bug(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_error("Configuration API misuse: %s", buf);
	abort();
}

static struct cfg_value *find_value(const struct lc_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_values; i++)
		if (streq(cfg->values[i].name, name))
			return &cfg->values[i];
	return NULL;
}

/* True when some known full key starts with path + ".". */
static bool is_namespace(const struct lc_config *cfg, const char *path)
{
	size_t len = strlen(path);

	for (size_t i = 0; i < cfg->n_values; i++)
		if (strncmp(cfg->values[i].name, path, len) == 0 && cfg->values[i].name[len] == '.')
			return true;
	return false;
}

static char **strv_copy(const char *const *l)
{
	_cleanup_strv_free_ char **copy = NULL;
	size_t n = 0;

	while (l && l[n])
		n++;
	copy = calloc(n + 1, sizeof(char *));
	if (!copy)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		copy[i] = strdup(l[i]);
		if (!copy[i])
			return NULL;
	}
	return TAKE_PTR(copy);
}

static void cfg_value_done(struct cfg_value *v)
{
	free(v->name);
	free(v->s);
	strv_free(v->strv);
	free(v->origin);
}

struct lc_config *lc_config_free(struct lc_config *cfg)
{
	if (!cfg)
		return NULL;
	for (size_t i = 0; i < cfg->n_values; i++)
		cfg_value_done(&cfg->values[i]);
	free(cfg->values);
	for (size_t i = 0; i < cfg->n_files_read; i++)
		free(cfg->files_read[i]);
	free(cfg->files_read);
	free(cfg->main_path);
	free(cfg->runtime_path);
	free(cfg->runtime_damage);
	free(cfg);
	return NULL;
}

static void lc_config_freep(struct lc_config **cfg)
{
	lc_config_free(*cfg);
}

static char *full_key_name(const struct lc_cfg_section *section, const struct lc_cfg_key *key)
{
	char *s;

	if (!section->name)
		return strdup(key->name);
	if (asprintf(&s, "%s.%s", section->name, key->name) < 0)
		return NULL;
	return s;
}

/* A configuration holding the schema's defaults; a malformed schema is a programming error. */
static int config_new(const struct lc_cfg_section *sections, size_t n_sections,
		      const char *main_path, struct lc_config **ret)
{
	_cleanup_(lc_config_freep) struct lc_config *cfg = NULL;
	const struct cfg_value *state_dir;
	size_t n = 0;

	for (size_t s = 0; s < n_sections; s++)
		n += sections[s].n_keys;

	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	cfg->main_path = strdup(main_path);
	cfg->values = calloc(MAX(n, (size_t)1), sizeof(struct cfg_value));
	if (!cfg->main_path || !cfg->values)
		return -ENOMEM;

	for (size_t s = 0; s < n_sections; s++)
		for (size_t k = 0; k < sections[s].n_keys; k++) {
			const struct lc_cfg_key *key = &sections[s].keys[k];
			struct cfg_value *v = &cfg->values[cfg->n_values];

			v->key = key;
			v->name = full_key_name(&sections[s], key);
			if (!v->name)
				return -ENOMEM;
			if (find_value(cfg, v->name))
				config_bug("key \"%s\" is defined twice", v->name);
			cfg->n_values++;
			v->b = key->def_bool;
			v->i = key->def_int;
			v->s = strdup(key->def_string ? key->def_string : "");
			v->strv = strv_copy(key->def_strv);
			v->origin = strdup("default");
			if (!v->s || !v->strv || !v->origin)
				return -ENOMEM;
		}

	state_dir = find_value(cfg, "state_dir");
	if (!state_dir || state_dir->key->type != LC_CFG_STRING)
		config_bug("the core section has no string key \"state_dir\"");
	*ret = TAKE_PTR(cfg);
	return 0;
}

/* ---- loading ---- */

struct loader {
	struct lc_config *cfg;
	const char *file; /* the file being applied */
	bool runtime;	  /* it is runtime.conf */
	bool skip_unknown_sections;
	char **errors; /* CFG_MAX_ERRORS + 2 slots once the first error is added */
	size_t n_errors, n_dropped;
	bool oom;
};

static _printf_(2, 3) void add_error(struct loader *ld, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	if (ld->oom)
		return;
	if (ld->n_errors >= CFG_MAX_ERRORS) {
		ld->n_dropped++;
		return;
	}
	if (!ld->errors) {
		ld->errors = calloc(CFG_MAX_ERRORS + 2, sizeof(char *));
		if (!ld->errors) {
			ld->oom = true;
			return;
		}
	}
	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		ld->oom = true;
		return;
	}
	ld->errors[ld->n_errors++] = s;
}

/* Renders a found value as it would appear in JSON, at most CFG_RENDER_MAX bytes. */
static void render_node(struct strbuf *sb, const struct lc_json_node *n)
{
	if (sb->n > CFG_RENDER_MAX) /* enough to show; do not walk a large tree */
		return;
	switch (n->type) {
	case LC_JSON_NULL:
		sb_append(sb, "null");
		break;
	case LC_JSON_BOOL:
		sb_append(sb, n->u.b ? "true" : "false");
		break;
	case LC_JSON_INT:
		sb_printf(sb, "%" PRId64, n->u.i);
		break;
	case LC_JSON_DOUBLE:
		sb_printf(sb, "%g", n->u.d);
		break;
	case LC_JSON_STRING: {
		/* Quote only a bounded prefix of a long string. */
		_cleanup_free_ char *prefix = strndup(n->u.s, CFG_RENDER_MAX + 1);

		if (!prefix) {
			sb->oom = true;
			break;
		}
		sb_append_quoted(sb, prefix);
		break;
	}
	case LC_JSON_ARRAY:
	case LC_JSON_OBJECT:
		sb_append(sb, n->type == LC_JSON_ARRAY ? "[" : "{");
		for (size_t i = 0; i < n->u.children.n && sb->n <= CFG_RENDER_MAX; i++) {
			const struct lc_json_node *c = n->u.children.items[i];

			if (i > 0)
				sb_append(sb, ", ");
			if (c->key) {
				sb_append_quoted(sb, c->key);
				sb_append(sb, ": ");
			}
			render_node(sb, c);
		}
		sb_append(sb, n->type == LC_JSON_ARRAY ? "]" : "}");
		break;
	}
}

/* Returns the rendering of n (owned by sb) for a message. */
static const char *render(struct strbuf *sb, const struct lc_json_node *n)
{
	render_node(sb, n);
	sb_truncate(sb, CFG_RENDER_MAX);
	return sb->oom ? "(out of memory)" : sb->s;
}

/* A key name from a file, shown with control characters escaped and bounded in length. */
static const char *display_key(struct strbuf *sb, const char *key)
{
	for (const char *p = key; *p && sb->n < 80; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7F)
			sb_printf(sb, "\\x%02x", c);
		else
			sb_append_len(sb, p, 1);
	}
	sb_truncate(sb, 80);
	return sb->oom ? "(out of memory)" : sb->s;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[CFG_SUGGEST_MAX_LEN + 1];

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = MIN(row[j] + 1, row[j - 1] + 1);

			row[j] = MIN(best, diag + (a[i - 1] != b[j - 1]));
			diag = up;
		}
	}
	return row[lb];
}

static void consider(const char *path, const char *candidate, size_t candidate_len,
		     size_t *best_distance, const char **best, size_t *best_len)
{
	char buf[CFG_SUGGEST_MAX_LEN + 1];
	size_t d, len = strlen(path);

	if (candidate_len > CFG_SUGGEST_MAX_LEN)
		return;
	if ((candidate_len > len ? candidate_len - len : len - candidate_len) >= *best_distance)
		return; /* the distance is at least the difference in length */
	memcpy(buf, candidate, candidate_len);
	buf[candidate_len] = 0;
	d = edit_distance(path, buf);
	if (d < *best_distance) {
		*best_distance = d;
		*best = candidate;
		*best_len = candidate_len;
	}
}

/* The known full key or namespace closest to path, if it is close enough to be a typo. */
static int suggest(const struct lc_config *cfg, const char *path, const char **ret, size_t *ret_len)
{
	size_t len = strlen(path), limit, best_distance, best_len = 0;
	const char *best = NULL;

	if (len > CFG_SUGGEST_MAX_LEN)
		return -ENOENT;
	limit = MAX((size_t)2, len / 3);
	best_distance = limit + 1;
	for (size_t i = 0; i < cfg->n_values; i++) {
		const char *name = cfg->values[i].name;

		consider(path, name, strlen(name), &best_distance, &best, &best_len);
		/* Namespaces ("statsd", "device") are candidates too. */
		for (const char *dot = strchr(name, '.'); dot; dot = strchr(dot + 1, '.'))
			consider(path, name, (size_t)(dot - name), &best_distance, &best,
				 &best_len);
	}
	if (!best)
		return -ENOENT;
	*ret = best;
	*ret_len = best_len;
	return 0;
}

static void unknown_key(struct loader *ld, const struct lc_json_node *m, const char *path)
{
	_cleanup_(strbuf_done) struct strbuf sb = {};
	const char *hint;
	size_t hint_len;

	/* Past the cap the error is dropped anyway: spare the search. */
	if (ld->n_errors < CFG_MAX_ERRORS && suggest(ld->cfg, path, &hint, &hint_len) >= 0)
		add_error(ld, "%s:%u: %s: unknown key; did you mean '%.*s'?", ld->file, m->key_line,
			  display_key(&sb, path), (int)hint_len, hint);
	else
		add_error(ld, "%s:%u: %s: unknown key", ld->file, m->key_line,
			  display_key(&sb, path));
}

static const char *expected_phrase(const struct lc_cfg_key *key, char *buf, size_t size)
{
	switch (key->type) {
	case LC_CFG_BOOL:
		return "expected a boolean";
	case LC_CFG_INT:
		if (key->min == 0 && key->max == 0)
			return "expected an integer";
		snprintf(buf, size, "expected an integer between %" PRId64 " and %" PRId64,
			 key->min, key->max);
		return buf;
	case LC_CFG_STRING:
		return "expected a string";
	case LC_CFG_STRV:
		return "expected an array of strings";
	}
	return "expected a value";
}

static void type_error(struct loader *ld, const struct cfg_value *v, const struct lc_json_node *m)
{
	_cleanup_(strbuf_done) struct strbuf sb = {};
	char buf[96];

	add_error(ld, "%s:%u: %s: %s, got %s", ld->file, m->line, v->name,
		  expected_phrase(v->key, buf, sizeof(buf)), render(&sb, m));
}

/* Checks one string (the value of a STRING key, or item > 0 of a STRV key); adds an error and
 * returns false when it is not acceptable. */
static bool check_string(struct loader *ld, const struct cfg_value *v, const struct lc_json_node *m,
			 size_t item)
{
	const struct lc_cfg_key *key = v->key;
	_cleanup_(strbuf_done) struct strbuf sb = {};
	char where[32] = "";
	size_t len = strlen(m->u.s);
	int64_t max =
		key->type == LC_CFG_STRING && key->max > 0 ? key->max : CFG_DEFAULT_STRING_MAX;
	const char *why = NULL;

	if (item > 0)
		snprintf(where, sizeof(where), "item %zu: ", item);
	if ((uint64_t)len > (uint64_t)max) {
		add_error(ld,
			  "%s:%u: %s: %sexpected a string of at most %" PRId64
			  " bytes, got %zu bytes",
			  ld->file, m->line, v->name, where, max, len);
		return false;
	}
	if (key->type == LC_CFG_STRING && key->choices) {
		bool found = false;

		for (const char *const *c = key->choices; *c; c++)
			if (streq(*c, m->u.s))
				found = true;
		if (!found) {
			_cleanup_(strbuf_done) struct strbuf list = {};

			for (const char *const *c = key->choices; *c; c++) {
				if (c != key->choices)
					sb_append(&list, ", ");
				sb_append_quoted(&list, *c);
			}
			add_error(ld, "%s:%u: %s: expected one of %s, got %s", ld->file, m->line,
				  v->name, list.oom ? "(out of memory)" : list.s, render(&sb, m));
			return false;
		}
	}
	if (key->check && key->check(m->u.s, &why) < 0) {
		add_error(ld, "%s:%u: %s: %s%s, got %s", ld->file, m->line, v->name, where,
			  why ? why : "invalid value", render(&sb, m));
		return false;
	}
	return true;
}

/* Validates the member m for v and, if it is acceptable, makes it v's value. */
static void load_leaf(struct loader *ld, struct cfg_value *v, const struct lc_json_node *m)
{
	const struct lc_cfg_key *key = v->key;
	_cleanup_strv_free_ char **strv = NULL;
	_cleanup_free_ char *s = NULL, *origin = NULL;

	if (ld->runtime && !(key->flags & LC_CFG_RUNTIME)) {
		add_error(ld, "%s:%u: %s: may not be set in %s; set it in %s instead", ld->file,
			  m->key_line, v->name, CFG_RUNTIME_FILE, ld->cfg->main_path);
		return;
	}
	if (v->seen_at > 0) {
		add_error(ld, "%s:%u: %s: duplicate key, first set at line %u", ld->file,
			  m->key_line, v->name, v->seen_at);
		return;
	}
	v->seen_at = m->key_line;

	switch (key->type) {
	case LC_CFG_BOOL:
		if (m->type != LC_JSON_BOOL)
			goto wrong_type;
		break;
	case LC_CFG_INT:
		if (m->type != LC_JSON_INT ||
		    ((key->min != 0 || key->max != 0) && (m->u.i < key->min || m->u.i > key->max)))
			goto wrong_type;
		break;
	case LC_CFG_STRING:
		if (m->type != LC_JSON_STRING)
			goto wrong_type;
		if (!check_string(ld, v, m, 0))
			return;
		s = strdup(m->u.s);
		if (!s) {
			ld->oom = true;
			return;
		}
		break;
	case LC_CFG_STRV: {
		size_t max = key->max > 0 ? (size_t)key->max : CFG_DEFAULT_STRV_MAX;
		bool ok = true;

		if (m->type != LC_JSON_ARRAY)
			goto wrong_type;
		if (m->u.children.n > max) {
			add_error(ld, "%s:%u: %s: expected at most %zu items, got %zu", ld->file,
				  m->line, v->name, max, m->u.children.n);
			return;
		}
		for (size_t i = 0; i < m->u.children.n; i++) {
			const struct lc_json_node *item = m->u.children.items[i];

			if (item->type != LC_JSON_STRING) {
				_cleanup_(strbuf_done) struct strbuf sb = {};

				add_error(ld, "%s:%u: %s: item %zu: expected a string, got %s",
					  ld->file, item->line, v->name, i + 1, render(&sb, item));
				ok = false;
			} else if (!check_string(ld, v, item, i + 1)) {
				ok = false;
			}
		}
		if (!ok)
			return;
		strv = calloc(m->u.children.n + 1, sizeof(char *));
		if (!strv) {
			ld->oom = true;
			return;
		}
		for (size_t i = 0; i < m->u.children.n; i++) {
			strv[i] = strdup(m->u.children.items[i]->u.s);
			if (!strv[i]) {
				ld->oom = true;
				return;
			}
		}
		break;
	}
	}

	if (asprintf(&origin, "%s:%u", ld->file, m->key_line) < 0) {
		origin = NULL;
		ld->oom = true;
		return;
	}
	switch (key->type) {
	case LC_CFG_BOOL:
		v->b = m->u.b;
		break;
	case LC_CFG_INT:
		v->i = m->u.i;
		break;
	case LC_CFG_STRING:
		free(v->s);
		v->s = TAKE_PTR(s);
		break;
	case LC_CFG_STRV:
		strv_free(v->strv);
		v->strv = TAKE_PTR(strv);
		break;
	}
	free(v->origin);
	v->origin = TAKE_PTR(origin);
	v->runtime = ld->runtime;
	return;
wrong_type:
	type_error(ld, v, m);
}

/* Applies the members of obj, whose own path is prefix (NULL at the top level). */
static void load_object(struct loader *ld, const struct lc_json_node *obj, const char *prefix)
{
	for (size_t k = 0; k < obj->u.children.n && !ld->oom; k++) {
		const struct lc_json_node *m = obj->u.children.items[k];
		_cleanup_free_ char *path = NULL;
		struct cfg_value *v;
		bool ns;

		if (prefix ? asprintf(&path, "%s.%s", prefix, m->key) < 0
			   : !(path = strdup(m->key))) {
			path = NULL;
			ld->oom = true;
			return;
		}
		v = find_value(ld->cfg, path);
		ns = is_namespace(ld->cfg, path);
		if (v && !(ns && m->type == LC_JSON_OBJECT)) {
			load_leaf(ld, v, m);
		} else if (ns && m->type == LC_JSON_OBJECT) {
			load_object(ld, m, path);
		} else if (!prefix && m->type == LC_JSON_OBJECT && ld->skip_unknown_sections) {
			continue; /* another program's section */
		} else if (ns) {
			_cleanup_(strbuf_done) struct strbuf sb = {};

			add_error(ld,
				  "%s:%u: %s: expected an object (a section of settings), got %s",
				  ld->file, m->line, path, render(&sb, m));
		} else {
			unknown_key(ld, m, path);
		}
	}
}

static void lc_json_node_freep(struct lc_json_node **n)
{
	lc_json_node_free(*n);
}

/* Reads, parses and applies one file; a missing optional file is skipped silently. */
static void load_file(struct loader *ld, const char *path, bool optional, bool runtime)
{
	_cleanup_(lc_json_node_freep) struct lc_json_node *root = NULL;
	_cleanup_free_ char *text = NULL;
	struct lc_json_error jerr = {};
	size_t size = 0;
	int r;

	r = lc_read_file(path, CFG_MAX_FILE_SIZE, &text, &size);
	if (r == -ENOENT && optional)
		return;
	if (r == -ENOMEM) {
		ld->oom = true;
		return;
	}
	if (r == -EFBIG) {
		add_error(ld, "%s: file too large (more than %d bytes)", path, CFG_MAX_FILE_SIZE);
		return;
	}
	if (r < 0) {
		char buf[128];

		add_error(ld, "%s: cannot read: %s", path, strerror_r(-r, buf, sizeof(buf)));
		return;
	}
	{
		char **v = realloc(ld->cfg->files_read,
				   (ld->cfg->n_files_read + 1) * sizeof(*ld->cfg->files_read));

		if (!v) {
			ld->oom = true;
			return;
		}
		ld->cfg->files_read = v;
		v[ld->cfg->n_files_read] = strdup(path);
		if (!v[ld->cfg->n_files_read]) {
			ld->oom = true;
			return;
		}
		ld->cfg->n_files_read++;
	}

	r = lc_jsonc_parse(text, size, &root, &jerr);
	if (r == -ENOMEM) {
		ld->oom = true;
		return;
	}
	if (r < 0) {
		add_error(ld, "%s:%u:%u: %s: %s", path, jerr.line, jerr.column,
			  r == -E2BIG ? "limit exceeded" : "syntax error", jerr.message);
		return;
	}
	if (root->type != LC_JSON_OBJECT) {
		_cleanup_(strbuf_done) struct strbuf sb = {};

		add_error(ld, "%s:%u: expected an object at the top level, got %s", path,
			  root->line, render(&sb, root));
	} else if (runtime && root->u.children.n == 0) {
		/* faultd writes at least the key it sets: an empty one was cut short. */
		add_error(ld, "%s:%u: no settings (faultd never writes it empty)", path,
			  root->line);
	} else {
		for (size_t i = 0; i < ld->cfg->n_values; i++)
			ld->cfg->values[i].seen_at = 0;
		ld->file = path;
		ld->runtime = runtime;
		load_object(ld, root, NULL);
		ld->file = NULL;
	}
}

static int strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Applies every regular file named "*.conf" in dir, in strcmp() order; a missing dir is fine. */
static void load_dropins(struct loader *ld, const char *dir)
{
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_strv_free_ char **names = NULL;
	size_t n = 0;
	char buf[128];

	d = opendir(dir);
	if (!d) {
		if (errno != ENOENT)
			add_error(ld, "%s: cannot open directory: %s", dir,
				  strerror_r(errno, buf, sizeof(buf)));
		return;
	}
	names = calloc(CFG_MAX_DROPINS + 1, sizeof(char *));
	if (!names) {
		ld->oom = true;
		return;
	}
	for (;;) {
		struct dirent *de;
		struct stat st;
		size_t len;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno != 0) {
				add_error(ld, "%s: cannot read directory: %s", dir,
					  strerror_r(errno, buf, sizeof(buf)));
				return;
			}
			break;
		}
		len = strlen(de->d_name);
		if (len < 5 || !streq(de->d_name + len - 5, ".conf"))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0) {
			add_error(ld, "%s/%s: cannot read: %s", dir, de->d_name,
				  strerror_r(errno, buf, sizeof(buf)));
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (n >= CFG_MAX_DROPINS) {
			add_error(ld, "%s: more than %d drop-in files", dir, CFG_MAX_DROPINS);
			return;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			ld->oom = true;
			return;
		}
		n++;
	}
	qsort(names, n, sizeof(char *), strcmp_ptr);
	for (size_t i = 0; i < n && !ld->oom; i++) {
		_cleanup_free_ char *path = NULL;

		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			path = NULL;
			ld->oom = true;
			return;
		}
		load_file(ld, path, false, false);
	}
}

/*
 * Applies runtime.conf. faultd writes it itself, atomically, so a file it cannot apply was
 * damaged (flash, a hand edit): that must not stop faultd, and must not turn data collection on
 * against a consent the file may have withdrawn. Its errors are therefore not configuration
 * errors: the first is kept as cfg->runtime_damage, and every runtime key is off, as if set so
 * by the file, until faultctl writes the file anew.
 */
static void load_runtime(struct loader *ld, const char *path)
{
	size_t n_errors = ld->n_errors, n_dropped = ld->n_dropped;

	load_file(ld, path, true, true);
	if (ld->oom || (ld->n_errors == n_errors && ld->n_dropped == n_dropped))
		return;

	ld->cfg->runtime_damage =
		n_errors < ld->n_errors ? strdup(ld->errors[n_errors]) : strdup(path);
	if (!ld->cfg->runtime_damage)
		ld->oom = true;
	while (ld->n_errors > n_errors) {
		free(ld->errors[--ld->n_errors]);
		ld->errors[ld->n_errors] = NULL;
	}
	ld->n_dropped = n_dropped;
	for (size_t i = 0; i < ld->cfg->n_values && !ld->oom; i++) {
		struct cfg_value *v = &ld->cfg->values[i];
		char *origin;

		if (!(v->key->flags & LC_CFG_RUNTIME) || v->key->type != LC_CFG_BOOL)
			continue;
		if (asprintf(&origin, "%s (damaged: off)", path) < 0) {
			ld->oom = true;
			break;
		}
		free(v->origin);
		v->origin = origin;
		v->b = false;
		v->runtime = true;
	}
}

int lc_config_load(const struct lc_cfg_section *sections, size_t n_sections,
		   const struct lc_config_files *files, struct lc_config **ret, char ***ret_errors)
{
	_cleanup_(lc_config_freep) struct lc_config *cfg = NULL;
	_cleanup_free_ char *dropin_dir = NULL;
	struct loader ld = {};
	const char *state_dir;
	int r;

	r = config_new(sections, n_sections, files->main, &cfg);
	if (r < 0)
		return r;
	ld.cfg = cfg;
	ld.skip_unknown_sections = files->skip_unknown_sections;

	load_file(&ld, files->main, files->main_optional, false);
	if (files->dropin_dir)
		dropin_dir = strdup(files->dropin_dir);
	else if (asprintf(&dropin_dir, "%s.d", files->main) < 0)
		dropin_dir = NULL;
	if (!dropin_dir)
		ld.oom = true;
	else
		load_dropins(&ld, dropin_dir);

	/* runtime.conf lives in the state directory the main file and drop-ins settled on. */
	state_dir = find_value(cfg, "state_dir")->s;
	if (state_dir[0] != 0 && !ld.oom) {
		size_t len = strlen(state_dir);

		while (len > 1 && state_dir[len - 1] == '/')
			len--;
		if (asprintf(&cfg->runtime_path, "%.*s%s%s", (int)len, state_dir,
			     state_dir[len - 1] == '/' ? "" : "/", CFG_RUNTIME_FILE) < 0) {
			cfg->runtime_path = NULL;
			ld.oom = true;
		}
	}
	if (cfg->runtime_path && !files->skip_runtime)
		load_runtime(&ld, cfg->runtime_path);

	if (ld.oom) {
		strv_free(ld.errors);
		return -ENOMEM;
	}
	if (ld.n_errors > 0) {
		if (ld.n_dropped > 0 && asprintf(&ld.errors[ld.n_errors++], "(and %zu more errors)",
						 ld.n_dropped) < 0) {
			ld.errors[--ld.n_errors] = NULL;
			strv_free(ld.errors);
			return -ENOMEM;
		}
		if (ret_errors) {
			*ret_errors = ld.errors;
		} else {
			for (size_t i = 0; i < ld.n_errors; i++)
				log_error("%s", ld.errors[i]);
			strv_free(ld.errors);
		}
		return -EINVAL;
	}
	strv_free(ld.errors); /* empty, or emptied by load_runtime() */
	if (ret_errors)
		*ret_errors = NULL;
	*ret = TAKE_PTR(cfg);
	return 0;
}

/* ---- getters ---- */

const char *lc_config_runtime_damage(const struct lc_config *cfg)
{
	return cfg->runtime_damage;
}

static const struct cfg_value *get_value(const struct lc_config *cfg, const char *key,
					 enum lc_cfg_type type, const char *func)
{
	const struct cfg_value *v = find_value(cfg, key);

	if (!v)
		config_bug("%s(): unknown key \"%s\"", func, key);
	if (v->key->type != type)
		config_bug("%s(): key \"%s\" has another type", func, key);
	return v;
}

bool lc_config_has(const struct lc_config *cfg, const char *key)
{
	return find_value(cfg, key) != NULL;
}

bool lc_config_get_bool(const struct lc_config *cfg, const char *key)
{
	return get_value(cfg, key, LC_CFG_BOOL, __func__)->b;
}

int64_t lc_config_get_int(const struct lc_config *cfg, const char *key)
{
	return get_value(cfg, key, LC_CFG_INT, __func__)->i;
}

const char *lc_config_get_string(const struct lc_config *cfg, const char *key)
{
	return get_value(cfg, key, LC_CFG_STRING, __func__)->s;
}

const char *const *lc_config_get_strv(const struct lc_config *cfg, const char *key)
{
	return (const char *const *)get_value(cfg, key, LC_CFG_STRV, __func__)->strv;
}

const char *lc_config_origin(const struct lc_config *cfg, const char *key)
{
	const struct cfg_value *v = find_value(cfg, key);

	if (!v)
		config_bug("%s(): unknown key \"%s\"", __func__, key);
	return v->origin;
}

const char *const *lc_config_files_read(const struct lc_config *cfg, size_t *ret_n)
{
	*ret_n = cfg->n_files_read;
	return (const char *const *)cfg->files_read;
}

const char *lc_config_main_path(const struct lc_config *cfg)
{
	return cfg->main_path;
}

/* ---- writing nested JSON ---- */

/* Emits one leaf: name is the last component of its path, item the caller's index. */
typedef void (*leaf_fn)(struct strbuf *sb, const char *name, size_t item, unsigned depth, bool last,
			void *userdata);

struct nest_item {
	const char *path; /* dotted, relative to the object being written */
	size_t item;
};

struct nest_writer {
	leaf_fn leaf;
	void *userdata;
	const char *prefix;    /* written before "name": { and }: "" or "// " */
	bool trailing_commas;  /* a comma after the last member too */
	const char *separator; /* written between members, NULL for nothing */
};

static bool same_group(const char *a, const char *b, size_t seg)
{
	return strncmp(a, b, seg) == 0 && a[seg] == '.' && b[seg] == '.';
}

/* Writes the members items[] at depth: leaves in order, and items sharing a first path component
 * grouped as one nested object where the first of them appears. */
static void write_nested(struct strbuf *sb, const struct nest_writer *w,
			 const struct nest_item *items, size_t n, unsigned depth)
{
	_cleanup_free_ struct nest_item *sub = NULL;
	size_t n_members = 0, written = 0;

	/* Count members first, so the last one can go without a comma. */
	for (size_t i = 0; i < n; i++) {
		const char *dot = strchr(items[i].path, '.');
		bool seen = false;

		for (size_t j = 0; dot && j < i && !seen; j++)
			seen = same_group(items[j].path, items[i].path,
					  (size_t)(dot - items[i].path));
		if (!seen)
			n_members++;
	}
	sub = calloc(MAX(n, (size_t)1), sizeof(*sub));
	if (!sub) {
		sb->oom = true;
		return;
	}
	for (size_t i = 0; i < n && !sb->oom; i++) {
		const char *dot = strchr(items[i].path, '.');
		_cleanup_free_ char *group = NULL;
		size_t seg, n_sub = 0;
		bool seen = false, last;

		if (!dot) {
			if (written > 0 && w->separator)
				sb_append(sb, w->separator);
			written++;
			w->leaf(sb, items[i].path, items[i].item, depth, written == n_members,
				w->userdata);
			continue;
		}
		seg = (size_t)(dot - items[i].path);
		for (size_t j = 0; j < i && !seen; j++)
			seen = same_group(items[j].path, items[i].path, seg);
		if (seen)
			continue;
		for (size_t j = i; j < n; j++)
			if (same_group(items[j].path, items[i].path, seg))
				sub[n_sub++] = (struct nest_item){ items[j].path + seg + 1,
								   items[j].item };
		group = strndup(items[i].path, seg);
		if (!group) {
			sb->oom = true;
			return;
		}
		if (written > 0 && w->separator)
			sb_append(sb, w->separator);
		written++;
		last = written == n_members;
		sb_indent(sb, depth);
		sb_append(sb, w->prefix);
		sb_append_quoted(sb, group);
		sb_append(sb, ": {\n");
		write_nested(sb, w, sub, n_sub, depth + 1);
		sb_indent(sb, depth);
		sb_printf(sb, "%s}%s\n", w->prefix, last && !w->trailing_commas ? "" : ",");
	}
}

struct value_view {
	enum lc_cfg_type type;
	bool b;
	int64_t i;
	const char *s;
	const char *const *strv;
};

static void sb_append_value(struct strbuf *sb, const struct value_view *v)
{
	switch (v->type) {
	case LC_CFG_BOOL:
		sb_append(sb, v->b ? "true" : "false");
		break;
	case LC_CFG_INT:
		sb_printf(sb, "%" PRId64, v->i);
		break;
	case LC_CFG_STRING:
		sb_append_quoted(sb, v->s ? v->s : "");
		break;
	case LC_CFG_STRV:
		sb_append(sb, "[");
		for (size_t k = 0; v->strv && v->strv[k]; k++) {
			if (k > 0)
				sb_append(sb, ", ");
			sb_append_quoted(sb, v->strv[k]);
		}
		sb_append(sb, "]");
		break;
	}
}

static struct value_view view_of(const struct cfg_value *v)
{
	return (struct value_view){ .type = v->key->type,
				    .b = v->b,
				    .i = v->i,
				    .s = v->s,
				    .strv = (const char *const *)v->strv };
}

/* ---- runtime.conf ---- */

struct runtime_ctx {
	const struct lc_config *cfg;
	const struct cfg_value *set; /* the key being set, with ... */
	bool set_value;		     /* ... this value */
	unsigned *lines;	     /* line of each value's member, by index in cfg->values */
};

static void runtime_leaf(struct strbuf *sb, const char *name, size_t item, unsigned depth,
			 bool last, void *userdata)
{
	struct runtime_ctx *ctx = userdata;
	const struct cfg_value *v = &ctx->cfg->values[item];
	struct value_view view = view_of(v);

	if (v == ctx->set)
		view.b = ctx->set_value;
	ctx->lines[item] = sb->line;
	sb_indent(sb, depth);
	sb_append_quoted(sb, name);
	sb_append(sb, ": ");
	sb_append_value(sb, &view);
	sb_append(sb, last ? "\n" : ",\n");
}

int lc_config_set_runtime_bool(struct lc_config *cfg, const char *key, bool value)
{
	_cleanup_(strbuf_done) struct strbuf sb = { .line = 1 };
	_cleanup_free_ struct nest_item *items = NULL;
	_cleanup_free_ unsigned *lines = NULL;
	_cleanup_strv_free_ char **origins = NULL;
	struct cfg_value *v = find_value(cfg, key);
	struct runtime_ctx ctx;
	size_t n = 0;
	int r;

	if (!v)
		return -ENOENT;
	if (!(v->key->flags & LC_CFG_RUNTIME))
		return -EPERM;
	if (v->key->type != LC_CFG_BOOL)
		return -EINVAL;
	if (!cfg->runtime_path)
		return -EINVAL; /* state_dir is empty */

	items = calloc(cfg->n_values, sizeof(*items));
	lines = calloc(cfg->n_values, sizeof(*lines));
	origins = calloc(cfg->n_values + 1, sizeof(char *));
	if (!items || !lines || !origins)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_values; i++)
		if (cfg->values[i].runtime || &cfg->values[i] == v)
			items[n++] = (struct nest_item){ cfg->values[i].name, i };

	ctx = (struct runtime_ctx){ .cfg = cfg, .set = v, .set_value = value, .lines = lines };
	sb_append(&sb, CFG_RUNTIME_HEADER "{\n");
	write_nested(&sb,
		     &(struct nest_writer){ .leaf = runtime_leaf, .userdata = &ctx, .prefix = "" },
		     items, n, 1);
	sb_append(&sb, "}\n");
	if (sb.oom)
		return -ENOMEM;

	/* Prepare every new origin before writing, so that nothing can fail after it. */
	for (size_t k = 0; k < n; k++)
		if (asprintf(&origins[k], "%s:%u", cfg->runtime_path, lines[items[k].item]) < 0) {
			origins[k] = NULL;
			return -ENOMEM;
		}

	r = lc_write_file_atomic(cfg->runtime_path, sb.s, sb.n, 0644);
	if (r < 0)
		return r;

	v->b = value;
	v->runtime = true;
	free(cfg->runtime_damage);
	cfg->runtime_damage = NULL;
	for (size_t k = 0; k < n; k++) {
		struct cfg_value *u = &cfg->values[items[k].item];

		free(u->origin);
		u->origin = TAKE_PTR(origins[k]);
	}
	return 0;
}

/* ---- showing the configuration ---- */

static json_object *value_to_json(const struct cfg_value *v, bool redact)
{
	json_object *j;

	if (redact && (v->key->flags & LC_CFG_SECRET))
		return json_object_new_string("(secret)");
	switch (v->key->type) {
	case LC_CFG_BOOL:
		return json_object_new_boolean(v->b);
	case LC_CFG_INT:
		return json_object_new_int64(v->i);
	case LC_CFG_STRING:
		return json_object_new_string(v->s);
	case LC_CFG_STRV:
		j = json_object_new_array();
		if (!j)
			return NULL;
		for (size_t k = 0; v->strv[k]; k++) {
			json_object *s = json_object_new_string(v->strv[k]);

			if (!s || json_object_array_add(j, s) < 0) {
				json_object_put(s);
				json_object_put(j);
				return NULL;
			}
		}
		return j;
	}
	return NULL;
}

/* Adds leaf under the dotted path in root, creating the objects on the way; takes leaf. */
static int json_add_path(json_object *root, const char *path, json_object *leaf)
{
	_cleanup_free_ char *copy = strdup(path);
	json_object *parent = root;
	char *seg, *dot;

	if (!copy) {
		json_object_put(leaf);
		return -ENOMEM;
	}
	for (seg = copy; (dot = strchr(seg, '.')); seg = dot + 1) {
		json_object *child;

		*dot = 0;
		if (!json_object_object_get_ex(parent, seg, &child)) {
			child = json_object_new_object();
			if (lc_json_add(parent, seg, child) < 0) {
				json_object_put(leaf);
				return -ENOMEM;
			}
		}
		if (!json_object_is_type(child, json_type_object)) { /* a key is also a namespace */
			json_object_put(leaf);
			return 0;
		}
		parent = child;
	}
	return lc_json_add(parent, seg, leaf);
}

json_object *lc_config_to_json(const struct lc_config *cfg, bool with_origin, bool redact)
{
	json_object *root = json_object_new_object();

	if (!root)
		return NULL;
	for (size_t i = 0; i < cfg->n_values; i++) {
		const struct cfg_value *v = &cfg->values[i];
		json_object *leaf = value_to_json(v, redact);

		if (leaf && with_origin) {
			json_object *wrap = json_object_new_object();

			if (lc_json_add(wrap, "value", leaf) < 0 ||
			    lc_json_add(wrap, "origin", json_object_new_string(v->origin)) < 0) {
				json_object_put(wrap);
				leaf = NULL;
			} else {
				leaf = wrap;
			}
		}
		if (!leaf || json_add_path(root, v->name, leaf) < 0) {
			json_object_put(root);
			return NULL;
		}
	}
	return root;
}

static int write_out(const struct strbuf *sb, FILE *f)
{
	if (sb->oom)
		return -ENOMEM;
	if (fwrite(sb->s, 1, sb->n, f) != sb->n || fflush(f) != 0)
		return -EIO;
	return 0;
}

static void print_leaf(struct strbuf *sb, const char *name, size_t item, unsigned depth, bool last,
		       void *userdata)
{
	const struct cfg_value *v = &((const struct lc_config *)userdata)->values[item];
	struct value_view view = view_of(v);

	if (v->key->flags & LC_CFG_SECRET)
		view = (struct value_view){ .type = LC_CFG_STRING, .s = "(secret)" };
	sb_indent(sb, depth);
	sb_append_quoted(sb, name);
	sb_append(sb, ": ");
	sb_append_value(sb, &view);
	sb_printf(sb, "%s // %s\n", last ? "" : ",", v->origin);
}

int lc_config_print(const struct lc_config *cfg, FILE *f)
{
	_cleanup_(strbuf_done) struct strbuf sb = { .line = 1 };
	_cleanup_free_ struct nest_item *items = NULL;

	items = calloc(MAX(cfg->n_values, (size_t)1), sizeof(*items));
	if (!items)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_values; i++)
		items[i] = (struct nest_item){ cfg->values[i].name, i };
	sb_append(&sb, "{\n");
	write_nested(
		&sb,
		&(struct nest_writer){ .leaf = print_leaf, .userdata = (void *)cfg, .prefix = "" },
		items, cfg->n_values, 1);
	sb_append(&sb, "}\n");
	return write_out(&sb, f);
}

/* ---- the documented template ---- */

/* Writes text as "// " comment lines at depth, wrapped at CFG_TEMPLATE_WIDTH columns (a tab
 * counts 8); a newline in text starts a new line. */
static void sb_wrap_comment(struct strbuf *sb, const char *text, unsigned depth)
{
	size_t width =
		CFG_TEMPLATE_WIDTH > depth * 8 + 3 + 20 ? CFG_TEMPLATE_WIDTH - depth * 8 - 3 : 20;
	const char *p = text;

	while (*p) {
		size_t col = 0;

		sb_indent(sb, depth);
		sb_append(sb, "//");
		while (*p == ' ')
			p++;
		while (*p && *p != '\n') {
			size_t word = strcspn(p, " \n");

			if (col > 0 && col + 1 + word > width)
				break;
			sb_append(sb, " ");
			sb_append_len(sb, p, word);
			col += (col > 0) + word;
			p += word;
			while (*p == ' ')
				p++;
		}
		if (*p == '\n')
			p++;
		sb_append(sb, "\n");
	}
}

static void sb_append_type_line(struct strbuf *sb, const struct lc_cfg_key *key)
{
	struct value_view def = { .type = key->type,
				  .b = key->def_bool,
				  .i = key->def_int,
				  .s = key->def_string,
				  .strv = key->def_strv };

	switch (key->type) {
	case LC_CFG_BOOL:
		sb_append(sb, "type: boolean");
		break;
	case LC_CFG_INT:
		sb_append(sb, "type: integer");
		if (key->min != 0 || key->max != 0)
			sb_printf(sb, ", %" PRId64 "..%" PRId64, key->min, key->max);
		break;
	case LC_CFG_STRING:
		sb_append(sb, "type: string");
		if (key->choices) {
			sb_append(sb, ", one of ");
			for (const char *const *c = key->choices; *c; c++) {
				if (c != key->choices)
					sb_append(sb, ", ");
				sb_append_quoted(sb, *c);
			}
		}
		if (key->max > 0)
			sb_printf(sb, ", at most %" PRId64 " bytes", key->max);
		break;
	case LC_CFG_STRV:
		sb_append(sb, "type: array of strings");
		if (key->max > 0)
			sb_printf(sb, ", at most %" PRId64 " items", key->max);
		break;
	}
	if (key->flags & LC_CFG_RUNTIME)
		sb_append(sb, ", may be set at run time with faultctl");
	if (key->flags & LC_CFG_SECRET)
		sb_append(sb, ", secret");
	sb_append(sb, ", default: ");
	sb_append_value(sb, &def);
}

static void template_leaf(struct strbuf *sb, const char *name, size_t item, unsigned depth,
			  bool last, void *userdata)
{
	const struct lc_cfg_key *key = &((const struct lc_cfg_section *)userdata)->keys[item];
	struct value_view def = { .type = key->type,
				  .b = key->def_bool,
				  .i = key->def_int,
				  .s = key->def_string,
				  .strv = key->def_strv };

	if (key->description)
		sb_wrap_comment(sb, key->description, depth);
	sb_indent(sb, depth);
	sb_append(sb, "// ");
	sb_append_type_line(sb, key);
	sb_append(sb, "\n");
	sb_indent(sb, depth);
	sb_append(sb, "// ");
	sb_append_quoted(sb, name);
	sb_append(sb, ": ");
	sb_append_value(sb, &def);
	sb_append(sb, ",\n");
}

static void template_section(struct strbuf *sb, const struct lc_cfg_section *section,
			     unsigned depth)
{
	_cleanup_free_ struct nest_item *items = NULL;
	struct nest_writer w = {
		.leaf = template_leaf,
		.userdata = (void *)section,
		.prefix = "// ",
		.trailing_commas = true,
		.separator = "\n",
	};

	items = calloc(MAX(section->n_keys, (size_t)1), sizeof(*items));
	if (!items) {
		sb->oom = true;
		return;
	}
	for (size_t k = 0; k < section->n_keys; k++)
		items[k] = (struct nest_item){ section->keys[k].name, k };
	write_nested(sb, &w, items, section->n_keys, depth);
}

int lc_config_print_template(const struct lc_cfg_section *sections, size_t n_sections, FILE *f)
{
	_cleanup_(strbuf_done) struct strbuf sb = { .line = 1 };
	bool first = true;

	sb_append(&sb,
		  "// Every setting is listed with its description, type and default, commented\n"
		  "// out: this file as it is changes nothing. To change a setting, uncomment it\n"
		  "// and the lines of the sections around it.\n"
		  "{\n");
	for (size_t s = 0; s < n_sections; s++) {
		const struct lc_cfg_section *section = &sections[s];

		if (!first)
			sb_append(&sb, "\n");
		first = false;
		if (section->description)
			sb_wrap_comment(&sb, section->description, 1);
		if (!section->name) {
			if (section->description)
				sb_append(&sb, "\n");
			template_section(&sb, section, 1);
			continue;
		}
		sb_append(&sb, "\t// ");
		sb_append_quoted(&sb, section->name);
		sb_append(&sb, ": {\n");
		template_section(&sb, section, 2);
		sb_append(&sb, "\t// },\n");
	}
	sb_append(&sb, "}\n");
	return write_out(&sb, f);
}
