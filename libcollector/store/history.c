/* SPDX-License-Identifier: MIT */
/* The device's history. See history.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "history.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"

static const char *const kind_names[_LC_HISTORY_KIND_MAX] = {
	[LC_HISTORY_BOOT] = "boot",
	[LC_HISTORY_CRASH] = "crash",
	[LC_HISTORY_CRASH_LOOP] = "crash-loop",
	[LC_HISTORY_UPDATE] = "update",
	[LC_HISTORY_BOOT_LOOP] = "boot-loop",
};

const char *lc_history_kind_name(enum lc_history_kind k)
{
	return k < _LC_HISTORY_KIND_MAX ? kind_names[k] : NULL;
}

static void add_string(json_object *o, const char *key, const char *s, int *error)
{
	lc_json_add_sticky(o, key, json_object_new_string(s), error);
}

static void add_uint(json_object *o, const char *key, uint64_t v, int *error)
{
	lc_json_add_sticky(o, key, json_object_new_int64((int64_t)v), error);
}

static void add_crash(json_object *o, const struct lc_history_event *e, int *error)
{
	json_object *frames;

	add_string(o, "process", e->process, error);
	if (e->kind == LC_HISTORY_CRASH_LOOP) {
		add_uint(o, "crashes", e->count, error);
		return;
	}
	add_uint(o, "pid", e->pid, error);
	lc_json_add_sticky(o, "signal", json_object_new_int(e->signal), error);
	add_string(o, "core", e->core, error);
	add_string(o, "entry", e->entry, error);
	add_string(o, "trace_entry", e->trace_entry, error);
	add_string(o, "signature", e->signature, error);
	frames = json_object_new_array();
	for (size_t i = 0; frames && i < LC_CRASH_FRAMES && e->frames[i][0]; i++)
		if (json_object_array_add(frames, json_object_new_string(e->frames[i])) < 0)
			*error = -ENOMEM;
	lc_json_add_sticky(o, "frames", frames, error);
	add_string(o, "software_version", e->software_version, error);
}

json_object *lc_history_event_to_json(const struct lc_history_event *e)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	char name[96];
	int error = 0;

	if (!o || e->kind >= _LC_HISTORY_KIND_MAX)
		return NULL;
	add_string(o, "kind", kind_names[e->kind], &error);
	add_uint(o, "time_ms", e->time_ms, &error);
	add_string(o, "boot_id", e->boot_id, &error);
	switch (e->kind) {
	case LC_HISTORY_BOOT:
		if (e->has_reason) {
			lc_json_add_sticky(o, "reason", lc_reboot_reason_to_json(&e->reason),
					   &error);
			add_string(o, "reason_name",
				   lc_reboot_reason_format(&e->reason, name, sizeof(name)), &error);
		} else {
			lc_json_sticky(lc_json_add_null(o, "reason"), &error);
		}
		lc_json_add_sticky(o, "unexpected", json_object_new_boolean(e->unexpected), &error);
		lc_json_add_sticky(o, "boot_loop", json_object_new_boolean(e->boot_loop), &error);
		add_string(o, "software_version", e->software_version, &error);
		break;
	case LC_HISTORY_CRASH:
	case LC_HISTORY_CRASH_LOOP:
		add_crash(o, e, &error);
		break;
	case LC_HISTORY_UPDATE:
		add_string(o, "from", e->from_version, &error);
		add_string(o, "to", e->software_version, &error);
		break;
	case LC_HISTORY_BOOT_LOOP:
		add_uint(o, "unexpected_reboots", e->count, &error);
		add_uint(o, "minutes", e->minutes, &error);
		break;
	default:
		break;
	}
	return error < 0 ? NULL : TAKE_PTR(o);
}

/* Copies the string member key of o into buf; a missing one is "" unless required. */
static int get_string(json_object *o, const char *key, bool required, char *buf, size_t size)
{
	json_object *v;
	size_t len;

	if (!json_object_object_get_ex(o, key, &v)) {
		buf[0] = '\0';
		return required ? -EBADMSG : 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return -EBADMSG;
	len = (size_t)json_object_get_string_len(v);
	if (len >= size || memchr(json_object_get_string(v), '\0', len))
		return -EBADMSG;
	memcpy(buf, json_object_get_string(v), len + 1);
	return 0;
}

/* The unsigned integer member key of o, at most max; a missing one is 0 unless required. */
static int get_uint(json_object *o, const char *key, bool required, uint64_t max, uint64_t *ret)
{
	json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(o, key, &v)) {
		*ret = 0;
		return required ? -EBADMSG : 0;
	}
	if (!json_object_is_type(v, json_type_int))
		return -EBADMSG;
	n = json_object_get_int64(v);
	if (n < 0 || (uint64_t)n > max)
		return -EBADMSG;
	*ret = (uint64_t)n;
	return 0;
}

