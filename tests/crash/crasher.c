/* SPDX-License-Identifier: MIT */
/*
 * A program that crashes on purpose, for tests/integration/test_coredump.py: the test compares
 * gdb's backtraces of its full core with those of the core faultd-core-handler trims from it.
 *
 *   crasher segv|abort|park
 *
 * Five threads besides main, each parked at a known depth in functions of its own before anything
 * crashes: "alpha" (plain recursion), "beta" (through libcrashlib and back into this program),
 * "gamma" (a chain with arguments of several types), "deep" (300 frames of 1 KiB each, deeper than
 * the handler's default stack window) and "crasher". Once every thread sleeps, main prints one
 * JSON line with the pid and each thread's tid (the LWP ids gdb shows), then joins "crasher".
 * Once main sleeps too, "crasher" reads one byte (or end of file) from stdin, so that a test can
 * copy /proc/<pid> first, and crashes with SIGSEGV (an invalid write) or SIGABRT (abort()): every
 * other thread is then asleep at a known place. With "park" it never crashes: it sleeps like the
 * others so that gcore can take a core of the live process.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "crashlib.h"

enum mode { MODE_SEGV, MODE_ABORT, MODE_PARK };

enum role { ROLE_ALPHA, ROLE_BETA, ROLE_GAMMA, ROLE_DEEP, ROLE_CRASHER, N_ROLES };

static const char *const role_names[N_ROLES] = { "alpha", "beta", "gamma", "deep", "crasher" };

#define DEEP_FRAMES    300
#define THREAD_STACK   (2 * 1024 * 1024)
#define SLEEP_WAIT_MAX 10000 /* ms for a thread to be asleep once it said it is ready */

struct gamma_point {
	int x;
	int y;
	const char *label;
};

static sem_t ready_sem;
static sem_t go_sem;
static pid_t main_tid;
static pid_t role_tids[N_ROLES];
static enum mode crash_mode;
/* Not a constant the compiler could reason about: the write below must really happen. */
static volatile uintptr_t invalid_address = 16;

static pid_t current_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Records the calling thread as role and tells main it reached its parking place. */
static void thread_ready(enum role role)
{
	role_tids[role] = current_tid();
	if (sem_post(&ready_sem) < 0)
		abort();
}

static void park(void)
{
	for (;;)
		pause();
}

static long alpha_recurse(int depth, long tag)
{
	volatile long here = tag;

	if (depth == 0) {
		thread_ready(ROLE_ALPHA);
		park();
		return here;
	}
	return alpha_recurse(depth - 1, tag * 3 + depth) + here;
}

static void *alpha_thread(void *arg)
{
	alpha_recurse(6, 0x1000);
	return arg;
}

/* Called back from inside libcrashlib. */
static void beta_leaf(int level, long cookie)
{
	volatile long seen = cookie + level;

	thread_ready(ROLE_BETA);
	park();
	(void)seen;
}

static void *beta_thread(void *arg)
{
	crashlib_descend(4, 0xbeef, beta_leaf);
	return arg;
}

static int gamma_three(struct gamma_point p, unsigned char flags)
{
	volatile int sum = p.x + p.y + flags;

	thread_ready(ROLE_GAMMA);
	park();
	return sum;
}

static int gamma_two(double ratio, const char *word)
{
	struct gamma_point p = { .x = (int)(ratio * 100), .y = (int)strlen(word), .label = word };

	return gamma_three(p, 0x5a) + 1;
}

static int gamma_one(int count)
{
	return gamma_two(count / 4.0, "gamma-word") + 1;
}

static void *gamma_thread(void *arg)
{
	gamma_one(7);
	return arg;
}

/* Each frame holds 1 KiB of varied bytes, so the whole stack is far deeper than 32 KiB. */
static unsigned deep_recurse(int depth, unsigned seed)
{
	unsigned char pad[1024];

	for (size_t i = 0; i < sizeof(pad); i++) {
		seed = seed * 1103515245u + 12345u;
		pad[i] = (unsigned char)(seed >> 16);
	}
	if (depth == 0) {
		thread_ready(ROLE_DEEP);
		park();
	} else {
		seed += deep_recurse(depth - 1, seed);
	}
	return seed + pad[(unsigned)depth % sizeof(pad)];
}

