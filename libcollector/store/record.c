/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build-config.h"
#include "clock.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "record.h"
#include "utf8.h"
#include "uuid.h"

#define BOOT_JSON_MAX 4096

void lc_clock_sample_now(struct lc_clock_sample *ret)
{
	ret->realtime_ms = lc_clock_ms(CLOCK_REALTIME);
	ret->monotonic_ms = lc_clock_ms(CLOCK_MONOTONIC);
	ret->boottime_ms = lc_clock_ms(CLOCK_BOOTTIME);
}

/* Seconds since the boot began, from <sysroot>/proc/uptime; -1 when it cannot be read. */
static double uptime_seconds(const char *sysroot)
{
	_cleanup_free_ char *path = lc_path_prefix(sysroot, "/proc/uptime"), *text = NULL;
	double up;
	size_t len;

	if (!path || lc_read_file(path, 128, &text, &len) < 0 || sscanf(text, "%lf", &up) != 1 ||
	    !(up >= 0.0) || up > 1e12)
		return -1;
	return up;
}

/*
 * A boot id for a kernel that gives none, the same for every run of faultd (and of the core
 * handler) in one boot: kept in <sysroot>/run/faultd/, which a boot empties, with the uptime at
 * which it was made so that a /run that outlives a boot (not a tmpfs) cannot carry it over: an
 * uptime lower than that is a new boot. Only faultd (persist) makes one.
 */
static int fallback_boot_id(const char *sysroot, bool persist, char ret[37])
{
	_cleanup_free_ char *dir = lc_path_prefix(sysroot, "/run/faultd");
	_cleanup_free_ char *path = lc_path_prefix(sysroot, "/run/faultd/boot_id");
	_cleanup_free_ char *text = NULL, *out = NULL;
	double up = uptime_seconds(sysroot), made;
	char id[37];
	size_t len;
	int r;

	if (!dir || !path)
		return -ENOMEM;
	r = lc_read_file(path, 128, &text, &len);
	if (r >= 0 && sscanf(text, "%36s %lf", id, &made) == 2 && lc_uuid_valid(id) &&
	    (up < 0 || made <= up + 1.0)) {
		memcpy(ret, id, 37);
		return 0;
	}
	if (!persist)
		return r < 0 ? r : -ESTALE;
	r = lc_uuid_random(id);
	if (r < 0)
		return r;
	if (asprintf(&out, "%s %.0f\n", id, up < 0 ? 0.0 : up) < 0)
		return -ENOMEM;
	r = lc_mkdir_p(dir, 0755);
	if (r >= 0)
		r = lc_write_file_atomic(path, out, strlen(out), 0644);
	if (r < 0)
		return r;
	memcpy(ret, id, 37);
	return 0;
}

/* Returns 0, or -errno (logged) when no boot id can be read, kept or made. */
static int read_boot_id(const char *sysroot, bool persist, char ret[37])
{
	_cleanup_free_ char *path = lc_path_prefix(sysroot, "/proc/sys/kernel/random/boot_id");
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r, k, u;

	r = path ? lc_read_file(path, 64, &text, &len) : -ENOMEM;
	if (r >= 0) {
		text[strcspn(text, "\n")] = 0;
		if (lc_uuid_valid(text)) {
			memcpy(ret, text, 37);
			return 0;
		}
		r = -EBADMSG;
	}
	k = fallback_boot_id(sysroot, persist, ret);
	if (k >= 0) {
		(void)lc_log_full_errno(
			persist ? LOG_WARNING : LOG_DEBUG, r,
			"Failed to read the boot id from %s (%m); using %s, kept in "
			"/run/faultd/boot_id for this boot.",
			path ? path : "/proc/sys/kernel/random/boot_id", ret);
		return 0;
	}
	u = lc_uuid_random(ret);
	if (u < 0)
		return log_error_errno(u,
				       "Failed to read the boot id from %s (%s), to keep one in "
				       "/run/faultd/boot_id (%s) and to make one: %m",
				       path ? path : "/proc/sys/kernel/random/boot_id",
				       strerror(-r), strerror(-k));
	log_warning_errno(r,
			  "Failed to read the boot id from %s (%m) and to keep one in "
			  "/run/faultd/boot_id (%s); using %s for this run.",
			  path ? path : "/proc/sys/kernel/random/boot_id", strerror(-k), ret);
	return 0;
}

