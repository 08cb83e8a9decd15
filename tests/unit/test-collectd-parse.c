/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectd-parse.h"
#include "macro.h"

/* Bodies written by collectd 5.12's write_http (Format "JSON"), StoreRates false then true. */
static const char real_raw[] =
	"[{\"values\":[20433728,44286],\"dstypes\":[\"derive\",\"derive\"],\"dsnames\":[\"rx\","
	"\"tx\"],\"time\":1795244722.642,\"interval\":1.000,\"host\":\"testhost\",\"plugin\":"
	"\"interface\",\"plugin_instance\":\"eth0\",\"type\":\"if_octets\",\"type_instance\":\"\"}"
	",{\"values\":[0,0],\"dstypes\":[\"derive\",\"derive\"],\"dsnames\":[\"rx\",\"tx\"],"
	"\"time\":1795244722.642,\"interval\":1.000,\"host\":\"testhost\",\"plugin\":\"interface\","
	"\"plugin_instance\":\"eth0\",\"type\":\"if_dropped\",\"type_instance\":\"\"},{\"values\":"
	"[203608064],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"time\":1795244722.642,"
	"\"interval\":1.000,\"host\":\"testhost\",\"plugin\":\"memory\",\"plugin_instance\":\"\","
	"\"type\":\"memory\",\"type_instance\":\"used\"},{\"values\":[13561856],\"dstypes\":"
	"[\"gauge\"],\"dsnames\":[\"value\"],\"time\":1795244722.642,\"interval\":1.000,\"host\":"
	"\"testhost\",\"plugin\":\"memory\",\"plugin_instance\":\"\",\"type\":\"memory\","
	"\"type_instance\":\"buffered\"},{\"values\":[434634],\"dstypes\":[\"derive\"],"
	"\"dsnames\":[\"value\"],\"time\":1795244722.640,\"interval\":1.000,\"host\":\"testhost\","
	"\"plugin\":\"cpu\",\"plugin_instance\":\"0\",\"type\":\"cpu\",\"type_instance\":\"idle\"},"
	"{\"values\":[0,0],\"dstypes\":[\"derive\",\"derive\"],\"dsnames\":[\"rx\",\"tx\"],"
	"\"time\":1795244722.642,\"interval\":1.000,\"host\":\"testhost\",\"plugin\":\"interface\","
	"\"plugin_instance\":\"eth0\",\"type\":\"if_errors\",\"type_instance\":\"\"}]";

static const char real_rates[] =
	"[{\"values\":[24341856256],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"time\":"
	"1795244722.642,\"interval\":1.000,\"host\":\"testhost\",\"plugin\":\"memory\","
	"\"plugin_instance\":\"\",\"type\":\"memory\",\"type_instance\":\"free\"},{\"values\":"
	"[665.220090956091,665.220090956091],\"dstypes\":[\"derive\",\"derive\"],\"dsnames\":"
	"[\"rx\",\"tx\"],\"time\":1795244722.642,\"interval\":1.000,\"host\":\"testhost\","
	"\"plugin\":\"interface\",\"plugin_instance\":\"lo\",\"type\":\"if_packets\","
	"\"type_instance\":\"\"},{\"values\":[158577.560548514,158577.560548514],\"dstypes\":"
	"[\"derive\",\"derive\"],\"dsnames\":[\"rx\",\"tx\"],\"time\":1795244722.642,\"interval\":"
	"1.000,\"host\":\"testhost\",\"plugin\":\"interface\",\"plugin_instance\":\"lo\",\"type\":"
	"\"if_octets\",\"type_instance\":\"\"},{\"values\":[27377664],\"dstypes\":[\"gauge\"],"
	"\"dsnames\":[\"value\"],\"time\":1795244722.642,\"interval\":1.000,\"host\":\"testhost\","
	"\"plugin\":\"memory\",\"plugin_instance\":\"\",\"type\":\"memory\",\"type_instance\":"
	"\"slab_unrecl\"},{\"values\":[87.0095375334365],\"dstypes\":[\"derive\"],\"dsnames\":"
	"[\"value\"],\"time\":1795244722.640,\"interval\":1.000,\"host\":\"testhost\",\"plugin\":"
	"\"cpu\",\"plugin_instance\":\"0\",\"type\":\"cpu\",\"type_instance\":\"idle\"}]";

struct reading {
	char key[LC_METRIC_KEY_MAX + 1];
	enum lc_metric_kind kind;
	double value;
};

/* What the callback received during one parse. */
static struct reading readings[128];
static size_t n_readings;
static struct collectd_result result;
static char why[160];

static void on_reading(void *userdata, const char *key, size_t key_len, enum lc_metric_kind kind,
		       double value)
{
	assert_int_equal((intptr_t)userdata, 42);
	assert_true(key_len > 0 && key_len <= LC_METRIC_KEY_MAX);
	assert_true(n_readings < ARRAY_SIZE(readings));
	memcpy(readings[n_readings].key, key, key_len);
	readings[n_readings].key[key_len] = '\0';
	readings[n_readings].kind = kind;
	readings[n_readings].value = value;
	n_readings++;
}

static int parse_at(struct collectd_table *t, const char *body, bool store_rates, uint64_t now)
{
	n_readings = 0;
	memset(&result, 0xaa, sizeof(result));
	why[0] = '\0';
	return collectd_parse_body(body, strlen(body), store_rates, t, now, on_reading,
				   (void *)(intptr_t)42, &result, why, sizeof(why));
}

static int parse(struct collectd_table *t, const char *body, bool store_rates)
{
	return parse_at(t, body, store_rates, 1000);
}

/* The reading of key in the last parse; fails the test if there is none. */
static const struct reading *find(const char *key)
{
	for (size_t i = 0; i < n_readings; i++)
		if (streq(readings[i].key, key))
			return &readings[i];
	fail_msg("no reading of \"%s\"", key);
	return NULL;
}

static bool has(const char *key)
{
	for (size_t i = 0; i < n_readings; i++)
		if (streq(readings[i].key, key))
			return true;
	return false;
}

