/* SPDX-License-Identifier: MIT */
/*
 * The logs plugin's filters, redaction and log-to-metrics rules (logs-rules.h), on PCRE2. Patterns
 * are compiled once, match bytes (not UTF-8 characters: a message may hold any byte) and run under
 * a match, depth and heap limit; JIT is used where PCRE2 has it.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failure-kind.h"
#include "logs-rules.h"
#include "macro.h"

#define GROUPS	       10 /* $0 to $9 */
#define PARENS_LIMIT   64
#define OTHER	       "_other"
#define REDACTED_GROUP "REDACTED"
#define RULES_CAP      (LOGS_RULES_MAX + 8) /* the configured ones and the built-ins */

const char *const logs_redact_builtins[] = { "email", "secret", "private_key", NULL };
const char *const logs_metric_builtins[] = {
	"oom_kill",    "unit_restart",	 "unit_failed", "unit_main_exit",
	"kernel_oops", "kernel_warning", "segfault",	NULL,
};

/* A built-in rule: its text in the syntax of its kind, and for a metric a group that names the
 * event, so that two lines of one event count once. */
struct builtin {
	const char *name;
	const char *text;
	int once_group;
};

static const struct builtin redact_table[] = {
	{ "email", "[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\\.[A-Za-z0-9-]{1,63}){0,8}"
		   "\\.[A-Za-z]{2,24}\\b" },
	/* The value after password=, token: ..., or a bearer token; the name stays. */
	{ "secret", "(?i)(?:\\b(?:password|passwd|secret|token|api_?key|access_?key|private_?key|"
		    "client_?secret)\\s{0,4}[=:]\\s{0,4}|\\bbearer\\s{1,4})\\K(?:\"[^\"]*\"|'[^']*'"
		    "|[^\\s,;&]+)" },
	/* A PEM private key, to its END line or to the end of the message. */
	{ "private_key", "-----BEGIN ((?:[A-Z0-9]+ ){0,4}PRIVATE KEY)-----(?s:.*?)"
			 "(?:-----END \\1-----|\\z)" },
};

static const struct builtin metric_table[] = {
	/* The kernel names an OOM kill in one line (Killed process), or two: "oom-kill:...,task=,
	 * pid=" and then Killed process; older kernels "Kill process N (name) score..." first. */
	{ "oom_kill",
	  "oom_kill/$1 identifier:kernel message:(?|oom-kill:.*?,task=([^,]{1,64}),pid=(\\d+)|"
	  "Kill(?:ed)? process (?=\\d+ \\(([^)]{0,64})\\))(\\d+))",
	  2 },
	{ "unit_restart",
	  "unit_restart/$1 identifier:systemd message:^(\\S{1,256}): Scheduled restart job, "
	  "restart counter is at \\d+" },
	{ "unit_failed", "unit_failed/$1 identifier:systemd message:^(\\S{1,256}): Failed with "
			 "result '" },
	{ "unit_main_exit", "unit_main_exit/$1 identifier:systemd message:^(\\S{1,256}): Main "
			    "process exited, code=(?!exited, status=0/)" },
	{ "kernel_oops", "kernel_oops identifier:kernel message:\\bOops\\b.{0,128}\\[#\\d+\\]" },
	{ "kernel_warning",
	  "kernel_warning identifier:kernel message:^WARNING: CPU: \\d+ PID: \\d+ " },
	{ "segfault",
	  "segfault/$1 identifier:kernel message:(?:^|\\s)(\\S{1,64})\\[\\d+\\]: segfault at " },
};

/*
 * What a built-in rule cannot match without, checked before PCRE2 runs it: the built-ins run on
 * every line and PCRE2 was a fifth of faultd's CPU per line (docs/benchmarks.md). SYSLOG_IDENTIFIER
 * is exactly identifier (each built-in's identifier pattern is that literal, which the whole field
 * must match), and MESSAGE holds at least one of need[] (in any ASCII case when fold). Exact, not
 * a guess: every match of the pattern holds one of the literals, for the reason given with each,
 * so a line the check turns away is one the pattern does not match either (a match that would
 * fail on a PCRE2 limit on such a line is no longer counted as a rule error: there was nothing to
 * find). tests/unit/test-logs-rules-need.c checks it on generated lines. Keep it in step with the
 * patterns above.
 */
struct builtin_need {
	const char *name;
	const char *identifier; /* NULL: any */
	bool fold;
	const char *need[5]; /* NULL-terminated unless full */
};

