/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/watchdog.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "evidence.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "text.h"

#define BOOTSTATUS_MAX 64 /* "4294967295\n" with room to spare */
#define WATCHDOGS_MAX  32 /* watchdog devices looked at */

static const char *const source_names[] = {
	[REBOOT_SRC_WATCHDOG] = "watchdog",	  [REBOOT_SRC_PSTORE] = "pstore",
	[REBOOT_SRC_DECLARED] = "declared",	  [REBOOT_SRC_REASON_FILE] = "reason-file",
	[REBOOT_SRC_SHUTDOWN] = "clean-shutdown", [REBOOT_SRC_NONE] = "no-evidence",
	[REBOOT_SRC_FIRST_BOOT] = "first-boot",
};

/* How the summary line names each source. */
static const char *const source_labels[] = {
	[REBOOT_SRC_WATCHDOG] = "watchdog",
	[REBOOT_SRC_PSTORE] = "pstore",
	[REBOOT_SRC_DECLARED] = "declared",
	[REBOOT_SRC_REASON_FILE] = "reason file",
	[REBOOT_SRC_SHUTDOWN] = "clean-shutdown marker",
};

const char *reboot_source_name(enum reboot_source s)
{
	return (size_t)s < ARRAY_SIZE(source_names) ? source_names[s] : "unknown";
}

/* The watchdog's WDIOF_* boot status flags that name a reset cause, strongest first. */
static const struct {
	unsigned flag;
	const char *flag_name;
	uint16_t code; /* when name is NULL */
	const char *name;
} watchdog_causes[] = {
	{ WDIOF_POWERUNDER, "POWERUNDER", 0x8003, NULL }, /* BrownOutReset */
	{ WDIOF_POWEROVER, "POWEROVER", 0, "OverVoltage" },
	{ WDIOF_OVERHEAT, "OVERHEAT", 0, "Overheat" },
	{ WDIOF_FANFAULT, "FANFAULT", 0, "FanFault" },
	{ WDIOF_CARDRESET, "CARDRESET", 0x8005, NULL }, /* HardwareWatchdog */
	{ WDIOF_EXTERN1, "EXTERN1", 0, "ExternalReset1" },
	{ WDIOF_EXTERN2, "EXTERN2", 0, "ExternalReset2" },
};

/* Up to size - 1 bytes of s's first line for a log message, each unprintable byte as '?'.
 * Returns buf. */
static const char *excerpt(const char *s, char *buf, size_t size)
{
	return lc_text_printable_copy(buf, size, s, strcspn(s, "\n"));
}

static void set_ev(struct reboot_source_ev *ev, enum reboot_ev_state state, const char *fmt, ...)
	_printf_(3, 4);

static void set_ev(struct reboot_source_ev *ev, enum reboot_ev_state state, const char *fmt, ...)
{
	va_list ap;

	ev->state = state;
	va_start(ap, fmt);
	vsnprintf(ev->detail, sizeof(ev->detail), fmt, ap);
	va_end(ap);
}

static void set_found(struct reboot_source_ev *ev, const struct lc_reboot_reason *r,
		      const char *prefix)
{
	char name[96];

	ev->reason = *r;
	set_ev(ev, REBOOT_EV_FOUND, "%s%s", prefix, lc_reboot_reason_format(r, name, sizeof(name)));
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Parses a bootstatus file: a decimal number of at most 32 bits, then white space. */
static int bootstatus_parse(const char *text, unsigned *ret)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || v > UINT32_MAX)
		return -EINVAL;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

/* Reads one watchdog's bootstatus into ev when it names a stronger cause than best_rank (an index
 * of watchdog_causes) does. */
