/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the configuration files (libcollector/config/config.c and its parser
 * jsonc.c), with faultd's real schema: the core keys and the sections of every compiled-in plugin.
 * The input is loaded twice, as the main file and as runtime.conf (the layer faultctl writes) under
 * a valid main file. Checked beyond crashes: a refused file gets at least one error and every error
 * names the file it is about; an accepted one prints and converts to JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core.h"
#include "fuzz-util.h"
#include "macro.h"
#include "registry.h"

static struct lc_core_options opts = {
	.plugins = faultd_plugins,
	.n_plugins = 0, /* set from faultd_n_plugins: not a constant expression */
};
static struct lc_core *core;
static const struct lc_cfg_section *sections;
static size_t n_sections;
static char *main_path, *fixed_path, *runtime_path, *dropin_dir;
static FILE *devnull;

static void setup(void)
{
	char *state_dir, *text;

	fuzz_quiet();
	opts.n_plugins = faultd_n_plugins;
	CHECK(lc_core_new(&opts, &core) == 0);
	sections = lc_core_sections(core, &n_sections);
	fuzz_mkdir("conf.d");
	fuzz_mkdir("state");
	main_path = fuzz_path("faultd.conf");
	fixed_path = fuzz_path("fixed.conf");
	runtime_path = fuzz_path("state/runtime.conf");
	dropin_dir = fuzz_path("conf.d");
	state_dir = fuzz_path("state");
	CHECK(asprintf(&text, "{\"state_dir\": \"%s\"}\n", state_dir) > 0);
	fuzz_write(fixed_path, text, strlen(text));
	free(text);
	free(state_dir);
	devnull = fopen("/dev/null", "we");
	CHECK(devnull);
}

/* Loads, then checks what came of it; errors must name one of the files read. */
static void load(const struct lc_config_files *files, const char *input_path)
{
	struct lc_config *cfg = NULL;
	char **errors = NULL;
	json_object *j;
	int r;

	r = lc_config_load(sections, n_sections, files, &cfg, &errors);
	CHECK(r == 0 || r == -EINVAL);
	if (r < 0) {
		CHECK(errors && errors[0] && !cfg);
		for (char **e = errors; *e; e++)
			CHECK(strncmp(*e, input_path, strlen(input_path)) == 0 ||
			      strncmp(*e, "(and ", 5) == 0);
		strv_free(errors);
		return;
	}
	CHECK(cfg && !errors);
	CHECK(lc_config_get_string(cfg, "state_dir")[0] == '/');
	CHECK(lc_config_print(cfg, devnull) == 0);
	j = lc_config_to_json(cfg, true, true);
	CHECK(j);
	json_object_put(j);
	j = lc_config_to_json(cfg, false, false);
	CHECK(j);
	json_object_put(j);
	lc_config_free(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!core)
		setup();

	/* The main file: runtime.conf left out, as state_dir is whatever the input says. */
	fuzz_write(main_path, data, size);
	load(&(struct lc_config_files){ .main = main_path,
					.dropin_dir = dropin_dir,
					.skip_runtime = true },
	     main_path);

	/* runtime.conf, under a main file that puts state_dir in the scratch directory. */
	fuzz_write(runtime_path, data, size);
	load(&(struct lc_config_files){ .main = fixed_path, .dropin_dir = dropin_dir },
	     runtime_path);
	return 0;
}