static const struct builtin_need builtin_needs[] = {
	/* The '@' between the local part and the domain is a literal of the pattern. */
	{ "email", NULL, false, { "@" } },
	/* (?i) applies to the whole pattern and, without PCRE2_UTF, folds ASCII letters only.
	 * Either a name (password, passwd: "passw"; secret, client_?secret: "secret"; token;
	 * api_?key, access_?key, private_?key: "key") or "bearer". */
	{ "secret", NULL, true, { "passw", "secret", "token", "key", "bearer" } },
	{ "private_key", NULL, false, { "-----BEGIN " } },
	/* The first alternative begins with the literal "oom-kill:", the second is "Kill process "
	 * or "Killed process ". */
	{ "oom_kill", "kernel", false, { "oom-kill:", " process " } },
	/* In each of the next three, what follows the unit's name is a literal. */
	{ "unit_restart", "systemd", false, { ": Scheduled restart job, restart counter is at " } },
	{ "unit_failed", "systemd", false, { ": Failed with result '" } },
	{ "unit_main_exit", "systemd", false, { ": Main process exited, code=" } },
	{ "kernel_oops", "kernel", false, { "Oops" } },
	{ "kernel_warning", "kernel", false, { "WARNING: CPU: " } },
	{ "segfault", "kernel", false, { "]: segfault at " } },
};

static const struct builtin_need *builtin_need_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(builtin_needs); i++)
		if (streq(builtin_needs[i].name, name))
			return &builtin_needs[i];
	return NULL;
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* Whether s (len bytes) holds one of nd's literals. */
static bool need_met(const struct builtin_need *nd, const char *s, size_t len)
{
	if (!nd->fold) {
		for (size_t k = 0; k < ARRAY_SIZE(nd->need) && nd->need[k]; k++)
			if (len && memmem(s, len, nd->need[k], strlen(nd->need[k])))
				return true;
		return false;
	}
	/* The literals are lower case and begin with a letter: a mask of their first letters
	 * passes over most bytes at the cost of a lookup. c | 0x20 is a lower-case letter for an
	 * ASCII letter only. */
	uint32_t first = 0;

	for (size_t k = 0; k < ARRAY_SIZE(nd->need) && nd->need[k]; k++)
		first |= UINT32_C(1) << (nd->need[k][0] - 'a');
	for (size_t i = 0; i < len; i++) {
		unsigned c = ((unsigned char)s[i] | 0x20) - 'a';

		if (c >= 26 || !(first & (UINT32_C(1) << c)))
			continue;
		for (size_t k = 0; k < ARRAY_SIZE(nd->need) && nd->need[k]; k++) {
			const char *lit = nd->need[k];
			size_t j = 1;

			if ((unsigned)(lit[0] - 'a') != c)
				continue;
			while (lit[j] && i + j < len && ascii_lower(s[i + j]) == lit[j])
				j++;
			if (!lit[j])
				return true;
		}
	}
	return false;
}

struct logs_rule {
	struct logs_rule_stats stats;
	char *text;
	pcre2_code *unit, *identifier, *message;
	char *key;	 /* metric: the key, with $N */
	bool key_groups; /* the key has a $N */
	int once_group;	 /* 0, or the group naming the event */
	uint64_t once_last;
	bool once_set;
	uint64_t *keys; /* hashes of the keys counted in this interval */
	unsigned n_keys;
	const struct builtin_need *need; /* a built-in's: checked before its patterns run */
};

struct span {
	size_t start, end;
};

struct logs_rules {
	unsigned max_keys;
	struct logs_rule rules[LOGS_RULE_KINDS][RULES_CAP];
	size_t n[LOGS_RULE_KINDS];
	pcre2_compile_context *cctx;
	pcre2_match_context *mctx;
	pcre2_match_data *md, *md_spans;
	uint64_t errors;
	struct span spans[LOGS_REDACT_SPANS + 1];
};

/* A rule taken apart: pointers into its text. */
struct parsed {
	const char *key, *unit, *identifier, *message;
	size_t key_len, unit_len, identifier_len, message_len;
};

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '/' || c == '-';
}

size_t logs_key_sanitize(char *key, size_t len)
{
	len = MIN(len, (size_t)LOGS_KEY_MAX);
	for (size_t i = 0; i < len; i++)
		if (!key_char(key[i]))
			key[i] = '_';
	return len;
}

