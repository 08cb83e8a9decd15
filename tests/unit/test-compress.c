/* SPDX-License-Identifier: MIT */
/*
 * The streaming compressor of faultd-core-handler (plugins/coredump/compress.c): what it writes
 * decompresses (with zlib and libzstd here, apart from the writer) to exactly what went in,
 * whatever the chunking; the output cap refuses the first write that would go past it, never
 * leaves more than the cap in the file, and the writer stays refused afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "build-config.h"
#include "compress.h"
#include "macro.h"
#include "tmpdir.h"

#if HAVE_ZSTD
#include <zstd.h>
#endif

static char *tmpdir;

static int setup(void **state)
{
	tmpdir = test_tmpdir_new("compress");
	return tmpdir ? 0 : -1;
}

static int teardown(void **state)
{
	return test_tmpdir_free(tmpdir);
}

/* A new, empty output file in the test directory, open for reading and writing. */
static int out_open(const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	return fd;
}

/* The whole file behind fd, in a new buffer of *ret_len bytes. */
static uint8_t *out_read(int fd, size_t *ret_len)
{
	struct stat st;
	uint8_t *buf;

	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	*ret_len = (size_t)st.st_size;
	return buf;
}

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/*
 * Input like a core's: runs of zeros, incompressible noise, repeated text and counters, in a
 * buffer of len bytes.
 */
static uint8_t *varied_data(size_t len)
{
	static const char text[] = "#0  0x00007f1234567890 in raise () from /lib/libc.so.6\n";
	uint8_t *buf = malloc(len);
	size_t pos = 0;
	unsigned kind = 0;

	assert_non_null(buf);
	while (pos < len) {
		size_t run = MIN(len - pos, (size_t)(rng() % 100000) + 1);

		switch (kind++ % 4) {
		case 0:
			memset(buf + pos, 0, run);
			break;
		case 1:
			for (size_t i = 0; i < run; i++)
				buf[pos + i] = (uint8_t)rng();
			break;
		case 2:
			for (size_t i = 0; i < run; i++)
				buf[pos + i] = (uint8_t)text[i % (sizeof(text) - 1)];
			break;
		default:
			for (size_t i = 0; i < run; i++)
				buf[pos + i] = (uint8_t)(i / 8);
			break;
		}
		pos += run;
	}
	return buf;
}

static uint8_t *gunzip(const uint8_t *in, size_t in_len, size_t max, size_t *ret_len)
{
	uint8_t *out = malloc(max + 1);
	z_stream z = {};

	assert_non_null(out);
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)in_len;
	z.next_out = out;
	z.avail_out = (uInt)(max + 1);
	/* The whole stream, and its end: a stream without its trailer fails here. */
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.avail_in, 0);
	*ret_len = z.total_out;
	inflateEnd(&z);
	return out;
}

#if HAVE_ZSTD
static uint8_t *unzstd(const uint8_t *in, size_t in_len, size_t max, size_t *ret_len)
{
	ZSTD_DStream *d = ZSTD_createDStream();
	ZSTD_inBuffer ib = { in, in_len, 0 };
	uint8_t *out = malloc(max + 1);
	ZSTD_outBuffer ob = { out, max + 1, 0 };
	size_t left = 1;

	assert_non_null(d);
	assert_non_null(out);
	ZSTD_initDStream(d);
	while (ib.pos < ib.size) {
		left = ZSTD_decompressStream(d, &ob, &ib);
		assert_false(ZSTD_isError(left));
		assert_true(ob.pos <= max);
	}
	/* 0: a frame was completely decoded (and its checksum checked). */
	assert_int_equal(left, 0);
	ZSTD_freeDStream(d);
	*ret_len = ob.pos;
	return out;
}
#endif

/* Writes data (len bytes) through a writer of kind in odd-sized chunks with runs of zeros in
 * between, and the same into a new *ret_expect; returns the writer's output. */
