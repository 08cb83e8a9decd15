/* SPDX-License-Identifier: MIT */
#include "crashlib.h"

int crashlib_descend(int depth, long cookie, crashlib_leaf_fn leaf)
{
	volatile int here = depth;

	if (depth == 0) {
		leaf(here, cookie);
		return here;
	}
	return crashlib_descend(depth - 1, cookie ^ (long)depth << 8, leaf) + here;
}