static uint64_t hash(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static int fail(char *why, size_t why_size, const char *fmt, ...) _printf_(3, 4);

static int fail(char *why, size_t why_size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, why_size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Takes text apart as a rule of kind. */
static int rule_parse(enum logs_rule_kind kind, const char *text, struct parsed *p, char *why,
		      size_t why_size)
{
	const char *s = text;

	*p = (struct parsed){};
	if (strlen(text) > LOGS_RULE_TEXT_MAX)
		return fail(why, why_size, "expected a rule of at most %d bytes",
			    LOGS_RULE_TEXT_MAX);
	if (kind == LOGS_RULE_REDACT) {
		p->message = text;
		p->message_len = strlen(text);
		return 0;
	}
	if (kind == LOGS_RULE_METRIC || kind == LOGS_RULE_FAILURE) {
		p->key = s;
		p->key_len = strcspn(s, " ");
		s += p->key_len;
		if (p->key_len == 0 || memchr(p->key, ':', p->key_len))
			return fail(why, why_size,
				    "expected \"%s [unit:PATTERN] [identifier:PATTERN] "
				    "message:PATTERN\"",
				    kind == LOGS_RULE_FAILURE ? "KIND" : "KEY");
	}
	for (;;) {
		const char **sel;
		size_t *sel_len, n;

		s += strspn(s, " ");
		if (!*s)
			break;
		if (strncmp(s, "unit:", 5) == 0) {
			sel = &p->unit, sel_len = &p->unit_len, n = 5;
		} else if (strncmp(s, "identifier:", 11) == 0) {
			sel = &p->identifier, sel_len = &p->identifier_len, n = 11;
		} else if (strncmp(s, "message:", 8) == 0) {
			p->message = s + 8;
			p->message_len = strlen(s + 8);
			break;
		} else {
			return fail(why, why_size,
				    "at byte %zu: expected unit:PATTERN, identifier:PATTERN or "
				    "message:PATTERN",
				    (size_t)(s - text));
		}
		if (*sel)
			return fail(why, why_size, "at byte %zu: %.*s given twice",
				    (size_t)(s - text), (int)n - 1, s);
		*sel = s + n;
		*sel_len = strcspn(s + n, " ");
		s += n + *sel_len;
	}
	if ((kind == LOGS_RULE_METRIC || kind == LOGS_RULE_FAILURE) && !p->message)
		return fail(why, why_size, "expected message:PATTERN");
	if (kind == LOGS_RULE_FAILURE && !lc_failure_kind_valid(p->key, p->key_len))
		return fail(why, why_size, "at byte 0: expected a failure kind of %s",
			    LC_FAILURE_KIND_EXPECTED);
	if (kind == LOGS_RULE_FILTER && !p->unit && !p->identifier && !p->message)
		return fail(why, why_size,
			    "expected at least one of unit:PATTERN, identifier:PATTERN, "
			    "message:PATTERN");
	return 0;
}

/* Compiles a pattern found at byte base of its rule; whole: it must match the whole field. */
static int compile(pcre2_compile_context *cctx, const char *pattern, size_t len, size_t base,
		   bool whole, bool jit, pcre2_code **ret, char *why, size_t why_size)
{
	PCRE2_UCHAR message[160];
	PCRE2_SIZE offset;
	pcre2_code *re;
	int error;

	if (len == 0)
		return fail(why, why_size, "at byte %zu: empty pattern", base);
	if (len > LOGS_PATTERN_MAX)
		return fail(why, why_size, "at byte %zu: expected a pattern of at most %d bytes",
			    base, LOGS_PATTERN_MAX);
	re = pcre2_compile((PCRE2_SPTR)pattern, len,
			   PCRE2_NEVER_BACKSLASH_C |
				   (whole ? PCRE2_ANCHORED | PCRE2_ENDANCHORED : 0),
			   &error, &offset, cctx);
	if (!re) {
		if (error == PCRE2_ERROR_NOMEMORY)
			return -ENOMEM;
		if (pcre2_get_error_message(error, message, sizeof(message)) < 0)
			snprintf((char *)message, sizeof(message), "error %d", error);
		return fail(why, why_size, "bad pattern at byte %zu: %s", base + (size_t)offset,
			    (const char *)message);
	}
	if (jit)
		(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* interpreted without it */
	*ret = re;
	return 0;
}

/* Checks a metric key against its pattern's groups. */
static int check_key(const struct parsed *p, const pcre2_code *re, bool *ret_groups, char *why,
		     size_t why_size)
{
	uint32_t groups = 0;

	*ret_groups = false;
	if (p->key_len > LOGS_KEY_MAX)
		return fail(why, why_size, "expected a key of at most %d bytes", LOGS_KEY_MAX);
	if ((p->key_len >= 7 && strncmp(p->key, "faultd/", 7) == 0) ||
	    (p->key_len >= 5 && strncmp(p->key, "logs/", 5) == 0))
		return fail(why, why_size,
			    "the keys faultd/... and logs/... belong to faultd itself");
	if (pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &groups) < 0)
		groups = 0;
	for (size_t i = 0; i < p->key_len; i++) {
		if (p->key[i] == '$') {
			if (i + 1 >= p->key_len || p->key[i + 1] < '0' || p->key[i + 1] > '9')
				return fail(why, why_size,
					    "at byte %zu: expected $0 to $9 in the key", i);
			if ((uint32_t)(p->key[i + 1] - '0') > groups)
				return fail(why, why_size,
					    "at byte %zu: $%c, but the pattern has %u groups", i,
					    p->key[i + 1], groups);
			*ret_groups = true;
			i++;
		} else if (!key_char(p->key[i])) {
			return fail(why, why_size,
				    "at byte %zu: expected a key of [A-Za-z0-9_./-] and $0 to $9",
				    i);
		}
	}
	return 0;
}

static void rule_done(struct logs_rule *rule)
{
	pcre2_code_free(rule->unit);
	pcre2_code_free(rule->identifier);
	pcre2_code_free(rule->message);
	free(rule->key);
	free(rule->text);
	free(rule->keys);
	*rule = (struct logs_rule){};
}

/* Compiles text as a rule of kind into rule. */
static int rule_build(pcre2_compile_context *cctx, enum logs_rule_kind kind, const char *text,
		      bool jit, struct logs_rule *rule, char *why, size_t why_size)
{
	struct parsed p;
	int r;

	r = rule_parse(kind, text, &p, why, why_size);
	if (r >= 0 && p.unit)
		r = compile(cctx, p.unit, p.unit_len, (size_t)(p.unit - text), true, jit,
			    &rule->unit, why, why_size);
	if (r >= 0 && p.identifier)
		r = compile(cctx, p.identifier, p.identifier_len, (size_t)(p.identifier - text),
			    true, jit, &rule->identifier, why, why_size);
	if (r >= 0 && p.message)
		r = compile(cctx, p.message, p.message_len, (size_t)(p.message - text), false, jit,
			    &rule->message, why, why_size);
	if (r >= 0 && kind == LOGS_RULE_METRIC)
		r = check_key(&p, rule->message, &rule->key_groups, why, why_size);
	/* A failure rule's kind was checked whole by rule_parse(): no groups go into it. */
	if (r >= 0 && (kind == LOGS_RULE_METRIC || kind == LOGS_RULE_FAILURE) &&
	    !(rule->key = strndup(p.key, p.key_len)))
		r = -ENOMEM;
	if (r >= 0 && !(rule->text = strdup(text)))
		r = -ENOMEM;
	if (r < 0) {
		if (r == -ENOMEM)
			snprintf(why, why_size, "out of memory");
		rule_done(rule);
	}
	return r;
}

static pcre2_compile_context *compile_context(void)
{
	pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);

	if (cctx)
		(void)pcre2_set_parens_nest_limit(cctx, PARENS_LIMIT);
	return cctx;
}

int logs_rule_check(enum logs_rule_kind kind, const char *text, char *why, size_t why_size)
{
	pcre2_compile_context *cctx = compile_context();
	struct logs_rule rule = {};
	int r;

	if (!cctx)
		return -ENOMEM;
	r = rule_build(cctx, kind, text, false, &rule, why, why_size);
	rule_done(&rule);
	pcre2_compile_context_free(cctx);
	return r;
}

struct logs_rules *logs_rules_new(unsigned max_keys)
{
	struct logs_rules *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	rs->max_keys = MAX(max_keys, 1u);
	rs->cctx = compile_context();
	rs->mctx = pcre2_match_context_create(NULL);
	rs->md = pcre2_match_data_create(GROUPS, NULL);
	rs->md_spans = pcre2_match_data_create(1, NULL);
	if (!rs->cctx || !rs->mctx || !rs->md || !rs->md_spans)
		return logs_rules_free(rs);
	(void)pcre2_set_match_limit(rs->mctx, LOGS_MATCH_LIMIT);
	(void)pcre2_set_depth_limit(rs->mctx, LOGS_DEPTH_LIMIT);
	(void)pcre2_set_heap_limit(rs->mctx, LOGS_HEAP_LIMIT);
	return rs;
}

struct logs_rules *logs_rules_free(struct logs_rules *rs)
{
	if (!rs)
		return NULL;
	for (size_t k = 0; k < LOGS_RULE_KINDS; k++)
		for (size_t i = 0; i < rs->n[k]; i++)
			rule_done(&rs->rules[k][i]);
	pcre2_compile_context_free(rs->cctx);
	pcre2_match_context_free(rs->mctx);
	pcre2_match_data_free(rs->md);
	pcre2_match_data_free(rs->md_spans);
	free(rs);
	return NULL;
}

static const struct builtin *builtin_find(enum logs_rule_kind kind, const char *name)
{
	const struct builtin *t = kind == LOGS_RULE_REDACT ? redact_table : metric_table;
	size_t n = kind == LOGS_RULE_REDACT ? ARRAY_SIZE(redact_table) : ARRAY_SIZE(metric_table);

	if (kind == LOGS_RULE_FILTER || kind == LOGS_RULE_FAILURE)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (streq(t[i].name, name))
			return &t[i];
	return NULL;
}

int logs_rules_add(struct logs_rules *rs, enum logs_rule_kind kind, const char *text, bool builtin,
		   char *why, size_t why_size)
{
	const struct builtin *b = NULL;
	struct logs_rule *rule;
	int r;

	if (rs->n[kind] >= RULES_CAP) {
		snprintf(why, why_size, "more than %d rules", RULES_CAP);
		return -E2BIG;
	}
	if (builtin) {
		b = builtin_find(kind, text);
		if (!b) {
			snprintf(why, why_size, "no built-in rule \"%s\"", text);
			return -ENOENT;
		}
	}
	rule = &rs->rules[kind][rs->n[kind]];
	r = rule_build(rs->cctx, kind, b ? b->text : text, true, rule, why, why_size);
	if (r < 0)
		return r;
	if (rule->key_groups && !(rule->keys = calloc(rs->max_keys, sizeof(uint64_t)))) {
		rule_done(rule);
		snprintf(why, why_size, "out of memory");
		return -ENOMEM;
	}
	if (b) {
		free(rule->text);
		rule->text = NULL;
		rule->once_group = b->once_group;
		rule->need = builtin_need_find(b->name);
		rule->stats.builtin = true;
	}
	rule->stats.text = b ? b->name : rule->text;
	rs->n[kind]++;
	return 0;
}

size_t logs_rules_count(const struct logs_rules *rs, enum logs_rule_kind kind)
{
	return rs->n[kind];
}

const struct logs_rule_stats *logs_rules_stats(const struct logs_rules *rs,
					       enum logs_rule_kind kind, size_t i)
{
	return i < rs->n[kind] ? &rs->rules[kind][i].stats : NULL;
}

uint64_t logs_rules_errors(const struct logs_rules *rs)
{
	return rs->errors;
}

/* 1: re matches s (len bytes) from start; 0: it does not; -1: it failed (counted). */
static int match(struct logs_rules *rs, const pcre2_code *re, pcre2_match_data *md, const char *s,
		 size_t len, size_t start)
{
	int r = pcre2_match(re, (PCRE2_SPTR)(len ? s : ""), len, start, 0, md, rs->mctx);

	if (r >= 0) /* 0: more groups than md holds; the first ones are set */
		return 1;
	if (r != PCRE2_ERROR_NOMATCH)
		rs->errors++;
	return r == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

/* Whether r's unit and identifier are those rule asks for. */
static bool rule_selects(struct logs_rules *rs, const struct logs_rule *rule,
			 const struct logs_record *r)
{
	if (rule->unit &&
	    (r->unit.len == 0 || match(rs, rule->unit, rs->md, r->unit.s, r->unit.len, 0) != 1))
		return false;
	/* A built-in's identifier pattern is a literal: the same answer without PCRE2. */
	if (rule->need && rule->need->identifier)
		return r->identifier.len == strlen(rule->need->identifier) &&
		       memcmp(r->identifier.s, rule->need->identifier, r->identifier.len) == 0;
	if (rule->identifier &&
	    (r->identifier.len == 0 ||
	     match(rs, rule->identifier, rs->md, r->identifier.s, r->identifier.len, 0) != 1))
		return false;
	return true;
}

bool logs_rules_filter(struct logs_rules *rs, const struct logs_record *r)
{
	for (size_t i = 0; i < rs->n[LOGS_RULE_FILTER]; i++) {
		struct logs_rule *rule = &rs->rules[LOGS_RULE_FILTER][i];

		if (!rule_selects(rs, rule, r))
			continue;
		if (rule->message &&
		    match(rs, rule->message, rs->md, r->message.s, r->message.len, 0) != 1)
			continue;
		rule->stats.hits++;
		return true;
	}
	return false;
}

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* What the redactions replace in msg, sorted and merged into rs->spans; returns how many spans
 * there are and the number of matches in *ret_count. count: the rules' hits count them. */
static size_t redact_spans(struct logs_rules *rs, const char *msg, size_t len, bool count,
			   unsigned *ret_count)
{
	size_t n = 0, rest = len, merged = 0;
	unsigned matches = 0;

	for (size_t i = 0; i < rs->n[LOGS_RULE_REDACT]; i++) {
		struct logs_rule *rule = &rs->rules[LOGS_RULE_REDACT][i];
		size_t at = 0;

		if (rule->need && !need_met(rule->need, msg, len))
			continue;
		while (at <= len && at < rest) {
			int k = match(rs, rule->message, rs->md_spans, msg, len, at);
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rs->md_spans);
			size_t s, e;

			if (k == 0)
				break;
			if (k < 0) { /* not known what the rest holds: it goes */
				rest = at;
				matches++;
				rule->stats.hits += count;
				break;
			}
			s = MIN((size_t)ov[0], (size_t)ov[1]);
			e = MAX((size_t)ov[0], (size_t)ov[1]);
			if (e == s) { /* an empty match replaces nothing */
				at = e + 1;
				continue;
			}
			matches++;
			rule->stats.hits += count;
			if (n == LOGS_REDACT_SPANS) {
				rest = MIN(rest, s);
				break;
			}
			rs->spans[n++] = (struct span){ s, e };
			at = e;
		}
	}
	if (rest < len)
		rs->spans[n++] = (struct span){ rest, len };
	qsort(rs->spans, n, sizeof(rs->spans[0]), span_cmp);
	for (size_t i = 0; i < n; i++) {
		if (merged > 0 && rs->spans[i].start <= rs->spans[merged - 1].end)
			rs->spans[merged - 1].end =
				MAX(rs->spans[merged - 1].end, rs->spans[i].end);
		else
			rs->spans[merged++] = rs->spans[i];
	}
	*ret_count = matches;
	return merged;
}

static void put(char *out, size_t *o, size_t size, const void *p, size_t n)
{
	n = MIN(n, size - *o);
	if (n == 0) /* p may be NULL then */
		return;
	memcpy(out + *o, p, n);
	*o += n;
}

size_t logs_rules_redact(struct logs_rules *rs, const char *msg, size_t len, char *out,
			 size_t out_size, unsigned *ret_count)
{
	size_t n = 0, o = 0, at = 0;
	unsigned matches = 0;

	*ret_count = 0;
	if (len == 0 || rs->n[LOGS_RULE_REDACT] == 0) /* msg may be NULL when len is 0 */
		return 0;
	n = redact_spans(rs, msg, len, true, &matches);
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		put(out, &o, out_size, msg + at, rs->spans[i].start - at);
		put(out, &o, out_size, LOGS_REDACTED, strlen(LOGS_REDACTED));
		at = rs->spans[i].end;
	}
	put(out, &o, out_size, msg + at, len - at);
	*ret_count = matches;
	return o;
}

