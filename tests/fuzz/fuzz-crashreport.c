/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for crash reports (libcollector/store/crashlog.c): the report
 * faultd-core-handler writes to <state_dir>/crashes/ or sends inline in "crash-reported". Its
 * process name is the crashed process's comm, which any process sets for itself. The input is
 * parsed as the control command parses its argument (json_tokener_parse(),
 * lc_crash_report_from_json()), then written as a report file and drained as faultd drains the
 * crash log at start. Checked beyond crashes: an accepted report holds terminated, printable
 * strings and values in range, and survives lc_crash_report_to_json() and back unchanged; a drain
 * hands over exactly the reports the parser accepts and leaves no file behind, valid or not.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crashlog.h"
#include "macro.h"
#include "fuzz-util.h"

#define REPORT_NAME "1700000000000-42-0123456789abcdef.json"

static char *state_dir, *report_path;

static bool printable(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n == size)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

static bool same(const struct lc_crash_report *a, const struct lc_crash_report *b)
{
	return streq(a->process, b->process) && a->pid == b->pid && a->signal == b->signal &&
	       a->time_ms == b->time_ms && streq(a->core, b->core) && streq(a->entry, b->entry) &&
	       memcmp(a->drops, b->drops, sizeof(a->drops)) == 0;
}

static void check_report(const struct lc_crash_report *r)
{
	struct lc_crash_report back;
	json_object *o;

	CHECK(printable(r->process, sizeof(r->process)));
	CHECK(printable(r->core, sizeof(r->core)));
	CHECK(printable(r->entry, sizeof(r->entry)));
	CHECK(r->signal >= 0 && r->signal <= 255);
	CHECK(r->time_ms <= INT64_MAX);

	o = lc_crash_report_to_json(r);
	CHECK(o);
	CHECK(lc_crash_report_from_json(o, &back) == 0);
	CHECK(same(r, &back));
	json_object_put(o);
}

struct drained {
	unsigned n;
	struct lc_crash_report last;
};

static void on_report(const struct lc_crash_report *r, void *userdata)
{
	struct drained *d = userdata;

	d->n++;
	d->last = *r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lc_crash_report r;
	struct drained d = {};
	json_object *o;
	char *text;
	int parsed, k;

	if (!state_dir) {
		fuzz_quiet();
		fuzz_mkdir("state/crashes");
		state_dir = fuzz_path("state");
		report_path = fuzz_path("state/crashes/" REPORT_NAME);
	}

	text = fuzz_strndup(data, size);
	o = json_tokener_parse(text);
	memset(&r, 0xa5, sizeof(r));
	parsed = lc_crash_report_from_json(o, &r);
	CHECK(parsed == 0 || parsed == -EBADMSG);
	if (parsed == 0)
		check_report(&r);
	json_object_put(o);
	free(text);

	fuzz_write(report_path, data, size);
	k = lc_crash_log_drain(state_dir, on_report, &d);
	CHECK(k >= 0 && (unsigned)k == d.n && d.n <= 1);
	CHECK(access(report_path, F_OK) < 0 && errno == ENOENT);
	/* The file is read whole up to 4 KiB and parsed up to its first NUL, as the string was. */
	if (size <= 4096)
		CHECK((d.n == 1) == (parsed == 0));
	if (d.n == 1) {
		check_report(&d.last);
		if (parsed == 0)
			CHECK(same(&d.last, &r));
	}
	return 0;
}
