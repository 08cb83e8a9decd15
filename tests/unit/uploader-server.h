/* SPDX-License-Identifier: MIT */
/*
 * A device API server for test-uploader (spec/device-api.md: prepare, PUT, commit; the device
 * configuration answered 404, as by a server without fleet sampling), over real TLS in a thread of
 * its own (libmicrohttpd), with a CA and a certificate for 127.0.0.1 made at run time with the
 * openssl command. Each step answers 2xx unless told otherwise.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "backoff.h"

struct uploader_server;

#define UPLOADER_SERVER_PROJECT_KEY "uploader-test-key"
#define UPLOADER_SERVER_BATCHES_MAX 64

/* What the server saw; a copy, taken under its lock. */
struct uploader_server_stats {
	unsigned requests[4];				 /* by enum lc_upload_step */
	unsigned puts;					 /* batches received whole */
	size_t put_entries[UPLOADER_SERVER_BATCHES_MAX]; /* entries in each batch received */
	size_t put_bytes[UPLOADER_SERVER_BATCHES_MAX];
	unsigned commits;	  /* batches committed (2xx) */
	size_t committed_entries; /* in those batches */
	unsigned refused;	  /* batches refused for holding a refused entry */
	unsigned protocol_errors; /* requests that broke spec/device-api.md */
	char last_protocol_error[256];
};

/* Makes the certificates in dir (which must exist) and starts serving on 127.0.0.1, a port of
 * its choosing. Returns 0, or -errno after printing why. */
int uploader_server_new(const char *dir, struct uploader_server **ret);

/* Stops the thread and frees s; accepts NULL and returns NULL. */
struct uploader_server *uploader_server_free(struct uploader_server *s);

unsigned uploader_server_port(const struct uploader_server *s);

/* The PEM file of the CA that signed the server's certificate: the ca_bundle to trust. */
const char *uploader_server_ca(const struct uploader_server *s);

/* Answers step with status from now on (0: as the API says for a good request); with
 * retry_after_seconds > 0, also a Retry-After header. */
void uploader_server_answer(struct uploader_server *s, enum lc_upload_step step, unsigned status,
			    unsigned retry_after_seconds);

/* Refuses with 400, for good, the PUT of any batch that holds the entry uuid (NULL: none). */
void uploader_server_refuse_entry(struct uploader_server *s, const char *uuid);

void uploader_server_stats(struct uploader_server *s, struct uploader_server_stats *ret);

/* Forgets the statistics and the batches (not the answers). */
void uploader_server_reset_stats(struct uploader_server *s);
