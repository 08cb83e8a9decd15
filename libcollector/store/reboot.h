/* SPDX-License-Identifier: MIT */
/*
 * Reboot reasons: the codes of spec/device-api.md with their names, custom unexpected reasons
 * ("!name"), and the two pieces of evidence the running daemon leaves for the next boot under
 * <state_dir>/reboot/: the reason declared by `faultctl reboot` and the clean-shutdown marker.
 * The reboot plugin reads them on the next boot; docs/reboots.md explains the whole decision.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LC_REBOOT_NAME_MAX   64
#define LC_REBOOT_UNEXPECTED 0x8000

/* A reason: a code, or a custom name, which is always unexpected. */
struct lc_reboot_reason {
	uint16_t code;			   /* meaningful when name is empty */
	char name[LC_REBOOT_NAME_MAX + 1]; /* custom reason: [A-Za-z0-9_.-], 1-64 */
};

/* Whether the reason counts against stability: a code with bit 0x8000, or any custom name. */
bool lc_reboot_reason_unexpected(const struct lc_reboot_reason *r);

/* The spec's name of code ("KernelPanic"), or NULL for a code it does not name. */
const char *lc_reboot_code_name(uint16_t code);

/*
 * Parses a reason as people write it: a code ("32776", "0x8008"), a name ("KernelPanic",
 * case-insensitive), or "!name" for a custom unexpected reason. Leading and trailing white space
 * is ignored. Returns 0, or -EINVAL with *ret_why (static) saying what was wrong; *ret is
 * untouched on failure.
 */
int lc_reboot_reason_parse(const char *text, struct lc_reboot_reason *ret, const char **ret_why);

/* Formats r for people: "KernelPanic (0x8008)", "0x8123" or "!Overheat". Returns buf. */
char *lc_reboot_reason_format(const struct lc_reboot_reason *r, char *buf, size_t size);

/* The "reason" member of a linux-reboot entry's metadata: a code, or {"unexpected": true,
 * "name": ...}. NULL on allocation failure. */
json_object *lc_reboot_reason_to_json(const struct lc_reboot_reason *r);

/* The reverse of lc_reboot_reason_to_json(); -EINVAL for anything else. */
int lc_reboot_reason_from_json(json_object *o, struct lc_reboot_reason *ret);

/* A piece of evidence left for the next boot: what, during which boot, and when (Unix ms). */
struct lc_reboot_note {
	struct lc_reboot_reason reason; /* declared reason; the marker's UserReset/UserShutdown */
	char boot_id[37];
	uint64_t realtime_ms;
};

/*
 * Durably records (write, fsync, rename, fsync) the reason declared for the coming reboot of
 * boot boot_id, as <state_dir>/reboot/declared.json, replacing an earlier declaration.
 * Returns 0 or -errno.
 */
int lc_reboot_declare(const char *state_dir, const char *boot_id, const struct lc_reboot_reason *r);

/*
 * Durably writes the clean-shutdown marker <state_dir>/reboot/shutdown.json for boot boot_id;
 * poweroff says whether the system powers off (UserShutdown) rather than reboots (UserReset).
 * Returns 0 or -errno.
 */
int lc_reboot_mark_clean_shutdown(const char *state_dir, const char *boot_id, bool poweroff);

/* The file names under <state_dir>/reboot/ of the two notes. */
#define LC_REBOOT_DECLARED_FILE "declared.json"
#define LC_REBOOT_SHUTDOWN_FILE "shutdown.json"

/*
 * Reads a note written by the two functions above. Returns 0, -ENOENT when there is none, or
 * -EINVAL (with *ret_why, static) when it is damaged; *ret is untouched on failure.
 */
int lc_reboot_note_read(const char *path, struct lc_reboot_note *ret, const char **ret_why);

/*
 * Whether the system (not just faultd) is shutting down, decided where it can be known: with
 * systemd as PID 1 and sysroot "/", from systemd's job queue (a start job for reboot.target,
 * poweroff.target, halt.target or kexec.target; or the manager "stopping"); otherwise from the
 * runlevel record of <sysroot>/var/run/utmp (SysV init; 0: power off, 6: reboot), or from BusyBox
 * init as <sysroot>/proc/1 no longer handling SIGTSTP, which it stops doing only to shut down
 * (reboot assumed; see reboot.c). Returns 1 with *ret_poweroff set, 0 when it is not, or -errno
 * when it cannot be told (treated as "not" by callers).
 */
int lc_system_shutting_down(const char *sysroot, bool *ret_poweroff);
