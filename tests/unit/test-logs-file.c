/* SPDX-License-Identifier: MIT */
/*
 * The logs plugin's log file (plugins/logs/logs-file.c) on a temporary directory: what a flush
 * makes durable, what a crash (the file freed without a flush) leaves and how it is recovered,
 * sealing and the chain of cids, damage, a failed write (a file size limit); and the pure
 * decisions beside it: rotation (logs_rotate_due()) and the per-minute budget (logs-budget.c).
 * Every file is read back with zlib as the server would, trailer checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "harness-fs.h"
#include "logs-budget.h"
#include "logs-file.h"
#include "macro.h"

#define MINUTE 60000ULL

static struct tree *tree;
static char *dir;

static int setup(void **state)
{
	tree = tree_new("logs-file");
	if (!tree)
		return -1;
	dir = tree_path(tree->state, "logs");
	return 0;
}

static int teardown(void **state)
{
	free(dir);
	return tree_free(tree);
}

/* The len bytes of gzip at data, uncompressed (trailer checked): a new string. */
static char *gunzip(const unsigned char *data, size_t len, size_t *ret_len)
{
	z_stream z = { 0 };
	size_t size = 1 << 20;
	char *out = malloc(size + 1);
	int r;

	assert_non_null(out);
	assert_int_equal(inflateInit2(&z, 16 + 15), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)size;
	r = inflate(&z, Z_FINISH);
	assert_int_equal(r, Z_STREAM_END);
	assert_int_equal(z.avail_in, 0); /* one member, nothing after it */
	*ret_len = size - z.avail_out;
	out[*ret_len] = 0;
	inflateEnd(&z);
	return out;
}

/* The sealed file's lines, read through its descriptor as the spool copies it. */
static char *sealed_lines(struct logs_file *f)
{
	struct logs_file_info info;
	unsigned char *buf;
	size_t n;
	char *text;

	logs_file_info(f, &info);
	assert_true(info.sealed);
	buf = malloc(info.bytes);
	assert_non_null(buf);
	assert_int_equal(pread(logs_file_sealed_fd(f), buf, info.bytes, 0), (ssize_t)info.bytes);
	text = gunzip(buf, info.bytes, &n);
	free(buf);
	return text;
}

/* Appends "<word> <i>\n". */
static void append(struct logs_file *f, const char *word, int i)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "%s %d\n", word, i);

	assert_int_equal(logs_file_append(f, line, (size_t)n, 1000), 0);
}

/* What the lines "line <from>\n" up to "line <to - 1>\n" make. */
static char *expected(int from, int to)
{
	char *s = calloc(1, 32 * (size_t)(to - from) + 1);

	assert_non_null(s);
	for (int i = from; i < to; i++)
		sprintf(s + strlen(s), "line %d\n", i);
	return s;
}

static json_object *position(int seq)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "seq", json_object_new_int(seq));
	return o;
}

static void test_fresh_flush_seal_next(void **state)
{
	struct logs_file_recovery rec;
	struct logs_file_info info, next;
	struct logs_file *f;
	_cleanup_free_ char *got = NULL, *want = expected(0, 100);
	char name[64];

	assert_int_equal(logs_file_open(dir, 6, &f, &rec), 0);
	assert_true(rec.fresh);
	assert_false(rec.damaged);
	logs_file_info(f, &info);
	assert_int_equal(info.lines, 0);
	assert_int_equal(info.first_ms, 0);
	assert_string_not_equal(info.cid, info.next_cid);
	/* Nothing to seal yet. */
	assert_int_equal(logs_file_seal(f, NULL), -ENODATA);

	for (int i = 0; i < 100; i++)
		append(f, "line", i);
	assert_int_equal(logs_file_unflushed(f), 100);
	assert_int_equal(logs_file_flush(f, position(99)), 0);
	assert_int_equal(logs_file_unflushed(f), 0);
	assert_int_equal(logs_file_seal(f, NULL), 0);
	/* Sealed: nothing more goes in. */
	assert_int_equal(logs_file_append(f, "x\n", 2, 1), -EBUSY);
	got = sealed_lines(f);
	assert_string_equal(got, want);

	assert_int_equal(logs_file_next(f), 0);
	logs_file_info(f, &next);
	assert_string_equal(next.cid, info.next_cid);
	assert_string_not_equal(next.entry, info.entry);
	assert_false(next.sealed);
	assert_int_equal(next.lines, 0);
	/* The committed file is gone from the directory, the new one is there. */
	snprintf(name, sizeof(name), "logs/%s.jsonl.gz", info.cid);
	assert_false(tree_exists(tree->state, name));
	snprintf(name, sizeof(name), "logs/%s.jsonl.gz", next.cid);
	assert_true(tree_exists(tree->state, name));
	/* The positions stay with the chain. */
	assert_int_equal(json_object_get_int(json_object_object_get(logs_file_positions(f), "seq")),
			 99);
	logs_file_free(f);
}

