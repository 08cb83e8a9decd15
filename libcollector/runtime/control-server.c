/* SPDX-License-Identifier: MIT */
/*
 * The control socket server, on the libuv loop. See control-server.h; the protocol and the
 * client are control.h.
 *
 * Lifetimes: the server, each client and each call are separate allocations. A client is freed
 * once both of its handles (pipe and timer) have closed; the server once its listener and every
 * client are gone. A call outlives its client when the client goes away first: the call then
 * only remembers that its answer goes nowhere, and is freed by lc_control_call_reply()/_fail().
 *
 * Replies are written with uv_write(), which uses write(2): a peer that hangs up before its reply
 * raises SIGPIPE, so the process must ignore SIGPIPE (faultd does, like every libuv program).
 */
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "control-server.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "text.h"

/* The phrase below is static, so it spells the limit out; keep them in step. */
_Static_assert(LC_CONTROL_REQUEST_MAX == 65536, "update the \"request exceeds\" phrase");

#define PEER_GROUPS_MAX	   65536 /* the kernel's NGROUPS_MAX */
#define GROUP_NAME_BUF_MAX (64 * 1024)
#define FAIL_MESSAGE_MAX   1024
#define READ_CHUNK	   4096

struct registration {
	const struct lc_control_command *cmds;
	size_t n;
	void *userdata;
};

struct client;

struct lc_control {
	uv_loop_t *loop;
	char *path;
	gid_t group;
	char *group_name; /* for refusal messages; NULL when group is (gid_t)-1 */
	unsigned timeout_ms;
	unsigned max_clients;
	uid_t self_uid;

	struct registration *regs;
	size_t n_regs;

	uv_pipe_t listener;
	bool listener_initialized; /* uv_pipe_init() ran: the listener must be closed */
	bool listener_closed;	   /* its close callback ran */
	bool bound;		   /* the socket file at path is ours to unlink */
	bool closing;		   /* lc_control_close() was called */

	struct client *clients; /* every client not yet freed, including those closing */
	unsigned n_served;	/* clients counted against max_clients */
};

enum client_state {
	CLIENT_READING, /* waiting for the request line; the timer runs */
	CLIENT_CALLING, /* a handler holds a call; no timer */
	CLIENT_WRITING, /* the reply is being written; the timer runs again */
	CLIENT_CLOSING, /* handles are closing */
};

struct client {
	struct lc_control *ctl;
	struct client *prev, *next;
	enum client_state state;
	bool served; /* counted in ctl->n_served */
	unsigned handles_open;

	uv_pipe_t pipe;
	uv_timer_t timer;
	uv_write_t write_req;
	char *reply; /* serialized reply plus '\n', owned until the client is freed */

	char *buf; /* request bytes received so far, at most LC_CONTROL_REQUEST_MAX + 1 */
	size_t len, cap;

	struct ucred cred;
	gid_t *groups;
	size_t n_groups;

	struct lc_control_call *call; /* the call waiting for an answer, if any */
};

struct lc_control_call {
	struct client *client; /* NULL once the client or the server went away */
	uid_t uid;
	pid_t pid;
};

/* Looks a group up by name (when name is not NULL) or else by gid, growing the buffer while
 * getgr*_r asks for more. Returns 0 with *ret_gid and/or *ret_name (owned), -ENOENT for no
 * such group, or -errno. */
static int group_lookup(const char *name, gid_t gid, gid_t *ret_gid, char **ret_name)
{
	long hint = sysconf(_SC_GETGR_R_SIZE_MAX);
	size_t size = hint > 0 ? (size_t)hint : 1024;

	for (;;) {
		_cleanup_free_ char *buf = malloc(size);
		struct group grp, *result = NULL;
		int r;

		if (!buf)
			return -ENOMEM;
		if (name)
			r = getgrnam_r(name, &grp, buf, size, &result);
		else
			r = getgrgid_r(gid, &grp, buf, size, &result);
		if (r == ERANGE && size < GROUP_NAME_BUF_MAX) {
			size *= 2;
			continue;
		}
		if (r != 0)
			return -r;
		if (!result)
			return -ENOENT;
		if (ret_name) {
			*ret_name = strdup(result->gr_name);
			if (!*ret_name)
				return -ENOMEM;
		}
		if (ret_gid)
			*ret_gid = result->gr_gid;
		return 0;
	}
}

