/* SPDX-License-Identifier: MIT */
/* The metric store: each kind's aggregate, the key rules and cap, sets, gauge bases, the
 * checkpoint round trip and the text form `faultctl write-metric` sends. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

#define ADD(m, k, kind, v) lc_metrics_add((m), (k), strlen(k), (kind), (v))

static struct lc_metrics *store(size_t max_keys, size_t max_members)
{
	struct lc_metrics_limits l = { .max_keys = max_keys, .max_set_members = max_members };
	struct lc_metrics *m = NULL;

	assert_int_equal(lc_metrics_new(&l, &m), 0);
	return m;
}

/* Closes the heartbeat and returns its report (caller puts it). */
static json_object *roll_report(struct lc_metrics *m)
{
	json_object *o = json_object_new_object();

	assert_int_equal(lc_metrics_roll(m, o), 0);
	return o;
}

static double num(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("\"%s\" missing from %s", key, json_object_to_json_string(o));
	assert_true(json_object_is_type(v, json_type_int) ||
		    json_object_is_type(v, json_type_double));
	return json_object_get_double(v);
}

static bool has(json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

static void test_counter_sums(void **state)
{
	struct lc_metrics *m = store(10, 10);
	json_object *r;

	assert_int_equal(ADD(m, "requests", LC_METRIC_COUNTER, 3), 0);
	assert_int_equal(ADD(m, "requests", LC_METRIC_COUNTER, 4.5), 0);
	assert_int_equal(ADD(m, "requests", LC_METRIC_COUNTER, -0.5), 0);
	r = roll_report(m);
	assert_int_equal(json_object_object_length(r), 1);
	assert_true(num(r, "requests") == 7.0);
	/* Integral sums are written as integers, the rest compactly. */
	assert_string_equal(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN),
			    "{\"requests\":7}");
	json_object_put(r);

	/* A new heartbeat starts from zero, and a key without readings is not reported. */
	r = roll_report(m);
	assert_int_equal(json_object_object_length(r), 0);
	json_object_put(r);
	assert_int_equal(ADD(m, "requests", LC_METRIC_COUNTER, 0.1), 0);
	assert_int_equal(ADD(m, "requests", LC_METRIC_COUNTER, 0.2), 0);
	r = roll_report(m);
	assert_string_equal(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN),
			    "{\"requests\":0.3}");
	json_object_put(r);
	lc_metrics_free(m);
}

static void test_gauge_last_and_statistics(void **state)
{
	const char *const patterns[] = { "load/*", NULL };
	struct lc_metrics *m = store(10, 10);
	json_object *r;

	lc_metrics_set_gauge_stats(m, patterns);
	for (int i = 1; i <= 4; i++) {
		assert_int_equal(ADD(m, "load/1", LC_METRIC_GAUGE, i), 0);
		assert_int_equal(ADD(m, "temp", LC_METRIC_GAUGE, 10 * i), 0);
	}
	assert_int_equal(ADD(m, "load/1", LC_METRIC_GAUGE, 0.5), 0);
	r = roll_report(m);
	assert_true(num(r, "load/1") == 0.5);
	assert_true(num(r, "load/1.min") == 0.5);
	assert_true(num(r, "load/1.max") == 4);
	assert_true(num(r, "load/1.mean") == 2.1);
	assert_true(num(r, "temp") == 40);
	assert_false(has(r, "temp.min"));
	assert_false(has(r, "temp.mean"));
	assert_int_equal(json_object_object_length(r), 5);
	json_object_put(r);
	lc_metrics_free(m);
}

