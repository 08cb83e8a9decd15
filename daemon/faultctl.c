/* SPDX-License-Identifier: MIT */
/*
 * faultctl: asks faultd, over its control socket, to report or change its state.
 *
 * The commands, their options and their help are the control layer's table (control/commands.h),
 * which faultd's help and privileges come from too; here each has an entry that turns its
 * arguments into the request's "args" object, so a command that takes arguments is one more entry
 * there and one more builder here. Every command shows its help for -h or --help and does nothing
 * else; a word starting with '-' is always an option, never data, unless it follows "--". Replies
 * are printed generically (a "message" string, or the data as an indented tree), so new status
 * fields need no change here.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build-config.h"
#include "commands.h"
#include "control.h"
#include "coredump-names.h"
#include "fileio.h"
#include "json-util.h"
#include "macro.h"
#include "text.h"

#define DEFAULT_TIMEOUT_SEC 10.0
#define MAX_TIMEOUT_SEC	    86400.0

enum {
	EXIT_OK = 0,
	EXIT_REFUSED = 1,     /* faultd refused the command or it failed */
	EXIT_USAGE = 2,	      /* bad command line */
	EXIT_UNREACHABLE = 3, /* faultd could not be reached or did not answer in time */
};

/* A command's arguments, sorted by verb_parse_args() as its entry of lc_commands declares them. */
struct verb_args {
	/* Each option's value as given ("" for a switch), NULL when absent; indexed like the
	 * command's options. */
	const char *options[LC_COMMAND_OPTIONS_MAX];
	/* The other words, in order: none starts with '-' unless it came after "--". */
	char **operands;
	int n_operands;
};

/* What faultctl does for a command that lc_commands (commands.h) describes: a command that takes
 * arguments is one more entry there and one more builder here. */
struct verb {
	const char *name;
	/* Turns the command's arguments into the request's args (NULL: none); -EINVAL after
	 * printing a usage error. */
	int (*build_args)(const struct lc_command *cmd, const struct verb_args *a,
			  json_object **ret_args);
	/* Prints a successful reply's data; NULL prints it generically. */
	void (*print)(json_object *data);
	double timeout_sec; /* default wait for the reply; 0: DEFAULT_TIMEOUT_SEC */
	/* Set for a command faultctl runs itself, without faultd: returns the exit status. */
	int (*run)(const struct lc_command *cmd, const struct verb_args *a, bool json);
};

/* Prints a usage error of command cmd: what was wrong, and where to read how cmd is used. */
_printf_(2, 3) static void verb_usage_error(const struct lc_command *cmd, const char *format, ...)
{
	va_list ap;

	fprintf(stderr, "faultctl: %s: ", cmd->name);
	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
	fprintf(stderr, "; see 'faultctl %s --help'\n", cmd->name);
}

/* Whether -h or --help is among a command's arguments before any "--": then the command shows
 * its help, whatever else they say, and does nothing. */
static bool verb_wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc && !streq(argv[i], "--"); i++)
		if (streq(argv[i], "-h") || streq(argv[i], "--help"))
			return true;
	return false;
}

/* Sorts a command's arguments into its options ("--opt VALUE", "--opt=VALUE", switches alone)
 * and its operands, which it moves to the front of argv. A word starting with '-' is an option
 * unless it follows "--", so that no mistyped option is ever taken for data (a crash of a
 * process named "--help"); an option's value given apart must not start with '-' either.
 * Returns 0, or -EINVAL after printing a usage error. */
static int verb_parse_args(const struct lc_command *cmd, int argc, char **argv,
			   struct verb_args *ret)
{
	struct verb_args a = { .operands = argv };
	bool operands_only = false;

	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *eq;
		const struct lc_command_option *o = NULL;
		size_t len, k;

