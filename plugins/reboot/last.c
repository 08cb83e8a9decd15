/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fileio.h"
#include "json-util.h"
#include "last.h"
#include "log.h"
#include "macro.h"

#define LAST_MAX (16 * 1024)

enum reboot_plan reboot_plan(const struct lc_boot_info *boot, json_object *last, bool history)
{
	const char *id = reboot_last_boot_id(last);

	if (id && streq(id, boot->boot_id))
		return REBOOT_PLAN_DONE;
	/* No last.json at all: a new state directory, a restart within its first boot before
	 * last.json was written, or an upgrade from a faultd that kept no reboot evidence. In each
	 * case nothing was watching how the previous boot ended, and blaming it on UnknownError
	 * would charge every upgraded device an unexpected reboot. */
	if (boot->first_boot || !history)
		return REBOOT_PLAN_FIRST_BOOT;
	return REBOOT_PLAN_DECIDE;
}

static char *last_path(const char *state_dir)
{
	return lc_path_prefix(state_dir, "/reboot/" REBOOT_LAST_FILE);
}

static const char *get_string(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int reboot_last_read(const char *state_dir, json_object **ret)
{
	_cleanup_free_ char *path = last_path(state_dir), *text = NULL;
	json_object *o;
	const char *id;
	size_t len;
	int r;

	if (!path)
		return -ENOMEM;
	r = lc_read_file(path, LAST_MAX, &text, &len);
	if (r == -ENOENT || r == -ENOMEM)
		return r;
	if (r < 0)
		return log_warning_errno(r, "Failed to read %s: %m", path);
	o = json_tokener_parse(text);
	id = get_string(o, "boot_id");
	if (!id || strlen(id) != 36 || !get_string(o, "source")) {
		json_object_put(o);
		log_warning("%s: not a reboot decision (expected boot_id and source).", path);
		return -EINVAL;
	}
	*ret = o;
	return 0;
}

const char *reboot_last_boot_id(json_object *last)
{
	return last ? get_string(last, "boot_id") : NULL;
}

static int get_u64(json_object *o, const char *key, uint64_t *ret)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -EINVAL;
	*ret = json_object_get_uint64(v);
	return 0;
}

int reboot_last_reason_file(json_object *last, struct reboot_file_id *ret)
{
	struct reboot_file_id id;
	json_object *f, *m;

	if (!last || !json_object_object_get_ex(last, "reason_file", &f) ||
	    get_u64(f, "dev", &id.dev) < 0 || get_u64(f, "ino", &id.ino) < 0 ||
	    get_u64(f, "size", &id.size) < 0 || !json_object_object_get_ex(f, "mtime_ns", &m) ||
	    !json_object_is_type(m, json_type_int))
		return -ENOENT;
	id.mtime_ns = json_object_get_int64(m);
	*ret = id;
	return 0;
}

static json_object *file_id_to_json(const struct reboot_file_id *id)
{
	json_object *o = json_object_new_object();

	if (!o || lc_json_add(o, "dev", json_object_new_uint64(id->dev)) < 0 ||
	    lc_json_add(o, "ino", json_object_new_uint64(id->ino)) < 0 ||
	    lc_json_add(o, "size", json_object_new_uint64(id->size)) < 0 ||
	    lc_json_add(o, "mtime_ns", json_object_new_int64(id->mtime_ns)) < 0)
		return json_object_put(o), NULL;
	return o;
}

json_object *reboot_last_new(const struct lc_boot_info *boot, const struct reboot_evidence *ev,
			     const struct reboot_decision *d, uint64_t now_ms,
			     const char *entry_uuid, const char *not_recorded)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object *others;
	char text[224];

	if (!o || lc_json_add(o, "others", others = json_object_new_object()) < 0)
		return NULL;
	if (lc_json_add(o, "boot_id", json_object_new_string(boot->boot_id)) < 0 ||
	    lc_json_add(o, "previous_boot_id", json_object_new_string(boot->prev_boot_id)) < 0 ||
	    lc_json_add(o, "source", json_object_new_string(reboot_source_name(d->source))) < 0 ||
	    lc_json_add(o, "decided_realtime_ms", json_object_new_int64((int64_t)now_ms)) < 0)
		return NULL;
	if (d->source != REBOOT_SRC_FIRST_BOOT &&
	    lc_json_add(o, "reason", lc_reboot_reason_to_json(&d->reason)) < 0)
		return NULL;
	for (size_t s = 0; s < REBOOT_SRC_COUNT; s++)
		if (s != (size_t)d->source && lc_json_add(others, reboot_source_name(s),
							  json_object_new_string(reboot_source_text(
								  ev, s, text, sizeof(text)))) < 0)
			return NULL;
	if (entry_uuid && lc_json_add(o, "entry", json_object_new_string(entry_uuid)) < 0)
		return NULL;
	if (not_recorded &&
	    lc_json_add(o, "not_recorded", json_object_new_string(not_recorded)) < 0)
		return NULL;
	if (ev->reason_file_id_valid &&
	    lc_json_add(o, "reason_file", file_id_to_json(&ev->reason_file_id)) < 0)
		return NULL;
	return TAKE_PTR(o);
}

int reboot_last_write(const char *state_dir, json_object *last)
{
	_cleanup_free_ char *path = last_path(state_dir), *dir = NULL;
	const char *text;
	int r;

	if (!path || !(dir = lc_path_dirname(path)))
		return -ENOMEM;
	r = lc_mkdir_p(dir, 0700);
	if (r < 0)
		return r;
	text = json_object_to_json_string_ext(last, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return -ENOMEM;
	return lc_write_file_atomic(path, text, strlen(text), 0600);
}

/* Copies member key of from into to, if it is there. */
static int copy_member(json_object *to, json_object *from, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(from, key, &v))
		return 0;
	return lc_json_add(to, key, json_object_get(v));
}

json_object *reboot_last_status(json_object *last)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	struct lc_reboot_reason reason;
	json_object *v;
	char name[96], stamp[96];
	uint64_t ms;

	if (!o)
		return NULL;
	if (!last || !json_object_object_get_ex(last, "reason", &v) ||
	    lc_reboot_reason_from_json(v, &reason) < 0) {
		if (lc_json_add_null(o, "last_reason") < 0)
			return NULL;
	} else {
		if (lc_json_add(o, "last_reason",
				json_object_new_string(lc_reboot_reason_format(
					&reason, name, sizeof(name)))) < 0 ||
		    (reason.name[0]
			     ? lc_json_add(o, "name", json_object_new_string(reason.name))
			     : lc_json_add(o, "code", json_object_new_int(reason.code))) < 0 ||
		    lc_json_add(o, "unexpected",
				json_object_new_boolean(lc_reboot_reason_unexpected(&reason))) < 0)
			return NULL;
	}
	if (!last)
		return TAKE_PTR(o);
	if (copy_member(o, last, "source") < 0 || copy_member(o, last, "boot_id") < 0 ||
	    copy_member(o, last, "previous_boot_id") < 0)
		return NULL;
	if (get_u64(last, "decided_realtime_ms", &ms) == 0) {
		time_t secs = (time_t)(ms / 1000);
		struct tm tm;

		if (gmtime_r(&secs, &tm)) {
			snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
				 tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
			if (lc_json_add(o, "decided_at", json_object_new_string(stamp)) < 0)
				return NULL;
		}
	}
	if (copy_member(o, last, "others") < 0 || copy_member(o, last, "entry") < 0 ||
	    copy_member(o, last, "not_recorded") < 0)
		return NULL;
	return TAKE_PTR(o);
}
