/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "collectd-parse.h"
#include "collectd-plugin.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "netaddr.h"

#define COLLECTD_PATH "/v1/collectd"
#ifndef MHD_HTTP_CONTENT_TOO_LARGE /* libmicrohttpd before 0.9.74 */
#define MHD_HTTP_CONTENT_TOO_LARGE 413
#endif
/* libmicrohttpd's memory per connection: the request's headers must fit (the body is kept apart,
 * up to max_body_bytes). */
#define COLLECTD_CONNECTION_MEMORY (32 * 1024)
/* A raw counter not seen for this long is forgotten: its next value is a new baseline. */
#define COLLECTD_COUNTER_MAX_AGE_SEC 3600

/* What the status shows; never reset. */
struct collectd_stats {
	uint64_t requests;
	uint64_t not_found;	     /* another path: 404 */
	uint64_t method_not_allowed; /* another method: 405 */
	uint64_t bodies_too_large;   /* 413, or the connection closed for a chunked body */
	uint64_t bad_bodies;	     /* not a JSON array of value lists: 400 */
	uint64_t lists_accepted;
	uint64_t lists_rejected;
	uint64_t values_nan;
	uint64_t values_baseline;
	uint64_t values_reset;
	uint64_t values_untracked;
	uint64_t readings;		 /* taken by the store */
	uint64_t readings_refused;	 /* refused by the store (key cap, kind, ...) */
	uint64_t readings_not_collected; /* data collection off */
};

struct collectd_data {
	struct lc_plugin *plugin;
	struct MHD_Daemon *daemon;
	struct lc_watch *watch;
	struct lc_timer *timer;
	struct collectd_table *table;
	size_t max_body;
	unsigned max_connections;
	bool store_rates;
	char listen[INET6_ADDRSTRLEN + 16]; /* with the port actually bound */
	struct collectd_stats stats;
};

/* One POST's body as it arrives. */
struct collectd_request {
	char *body;
	size_t size, alloc;
};

static const struct lc_cfg_key collectd_keys[] = {
	{
		.name = "enabled",
		.type = LC_CFG_BOOL,
		.def_bool = true,
		.description = "Accept metrics from collectd's write_http plugin (Format \"JSON\") "
			       "at POST http://<listen>/v1/collectd.",
	},
	{
		.name = "listen",
		.type = LC_CFG_STRING,
		.def_string = "127.0.0.1:8787",
		.max = 64,
		.check = lc_check_listen_address,
		.description = "Address and port to listen on: \"A.B.C.D:PORT\" or "
			       "\"[IPv6]:PORT\"; port 0 takes any free port (`faultctl status` "
			       "shows which). There is no authentication: keep it on loopback.",
	},
	{
		.name = "store_rates",
		.type = LC_CFG_BOOL,
		.def_bool = false,
		.description =
			"Must equal write_http's StoreRates: true when collectd sends "
			"counter, derive and absolute values as per-second rates, false when "
			"it sends them raw. Either way the heartbeat reports their increase.",
	},
	{
		.name = "max_body_bytes",
		.type = LC_CFG_INT,
		.def_int = 1024 * 1024,
		.min = 1024,
		.max = 64 * 1024 * 1024,
		.description =
			"Largest request body accepted; a larger one is answered 413 and "
			"counted. write_http's BufferSize (4 KiB by default) must be smaller.",
	},
	{
		.name = "max_connections",
		.type = LC_CFG_INT,
		.def_int = 16,
		.min = 1,
		.max = 1024,
		.description = "Connections served at once; more wait in the kernel's backlog.",
	},
	{
		.name = "timeout_seconds",
		.type = LC_CFG_INT,
		.def_int = 30,
		.min = 1,
		.max = 3600,
		.description = "A connection idle for this long is closed.",
	},
	{
		.name = "max_counters",
		.type = LC_CFG_INT,
		.def_int = 4096,
		.min = 16,
		.max = 1024 * 1024,
		.description = "Raw counter and derive values remembered to compute increases "
			       "when store_rates is false; values of further keys are counted and "
			       "skipped. Keys unseen for an hour are forgotten.",
	},
};

