/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "fuzz-util.h"
#include "log.h"

static char *dir;

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

static void remove_dir(void)
{
	if (dir)
		nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
	dir = NULL;
}

const char *fuzz_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	if (dir)
		return dir;
	if (asprintf(&dir, "%s/faultd-fuzz-XXXXXX", tmp && tmp[0] ? tmp : "/tmp") < 0 ||
	    !mkdtemp(dir)) {
		perror("fuzz: cannot create a scratch directory");
		abort();
	}
	atexit(remove_dir);
	return dir;
}

char *fuzz_path(const char *rel)
{
	char *p;

	if (asprintf(&p, "%s/%s", fuzz_dir(), rel) < 0)
		abort();
	return p;
}

void fuzz_mkdir(const char *rel)
{
	char *p = fuzz_path(rel);

	for (char *s = p + strlen(fuzz_dir()) + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;

		*s = 0;
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			perror(p);
			abort();
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
}

void fuzz_write(const char *path, const void *data, size_t size)
{
	const char *p = data;
	int fd;

	/* A new file each time: ext4 flushes a file truncated to zero when it is closed. */
	if (unlink(path) < 0 && errno != ENOENT) {
		perror(path);
		abort();
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(path);
		abort();
	}
	while (size > 0) {
		ssize_t n = write(fd, p, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror(path);
			abort();
		}
		p += n;
		size -= (size_t)n;
	}
	if (close(fd) < 0) {
		perror(path);
		abort();
	}
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;
	return s;
}

void fuzz_quiet(void)
{
	lc_log_set_max_level(LOG_CRIT);
}
