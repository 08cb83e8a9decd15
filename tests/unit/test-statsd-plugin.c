/* SPDX-License-Identifier: MIT */
/* The statsd plugin on a real UDP socket, run by a plugin host on a libuv loop, feeding a real
 * metric store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "harness-plugin.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"
#include "netaddr.h"
#include "plugin-host.h"
#include "statsd-pace.h"
#include "statsd-parse.h"
#include "statsd-plugin.h"

struct fixture {
	struct plugin_harness *ph;
	int client;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct lc_metrics_limits limits = { .max_keys = 100, .max_set_members = 100 };

	if (!f)
		return -1;
	f->client = -1;
	f->ph = plugin_harness_new(&statsd_plugin_ops, "statsd", &limits);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	/* Stopping releases the watch and closes the socket: the loop ends with nothing open. */
	plugin_harness_free(f->ph);
	safe_close(f->client);
	free(f);
	return 0;
}

static uint64_t status_u64(struct fixture *f, const char *key)
{
	return (uint64_t)plugin_harness_status_int(f->ph, key);
}

/* Starts the host on conf (the JSON of faultd.conf), checks the plugin runs and connects a
 * client to its address. */
static void start(struct fixture *f, const char *conf)
{
	_cleanup_json_ json_object *status = NULL;
	struct sockaddr_storage sa;
	socklen_t sa_len;
	const char *listen, *why;
	json_object *v;

	assert_int_equal(plugin_harness_load(f->ph, conf, &f->ph->cfg, NULL), 0);
	assert_int_equal(plugin_harness_start(f->ph), 1);

	/* Port 0 in the configuration; the status says which port the kernel chose. */
	status = plugin_harness_status(f->ph);
	assert_true(json_object_object_get_ex(status, "listen", &v));
	listen = json_object_get_string(v);
	assert_int_equal(lc_listen_address_parse(listen, &sa, &sa_len, &why), 0);
	assert_int_not_equal(ntohs(((struct sockaddr_in *)&sa)->sin_port), 0);

	f->client = socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(f->client >= 0);
	assert_int_equal(connect(f->client, (struct sockaddr *)&sa, sa_len), 0);
}

static void send_n(struct fixture *f, const char *buf, size_t len)
{
	assert_int_equal(send(f->client, buf, len, 0), (ssize_t)len);
}

static void send_str(struct fixture *f, const char *s)
{
	send_n(f, s, strlen(s));
}

struct datagrams_seen {
	struct fixture *f;
	uint64_t n;
};

static bool datagrams_seen(void *userdata)
{
	struct datagrams_seen *d = userdata;

	return status_u64(d->f, "datagrams") >= d->n;
}

/* Runs the loop until the plugin has seen n datagrams in all (at most about 5 seconds). */
static void wait_datagrams(struct fixture *f, uint64_t n)
{
	struct datagrams_seen d = { f, n };

	plugin_harness_run_until(f->ph, UV_RUN_NOWAIT, 5000, datagrams_seen, &d);
	assert_int_equal(status_u64(f, "datagrams"), n);
}

static void assert_metric(json_object *o, const char *key, double expected)
{
	double got = plugin_harness_reading(o, key);

	if (got != expected)
		fail_msg("\"%s\": %.17g, expected %g", key, got, expected);
}