/* The monotonic reading at which this boot began, from the seconds /proc/uptime says have passed
 * since; 0 when it cannot be read. */
static uint64_t boot_start_ms(const char *sysroot)
{
	uint64_t now = lc_clock_ms(CLOCK_MONOTONIC);
	double up = uptime_seconds(sysroot);

	if (up < 0 || up * 1000.0 >= (double)now)
		return 0;
	return now - (uint64_t)(up * 1000.0);
}

static int boot_info(const char *sysroot, const char *state_dir, bool persist,
		     struct lc_boot_info *ret)
{
	_cleanup_free_ char *path = lc_path_prefix(state_dir, "/boot.json");
	_cleanup_free_ char *text = NULL, *out = NULL;
	struct lc_boot_info b = {};
	json_object *o = NULL, *id, *count, *prev;
	size_t len;
	int r;

	if (!path)
		return -ENOMEM;
	r = read_boot_id(sysroot, persist, b.boot_id);
	if (r < 0)
		return r;
	b.start_ms = boot_start_ms(sysroot);
	r = lc_read_file(path, BOOT_JSON_MAX, &text, &len);
	if (r == -ENOENT) {
		b.first_boot = b.new_boot = true;
	} else if (r < 0) {
		log_warning_errno(r, "Failed to read %s: %m; counting boots from 0 again.", path);
		b.new_boot = true;
	} else {
		o = json_tokener_parse(text);
		if (!json_object_object_get_ex(o, "boot_id", &id) ||
		    !json_object_is_type(id, json_type_string) ||
		    !json_object_object_get_ex(o, "boot_count", &count) ||
		    !json_object_is_type(count, json_type_int) ||
		    json_object_get_int64(count) < 0) {
			log_warning("%s: not a boot record; counting boots from 0 again.", path);
			b.new_boot = true;
		} else {
			b.boot_count = (uint64_t)json_object_get_int64(count);
			if (!streq(json_object_get_string(id), b.boot_id)) {
				b.new_boot = true;
				b.boot_count++;
				if (lc_uuid_valid(json_object_get_string(id)))
					memcpy(b.prev_boot_id, json_object_get_string(id), 36);
			} else if (json_object_object_get_ex(o, "previous_boot_id", &prev) &&
				   json_object_is_type(prev, json_type_string) &&
				   lc_uuid_valid(json_object_get_string(prev))) {
				memcpy(b.prev_boot_id, json_object_get_string(prev), 36);
			}
		}
		json_object_put(o);
	}
	if (b.new_boot && persist) {
		if (asprintf(&out,
			     "{\"boot_id\": \"%s\", \"boot_count\": %" PRIu64
			     ", \"previous_boot_id\": \"%s\"}\n",
			     b.boot_id, b.boot_count, b.prev_boot_id) < 0)
			return -ENOMEM;
		/* Not worth refusing to start for on a full or read-only state directory: the next
		 * start writes it (and counts this boot again). */
		r = lc_write_file_atomic(path, out, strlen(out), 0644);
		if (r < 0)
			log_warning_errno(r, "Failed to write %s, ignoring: %m", path);
	}
	*ret = b;
	return 0;
}

int lc_boot_info_load(const char *sysroot, const char *state_dir, struct lc_boot_info *ret)
{
	return boot_info(sysroot, state_dir, true, ret);
}

int lc_boot_info_peek(const char *sysroot, const char *state_dir, struct lc_boot_info *ret)
{
	return boot_info(sysroot, state_dir, false, ret);
}

static json_object *collection_time(const struct lc_record_context *ctx,
				    const struct lc_clock_sample *t)
{
	json_object *o = json_object_new_object();
	time_t secs = (time_t)(t->realtime_ms / 1000);
	struct tm tm;
	char stamp[64];

	if (!o || !gmtime_r(&secs, &tm))
		goto fail;
	snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(t->realtime_ms % 1000));
	if (lc_json_add(o, "timestamp", json_object_new_string(stamp)) < 0 ||
	    lc_json_add(o, "uptime_ms", json_object_new_int64((int64_t)t->monotonic_ms)) < 0 ||
	    lc_json_add(o, "linux_boot_id", json_object_new_string(ctx->boot->boot_id)) < 0 ||
	    lc_json_add(o, "elapsed_realtime_ms", json_object_new_int64((int64_t)t->boottime_ms)) <
		    0 ||
	    lc_json_add(o, "boot_count", json_object_new_int64((int64_t)ctx->boot->boot_count)) < 0)
		goto fail;
	return o;
