/* SPDX-License-Identifier: MIT */
/*
 * Recursive descent over a byte range. Recursion is bounded by LC_JSONC_MAX_DEPTH, every growing
 * buffer grows geometrically, and every byte is looked at a bounded number of times, so the cost
 * is linear in the input whatever it holds.
 */
#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonc.h"
#include "macro.h"
#include "utf8.h"

/* No decoded string may be longer than this; configuration values are far shorter. */
#define JSONC_MAX_STRING (1024 * 1024)

struct parser {
	const char *p, *end;
	unsigned line, column; /* position of *p */
	size_t n_nodes;
	struct lc_json_error *error;
};

static void lc_json_node_freep(struct lc_json_node **n)
{
	lc_json_node_free(*n);
}

struct lc_json_node *lc_json_node_free(struct lc_json_node *n)
{
	if (!n)
		return NULL;
	if (n->type == LC_JSON_ARRAY || n->type == LC_JSON_OBJECT) {
		for (size_t i = 0; i < n->u.children.n; i++)
			lc_json_node_free(n->u.children.items[i]);
		free(n->u.children.items);
	} else if (n->type == LC_JSON_STRING) {
		free(n->u.s);
	}
	free(n->key);
	free(n);
	return NULL;
}

const char *lc_json_type_name(enum lc_json_type t)
{
	switch (t) {
	case LC_JSON_NULL:
		return "null";
	case LC_JSON_BOOL:
		return "boolean";
	case LC_JSON_INT:
		return "integer";
	case LC_JSON_DOUBLE:
		return "number";
	case LC_JSON_STRING:
		return "string";
	case LC_JSON_ARRAY:
		return "array";
	case LC_JSON_OBJECT:
		return "object";
	}
	return "unknown";
}

static bool at_end(const struct parser *ps)
{
	return ps->p >= ps->end;
}

/* Moves past one byte; a column counts characters, so UTF-8 continuation bytes do not count. */
static void advance(struct parser *ps)
{
	if (*ps->p == '\n') {
		ps->line++;
		ps->column = 1;
	} else if (!lc_utf8_is_continuation((unsigned char)*ps->p)) {
		ps->column++;
	}
	ps->p++;
}

static _printf_(5, 6) int fail_at(struct parser *ps, int r, unsigned line, unsigned column,
				  const char *fmt, ...)
{
	va_list ap;

	ps->error->line = line;
	ps->error->column = column;
	va_start(ap, fmt);
	vsnprintf(ps->error->message, sizeof(ps->error->message), fmt, ap);
	va_end(ap);
	return r;
}

#define fail(ps, ...) fail_at((ps), -EINVAL, (ps)->line, (ps)->column, __VA_ARGS__)

static int fail_oom(struct parser *ps)
{
	return fail_at(ps, -ENOMEM, ps->line, ps->column, "out of memory");
}

/* Describes the character at the current position for "got ..." in messages. */
static const char *describe_next(const struct parser *ps, char *buf, size_t size)
{
	unsigned char c;
	size_t n;

	if (at_end(ps))
		return "end of input";
	c = (unsigned char)*ps->p;
	if (c == 0)
		return "a NUL byte";
	if (c == '\'')
		return "\"'\"";
	if (c < 0x20 || c == 0x7F) {
		snprintf(buf, size, "control character 0x%02x", c);
		return buf;
	}
	n = lc_utf8_decode(ps->p, (size_t)(ps->end - ps->p), NULL);
	if (n == 0)
		snprintf(buf, size, "byte 0x%02x (not UTF-8)", c);
	else
		snprintf(buf, size, "'%.*s'", (int)n, ps->p);
	return buf;
}

static int fail_got(struct parser *ps, const char *expected)
{
	char buf[48];

	return fail(ps, "%s, got %s", expected, describe_next(ps, buf, sizeof(buf)));
}

