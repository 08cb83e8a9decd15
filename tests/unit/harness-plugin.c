/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "harness-plugin.h"
#include "macro.h"

static const struct lc_cfg_key core_keys[] = {
	{ .name = "state_dir", .type = LC_CFG_STRING, .def_string = "/nonexistent" },
	{ .name = "sysroot", .type = LC_CFG_STRING, .def_string = "/" },
	{ .name = "enable_data_collection", .type = LC_CFG_BOOL, .def_bool = true },
	{ .name = "enable_dev_mode", .type = LC_CFG_BOOL, .def_bool = false },
};
static const struct lc_cfg_section core_section = { .keys = core_keys,
						    .n_keys = ARRAY_SIZE(core_keys) };

static struct lc_metrics *harness_metrics(void *userdata)
{
	struct plugin_harness *h = userdata;

	return h->collection_off ? NULL : h->metrics;
}

struct plugin_harness *plugin_harness_new_list(const struct lc_plugin_ops *const *ops, size_t n,
					       const char *name,
					       const struct lc_metrics_limits *limits)
{
	struct plugin_harness *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	assert_in_range(n, 1, PLUGIN_HARNESS_MAX);
	for (size_t i = 0; i < n; i++)
		h->plugins[i] = ops[i];
	h->n_plugins = n;
	h->tree = tree_new(name);
	assert_non_null(h->tree);
	h->conf = tree_path(h->tree->dir, "faultd.conf");
	assert_int_equal(lc_plugin_config_sections(&core_section, 1, h->plugins, h->n_plugins,
						   &h->sections, &h->n_sections),
			 0);
	if (limits)
		assert_int_equal(lc_metrics_new(limits, &h->metrics), 0);
	h->services = (struct lc_plugin_services){ .metrics = harness_metrics, .userdata = h };
	h->saved_stderr = -1;
	return h;
}

struct plugin_harness *plugin_harness_new(const struct lc_plugin_ops *ops, const char *name,
					  const struct lc_metrics_limits *limits)
{
	return plugin_harness_new_list(&ops, 1, name, limits);
}

struct plugin_harness *plugin_harness_free(struct plugin_harness *h)
{
	if (!h)
		return NULL;
	if (h->host)
		plugin_harness_stop(h);
	if (h->log)
		free(plugin_harness_log_end(h));
	lc_config_free(h->cfg);
	lc_metrics_free(h->metrics);
	free(h->sections);
	free(h->conf);
	assert_int_equal(tree_free(h->tree), 0);
	free(h);
	return NULL;
}

int plugin_harness_load_files(struct plugin_harness *h, const struct lc_config_files *files,
			      struct lc_config **ret, char **ret_error)
{
	char **errors = NULL;
	int r;

	r = lc_config_load(h->sections, h->n_sections, files, ret, &errors);
	if (r < 0) {
		assert_non_null(errors);
		if (ret_error)
			*ret_error = strdup(errors[0]);
	}
	strv_free(errors);
	return r;
}

int plugin_harness_load(struct plugin_harness *h, const char *text, struct lc_config **ret,
			char **ret_error)
{
	struct lc_config_files files = { .main = h->conf, .skip_runtime = true };

	assert_int_equal(lc_write_file_atomic(h->conf, text, strlen(text), 0600), 0);
	return plugin_harness_load_files(h, &files, ret, ret_error);
}

unsigned plugin_harness_start(struct plugin_harness *h)
{
	assert_null(h->host);
	assert_int_equal(uv_loop_init(&h->loop), 0);
	assert_int_equal(lc_plugin_host_new(&h->loop, h->plugins, h->n_plugins, &h->host), 0);
	lc_plugin_host_set_services(h->host, &h->services);
	return lc_plugin_host_start(h->host, h->cfg);
}

void plugin_harness_stop(struct plugin_harness *h)
{
	h->host = lc_plugin_host_free(h->host);
	uv_run(&h->loop, UV_RUN_DEFAULT);
	/* Nothing may be left open in the loop. */
	assert_int_equal(uv_loop_close(&h->loop), 0);
	h->cfg = lc_config_free(h->cfg);
}

bool plugin_harness_run_until(struct plugin_harness *h, uv_run_mode mode, unsigned max_passes,
			      bool (*done)(void *userdata), void *userdata)
{
	for (unsigned i = 0; i < max_passes && !done(userdata); i++) {
		uv_run(&h->loop, mode);
		if (mode == UV_RUN_NOWAIT && !done(userdata))
			usleep(1000);
	}
	return done(userdata);
}

json_object *plugin_harness_status(struct plugin_harness *h)
{
	json_object *all = lc_plugin_host_status(h->host), *status = NULL;

	if (!json_object_object_get_ex(json_object_array_get_idx(all, 0), "status", &status))
		fail_msg("no status in %s", json_object_to_json_string(all));
	json_object_get(status);
	json_object_put(all);
	return status;
}

json_object *plugin_harness_member(json_object *o, const char *path)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(o, k, &o))
			fail_msg("no \"%s\" in %s", path, json_object_to_json_string(o));
	return o;
}

int64_t plugin_harness_status_int(struct plugin_harness *h, const char *path)
{
	json_object *status = plugin_harness_status(h);
	int64_t n = json_object_get_int64(plugin_harness_member(status, path));

	json_object_put(status);
	return n;
}

json_object *plugin_harness_heartbeat(struct plugin_harness *h)
{
	json_object *o = json_object_new_object();

	assert_non_null(o);
	assert_int_equal(lc_metrics_roll(h->metrics, o), 0);
	return o;
}

double plugin_harness_reading(json_object *heartbeat, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(heartbeat, key, &v))
		fail_msg("no \"%s\" in %s", key, json_object_to_json_string(heartbeat));
	return json_object_get_double(v);
}

void plugin_harness_log_start(struct plugin_harness *h)
{
	_cleanup_close_ int fd = -1;

	assert_null(h->log);
	h->log = tree_path(h->tree->dir, "stderr.log");
	fd = open(h->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	h->saved_stderr = dup(STDERR_FILENO);
	assert_true(h->saved_stderr >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
}

char *plugin_harness_log_end(struct plugin_harness *h)
{
	_cleanup_free_ char *path = TAKE_PTR(h->log);
	char *text = NULL;

	assert_non_null(path);
	fflush(stderr);
	assert_int_equal(dup2(h->saved_stderr, STDERR_FILENO), STDERR_FILENO);
	h->saved_stderr = safe_close(h->saved_stderr);
	assert_int_equal(lc_read_file(path, 1 << 20, &text, NULL), 0);
	assert_int_equal(unlink(path), 0);
	return text;
}
