/* SPDX-License-Identifier: MIT */
/*
 * ELF core parsing without I/O or allocation. Every multi-byte value is copied out of the
 * caller's buffer with memcpy() at an offset checked against the buffer's length first, and
 * converted from little-endian, so no read is misaligned or out of bounds whatever the input.
 * Sizes taken from the input are compared with what remains instead of being added to an
 * offset, so nothing wraps around, also where size_t has 32 bits.
 */
#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "elfcore.h"

/* The few ELF constants needed, spelled here so the parser does not depend on <elf.h>. */
#define EI_NIDENT     16
#define EI_CLASS      4
#define EI_DATA	      5
#define EI_VERSION    6
#define ELFCLASS32    1
#define ELFCLASS64    2
#define ELFDATA2LSB   1
#define ELFDATA2MSB   2
#define EV_CURRENT    1
#define ET_CORE	      4
#define PN_XNUM	      0xffff
#define EM_ARM	      40
#define EM_X86_64     62
#define EM_AARCH64    183
#define EHDR32_SIZE   52
#define EHDR64_SIZE   64
#define PHDR32_SIZE   32
#define PHDR64_SIZE   56
#define NOTE_HDR_SIZE 12

/*
 * NT_PRSTATUS layouts (struct elf_prstatus of the kernel): pr_cursig is a short at 12, pr_pid an
 * int after the two signal masks (unsigned long each), then four timevals (two longs each) and
 * pr_reg. The register indexes are those of each architecture's elf_gregset_t.
 */
#define PRSTATUS_X86_64_SIZE  336
#define PRSTATUS_AARCH64_SIZE 392
#define PRSTATUS_ARM_SIZE     148
#define PRSTATUS_CURSIG	      12
#define PRSTATUS64_PID	      32
#define PRSTATUS64_REG	      112
#define PRSTATUS32_PID	      24
#define PRSTATUS32_REG	      72
#define X86_64_REG_RIP	      16 /* struct user_regs_struct */
#define X86_64_REG_RSP	      19
#define AARCH64_REG_SP	      31 /* x0..x30, sp, pc, pstate */
#define AARCH64_REG_PC	      32
#define ARM_REG_SP	      13 /* r0..r15, cpsr, orig_r0 */
#define ARM_REG_PC	      15

/*
 * NT_PRPSINFO layouts (struct elf_prpsinfo): four chars, pr_flag (unsigned long), pr_uid and
 * pr_gid (__kernel_uid_t: 32 bits in the generic ABI, 16 bits on arm and i386), pr_pid, ppid,
 * pgrp, sid (ints), pr_fname[16], pr_psargs[80].
 */
#define PRPSINFO64_SIZE	       136
#define PRPSINFO64_UID	       16
#define PRPSINFO64_GID	       20
#define PRPSINFO64_PID	       24
#define PRPSINFO64_FNAME       40
#define PRPSINFO32_UID16_SIZE  124
#define PRPSINFO32_UID16_UID   8
#define PRPSINFO32_UID16_GID   10
#define PRPSINFO32_UID16_PID   12
#define PRPSINFO32_UID16_FNAME 28
#define PRPSINFO32_UID32_SIZE  128
#define PRPSINFO32_UID32_UID   8
#define PRPSINFO32_UID32_GID   12
#define PRPSINFO32_UID32_PID   16
#define PRPSINFO32_UID32_FNAME 32
#define PRPSINFO_FNAME_SIZE    16

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

/* A word of the class: 4 or 8 bytes. */
static uint64_t rd_word(const uint8_t *p, unsigned word)
{
	return word == 4 ? rd32(p) : rd64(p);
}

static void wr16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

static void wr32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static void wr64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

static unsigned class_word(const struct elfcore_ehdr *ehdr)
{
	return ehdr->elf_class == 32 ? 4 : 8;
}

static int refuse(const char **ret_why, const char *why)
{
	if (ret_why)
		*ret_why = why;
	return -EINVAL;
}

static bool is_elf(const uint8_t *p, size_t len)
{
	return len >= 4 && p[0] == 0x7f && p[1] == 'E' && p[2] == 'L' && p[3] == 'F';
}

size_t elfcore_ehdr_size(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (len <= EI_CLASS || !is_elf(p, len))
		return 0;
	switch (p[EI_CLASS]) {
	case ELFCLASS32:
		return EHDR32_SIZE;
	case ELFCLASS64:
		return EHDR64_SIZE;
	default:
		return 0;
	}
}