static const struct lc_cfg_section collectd_section = {
	.name = "collectd",
	.description = "Metrics from collectd's write_http plugin. Gauges are kept as gauges; "
		       "counter, derive and absolute values as the increase over each heartbeat.",
	.keys = collectd_keys,
	.n_keys = ARRAY_SIZE(collectd_keys),
};

/* libmicrohttpd says NULL or MHD_NO, sometimes leaving the failing system call's errno: the one
 * place that turns that into -errno. */
static int collectd_mhd_errno(int saved_errno)
{
	return saved_errno > 0 ? -saved_errno : -EIO;
}

/* libmicrohttpd's own messages, one line each, into faultd's log. */
static void _printf_(2, 0) collectd_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	lc_plugin_log(((struct collectd_data *)cls)->plugin, LOG_WARNING, "libmicrohttpd: %s", buf);
}

/* Queues status with o (taken) as the JSON body; allow adds "Allow: POST". */
static enum MHD_Result collectd_reply(struct MHD_Connection *c, unsigned status, json_object *o,
				      bool allow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	const char *text;

	text = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
	if (!text) {
		json_object_put(o);
		log_oom();
		return MHD_NO; /* closes the connection */
	}
	resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	json_object_put(o);
	if (!resp) {
		log_oom();
		return MHD_NO;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") !=
		    MHD_YES ||
	    (allow && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST") != MHD_YES)) {
		MHD_destroy_response(resp);
		log_oom();
		return MHD_NO;
	}
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result collectd_reply_error(struct MHD_Connection *c, unsigned status,
					    const char *why, bool allow)
{
	json_object *o = json_object_new_object();

	if (o && lc_json_add(o, "error", json_object_new_string(why)) < 0) {
		json_object_put(o);
		o = NULL;
	}
	return collectd_reply(c, status, o, allow);
}

static void collectd_on_reading(void *userdata, const char *key, size_t key_len,
				enum lc_metric_kind kind, double value)
{
	struct collectd_data *d = userdata;
	int r = lc_plugin_metric(d->plugin, key, key_len, kind, value);

	/* The store counts and reports its refusals; these counts say they came from here. */
	if (r == 0)
		d->stats.readings++;
	else if (r == -EPERM)
		d->stats.readings_not_collected++;
	else
		d->stats.readings_refused++;
}

/* The whole body is in: readings to the store, and the answer. */
static enum MHD_Result collectd_process(struct collectd_data *d, struct MHD_Connection *c,
					const struct collectd_request *req)
{
	struct collectd_result res;
	json_object *o;
	char why[160];
	int r;

	r = collectd_parse_body(req->body ? req->body : "", req->size, d->store_rates, d->table,
				lc_clock_ms(CLOCK_MONOTONIC) / 1000, collectd_on_reading, d, &res,
				why, sizeof(why));
	if (r == -ENOMEM) {
		log_oom();
		return collectd_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory",
					    false);
	}
	if (r < 0) {
		d->stats.bad_bodies++;
		lc_plugin_log(d->plugin, LOG_WARNING, "rejected a body of %zu bytes: %s.",
			      req->size, why);
		return collectd_reply_error(c, MHD_HTTP_BAD_REQUEST, why, false);
	}
	d->stats.lists_accepted += res.lists_accepted;
	d->stats.lists_rejected += res.lists_rejected;
	d->stats.values_nan += res.values_nan;
	d->stats.values_baseline += res.values_baseline;
	d->stats.values_reset += res.values_reset;
	d->stats.values_untracked += res.values_untracked;
	if (res.lists_rejected)
		lc_plugin_log(d->plugin, LOG_WARNING,
			      "rejected %" PRIu64 " of %" PRIu64 " value lists; %s.",
			      res.lists_rejected, res.lists_rejected + res.lists_accepted,
			      res.first_error);

	/* collectd treats anything but 2xx as a failed write, so a partial rejection is 200. */
	o = json_object_new_object();
	if (o &&
	    (lc_json_add(o, "accepted", json_object_new_int64((int64_t)res.lists_accepted)) < 0 ||
	     lc_json_add(o, "rejected", json_object_new_int64((int64_t)res.lists_rejected)) < 0)) {
		json_object_put(o);
		o = NULL;
	}
	return collectd_reply(c, MHD_HTTP_OK, o, false);
}

/* Appends n bytes of data to req's body, which never grows past max. Returns 0, -EFBIG or
 * -ENOMEM. */
static int collectd_request_append(struct collectd_request *req, const char *data, size_t n,
				   size_t max)
{
	if (n > max - req->size)
		return -EFBIG;
	if (req->size + n > req->alloc) {
		size_t alloc = MAX(req->size + n, MIN(MAX(req->alloc * 2, (size_t)4096), max));
		char *b = realloc(req->body, alloc);

		if (!b)
			return -ENOMEM;
		req->body = b;
		req->alloc = alloc;
	}
	memcpy(req->body + req->size, data, n);
	req->size += n;
	return 0;
}

/* Whether the request declares a Content-Length above max. */
static bool collectd_declared_too_large(struct MHD_Connection *c, size_t max)
{
	const char *s =
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t n = 0;

	if (!s)
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (n > (UINT64_MAX - 9) / 10)
			return true;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	return n > max;
}

static enum MHD_Result collectd_handle(void *cls, struct MHD_Connection *c, const char *url,
				       const char *method, const char *version,
				       const char *upload_data, size_t *upload_data_size,
				       void **req_cls)
{
	struct collectd_data *d = cls;
	struct collectd_request *req = *req_cls;
	int r;

	if (!req) {
		/* The headers are in; answering now skips the body. */
		d->stats.requests++;
		if (!streq(url, COLLECTD_PATH)) {
			d->stats.not_found++;
			return collectd_reply_error(c, MHD_HTTP_NOT_FOUND,
						    "not found; collectd posts to " COLLECTD_PATH,
						    false);
		}
		if (!streq(method, MHD_HTTP_METHOD_POST)) {
			d->stats.method_not_allowed++;
			return collectd_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
						    "method not allowed; use POST", true);
		}
		if (collectd_declared_too_large(c, d->max_body)) {
			d->stats.bodies_too_large++;
			lc_plugin_log(d->plugin, LOG_WARNING,
				      "refused a body larger than max_body_bytes (%zu).",
				      d->max_body);
			return collectd_reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
						    "body larger than max_body_bytes", false);
		}
		req = calloc(1, sizeof(*req));
		if (!req) {
			log_oom();
			return MHD_NO;
		}
		*req_cls = req;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		r = collectd_request_append(req, upload_data, *upload_data_size, d->max_body);
		if (r == -EFBIG) {
			/* Only a chunked body gets here (a declared length was checked), and no
			 * answer may be queued before the upload ends: close the connection. */
			d->stats.bodies_too_large++;
			lc_plugin_log(d->plugin, LOG_WARNING,
				      "closed a connection whose chunked body exceeded "
				      "max_body_bytes (%zu).",
				      d->max_body);
			return MHD_NO;
		}
		if (r < 0) {
			log_oom();
			return MHD_NO;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return collectd_process(d, c, req);
}

static void collectd_request_done(void *cls, struct MHD_Connection *c, void **req_cls,
				  enum MHD_RequestTerminationCode toe)
{
	struct collectd_request *req = *req_cls;

	if (!req)
		return;
	free(req->body);
	free(req);
	*req_cls = NULL;
}

static void collectd_on_timer(struct lc_plugin *p, void *userdata);

/* Arms the timer for libmicrohttpd's next deadline, or drops it when there is none. */
static void collectd_arm(struct collectd_data *d)
{
	MHD_UNSIGNED_LONG_LONG ms;
	int r;

	if (MHD_get_timeout(d->daemon, &ms) != MHD_YES) {
		d->timer = lc_timer_free(d->timer);
		return;
	}
	if (d->timer)
		r = lc_timer_restart(d->timer, ms, 0);
	else
		r = lc_plugin_timer_add(d->plugin, ms, 0, collectd_on_timer, d, &d->timer);
	if (r < 0)
		lc_plugin_log_errno(d->plugin, LOG_ERR, r,
				    "failed to arm the listener's timer: %m");
}

static unsigned collectd_connections(struct collectd_data *d)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(d->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return info ? info->num_connections : 0;
}

/* Lets libmicrohttpd do what is ready, then waits for its next deadline. */
static void collectd_run(struct collectd_data *d)
{
	unsigned before = collectd_connections(d);
	int r;

	r = MHD_run(d->daemon) == MHD_YES ? 0 : collectd_mhd_errno(0);
	/* At max_connections (or out of descriptors) libmicrohttpd stops watching its listening
	 * socket, and watches it again only when a run starts with a slot free: after a run that
	 * closed connections, nothing else would wake it for those waiting in the backlog. */
	if (r == 0 && collectd_connections(d) < before)
		r = MHD_run(d->daemon) == MHD_YES ? 0 : collectd_mhd_errno(0);
	if (r < 0)
		lc_plugin_log_errno(d->plugin, LOG_WARNING, r, "libmicrohttpd failed to run: %m");
	collectd_arm(d);
}

static void collectd_on_timer(struct lc_plugin *p, void *userdata)
{
	collectd_run(userdata);
}

static void collectd_on_ready(struct lc_plugin *p, int fd, unsigned events, int error,
			      void *userdata)
{
	if (error < 0)
		lc_plugin_log_errno(p, LOG_WARNING, error, "polling the listener failed: %m");
	collectd_run(userdata);
}

static struct collectd_data *collectd_data_free(struct collectd_data *d)
{
	if (!d)
		return NULL;
	/* The core released the watch and the timer before; this closes their descriptor. */
	if (d->daemon)
		MHD_stop_daemon(d->daemon);
	collectd_table_free(d->table);
	free(d);
	return NULL;
}

static void collectd_data_freep(struct collectd_data **d)
{
	collectd_data_free(*d);
}

/* addr with port, as the configuration writes it. */
static void collectd_format_listen(struct sockaddr_storage *addr, uint16_t port, char *buf,
				   size_t size)
{
	if (addr->ss_family == AF_INET6)
		((struct sockaddr_in6 *)addr)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)addr)->sin_port = htons(port);
	if (lc_listen_address_format(addr, buf, size) < 0)
		snprintf(buf, size, "?:%u", port);
}

