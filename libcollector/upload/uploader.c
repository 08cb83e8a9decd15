/* SPDX-License-Identifier: MIT */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "backoff.h"
#include "batch.h"
#include "build-config.h"
#include "clock.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "schema.h"
#include "uploader.h"

#define REPLY_MAX		  (64 * 1024)	/* a JSON reply; more is not stored */
#define REPLY_DOWNLOAD_MAX	  (1024 * 1024) /* more than this fails the request */
#define REJECT_LOG_MAX		  1024		/* of a refusal's body, in the log */
#define URL_MAX			  4096
#define DEVICE_CONFIG_INTERVAL_MS (6ULL * 3600 * 1000)
#define DEVICE_CONFIG_RETRY_MS	  (3600ULL * 1000)
#define BATCH_RESTARTS_MAX	  3 /* entries changing under a batch, per run */

static const char *const step_names[] = {
	[LC_STEP_DEVICE_CONFIG] = "device-config",
	[LC_STEP_PREPARE] = "prepare",
	[LC_STEP_PUT] = "upload",
	[LC_STEP_COMMIT] = "commit",
};

struct request {
	struct lc_uploader *u;
	enum lc_upload_step step;
	CURL *easy;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	char *body; /* the reply, NUL-terminated, at most REPLY_MAX bytes kept */
	size_t len, alloc;
	uint64_t received; /* all reply bytes, stored or not */
	bool truncated;
	bool too_long;	/* more than REPLY_DOWNLOAD_MAX arrived: the transfer was failed */
	int read_error; /* lc_batch_read's failure while sending, 0 if none */
};

struct curl_sock {
	uv_poll_t poll;
	struct lc_uploader *u;
	curl_socket_t fd;
	struct curl_sock *next; /* in u->socks until its poll is closed */
};

struct waiter {
	lc_upload_done_t cb;
	void *userdata;
	int error; /* refused without a run: the outcome it gets (0: it waits for the run) */
	const char *message;
	struct waiter *next;
};

struct lc_uploader {
	uv_loop_t *loop;
	struct lc_spool *spool;
	const struct lc_record_context *record;
	void (*run_done)(bool ok, void *userdata);
	void *run_done_userdata;
	const struct lc_config *cfg;
	char *sampling_path;
	struct lc_sampling sampling;

	CURLM *multi;
	struct curl_sock *socks; /* watched for curl, found by fd when curl forgets its pointer */
	uv_timer_t curl_timer;	 /* curl's own timeouts */
	uv_timer_t due_timer;	 /* the next scheduled run */
	uv_timer_t sync_timer;	 /* answers lc_uploader_sync() from the loop */
	unsigned handles;	 /* open libuv handles; freed when the last one closes */
	bool closing;
	bool configured;

	/* The run in progress. */
	bool running;
	struct request *req;
	struct lc_batch *batch;
	size_t entry_cap; /* entries per batch while isolating a refused one; 0: no cap */
	unsigned restarts;
	char *upload_url, *token;
	struct lc_upload_result run;
	char run_message[512];
	struct waiter *waiters; /* for the run in progress, or the one sync_timer starts */
	struct waiter *refused; /* answered by sync_timer without a run */

	/* Schedule and history. */
	unsigned failures;
	uint64_t next_due_ms; /* loop time; 0: nothing scheduled */
	uint64_t last_run_end_ms;
	uint64_t config_due_ms; /* 0: at the next run */
	bool have_last;
	uint64_t last_time_ms; /* Unix time of the last attempt's end */
	struct lc_upload_result last;
	char last_message[512];
	struct {
		uint64_t runs, entries, bytes, batches, rejected, requests, http_bytes_sent,
			http_bytes_received;
	} totals;
};

static void schedule(struct lc_uploader *u, uint64_t delay_ms);
static void run_end(struct lc_uploader *u, int error, uint64_t retry_after_ms);
static void set_run_message(struct lc_uploader *u, const char *fmt, ...) _printf_(2, 3);
static void next_batch(struct lc_uploader *u);

/* Ends the run with a failure described by fmt. */
#define run_fail(u, error, retry_after_ms, ...)          \
	do {                                             \
		set_run_message((u), __VA_ARGS__);       \
		run_end((u), (error), (retry_after_ms)); \
	} while (0)

static uint32_t random_u32(void)
{
	uint32_t x;

	if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != sizeof(x))
		x = (uint32_t)(uv_hrtime() ^ (uv_hrtime() >> 29));
	return x;
}

/* libcurl's codes, translated in this one place. */
static int errno_from_curl(CURLcode c)
{
	switch (c) {
	case CURLE_OK:
		return 0;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
		return -EKEYREJECTED;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_READ_ERROR:
		return -EIO;
	case CURLE_TOO_MANY_REDIRECTS:
		return -ELOOP;
	default:
		return -EPROTO;
	}
}

/* A URL the device may send data to: https, or http to a loopback address. */
static bool url_allowed(const char *url)
{
	CURLU *h;
	char *scheme = NULL, *host = NULL;
	bool ok = false;

	if (strlen(url) >= URL_MAX)
		return false;
	h = curl_url();
	if (h && curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK && host[0])
		ok = streq(scheme, "https") ||
		     (streq(scheme, "http") && lc_host_is_loopback(host, strlen(host)));
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(h);
	return ok;
}

/* --- handles and their lifetime --- */

/* One of u's handles closed; the last one frees u. */
static void handle_released(struct lc_uploader *u)
{
	if (--u->handles > 0)
		return;
	free(u->sampling_path);
	free(u);
}

static void handle_closed(uv_handle_t *h)
{
	handle_released(h->data);
}

static void sock_closed(uv_handle_t *h)
{
	struct curl_sock *s = h->data;
	struct lc_uploader *u = s->u;

	free(s);
	handle_released(u);
}