static void watchdog_read(const char *dir, const char *name, struct reboot_source_ev *ev,
			  size_t *best_rank)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	char buf[40], flags[96] = "";
	unsigned v, unknown;
	size_t rank = ARRAY_SIZE(watchdog_causes);
	int r;

	if (asprintf(&path, "%s/%s/bootstatus", dir, name) < 0) {
		log_oom();
		return;
	}
	r = lc_read_file(path, BOOTSTATUS_MAX, &text, NULL);
	if (r == -ENOENT) {
		log_debug("%s: no boot status (the driver does not report one).", path);
		return;
	}
	if (r < 0) {
		log_warning_errno(
			r, "%s: cannot read the watchdog's boot status (%m), ignoring it.", path);
		if (ev->state != REBOOT_EV_FOUND)
			set_ev(ev, REBOOT_EV_BAD, "%s: unreadable (%s)", name, strerror(-r));
		return;
	}
	if (bootstatus_parse(text, &v) < 0) {
		log_warning("%s: expected a decimal number, got \"%s\"; ignoring it.", path,
			    excerpt(text, buf, sizeof(buf)));
		if (ev->state != REBOOT_EV_FOUND)
			set_ev(ev, REBOOT_EV_BAD, "%s: not a number", name);
		return;
	}
	unknown = v;
	for (size_t i = 0; i < ARRAY_SIZE(watchdog_causes); i++) {
		if (!(v & watchdog_causes[i].flag))
			continue;
		unknown &= ~watchdog_causes[i].flag;
		snprintf(flags + strlen(flags), sizeof(flags) - strlen(flags), "%s%s",
			 flags[0] ? "|" : "", watchdog_causes[i].flag_name);
		if (rank == ARRAY_SIZE(watchdog_causes))
			rank = i;
	}
	if (unknown)
		log_debug("%s: ignoring boot status flags 0x%x that name no reset cause.", path,
			  unknown);
	if (rank == ARRAY_SIZE(watchdog_causes) || rank >= *best_rank)
		return;
	*best_rank = rank;
	ev->reason = (struct lc_reboot_reason){ .code = watchdog_causes[rank].code };
	if (watchdog_causes[rank].name)
		snprintf(ev->reason.name, sizeof(ev->reason.name), "%s",
			 watchdog_causes[rank].name);
	set_ev(ev, REBOOT_EV_FOUND, "%s bootstatus 0x%x (%s)", name, v, flags);
}

static void watchdog_gather(const char *sysroot, struct reboot_source_ev *ev)
{
	_cleanup_free_ char *dir = lc_path_prefix(sysroot, "/sys/class/watchdog");
	_cleanup_closedir_ DIR *d = NULL;
	char *names[WATCHDOGS_MAX];
	size_t n = 0, best_rank = ARRAY_SIZE(watchdog_causes);
	struct dirent *de;

	if (!dir) {
		log_oom();
		return;
	}
	d = opendir(dir);
	if (!d) {
		if (errno != ENOENT)
			log_warning_errno(errno, "Failed to list %s: %m; ignoring the watchdog.",
					  dir);
		return;
	}
	while ((de = readdir(d)) && n < ARRAY_SIZE(names)) {
		if (strncmp(de->d_name, "watchdog", 8) != 0)
			continue;
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			log_oom();
			break;
		}
		n++;
	}
	if (n > 0)
		qsort(names, n, sizeof(names[0]), name_cmp);
	for (size_t i = 0; i < n; i++) {
		watchdog_read(dir, names[i], ev, &best_rank);
		free(names[i]);
	}
}

/* The pstore source's verdict from the records scanned. */
static void pstore_judge(struct reboot_evidence *ev)
{
	const struct reboot_pstore *ps = &ev->pstore;
	struct reboot_source_ev *src = &ev->src[REBOOT_SRC_PSTORE];
	const struct reboot_pstore_record *pick = NULL;
	static const enum reboot_pstore_kind order[] = {
		REBOOT_PSTORE_PANIC,	REBOOT_PSTORE_OOPS,	  REBOOT_PSTORE_OTHER,
		REBOOT_PSTORE_UNPARSED, REBOOT_PSTORE_UNREADABLE,
	};
	char more[40] = "";

	for (size_t k = 0; k < ARRAY_SIZE(order) && !pick; k++)
		for (size_t i = 0; i < ps->n && !pick; i++)
			if (ps->records[i].kind == order[k])
				pick = &ps->records[i];
	if (!pick)
		return;
	if (ps->n > 1)
		snprintf(more, sizeof(more), " (and %zu more)", ps->n - 1);
	switch (pick->kind) {
	case REBOOT_PSTORE_PANIC:
		src->reason = (struct lc_reboot_reason){ .code = 0x8008 }; /* KernelPanic */
		set_ev(src, REBOOT_EV_FOUND, "%s: Panic%s", pick->rel, more);
		break;
	case REBOOT_PSTORE_OOPS:
		src->reason = (struct lc_reboot_reason){ .name = "KernelOops" };
		ev->pstore_oops_only = true;
		set_ev(src, REBOOT_EV_FOUND, "%s: Oops%s", pick->rel, more);
		break;
	case REBOOT_PSTORE_OTHER:
		set_ev(src, REBOOT_EV_IGNORED, "%s: %s, no crash%s", pick->rel, pick->why, more);
		break;
	default:
		set_ev(src, REBOOT_EV_BAD, "%s: %s%s", pick->rel, pick->why, more);
		break;
	}
}

