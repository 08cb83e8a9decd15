/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectd-parse.h"
#include "json-util.h"
#include "macro.h"
#include "text.h"

/* A table that is full is pruned at most this often, so that a flood of new keys costs one scan
 * per period rather than one per value. */
#define COLLECTD_PRUNE_INTERVAL_SEC 60

enum collectd_ds {
	COLLECTD_DS_GAUGE,
	COLLECTD_DS_DERIVE,
	COLLECTD_DS_COUNTER,
	COLLECTD_DS_ABSOLUTE,
};

static const char *const collectd_ds_names[] = {
	[COLLECTD_DS_GAUGE] = "gauge",
	[COLLECTD_DS_DERIVE] = "derive",
	[COLLECTD_DS_COUNTER] = "counter",
	[COLLECTD_DS_ABSOLUTE] = "absolute",
};

struct collectd_entry {
	struct collectd_entry *next;
	uint64_t seen_sec;
	uint64_t raw; /* a counter, or a derive's int64_t bits */
	enum collectd_ds ds;
	size_t key_len;
	char key[];
};

struct collectd_table {
	struct collectd_entry **buckets;
	size_t n_buckets; /* a power of two */
	size_t n, max;
	uint64_t max_age_sec;
	uint64_t last_prune_sec;
	bool pruned;
};

int collectd_table_new(size_t max_entries, uint64_t max_age_sec, struct collectd_table **ret)
{
	struct collectd_table *t;
	size_t nb = 16;

	/* About one entry per bucket when full; beyond 64Ki buckets, chains get longer instead. */
	while (nb < max_entries && nb < 65536)
		nb *= 2;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->buckets = calloc(nb, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return -ENOMEM;
	}
	t->n_buckets = nb;
	t->max = max_entries;
	t->max_age_sec = max_age_sec;
	*ret = t;
	return 0;
}

struct collectd_table *collectd_table_free(struct collectd_table *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n_buckets; i++)
		for (struct collectd_entry *e = t->buckets[i], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	free(t->buckets);
	free(t);
	return NULL;
}

size_t collectd_table_size(const struct collectd_table *t)
{
	return t->n;
}

size_t collectd_table_prune(struct collectd_table *t, uint64_t now_sec)
{
	size_t removed = 0;

	t->last_prune_sec = now_sec;
	t->pruned = true;
	for (size_t i = 0; i < t->n_buckets; i++)
		for (struct collectd_entry **pe = &t->buckets[i]; *pe;) {
			struct collectd_entry *e = *pe;

			if (now_sec > e->seen_sec && now_sec - e->seen_sec > t->max_age_sec) {
				*pe = e->next;
				free(e);
				removed++;
			} else {
				pe = &e->next;
			}
		}
	t->n -= removed;
	return removed;
}

/* FNV-1a: keys come from a local sender and the table is bounded, so the worst a crafted set of
 * colliding keys can do is one chain of max_entries. */
static size_t collectd_hash(const char *key, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 0x100000001b3ULL;
	}
	return (size_t)h;
}

static struct collectd_entry **collectd_table_slot(struct collectd_table *t, const char *key,
						   size_t len)
{
	struct collectd_entry **pe = &t->buckets[collectd_hash(key, len) & (t->n_buckets - 1)];

	for (; *pe; pe = &(*pe)->next)
		if ((*pe)->key_len == len && memcmp((*pe)->key, key, len) == 0)
			break;
	return pe;
}

uint64_t collectd_counter_diff(uint64_t old, uint64_t new)
{
	if (new >= old)
		return new - old;
	/* Below the previous value: the counter wrapped, at 2^32 if it was a 32-bit one. */
	if (old <= UINT32_MAX)
		return (UINT32_MAX - old) + new + 1;
	return (UINT64_MAX - old) + new + 1;
}

/* One value list, checked. */
struct collectd_list {
	size_t n;
	json_object *values;
	enum collectd_ds ds[COLLECTD_MAX_DS];
	const char *dsname[COLLECTD_MAX_DS];
	double interval; /* 0 when absent */
	char key[LC_METRIC_KEY_MAX + 1];
	size_t prefix_len; /* of key, without the dsname */
	bool single_value; /* one data source named "value": the key is the prefix alone */
};

