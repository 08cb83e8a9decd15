/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crashlog.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "text.h"
#include "uuid.h"

#define REPORT_MAX 4096 /* bytes of one report file */

/* True for the name of a report file: <time_ms>-<pid>-<random>.json, what append writes. */
static bool is_report_name(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && n < 64 && name[0] != '.' && streq(name + n - 5, ".json") &&
	       strspn(name, "0123456789abcdef-") == n - 5;
}

static size_t count_reports(DIR *d)
{
	struct dirent *de;
	size_t n = 0;

	while ((de = readdir(d)))
		if (is_report_name(de->d_name))
			n++;
	return n;
}

int lc_crash_log_append(const char *state_dir, const struct lc_crash_report *r)
{
	_cleanup_free_ char *dir = lc_path_prefix(state_dir, "/crashes"), *path = NULL,
			    *text = NULL;
	_cleanup_(closedirp) DIR *d = NULL;
	uint32_t rnd;
	int k;

	if (!dir)
		return -ENOMEM;
	k = lc_mkdir_p(dir, 0700);
	if (k < 0)
		return k;
	d = opendir(dir);
	if (!d)
		return -errno;
	if (count_reports(d) >= LC_CRASH_LOG_MAX)
		return -ENOSPC;
	/* Two crashes of one pid in one millisecond (a saved core fed twice) keep both files. */
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)getpid() ^ (uint32_t)r->time_ms;
	if (asprintf(&path, "%s/%020" PRIu64 "-%010" PRIu32 "-%08" PRIx32 ".json", dir, r->time_ms,
		     r->pid, rnd) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	{
		json_object *o = lc_crash_report_to_json(r);

		if (!o)
			return -ENOMEM;
		text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		if (!text)
			return -ENOMEM;
	}
	return lc_write_file_atomic(path, text, strlen(text), 0600);
}

/* {CLASS: {REASON: n}} of the non-zero drops, or NULL (with *ret_oom) when there are none. */
static json_object *drops_to_json(const struct lc_crash_report *r, bool *ret_oom)
{
	json_object *root = NULL;

	*ret_oom = false;
	for (int c = 0; c < _LC_CLASS_MAX; c++) {
		json_object *o = NULL;

		for (int k = 0; k < _LC_DROP_MAX; k++) {
			if (r->drops[c][k] == 0)
				continue;
			if (!root && !(root = json_object_new_object()))
				goto oom;
			if (!o) {
				o = json_object_new_object();
				if (lc_json_add(root, lc_entry_class_name(c), o) < 0)
					goto oom;
			}
			if (lc_json_add(o, lc_drop_reason_name(k),
					json_object_new_int64(r->drops[c][k])) < 0)
				goto oom;
		}
	}
	return root;
oom:
	json_object_put(root);
	*ret_oom = true;
	return NULL;
}

/* The trace's members, added only when there is a trace. */
static int trace_to_json(json_object *o, const struct lc_crash_report *r)
{
	json_object *frames;

	if (!r->signature[0] && !r->trace_entry[0])
		return 0;
	frames = json_object_new_array();
	if (!frames || lc_json_add(o, "frames", frames) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < LC_CRASH_FRAMES && r->frames[i][0]; i++)
		if (json_object_array_add(frames, json_object_new_string(r->frames[i])) < 0)
			return -ENOMEM;
	if (lc_json_add(o, "trace_entry", json_object_new_string(r->trace_entry)) < 0 ||
	    lc_json_add(o, "signature", json_object_new_string(r->signature)) < 0)
		return -ENOMEM;
	return 0;
}

