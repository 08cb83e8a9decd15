/* SPDX-License-Identifier: MIT */
/*
 * A stack overflow in a thread other than main, for tests/integration/test_crash_shapes.py:
 *
 *   overflow small|big
 *
 * main starts a thread with a stack of 64 KiB ("small") or 1 MiB ("big"), prints one JSON line
 * (pid, tid of that thread) and joins it. The thread waits for a byte (or end of file) on stdin,
 * so that a test can copy /proc/<pid>, then recurses through two alternating functions with 1 KiB
 * of locals each until its stack runs into the guard page under it: the kernel kills it with
 * SIGSEGV, its stack pointer in the guard page (no handler, no alternate stack).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int dive_b(int depth);

static int dive_a(int depth)
{
	volatile char locals[1024];

	locals[0] = (char)depth;
	return dive_b(depth + 1) + locals[0];
}

static int dive_b(int depth)
{
	volatile char locals[1000];

	locals[0] = (char)depth;
	return dive_a(depth + 1) + locals[0];
}

static pid_t tid;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t started = PTHREAD_COND_INITIALIZER;

static void *overflowing_thread(void *arg)
{
	char c;

	(void)arg;
	pthread_mutex_lock(&lock);
	tid = (pid_t)syscall(SYS_gettid);
	pthread_cond_signal(&started);
	pthread_mutex_unlock(&lock);
	if (read(0, &c, 1) < 0)
		perror("read");
	dive_a(0);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_attr_t attr;
	pthread_t t;
	size_t size;

	if (argc != 2 || (strcmp(argv[1], "small") != 0 && strcmp(argv[1], "big") != 0)) {
		fprintf(stderr, "usage: overflow small|big\n");
		return 2;
	}
	size = strcmp(argv[1], "small") == 0 ? 64 * 1024 : 1024 * 1024;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, size);
	if (pthread_create(&t, &attr, overflowing_thread, NULL) != 0)
		return 2;
	pthread_mutex_lock(&lock);
	while (tid == 0)
		pthread_cond_wait(&started, &lock);
	pthread_mutex_unlock(&lock);
	printf("{\"pid\": %d, \"tid\": %d}\n", (int)getpid(), (int)tid);
	fflush(stdout);
	pthread_join(t, NULL);
	return 1;
}
