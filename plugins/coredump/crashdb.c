/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "crashdb.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"

#define CRASHDB_FILE	 "coredump-crashes.json"
#define CRASHDB_FILE_MAX (512 * 1024)
#define SIG_CHARS	 17
#define VERSION_CHARS	 129
#define EXE_CHARS	 256

struct sig_rec {
	char signature[SIG_CHARS];
	char version[VERSION_CHARS];
	uint32_t cores, crashes;
	uint64_t last_ms;
};

struct proc_rec {
	char exe[EXE_CHARS];
	uint64_t times[CRASHDB_TIMES];
	size_t n;
	bool loop;
	uint64_t last_ms;
};

struct crashdb {
	char *path;
	int lock_fd;
	bool dirty;
	struct sig_rec sigs[CRASHDB_SIGNATURES];
	size_t n_sigs;
	struct proc_rec procs[CRASHDB_PROCESSES];
	size_t n_procs;
};

int crashdb_loop_step(uint64_t *times, size_t *n, bool *in_loop, uint64_t now_ms,
		      uint64_t window_ms, unsigned count, uint32_t *ret_crashes)
{
	size_t keep = 0;
	bool was_loop;

	/* A loop lasts while the process keeps crashing within the window of the last crash. */
	was_loop =
		*in_loop && *n > 0 && times[*n - 1] <= now_ms && now_ms - times[*n - 1] < window_ms;
	for (size_t i = 0; i < *n; i++)
		if (times[i] <= now_ms && now_ms - times[i] < window_ms)
			times[keep++] = times[i];
	if (keep == CRASHDB_TIMES) {
		memmove(times, times + 1, (CRASHDB_TIMES - 1) * sizeof(*times));
		keep--;
	}
	times[keep++] = now_ms;
	*n = keep;
	*ret_crashes = (uint32_t)keep;
	if (was_loop)
		return 2;
	*in_loop = keep >= count;
	return *in_loop ? 1 : 0;
}

static int copy_string(json_object *o, const char *key, char *dst, size_t size)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return -EBADMSG;
	s = json_object_get_string(v);
	if (strlen(s) >= size)
		return -EBADMSG;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int get_u64(json_object *o, const char *key, uint64_t *ret)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0)
		return -EBADMSG;
	*ret = (uint64_t)json_object_get_int64(v);
	return 0;
}

static int parse_sig(json_object *o, struct sig_rec *s)
{
	uint64_t cores, crashes;

	if (copy_string(o, "signature", s->signature, sizeof(s->signature)) < 0 ||
	    copy_string(o, "software_version", s->version, sizeof(s->version)) < 0 ||
	    get_u64(o, "cores", &cores) < 0 || get_u64(o, "crashes", &crashes) < 0 ||
	    get_u64(o, "last_ms", &s->last_ms) < 0 || cores > UINT32_MAX || crashes > UINT32_MAX)
		return -EBADMSG;
	s->cores = (uint32_t)cores;
	s->crashes = (uint32_t)crashes;
	return 0;
}

static int parse_proc(json_object *o, struct proc_rec *p)
{
	json_object *times, *loop;

	if (copy_string(o, "exe", p->exe, sizeof(p->exe)) < 0 ||
	    get_u64(o, "last_ms", &p->last_ms) < 0 ||
	    !json_object_object_get_ex(o, "times_ms", &times) ||
	    !json_object_is_type(times, json_type_array) ||
	    json_object_array_length(times) > CRASHDB_TIMES ||
	    !json_object_object_get_ex(o, "loop", &loop) ||
	    !json_object_is_type(loop, json_type_boolean))
		return -EBADMSG;
	p->loop = json_object_get_boolean(loop);
	p->n = 0;
	for (size_t i = 0; i < json_object_array_length(times); i++) {
		json_object *t = json_object_array_get_idx(times, i);

		if (!json_object_is_type(t, json_type_int) || json_object_get_int64(t) < 0 ||
		    (p->n > 0 && (uint64_t)json_object_get_int64(t) < p->times[p->n - 1]))
			return -EBADMSG;
		p->times[p->n++] = (uint64_t)json_object_get_int64(t);
	}
	return 0;
}

