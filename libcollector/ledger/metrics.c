/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "macro.h"
#include "metrics.h"

/*
 * Entries live in an array (iteration order, compaction at close) indexed by an open-addressing
 * table of positions. Set members are 64-bit hashes in a per-set open-addressing table; zero marks
 * an empty slot, so a member hashing to zero is stored as one.
 */

struct metric {
	char key[LC_METRIC_KEY_MAX + 1];
	uint64_t hash;
	enum lc_metric_kind kind;
	bool seen; /* a reading in the heartbeat in progress; otherwise only a gauge's base */
	bool idle; /* a base that already went through a heartbeat without readings */
	uint64_t count;
	double sum, min, max, last;
	uint64_t *members; /* sets: the table, n_slots long */
	size_t n_members, n_slots;
};

struct lc_metrics {
	struct lc_metrics_limits limits;
	const char *const *gauge_stats;
	struct metric *entries;
	size_t n, cap;
	uint32_t *table; /* positions + 1; 0 is empty */
	size_t table_size;
	size_t n_seen;
	size_t set_members; /* members in all sets */
	struct lc_metrics_counters counters;
};

static const char *const kind_names[_LC_METRIC_KIND_MAX] = {
	[LC_METRIC_COUNTER] = "counter",
	[LC_METRIC_GAUGE] = "gauge",
	[LC_METRIC_HISTOGRAM] = "histogram",
	[LC_METRIC_SET] = "set",
};

const char *lc_metric_kind_name(enum lc_metric_kind kind)
{
	return (unsigned)kind < _LC_METRIC_KIND_MAX ? kind_names[kind] : NULL;
}

int lc_metric_kind_parse(const char *s, enum lc_metric_kind *ret)
{
	static const struct {
		const char *name;
		enum lc_metric_kind kind;
	} aliases[] = {
		{ "c", LC_METRIC_COUNTER },    { "g", LC_METRIC_GAUGE },
		{ "ms", LC_METRIC_HISTOGRAM }, { "h", LC_METRIC_HISTOGRAM },
		{ "d", LC_METRIC_HISTOGRAM },  { "timer", LC_METRIC_HISTOGRAM },
		{ "s", LC_METRIC_SET },
	};

	for (unsigned k = 0; k < _LC_METRIC_KIND_MAX; k++)
		if (strcmp(s, kind_names[k]) == 0) {
			*ret = k;
			return 0;
		}
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
		if (strcmp(s, aliases[i].name) == 0) {
			*ret = aliases[i].kind;
			return 0;
		}
	return -EINVAL;
}

int lc_metric_assignment_parse(const char *s, struct lc_metric_assignment *ret,
			       const char **ret_why)
{
	struct lc_metric_assignment a = { .key = s, .kind = LC_METRIC_GAUGE };
	const char *eq = strchr(s, '='), *colon, *value;
	size_t value_len;
	char *end;

	if (!eq || eq == s) {
		*ret_why = "expected NAME=VALUE[:KIND]";
		return -EINVAL;
	}
	a.key_len = (size_t)(eq - s);
	if (a.key_len > LC_METRIC_KEY_MAX) {
		*ret_why = "NAME is longer than 128 bytes";
		return -EINVAL;
	}
	value = eq + 1;
	value_len = strlen(value);
	colon = strrchr(value, ':');
	if (colon && lc_metric_kind_parse(colon + 1, &a.kind) == 0)
		value_len = (size_t)(colon - value);
	if (value_len == 0) {
		*ret_why = "VALUE is empty";
		return -EINVAL;
	}
	if (a.kind == LC_METRIC_SET) {
		a.member = value;
		a.member_len = value_len;
		*ret = a;
		return 0;
	}
	errno = 0;
	a.value = strtod(value, &end);
	if (errno == ERANGE || end != value + value_len || !isfinite(a.value) ||
	    isspace((unsigned char)value[0])) {
		*ret_why =
			"VALUE is not a finite number (KIND is counter, gauge, histogram or set)";
		return -EINVAL;
	}
	*ret = a;
	return 0;
}

