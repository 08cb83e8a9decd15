/* SPDX-License-Identifier: MIT */
/* The uploader as faultd runs it: libcurl's multi interface on a libuv loop, sending a real
 * spool's entries over TLS to a device API server in a thread (uploader-server.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "record.h"
#include "schema.h"
#include "spool.h"
#include "tmpdir.h"
#include "uploader-server.h"
#include "uploader.h"

#define ENTRIES_MAX 8

struct fixture {
	char *tmp;
	struct uploader_server *server;
	uv_loop_t loop;
	struct lc_config *cfg;
	struct lc_spool *spool;
	struct lc_identity identity;
	struct lc_boot_info boot;
	struct lc_record_context record;
	struct lc_uploader *u;
	char uuids[ENTRIES_MAX][37];
};

/* What a caller of lc_uploader_sync() was told. */
struct answer {
	bool in_sync; /* lc_uploader_sync() has not returned yet */
	unsigned calls;
	struct lc_upload_result r;
	char message[512];
};

static void on_answer(const struct lc_upload_result *r, void *userdata)
{
	struct answer *a = userdata;

	/* The callback never runs inside the call that asked for the work. */
	assert_false(a->in_sync);
	a->calls++;
	a->r = *r;
	snprintf(a->message, sizeof(a->message), "%s", r->message ? r->message : "");
	a->r.message = r->message ? a->message : NULL;
}

/* How a test's configuration differs from the default one: consent given, uploads only on
 * request to the test server, with a backoff from 60 s to an hour. */
struct settings {
	bool consent_off;
	const char *base_url; /* NULL: the test server's; "": none */
	const char *upload;   /* more members of the "upload" section, each after a ", " */
};

static struct lc_config *config_load(struct fixture *f, const struct settings *s)
{
	_cleanup_free_ char *text = NULL, *path = NULL, *url = NULL;
	struct lc_config_files files = { .skip_runtime = true };
	struct lc_config *cfg = NULL;
	char **errors = NULL;

	if (s->base_url)
		url = strdup(s->base_url);
	else
		assert_true(asprintf(&url, "https://127.0.0.1:%u",
				     uploader_server_port(f->server)) > 0);
	assert_non_null(url);
	assert_true(asprintf(&path, "%s/faultd.conf", f->tmp) > 0);
	assert_true(
		asprintf(
			&text,
			"{\"state_dir\": \"%s\", \"enable_data_collection\": %s, "
			"\"base_url\": \"%s\", \"project_key\": \"%s\", \"ca_bundle\": \"%s\", "
			"\"upload_interval_seconds\": 0, \"upload\": {\"backoff_min_seconds\": 60, "
			"\"backoff_max_seconds\": 3600, \"connect_timeout_seconds\": 10%s}}",
			f->tmp, s->consent_off ? "false" : "true", url, UPLOADER_SERVER_PROJECT_KEY,
			uploader_server_ca(f->server), s->upload ? s->upload : "") > 0);
	assert_int_equal(lc_write_file_atomic(path, text, strlen(text), 0600), 0);
	files.main = path;
	if (lc_config_load(&lc_core_config_section, 1, &files, &cfg, &errors) < 0)
		fail_msg("configuration refused: %s (%s)", errors ? errors[0] : "?", text);
	return cfg;
}

/* Replaces the configuration the uploader uses. */
static void reconfigure(struct fixture *f, const struct settings *s)
{
	struct lc_config *old = f->cfg;

	f->cfg = config_load(f, s);
	lc_uploader_set_config(f->u, f->cfg);
	lc_config_free(old);
}

static void start(struct fixture *f, const struct settings *s)
{
	_cleanup_free_ char *dir = NULL;
	struct lc_spool_limits limits = { 0 };
	struct lc_uploader_options o = {
		.loop = &f->loop,
		.record = &f->record,
		.state_dir = f->tmp,
	};

	f->cfg = config_load(f, s);
	assert_true(asprintf(&dir, "%s/spool", f->tmp) > 0);
	assert_int_equal(lc_spool_open(dir, &limits, &f->spool), 0);
	o.spool = f->spool;
	assert_int_equal(lc_uploader_new(&o, &f->u), 0);
	lc_uploader_set_config(f->u, f->cfg);
}

