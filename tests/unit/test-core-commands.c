/* SPDX-License-Identifier: MIT */
/* faultd's control commands (libcollector/runtime/core-commands.c): every command of the shared
 * table that faultd runs has a handler, every handler has such a command, and the server takes
 * the result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "commands.h"
#include "core-commands.h"
#include "macro.h"
#include "tmpdir.h"

static size_t daemon_commands(void)
{
	size_t n = 0;

	for (size_t i = 0; i < lc_commands_count; i++)
		if (lc_commands[i].runner == LC_COMMAND_DAEMON)
			n++;
	return n;
}

static void test_every_command_has_its_handler(void **state)
{
	_cleanup_free_ struct lc_control_command *cmds = NULL;
	const char *name = NULL, *why = NULL;
	size_t n = 0, j = 0;

	assert_int_equal(
		core_commands_bind(core_handlers, core_handlers_count, &cmds, &n, &name, &why), 0);
	/* One handler for each command faultd runs, and nothing else. */
	assert_int_equal(n, daemon_commands());
	assert_int_equal(n, core_handlers_count);
	for (size_t i = 0; i < lc_commands_count; i++) {
		const struct lc_command *cmd = &lc_commands[i];

		if (cmd->runner != LC_COMMAND_DAEMON)
			continue;
		/* In the table's order, with its privilege and summary. */
		assert_string_equal(cmds[j].name, cmd->name);
		assert_int_equal(cmds[j].privileged, cmd->privileged);
		assert_string_equal(cmds[j].summary, cmd->summary);
		assert_non_null(cmds[j].handler);
		j++;
	}
	for (size_t i = 0; i < core_handlers_count; i++) {
		const struct lc_command *cmd = lc_command_find(core_handlers[i].name);

		if (!cmd || cmd->runner != LC_COMMAND_DAEMON)
			fail_msg("handler \"%s\": no command faultd runs", core_handlers[i].name);
		for (size_t k = 0; k < i; k++)
			if (streq(core_handlers[k].name, core_handlers[i].name))
				fail_msg("two handlers for \"%s\"", core_handlers[i].name);
	}
}

static void test_a_command_without_handler_is_named(void **state)
{
	_cleanup_free_ struct core_handler *some = NULL;
	struct lc_control_command *cmds = NULL;
	const char *name = NULL, *why = NULL;
	size_t n = 0;

	/* All but the last handler. */
	some = calloc(core_handlers_count, sizeof(*some));
	assert_non_null(some);
	memcpy(some, core_handlers, (core_handlers_count - 1) * sizeof(*some));
	assert_int_equal(core_commands_bind(some, core_handlers_count - 1, &cmds, &n, &name, &why),
			 -ENOENT);
	assert_null(cmds);
	assert_string_equal(name, core_handlers[core_handlers_count - 1].name);
	assert_string_equal(why, "has no handler");
}

static void test_a_handler_without_command_is_named(void **state)
{
	_cleanup_free_ struct core_handler *more = NULL;
	struct lc_control_command *cmds = NULL;
	const char *name = NULL, *why = NULL;
	size_t n = 0;

	more = calloc(core_handlers_count + 1, sizeof(*more));
	assert_non_null(more);
	memcpy(more, core_handlers, core_handlers_count * sizeof(*more));
	more[core_handlers_count] =
		(struct core_handler){ "no-such-command", core_handlers[0].handler };
	assert_int_equal(core_commands_bind(more, core_handlers_count + 1, &cmds, &n, &name, &why),
			 -ENOENT);
	assert_null(cmds);
	assert_string_equal(name, "no-such-command");
	assert_string_equal(why, "has a handler but is no command faultd runs");

	/* Nor may faultd take over what the server or faultctl runs. */
	more[core_handlers_count].name = "help";
	assert_int_equal(core_commands_bind(more, core_handlers_count + 1, &cmds, &n, &name, &why),
			 -ENOENT);
	assert_string_equal(name, "help");
	more[core_handlers_count].name = "trigger-coredump";
	assert_int_equal(core_commands_bind(more, core_handlers_count + 1, &cmds, &n, &name, &why),
			 -ENOENT);
	assert_string_equal(name, "trigger-coredump");
}

/* The server takes the bound commands as they are (names, no "help" among them). */
static void test_the_server_registers_them(void **state)
{
	_cleanup_free_ struct lc_control_command *cmds = NULL;
	char dir[256], path[300];
	struct lc_control_options opts = { .group = (gid_t)-1 };
	const char *name = NULL, *why = NULL;
	struct lc_control *ctl = NULL;
	uv_loop_t loop;
	size_t n = 0;

	assert_int_equal(
		core_commands_bind(core_handlers, core_handlers_count, &cmds, &n, &name, &why), 0);
	assert_non_null(test_tmpdir_make(dir, sizeof(dir), "core-commands"));
	snprintf(path, sizeof(path), "%s/faultd.sock", dir);
	opts.path = path;
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(lc_control_new(&loop, &opts, &ctl), 0);
	assert_int_equal(lc_control_register(ctl, cmds, n, NULL), 0);
	lc_control_close(ctl);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(test_tmpdir_remove(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_command_has_its_handler),
		cmocka_unit_test(test_a_command_without_handler_is_named),
		cmocka_unit_test(test_a_handler_without_command_is_named),
		cmocka_unit_test(test_the_server_registers_them),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
