/* SPDX-License-Identifier: MIT */
/*
 * Tests for control.c: the pure request parser and privilege decision, and the server on a real
 * libuv loop with a real socket in a temporary directory. Clients run in forked children (so one
 * can drop to uid 65534 and the loop keeps running in this process); each child reports its
 * result through a pipe the loop reads. Every server test ends with uv_loop_close() == 0.
 */
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "control-server.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "tmpdir.h"

#define NOBODY	      65534
#define SUPPLEMENTARY 4242
#define RESULT_MAX    (128 * 1024)
#define CHILD_TIMEOUT 5000
#define MAX_CHILDREN  4

/* Parser */

static void parse_ok(const char *s, const char *want_command, size_t want_args)
{
	_cleanup_free_ char *command = NULL;
	json_object *args = NULL;
	const char *why = NULL;

	assert_int_equal(lc_control_parse_request(s, strlen(s), &command, &args, &why), 0);
	assert_string_equal(command, want_command);
	assert_true(json_object_is_type(args, json_type_object));
	assert_int_equal(json_object_object_length(args), want_args);
	assert_null(why);
	json_object_put(args);
}

static void parse_bad(const char *s, size_t len, int want, const char *want_why)
{
	char *command = (char *)"untouched";
	json_object *args = (json_object *)&command;
	const char *why = NULL;

	assert_int_equal(lc_control_parse_request(s, len, &command, &args, &why), want);
	assert_string_equal(why, want_why);
	/* Out-parameters are left alone on failure. */
	assert_string_equal(command, "untouched");
	assert_ptr_equal(args, &command);
}

static void parse_bad_s(const char *s, int want, const char *want_why)
{
	parse_bad(s, strlen(s), want, want_why);
}

static void test_parse_valid(void **state)
{
	parse_ok("{\"command\":\"status\"}", "status", 0);
	parse_ok("{\"command\":\"status\"}\n", "status", 0);
	parse_ok("  {\"command\": \"reboot\", \"args\": {\"reason\": \"x\", \"n\": 1}} \r\n",
		 "reboot", 2);
	parse_ok("{\"args\":{},\"command\":\"help\"}", "help", 0);
}

static void test_parse_invalid(void **state)
{
	static const char nul[] = "{\"command\":\"st\0atus\"}";
	static const char trailing_nul[] = "{\"command\":\"status\"}\0\n";
	_cleanup_free_ char *big = malloc(LC_CONTROL_REQUEST_MAX + 1);

	parse_bad_s("", -EINVAL, "request is empty");
	parse_bad_s(" \r\n", -EINVAL, "request is empty");
	parse_bad_s("hello", -EINVAL, "request is not valid JSON");
	parse_bad_s("{\"command\":", -EINVAL, "request is not valid JSON");
	parse_bad_s("null", -EINVAL, "request is not a JSON object");
	parse_bad_s("[1]", -EINVAL, "request is not a JSON object");
	parse_bad_s("12", -EINVAL, "request is not a JSON object");
	parse_bad_s("\"status\"", -EINVAL, "request is not a JSON object");
	parse_bad_s("{}", -EINVAL, "request has no \"command\"");
	parse_bad_s("{\"args\":{}}", -EINVAL, "request has no \"command\"");
	parse_bad_s("{\"command\":42}", -EINVAL, "\"command\" is not a string");
	parse_bad_s("{\"command\":\"\"}", -EINVAL,
		    "\"command\" must be 1 to 64 printable characters without spaces");
	parse_bad_s("{\"command\":\"a b\"}", -EINVAL,
		    "\"command\" must be 1 to 64 printable characters without spaces");
	parse_bad_s("{\"command\":\"status\",\"args\":[]}", -EINVAL, "\"args\" is not an object");
	parse_bad_s("{\"command\":\"status\",\"args\":\"x\"}", -EINVAL,
		    "\"args\" is not an object");
	parse_bad_s("{\"command\":\"status\",\"arg\":{}}", -EINVAL,
		    "request has a member other than \"command\" and \"args\"");
	parse_bad_s("{\"command\":\"status\"} x", -EINVAL,
		    "request has data after the JSON object");
	parse_bad_s("{\"command\":\"status\"}{}", -EINVAL,
		    "request has data after the JSON object");
	parse_bad(nul, sizeof(nul) - 1, -EINVAL, "request contains a NUL byte");
	/* A trailing NUL is no whitespace, though strchr(" \t\r\n", 0) would say so. */
	parse_bad(trailing_nul, sizeof(trailing_nul) - 1, -EINVAL, "request contains a NUL byte");
	parse_bad_s("{\"command\":\"status\\u0000enable-dev-mode\"}", -EINVAL,
		    "\"command\" must be 1 to 64 printable characters without spaces");
	parse_bad_s("{'command':'status'}", -EINVAL, "request is not valid JSON");
	parse_bad_s(
		"{\"command\":\"status\",\"args\":{\"a\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}}",
		-EINVAL, "request is nested too deeply");

	assert_non_null(big);
	memset(big, ' ', LC_CONTROL_REQUEST_MAX + 1);
	parse_bad(big, LC_CONTROL_REQUEST_MAX + 1, -E2BIG, "request exceeds 65536 bytes");
}

