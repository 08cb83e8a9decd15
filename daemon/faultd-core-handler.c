/* SPDX-License-Identifier: MIT */
/*
 * faultd-core-handler: the program the kernel pipes core files into (kernel.core_pattern), see
 * docs/coredumps.md. Thin wiring: arguments, configuration and logging; the capture itself is
 * plugins/coredump/capture.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "build-config.h"
#include "capture.h"
#include "config.h"
#include "coredump-config.h"
#include "log.h"
#include "macro.h"
#include "record.h"
#include "schema.h"
#include "unwind.h"

static void help(void)
{
	printf("Usage: faultd-core-handler [OPTIONS] PID TID SIGNAL TIME UID GID\n"
	       "\n"
	       "Captures the core file of a crashed process from standard input, trimmed to what "
	       "a\n"
	       "debugger needs (thread stacks, ELF headers and build-ids, the shared objects' "
	       "list,\n"
	       "every note), compressed, into faultd's spool as an elf-coredump entry, and "
	       "records\n"
	       "the crash for faultd's hours ledger. The kernel starts it for each crash once\n"
	       "faultd's coredump plugin has set\n"
	       "  kernel.core_pattern = |%s %%P %%I %%s %%t %%u %%g\n"
	       "\n"
	       "Arguments (numbers, as the kernel's %%P %%I %%s %%t %%u %%g give them):\n"
	       "  PID      the crashed process, in the initial pid namespace\n"
	       "  TID      the crashing thread, in the initial pid namespace\n"
	       "  SIGNAL   the signal that killed it\n"
	       "  TIME     Unix time of the dump, seconds\n"
	       "  UID GID  its user and group\n"
	       "\n"
	       "Options:\n"
	       "  -c, --config FILE         configuration file (default %s)\n"
	       "      --output FILE         only trim the core into FILE: no spool entry, no\n"
	       "                            consent, sampling or rate limit, no crash report\n"
	       "      --compression KIND    gzip, zstd or none, instead of coredump.compression\n"
	       "      --stacktrace CORE     print the linux-stacktrace JSON of a saved\n"
	       "                            uncompressed core (trimmed or full), and its\n"
	       "                            top frames and signature to stderr; files it\n"
	       "                            names are opened below sysroot. No arguments\n"
	       "  -h, --help                show this help\n"
	       "      --version             show the version\n"
	       "\n"
	       "A saved core can be trimmed by hand: faultd-core-handler --output small.core.gz "
	       "PID\n"
	       "TID SIGNAL 0 0 0 < core (with the process gone, memory is read from the file).\n"
	       "The stack trace of a saved core: faultd-core-handler --stacktrace CORE\n",
	       FAULTD_CORE_HANDLER, FAULTD_CONF_PATH);
}

/* Parses a decimal number in [0, max] for argument name. */
static int parse_number(const char *name, const char *s, uint64_t max, uint64_t *ret)
{
	char *end;
	uint64_t v;

	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		goto bad;
	*ret = v;
	return 0;
bad:
	fprintf(stderr,
		"faultd-core-handler: %s: expected a number up to %" PRIu64 ", got \"%s\"\n", name,
		max, s);
	return -EINVAL;
}

/* The kernel starts pipe helpers with only stdin open: give 1 and 2 something, so that no file
 * opened later becomes "stderr" and gets log lines written into it. Returns whether stderr was
 * open. */
