/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "spool.h"
#include "tmpdir.h"

#define T2021	       1609459200000ULL /* 2021-01-01T00:00:00Z */
#define MANIFEST_TEXT  "{\"m\": 1}\n"	/* 9 bytes */
#define MANIFEST_BYTES (sizeof(MANIFEST_TEXT) - 1)

struct fixture {
	char *tmp;
	char *dir; /* the spool, below tmp so that lc_spool_open() must create it */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->tmp = test_tmpdir_new("spool");
	if (!f->tmp || asprintf(&f->dir, "%s/state/spool", f->tmp) < 0) {
		test_tmpdir_free(f->tmp);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int r = test_tmpdir_free(f->tmp);

	free(f->dir);
	free(f);
	return r;
}

static void spool_freep(struct lc_spool **s)
{
	lc_spool_free(*s);
}
#define _cleanup_spool_ _cleanup_(spool_freep)

static struct lc_spool *open_spool(const char *dir, const struct lc_spool_limits *limits)
{
	struct lc_spool *s = NULL;

	assert_int_equal(lc_spool_open(dir, limits, &s), 0);
	assert_non_null(s);
	return s;
}

static char *path_join(const char *a, const char *b)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", a, b) > 0);
	return p;
}

/* Commits an entry of type at now_ms holding the manifest and, if extra > 0, an attachment of
 * extra bytes; total bytes are MANIFEST_BYTES + extra. Returns what commit returned. */
static int commit(struct lc_spool *s, const char *type, uint64_t now_ms, size_t extra,
		  char *ret_uuid)
{
	struct lc_spool_txn *t = NULL;
	char uuid[37];

	assert_int_equal(lc_spool_txn_begin(s, type, &t, uuid), 0);
	assert_int_equal(lc_spool_txn_write(t, "manifest.json", MANIFEST_TEXT, MANIFEST_BYTES), 0);
	if (extra > 0) {
		_cleanup_free_ char *data = malloc(extra);

		assert_non_null(data);
		memset(data, 'a', extra);
		assert_int_equal(lc_spool_txn_write(t, "attachment.bin", data, extra), 0);
	}
	if (ret_uuid)
		memcpy(ret_uuid, uuid, sizeof(uuid));
	return lc_spool_txn_commit(t, now_ms);
}

/* Index of the entry with uuid, or -1. */
static ssize_t find(const struct lc_spool *s, const char *uuid)
{
	for (size_t i = 0; i < lc_spool_count(s); i++)
		if (streq(lc_spool_entry_at(s, i)->uuid, uuid))
			return (ssize_t)i;
	return -1;
}

/* Names in dir beginning with prefix. */
static size_t dir_count(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, "..") &&
		    strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static bool exists(const char *dir, const char *name)
{
	_cleanup_free_ char *p = path_join(dir, name);
	struct stat st;

	return lstat(p, &st) == 0;
}

static void make_file(const char *dir, const char *name, const char *content)
{
	_cleanup_free_ char *p = path_join(dir, name);

	assert_int_equal(lc_write_file_atomic(p, content, strlen(content), 0600), 0);
}

static void make_dir(const char *dir, const char *name)
{
	_cleanup_free_ char *p = path_join(dir, name);

	assert_int_equal(mkdir(p, 0700), 0);
}

static size_t class_count(const struct lc_spool *s, enum lc_entry_class c)
{
	size_t n = 0;

	for (size_t i = 0; i < lc_spool_count(s); i++)
		n += lc_spool_entry_at(s, i)->cls == c;
	return n;
}

/* An entry named by its producer: committing it again (after a crash) is refused, never a
 * second entry; an invalid or uppercase name is refused at once. */
static void test_chosen_uuid_commits_once(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, NULL);
	const char *uuid = "0f1e2d3c-4b5a-4697-8877-665544332211";
	struct lc_spool_txn *t = NULL;

	for (int i = 0; i < 2; i++) {
		assert_int_equal(lc_spool_txn_begin_uuid(s, "linux-logs", uuid, &t), 0);
		assert_int_equal(
			lc_spool_txn_write(t, "manifest.json", MANIFEST_TEXT, MANIFEST_BYTES), 0);
		assert_int_equal(lc_spool_txn_commit(t, T2021 + i), i == 0 ? 0 : -EEXIST);
	}
	assert_int_equal(lc_spool_count(s), 1);
	assert_string_equal(lc_spool_entry_at(s, 0)->uuid, uuid);
	assert_int_equal(lc_spool_entry_at(s, 0)->cls, LC_CLASS_LOGS);
	assert_int_equal(dir_count(f->dir, ".tmp-"), 0);
	/* Once it is gone (uploaded), the same name commits again: the server knows it. */
	assert_int_equal(lc_spool_remove(s, uuid, -1), 0);
	assert_int_equal(lc_spool_txn_begin_uuid(s, "linux-logs", uuid, &t), 0);
	assert_int_equal(lc_spool_txn_write(t, "manifest.json", MANIFEST_TEXT, MANIFEST_BYTES), 0);
	assert_int_equal(lc_spool_txn_commit(t, T2021 + 5), 0);
	assert_int_equal(lc_spool_txn_begin_uuid(s, "linux-logs",
						 "0F1E2D3C-4B5A-4697-8877-665544332211", &t),
			 -EINVAL);
	assert_int_equal(lc_spool_txn_begin_uuid(s, "linux-logs", "not-a-uuid", &t), -EINVAL);
}

static void test_types_and_names(void **state)
{
	assert_int_equal(lc_entry_class_from_type("linux-metric-report"), LC_CLASS_METRICS);
	assert_int_equal(lc_entry_class_from_type("device-attributes"), LC_CLASS_ATTRIBUTES);
	assert_int_equal(lc_entry_class_from_type("elf-coredump"), LC_CLASS_COREDUMP);
	assert_int_equal(lc_entry_class_from_type("linux-reboot"), LC_CLASS_REBOOT);
	assert_int_equal(lc_entry_class_from_type("device-config"), LC_CLASS_REBOOT);
	assert_int_equal(lc_entry_class_from_type("linux-logs"), LC_CLASS_LOGS);
	assert_string_equal(lc_entry_class_name(LC_CLASS_LOGS), "logs");
	assert_int_equal(lc_entry_class_from_type("linux-rebootx"), -EINVAL);
	assert_int_equal(lc_entry_class_from_type(""), -EINVAL);
	assert_int_equal(lc_entry_class_from_type(NULL), -EINVAL);
	assert_string_equal(lc_entry_class_name(LC_CLASS_METRICS), "metrics");
	assert_string_equal(lc_entry_class_name(LC_CLASS_REBOOT), "reboot");
	assert_null(lc_entry_class_name(_LC_CLASS_MAX));
	assert_string_equal(lc_drop_reason_name(LC_DROP_FREE_SPACE), "free_space");
	assert_string_equal(lc_drop_reason_name(LC_DROP_INVALID), "invalid");
	assert_null(lc_drop_reason_name(_LC_DROP_MAX));
}

