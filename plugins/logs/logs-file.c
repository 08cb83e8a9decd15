/* SPDX-License-Identifier: MIT */
/* The log file in progress (logs-file.h, docs/logs.md). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fileio.h"
#include "json-util.h"
#include "logs-file.h"
#include "macro.h"

#define STATE_FILE   "state.json"
#define STATE_MAX    (64 * 1024)
#define FILE_SUFFIX  ".jsonl.gz"
#define GZIP_HEADER  10
#define GZIP_TRAILER 8
#define OUT_BUFFER   16384
#define WINDOW_BITS  (-15) /* raw deflate: the gzip header and trailer are written here */
#define MEM_LEVEL    8

/* A gzip header: deflate, no flags, no time, no extra flags, Unix. */
static const unsigned char gzip_header[GZIP_HEADER] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };

/* What the last flush made durable: the file is cut back to it after a failure or a crash. */
struct logs_file_mark {
	uint64_t lines, raw_bytes, bytes;
	uint32_t crc;
};

struct logs_file {
	char *dir;
	int level;
	int fd;
	z_stream z;
	bool z_ready;
	bool broken; /* a failed write could not be undone: cut back before the next one */
	/* The trailer is written and synced, state.json does not say sealed yet: nothing more goes
	 * in, and the seal is finished by writing the state alone (logs_file_seal()). */
	bool seal_pending;
	struct logs_file_info info;
	uint32_t crc;
	struct logs_file_mark durable;
	json_object *positions;
	char *state_text; /* what state.json holds: written last (NULL: not known) */
	size_t out_len;
	unsigned char out[OUT_BUFFER];
};

static char *file_path(const struct logs_file *f, const char *cid)
{
	char *p;

	return asprintf(&p, "%s/%s" FILE_SUFFIX, f->dir, cid) < 0 ? NULL : p;
}

static char *state_path(const struct logs_file *f)
{
	char *p;

	return asprintf(&p, "%s/" STATE_FILE, f->dir) < 0 ? NULL : p;
}

/* Writes state.json from f's info and the mark m (f->durable once it is written): not again when
 * it would hold the same bytes, so that a flush of unchanged positions costs no flash writes. */
static int state_write(struct logs_file *f, const struct logs_file_mark *m)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	_cleanup_free_ char *path = state_path(f);
	const char *text;
	size_t len;
	int r;

	if (!o || !path || lc_json_add(o, "cid", json_object_new_string(f->info.cid)) < 0 ||
	    lc_json_add(o, "next_cid", json_object_new_string(f->info.next_cid)) < 0 ||
	    lc_json_add(o, "entry", json_object_new_string(f->info.entry)) < 0 ||
	    lc_json_add(o, "bytes", json_object_new_uint64(m->bytes)) < 0 ||
	    lc_json_add(o, "raw_bytes", json_object_new_uint64(m->raw_bytes)) < 0 ||
	    lc_json_add(o, "crc", json_object_new_uint64(m->crc)) < 0 ||
	    lc_json_add(o, "lines", json_object_new_uint64(m->lines)) < 0 ||
	    lc_json_add(o, "first_ms", json_object_new_uint64(f->info.first_ms)) < 0 ||
	    lc_json_add(o, "sealed", json_object_new_boolean(f->info.sealed)) < 0 ||
	    (f->positions && lc_json_add(o, "positions", json_object_get(f->positions)) < 0))
		return -ENOMEM;
	text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	if (!text)
		return -ENOMEM;
	if (f->state_text && streq(f->state_text, text)) {
		f->durable = *m;
		return 0;
	}
	/* Not known once a write failed: it may have replaced the file or not. */
	free(f->state_text);
	f->state_text = NULL;
	r = lc_write_file_atomic(path, text, len, 0600);
	if (r < 0)
		return r;
	f->durable = *m;
	f->state_text = strdup(text); /* without it, the next write is not skipped */
	return 0;
}

