/* SPDX-License-Identifier: MIT */
/*
 * The spool (spool.h, docs/spool.md).
 *
 * Every change to <dir> happens under an flock(2) on <dir>/lock. A process notices that another
 * one changed the spool by comparing, under that lock, the directory's mtime and inode and a
 * change counter kept in the lock file with the values it recorded after its own last change;
 * the counter is there because directory timestamps are only as fine as the kernel's clock tick,
 * so two commits from two processes within one tick can leave the mtime unchanged.
 *
 * The index is an array sorted by (created_ms, name) with free room at both ends: commits append
 * at the back and uploads remove from the front, both without moving the rest.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "clock.h"
#include "evict.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "spool.h"
#include "storage.h"
#include "uuid.h"

#define ENTRY_FILES_MAX	    64 /* files in one entry */
#define FILE_NAME_MAX	    100
#define DROPS_FILE_MAX	    (64 * 1024)
#define CREATED_DIGITS	    13 /* zero-padded, so that names sort by time until the year 2286 */
#define CREATED_DIGITS_MAX  20
#define MANIFEST	    "manifest.json"
#define LOCK_FILE	    "lock"
#define DROPS_FILE	    "drops.json"
#define TMP_PREFIX	    ".tmp-"
#define DEL_PREFIX	    ".del-"
#define DROPS_TMP_PREFIX    DROPS_FILE ".tmp" /* lc_write_file_atomic()'s leftovers */
#define UNKNOWN_DISPLAY_MAX 64

static const struct {
	const char *type;
	enum lc_entry_class cls;
} entry_types[] = {
	{ "linux-metric-report", LC_CLASS_METRICS }, { "device-attributes", LC_CLASS_ATTRIBUTES },
	{ "elf-coredump", LC_CLASS_COREDUMP },	     { "linux-reboot", LC_CLASS_REBOOT },
	{ "device-config", LC_CLASS_REBOOT },	     { "linux-logs", LC_CLASS_LOGS },
	{ "linux-stacktrace", LC_CLASS_COREDUMP },
};

static const char *const class_names[_LC_CLASS_MAX] = {
	[LC_CLASS_METRICS] = "metrics",	      [LC_CLASS_LOGS] = "logs",
	[LC_CLASS_ATTRIBUTES] = "attributes", [LC_CLASS_COREDUMP] = "coredump",
	[LC_CLASS_REBOOT] = "reboot",
};

static const char *const reason_names[_LC_DROP_MAX] = {
	[LC_DROP_BYTES] = "bytes",
	[LC_DROP_ENTRIES] = "entries",
	[LC_DROP_FREE_SPACE] = "free_space",
	[LC_DROP_AGE] = "age",
	[LC_DROP_REJECTED] = "rejected",
	[LC_DROP_INVALID] = "invalid",
	[LC_DROP_WRITE_ERROR] = "write_error",
};

/* What a process saw of the spool directory after its own last change. */
struct spool_token {
	struct timespec mtim;
	dev_t dev;
	ino_t ino;
	uint64_t gen; /* change counter in the lock file */
};

struct lc_spool {
	char *dir;
	int dir_fd;
	int lock_fd;
	dev_t dev; /* of dir_fd: a different inode at the path means the directory was replaced */
	ino_t ino;
	struct lc_spool_limits limits;
	lc_spool_statvfs_t statvfs_fn;
	void *statvfs_userdata;

	struct lc_spool_entry *items; /* the index is items[head .. head + n) */
	size_t head, n, alloc;
	uint64_t bytes;

	uint64_t drops[_LC_CLASS_MAX][_LC_DROP_MAX];
	uint64_t unsaved[_LC_CLASS_MAX][_LC_DROP_MAX]; /* counted here, not yet in drops.json */
	bool drops_dirty;

	struct lc_storage_fault fault;	     /* failed writes of entries going on, if any */
	struct lc_storage_fault drops_fault; /* and of drops.json, a file apart */
	uint64_t write_failures;	     /* since open */
	bool low_space;			     /* the last commit met the free-space limits */

	struct spool_token seen;
	bool seen_valid;
	bool synced;  /* under the lock, the index matches the directory */
	bool changed; /* this process changed the directory under the lock held */
};

struct txn_file {
	char name[FILE_NAME_MAX + 1];
	int fd;
};

struct lc_spool_txn {
	struct lc_spool *spool;
	char uuid[LC_UUID_LEN + 1];
	char tmp[sizeof(TMP_PREFIX) + LC_UUID_LEN];
	const char *type; /* static, from entry_types */
	enum lc_entry_class cls;
	int dir_fd; /* the temporary directory, flocked so that no lc_spool_open() removes it */
	struct txn_file files[ENTRY_FILES_MAX];
	size_t n_files;
	int write_error; /* the first failed write's -errno: a discard counts the entry as a drop */
	bool chosen_uuid; /* lc_spool_txn_begin_uuid(): the commit checks that it is new */
};

static bool startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * Records a failed write to the spool's filesystem as part of the storage fault episode and
 * returns error: logged at error level when the episode begins or changes cause, at debug level
 * while it goes on, so that a full or read-only filesystem does not flood the log.
 */
_printf_(4, 5) static int spool_fail(struct lc_spool *s, int error, const char *op, const char *fmt,
				     ...)
{
	char path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	s->write_failures++;
	if (lc_storage_fault_set(streq(op, "save") ? &s->drops_fault : &s->fault, error, op, path,
				 lc_clock_ms(CLOCK_REALTIME), lc_clock_ms(CLOCK_MONOTONIC)))
		return log_error_errno(error, "Failed to %s %s: %m", op, path);
	return log_debug_errno(error, "Failed to %s %s, again: %m", op, path);
}

/* A write of kind op succeeded ("save": drops.json; NULL: an entry was committed, which proves
 * every other kind): ends the storage fault episode it belongs to. */
static void spool_write_ok(struct lc_spool *s, const char *op)
{
	struct lc_storage_fault *p = op && streq(op, "save") ? &s->drops_fault : &s->fault;
	const struct lc_storage_fault f = *p;

	if (f.error == 0 || (op && !streq(op, f.op)))
		return;
	if (!lc_storage_fault_clear(p))
		return;
	log_notice("Spool %s stores again after %" PRIu64 " failed write%s (the last: %s %s: "
		   "%s).",
		   s->dir, f.failures, f.failures == 1 ? "" : "s", f.op, f.path,
		   strerror(-f.error));
}

/* The filesystem refuses more data with error: the reason a refused entry is counted under. */
static enum lc_drop_reason write_error_reason(int error)
{
	return error == -ENOSPC || error == -EDQUOT ? LC_DROP_FREE_SPACE : LC_DROP_WRITE_ERROR;
}

int lc_entry_class_from_type(const char *type)
{
	for (size_t i = 0; type && i < ARRAY_SIZE(entry_types); i++)
		if (streq(type, entry_types[i].type))
			return (int)entry_types[i].cls;
	return -EINVAL;
}

static const char *entry_type_static(const char *type)
{
	for (size_t i = 0; i < ARRAY_SIZE(entry_types); i++)
		if (streq(type, entry_types[i].type))
			return entry_types[i].type;
	return NULL;
}

const char *lc_entry_class_name(enum lc_entry_class c)
{
	return (unsigned)c < _LC_CLASS_MAX ? class_names[c] : NULL;
}

const char *lc_drop_reason_name(enum lc_drop_reason r)
{
	return (unsigned)r < _LC_DROP_MAX ? reason_names[r] : NULL;
}

/* ---- names ---- */

