/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "evidence.h"
#include "fileio.h"
#include "harness-fs.h"
#include "harness-plugin.h"
#include "last.h"
#include "log.h"
#include "macro.h"
#include "plugin-host.h"
#include "pstore.h"
#include "reboot-plugin.h"
#include "reboot.h"

#define BOOT_OLD     "33333333-3333-3333-3333-333333333333"
#define BOOT_PREV    "11111111-1111-1111-1111-111111111111"
#define BOOT_CUR     "22222222-2222-2222-2222-222222222222"
#define BOOT_NEXT    "44444444-4444-4444-4444-444444444444"
#define UUID	     "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

#define REASON_REL   "data/last_reboot_reason" /* below the sysroot */
#define REASON_FILE  "/" REASON_REL
#define WATCHDOG0    "sys/class/watchdog/watchdog0/bootstatus"
#define RAMOOPS0     "sys/fs/pstore/dmesg-ramoops-0"

#define PANIC_RECORD "Panic#1 Part1\n<0>[   12.345678] Kernel panic - not syncing: test\n"
#define OOPS_RECORD  "Oops#1 Part1\n<4>[   3.000000] BUG: unable to handle page fault\n"

struct fixture {
	/* The plugin in a host, as faultd runs it, with a fake core. */
	struct plugin_harness *ph;
	const char *root;  /* the sysroot: ph's tree's root */
	const char *state; /* the state directory: ph's tree's state */
	char *reason_file;
	struct lc_boot_info boot;
};

static struct plugin_harness *reboot_harness(struct fixture *f);

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	/* An ordinary new boot after one faultd saw. */
	f->boot = (struct lc_boot_info){
		.boot_id = BOOT_CUR,
		.prev_boot_id = BOOT_PREV,
		.boot_count = 5,
		.new_boot = true,
	};
	f->ph = reboot_harness(f);
	f->root = f->ph->tree->root;
	f->state = f->ph->tree->state;
	if (asprintf(&f->reason_file, "%s%s", f->root, REASON_FILE) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	plugin_harness_free(f->ph);
	free(f->reason_file);
	free(f);
	return 0;
}

static void declare(struct fixture *f, const char *boot_id, const char *reason)
{
	struct lc_reboot_reason r;
	const char *why;

	assert_int_equal(lc_reboot_reason_parse(reason, &r, &why), 0);
	assert_int_equal(lc_reboot_declare(f->state, boot_id, &r), 0);
}

static void mark(struct fixture *f, const char *boot_id, bool poweroff)
{
	assert_int_equal(lc_reboot_mark_clean_shutdown(f->state, boot_id, poweroff), 0);
}

static struct reboot_input input(struct fixture *f)
{
	return (struct reboot_input){
		.sysroot = f->root,
		.state_dir = f->state,
		.reason_file = f->reason_file,
		.boot = &f->boot,
	};
}

static const struct lc_reboot_reason unknown_error = { .code = 0x8000 };

/* Gathers the evidence in f's trees and decides with unclean (NULL: UnknownError). */
static void gather_decide(struct fixture *f, const struct lc_reboot_reason *unclean,
			  struct reboot_evidence *ev, struct reboot_decision *d)
{
	struct reboot_input in = input(f);

	assert_int_equal(reboot_evidence_gather(&in, ev), 0);
	reboot_decide(ev, unclean ? unclean : &unknown_error, d);
}

/* Gathers, decides and uses up the evidence; returns the decision. */
static struct reboot_decision decide_consume(struct fixture *f)
{
	struct reboot_evidence ev;
	struct reboot_decision d;
	struct reboot_input in = input(f);

	gather_decide(f, NULL, &ev, &d);
	reboot_evidence_consume(&in, &ev);
	reboot_evidence_done(&ev);
	return d;
}

/* Asserts the decision from f's trees is source with reason text (as people write it). */
static void assert_decides(struct fixture *f, enum reboot_source source, const char *reason)
{
	struct reboot_evidence ev;
	struct reboot_decision d;
	struct lc_reboot_reason want;
	const char *why;
	char got[96], expected[96];

	assert_int_equal(lc_reboot_reason_parse(reason, &want, &why), 0);
	gather_decide(f, NULL, &ev, &d);
	lc_reboot_reason_format(&d.reason, got, sizeof(got));
	lc_reboot_reason_format(&want, expected, sizeof(expected));
	assert_string_equal(reboot_source_name(d.source), reboot_source_name(source));
	assert_string_equal(got, expected);
	reboot_evidence_done(&ev);
}

static void test_watchdog_bits(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *value;
		const char *reason;
	} cases[] = {
		{ "16\n", "BrownOutReset" },
		{ "32\n", "HardwareWatchdog" },
		{ "1\n", "!Overheat" },
		{ "64\n", "!OverVoltage" },
		{ "2\n", "!FanFault" },
		{ "4\n", "!ExternalReset1" },
		{ "8\n", "!ExternalReset2" },
		/* Several bits: POWERUNDER, POWEROVER, OVERHEAT, FANFAULT, CARDRESET, EXTERN1/2. */
		{ "48\n", "BrownOutReset" },
		{ "112\n", "BrownOutReset" },
		{ "96\n", "!OverVoltage" },
		{ "33\n", "!Overheat" },
		{ "35\n", "!Overheat" },
		{ "34\n", "!FanFault" },
		{ "44\n", "HardwareWatchdog" },
		{ "12\n", "!ExternalReset1" },
		/* Unknown bits alone are no evidence; beside a known one they are ignored. */
		{ "256\n", "UnknownError" },
		{ "288\n", "HardwareWatchdog" },
		{ "0\n", "UnknownError" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		tree_put(f->root, WATCHDOG0, cases[i].value);
		assert_decides(f,
			       streq(cases[i].reason, "UnknownError") ? REBOOT_SRC_NONE
								      : REBOOT_SRC_WATCHDOG,
			       cases[i].reason);
	}

	/* The strongest cause over all watchdogs. */
	tree_put(f->root, WATCHDOG0, "32\n");
	tree_put(f->root, "sys/class/watchdog/watchdog1/bootstatus", "16");
	assert_decides(f, REBOOT_SRC_WATCHDOG, "BrownOutReset");
}