static uint8_t *write_varied(enum cz_kind kind, const uint8_t *data, size_t len,
			     uint8_t **ret_expect, size_t *ret_expect_len, size_t *ret_out_len)
{
	static const size_t chunks[] = { 1, 7, 4093, 65537, 3, 1048579, 0, 131071 };
	static const uint64_t zeros[] = { 0, 1, 4097, 100003, 5 };
	struct cz_writer *w = NULL;
	size_t pos = 0, e = 0;
	size_t cap = 2 * len + 200000;
	uint8_t *out, *expect = malloc(cap);
	int fd = out_open("varied");

	assert_non_null(expect);
	assert_int_equal(cz_writer_new(fd, kind, 0, &w), 0);
	for (unsigned i = 0; pos < len; i++) {
		size_t n = MIN(chunks[i % ARRAY_SIZE(chunks)], len - pos);
		uint64_t z = zeros[i % ARRAY_SIZE(zeros)];

		assert_true(e + n + z <= cap);

		assert_int_equal(cz_write(w, data + pos, n), 0);
		memcpy(expect + e, data + pos, n);
		pos += n;
		e += n;
		assert_int_equal(cz_write_zeros(w, z), 0);
		memset(expect + e, 0, z);
		e += z;
		assert_int_equal(cz_bytes_in(w), e);
	}
	assert_int_equal(cz_finish(w), 0);
	out = out_read(fd, ret_out_len);
	assert_int_equal(cz_bytes_out(w), *ret_out_len);
	assert_int_equal(cz_bytes_in(w), e);
	assert_null(cz_writer_free(w));
	close(fd);
	*ret_expect = expect;
	*ret_expect_len = e;
	return out;
}

#define VARIED_LEN (3 * 1024 * 1024 + 12345)

static void test_gzip_round_trip(void **state)
{
	uint8_t *data = varied_data(VARIED_LEN), *expect, *out, *back;
	size_t expect_len, out_len, back_len;

	out = write_varied(CZ_GZIP, data, VARIED_LEN, &expect, &expect_len, &out_len);
	assert_true(expect_len > VARIED_LEN);
	/* gzip's magic, and smaller than the input (half of it is zeros, text and counters). */
	assert_true(out_len > 18);
	assert_int_equal(out[0], 0x1f);
	assert_int_equal(out[1], 0x8b);
	assert_true(out_len < expect_len * 3 / 4);
	back = gunzip(out, out_len, expect_len, &back_len);
	assert_int_equal(back_len, expect_len);
	assert_memory_equal(back, expect, expect_len);
	free(back);
	free(out);
	free(expect);
	free(data);
}

static void test_none_verbatim(void **state)
{
	uint8_t *data = varied_data(VARIED_LEN / 3), *expect, *out;
	size_t expect_len, out_len;

	out = write_varied(CZ_NONE, data, VARIED_LEN / 3, &expect, &expect_len, &out_len);
	assert_int_equal(out_len, expect_len);
	assert_memory_equal(out, expect, expect_len);
	free(out);
	free(expect);
	free(data);
}

static void test_zstd_round_trip(void **state)
{
#if HAVE_ZSTD
	uint8_t *data = varied_data(VARIED_LEN), *expect, *out, *back;
	size_t expect_len, out_len, back_len;

	out = write_varied(CZ_ZSTD, data, VARIED_LEN, &expect, &expect_len, &out_len);
	assert_true(out_len > 4);
	assert_memory_equal(out, "\x28\xb5\x2f\xfd", 4);
	assert_true(out_len < expect_len * 3 / 4);
	back = unzstd(out, out_len, expect_len, &back_len);
	assert_int_equal(back_len, expect_len);
	assert_memory_equal(back, expect, expect_len);
	free(back);
	free(out);
	free(expect);
	free(data);
#else
	skip();
#endif
}

/* An empty stream is still a valid one (a zero-byte file would not decompress). */
static void test_empty_streams(void **state)
{
	enum cz_kind kinds[] = {
		CZ_GZIP,
#if HAVE_ZSTD
		CZ_ZSTD
#endif
	};

	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		struct cz_writer *w = NULL;
		size_t out_len, back_len;
		uint8_t *out, *back;
		int fd = out_open("empty");

		assert_int_equal(cz_writer_new(fd, kinds[k], 0, &w), 0);
		assert_int_equal(cz_write(w, "", 0), 0);
		assert_int_equal(cz_write_zeros(w, 0), 0);
		assert_int_equal(cz_finish(w), 0);
		out = out_read(fd, &out_len);
		assert_true(out_len > 0);
		assert_int_equal(cz_bytes_in(w), 0);
		if (kinds[k] == CZ_GZIP)
			back = gunzip(out, out_len, 16, &back_len);
#if HAVE_ZSTD
		else
			back = unzstd(out, out_len, 16, &back_len);
#else
		else
			fail();
#endif
		assert_int_equal(back_len, 0);
		free(back);
		free(out);
		cz_writer_free(w);
		close(fd);
	}
}

