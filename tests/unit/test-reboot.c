/* SPDX-License-Identifier: MIT */
/* Reboot reasons as people write them, the notes left for the next boot, and how a shutdown of the
 * system is told: the SysV runlevel, BusyBox init's signal handlers. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utmp.h>

#include <cmocka.h>

#include "fileio.h"
#include "harness-fs.h"
#include "reboot.h"
#include "tmpdir.h"

static const char *const BOOT = "0b5c1f7e-9a5e-4b8e-b2f5-3c1d2e4f5a6b";

static struct lc_reboot_reason parse_ok(const char *text)
{
	struct lc_reboot_reason r;
	const char *why = NULL;

	assert_int_equal(lc_reboot_reason_parse(text, &r, &why), 0);
	return r;
}

static void test_parse_codes_and_names(void **state)
{
	struct lc_reboot_reason r;

	r = parse_ok("0x8008");
	assert_int_equal(r.code, 0x8008);
	assert_string_equal(r.name, "");
	assert_true(lc_reboot_reason_unexpected(&r));
	assert_int_equal(parse_ok("32776").code, 0x8008);
	assert_int_equal(parse_ok("  FirmwareUpdate\n").code, 0x0003);
	assert_int_equal(parse_ok("firmwareupdate").code, 0x0003);
	assert_false(lc_reboot_reason_unexpected(&(struct lc_reboot_reason){ .code = 3 }));
	assert_int_equal(parse_ok("PowerOnReset").code, 0x0007);
	assert_int_equal(parse_ok("OutOfMemory").code, 0x800A);
	assert_int_equal(parse_ok("0").code, 0);
	/* Codes the spec does not name are still codes: the server may know them. */
	assert_int_equal(parse_ok("0x8123").code, 0x8123);

	r = parse_ok("!Overheat");
	assert_string_equal(r.name, "Overheat");
	assert_true(lc_reboot_reason_unexpected(&r));
	r = parse_ok("!a.b-c_9");
	assert_string_equal(r.name, "a.b-c_9");
}

static void test_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"   ",
		"!",
		"! x",
		"!bad name",
		"!x\ty",
		"Bogus",
		"0x10000",
		"65536",
		"-1",
		"0x",
		"12abc",
		"KernelPanic!",
		"!é",
		"1 2",
		"!aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 */
	};
	struct lc_reboot_reason r = { .code = 0x4242 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;

		assert_int_equal(lc_reboot_reason_parse(bad[i], &r, &why), -EINVAL);
		assert_non_null(why);
		assert_int_equal(r.code, 0x4242);
	}
	/* 64 characters is the longest custom name. */
	assert_int_equal(
		strlen(parse_ok("!aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
			       .name),
		64);
}

static void test_format(void **state)
{
	char buf[96];

	assert_string_equal(lc_reboot_reason_format(&(struct lc_reboot_reason){ .code = 0x8008 },
						    buf, sizeof(buf)),
			    "KernelPanic (0x8008)");
	assert_string_equal(lc_reboot_reason_format(&(struct lc_reboot_reason){ .code = 0x8123 },
						    buf, sizeof(buf)),
			    "0x8123");
	assert_string_equal(lc_reboot_reason_format(&(struct lc_reboot_reason){ .name = "Fan" },
						    buf, sizeof(buf)),
			    "!Fan");
	assert_string_equal(lc_reboot_code_name(0x0002), "UserReset");
	assert_null(lc_reboot_code_name(0x0042));
}

static void test_json_round_trip(void **state)
{
	static const char *const texts[] = { "UserReset", "0x8123", "!Overheat" };
	static const char *const bad[] = {
		"-1",
		"65536",
		"\"KernelPanic\"",
		"{\"unexpected\": false, \"name\": \"x\"}",
		"{\"unexpected\": true}",
		"{\"unexpected\": true, \"name\": \"has space\"}",
		"1.5",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct lc_reboot_reason r = parse_ok(texts[i]), back;
		json_object *o = lc_reboot_reason_to_json(&r);

		assert_non_null(o);
		assert_int_equal(lc_reboot_reason_from_json(o, &back), 0);
		assert_int_equal(back.code, r.code);
		assert_string_equal(back.name, r.name);
		json_object_put(o);
	}
	{
		json_object *o =
			lc_reboot_reason_to_json(&(struct lc_reboot_reason){ .name = "X" });

		assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
				    "{\"unexpected\":true,\"name\":\"X\"}");
		json_object_put(o);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_object *o = json_tokener_parse(bad[i]);
		struct lc_reboot_reason r;

		assert_int_equal(lc_reboot_reason_from_json(o, &r), -EINVAL);
		json_object_put(o);
	}
}

