/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "batch.h"
#include "log.h"
#include "macro.h"

/* Limits on what one spool entry may hold (see docs/batches.md). */
#define BATCH_MAX_FILES 64  /* files per entry directory */
#define BATCH_NAME_MAX	100 /* bytes in a file name or uuid */
#define BATCH_BUF_SIZE	(64 * 1024)

/* ZIP layout (APPNOTE.TXT 4.3): fixed parts of the three records, in bytes. */
#define ZIP_LOCAL_SIZE	 30
#define ZIP_CENTRAL_SIZE 46
#define ZIP_END_SIZE	 22
#define ZIP_SIG_LOCAL	 UINT32_C(0x04034b50)
#define ZIP_SIG_CENTRAL	 UINT32_C(0x02014b50)
#define ZIP_SIG_END	 UINT32_C(0x06054b50)
#define ZIP_VERSION	 10		/* 1.0: stored members, nothing newer needed */
#define ZIP_MADE_BY	 (3 << 8 | 20)	/* Unix, 2.0: external attributes are a mode */
#define ZIP_DOS_DATE	 ((1 << 5) | 1) /* 1980-01-01, time 00:00: identical bytes on rerun */
#define ZIP_ATTRS	 (UINT32_C(0100644) << 16) /* -rw-r--r-- */
/* 0xffffffff and 0xffff mean "see the ZIP64 record": sizes, offsets and counts stay below. */
#define ZIP_MAX_BYTES	UINT64_C(0xffffffff)
#define ZIP_MAX_MEMBERS 0xffff

struct batch_entry {
	char *dirname, *uuid;
};

struct batch_member {
	char *file;	   /* name in the entry directory */
	size_t entry;	   /* index in entries */
	uint16_t name_len; /* of "<uuid>/<file>" */
	uint32_t crc, size;
	uint32_t offset; /* of the local header */
};

/* What the read position emits next. */
enum batch_state {
	BATCH_LOCAL,   /* local header of member idx, or on to the central directory */
	BATCH_DATA,    /* data of member idx */
	BATCH_CENTRAL, /* central header of member idx, or on to the end record */
	BATCH_END,
	BATCH_DONE,
};

struct lc_batch {
	char *spool_dir;
	struct batch_entry *entries;
	size_t n_entries, entries_alloc;
	struct batch_member *members;
	size_t n_members, members_alloc;
	uint64_t local_bytes, central_bytes; /* local headers with data; central directory */

	/* The read position; pending bytes sit in hdr or buf. */
	bool reading;
	enum batch_state state;
	size_t idx;
	int fd;		   /* member idx while in BATCH_DATA */
	uint32_t crc, pos; /* of member idx's data read so far */
	int error;	   /* sticky until lc_batch_rewind() */
	uint8_t hdr[ZIP_CENTRAL_SIZE + 2 * BATCH_NAME_MAX + 1];
	size_t hdr_len, hdr_off;
	size_t buf_len, buf_off;
	uint8_t *buf; /* BATCH_BUF_SIZE bytes: file data while adding and while reading */
};

/* A plain name of 1 to max bytes of [A-Za-z0-9._-], not "." or "..". */
static bool batch_name_valid(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n == 0 || n > max || streq(s, ".") || streq(s, ".."))
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

int lc_batch_new(const char *spool_dir, struct lc_batch **ret)
{
	struct lc_batch *b;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->fd = -1;
	b->spool_dir = strdup(spool_dir);
	b->buf = malloc(BATCH_BUF_SIZE);
	if (!b->spool_dir || !b->buf) {
		lc_batch_free(b);
		return -ENOMEM;
	}
	*ret = b;
	return 0;
}

struct lc_batch *lc_batch_free(struct lc_batch *b)
{
	if (!b)
		return NULL;
	safe_close(b->fd);
	for (size_t i = 0; i < b->n_entries; i++) {
		free(b->entries[i].dirname);
		free(b->entries[i].uuid);
	}
	for (size_t i = 0; i < b->n_members; i++)
		free(b->members[i].file);
	free(b->entries);
	free(b->members);
	free(b->spool_dir);
	free(b->buf);
	free(b);
	return NULL;
}

size_t lc_batch_n_entries(const struct lc_batch *b)
{
	return b->n_entries;
}

uint64_t lc_batch_size(const struct lc_batch *b)
{
	return b->local_bytes + b->central_bytes + ZIP_END_SIZE;
}

const char *lc_batch_entry_uuid(const struct lc_batch *b, size_t i)
{
	return i < b->n_entries ? b->entries[i].uuid : NULL;
}