/* FNV-1a, then a final mix so that the low bits used by the tables are well spread. */
static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

int lc_metrics_new(const struct lc_metrics_limits *limits, struct lc_metrics **ret)
{
	struct lc_metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	lc_metrics_set_limits(m, limits);
	*ret = m;
	return 0;
}

static void metric_done(struct metric *e)
{
	free(e->members);
	e->members = NULL;
	e->n_members = e->n_slots = 0;
}

struct lc_metrics *lc_metrics_free(struct lc_metrics *m)
{
	if (!m)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		metric_done(&m->entries[i]);
	free(m->entries);
	free(m->table);
	free(m);
	return NULL;
}

void lc_metrics_set_limits(struct lc_metrics *m, const struct lc_metrics_limits *limits)
{
	m->limits = *limits;
	m->limits.max_keys = MAX(m->limits.max_keys, (size_t)1);
	m->limits.max_set_members = MAX(m->limits.max_set_members, (size_t)1);
}

void lc_metrics_set_gauge_stats(struct lc_metrics *m, const char *const *patterns)
{
	m->gauge_stats = patterns;
}

/* Rebuilds the position table for at least min_entries entries. Returns 0 or -ENOMEM. */
static int table_rebuild(struct lc_metrics *m, size_t min_entries)
{
	size_t size = 16;
	uint32_t *t;

	while (size < min_entries * 2)
		size *= 2;
	t = calloc(size, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < m->n; i++) {
		size_t s = m->entries[i].hash & (size - 1);

		while (t[s])
			s = (s + 1) & (size - 1);
		t[s] = (uint32_t)i + 1;
	}
	free(m->table);
	m->table = t;
	m->table_size = size;
	return 0;
}

/* The entry of key (normalised, len bytes) or NULL. */
static struct metric *lookup(const struct lc_metrics *m, const char *key, size_t len, uint64_t h)
{
	if (!m->table)
		return NULL;
	for (size_t s = h & (m->table_size - 1); m->table[s]; s = (s + 1) & (m->table_size - 1)) {
		struct metric *e = &m->entries[m->table[s] - 1];

		if (e->hash == h && strncmp(e->key, key, len) == 0 && e->key[len] == '\0')
			return e;
	}
	return NULL;
}

static bool key_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '/' || c == '-';
}

/* Copies key into buf with bytes outside the key alphabet as '_'. Returns false for an empty or
 * over-long key. */