static void test_watchdog_detail(void **state)
{
	struct fixture *f = *state;
	struct reboot_evidence ev;
	struct reboot_decision d;
	char line[1024];

	tree_put(f->root, WATCHDOG0, "48\n");
	gather_decide(f, NULL, &ev, &d);
	assert_string_equal(ev.src[REBOOT_SRC_WATCHDOG].detail,
			    "watchdog0 bootstatus 0x30 (POWERUNDER|CARDRESET)");
	assert_string_equal(
		reboot_summary(&ev, &d, line, sizeof(line)),
		"Previous boot ended: BrownOutReset (0x8003), from watchdog (watchdog0 "
		"bootstatus 0x30 (POWERUNDER|CARDRESET)); also: pstore: none, declared: "
		"none, reason file: none, clean-shutdown marker: none.");
	reboot_evidence_done(&ev);
}

static void test_pstore_header(void **state)
{
	static const struct {
		const char *text;
		enum reboot_pstore_kind kind;
		const char *why;
	} cases[] = {
		{ "Panic#1 Part1\n<0>...", REBOOT_PSTORE_PANIC, "Panic" },
		{ "Panic#12 Part3", REBOOT_PSTORE_PANIC, "Panic" },
		{ "Oops#2 Part1\r\nmore", REBOOT_PSTORE_OOPS, "Oops" },
		{ "==== 2024-01-01 ====\nPanic#1 Part1\n", REBOOT_PSTORE_PANIC, "Panic" },
		{ "Shutdown#1 Part1\n", REBOOT_PSTORE_OTHER, "Shutdown" },
		{ "Emergency#1 Part1\n", REBOOT_PSTORE_OTHER, "Emergency" },
		{ "Poweroff#1 Part1\n", REBOOT_PSTORE_OTHER, "Poweroff" },
		{ "Panic#x Part1\n", REBOOT_PSTORE_UNPARSED, "no kmsg dump header" },
		{ "Panic#1 Part\n", REBOOT_PSTORE_UNPARSED, "no kmsg dump header" },
		{ "Panic#1 Part1 extra\n", REBOOT_PSTORE_UNPARSED, "no kmsg dump header" },
		{ "panic: Panic#1 Part1\n", REBOOT_PSTORE_UNPARSED, "no kmsg dump header" },
		{ "====\n", REBOOT_PSTORE_UNPARSED, "no kmsg dump header" },
		{ "", REBOOT_PSTORE_UNPARSED, "no kmsg dump header" },
	};
	char why[48];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(reboot_pstore_header_parse(cases[i].text, strlen(cases[i].text),
							    why, sizeof(why)),
				 cases[i].kind);
		assert_string_equal(why, cases[i].why);
	}
	/* Binary: a compressed record. */
	{
		static const char zlib[] = { 0x78, (char)0x9c, 0x01, 0x00, (char)0xff, 0x7f };

		assert_int_equal(reboot_pstore_header_parse(zlib, sizeof(zlib), why, sizeof(why)),
				 REBOOT_PSTORE_UNPARSED);
	}
}

static void test_pstore_panic(void **state)
{
	struct fixture *f = *state;
	struct reboot_evidence ev;
	struct reboot_decision d;

	tree_put(f->root, RAMOOPS0, PANIC_RECORD);
	tree_put(f->root, "sys/fs/pstore/dmesg-ramoops-1", OOPS_RECORD);
	tree_put(f->root, "sys/fs/pstore/console-ramoops-0", "not a dmesg record");
	gather_decide(f, NULL, &ev, &d);
	assert_int_equal(d.source, REBOOT_SRC_PSTORE);
	assert_int_equal(d.reason.code, 0x8008);
	assert_string_equal(ev.src[REBOOT_SRC_PSTORE].detail,
			    "dmesg-ramoops-0: Panic (and 1 more)");
	assert_int_equal(ev.pstore.n, 2);
	reboot_evidence_done(&ev);
}

static void test_pstore_oops(void **state)
{
	struct fixture *f = *state;
	struct reboot_evidence ev;
	struct reboot_decision d;
	char line[1024];

	/* Without the clean-shutdown marker an Oops is the reason. */
	tree_put(f->root, RAMOOPS0, OOPS_RECORD);
	assert_decides(f, REBOOT_SRC_PSTORE, "!KernelOops");

	/* With it, the Oops is not decisive: the marker decides, and the log says so. */
	mark(f, BOOT_PREV, false);
	gather_decide(f, NULL, &ev, &d);
	assert_int_equal(d.source, REBOOT_SRC_SHUTDOWN);
	assert_int_equal(d.reason.code, 0x0002);
	assert_non_null(strstr(reboot_summary(&ev, &d, line, sizeof(line)),
			       "pstore: dmesg-ramoops-0: Oops (not decisive after a clean "
			       "shutdown)"));
	reboot_evidence_done(&ev);

	/* A declared reason beats the marker, also after an Oops. */
	declare(f, BOOT_PREV, "FirmwareUpdate");
	assert_decides(f, REBOOT_SRC_DECLARED, "FirmwareUpdate");
}

static void test_pstore_not_a_crash(void **state)
{
	struct fixture *f = *state;
	struct reboot_evidence ev;
	struct reboot_decision d;

	tree_put(f->root, RAMOOPS0, "Shutdown#1 Part1\nbye\n");
	gather_decide(f, NULL, &ev, &d);
	assert_int_equal(d.source, REBOOT_SRC_NONE);
	assert_int_equal(ev.src[REBOOT_SRC_PSTORE].state, REBOOT_EV_IGNORED);
	reboot_evidence_done(&ev);
}

static void test_systemd_pstore(void **state)
{
	struct fixture *f = *state;

	tree_put(f->root, "var/lib/systemd/pstore/1700000000123456/dmesg-efi-170000000001001",
		 PANIC_RECORD);
	assert_decides(f, REBOOT_SRC_PSTORE, "KernelPanic");
}