static enum elfcore_arch arch_of(unsigned elf_class, uint16_t machine)
{
	if (elf_class == 64 && machine == EM_X86_64)
		return ELFCORE_ARCH_X86_64;
	if (elf_class == 64 && machine == EM_AARCH64)
		return ELFCORE_ARCH_AARCH64;
	if (elf_class == 32 && machine == EM_ARM)
		return ELFCORE_ARCH_ARM;
	/* x32 cores (ELFCLASS32 with EM_X86_64) and every other machine. */
	return ELFCORE_ARCH_UNKNOWN;
}

int elfcore_parse_ehdr(const void *buf, size_t len, unsigned native_class, struct elfcore_ehdr *ret,
		       const char **ret_why)
{
	const uint8_t *p = buf;
	struct elfcore_ehdr h = {};
	uint16_t phentsize, phnum, ehsize;
	uint64_t phoff;

	if (!is_elf(p, len))
		return refuse(ret_why, "not an ELF file");
	if (len < EI_NIDENT)
		return refuse(ret_why, "truncated ELF header");
	switch (p[EI_CLASS]) {
	case ELFCLASS32:
		h.elf_class = 32;
		break;
	case ELFCLASS64:
		h.elf_class = 64;
		break;
	default:
		return refuse(ret_why, "unknown ELF class");
	}
	if (p[EI_DATA] == ELFDATA2MSB)
		return refuse(ret_why, "big-endian cores are not supported");
	if (p[EI_DATA] != ELFDATA2LSB)
		return refuse(ret_why, "unknown ELF data encoding");
	if (p[EI_VERSION] != EV_CURRENT)
		return refuse(ret_why, "unknown ELF version");
	if (h.elf_class != native_class)
		return refuse(ret_why, h.elf_class == 32 ? "a 32-bit core on a 64-bit host"
							 : "a 64-bit core on a 32-bit host");
	if (len < (h.elf_class == 32 ? EHDR32_SIZE : EHDR64_SIZE))
		return refuse(ret_why, "truncated ELF header");

	/* e_type, e_machine and e_version are at the same offsets in both classes. */
	if (rd16(p + 16) != ET_CORE)
		return refuse(ret_why, "not a core file");
	h.machine = rd16(p + 18);
	if (rd32(p + 20) != EV_CURRENT)
		return refuse(ret_why, "unknown ELF version");
	if (h.elf_class == 32) {
		phoff = rd32(p + 28);
		h.flags = rd32(p + 36);
		ehsize = rd16(p + 40);
		phentsize = rd16(p + 42);
		phnum = rd16(p + 44);
	} else {
		phoff = rd64(p + 32);
		h.flags = rd32(p + 48);
		ehsize = rd16(p + 52);
		phentsize = rd16(p + 54);
		phnum = rd16(p + 56);
	}
	if (ehsize != (h.elf_class == 32 ? EHDR32_SIZE : EHDR64_SIZE))
		return refuse(ret_why, "e_ehsize does not match the class");
	if (phentsize != (h.elf_class == 32 ? PHDR32_SIZE : PHDR64_SIZE))
		return refuse(ret_why, "e_phentsize does not match the class");
	if (phnum == 0)
		return refuse(ret_why, "no program headers");
	if (phnum == PN_XNUM)
		return refuse(ret_why, "too many program headers (PN_XNUM)");
	if (phoff < ehsize)
		return refuse(ret_why, "program headers overlap the ELF header");
	if (phoff > UINT64_MAX - (uint64_t)phnum * phentsize)
		return refuse(ret_why,
			      "program header table runs past the end of the address range");

	h.arch = arch_of(h.elf_class, h.machine);
	h.phoff = phoff;
	h.phentsize = phentsize;
	h.phnum = phnum;
	h.ehsize = ehsize;
	*ret = h;
	return 0;
}

int elfcore_parse_phdr(const struct elfcore_ehdr *ehdr, const void *buf, size_t len, size_t i,
		       struct elfcore_phdr *ret, const char **ret_why)
{
	const uint8_t *p;
	struct elfcore_phdr ph = {};
	uint64_t limit;

	if (i >= ehdr->phnum)
		return refuse(ret_why, "program header index out of range");
	/* ehdr may have been filled by hand: its entry size decides how much is read. */
	if (ehdr->phentsize != (ehdr->elf_class == 32 ? PHDR32_SIZE : PHDR64_SIZE))
		return refuse(ret_why, "e_phentsize does not match the class");
	if (i >= len / ehdr->phentsize)
		return refuse(ret_why, "truncated program header table");
	p = (const uint8_t *)buf + i * ehdr->phentsize;