/* Reads a note of the core (declared reason or clean-shutdown marker) about the ended boot. */
static void note_gather(const struct reboot_input *in, const char *file, const char *what,
			struct reboot_source_ev *ev, bool *ret_remove)
{
	_cleanup_free_ char *path = NULL;
	struct lc_reboot_note note;
	const char *why = NULL;
	int r;

	if (asprintf(&path, "%s/reboot/%s", in->state_dir, file) < 0) {
		log_oom();
		return;
	}
	r = lc_reboot_note_read(path, &note, &why);
	if (r == -ENOENT)
		return;
	*ret_remove = true;
	if (r == -EINVAL) {
		log_warning("%s: %s, discarding the %s.", path, why, what);
		set_ev(ev, REBOOT_EV_BAD, "damaged (%s)", why);
		return;
	}
	if (r < 0) {
		log_warning_errno(r, "%s: cannot read the %s (%m), discarding it.", path, what);
		set_ev(ev, REBOOT_EV_BAD, "unreadable (%s)", strerror(-r));
		return;
	}
	if (streq(note.boot_id, in->boot->boot_id)) {
		/* Written during this boot, e.g. by `faultctl reboot` before a restart of faultd:
		 * it is about the end of this boot, not of the previous one. */
		*ret_remove = false;
		log_debug("%s: written during this boot; kept for its end.", path);
		set_ev(ev, REBOOT_EV_NONE, "none (one for this boot's end is kept)");
		return;
	}
	if (!in->boot->prev_boot_id[0] || !streq(note.boot_id, in->boot->prev_boot_id)) {
		log_warning("%s: written during boot %s, not during the boot that just ended (%s); "
			    "discarding the stale %s.",
			    path, note.boot_id,
			    in->boot->prev_boot_id[0] ? in->boot->prev_boot_id : "unknown", what);
		set_ev(ev, REBOOT_EV_IGNORED, "stale (boot %.8s)", note.boot_id);
		return;
	}
	set_found(ev, &note.reason, "");
}

static bool file_id_equal(const struct reboot_file_id *a, const struct reboot_file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns;
}