static void test_gauge_deltas(void **state)
{
	struct lc_metrics *m = store(10, 10);
	json_object *r;

	/* From zero for a new key, then from the last value. */
	assert_int_equal(lc_metrics_gauge_delta(m, "queue", 5, 5), 0);
	assert_int_equal(lc_metrics_gauge_delta(m, "queue", 5, -2), 0);
	r = roll_report(m);
	assert_true(num(r, "queue") == 3);
	json_object_put(r);

	/* The last value is the base for deltas in the next heartbeat... */
	assert_int_equal(lc_metrics_gauge_delta(m, "queue", 5, 1), 0);
	r = roll_report(m);
	assert_true(num(r, "queue") == 4);
	json_object_put(r);

	/* ...and survives one heartbeat without readings, unreported. */
	r = roll_report(m);
	assert_false(has(r, "queue"));
	json_object_put(r);
	assert_int_equal(lc_metrics_n_keys(m), 0);
	assert_int_equal(lc_metrics_gauge_delta(m, "queue", 5, 1), 0);
	r = roll_report(m);
	assert_true(num(r, "queue") == 5);
	json_object_put(r);

	/* After a second one it is gone: deltas start from zero again. */
	json_object_put(roll_report(m));
	json_object_put(roll_report(m));
	assert_int_equal(lc_metrics_gauge_delta(m, "queue", 5, 1), 0);
	r = roll_report(m);
	assert_true(num(r, "queue") == 1);
	json_object_put(r);

	/* A counter may take over a key that was only a gauge's base. */
	assert_int_equal(ADD(m, "queue", LC_METRIC_COUNTER, 2), 0);
	r = roll_report(m);
	assert_true(num(r, "queue") == 2);
	json_object_put(r);

	/* A delta that would overflow is rejected and counted. */
	assert_int_equal(ADD(m, "big", LC_METRIC_GAUGE, 1.7e308), 0);
	assert_int_equal(lc_metrics_gauge_delta(m, "big", 3, 1.7e308), -EINVAL);
	{
		struct lc_metrics_counters c;

		lc_metrics_counters(m, &c);
		assert_int_equal(c.rejected, 1);
	}
	lc_metrics_free(m);
}

static void test_histogram(void **state)
{
	struct lc_metrics *m = store(10, 10);
	json_object *r;
	const double v[] = { 12, 3, 7.5, 100, 2.5 };

	for (size_t i = 0; i < 5; i++)
		assert_int_equal(ADD(m, "rpc.latency_ms", LC_METRIC_HISTOGRAM, v[i]), 0);
	r = roll_report(m);
	assert_true(num(r, "rpc.latency_ms.count") == 5);
	assert_true(num(r, "rpc.latency_ms.sum") == 125);
	assert_true(num(r, "rpc.latency_ms.min") == 2.5);
	assert_true(num(r, "rpc.latency_ms.max") == 100);
	assert_true(num(r, "rpc.latency_ms.mean") == 25);
	assert_false(has(r, "rpc.latency_ms"));
	json_object_put(r);
	lc_metrics_free(m);
}

static void test_set_counts_distinct_members(void **state)
{
	struct lc_metrics *m = store(10, 5);
	struct lc_metrics_counters c;
	json_object *r;
	const char *users[] = { "alice", "bob", "alice", "carol", "bob", "" };

	for (size_t i = 0; i < 6; i++)
		assert_int_equal(lc_metrics_set_add(m, "users", 5, users[i], strlen(users[i])), 0);
	/* Members are bytes, not strings: NUL inside counts. */
	assert_int_equal(lc_metrics_set_add(m, "users", 5, "a\0b", 3), 0);
	assert_int_equal(lc_metrics_set_add(m, "users", 5, "a\0c", 3), 0);
	/* The store holds at most 5 members in all its sets: one more is overflow. */
	assert_int_equal(lc_metrics_set_add(m, "ips", 3, "10.0.0.1", 8), 0);
	lc_metrics_counters(m, &c);
	assert_int_equal(c.set_overflow, 2);
	r = roll_report(m);
	assert_true(num(r, "users") == 5);
	assert_true(num(r, "ips") == 0);
	json_object_put(r);

	/* A new heartbeat has room again. */
	assert_int_equal(lc_metrics_set_add(m, "ips", 3, "10.0.0.1", 8), 0);
	r = roll_report(m);
	assert_true(num(r, "ips") == 1);
	json_object_put(r);
	lc_metrics_free(m);
}

