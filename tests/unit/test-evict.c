/* SPDX-License-Identifier: MIT */
/*
 * The spool's eviction decisions (libcollector/store/evict.c), asked about tables of spools and
 * filesystems described in memory: no directory, no statvfs.
 *
 * A spool is written "<class><bytes>[@<seconds>] ...", oldest first: class m(etrics),
 * a(ttributes), c(oredump) or r(eboot), stamped <seconds> after 2021-01-01 (by default its
 * position). Entries are named e0, e1, ... by position. A case's trace is what a caller that
 * applies each verdict and asks again sees: "evict <reason> <count>/<bytes>: <victims>; ...",
 * ending with "admit", "refuse <reason> <count>/<bytes>" or, for a failed write, "written".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evict.h"
#include "macro.h"
#include "spool.h"

#define T2021	     1609459200000ULL /* 2021-01-01T00:00:00Z */
#define CLOCK_SET_MS 1577836800000ULL /* 2020-01-01: earlier stamps come from an unset clock */
#define SPOOL_MAX    16
#define TRACE_MAX    512
#define ROUNDS_MAX   20 /* verdicts in one trace: more means a caller would loop */

static enum lc_entry_class class_of(char c)
{
	switch (c) {
	case 'm':
		return LC_CLASS_METRICS;
	case 'a':
		return LC_CLASS_ATTRIBUTES;
	case 'c':
		return LC_CLASS_COREDUMP;
	case 'r':
		return LC_CLASS_REBOOT;
	}
	fail_msg("unknown class '%c'", c);
	return _LC_CLASS_MAX;
}

/* Fills entries from text (see the top of the file); returns how many. */
static size_t spool_parse(const char *text, struct lc_spool_entry entries[static SPOOL_MAX])
{
	size_t n = 0;

	for (const char *p = text; *p;) {
		struct lc_spool_entry *e;
		char *end;

		if (*p == ' ') {
			p++;
			continue;
		}
		assert_true(n < SPOOL_MAX);
		e = &entries[n];
		*e = (struct lc_spool_entry){ .cls = class_of(*p++),
					      .created_ms = T2021 + n * 1000 };
		e->bytes = strtoull(p, &end, 10);
		assert_true(end > p);
		p = end;
		if (*p == '@') {
			e->created_ms = T2021 + strtoull(p + 1, &end, 10) * 1000;
			p = end;
		}
		snprintf(e->name, sizeof(e->name), "e%zu", n);
		n++;
	}
	return n;
}

static void trace_add(char trace[static TRACE_MAX], const char *fmt, ...) _printf_(2, 3);
static void trace_add(char trace[static TRACE_MAX], const char *fmt, ...)
{
	size_t len = strlen(trace);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(trace + len, TRACE_MAX - len, fmt, ap);
	va_end(ap);
}

/* Adds the verdict to the trace; an eviction is applied to entries as a caller would (victim
 * after victim), its victims traced and their bytes and inodes given back to fs if not NULL. */
static void verdict_apply(const struct lc_evict_verdict *v, struct lc_spool_entry *entries,
			  size_t *n, enum lc_entry_class cls, struct lc_evict_fs *fs,
			  char trace[static TRACE_MAX])
{
	uint64_t bytes = 0;

	switch (v->action) {
	case LC_EVICT_ADMIT:
		trace_add(trace, "admit");
		return;
	case LC_EVICT_REFUSE:
		trace_add(trace, "refuse %s %zu/%" PRIu64, lc_drop_reason_name(v->reason), v->count,
			  v->bytes);
		return;
	case LC_EVICT_EVICT:
		break;
	}
	trace_add(trace, "evict %s %zu/%" PRIu64 ":", lc_drop_reason_name(v->reason), v->count,
		  v->bytes);
	for (size_t k = 0; k < v->count; k++) {
		ssize_t i = lc_evict_victim(entries, *n, cls);

		assert_true(i >= 0);
		trace_add(trace, " %s", entries[i].name);
		bytes += entries[i].bytes;
		if (fs) {
			uint64_t block = fs->block_size > 0 ? fs->block_size : 1;

			/* An entry frees its bytes in whole blocks, its directory and manifest. */
			fs->free_blocks += (entries[i].bytes + block - 1) / block;
			fs->free_inodes += 2;
		}
		memmove(&entries[i], &entries[i + 1], (*n - (size_t)i - 1) * sizeof(*entries));
		(*n)--;
	}
	/* The verdict says what its victims hold. */
	assert_int_equal(bytes, v->bytes);
	trace_add(trace, "; ");
}

