/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <string.h>

#include "coredump-names.h"
#include "macro.h"

const char *lc_core_signal_name(int signo)
{
	static const struct {
		int signo;
		const char *name;
	} names[] = {
		{ SIGQUIT, "SIGQUIT" }, { SIGILL, "SIGILL" },	{ SIGTRAP, "SIGTRAP" },
		{ SIGABRT, "SIGABRT" }, { SIGBUS, "SIGBUS" },	{ SIGFPE, "SIGFPE" },
		{ SIGSEGV, "SIGSEGV" }, { SIGXCPU, "SIGXCPU" }, { SIGXFSZ, "SIGXFSZ" },
		{ SIGSYS, "SIGSYS" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].signo == signo)
			return names[i].name;
	return NULL;
}

bool lc_core_pattern_is_faultd(const char *pattern)
{
	static const char handler[] = "faultd-core-handler";
	const char *prog, *end, *base;

	if (!pattern || pattern[0] != '|')
		return false;
	prog = pattern + 1 + strspn(pattern + 1, " ");
	end = prog + strcspn(prog, " ");
	for (base = end; base > prog && base[-1] != '/'; base--)
		;
	return (size_t)(end - base) == strlen(handler) &&
	       strncmp(base, handler, strlen(handler)) == 0;
}
