/* SPDX-License-Identifier: MIT */
/*
 * The link_map walk (plugins/coredump/linkmap.c) over a fake process memory: a few regions of
 * bytes laid out as the dynamic linker leaves them (the main program's headers, its dynamic
 * section, r_debug, link_map entries and their names), read through the walk's callback. Each
 * test checks the ranges reported, in order, and the count returned; hostile layouts (loops,
 * names without an end, unreadable memory at each step, nonsense headers) end with a count or
 * an error in a bounded number of reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "harness-elf.h"
#include "linkmap.h"
#include "macro.h"

#define PT_LOAD	   1
#define PT_DYNAMIC 2
#define PT_INTERP  3
#define PT_PHDR	   6
#define DT_NEEDED  1
#define DT_STRTAB  5
#define DT_DEBUG   21

struct region {
	uint64_t addr;
	size_t len;
	uint8_t *bytes;
	bool unreadable;
};

struct fake_mem {
	struct region r[8];
	size_t n;
	unsigned reads;
};

struct range {
	uint64_t start, len;
};

struct ranges {
	struct range r[4096];
	size_t n;
	size_t fail_at; /* the call that returns -E2BIG; 0: none */
};

/* Reads succeed when the whole range lies in one readable region, as /proc/<pid>/mem's do
 * within a mapping. */
static int fake_read(void *userdata, uint64_t addr, void *buf, size_t len)
{
	struct fake_mem *m = userdata;

	m->reads++;
	assert_true(len > 0 && len <= 4096);
	for (size_t i = 0; i < m->n; i++) {
		const struct region *g = &m->r[i];

		if (addr >= g->addr && addr - g->addr <= g->len &&
		    len <= g->len - (addr - g->addr)) {
			if (g->unreadable)
				return -EFAULT;
			memcpy(buf, g->bytes + (addr - g->addr), len);
			return 0;
		}
	}
	return -EFAULT;
}

static int collect(void *userdata, uint64_t start, uint64_t len)
{
	struct ranges *rs = userdata;

	assert_true(rs->n < ARRAY_SIZE(rs->r));
	rs->r[rs->n++] = (struct range){ start, len };
	if (rs->fail_at && rs->n == rs->fail_at)
		return -E2BIG;
	return 0;
}

static struct region *region_add(struct fake_mem *m, uint64_t addr, size_t len)
{
	struct region *g = &m->r[m->n++];

	assert_true(m->n <= ARRAY_SIZE(m->r));
	g->addr = addr;
	g->len = len;
	g->bytes = malloc(len);
	assert_non_null(g->bytes);
	/* Noise, so nothing reads as zero (a terminator) by chance. */
	for (size_t i = 0; i < len; i++)
		g->bytes[i] = (uint8_t)(0x41 + i % 23);
	return g;
}

static void mem_free(struct fake_mem *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->r[i].bytes);
	m->n = 0;
}

static uint8_t *at(struct fake_mem *m, uint64_t addr, size_t len)
{
	for (size_t i = 0; i < m->n; i++)
		if (addr >= m->r[i].addr && addr + len <= m->r[i].addr + m->r[i].len)
			return m->r[i].bytes + (addr - m->r[i].addr);
	fail_msg("no region holds 0x%llx", (unsigned long long)addr);
	return NULL;
}

static void poke(struct fake_mem *m, uint64_t addr, const void *data, size_t len)
{
	memcpy(at(m, addr, len), data, len);
}

static void poke_word(struct fake_mem *m, unsigned word, uint64_t addr, uint64_t v)
{
	elf_put_word(at(m, addr, word), word, v);
}

/* A program header of the word size's layout, as in memory: p_paddr is p_vaddr, p_filesz
 * p_memsz. */
static void poke_phdr(struct fake_mem *m, unsigned word, uint64_t addr, uint32_t type,
		      uint64_t vaddr, uint64_t memsz)
{
	uint8_t *p = at(m, addr, elf_phdr_size(word * 8));

	elf_put_phdr(p, word * 8, type, 0, 0, vaddr, memsz, memsz, 0);
	elf_put_word(p + (word == 8 ? 24 : 12), word, vaddr);
}