static void trace_check(const char *what, const char *trace, const char *expected)
{
	if (!streq(trace, expected))
		print_error("case \"%s\"\n", what);
	assert_string_equal(trace, expected);
}

/* ---- the first victim ---- */

static void test_victim(void **state)
{
	static const struct {
		const char *spool;
		char cls;
		ssize_t victim;
	} cases[] = {
		{ "", 'r', -1 },
		{ "r1 c1 a1 m1", 'r', 3 },	   /* the lowest class, however new */
		{ "r1 c1 a1 m1", 'm', 3 },	   /* the same class */
		{ "r1 c1 a1", 'm', -1 },	   /* nothing worth no more than a metric */
		{ "r1 c1 a1", 'a', 2 },		   /* attributes before cores */
		{ "r1 c1 a1", 'c', 2 },		   /* ... */
		{ "r1 c1 r1", 'r', 1 },		   /* cores before reboots */
		{ "r1 c1 r1", 'c', 1 },		   /* an older core before the new one */
		{ "r1 r1", 'c', -1 },		   /* reboots are worth more than a core */
		{ "r1 r1", 'r', 0 },		   /* the oldest reboot */
		{ "c1@1 m1@5 a1@5 m1@5", 'c', 1 }, /* stamped alike: index order */
		{ "r1@99999", 'r', 0 },		   /* the new one is the newest of its class */
		{ "a1 a1 m1 a1 m1", 'a', 2 },	   /* the oldest of the lowest class */
	};

	for (size_t k = 0; k < ARRAY_SIZE(cases); k++) {
		struct lc_spool_entry entries[SPOOL_MAX];
		size_t n = spool_parse(cases[k].spool, entries);

		if (lc_evict_victim(entries, n, class_of(cases[k].cls)) != cases[k].victim)
			fail_msg("\"%s\" for '%c': %zd, not %zd", cases[k].spool, cases[k].cls,
				 lc_evict_victim(entries, n, class_of(cases[k].cls)),
				 cases[k].victim);
	}
}

/* ---- max_entries and max_bytes ---- */