static bool normalise_key(const char *key, size_t len, char buf[static LC_METRIC_KEY_MAX + 1])
{
	if (len == 0 || len > LC_METRIC_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		buf[i] = key_char_ok((unsigned char)key[i]) ? key[i] : '_';
	buf[len] = '\0';
	return true;
}

/* Keys the heartbeat itself holds: no reading may stand in for the hours or faultd's counters. */
static bool key_reserved(const char *key)
{
	return strncmp(key, "faultd/", 7) == 0 || strcmp(key, "operational_hours") == 0 ||
	       strcmp(key, "operational_crashfree_hours") == 0 ||
	       strcmp(key, "operational_crashes") == 0 ||
	       strncmp(key, "operational_failures/", 21) == 0 ||
	       strncmp(key, "operational_failurefree_hours/", 30) == 0;
}

/* The longest suffix the report adds to a key of kind (".count"); a gauge's statistics are
 * configured later and checked when reported. */
static size_t suffix_max(enum lc_metric_kind kind)
{
	return kind == LC_METRIC_HISTOGRAM ? strlen(".count") : 0;
}

static void metric_reset(struct metric *e, enum lc_metric_kind kind)
{
	metric_done(e);
	e->kind = kind;
	e->count = 0;
	e->sum = 0;
	e->min = INFINITY;
	e->max = -INFINITY;
}

/*
 * Finds or creates the entry that takes a reading of kind in this heartbeat, applying the key
 * rules and the cap. Returns 0 with *ret, or -EINVAL / -ENOSPC (counted) / -ENOMEM.
 */
static int entry_for(struct lc_metrics *m, const char *key, size_t key_len,
		     enum lc_metric_kind kind, struct metric **ret)
{
	char buf[LC_METRIC_KEY_MAX + 1];
	struct metric *e;
	uint64_t h;

	if (!normalise_key(key, key_len, buf) || key_reserved(buf) ||
	    key_len + suffix_max(kind) > LC_METRIC_KEY_MAX) {
		m->counters.rejected++;
		return -EINVAL;
	}
	h = hash_bytes(buf, key_len);
	e = lookup(m, buf, key_len, h);
	if (e && e->seen) {
		if (e->kind != kind) {
			m->counters.rejected++;
			return -EINVAL;
		}
		*ret = e;
		return 0;
	}
	if (m->n_seen >= m->limits.max_keys) {
		m->counters.over_key_cap++;
		return -ENOSPC;
	}
	if (!e) {
		if (m->n == m->cap) {
			size_t cap = MAX(m->cap * 2, (size_t)16);
			struct metric *a = reallocarray(m->entries, cap, sizeof(*a));

			if (!a)
				return -ENOMEM;
			m->entries = a;
			m->cap = cap;
		}
		if ((m->n + 1) * 2 > m->table_size && table_rebuild(m, m->n + 1) < 0)
			return -ENOMEM;
		e = &m->entries[m->n];
		*e = (struct metric){ .hash = h };
		memcpy(e->key, buf, key_len + 1);
		e->last = 0;
		metric_reset(e, kind);
		{
			size_t s = h & (m->table_size - 1);

			while (m->table[s])
				s = (s + 1) & (m->table_size - 1);
			m->table[s] = (uint32_t)m->n + 1;
		}
		m->n++;
	} else if (e->kind != kind) {
		/* A gauge's base from the heartbeat before: another kind takes the key over. */
		e->last = 0;
		metric_reset(e, kind);
	}
	e->seen = true;
	e->idle = false;
	m->n_seen++;
	*ret = e;
	return 0;
}

static void take_value(struct metric *e, double v)
{
	e->count++;
	e->sum += v;
	e->min = MIN(e->min, v);
	e->max = MAX(e->max, v);
	e->last = v;
}

int lc_metrics_add(struct lc_metrics *m, const char *key, size_t key_len, enum lc_metric_kind kind,
		   double value)
{
	struct metric *e;
	int r;

	if ((unsigned)kind >= _LC_METRIC_KIND_MAX || kind == LC_METRIC_SET || !isfinite(value)) {
		m->counters.rejected++;
		return -EINVAL;
	}
	r = entry_for(m, key, key_len, kind, &e);
	if (r < 0)
		return r;
	take_value(e, value);
	m->counters.readings++;
	return 0;
}

int lc_metrics_gauge_delta(struct lc_metrics *m, const char *key, size_t key_len, double delta)
{
	struct metric *e;
	double v;
	int r;

	char buf[LC_METRIC_KEY_MAX + 1];
	double base = 0;

	/* The sum is checked before the key is taken: a refused delta leaves no trace. */
	if (normalise_key(key, key_len, buf)) {
		const struct metric *b = lookup(m, buf, key_len, hash_bytes(buf, key_len));

		if (b && b->kind == LC_METRIC_GAUGE)
			base = b->last;
	}
	v = base + delta;
	if (!isfinite(delta) || !isfinite(v)) {
		m->counters.rejected++;
		return -EINVAL;
	}
	r = entry_for(m, key, key_len, LC_METRIC_GAUGE, &e);
	if (r < 0)
		return r;
	take_value(e, e->last + delta);
	m->counters.readings++;
	return 0;
}

/* Inserts hash h (non-zero) into set e, growing its table. Returns 1 when new, 0 when present,
 * -ENOSPC at the store's member cap, -ENOMEM. */
static int set_insert(struct lc_metrics *m, struct metric *e, uint64_t h)
{
	size_t s;

	if (e->n_slots) {
		for (s = h & (e->n_slots - 1); e->members[s]; s = (s + 1) & (e->n_slots - 1))
			if (e->members[s] == h)
				return 0;
	}
	if (m->set_members >= m->limits.max_set_members)
		return -ENOSPC;
	if ((e->n_members + 1) * 2 > e->n_slots) {
		size_t n_slots = MAX(e->n_slots * 2, (size_t)8);
		uint64_t *t = calloc(n_slots, sizeof(*t));

		if (!t)
			return -ENOMEM;
		for (size_t i = 0; i < e->n_slots; i++) {
			if (!e->members[i])
				continue;
			for (s = e->members[i] & (n_slots - 1); t[s]; s = (s + 1) & (n_slots - 1))
				;
			t[s] = e->members[i];
		}
		free(e->members);
		e->members = t;
		e->n_slots = n_slots;
	}
	for (s = h & (e->n_slots - 1); e->members[s]; s = (s + 1) & (e->n_slots - 1))
		;
	e->members[s] = h;
	e->n_members++;
	m->set_members++;
	return 1;
}

static int set_add_hash(struct lc_metrics *m, const char *key, size_t key_len, uint64_t h)
{
	struct metric *e;
	int r;

	r = entry_for(m, key, key_len, LC_METRIC_SET, &e);
	if (r < 0)
		return r;
	r = set_insert(m, e, h ? h : 1);
	if (r == -ENOMEM)
		return r;
	if (r == -ENOSPC)
		m->counters.set_overflow++;
	e->count++;
	m->counters.readings++;
	return 0;
}

int lc_metrics_set_add(struct lc_metrics *m, const char *key, size_t key_len, const char *member,
		       size_t member_len)
{
	return set_add_hash(m, key, key_len, hash_bytes(member, member_len));
}

int lc_metrics_kind_of(const struct lc_metrics *m, const char *key, size_t key_len,
		       enum lc_metric_kind *ret)
{
	char buf[LC_METRIC_KEY_MAX + 1];
	const struct metric *e;

	if (!normalise_key(key, key_len, buf))
		return -ENOENT;
	e = lookup(m, buf, key_len, hash_bytes(buf, key_len));
	if (!e || !e->seen)
		return -ENOENT;
	*ret = e->kind;
	return 0;
}

size_t lc_metrics_n_keys(const struct lc_metrics *m)
{
	return m->n_seen;
}

void lc_metrics_counters(const struct lc_metrics *m, struct lc_metrics_counters *ret)
{
	*ret = m->counters;
}

/* A number as short as its information allows: integers exactly, others to 7 significant
 * digits (a heartbeat is read by people and charts, and every byte is uploaded). */
static json_object *number_new(double v)
{
	char buf[32];

	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		return json_object_new_int64((int64_t)v);
	snprintf(buf, sizeof(buf), "%.7g", v);
	return json_object_new_double_s(v, buf);
}

/* Adds "<key><suffix>": v to o, unless v is not finite (a sum that overflowed), the name is over
 * LC_METRIC_KEY_MAX or already taken (a gauge "x" with statistics and a key "x.min"): those are
 * left out and counted in *skipped. */
static int add_number(json_object *o, const struct metric *e, const char *suffix, double v,
		      uint64_t *skipped)
{
	char name[LC_METRIC_KEY_MAX + 16];
	int n;

	if (!isfinite(v))
		return 0;
	n = snprintf(name, sizeof(name), "%s%s", e->key, suffix);
	if (n < 0 || (size_t)n > LC_METRIC_KEY_MAX || json_object_object_get_ex(o, name, NULL)) {
		(*skipped)++;
		return 0;
	}
	return lc_json_add(o, name, number_new(v));
}

static bool gauge_stats_wanted(const struct lc_metrics *m, const char *key)
{
	for (const char *const *p = m->gauge_stats; p && *p; p++)
		if (fnmatch(*p, key, 0) == 0)
			return true;
	return false;
}

static int metric_report(const struct lc_metrics *m, const struct metric *e, json_object *o,
			 uint64_t *skipped)
{
	const struct {
		const char *suffix;
		double value;
	} h[] = {
		{ ".count", (double)e->count },
		{ ".sum", e->sum },
		{ ".min", e->min },
		{ ".max", e->max },
		{ ".mean", e->sum / (double)e->count },
	};
	int r = 0;

	switch (e->kind) {
	case LC_METRIC_COUNTER:
		return add_number(o, e, "", e->sum, skipped);
	case LC_METRIC_GAUGE:
		r = add_number(o, e, "", e->last, skipped);
		if (r < 0 || !gauge_stats_wanted(m, e->key))
			return r;
		for (size_t i = 2; r >= 0 && i < ARRAY_SIZE(h); i++)
			r = add_number(o, e, h[i].suffix, h[i].value, skipped);
		return r;
	case LC_METRIC_HISTOGRAM:
		for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(h); i++)
			r = add_number(o, e, h[i].suffix, h[i].value, skipped);
		return r;
	case LC_METRIC_SET:
		return add_number(o, e, "", (double)e->n_members, skipped);
	default:
		return 0;
	}
}

