/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"

int lc_buf_reserve(char **buf, size_t *alloc, size_t size, size_t max)
{
	size_t want;
	char *p;

	if (size > max)
		return -EFBIG;
	if (*alloc - size >= 2)
		return 0;
	want = *alloc ? *alloc * 2 : 4096;
	if (want > max + 2)
		want = max + 2;
	if (want <= *alloc)
		return -EFBIG;
	p = realloc(*buf, want);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*alloc = want;
	return 0;
}

int lc_read_fd(int fd, size_t max, char **ret, size_t *ret_size)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, alloc = 0;
	int r;

	for (;;) {
		ssize_t n;

		r = lc_buf_reserve(&buf, &alloc, size, max);
		if (r < 0)
			return r;
		n = read(fd, buf + size, alloc - size - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		size += (size_t)n;
		if (size > max)
			return -EFBIG;
	}
	if (!buf) {
		buf = malloc(1);
		if (!buf)
			return -ENOMEM;
	}
	buf[size] = 0;
	*ret = TAKE_PTR(buf);
	if (ret_size)
		*ret_size = size;
	return 0;
}

/* Opens path for reading if it is a regular file: -EISDIR, -EBADFD for a FIFO, socket or device.
 * O_NONBLOCK: opening a FIFO planted where a file should be must not wait for a writer. */
static int open_regular(const char *path, int flags)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | flags);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	return TAKE_FD(fd);
}

int lc_read_file(const char *path, size_t max, char **ret, size_t *ret_size)
{
	_cleanup_close_ int fd = open_regular(path, 0);

	if (fd < 0)
		return fd;
	/* No early refusal by st_size: sysfs reports 4096 for every attribute, /proc reports 0.
	 * lc_read_fd() reads at most max + 1 bytes either way. */
	return lc_read_fd(fd, max, ret, ret_size);
}

int lc_read_file_head(const char *path, size_t max, char **ret, size_t *ret_size,
		      bool *ret_truncated)
{
	_cleanup_close_ int fd = open_regular(path, O_NOFOLLOW);
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, alloc = 0;
	bool truncated = false;
	ssize_t n;
	int r;

	if (fd < 0)
		return fd;
	while (size < max) {
		r = lc_buf_reserve(&buf, &alloc, size, max);
		if (r < 0)
			return r;
		n = read(fd, buf + size, MIN(alloc - size - 1, max - size));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		size += (size_t)n;
	}
	if (size == max) {
		char c;

		do
			n = read(fd, &c, 1);
		while (n < 0 && errno == EINTR);
		truncated = n > 0;
	}
	if (!buf) {
		buf = malloc(1);
		if (!buf)
			return -ENOMEM;
	}
	buf[size] = 0;
	*ret = TAKE_PTR(buf);
	*ret_size = size;
	*ret_truncated = truncated;
	return 0;
}

int lc_fsync_dir(const char *path)
{
	_cleanup_close_ int fd = -1;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (fsync(fd) < 0)
		return negative_errno();
	return 0;
}

int lc_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

char *lc_path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

int lc_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	_cleanup_free_ char *tmp = NULL, *dir = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	dir = lc_path_dirname(path);
	if (!dir)
		return -ENOMEM;
	if (asprintf(&tmp, "%s.tmpXXXXXX", path) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (fchmod(fd, mode) < 0) {
		r = negative_errno();
		goto fail;
	}
	r = lc_write_all(fd, data, len);
	if (r < 0)
		goto fail;
	if (fsync(fd) < 0) {
		r = negative_errno();
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		r = negative_errno();
		goto fail;
	}
	return lc_fsync_dir(dir);
fail:
	(void)unlink(tmp);
	return r;
}

int lc_mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = strdup(path);
	size_t len;

	if (!p)
		return -ENOMEM;
	len = strlen(p);
	if (len == 0)
		return -EINVAL;

	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != 0)
			continue;
		p[i] = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return negative_errno();
		if (i < len)
			p[i] = '/';
	}

	struct stat st;
	if (stat(path, &st) < 0)
		return negative_errno();
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

char *lc_path_prefix(const char *root, const char *path)
{
	char *s;
	size_t n;

	if (!root || !root[0] || streq(root, "/"))
		return strdup(path);
	n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		n--;
	if (asprintf(&s, "%.*s%s%s", (int)n, root, path[0] == '/' ? "" : "/", path) < 0)
		return NULL;
	return s;
}