/* Reads the integrator's reason file: a code, a name or "!name" in at most 256 bytes. */
static void reason_file_gather(const struct reboot_input *in, struct reboot_evidence *ev)
{
	struct reboot_source_ev *src = &ev->src[REBOOT_SRC_REASON_FILE];
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	struct lc_reboot_reason reason;
	const char *why = NULL;
	struct stat st;
	char buf[40];
	size_t len;
	int r;

	if (!in->reason_file) {
		set_ev(src, REBOOT_EV_NONE, "not configured");
		return;
	}
	fd = open(in->reason_file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return;
		log_warning_errno(errno,
				  "%s: cannot open the reboot reason file (%m), ignoring it.",
				  in->reason_file);
		ev->reason_file_present = true;
		set_ev(src, REBOOT_EV_BAD, "unreadable (%s)", strerror(errno));
		return;
	}
	ev->reason_file_present = true;
	if (fstat(fd, &st) < 0) {
		log_warning_errno(errno,
				  "%s: cannot stat the reboot reason file (%m), ignoring it.",
				  in->reason_file);
		set_ev(src, REBOOT_EV_BAD, "unreadable (%s)", strerror(errno));
		return;
	}
	ev->reason_file_id = (struct reboot_file_id){
		.dev = (uint64_t)st.st_dev,
		.ino = (uint64_t)st.st_ino,
		.size = (uint64_t)st.st_size,
		.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
	};
	ev->reason_file_id_valid = true;
	if (in->used_reason_file && file_id_equal(in->used_reason_file, &ev->reason_file_id)) {
		log_info("%s: used at an earlier boot already (it could not be deleted), ignoring "
			 "it.",
			 in->reason_file);
		set_ev(src, REBOOT_EV_IGNORED, "used before");
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warning("%s: the reboot reason file is not a regular file, ignoring it.",
			    in->reason_file);
		set_ev(src, REBOOT_EV_BAD, "not a regular file");
		return;
	}
	r = lc_read_fd(fd, REBOOT_REASON_FILE_MAX, &text, &len);
	if (r == -EFBIG) {
		log_warning("%s: the reboot reason file holds more than %d bytes, ignoring it.",
			    in->reason_file, REBOOT_REASON_FILE_MAX);
		set_ev(src, REBOOT_EV_BAD, "larger than %d bytes", REBOOT_REASON_FILE_MAX);
		return;
	}
	if (r < 0) {
		log_warning_errno(r, "%s: cannot read the reboot reason file (%m), ignoring it.",
				  in->reason_file);
		set_ev(src, REBOOT_EV_BAD, "unreadable (%s)", strerror(-r));
		return;
	}
	if (strlen(text) != len) {
		log_warning("%s: the reboot reason file holds a NUL byte, ignoring it.",
			    in->reason_file);
		set_ev(src, REBOOT_EV_BAD, "not text");
		return;
	}
	if (lc_reboot_reason_parse(text, &reason, &why) < 0) {
		log_warning("%s: %s: \"%s\", ignoring it.", in->reason_file, why,
			    excerpt(text, buf, sizeof(buf)));
		set_ev(src, REBOOT_EV_BAD, "invalid (%s)", excerpt(text, buf, sizeof(buf)));
		return;
	}
	set_found(src, &reason, "");
}

int reboot_evidence_gather(const struct reboot_input *in, struct reboot_evidence *ret)
{
	struct reboot_evidence ev = {};
	int r;

	watchdog_gather(in->sysroot, &ev.src[REBOOT_SRC_WATCHDOG]);
	r = reboot_pstore_scan(in->sysroot, in->state_dir, &ev.pstore);
	if (r < 0)
		return r;
	pstore_judge(&ev);
	note_gather(in, LC_REBOOT_DECLARED_FILE, "declared reboot reason",
		    &ev.src[REBOOT_SRC_DECLARED], &ev.remove_declared);
	note_gather(in, LC_REBOOT_SHUTDOWN_FILE, "clean-shutdown marker",
		    &ev.src[REBOOT_SRC_SHUTDOWN], &ev.remove_shutdown);
	reason_file_gather(in, &ev);
	*ret = ev;
	return 0;
}

void reboot_evidence_done(struct reboot_evidence *ev)
{
	reboot_pstore_done(&ev->pstore);
	*ev = (struct reboot_evidence){};
}

/* An Oops says the kernel was hurt, not that it died of it: after a clean shutdown the
 * weaker sources know better. */
static bool pstore_decisive(const struct reboot_evidence *ev)
{
	return !ev->pstore_oops_only || ev->src[REBOOT_SRC_SHUTDOWN].state != REBOOT_EV_FOUND;
}

void reboot_decide(const struct reboot_evidence *ev, const struct lc_reboot_reason *unclean,
		   struct reboot_decision *ret)
{
	for (size_t s = 0; s < REBOOT_SRC_COUNT; s++) {
		if (ev->src[s].state != REBOOT_EV_FOUND)
			continue;
		if (s == REBOOT_SRC_PSTORE && !pstore_decisive(ev))
			continue;
		*ret = (struct reboot_decision){ .reason = ev->src[s].reason, .source = s };
		return;
	}
	*ret = (struct reboot_decision){ .reason = *unclean, .source = REBOOT_SRC_NONE };
}