/* struct link_map's public fields: l_addr, l_name, l_ld, l_next, l_prev. */
static void poke_link_map(struct fake_mem *m, unsigned word, uint64_t addr, uint64_t name,
			  uint64_t next, uint64_t prev)
{
	poke_word(m, word, addr, 0x7000);
	poke_word(m, word, addr + word, name);
	poke_word(m, word, addr + 2 * word, 0x1234);
	poke_word(m, word, addr + 3 * word, next);
	poke_word(m, word, addr + 4 * word, prev);
}

/*
 * A dynamically linked program as the dynamic linker leaves it, for a word size: the program's
 * headers (PT_PHDR first, as ld.so requires), its dynamic section with DT_DEBUG, r_debug and a
 * chain of three objects (the program, with the empty name the dynamic linker gives it, libc and
 * ld.so) whose entries and names lie in another region.
 */
struct layout {
	unsigned word;
	uint64_t exe, phdr, dyn, dynsz, rdebug, lm[3], name[3];
	size_t name_len[3];
	struct fake_mem mem;
	struct lm_walk walk;
};

static const char *const names[3] = { "", "/lib/x86_64-linux-gnu/libc.so.6",
				      "/lib64/ld-linux-x86-64.so.2" };

static void layout_make(struct layout *l, unsigned word, struct ranges *rs)
{
	size_t pe = word == 8 ? 56 : 32;
	uint64_t base = word == 8 ? 0x7f0000000000ULL : 0xf7000000ULL;

	memset(l, 0, sizeof(*l));
	l->word = word;
	l->exe = word == 8 ? 0x555555554000ULL : 0x56555000ULL;
	l->phdr = l->exe + (word == 8 ? 64 : 52);
	l->dyn = l->exe + 0x2e00;
	l->dynsz = 0x1f0;
	l->rdebug = base + 0x1118;
	l->lm[0] = base + 0x12e0;
	l->name[0] = base + 0x1fff; /* the program's "" at a region's last byte */
	l->lm[1] = base + 0x10100;
	l->name[1] = base + 0x10800;
	l->lm[2] = base + 0x10200;
	l->name[2] = base + 0x10d00;

	region_add(&l->mem, l->exe, 0x4000);
	region_add(&l->mem, base + 0x1000, 0x1000);  /* ld.so's data */
	region_add(&l->mem, base + 0x10000, 0x3000); /* the heap */

	poke_phdr(&l->mem, word, l->phdr, PT_PHDR, l->phdr - l->exe, 4 * pe);
	poke_phdr(&l->mem, word, l->phdr + pe, PT_INTERP, 0x318, 28);
	poke_phdr(&l->mem, word, l->phdr + 2 * pe, PT_LOAD, 0, 0x4000);
	poke_phdr(&l->mem, word, l->phdr + 3 * pe, PT_DYNAMIC, 0x2e00, l->dynsz);

	poke_word(&l->mem, word, l->dyn, DT_NEEDED);
	poke_word(&l->mem, word, l->dyn + word, 1);
	poke_word(&l->mem, word, l->dyn + 2 * word, DT_STRTAB);
	poke_word(&l->mem, word, l->dyn + 3 * word, l->exe + 0x500);
	poke_word(&l->mem, word, l->dyn + 4 * word, DT_DEBUG);
	poke_word(&l->mem, word, l->dyn + 5 * word, l->rdebug);
	poke_word(&l->mem, word, l->dyn + 6 * word, 0); /* DT_NULL */
	poke_word(&l->mem, word, l->dyn + 7 * word, 0);

	/* r_debug: r_version (an int, padded to a word), r_map, r_brk, r_state, r_ldbase. */
	poke_word(&l->mem, word, l->rdebug, 1);
	poke_word(&l->mem, word, l->rdebug + word, l->lm[0]);

	for (int i = 0; i < 3; i++) {
		l->name_len[i] = strlen(names[i]) + 1;
		poke(&l->mem, l->name[i], names[i], l->name_len[i]);
		poke_link_map(&l->mem, word, l->lm[i], l->name[i], i < 2 ? l->lm[i + 1] : 0,
			      i > 0 ? l->lm[i - 1] : 0);
	}

	l->walk = (struct lm_walk){
		.word = word,
		.phdr = l->phdr,
		.phent = pe,
		.phnum = 4,
		.read = fake_read,
		.read_userdata = &l->mem,
		.range = collect,
		.range_userdata = rs,
	};
}

