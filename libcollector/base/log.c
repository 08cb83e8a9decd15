/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "build-config.h"
#include "clock.h"
#include "log.h"
#include "ratelimit.h"

#if HAVE_SYSTEMD
#include <systemd/sd-journal.h>
#endif

#define LOG_LINE_MAX	 2048
#define RL_SLOTS	 128
#define RL_INTERVAL_USEC (30ULL * 1000000ULL)
#define RL_BURST	 10

struct rl_slot {
	const char *file; /* call site: file pointer plus line identifies it */
	int line;
	struct lc_ratelimit rl;
};

static const char *log_ident = "faultd";
static enum lc_log_target log_target = LC_LOG_TARGET_STDERR;
static int log_max_level = LOG_INFO;
static bool log_ratelimit_on = true;
static bool log_syslog_open;
static struct rl_slot rl_slots[RL_SLOTS];

/* True when stderr is the journal's stream: systemd sets JOURNAL_STREAM to its "dev:ino". */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void lc_log_open(const char *ident, enum lc_log_target target)
{
	if (ident)
		log_ident = ident;
	if (target == LC_LOG_TARGET_AUTO)
		target = stderr_is_journal() ? LC_LOG_TARGET_JOURNAL : LC_LOG_TARGET_STDERR;
#if !HAVE_SYSTEMD
	if (target == LC_LOG_TARGET_JOURNAL)
		target = LC_LOG_TARGET_STDERR;
#endif
	if (target == LC_LOG_TARGET_SYSLOG && !log_syslog_open) {
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_syslog_open = true;
	}
	log_target = target;
}

void lc_log_set_max_level(int level)
{
	log_max_level = level;
}

int lc_log_get_max_level(void)
{
	return log_max_level;
}

void lc_log_set_ratelimit(bool on)
{
	log_ratelimit_on = on;
}

int lc_log_level_from_string(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} table[] = {
		{ "debug", LOG_DEBUG },	    { "info", LOG_INFO }, { "notice", LOG_NOTICE },
		{ "warning", LOG_WARNING }, { "err", LOG_ERR },	  { "error", LOG_ERR },
		{ "crit", LOG_CRIT },
	};

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (streq(s, table[i].name))
			return table[i].level;
	return -EINVAL;
}

static const char *level_name(int level)
{
	switch (level) {
	case LOG_DEBUG:
		return "debug";
	case LOG_INFO:
		return "info";
	case LOG_NOTICE:
		return "notice";
	case LOG_WARNING:
		return "warning";
	case LOG_ERR:
		return "error";
	default:
		return "critical";
	}
}

/* Returns false when this call site is over its limit; *ret_suppressed counts what it refused. */
static bool site_allowed(const char *file, int line, unsigned *ret_suppressed)
{
	uintptr_t h = ((uintptr_t)file >> 3) * 31u + (uintptr_t)line;
	struct rl_slot *s = &rl_slots[h % RL_SLOTS];

	*ret_suppressed = 0;
	if (!log_ratelimit_on)
		return true;
	if (s->file != file || s->line != line) {
		/* A collision evicts the older site; it starts a fresh window when it comes back.
		 */
		*s = (struct rl_slot){ .file = file, .line = line };
		s->rl.interval_usec = RL_INTERVAL_USEC;
		s->rl.burst = RL_BURST;
	}
	return lc_ratelimit_below(&s->rl, lc_clock_us(CLOCK_MONOTONIC), ret_suppressed);
}

static void emit(int level, int error, const char *file, int line, const char *func,
		 const char *msg)
{
	switch (log_target) {
#if HAVE_SYSTEMD
	case LC_LOG_TARGET_JOURNAL: {
		char code_line[32], errno_field[32];

		snprintf(code_line, sizeof(code_line), "CODE_LINE=%d", line);
		snprintf(errno_field, sizeof(errno_field), "ERRNO=%d", error);
		/* sd_journal_send takes printf formats: pass the message through "%s". */
		sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%i", level, "SYSLOG_IDENTIFIER=%s",
				log_ident, "CODE_FILE=%s", file, "%s", code_line, "CODE_FUNC=%s",
				func, error ? "%s" : NULL, errno_field, NULL);
		return;
	}
#endif
	case LC_LOG_TARGET_SYSLOG:
		syslog(level, "%s", msg);
		return;
	default:
		(void)error;
		(void)file;
		(void)line;
		(void)func;
		fprintf(stderr, "%s: %s: %s\n", log_ident, level_name(level), msg);
		return;
	}
}

int lc_log_internal(int level, int error, const char *file, int line, const char *func,
		    const char *fmt, ...)
{
	char buf[LOG_LINE_MAX];
	unsigned suppressed;
	int saved_errno = errno;
	va_list ap;

	if (error < 0)
		error = -error;

	if (level > log_max_level)
		goto out;
	if (!site_allowed(file, line, &suppressed))
		goto out;
	if (suppressed > 0) {
		snprintf(buf, sizeof(buf), "(%u similar messages suppressed)", suppressed);
		emit(level, 0, file, line, func, buf);
	}

	errno = error; /* for %m */
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	emit(level, error, file, line, func, buf);
out:
	errno = saved_errno;
	return -error;
}

int lc_log_target_from_string(const char *s)
{
	static const char *const names[] = {
		[LC_LOG_TARGET_AUTO] = "auto",
		[LC_LOG_TARGET_STDERR] = "stderr",
		[LC_LOG_TARGET_JOURNAL] = "journal",
		[LC_LOG_TARGET_SYSLOG] = "syslog",
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (streq(s, names[i]))
			return (int)i;
	return -EINVAL;
}
