/* SPDX-License-Identifier: MIT */
/*
 * UUIDs as faultd writes them (entries, boots): 36 lowercase characters, 8-4-4-4-12 hexadecimal
 * digits. The one place they are made and checked.
 */
#pragma once

#include <stdbool.h>

#define LC_UUID_LEN 36 /* characters, without the NUL */

/*
 * Makes a random (version 4) UUID into ret, with its NUL. Never blocks: early at boot the
 * kernel's pool may not be ready, and an id needs no more than /dev/urandom gives, so that is
 * read when getrandom() would block. Returns 0, or -errno (ret untouched) when neither source
 * can be read.
 */
int lc_uuid_random(char ret[static LC_UUID_LEN + 1]);

/* Whether s (may be NULL) is a lowercase UUID, 8-4-4-4-12 hexadecimal digits, and nothing more. */
bool lc_uuid_valid(const char *s);