/* Stops watching s (now: curl may close the fd right after) and forgets it. */
static void sock_close(struct lc_uploader *u, struct curl_sock *s)
{
	for (struct curl_sock **p = &u->socks; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	uv_close((uv_handle_t *)&s->poll, sock_closed);
}

static void on_curl_timer(uv_timer_t *t);

/* Hands finished transfers to their steps. */
static void drain_messages(struct lc_uploader *u);

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct curl_sock *s = p->data;
	struct lc_uploader *u = s->u;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(u->multi, s->fd, flags, &running);
	drain_messages(u);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct lc_uploader *u = userp;
	struct curl_sock *s = socketp;
	int events = 0;

	if (!s) /* some curl versions drop the pointer while cleaning up */
		for (struct curl_sock *i = u->socks; i && !s; i = i->next)
			if (i->fd == fd)
				s = i;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			sock_close(u, s);
			curl_multi_assign(u->multi, fd, NULL);
		}
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		s->u = u;
		s->fd = fd;
		if (uv_poll_init_socket(u->loop, &s->poll, fd) < 0) {
			free(s);
			return -1;
		}
		s->poll.data = s;
		u->handles++;
		s->next = u->socks;
		u->socks = s;
		curl_multi_assign(u->multi, fd, s);
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= UV_READABLE;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= UV_WRITABLE;
	return uv_poll_start(&s->poll, events, on_poll) < 0 ? -1 : 0;
}

static int on_curl_timeout(CURLM *multi, long timeout_ms, void *userp)
{
	struct lc_uploader *u = userp;

	if (timeout_ms < 0)
		uv_timer_stop(&u->curl_timer);
	else
		/* 0 means "as soon as possible": from the loop, never from inside curl, and at
		 * least 1 ms on: asked from inside on_curl_timer(), a 0 ms timer runs again in the
		 * same pass on libuv before 1.48, and curl asking for 0 each time is a busy loop.
		 */
		uv_timer_start(&u->curl_timer, on_curl_timer, MAX((uint64_t)timeout_ms, 1), 0);
	return 0;
}

static void on_curl_timer(uv_timer_t *t)
{
	struct lc_uploader *u = t->data;
	int running;

	curl_multi_socket_action(u->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	drain_messages(u);
}

/* --- requests --- */

static struct request *request_free(struct request *r)
{
	if (!r)
		return NULL;
	if (r->easy) {
		curl_multi_remove_handle(r->u->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	free(r->body);
	free(r);
	return NULL;
}

static size_t on_reply_data(char *data, size_t size, size_t n, void *userdata)
{
	struct request *r = userdata;
	size_t len = size * n, take;

	r->received += len;
	if (r->received > REPLY_DOWNLOAD_MAX) {
		r->too_long = true;
		return 0; /* fails the transfer: no reply of the API is this long */
	}
	if (r->len >= REPLY_MAX) {
		r->truncated = true;
		return len;
	}
	take = MIN(len, REPLY_MAX - r->len);
	if (r->alloc < r->len + take + 1) {
		size_t alloc = MIN(MAX(r->alloc * 2, r->len + take + 1), (size_t)REPLY_MAX + 1);
		char *p = realloc(r->body, alloc);

		if (!p)
			return 0; /* fails the transfer: CURLE_WRITE_ERROR */
		r->body = p;
		r->alloc = alloc;
	}
	memcpy(r->body + r->len, data, take);
	r->len += take;
	r->body[r->len] = 0;
	if (take < len)
		r->truncated = true;
	return len;
}

static size_t on_batch_read(char *buf, size_t size, size_t n, void *userdata)
{
	struct request *r = userdata;
	ssize_t got = lc_batch_read(r->u->batch, buf, size * n);

	if (got < 0) {
		r->read_error = (int)got;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)got;
}

static int on_batch_seek(void *userdata, curl_off_t offset, int origin)
{
	struct request *r = userdata;

	if (offset != 0 || origin != SEEK_SET)
		return CURL_SEEKFUNC_CANTSEEK;
	return lc_batch_rewind(r->u->batch) < 0 ? CURL_SEEKFUNC_FAIL : CURL_SEEKFUNC_OK;
}

/* Adds "name: value"; a NULL value removes a header curl would add by itself. */
static int add_header(struct request *r, const char *name, const char *value)
{
	char line[1024];
	struct curl_slist *l;

	if (snprintf(line, sizeof(line), "%s:%s%s", name, value ? " " : "", value ? value : "") >=
	    (int)sizeof(line))
		return -E2BIG;
	l = curl_slist_append(r->headers, line);
	if (!l)
		return -ENOMEM;
	r->headers = l;
	return 0;
}

/* Creates a request for step to url; json_body (copied) makes it a POST to the API, NULL a PUT
 * of the batch. */
static int request_new(struct lc_uploader *u, enum lc_upload_step step, const char *url,
		       const char *json_body, struct request **ret)
{
	const struct lc_config *cfg = u->cfg;
	const char *ca = lc_config_get_string(cfg, "ca_bundle");
	bool api = json_body != NULL;
	const char *failed = NULL;
	struct request *r;
	CURL *e;
	int k = CURLE_OK;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->u = u;
	r->step = step;
	r->easy = e = curl_easy_init();
	if (!e) {
		free(r);
		return -ENOMEM;
	}
	if (api) {
		if (add_header(r, "Memfault-Project-Key",
			       lc_config_get_string(cfg, "project_key")) < 0 ||
		    add_header(r, "Content-Type", "application/json") < 0 ||
		    add_header(r, "Accept", "application/json") < 0)
			goto oom;
	} else {
		if (add_header(r, "Content-Type", "application/octet-stream") < 0 ||
		    add_header(r, "Expect", NULL) < 0)
			goto oom;
	}

/* Sets one option unless an earlier one failed, remembering which failed first. */
#define SETOPT(opt, value)                                   \
	do {                                                 \
		if (k == CURLE_OK) {                         \
			k = curl_easy_setopt(e, opt, value); \
			failed = #opt;                       \
		}                                            \
	} while (0)

	SETOPT(CURLOPT_URL, url);
	SETOPT(CURLOPT_HTTPHEADER, r->headers);
	SETOPT(CURLOPT_USERAGENT, "faultd/" FAULTD_VERSION);
	SETOPT(CURLOPT_PRIVATE, r);
	SETOPT(CURLOPT_ERRORBUFFER, r->errbuf);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_WRITEFUNCTION, on_reply_data);
	SETOPT(CURLOPT_WRITEDATA, r);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca[0])
		SETOPT(CURLOPT_CAINFO, ca);
	SETOPT(CURLOPT_PROTOCOLS_STR, "https,http");
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS,
	       (long)lc_config_get_int(cfg, "upload.connect_timeout_seconds") * 1000L);
	SETOPT(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SETOPT(CURLOPT_LOW_SPEED_TIME,
	       (long)lc_config_get_int(cfg, "upload.low_speed_timeout_seconds"));
	SETOPT(CURLOPT_TIMEOUT_MS, (long)lc_config_get_int(cfg, "upload.timeout_seconds") * 1000L);
	if (api) {
		/* No redirects: curl would turn the POST into a GET, and a 2xx from elsewhere
		 * would pass for a commit. A 3xx is retried like a server error. */
		SETOPT(CURLOPT_POST, 1L);
		SETOPT(CURLOPT_COPYPOSTFIELDS, json_body);
	} else {
		/* Object storage may redirect a PUT (307/308 keep the method and body). */
		SETOPT(CURLOPT_FOLLOWLOCATION, 1L);
		SETOPT(CURLOPT_MAXREDIRS, 5L);
		SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "https");
		SETOPT(CURLOPT_UPLOAD, 1L);
		SETOPT(CURLOPT_READFUNCTION, on_batch_read);
		SETOPT(CURLOPT_READDATA, r);
		SETOPT(CURLOPT_SEEKFUNCTION, on_batch_seek);
		SETOPT(CURLOPT_SEEKDATA, r);
		SETOPT(CURLOPT_INFILESIZE_LARGE, (curl_off_t)lc_batch_size(u->batch));
	}
#undef SETOPT
	if (k != CURLE_OK) {
		log_error("Failed to set %s on the %s request: %s", failed, step_names[step],
			  curl_easy_strerror((CURLcode)k));
		request_free(r);
		return k == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
	}
	*ret = r;
	return 0;
oom:
	request_free(r);
	return -ENOMEM;
}