static void assert_reading(const char *key, enum lc_metric_kind kind, double value)
{
	const struct reading *r = find(key);

	assert_int_equal(r->kind, kind);
	if (fabs(r->value - value) > 1e-9 * MAX(1.0, fabs(value)))
		fail_msg("%s: %.17g, expected %.17g", key, r->value, value);
}

/* A value list with the given fields (JSON fragments, NULL: left out). */
static char *list(const char *values, const char *dstypes, const char *dsnames, const char *plugin,
		  const char *plugin_instance, const char *type, const char *type_instance)
{
	char *s = NULL;

	assert_true(asprintf(&s,
			     "{\"values\":%s,\"dstypes\":%s,\"dsnames\":%s,\"time\":1280959128,"
			     "\"interval\":10,\"host\":\"h\",\"plugin\":%s%s%s,\"type\":%s%s%s}",
			     values, dstypes, dsnames, plugin,
			     plugin_instance ? ",\"plugin_instance\":" : "",
			     plugin_instance ? plugin_instance : "", type,
			     type_instance ? ",\"type_instance\":" : "",
			     type_instance ? type_instance : "") > 0);
	return s;
}

/* Bodies of one value list around values (a JSON fragment); valid until the next call. */
static const char *if_octets(const char *values)
{
	static char body[512];

	snprintf(body, sizeof(body),
		 "[{\"values\":[%s],\"dstypes\":[\"derive\",\"derive\"],\"dsnames\":[\"rx\","
		 "\"tx\"],\"time\":1,\"interval\":10,\"host\":\"h\",\"plugin\":\"interface\","
		 "\"plugin_instance\":\"eth0\",\"type\":\"if_octets\",\"type_instance\":\"\"}]",
		 values);
	return body;
}

static const char *cpu_idle(const char *values)
{
	static char body[512];

	snprintf(body, sizeof(body),
		 "[{\"values\":[%s],\"dstypes\":[\"derive\"],\"dsnames\":[\"value\"],"
		 "\"plugin\":\"cpu\",\"plugin_instance\":\"0\",\"type\":\"cpu\","
		 "\"type_instance\":\"idle\"}]",
		 values);
	return body;
}

static const char *counter(const char *values, const char *type_instance)
{
	static char body[512];

	snprintf(body, sizeof(body),
		 "[{\"values\":[%s],\"dstypes\":[\"counter\"],\"dsnames\":[\"value\"],"
		 "\"plugin\":\"p\",\"type\":\"t\",\"type_instance\":\"%s\"}]",
		 values, type_instance);
	return body;
}

static struct collectd_table *table(size_t max)
{
	struct collectd_table *t;

	assert_int_equal(collectd_table_new(max, 3600, &t), 0);
	return t;
}

static void test_gauge(void **state)
{
	struct collectd_table *t = table(16);

	assert_int_equal(parse(t,
			       "[{\"values\":[167776256],\"dstypes\":[\"gauge\"],\"dsnames\":"
			       "[\"value\"],\"time\":1795244714.655,\"interval\":1.000,\"host\":"
			       "\"h\",\"plugin\":\"memory\",\"plugin_instance\":\"\",\"type\":"
			       "\"memory\",\"type_instance\":\"used\"}]",
			       false),
			 0);
	assert_int_equal(result.lists_accepted, 1);
	assert_int_equal(result.lists_rejected, 0);
	assert_string_equal(result.first_error, "");
	assert_int_equal(n_readings, 1);
	assert_reading("memory/memory/used", LC_METRIC_GAUGE, 167776256);
	/* A gauge needs no baseline and no table entry. */
	assert_int_equal(collectd_table_size(t), 0);
	/* Negative and fractional gauges are fine. */
	assert_int_equal(parse(t,
			       "[{\"values\":[-12.5],\"dstypes\":[\"gauge\"],\"dsnames\":"
			       "[\"value\"],\"plugin\":\"sensors\",\"type\":\"temperature\"}]",
			       false),
			 0);
	assert_reading("sensors/temperature", LC_METRIC_GAUGE, -12.5);
	collectd_table_free(t);
}

static void test_load_several_values(void **state)
{
	struct collectd_table *t = table(16);

	assert_int_equal(parse(t,
			       "[{\"values\":[2.11083984375,0.96337890625,0.765625],\"dstypes\":"
			       "[\"gauge\",\"gauge\",\"gauge\"],\"dsnames\":[\"shortterm\","
			       "\"midterm\",\"longterm\"],\"time\":1795244714.655,\"interval\":"
			       "1.000,\"host\":\"h\",\"plugin\":\"load\",\"plugin_instance\":\"\","
			       "\"type\":\"load\",\"type_instance\":\"\"}]",
			       true),
			 0);
	assert_int_equal(n_readings, 3);
	assert_reading("load/load/shortterm", LC_METRIC_GAUGE, 2.11083984375);
	assert_reading("load/load/midterm", LC_METRIC_GAUGE, 0.96337890625);
	assert_reading("load/load/longterm", LC_METRIC_GAUGE, 0.765625);
	collectd_table_free(t);
}

static void test_if_octets_raw(void **state)
{
	struct collectd_table *t = table(16);

	assert_int_equal(parse(t, if_octets("1000,2000"), false), 0);
	/* The first values are only a baseline. */
	assert_int_equal(n_readings, 0);
	assert_int_equal(result.values_baseline, 2);
	assert_int_equal(result.lists_accepted, 1);
	assert_int_equal(collectd_table_size(t), 2);

	assert_int_equal(parse(t, if_octets("1500,2001"), false), 0);
	assert_int_equal(n_readings, 2);
	assert_int_equal(result.values_baseline, 0);
	assert_reading("interface/eth0/if_octets/rx", LC_METRIC_COUNTER, 500);
	assert_reading("interface/eth0/if_octets/tx", LC_METRIC_COUNTER, 1);

	/* No change is an increase of 0, still reported. */
	assert_int_equal(parse(t, if_octets("1500,2001"), false), 0);
	assert_reading("interface/eth0/if_octets/rx", LC_METRIC_COUNTER, 0);
	collectd_table_free(t);
}

