/* SPDX-License-Identifier: MIT */
/*
 * rusage-run: runs a program and writes what it cost, for bench/coredump.py.
 *
 *     rusage-run [-l] RESULT PROGRAM [ARG...]
 *
 * Forks, executes PROGRAM with the standard streams and every other open descriptor inherited,
 * waits for it with wait4(2) and writes one line to RESULT:
 *
 *     start_ns end_ns user_us sys_us maxrss_kib exit
 *
 * (CLOCK_MONOTONIC before the fork and after the wait; exit: the exit code, or 128 + the signal
 * that ended it). ru_maxrss is the peak over the
 * child's whole life, including the copy of its parent it was before exec, so the parent must be
 * small: this program, linked statically, not the Python benchmark that starts it. -l sets
 * LISTEN_PID to the child's own pid, as systemd does for a socket-activated service.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int listen_pid = 0, status, code;
	const char *result;
	FILE *f;
	pid_t pid;

	if (argc > 1 && strcmp(argv[1], "-l") == 0) {
		listen_pid = 1;
		argv++;
		argc--;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: rusage-run [-l] RESULT PROGRAM [ARG...]\n");
		return 2;
	}
	result = argv[1];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("rusage-run: fork");
		return 1;
	}
	if (pid == 0) {
		if (listen_pid) {
			char buf[16];
			snprintf(buf, sizeof(buf), "%d", (int)getpid());
			setenv("LISTEN_PID", buf, 1);
		}
		execvp(argv[2], argv + 2);
		fprintf(stderr, "rusage-run: %s: %m\n", argv[2]);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("rusage-run: wait4");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	f = fopen(result, "w");
	if (!f) {
		fprintf(stderr, "rusage-run: %s: %m\n", result);
		return 1;
	}
	fprintf(f, "%lld %lld %lld %lld %ld %d\n", (long long)t0.tv_sec * 1000000000LL + t0.tv_nsec,
		(long long)t1.tv_sec * 1000000000LL + t1.tv_nsec,
		(long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec,
		(long long)ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec, ru.ru_maxrss,
		code);
	return fclose(f) == 0 ? 0 : 1;
}
