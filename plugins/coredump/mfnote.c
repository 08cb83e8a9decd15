/* SPDX-License-Identifier: MIT */
/* The "Memfault" metadata note. See mfnote.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cbor.h"
#include "control.h"
#include "macro.h"
#include "mfnote.h"
#include "utf8.h"

/* Whether s (len bytes) is valid UTF-8 without control characters (a JSON line escapes them). */
static bool json_line_text(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = lc_utf8_decode(s + i, len - i, NULL);

		if (n == 0 || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
		i += n;
	}
	return true;
}

int mf_logs_from_reply(json_object *reply, json_object **ret_logs, const char **ret_why)
{
	json_object *ok, *data, *logs;
	size_t n, bytes = 0;

	if (!json_object_object_get_ex(reply, "ok", &ok) ||
	    !json_object_is_type(ok, json_type_boolean)) {
		*ret_why = "the reply has no \"ok\"";
		return -EBADMSG;
	}
	if (!json_object_get_boolean(ok))
		return -ENOENT;
	if (!json_object_object_get_ex(reply, "data", &data) ||
	    !json_object_is_type(data, json_type_object) ||
	    !json_object_object_get_ex(data, "logs", &logs)) {
		*ret_why = "the reply has no \"logs\"";
		return -EBADMSG;
	}
	if (!logs) {
		*ret_logs = NULL;
		return 0;
	}
	if (!json_object_is_type(logs, json_type_array)) {
		*ret_why = "\"logs\" is neither an array nor null";
		return -EBADMSG;
	}
	n = json_object_array_length(logs);
	if (n > LC_CRASH_LOGS_LINES_MAX) {
		*ret_why = "more lines than a reply may hold";
		return -EBADMSG;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(logs, i);
		size_t len;

		if (!json_object_is_type(v, json_type_string)) {
			*ret_why = "a line is not a string";
			return -EBADMSG;
		}
		len = (size_t)json_object_get_string_len(v);
		bytes += len;
		if (len == 0 || bytes > LC_CRASH_LOGS_BYTES_MAX) {
			*ret_why =
				len == 0 ? "a line is empty" : "more bytes than a reply may hold";
			return -EBADMSG;
		}
		if (!json_line_text(json_object_get_string(v), len)) {
			*ret_why = "a line is not UTF-8 text without control characters";
			return -EBADMSG;
		}
	}
	*ret_logs = logs;
	return 0;
}

/* Valid UTF-8 text, else "" (CBOR text strings are UTF-8). */
static const char *text_or_empty(const char *s)
{
	size_t len = s ? strlen(s) : 0;

	for (size_t i = 0; i < len;) {
		size_t n = lc_utf8_decode(s + i, len - i, NULL);

		if (n == 0)
			return "";
		i += n;
	}
	return s ? s : "";
}

int mf_note_build(const struct mf_metadata *m, json_object *logs, uint8_t **ret, size_t *ret_len)
{
	const char *texts[] = {
		text_or_empty(m->sdk_version),	    text_or_empty(m->device_serial),
		text_or_empty(m->hardware_version), text_or_empty(m->software_type),
		text_or_empty(m->software_version), text_or_empty(m->cmdline),
	};
	size_t n = logs ? json_object_array_length(logs) : 0, size = 256;
	struct cbor_writer w;
	uint8_t *buf;

	/* Every head is at most 9 bytes; 256 covers the keys, numbers and fixed strings. */
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
		size += 9 + strlen(texts[i]);
	for (size_t i = 0; i < n; i++)
		size += 9 + (size_t)json_object_get_string_len(json_object_array_get_idx(logs, i));
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	cbor_writer_init(&w, buf, size);
	cbor_map(&w, 10);
	cbor_uint(&w, 1);
	cbor_uint(&w, MF_NOTE_SCHEMA);
	cbor_uint(&w, 2);
	cbor_cstr(&w, texts[0]);
	cbor_uint(&w, 3);
	cbor_uint(&w, m->captured_time);
	for (unsigned k = 4; k <= 8; k++) {
		cbor_uint(&w, k);
		cbor_cstr(&w, texts[k - 3]);
	}
	cbor_uint(&w, 9);
	if (m->full) {
		cbor_map(&w, 1);
		cbor_cstr(&w, "type");
		cbor_cstr(&w, "kernel_selection");
	} else {
		cbor_map(&w, 2);
		cbor_cstr(&w, "type");
		cbor_cstr(&w, "threads");
		cbor_cstr(&w, "max_thread_size_kib");
		cbor_uint(&w, m->max_thread_kib);
	}
	cbor_uint(&w, 10);
	if (logs) {
		cbor_map(&w, 2);
		cbor_cstr(&w, "logs");
		cbor_array(&w, n);
		for (size_t i = 0; i < n; i++) {
			json_object *v = json_object_array_get_idx(logs, i);

			cbor_text(&w, json_object_get_string(v),
				  (size_t)json_object_get_string_len(v));
		}
		cbor_cstr(&w, "format");
		cbor_map(&w, 2);
		cbor_cstr(&w, "id");
		cbor_cstr(&w, "v1");
		cbor_cstr(&w, "serialization");
		cbor_cstr(&w, "json-lines");
	} else {
		cbor_null(&w);
	}
	if (cbor_writer_len(&w) == 0) {
		free(buf);
		return -ENOBUFS; /* cannot happen: the size above covers every write */
	}
	*ret = buf;
	*ret_len = cbor_writer_len(&w);
	return 0;
}