static void test_readings(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_object *hb = NULL;

	start(f, "{\"statsd\": {\"listen\": \"127.0.0.1:0\"}}");
	send_str(f, "hits:1|c\nhits:2|c|@0.5\r\nlat:10|ms\nlat:20:30|ms|#env:prod\n"
		    "mem:100|g\nmem:-30|g\nusers:alice|s\nusers:bob|s\nusers:alice|s\n");
	send_str(f, "_e{1,1}:a|b\nbad line\n:1|c\n_sc|check|0\nsize:4|h|c:abc|T12\n");
	send_str(f, "temp:+5|g");
	send_n(f, "", 0);
	send_n(f, "d:1|d\0\0", 7);
	wait_datagrams(f, 5);

	assert_int_equal(status_u64(f, "lines"), 12);
	assert_int_equal(status_u64(f, "readings"), 13);
	assert_int_equal(status_u64(f, "malformed"), 2);
	assert_int_equal(status_u64(f, "ignored"), 2);
	assert_int_equal(status_u64(f, "truncated"), 0);
	assert_int_equal(status_u64(f, "rejected"), 0);
	assert_int_equal(status_u64(f, "not_collected"), 0);
	assert_int_equal(status_u64(f, "receive_errors"), 0);
	assert_int_equal(status_u64(f, "max_datagram_bytes"), 8192);

	hb = plugin_harness_heartbeat(f->ph);
	assert_metric(hb, "hits", 5);
	assert_metric(hb, "lat.count", 3);
	assert_metric(hb, "lat.sum", 60);
	assert_metric(hb, "lat.min", 10);
	assert_metric(hb, "lat.max", 30);
	assert_metric(hb, "mem", 70);
	assert_metric(hb, "temp", 5);
	assert_metric(hb, "users", 2);
	assert_metric(hb, "size.count", 1);
	assert_metric(hb, "d.sum", 1);
	assert_int_equal(json_object_object_length(hb), 19);
}

static void test_truncated(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_object *hb = NULL;
	char buf[600];

	start(f, "{\"statsd\": {\"listen\": \"127.0.0.1:0\", \"max_datagram_bytes\": 512}}");
	/* 512 bytes fit exactly; 513 do not, and nothing of that datagram is taken. */
	memset(buf, '\n', sizeof(buf));
	memcpy(buf, "fits:1|c", 8);
	send_n(f, buf, 512);
	memcpy(buf, "over:1|c", 8);
	send_n(f, buf, 513);
	send_n(f, buf, sizeof(buf));
	wait_datagrams(f, 3);
	assert_int_equal(status_u64(f, "truncated"), 2);
	assert_int_equal(status_u64(f, "lines"), 1);
	hb = plugin_harness_heartbeat(f->ph);
	assert_metric(hb, "fits", 1);
	assert_int_equal(json_object_object_length(hb), 1);
}

static void test_consent_off(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_object *hb = NULL;

	f->ph->collection_off = true;
	start(f, "{\"statsd\": {\"listen\": \"127.0.0.1:0\"}}");
	send_str(f, "a:1|c\nb:1|g\nc:+1|g\nd:x|s\ne:1|ms");
	wait_datagrams(f, 1);
	/* Parsed and counted, kept nowhere, and not an error. */
	assert_int_equal(status_u64(f, "lines"), 5);
	assert_int_equal(status_u64(f, "not_collected"), 5);
	assert_int_equal(status_u64(f, "rejected"), 0);
	hb = plugin_harness_heartbeat(f->ph);
	assert_int_equal(json_object_object_length(hb), 0);
}

static void test_store_rejects(void **state)
{
	struct fixture *f = *state;
	struct lc_metrics_limits limits = { .max_keys = 2, .max_set_members = 10 };
	struct lc_metrics_counters counters;
	_cleanup_json_ json_object *hb = NULL;

	lc_metrics_set_limits(f->ph->metrics, &limits);
	start(f, "{\"statsd\": {\"listen\": \"127.0.0.1:0\"}}");
	/* Over the key cap, and a kind differing from the key's first. */
	send_str(f, "a:1|c\nb:1|c\nc:1|c\nd:1|g\na:5|g\nb:x|s\na:2|c");
	wait_datagrams(f, 1);
	assert_int_equal(status_u64(f, "lines"), 7);
	assert_int_equal(status_u64(f, "rejected"), 4);
	lc_metrics_counters(f->ph->metrics, &counters);
	assert_int_equal(counters.over_key_cap, 2);
	assert_int_equal(counters.rejected, 2);
	hb = plugin_harness_heartbeat(f->ph);
	assert_metric(hb, "a", 3);
	assert_metric(hb, "b", 1);
	/* The store reports what it refused. */
	assert_metric(hb, "faultd/metrics_over_key_cap", 2);
	assert_metric(hb, "faultd/metrics_rejected", 2);
	assert_int_equal(json_object_object_length(hb), 4);
}

