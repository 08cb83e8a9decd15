/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "pstore.h"

#define HEAD_MAX      4096	   /* bytes read to find a record's header */
#define SEEN_FILE_MAX (512 * 1024) /* pstore-seen.json: SEEN_MAX paths of two file names */
#define ARCHIVES_SCAN 64	   /* archive directories looked at when pruning */
#define ARCHIVE_FILES 4096	   /* files removed from one archive directory at most */

/* A record name: the pstore filesystem's "dmesg-<backend>-<id>", systemd-pstore's also
 * "dmesg.txt" (the parts of one dump joined). */
static bool record_name(const char *name, bool systemd)
{
	return strncmp(name, "dmesg-", 6) == 0 || (systemd && streq(name, "dmesg.txt"));
}

enum reboot_pstore_kind reboot_pstore_header_parse(const char *data, size_t size, char *why,
						   size_t why_size)
{
	const char *line = data, *end = data + size, *eol, *p;
	size_t word;

	if (size >= 4 && memcmp(data, "====", 4) == 0) {
		line = memchr(data, '\n', size);
		if (!line)
			goto unparsed;
		line++;
	}
	eol = memchr(line, '\n', (size_t)(end - line));
	if (!eol)
		eol = end;
	if (eol > line && eol[-1] == '\r')
		eol--;
	/* "<reason>#<count> Part<part>", as the kernel's pstore_dump() writes it. */
	for (p = line; p < eol && isalpha((unsigned char)*p); p++)
		;
	word = (size_t)(p - line);
	if (word == 0 || word >= why_size || word > 16 || p == eol || *p++ != '#')
		goto unparsed;
	if (p == eol || !isdigit((unsigned char)*p))
		goto unparsed;
	while (p < eol && isdigit((unsigned char)*p))
		p++;
	if ((size_t)(eol - p) < 6 || memcmp(p, " Part", 5) != 0)
		goto unparsed;
	p += 5;
	if (p == eol || !isdigit((unsigned char)*p))
		goto unparsed;
	while (p < eol && isdigit((unsigned char)*p))
		p++;
	if (p != eol)
		goto unparsed;

	memcpy(why, line, word);
	why[word] = 0;
	if (streq(why, "Panic"))
		return REBOOT_PSTORE_PANIC;
	if (streq(why, "Oops"))
		return REBOOT_PSTORE_OOPS;
	/* Emergency, Shutdown, Restart, Halt, Poweroff, or a newer kernel's: no crash. */
	return REBOOT_PSTORE_OTHER;
unparsed:
	snprintf(why, why_size, "no kmsg dump header");
	return REBOOT_PSTORE_UNPARSED;
}

struct candidates {
	struct reboot_pstore_record *v;
	size_t n, alloc;
	bool full;
};

static void candidates_free(struct candidates *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].rel);
		free(c->v[i].key);
	}
	free(c->v);
	*c = (struct candidates){};
}

/* Adds dir/name (or name when dir is NULL); past REBOOT_PSTORE_SCAN_MAX only notes that it is
 * full. Returns 0 or -ENOMEM. */