static void start_request(struct lc_uploader *u, struct request *r)
{
	CURLMcode mc = curl_multi_add_handle(u->multi, r->easy);

	if (mc != CURLM_OK) {
		enum lc_upload_step step = r->step;

		curl_easy_cleanup(TAKE_PTR(r->easy));
		request_free(r);
		run_fail(u, mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EINVAL, 0,
			 "%s: cannot start the request: %s", step_names[step],
			 curl_multi_strerror(mc));
		return;
	}
	u->req = r;
	u->totals.requests++;
}

/* --- one run: device-config, then batches until the spool is empty or a step fails --- */

static void set_run_message(struct lc_uploader *u, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->run_message, sizeof(u->run_message), fmt, ap);
	va_end(ap);
}

static bool consent(const struct lc_uploader *u)
{
	return lc_config_get_bool(u->cfg, "enable_data_collection");
}

/* Why nothing can be uploaded with this configuration, or NULL. */
static const char *unconfigured(const struct lc_uploader *u)
{
	if (!lc_config_get_string(u->cfg, "base_url")[0])
		return "no base_url is configured";
	if (!lc_config_get_string(u->cfg, "project_key")[0])
		return "no project_key is configured";
	return NULL;
}

static uint64_t interval_ms(const struct lc_uploader *u)
{
	return (uint64_t)lc_config_get_int(u->cfg, "upload_interval_seconds") * 1000ULL;
}

/* Calls each waiter of the list w once, with r, or with its refusal when r is NULL, and frees
 * it. */
static void waiters_answer(struct waiter *w, const struct lc_upload_result *r)
{
	while (w) {
		struct waiter *next = w->next;
		struct lc_upload_result refusal = { .error = w->error, .message = w->message };

		w->cb(r ? r : &refusal, w->userdata);
		free(w);
		w = next;
	}
}

static void run_end(struct lc_uploader *u, int error, uint64_t retry_after_ms)
{
	struct waiter *w = u->waiters;
	uint64_t delay = 0;

	u->running = false;
	u->req = request_free(u->req);
	u->batch = lc_batch_free(u->batch);
	free(u->upload_url);
	free(u->token);
	u->upload_url = u->token = NULL;
	u->entry_cap = 0;

	u->run.error = error;
	u->run.message = error < 0 ? u->run_message : NULL;
	u->run.remaining = lc_spool_count(u->spool);
	u->last = u->run;
	memcpy(u->last_message, u->run_message, sizeof(u->last_message));
	u->last.message = error < 0 ? u->last_message : NULL;
	u->have_last = true;
	u->last_time_ms = lc_clock_ms(CLOCK_REALTIME);
	u->last_run_end_ms = uv_now(u->loop);
	u->totals.runs++;

	if (error < 0 && error != -EPERM && error != -EDESTADDRREQ && error != -ECANCELED) {
		struct lc_backoff_policy p = {
			.min_ms =
				(uint64_t)lc_config_get_int(u->cfg, "upload.backoff_min_seconds") *
				1000ULL,
			.max_ms =
				(uint64_t)lc_config_get_int(u->cfg, "upload.backoff_max_seconds") *
				1000ULL,
		};

		u->failures++;
		delay = lc_backoff_delay_ms(&p, u->failures, retry_after_ms, random_u32());
		log_warning("Upload failed: %s; retrying in %" PRIu64 " s (failure %u).",
			    u->run_message, delay / 1000, u->failures);
	} else {
		if (error == 0) {
			u->failures = 0;
			if (u->run.entries > 0 || u->run.rejected > 0)
				log_info("Uploaded %" PRIu64 " entr%s (%" PRIu64
					 " bytes) in %" PRIu64 " batch%s%s.",
					 u->run.entries, u->run.entries == 1 ? "y" : "ies",
					 u->run.bytes, u->run.batches,
					 u->run.batches == 1 ? "" : "es",
					 u->run.rejected ? "; some were refused and dropped" : "");
		}
		delay = interval_ms(u);
	}
	if (!u->closing)
		schedule(u, delay);
	if (u->run_done && error < 0 && error != -EPERM && error != -EDESTADDRREQ &&
	    error != -ECANCELED)
		u->run_done(false, u->run_done_userdata);
	else if (u->run_done && error == 0 && u->run.entries > 0)
		u->run_done(true, u->run_done_userdata);

	/* Callbacks last: one may start another run. */
	u->waiters = NULL;
	waiters_answer(w, &u->last);
}