static void test_notes(void **state)
{
	char *dir = test_tmpdir_new("reboot");
	char path[256];
	struct lc_reboot_note n;
	const char *why = NULL;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/reboot/%s", dir, LC_REBOOT_DECLARED_FILE);
	assert_int_equal(lc_reboot_note_read(path, &n, &why), -ENOENT);

	assert_int_equal(lc_reboot_declare(dir, BOOT, &(struct lc_reboot_reason){ .code = 3 }), 0);
	assert_int_equal(lc_reboot_note_read(path, &n, &why), 0);
	assert_int_equal(n.reason.code, 3);
	assert_string_equal(n.boot_id, BOOT);
	assert_true(n.realtime_ms > 1600000000000ULL);

	/* A later declaration replaces the earlier one. */
	assert_int_equal(lc_reboot_declare(dir, BOOT, &(struct lc_reboot_reason){ .name = "Lab" }),
			 0);
	assert_int_equal(lc_reboot_note_read(path, &n, &why), 0);
	assert_string_equal(n.reason.name, "Lab");

	snprintf(path, sizeof(path), "%s/reboot/%s", dir, LC_REBOOT_SHUTDOWN_FILE);
	assert_int_equal(lc_reboot_mark_clean_shutdown(dir, BOOT, true), 0);
	assert_int_equal(lc_reboot_note_read(path, &n, &why), 0);
	assert_int_equal(n.reason.code, 0x0001); /* UserShutdown */
	assert_int_equal(lc_reboot_mark_clean_shutdown(dir, BOOT, false), 0);
	assert_int_equal(lc_reboot_note_read(path, &n, &why), 0);
	assert_int_equal(n.reason.code, 0x0002); /* UserReset */

	/* Damaged notes: refused with a reason, the output untouched. */
	static const char *const damaged[] = {
		"",
		"garbage",
		"{\"reason\": 3, \"boot_id\": \"short\", \"realtime_ms\": 1}",
		"{\"reason\": \"x\", \"boot_id\": \"0b5c1f7e-9a5e-4b8e-b2f5-3c1d2e4f5a6b\", "
		"\"realtime_ms\": 1}",
		"{\"reason\": 3, \"boot_id\": \"0b5c1f7e-9a5e-4b8e-b2f5-3c1d2e4f5a6b\"}",
	};
	for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
		struct lc_reboot_note untouched = { .boot_id = "keep" };

		n = untouched;
		assert_int_equal(lc_write_file_atomic(path, damaged[i], strlen(damaged[i]), 0600),
				 0);
		why = NULL;
		assert_int_equal(lc_reboot_note_read(path, &n, &why), -EINVAL);
		assert_non_null(why);
		assert_string_equal(n.boot_id, "keep");
	}
	/* A huge one is refused without reading it all. */
	{
		char *big = malloc(1 << 20);

		assert_non_null(big);
		memset(big, ' ', 1 << 20);
		assert_int_equal(lc_write_file_atomic(path, big, 1 << 20, 0600), 0);
		free(big);
		assert_int_equal(lc_reboot_note_read(path, &n, &why), -EINVAL);
		assert_string_equal(why, "larger than 4 KiB");
	}
	test_tmpdir_free(dir);
}

/* Writes a utmp file holding a boot record and, if runlevel is not 0, a runlevel record. */
static void write_utmp(const char *sysroot, int runlevel)
{
	struct utmp u[2] = {};

	u[0].ut_type = BOOT_TIME;
	u[1].ut_type = RUN_LVL;
	u[1].ut_pid = runlevel + 256 * 'N';
	tree_write(sysroot, "var/run/utmp", u, runlevel ? sizeof(u) : sizeof(u[0]), 0644);
}

static void test_runlevel(void **state)
{
	char *root = test_tmpdir_new("utmp");
	bool poweroff = false;

	assert_non_null(root);
	assert_int_equal(lc_system_shutting_down(root, &poweroff), -ENOENT);
	write_utmp(root, 0);
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 0);
	write_utmp(root, '5');
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 0);
	write_utmp(root, '6');
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 1);
	assert_false(poweroff);
	write_utmp(root, '0');
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 1);
	assert_true(poweroff);
	test_tmpdir_free(root);
}

/* Makes <sysroot>/proc/1 a PID 1 running exe as argv0 [argv1], whose status has the line sigcgt
 * ("" for none). */