static int candidates_add(struct candidates *c, bool systemd, const char *dir, const char *name)
{
	char *rel;

	if (c->n >= REBOOT_PSTORE_SCAN_MAX) {
		c->full = true;
		return 0;
	}
	if (c->n == c->alloc) {
		size_t want = c->alloc ? c->alloc * 2 : 8;
		struct reboot_pstore_record *v = realloc(c->v, want * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->alloc = want;
	}
	if (dir) {
		if (asprintf(&rel, "%s/%s", dir, name) < 0)
			return -ENOMEM;
	} else {
		rel = strdup(name);
		if (!rel)
			return -ENOMEM;
	}
	c->v[c->n++] = (struct reboot_pstore_record){ .systemd = systemd, .rel = rel };
	return 0;
}

static int list_pstore_fs(const char *path, struct candidates *c)
{
	_cleanup_closedir_ DIR *d = opendir(path);
	struct dirent *de;
	int r;

	if (!d) {
		if (errno != ENOENT)
			log_warning_errno(errno, "Failed to list %s: %m; ignoring it.", path);
		return 0;
	}
	while ((de = readdir(d)) && !c->full) {
		if (!record_name(de->d_name, false))
			continue;
		r = candidates_add(c, false, NULL, de->d_name);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The records in one directory below systemd's pstore directory (one per dump it collected). */
static int list_systemd_dir(int parent_fd, const char *base, const char *name, struct candidates *c)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd, r;

	fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		log_warning_errno(errno, "Failed to open %s/%s: %m; ignoring it.", base, name);
		return 0;
	}
	d = fdopendir(fd);
	if (!d) {
		log_warning_errno(errno, "Failed to list %s/%s: %m; ignoring it.", base, name);
		safe_close(fd);
		return 0;
	}
	while ((de = readdir(d)) && !c->full) {
		if (!record_name(de->d_name, true))
			continue;
		r = candidates_add(c, true, name, de->d_name);
		if (r < 0)
			return r;
	}
	return 0;
}

static int list_systemd(const char *path, struct candidates *c)
{
	_cleanup_closedir_ DIR *d = opendir(path);
	struct dirent *de;
	struct stat st;
	int r;

	if (!d) {
		if (errno != ENOENT)
			log_warning_errno(errno, "Failed to list %s: %m; ignoring it.", path);
		return 0;
	}
	while ((de = readdir(d)) && !c->full) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile */
		if (S_ISDIR(st.st_mode))
			r = list_systemd_dir(dirfd(d), path, de->d_name, c);
		else if (record_name(de->d_name, true))
			r = candidates_add(c, true, NULL, de->d_name);
		else
			r = 0;
		if (r < 0)
			return r;
	}
	return 0;
}

static int record_cmp(const void *a, const void *b)
{
	const struct reboot_pstore_record *x = a, *y = b;

	if (x->systemd != y->systemd)
		return x->systemd ? 1 : -1;
	return strcmp(x->rel, y->rel);
}

static char *seen_path(const char *state_dir)
{
	return lc_path_prefix(state_dir, "/reboot/" REBOOT_PSTORE_SEEN_FILE);
}

/* The paths pstore-seen.json names; a damaged file is logged and counts as empty. */
static int seen_read(const char *state_dir, json_object **ret)
{
	_cleanup_free_ char *path = seen_path(state_dir), *text = NULL;
	json_object *o, *seen;
	size_t len;
	int r;

	if (!path)
		return -ENOMEM;
	*ret = NULL;
	r = lc_read_file(path, SEEN_FILE_MAX, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		log_warning_errno(r,
				  "Failed to read %s: %m; pstore records used before may be "
				  "counted again.",
				  path);
		return 0;
	}
	o = json_tokener_parse(text);
	if (!json_object_object_get_ex(o, "seen", &seen) ||
	    !json_object_is_type(seen, json_type_array)) {
		json_object_put(o);
		log_warning("%s: expected {\"seen\": [paths]}; pstore records used before may be "
			    "counted again.",
			    path);
		return 0;
	}
	*ret = o;
	return 0;
}

static bool seen_contains(json_object *o, const char *rel)
{
	json_object *seen;

	if (!o || !json_object_object_get_ex(o, "seen", &seen))
		return false;
	for (size_t i = 0; i < json_object_array_length(seen); i++) {
		json_object *s = json_object_array_get_idx(seen, i);

		if (json_object_is_type(s, json_type_string) &&
		    streq(json_object_get_string(s), rel))
			return true;
	}
	return false;
}

/* Reads the header of rec, found in dir, and sets its kind and why. Returns 0 or -ENOMEM. */
static int record_examine(const char *dir, struct reboot_pstore_record *rec)
{
	_cleanup_free_ char *path = NULL, *head = NULL;
	size_t size;
	bool truncated;
	int r;

	if (asprintf(&path, "%s/%s", dir, rec->rel) < 0)
		return -ENOMEM;
	r = lc_read_file_head(path, HEAD_MAX, &head, &size, &truncated);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		rec->kind = REBOOT_PSTORE_UNREADABLE;
		snprintf(rec->why, sizeof(rec->why), "unreadable: %s",
			 r == -EBADFD ? "not a regular file" : strerror(-r));
		log_warning("%s: pstore record %s, ignoring it.", path, rec->why);
		return 0;
	}
	rec->kind = reboot_pstore_header_parse(head, size, rec->why, sizeof(rec->why));
	if (rec->kind == REBOOT_PSTORE_UNPARSED)
		log_warning(
			"%s: pstore record without a kmsg dump header (compressed or damaged?); "
			"archiving it as it is.",
			path);
	else
		log_debug("%s: pstore record of a %s dump.", path, rec->why);
	return 0;
}