	if (ehdr->elf_class == 32) {
		ph.type = rd32(p);
		ph.offset = rd32(p + 4);
		ph.vaddr = rd32(p + 8);
		ph.paddr = rd32(p + 12);
		ph.filesz = rd32(p + 16);
		ph.memsz = rd32(p + 20);
		ph.flags = rd32(p + 24);
		ph.align = rd32(p + 28);
		/* A 32-bit segment may end at 4 GiB exactly (the arm vectors page), not past. */
		limit = UINT32_MAX + UINT64_C(1);
	} else {
		ph.type = rd32(p);
		ph.flags = rd32(p + 4);
		ph.offset = rd64(p + 8);
		ph.vaddr = rd64(p + 16);
		ph.paddr = rd64(p + 24);
		ph.filesz = rd64(p + 32);
		ph.memsz = rd64(p + 40);
		ph.align = rd64(p + 48);
		limit = UINT64_MAX;
	}
	if (ph.filesz > limit - ph.offset)
		return refuse(ret_why, "program header's offset + filesz overflows");
	if (ph.memsz > limit - ph.vaddr)
		return refuse(ret_why, "program header's vaddr + memsz overflows");
	if (ph.type == ELFCORE_PT_LOAD && ph.filesz > ph.memsz)
		return refuse(ret_why, "program header's filesz exceeds its memsz");
	*ret = ph;
	return 0;
}

void elfcore_write_phdr(const struct elfcore_ehdr *ehdr, const struct elfcore_phdr *phdr, void *buf)
{
	uint8_t *p = buf;

	assert(ehdr->elf_class == 32 || ehdr->elf_class == 64);
	if (ehdr->elf_class == 32) {
		memset(p, 0, PHDR32_SIZE);
		wr32(p, phdr->type);
		wr32(p + 4, (uint32_t)phdr->offset);
		wr32(p + 8, (uint32_t)phdr->vaddr);
		wr32(p + 12, (uint32_t)phdr->paddr);
		wr32(p + 16, (uint32_t)phdr->filesz);
		wr32(p + 20, (uint32_t)phdr->memsz);
		wr32(p + 24, phdr->flags);
		wr32(p + 28, (uint32_t)phdr->align);
	} else {
		memset(p, 0, PHDR64_SIZE);
		wr32(p, phdr->type);
		wr32(p + 4, phdr->flags);
		wr64(p + 8, phdr->offset);
		wr64(p + 16, phdr->vaddr);
		wr64(p + 24, phdr->paddr);
		wr64(p + 32, phdr->filesz);
		wr64(p + 40, phdr->memsz);
		wr64(p + 48, phdr->align);
	}
}

void elfcore_write_ehdr(const struct elfcore_ehdr *ehdr, void *buf)
{
	uint8_t *p = buf;
	bool is32 = ehdr->elf_class == 32;
	uint16_t ehsize = is32 ? EHDR32_SIZE : EHDR64_SIZE;
	uint16_t phentsize = is32 ? PHDR32_SIZE : PHDR64_SIZE;

	assert(ehdr->elf_class == 32 || ehdr->elf_class == 64);
	assert(ehdr->phnum < PN_XNUM);
	/* As the kernel writes it: no section headers, e_ident[EI_OSABI] ELFOSABI_NONE. */
	memset(p, 0, ehsize);
	p[0] = 0x7f;
	p[1] = 'E';
	p[2] = 'L';
	p[3] = 'F';
	p[EI_CLASS] = is32 ? ELFCLASS32 : ELFCLASS64;
	p[EI_DATA] = ELFDATA2LSB;
	p[EI_VERSION] = EV_CURRENT;
	wr16(p + 16, ET_CORE);
	wr16(p + 18, ehdr->machine);
	wr32(p + 20, EV_CURRENT);
	if (is32) {
		wr32(p + 28, ehsize); /* e_phoff: right after this header */
		wr32(p + 36, ehdr->flags);
		wr16(p + 40, ehsize);
		wr16(p + 42, phentsize);
		wr16(p + 44, (uint16_t)ehdr->phnum);
	} else {
		wr64(p + 32, ehsize);
		wr32(p + 48, ehdr->flags);
		wr16(p + 52, ehsize);
		wr16(p + 54, phentsize);
		wr16(p + 56, (uint16_t)ehdr->phnum);
	}
}

