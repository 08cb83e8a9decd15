/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "logs-recent.h"

/* The lines select gave, joined by '|'. */
struct got {
	char text[1024];
	int calls;
};

static int collect(const char *line, size_t len, void *userdata)
{
	struct got *g = userdata;
	size_t n = strlen(g->text);

	snprintf(g->text + n, sizeof(g->text) - n, "%s%.*s", n ? "|" : "", (int)len, line);
	g->calls++;
	return 0;
}

static int refuse_second(const char *line, size_t len, void *userdata)
{
	struct got *g = userdata;

	return ++g->calls == 2 ? -ENOBUFS : 0;
}

static void add(struct logs_recent *r, const char *line, uint64_t ms)
{
	assert_int_equal(logs_recent_add(r, line, strlen(line), ms), 0);
}

static void test_count_bound_keeps_newest(void **state)
{
	struct logs_recent *r = NULL;
	struct got g = {};
	char line[16];

	assert_int_equal(logs_recent_new(3, 1024, &r), 0);
	for (int i = 1; i <= 5; i++) {
		snprintf(line, sizeof(line), "l%d\n", i);
		add(r, line, (uint64_t)i);
	}
	assert_int_equal(logs_recent_lines(r), 3);
	assert_int_equal(logs_recent_select(r, 0, 100, 1024, collect, &g), 3);
	/* Oldest first, the newline not kept. */
	assert_string_equal(g.text, "l3|l4|l5");
	logs_recent_free(r);
}

static void test_byte_bound_and_oversized_line(void **state)
{
	struct logs_recent *r = NULL;
	struct got g = {};

	assert_int_equal(logs_recent_new(100, 10, &r), 0);
	add(r, "aaaa", 1);
	add(r, "bbbb", 2);
	add(r, "cccc", 3); /* 12 bytes: aaaa goes */
	assert_int_equal(logs_recent_lines(r), 2);
	add(r, "this line is longer than the ring", 4);
	assert_int_equal(logs_recent_skipped(r), 1);
	assert_int_equal(logs_recent_lines(r), 2);
	assert_int_equal(logs_recent_select(r, 0, 100, 100, collect, &g), 2);
	assert_string_equal(g.text, "bbbb|cccc");
	logs_recent_free(r);
}

static void test_select_limits(void **state)
{
	struct logs_recent *r = NULL;
	struct got g = {};

	assert_int_equal(logs_recent_new(10, 1000, &r), 0);
	add(r, "old", 100);
	add(r, "mid", 5000);
	add(r, "new1", 9000);
	add(r, "new2", 9500);
	/* The age limit: kept at or after since_ms. */
	assert_int_equal(logs_recent_select(r, 5000, 100, 1000, collect, &g), 3);
	assert_string_equal(g.text, "mid|new1|new2");
	/* The count limit takes the newest. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(logs_recent_select(r, 0, 2, 1000, collect, &g), 2);
	assert_string_equal(g.text, "new1|new2");
	/* The byte limit takes the newest that fit, never a hole in the middle. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(logs_recent_select(r, 0, 100, 8, collect, &g), 2);
	assert_string_equal(g.text, "new1|new2");
	memset(&g, 0, sizeof(g));
	assert_int_equal(logs_recent_select(r, 0, 100, 3, collect, &g), 0);
	assert_int_equal(g.calls, 0);
	/* A callback's error stops the walk. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(logs_recent_select(r, 0, 100, 1000, refuse_second, &g), -ENOBUFS);
	assert_int_equal(g.calls, 2);
	logs_recent_free(r);
}

static void test_wraps_and_clears(void **state)
{
	struct logs_recent *r = NULL;
	struct got g = {};
	char line[16];

	assert_int_equal(logs_recent_new(4, 1000, &r), 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(line, sizeof(line), "%d", i);
		add(r, line, (uint64_t)i);
	}
	assert_int_equal(logs_recent_select(r, 0, 100, 1000, collect, &g), 4);
	assert_string_equal(g.text, "996|997|998|999");
	logs_recent_clear(r);
	assert_int_equal(logs_recent_lines(r), 0);
	assert_int_equal(logs_recent_select(r, 0, 100, 1000, collect, &g), 0);
	add(r, "\n", 1); /* an empty line is not kept */
	assert_int_equal(logs_recent_lines(r), 0);
	assert_null(logs_recent_free(r));
	assert_null(logs_recent_free(NULL));
	assert_int_equal(logs_recent_new(0, 10, &r), -EINVAL);
}