json_object *lc_crash_report_to_json(const struct lc_crash_report *r)
{
	json_object *o = json_object_new_object(), *drops;
	bool oom;

	drops = drops_to_json(r, &oom);
	if (!o || oom || lc_json_add(o, "process", json_object_new_string(r->process)) < 0 ||
	    lc_json_add(o, "pid", json_object_new_int64(r->pid)) < 0 ||
	    lc_json_add(o, "signal", json_object_new_int(r->signal)) < 0 ||
	    lc_json_add(o, "time_ms", json_object_new_int64((int64_t)r->time_ms)) < 0 ||
	    lc_json_add(o, "boot_id", json_object_new_string(r->boot_id)) < 0 ||
	    lc_json_add(o, "monotonic_ms", json_object_new_int64((int64_t)r->mono_ms)) < 0 ||
	    lc_json_add(o, "software_version", json_object_new_string(r->software_version)) < 0 ||
	    lc_json_add(o, "core", json_object_new_string(r->core)) < 0 ||
	    lc_json_add(o, "entry", json_object_new_string(r->entry)) < 0 ||
	    trace_to_json(o, r) < 0 ||
	    (r->loop_crashes &&
	     lc_json_add(o, "loop_crashes", json_object_new_int64(r->loop_crashes)) < 0) ||
	    (drops && lc_json_add(o, "unsaved_drops", TAKE_PTR(drops)) < 0)) {
		json_object_put(drops);
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int get_string(json_object *o, const char *key, char *dst, size_t size)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return -EBADMSG;
	s = json_object_get_string(v);
	lc_text_printable_copy(dst, size, s, strlen(s));
	return 0;
}

static int get_int(json_object *o, const char *key, int64_t min, int64_t max, int64_t *ret)
{
	json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -EBADMSG;
	x = json_object_get_int64(v);
	if (x < min || x > max)
		return -EBADMSG;
	*ret = x;
	return 0;
}

/* Reads {CLASS: {REASON: n}} into r->drops; names it does not know are skipped. */
static int drops_from_json(json_object *o, struct lc_crash_report *r)
{
	if (!json_object_is_type(o, json_type_object))
		return -EBADMSG;
	json_object_object_foreach(o, cname, reasons)
	{
		int c = 0;

		while (c < _LC_CLASS_MAX && !streq(lc_entry_class_name(c), cname))
			c++;
		if (!json_object_is_type(reasons, json_type_object))
			return -EBADMSG;
		json_object_object_foreach(reasons, rname, n)
		{
			int k = 0;
			int64_t v;

			while (k < _LC_DROP_MAX && !streq(lc_drop_reason_name(k), rname))
				k++;
			if (!json_object_is_type(n, json_type_int))
				return -EBADMSG;
			v = json_object_get_int64(n);
			if (v < 0 || v > UINT32_MAX)
				return -EBADMSG;
			if (c < _LC_CLASS_MAX && k < _LC_DROP_MAX)
				r->drops[c][k] = (uint32_t)v;
		}
	}
	return 0;
}

/* Reads the trace's members when present. */
static int trace_from_json(json_object *o, struct lc_crash_report *r)
{
	json_object *frames;
	size_t n;

	if (json_object_object_get_ex(o, "trace_entry", NULL) &&
	    (get_string(o, "trace_entry", r->trace_entry, sizeof(r->trace_entry)) < 0 ||
	     (r->trace_entry[0] && !lc_uuid_valid(r->trace_entry))))
		return -EBADMSG;
	if (json_object_object_get_ex(o, "signature", NULL) &&
	    (get_string(o, "signature", r->signature, sizeof(r->signature)) < 0 ||
	     (r->signature[0] &&
	      (strlen(r->signature) != 16 || strspn(r->signature, "0123456789abcdef") != 16))))
		return -EBADMSG;
	if (!json_object_object_get_ex(o, "frames", &frames))
		return 0;
	if (!json_object_is_type(frames, json_type_array))
		return -EBADMSG;
	n = MIN(json_object_array_length(frames), (size_t)LC_CRASH_FRAMES);
	for (size_t i = 0; i < n; i++) {
		json_object *f = json_object_array_get_idx(frames, i);
		const char *s;

		if (!json_object_is_type(f, json_type_string))
			return -EBADMSG;
		s = json_object_get_string(f);
		lc_text_printable_copy(r->frames[i], sizeof(r->frames[i]), s, strlen(s));
	}
	return 0;
}

int lc_crash_report_from_json(json_object *o, struct lc_crash_report *ret)
{
	struct lc_crash_report r = {};
	int64_t pid = 0, sig = 0, t = 0, mono = 0;
	json_object *drops, *v;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    get_string(o, "process", r.process, sizeof(r.process)) < 0 ||
	    get_string(o, "core", r.core, sizeof(r.core)) < 0 ||
	    get_string(o, "entry", r.entry, sizeof(r.entry)) < 0 ||
	    get_int(o, "pid", 0, UINT32_MAX, &pid) < 0 || get_int(o, "signal", 0, 255, &sig) < 0 ||
	    get_int(o, "time_ms", 0, INT64_MAX, &t) < 0)
		return -EBADMSG;
	if (json_object_object_get_ex(o, "unsaved_drops", &drops) && drops_from_json(drops, &r) < 0)
		return -EBADMSG;
	/* When the crash happened, for the hours ledger: absent from older handlers' reports. */
	if (json_object_object_get_ex(o, "boot_id", &v) &&
	    (get_string(o, "boot_id", r.boot_id, sizeof(r.boot_id)) < 0 ||
	     (r.boot_id[0] && !lc_uuid_valid(r.boot_id))))
		return -EBADMSG;
	if (json_object_object_get_ex(o, "monotonic_ms", &v) &&
	    get_int(o, "monotonic_ms", 0, INT64_MAX, &mono) < 0)
		return -EBADMSG;
	if (json_object_object_get_ex(o, "software_version", &v) &&
	    get_string(o, "software_version", r.software_version, sizeof(r.software_version)) < 0)
		return -EBADMSG;
	if (trace_from_json(o, &r) < 0)
		return -EBADMSG;
	if (json_object_object_get_ex(o, "loop_crashes", &v)) {
		int64_t loop;

		if (get_int(o, "loop_crashes", 0, UINT32_MAX, &loop) < 0)
			return -EBADMSG;
		r.loop_crashes = (uint32_t)loop;
	}
	r.mono_ms = (uint64_t)mono;
	r.pid = (uint32_t)pid;
	r.signal = (int)sig;
	r.time_ms = (uint64_t)t;
	*ret = r;
	return 0;
}

