/* SPDX-License-Identifier: MIT */
/*
 * A program with many threads that crashes on purpose, for bench/unwind and
 * tests/integration/test_stacktrace.py:
 *
 *   threads COUNT [DEPTH]
 *
 * Starts COUNT threads (1 to 4096), each of which recurses DEPTH frames (default 12, at most 200)
 * through a few functions of its own and sleeps in pause(). Once all are started, it prints one
 * JSON line with its pid and the crashing thread's tid (main's), then reads one byte (or end of
 * file) from stdin, so that a test can copy /proc/<pid> first, and crashes with SIGSEGV.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define THREAD_STACK (256 * 1024)

static sem_t started;
static int depth = 12;
static volatile int *invalid_address = (volatile int *)16;

static int sleep_here(int token)
{
	if (sem_post(&started) < 0)
		abort();
	for (;;)
		pause();
	return token;
}

static int level_b(int n, int token);

static int level_a(int n, int token)
{
	volatile char pad[64];

	pad[0] = (char)token;
	if (n <= 0)
		return sleep_here(token + pad[0]);
	return level_b(n - 1, token + 1) + 1;
}

static int level_b(int n, int token)
{
	volatile char pad[128];

	pad[0] = (char)token;
	if (n <= 0)
		return sleep_here(token + pad[0]);
	return level_a(n - 1, token + 2) + 1;
}

static void *thread_main(void *arg)
{
	level_a(depth, (int)(long)arg);
	return arg;
}

static int crash(int token)
{
	*invalid_address = token;
	return token;
}

int main(int argc, char **argv)
{
	pthread_attr_t attr;
	long count;
	char c;
	ssize_t n;

	if (argc < 2 || argc > 3 || (count = strtol(argv[1], NULL, 10)) < 1 || count > 4096) {
		fprintf(stderr, "usage: %s COUNT [DEPTH]\n", argv[0]);
		return 2;
	}
	if (argc == 3)
		depth = (int)strtol(argv[2], NULL, 10);
	if (depth < 0 || depth > 200 || sem_init(&started, 0, 0) < 0 ||
	    pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, THREAD_STACK) != 0) {
		fprintf(stderr, "threads: bad depth or setup\n");
		return 2;
	}
	for (long i = 0; i < count; i++) {
		pthread_t t;
		int e = pthread_create(&t, &attr, thread_main, (void *)i);

		if (e != 0) {
			fprintf(stderr, "threads: creating thread %ld: error %d\n", i, e);
			return 2;
		}
	}
	for (long i = 0; i < count; i++)
		while (sem_wait(&started) < 0)
			if (errno != EINTR)
				return 2;
	printf("{\"pid\": %d, \"crasher\": %d, \"threads\": %ld}\n", (int)getpid(),
	       (int)syscall(SYS_gettid), count);
	fflush(stdout);
	do
		n = read(STDIN_FILENO, &c, 1);
	while (n < 0 && errno == EINTR);
	return crash((int)count);
}
