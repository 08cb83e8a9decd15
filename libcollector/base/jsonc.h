/* SPDX-License-Identifier: MIT */
/*
 * A JSON parser for configuration files: JSON plus // and block comments and trailing commas,
 * keeping the line and column of every value so that errors can name where they are. The input
 * is untrusted: depth, string length and node count are bounded, and every error carries a
 * position and a sentence saying what was expected and what was found.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LC_JSONC_MAX_DEPTH 32
#define LC_JSONC_MAX_NODES 65536

enum lc_json_type {
	LC_JSON_NULL,
	LC_JSON_BOOL,
	LC_JSON_INT,	/* a number without fraction or exponent that fits int64_t */
	LC_JSON_DOUBLE, /* any other finite number */
	LC_JSON_STRING,
	LC_JSON_ARRAY,
	LC_JSON_OBJECT,
};

struct lc_json_node {
	enum lc_json_type type;
	unsigned line, column; /* 1-based position of the value's first character */
	char *key;	       /* member name when the parent is an object, else NULL */
	unsigned key_line;     /* line of the member name */
	union {
		bool b;
		int64_t i;
		double d;
		char *s; /* UTF-8, NUL-terminated; \u0000 is rejected */
		struct {
			struct lc_json_node **items; /* members in file order (duplicates kept) */
			size_t n;
		} children;
	} u;
};

struct lc_json_error {
	unsigned line, column;
	char message[192]; /* e.g. "expected ',' or '}' after a member, got 'x'" */
};

/*
 * Parses text (len bytes; it need not be NUL-terminated) into a tree owned by the caller. Text
 * holding nothing but white space and comments parses as an empty object. Returns
 * 0, -EINVAL with *ret_error filled for malformed input, -E2BIG when a limit is exceeded (also
 * described in *ret_error), -ENOMEM. On failure *ret is untouched.
 */
int lc_jsonc_parse(const char *text, size_t len, struct lc_json_node **ret,
		   struct lc_json_error *ret_error);

/* Frees a tree; accepts NULL and returns NULL. */
struct lc_json_node *lc_json_node_free(struct lc_json_node *n);

/* "null", "boolean", "integer", "number", "string", "array", "object". */
const char *lc_json_type_name(enum lc_json_type t);