/* A line of max_bytes, then one more byte than that: the first is kept whole wherever the buffer
 * stands, the second is skipped and leaves the ring as it was, unless its extra byte is the
 * newline, which is not kept. */
static void test_line_of_max_bytes(void **state)
{
	struct logs_recent *r = NULL;
	struct got g = {};

	assert_int_equal(logs_recent_new(10, 8, &r), 0);
	add(r, "abc", 1); /* the buffer's end is 5 bytes on */
	add(r, "12345678", 2);
	assert_int_equal(logs_recent_lines(r), 1);
	assert_int_equal(logs_recent_select(r, 0, 10, 8, collect, &g), 1);
	assert_string_equal(g.text, "12345678");
	add(r, "123456789", 3);
	assert_int_equal(logs_recent_skipped(r), 1);
	assert_int_equal(logs_recent_lines(r), 1);
	add(r, "ABCDEFGH\n", 4);
	assert_int_equal(logs_recent_skipped(r), 1);
	memset(&g, 0, sizeof(g));
	assert_int_equal(logs_recent_select(r, 0, 10, 8, collect, &g), 1);
	assert_string_equal(g.text, "ABCDEFGH");
	/* "zzzzz" goes in 2 bytes before the buffer's end, and is given whole. */
	add(r, "x", 5);
	add(r, "yz", 6);
	add(r, "zzzzz", 7);
	memset(&g, 0, sizeof(g));
	assert_int_equal(logs_recent_select(r, 0, 10, 8, collect, &g), 3);
	assert_string_equal(g.text, "x|yz|zzzzz");
	/* The select byte bound counts the line, whichever pieces it lies in. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(logs_recent_select(r, 0, 10, 7, collect, &g), 2);
	assert_string_equal(g.text, "yz|zzzzz");
	logs_recent_free(r);
}

/* The reference: every line kept, of which the ring should hold those from lo on. */
struct model_line {
	char *text;
	size_t len;
	uint64_t mono_ms;
};

struct model {
	struct model_line *lines;
	size_t n, lo, max_lines, max_bytes;
	uint64_t skipped;
};

static void model_add(struct model *m, const char *line, size_t len, uint64_t mono_ms)
{
	size_t bytes = 0, held = m->lo;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len == 0)
		return;
	if (len > m->max_bytes) {
		m->skipped++;
		return;
	}
	m->lines[m->n].text = malloc(len);
	assert_non_null(m->lines[m->n].text);
	memcpy(m->lines[m->n].text, line, len);
	m->lines[m->n].len = len;
	m->lines[m->n].mono_ms = mono_ms;
	m->n++;
	/* The newest of the lines held that fit both bounds, counted afresh. */
	m->lo = m->n;
	while (m->lo > held && m->n - m->lo < m->max_lines &&
	       bytes + m->lines[m->lo - 1].len <= m->max_bytes)
		bytes += m->lines[--m->lo].len;
}

/* What select should give: the longest run of newest lines within its limits. */
static size_t model_select(const struct model *m, uint64_t since_ms, size_t max_lines,
			   size_t max_bytes, size_t *ret_from)
{
	size_t k = m->n - m->lo;

	for (;; k--) {
		size_t bytes = 0;
		bool fits = k <= max_lines;

		for (size_t i = m->n - k; fits && i < m->n; i++) {
			bytes += m->lines[i].len;
			fits = m->lines[i].mono_ms >= since_ms && bytes <= max_bytes;
		}
		if (fits || k == 0)
			break;
	}
	*ret_from = m->n - k;
	return k;
}

/* Checks each line given against the model's, in order; refuses the stop-th with -ENOBUFS. */
struct expect {
	const struct model *m;
	size_t next, calls, stop;
};