/* Serialises o (reference taken) for a request body; NULL on allocation failure. */
static char *body_from(json_object *o)
{
	char *s = o ? strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) : NULL;

	json_object_put(o);
	return s;
}

static char *api_url(const struct lc_uploader *u, const char *path)
{
	const char *base = lc_config_get_string(u->cfg, "base_url");
	size_t n = strlen(base);
	char *s;

	while (n > 0 && base[n - 1] == '/')
		n--;
	if (asprintf(&s, "%.*s%s", (int)n, base, path) < 0)
		return NULL;
	return s;
}

static void send_api(struct lc_uploader *u, enum lc_upload_step step, const char *path,
		     const char *body)
{
	_cleanup_free_ char *url = api_url(u, path);
	struct request *r;
	int k;

	k = url && body ? request_new(u, step, url, body, &r) : -ENOMEM;
	if (k < 0) {
		run_fail(u, k, 0, "%s: cannot create the request: %s", step_names[step],
			 strerror(-k));
		return;
	}
	start_request(u, r);
}

static void start_device_config(struct lc_uploader *u)
{
	json_object *o = json_object_new_object();
	_cleanup_free_ char *body = NULL;

	if (lc_json_add(o, "device", lc_identity_to_json(u->record->identity)) >= 0)
		body = body_from(TAKE_PTR(o));
	json_object_put(o);
	send_api(u, LC_STEP_DEVICE_CONFIG, "/api/v0/device-config", body);
}

/* Commits a device-config entry confirming the revision now applied. */
static void confirm_revision(struct lc_uploader *u)
{
	struct lc_clock_sample t;
	json_object *meta = json_object_new_object();
	int r;

	lc_clock_sample_now(&t);
	r = lc_json_add(meta, "revision", json_object_new_int64(u->sampling.revision));
	if (r < 0)
		json_object_put(meta);
	else
		r = lc_record_commit(u->spool, u->record, &t, "device-config", meta, NULL);
	if (r < 0) {
		log_warning_errno(r,
				  "Failed to record the confirmation of device configuration "
				  "revision %" PRId64 ": %m",
				  u->sampling.revision);
		return;
	}
	u->sampling.confirmed_revision = u->sampling.revision;
	(void)lc_sampling_save(u->sampling_path, &u->sampling);
}

static void device_config_done(struct lc_uploader *u, struct request *r, bool ok)
{
	struct lc_sampling s;
	const char *why = NULL;

	if (!ok) {
		long status = 0;

		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		log_warning("Fetching the device configuration failed (%s%s%ld); keeping the "
			    "sampling in force and trying again in an hour.",
			    r->errbuf[0] ? r->errbuf : "", r->errbuf[0] ? ", HTTP " : "HTTP ",
			    status);
		u->config_due_ms = uv_now(u->loop) + DEVICE_CONFIG_RETRY_MS;
	} else if (lc_sampling_parse_reply(r->body ? r->body : "", r->len, &u->sampling, &s, &why) <
		   0) {
		log_warning("The device configuration the server sent is not usable (%s); "
			    "keeping the sampling in force.",
			    why);
		u->config_due_ms = uv_now(u->loop) + DEVICE_CONFIG_RETRY_MS;
	} else {
		if (s.debugging != u->sampling.debugging ||
		    s.monitoring != u->sampling.monitoring || s.logging != u->sampling.logging ||
		    s.revision != u->sampling.revision)
			log_info("Fleet sampling (revision %" PRId64
				 "): debugging %s, logging %s, monitoring %s.",
				 s.revision, lc_resolution_name(s.debugging),
				 lc_resolution_name(s.logging), lc_resolution_name(s.monitoring));
		u->sampling = s;
		int k = lc_sampling_save(u->sampling_path, &u->sampling);

		if (k < 0)
			log_warning_errno(k, "Failed to cache the device configuration in %s: %m",
					  u->sampling_path);
		if (lc_sampling_needs_confirmation(&u->sampling))
			confirm_revision(u);
		u->config_due_ms = uv_now(u->loop) + DEVICE_CONFIG_INTERVAL_MS;
	}
	next_batch(u);
}

static void start_prepare(struct lc_uploader *u)
{
	json_object *o = json_object_new_object();
	_cleanup_free_ char *body = NULL;

	if (lc_json_add(o, "kind", json_object_new_string("MAR")) >= 0 &&
	    lc_json_add(o, "size", json_object_new_int64((int64_t)lc_batch_size(u->batch))) >= 0 &&
	    lc_json_add_null(o, "content_encoding") >= 0 &&
	    lc_json_add(o, "device", lc_identity_to_json(u->record->identity)) >= 0)
		body = body_from(TAKE_PTR(o));
	json_object_put(o);
	send_api(u, LC_STEP_PREPARE, "/api/v0/upload", body);
}

static void start_put(struct lc_uploader *u)
{
	struct request *r;
	int k;

	k = lc_batch_rewind(u->batch);
	if (k >= 0)
		k = request_new(u, LC_STEP_PUT, u->upload_url, NULL, &r);
	if (k < 0) {
		run_fail(u, k, 0, "upload: cannot create the request: %s", strerror(-k));
		return;
	}
	start_request(u, r);
}

static void start_commit(struct lc_uploader *u)
{
	json_object *o = lc_identity_to_json(u->record->identity), *file = json_object_new_object();
	_cleanup_free_ char *body = NULL;

	if (lc_json_add(file, "token", json_object_new_string(u->token)) >= 0 &&
	    lc_json_add(o, "file", TAKE_PTR(file)) >= 0)
		body = body_from(TAKE_PTR(o));
	json_object_put(file);
	json_object_put(o);
	send_api(u, LC_STEP_COMMIT, "/api/v0/upload/mar", body);
}