/* Without compression the cap is exact: max_out bytes go, one more does not. */
static void test_cap_none(void **state)
{
	uint8_t buf[1000];
	struct cz_writer *w = NULL;
	size_t out_len;
	uint8_t *out;
	int fd = out_open("cap-none");

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13 + 1);
	assert_int_equal(cz_writer_new(fd, CZ_NONE, 1000, &w), 0);
	assert_int_equal(cz_write(w, buf, 600), 0);
	assert_int_equal(cz_write_zeros(w, 300), 0);
	assert_int_equal(cz_write(w, buf + 900, 100), 0);
	assert_int_equal(cz_bytes_out(w), 1000);
	assert_int_equal(cz_write(w, buf, 1), -EFBIG);
	/* Refused from now on, and nothing more reaches the file. */
	assert_int_not_equal(cz_write(w, buf, 1), 0);
	assert_int_not_equal(cz_write_zeros(w, 1), 0);
	assert_int_not_equal(cz_finish(w), 0);
	assert_int_equal(cz_bytes_out(w), 1000);
	out = out_read(fd, &out_len);
	assert_int_equal(out_len, 1000);
	assert_memory_equal(out, buf, 600);
	for (size_t i = 600; i < 900; i++)
		assert_int_equal(out[i], 0);
	assert_memory_equal(out + 900, buf + 900, 100);
	free(out);
	cz_writer_free(w);
	close(fd);

	/* One write larger than the cap writes none of it. */
	fd = out_open("cap-none-2");
	assert_int_equal(cz_writer_new(fd, CZ_NONE, 100, &w), 0);
	assert_int_equal(cz_write(w, buf, 101), -EFBIG);
	assert_int_equal(cz_bytes_out(w), 0);
	out = out_read(fd, &out_len);
	assert_int_equal(out_len, 0);
	free(out);
	cz_writer_free(w);
	close(fd);

	fd = out_open("cap-none-3");
	assert_int_equal(cz_writer_new(fd, CZ_NONE, 100, &w), 0);
	assert_int_equal(cz_write_zeros(w, 101), -EFBIG);
	out = out_read(fd, &out_len);
	assert_true(out_len <= 100);
	free(out);
	cz_writer_free(w);
	close(fd);
}

/* Writes data to a writer of kind capped at max_out. Returns the first error (0 if none) and
 * the output's length. */
static int write_capped(enum cz_kind kind, const uint8_t *data, size_t len, uint64_t max_out,
			size_t *ret_out_len, uint8_t **ret_out)
{
	struct cz_writer *w = NULL;
	size_t pos = 0;
	int fd = out_open("capped"), r = 0;

	assert_int_equal(cz_writer_new(fd, kind, max_out, &w), 0);
	while (pos < len && r == 0) {
		size_t n = MIN(len - pos, (size_t)77777);

		r = cz_write(w, data + pos, n);
		pos += n;
	}
	if (r == 0)
		r = cz_finish(w);
	else {
		/* A refused writer stays refused. */
		assert_int_not_equal(cz_write(w, data, 1), 0);
		assert_int_not_equal(cz_finish(w), 0);
	}
	*ret_out = out_read(fd, ret_out_len);
	assert_int_equal(cz_bytes_out(w), *ret_out_len);
	if (max_out)
		assert_true(*ret_out_len <= max_out);
	cz_writer_free(w);
	close(fd);
	return r;
}

/* With compression the cap is exact too: a stream of exactly max_out bytes is written whole, one
 * that needs a byte more is refused (in a write or at the end) with -EFBIG. */