/* Builds rule's key for the match in rs->md into key (LOGS_KEY_MAX bytes), each group as other
 * when it is not NULL. Returns its length, at least 1. */
static size_t metric_key(struct logs_rules *rs, const struct logs_rule *rule,
			 const struct logs_text *m, size_t n_spans, const char *other,
			 char key[static LOGS_KEY_MAX])
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rs->md);
	uint32_t pairs = pcre2_get_ovector_count(rs->md);
	size_t o = 0;

	for (const char *t = rule->key; *t; t++) {
		uint32_t g;
		size_t s, e;

		if (*t != '$') {
			put(key, &o, LOGS_KEY_MAX, t, 1);
			continue;
		}
		g = (uint32_t)(*++t - '0');
		if (other) {
			put(key, &o, LOGS_KEY_MAX, other, strlen(other));
			continue;
		}
		if (g >= pairs || ov[2 * g] == PCRE2_UNSET || ov[2 * g] >= ov[2 * g + 1]) {
			put(key, &o, LOGS_KEY_MAX, "_", 1);
			continue;
		}
		s = ov[2 * g];
		e = ov[2 * g + 1];
		for (size_t i = 0; i < n_spans; i++)
			if (s < rs->spans[i].end && rs->spans[i].start < e) {
				s = e = 0;
				break;
			}
		if (s == e)
			put(key, &o, LOGS_KEY_MAX, REDACTED_GROUP, strlen(REDACTED_GROUP));
		else
			put(key, &o, LOGS_KEY_MAX, m->s + s, e - s);
	}
	return logs_key_sanitize(key, o);
}