int lc_uploader_parse_prepare(const char *body, char **ret_url, char **ret_token,
			      const char **ret_why)
{
	json_object *root, *data, *url, *token;
	char *s, *t;
	int k = -EBADMSG;

	root = body ? json_tokener_parse(body) : NULL;
	if (!json_object_object_get_ex(root, "data", &data) ||
	    !json_object_object_get_ex(data, "upload_url", &url) ||
	    !json_object_is_type(url, json_type_string) ||
	    !json_object_object_get_ex(data, "token", &token) ||
	    !json_object_is_type(token, json_type_string) ||
	    json_object_get_string_len(token) == 0 || json_object_get_string_len(token) > 4096) {
		*ret_why = "expected {\"data\": {\"upload_url\": ..., \"token\": ...}}";
		goto out;
	}
	/* A \u0000 would cut either short: the token to nothing, the URL to another one. */
	if (strlen(json_object_get_string(url)) != (size_t)json_object_get_string_len(url) ||
	    strlen(json_object_get_string(token)) != (size_t)json_object_get_string_len(token)) {
		*ret_why = "the upload URL or the token holds a NUL character";
		goto out;
	}
	if (!url_allowed(json_object_get_string(url))) {
		*ret_why = "the upload URL is neither https nor loopback http";
		goto out;
	}
	s = strdup(json_object_get_string(url));
	t = strdup(json_object_get_string(token));
	if (!s || !t) {
		free(s);
		free(t);
		k = -ENOMEM;
		*ret_why = "out of memory";
		goto out;
	}
	*ret_url = s;
	*ret_token = t;
	k = 0;
out:
	json_object_put(root);
	return k;
}

/* Reads the upload URL and token from the prepare reply into u. */
static int parse_prepare(struct lc_uploader *u, const struct request *r, const char **ret_why)
{
	char *url, *token;
	int k;

	k = lc_uploader_parse_prepare(r->truncated ? NULL : (r->body ? r->body : ""), &url, &token,
				      ret_why);
	if (k < 0)
		return k;
	free(u->upload_url);
	free(u->token);
	u->upload_url = url;
	u->token = token;
	return 0;
}

/* The batch's entries are accepted: they leave the spool. Returns 0, or -errno when they could
 * not be removed (the run must end: sending them again now would only repeat the failure). */
static int batch_accepted(struct lc_uploader *u)
{
	size_t n = lc_batch_n_entries(u->batch);
	_cleanup_free_ const char **uuids = calloc(n, sizeof(*uuids));
	int k;

	if (!uuids)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		uuids[i] = lc_batch_entry_uuid(u->batch, i);
	u->run.entries += n;
	u->run.bytes += lc_batch_size(u->batch);
	u->run.batches++;
	u->totals.entries += n;
	u->totals.bytes += lc_batch_size(u->batch);
	u->totals.batches++;
	k = lc_spool_remove_many(u->spool, uuids, n, -1);
	u->batch = lc_batch_free(u->batch);
	return MIN(k, 0);
}

/* The server refused the batch for good: split it, or drop the one entry it holds. Returns 0 or
 * the -errno of a failed removal. */
static int batch_refused(struct lc_uploader *u, const struct request *r, long status)
{
	size_t n = lc_batch_n_entries(u->batch);
	char uuid[37];
	int k = 0;

	if (n > 1) {
		u->entry_cap = n / 2;
		log_warning("The server refused a batch of %zu entries (%s: HTTP %ld); sending it "
			    "in smaller batches to find the entry it refuses.",
			    n, step_names[r->step], status);
	} else {
		snprintf(uuid, sizeof(uuid), "%s", lc_batch_entry_uuid(u->batch, 0));
		log_error("The server refused entry %s for good (%s: HTTP %ld): %.*s; dropping "
			  "it.",
			  uuid, step_names[r->step], status,
			  (int)MIN(r->len, (size_t)REJECT_LOG_MAX), r->body ? r->body : "");
		k = lc_spool_remove(u->spool, uuid, LC_DROP_REJECTED);
		if (k == -ENOENT)
			k = 0; /* already evicted */
		u->run.rejected++;
		u->totals.rejected++;
		u->entry_cap = 0;
	}
	u->batch = lc_batch_free(u->batch);
	return k;
}

static void account_bytes(struct lc_uploader *u, CURL *e)
{
	curl_off_t up = 0, down = 0;
	long req = 0, hdr = 0;

	curl_easy_getinfo(e, CURLINFO_SIZE_UPLOAD_T, &up);
	curl_easy_getinfo(e, CURLINFO_SIZE_DOWNLOAD_T, &down);
	curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &req);
	curl_easy_getinfo(e, CURLINFO_HEADER_SIZE, &hdr);
	u->totals.http_bytes_sent += (uint64_t)up + (uint64_t)req;
	u->totals.http_bytes_received += (uint64_t)down + (uint64_t)hdr;
}

/* Retry-After in seconds, as curl parsed it, to milliseconds without overflow. */
static uint64_t retry_after_ms(CURL *e)
{
	curl_off_t secs = 0;

	curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &secs);
	if (secs <= 0)
		return 0;
	return (uint64_t)MIN((uint64_t)secs, LC_RETRY_AFTER_MAX_MS / 1000) * 1000ULL;
}

/* Whether the last request of a (possibly redirected) PUT was still a PUT. (The libcurl meson
 * requires always tells; were it not to, failing every upload would be worse than believing it.) */
static bool put_kept_method(CURL *e)
{
	char *method = NULL;

	if (curl_easy_getinfo(e, CURLINFO_EFFECTIVE_METHOD, &method) != CURLE_OK || !method)
		return true;
	return streq(method, "PUT");
}

