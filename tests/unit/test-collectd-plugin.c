/* SPDX-License-Identifier: MIT */
/* The collectd plugin as faultd runs it: its HTTP server in a libuv loop, a libcurl client in a
 * thread posting to it, readings landing in a real metric store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "clock.h"
#include "collectd-plugin.h"
#include "config.h"
#include "harness-plugin.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"
#include "plugin-host.h"

/* One HTTP exchange, or a raw-socket probe, run by the client thread. */
struct exchange {
	const char *method; /* NULL: the end of the list */
	const char *path;
	const char *body;
	size_t body_len; /* 0: strlen(body) */
	bool chunked;
	enum { PROBE_NONE, PROBE_IDLE_CLOSED, PROBE_OVER_LIMIT } probe;
	/* results */
	CURLcode code;
	long status;
	bool allow_post;
	char reply[512];
	size_t reply_len;
	double probe_seconds; /* how long until the server closed the probe, -1: it did not */
	double probe_cpu;     /* CPU time of the process while waiting */
};

struct fixture {
	struct plugin_harness *ph;
	unsigned port;
	uv_async_t done;
	bool finished;
	struct exchange *exchanges;
};

/* Loads a configuration with extra members (a JSON fragment, may be "") in the "collectd"
 * section; returns lc_config_load()'s result, its first error in *ret_error. */
static int load(struct fixture *f, const char *extra, char **ret_error)
{
	_cleanup_free_ char *text = NULL;

	/* Port 0 and a small body limit unless extra says otherwise. */
	assert_true(asprintf(&text, "{\"state_dir\": \"%s\", \"collectd\": {%s%s%s%s}}",
			     f->ph->tree->dir,
			     strstr(extra, "\"listen\"") ? "" : "\"listen\": \"127.0.0.1:0\", ",
			     strstr(extra, "\"max_body_bytes\"") ? "" : "\"max_body_bytes\": 1024",
			     extra[0] && !strstr(extra, "\"max_body_bytes\"") ? ", " : "",
			     extra) > 0);
	return plugin_harness_load(f->ph, text, &f->ph->cfg, ret_error);
}

/* Starts the plugin with extra configuration; returns how many plugins run (0 or 1). */
static unsigned start(struct fixture *f, const char *extra)
{
	_cleanup_free_ char *error = NULL;
	json_object *s, *v;
	const char *listen, *colon;
	unsigned running;

	if (load(f, extra, &error) < 0)
		fail_msg("configuration refused: %s", error);
	running = plugin_harness_start(f->ph);
	if (running == 0)
		return 0;
	s = plugin_harness_status(f->ph);
	assert_true(json_object_object_get_ex(s, "listen", &v));
	listen = json_object_get_string(v);
	assert_true(strncmp(listen, "127.0.0.1:", 10) == 0);
	colon = strrchr(listen, ':');
	f->port = (unsigned)atoi(colon + 1);
	/* Port 0 was asked: the status tells the real one. */
	assert_true(f->port > 0 && f->port < 65536);
	json_object_put(s);
	return running;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct lc_metrics_limits limits = { .max_keys = 64, .max_set_members = 8 };

	assert_non_null(f);
	f->ph = plugin_harness_new(&collectd_plugin_ops, "collectd-plugin", &limits);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	/* Stopping checks that nothing is left open in the loop. */
	plugin_harness_free(f->ph);
	free(f);
	return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
	struct exchange *x = userdata;
	size_t len = size * n, room = sizeof(x->reply) - 1 - x->reply_len;

	memcpy(x->reply + x->reply_len, data, MIN(len, room));
	x->reply_len += MIN(len, room);
	x->reply[x->reply_len] = '\0';
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
	struct exchange *x = userdata;

	if (size * n >= 11 && strncasecmp(data, "Allow: POST", 11) == 0)
		x->allow_post = true;
	return size * n;
}

/* A chunked upload of x->body_len bytes of 'x'. */
static size_t on_read(char *buf, size_t size, size_t n, void *userdata)
{
	struct exchange *x = userdata;
	size_t len = MIN(size * n, x->body_len);

	memset(buf, 'x', len);
	x->body_len -= len;
	return len;
}

static int connect_local(unsigned port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		fd = safe_close(fd);
	return fd;
}

