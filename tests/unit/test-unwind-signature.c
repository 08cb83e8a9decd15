/* SPDX-License-Identifier: MIT */
/*
 * The stack trace's signature and short frames (plugins/coredump/unwind.c) on hand-made results:
 * version suffixes dropped, the signal and abort machinery skipped, load addresses (ASLR) without
 * effect, names preferred to offsets; the linux-stacktrace document's shape; then the sandboxed
 * child on input that is not a core (the time limit is tested on a real core by
 * tests/integration/test_stacktrace.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "build-config.h"
#include "macro.h"
#include "unwind.h"

struct fake_frame {
	int module;
	uint64_t offset;
	const char *function;
};

/* A result with two modules loaded at exe_base and lib_base and one crashing thread. */
static struct unwind_result *make_result(const char *lib_path, uint64_t exe_base, uint64_t lib_base,
					 const struct fake_frame *frames, size_t n)
{
	struct unwind_result *r = calloc(1, sizeof(*r));
	uint64_t bases[2] = { exe_base, lib_base };

	assert_non_null(r);
	r->signal = strdup("SIGSEGV");
	r->cmdline = strdup("crasher segv");
	r->n_modules = 2;
	r->modules = calloc(2, sizeof(*r->modules));
	r->modules[0].path = strdup("/usr/bin/crasher");
	r->modules[1].path = strdup(lib_path);
	for (int i = 0; i < 2; i++) {
		r->modules[i].build_id = strdup("abcd");
		r->modules[i].base = bases[i];
		r->modules[i].start = bases[i] + 0x1000;
		r->modules[i].end = bases[i] + 0x100000;
		r->modules[i].compiled_offset = 0x1000;
	}
	r->n_threads = 2;
	r->threads = calloc(2, sizeof(*r->threads));
	r->threads[0].tid = 10; /* another thread, first, to show the crashed one is looked for */
	r->threads[1].tid = 11;
	r->threads[1].crashed = true;
	r->threads[1].n_frames = n;
	r->threads[1].frames = calloc(n, sizeof(struct unwind_frame));
	for (size_t i = 0; i < n; i++) {
		struct unwind_frame *f = &r->threads[1].frames[i];

		f->module = frames[i].module;
		f->offset = frames[i].offset;
		f->pc = (f->module >= 0 ? bases[f->module] : 0) + f->offset;
		f->function = frames[i].function ? strdup(frames[i].function) : NULL;
		f->function_offset = 0x12;
	}
	return r;
}

static void signature_of(const struct fake_frame *frames, size_t n, const char *lib,
			 uint64_t exe_base, uint64_t lib_base, char sig[17])
{
	struct unwind_result *r = make_result(lib, exe_base, lib_base, frames, n);

	assert_int_equal(unwind_signature(r, sig), 0);
	assert_int_equal(strlen(sig), 16);
	assert_int_equal(strspn(sig, "0123456789abcdef"), 16);
	unwind_result_free(r);
}

static const struct fake_frame abort_frames[] = {
	{ 1, 0x8eb1c, NULL }, /* __pthread_kill_implementation, static: not in .dynsym */
	{ 1, 0x8eb20, "__pthread_kill_internal" },
	{ 1, 0x3c472, "raise" },
	{ 1, 0x264b2, "abort" },
	{ 1, 0x2639b, "__assert_fail_base" },
	{ 0, 0x1234, "check_config" },
	{ 0, 0x1300, NULL },
	{ 1, 0x27000, "__libc_start_call_main" },
};

static void test_noise_frames_skipped(void **state)
{
	/* The same bug reached without the machinery above it gives the same signature. */
	static const struct fake_frame direct[] = {
		{ 0, 0x1234, "check_config" },
		{ 0, 0x1300, NULL },
		{ 1, 0x27000, "__libc_start_call_main" },
	};
	struct unwind_result *r;
	char a[17], b[17];

	(void)state;
	signature_of(abort_frames, ARRAY_SIZE(abort_frames), "/lib/libc.so.6", 0x555500000000,
		     0x7f0000000000, a);
	signature_of(direct, ARRAY_SIZE(direct), "/lib/libc.so.6", 0x555500000000, 0x7f0000000000,
		     b);
	assert_string_equal(a, b);
	r = make_result("/lib/libc.so.6", 0, 0, direct, 1);
	assert_true(unwind_frame_is_noise(r, &(struct unwind_frame){ .function = "gsignal" }));
	assert_true(unwind_frame_is_noise(r, &(struct unwind_frame){ .function = "__GI_raise" }));
	assert_true(unwind_frame_is_noise(r, &(struct unwind_frame){ .function = "__restore_rt" }));
	assert_true(unwind_frame_is_noise(
		r, &(struct unwind_frame){ .function = "__libc_signal_restore_set" }));
	assert_false(unwind_frame_is_noise(r, &(struct unwind_frame){ .function = "abortive" }));
	assert_false(unwind_frame_is_noise(r, &(struct unwind_frame){ .function = "main" }));
	/* Without a name: noise in libc, not in the program. */
	assert_true(unwind_frame_is_noise(r, &(struct unwind_frame){ .module = 1 }));
	assert_false(unwind_frame_is_noise(r, &(struct unwind_frame){ .module = 0 }));
	assert_false(unwind_frame_is_noise(r, &(struct unwind_frame){ .module = -1 }));
	unwind_result_free(r);
}