static void test_commit_and_reopen(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, NULL), *s2 = NULL;
	_cleanup_free_ char *edir = NULL, *mpath = NULL, *apath = NULL, *buf = NULL;
	const struct lc_spool_entry *e;
	struct lc_spool_txn *t = NULL;
	char uuid[37], expect[128];
	struct stat st;
	size_t size;

	assert_string_equal(lc_spool_dir(s), f->dir);
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(lc_spool_count(s), 0);
	assert_int_equal(lc_spool_txn_begin(s, "elf-coredump", &t, uuid), 0);
	assert_int_equal(strlen(uuid), 36);
	assert_int_equal(uuid[14], '4'); /* version 4 */
	assert_true(strspn(uuid, "0123456789abcdef-") == 36);
	assert_int_equal(lc_spool_txn_write(t, "manifest.json", MANIFEST_TEXT, MANIFEST_BYTES), 0);
	assert_int_equal(lc_spool_txn_write(t, "core-1.elf.gz", "CORE", 4), 0);
	assert_int_equal(lc_spool_txn_write(t, "empty", "", 0), 0);
	assert_int_equal(lc_spool_txn_commit(t, T2021 + 5), 0);

	assert_int_equal(lc_spool_count(s), 1);
	assert_int_equal(lc_spool_bytes(s), MANIFEST_BYTES + 4);
	e = lc_spool_entry_at(s, 0);
	assert_null(lc_spool_entry_at(s, 1));
	snprintf(expect, sizeof(expect), "1609459200005_elf-coredump_%s", uuid);
	assert_string_equal(e->name, expect);
	assert_string_equal(e->uuid, uuid);
	assert_string_equal(e->type, "elf-coredump");
	assert_int_equal(e->cls, LC_CLASS_COREDUMP);
	assert_int_equal(e->created_ms, T2021 + 5);
	assert_int_equal(e->bytes, MANIFEST_BYTES + 4);

	/* The files are exactly as written, private, and nothing else is there. */
	edir = path_join(f->dir, expect);
	mpath = path_join(edir, "manifest.json");
	apath = path_join(edir, "core-1.elf.gz");
	assert_int_equal(lc_read_file(mpath, 100, &buf, &size), 0);
	assert_string_equal(buf, MANIFEST_TEXT);
	free(buf);
	buf = NULL;
	assert_int_equal(lc_read_file(apath, 100, &buf, &size), 0);
	assert_int_equal(size, 4);
	assert_memory_equal(buf, "CORE", 4);
	assert_int_equal(stat(apath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(dir_count(edir, ""), 3);
	assert_int_equal(dir_count(f->dir, ".tmp-"), 0);

	/* A new process sees the same entry. */
	s2 = open_spool(f->dir, NULL);
	assert_int_equal(lc_spool_count(s2), 1);
	e = lc_spool_entry_at(s2, 0);
	assert_string_equal(e->name, expect);
	assert_string_equal(e->uuid, uuid);
	assert_string_equal(e->type, "elf-coredump");
	assert_int_equal(e->cls, LC_CLASS_COREDUMP);
	assert_int_equal(e->created_ms, T2021 + 5);
	assert_int_equal(e->bytes, MANIFEST_BYTES + 4);
	assert_int_equal(lc_spool_bytes(s2), MANIFEST_BYTES + 4);
}

static void test_streamed_attachment(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, NULL);
	_cleanup_free_ char *p = NULL, *buf = NULL;
	struct lc_spool_txn *t = NULL;
	int fd = -1;

	assert_int_equal(lc_spool_txn_begin(s, "elf-coredump", &t, NULL), 0);
	assert_int_equal(lc_spool_txn_open(t, "core.elf", &fd), -EINVAL); /* manifest first */
	assert_int_equal(fd, -1);
	assert_int_equal(lc_spool_txn_write(t, "manifest.json", MANIFEST_TEXT, MANIFEST_BYTES), 0);
	assert_int_equal(lc_spool_txn_open(t, "core.elf", &fd), 0);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	for (int i = 0; i < 3; i++)
		assert_int_equal(write(fd, "chunk", 5), 5);
	assert_int_equal(lc_spool_txn_commit(t, T2021), 0);
	assert_int_equal(lc_spool_count(s), 1);
	assert_int_equal(lc_spool_entry_at(s, 0)->bytes, MANIFEST_BYTES + 15);

	assert_true(asprintf(&p, "%s/%s/core.elf", f->dir, lc_spool_entry_at(s, 0)->name) > 0);
	assert_int_equal(lc_read_file(p, 100, &buf, NULL), 0);
	assert_string_equal(buf, "chunkchunkchunk");
}

static void test_file_name_rules(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, NULL);
	struct lc_spool_txn *t = NULL;
	const char *bad[] = { "", ".", "..", "a/b", "../x", "x y", "caf\xc3\xa9", "a\nb", "*" };
	char longest[101], too_long[102];
	char uuid[37] = "untouched";

	assert_int_equal(lc_spool_txn_begin(s, "linux-rebooot", &t, uuid), -EINVAL);
	assert_null(t);
	assert_string_equal(uuid, "untouched");

	assert_int_equal(lc_spool_txn_begin(s, "linux-reboot", &t, NULL), 0);
	/* The first file must be the manifest. */
	assert_int_equal(lc_spool_txn_write(t, "reason.txt", "x", 1), -EINVAL);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(lc_spool_txn_write(t, bad[i], "x", 1), -EINVAL);
	assert_int_equal(lc_spool_txn_write(t, "manifest.json", MANIFEST_TEXT, MANIFEST_BYTES), 0);
	assert_int_equal(lc_spool_txn_write(t, "manifest.json", "{}", 2), -EINVAL); /* repeated */
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(lc_spool_txn_write(t, bad[i], "x", 1), -EINVAL);
	memset(longest, 'n', 100);
	longest[100] = 0;
	memset(too_long, 'n', 101);
	too_long[101] = 0;
	assert_int_equal(lc_spool_txn_write(t, too_long, "x", 1), -EINVAL);
	assert_int_equal(lc_spool_txn_write(t, longest, "x", 1), 0);
	assert_int_equal(lc_spool_txn_write(t, "A-z_0.9", "y", 1), 0);
	assert_int_equal(lc_spool_txn_write(t, "A-z_0.9", "y", 1), -EINVAL);
	assert_int_equal(lc_spool_txn_commit(t, T2021), 0);
	assert_int_equal(lc_spool_count(s), 1);
	assert_int_equal(lc_spool_bytes(s), MANIFEST_BYTES + 2);
}

static void test_abort_and_failed_commit_leave_nothing(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, NULL);
	struct lc_spool_txn *t = NULL;
	int fd;

	assert_null(lc_spool_txn_abort(NULL));

	assert_int_equal(lc_spool_txn_begin(s, "linux-metric-report", &t, NULL), 0);
	assert_int_equal(dir_count(f->dir, ".tmp-"), 1);
	assert_int_equal(lc_spool_txn_write(t, "manifest.json", MANIFEST_TEXT, MANIFEST_BYTES), 0);
	assert_int_equal(lc_spool_txn_open(t, "data", &fd), 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	assert_null(lc_spool_txn_abort(t));
	assert_int_equal(dir_count(f->dir, ""), 1); /* only the lock */
	assert_true(exists(f->dir, "lock"));

	/* No manifest: refused, and the temporary directory goes. */
	assert_int_equal(lc_spool_txn_begin(s, "linux-metric-report", &t, NULL), 0);
	assert_int_equal(lc_spool_txn_commit(t, T2021), -EINVAL);
	assert_int_equal(dir_count(f->dir, ""), 1);
	assert_int_equal(lc_spool_count(s), 0);
}

static void test_leftovers_removed_at_open(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, NULL), *s2 = NULL;
	_cleanup_free_ char *tmp = NULL, *del = NULL, *valid = NULL;
	struct lc_spool_txn *live = NULL;
	char uuid[37], live_uuid[37];

	assert_int_equal(commit(s, "linux-reboot", T2021, 10, uuid), 0);

	/* A crash before the rename leaves .tmp-, one during a deletion leaves .del-. */
	tmp = path_join(f->dir, ".tmp-0e0c1f0a-0000-4000-8000-000000000001");
	make_dir(f->dir, ".tmp-0e0c1f0a-0000-4000-8000-000000000001");
	make_file(tmp, "manifest.json", "{}");
	make_file(tmp, "core.elf", "xx");
	del = path_join(f->dir, ".del-0e0c1f0a-0000-4000-8000-000000000002");
	make_dir(f->dir, ".del-0e0c1f0a-0000-4000-8000-000000000002");
	make_file(del, "attachment.bin", "y");
	make_file(f->dir, "drops.json.tmpAbC123", "{");
	/* Strangers stay. */
	make_file(f->dir, "README", "hello");
	make_dir(f->dir, "lost+found");
	make_dir(f->dir, "2024_notes");
	/* A commit in progress in another process is not a leftover. */
	assert_int_equal(lc_spool_txn_begin(s, "linux-metric-report", &live, live_uuid), 0);
	assert_int_equal(lc_spool_txn_write(live, "manifest.json", "{}", 2), 0);

	s2 = open_spool(f->dir, NULL);
	assert_int_equal(dir_count(f->dir, ".del-"), 0);
	assert_int_equal(dir_count(f->dir, "drops.json.tmp"), 0);
	assert_false(exists(f->dir, ".tmp-0e0c1f0a-0000-4000-8000-000000000001"));
	assert_int_equal(dir_count(f->dir, ".tmp-"), 1);
	assert_true(exists(f->dir, "README"));
	assert_true(exists(f->dir, "lost+found"));
	assert_true(exists(f->dir, "2024_notes"));
	assert_int_equal(lc_spool_count(s2), 1);
	assert_string_equal(lc_spool_entry_at(s2, 0)->uuid, uuid);
	assert_int_equal(lc_spool_bytes(s2), MANIFEST_BYTES + 10);
	for (size_t c = 0; c < _LC_CLASS_MAX; c++)
		assert_int_equal(lc_spool_drops(s2, c, LC_DROP_INVALID), 0);

	assert_int_equal(lc_spool_txn_commit(live, T2021 + 1), 0);
	assert_int_equal(lc_spool_refresh(s2), 0);
	assert_int_equal(lc_spool_count(s2), 2);
	assert_true(find(s2, live_uuid) >= 0);
	assert_int_equal(dir_count(f->dir, ".tmp-"), 0);
}