static int get_bool(json_object *o, const char *key, bool *ret)
{
	json_object *v;

	*ret = false;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return -EBADMSG;
	*ret = json_object_get_boolean(v);
	return 0;
}

static int crash_from_json(json_object *o, struct lc_history_event *e)
{
	json_object *frames;
	uint64_t n;
	size_t len;

	if (get_string(o, "process", true, e->process, sizeof(e->process)) < 0)
		return -EBADMSG;
	if (e->kind == LC_HISTORY_CRASH_LOOP) {
		if (get_uint(o, "crashes", true, UINT32_MAX, &n) < 0)
			return -EBADMSG;
		e->count = (uint32_t)n;
		return 0;
	}
	if (get_uint(o, "pid", false, UINT32_MAX, &n) < 0)
		return -EBADMSG;
	e->pid = (uint32_t)n;
	if (get_uint(o, "signal", false, 128, &n) < 0)
		return -EBADMSG;
	e->signal = (int)n;
	if (get_string(o, "core", false, e->core, sizeof(e->core)) < 0 ||
	    get_string(o, "entry", false, e->entry, sizeof(e->entry)) < 0 ||
	    get_string(o, "trace_entry", false, e->trace_entry, sizeof(e->trace_entry)) < 0 ||
	    get_string(o, "signature", false, e->signature, sizeof(e->signature)) < 0 ||
	    get_string(o, "software_version", false, e->software_version,
		       sizeof(e->software_version)) < 0)
		return -EBADMSG;
	if (!json_object_object_get_ex(o, "frames", &frames))
		return 0;
	if (!json_object_is_type(frames, json_type_array))
		return -EBADMSG;
	len = MIN(json_object_array_length(frames), (size_t)LC_CRASH_FRAMES);
	for (size_t i = 0; i < len; i++) {
		json_object *f = json_object_array_get_idx(frames, i);
		size_t flen;

		if (!json_object_is_type(f, json_type_string))
			return -EBADMSG;
		flen = (size_t)json_object_get_string_len(f);
		if (flen >= LC_CRASH_FRAME_CHARS)
			flen = LC_CRASH_FRAME_CHARS - 1;
		memcpy(e->frames[i], json_object_get_string(f), flen);
		e->frames[i][flen] = '\0';
	}
	return 0;
}

