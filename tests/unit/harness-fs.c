/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "harness-fs.h"
#include "tmpdir.h"

struct tree *tree_new(const char *name)
{
	struct tree *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->dir = test_tmpdir_new(name);
	if (!t->dir || asprintf(&t->root, "%s/root", t->dir) < 0 ||
	    asprintf(&t->state, "%s/state", t->dir) < 0) {
		tree_free(t);
		return NULL;
	}
	return t;
}

int tree_free(struct tree *t)
{
	int r;

	if (!t)
		return 0;
	r = test_tmpdir_free(t->dir);
	free(t->root);
	free(t->state);
	free(t);
	return r;
}

char *tree_path(const char *dir, const char *rel)
{
	char *path = lc_path_prefix(dir, rel);

	assert_non_null(path);
	return path;
}

void tree_write(const char *dir, const char *rel, const void *data, size_t len, mode_t mode)
{
	_cleanup_free_ char *path = tree_path(dir, rel), *parent = lc_path_dirname(path);
	_cleanup_close_ int fd = -1;

	assert_non_null(parent);
	assert_int_equal(lc_mkdir_p(parent, 0755), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		fail_msg("open %s: %s", path, strerror(errno));
	assert_int_equal(lc_write_all(fd, data, len), 0);
}

void tree_put(const char *dir, const char *rel, const char *text)
{
	tree_write(dir, rel, text, strlen(text), 0644);
}

void tree_putf(const char *dir, const char *rel, const char *fmt, ...)
{
	_cleanup_free_ char *text = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	tree_write(dir, rel, text, (size_t)n, 0644);
}

void tree_mkdir(const char *dir, const char *rel)
{
	_cleanup_free_ char *path = tree_path(dir, rel), *parent = lc_path_dirname(path);

	assert_non_null(parent);
	assert_int_equal(lc_mkdir_p(parent, 0755), 0);
	if (mkdir(path, 0755) < 0)
		fail_msg("mkdir %s: %s", path, strerror(errno));
}

bool tree_exists(const char *dir, const char *rel)
{
	_cleanup_free_ char *path = tree_path(dir, rel);
	struct stat st;

	return lstat(path, &st) == 0;
}

void tree_unlink(const char *dir, const char *rel)
{
	_cleanup_free_ char *path = tree_path(dir, rel);

	if (unlink(path) < 0)
		fail_msg("unlink %s: %s", path, strerror(errno));
}

void tree_remove(const char *dir, const char *rel)
{
	_cleanup_free_ char *path = tree_path(dir, rel);

	if (tree_exists(dir, rel) && test_tmpdir_remove(path) < 0)
		fail_msg("remove %s: %s", path, strerror(errno));
}

char *tree_read(const char *dir, const char *rel, size_t *ret_size)
{
	_cleanup_free_ char *path = tree_path(dir, rel);
	char *text = NULL;
	size_t size = 0;
	int r;

	r = lc_read_file(path, 1 << 20, &text, &size);
	if (r < 0)
		fail_msg("read %s: %s", path, strerror(-r));
	if (ret_size)
		*ret_size = size;
	return text;
}
