/* SPDX-License-Identifier: MIT */
/*
 * Tests of plugins/coredump/elfcore.c on synthetic cores. The layouts written here (offsets of
 * pr_pid, pr_reg, the stack pointer and pc in NT_PRSTATUS, of pr_uid and pr_fname in
 * NT_PRPSINFO, the NT_FILE table) are those of real kernel cores: x86_64 was checked against a
 * core dumped by the kernel and one written by gcore, whose registers gdb printed; aarch64 and
 * arm against the kernel's struct definitions compiled for those targets. Every hostile input is
 * handed in a heap block of exactly its length, so AddressSanitizer sees any read past it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfcore.h"
#include "harness-elf.h"
#include "macro.h"

/* A heap copy of exactly len bytes (at least one byte allocated, none readable past len). */
static uint8_t *exact(const void *buf, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	assert_non_null(p);
	if (len)
		memcpy(p, buf, len);
	return p;
}

/* A program header as the kernel writes it: flags RW, aligned to pages. */
static void make_phdr(uint8_t *p, unsigned elf_class, uint32_t type, uint64_t offset,
		      uint64_t vaddr, uint64_t filesz, uint64_t memsz)
{
	elf_put_phdr(p, elf_class, type, 6, offset, vaddr, filesz, memsz, 4096);
}

/* Appends a note at *pos with 4-byte padding; returns the descriptor's offset. */
static size_t add_note(uint8_t *buf, size_t *pos, const char *name, uint32_t type, const void *desc,
		       uint32_t descsz)
{
	size_t at = *pos;

	*pos += elf_put_note(buf + at, name, type, desc, descsz);
	return at + elf_note_desc_offset(name);
}

static int parse_ehdr_exact(const void *buf, size_t len, unsigned native, struct elfcore_ehdr *ret,
			    const char **why)
{
	uint8_t *p = exact(buf, len);
	int r = elfcore_parse_ehdr(p, len, native, ret, why);

	free(p);
	return r;
}

/* Expects the header to be refused with why; the output is left untouched. */
static void expect_ehdr_refused(const uint8_t *buf, size_t len, unsigned native, const char *why)
{
	struct elfcore_ehdr h;
	const char *got = NULL;

	memset(&h, 0xa5, sizeof(h));
	assert_int_equal(parse_ehdr_exact(buf, len, native, &h, &got), -EINVAL);
	assert_non_null(got);
	assert_string_equal(got, why);
	for (size_t i = 0; i < sizeof(h); i++)
		assert_int_equal(((uint8_t *)&h)[i], 0xa5);
}

static void test_ehdr_size(void **state)
{
	uint8_t h[64];

	elf_put_ehdr(h, 64, EM_X86_64, 1);
	assert_int_equal(elfcore_ehdr_size(h, 5), 64);
	assert_int_equal(elfcore_ehdr_size(h, 64), 64);
	assert_int_equal(elfcore_ehdr_size(h, 4), 0); /* the class byte is not there */
	elf_put_ehdr(h, 32, EM_ARM, 1);
	assert_int_equal(elfcore_ehdr_size(h, 16), 52);
	h[4] = 3;
	assert_int_equal(elfcore_ehdr_size(h, 16), 0);
	h[4] = 0;
	assert_int_equal(elfcore_ehdr_size(h, 16), 0);
	assert_int_equal(elfcore_ehdr_size("\x7f"
					   "ELG\x02",
					   5),
			 0);
	assert_int_equal(elfcore_ehdr_size("", 0), 0);
}

static void test_ehdr_valid(void **state)
{
	uint8_t h[64];
	struct elfcore_ehdr e;
	const char *why = NULL;

	elf_put_ehdr(h, 64, EM_X86_64, 29);
	assert_int_equal(parse_ehdr_exact(h, 64, 64, &e, &why), 0);
	assert_int_equal(e.elf_class, 64);
	assert_int_equal(e.arch, ELFCORE_ARCH_X86_64);
	assert_int_equal(e.machine, EM_X86_64);
	assert_int_equal(e.phoff, 64);
	assert_int_equal(e.phentsize, 56);
	assert_int_equal(e.phnum, 29);
	assert_int_equal(e.ehsize, 64);
	assert_int_equal(e.flags, 0);

	elf_put_ehdr(h, 64, EM_AARCH64, 1);
	elf_put64(h + 32, 4096); /* program headers may start anywhere after the header */
	assert_int_equal(parse_ehdr_exact(h, 64, 64, &e, &why), 0);
	assert_int_equal(e.arch, ELFCORE_ARCH_AARCH64);
	assert_int_equal(e.phoff, 4096);

	elf_put_ehdr(h, 32, EM_ARM, 65534);
	elf_put32(h + 36, 0x5000000); /* e_flags come back as found */
	assert_int_equal(parse_ehdr_exact(h, 52, 32, &e, &why), 0);
	assert_int_equal(e.elf_class, 32);
	assert_int_equal(e.arch, ELFCORE_ARCH_ARM);
	assert_int_equal(e.phoff, 52);
	assert_int_equal(e.phentsize, 32);
	assert_int_equal(e.phnum, 65534);
	assert_int_equal(e.ehsize, 52);
	assert_int_equal(e.flags, 0x5000000);

	/* Machines without a decoder parse, as unknown; so does x32 (x86_64 in a 32-bit class). */
	elf_put_ehdr(h, 64, EM_RISCV, 3);
	assert_int_equal(parse_ehdr_exact(h, 64, 64, &e, &why), 0);
	assert_int_equal(e.arch, ELFCORE_ARCH_UNKNOWN);
	assert_int_equal(e.machine, EM_RISCV);
	elf_put_ehdr(h, 32, EM_X86_64, 3);
	assert_int_equal(parse_ehdr_exact(h, 52, 32, &e, &why), 0);
	assert_int_equal(e.arch, ELFCORE_ARCH_UNKNOWN);
	elf_put_ehdr(h, 64, EM_ARM, 3);
	assert_int_equal(parse_ehdr_exact(h, 64, 64, &e, &why), 0);
	assert_int_equal(e.arch, ELFCORE_ARCH_UNKNOWN);
}

static void test_ehdr_short_at_every_length(void **state)
{
	uint8_t h[64];

	elf_put_ehdr(h, 64, EM_X86_64, 2);
	for (size_t len = 0; len < 64; len++)
		expect_ehdr_refused(h, len, 64,
				    len < 4 ? "not an ELF file" : "truncated ELF header");
	elf_put_ehdr(h, 32, EM_ARM, 2);
	for (size_t len = 0; len < 52; len++)
		expect_ehdr_refused(h, len, 32,
				    len < 4 ? "not an ELF file" : "truncated ELF header");
}