/* Makes room for n more elements of size in *array (of *alloc, count used). 0 or -ENOMEM. */
static int batch_reserve(void **array, size_t *alloc, size_t count, size_t n, size_t size)
{
	size_t want;
	void *p;

	if (*alloc - count >= n)
		return 0;
	want = MAX(MAX(*alloc * 2, count + n), (size_t)8);
	if (want > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*array, want * size);
	if (!p)
		return -ENOMEM;
	*array = p;
	*alloc = want;
	return 0;
}

/* The names of the files in an entry directory being added. */
struct batch_scan {
	char *names[BATCH_MAX_FILES];
	size_t n;
	uint32_t crc[BATCH_MAX_FILES], size[BATCH_MAX_FILES];
};

static void batch_scan_done(struct batch_scan *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->names[i]);
}

/* manifest.json first, then by name in byte order. */
static int batch_name_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;

	if (streq(x, "manifest.json") || streq(y, "manifest.json"))
		return streq(y, "manifest.json") - streq(x, "manifest.json");
	return strcmp(x, y);
}

/* Lists the regular files of the entry directory d (path for messages) into s, sorted. */
static int batch_scan_dir(DIR *d, const char *path, struct batch_scan *s)
{
	for (;;) {
		struct dirent *de;
		struct stat st;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno != 0)
				return negative_errno();
			break;
		}
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (!batch_name_valid(de->d_name, BATCH_NAME_MAX)) {
			log_debug("%s: file name \"%s\" is not a plain name", path, de->d_name);
			return -EBADMSG;
		}
		if (s->n == BATCH_MAX_FILES) {
			log_debug("%s: more than %d files", path, BATCH_MAX_FILES);
			return -EBADMSG;
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return negative_errno();
		if (!S_ISREG(st.st_mode)) {
			log_debug("%s/%s: not a regular file", path, de->d_name);
			return -EBADMSG;
		}
		s->names[s->n] = strdup(de->d_name);
		if (!s->names[s->n])
			return -ENOMEM;
		s->n++;
	}
	qsort(s->names, s->n, sizeof(s->names[0]), batch_name_cmp);
	if (s->n == 0 || !streq(s->names[0], "manifest.json")) {
		log_debug("%s: no manifest.json", path);
		return -EBADMSG;
	}
	return 0;
}

/* Opens name in the directory dfd for reading: a regular file, never through a link. */
static int batch_open_file(int dfd, const char *name, struct stat *ret_st)
{
	_cleanup_close_ int fd = -1;

	/* O_NONBLOCK: a FIFO swapped in after the listing must not hang us in open(). */
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return errno == ELOOP ? -EBADMSG : negative_errno();
	if (fstat(fd, ret_st) < 0)
		return negative_errno();
	if (!S_ISREG(ret_st->st_mode))
		return -EBADMSG;
	return TAKE_FD(fd);
}

/* Reads the file name in dfd once for its CRC-32 and size. -EFBIG when it needs ZIP64. */
static int batch_checksum(struct lc_batch *b, int dfd, const char *name, uint32_t *ret_crc,
			  uint32_t *ret_size)
{
	_cleanup_close_ int fd = -1;
	uLong crc = crc32(0, NULL, 0);
	uint64_t size = 0;
	struct stat st;

	fd = batch_open_file(dfd, name, &st);
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size >= ZIP_MAX_BYTES)
		return -EFBIG;
	for (;;) {
		ssize_t n = read(fd, b->buf, BATCH_BUF_SIZE);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		crc = crc32(crc, b->buf, (uInt)n);
		size += (uint64_t)n;
		if (size >= ZIP_MAX_BYTES)
			return -EFBIG;
	}
	*ret_crc = (uint32_t)crc;
	*ret_size = (uint32_t)size;
	return 0;
}

