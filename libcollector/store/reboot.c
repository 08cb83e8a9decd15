/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <utmp.h>

#include "build-config.h"
#include "clock.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "reboot.h"
#include "uuid.h"

#if HAVE_SYSTEMD
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#endif

#define NOTE_MAX 4096

static const struct {
	uint16_t code;
	const char *name;
} reason_names[] = {
	{ 0x0000, "Unknown" },
	{ 0x0001, "UserShutdown" },
	{ 0x0002, "UserReset" },
	{ 0x0003, "FirmwareUpdate" },
	{ 0x0004, "LowPower" },
	{ 0x0005, "DebuggerHalted" },
	{ 0x0006, "ButtonReset" },
	{ 0x0007, "PowerOnReset" },
	{ 0x0008, "SoftwareReset" },
	{ 0x0009, "DeepSleep" },
	{ 0x000A, "PinReset" },
	{ 0x8000, "UnknownError" },
	{ 0x8001, "Assert" },
	{ 0x8003, "BrownOutReset" },
	{ 0x8004, "Nmi" },
	{ 0x8005, "HardwareWatchdog" },
	{ 0x8006, "SoftwareWatchdog" },
	{ 0x8007, "ClockFailure" },
	{ 0x8008, "KernelPanic" },
	{ 0x8009, "FirmwareUpdateError" },
	{ 0x800A, "OutOfMemory" },
};

bool lc_reboot_reason_unexpected(const struct lc_reboot_reason *r)
{
	return r->name[0] || (r->code & LC_REBOOT_UNEXPECTED);
}

const char *lc_reboot_code_name(uint16_t code)
{
	for (size_t i = 0; i < ARRAY_SIZE(reason_names); i++)
		if (reason_names[i].code == code)
			return reason_names[i].name;
	return NULL;
}

static bool custom_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > LC_REBOOT_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

int lc_reboot_reason_parse(const char *text, struct lc_reboot_reason *ret, const char **ret_why)
{
	struct lc_reboot_reason r = {};
	const char *s = text, *e;
	size_t len;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	len = (size_t)(e - s);
	if (len == 0) {
		*ret_why = "empty reason";
		return -EINVAL;
	}
	if (s[0] == '!') {
		if (!custom_name_ok(s + 1, len - 1)) {
			*ret_why = "a custom reason after '!' must be 1-64 of [A-Za-z0-9_.-]";
			return -EINVAL;
		}
		memcpy(r.name, s + 1, len - 1);
		*ret = r;
		return 0;
	}
	if (isdigit((unsigned char)s[0])) {
		char buf[16], *end;
		unsigned long v;

		if (len >= sizeof(buf)) {
			*ret_why = "a reason code is a number from 0 to 0xFFFF";
			return -EINVAL;
		}
		memcpy(buf, s, len);
		buf[len] = 0;
		errno = 0;
		v = strtoul(buf, &end, 0);
		if (errno || *end || v > 0xFFFF) {
			*ret_why = "a reason code is a number from 0 to 0xFFFF";
			return -EINVAL;
		}
		r.code = (uint16_t)v;
		*ret = r;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(reason_names); i++)
		if (strlen(reason_names[i].name) == len &&
		    strncasecmp(reason_names[i].name, s, len) == 0) {
			r.code = reason_names[i].code;
			*ret = r;
			return 0;
		}
	*ret_why = "unknown reason name (write \"!name\" for a custom unexpected reason)";
	return -EINVAL;
}

char *lc_reboot_reason_format(const struct lc_reboot_reason *r, char *buf, size_t size)
{
	const char *name = lc_reboot_code_name(r->code);

	if (r->name[0])
		snprintf(buf, size, "!%s", r->name);
	else if (name)
		snprintf(buf, size, "%s (0x%04X)", name, (unsigned)r->code);
	else
		snprintf(buf, size, "0x%04X", (unsigned)r->code);
	return buf;
}