static void test_keys_are_normalised_and_bounded(void **state)
{
	struct lc_metrics *m = store(10, 10);
	struct lc_metrics_counters c;
	char long_key[LC_METRIC_KEY_MAX + 2];
	json_object *r;

	assert_int_equal(ADD(m, "cpu load:1 (avg)", LC_METRIC_GAUGE, 1), 0);
	assert_int_equal(ADD(m, "caf\xc3\xa9", LC_METRIC_COUNTER, 1), 0);
	/* The length given counts, not a terminator. */
	assert_int_equal(lc_metrics_add(m, "abc.def", 3, LC_METRIC_COUNTER, 2), 0);
	memset(long_key, 'k', sizeof(long_key));
	assert_int_equal(lc_metrics_add(m, long_key, LC_METRIC_KEY_MAX, LC_METRIC_COUNTER, 1), 0);
	assert_int_equal(lc_metrics_add(m, long_key, LC_METRIC_KEY_MAX + 1, LC_METRIC_COUNTER, 1),
			 -EINVAL);
	assert_int_equal(lc_metrics_add(m, "", 0, LC_METRIC_COUNTER, 1), -EINVAL);
	assert_int_equal(ADD(m, "x", LC_METRIC_COUNTER, NAN), -EINVAL);
	assert_int_equal(ADD(m, "x", LC_METRIC_COUNTER, INFINITY), -EINVAL);
	assert_int_equal(ADD(m, "x", LC_METRIC_SET, 1), -EINVAL);
	assert_int_equal(ADD(m, "x", (enum lc_metric_kind)42, 1), -EINVAL);
	/* A key keeps the kind of its first reading. */
	assert_int_equal(ADD(m, "abc", LC_METRIC_GAUGE, 1), -EINVAL);
	lc_metrics_counters(m, &c);
	assert_int_equal(c.rejected, 7);
	assert_int_equal(c.readings, 4);

	r = roll_report(m);
	assert_true(num(r, "cpu_load_1__avg_") == 1);
	assert_true(num(r, "caf__") == 1);
	assert_true(num(r, "abc") == 2);
	long_key[LC_METRIC_KEY_MAX] = '\0';
	assert_true(num(r, long_key) == 1);
	/* The refusals are reported by the store itself. */
	assert_true(num(r, "faultd/metrics_rejected") == 7);
	assert_int_equal(json_object_object_length(r), 5);
	json_object_put(r);
	lc_metrics_free(m);
}

static void test_reserved_and_colliding_names(void **state)
{
	const char *const patterns[] = { "g*", NULL };
	struct lc_metrics *m = store(10, 10);
	char key[LC_METRIC_KEY_MAX + 1];
	json_object *r;

	lc_metrics_set_gauge_stats(m, patterns);
	/* No reading may stand in for the hours or faultd's own counters. */
	assert_int_equal(ADD(m, "operational_hours", LC_METRIC_GAUGE, 99999), -EINVAL);
	assert_int_equal(ADD(m, "operational_crashfree_hours", LC_METRIC_GAUGE, 1), -EINVAL);
	assert_int_equal(ADD(m, "operational_crashes", LC_METRIC_COUNTER, 0), -EINVAL);
	assert_int_equal(ADD(m, "faultd/spool_drops", LC_METRIC_GAUGE, 0), -EINVAL);
	assert_int_equal(lc_metrics_set_add(m, "faultd/x", 8, "a", 1), -EINVAL);
	assert_int_equal(ADD(m, "operational_hours2", LC_METRIC_GAUGE, 1), 0);

	/* A histogram's ".count" must still be a key: 122 bytes at most. */
	memset(key, 'h', sizeof(key));
	assert_int_equal(lc_metrics_add(m, key, LC_METRIC_KEY_MAX - 5, LC_METRIC_HISTOGRAM, 1),
			 -EINVAL);
	assert_int_equal(lc_metrics_add(m, key, LC_METRIC_KEY_MAX - 6, LC_METRIC_HISTOGRAM, 1), 0);

	/* A gauge with statistics whose ".mean" would be too long reports its last value only;
	 * a key "g.min" and gauge g's statistics: the older key's figure wins. */
	memset(key, 'g', sizeof(key));
	assert_int_equal(lc_metrics_add(m, key, LC_METRIC_KEY_MAX - 3, LC_METRIC_GAUGE, 1), 0);
	assert_int_equal(ADD(m, "g.min", LC_METRIC_COUNTER, 42), 0);
	assert_int_equal(ADD(m, "g", LC_METRIC_GAUGE, 5), 0);
	r = roll_report(m);
	assert_true(num(r, "g.min") == 42);
	assert_true(num(r, "g") == 5);
	assert_true(num(r, "g.max") == 5);
	key[LC_METRIC_KEY_MAX - 3] = '\0';
	assert_true(num(r, key) == 1);
	/* 5 refused readings, 3 statistics too long, 1 collision. */
	assert_true(num(r, "faultd/metrics_rejected") == 5 + 1 + 3 + 1);
	json_object_put(r);
	lc_metrics_free(m);
}

