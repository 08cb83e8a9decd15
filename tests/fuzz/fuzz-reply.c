/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the server's JSON replies: the input is given to the device-config reply
 * parser (lc_sampling_parse_reply(), libcollector/store/sampling.c), to the upload prepare reply
 * parser (lc_uploader_parse_prepare(), libcollector/upload/uploader.c) and, written to a file, to
 * the sampling cache's loader, which reads the same document back. The commit reply is only a
 * status: its body is never parsed. Checked beyond crashes: a refusal says why, accepted values are
 * in range, the upload URL is https (or loopback http) and the token 1 to 4096 bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz-util.h"
#include "sampling.h"
#include "uploader.h"

static char *cache_path;

static void check_sampling(const struct lc_sampling *s)
{
	CHECK(s->debugging <= LC_RES_HIGH && s->logging <= LC_RES_HIGH &&
	      s->monitoring <= LC_RES_HIGH);
	CHECK(s->revision >= -1 && s->completed >= -1);
}

static void device_config(const uint8_t *data, size_t size)
{
	struct lc_sampling prev, s;
	const char *why = NULL;
	int r;

	lc_sampling_default(&prev);
	prev.confirmed_revision = 7;
	memset(&s, 0xa5, sizeof(s));
	r = lc_sampling_parse_reply((const char *)data, size, &prev, &s, &why);
	CHECK(r == 0 || r == -EBADMSG);
	if (r < 0) {
		CHECK(why && why[0]);
		return;
	}
	check_sampling(&s);
	CHECK(s.revision >= 0 && s.confirmed_revision == 7);
}

static void prepare(const uint8_t *data, size_t size)
{
	char *body = fuzz_strndup(data, size), *url = NULL, *token = NULL;
	const char *why = NULL;
	int r;

	r = lc_uploader_parse_prepare(body, &url, &token, &why);
	CHECK(r == 0 || r == -EBADMSG);
	if (r < 0) {
		CHECK(why && why[0] && !url && !token);
	} else {
		CHECK(strncasecmp(url, "https:", 6) == 0 || strncasecmp(url, "http:", 5) == 0);
		CHECK(strlen(token) >= 1 && strlen(token) <= 4096);
	}
	free(url);
	free(token);
	free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lc_sampling s;

	if (!cache_path) {
		fuzz_quiet();
		cache_path = fuzz_path("sampling.json");
	}
	device_config(data, size);
	prepare(data, size);

	fuzz_write(cache_path, data, size);
	lc_sampling_load(cache_path, &s);
	check_sampling(&s);
	return 0;
}