fail:
	json_object_put(o);
	return NULL;
}

/* The identity's four fields and the project key. */
static json_object *device(const struct lc_record_context *ctx)
{
	json_object *o = lc_identity_to_json(ctx->identity);

	if (o && lc_json_add(o, "project_key", json_object_new_string(ctx->project_key)) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *producer(const struct lc_record_context *ctx)
{
	json_object *o = json_object_new_object();

	if (!o || lc_json_add(o, "id", json_object_new_string("faultd")) < 0 ||
	    lc_json_add(o, "version", json_object_new_string(FAULTD_VERSION)) < 0 ||
	    lc_json_add(o, "os_name", json_object_new_string("Linux")) < 0 ||
	    lc_json_add(o, "os_version", json_object_new_string(ctx->os_version)) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

json_object *lc_manifest_new(const struct lc_record_context *ctx, const struct lc_clock_sample *t,
			     const char *type, json_object *metadata)
{
	json_object *o = json_object_new_object();

	if (!o || !metadata || lc_json_add(o, "schema_version", json_object_new_int(1)) < 0 ||
	    lc_json_add(o, "collection_time", collection_time(ctx, t)) < 0 ||
	    lc_json_add(o, "device", device(ctx)) < 0 ||
	    lc_json_add(o, "producer", producer(ctx)) < 0 ||
	    lc_json_add(o, "type", json_object_new_string(type)) < 0) {
		json_object_put(metadata);
		json_object_put(o);
		return NULL;
	}
	if (lc_json_add(o, "metadata", metadata) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Copies the len bytes of src from offset 0 into the transaction's new file name. */
static int copy_attachment(struct lc_spool_txn *txn, const char *name, int src, uint64_t len)
{
	char buf[16384];
	uint64_t off = 0;
	int fd, r;

	r = lc_spool_txn_open(txn, name, &fd);
	if (r < 0)
		return r;
	while (off < len) {
		ssize_t n =
			pread(src, buf, (size_t)MIN((uint64_t)sizeof(buf), len - off), (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return log_error_errno(errno, "Failed to read the attachment %s: %m", name);
		if (n == 0)
			return log_error_errno(EIO,
					       "The attachment %s ended %" PRIu64 " bytes early.",
					       name, len - off);
		/* A full filesystem makes room for it (or refuses it) in the spool. */
		while ((r = lc_write_all(fd, buf, (size_t)n)) < 0) {
			off_t at = (off_t)off;

			r = lc_spool_txn_write_failed(txn, name, r, (size_t)n);
			if (r < 0)
				return r;
			/* Written again from where the file stood. */
			if (ftruncate(fd, at) < 0 || lseek(fd, at, SEEK_SET) < 0)
				return lc_spool_txn_write_failed(txn, name, negative_errno(), 0);
		}
		off += (uint64_t)n;
	}
	return 0;
}

/* Commits an entry of type with the manifest of metadata and, when name is not NULL, the len
 * bytes of fd as its attachment name. uuid names the entry (NULL: a random one, returned in
 * ret_uuid when that is not NULL). */
static int commit_entry(struct lc_spool *s, const struct lc_record_context *ctx,
			const struct lc_clock_sample *t, const char *type, json_object *metadata,
			const char *uuid, char *ret_uuid, const char *name, int fd, uint64_t len)
{
	json_object *m = lc_manifest_new(ctx, t, type, metadata);
	struct lc_spool_txn *txn = NULL;
	const char *text;
	size_t text_len;
	int r;

	if (!m)
		return -ENOMEM;
	text = json_object_to_json_string_length(m, JSON_C_TO_STRING_PLAIN, &text_len);
	if (!text) {
		r = -ENOMEM;
		goto out;
	}
	r = uuid ? lc_spool_txn_begin_uuid(s, type, uuid, &txn)
		 : lc_spool_txn_begin(s, type, &txn, ret_uuid);
	if (r < 0)
		goto out;
	r = lc_spool_txn_write(txn, "manifest.json", text, text_len);
	if (r >= 0 && name)
		r = copy_attachment(txn, name, fd, len);
	if (r < 0) {
		lc_spool_txn_abort(txn);
		goto out;
	}
	r = lc_spool_txn_commit(txn, t->realtime_ms);
out:
	json_object_put(m);
	return r;
}

int lc_record_commit(struct lc_spool *s, const struct lc_record_context *ctx,
		     const struct lc_clock_sample *t, const char *type, json_object *metadata,
		     char *ret_uuid)
{
	return commit_entry(s, ctx, t, type, metadata, NULL, ret_uuid, NULL, -1, 0);
}

int lc_record_commit_file(struct lc_spool *s, const struct lc_record_context *ctx,
			  const struct lc_clock_sample *t, const char *type, json_object *metadata,
			  const char *uuid, const char *name, int fd, uint64_t len)
{
	if (!uuid)
		return -EINVAL;
	return commit_entry(s, ctx, t, type, metadata, uuid, NULL, name, fd, len);
}

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("_.:/-", c);
}

/* Valid UTF-8 without control characters (C0, DEL, C1). */
static bool text_ok(const char *s, size_t len)
{
	for (size_t i = 0, n; i < len; i += n) {
		uint32_t cp;

		n = lc_utf8_decode(s + i, len - i, &cp);
		if (n == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return false;
	}
	return true;
}

/* JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number_syntax(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return false;
	if (*s == '.') {
		s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == 0;
}

static json_object *typed_value(const char *v, size_t len)
{
	if (len >= 2 && v[0] == '"' && v[len - 1] == '"')
		return json_object_new_string_len(v + 1, (int)(len - 2));
	if (streq(v, "true") || streq(v, "false"))
		return json_object_new_boolean(v[0] == 't');
	if (json_number_syntax(v)) {
		bool integral = !strpbrk(v, ".eE");
		char *end;

		if (integral) {
			errno = 0;
			long long n = strtoll(v, &end, 10);

			/* Beyond 64 bits a double would lose digits (an ICCID): keep the text. */
			if (errno != 0 || *end != 0)
				return json_object_new_string_len(v, (int)len);
			return json_object_new_int64(n);
		}
		double d = strtod(v, &end);

		if (*end == 0 && isfinite(d))
			return json_object_new_double(d);
	}
	return json_object_new_string_len(v, (int)len);
}

int lc_attribute_parse(const char *assignment, json_object **ret, const char **ret_why)
{
	const char *eq = strchr(assignment, '=');
	size_t klen, vlen;
	json_object *o, *v;

	if (!eq) {
		*ret_why = "expected KEY=VALUE";
		return -EINVAL;
	}
	klen = (size_t)(eq - assignment);
	if (klen == 0 || klen > LC_ATTRIBUTE_KEY_MAX) {
		*ret_why = "expected a key of 1-128 characters";
		return -EINVAL;
	}
	for (size_t i = 0; i < klen; i++)
		if (!key_char(assignment[i])) {
			*ret_why = "expected a key of A-Z a-z 0-9 _ . : / -";
			return -EINVAL;
		}
	vlen = strlen(eq + 1);
	if (vlen > LC_ATTRIBUTE_VALUE_MAX) {
		*ret_why = "expected a value of at most 1024 bytes";
		return -EINVAL;
	}
	if (!text_ok(eq + 1, vlen)) {
		*ret_why = "expected a value of printable UTF-8 text";
		return -EINVAL;
	}
	o = json_object_new_object();
	v = typed_value(eq + 1, vlen);
	if (!o || !v ||
	    lc_json_add(o, "string_key", json_object_new_string_len(assignment, (int)klen)) < 0 ||
	    lc_json_add(o, "value", TAKE_PTR(v)) < 0) {
		json_object_put(v);
		json_object_put(o);
		*ret_why = "out of memory";
		return -ENOMEM;
	}
	*ret = o;
	return 0;
}