static void test_ehdr_refusals(void **state)
{
	uint8_t h[64];

	memcpy(h, "#!/bin/sh\necho not a core at all, just text......................", 64);
	expect_ehdr_refused(h, 64, 64, "not an ELF file");
	elf_put_ehdr(h, 64, EM_X86_64, 2);
	h[3] = 'G';
	expect_ehdr_refused(h, 64, 64, "not an ELF file");

	elf_put_ehdr(h, 64, EM_X86_64, 2);
	h[4] = 0;
	expect_ehdr_refused(h, 64, 64, "unknown ELF class");
	h[4] = 3;
	expect_ehdr_refused(h, 64, 64, "unknown ELF class");

	elf_put_ehdr(h, 64, EM_X86_64, 2);
	h[5] = 2;
	expect_ehdr_refused(h, 64, 64, "big-endian cores are not supported");
	h[5] = 0;
	expect_ehdr_refused(h, 64, 64, "unknown ELF data encoding");
	h[5] = 3;
	expect_ehdr_refused(h, 64, 64, "unknown ELF data encoding");

	elf_put_ehdr(h, 64, EM_X86_64, 2);
	h[6] = 0;
	expect_ehdr_refused(h, 64, 64, "unknown ELF version");
	elf_put_ehdr(h, 64, EM_X86_64, 2);
	elf_put32(h + 20, 2);
	expect_ehdr_refused(h, 64, 64, "unknown ELF version");

	/* A class the host cannot follow, refused before its length matters. */
	elf_put_ehdr(h, 32, EM_ARM, 2);
	expect_ehdr_refused(h, 52, 64, "a 32-bit core on a 64-bit host");
	expect_ehdr_refused(h, 16, 64, "a 32-bit core on a 64-bit host");
	elf_put_ehdr(h, 64, EM_X86_64, 2);
	expect_ehdr_refused(h, 64, 32, "a 64-bit core on a 32-bit host");

	for (uint16_t type = 0; type < 6; type++) {
		if (type == 4)
			continue;
		elf_put_ehdr(h, 64, EM_X86_64, 2);
		elf_put16(h + 16, type);
		expect_ehdr_refused(h, 64, 64, "not a core file");
	}
	elf_put_ehdr(h, 64, EM_X86_64, 2);
	elf_put16(h + 16, 0x0400); /* ET_CORE big-endian */
	expect_ehdr_refused(h, 64, 64, "not a core file");

	elf_put_ehdr(h, 64, EM_X86_64, 2);
	elf_put16(h + 52, 52);
	expect_ehdr_refused(h, 64, 64, "e_ehsize does not match the class");
	elf_put_ehdr(h, 32, EM_ARM, 2);
	elf_put16(h + 40, 64);
	expect_ehdr_refused(h, 52, 32, "e_ehsize does not match the class");

	elf_put_ehdr(h, 64, EM_X86_64, 2);
	elf_put16(h + 54, 32);
	expect_ehdr_refused(h, 64, 64, "e_phentsize does not match the class");
	elf_put16(h + 54, 0);
	expect_ehdr_refused(h, 64, 64, "e_phentsize does not match the class");
	elf_put16(h + 54, 57);
	expect_ehdr_refused(h, 64, 64, "e_phentsize does not match the class");
	elf_put_ehdr(h, 32, EM_ARM, 2);
	elf_put16(h + 42, 56);
	expect_ehdr_refused(h, 52, 32, "e_phentsize does not match the class");

	elf_put_ehdr(h, 64, EM_X86_64, 0);
	expect_ehdr_refused(h, 64, 64, "no program headers");
	elf_put_ehdr(h, 64, EM_X86_64, 0xffff);
	expect_ehdr_refused(h, 64, 64, "too many program headers (PN_XNUM)");
	elf_put_ehdr(h, 32, EM_ARM, 0xffff);
	expect_ehdr_refused(h, 52, 32, "too many program headers (PN_XNUM)");

	elf_put_ehdr(h, 64, EM_X86_64, 2);
	elf_put64(h + 32, 0);
	expect_ehdr_refused(h, 64, 64, "program headers overlap the ELF header");
	elf_put64(h + 32, 63);
	expect_ehdr_refused(h, 64, 64, "program headers overlap the ELF header");
	elf_put_ehdr(h, 32, EM_ARM, 2);
	elf_put32(h + 28, 51);
	expect_ehdr_refused(h, 52, 32, "program headers overlap the ELF header");

	elf_put_ehdr(h, 64, EM_X86_64, 2);
	elf_put64(h + 32, UINT64_MAX - 100);
	expect_ehdr_refused(h, 64, 64,
			    "program header table runs past the end of the address range");
	elf_put64(h + 32, UINT64_MAX - 112); /* two entries end at UINT64_MAX exactly */
	{
		struct elfcore_ehdr e;
		const char *why;

		assert_int_equal(parse_ehdr_exact(h, 64, 64, &e, &why), 0);
		assert_int_equal(e.phoff, UINT64_MAX - 112);
	}
}

/* Parses phdr i of a table of exactly len bytes. */
static int parse_phdr_exact(const struct elfcore_ehdr *e, const uint8_t *table, size_t len,
			    size_t i, struct elfcore_phdr *ret, const char **why)
{
	uint8_t *p = exact(table, len);
	int r = elfcore_parse_phdr(e, p, len, i, ret, why);

	free(p);
	return r;
}

static void expect_phdr_refused(const struct elfcore_ehdr *e, const uint8_t *table, size_t len,
				size_t i, const char *why)
{
	struct elfcore_phdr ph;
	const char *got = NULL;

	memset(&ph, 0x5a, sizeof(ph));
	assert_int_equal(parse_phdr_exact(e, table, len, i, &ph, &got), -EINVAL);
	assert_non_null(got);
	assert_string_equal(got, why);
	for (size_t k = 0; k < sizeof(ph); k++)
		assert_int_equal(((uint8_t *)&ph)[k], 0x5a);
}

static void ehdr_of(unsigned elf_class, uint16_t machine, uint16_t phnum, struct elfcore_ehdr *e)
{
	uint8_t h[64] = {}; /* a 32-bit header leaves the last 12 bytes */
	const char *why = NULL;

	elf_put_ehdr(h, elf_class, machine, phnum);
	assert_int_equal(elfcore_parse_ehdr(h, sizeof(h), elf_class, e, &why), 0);
}