static void request_done(struct lc_uploader *u, struct request *r, CURLcode code)
{
	long status = 0;
	enum lc_upload_verdict v;
	const char *why = NULL;
	int k;

	account_bytes(u, r->easy);
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	v = lc_upload_verdict(r->step, code == CURLE_OK, status);
	u->req = NULL;

	if (!consent(u)) {
		request_free(r);
		run_fail(u, -EPERM, 0, "data collection was disabled during the upload");
		return;
	}
	if (r->read_error == -ESTALE || r->read_error == -ENOENT) {
		/* An entry changed or vanished under the batch (another process evicted it). */
		request_free(r);
		u->batch = lc_batch_free(u->batch);
		if (++u->restarts > BATCH_RESTARTS_MAX) {
			run_fail(u, -ESTALE, 0, "entries keep changing while they are sent");
			return;
		}
		(void)lc_spool_refresh(u->spool);
		next_batch(u);
		return;
	}
	if (r->too_long) {
		run_fail(u, -EMSGSIZE, 0, "%s: the reply is longer than 1 MiB (HTTP %ld)",
			 step_names[r->step], status);
		request_free(r);
		return;
	}
	if (code != CURLE_OK) {
		k = r->read_error < 0 ? r->read_error : errno_from_curl(code);
		run_fail(u, k, 0, "%s: %s", step_names[r->step],
			 r->read_error < 0 ? strerror(-r->read_error)
			 : r->errbuf[0]	   ? r->errbuf
					   : curl_easy_strerror(code));
		request_free(r);
		return;
	}
	if (r->step == LC_STEP_PUT && !put_kept_method(r->easy)) {
		/* curl follows a 303 with a GET: its answer says nothing about the batch, and a
		 * 4xx to it would drop the batch. */
		run_fail(u, -EPROTO, 0, "upload: a redirect turned the PUT into a GET (HTTP %ld)",
			 status);
		request_free(r);
		return;
	}
	if (r->step == LC_STEP_DEVICE_CONFIG && v != LC_UPLOAD_OK && status >= 400 &&
	    status != 401 && status != 403) {
		/* A server without fleet sampling (4xx), or too busy to say (408, 429, 5xx): upload
		 * with the sampling in force (the cached configuration); a server that cannot take
		 * the batch either says so at the prepare, with its own backoff. */
		device_config_done(u, r, false);
		request_free(r);
		return;
	}
	switch (v) {
	case LC_UPLOAD_RETRY:
		run_fail(u, -EAGAIN, retry_after_ms(r->easy), "%s: HTTP %ld%s%.*s",
			 step_names[r->step], status, r->len ? ": " : "",
			 (int)MIN(r->len, (size_t)REJECT_LOG_MAX), r->body ? r->body : "");
		break;
	case LC_UPLOAD_REJECT:
		k = batch_refused(u, r, status);
		if (k < 0)
			run_fail(u, k, 0, "cannot drop the refused entry from the spool: %s",
				 strerror(-k));
		else
			next_batch(u);
		break;
	case LC_UPLOAD_OK:
		if (r->step == LC_STEP_DEVICE_CONFIG) {
			device_config_done(u, r, true);
		} else if (r->step == LC_STEP_PREPARE) {
			if (parse_prepare(u, r, &why) < 0)
				run_fail(u, -EBADMSG, 0, "prepare: unusable reply: %s", why);
			else
				start_put(u);
		} else if (r->step == LC_STEP_PUT) {
			start_commit(u);
		} else {
			k = batch_accepted(u);
			if (k < 0)
				run_fail(u, k, 0,
					 "the server has the batch, but removing it from the spool "
					 "failed: %s; it goes again with the next upload",
					 strerror(-k));
			else
				next_batch(u);
		}
		break;
	}
	request_free(r);
}

static void drain_messages(struct lc_uploader *u)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(u->multi, &left))) {
		struct request *r = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r)
			request_done(u, r, m->data.result);
	}
}

/* Packs the next batch from the oldest entries and sends it; ends the run when none is left. */
static void next_batch(struct lc_uploader *u)
{
	uint64_t max = (uint64_t)lc_config_get_int(u->cfg, "upload.max_batch_bytes");
	size_t n = lc_spool_count(u->spool);
	char uuid[37];
	int k, r;

	if (!consent(u)) {
		run_fail(u, -EPERM, 0, "data collection is disabled");
		return;
	}
	u->batch = lc_batch_free(u->batch);
	k = lc_batch_new(lc_spool_dir(u->spool), &u->batch);
	if (k < 0) {
		run_fail(u, k, 0, "cannot create a batch: %s", strerror(-k));
		return;
	}
	for (size_t i = 0; i < n;) {
		const struct lc_spool_entry *e = lc_spool_entry_at(u->spool, i);

		if (u->entry_cap && lc_batch_n_entries(u->batch) >= u->entry_cap)
			break;
		if (!lc_sampling_upload_allows(&u->sampling, e->cls, e->created_ms)) {
			/* Recorded before the fleet's data_upload_start_date: the server does not
			 * want it, now or later. */
			snprintf(uuid, sizeof(uuid), "%s", e->uuid);
			log_info("Spooled %s entry %s was recorded before the fleet's "
				 "data_upload_start_date; dropping it.",
				 e->type, uuid);
			e = NULL;
			r = lc_spool_remove(u->spool, uuid, LC_DROP_AGE);
			if (r < 0 && r != -ENOENT) {
				run_fail(u, r, 0, "cannot drop entry %s: %s", uuid, strerror(-r));
				return;
			}
			n = lc_spool_count(u->spool);
			continue;
		}
		k = lc_batch_add_entry(u->batch, e->name, e->uuid, max);
		if (k == -E2BIG)
			break;
		if (k == 0) {
			i++;
			continue;
		}
		/* The spool calls below may rebuild its index: e does not survive them. */
		snprintf(uuid, sizeof(uuid), "%s", e->uuid);
		e = NULL;
		if (k == -EBADMSG || k == -EFBIG) {
			log_error_errno(k, "Spooled entry %s cannot be sent (%m); dropping it.",
					uuid);
			r = lc_spool_remove(u->spool, uuid, LC_DROP_INVALID);
			if (r < 0 && r != -ENOENT) {
				run_fail(u, r, 0, "cannot drop unsendable entry %s: %s", uuid,
					 strerror(-r));
				return;
			}
			n = lc_spool_count(u->spool);
			continue; /* the next entry moved into slot i */
		}
		if (k == -ENOENT || k == -ESTALE) {
			log_warning_errno(k, "Skipping spooled entry %s for now: %m", uuid);
			(void)lc_spool_refresh(u->spool);
			n = lc_spool_count(u->spool);
			if (++u->restarts > BATCH_RESTARTS_MAX) {
				run_fail(u, k, 0, "cannot read spooled entry %s: %s", uuid,
					 strerror(-k));
				return;
			}
			i = 0;
			u->batch = lc_batch_free(u->batch);
			k = lc_batch_new(lc_spool_dir(u->spool), &u->batch);
			if (k < 0) {
				run_fail(u, k, 0, "cannot create a batch: %s", strerror(-k));
				return;
			}
			continue;
		}
		/* -ENOMEM, -EMFILE and the like: nothing to gain from trying now. */
		run_fail(u, k, 0, "cannot pack spooled entry %s: %s", uuid, strerror(-k));
		return;
	}
	if (lc_batch_n_entries(u->batch) == 0) {
		run_end(u, 0, 0);
		return;
	}
	start_prepare(u);
}