static void test_derive_reset(void **state)
{
	struct collectd_table *t = table(16);

	assert_int_equal(parse(t, cpu_idle("100"), false), 0);
	assert_int_equal(parse(t, cpu_idle("50"), false), 0);
	/* Going down is a reset: a new baseline, no increase. */
	assert_int_equal(n_readings, 0);
	assert_int_equal(result.values_reset, 1);
	assert_int_equal(parse(t, cpu_idle("70"), false), 0);
	assert_reading("cpu/0/cpu/idle", LC_METRIC_COUNTER, 20);

	/* Negative derives are allowed, and the full int64_t range works without overflow. */
	assert_int_equal(parse(t, cpu_idle("-9223372036854775808"), false), 0);
	assert_int_equal(result.values_reset, 1);
	assert_int_equal(parse(t, cpu_idle("9223372036854775807"), false), 0);
	assert_reading("cpu/0/cpu/idle", LC_METRIC_COUNTER, 18446744073709551615.0);
	collectd_table_free(t);
}

static void test_counter_wrap(void **state)
{
	struct collectd_table *t = table(16);

	assert_true(collectd_counter_diff(10, 15) == 5);
	assert_true(collectd_counter_diff(7, 7) == 0);
	/* A 32-bit counter wraps at 2^32... */
	assert_true(collectd_counter_diff(4294967290ULL, 5) == 11);
	assert_true(collectd_counter_diff(UINT32_MAX, 0) == 1);
	/* ...one that had gone beyond 32 bits at 2^64. */
	assert_true(collectd_counter_diff(4294967296ULL, 0) == 18446744069414584320ULL);
	assert_true(collectd_counter_diff(UINT64_MAX - 5, 4) == 10);

	assert_int_equal(parse(t, counter("4294967290", "c32"), false), 0);
	assert_int_equal(result.values_baseline, 1);
	assert_int_equal(parse(t, counter("5", "c32"), false), 0);
	assert_int_equal(result.values_reset, 0);
	assert_reading("p/t/c32", LC_METRIC_COUNTER, 11);

	assert_int_equal(parse(t, counter("18446744073709551610", "c64"), false), 0);
	assert_int_equal(parse(t, counter("4", "c64"), false), 0);
	assert_reading("p/t/c64", LC_METRIC_COUNTER, 10);

	/* A key that changes its data-source type starts again from a baseline. */
	assert_int_equal(parse(t,
			       "[{\"values\":[3],\"dstypes\":[\"derive\"],\"dsnames\":[\"value\"],"
			       "\"plugin\":\"p\",\"type\":\"t\",\"type_instance\":\"c64\"}]",
			       false),
			 0);
	assert_int_equal(n_readings, 0);
	assert_int_equal(result.values_baseline, 1);
	collectd_table_free(t);
}

static void test_absolute(void **state)
{
	struct collectd_table *t = table(16);
	const char *body = "[{\"values\":[37],\"dstypes\":[\"absolute\"],\"dsnames\":[\"value\"],"
			   "\"interval\":10,\"plugin\":\"p\",\"type\":\"t\"}]";
	const char *rate = "[{\"values\":[3.7],\"dstypes\":[\"absolute\"],\"dsnames\":"
			   "[\"value\"],\"interval\":10,\"plugin\":\"p\",\"type\":\"t\"}]";

	/* Raw: already the increase, no baseline needed. */
	assert_int_equal(parse(t, body, false), 0);
	assert_reading("p/t", LC_METRIC_COUNTER, 37);
	assert_int_equal(result.values_baseline, 0);
	assert_int_equal(collectd_table_size(t), 0);
	/* Rate: per second, over the interval. */
	assert_int_equal(parse(t, rate, true), 0);
	assert_reading("p/t", LC_METRIC_COUNTER, 37);
	collectd_table_free(t);
}

static void test_rates(void **state)
{
	struct collectd_table *t = table(16);

	assert_int_equal(
		parse(t,
		      "[{\"values\":[10.5,null,-3,2],\"dstypes\":[\"counter\",\"derive\","
		      "\"derive\",\"gauge\"],\"dsnames\":[\"a\",\"b\",\"c\",\"d\"],\"time\":"
		      "1.5,\"interval\":10.0,\"plugin\":\"p\",\"type\":\"t\"}]",
		      true),
		0);
	assert_int_equal(result.lists_accepted, 1);
	assert_int_equal(n_readings, 2);
	assert_reading("p/t/a", LC_METRIC_COUNTER, 105);
	assert_reading("p/t/d", LC_METRIC_GAUGE, 2);
	/* null: collectd's first rate is NaN; a negative rate is a derive that went down. */
	assert_int_equal(result.values_nan, 1);
	assert_int_equal(result.values_reset, 1);
	assert_false(has("p/t/b"));
	assert_false(has("p/t/c"));
	/* Rates need no table. */
	assert_int_equal(collectd_table_size(t), 0);

	/* A rate without an interval is no increase: rejected. */
	assert_int_equal(parse(t,
			       "[{\"values\":[1],\"dstypes\":[\"derive\"],\"dsnames\":[\"value\"],"
			       "\"plugin\":\"p\",\"type\":\"t\"}]",
			       true),
			 0);
	assert_int_equal(result.lists_rejected, 1);
	assert_non_null(strstr(result.first_error, "interval"));
	assert_int_equal(parse(t,
			       "[{\"values\":[1],\"dstypes\":[\"counter\"],\"dsnames\":[\"value\"],"
			       "\"interval\":0,\"plugin\":\"p\",\"type\":\"t\"}]",
			       true),
			 0);
	assert_int_equal(result.lists_rejected, 1);
	/* A gauge needs no interval, nor does a null rate. */
	assert_int_equal(
		parse(t,
		      "[{\"values\":[1,null],\"dstypes\":[\"gauge\",\"derive\"],\"dsnames\":"
		      "[\"g\",\"d\"],\"plugin\":\"p\",\"type\":\"t\"}]",
		      true),
		0);
	assert_int_equal(result.lists_accepted, 1);
	/* Raw mode ignores the interval. */
	assert_int_equal(parse(t,
			       "[{\"values\":[5],\"dstypes\":[\"derive\"],\"dsnames\":[\"value\"],"
			       "\"plugin\":\"p\",\"type\":\"t\"}]",
			       false),
			 0);
	assert_int_equal(result.lists_accepted, 1);
	collectd_table_free(t);
}