static void test_declared(void **state)
{
	struct fixture *f = *state;

	declare(f, BOOT_PREV, "FirmwareUpdate");
	assert_decides(f, REBOOT_SRC_DECLARED, "FirmwareUpdate");
	declare(f, BOOT_PREV, "!Maintenance");
	assert_decides(f, REBOOT_SRC_DECLARED, "!Maintenance");
}

static void test_reason_file(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *text;
		const char *reason;
	} cases[] = {
		{ "0x8006\n", "SoftwareWatchdog" }, { "8\n", "SoftwareReset" },
		{ "  lowpower \n", "LowPower" },    { "ButtonReset", "ButtonReset" },
		{ "!Unplugged\n", "!Unplugged" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		tree_put(f->root, REASON_REL, cases[i].text);
		assert_decides(f, REBOOT_SRC_REASON_FILE, cases[i].reason);
	}
	/* A reason file not configured is not read. */
	{
		struct reboot_input in = input(f);
		struct reboot_evidence ev;
		struct reboot_decision d;

		in.reason_file = NULL;
		assert_int_equal(reboot_evidence_gather(&in, &ev), 0);
		reboot_decide(&ev, &unknown_error, &d);
		assert_int_equal(d.source, REBOOT_SRC_NONE);
		assert_false(ev.reason_file_present);
		reboot_evidence_consume(&in, &ev);
		reboot_evidence_done(&ev);
		assert_true(tree_exists(f->root, REASON_REL));
	}
}

static void test_marker(void **state)
{
	struct fixture *f = *state;

	mark(f, BOOT_PREV, false);
	assert_decides(f, REBOOT_SRC_SHUTDOWN, "UserReset");
	mark(f, BOOT_PREV, true);
	assert_decides(f, REBOOT_SRC_SHUTDOWN, "UserShutdown");
}

static void test_nothing(void **state)
{
	struct fixture *f = *state;
	struct reboot_evidence ev;
	struct reboot_decision d;
	struct lc_reboot_reason unclean;
	const char *why;
	char line[1024];

	gather_decide(f, NULL, &ev, &d);
	assert_int_equal(d.source, REBOOT_SRC_NONE);
	assert_int_equal(d.reason.code, 0x8000);
	assert_string_equal(
		reboot_summary(&ev, &d, line, sizeof(line)),
		"Previous boot ended: UnknownError (0x8000), from no evidence "
		"(unclean_reason): watchdog: none, pstore: none, declared: none, reason "
		"file: none, clean-shutdown marker: none.");
	reboot_evidence_done(&ev);

	assert_int_equal(lc_reboot_reason_parse("!Unplugged", &unclean, &why), 0);
	gather_decide(f, &unclean, &ev, &d);
	assert_int_equal(d.source, REBOOT_SRC_NONE);
	assert_string_equal(d.reason.name, "Unplugged");
	reboot_evidence_done(&ev);

	assert_int_equal(lc_reboot_reason_parse("PowerOnReset", &unclean, &why), 0);
	gather_decide(f, &unclean, &ev, &d);
	assert_int_equal(d.reason.code, 0x0007);
	reboot_evidence_done(&ev);
}

static void test_priority(void **state)
{
	struct fixture *f = *state;
	struct reboot_evidence ev;
	struct reboot_decision d;
	char line[1024];

	tree_put(f->root, WATCHDOG0, "32");
	tree_put(f->root, RAMOOPS0, PANIC_RECORD);
	declare(f, BOOT_PREV, "FirmwareUpdate");
	tree_put(f->root, REASON_REL, "LowPower");
	mark(f, BOOT_PREV, false);

	gather_decide(f, NULL, &ev, &d);
	assert_string_equal(
		reboot_summary(&ev, &d, line, sizeof(line)),
		"Previous boot ended: HardwareWatchdog (0x8005), from watchdog "
		"(watchdog0 bootstatus 0x20 (CARDRESET)); also: pstore: dmesg-ramoops-0: "
		"Panic, declared: FirmwareUpdate (0x0003), reason file: LowPower "
		"(0x0004), clean-shutdown marker: UserReset (0x0002).");
	reboot_evidence_done(&ev);

	tree_put(f->root, WATCHDOG0, "0");
	assert_decides(f, REBOOT_SRC_PSTORE, "KernelPanic");
	tree_unlink(f->root, RAMOOPS0);
	assert_decides(f, REBOOT_SRC_DECLARED, "FirmwareUpdate");
	tree_unlink(f->state, "reboot/declared.json");
	assert_decides(f, REBOOT_SRC_REASON_FILE, "LowPower");
	tree_unlink(f->root, REASON_REL);
	assert_decides(f, REBOOT_SRC_SHUTDOWN, "UserReset");
}

static void test_stale_notes(void **state)
{
	struct fixture *f = *state;
	struct reboot_evidence ev;
	struct reboot_decision d;
	_cleanup_free_ char *log = NULL;

	/* Notes of an older boot: warned about, not used, removed. */
	declare(f, BOOT_OLD, "FirmwareUpdate");
	mark(f, BOOT_OLD, false);
	plugin_harness_log_start(f->ph);
	gather_decide(f, NULL, &ev, &d);
	log = plugin_harness_log_end(f->ph);
	assert_int_equal(d.source, REBOOT_SRC_NONE);
	assert_int_equal(ev.src[REBOOT_SRC_DECLARED].state, REBOOT_EV_IGNORED);
	assert_int_equal(ev.src[REBOOT_SRC_SHUTDOWN].state, REBOOT_EV_IGNORED);
	assert_non_null(strstr(log, "declared.json: written during boot " BOOT_OLD));
	assert_non_null(strstr(log, "shutdown.json: written during boot " BOOT_OLD));
	reboot_evidence_done(&ev);
	decide_consume(f);
	assert_false(tree_exists(f->state, "reboot/declared.json"));
	assert_false(tree_exists(f->state, "reboot/shutdown.json"));

	/* Without a known previous boot no note can be about it. */
	f->boot.prev_boot_id[0] = 0;
	declare(f, BOOT_PREV, "FirmwareUpdate");
	assert_decides(f, REBOOT_SRC_NONE, "UnknownError");

	/* A reason declared during this boot is about its end: kept. */
	declare(f, BOOT_CUR, "FirmwareUpdate");
	mark(f, BOOT_CUR, false);
	assert_int_equal(decide_consume(f).source, REBOOT_SRC_NONE);
	assert_true(tree_exists(f->state, "reboot/declared.json"));
	assert_true(tree_exists(f->state, "reboot/shutdown.json"));
}