static void test_phdr_64(void **state)
{
	struct elfcore_ehdr e;
	struct elfcore_phdr ph;
	uint8_t t[3 * 56];
	const char *why = NULL;

	ehdr_of(64, EM_X86_64, 3, &e);
	make_phdr(t, 64, ELFCORE_PT_NOTE, 0x1000, 0, 0x890, 0); /* notes have p_memsz 0 */
	make_phdr(t + 56, 64, ELFCORE_PT_LOAD, 0x2000, 0x7ffd58b30000, 0x1000, 0x21000);
	make_phdr(t + 112, 64, 0x6474e550, 1, 2, 3, 4); /* any other type is kept as found */
	elf_put64(t + 56 + 24, 0x1234);			/* p_paddr */

	assert_int_equal(parse_phdr_exact(&e, t, sizeof(t), 0, &ph, &why), 0);
	assert_int_equal(ph.type, ELFCORE_PT_NOTE);
	assert_int_equal(ph.offset, 0x1000);
	assert_int_equal(ph.filesz, 0x890);
	assert_int_equal(ph.memsz, 0);
	assert_int_equal(parse_phdr_exact(&e, t, sizeof(t), 1, &ph, &why), 0);
	assert_int_equal(ph.type, ELFCORE_PT_LOAD);
	assert_int_equal(ph.flags, 6);
	assert_int_equal(ph.offset, 0x2000);
	assert_int_equal(ph.vaddr, 0x7ffd58b30000);
	assert_int_equal(ph.paddr, 0x1234);
	assert_int_equal(ph.filesz, 0x1000);
	assert_int_equal(ph.memsz, 0x21000);
	assert_int_equal(ph.align, 4096);
	assert_int_equal(parse_phdr_exact(&e, t, sizeof(t), 2, &ph, &why), 0);
	assert_int_equal(ph.type, 0x6474e550);

	/* The table cut at every length: only whole entries are read. */
	for (size_t len = 0; len < sizeof(t); len++)
		for (size_t i = 0; i < 3; i++)
			if (i >= len / 56)
				expect_phdr_refused(&e, t, len, i,
						    "truncated program header table");
	expect_phdr_refused(&e, t, sizeof(t), 3, "program header index out of range");
	e.phentsize = 32; /* a header filled by hand must still match its class */
	expect_phdr_refused(&e, t, sizeof(t), 0, "e_phentsize does not match the class");
	e.phentsize = 56;
	expect_phdr_refused(&e, t, sizeof(t), SIZE_MAX, "program header index out of range");

	make_phdr(t, 64, ELFCORE_PT_LOAD, UINT64_MAX - 0xfff, 0x1000, 0x1000, 0x1000);
	expect_phdr_refused(&e, t, sizeof(t), 0, "program header's offset + filesz overflows");
	make_phdr(t, 64, ELFCORE_PT_NOTE, 1, 0, UINT64_MAX, 0);
	expect_phdr_refused(&e, t, sizeof(t), 0, "program header's offset + filesz overflows");
	make_phdr(t, 64, ELFCORE_PT_LOAD, UINT64_MAX - 0x1000, 0x1000, 0x1000, 0x1000);
	assert_int_equal(parse_phdr_exact(&e, t, sizeof(t), 0, &ph, &why), 0);
	make_phdr(t, 64, ELFCORE_PT_LOAD, 0x1000, 0xfffffffffffff000, 0x1000, 0x1000);
	expect_phdr_refused(&e, t, sizeof(t), 0, "program header's vaddr + memsz overflows");
	make_phdr(t, 64, ELFCORE_PT_LOAD, 0x1000, 0xffffffffff600000, 0x1000,
		  0x1000); /* vsyscall */
	assert_int_equal(parse_phdr_exact(&e, t, sizeof(t), 0, &ph, &why), 0);
	make_phdr(t, 64, ELFCORE_PT_LOAD, 0x1000, 0x10000, 0x2000, 0x1000);
	expect_phdr_refused(&e, t, sizeof(t), 0, "program header's filesz exceeds its memsz");
	make_phdr(t, 64, ELFCORE_PT_LOAD, 0x1000, 0x10000, 0, 0x1000); /* not dumped: fine */
	assert_int_equal(parse_phdr_exact(&e, t, sizeof(t), 0, &ph, &why), 0);
}

static void test_phdr_32(void **state)
{
	struct elfcore_ehdr e;
	struct elfcore_phdr ph;
	uint8_t t[2 * 32];
	const char *why = NULL;

	ehdr_of(32, EM_ARM, 2, &e);
	make_phdr(t, 32, ELFCORE_PT_NOTE, 0x94, 0, 0x3c8, 0);
	make_phdr(t + 32, 32, ELFCORE_PT_LOAD, 0x1000, 0xbefdf000, 0x21000, 0x21000);
	assert_int_equal(parse_phdr_exact(&e, t, sizeof(t), 0, &ph, &why), 0);
	assert_int_equal(ph.type, ELFCORE_PT_NOTE);
	assert_int_equal(ph.offset, 0x94);
	assert_int_equal(ph.filesz, 0x3c8);
	assert_int_equal(parse_phdr_exact(&e, t, sizeof(t), 1, &ph, &why), 0);
	assert_int_equal(ph.vaddr, 0xbefdf000);
	assert_int_equal(ph.memsz, 0x21000);
	assert_int_equal(ph.flags, 6);
	assert_int_equal(ph.align, 4096);
	for (size_t len = 0; len < 32; len++)
		expect_phdr_refused(&e, t, len, 0, "truncated program header table");
	expect_phdr_refused(&e, t, 63, 1, "truncated program header table");

	/* The arm vectors page ends at 4 GiB exactly; nothing may end past it. */
	make_phdr(t, 32, ELFCORE_PT_LOAD, 0x1000, 0xffff0000, 0x1000, 0x10000);
	assert_int_equal(parse_phdr_exact(&e, t, sizeof(t), 0, &ph, &why), 0);
	assert_int_equal(ph.vaddr + ph.memsz, UINT64_C(0x100000000));
	make_phdr(t, 32, ELFCORE_PT_LOAD, 0x1000, 0xffff0000, 0x1000, 0x10001);
	expect_phdr_refused(&e, t, sizeof(t), 0, "program header's vaddr + memsz overflows");
	make_phdr(t, 32, ELFCORE_PT_LOAD, 0xfffff000, 0x1000, 0x1001, 0x2000);
	expect_phdr_refused(&e, t, sizeof(t), 0, "program header's offset + filesz overflows");
	make_phdr(t, 32, ELFCORE_PT_LOAD, 0x1000, 0x1000, 0x2000, 0x1000);
	expect_phdr_refused(&e, t, sizeof(t), 0, "program header's filesz exceeds its memsz");
}