		if (operands_only || arg[0] != '-') {
			a.operands[a.n_operands++] = argv[i];
			continue;
		}
		if (streq(arg, "--")) {
			operands_only = true;
			continue;
		}
		eq = strchr(arg, '=');
		len = eq ? (size_t)(eq - arg) : strlen(arg);
		for (k = 0; k < LC_COMMAND_OPTIONS_MAX && cmd->options[k].name; k++)
			if (strlen(cmd->options[k].name) == len &&
			    strncmp(cmd->options[k].name, arg, len) == 0) {
				o = &cmd->options[k];
				break;
			}
		if (!o) {
			/* "--help=x": verb_wants_help() takes only the bare words. */
			if ((len == 2 && strncmp(arg, "-h", len) == 0) ||
			    (len == 6 && strncmp(arg, "--help", len) == 0))
				verb_usage_error(cmd, "option '%.*s' takes no value", (int)len,
						 arg);
			else
				verb_usage_error(cmd, "unknown option '%.*s'", (int)len, arg);
			return -EINVAL;
		}
		if (!o->value) {
			if (eq) {
				verb_usage_error(cmd, "option '%s' takes no value", o->name);
				return -EINVAL;
			}
			a.options[k] = "";
		} else if (eq) {
			a.options[k] = eq + 1;
		} else if (i + 1 < argc && argv[i + 1][0] != '-') {
			a.options[k] = argv[++i];
		} else {
			verb_usage_error(cmd, "option '%s' needs a value", o->name);
			return -EINVAL;
		}
	}
	*ret = a;
	return 0;
}

/* The one-line summary of cmd, as --help shows it. */
static void put_summary(FILE *f, const struct lc_command *cmd)
{
	fprintf(f, "%s%s", cmd->summary, cmd->privileged ? " (privileged)" : "");
}

/* `faultctl NAME --help`: the usage line, what the command does, its arguments and options. */
static void verb_help(const struct lc_command *cmd, FILE *f)
{
	static const char help_head[] = "-h, --help";
	int width = (int)strlen(help_head);
	char head[64];

	fprintf(f, "Usage: faultctl [OPTIONS] %s%s%s\n\n", cmd->name, cmd->usage[0] ? " " : "",
		cmd->usage);
	put_summary(f, cmd);
	fprintf(f, ".\n\n%s", cmd->help);
	for (size_t k = 0; k < LC_COMMAND_OPTIONS_MAX && cmd->options[k].name; k++) {
		const struct lc_command_option *o = &cmd->options[k];

		width = MAX(width, (int)(strlen(o->name) + (o->value ? 1 + strlen(o->value) : 0)));
	}
	fputs("\nOptions:\n", f);
	for (size_t k = 0; k < LC_COMMAND_OPTIONS_MAX && cmd->options[k].name; k++) {
		const struct lc_command_option *o = &cmd->options[k];

		snprintf(head, sizeof(head), "%s%s%s", o->name, o->value ? " " : "",
			 o->value ? o->value : "");
		fprintf(f, "  %-*s  %s\n", width, head, o->help);
	}
	fprintf(f,
		"  %-*s  show this help and exit, without contacting faultd\n"
		"\n"
		"See 'faultctl --help' for the options before the command and the exit statuses.\n",
		width, help_head);
}

/* The value of cmd's option called name in a ("" for a switch), or NULL when it was not given. */
static const char *option_value(const struct lc_command *cmd, const struct verb_args *a,
				const char *name)
{
	for (size_t k = 0; k < LC_COMMAND_OPTIONS_MAX && cmd->options[k].name; k++)
		if (streq(cmd->options[k].name, name))
			return a->options[k];
	return NULL;
}

static int args_none(const struct lc_command *cmd, const struct verb_args *a,
		     json_object **ret_args)
{
	if (a->n_operands > 0) {
		verb_usage_error(cmd, "unexpected argument '%s'", a->operands[0]);
		return -EINVAL;
	}
	*ret_args = NULL;
	return 0;
}

static void print_help_reply(json_object *data);