static void test_real_bodies(void **state)
{
	struct collectd_table *t = table(64);

	assert_int_equal(parse(t, real_raw, false), 0);
	assert_int_equal(result.lists_accepted, 6);
	assert_int_equal(result.lists_rejected, 0);
	/* Gauges at once; 7 derives as baselines. */
	assert_int_equal(n_readings, 2);
	assert_int_equal(result.values_baseline, 7);
	assert_reading("memory/memory/used", LC_METRIC_GAUGE, 203608064);
	assert_reading("memory/memory/buffered", LC_METRIC_GAUGE, 13561856);
	/* The same body again: every derive increased by 0. */
	assert_int_equal(parse(t, real_raw, false), 0);
	assert_int_equal(n_readings, 9);
	assert_reading("interface/eth0/if_octets/rx", LC_METRIC_COUNTER, 0);
	assert_reading("cpu/0/cpu/idle", LC_METRIC_COUNTER, 0);
	assert_reading("interface/eth0/if_errors/tx", LC_METRIC_COUNTER, 0);

	assert_int_equal(parse(t, real_rates, true), 0);
	assert_int_equal(result.lists_accepted, 5);
	assert_int_equal(n_readings, 7);
	assert_reading("memory/memory/free", LC_METRIC_GAUGE, 24341856256.0);
	assert_reading("interface/lo/if_packets/rx", LC_METRIC_COUNTER, 665.220090956091);
	assert_reading("interface/lo/if_octets/tx", LC_METRIC_COUNTER, 158577.560548514);
	assert_reading("cpu/0/cpu/idle", LC_METRIC_COUNTER, 87.0095375334365);
	collectd_table_free(t);
}