/* write_ehdr and write_phdr give what the kernel writes, and parse back to what went in. */
static void test_write_round_trip(void **state)
{
	static const struct {
		unsigned elf_class;
		uint16_t machine;
		enum elfcore_arch arch;
		uint32_t flags;
	} cases[] = {
		{ 64, EM_X86_64, ELFCORE_ARCH_X86_64, 0 },
		{ 64, EM_AARCH64, ELFCORE_ARCH_AARCH64, 0 },
		{ 32, EM_ARM, ELFCORE_ARCH_ARM, 0 },
		{ 64, 21 /* EM_PPC64 */, ELFCORE_ARCH_UNKNOWN, 2 /* ELFv2 */ },
	};

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		unsigned cls = cases[c].elf_class;
		size_t ehsize = elf_ehdr_size(cls), phentsize = elf_phdr_size(cls);
		struct elfcore_ehdr in = {
			.elf_class = cls,
			.machine = cases[c].machine,
			.phnum = 3,
			.ehsize = (uint16_t)ehsize,
			.phentsize = (uint16_t)phentsize,
			.flags = cases[c].flags,
		};
		struct elfcore_phdr ph_in[3] = {
			{ .type = ELFCORE_PT_NOTE, .offset = 232, .filesz = 0x9a4, .align = 4 },
			{ .type = ELFCORE_PT_LOAD,
			  .flags = 6,
			  .offset = 0x1000,
			  .vaddr = 0xbefdf000,
			  .paddr = 0,
			  .filesz = 0x8000,
			  .memsz = 0x21000,
			  .align = 4096 },
			{ .type = ELFCORE_PT_LOAD,
			  .flags = 5,
			  .offset = 0x9000,
			  .vaddr = 0x10000,
			  .filesz = 0x1000,
			  .memsz = 0x1000,
			  .align = 4096 },
		};
		uint8_t buf[64 + 3 * 56], want[64];
		struct elfcore_ehdr out;
		const char *why = NULL;

		memset(buf, 0xee, sizeof(buf));
		elfcore_write_ehdr(&in, buf);
		assert_int_equal(buf[ehsize], 0xee); /* nothing written past the header */
		elf_put_ehdr(want, cls, cases[c].machine, 3);
		elf_put32(want + (cls == 32 ? 36 : 48), cases[c].flags);
		assert_memory_equal(buf, want, ehsize);

		for (size_t i = 0; i < 3; i++)
			elfcore_write_phdr(&in, &ph_in[i], buf + ehsize + i * phentsize);
		assert_int_equal(parse_ehdr_exact(buf, ehsize + 3 * phentsize, cls, &out, &why), 0);
		assert_int_equal(out.elf_class, cls);
		assert_int_equal(out.arch, cases[c].arch);
		assert_int_equal(out.machine, cases[c].machine);
		assert_int_equal(out.phoff, ehsize);
		assert_int_equal(out.phnum, 3);
		assert_int_equal(out.flags, cases[c].flags);
		for (size_t i = 0; i < 3; i++) {
			struct elfcore_phdr ph;

			assert_int_equal(elfcore_parse_phdr(&out, buf + out.phoff, 3 * phentsize, i,
							    &ph, &why),
					 0);
			assert_memory_equal(&ph, &ph_in[i], sizeof(ph));
		}
	}
}

/* Iterates notes in a heap copy of exactly len bytes; returns the count or the error. */
static int walk_notes(const uint8_t *buf, size_t len, struct elfcore_note *notes, size_t max,
		      const char **why)
{
	uint8_t *p = exact(buf, len);
	struct elfcore_note_iter it;
	struct elfcore_note n;
	int r, count = 0;

	elfcore_note_iter_init(&it, p, len);
	while ((r = elfcore_note_next(&it, &n, why)) > 0) {
		/* Every view lies within the buffer. */
		assert_true((const uint8_t *)n.name >= p && (const uint8_t *)n.name <= p + len);
		assert_true(n.namesz <= (size_t)(p + len - (const uint8_t *)n.name));
		assert_true((const uint8_t *)n.desc >= p && (const uint8_t *)n.desc <= p + len);
		assert_true(n.descsz <= (size_t)(p + len - (const uint8_t *)n.desc));
		if ((size_t)count < max) {
			notes[count] = n;
			/* Rebase the views onto the caller's buffer, which outlives p. */
			notes[count].name = (const char *)buf + ((const uint8_t *)n.name - p);
			notes[count].desc = buf + ((const uint8_t *)n.desc - p);
		}
		count++;
		assert_true(it.pos <= it.len);
	}
	free(p);
	return r < 0 ? r : count;
}

static void test_notes_valid(void **state)
{
	uint8_t buf[256];
	size_t pos = 0, d1, d2, d3;
	struct elfcore_note n[4];
	const char *why = NULL;

	d1 = add_note(buf, &pos, "CORE", ELFCORE_NT_PRSTATUS, "0123456789abcdef", 16);
	d2 = add_note(buf, &pos, "LINUX", 0x202, "xyzzy", 5); /* name and desc both padded */
	d3 = add_note(buf, &pos, "", 7, NULL, 0);
	assert_int_equal(walk_notes(buf, pos, n, 4, &why), 3);
	assert_int_equal(n[0].namesz, 5);
	assert_memory_equal(n[0].name, "CORE", 5);
	assert_int_equal(n[0].type, ELFCORE_NT_PRSTATUS);
	assert_ptr_equal(n[0].desc, buf + d1);
	assert_int_equal(n[0].descsz, 16);
	assert_true(elfcore_note_is(&n[0], "CORE", ELFCORE_NT_PRSTATUS));
	assert_false(elfcore_note_is(&n[0], "CORE", ELFCORE_NT_PRPSINFO));
	assert_false(elfcore_note_is(&n[0], "LINUX", ELFCORE_NT_PRSTATUS));
	assert_false(elfcore_note_is(&n[0], "COR", ELFCORE_NT_PRSTATUS));
	assert_false(elfcore_note_is(&n[0], "CORE1", ELFCORE_NT_PRSTATUS));
	assert_int_equal(n[1].namesz, 6);
	assert_ptr_equal(n[1].desc, buf + d2);
	assert_int_equal(n[1].descsz, 5);
	assert_true(elfcore_note_is(&n[1], "LINUX", 0x202));
	assert_int_equal(n[2].namesz, 1);
	assert_int_equal(n[2].descsz, 0);
	assert_ptr_equal(n[2].desc, buf + d3);

	/* No notes at all. */
	assert_int_equal(walk_notes(buf, 0, n, 4, &why), 0);

	/* A note with an empty name and descriptor is 12 bytes; many of them end. */
	memset(buf, 0, 120);
	assert_int_equal(walk_notes(buf, 120, n, 4, &why), 10);
	assert_int_equal(n[3].namesz, 0);
	assert_int_equal(n[3].descsz, 0);

	/* A name without its NUL still compares. */
	pos = 0;
	elf_put32(buf, 4);
	elf_put32(buf + 4, 0);
	elf_put32(buf + 8, ELFCORE_NT_AUXV);
	memcpy(buf + 12, "CORE", 4);
	assert_int_equal(walk_notes(buf, 16, n, 4, &why), 1);
	assert_true(elfcore_note_is(&n[0], "CORE", ELFCORE_NT_AUXV));
	memcpy(buf + 12, "CORX", 4);
	assert_int_equal(walk_notes(buf, 16, n, 4, &why), 1);
	assert_false(elfcore_note_is(&n[0], "CORE", ELFCORE_NT_AUXV));
	/* A name with NUL in namesz must end with it. */
	elf_put32(buf, 5);
	memcpy(buf + 12, "COREX\0\0\0", 8);
	assert_int_equal(walk_notes(buf, 20, n, 4, &why), 1);
	assert_false(elfcore_note_is(&n[0], "CORE", ELFCORE_NT_AUXV));
}