static void run_begin(struct lc_uploader *u)
{
	if (u->running || u->closing)
		return;
	memset(&u->run, 0, sizeof(u->run));
	u->run_message[0] = 0;
	u->restarts = 0;
	u->entry_cap = 0;
	u->next_due_ms = 0;
	uv_timer_stop(&u->due_timer);
	u->running = true;

	if (!consent(u)) {
		run_fail(u, -EPERM, 0, "data collection is disabled");
		return;
	}
	if (unconfigured(u)) {
		run_fail(u, -EDESTADDRREQ, 0, "%s", unconfigured(u));
		return;
	}
	(void)lc_spool_refresh(u->spool);
	(void)lc_spool_expire(u->spool, lc_clock_ms(CLOCK_REALTIME));
	if (u->config_due_ms == 0 || uv_now(u->loop) >= u->config_due_ms) {
		start_device_config(u);
		return;
	}
	next_batch(u);
}

/* Answers the callers of lc_uploader_sync() that were refused, then starts the run the others
 * wait for, unless it runs already (they joined it) or a scheduled run answered them meanwhile. */
static void on_sync(uv_timer_t *t)
{
	struct lc_uploader *u = t->data;

	waiters_answer(TAKE_PTR(u->refused), NULL);
	if (u->waiters)
		run_begin(u);
}

static void on_due(uv_timer_t *t)
{
	struct lc_uploader *u = t->data;

	u->next_due_ms = 0;
	if (!consent(u) || unconfigured(u)) {
		/* Nothing to do now; look again after an interval. */
		schedule(u, interval_ms(u));
		return;
	}
	run_begin(u);
}

/* Schedules the next run in delay_ms; 0 schedules nothing (uploads only on request). */
static void schedule(struct lc_uploader *u, uint64_t delay_ms)
{
	uv_timer_stop(&u->due_timer);
	u->next_due_ms = 0;
	if (delay_ms == 0)
		return;
	/* From now, not from the start of this loop iteration: on a slow device, handling the
	 * reply must not shorten the server's Retry-After. */
	uv_update_time(u->loop);
	u->next_due_ms = uv_now(u->loop) + delay_ms;
	uv_timer_start(&u->due_timer, on_due, delay_ms, 0);
}

/* --- public --- */

int lc_uploader_new(const struct lc_uploader_options *o, struct lc_uploader **ret)
{
	struct lc_uploader *u;
	int k;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->loop = o->loop;
	u->spool = o->spool;
	u->record = o->record;
	u->run_done = o->run_done;
	u->run_done_userdata = o->userdata;
	u->sampling_path = lc_path_prefix(o->state_dir, "/device-config.json");
	u->multi = curl_multi_init();
	k = u->sampling_path && u->multi ? uv_timer_init(u->loop, &u->curl_timer) : -ENOMEM;
	if (k < 0) {
		if (u->multi)
			curl_multi_cleanup(u->multi);
		free(u->sampling_path);
		free(u);
		return k;
	}
	lc_sampling_load(u->sampling_path, &u->sampling);
	curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
	curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, on_curl_timeout);
	curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
	u->curl_timer.data = u;
	u->handles = 1;
	k = uv_timer_init(u->loop, &u->due_timer);
	if (k < 0) {
		curl_multi_cleanup(u->multi);
		u->multi = NULL;
		uv_close((uv_handle_t *)&u->curl_timer, handle_closed);
		return k;
	}
	u->due_timer.data = u;
	u->handles++;
	k = uv_timer_init(u->loop, &u->sync_timer);
	if (k < 0) {
		curl_multi_cleanup(u->multi);
		u->multi = NULL;
		uv_close((uv_handle_t *)&u->curl_timer, handle_closed);
		uv_close((uv_handle_t *)&u->due_timer, handle_closed);
		return k;
	}
	u->sync_timer.data = u;
	u->handles++;
	*ret = u;
	return 0;
}

void lc_uploader_set_config(struct lc_uploader *u, const struct lc_config *cfg)
{
	uint64_t interval;

	u->cfg = cfg;
	if (u->running || u->closing)
		return;
	interval = interval_ms(u);
	if (!u->configured) {
		u->configured = true;
		/* Spool entries may be waiting from before a restart: not too long, not all at
		 * once across the fleet. */
		schedule(u,
			 interval ? MAX(lc_upload_first_delay_ms(interval, random_u32()), 1) : 0);
		return;
	}
	if (u->failures > 0)
		return; /* the backoff keeps its schedule */
	if (interval == 0) {
		schedule(u, 0);
	} else {
		uint64_t now = uv_now(u->loop), due = u->last_run_end_ms + interval;

		schedule(u, due > now ? due - now : 1);
	}
}