/* Adds the counters of readings the store did not take, when there were any. */
static int add_counters(const struct lc_metrics_counters *c, json_object *o)
{
	const struct {
		const char *key;
		uint64_t n;
	} counters[] = {
		{ "faultd/metrics_over_key_cap", c->over_key_cap },
		{ "faultd/metrics_rejected", c->rejected },
		{ "faultd/metrics_set_overflow", c->set_overflow },
	};

	for (size_t i = 0; i < ARRAY_SIZE(counters); i++)
		if (counters[i].n && lc_json_add(o, counters[i].key,
						 json_object_new_int64((int64_t)counters[i].n)) < 0)
			return -ENOMEM;
	return 0;
}

int lc_metrics_roll(struct lc_metrics *m, json_object *metrics)
{
	size_t kept = 0;

	struct lc_metrics_counters c = m->counters;

	/* Entries are reported in the order they were created, so of two colliding names the
	 * older key's wins. Nothing is changed until every aggregate is in. */
	for (size_t i = 0; i < m->n; i++)
		if (m->entries[i].seen && m->entries[i].count > 0 &&
		    metric_report(m, &m->entries[i], metrics, &c.rejected) < 0)
			return -ENOMEM;
	if (add_counters(&c, metrics) < 0)
		return -ENOMEM;

	/* Gauges stay as bases for deltas through one heartbeat without readings; the rest go. */
	for (size_t i = 0; i < m->n; i++) {
		struct metric *e = &m->entries[i];

		if (e->kind == LC_METRIC_GAUGE && (e->seen || !e->idle)) {
			double last = e->last;

			e->idle = !e->seen;
			metric_reset(e, LC_METRIC_GAUGE);
			e->last = last;
			e->seen = false;
			m->entries[kept++] = *e;
		} else {
			metric_done(e);
		}
	}
	m->n = kept;
	m->n_seen = 0;
	m->set_members = 0;
	m->counters = (struct lc_metrics_counters){};
	/* Shrinking cannot fail the way growing can; on OOM the old, larger table still fits. */
	if (table_rebuild(m, m->n) < 0) {
		memset(m->table, 0, m->table_size * sizeof(*m->table));
		for (size_t i = 0; i < m->n; i++) {
			size_t s = m->entries[i].hash & (m->table_size - 1);

			while (m->table[s])
				s = (s + 1) & (m->table_size - 1);
			m->table[s] = (uint32_t)i + 1;
		}
	}
	return 0;
}

