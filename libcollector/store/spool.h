/* SPDX-License-Identifier: MIT */
/*
 * The spool: entries (a manifest plus attachments) kept durably on flash until the server has
 * accepted them. See docs/spool.md.
 *
 * On disk, <dir>/<created_ms>_<type>_<uuid>/ holds the entry's files. An entry is built in
 * <dir>/.tmp-<uuid>/, its files and that directory are fsynced, then it is renamed into place and
 * <dir> is fsynced: after a power cut an entry is either whole or absent. Deletion renames to
 * <dir>/.del-<uuid> before removing the files, so a half-deleted entry is never seen as
 * committed. Leftovers of both kinds are removed by lc_spool_open().
 *
 * Several processes (faultd, faultd-core-handler) may use one spool: every change happens under
 * an flock(2) on <dir>/lock, and each process rescans when another one changed the directory.
 *
 * Limits: total bytes, entry count, minimum free bytes and inodes on the filesystem, maximum age.
 * When one is hit, entries are evicted lowest class first, oldest first within a class; the new
 * entry competes too, so a metric report never pushes out a reboot event: it is refused instead.
 * What goes is decided by evict.h's pure functions; the spool describes itself, asks and applies.
 * Every drop is counted by class and reason in <dir>/drops.json (cumulative, persistent).
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/statvfs.h>

#include "storage.h"

/* Value classes, lowest first: eviction order. Logs are worth more than the heartbeats that
 * count their lines, and less than everything else. */
enum lc_entry_class {
	LC_CLASS_METRICS,    /* linux-metric-report */
	LC_CLASS_LOGS,	     /* linux-logs */
	LC_CLASS_ATTRIBUTES, /* device-attributes */
	LC_CLASS_COREDUMP,   /* elf-coredump */
	LC_CLASS_REBOOT,     /* linux-reboot, device-config */
	_LC_CLASS_MAX,
};

enum lc_drop_reason {
	LC_DROP_BYTES,	     /* max_bytes reached */
	LC_DROP_ENTRIES,     /* max_entries reached */
	LC_DROP_FREE_SPACE,  /* the filesystem's free bytes or inodes below the minimum */
	LC_DROP_AGE,	     /* older than max_age_seconds */
	LC_DROP_REJECTED,    /* the server refused it for good (4xx) */
	LC_DROP_INVALID,     /* unreadable or malformed on disk */
	LC_DROP_WRITE_ERROR, /* the filesystem failed to store it (read-only, I/O error) */
	_LC_DROP_MAX,
};

/* Class of an entry type ("linux-reboot" -> LC_CLASS_REBOOT); -EINVAL for an unknown type. */
int lc_entry_class_from_type(const char *type);
const char *lc_entry_class_name(enum lc_entry_class c); /* "metrics", "attributes", ... */
const char *lc_drop_reason_name(enum lc_drop_reason r); /* "bytes", "entries", ... */

/* Committed entries indexed at most, whatever max_entries says. */
#define LC_SPOOL_ENTRIES_MAX 100000

struct lc_spool_limits {
	uint64_t max_bytes;	  /* sum of all entries' file sizes; 0: no limit */
	uint64_t max_entries;	  /* 0: no limit; never above LC_SPOOL_ENTRIES_MAX */
	uint64_t min_free_bytes;  /* for unprivileged users (statvfs f_bavail); 0: no limit */
	uint64_t min_free_inodes; /* statvfs f_favail; 0: no limit */
	uint64_t max_age_seconds; /* 0: no limit */
};

/* One committed entry, as the index holds it. */
struct lc_spool_entry {
	char name[128]; /* directory name under the spool */
	char uuid[37];	/* the entry's UUID, lowercase, as in the batch */
	char type[32];	/* manifest "type" */
	enum lc_entry_class cls;
	uint64_t created_ms; /* Unix time in ms at commit */
	uint64_t bytes;	     /* sum of its files' sizes */
};

struct lc_spool;

/*
 * Opens (creating it with mode 0700 if needed) the spool at dir: removes leftovers of interrupted
 * commits and deletions, and indexes committed entries (a malformed one is removed and counted as
 * LC_DROP_INVALID). Returns 0 or -errno.
 */
int lc_spool_open(const char *dir, const struct lc_spool_limits *limits, struct lc_spool **ret);

/* Frees the in-memory spool; accepts NULL and returns NULL. On-disk entries stay. */
struct lc_spool *lc_spool_free(struct lc_spool *s);

/* Replaces the limits; they apply at the next commit or lc_spool_expire(). */
void lc_spool_set_limits(struct lc_spool *s, const struct lc_spool_limits *limits);

const char *lc_spool_dir(const struct lc_spool *s);

/*
 * Test seam: fn replaces statvfs(2) when the free-space limits are checked, so tests can simulate
 * a full filesystem. fn gets the spool directory and returns 0 or -errno; NULL restores statvfs.
 */
typedef int (*lc_spool_statvfs_t)(const char *path, struct statvfs *ret, void *userdata);
void lc_spool_set_statvfs(struct lc_spool *s, lc_spool_statvfs_t fn, void *userdata);

/* A commit in progress: a temporary directory collecting the entry's files. */
struct lc_spool_txn;

/* Starts an entry of type (a known type, see lc_entry_class_from_type). *ret_uuid, if not NULL,
 * receives the new entry's UUID (37 bytes with the NUL). Returns 0 or -errno. */
int lc_spool_txn_begin(struct lc_spool *s, const char *type, struct lc_spool_txn **ret,
		       char *ret_uuid);

/*
 * As lc_spool_txn_begin(), for an entry whose UUID the caller chose (a valid lowercase UUID),
 * so that committing the same thing again after a crash names the same entry: its commit fails
 * with -EEXIST, committing nothing, when the spool already holds an entry of that UUID (the one
 * committed before the crash). -EINVAL for an invalid uuid.
 */