static void test_consume(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *a = NULL, *b = NULL, *seen = NULL;
	size_t size;

	tree_put(f->root, RAMOOPS0, PANIC_RECORD);
	tree_put(f->root, "sys/fs/pstore/dmesg-ramoops-1", OOPS_RECORD);
	tree_put(f->root, "var/lib/systemd/pstore/1700000000123456/dmesg.txt", OOPS_RECORD);
	tree_put(f->root, "var/lib/systemd/pstore/dmesg-efi-1", OOPS_RECORD);
	tree_put(f->root, "var/lib/systemd/pstore/notes.txt", "not a record");
	tree_put(f->root, REASON_REL, "LowPower\n");
	declare(f, BOOT_PREV, "FirmwareUpdate");
	mark(f, BOOT_PREV, true);

	assert_int_equal(decide_consume(f).source, REBOOT_SRC_PSTORE);

	/* The kernel's records are archived with their content and released. */
	a = tree_read(f->state, "reboot/pstore/" BOOT_PREV "/dmesg-ramoops-0", &size);
	assert_int_equal(size, strlen(PANIC_RECORD));
	assert_string_equal(a, PANIC_RECORD);
	b = tree_read(f->state, "reboot/pstore/" BOOT_PREV "/dmesg-ramoops-1", NULL);
	assert_string_equal(b, OOPS_RECORD);
	assert_false(tree_exists(f->root, RAMOOPS0));
	assert_false(tree_exists(f->root, "sys/fs/pstore/dmesg-ramoops-1"));
	/* systemd's are archived too, but stay with systemd. */
	assert_true(tree_exists(f->state,
				"reboot/pstore/" BOOT_PREV "/systemd-1700000000123456_dmesg.txt"));
	assert_true(tree_exists(f->state, "reboot/pstore/" BOOT_PREV "/systemd-dmesg-efi-1"));
	assert_true(tree_exists(f->root, "var/lib/systemd/pstore/1700000000123456/dmesg.txt"));
	assert_true(tree_exists(f->root, "var/lib/systemd/pstore/dmesg-efi-1"));
	seen = tree_read(f->state, "reboot/" REBOOT_PSTORE_SEEN_FILE, NULL);
	assert_string_equal(seen, "{\"seen\":[\"1700000000123456/dmesg.txt\",\"dmesg-efi-1\"]}");
	/* The reason file and the notes are gone. */
	assert_false(tree_exists(f->root, REASON_REL));
	assert_false(tree_exists(f->state, "reboot/declared.json"));
	assert_false(tree_exists(f->state, "reboot/shutdown.json"));

	/* The next boot: systemd's records are not evidence again, a new one is. */
	memcpy(f->boot.prev_boot_id, BOOT_CUR, 37);
	memcpy(f->boot.boot_id, BOOT_NEXT, 37);
	assert_decides(f, REBOOT_SRC_NONE, "UnknownError");
	tree_put(f->root, "var/lib/systemd/pstore/1700000099000000/dmesg.txt", PANIC_RECORD);
	assert_int_equal(decide_consume(f).source, REBOOT_SRC_PSTORE);
	free(seen);
	seen = tree_read(f->state, "reboot/" REBOOT_PSTORE_SEEN_FILE, NULL);
	assert_string_equal(seen, "{\"seen\":[\"1700000000123456/dmesg.txt\",\"dmesg-efi-1\","
				  "\"1700000099000000/dmesg.txt\"]}");

	/* Names systemd removed are forgotten, so the list stays bounded. */
	tree_unlink(f->root, "var/lib/systemd/pstore/dmesg-efi-1");
	tree_unlink(f->root, "var/lib/systemd/pstore/1700000000123456/dmesg.txt");
	memcpy(f->boot.prev_boot_id, BOOT_NEXT, 37);
	memcpy(f->boot.boot_id, BOOT_OLD, 37);
	assert_int_equal(decide_consume(f).source, REBOOT_SRC_NONE);
	free(seen);
	seen = tree_read(f->state, "reboot/" REBOOT_PSTORE_SEEN_FILE, NULL);
	assert_string_equal(seen, "{\"seen\":[\"1700000099000000/dmesg.txt\"]}");
}

static void test_pstore_limits(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *big = malloc(REBOOT_PSTORE_READ_MAX + 5000), *copy = NULL;
	struct reboot_evidence ev;
	struct reboot_decision d;
	struct reboot_input in = input(f);
	char name[64];
	size_t size;

	/* A record larger than the cap: the first 256 KiB are archived. */
	assert_non_null(big);
	memset(big, 'x', REBOOT_PSTORE_READ_MAX + 5000);
	memcpy(big, "Panic#1 Part1\n", 14);
	tree_write(f->root, RAMOOPS0, big, REBOOT_PSTORE_READ_MAX + 5000, 0644);
	/* More records than are taken per boot: the rest stay in place, but used up. */
	for (int i = 1; i < REBOOT_PSTORE_RECORDS_MAX + 4; i++) {
		snprintf(name, sizeof(name), "sys/fs/pstore/dmesg-ramoops-%02d", i);
		tree_put(f->root, name, OOPS_RECORD);
	}
	gather_decide(f, NULL, &ev, &d);
	assert_int_equal(d.reason.code, 0x8008);
	assert_int_equal(ev.pstore.n, REBOOT_PSTORE_RECORDS_MAX);
	assert_int_equal(ev.pstore.deferred, 4);
	reboot_evidence_consume(&in, &ev);
	reboot_evidence_done(&ev);
	copy = tree_read(f->state, "reboot/pstore/" BOOT_PREV "/dmesg-ramoops-0", &size);
	assert_int_equal(size, REBOOT_PSTORE_READ_MAX);
	assert_memory_equal(copy, big, REBOOT_PSTORE_READ_MAX);
	assert_false(tree_exists(f->root, RAMOOPS0));
	assert_false(tree_exists(f->root, "sys/fs/pstore/dmesg-ramoops-15"));
	for (int i = 16; i < REBOOT_PSTORE_RECORDS_MAX + 4; i++) {
		snprintf(name, sizeof(name), "sys/fs/pstore/dmesg-ramoops-%02d", i);
		assert_true(tree_exists(f->root, name));
	}
	/* They are not blamed on the end of the next boot. */
	f->boot = (struct lc_boot_info){ .boot_id = "33333333-3333-3333-3333-333333333333",
					 .prev_boot_id = BOOT_CUR,
					 .boot_count = 6,
					 .new_boot = true };
	gather_decide(f, NULL, &ev, &d);
	assert_int_equal(ev.pstore.n, 0);
	assert_int_equal(d.reason.code, 0x8000);
	reboot_evidence_done(&ev);
}