static void test_burst_is_drained_fairly(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_object *hb = NULL;
	const uint64_t n = 3000, cap = 32 * 64;
	uint64_t granted, after_one;

	start(f, "{\"statsd\": {\"listen\": \"127.0.0.1:0\", \"receive_buffer_bytes\": 33554432}}");
	granted = status_u64(f, "receive_buffer_bytes");
	if (granted < 16 * 1024 * 1024) {
		/* Without CAP_NET_ADMIN and a high net.core.rmem_max the kernel would drop most
		 * of the burst: send it in pieces the default buffer holds. */
		print_message("receive buffer %" PRIu64 " bytes: burst in pieces\n", granted);
		for (uint64_t i = 0; i < n; i++) {
			send_str(f, "burst:1|c");
			if (i % 100 == 99)
				wait_datagrams(f, i + 1);
		}
		wait_datagrams(f, n);
	} else {
		for (uint64_t i = 0; i < n; i++)
			send_str(f, "burst:1|c");
		/* One wakeup takes at most 64 batches of 32, then yields to the loop. */
		uv_run(&f->ph->loop, UV_RUN_NOWAIT);
		after_one = status_u64(f, "datagrams");
		assert_int_equal(after_one, cap);
		wait_datagrams(f, n);
	}
	hb = plugin_harness_heartbeat(f->ph);
	assert_metric(hb, "burst", (double)n);
}

/* Whether the kernel tells how full a socket's receive queue is (SO_MEMINFO, Linux 4.6), which the
 * plugin needs to pace its reads. qemu-user, for one, answers with a single int. */
static bool kernel_tells_queue_fill(void)
{
	uint32_t info[SK_MEMINFO_VARS] = {};
	socklen_t len = sizeof(info);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool tells;

	assert_true(fd >= 0);
	tells = getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info, &len) == 0 &&
		len >= (SK_MEMINFO_RCVBUF + 1) * sizeof(uint32_t);
	safe_close(fd);
	return tells;
}

/* Whether the loop would wait for its watches alone: no timer to wake it. */
static bool loop_sleeps(void *userdata)
{
	struct fixture *f = userdata;

	return uv_backend_timeout(&f->ph->loop) == -1;
}

static void test_idle_and_resume(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_object *hb = NULL;

	start(f, "{\"statsd\": {\"listen\": \"127.0.0.1:0\"}}");
	/* Idle: only the watch, no timer to wake the loop. */
	uv_run(&f->ph->loop, UV_RUN_NOWAIT);
	assert_int_equal(uv_backend_timeout(&f->ph->loop), -1);
	send_str(f, "a:1|c");
	wait_datagrams(f, 1);
	/* Datagrams flow: the socket is read on a timer; where the kernel cannot tell how full the
	 * queue is, there are no pauses and the watch alone reads it. */
	if (kernel_tells_queue_fill())
		assert_true(uv_backend_timeout(&f->ph->loop) >= 0);
	else
		assert_int_equal(uv_backend_timeout(&f->ph->loop), -1);
	/* A trickle keeps being read. */
	for (int i = 0; i < 40; i++) {
		send_str(f, "a:1|c");
		uv_run(&f->ph->loop, UV_RUN_NOWAIT);
		usleep(500);
	}
	wait_datagrams(f, 41);
	/* Once a read finds nothing, back to the watch alone: an idle loop does not wake. */
	plugin_harness_run_until(f->ph, UV_RUN_NOWAIT, 1000, loop_sleeps, f);
	assert_int_equal(uv_backend_timeout(&f->ph->loop), -1);
	/* A heartbeat closing takes what waits in the socket, without the loop. */
	send_str(f, "c:1|c");
	for (int i = 0; i < 100 && status_u64(f, "datagrams") < 42; i++) {
		lc_plugin_host_collect(f->ph->host);
		usleep(1000);
	}
	assert_int_equal(status_u64(f, "datagrams"), 42);
	/* And the next datagram wakes it. */
	send_str(f, "a:1|c\nb:2|g");
	wait_datagrams(f, 43);
	hb = plugin_harness_heartbeat(f->ph);
	assert_metric(hb, "a", 42);
	assert_metric(hb, "b", 2);
	assert_metric(hb, "c", 1);
	assert_int_equal(status_u64(f, "dropped_by_kernel"), 0);
}