/* The name of gid as a new string, or NULL when it has none (or on OOM). */
static char *group_name(gid_t gid)
{
	char *name = NULL;

	return group_lookup(NULL, gid, NULL, &name) < 0 ? NULL : name;
}

int lc_control_group_from_name(const char *name, gid_t *ret)
{
	return group_lookup(name, 0, ret, NULL);
}

int lc_control_new(uv_loop_t *loop, const struct lc_control_options *opts, struct lc_control **ret)
{
	struct lc_control *ctl;

	if (!loop || !opts || !opts->path || !opts->path[0] || !ret)
		return -EINVAL;

	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return log_oom();
	ctl->loop = loop;
	ctl->group = opts->group;
	ctl->timeout_ms = opts->timeout_ms ? opts->timeout_ms : LC_CONTROL_TIMEOUT_MS;
	ctl->max_clients = opts->max_clients ? opts->max_clients : LC_CONTROL_MAX_CLIENTS;
	ctl->self_uid = geteuid();
	ctl->path = strdup(opts->path);
	if (!ctl->path) {
		free(ctl);
		return log_oom();
	}
	if (ctl->group != (gid_t)-1) {
		/* Resolved once here so that a refusal never waits on NSS inside the loop. */
		ctl->group_name = group_name(ctl->group);
		if (!ctl->group_name && asprintf(&ctl->group_name, "%u", (unsigned)ctl->group) < 0)
			ctl->group_name = NULL;
		if (!ctl->group_name) {
			free(ctl->path);
			free(ctl);
			return log_oom();
		}
	}
	*ret = ctl;
	return 0;
}

static const struct lc_control_command *find_command(const struct lc_control *ctl, const char *name,
						     void **ret_userdata)
{
	for (size_t i = 0; i < ctl->n_regs; i++)
		for (size_t j = 0; j < ctl->regs[i].n; j++)
			if (streq(ctl->regs[i].cmds[j].name, name)) {
				if (ret_userdata)
					*ret_userdata = ctl->regs[i].userdata;
				return &ctl->regs[i].cmds[j];
			}
	return NULL;
}

int lc_control_register(struct lc_control *ctl, const struct lc_control_command *cmds, size_t n,
			void *userdata)
{
	struct registration *regs;

	if (!ctl || (!cmds && n > 0))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!cmds[i].name || !cmds[i].handler ||
		    !lc_control_command_name_valid(cmds[i].name))
			return -EINVAL;
		if (streq(cmds[i].name, "help") || find_command(ctl, cmds[i].name, NULL))
			return -EEXIST;
		for (size_t j = 0; j < i; j++)
			if (streq(cmds[i].name, cmds[j].name))
				return -EEXIST;
	}

	regs = reallocarray(ctl->regs, ctl->n_regs + 1, sizeof(*regs));
	if (!regs)
		return log_oom();
	regs[ctl->n_regs++] = (struct registration){ cmds, n, userdata };
	ctl->regs = regs;
	return 0;
}

static void control_free(struct lc_control *ctl)
{
	free(ctl->regs);
	free(ctl->group_name);
	free(ctl->path);
	free(ctl);
}

/* Frees ctl when lc_control_close() was called and libuv has released every handle. */
static void control_maybe_free(struct lc_control *ctl)
{
	if (!ctl->closing || ctl->clients)
		return;
	if (ctl->listener_initialized && !ctl->listener_closed)
		return;
	control_free(ctl);
}

static void client_handle_closed(uv_handle_t *handle)
{
	struct client *c = handle->data;
	struct lc_control *ctl = c->ctl;

	if (--c->handles_open > 0)
		return;

	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;

	free(c->reply);
	free(c->buf);
	free(c->groups);
	free(c);
	control_maybe_free(ctl);
}

/* Starts closing c; a call still held by a handler is detached and will be answered into the
 * void. Idempotent. */
static void client_close(struct client *c)
{
	if (c->state == CLIENT_CLOSING)
		return;
	c->state = CLIENT_CLOSING;
	if (c->served) {
		c->served = false;
		c->ctl->n_served--;
	}
	if (c->call) {
		c->call->client = NULL;
		c->call = NULL;
	}
	uv_close((uv_handle_t *)&c->pipe, client_handle_closed);
	uv_close((uv_handle_t *)&c->timer, client_handle_closed);
}