static void expect_notes_refused(const uint8_t *buf, size_t len, int good, const char *why)
{
	struct elfcore_note n[8];
	const char *got = NULL;
	uint8_t *p = exact(buf, len);
	struct elfcore_note_iter it;
	struct elfcore_note one;
	int r;

	assert_int_equal(walk_notes(buf, len, n, ARRAY_SIZE(n), &got), -EINVAL);
	assert_non_null(got);
	assert_string_equal(got, why);
	/* The good notes before the bad one came out first. */
	elfcore_note_iter_init(&it, p, len);
	for (int i = 0; i < good; i++)
		assert_int_equal(elfcore_note_next(&it, &one, &got), 1);
	memset(&one, 0x77, sizeof(one));
	r = elfcore_note_next(&it, &one, &got);
	assert_int_equal(r, -EINVAL);
	free(p);
}

static void test_notes_hostile(void **state)
{
	uint8_t buf[256];
	size_t pos = 0, one_note;

	add_note(buf, &pos, "CORE", ELFCORE_NT_PRSTATUS, "0123456789abcdef", 16);
	one_note = pos;
	add_note(buf, &pos, "LINUX", 0x202, "xyzzy", 5);

	/* Cut at every length: a clean end between notes or after the last descriptor is not an
	 * error (nor is a cut in the last descriptor's padding); anything else is. */
	for (size_t len = 0; len <= pos; len++) {
		struct elfcore_note n[4];
		const char *why = NULL;
		int r = walk_notes(buf, len, n, 4, &why);
		size_t in = len > one_note ? len - one_note : len;

		if (len == 0)
			assert_int_equal(r, 0);
		else if (len == one_note)
			assert_int_equal(r, 1);
		else if (len >= pos - 3) /* "xyzzy" ends 3 bytes before its padding does */
			assert_int_equal(r, 2);
		else if (in < 12)
			assert_string_equal(why, "truncated note header");
		else if (in < 12 + 8)
			assert_string_equal(why, "note name runs past the end of the notes");
		else
			assert_string_equal(why, "note descriptor runs past the end of the notes");
		if (r < 0)
			assert_int_equal(r, -EINVAL);
	}

	/* Sizes near UINT32_MAX must not wrap when padded (also with a 32-bit size_t). */
	static const uint32_t huge[] = { UINT32_MAX,	 UINT32_MAX - 1, UINT32_MAX - 2,
					 UINT32_MAX - 3, UINT32_MAX - 4, 0x80000000,
					 0x7fffffff };
	for (size_t i = 0; i < ARRAY_SIZE(huge); i++) {
		memcpy(buf, "\0\0\0\0\0\0\0\0\1\0\0\0CORE", 16);
		elf_put32(buf, huge[i]);
		expect_notes_refused(buf, 64, 0, "note name runs past the end of the notes");
		elf_put32(buf, 5);
		elf_put32(buf + 4, huge[i]);
		expect_notes_refused(buf, 64, 0, "note descriptor runs past the end of the notes");
	}
	/* After a good note, too. */
	pos = 0;
	add_note(buf, &pos, "CORE", 1, "abcd", 4);
	elf_put32(buf + pos, 5);
	elf_put32(buf + pos + 4, UINT32_MAX);
	elf_put32(buf + pos + 8, 1);
	memcpy(buf + pos + 12, "CORE\0\0\0\0", 8);
	expect_notes_refused(buf, pos + 20, 1, "note descriptor runs past the end of the notes");

	/* A name whose padding is missing leaves no aligned place for the descriptor. */
	elf_put32(buf, 5);
	elf_put32(buf + 4, 0);
	elf_put32(buf + 8, 1);
	memcpy(buf + 12, "CORE\0", 5);
	expect_notes_refused(buf, 17, 0, "note name runs past the end of the notes");

	/* Trailing bytes too few for a header. */
	pos = 0;
	add_note(buf, &pos, "CORE", 1, "abcd", 4);
	memset(buf + pos, 0, 8);
	expect_notes_refused(buf, pos + 8, 1, "truncated note header");
}

/* Builds an NT_PRSTATUS descriptor with the offsets of the real layout of each machine. */
static size_t make_prstatus(uint8_t *d, uint16_t machine, uint32_t tid, uint16_t sig, uint64_t sp,
			    uint64_t pc)
{
	struct elf_prstatus_layout l = elf_prstatus_layout(machine);

	/* Every other byte is noise that must not be taken for the fields. */
	for (size_t i = 0; i < l.size; i++)
		d[i] = (uint8_t)(0x80 + i * 7);
	elf_put32(d, 11);
	elf_put16(d + 12, sig);
	elf_put32(d + (l.word == 8 ? 32 : 24), tid);
	elf_put32(d + (l.word == 8 ? 36 : 28), 1); /* ppid */
	for (size_t r = 0; r < l.n_reg; r++)
		elf_put_word(d + l.reg + r * l.word, (unsigned)l.word, 0x1111 * (r + 1));
	elf_put_word(d + l.reg + l.sp * l.word, (unsigned)l.word, sp);
	elf_put_word(d + l.reg + l.pc * l.word, (unsigned)l.word, pc);
	/* The register beside them: rax, x30 (the link register), lr. */
	elf_put_word(d + l.reg +
			     (machine == EM_AARCH64 ? 30
			      : machine == EM_ARM   ? 14
						    : 10) *
				     l.word,
		     (unsigned)l.word, 0xdead);
	elf_put32(d + l.size - 4, 1); /* pr_fpvalid */
	return l.size;
}

static int prstatus_exact(const struct elfcore_ehdr *e, const uint8_t *d, size_t len,
			  struct elfcore_thread *t, const char **why)
{
	uint8_t *p = exact(d, len);
	int r = elfcore_parse_prstatus(e, p, len, t, why);

	free(p);
	return r;
}

static void test_prstatus(void **state)
{
	static const struct {
		unsigned elf_class;
		uint16_t machine;
		enum elfcore_arch arch;
		size_t size;
		uint64_t sp, pc;
		const char *why;
	} cases[] = {
		/* Values from a real x86_64 core of a crashing thread, as gdb printed them. */
		{ 64, EM_X86_64, ELFCORE_ARCH_X86_64, 336, 0x7ffed5147710, 0x55e059f921bd,
		  "NT_PRSTATUS is not the size of an x86_64 one" },
		{ 64, EM_AARCH64, ELFCORE_ARCH_AARCH64, 392, 0xffffe3a1b2c0, 0xaaaab5d10754,
		  "NT_PRSTATUS is not the size of an aarch64 one" },
		{ 32, EM_ARM, ELFCORE_ARCH_ARM, 148, 0xbefff2a8, 0x000104d8,
		  "NT_PRSTATUS is not the size of an arm one" },
	};
	static const size_t sizes[] = { 0,   1,	  12,  72,  124, 136, 144, 148, 216, 272,
					328, 335, 336, 337, 384, 391, 392, 393, 400, 1024 };
	uint8_t d[1024];

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct elfcore_ehdr e;
		struct elfcore_thread t;
		const char *why = NULL;
		size_t n;

		ehdr_of(cases[c].elf_class, cases[c].machine, 1, &e);
		assert_int_equal(e.arch, cases[c].arch);
		n = make_prstatus(d, cases[c].machine, 4242, 11, cases[c].sp, cases[c].pc);
		assert_int_equal(n, cases[c].size);
		assert_int_equal(prstatus_exact(&e, d, n, &t, &why), 0);
		assert_int_equal(t.tid, 4242);
		assert_int_equal(t.signal, 11);
		assert_int_equal(t.sp, cases[c].sp);
		assert_int_equal(t.pc, cases[c].pc);

		/* Every other size is refused, the output untouched. */
		for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
			if (sizes[s] == cases[c].size)
				continue;
			memset(&t, 0x3c, sizeof(t));
			why = NULL;
			assert_int_equal(prstatus_exact(&e, d, sizes[s], &t, &why), -EINVAL);
			assert_string_equal(why, cases[c].why);
			assert_int_equal(t.tid, 0x3c3c3c3c);
		}
	}

	/* A machine without a decoder says so. */
	{
		struct elfcore_ehdr e;
		struct elfcore_thread t;
		const char *why = NULL;

		ehdr_of(64, EM_RISCV, 1, &e);
		memset(d, 0, 392);
		assert_int_equal(elfcore_parse_prstatus(&e, d, 392, &t, &why), -EOPNOTSUPP);
		assert_string_equal(why, "no NT_PRSTATUS decoder for this machine");
	}
}