/* Writes the n bytes of the output buffer to the file. */
static int out_write(struct logs_file *f)
{
	int r;

	if (f->out_len == 0)
		return 0;
	r = lc_write_all(f->fd, f->out, f->out_len);
	if (r < 0)
		return r;
	f->info.bytes += f->out_len;
	f->out_len = 0;
	return 0;
}

/* Runs deflate with flush over the input set in f->z until it is consumed (and, for Z_SYNC_FLUSH
 * and Z_FINISH, everything is out), writing whenever the buffer fills. */
static int deflate_run(struct logs_file *f, int flush)
{
	for (;;) {
		int z, r;

		f->z.next_out = f->out + f->out_len;
		f->z.avail_out = (uInt)(sizeof(f->out) - f->out_len);
		z = deflate(&f->z, flush);
		f->out_len = sizeof(f->out) - f->z.avail_out;
		if (z == Z_STREAM_ERROR)
			return -EIO;
		if (f->z.avail_out == 0) {
			r = out_write(f);
			if (r < 0)
				return r;
			continue;
		}
		if (flush == Z_FINISH && z != Z_STREAM_END)
			continue;
		if (f->z.avail_in == 0)
			return flush == Z_NO_FLUSH ? 0 : out_write(f);
	}
}

/* A new deflate stream, going on after what the file holds. */
static int deflate_start(struct logs_file *f)
{
	int z;

	if (f->z_ready)
		z = deflateReset(&f->z);
	else
		z = deflateInit2(&f->z, f->level, Z_DEFLATED, WINDOW_BITS, MEM_LEVEL,
				 Z_DEFAULT_STRATEGY);
	if (z == Z_MEM_ERROR)
		return -ENOMEM;
	if (z != Z_OK)
		return -EINVAL;
	f->z_ready = true;
	f->out_len = 0;
	return 0;
}

/* Cuts the file back to its durable mark and starts a new deflate stream there. */
static int rollback(struct logs_file *f)
{
	int r;

	if (ftruncate(f->fd, (off_t)f->durable.bytes) < 0 ||
	    lseek(f->fd, (off_t)f->durable.bytes, SEEK_SET) < 0) {
		f->broken = true;
		return negative_errno();
	}
	f->info.lines = f->durable.lines;
	f->info.raw_bytes = f->durable.raw_bytes;
	f->info.bytes = f->durable.bytes;
	f->crc = f->durable.crc;
	if (f->info.lines == 0)
		f->info.first_ms = 0;
	r = deflate_start(f);
	f->broken = r < 0;
	return r;
}

/* What the file holds now. */
static struct logs_file_mark mark_now(const struct logs_file *f)
{
	return (struct logs_file_mark){
		.lines = f->info.lines,
		.raw_bytes = f->info.raw_bytes,
		.bytes = f->info.bytes,
		.crc = f->crc,
	};
}

/* Marks what the file holds now as durable. */
static void mark_durable(struct logs_file *f)
{
	f->durable = mark_now(f);
}

/* Creates the file of f->info.cid anew, with its header, synced; then the state. */
static int file_create(struct logs_file *f)
{
	_cleanup_free_ char *path = file_path(f, f->info.cid);
	int r;

	if (!path)
		return -ENOMEM;
	f->fd = safe_close(f->fd);
	f->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (f->fd < 0)
		return negative_errno();
	r = lc_write_all(f->fd, gzip_header, sizeof(gzip_header));
	if (r < 0)
		return r;
	if (fdatasync(f->fd) < 0)
		return negative_errno();
	f->info.lines = f->info.raw_bytes = f->info.first_ms = 0;
	f->info.bytes = GZIP_HEADER;
	f->info.sealed = false;
	f->crc = (uint32_t)crc32(0, NULL, 0);
	mark_durable(f);
	f->seal_pending = false;
	r = deflate_start(f);
	if (r < 0)
		return r;
	return state_write(f, &f->durable);
}