static void test_keys(void **state)
{
	struct collectd_table *t = table(16);
	const struct {
		const char *plugin_instance, *type_instance, *dsnames, *key;
	} cases[] = {
		{ "\"0\"", "\"idle\"", "[\"value\"]", "cpu/0/cpu/idle" },
		{ "\"\"", "\"idle\"", "[\"value\"]", "cpu/cpu/idle" },
		{ NULL, "\"idle\"", "[\"value\"]", "cpu/cpu/idle" },
		{ "\"0\"", "\"\"", "[\"value\"]", "cpu/0/cpu" },
		{ "\"0\"", NULL, "[\"value\"]", "cpu/0/cpu" },
		{ NULL, NULL, "[\"value\"]", "cpu/cpu" },
		{ "\"\"", "\"\"", "[\"value\"]", "cpu/cpu" },
		/* A lone data source keeps its name unless it is "value". */
		{ NULL, NULL, "[\"used\"]", "cpu/cpu/used" },
		{ "\"a b\"", "\"x\\\"y\"", "[\"value\"]", "cpu/a b/cpu/x\"y" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *l =
			list("[1]", "[\"gauge\"]", cases[i].dsnames, "\"cpu\"",
			     cases[i].plugin_instance, "\"cpu\"", cases[i].type_instance);
		_cleanup_free_ char *body = NULL;

		assert_true(asprintf(&body, "[%s]", l) > 0);
		assert_int_equal(parse(t, body, false), 0);
		assert_int_equal(result.lists_accepted, 1);
		assert_int_equal(n_readings, 1);
		assert_string_equal(readings[0].key, cases[i].key);
	}
	/* "value" among several data sources is kept. */
	assert_int_equal(parse(t,
			       "[{\"values\":[1,2],\"dstypes\":[\"gauge\",\"gauge\"],\"dsnames\":"
			       "[\"value\",\"other\"],\"plugin\":\"p\",\"type\":\"t\"}]",
			       false),
			 0);
	assert_reading("p/t/value", LC_METRIC_GAUGE, 1);
	assert_reading("p/t/other", LC_METRIC_GAUGE, 2);
	collectd_table_free(t);
}

static void test_key_length(void **state)
{
	struct collectd_table *t = table(16);
	char name[LC_METRIC_KEY_MAX + 2], body[512];

	/* "p/" + name + "/t" is exactly the maximum: accepted. */
	memset(name, 'n', LC_METRIC_KEY_MAX - 4);
	name[LC_METRIC_KEY_MAX - 4] = '\0';
	snprintf(body, sizeof(body),
		 "[{\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"plugin\":"
		 "\"p\",\"plugin_instance\":\"%s\",\"type\":\"t\"}]",
		 name);
	assert_int_equal(parse(t, body, false), 0);
	assert_int_equal(result.lists_accepted, 1);
	assert_int_equal(strlen(readings[0].key), LC_METRIC_KEY_MAX);
	/* One byte more, or through the dsname: rejected. */
	snprintf(body, sizeof(body),
		 "[{\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"plugin\":"
		 "\"p\",\"plugin_instance\":\"%sx\",\"type\":\"t\"}]",
		 name);
	assert_int_equal(parse(t, body, false), 0);
	assert_int_equal(result.lists_rejected, 1);
	assert_non_null(strstr(result.first_error, "longer than"));
	snprintf(body, sizeof(body),
		 "[{\"values\":[1,2],\"dstypes\":[\"gauge\",\"gauge\"],\"dsnames\":[\"a\",\"b\"],"
		 "\"plugin\":\"p\",\"plugin_instance\":\"%s\",\"type\":\"t\"}]",
		 name);
	assert_int_equal(parse(t, body, false), 0);
	assert_int_equal(result.lists_rejected, 1);
	assert_int_equal(n_readings, 0);
	collectd_table_free(t);
}

static void test_null_values(void **state)
{
	struct collectd_table *t = table(16);

	assert_int_equal(
		parse(t,
		      "[{\"values\":[null,3,null],\"dstypes\":[\"gauge\",\"gauge\",\"counter\"],"
		      "\"dsnames\":[\"a\",\"b\",\"c\"],\"plugin\":\"p\",\"type\":\"t\"}]",
		      false),
		0);
	/* NaN is not a rejection. */
	assert_int_equal(result.lists_accepted, 1);
	assert_int_equal(result.lists_rejected, 0);
	assert_int_equal(result.values_nan, 2);
	assert_int_equal(n_readings, 1);
	assert_reading("p/t/b", LC_METRIC_GAUGE, 3);
	assert_int_equal(collectd_table_size(t), 0);
	collectd_table_free(t);
}

static void test_meta(void **state)
{
	struct collectd_table *t = table(16);

	assert_int_equal(parse(t,
			       "[{\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],"
			       "\"plugin\":\"p\",\"type\":\"t\",\"meta\":{\"k\":\"v\",\"n\":-3,"
			       "\"u\":18446744073709551615,\"d\":1.5,\"b\":true,\"o\":{\"x\":[1]}},"
			       "\"unknown\":[{}]}]",
			       false),
			 0);
	assert_int_equal(result.lists_accepted, 1);
	assert_reading("p/t", LC_METRIC_GAUGE, 1);
	collectd_table_free(t);
}

static void test_good_and_bad_mixed(void **state)
{
	struct collectd_table *t = table(16);

	assert_int_equal(parse(t,
			       "[{\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],"
			       "\"plugin\":\"a\",\"type\":\"t\"},"
			       "{\"values\":[2],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],"
			       "\"type\":\"t\"},"
			       "{\"values\":[3],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],"
			       "\"plugin\":\"c\",\"type\":\"t\"},"
			       "42,"
			       "{\"values\":[4],\"dstypes\":[\"bogus\"],\"dsnames\":[\"value\"],"
			       "\"plugin\":\"e\",\"type\":\"t\"}]",
			       false),
			 0);
	assert_int_equal(result.lists_accepted, 2);
	assert_int_equal(result.lists_rejected, 3);
	assert_int_equal(n_readings, 2);
	assert_reading("a/t", LC_METRIC_GAUGE, 1);
	assert_reading("c/t", LC_METRIC_GAUGE, 3);
	/* The first rejection is named with its position. */
	assert_string_equal(result.first_error, "value list 1: \"plugin\" is missing");

	/* A bad value anywhere in a list keeps the whole list out, the table untouched. */
	assert_int_equal(
		parse(t,
		      "[{\"values\":[5,\"x\"],\"dstypes\":[\"counter\",\"gauge\"],\"dsnames\":"
		      "[\"a\",\"b\"],\"plugin\":\"p\",\"type\":\"t\"}]",
		      false),
		0);
	assert_int_equal(result.lists_rejected, 1);
	assert_int_equal(n_readings, 0);
	assert_int_equal(collectd_table_size(t), 0);
	collectd_table_free(t);
}

/* Every field with every wrong type or value: the list is rejected, naming the field. */
static void test_wrong_fields(void **state)
{
	const struct {
		const char *members; /* the value list's members */
		const char *error;   /* expected in first_error */
		bool store_rates;
	} cases[] = {
#define OK_DS "\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"]"
#define OK_PT "\"plugin\":\"p\",\"type\":\"t\""
		{ OK_DS "," OK_PT, "\"values\" is missing" },
		{ "\"values\":1," OK_DS "," OK_PT, "\"values\": expected an array, got int" },
		{ "\"values\":null," OK_DS "," OK_PT, "\"values\": expected an array, got null" },
		{ "\"values\":{}," OK_DS "," OK_PT, "\"values\": expected an array, got object" },
		{ "\"values\":[],\"dstypes\":[],\"dsnames\":[]," OK_PT, "1 to 64 elements, got 0" },
		{ "\"values\":[1],\"dsnames\":[\"value\"]," OK_PT, "\"dstypes\" is missing" },
		{ "\"values\":[1],\"dstypes\":\"gauge\",\"dsnames\":[\"value\"]," OK_PT,
		  "\"dstypes\": expected an array, got string" },
		{ "\"values\":[1],\"dstypes\":[\"gauge\"]," OK_PT, "\"dsnames\" is missing" },
		{ "\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":{}," OK_PT,
		  "\"dsnames\": expected an array" },
		/* Mismatched lengths, either way. */
		{ "\"values\":[1,2],\"dstypes\":[\"gauge\"],\"dsnames\":[\"a\",\"b\"]," OK_PT,
		  "\"dstypes\": 1 elements, but \"values\" has 2" },
		{ "\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"a\",\"b\"]," OK_PT,
		  "\"dsnames\": 2 elements, but \"values\" has 1" },
		{ "\"values\":[1],\"dstypes\":[\"gauge\",\"gauge\"],\"dsnames\":[\"a\"]," OK_PT,
		  "\"dstypes\": 2 elements" },
		{ "\"values\":[1],\"dstypes\":[1],\"dsnames\":[\"value\"]," OK_PT,
		  "\"dstypes\"[0]: expected a string, got int" },
		{ "\"values\":[1],\"dstypes\":[null],\"dsnames\":[\"value\"]," OK_PT,
		  "\"dstypes\"[0]: expected a string, got null" },
		{ "\"values\":[1],\"dstypes\":[\"Gauge\"],\"dsnames\":[\"value\"]," OK_PT,
		  "unknown data-source type \"Gauge\"" },
		{ "\"values\":[1],\"dstypes\":[\"\"],\"dsnames\":[\"value\"]," OK_PT,
		  "unknown data-source type \"\"" },
		{ "\"values\":[1],\"dstypes\":[\"a\\nb\\u00e9c\"],\"dsnames\":[\"value\"]," OK_PT,
		  "unknown data-source type \"a?b??c\"" },
		{ "\"values\":[1],\"dstypes\":[\"0123456789012345678901234567890123456789\"],"
		  "\"dsnames\":[\"value\"]," OK_PT,
		  "type \"01234567890123456789012345678901\"" },
		{ "\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[true]," OK_PT,
		  "\"dsnames\"[0]: expected a string, got boolean" },
		{ "\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"\"]," OK_PT,
		  "\"dsnames\"[0]: empty" },
		{ "\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"a\\u0000b\"]," OK_PT,
		  "\"dsnames\"[0]: empty or holding a NUL" },
		{ "\"values\":[1]," OK_DS ",\"type\":\"t\"", "\"plugin\" is missing" },
		{ "\"values\":[1]," OK_DS ",\"plugin\":\"\",\"type\":\"t\"", "\"plugin\": empty" },
		{ "\"values\":[1]," OK_DS ",\"plugin\":7,\"type\":\"t\"",
		  "\"plugin\": expected a string, got int" },
		{ "\"values\":[1]," OK_DS ",\"plugin\":\"a\\u0000\",\"type\":\"t\"",
		  "\"plugin\": a NUL byte" },
		{ "\"values\":[1]," OK_DS ",\"plugin\":\"p\"", "\"type\" is missing" },
		{ "\"values\":[1]," OK_DS ",\"plugin\":\"p\",\"type\":\"\"", "\"type\": empty" },
		{ "\"values\":[1]," OK_DS ",\"plugin\":\"p\",\"type\":[]",
		  "\"type\": expected a string, got array" },
		{ "\"values\":[1]," OK_DS "," OK_PT ",\"plugin_instance\":0",
		  "\"plugin_instance\": expected a string, got int" },
		{ "\"values\":[1]," OK_DS "," OK_PT ",\"plugin_instance\":null",
		  "\"plugin_instance\": expected a string, got null" },
		{ "\"values\":[1]," OK_DS "," OK_PT ",\"type_instance\":{}",
		  "\"type_instance\": expected a string, got object" },
		{ "\"values\":[1]," OK_DS "," OK_PT ",\"host\":1", "\"host\": expected a string" },
		{ "\"values\":[1]," OK_DS "," OK_PT ",\"time\":\"now\"",
		  "\"time\": expected a number, got string" },
		{ "\"values\":[1]," OK_DS "," OK_PT ",\"time\":-1",
		  "\"time\": expected a non-neg" },
		{ "\"values\":[1]," OK_DS "," OK_PT ",\"interval\":\"10\"",
		  "\"interval\": expected a number, got string" },
		{ "\"values\":[1]," OK_DS "," OK_PT ",\"interval\":-10",
		  "\"interval\": expected a non-negative number" },
		{ "\"values\":[1]," OK_DS "," OK_PT ",\"interval\":null",
		  "\"interval\": expected a number, got null" },
		{ "\"values\":[1]," OK_DS "," OK_PT ",\"meta\":[]",
		  "\"meta\": expected an object, got array" },
		{ "\"values\":[1]," OK_DS "," OK_PT ",\"meta\":\"k=v\"",
		  "\"meta\": expected an object, got string" },
		/* Values. */
		{ "\"values\":[\"1\"]," OK_DS "," OK_PT,
		  "\"values\"[0]: expected a number, got string" },
		{ "\"values\":[true]," OK_DS "," OK_PT,
		  "\"values\"[0]: expected a number, got boolean" },
		{ "\"values\":[[1]]," OK_DS "," OK_PT,
		  "\"values\"[0]: expected a number, got array" },
		{ "\"values\":[NaN]," OK_DS "," OK_PT, "\"values\"[0]: not a finite number" },
		{ "\"values\":[Infinity]," OK_DS "," OK_PT, "\"values\"[0]: not a finite number" },
		{ "\"values\":[-1e999]," OK_DS "," OK_PT, "\"values\"[0]: not a finite number" },
		{ "\"values\":[1.5],\"dstypes\":[\"counter\"],\"dsnames\":[\"value\"]," OK_PT,
		  "\"values\"[0]: expected an integer for a counter, got double" },
		{ "\"values\":[1e3],\"dstypes\":[\"derive\"],\"dsnames\":[\"value\"]," OK_PT,
		  "expected an integer for a derive, got double" },
		{ "\"values\":[\"5\"],\"dstypes\":[\"absolute\"],\"dsnames\":[\"value\"]," OK_PT,
		  "expected an integer for a absolute, got string" },
		{ "\"values\":[-1],\"dstypes\":[\"counter\"],\"dsnames\":[\"value\"]," OK_PT,
		  "\"values\"[0]: a negative counter" },
		{ "\"values\":[-5],\"dstypes\":[\"absolute\"],\"dsnames\":[\"value\"]," OK_PT,
		  "\"values\"[0]: a negative absolute" },
		{ "\"values\":[9223372036854775808],\"dstypes\":[\"derive\"],\"dsnames\":["
		  "\"value\"]," OK_PT,
		  "beyond a 64-bit signed derive" },
		{ "\"values\":[\"1\"],\"dstypes\":[\"derive\"],\"dsnames\":[\"value\"],"
		  "\"interval\":1," OK_PT,
		  "expected a number, got string", true },
		{ "\"values\":[1e300],\"dstypes\":[\"derive\"],\"dsnames\":[\"value\"],"
		  "\"interval\":"
		  "1e10," OK_PT,
		  "rate × interval is not finite", true },
		{ "\"values\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,"
		  "26,27,"
		  "28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,"
		  "54,55,"
		  "56,57,58,59,60,61,62,63,64,65]," OK_DS "," OK_PT,
		  "\"values\": expected 1 to 64 elements, got 65" },
#undef OK_DS
#undef OK_PT
	};
	struct collectd_table *t = table(16);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *body = NULL;

		assert_true(asprintf(&body, "[{%s}]", cases[i].members) > 0);
		assert_int_equal(parse(t, body, cases[i].store_rates), 0);
		if (result.lists_rejected != 1 || !strstr(result.first_error, cases[i].error))
			fail_msg("case %zu: %s: got \"%s\", expected \"%s\"", i, body,
				 result.first_error, cases[i].error);
		assert_int_equal(result.lists_accepted, 0);
		assert_int_equal(n_readings, 0);
	}
	assert_int_equal(collectd_table_size(t), 0);

	/* Value lists that are not objects. */
	assert_int_equal(parse(t, "[1, \"x\", [], null, true]", false), 0);
	assert_int_equal(result.lists_rejected, 5);
	assert_string_equal(result.first_error, "value list 0: expected an object, got int");
	collectd_table_free(t);
}