static void client_timeout(uv_timer_t *timer);

static void client_write_done(uv_write_t *req, int status)
{
	struct client *c = req->data;

	if (status < 0 && status != UV_ECANCELED)
		log_debug("Control: could not send the reply to pid %d: %s", (int)c->cred.pid,
			  uv_strerror(status));
	client_close(c);
}

static json_object *error_reply(int error, const char *message)
{
	char num[16];
	json_object *reply = json_object_new_object();

	if (!reply)
		return NULL;
	if (error < 0)
		error = -error;
	if (lc_json_add(reply, "ok", json_object_new_boolean(false)) < 0 ||
	    lc_json_add(reply, "error", json_object_new_string(message)) < 0 ||
	    lc_json_add(reply, "errno",
			json_object_new_string(lc_control_errno_name(error, num, sizeof(num)))) <
		    0) {
		json_object_put(reply);
		return NULL;
	}
	return reply;
}

/* Serializes reply and writes it to c, which is closed once the write completes. Takes
 * ownership of reply. */
static void client_send(struct client *c, json_object *reply)
{
	const char *s;
	size_t len = 0;
	uv_buf_t buf;
	int r;

	if (c->state == CLIENT_CLOSING || c->state == CLIENT_WRITING) {
		json_object_put(reply);
		return;
	}

	s = reply ? json_object_to_json_string_length(
			    reply, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len)
		  : NULL;
	if (s && len + 1 > LC_CONTROL_REPLY_MAX) {
		char msg[128];

		log_warning("Control: reply of %zu bytes exceeds the limit of %d bytes, sending an "
			    "error instead",
			    len, LC_CONTROL_REPLY_MAX);
		snprintf(msg, sizeof(msg), "reply of %zu bytes exceeds the limit of %d bytes", len,
			 LC_CONTROL_REPLY_MAX);
		json_object_put(reply);
		reply = error_reply(EMSGSIZE, msg);
		s = reply ? json_object_to_json_string_length(reply, JSON_C_TO_STRING_PLAIN, &len)
			  : NULL;
	}
	if (!s) {
		json_object_put(reply);
		log_oom();
		client_close(c);
		return;
	}

	c->reply = malloc(len + 1);
	if (!c->reply) {
		json_object_put(reply);
		log_oom();
		client_close(c);
		return;
	}
	memcpy(c->reply, s, len);
	c->reply[len] = '\n';
	json_object_put(reply);

	/* The timer now bounds the write: a peer that never reads cannot hold the slot. */
	c->state = CLIENT_WRITING;
	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_timer_start(&c->timer, client_timeout, c->ctl->timeout_ms, 0);

	buf = uv_buf_init(c->reply, (unsigned)(len + 1));
	c->write_req.data = c;
	r = uv_write(&c->write_req, (uv_stream_t *)&c->pipe, &buf, 1, client_write_done);
	if (r < 0) {
		log_debug("Control: could not send the reply to pid %d: %s", (int)c->cred.pid,
			  uv_strerror(r));
		client_close(c);
	}
}

static void client_fail(struct client *c, int error, const char *message)
{
	client_send(c, error_reply(error, message));
}

/* Sends {"ok": true, "data": data}; takes ownership of data (NULL: {}). */
static void send_ok(struct client *c, json_object *data)
{
	_cleanup_json_ json_object *d = data ?: json_object_new_object();
	json_object *reply = json_object_new_object();

	if (lc_json_add(reply, "ok", json_object_new_boolean(true)) < 0 ||
	    lc_json_add(reply, "data", TAKE_PTR(d)) < 0) {
		json_object_put(reply);
		log_oom();
		client_fail(c, ENOMEM, "out of memory");
		return;
	}
	client_send(c, reply);
}

static void client_timeout(uv_timer_t *timer)
{
	struct client *c = timer->data;

	if (c->state == CLIENT_READING) {
		log_notice("Control: pid %d sent no complete request within %u ms",
			   (int)c->cred.pid, c->ctl->timeout_ms);
		client_fail(c, ETIMEDOUT, "timed out waiting for the request");
	} else {
		log_debug("Control: pid %d did not take its reply within %u ms, dropping it",
			  (int)c->cred.pid, c->ctl->timeout_ms);
		client_close(c);
	}
}