/* Fills db from the file's text; -EBADMSG (db then empty) when it is not a record. */
static int parse(struct crashdb *db, const char *text)
{
	_cleanup_json_ json_object *o = json_tokener_parse(text);
	json_object *sigs, *procs;

	if (!o || !json_object_object_get_ex(o, "signatures", &sigs) ||
	    !json_object_is_type(sigs, json_type_array) ||
	    !json_object_object_get_ex(o, "processes", &procs) ||
	    !json_object_is_type(procs, json_type_array))
		return -EBADMSG;
	for (size_t i = 0; i < json_object_array_length(sigs) && db->n_sigs < CRASHDB_SIGNATURES;
	     i++)
		if (parse_sig(json_object_array_get_idx(sigs, i), &db->sigs[db->n_sigs++]) < 0)
			goto bad;
	for (size_t i = 0; i < json_object_array_length(procs) && db->n_procs < CRASHDB_PROCESSES;
	     i++)
		if (parse_proc(json_object_array_get_idx(procs, i), &db->procs[db->n_procs++]) < 0)
			goto bad;
	return 0;
bad:
	db->n_sigs = db->n_procs = 0;
	return -EBADMSG;
}

int crashdb_open(const char *state_dir, unsigned timeout_ms, struct crashdb **ret)
{
	_cleanup_free_ char *lock_path = lc_path_prefix(state_dir, "/" CRASHDB_FILE ".lock");
	_cleanup_free_ char *text = NULL;
	struct crashdb *db;
	size_t len;
	int r;

	db = calloc(1, sizeof(*db));
	if (!db || !lock_path || !(db->path = lc_path_prefix(state_dir, "/" CRASHDB_FILE))) {
		free(db);
		return -ENOMEM;
	}
	db->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	r = db->lock_fd < 0 ? -errno : 0;
	/* Another handler holds it while it stores a core: wait for it, but not for ever (a hung
	 * filesystem must not stall every later crash). */
	for (unsigned waited = 0; r == 0 && flock(db->lock_fd, LOCK_EX | LOCK_NB) < 0;
	     waited += 50) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			r = -errno;
		else if (waited >= timeout_ms)
			r = -ETIMEDOUT;
		else
			(void)usleep(50 * 1000);
	}
	if (r < 0) {
		if (db->lock_fd >= 0)
			close(db->lock_fd);
		free(db->path);
		free(db);
		return r;
	}
	r = lc_read_file(db->path, CRASHDB_FILE_MAX, &text, &len);
	if (r >= 0 && parse(db, text) < 0)
		log_warning("%s: not a crash record; starting it afresh.", db->path);
	else if (r < 0 && r != -ENOENT)
		log_warning_errno(r, "Failed to read %s (%m); starting it afresh.", db->path);
	*ret = db;
	return 0;
}

static struct proc_rec *find_proc(struct crashdb *db, const char *exe_in)
{
	struct proc_rec *oldest = NULL;
	char exe[EXE_CHARS];

	/* Compared as stored: a longer path is kept cut. */
	snprintf(exe, sizeof(exe), "%s", exe_in);
	for (size_t i = 0; i < db->n_procs; i++) {
		if (streq(db->procs[i].exe, exe))
			return &db->procs[i];
		if (!oldest || db->procs[i].last_ms < oldest->last_ms)
			oldest = &db->procs[i];
	}
	if (db->n_procs < CRASHDB_PROCESSES)
		oldest = &db->procs[db->n_procs++];
	*oldest = (struct proc_rec){};
	snprintf(oldest->exe, sizeof(oldest->exe), "%s", exe);
	return oldest;
}

int crashdb_crash(struct crashdb *db, const char *exe, uint64_t now_ms, uint64_t window_ms,
		  unsigned count, uint32_t *ret_crashes)
{
	struct proc_rec *p = find_proc(db, exe);

	db->dirty = true;
	p->last_ms = now_ms;
	return crashdb_loop_step(p->times, &p->n, &p->loop, now_ms, window_ms, count, ret_crashes);
}