json_object *lc_reboot_reason_to_json(const struct lc_reboot_reason *r)
{
	json_object *o;

	if (!r->name[0])
		return json_object_new_int(r->code);
	o = json_object_new_object();
	if (!o)
		return NULL;
	if (lc_json_add(o, "unexpected", json_object_new_boolean(true)) < 0 ||
	    lc_json_add(o, "name", json_object_new_string(r->name)) < 0)
		return json_object_put(o), NULL;
	return o;
}

int lc_reboot_reason_from_json(json_object *o, struct lc_reboot_reason *ret)
{
	struct lc_reboot_reason r = {};
	json_object *u, *n;
	const char *name;

	if (json_object_is_type(o, json_type_int)) {
		int64_t v = json_object_get_int64(o);

		if (v < 0 || v > 0xFFFF)
			return -EINVAL;
		r.code = (uint16_t)v;
	} else if (json_object_is_type(o, json_type_object) &&
		   json_object_object_get_ex(o, "unexpected", &u) &&
		   json_object_is_type(u, json_type_boolean) && json_object_get_boolean(u) &&
		   json_object_object_get_ex(o, "name", &n) &&
		   json_object_is_type(n, json_type_string)) {
		name = json_object_get_string(n);
		if (!custom_name_ok(name, strlen(name)))
			return -EINVAL;
		memcpy(r.name, name, strlen(name));
	} else {
		return -EINVAL;
	}
	*ret = r;
	return 0;
}

static int note_write(const char *state_dir, const char *file, const char *boot_id,
		      const struct lc_reboot_reason *r)
{
	_cleanup_free_ char *dir = lc_path_prefix(state_dir, "/reboot");
	_cleanup_free_ char *path = NULL;
	json_object *o = json_object_new_object();
	const char *text;
	int ret;

	if (!dir || !o || asprintf(&path, "%s/%s", dir, file) < 0) {
		json_object_put(o);
		return -ENOMEM;
	}
	ret = lc_mkdir_p(dir, 0700);
	if (ret < 0) {
		json_object_put(o);
		return ret;
	}
	if (lc_json_add(o, "reason", lc_reboot_reason_to_json(r)) < 0 ||
	    lc_json_add(o, "boot_id", json_object_new_string(boot_id)) < 0 ||
	    lc_json_add(o, "realtime_ms",
			json_object_new_int64((int64_t)lc_clock_ms(CLOCK_REALTIME))) < 0) {
		json_object_put(o);
		return -ENOMEM;
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	ret = text ? lc_write_file_atomic(path, text, strlen(text), 0600) : -ENOMEM;
	json_object_put(o);
	return ret;
}

int lc_reboot_declare(const char *state_dir, const char *boot_id, const struct lc_reboot_reason *r)
{
	return note_write(state_dir, LC_REBOOT_DECLARED_FILE, boot_id, r);
}

int lc_reboot_mark_clean_shutdown(const char *state_dir, const char *boot_id, bool poweroff)
{
	struct lc_reboot_reason r = { .code = poweroff ? 0x0001 : 0x0002 };

	return note_write(state_dir, LC_REBOOT_SHUTDOWN_FILE, boot_id, &r);
}

int lc_reboot_note_read(const char *path, struct lc_reboot_note *ret, const char **ret_why)
{
	_cleanup_free_ char *text = NULL;
	struct lc_reboot_note n = {};
	json_object *o, *reason, *id, *t;
	size_t len;
	int r;

	r = lc_read_file(path, NOTE_MAX, &text, &len);
	if (r == -EFBIG) {
		*ret_why = "larger than 4 KiB";
		return -EINVAL;
	}
	if (r < 0) {
		*ret_why = "unreadable";
		return r;
	}
	o = json_tokener_parse(text);
	if (!json_object_object_get_ex(o, "reason", &reason) ||
	    lc_reboot_reason_from_json(reason, &n.reason) < 0 ||
	    !json_object_object_get_ex(o, "boot_id", &id) ||
	    !json_object_is_type(id, json_type_string) ||
	    !lc_uuid_valid(json_object_get_string(id)) ||
	    !json_object_object_get_ex(o, "realtime_ms", &t) ||
	    !json_object_is_type(t, json_type_int) || json_object_get_int64(t) < 0) {
		json_object_put(o);
		*ret_why = "not a reboot note (expected reason, boot_id and realtime_ms)";
		return -EINVAL;
	}
	memcpy(n.boot_id, json_object_get_string(id), 36);
	n.realtime_ms = (uint64_t)json_object_get_int64(t);
	json_object_put(o);
	*ret = n;
	return 0;
}

#if HAVE_SYSTEMD
/* Asks systemd (over its private socket when we are root, else the system bus) for its jobs. */
static int systemd_shutting_down(bool *ret_poweroff)
{
	static const struct {
		const char *unit;
		bool poweroff;
	} targets[] = {
		{ "reboot.target", false },
		{ "kexec.target", false },
		{ "poweroff.target", true },
		{ "halt.target", true },
	};
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	sd_bus *bus = NULL;
	const char *unit, *type, *state;
	char *system_state = NULL;
	bool stopping = false;
	int r, found = 0;

	r = sd_bus_new(&bus);
	if (r >= 0 && geteuid() == 0) {
		r = sd_bus_set_address(bus, "unix:path=/run/systemd/private");
		if (r >= 0)
			r = sd_bus_start(bus);
	} else {
		r = -EACCES;
	}
	if (r < 0) {
		bus = sd_bus_unref(bus);
		r = sd_bus_open_system(&bus);
		if (r < 0)
			return r;
	}
	(void)sd_bus_set_method_call_timeout(bus, 2 * 1000000ULL);
	r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
			       "org.freedesktop.systemd1.Manager", "ListJobs", &error, &reply,
			       NULL);
	if (r < 0)
		goto out;
	r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "(usssoo)");
	if (r < 0)
		goto out;
	while ((r = sd_bus_message_read(reply, "(usssoo)", NULL, &unit, &type, &state, NULL,
					NULL)) > 0) {
		for (size_t i = 0; i < ARRAY_SIZE(targets); i++)
			if (strcmp(unit, targets[i].unit) == 0 && strcmp(type, "start") == 0) {
				*ret_poweroff = targets[i].poweroff;
				found = 1;
			}
	}
	if (r < 0)
		goto out;
	if (!found &&
	    sd_bus_get_property_string(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
				       "org.freedesktop.systemd1.Manager", "SystemState", &error,
				       &system_state) >= 0)
		stopping = strcmp(system_state, "stopping") == 0;
	if (stopping) {
		*ret_poweroff = false; /* stopping, but for what is not known: say reboot */
		found = 1;
	}
	r = found;