/* KEY=VALUE... -> {member: ["KEY=VALUE", ...]}; the daemon parses each. */
static int args_assignments(const struct lc_command *cmd, const struct verb_args *a,
			    const char *member, const char *form, json_object **ret_args)
{
	int argc = a->n_operands;
	char **argv = a->operands;
	json_object *o, *list;

	if (argc == 0) {
		verb_usage_error(cmd, "expected at least one %s", form);
		return -EINVAL;
	}
	for (int i = 0; i < argc; i++)
		if (!strchr(argv[i], '=') || argv[i][0] == '=') {
			verb_usage_error(cmd, "expected %s, got '%s'", form, argv[i]);
			return -EINVAL;
		}
	o = json_object_new_object();
	list = json_object_new_array();
	if (!o || !list) {
		json_object_put(o);
		json_object_put(list);
		fprintf(stderr, "faultctl: out of memory\n");
		return -ENOMEM;
	}
	for (int i = 0; i < argc; i++) {
		json_object *s = json_object_new_string(argv[i]);

		if (!s || json_object_array_add(list, s) < 0) {
			json_object_put(s);
			json_object_put(list);
			json_object_put(o);
			fprintf(stderr, "faultctl: out of memory\n");
			return -ENOMEM;
		}
	}
	if (lc_json_add(o, member, list) < 0) {
		json_object_put(o);
		fprintf(stderr, "faultctl: out of memory\n");
		return -ENOMEM;
	}
	*ret_args = o;
	return 0;
}

static int args_attributes(const struct lc_command *cmd, const struct verb_args *a,
			   json_object **ret_args)
{
	return args_assignments(cmd, a, "attributes", "KEY=VALUE", ret_args);
}

static int args_metrics(const struct lc_command *cmd, const struct verb_args *a,
			json_object **ret_args)
{
	return args_assignments(cmd, a, "metrics", "NAME=VALUE[:KIND]", ret_args);
}

/* Creates {} for a verb's arguments, or says it is out of memory. */
static json_object *new_args(void)
{
	json_object *o = json_object_new_object();

	if (!o)
		fprintf(stderr, "faultctl: out of memory\n");
	return o;
}

/* Frees o, a verb's arguments that could not be built, and says it is out of memory; returns
 * -ENOMEM. */
static int args_oom(json_object *o)
{
	json_object_put(o);
	fprintf(stderr, "faultctl: out of memory\n");
	return -ENOMEM;
}

/* --reason R [--no-reboot] -> {"reason": R, "reboot": bool}; faultd validates R. */
static int args_reboot(const struct lc_command *cmd, const struct verb_args *a,
		       json_object **ret_args)
{
	const char *reason = option_value(cmd, a, "--reason");
	json_object *o;

	if (a->n_operands > 0) {
		verb_usage_error(cmd, "unexpected argument '%s'", a->operands[0]);
		return -EINVAL;
	}
	if (!reason || !reason[0]) {
		verb_usage_error(
			cmd, "--reason is required: a code (0x0003), a name (FirmwareUpdate) or "
			     "!name for a custom unexpected reason");
		return -EINVAL;
	}
	o = new_args();
	if (!o)
		return -ENOMEM;
	if (lc_json_add(o, "reason", json_object_new_string(reason)) < 0 ||
	    lc_json_add(o, "reboot",
			json_object_new_boolean(!option_value(cmd, a, "--no-reboot"))) < 0)
		return args_oom(o);
	*ret_args = o;
	return 0;
}

/* PROCESS [SIGNAL] -> {"process": PROCESS, "signal": SIGNAL}. */
static int args_report_crash(const struct lc_command *cmd, const struct verb_args *a,
			     json_object **ret_args)
{
	json_object *o;
	long signo = 0;
	char *end;

	if (a->n_operands < 1 || a->n_operands > 2) {
		verb_usage_error(cmd, "expected %s", cmd->usage);
		return -EINVAL;
	}
	if (a->n_operands == 2) {
		errno = 0;
		signo = strtol(a->operands[1], &end, 10);
		if (errno || *end || signo < 1 || signo > 64) {
			verb_usage_error(cmd, "SIGNAL: expected a number from 1 to 64, got '%s'",
					 a->operands[1]);
			return -EINVAL;
		}
	}
	o = new_args();
	if (!o)
		return -ENOMEM;
	if (lc_json_add(o, "process", json_object_new_string(a->operands[0])) < 0 ||
	    (signo && lc_json_add(o, "signal", json_object_new_int64(signo)) < 0))
		return args_oom(o);
	*ret_args = o;
	return 0;
}

/* ---- trigger-coredump: a child that crashes for real, so the kernel dumps its core ---- */

static void put_text(FILE *f, const char *s, bool multiline);

#define CORE_PATTERN_PATH "/proc/sys/kernel/core_pattern"
#define CORE_HANDLER_NAME "faultd-core-handler"