int lc_uploader_sync(struct lc_uploader *u, lc_upload_done_t cb, void *userdata)
{
	struct waiter *w;

	if (u->closing)
		return -ECANCELED;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->cb = cb;
	w->userdata = userdata;
	if (!consent(u)) {
		w->error = -EPERM;
		w->message = "data collection is disabled; enable it with "
			     "`faultctl enable-data-collection`";
	} else {
		w->message = unconfigured(u);
		if (w->message)
			w->error = -EDESTADDRREQ;
	}
	if (w->error < 0) {
		w->next = u->refused;
		u->refused = w;
	} else {
		w->next = u->waiters;
		u->waiters = w;
		if (u->running)
			return 0; /* joins the run */
	}
	/* The answer comes from the loop, even one known now: a run can end before it sends
	 * anything (an empty spool). Not restarted when armed already, so that a stream of
	 * requests cannot hold it back; 1 ms, since an answered caller may ask again from the
	 * callback. */
	if (!uv_is_active((uv_handle_t *)&u->sync_timer))
		(void)uv_timer_start(&u->sync_timer, on_sync, 1, 0);
	return 0;
}

const struct lc_sampling *lc_uploader_sampling(const struct lc_uploader *u)
{
	return &u->sampling;
}

static json_object *result_json(const struct lc_upload_result *r, uint64_t time_ms)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	time_t secs = (time_t)(time_ms / 1000);
	struct tm tm;
	char stamp[64] = "";
	int e = 0;

	if (gmtime_r(&secs, &tm))
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	lc_json_add_sticky(o, "time", json_object_new_string(stamp), &e);
	lc_json_add_sticky(o, "result", json_object_new_string(r->error < 0 ? "failed" : "ok"), &e);
	if (r->error < 0)
		lc_json_add_sticky(o, "error", json_object_new_string(r->message), &e);
	lc_json_add_sticky(o, "entries", json_object_new_int64((int64_t)r->entries), &e);
	lc_json_add_sticky(o, "bytes", json_object_new_int64((int64_t)r->bytes), &e);
	lc_json_add_sticky(o, "batches", json_object_new_int64((int64_t)r->batches), &e);
	lc_json_add_sticky(o, "rejected", json_object_new_int64((int64_t)r->rejected), &e);
	return e < 0 ? NULL : TAKE_PTR(o);
}

json_object *lc_uploader_status(const struct lc_uploader *u)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object *s, *t;
	int r = 0;

	lc_json_add_sticky(o, "state", json_object_new_string(u->running ? "uploading" : "idle"),
			   &r);
	if (u->have_last)
		lc_json_add_sticky(o, "last_attempt", result_json(&u->last, u->last_time_ms), &r);
	else
		lc_json_sticky(lc_json_add_null(o, "last_attempt"), &r);
	if (u->next_due_ms) {
		uint64_t now = uv_now(u->loop);
		uint64_t wait_ms = u->next_due_ms > now ? u->next_due_ms - now : 0;

		lc_json_add_sticky(o, "next_attempt_in_seconds",
				   json_object_new_int64((int64_t)(wait_ms / 1000)), &r);
	} else {
		lc_json_sticky(lc_json_add_null(o, "next_attempt_in_seconds"), &r);
	}
	lc_json_add_sticky(o, "consecutive_failures", json_object_new_int64(u->failures), &r);
	s = json_object_new_object();
	lc_json_add_sticky(s, "debugging",
			   json_object_new_string(lc_resolution_name(u->sampling.debugging)), &r);
	lc_json_add_sticky(s, "logging",
			   json_object_new_string(lc_resolution_name(u->sampling.logging)), &r);
	lc_json_add_sticky(s, "monitoring",
			   json_object_new_string(lc_resolution_name(u->sampling.monitoring)), &r);
	if (u->sampling.revision < 0)
		lc_json_sticky(lc_json_add_null(s, "revision"), &r);
	else
		lc_json_add_sticky(s, "revision", json_object_new_int64(u->sampling.revision), &r);
	lc_json_add_sticky(o, "sampling", s, &r);
	t = json_object_new_object();
	lc_json_add_sticky(t, "runs", json_object_new_int64((int64_t)u->totals.runs), &r);
	lc_json_add_sticky(t, "entries", json_object_new_int64((int64_t)u->totals.entries), &r);
	lc_json_add_sticky(t, "bytes", json_object_new_int64((int64_t)u->totals.bytes), &r);
	lc_json_add_sticky(t, "batches", json_object_new_int64((int64_t)u->totals.batches), &r);
	lc_json_add_sticky(t, "rejected", json_object_new_int64((int64_t)u->totals.rejected), &r);
	lc_json_add_sticky(t, "requests", json_object_new_int64((int64_t)u->totals.requests), &r);
	lc_json_add_sticky(t, "http_bytes_sent",
			   json_object_new_int64((int64_t)u->totals.http_bytes_sent), &r);
	lc_json_add_sticky(t, "http_bytes_received",
			   json_object_new_int64((int64_t)u->totals.http_bytes_received), &r);
	lc_json_add_sticky(o, "totals", t, &r);
	/* Whole or not at all, as the contract says. */
	return r < 0 ? NULL : TAKE_PTR(o);
}

void lc_uploader_close(struct lc_uploader *u)
{
	static const struct lc_upload_result canceled = { .error = -ECANCELED,
							  .message = "faultd is stopping" };

	if (!u || u->closing)
		return;
	u->closing = true;
	if (u->running)
		run_fail(u, -ECANCELED, 0, "faultd is stopping");
	/* Callers whose answer was still to come from the loop. */
	waiters_answer(TAKE_PTR(u->refused), &canceled);
	waiters_answer(TAKE_PTR(u->waiters), &canceled);
	/* Cleaning up the multi handle may still report sockets to close. */
	curl_multi_cleanup(u->multi);
	u->multi = NULL;
	/* Whatever curl did not report removed is closed here, or the loop could not end. */
	while (u->socks)
		sock_close(u, u->socks);
	uv_close((uv_handle_t *)&u->curl_timer, handle_closed);
	uv_close((uv_handle_t *)&u->due_timer, handle_closed);
	uv_close((uv_handle_t *)&u->sync_timer, handle_closed);
}