static bool file_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > FILE_NAME_MAX || streq(name, ".") || streq(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

/* Digits of a created_ms prefix: CREATED_DIGITS to CREATED_DIGITS_MAX followed by '_', else 0. */
static size_t created_prefix_len(const char *name)
{
	size_t n = strspn(name, "0123456789");

	return n >= CREATED_DIGITS && n <= CREATED_DIGITS_MAX && name[n] == '_' ? n : 0;
}

/* Whether a directory by this name is meant to be an entry (valid or not) rather than a stranger.
 */
static bool entry_name_like(const char *name)
{
	return created_prefix_len(name) > 0;
}

/* Parses "<created_ms>_<type>_<uuid>" into ret (bytes left 0). Returns 0 or -EINVAL. */
static int entry_name_parse(const char *name, struct lc_spool_entry *ret)
{
	struct lc_spool_entry e = { 0 };
	size_t digits = created_prefix_len(name), len = strlen(name), type_len;
	const char *type, *uuid;
	int cls;

	if (digits == 0 || len >= sizeof(e.name) || len < digits + 1 + 1 + 1 + LC_UUID_LEN)
		return -EINVAL;
	for (size_t i = 0; i < digits; i++) {
		unsigned d = (unsigned)(name[i] - '0');

		if (e.created_ms > (UINT64_MAX - d) / 10)
			return -EINVAL;
		e.created_ms = e.created_ms * 10 + d;
	}
	uuid = name + len - LC_UUID_LEN;
	if (uuid[-1] != '_' || !lc_uuid_valid(uuid))
		return -EINVAL;
	type = name + digits + 1;
	type_len = (size_t)(uuid - 1 - type);
	if (type_len == 0 || type_len >= sizeof(e.type))
		return -EINVAL;
	memcpy(e.type, type, type_len);
	cls = lc_entry_class_from_type(e.type);
	if (cls < 0)
		return -EINVAL;
	e.cls = (enum lc_entry_class)cls;
	memcpy(e.uuid, uuid, LC_UUID_LEN + 1);
	memcpy(e.name, name, len + 1);
	*ret = e;
	return 0;
}

/* The class a malformed entry is counted under: its type's if the name has a known one. */
static enum lc_entry_class entry_name_guess_class(const char *name)
{
	const char *type = name + created_prefix_len(name) + 1;
	const char *end = strrchr(type, '_');
	char buf[32];
	int cls;

	if (!end || (size_t)(end - type) >= sizeof(buf))
		return LC_CLASS_METRICS;
	memcpy(buf, type, (size_t)(end - type));
	buf[end - type] = 0;
	cls = lc_entry_class_from_type(buf);
	return cls < 0 ? LC_CLASS_METRICS : (enum lc_entry_class)cls;
}

/* ---- the index ---- */

static int entry_cmp(const struct lc_spool_entry *a, uint64_t created_ms, const char *name)
{
	if (a->created_ms != created_ms)
		return a->created_ms < created_ms ? -1 : 1;
	return strcmp(a->name, name);
}

static int entry_qsort_cmp(const void *a, const void *b)
{
	const struct lc_spool_entry *y = b;

	return entry_cmp(a, y->created_ms, y->name);
}

static struct lc_spool_entry *index_at(const struct lc_spool *s, size_t i)
{
	return &s->items[s->head + i];
}

/* The index as an array, oldest first: what the eviction decisions (evict.h) are asked about. */
static const struct lc_spool_entry *index_entries(const struct lc_spool *s)
{
	return s->items ? s->items + s->head : NULL;
}

/* First position whose entry is not before (created_ms, name). */
static size_t index_lower_bound(const struct lc_spool *s, uint64_t created_ms, const char *name)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (entry_cmp(index_at(s, mid), created_ms, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct lc_spool_entry *index_find_name(const struct lc_spool *s, uint64_t created_ms,
						    const char *name)
{
	size_t i = index_lower_bound(s, created_ms, name);

	return i < s->n && entry_cmp(index_at(s, i), created_ms, name) == 0 ? index_at(s, i) : NULL;
}

/* Makes room for one more entry at the back; called before a commit becomes visible, so that
 * recording it cannot fail afterwards. */
static int index_reserve(struct lc_spool *s)
{
	struct lc_spool_entry *p;
	size_t want;

	if (s->head + s->n < s->alloc)
		return 0;
	if (s->head > 0) {
		memmove(s->items, s->items + s->head, s->n * sizeof(*s->items));
		s->head = 0;
		return 0;
	}
	want = s->alloc ? s->alloc * 2 : 64;
	if (want > LC_SPOOL_ENTRIES_MAX + 1)
		want = LC_SPOOL_ENTRIES_MAX + 1;
	if (want <= s->alloc)
		return -ENOSPC;
	p = reallocarray(s->items, want, sizeof(*p));
	if (!p)
		return -ENOMEM;
	s->items = p;
	s->alloc = want;
	return 0;
}

static void index_insert(struct lc_spool *s, const struct lc_spool_entry *e)
{
	size_t i = index_lower_bound(s, e->created_ms, e->name);

	/* index_reserve() made room at the back. */
	memmove(index_at(s, i + 1), index_at(s, i), (s->n - i) * sizeof(*s->items));
	*index_at(s, i) = *e;
	s->n++;
	s->bytes += e->bytes;
}

static void index_remove(struct lc_spool *s, size_t i)
{
	s->bytes -= MIN(s->bytes, index_at(s, i)->bytes);
	if (i < s->n / 2) {
		memmove(index_at(s, 1), index_at(s, 0), i * sizeof(*s->items));
		s->head++;
	} else {
		memmove(index_at(s, i), index_at(s, i + 1), (s->n - i - 1) * sizeof(*s->items));
	}
	if (--s->n == 0)
		s->head = 0;
}

/* ---- drop counters ---- */

static void drop_count(struct lc_spool *s, enum lc_entry_class c, enum lc_drop_reason r)
{
	s->drops[c][r]++;
	s->unsaved[c][r]++;
	s->drops_dirty = true;
}

/* Counts n[c] drops of reason for each class c. */
static void drops_count_n(struct lc_spool *s, const uint64_t n[_LC_CLASS_MAX],
			  enum lc_drop_reason reason)
{
	for (size_t c = 0; c < _LC_CLASS_MAX; c++) {
		s->drops[c][reason] += n[c];
		s->unsaved[c][reason] += n[c];
		s->drops_dirty = s->drops_dirty || n[c] > 0;
	}
}

/* Takes back n[c] drops of reason counted before deletions that then failed or were not needed:
 * those entries are still there. The next write of the counters carries it. */
static void drops_uncount_n(struct lc_spool *s, const uint64_t n[_LC_CLASS_MAX],
			    enum lc_drop_reason reason)
{
	for (size_t c = 0; c < _LC_CLASS_MAX; c++) {
		s->drops[c][reason] -= MIN(n[c], s->drops[c][reason]);
		s->unsaved[c][reason] -= MIN(n[c], s->unsaved[c][reason]);
		s->drops_dirty = s->drops_dirty || n[c] > 0;
	}
}

/* The counters by class and reason; with skip_zero, classes that never dropped are left out. */
static json_object *drops_to_json(const struct lc_spool *s, bool skip_zero, uint64_t *ret_total)
{
	json_object *root = json_object_new_object();
	uint64_t total = 0;

	if (!root)
		return NULL;
	for (size_t c = 0; c < _LC_CLASS_MAX; c++) {
		json_object *o;
		uint64_t sum = 0;

		for (size_t r = 0; r < _LC_DROP_MAX; r++)
			sum += s->drops[c][r];
		if (skip_zero && sum == 0)
			continue;
		o = json_object_new_object();

		if (lc_json_add(root, class_names[c], o) < 0) {
			json_object_put(root);
			return NULL;
		}
		for (size_t r = 0; r < _LC_DROP_MAX; r++) {
			if (lc_json_add(o, reason_names[r],
					json_object_new_uint64(s->drops[c][r])) < 0) {
				json_object_put(root);
				return NULL;
			}
			total += s->drops[c][r];
		}
	}
	if (ret_total)
		*ret_total = total;
	return root;
}

/* Reads drops.json into ret; a missing file is all zeros, a malformed one is logged and zeros. */
static void drops_read(const struct lc_spool *s, uint64_t ret[_LC_CLASS_MAX][_LC_DROP_MAX])
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	json_object *root = NULL;
	size_t size;
	int r;

	memset(ret, 0, sizeof(uint64_t) * _LC_CLASS_MAX * _LC_DROP_MAX);
	if (asprintf(&path, "%s/" DROPS_FILE, s->dir) < 0) {
		path = NULL;
		log_oom();
		return;
	}
	r = lc_read_file(path, DROPS_FILE_MAX, &buf, &size);
	if (r == -ENOENT)
		return;
	if (r < 0) {
		log_warning_errno(r, "Failed to read %s, counting drops from zero: %m", path);
		return;
	}
	root = json_tokener_parse(buf);
	if (!root || !json_object_is_type(root, json_type_object) || strlen(buf) != size) {
		log_warning("%s: not a JSON object of drop counters, counting drops from zero.",
			    path);
		json_object_put(root);
		return;
	}
	for (size_t c = 0; c < _LC_CLASS_MAX; c++) {
		json_object *o, *v;

		if (!json_object_object_get_ex(root, class_names[c], &o) ||
		    !json_object_is_type(o, json_type_object))
			continue;
		for (size_t k = 0; k < _LC_DROP_MAX; k++)
			if (json_object_object_get_ex(o, reason_names[k], &v) &&
			    json_object_is_type(v, json_type_int))
				ret[c][k] = json_object_get_uint64(v);
	}
	json_object_put(root);
}

/* Takes the counters another process may have added, keeping the ones not yet written here. */
static void drops_reload(struct lc_spool *s)
{
	uint64_t file[_LC_CLASS_MAX][_LC_DROP_MAX];

	drops_read(s, file);
	for (size_t c = 0; c < _LC_CLASS_MAX; c++)
		for (size_t r = 0; r < _LC_DROP_MAX; r++)
			s->drops[c][r] = file[c][r] + s->unsaved[c][r];
}

/* Writes the counters if they changed; a failure is logged and retried at the next change. */
static void drops_flush(struct lc_spool *s)
{
	_cleanup_free_ char *path = NULL;
	json_object *j;
	const char *text;
	int r;

	if (!s->drops_dirty)
		return;
	j = drops_to_json(s, false, NULL);
	text = j ? json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN) : NULL;
	if (!text || asprintf(&path, "%s/" DROPS_FILE, s->dir) < 0) {
		path = NULL;
		json_object_put(j);
		log_oom();
		return;
	}
	r = lc_write_file_atomic(path, text, strlen(text), 0600);
	json_object_put(j);
	if (r < 0) {
		/* Kept in memory (and in `faultctl status`): written with the next change. */
		(void)spool_fail(s, r, "save", "%s", path);
		return;
	}
	s->changed = true;
	spool_write_ok(s, "save");
	memset(s->unsaved, 0, sizeof(s->unsaved));
	s->drops_dirty = false;
}

/* ---- removing directories ---- */

/* Unlinks the plain files in the directory open at fd (spool directories hold nothing else;
 * an empty subdirectory is removed too). Returns 0 or the first -errno. */
static int dir_empty(int fd)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int dfd, r = 0;

	dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return negative_errno();
	d = fdopendir(dfd);
	if (!d) {
		r = negative_errno();
		safe_close(dfd);
		return r;
	}
	while ((errno = 0, de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (unlinkat(dfd, de->d_name, 0) < 0 &&
		    (errno != EISDIR || unlinkat(dfd, de->d_name, AT_REMOVEDIR) < 0) && r == 0)
			r = negative_errno();
	}
	if (errno != 0 && r == 0)
		r = negative_errno();
	return r;
}

/* Removes the directory name under dir_fd with its files; fd, if not negative, is it open. */
static int dir_remove(int dir_fd, const char *name, int fd)
{
	_cleanup_close_ int own = -1;
	int r;

	if (fd < 0) {
		fd = own = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return negative_errno();
	}
	r = dir_empty(fd);
	if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0)
		return r < 0 ? r : negative_errno();
	return 0;
}