static const struct limits_case {
	const char *what;
	const char *spool;
	struct lc_spool_limits limits;
	char cls; /* the new entry's */
	uint64_t bytes;
	const char *trace;
} limits_cases[] = {
	{ "no limit", "m1 a1 c1 r1", { 0 }, 'm', 1, "admit" },
	{ "the age and free space are not these limits' business",
	  "m1 r1",
	  { .min_free_bytes = UINT64_MAX, .min_free_inodes = UINT64_MAX, .max_age_seconds = 1 },
	  'm',
	  1,
	  "admit" },

	/* max_entries */
	{ "room for one more", "m1 m1", { .max_entries = 3 }, 'm', 1, "admit" },
	{ "the oldest metric goes, the reboot stays",
	  "r1 m2 m3",
	  { .max_entries = 3 },
	  'm',
	  1,
	  "evict entries 1/2: e1; admit" },
	{ "a reboot pushes out a metric, however new",
	  "r1 r2 m3",
	  { .max_entries = 3 },
	  'r',
	  1,
	  "evict entries 1/3: e2; admit" },
	{ "metrics, then attributes, then core dumps, then reboots",
	  "r1 c2 a3 m4 r5 c6 a7 m8",
	  { .max_entries = 1 },
	  'r',
	  0,
	  "evict entries 8/36: e3 e7 e2 e6 e1 e5 e0 e4; admit" },
	{ "a lowered limit evicts as many as it takes at once",
	  "m1 m2 m3 m4 m5",
	  { .max_entries = 2 },
	  'm',
	  1,
	  "evict entries 4/10: e0 e1 e2 e3; admit" },
	{ "the oldest of the same class",
	  "c1 c2 c3",
	  { .max_entries = 3 },
	  'c',
	  1,
	  "evict entries 1/1: e0; admit" },
	{ "a metric among higher classes is refused",
	  "a1 c1 r1",
	  { .max_entries = 3 },
	  'm',
	  1,
	  "refuse entries 0/0" },
	{ "attributes are refused rather than evict a core dump",
	  "c1 m2 r1",
	  { .max_entries = 2 },
	  'a',
	  1,
	  "refuse entries 1/2" },
	{ "in vain: refused at once, the metrics there stay",
	  "m1 m2 r3 r4",
	  { .max_entries = 2 },
	  'm',
	  1,
	  "refuse entries 2/3" },

	/* max_bytes */
	{ "exactly at the limit fits", "r40 m30", { .max_bytes = 100 }, 'm', 30, "admit" },
	{ "the oldest metric makes room",
	  "r40 m30 m30",
	  { .max_bytes = 100 },
	  'm',
	  20,
	  "evict bytes 1/30: e1; admit" },
	{ "as many as it takes",
	  "r40 m30 m30",
	  { .max_bytes = 100 },
	  'm',
	  50,
	  "evict bytes 2/60: e1 e2; admit" },
	{ "in victim order, not the biggest first",
	  "m5 m50 r10",
	  { .max_bytes = 100 },
	  'r',
	  60,
	  "evict bytes 2/55: e0 e1; admit" },
	{ "empty entries go in their turn",
	  "m0 m0 m50",
	  { .max_bytes = 60 },
	  'm',
	  20,
	  "evict bytes 3/50: e0 e1 e2; admit" },
	{ "in vain: the reboots alone leave no room for the metric",
	  "r40 r40 m10",
	  { .max_bytes = 100 },
	  'm',
	  30,
	  "refuse bytes 1/10" },
	{ "bigger than the whole budget: evicts nothing",
	  "m30 m30 r40",
	  { .max_bytes = 100 },
	  'c',
	  200,
	  "refuse bytes 2/60" },
	{ "alone at the limit", "", { .max_bytes = 100 }, 'm', 100, "admit" },
	{ "alone above the limit", "", { .max_bytes = 100 }, 'm', 101, "refuse bytes 0/0" },

	/* both */
	{ "the count first, then the bytes",
	  "m50 m50 m50",
	  { .max_entries = 2, .max_bytes = 30 },
	  'm',
	  10,
	  "evict entries 2/100: e0 e1; evict bytes 1/50: e2; admit" },
	{ "the count within reach, the bytes not: refused for the bytes",
	  "m10 r50",
	  { .max_entries = 2, .max_bytes = 60 },
	  'm',
	  20,
	  "refuse bytes 1/10" },
	{ "both out of reach: refused for the count",
	  "r10 r10",
	  { .max_entries = 2, .max_bytes = 10 },
	  'm',
	  5,
	  "refuse entries 0/0" },

	/* ties */
	{ "stamped alike: the first in index order",
	  "m1@5 m2@5 m3@5",
	  { .max_entries = 3 },
	  'm',
	  1,
	  "evict entries 1/1: e0; admit" },
	{ "the new entry is the newest of its class, even against a stamp from the future",
	  "r1@99999",
	  { .max_entries = 1 },
	  'r',
	  1,
	  "evict entries 1/1: e0; admit" },
	{ "the same class as the new entry: the old one goes",
	  "a1 r1",
	  { .max_entries = 2 },
	  'a',
	  1,
	  "evict entries 1/1: e0; admit" },
};

static void test_limits(void **state)
{
	for (size_t k = 0; k < ARRAY_SIZE(limits_cases); k++) {
		const struct limits_case *c = &limits_cases[k];
		enum lc_entry_class cls = class_of(c->cls);
		struct lc_spool_entry entries[SPOOL_MAX];
		size_t n = spool_parse(c->spool, entries);
		struct lc_evict_verdict v = { .action = LC_EVICT_EVICT };
		char trace[TRACE_MAX] = "";

		for (unsigned round = 0; v.action == LC_EVICT_EVICT; round++) {
			assert_true(round < ROUNDS_MAX);
			v = lc_evict_for_limits(entries, n, &c->limits, cls, c->bytes);
			verdict_apply(&v, entries, &n, cls, NULL, trace);
		}
		trace_check(c->what, trace, c->trace);
	}
}