static void test_malformed_entries_removed_at_open(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, NULL), *s2 = NULL;
	const char *good = "1700000000000_device-config_0e0c1f0a-0000-4000-8000-00000000000a";
	_cleanup_free_ char *gdir = path_join(f->dir, good);
	const char *no_manifest = "1700000000000_linux-reboot_0e0c1f0a-0000-4000-8000-00000000000b";
	_cleanup_free_ char *nmdir = path_join(f->dir, no_manifest);
	const char *bad_type = "1700000000000_bogus-type_0e0c1f0a-0000-4000-8000-00000000000c";
	_cleanup_free_ char *btdir = path_join(f->dir, bad_type);
	const char *bad_uuid = "1700000000000_elf-coredump_NOT-A-UUID";
	_cleanup_free_ char *budir = path_join(f->dir, bad_uuid);
	const char *bad_member = "1700000000001_elf-coredump_0e0c1f0a-0000-4000-8000-00000000000d";
	_cleanup_free_ char *bmdir = path_join(f->dir, bad_member);
	const struct lc_spool_entry *e;

	make_dir(f->dir, good);
	make_file(gdir, "manifest.json", "{}\n");
	make_file(gdir, "x", "abcde");
	make_dir(f->dir, no_manifest);
	make_file(nmdir, "reason", "1");
	make_dir(f->dir, bad_type);
	make_file(btdir, "manifest.json", "{}");
	make_dir(f->dir, bad_uuid);
	make_file(budir, "manifest.json", "{}");
	make_dir(f->dir, bad_member);
	make_file(bmdir, "manifest.json", "{}");
	make_file(bmdir, "bad name", "{}");

	s2 = open_spool(f->dir, NULL);
	assert_int_equal(lc_spool_count(s2), 1);
	e = lc_spool_entry_at(s2, 0);
	assert_string_equal(e->name, good);
	assert_string_equal(e->uuid, "0e0c1f0a-0000-4000-8000-00000000000a");
	assert_string_equal(e->type, "device-config");
	assert_int_equal(e->cls, LC_CLASS_REBOOT);
	assert_int_equal(e->created_ms, 1700000000000ULL);
	assert_int_equal(e->bytes, 3 + 5);
	assert_false(exists(f->dir, no_manifest));
	assert_false(exists(f->dir, bad_type));
	assert_false(exists(f->dir, bad_uuid));
	assert_false(exists(f->dir, bad_member));
	assert_int_equal(dir_count(f->dir, ".del-"), 0);
	assert_int_equal(lc_spool_drops(s2, LC_CLASS_REBOOT, LC_DROP_INVALID), 1);
	assert_int_equal(lc_spool_drops(s2, LC_CLASS_METRICS, LC_DROP_INVALID), 1);
	assert_int_equal(lc_spool_drops(s2, LC_CLASS_COREDUMP, LC_DROP_INVALID), 2);
	assert_true(exists(f->dir, "drops.json"));

	/* The other instance learns of the removals and the counts. */
	assert_int_equal(lc_spool_count(s), 0);
	assert_int_equal(lc_spool_refresh(s), 0);
	assert_int_equal(lc_spool_count(s), 1);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_COREDUMP, LC_DROP_INVALID), 2);
}

static void test_index_order(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, NULL), *s2 = NULL;
	const uint64_t times[] = { T2021 + 300, 1000, T2021 + 200, T2021 + 300, 7 };

	for (size_t i = 0; i < ARRAY_SIZE(times); i++)
		assert_int_equal(commit(s, "linux-metric-report", times[i], 0, NULL), 0);
	s2 = open_spool(f->dir, NULL);
	assert_int_equal(lc_spool_count(s), ARRAY_SIZE(times));
	assert_int_equal(lc_spool_count(s2), ARRAY_SIZE(times));
	assert_int_equal(lc_spool_entry_at(s, 0)->created_ms, 7);
	assert_int_equal(strncmp(lc_spool_entry_at(s, 0)->name, "0000000000007_", 14), 0);
	for (size_t i = 0; i < ARRAY_SIZE(times); i++) {
		const struct lc_spool_entry *a = lc_spool_entry_at(s, i),
					    *b = lc_spool_entry_at(s2, i);

		assert_string_equal(a->name, b->name);
		if (i > 0)
			assert_true(strcmp(lc_spool_entry_at(s, i - 1)->name, a->name) < 0);
	}
}

static void test_evict_by_entries(void **state)
{
	struct fixture *f = *state;
	struct lc_spool_limits limits = { .max_entries = 3 };
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, &limits);
	char r1[37], m2[37], m3[37], m4[37], r5[37], c6[37], r9[37];

	assert_int_equal(commit(s, "linux-reboot", T2021 + 1, 0, r1), 0);
	assert_int_equal(commit(s, "linux-metric-report", T2021 + 2, 0, m2), 0);
	assert_int_equal(commit(s, "linux-metric-report", T2021 + 3, 0, m3), 0);
	/* The oldest metric goes, the reboot stays. */
	assert_int_equal(commit(s, "linux-metric-report", T2021 + 4, 0, m4), 0);
	assert_int_equal(lc_spool_count(s), 3);
	assert_true(find(s, m2) < 0);
	assert_true(find(s, r1) >= 0 && find(s, m3) >= 0 && find(s, m4) >= 0);
	/* A reboot pushes out a metric, however new. */
	assert_int_equal(commit(s, "linux-reboot", T2021 + 5, 0, r5), 0);
	assert_true(find(s, m3) < 0);
	assert_int_equal(commit(s, "elf-coredump", T2021 + 6, 0, c6), 0);
	assert_true(find(s, m4) < 0);
	assert_int_equal(class_count(s, LC_CLASS_METRICS), 0);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_ENTRIES), 3);
	/* Full of higher classes: a metric is refused, and nothing of it remains. */
	assert_int_equal(commit(s, "linux-metric-report", T2021 + 7, 5, NULL), -ENOSPC);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_ENTRIES), 4);
	assert_int_equal(lc_spool_count(s), 3);
	assert_int_equal(dir_count(f->dir, ".tmp-"), 0);
	assert_int_equal(dir_count(f->dir, ".del-"), 0);
	/* A reboot evicts the core dump (lower class) before any reboot. */
	assert_int_equal(commit(s, "linux-reboot", T2021 + 8, 0, NULL), 0);
	assert_true(find(s, c6) < 0);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_COREDUMP, LC_DROP_ENTRIES), 1);
	/* Then the oldest reboot. */
	assert_int_equal(commit(s, "linux-reboot", T2021 + 9, 0, r9), 0);
	assert_true(find(s, r1) < 0);
	assert_true(find(s, r5) >= 0 && find(s, r9) >= 0);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_REBOOT, LC_DROP_ENTRIES), 1);
	assert_int_equal(dir_count(f->dir, "16"), 3);

	/* Lowering the limit applies at the next commit. */
	limits.max_entries = 1;
	lc_spool_set_limits(s, &limits);
	assert_int_equal(lc_spool_count(s), 3);
	assert_int_equal(commit(s, "linux-reboot", T2021 + 10, 0, NULL), 0);
	assert_int_equal(lc_spool_count(s), 1);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_REBOOT, LC_DROP_ENTRIES), 4);
}

