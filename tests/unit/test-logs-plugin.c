/* SPDX-License-Identifier: MIT */
/*
 * The logs plugin (plugins/logs/) run by a plugin host on a libuv loop, with a kernel log in a fake
 * tree (a file standing in for /dev/kmsg) and syslog on a Unix datagram socket, and a fake core
 * whose record_file keeps what it is given: the files the plugin commits are read back with zlib,
 * their chain checked, and the heartbeat's counters read from the metric store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <zlib.h>

#include "harness-plugin.h"
#include "json-util.h"
#include "logs-plugin.h"
#include "macro.h"
#include "record.h"

#define FILES_MAX 8

/* What the fake core was given, one per record_file call. */
struct recorded {
	char uuid[37], cid[37], next_cid[37];
	char *lines; /* the file, uncompressed */
};

struct fixture {
	struct plugin_harness *ph;
	struct lc_boot_info boot;
	struct recorded files[FILES_MAX];
	size_t n_files;
	int refuse; /* record_file's answer when not 0 */
};

static struct fixture *current;

static char *gunzip_fd(int fd, uint64_t len)
{
	unsigned char *in = malloc(len);
	size_t size = 1 << 20;
	char *out = malloc(size + 1);
	z_stream z = { 0 };

	assert_non_null(in);
	assert_non_null(out);
	assert_int_equal(pread(fd, in, len, 0), (ssize_t)len);
	assert_int_equal(inflateInit2(&z, 16 + 15), Z_OK);
	z.next_in = in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)size;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.avail_in, 0);
	out[size - z.avail_out] = 0;
	inflateEnd(&z);
	free(in);
	return out;
}

static const char *str(json_object *o, const char *a, const char *b)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, a, &v));
	if (b)
		assert_true(json_object_object_get_ex(v, b, &v));
	return json_object_get_string(v);
}

static int fake_record_file(void *userdata, const char *type, json_object *metadata,
			    const char *uuid, const char *name, int fd, uint64_t len,
			    const char **ret_why)
{
	struct fixture *f = userdata;
	struct recorded *r;

	assert_string_equal(type, "linux-logs");
	assert_string_equal(str(metadata, "format", "id"), "v1");
	assert_string_equal(str(metadata, "format", "serialization"), "json-lines");
	assert_string_equal(str(metadata, "compression", NULL), "gzip");
	if (f->refuse) {
		json_object_put(metadata);
		*ret_why = "refused by the test";
		return f->refuse;
	}
	assert_true(f->n_files < FILES_MAX);
	r = &f->files[f->n_files++];
	snprintf(r->uuid, sizeof(r->uuid), "%s", uuid);
	snprintf(r->cid, sizeof(r->cid), "%s", str(metadata, "cid", "uuid"));
	snprintf(r->next_cid, sizeof(r->next_cid), "%s", str(metadata, "next_cid", "uuid"));
	assert_true(strstr(name, r->cid) == name);
	r->lines = gunzip_fd(fd, len);
	json_object_put(metadata);
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct lc_metrics_limits limits = { .max_keys = 100, .max_set_members = 100 };

	if (!f)
		return -1;
	f->ph = plugin_harness_new(&logs_plugin_ops, "logs-plugin", &limits);
	snprintf(f->boot.boot_id, sizeof(f->boot.boot_id), "48af0b97-79c3-4e95-ba80-8c436b4b9e8f");
	f->ph->services.boot = &f->boot;
	/* The services' userdata is the harness's (its metric store): record_file finds the
	 * fixture through current. */
	current = f;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	plugin_harness_free(f->ph);
	for (size_t i = 0; i < f->n_files; i++)
		free(f->files[i].lines);
	free(f);
	return 0;
}

/* The plugin's services: the harness's metric store, this fixture's record_file. */
static int record_file_trampoline(void *userdata, const char *type, json_object *metadata,
				  const char *uuid, const char *name, int fd, uint64_t len,
				  const char **ret_why)
{
	return fake_record_file(current, type, metadata, uuid, name, fd, len, ret_why);
}