static int check_line(const char *line, size_t len, void *userdata)
{
	struct expect *e = userdata;
	const struct model_line *l;

	assert_in_range(e->next, 0, e->m->n - 1);
	l = &e->m->lines[e->next++];

	if (++e->calls == e->stop)
		return -ENOBUFS;
	assert_int_equal(len, l->len);
	assert_memory_equal(line, l->text, len);
	return 0;
}

static void run_against_model(size_t max_lines, size_t max_bytes, int ops)
{
	struct logs_recent *r = NULL;
	struct model m = { .max_lines = max_lines, .max_bytes = max_bytes };
	char *line = malloc(max_bytes + 2);
	/* Short lines up to a quarter of the bound, but no more than 32 bytes: with a large bound,
	 * the count bound is the one met. */
	size_t short_max = max_bytes / 4 < 32 ? max_bytes / 4 : 32;
	uint64_t now = 1000;

	assert_non_null(line);
	m.lines = calloc((size_t)ops, sizeof(*m.lines));
	assert_non_null(m.lines);
	assert_int_equal(logs_recent_new(max_lines, max_bytes, &r), 0);
	for (int op = 0; op < ops; op++) {
		int what = rand() % 100;

		if (what < 75) {
			/* Mostly short lines, some up to the bound and one byte past it. */
			int shape = rand() % 10;
			size_t len = shape < 6	 ? (size_t)rand() % (short_max + 2)
				     : shape < 8 ? (size_t)rand() % (max_bytes + 3)
				     : shape < 9 ? max_bytes
						 : max_bytes + 1;

			for (size_t i = 0; i < len; i++)
				line[i] = (char)('a' + (op + i * 7) % 26);
			if (len > 0 && rand() % 3 == 0)
				line[len - 1] = '\n';
			now += (uint64_t)(rand() % 3);
			assert_int_equal(logs_recent_add(r, line, len, now), 0);
			model_add(&m, line, len, now);
		} else if (what < 77) {
			logs_recent_clear(r);
			m.lo = m.n;
		} else {
			uint64_t since = now - (uint64_t)(rand() % 40);
			size_t sel_lines = rand() % 4 ? (size_t)rand() % (max_lines + 2) : SIZE_MAX;
			size_t sel_bytes =
				rand() % 4 ? (size_t)rand() % (max_bytes * 2 + 1) : SIZE_MAX;
			size_t from, want = model_select(&m, since, sel_lines, sel_bytes, &from);
			struct expect e = { .m = &m, .next = from };

			if (rand() % 5 == 0)
				e.stop = 1 + (size_t)rand() % (want + 1);
			if (e.stop > 0 && e.stop <= want) {
				assert_int_equal(logs_recent_select(r, since, sel_lines, sel_bytes,
								    check_line, &e),
						 -ENOBUFS);
				assert_int_equal(e.calls, e.stop);
			} else {
				assert_int_equal(logs_recent_select(r, since, sel_lines, sel_bytes,
								    check_line, &e),
						 (int)want);
				assert_int_equal(e.calls, want);
			}
		}
		assert_int_equal(logs_recent_lines(r), m.n - m.lo);
		assert_int_equal(logs_recent_skipped(r), m.skipped);
	}
	logs_recent_free(r);
	for (size_t i = 0; i < m.n; i++)
		free(m.lines[i].text);
	free(m.lines);
	free(line);
}

/* Random adds, clears and selects against the reference, the ring wrapping many times over. */
static void test_against_model(void **state)
{
	srand(20240611);
	run_against_model(1, 1, 3000);
	run_against_model(1, 16, 3000);
	run_against_model(3, 10, 4000);
	run_against_model(7, 64, 4000);
	run_against_model(50, 100, 4000);
	run_against_model(1000, 257, 5000);
	run_against_model(100, 4096, 5000);
	run_against_model(16, LOGS_RECENT_BYTES_MAX, 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count_bound_keeps_newest),
		cmocka_unit_test(test_byte_bound_and_oversized_line),
		cmocka_unit_test(test_select_limits),
		cmocka_unit_test(test_wraps_and_clears),
		cmocka_unit_test(test_line_of_max_bytes),
		cmocka_unit_test(test_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