static void test_evict_by_bytes(void **state)
{
	struct fixture *f = *state;
	struct lc_spool_limits limits = { .max_bytes = 100 };
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, &limits);
	char r1[37], m2[37], m3[37], m4[37];

	/* Sizes include the 9-byte manifest. */
	assert_int_equal(commit(s, "linux-reboot", T2021 + 1, 40 - MANIFEST_BYTES, r1), 0);
	assert_int_equal(commit(s, "linux-metric-report", T2021 + 2, 30 - MANIFEST_BYTES, m2), 0);
	assert_int_equal(commit(s, "linux-metric-report", T2021 + 3, 30 - MANIFEST_BYTES, m3), 0);
	assert_int_equal(lc_spool_bytes(s), 100);
	assert_int_equal(commit(s, "linux-metric-report", T2021 + 4, 20 - MANIFEST_BYTES, m4), 0);
	assert_true(find(s, m2) < 0);
	assert_int_equal(lc_spool_bytes(s), 90);
	assert_int_equal(commit(s, "linux-reboot", T2021 + 5, 40 - MANIFEST_BYTES, NULL), 0);
	assert_true(find(s, m3) < 0);
	assert_int_equal(lc_spool_bytes(s), 100);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_BYTES), 2);
	/* Evicting every metric would not make room: refused, and the metric there stays. */
	assert_int_equal(commit(s, "linux-metric-report", T2021 + 6, 30 - MANIFEST_BYTES, NULL),
			 -ENOSPC);
	assert_true(find(s, m4) >= 0);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_BYTES), 3);
	/* An entry bigger than the whole budget evicts nothing. */
	assert_int_equal(commit(s, "elf-coredump", T2021 + 7, 200, NULL), -ENOSPC);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_COREDUMP, LC_DROP_BYTES), 1);
	assert_int_equal(lc_spool_count(s), 3);
	assert_int_equal(lc_spool_bytes(s), 100);
	/* One that fits once the metric goes. */
	assert_int_equal(commit(s, "linux-metric-report", T2021 + 8, 20 - MANIFEST_BYTES, NULL), 0);
	assert_true(find(s, m4) < 0);
	assert_true(find(s, r1) >= 0);
	assert_int_equal(lc_spool_bytes(s), 100);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_BYTES), 4);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_REBOOT, LC_DROP_BYTES), 0);
	assert_int_equal(dir_count(f->dir, ".tmp-"), 0);
}

/* A filesystem of a given capacity: what the spool directory holds is what is used. */
struct fake_fs {
	uint64_t bytes, inodes; /* capacity */
	int fail;		/* return this instead when not 0 */
	unsigned calls;
};

static void du(const char *dir, uint64_t *bytes, uint64_t *inodes)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d))) {
		_cleanup_free_ char *p = NULL;
		struct stat st;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		p = path_join(dir, de->d_name);
		assert_int_equal(lstat(p, &st), 0);
		*inodes += 1;
		if (S_ISDIR(st.st_mode))
			du(p, bytes, inodes);
		else
			*bytes += (uint64_t)st.st_size;
	}
	closedir(d);
}

static int fake_statvfs(const char *path, struct statvfs *ret, void *userdata)
{
	struct fake_fs *fs = userdata;
	uint64_t bytes = 0, inodes = 0;

	fs->calls++;
	if (fs->fail)
		return fs->fail;
	du(path, &bytes, &inodes);
	*ret = (struct statvfs){
		.f_bsize = 1,
		.f_frsize = 1,
		.f_bavail = bytes < fs->bytes ? fs->bytes - bytes : 0,
		.f_favail = inodes < fs->inodes ? fs->inodes - inodes : 0,
	};
	return 0;
}

static void test_free_bytes_limit(void **state)
{
	struct fixture *f = *state;
	struct lc_spool_limits limits = { .min_free_bytes = 4000 };
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, &limits);
	struct fake_fs fs = { .bytes = 10000, .inodes = 1000000 };
	unsigned committed = 0, calls;
	char r1[37];

	lc_spool_set_statvfs(s, fake_statvfs, &fs);
	assert_int_equal(commit(s, "linux-reboot", T2021, 1000, r1), 0);
	assert_int_equal(fs.calls, 1);
	for (unsigned i = 1; i <= 10; i++) {
		uint64_t bytes = 0, inodes = 0;

		assert_int_equal(commit(s, "linux-metric-report", T2021 + i, 1000, NULL), 0);
		committed++;
		du(f->dir, &bytes, &inodes);
		/* Room is made before the new entry lands (drops.json is written after). */
		assert_true(bytes <= 10000 - 4000 + 1000);
	}
	assert_true(find(s, r1) >= 0);
	assert_true(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_FREE_SPACE) > 0);
	assert_int_equal(class_count(s, LC_CLASS_METRICS) +
				 lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_FREE_SPACE),
			 committed);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_BYTES), 0);

	/* Full of reboots: a metric is refused without touching them. */
	for (unsigned i = 20; i < 30; i++)
		assert_int_equal(commit(s, "linux-reboot", T2021 + i, 1000, NULL), 0);
	assert_int_equal(class_count(s, LC_CLASS_METRICS), 0);
	committed = (unsigned)lc_spool_count(s);
	assert_true(lc_spool_drops(s, LC_CLASS_REBOOT, LC_DROP_FREE_SPACE) > 0);
	assert_int_equal(commit(s, "linux-metric-report", T2021 + 40, 1000, NULL), -ENOSPC);
	assert_int_equal(lc_spool_count(s), committed);
	assert_int_equal(dir_count(f->dir, ".tmp-"), 0);

	/* A failing statvfs does not block commits. */
	fs.fail = -EIO;
	calls = fs.calls;
	assert_int_equal(commit(s, "linux-metric-report", T2021 + 41, 1000, NULL), 0);
	assert_int_equal(fs.calls, calls + 1);
	assert_int_equal(lc_spool_count(s), committed + 1);

	/* Without a free-space limit it is not asked. */
	lc_spool_set_limits(s, &(struct lc_spool_limits){ 0 });
	calls = fs.calls;
	assert_int_equal(commit(s, "linux-metric-report", T2021 + 42, 0, NULL), 0);
	assert_int_equal(fs.calls, calls);
}

static void test_free_inodes_limit(void **state)
{
	struct fixture *f = *state;
	struct lc_spool_limits limits = { .min_free_inodes = 5 };
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, &limits);
	struct fake_fs fs = { .bytes = UINT64_MAX, .inodes = 20 };
	char r1[37];
	size_t n;

	lc_spool_set_statvfs(s, fake_statvfs, &fs);
	/* Each entry takes two inodes (directory, manifest); the lock and drops.json one each. */
	assert_int_equal(commit(s, "linux-reboot", T2021, 0, r1), 0);
	for (unsigned i = 1; i <= 10; i++)
		assert_int_equal(commit(s, "device-attributes", T2021 + i, 0, NULL), 0);
	n = lc_spool_count(s);
	assert_true(n >= 6 && n <= 7);
	assert_true(find(s, r1) >= 0);
	assert_int_equal(class_count(s, LC_CLASS_ATTRIBUTES) +
				 lc_spool_drops(s, LC_CLASS_ATTRIBUTES, LC_DROP_FREE_SPACE),
			 10);
	/* The newest attributes are the ones kept. */
	assert_int_equal(lc_spool_entry_at(s, n - 1)->created_ms, T2021 + 10);
	assert_int_equal(lc_spool_entry_at(s, 1)->created_ms, T2021 + 10 - (n - 2));

	/* Attributes rank above metrics: a metric is refused rather than evict one. */
	assert_int_equal(commit(s, "linux-metric-report", T2021 + 11, 0, NULL), -ENOSPC);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_FREE_SPACE), 1);
	assert_int_equal(lc_spool_count(s), n);
}

/* A statvfs that says the filesystem is full for the first full_calls calls, and at each call
 * checks that drops.json on disk already counts every entry gone from the directory. */
struct probe_fs {
	const char *dir;
	unsigned calls, full_calls;
	size_t entries_before;
	unsigned mismatches;
};

static uint64_t drops_on_disk(const char *dir, const char *cls, const char *reason)
{
	_cleanup_free_ char *p = path_join(dir, "drops.json"), *buf = NULL;
	json_object *root, *o, *v;
	uint64_t n = 0;
	size_t size;

	if (lc_read_file(p, 65536, &buf, &size) < 0)
		return 0;
	root = json_tokener_parse(buf);
	if (json_object_object_get_ex(root, cls, &o) && json_object_object_get_ex(o, reason, &v))
		n = json_object_get_uint64(v);
	json_object_put(root);
	return n;
}

static int probe_statvfs(const char *path, struct statvfs *ret, void *userdata)
{
	struct probe_fs *fs = userdata;
	size_t gone = fs->entries_before - dir_count(fs->dir, "16");

	(void)path;
	if (drops_on_disk(fs->dir, "metrics", "free_space") != gone)
		fs->mismatches++;
	*ret = (struct statvfs){
		.f_bsize = 1,
		.f_frsize = 1,
		.f_bavail = fs->calls++ < fs->full_calls ? 0 : UINT64_MAX / 2,
		.f_favail = 1000000,
	};
	return 0;
}

/* A commit that evicts several entries: a crash between two evictions (here: any moment the
 * filesystem is asked again) finds every entry already gone counted in drops.json. */
