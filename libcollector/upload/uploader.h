/* SPDX-License-Identifier: MIT */
/*
 * The uploader: sends committed spool entries to the server in batches (spec/device-api.md):
 * prepare, PUT, commit; an entry leaves the spool only after its batch's commit returned 2xx.
 * libcurl's multi interface runs inside the libuv loop (uv_poll per socket, one uv_timer), so an
 * upload never blocks the daemon. See docs/uploads.md.
 *
 * Schedule: the first upload after start is jittered, then one every upload_interval_seconds
 * (0: only on request). A failure is retried after an exponential backoff with jitter, or later
 * when the server's Retry-After says so. A batch the server refuses with a 4xx is split in
 * halves until the refused entry travels alone; that one is dropped and counted, the others
 * still arrive. The fleet's sampling is fetched with the first upload and every six hours.
 */
#pragma once

#include <json-c/json.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "record.h"
#include "sampling.h"
#include "spool.h"

struct lc_uploader;

/* What one upload run did; error is 0 or -errno, message says why in a sentence. */
struct lc_upload_result {
	int error;
	const char *message; /* NULL on success */
	uint64_t entries;    /* accepted by the server */
	uint64_t bytes;	     /* batch bytes accepted */
	uint64_t batches;
	uint64_t rejected;  /* entries the server refused for good (dropped) */
	uint64_t remaining; /* entries left in the spool */
};

typedef void (*lc_upload_done_t)(const struct lc_upload_result *r, void *userdata);

struct lc_uploader_options {
	uv_loop_t *loop;
	struct lc_spool *spool;			/* borrowed */
	const struct lc_record_context *record; /* borrowed: identity and key, for requests and
						 * for device-config confirmations */
	const char *state_dir;			/* for the sampling cache */
	/* Called at the end of each run that reached for the server: ok when it sent entries,
	 * not when it failed (not for runs with nothing to send, consent off or no server). */
	void (*run_done)(bool ok, void *userdata);
	void *userdata;
};

/* Creates an uploader; nothing is scheduled until lc_uploader_set_config(). 0 or -errno. */
int lc_uploader_new(const struct lc_uploader_options *o, struct lc_uploader **ret);

/* Uses cfg (borrowed until the next call or close) for every later request, and schedules the
 * next upload from it. The first call schedules the jittered first upload. */
void lc_uploader_set_config(struct lc_uploader *u, const struct lc_config *cfg);

/* Uploads now, whatever the schedule. Returns 0, and cb(userdata) is called once with the
 * outcome, from the loop and never before this returns (also when it is known at once: consent
 * off, no base_url, nothing to upload); a run in progress is joined. Returns -ECANCELED while
 * closing or -ENOMEM, and cb is never called. */
int lc_uploader_sync(struct lc_uploader *u, lc_upload_done_t cb, void *userdata);

/* The sampling in force (from the server, the cache, or the default). */
const struct lc_sampling *lc_uploader_sampling(const struct lc_uploader *u);

/* {"state", "last_attempt": {...}|null, "next_attempt_in_seconds", "consecutive_failures",
 *  "sampling": {...}, "totals": {...}}; NULL on OOM. */
json_object *lc_uploader_status(const struct lc_uploader *u);

/* Parses the server's reply to POST /api/v0/upload/prepare, untrusted and NUL-terminated (NULL:
 * no usable reply): {"data": {"upload_url": "...", "token": "..."}} with an https (or loopback
 * http) URL and a token of 1 to 4096 bytes. Returns 0 with *ret_url and *ret_token (owned), or
 * -EBADMSG or -ENOMEM with *ret_why (static) and both untouched. */
int lc_uploader_parse_prepare(const char *body, char **ret_url, char **ret_token,
			      const char **ret_why);

/* Aborts any transfer (entries stay spooled; waiting callers get -ECANCELED) and frees the
 * uploader once the loop has closed its handles. Accepts NULL. */
void lc_uploader_close(struct lc_uploader *u);