static int prpsinfo_exact(const struct elfcore_ehdr *e, const uint8_t *d, size_t len,
			  struct elfcore_psinfo *ps, const char **why)
{
	uint8_t *p = exact(d, len);
	int r = elfcore_parse_prpsinfo(e, p, len, ps, why);

	free(p);
	return r;
}

static void test_prpsinfo(void **state)
{
	struct elfcore_ehdr e;
	struct elfcore_psinfo ps;
	uint8_t d[256];
	const char *why = NULL;

	/* 64-bit: uid and gid of 32 bits at 16 and 20, pid at 24, fname at 40, psargs at 56. */
	ehdr_of(64, EM_X86_64, 1, &e);
	memset(d, 0, sizeof(d));
	d[0] = 'R';
	elf_put64(d + 8, 0x400600);
	elf_put32(d + 16, 100000);
	elf_put32(d + 20, 100001);
	elf_put32(d + 24, 17007);
	elf_put32(d + 28, 1);
	memcpy(d + 40, "crash", 5);
	memcpy(d + 56, "./crash --now", 13);
	assert_int_equal(prpsinfo_exact(&e, d, 136, &ps, &why), 0);
	assert_int_equal(ps.pid, 17007);
	assert_int_equal(ps.uid, 100000);
	assert_int_equal(ps.gid, 100001);
	assert_string_equal(ps.fname, "crash");
	ehdr_of(64, EM_AARCH64, 1, &e);
	assert_int_equal(prpsinfo_exact(&e, d, 136, &ps, &why), 0);
	assert_int_equal(ps.uid, 100000);

	/* A name of 16 characters fills pr_fname without a NUL; the psargs after it stay out. */
	memcpy(d + 40, "0123456789abcdef", 16);
	memset(d + 56, 'x', 80); /* nor is pr_psargs, up to the end of the descriptor */
	assert_int_equal(prpsinfo_exact(&e, d, 136, &ps, &why), 0);
	assert_string_equal(ps.fname, "0123456789abcdef");
	for (size_t len = 0; len < 200; len++) {
		if (len == 136)
			continue;
		ps.pid = 77;
		assert_int_equal(prpsinfo_exact(&e, d, len, &ps, &why), -EINVAL);
		assert_string_equal(why, "NT_PRPSINFO is not the size of a 64-bit one");
		assert_int_equal(ps.pid, 77);
	}

	/* arm: 16-bit uid and gid at 8 and 10, pid at 12, fname at 28, 124 bytes. */
	ehdr_of(32, EM_ARM, 1, &e);
	memset(d, 0, sizeof(d));
	elf_put32(d + 4, 0x400600);
	elf_put16(d + 8, 1000);
	elf_put16(d + 10, 1001);
	elf_put32(d + 12, 612);
	elf_put32(d + 16, 1);
	memcpy(d + 28, "sensord", 7);
	memcpy(d + 44, "/usr/bin/sensord", 16);
	assert_int_equal(prpsinfo_exact(&e, d, 124, &ps, &why), 0);
	assert_int_equal(ps.pid, 612);
	assert_int_equal(ps.uid, 1000);
	assert_int_equal(ps.gid, 1001);
	assert_string_equal(ps.fname, "sensord");
	for (size_t len = 0; len < 200; len++) {
		if (len == 124)
			continue;
		assert_int_equal(prpsinfo_exact(&e, d, len, &ps, &why), -EINVAL);
		assert_string_equal(why, "NT_PRPSINFO is not the size of a 32-bit one");
	}

	/* A 32-bit machine of the generic ABI: 32-bit uid and gid at 8 and 12, pid 16, fname 32. */
	ehdr_of(32, EM_RISCV, 1, &e);
	memset(d, 0, sizeof(d));
	elf_put32(d + 8, 70000);
	elf_put32(d + 12, 70001);
	elf_put32(d + 16, 99);
	memcpy(d + 32, "rv", 2);
	assert_int_equal(prpsinfo_exact(&e, d, 128, &ps, &why), 0);
	assert_int_equal(ps.uid, 70000);
	assert_int_equal(ps.gid, 70001);
	assert_int_equal(ps.pid, 99);
	assert_string_equal(ps.fname, "rv");
}

static int auxv_exact(const struct elfcore_ehdr *e, const uint8_t *d, size_t len, uint64_t type,
		      uint64_t *v, const char **why)
{
	uint8_t *p = exact(d, len);
	int r = elfcore_auxv_get(e, p, len, type, v, why);

	free(p);
	return r;
}

