/* SPDX-License-Identifier: MIT */
/*
 * A token-window rate limit: at most `burst` events per `interval_usec`. A pure function of the
 * time it is given, so callers decide which clock counts and tests decide what time it is.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct lc_ratelimit {
	uint64_t interval_usec;
	unsigned burst;
	uint64_t begin_usec; /* start of the current window */
	unsigned num; /* events seen in the current window, allowed or not; 0 before the first */
};

/*
 * Records one event at now_usec and returns true when it is within the limit. When a new window
 * opens, *ret_suppressed (if not NULL) receives how many events the previous window refused;
 * otherwise it is set to 0.
 */
bool lc_ratelimit_below(struct lc_ratelimit *rl, uint64_t now_usec, unsigned *ret_suppressed);