int lc_spool_txn_begin_uuid(struct lc_spool *s, const char *type, const char *uuid,
			    struct lc_spool_txn **ret);

/*
 * Writes the file name (a plain name: [A-Za-z0-9._-], 1-100 bytes, not "." or "..") with data.
 * The first file of every entry must be "manifest.json". Returns 0, -EINVAL for a bad or
 * repeated name, -EEXIST, -ENOSPC etc.
 */
int lc_spool_txn_write(struct lc_spool_txn *t, const char *name, const void *data, size_t len);

/* Creates the file name for the caller to write into; the fd stays the transaction's (do not
 * close it) and is fsynced and closed at commit. For attachments streamed in: report a failed
 * write with lc_spool_txn_write_failed(). */
int lc_spool_txn_open(struct lc_spool_txn *t, const char *name, int *ret_fd);

/*
 * A write of len bytes (0: unknown) into the file name opened with lc_spool_txn_open() failed
 * with error (-errno). When the filesystem is full (ENOSPC, EDQUOT) and an entry worth no more
 * than this one may go, evicts it (a free_space drop) and returns 0: write what was left again.
 * Each 0 costs an entry, so a retry loop ends. Otherwise returns error, having recorded it: the
 * storage fault episode, and a drop of this entry (free_space, or write_error for another errno)
 * when it is aborted. -EINVAL when error is not negative.
 */
int lc_spool_txn_write_failed(struct lc_spool_txn *t, const char *name, int error, size_t len);

/*
 * Makes the entry durable and visible at now_ms (Unix time in ms), after enforcing the limits
 * (which may evict older entries, or refuse this one with -ENOSPC, counted as a drop). The
 * transaction is freed whatever the result; on failure nothing of it remains on disk.
 */
int lc_spool_txn_commit(struct lc_spool_txn *t, uint64_t now_ms);

/* Abandons the entry and removes its files; accepts NULL and returns NULL. */
struct lc_spool_txn *lc_spool_txn_abort(struct lc_spool_txn *t);

/* Picks up entries committed or removed by other processes since the last look. 0 or -errno. */
int lc_spool_refresh(struct lc_spool *s);

/* Committed entries, oldest first: valid until the next call that changes the spool. */
size_t lc_spool_count(const struct lc_spool *s);
const struct lc_spool_entry *lc_spool_entry_at(const struct lc_spool *s, size_t i);
uint64_t lc_spool_bytes(const struct lc_spool *s);

/*
 * Deletes the committed entry with uuid (after the server accepted it, or to drop it). When
 * reason is not negative, the deletion is counted as a drop of that reason. Returns 0, -ENOENT
 * when no such entry is committed (already gone: not an error for the caller to log loudly).
 */
int lc_spool_remove(struct lc_spool *s, const char *uuid, int reason);

/* As lc_spool_remove() for n entries at once, with one lock and one fsync: returns how many were
 * removed (uuids not committed are skipped), or -errno. Fastest with uuids in index order. */
int lc_spool_remove_many(struct lc_spool *s, const char *const *uuids, size_t n, int reason);

/* Evicts entries older than max_age_seconds at now_ms; returns how many, or -errno. Entries
 * stamped before 2020 (a clock that was not yet set) are never aged out. */
int lc_spool_expire(struct lc_spool *s, uint64_t now_ms);

/*
 * The storage fault episode going on (error 0: none): the spool's last failed write to its
 * filesystem (creating, writing, syncing or renaming an entry, deleting one, writing drops.json
 * or the lock's change counter), until an entry commits again (or, for a failed deletion or
 * drops.json, until that succeeds). A write that fails because the filesystem is full (ENOSPC,
 * EDQUOT) first evicts entries as the limits would and tries again, unless it could not fit even
 * with all of them gone; an entry that still cannot be stored is refused and counted as a drop
 * (free_space, or write_error for any other errno).
 */
const struct lc_storage_fault *lc_spool_fault(const struct lc_spool *s);

/* The same for writing drops.json, which ends only when that file is written again. */
const struct lc_storage_fault *lc_spool_drops_fault(const struct lc_spool *s);

/* Failed writes since the spool was opened. */
uint64_t lc_spool_write_failures(const struct lc_spool *s);

/* Whether the last commit found the filesystem below min_free_bytes or min_free_inodes (and so
 * evicted entries, or refused the new one). */
bool lc_spool_low_space(const struct lc_spool *s);

/* The cumulative drop counters, persisted in <dir>/drops.json. */
uint64_t lc_spool_drops(const struct lc_spool *s, enum lc_entry_class c, enum lc_drop_reason r);

/* For a short-lived process whose drops.json write failed (a full filesystem): moves the drops
 * counted here but not yet written into out (zeroed first), so that they travel elsewhere (a
 * crash report) instead of being written later. */
void lc_spool_take_unsaved_drops(struct lc_spool *s, uint32_t out[_LC_CLASS_MAX][_LC_DROP_MAX]);

/* Adds drops another process counted but could not write, and writes drops.json (or keeps them
 * for the next write, as any drop). Returns 0 or -errno of the spool lock. */
int lc_spool_add_drops(struct lc_spool *s, const uint32_t in[_LC_CLASS_MAX][_LC_DROP_MAX]);

/*
 * {"entries": n, "bytes": n, "oldest_ms": n|null, "oldest": "RFC 3339"|null,
 *  "by_class": {"metrics": n, ...}, "drops": {"metrics": {"bytes": n, ...}, ...},
 *  "drops_total": n}, "drops" holding only the classes that dropped something; NULL on OOM.
 */
json_object *lc_spool_status(const struct lc_spool *s);
