/* SPDX-License-Identifier: MIT */
/*
 * The control commands, described once: what each is called, what it takes, whether it needs
 * privileges, and what it does. faultd's control server takes the names, privileges and summaries
 * from here and attaches a handler to each of its commands by name (runtime/core-commands.c);
 * faultctl takes everything from here for its --help, its options and its commands' help, and
 * adds only how to build each request (daemon/faultctl.c). Descriptive only: no libuv, no handler.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define LC_COMMAND_OPTIONS_MAX 3

/* An option of a command, as faultctl takes it and its --help lists it. */
struct lc_command_option {
	const char *name;  /* "--reason"; NULL ends the list */
	const char *value; /* what its value is called ("R"); NULL for a switch */
	const char *help;  /* one line for the command's --help */
};

/* Who runs a command. */
enum lc_command_runner {
	LC_COMMAND_DAEMON, /* faultd, through the handler it attaches by name */
	LC_COMMAND_SERVER, /* the control server itself, for every daemon ("help"); faultctl
			    * answers it from this table without asking */
	LC_COMMAND_CLIENT, /* faultctl alone, without faultd ("trigger-coredump") */
};

struct lc_command {
	const char *name; /* "status": 1 to 64 printable ASCII characters without spaces */
	enum lc_command_runner runner;
	bool privileged;     /* changes state: needs root, faultd's user, or its control group */
	bool internal;	     /* sent by faultd's own programs (crash-reported): not in faultctl */
	const char *usage;   /* the arguments after the name, as faultctl takes them; "" for none */
	const char *summary; /* one line for `faultctl --help` and the `help` command's reply */
	/* The rest of `faultctl NAME --help`: what the command does, then its arguments; NULL
	 * for an internal command. */
	const char *help;
	struct lc_command_option options[LC_COMMAND_OPTIONS_MAX];
};

/* Every command, in the order faultctl --help and the `help` reply list them. */
extern const struct lc_command lc_commands[];
extern const size_t lc_commands_count;

/* The command called name, or NULL. */
const struct lc_command *lc_command_find(const char *name);