static int parse_report(const char *text, struct lc_crash_report *ret)
{
	json_object *o = json_tokener_parse(text);
	int k = lc_crash_report_from_json(o, ret);

	json_object_put(o);
	return k;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int lc_crash_log_drain(const char *state_dir, lc_crash_log_fn fn, void *userdata)
{
	_cleanup_free_ char *dir = lc_path_prefix(state_dir, "/crashes");
	_cleanup_(closedirp) DIR *d = NULL;
	char *names[LC_CRASH_LOG_MAX];
	size_t n = 0;
	struct dirent *de;
	int count = 0;

	if (!dir)
		return -ENOMEM;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	/* At most LC_CRASH_LOG_MAX are written; more (put there by hand) wait for the next drain.
	 */
	while ((de = readdir(d)) && n < LC_CRASH_LOG_MAX) {
		if (!is_report_name(de->d_name))
			continue;
		names[n] = strdup(de->d_name);
		if (!names[n])
			break;
		n++;
	}
	qsort(names, n, sizeof(names[0]), cmp_names);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = NULL, *text = NULL;
		struct lc_crash_report r;
		size_t len;
		int k;

		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			path = NULL;
			free(names[i]);
			continue;
		}
		free(names[i]);
		k = lc_read_file(path, REPORT_MAX, &text, &len);
		if (k == -ENOENT)
			continue; /* another drain took it */
		if (k >= 0)
			k = parse_report(text, &r);
		if (k < 0)
			log_warning_errno(k, "Crash report %s is not readable (%m); removing it.",
					  path);
		else if (unlink(path) < 0 && errno == ENOENT)
			continue; /* counted by whoever removed it first */
		else {
			fn(&r, userdata);
			count++;
			continue;
		}
		(void)unlink(path);
	}
	return count;
}