/* Skips whitespace and comments. */
static int skip_space(struct parser *ps)
{
	while (!at_end(ps)) {
		char c = *ps->p;

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			advance(ps);
			continue;
		}
		if (c != '/' || ps->end - ps->p < 2 || (ps->p[1] != '/' && ps->p[1] != '*'))
			break;
		if (ps->p[1] == '/') {
			while (!at_end(ps) && *ps->p != '\n') {
				if (*ps->p == 0)
					return fail(ps, "NUL byte in a comment");
				advance(ps);
			}
		} else {
			unsigned line = ps->line, column = ps->column;

			advance(ps);
			advance(ps);
			for (;;) {
				if (at_end(ps))
					return fail_at(ps, -EINVAL, line, column,
						       "unterminated comment");
				if (*ps->p == 0)
					return fail(ps, "NUL byte in a comment");
				if (*ps->p == '*' && ps->end - ps->p >= 2 && ps->p[1] == '/') {
					advance(ps);
					advance(ps);
					break;
				}
				advance(ps);
			}
		}
	}
	return 0;
}

static int new_node(struct parser *ps, enum lc_json_type type, struct lc_json_node **ret)
{
	struct lc_json_node *n;

	if (ps->n_nodes >= LC_JSONC_MAX_NODES)
		return fail_at(ps, -E2BIG, ps->line, ps->column, "more than %d values",
			       LC_JSONC_MAX_NODES);
	n = calloc(1, sizeof(*n));
	if (!n)
		return fail_oom(ps);
	ps->n_nodes++;
	n->type = type;
	n->line = ps->line;
	n->column = ps->column;
	*ret = n;
	return 0;
}

struct text_buf {
	char *s;
	size_t n, alloc;
};

static int text_buf_append(struct text_buf *b, const char *data, size_t len)
{
	if (b->alloc - b->n < len + 1) {
		size_t want = MAX(b->alloc * 2, b->n + len + 1);
		char *p;

		want = MAX(want, (size_t)32);
		p = realloc(b->s, want);
		if (!p)
			return -ENOMEM;
		b->s = p;
		b->alloc = want;
	}
	memcpy(b->s + b->n, data, len);
	b->n += len;
	b->s[b->n] = 0;
	return 0;
}

static int parse_hex4(struct parser *ps, unsigned *ret)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = at_end(ps) ? 0 : *ps->p;
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return fail_got(ps, "invalid \\u escape: expected 4 hexadecimal digits");
		v = v * 16 + d;
		advance(ps);
	}
	*ret = v;
	return 0;
}

/* Decodes the escape after a backslash (the backslash is consumed) into out. */
static int parse_escape(struct parser *ps, unsigned esc_line, unsigned esc_column,
			char out[static LC_UTF8_MAX], size_t *ret_len)
{
	unsigned cp, low;
	char c;
	int r;

	if (at_end(ps))
		return 1; /* the caller reports the unterminated string */
	c = *ps->p;
	switch (c) {
	case '"':
	case '\\':
	case '/':
		out[0] = c;
		break;
	case 'b':
		out[0] = '\b';
		break;
	case 'f':
		out[0] = '\f';
		break;
	case 'n':
		out[0] = '\n';
		break;
	case 'r':
		out[0] = '\r';
		break;
	case 't':
		out[0] = '\t';
		break;
	case 'u':
		advance(ps);
		r = parse_hex4(ps, &cp);
		if (r < 0)
			return r;
		if (cp == 0)
			return fail_at(ps, -EINVAL, esc_line, esc_column,
				       "\\u0000 is not allowed in a string");
		if (cp >= 0xDC00 && cp <= 0xDFFF)
			return fail_at(ps, -EINVAL, esc_line, esc_column,
				       "invalid \\u escape: unpaired low surrogate \\u%04X", cp);
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
				return fail_at(ps, -EINVAL, esc_line, esc_column,
					       "invalid \\u escape: high surrogate \\u%04X is not "
					       "followed by a low surrogate",
					       cp);
			advance(ps);
			advance(ps);
			r = parse_hex4(ps, &low);
			if (r < 0)
				return r;
			if (low < 0xDC00 || low > 0xDFFF)
				return fail_at(ps, -EINVAL, esc_line, esc_column,
					       "invalid \\u escape: high surrogate \\u%04X is not "
					       "followed by a low surrogate",
					       cp);
			cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
		}
		*ret_len = lc_utf8_encode(cp, out);
		return 0;
	default: {
		char buf[48];

		return fail_at(ps, -EINVAL, esc_line, esc_column,
			       "invalid escape '\\' followed by %s",
			       describe_next(ps, buf, sizeof(buf)));
	}
	}
	advance(ps);
	*ret_len = 1;
	return 0;
}