static void reply_help(struct client *c)
{
	json_object *data = json_object_new_object(), *list = json_object_new_array();

	if (lc_json_add(data, "commands", list) < 0)
		goto oom;
	/* list is owned by data from here on. */
	for (size_t i = 0; i < c->ctl->n_regs; i++)
		for (size_t j = 0; j < c->ctl->regs[i].n; j++) {
			const struct lc_control_command *cmd = &c->ctl->regs[i].cmds[j];
			json_object *o = json_object_new_object();

			if (!o || json_object_array_add(list, o) < 0) {
				json_object_put(o);
				goto oom;
			}
			if (lc_json_add(o, "name", json_object_new_string(cmd->name)) < 0 ||
			    lc_json_add(o, "privileged", json_object_new_boolean(cmd->privileged)) <
				    0 ||
			    lc_json_add(o, "summary", json_object_new_string(cmd->summary ?: "")) <
				    0)
				goto oom;
		}
	send_ok(c, data);
	return;
oom:
	json_object_put(data);
	log_oom();
	client_fail(c, ENOMEM, "out of memory");
}

static void refuse(struct client *c, const char *name)
{
	const struct lc_control *ctl = c->ctl;
	char msg[256];

	log_warning("Control: refused '%s' from uid %u pid %d: not privileged", name,
		    (unsigned)c->cred.uid, (int)c->cred.pid);
	if (ctl->group_name)
		snprintf(msg, sizeof(msg),
			 "permission denied: '%s' changes state and needs root or membership in "
			 "group '%s'",
			 name, ctl->group_name);
	else
		snprintf(msg, sizeof(msg), "permission denied: '%s' changes state and needs root",
			 name);
	client_fail(c, EPERM, msg);
}

/* Handles the complete request in c->buf[0..len). */
static void client_dispatch(struct client *c, size_t len)
{
	struct lc_control *ctl = c->ctl;
	const struct lc_control_command *cmd;
	_cleanup_free_ char *name = NULL;
	struct lc_control_call *call;
	json_object *args = NULL;
	const char *why = NULL;
	void *userdata = NULL;
	char msg[128];
	int r;

	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_timer_stop(&c->timer);

	r = lc_control_parse_request(c->buf, len, &name, &args, &why);
	if (r < 0) {
		log_debug("Control: bad request from pid %d: %s", (int)c->cred.pid, why);
		client_fail(c, r, why);
		return;
	}

	if (streq(name, "help")) {
		json_object_put(args);
		reply_help(c);
		return;
	}

	cmd = find_command(ctl, name, &userdata);
	if (!cmd) {
		json_object_put(args);
		log_debug("Control: unknown command '%s' from pid %d", name, (int)c->cred.pid);
		snprintf(msg, sizeof(msg), "unknown command '%s'", name);
		client_fail(c, EOPNOTSUPP, msg);
		return;
	}

	if (cmd->privileged) {
		if (!lc_control_peer_privileged(c->cred.uid, c->cred.gid, c->groups, c->n_groups,
						ctl->self_uid, ctl->group)) {
			json_object_put(args);
			refuse(c, name);
			return;
		}
		log_info("Control: '%s' requested by uid %u pid %d", name, (unsigned)c->cred.uid,
			 (int)c->cred.pid);
	} else {
		log_debug("Control: '%s' requested by uid %u pid %d", name, (unsigned)c->cred.uid,
			  (int)c->cred.pid);
	}

	call = calloc(1, sizeof(*call));
	if (!call) {
		json_object_put(args);
		log_oom();
		client_fail(c, ENOMEM, "out of memory");
		return;
	}
	call->client = c;
	call->uid = c->cred.uid;
	call->pid = c->cred.pid;
	c->call = call;
	c->state = CLIENT_CALLING;

	/* The handler may answer now or later, or close the server; c stays allocated until its
	 * close callbacks run, which cannot happen before we return to the loop. */
	cmd->handler(call, args, userdata);
	json_object_put(args);
}