/*
 * Deletes the entry directory name: renamed to .del-<uuid> and that made durable before any file
 * goes, so that a crash part-way leaves a leftover for lc_spool_open() and never an entry with
 * files missing. Returns 0 once the entry is no longer visible, or -errno.
 */
static int entry_dir_delete(struct lc_spool *s, const char *name)
{
	char uuid[LC_UUID_LEN + 1], del[sizeof(DEL_PREFIX) + LC_UUID_LEN];
	int r;

	r = lc_uuid_random(uuid);
	if (r < 0)
		return log_error_errno(r, "Failed to make a UUID: %m");
	snprintf(del, sizeof(del), DEL_PREFIX "%s", uuid);
	if (renameat(s->dir_fd, name, s->dir_fd, del) < 0)
		return spool_fail(s, -errno, "delete", "%s/%s", s->dir, name);
	spool_write_ok(s, "delete");
	s->changed = true;
	if (fsync(s->dir_fd) < 0) {
		/* Until the rename is durable the files must stay: lc_spool_open() finishes. */
		log_warning_errno(errno, "Failed to fsync %s, leaving %s for the next start: %m",
				  s->dir, del);
		return 0;
	}
	r = dir_remove(s->dir_fd, del, -1);
	if (r < 0)
		log_warning_errno(r, "Failed to remove %s/%s, leaving it for the next start: %m",
				  s->dir, del);
	return 0;
}

/*
 * Deletes the i-th entry. A caller that drops it has counted it and written the counters
 * (drops_flush()) before: a crash must never leave an entry gone uncounted (it may count one that
 * stays). Evictions count each victim just before it goes (evict_one()); expiry and removals,
 * which may drop hundreds of entries at once, count all of them in one write first.
 */
static int index_delete(struct lc_spool *s, size_t i)
{
	int r;

	r = entry_dir_delete(s, index_at(s, i)->name);
	if (r < 0)
		return r;
	index_remove(s, i);
	return 0;
}

/* ---- scanning ---- */

/* Sums the sizes of entry name's files. -EBADMSG when manifest.json is missing or a member is not
 * a regular file with a valid name, -ENOTDIR when name is no directory. */
static int entry_measure(int dir_fd, const char *name, uint64_t *ret_bytes)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	uint64_t bytes = 0;
	bool manifest = false;
	size_t n = 0;
	int fd, r;

	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ELOOP ? -ENOTDIR : negative_errno();
	d = fdopendir(fd);
	if (!d) {
		r = negative_errno();
		safe_close(fd);
		return r;
	}
	while ((errno = 0, de = readdir(d))) {
		struct stat st;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (!file_name_valid(de->d_name) || ++n > ENTRY_FILES_MAX)
			return -EBADMSG;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return negative_errno();
		if (!S_ISREG(st.st_mode))
			return -EBADMSG;
		bytes += (uint64_t)st.st_size;
		manifest = manifest || streq(de->d_name, MANIFEST);
	}
	if (errno != 0)
		return negative_errno();
	if (!manifest)
		return -EBADMSG;
	*ret_bytes = bytes;
	return 0;
}

static bool is_dir(int dir_fd, const struct dirent *de)
{
	struct stat st;

	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_DIR;
	return fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISDIR(st.st_mode);
}

/* Removes a .tmp- leftover unless a live transaction (holding its flock) still writes into it. */
static void leftover_tmp_remove(struct lc_spool *s, const char *name)
{
	_cleanup_close_ int fd = -1;
	int r;

	fd = openat(s->dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		log_warning_errno(errno, "Failed to open %s/%s, leaving it alone: %m", s->dir,
				  name);
		return;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			log_warning_errno(errno, "Failed to lock %s/%s, leaving it alone: %m",
					  s->dir, name);
		return;
	}
	r = dir_remove(s->dir_fd, name, fd);
	if (r < 0)
		log_warning_errno(r, "Failed to remove %s/%s, ignoring: %m", s->dir, name);
	else
		s->changed = true;
}