static void text_buf_done(struct text_buf *b)
{
	free(b->s);
}

/* Parses a string at the opening quote into a new NUL-terminated UTF-8 string. */
static int parse_string(struct parser *ps, char **ret)
{
	_cleanup_(text_buf_done) struct text_buf b = {};
	unsigned line = ps->line, column = ps->column;
	int r;

	advance(ps); /* the opening quote */
	if (text_buf_append(&b, "", 0) < 0)
		return fail_oom(ps);
	for (;;) {
		const char *run = ps->p;
		unsigned char c;

		/* Copy plain ASCII in runs rather than byte by byte. */
		while (!at_end(ps) && (unsigned char)*ps->p >= 0x20 &&
		       (unsigned char)*ps->p < 0x80 && *ps->p != '"' && *ps->p != '\\')
			advance(ps);
		if (ps->p > run && text_buf_append(&b, run, (size_t)(ps->p - run)) < 0)
			return fail_oom(ps);
		if (b.n > JSONC_MAX_STRING)
			return fail_at(ps, -E2BIG, line, column, "string longer than %d bytes",
				       JSONC_MAX_STRING);

		if (at_end(ps) || *ps->p == '\n' || *ps->p == '\r')
			return fail_at(ps, -EINVAL, line, column, "unterminated string");
		c = (unsigned char)*ps->p;
		if (c == '"') {
			advance(ps);
			break;
		}
		if (c == 0)
			return fail(ps, "NUL byte in a string");
		if (c < 0x20)
			return fail(ps,
				    "control character 0x%02x in a string; write it as an escape",
				    c);
		if (c == '\\') {
			unsigned esc_line = ps->line, esc_column = ps->column;
			char out[LC_UTF8_MAX];
			size_t n = 0;

			advance(ps);
			r = parse_escape(ps, esc_line, esc_column, out, &n);
			if (r < 0)
				return r;
			if (r > 0)
				return fail_at(ps, -EINVAL, line, column, "unterminated string");
			if (text_buf_append(&b, out, n) < 0)
				return fail_oom(ps);
		} else {
			size_t n = lc_utf8_decode(ps->p, (size_t)(ps->end - ps->p), NULL);

			if (n == 0)
				return fail(ps, "invalid UTF-8 in a string (byte 0x%02x)", c);
			if (text_buf_append(&b, ps->p, n) < 0)
				return fail_oom(ps);
			for (size_t i = 0; i < n; i++)
				advance(ps);
		}
	}
	*ret = TAKE_PTR(b.s);
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
}