static void expect_range(const struct ranges *rs, size_t i, uint64_t start, uint64_t len)
{
	assert_true(i < rs->n);
	assert_int_equal(rs->r[i].start, start);
	assert_int_equal(rs->r[i].len, len);
}

/* The dynamic section, r_debug, then each link_map and its name. */
static void expect_chain(const struct layout *l, const struct ranges *rs, int objects)
{
	unsigned w = l->word;

	expect_range(rs, 0, l->dyn, l->dynsz);
	expect_range(rs, 1, l->rdebug, 5 * w);
	for (int i = 0; i < objects; i++) {
		expect_range(rs, 2 + 2 * (size_t)i, l->lm[i], 5 * w);
		expect_range(rs, 3 + 2 * (size_t)i, l->name[i], l->name_len[i]);
	}
	assert_int_equal(rs->n, 2 + 2 * (size_t)objects);
}

static void test_chain(void **state)
{
	for (unsigned word = 4; word <= 8; word += 4) {
		struct ranges rs = {};
		struct layout l;

		layout_make(&l, word, &rs);
		assert_int_equal(lm_walk(&l.walk), 3);
		expect_chain(&l, &rs, 3);
		mem_free(&l.mem);
	}
}

/* A dynamic section with its relocation bias: the program loaded elsewhere than its headers'
 * addresses say (a position-independent executable). */
static void test_bias(void **state)
{
	struct ranges rs = {};
	struct layout l;

	layout_make(&l, 8, &rs);
	/* Headers written as if linked at 0x400000; loaded at l.exe. */
	poke_phdr(&l.mem, 8, l.phdr, PT_PHDR, 0x400000 + 64, 4 * 56);
	poke_phdr(&l.mem, 8, l.phdr + 3 * 56, PT_DYNAMIC, 0x402e00, l.dynsz);
	assert_int_equal(lm_walk(&l.walk), 3);
	expect_chain(&l, &rs, 3);
	mem_free(&l.mem);
}

static void test_cycles(void **state)
{
	struct ranges rs = {};
	struct layout l;

	/* The last entry points back at the first. */
	layout_make(&l, 8, &rs);
	poke_word(&l.mem, 8, l.lm[2] + 3 * 8, l.lm[0]);
	assert_int_equal(lm_walk(&l.walk), 3);
	expect_chain(&l, &rs, 3);
	mem_free(&l.mem);

	/* Into the middle of the chain. */
	memset(&rs, 0, sizeof(rs));
	layout_make(&l, 8, &rs);
	poke_word(&l.mem, 8, l.lm[2] + 3 * 8, l.lm[1]);
	assert_int_equal(lm_walk(&l.walk), 3);
	expect_chain(&l, &rs, 3);
	mem_free(&l.mem);

	/* An entry that is its own successor. */
	memset(&rs, 0, sizeof(rs));
	layout_make(&l, 4, &rs);
	poke_word(&l.mem, 4, l.lm[0] + 3 * 4, l.lm[0]);
	assert_int_equal(lm_walk(&l.walk), 1);
	expect_chain(&l, &rs, 1);
	mem_free(&l.mem);
}

/* A chain longer than LM_MAX_OBJECTS stops there, in a bounded number of reads. */
static void test_long_chain(void **state)
{
	static struct ranges rs;
	size_t n = LM_MAX_OBJECTS + 200;
	uint64_t heap = 0x7f0000100000ULL;
	struct layout l;

	memset(&rs, 0, sizeof(rs));
	layout_make(&l, 8, &rs);
	region_add(&l.mem, heap, n * 64);
	poke(&l.mem, heap + (n - 1) * 64 + 48, "x", 2);
	for (size_t i = 0; i < n; i++)
		poke_link_map(&l.mem, 8, heap + i * 64, heap + (n - 1) * 64 + 48,
			      heap + (i + 1) * 64, 0);
	poke_word(&l.mem, 8, l.rdebug + 8, heap);
	assert_int_equal(lm_walk(&l.walk), LM_MAX_OBJECTS);
	assert_int_equal(rs.n, 2 + 2 * (size_t)LM_MAX_OBJECTS);
	for (size_t i = 0; i < LM_MAX_OBJECTS; i++) {
		expect_range(&rs, 2 + 2 * i, heap + i * 64, 40);
		expect_range(&rs, 3 + 2 * i, heap + (n - 1) * 64 + 48, 2);
	}
	assert_true(l.mem.reads < 20 * LM_MAX_OBJECTS);
	mem_free(&l.mem);
}