/* Privilege decision */

static void test_peer_privileged(void **state)
{
	const gid_t groups[] = { 10, 20, 30 };

	/* root, whatever the rest */
	assert_true(lc_control_peer_privileged(0, 0, NULL, 0, 998, (gid_t)-1));
	assert_true(lc_control_peer_privileged(0, 5, NULL, 0, 998, 100));
	/* the daemon's own user */
	assert_true(lc_control_peer_privileged(998, 998, NULL, 0, 998, (gid_t)-1));
	/* the control group as primary group */
	assert_true(lc_control_peer_privileged(1000, 100, NULL, 0, 0, 100));
	/* the control group as a supplementary group */
	assert_true(lc_control_peer_privileged(1000, 1000, groups, 3, 0, 30));
	/* none of them */
	assert_false(lc_control_peer_privileged(1000, 1000, groups, 3, 0, 100));
	assert_false(lc_control_peer_privileged(1000, 1000, NULL, 0, 0, 100));
	/* no control group: a peer whose groups hold (gid_t)-1 must not match it */
	const gid_t odd[] = { (gid_t)-1 };
	assert_false(lc_control_peer_privileged(1000, (gid_t)-1, odd, 1, 0, (gid_t)-1));
	assert_false(lc_control_peer_privileged(1000, 1000, groups, 3, 0, (gid_t)-1));
}

/* Server fixture */

enum child_kind {
	CHILD_REQUEST, /* lc_control_request(command) */
	CHILD_RAW,     /* send raw bytes (maybe none), optionally shut down writing, read a line */
	CHILD_HANGUP,  /* send raw bytes and close at once */
};

struct fixture;

struct child {
	struct fixture *f;
	pid_t pid;
	uv_pipe_t out; /* the child's report */
	char buf[RESULT_MAX];
	size_t len;
	bool done;
	uint64_t started_at, done_at;
	int err;	    /* lc_control_request's result, for CHILD_REQUEST */
	json_object *reply; /* parsed reply, if any */
};

struct fixture {
	char dir[64];
	char path[128];
	uv_loop_t loop;
	struct lc_control *ctl;
	unsigned children_running;
	unsigned async_pending;
	bool close_in_handler; /* "slow" closes the server before its reply */
	unsigned slow_calls, slow_replies;
	unsigned want_slow_replies; /* keep the server open until this many were made */
	uid_t last_uid;
	pid_t last_pid;
	struct child children[MAX_CHILDREN];
	uv_timer_t later; /* starts a delayed child */
	struct child_spec {
		enum child_kind kind;
		const char *command;
		const char *raw;
		size_t raw_len;
		bool shut_wr;
		uid_t uid;
		gid_t supplementary;
	} later_spec;
	struct child *later_child;
};