static int parse_number(struct parser *ps, struct lc_json_node **ret)
{
	_cleanup_(lc_json_node_freep) struct lc_json_node *n = NULL;
	const char *start = ps->p;
	bool negative = false, integral = true;
	uint64_t magnitude = 0;
	bool overflow = false;
	int r;

	r = new_node(ps, LC_JSON_INT, &n);
	if (r < 0)
		return r;
	if (*ps->p == '-') {
		negative = true;
		advance(ps);
	}
	if (at_end(ps) || !is_digit(*ps->p))
		return fail_got(ps, "invalid number: expected a digit after '-'");
	if (*ps->p == '0' && ps->end - ps->p >= 2 && is_digit(ps->p[1]))
		return fail_at(ps, -EINVAL, n->line, n->column,
			       "invalid number: leading zeros are not allowed");
	while (!at_end(ps) && is_digit(*ps->p)) {
		unsigned d = (unsigned)(*ps->p - '0');

		if (magnitude > (UINT64_MAX - d) / 10)
			overflow = true;
		else
			magnitude = magnitude * 10 + d;
		advance(ps);
	}
	if (!at_end(ps) && *ps->p == '.') {
		integral = false;
		advance(ps);
		if (at_end(ps) || !is_digit(*ps->p))
			return fail_got(ps, "invalid number: expected a digit after '.'");
		while (!at_end(ps) && is_digit(*ps->p))
			advance(ps);
	}
	if (!at_end(ps) && (*ps->p == 'e' || *ps->p == 'E')) {
		integral = false;
		advance(ps);
		if (!at_end(ps) && (*ps->p == '+' || *ps->p == '-'))
			advance(ps);
		if (at_end(ps) || !is_digit(*ps->p))
			return fail_got(ps, "invalid number: expected a digit in the exponent");
		while (!at_end(ps) && is_digit(*ps->p))
			advance(ps);
	}
	if (!at_end(ps) && (is_word_char(*ps->p) || *ps->p == '.'))
		return fail_got(ps, "invalid number");

	if (integral && !overflow &&
	    magnitude <= (negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX)) {
		n->u.i = negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
	} else {
		/* strtod() needs a terminated copy, and the "C" locale so that '.' is the
		 * decimal point whatever the process's locale. */
		_cleanup_free_ char *copy = strndup(start, (size_t)(ps->p - start));
		locale_t c_locale;
		double d;

		if (!copy)
			return fail_oom(ps);
		c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
		if (!c_locale)
			return fail_oom(ps);
		d = strtod_l(copy, NULL, c_locale);
		freelocale(c_locale);
		if (d > 1.7976931348623157e308 || d < -1.7976931348623157e308)
			return fail_at(ps, -EINVAL, n->line, n->column,
				       "number out of range (not a finite double)");
		n->type = LC_JSON_DOUBLE;
		n->u.d = d;
	}
	*ret = TAKE_PTR(n);
	return 0;
}

static int parse_word(struct parser *ps, struct lc_json_node **ret)
{
	_cleanup_(lc_json_node_freep) struct lc_json_node *n = NULL;
	const char *start = ps->p;
	size_t len;
	int r;

	r = new_node(ps, LC_JSON_NULL, &n);
	if (r < 0)
		return r;
	while (!at_end(ps) && is_word_char(*ps->p))
		advance(ps);
	len = (size_t)(ps->p - start);
	if (len == 4 && memcmp(start, "true", 4) == 0) {
		n->type = LC_JSON_BOOL;
		n->u.b = true;
	} else if (len == 5 && memcmp(start, "false", 5) == 0) {
		n->type = LC_JSON_BOOL;
		n->u.b = false;
	} else if (len == 4 && memcmp(start, "null", 4) == 0) {
		n->type = LC_JSON_NULL;
	} else {
		return fail_at(ps, -EINVAL, n->line, n->column,
			       "expected a value, got '%.*s%s' (strings must be in double quotes)",
			       (int)MIN(len, (size_t)32), start, len > 32 ? "..." : "");
	}
	*ret = TAKE_PTR(n);
	return 0;
}

static int parse_value(struct parser *ps, unsigned depth, struct lc_json_node **ret);

static int append_child(struct parser *ps, struct lc_json_node *parent, size_t *alloc,
			struct lc_json_node *child)
{
	if (parent->u.children.n == *alloc) {
		size_t want = *alloc ? *alloc * 2 : 4;
		struct lc_json_node **p;

		p = reallocarray(parent->u.children.items, want, sizeof(*p));
		if (!p)
			return fail_oom(ps);
		parent->u.children.items = p;
		*alloc = want;
	}
	parent->u.children.items[parent->u.children.n++] = child;
	return 0;
}