/* ---- checkpoint ---- */

static json_object *double_new(double v)
{
	return json_object_new_double(v);
}

static json_object *metric_to_json(const struct metric *e)
{
	_cleanup_json_ json_object *o = json_object_new_object();

	if (!o || lc_json_add(o, "key", json_object_new_string(e->key)) < 0 ||
	    lc_json_add(o, "kind", json_object_new_string(kind_names[e->kind])) < 0 ||
	    lc_json_add(o, "last", double_new(e->last)) < 0)
		return NULL;
	if (!e->seen)
		return e->idle && lc_json_add(o, "idle", json_object_new_boolean(true)) < 0
			       ? NULL
			       : TAKE_PTR(o);
	if (lc_json_add(o, "count", json_object_new_int64((int64_t)e->count)) < 0 ||
	    lc_json_add(o, "sum", double_new(e->sum)) < 0)
		return NULL;
	/* A set's min and max are infinities, which JSON cannot hold; they are never reported. */
	if (e->kind != LC_METRIC_SET && (lc_json_add(o, "min", double_new(e->min)) < 0 ||
					 lc_json_add(o, "max", double_new(e->max)) < 0))
		return NULL;
	if (e->kind == LC_METRIC_SET) {
		json_object *a = json_object_new_array_ext((int)e->n_members);
		char hex[17];

		if (lc_json_add(o, "members", a) < 0)
			return NULL;
		for (size_t i = 0; i < e->n_slots; i++) {
			if (!e->members[i])
				continue;
			json_object *v;

			snprintf(hex, sizeof(hex), "%016" PRIx64, e->members[i]);
			v = json_object_new_string(hex);
			if (!v || json_object_array_add(a, v) < 0) {
				json_object_put(v);
				return NULL;
			}
		}
	}
	return TAKE_PTR(o);
}