static int collectd_init(struct lc_plugin *p)
{
	_cleanup_(collectd_data_freep) struct collectd_data *d = NULL;
	const char *listen = lc_plugin_config_string(p, "listen");
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	const char *why;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int r, epoll_fd;

	r = lc_listen_address_parse(listen, &addr, &addr_len, &why);
	if (r < 0) /* checked when the configuration was loaded */
		return lc_plugin_log_errno(p, LOG_ERR, r, "listen \"%s\": %s.", listen, why);
	if (addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;

	d = calloc(1, sizeof(*d));
	if (!d)
		return log_oom();
	d->plugin = p;
	d->store_rates = lc_plugin_config_bool(p, "store_rates");
	d->max_body = (size_t)lc_plugin_config_int(p, "max_body_bytes");
	d->max_connections = (unsigned)lc_plugin_config_int(p, "max_connections");
	r = collectd_table_new((size_t)lc_plugin_config_int(p, "max_counters"),
			       COLLECTD_COUNTER_MAX_AGE_SEC, &d->table);
	if (r < 0)
		return log_oom();

	/* No thread of its own: its epoll descriptor joins faultd's loop. The logger comes first
	 * so that libmicrohttpd writes nothing to stderr, even about the options. */
	errno = 0;
	d->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, collectd_handle, d, MHD_OPTION_EXTERNAL_LOGGER,
		collectd_mhd_log, d, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		MHD_OPTION_CONNECTION_LIMIT, d->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)lc_plugin_config_int(p, "timeout_seconds"),
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)COLLECTD_CONNECTION_MEMORY,
		MHD_OPTION_NOTIFY_COMPLETED, collectd_request_done, d, MHD_OPTION_END);
	if (!d->daemon)
		return lc_plugin_log_errno(p, LOG_ERR, collectd_mhd_errno(errno),
					   "failed to listen on %s: %m", listen);

	info = MHD_get_daemon_info(d->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0)
		return lc_plugin_log_errno(p, LOG_ERR, collectd_mhd_errno(0),
					   "libmicrohttpd has no epoll descriptor: %m");
	epoll_fd = info->epoll_fd;
	info = MHD_get_daemon_info(d->daemon, MHD_DAEMON_INFO_BIND_PORT);
	collectd_format_listen(&addr, info ? info->port : 0, d->listen, sizeof(d->listen));

	r = lc_plugin_watch_fd(p, epoll_fd, LC_WATCH_READ, collectd_on_ready, d, &d->watch);
	if (r < 0)
		return lc_plugin_log_errno(p, LOG_ERR, r, "failed to watch the listener: %m");
	collectd_arm(d);

	lc_plugin_log(p, LOG_INFO, "listening on http://%s" COLLECTD_PATH " (store_rates %s).",
		      d->listen, d->store_rates ? "true" : "false");
	lc_plugin_set_data(p, TAKE_PTR(d));
	return 0;
}

