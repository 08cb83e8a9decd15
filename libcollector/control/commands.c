/* SPDX-License-Identifier: MIT */
/* The control commands, described once. See commands.h. */
#include "commands.h"
#include "macro.h"

const struct lc_command lc_commands[] = {
	{
		.name = "status",
		.runner = LC_COMMAND_DAEMON,
		.usage = "",
		.summary = "Show faultd's current state",
		.help = "Prints faultd's version, pid and uptime, its configuration file and state\n"
			"directory, whether data collection and developer mode are on, the device\n"
			"identity, each plugin with its state and counters, the spool, the storage of\n"
			"the state directory, uploads, the heartbeat in progress and the outcome of the\n"
			"last reload. Anyone who can reach the control socket may run it.\n"
			"\n"
			"Takes no arguments.\n",
	},
	{
		.name = "show-config",
		.runner = LC_COMMAND_DAEMON,
		.usage = "",
		.summary = "Show the configuration faultd is running with",
		.help = "Prints every configuration key with its value and where it came from: default,\n"
			"or FILE:LINE of the file that set it. project_key is redacted. Anyone who can\n"
			"reach the control socket may run it.\n"
			"\n"
			"Takes no arguments.\n",
	},
	{
		.name = "enable-data-collection",
		.runner = LC_COMMAND_DAEMON,
		.privileged = true,
		.usage = "",
		.summary = "Allow faultd to record and upload data",
		.help = "Gives consent at once. The switch is saved in STATE_DIR/runtime.conf, which\n"
			"overrides enable_data_collection of the configuration files; the reply comes\n"
			"once the file is written durably.\n"
			"\n"
			"Takes no arguments.\n",
	},
	{
		.name = "disable-data-collection",
		.runner = LC_COMMAND_DAEMON,
		.privileged = true,
		.usage = "",
		.summary = "Stop recording and uploading data",
		.help = "Withdraws consent at once: nothing is recorded or uploaded while data\n"
			"collection is off. Saved in STATE_DIR/runtime.conf like\n"
			"enable-data-collection.\n"
			"\n"
			"Takes no arguments.\n",
	},
	{
		.name = "enable-dev-mode",
		.runner = LC_COMMAND_DAEMON,
		.privileged = true,
		.usage = "",
		.summary = "Turn developer mode on",
		.help = "Developer mode acts as the highest fleet sampling level and lifts rate limits\n"
			"such as the cores' one, for devices on a developer's desk. Saved in\n"
			"STATE_DIR/runtime.conf.\n"
			"\n"
			"Takes no arguments.\n",
	},
	{
		.name = "disable-dev-mode",
		.runner = LC_COMMAND_DAEMON,
		.privileged = true,
		.usage = "",
		.summary = "Turn developer mode off",
		.help = "Returns to the fleet's sampling level and rate limits. Saved in\n"
			"STATE_DIR/runtime.conf.\n"
			"\n"
			"Takes no arguments.\n",
	},
	{
		.name = "sync",
		.runner = LC_COMMAND_DAEMON,
		.privileged = true,
		.usage = "",
		.summary = "Upload the spooled entries now and report the outcome",
		.help = "Says what was uploaded, e.g. \"Uploaded 12 entries (48210 bytes) in 1 batch; 0\n"
			"left in the spool.\" The log file in progress is closed first, so that the latest\n"
			"lines go with it. A sync during a scheduled upload joins it. Fails, with the\n"
			"reason, when data collection is off, when base_url or project_key is empty, or\n"
			"when the upload fails. Waits up to 900 s for the outcome unless --timeout,\n"
			"before the command, says otherwise.\n"
			"\n"
			"Takes no arguments.\n",
	},
	{
		.name = "write-attributes",
		.runner = LC_COMMAND_DAEMON,
		.privileged = true,
		.usage = "KEY=VALUE...",
		.summary = "Record device attributes: true/false, numbers, else strings; \"...\" forces "
			   "a string",
		.help = "Records a device-attributes entry.\n"
			"\n"
			"Arguments:\n"
			"  KEY=VALUE  1 to 100 attributes, each KEY once. A KEY is 1 to 128 of\n"
			"             A-Z a-z 0-9 _ . : / -, a VALUE at most 1024 bytes of printable\n"
			"             UTF-8: true and false are booleans, JSON numbers are numbers,\n"
			"             anything else is a string, and a value in double quotes always a\n"
			"             string (zip='\"007\"'). One starting with '-' goes after \"--\".\n",
	},
	{
		.name = "reboot",
		.runner = LC_COMMAND_DAEMON,
		.privileged = true,
		.usage = "--reason R [--no-reboot] | --cancel",
		.summary = "Record why the system reboots (code, name or !custom), then reboot it",
		.help = "Writes the reason durably, then runs reboot_command (by default reboot); when\n"
			"that fails the reason is withdrawn and faultctl exits with status 1. At the\n"
			"next boot the reboot plugin records the reason, unless stronger evidence (a\n"
			"watchdog reset, a kernel panic) says otherwise. Codes with bit 0x8000 and\n"
			"custom reasons (!name: 1 to 64 of A-Z a-z 0-9 _ . -) are unexpected: they\n"
			"count against the fleet's stability. faultctl status shows the reason declared\n"
			"for the coming reboot; --cancel withdraws it.\n",
		.options = {
			{ "--reason", "R",
			  "required: a code (0x0003), a name (FirmwareUpdate) or !name" },
			{ "--no-reboot", NULL,
			  "only record the reason, for a reboot another tool performs" },
			{ "--cancel", NULL,
			  "withdraw the reason declared for the coming reboot; reboots nothing" },
		},
	},
	{
		.name = "report-crash",
		.runner = LC_COMMAND_DAEMON,
		.privileged = true,
		.usage = "PROCESS [SIGNAL]",
		.summary = "Count a process crash against this hour's crash-free time",
		.help = "The whole heartbeat interval in progress becomes crash time and\n"
			"operational_crashes grows. Refused while data collection is off.\n"
			"faultd-core-handler reports the crashes it captures by itself; this is for\n"
			"crashes it does not see.\n"
			"\n"
			"Arguments:\n"
			"  PROCESS  the name of the process, 1 to 64 printable characters; one starting\n"
			"           with '-' goes after \"--\" (faultctl report-crash -- -name)\n"
			"  SIGNAL   the signal that killed it: a number from 1 to 64 or a name, any\n"
			"           case, SIG optional (11, SEGV and SIGSEGV are the same)\n",
	},
	{
		.name = "report-failure",
		.runner = LC_COMMAND_DAEMON,
		.privileged = true,
		.usage = "KIND",
		.summary = "Count a failure of KIND (wifi_disconnect) against this hour's "
			   "KIND-failure-free time",
		.help = "Not a crash: the whole heartbeat interval in progress becomes KIND-failure\n"
			"time, and its heartbeat carries operational_failures/KIND and\n"
			"operational_failurefree_hours/KIND; the fleet report shows % stable per\n"
			"failure kind. Beyond 16 kinds in an interval a failure is counted as _other.\n"
			"Refused while data collection is off.\n"
			"\n"
			"Arguments:\n"
			"  KIND  1 to 32 of a-z 0-9 _, beginning with a letter or a digit\n"
			"        (wifi_disconnect, sensor_read, lock_open)\n",
	},
	{
		.name = "report-sync-success",
		.runner = LC_COMMAND_DAEMON,
		.privileged = true,
		.usage = "",
		.summary = "Count a successful sync of this device's own cloud connection",
		.help = "For the device's own services (not faultd's uploads): adds 1 to the counter\n"
			"sync_successful of the heartbeat in progress, as memfaultctl\n"
			"report-sync-success does; the hosted service's sync success rate reads it.\n"
			"Refused while data collection is off.\n"
			"\n"
			"Takes no arguments.\n",
	},
	{
		.name = "report-sync-failure",
		.runner = LC_COMMAND_DAEMON,
		.privileged = true,
		.usage = "",
		.summary = "Count a failed sync of this device's own cloud connection",
		.help = "For the device's own services (not faultd's uploads): adds 1 to the counter\n"
			"sync_failure of the heartbeat in progress, as memfaultctl\n"
			"report-sync-failure does. Refused while data collection is off.\n"
			"\n"
			"Takes no arguments.\n",
	},
	{
		.name = "crash-reported",
		.runner = LC_COMMAND_DAEMON,
		.privileged = true,
		.internal = true,
		.usage = "",
		.summary = "Count the crashes faultd-core-handler left in the crash log (it sends this)",
	},
	{
		.name = "crash-logs",
		.runner = LC_COMMAND_DAEMON,
		.privileged = true,
		.internal = true,
		.usage = "",
		.summary = "Give faultd-core-handler the log lines kept before a crash, for its core "
			   "(it sends this)",
	},
	{
		.name = "write-metric",
		.runner = LC_COMMAND_DAEMON,
		.privileged = true,
		.usage = "NAME=VALUE[:KIND]...",
		.summary = "Record metric readings in the heartbeat in progress; KIND is counter (c), "
			   "gauge (g, the default), histogram (h, ms, timer, d) or set (s), whose VALUE "
			   "is a member",
		.help = "All or nothing: one bad reading, or one whose name already holds another kind,\n"
			"refuses the call and names it. Fails while data collection is off, and when\n"
			"faultd keeps none of the readings (a name reserved for faultd, too many keys).\n"
			"\n"
			"Arguments:\n"
			"  NAME=VALUE[:KIND]  up to 100 readings. A NAME is at most 128 bytes; a VALUE a\n"
			"                     finite number (temp=-3.5), or for a set the member; KIND\n"
			"                     counter (c), gauge (g), histogram (h, ms, timer, d) or\n"
			"                     set (s). One starting with '-' goes after \"--\".\n",
	},
	{
		.name = "request-metrics",
		.runner = LC_COMMAND_DAEMON,
		.privileged = true,
		.usage = "",
		.summary = "Report the metrics gathered so far now",
		.help = "Records a heartbeat of the readings since the last one; the next upload (or\n"
			"faultctl sync) sends it. The hours interval goes on: its hours (and crashes)\n"
			"come with the heartbeat that ends it, and this one's hours are 0.\n"
			"\n"
			"Takes no arguments.\n",
	},
	{
		.name = "logs",
		.runner = LC_COMMAND_DAEMON,
		.usage = "",
		.summary = "Show the log sources, the log file in progress and what was dropped",
		.help = "Prints the logs plugin's state: each source (syslog, the kernel log, the\n"
			"journal) with its position and counters, the log file in progress (lines,\n"
			"bytes, age), the per-minute budget with the lines it dropped, and the log files\n"
			"waiting in the spool with the spool's drops of them. Anyone who can reach the\n"
			"control socket may run it.\n"
			"\n"
			"Takes no arguments.\n",
	},
	{
		.name = "timeline",
		.runner = LC_COMMAND_DAEMON,
		.usage = "[--json] [--limit N]",
		.summary = "Show this device's history across reboots: boots and why the previous "
			   "one ended, crashes, crash and boot loops, software updates",
		.help = "One line per event, oldest first, times in UTC: each boot with the reason\n"
			"the boot before it ended (and whether that was unexpected), each crash with\n"
			"its process, signal, signature and top frame, crash loops, boot loops\n"
			"(reboot.loop_count unexpected reboots within reboot.loop_minutes) and\n"
			"software updates (a boot whose version differs from the previous boot's).\n"
			"faultd keeps the last 256 events in STATE_DIR/history.jsonl; they stay on the\n"
			"device. Anyone who can reach the control socket may run it.\n",
		.options = {
			{ "--json", NULL, "print the reply as JSON, as the --json before the command" },
			{ "--limit", "N", "only the newest N events (1 to 256)" },
		},
	},
	{
		.name = "crashes",
		.runner = LC_COMMAND_DAEMON,
		.usage = "[--json] [--limit N]",
		.summary = "Show the recent crashes with their top frames and entries",
		.help = "The crashes of the device's history, oldest first: time (UTC), process, pid,\n"
			"signal, signature, what became of the core and the UUIDs of its elf-coredump\n"
			"and linux-stacktrace entries, then the top frames of the crashing thread, one\n"
			"a line. Anyone who can reach the control socket may run it.\n",
		.options = {
			{ "--json", NULL, "print the reply as JSON, as the --json before the command" },
			{ "--limit", "N", "only the newest N crashes (1 to 256)" },
		},
	},
	{
		.name = "trigger-coredump",
		.runner = LC_COMMAND_CLIENT,
		.usage = "[--signal NAME]",
		.summary = "Crash a child with SIGSEGV (or ABRT, BUS, FPE, ILL) to check that cores "
			   "reach faultd; runs without faultd",
		.help = "The child, named faultd-trigger and dumpable, commits the fault that raises the\n"
			"signal. faultctl warns when core_pattern does not pipe into faultd-core-handler,\n"
			"waits for the child and says whether the kernel wrote a core, and if not, the\n"
			"likeliest reason. Needs neither faultd nor privileges. Exit status 0 when the\n"
			"child died of the signal asked for, 1 when it did not.\n",
		.options = {
			{ "--signal", "NAME",
			  "SEGV (default), ABRT, BUS, FPE or ILL, any case, SIG optional" },
		},
	},
	{
		.name = "help",
		.runner = LC_COMMAND_SERVER,
		.usage = "[COMMAND]",
		.summary = "List the commands, or show one command's help; runs without faultd",
		.help = "Without arguments, the same as faultctl --help; with a COMMAND, the same as\n"
			"faultctl COMMAND --help. faultctl answers from its own table and asks faultd\n"
			"nothing. With --json it prints {\"ok\": true, \"data\": {\"commands\": [...]}},\n"
			"each command with its name, summary, privileged and internal (a command\n"
			"only faultd's own programs send, such as crash-reported).\n"
			"\n"
			"Arguments:\n"
			"  COMMAND  the command whose help to show\n",
	},
};

const size_t lc_commands_count = ARRAY_SIZE(lc_commands);

const struct lc_command *lc_command_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(lc_commands); i++)
		if (streq(lc_commands[i].name, name))
			return &lc_commands[i];
	return NULL;
}