out:
	free(system_state);
	sd_bus_error_free(&error);
	sd_bus_message_unref(reply);
	sd_bus_flush_close_unref(bus);
	return r;
}
#endif

/* The SysV runlevel record of a utmp file: '0' power off, '6' reboot. */
static int utmp_shutting_down(const char *sysroot, bool *ret_poweroff)
{
	_cleanup_free_ char *path = lc_path_prefix(sysroot, "/var/run/utmp");
	_cleanup_close_ int fd = -1;
	struct utmp u;
	int runlevel = -1;
	ssize_t n;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	/* A utmp file holds a few dozen records; stop after 4096 in case it is something else. */
	for (unsigned i = 0; i < 4096; i++) {
		n = read(fd, &u, sizeof(u));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(u))
			break;
		if (u.ut_type == RUN_LVL)
			runlevel = u.ut_pid & 0xFF;
	}
	if (runlevel == '0' || runlevel == '6') {
		*ret_poweroff = runlevel == '0';
		return 1;
	}
	return 0;
}

/*
 * BusyBox init as PID 1, caught shutting down.
 *
 * BusyBox init tells what it runs at shutdown (::shutdown, Buildroot's rcK, and so the init
 * script's stop) nothing at all: no runlevel, no utmp record, no environment, no argument, no
 * file; and one ::shutdown serves reboot, poweroff and halt alike. So the init script cannot tell
 * faultd anything faultd cannot see better itself, and nothing that a stop by hand would not
 * also pass. What does change is PID 1: it installs a handler for SIGTSTP when it starts and, on
 * a reboot, poweroff or halt request, first resets its handlers to the default, then runs
 * ::shutdown, then sends SIGTERM to every process (so does every release since 1.10, 2008).
 * A BusyBox PID 1 without a SIGTSTP handler is therefore shutting down, whether faultd was
 * stopped by rcK or by that last SIGTERM; while the system runs the handler is always there.
 * The handler is the evidence, not the blocked signals: the kernel shows SIGTERM as unblocked
 * while an idle BusyBox init waits for it in sigtimedwait(). The disposition is read from
 * /proc/1/status (SigCgt) and the program from /proc/1/exe (root only, as faultd runs on such
 * systems). Reboot and power off look alike: say reboot. A ::restart (SIGQUIT) looks alike too,
 * but then faultd starts again in the same boot, and the reboot plugin drops the marker.
 */