static void test_auxv(void **state)
{
	static const unsigned classes[] = { 64, 32 };

	for (size_t c = 0; c < ARRAY_SIZE(classes); c++) {
		unsigned word = classes[c] / 8;
		struct elfcore_ehdr e;
		uint8_t d[32 * 8];
		size_t n = 0, len;
		uint64_t v = 0;
		const char *why = NULL;
		static const uint64_t vec[][2] = {
			{ ELFCORE_AT_SYSINFO_EHDR, 0x7ff45c9c2000 },
			{ ELFCORE_AT_PAGESZ, 4096 },
			{ ELFCORE_AT_PHDR, 0x55e059f91040 },
			{ ELFCORE_AT_PHENT, 56 },
			{ ELFCORE_AT_PHNUM, 13 },
			{ ELFCORE_AT_BASE, 0x7ff45c9c4000 },
			{ ELFCORE_AT_PAGESZ, 65536 }, /* a duplicate: the first one counts */
			{ 0, 0 },
			{ ELFCORE_AT_ENTRY, 0x1234 }, /* after AT_NULL: not part of the vector */
		};

		ehdr_of(classes[c], classes[c] == 32 ? EM_ARM : EM_X86_64, 1, &e);
		for (size_t i = 0; i < ARRAY_SIZE(vec); i++) {
			uint64_t val = word == 4 ? (uint32_t)vec[i][1] : vec[i][1];

			elf_put_word(d + n, word, vec[i][0]);
			elf_put_word(d + n + word, word, val);
			n += 2 * word;
		}
		len = n;
		assert_int_equal(auxv_exact(&e, d, len, ELFCORE_AT_PHDR, &v, &why), 1);
		assert_int_equal(v, word == 4 ? 0x59f91040 : 0x55e059f91040);
		assert_int_equal(auxv_exact(&e, d, len, ELFCORE_AT_PAGESZ, &v, &why), 1);
		assert_int_equal(v, 4096);
		assert_int_equal(auxv_exact(&e, d, len, ELFCORE_AT_PHNUM, &v, &why), 1);
		assert_int_equal(v, 13);
		v = 99;
		assert_int_equal(auxv_exact(&e, d, len, ELFCORE_AT_ENTRY, &v, &why), 0);
		assert_int_equal(v, 99);
		assert_int_equal(auxv_exact(&e, d, len, 0xffff, &v, &why), 0);
		/* Up to and with AT_NULL is enough. */
		assert_int_equal(auxv_exact(&e, d, 8 * 2 * word, ELFCORE_AT_BASE, &v, &why), 1);
		assert_int_equal(v, word == 4 ? 0x5c9c4000 : 0x7ff45c9c4000);

		/* Without AT_NULL, also when the type is found before the end. */
		for (size_t k = 0; k < 8; k++) {
			why = NULL;
			assert_int_equal(
				auxv_exact(&e, d, k * 2 * word, ELFCORE_AT_SYSINFO_EHDR, &v, &why),
				-EINVAL);
			assert_string_equal(why, "NT_AUXV has no AT_NULL entry");
		}
		/* A length that is not whole entries. */
		for (size_t k = 1; k < len; k++) {
			if (k % (2 * word) == 0)
				continue;
			why = NULL;
			v = 5;
			assert_int_equal(auxv_exact(&e, d, k, ELFCORE_AT_PAGESZ, &v, &why),
					 -EINVAL);
			assert_string_equal(why, "NT_AUXV is not a whole number of entries");
			assert_int_equal(v, 5);
		}
	}
}

/* Walks an NT_FILE descriptor held in exactly len bytes; returns the mappings or the error. */
static int walk_file(const struct elfcore_ehdr *e, const uint8_t *d, size_t len,
		     struct elfcore_file_map *maps, char (*names)[64], size_t max, const char **why)
{
	uint8_t *p = exact(d, len);
	struct elfcore_file_iter it;
	struct elfcore_file_map m;
	int r, count = 0;

	r = elfcore_file_iter_init(&it, e, p, len, why);
	if (r < 0) {
		free(p);
		return r;
	}
	while ((r = elfcore_file_next(&it, &m, why)) > 0) {
		size_t l = strlen(m.name);

		assert_true((const uint8_t *)m.name >= p && (const uint8_t *)m.name + l < p + len);
		if ((size_t)count < max) {
			maps[count] = m;
			maps[count].name = NULL;
			snprintf(names[count], sizeof(names[0]), "%s", m.name);
		}
		count++;
	}
	free(p);
	return r < 0 ? r : count;
}

static void test_nt_file(void **state)
{
	static const unsigned classes[] = { 64, 32 };
	static const uint64_t maps[3][3] = {
		{ 0x10000, 0x11000, 0 },
		{ 0x11000, 0x13000, 1 },
		{ 0xb6e00000, 0xb6f27000, 0 },
	};
	static const char *const names[] = { "/usr/bin/sensord", "/usr/bin/sensord",
					     "/lib/libc.so.6" };

	for (size_t c = 0; c < ARRAY_SIZE(classes); c++) {
		unsigned word = classes[c] / 8;
		struct elfcore_ehdr e;
		struct elfcore_file_map got[4];
		char got_names[4][64];
		uint8_t d[512];
		size_t len, table_end = 2 * word + 3 * 3 * word;
		const char *why = NULL;

		ehdr_of(classes[c], classes[c] == 32 ? EM_ARM : EM_AARCH64, 1, &e);
		len = elf_put_nt_file(d, word, 3, 4096, maps, 3, names, 3);
		assert_int_equal(walk_file(&e, d, len, got, got_names, 4, &why), 3);
		for (size_t i = 0; i < 3; i++) {
			assert_int_equal(got[i].start, maps[i][0]);
			assert_int_equal(got[i].end, maps[i][1]);
			assert_int_equal(got[i].pgoff, maps[i][2]);
			assert_string_equal(got_names[i], names[i]);
		}
		{
			struct elfcore_file_iter it;

			assert_int_equal(elfcore_file_iter_init(&it, &e, d, len, &why), 0);
			assert_int_equal(it.count, 3);
			assert_int_equal(it.page_size, 4096);
			assert_int_equal(it.word, word);
		}

		/* Cut at every length: the table must fit, then each name be terminated. */
		for (size_t cut = 0; cut < len; cut++) {
			int r;

			why = NULL;
			r = walk_file(&e, d, cut, got, got_names, 4, &why);
			assert_int_equal(r, -EINVAL);
			if (cut < 2 * word)
				assert_string_equal(why, "NT_FILE is shorter than its header");
			else if (cut < table_end)
				assert_string_equal(
					why, "NT_FILE's mapping count does not fit the note");
			else if (cut == table_end)
				assert_string_equal(why, "NT_FILE has fewer names than mappings");
			else
				assert_true(strcmp(why, "NT_FILE name is not terminated within the "
							"note") == 0 ||
					    strcmp(why, "NT_FILE has fewer names than mappings") ==
						    0);
		}

		/* No mappings. */
		len = elf_put_nt_file(d, word, 0, 4096, NULL, 0, NULL, 0);
		assert_int_equal(walk_file(&e, d, len, got, got_names, 4, &why), 0);

		/* Counts whose table cannot fit, including ones where count * 3 * word wraps. */
		const uint64_t wmax = word == 4 ? UINT32_MAX : UINT64_MAX;
		len = elf_put_nt_file(d, word, 3, 4096, maps, 3, names, 3);
		const uint64_t fits = (len - 2 * word) / (3 * word); /* names taken for entries */
		{
			struct elfcore_file_iter it;

			elf_put_word(d, word, fits);
			assert_int_equal(elfcore_file_iter_init(&it, &e, d, len, &why), 0);
			assert_int_equal(it.count, fits);
		}
		const uint64_t counts[] = { fits + 1,
					    1000,
					    wmax,
					    wmax / (3 * word) + 1,
					    wmax / (3 * word) + 2,
					    (wmax / 3 + 1),
					    wmax / 2 + 1 };
		for (size_t k = 0; k < ARRAY_SIZE(counts); k++) {
			len = elf_put_nt_file(d, word, counts[k], 4096, maps, 3, names, 3);
			why = NULL;
			assert_int_equal(walk_file(&e, d, len, got, got_names, 4, &why), -EINVAL);
			assert_string_equal(why, "NT_FILE's mapping count does not fit the note");
		}

		/* A page size that is not a power of two. */
		static const uint64_t bad_pages[] = { 0, 3, 4095, 4097, 0x3000 };
		for (size_t k = 0; k < ARRAY_SIZE(bad_pages); k++) {
			len = elf_put_nt_file(d, word, 3, bad_pages[k], maps, 3, names, 3);
			assert_int_equal(walk_file(&e, d, len, got, got_names, 4, &why), -EINVAL);
			assert_string_equal(why, "NT_FILE's page size is not a power of two");
		}
		/* gcore writes a page size of 1 (offsets in bytes). */
		len = elf_put_nt_file(d, word, 3, 1, maps, 3, names, 3);
		assert_int_equal(walk_file(&e, d, len, got, got_names, 4, &why), 3);

		/* A mapping that ends before it starts: the ones before it come out first. */
		{
			uint64_t bad[3][3];

			memcpy(bad, maps, sizeof(bad));
			bad[1][1] = bad[1][0] - 1;
			len = elf_put_nt_file(d, word, 3, 4096, bad, 3, names, 3);
			why = NULL;
			assert_int_equal(walk_file(&e, d, len, got, got_names, 4, &why), -EINVAL);
			assert_string_equal(why, "NT_FILE mapping ends before it starts");
			bad[1][1] = bad[1][0]; /* empty is fine */
			len = elf_put_nt_file(d, word, 3, 4096, bad, 3, names, 3);
			assert_int_equal(walk_file(&e, d, len, got, got_names, 4, &why), 3);
		}

		/* Names: the last one without its NUL, or one name missing. */
		len = elf_put_nt_file(d, word, 3, 4096, maps, 3, names, 3);
		assert_int_equal(walk_file(&e, d, len - 1, got, got_names, 4, &why), -EINVAL);
		assert_string_equal(why, "NT_FILE name is not terminated within the note");
		len = elf_put_nt_file(d, word, 3, 4096, maps, 3, names, 2);
		assert_int_equal(walk_file(&e, d, len, got, got_names, 4, &why), -EINVAL);
		assert_string_equal(why, "NT_FILE has fewer names than mappings");
		memset(d + table_end, 'x', len - table_end); /* no NUL anywhere */
		assert_int_equal(walk_file(&e, d, len, got, got_names, 4, &why), -EINVAL);
		assert_string_equal(why, "NT_FILE name is not terminated within the note");
	}
}

