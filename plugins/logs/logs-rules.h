/* SPDX-License-Identifier: MIT */
/*
 * The logs plugin's rules (docs/logs.md, "Filters, redaction and metrics"): filters that drop
 * lines (logs.filters), patterns replaced inside kept messages (logs.redact) and log-to-metrics
 * rules that count matching lines into heartbeat counters (logs.metrics), each a PCRE2 pattern
 * compiled once, matched under limits so that no pattern can stall the loop. Pure: free of the
 * plugin API, so that its tests and the fuzz target link only it.
 *
 * One rule is one string:
 *   filter:  [unit:PATTERN] [identifier:PATTERN] [message:PATTERN]   (at least one)
 *   redact:  PATTERN
 *   metric:  KEY [unit:PATTERN] [identifier:PATTERN] message:PATTERN
 *   failure: KIND [unit:PATTERN] [identifier:PATTERN] message:PATTERN
 * A unit or identifier pattern ends at the next space and must match the whole field (a line
 * without the field does not match); the message pattern is the rest of the string and is
 * searched for. KEY is [A-Za-z0-9_./-] with $0 to $9 standing for the message pattern's groups.
 * KIND is a failure kind as failure-kind.h has it, without groups (logs.failures).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "logs-record.h"

#define LOGS_RULES_MAX	   32	  /* items of each of logs.filters, .redact, .metrics, .failures */
#define LOGS_RULE_TEXT_MAX 1024	  /* bytes of one item */
#define LOGS_PATTERN_MAX   512	  /* bytes of one pattern */
#define LOGS_KEY_MAX	   128	  /* bytes of a metric key, as the metric store takes them */
#define LOGS_MATCH_LIMIT   100000 /* pcre2_set_match_limit() */
#define LOGS_DEPTH_LIMIT   5000	  /* pcre2_set_depth_limit() */
#define LOGS_HEAP_LIMIT	   1024	  /* pcre2_set_heap_limit(), KiB */
#define LOGS_REDACT_SPANS  64	  /* replacements in one message; the rest of it goes too */
#define LOGS_REDACTED	   "[REDACTED]"

enum logs_rule_kind {
	LOGS_RULE_FILTER,
	LOGS_RULE_REDACT,
	LOGS_RULE_METRIC,
	LOGS_RULE_FAILURE,
	LOGS_RULE_KINDS,
};

/* The built-in rules' names, NULL-terminated: logs.redact_builtin, logs.metrics_builtin. */
extern const char *const logs_redact_builtins[];
extern const char *const logs_metric_builtins[];

/* What one rule did, for `faultctl logs`. */
struct logs_rule_stats {
	const char *text;      /* the rule as configured, or the built-in's name */
	bool builtin;	       /* text is a built-in's name */
	uint64_t hits;	       /* lines dropped, matches replaced, lines counted */
	uint64_t over_key_cap; /* metric: lines counted under the rule's "_other" key */
};

struct logs_rules;

/*
 * Checks one rule of kind as the configuration holds it: its syntax, its patterns (compiled and
 * freed), its key. Returns 0, or -EINVAL with why (why_size bytes) saying what is wrong, PCRE2's
 * message and the offset in the item included; -ENOMEM.
 */
int logs_rule_check(enum logs_rule_kind kind, const char *text, char *why, size_t why_size);

/* New rules, none yet; a metric rule counts at most max_keys distinct keys an interval. NULL on
 * OOM. */
struct logs_rules *logs_rules_new(unsigned max_keys);

/* Frees rules; accepts NULL and returns NULL. */
struct logs_rules *logs_rules_free(struct logs_rules *rs);

/* Adds a rule of kind from its text (see above), or the built-in of that name when builtin is
 * true. Returns 0; -EINVAL (why says why), -ENOENT for an unknown built-in, -E2BIG beyond
 * LOGS_RULES_MAX and the built-ins, -ENOMEM. */
int logs_rules_add(struct logs_rules *rs, enum logs_rule_kind kind, const char *text, bool builtin,
		   char *why, size_t why_size);

/* How many rules of kind there are, and what rule i did. */
size_t logs_rules_count(const struct logs_rules *rs, enum logs_rule_kind kind);
const struct logs_rule_stats *logs_rules_stats(const struct logs_rules *rs,
					       enum logs_rule_kind kind, size_t i);

/* Matches that failed on a PCRE2 limit or error: a filter keeps the line, a redaction replaces
 * the rest of the message, a metric rule does not count. */
uint64_t logs_rules_errors(const struct logs_rules *rs);

/* Whether a filter drops r (its hits are counted). */
bool logs_rules_filter(struct logs_rules *rs, const struct logs_record *r);

/*
 * Writes msg (len bytes) into out (out_size > 0 bytes), each match of a redaction replaced by
 * LOGS_REDACTED; a message with more than LOGS_REDACT_SPANS of them, or on which a pattern fails,
 * is replaced from there to its end. What does not fit in out is left out. Returns the length
 * written and the number of replacements in *ret_count; with none, 0 and out untouched: msg
 * stands as it is.
 */
size_t logs_rules_redact(struct logs_rules *rs, const char *msg, size_t len, char *out,
			 size_t out_size, unsigned *ret_count);

/* Called with each key a metric rule counts a line under. */
typedef void (*logs_rules_count_t)(const char *key, size_t len, void *userdata);

/*
 * Runs the metric rules on r: each rule that matches calls count with its key, the groups put in
 * (a group overlapping what redaction replaces as "REDACTED"), sanitized to [A-Za-z0-9_./-] and
 * cut to LOGS_KEY_MAX; beyond the rule's max_keys distinct keys in this interval, with each group
 * as "_other". A built-in rule does not count the same event twice (an OOM kill's two lines).
 */
void logs_rules_metrics(struct logs_rules *rs, const struct logs_record *r,
			logs_rules_count_t count, void *userdata);

/* Called with the kind of each failure rule that matches a line. */
typedef void (*logs_rules_failure_t)(const char *kind, void *userdata);

/* Runs the failure rules on r: each rule that matches counts a hit and calls failure with its
 * kind. */
void logs_rules_failures(struct logs_rules *rs, const struct logs_record *r,
			 logs_rules_failure_t failure, void *userdata);

/* A new heartbeat interval: each metric rule may count max_keys new distinct keys. */
void logs_rules_interval(struct logs_rules *rs);

/* Makes key (len bytes) a metric key in place: a byte outside [A-Za-z0-9_./-] becomes '_'; cut to
 * LOGS_KEY_MAX. Returns the new length. */
size_t logs_key_sanitize(char *key, size_t len);
