/* SPDX-License-Identifier: MIT */
/* The control socket's protocol (requests parsed, error names, who is privileged) and its blocking
 * client. See control.h. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "control.h"
#include "fileio.h"
#include "json-util.h"
#include "jsonc.h"
#include "macro.h"

#define REQUEST_MAX_DEPTH 16 /* requests are flat: {"command", "args": {...}} */
#define REPLY_MAX_DEPTH	  64
#define COMMAND_NAME_MAX  64
#define RETRY_MIN_MS	  10 /* the client's first wait after "too many clients" */
#define RETRY_MAX_MS	  500

static const struct {
	int error;
	const char *name;
} errno_names[] = {
	{ EPERM, "EPERM" },
	{ ENOENT, "ENOENT" },
	{ ESRCH, "ESRCH" },
	{ EINTR, "EINTR" },
	{ EIO, "EIO" },
	{ ENXIO, "ENXIO" },
	{ E2BIG, "E2BIG" },
	{ EBADF, "EBADF" },
	{ EAGAIN, "EAGAIN" },
	{ ENOMEM, "ENOMEM" },
	{ EACCES, "EACCES" },
	{ EBUSY, "EBUSY" },
	{ EEXIST, "EEXIST" },
	{ ENODEV, "ENODEV" },
	{ ENOTDIR, "ENOTDIR" },
	{ EISDIR, "EISDIR" },
	{ EINVAL, "EINVAL" },
	{ EFBIG, "EFBIG" },
	{ ENOSPC, "ENOSPC" },
	{ EROFS, "EROFS" },
	{ EPIPE, "EPIPE" },
	{ ERANGE, "ERANGE" },
	{ ENAMETOOLONG, "ENAMETOOLONG" },
	{ ENOSYS, "ENOSYS" },
	{ ENODATA, "ENODATA" },
	{ EPROTO, "EPROTO" },
	{ EBADMSG, "EBADMSG" },
	{ EOVERFLOW, "EOVERFLOW" },
	{ EMSGSIZE, "EMSGSIZE" },
	{ EOPNOTSUPP, "EOPNOTSUPP" },
	{ EADDRINUSE, "EADDRINUSE" },
	{ ENETUNREACH, "ENETUNREACH" },
	{ ECONNRESET, "ECONNRESET" },
	{ ENOTCONN, "ENOTCONN" },
	{ ETIMEDOUT, "ETIMEDOUT" },
	{ ECONNREFUSED, "ECONNREFUSED" },
	{ EHOSTUNREACH, "EHOSTUNREACH" },
	{ EALREADY, "EALREADY" },
	{ EINPROGRESS, "EINPROGRESS" },
	{ ECANCELED, "ECANCELED" },
};

/* Writes the symbolic name of error (positive) into buf, or its number when it has none here. */
const char *lc_control_errno_name(int error, char *buf, size_t size)
{
	for (size_t i = 0; i < ARRAY_SIZE(errno_names); i++)
		if (errno_names[i].error == error)
			return errno_names[i].name;
	snprintf(buf, size, "%d", error);
	return buf;
}

/* JSON's whitespace. Not strchr(" \t\r\n", c), which also matches c == 0. */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool lc_control_command_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > COMMAND_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

