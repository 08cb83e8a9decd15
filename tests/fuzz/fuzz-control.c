/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the control socket's request parser (lc_control_parse_request() in
 * libcollector/control/control.c): the input is one request line as a client sends it. Checked
 * beyond crashes: a refusal says why, an oversized or NUL-holding request is refused, and an
 * accepted one has a valid command name, the whole of the one sent (no "\u0000" cutting it short),
 * and an object of arguments.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	json_object *args = NULL, *req, *sent;
	char *command = NULL, *text;
	size_t n;
	int r;

	r = lc_control_parse_request((const char *)data, size, &command, &args, &why);
	if (r < 0) {
		CHECK(r == -EINVAL || r == -E2BIG);
		CHECK(why && why[0]);
		CHECK(!command && !args);
		return 0;
	}
	CHECK(r == 0 && size <= LC_CONTROL_REQUEST_MAX);
	CHECK(!memchr(data, 0, size));
	n = strlen(command);
	CHECK(n >= 1 && n <= 64);
	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)command[i] > ' ' && (unsigned char)command[i] <= '~');
	CHECK(json_object_is_type(args, json_type_object));

	text = fuzz_strndup(data, size);
	req = json_tokener_parse(text);
	CHECK(json_object_object_get_ex(req, "command", &sent));
	CHECK((size_t)json_object_get_string_len(sent) == n);
	json_object_put(req);
	free(text);
	free(command);
	json_object_put(args);
	return 0;
}