static void test_ipv6(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_object *hb = NULL, *status = NULL;
	int probe = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 lo = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	json_object *v;

	if (probe < 0 || bind(probe, (struct sockaddr *)&lo, sizeof(lo)) < 0) {
		safe_close(probe);
		skip();
	}
	safe_close(probe);
	start(f, "{\"statsd\": {\"listen\": \"[::1]:0\"}}");
	status = plugin_harness_status(f->ph);
	assert_true(json_object_object_get_ex(status, "listen", &v));
	assert_true(strncmp(json_object_get_string(v), "[::1]:", 6) == 0);
	send_str(f, "six:6|g");
	wait_datagrams(f, 1);
	hb = plugin_harness_heartbeat(f->ph);
	assert_metric(hb, "six", 6);
}

/* Starts a second host on conf and checks the plugin fails to start. */
static void assert_start_fails(struct fixture *f, const char *conf)
{
	struct lc_plugin_host *host = NULL;
	struct lc_config *cfg = NULL;

	assert_int_equal(plugin_harness_load(f->ph, conf, &cfg, NULL), 0);
	assert_int_equal(lc_plugin_host_new(&f->ph->loop, f->ph->plugins, 1, &host), 0);
	lc_plugin_host_set_services(host, &f->ph->services);
	assert_int_equal(lc_plugin_host_start(host, cfg), 0);
	assert_int_equal(lc_plugin_host_state(host, 0), LC_PLUGIN_FAILED);
	lc_plugin_host_free(host);
	lc_config_free(cfg);
}

static void test_bind_failures(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_object *status = NULL;
	char conf[128];
	json_object *v;

	/* The port a first instance holds. */
	start(f, "{\"statsd\": {\"listen\": \"127.0.0.1:0\"}}");
	status = plugin_harness_status(f->ph);
	assert_true(json_object_object_get_ex(status, "listen", &v));
	snprintf(conf, sizeof(conf), "{\"statsd\": {\"listen\": \"%s\"}}",
		 json_object_get_string(v));
	assert_start_fails(f, conf);
	/* An address that is not this host's. */
	assert_start_fails(f, "{\"statsd\": {\"listen\": \"192.0.2.1:8125\"}}");
	/* The first instance is unharmed. */
	send_str(f, "still:1|c");
	wait_datagrams(f, 1);
}

static void test_disabled(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
		plugin_harness_load(f->ph, "{\"statsd\": {\"enabled\": false}}", &f->ph->cfg, NULL),
		0);
	assert_int_equal(plugin_harness_start(f->ph), 0);
	assert_int_equal(lc_plugin_host_state(f->ph->host, 0), LC_PLUGIN_DISABLED);
}

/* Asserts conf is refused with an error mentioning what. */
static void assert_config_refused(struct fixture *f, const char *conf, const char *what)
{
	_cleanup_free_ char *error = NULL;
	struct lc_config *cfg = NULL;

	assert_int_equal(plugin_harness_load(f->ph, conf, &cfg, &error), -EINVAL);
	assert_null(cfg);
	if (!strstr(error, what))
		fail_msg("\"%s\" not in \"%s\"", what, error);
}

