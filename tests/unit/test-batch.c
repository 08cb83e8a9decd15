/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "batch.h"
#include "harness-fs.h"
#include "macro.h"
#include "tmpdir.h"

#define UUID_A	 "0b9c4a8e-0000-4000-8000-00000000000a"
#define UUID_B	 "0b9c4a8e-0000-4000-8000-00000000000b"
#define UUID_C	 "0b9c4a8e-0000-4000-8000-00000000000c"
#define DIR_A	 "1700000000000_elf-coredump_" UUID_A
#define DIR_B	 "1700000000001_linux-reboot_" UUID_B
#define DIR_C	 "1700000000002_device-attributes_" UUID_C

#define BIG_SIZE (200 * 1024)

/* An independent reader checks the archive: argv is the zip, then "member=source" in order. */
static const char verify_py[] =
	"import sys, zipfile\n"
	"z = zipfile.ZipFile(sys.argv[1])\n"
	"assert z.testzip() is None, 'CRC mismatch'\n"
	"want = [a.split('=', 1) for a in sys.argv[2:]]\n"
	"infos = z.infolist()\n"
	"assert [i.filename for i in infos] == [w[0] for w in want], [i.filename for i in infos]\n"
	"for i, (name, src) in zip(infos, want):\n"
	"    assert i.compress_type == zipfile.ZIP_STORED, name\n"
	"    assert i.flag_bits == 0, name\n"
	"    assert i.create_system == 3 and i.external_attr >> 16 == 0o100644, name\n"
	"    assert i.date_time == (1980, 1, 1, 0, 0, 0), name\n"
	"    assert z.read(i) == open(src, 'rb').read(), name\n";

static int setup(void **state)
{
	*state = test_tmpdir_new("batch");
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	return test_tmpdir_free(*state);
}

/* Writes spool/dirname/name with data in place, creating the entry directory. */
static void put_file(const char *spool, const char *dirname, const char *name, const void *data,
		     size_t len)
{
	_cleanup_free_ char *dir = tree_path(spool, dirname);

	tree_write(dir, name, data, len, 0600);
}

static void put_manifest(const char *spool, const char *dirname, const char *uuid)
{
	_cleanup_free_ char *m = NULL;

	assert_true(asprintf(&m, "{\"type\": \"linux-reboot\", \"uuid\": \"%s\"}\n", uuid) > 0);
	put_file(spool, dirname, "manifest.json", m, strlen(m));
}

/* Bytes that are neither text nor compressible, every value present. */
static uint8_t *big_data(void)
{
	uint8_t *d = malloc(BIG_SIZE);
	uint32_t x = 12345;

	assert_non_null(d);
	for (size_t i = 0; i < BIG_SIZE; i++) {
		x = x * 1103515245 + 12345;
		d[i] = (uint8_t)(x >> 16);
	}
	return d;
}

/* Reads the whole batch in chunks of chunk bytes; returns the bytes, *ret_len their count. */
static uint8_t *stream(struct lc_batch *b, size_t chunk, size_t *ret_len)
{
	_cleanup_free_ uint8_t *tmp = malloc(chunk);
	uint8_t *all = NULL;
	size_t len = 0, alloc = 0;
	ssize_t n;

	assert_non_null(tmp);
	while ((n = lc_batch_read(b, tmp, chunk)) > 0) {
		assert_true((size_t)n <= chunk);
		if (len + (size_t)n > alloc) {
			alloc = MAX(alloc * 2, len + (size_t)n);
			all = realloc(all, alloc);
			assert_non_null(all);
		}
		memcpy(all + len, tmp, (size_t)n);
		len += (size_t)n;
	}
	assert_int_equal(n, 0);
	/* The end stays the end. */
	assert_int_equal(lc_batch_read(b, tmp, chunk), 0);
	*ret_len = len;
	return all;
}