/* Whether rule counted this event already (a built-in's group naming it is the last one's). */
static bool metric_once(struct logs_rules *rs, struct logs_rule *rule, const struct logs_text *m)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rs->md);
	uint32_t g = (uint32_t)rule->once_group;
	uint64_t h;

	if (g == 0 || g >= pcre2_get_ovector_count(rs->md) || ov[2 * g] == PCRE2_UNSET)
		return false;
	h = hash(m->s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
	if (rule->once_set && rule->once_last == h)
		return true;
	rule->once_last = h;
	rule->once_set = true;
	return false;
}

void logs_rules_metrics(struct logs_rules *rs, const struct logs_record *r,
			logs_rules_count_t count, void *userdata)
{
	/* An absent message is "", never NULL: groups are taken from it. */
	const struct logs_text msg = { r->message.s ? r->message.s : "", r->message.len };
	const struct logs_text *m = &msg;
	bool spans_known = false;
	size_t n_spans = 0;
	char key[LOGS_KEY_MAX];

	for (size_t i = 0; i < rs->n[LOGS_RULE_METRIC]; i++) {
		struct logs_rule *rule = &rs->rules[LOGS_RULE_METRIC][i];
		unsigned ignored;
		size_t n, j;
		uint64_t h;

		if (!rule_selects(rs, rule, r) ||
		    (rule->need && !need_met(rule->need, m->s, m->len)) ||
		    match(rs, rule->message, rs->md, m->s, m->len, 0) != 1 ||
		    metric_once(rs, rule, m))
			continue;
		rule->stats.hits++;
		if (!rule->key_groups) {
			count(rule->key, strlen(rule->key), userdata);
			continue;
		}
		if (!spans_known && rs->n[LOGS_RULE_REDACT] > 0) {
			/* The spans' matches use their own match data: rs->md still holds this
			 * rule's groups. */
			n_spans = redact_spans(rs, m->s, m->len, false, &ignored);
			spans_known = true;
		}
		n = metric_key(rs, rule, m, n_spans, NULL, key);
		h = hash(key, n);
		for (j = 0; j < rule->n_keys && rule->keys[j] != h; j++)
			;
		if (j == rule->n_keys && rule->n_keys < rs->max_keys) {
			rule->keys[rule->n_keys++] = h;
		} else if (j == rule->n_keys) {
			rule->stats.over_key_cap++;
			n = metric_key(rs, rule, m, 0, OTHER, key);
		}
		count(key, n, userdata);
	}
}

void logs_rules_interval(struct logs_rules *rs)
{
	for (size_t i = 0; i < rs->n[LOGS_RULE_METRIC]; i++)
		rs->rules[LOGS_RULE_METRIC][i].n_keys = 0;
}

void logs_rules_failures(struct logs_rules *rs, const struct logs_record *r,
			 logs_rules_failure_t failure, void *userdata)
{
	const char *msg = r->message.s ? r->message.s : "";

	for (size_t i = 0; i < rs->n[LOGS_RULE_FAILURE]; i++) {
		struct logs_rule *rule = &rs->rules[LOGS_RULE_FAILURE][i];

		if (!rule_selects(rs, rule, r) ||
		    match(rs, rule->message, rs->md, msg, r->message.len, 0) != 1)
			continue;
		rule->stats.hits++;
		failure(rule->key, userdata);
	}
}