static void test_crash_keeps_what_was_flushed(void **state)
{
	struct logs_file_recovery rec;
	struct logs_file_info before, after;
	struct logs_file *f;
	_cleanup_free_ char *got = NULL, *want = NULL, *tail = expected(200, 250);

	assert_int_equal(logs_file_open(dir, 6, &f, NULL), 0);
	for (int i = 0; i < 200; i++)
		append(f, "line", i);
	assert_int_equal(logs_file_flush(f, position(199)), 0);
	logs_file_info(f, &before);
	/* Lines after the last flush, some of them on disk already: a crash. */
	for (int i = 0; i < 20000; i++)
		append(f, "lost", (int)((unsigned)i * 2654435761U >> 1));
	logs_file_free(f);

	assert_int_equal(logs_file_open(dir, 6, &f, &rec), 0);
	assert_false(rec.fresh);
	assert_false(rec.damaged);
	assert_int_equal(rec.kept_lines, 200);
	assert_true(rec.cut_bytes > 0);
	logs_file_info(f, &after);
	assert_string_equal(after.cid, before.cid);
	assert_string_equal(after.entry, before.entry);
	assert_int_equal(after.lines, 200);
	assert_int_equal(after.first_ms, 1000);
	assert_int_equal(json_object_get_int(json_object_object_get(logs_file_positions(f), "seq")),
			 199);
	/* The file goes on after the cut, as one gzip member. */
	for (int i = 200; i < 250; i++)
		append(f, "line", i);
	assert_int_equal(logs_file_seal(f, NULL), 0);
	got = sealed_lines(f);
	want = expected(0, 200);
	want = realloc(want, strlen(want) + strlen(tail) + 1);
	strcat(want, tail);
	assert_string_equal(got, want);
	logs_file_free(f);
}

static void test_crash_after_seal_commits_the_same_file(void **state)
{
	struct logs_file_recovery rec;
	struct logs_file_info sealed, again;
	struct logs_file *f;
	_cleanup_free_ char *got = NULL, *want = expected(0, 10);

	assert_int_equal(logs_file_open(dir, 6, &f, NULL), 0);
	for (int i = 0; i < 10; i++)
		append(f, "line", i);
	assert_int_equal(logs_file_seal(f, position(9)), 0);
	logs_file_info(f, &sealed);
	logs_file_free(f); /* a crash before logs_file_next() */

	assert_int_equal(logs_file_open(dir, 6, &f, &rec), 0);
	logs_file_info(f, &again);
	assert_true(again.sealed);
	assert_int_equal(rec.cut_bytes, 0);
	assert_string_equal(again.entry, sealed.entry); /* the same entry: never twice */
	assert_int_equal(again.bytes, sealed.bytes);
	got = sealed_lines(f);
	assert_string_equal(got, want);
	assert_int_equal(logs_file_flush(f, NULL), -EBUSY);
	assert_int_equal(logs_file_next(f), 0);
	logs_file_info(f, &again);
	assert_string_equal(again.cid, sealed.next_cid);
	logs_file_free(f);
}