static void test_refused_delta_leaves_no_trace(void **state)
{
	struct lc_metrics *m = store(10, 10);
	const char *why = NULL;
	json_object *r, *saved;

	assert_int_equal(ADD(m, "g", LC_METRIC_GAUGE, 1.7e308), 0);
	json_object_put(roll_report(m));
	/* The base is 1.7e308: this delta would overflow. */
	assert_int_equal(lc_metrics_gauge_delta(m, "g", 1, 1.7e308), -EINVAL);
	assert_int_equal(lc_metrics_n_keys(m), 0);
	assert_int_equal(ADD(m, "other", LC_METRIC_COUNTER, 5), 0);
	/* The checkpoint restores, and the refused key is not reported. */
	saved = lc_metrics_to_json(m);
	assert_int_equal(lc_metrics_from_json(m, saved, &why), 0);
	json_object_put(saved);
	r = roll_report(m);
	assert_false(has(r, "g"));
	assert_true(num(r, "other") == 5);
	assert_true(num(r, "faultd/metrics_rejected") == 1);
	json_object_put(r);
	lc_metrics_free(m);
}

static void test_kind_of(void **state)
{
	struct lc_metrics *m = store(10, 10);
	enum lc_metric_kind k;

	assert_int_equal(lc_metrics_kind_of(m, "a", 1, &k), -ENOENT);
	assert_int_equal(ADD(m, "a b", LC_METRIC_HISTOGRAM, 1), 0);
	assert_int_equal(lc_metrics_kind_of(m, "a_b", 3, &k), 0);
	assert_int_equal(k, LC_METRIC_HISTOGRAM);
	/* A gauge's base from the heartbeat before has no kind yet in this one. */
	assert_int_equal(ADD(m, "g", LC_METRIC_GAUGE, 1), 0);
	json_object_put(roll_report(m));
	assert_int_equal(lc_metrics_kind_of(m, "g", 1, &k), -ENOENT);
	assert_int_equal(lc_metrics_kind_of(m, "", 0, &k), -ENOENT);
	lc_metrics_free(m);
}

static void test_key_cap(void **state)
{
	struct lc_metrics *m = store(3, 10);
	struct lc_metrics_limits l = { .max_keys = 4, .max_set_members = 10 };
	struct lc_metrics_counters c;
	json_object *r;
	char key[16];

	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(ADD(m, key, LC_METRIC_COUNTER, 1), i < 3 ? 0 : -ENOSPC);
	}
	/* Keys in use still take readings. */
	assert_int_equal(ADD(m, "k0", LC_METRIC_COUNTER, 1), 0);
	assert_int_equal(lc_metrics_n_keys(m), 3);
	lc_metrics_counters(m, &c);
	assert_int_equal(c.over_key_cap, 7);
	assert_int_equal(c.readings, 4);
	r = roll_report(m);
	assert_true(num(r, "k0") == 2);
	assert_false(has(r, "k3"));
	assert_true(num(r, "faultd/metrics_over_key_cap") == 7);
	assert_false(has(r, "faultd/metrics_rejected"));
	assert_int_equal(json_object_object_length(r), 4);
	json_object_put(r);

	/* The counters restart with the heartbeat; a raised cap applies at once. */
	lc_metrics_counters(m, &c);
	assert_int_equal(c.over_key_cap, 0);
	lc_metrics_set_limits(m, &l);
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "n%d", i);
		assert_int_equal(ADD(m, key, LC_METRIC_GAUGE, i), i < 4 ? 0 : -ENOSPC);
	}
	json_object_put(roll_report(m));

	/* Gauge bases do not take a live key's place. */
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "c%d", i);
		assert_int_equal(ADD(m, key, LC_METRIC_COUNTER, 1), 0);
	}
	lc_metrics_free(m);
}