/* Commits n device-attributes entries with a value of pad bytes each. */
static void spool_entries(struct fixture *f, size_t n, size_t pad)
{
	_cleanup_free_ char *value = malloc(pad + 1);
	struct lc_clock_sample t;

	assert_true(n <= ENTRIES_MAX);
	assert_non_null(value);
	memset(value, 'x', pad);
	value[pad] = 0;
	lc_clock_sample_now(&t);
	for (size_t i = 0; i < n; i++) {
		json_object *meta = json_object_new_object(), *list = json_object_new_array(),
			    *item = json_object_new_object();

		json_object_object_add(item, "string_key", json_object_new_string("pad"));
		json_object_object_add(item, "value", json_object_new_string(value));
		json_object_array_add(list, item);
		json_object_object_add(meta, "attributes", list);
		assert_int_equal(lc_record_commit(f->spool, &f->record, &t, "device-attributes",
						  meta, f->uuids[i]),
				 0);
	}
}

/* Asks for an upload and runs the loop until the answer came; returns it. */
static void sync_now(struct fixture *f, struct answer *a)
{
	uint64_t deadline;

	*a = (struct answer){ .in_sync = true };
	assert_int_equal(lc_uploader_sync(f->u, on_answer, a), 0);
	a->in_sync = false;
	assert_int_equal(a->calls, 0);
	uv_update_time(&f->loop);
	deadline = uv_now(&f->loop) + 30000;
	while (a->calls == 0) {
		assert_true(uv_now(&f->loop) < deadline);
		uv_run(&f->loop, UV_RUN_ONCE);
	}
	assert_int_equal(a->calls, 1);
}

/* A member of lc_uploader_status(); -1 for null. */
static int64_t status_int(struct fixture *f, const char *key)
{
	json_object *s = lc_uploader_status(f->u), *v;
	int64_t n;

	assert_true(json_object_object_get_ex(s, key, &v));
	n = v ? json_object_get_int64(v) : -1;
	json_object_put(s);
	return n;
}

static struct uploader_server_stats server_stats(struct fixture *f)
{
	struct uploader_server_stats st;

	uploader_server_stats(f->server, &st);
	if (st.protocol_errors)
		fail_msg("the server saw %u requests against the device API, the last: %s",
			 st.protocol_errors, st.last_protocol_error);
	return st;
}

/* The server and its certificates, shared by the tests. */
struct group {
	char *dir;
	struct uploader_server *server;
};

static int group_setup(void **state)
{
	struct group *g = calloc(1, sizeof(*g));

	if (!g || !(g->dir = test_tmpdir_new("uploader-server")) ||
	    uploader_server_new(g->dir, &g->server) < 0) {
		if (g)
			test_tmpdir_free(g->dir);
		free(g);
		return -1;
	}
	*state = g;
	return 0;
}

