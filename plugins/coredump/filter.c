/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coredump-names.h"
#include "filter.h"
#include "macro.h"
#include "text.h"

#define COMM_MAX    15 /* TASK_COMM_LEN less the NUL */
#define SIGNAL_MAX  64
#define DELETED	    " (deleted)" /* what /proc/<pid>/exe adds when the program was removed */
#define QUOTE_BYTES 64		 /* of a word quoted in an error */

struct coredump_filter {
	char *text;
	const char *path; /* into text, without trailing '/': "" is "/"; NULL: any */
	size_t path_len;
	const char *comm; /* into text; NULL: any */
	size_t comm_len;
	int signal; /* 0: any */
	unsigned count;
	uint64_t interval_ms;
};

struct coredump_filters {
	size_t n;
	struct coredump_filter rules[];
};

static int why_set(char *why, size_t why_size, const char *fmt, ...) _printf_(3, 4);

static int why_set(char *why, size_t why_size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, why_size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Whether the len bytes at s are a decimal number of at most max; its value in *ret. */
static bool parse_number(const char *s, size_t len, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return false;
	*ret = v;
	return true;
}

/* An absolute path without empty, "." or ".." components; trailing '/' are dropped. */
static int parse_path(const char *s, size_t len, struct coredump_filter *r, char *why,
		      size_t why_size)
{
	size_t n = len;

	if (s[0] != '/')
		return why_set(why, why_size, "path \"%.*s\" is not absolute",
			       (int)MIN(len, QUOTE_BYTES), s);
	while (n > 0 && s[n - 1] == '/')
		n--;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1, c;

		while (j < n && s[j] != '/')
			j++;
		c = j - i - 1; /* the component after the '/' at i */
		if (c == 0 || (c == 1 && s[i + 1] == '.') ||
		    (c == 2 && s[i + 1] == '.' && s[i + 2] == '.'))
			return why_set(why, why_size,
				       "path \"%.*s\" is not normal (no \"//\", \".\" or \"..\")",
				       (int)MIN(len, QUOTE_BYTES), s);
		i = j;
	}
	r->path = s;
	r->path_len = n;
	return 0;
}

/* A signal that dumps core: SIGSEGV, SEGV (any case) or its number. */
static int parse_signal(const char *s, size_t len, struct coredump_filter *r, char *why,
			size_t why_size)
{
	const char *given = s;
	size_t given_len = len;
	uint64_t v;

	if (parse_number(s, len, SIGNAL_MAX, &v)) {
		if (v == 0 || !lc_core_signal_name((int)v))
			return why_set(why, why_size, "signal %d does not dump core", (int)v);
		r->signal = (int)v;
		return 0;
	}
	if (len > 3 && strncasecmp(s, "SIG", 3) == 0) {
		s += 3;
		len -= 3;
	}
	for (int sig = 1; sig <= SIGNAL_MAX; sig++) {
		const char *name = lc_core_signal_name(sig);

		if (name && strlen(name + 3) == len && strncasecmp(name + 3, s, len) == 0) {
			r->signal = sig;
			return 0;
		}
	}
	return why_set(why, why_size, "unknown signal \"%.*s\"", (int)MIN(given_len, QUOTE_BYTES),
		       given);
}

/* COUNT/SECONDS. */
static int parse_limit(const char *s, size_t len, struct coredump_filter *r, char *why,
		       size_t why_size)
{
	const char *slash = memchr(s, '/', len);
	uint64_t count, seconds;

	if (!slash || !parse_number(s, (size_t)(slash - s), UINT32_MAX, &count) ||
	    !parse_number(slash + 1, len - (size_t)(slash - s) - 1, UINT32_MAX, &seconds))
		return why_set(why, why_size, "limit \"%.*s\": expected COUNT/SECONDS",
			       (int)MIN(len, QUOTE_BYTES), s);
	if (count > COREDUMP_FILTER_COUNT_MAX)
		return why_set(why, why_size, "limit \"%.*s\": COUNT must be 0 to %d",
			       (int)MIN(len, QUOTE_BYTES), s, COREDUMP_FILTER_COUNT_MAX);
	if (seconds < 1 || seconds > COREDUMP_FILTER_SECONDS_MAX)
		return why_set(why, why_size, "limit \"%.*s\": SECONDS must be 1 to %d",
			       (int)MIN(len, QUOTE_BYTES), s, COREDUMP_FILTER_SECONDS_MAX);
	r->count = (unsigned)count;
	r->interval_ms = seconds * 1000;
	return 0;
}