static int busybox_shutting_down(const char *sysroot, bool *ret_poweroff)
{
	_cleanup_free_ char *exe_path = lc_path_prefix(sysroot, "/proc/1/exe");
	_cleanup_free_ char *status_path = lc_path_prefix(sysroot, "/proc/1/status");
	_cleanup_free_ char *cmdline_path = lc_path_prefix(sysroot, "/proc/1/cmdline");
	_cleanup_free_ char *status = NULL, *cmdline = NULL;
	char exe[PATH_MAX], *end;
	const char *name, *hex;
	unsigned long long caught;
	size_t digits, len;
	ssize_t n;
	int r;

	if (!exe_path || !status_path || !cmdline_path)
		return -ENOMEM;
	n = readlink(exe_path, exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = 0;
	name = strrchr(exe, '/');
	name = name ? name + 1 : exe;
	/* "busybox", "busybox.suid", "busybox (deleted)" after an upgrade replaced it. */
	if (strncmp(name, "busybox", strlen("busybox")) != 0)
		return 0;
	/* Its init applet (/sbin/init, /init, /linuxrc, or "busybox init"), not a shell that a
	 * container runs as PID 1 and that never has a SIGTSTP handler. */
	r = lc_read_file(cmdline_path, 4096, &cmdline, &len);
	if (r < 0)
		return r;
	name = strrchr(cmdline, '/');
	name = name ? name + 1 : cmdline;
	if (strncmp(name, "busybox", strlen("busybox")) == 0)
		name = strlen(cmdline) + 1 < len ? cmdline + strlen(cmdline) + 1 : "";
	if (!streq(name, "init") && !streq(name, "linuxrc"))
		return 0;
	r = lc_read_file(status_path, 64 * 1024, &status, NULL);
	if (r < 0)
		return r;
	hex = strstr(status, "\nSigCgt:");
	if (!hex)
		return -EBADMSG;
	hex += strlen("\nSigCgt:");
	hex += strspn(hex, " \t");
	digits = strspn(hex, "0123456789abcdefABCDEF");
	if (digits == 0 || (hex[digits] != '\n' && hex[digits] != 0))
		return -EBADMSG;
	/* 16 digits, or 32 where there are 128 signals (MIPS): the low 64 hold SIGTSTP. */
	if (digits > 16) {
		hex += digits - 16;
		digits = 16;
	}
	errno = 0;
	caught = strtoull(hex, &end, 16);
	if (errno || end != hex + digits)
		return -EBADMSG;
	if (caught & (1ULL << (SIGTSTP - 1)))
		return 0;
	*ret_poweroff = false;
	return 1;
}

int lc_system_shutting_down(const char *sysroot, bool *ret_poweroff)
{
	bool real_root = !sysroot || !sysroot[0] || strcmp(sysroot, "/") == 0;
	int r, busybox;

#if HAVE_SYSTEMD
	if (real_root && sd_booted() > 0)
		return systemd_shutting_down(ret_poweroff);
#endif
	(void)real_root;
	/* SysV init writes the runlevel it goes to, which also tells power off from reboot. */
	r = utmp_shutting_down(sysroot, ret_poweroff);
	if (r > 0)
		return r;
	busybox = busybox_shutting_down(sysroot, ret_poweroff);
	/* Yes if either says so; no if either could tell; an error only if neither could. */
	return busybox > 0 || r < 0 ? busybox : r;
}
