/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "linkmap.h"
#include "macro.h"

#define PT_DYNAMIC_ 2
#define PT_PHDR_    6
#define DT_NULL_    0
#define DT_DEBUG_   21

static int read_word(const struct lm_walk *w, uint64_t addr, uint64_t *ret)
{
	uint8_t b[8];
	int r = w->read(w->read_userdata, addr, b, w->word);

	if (r < 0)
		return r;
	if (w->word == 8) {
		uint64_t v;

		memcpy(&v, b, 8);
		*ret = v;
	} else {
		uint32_t v;

		memcpy(&v, b, 4);
		*ret = v;
	}
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Finds the main program's dynamic section from its program headers in memory. */
static int find_dynamic(const struct lm_walk *w, uint64_t *ret_addr, uint64_t *ret_size)
{
	size_t entsize = w->word == 8 ? 56 : 32;
	uint64_t bias = 0, dyn = 0, dynsz = 0;
	bool have_phdr = false, have_dyn = false;

	if (w->phent != entsize || w->phnum == 0 || w->phnum > LM_MAX_PHNUM)
		return -EBADMSG;
	for (uint64_t i = 0; i < w->phnum; i++) {
		uint8_t ph[56];
		uint32_t type;
		uint64_t vaddr, memsz;
		int r;

		r = w->read(w->read_userdata, w->phdr + i * entsize, ph, entsize);
		if (r < 0)
			return r == -EFAULT || r == -EIO ? -ENOENT : r;
		type = le32(ph);
		if (w->word == 8) {
			vaddr = le64(ph + 16);
			memsz = le64(ph + 40);
		} else {
			vaddr = le32(ph + 8);
			memsz = le32(ph + 20);
		}
		if (type == PT_PHDR_) {
			bias = w->phdr - vaddr;
			have_phdr = true;
		} else if (type == PT_DYNAMIC_) {
			dyn = vaddr;
			dynsz = memsz;
			have_dyn = true;
		}
	}
	if (!have_dyn)
		return 0; /* static: nothing to follow */
	if (!have_phdr)
		return -EBADMSG;
	*ret_addr = dyn + bias;
	*ret_size = MIN(dynsz, (uint64_t)LM_MAX_DYNAMIC * 2 * w->word);
	return 1;
}

/* The length of the NUL-terminated name at addr, the NUL included, reading at most LM_MAX_NAME
 * bytes; names that cannot be read count as absent (0). */
static uint64_t name_length(const struct lm_walk *w, uint64_t addr)
{
	uint8_t buf[64];
	uint64_t n = 0;

	if (addr == 0)
		return 0;
	while (n < LM_MAX_NAME) {
		size_t chunk = (size_t)MIN((uint64_t)sizeof(buf), LM_MAX_NAME - n);
		uint8_t *nul;

		/* Reads may fail at a page end: fall back to single bytes there. */
		if (w->read(w->read_userdata, addr + n, buf, chunk) < 0) {
			if (chunk == 1 || w->read(w->read_userdata, addr + n, buf, 1) < 0)
				return n;
			chunk = 1;
		}
		nul = memchr(buf, 0, chunk);
		if (nul)
			return n + (uint64_t)(nul - buf) + 1;
		n += chunk;
	}
	return n;
}

int lm_walk(const struct lm_walk *w)
{
	uint64_t dyn, dynsz, rdebug = 0, lm, seen[LM_MAX_OBJECTS];
	unsigned word = w->word;
	int r, n = 0;

	if (word != 4 && word != 8)
		return -EINVAL;
	r = find_dynamic(w, &dyn, &dynsz);
	if (r <= 0)
		return r;
	r = w->range(w->range_userdata, dyn, dynsz);
	if (r < 0)
		return r;
	for (uint64_t off = 0; off + 2 * word <= dynsz; off += 2 * word) {
		uint64_t tag, val;

		if (read_word(w, dyn + off, &tag) < 0 || read_word(w, dyn + off + word, &val) < 0)
			return -ENOENT;
		if (tag == DT_NULL_)
			break;
		if (tag == DT_DEBUG_) {
			rdebug = val;
			break;
		}
	}
	if (rdebug == 0)
		return 0; /* not yet set up, or a program without DT_DEBUG */

	/* struct r_debug: int r_version (padded to a word), r_map, r_brk, r_state, r_ldbase. */
	r = w->range(w->range_userdata, rdebug, 5 * word);
	if (r < 0)
		return r;
	if (read_word(w, rdebug + word, &lm) < 0)
		return -ENOENT;

	/* struct link_map: l_addr, l_name, l_ld, l_next, l_prev. */
	while (lm != 0 && n < LM_MAX_OBJECTS) {
		uint64_t name, next, len;
		bool repeat = false;

		for (int i = 0; i < n && !repeat; i++)
			repeat = seen[i] == lm;
		if (repeat)
			break;
		seen[n++] = lm;
		r = w->range(w->range_userdata, lm, 5 * word);
		if (r < 0)
			return r;
		if (read_word(w, lm + word, &name) < 0 || read_word(w, lm + 3 * word, &next) < 0)
			break;
		len = name_length(w, name);
		if (len > 0) {
			r = w->range(w->range_userdata, name, len);
			if (r < 0)
				return r;
		}
		lm = next;
	}
	return n;
}
