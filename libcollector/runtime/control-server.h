/* SPDX-License-Identifier: MIT */
/*
 * The control socket's server, on the libuv loop: it accepts connections, reads one request each
 * within its limits, checks the peer's credentials and runs the registered command's handler.
 * The protocol, its limits and the client are control.h.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

#include "control.h"

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