int lc_history_event_from_json(json_object *o, struct lc_history_event *ret)
{
	struct lc_history_event e = { 0 };
	json_object *reason;
	char kind[16];
	uint64_t n;
	int r = 0;

	if (!json_object_is_type(o, json_type_object) ||
	    get_string(o, "kind", true, kind, sizeof(kind)) < 0)
		return -EBADMSG;
	for (e.kind = 0; e.kind < _LC_HISTORY_KIND_MAX; e.kind++)
		if (streq(kind_names[e.kind], kind))
			break;
	if (e.kind == _LC_HISTORY_KIND_MAX ||
	    get_uint(o, "time_ms", true, INT64_MAX, &e.time_ms) < 0 ||
	    get_string(o, "boot_id", false, e.boot_id, sizeof(e.boot_id)) < 0)
		return -EBADMSG;
	switch (e.kind) {
	case LC_HISTORY_BOOT:
		if (json_object_object_get_ex(o, "reason", &reason) && reason) {
			if (lc_reboot_reason_from_json(reason, &e.reason) < 0)
				return -EBADMSG;
			e.has_reason = true;
		}
		if (get_bool(o, "unexpected", &e.unexpected) < 0 ||
		    get_bool(o, "boot_loop", &e.boot_loop) < 0 ||
		    get_string(o, "software_version", false, e.software_version,
			       sizeof(e.software_version)) < 0)
			return -EBADMSG;
		break;
	case LC_HISTORY_CRASH:
	case LC_HISTORY_CRASH_LOOP:
		r = crash_from_json(o, &e);
		break;
	case LC_HISTORY_UPDATE:
		if (get_string(o, "from", true, e.from_version, sizeof(e.from_version)) < 0 ||
		    get_string(o, "to", true, e.software_version, sizeof(e.software_version)) < 0)
			return -EBADMSG;
		break;
	case LC_HISTORY_BOOT_LOOP:
		if (get_uint(o, "unexpected_reboots", true, UINT32_MAX, &n) < 0)
			return -EBADMSG;
		e.count = (uint32_t)n;
		if (get_uint(o, "minutes", true, UINT32_MAX, &n) < 0)
			return -EBADMSG;
		e.minutes = (uint32_t)n;
		break;
	default:
		return -EBADMSG;
	}
	if (r < 0)
		return r;
	*ret = e;
	return 0;
}

void lc_history_done(struct lc_history *h)
{
	free(h->events);
	*h = (struct lc_history){ 0 };
}

/* Parses one line (without its newline); 0, -EBADMSG or -ENOMEM. */
static int parse_line(const char *line, size_t len, struct lc_history_event *ret)
{
	_cleanup_json_ json_object *o = NULL;
	json_tokener *tok;

	if (len == 0 || len > LC_HISTORY_LINE_MAX || memchr(line, '\0', len))
		return -EBADMSG;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		json_tokener_free(tok);
		return -EBADMSG;
	}
	json_tokener_free(tok);
	return lc_history_event_from_json(o, ret);
}

/* Keeps e in h, a ring of at most max events whose oldest is at *start once full. */
static int keep_event(struct lc_history *h, size_t *alloc, size_t *start, size_t max,
		      const struct lc_history_event *e)
{
	if (h->n == max) {
		h->events[*start] = *e;
		*start = (*start + 1) % max;
		return 0;
	}
	if (h->n == *alloc) {
		size_t a = MIN(max, MAX((size_t)16, *alloc * 2));
		struct lc_history_event *p = realloc(h->events, a * sizeof(*p));

		if (!p)
			return -ENOMEM;
		h->events = p;
		*alloc = a;
	}
	h->events[h->n++] = *e;
	return 0;
}

int lc_history_parse(const char *buf, size_t len, size_t max_events, struct lc_history *ret)
{
	struct lc_history h = { 0 };
	size_t alloc = 0, start = 0, pos = 0;

	if (max_events == 0)
		max_events = 1;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		struct lc_history_event e;
		int r;

		r = parse_line(buf + pos, end - pos, &e);
		if (r == 0 && nl)
			r = keep_event(&h, &alloc, &start, max_events, &e);
		if (r == -ENOMEM) {
			lc_history_done(&h);
			return r;
		}
		if (!nl)
			/* A torn line is one an append did not finish, whether or not it parses:
			 * nothing that ends without a newline was written whole. */
			h.torn = true;
		else if (r < 0 && end > pos)
			h.damaged++;
		pos = end + 1;
	}
	/* Oldest first. */
	if (start > 0) {
		struct lc_history_event *p = malloc(h.n * sizeof(*p));

		if (!p) {
			lc_history_done(&h);
			return -ENOMEM;
		}
		memcpy(p, h.events + start, (h.n - start) * sizeof(*p));
		memcpy(p + (h.n - start), h.events, start * sizeof(*p));
		free(h.events);
		h.events = p;
	}
	*ret = h;
	return 0;
}

