/* SPDX-License-Identifier: MIT */
/* What a metric reading is, for every layer that names one: the kinds and the longest key. The
 * store of readings and its rules are ledger/metrics.h. */
#pragma once

#define LC_METRIC_KEY_MAX 128

enum lc_metric_kind {
	LC_METRIC_COUNTER,
	LC_METRIC_GAUGE,
	LC_METRIC_HISTOGRAM,
	LC_METRIC_SET,
	_LC_METRIC_KIND_MAX,
};