static void test_archive_pruning(void **state)
{
	struct fixture *f = *state;
	static const char *const old[] = { "boot-a", "boot-b", "boot-c", "boot-d", "boot-e" };
	char rel[128];

	/* Five older archives, boot-a the oldest. */
	for (size_t i = 0; i < ARRAY_SIZE(old); i++) {
		_cleanup_free_ char *path = NULL;
		struct timespec t[2] = { { .tv_sec = 1000000 + (time_t)i * 100 },
					 { .tv_sec = 1000000 + (time_t)i * 100 } };

		snprintf(rel, sizeof(rel), "reboot/pstore/%s/dmesg-ramoops-0", old[i]);
		tree_put(f->state, rel, PANIC_RECORD);
		assert_true(asprintf(&path, "%s/reboot/pstore/%s", f->state, old[i]) > 0);
		assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
	}
	tree_put(f->root, RAMOOPS0, PANIC_RECORD);
	decide_consume(f);
	/* This boot's archive and the three newest others are kept. */
	assert_true(tree_exists(f->state, "reboot/pstore/" BOOT_PREV "/dmesg-ramoops-0"));
	assert_false(tree_exists(f->state, "reboot/pstore/boot-a"));
	assert_false(tree_exists(f->state, "reboot/pstore/boot-b"));
	assert_true(tree_exists(f->state, "reboot/pstore/boot-c/dmesg-ramoops-0"));
	assert_true(tree_exists(f->state, "reboot/pstore/boot-d"));
	assert_true(tree_exists(f->state, "reboot/pstore/boot-e"));

	/* Without a known previous boot the records go to "unknown". */
	f->boot.prev_boot_id[0] = 0;
	tree_put(f->root, RAMOOPS0, PANIC_RECORD);
	decide_consume(f);
	assert_true(tree_exists(f->state, "reboot/pstore/unknown/dmesg-ramoops-0"));
}

static void test_reason_file_used_once(void **state)
{
	struct fixture *f = *state;
	struct reboot_input in = input(f);
	struct reboot_evidence ev, again;
	struct reboot_decision d;

	/* A reason file that could not be deleted is recognised by its identity. */
	tree_put(f->root, REASON_REL, "LowPower\n");
	gather_decide(f, NULL, &ev, &d);
	assert_int_equal(d.source, REBOOT_SRC_REASON_FILE);
	assert_true(ev.reason_file_id_valid);
	in.used_reason_file = &ev.reason_file_id;
	assert_int_equal(reboot_evidence_gather(&in, &again), 0);
	reboot_decide(&again, &unknown_error, &d);
	assert_int_equal(d.source, REBOOT_SRC_NONE);
	assert_int_equal(again.src[REBOOT_SRC_REASON_FILE].state, REBOOT_EV_IGNORED);
	/* ... and stays remembered while it is there. */
	assert_true(again.reason_file_id_valid);
	assert_memory_equal(&again.reason_file_id, &ev.reason_file_id, sizeof(ev.reason_file_id));
	reboot_evidence_done(&again);

	/* Rewritten by the integrator, it counts again. */
	tree_put(f->root, REASON_REL, "ButtonReset\n");
	assert_int_equal(reboot_evidence_gather(&in, &again), 0);
	reboot_decide(&again, &unknown_error, &d);
	assert_int_equal(d.source, REBOOT_SRC_REASON_FILE);
	assert_int_equal(d.reason.code, 0x0006);
	reboot_evidence_done(&again);
	reboot_evidence_done(&ev);
}