/* Whatever max_entries says, the index holds at most LC_SPOOL_ENTRIES_MAX entries. */
static void test_entries_cap(void **state)
{
	static const uint64_t settings[] = { 0, LC_SPOOL_ENTRIES_MAX, LC_SPOOL_ENTRIES_MAX + 1,
					     UINT64_MAX };
	struct lc_spool_entry *entries = calloc(LC_SPOOL_ENTRIES_MAX, sizeof(*entries));
	struct lc_evict_verdict v;

	assert_non_null(entries);
	for (size_t i = 0; i < LC_SPOOL_ENTRIES_MAX; i++)
		entries[i] = (struct lc_spool_entry){ .cls = LC_CLASS_METRICS,
						      .created_ms = T2021 + i,
						      .bytes = 1 };
	for (size_t k = 0; k < ARRAY_SIZE(settings); k++) {
		struct lc_spool_limits limits = { .max_entries = settings[k] };

		v = lc_evict_for_limits(entries, LC_SPOOL_ENTRIES_MAX, &limits, LC_CLASS_REBOOT, 1);
		assert_int_equal(v.action, LC_EVICT_EVICT);
		assert_int_equal(v.reason, LC_DROP_ENTRIES);
		assert_int_equal(v.count, 1);
		v = lc_evict_for_limits(entries, LC_SPOOL_ENTRIES_MAX - 1, &limits, LC_CLASS_REBOOT,
					1);
		assert_int_equal(v.action, LC_EVICT_ADMIT);
	}
	/* Below the cap, the setting. */
	v = lc_evict_for_limits(entries, LC_SPOOL_ENTRIES_MAX,
				&(struct lc_spool_limits){ .max_entries = 10 }, LC_CLASS_METRICS,
				1);
	assert_int_equal(v.action, LC_EVICT_EVICT);
	assert_int_equal(v.count, LC_SPOOL_ENTRIES_MAX + 1 - 10);
	assert_int_equal(v.bytes, LC_SPOOL_ENTRIES_MAX + 1 - 10);
	free(entries);
}

/* ---- min_free_bytes and min_free_inodes ---- */

/* The filesystem after each eviction is the one before plus what the victims freed (see
 * verdict_apply()): a caller asks statvfs again. */
static const struct free_case {
	const char *what;
	const char *spool;
	struct lc_spool_limits limits;
	struct lc_evict_fs fs;
	char cls;
	const char *trace;
} free_cases[] = {
	{ "no free-space limit: whatever the filesystem says (the count is not its business)",
	  "m1",
	  { .max_entries = 1 },
	  { 0 },
	  'm',
	  "admit" },
	{ "exactly the minimum free is enough",
	  "m10",
	  { .min_free_bytes = 100 },
	  { .free_blocks = 100, .block_size = 1 },
	  'm',
	  "admit" },
	{ "a byte short: the metric goes",
	  "m10",
	  { .min_free_bytes = 100 },
	  { .free_blocks = 99, .block_size = 1 },
	  'm',
	  "evict free_space 1/10: e0; admit" },
	{ "the lowest class first, one at a time",
	  "r100 m100 a100 m100",
	  { .min_free_bytes = 250 },
	  { .free_blocks = 50, .block_size = 1 },
	  'c',
	  "evict free_space 1/100: e1; evict free_space 1/100: e3; admit" },
	{ "free bytes are free blocks times the block size",
	  "m1 m1 m1",
	  { .min_free_bytes = 8192 },
	  { .free_blocks = 1, .block_size = 4096 },
	  'r',
	  "evict free_space 1/1: e0; admit" },
	{ "inodes",
	  "m0 m0 m0 m0",
	  { .min_free_inodes = 5 },
	  { .free_blocks = 1000, .block_size = 1, .free_inodes = 1 },
	  'a',
	  "evict free_space 1/0: e0; evict free_space 1/0: e1; admit" },
	{ "bytes and inodes both",
	  "m0 m0 m0 m0",
	  { .min_free_bytes = 1, .min_free_inodes = 3 },
	  { .free_blocks = 1, .block_size = 1, .free_inodes = 2 },
	  'a',
	  "evict free_space 1/0: e0; admit" },
	{ "a metric is refused rather than evict attributes",
	  "a10 r10",
	  { .min_free_bytes = 100 },
	  { .block_size = 1 },
	  'm',
	  "refuse free_space 0/0" },
	{ "a reboot pushes out all below it, then older reboots, then is refused",
	  "r10 m10 c10",
	  { .min_free_bytes = 1000 },
	  { .block_size = 1 },
	  'r',
	  "evict free_space 1/10: e1; evict free_space 1/10: e2; evict free_space 1/10: e0; "
	  "refuse free_space 0/0" },
};