void elfcore_note_iter_init(struct elfcore_note_iter *it, const void *buf, size_t len)
{
	*it = (struct elfcore_note_iter){ .buf = buf, .len = len, .pos = 0 };
}

/* n rounded up to a multiple of 4, in 64 bits so that a size near UINT32_MAX does not wrap. */
static uint64_t align4(uint32_t n)
{
	return ((uint64_t)n + 3) & ~(uint64_t)3;
}

int elfcore_note_next(struct elfcore_note_iter *it, struct elfcore_note *ret, const char **ret_why)
{
	const uint8_t *p;
	size_t left;
	uint32_t namesz, descsz, type;
	uint64_t name_room, desc_room;

	if (it->pos >= it->len)
		return 0;
	left = it->len - it->pos;
	if (left < NOTE_HDR_SIZE)
		return refuse(ret_why, "truncated note header");
	p = it->buf + it->pos;
	namesz = rd32(p);
	descsz = rd32(p + 4);
	type = rd32(p + 8);
	left -= NOTE_HDR_SIZE;

	/* The descriptor starts at the next 4-byte boundary after the name, so the name's padding
	 * must be there too; the last descriptor's padding may be cut by the end of the segment. */
	name_room = align4(namesz);
	if (name_room > left)
		return refuse(ret_why, "note name runs past the end of the notes");
	left -= (size_t)name_room;
	if (descsz > left)
		return refuse(ret_why, "note descriptor runs past the end of the notes");
	desc_room = align4(descsz);
	if (desc_room > left)
		desc_room = left;

	*ret = (struct elfcore_note){
		.name = (const char *)p + NOTE_HDR_SIZE,
		.namesz = namesz,
		.type = type,
		.desc = p + NOTE_HDR_SIZE + name_room,
		.descsz = descsz,
	};
	it->pos += NOTE_HDR_SIZE + (size_t)name_room + (size_t)desc_room;
	return 1;
}

bool elfcore_note_is(const struct elfcore_note *note, const char *name, uint32_t type)
{
	size_t n = strlen(name);

	if (note->type != type)
		return false;
	/* The gABI counts the NUL in namesz; tolerate a writer that left it out. */
	if (note->namesz == n + 1)
		return memcmp(note->name, name, n + 1) == 0;
	if (note->namesz == n)
		return memcmp(note->name, name, n) == 0;
	return false;
}

int elfcore_parse_prstatus(const struct elfcore_ehdr *ehdr, const void *desc, size_t len,
			   struct elfcore_thread *ret, const char **ret_why)
{
	const uint8_t *p = desc;
	struct elfcore_thread t = {};

	switch (ehdr->arch) {
	case ELFCORE_ARCH_X86_64:
		if (len != PRSTATUS_X86_64_SIZE)
			return refuse(ret_why, "NT_PRSTATUS is not the size of an x86_64 one");
		t.tid = rd32(p + PRSTATUS64_PID);
		t.sp = rd64(p + PRSTATUS64_REG + 8 * X86_64_REG_RSP);
		t.pc = rd64(p + PRSTATUS64_REG + 8 * X86_64_REG_RIP);
		break;
	case ELFCORE_ARCH_AARCH64:
		if (len != PRSTATUS_AARCH64_SIZE)
			return refuse(ret_why, "NT_PRSTATUS is not the size of an aarch64 one");
		t.tid = rd32(p + PRSTATUS64_PID);
		t.sp = rd64(p + PRSTATUS64_REG + 8 * AARCH64_REG_SP);
		t.pc = rd64(p + PRSTATUS64_REG + 8 * AARCH64_REG_PC);
		break;
	case ELFCORE_ARCH_ARM:
		if (len != PRSTATUS_ARM_SIZE)
			return refuse(ret_why, "NT_PRSTATUS is not the size of an arm one");
		t.tid = rd32(p + PRSTATUS32_PID);
		t.sp = rd32(p + PRSTATUS32_REG + 4 * ARM_REG_SP);
		t.pc = rd32(p + PRSTATUS32_REG + 4 * ARM_REG_PC);
		break;
	case ELFCORE_ARCH_UNKNOWN:
	default:
		if (ret_why)
			*ret_why = "no NT_PRSTATUS decoder for this machine";
		return -EOPNOTSUPP;
	}
	t.signal = rd16(p + PRSTATUS_CURSIG);
	*ret = t;
	return 0;
}

