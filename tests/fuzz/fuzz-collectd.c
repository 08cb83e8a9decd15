/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for collectd's write_http JSON (plugins/collectd/collectd-parse.c): the input is
 * one request body. It is parsed twice with raw values against a small table (so that baselines,
 * increases, wraps, resets and a full table are all reached), then once as rates. Checked beyond
 * crashes: keys are 1 to LC_METRIC_KEY_MAX bytes without NUL, readings are finite, counter
 * increases are not negative, a refusal says why and the table keeps to its bound.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "collectd-parse.h"
#include "fuzz-util.h"

#define TABLE_MAX 8

struct seen {
	uint64_t readings;
};

static void on_reading(void *userdata, const char *key, size_t key_len, enum lc_metric_kind kind,
		       double value)
{
	struct seen *s = userdata;

	CHECK(key_len >= 1 && key_len <= LC_METRIC_KEY_MAX);
	CHECK(!memchr(key, 0, key_len));
	CHECK(isfinite(value));
	CHECK(kind == LC_METRIC_GAUGE || (kind == LC_METRIC_COUNTER && value >= 0));
	s->readings++;
}

static void parse(const uint8_t *data, size_t size, bool store_rates, struct collectd_table *t,
		  uint64_t now)
{
	struct collectd_result res;
	struct seen s = { 0 };
	char why[256];
	int r;

	why[0] = 0;
	r = collectd_parse_body((const char *)data, size, store_rates, t, now, on_reading, &s, &res,
				why, sizeof(why));
	CHECK(r == 0 || r == -EINVAL);
	CHECK(collectd_table_size(t) <= TABLE_MAX);
	if (r < 0) {
		CHECK(why[0] && s.readings == 0);
		return;
	}
	CHECK(res.lists_rejected == 0 || res.first_error[0]);
	CHECK(res.lists_accepted > 0 || s.readings == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct collectd_table *t = NULL;

	CHECK(collectd_table_new(TABLE_MAX, 60, &t) == 0);
	parse(data, size, false, t, 1000);
	parse(data, size, false, t, 1010);
	CHECK(collectd_table_prune(t, 2000) <= TABLE_MAX && collectd_table_size(t) == 0);
	parse(data, size, true, t, 2000);
	collectd_table_free(t);
	return 0;
}