static void *deep_thread(void *arg)
{
	deep_recurse(DEEP_FRAMES - 1, 1);
	return arg;
}

/*
 * True once tid sleeps (state S in /proc/self/task/<tid>/stat): it is in its final syscall. Plain
 * system calls, no stdio: nothing may allocate (and map an arena) once main printed the tids, as a
 * test copies /proc/<pid>/maps then.
 */
static int thread_sleeps(pid_t tid)
{
	char path[64], buf[512];
	ssize_t n;
	char *paren;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && paren[2] == 'S';
}

static void wait_asleep(const char *name, pid_t tid)
{
	const struct timespec ms = { .tv_nsec = 1000000 };

	for (int i = 0; i < SLEEP_WAIT_MAX; i++) {
		if (thread_sleeps(tid))
			return;
		nanosleep(&ms, NULL);
	}
	fprintf(stderr, "crasher: thread %s (tid %d) never went to sleep\n", name, (int)tid);
	exit(2);
}

/* Waits for one byte or end of file on stdin: the test's go. */
static void wait_for_go(void)
{
	char c;
	ssize_t n;

	do
		n = read(STDIN_FILENO, &c, 1);
	while (n < 0 && errno == EINTR);
}

static int crash_now(int token)
{
	thread_ready(ROLE_CRASHER);
	if (crash_mode == MODE_PARK) {
		park();
		return token;
	}
	while (sem_wait(&go_sem) < 0)
		if (errno != EINTR)
			abort();
	wait_asleep("main", main_tid);
	wait_for_go();
	if (crash_mode == MODE_ABORT)
		abort();
	*(volatile int *)invalid_address = token;
	return token;
}

static int crash_path(int depth, int token)
{
	if (depth == 0)
		return crash_now(token);
	return crash_path(depth - 1, token + depth) + 1;
}

static void *crasher_thread(void *arg)
{
	crash_path(3, 40);
	return arg;
}

int main(int argc, char **argv)
{
	static void *(*const starts[N_ROLES])(void *) = { alpha_thread, beta_thread, gamma_thread,
							  deep_thread, crasher_thread };
	pthread_t threads[N_ROLES];
	pthread_attr_t attr;

	if (argc != 2) {
		fprintf(stderr, "usage: %s segv|abort|park\n", argv[0]);
		return 2;
	}
	if (strcmp(argv[1], "segv") == 0)
		crash_mode = MODE_SEGV;
	else if (strcmp(argv[1], "abort") == 0)
		crash_mode = MODE_ABORT;
	else if (strcmp(argv[1], "park") == 0) {
		crash_mode = MODE_PARK;
		/* gcore, a sibling of whoever started this, may attach even under Yama's
		 * ptrace_scope 1 (absent Yama this fails, harmlessly). */
		(void)prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	} else {
		fprintf(stderr, "%s: unknown mode \"%s\" (segv, abort or park)\n", argv[0],
			argv[1]);
		return 2;
	}

	main_tid = current_tid();
	if (sem_init(&ready_sem, 0, 0) < 0 || sem_init(&go_sem, 0, 0) < 0 ||
	    pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, THREAD_STACK) != 0) {
		perror("crasher: setting up threads");
		return 2;
	}
	for (int r = 0; r < N_ROLES; r++) {
		int e = pthread_create(&threads[r], &attr, starts[r], NULL);

		if (e != 0) {
			fprintf(stderr, "crasher: creating thread %s: %s\n", role_names[r],
				strerror(e));
			return 2;
		}
		pthread_setname_np(threads[r], role_names[r]);
	}
	for (int r = 0; r < N_ROLES; r++)
		while (sem_wait(&ready_sem) < 0)
			if (errno != EINTR) {
				perror("crasher: sem_wait");
				return 2;
			}
	for (int r = 0; r < N_ROLES; r++)
		wait_asleep(role_names[r], role_tids[r]);

	printf("{\"pid\": %d, \"main\": %d", (int)getpid(), (int)main_tid);
	for (int r = 0; r < N_ROLES; r++)
		printf(", \"%s\": %d", role_names[r], (int)role_tids[r]);
	printf("}\n");
	fflush(stdout);

	if (sem_post(&go_sem) < 0)
		abort();
	pthread_join(threads[ROLE_CRASHER], NULL);
	return 0;
}
