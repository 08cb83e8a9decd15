/* SPDX-License-Identifier: MIT */
/* Running a helper command with bounded output and time. */
#pragma once

#include <stddef.h>

/*
 * Runs `/bin/sh -c command` with stdin from /dev/null, capturing stdout (at most max_output
 * bytes; more kills the command and is -EFBIG) within timeout_ms (after which the command's
 * process group is killed and -ETIMEDOUT returned). stderr is passed through. Output holding a
 * NUL byte is -EBADMSG, since it could not be returned whole as a string. On success returns
 * 0 with *ret_output (NUL-terminated, owned) and *ret_status as from waitpid().
 */
int lc_run_capture(const char *command, unsigned timeout_ms, size_t max_output, char **ret_output,
		   int *ret_status);
