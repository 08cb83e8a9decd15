/* SPDX-License-Identifier: MIT */
/* Names shared by faultd, faultctl and faultd-core-handler about core dumps. */
#pragma once

#include <stdbool.h>

/* "SIGSEGV" for the signals whose default action dumps core, NULL for another. */
const char *lc_core_signal_name(int signo);

/* True when a kernel.core_pattern value pipes into a faultd-core-handler, whatever its path and
 * arguments. */
bool lc_core_pattern_is_faultd(const char *pattern);
