/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "procinfo.h"
#include "text.h"

static char *proc_path(const char *sysroot, pid_t pid, const char *name)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "/proc/%d/%s", (int)pid, name);
	return lc_path_prefix(sysroot, rel);
}

int proc_info_read(const char *sysroot, pid_t pid, struct proc_info *ret)
{
	struct proc_info p = { .mem_fd = -1 };
	_cleanup_free_ char *comm_path = proc_path(sysroot, pid, "comm");
	_cleanup_free_ char *exe_path = proc_path(sysroot, pid, "exe");
	_cleanup_free_ char *cmd_path = proc_path(sysroot, pid, "cmdline");
	_cleanup_free_ char *maps_path = proc_path(sysroot, pid, "maps");
	_cleanup_free_ char *mem_path = proc_path(sysroot, pid, "mem");
	_cleanup_free_ char *text = NULL;
	char link[PATH_MAX];
	size_t len;
	bool more;
	ssize_t n;

	if (!comm_path || !exe_path || !cmd_path || !maps_path || !mem_path)
		return -ENOMEM;
	if (lc_read_file_head(comm_path, 16, &text, &len, &more) >= 0) {
		len = strcspn(text, "\n");
		lc_text_scrub(text, len, LC_TEXT_KEEP_NEWLINE);
		memcpy(p.comm, text, len);
		free(text);
		text = NULL;
	}
	n = readlink(exe_path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		lc_text_scrub(link, (size_t)n, LC_TEXT_KEEP_NEWLINE);
		p.exe = strdup(link);
		if (!p.exe)
			goto oom;
	}
	if (lc_read_file_head(cmd_path, PROC_CMDLINE_MAX, &p.cmdline, &len, &more) >= 0) {
		while (len > 0 && p.cmdline[len - 1] == 0)
			len--;
		p.cmdline[len] = 0;
		lc_text_scrub(p.cmdline, len, LC_TEXT_KEEP_NEWLINE | LC_TEXT_NUL_AS_SPACE);
	}
	if (lc_read_file_head(maps_path, PROC_MAPS_MAX, &p.maps, &len, &p.maps_truncated) >= 0)
		lc_text_scrub(p.maps, len, LC_TEXT_KEEP_NEWLINE | LC_TEXT_NUL_AS_SPACE);
	p.mem_fd = open(mem_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	*ret = p;
	return 0;
oom:
	proc_info_done(&p);
	return -ENOMEM;
}

void proc_info_done(struct proc_info *p)
{
	free(p->exe);
	free(p->cmdline);
	free(p->maps);
	p->mem_fd = safe_close(p->mem_fd);
	*p = (struct proc_info){ .mem_fd = -1 };
}

int proc_mem_read(void *userdata, uint64_t addr, void *buf, size_t len)
{
	const struct proc_info *p = userdata;
	ssize_t n;

	if (p->mem_fd < 0)
		return -EBADF;
	if (addr > (uint64_t)INT64_MAX)
		return -EFAULT;
	do
		n = pread(p->mem_fd, buf, len, (off_t)addr);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}