static void test_names(void **state)
{
	struct ranges rs = {};
	struct layout l;
	uint64_t heap_end;

	/* No NUL in the first LM_MAX_NAME bytes: LM_MAX_NAME of them are kept. */
	layout_make(&l, 8, &rs);
	memset(at(&l.mem, l.name[1], 1000), 'a', 1000);
	assert_int_equal(lm_walk(&l.walk), 3);
	expect_range(&rs, 5, l.name[1], LM_MAX_NAME);
	/* A NUL just inside the cap, and just past it. */
	memset(&rs, 0, sizeof(rs));
	at(&l.mem, l.name[1], 1000)[LM_MAX_NAME - 1] = 0;
	assert_int_equal(lm_walk(&l.walk), 3);
	expect_range(&rs, 5, l.name[1], LM_MAX_NAME);
	memset(&rs, 0, sizeof(rs));
	at(&l.mem, l.name[1], 1000)[LM_MAX_NAME - 1] = 'a';
	at(&l.mem, l.name[1], 1000)[LM_MAX_NAME] = 0;
	assert_int_equal(lm_walk(&l.walk), 3);
	expect_range(&rs, 5, l.name[1], LM_MAX_NAME);
	mem_free(&l.mem);

	/* A name running into the end of readable memory: the bytes up to there, read
	 * around the failing larger reads. */
	memset(&rs, 0, sizeof(rs));
	layout_make(&l, 8, &rs);
	heap_end = l.mem.r[2].addr + l.mem.r[2].len;
	memset(at(&l.mem, heap_end - 100, 100), 'b', 100);
	poke_word(&l.mem, 8, l.lm[1] + 8, heap_end - 100);
	assert_int_equal(lm_walk(&l.walk), 3);
	expect_range(&rs, 5, heap_end - 100, 100);
	expect_range(&rs, 7, l.name[2], l.name_len[2]);
	mem_free(&l.mem);

	/* A NULL name, and one in unmapped memory: no range for it, the walk goes on. */
	memset(&rs, 0, sizeof(rs));
	layout_make(&l, 8, &rs);
	poke_word(&l.mem, 8, l.lm[1] + 8, 0);
	poke_word(&l.mem, 8, l.lm[2] + 8, 0xdead0000);
	assert_int_equal(lm_walk(&l.walk), 3);
	assert_int_equal(rs.n, 6);
	expect_range(&rs, 3, l.name[0], 1);
	expect_range(&rs, 4, l.lm[1], 40);
	expect_range(&rs, 5, l.lm[2], 40);
	mem_free(&l.mem);
}