json_object *lc_metrics_to_json(const struct lc_metrics *m)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	const struct lc_metrics_counters *c = &m->counters;
	json_object *keys;

	if (!o || lc_json_add(o, "readings", json_object_new_int64((int64_t)c->readings)) < 0 ||
	    lc_json_add(o, "over_key_cap", json_object_new_int64((int64_t)c->over_key_cap)) < 0 ||
	    lc_json_add(o, "rejected", json_object_new_int64((int64_t)c->rejected)) < 0 ||
	    lc_json_add(o, "set_overflow", json_object_new_int64((int64_t)c->set_overflow)) < 0)
		return NULL;
	keys = json_object_new_array_ext((int)m->n);
	if (lc_json_add(o, "keys", keys) < 0)
		return NULL;
	for (size_t i = 0; i < m->n; i++) {
		json_object *e = metric_to_json(&m->entries[i]);

		if (!e || json_object_array_add(keys, e) < 0) {
			json_object_put(e);
			return NULL;
		}
	}
	return TAKE_PTR(o);
}

static bool get_u64(json_object *o, const char *name, uint64_t *ret)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0)
		return false;
	*ret = (uint64_t)json_object_get_int64(v);
	return true;
}

/* A number that is not NaN (json-c parses "1" as an int and "1.5" as a double). */
static bool get_double(json_object *o, const char *name, double *ret)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) ||
	    !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		return false;
	*ret = json_object_get_double(v);
	return !isnan(*ret);
}