/* Reads until an error or the end; returns the error, or 0 at the end. */
static ssize_t drain(struct lc_batch *b, size_t chunk)
{
	_cleanup_free_ uint8_t *tmp = malloc(chunk);
	ssize_t n;

	assert_non_null(tmp);
	while ((n = lc_batch_read(b, tmp, chunk)) > 0)
		;
	return n;
}

static int run(char **argv)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Checks the zip file at path with Python's zipfile and, when installed, unzip -t. */
static void verify_zip(const char *path, char **members, size_t n)
{
	char *argv[3 + 1 + 64 + 1] = { "python3", "-c", (char *)verify_py, (char *)path };

	assert_true(n <= 64);
	for (size_t i = 0; i < n; i++)
		argv[4 + i] = members[i];
	assert_int_equal(run(argv), 0);

	if (access("/usr/bin/unzip", X_OK) == 0 && n > 0) {
		char *unzip[] = { "/usr/bin/unzip", "-tqq", (char *)path, NULL };

		assert_int_equal(run(unzip), 0);
	}
}

/* Size of a batch from the formula in docs/batches.md, for members named and sized so. */
static uint64_t expected_size(const char *const *names, const size_t *sizes, size_t n)
{
	uint64_t s = 22;

	for (size_t i = 0; i < n; i++)
		s += 30 + strlen(names[i]) + sizes[i] + 46 + strlen(names[i]);
	return s;
}

/* Three entries: a binary attachment and a text one, a lone manifest, an empty attachment. */
static void make_spool(const char *spool, const uint8_t *big)
{
	put_manifest(spool, DIR_A, UUID_A);
	put_file(spool, DIR_A, "coredump.elf.gz", big, BIG_SIZE);
	put_file(spool, DIR_A, "a-log.txt", "hello\n", 6);
	put_manifest(spool, DIR_B, UUID_B);
	put_manifest(spool, DIR_C, UUID_C);
	put_file(spool, DIR_C, "empty.bin", "", 0);
	put_file(spool, DIR_C, "Z.txt", "zz", 2);
}

static void test_stream_is_a_valid_zip(void **state)
{
	const char *spool = *state;
	_cleanup_free_ uint8_t *big = big_data(), *first = NULL;
	_cleanup_free_ char *out = tree_path(spool, "out.zip");
	struct lc_batch *b = NULL;
	size_t first_len = 0;
	const size_t chunks[] = { 1, 7, 4096, 1024 * 1024 };
	/* manifest.json first, then the rest in byte order ("Z" < "e"). */
	const char *const names[] = {
		UUID_A "/manifest.json", UUID_A "/a-log.txt",	  UUID_A "/coredump.elf.gz",
		UUID_B "/manifest.json", UUID_C "/manifest.json", UUID_C "/Z.txt",
		UUID_C "/empty.bin",
	};
	const char *const sources[] = {
		DIR_A "/manifest.json", DIR_A "/a-log.txt",	DIR_A "/coredump.elf.gz",
		DIR_B "/manifest.json", DIR_C "/manifest.json", DIR_C "/Z.txt",
		DIR_C "/empty.bin",
	};
	size_t sizes[ARRAY_SIZE(names)];
	char *members[ARRAY_SIZE(names)];

	make_spool(spool, big);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		_cleanup_free_ char *src = tree_path(spool, sources[i]);
		struct stat st;

		assert_int_equal(stat(src, &st), 0);
		sizes[i] = (size_t)st.st_size;
		assert_true(asprintf(&members[i], "%s=%s", names[i], src) > 0);
	}

	assert_int_equal(lc_batch_new(spool, &b), 0);
	assert_int_equal(lc_batch_add_entry(b, DIR_A, UUID_A, 10 * 1024 * 1024), 0);
	assert_int_equal(lc_batch_add_entry(b, DIR_B, UUID_B, 10 * 1024 * 1024), 0);
	assert_int_equal(lc_batch_add_entry(b, DIR_C, UUID_C, 10 * 1024 * 1024), 0);
	assert_int_equal(lc_batch_n_entries(b), 3);
	assert_string_equal(lc_batch_entry_uuid(b, 0), UUID_A);
	assert_string_equal(lc_batch_entry_uuid(b, 1), UUID_B);
	assert_string_equal(lc_batch_entry_uuid(b, 2), UUID_C);
	assert_null(lc_batch_entry_uuid(b, 3));
	assert_int_equal(lc_batch_size(b), expected_size(names, sizes, ARRAY_SIZE(names)));

	for (size_t i = 0; i < ARRAY_SIZE(chunks); i++) {
		_cleanup_free_ uint8_t *data = NULL;
		size_t len = 0;

		assert_int_equal(lc_batch_rewind(b), 0);
		data = stream(b, chunks[i], &len);
		assert_int_equal(len, lc_batch_size(b));
		if (!first) {
			first = TAKE_PTR(data);
			first_len = len;
		} else {
			assert_memory_equal(data, first, len);
		}
	}
	/* The one 200 KiB attachment is stored, not compressed. */
	assert_true(first_len > BIG_SIZE);

	tree_write(spool, "out.zip", first, first_len, 0600);
	verify_zip(out, members, ARRAY_SIZE(members));
	for (size_t i = 0; i < ARRAY_SIZE(members); i++)
		free(members[i]);
	lc_batch_free(b);
}