static void client_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	struct client *c = handle->data;

	if (c->len == c->cap) {
		size_t cap = MIN(MAX(c->cap * 2, (size_t)READ_CHUNK),
				 (size_t)LC_CONTROL_REQUEST_MAX + 1);
		char *p = cap > c->cap ? realloc(c->buf, cap) : NULL;

		if (!p) {
			/* libuv reports UV_ENOBUFS to client_read. */
			*buf = uv_buf_init(NULL, 0);
			return;
		}
		c->buf = p;
		c->cap = cap;
	}
	*buf = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void client_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct client *c = stream->data;
	const char *nl;

	if (c->state != CLIENT_READING)
		return;

	if (nread == UV_EOF) {
		if (c->len > 0)
			client_dispatch(c, c->len);
		else
			client_close(c);
		return;
	}
	if (nread < 0) {
		log_debug("Control: reading from pid %d failed: %s", (int)c->cred.pid,
			  uv_strerror((int)nread));
		client_close(c);
		return;
	}
	if (nread == 0)
		return;

	nl = memchr(c->buf + c->len, '\n', (size_t)nread);
	c->len += (size_t)nread;
	if (nl) {
		client_dispatch(c, (size_t)(nl - c->buf));
		return;
	}
	if (c->len > LC_CONTROL_REQUEST_MAX) {
		uv_read_stop(stream);
		log_notice("Control: request from pid %d exceeds %d bytes", (int)c->cred.pid,
			   LC_CONTROL_REQUEST_MAX);
		client_fail(c, E2BIG, LC_CONTROL_REQUEST_TOO_BIG);
	}
}

/* Reads the peer's supplementary groups; none when the kernel predates SO_PEERGROUPS. */
static int peer_groups(int fd, gid_t **ret, size_t *ret_n)
{
#ifdef SO_PEERGROUPS
	socklen_t len = 32 * sizeof(gid_t);

	for (;;) {
		_cleanup_free_ gid_t *groups = malloc(len);
		socklen_t got = len;

		if (!groups)
			return -ENOMEM;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &got) == 0) {
			*ret_n = got / sizeof(gid_t);
			*ret = TAKE_PTR(groups);
			return 0;
		}
		if (errno == ERANGE && got > len && got <= PEER_GROUPS_MAX * sizeof(gid_t)) {
			len = got;
			continue;
		}
		if (errno != ENOPROTOOPT && errno != ERANGE)
			return negative_errno();
		break;
	}
#endif
	*ret = NULL;
	*ret_n = 0;
	return 0;
}

static int client_credentials(struct client *c)
{
	socklen_t len = sizeof(c->cred);
	uv_os_fd_t fd;
	int r;

	r = uv_fileno((uv_handle_t *)&c->pipe, &fd);
	if (r < 0)
		return r;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) < 0)
		return negative_errno();
	if (len != sizeof(c->cred))
		return -EIO;
	r = peer_groups(fd, &c->groups, &c->n_groups);
	if (r < 0) {
		/* Without the list the peer can still qualify by uid or primary group. */
		log_debug_errno(r, "Control: cannot read the groups of pid %d, ignoring: %m",
				(int)c->cred.pid);
		c->groups = NULL;
		c->n_groups = 0;
	}
	return 0;
}

/* How many of the clients counted against max_clients belong to uid. */
static unsigned clients_of(const struct lc_control *ctl, uid_t uid)
{
	unsigned n = 0;

	for (const struct client *c = ctl->clients; c; c = c->next)
		if (c->served && c->cred.uid == uid)
			n++;
	return n;
}

/*
 * At max_clients, the client a newcomer of uid may take the place of: the oldest one still
 * waiting for its request among those of the user holding the most places, when that user holds
 * more than uid does. So one user's idle connections cannot lock the others out, while a user who
 * fills every place with its own cannot push anyone out. NULL: turn the newcomer away.
 * Quadratic in max_clients, but only while the places are full and only for a newcomer who holds
 * fewer than half of them.
 */
static struct client *idle_client_to_drop(const struct lc_control *ctl, uid_t uid)
{
	unsigned mine = clients_of(ctl, uid), most = mine;
	struct client *victim = NULL;

	if (mine * 2 >= ctl->n_served)
		return NULL; /* nobody can hold more */
	/* Newest first: on a tie, a later (older) client wins. */
	for (struct client *c = ctl->clients; c; c = c->next) {
		unsigned n;

		if (!c->served || c->state != CLIENT_READING || c->cred.uid == uid)
			continue;
		n = clients_of(ctl, c->cred.uid);
		if (n > mine && n >= most) {
			most = n;
			victim = c;
		}
	}
	return victim;
}