static void test_many_keys(void **state)
{
	struct lc_metrics *m = store(5000, 10);
	json_object *r;
	char key[16];

	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 5000; i++) {
			snprintf(key, sizeof(key), "key%d", i);
			assert_int_equal(ADD(m, key, LC_METRIC_COUNTER, i), 0);
		}
	assert_int_equal(lc_metrics_n_keys(m), 5000);
	r = roll_report(m);
	assert_int_equal(json_object_object_length(r), 5000);
	assert_true(num(r, "key4999") == 3 * 4999);
	json_object_put(r);
	lc_metrics_free(m);
}

static void fill(struct lc_metrics *m)
{
	assert_int_equal(ADD(m, "c", LC_METRIC_COUNTER, 2), 0);
	assert_int_equal(ADD(m, "g", LC_METRIC_GAUGE, 1.25), 0);
	assert_int_equal(ADD(m, "g", LC_METRIC_GAUGE, -3), 0);
	assert_int_equal(ADD(m, "h", LC_METRIC_HISTOGRAM, 0.1), 0);
	assert_int_equal(ADD(m, "h", LC_METRIC_HISTOGRAM, 1e-9), 0);
	assert_int_equal(lc_metrics_set_add(m, "s", 1, "a", 1), 0);
	assert_int_equal(lc_metrics_set_add(m, "s", 1, "b", 1), 0);
	assert_int_equal(ADD(m, "bad", LC_METRIC_COUNTER, NAN), -EINVAL);
}

static void test_checkpoint_round_trip(void **state)
{
	const char *const patterns[] = { "*", NULL };
	struct lc_metrics *a = store(10, 10), *b = store(10, 10);
	struct lc_metrics_counters ca, cb;
	json_object *saved, *ra, *rb;
	const char *why = NULL;

	lc_metrics_set_gauge_stats(a, patterns);
	lc_metrics_set_gauge_stats(b, patterns);
	/* A gauge base from the heartbeat before, then readings of every kind. */
	assert_int_equal(ADD(a, "base", LC_METRIC_GAUGE, 7), 0);
	json_object_put(roll_report(a));
	fill(a);

	saved = lc_metrics_to_json(a);
	assert_non_null(saved);
	/* Through text, as the file holds it. */
	{
		json_object *text = json_tokener_parse(json_object_to_json_string(saved));

		json_object_put(saved);
		saved = text;
	}
	assert_int_equal(lc_metrics_from_json(b, saved, &why), 0);
	json_object_put(saved);
	lc_metrics_counters(a, &ca);
	lc_metrics_counters(b, &cb);
	assert_memory_equal(&ca, &cb, sizeof(ca));
	assert_int_equal(lc_metrics_n_keys(b), 4);

	/* The restored store goes on exactly as the original. */
	assert_int_equal(lc_metrics_set_add(a, "s", 1, "a", 1), 0);
	assert_int_equal(lc_metrics_set_add(b, "s", 1, "a", 1), 0);
	assert_int_equal(lc_metrics_gauge_delta(a, "base", 4, 1), 0);
	assert_int_equal(lc_metrics_gauge_delta(b, "base", 4, 1), 0);
	ra = roll_report(a);
	rb = roll_report(b);
	assert_string_equal(json_object_to_json_string(ra), json_object_to_json_string(rb));
	assert_true(num(rb, "s") == 2);
	assert_true(num(rb, "base") == 8);
	assert_true(num(rb, "g.mean") == -0.875);
	assert_true(num(rb, "h.count") == 2);
	json_object_put(ra);
	json_object_put(rb);
	lc_metrics_free(a);
	lc_metrics_free(b);
}

