/* SPDX-License-Identifier: MIT */
/*
 * Batches: MAR files (spec/device-api.md), a ZIP archive of *stored* members
 * "<uuid>/manifest.json" and "<uuid>/<attachment>", streamed from the spool's entry directories
 * into a request body without a temporary copy. The exact size is known before the first byte is
 * read, as the upload's prepare step needs it. An entry is never split.
 *
 * Every member's CRC-32 and size are computed when the entry is added, so each local header is
 * complete (no data descriptors) and any ZIP reader accepts the stream. Reading verifies that the
 * files did not change in between; a change fails the read with -ESTALE. No ZIP64: a batch stays
 * below 4 GiB and 65535 members. See docs/batches.md.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lc_batch;

/* Creates an empty batch reading entry directories under spool_dir (copied). 0 or -errno. */
int lc_batch_new(const char *spool_dir, struct lc_batch **ret);

/* Frees a batch and closes any file it has open; accepts NULL and returns NULL. */
struct lc_batch *lc_batch_free(struct lc_batch *b);

/*
 * Adds the entry in directory dirname (under the spool dir) as member folder uuid: its
 * manifest.json first, then the other regular files by name, each read once now for its CRC-32
 * and size. The batch must then stay within max_bytes (inclusive) and the ZIP limits: if it would
 * not, returns -E2BIG and leaves the batch unchanged, except that an entry alone in an empty batch
 * is always accepted (so an oversize entry still travels, by itself). Returns 0, -E2BIG, -ENOENT
 * (entry gone), -EBADMSG (no manifest.json, a non-regular file, a name that is not
 * [A-Za-z0-9._-]{1,100}, more than 64 files), -EFBIG (past the ZIP limits even alone: never
 * sendable), -EINVAL (dirname or uuid not a plain name), -EBUSY (reading has started and not been
 * rewound), or another -errno. On any failure the batch is unchanged.
 */
int lc_batch_add_entry(struct lc_batch *b, const char *dirname, const char *uuid,
		       uint64_t max_bytes);

/* Number of entries and exact size in bytes of the archive as it stands. */
size_t lc_batch_n_entries(const struct lc_batch *b);
uint64_t lc_batch_size(const struct lc_batch *b);

/* The uuid of the i-th entry added, owned by the batch; NULL when i >= lc_batch_n_entries(). */
const char *lc_batch_entry_uuid(const struct lc_batch *b, size_t i);

/*
 * Copies the next up to len bytes of the archive into buf. Returns the count (0 at the end, after
 * exactly lc_batch_size() bytes), or -ESTALE when a file changed size or content or vanished
 * since it was added, or another -errno. A change is found when that file's data has been read,
 * so bytes already returned must be discarded. After an error, further reads return it again;
 * only lc_batch_rewind() or lc_batch_free() help.
 */
ssize_t lc_batch_read(struct lc_batch *b, void *buf, size_t len);

/* Starts reading from the first byte again (a retried or redirected request). 0 or -errno. */
int lc_batch_rewind(struct lc_batch *b);