static void test_empty_batch(void **state)
{
	const char *spool = *state;
	_cleanup_free_ char *out = tree_path(spool, "empty.zip");
	_cleanup_free_ uint8_t *data = NULL;
	const uint8_t end[22] = { 0x50, 0x4b, 0x05, 0x06 };
	struct lc_batch *b = NULL;
	size_t len = 0;

	assert_int_equal(lc_batch_new(spool, &b), 0);
	assert_int_equal(lc_batch_n_entries(b), 0);
	assert_int_equal(lc_batch_size(b), 22);
	data = stream(b, 5, &len);
	assert_int_equal(len, 22);
	assert_memory_equal(data, end, sizeof(end));
	tree_write(spool, "empty.zip", data, len, 0600);
	verify_zip(out, NULL, 0);
	assert_null(lc_batch_free(b));
	assert_null(lc_batch_free(NULL));
}

static void test_bad_entries(void **state)
{
	const char *spool = *state;
	_cleanup_free_ char *subdir = tree_path(spool, "sub/dir");
	_cleanup_free_ char *link = tree_path(spool, "link/link.txt");
	struct lc_batch *b = NULL;

	put_manifest(spool, "good", UUID_A);
	put_file(spool, "nomanifest", "log.txt", "x", 1);
	put_manifest(spool, "sub", UUID_A);
	assert_int_equal(mkdir(subdir, 0700), 0);
	put_manifest(spool, "link", UUID_A);
	assert_int_equal(symlink("manifest.json", link), 0);
	put_manifest(spool, "badname", UUID_A);
	put_file(spool, "badname", "a b.txt", "x", 1);
	put_manifest(spool, "many", UUID_A);
	for (int i = 0; i < 64; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%02d", i);
		put_file(spool, "many", name, "x", 1);
	}

	assert_int_equal(lc_batch_new(spool, &b), 0);
	assert_int_equal(lc_batch_add_entry(b, "missing", UUID_A, UINT64_MAX), -ENOENT);
	assert_int_equal(lc_batch_add_entry(b, "nomanifest", UUID_A, UINT64_MAX), -EBADMSG);
	assert_int_equal(lc_batch_add_entry(b, "sub", UUID_A, UINT64_MAX), -EBADMSG);
	assert_int_equal(lc_batch_add_entry(b, "link", UUID_A, UINT64_MAX), -EBADMSG);
	assert_int_equal(lc_batch_add_entry(b, "badname", UUID_A, UINT64_MAX), -EBADMSG);
	/* 65 files, one past the limit. */
	assert_int_equal(lc_batch_add_entry(b, "many", UUID_A, UINT64_MAX), -EBADMSG);
	/* Names that would escape the spool or the member folder. */
	assert_int_equal(lc_batch_add_entry(b, "../good", UUID_A, UINT64_MAX), -EINVAL);
	assert_int_equal(lc_batch_add_entry(b, "..", UUID_A, UINT64_MAX), -EINVAL);
	assert_int_equal(lc_batch_add_entry(b, "good", "a/b", UINT64_MAX), -EINVAL);
	assert_int_equal(lc_batch_add_entry(b, "good", "", UINT64_MAX), -EINVAL);
	assert_int_equal(lc_batch_n_entries(b), 0);
	assert_int_equal(lc_batch_size(b), 22);

	assert_int_equal(lc_batch_add_entry(b, "good", UUID_A, UINT64_MAX), 0);
	assert_int_equal(lc_batch_n_entries(b), 1);
	lc_batch_free(b);
}