static void maybe_finish(struct fixture *f)
{
	if (f->children_running == 0 && f->async_pending == 0 &&
	    f->slow_replies >= f->want_slow_replies && f->ctl) {
		lc_control_close(f->ctl);
		f->ctl = NULL;
	}
}

static void handle_status(struct lc_control_call *call, json_object *args, void *userdata)
{
	struct fixture *f = userdata;
	json_object *data = json_object_new_object();

	f->last_uid = lc_control_call_uid(call);
	f->last_pid = lc_control_call_pid(call);
	json_object_object_add(data, "state", json_object_new_string("running"));
	json_object_object_add(data, "args", json_object_get(args));
	lc_control_call_reply(call, data);
}

static void handle_dev_mode(struct lc_control_call *call, json_object *args, void *userdata)
{
	json_object *data = json_object_new_object();

	json_object_object_add(data, "message", json_object_new_string("Developer mode enabled."));
	lc_control_call_reply(call, data);
}

static void handle_broken(struct lc_control_call *call, json_object *args, void *userdata)
{
	/* A message quoting a client's bytes: what is not UTF-8, or a control character, is '?'. */
	lc_control_call_fail(call, -ENOSPC, "spool is full (%d%%): %s", 100,
			     "\xff\x01\xc3\xa9\xed\xa0\x80\xc3");
}

static void handle_huge(struct lc_control_call *call, json_object *args, void *userdata)
{
	size_t n = LC_CONTROL_REPLY_MAX + 10;
	char *s = malloc(n + 1);
	json_object *data = json_object_new_object();

	assert_non_null(s);
	memset(s, 'x', n);
	s[n] = 0;
	json_object_object_add(data, "blob", json_object_new_string(s));
	free(s);
	lc_control_call_reply(call, data);
}

struct slow {
	uv_timer_t timer;
	struct lc_control_call *call;
	struct fixture *f;
};

static void slow_freed(uv_handle_t *h)
{
	free(h->data);
}

static void slow_fire(uv_timer_t *t)
{
	struct slow *s = t->data;
	json_object *data = json_object_new_object();

	json_object_object_add(data, "answer", json_object_new_int(42));
	lc_control_call_reply(s->call, data);
	s->f->slow_replies++;
	s->f->async_pending--;
	uv_close((uv_handle_t *)&s->timer, slow_freed);
	maybe_finish(s->f);
}

/* Answers 100 ms later from a timer. */
static void handle_slow(struct lc_control_call *call, json_object *args, void *userdata)
{
	struct fixture *f = userdata;
	struct slow *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->call = call;
	s->f = f;
	f->slow_calls++;
	f->async_pending++;
	uv_timer_init(&f->loop, &s->timer);
	s->timer.data = s;
	uv_timer_start(&s->timer, slow_fire, 100, 0);
	if (f->close_in_handler) {
		lc_control_close(f->ctl);
		f->ctl = NULL;
	}
}

static const struct lc_control_command commands[] = {
	{ "status", false, handle_status, "Show the state" },
	{ "enable-dev-mode", true, handle_dev_mode, "Turn developer mode on" },
	{ "broken", false, handle_broken, "Always fails" },
	{ "huge", false, handle_huge, "Replies too much" },
	{ "slow", false, handle_slow, "Replies later" },
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_non_null(test_tmpdir_make(f->dir, sizeof(f->dir), "control"));
	/* uid 65534 clients must reach the socket. */
	assert_int_equal(chmod(f->dir, 0755), 0);
	snprintf(f->path, sizeof(f->path), "%s/run/faultd/faultd.sock", f->dir);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	for (size_t i = 0; i < MAX_CHILDREN; i++)
		json_object_put(f->children[i].reply);
	assert_int_equal(test_tmpdir_remove(f->dir), 0);
	free(f);
	return 0;
}