const char *reboot_source_text(const struct reboot_evidence *ev, enum reboot_source s, char *buf,
			       size_t size)
{
	const struct reboot_source_ev *src = &ev->src[s];

	if (!src->detail[0])
		snprintf(buf, size, "none");
	else if (s == REBOOT_SRC_PSTORE && !pstore_decisive(ev))
		snprintf(buf, size, "%s (not decisive after a clean shutdown)", src->detail);
	else
		snprintf(buf, size, "%s", src->detail);
	return buf;
}

char *reboot_summary(const struct reboot_evidence *ev, const struct reboot_decision *d, char *buf,
		     size_t size)
{
	char name[96], text[224];
	const char *sep = "";
	size_t len;

	lc_reboot_reason_format(&d->reason, name, sizeof(name));
	if (d->source == REBOOT_SRC_FIRST_BOOT)
		snprintf(buf, size,
			 "First start with this state directory: nothing is recorded about "
			 "the boot before it, and its evidence is used up: ");
	else if (d->source < REBOOT_SRC_COUNT)
		snprintf(buf, size, "Previous boot ended: %s, from %s (%s); also: ", name,
			 source_labels[d->source],
			 reboot_source_text(ev, d->source, text, sizeof(text)));
	else
		snprintf(buf, size,
			 "Previous boot ended: %s, from no evidence (unclean_reason): ", name);
	for (size_t s = 0; s < REBOOT_SRC_COUNT; s++) {
		if (s == (size_t)d->source)
			continue;
		len = strlen(buf);
		snprintf(buf + len, size - len, "%s%s: %s", sep, source_labels[s],
			 reboot_source_text(ev, s, text, sizeof(text)));
		sep = ", ";
	}
	len = strlen(buf);
	snprintf(buf + len, size - len, ".");
	return buf;
}

static void note_remove(const char *state_dir, const char *file)
{
	_cleanup_free_ char *path = NULL;

	if (asprintf(&path, "%s/reboot/%s", state_dir, file) < 0) {
		log_oom();
		return;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		log_warning_errno(errno, "Failed to remove %s: %m", path);
}

void reboot_evidence_drop_own_marker(const char *state_dir, const struct lc_boot_info *boot)
{
	_cleanup_free_ char *path = NULL;
	struct lc_reboot_note note;
	const char *why;

	if (asprintf(&path, "%s/reboot/%s", state_dir, LC_REBOOT_SHUTDOWN_FILE) < 0) {
		log_oom();
		return;
	}
	/* Anything else is for the gathering to judge. */
	if (lc_reboot_note_read(path, &note, &why) < 0 || !streq(note.boot_id, boot->boot_id))
		return;
	if (unlink(path) < 0 && errno != ENOENT)
		log_warning_errno(errno, "Failed to remove %s: %m", path);
	else
		log_notice("%s: written during this boot, which goes on after all; removed.", path);
}

void reboot_evidence_consume(const struct reboot_input *in, const struct reboot_evidence *ev)
{
	const struct lc_boot_info *boot = in->boot;

	if (ev->remove_declared)
		note_remove(in->state_dir, LC_REBOOT_DECLARED_FILE);
	if (ev->remove_shutdown)
		note_remove(in->state_dir, LC_REBOOT_SHUTDOWN_FILE);
	if (ev->reason_file_present && in->reason_file && unlink(in->reason_file) < 0 &&
	    errno != ENOENT) {
		if (ev->src[REBOOT_SRC_REASON_FILE].state == REBOOT_EV_IGNORED)
			log_debug_errno(errno, "Failed to delete %s again: %m", in->reason_file);
		else
			log_warning_errno(errno,
					  "Failed to delete the reboot reason file %s: %m; "
					  "last.json remembers it so that it is not used "
					  "again.",
					  in->reason_file);
	}
	reboot_pstore_consume(in->sysroot, in->state_dir,
			      boot->prev_boot_id[0] ? boot->prev_boot_id : "unknown", &ev->pstore);
}
