/* SPDX-License-Identifier: MIT */
/*
 * pipe-drain: empties standard input (a pipe) and throws the bytes away, the floor of
 * bench/coredump.py: what taking a core off the kernel's pipe costs before anything is done with
 * it.
 *
 *     pipe-drain splice|read
 *
 * splice: moves the pipe's pages to /dev/null with splice(2), never copying them into this
 * process (what faultd-core-handler does with the parts of a core it skips); read: read(2) into a
 * 128 KiB buffer, as cat(1) does. Prints the number of bytes drained.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char buf[128 * 1024];
	unsigned long long total = 0;
	int use_splice, null_fd;
	ssize_t k;

	if (argc != 2 || (strcmp(argv[1], "splice") != 0 && strcmp(argv[1], "read") != 0)) {
		fprintf(stderr, "usage: pipe-drain splice|read\n");
		return 2;
	}
	use_splice = strcmp(argv[1], "splice") == 0;
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null_fd < 0) {
		perror("pipe-drain: /dev/null");
		return 1;
	}
	for (;;) {
		if (use_splice)
			k = splice(STDIN_FILENO, NULL, null_fd, NULL, 1 << 20, SPLICE_F_MOVE);
		else
			k = read(STDIN_FILENO, buf, sizeof(buf));
		if (k == 0)
			break;
		if (k < 0) {
			perror(use_splice ? "pipe-drain: splice" : "pipe-drain: read");
			return 1;
		}
		total += (unsigned long long)k;
	}
	printf("%llu\n", total);
	return 0;
}
