/* SPDX-License-Identifier: MIT */
/* Tests for exec.c: lc_run_capture() output, status, limits, and that no process is left behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "clock.h"
#include "exec.h"
#include "fileio.h"
#include "harness-proc.h"
#include "macro.h"
#include "tmpdir.h"

/* True once pid has exited (gone, or a zombie of whoever adopted it), polling up to 2 s. */
static bool process_dead(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 200; i++) {
		_cleanup_free_ char *stat = NULL;
		const char *paren;

		if (lc_read_file(path, 4096, &stat, NULL) < 0)
			return true;
		paren = strrchr(stat, ')');
		if (paren && (paren[2] == 'Z' || paren[2] == 'X'))
			return true;
		struct timespec ts = { .tv_nsec = 10 * 1000000L };
		nanosleep(&ts, NULL);
	}
	return false;
}

static int setup_tmp(void **state)
{
	*state = test_tmpdir_new("exec");
	return *state ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	return test_tmpdir_free(*state);
}

/* Reads the pid a test command wrote to DIR/pid. */
static pid_t read_pid(const char *dir)
{
	_cleanup_free_ char *path = NULL, *text = NULL;

	assert_true(asprintf(&path, "%s/pid", dir) > 0);
	assert_int_equal(lc_read_file(path, 64, &text, NULL), 0);
	return (pid_t)atoi(text);
}

static void test_captures_output_and_status(void **state)
{
	_cleanup_free_ char *out = NULL;
	int status = -1;

	assert_int_equal(lc_run_capture("echo hello; echo world >&2; printf 'x=%s\\n' 1", 2000,
					1024, &out, &status),
			 0);
	assert_string_equal(out, "hello\nx=1\n");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_no_children();
}

/* The service manager's variables are the daemon's: a command must not notify in its name. */
static void test_service_manager_variables_are_not_passed(void **state)
{
	_cleanup_free_ char *out = NULL;
	int status;

	assert_int_equal(setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1), 0);
	assert_int_equal(setenv("WATCHDOG_PID", "1", 1), 0);
	assert_int_equal(setenv("WATCHDOG_USEC", "60000000", 1), 0);
	assert_int_equal(setenv("FAULTD_TEST_KEPT", "yes", 1), 0);
	assert_int_equal(lc_run_capture("echo \"${NOTIFY_SOCKET-unset} ${WATCHDOG_PID-unset} "
					"${WATCHDOG_USEC-unset} ${FAULTD_TEST_KEPT-unset}\"",
					2000, 1024, &out, &status),
			 0);
	assert_string_equal(out, "unset unset unset yes\n");
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
	unsetenv("FAULTD_TEST_KEPT");
}

static void test_nul_in_output_is_refused(void **state)
{
	char *out = NULL;
	int status = -1;

	/* Returned as a C string, the output would silently end at the NUL. */
	assert_int_equal(
		lc_run_capture("printf 'DEVICE_ID=a\\000\\nX=1\\n'", 2000, 1024, &out, &status),
		-EBADMSG);
	assert_null(out);
	assert_int_equal(status, -1);
	assert_no_children();
}

static void test_exit_status(void **state)
{
	_cleanup_free_ char *out = NULL, *out2 = NULL;
	int status = -1;

	assert_int_equal(lc_run_capture("echo partial; exit 3", 2000, 1024, &out, &status), 0);
	assert_string_equal(out, "partial\n");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);

	/* A command the shell cannot find is the shell's exit status 127, not an error here. */
	assert_int_equal(lc_run_capture("exec /nonexistent/command", 2000, 1024, &out2, &status),
			 0);
	assert_string_equal(out2, "");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 127);
	assert_no_children();
}

static void test_killed_by_signal(void **state)
{
	_cleanup_free_ char *out = NULL;
	int status = -1;

	assert_int_equal(lc_run_capture("kill -TERM $$", 2000, 1024, &out, &status), 0);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
	assert_no_children();
}

static void test_stdin_is_dev_null(void **state)
{
	_cleanup_free_ char *out = NULL;
	int status = -1;
	uint64_t t0 = lc_clock_monotonic_ms();

	/* cat would wait forever on an inherited terminal or pipe. */
	assert_int_equal(lc_run_capture("cat; echo end", 5000, 1024, &out, &status), 0);
	assert_string_equal(out, "end\n");
	assert_true(lc_clock_monotonic_ms() - t0 < 2000);
}

static void test_signals_reset_in_child(void **state)
{
	_cleanup_free_ char *out = NULL;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
	sigset_t usr1, old_mask;
	unsigned long long blocked, ignored;
	int status = -1;

	/* As in the daemon: SIGPIPE ignored, and some signal blocked in the calling thread. */
	assert_int_equal(sigaction(SIGPIPE, &ign, &old_pipe), 0);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	assert_int_equal(sigprocmask(SIG_BLOCK, &usr1, &old_mask), 0);

	assert_int_equal(lc_run_capture("exec grep -E '^Sig(Blk|Ign)' /proc/self/status", 2000,
					1024, &out, &status),
			 0);

	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(sscanf(out, "SigBlk: %llx SigIgn: %llx", &blocked, &ignored), 2);
	assert_int_equal(blocked, 0);
	/* No standard signal (1 to 31, bits 0 to 30) is ignored. glibc's posix_spawn() leaves
	 * its own reserved real-time signals (32 up to SIGRTMIN, used by its thread library and
	 * re-armed by it after exec) ignored: no more real-time signals than those may be. They
	 * are counted, not named: under qemu-user, the emulated C library's signals have other
	 * numbers in the host's shell. */
	assert_int_equal(ignored & ((1ULL << 31) - 1), 0);
	assert_true(__builtin_popcountll(ignored) <= SIGRTMIN - 32);
}