int lc_batch_add_entry(struct lc_batch *b, const char *dirname, const char *uuid,
		       uint64_t max_bytes)
{
	_cleanup_(batch_scan_done) struct batch_scan scan = { .n = 0 };
	_cleanup_free_ char *path = NULL, *dirname_copy = NULL, *uuid_copy = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	uint64_t local = 0, central = 0, total;
	size_t uuid_len;
	int fd, r;

	if (b->reading)
		return -EBUSY;
	if (!batch_name_valid(dirname, NAME_MAX) || !batch_name_valid(uuid, BATCH_NAME_MAX))
		return -EINVAL;
	uuid_len = strlen(uuid);

	if (asprintf(&path, "%s/%s", b->spool_dir, dirname) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return negative_errno();
	d = fdopendir(fd);
	if (!d) {
		r = negative_errno();
		safe_close(fd);
		return r;
	}
	r = batch_scan_dir(d, path, &scan);
	if (r < 0)
		return r;

	for (size_t i = 0; i < scan.n; i++) {
		size_t name_len = uuid_len + 1 + strlen(scan.names[i]);

		r = batch_checksum(b, dirfd(d), scan.names[i], &scan.crc[i], &scan.size[i]);
		if (r == -EFBIG)
			log_debug("%s/%s: 4 GiB or more, too large for a batch", path,
				  scan.names[i]);
		if (r < 0)
			return r;
		local += ZIP_LOCAL_SIZE + name_len + scan.size[i];
		central += ZIP_CENTRAL_SIZE + name_len;
	}

	/* Too large even alone: it can never travel. Too large with the others: a new batch. */
	if (local + central + ZIP_END_SIZE >= ZIP_MAX_BYTES) {
		log_debug("%s: 4 GiB or more, too large for a batch", path);
		return -EFBIG;
	}
	total = lc_batch_size(b) + local + central;
	if (b->n_entries > 0 && (total > max_bytes || total >= ZIP_MAX_BYTES ||
				 b->n_members + scan.n >= ZIP_MAX_MEMBERS))
		return -E2BIG;

	/* Everything that can fail comes before the batch changes. */
	dirname_copy = strdup(dirname);
	uuid_copy = strdup(uuid);
	if (!dirname_copy || !uuid_copy)
		return -ENOMEM;
	r = batch_reserve((void **)&b->entries, &b->entries_alloc, b->n_entries, 1,
			  sizeof(b->entries[0]));
	if (r < 0)
		return r;
	r = batch_reserve((void **)&b->members, &b->members_alloc, b->n_members, scan.n,
			  sizeof(b->members[0]));
	if (r < 0)
		return r;

	for (size_t i = 0; i < scan.n; i++) {
		struct batch_member *m = &b->members[b->n_members++];

		*m = (struct batch_member){
			.file = TAKE_PTR(scan.names[i]),
			.entry = b->n_entries,
			.crc = scan.crc[i],
			.size = scan.size[i],
			.offset = (uint32_t)b->local_bytes,
		};
		m->name_len = (uint16_t)(uuid_len + 1 + strlen(m->file));
		b->local_bytes += ZIP_LOCAL_SIZE + m->name_len + m->size;
		b->central_bytes += ZIP_CENTRAL_SIZE + m->name_len;
	}
	b->entries[b->n_entries++] = (struct batch_entry){
		.dirname = TAKE_PTR(dirname_copy),
		.uuid = TAKE_PTR(uuid_copy),
	};
	return 0;
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
	return p + 4;
}

/* Fills hdr with the local (central false) or central header of member m. */
static void batch_header(struct lc_batch *b, const struct batch_member *m, bool central)
{
	const char *uuid = b->entries[m->entry].uuid;
	size_t uuid_len = strlen(uuid);
	uint8_t *p = b->hdr;

	p = put32(p, central ? ZIP_SIG_CENTRAL : ZIP_SIG_LOCAL);
	if (central)
		p = put16(p, ZIP_MADE_BY);
	p = put16(p, ZIP_VERSION);
	p = put16(p, 0); /* flags: no data descriptor, no encryption */
	p = put16(p, 0); /* method: stored */
	p = put16(p, 0); /* time 00:00:00 */
	p = put16(p, ZIP_DOS_DATE);
	p = put32(p, m->crc);
	p = put32(p, m->size); /* compressed */
	p = put32(p, m->size);
	p = put16(p, m->name_len);
	p = put16(p, 0); /* extra field */
	if (central) {
		p = put16(p, 0); /* comment */
		p = put16(p, 0); /* disk number */
		p = put16(p, 0); /* internal attributes */
		p = put32(p, ZIP_ATTRS);
		p = put32(p, m->offset);
	}
	memcpy(p, uuid, uuid_len);
	p[uuid_len] = '/';
	memcpy(p + uuid_len + 1, m->file, m->name_len - uuid_len - 1);
	p += m->name_len;
	b->hdr_len = (size_t)(p - b->hdr);
	b->hdr_off = 0;
}

static void batch_end_record(struct lc_batch *b)
{
	uint8_t *p = b->hdr;

	p = put32(p, ZIP_SIG_END);
	p = put16(p, 0); /* this disk */
	p = put16(p, 0); /* disk with the central directory */
	p = put16(p, (uint16_t)b->n_members);
	p = put16(p, (uint16_t)b->n_members);
	p = put32(p, (uint32_t)b->central_bytes);
	p = put32(p, (uint32_t)b->local_bytes); /* the central directory's offset */
	p = put16(p, 0);			/* comment */
	b->hdr_len = (size_t)(p - b->hdr);
	b->hdr_off = 0;
}

/* Opens member m's file for its data, checking that it is still what was added. */
static int batch_open_member(struct lc_batch *b, const struct batch_member *m)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int dfd = -1;
	struct stat st;
	int fd;

	if (asprintf(&path, "%s/%s", b->spool_dir, b->entries[m->entry].dirname) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return errno == ENOENT ? -ESTALE : negative_errno();
	fd = batch_open_file(dfd, m->file, &st);
	if (fd == -ENOENT || fd == -EBADMSG)
		return -ESTALE;
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size != m->size) {
		safe_close(fd);
		return -ESTALE;
	}
	b->fd = fd;
	b->crc = (uint32_t)crc32(0, NULL, 0);
	b->pos = 0;
	return 0;
}

