/* SPDX-License-Identifier: MIT */
/* The control commands' table (libcollector/control/commands.c) that faultd and faultctl share:
 * every entry is whole and says what faultctl's help and parser need. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "commands.h"
#include "control.h"
#include "macro.h"

static size_t count_options(const struct lc_command *cmd)
{
	size_t n = 0;

	while (n < LC_COMMAND_OPTIONS_MAX && cmd->options[n].name)
		n++;
	return n;
}

static void test_names_are_valid_and_unique(void **state)
{
	assert_true(lc_commands_count > 0);
	for (size_t i = 0; i < lc_commands_count; i++) {
		const char *name = lc_commands[i].name;

		assert_non_null(name);
		if (!lc_control_command_name_valid(name))
			fail_msg("\"%s\" is not a valid command name", name);
		for (size_t j = 0; j < i; j++)
			if (streq(lc_commands[j].name, name))
				fail_msg("\"%s\" is in the table twice", name);
		assert_ptr_equal(lc_command_find(name), &lc_commands[i]);
	}
	assert_null(lc_command_find("no-such-command"));
	assert_null(lc_command_find(""));
}

static void test_every_entry_is_whole(void **state)
{
	for (size_t i = 0; i < lc_commands_count; i++) {
		const struct lc_command *cmd = &lc_commands[i];
		size_t len;

		assert_non_null(cmd->usage);
		assert_non_null(cmd->summary);
		len = strlen(cmd->summary);
		/* faultctl adds " (privileged)" and the full stop itself. */
		if (len == 0 || cmd->summary[len - 1] == '.' || strstr(cmd->summary, "privileged"))
			fail_msg("%s: summary \"%s\"", cmd->name, cmd->summary);
		if (cmd->internal) {
			/* Sent by faultd's own programs, never typed: faultd runs it. */
			assert_int_equal(cmd->runner, LC_COMMAND_DAEMON);
			continue;
		}
		if (!cmd->help || !cmd->help[0] || cmd->help[strlen(cmd->help) - 1] != '\n')
			fail_msg("%s: help must be text ending in a newline", cmd->name);
	}
}

/* The options an entry lists are the ones its usage line names, and the other way round. */
static void test_usage_names_the_options(void **state)
{
	for (size_t i = 0; i < lc_commands_count; i++) {
		const struct lc_command *cmd = &lc_commands[i];
		size_t n = count_options(cmd), named = 0;

		for (size_t k = 0; k < n; k++) {
			const struct lc_command_option *o = &cmd->options[k];

			if (strncmp(o->name, "--", 2) != 0 || !o->help || !o->help[0])
				fail_msg("%s: option %s is not whole", cmd->name, o->name);
			if (!strstr(cmd->usage, o->name))
				fail_msg("%s: usage \"%s\" does not name %s", cmd->name, cmd->usage,
					 o->name);
			if (o->value && !strstr(cmd->usage, o->value))
				fail_msg("%s: usage \"%s\" does not name %s's value %s", cmd->name,
					 cmd->usage, o->name, o->value);
		}
		for (const char *p = strstr(cmd->usage, "--"); p; p = strstr(p + 2, "--"))
			named++;
		if (named != n)
			fail_msg("%s: usage \"%s\" names %zu options, the entry has %zu", cmd->name,
				 cmd->usage, named, n);
	}
}

static void test_who_runs_what(void **state)
{
	const struct lc_command *cmd;
	size_t servers = 0;

	for (size_t i = 0; i < lc_commands_count; i++) {
		cmd = &lc_commands[i];
		if (cmd->runner == LC_COMMAND_SERVER)
			servers++;
		/* Only faultd checks privileges, and only for the commands it runs. */
		if (cmd->runner != LC_COMMAND_DAEMON && cmd->privileged)
			fail_msg("%s: privileged, but faultd does not run it", cmd->name);
	}
	/* The control server answers "help" itself (runtime/control-server.c). */
	assert_int_equal(servers, 1);
	cmd = lc_command_find("help");
	assert_non_null(cmd);
	assert_int_equal(cmd->runner, LC_COMMAND_SERVER);

	/* What changes state is privileged; what only reads is not. */
	assert_false(lc_command_find("status")->privileged);
	assert_false(lc_command_find("show-config")->privileged);
	assert_true(lc_command_find("enable-data-collection")->privileged);
	assert_true(lc_command_find("sync")->privileged);
	assert_true(lc_command_find("reboot")->privileged);

	/* faultd-core-handler's poke: faultd runs it, faultctl does not offer it. */
	cmd = lc_command_find("crash-reported");
	assert_non_null(cmd);
	assert_true(cmd->internal);
	assert_true(cmd->privileged);
	assert_int_equal(lc_command_find("trigger-coredump")->runner, LC_COMMAND_CLIENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_are_valid_and_unique),
		cmocka_unit_test(test_every_entry_is_whole),
		cmocka_unit_test(test_usage_names_the_options),
		cmocka_unit_test(test_who_runs_what),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