/* A whole synthetic core of each arch, walked as faultd-core-handler does. */
static void test_whole_core(void **state)
{
	static const struct {
		unsigned elf_class;
		uint16_t machine;
		enum elfcore_arch arch;
	} cases[] = {
		{ 64, EM_X86_64, ELFCORE_ARCH_X86_64 },
		{ 64, EM_AARCH64, ELFCORE_ARCH_AARCH64 },
		{ 32, EM_ARM, ELFCORE_ARCH_ARM },
	};

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		unsigned cls = cases[c].elf_class, word = cls / 8;
		size_t ehsize = elf_ehdr_size(cls), phentsize = elf_phdr_size(cls);
		uint8_t core[4096], desc[512];
		size_t notes_at = ehsize + 2 * phentsize, pos = notes_at, n;
		struct elfcore_ehdr e;
		struct elfcore_phdr ph;
		struct elfcore_note_iter it;
		struct elfcore_note note;
		const char *why = NULL;
		unsigned threads = 0;
		uint64_t sps = 0;
		int r;

		memset(core, 0, sizeof(core));
		elf_put_ehdr(core, cls, cases[c].machine, 2);
		for (uint32_t tid = 100; tid < 103; tid++) {
			n = make_prstatus(desc, cases[c].machine, tid, tid == 100 ? 11 : 0,
					  0x7000 + tid * 0x100, 0x400000 + tid);
			add_note(core, &pos, "CORE", ELFCORE_NT_PRSTATUS, desc, (uint32_t)n);
		}
		memset(desc, 0, sizeof(desc));
		elf_put_word(desc, word, ELFCORE_AT_PAGESZ);
		elf_put_word(desc + word, word, 4096);
		add_note(core, &pos, "CORE", ELFCORE_NT_AUXV, desc, 4 * word);
		make_phdr(core + ehsize, cls, ELFCORE_PT_NOTE, notes_at, 0, pos - notes_at, 0);
		make_phdr(core + ehsize + phentsize, cls, ELFCORE_PT_LOAD, 4096, 0x7000, 0, 0x1000);

		{
			uint8_t *p = exact(core, 4096);

			assert_int_equal(elfcore_parse_ehdr(p, 4096, cls, &e, &why), 0);
			assert_int_equal(e.arch, cases[c].arch);
			assert_int_equal(
				elfcore_parse_phdr(&e, p + e.phoff, 4096 - e.phoff, 0, &ph, &why),
				0);
			assert_int_equal(ph.type, ELFCORE_PT_NOTE);
			elfcore_note_iter_init(&it, p + ph.offset, ph.filesz);
			while ((r = elfcore_note_next(&it, &note, &why)) > 0) {
				struct elfcore_thread t;
				uint64_t v;

				if (elfcore_note_is(&note, "CORE", ELFCORE_NT_PRSTATUS)) {
					assert_int_equal(elfcore_parse_prstatus(&e, note.desc,
										note.descsz, &t,
										&why),
							 0);
					assert_int_equal(t.tid, 100 + threads);
					assert_int_equal(t.signal, threads == 0 ? 11 : 0);
					assert_int_equal(t.pc, 0x400000 + t.tid);
					sps += t.sp;
					threads++;
				} else if (elfcore_note_is(&note, "CORE", ELFCORE_NT_AUXV)) {
					assert_int_equal(
						elfcore_auxv_get(&e, note.desc, note.descsz,
								 ELFCORE_AT_PAGESZ, &v, &why),
						1);
					assert_int_equal(v, 4096);
				}
			}
			assert_int_equal(r, 0);
			free(p);
		}
		assert_int_equal(threads, 3);
		assert_int_equal(sps, 3 * 0x7000 + (100 + 101 + 102) * 0x100);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ehdr_size),
		cmocka_unit_test(test_ehdr_valid),
		cmocka_unit_test(test_ehdr_short_at_every_length),
		cmocka_unit_test(test_ehdr_refusals),
		cmocka_unit_test(test_phdr_64),
		cmocka_unit_test(test_phdr_32),
		cmocka_unit_test(test_write_round_trip),
		cmocka_unit_test(test_notes_valid),
		cmocka_unit_test(test_notes_hostile),
		cmocka_unit_test(test_prstatus),
		cmocka_unit_test(test_prpsinfo),
		cmocka_unit_test(test_auxv),
		cmocka_unit_test(test_nt_file),
		cmocka_unit_test(test_whole_core),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