static void test_aslr_independent(void **state)
{
	char a[17], b[17];

	(void)state;
	signature_of(abort_frames, ARRAY_SIZE(abort_frames), "/lib/libc.so.6", 0x555500000000,
		     0x7f0000000000, a);
	signature_of(abort_frames, ARRAY_SIZE(abort_frames), "/lib/libc.so.6", 0x563412340000,
		     0x7fa987650000, b);
	assert_string_equal(a, b);
}

static void test_version_suffix(void **state)
{
	static const struct fake_frame in_lib[] = {
		{ 1, 0x4000, NULL },
		{ 1, 0x4100, "parse" },
		{ 0, 0x1234, "main" },
	};
	struct unwind_result *r;
	char a[17], b[17], c[17], key[256];

	(void)state;
	signature_of(in_lib, 3, "/usr/lib/libfoo.so.6", 0x1000, 0x2000, a);
	signature_of(in_lib, 3, "/opt/lib/libfoo.so.6.0.3", 0x1000, 0x2000, b);
	signature_of(in_lib, 3, "/usr/lib/libbar.so.6", 0x1000, 0x2000, c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);

	r = make_result("/usr/lib/libfoo.so.6 (deleted)", 0x1000, 0x7f0000000000, in_lib, 3);
	unwind_frame_key(r, &r->threads[1].frames[0], key, sizeof(key));
	assert_string_equal(key, "libfoo.so+0x4000");
	unwind_frame_key(r, &r->threads[1].frames[1], key, sizeof(key));
	assert_string_equal(key, "libfoo.so!parse");
	unwind_frame_key(r, &r->threads[1].frames[2], key, sizeof(key));
	assert_string_equal(key, "crasher!main");
	unwind_result_free(r);
}

static void test_names_and_offsets(void **state)
{
	/* A name stands for the function wherever in it the pc is; an offset is exact. */
	static const struct fake_frame named1[] = { { 0, 0x1234, "crash" }, { 0, 0x1500, "main" } };
	static const struct fake_frame named2[] = { { 0, 0x1250, "crash" }, { 0, 0x1510, "main" } };
	static const struct fake_frame off1[] = { { 0, 0x1234, NULL }, { 0, 0x1500, NULL } };
	static const struct fake_frame off2[] = { { 0, 0x1250, NULL }, { 0, 0x1500, NULL } };
	char a[17], b[17], c[17], d[17];

	(void)state;
	signature_of(named1, 2, "/lib/libc.so.6", 0x1000, 0x2000, a);
	signature_of(named2, 2, "/lib/libc.so.6", 0x1000, 0x2000, b);
	signature_of(off1, 2, "/lib/libc.so.6", 0x1000, 0x2000, c);
	signature_of(off2, 2, "/lib/libc.so.6", 0x1000, 0x2000, d);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_string_not_equal(c, d);
}

static void test_signal_counts(void **state)
{
	struct unwind_result *r = make_result("/lib/libc.so.6", 0x1000, 0x2000, abort_frames,
					      ARRAY_SIZE(abort_frames));
	char a[17], b[17];

	(void)state;
	assert_int_equal(unwind_signature(r, a), 0);
	free(r->signal);
	r->signal = strdup("SIGABRT");
	assert_int_equal(unwind_signature(r, b), 0);
	assert_string_not_equal(a, b);
	unwind_result_free(r);
}