/* A new chain: new cid, next cid and entry. */
static int chain_new(struct logs_file *f)
{
	int r;

	r = lc_uuid_random(f->info.cid);
	if (r >= 0)
		r = lc_uuid_random(f->info.next_cid);
	if (r >= 0)
		r = lc_uuid_random(f->info.entry);
	return r;
}

/* Removes files in the directory that the state does not name: log files of earlier chains and
 * leftovers of interrupted state writes. */
static void remove_strays(struct logs_file *f)
{
	_cleanup_closedir_ DIR *d = opendir(f->dir);
	char keep[LC_UUID_LEN + sizeof(FILE_SUFFIX)];
	struct dirent *de;

	snprintf(keep, sizeof(keep), "%s" FILE_SUFFIX, f->info.cid);
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		bool log = n > strlen(FILE_SUFFIX) &&
			   streq(de->d_name + n - strlen(FILE_SUFFIX), FILE_SUFFIX);

		if ((log && !streq(de->d_name, keep)) ||
		    strncmp(de->d_name, STATE_FILE ".tmp", strlen(STATE_FILE ".tmp")) == 0)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	}
}

static bool get_u64(json_object *o, const char *key, uint64_t *ret)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0)
		return false;
	*ret = json_object_get_uint64(v);
	return true;
}

static bool get_uuid(json_object *o, const char *key, char ret[static LC_UUID_LEN + 1])
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string) ||
	    !lc_uuid_valid(json_object_get_string(v)))
		return false;
	memcpy(ret, json_object_get_string(v), LC_UUID_LEN + 1);
	return true;
}

/* Reads state.json into f: 0, -ENOENT without one, -EBADMSG when it does not hold together. */
static int state_read(struct logs_file *f)
{
	_cleanup_free_ char *path = state_path(f), *buf = NULL;
	_cleanup_json_ json_object *o = NULL;
	json_object *v;
	uint64_t crc;
	size_t size;
	int r;

	if (!path)
		return -ENOMEM;
	r = lc_read_file(path, STATE_MAX, &buf, &size);
	if (r < 0)
		return r == -EFBIG ? -EBADMSG : r;
	o = json_tokener_parse(buf);
	if (!o || !json_object_is_type(o, json_type_object) || strlen(buf) != size ||
	    !get_uuid(o, "cid", f->info.cid) || !get_uuid(o, "next_cid", f->info.next_cid) ||
	    !get_uuid(o, "entry", f->info.entry) || !get_u64(o, "bytes", &f->durable.bytes) ||
	    !get_u64(o, "raw_bytes", &f->durable.raw_bytes) || !get_u64(o, "crc", &crc) ||
	    crc > UINT32_MAX || !get_u64(o, "lines", &f->durable.lines) ||
	    !get_u64(o, "first_ms", &f->info.first_ms) ||
	    !json_object_object_get_ex(o, "sealed", &v) ||
	    !json_object_is_type(v, json_type_boolean) || f->durable.bytes < GZIP_HEADER)
		return -EBADMSG;
	f->info.sealed = json_object_get_boolean(v);
	f->durable.crc = (uint32_t)crc;
	if (json_object_object_get_ex(o, "positions", &v) &&
	    json_object_is_type(v, json_type_object))
		f->positions = json_object_get(v);
	f->info.lines = f->durable.lines;
	f->info.raw_bytes = f->durable.raw_bytes;
	f->info.bytes = f->durable.bytes;
	f->crc = f->durable.crc;
	return 0;
}

/* Opens the file the state names and cuts it back to its durable length (a sealed one is left
 * whole). -EBADMSG when it is missing or shorter than that. */
