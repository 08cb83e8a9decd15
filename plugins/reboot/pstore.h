/* SPDX-License-Identifier: MIT */
/*
 * Kernel crash records in pstore, for the reboot plugin: the dmesg records in
 * <sysroot>/sys/fs/pstore/ and those that systemd-pstore already moved to
 * <sysroot>/var/lib/systemd/pstore/ (directly or one directory below). Scanning reads only each
 * record's header; consuming archives the records under <state_dir>/reboot/pstore/<boot>/,
 * unlinks the kernel's copies to free its persistent memory, and remembers which of systemd's
 * records were used (systemd owns them), so that no record is evidence twice.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define REBOOT_PSTORE_READ_MAX	    (256 * 1024) /* bytes of a record read and archived */
#define REBOOT_PSTORE_RECORDS_MAX   16		 /* records taken per boot; more are ignored */
#define REBOOT_PSTORE_ARCHIVES_KEPT 4		 /* boots whose archived records are kept */
#define REBOOT_PSTORE_SCAN_MAX	    1024	 /* directory entries looked at per boot */
#define REBOOT_PSTORE_SEEN_MAX	    1024	 /* systemd-pstore records remembered */
#define REBOOT_PSTORE_SEEN_FILE	    "pstore-seen.json"

enum reboot_pstore_kind {
	REBOOT_PSTORE_UNREADABLE, /* could not be opened or read */
	REBOOT_PSTORE_UNPARSED,	  /* no kmsg dump header: compressed, damaged, not a dmesg record */
	REBOOT_PSTORE_PANIC,
	REBOOT_PSTORE_OOPS,
	REBOOT_PSTORE_OTHER, /* a dump that is no crash: Shutdown, Restart, Emergency, ... */
};

struct reboot_pstore_record {
	bool systemd; /* below var/lib/systemd/pstore, where systemd keeps it */
	char *rel;    /* path in its directory: "dmesg-ramoops-0", "<dir>/dmesg.txt" */
	char *key;    /* the name it has in pstore-seen.json: rel for systemd's, and
		       * "kernel/<rel>@<mtime>.<size>" for one in /sys/fs/pstore (its slot name is
		       * reused by later records, the time and size are not) */
	enum reboot_pstore_kind kind;
	char why[48]; /* the header's dump reason ("Panic"), or what was wrong */
};

struct reboot_pstore {
	struct reboot_pstore_record *records; /* records not used before, sorted */
	size_t n;
	size_t deferred; /* records beyond REBOOT_PSTORE_RECORDS_MAX: ignored, listed as seen */
	char **seen;	 /* keys of records used before and still there; NULL-terminated */
	size_t n_seen;
};

/*
 * Parses the kmsg dump header that starts a dmesg record ("Panic#1 Part1", possibly after a line
 * starting with "===="), size bytes of data. Copies the dump reason, or what is wrong, into why.
 */
enum reboot_pstore_kind reboot_pstore_header_parse(const char *data, size_t size, char *why,
						   size_t why_size);

/*
 * Lists the records below sysroot that <state_dir>/reboot/pstore-seen.json does not name and reads
 * their headers; a record that cannot be read is logged and kept with its kind saying so.
 * Returns 0 with *ret (release with reboot_pstore_done()), or -ENOMEM with *ret untouched.
 */
int reboot_pstore_scan(const char *sysroot, const char *state_dir, struct reboot_pstore *ret);

/* Frees what a scan allocated and zeroes *ps; accepts a zeroed struct. */
void reboot_pstore_done(struct reboot_pstore *ps);

/*
 * Archives every record of ps under <state_dir>/reboot/pstore/<boot>/ (at most the first
 * REBOOT_PSTORE_READ_MAX bytes of each), unlinks the archived ones found in /sys/fs/pstore,
 * rewrites pstore-seen.json, and removes all but the newest REBOOT_PSTORE_ARCHIVES_KEPT boot
 * archives. A record that cannot be archived stays where it is; every failure is logged.
 */
void reboot_pstore_consume(const char *sysroot, const char *state_dir, const char *boot,
			   const struct reboot_pstore *ps);
