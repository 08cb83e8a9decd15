/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "exec.h"
#include "fileio.h"
#include "macro.h"
#include "uploader-server.h"

#define BODY_MAX	   (16 * 1024 * 1024)
#define CERT_MAX	   (64 * 1024)
#define OPENSSL_TIMEOUT_MS 60000

struct uploader_server {
	struct MHD_Daemon *daemon;
	unsigned port;
	char *ca_path;
	char *key_pem, *cert_pem; /* kept for libmicrohttpd, which borrows them */

	pthread_mutex_t lock;
	unsigned status[4];
	unsigned retry_after[4];
	char refused_uuid[37];
	uint64_t prepared_size[UPLOADER_SERVER_BATCHES_MAX];  /* by token, as the prepare said */
	size_t entries_by_token[UPLOADER_SERVER_BATCHES_MAX]; /* as the PUT carried */
	bool put_done[UPLOADER_SERVER_BATCHES_MAX];
	unsigned next_token;
	struct uploader_server_stats stats;
};

/* One request's body, gathered over the calls of the access handler. */
struct request {
	char *body;
	size_t len, alloc;
	bool too_long;
};

/* The CA, and a certificate it signs for IP 127.0.0.1, each valid for two days. */
static const char make_certs[] =
	"set -e; cd '%s';"
	"printf 'basicConstraints=critical,CA:FALSE\\nextendedKeyUsage=serverAuth\\n"
	"subjectAltName=IP:127.0.0.1\\n' > server.ext;"
	"openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2"
	" -subj /CN=uploader-test-ca -addext basicConstraints=critical,CA:TRUE"
	" -addext keyUsage=critical,keyCertSign,cRLSign -keyout ca.key -out ca.pem 2>&1;"
	"openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
	" -subj /CN=127.0.0.1 -keyout server.key -out server.csr 2>&1;"
	"openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 1 -days 2"
	" -extfile server.ext -out server.pem 2>&1";

static int certificates_make(struct uploader_server *s, const char *dir)
{
	_cleanup_free_ char *command = NULL, *output = NULL, *key = NULL, *cert = NULL;
	int status, r;

	if (strchr(dir, '\'') || asprintf(&command, make_certs, dir) < 0)
		return -EINVAL;
	r = lc_run_capture(command, OPENSSL_TIMEOUT_MS, CERT_MAX, &output, &status);
	if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "making the test certificates failed (%d, status %d): %s\n", r,
			status, output ? output : "");
		return r < 0 ? r : -EIO;
	}
	if (asprintf(&key, "%s/server.key", dir) < 0 || asprintf(&cert, "%s/server.pem", dir) < 0 ||
	    asprintf(&s->ca_path, "%s/ca.pem", dir) < 0)
		return -ENOMEM;
	r = lc_read_file(key, CERT_MAX, &s->key_pem, NULL);
	if (r >= 0)
		r = lc_read_file(cert, CERT_MAX, &s->cert_pem, NULL);
	return r;
}

static void protocol_error(struct uploader_server *s, const char *fmt, ...) _printf_(2, 3);

/* Counts a request that breaks the device API; called with the lock held. */
static void protocol_error(struct uploader_server *s, const char *fmt, ...)
{
	va_list ap;

	s->stats.protocol_errors++;
	va_start(ap, fmt);
	vsnprintf(s->stats.last_protocol_error, sizeof(s->stats.last_protocol_error), fmt, ap);
	va_end(ap);
}

static uint32_t le16(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
	return le16(p) | le16(p + 2) << 16;
}

/* Counts the entries of a batch (its "<uuid>/manifest.json" members, from the ZIP's central
 * directory) and whether one of them is uuid. Returns the count, or -EBADMSG. */
static ssize_t batch_entries(const char *data, size_t len, const char *uuid, bool *ret_has)
{
	const unsigned char *b = (const unsigned char *)data, *eocd = NULL, *p;
	static const char manifest[] = "/manifest.json";
	size_t n, entries = 0;

	*ret_has = false;
	for (size_t i = len >= 22 ? len - 22 : 0; len >= 22; i--) {
		if (le32(b + i) == 0x06054b50) {
			eocd = b + i;
			break;
		}
		if (i == 0)
			break;
	}
	if (!eocd || le32(eocd + 16) > len)
		return -EBADMSG;
	n = le16(eocd + 10);
	p = b + le32(eocd + 16);
	for (size_t i = 0; i < n; i++) {
		size_t name_len, skip;

		if (p + 46 > eocd || le32(p) != 0x02014b50)
			return -EBADMSG;
		name_len = le16(p + 28);
		skip = 46 + name_len + le16(p + 30) + le16(p + 32);
		if (p + skip > eocd)
			return -EBADMSG;
		if (name_len > strlen(manifest) &&
		    memcmp(p + 46 + name_len - strlen(manifest), manifest, strlen(manifest)) == 0) {
			entries++;
			if (uuid && name_len == 36 + strlen(manifest) &&
			    memcmp(p + 46, uuid, 36) == 0)
				*ret_has = true;
		}
		p += skip;
	}
	return (ssize_t)entries;
}

