/* SPDX-License-Identifier: MIT */
/*
 * The record gate: whether an entry may be recorded at all, before anything of it is built. One
 * rule for every producer, faultd (its entries) and faultd-core-handler (the cores): nothing
 * without consent; then the fleet's sampling decides by the entry's class, and developer mode acts
 * as the highest sampling. Pure: the caller reads the switches and the sampling.
 */
#pragma once

#include <stdbool.h>

#include "sampling.h"

/*
 * Whether an entry of class cls (an enum lc_entry_class, or the negative errno that
 * lc_entry_class_from_type() gives for an unknown type, which no sampling allows) may be recorded
 * with data collection consent, developer mode dev_mode and the fleet's sampling (read only when
 * consent is given). Returns 0, or -EPERM (no consent) or -ECANCELED (the sampling excludes it)
 * with *ret_why a static phrase ("data collection is disabled").
 */
int lc_gate_check(bool consent, bool dev_mode, const struct lc_sampling *sampling, int cls,
		  const char **ret_why);