static void test_huge_numbers(void **state)
{
	struct collectd_table *t = table(16);

	assert_int_equal(parse(t,
			       "[{\"values\":[1e308,-1.7976931348623157e308,4.9e-324],\"dstypes\":"
			       "[\"gauge\",\"gauge\",\"gauge\"],\"dsnames\":[\"a\",\"b\",\"c\"],"
			       "\"plugin\":\"p\",\"type\":\"t\"}]",
			       false),
			 0);
	assert_int_equal(result.lists_accepted, 1);
	assert_reading("p/t/a", LC_METRIC_GAUGE, 1e308);
	assert_reading("p/t/b", LC_METRIC_GAUGE, -1.7976931348623157e308);
	/* The largest counter json-c can hold is taken... */
	assert_int_equal(parse(t,
			       "[{\"values\":[18446744073709551615],\"dstypes\":[\"counter\"],"
			       "\"dsnames\":[\"value\"],\"plugin\":\"p\",\"type\":\"c\"}]",
			       false),
			 0);
	assert_int_equal(result.lists_accepted, 1);
	/* ...one beyond would be clamped by json-c: the whole body is refused instead. */
	assert_int_equal(parse(t,
			       "[{\"values\":[18446744073709551616],\"dstypes\":[\"counter\"],"
			       "\"dsnames\":[\"value\"],\"plugin\":\"p\",\"type\":\"c\"}]",
			       false),
			 -EINVAL);
	assert_string_equal(why, "integer out of the 64-bit range at byte 12");
	assert_int_equal(parse(t, "[-9223372036854775809]", false), -EINVAL);
	assert_int_equal(parse(t, "[123456789012345678901234567890]", false), -EINVAL);
	assert_int_equal(parse(t, "[-9223372036854775808, 0, -0, 1e400]", false), 0);
	/* Strings and exponents are not integers to check. */
	assert_int_equal(
		parse(t, "[\"99999999999999999999999\", 99999999999999999999999.0]", false), 0);
	assert_int_equal(result.lists_rejected, 2);
	collectd_table_free(t);
}

