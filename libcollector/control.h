/* SPDX-License-Identifier: MIT */
/*
 * The control socket: a Unix stream socket on which each connection carries one JSON request
 * terminated by a newline and receives one JSON reply terminated by a newline, then is closed.
 *
 *   request: {"command": "status", "args": {...}}          ("args" optional, an object)
 *   reply:   {"ok": true, "data": {...}}
 *            {"ok": false, "error": "sentence", "errno": "EPERM"}
 *
 * The socket is world-connectable (mode 0666); commands marked privileged are refused unless the
 * peer (SO_PEERCRED / SO_PEERGROUPS) is root, the daemon's own user, or in the control group.
 * Requests are bounded in size and time; a client that sends garbage gets an error reply, one
 * that sends too much or stalls is dropped, and neither delays other clients. When
 * max_clients are connected, a newcomer takes the place of the oldest client still silent of the
 * user holding the most places, if that user holds more than the newcomer's; otherwise it is
 * turned away with EBUSY at once.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

#define LC_CONTROL_REQUEST_MAX (64 * 1024)
#define LC_CONTROL_REPLY_MAX   (4 * 1024 * 1024)
#define LC_CONTROL_TIMEOUT_MS  5000
#define LC_CONTROL_MAX_CLIENTS 128

struct lc_control;
struct lc_control_call;

/*
 * Handles one request. It must eventually answer with exactly one of lc_control_call_reply() or
 * lc_control_call_fail(), either before returning or later from the loop (for work that takes
 * time, such as an upload). args is an object (empty when the request had none), borrowed for the
 * duration of the handler only.
 */
typedef void (*lc_control_handler_t)(struct lc_control_call *call, json_object *args,
				     void *userdata);

struct lc_control_command {
	const char *name; /* "status" */
	bool privileged;  /* changes state: needs root, the daemon's user, or the group */
	lc_control_handler_t handler;
	const char *summary; /* one line for `faultctl help` */
};

struct lc_control_options {
	const char *path;     /* socket path; its directory is created (0755) if missing */
	gid_t group;	      /* members may run privileged commands; (gid_t)-1 for none */
	unsigned timeout_ms;  /* per client, for the whole request; 0: LC_CONTROL_TIMEOUT_MS */
	unsigned max_clients; /* connections served at once; 0: LC_CONTROL_MAX_CLIENTS */
};

/* Creates a server on loop (not yet listening). Returns 0 or -errno. */
int lc_control_new(uv_loop_t *loop, const struct lc_control_options *opts, struct lc_control **ret);

/* Adds commands (the array must outlive the server); userdata goes to their handlers. A name
 * already registered is -EEXIST. */
int lc_control_register(struct lc_control *ctl, const struct lc_control_command *cmds, size_t n,
			void *userdata);

/* Binds and listens. A stale socket file left by a dead daemon is replaced; one that a live
 * process answers on is -EADDRINUSE. Returns 0 or -errno (logged). */
int lc_control_start(struct lc_control *ctl);

/* Stops listening, drops clients (their pending calls are answered into the void), unlinks the
 * socket, and frees ctl once libuv has closed every handle. Accepts NULL. */
void lc_control_close(struct lc_control *ctl);

/* Replies {"ok": true, "data": data}; takes ownership of data (NULL: {}). Frees the call. */
void lc_control_call_reply(struct lc_control_call *call, json_object *data);

/* Replies {"ok": false, ...} with error (a positive or negative errno) and a formatted sentence.
 * Frees the call. EBUSY is the server's own "too many clients", which clients retry: a handler's
 * EBUSY is sent as EIO. */
void lc_control_call_fail(struct lc_control_call *call, int error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The peer's credentials, as the kernel reported them at connection time. */
uid_t lc_control_call_uid(const struct lc_control_call *call);
pid_t lc_control_call_pid(const struct lc_control_call *call);

/* Resolves a group name to its gid for lc_control_options.group. Returns 0, -ENOENT when there
 * is no such group, or -errno. */
int lc_control_group_from_name(const char *name, gid_t *ret);

/* Pure helpers, exported for tests. */

/* Parses one request line. Returns 0 with *ret_command (owned) and *ret_args (owned, an object),
 * or -EINVAL/-E2BIG with *ret_why a static phrase ("request is not valid JSON", ...). */
int lc_control_parse_request(const char *buf, size_t len, char **ret_command,
			     json_object **ret_args, const char **ret_why);

/* True when a peer with these credentials may run privileged commands. */
bool lc_control_peer_privileged(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups,
				uid_t self_uid, gid_t control_group);

/*
 * Client side, blocking, for faultctl and tests: connects to path, sends
 * {"command": command, "args": args} (args borrowed, may be NULL), waits up to timeout_ms for the
 * whole reply, and returns it parsed in *ret_reply (owned). A "too many clients" reply (EBUSY) is
 * retried with a growing pause (10 ms to 0.5 s) while the time allows, then returned as it is.
 * Returns 0, -ENOENT/-ECONNREFUSED when nothing listens, -ETIMEDOUT, -EBADMSG for a reply that is
 * not a JSON object.
 */
int lc_control_request(const char *path, const char *command, json_object *args, int timeout_ms,
		       json_object **ret_reply);