/* Sets rec->key (see pstore.h); -ENOENT when the record vanished. */
static int record_key(const char *fs_dir, struct reboot_pstore_record *rec)
{
	_cleanup_free_ char *path = NULL;
	struct stat st;

	if (rec->systemd) {
		rec->key = strdup(rec->rel);
		return rec->key ? 0 : -ENOMEM;
	}
	if (asprintf(&path, "%s/%s", fs_dir, rec->rel) < 0)
		return -ENOMEM;
	if (lstat(path, &st) < 0)
		return -errno;
	if (asprintf(&rec->key, "kernel/%s@%lld.%09ld.%lld", rec->rel, (long long)st.st_mtim.tv_sec,
		     st.st_mtim.tv_nsec, (long long)st.st_size) < 0) {
		rec->key = NULL;
		return -ENOMEM;
	}
	return 0;
}

int reboot_pstore_scan(const char *sysroot, const char *state_dir, struct reboot_pstore *ret)
{
	_cleanup_free_ char *fs_dir = lc_path_prefix(sysroot, "/sys/fs/pstore");
	_cleanup_free_ char *sd_dir = lc_path_prefix(sysroot, "/var/lib/systemd/pstore");
	_cleanup_(candidates_free) struct candidates c = {};
	_cleanup_(reboot_pstore_done) struct reboot_pstore ps = {};
	_cleanup_json_ json_object *seen = NULL;
	int r;

	if (!fs_dir || !sd_dir)
		return -ENOMEM;
	r = seen_read(state_dir, &seen);
	if (r < 0)
		return r;
	r = list_pstore_fs(fs_dir, &c);
	if (r < 0)
		return r;
	r = list_systemd(sd_dir, &c);
	if (r < 0)
		return r;
	if (c.full)
		log_warning(
			"More than %d pstore records in %s and %s; looking at the first %d only.",
			REBOOT_PSTORE_SCAN_MAX, fs_dir, sd_dir, REBOOT_PSTORE_SCAN_MAX);
	if (c.n > 0)
		qsort(c.v, c.n, sizeof(c.v[0]), record_cmp);

	ps.records = calloc(MIN(c.n, (size_t)REBOOT_PSTORE_RECORDS_MAX) + 1, sizeof(*ps.records));
	ps.seen = calloc(c.n + 1, sizeof(*ps.seen));
	if (!ps.records || !ps.seen)
		return -ENOMEM;
	for (size_t i = 0; i < c.n; i++) {
		struct reboot_pstore_record *rec = &c.v[i];

		r = record_key(fs_dir, rec);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			continue; /* gone since it was listed */
		if (seen_contains(seen, rec->key)) {
			ps.seen[ps.n_seen++] = TAKE_PTR(rec->key);
			continue;
		}
		if (ps.n == REBOOT_PSTORE_RECORDS_MAX) {
			/* Listed as used without being looked at: left for a later boot, they would
			 * be blamed on that boot's end. */
			ps.deferred++;
			ps.seen[ps.n_seen++] = TAKE_PTR(rec->key);
			continue;
		}
		r = record_examine(rec->systemd ? sd_dir : fs_dir, rec);
		if (r < 0)
			return r;
		ps.records[ps.n] = *rec;
		rec->rel = NULL;
		rec->key = NULL;
		ps.n++;
	}
	if (ps.deferred > 0)
		log_warning(
			"%zu pstore records beyond the %d looked at per boot are ignored (listed "
			"as used, not archived).",
			ps.deferred, REBOOT_PSTORE_RECORDS_MAX);
	*ret = ps;
	ps = (struct reboot_pstore){};
	return 0;
}