static int group_teardown(void **state)
{
	struct group *g = *state;

	uploader_server_free(g->server);
	test_tmpdir_free(g->dir);
	free(g);
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->server = ((struct group *)*state)->server;
	for (int i = LC_STEP_DEVICE_CONFIG; i <= LC_STEP_COMMIT; i++)
		uploader_server_answer(f->server, i, 0, 0);
	uploader_server_refuse_entry(f->server, NULL);
	uploader_server_reset_stats(f->server);
	f->tmp = test_tmpdir_new("uploader");
	assert_non_null(f->tmp);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	snprintf(f->boot.boot_id, sizeof(f->boot.boot_id), "6a1f0a3c-5a4e-4c1f-9d2b-0e5c8f1b2a3d");
	f->identity.value[LC_ID_DEVICE_SERIAL] = strdup("uploader-test");
	f->identity.value[LC_ID_HARDWARE_VERSION] = strdup("evt");
	f->identity.value[LC_ID_SOFTWARE_TYPE] = strdup("main");
	f->identity.value[LC_ID_SOFTWARE_VERSION] = strdup("1.0.0");
	f->record = (struct lc_record_context){
		.identity = &f->identity,
		.project_key = UPLOADER_SERVER_PROJECT_KEY,
		.boot = &f->boot,
		.os_version = "6.1.0",
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	lc_uploader_close(f->u);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	/* Nothing may be left open in the loop. */
	assert_int_equal(uv_loop_close(&f->loop), 0);
	lc_spool_free(f->spool);
	lc_config_free(f->cfg);
	lc_identity_done(&f->identity);
	assert_int_equal(test_tmpdir_free(f->tmp), 0);
	free(f);
	return 0;
}

static const struct settings defaults = { 0 };

static void test_accepted(void **state)
{
	struct fixture *f = *state;
	struct uploader_server_stats st;
	struct answer a;

	start(f, &defaults);
	spool_entries(f, 3, 16);
	sync_now(f, &a);
	assert_int_equal(a.r.error, 0);
	assert_null(a.r.message);
	assert_int_equal(a.r.entries, 3);
	assert_int_equal(a.r.batches, 1);
	assert_int_equal(a.r.rejected, 0);
	assert_int_equal(a.r.remaining, 0);
	/* Accepted entries leave the spool. */
	assert_int_equal(lc_spool_count(f->spool), 0);
	st = server_stats(f);
	assert_int_equal(st.requests[LC_STEP_DEVICE_CONFIG], 1);
	assert_int_equal(st.puts, 1);
	assert_int_equal(st.put_entries[0], 3);
	assert_int_equal(st.commits, 1);
	assert_int_equal(st.committed_entries, 3);
	assert_int_equal(status_int(f, "consecutive_failures"), 0);
	/* Uploads only on request: nothing is scheduled. */
	assert_int_equal(status_int(f, "next_attempt_in_seconds"), -1);

	/* With nothing left, a sync sends nothing, and says so from the loop too. */
	sync_now(f, &a);
	assert_int_equal(a.r.error, 0);
	assert_int_equal(a.r.entries, 0);
	assert_int_equal(a.r.batches, 0);
	st = server_stats(f);
	assert_int_equal(st.requests[LC_STEP_PREPARE], 1);
}

static void test_refused_entry_dropped(void **state)
{
	struct fixture *f = *state;
	struct uploader_server_stats st;
	struct answer a;

	start(f, &defaults);
	spool_entries(f, 4, 16);
	uploader_server_refuse_entry(f->server, f->uuids[1]);
	sync_now(f, &a);
	/* The batch is split until the refused entry travels alone; it is dropped and counted,
	 * the others arrive. */
	assert_int_equal(a.r.error, 0);
	assert_int_equal(a.r.entries, 3);
	assert_int_equal(a.r.rejected, 1);
	assert_int_equal(a.r.remaining, 0);
	assert_int_equal(lc_spool_count(f->spool), 0);
	assert_int_equal(lc_spool_drops(f->spool, LC_CLASS_ATTRIBUTES, LC_DROP_REJECTED), 1);
	st = server_stats(f);
	assert_int_equal(st.committed_entries, 3);
	assert_true(st.refused >= 2); /* the whole batch, then halves of it */
	/* A refusal is no failure: nothing is retried. */
	assert_int_equal(status_int(f, "consecutive_failures"), 0);
	assert_int_equal(status_int(f, "next_attempt_in_seconds"), -1);
}

static void test_server_error_kept_and_retried(void **state)
{
	struct fixture *f = *state;
	struct uploader_server_stats st;
	struct answer a;
	int64_t next;

	start(f, &defaults);
	spool_entries(f, 2, 16);
	uploader_server_answer(f->server, LC_STEP_COMMIT, 503, 0);

	/* A 5xx keeps the entries, and the next attempt backs off: 60 s with jitter (30 to 60),
	 * then twice that. */
	sync_now(f, &a);
	assert_int_equal(a.r.error, -EAGAIN);
	assert_non_null(strstr(a.message, "commit: HTTP 503"));
	assert_int_equal(a.r.entries, 0);
	assert_int_equal(a.r.remaining, 2);
	assert_int_equal(lc_spool_count(f->spool), 2);
	assert_int_equal(status_int(f, "consecutive_failures"), 1);
	next = status_int(f, "next_attempt_in_seconds");
	assert_in_range(next, 29, 60);

	sync_now(f, &a);
	assert_int_equal(a.r.error, -EAGAIN);
	assert_int_equal(status_int(f, "consecutive_failures"), 2);
	next = status_int(f, "next_attempt_in_seconds");
	assert_in_range(next, 59, 120);

	/* The server's Retry-After is a floor above the backoff's maximum. */
	uploader_server_answer(f->server, LC_STEP_COMMIT, 503, 7200);
	sync_now(f, &a);
	assert_int_equal(a.r.error, -EAGAIN);
	next = status_int(f, "next_attempt_in_seconds");
	assert_in_range(next, 7199, 7200);

	/* Once the server takes them, they leave the spool and the backoff ends. */
	uploader_server_answer(f->server, LC_STEP_COMMIT, 0, 0);
	sync_now(f, &a);
	assert_int_equal(a.r.error, 0);
	assert_int_equal(a.r.entries, 2);
	assert_int_equal(lc_spool_count(f->spool), 0);
	assert_int_equal(status_int(f, "consecutive_failures"), 0);
	st = server_stats(f);
	assert_int_equal(st.commits, 1);
	assert_int_equal(st.requests[LC_STEP_COMMIT], 4);
}

static void test_connection_refused(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	_cleanup_close_ int fd = -1;
	char url[64];
	struct answer a;

	/* A port bound but not listening refuses connections, and nobody else can take it. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u", (unsigned)ntohs(sin.sin_port));
	start(f, &(struct settings){ .base_url = url });
	spool_entries(f, 2, 16);

	sync_now(f, &a);
	assert_int_equal(a.r.error, -ECONNREFUSED);
	assert_int_equal(a.r.remaining, 2);
	assert_int_equal(lc_spool_count(f->spool), 2);
	assert_int_equal(status_int(f, "consecutive_failures"), 1);
	assert_in_range(status_int(f, "next_attempt_in_seconds"), 29, 60);
}

static void test_batches_split_by_size(void **state)
{
	struct fixture *f = *state;
	struct uploader_server_stats st;
	struct answer a;

	/* Entries of about 1.5 KiB, batches of at most 4 KiB: two entries a batch. */
	start(f, &(struct settings){ .upload = ", \"max_batch_bytes\": 4096" });
	spool_entries(f, 5, 1000);
	sync_now(f, &a);
	assert_int_equal(a.r.error, 0);
	assert_int_equal(a.r.entries, 5);
	assert_int_equal(a.r.batches, 3);
	assert_int_equal(lc_spool_count(f->spool), 0);
	st = server_stats(f);
	assert_int_equal(st.puts, 3);
	assert_int_equal(st.put_entries[0], 2);
	assert_int_equal(st.put_entries[1], 2);
	assert_int_equal(st.put_entries[2], 1);
	for (unsigned i = 0; i < st.puts; i++)
		assert_in_range(st.put_bytes[i], 1, 4096);
	assert_int_equal(st.committed_entries, 5);
}

/* Refusals known at once come from the loop, not from inside lc_uploader_sync(), and leave no
 * attempt behind. */
static void test_refusals_answered_from_the_loop(void **state)
{
	struct fixture *f = *state;
	struct answer a;

	start(f, &(struct settings){ .consent_off = true });
	spool_entries(f, 1, 16);
	sync_now(f, &a);
	assert_int_equal(a.r.error, -EPERM);
	assert_non_null(strstr(a.message, "faultctl enable-data-collection"));

	reconfigure(f, &(struct settings){ .base_url = "" });
	sync_now(f, &a);
	assert_int_equal(a.r.error, -EDESTADDRREQ);
	assert_string_equal(a.message, "no base_url is configured");

	json_object *s = lc_uploader_status(f->u), *last;

	assert_true(json_object_object_get_ex(s, "last_attempt", &last));
	assert_null(last);
	json_object_put(s);
	assert_int_equal(lc_spool_count(f->spool), 1);
	assert_int_equal(server_stats(f).requests[LC_STEP_DEVICE_CONFIG], 0);
}

/* Callers asking together are answered once each, by one run. */
static void test_callers_join_one_run(void **state)
{
	struct fixture *f = *state;
	struct answer a = { 0 }, b = { 0 };
	uint64_t deadline;

	start(f, &defaults);
	spool_entries(f, 2, 16);
	a.in_sync = b.in_sync = true;
	assert_int_equal(lc_uploader_sync(f->u, on_answer, &a), 0);
	assert_int_equal(lc_uploader_sync(f->u, on_answer, &b), 0);
	a.in_sync = b.in_sync = false;
	uv_update_time(&f->loop);
	deadline = uv_now(&f->loop) + 30000;
	while (a.calls == 0 || b.calls == 0) {
		assert_true(uv_now(&f->loop) < deadline);
		uv_run(&f->loop, UV_RUN_ONCE);
	}
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
	assert_int_equal(a.r.entries, 2);
	assert_int_equal(b.r.entries, 2);
	assert_int_equal(server_stats(f).puts, 1);
}

/* Closing answers the callers still waiting, once, with -ECANCELED; afterwards a sync is refused
 * and its callback never called. */
static void test_close_cancels(void **state)
{
	struct fixture *f = *state;
	struct answer a = { 0 }, b = { 0 }, c = { 0 };

	start(f, &defaults);
	spool_entries(f, 1, 16);
	assert_int_equal(lc_uploader_sync(f->u, on_answer, &a), 0);
	/* b's refusal is known at once, but still to be told from the loop. */
	reconfigure(f, &(struct settings){ .consent_off = true });
	assert_int_equal(lc_uploader_sync(f->u, on_answer, &b), 0);
	assert_int_equal(a.calls + b.calls, 0);
	lc_uploader_close(f->u);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.r.error, -ECANCELED);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.r.error, -ECANCELED);
	assert_int_equal(lc_uploader_sync(f->u, on_answer, &c), -ECANCELED);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(c.calls, 0);
	assert_int_equal(a.calls, 1);
	assert_int_equal(lc_spool_count(f->spool), 1);
	f->u = NULL;
}