int lc_control_parse_request(const char *buf, size_t len, char **ret_command,
			     json_object **ret_args, const char **ret_why)
{
	json_tokener *tok = NULL;
	json_object *req = NULL, *command = NULL, *args = NULL;
	const char *why;
	size_t end;
	char *name;
	int r = -EINVAL;

	if (len > LC_CONTROL_REQUEST_MAX) {
		*ret_why = LC_CONTROL_REQUEST_TOO_BIG;
		return -E2BIG;
	}
	/* A trailing "\r" from a line-oriented tool is whitespace like any other. */
	while (len > 0 && is_blank(buf[len - 1]))
		len--;
	if (len == 0) {
		why = "request is empty";
		goto fail;
	}
	if (memchr(buf, 0, len)) {
		why = "request contains a NUL byte";
		goto fail;
	}

	tok = json_tokener_new_ex(REQUEST_MAX_DEPTH);
	if (!tok) {
		why = "out of memory";
		r = -ENOMEM;
		goto fail;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
					    JSON_TOKENER_VALIDATE_UTF8);
	req = json_tokener_parse_ex(tok, buf, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (!req && json_tokener_get_error(tok) == json_tokener_continue) {
		/* A bare value such as null or 12 ends only at the end of the input: say so. */
		req = json_tokener_parse_ex(tok, "", 1);
		end = len;
	}
	if (!req) {
		switch (json_tokener_get_error(tok)) {
		case json_tokener_error_depth:
			why = "request is nested too deeply";
			break;
		case json_tokener_success:
			/* The literal null parses "successfully" into NULL. */
			why = "request is not a JSON object";
			break;
		default:
			why = "request is not valid JSON";
			break;
		}
		goto fail;
	}
	for (size_t i = end; i < len; i++)
		if (!is_blank(buf[i])) {
			why = "request has data after the JSON object";
			goto fail;
		}
	if (!json_object_is_type(req, json_type_object)) {
		why = "request is not a JSON object";
		goto fail;
	}
	json_object_object_foreach(req, key, val)
	{
		(void)val;
		if (!streq(key, "command") && !streq(key, "args")) {
			why = "request has a member other than \"command\" and \"args\"";
			goto fail;
		}
	}
	if (!json_object_object_get_ex(req, "command", &command)) {
		why = "request has no \"command\"";
		goto fail;
	}
	if (!json_object_is_type(command, json_type_string)) {
		why = "\"command\" is not a string";
		goto fail;
	}
	/* An escaped NUL ("\u0000") would cut the name short where it is read as a C string. */
	if ((size_t)json_object_get_string_len(command) !=
		    strlen(json_object_get_string(command)) ||
	    !lc_control_command_name_valid(json_object_get_string(command))) {
		why = "\"command\" must be 1 to 64 printable characters without spaces";
		goto fail;
	}
	if (json_object_object_get_ex(req, "args", &args)) {
		if (!json_object_is_type(args, json_type_object)) {
			why = "\"args\" is not an object";
			goto fail;
		}
		json_object_get(args);
	} else {
		args = json_object_new_object();
		if (!args) {
			why = "out of memory";
			r = -ENOMEM;
			goto fail;
		}
	}
	name = strdup(json_object_get_string(command));
	if (!name) {
		json_object_put(args);
		why = "out of memory";
		r = -ENOMEM;
		goto fail;
	}

	json_object_put(req);
	json_tokener_free(tok);
	*ret_command = name;
	*ret_args = args;
	return 0;

fail:
	json_object_put(req);
	if (tok)
		json_tokener_free(tok);
	*ret_why = why;
	return r;
}

bool lc_control_peer_privileged(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups,
				uid_t self_uid, gid_t control_group)
{
	if (uid == 0 || uid == self_uid)
		return true;
	if (control_group == (gid_t)-1)
		return false;
	if (gid == control_group)
		return true;
	for (size_t i = 0; i < n_groups; i++)
		if (groups[i] == control_group)
			return true;
	return false;
}

/* Waits until fd is ready for events or the deadline passes (-ETIMEDOUT). */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline - (int64_t)lc_clock_ms(CLOCK_MONOTONIC);
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)MIN(left, (int64_t)INT_MAX));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n > 0)
			return 0;
	}
}

static int connect_deadline(int fd, const struct sockaddr_un *sa, int64_t deadline)
{
	for (;;) {
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EINPROGRESS) {
			socklen_t len = sizeof(int);
			int r, err = 0;

			r = wait_fd(fd, POLLOUT, deadline);
			if (r < 0)
				return r;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				return negative_errno();
			return -err;
		}
		if (errno != EAGAIN)
			return negative_errno();
		/* The listener's backlog is full: Unix sockets do not queue the attempt, retry. */
		if ((int64_t)lc_clock_ms(CLOCK_MONOTONIC) >= deadline)
			return -ETIMEDOUT;
		(void)poll(NULL, 0,
			   (int)MIN(10, MAX(deadline - (int64_t)lc_clock_ms(CLOCK_MONOTONIC),
					    (int64_t)1)));
	}
}

/* Writes all of data; -EPIPE when the server hung up first (its reply may still be readable). */
static int send_all(int fd, const char *data, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		int r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return negative_errno();
			r = wait_fd(fd, POLLOUT, deadline);
			if (r < 0)
				return r;
			continue;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one reply line (without '\n') into a new buffer of *ret_len bytes. */
static int recv_reply(int fd, int64_t deadline, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		ssize_t n;
		int r;

		r = lc_buf_reserve(&buf, &cap, len, max);
		if (r == -EFBIG)
			return -EBADMSG; /* over the limit without a newline */
		if (r < 0)
			return r;

		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				r = wait_fd(fd, POLLIN, deadline);
				if (r < 0)
					return r;
				continue;
			}
			if (errno == ECONNRESET && len > 0)
				break; /* the server closed with our unread request queued */
			return negative_errno();
		}
		if (n == 0) {
			if (len == 0)
				return -ECONNRESET;
			break;
		}
		char *nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl) {
			len = (size_t)(nl - buf);
			break;
		}
	}
	*ret_len = len;
	*ret = TAKE_PTR(buf);
	return 0;
}