static void test_restore_over_lower_cap(void **state)
{
	struct lc_metrics *a = store(10, 10), *b = store(2, 1);
	struct lc_metrics_counters c;
	const char *why = NULL;
	json_object *saved;

	fill(a);
	saved = lc_metrics_to_json(a);
	assert_int_equal(lc_metrics_from_json(b, saved, &why), 0);
	json_object_put(saved);
	assert_int_equal(lc_metrics_n_keys(b), 2);
	lc_metrics_counters(b, &c);
	assert_int_equal(c.over_key_cap, 2);
	assert_int_equal(c.rejected, 1);
	lc_metrics_free(a);
	lc_metrics_free(b);
}

static void test_restore_rejects_damage(void **state)
{
	static const char *const bad[] = {
		"[]",
		"{}",
		"{\"readings\":1,\"over_key_cap\":0,\"rejected\":0,\"set_overflow\":0}",
		"{\"readings\":-1,\"over_key_cap\":0,\"rejected\":0,\"set_overflow\":0,\"keys\":[]"
		"}",
		"{\"readings\":1,\"over_key_cap\":0,\"rejected\":0,\"set_overflow\":0,\"keys\":{}}",
		"{\"readings\":1,\"over_key_cap\":0,\"rejected\":0,\"set_overflow\":0,\"keys\":[1]"
		"}",
		"{\"readings\":1,\"over_key_cap\":0,\"rejected\":0,\"set_overflow\":0,\"keys\":"
		"[{\"key\":\"a\",\"kind\":\"meter\",\"last\":1}]}",
		"{\"readings\":1,\"over_key_cap\":0,\"rejected\":0,\"set_overflow\":0,\"keys\":"
		"[{\"key\":\"a\",\"kind\":\"counter\",\"last\":1}]}",
		"{\"readings\":1,\"over_key_cap\":0,\"rejected\":0,\"set_overflow\":0,\"keys\":"
		"[{\"key\":\"a\",\"kind\":\"counter\",\"last\":1,\"count\":1,\"sum\":\"x\","
		"\"min\":1,\"max\":1}]}",
		"{\"readings\":1,\"over_key_cap\":0,\"rejected\":0,\"set_overflow\":0,\"keys\":"
		"[{\"key\":\"a\",\"kind\":\"counter\",\"last\":1,\"count\":0,\"sum\":1,"
		"\"min\":1,\"max\":1}]}",
		"{\"readings\":1,\"over_key_cap\":0,\"rejected\":0,\"set_overflow\":0,\"keys\":"
		"[{\"key\":\"a\",\"kind\":\"set\",\"last\":0,\"count\":1,\"sum\":0,"
		"\"members\":[\"xyz\"]}]}",
		"{\"readings\":1,\"over_key_cap\":0,\"rejected\":0,\"set_overflow\":0,\"keys\":"
		"[{\"key\":\"a\",\"kind\":\"set\",\"last\":0,\"count\":1,\"sum\":0}]}",
		"{\"readings\":2,\"over_key_cap\":0,\"rejected\":0,\"set_overflow\":0,\"keys\":"
		"[{\"key\":\"a\",\"kind\":\"counter\",\"last\":1,\"count\":1,\"sum\":1,\"min\":1,"
		"\"max\":1},{\"key\":\"a\",\"kind\":\"gauge\",\"last\":1,\"count\":1,\"sum\":1,"
		"\"min\":1,\"max\":1}]}",
		"{\"readings\":1,\"over_key_cap\":0,\"rejected\":0,\"set_overflow\":0,\"keys\":"
		"[{\"key\":\"\",\"kind\":\"counter\",\"last\":1,\"count\":1,\"sum\":1,\"min\":1,"
		"\"max\":1}]}",
	};
	struct lc_metrics *m = store(10, 10);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_object *o = json_tokener_parse(bad[i]);
		const char *why = NULL;
		json_object *r;

		assert_non_null(o);
		assert_int_equal(ADD(m, "left", LC_METRIC_COUNTER, 1), 0);
		if (lc_metrics_from_json(m, o, &why) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(why);
		/* A failed restore leaves the store empty, not half-filled. */
		assert_int_equal(lc_metrics_n_keys(m), 0);
		r = roll_report(m);
		assert_int_equal(json_object_object_length(r), 0);
		json_object_put(r);
		json_object_put(o);
	}
	lc_metrics_free(m);
}