static void test_evictions_counted_before_deletion(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, NULL);
	struct probe_fs fs = { .dir = f->dir, .full_calls = 4, .entries_before = 6 };

	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(commit(s, "linux-metric-report", T2021 + i, 0, NULL), 0);
	lc_spool_set_limits(s, &(struct lc_spool_limits){ .min_free_bytes = 1 });
	lc_spool_set_statvfs(s, probe_statvfs, &fs);
	assert_int_equal(commit(s, "linux-reboot", T2021 + 10, 0, NULL), 0);
	assert_int_equal(fs.calls, 5);
	assert_int_equal(fs.mismatches, 0);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_FREE_SPACE), 4);
	assert_int_equal(drops_on_disk(f->dir, "metrics", "free_space"), 4);
	assert_int_equal(class_count(s, LC_CLASS_METRICS), 2);
}

/* A statvfs for a filesystem without a free block, of 4 KiB blocks. */
static int no_room_statvfs(const char *path, struct statvfs *ret, void *userdata)
{
	(void)path;
	(void)userdata;
	*ret = (struct statvfs){ .f_bsize = 4096, .f_frsize = 4096, .f_favail = 1000 };
	return 0;
}

/* A streamed write that fails on a full filesystem evicts, one per call, the entries worth no more
 * than the new one, oldest first, and says to write again; once none is left (or what is left to
 * write could not fit even without all of them) the failure stands, and the aborted entry is
 * counted as a free_space drop and shows in the storage fault. Another errno evicts nothing and
 * counts as write_error. */
static void test_streamed_write_failed(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, NULL);
	const struct lc_storage_fault *fault = lc_spool_fault(s);
	struct lc_spool_txn *t = NULL;
	char reboot[37], core[37];
	int fd = -1;

	assert_int_equal(commit(s, "elf-coredump", T2021, 0, core), 0);
	assert_int_equal(commit(s, "linux-reboot", T2021 + 1, 0, reboot), 0);
	assert_int_equal(commit(s, "linux-metric-report", T2021 + 2, 0, NULL), 0);
	assert_int_equal(commit(s, "device-attributes", T2021 + 3, 0, NULL), 0);
	assert_int_equal(commit(s, "linux-metric-report", T2021 + 4, 0, NULL), 0);

	assert_int_equal(lc_spool_txn_begin(s, "elf-coredump", &t, NULL), 0);
	assert_int_equal(lc_spool_txn_write(t, "manifest.json", MANIFEST_TEXT, MANIFEST_BYTES), 0);
	assert_int_equal(lc_spool_txn_open(t, "core.elf", &fd), 0);
	assert_int_equal(write(fd, "CORE", 4), 4);
	assert_int_equal(lc_spool_txn_write_failed(t, "core.elf", 0, 0), -EINVAL);

	/* What is left would not fit even with all four gone: nothing goes. */
	lc_spool_set_statvfs(s, no_room_statvfs, NULL);
	assert_int_equal(lc_spool_txn_write_failed(t, "core.elf", -ENOSPC, 4 * 4096 + 1), -ENOSPC);
	assert_int_equal(lc_spool_count(s), 5);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_FREE_SPACE), 0);
	assert_int_equal(fault->error, -ENOSPC);
	/* It would: the metrics, then the attributes, then the older core. */
	assert_int_equal(lc_spool_txn_write_failed(t, "core.elf", -ENOSPC, 4 * 4096), 0);
	lc_spool_set_statvfs(s, NULL, NULL);
	assert_int_equal(lc_spool_txn_write_failed(t, "core.elf", -EDQUOT, 65536), 0);
	assert_int_equal(class_count(s, LC_CLASS_METRICS), 0);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_FREE_SPACE), 2);
	assert_int_equal(lc_spool_txn_write_failed(t, "core.elf", -ENOSPC, 0), 0);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_ATTRIBUTES, LC_DROP_FREE_SPACE), 1);
	assert_int_equal(lc_spool_txn_write_failed(t, "core.elf", -ENOSPC, 0), 0);
	assert_int_equal(find(s, core), -1);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_COREDUMP, LC_DROP_FREE_SPACE), 1);
	assert_int_equal(drops_on_disk(f->dir, "coredump", "free_space"), 1);
	/* A reboot is worth more than a core. */
	assert_int_equal(lc_spool_txn_write_failed(t, "core.elf", -ENOSPC, 0), -ENOSPC);
	assert_int_equal(lc_spool_count(s), 1);
	assert_true(find(s, reboot) >= 0);
	assert_int_equal(fault->error, -ENOSPC);
	assert_string_equal(fault->op, "write");
	assert_non_null(strstr(fault->path, "/core.elf"));
	assert_int_equal(lc_storage_state_of(fault->error), LC_STORAGE_FULL);
	lc_spool_txn_abort(t);
	assert_int_equal(dir_count(f->dir, ".tmp-"), 0);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_COREDUMP, LC_DROP_FREE_SPACE), 2);
	assert_int_equal(drops_on_disk(f->dir, "coredump", "free_space"), 2);

	/* Any other errno: refused at once, a write_error. */
	assert_int_equal(lc_spool_txn_begin(s, "elf-coredump", &t, NULL), 0);
	assert_int_equal(lc_spool_txn_write(t, "manifest.json", MANIFEST_TEXT, MANIFEST_BYTES), 0);
	assert_int_equal(lc_spool_txn_open(t, "core.elf", &fd), 0);
	assert_int_equal(lc_spool_txn_write_failed(t, "core.elf", -EIO, 4096), -EIO);
	lc_spool_txn_abort(t);
	assert_int_equal(lc_spool_count(s), 1);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_COREDUMP, LC_DROP_WRITE_ERROR), 1);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_COREDUMP, LC_DROP_FREE_SPACE), 2);
	assert_int_equal(fault->error, -EIO);
	assert_int_equal(lc_spool_write_failures(s), 3);
}

static uint64_t lock_counter(const char *dir)
{
	_cleanup_free_ char *p = path_join(dir, "lock"), *buf = NULL;

	assert_int_equal(lc_read_file(p, 100, &buf, NULL), 0);
	return strtoull(buf, NULL, 10);
}

/* A drops.json that could not be written is no change to the spool: the lock's change counter
 * stays (on a read-only filesystem, writing it would fail at every refused entry). */
static void test_failed_drops_write_is_no_change(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, NULL);
	_cleanup_free_ char *drops = path_join(f->dir, "drops.json");
	struct lc_spool_txn *t = NULL;
	uint64_t gen;

	assert_int_equal(commit(s, "linux-reboot", T2021, 0, NULL), 0);
	assert_int_equal(mkdir(drops, 0700), 0); /* rename(2) onto it fails */
	gen = lock_counter(f->dir);
	assert_int_equal(lc_spool_txn_begin(s, "linux-metric-report", &t, NULL), 0);
	assert_int_equal(lc_spool_txn_write(t, "manifest.json", MANIFEST_TEXT, MANIFEST_BYTES), 0);
	assert_int_equal(lc_spool_txn_write_failed(t, "manifest.json", -EROFS, 0), -EROFS);
	lc_spool_txn_abort(t);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_WRITE_ERROR), 1);
	assert_int_equal(lc_spool_drops_fault(s)->error, -EISDIR);
	assert_int_equal(lock_counter(f->dir), gen);
	assert_int_equal(rmdir(drops), 0);
}

/* Discarding a transaction does not take this process's own removal of its temporary directory
 * for another process's change: no rescan follows. (A malformed entry slipped in behind the
 * directory's back, mtime restored, is what a rescan would find and remove.) */
static void test_discard_does_not_rescan(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, NULL);
	const char *bad = "1609459200000_linux-reboot_not-a-uuid";
	struct lc_spool_txn *t = NULL;
	struct timespec times[2];
	struct stat st;

	assert_int_equal(lc_spool_txn_begin(s, "linux-metric-report", &t, NULL), 0);
	assert_int_equal(lc_spool_txn_write(t, "manifest.json", MANIFEST_TEXT, MANIFEST_BYTES), 0);
	assert_int_equal(lc_spool_txn_write_failed(t, "manifest.json", -EIO, 0), -EIO);
	assert_int_equal(stat(f->dir, &st), 0);
	make_dir(f->dir, bad);
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, f->dir, times, 0), 0);
	lc_spool_txn_abort(t);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_WRITE_ERROR), 1);
	assert_true(exists(f->dir, bad));
	assert_int_equal(lc_spool_drops(s, LC_CLASS_REBOOT, LC_DROP_INVALID), 0);
	/* Nor does the next operation. */
	assert_int_equal(lc_spool_refresh(s), 0);
	assert_true(exists(f->dir, bad));
}

