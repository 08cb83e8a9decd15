/* SPDX-License-Identifier: MIT */
/*
 * The syslog source: datagrams on UDP or on a Unix datagram socket, one message each
 * (syslog-parse.h), read with recvmmsg() in batches when the socket wakes the loop. A burst is
 * read a bounded number of batches at a time; the watch fires again at the loop's next turn for
 * the rest, so that the loop's other work is never starved.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "json-util.h"
#include "log.h"
#include "logs-sources.h"
#include "netaddr.h"
#include "syslog-parse.h"

#define SYSLOG_BATCH		  16
#define SYSLOG_BATCHES_PER_WAKEUP 32

struct logs_syslog {
	struct logs_data *logs;
	struct logs_source *src;
	int fd;
	char *path; /* the Unix socket made, removed at stop; NULL for UDP */
	char address[INET6_ADDRSTRLEN + 16];
	int receive_buffer;
	size_t datagram_max;
	uint64_t truncated;
	char *buffers;
	struct iovec iovs[SYSLOG_BATCH];
	struct mmsghdr msgs[SYSLOG_BATCH];
	struct lc_watch *watch;
};

struct logs_syslog *logs_syslog_stop(struct logs_syslog *s)
{
	if (!s)
		return NULL;
	/* The host releases the watch (before shutdown, and after a failed init, which leaves no
	 * watch on a source that failed to start). */
	safe_close(s->fd);
	if (s->path)
		(void)unlink(s->path);
	free(s->path);
	free(s->buffers);
	free(s);
	return NULL;
}

static void syslog_stopp(struct logs_syslog **s)
{
	logs_syslog_stop(*s);
}

static void syslog_on_readable(struct lc_plugin *p, int fd, unsigned events, int error,
			       void *userdata)
{
	struct logs_syslog *s = userdata;
	struct logs_record rec;
	const char *why;

	if (error < 0) {
		s->src->counts.errors++;
		s->watch = lc_watch_free(s->watch);
		logs_source_set(s->src, LOGS_SOURCE_FAILED, "watching %s failed: %s", s->address,
				strerror(-error));
		lc_plugin_log_errno(p, LOG_ERR, error,
				    "watching %s failed: %m; no more syslog until faultd reloads.",
				    s->address);
		return;
	}
	for (unsigned b = 0; b < SYSLOG_BATCHES_PER_WAKEUP; b++) {
		int n = recvmmsg(s->fd, s->msgs, SYSLOG_BATCH, MSG_DONTWAIT, NULL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				s->src->counts.errors++;
				lc_plugin_log_errno(p, LOG_WARNING, errno,
						    "failed to receive on %s: %m.", s->address);
			}
			return;
		}
		for (int i = 0; i < n; i++) {
			if (s->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
				s->truncated++;
				s->src->counts.cut++;
			}
			if (syslog_parse(s->iovs[i].iov_base, s->msgs[i].msg_len, &rec, &why) ==
			    SYSLOG_MALFORMED)
				s->src->counts.malformed++;
			logs_take(s->logs, s->src, &rec);
		}
		if (n < SYSLOG_BATCH)
			return;
	}
}

/* Binds a Unix datagram socket at path, replacing a socket left there (never another file). */
static int syslog_bind_unix(struct logs_syslog *s, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (unlink(path) < 0)
			return negative_errno();
	}
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return negative_errno();
	s->path = strdup(path);
	if (!s->path)
		return -ENOMEM;
	/* Anyone may log, as through /dev/log. */
	if (chmod(path, 0666) < 0)
		return negative_errno();
	snprintf(s->address, sizeof(s->address), "%s", path);
	return 0;
}

static int syslog_bind_udp(struct logs_syslog *s, const char *listen)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	char bound[INET6_ADDRSTRLEN + 8];
	const char *why;
	int r;

	if (lc_listen_address_parse(listen, &sa, &len, &why) < 0)
		return -EINVAL; /* the schema checked it */
	s->fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return negative_errno();
	if (bind(s->fd, (struct sockaddr *)&sa, len) < 0)
		return negative_errno();
	len = sizeof(sa);
	if (getsockname(s->fd, (struct sockaddr *)&sa, &len) < 0)
		return negative_errno();
	r = lc_listen_address_format(&sa, bound, sizeof(bound));
	if (r < 0)
		return r;
	snprintf(s->address, sizeof(s->address), "udp:%s", bound);
	return 0;
}

int logs_syslog_start(struct logs_data *d, struct logs_source *src, const char *listen,
		      int receive_buffer, size_t datagram_max, struct logs_syslog **ret)
{
	struct lc_plugin *p = logs_plugin(d);
	_cleanup_(syslog_stopp) struct logs_syslog *s = NULL;
	socklen_t len = sizeof(int);
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return log_oom();
	s->logs = d;
	s->src = src;
	s->fd = -1;
	s->datagram_max = datagram_max;
	s->buffers = malloc(SYSLOG_BATCH * datagram_max);
	if (!s->buffers)
		return log_oom();
	for (size_t i = 0; i < SYSLOG_BATCH; i++) {
		s->iovs[i] = (struct iovec){ .iov_base = s->buffers + i * datagram_max,
					     .iov_len = datagram_max };
		s->msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &s->iovs[i], .msg_iovlen = 1 };
	}
	if (strncmp(listen, "udp:", 4) == 0) {
		r = syslog_bind_udp(s, listen + 4);
	} else {
		s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		r = s->fd < 0 ? negative_errno() : syslog_bind_unix(s, listen);
	}
	if (r < 0) {
		const char *why =
			r == -EEXIST ? "a file that is not a socket is in the way" : strerror(-r);

		logs_source_set(src, LOGS_SOURCE_FAILED, "%s: %s", listen, why);
		return lc_plugin_log_errno(p, LOG_ERR, r, "failed to listen for syslog on %s: %s.",
					   listen, why);
	}
	if (receive_buffer > 0 &&
	    setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer, sizeof(int)) < 0 &&
	    setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(int)) < 0)
		lc_plugin_log_errno(p, LOG_WARNING, errno,
				    "failed to set the receive buffer of %s: %m, ignoring.",
				    s->address);
	if (getsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &s->receive_buffer, &len) == 0)
		s->receive_buffer /= 2; /* Linux reports twice what it grants */
	r = lc_plugin_watch_fd(p, s->fd, LC_WATCH_READ, syslog_on_readable, s, &s->watch);
	if (r < 0) {
		logs_source_set(src, LOGS_SOURCE_FAILED, "%s: %s", s->address, strerror(-r));
		return lc_plugin_log_errno(p, LOG_ERR, r, "failed to watch %s: %m", s->address);
	}
	logs_source_set(src, LOGS_SOURCE_RUNNING, "%s", s->address);
	lc_plugin_log(p, LOG_INFO, "receiving syslog on %s.", s->address);
	*ret = TAKE_PTR(s);
	return 0;
}

void logs_syslog_pending(struct logs_syslog *s)
{
	if (s && s->watch)
		syslog_on_readable(logs_plugin(s->logs), s->fd, LC_WATCH_READ, 0, s);
}

int logs_syslog_status_add(const struct logs_syslog *s, json_object *o)
{
	if (lc_json_add(o, "listen", json_object_new_string(s->address)) < 0 ||
	    lc_json_add(o, "receive_buffer_bytes", json_object_new_int(s->receive_buffer)) < 0 ||
	    lc_json_add(o, "truncated", json_object_new_uint64(s->truncated)) < 0)
		return -ENOMEM;
	return 0;
}