static int file_recover(struct logs_file *f, uint64_t *ret_cut)
{
	_cleanup_free_ char *path = file_path(f, f->info.cid);
	struct stat st;

	if (!path)
		return -ENOMEM;
	f->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (f->fd < 0)
		return errno == ENOENT ? -EBADMSG : negative_errno();
	if (fstat(f->fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < f->durable.bytes)
		return -EBADMSG;
	*ret_cut = (uint64_t)st.st_size - f->durable.bytes;
	if (f->info.sealed)
		return *ret_cut == 0 ? 0 : -EBADMSG;
	return rollback(f);
}

int logs_file_open(const char *dir, int level, struct logs_file **ret,
		   struct logs_file_recovery *ret_recovery)
{
	struct logs_file_recovery rec = {};
	struct logs_file *f;
	int r;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->fd = -1;
	f->level = level;
	f->dir = strdup(dir);
	if (!f->dir) {
		free(f);
		return -ENOMEM;
	}
	r = lc_mkdir_p(dir, 0700);
	if (r < 0)
		goto fail;
	r = state_read(f);
	if (r >= 0) {
		r = file_recover(f, &rec.cut_bytes);
		if (r >= 0)
			rec.kept_lines = f->info.lines;
		if (r == -EBADMSG) {
			/* The file is gone or short: its lines are lost, its place in the chain
			 * is not (no entry was committed under its cid). */
			rec.damaged = true;
			rec.lost_lines = f->durable.lines;
			r = file_create(f);
		}
	} else if (r == -ENOENT || r == -EBADMSG) {
		rec.fresh = r == -ENOENT;
		rec.damaged = r == -EBADMSG;
		json_object_put(TAKE_PTR(f->positions));
		r = chain_new(f);
		if (r >= 0)
			r = file_create(f);
	}
	if (r < 0)
		goto fail;
	remove_strays(f);
	if (ret_recovery)
		*ret_recovery = rec;
	*ret = f;
	return 0;
fail:
	logs_file_free(f);
	return r;
}

struct logs_file *logs_file_free(struct logs_file *f)
{
	if (!f)
		return NULL;
	if (f->z_ready)
		deflateEnd(&f->z);
	safe_close(f->fd);
	json_object_put(f->positions);
	free(f->state_text);
	free(f->dir);
	free(f);
	return NULL;
}

void logs_file_info(const struct logs_file *f, struct logs_file_info *ret)
{
	*ret = f->info;
}

json_object *logs_file_positions(const struct logs_file *f)
{
	return f->positions;
}

uint64_t logs_file_unflushed(const struct logs_file *f)
{
	return f->info.lines - f->durable.lines;
}

/* A write failed with error: cut back to the last flush. Returns error. */
static int write_failed(struct logs_file *f, int error)
{
	(void)rollback(f);
	return error;
}

int logs_file_append(struct logs_file *f, const char *line, size_t len, uint64_t now_ms)
{
	int r;

	if (f->info.sealed)
		return -EBUSY;
	if (f->broken && (r = rollback(f)) < 0)
		return r;
	f->z.next_in = (Bytef *)(uintptr_t)line;
	f->z.avail_in = (uInt)len;
	r = deflate_run(f, Z_NO_FLUSH);
	if (r < 0)
		return write_failed(f, r);
	f->crc = (uint32_t)crc32(f->crc, (const Bytef *)line, (uInt)len);
	if (f->info.lines++ == 0)
		f->info.first_ms = now_ms;
	f->info.raw_bytes += len;
	return 0;
}

/* Takes positions (NULL: keeps the last ones). */
static void positions_set(struct logs_file *f, json_object *positions)
{
	if (!positions)
		return;
	json_object_put(f->positions);
	f->positions = positions;
}

int logs_file_flush(struct logs_file *f, json_object *positions)
{
	struct logs_file_mark now;
	int r;

	if (f->info.sealed) {
		json_object_put(positions);
		return -EBUSY;
	}
	if (logs_file_unflushed(f) == 0 && !f->broken && !positions)
		return 0;
	positions_set(f, positions);
	if (f->broken && (r = rollback(f)) < 0)
		return r;
	if (logs_file_unflushed(f) > 0) {
		f->z.avail_in = 0;
		r = deflate_run(f, Z_SYNC_FLUSH);
		if (r >= 0 && fdatasync(f->fd) < 0)
			r = negative_errno();
		if (r < 0)
			return write_failed(f, r);
	}
	/* Durable once the state says so: when it cannot, the lines stay in the file, unflushed,
	 * and the next flush tries again. */
	now = mark_now(f);
	return state_write(f, &now);
}

int logs_file_seal(struct logs_file *f, json_object *positions)
{
	unsigned char trailer[GZIP_TRAILER];
	struct logs_file_mark sealed;
	int r;

	if (f->seal_pending) {
		/* The file is finished: its state is what is left to write, with the positions of
		 * the first attempt, which go with its last line. */
		json_object_put(positions);
		sealed = mark_now(f);
		r = state_write(f, &sealed);
		if (r >= 0)
			f->seal_pending = false;
		return r;
	}
	if (f->info.sealed) {
		json_object_put(positions);
		return -EBUSY;
	}
	if (f->broken && (r = rollback(f)) < 0) {
		json_object_put(positions);
		return r;
	}
	if (f->info.lines == 0) {
		json_object_put(positions);
		return -ENODATA;
	}
	positions_set(f, positions);
	f->z.avail_in = 0;
	r = deflate_run(f, Z_FINISH);
	if (r < 0)
		return write_failed(f, r);
	for (int i = 0; i < 4; i++) {
		trailer[i] = (unsigned char)(f->crc >> (8 * i));
		trailer[4 + i] = (unsigned char)(f->info.raw_bytes >> (8 * i));
	}
	r = lc_write_all(f->fd, trailer, sizeof(trailer));
	if (r >= 0 && fdatasync(f->fd) < 0)
		r = negative_errno();
	if (r < 0)
		return write_failed(f, r);
	f->info.bytes += sizeof(trailer);
	f->info.sealed = true;
	/* The deflate stream is finished: the file cannot go on. Until the state says sealed, a
	 * crash cuts it back to the last flush; without one, only the state is written again. */
	sealed = mark_now(f);
	r = state_write(f, &sealed);
	f->seal_pending = r < 0;
	return r;
}

int logs_file_sealed_fd(const struct logs_file *f)
{
	return f->info.sealed && !f->seal_pending ? f->fd : -1;
}

int logs_file_next(struct logs_file *f)
{
	struct logs_file_info old = f->info;
	_cleanup_free_ char *old_path = file_path(f, old.cid);
	uint32_t old_crc = f->crc;
	int r;

	if (!f->info.sealed || f->seal_pending)
		return -EINVAL;
	if (!old_path)
		return -ENOMEM;
	memcpy(f->info.cid, old.next_cid, sizeof(f->info.cid));
	r = lc_uuid_random(f->info.next_cid);
	if (r >= 0)
		r = lc_uuid_random(f->info.entry);
	if (r >= 0)
		r = file_create(f);
	if (r < 0) {
		/* The sealed file stays what the state names. */
		f->info = old;
		f->crc = old_crc;
		f->fd = safe_close(f->fd);
		f->fd = open(old_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
		mark_durable(f);
		return r;
	}
	(void)unlink(old_path);
	return 0;
}

int logs_file_discard(struct logs_file *f)
{
	if (f->info.sealed)
		return -EBUSY;
	if (f->info.lines == 0 && !f->broken)
		return 0;
	return file_create(f);
}

enum logs_rotate logs_rotate_due(const struct logs_file_info *info, uint64_t max_bytes,
				 uint64_t max_age_ms, uint64_t now_ms, uint64_t *ret_in_ms)
{
	uint64_t age, in_ms = UINT64_MAX;
	enum logs_rotate why = LOGS_ROTATE_NO;

	if (info->lines > 0) {
		age = now_ms > info->first_ms ? now_ms - info->first_ms : 0;
		in_ms = age >= max_age_ms ? 0 : max_age_ms - age;
		if (info->raw_bytes >= max_bytes)
			why = LOGS_ROTATE_SIZE;
		else if (in_ms == 0)
			why = LOGS_ROTATE_AGE;
	}
	if (ret_in_ms)
		*ret_in_ms = in_ms;
	return why;
}