static void test_free_space(void **state)
{
	for (size_t k = 0; k < ARRAY_SIZE(free_cases); k++) {
		const struct free_case *c = &free_cases[k];
		enum lc_entry_class cls = class_of(c->cls);
		struct lc_spool_entry entries[SPOOL_MAX];
		size_t n = spool_parse(c->spool, entries);
		struct lc_evict_verdict v = { .action = LC_EVICT_EVICT };
		struct lc_evict_fs fs = c->fs;
		char trace[TRACE_MAX] = "";

		for (unsigned round = 0; v.action == LC_EVICT_EVICT; round++) {
			assert_true(round < ROUNDS_MAX);
			v = lc_evict_for_free_space(entries, n, &c->limits, &fs, cls);
			/* One at a time: what goes must be asked about again. */
			assert_true(v.action != LC_EVICT_EVICT || v.count == 1);
			verdict_apply(&v, entries, &n, cls, &fs, trace);
		}
		trace_check(c->what, trace, c->trace);
	}
}

/* ---- a write the full filesystem refused ---- */

/* The write is tried again after each eviction and succeeds once len fits in the free space. */
static const struct full_case {
	const char *what;
	const char *spool;
	bool fs_known; /* statvfs answered */
	struct lc_evict_fs fs;
	char cls;
	size_t len; /* 0: unknown */
	const char *trace;
} full_cases[] = {
	{ "nothing worth no more",
	  "r1 r1",
	  true,
	  { .block_size = 4096 },
	  'c',
	  10,
	  "refuse free_space 0/0" },
	{ "would not fit even with all of them gone: nothing goes in vain",
	  "c4 r1 m1 a1 m1",
	  true,
	  { .block_size = 4096 },
	  'c',
	  4 * 4096 + 1,
	  "refuse free_space 4/7" },
	{ "fits with all of them gone, each a whole block: lowest first, then the older core",
	  "c4 r1 m1 a1 m1",
	  true,
	  { .block_size = 4096 },
	  'c',
	  4 * 4096,
	  "evict free_space 1/1: e2; evict free_space 1/1: e4; evict free_space 1/1: e3; "
	  "evict free_space 1/4: e0; written" },
	{ "the free space counts",
	  "m1 m1",
	  true,
	  { .free_blocks = 1, .block_size = 4096 },
	  'm',
	  8192,
	  "evict free_space 1/1: e0; written" },
	{ "entries bigger than a block free all their blocks",
	  "m4097 r1",
	  true,
	  { .block_size = 4096 },
	  'm',
	  8192,
	  "evict free_space 1/4097: e0; written" },
	{ "a block size of 0 reads as 1",
	  "m10 m10",
	  true,
	  { .free_blocks = 5 },
	  'm',
	  30,
	  "refuse free_space 2/20" },
	{ "a block size of 0 reads as 1, and fits",
	  "m10 m10",
	  true,
	  { .free_blocks = 5 },
	  'm',
	  25,
	  "evict free_space 1/10: e0; evict free_space 1/10: e1; written" },
	{ "a length unknown: until nothing worth no more is left",
	  "m1 r1 a1",
	  true,
	  { .block_size = 4096 },
	  'a',
	  0,
	  "evict free_space 1/1: e0; evict free_space 1/1: e2; refuse free_space 0/0" },
	{ "statvfs unknown: any length may fit",
	  "m1",
	  false,
	  { 0 },
	  'm',
	  (size_t)1 << 30,
	  "evict free_space 1/1: e0; refuse free_space 0/0" },
	{ "ties: stamped alike, index order",
	  "m1@5 m1@5",
	  true,
	  { .block_size = 1 },
	  'm',
	  1,
	  "evict free_space 1/1: e0; written" },
};