static bool open_std_fds(void)
{
	bool had_stderr = fcntl(STDERR_FILENO, F_GETFD) >= 0;

	for (int fd = STDOUT_FILENO; fd <= STDERR_FILENO; fd++)
		if (fcntl(fd, F_GETFD) < 0) {
			int n = open("/dev/null", O_WRONLY);

			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
	return had_stderr;
}

static void setup_logging(const struct lc_config *cfg, bool had_stderr)
{
	int target = lc_log_target_from_string(lc_config_get_string(cfg, "log_target"));
	int level = lc_log_level_from_string(lc_config_get_string(cfg, "log_level"));

	if (level >= 0)
		lc_log_set_max_level(level);
	if (target >= 0 && target != LC_LOG_TARGET_AUTO) {
		lc_log_open(NULL, (enum lc_log_target)target);
		return;
	}
	/* "auto": started by the kernel, nobody reads stderr. */
	if (!had_stderr)
		lc_log_open(NULL, HAVE_SYSTEMD && access("/run/systemd/journal/socket", W_OK) == 0
					  ? LC_LOG_TARGET_JOURNAL
					  : LC_LOG_TARGET_SYSLOG);
}

/* --stacktrace: the trace of a saved core on stdout, its top frames and signature on stderr. */
static int print_stacktrace(const struct lc_config *cfg, const char *path)
{
	struct unwind_request ur = {
		.sysroot = lc_config_get_string(cfg, "sysroot"),
		.time_limit_ms =
			(unsigned)lc_config_get_int(cfg, "coredump.stacktrace_time_limit_ms"),
	};
	struct unwind_result *res = NULL;
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	char sig[17] = "none", **frames = NULL;
	int n, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return log_error_errno(errno, "Failed to open %s: %m", path);
	r = unwind_core(fd, &ur, &res);
	if (r == -EOPNOTSUPP)
		return log_error_errno(r, "This faultd-core-handler was built without stack traces "
					  "(libdw).");
	if (r < 0)
		return log_error_errno(r, "No stack trace of %s.", path);
	text = unwind_result_json(res);
	if (!text) {
		unwind_result_free(res);
		return log_oom();
	}
	printf("%s\n", text);
	if (unwind_signature(res, sig) < 0)
		snprintf(sig, sizeof(sig), "none");
	fprintf(stderr, "signature: %s\n", sig);
	n = unwind_top_frames(res, 16, &frames);
	for (int i = 0; i < n; i++)
		fprintf(stderr, "#%-2d %s\n", i, frames[i]);
	strv_free(frames);
	fprintf(stderr,
		"unwound: %zu threads, %zu modules%s, child %" PRIu64 " us, peak RSS %ld KiB, "
		"trace %zu bytes\n",
		res->n_threads, res->n_modules, res->truncated ? " (truncated by the limits)" : "",
		res->child_wall_us, res->child_maxrss_kib, strlen(text));
	unwind_result_free(res);
	return fflush(stdout) == 0 ? 0 : -EIO;
}

int main(int argc, char **argv)
{
	enum { ARG_OUTPUT = 0x100, ARG_COMPRESSION, ARG_STACKTRACE, ARG_VERSION };
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, ARG_OUTPUT },
		{ "compression", required_argument, NULL, ARG_COMPRESSION },
		{ "stacktrace", required_argument, NULL, ARG_STACKTRACE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{},
	};
	const struct lc_cfg_section sections[] = { lc_core_config_section,
						   coredump_config_section };
	struct capture_request req = { .core_fd = STDIN_FILENO };
	struct lc_config_files files = { .main = FAULTD_CONF_PATH,
					 .main_optional = true,
					 .skip_unknown_sections = true };
	struct lc_config *cfg = NULL;
	char **errors = NULL;
	const char *stacktrace = NULL;
	uint64_t v[6];
	struct lc_clock_sample started;
	bool had_stderr;
	int c, r;

	/* The kernel starts the handler as the process dies: this is when it crashed. */
	lc_clock_sample_now(&started);
	req.mono_ms = started.monotonic_ms;

	/* Never dump this process's own core, and never pipe it into a second handler (the kernel
	 * skips pipe helpers for a process whose RLIMIT_CORE is 1). */
	(void)prctl(PR_SET_DUMPABLE, 0);
	(void)setrlimit(RLIMIT_CORE, &(struct rlimit){ 1, 1 });
	had_stderr = open_std_fds();
	lc_log_open("faultd-core-handler", LC_LOG_TARGET_AUTO);

	while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
		switch (c) {
		case 'c':
			files.main = optarg;
			files.main_optional = false;
			break;
		case ARG_OUTPUT:
			req.output = optarg;
			break;
		case ARG_COMPRESSION:
			req.compression = optarg;
			break;
		case ARG_STACKTRACE:
			stacktrace = optarg;
			break;
		case 'h':
			help();
			return EXIT_SUCCESS;
		case ARG_VERSION:
			printf("faultd-core-handler %s\n", FAULTD_VERSION);
			return EXIT_SUCCESS;
		default:
			return 2;
		}
	}
	if (stacktrace) {
		if (argc != optind) {
			fprintf(stderr,
				"faultd-core-handler: --stacktrace takes no other arguments; "
				"see --help.\n");
			return 2;
		}
		r = lc_config_load(sections, ARRAY_SIZE(sections), &files, &cfg, &errors);
		if (r < 0) {
			for (char **e = errors; e && *e; e++)
				log_error("%s", *e);
			if (!errors)
				log_error_errno(r, "Failed to load the configuration: %m");
			strv_free(errors);
			return EXIT_FAILURE;
		}
		r = print_stacktrace(cfg, stacktrace);
		lc_config_free(cfg);
		return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	if (argc - optind != 6) {
		fprintf(stderr,
			"faultd-core-handler: expected PID TID SIGNAL TIME UID GID, got %d "
			"arguments; see --help.\n",
			argc - optind);
		return 2;
	}
	if (parse_number("PID", argv[optind], INT32_MAX, &v[0]) < 0 ||
	    parse_number("TID", argv[optind + 1], INT32_MAX, &v[1]) < 0 ||
	    parse_number("SIGNAL", argv[optind + 2], 255, &v[2]) < 0 ||
	    parse_number("TIME", argv[optind + 3], UINT32_MAX * 1000ULL, &v[3]) < 0 ||
	    parse_number("UID", argv[optind + 4], UINT32_MAX, &v[4]) < 0 ||
	    parse_number("GID", argv[optind + 5], UINT32_MAX, &v[5]) < 0)
		return 2;
	if (v[0] == 0) {
		fprintf(stderr, "faultd-core-handler: PID: expected a process id, got 0\n");
		return 2;
	}
	req.pid = (pid_t)v[0];
	req.tid = (pid_t)v[1];
	req.signal = (int)v[2];
	req.time = v[3];
	req.uid = (uid_t)v[4];
	req.gid = (gid_t)v[5];

	r = lc_config_load(sections, ARRAY_SIZE(sections), &files, &cfg, &errors);
	if (r < 0) {
		/* Without settings there is no consent to go on: say why, capture nothing. */
		for (char **e = errors; e && *e; e++)
			log_error("%s", *e);
		if (!errors)
			log_error_errno(r, "Failed to load the configuration: %m");
		strv_free(errors);
		return EXIT_FAILURE;
	}
	setup_logging(cfg, had_stderr);
	/* The trimmer stops reading at coredump.time_limit_seconds; this ends anything else that
	 * could block (a lock, a stalled filesystem) soon after, since the crashed process cannot
	 * be restarted before the handler exits. */
	alarm((unsigned)lc_config_get_int(cfg, "coredump.time_limit_seconds") + 10);
	r = capture_run(cfg, &req);
	lc_config_free(cfg);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