/* Seconds until the server closes fd (EOF or reset), at most limit; -1 if it stays open. */
static double wait_closed(int fd, double limit)
{
	uint64_t begin = lc_clock_us(CLOCK_MONOTONIC);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, (int)(limit * 1000)) != 1 || read(fd, &c, 1) > 0)
		return -1;
	return (double)(lc_clock_us(CLOCK_MONOTONIC) - begin) / 1e6;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void probe(struct fixture *f, struct exchange *x)
{
	static const char request[] = "POST /v1/collectd HTTP/1.1\r\nHost: x\r\n"
				      "Content-Length: 2\r\nConnection: close\r\n\r\n[]";
	double cpu;
	ssize_t n;
	int a, c;

	if (x->probe == PROBE_IDLE_CLOSED) {
		/* A connection that sends nothing is closed after timeout_seconds. */
		a = connect_local(f->port);
		x->probe_seconds = a >= 0 ? wait_closed(a, 10) : -2;
		safe_close(a);
		return;
	}
	/* With max_connections (1) in use, another connection waits in the backlog, and the
	 * loop does not spin meanwhile... */
	a = connect_local(f->port);
	usleep(100 * 1000); /* the loop accepts it */
	c = connect_local(f->port);
	cpu = cpu_seconds();
	x->probe_seconds = c >= 0 ? wait_closed(c, 0.5) : -2;
	x->probe_cpu = cpu_seconds() - cpu;
	/* ...until the slot is free. */
	safe_close(a);
	if (c >= 0 && write(c, request, strlen(request)) == (ssize_t)strlen(request)) {
		struct pollfd p = { .fd = c, .events = POLLIN };

		if (poll(&p, 1, 5000) == 1 && (n = read(c, x->reply, sizeof(x->reply) - 1)) > 0)
			x->reply[n] = '\0';
	}
	safe_close(c);
}

static void perform(struct fixture *f, CURL *curl, struct exchange *x)
{
	struct curl_slist *headers = NULL;
	char url[256];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", f->port, x->path);
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, x);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	if (x->chunked) {
		headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
		curl_easy_setopt(curl, CURLOPT_POST, 1L);
		curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(curl, CURLOPT_READDATA, x);
	} else if (x->body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, x->body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE,
				 (long)(x->body_len ? x->body_len : strlen(x->body)));
		if (!streq(x->method, "POST"))
			curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, x->method);
	} else if (streq(x->method, "HEAD")) {
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	} else if (!streq(x->method, "GET")) {
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, x->method);
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	x->code = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &x->status);
	curl_slist_free_all(headers);
}

static void *client(void *userdata)
{
	struct fixture *f = userdata;
	CURL *curl = curl_easy_init();

	for (struct exchange *x = f->exchanges; x->method; x++) {
		if (x->probe != PROBE_NONE)
			probe(f, x);
		else if (curl)
			perform(f, curl, x);
	}
	curl_easy_cleanup(curl);
	uv_async_send(&f->done);
	return NULL;
}

static void on_done(uv_async_t *handle)
{
	struct fixture *f = handle->data;

	f->finished = true;
}

static bool client_finished(void *userdata)
{
	struct fixture *f = userdata;

	return f->finished;
}

/* Runs the exchanges (ended by one with a NULL method) from a thread while the loop serves. */
static void run_client(struct fixture *f, struct exchange *exchanges)
{
	pthread_t thread;

	f->exchanges = exchanges;
	f->finished = false;
	assert_int_equal(uv_async_init(&f->ph->loop, &f->done, on_done), 0);
	f->done.data = f;
	assert_int_equal(pthread_create(&thread, NULL, client, f), 0);
	plugin_harness_run_until(f->ph, UV_RUN_ONCE, UINT_MAX, client_finished, f);
	assert_int_equal(pthread_join(thread, NULL), 0);
	uv_close((uv_handle_t *)&f->done, NULL);
	uv_run(&f->ph->loop, UV_RUN_NOWAIT);
}

#define IF_OCTETS(rx, tx)                                                                      \
	"{\"values\":[" rx "," tx "],\"dstypes\":[\"derive\",\"derive\"],\"dsnames\":[\"rx\"," \
	"\"tx\"],\"time\":1795244722.642,\"interval\":10.000,\"host\":\"h\",\"plugin\":"       \
	"\"interface\",\"plugin_instance\":\"eth0\",\"type\":\"if_octets\",\"type_instance\":" \
	"\"\"}"
