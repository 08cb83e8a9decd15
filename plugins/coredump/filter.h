/* SPDX-License-Identifier: MIT */
/*
 * Coredump filters (coredump.filters, docs/coredumps.md "Filters"): rules that limit, or forbid,
 * the cores stored for some crashes, each with a rate limit of its own kept across crashes and
 * reboots in <state_dir>/coredump-filters.json. The first rule that matches a crash decides; a
 * crash no rule matches is left to the other decisions. A filtered crash is still a crash: only
 * its core is at stake. filter.c holds the rules (faultd links it for the schema's check);
 * filter-state.c the rate limits' record (faultd-core-handler's alone).
 *
 * One rule is one string of space-separated words, at least one matcher, all given ones must
 * match:
 *   path:PATH         the executable is PATH or lies below it ("/usr/bin" and "/usr/bin/" both
 *                     match /usr/bin/x, neither matches /usr/bin2/x); absolute, no "." or ".."
 *   process:NAME      the process name (/proc/<pid>/comm, at most 15 bytes) is NAME
 *   signal:SIG        the signal is SIG: SIGSEGV, SEGV (any case) or 11; one that dumps core
 *   limit:N/SECONDS   at most N cores per SECONDS; without it, or with N 0, none
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COREDUMP_FILTERS_MAX	       32     /* items of coredump.filters */
#define COREDUMP_FILTER_TEXT_MAX       512    /* bytes of one item */
#define COREDUMP_FILTER_COUNT_MAX      1000   /* N of limit:N/SECONDS */
#define COREDUMP_FILTER_SECONDS_MAX    604800 /* SECONDS of limit:N/SECONDS, a week */
#define COREDUMP_FILTER_STATE_FILE     "coredump-filters.json"
#define COREDUMP_FILTER_STATE_FILE_MAX (1024 * 1024)

struct coredump_filters;

/* Checks one rule as the configuration holds it (the schema's check hook). Returns 0, or -EINVAL
 * with why (why_size bytes) saying what is wrong, such as: unknown signal "SIGFOO". */
int coredump_filter_check(const char *text, char *why, size_t why_size);

/*
 * Parses the rules (a NULL-terminated list, as lc_config_get_strv() gives coredump.filters;
 * NULL is none) into *ret. Returns 0; -EINVAL with *ret_error (owned by the caller) such as
 * "coredump.filters: item 2: unknown signal "SIGFOO"" when a rule is wrong or there are more than
 * COREDUMP_FILTERS_MAX; -ENOMEM. On failure *ret is untouched.
 */
int coredump_filters_parse(const char *const *rules, struct coredump_filters **ret,
			   char **ret_error);

/* Frees filters; accepts NULL and returns NULL. */
struct coredump_filters *coredump_filters_free(struct coredump_filters *f);

/* The index of the first rule that matches a crash of the program at exe_path (NULL: unknown,
 * which no path matches; a trailing " (deleted)" is ignored) named comm (NULL: unknown) by
 * signal, or -1 when none does. */
int coredump_filters_match(const struct coredump_filters *f, const char *exe_path, const char *comm,
			   int signal);

/* The text of rule, as configured: for logs, and what identifies its state. NULL for a rule
 * that is not there. */
const char *coredump_filter_text(const struct coredump_filters *f, int rule);

/* The limit of rule: the cores it allows (0: none) per *ret_interval_ms (NULL: not wanted). */
unsigned coredump_filter_limit(const struct coredump_filters *f, int rule,
			       uint64_t *ret_interval_ms);

/*
 * The rate limit of rule (an index coredump_filters_match() gave) for a core at now_ms (Unix
 * ms): *ret_allowed says whether it may be stored and, when it may, the core is counted in
 * <state_dir>/COREDUMP_FILTER_STATE_FILE, updated atomically under an flock of
 * <state_dir>/COREDUMP_FILTER_STATE_FILE.lock. State is kept per rule text, so an edited rule
 * starts afresh; rules no longer configured are forgotten; a damaged file is started afresh
 * (logged). A rule with N 0 is decided without the file. Call it last among the decisions that
 * can refuse a core, so that refused cores do not spend the rule's allowance. Returns 0, or
 * -errno (then *ret_allowed is untouched).
 */
int coredump_filter_take(const char *state_dir, const struct coredump_filters *f, int rule,
			 uint64_t now_ms, bool *ret_allowed);