/* Refills buf with the next data of member m, or at its end checks it and closes it. */
static int batch_next_data(struct lc_batch *b, const struct batch_member *m, bool *ret_end)
{
	size_t want;
	ssize_t n;
	int r;

	if (b->fd < 0) {
		r = batch_open_member(b, m);
		if (r < 0)
			return r;
	}
	want = MIN((size_t)(m->size - b->pos), (size_t)BATCH_BUF_SIZE);
	/* At the end, one more byte must not be there. */
	do
		n = read(b->fd, b->buf, want > 0 ? want : 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return negative_errno();
	if (want == 0) {
		if (n > 0 || b->crc != m->crc)
			return -ESTALE;
		b->fd = safe_close(b->fd);
		*ret_end = true;
		return 0;
	}
	if (n == 0)
		return -ESTALE;
	b->crc = (uint32_t)crc32(b->crc, b->buf, (uInt)n);
	b->pos += (uint32_t)n;
	b->buf_len = (size_t)n;
	b->buf_off = 0;
	*ret_end = false;
	return 0;
}

/* Produces the next pending bytes, or moves the state on. */
static int batch_advance(struct lc_batch *b)
{
	bool end;
	int r;

	switch (b->state) {
	case BATCH_LOCAL:
		if (b->idx == b->n_members) {
			b->state = BATCH_CENTRAL;
			b->idx = 0;
			return 0;
		}
		batch_header(b, &b->members[b->idx], false);
		b->state = BATCH_DATA;
		return 0;
	case BATCH_DATA:
		r = batch_next_data(b, &b->members[b->idx], &end);
		if (r < 0)
			return r;
		if (end) {
			b->state = BATCH_LOCAL;
			b->idx++;
		}
		return 0;
	case BATCH_CENTRAL:
		if (b->idx == b->n_members) {
			b->state = BATCH_END;
			return 0;
		}
		batch_header(b, &b->members[b->idx++], true);
		return 0;
	case BATCH_END:
		batch_end_record(b);
		b->state = BATCH_DONE;
		return 0;
	case BATCH_DONE:
		break;
	}
	return 0;
}

ssize_t lc_batch_read(struct lc_batch *b, void *buf, size_t len)
{
	uint8_t *out = buf;
	size_t done = 0;

	if (b->error < 0)
		return b->error;
	b->reading = true;
	len = MIN(len, (size_t)SSIZE_MAX);
	while (done < len) {
		size_t n;
		int r;

		if (b->hdr_off < b->hdr_len) {
			n = MIN(len - done, b->hdr_len - b->hdr_off);
			memcpy(out + done, b->hdr + b->hdr_off, n);
			b->hdr_off += n;
			done += n;
			continue;
		}
		if (b->buf_off < b->buf_len) {
			n = MIN(len - done, b->buf_len - b->buf_off);
			memcpy(out + done, b->buf + b->buf_off, n);
			b->buf_off += n;
			done += n;
			continue;
		}
		if (b->state == BATCH_DONE)
			break;
		r = batch_advance(b);
		if (r < 0) {
			b->fd = safe_close(b->fd);
			b->error = r;
			return r;
		}
	}
	return (ssize_t)done;
}

int lc_batch_rewind(struct lc_batch *b)
{
	b->fd = safe_close(b->fd);
	b->reading = false;
	b->state = BATCH_LOCAL;
	b->idx = 0;
	b->error = 0;
	b->hdr_len = b->hdr_off = 0;
	b->buf_len = b->buf_off = 0;
	return 0;
}