static void leftover_remove(struct lc_spool *s, const char *name, bool is_directory)
{
	int r = 0;

	if (is_directory)
		r = dir_remove(s->dir_fd, name, -1);
	else if (unlinkat(s->dir_fd, name, 0) < 0)
		r = negative_errno();
	if (r < 0)
		log_warning_errno(r, "Failed to remove %s/%s, ignoring: %m", s->dir, name);
	else
		s->changed = true;
}

struct scan {
	struct lc_spool_entry *items;
	size_t n, alloc;
	char **invalid; /* malformed entries, deleted once the directory is read */
	size_t n_invalid, alloc_invalid;
	size_t n_unknown;
	char unknown[UNKNOWN_DISPLAY_MAX];
	bool full;
};

static int scan_add(struct scan *sc, const struct lc_spool_entry *e)
{
	if (sc->n >= LC_SPOOL_ENTRIES_MAX) {
		sc->full = true;
		return 0;
	}
	if (sc->n == sc->alloc) {
		size_t want = MIN(MAX(sc->alloc * 2, (size_t)64), (size_t)LC_SPOOL_ENTRIES_MAX);
		struct lc_spool_entry *p = reallocarray(sc->items, want, sizeof(*p));

		if (!p)
			return -ENOMEM;
		sc->items = p;
		sc->alloc = want;
	}
	sc->items[sc->n++] = *e;
	return 0;
}

static int scan_add_invalid(struct scan *sc, const char *name)
{
	char *copy;

	if (sc->n_invalid == sc->alloc_invalid) {
		size_t want = MAX(sc->alloc_invalid * 2, (size_t)8);
		char **p = reallocarray(sc->invalid, want, sizeof(*p));

		if (!p)
			return -ENOMEM;
		sc->invalid = p;
		sc->alloc_invalid = want;
	}
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	sc->invalid[sc->n_invalid++] = copy;
	return 0;
}

static void scan_done(struct scan *sc)
{
	free(sc->items);
	for (size_t i = 0; i < sc->n_invalid; i++)
		free(sc->invalid[i]);
	free(sc->invalid);
}

/* Handles one directory entry of the spool; at open, leftovers are removed and strangers noted. */
static int scan_one(struct lc_spool *s, struct scan *sc, int fd, const struct dirent *de,
		    bool at_open)
{
	const char *name = de->d_name;
	struct lc_spool_entry e;
	const struct lc_spool_entry *known;
	int r;

	if (streq(name, ".") || streq(name, "..") || streq(name, LOCK_FILE) ||
	    streq(name, DROPS_FILE))
		return 0;
	if (startswith(name, TMP_PREFIX) || startswith(name, DEL_PREFIX) ||
	    startswith(name, DROPS_TMP_PREFIX)) {
		bool dir = is_dir(fd, de);

		/* Between opens these belong to live commits and deletions of other processes. */
		if (!at_open)
			return 0;
		if (startswith(name, TMP_PREFIX) && dir)
			leftover_tmp_remove(s, name);
		else if (startswith(name, DEL_PREFIX) && dir)
			leftover_remove(s, name, true);
		else if (startswith(name, DROPS_TMP_PREFIX) && !dir)
			leftover_remove(s, name, false);
		else
			goto unknown;
		return 0;
	}
	if (!entry_name_like(name) || !is_dir(fd, de))
		goto unknown;
	if (entry_name_parse(name, &e) < 0)
		return scan_add_invalid(sc, name);
	known = index_find_name(s, e.created_ms, name);
	if (known)
		return scan_add(sc, known);
	r = entry_measure(fd, name, &e.bytes);
	if (r == -EBADMSG)
		return scan_add_invalid(sc, name);
	if (r < 0) {
		log_warning_errno(r, "Failed to read spool entry %s/%s, ignoring it: %m", s->dir,
				  name);
		return 0;
	}
	return scan_add(sc, &e);

unknown:
	if (sc->n_unknown++ == 0)
		snprintf(sc->unknown, sizeof(sc->unknown), "%.*s", UNKNOWN_DISPLAY_MAX - 1, name);
	return 0;
}

/* Rebuilds the index from the directory, keeping what it knows of entries already indexed. */
static int spool_scan(struct lc_spool *s, bool at_open)
{
	_cleanup_(scan_done) struct scan sc = { 0 };
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd, r;

	fd = openat(s->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(errno, "Failed to open spool directory %s: %m", s->dir);
	d = fdopendir(fd);
	if (!d) {
		r = negative_errno();
		safe_close(fd);
		return log_error_errno(r, "Failed to read spool directory %s: %m", s->dir);
	}
	while ((errno = 0, de = readdir(d))) {
		r = scan_one(s, &sc, fd, de, at_open);
		if (r < 0)
			return log_oom();
	}
	if (errno != 0)
		return log_error_errno(errno, "Failed to read spool directory %s: %m", s->dir);

	if (sc.n > 1)
		qsort(sc.items, sc.n, sizeof(*sc.items), entry_qsort_cmp);
	free(s->items);
	s->items = TAKE_PTR(sc.items);
	s->head = 0;
	s->n = sc.n;
	s->alloc = sc.alloc;
	s->bytes = 0;
	for (size_t i = 0; i < s->n; i++)
		s->bytes += s->items[i].bytes;

	for (size_t i = 0; i < sc.n_invalid; i++) {
		log_warning("Spool entry %s/%s is malformed, removing it.", s->dir, sc.invalid[i]);
		if (entry_dir_delete(s, sc.invalid[i]) >= 0)
			drop_count(s, entry_name_guess_class(sc.invalid[i]), LC_DROP_INVALID);
	}
	if (at_open && sc.n_unknown > 0)
		log_warning(
			"Spool directory %s holds %zu unexpected file(s) such as \"%s\", leaving "
			"them alone.",
			s->dir, sc.n_unknown, sc.unknown);
	if (sc.full)
		log_warning("Spool directory %s holds more than %d entries, ignoring the rest.",
			    s->dir, LC_SPOOL_ENTRIES_MAX);
	return 0;
}

/* ---- locking and change detection ---- */

static int flock_retry(int fd, int op)
{
	while (flock(fd, op) < 0)
		if (errno != EINTR)
			return negative_errno();
	return 0;
}

/* Opens (creating them) the directory and its lock file, replacing the descriptors held. */
static int spool_open_dir(struct lc_spool *s)
{
	_cleanup_close_ int dfd = -1, lfd = -1;
	struct stat st;
	int r;

	r = lc_mkdir_p(s->dir, 0700);
	if (r < 0)
		return log_error_errno(r, "Failed to create spool directory %s: %m", s->dir);
	dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &st) < 0)
		return log_error_errno(errno, "Failed to open spool directory %s: %m", s->dir);
	/* Read-only: a descriptor open for writing all along would keep the filesystem from being
	 * remounted read-only (spool_record() opens the file to write the counter). */
	lfd = openat(dfd, LOCK_FILE, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (lfd < 0)
		return log_error_errno(errno, "Failed to open %s/" LOCK_FILE ": %m", s->dir);
	safe_close(s->dir_fd);
	safe_close(s->lock_fd);
	s->dir_fd = TAKE_FD(dfd);
	s->lock_fd = TAKE_FD(lfd);
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->seen_valid = false;
	return 0;
}

static void spool_unlock(struct lc_spool *s)
{
	s->synced = false;
	(void)flock(s->lock_fd, LOCK_UN);
}