/* Parses an array or an object at its opening bracket; depth counts the bracket being opened. */
static int parse_container(struct parser *ps, unsigned depth, struct lc_json_node **ret)
{
	_cleanup_(lc_json_node_freep) struct lc_json_node *c = NULL;
	bool object = *ps->p == '{';
	char close = object ? '}' : ']';
	size_t alloc = 0;
	int r;

	if (depth > LC_JSONC_MAX_DEPTH)
		return fail_at(ps, -E2BIG, ps->line, ps->column, "nesting deeper than %d levels",
			       LC_JSONC_MAX_DEPTH);
	r = new_node(ps, object ? LC_JSON_OBJECT : LC_JSON_ARRAY, &c);
	if (r < 0)
		return r;
	advance(ps);

	for (;;) {
		_cleanup_(lc_json_node_freep) struct lc_json_node *child = NULL;
		_cleanup_free_ char *key = NULL;
		unsigned key_line = 0;

		r = skip_space(ps);
		if (r < 0)
			return r;
		if (!at_end(ps) && *ps->p == close) { /* empty, or after a trailing comma */
			advance(ps);
			break;
		}
		if (object) {
			if (at_end(ps) || *ps->p != '"')
				return fail_got(ps,
						"expected a member name in double quotes or '}'");
			key_line = ps->line;
			r = parse_string(ps, &key);
			if (r < 0)
				return r;
			r = skip_space(ps);
			if (r < 0)
				return r;
			if (at_end(ps) || *ps->p != ':')
				return fail_got(ps, "expected ':' after the member name");
			advance(ps);
			r = skip_space(ps);
			if (r < 0)
				return r;
		}
		r = parse_value(ps, depth, &child);
		if (r < 0)
			return r;
		child->key = TAKE_PTR(key);
		child->key_line = key_line;
		r = append_child(ps, c, &alloc, child);
		if (r < 0)
			return r;
		TAKE_PTR(child);

		r = skip_space(ps);
		if (r < 0)
			return r;
		if (!at_end(ps) && *ps->p == ',') {
			advance(ps);
			continue;
		}
		if (!at_end(ps) && *ps->p == close) {
			advance(ps);
			break;
		}
		return fail_got(ps, object ? "expected ',' or '}' after a member"
					   : "expected ',' or ']' after an array element");
	}
	*ret = TAKE_PTR(c);
	return 0;
}

/* Parses one value at the current position (whitespace already skipped). */
static int parse_value(struct parser *ps, unsigned depth, struct lc_json_node **ret)
{
	_cleanup_(lc_json_node_freep) struct lc_json_node *n = NULL;
	int r;

	if (at_end(ps))
		return fail_got(ps, "expected a value");
	switch (*ps->p) {
	case '{':
	case '[':
		return parse_container(ps, depth + 1, ret);
	case '"':
		r = new_node(ps, LC_JSON_STRING, &n);
		if (r < 0)
			return r;
		r = parse_string(ps, &n->u.s);
		if (r < 0)
			return r;
		*ret = TAKE_PTR(n);
		return 0;
	case '-':
	case '0' ... '9':
		return parse_number(ps, ret);
	case '+':
		return fail(ps, "expected a value, got '+' (a number may not start with '+')");
	default:
		if (is_word_char(*ps->p))
			return parse_word(ps, ret);
		return fail_got(ps, "expected a value");
	}
}

int lc_jsonc_parse(const char *text, size_t len, struct lc_json_node **ret,
		   struct lc_json_error *ret_error)
{
	_cleanup_(lc_json_node_freep) struct lc_json_node *root = NULL;
	struct lc_json_error unused;
	struct parser ps = {
		.p = text ? text : "",
		.line = 1,
		.column = 1,
		.error = ret_error ? ret_error : &unused,
	};
	int r;

	ps.end = ps.p + (text ? len : 0);
	r = skip_space(&ps);
	if (r < 0)
		return r;
	/* Nothing but space and comments: an empty or fully commented-out file sets nothing. */
	if (at_end(&ps))
		r = new_node(&ps, LC_JSON_OBJECT, &root);
	else
		r = parse_value(&ps, 0, &root);
	if (r < 0)
		return r;
	r = skip_space(&ps);
	if (r < 0)
		return r;
	if (!at_end(&ps))
		return fail(&ps, "trailing characters after the top-level value");
	*ret = TAKE_PTR(root);
	return 0;
}