/* Unreadable memory at each step: an error or the objects found so far, never more. */
static void test_unreadable(void **state)
{
	struct ranges rs = {};
	struct layout l;

	/* The program headers. */
	layout_make(&l, 8, &rs);
	l.walk.phdr = 0x1000;
	assert_int_equal(lm_walk(&l.walk), -ENOENT);
	assert_int_equal(rs.n, 0);
	mem_free(&l.mem);

	/* The last program header only (the table runs off its region). */
	memset(&rs, 0, sizeof(rs));
	layout_make(&l, 8, &rs);
	l.walk.phdr = l.exe + 0x4000 - 3 * 56;
	poke_phdr(&l.mem, 8, l.walk.phdr, PT_PHDR, 0x4000 - 3 * 56, 4 * 56);
	assert_int_equal(lm_walk(&l.walk), -ENOENT);
	assert_int_equal(rs.n, 0);
	mem_free(&l.mem);

	/* The dynamic section: reported (a debugger wants it), then the walk stops. */
	memset(&rs, 0, sizeof(rs));
	layout_make(&l, 8, &rs);
	poke_phdr(&l.mem, 8, l.phdr + 3 * 56, PT_DYNAMIC, 0x100000, l.dynsz);
	assert_int_equal(lm_walk(&l.walk), -ENOENT);
	assert_int_equal(rs.n, 1);
	expect_range(&rs, 0, l.exe + 0x100000, l.dynsz);
	mem_free(&l.mem);

	/* r_debug. */
	memset(&rs, 0, sizeof(rs));
	layout_make(&l, 8, &rs);
	poke_word(&l.mem, 8, l.dyn + 5 * 8, 0xdead0000);
	assert_int_equal(lm_walk(&l.walk), -ENOENT);
	assert_int_equal(rs.n, 2);
	expect_range(&rs, 1, 0xdead0000, 40);
	mem_free(&l.mem);

	/* The second link_map: the first object and the address of the second are reported,
	 * and nothing after it. */
	memset(&rs, 0, sizeof(rs));
	layout_make(&l, 8, &rs);
	poke_word(&l.mem, 8, l.lm[0] + 3 * 8, 0xdead0000);
	assert_int_equal(lm_walk(&l.walk), 2);
	assert_int_equal(rs.n, 5);
	expect_range(&rs, 2, l.lm[0], 40);
	expect_range(&rs, 3, l.name[0], 1);
	expect_range(&rs, 4, 0xdead0000, 40);
	mem_free(&l.mem);

	/* A link_map whose l_next field is past the end of its region. */
	memset(&rs, 0, sizeof(rs));
	layout_make(&l, 8, &rs);
	poke_word(&l.mem, 8, l.lm[1] + 3 * 8, l.mem.r[2].addr + l.mem.r[2].len - 16);
	memset(at(&l.mem, l.mem.r[2].addr + l.mem.r[2].len - 16, 16), 0, 16);
	assert_int_equal(lm_walk(&l.walk), 3);
	assert_int_equal(rs.n, 7);
	mem_free(&l.mem);

	/* A region marked unreadable as a whole (a guard page). */
	memset(&rs, 0, sizeof(rs));
	layout_make(&l, 8, &rs);
	l.mem.r[2].unreadable = true;
	assert_int_equal(lm_walk(&l.walk), 2);
	assert_int_equal(rs.n, 5);
	mem_free(&l.mem);
}

static int read_eperm(void *userdata, uint64_t addr, void *buf, size_t len)
{
	return -EPERM;
}

/* Errors other than a fault are the caller's, passed on. */
static void test_read_error_passed_on(void **state)
{
	struct ranges rs = {};
	struct layout l;

	layout_make(&l, 8, &rs);
	l.walk.read = read_eperm;
	assert_int_equal(lm_walk(&l.walk), -EPERM);
	assert_int_equal(rs.n, 0);
	mem_free(&l.mem);
}

/* The range callback's error ends the walk at once and is returned. */
static void test_range_error(void **state)
{
	for (size_t k = 1; k <= 8; k++) {
		struct ranges rs = { .fail_at = k };
		struct layout l;

		layout_make(&l, 8, &rs);
		assert_int_equal(lm_walk(&l.walk), -E2BIG);
		assert_int_equal(rs.n, k);
		mem_free(&l.mem);
	}
}

