/* SPDX-License-Identifier: MIT */
/* The record gate. See gate.h. */
#include <errno.h>

#include "gate.h"

int lc_gate_check(bool consent, bool dev_mode, const struct lc_sampling *sampling, int cls,
		  const char **ret_why)
{
	if (!consent) {
		*ret_why = "data collection is disabled";
		return -EPERM;
	}
	if (cls < 0 || cls >= _LC_CLASS_MAX ||
	    !lc_sampling_allows(sampling, (enum lc_entry_class)cls, dev_mode)) {
		*ret_why = "the fleet's sampling excludes this type of entry";
		return -ECANCELED;
	}
	return 0;
}