static const struct {
	const char *name;
	int signo;
} trigger_signals[] = {
	{ "SEGV", SIGSEGV }, { "ABRT", SIGABRT }, { "BUS", SIGBUS },
	{ "FPE", SIGFPE },   { "ILL", SIGILL },
};

/* Not constants the compiler could reason about: the faults below must really happen. */
static volatile uintptr_t trigger_bad_address = 16;
static volatile int trigger_zero;
static volatile int trigger_sink;

/* "SIGSEGV" for the signals trigger-coredump raises, NULL for others. */
static const char *trigger_signal_name(int signo, char *buf, size_t size)
{
	for (size_t i = 0; i < ARRAY_SIZE(trigger_signals); i++)
		if (trigger_signals[i].signo == signo) {
			snprintf(buf, size, "SIG%s", trigger_signals[i].name);
			return buf;
		}
	snprintf(buf, size, "signal %d (%s)", signo, strsignal(signo));
	return buf;
}

/* Commits the fault that raises signo, the way a buggy program would, in the child. Where the
 * machine does not trap (an integer division by zero on arm), the signal is sent instead. */
__attribute__((no_sanitize("address", "undefined"))) _noreturn_ static void trigger_fault(int signo)
{
	switch (signo) {
	case SIGSEGV:
		*(volatile int *)trigger_bad_address = 1;
		break;
	case SIGABRT:
		abort();
	case SIGBUS: {
		/* A store into a shared mapping past the end of its (empty) file. */
		FILE *f = tmpfile();
		volatile char *m = f ? mmap(NULL, (size_t)sysconf(_SC_PAGESIZE),
					    PROT_READ | PROT_WRITE, MAP_SHARED, fileno(f), 0)
				     : MAP_FAILED;

		if (m != MAP_FAILED)
			m[0] = 1;
		break;
	}
	case SIGFPE:
		trigger_sink = 1 / trigger_zero;
		break;
	case SIGILL:
#if defined(__x86_64__) || defined(__i386__)
		__asm__ volatile("ud2");
#elif defined(__aarch64__)
		__asm__ volatile(".inst 0x00000000"); /* udf #0 */
#elif defined(__arm__) && !defined(__thumb__)
		__asm__ volatile(".inst 0xe7f000f0"); /* udf */
#endif
		break;
	}
	raise(signo);
	_exit(127);
}

/* The child: named faultd-trigger, dumpable, the signal's default action restored. */
_noreturn_ static void trigger_child(int signo)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t set;

	(void)prctl(PR_SET_NAME, "faultd-trigger", 0, 0, 0);
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	sigemptyset(&sa.sa_mask);
	(void)sigaction(signo, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, signo);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
	trigger_fault(signo);
}

/* --signal NAME: SEGV, ABRT, BUS, FPE or ILL, with or without "SIG", any case. */
static int trigger_parse_signal(const char *s, int *ret)
{
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < ARRAY_SIZE(trigger_signals); i++)
		if (strcasecmp(s, trigger_signals[i].name) == 0) {
			*ret = trigger_signals[i].signo;
			return 0;
		}
	return -EINVAL;
}

/* Why no core came: the likeliest reason for this core_pattern and limit. */
static const char *no_core_reason(const char *pattern)
{
	struct rlimit rl;

	if (pattern && pattern[0] == '|')
		return "the kernel could not start the program core_pattern names, or "
		       "core_pipe_limit dumps were already running: see the kernel log";
	if (getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0)
		return "RLIMIT_CORE is 0: see ulimit -c";
	return "the kernel could not write the core file where core_pattern says";
}

/* Prints the outcome as text (stdout when ok, else stderr) or as a reply object with --json;
 * returns the exit status. */