int elfcore_parse_prpsinfo(const struct elfcore_ehdr *ehdr, const void *desc, size_t len,
			   struct elfcore_psinfo *ret, const char **ret_why)
{
	const uint8_t *p = desc;
	struct elfcore_psinfo ps = {};
	size_t fname_at, n;

	/* 64-bit ABIs all have 32-bit uids; 32-bit ones differ (16 bits on arm and i386, 32 in the
	 * generic ABI), which the size tells apart when the machine has no layout of its own. */
	if (ehdr->elf_class == 64) {
		if (len != PRPSINFO64_SIZE)
			return refuse(ret_why, "NT_PRPSINFO is not the size of a 64-bit one");
		ps.uid = rd32(p + PRPSINFO64_UID);
		ps.gid = rd32(p + PRPSINFO64_GID);
		ps.pid = rd32(p + PRPSINFO64_PID);
		fname_at = PRPSINFO64_FNAME;
	} else if (len == PRPSINFO32_UID16_SIZE) {
		ps.uid = rd16(p + PRPSINFO32_UID16_UID);
		ps.gid = rd16(p + PRPSINFO32_UID16_GID);
		ps.pid = rd32(p + PRPSINFO32_UID16_PID);
		fname_at = PRPSINFO32_UID16_FNAME;
	} else if (len == PRPSINFO32_UID32_SIZE && ehdr->arch != ELFCORE_ARCH_ARM) {
		ps.uid = rd32(p + PRPSINFO32_UID32_UID);
		ps.gid = rd32(p + PRPSINFO32_UID32_GID);
		ps.pid = rd32(p + PRPSINFO32_UID32_PID);
		fname_at = PRPSINFO32_UID32_FNAME;
	} else
		return refuse(ret_why, "NT_PRPSINFO is not the size of a 32-bit one");

	/* pr_fname is NUL-padded, but not NUL-terminated when the name fills all 16 bytes. */
	n = strnlen((const char *)p + fname_at, PRPSINFO_FNAME_SIZE);
	memcpy(ps.fname, p + fname_at, n);
	ps.fname[n] = '\0';
	*ret = ps;
	return 0;
}

int elfcore_auxv_get(const struct elfcore_ehdr *ehdr, const void *desc, size_t len, uint64_t type,
		     uint64_t *ret, const char **ret_why)
{
	const uint8_t *p = desc;
	unsigned word = class_word(ehdr);
	bool found = false;
	uint64_t value = 0;

	if (len % (2 * word) != 0)
		return refuse(ret_why, "NT_AUXV is not a whole number of entries");
	for (size_t at = 0; at < len; at += 2 * word) {
		uint64_t a_type = rd_word(p + at, word);

		if (a_type == type && !found) {
			found = true;
			value = rd_word(p + at + word, word);
		}
		if (a_type == 0) { /* AT_NULL */
			if (found)
				*ret = value;
			return found;
		}
	}
	return refuse(ret_why, "NT_AUXV has no AT_NULL entry");
}

int elfcore_file_iter_init(struct elfcore_file_iter *it, const struct elfcore_ehdr *ehdr,
			   const void *desc, size_t len, const char **ret_why)
{
	const uint8_t *p = desc;
	unsigned word = class_word(ehdr);
	uint64_t count, page_size;

	if (len < 2 * word)
		return refuse(ret_why, "NT_FILE is shorter than its header");
	count = rd_word(p, word);
	page_size = rd_word(p + word, word);
	/* Divide instead of multiplying count: it is hostile and may be up to 2^64 - 1. */
	if (count > (len - 2 * word) / (3 * word))
		return refuse(ret_why, "NT_FILE's mapping count does not fit the note");
	if (page_size == 0 || (page_size & (page_size - 1)) != 0)
		return refuse(ret_why, "NT_FILE's page size is not a power of two");

	*it = (struct elfcore_file_iter){
		.desc = p,
		.len = len,
		.word = word,
		.count = count,
		.i = 0,
		.page_size = page_size,
		.names_pos = 2 * word + (size_t)count * 3 * word,
	};
	return 0;
}