/*
 * Tells c there is no room and closes it at once. The reply is written straight to the socket,
 * without a write request, so that the descriptor is released now: a flood of connections never
 * holds more than max_clients of them past this loop iteration. The reply is far smaller than
 * any socket buffer; when even it does not fit, the peer just sees the connection close.
 */
static void turn_away(struct client *c)
{
	static const char reply[] =
		"{\"ok\":false,\"error\":\"too many clients\",\"errno\":\"EBUSY\"}\n";
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0 &&
	    send(fd, reply, sizeof(reply) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug_errno(errno, "Control: cannot tell pid %d there is no room: %m",
				(int)c->cred.pid);
	client_close(c);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct lc_control *ctl = server->data;
	struct client *c;
	int r;

	if (status < 0) {
		log_warning("Control: accepting a connection failed: %s", uv_strerror(status));
		return;
	}

	c = calloc(1, sizeof(*c));
	if (!c) {
		log_oom();
		return;
	}
	c->ctl = ctl;
	c->cred.pid = 0;
	c->cred.uid = (uid_t)-1;
	c->cred.gid = (gid_t)-1;
	/* Both inits only fail on invalid arguments; after them the client can always be closed. */
	uv_pipe_init(ctl->loop, &c->pipe, 0);
	uv_timer_init(ctl->loop, &c->timer);
	c->pipe.data = c;
	c->timer.data = c;
	c->handles_open = 2;
	c->state = CLIENT_READING;
	c->next = ctl->clients;
	if (ctl->clients)
		ctl->clients->prev = c;
	ctl->clients = c;

	r = uv_accept(server, (uv_stream_t *)&c->pipe);
	if (r < 0) {
		log_warning("Control: accepting a connection failed: %s", uv_strerror(r));
		client_close(c);
		return;
	}
	r = client_credentials(c);
	if (r < 0) {
		log_warning_errno(r,
				  "Control: cannot read the peer's credentials, dropping it: %m");
		client_close(c);
		return;
	}

	if (ctl->n_served >= ctl->max_clients) {
		struct client *victim = idle_client_to_drop(ctl, c->cred.uid);

		if (!victim) {
			log_warning("Control: %u clients already connected, turning away pid %d "
				    "(uid %u)",
				    ctl->n_served, (int)c->cred.pid, (unsigned)c->cred.uid);
			turn_away(c);
			return;
		}
		log_notice("Control: %u clients already connected, dropping idle pid %d (uid %u) "
			   "for pid %d (uid %u)",
			   ctl->n_served, (int)victim->cred.pid, (unsigned)victim->cred.uid,
			   (int)c->cred.pid, (unsigned)c->cred.uid);
		turn_away(victim);
	}
	uv_timer_start(&c->timer, client_timeout, ctl->timeout_ms, 0);
	c->served = true;
	ctl->n_served++;

	r = uv_read_start((uv_stream_t *)&c->pipe, client_alloc, client_read);
	if (r < 0) {
		log_warning("Control: cannot read from pid %d: %s", (int)c->cred.pid,
			    uv_strerror(r));
		client_close(c);
	}
}

/* Removes a socket file nobody listens on; -EADDRINUSE when someone does, -EEXIST when path is
 * not a socket. */
static int remove_stale_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return log_error_errno(errno, "Control: cannot inspect %s: %m", path);
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_error("Control: %s exists and is not a socket, refusing to replace it", path);
		return -EEXIST;
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_error_errno(errno, "Control: cannot create a socket: %m");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN) {
		/* EAGAIN: a listener whose backlog is full is alive all the same. */
		log_error("Control: another process is listening on %s", path);
		return -EADDRINUSE;
	}
	if (errno != ECONNREFUSED)
		return log_error_errno(errno, "Control: cannot probe the existing socket %s: %m",
				       path);
	if (unlink(path) < 0 && errno != ENOENT)
		return log_error_errno(errno, "Control: cannot remove the stale socket %s: %m",
				       path);
	log_info("Control: removed the stale socket %s", path);
	return 0;
}

static void listener_closed(uv_handle_t *handle)
{
	struct lc_control *ctl = handle->data;

	ctl->listener_closed = true;
	control_maybe_free(ctl);
}