static int _printf_(3, 4) collectd_fail(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *collectd_type_name(json_object *v)
{
	return v ? json_type_to_name(json_object_get_type(v)) : "null";
}

/* The string member name of o: NULL with *ret_len 0 when absent (optional) or an error. */
static int collectd_get_string(json_object *o, const char *name, bool required, bool nonempty,
			       const char **ret, size_t *ret_len, char *why, size_t size)
{
	json_object *v;
	const char *s;
	int len;

	*ret = NULL;
	*ret_len = 0;
	if (!json_object_object_get_ex(o, name, &v)) {
		if (required)
			return collectd_fail(why, size, "\"%s\" is missing", name);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return collectd_fail(why, size, "\"%s\": expected a string, got %s", name,
				     collectd_type_name(v));
	s = json_object_get_string(v);
	len = json_object_get_string_len(v);
	if (strlen(s) != (size_t)len)
		return collectd_fail(why, size, "\"%s\": a NUL byte in the string", name);
	if (nonempty && len == 0)
		return collectd_fail(why, size, "\"%s\": empty", name);
	*ret = s;
	*ret_len = (size_t)len;
	return 0;
}

/* The number member name of o (seconds), finite, >= 0; absent is 0 (and not an error). */
static int collectd_get_seconds(json_object *o, const char *name, double *ret, char *why,
				size_t size)
{
	json_object *v;
	double d;

	*ret = 0;
	if (!json_object_object_get_ex(o, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return collectd_fail(why, size, "\"%s\": expected a number, got %s", name,
				     collectd_type_name(v));
	d = json_object_get_double(v);
	if (!isfinite(d) || d < 0)
		return collectd_fail(why, size, "\"%s\": expected a non-negative number, got %g",
				     name, d);
	*ret = d;
	return 0;
}

/* The array member name of o holding n elements (n == 0: any number from 1 to COLLECTD_MAX_DS). */
static int collectd_get_array(json_object *o, const char *name, size_t n, json_object **ret,
			      char *why, size_t size)
{
	json_object *v;
	size_t len;

	if (!json_object_object_get_ex(o, name, &v))
		return collectd_fail(why, size, "\"%s\" is missing", name);
	if (!json_object_is_type(v, json_type_array))
		return collectd_fail(why, size, "\"%s\": expected an array, got %s", name,
				     collectd_type_name(v));
	len = json_object_array_length(v);
	if (n == 0 && (len < 1 || len > COLLECTD_MAX_DS))
		return collectd_fail(why, size, "\"%s\": expected 1 to %d elements, got %zu", name,
				     COLLECTD_MAX_DS, len);
	if (n != 0 && len != n)
		return collectd_fail(why, size, "\"%s\": %zu elements, but \"values\" has %zu",
				     name, len, n);
	*ret = v;
	return 0;
}

/* Appends len bytes of s to l->key at *pos, with a '/' first unless at the start. */
static int collectd_key_append(struct collectd_list *l, size_t *pos, const char *s, size_t len,
			       char *why, size_t size)
{
	size_t need = (*pos ? 1 : 0) + len;

	if (*pos + need > LC_METRIC_KEY_MAX)
		return collectd_fail(why, size, "the key is longer than %d bytes",
				     LC_METRIC_KEY_MAX);
	if (*pos)
		l->key[(*pos)++] = '/';
	memcpy(l->key + *pos, s, len);
	*pos += len;
	l->key[*pos] = '\0';
	return 0;
}

/* Checks value i of l for its data source, in the mode of the body. */
static int collectd_check_value(const struct collectd_list *l, size_t i, bool store_rates,
				char *why, size_t size)
{
	json_object *v = json_object_array_get_idx(l->values, i);
	enum collectd_ds ds = l->ds[i];
	double d;

	if (!v)
		return 0; /* null: NaN for collectd, skipped */
	if (ds == COLLECTD_DS_GAUGE || store_rates) {
		if (!json_object_is_type(v, json_type_int) &&
		    !json_object_is_type(v, json_type_double))
			return collectd_fail(why, size,
					     "\"values\"[%zu]: expected a number, got %s", i,
					     collectd_type_name(v));
		d = json_object_get_double(v);
		if (!isfinite(d))
			return collectd_fail(why, size, "\"values\"[%zu]: not a finite number", i);
		if (ds == COLLECTD_DS_GAUGE)
			return 0;
		if (!(l->interval > 0))
			return collectd_fail(why, size,
					     "a rate needs an \"interval\" greater than 0");
		if (!isfinite(d * l->interval))
			return collectd_fail(why, size,
					     "\"values\"[%zu]: rate × interval is not finite", i);
		return 0;
	}
	/* Raw: collectd writes integers, counters as uint64_t and derives as int64_t. */
	if (!json_object_is_type(v, json_type_int))
		return collectd_fail(why, size,
				     "\"values\"[%zu]: expected an integer for a %s, got %s", i,
				     collectd_ds_names[ds], collectd_type_name(v));
	if (ds == COLLECTD_DS_DERIVE) {
		/* json-c clamps an integer beyond int64_t; its uint64_t reading tells. */
		if (json_object_get_int64(v) == INT64_MAX && json_object_get_uint64(v) > INT64_MAX)
			return collectd_fail(why, size,
					     "\"values\"[%zu]: beyond a 64-bit signed derive", i);
		return 0;
	}
	if (json_object_get_int64(v) < 0)
		return collectd_fail(why, size, "\"values\"[%zu]: a negative %s", i,
				     collectd_ds_names[ds]);
	return 0;
}

/* Checks value list o without side effects and fills *l. Returns 0 or -EINVAL with why. */
static int collectd_check_list(json_object *o, bool store_rates, struct collectd_list *l, char *why,
			       size_t size)
{
	json_object *dstypes, *dsnames, *meta;
	const char *plugin, *plugin_instance, *type, *type_instance, *host;
	size_t plugin_len, plugin_instance_len, type_len, type_instance_len, host_len, pos = 0;
	double time;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return collectd_fail(why, size, "expected an object, got %s",
				     collectd_type_name(o));

	r = collectd_get_array(o, "values", 0, &l->values, why, size);
	if (r < 0)
		return r;
	l->n = json_object_array_length(l->values);
	r = collectd_get_array(o, "dstypes", l->n, &dstypes, why, size);
	if (r < 0)
		return r;
	r = collectd_get_array(o, "dsnames", l->n, &dsnames, why, size);
	if (r < 0)
		return r;

	r = collectd_get_string(o, "plugin", true, true, &plugin, &plugin_len, why, size);
	if (r < 0)
		return r;
	r = collectd_get_string(o, "plugin_instance", false, false, &plugin_instance,
				&plugin_instance_len, why, size);
	if (r < 0)
		return r;
	r = collectd_get_string(o, "type", true, true, &type, &type_len, why, size);
	if (r < 0)
		return r;
	r = collectd_get_string(o, "type_instance", false, false, &type_instance,
				&type_instance_len, why, size);
	if (r < 0)
		return r;
	r = collectd_get_string(o, "host", false, false, &host, &host_len, why, size);
	if (r < 0)
		return r;
	r = collectd_get_seconds(o, "time", &time, why, size);
	if (r < 0)
		return r;
	r = collectd_get_seconds(o, "interval", &l->interval, why, size);
	if (r < 0)
		return r;
	if (json_object_object_get_ex(o, "meta", &meta) &&
	    !json_object_is_type(meta, json_type_object))
		return collectd_fail(why, size, "\"meta\": expected an object, got %s",
				     collectd_type_name(meta));

	r = collectd_key_append(l, &pos, plugin, plugin_len, why, size);
	if (r >= 0 && plugin_instance_len)
		r = collectd_key_append(l, &pos, plugin_instance, plugin_instance_len, why, size);
	if (r >= 0)
		r = collectd_key_append(l, &pos, type, type_len, why, size);
	if (r >= 0 && type_instance_len)
		r = collectd_key_append(l, &pos, type_instance, type_instance_len, why, size);
	if (r < 0)
		return r;
	l->prefix_len = pos;

	for (size_t i = 0; i < l->n; i++) {
		json_object *t = json_object_array_get_idx(dstypes, i);
		json_object *name = json_object_array_get_idx(dsnames, i);
		const char *s;
		size_t k;

		if (!json_object_is_type(t, json_type_string))
			return collectd_fail(why, size,
					     "\"dstypes\"[%zu]: expected a string, got %s", i,
					     collectd_type_name(t));
		s = json_object_get_string(t);
		for (k = 0; k < ARRAY_SIZE(collectd_ds_names); k++)
			if (streq(s, collectd_ds_names[k]))
				break;
		if (k == ARRAY_SIZE(collectd_ds_names)) {
			char shown[33]; /* the start of s: the reason ends up in logs */

			return collectd_fail(
				why, size, "\"dstypes\"[%zu]: unknown data-source type \"%s\"", i,
				lc_text_printable_copy(shown, sizeof(shown), s, strlen(s)));
		}
		l->ds[i] = (enum collectd_ds)k;

		if (!json_object_is_type(name, json_type_string))
			return collectd_fail(why, size,
					     "\"dsnames\"[%zu]: expected a string, got %s", i,
					     collectd_type_name(name));
		s = json_object_get_string(name);
		if (s[0] == '\0' || strlen(s) != (size_t)json_object_get_string_len(name))
			return collectd_fail(why, size, "\"dsnames\"[%zu]: empty or holding a NUL",
					     i);
		l->dsname[i] = s;
	}
	l->single_value = l->n == 1 && streq(l->dsname[0], "value");
	if (!l->single_value)
		for (size_t i = 0; i < l->n; i++) {
			size_t end = l->prefix_len;

			r = collectd_key_append(l, &end, l->dsname[i], strlen(l->dsname[i]), why,
						size);
			if (r < 0)
				return r;
		}
	for (size_t i = 0; i < l->n; i++) {
		r = collectd_check_value(l, i, store_rates, why, size);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A raw counter or derive of key: the increase since its previous value into *ret, or false
 * when there is none to report (first value, reset, table full), counted in *res. */
static bool collectd_raw_increase(struct collectd_table *t, const char *key, size_t key_len,
				  enum collectd_ds ds, uint64_t raw, uint64_t now_sec,
				  struct collectd_result *res, double *ret)
{
	struct collectd_entry **pe = collectd_table_slot(t, key, key_len), *e = *pe;

	if (!e) {
		if (t->n >= t->max &&
		    (!t->pruned || now_sec - t->last_prune_sec >= COLLECTD_PRUNE_INTERVAL_SEC)) {
			collectd_table_prune(t, now_sec);
			pe = collectd_table_slot(t, key, key_len);
		}
		if (t->n >= t->max) {
			res->values_untracked++;
			return false;
		}
		e = malloc(sizeof(*e) + key_len);
		if (!e) {
			/* Not an error of the body: the value is simply not tracked. */
			res->values_untracked++;
			return false;
		}
		*e = (struct collectd_entry){
			.ds = ds, .raw = raw, .key_len = key_len, .seen_sec = now_sec
		};
		memcpy(e->key, key, key_len);
		*pe = e;
		t->n++;
		res->values_baseline++;
		return false;
	}
	e->seen_sec = now_sec;
	if (e->ds != ds) {
		/* The data source changed type: nothing to compare with. */
		e->ds = ds;
		e->raw = raw;
		res->values_baseline++;
		return false;
	}
	if (ds == COLLECTD_DS_COUNTER) {
		*ret = (double)collectd_counter_diff(e->raw, raw);
		e->raw = raw;
		return true;
	}
	if ((int64_t)raw < (int64_t)e->raw) {
		e->raw = raw;
		res->values_reset++;
		return false;
	}
	/* Two's complement: the difference of two int64_t with new >= old fits uint64_t. */
	*ret = (double)(raw - e->raw);
	e->raw = raw;
	return true;
}

/* Emits the readings of checked list l. */
static void collectd_emit(struct collectd_list *l, bool store_rates, struct collectd_table *t,
			  uint64_t now_sec, collectd_reading_cb_t cb, void *userdata,
			  struct collectd_result *res)
{
	for (size_t i = 0; i < l->n; i++) {
		json_object *v = json_object_array_get_idx(l->values, i);
		size_t key_len = l->prefix_len;
		double value;

		if (!v) {
			res->values_nan++;
			continue;
		}
		if (!l->single_value) {
			size_t name_len = strlen(l->dsname[i]);

			/* Lengths were checked with the list. */
			l->key[key_len++] = '/';
			memcpy(l->key + key_len, l->dsname[i], name_len);
			key_len += name_len;
		}
		if (l->ds[i] == COLLECTD_DS_GAUGE) {
			cb(userdata, l->key, key_len, LC_METRIC_GAUGE, json_object_get_double(v));
			continue;
		}
		if (store_rates) {
			value = json_object_get_double(v);
			if (value < 0) {
				res->values_reset++;
				continue;
			}
			cb(userdata, l->key, key_len, LC_METRIC_COUNTER, value * l->interval);
			continue;
		}
		if (l->ds[i] == COLLECTD_DS_ABSOLUTE) {
			cb(userdata, l->key, key_len, LC_METRIC_COUNTER,
			   (double)json_object_get_uint64(v));
			continue;
		}
		if (collectd_raw_increase(t, l->key, key_len, l->ds[i],
					  l->ds[i] == COLLECTD_DS_DERIVE
						  ? (uint64_t)json_object_get_int64(v)
						  : json_object_get_uint64(v),
					  now_sec, res, &value))
			cb(userdata, l->key, key_len, LC_METRIC_COUNTER, value);
	}
}

static bool collectd_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool collectd_is_number_char(char c)
{
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Whether the integer literal s (len bytes, optional '-', then digits) fits int64_t when
 * negative, uint64_t otherwise. */
static bool collectd_integer_fits(const char *s, size_t len)
{
	bool negative = s[0] == '-';
	const char *limit = negative ? "9223372036854775808" : "18446744073709551615";
	size_t limit_len = strlen(limit);

	if (negative) {
		s++;
		len--;
	}
	while (len > 1 && s[0] == '0') {
		s++;
		len--;
	}
	return len < limit_len || (len == limit_len && memcmp(s, limit, len) <= 0);
}

/*
 * One pass over the bytes outside strings, before json-c builds anything: the body must start
 * with '[', hold at most COLLECTD_JSON_MAX_VALUES values (1 + one per container + one per comma
 * bounds them) and no integer literal json-c would clamp.
 */
static int collectd_prescan(const char *body, size_t len, char *why, size_t size)
{
	size_t values = 1, i = 0;
	bool in_string = false;

	while (i < len && collectd_is_space(body[i]))
		i++;
	if (i == len)
		return collectd_fail(why, size, "empty body, expected a JSON array");
	if (body[i] != '[')
		return collectd_fail(why, size, "expected a JSON array, got '%c' at byte %zu",
				     lc_text_printable(body + i, 1) ? body[i] : '?', i);
	for (; i < len; i++) {
		char c = body[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{' || c == ',') {
			if (++values > COLLECTD_JSON_MAX_VALUES)
				return collectd_fail(why, size, "more than %d JSON values",
						     COLLECTD_JSON_MAX_VALUES);
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			size_t start = i;
			bool integer = true;

			while (i < len && collectd_is_number_char(body[i])) {
				if (body[i] == '.' || body[i] == 'e' || body[i] == 'E')
					integer = false;
				i++;
			}
			if (integer && !collectd_integer_fits(body + start, i - start))
				return collectd_fail(why, size,
						     "integer out of the 64-bit range at byte %zu",
						     start);
			i--;
		}
	}
	return 0;
}

/* Parses body with json-c, bounded in depth, strictly, with nothing but white space after. */
static int collectd_parse_json(const char *body, size_t len, json_object **ret, char *why,
			       size_t size)
{
	json_tokener *tok;
	json_object *root;
	enum json_tokener_error err;
	size_t end;

	if (len > INT32_MAX)
		return collectd_fail(why, size, "body too large for the JSON parser");
	tok = json_tokener_new_ex(COLLECTD_JSON_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, body, (int)len);
	err = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!root) {
		if (err == json_tokener_continue)
			return collectd_fail(why, size, "truncated JSON");
		if (err == json_tokener_error_depth)
			return collectd_fail(why, size, "JSON nested deeper than %d",
					     COLLECTD_JSON_MAX_DEPTH);
		if (err == json_tokener_success)
			return -ENOMEM; /* json-c's allocation failed */
		return collectd_fail(why, size, "invalid JSON at byte %zu: %s", end,
				     json_tokener_error_desc(err));
	}
	for (; end < len; end++)
		if (!collectd_is_space(body[end])) {
			json_object_put(root);
			return collectd_fail(why, size, "data after the JSON array at byte %zu",
					     end);
		}
	if (!json_object_is_type(root, json_type_array)) {
		json_object_put(root);
		return collectd_fail(why, size, "expected a JSON array");
	}
	*ret = root;
	return 0;
}

int collectd_parse_body(const char *body, size_t len, bool store_rates, struct collectd_table *t,
			uint64_t now_sec, collectd_reading_cb_t cb, void *userdata,
			struct collectd_result *ret, char *why, size_t why_size)
{
	_cleanup_json_ json_object *root = NULL;
	struct collectd_result res = {};
	size_t n;
	int r;

	r = collectd_prescan(body, len, why, why_size);
	if (r < 0)
		return r;
	r = collectd_parse_json(body, len, &root, why, why_size);
	if (r < 0)
		return r;

	n = json_object_array_length(root);
	for (size_t i = 0; i < n; i++) {
		struct collectd_list l = {};
		char list_why[sizeof(res.first_error) - 40];

		if (collectd_check_list(json_object_array_get_idx(root, i), store_rates, &l,
					list_why, sizeof(list_why)) < 0) {
			if (res.lists_rejected++ == 0)
				snprintf(res.first_error, sizeof(res.first_error),
					 "value list %zu: %s", i, list_why);
			continue;
		}
		res.lists_accepted++;
		collectd_emit(&l, store_rates, t, now_sec, cb, userdata, &res);
	}
	*ret = res;
	return 0;
}

/* The port after ':' at s: 0..65535, digits only. */