static void test_expire(void **state)
{
	struct fixture *f = *state;
	struct lc_spool_limits limits = { .max_age_seconds = 3600 };
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, NULL);
	const uint64_t now = T2021 + 10ULL * 24 * 3600 * 1000;
	char unset[37], old[37], recent[37], future[37], edge[37];

	assert_int_equal(commit(s, "linux-metric-report", 1000, 0, unset), 0); /* clock unset */
	assert_int_equal(commit(s, "linux-metric-report", now - 7200 * 1000, 0, old), 0);
	assert_int_equal(commit(s, "linux-reboot", now - 3600 * 1000, 0, edge), 0);
	assert_int_equal(commit(s, "linux-reboot", now - 60 * 1000, 0, recent), 0);
	assert_int_equal(commit(s, "elf-coredump", now + 3600 * 1000, 0, future), 0);
	assert_int_equal(lc_spool_count(s), 5);
	lc_spool_set_limits(s, &limits);

	/* Only what is older than the maximum age; exactly as old stays. */
	assert_int_equal(lc_spool_expire(s, now), 1);
	assert_true(find(s, old) < 0);
	assert_int_equal(lc_spool_count(s), 4);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_AGE), 1);
	assert_int_equal(lc_spool_expire(s, now), 0);

	/* Much later, everything goes but the entry stamped before the clock was set. */
	assert_int_equal(lc_spool_expire(s, now + 3ULL * 3600 * 1000), 3);
	assert_int_equal(lc_spool_count(s), 1);
	assert_string_equal(lc_spool_entry_at(s, 0)->uuid, unset);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_REBOOT, LC_DROP_AGE), 2);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_COREDUMP, LC_DROP_AGE), 1);

	/* A clock that is itself unset ages nothing. */
	assert_int_equal(commit(s, "linux-reboot", T2021, 0, NULL), 0);
	assert_int_equal(lc_spool_expire(s, 1577836799999ULL), 0);
	assert_int_equal(lc_spool_count(s), 2);

	/* A commit expires too, before its limits. */
	assert_int_equal(commit(s, "linux-reboot", now, 0, recent), 0);
	assert_int_equal(lc_spool_count(s), 2);
	assert_string_equal(lc_spool_entry_at(s, 0)->uuid, unset);
	assert_string_equal(lc_spool_entry_at(s, 1)->uuid, recent);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_REBOOT, LC_DROP_AGE), 3);

	/* No limit, no expiry. */
	lc_spool_set_limits(s, &(struct lc_spool_limits){ 0 });
	assert_int_equal(lc_spool_expire(s, UINT64_MAX), 0);
	assert_int_equal(lc_spool_count(s), 2);
}

static void test_remove(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, NULL);
	char a[37], b[37];

	assert_int_equal(commit(s, "elf-coredump", T2021, 5, a), 0);
	assert_int_equal(commit(s, "linux-reboot", T2021 + 1, 0, b), 0);
	assert_int_equal(lc_spool_remove(s, a, _LC_DROP_MAX), -EINVAL);
	/* Accepted by the server: not a drop. */
	assert_int_equal(lc_spool_remove(s, a, -1), 0);
	assert_int_equal(lc_spool_count(s), 1);
	assert_int_equal(lc_spool_bytes(s), MANIFEST_BYTES);
	assert_int_equal(lc_spool_remove(s, a, -1), -ENOENT);
	for (size_t c = 0; c < _LC_CLASS_MAX; c++)
		for (size_t r = 0; r < _LC_DROP_MAX; r++)
			assert_int_equal(lc_spool_drops(s, c, r), 0);
	assert_false(exists(f->dir, "drops.json"));
	/* Refused for good by the server: counted. */
	assert_int_equal(lc_spool_remove(s, b, LC_DROP_REJECTED), 0);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_REBOOT, LC_DROP_REJECTED), 1);
	assert_int_equal(lc_spool_count(s), 0);
	assert_int_equal(lc_spool_bytes(s), 0);
	assert_int_equal(lc_spool_remove(s, "nonexistent", LC_DROP_REJECTED), -ENOENT);
	assert_int_equal(dir_count(f->dir, ""), 2); /* lock, drops.json */
}

static void test_remove_many(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, NULL);
	char u[5][37];
	const char *some[4];

	for (int i = 0; i < 5; i++)
		assert_int_equal(commit(s, "device-attributes", T2021 + (uint64_t)i, 0, u[i]), 0);
	/* Out of index order, with one unknown: the known ones go, the unknown is skipped. */
	some[0] = u[3];
	some[1] = "nonexistent";
	some[2] = u[0];
	some[3] = u[4];
	assert_int_equal(lc_spool_remove_many(s, some, 4, LC_DROP_REJECTED), 3);
	assert_int_equal(lc_spool_count(s), 2);
	assert_string_equal(lc_spool_entry_at(s, 0)->uuid, u[1]);
	assert_string_equal(lc_spool_entry_at(s, 1)->uuid, u[2]);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_ATTRIBUTES, LC_DROP_REJECTED), 3);
	assert_int_equal(lc_spool_bytes(s), 2 * MANIFEST_BYTES);
	assert_int_equal(lc_spool_remove_many(s, some, 0, -1), 0);
	/* Nothing half-deleted is left: the two entries, lock, drops.json. */
	assert_int_equal(dir_count(f->dir, ""), 4);
	s = lc_spool_free(s);
	s = open_spool(f->dir, NULL);
	assert_int_equal(lc_spool_count(s), 2);
}

static void test_drops_persist(void **state)
{
	struct fixture *f = *state;
	struct lc_spool_limits limits = { .max_entries = 1 };
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, &limits);
	_cleanup_free_ char *drops = path_join(f->dir, "drops.json");
	struct stat st;

	assert_int_equal(commit(s, "linux-reboot", T2021, 0, NULL), 0);
	assert_int_equal(commit(s, "linux-metric-report", T2021 + 1, 0, NULL), -ENOSPC);
	assert_int_equal(commit(s, "linux-metric-report", T2021 + 2, 0, NULL), -ENOSPC);
	assert_int_equal(commit(s, "linux-reboot", T2021 + 3, 0, NULL), 0);
	assert_int_equal(stat(drops, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	s = lc_spool_free(s);
	assert_null(s);

	s = open_spool(f->dir, &limits);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_ENTRIES), 2);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_REBOOT, LC_DROP_ENTRIES), 1);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_REBOOT, LC_DROP_BYTES), 0);
	assert_int_equal(lc_spool_drops(s, _LC_CLASS_MAX, LC_DROP_BYTES), 0);
	s = lc_spool_free(s);

	/* Garbage is zeros, and is replaced by the next count. */
	make_file(f->dir, "drops.json", "{\"metrics\": {\"entries\": 2,");
	s = open_spool(f->dir, &limits);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_ENTRIES), 0);
	assert_int_equal(commit(s, "linux-metric-report", T2021 + 4, 0, NULL), -ENOSPC);
	s = lc_spool_free(s);
	s = open_spool(f->dir, &limits);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_ENTRIES), 1);
	s = lc_spool_free(s);

	/* Wrong types are ignored one by one. */
	make_file(f->dir, "drops.json",
		  "{\"metrics\": {\"bytes\": \"x\", \"age\": -5, \"entries\": 3, \"what\": 1}, "
		  "\"reboot\": 7, \"coredump\": {\"invalid\": 18446744073709551615}}");
	s = open_spool(f->dir, &limits);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_ENTRIES), 3);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_BYTES), 0);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_AGE), 0);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_REBOOT, LC_DROP_ENTRIES), 0);
	assert_true(lc_spool_drops(s, LC_CLASS_COREDUMP, LC_DROP_INVALID) == UINT64_MAX);
	s = lc_spool_free(s);

	/* Not JSON at all, too big, or not a file. */
	make_file(f->dir, "drops.json", "\x01\x02garbage");
	s = open_spool(f->dir, &limits);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_ENTRIES), 0);
	s = lc_spool_free(s);
	{
		_cleanup_free_ char *big = malloc(100 * 1024);

		assert_non_null(big);
		memset(big, ' ', 100 * 1024 - 1);
		big[100 * 1024 - 1] = 0;
		make_file(f->dir, "drops.json", big);
	}
	s = open_spool(f->dir, &limits);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_ENTRIES), 0);
	s = lc_spool_free(s);
	assert_int_equal(unlink(drops), 0);
	assert_int_equal(mkdir(drops, 0700), 0);
	s = open_spool(f->dir, &limits);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_METRICS, LC_DROP_ENTRIES), 0);
	assert_int_equal(rmdir(drops), 0);
}