static void test_static_and_early(void **state)
{
	struct ranges rs = {};
	struct layout l;

	/* No PT_DYNAMIC: a static program, nothing to follow or keep. */
	layout_make(&l, 8, &rs);
	poke_phdr(&l.mem, 8, l.phdr + 3 * 56, PT_LOAD, 0x3000, 0x1000);
	assert_int_equal(lm_walk(&l.walk), 0);
	assert_int_equal(rs.n, 0);
	mem_free(&l.mem);

	/* DT_DEBUG still 0 (the dynamic linker has not set it up yet). */
	memset(&rs, 0, sizeof(rs));
	layout_make(&l, 8, &rs);
	poke_word(&l.mem, 8, l.dyn + 5 * 8, 0);
	assert_int_equal(lm_walk(&l.walk), 0);
	assert_int_equal(rs.n, 1);
	expect_range(&rs, 0, l.dyn, l.dynsz);
	mem_free(&l.mem);

	/* No DT_DEBUG before DT_NULL. */
	memset(&rs, 0, sizeof(rs));
	layout_make(&l, 4, &rs);
	poke_word(&l.mem, 4, l.dyn + 2 * 4, 0);
	assert_int_equal(lm_walk(&l.walk), 0);
	assert_int_equal(rs.n, 1);
	mem_free(&l.mem);

	/* No DT_NULL either: the scan ends with the section. */
	memset(&rs, 0, sizeof(rs));
	layout_make(&l, 8, &rs);
	for (uint64_t off = 0; off < l.dynsz; off += 16) {
		poke_word(&l.mem, 8, l.dyn + off, DT_NEEDED);
		poke_word(&l.mem, 8, l.dyn + off + 8, 0);
	}
	assert_int_equal(lm_walk(&l.walk), 0);
	assert_int_equal(rs.n, 1);
	mem_free(&l.mem);

	/* r_map still NULL. */
	memset(&rs, 0, sizeof(rs));
	layout_make(&l, 8, &rs);
	poke_word(&l.mem, 8, l.rdebug + 8, 0);
	assert_int_equal(lm_walk(&l.walk), 0);
	assert_int_equal(rs.n, 2);
	mem_free(&l.mem);

	/* A dynamic section that claims a terabyte: the range is capped, the scan ends at
	 * the first unreadable entry. */
	memset(&rs, 0, sizeof(rs));
	layout_make(&l, 8, &rs);
	poke_phdr(&l.mem, 8, l.phdr + 3 * 56, PT_DYNAMIC, 0x2e00, 1ULL << 40);
	assert_int_equal(lm_walk(&l.walk), 3);
	expect_range(&rs, 0, l.dyn, (uint64_t)LM_MAX_DYNAMIC * 16);
	mem_free(&l.mem);
}

/* Headers that are not a program's are refused before any memory is read. */
static void test_bad_headers(void **state)
{
	static const struct {
		unsigned word;
		uint64_t phent, phnum;
	} cases[] = {
		{ 8, 56, 0 },	       { 8, 56, LM_MAX_PHNUM + 1 },
		{ 8, 56, 1ULL << 40 }, { 8, 56, UINT64_MAX },
		{ 8, 32, 4 },	       { 8, 0, 4 },
		{ 8, 64, 4 },	       { 4, 56, 4 },
		{ 4, 32, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ranges rs = {};
		struct layout l;

		layout_make(&l, cases[i].word, &rs);
		l.walk.phent = cases[i].phent;
		l.walk.phnum = cases[i].phnum;
		assert_int_equal(lm_walk(&l.walk), -EBADMSG);
		assert_int_equal(rs.n, 0);
		assert_int_equal(l.mem.reads, 0);
		mem_free(&l.mem);
	}

	/* PT_DYNAMIC without PT_PHDR: the load bias cannot be known. */
	{
		struct ranges rs = {};
		struct layout l;

		layout_make(&l, 8, &rs);
		poke_phdr(&l.mem, 8, l.phdr, PT_LOAD, 0, 0x1000);
		assert_int_equal(lm_walk(&l.walk), -EBADMSG);
		assert_int_equal(rs.n, 0);
		mem_free(&l.mem);
	}

	/* A word size that is neither 4 nor 8. */
	for (unsigned word = 0; word <= 9; word++) {
		struct ranges rs = {};
		struct layout l;

		if (word == 4 || word == 8)
			continue;
		layout_make(&l, 8, &rs);
		l.walk.word = word;
		assert_int_equal(lm_walk(&l.walk), -EINVAL);
		assert_int_equal(l.mem.reads, 0);
		mem_free(&l.mem);
	}

	/* LM_MAX_PHNUM entries is still fine (the rest of the table is noise). */
	{
		struct ranges rs = {};
		struct layout l;

		layout_make(&l, 4, &rs);
		l.walk.phnum = LM_MAX_PHNUM;
		assert_int_equal(lm_walk(&l.walk), 3);
		expect_chain(&l, &rs, 3);
		mem_free(&l.mem);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_bias),
		cmocka_unit_test(test_cycles),
		cmocka_unit_test(test_long_chain),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_read_error_passed_on),
		cmocka_unit_test(test_range_error),
		cmocka_unit_test(test_static_and_early),
		cmocka_unit_test(test_bad_headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
