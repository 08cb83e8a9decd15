/* SPDX-License-Identifier: MIT */
/*
 * The "Memfault" metadata note of a core (docs/coredumps.md), as memfaultd 1.25 writes it and the
 * hosted service reads it: a CBOR map of schema 1 with integer keys, 10 being the log lines
 * faultd kept before the crash ({"logs": [JSON lines], "format": {"id": "v1", "serialization":
 * "json-lines"}}, or null). And the check of faultd's "crash-logs" reply those lines come in,
 * which is hostile input like every byte the handler reads. Pure, no I/O.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MF_NOTE_NAME	 "Memfault"
#define MF_NOTE_METADATA 0x4154454d
#define MF_NOTE_SCHEMA	 1

/* What the note says besides the lines; NULL texts are written as "". */
struct mf_metadata {
	const char *sdk_version; /* the producer's version */
	uint64_t captured_time;	 /* Unix seconds */
	const char *device_serial, *hardware_version, *software_type, *software_version;
	const char *cmdline;
	bool full;		 /* the kernel's whole core ("kernel_selection") ... */
	uint64_t max_thread_kib; /* ... or thread stacks of this size ("threads") */
};

/*
 * Checks faultd's reply to "crash-logs" (control.h): {"ok": true, "data": {"logs": null or an
 * array}} of at most LC_CRASH_LOGS_LINES_MAX strings, each a JSON line (valid UTF-8, no control
 * characters, not empty), at most LC_CRASH_LOGS_BYTES_MAX bytes together. Returns 0 with
 * *ret_logs the array (borrowed from reply) or NULL for null; -ENOENT when faultd refused (an
 * older faultd without the command); -EBADMSG with *ret_why (static) for anything else.
 */
int mf_logs_from_reply(json_object *reply, json_object **ret_logs, const char **ret_why);

/* The note's description for m and logs (a checked array, or NULL: key 10 is null). Returns 0
 * with *ret (malloc'd) and *ret_len, or -ENOMEM. */
int mf_note_build(const struct mf_metadata *m, json_object *logs, uint8_t **ret, size_t *ret_len);
