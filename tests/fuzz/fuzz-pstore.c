/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the pstore records of the reboot plugin (plugins/reboot/pstore.c): the
 * input is parsed as a record's header, then scanned as a record in both places the plugin looks
 * (/sys/fs/pstore and systemd-pstore's directory, under a scratch sysroot), then as
 * pstore-seen.json next to two fixed records. Checked beyond crashes: the reason copied stays
 * within its buffer and names what was found, a scan finds what is there and no record twice.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fuzz-util.h"
#include "pstore.h"

#define HEAD_READ 4096 /* what a scan reads of a record to find its header (pstore.c) */

static char *sysroot, *state_dir, *kernel_record, *systemd_record, *seen_file;

static void setup(void)
{
	fuzz_quiet();
	fuzz_mkdir("root/sys/fs/pstore");
	fuzz_mkdir("root/var/lib/systemd/pstore/1700000000");
	fuzz_mkdir("state/reboot");
	sysroot = fuzz_path("root");
	state_dir = fuzz_path("state");
	kernel_record = fuzz_path("root/sys/fs/pstore/dmesg-ramoops-0");
	systemd_record = fuzz_path("root/var/lib/systemd/pstore/1700000000/dmesg.txt");
	seen_file = fuzz_path("state/reboot/" REBOOT_PSTORE_SEEN_FILE);
}

static enum reboot_pstore_kind header(const uint8_t *data, size_t size, char *why, size_t why_size)
{
	enum reboot_pstore_kind k;

	k = reboot_pstore_header_parse((const char *)data, size, why, why_size);
	CHECK(k == REBOOT_PSTORE_UNPARSED || k == REBOOT_PSTORE_PANIC || k == REBOOT_PSTORE_OOPS ||
	      k == REBOOT_PSTORE_OTHER);
	CHECK(memchr(why, 0, why_size));
	if (k == REBOOT_PSTORE_PANIC)
		CHECK(strcmp(why, "Panic") == 0);
	if (k == REBOOT_PSTORE_OOPS)
		CHECK(strcmp(why, "Oops") == 0);
	if (k != REBOOT_PSTORE_UNPARSED)
		CHECK(why[0] && memmem(data, size, why, strlen(why)));
	return k;
}

static void scan(size_t records, enum reboot_pstore_kind kind)
{
	struct reboot_pstore ps = { 0 };

	CHECK(reboot_pstore_scan(sysroot, state_dir, &ps) == 0);
	CHECK(ps.n + ps.n_seen == records && ps.deferred == 0);
	for (size_t i = 0; i < ps.n; i++) {
		CHECK(ps.records[i].kind == kind);
		CHECK(ps.records[i].rel && ps.records[i].key);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(ps.records[i].key, ps.records[j].key) != 0);
	}
	reboot_pstore_done(&ps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char panic[] = "Panic#1 Part1\n<0>[    1.000000] Kernel panic - not syncing\n";
	enum reboot_pstore_kind kind;
	char why[48], small[6];

	if (!sysroot)
		setup();
	kind = header(data, size, why, sizeof(why));
	header(data, size, small, sizeof(small));

	/* The input as a record, in the kernel's pstore and in systemd-pstore's directory. */
	if (size > HEAD_READ)
		kind = header(data, HEAD_READ, why, sizeof(why));
	fuzz_write(kernel_record, data, size);
	fuzz_write(systemd_record, data, size);
	CHECK(unlink(seen_file) == 0 || errno == ENOENT);
	scan(2, kind);

	/* The input as the list of records used before, next to two panic records. */
	fuzz_write(kernel_record, panic, sizeof(panic) - 1);
	fuzz_write(systemd_record, panic, sizeof(panic) - 1);
	fuzz_write(seen_file, data, size);
	scan(2, REBOOT_PSTORE_PANIC);
	return 0;
}