static void test_cap_compressed(void **state)
{
	enum cz_kind kinds[] = {
		CZ_GZIP,
#if HAVE_ZSTD
		CZ_ZSTD
#endif
	};
	size_t len = 600 * 1024;
	uint8_t *data = malloc(len);

	assert_non_null(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)rng(); /* incompressible: the output is near the input's size */
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		size_t full_len, len2;
		uint8_t *full, *out;

		assert_int_equal(write_capped(kinds[k], data, len, 0, &full_len, &full), 0);
		assert_true(full_len > len);

		assert_int_equal(write_capped(kinds[k], data, len, full_len, &len2, &out), 0);
		assert_int_equal(len2, full_len);
		assert_memory_equal(out, full, full_len);
		free(out);

		assert_int_equal(write_capped(kinds[k], data, len, full_len - 1, &len2, &out),
				 -EFBIG);
		assert_true(len2 <= full_len - 1);
		free(out);

		assert_int_equal(write_capped(kinds[k], data, len, 100000, &len2, &out), -EFBIG);
		assert_true(len2 <= 100000);
		free(out);
		free(full);
	}
	free(data);
}

/* A failed write(2) is the caller's errno, and the writer stays refused. */
static void test_write_error(void **state)
{
	char path[PATH_MAX];
	struct cz_writer *w = NULL;
	uint8_t *big = calloc(1, 300000);
	int fd;

	assert_non_null(big);
	close(out_open("ro"));
	snprintf(path, sizeof(path), "%s/ro", tmpdir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);

	assert_int_equal(cz_writer_new(fd, CZ_NONE, 0, &w), 0);
	assert_int_equal(cz_write(w, "abc", 3), -EBADF);
	assert_int_not_equal(cz_write(w, "abc", 3), 0);
	assert_int_equal(cz_bytes_out(w), 0);
	cz_writer_free(w);

	/* gzip buffers: the error shows by the end of the stream at the latest. */
	assert_int_equal(cz_writer_new(fd, CZ_GZIP, 0, &w), 0);
	{
		int r = cz_write(w, big, 300000);

		if (r == 0)
			r = cz_finish(w);
		assert_int_equal(r, -EBADF);
	}
	assert_int_not_equal(cz_finish(w), 0);
	cz_writer_free(w);
	close(fd);
	free(big);
}

static void test_kind_names(void **state)
{
	static const char *const bad[] = { "",	    "GZIP",  "gz",    "zst",  "xz",
					   "gzip ", " none", "bzip2", "None", "gzipp" };
	enum cz_kind k;

	k = CZ_GZIP;
	assert_int_equal(cz_kind_from_name("none", &k), 0);
	assert_int_equal(k, CZ_NONE);
	assert_int_equal(cz_kind_from_name("gzip", &k), 0);
	assert_int_equal(k, CZ_GZIP);
	k = CZ_GZIP;
#if HAVE_ZSTD
	assert_int_equal(cz_kind_from_name("zstd", &k), 0);
	assert_int_equal(k, CZ_ZSTD);
#else
	assert_int_equal(cz_kind_from_name("zstd", &k), -EOPNOTSUPP);
	assert_int_equal(k, CZ_GZIP);
#endif
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		k = CZ_GZIP;
		assert_int_equal(cz_kind_from_name(bad[i], &k), -EINVAL);
		assert_int_equal(k, CZ_GZIP); /* untouched */
	}

	assert_string_equal(cz_kind_suffix(CZ_NONE), "");
	assert_string_equal(cz_kind_suffix(CZ_GZIP), ".gz");
	assert_string_equal(cz_kind_suffix(CZ_ZSTD), ".zst");
	assert_null(cz_kind_name(CZ_NONE));
	assert_string_equal(cz_kind_name(CZ_GZIP), "gzip");
	assert_string_equal(cz_kind_name(CZ_ZSTD), "zstd");
	assert_null(cz_writer_free(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_names),     cmocka_unit_test(test_gzip_round_trip),
		cmocka_unit_test(test_none_verbatim),  cmocka_unit_test(test_zstd_round_trip),
		cmocka_unit_test(test_empty_streams),  cmocka_unit_test(test_cap_none),
		cmocka_unit_test(test_cap_compressed), cmocka_unit_test(test_write_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
