/* SPDX-License-Identifier: MIT */
/*
 * Synthetic ELF bytes for unit tests, written byte by byte as the kernel lays out a core dump
 * (little-endian), independently of the code under test: headers, program headers, notes, and
 * the layouts of the notes the tests build.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define EM_ARM	   40
#define EM_X86_64  62
#define EM_AARCH64 183
#define EM_RISCV   243

/* Little-endian stores into a test buffer: 2, 4 or 8 bytes, or a word of 4 or 8 bytes. */
void elf_put16(uint8_t *p, uint16_t v);
void elf_put32(uint8_t *p, uint32_t v);
void elf_put64(uint8_t *p, uint64_t v);
void elf_put_word(uint8_t *p, unsigned word, uint64_t v);

/* The size of the ELF header (52 or 64) and of a program header (32 or 56) of elf_class 32 or 64.
 */
size_t elf_ehdr_size(unsigned elf_class);
size_t elf_phdr_size(unsigned elf_class);

/* Writes the ELF header of a little-endian core (ET_CORE, EV_CURRENT) of elf_class for machine,
 * with phnum program headers right after it: elf_ehdr_size() bytes. */
void elf_put_ehdr(uint8_t *p, unsigned elf_class, uint16_t machine, uint16_t phnum);

/* Writes a program header of elf_class: elf_phdr_size() bytes, p_paddr 0. */
void elf_put_phdr(uint8_t *p, unsigned elf_class, uint32_t type, uint32_t flags, uint64_t offset,
		  uint64_t vaddr, uint64_t filesz, uint64_t memsz, uint64_t align);

/* The bytes of a note with name (its NUL included) and descsz bytes of descriptor, each padded
 * to 4 bytes; and the offset of its descriptor. */
size_t elf_note_size(const char *name, size_t descsz);
size_t elf_note_desc_offset(const char *name);

/* Writes a note at p, elf_note_size() bytes with zero padding (a NULL desc is all zero); returns
 * their count. */
size_t elf_put_note(uint8_t *p, const char *name, uint32_t type, const void *desc, size_t descsz);

/* Where NT_PRSTATUS keeps what the tests look at, for EM_X86_64, EM_AARCH64 and EM_ARM (any other
 * machine: x86_64's): its size, the word size, the offset of pr_reg, how many registers it
 * holds, and the indexes in it of the stack pointer and the pc. pr_cursig is at 12, pr_pid at 32
 * (64-bit) or 24 (32-bit). */
struct elf_prstatus_layout {
	size_t size, word, reg, n_reg, sp, pc;
};
struct elf_prstatus_layout elf_prstatus_layout(uint16_t machine);

/*
 * Writes an NT_FILE descriptor of word-sized fields: count, page_size, n_maps (start, end,
 * page offset) triples, then n_names NUL-terminated names (count, n_maps and n_names may differ,
 * as in a hostile note). Returns its length.
 */
size_t elf_put_nt_file(uint8_t *d, unsigned word, uint64_t count, uint64_t page_size,
		       const uint64_t (*maps)[3], size_t n_maps, const char *const *names,
		       size_t n_names);