static void test_only_three_frames(void **state)
{
	static const struct fake_frame f1[] = {
		{ 0, 0x10, "a" }, { 0, 0x20, "b" }, { 0, 0x30, "c" }, { 0, 0x40, "d" }
	};
	static const struct fake_frame f2[] = {
		{ 0, 0x10, "a" }, { 0, 0x20, "b" }, { 0, 0x30, "c" }, { 0, 0x40, "other_caller" }
	};
	static const struct fake_frame f3[] = {
		{ 0, 0x10, "a" }, { 0, 0x20, "b" }, { 0, 0x30, "x" }, { 0, 0x40, "d" }
	};
	char a[17], b[17], c[17];

	(void)state;
	signature_of(f1, 4, "/lib/libc.so.6", 0x1000, 0x2000, a);
	signature_of(f2, 4, "/lib/libc.so.6", 0x1000, 0x2000, b);
	signature_of(f3, 4, "/lib/libc.so.6", 0x1000, 0x2000, c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
}

static void test_no_crashed_thread(void **state)
{
	struct unwind_result *r = make_result("/lib/libc.so.6", 0, 0, abort_frames, 1);
	char sig[17], **frames = NULL;

	(void)state;
	r->threads[1].crashed = false;
	assert_int_equal(unwind_signature(r, sig), -ENOENT);
	assert_int_equal(unwind_top_frames(r, 5, &frames), 0);
	assert_null(frames[0]);
	strv_free(frames);
	unwind_result_free(r);
	assert_null(unwind_result_free(NULL));
}

static void test_top_frames(void **state)
{
	struct unwind_result *r =
		make_result("/lib/x86_64-linux-gnu/libc.so.6", 0x555500000000, 0x7f0000000000,
			    abort_frames, ARRAY_SIZE(abort_frames));
	char **frames = NULL;

	(void)state;
	assert_int_equal(unwind_top_frames(r, 7, &frames), 7);
	assert_string_equal(frames[0], "libc.so+0x8eb1c");
	assert_string_equal(frames[1], "libc.so!__pthread_kill_internal+0x12");
	assert_string_equal(frames[5], "crasher!check_config+0x12");
	assert_string_equal(frames[6], "crasher+0x1300");
	assert_null(frames[7]);
	strv_free(frames);
	assert_int_equal(unwind_top_frames(r, 100, &frames), (int)ARRAY_SIZE(abort_frames));
	strv_free(frames);
	unwind_result_free(r);
}

static void test_document_shape(void **state)
{
	struct unwind_result *r = make_result("/lib/libc.so.6", 0x555500000000, 0x7f0000000000,
					      abort_frames, ARRAY_SIZE(abort_frames));
	char *text = unwind_result_json(r);
	json_object *root, *v, *sym, *th;

	(void)state;
	assert_non_null(text);
	root = json_tokener_parse(text);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "version", &v));
	assert_string_equal(json_object_get_string(v), "1");
	assert_true(json_object_object_get_ex(root, "signal", &v));
	assert_string_equal(json_object_get_string(v), "SIGSEGV");
	assert_true(json_object_object_get_ex(root, "cmdline", &v));
	assert_string_equal(json_object_get_string(v), "crasher segv");
	assert_true(json_object_object_get_ex(root, "symbols", &v));
	sym = json_object_array_get_idx(v, 1);
	assert_string_equal(
		json_object_to_json_string_ext(sym, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE),
		"{\"pc_range\":{\"start\":\"0x7f0000001000\",\"end\":\"0x7f0000100000\"},"
		"\"build_id\":\"abcd\",\"compiled_offset\":\"0x1000\","
		"\"runtime_offset\":\"0x7f0000001000\",\"path\":\"/lib/libc.so.6\"}");
	assert_true(json_object_object_get_ex(root, "threads", &v));
	assert_int_equal(json_object_array_length(v), 2);
	th = json_object_array_get_idx(v, 1);
	assert_true(json_object_object_get_ex(th, "active", &v));
	assert_true(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(th, "pcs", &v));
	assert_int_equal(json_object_array_length(v), ARRAY_SIZE(abort_frames));
	assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)),
			    "0x7f000008eb1c");
	/* Nothing but memfaultd's members. */
	assert_int_equal(json_object_object_length(root), 5);
	assert_int_equal(json_object_object_length(th), 2);
	json_object_put(root);
	free(text);
	unwind_result_free(r);
}

static int memfd_with(const void *data, size_t len)
{
	int fd = memfd_create("test-core", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	return fd;
}

static void test_child_refuses_non_core(void **state)
{
	static const char text[] = "this is not an ELF file at all\n";
	struct unwind_request req = { .time_limit_ms = 5000 };
	struct unwind_result *res = NULL;
	int fd;

	(void)state;
	if (!HAVE_STACKTRACE) {
		assert_int_equal(unwind_core(0, &req, &res), -EOPNOTSUPP);
		return;
	}
	fd = memfd_with(text, sizeof(text));
	assert_int_equal(unwind_core(fd, &req, &res), -EBADMSG);
	assert_null(res);
	close(fd);
	fd = memfd_with("", 0);
	assert_int_equal(unwind_core(fd, &req, &res), -EBADMSG);
	close(fd);
}

static void test_child_refuses_pipe(void **state)
{
	/* libelf reads a core with pread: a pipe is refused, not waited on. */
	struct unwind_request req = { .time_limit_ms = 5000 };
	struct unwind_result *res = NULL;
	int p[2];

	(void)state;
	if (!HAVE_STACKTRACE)
		skip();
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(write(p[1], "\177ELF", 4), 4);
	assert_int_equal(unwind_core(p[0], &req, &res), -EBADMSG);
	assert_null(res);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_noise_frames_skipped),
		cmocka_unit_test(test_aslr_independent),
		cmocka_unit_test(test_version_suffix),
		cmocka_unit_test(test_names_and_offsets),
		cmocka_unit_test(test_signal_counts),
		cmocka_unit_test(test_only_three_frames),
		cmocka_unit_test(test_no_crashed_thread),
		cmocka_unit_test(test_top_frames),
		cmocka_unit_test(test_document_shape),
		cmocka_unit_test(test_child_refuses_non_core),
		cmocka_unit_test(test_child_refuses_pipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
