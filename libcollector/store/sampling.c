/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "sampling.h"

#define CACHE_MAX  4096
#define JSON_DEPTH 16

static const char *const resolution_names[] = {
	[LC_RES_OFF] = "off",
	[LC_RES_LOW] = "low",
	[LC_RES_NORMAL] = "normal",
	[LC_RES_HIGH] = "high",
};

void lc_sampling_default(struct lc_sampling *ret)
{
	*ret = (struct lc_sampling){
		.debugging = LC_RES_NORMAL,
		.logging = LC_RES_NORMAL,
		.monitoring = LC_RES_NORMAL,
		.revision = -1,
		.completed = -1,
		.confirmed_revision = -1,
	};
}

const char *lc_resolution_name(enum lc_resolution r)
{
	return r < ARRAY_SIZE(resolution_names) ? resolution_names[r] : "normal";
}

/* A resolution name; an unknown one counts as "normal". -EBADMSG when v is not a string. */
static int resolution_from(json_object *v, enum lc_resolution *ret)
{
	if (!json_object_is_type(v, json_type_string))
		return -EBADMSG;
	*ret = LC_RES_NORMAL;
	for (size_t i = 0; i < ARRAY_SIZE(resolution_names); i++)
		if (streq(json_object_get_string(v), resolution_names[i]))
			*ret = (enum lc_resolution)i;
	return 0;
}

/* Parses at most len bytes of JSON text with a nesting limit. */
static json_object *parse_bounded(const char *text, size_t len)
{
	json_tokener *tok = json_tokener_new_ex(JSON_DEPTH);
	json_object *o;

	if (!tok || len > INT32_MAX) {
		json_tokener_free(tok);
		return NULL;
	}
	o = json_tokener_parse_ex(tok, text, (int)len);
	/* Only blanks may follow the document, within the len bytes. */
	for (size_t i = o ? json_tokener_get_parse_end(tok) : len; i < len; i++)
		if (!strchr(" \t\r\n", text[i]) || text[i] == 0) {
			json_object_put(o);
			o = NULL;
			break;
		}
	json_tokener_free(tok);
	return o;
}

static bool get_int_or_null(json_object *o, const char *key, int64_t *ret)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v) {
		*ret = -1;
		return true;
	}
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
		return false;
	*ret = json_object_get_int64(v);
	return true;
}

static int parse_sampling(json_object *root, const struct lc_sampling *prev,
			  struct lc_sampling *ret, const char **ret_why)
{
	json_object *data, *config = NULL, *memfault = NULL, *sampling = NULL, *v;
	struct lc_sampling s;

	lc_sampling_default(&s);
	s.confirmed_revision = prev ? prev->confirmed_revision : -1;
	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "data", &data) ||
	    !json_object_is_type(data, json_type_object)) {
		*ret_why = "expected an object with a \"data\" object";
		return -EBADMSG;
	}
	if (!json_object_object_get_ex(data, "revision", &v) ||
	    !json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0) {
		*ret_why = "expected data.revision, a non-negative integer";
		return -EBADMSG;
	}
	s.revision = json_object_get_int64(v);
	if (!get_int_or_null(data, "completed", &s.completed)) {
		*ret_why = "expected data.completed, a non-negative integer or null";
		return -EBADMSG;
	}
	if (json_object_object_get_ex(data, "config", &config) &&
	    !json_object_is_type(config, json_type_object)) {
		*ret_why = "expected data.config to be an object";
		return -EBADMSG;
	}
	if (config && json_object_object_get_ex(config, "memfault", &memfault) &&
	    !json_object_is_type(memfault, json_type_object)) {
		*ret_why = "expected data.config.memfault to be an object";
		return -EBADMSG;
	}
	if (config && memfault && json_object_object_get_ex(memfault, "sampling", &sampling) &&
	    !json_object_is_type(sampling, json_type_object)) {
		*ret_why = "expected data.config.memfault.sampling to be an object";
		return -EBADMSG;
	}
	if (config && memfault &&
	    json_object_object_get_ex(memfault, "data_upload_start_date", &v) &&
	    !json_object_is_type(v, json_type_null) &&
	    (!json_object_is_type(v, json_type_string) ||
	     lc_rfc3339_parse_ms(json_object_get_string(v), &s.upload_start_ms) < 0 ||
	     s.upload_start_ms <= 0)) {
		*ret_why = "expected data.config.memfault.data_upload_start_date to be an RFC 3339 "
			   "date and time after 1970, or null";
		return -EBADMSG;
	}
	if (config && memfault && sampling) {
		static const char *const keys[] = { "debugging.resolution", "logging.resolution",
						    "monitoring.resolution" };
		enum lc_resolution *fields[] = { &s.debugging, &s.logging, &s.monitoring };

		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			if (json_object_object_get_ex(sampling, keys[i], &v) &&
			    resolution_from(v, fields[i]) < 0) {
				*ret_why = "expected each sampling resolution to be a string";
				return -EBADMSG;
			}
	}
	*ret = s;
	return 0;
}