static void test_assignment_parse(void **state)
{
	struct lc_metric_assignment a;
	const char *why = NULL;

	assert_int_equal(lc_metric_assignment_parse("temp=21.5", &a, &why), 0);
	assert_int_equal(a.key_len, 4);
	assert_int_equal(a.kind, LC_METRIC_GAUGE);
	assert_true(a.value == 21.5);
	assert_int_equal(lc_metric_assignment_parse("jobs=3:counter", &a, &why), 0);
	assert_int_equal(a.kind, LC_METRIC_COUNTER);
	assert_true(a.value == 3);
	assert_int_equal(lc_metric_assignment_parse("lat=-1e3:ms", &a, &why), 0);
	assert_int_equal(a.kind, LC_METRIC_HISTOGRAM);
	assert_true(a.value == -1000);
	assert_int_equal(lc_metric_assignment_parse("users=a:b:set", &a, &why), 0);
	assert_int_equal(a.kind, LC_METRIC_SET);
	assert_int_equal(a.member_len, 3);
	assert_memory_equal(a.member, "a:b", 3);
	assert_int_equal(lc_metric_assignment_parse("x=1:c", &a, &why), 0);
	assert_int_equal(a.kind, LC_METRIC_COUNTER);

	static const char *const bad[] = {
		"",	 "=1",	  "x",	     "x=",   "x=:gauge", "x=abc", "x=1:meter",
		"x=nan", "x=inf", "x=1e999", "x= 1", "x=1 ",	 "x=0x",  "x=1:gauge:counter",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (lc_metric_assignment_parse(bad[i], &a, &why) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_non_null(why);
	}
	{
		char key[LC_METRIC_KEY_MAX + 8];

		memset(key, 'k', LC_METRIC_KEY_MAX + 1);
		strcpy(key + LC_METRIC_KEY_MAX + 1, "=1");
		assert_int_equal(lc_metric_assignment_parse(key, &a, &why), -EINVAL);
	}
}

static void test_kind_names(void **state)
{
	enum lc_metric_kind k;

	for (unsigned i = 0; i < _LC_METRIC_KIND_MAX; i++) {
		assert_int_equal(lc_metric_kind_parse(lc_metric_kind_name(i), &k), 0);
		assert_int_equal(k, i);
	}
	assert_null(lc_metric_kind_name(_LC_METRIC_KIND_MAX));
	assert_int_equal(lc_metric_kind_parse("d", &k), 0);
	assert_int_equal(k, LC_METRIC_HISTOGRAM);
	assert_int_equal(lc_metric_kind_parse("Counter", &k), -EINVAL);
	assert_int_equal(lc_metric_kind_parse("", &k), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_sums),
		cmocka_unit_test(test_gauge_last_and_statistics),
		cmocka_unit_test(test_gauge_deltas),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_set_counts_distinct_members),
		cmocka_unit_test(test_keys_are_normalised_and_bounded),
		cmocka_unit_test(test_reserved_and_colliding_names),
		cmocka_unit_test(test_refused_delta_leaves_no_trace),
		cmocka_unit_test(test_kind_of),
		cmocka_unit_test(test_key_cap),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_checkpoint_round_trip),
		cmocka_unit_test(test_restore_over_lower_cap),
		cmocka_unit_test(test_restore_rejects_damage),
		cmocka_unit_test(test_assignment_parse),
		cmocka_unit_test(test_kind_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
