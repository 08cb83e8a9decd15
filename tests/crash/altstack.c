/* SPDX-License-Identifier: MIT */
/*
 * A crash handled on an alternate signal stack, as Python's faulthandler, Rust's std and
 * Breakpad-style handlers do, for tests/integration/test_crash_shapes.py:
 *
 *   altstack main|thread
 *
 * The crashing thread (main, or a second thread with "thread") installs an alternate stack (an
 * mmap of its own with "main", malloc'ed memory like faulthandler's with "thread") and a SIGSEGV
 * handler that runs on it, recurses ALT_DEPTH frames deep, prints one JSON line (pid, tid of the
 * crashing thread), waits for a byte (or end of file) on stdin so that a test can copy
 * /proc/<pid>, and writes through a null pointer. The handler goes a few frames deeper on the
 * alternate stack and then abort()s ("main") or re-raises SIGSEGV with the default action
 * ("thread"), so the core's stack pointer is on the alternate stack and the frames of the
 * recursion are on the stack the signal interrupted.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ALT_DEPTH 30
#define ALT_SIZE  (64 * 1024)

static int reraise;
static volatile int *volatile null_pointer;

static void handler_leaf(int sig)
{
	if (reraise) {
		signal(sig, SIG_DFL);
		raise(sig);
	}
	abort();
}

static void handler_middle(int sig)
{
	char scratch[256];

	memset(scratch, sig, sizeof(scratch));
	handler_leaf(scratch[7]);
}

static void on_segv(int sig)
{
	handler_middle(sig);
}

static void install(void)
{
	struct sigaction sa;
	stack_t ss = { .ss_size = ALT_SIZE };

	if (reraise)
		ss.ss_sp = malloc(ALT_SIZE);
	else
		ss.ss_sp = mmap(NULL, ALT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);
	if (!ss.ss_sp || ss.ss_sp == MAP_FAILED || sigaltstack(&ss, NULL) < 0) {
		perror("sigaltstack");
		exit(2);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_segv;
	sa.sa_flags = SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL) < 0) {
		perror("sigaction");
		exit(2);
	}
}

static void fault(void)
{
	char c;

	printf("{\"pid\": %d, \"tid\": %ld}\n", (int)getpid(), (long)syscall(SYS_gettid));
	fflush(stdout);
	if (read(0, &c, 1) < 0)
		perror("read");
	*null_pointer = 42;
}

static int recurse(int depth, int marker)
{
	volatile char frame[64];

	frame[0] = (char)marker;
	if (depth == 0)
		fault();
	else
		recurse(depth - 1, marker + 1);
	return frame[0];
}

static void *crashing_thread(void *arg)
{
	(void)arg;
	install();
	recurse(ALT_DEPTH, 0);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc != 2 || (strcmp(argv[1], "main") != 0 && strcmp(argv[1], "thread") != 0)) {
		fprintf(stderr, "usage: altstack main|thread\n");
		return 2;
	}
	reraise = strcmp(argv[1], "thread") == 0;
	if (!reraise) {
		crashing_thread(NULL);
		return 1;
	}
	if (pthread_create(&t, NULL, crashing_thread, NULL) != 0)
		return 2;
	pthread_join(t, NULL);
	return 1;
}