static void test_full(void **state)
{
	for (size_t k = 0; k < ARRAY_SIZE(full_cases); k++) {
		const struct full_case *c = &full_cases[k];
		enum lc_entry_class cls = class_of(c->cls);
		struct lc_spool_entry entries[SPOOL_MAX];
		size_t n = spool_parse(c->spool, entries);
		struct lc_evict_fs fs = c->fs;
		char trace[TRACE_MAX] = "";

		for (unsigned round = 0;; round++) {
			uint64_t block = fs.block_size > 0 ? fs.block_size : 1;
			struct lc_evict_verdict v;

			assert_true(round < ROUNDS_MAX);
			if (round > 0 && c->fs_known && c->len > 0 &&
			    fs.free_blocks * block >= c->len) {
				trace_add(trace, "written");
				break;
			}
			v = lc_evict_for_full(entries, n, c->fs_known ? &fs : NULL, cls, c->len);
			assert_true(v.action != LC_EVICT_ADMIT);
			assert_true(v.action != LC_EVICT_EVICT || v.count == 1);
			verdict_apply(&v, entries, &n, cls, &fs, trace);
			if (v.action == LC_EVICT_REFUSE)
				break;
		}
		trace_check(c->what, trace, c->trace);
	}
}

/* ---- max_age_seconds ---- */

#define NOW  (T2021 + 10ULL * 24 * 3600 * 1000)
#define HOUR (3600ULL * 1000)

static void test_expired(void **state)
{
	static const struct {
		const char *what;
		uint64_t created[6];
		size_t n;
		uint64_t max_age_seconds, now_ms;
		size_t first, count;
	} cases[] = {
		{ "no limit", { 1000, NOW - 2 * HOUR }, 2, 0, NOW, 0, 0 },
		{ "an empty spool", { 0 }, 0, 3600, NOW, 0, 0 },
		{ "older than the maximum age goes; exactly as old stays",
		  { NOW - 2 * HOUR, NOW - HOUR, NOW - 60000 },
		  3,
		  3600,
		  NOW,
		  0,
		  1 },
		{ "stamps from before the clock was set never age",
		  { 1000, 2000, NOW - 2 * HOUR, NOW },
		  4,
		  3600,
		  NOW,
		  2,
		  1 },
		{ "a stamp in the future has age 0",
		  { NOW - 2 * HOUR, NOW + HOUR },
		  2,
		  3600,
		  NOW,
		  0,
		  1 },
		{ "much later, all but the unset clock's",
		  { 1000, NOW - 2 * HOUR, NOW - HOUR, NOW - 60000, NOW + HOUR },
		  5,
		  3600,
		  NOW + 3 * HOUR,
		  1,
		  4 },
		{ "the first stamp of 2020 ages",
		  { CLOCK_SET_MS - 1, CLOCK_SET_MS },
		  2,
		  3600,
		  CLOCK_SET_MS + 2 * HOUR,
		  1,
		  1 },
		{ "a clock itself unset ages nothing",
		  { 1000, T2021 },
		  2,
		  3600,
		  CLOCK_SET_MS - 1,
		  0,
		  0 },
		{ "now within the first maximum age of 1970", { 0, 1 }, 2, 3600, HOUR, 0, 0 },
		{ "an age beyond milliseconds' reach",
		  { T2021 },
		  1,
		  UINT64_MAX / 1000 + 1,
		  UINT64_MAX,
		  0,
		  0 },
	};

	for (size_t k = 0; k < ARRAY_SIZE(cases); k++) {
		struct lc_spool_entry entries[6] = { 0 };
		size_t first = SIZE_MAX, count;

		for (size_t i = 0; i < cases[k].n; i++)
			entries[i].created_ms = cases[k].created[i];
		count = lc_evict_expired(entries, cases[k].n, cases[k].max_age_seconds,
					 cases[k].now_ms, &first);
		if (count != cases[k].count || (count > 0 && first != cases[k].first))
			fail_msg("case \"%s\": %zu from %zu, not %zu from %zu", cases[k].what,
				 count, first, cases[k].count, cases[k].first);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_victim),	    cmocka_unit_test(test_limits),
		cmocka_unit_test(test_entries_cap), cmocka_unit_test(test_free_space),
		cmocka_unit_test(test_full),	    cmocka_unit_test(test_expired),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
