/* SPDX-License-Identifier: MIT */
/*
 * The log file in progress: JSON lines compressed with gzip as they are written, kept in a
 * directory of its own (<state_dir>/logs) beside a state file, state.json, that says how much of
 * it is durable. See docs/logs.md, "Durability".
 *
 * The file is one gzip member: a header, a raw deflate stream, and the CRC-32 and length of the
 * lines as its trailer. A flush ends the deflate data written so far on a byte boundary
 * (Z_SYNC_FLUSH), syncs the file and then records in state.json its length, the CRC-32, the
 * line count and the sources' positions (an object the caller gives). After a crash, the file is
 * cut back to that length and a new deflate stream goes on from there: deflate blocks need no
 * history from before the cut, so the file stays one valid gzip member, and lines after the last
 * flush are read again from the sources that can (the kernel log, the journal) from the positions
 * saved with it.
 *
 * Rotation seals the file (the final block and the trailer, synced) and marks it sealed in
 * state.json before the caller commits it to the spool as the entry named in the state; only
 * then does logs_file_next() start the next file. A crash in between leaves the sealed file to be
 * committed again under the same entry UUID, which the spool (and the server) know already: a
 * file is never committed under two names, nor lost.
 *
 * Files are chained: each has a cid and the next one's (next_cid), so the server sees a missing
 * file as a gap.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "uuid.h"

struct logs_file;

/* What the file in progress (or the sealed one) holds. */
struct logs_file_info {
	char cid[LC_UUID_LEN + 1];
	char next_cid[LC_UUID_LEN + 1];
	char entry[LC_UUID_LEN + 1]; /* the UUID of its spool entry */
	uint64_t lines;
	uint64_t raw_bytes; /* the lines' bytes, uncompressed */
	uint64_t bytes;	    /* the file's bytes so far (sealed: all of them) */
	uint64_t first_ms;  /* CLOCK_REALTIME of its first line; 0 while it has none */
	bool sealed;	    /* finished, waiting to be committed */
};

/* What logs_file_open() found. */
struct logs_file_recovery {
	bool fresh;	     /* no state: a new chain begins */
	bool damaged;	     /* state.json or the file did not hold together: begun anew */
	uint64_t lost_lines; /* lines of a damaged file that could not be kept */
	uint64_t cut_bytes;  /* bytes after the last flush that a crash left, cut off */
	uint64_t kept_lines; /* lines of the file in progress that were kept */
};

/*
 * Opens the directory dir (created with mode 0700 when missing) and the file in progress that its
 * state.json names, recovered as described above (*ret_recovery says how, when not NULL); files
 * the state does not name are removed. A sealed file stays sealed: commit it, then call
 * logs_file_next(). level is zlib's compression level. Returns 0 or -errno.
 */
int logs_file_open(const char *dir, int level, struct logs_file **ret,
		   struct logs_file_recovery *ret_recovery);

/* Closes the file without flushing what was appended since the last flush (a crash does the
 * same); accepts NULL and returns NULL. */
struct logs_file *logs_file_free(struct logs_file *f);

/* The file in progress or the sealed one. */
void logs_file_info(const struct logs_file *f, struct logs_file_info *ret);

/* The positions saved with the last flush or seal (borrowed), or NULL. */
json_object *logs_file_positions(const struct logs_file *f);

/* Lines appended since the last flush: what a crash now would cost. */
uint64_t logs_file_unflushed(const struct logs_file *f);

/*
 * Appends one line (len bytes with its '\n') to the file in progress at now_ms (CLOCK_REALTIME,
 * the first line's stamps the file's age). Returns 0, -EBUSY when the file is sealed, or the
 * -errno of a failed write: then the file is cut back to its last flush, the lines after it
 * (this one too) are lost, and logs_file_unflushed() is 0.
 */
int logs_file_append(struct logs_file *f, const char *line, size_t len, uint64_t now_ms);

/*
 * Makes every appended line durable and saves positions with them (reference taken, also on
 * failure; NULL keeps the last ones): the sources' positions may move without a line kept (lines
 * dropped), and are then saved alone. Nothing is written when no line came since the last flush
 * and positions is NULL, nor is state.json when it would hold what it holds. Returns 0, -EBUSY
 * when sealed, or -errno: a failed write of the file as logs_file_append() (the unflushed lines
 * lost), a failed write of the state leaves them unflushed, for the next flush.
 */
int logs_file_flush(struct logs_file *f, json_object *positions);

/*
 * Finishes the file in progress and marks it sealed (durably), with positions (reference taken,
 * also on failure). A file without lines is not sealed: -ENODATA. Returns 0, -EBUSY when sealed
 * already, or -errno. When only the state could not be written, the file stays sealed in memory
 * (info.sealed, no more lines, not committed: logs_file_sealed_fd() is -1) and the next call
 * writes the state alone, with the first call's positions.
 */
int logs_file_seal(struct logs_file *f, json_object *positions);

/* The sealed file's descriptor (borrowed, read from offset 0, info.bytes long), or -1 (also while
 * its state is not written). */
int logs_file_sealed_fd(const struct logs_file *f);

/* Once the sealed file is committed (or given up): begins the next file of the chain, empty.
 * Returns 0, -EINVAL when nothing is sealed, or -errno (the sealed file then stays). */
int logs_file_next(struct logs_file *f);

/* Throws away the lines of the file in progress (data collection was turned off), keeping its
 * place in the chain. Returns 0 or -errno. */
int logs_file_discard(struct logs_file *f);

/* Why a file is due to rotate. */
enum logs_rotate {
	LOGS_ROTATE_NO,
	LOGS_ROTATE_SIZE, /* raw_bytes reached max_bytes */
	LOGS_ROTATE_AGE,  /* its first line is max_age_ms old */
};

/*
 * Whether the file described by info is due at now_ms (CLOCK_REALTIME): never without lines; a
 * first line stamped in the future (the clock was set back) counts as new. *ret_in_ms, when not
 * NULL, gets the time until it is due by age (0 when due; UINT64_MAX without lines). Pure.
 */
enum logs_rotate logs_rotate_due(const struct logs_file_info *info, uint64_t max_bytes,
				 uint64_t max_age_ms, uint64_t now_ms, uint64_t *ret_in_ms);