int elfcore_file_next(struct elfcore_file_iter *it, struct elfcore_file_map *ret,
		      const char **ret_why)
{
	const uint8_t *entry, *name, *nul;
	struct elfcore_file_map m;

	if (it->i >= it->count)
		return 0;
	/* init checked that count entries fit before names_pos, and names_pos <= len. */
	entry = it->desc + 2 * it->word + (size_t)it->i * 3 * it->word;
	m.start = rd_word(entry, it->word);
	m.end = rd_word(entry + it->word, it->word);
	m.pgoff = rd_word(entry + 2 * it->word, it->word);
	if (m.end < m.start)
		return refuse(ret_why, "NT_FILE mapping ends before it starts");
	if (it->names_pos >= it->len)
		return refuse(ret_why, "NT_FILE has fewer names than mappings");
	name = it->desc + it->names_pos;
	nul = memchr(name, '\0', it->len - it->names_pos);
	if (!nul)
		return refuse(ret_why, "NT_FILE name is not terminated within the note");
	m.name = (const char *)name;
	it->names_pos += (size_t)(nul - name) + 1;
	it->i++;
	*ret = m;
	return 1;
}

/* Where the kernel's struct ucontext keeps what elfcore_find_sigframe() reads (the kernel's
 * arch/<arch>/include/uapi/asm/ucontext.h and sigcontext.h): uc_flags and uc_link, then uc_stack
 * (ss_sp, ss_flags, ss_size) at two words; the interrupted sp and pc inside uc_mcontext. */
struct ucontext_layout {
	unsigned word;
	size_t sp, pc;
};

#define SS_AUTODISARM_FL (1u << 31)
#define ALTSTACK_MIN	 1024 /* below the smallest MINSIGSTKSZ */
#define ALTSTACK_MAX	 (1ull << 30)

static bool ucontext_layout(enum elfcore_arch arch, struct ucontext_layout *ret)
{
	switch (arch) {
	case ELFCORE_ARCH_X86_64:
		/* uc_mcontext at 40: r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip */
		*ret = (struct ucontext_layout){ .word = 8, .sp = 40 + 15 * 8, .pc = 40 + 16 * 8 };
		return true;
	case ELFCORE_ARCH_AARCH64:
		/* uc_sigmask at 40, 120 bytes unused, uc_mcontext 16-aligned at 176: fault_address,
		 * regs[31], sp, pc */
		*ret = (struct ucontext_layout){ .word = 8,
						 .sp = 176 + 8 + 31 * 8,
						 .pc = 176 + 8 + 32 * 8 };
		return true;
	case ELFCORE_ARCH_ARM:
		/* uc_mcontext at 20: trap_no, error_code, oldmask, r0..r10, fp, ip, sp, lr, pc */
		*ret = (struct ucontext_layout){ .word = 4, .sp = 20 + 16 * 4, .pc = 20 + 18 * 4 };
		return true;
	default:
		return false;
	}
}

static uint64_t rdword(const uint8_t *p, unsigned word)
{
	return word == 8 ? rd64(p) : rd32(p);
}

int elfcore_find_sigframe(const struct elfcore_ehdr *ehdr, const void *buf, size_t len,
			  uint64_t base, uint64_t sp, size_t *pos, struct elfcore_sigframe *ret)
{
	const uint8_t *b = buf;
	struct ucontext_layout l;
	size_t need, i;

	if (!ucontext_layout(ehdr->arch, &l))
		return -EOPNOTSUPP;
	need = l.pc + l.word;
	i = (*pos + l.word - 1) / l.word * l.word;
	for (; len >= need && i <= len - need; i += l.word) {
		const uint8_t *u = b + i;
		uint64_t at = base + i, ss_sp = rdword(u + 2 * l.word, l.word);
		uint32_t ss_flags = rd32(u + 3 * l.word);
		uint64_t ss_size = rdword(u + 4 * l.word, l.word);
		uint64_t saved_sp = rdword(u + l.sp, l.word);

		if (rdword(u, l.word) >= 0x100 || rdword(u + l.word, l.word) != 0)
			continue;
		if ((ss_flags & ~SS_AUTODISARM_FL) != 0 || ss_size < ALTSTACK_MIN ||
		    ss_size > ALTSTACK_MAX || ss_sp > UINT64_MAX - ss_size)
			continue;
		/* sp and the ucontext on the alternate stack; the interrupted sp off it. */
		if (sp < ss_sp || sp - ss_sp >= ss_size || at < ss_sp || at > UINT64_MAX - need ||
		    at + need > ss_sp + ss_size)
			continue;
		if (saved_sp == 0 || (saved_sp >= ss_sp && saved_sp - ss_sp < ss_size))
			continue;
		*ret = (struct elfcore_sigframe){
			.at = at,
			.ss_sp = ss_sp,
			.ss_size = ss_size,
			.sp = saved_sp,
			.pc = rdword(u + l.pc, l.word),
		};
		*pos = i + need;
		return 1;
	}
	*pos = i;
	return 0;
}