char *lc_history_format_line(const struct lc_history_event *e)
{
	_cleanup_json_ json_object *o = lc_history_event_to_json(e);
	char *line;

	if (!o)
		return NULL;
	if (asprintf(&line, "%s\n",
		     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
		return NULL;
	return line;
}

int lc_history_format(const struct lc_history *h, const struct lc_history_event *extra,
		      const struct lc_history_limits *l, char **ret, size_t *ret_len)
{
	size_t total = h->n + (extra ? 1 : 0), first = total, bytes = 0;
	_cleanup_free_ char **lines = calloc(total ? total : 1, sizeof(char *));
	_cleanup_free_ char *buf = NULL;
	size_t pos = 0;
	int r = 0;

	if (!lines)
		return -ENOMEM;
	/* Newest first, until the count or half the bytes are reached; the newest always stays. */
	while (first > 0 && total - first < l->max_events) {
		size_t i = first - 1, len;

		lines[i] = lc_history_format_line(i < h->n ? &h->events[i] : extra);
		if (!lines[i]) {
			r = -ENOMEM;
			break;
		}
		len = strlen(lines[i]);
		if (first < total && bytes + len > l->max_bytes / 2) {
			free(lines[i]);
			lines[i] = NULL;
			break;
		}
		bytes += len;
		first--;
	}
	if (r == 0) {
		buf = malloc(bytes + 1);
		if (!buf)
			r = -ENOMEM;
	}
	for (size_t i = first; i < total; i++) {
		if (buf) {
			size_t len = strlen(lines[i]);

			memcpy(buf + pos, lines[i], len);
			pos += len;
		}
		free(lines[i]);
	}
	for (size_t i = 0; i < first; i++)
		free(lines[i]);
	if (r < 0)
		return r;
	buf[pos] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = pos;
	return 0;
}

bool lc_history_needs_rewrite(uint64_t size, size_t line_len, const struct lc_history_limits *l)
{
	return size + line_len > l->max_bytes;
}

void lc_history_sort(struct lc_history *h)
{
	/* Insertion sort: stable, and the events come almost sorted. */
	for (size_t i = 1; i < h->n; i++) {
		struct lc_history_event e = h->events[i];
		size_t j = i;

		while (j > 0 && h->events[j - 1].time_ms > e.time_ms) {
			h->events[j] = h->events[j - 1];
			j--;
		}
		h->events[j] = e;
	}
}

unsigned lc_history_unexpected_boots(const struct lc_history *h, uint64_t now_ms, unsigned minutes)
{
	uint64_t window = (uint64_t)minutes * 60000;
	uint64_t since = now_ms > window ? now_ms - window : 0;
	unsigned n = 0;

	/* Newest first: a run of unexpected boots, which an expected one (an update, a reboot
	 * someone asked for) or the window's start ends. */
	for (size_t i = h->n; i > 0; i--) {
		const struct lc_history_event *e = &h->events[i - 1];

		if (e->kind != LC_HISTORY_BOOT || e->time_ms > now_ms)
			continue;
		if (!e->unexpected || e->time_ms < since)
			break;
		n++;
	}
	return n;
}

const struct lc_history_event *lc_history_last_boot(const struct lc_history *h)
{
	for (size_t i = h->n; i > 0; i--)
		if (h->events[i - 1].kind == LC_HISTORY_BOOT)
			return &h->events[i - 1];
	return NULL;
}

static char *history_path(const char *state_dir)
{
	char *path;

	if (asprintf(&path, "%s/%s", state_dir, LC_HISTORY_FILE) < 0)
		return NULL;
	return path;
}

int lc_history_load(const char *state_dir, const struct lc_history_limits *l, bool quiet,
		    struct lc_history *ret)
{
	_cleanup_free_ char *path = history_path(state_dir);
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	if (!path)
		return -ENOMEM;
	r = lc_read_file(path, l->max_bytes * 2, &buf, &len);
	if (r == -ENOENT) {
		*ret = (struct lc_history){ 0 };
		return 0;
	}
	if (r == -EFBIG || r == -EISDIR || r == -EBADFD) {
		if (!quiet)
			log_warning_errno(r,
					  "History %s is not a history file (%m); starting a "
					  "new one.",
					  path);
		*ret = (struct lc_history){ 0 };
		return 0;
	}
	if (r < 0)
		return log_warning_errno(r, "Failed to read the history %s: %m", path);
	r = lc_history_parse(buf, len, l->max_events, ret);
	if (r < 0)
		return log_oom();
	if (ret->damaged > 0 && !quiet)
		log_warning("History %s: %zu damaged line%s skipped; the next rewrite drops them.",
			    path, ret->damaged, ret->damaged == 1 ? "" : "s");
	if (ret->torn && !quiet)
		log_info("History %s: the last line was cut short (a power cut?); skipped.", path);
	return 0;
}

/* Replaces the file with the newest events of what it holds, and e. */
static int history_rewrite(const char *state_dir, const char *path,
			   const struct lc_history_limits *l, const struct lc_history_event *e)
{
	_cleanup_(lc_history_done) struct lc_history h = { 0 };
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = lc_history_load(state_dir, l, true, &h);
	if (r < 0 && r != -ENOMEM)
		h = (struct lc_history){ 0 }; /* unreadable: start again with e */
	else if (r < 0)
		return r;
	r = lc_history_format(&h, e, l, &buf, &len);
	if (r < 0)
		return r;
	return lc_write_file_atomic(path, buf, len, 0600);
}

int lc_history_append(const char *state_dir, const struct lc_history_limits *l,
		      const struct lc_history_event *e, bool rewrite)
{
	_cleanup_free_ char *path = history_path(state_dir);
	_cleanup_free_ char *line = lc_history_format_line(e);
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	size_t len;
	char last;
	int r;

	if (!path || !line)
		return -ENOMEM;
	len = strlen(line);
	if (rewrite)
		return history_rewrite(state_dir, path, l, e);
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0)
		return errno == ELOOP || errno == EISDIR ? history_rewrite(state_dir, path, l, e)
							 : -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	/* Over the limit, or a torn last line (a power cut while appending): rewritten, which
	 * drops the torn line and any damaged one. */
	if (lc_history_needs_rewrite((uint64_t)st.st_size, len, l) ||
	    (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n'))
		return history_rewrite(state_dir, path, l, e);
	r = lc_write_all(fd, line, len);
	if (r < 0)
		return r;
	if (fdatasync(fd) < 0)
		return -errno;
	if (st.st_size == 0)
		(void)lc_fsync_dir(state_dir);
	return 0;
}

void lc_history_event_from_crash(const struct lc_crash_report *r, struct lc_history_event *ret)
{
	struct lc_history_event e = {
		.kind = LC_HISTORY_CRASH, .time_ms = r->time_ms, .pid = r->pid, .signal = r->signal
	};

	/* The report's arrays are at most as long as the event's and NUL-terminated. */
	snprintf(e.boot_id, sizeof(e.boot_id), "%s", r->boot_id);
	snprintf(e.software_version, sizeof(e.software_version), "%s", r->software_version);
	snprintf(e.process, sizeof(e.process), "%s", r->process);
	snprintf(e.core, sizeof(e.core), "%s", r->core);
	snprintf(e.entry, sizeof(e.entry), "%s", r->entry);
	snprintf(e.trace_entry, sizeof(e.trace_entry), "%s", r->trace_entry);
	snprintf(e.signature, sizeof(e.signature), "%s", r->signature);
	for (size_t i = 0; i < LC_CRASH_FRAMES; i++)
		snprintf(e.frames[i], sizeof(e.frames[i]), "%s", r->frames[i]);
	*ret = e;
}

int lc_history_add_crash(const char *state_dir, const struct lc_crash_report *r)
{
	struct lc_history_limits l = lc_history_default_limits();
	struct lc_history_event e;
	int k;

	lc_history_event_from_crash(r, &e);
	k = lc_history_append(state_dir, &l, &e, false);
	if (k < 0 || !r->loop_crashes)
		return k;
	e = (struct lc_history_event){ .kind = LC_HISTORY_CRASH_LOOP,
				       .time_ms = r->time_ms,
				       .count = r->loop_crashes };
	snprintf(e.boot_id, sizeof(e.boot_id), "%s", r->boot_id);
	snprintf(e.process, sizeof(e.process), "%s", r->process);
	return lc_history_append(state_dir, &l, &e, false);
}