static int trigger_report(const struct lc_command *cmd, bool json, bool ok, const char *message,
			  pid_t pid, const char *signame, bool core_dumped, const char *pattern)
{
	if (json) {
		_cleanup_json_ json_object *o = json_object_new_object();
		_cleanup_json_ json_object *data = json_object_new_object();

		if (lc_json_add(o, "ok", json_object_new_boolean(ok)) < 0 ||
		    lc_json_add(data, "message", json_object_new_string(message)) < 0 ||
		    lc_json_add(data, "pid", json_object_new_int64(pid)) < 0 ||
		    lc_json_add(data, "signal", json_object_new_string(signame)) < 0 ||
		    lc_json_add(data, "core_dumped", json_object_new_boolean(core_dumped)) < 0 ||
		    lc_json_add_string_or_null(data, "core_pattern", pattern) < 0 ||
		    lc_json_add(data, "pipes_into_faultd",
				json_object_new_boolean(lc_core_pattern_is_faultd(pattern))) < 0 ||
		    lc_json_add(o, "data", TAKE_PTR(data)) < 0) {
			fprintf(stderr, "faultctl: out of memory\n");
			return EXIT_REFUSED;
		}
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	} else if (ok) {
		put_text(stdout, message, false);
		putchar('\n');
	} else {
		fprintf(stderr, "faultctl: %s: ", cmd->name);
		put_text(stderr, message, false);
		fputc('\n', stderr);
	}
	return ok ? EXIT_OK : EXIT_REFUSED;
}

static int run_trigger_coredump(const struct lc_command *cmd, const struct verb_args *a, bool json)
{
	_cleanup_free_ char *pattern = NULL;
	const char *arg = option_value(cmd, a, "--signal");
	char want[32], got[64], message[512];
	const char *shown;
	int signo = SIGSEGV, status, r;
	size_t len;
	pid_t pid;

	if (a->n_operands > 0) {
		verb_usage_error(cmd, "unexpected argument '%s'", a->operands[0]);
		return EXIT_USAGE;
	}
	if (arg && trigger_parse_signal(arg, &signo) < 0) {
		verb_usage_error(cmd, "--signal: expected SEGV, ABRT, BUS, FPE or ILL, got '%s'",
				 arg);
		return EXIT_USAGE;
	}
	trigger_signal_name(signo, want, sizeof(want));

	r = lc_read_file(CORE_PATTERN_PATH, 4096, &pattern, &len);
	if (r < 0) {
		fprintf(stderr, "faultctl: warning: cannot read %s: %s\n", CORE_PATTERN_PATH,
			strerror(-r));
		pattern = NULL;
	} else {
		while (len > 0 && pattern[len - 1] == '\n')
			pattern[--len] = 0;
	}
	shown = pattern ? pattern : "unknown";
	if (!lc_core_pattern_is_faultd(pattern)) {
		fprintf(stderr, "faultctl: warning: core_pattern does not pipe into %s (\"",
			CORE_HANDLER_NAME);
		put_text(stderr, shown, false);
		fprintf(stderr, "\"), so this crash does not reach faultd: is its coredump plugin "
				"running (faultctl status)?\n");
	}

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "faultctl: %s: cannot fork: %s\n", cmd->name, strerror(errno));
		return EXIT_REFUSED;
	}
	if (pid == 0)
		trigger_child(signo);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "faultctl: %s: cannot wait for child %d: %s\n", cmd->name,
				(int)pid, strerror(errno));
			return EXIT_REFUSED;
		}

	if (WIFSIGNALED(status) && WTERMSIG(status) == signo) {
		if (WCOREDUMP(status))
			snprintf(message, sizeof(message),
				 "Child %d crashed with %s; the kernel wrote a core (core_pattern: "
				 "%s).",
				 (int)pid, want, shown);
		else
			snprintf(message, sizeof(message),
				 "Child %d crashed with %s; no core was dumped (%s; core_pattern: "
				 "%s).",
				 (int)pid, want, no_core_reason(pattern), shown);
		return trigger_report(cmd, json, true, message, pid, want, WCOREDUMP(status),
				      pattern);
	}
	if (WIFSIGNALED(status))
		snprintf(message, sizeof(message), "child %d died of %s, not %s.", (int)pid,
			 trigger_signal_name(WTERMSIG(status), got, sizeof(got)), want);
	else
		snprintf(message, sizeof(message),
			 "child %d did not crash: it exited with status %d.", (int)pid,
			 WEXITSTATUS(status));
	return trigger_report(cmd, json, false, message, pid, want, false, pattern);
}