/* One connection: sends line, returns the parsed reply in *ret_reply. */
static int request_once(const struct sockaddr_un *sa, const char *line, size_t len,
			int64_t deadline, size_t max_reply, json_object **ret_reply)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *reply_buf = NULL;
	json_object *reply;
	json_tokener *tok;
	size_t reply_len = 0;
	int r, w;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return negative_errno();
	r = connect_deadline(fd, sa, deadline);
	if (r < 0)
		return r;

	w = send_all(fd, line, len, deadline);
	if (w < 0 && w != -EPIPE && w != -ECONNRESET)
		return w;
	/* After a failed write the server may still have explained why (busy, too big). */
	r = recv_reply(fd, deadline, max_reply, &reply_buf, &reply_len);
	if (r < 0)
		return w < 0 ? w : r;

	tok = json_tokener_new_ex(REPLY_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	reply = json_tokener_parse_ex(tok, reply_buf, (int)reply_len);
	if (!reply || json_tokener_get_parse_end(tok) != reply_len ||
	    !json_object_is_type(reply, json_type_object)) {
		json_object_put(reply);
		json_tokener_free(tok);
		return -EBADMSG;
	}
	json_tokener_free(tok);
	*ret_reply = reply;
	return 0;
}

/* True for the server's "too many clients": it turned the connection away unread. */
static bool reply_is_busy(json_object *reply)
{
	json_object *ok, *error;

	return json_object_object_get_ex(reply, "ok", &ok) &&
	       json_object_is_type(ok, json_type_boolean) && !json_object_get_boolean(ok) &&
	       json_object_object_get_ex(reply, "errno", &error) &&
	       json_object_is_type(error, json_type_string) &&
	       streq(json_object_get_string(error), "EBUSY");
}

int lc_control_request(const char *path, const char *command, json_object *args, int timeout_ms,
		       json_object **ret_reply)
{
	return lc_control_request_max(path, command, args, timeout_ms, LC_CONTROL_REPLY_MAX,
				      ret_reply);
}

int lc_control_request_max(const char *path, const char *command, json_object *args, int timeout_ms,
			   size_t max_reply, json_object **ret_reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_free_ char *line = NULL;
	json_object *req, *reply = NULL;
	unsigned delay_ms = RETRY_MIN_MS;
	size_t len;
	int64_t deadline;
	const char *s;
	int r;

	if (!path || !command || !ret_reply || timeout_ms <= 0 || max_reply < 2 ||
	    max_reply > LC_CONTROL_REPLY_MAX)
		return -EINVAL;
	if (args && !json_object_is_type(args, json_type_object))
		return -EINVAL;
	len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len + 1);
	deadline = (int64_t)lc_clock_ms(CLOCK_MONOTONIC) + timeout_ms;

	req = json_object_new_object();
	if (!req)
		return -ENOMEM;
	if (lc_json_add(req, "command", json_object_new_string(command)) < 0 ||
	    (args && lc_json_add(req, "args", json_object_get(args)) < 0)) {
		json_object_put(req);
		return -ENOMEM;
	}
	s = json_object_to_json_string_length(
		req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	line = s ? malloc(len + 1) : NULL;
	if (!line) {
		json_object_put(req);
		return -ENOMEM;
	}
	memcpy(line, s, len);
	line[len] = '\n';
	json_object_put(req);

	/* A busy server read nothing of the request: ask again, backing off, until the deadline. */
	for (;;) {
		r = request_once(&sa, line, len + 1, deadline, max_reply, &reply);
		if (r < 0)
			return r;
		if (!reply_is_busy(reply) ||
		    (int64_t)lc_clock_ms(CLOCK_MONOTONIC) + delay_ms >= deadline)
			break;
		json_object_put(reply);
		reply = NULL;
		(void)poll(NULL, 0, (int)delay_ms);
		delay_ms = MIN(delay_ms * 2, (unsigned)RETRY_MAX_MS);
	}
	*ret_reply = reply;
	return 0;
}