static void server_start(struct fixture *f, unsigned timeout_ms, unsigned max_clients, gid_t group)
{
	struct lc_control_options opts = {
		.path = f->path,
		.group = group,
		.timeout_ms = timeout_ms,
		.max_clients = max_clients,
	};
	struct stat st;

	assert_int_equal(lc_control_new(&f->loop, &opts, &f->ctl), 0);
	assert_int_equal(lc_control_register(f->ctl, commands, ARRAY_SIZE(commands), f), 0);
	assert_int_equal(lc_control_start(f->ctl), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0666);
}

/* Runs the loop until the server and every handle are closed, then checks nothing is left. */
static void run_to_end(struct fixture *f)
{
	assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	assert_null(f->ctl);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	/* lc_control_close() removed the socket. */
	assert_int_equal(access(f->path, F_OK), -1);
}

static void child_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct child *ch = h->data;

	*buf = uv_buf_init(ch->buf + ch->len, (unsigned)(sizeof(ch->buf) - 1 - ch->len));
}

static void child_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct child *ch = s->data;
	int status = -1;

	if (nread > 0) {
		ch->len += (size_t)nread;
		return;
	}
	if (nread == 0)
		return;
	assert_int_equal(nread, UV_EOF);
	ch->buf[ch->len] = 0;
	assert_int_equal(waitpid(ch->pid, &status, 0), ch->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (strncmp(ch->buf, "ERR ", 4) == 0)
		ch->err = atoi(ch->buf + 4);
	else if (ch->len > 0)
		ch->reply = json_tokener_parse(ch->buf);
	ch->done = true;
	ch->done_at = uv_now(s->loop);
	uv_close((uv_handle_t *)s, NULL);
	ch->f->children_running--;
	maybe_finish(ch->f);
}

static void child_report(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);
		if (n <= 0)
			_exit(3);
		s += n;
		len -= (size_t)n;
	}
}

static int child_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		_exit(4);
	return fd;
}

static _noreturn_ void child_main(struct fixture *f, const struct child_spec *spec, int out)
{
	char buf[RESULT_MAX];
	size_t len = 0;
	int fd;

	if (spec->uid) {
		gid_t g = spec->supplementary;

		if (setgroups(g ? 1 : 0, &g) < 0 || setgid(NOBODY) < 0 || setuid(spec->uid) < 0)
			_exit(2);
	}

	switch (spec->kind) {
	case CHILD_REQUEST: {
		json_object *reply = NULL;
		int r = lc_control_request(f->path, spec->command, NULL, CHILD_TIMEOUT, &reply);

		if (r < 0) {
			len = (size_t)snprintf(buf, sizeof(buf), "ERR %d", r);
			child_report(out, buf, len);
		} else {
			const char *s =
				json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
			child_report(out, s, strlen(s));
		}
		_exit(0);
	}
	case CHILD_HANGUP:
		fd = child_connect(f->path);
		(void)send(fd, spec->raw, spec->raw_len, MSG_NOSIGNAL);
		close(fd);
		_exit(0);
	case CHILD_RAW:
		fd = child_connect(f->path);
		for (size_t off = 0; off < spec->raw_len;) {
			ssize_t n = send(fd, spec->raw + off, spec->raw_len - off, MSG_NOSIGNAL);
			if (n < 0)
				break; /* the server gave up on us; read why */
			off += (size_t)n;
		}
		if (spec->shut_wr)
			shutdown(fd, SHUT_WR);
		for (;;) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			ssize_t n;

			if (poll(&p, 1, CHILD_TIMEOUT) <= 0)
				break;
			n = recv(fd, buf + len, sizeof(buf) - len, 0);
			if (n <= 0)
				break;
			len += (size_t)n;
			if (memchr(buf, '\n', len) || len == sizeof(buf))
				break;
		}
		child_report(out, buf, len);
		_exit(0);
	}
	_exit(5);
}

static struct child *child_start(struct fixture *f, const struct child_spec *spec)
{
	struct child *ch = NULL;
	int fds[2];