/* Takes the lock, first following the path if the directory was removed or replaced. */
static int spool_lock(struct lc_spool *s)
{
	struct stat st;
	int r;

	r = flock_retry(s->lock_fd, LOCK_EX);
	if (r < 0)
		return log_error_errno(r, "Failed to lock spool %s: %m", s->dir);
	s->synced = false;
	/* A directory that was removed has no links left, even if a new one got its inode. */
	if (stat(s->dir, &st) >= 0 && st.st_dev == s->dev && st.st_ino == s->ino &&
	    fstat(s->dir_fd, &st) >= 0 && st.st_nlink > 0)
		return 0;

	log_warning("Spool directory %s was removed or replaced, opening it again.", s->dir);
	spool_unlock(s);
	r = spool_open_dir(s);
	if (r < 0)
		return r;
	r = flock_retry(s->lock_fd, LOCK_EX);
	if (r < 0)
		return log_error_errno(r, "Failed to lock spool %s: %m", s->dir);
	return 0;
}

static int token_read(const struct lc_spool *s, struct spool_token *ret)
{
	char buf[32];
	struct stat st;
	ssize_t n;

	if (fstat(s->dir_fd, &st) < 0)
		return negative_errno();
	n = pread(s->lock_fd, buf, sizeof(buf) - 1, 0);
	if (n < 0)
		return negative_errno();
	buf[n] = 0;
	/* Garbage reads as some number: only whether it changed matters. */
	*ret = (struct spool_token){
		.mtim = st.st_mtim,
		.dev = st.st_dev,
		.ino = st.st_ino,
		.gen = strtoull(buf, NULL, 10),
	};
	return 0;
}

static bool token_equal(const struct spool_token *a, const struct spool_token *b)
{
	return a->mtim.tv_sec == b->mtim.tv_sec && a->mtim.tv_nsec == b->mtim.tv_nsec &&
	       a->dev == b->dev && a->ino == b->ino && a->gen == b->gen;
}

/* Whether nothing changed the directory since this process last recorded it (under the lock). */
static bool spool_in_sync(const struct lc_spool *s)
{
	struct spool_token t;

	return s->seen_valid && token_read(s, &t) >= 0 && token_equal(&t, &s->seen);
}

/* Rescans and reloads the drop counters when another process changed the spool. */
static int spool_sync(struct lc_spool *s)
{
	int r;

	if (!spool_in_sync(s)) {
		r = spool_scan(s, false);
		if (r < 0)
			return r;
		drops_reload(s);
	}
	s->synced = true;
	return 0;
}

/*
 * Records the directory as this process leaves it (under the lock). After a change, bumps the
 * counter first so that other processes notice even when the mtime did not move; when the index
 * may be stale, forgets what it saw so that the next look rescans.
 */