void reboot_pstore_done(struct reboot_pstore *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		free(ps->records[i].rel);
		free(ps->records[i].key);
	}
	free(ps->records);
	for (size_t i = 0; i < ps->n_seen; i++)
		free(ps->seen[i]);
	free(ps->seen);
	*ps = (struct reboot_pstore){};
}

/* The name of rec in the archive: its own, or "systemd-<dir>_<name>" for systemd's. */
static char *archive_name(const struct reboot_pstore_record *rec)
{
	char *name;

	if (!rec->systemd)
		return strdup(rec->rel);
	if (asprintf(&name, "systemd-%s", rec->rel) < 0)
		return NULL;
	for (char *s = name; *s; s++)
		if (*s == '/')
			*s = '_';
	return name;
}

/* Copies one record into the archive directory. Returns 0, or -errno after logging why. */
static int record_archive(const char *src, const char *archive_dir,
			  const struct reboot_pstore_record *rec)
{
	_cleanup_free_ char *data = NULL, *name = archive_name(rec), *dst = NULL;
	size_t size;
	bool truncated;
	int r;

	if (!name || asprintf(&dst, "%s/%s", archive_dir, name) < 0)
		return log_oom();
	r = lc_read_file_head(src, REBOOT_PSTORE_READ_MAX, &data, &size, &truncated);
	if (r < 0)
		return log_warning_errno(r, "Failed to read the pstore record %s: %m; leaving it.",
					 src);
	if (truncated)
		log_warning(
			"%s: pstore record larger than %d KiB; archiving the first %d KiB only.",
			src, REBOOT_PSTORE_READ_MAX / 1024, REBOOT_PSTORE_READ_MAX / 1024);
	r = lc_write_file_atomic(dst, data, size, 0600);
	if (r < 0)
		return log_warning_errno(r,
					 "Failed to archive the pstore record %s as %s: %m; "
					 "leaving it.",
					 src, dst);
	log_debug("Archived the pstore record %s as %s (%zu bytes).", src, dst, size);
	return 0;
}

/* Rewrites pstore-seen.json with the paths in kept and added (the newest SEEN_MAX); removes it
 * when there are none. */
static void seen_write(const char *state_dir, char *const *kept, size_t n_kept, char *const *added,
		       size_t n_added)
{
	_cleanup_free_ char *path = seen_path(state_dir);
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object *list = json_object_new_array();
	size_t total = n_kept + n_added, skip;
	const char *text;
	int r;

	if (lc_json_add(o, "seen", list) < 0 || !path) {
		log_oom();
		return;
	}
	if (total == 0) {
		if (unlink(path) < 0 && errno != ENOENT)
			log_warning_errno(errno, "Failed to remove %s: %m", path);
		return;
	}
	skip = total > REBOOT_PSTORE_SEEN_MAX ? total - REBOOT_PSTORE_SEEN_MAX : 0;
	if (skip > 0)
		log_warning(
			"%s: forgetting the %zu oldest of %zu systemd-pstore records, which may "
			"be used again.",
			path, skip, total);
	for (size_t i = skip; i < total; i++) {
		const char *s = i < n_kept ? kept[i] : added[i - n_kept];

		if (json_object_array_add(list, json_object_new_string(s)) < 0) {
			log_oom();
			return;
		}
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	r = text ? lc_write_file_atomic(path, text, strlen(text), 0600) : -ENOMEM;
	if (r < 0)
		log_warning_errno(r,
				  "Failed to write %s: %m; records systemd-pstore kept may be "
				  "used again.",
				  path);
}

/* Removes one archive directory and the files in it. */
static void archive_remove(int parent_fd, const char *root, const char *name)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	unsigned n = 0;
	int fd;

	fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || !(d = fdopendir(fd))) {
		safe_close(fd);
		log_warning_errno(errno, "Failed to open the old archive %s/%s: %m", root, name);
		return;
	}
	while ((de = readdir(d)) && n++ < ARCHIVE_FILES) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0)
			log_warning_errno(errno, "Failed to remove %s/%s/%s: %m", root, name,
					  de->d_name);
	}
	if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0)
		log_warning_errno(errno, "Failed to remove the old archive %s/%s: %m", root, name);
	else
		log_debug("Removed the old pstore archive %s/%s.", root, name);
}