	for (size_t i = 0; i < MAX_CHILDREN; i++)
		if (!f->children[i].f) {
			ch = &f->children[i];
			break;
		}
	assert_non_null(ch);
	ch->f = f;
	ch->started_at = uv_now(&f->loop);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	fflush(NULL);
	ch->pid = fork();
	assert_true(ch->pid >= 0);
	if (ch->pid == 0) {
		close(fds[0]);
		child_main(f, spec, fds[1]);
	}
	close(fds[1]);
	assert_int_equal(uv_pipe_init(&f->loop, &ch->out, 0), 0);
	assert_int_equal(uv_pipe_open(&ch->out, fds[0]), 0);
	ch->out.data = ch;
	assert_int_equal(uv_read_start((uv_stream_t *)&ch->out, child_alloc, child_read), 0);
	f->children_running++;
	return ch;
}

static struct child *request(struct fixture *f, const char *command, uid_t uid)
{
	return child_start(
		f, &(struct child_spec){ .kind = CHILD_REQUEST, .command = command, .uid = uid });
}

static struct child *raw(struct fixture *f, const char *data, size_t len, bool shut_wr)
{
	return child_start(
		f, &(struct child_spec){
			   .kind = CHILD_RAW, .raw = data, .raw_len = len, .shut_wr = shut_wr });
}

static void later_fire(uv_timer_t *t)
{
	struct fixture *f = t->data;

	f->later_child = child_start(f, &f->later_spec);
	f->children_running--; /* the placeholder taken in start_later() */
	uv_close((uv_handle_t *)t, NULL);
}

/* Starts a child after delay_ms; it counts as running from now on. */
static void start_later(struct fixture *f, unsigned delay_ms, const struct child_spec *spec)
{
	f->later_spec = *spec;
	f->children_running++;
	assert_int_equal(uv_timer_init(&f->loop, &f->later), 0);
	f->later.data = f;
	assert_int_equal(uv_timer_start(&f->later, later_fire, delay_ms, 0), 0);
}

static json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;

	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, key, &v));
	return v;
}

static json_object *assert_ok(const struct child *ch)
{
	assert_true(ch->done);
	assert_int_equal(ch->err, 0);
	assert_non_null(ch->reply);
	assert_true(json_object_get_boolean(member(ch->reply, "ok")));
	return member(ch->reply, "data");
}

static void assert_fail(const struct child *ch, const char *errno_name, const char *error)
{
	assert_true(ch->done);
	assert_int_equal(ch->err, 0);
	assert_non_null(ch->reply);
	assert_false(json_object_get_boolean(member(ch->reply, "ok")));
	assert_string_equal(json_object_get_string(member(ch->reply, "errno")), errno_name);
	assert_string_equal(json_object_get_string(member(ch->reply, "error")), error);
	assert_int_equal(json_object_object_length(ch->reply), 3);
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct child *status, *help, *eof;
	json_object *data, *list;

	server_start(f, 2000, 0, (gid_t)-1);
	status = request(f, "status", 0);
	help = request(f, "help", 0);
	/* A request ended by end-of-file instead of a newline is served as well. */
	eof = raw(f, "{\"command\":\"status\",\"args\":{\"x\":1}}", 35, true);
	run_to_end(f);

	data = assert_ok(status);
	assert_string_equal(json_object_get_string(member(data, "state")), "running");
	assert_int_equal(json_object_object_length(member(data, "args")), 0);

	data = assert_ok(eof);
	assert_int_equal(json_object_get_int(member(member(data, "args"), "x")), 1);
	/* The credentials are the peer's, as the kernel reports them. */
	assert_int_equal(f->last_uid, 0);
	assert_true(f->last_pid == status->pid || f->last_pid == eof->pid);

	list = member(assert_ok(help), "commands");
	assert_int_equal(json_object_array_length(list), ARRAY_SIZE(commands));
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		json_object *c = json_object_array_get_idx(list, i);

		assert_string_equal(json_object_get_string(member(c, "name")), commands[i].name);
		assert_int_equal(json_object_get_boolean(member(c, "privileged")),
				 commands[i].privileged);
		assert_string_equal(json_object_get_string(member(c, "summary")),
				    commands[i].summary);
	}
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	struct child *unknown, *garbage, *broken, *huge;
	char msg[128];

	server_start(f, 2000, 0, (gid_t)-1);
	unknown = request(f, "nope", 0);
	garbage = raw(f, "hello\n", 6, false);
	broken = request(f, "broken", 0);
	huge = request(f, "huge", 0);
	run_to_end(f);

	assert_fail(unknown, "EOPNOTSUPP", "unknown command 'nope'");
	assert_fail(garbage, "EINVAL", "request is not valid JSON");
	assert_fail(broken, "ENOSPC", "spool is full (100%): ??\xc3\xa9????");
	/* {"ok":true,"data":{"blob":"..."}} is 30 bytes around the blob. */
	snprintf(msg, sizeof(msg), "reply of %d bytes exceeds the limit of %d bytes",
		 LC_CONTROL_REPLY_MAX + 10 + 30, LC_CONTROL_REPLY_MAX);
	assert_fail(huge, "EMSGSIZE", msg);
}

