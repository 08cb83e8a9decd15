/* SPDX-License-Identifier: MIT */
/*
 * Clock readings, the one home of clock_gettime(). Decisions take the time as an argument (they
 * are pure functions of it, STYLE.md habit 4); these are what the callers read to pass it.
 */
#pragma once

#include <stdint.h>
#include <time.h>

/* Clock id (CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME...) now, in milliseconds; 0 when the
 * kernel cannot read that clock. */
uint64_t lc_clock_ms(clockid_t id);

/* Clock id now, in microseconds; 0 when the kernel cannot read that clock. */
uint64_t lc_clock_us(clockid_t id);

/* CLOCK_MONOTONIC now, in milliseconds: the default of a now() seam that tests replace. */
uint64_t lc_clock_monotonic_ms(void);