struct archive {
	char *name;
	struct timespec mtime;
};

/* Newest first. */
static int archive_cmp(const void *a, const void *b)
{
	const struct archive *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? 1 : -1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? 1 : -1;
	return strcmp(y->name, x->name);
}

/* Keeps the archive of boot and the newest others, REBOOT_PSTORE_ARCHIVES_KEPT in all. */
static void archives_prune(const char *root, const char *boot)
{
	_cleanup_closedir_ DIR *d = opendir(root);
	struct archive v[ARCHIVES_SCAN];
	struct dirent *de;
	struct stat st;
	size_t n = 0;

	if (!d) {
		log_warning_errno(errno, "Failed to list %s: %m; old archives are kept.", root);
		return;
	}
	while ((de = readdir(d)) && n < ARRAY_SIZE(v)) {
		if (streq(de->d_name, ".") || streq(de->d_name, "..") || streq(de->d_name, boot))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		v[n].name = strdup(de->d_name);
		if (!v[n].name)
			break;
		v[n].mtime = st.st_mtim;
		n++;
	}
	qsort(v, n, sizeof(v[0]), archive_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i + 1 >= REBOOT_PSTORE_ARCHIVES_KEPT)
			archive_remove(dirfd(d), root, v[i].name);
		free(v[i].name);
	}
}

void reboot_pstore_consume(const char *sysroot, const char *state_dir, const char *boot,
			   const struct reboot_pstore *ps)
{
	_cleanup_free_ char *fs_dir = lc_path_prefix(sysroot, "/sys/fs/pstore");
	_cleanup_free_ char *sd_dir = lc_path_prefix(sysroot, "/var/lib/systemd/pstore");
	_cleanup_free_ char *root = lc_path_prefix(state_dir, "/reboot/pstore");
	_cleanup_free_ char *archive_dir = NULL;
	_cleanup_free_ char **added = NULL;
	size_t n_added = 0;
	bool archive_ok = false;
	int r;

	if (!fs_dir || !sd_dir || !root || asprintf(&archive_dir, "%s/%s", root, boot) < 0) {
		log_oom();
		return;
	}
	added = calloc(ps->n + 1, sizeof(*added));
	if (!added) {
		log_oom();
		return;
	}
	if (ps->n > 0) {
		r = lc_mkdir_p(archive_dir, 0700);
		if (r < 0)
			log_warning_errno(r,
					  "Failed to create %s: %m; pstore records are left "
					  "where they are.",
					  archive_dir);
		archive_ok = r >= 0;
	}
	for (size_t i = 0; i < ps->n; i++) {
		const struct reboot_pstore_record *rec = &ps->records[i];
		_cleanup_free_ char *src = NULL;

		if (asprintf(&src, "%s/%s", rec->systemd ? sd_dir : fs_dir, rec->rel) < 0) {
			log_oom();
			break;
		}
		if (rec->kind == REBOOT_PSTORE_UNREADABLE || !archive_ok ||
		    record_archive(src, archive_dir, rec) < 0) {
			/* systemd's copy stays with systemd either way; the kernel's is kept when
			 * it could not be saved: a duplicate later is better than a loss. */
			if (rec->systemd && rec->kind == REBOOT_PSTORE_UNREADABLE)
				added[n_added++] = rec->key;
			continue;
		}
		if (rec->systemd) {
			added[n_added++] = rec->key;
		} else if (unlink(src) < 0) {
			/* A read-only /sys/fs/pstore: remember it so no later boot counts it. */
			log_warning_errno(errno,
					  "Failed to remove %s from pstore: %m; it stays there, "
					  "listed as used in pstore-seen.json.",
					  src);
			added[n_added++] = rec->key;
		}
	}
	seen_write(state_dir, ps->seen, ps->n_seen, added, n_added);
	if (archive_ok)
		archives_prune(root, boot);
}