#define MEMORY(v)                                                                            \
	"{\"values\":[" v "],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"],\"time\":1.5,"  \
	"\"interval\":10.000,\"host\":\"h\",\"plugin\":\"memory\",\"plugin_instance\":\"\"," \
	"\"type\":\"memory\",\"type_instance\":\"used\"}"
#define BAD_LIST "{\"values\":[1],\"dstypes\":[\"gauge\"],\"dsnames\":[\"value\"]}"

static void test_http(void **state)
{
	struct fixture *f = *state;
	char big[2000], exact[1024 + 1];
	struct exchange x[] = {
		{ "POST", "/v1/collectd",
		  "[" IF_OCTETS("1000", "5000") "," BAD_LIST "," MEMORY("7") "]" },
		{ "POST", "/v1/collectd", "[" IF_OCTETS("1500", "5001") "," MEMORY("9") "]" },
		{ "POST", "/v1/collectd", "not json" },
		{ "POST", "/v1/collectd", "{\"values\":[1]}" },
		{ "POST", "/v1/collectd", "" },
		{ "GET", "/v1/collectd" },
		{ "HEAD", "/v1/collectd" },
		{ "PUT", "/v1/collectd", "[]" },
		{ "POST", "/v1/other", "[]" },
		{ "GET", "/" },
		{ "POST", "/v1/collectd/", "[]" },
		{ "POST", "/v1/collectd", big, sizeof(big) },
		{ "POST", "/v1/collectd", exact, 1024 },
		{ "POST", "/v1/collectd", NULL, 4096, .chunked = true },
		{ "POST", "/v1/collectd", "[]" },
		{ NULL },
	};
	json_object *r;

	memset(big, ' ', sizeof(big));
	big[0] = '[';
	big[sizeof(big) - 1] = ']';
	/* Exactly max_body_bytes: accepted. */
	memset(exact, ' ', 1024);
	exact[0] = '[';
	memcpy(exact + 1, MEMORY("11"), strlen(MEMORY("11")));
	exact[1023] = ']';
	exact[1024] = '\0';

	assert_int_equal(start(f, ""), 1);
	run_client(f, x);

	for (size_t i = 0; x[i].method; i++)
		if (i != 13 && x[i].code != CURLE_OK)
			fail_msg("exchange %zu: %s", i, curl_easy_strerror(x[i].code));
	/* Partial rejection is still 200: collectd would otherwise count the write failed. */
	assert_int_equal(x[0].status, 200);
	assert_string_equal(x[0].reply, "{\"accepted\":2,\"rejected\":1}");
	assert_int_equal(x[1].status, 200);
	assert_string_equal(x[1].reply, "{\"accepted\":2,\"rejected\":0}");
	assert_int_equal(x[2].status, 400);
	assert_non_null(strstr(x[2].reply, "\"error\":\"expected a JSON array"));
	assert_int_equal(x[3].status, 400);
	assert_int_equal(x[4].status, 400);
	assert_string_equal(x[4].reply, "{\"error\":\"empty body, expected a JSON array\"}");
	/* Other methods: 405 and Allow. */
	assert_int_equal(x[5].status, 405);
	assert_true(x[5].allow_post);
	assert_int_equal(x[6].status, 405);
	assert_true(x[6].allow_post);
	assert_int_equal(x[7].status, 405);
	assert_true(x[7].allow_post);
	/* Other paths: 404, whatever the method. */
	assert_int_equal(x[8].status, 404);
	assert_false(x[8].allow_post);
	assert_int_equal(x[9].status, 404);
	assert_int_equal(x[10].status, 404);
	/* Too large: 413 without reading the body. */
	assert_int_equal(x[11].status, 413);
	assert_non_null(strstr(x[11].reply, "max_body_bytes"));
	assert_int_equal(x[12].status, 200);
	assert_string_equal(x[12].reply, "{\"accepted\":1,\"rejected\":0}");
	/* A chunked body over the limit cannot be answered before it ends: the connection is
	 * closed. */
	assert_int_not_equal(x[13].code, CURLE_OK);
	assert_int_not_equal(x[13].status, 200);
	/* The server still works afterwards. */
	assert_int_equal(x[14].status, 200);
	assert_string_equal(x[14].reply, "{\"accepted\":0,\"rejected\":0}");

	assert_int_equal(plugin_harness_status_int(f->ph, "requests"), 15);
	assert_int_equal(plugin_harness_status_int(f->ph, "not_found"), 3);
	assert_int_equal(plugin_harness_status_int(f->ph, "method_not_allowed"), 3);
	assert_int_equal(plugin_harness_status_int(f->ph, "bodies_too_large"), 2);
	assert_int_equal(plugin_harness_status_int(f->ph, "bad_bodies"), 3);
	assert_int_equal(plugin_harness_status_int(f->ph, "value_lists_accepted"), 5);
	assert_int_equal(plugin_harness_status_int(f->ph, "value_lists_rejected"), 1);
	assert_int_equal(plugin_harness_status_int(f->ph, "values_baseline"), 2);
	assert_int_equal(plugin_harness_status_int(f->ph, "counters_tracked"), 2);
	/* 3 gauges, 2 increases. */
	assert_int_equal(plugin_harness_status_int(f->ph, "readings"), 5);
	assert_int_equal(plugin_harness_status_int(f->ph, "readings_refused"), 0);

	r = plugin_harness_heartbeat(f->ph);
	assert_true(plugin_harness_reading(r, "interface/eth0/if_octets/rx") == 500);
	assert_true(plugin_harness_reading(r, "interface/eth0/if_octets/tx") == 1);
	assert_true(plugin_harness_reading(r, "memory/memory/used") == 11);
	assert_int_equal(json_object_object_length(r), 3);
	json_object_put(r);
}