/* One entry for each command of lc_commands that is not internal. */
static const struct verb verbs[] = {
	{ .name = "status", .build_args = args_none },
	{ .name = "show-config", .build_args = args_none },
	{ .name = "enable-data-collection", .build_args = args_none },
	{ .name = "disable-data-collection", .build_args = args_none },
	{ .name = "enable-dev-mode", .build_args = args_none },
	{ .name = "disable-dev-mode", .build_args = args_none },
	{ .name = "sync", .build_args = args_none, .timeout_sec = 15 * 60.0 },
	{ .name = "write-attributes", .build_args = args_attributes },
	{ .name = "reboot", .build_args = args_reboot, .timeout_sec = 45.0 },
	{ .name = "report-crash", .build_args = args_report_crash },
	{ .name = "write-metric", .build_args = args_metrics },
	{ .name = "request-metrics", .build_args = args_none },
	{ .name = "trigger-coredump", .run = run_trigger_coredump },
	{ .name = "help", .build_args = args_none, .print = print_help_reply },
};

/* The command called name that faultctl offers, with what faultctl does for it; NULL for an
 * unknown or internal command. */
static const struct verb *find_verb(const char *name, const struct lc_command **ret_cmd)
{
	const struct lc_command *cmd = lc_command_find(name);

	if (!cmd || cmd->internal)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (streq(verbs[i].name, name)) {
			*ret_cmd = cmd;
			return &verbs[i];
		}
	return NULL;
}

static void usage(FILE *f)
{
	int width = 0;

	for (size_t i = 0; i < lc_commands_count; i++) {
		const struct lc_command *cmd = &lc_commands[i];

		if (!cmd->internal)
			width = MAX(width, (int)(strlen(cmd->name) + (cmd->usage[0] ? 1 : 0) +
						 strlen(cmd->usage)));
	}

	fprintf(f, "Usage: faultctl [OPTIONS] COMMAND [ARGS...]\n"
		   "\n"
		   "Query and control faultd, the crash and reliability data collector.\n"
		   "\n"
		   "Commands:\n");
	for (size_t i = 0; i < lc_commands_count; i++) {
		const struct lc_command *cmd = &lc_commands[i];
		char head[128];

		if (cmd->internal)
			continue;
		snprintf(head, sizeof(head), "%s%s%s", cmd->name, cmd->usage[0] ? " " : "",
			 cmd->usage);
		fprintf(f, "  %-*s  ", width, head);
		put_summary(f, cmd);
		fputc('\n', f);
	}
	fprintf(f,
		"\n"
		"'faultctl COMMAND --help' shows a command's arguments and options.\n"
		"\n"
		"Privileged commands need root, faultd's own user, or membership in its control\n"
		"group.\n"
		"\n"
		"Options:\n"
		"      --socket PATH      control socket (default: %s)\n"
		"      --json             print faultd's whole reply as JSON, and nothing else\n"
		"      --timeout SECONDS  how long to wait for faultd (default: %g, sync: 900)\n"
		"  -h, --help             show this help\n"
		"      --version          show the version\n"
		"\n"
		"Exit status:\n"
		"  0  success\n"
		"  1  faultd refused the command or it failed\n"
		"  2  usage error\n"
		"  3  faultd could not be reached or did not answer in time\n",
		FAULTD_CONTROL_SOCKET, DEFAULT_TIMEOUT_SEC);
}

/* Writes s with control characters (but newlines and tabs in multi-line text) and bytes that are
 * not UTF-8 as '?', so that a reply cannot drive the terminal. */
static void put_text(FILE *f, const char *s, bool multiline)
{
	_cleanup_free_ char *t = s ? strdup(s) : NULL;

	if (!t)
		return;
	lc_text_scrub(t, strlen(t),
		      LC_TEXT_KEEP_UTF8 |
			      (multiline ? LC_TEXT_KEEP_NEWLINE | LC_TEXT_KEEP_TAB : 0));
	fputs(t, f);
}

static void print_text(const char *s)
{
	put_text(stdout, s, true);
}

static void indent(unsigned n)
{
	printf("%*s", (int)n, "");
}

static void print_scalar(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		fputs("-", stdout);
		break;
	case json_type_boolean:
		fputs(json_object_get_boolean(v) ? "yes" : "no", stdout);
		break;
	case json_type_string:
		print_text(json_object_get_string(v));
		break;
	default:
		fputs(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), stdout);
		break;
	}
}