static void write_pid1_as(const char *sysroot, const char *exe, const char *argv0,
			  const char *argv1, const char *sigcgt)
{
	_cleanup_free_ char *exe_link = NULL;
	char cmdline[128];
	int len;

	tree_putf(sysroot, "proc/1/status",
		  "Name:\tinit\nState:\tS (sleeping)\nPid:\t1\nSigPnd:\t0000000000000000\n"
		  "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000006\n%s\n"
		  "CapInh:\t0000000000000000\n",
		  sigcgt);
	exe_link = tree_path(sysroot, "proc/1/exe");
	(void)unlink(exe_link);
	assert_int_equal(symlink(exe, exe_link), 0);
	/* NUL-separated, as the kernel writes it. */
	len = snprintf(cmdline, sizeof(cmdline), "%s%c%s", argv0, 0, argv1 ? argv1 : "");
	tree_write(sysroot, "proc/1/cmdline", cmdline, (size_t)len + (argv1 ? 1 : 0), 0644);
}

static void write_pid1(const char *sysroot, const char *exe, const char *sigcgt)
{
	write_pid1_as(sysroot, exe, "/sbin/init", NULL, sigcgt);
}

/* A SigCgt line with the handlers of mask, as /proc/PID/status writes it (64 signals). */
static const char *sigcgt(unsigned long long mask)
{
	static char line[64];

	snprintf(line, sizeof(line), "SigCgt:\t%016llx", mask);
	return line;
}

#define SIG(s) (1ULL << ((s)-1))

static void test_busybox_init(void **state)
{
	char *root = test_tmpdir_new("busybox");
	char big[96];
	bool poweroff;

	assert_non_null(root);
	/* BusyBox 1.35's init running (seen on a real one): only SIGTSTP has a handler. */
	write_pid1(root, "/bin/busybox", sigcgt(SIG(SIGTSTP)));
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 0);
	/* Older ones (before 1.22) also had handlers for the requests themselves. */
	write_pid1(
		root, "/bin/busybox",
		sigcgt(SIG(SIGTSTP) | SIG(SIGTERM) | SIG(SIGUSR1) | SIG(SIGUSR2) | SIG(SIGQUIT)));
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 0);

	/* Shutting down: the handlers are reset before ::shutdown runs. Which of reboot and power
	 * off is not known: reboot. */
	write_pid1(root, "/bin/busybox", sigcgt(0));
	poweroff = true;
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 1);
	assert_false(poweroff);
	write_pid1(root, "/bin/busybox", sigcgt(SIG(SIGCHLD)));
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 1);
	write_pid1(root, "/bin/busybox (deleted)", sigcgt(0));
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 1);
	/* 128 signals (MIPS): 32 digits, the low 64 signals last. */
	snprintf(big, sizeof(big), "SigCgt:\t%016llx%016llx", 1ULL, SIG(SIGTSTP));
	write_pid1(root, "/bin/busybox", big);
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 0);
	snprintf(big, sizeof(big), "SigCgt:\t%016llx%016llx", 1ULL, 0ULL);
	write_pid1(root, "/bin/busybox", big);
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 1);

	/* BusyBox's init started as the kernel may start it. */
	write_pid1_as(root, "/bin/busybox", "/linuxrc", NULL, sigcgt(0));
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 1);
	write_pid1_as(root, "/bin/busybox", "init", NULL, sigcgt(SIG(SIGTSTP)));
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 0);
	write_pid1_as(root, "/bin/busybox", "/bin/busybox", "init", sigcgt(0));
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 1);
	write_pid1_as(root, "/bin/busybox", "/bin/busybox", "sh", sigcgt(0));
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 0);
	/* A BusyBox shell as PID 1 (a container) never has the handler: no evidence either way. */
	write_pid1_as(root, "/bin/busybox", "sh", NULL, sigcgt(0));
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 0);

	/* Another init without these handlers says nothing by it: SysV init, systemd. */
	write_pid1(root, "/sbin/init", sigcgt(0));
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 0);
	write_pid1(root, "/usr/lib/systemd/systemd", sigcgt(0));
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 0);

	/* A status that cannot be read is no evidence. */
	write_pid1(root, "/bin/busybox", "");
	assert_true(lc_system_shutting_down(root, &poweroff) < 0);
	write_pid1(root, "/bin/busybox", "SigCgt:\tnot hex");
	assert_true(lc_system_shutting_down(root, &poweroff) < 0);
	write_pid1(root, "/bin/busybox", "SigCgt:\t00000000000000000000000000000000000000000z");
	assert_true(lc_system_shutting_down(root, &poweroff) < 0);

	/* With a runlevel too: SysV's says which; either one saying so is enough. */
	write_utmp(root, '5');
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 0);
	write_pid1(root, "/bin/busybox", sigcgt(0));
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 1);
	write_utmp(root, '0');
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 1);
	assert_true(poweroff);
	write_utmp(root, '5');
	write_pid1(root, "/bin/busybox", sigcgt(SIG(SIGTSTP)));
	assert_int_equal(lc_system_shutting_down(root, &poweroff), 0);
	test_tmpdir_free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_codes_and_names),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_notes),
		cmocka_unit_test(test_runlevel),
		cmocka_unit_test(test_busybox_init),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