static void test_rates(void **state)
{
	struct fixture *f = *state;
	struct exchange x[] = {
		{ "POST", "/v1/collectd", "[" IF_OCTETS("null", "null") "]" },
		{ "POST", "/v1/collectd", "[" IF_OCTETS("2.5", "0.1") "]" },
		{ "POST", "/v1/collectd", "[" IF_OCTETS("1", "0") "," MEMORY("3") "]" },
		{ NULL },
	};
	json_object *r;

	assert_int_equal(start(f, "\"store_rates\": true"), 1);
	run_client(f, x);
	for (size_t i = 0; x[i].method; i++)
		assert_int_equal(x[i].status, 200);
	assert_int_equal(plugin_harness_status_int(f->ph, "values_nan"), 2);
	assert_int_equal(plugin_harness_status_int(f->ph, "counters_tracked"), 0);
	r = plugin_harness_heartbeat(f->ph);
	/* (2.5 + 1) per second over 10 s intervals. */
	assert_true(plugin_harness_reading(r, "interface/eth0/if_octets/rx") == 35);
	assert_true(plugin_harness_reading(r, "interface/eth0/if_octets/tx") == 1);
	assert_true(plugin_harness_reading(r, "memory/memory/used") == 3);
	json_object_put(r);
}

static void test_store_refusals(void **state)
{
	struct fixture *f = *state;
	struct lc_metrics_limits one = { .max_keys = 1, .max_set_members = 8 };
	struct exchange x[] = {
		{ "POST", "/v1/collectd", "[" MEMORY("1") "]" },
		{ NULL },
	};
	struct exchange y[] = {
		{ "POST", "/v1/collectd", "[" MEMORY("2") "," IF_OCTETS("1", "1") "]" },
		{ "POST", "/v1/collectd", "[" IF_OCTETS("2", "3") "]" },
		{ NULL },
	};
	json_object *r;

	assert_int_equal(start(f, ""), 1);
	/* Data collection off: nothing kept, counted as not collected, still 200. */
	f->ph->collection_off = true;
	run_client(f, x);
	assert_int_equal(x[0].status, 200);
	assert_int_equal(plugin_harness_status_int(f->ph, "readings_not_collected"), 1);
	assert_int_equal(plugin_harness_status_int(f->ph, "readings"), 0);

	/* A store full after one key refuses the others. */
	f->ph->collection_off = false;
	lc_metrics_set_limits(f->ph->metrics, &one);
	run_client(f, y);
	assert_int_equal(y[0].status, 200);
	assert_int_equal(y[1].status, 200);
	assert_int_equal(plugin_harness_status_int(f->ph, "readings"), 1);
	assert_int_equal(plugin_harness_status_int(f->ph, "readings_refused"), 2);
	r = plugin_harness_heartbeat(f->ph);
	assert_true(plugin_harness_reading(r, "memory/memory/used") == 2);
	assert_true(plugin_harness_reading(r, "faultd/metrics_over_key_cap") == 2);
	assert_int_equal(json_object_object_length(r), 2);
	json_object_put(r);
}