static void test_too_large_for_zip(void **state)
{
	const char *spool = *state;
	_cleanup_free_ char *dir = tree_path(spool, "huge");
	_cleanup_free_ char *p = tree_path(dir, "core");
	_cleanup_close_ int fd = -1;
	struct lc_batch *b = NULL;

	/* A sparse file of exactly 0xffffffff bytes needs ZIP64; it is refused before reading. */
	put_manifest(spool, "huge", UUID_A);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)UINT32_MAX), 0);
	assert_int_equal(lc_batch_new(spool, &b), 0);
	assert_int_equal(lc_batch_add_entry(b, "huge", UUID_A, UINT64_MAX), -EFBIG);
	assert_int_equal(lc_batch_n_entries(b), 0);
	lc_batch_free(b);
}

static void test_max_bytes(void **state)
{
	const char *spool = *state;
	_cleanup_free_ uint8_t *big = big_data();
	struct lc_batch *b = NULL;
	uint64_t size_a, size_b, both;

	make_spool(spool, big);

	/* Sizes alone, then together: a second entry adds its members but not another end record.
	 */
	assert_int_equal(lc_batch_new(spool, &b), 0);
	assert_int_equal(lc_batch_add_entry(b, DIR_B, UUID_B, UINT64_MAX), 0);
	size_b = lc_batch_size(b);
	b = lc_batch_free(b);
	assert_int_equal(lc_batch_new(spool, &b), 0);
	assert_int_equal(lc_batch_add_entry(b, DIR_A, UUID_A, UINT64_MAX), 0);
	size_a = lc_batch_size(b);
	both = size_a + size_b - 22;
	b = lc_batch_free(b);

	/* An oversize entry travels alone; nothing joins it. */
	assert_int_equal(lc_batch_new(spool, &b), 0);
	assert_int_equal(lc_batch_add_entry(b, DIR_A, UUID_A, 1000), 0);
	assert_int_equal(lc_batch_size(b), size_a);
	assert_int_equal(lc_batch_add_entry(b, DIR_B, UUID_B, 1000), -E2BIG);
	assert_int_equal(lc_batch_n_entries(b), 1);
	assert_int_equal(lc_batch_size(b), size_a);
	b = lc_batch_free(b);

	/* The limit is inclusive: exactly max_bytes fits, one byte less does not. */
	assert_int_equal(lc_batch_new(spool, &b), 0);
	assert_int_equal(lc_batch_add_entry(b, DIR_A, UUID_A, both), 0);
	assert_int_equal(lc_batch_add_entry(b, DIR_B, UUID_B, both - 1), -E2BIG);
	assert_int_equal(lc_batch_n_entries(b), 1);
	assert_int_equal(lc_batch_size(b), size_a);
	assert_int_equal(lc_batch_add_entry(b, DIR_B, UUID_B, both), 0);
	assert_int_equal(lc_batch_n_entries(b), 2);
	assert_int_equal(lc_batch_size(b), both);
	lc_batch_free(b);
}