static struct sig_rec *find_sig(struct crashdb *db, const char *signature_in,
				const char *version_in, bool add)
{
	struct sig_rec *oldest = NULL;
	char signature[SIG_CHARS], version[VERSION_CHARS];

	/* Compared as stored: a longer version is kept cut. */
	snprintf(signature, sizeof(signature), "%s", signature_in);
	snprintf(version, sizeof(version), "%s", version_in);

	for (size_t i = 0; i < db->n_sigs; i++) {
		if (streq(db->sigs[i].signature, signature) && streq(db->sigs[i].version, version))
			return &db->sigs[i];
		if (!oldest || db->sigs[i].last_ms < oldest->last_ms)
			oldest = &db->sigs[i];
	}
	if (!add)
		return NULL;
	if (db->n_sigs < CRASHDB_SIGNATURES)
		oldest = &db->sigs[db->n_sigs++];
	*oldest = (struct sig_rec){};
	snprintf(oldest->signature, sizeof(oldest->signature), "%s", signature);
	snprintf(oldest->version, sizeof(oldest->version), "%s", version);
	return oldest;
}

int crashdb_signature(struct crashdb *db, const char *signature, const char *software_version,
		      uint64_t now_ms, uint32_t *ret_cores)
{
	struct sig_rec *s = find_sig(db, signature, software_version, true);

	db->dirty = true;
	s->last_ms = now_ms;
	if (s->crashes < UINT32_MAX)
		s->crashes++;
	*ret_cores = s->cores;
	return 0;
}

void crashdb_core_stored(struct crashdb *db, const char *signature, const char *software_version)
{
	struct sig_rec *s = find_sig(db, signature, software_version, false);

	if (s && s->cores < UINT32_MAX) {
		s->cores++;
		db->dirty = true;
	}
}

static json_object *to_json(const struct crashdb *db)
{
	json_object *o = json_object_new_object(), *sigs = json_object_new_array(),
		    *procs = json_object_new_array();

	/* lc_json_add() takes each array over, on failure too. */
	if (lc_json_add(o, "signatures", sigs) < 0) {
		json_object_put(procs);
		goto oom;
	}
	if (lc_json_add(o, "processes", procs) < 0)
		goto oom;
	for (size_t i = 0; i < db->n_sigs; i++) {
		const struct sig_rec *s = &db->sigs[i];
		json_object *e = json_object_new_object();

		if (!e || json_object_array_add(sigs, e) < 0) {
			json_object_put(e);
			goto oom;
		}
		if (lc_json_add(e, "signature", json_object_new_string(s->signature)) < 0 ||
		    lc_json_add(e, "software_version", json_object_new_string(s->version)) < 0 ||
		    lc_json_add(e, "cores", json_object_new_int64(s->cores)) < 0 ||
		    lc_json_add(e, "crashes", json_object_new_int64(s->crashes)) < 0 ||
		    lc_json_add(e, "last_ms", json_object_new_int64((int64_t)s->last_ms)) < 0)
			goto oom;
	}
	for (size_t i = 0; i < db->n_procs; i++) {
		const struct proc_rec *p = &db->procs[i];
		json_object *e = json_object_new_object(), *times = json_object_new_array();

		if (!e || json_object_array_add(procs, e) < 0) {
			json_object_put(times);
			json_object_put(e);
			goto oom;
		}
		if (lc_json_add(e, "times_ms", times) < 0 ||
		    lc_json_add(e, "exe", json_object_new_string(p->exe)) < 0 ||
		    lc_json_add(e, "loop", json_object_new_boolean(p->loop)) < 0 ||
		    lc_json_add(e, "last_ms", json_object_new_int64((int64_t)p->last_ms)) < 0)
			goto oom;
		for (size_t k = 0; k < p->n; k++)
			if (json_object_array_add(times,
						  json_object_new_int64((int64_t)p->times[k])) < 0)
				goto oom;
	}
	return o;
oom:
	json_object_put(o);
	return NULL;
}

int crashdb_close(struct crashdb *db)
{
	json_object *o;
	const char *text;
	size_t len;
	int r = 0;

	if (!db)
		return 0;
	if (db->dirty) {
		o = to_json(db);
		text = o ? json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len)
			 : NULL;
		r = text ? lc_write_file_atomic(db->path, text, len, 0600) : -ENOMEM;
		json_object_put(o);
	}
	close(db->lock_fd); /* releases the flock */
	free(db->path);
	free(db);
	return r;
}
