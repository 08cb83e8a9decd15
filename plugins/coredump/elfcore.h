/* SPDX-License-Identifier: MIT */
/*
 * Pure parsers of an ELF core file's pieces: the ELF header, the program headers and the notes,
 * with what faultd-core-handler needs out of the notes (each thread's stack pointer, the
 * auxiliary vector, the file mappings, the signal). Nothing here reads a file or allocates:
 * callers hand in bytes they read with their own bounds, so the functions can be tested and
 * fuzzed on any input. Every byte is hostile: counts, sizes and offsets are checked against the
 * buffer they came in and against each other, and a refusal says what was wrong in *ret_why, a
 * static phrase ("not an ELF file", "a 32-bit core on a 64-bit host", ...).
 *
 * Known architectures: x86_64 (ELFCLASS64), aarch64 (ELFCLASS64) and arm (ELFCLASS32), all
 * little-endian. Other machines parse (headers, notes) but have no stack pointer decoder: the
 * handler falls back to the "full" strategy for them.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum elfcore_arch {
	ELFCORE_ARCH_UNKNOWN,
	ELFCORE_ARCH_X86_64,
	ELFCORE_ARCH_AARCH64,
	ELFCORE_ARCH_ARM,
};

#define ELFCORE_EHDR_MAX 64 /* bytes to read for the ELF header of either class */

struct elfcore_ehdr {
	unsigned elf_class;	/* 32 or 64 */
	enum elfcore_arch arch; /* ELFCORE_ARCH_UNKNOWN for a machine without a decoder */
	uint16_t machine;	/* e_machine as found */
	uint64_t phoff;		/* e_phoff, >= the header's size */
	uint16_t phentsize;	/* 32 or 56, checked against the class */
	uint32_t phnum;		/* < 65535 (PN_XNUM is refused: its count is at the file's end) */
	uint16_t ehsize;
	uint32_t flags; /* e_flags as found (0 on x86_64, aarch64 and arm; the ABI on ppc64) */
};

/*
 * Parses the ELF header at the start of buf (len bytes, at least the class's header size: 52 or
 * 64). Accepts ET_CORE, little-endian, EV_CURRENT, a program header table of the class's entry
 * size, 0 < e_phnum < 65535, e_phoff at or after the header. native_class is the class the caller
 * can follow (64 on a 64-bit host): a core of the other class is refused ("a 32-bit core on a
 * 64-bit host"). Returns 0 or -EINVAL (not an ELF core, or one faultd cannot read) with *ret_why.
 */
int elfcore_parse_ehdr(const void *buf, size_t len, unsigned native_class, struct elfcore_ehdr *ret,
		       const char **ret_why);

/* The header's size for the class in the first EI_NIDENT bytes of buf (len >= 5), or 0 when buf
 * is not an ELF file of a known class: how many bytes elfcore_parse_ehdr() needs. */
size_t elfcore_ehdr_size(const void *buf, size_t len);

#define ELFCORE_PT_LOAD 1
#define ELFCORE_PT_NOTE 4