static void test_garbage(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *huge = malloc(10 << 20), *log = NULL, *archived = NULL;
	static const char binary[] = { 0x78, (char)0x9c, 0x00, 0x01, (char)0xff, 0x10, 0x00 };
	struct reboot_evidence ev;
	struct reboot_decision d;
	struct reboot_input in = input(f);
	size_t size;

	assert_non_null(huge);
	tree_put(f->root, WATCHDOG0, "abc\n");
	tree_mkdir(f->root, "sys/class/watchdog/watchdog1/bootstatus");
	tree_write(f->root, RAMOOPS0, binary, sizeof(binary), 0644);
	tree_mkdir(f->root, "sys/fs/pstore/dmesg-ramoops-1");
	memset(huge, '7', 10 << 20);
	tree_write(f->root, REASON_REL, huge, 10 << 20, 0644);
	memset(huge, ' ', 8192);
	memcpy(huge, "{\"reason\": 3, ", 14);
	tree_write(f->state, "reboot/declared.json", huge, 8192, 0644);
	tree_mkdir(f->state, "reboot/shutdown.json");

	plugin_harness_log_start(f->ph);
	gather_decide(f, NULL, &ev, &d);
	reboot_evidence_consume(&in, &ev);
	log = plugin_harness_log_end(f->ph);

	assert_int_equal(d.source, REBOOT_SRC_NONE);
	assert_int_equal(d.reason.code, 0x8000);
	for (size_t s = 0; s < REBOOT_SRC_COUNT; s++)
		assert_int_equal(ev.src[s].state, REBOOT_EV_BAD);
	/* Each problem is logged with its file and why. */
	assert_non_null(
		strstr(log, "watchdog0/bootstatus: expected a decimal number, got \"abc\""));
	assert_non_null(strstr(log, "watchdog1/bootstatus: cannot read the watchdog's boot status "
				    "(Is a directory)"));
	assert_non_null(strstr(log, "dmesg-ramoops-0: pstore record without a kmsg dump header"));
	assert_non_null(strstr(log, "dmesg-ramoops-1: pstore record unreadable: Is a directory"));
	assert_non_null(strstr(log, REASON_FILE ": the reboot reason file holds more than 256 "
						"bytes"));
	assert_non_null(strstr(log, "declared.json: larger than 4 KiB"));
	assert_non_null(strstr(log, "shutdown.json: cannot read the clean-shutdown marker"));
	reboot_evidence_done(&ev);

	/* Used up all the same: the binary record is archived as it was. */
	archived = tree_read(f->state, "reboot/pstore/" BOOT_PREV "/dmesg-ramoops-0", &size);
	assert_int_equal(size, sizeof(binary));
	assert_memory_equal(archived, binary, sizeof(binary));
	assert_false(tree_exists(f->root, RAMOOPS0));
	assert_false(tree_exists(f->root, REASON_REL));
	assert_false(tree_exists(f->state, "reboot/declared.json"));

	/* More garbage in the reason file: not text, not a reason, a directory. */
	tree_write(f->root, REASON_REL, "Low\0Power", 9, 0644);
	assert_decides(f, REBOOT_SRC_NONE, "UnknownError");
	tree_put(f->root, REASON_REL, "Bogus\n");
	assert_decides(f, REBOOT_SRC_NONE, "UnknownError");
	tree_unlink(f->root, REASON_REL);
	tree_mkdir(f->root, REASON_REL);
	assert_decides(f, REBOOT_SRC_NONE, "UnknownError");
	/* A damaged pstore-seen.json only means systemd's records may be used again. */
	tree_put(f->state, "reboot/" REBOOT_PSTORE_SEEN_FILE, "[1, 2");
	tree_put(f->root, "var/lib/systemd/pstore/1/dmesg.txt", PANIC_RECORD);
	assert_decides(f, REBOOT_SRC_PSTORE, "KernelPanic");
}

static void test_plan(void **state)
{
	struct fixture *f = *state;
	json_object *last = json_object_new_object();

	json_object_object_add(last, "boot_id", json_object_new_string(BOOT_CUR));
	json_object_object_add(last, "source", json_object_new_string("pstore"));

	/* A damaged last.json: decide. */
	assert_int_equal(reboot_plan(&f->boot, NULL, true), REBOOT_PLAN_DECIDE);
	assert_int_equal(reboot_plan(&f->boot, last, true), REBOOT_PLAN_DONE);
	/* No last.json on a state directory that has seen boots: faultd was upgraded from a version
	 * that kept no evidence; nothing is blamed. */
	assert_int_equal(reboot_plan(&f->boot, NULL, false), REBOOT_PLAN_FIRST_BOOT);
	f->boot.new_boot = false;
	assert_int_equal(reboot_plan(&f->boot, last, true), REBOOT_PLAN_DONE);
	/* An earlier start in this boot did not save its decision: decide again. */
	assert_int_equal(reboot_plan(&f->boot, NULL, true), REBOOT_PLAN_DECIDE);

	f->boot =
		(struct lc_boot_info){ .boot_id = BOOT_CUR, .new_boot = true, .first_boot = true };
	assert_int_equal(reboot_plan(&f->boot, NULL, false), REBOOT_PLAN_FIRST_BOOT);
	/* A restart in that first boot before last.json was written. */
	f->boot.new_boot = f->boot.first_boot = false;
	assert_int_equal(reboot_plan(&f->boot, NULL, false), REBOOT_PLAN_FIRST_BOOT);
	assert_int_equal(reboot_plan(&f->boot, last, true), REBOOT_PLAN_DONE);
	json_object_put(last);
}

/* The plugin in a host, as faultd runs it, with a fake core. */

static struct {
	int records, unexpected, record_ret;
	char type[64], metadata[256];
} svc;

static int fake_record(void *userdata, const char *type, json_object *metadata, char *ret_uuid,
		       const char **ret_why)
{
	svc.records++;
	snprintf(svc.type, sizeof(svc.type), "%s", type);
	snprintf(svc.metadata, sizeof(svc.metadata), "%s",
		 json_object_to_json_string_ext(metadata, JSON_C_TO_STRING_PLAIN));
	json_object_put(metadata);
	if (svc.record_ret < 0) {
		*ret_why = svc.record_ret == -EPERM ? "data collection is off" : "test failure";
		return svc.record_ret;
	}
	if (ret_uuid)
		memcpy(ret_uuid, UUID, 37);
	return 0;
}

static void fake_unexpected_reboot(void *userdata)
{
	svc.unexpected++;
}

/* The harness of f's plugin: the core records through fake_record(). */
static struct plugin_harness *reboot_harness(struct fixture *f)
{
	struct plugin_harness *ph = plugin_harness_new(&reboot_plugin_ops, "reboot", NULL);

	ph->services = (struct lc_plugin_services){
		.record = fake_record,
		.unexpected_reboot = fake_unexpected_reboot,
		.boot = &f->boot,
	};
	return ph;
}

/* Loads a configuration for f's trees with extra members in the "reboot" section into the
 * harness. Returns 0, or the error of lc_config_load() with its first message in *ret_error. */
static int load_config(struct fixture *f, const char *extra, char **ret_error)
{
	_cleanup_free_ char *text = NULL;
	const char *file =
		extra && strstr(extra, "reason_file") ? "" : "\"reason_file\": \"" REASON_FILE "\"";

	assert_true(asprintf(&text,
			     "{\"state_dir\": \"%s\", \"sysroot\": \"%s\", \"reboot\": {%s%s%s}}",
			     f->state, f->root, file, file[0] && extra ? ", " : "",
			     extra ? extra : "") > 0);
	return plugin_harness_load(f->ph, text, &f->ph->cfg, ret_error);
}

/* Starts and stops the plugin once for f->boot; returns its status as text (owned). Unless
 * the state directory has one, a last.json of the previous boot is written first: faultd was
 * watching it. */
