/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "harness-elf.h"

#define ALIGN4(x) (((x) + 3) & ~(size_t)3)

void elf_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void elf_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void elf_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void elf_put_word(uint8_t *p, unsigned word, uint64_t v)
{
	if (word == 4)
		elf_put32(p, (uint32_t)v);
	else
		elf_put64(p, v);
}

size_t elf_ehdr_size(unsigned elf_class)
{
	return elf_class == 32 ? 52 : 64;
}

size_t elf_phdr_size(unsigned elf_class)
{
	return elf_class == 32 ? 32 : 56;
}

void elf_put_ehdr(uint8_t *p, unsigned elf_class, uint16_t machine, uint16_t phnum)
{
	memset(p, 0, elf_ehdr_size(elf_class));
	memcpy(p, "\177ELF", 4);
	p[4] = elf_class == 32 ? 1 : 2; /* ELFCLASS32, ELFCLASS64 */
	p[5] = 1;			/* ELFDATA2LSB */
	p[6] = 1;			/* EV_CURRENT */
	elf_put16(p + 16, 4);		/* ET_CORE */
	elf_put16(p + 18, machine);
	elf_put32(p + 20, 1);
	if (elf_class == 32) {
		elf_put32(p + 28, 52);
		elf_put16(p + 40, 52);
		elf_put16(p + 42, 32);
		elf_put16(p + 44, phnum);
	} else {
		elf_put64(p + 32, 64);
		elf_put16(p + 52, 64);
		elf_put16(p + 54, 56);
		elf_put16(p + 56, phnum);
	}
}

void elf_put_phdr(uint8_t *p, unsigned elf_class, uint32_t type, uint32_t flags, uint64_t offset,
		  uint64_t vaddr, uint64_t filesz, uint64_t memsz, uint64_t align)
{
	memset(p, 0, elf_phdr_size(elf_class));
	elf_put32(p, type);
	if (elf_class == 32) {
		elf_put32(p + 4, (uint32_t)offset);
		elf_put32(p + 8, (uint32_t)vaddr);
		elf_put32(p + 16, (uint32_t)filesz);
		elf_put32(p + 20, (uint32_t)memsz);
		elf_put32(p + 24, flags);
		elf_put32(p + 28, (uint32_t)align);
	} else {
		elf_put32(p + 4, flags);
		elf_put64(p + 8, offset);
		elf_put64(p + 16, vaddr);
		elf_put64(p + 32, filesz);
		elf_put64(p + 40, memsz);
		elf_put64(p + 48, align);
	}
}

size_t elf_note_desc_offset(const char *name)
{
	return 12 + ALIGN4(strlen(name) + 1);
}

size_t elf_note_size(const char *name, size_t descsz)
{
	return elf_note_desc_offset(name) + ALIGN4(descsz);
}

size_t elf_put_note(uint8_t *p, const char *name, uint32_t type, const void *desc, size_t descsz)
{
	size_t namesz = strlen(name) + 1, size = elf_note_size(name, descsz);

	memset(p, 0, size);
	elf_put32(p, (uint32_t)namesz);
	elf_put32(p + 4, (uint32_t)descsz);
	elf_put32(p + 8, type);
	memcpy(p + 12, name, namesz);
	if (desc && descsz)
		memcpy(p + elf_note_desc_offset(name), desc, descsz);
	return size;
}

struct elf_prstatus_layout elf_prstatus_layout(uint16_t machine)
{
	switch (machine) {
	case EM_AARCH64:
		return (struct elf_prstatus_layout){
			.size = 392, .word = 8, .reg = 112, .n_reg = 34, .sp = 31, .pc = 32
		};
	case EM_ARM:
		return (struct elf_prstatus_layout){
			.size = 148, .word = 4, .reg = 72, .n_reg = 18, .sp = 13, .pc = 15
		};
	default:
		return (struct elf_prstatus_layout){
			.size = 336, .word = 8, .reg = 112, .n_reg = 27, .sp = 19, .pc = 16
		};
	}
}

size_t elf_put_nt_file(uint8_t *d, unsigned word, uint64_t count, uint64_t page_size,
		       const uint64_t (*maps)[3], size_t n_maps, const char *const *names,
		       size_t n_names)
{
	size_t pos = 2 * word;

	elf_put_word(d, word, count);
	elf_put_word(d + word, word, page_size);
	for (size_t i = 0; i < n_maps; i++)
		for (size_t k = 0; k < 3; k++, pos += word)
			elf_put_word(d + pos, word, maps[i][k]);
	for (size_t i = 0; i < n_names; i++) {
		size_t len = strlen(names[i]) + 1;

		memcpy(d + pos, names[i], len);
		pos += len;
	}
	return pos;
}