static void test_request_size_limit(void **state)
{
	struct fixture *f = *state;
	static const char head[] = "{\"command\":\"status\",\"args\":{\"pad\":\"";
	static const char tail[] = "\"}}\n";
	size_t fit = LC_CONTROL_REQUEST_MAX + 1; /* the largest request plus its newline */
	_cleanup_free_ char *exact = malloc(fit), *over = malloc(70000);
	struct child *ok, *big;

	assert_non_null(exact);
	assert_non_null(over);
	memset(exact, 'a', fit);
	memcpy(exact, head, sizeof(head) - 1);
	memcpy(exact + fit - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	memset(over, 'a', 70000);

	server_start(f, 2000, 0, (gid_t)-1);
	ok = raw(f, exact, fit, false);
	big = raw(f, over, 70000, false);
	run_to_end(f);

	assert_ok(ok);
	assert_fail(big, "E2BIG", "request exceeds 65536 bytes");
}

static void test_privileged(void **state)
{
	struct fixture *f = *state;
	struct child *refused, *allowed_root, *allowed_status, *allowed_group;

	/* gid 0 is "root" on any system. */
	server_start(f, 2000, 0, 0);
	refused = request(f, "enable-dev-mode", NOBODY);
	allowed_root = request(f, "enable-dev-mode", 0);
	allowed_status = request(f, "status", NOBODY);
	run_to_end(f);

	assert_fail(refused, "EPERM",
		    "permission denied: 'enable-dev-mode' changes state and needs root or "
		    "membership in group 'root'");
	assert_string_equal(json_object_get_string(member(assert_ok(allowed_root), "message")),
			    "Developer mode enabled.");
	assert_ok(allowed_status);
	assert_int_equal(f->last_uid, NOBODY);

	/* A supplementary group counts (SO_PEERGROUPS). */
	for (size_t i = 0; i < MAX_CHILDREN; i++)
		json_object_put(f->children[i].reply);
	memset(f->children, 0, sizeof(f->children));
	assert_int_equal(uv_loop_init(&f->loop), 0);
	server_start(f, 2000, 0, SUPPLEMENTARY);
	allowed_group = child_start(f, &(struct child_spec){ .kind = CHILD_REQUEST,
							     .command = "enable-dev-mode",
							     .uid = NOBODY,
							     .supplementary = SUPPLEMENTARY });
	refused = request(f, "enable-dev-mode", NOBODY);
	run_to_end(f);
	assert_ok(allowed_group);
	assert_fail(refused, "EPERM",
		    "permission denied: 'enable-dev-mode' changes state and needs root or "
		    "membership in group '4242'");
}

static void test_timeout_does_not_block_others(void **state)
{
	struct fixture *f = *state;
	struct child *silent, *other;

	server_start(f, 300, 0, (gid_t)-1);
	silent = raw(f, NULL, 0, false);
	start_later(f, 50, &(struct child_spec){ .kind = CHILD_REQUEST, .command = "status" });
	run_to_end(f);
	other = f->later_child;

	assert_fail(silent, "ETIMEDOUT", "timed out waiting for the request");
	assert_ok(other);
	assert_true(other->done_at < silent->done_at);
	assert_true(silent->done_at - silent->started_at >= 290);
}

static void test_too_many_clients(void **state)
{
	struct fixture *f = *state;
	struct child *silent;

	static const char req[] = "{\"command\":\"status\"}\n";

	/* A newcomer of the user holding every place is turned away at once. */
	server_start(f, 300, 1, (gid_t)-1);
	silent = raw(f, NULL, 0, false);
	start_later(
		f, 50,
		&(struct child_spec){ .kind = CHILD_RAW, .raw = req, .raw_len = sizeof(req) - 1 });
	run_to_end(f);

	assert_fail(f->later_child, "EBUSY", "too many clients");
	assert_true(f->later_child->done_at < silent->done_at);
	assert_fail(silent, "ETIMEDOUT", "timed out waiting for the request");
}

static void test_busy_client_asks_again(void **state)
{
	struct fixture *f = *state;
	struct child *silent;

	/* lc_control_request() retries "too many clients" until the place is free. */
	server_start(f, 300, 1, (gid_t)-1);
	silent = raw(f, NULL, 0, false);
	start_later(f, 50, &(struct child_spec){ .kind = CHILD_REQUEST, .command = "status" });
	run_to_end(f);

	assert_fail(silent, "ETIMEDOUT", "timed out waiting for the request");
	assert_ok(f->later_child);
	assert_true(f->later_child->done_at >= silent->done_at);
}

static void test_idle_user_gives_way(void **state)
{
	struct fixture *f = *state;
	struct child *silent;

	/* Another user's silent client, holding the only place, gives it up to a newcomer. */
	server_start(f, 2000, 1, (gid_t)-1);
	silent = child_start(f, &(struct child_spec){ .kind = CHILD_RAW, .uid = NOBODY });
	start_later(f, 50, &(struct child_spec){ .kind = CHILD_REQUEST, .command = "status" });
	run_to_end(f);

	assert_fail(silent, "EBUSY", "too many clients");
	assert_true(silent->done_at - silent->started_at < 1000);
	assert_ok(f->later_child);
	assert_int_equal(f->last_uid, 0);
}

static void test_async_reply(void **state)
{
	struct fixture *f = *state;
	struct child *ch;

	server_start(f, 2000, 0, (gid_t)-1);
	ch = request(f, "slow", 0);
	run_to_end(f);

	assert_int_equal(json_object_get_int(member(assert_ok(ch), "answer")), 42);
	assert_true(ch->done_at - ch->started_at >= 95);
	assert_int_equal(f->slow_replies, 1);
}

static void test_async_client_gone(void **state)
{
	struct fixture *f = *state;
	struct child *gone, *quiet;

	/* The children are gone before the request is even read: wait for the reply. */
	f->want_slow_replies = 1;
	server_start(f, 2000, 0, (gid_t)-1);
	gone = child_start(f, &(struct child_spec){ .kind = CHILD_HANGUP,
						    .raw = "{\"command\":\"slow\"}\n",
						    .raw_len = 19 });
	/* Connecting and closing without a byte is not an error either. */
	quiet = child_start(f, &(struct child_spec){ .kind = CHILD_HANGUP });
	run_to_end(f);

	assert_true(gone->done && quiet->done);
	assert_int_equal(f->slow_calls, 1);
	/* The reply was made after the client had gone, and the server was still open. */
	assert_int_equal(f->slow_replies, 1);
}

static void test_async_server_gone(void **state)
{
	struct fixture *f = *state;
	struct child *ch;

	f->close_in_handler = true;
	server_start(f, 2000, 0, (gid_t)-1);
	ch = request(f, "slow", 0);
	run_to_end(f);

	/* The server closed the connection without a reply; the late reply went nowhere. */
	assert_int_equal(ch->err, -ECONNRESET);
	assert_int_equal(f->slow_replies, 1);
}

static void make_dirs(struct fixture *f)
{
	char dir[128];

	snprintf(dir, sizeof(dir), "%s/run/faultd", f->dir);
	assert_int_equal(lc_mkdir_p(dir, 0755), 0);
}

static void test_stale_socket_replaced(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	json_object *reply = NULL;
	struct child *ch;
	int fd;

	make_dirs(f);
	strcpy(sa.sun_path, f->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);

	/* The client sees a dead socket for what it is. */
	assert_int_equal(lc_control_request(f->path, "status", NULL, 1000, &reply), -ECONNREFUSED);
	assert_null(reply);

	server_start(f, 2000, 0, (gid_t)-1);
	ch = request(f, "status", 0);
	run_to_end(f);
	assert_ok(ch);
}

static void test_live_socket_kept(void **state)
{
	struct fixture *f = *state;
	struct lc_control_options opts = { .path = f->path, .group = (gid_t)-1 };
	struct lc_control *other = NULL;
	json_object *reply = NULL;

	server_start(f, 2000, 0, (gid_t)-1);
	assert_int_equal(lc_control_new(&f->loop, &opts, &other), 0);
	assert_int_equal(lc_control_start(other), -EADDRINUSE);
	lc_control_close(other);
	/* The first server's socket is still there and still answers (once the loop runs). */
	assert_int_equal(access(f->path, F_OK), 0);

	/* With nobody running the loop, the client gives up at its deadline. */
	assert_int_equal(lc_control_request(f->path, "status", NULL, 100, &reply), -ETIMEDOUT);
	assert_null(reply);

	request(f, "status", 0);
	run_to_end(f);
	assert_ok(&f->children[0]);
}

static void test_bad_paths(void **state)
{
	struct fixture *f = *state;
	struct lc_control_options opts = { .path = f->path, .group = (gid_t)-1 };
	struct lc_control *ctl = NULL;
	json_object *reply = NULL;
	char longpath[200];
	int fd;

	/* Nothing there: the client says so. */
	assert_int_equal(lc_control_request(f->path, "status", NULL, 1000, &reply), -ENOENT);

	/* A regular file is not replaced. */
	make_dirs(f);
	fd = open(f->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(lc_control_new(&f->loop, &opts, &ctl), 0);
	assert_int_equal(lc_control_start(ctl), -EEXIST);
	lc_control_close(ctl);
	assert_int_equal(access(f->path, F_OK), 0);

	/* A path that does not fit in sun_path. */
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = 0;
	opts.path = longpath;
	assert_int_equal(lc_control_new(&f->loop, &opts, &ctl), 0);
	assert_int_equal(lc_control_start(ctl), -ENAMETOOLONG);
	lc_control_close(ctl);
	assert_int_equal(lc_control_request(longpath, "status", NULL, 1000, &reply), -ENAMETOOLONG);

	/* Registration rules. */
	opts.path = f->path;
	assert_int_equal(lc_control_new(&f->loop, &opts, &ctl), 0);
	assert_int_equal(lc_control_register(ctl, commands, 1, NULL), 0);
	assert_int_equal(lc_control_register(ctl, commands, 1, NULL), -EEXIST);
	assert_int_equal(lc_control_register(
				 ctl,
				 &(struct lc_control_command){ "help", false, handle_status, "" },
				 1, NULL),
			 -EEXIST);
	lc_control_close(ctl);

	assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&f->loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_peer_privileged),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_size_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_privileged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_does_not_block_others, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_too_many_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_client_asks_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_user_gives_way, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_client_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_server_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_socket_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_socket_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_paths, setup, teardown),
	};

	/* libuv writes with write(2): a peer gone before its reply must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	lc_log_set_ratelimit(false);
	if (getenv("TEST_CONTROL_DEBUG"))
		lc_log_set_max_level(LOG_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