static char *run_plugin(struct fixture *f, const char *extra)
{
	_cleanup_free_ char *error = NULL;
	json_object *status;
	char *text;

	if (!tree_exists(f->state, "reboot/last.json") && !f->boot.first_boot)
		tree_put(f->state, "reboot/last.json",
			 "{\"boot_id\": \"" BOOT_PREV "\", \"source\": \"first-boot\"}");
	assert_int_equal(load_config(f, extra, &error), 0);
	assert_int_equal(plugin_harness_start(f->ph), 1);
	status = plugin_harness_status(f->ph);
	text = strdup(json_object_to_json_string_ext(status, JSON_C_TO_STRING_PLAIN));
	json_object_put(status);
	plugin_harness_stop(f->ph);
	return text;
}

static void reset_svc(void)
{
	svc = (typeof(svc)){};
}

/* Drops the "decided_at" member of a status so it compares. */
static char *status_without_time(const char *text)
{
	json_object *o = json_tokener_parse(text);
	char *s;

	assert_non_null(o);
	json_object_object_del(o, "decided_at");
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

static void test_plugin_decides_once(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *status = NULL, *again = NULL, *last = NULL, *plain = NULL;

	reset_svc();
	tree_put(f->root, RAMOOPS0, PANIC_RECORD);
	declare(f, BOOT_PREV, "FirmwareUpdate");
	mark(f, BOOT_PREV, false);
	status = run_plugin(f, NULL);

	assert_int_equal(svc.records, 1);
	assert_string_equal(svc.type, "linux-reboot");
	assert_string_equal(svc.metadata, "{\"reason\":32776}");
	assert_int_equal(svc.unexpected, 1);
	assert_non_null(strstr(status, "\"decided_at\":\""));
	plain = status_without_time(status);
	assert_string_equal(plain,
			    "{\"last_reason\":\"KernelPanic (0x8008)\",\"code\":32776,"
			    "\"unexpected\":true,\"source\":\"pstore\",\"boot_id\":\"" BOOT_CUR
			    "\",\"previous_boot_id\":\"" BOOT_PREV "\",\"others\":{\"watchdog\":"
			    "\"none\",\"declared\":\"FirmwareUpdate (0x0003)\",\"reason-file\":"
			    "\"none\",\"clean-shutdown\":\"UserReset (0x0002)\"},\"entry\":\"" UUID
			    "\"}");
	last = tree_read(f->state, "reboot/last.json", NULL);
	assert_non_null(strstr(last, "\"boot_id\":\"" BOOT_CUR "\""));
	assert_non_null(strstr(last, "\"source\":\"pstore\""));
	assert_non_null(strstr(last, "\"reason\":32776"));
	assert_false(tree_exists(f->root, RAMOOPS0));
	assert_false(tree_exists(f->state, "reboot/declared.json"));
	assert_false(tree_exists(f->state, "reboot/shutdown.json"));

	/* A restart of faultd in the same boot decides nothing and shows the same. */
	f->boot.new_boot = false;
	tree_put(f->root, RAMOOPS0, PANIC_RECORD);
	again = run_plugin(f, NULL);
	assert_int_equal(svc.records, 1);
	assert_int_equal(svc.unexpected, 1);
	assert_string_equal(again, status);
	assert_true(tree_exists(f->root, RAMOOPS0));
}

static void test_plugin_expected(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *status = NULL;

	reset_svc();
	tree_put(f->root, REASON_REL, "!Unplugged");
	mark(f, BOOT_PREV, true);
	status = run_plugin(f, NULL);
	assert_string_equal(svc.metadata,
			    "{\"reason\":{\"unexpected\":true,\"name\":\"Unplugged\"}}");
	assert_int_equal(svc.unexpected, 1);
	assert_non_null(strstr(status, "\"last_reason\":\"!Unplugged\",\"name\":\"Unplugged\","
				       "\"unexpected\":true,\"source\":\"reason-file\""));
	assert_false(tree_exists(f->root, REASON_REL));

	/* The next boot ended cleanly: expected, not reported to the ledger. */
	memcpy(f->boot.prev_boot_id, BOOT_CUR, 37);
	memcpy(f->boot.boot_id, BOOT_NEXT, 37);
	mark(f, BOOT_CUR, true);
	free(status);
	status = run_plugin(f, NULL);
	assert_int_equal(svc.records, 2);
	assert_string_equal(svc.metadata, "{\"reason\":1}");
	assert_int_equal(svc.unexpected, 1);
	assert_non_null(strstr(status, "\"last_reason\":\"UserShutdown (0x0001)\",\"code\":1,"
				       "\"unexpected\":false,\"source\":\"clean-shutdown\""));
}

/* A marker of this boot found when faultd starts again in it: the boot went on after all (BusyBox
 * init's ::restart, a soft reboot), so the marker must not make its real end look clean. */
static void test_plugin_drops_a_marker_of_this_boot(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *status = NULL, *again = NULL, *log = NULL;

	reset_svc();
	status = run_plugin(f, NULL);
	assert_int_equal(svc.records, 1);
	mark(f, BOOT_CUR, false);
	f->boot.new_boot = false;
	plugin_harness_log_start(f->ph);
	again = run_plugin(f, NULL);
	log = plugin_harness_log_end(f->ph);
	assert_false(tree_exists(f->state, "reboot/shutdown.json"));
	assert_non_null(strstr(log, "shutdown.json: written during this boot, which goes on"));
	assert_int_equal(svc.records, 1);
	assert_string_equal(again, status);

	/* The next boot ends without evidence: unexpected, as a power cut is. */
	memcpy(f->boot.prev_boot_id, BOOT_CUR, 37);
	memcpy(f->boot.boot_id, BOOT_NEXT, 37);
	f->boot.new_boot = true;
	free(status);
	status = run_plugin(f, NULL);
	assert_int_equal(svc.records, 2);
	assert_string_equal(svc.metadata, "{\"reason\":32768}");
	assert_non_null(strstr(status, "\"source\":\"no-evidence\""));

	/* A marker of the boot that ended is evidence, never dropped as this boot's. */
	memcpy(f->boot.prev_boot_id, BOOT_NEXT, 37);
	memcpy(f->boot.boot_id, BOOT_OLD, 37);
	mark(f, BOOT_NEXT, false);
	free(status);
	status = run_plugin(f, NULL);
	assert_string_equal(svc.metadata, "{\"reason\":2}");
	assert_non_null(strstr(status, "\"source\":\"clean-shutdown\""));
}

static void test_plugin_unclean_reason(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *status = NULL, *error = NULL;

	reset_svc();
	status = run_plugin(f, "\"unclean_reason\": \"PowerOnReset\"");
	assert_string_equal(svc.metadata, "{\"reason\":7}");
	assert_int_equal(svc.unexpected, 0);
	assert_non_null(strstr(status, "\"source\":\"no-evidence\""));

	memcpy(f->boot.prev_boot_id, BOOT_CUR, 37);
	memcpy(f->boot.boot_id, BOOT_NEXT, 37);
	free(status);
	status = run_plugin(f, "\"unclean_reason\": \"0x8000\"");
	assert_string_equal(svc.metadata, "{\"reason\":32768}");
	assert_int_equal(svc.unexpected, 1);

	/* A reason that is none is refused when the configuration is loaded. */
	assert_int_equal(load_config(f, "\"unclean_reason\": \"Bogus\"", &error), -EINVAL);
	assert_non_null(strstr(error, "unclean_reason"));
	assert_non_null(strstr(error, "unknown reason name"));
	free(error);
	error = NULL;
	assert_int_equal(load_config(f, "\"reason_file\": \"relative\"", &error), -EINVAL);
	assert_non_null(strstr(error, "expected an absolute path"));
}

static void test_plugin_consent_off(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *status = NULL;

	/* Refused by consent: the ledger still hears of it, and the evidence is used up. */
	reset_svc();
	svc.record_ret = -EPERM;
	tree_put(f->root, WATCHDOG0, "32");
	tree_put(f->root, REASON_REL, "LowPower");
	status = run_plugin(f, NULL);
	assert_int_equal(svc.records, 1);
	assert_int_equal(svc.unexpected, 1);
	assert_non_null(strstr(status, "\"not_recorded\":\"data collection is off\""));
	assert_true(tree_exists(f->state, "reboot/last.json"));
	assert_false(tree_exists(f->root, REASON_REL));
}

static void test_plugin_record_fails(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *status = NULL;

	/* A spool that failed may work at the next start: nothing is used up. */
	reset_svc();
	svc.record_ret = -EIO;
	tree_put(f->root, REASON_REL, "LowPower");
	status = run_plugin(f, NULL);
	assert_int_equal(svc.records, 1);
	{
		_cleanup_free_ char *path = NULL, *text = NULL;

		assert_true(asprintf(&path, "%s/reboot/last.json", f->state) > 0);
		assert_int_equal(lc_read_file(path, 4096, &text, NULL), 0);
		assert_non_null(strstr(text, BOOT_PREV)); /* not replaced */
	}
	assert_true(tree_exists(f->root, REASON_REL));

	/* The next start in the same boot decides again. */
	svc.record_ret = 0;
	f->boot.new_boot = false;
	free(status);
	status = run_plugin(f, NULL);
	assert_int_equal(svc.records, 2);
	assert_string_equal(svc.metadata, "{\"reason\":4}");
	assert_true(tree_exists(f->state, "reboot/last.json"));
	assert_false(tree_exists(f->root, REASON_REL));
}

static void test_plugin_first_boot(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *status = NULL, *last = NULL;

	reset_svc();
	f->boot =
		(struct lc_boot_info){ .boot_id = BOOT_CUR, .new_boot = true, .first_boot = true };
	tree_put(f->root, RAMOOPS0, PANIC_RECORD);
	tree_put(f->root, REASON_REL, "LowPower");
	declare(f, BOOT_OLD, "FirmwareUpdate");
	status = run_plugin(f, NULL);
	assert_int_equal(svc.records, 0);
	assert_int_equal(svc.unexpected, 0);
	assert_non_null(strstr(status, "{\"last_reason\":null,\"source\":\"first-boot\""));
	last = tree_read(f->state, "reboot/last.json", NULL);
	assert_non_null(strstr(last, "\"source\":\"first-boot\""));
	assert_null(strstr(last, "\"reason\":"));
	/* The evidence is used up all the same. */
	assert_true(tree_exists(f->state, "reboot/pstore/unknown/dmesg-ramoops-0"));
	assert_false(tree_exists(f->root, RAMOOPS0));
	assert_false(tree_exists(f->root, REASON_REL));
	assert_false(tree_exists(f->state, "reboot/declared.json"));

	/* The next boot is decided normally. */
	memcpy(f->boot.prev_boot_id, BOOT_CUR, 37);
	memcpy(f->boot.boot_id, BOOT_NEXT, 37);
	f->boot.first_boot = false;
	f->boot.boot_count = 1;
	free(status);
	status = run_plugin(f, NULL);
	assert_int_equal(svc.records, 1);
	assert_string_equal(svc.metadata, "{\"reason\":32768}");
}

static void test_plugin_reason_file_disabled(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *status = NULL;

	reset_svc();
	tree_put(f->root, REASON_REL, "LowPower");
	status = run_plugin(f, "\"reason_file\": \"\"");
	assert_string_equal(svc.metadata, "{\"reason\":32768}");
	assert_non_null(strstr(status, "\"reason-file\":\"not configured\""));
	assert_true(tree_exists(f->root, REASON_REL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_watchdog_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watchdog_detail, setup, teardown),
		cmocka_unit_test(test_pstore_header),
		cmocka_unit_test_setup_teardown(test_pstore_panic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pstore_oops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pstore_not_a_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_systemd_pstore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_declared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reason_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_marker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_priority, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_notes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_consume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pstore_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_archive_pruning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reason_file_used_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plugin_decides_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plugin_expected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plugin_drops_a_marker_of_this_boot, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_plugin_unclean_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plugin_consent_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plugin_record_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plugin_first_boot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plugin_reason_file_disabled, setup, teardown),
	};

	lc_log_open("test-reboot-plugin", LC_LOG_TARGET_STDERR);
	lc_log_set_ratelimit(false);
	if (getenv("TEST_REBOOT_DEBUG"))
		lc_log_set_max_level(LOG_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