struct elfcore_phdr {
	uint32_t type; /* PT_LOAD, PT_NOTE or any other (kept as found) */
	uint32_t flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

/*
 * Parses the i-th program header of a table of ehdr->phnum entries held in buf (len >= (i + 1) *
 * phentsize). Refuses a header whose offset + filesz or vaddr + memsz overflow, or with filesz >
 * memsz for PT_LOAD. Returns 0 or -EINVAL with *ret_why.
 */
int elfcore_parse_phdr(const struct elfcore_ehdr *ehdr, const void *buf, size_t len, size_t i,
		       struct elfcore_phdr *ret, const char **ret_why);

/* Writes phdr as the class's program header into buf (room for ehdr->phentsize bytes). */
void elfcore_write_phdr(const struct elfcore_ehdr *ehdr, const struct elfcore_phdr *phdr,
			void *buf);

/* Writes an ELF core header for the class, machine, flags and phnum (program headers right after
 * it, at ehsize) into buf (room for ehdr->ehsize bytes). ehsize and phentsize are the class's. */
void elfcore_write_ehdr(const struct elfcore_ehdr *ehdr, void *buf);

/* One note: a view into the caller's buffer. */
struct elfcore_note {
	const char *name; /* namesz bytes, the NUL included if the writer put it */
	uint32_t namesz;
	uint32_t type;
	const void *desc;
	uint32_t descsz;
};

struct elfcore_note_iter {
	const uint8_t *buf;
	size_t len, pos;
};

void elfcore_note_iter_init(struct elfcore_note_iter *it, const void *buf, size_t len);

/*
 * Steps to the next note of a PT_NOTE segment's bytes (4-byte aligned names and descriptors).
 * Returns 1 with *ret, 0 at the end, or -EINVAL with *ret_why when a note runs past the buffer.
 */
int elfcore_note_next(struct elfcore_note_iter *it, struct elfcore_note *ret, const char **ret_why);

/* True when note is named name ("CORE", "LINUX", ...) with type. */
bool elfcore_note_is(const struct elfcore_note *note, const char *name, uint32_t type);

#define ELFCORE_NT_PRSTATUS 1
#define ELFCORE_NT_PRPSINFO 3
#define ELFCORE_NT_AUXV	    6
#define ELFCORE_NT_SIGINFO  0x53494749
#define ELFCORE_NT_FILE	    0x46494c45

/* From an NT_PRSTATUS note's descriptor: the thread's id, its pending signal and stack pointer. */
struct elfcore_thread {
	uint32_t tid;
	uint32_t signal; /* pr_cursig */
	uint64_t sp;
	uint64_t pc;
};

/* Decodes an NT_PRSTATUS descriptor of the class and arch. Returns 0, -EINVAL with *ret_why
 * (wrong size for the arch), or -EOPNOTSUPP for ELFCORE_ARCH_UNKNOWN. */
int elfcore_parse_prstatus(const struct elfcore_ehdr *ehdr, const void *desc, size_t len,
			   struct elfcore_thread *ret, const char **ret_why);

/* A signal frame on an alternate signal stack (sigaltstack): the ucontext the kernel wrote when it
 * delivered a signal there, and the stack pointer and pc of the code the signal interrupted. */
struct elfcore_sigframe {
	uint64_t at;		 /* the ucontext's address */
	uint64_t ss_sp, ss_size; /* the alternate stack, as the ucontext's uc_stack says */
	uint64_t sp, pc;	 /* the interrupted context's */
};

/*
 * Looks for such a ucontext in len bytes of the process's memory that begin at address base,
 * for a thread whose stack pointer sp lies on the alternate stack, from offset *pos on (word
 * steps). A ucontext is recognised by its uc_stack describing an alternate stack that holds both
 * sp and the ucontext itself, with flags saying the interrupted code was not on it, a null uc_link,
 * small uc_flags, and a saved stack pointer outside that stack. Returns 1 with *ret and *pos past
 * it, 0 when there is none before the end of buf, or
 * -EOPNOTSUPP for a machine without a layout. Layouts: x86_64, aarch64 and arm.
 */
int elfcore_find_sigframe(const struct elfcore_ehdr *ehdr, const void *buf, size_t len,
			  uint64_t base, uint64_t sp, size_t *pos, struct elfcore_sigframe *ret);

/* From an NT_PRPSINFO descriptor: the process's pid, uid, gid and pr_fname (NUL-terminated).
 * Returns 0 or -EINVAL with *ret_why. */
struct elfcore_psinfo {
	uint32_t pid, uid, gid;
	char fname[17];
};
int elfcore_parse_prpsinfo(const struct elfcore_ehdr *ehdr, const void *desc, size_t len,
			   struct elfcore_psinfo *ret, const char **ret_why);

/* Looks up type in an NT_AUXV descriptor (pairs of class-sized words up to AT_NULL). Returns 1
 * with *ret, 0 when absent, -EINVAL with *ret_why when malformed. */
#define ELFCORE_AT_PHDR		3
#define ELFCORE_AT_PHENT	4
#define ELFCORE_AT_PHNUM	5
#define ELFCORE_AT_PAGESZ	6
#define ELFCORE_AT_BASE		7
#define ELFCORE_AT_ENTRY	9
#define ELFCORE_AT_SYSINFO_EHDR 33
int elfcore_auxv_get(const struct elfcore_ehdr *ehdr, const void *desc, size_t len, uint64_t type,
		     uint64_t *ret, const char **ret_why);

/* One mapping of an NT_FILE note: [start, end) mapped from the file at page offset pgoff (in
 * units of page_size); name points into the descriptor (NUL-terminated within it). */
struct elfcore_file_map {
	uint64_t start, end, pgoff;
	const char *name;
};

struct elfcore_file_iter {
	const uint8_t *desc;
	size_t len;
	unsigned word;	    /* 4 or 8 */
	uint64_t count, i;  /* mappings declared, next one */
	uint64_t page_size; /* as the note declares it */
	size_t names_pos;   /* offset of the next name */
};

/*
 * Starts iterating an NT_FILE descriptor: {count, page_size, count x {start, end, pgoff},
 * names}. Checks that the count's table fits the descriptor. Returns 0 or -EINVAL with *ret_why.
 */
int elfcore_file_iter_init(struct elfcore_file_iter *it, const struct elfcore_ehdr *ehdr,
			   const void *desc, size_t len, const char **ret_why);

/* Returns 1 with the next mapping, 0 after the last, -EINVAL with *ret_why when a name is not
 * terminated within the descriptor or a mapping's end is before its start. */
int elfcore_file_next(struct elfcore_file_iter *it, struct elfcore_file_map *ret,
		      const char **ret_why);