/*
 * A curl that asks for its timer again at 0 ms from inside each timeout it handles, as curl does
 * in some states: the uploader must still let the loop's clock move between two firings, or the
 * loop spins (libuv before 1.48 even runs the timer again in the same pass, forever). The test
 * sits between the uploader and libcurl through the linker (-Wl,--wrap=...): it catches the timer
 * function the uploader gives curl, and calls it with 0 after each timeout curl handled.
 */
#define EAGER_ASKS_MAX 10000 /* so that a loop running the timer forever in one pass ends */

static struct {
	CURLM *multi;
	curl_multi_timer_callback fn;
	void *data;
	bool eager;
	unsigned asks, firings;
} curl_timer;

CURLMcode __real_curl_multi_setopt(CURLM *multi, CURLMoption option, ...);
CURLMcode __wrap_curl_multi_setopt(CURLM *multi, CURLMoption option, ...);
CURLMcode __real_curl_multi_socket_action(CURLM *multi, curl_socket_t fd, int ev, int *running);
CURLMcode __wrap_curl_multi_socket_action(CURLM *multi, curl_socket_t fd, int ev, int *running);

CURLMcode __wrap_curl_multi_setopt(CURLM *multi, CURLMoption option, ...)
{
	CURLMcode r;
	va_list ap;

	va_start(ap, option);
	if (option >= CURLOPTTYPE_OFF_T) {
		r = __real_curl_multi_setopt(multi, option, va_arg(ap, curl_off_t));
	} else if (option >= CURLOPTTYPE_FUNCTIONPOINT) {
		void (*fn)(void) = va_arg(ap, void (*)(void));

		if (option == CURLMOPT_TIMERFUNCTION) {
			curl_timer.multi = multi;
			curl_timer.fn = (curl_multi_timer_callback)fn;
		}
		r = __real_curl_multi_setopt(multi, option, fn);
	} else if (option >= CURLOPTTYPE_OBJECTPOINT) {
		void *p = va_arg(ap, void *);

		if (option == CURLMOPT_TIMERDATA)
			curl_timer.data = p;
		r = __real_curl_multi_setopt(multi, option, p);
	} else {
		r = __real_curl_multi_setopt(multi, option, va_arg(ap, long));
	}
	va_end(ap);
	return r;
}