/* Starts the plugin with the logs section logs (JSON) and the fake tree as sysroot. */
static void start(struct fixture *f, const char *logs)
{
	_cleanup_free_ char *conf = NULL;

	assert_true(asprintf(&conf, "{\"state_dir\": \"%s\", \"sysroot\": \"%s\", \"logs\": %s}",
			     f->ph->tree->state, f->ph->tree->root, logs) > 0);
	assert_int_equal(plugin_harness_load(f->ph, conf, &f->ph->cfg, NULL), 0);
	f->ph->services.record_file = record_file_trampoline;
	assert_int_equal(plugin_harness_start(f->ph), 1);
}

static void write_kmsg(struct fixture *f, int first, int last)
{
	_cleanup_free_ char *path = tree_path(f->ph->tree->root, "dev/kmsg");
	FILE *fp;

	if (!tree_exists(f->ph->tree->root, "dev"))
		tree_mkdir(f->ph->tree->root, "dev");
	fp = fopen(path, "a");
	assert_non_null(fp);
	for (int i = first; i < last; i++)
		fprintf(fp, "%d,%d,%d,-;kernel seq=%d\n", i % 2 ? 6 : 7, i, 1000 + i, i);
	fclose(fp);
}

static int64_t source_int(struct plugin_harness *ph, const char *path)
{
	return plugin_harness_status_int(ph, path);
}

struct wait {
	struct plugin_harness *ph;
	const char *path;
	int64_t want;
};

static bool reached(void *userdata)
{
	struct wait *w = userdata;

	return source_int(w->ph, w->path) >= w->want;
}

static void wait_status(struct fixture *f, const char *path, int64_t want)
{
	struct wait w = { f->ph, path, want };

	assert_true(plugin_harness_run_until(f->ph, UV_RUN_NOWAIT, 5000, reached, &w));
}

static void test_no_source_leaves_no_trace(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_object *st = NULL;

	start(f, "{\"journal\": \"off\"}");
	st = plugin_harness_status(f->ph);
	assert_string_equal(
		json_object_get_string(plugin_harness_member(st, "sources.kernel.state")),
		"unavailable");
	assert_string_equal(
		json_object_get_string(plugin_harness_member(st, "sources.syslog.state")), "off");
	assert_null(json_object_object_get(st, "file"));
	plugin_harness_stop(f->ph);
	assert_false(tree_exists(f->ph->tree->state, "logs"));
}

static void test_kernel_and_syslog_into_one_chain(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *sock = tree_path(f->ph->tree->dir, "log.sock");
	_cleanup_free_ char *logs = NULL;
	_cleanup_json_ json_object *hb = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	write_kmsg(f, 0, 10);
	assert_true(asprintf(&logs,
			     "{\"journal\": \"off\", \"kmsg\": \"on\", \"syslog_listen\": \"%s\", "
			     "\"min_level\": \"info\", \"max_lines_per_minute\": 8}",
			     sock) > 0);
	start(f, logs);
	/* Even records are debug: below the level. 5 kept of the kernel's. */
	wait_status(f, "sources.kernel.received", 10);
	assert_int_equal(source_int(f->ph, "sources.kernel.below_level"), 5);
	assert_int_equal(source_int(f->ph, "sources.kernel.kept"), 5);
	assert_int_equal(source_int(f->ph, "sources.kernel.seq"), 9);

	/* Syslog: 3 more fit the minute's budget of 8, the rest are dropped and counted. */
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	for (int i = 0; i < 6; i++) {
		char msg[64];
		int n = snprintf(msg, sizeof(msg), "<14>app[7]: syslog seq=%d", i);

		assert_int_equal(sendto(s, msg, (size_t)n, 0, (struct sockaddr *)&sa, sizeof(sa)),
				 n);
	}
	close(s);
	wait_status(f, "sources.syslog.received", 6);
	assert_int_equal(source_int(f->ph, "sources.syslog.kept"), 3);
	assert_int_equal(source_int(f->ph, "sources.syslog.over_budget"), 3);
	assert_int_equal(source_int(f->ph, "dropped_rate_limit"), 3);

	/* faultctl sync: the file in progress is committed, the next one chained to it. */
	lc_plugin_host_sync(f->ph->host);
	assert_int_equal(f->n_files, 1);
	assert_non_null(strstr(f->files[0].lines, "\"MESSAGE\":\"kernel seq=1\""));
	assert_non_null(strstr(f->files[0].lines, "\"MESSAGE\":\"syslog seq=2\""));
	assert_null(strstr(f->files[0].lines, "kernel seq=0"));
	assert_null(strstr(f->files[0].lines, "syslog seq=3"));
	assert_int_equal(source_int(f->ph, "files_committed"), 1);
	assert_int_equal(source_int(f->ph, "file.lines"), 0);
	/* Nothing in progress: a second sync commits nothing. */
	lc_plugin_host_sync(f->ph->host);
	assert_int_equal(f->n_files, 1);

	/* The heartbeat's counters. */
	lc_plugin_host_collect(f->ph->host);
	hb = plugin_harness_heartbeat(f->ph);
	assert_true(plugin_harness_reading(hb, "logs/lines") == 8);
	assert_true(plugin_harness_reading(hb, "logs/dropped_rate_limit") == 3);
}

