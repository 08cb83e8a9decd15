/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"
#include "tmpdir.h"

static char tmpdir[64];

static int setup(void **state)
{
	return test_tmpdir_make(tmpdir, sizeof(tmpdir), "fileio") ? 0 : -1;
}

static int teardown(void **state)
{
	return test_tmpdir_remove(tmpdir);
}

static char *path(const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", tmpdir, name) > 0);
	return p;
}

static void test_write_then_read(void **state)
{
	_cleanup_free_ char *p = path("a"), *buf = NULL;
	size_t size = 0;
	struct stat st;

	assert_int_equal(lc_write_file_atomic(p, "hello\n", 6, 0640), 0);
	assert_int_equal(lc_read_file(p, 100, &buf, &size), 0);
	assert_int_equal(size, 6);
	assert_string_equal(buf, "hello\n");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
}

static void test_replace_leaves_no_temporary(void **state)
{
	_cleanup_free_ char *p = path("b"), *buf = NULL;
	DIR *d;
	struct dirent *de;
	int n = 0;

	assert_int_equal(lc_write_file_atomic(p, "one", 3, 0600), 0);
	assert_int_equal(lc_write_file_atomic(p, "two!", 4, 0600), 0);
	assert_int_equal(lc_read_file(p, 100, &buf, NULL), 0);
	assert_string_equal(buf, "two!");

	d = opendir(tmpdir);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] == 'b')
			n++;
	closedir(d);
	assert_int_equal(n, 1);
}

static void test_write_into_missing_dir_fails_cleanly(void **state)
{
	_cleanup_free_ char *p = path("nodir/c");

	assert_int_equal(lc_write_file_atomic(p, "x", 1, 0600), -ENOENT);
}

static void test_read_limit(void **state)
{
	_cleanup_free_ char *p = path("big"), *buf = NULL;
	char data[5000];
	size_t size = 7;

	memset(data, 'x', sizeof(data));
	assert_int_equal(lc_write_file_atomic(p, data, sizeof(data), 0600), 0);
	assert_int_equal(lc_read_file(p, 4999, &buf, &size), -EFBIG);
	assert_null(buf);
	assert_int_equal(size, 7);
	assert_int_equal(lc_read_file(p, 5000, &buf, &size), 0);
	assert_int_equal(size, 5000);
}

static void test_read_pipe_limit(void **state)
{
	_cleanup_free_ char *buf = NULL;
	int fds[2];

	/* Pipes have no size up front: the limit must hold while reading. */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "0123456789", 10), 10);
	close(fds[1]);
	assert_int_equal(lc_read_fd(fds[0], 9, &buf, NULL), -EFBIG);
	close(fds[0]);
}

static void test_read_empty_and_errors(void **state)
{
	_cleanup_free_ char *p = path("empty"), *buf = NULL;
	size_t size = 1;

	assert_int_equal(lc_write_file_atomic(p, "", 0, 0600), 0);
	assert_int_equal(lc_read_file(p, 10, &buf, &size), 0);
	assert_int_equal(size, 0);
	assert_string_equal(buf, "");
	free(buf);
	buf = NULL;
	assert_int_equal(lc_read_file(tmpdir, 10, &buf, NULL), -EISDIR);
	assert_int_equal(lc_read_file("/nonexistent/x", 10, &buf, NULL), -ENOENT);
	assert_null(buf);
}

static void test_read_proc(void **state)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0;

	/* /proc files report size 0 and must still be read whole. */
	assert_int_equal(lc_read_file("/proc/self/stat", 4096, &buf, &size), 0);
	assert_true(size > 10);
}

static void test_mkdir_p(void **state)
{
	_cleanup_free_ char *p = path("x/y/z"), *f = path("file");
	_cleanup_free_ char *under_file = path("file/sub");
	struct stat st;

	assert_int_equal(lc_mkdir_p(p, 0700), 0);
	assert_int_equal(lc_mkdir_p(p, 0700), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(lc_write_file_atomic(f, "x", 1, 0600), 0);
	assert_int_equal(lc_mkdir_p(f, 0700), -ENOTDIR);
	assert_int_equal(lc_mkdir_p(under_file, 0700), -ENOTDIR);
	assert_int_equal(lc_mkdir_p("", 0700), -EINVAL);
}

static void test_path_dirname(void **state)
{
	const struct {
		const char *path, *expect;
	} cases[] = {
		{ "/run/faultd/faultd.sock", "/run/faultd" },
		{ "/runtime.conf", "/" },
		{ "runtime.conf", "." },
		{ "state/runtime.conf", "state" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *s = lc_path_dirname(cases[i].path);
		assert_string_equal(s, cases[i].expect);
	}
}

static void test_path_prefix(void **state)
{
	const struct {
		const char *root, *path, *expect;
	} cases[] = {
		{ NULL, "/proc/stat", "/proc/stat" },
		{ "", "/proc/stat", "/proc/stat" },
		{ "/", "/proc/stat", "/proc/stat" },
		{ "/tmp/root", "/proc/stat", "/tmp/root/proc/stat" },
		{ "/tmp/root//", "/proc/stat", "/tmp/root/proc/stat" },
		{ "/tmp/root", "proc/stat", "/tmp/root/proc/stat" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *s = lc_path_prefix(cases[i].root, cases[i].path);
		assert_string_equal(s, cases[i].expect);
	}
}

/* sysfs reports 4096 bytes for every attribute: the limit applies to what is read, not to that. */
static void test_read_sysfs_attribute(void **state)
{
	char *text = NULL;
	size_t len;
	int r;

	r = lc_read_file("/sys/class/net/lo/mtu", 16, &text, &len);
	if (r == -ENOENT)
		skip();
	assert_int_equal(r, 0);
	assert_true(len > 1 && len < 16 && text[len - 1] == '\n');
	free(text);
}

/* A FIFO where a file should be is refused at once, not waited on. */
static void test_read_refuses_fifo(void **state)
{
	char dir[64], path[96];
	char *text = NULL;

	assert_non_null(test_tmpdir_make(dir, sizeof(dir), "fifo"));
	snprintf(path, sizeof(path), "%s/hours.json", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(lc_read_file(path, 1024, &text, NULL), -EBADFD);
	assert_null(text);
	assert_int_equal(test_tmpdir_remove(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_then_read),
		cmocka_unit_test(test_read_sysfs_attribute),
		cmocka_unit_test(test_read_refuses_fifo),
		cmocka_unit_test(test_replace_leaves_no_temporary),
		cmocka_unit_test(test_write_into_missing_dir_fails_cleanly),
		cmocka_unit_test(test_read_limit),
		cmocka_unit_test(test_read_pipe_limit),
		cmocka_unit_test(test_read_empty_and_errors),
		cmocka_unit_test(test_read_proc),
		cmocka_unit_test(test_mkdir_p),
		cmocka_unit_test(test_path_dirname),
		cmocka_unit_test(test_path_prefix),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