static void spool_record(struct lc_spool *s)
{
	struct spool_token t;

	if (s->changed && token_read(s, &t) >= 0) {
		_cleanup_close_ int fd = -1;
		char buf[24];
		ssize_t w = -1;
		int n;

		n = snprintf(buf, sizeof(buf), "%020" PRIu64 "\n", t.gen + 1);
		fd = openat(s->dir_fd, LOCK_FILE, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
		if (fd >= 0)
			w = pwrite(fd, buf, (size_t)n, 0);
		/* A failed write of the storage episode, not fatal: other processes still see the
		 * directory's mtime move (unless within one clock tick). */
		if (w != n)
			(void)spool_fail(s, w < 0 ? -errno : -EIO, "mark", "%s/" LOCK_FILE, s->dir);
	}
	s->changed = false;
	s->seen_valid = s->synced && token_read(s, &s->seen) >= 0;
}

/* Ends a change made under the lock: writes the counters, records the directory, unlocks. */
static void spool_done(struct lc_spool *s)
{
	drops_flush(s);
	spool_record(s);
	spool_unlock(s);
}

/* ---- opening ---- */

int lc_spool_open(const char *dir, const struct lc_spool_limits *limits, struct lc_spool **ret)
{
	struct lc_spool *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->dir_fd = s->lock_fd = -1;
	if (limits)
		s->limits = *limits;
	s->dir = strdup(dir);
	if (!s->dir) {
		lc_spool_free(s);
		return -ENOMEM;
	}
	r = spool_open_dir(s);
	if (r < 0)
		goto fail;
	r = flock_retry(s->lock_fd, LOCK_EX);
	if (r < 0) {
		log_error_errno(r, "Failed to lock spool %s: %m", s->dir);
		goto fail;
	}
	/* The counters first: removing malformed entries adds to them. */
	drops_reload(s);
	r = spool_scan(s, true);
	if (r < 0) {
		spool_unlock(s);
		goto fail;
	}
	s->synced = true;
	spool_done(s);
	*ret = s;
	return 0;
fail:
	lc_spool_free(s);
	return r;
}

struct lc_spool *lc_spool_free(struct lc_spool *s)
{
	if (!s)
		return NULL;
	safe_close(s->dir_fd);
	safe_close(s->lock_fd);
	free(s->items);
	free(s->dir);
	free(s);
	return NULL;
}

void lc_spool_set_limits(struct lc_spool *s, const struct lc_spool_limits *limits)
{
	s->limits = *limits;
}

const char *lc_spool_dir(const struct lc_spool *s)
{
	return s->dir;
}

void lc_spool_set_statvfs(struct lc_spool *s, lc_spool_statvfs_t fn, void *userdata)
{
	s->statvfs_fn = fn;
	s->statvfs_userdata = userdata;
}

int lc_spool_refresh(struct lc_spool *s)
{
	int r;

	r = spool_lock(s);
	if (r < 0)
		return r;
	r = spool_sync(s);
	spool_done(s);
	return r;
}

/* ---- limits ---- */

/* The spool's filesystem as statvfs(2) (or the test seam) describes it. Returns 0 or -errno. */
static int spool_fs(const struct lc_spool *s, struct lc_evict_fs *ret)
{
	struct statvfs st;

	if (s->statvfs_fn) {
		int r = s->statvfs_fn(s->dir, &st, s->statvfs_userdata);

		if (r < 0)
			return r;
	} else if (statvfs(s->dir, &st) < 0) {
		return negative_errno();
	}
	*ret = (struct lc_evict_fs){
		.free_blocks = (uint64_t)st.f_bavail,
		.block_size = (uint64_t)st.f_frsize,
		.free_inodes = (uint64_t)st.f_favail,
	};
	return 0;
}

/* Deletes the entries older than max_age at now_ms (under the lock); returns how many. */
static int expire_locked(struct lc_spool *s, uint64_t now_ms)
{
	uint64_t n[_LC_CLASS_MAX] = { 0 };
	size_t first, k, done;
	int r = 0;

	k = lc_evict_expired(index_entries(s), s->n, s->limits.max_age_seconds, now_ms, &first);
	if (k == 0)
		return 0;
	for (size_t i = first; i < first + k; i++)
		n[index_at(s, i)->cls]++;
	/* All counted before the first goes, in one write: a crash part-way over-counts those that
	 * stayed (see index_delete()). */
	drops_count_n(s, n, LC_DROP_AGE);
	drops_flush(s);
	for (done = 0; done < k; done++) {
		enum lc_entry_class c = index_at(s, first)->cls;

		r = index_delete(s, first); /* the next one moves to first */
		if (r < 0)
			break;
		n[c]--;
	}
	drops_uncount_n(s, n, LC_DROP_AGE);
	return r < 0 ? r : (int)MIN(done, (size_t)INT_MAX);
}

/*
 * Evicts the i-th entry, counted as a drop of reason: the count is written before the entry goes,
 * so that a crash never hides an eviction and over-counts at most the one under way (a commit
 * may evict many; counting them all at once would leave every one not yet gone over-counted).
 */
static int evict_one(struct lc_spool *s, size_t i, enum lc_drop_reason reason)
{
	uint64_t n[_LC_CLASS_MAX] = { 0 };
	int r;

	n[index_at(s, i)->cls] = 1;
	drops_count_n(s, n, reason);
	drops_flush(s);
	r = index_delete(s, i);
	if (r < 0)
		drops_uncount_n(s, n, reason);
	return r;
}

/* Evicts the verdict's entries, the first ones in victim order for a new entry of class cls, each
 * logged as "Spool <dir><why>, dropping ...". Returns 0 or -errno. */
static int evict_apply(struct lc_spool *s, const struct lc_evict_verdict *v,
		       enum lc_entry_class cls, const char *why)
{
	ssize_t i;
	int r;

	for (size_t k = 0; k < v->count && (i = lc_evict_victim(index_entries(s), s->n, cls)) >= 0;
	     k++) {
		log_notice("Spool %s%s, dropping %s entry %s.", s->dir, why,
			   index_at(s, (size_t)i)->type, index_at(s, (size_t)i)->uuid);
		r = evict_one(s, (size_t)i, v->reason);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The verdict of the free-space limits on e, statvfs asked now; admitted without a free-space
 * limit (statvfs is not asked then) or when statvfs fails (logged). */
static struct lc_evict_verdict free_space_verdict(const struct lc_spool *s,
						  const struct lc_spool_entry *e)
{
	struct lc_evict_fs fs;
	int r;

	if (s->limits.min_free_bytes == 0 && s->limits.min_free_inodes == 0)
		return (struct lc_evict_verdict){ .action = LC_EVICT_ADMIT };
	r = spool_fs(s, &fs);
	if (r < 0) {
		log_warning_errno(r, "Failed to get free space of %s, ignoring: %m", s->dir);
		return (struct lc_evict_verdict){ .action = LC_EVICT_ADMIT };
	}
	return lc_evict_for_free_space(index_entries(s), s->n, &s->limits, &fs, e->cls);
}

/* Makes room for e (under the lock) as the limits decide, evicting; -ENOSPC (counted) when e
 * itself must go. The count and byte limits come first; then statvfs is asked after each
 * eviction, since what an entry frees on disk shows only there. */
static int limits_enforce(struct lc_spool *s, const struct lc_spool_entry *e)
{
	struct lc_evict_verdict v;
	char why[64];
	int r;

	s->low_space = false;
	for (;;) {
		v = lc_evict_for_limits(index_entries(s), s->n, &s->limits, e->cls, e->bytes);
		if (v.action == LC_EVICT_ADMIT) {
			v = free_space_verdict(s, e);
			if (v.action == LC_EVICT_ADMIT)
				return 0;
			s->low_space = true;
		}
		if (v.action == LC_EVICT_REFUSE) {
			drop_count(s, e->cls, v.reason);
			log_warning("Spool %s is full (%s), dropping new %s entry %s.", s->dir,
				    reason_names[v.reason], e->type, e->uuid);
			return -ENOSPC;
		}
		snprintf(why, sizeof(why), " is full (%s)", reason_names[v.reason]);
		r = evict_apply(s, &v, e->cls, why);
		if (r < 0)
			return r;
	}
}

int lc_spool_expire(struct lc_spool *s, uint64_t now_ms)
{
	int r;

	r = spool_lock(s);
	if (r < 0)
		return r;
	r = spool_sync(s);
	if (r >= 0)
		r = expire_locked(s, now_ms);
	spool_done(s);
	return r;
}

/* The index position of the committed entry with uuid, or -1; the search starts at *from, where
 * the last one ended (callers remove in index order), and leaves *from at the one found. */
static ssize_t index_find_uuid(const struct lc_spool *s, const char *uuid, size_t *from)
{
	for (size_t k = 0; k < s->n; k++) {
		size_t i = (*from + k) % s->n;

		if (streq(index_at(s, i)->uuid, uuid)) {
			*from = i;
			return (ssize_t)i;
		}
	}
	return -1;
}

int lc_spool_remove_many(struct lc_spool *s, const char *const *uuids, size_t n, int reason)
{
	char(*dels)[sizeof(DEL_PREFIX) + LC_UUID_LEN] = NULL;
	uint64_t counted[_LC_CLASS_MAX] = { 0 };
	size_t n_del = 0, from = 0;
	int r;

	if (reason >= _LC_DROP_MAX)
		return -EINVAL;
	if (n == 0)
		return 0;
	dels = calloc(n, sizeof(*dels));
	if (!dels)
		return -ENOMEM;
	r = spool_lock(s);
	if (r < 0)
		goto out;
	r = spool_sync(s);
	if (r < 0) {
		spool_done(s);
		goto out;
	}
	/* Drops are counted and written before any entry goes, as in index_delete(), once for all:
	 * a crash between the two then over-counts, and never hides one. Those that stay after all
	 * (a rename failed, a uuid was given twice) are taken back below. */
	if (reason >= 0) {
		for (size_t k = 0; k < n; k++) {
			ssize_t i = index_find_uuid(s, uuids[k], &from);

			if (i >= 0)
				counted[index_at(s, (size_t)i)->cls]++;
		}
		drops_count_n(s, counted, (enum lc_drop_reason)reason);
		drops_flush(s);
		from = 0;
	}
	/* Renames first, one fsync, then the files: after a power cut an entry is either still
	 * committed or a .del- leftover that lc_spool_open() finishes removing. */
	for (size_t k = 0; k < n; k++) {
		ssize_t i = index_find_uuid(s, uuids[k], &from);
		enum lc_entry_class c;
		char uuid[LC_UUID_LEN + 1];

		if (i < 0)
			continue;
		r = lc_uuid_random(uuid);
		if (r < 0) {
			log_error_errno(r, "Failed to make a UUID: %m");
			break;
		}
		snprintf(dels[n_del], sizeof(dels[n_del]), DEL_PREFIX "%s", uuid);
		c = index_at(s, (size_t)i)->cls;
		if (renameat(s->dir_fd, index_at(s, (size_t)i)->name, s->dir_fd, dels[n_del]) < 0) {
			r = spool_fail(s, -errno, "delete", "%s/%s", s->dir,
				       index_at(s, (size_t)i)->name);
			break;
		}
		spool_write_ok(s, "delete");
		s->changed = true;
		n_del++;
		index_remove(s, (size_t)i);
		counted[c] -= MIN(counted[c], 1);
	}
	if (reason >= 0)
		drops_uncount_n(s, counted, (enum lc_drop_reason)reason);
	if (n_del > 0 && fsync(s->dir_fd) < 0) {
		/* Until the renames are durable the files must stay: lc_spool_open() finishes. */
		log_warning_errno(errno,
				  "Failed to fsync %s, leaving %zu deleted entries for the "
				  "next start: %m",
				  s->dir, n_del);
	} else {
		for (size_t k = 0; k < n_del; k++) {
			int q = dir_remove(s->dir_fd, dels[k], -1);

			if (q < 0)
				log_warning_errno(q,
						  "Failed to remove %s/%s, leaving it for the next "
						  "start: %m",
						  s->dir, dels[k]);
		}
	}
	spool_done(s);
	if (r >= 0)
		r = (int)MIN(n_del, (size_t)INT_MAX);
out:
	free(dels);
	return r;
}

int lc_spool_remove(struct lc_spool *s, const char *uuid, int reason)
{
	int r = lc_spool_remove_many(s, &uuid, 1, reason);

	return r == 0 ? -ENOENT : MIN(r, 0);
}

/* ---- reading the index ---- */

size_t lc_spool_count(const struct lc_spool *s)
{
	return s->n;
}

const struct lc_spool_entry *lc_spool_entry_at(const struct lc_spool *s, size_t i)
{
	return i < s->n ? index_at(s, i) : NULL;
}

uint64_t lc_spool_bytes(const struct lc_spool *s)
{
	return s->bytes;
}

const struct lc_storage_fault *lc_spool_fault(const struct lc_spool *s)
{
	return &s->fault;
}

const struct lc_storage_fault *lc_spool_drops_fault(const struct lc_spool *s)
{
	return &s->drops_fault;
}

uint64_t lc_spool_write_failures(const struct lc_spool *s)
{
	return s->write_failures;
}

bool lc_spool_low_space(const struct lc_spool *s)
{
	return s->low_space;
}

uint64_t lc_spool_drops(const struct lc_spool *s, enum lc_entry_class c, enum lc_drop_reason r)
{
	return (unsigned)c < _LC_CLASS_MAX && (unsigned)r < _LC_DROP_MAX ? s->drops[c][r] : 0;
}

void lc_spool_take_unsaved_drops(struct lc_spool *s, uint32_t out[_LC_CLASS_MAX][_LC_DROP_MAX])
{
	for (size_t c = 0; c < _LC_CLASS_MAX; c++)
		for (size_t r = 0; r < _LC_DROP_MAX; r++) {
			out[c][r] = (uint32_t)MIN(s->unsaved[c][r], (uint64_t)UINT32_MAX);
			s->unsaved[c][r] = 0;
		}
	s->drops_dirty = false;
}

int lc_spool_add_drops(struct lc_spool *s, const uint32_t in[_LC_CLASS_MAX][_LC_DROP_MAX])
{
	int r;

	r = spool_lock(s);
	if (r < 0)
		return r;
	r = spool_sync(s);
	if (r >= 0)
		for (size_t c = 0; c < _LC_CLASS_MAX; c++)
			for (size_t k = 0; k < _LC_DROP_MAX; k++) {
				s->drops[c][k] += in[c][k];
				s->unsaved[c][k] += in[c][k];
				s->drops_dirty = s->drops_dirty || in[c][k] > 0;
			}
	spool_done(s);
	return r;
}

json_object *lc_spool_status(const struct lc_spool *s)
{
	json_object *root = NULL, *by_class = NULL, *drops = NULL;
	uint64_t counts[_LC_CLASS_MAX] = { 0 }, total = 0;

	for (size_t i = 0; i < s->n; i++)
		counts[index_at(s, i)->cls]++;
	by_class = json_object_new_object();
	if (!by_class)
		return NULL;
	for (size_t c = 0; c < _LC_CLASS_MAX; c++)
		if (lc_json_add(by_class, class_names[c], json_object_new_uint64(counts[c])) < 0)
			goto oom;
	drops = drops_to_json(s, true, &total);
	root = json_object_new_object();
	if (!drops || lc_json_add(root, "entries", json_object_new_uint64(s->n)) < 0 ||
	    lc_json_add(root, "bytes", json_object_new_uint64(s->bytes)) < 0)
		goto oom;
	if (s->n > 0 ? lc_json_add(root, "oldest_ms",
				   json_object_new_uint64(index_at(s, 0)->created_ms)) < 0
		     : lc_json_add_null(root, "oldest_ms") < 0)
		goto oom;
	if (s->n > 0) {
		time_t secs = (time_t)(index_at(s, 0)->created_ms / 1000);
		char stamp[32];
		struct tm tm;

		if (gmtime_r(&secs, &tm) &&
		    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm) &&
		    lc_json_add(root, "oldest", json_object_new_string(stamp)) < 0)
			goto oom;
	} else if (lc_json_add_null(root, "oldest") < 0) {
		goto oom;
	}
	if (lc_json_add(root, "by_class", TAKE_PTR(by_class)) < 0 ||
	    lc_json_add(root, "drops", TAKE_PTR(drops)) < 0 ||
	    lc_json_add(root, "drops_total", json_object_new_uint64(total)) < 0)
		goto oom;
	return root;
oom:
	json_object_put(by_class);
	json_object_put(drops);
	json_object_put(root);
	return NULL;
}

/* ---- transactions ---- */

static void txn_close_files(struct lc_spool_txn *t)
{
	for (size_t i = 0; i < t->n_files; i++)
		t->files[i].fd = safe_close(t->files[i].fd);
}

static void txn_free(struct lc_spool_txn *t)
{
	txn_close_files(t);
	safe_close(t->dir_fd);
	free(t);
}

/* Removes the temporary directory and frees t; locked: the caller holds the spool's lock. */
static void txn_discard(struct lc_spool_txn *t, bool locked)
{
	struct lc_spool *s = t->spool;
	bool took = false;
	int r;

	txn_close_files(t);
	/* Under the lock, and synced before the removal, so that this process's own removal does
	 * not look like another's change (and cost a rescan). */
	if (!locked && spool_lock(s) >= 0) {
		took = true;
		(void)spool_sync(s);
	}
	r = dir_remove(s->dir_fd, t->tmp, t->dir_fd);
	if (r < 0)
		log_warning_errno(r, "Failed to remove %s/%s, ignoring: %m", s->dir, t->tmp);
	/* An entry the filesystem would not store is a drop like one the limits refuse. */
	if (t->write_error < 0 && (locked || (took && s->synced)))
		drop_count(s, t->cls, write_error_reason(t->write_error));
	if (took) {
		if (s->synced) /* else the counters may be stale: the next change writes them */
			drops_flush(s);
		spool_record(s);
		spool_unlock(s);
	}
	txn_free(t);
}

/*
 * The filesystem refused a write of len bytes (0: unknown) with error: when it is full (ENOSPC,
 * EDQUOT), evicts the entry the limits would give up first for a new entry of class cls, counted
 * as a free_space drop, unless len could not fit even with every such entry gone: then nothing is
 * evicted in vain (lc_evict_for_full()). Returns true when one went and the write is worth trying
 * again.
 */
static bool spool_make_room(struct lc_spool *s, enum lc_entry_class cls, int error, size_t len)
{
	struct lc_evict_verdict v = { .action = LC_EVICT_REFUSE };
	struct lc_evict_fs fs;
	char why[96];
	int r;

	if (error != -ENOSPC && error != -EDQUOT)
		return false;
	r = spool_lock(s);
	if (r < 0)
		return false;
	r = spool_sync(s);
	if (r >= 0) {
		/* Without statvfs (a length unknown, or it failed), any write may fit. */
		bool known = len > 0 && spool_fs(s, &fs) >= 0;

		v = lc_evict_for_full(index_entries(s), s->n, known ? &fs : NULL, cls, len);
	}
	if (v.action == LC_EVICT_REFUSE && v.count > 0)
		log_notice("Spool %s: the filesystem is full (%s) and %zu bytes would not fit even "
			   "without every entry worth no more, evicting none.",
			   s->dir, strerror(-error), len);
	if (v.action == LC_EVICT_EVICT) {
		snprintf(why, sizeof(why), ": the filesystem is full (%s)", strerror(-error));
		r = evict_apply(s, &v, cls, why);
	}
	spool_done(s);
	return v.action == LC_EVICT_EVICT && r >= 0;
}

/* A write of t's failed with error: remembered so that discarding t counts the drop. */
static int txn_fail(struct lc_spool_txn *t, int error, const char *op, const char *name)
{
	if (t->write_error == 0)
		t->write_error = error;
	return spool_fail(t->spool, error, op, "%s/%s%s%s", t->spool->dir, t->tmp, name ? "/" : "",
			  name ? name : "");
}

/* Begins an entry named uuid, or a random UUID when uuid is NULL. */
static int txn_begin(struct lc_spool *s, const char *type, const char *uuid,
		     struct lc_spool_txn **ret, char *ret_uuid)
{
	struct lc_spool_txn *t;
	int cls, r;

	cls = lc_entry_class_from_type(type);
	if (cls < 0)
		return log_error_errno(cls, "Unknown spool entry type \"%.32s\".",
				       type ? type : "");
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->spool = s;
	t->type = entry_type_static(type);
	t->cls = (enum lc_entry_class)cls;
	t->dir_fd = -1;
	if (uuid) {
		memcpy(t->uuid, uuid, LC_UUID_LEN + 1);
		t->chosen_uuid = true;
	} else {
		r = lc_uuid_random(t->uuid);
		if (r < 0) {
			free(t);
			return log_error_errno(r, "Failed to make a UUID: %m");
		}
	}
	snprintf(t->tmp, sizeof(t->tmp), TMP_PREFIX "%s", t->uuid);

	/* Under the lock, so that another process's lc_spool_open() never sees the directory
	 * before its flock marks it as in use. */
	for (;;) {
		r = spool_lock(s);
		if (r < 0) {
			free(t);
			return r;
		}
		s->synced = spool_in_sync(s);
		if (mkdirat(s->dir_fd, t->tmp, 0700) >= 0)
			break;
		r = -errno;
		spool_unlock(s);
		if (spool_make_room(s, t->cls, r, 0))
			continue;
		r = txn_fail(t, r, "create", NULL);
		/* Counted as a drop as if the transaction had begun and been discarded. */
		if (spool_lock(s) >= 0) {
			if (spool_sync(s) >= 0)
				drop_count(s, t->cls, write_error_reason(r));
			spool_done(s);
		}
		free(t);
		return r;
	}
	t->dir_fd = openat(s->dir_fd, t->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (t->dir_fd < 0 || flock(t->dir_fd, LOCK_EX | LOCK_NB) < 0) {
		r = log_error_errno(errno, "Failed to open %s/%s: %m", s->dir, t->tmp);
		(void)unlinkat(s->dir_fd, t->tmp, AT_REMOVEDIR);
		spool_unlock(s);
		txn_free(t);
		return r;
	}
	spool_record(s);
	spool_unlock(s);

	if (ret_uuid)
		memcpy(ret_uuid, t->uuid, LC_UUID_LEN + 1);
	*ret = t;
	return 0;
}

int lc_spool_txn_begin(struct lc_spool *s, const char *type, struct lc_spool_txn **ret,
		       char *ret_uuid)
{
	return txn_begin(s, type, NULL, ret, ret_uuid);
}

int lc_spool_txn_begin_uuid(struct lc_spool *s, const char *type, const char *uuid,
			    struct lc_spool_txn **ret)
{
	/* Lowercase only: the name in a batch, and the comparison with the index, are exact. */
	if (!uuid || !lc_uuid_valid(uuid) || strspn(uuid, "0123456789abcdef-") != LC_UUID_LEN)
		return -EINVAL;
	return txn_begin(s, type, uuid, ret, NULL);
}

/* Creates file name in the transaction's directory and returns its descriptor (kept by t). */
static int txn_create(struct lc_spool_txn *t, const char *name, int *ret_fd)
{
	int fd;

	if (!file_name_valid(name))
		return log_error_errno(EINVAL, "Invalid spool file name \"%.*s\".",
				       FILE_NAME_MAX + 1, name);
	if (t->n_files == 0 && !streq(name, MANIFEST))
		return log_error_errno(
			EINVAL, "The first file of a spool entry must be " MANIFEST ", not \"%s\".",
			name);
	for (size_t i = 0; i < t->n_files; i++)
		if (streq(t->files[i].name, name))
			return log_error_errno(EINVAL, "Spool entry %s already has a file \"%s\".",
					       t->uuid, name);
	if (t->n_files >= ENTRY_FILES_MAX)
		return log_error_errno(E2BIG, "Spool entry %s has too many files (at most %d).",
				       t->uuid, ENTRY_FILES_MAX);
	while ((fd = openat(t->dir_fd, name,
			    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
			    0600)) < 0) {
		int r = -errno;

		/* Out of inodes, as often as out of blocks. */
		if (!spool_make_room(t->spool, t->cls, r, 0))
			return txn_fail(t, r, "create", name);
	}
	snprintf(t->files[t->n_files].name, sizeof(t->files[0].name), "%s", name);
	t->files[t->n_files++].fd = fd;
	*ret_fd = fd;
	return 0;
}

int lc_spool_txn_open(struct lc_spool_txn *t, const char *name, int *ret_fd)
{
	return txn_create(t, name, ret_fd);
}

int lc_spool_txn_write(struct lc_spool_txn *t, const char *name, const void *data, size_t len)
{
	int fd, r;

	for (;;) {
		r = txn_create(t, name, &fd);
		if (r < 0)
			return r;
		r = lc_write_all(fd, data, len);
		if (r >= 0)
			return 0;
		/* Not part of the entry after all. */
		(void)unlinkat(t->dir_fd, name, 0);
		t->files[--t->n_files].fd = safe_close(fd);
		if (!spool_make_room(t->spool, t->cls, r, len))
			return txn_fail(t, r, "write", name);
	}
}

int lc_spool_txn_write_failed(struct lc_spool_txn *t, const char *name, int error, size_t len)
{
	if (error >= 0)
		return -EINVAL;
	if (spool_make_room(t->spool, t->cls, error, len))
		return 0;
	return txn_fail(t, error, "write", name);
}

struct lc_spool_txn *lc_spool_txn_abort(struct lc_spool_txn *t)
{
	if (t)
		txn_discard(t, false);
	return NULL;
}

/* Fsyncs and closes t's files and its directory; returns the bytes they hold in *ret_bytes. */
static int txn_sync(struct lc_spool_txn *t, uint64_t *ret_bytes)
{
	uint64_t bytes = 0;

	for (size_t i = 0; i < t->n_files; i++) {
		struct stat st;

		if (fstat(t->files[i].fd, &st) < 0 || fsync(t->files[i].fd) < 0)
			return txn_fail(t, -errno, "sync", t->files[i].name);
		bytes += (uint64_t)st.st_size;
		if (close(TAKE_FD(t->files[i].fd)) < 0 && errno != EINTR)
			return txn_fail(t, -errno, "close", t->files[i].name);
	}
	if (fsync(t->dir_fd) < 0)
		return txn_fail(t, -errno, "sync", NULL);
	*ret_bytes = bytes;
	return 0;
}

int lc_spool_txn_commit(struct lc_spool_txn *t, uint64_t now_ms)
{
	struct lc_spool *s = t->spool;
	struct lc_spool_entry e = {
		.cls = t->cls,
		.created_ms = now_ms,
	};
	int r;

	if (t->n_files == 0) {
		log_error("Spool entry %s has no " MANIFEST ", not committing it.", t->uuid);
		txn_discard(t, false);
		return -EINVAL;
	}
	r = txn_sync(t, &e.bytes);
	if (r < 0) {
		txn_discard(t, false);
		return r;
	}
	snprintf(e.name, sizeof(e.name), "%0*" PRIu64 "_%s_%s", CREATED_DIGITS, now_ms, t->type,
		 t->uuid);
	memcpy(e.uuid, t->uuid, sizeof(e.uuid));
	snprintf(e.type, sizeof(e.type), "%s", t->type);

	r = spool_lock(s);
	if (r < 0) {
		txn_discard(t, false);
		return r;
	}
	r = spool_sync(s);
	if (r >= 0 && t->chosen_uuid) {
		size_t from = 0;

		/* Committed before (a crash came before its producer knew): not twice. */
		if (index_find_uuid(s, t->uuid, &from) >= 0) {
			txn_discard(t, true);
			spool_done(s);
			return -EEXIST;
		}
	}
	if (r >= 0)
		r = expire_locked(s, now_ms);
	if (r >= 0)
		r = limits_enforce(s, &e);
	if (r >= 0 && (r = index_reserve(s)) < 0)
		log_error_errno(r, "Failed to grow the index of spool %s: %m", s->dir);
	if (r >= 0 && renameat(s->dir_fd, t->tmp, s->dir_fd, e.name) < 0)
		r = txn_fail(t, -errno, "commit", NULL);
	if (r < 0) {
		txn_discard(t, true);
		spool_done(s);
		return r;
	}
	s->changed = true;
	if (fsync(s->dir_fd) < 0) {
		/* Not durable, so not committed: take it back rather than report a failure for an
		 * entry that would be uploaded anyway. */
		r = spool_fail(s, -errno, "sync", "%s", s->dir);
		if (entry_dir_delete(s, e.name) >= 0)
			drop_count(s, e.cls, write_error_reason(r));
		else
			s->synced = false; /* it stays: the next operation rescans and indexes it */
		spool_done(s);
		txn_free(t);
		return r;
	}
	spool_write_ok(s, NULL);
	index_insert(s, &e);
	spool_done(s);
	txn_free(t);
	return 0;
}