/* Queues the reply: status, a JSON body, and Retry-After unless retry_after is 0. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
			     unsigned retry_after)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char retry[32];

	r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	if (retry_after > 0) {
		snprintf(retry, sizeof(retry), "%u", retry_after);
		MHD_add_response_header(r, "Retry-After", retry);
	}
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A batch's number, as in its upload URL "/put/<n>", or -1. */
static int batch_number(const char *s)
{
	char *end;
	long n;

	if (!s || s[0] < '0' || s[0] > '9')
		return -1;
	n = strtol(s, &end, 10);
	if (*end || n >= UPLOADER_SERVER_BATCHES_MAX)
		return -1;
	return (int)n;
}

/* The batch number of a token, "t<n>", or -1. */
static int token_number(const char *token)
{
	return token && token[0] == 't' ? batch_number(token + 1) : -1;
}

/* Answers a complete request; called with the lock held. */
static enum MHD_Result answer(struct uploader_server *s, struct MHD_Connection *c, const char *url,
			      const char *method, struct request *q)
{
	const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Memfault-Project-Key");
	bool api = strncmp(url, "/api/", 5) == 0;
	enum lc_upload_step step;
	json_object *o = NULL, *v, *file;
	char body[512];
	unsigned status;
	int n;

	if (streq(url, "/api/v0/device-config") && streq(method, "POST"))
		step = LC_STEP_DEVICE_CONFIG;
	else if (streq(url, "/api/v0/upload") && streq(method, "POST"))
		step = LC_STEP_PREPARE;
	else if (streq(url, "/api/v0/upload/mar") && streq(method, "POST"))
		step = LC_STEP_COMMIT;
	else if (strncmp(url, "/put/", 5) == 0 && streq(method, "PUT"))
		step = LC_STEP_PUT;
	else {
		protocol_error(s, "%s %s: no such resource", method, url);
		return reply(c, 404, "{}", 0);
	}
	s->stats.requests[step]++;
	if (api && !streq_ptr(key, UPLOADER_SERVER_PROJECT_KEY))
		protocol_error(s, "%s: project key \"%s\"", url, key ? key : "(none)");
	if (!api && key)
		protocol_error(s, "%s: a project key sent with the PUT", url);
	if (q->too_long) {
		protocol_error(s, "%s: a body of more than %d bytes", url, BODY_MAX);
		return reply(c, 413, "{}", 0);
	}
	if (api) {
		o = json_tokener_parse(q->body ? q->body : "");
		if (!json_object_is_type(o, json_type_object))
			protocol_error(s, "%s: the body is not a JSON object", url);
	}
	status = s->status[step];

	switch (step) {
	case LC_STEP_DEVICE_CONFIG:
		json_object_put(o);
		return reply(c, status ? status : 404, "{\"error\": \"no fleet sampling\"}",
			     s->retry_after[step]);
	case LC_STEP_PREPARE:
		n = (int)s->next_token;
		if (status || n >= UPLOADER_SERVER_BATCHES_MAX) {
			json_object_put(o);
			return reply(c, status ? status : 503, "{\"error\": \"prepare\"}",
				     s->retry_after[step]);
		}
		s->next_token++;
		if (!json_object_object_get_ex(o, "size", &v) || json_object_get_int64(v) <= 0)
			protocol_error(s, "prepare without a size");
		s->prepared_size[n] = (uint64_t)json_object_get_int64(v);
		json_object_put(o);
		snprintf(body, sizeof(body),
			 "{\"data\": {\"upload_url\": \"https://127.0.0.1:%u/put/%d\", \"token\": "
			 "\"t%d\"}}",
			 s->port, n, n);
		return reply(c, 200, body, 0);
	case LC_STEP_PUT: {
		bool has = false;
		ssize_t entries;

		n = batch_number(url + strlen("/put/"));
		entries = batch_entries(q->body, q->len,
					s->refused_uuid[0] ? s->refused_uuid : NULL, &has);
		if (entries < 0)
			protocol_error(s, "PUT %s: not a ZIP archive", url);
		if (n < 0 || n >= UPLOADER_SERVER_BATCHES_MAX || q->len != s->prepared_size[n])
			protocol_error(s, "PUT %s: %zu bytes, prepared for %" PRIu64, url, q->len,
				       n >= 0 && n < UPLOADER_SERVER_BATCHES_MAX
					       ? s->prepared_size[n]
					       : 0);
		if (s->stats.puts < UPLOADER_SERVER_BATCHES_MAX) {
			s->stats.put_entries[s->stats.puts] = entries < 0 ? 0 : (size_t)entries;
			s->stats.put_bytes[s->stats.puts] = q->len;
		}
		s->stats.puts++;
		if (has) {
			s->stats.refused++;
			return reply(c, 400, "{\"error\": \"an entry is refused\"}", 0);
		}
		if (status)
			return reply(c, status, "{\"error\": \"put\"}", s->retry_after[step]);
		if (n >= 0 && n < UPLOADER_SERVER_BATCHES_MAX) {
			s->entries_by_token[n] = entries < 0 ? 0 : (size_t)entries;
			s->put_done[n] = true;
		}
		return reply(c, 200, "{}", 0);
	}
	case LC_STEP_COMMIT:
		if (!json_object_object_get_ex(o, "file", &file) ||
		    !json_object_object_get_ex(file, "token", &v))
			protocol_error(s, "commit without file.token");
		n = token_number(json_object_get_string(v));
		if (n < 0 || !s->put_done[n])
			protocol_error(s, "commit of token %s, not uploaded",
				       json_object_get_string(v));
		json_object_put(o);
		if (status)
			return reply(c, status, "{\"error\": \"commit\"}", s->retry_after[step]);
		if (n >= 0) {
			s->stats.commits++;
			s->stats.committed_entries += s->entries_by_token[n];
			s->put_done[n] = false;
		}
		return reply(c, 200, "{}", 0);
	}
	return MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct uploader_server *s = cls;
	struct request *q = *con_cls;
	enum MHD_Result ret;

	if (!q) {
		q = calloc(1, sizeof(*q));
		*con_cls = q;
		return q ? MHD_YES : MHD_NO;
	}
	if (*upload_data_size > 0) {
		size_t need = q->len + *upload_data_size + 1;

		if (need > BODY_MAX) {
			q->too_long = true;
		} else {
			if (need > q->alloc) {
				char *b = realloc(q->body, MAX(need, q->alloc * 2));

				if (!b)
					return MHD_NO;
				q->body = b;
				q->alloc = MAX(need, q->alloc * 2);
			}
			memcpy(q->body + q->len, upload_data, *upload_data_size);
			q->len += *upload_data_size;
			q->body[q->len] = 0;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&s->lock);
	ret = answer(s, c, url, method, q);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *q = *con_cls;

	if (q)
		free(q->body);
	free(q);
	*con_cls = NULL;
}

int uploader_server_new(const char *dir, struct uploader_server **ret)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	const union MHD_DaemonInfo *info;
	struct uploader_server *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	r = certificates_make(s, dir);
	if (r < 0) {
		uploader_server_free(s);
		return r;
	}
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		on_request, s, MHD_OPTION_SOCK_ADDR, &sin, MHD_OPTION_HTTPS_MEM_KEY, s->key_pem,
		MHD_OPTION_HTTPS_MEM_CERT, s->cert_pem, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
		s, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	if (!s->daemon) {
		fprintf(stderr, "libmicrohttpd did not start a TLS server\n");
		uploader_server_free(s);
		return -EIO;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	if (s->port == 0) {
		uploader_server_free(s);
		return -EADDRNOTAVAIL;
	}
	*ret = s;
	return 0;
}

struct uploader_server *uploader_server_free(struct uploader_server *s)
{
	if (!s)
		return NULL;
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	pthread_mutex_destroy(&s->lock);
	free(s->ca_path);
	free(s->key_pem);
	free(s->cert_pem);
	free(s);
	return NULL;
}

unsigned uploader_server_port(const struct uploader_server *s)
{
	return s->port;
}

const char *uploader_server_ca(const struct uploader_server *s)
{
	return s->ca_path;
}

void uploader_server_answer(struct uploader_server *s, enum lc_upload_step step, unsigned status,
			    unsigned retry_after_seconds)
{
	pthread_mutex_lock(&s->lock);
	s->status[step] = status;
	s->retry_after[step] = retry_after_seconds;
	pthread_mutex_unlock(&s->lock);
}

void uploader_server_refuse_entry(struct uploader_server *s, const char *uuid)
{
	pthread_mutex_lock(&s->lock);
	snprintf(s->refused_uuid, sizeof(s->refused_uuid), "%s", uuid ? uuid : "");
	pthread_mutex_unlock(&s->lock);
}

void uploader_server_stats(struct uploader_server *s, struct uploader_server_stats *ret)
{
	pthread_mutex_lock(&s->lock);
	*ret = s->stats;
	pthread_mutex_unlock(&s->lock);
}

void uploader_server_reset_stats(struct uploader_server *s)
{
	pthread_mutex_lock(&s->lock);
	memset(&s->stats, 0, sizeof(s->stats));
	memset(s->prepared_size, 0, sizeof(s->prepared_size));
	memset(s->put_done, 0, sizeof(s->put_done));
	s->next_token = 0;
	pthread_mutex_unlock(&s->lock);
}