static void test_damage(void **state)
{
	struct logs_file_recovery rec;
	struct logs_file_info info, after;
	struct logs_file *f;
	char name[64];

	/* A file shorter than the state says: its lines are lost, its place in the chain kept. */
	assert_int_equal(logs_file_open(dir, 6, &f, NULL), 0);
	for (int i = 0; i < 10; i++)
		append(f, "line", i);
	assert_int_equal(logs_file_flush(f, NULL), 0);
	logs_file_info(f, &info);
	logs_file_free(f);
	snprintf(name, sizeof(name), "logs/%s.jsonl.gz", info.cid);
	tree_put(tree->state, name, "short");
	assert_int_equal(logs_file_open(dir, 6, &f, &rec), 0);
	assert_true(rec.damaged);
	assert_int_equal(rec.lost_lines, 10);
	logs_file_info(f, &after);
	assert_string_equal(after.cid, info.cid);
	assert_int_equal(after.lines, 0);
	logs_file_free(f);

	/* A state that does not hold together: a new chain, the old file removed. */
	tree_put(tree->state, "logs/state.json", "{\"cid\": 1");
	tree_put(tree->state, "logs/state.json.tmpABCDEF", "left over");
	assert_int_equal(logs_file_open(dir, 6, &f, &rec), 0);
	assert_true(rec.damaged);
	assert_false(rec.fresh);
	logs_file_info(f, &after);
	assert_string_not_equal(after.cid, info.cid);
	assert_false(tree_exists(tree->state, name));
	assert_false(tree_exists(tree->state, "logs/state.json.tmpABCDEF"));
	logs_file_free(f);
}

static void test_discard_keeps_the_chain(void **state)
{
	struct logs_file_info info, after;
	struct logs_file *f;

	assert_int_equal(logs_file_open(dir, 6, &f, NULL), 0);
	append(f, "line", 1);
	assert_int_equal(logs_file_flush(f, NULL), 0);
	logs_file_info(f, &info);
	assert_int_equal(logs_file_discard(f), 0);
	logs_file_info(f, &after);
	assert_string_equal(after.cid, info.cid);
	assert_int_equal(after.lines, 0);
	logs_file_free(f);
	assert_int_equal(logs_file_open(dir, 6, &f, NULL), 0);
	logs_file_info(f, &after);
	assert_int_equal(after.lines, 0);
	logs_file_free(f);
}