static bool is_container(json_object *v)
{
	return json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array);
}

static bool is_empty(json_object *v)
{
	return json_object_is_type(v, json_type_object) ? json_object_object_length(v) == 0
							: json_object_array_length(v) == 0;
}

static void print_object(json_object *o, unsigned level, bool first_inline);

/* Prints the items of an array at level, each as "- item". */
static void print_array(json_object *a, unsigned level)
{
	size_t n = json_object_array_length(a);

	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(a, i);

		indent(level);
		fputs("- ", stdout);
		if (json_object_is_type(v, json_type_object) && !is_empty(v)) {
			/* The first member shares the dash's line, the rest align under it. */
			print_object(v, level + 2, true);
		} else if (json_object_is_type(v, json_type_array) && !is_empty(v)) {
			putchar('\n');
			print_array(v, level + 2);
		} else {
			if (is_container(v))
				fputs("(none)", stdout);
			else
				print_scalar(v);
			putchar('\n');
		}
	}
}

/* Prints the members of o as "key: value" lines at level; nested containers go below their key,
 * two spaces further in. */
static void print_object(json_object *o, unsigned level, bool first_inline)
{
	bool first = true;

	json_object_object_foreach(o, key, v)
	{
		if (!(first && first_inline))
			indent(level);
		first = false;
		put_text(stdout, key, false);
		putchar(':');
		if (is_container(v) && !is_empty(v)) {
			putchar('\n');
			if (json_object_is_type(v, json_type_object))
				print_object(v, level + 2, false);
			else
				print_array(v, level + 2);
		} else {
			putchar(' ');
			if (is_container(v))
				fputs("(none)", stdout);
			else
				print_scalar(v);
			putchar('\n');
		}
	}
}

static void print_data(json_object *data)
{
	json_object *message;

	if (json_object_object_get_ex(data, "message", &message) &&
	    json_object_is_type(message, json_type_string)) {
		print_text(json_object_get_string(message));
		putchar('\n');
		return;
	}
	print_object(data, 0, false);
}

/* `help`: one line per command, like --help; falls back to the tree for an unexpected shape. */
static void print_help_reply(json_object *data)
{
	json_object *list;
	size_t n;
	int width = 0;

	if (!json_object_object_get_ex(data, "commands", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		print_data(data);
		return;
	}
	n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		json_object *name;

		if (json_object_object_get_ex(json_object_array_get_idx(list, i), "name", &name) &&
		    json_object_is_type(name, json_type_string))
			width = MAX(width, json_object_get_string_len(name));
	}
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(list, i), *name, *summary, *priv;

		if (!json_object_object_get_ex(c, "name", &name) ||
		    !json_object_is_type(name, json_type_string))
			continue;
		put_text(stdout, json_object_get_string(name), false);
		indent((unsigned)(width - json_object_get_string_len(name) + 2));
		if (json_object_object_get_ex(c, "summary", &summary) &&
		    json_object_is_type(summary, json_type_string))
			print_text(json_object_get_string(summary));
		if (json_object_object_get_ex(c, "privileged", &priv) &&
		    json_object_get_boolean(priv))
			fputs(" [privileged]", stdout);
		putchar('\n');
	}
}

/* Parses --timeout: a positive number of seconds, fractions allowed. */
static int parse_timeout(const char *s, double *ret_sec)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || end == s || *end || !isfinite(d) || d <= 0 || d > MAX_TIMEOUT_SEC)
		return -EINVAL;
	*ret_sec = d;
	return 0;
}

static int report_request_error(const char *command, const char *path, int r, double timeout_sec)
{
	switch (-r) {
	case ENOENT:
	case ECONNREFUSED:
		fprintf(stderr, "faultctl: cannot connect to %s: %s (is faultd running?)\n", path,
			strerror(-r));
		break;
	case EACCES:
	case EPERM:
	case ENOTDIR:
	case ENAMETOOLONG:
		fprintf(stderr, "faultctl: cannot connect to %s: %s\n", path, strerror(-r));
		break;
	case ETIMEDOUT:
		fprintf(stderr, "faultctl: %s: faultd did not answer within %g s\n", command,
			timeout_sec);
		break;
	case ECONNRESET:
	case EPIPE:
		fprintf(stderr, "faultctl: %s: faultd closed the connection without answering\n",
			command);
		break;
	case EBADMSG:
		fprintf(stderr, "faultctl: %s: faultd sent a reply that is not a JSON object\n",
			command);
		break;
	default:
		fprintf(stderr, "faultctl: %s: talking to faultd on %s failed: %s\n", command, path,
			strerror(-r));
		break;
	}
	return EXIT_UNREACHABLE;
}