static void test_two_processes(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *a = open_spool(f->dir, NULL);
	_cleanup_spool_ struct lc_spool *b = open_spool(f->dir, NULL), *c = NULL;
	char e1[37], e2[37], e3[37];

	assert_int_equal(commit(a, "linux-reboot", T2021 + 1, 3, e1), 0);
	assert_int_equal(lc_spool_count(b), 0);
	assert_int_equal(lc_spool_refresh(b), 0);
	assert_int_equal(lc_spool_count(b), 1);
	assert_string_equal(lc_spool_entry_at(b, 0)->uuid, e1);
	assert_int_equal(lc_spool_entry_at(b, 0)->bytes, MANIFEST_BYTES + 3);
	assert_int_equal(lc_spool_bytes(b), MANIFEST_BYTES + 3);

	/* Right after one another, likely within one tick of the directory's clock. */
	assert_int_equal(commit(b, "linux-metric-report", T2021 + 2, 0, e2), 0);
	assert_int_equal(commit(a, "linux-metric-report", T2021 + 3, 0, e3), 0);
	assert_int_equal(lc_spool_count(a), 3); /* a's commit looked first */
	assert_int_equal(lc_spool_refresh(b), 0);
	assert_int_equal(lc_spool_count(b), 3);
	assert_int_equal(lc_spool_bytes(a), lc_spool_bytes(b));
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(lc_spool_entry_at(a, i)->name, lc_spool_entry_at(b, i)->name);

	/* Each counts a drop: the counters add up in both. */
	assert_int_equal(lc_spool_remove(a, e2, LC_DROP_REJECTED), 0);
	assert_int_equal(lc_spool_remove(b, e3, LC_DROP_REJECTED), 0);
	assert_int_equal(lc_spool_remove(b, e2, LC_DROP_REJECTED), -ENOENT);
	assert_int_equal(lc_spool_drops(b, LC_CLASS_METRICS, LC_DROP_REJECTED), 2);
	assert_int_equal(lc_spool_drops(a, LC_CLASS_METRICS, LC_DROP_REJECTED), 1);
	assert_int_equal(lc_spool_refresh(a), 0);
	assert_int_equal(lc_spool_drops(a, LC_CLASS_METRICS, LC_DROP_REJECTED), 2);
	assert_int_equal(lc_spool_count(a), 1);
	assert_int_equal(lc_spool_count(b), 1);
	assert_int_equal(lc_spool_bytes(a), MANIFEST_BYTES + 3);

	/* Limits see the other's entries: a full spool in b refuses what a filled. */
	lc_spool_set_limits(b, &(struct lc_spool_limits){ .max_entries = 2 });
	assert_int_equal(commit(a, "linux-reboot", T2021 + 4, 0, NULL), 0);
	assert_int_equal(commit(b, "linux-metric-report", T2021 + 5, 0, NULL), -ENOSPC);
	assert_int_equal(lc_spool_count(b), 2);
	assert_int_equal(lc_spool_refresh(a), 0);
	assert_int_equal(lc_spool_drops(a, LC_CLASS_METRICS, LC_DROP_ENTRIES), 1);

	c = open_spool(f->dir, NULL);
	assert_int_equal(lc_spool_count(c), 2);
	assert_int_equal(lc_spool_drops(c, LC_CLASS_METRICS, LC_DROP_REJECTED), 2);
	assert_int_equal(lc_spool_drops(c, LC_CLASS_METRICS, LC_DROP_ENTRIES), 1);
}

static void test_directory_replaced(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, NULL);
	char uuid[37];

	/* Removed: created again. */
	assert_int_equal(commit(s, "linux-reboot", T2021, 0, NULL), 0);
	assert_int_equal(test_tmpdir_remove(f->dir), 0);
	assert_int_equal(commit(s, "linux-reboot", T2021 + 1, 0, uuid), 0);
	assert_int_equal(lc_spool_count(s), 1);
	assert_string_equal(lc_spool_entry_at(s, 0)->uuid, uuid);
	assert_int_equal(dir_count(f->dir, "16"), 1);

	/* Replaced by a new directory (which may even get the old inode number). */
	assert_int_equal(test_tmpdir_remove(f->dir), 0);
	assert_int_equal(mkdir(f->dir, 0700), 0);
	assert_int_equal(lc_spool_refresh(s), 0);
	assert_int_equal(lc_spool_count(s), 0);
	assert_int_equal(commit(s, "linux-reboot", T2021 + 2, 0, uuid), 0);
	assert_int_equal(lc_spool_count(s), 1);
	assert_int_equal(dir_count(f->dir, "16"), 1);
}

/* Directory timestamps move in clock ticks: two changes within one must still be noticed. */
static void test_change_within_one_tick(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *a = open_spool(f->dir, NULL);
	_cleanup_spool_ struct lc_spool *b = open_spool(f->dir, NULL);
	struct stat before;
	char uuid[37];

	assert_int_equal(commit(a, "linux-reboot", T2021, 0, NULL), 0);
	assert_int_equal(lc_spool_refresh(b), 0);
	assert_int_equal(stat(f->dir, &before), 0);
	assert_int_equal(commit(b, "linux-reboot", T2021 + 1, 0, uuid), 0);
	/* As if b's changes had happened within the tick of a's last one. */
	assert_int_equal(utimensat(AT_FDCWD, f->dir,
				   (struct timespec[2]){ before.st_atim, before.st_mtim }, 0),
			 0);
	assert_int_equal(lc_spool_refresh(a), 0);
	assert_int_equal(lc_spool_count(a), 2);
	assert_true(find(a, uuid) >= 0);
}

/* A drop counted while drops.json cannot be written is kept, and written later. */
static void test_drops_write_failure(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *a = open_spool(f->dir, NULL);
	_cleanup_spool_ struct lc_spool *b = open_spool(f->dir, NULL), *c = NULL;
	_cleanup_free_ char *drops = path_join(f->dir, "drops.json");
	char x[37], y[37];

	assert_int_equal(commit(a, "linux-reboot", T2021, 0, x), 0);
	assert_int_equal(commit(a, "linux-reboot", T2021 + 1, 0, y), 0);
	assert_int_equal(mkdir(drops, 0700), 0); /* rename(2) onto it fails */
	assert_int_equal(lc_spool_remove(a, x, LC_DROP_REJECTED), 0);
	assert_int_equal(lc_spool_drops(a, LC_CLASS_REBOOT, LC_DROP_REJECTED), 1);
	/* Another process's change makes a reload the counters from the (unreadable) file. */
	assert_int_equal(commit(b, "linux-metric-report", T2021 + 2, 0, NULL), 0);
	assert_int_equal(lc_spool_refresh(a), 0);
	assert_int_equal(lc_spool_count(a), 2);
	assert_int_equal(lc_spool_drops(a, LC_CLASS_REBOOT, LC_DROP_REJECTED), 1);
	assert_int_equal(rmdir(drops), 0);
	assert_int_equal(lc_spool_remove(a, y, LC_DROP_REJECTED), 0);
	c = open_spool(f->dir, NULL);
	assert_int_equal(lc_spool_drops(c, LC_CLASS_REBOOT, LC_DROP_REJECTED), 2);
}

/* A short-lived process whose drops.json write failed hands its unsaved drops over (the core
 * handler puts them in its crash report); the long-lived one adds and writes them. */
static void test_unsaved_drops_handed_over(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *handler = open_spool(f->dir, NULL);
	_cleanup_spool_ struct lc_spool *daemon = open_spool(f->dir, NULL), *again = NULL;
	_cleanup_free_ char *drops = path_join(f->dir, "drops.json");
	uint32_t taken[_LC_CLASS_MAX][_LC_DROP_MAX];
	char x[37];

	assert_int_equal(commit(handler, "linux-metric-report", T2021, 0, x), 0);
	assert_int_equal(mkdir(drops, 0700), 0); /* rename(2) onto it fails */
	assert_int_equal(lc_spool_remove(handler, x, LC_DROP_INVALID), 0);
	memset(taken, 0xff, sizeof(taken));
	lc_spool_take_unsaved_drops(handler, taken);
	for (int c = 0; c < _LC_CLASS_MAX; c++)
		for (int r = 0; r < _LC_DROP_MAX; r++)
			assert_int_equal(taken[c][r],
					 c == LC_CLASS_METRICS && r == LC_DROP_INVALID ? 1 : 0);
	/* Taken: nothing left for the handler to write, even once it could. */
	lc_spool_take_unsaved_drops(handler, taken);
	assert_int_equal(taken[LC_CLASS_METRICS][LC_DROP_INVALID], 0);
	assert_int_equal(rmdir(drops), 0);
	lc_spool_free(TAKE_PTR(handler));
	again = open_spool(f->dir, NULL);
	assert_int_equal(lc_spool_drops(again, LC_CLASS_METRICS, LC_DROP_INVALID), 0);
	lc_spool_free(TAKE_PTR(again));

	taken[LC_CLASS_METRICS][LC_DROP_INVALID] = 1;
	taken[LC_CLASS_COREDUMP][LC_DROP_FREE_SPACE] = 2;
	assert_int_equal(lc_spool_add_drops(daemon, taken), 0);
	assert_int_equal(lc_spool_drops(daemon, LC_CLASS_COREDUMP, LC_DROP_FREE_SPACE), 2);
	again = open_spool(f->dir, NULL);
	assert_int_equal(lc_spool_drops(again, LC_CLASS_METRICS, LC_DROP_INVALID), 1);
	assert_int_equal(lc_spool_drops(again, LC_CLASS_COREDUMP, LC_DROP_FREE_SPACE), 2);
}