static void test_config_checks(void **state)
{
	struct fixture *f = *state;

	assert_config_refused(f, "{\"statsd\": {\"listen\": \"localhost:8125\"}}",
			      "invalid IPv4 address");
	assert_config_refused(f, "{\"statsd\": {\"listen\": \"127.0.0.1:70000\"}}", "port");
	assert_config_refused(f, "{\"statsd\": {\"listen\": \"::1:8125\"}}", "brackets");
	assert_config_refused(f, "{\"statsd\": {\"max_datagram_bytes\": 100}}",
			      "max_datagram_bytes");
	assert_config_refused(f, "{\"statsd\": {\"receive_buffer_bytes\": -1}}",
			      "receive_buffer_bytes");

	/* The defaults. */
	assert_int_equal(plugin_harness_load(f->ph, "{}", &f->ph->cfg, NULL), 0);
	assert_true(lc_config_get_bool(f->ph->cfg, "statsd.enabled"));
	assert_string_equal(lc_config_get_string(f->ph->cfg, "statsd.listen"), "127.0.0.1:8125");
	assert_int_equal(lc_config_get_int(f->ph->cfg, "statsd.receive_buffer_bytes"), 4194304);
	assert_int_equal(lc_config_get_int(f->ph->cfg, "statsd.max_datagram_bytes"), 8192);
}

static void test_pace(void **state)
{
	/* 4 MiB asked for: the kernel's limit is twice that. */
	const uint32_t limit = 8 * 1024 * 1024;
	unsigned pause = 1;

	/* The longest pause lets the buffer take a burst of 200,000 small datagrams/s. */
	assert_int_equal(statsd_pause_max(limit), 40);
	assert_int_equal(statsd_pause_max(425984), 2); /* the usual net.core.rmem_max */
	assert_int_equal(statsd_pause_max(0), 1);
	assert_int_equal(statsd_pause_max(100000), 1);
	assert_int_equal(statsd_pause_max(UINT32_MAX), STATSD_PAUSE_MAX_MS);

	/* A queue under an eighth full: the pause doubles up to the longest. */
	for (unsigned expected = 2; expected <= 32; expected *= 2) {
		pause = statsd_pause_next(pause, limit / 8 - 1, limit);
		assert_int_equal(pause, expected);
	}
	assert_int_equal(statsd_pause_next(pause, 0, limit), 40);
	assert_int_equal(statsd_pause_next(40, 0, limit), 40);
	/* From an eighth to a quarter: kept. */
	assert_int_equal(statsd_pause_next(8, limit / 8, limit), 8);
	assert_int_equal(statsd_pause_next(8, limit / 4, limit), 8);
	assert_int_equal(statsd_pause_next(1, limit / 4, limit), 1);
	/* Over a quarter: halved, down to 1 ms and no lower. */
	assert_int_equal(statsd_pause_next(32, limit / 4 + 1, limit), 16);
	assert_int_equal(statsd_pause_next(2, limit, limit), 1);
	assert_int_equal(statsd_pause_next(1, limit, limit), 1);
	assert_int_equal(statsd_pause_next(1, UINT32_MAX, limit), 1);
	/* Pauses out of range come back within bounds. */
	assert_int_equal(statsd_pause_next(1000, limit / 5, limit), 40);
	assert_int_equal(statsd_pause_next(1000, limit, limit), 20);
	assert_int_equal(statsd_pause_next(0, limit / 5, limit), 1);
	assert_int_equal(statsd_pause_next(0, 0, limit), 2);
	/* A small buffer keeps pauses short whatever the fill. */
	assert_int_equal(statsd_pause_next(1, 0, 425984), 2);
	assert_int_equal(statsd_pause_next(2, 0, 425984), 2);
	assert_int_equal(statsd_pause_next(64, 0, 425984), 2);
	/* A zero limit (no buffer) never lengthens the pause. */
	assert_int_equal(statsd_pause_next(4, 0, 0), 1);
	assert_int_equal(statsd_pause_next(4, 1, 0), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_readings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_consent_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_burst_is_drained_fairly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_and_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_checks, setup, teardown),
		cmocka_unit_test(test_pace),
	};

	lc_log_set_max_level(LOG_CRIT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