static void test_changed_files_are_stale(void **state)
{
	const char *spool = *state;
	_cleanup_free_ uint8_t *big = big_data(), *data = NULL;
	_cleanup_free_ char *dir = tree_path(spool, DIR_A);
	_cleanup_free_ char *core = tree_path(dir, "coredump.elf.gz");
	struct lc_batch *b = NULL;
	uint8_t byte;
	size_t len = 0;

	make_spool(spool, big);
	assert_int_equal(lc_batch_new(spool, &b), 0);
	assert_int_equal(lc_batch_add_entry(b, DIR_A, UUID_A, UINT64_MAX), 0);
	assert_int_equal(lc_batch_add_entry(b, DIR_C, UUID_C, UINT64_MAX), 0);

	/* Same size, one byte different: only the CRC can tell. */
	big[BIG_SIZE / 2] ^= 1;
	put_file(spool, DIR_A, "coredump.elf.gz", big, BIG_SIZE);
	assert_int_equal(drain(b, 4096), -ESTALE);
	/* The error sticks until a rewind. */
	assert_int_equal(lc_batch_read(b, &byte, 1), -ESTALE);

	/* Restored, the same batch reads whole again. */
	big[BIG_SIZE / 2] ^= 1;
	put_file(spool, DIR_A, "coredump.elf.gz", big, BIG_SIZE);
	assert_int_equal(lc_batch_rewind(b), 0);
	data = stream(b, 4096, &len);
	assert_int_equal(len, lc_batch_size(b));

	/* Truncated, then grown. */
	assert_int_equal(truncate(core, BIG_SIZE - 1), 0);
	assert_int_equal(lc_batch_rewind(b), 0);
	assert_int_equal(drain(b, 7), -ESTALE);
	put_file(spool, DIR_A, "coredump.elf.gz", big, BIG_SIZE);
	put_file(spool, DIR_C, "empty.bin", "x", 1);
	assert_int_equal(lc_batch_rewind(b), 0);
	assert_int_equal(drain(b, 1024 * 1024), -ESTALE);

	/* Gone. */
	put_file(spool, DIR_C, "empty.bin", "", 0);
	assert_int_equal(lc_batch_rewind(b), 0);
	assert_int_equal(drain(b, 1024 * 1024), 0);
	assert_int_equal(unlink(core), 0);
	assert_int_equal(lc_batch_rewind(b), 0);
	assert_int_equal(drain(b, 1024 * 1024), -ESTALE);
	lc_batch_free(b);
}

static void test_rewind(void **state)
{
	const char *spool = *state;
	_cleanup_free_ uint8_t *big = big_data(), *whole = NULL, *again = NULL;
	_cleanup_free_ uint8_t *part = malloc(70000);
	struct lc_batch *b = NULL;
	size_t whole_len = 0, again_len = 0;

	assert_non_null(part);
	make_spool(spool, big);
	assert_int_equal(lc_batch_new(spool, &b), 0);
	assert_int_equal(lc_batch_add_entry(b, DIR_A, UUID_A, UINT64_MAX), 0);
	assert_int_equal(lc_batch_add_entry(b, DIR_C, UUID_C, UINT64_MAX), 0);
	whole = stream(b, 4096, &whole_len);

	/* Stopped in the middle of a file's data, then restarted (curl's seek to 0). */
	assert_int_equal(lc_batch_rewind(b), 0);
	assert_int_equal(lc_batch_read(b, part, 70000), 70000);
	assert_memory_equal(part, whole, 70000);
	/* Entries cannot change under a read in progress. */
	assert_int_equal(lc_batch_add_entry(b, DIR_B, UUID_B, UINT64_MAX), -EBUSY);
	assert_int_equal(lc_batch_rewind(b), 0);
	again = stream(b, 1000, &again_len);
	assert_int_equal(again_len, whole_len);
	assert_memory_equal(again, whole, whole_len);
	lc_batch_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stream_is_a_valid_zip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large_for_zip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_files_are_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewind, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
