/* SPDX-License-Identifier: MIT */
#include "clock.h"

uint64_t lc_clock_us(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000ULL;
}

uint64_t lc_clock_ms(clockid_t id)
{
	return lc_clock_us(id) / 1000ULL;
}

uint64_t lc_clock_monotonic_ms(void)
{
	return lc_clock_ms(CLOCK_MONOTONIC);
}