static void test_a_refused_file_is_a_gap_in_the_chain(void **state)
{
	struct fixture *f = *state;

	write_kmsg(f, 0, 2);
	start(f, "{\"journal\": \"off\", \"kmsg\": \"on\", \"min_level\": \"debug\"}");
	wait_status(f, "sources.kernel.kept", 2);
	lc_plugin_host_sync(f->ph->host);
	assert_int_equal(f->n_files, 1);
	/* The spool refuses the second file (its limits): counted, and the third file's cid is
	 * not the first's next_cid: the server sees the gap. */
	write_kmsg(f, 2, 4);
	wait_status(f, "sources.kernel.kept", 4);
	f->refuse = -ENOSPC;
	lc_plugin_host_sync(f->ph->host);
	assert_int_equal(source_int(f->ph, "files_not_recorded"), 1);
	assert_int_equal(source_int(f->ph, "lines_not_recorded"), 2);
	f->refuse = 0;
	write_kmsg(f, 4, 6);
	wait_status(f, "sources.kernel.kept", 6);
	lc_plugin_host_sync(f->ph->host);
	assert_int_equal(f->n_files, 2);
	assert_string_not_equal(f->files[1].cid, f->files[0].next_cid);
	assert_null(strstr(f->files[1].lines, "kernel seq=3\""));
	assert_non_null(strstr(f->files[1].lines, "kernel seq=5\""));
}

static void test_restart_goes_on_with_the_same_file(void **state)
{
	struct fixture *f = *state;
	const char *logs = "{\"journal\": \"off\", \"kmsg\": \"on\", \"min_level\": \"debug\"}";

	write_kmsg(f, 0, 4);
	start(f, logs);
	wait_status(f, "sources.kernel.kept", 4);
	/* A stop flushes; the next start goes on with the file and skips what it read. */
	plugin_harness_stop(f->ph);
	write_kmsg(f, 4, 6);
	start(f, logs);
	wait_status(f, "sources.kernel.kept", 2);
	assert_int_equal(source_int(f->ph, "sources.kernel.skipped"), 4);
	assert_int_equal(source_int(f->ph, "file.lines"), 6);
	lc_plugin_host_sync(f->ph->host);
	assert_int_equal(f->n_files, 1);
	for (int i = 0; i < 6; i++) {
		char want[64];

		snprintf(want, sizeof(want), "\"MESSAGE\":\"kernel seq=%d\"", i);
		assert_non_null(strstr(f->files[0].lines, want));
		/* Once. */
		assert_null(strstr(strstr(f->files[0].lines, want) + 1, want));
	}
}

/* Sends one syslog datagram to the Unix socket at path. */
static void send_syslog(const char *path, const char *msg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&sa, sizeof(sa)),
			 (ssize_t)strlen(msg));
	close(s);
}

