/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "build-config.h"
#include "coredump-config.h"
#include "crashdb.h"
#include "filter.h"
#include "macro.h"
#include "schema.h"

static const char *const strategies[] = { "stack", "full", NULL };
static const char *const compressions[] = { "gzip", "zstd", "none", NULL };

/* A rule's error: the configuration copies it as soon as the check returns, so one buffer does. */
static char coredump_filter_why[256];

static int coredump_check_filter(const char *value, const char **ret_why)
{
	int r = coredump_filter_check(value, coredump_filter_why, sizeof(coredump_filter_why));

	*ret_why = coredump_filter_why;
	return r < 0 ? -EINVAL : 0;
}

static const struct lc_cfg_key coredump_keys[] = {
	{
		.name = "enabled",
		.type = LC_CFG_BOOL,
		.def_bool = true,
		.description =
			"Capture the core files of crashing processes: while data "
			"collection is on, faultd sets the kernel's core_pattern (through "
			"sysroot) to pipe them into faultd-core-handler, checks every "
			"check_interval_seconds that it still does, and warns when something "
			"else took it; turning data collection off gives back what it "
			"replaced.",
	},
	{
		.name = "handler",
		.type = LC_CFG_STRING,
		.def_string = FAULTD_CORE_HANDLER,
		.check = lc_check_absolute_path,
		.max = 80,
		.description = "The faultd-core-handler program the kernel starts for each crash. "
			       "faultd names it in core_pattern only when it is an executable file "
			       "below sysroot, where the kernel looks for it. The whole "
			       "core_pattern must fit the kernel's 127 bytes.",
	},
	{
		.name = "check_interval_seconds",
		.type = LC_CFG_INT,
		.def_int = 60,
		.min = 1,
		.max = 86400,
		.description = "How often faultd checks that core_pattern is still its own.",
	},
	{
		.name = "strategy",
		.type = LC_CFG_STRING,
		.def_string = "stack",
		.choices = strategies,
		.description =
			"\"stack\" keeps what a debugger needs for backtraces: every note, "
			"each thread's stack from its stack pointer, the first page of each "
			"mapped file (ELF header, build-id) and the dynamic linker's list. "
			"\"full\" keeps the kernel's whole core up to full_max_mib; it is also "
			"used for architectures other than x86_64, aarch64 and arm.",
	},
	{
		.name = "stack_kib",
		.type = LC_CFG_INT,
		.def_int = 32,
		.min = 4,
		.max = 8192,
		.description = "KiB of stack kept above each thread's stack pointer.",
	},
	{
		.name = "crashing_stack_kib",
		.type = LC_CFG_INT,
		.def_int = 256,
		.min = 4,
		.max = 65536,
		.description = "KiB of stack kept above the crashing thread's stack pointer.",
	},
	{
		.name = "max_notes_kib",
		.type = LC_CFG_INT,
		.def_int = 4096,
		.min = 64,
		.max = 65536,
		.description = "Largest note segment accepted (registers of every thread, the file "
			       "mappings); it is held in memory while the core is read. About "
			       "4 KiB per thread on x86_64.",
	},
	{
		.name = "full_max_mib",
		.type = LC_CFG_INT,
		.def_int = 64,
		.min = 1,
		.max = 65536,
		.description =
			"With the \"full\" strategy, MiB of the kernel's core kept; a larger "
			"core is cut there and marked truncated.",
	},
	{
		.name = "max_stored_kib",
		.type = LC_CFG_INT,
		.def_int = 16384,
		.min = 64,
		.max = 4194304,
		.description = "Largest core file stored (after compression); a capture that "
			       "would exceed it is dropped.",
	},
	{
		.name = "compression",
		.type = LC_CFG_STRING,
		.def_string = "gzip",
		.choices = compressions,
		.description = "How the stored core is compressed while it streams: \"gzip\", "
			       "\"zstd\" (when built with libzstd) or \"none\".",
	},
	{
		.name = "rate_limit_count",
		.type = LC_CFG_INT,
		.def_int = 5,
		.min = 0,
		.max = 10000,
		.description = "Cores stored per rate_limit_interval_seconds, across restarts and "
			       "reboots; crashes beyond are still counted. Developer mode has no "
			       "limit.",
	},
	{
		.name = "rate_limit_interval_seconds",
		.type = LC_CFG_INT,
		.def_int = 3600,
		.min = 1,
		.max = 604800,
		.description = "The window of rate_limit_count.",
	},
	{
		.name = "cores_per_signature",
		.type = LC_CFG_INT,
		.def_int = 3,
		.min = 0,
		.max = 1000,
		.description =
			"Cores stored per crash signature (the crashing thread's top frames) "
			"and software version; further crashes with that signature are "
			"counted, with their stack trace, but store no core. 0: no limit.",
	},
	{
		.name = "loop_count",
		.type = LC_CFG_INT,
		.def_int = 5,
		.min = 2,
		.max = CRASHDB_TIMES,
		.description = "An executable that crashes this many times within loop_minutes is "
			       "in a crash loop: one crash-loop event instead of a core per crash, "
			       "and no core nor stack trace for its further crashes until it has "
			       "run loop_minutes without one. Every crash is still counted.",
	},
	{
		.name = "loop_minutes",
		.type = LC_CFG_INT,
		.def_int = 10,
		.min = 1,
		.max = 1440,
		.description = "The window of loop_count, and how long an executable in a crash "
			       "loop must run without crashing for the loop to end.",
	},
	{
		.name = "filters",
		.type = LC_CFG_STRV,
		.max = COREDUMP_FILTERS_MAX,
		.check = coredump_check_filter,
		.description =
			"Rules that limit the cores stored for some crashes, each \"[path:PATH] "
			"[process:NAME] [signal:SIG] [limit:COUNT/SECONDS]\" with at least one "
			"matcher, all given ones must match: PATH is the executable or a "
			"directory above it, NAME the process name (comm), SIG a signal that "
			"dumps core (SIGSEGV, SEGV or 11). The first rule that matches decides: "
			"at most COUNT cores per SECONDS (across reboots) for the crashes it "
			"matches, none without limit or with COUNT 0. Filtered crashes are still "
			"counted (docs/coredumps.md).",
	},
	{
		.name = "stacktrace",
		.type = LC_CFG_BOOL,
		.def_bool = true,
		.description =
			"Unwind every crash on the device, in a sandboxed child, into a "
			"linux-stacktrace entry and the crash's signature; the trace is sent "
			"even when the core is not stored (except inside a crash loop).",
	},
	{
		.name = "stacktrace_time_limit_ms",
		.type = LC_CFG_INT,
		.def_int = 2000,
		.min = 100,
		.max = 60000,
		.description = "Longest the unwinding child may run; a crash whose unwinding "
			       "takes longer has no stack trace (its core is decided without it).",
	},
	{
		.name = "time_limit_seconds",
		.type = LC_CFG_INT,
		.def_int = 60,
		.min = 1,
		.max = 3600,
		.description =
			"Longest a capture may take: the crashed process cannot be restarted "
			"before the handler is done. When it is reached the core is cut "
			"there and marked truncated.",
	},
	{
		.name = "log_lines",
		.type = LC_CFG_INT,
		.def_int = 100,
		.min = 0,
		.max = 500,
		.description =
			"Log lines put into a crash's core (a \"Memfault\" note, as memfaultd "
			"writes it): the logs plugin keeps this many of the last lines it kept "
			"in memory (64 KiB at most), and the handler asks faultd for them. 0: "
			"none (docs/logs.md, \"Lines before a crash\").",
	},
	{
		.name = "log_seconds",
		.type = LC_CFG_INT,
		.def_int = 60,
		.min = 1,
		.max = 86400,
		.description = "Only the lines kept at most this many seconds before the crash go "
			       "into its core.",
	},
};

const struct lc_cfg_section coredump_config_section = {
	.name = "coredump",
	.description = "Core files of crashing processes, trimmed to what a debugger needs "
		       "(docs/coredumps.md).",
	.keys = coredump_keys,
	.n_keys = ARRAY_SIZE(coredump_keys),
};