static void test_bodies_not_arrays(void **state)
{
	const struct {
		const char *body, *error;
	} cases[] = {
		{ "", "empty body, expected a JSON array" },
		{ " \r\n\t", "empty body, expected a JSON array" },
		{ "{\"values\":[1]}", "expected a JSON array, got '{' at byte 0" },
		{ "null", "expected a JSON array, got 'n' at byte 0" },
		{ "42", "expected a JSON array, got '4' at byte 0" },
		{ "\"[]\"", "expected a JSON array, got '\"' at byte 0" },
		{ "\x01[]", "expected a JSON array, got '?' at byte 0" },
		{ "[", "truncated JSON" },
		{ "[{\"values\":[1]", "truncated JSON" },
		{ "[1] x", "invalid JSON at byte 4" },
		{ "[][]", "invalid JSON at byte 2" },
		{ "[,]", "invalid JSON at byte 1" },
		{ "[1,]", "invalid JSON" },
		{ "[01]", "invalid JSON" },
		{ "[nan]", "invalid JSON" },
		{ "[\"\\x\"]", "invalid JSON" },
		{ "[/* comment */]", "invalid JSON" },
	};
	struct collectd_table *t = table(16);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (parse(t, cases[i].body, false) != -EINVAL ||
		    strncmp(why, cases[i].error, strlen(cases[i].error)) != 0)
			fail_msg("case %zu: got \"%s\", expected \"%s\"", i, why, cases[i].error);
		assert_int_equal(n_readings, 0);
	}
	/* A NUL byte inside the body. */
	n_readings = 0;
	assert_int_equal(collectd_parse_body("[1]\0", 4, false, t, 0, on_reading,
					     (void *)(intptr_t)42, &result, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "data after the JSON array at byte 3");
	/* White space around the array is fine. */
	assert_int_equal(parse(t, " \n[ ] \r\n", false), 0);
	collectd_table_free(t);
}

static void test_empty_array(void **state)
{
	struct collectd_table *t = table(16);

	assert_int_equal(parse(t, "[]", false), 0);
	assert_int_equal(result.lists_accepted, 0);
	assert_int_equal(result.lists_rejected, 0);
	assert_int_equal(result.values_nan, 0);
	assert_string_equal(result.first_error, "");
	assert_int_equal(n_readings, 0);
	collectd_table_free(t);
}

static void test_deep_nesting(void **state)
{
	struct collectd_table *t = table(16);
	char body[4096];
	size_t n = 0;

	/* A meta object nested to the limit (its innermost number 8 deep): fine. */
	assert_int_equal(
		parse(t,
		      "[{\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],"
		      "\"plugin\":\"p\",\"type\":\"t\",\"meta\":{\"a\":{\"b\":{\"c\":{\"d\":"
		      "{\"e\":1}}}}}}]",
		      false),
		0);
	assert_int_equal(result.lists_accepted, 1);
	/* One level more is refused as a whole. */
	assert_int_equal(
		parse(t,
		      "[{\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],"
		      "\"plugin\":\"p\",\"type\":\"t\",\"meta\":{\"a\":{\"b\":{\"c\":{\"d\":"
		      "{\"e\":[1]}}}}}}]",
		      false),
		-EINVAL);
	assert_string_equal(why, "JSON nested deeper than 8");
	assert_int_equal(n_readings, 0);

	/* A thousand levels. */
	for (; n < 1000; n++)
		body[n] = '[';
	for (; n < 2000; n++)
		body[n] = ']';
	body[n] = '\0';
	assert_int_equal(parse(t, body, false), -EINVAL);
	assert_string_equal(why, "JSON nested deeper than 8");
	collectd_table_free(t);
}

