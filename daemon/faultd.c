/* SPDX-License-Identifier: MIT */
/* faultd: command line, then the core with the compiled-in plugins. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build-config.h"
#include "config.h"
#include "core.h"
#include "log.h"
#include "macro.h"
#include "registry.h"

enum action {
	ACTION_RUN,
	ACTION_CHECK,
	ACTION_PRINT,
	ACTION_PRINT_DEFAULT,
};

static void help(void)
{
	printf("Usage: faultd [OPTIONS]\n"
	       "\n"
	       "Collects why this device rebooted, its metrics, its operational and crash-free\n"
	       "hours and the core files of crashing processes, keeps them on flash and uploads\n"
	       "them in batches. Runs in the foreground; control it with faultctl.\n"
	       "\n"
	       "Options:\n"
	       "  -c, --config FILE         read FILE, then FILE.d/*.conf, instead of\n"
	       "                            " FAULTD_CONF_PATH " and its .d directory\n"
	       "      --check-config        validate the configuration, print every error with\n"
	       "                            file:line, and exit 0 if it is valid, 1 if not\n"
	       "      --print-config        print the merged configuration and where each value\n"
	       "                            came from\n"
	       "      --print-default-config\n"
	       "                            print the documented configuration file: every key,\n"
	       "                            its meaning and its default\n"
	       "      --log-level LEVEL     log at debug, info, notice, warning or error,\n"
	       "                            whatever the configuration's log_level says\n"
	       "      --log-target TARGET   log to auto, journal, syslog or stderr, whatever\n"
	       "                            the configuration's log_target says\n"
	       "  -h, --help                show this help\n"
	       "      --version             show the version\n"
	       "\n"
	       "Signals: SIGTERM or SIGINT stop, SIGHUP reloads the configuration (an invalid\n"
	       "one is reported and the running one kept).\n"
	       "\n"
	       "Exit status: 0 success, 1 invalid configuration or failure, 2 usage error.\n");
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "print-config", no_argument, NULL, 'P' },
		{ "print-default-config", no_argument, NULL, 'D' },
		{ "log-target", required_argument, NULL, 'L' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	struct lc_core_options opts = {
		.plugins = faultd_plugins,
		.n_plugins = faultd_n_plugins,
	};
	_cleanup_strv_free_ char **errors = NULL;
	enum action action = ACTION_RUN;
	struct lc_config *cfg = NULL;
	struct lc_core *core = NULL;
	const struct lc_cfg_section *sections;
	size_t n_sections;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
		switch (c) {
		case 'c':
			opts.config_path = optarg;
			break;
		case 'C':
			action = ACTION_CHECK;
			break;
		case 'P':
			action = ACTION_PRINT;
			break;
		case 'D':
			action = ACTION_PRINT_DEFAULT;
			break;
		case 'L':
			if (lc_log_target_from_string(optarg) < 0) {
				fprintf(stderr,
					"faultd: --log-target: '%s' is not one of auto, journal, "
					"syslog, stderr.\n",
					optarg);
				return 2;
			}
			opts.log_target = optarg;
			break;
		case 'l':
			if (lc_log_level_from_string(optarg) < 0) {
				fprintf(stderr,
					"faultd: --log-level: '%s' is not one of debug, info, "
					"notice, "
					"warning, error.\n",
					optarg);
				return 2;
			}
			opts.log_level = optarg;
			break;
		case 'h':
			help();
			return EXIT_SUCCESS;
		case 'V':
			printf("faultd " FAULTD_VERSION "\n");
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "Try 'faultd --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "faultd: unexpected argument '%s'. Try 'faultd --help'.\n",
			argv[optind]);
		return 2;
	}

	lc_log_open("faultd",
		    opts.log_target && action == ACTION_RUN
			    ? (enum lc_log_target)lc_log_target_from_string(opts.log_target)
			    : LC_LOG_TARGET_AUTO);
	r = lc_core_new(&opts, &core);
	if (r < 0) {
		log_oom();
		return EXIT_FAILURE;
	}
	sections = lc_core_sections(core, &n_sections);

	if (action == ACTION_PRINT_DEFAULT) {
		r = lc_config_print_template(sections, n_sections, stdout);
		lc_core_free(core);
		return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	}

	r = lc_core_load_config(core, &cfg, &errors);
	if (r < 0) {
		for (char **e = errors; e && *e; e++)
			fprintf(stderr, "%s\n", *e);
		if (!errors)
			fprintf(stderr, "faultd: failed to load the configuration: %s\n",
				strerror(-r));
		else if (action != ACTION_RUN || strv_length(errors) > 1)
			fprintf(stderr, "faultd: %zu error%s in the configuration.\n",
				strv_length(errors), strv_length(errors) == 1 ? "" : "s");
		lc_core_free(core);
		return EXIT_FAILURE;
	}

	switch (action) {
	case ACTION_CHECK:
		/* Not an error of the configuration (faultd starts), but the switches are off. */
		if (lc_config_runtime_damage(cfg))
			fprintf(stderr,
				"faultd: warning: %s: runtime.conf is damaged and will not be "
				"applied; data collection and developer mode stay off until "
				"faultctl enables them.\n",
				lc_config_runtime_damage(cfg));
		{
			size_t n;
			const char *const *read = lc_config_files_read(cfg, &n);

			if (n == 0)
				printf("No configuration file was read (%s does not exist); the "
				       "built-in defaults are valid.\n",
				       lc_config_main_path(cfg));
			else {
				printf("Configuration is valid. Read, in order:\n");
				for (size_t i = 0; i < n; i++)
					printf("  %s\n", read[i]);
			}
		}
		r = 0;
		break;
	case ACTION_PRINT:
		r = lc_config_print(cfg, stdout);
		break;
	default:
		r = lc_core_run(core, TAKE_PTR(cfg));
		break;
	}
	lc_config_free(cfg);
	lc_core_free(core);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