static void test_failed_write_cuts_back(void **state)
{
	struct logs_file_info info;
	struct logs_file *f;
	struct rlimit old, low;
	struct stat st;
	char line[4096], path[256];
	_cleanup_free_ char *got = NULL;
	int r = 0;

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	assert_int_equal(logs_file_open(dir, 0, &f, NULL), 0); /* level 0: stored, not shrunk */
	assert_int_equal(logs_file_append(f, "kept\n", 5, 1), 0);
	assert_int_equal(logs_file_flush(f, NULL), 0);
	logs_file_info(f, &info);
	snprintf(path, sizeof(path), "%s/%s.jsonl.gz", dir, info.cid);

	/* The file may not grow by more than a few lines: a write fails with EFBIG. */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	low = old;
	low.rlim_cur = info.bytes + 3 * sizeof(line);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
	for (int i = 0; i < 100 && r == 0; i++)
		r = logs_file_append(f, line, sizeof(line), 1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(r, -EFBIG);
	/* Cut back to the flush: nothing unflushed, the file as long as then. */
	assert_int_equal(logs_file_unflushed(f), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, info.bytes);
	/* And it goes on. */
	assert_int_equal(logs_file_append(f, "after\n", 6, 1), 0);
	assert_int_equal(logs_file_seal(f, NULL), 0);
	got = sealed_lines(f);
	assert_string_equal(got, "kept\nafter\n");
	logs_file_free(f);
}

/* Replaces state.json by a directory, so that the next state write fails (rename: EISDIR); returns
 * what state.json held. */
static char *break_state(void)
{
	char *saved = tree_read(tree->state, "logs/state.json", NULL);

	tree_unlink(tree->state, "logs/state.json");
	tree_mkdir(tree->state, "logs/state.json");
	return saved;
}

/* Puts state.json back as it was: the failed write left it so. */
static void mend_state(const char *saved)
{
	tree_remove(tree->state, "logs/state.json");
	tree_put(tree->state, "logs/state.json", saved);
}

static void test_seal_whose_state_fails_stays_sealed(void **state)
{
	struct logs_file_recovery rec;
	struct logs_file_info info;
	struct logs_file *f;
	_cleanup_free_ char *saved = NULL, *got = NULL, *want = expected(0, 5);

	assert_int_equal(logs_file_open(dir, 6, &f, NULL), 0);
	for (int i = 0; i < 3; i++)
		append(f, "line", i);
	assert_int_equal(logs_file_flush(f, position(2)), 0);
	for (int i = 3; i < 5; i++)
		append(f, "line", i);

	/* The trailer is written, state.json is not: the file is finished, nothing more goes in
	 * and nothing was lost; it is not committed until the state says it is sealed. */
	saved = break_state();
	assert_true(logs_file_seal(f, position(4)) < 0);
	mend_state(saved);
	assert_int_equal(logs_file_unflushed(f), 2);
	assert_int_equal(logs_file_append(f, "x\n", 2, 1), -EBUSY);
	assert_int_equal(logs_file_sealed_fd(f), -1);
	assert_int_equal(logs_file_next(f), -EINVAL);
	/* The retry writes the state only. */
	assert_int_equal(logs_file_seal(f, NULL), 0);
	assert_int_equal(logs_file_unflushed(f), 0);
	got = sealed_lines(f);
	assert_string_equal(got, want);
	assert_int_equal(logs_file_seal(f, NULL), -EBUSY);
	assert_int_equal(logs_file_next(f), 0);
	logs_file_free(f);

	/* A crash before the retry: the file is what its state says, the lines of the last flush,
	 * and it goes on as one gzip member. */
	assert_int_equal(logs_file_open(dir, 6, &f, NULL), 0);
	for (int i = 0; i < 3; i++)
		append(f, "line", i);
	assert_int_equal(logs_file_flush(f, NULL), 0);
	append(f, "lost", 3);
	free(saved);
	saved = break_state();
	assert_true(logs_file_seal(f, NULL) < 0);
	mend_state(saved);
	logs_file_free(f);
	assert_int_equal(logs_file_open(dir, 6, &f, &rec), 0);
	logs_file_info(f, &info);
	assert_false(info.sealed);
	assert_int_equal(rec.kept_lines, 3);
	for (int i = 3; i < 5; i++)
		append(f, "line", i);
	assert_int_equal(logs_file_seal(f, NULL), 0);
	free(got);
	got = sealed_lines(f);
	assert_string_equal(got, want);
	logs_file_free(f);
}

static void test_flush_whose_state_fails_loses_nothing(void **state)
{
	struct logs_file *f;
	_cleanup_free_ char *saved = NULL, *got = NULL, *want = expected(0, 3);

	assert_int_equal(logs_file_open(dir, 6, &f, NULL), 0);
	append(f, "line", 0);
	assert_int_equal(logs_file_flush(f, NULL), 0);
	append(f, "line", 1);
	saved = break_state();
	assert_true(logs_file_flush(f, position(1)) < 0);
	mend_state(saved);
	/* Not durable yet, but still in the file: the next flush makes it so. */
	assert_int_equal(logs_file_unflushed(f), 1);
	append(f, "line", 2);
	assert_int_equal(logs_file_flush(f, NULL), 0);
	assert_int_equal(logs_file_unflushed(f), 0);
	logs_file_free(f);
	assert_int_equal(logs_file_open(dir, 6, &f, NULL), 0);
	assert_int_equal(logs_file_seal(f, NULL), 0);
	got = sealed_lines(f);
	assert_string_equal(got, want);
	logs_file_free(f);
}

/* state.json's inode: each write replaces the file. */
static ino_t state_inode(void)
{
	_cleanup_free_ char *path = tree_path(tree->state, "logs/state.json");
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

static void test_unchanged_state_is_not_written_again(void **state)
{
	struct logs_file *f;
	ino_t ino;

	assert_int_equal(logs_file_open(dir, 6, &f, NULL), 0);
	assert_int_equal(logs_file_flush(f, position(1)), 0);
	ino = state_inode();
	/* Lines dropped by the level: the positions did not change, nor did the state. */
	assert_int_equal(logs_file_flush(f, position(1)), 0);
	assert_int_equal(logs_file_flush(f, json_object_new_object()), 0);
	assert_true(state_inode() != ino); /* {} is not {"seq": 1} */
	ino = state_inode();
	assert_int_equal(logs_file_flush(f, json_object_new_object()), 0);
	assert_true(state_inode() == ino);
	append(f, "line", 0);
	assert_int_equal(logs_file_flush(f, json_object_new_object()), 0);
	assert_true(state_inode() != ino);
	logs_file_free(f);
}

static void test_rotate_due(void **state)
{
	struct logs_file_info info = { 0 };
	uint64_t in = 0;

	assert_int_equal(logs_rotate_due(&info, 100, MINUTE, 5000, &in), LOGS_ROTATE_NO);
	assert_true(in == UINT64_MAX);
	info.lines = 1;
	info.first_ms = 1000;
	info.raw_bytes = 99;
	assert_int_equal(logs_rotate_due(&info, 100, MINUTE, 1000, &in), LOGS_ROTATE_NO);
	assert_int_equal(in, MINUTE);
	assert_int_equal(logs_rotate_due(&info, 100, MINUTE, 1000 + MINUTE - 1, &in),
			 LOGS_ROTATE_NO);
	assert_int_equal(in, 1);
	assert_int_equal(logs_rotate_due(&info, 100, MINUTE, 1000 + MINUTE, &in), LOGS_ROTATE_AGE);
	assert_int_equal(in, 0);
	info.raw_bytes = 100;
	assert_int_equal(logs_rotate_due(&info, 100, MINUTE, 1000, NULL), LOGS_ROTATE_SIZE);
	/* A clock set back: the first line is new, not ages old. */
	info.raw_bytes = 1;
	assert_int_equal(logs_rotate_due(&info, 100, MINUTE, 10, &in), LOGS_ROTATE_NO);
	assert_int_equal(in, MINUTE);
}

static void test_budget(void **state)
{
	struct logs_budget b;
	unsigned passed = 0;

	/* A full minute's burst passes, then nothing until the bucket refills. */
	logs_budget_init(&b, 10, 0);
	for (int i = 0; i < 20; i++)
		passed += logs_budget_take(&b, 0);
	assert_int_equal(passed, 10);
	assert_false(logs_budget_take(&b, MINUTE / 10 - 1));
	assert_true(logs_budget_take(&b, MINUTE / 10));
	assert_false(logs_budget_take(&b, MINUTE / 10));

	/* Refills in small steps add up exactly: one line a minute, asked every millisecond. */
	logs_budget_init(&b, 1, 0);
	assert_true(logs_budget_take(&b, 0));
	passed = 0;
	for (uint64_t t = 1; t <= 2 * MINUTE; t++)
		passed += logs_budget_take(&b, t);
	assert_int_equal(passed, 2);

	/* Held to the rate under a flood: 100 a minute for ten minutes, one asked every 10 ms. */
	logs_budget_init(&b, 100, 0);
	passed = 0;
	for (uint64_t t = 0; t < 10 * MINUTE; t += 10)
		passed += logs_budget_take(&b, t);
	assert_in_range(passed, 100 + 9 * 100, 100 + 10 * 100);

	/* A long pause refills a minute's worth, no more; a clock set back refills nothing. */
	logs_budget_init(&b, 5, 1000);
	for (int i = 0; i < 5; i++)
		assert_true(logs_budget_take(&b, 1000));
	passed = 0;
	for (int i = 0; i < 10; i++)
		passed += logs_budget_take(&b, 1000 + 3600 * 1000);
	assert_int_equal(passed, 5);
	assert_false(logs_budget_take(&b, 0));

	/* 0: no limit. */
	logs_budget_init(&b, 0, 0);
	for (int i = 0; i < 100000; i++)
		assert_true(logs_budget_take(&b, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_flush_seal_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_keeps_what_was_flushed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_after_seal_commits_the_same_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discard_keeps_the_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_write_cuts_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seal_whose_state_fails_stays_sealed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_flush_whose_state_fails_loses_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unchanged_state_is_not_written_again, setup,
						teardown),
		cmocka_unit_test(test_rotate_due),
		cmocka_unit_test(test_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
