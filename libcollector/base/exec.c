/* SPDX-License-Identifier: MIT */
/*
 * lc_run_capture(): one helper command, bounded in time and output, never left behind.
 *
 * The command runs in its own process group so that a timeout or an output overflow can kill
 * whatever it started (a pipeline, a backgrounded grandchild holding stdout open) with a single
 * killpg(). The group leader is reaped only after that kill: while it is an unreaped zombie its
 * pid, and hence the group id, cannot be reused by an unrelated process. The group is killed on
 * every path, a clean exit included, so nothing the command left running in its group outlives the
 * call (a process that made itself a new session or group escapes, as it would any supervisor).
 * The time limit covers both reading stdout and waiting for the exit.
 *
 * posix_spawn() rather than fork(): the daemon may have libuv work-queue threads, and with
 * posix_spawn the C library sets the process group, signal dispositions and mask in the child
 * before it returns, so there is no window in which killpg() could miss the child.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "clock.h"
#include "exec.h"
#include "fileio.h"
#include "macro.h"

/* Upper bound of the sleep between checks while waiting for a command that closed stdout. */
#define EXIT_POLL_MAX_MS 32

/* The service manager's variables for the daemon itself: a command must not talk to it in the
 * daemon's name (under NotifyAccess=main systemd logs and drops what a child sends). */
static bool is_daemon_only(const char *entry)
{
	static const char *const names[] = { "NOTIFY_SOCKET=", "WATCHDOG_PID=", "WATCHDOG_USEC=" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strncmp(entry, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

/* environ without the daemon-only variables; the strings are borrowed. NULL on OOM. */
static char **command_environment(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!is_daemon_only(environ[i]))
			env[k++] = environ[i];
	return env;
}

/* Starts `/bin/sh -c command` in a new process group with stdout on out_fd; returns 0 or -errno. */
static int spawn_shell(const char *command, int out_fd, pid_t *ret_pid)
{
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)command, NULL };
	_cleanup_free_ char **env = command_environment();
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	pid_t pid;
	int r;

	if (!env)
		return -ENOMEM;
	r = posix_spawn_file_actions_init(&fa);
	if (r != 0)
		return -r;
	r = posix_spawnattr_init(&attr);
	if (r != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -r;
	}

	/* stdout first: should out_fd be 0, opening /dev/null on 0 must come after the dup2(). A
	 * dup2() onto the same number clears close-on-exec (POSIX.1-2017). */
	sigfillset(&all);
	sigemptyset(&none);
	r = posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	if (r == 0)
		r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	/* The daemon ignores SIGPIPE and may block signals; a shell script must see the defaults.
	 * (glibc leaves its two reserved signals below SIGRTMIN ignored; the C library of the new
	 * program re-arms them, and nothing else sends them.) */
	if (r == 0)
		r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
							    POSIX_SPAWN_SETSIGMASK);
	if (r == 0)
		r = posix_spawnattr_setpgroup(&attr, 0);
	if (r == 0)
		r = posix_spawnattr_setsigdefault(&attr, &all);
	if (r == 0)
		r = posix_spawnattr_setsigmask(&attr, &none);
	if (r == 0)
		r = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, env);

	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -r;
	*ret_pid = pid;
	return 0;
}

/*
 * Reads fd until end of file, at most max bytes, before deadline (CLOCK_MONOTONIC ms). Returns 0
 * with *ret (NUL-terminated, owned) and *ret_size; -EFBIG on more than max bytes; -ETIMEDOUT.
 */
static int read_bounded(int fd, size_t max, uint64_t deadline, char **ret, size_t *ret_size)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, alloc = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now;
		ssize_t n;
		int k;

		/* Room for one byte more than max (proof of overflow) plus the terminating NUL. */
		k = lc_buf_reserve(&buf, &alloc, size, max);
		if (k < 0)
			return k;

		now = lc_clock_ms(CLOCK_MONOTONIC);
		if (now >= deadline)
			return -ETIMEDOUT;
		k = poll(&pfd, 1, (int)MIN(deadline - now, (uint64_t)INT_MAX));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (k == 0)
			continue; /* the deadline check above decides */

		n = read(fd, buf + size, alloc - size - 1);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		size += (size_t)n;
		if (size > max)
			return -EFBIG;
	}

	buf[size] = 0;
	*ret = TAKE_PTR(buf);
	*ret_size = size;
	return 0;
}

/* Waits until pid has exited, without reaping it, or until deadline; 0 or -ETIMEDOUT/-errno. */
static int wait_exited(pid_t pid, uint64_t deadline)
{
	unsigned step = 1;

	for (;;) {
		siginfo_t si = { 0 };
		uint64_t now;

		/* WNOWAIT leaves the zombie in place so its group id stays reserved for killpg().
		 */
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (si.si_pid == pid)
			return 0;

		now = lc_clock_ms(CLOCK_MONOTONIC);
		if (now >= deadline)
			return -ETIMEDOUT;

		/* Stdout is closed already, so this is normally the last few instructions of the
		 * command: start polling fast, back off to a small bound. */
		uint64_t ms = MIN((uint64_t)step, deadline - now);
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)ms * 1000000L };
		(void)nanosleep(&ts, NULL); /* EINTR just means checking again sooner */
		step = MIN(step * 2, (unsigned)EXIT_POLL_MAX_MS);
	}
}

/* Kills what is left of pid's process group and reaps pid; returns its wait status or -errno. */
static int kill_and_reap(pid_t pid)
{
	int status;

	/* ESRCH (nothing left) is the usual case after a clean exit. */
	(void)killpg(pid, SIGKILL);
	for (;;) {
		if (waitpid(pid, &status, 0) >= 0)
			return status;
		if (errno != EINTR)
			return negative_errno();
	}
}

int lc_run_capture(const char *command, unsigned timeout_ms, size_t max_output, char **ret_output,
		   int *ret_status)
{
	_cleanup_close_ int read_fd = -1, write_fd = -1;
	_cleanup_free_ char *out = NULL;
	uint64_t deadline;
	size_t size = 0;
	int pipefd[2], r, status;
	pid_t pid;

	if (!command || !command[0] || timeout_ms == 0 || max_output > (size_t)SSIZE_MAX - 2 ||
	    !ret_output || !ret_status)
		return -EINVAL;

	deadline = lc_clock_ms(CLOCK_MONOTONIC) + timeout_ms;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return negative_errno();
	read_fd = pipefd[0];
	write_fd = pipefd[1];

	r = spawn_shell(command, write_fd, &pid);
	/* Our copy of the write end must go, or end of file never comes. */
	write_fd = safe_close(write_fd);
	if (r < 0)
		return r;

	r = read_bounded(read_fd, max_output, deadline, &out, &size);
	read_fd = safe_close(read_fd);
	if (r == 0)
		r = wait_exited(pid, deadline);

	/* Every path reaps the child; anything it left running in its group dies with it. */
	status = kill_and_reap(pid);
	if (r < 0)
		return r;
	if (status < 0)
		return status;
	/* The output is returned as a C string: a NUL byte would silently cut it short. */
	if (memchr(out, 0, size))
		return -EBADMSG;

	*ret_output = TAKE_PTR(out);
	*ret_status = status;
	return 0;
}