static int metric_from_json(struct lc_metrics *m, json_object *o, const char **ret_why)
{
	json_object *v, *members;
	enum lc_metric_kind kind;
	const char *key;
	struct metric *e;
	uint64_t count;
	double last;
	int r;

	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "key", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		*ret_why = "a metric without a key";
		return -EINVAL;
	}
	key = json_object_get_string(v);
	if (!json_object_object_get_ex(o, "kind", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    lc_metric_kind_parse(json_object_get_string(v), &kind) < 0) {
		*ret_why = "a metric of an unknown kind";
		return -EINVAL;
	}
	if (!get_double(o, "last", &last) || !isfinite(last)) {
		*ret_why = "a metric without a finite last value";
		return -EINVAL;
	}
	if (!json_object_object_get_ex(o, "count", NULL)) {
		/* A gauge's base only. */
		if (kind != LC_METRIC_GAUGE) {
			*ret_why = "a metric without a count";
			return -EINVAL;
		}
		r = entry_for(m, key, strlen(key), kind, &e);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			return 0; /* over the (new) cap: counted */
		e->last = last;
		e->seen = false;
		e->idle = json_object_object_get_ex(o, "idle", &v) && json_object_get_boolean(v);
		m->n_seen--;
		return 0;
	}
	r = entry_for(m, key, strlen(key), kind, &e);
	if (r == -ENOMEM)
		return r;
	if (r == -EINVAL || (r == 0 && e->count > 0)) {
		*ret_why = "a metric with a bad or repeated key";
		return -EINVAL;
	}
	if (r < 0)
		return 0;
	if (!get_u64(o, "count", &count) || count == 0 || !get_double(o, "sum", &e->sum) ||
	    (kind != LC_METRIC_SET &&
	     (!get_double(o, "min", &e->min) || !get_double(o, "max", &e->max)))) {
		*ret_why = "a metric with a bad count, sum, min or max";
		return -EINVAL;
	}
	e->count = count;
	e->last = last;
	if (kind != LC_METRIC_SET)
		return 0;
	if (!json_object_object_get_ex(o, "members", &members) ||
	    !json_object_is_type(members, json_type_array)) {
		*ret_why = "a set without members";
		return -EINVAL;
	}
	for (size_t i = 0; i < json_object_array_length(members); i++) {
		const char *hex = json_object_get_string(json_object_array_get_idx(members, i));
		char *end;
		uint64_t h;

		errno = 0;
		h = hex && strlen(hex) == 16 ? strtoull(hex, &end, 16) : 0;
		if (!h || errno || *end) {
			*ret_why = "a set member that is not 16 hex digits";
			return -EINVAL;
		}
		r = set_insert(m, e, h);
		if (r == -ENOMEM)
			return r;
		if (r == -ENOSPC)
			m->counters.set_overflow++;
	}
	return 0;
}

static void clear(struct lc_metrics *m)
{
	for (size_t i = 0; i < m->n; i++)
		metric_done(&m->entries[i]);
	m->n = 0;
	m->n_seen = 0;
	m->set_members = 0;
	m->counters = (struct lc_metrics_counters){};
	if (m->table)
		memset(m->table, 0, m->table_size * sizeof(*m->table));
}

int lc_metrics_from_json(struct lc_metrics *m, json_object *o, const char **ret_why)
{
	struct lc_metrics_counters c = {};
	json_object *keys;
	int r;

	clear(m);
	if (!json_object_is_type(o, json_type_object) || !get_u64(o, "readings", &c.readings) ||
	    !get_u64(o, "over_key_cap", &c.over_key_cap) || !get_u64(o, "rejected", &c.rejected) ||
	    !get_u64(o, "set_overflow", &c.set_overflow) ||
	    !json_object_object_get_ex(o, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array)) {
		*ret_why = "not an object with the store's counters and keys";
		return -EINVAL;
	}
	for (size_t i = 0; i < json_object_array_length(keys); i++) {
		r = metric_from_json(m, json_object_array_get_idx(keys, i), ret_why);
		if (r < 0) {
			clear(m);
			if (r == -ENOMEM)
				*ret_why = "out of memory";
			return r;
		}
	}
	/* Keys dropped over the cap while restoring are counted on top of the saved counters. */
	c.over_key_cap += m->counters.over_key_cap;
	c.set_overflow += m->counters.set_overflow;
	m->counters = c;
	return 0;
}