int main(int argc, char **argv)
{
	enum { OPT_SOCKET = 0x100, OPT_JSON, OPT_TIMEOUT, OPT_VERSION };
	static const struct option options[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{},
	};
	const char *path = FAULTD_CONTROL_SOCKET;
	double timeout_sec = 0;
	json_object *args = NULL, *reply = NULL, *ok, *data, *error;
	const struct lc_command *cmd = NULL;
	const struct verb *v;
	struct verb_args a;
	bool json = false;
	int c, r, ret;

	/* "+": stop at the command, so that its own options (e.g. "reboot --reason") are its. */
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
		switch (c) {
		case OPT_SOCKET:
			if (!optarg[0]) {
				fprintf(stderr, "faultctl: --socket needs a path\n");
				return EXIT_USAGE;
			}
			path = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_TIMEOUT:
			if (parse_timeout(optarg, &timeout_sec) < 0) {
				fprintf(stderr,
					"faultctl: --timeout: expected a positive number of "
					"seconds "
					"up to %g, got '%s'\n",
					MAX_TIMEOUT_SEC, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case OPT_VERSION:
			printf("faultctl %s\n", FAULTD_VERSION);
			return EXIT_OK;
		default:
			/* getopt_long has said what was wrong. */
			fprintf(stderr, "Try 'faultctl --help' for more information.\n");
			return EXIT_USAGE;
		}
	}

	if (optind >= argc) {
		fprintf(stderr, "faultctl: no command given\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	v = find_verb(argv[optind], &cmd);
	if (!v) {
		fprintf(stderr, "faultctl: unknown command '%s' (see 'faultctl --help')\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	argc -= optind + 1;
	argv += optind + 1;
	if (verb_wants_help(argc, argv)) {
		verb_help(cmd, stdout);
		return EXIT_OK;
	}
	if (verb_parse_args(cmd, argc, argv, &a) < 0)
		return EXIT_USAGE;
	if (v->run)
		return v->run(cmd, &a, json);
	r = v->build_args(cmd, &a, &args);
	if (r < 0)
		return EXIT_USAGE;
	if (timeout_sec == 0)
		timeout_sec = v->timeout_sec > 0 ? v->timeout_sec : DEFAULT_TIMEOUT_SEC;

	r = lc_control_request(path, v->name, args, MAX((int)(timeout_sec * 1000.0), 1), &reply);
	json_object_put(args);
	if (r < 0)
		return report_request_error(v->name, path, r, timeout_sec);

	if (!json_object_object_get_ex(reply, "ok", &ok) ||
	    !json_object_is_type(ok, json_type_boolean)) {
		fprintf(stderr, "faultctl: %s: faultd sent a reply without \"ok\"\n", v->name);
		json_object_put(reply);
		return EXIT_UNREACHABLE;
	}

	ret = json_object_get_boolean(ok) ? EXIT_OK : EXIT_REFUSED;
	if (json) {
		puts(json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	} else if (ret == EXIT_OK) {
		if (json_object_object_get_ex(reply, "data", &data) &&
		    json_object_is_type(data, json_type_object))
			(v->print ? v->print : print_data)(data);
	} else {
		if (!json_object_object_get_ex(reply, "error", &error) ||
		    !json_object_is_type(error, json_type_string))
			error = NULL;
		fprintf(stderr, "faultctl: %s: ", v->name);
		put_text(stderr,
			 error ? json_object_get_string(error) : "failed without saying why",
			 false);
		fputc('\n', stderr);
	}
	json_object_put(reply);

	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "faultctl: cannot write the output: %s\n", strerror(errno));
		return EXIT_REFUSED;
	}
	return ret;
}
