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
 * fields need no change here; status alone gets a summary line first. Every error is said once,
 * by fail(): "faultctl: ..." on standard error, or with --json a reply object on standard output.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
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
#include <time.h>
#include <unistd.h>

#include "build-config.h"
#include "commands.h"
#include "control.h"
#include "coredump-names.h"
#include "failure-kind.h"
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

/* --json: errors too are printed as reply objects on standard output. */
static bool arg_json;

static void put_text(FILE *f, const char *s, bool multiline);

/* Says what went wrong and returns status, the exit status it stands for: "faultctl: MESSAGE" on
 * standard error, or with --json {"ok": false, "error": MESSAGE, "errno": errname,
 * "exit_status": status} on standard output, as faultd's refusals are printed. */
_printf_(3, 4) static int fail(int status, const char *errname, const char *format, ...)
{
	char message[1024];
	va_list ap;

	va_start(ap, format);
	vsnprintf(message, sizeof(message), format, ap);
	va_end(ap);
	if (arg_json) {
		_cleanup_json_ json_object *o = json_object_new_object();

		if (lc_json_add(o, "ok", json_object_new_boolean(false)) == 0 &&
		    lc_json_add(o, "error", json_object_new_string(message)) == 0 &&
		    lc_json_add(o, "errno", json_object_new_string(errname)) == 0 &&
		    lc_json_add(o, "exit_status", json_object_new_int(status)) == 0) {
			puts(json_object_to_json_string_ext(
				o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
			return status;
		}
	}
	fputs("faultctl: ", stderr);
	put_text(stderr, message, false);
	fputc('\n', stderr);
	return status;
}

/* fail() for an allocation that failed. */
static int fail_oom(void)
{
	return fail(EXIT_REFUSED, "ENOMEM", "out of memory");
}

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
	char what[768];
	va_list ap;

	va_start(ap, format);
	vsnprintf(what, sizeof(what), format, ap);
	va_end(ap);
	(void)fail(EXIT_USAGE, "EINVAL", "%s: %s; see 'faultctl %s --help'", cmd->name, what,
		   cmd->name);
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
		(void)fail_oom();
		return -ENOMEM;
	}
	for (int i = 0; i < argc; i++) {
		json_object *s = json_object_new_string(argv[i]);

		if (!s || json_object_array_add(list, s) < 0) {
			json_object_put(s);
			json_object_put(list);
			json_object_put(o);
			(void)fail_oom();
			return -ENOMEM;
		}
	}
	if (lc_json_add(o, member, list) < 0) {
		json_object_put(o);
		(void)fail_oom();
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
		(void)fail_oom();
	return o;
}

/* Frees o, a verb's arguments that could not be built, and says it is out of memory; returns
 * -ENOMEM. */
static int args_oom(json_object *o)
{
	json_object_put(o);
	(void)fail_oom();
	return -ENOMEM;
}

/* --reason R [--no-reboot] -> {"reason": R, "reboot": bool}, faultd validating R; --cancel ->
 * {"cancel": true}. */
static int args_reboot(const struct lc_command *cmd, const struct verb_args *a,
		       json_object **ret_args)
{
	const char *reason = option_value(cmd, a, "--reason");
	json_object *o;

	if (a->n_operands > 0) {
		verb_usage_error(cmd, "unexpected argument '%s'", a->operands[0]);
		return -EINVAL;
	}
	if (option_value(cmd, a, "--cancel")) {
		if (reason || option_value(cmd, a, "--no-reboot")) {
			verb_usage_error(cmd, "--cancel takes neither --reason nor --no-reboot");
			return -EINVAL;
		}
		o = new_args();
		if (!o)
			return -ENOMEM;
		if (lc_json_add(o, "cancel", json_object_new_boolean(true)) < 0)
			return args_oom(o);
		*ret_args = o;
		return 0;
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

/* [--json] [--limit N] -> {"limit": N}; --json after the command is the --json before it. */
static int args_history(const struct lc_command *cmd, const struct verb_args *a,
			json_object **ret_args)
{
	const char *limit = option_value(cmd, a, "--limit");
	json_object *o;
	char *end;
	long n;

	if (a->n_operands > 0) {
		verb_usage_error(cmd, "unexpected argument '%s'", a->operands[0]);
		return -EINVAL;
	}
	if (option_value(cmd, a, "--json"))
		arg_json = true;
	if (!limit) {
		*ret_args = NULL;
		return 0;
	}
	errno = 0;
	n = strtol(limit, &end, 10);
	if (errno != 0 || end == limit || *end || n < 1 || n > 256) {
		verb_usage_error(cmd, "--limit: expected a number from 1 to 256, got '%s'", limit);
		return -EINVAL;
	}
	o = new_args();
	if (!o)
		return -ENOMEM;
	if (lc_json_add(o, "limit", json_object_new_int64(n)) < 0)
		return args_oom(o);
	*ret_args = o;
	return 0;
}

/* The signals faultctl knows by name, as kill -l lists them. */
static const struct {
	const char *name;
	int signo;
} signal_names[] = {
	{ "HUP", SIGHUP },	 { "INT", SIGINT },   { "QUIT", SIGQUIT },
	{ "ILL", SIGILL },	 { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
	{ "IOT", SIGIOT },	 { "BUS", SIGBUS },   { "FPE", SIGFPE },
	{ "KILL", SIGKILL },	 { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 },	 { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },
	{ "TERM", SIGTERM },
#ifdef SIGSTKFLT
	{ "STKFLT", SIGSTKFLT },
#endif
	{ "CHLD", SIGCHLD },	 { "CONT", SIGCONT }, { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP },	 { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
	{ "URG", SIGURG },	 { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
	{ "IO", SIGIO },	 { "POLL", SIGPOLL }, { "PWR", SIGPWR },
	{ "SYS", SIGSYS },
};

/* A signal as people write it: a number from 1 to 64, or a name of signal_names in any case,
 * with or without "SIG" ("11", "SEGV", "sigsegv"). Returns 0 or -EINVAL. */
static int parse_signal(const char *s, int *ret)
{
	long n;
	char *end;

	if (s[0] >= '0' && s[0] <= '9') {
		errno = 0;
		n = strtol(s, &end, 10);
		if (errno || *end || n < 1 || n > 64)
			return -EINVAL;
		*ret = (int)n;
		return 0;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < ARRAY_SIZE(signal_names); i++)
		if (strcasecmp(s, signal_names[i].name) == 0) {
			*ret = signal_names[i].signo;
			return 0;
		}
	return -EINVAL;
}

/* PROCESS [SIGNAL] -> {"process": PROCESS, "signal": SIGNAL}, SIGNAL as its number. */
static int args_report_crash(const struct lc_command *cmd, const struct verb_args *a,
			     json_object **ret_args)
{
	json_object *o;
	int signo = 0;

	if (a->n_operands < 1 || a->n_operands > 2) {
		verb_usage_error(cmd, "expected %s", cmd->usage);
		return -EINVAL;
	}
	if (a->n_operands == 2 && parse_signal(a->operands[1], &signo) < 0) {
		verb_usage_error(cmd,
				 "SIGNAL: expected a number from 1 to 64 or a name such as SEGV or "
				 "SIGSEGV, got '%s'",
				 a->operands[1]);
		return -EINVAL;
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

/* KIND -> {"kind": KIND}. */
static int args_report_failure(const struct lc_command *cmd, const struct verb_args *a,
			       json_object **ret_args)
{
	json_object *o;

	if (a->n_operands != 1) {
		verb_usage_error(cmd, "expected %s", cmd->usage);
		return -EINVAL;
	}
	if (!lc_failure_kind_valid(a->operands[0], strlen(a->operands[0]))) {
		verb_usage_error(cmd, "KIND: expected %s, got '%s'", LC_FAILURE_KIND_EXPECTED,
				 a->operands[0]);
		return -EINVAL;
	}
	o = new_args();
	if (!o)
		return -ENOMEM;
	if (lc_json_add(o, "kind", json_object_new_string(a->operands[0])) < 0)
		return args_oom(o);
	*ret_args = o;
	return 0;
}

/* ---- trigger-coredump: a child that crashes for real, so the kernel dumps its core ---- */

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

/* --signal NAME: SEGV, ABRT, BUS, FPE or ILL, written as parse_signal() takes signals. */
static int trigger_parse_signal(const char *s, int *ret)
{
	int signo;

	if (parse_signal(s, &signo) < 0)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(trigger_signals); i++)
		if (trigger_signals[i].signo == signo) {
			*ret = signo;
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
		    lc_json_add(o, "data", TAKE_PTR(data)) < 0)
			return fail_oom();
		if (!ok && lc_json_add(o, "exit_status", json_object_new_int(EXIT_REFUSED)) < 0)
			return fail_oom();
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
		return fail(EXIT_REFUSED, "EAGAIN", "%s: cannot fork: %s", cmd->name,
			    strerror(errno));
	}
	if (pid == 0)
		trigger_child(signo);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			return fail(EXIT_REFUSED, "ECHILD", "%s: cannot wait for child %d: %s",
				    cmd->name, (int)pid, strerror(errno));
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

static int run_help(const struct lc_command *cmd, const struct verb_args *a, bool json);
static void print_status(json_object *data);
static void print_timeline(json_object *data);
static void print_crashes(json_object *data);

/* One entry for each command of lc_commands that is not internal. */
static const struct verb verbs[] = {
	{ .name = "status", .build_args = args_none, .print = print_status },
	{ .name = "show-config", .build_args = args_none },
	{ .name = "enable-data-collection", .build_args = args_none },
	{ .name = "disable-data-collection", .build_args = args_none },
	{ .name = "enable-dev-mode", .build_args = args_none },
	{ .name = "disable-dev-mode", .build_args = args_none },
	{ .name = "sync", .build_args = args_none, .timeout_sec = 15 * 60.0 },
	{ .name = "write-attributes", .build_args = args_attributes },
	{ .name = "reboot", .build_args = args_reboot, .timeout_sec = 45.0 },
	{ .name = "report-crash", .build_args = args_report_crash },
	{ .name = "report-failure", .build_args = args_report_failure },
	{ .name = "report-sync-success", .build_args = args_none },
	{ .name = "report-sync-failure", .build_args = args_none },
	{ .name = "write-metric", .build_args = args_metrics },
	{ .name = "request-metrics", .build_args = args_none },
	{ .name = "logs", .build_args = args_none },
	{ .name = "timeline", .build_args = args_history, .print = print_timeline },
	{ .name = "crashes", .build_args = args_history, .print = print_crashes },
	{ .name = "trigger-coredump", .run = run_trigger_coredump },
	{ .name = "help", .run = run_help },
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
		"      --socket PATH      control socket (default: $FAULTD_SOCKET if set, else\n"
		"                         %s)\n"
		"      --json             print faultd's whole reply as JSON, and nothing else;\n"
		"                         errors too, on standard output\n"
		"      --timeout SECONDS  how long to wait for faultd (default: %g, sync: 900)\n"
		"  -h, --help             show this help\n"
		"      --version          show the version\n"
		"\n"
		"Environment:\n"
		"  FAULTD_SOCKET  the control socket, when --socket does not say\n"
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

/* Set while printing status: numbers are rounded for people (--json keeps them exact). */
static bool arg_human;

/* Whether v stands for nothing: null, "", or an empty object or array, all printed "-". */
static bool is_nothing(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return true;
	case json_type_string:
		return json_object_get_string_len(v) == 0;
	case json_type_object:
		return json_object_object_length(v) == 0;
	case json_type_array:
		return json_object_array_length(v) == 0;
	default:
		return false;
	}
}

/* Writes seconds as people say them: "45 s", "4 min", "2 h 5 min", "3 d 4 h". */
static void put_duration(FILE *f, int64_t sec)
{
	if (sec < 0)
		sec = 0;
	if (sec < 120)
		fprintf(f, "%" PRId64 " s", sec);
	else if (sec < 2 * 3600)
		fprintf(f, "%" PRId64 " min", (sec + 30) / 60);
	else if (sec < 2 * 86400)
		fprintf(f, "%" PRId64 " h %" PRId64 " min", sec / 3600, sec % 3600 / 60);
	else
		fprintf(f, "%" PRId64 " d %" PRId64 " h", sec / 86400, sec % 86400 / 3600);
}

/* Writes a byte count as people read it: "512 B", "48.2 KiB", "78.3 GiB". */
static void put_bytes(FILE *f, int64_t n)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double d = (double)n;
	size_t u = 0;

	if (n < 1024) {
		fprintf(f, "%" PRId64 " B", n);
		return;
	}
	for (d /= 1024; d >= 1024 && u + 1 < ARRAY_SIZE(units); u++)
		d /= 1024;
	fprintf(f, "%.1f %s", d, units[u]);
}

/* Writes a fraction with at most two decimals, without trailing zeros: 0.25, 3, "< 0.01". */
static void put_rounded(FILE *f, double d)
{
	char buf[64];
	size_t len;

	snprintf(buf, sizeof(buf), "%.2f", d);
	if (strchr(buf, '.')) {
		len = strlen(buf);
		while (buf[len - 1] == '0')
			buf[--len] = 0;
		if (buf[len - 1] == '.')
			buf[--len] = 0;
	}
	if (d != 0 && (streq(buf, "0") || streq(buf, "-0")))
		fputs(d > 0 ? "< 0.01" : "> -0.01", f);
	else
		fputs(buf, f);
}

/* Whether key ends with suffix. */
static bool key_ends_with(const char *key, const char *suffix)
{
	size_t k = strlen(key), n = strlen(suffix);

	return k >= n && streq(key + k - n, suffix);
}

/* Prints a scalar member; with arg_human, a number the way people read it by what its key says it
 * is (seconds, bytes, a fraction). */
static void print_scalar(const char *key, json_object *v)
{
	if (is_nothing(v)) {
		fputs("-", stdout);
		return;
	}
	switch (json_object_get_type(v)) {
	case json_type_boolean:
		fputs(json_object_get_boolean(v) ? "yes" : "no", stdout);
		break;
	case json_type_string:
		print_text(json_object_get_string(v));
		break;
	case json_type_double:
		if (arg_human) {
			put_rounded(stdout, json_object_get_double(v));
			break;
		}
		fputs(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), stdout);
		break;
	case json_type_int:
		if (arg_human && key && key_ends_with(key, "seconds")) {
			put_duration(stdout, json_object_get_int64(v));
			break;
		}
		if (arg_human && key && key_ends_with(key, "bytes")) {
			put_bytes(stdout, json_object_get_int64(v));
			break;
		}
		/* fall through */
	default:
		fputs(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), stdout);
		break;
	}
}

static bool is_container(json_object *v)
{
	return json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array);
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
		if (json_object_is_type(v, json_type_object) && !is_nothing(v)) {
			/* The first member shares the dash's line, the rest align under it. */
			print_object(v, level + 2, true);
		} else if (json_object_is_type(v, json_type_array) && !is_nothing(v)) {
			putchar('\n');
			print_array(v, level + 2);
		} else {
			print_scalar(NULL, v);
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
		if (is_container(v) && !is_nothing(v)) {
			putchar('\n');
			if (json_object_is_type(v, json_type_object))
				print_object(v, level + 2, false);
			else
				print_array(v, level + 2);
		} else {
			putchar(' ');
			print_scalar(key, v);
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

/* The member of o at the path of keys, NULL-terminated; NULL when one is missing. */
static json_object *member(json_object *o, ...)
{
	const char *key;
	va_list ap;

	va_start(ap, o);
	while (o && (key = va_arg(ap, const char *)))
		if (!json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, key, &o))
			o = NULL;
	va_end(ap);
	return o;
}

/* The integer at a member, or def when it is missing or not one. */
static int64_t member_int(json_object *v, int64_t def)
{
	return json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : def;
}

/* The seconds since a UTC time written "2024-05-01T12:00:00Z", or -1 when it is not one. */
static int64_t seconds_since(const char *stamp)
{
	struct tm tm = { 0 };
	const char *end = stamp ? strptime(stamp, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;

	if (!end || (*end != 'Z' && *end != '.'))
		return -1;
	return (int64_t)(time(NULL) - timegm(&tm));
}

/* Appends to problems, "; "-separated. */
_printf_(3, 4) static void add_problem(char *problems, size_t size, const char *format, ...)
{
	size_t len = strlen(problems);
	va_list ap;

	if (len > 0 && len + 2 < size) {
		strcpy(problems + len, "; ");
		len += 2;
	}
	va_start(ap, format);
	vsnprintf(problems + len, size - len, format, ap);
	va_end(ap);
}

/* The first line of status: whether all is well and, if not, what is wrong. */
static void print_status_summary(json_object *data)
{
	json_object *last = member(data, "upload", "last_attempt", NULL), *plugins, *v;
	int64_t waiting = member_int(member(data, "spool", "entries", NULL), -1);
	int64_t failures = member_int(member(data, "upload", "consecutive_failures", NULL), 0);
	char problems[512] = "";

	fputs("faultd ", stdout);
	print_scalar(NULL, member(data, "version", NULL));
	fputs(": ", stdout);
	v = member(data, "data_collection", NULL);
	fputs(json_object_get_boolean(v) ? "collecting" : "not collecting (data collection is off)",
	      stdout);
	if (json_object_is_type(last, json_type_object)) {
		json_object *result = member(last, "result", NULL);
		int64_t ago = seconds_since(json_object_get_string(member(last, "time", NULL)));
		bool ok = result && streq(json_object_get_string(result), "ok");

		fputs("; last upload ", stdout);
		if (ago >= 0) {
			put_duration(stdout, ago);
			fputs(" ago ", stdout);
		}
		fputs(ok ? "OK" : "FAILED", stdout);
		if (!ok)
			add_problem(problems, sizeof(problems),
				    "%" PRId64 " failed upload%s in a row", failures,
				    failures == 1 ? "" : "s");
	} else {
		fputs("; no upload yet", stdout);
	}
	if (waiting >= 0)
		printf("; %" PRId64 " entr%s waiting", waiting, waiting == 1 ? "y" : "ies");
	printf("; %" PRId64 " dropped", member_int(member(data, "spool", "drops_total", NULL), 0));

	v = member(data, "storage", "state", NULL);
	if (json_object_is_type(v, json_type_string) && !streq(json_object_get_string(v), "ok"))
		add_problem(problems, sizeof(problems), "storage %s", json_object_get_string(v));
	if (json_object_is_type(member(data, "loops", "boot_loop", NULL), json_type_object))
		add_problem(problems, sizeof(problems), "boot loop");
	v = member(data, "loops", "crash_loops", NULL);
	if (json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0)
		add_problem(problems, sizeof(problems), "crash loop");
	if (!is_nothing(member(data, "runtime_config_damage", NULL)))
		add_problem(problems, sizeof(problems), "runtime.conf is damaged");
	plugins = member(data, "plugins", NULL);
	for (size_t i = 0;
	     json_object_is_type(plugins, json_type_array) && i < json_object_array_length(plugins);
	     i++) {
		json_object *p = json_object_array_get_idx(plugins, i);
		json_object *state = member(p, "state", NULL);

		if (state && streq(json_object_get_string(state), "failed"))
			add_problem(problems, sizeof(problems), "plugin %s failed",
				    json_object_get_string(member(p, "name", NULL)));
	}
	if (problems[0]) {
		fputs("; needs attention: ", stdout);
		put_text(stdout, problems, false);
	} else {
		fputs("; all well", stdout);
	}
	putchar('\n');
}

/* "logs: 4210 lines kept (journal, syslog); 0 dropped by the rate limit, 0 lost" from the logs
 * plugin's status, when it runs; `faultctl logs` has the details. */
static void print_logs_summary(json_object *data)
{
	json_object *plugins = member(data, "plugins", NULL), *st = NULL, *sources;
	bool any = false;
	int64_t lines;

	for (size_t i = 0;
	     json_object_is_type(plugins, json_type_array) && i < json_object_array_length(plugins);
	     i++) {
		json_object *p = json_object_array_get_idx(plugins, i);
		json_object *name = member(p, "name", NULL);

		if (json_object_is_type(name, json_type_string) &&
		    streq(json_object_get_string(name), "logs"))
			st = member(p, "status", NULL);
	}
	if (!json_object_is_type(st, json_type_object))
		return;
	lines = member_int(member(st, "lines", NULL), 0);
	printf("logs: %" PRId64 " line%s kept (", lines, lines == 1 ? "" : "s");
	sources = member(st, "sources", NULL);
	if (json_object_is_type(sources, json_type_object)) {
		json_object_object_foreach(sources, key, v)
		{
			json_object *state = member(v, "state", NULL);

			if (!json_object_is_type(state, json_type_string) ||
			    !streq(json_object_get_string(state), "running"))
				continue;
			printf("%s", any ? ", " : "");
			put_text(stdout, key, false);
			any = true;
		}
	}
	printf("%s); %" PRId64 " dropped by the rate limit, %" PRId64 " lost\n",
	       any ? "" : "no source", member_int(member(st, "dropped_rate_limit", NULL), 0),
	       member_int(member(st, "lost", NULL), 0));
}

/* "loops: boot loop (3 unexpected reboots within 15 minutes); crash loops: gatewayd (5 crashes)"
 * from the history, or "loops: none"; `faultctl timeline` has the details. */
static void print_loops_summary(json_object *data)
{
	json_object *boot = member(data, "loops", "boot_loop", NULL);
	json_object *crash = member(data, "loops", "crash_loops", NULL);
	size_t n =
		json_object_is_type(crash, json_type_array) ? json_object_array_length(crash) : 0;

	if (!member(data, "loops", NULL))
		return;
	fputs("loops: ", stdout);
	if (json_object_is_type(boot, json_type_object))
		printf("boot loop (%" PRId64 " unexpected reboots within %" PRId64 " minutes)%s",
		       member_int(member(boot, "unexpected_reboots", NULL), 0),
		       member_int(member(boot, "minutes", NULL), 0), n ? "; " : "");
	if (n)
		fputs("crash loops in the last hour: ", stdout);
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(crash, i);

		printf("%s", i ? ", " : "");
		put_text(stdout, json_object_get_string(member(c, "process", NULL)), false);
		printf(" (%" PRId64 " crashes)", member_int(member(c, "crashes", NULL), 0));
	}
	if (!n && !json_object_is_type(boot, json_type_object))
		fputs("none", stdout);
	putchar('\n');
	json_object_object_del(data, "loops");
}

/* status: a summary line, the next heartbeat and the declared reboot reason on lines of their
 * own, then the rest as a tree with numbers rounded for people. */
static void print_status(json_object *data)
{
	json_object *next = member(data, "hours", "next_in_seconds", NULL);
	json_object *declared = member(data, "reboot_declared", NULL);

	arg_human = true;
	print_status_summary(data);
	if (next) {
		fputs("next heartbeat: in ", stdout);
		put_duration(stdout, member_int(next, 0));
		putchar('\n');
		json_object_object_del(member(data, "hours", NULL), "next_in_seconds");
	}
	if (declared) {
		fputs("reboot declared: ", stdout);
		if (member(declared, "reason", NULL))
			print_scalar(NULL, member(declared, "reason", NULL));
		else if (member(declared, "damaged", NULL)) {
			fputs("damaged, ignored at the next boot: ", stdout);
			print_scalar(NULL, member(declared, "damaged", NULL));
		} else
			print_scalar(NULL, declared);
		fputs(" (faultctl reboot --cancel withdraws it)\n", stdout);
	} else {
		fputs("reboot declared: -\n", stdout);
	}
	json_object_object_del(data, "reboot_declared");
	print_logs_summary(data);
	print_loops_summary(data);
	print_object(data, 0, false);
}

/* The string at a member, or "" when it is missing or not one. */
static const char *member_str(json_object *v)
{
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

/* Unix time in ms as RFC 3339 in UTC, "2026-12-08T02:40:01Z"; "-" when it cannot be. */
static const char *format_time_ms(int64_t ms, char *buf, size_t size)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (ms < 0 || !gmtime_r(&secs, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "-");
	return buf;
}

/* "SIGSEGV", or "signal 70" for one without a name. */
static const char *format_signal(int64_t signo, char *buf, size_t size)
{
	const char *name = lc_core_signal_name((int)signo);

	if (name)
		snprintf(buf, size, "%s", name);
	else
		snprintf(buf, size, "signal %" PRId64, signo);
	return buf;
}

/* Writes s made safe as put_text() does, padded to width columns (at most width bytes of it when
 * cut). */
static void put_cell(const char *s, int width, bool cut)
{
	char t[256];

	snprintf(t, sizeof(t), "%s", s);
	lc_text_scrub(t, strlen(t), 0);
	printf("%-*.*s", width, cut ? width : (int)sizeof(t), t);
}

/* The first frame of a crash event, or NULL. */
static const char *first_frame(json_object *e)
{
	json_object *frames = member(e, "frames", NULL);

	if (!json_object_is_type(frames, json_type_array) || json_object_array_length(frames) == 0)
		return NULL;
	return member_str(json_object_array_get_idx(frames, 0));
}

/* The details of a timeline event, for people. */
static void format_event(json_object *e, const char *kind, char *buf, size_t size)
{
	char sig[32];

	if (streq(kind, "boot")) {
		json_object *reason = member(e, "reason_name", NULL);

		snprintf(buf, size, "%s%s%s%s; version %s", reason ? "after " : "first boot seen",
			 reason ? member_str(reason) : "",
			 json_object_get_boolean(member(e, "unexpected", NULL)) ? ", unexpected"
										: "",
			 json_object_get_boolean(member(e, "boot_loop", NULL)) ? ", boot loop" : "",
			 member_str(member(e, "software_version", NULL))[0]
				 ? member_str(member(e, "software_version", NULL))
				 : "-");
	} else if (streq(kind, "crash")) {
		const char *sign = member_str(member(e, "signature", NULL));
		const char *frame = first_frame(e);
		const char *core = member_str(member(e, "core", NULL));

		snprintf(buf, size, "%s[%" PRId64 "] %s%s%s%s%s%s%s",
			 member_str(member(e, "process", NULL)),
			 member_int(member(e, "pid", NULL), 0),
			 format_signal(member_int(member(e, "signal", NULL), 0), sig, sizeof(sig)),
			 sign[0] ? " sig " : "", sign, frame ? " at " : "", frame ? frame : "",
			 core[0] ? "; core " : "", core);
	} else if (streq(kind, "crash-loop")) {
		snprintf(buf, size, "%s: %" PRId64 " crashes within coredump.loop_minutes",
			 member_str(member(e, "process", NULL)),
			 member_int(member(e, "crashes", NULL), 0));
	} else if (streq(kind, "update")) {
		snprintf(buf, size, "%s -> %s", member_str(member(e, "from", NULL)),
			 member_str(member(e, "to", NULL)));
	} else if (streq(kind, "boot-loop")) {
		snprintf(buf, size, "%" PRId64 " unexpected reboots within %" PRId64 " minutes",
			 member_int(member(e, "unexpected_reboots", NULL), 0),
			 member_int(member(e, "minutes", NULL), 0));
	} else {
		buf[0] = '\0';
	}
}

/* "(N of TOTAL events; faultctl timeline --limit ...)" when the reply left some out. */
static void print_history_footer(json_object *data, const char *what)
{
	json_object *events = member(data, "events", NULL);
	int64_t total = member_int(member(data, "total", NULL), 0);
	size_t n =
		json_object_is_type(events, json_type_array) ? json_object_array_length(events) : 0;

	if (n == 0)
		printf("No %s recorded yet.\n", what);
	else if ((int64_t)n < total)
		printf("(the newest %zu of %" PRId64 " %s)\n", n, total, what);
}

/* timeline: TIME BOOT EVENT DETAILS, one line per event; the boot in progress marked '*'. */
static void print_timeline(json_object *data)
{
	json_object *events = member(data, "events", NULL);
	const char *current = member_str(member(data, "boot_id", NULL));
	size_t n =
		json_object_is_type(events, json_type_array) ? json_object_array_length(events) : 0;
	char when[32], details[1024];

	if (n > 0)
		printf("%-20s  %-9s  %-10s  %s\n", "TIME (UTC)", "BOOT", "EVENT", "DETAILS");
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(events, i);
		const char *kind = member_str(member(e, "kind", NULL));
		const char *boot = member_str(member(e, "boot_id", NULL));

		format_event(e, kind, details, sizeof(details));
		printf("%-20s  %c",
		       format_time_ms(member_int(member(e, "time_ms", NULL), -1), when,
				      sizeof(when)),
		       boot[0] && streq(boot, current) ? '*' : ' ');
		put_cell(boot[0] ? boot : "-", 8, true);
		fputs("  ", stdout);
		put_cell(kind, 10, false);
		fputs("  ", stdout);
		put_text(stdout, details, false);
		putchar('\n');
	}
	print_history_footer(data, "events");
}

/* crashes: one line per crash, then its top frames indented. */
static void print_crashes(json_object *data)
{
	json_object *events = member(data, "events", NULL);
	size_t n =
		json_object_is_type(events, json_type_array) ? json_object_array_length(events) : 0;
	char when[32], sig[32], head[160], details[512];

	if (n > 0)
		printf("%-20s  %-24s  %-8s  %-16s  %-12s  %s\n", "TIME (UTC)", "PROCESS[PID]",
		       "SIGNAL", "SIGNATURE", "CORE", "ENTRIES");
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(events, i);
		json_object *frames = member(e, "frames", NULL);
		const char *core = member_str(member(e, "core", NULL));
		const char *sign = member_str(member(e, "signature", NULL));
		const char *entry = member_str(member(e, "entry", NULL));
		const char *trace = member_str(member(e, "trace_entry", NULL));

		snprintf(head, sizeof(head), "%s[%" PRId64 "]",
			 member_str(member(e, "process", NULL)),
			 member_int(member(e, "pid", NULL), 0));
		snprintf(details, sizeof(details), "%s%s%s%s%s", entry[0] ? "core " : "", entry,
			 entry[0] && trace[0] ? ", " : "", trace[0] ? "trace " : "", trace);
		printf("%-20s  ", format_time_ms(member_int(member(e, "time_ms", NULL), -1), when,
						 sizeof(when)));
		put_cell(head, 24, false);
		fputs("  ", stdout);
		printf("%-8s  ",
		       format_signal(member_int(member(e, "signal", NULL), 0), sig, sizeof(sig)));
		put_cell(sign[0] ? sign : "-", 16, false);
		fputs("  ", stdout);
		put_cell(core[0] ? core : "-", 12, false);
		fputs("  ", stdout);
		put_text(stdout, details[0] ? details : "-", false);
		putchar('\n');
		for (size_t k = 0; json_object_is_type(frames, json_type_array) &&
				   k < json_object_array_length(frames);
		     k++) {
			printf("    #%zu ", k);
			put_text(stdout, member_str(json_object_array_get_idx(frames, k)), false);
			putchar('\n');
		}
	}
	print_history_footer(data, "crashes");
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

/* The edit distance between a and b, a swap of two neighbours counting as one edit (optimal
 * string alignment), over at most 31 characters of each. */
static unsigned edit_distance(const char *a, const char *b)
{
	unsigned d[32][32];
	size_t m = MIN(strlen(a), (size_t)31), n = MIN(strlen(b), (size_t)31);

	for (size_t i = 0; i <= m; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= n; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= m; i++)
		for (size_t j = 1; j <= n; j++) {
			unsigned cost = a[i - 1] != b[j - 1];

			d[i][j] =
				MIN(MIN(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
				d[i][j] = MIN(d[i][j], d[i - 2][j - 2] + 1);
		}
	return d[m][n];
}

/* Says that name is no command of faultctl's, suggesting the closest one when it is near enough to
 * be a typing mistake; returns EXIT_USAGE. */
static int fail_unknown_command(const char *name)
{
	const char *best = NULL;
	unsigned best_d = UINT_MAX;

	for (size_t i = 0; i < lc_commands_count; i++) {
		unsigned d;

		if (lc_commands[i].internal)
			continue;
		d = edit_distance(name, lc_commands[i].name);
		if (d < best_d) {
			best_d = d;
			best = lc_commands[i].name;
		}
	}
	/* Two mistakes in a long word, one in a short one: beyond that, a guess misleads. */
	if (best && best_d <= (strlen(name) > 5 ? 2u : 1u))
		return fail(EXIT_USAGE, "EINVAL",
			    "unknown command '%s'; did you mean '%s'? (see 'faultctl --help')",
			    name, best);
	return fail(EXIT_USAGE, "EINVAL", "unknown command '%s' (see 'faultctl --help')", name);
}

/* {"name", "usage", "summary", "privileged", "internal"} of cmd, or NULL without memory. */
static json_object *command_to_json(const struct lc_command *cmd)
{
	_cleanup_json_ json_object *o = json_object_new_object();

	if (lc_json_add(o, "name", json_object_new_string(cmd->name)) < 0 ||
	    lc_json_add(o, "usage", json_object_new_string(cmd->usage)) < 0 ||
	    lc_json_add(o, "summary", json_object_new_string(cmd->summary)) < 0 ||
	    lc_json_add(o, "privileged", json_object_new_boolean(cmd->privileged)) < 0 ||
	    lc_json_add(o, "internal", json_object_new_boolean(cmd->internal)) < 0)
		return NULL;
	return TAKE_PTR(o);
}

/* `help [COMMAND]`: answered from the command table, without faultd. */
static int run_help(const struct lc_command *cmd, const struct verb_args *a, bool json)
{
	const struct lc_command *about = NULL;
	_cleanup_json_ json_object *o = NULL;
	json_object *list = NULL, *data = NULL;

	if (a->n_operands > 1) {
		verb_usage_error(cmd, "unexpected argument '%s'", a->operands[1]);
		return EXIT_USAGE;
	}
	if (a->n_operands == 1) {
		about = lc_command_find(a->operands[0]);
		if (!about || about->internal)
			return fail_unknown_command(a->operands[0]);
	}
	if (!json) {
		if (about)
			verb_help(about, stdout);
		else
			usage(stdout);
		return EXIT_OK;
	}
	o = json_object_new_object();
	if (lc_json_add(o, "ok", json_object_new_boolean(true)) < 0 ||
	    lc_json_add(o, "data", data = json_object_new_object()) < 0 ||
	    lc_json_add(data, "commands", list = json_object_new_array()) < 0)
		return fail_oom();
	for (size_t i = 0; i < lc_commands_count; i++) {
		json_object *c;

		if (about && about != &lc_commands[i])
			continue;
		c = command_to_json(&lc_commands[i]);
		if (!c || json_object_array_add(list, c) < 0) {
			json_object_put(c);
			return fail_oom();
		}
	}
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	return EXIT_OK;
}

static int report_request_error(const char *command, const char *path, int r, double timeout_sec)
{
	char name[32];
	const char *e = lc_control_errno_name(-r, name, sizeof(name));

	switch (-r) {
	case ENOENT:
	case ECONNREFUSED:
		return fail(EXIT_UNREACHABLE, e, "cannot connect to %s: %s (is faultd running?)",
			    path, strerror(-r));
	case EACCES:
	case EPERM:
	case ENOTDIR:
	case ENAMETOOLONG:
		return fail(EXIT_UNREACHABLE, e, "cannot connect to %s: %s", path, strerror(-r));
	case ETIMEDOUT:
		return fail(EXIT_UNREACHABLE, e, "%s: faultd did not answer within %g s", command,
			    timeout_sec);
	case ECONNRESET:
	case EPIPE:
		return fail(EXIT_UNREACHABLE, e,
			    "%s: faultd closed the connection without answering", command);
	case EBADMSG:
		return fail(EXIT_UNREACHABLE, e,
			    "%s: faultd sent a reply that is not a JSON object", command);
	default:
		return fail(EXIT_UNREACHABLE, e, "%s: talking to faultd on %s failed: %s", command,
			    path, strerror(-r));
	}
}

/* Whether --json is among the options before the command: known before any of them is taken,
 * so that every error, even one about them, is printed as --json asks. */
static bool wants_json(int argc, char **argv)
{
	for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (streq(argv[i], "--"))
			break;
		if (streq(argv[i], "--json"))
			return true;
		if (streq(argv[i], "--socket") || streq(argv[i], "--timeout"))
			i++;
	}
	return false;
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
	const char *path = getenv("FAULTD_SOCKET");
	double timeout_sec = 0;
	json_object *args = NULL, *reply = NULL, *ok, *data, *error;
	const struct lc_command *cmd = NULL;
	const struct verb *v;
	struct verb_args a;
	int c, r, ret;

	if (!path || !path[0])
		path = FAULTD_CONTROL_SOCKET;
	arg_json = wants_json(argc, argv);
	/* faultctl says what is wrong itself, under its own name rather than argv[0]. */
	opterr = 0;
	/* "+": stop at the command, so that its own options (e.g. "reboot --reason") are its. */
	while ((c = getopt_long(argc, argv, "+:h", options, NULL)) >= 0) {
		const char *word = argv[optind - 1];

		switch (c) {
		case OPT_SOCKET:
			if (!optarg[0])
				return fail(EXIT_USAGE, "EINVAL",
					    "--socket needs a path; see 'faultctl --help'");
			path = optarg;
			break;
		case OPT_JSON:
			arg_json = true;
			break;
		case OPT_TIMEOUT:
			if (parse_timeout(optarg, &timeout_sec) < 0)
				return fail(
					EXIT_USAGE, "EINVAL",
					"--timeout: expected a positive number of seconds up to "
					"%g, got '%s'",
					MAX_TIMEOUT_SEC, optarg);
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case OPT_VERSION:
			printf("faultctl %s\n", FAULTD_VERSION);
			return EXIT_OK;
		case ':':
			return fail(EXIT_USAGE, "EINVAL",
				    "option '%s' needs a value; see 'faultctl --help'", word);
		default:
			if (optopt)
				return fail(EXIT_USAGE, "EINVAL",
					    "unknown option '-%c'; see 'faultctl --help'", optopt);
			return fail(EXIT_USAGE, "EINVAL",
				    "unknown option '%.*s'; see 'faultctl --help'",
				    (int)strcspn(word, "="), word);
		}
	}

	if (optind >= argc) {
		if (arg_json)
			return fail(EXIT_USAGE, "EINVAL",
				    "no command given; see 'faultctl --help'");
		fprintf(stderr, "faultctl: no command given\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	v = find_verb(argv[optind], &cmd);
	if (!v)
		return fail_unknown_command(argv[optind]);
	argc -= optind + 1;
	argv += optind + 1;
	if (verb_wants_help(argc, argv)) {
		verb_help(cmd, stdout);
		return EXIT_OK;
	}
	if (verb_parse_args(cmd, argc, argv, &a) < 0)
		return EXIT_USAGE;
	if (v->run)
		return v->run(cmd, &a, arg_json);
	r = v->build_args(cmd, &a, &args);
	if (r < 0)
		return r == -ENOMEM ? EXIT_REFUSED : EXIT_USAGE;
	if (timeout_sec == 0)
		timeout_sec = v->timeout_sec > 0 ? v->timeout_sec : DEFAULT_TIMEOUT_SEC;

	r = lc_control_request(path, v->name, args, MAX((int)(timeout_sec * 1000.0), 1), &reply);
	json_object_put(args);
	if (r < 0)
		return report_request_error(v->name, path, r, timeout_sec);

	if (!json_object_object_get_ex(reply, "ok", &ok) ||
	    !json_object_is_type(ok, json_type_boolean)) {
		json_object_put(reply);
		return fail(EXIT_UNREACHABLE, "EBADMSG", "%s: faultd sent a reply without \"ok\"",
			    v->name);
	}

	ret = json_object_get_boolean(ok) ? EXIT_OK : EXIT_REFUSED;
	if (arg_json) {
		if (ret != EXIT_OK &&
		    lc_json_add(reply, "exit_status", json_object_new_int(ret)) < 0) {
			json_object_put(reply);
			return fail_oom();
		}
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
		(void)fail(ret, "EIO", "%s: %s", v->name,
			   error ? json_object_get_string(error) : "failed without saying why");
	}
	json_object_put(reply);

	if (fflush(stdout) != 0 || ferror(stdout)) {
		arg_json = false;
		return fail(EXIT_REFUSED, "EIO", "cannot write the output: %s", strerror(errno));
	}
	return ret;
}