/* Parses text into *r, whose path and comm point into text. */
static int parse_rule(const char *text, struct coredump_filter *r, char *why, size_t why_size)
{
	static const char *const words[] = { "path", "process", "signal", "limit" };
	bool seen[ARRAY_SIZE(words)] = {};
	size_t len = strlen(text);
	const char *p = text;

	*r = (struct coredump_filter){ .interval_ms = 1000 };
	if (len > COREDUMP_FILTER_TEXT_MAX)
		return why_set(why, why_size, "longer than %d bytes", COREDUMP_FILTER_TEXT_MAX);
	if (!lc_text_printable(text, len))
		return why_set(why, why_size, "expected printable ASCII");
	for (;;) {
		const char *colon, *v;
		size_t n, k, vlen;
		int e = 0;

		p += strspn(p, " ");
		if (*p == 0)
			break;
		n = strcspn(p, " ");
		colon = memchr(p, ':', n);
		for (k = 0; colon && k < ARRAY_SIZE(words); k++)
			if (strlen(words[k]) == (size_t)(colon - p) &&
			    memcmp(words[k], p, (size_t)(colon - p)) == 0)
				break;
		if (!colon || k == ARRAY_SIZE(words))
			return why_set(why, why_size,
				       "unknown word \"%.*s\" (expected path:, process:, signal: "
				       "or limit:)",
				       (int)MIN(n, QUOTE_BYTES), p);
		if (seen[k])
			return why_set(why, why_size, "%s: given twice", words[k]);
		seen[k] = true;
		v = colon + 1;
		vlen = n - (size_t)(v - p);
		if (vlen == 0)
			return why_set(why, why_size, "%s: expected a value", words[k]);
		switch (k) {
		case 0:
			e = parse_path(v, vlen, r, why, why_size);
			break;
		case 1:
			if (vlen > COMM_MAX)
				return why_set(why, why_size,
					       "process name \"%.*s\" is longer than %d bytes: it "
					       "never matches",
					       (int)MIN(vlen, QUOTE_BYTES), v, COMM_MAX);
			r->comm = v;
			r->comm_len = vlen;
			break;
		case 2:
			e = parse_signal(v, vlen, r, why, why_size);
			break;
		default:
			e = parse_limit(v, vlen, r, why, why_size);
			break;
		}
		if (e < 0)
			return e;
		p += n;
	}
	if (!r->path && !r->comm && r->signal == 0)
		return why_set(why, why_size, "expected at least one of path:, process:, signal:");
	return 0;
}

int coredump_filter_check(const char *text, char *why, size_t why_size)
{
	struct coredump_filter r;

	return parse_rule(text, &r, why, why_size);
}

struct coredump_filters *coredump_filters_free(struct coredump_filters *f)
{
	if (!f)
		return NULL;
	for (size_t i = 0; i < f->n; i++)
		free(f->rules[i].text);
	free(f);
	return NULL;
}

static void coredump_filters_freep(struct coredump_filters **f)
{
	coredump_filters_free(*f);
}

int coredump_filters_parse(const char *const *rules, struct coredump_filters **ret,
			   char **ret_error)
{
	_cleanup_(coredump_filters_freep) struct coredump_filters *f = NULL;
	size_t n = 0;
	char why[256];

	while (rules && rules[n])
		n++;
	if (n > COREDUMP_FILTERS_MAX) {
		if (asprintf(ret_error, "coredump.filters: more than %d rules",
			     COREDUMP_FILTERS_MAX) < 0)
			return -ENOMEM;
		return -EINVAL;
	}
	f = calloc(1, sizeof(*f) + n * sizeof(f->rules[0]));
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char *text = strdup(rules[i]);
		int r;

		if (!text)
			return -ENOMEM;
		r = parse_rule(text, &f->rules[i], why, sizeof(why));
		f->rules[i].text = text;
		f->n = i + 1;
		if (r < 0) {
			if (asprintf(ret_error, "coredump.filters: item %zu: %s", i + 1, why) < 0)
				return -ENOMEM;
			return r;
		}
	}
	*ret = TAKE_PTR(f);
	return 0;
}

static bool path_matches(const struct coredump_filter *r, const char *exe)
{
	size_t len;

	if (!exe)
		return false;
	len = strlen(exe);
	if (len > strlen(DELETED) && streq(exe + len - strlen(DELETED), DELETED))
		len -= strlen(DELETED);
	if (len < r->path_len || memcmp(exe, r->path, r->path_len) != 0)
		return false;
	return len == r->path_len || exe[r->path_len] == '/';
}

int coredump_filters_match(const struct coredump_filters *f, const char *exe_path, const char *comm,
			   int signal)
{
	for (size_t i = 0; f && i < f->n; i++) {
		const struct coredump_filter *r = &f->rules[i];

		if (r->path && !path_matches(r, exe_path))
			continue;
		if (r->comm && (!comm || strlen(comm) != r->comm_len ||
				memcmp(comm, r->comm, r->comm_len) != 0))
			continue;
		if (r->signal != 0 && r->signal != signal)
			continue;
		return (int)i;
	}
	return -1;
}

const char *coredump_filter_text(const struct coredump_filters *f, int rule)
{
	return f && rule >= 0 && (size_t)rule < f->n ? f->rules[rule].text : NULL;
}

unsigned coredump_filter_limit(const struct coredump_filters *f, int rule,
			       uint64_t *ret_interval_ms)
{
	if (!f || rule < 0 || (size_t)rule >= f->n)
		return 0;
	if (ret_interval_ms)
		*ret_interval_ms = f->rules[rule].interval_ms;
	return f->rules[rule].count;
}