static void test_a_source_that_did_not_start_keeps_its_position(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *sock = tree_path(f->ph->tree->dir, "log.sock");
	_cleanup_free_ char *both = NULL;
	_cleanup_json_ json_object *st = NULL;
	const char *kernel = "{\"journal\": \"off\", \"kmsg\": \"on\", \"min_level\": \"debug\"}";

	write_kmsg(f, 0, 4);
	start(f, kernel);
	wait_status(f, "sources.kernel.kept", 4);
	plugin_harness_stop(f->ph);

	/* /dev/kmsg is missing for a run: its saved position outlives the flushes of that run. */
	tree_unlink(f->ph->tree->root, "dev/kmsg");
	assert_true(asprintf(&both,
			     "{\"journal\": \"off\", \"kmsg\": \"on\", \"min_level\": \"debug\", "
			     "\"syslog_listen\": \"%s\"}",
			     sock) > 0);
	start(f, both);
	st = plugin_harness_status(f->ph);
	assert_string_equal(
		json_object_get_string(plugin_harness_member(st, "sources.kernel.state")),
		"failed");
	send_syslog(sock, "<14>app[7]: syslog line");
	wait_status(f, "sources.syslog.kept", 1);
	plugin_harness_stop(f->ph);

	write_kmsg(f, 0, 6);
	start(f, kernel);
	wait_status(f, "sources.kernel.seq", 5);
	assert_int_equal(source_int(f->ph, "sources.kernel.kept"), 2);
	assert_int_equal(source_int(f->ph, "sources.kernel.skipped"), 4);
}

/* The state's next_cid: the name of the next file. */
static void next_cid(struct fixture *f, char ret[static 37])
{
	_cleanup_free_ char *text = tree_read(f->ph->tree->state, "logs/state.json", NULL);
	_cleanup_json_ json_object *o = json_tokener_parse(text);

	assert_non_null(o);
	snprintf(ret, 37, "%s", str(o, "next_cid", NULL));
}

static void test_a_committed_file_is_not_committed_again(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_object *st = NULL;
	char next[37], name[96];

	write_kmsg(f, 0, 2);
	start(f, "{\"journal\": \"off\", \"kmsg\": \"on\", \"min_level\": \"debug\"}");
	wait_status(f, "sources.kernel.kept", 2);
	/* The next file cannot be made: the sealed one is committed, and stays. */
	next_cid(f, next);
	snprintf(name, sizeof(name), "logs/%s.jsonl.gz", next);
	tree_mkdir(f->ph->tree->state, name);
	lc_plugin_host_sync(f->ph->host);
	assert_int_equal(f->n_files, 1);
	st = plugin_harness_status(f->ph);
	assert_true(json_object_get_boolean(plugin_harness_member(st, "file.sealed")));
	/* Tried again (as the timer does): only the next file, not the commit. */
	lc_plugin_host_sync(f->ph->host);
	assert_int_equal(f->n_files, 1);
	assert_int_equal(source_int(f->ph, "files_committed"), 1);
	assert_int_equal(source_int(f->ph, "lines_committed"), 2);
	tree_remove(f->ph->tree->state, name);
	lc_plugin_host_sync(f->ph->host);
	assert_int_equal(f->n_files, 1);
	assert_int_equal(source_int(f->ph, "files_committed"), 1);
	write_kmsg(f, 2, 4);
	wait_status(f, "sources.kernel.kept", 4);
	lc_plugin_host_sync(f->ph->host);
	assert_int_equal(f->n_files, 2);
	assert_string_equal(f->files[1].cid, f->files[0].next_cid);
	assert_string_equal(f->files[1].cid, next);
	assert_int_equal(source_int(f->ph, "files_committed"), 2);
}

static bool committed(void *userdata)
{
	return ((struct fixture *)userdata)->n_files > 0;
}

static void test_a_recovered_file_rotates_by_age_without_new_lines(void **state)
{
	struct fixture *f = *state;
	const char *logs = "{\"journal\": \"off\", \"kmsg\": \"on\", \"min_level\": \"debug\", "
			   "\"max_file_age_seconds\": 2}";

	write_kmsg(f, 0, 2);
	start(f, logs);
	wait_status(f, "sources.kernel.kept", 2);
	plugin_harness_stop(f->ph);
	/* A quiet system: no line comes after the restart, the file goes when it is due. */
	start(f, logs);
	assert_true(plugin_harness_run_until(f->ph, UV_RUN_NOWAIT, 6000, committed, f));
	assert_int_equal(f->n_files, 1);
	assert_non_null(strstr(f->files[0].lines, "\"MESSAGE\":\"kernel seq=1\""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_source_leaves_no_trace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_and_syslog_into_one_chain, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_refused_file_is_a_gap_in_the_chain, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_restart_goes_on_with_the_same_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_source_that_did_not_start_keeps_its_position,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_committed_file_is_not_committed_again, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_a_recovered_file_rotates_by_age_without_new_lines, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
