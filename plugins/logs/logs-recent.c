/* SPDX-License-Identifier: MIT */
/*
 * The lines kept last, for a crash's core. See logs-recent.h.
 *
 * Adding a line allocates nothing: it runs on every line the log file keeps. The text of the
 * lines held lies in one circular buffer of max_bytes, oldest first and without gaps, so the
 * byte bound is exact; a line that reaches the buffer's end goes on at its start, in two pieces,
 * which select joins in a scratch buffer before giving it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "logs-recent.h"
#include "macro.h"

struct recent_line {
	size_t off, len; /* in buf; off + len may pass max_bytes: the rest is at buf's start */
	uint64_t mono_ms;
};

struct logs_recent {
	struct recent_line *lines; /* a ring of max_lines slots */
	char *buf;		   /* max_bytes: the lines held, from lines[first].off, circular */
	char *scratch;		   /* max_bytes: a line in two pieces made whole, for select */
	size_t max_lines, max_bytes;
	size_t first, n; /* the oldest line's slot, lines held */
	size_t bytes;	 /* of the lines held */
	size_t head;	 /* where in buf the next line goes */
	uint64_t skipped;
};

struct logs_recent *logs_recent_free(struct logs_recent *r)
{
	if (!r)
		return NULL;
	free(r->lines);
	free(r->buf);
	free(r->scratch);
	free(r);
	return NULL;
}

int logs_recent_new(size_t max_lines, size_t max_bytes, struct logs_recent **ret)
{
	struct logs_recent *r;

	if (max_lines == 0 || max_bytes == 0)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->lines = calloc(max_lines, sizeof(*r->lines));
	r->buf = malloc(max_bytes);
	r->scratch = malloc(max_bytes);
	if (!r->lines || !r->buf || !r->scratch) {
		logs_recent_free(r);
		return -ENOMEM;
	}
	r->max_lines = max_lines;
	r->max_bytes = max_bytes;
	*ret = r;
	return 0;
}

/* The slot of the i-th line held, oldest first (i < max_lines). */
static struct recent_line *slot(const struct logs_recent *r, size_t i)
{
	i += r->first;
	return &r->lines[i >= r->max_lines ? i - r->max_lines : i];
}

static void drop_oldest(struct logs_recent *r)
{
	r->bytes -= slot(r, 0)->len;
	r->first = r->first + 1 == r->max_lines ? 0 : r->first + 1;
	r->n--;
}

void logs_recent_clear(struct logs_recent *r)
{
	if (!r)
		return;
	r->first = r->n = r->bytes = r->head = 0;
	/* Withdrawn consent: the text goes too, not only the bookkeeping. Rare, so the cost is no
	 * matter. */
	memset(r->buf, 0, r->max_bytes);
	memset(r->scratch, 0, r->max_bytes);
}

int logs_recent_add(struct logs_recent *r, const char *line, size_t len, uint64_t mono_ms)
{
	size_t piece;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len == 0)
		return 0;
	if (len > r->max_bytes) {
		r->skipped++;
		return 0;
	}
	while (r->n > 0 && (r->n == r->max_lines || r->bytes + len > r->max_bytes))
		drop_oldest(r);
	/* The bytes held are contiguous (circularly) and end at head, so after the drops the len
	 * bytes from head are free. */
	piece = MIN(len, r->max_bytes - r->head);
	memcpy(r->buf + r->head, line, piece);
	memcpy(r->buf, line + piece, len - piece);
	*slot(r, r->n) = (struct recent_line){ .off = r->head, .len = len, .mono_ms = mono_ms };
	r->n++;
	r->bytes += len;
	r->head += len;
	if (r->head >= r->max_bytes)
		r->head -= r->max_bytes;
	return 0;
}

size_t logs_recent_lines(const struct logs_recent *r)
{
	return r->n;
}

uint64_t logs_recent_skipped(const struct logs_recent *r)
{
	return r->skipped;
}

int logs_recent_select(const struct logs_recent *r, uint64_t since_ms, size_t max_lines,
		       size_t max_bytes, logs_recent_cb_t cb, void *userdata)
{
	size_t start = r->n, bytes = 0;
	int given = 0;

	/* From the newest backwards, as many as the limits let through: lines are kept in the
	 * order of one monotonic clock, so the first one too old ends the walk. */
	while (start > 0 && r->n - start < max_lines) {
		const struct recent_line *l = slot(r, start - 1);

		if (l->mono_ms < since_ms || bytes + l->len > max_bytes)
			break;
		bytes += l->len;
		start--;
	}
	for (size_t i = start; i < r->n; i++) {
		const struct recent_line *l = slot(r, i);
		const char *text = r->buf + l->off;
		size_t piece = r->max_bytes - l->off;
		int k;

		if (l->len > piece) {
			/* The scratch buffer holds no state of r, so select stays const to its
			 * caller; the line is valid until cb returns, as for any line. */
			memcpy(r->scratch, text, piece);
			memcpy(r->scratch + piece, r->buf, l->len - piece);
			text = r->scratch;
		}
		k = cb(text, l->len, userdata);
		if (k < 0)
			return k;
		given++;
	}
	return given;
}