/* A write the filesystem refuses (here EFBIG, past RLIMIT_FSIZE) refuses the entry, counts it as a
 * write_error drop and opens a storage fault episode that the next commit ends; drops.json that
 * cannot be written opens one that its next write ends. */
static void test_storage_fault(void **state)
{
	struct fixture *f = *state;
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, NULL);
	_cleanup_free_ char *drops = path_join(f->dir, "drops.json");
	struct rlimit old, small = { .rlim_cur = 4096 };
	struct lc_spool_txn *t = NULL;
	char big[8192] = { 0 }, x[37];
	const struct lc_storage_fault *fault = lc_spool_fault(s), *dfault = lc_spool_drops_fault(s);
	uint64_t since;

	assert_int_equal(fault->error, 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	assert_int_equal(signal(SIGXFSZ, SIG_IGN), SIG_DFL);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(lc_spool_txn_begin(s, "elf-coredump", &t, NULL), 0);
		assert_int_equal(
			lc_spool_txn_write(t, "manifest.json", MANIFEST_TEXT, MANIFEST_BYTES), 0);
		assert_int_equal(lc_spool_txn_write(t, "core.elf", big, sizeof(big)), -EFBIG);
		lc_spool_txn_abort(t);
	}
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(signal(SIGXFSZ, SIG_DFL), SIG_IGN);
	assert_int_equal(lc_spool_count(s), 0);
	assert_int_equal(dir_count(f->dir, ".tmp-"), 0);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_COREDUMP, LC_DROP_WRITE_ERROR), 3);
	assert_int_equal(lc_spool_write_failures(s), 3);
	assert_int_equal(fault->error, -EFBIG);
	assert_int_equal(fault->failures, 3);
	assert_string_equal(fault->op, "write");
	assert_non_null(strstr(fault->path, "/core.elf"));
	assert_int_equal(lc_storage_state_of(fault->error), LC_STORAGE_ERROR);
	assert_true(fault->since_ms > 0 && fault->since_ms <= fault->last_ms);

	/* A commit proves the filesystem stores again. */
	assert_int_equal(commit(s, "linux-reboot", T2021, 0, x), 0);
	assert_int_equal(fault->error, 0);

	/* drops.json: the episode lasts until that file is written again. */
	assert_int_equal(unlink(drops), 0);
	assert_int_equal(mkdir(drops, 0700), 0); /* rename(2) onto it fails */
	assert_int_equal(lc_spool_remove(s, x, LC_DROP_REJECTED), 0);
	assert_int_equal(fault->error, 0); /* entries are fine */
	assert_int_equal(dfault->error, -EISDIR);
	assert_string_equal(dfault->op, "save");
	assert_string_equal(dfault->path, drops);
	since = dfault->since_ms;
	/* A commit does not end it: only writing drops.json does. */
	assert_int_equal(commit(s, "linux-reboot", T2021 + 1, 0, x), 0);
	assert_int_equal(lc_spool_remove(s, x, LC_DROP_REJECTED), 0);
	assert_int_equal(dfault->since_ms, since);
	assert_true(dfault->failures >= 2);
	assert_int_equal(rmdir(drops), 0);
	assert_int_equal(lc_spool_refresh(s), 0);
	assert_int_equal(lc_spool_remove(s, x, LC_DROP_REJECTED), -ENOENT);
	assert_int_equal(commit(s, "linux-reboot", T2021 + 2, 0, NULL), 0);
	assert_int_equal(dfault->error, 0);
	assert_int_equal(lc_spool_drops(s, LC_CLASS_REBOOT, LC_DROP_REJECTED), 2);
	assert_true(exists(f->dir, "drops.json"));
}

static uint64_t status_u64(json_object *o, const char *key)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	assert_true(json_object_is_type(v, json_type_int));
	return json_object_get_uint64(v);
}

static void test_status(void **state)
{
	struct fixture *f = *state;
	struct lc_spool_limits limits = { .max_entries = 2 };
	_cleanup_spool_ struct lc_spool *s = open_spool(f->dir, &limits);
	json_object *j, *v, *by_class, *drops, *m;

	j = lc_spool_status(s);
	assert_non_null(j);
	assert_int_equal(status_u64(j, "entries"), 0);
	assert_int_equal(status_u64(j, "bytes"), 0);
	assert_true(json_object_object_get_ex(j, "oldest_ms", &v));
	assert_null(v);
	assert_int_equal(status_u64(j, "drops_total"), 0);
	json_object_put(j);

	assert_int_equal(commit(s, "linux-metric-report", T2021 + 1, 11, NULL), 0);
	assert_int_equal(commit(s, "linux-reboot", T2021 + 2, 0, NULL), 0);
	assert_int_equal(commit(s, "linux-metric-report", T2021 + 3, 0, NULL), 0);
	assert_int_equal(commit(s, "linux-reboot", T2021 + 4, 0, NULL), 0);
	assert_int_equal(commit(s, "elf-coredump", T2021 + 5, 0, NULL), -ENOSPC);

	j = lc_spool_status(s);
	assert_non_null(j);
	assert_int_equal(json_object_object_length(j), 7);
	assert_string_equal(json_object_get_string(json_object_object_get(j, "oldest")),
			    "2021-01-01T00:00:00Z");
	assert_int_equal(status_u64(j, "entries"), 2);
	assert_int_equal(status_u64(j, "bytes"), 2 * MANIFEST_BYTES);
	assert_int_equal(status_u64(j, "oldest_ms"), T2021 + 2);
	assert_true(json_object_object_get_ex(j, "by_class", &by_class));
	assert_int_equal(json_object_object_length(by_class), 5);
	assert_int_equal(status_u64(by_class, "metrics"), 0);
	assert_int_equal(status_u64(by_class, "logs"), 0);
	assert_int_equal(status_u64(by_class, "attributes"), 0);
	assert_int_equal(status_u64(by_class, "coredump"), 0);
	assert_int_equal(status_u64(by_class, "reboot"), 2);
	assert_true(json_object_object_get_ex(j, "drops", &drops));
	/* Only the classes that dropped something: metrics and coredump. */
	assert_int_equal(json_object_object_length(drops), 2);
	assert_false(json_object_object_get_ex(drops, "reboot", NULL));
	assert_true(json_object_object_get_ex(drops, "metrics", &m));
	assert_int_equal(json_object_object_length(m), 7);
	assert_int_equal(status_u64(m, "entries"), 2);
	assert_int_equal(status_u64(m, "bytes"), 0);
	assert_int_equal(status_u64(m, "free_space"), 0);
	assert_int_equal(status_u64(m, "age"), 0);
	assert_int_equal(status_u64(m, "rejected"), 0);
	assert_int_equal(status_u64(m, "invalid"), 0);
	assert_int_equal(status_u64(m, "write_error"), 0);
	assert_true(json_object_object_get_ex(drops, "coredump", &m));
	assert_int_equal(status_u64(m, "entries"), 1);
	assert_int_equal(status_u64(j, "drops_total"), 3);
	json_object_put(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types_and_names),
		cmocka_unit_test_setup_teardown(test_commit_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streamed_attachment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_name_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_and_failed_commit_leave_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_leftovers_removed_at_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_entries_removed_at_open, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_index_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evict_by_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evict_by_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_bytes_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_inodes_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evictions_counted_before_deletion, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drops_persist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_within_one_tick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drops_write_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsaved_drops_handed_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_storage_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streamed_write_failed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_drops_write_is_no_change, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_discard_does_not_rescan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chosen_uuid_commits_once, setup, teardown),
	};

	lc_log_set_ratelimit(false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
