/* SPDX-License-Identifier: MIT */
/*
 * The control socket's protocol and its blocking client (the server is runtime/control-server.h).
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

#define LC_CONTROL_REQUEST_MAX	   (64 * 1024)
#define LC_CONTROL_REPLY_MAX	   (4 * 1024 * 1024)
#define LC_CONTROL_TIMEOUT_MS	   5000
#define LC_CONTROL_MAX_CLIENTS	   128
#define LC_CONTROL_REQUEST_TOO_BIG "request exceeds 65536 bytes"

/* "crash-logs": faultd-core-handler asks for the log lines kept before a crash,
 *   args:  {"crash_mono_ms": N}   (CLOCK_MONOTONIC ms of the crash; absent: now)
 *   reply: {"logs": ["JSON line", ...] or null (no plugin keeps lines)}
 * At most LC_CRASH_LOGS_LINES_MAX lines of at most LC_CRASH_LOGS_BYTES_MAX bytes together, so that
 * the reply, each line escaped once more as a JSON string (at most twice its bytes), stays within
 * LC_CRASH_LOGS_REPLY_MAX, which is what the handler reads. */
#define LC_CRASH_LOGS_LINES_MAX 500
#define LC_CRASH_LOGS_BYTES_MAX (64 * 1024)
#define LC_CRASH_LOGS_REPLY_MAX (2 * LC_CRASH_LOGS_BYTES_MAX + 4 * LC_CRASH_LOGS_LINES_MAX + 1024)

/* True for a command name: 1 to 64 printable ASCII characters without spaces. */
bool lc_control_command_name_valid(const char *s);

/* The errno name of error (positive or negative), "EPERM"; a number in buf when it has none. */
const char *lc_control_errno_name(int error, char *buf, size_t size);

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

/* As lc_control_request(), reading at most max_reply bytes of reply (at most
 * LC_CONTROL_REPLY_MAX): a longer one is -EBADMSG. */
int lc_control_request_max(const char *path, const char *command, json_object *args, int timeout_ms,
			   size_t max_reply, json_object **ret_reply);