static void test_too_many_values(void **state)
{
	struct collectd_table *t = table(16);
	size_t n = 2 * COLLECTD_JSON_MAX_VALUES + 2;
	char *body = malloc(n + 1);

	assert_non_null(body);
	/* [0,0,...,0]: 1 + COLLECTD_JSON_MAX_VALUES values, counting the array itself. */
	body[0] = '[';
	for (size_t i = 0; i < COLLECTD_JSON_MAX_VALUES; i++) {
		body[1 + 2 * i] = '0';
		body[2 + 2 * i] = ',';
	}
	body[2 * COLLECTD_JSON_MAX_VALUES] = ']';
	body[2 * COLLECTD_JSON_MAX_VALUES + 1] = '\0';
	assert_int_equal(parse(t, body, false), -EINVAL);
	assert_string_equal(why, "more than 65536 JSON values");
	/* One less passes the scan (and every element is a rejected list). */
	body[2 * COLLECTD_JSON_MAX_VALUES - 2] = ']';
	body[2 * COLLECTD_JSON_MAX_VALUES - 1] = '\0';
	assert_int_equal(parse(t, body, false), 0);
	assert_int_equal(result.lists_rejected, COLLECTD_JSON_MAX_VALUES - 1);
	/* Commas and brackets inside strings are not values. */
	memset(body, ',', n);
	body[0] = '[';
	body[1] = '"';
	body[n - 3] = '"';
	body[n - 2] = ']';
	body[n - 1] = '\0';
	assert_int_equal(parse(t, body, false), 0);
	assert_int_equal(result.lists_rejected, 1);
	free(body);
	collectd_table_free(t);
}

static void test_table_bound(void **state)
{
	struct collectd_table *t = table(16);
	char body[256];

	/* 20 keys in a table of 16: 4 are counted and skipped. */
	for (int i = 0; i < 20; i++) {
		snprintf(body, sizeof(body),
			 "[{\"values\":[%d],\"dstypes\":[\"derive\"],\"dsnames\":[\"value\"],"
			 "\"plugin\":\"p\",\"type\":\"t\",\"type_instance\":\"k%d\"}]",
			 i, i);
		assert_int_equal(parse_at(t, body, false, 100), 0);
		assert_int_equal(result.lists_accepted, 1);
		assert_int_equal(result.values_baseline, i < 16 ? 1 : 0);
		assert_int_equal(result.values_untracked, i < 16 ? 0 : 1);
	}
	assert_int_equal(collectd_table_size(t), 16);
	/* Known keys keep working. */
	assert_int_equal(
		parse_at(t,
			 "[{\"values\":[10],\"dstypes\":[\"derive\"],\"dsnames\":[\"value\"],"
			 "\"plugin\":\"p\",\"type\":\"t\",\"type_instance\":\"k3\"}]",
			 false, 200),
		0);
	assert_reading("p/t/k3", LC_METRIC_COUNTER, 7);
	/* Gauges, absolutes and rates need no entry. */
	assert_int_equal(
		parse_at(t,
			 "[{\"values\":[1,2],\"dstypes\":[\"gauge\",\"absolute\"],\"dsnames\":"
			 "[\"a\",\"b\"],\"plugin\":\"new\",\"type\":\"t\"}]",
			 false, 200),
		0);
	assert_int_equal(n_readings, 2);
	assert_int_equal(result.values_untracked, 0);

	/* Nothing is old enough to go yet. */
	assert_int_equal(collectd_table_prune(t, 100 + 3600), 0);
	/* An hour after they were last seen, all but k3 go. */
	assert_int_equal(collectd_table_prune(t, 100 + 3601), 15);
	assert_int_equal(collectd_table_size(t), 1);
	/* k3 is still known: no new baseline. */
	assert_int_equal(
		parse_at(t,
			 "[{\"values\":[12],\"dstypes\":[\"derive\"],\"dsnames\":[\"value\"],"
			 "\"plugin\":\"p\",\"type\":\"t\",\"type_instance\":\"k3\"}]",
			 false, 3800),
		0);
	assert_reading("p/t/k3", LC_METRIC_COUNTER, 2);
	collectd_table_free(t);

	/* A full table prunes by itself, at most once a minute. */
	t = table(16);
	for (int i = 0; i < 16; i++) {
		snprintf(body, sizeof(body),
			 "[{\"values\":[1],\"dstypes\":[\"counter\"],\"dsnames\":[\"value\"],"
			 "\"plugin\":\"p\",\"type\":\"t\",\"type_instance\":\"k%d\"}]",
			 i);
		assert_int_equal(parse_at(t, body, false, i < 8 ? 0 : 3000), 0);
	}
	snprintf(body, sizeof(body),
		 "[{\"values\":[1],\"dstypes\":[\"counter\"],\"dsnames\":[\"value\"],"
		 "\"plugin\":\"p\",\"type\":\"t\",\"type_instance\":\"new\"}]");
	assert_int_equal(parse_at(t, body, false, 3601), 0);
	assert_int_equal(result.values_baseline, 1);
	/* The 8 keys last seen at 0 went; the 8 seen at 3000 stayed. */
	assert_int_equal(collectd_table_size(t), 9);
	collectd_table_free(t);
	assert_null(collectd_table_free(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gauge),
		cmocka_unit_test(test_load_several_values),
		cmocka_unit_test(test_if_octets_raw),
		cmocka_unit_test(test_derive_reset),
		cmocka_unit_test(test_counter_wrap),
		cmocka_unit_test(test_absolute),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_real_bodies),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_key_length),
		cmocka_unit_test(test_null_values),
		cmocka_unit_test(test_meta),
		cmocka_unit_test(test_good_and_bad_mixed),
		cmocka_unit_test(test_wrong_fields),
		cmocka_unit_test(test_huge_numbers),
		cmocka_unit_test(test_bodies_not_arrays),
		cmocka_unit_test(test_empty_array),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_too_many_values),
		cmocka_unit_test(test_table_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