CURLMcode __wrap_curl_multi_socket_action(CURLM *multi, curl_socket_t fd, int ev, int *running)
{
	CURLMcode r = __real_curl_multi_socket_action(multi, fd, ev, running);

	if (fd == CURL_SOCKET_TIMEOUT && multi == curl_timer.multi) {
		curl_timer.firings++;
		if (curl_timer.eager && curl_timer.asks < EAGER_ASKS_MAX) {
			curl_timer.asks++;
			curl_timer.fn(multi, 0, curl_timer.data);
		}
	}
	return r;
}

static void test_curl_timer_waits_for_the_clock(void **state)
{
	struct fixture *f = *state;
	struct answer a = { 0 };
	uint64_t start_ms, deadline;
	unsigned before;
	long ms;

	start(f, &defaults);
	assert_ptr_not_equal(curl_timer.fn, NULL);
	spool_entries(f, 3, 16);
	curl_timer.eager = true;
	curl_timer.asks = curl_timer.firings = 0;
	uv_update_time(&f->loop);
	start_ms = uv_now(&f->loop);
	assert_int_equal(lc_uploader_sync(f->u, on_answer, &a), 0);

	/* However fast the passes of the loop come (for 50 ms of its clock here), curl's timer
	 * fires at most once in one, and once per millisecond. */
	while (uv_now(&f->loop) - start_ms < 50 && a.calls == 0) {
		before = curl_timer.firings;
		uv_run(&f->loop, UV_RUN_NOWAIT);
		assert_in_range(curl_timer.firings - before, 0, 1);
	}
	uv_update_time(&f->loop);
	assert_in_range(curl_timer.firings, 1, uv_now(&f->loop) - start_ms + 1);

	/* A curl that asks for its real timeout again finishes the upload. */
	curl_timer.eager = false;
	if (a.calls == 0 && curl_multi_timeout(curl_timer.multi, &ms) == CURLM_OK)
		curl_timer.fn(curl_timer.multi, ms, curl_timer.data);
	deadline = uv_now(&f->loop) + 30000;
	while (a.calls == 0) {
		assert_true(uv_now(&f->loop) < deadline);
		uv_run(&f->loop, UV_RUN_ONCE);
	}
	assert_int_equal(a.r.error, 0);
	assert_int_equal(a.r.entries, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_entry_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_error_kept_and_retried, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batches_split_by_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_answered_from_the_loop, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_callers_join_one_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_cancels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_curl_timer_waits_for_the_clock, setup,
						teardown),
	};

	int r;

	lc_log_set_max_level(LOG_CRIT);
	assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	r = cmocka_run_group_tests(tests, group_setup, group_teardown);
	curl_global_cleanup();
	return r;
}