static void test_idle_timeout(void **state)
{
	struct fixture *f = *state;
	struct exchange x[] = {
		{ "probe", .probe = PROBE_IDLE_CLOSED },
		{ "POST", "/v1/collectd", "[" MEMORY("5") "]" },
		{ NULL },
	};

	assert_int_equal(start(f, "\"timeout_seconds\": 1"), 1);
	run_client(f, x);
	/* The loop's timer closed the idle connection after about a second. */
	if (x[0].probe_seconds < 0.5 || x[0].probe_seconds > 5)
		fail_msg("idle connection closed after %.2f s", x[0].probe_seconds);
	assert_int_equal(x[1].code, CURLE_OK);
	assert_int_equal(x[1].status, 200);
}

static void test_connection_limit(void **state)
{
	struct fixture *f = *state;
	struct exchange x[] = {
		{ "probe", .probe = PROBE_OVER_LIMIT },
		{ "POST", "/v1/collectd", "[" MEMORY("5") "]" },
		{ NULL },
	};

	/* No idle timeout to wake the server up: only the freed slot may. */
	assert_int_equal(start(f, "\"timeout_seconds\": 3600, \"max_connections\": 1"), 1);
	run_client(f, x);
	if (x[0].probe_seconds != -1)
		fail_msg("connection over the limit closed after %.2f s", x[0].probe_seconds);
	if (x[0].probe_cpu > 0.2)
		fail_msg("%.2f s of CPU in 0.5 s at the connection limit", x[0].probe_cpu);
	if (strncmp(x[0].reply, "HTTP/1.1 200 OK\r\n", 17) != 0)
		fail_msg("the waiting connection got \"%.40s\"", x[0].reply);
	assert_int_equal(x[1].code, CURLE_OK);
	assert_int_equal(x[1].status, 200);
}

static void test_bind_failure(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char extra[64];

	/* A port already taken: init fails, the host marks the plugin failed. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(extra, sizeof(extra), "\"listen\": \"127.0.0.1:%u\"", ntohs(sin.sin_port));
	assert_int_equal(start(f, extra), 0);
	assert_int_equal(lc_plugin_host_state(f->ph->host, 0), LC_PLUGIN_FAILED);
}

static void test_disabled(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(start(f, "\"enabled\": false"), 0);
	assert_int_equal(lc_plugin_host_state(f->ph->host, 0), LC_PLUGIN_DISABLED);
}

static void test_config_errors(void **state)
{
	struct fixture *f = *state;
	const struct {
		const char *extra, *error;
	} cases[] = {
		{ "\"listen\": \"localhost:8787\"", "expected a numeric IPv4 address" },
		{ "\"listen\": \"127.0.0.1:70000\"", "expected a port number from 0 to 65535" },
		{ "\"listen\": \"[::1]\"", "after the address" },
		{ "\"max_body_bytes\": 10", "max_body_bytes" },
		{ "\"max_connections\": 0", "max_connections" },
		{ "\"store_rates\": \"yes\"", "store_rates" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *error = NULL;

		assert_int_equal(load(f, cases[i].extra, &error), -EINVAL);
		if (!strstr(error, cases[i].error))
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, error, cases[i].error);
	}
}

static void test_ipv6(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *error = NULL;
	json_object *s, *v;

	assert_int_equal(load(f, "\"listen\": \"[::1]:0\"", &error), 0);
	/* Only where the machine has an IPv6 loopback. */
	if (plugin_harness_start(f->ph) == 0)
		skip();
	s = plugin_harness_status(f->ph);
	assert_true(json_object_object_get_ex(s, "listen", &v));
	assert_true(strncmp(json_object_get_string(v), "[::1]:", 6) == 0);
	assert_true(atoi(json_object_get_string(v) + 6) > 0);
	json_object_put(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_http, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
	};
	int r;

	lc_log_set_ratelimit(false);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return r;
}
