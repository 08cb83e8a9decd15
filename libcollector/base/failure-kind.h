/* SPDX-License-Identifier: MIT */
/*
 * A failure kind: a failure other than a crash that the fleet's stability is also measured by
 * (docs/hours.md, "Failure kinds"), such as wifi_disconnect. One check for every layer a kind
 * enters through: `faultctl report-failure`, the logs plugin's logs.failures, the hours ledger.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define LC_FAILURE_KIND_MAX 32

/* What a kind is, for error messages. */
#define LC_FAILURE_KIND_EXPECTED "1 to 32 of [a-z0-9_], beginning with a letter or a digit"

/* The kind failures are counted under beyond the ledger's cap on kinds; no name given to faultd
 * is this, as a kind begins with a letter or a digit. */
#define LC_FAILURE_KIND_OTHER "_other"

/* Whether s (len bytes) is a failure kind as faultd takes it (LC_FAILURE_KIND_EXPECTED). */
static inline bool lc_failure_kind_valid(const char *s, size_t len)
{
	if (len == 0 || len > LC_FAILURE_KIND_MAX || s[0] == '_')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}