static void collectd_collect(struct lc_plugin *p)
{
	struct collectd_data *d = lc_plugin_get_data(p);
	size_t n;

	n = collectd_table_prune(d->table, lc_clock_ms(CLOCK_MONOTONIC) / 1000);
	if (n > 0)
		lc_plugin_log(p, LOG_DEBUG, "forgot %zu counters not seen for %d seconds.", n,
			      COLLECTD_COUNTER_MAX_AGE_SEC);
}

static void collectd_shutdown(struct lc_plugin *p)
{
	collectd_data_free(lc_plugin_get_data(p));
}

static json_object *collectd_status(struct lc_plugin *p)
{
	struct collectd_data *d = lc_plugin_get_data(p);
	const union MHD_DaemonInfo *info;
	const struct collectd_stats *s = &d->stats;
	const struct {
		const char *name;
		uint64_t value;
	} counts[] = {
		{ "requests", s->requests },
		{ "not_found", s->not_found },
		{ "method_not_allowed", s->method_not_allowed },
		{ "bodies_too_large", s->bodies_too_large },
		{ "bad_bodies", s->bad_bodies },
		{ "value_lists_accepted", s->lists_accepted },
		{ "value_lists_rejected", s->lists_rejected },
		{ "values_nan", s->values_nan },
		{ "values_baseline", s->values_baseline },
		{ "values_reset", s->values_reset },
		{ "values_untracked", s->values_untracked },
		{ "readings", s->readings },
		{ "readings_refused", s->readings_refused },
		{ "readings_not_collected", s->readings_not_collected },
		{ "counters_tracked", collectd_table_size(d->table) },
	};
	_cleanup_json_ json_object *o = json_object_new_object();
	int r = 0;

	info = MHD_get_daemon_info(d->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	lc_json_add_sticky(o, "listen", json_object_new_string(d->listen), &r);
	lc_json_add_sticky(o, "store_rates", json_object_new_boolean(d->store_rates), &r);
	lc_json_add_sticky(o, "connections",
			   json_object_new_int64(info ? info->num_connections : 0), &r);
	for (size_t i = 0; i < ARRAY_SIZE(counts); i++)
		lc_json_add_sticky(o, counts[i].name,
				   json_object_new_int64((int64_t)counts[i].value), &r);
	return r < 0 ? NULL : TAKE_PTR(o);
}

const struct lc_plugin_ops collectd_plugin_ops = {
	.name = "collectd",
	.config = &collectd_section,
	.init = collectd_init,
	.collect = collectd_collect,
	.shutdown = collectd_shutdown,
	.status = collectd_status,
};
