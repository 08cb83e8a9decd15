/* SPDX-License-Identifier: MIT */
/*
 * The handlers of faultd's control commands (core-commands.c), attached by name to the commands
 * the control layer describes (control/commands.h). Internal to the runtime.
 */
#pragma once

#include <stddef.h>

#include "control-server.h"

struct core_handler {
	const char *name; /* as lc_commands calls the command */
	lc_control_handler_t handler;
};

/* Every handler of faultd's commands; their userdata is the struct lc_core. */
extern const struct core_handler core_handlers[];
extern const size_t core_handlers_count;

/*
 * Pairs each command of lc_commands that faultd runs (LC_COMMAND_DAEMON) with the handler of the
 * same name among handlers (n of them), in lc_commands' order, for lc_control_register(). Returns
 * 0 with *ret (owned, free()) and *ret_n; -ENOENT with *ret_name (borrowed) and *ret_why (static)
 * when a command has no handler, or a handler no command faultd runs; or -ENOMEM.
 */
int core_commands_bind(const struct core_handler *handlers, size_t n,
		       struct lc_control_command **ret, size_t *ret_n, const char **ret_name,
		       const char **ret_why);
