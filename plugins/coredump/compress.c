/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "build-config.h"
#include "compress.h"
#include "fileio.h"
#include "macro.h"

#if HAVE_ZSTD
#include <zstd.h>
#endif

#define OUT_BUF	    (64 * 1024)
#define GZIP_LEVEL  6
#define ZSTD_LEVEL  3
#define ZSTD_WINLOG 21 /* a 2 MiB window keeps zstd's memory near 3 MiB at any input size */

struct cz_writer {
	int fd;
	enum cz_kind kind;
	uint64_t max_out, in, out;
	bool failed;
	cz_output_t output;
	void *output_userdata;
	z_stream z;
	bool z_ready;
#if HAVE_ZSTD
	ZSTD_CCtx *zc;
#endif
	uint8_t buf[OUT_BUF];
};

int cz_kind_from_name(const char *name, enum cz_kind *ret)
{
	if (streq(name, "none"))
		*ret = CZ_NONE;
	else if (streq(name, "gzip"))
		*ret = CZ_GZIP;
	else if (streq(name, "zstd")) {
#if HAVE_ZSTD
		*ret = CZ_ZSTD;
#else
		return -EOPNOTSUPP;
#endif
	} else
		return -EINVAL;
	return 0;
}

const char *cz_kind_suffix(enum cz_kind kind)
{
	return kind == CZ_GZIP ? ".gz" : kind == CZ_ZSTD ? ".zst" : "";
}

const char *cz_kind_name(enum cz_kind kind)
{
	return kind == CZ_GZIP ? "gzip" : kind == CZ_ZSTD ? "zstd" : NULL;
}

static int emit(struct cz_writer *w, const void *buf, size_t len)
{
	int r;

	if (w->max_out && w->out + len > w->max_out) {
		w->failed = true;
		return -EFBIG;
	}
	r = w->output ? w->output(w->fd, buf, len, w->output_userdata)
		      : lc_write_all(w->fd, buf, len);
	if (r < 0) {
		w->failed = true;
		return r;
	}
	w->out += len;
	return 0;
}

void cz_writer_set_output(struct cz_writer *w, cz_output_t fn, void *userdata)
{
	w->output = fn;
	w->output_userdata = userdata;
}

int cz_writer_new(int fd, enum cz_kind kind, uint64_t max_out, struct cz_writer **ret)
{
	_cleanup_free_ struct cz_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->kind = kind;
	w->max_out = max_out;
	if (kind == CZ_GZIP) {
		/* windowBits 15 + 16: a gzip wrapper; memLevel 8: 256 KiB of state. */
		if (deflateInit2(&w->z, GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
		    Z_OK)
			return -ENOMEM;
		w->z_ready = true;
	}
#if HAVE_ZSTD
	if (kind == CZ_ZSTD) {
		w->zc = ZSTD_createCCtx();
		if (!w->zc ||
		    ZSTD_isError(
			    ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, ZSTD_LEVEL)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_windowLog, ZSTD_WINLOG)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_checksumFlag, 1))) {
			ZSTD_freeCCtx(w->zc);
			return -ENOMEM;
		}
	}
#endif
	*ret = TAKE_PTR(w);
	return 0;
}

static int gzip_run(struct cz_writer *w, const void *buf, size_t len, int flush)
{
	w->z.next_in = (Bytef *)buf;
	w->z.avail_in = (uInt)len;
	for (;;) {
		int zr, r;

		w->z.next_out = w->buf;
		w->z.avail_out = sizeof(w->buf);
		zr = deflate(&w->z, flush);
		if (zr == Z_STREAM_ERROR)
			return -EIO;
		r = emit(w, w->buf, sizeof(w->buf) - w->z.avail_out);
		if (r < 0)
			return r;
		if (flush == Z_FINISH ? zr == Z_STREAM_END : w->z.avail_out != 0)
			return 0;
	}
}

#if HAVE_ZSTD
static int zstd_run(struct cz_writer *w, const void *buf, size_t len, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { buf, len, 0 };

	for (;;) {
		ZSTD_outBuffer out = { w->buf, sizeof(w->buf), 0 };
		size_t left = ZSTD_compressStream2(w->zc, &out, &in, mode);
		int r;

		if (ZSTD_isError(left))
			return -EIO;
		r = emit(w, w->buf, out.pos);
		if (r < 0)
			return r;
		if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size)
			return 0;
	}
}
#endif

int cz_write(struct cz_writer *w, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (w->failed)
		return -EIO;
	while (len > 0) {
		/* Chunks that fit zlib's 32-bit avail_in. */
		size_t n = MIN(len, (size_t)1 << 30);
		int r;

		switch (w->kind) {
		case CZ_GZIP:
			r = gzip_run(w, p, n, Z_NO_FLUSH);
			break;
#if HAVE_ZSTD
		case CZ_ZSTD:
			r = zstd_run(w, p, n, ZSTD_e_continue);
			break;
#endif
		default:
			r = emit(w, p, n);
			break;
		}
		if (r < 0) {
			w->failed = true;
			return r;
		}
		w->in += n;
		p += n;
		len -= n;
	}
	return 0;
}

int cz_write_zeros(struct cz_writer *w, uint64_t n)
{
	static const uint8_t zeros[4096];

	while (n > 0) {
		size_t k = (size_t)MIN(n, (uint64_t)sizeof(zeros));
		int r = cz_write(w, zeros, k);

		if (r < 0)
			return r;
		n -= k;
	}
	return 0;
}

int cz_finish(struct cz_writer *w)
{
	int r = 0;

	if (w->failed)
		return -EIO;
	if (w->kind == CZ_GZIP)
		r = gzip_run(w, NULL, 0, Z_FINISH);
#if HAVE_ZSTD
	else if (w->kind == CZ_ZSTD)
		r = zstd_run(w, NULL, 0, ZSTD_e_end);
#endif
	if (r < 0)
		w->failed = true;
	return r;
}

uint64_t cz_bytes_in(const struct cz_writer *w)
{
	return w->in;
}

uint64_t cz_bytes_out(const struct cz_writer *w)
{
	return w->out;
}

struct cz_writer *cz_writer_free(struct cz_writer *w)
{
	if (!w)
		return NULL;
	if (w->z_ready)
		deflateEnd(&w->z);
#if HAVE_ZSTD
	ZSTD_freeCCtx(w->zc);
#endif
	free(w);
	return NULL;
}