int lc_control_start(struct lc_control *ctl)
{
	struct sockaddr_un sa;
	_cleanup_free_ char *dir = NULL;
	size_t len;
	int r;

	if (!ctl || ctl->closing)
		return -EINVAL;
	if (ctl->listener_initialized)
		return -EALREADY;

	len = strlen(ctl->path);
	if (len >= sizeof(sa.sun_path)) {
		log_error("Control: socket path %s is %zu bytes long, but a Unix socket address "
			  "holds at most %zu",
			  ctl->path, len, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}

	dir = lc_path_dirname(ctl->path);
	if (!dir)
		return log_oom();
	r = lc_mkdir_p(dir, 0755);
	if (r < 0)
		return log_error_errno(r, "Control: cannot create the directory %s: %m", dir);

	r = remove_stale_socket(ctl->path);
	if (r < 0)
		return r;

	/* libuv's error codes are -errno on Unix, so they pass through as they are. */
	r = uv_pipe_init(ctl->loop, &ctl->listener, 0);
	if (r < 0)
		return log_error_errno(r, "Control: cannot create the listener: %m");
	ctl->listener.data = ctl;
	ctl->listener_initialized = true;

	r = uv_pipe_bind(&ctl->listener, ctl->path);
	if (r < 0) {
		log_error_errno(r, "Control: cannot bind %s: %m", ctl->path);
		goto fail;
	}
	ctl->bound = true;
	/* Anyone may connect; privileged commands are gated by the peer's credentials. */
	if (chmod(ctl->path, 0666) < 0) {
		r = negative_errno();
		log_error_errno(r, "Control: cannot make %s accessible: %m", ctl->path);
		goto fail;
	}
	r = uv_listen((uv_stream_t *)&ctl->listener, SOMAXCONN, on_connection);
	if (r < 0) {
		log_error_errno(r, "Control: cannot listen on %s: %m", ctl->path);
		goto fail;
	}
	log_debug("Control: listening on %s", ctl->path);
	return 0;

fail:
	/* The listener is released now; ctl stays valid for lc_control_close(), which frees it
	 * once the close callback has run. */
	if (ctl->bound) {
		(void)unlink(ctl->path);
		ctl->bound = false;
	}
	uv_close((uv_handle_t *)&ctl->listener, listener_closed);
	return r;
}

void lc_control_close(struct lc_control *ctl)
{
	if (!ctl || ctl->closing)
		return;
	ctl->closing = true;

	if (ctl->listener_initialized && !uv_is_closing((uv_handle_t *)&ctl->listener))
		uv_close((uv_handle_t *)&ctl->listener, listener_closed);
	if (ctl->bound) {
		if (unlink(ctl->path) < 0 && errno != ENOENT)
			log_warning_errno(errno, "Control: cannot remove %s, ignoring: %m",
					  ctl->path);
		ctl->bound = false;
	}
	for (struct client *c = ctl->clients; c; c = c->next)
		client_close(c);
	control_maybe_free(ctl);
}

void lc_control_call_reply(struct lc_control_call *call, json_object *data)
{
	struct client *c;

	if (!call) {
		json_object_put(data);
		return;
	}
	c = call->client;
	free(call);
	if (!c) {
		json_object_put(data);
		return;
	}
	c->call = NULL;
	send_ok(c, data);
}

void lc_control_call_fail(struct lc_control_call *call, int error, const char *fmt, ...)
{
	char msg[FAIL_MESSAGE_MAX];
	struct client *c;
	va_list ap;

	if (!call)
		return;
	c = call->client;
	free(call);
	if (!c)
		return;
	c->call = NULL;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages quote what a client sent: bytes that are not UTF-8 (or a character vsnprintf()
	 * cut in half) and control characters become '?', so that a reply is always valid JSON. */
	lc_text_scrub(msg, strlen(msg), LC_TEXT_KEEP_UTF8);
	/* EBUSY means "turned away unread, ask again" (control.h): a handler's would be retried. */
	if (error == EBUSY || error == -EBUSY)
		error = EIO;
	client_fail(c, error ? error : EIO, msg);
}

uid_t lc_control_call_uid(const struct lc_control_call *call)
{
	return call->uid;
}

pid_t lc_control_call_pid(const struct lc_control_call *call)
{
	return call->pid;
}

/* Client side. */
