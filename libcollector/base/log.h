/* SPDX-License-Identifier: MIT */
/*
 * Logging: to the journal with structured fields when stderr is connected to it (or when asked),
 * to syslog, or to stderr. Messages from one call site are rate-limited so that a failure
 * repeating in a loop cannot flood flash or the journal; the next message from that site says
 * how many were suppressed.
 */
#pragma once

#include <syslog.h>

#include "macro.h"

enum lc_log_target {
	LC_LOG_TARGET_AUTO, /* journal if stderr is the journal's stream, else stderr */
	LC_LOG_TARGET_STDERR,
	LC_LOG_TARGET_JOURNAL, /* falls back to stderr when built without libsystemd */
	LC_LOG_TARGET_SYSLOG,
};

/* Sets the identifier (e.g. "faultd") and target; may be called again to change them. */
void lc_log_open(const char *ident, enum lc_log_target target);

/* Messages above level (a LOG_* priority) are dropped; the default is LOG_INFO. */
void lc_log_set_max_level(int level);
int lc_log_get_max_level(void);

/* Parses "debug", "info", "notice", "warning", "err"/"error", "crit"; returns LOG_* or -EINVAL. */
int lc_log_level_from_string(const char *s);

/* Parses "auto", "journal", "syslog", "stderr" (the log_target setting); returns the target or
 * -EINVAL. */
int lc_log_target_from_string(const char *s);

/* Turns per-call-site rate limiting on or off (on by default; tests switch it off). */
void lc_log_set_ratelimit(bool on);

/*
 * Logs one message; "%m" in fmt stands for strerror(error). Returns -abs(error) so callers can
 * write "return log_error_errno(r, ...)"; returns 0 when error is 0.
 */
int lc_log_internal(int level, int error, const char *file, int line, const char *func,
		    const char *fmt, ...) _printf_(6, 7);

#define lc_log_full_errno(level, error, ...) \
	lc_log_internal((level), (error), __FILE__, __LINE__, __func__, __VA_ARGS__)

#define log_debug(...)		  ((void)lc_log_full_errno(LOG_DEBUG, 0, __VA_ARGS__))
#define log_info(...)		  ((void)lc_log_full_errno(LOG_INFO, 0, __VA_ARGS__))
#define log_notice(...)		  ((void)lc_log_full_errno(LOG_NOTICE, 0, __VA_ARGS__))
#define log_warning(...)	  ((void)lc_log_full_errno(LOG_WARNING, 0, __VA_ARGS__))
#define log_error(...)		  ((void)lc_log_full_errno(LOG_ERR, 0, __VA_ARGS__))

#define log_debug_errno(e, ...)	  lc_log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...)	  lc_log_full_errno(LOG_INFO, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) lc_log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...)	  lc_log_full_errno(LOG_ERR, (e), __VA_ARGS__)

/* Returns -ENOMEM after logging it once at error level. */
#define log_oom() lc_log_full_errno(LOG_ERR, ENOMEM, "Out of memory.")