int lc_sampling_parse_reply(const char *body, size_t len, const struct lc_sampling *prev,
			    struct lc_sampling *ret, const char **ret_why)
{
	json_object *root = parse_bounded(body, len);
	int r;

	if (!root) {
		*ret_why = "expected a JSON document";
		return -EBADMSG;
	}
	r = parse_sampling(root, prev, ret, ret_why);
	json_object_put(root);
	return r;
}

void lc_sampling_load(const char *path, struct lc_sampling *ret)
{
	_cleanup_free_ char *text = NULL;
	json_object *root, *v;
	const char *why = NULL;
	size_t len;
	int r;

	lc_sampling_default(ret);
	r = lc_read_file(path, CACHE_MAX, &text, &len);
	if (r == -ENOENT)
		return;
	if (r < 0) {
		log_warning_errno(r, "Failed to read %s: %m; using the default sampling.", path);
		return;
	}
	root = parse_bounded(text, len);
	if (!root || parse_sampling(root, NULL, ret, &why) < 0) {
		log_warning("%s: %s; using the default sampling.", path, why ? why : "not JSON");
		lc_sampling_default(ret);
	} else if (json_object_object_get_ex(root, "confirmed_revision", &v) &&
		   json_object_is_type(v, json_type_int)) {
		ret->confirmed_revision = json_object_get_int64(v);
	}
	json_object_put(root);
}

int lc_rfc3339_parse_ms(const char *s, int64_t *ret)
{
	struct tm tm = {};
	int64_t frac_ms = 0, offset_s = 0, scale = 100;
	time_t t;
	int n = 0;

	if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 19 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -EINVAL;
	s += n;
	if (*s == '.') {
		if (!(s[1] >= '0' && s[1] <= '9'))
			return -EINVAL;
		for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
			frac_ms += (*s - '0') * scale;
	}
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		int hh, mm, k = 0;

		if (sscanf(s + 1, "%2d:%2d%n", &hh, &mm, &k) != 2 || k != 5 || hh > 23 || mm > 59)
			return -EINVAL;
		offset_s = (*s == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
		s += 6;
	} else
		return -EINVAL;
	if (*s)
		return -EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == (time_t)-1 && !(tm.tm_year == 69 && tm.tm_mday == 31))
		return -EINVAL;
	*ret = ((int64_t)t - offset_s) * 1000 + frac_ms;
	return 0;
}

bool lc_sampling_upload_allows(const struct lc_sampling *s, enum lc_entry_class c,
			       uint64_t created_ms)
{
	return c == LC_CLASS_REBOOT || s->upload_start_ms <= 0 ||
	       created_ms >= (uint64_t)s->upload_start_ms;
}

int lc_sampling_save(const char *path, const struct lc_sampling *s)
{
	char text[640], completed[32], start[48] = "null";
	int n;

	if (s->completed < 0)
		snprintf(completed, sizeof(completed), "null");
	else
		snprintf(completed, sizeof(completed), "%lld", (long long)s->completed);
	if (s->upload_start_ms > 0) {
		time_t t = (time_t)(s->upload_start_ms / 1000);
		struct tm tm;

		if (!gmtime_r(&t, &tm))
			return -EOVERFLOW;
		snprintf(start, sizeof(start), "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (int)(s->upload_start_ms % 1000));
	}
	n = snprintf(text, sizeof(text),
		     "{\"data\": {\"config\": {\"memfault\": {\"sampling\": "
		     "{\"debugging.resolution\": \"%s\", \"logging.resolution\": \"%s\", "
		     "\"monitoring.resolution\": \"%s\"}, \"data_upload_start_date\": %s}}, "
		     "\"revision\": %lld, \"completed\": %s}, \"confirmed_revision\": %lld}\n",
		     lc_resolution_name(s->debugging), lc_resolution_name(s->logging),
		     lc_resolution_name(s->monitoring), start, (long long)s->revision, completed,
		     (long long)s->confirmed_revision);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -EOVERFLOW;
	return lc_write_file_atomic(path, text, (size_t)n, 0600);
}

bool lc_sampling_allows(const struct lc_sampling *s, enum lc_entry_class c, bool dev_mode)
{
	if (dev_mode)
		return true;
	switch (c) {
	case LC_CLASS_METRICS:
	case LC_CLASS_ATTRIBUTES:
		return s->monitoring >= LC_RES_NORMAL;
	case LC_CLASS_LOGS:
		return s->logging >= LC_RES_NORMAL;
	case LC_CLASS_COREDUMP:
		return s->debugging >= LC_RES_NORMAL;
	default:
		return true;
	}
}

bool lc_sampling_needs_confirmation(const struct lc_sampling *s)
{
	return s->revision >= 0 && s->completed != s->revision &&
	       s->confirmed_revision != s->revision;
}