static void test_timeout_kills_and_reaps(void **state)
{
	char *out = (char *)"untouched";
	int status = 12345;
	uint64_t t0 = lc_clock_monotonic_ms(), dt;

	assert_int_equal(lc_run_capture("sleep 5", 200, 1024, &out, &status), -ETIMEDOUT);
	dt = lc_clock_monotonic_ms() - t0;
	assert_true(dt >= 190);
	assert_true(dt < 1000);
	assert_string_equal(out, "untouched");
	assert_int_equal(status, 12345);
	assert_no_children();
}

static void test_timeout_after_stdout_closed(void **state)
{
	char *out = NULL;
	int status;
	uint64_t t0 = lc_clock_monotonic_ms();

	/* End of file on stdout does not end the time limit: the command must also exit. */
	assert_int_equal(lc_run_capture("echo early; exec >&-; sleep 5", 300, 1024, &out, &status),
			 -ETIMEDOUT);
	assert_true(lc_clock_monotonic_ms() - t0 < 1500);
	assert_null(out);
	assert_no_children();
}

static void test_output_cap(void **state)
{
	_cleanup_free_ char *exact = NULL;
	char *out = NULL;
	int status = -1;

	assert_int_equal(lc_run_capture("yes", 5000, 1000, &out, &status), -EFBIG);
	assert_null(out);
	assert_no_children();

	/* Exactly max bytes is fine; one more is not. */
	assert_int_equal(lc_run_capture("printf '%0100d' 0", 2000, 100, &exact, &status), 0);
	assert_int_equal(strlen(exact), 100);
	assert_int_equal(lc_run_capture("printf '%0101d' 0", 2000, 100, &out, &status), -EFBIG);
	assert_int_equal(lc_run_capture("printf x", 2000, 0, &out, &status), -EFBIG);
	assert_null(out);
	assert_no_children();
}

static void test_grandchild_holding_pipe_is_killed(void **state)
{
	const char *dir = *state;
	_cleanup_free_ char *cmd = NULL;
	char *out = NULL;
	int status;
	pid_t grandchild;
	uint64_t t0 = lc_clock_monotonic_ms();

	/* The shell exits at once, but the backgrounded sleep keeps stdout open. */
	assert_true(asprintf(&cmd, "sleep 30 & echo $! > '%s/pid'; echo hi", dir) > 0);
	assert_int_equal(lc_run_capture(cmd, 300, 1024, &out, &status), -ETIMEDOUT);
	assert_true(lc_clock_monotonic_ms() - t0 < 1500);
	assert_null(out);
	assert_no_children();

	grandchild = read_pid(dir);
	assert_true(grandchild > 0);
	assert_true(process_dead(grandchild));
}

static void test_leftover_background_killed_after_exit(void **state)
{
	const char *dir = *state;
	_cleanup_free_ char *cmd = NULL, *out = NULL;
	int status = -1;

	/* Output redirected away, so end of file comes; the call still leaves nothing running. */
	assert_true(asprintf(&cmd, "sleep 30 >/dev/null & echo $! > '%s/pid'; echo done", dir) > 0);
	assert_int_equal(lc_run_capture(cmd, 5000, 1024, &out, &status), 0);
	assert_string_equal(out, "done\n");
	assert_true(WIFEXITED(status));
	assert_no_children();
	assert_true(process_dead(read_pid(dir)));
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	alarms++;
}

static void test_eintr(void **state)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old; /* no SA_RESTART */
	struct itimerval every = { .it_interval = { .tv_usec = 5000 },
				   .it_value = { .tv_usec = 5000 } };
	struct itimerval off = { 0 };
	_cleanup_free_ char *out = NULL;
	int status = -1, r;

	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &every, NULL), 0);
	r = lc_run_capture("sleep 0.3; echo done", 5000, 1024, &out, &status);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);

	assert_int_equal(r, 0);
	assert_string_equal(out, "done\n");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(alarms > 5);
	assert_no_children();
}

static void test_invalid_arguments(void **state)
{
	char *out = NULL;
	int status;

	assert_int_equal(lc_run_capture(NULL, 1000, 10, &out, &status), -EINVAL);
	assert_int_equal(lc_run_capture("", 1000, 10, &out, &status), -EINVAL);
	assert_int_equal(lc_run_capture("true", 0, 10, &out, &status), -EINVAL);
	assert_int_equal(lc_run_capture("true", 1000, SIZE_MAX, &out, &status), -EINVAL);
	assert_int_equal(lc_run_capture("true", 1000, 10, NULL, &status), -EINVAL);
	assert_int_equal(lc_run_capture("true", 1000, 10, &out, NULL), -EINVAL);
	assert_null(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captures_output_and_status),
		cmocka_unit_test(test_service_manager_variables_are_not_passed),
		cmocka_unit_test(test_nul_in_output_is_refused),
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_killed_by_signal),
		cmocka_unit_test(test_stdin_is_dev_null),
		cmocka_unit_test(test_signals_reset_in_child),
		cmocka_unit_test(test_timeout_kills_and_reaps),
		cmocka_unit_test(test_timeout_after_stdout_closed),
		cmocka_unit_test(test_output_cap),
		cmocka_unit_test_setup_teardown(test_grandchild_holding_pipe_is_killed, setup_tmp,
						teardown_tmp),
		cmocka_unit_test_setup_teardown(test_leftover_background_killed_after_exit,
						setup_tmp, teardown_tmp),
		cmocka_unit_test(test_eintr),
		cmocka_unit_test(test_invalid_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
