/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the device identity (libcollector/config/identity.c): the input is the
 * output of the device-info command, then every fallback file under a scratch sysroot
 * (/etc/os-release, /etc/machine-id, the device-tree model), then the four configured values.
 * Checked beyond crashes: whatever a parse or a resolution accepts passes the field's own
 * validation, and a failed resolution says why.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "identity.h"
#include "macro.h"

static char *os_release, *machine_id, *model;

static void setup(void)
{
	fuzz_quiet();
	fuzz_mkdir("etc");
	fuzz_mkdir("proc/device-tree");
	os_release = fuzz_path("etc/os-release");
	machine_id = fuzz_path("etc/machine-id");
	model = fuzz_path("proc/device-tree/model");
}

static void check_valid(const char *const values[_LC_ID_MAX], bool all)
{
	const char *why;

	for (size_t f = 0; f < _LC_ID_MAX; f++) {
		if (!values[f]) {
			CHECK(!all);
			continue;
		}
		CHECK(lc_id_check((enum lc_id_field)f, values[f], &why) == 0);
	}
}

static void parse_info(const uint8_t *data, size_t size)
{
	char *values[_LC_ID_MAX] = { NULL };
	char **warnings = NULL;

	CHECK(lc_identity_parse_info((const char *)data, size, values, &warnings) == 0);
	check_valid((const char *const *)values, false);
	for (char **w = warnings; w && *w; w++)
		CHECK((*w)[0]);
	strv_free(warnings);
	for (size_t f = 0; f < _LC_ID_MAX; f++)
		free(values[f]);
}

static void resolve(const struct lc_identity_input *in, bool configured)
{
	struct lc_identity id = { 0 };
	char **errors = NULL;
	int r;

	r = lc_identity_resolve(in, &id, &errors);
	CHECK(r == 0 || r == -EINVAL);
	if (r < 0) {
		CHECK(errors && errors[0] && errors[0][0]);
		strv_free(errors);
		return;
	}
	strv_free(errors);
	check_valid((const char *const *)id.value, true);
	for (size_t f = 0; f < _LC_ID_MAX; f++) {
		CHECK(id.source[f] && id.source[f][0]);
		if (configured)
			CHECK(streq(id.value[f], in->value[f]));
	}
	lc_identity_done(&id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lc_identity_input in = { 0 };
	char *s;

	if (!os_release)
		setup();
	parse_info(data, size);

	/* Nothing configured: every field from a fallback file holding the input. */
	fuzz_write(os_release, data, size);
	fuzz_write(machine_id, data, size);
	fuzz_write(model, data, size);
	in.sysroot = fuzz_dir();
	resolve(&in, false);

	/* Every field configured to the input, as the configuration would hold it. */
	s = fuzz_strndup(data, size);
	for (size_t f = 0; f < _LC_ID_MAX; f++) {
		in.value[f] = s;
		in.origin[f] = "faultd.conf:1";
	}
	resolve(&in, true);
	free(s);
	return 0;
}
