/* SPDX-License-Identifier: MIT */
/*
 * The one-pass trimmer of faultd-core-handler (plugins/coredump/coretrim.c) on synthetic cores
 * built here byte by byte: an ELF header, a note segment (NT_PRSTATUS of a few threads with
 * chosen stack pointers, NT_AUXV, NT_FILE and others), then memory segments whose bytes are a
 * known function of their address. Each core goes through a pipe written by a child process in
 * odd-sized chunks (as the kernel's core pipe delivers it), a socket, or a regular file, and the
 * result is parsed back: the kept ranges are exactly the page-rounded windows the design names,
 * each byte equal to the input's (or zero past the input's end), the notes verbatim plus the
 * FAULTD notes. Hostile inputs end with a refusal that names the fault, quickly, and without a
 * leak (AddressSanitizer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "compress.h"
#include "coretrim.h"
#include "elfcore.h"
#include "harness-elf.h"
#include "macro.h"
#include "tmpdir.h"

#define PAGE	4096
#define CAPTURE "{\"test\": \"coretrim\"}"
/* Every run must end within this, whatever the input (the hostile ones in milliseconds). */
#define RUN_MAX_USEC   (2 * 1000000ULL)

#define ALIGN_TO(x, a) (((x) + ((a)-1)) & ~((uint64_t)(a)-1))
#define ALIGN4(x)      ALIGN_TO(x, 4)

#define PT_PHDR_       6
#define PT_DYNAMIC_    2
#define DT_DEBUG_      21

static char *tmpdir;

static int setup(void **state)
{
	tmpdir = test_tmpdir_new("coretrim");
	return tmpdir ? 0 : -1;
}

static int teardown(void **state)
{
	return test_tmpdir_free(tmpdir);
}

/* The process's memory: every address has its own recognisable byte. */
static uint8_t pattern(uint64_t addr)
{
	return (uint8_t)((addr >> 12) * 151 + (addr & 0xfff) * 7 + (addr >> 24) + 1);
}

/* ---- A synthetic core ---- */

struct seg {
	uint64_t vaddr, memsz, filesz; /* filesz: the bytes dumped */
	uint32_t flags;
	uint64_t offset; /* in the built core */
	bool fixed;	 /* offset chosen by the test */
	uint8_t *mem;	 /* memsz bytes of the process's memory */
};

enum order {
	ORDER_KERNEL,	   /* PT_NOTE first, notes, then segments at increasing offsets */
	ORDER_NOTES_LAST,  /* as gcore: the PT_LOAD headers and data first, notes at the end */
	ORDER_NOTES_AFTER, /* PT_NOTE's header first, but its data after the segments' */
	ORDER_REVERSED,	   /* segments' data in the reverse order of their headers */
};

struct core {
	unsigned cls, word;
	uint16_t machine;
	uint8_t *notes;
	size_t notes_len, notes_cap;
	struct seg seg[16];
	size_t n_seg;
	/* Built: */
	uint8_t *buf;
	size_t len;
	uint64_t notes_off;
	size_t phnum;
};

static void core_init(struct core *c, unsigned cls, uint16_t machine)
{
	memset(c, 0, sizeof(*c));
	c->cls = cls;
	c->word = cls / 8;
	c->machine = machine;
}

static void core_free(struct core *c)
{
	for (size_t i = 0; i < c->n_seg; i++)
		free(c->seg[i].mem);
	free(c->notes);
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

static void core_note(struct core *c, const char *name, uint32_t type, const void *desc,
		      size_t descsz)
{
	size_t need = elf_note_size(name, descsz);

	if (c->notes_len + need > c->notes_cap) {
		c->notes_cap = (c->notes_len + need) * 2;
		c->notes = realloc(c->notes, c->notes_cap);
		assert_non_null(c->notes);
	}
	c->notes_len += elf_put_note(c->notes + c->notes_len, name, type, desc, descsz);
}

/* NT_PRSTATUS with the real layout of the core's architecture (x86_64's for machines without
 * a decoder): pr_cursig at 12, pr_pid after the signal masks, the stack pointer in pr_reg. */
static void core_thread(struct core *c, uint32_t tid, uint16_t sig, uint64_t sp)
{
	struct elf_prstatus_layout l = elf_prstatus_layout(c->machine);
	uint8_t d[392];

	assert_true(l.size <= sizeof(d));
	for (size_t i = 0; i < l.size; i++)
		d[i] = (uint8_t)(0x90 + i * 3);
	elf_put16(d + 12, sig);
	elf_put32(d + (c->word == 8 ? 32 : 24), tid);
	elf_put_word(d + l.reg + l.sp * c->word, c->word, sp);
	elf_put_word(d + l.reg + l.pc * c->word, c->word, 0x401234);
	core_note(c, "CORE", ELFCORE_NT_PRSTATUS, d, l.size);
}

struct kv {
	uint64_t key, value;
};

static void core_auxv(struct core *c, const struct kv *kv, size_t n)
{
	uint8_t d[64 * 16] = {};
	unsigned w = c->word;

	assert_true(n < 63);
	for (size_t i = 0; i < n; i++) {
		elf_put_word(d + 2 * w * i, w, kv[i].key);
		elf_put_word(d + 2 * w * i + w, w, kv[i].value);
	}
	/* AT_NULL, then the kernel's zero padding. */
	core_note(c, "CORE", ELFCORE_NT_AUXV, d, 2 * w * (n + 2));
}

struct fmap {
	uint64_t start, end, pgoff;
	const char *name;
};

static void core_files(struct core *c, const struct fmap *m, size_t n)
{
	uint8_t d[4096] = {};
	uint64_t maps[8][3];
	const char *names[8];

	assert_true(n <= ARRAY_SIZE(maps));
	for (size_t i = 0; i < n; i++) {
		maps[i][0] = m[i].start;
		maps[i][1] = m[i].end;
		maps[i][2] = m[i].pgoff;
		names[i] = m[i].name;
	}
	core_note(c, "CORE", ELFCORE_NT_FILE, d,
		  elf_put_nt_file(d, c->word, n, PAGE, maps, n, names, n));
}

static struct seg *core_seg(struct core *c, uint64_t vaddr, uint64_t memsz, uint64_t filesz,
			    uint32_t flags)
{
	struct seg *s = &c->seg[c->n_seg++];

	assert_true(c->n_seg <= ARRAY_SIZE(c->seg));
	*s = (struct seg){ .vaddr = vaddr, .memsz = memsz, .filesz = filesz, .flags = flags };
	s->mem = malloc(memsz ? memsz : 1);
	assert_non_null(s->mem);
	for (uint64_t i = 0; i < memsz; i++)
		s->mem[i] = pattern(vaddr + i);
	return s;
}

static uint8_t *core_at(struct core *c, uint64_t addr, size_t len)
{
	for (size_t i = 0; i < c->n_seg; i++) {
		struct seg *s = &c->seg[i];

		if (addr >= s->vaddr && addr - s->vaddr <= s->memsz &&
		    len <= s->memsz - (addr - s->vaddr))
			return s->mem + (addr - s->vaddr);
	}
	fail_msg("no segment holds 0x%llx", (unsigned long long)addr);
	return NULL;
}

static void core_poke_word(struct core *c, uint64_t addr, uint64_t v)
{
	elf_put_word(core_at(c, addr, c->word), c->word, v);
}

static size_t ehsize(const struct core *c)
{
	return elf_ehdr_size(c->cls);
}

static size_t phentsize(const struct core *c)
{
	return elf_phdr_size(c->cls);
}

/* A program header of c's class: PT_LOAD aligned to pages, the others to 4 bytes. */
static void write_phdr(const struct core *c, uint8_t *p, uint32_t type, uint32_t flags,
		       uint64_t offset, uint64_t vaddr, uint64_t filesz, uint64_t memsz)
{
	elf_put_phdr(p, c->cls, type, flags, offset, vaddr, filesz, memsz,
		     type == ELFCORE_PT_LOAD ? PAGE : 4);
}

/* Lays the core out in order: data first, then the headers over it (a segment at offset 0
 * shares its bytes with the header). */
static void core_build(struct core *c, enum order order)
{
	size_t hdr, off, note_ph = order == ORDER_NOTES_LAST ? c->n_seg : 0;

	c->phnum = 1 + c->n_seg;
	hdr = ehsize(c) + c->phnum * phentsize(c);
	if (order == ORDER_KERNEL) {
		c->notes_off = hdr;
		off = ALIGN_TO(hdr + c->notes_len, PAGE);
	} else {
		off = ALIGN_TO(hdr, PAGE);
	}
	for (size_t k = 0; k < c->n_seg; k++) {
		struct seg *s = &c->seg[order == ORDER_REVERSED ? c->n_seg - 1 - k : k];

		if (!s->fixed) {
			s->offset = off;
			off = ALIGN_TO(off + s->filesz, PAGE);
		}
	}
	if (order == ORDER_REVERSED) {
		c->notes_off = hdr;
		/* The notes must fit before the last-placed segment: move every segment up. */
		for (size_t i = 0; i < c->n_seg; i++)
			if (!c->seg[i].fixed)
				c->seg[i].offset += ALIGN_TO(c->notes_len, PAGE);
		off += ALIGN_TO(c->notes_len, PAGE);
	}
	if (order == ORDER_NOTES_LAST || order == ORDER_NOTES_AFTER)
		c->notes_off = off;
	c->len = MAX(off, c->notes_off + c->notes_len);
	for (size_t i = 0; i < c->n_seg; i++)
		c->len = MAX(c->len, c->seg[i].offset + c->seg[i].filesz);
	free(c->buf);
	c->buf = calloc(1, c->len);
	assert_non_null(c->buf);
	for (size_t i = 0; i < c->n_seg; i++)
		memcpy(c->buf + c->seg[i].offset, c->seg[i].mem, c->seg[i].filesz);
	if (c->notes_len)
		memcpy(c->buf + c->notes_off, c->notes, c->notes_len);
	elf_put_ehdr(c->buf, c->cls, c->machine, (uint16_t)c->phnum);
	for (size_t i = 0, k = 0; i < c->phnum; i++) {
		uint8_t *p = c->buf + ehsize(c) + i * phentsize(c);

		if (i == note_ph) {
			write_phdr(c, p, ELFCORE_PT_NOTE, 0, c->notes_off, 0, c->notes_len, 0);
		} else {
			const struct seg *s = &c->seg[k++];

			write_phdr(c, p, ELFCORE_PT_LOAD, s->flags, s->offset, s->vaddr, s->filesz,
				   s->memsz);
		}
	}
}

/* The byte the trimmer should keep at addr: the input's, or zero past the input's first avail
 * bytes. */
static uint8_t input_byte(const struct core *c, uint64_t addr, size_t avail)
{
	for (size_t i = 0; i < c->n_seg; i++) {
		const struct seg *s = &c->seg[i];

		if (addr >= s->vaddr && addr - s->vaddr < s->filesz) {
			uint64_t off = s->offset + (addr - s->vaddr);

			return off < avail ? c->buf[off] : 0;
		}
	}
	fail_msg("0x%llx is not in a dumped segment", (unsigned long long)addr);
	return 0;
}

/* The process's memory for the link_map walk: all of it, dumped or not. */
static int core_mem_read(void *userdata, uint64_t addr, void *buf, size_t len)
{
	const struct core *c = userdata;

	for (size_t i = 0; i < c->n_seg; i++) {
		const struct seg *s = &c->seg[i];

		if (addr >= s->vaddr && addr - s->vaddr <= s->memsz &&
		    len <= s->memsz - (addr - s->vaddr)) {
			memcpy(buf, s->mem + (addr - s->vaddr), len);
			return 0;
		}
	}
	return -EFAULT;
}

/*
 * The process the tests dump: a program, its data, a heap, a library of which the kernel dumped
 * the first page, another not dumped at all, a stack with three threads, the vDSO. The crashing
 * thread (100, signal 11) is the second note. With linkmap, the memory also holds the
 * program's headers, its dynamic section, r_debug and a link_map chain of three objects (the
 * second in the heap, the third in the library's undumped part).
 */
struct addrs {
	uint64_t exe, heap, lib, stack, vdso;
};

static const struct addrs addrs64 = { 0x400000, 0x600000, 0x7f0000000000ULL, 0x7ffd00000000ULL,
				      0x7ffe00000000ULL };
static const struct addrs addrs32 = { 0x10000, 0x200000, 0xb6f00000, 0xbe000000, 0xbeff0000 };

static const struct addrs *addrs_of(const struct core *c)
{
	return c->cls == 32 ? &addrs32 : &addrs64;
}

static void build_process(struct core *c, unsigned cls, uint16_t machine, bool linkmap)
{
	const struct addrs *a = cls == 32 ? &addrs32 : &addrs64;
	uint8_t filler[512];
	struct kv auxv[8];
	size_t n_auxv = 0;
	struct fmap files[] = {
		{ a->exe, a->exe + 0x3000, 0, "/usr/bin/prog" },
		{ a->exe + 0x3000, a->exe + 0x5000, 3, "/usr/bin/prog" },
		{ a->lib, a->lib + 0x4000, 0, "/lib/libfoo.so" },
		{ a->lib + 0x4000, a->lib + 0x5000, 0, "/lib/libbar.so" },
	};

	core_init(c, cls, machine);
	for (size_t i = 0; i < sizeof(filler); i++)
		filler[i] = (uint8_t)i;

	core_thread(c, 101, 0, a->stack + 0x4080);
	core_note(c, "CORE", ELFCORE_NT_PRPSINFO, filler, cls == 32 ? 124 : 136);
	core_note(c, "CORE", ELFCORE_NT_SIGINFO, filler, 128);
	auxv[n_auxv++] = (struct kv){ ELFCORE_AT_PAGESZ, PAGE };
	auxv[n_auxv++] = (struct kv){ ELFCORE_AT_SYSINFO_EHDR, a->vdso };
	auxv[n_auxv++] = (struct kv){ ELFCORE_AT_ENTRY, a->exe + 0x1040 };
	if (linkmap) {
		auxv[n_auxv++] = (struct kv){ ELFCORE_AT_PHDR, a->exe + ehsize(c) };
		auxv[n_auxv++] = (struct kv){ ELFCORE_AT_PHENT, phentsize(c) };
		auxv[n_auxv++] = (struct kv){ ELFCORE_AT_PHNUM, 3 };
	}
	core_auxv(c, auxv, n_auxv);
	core_files(c, files, ARRAY_SIZE(files));
	core_note(c, "CORE", 2 /* NT_FPREGSET */, filler, 512);
	core_note(c, "LINUX", 0x202 /* NT_X86_XSTATE */, filler, 500);
	core_thread(c, 100, 11, a->stack + 0x10010);
	core_note(c, "CORE", 2, filler, 512);
	core_thread(c, 102, 0, a->stack + 0x1f800);
	core_note(c, "CORE", 2, filler, 512);

	core_seg(c, a->exe, 0x3000, 0x3000, 5);
	core_seg(c, a->exe + 0x3000, 0x2000, 0x2000, 6);
	core_seg(c, a->heap, 0x4000, 0x4000, 6);
	core_seg(c, a->lib, 0x4000, 0x1000, 5);
	core_seg(c, a->lib + 0x4000, 0x1000, 0, 5);
	core_seg(c, a->stack, 0x20000, 0x20000, 6);
	core_seg(c, a->vdso, 0x2000, 0x2000, 5);

	if (linkmap) {
		unsigned w = c->word;
		uint64_t ph = a->exe + ehsize(c), pe = phentsize(c), rdebug = a->exe + 0x4100;
		uint64_t lm[3] = { a->exe + 0x4200, a->heap + 0x1ff0, a->lib + 0x2000 };
		uint64_t name[3] = { a->exe + 0x4300, a->heap + 0x3800, a->lib + 0x2100 };
		const char *names[3] = { "", "/lib/libfoo.so", "/lib/libbar.so" };

		/* The program's headers in its memory: p_vaddr and p_memsz matter. */
		elf_put_phdr(core_at(c, ph, pe), c->cls, PT_PHDR_, 0, 0, ehsize(c), 0, 0, 0);
		elf_put_phdr(core_at(c, ph + pe, pe), c->cls, ELFCORE_PT_LOAD, 0, 0, 0, 0, 0, 0);
		elf_put_phdr(core_at(c, ph + 2 * pe, pe), c->cls, PT_DYNAMIC_, 0, 0, 0x2e00, 0,
			     0x100, 0);
		core_poke_word(c, a->exe + 0x2e00, DT_DEBUG_);
		core_poke_word(c, a->exe + 0x2e00 + w, rdebug);
		core_poke_word(c, a->exe + 0x2e00 + 2 * w, 0);
		core_poke_word(c, rdebug, 1);
		core_poke_word(c, rdebug + w, lm[0]);
		for (int i = 0; i < 3; i++) {
			core_poke_word(c, lm[i] + w, name[i]);
			core_poke_word(c, lm[i] + 3 * w, i < 2 ? lm[i + 1] : 0);
			memcpy(core_at(c, name[i], strlen(names[i]) + 1), names[i],
			       strlen(names[i]) + 1);
		}
	}
}

struct want {
	uint64_t vaddr, len;
};

/* What build_process() keeps: each file's first page where dumped, the stack windows (the
 * crashing thread's 0x3000 above its SP, 0x1000 for the others, from 256 bytes below, clipped
 * to the dumped stack) and the vDSO. */
static size_t wants_process(const struct core *c, bool linkmap, struct want *w)
{
	const struct addrs *a = addrs_of(c);
	size_t n = 0;

	w[n++] = (struct want){ a->exe, 0x1000 };
	if (linkmap) {
		w[n++] = (struct want){ a->exe + 0x2000, 0x1000 };  /* the dynamic section */
		w[n++] = (struct want){ a->exe + 0x4000, 0x1000 };  /* r_debug, link_map, "" */
		w[n++] = (struct want){ a->heap + 0x1000, 0x3000 }; /* link_map, its name */
	}
	w[n++] = (struct want){ a->lib, 0x1000 };
	w[n++] = (struct want){ a->stack + 0x3000, 0x3000 };
	w[n++] = (struct want){ a->stack + 0xf000, 0x5000 };
	w[n++] = (struct want){ a->stack + 0x1f000, 0x1000 };
	w[n++] = (struct want){ a->vdso, 0x2000 };
	return n;
}

static struct ct_options opts_default(void)
{
	return (struct ct_options){
		.strategy = CT_STRATEGY_STACK,
		.native_class = 64,
		.stack_bytes = 0x1000,
		.crashing_stack_bytes = 0x3000,
		.max_notes_bytes = 64 * 1024,
		.full_max_bytes = 1 << 20,
		.crashing_tid = 100,
		.capture_json = CAPTURE,
	};
}

/* ---- Running the trimmer ---- */

enum feed {
	FEED_PIPE,    /* written by a child in odd-sized chunks, then closed */
	FEED_SOCKET,  /* the same through a stream socket (no splice) */
	FEED_FILE,    /* a regular file */
	FEED_FILE_AT, /* a regular file with other bytes before the core, opened at its start */
	FEED_STALL,   /* a pipe with the bytes in it and the write end kept open */
};

static const char *const feed_names[] = { "pipe", "socket", "file", "file at offset",
					  "stalled pipe" };

struct run {
	int r;
	struct ct_result res;
	char why[256];
	uint8_t *out;
	size_t out_len;
	uint64_t usec;
	uint64_t end_usec; /* when ct_trim() returned, on its clock (CLOCK_MONOTONIC) */
};

/* How many file descriptors the process has open: a run leaves the count as it found it. */
static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Writes buf into fd from a child process; the child closes its copy of the other end, so that
 * the trimmer's closing it ends the child's writes. */
static pid_t feeder(int fd, int other, const uint8_t *buf, size_t len)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		static const size_t chunks[] = { 1, 3, 4093, 7, 65536, 100, 12345 };
		size_t pos = 0;

		close(other);
		signal(SIGPIPE, SIG_IGN);
		for (unsigned i = 0; pos < len; i++) {
			ssize_t k = write(fd, buf + pos,
					  MIN(chunks[i % ARRAY_SIZE(chunks)], len - pos));

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				break; /* the trimmer stopped reading */
			pos += (size_t)k;
		}
		_exit(0);
	}
	return pid;
}

static int file_with(const char *name, const void *prefix, size_t prefix_len, const uint8_t *buf,
		     size_t len)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, prefix, prefix_len), (ssize_t)prefix_len);
	if (len)
		assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(lseek(fd, (off_t)prefix_len, SEEK_SET), (off_t)prefix_len);
	return fd;
}

/* Trims the len bytes of in, fed as feed says, into an uncompressed file capped at max_out. */
static void run_trim(const uint8_t *in, size_t len, enum feed feed, const struct ct_options *o,
		     uint64_t max_out, struct run *ret)
{
	static const char junk[777] = "not a core: the core starts after these bytes";
	struct cz_writer *w = NULL;
	struct ct_result sentinel;
	int in_fd = -1, keep = -1, out_fd;
	pid_t child = -1;
	uint64_t t0;
	struct stat st;
	unsigned fds = open_fds();

	memset(ret, 0, sizeof(*ret));
	memset(&ret->res, 0xa5, sizeof(ret->res));
	sentinel = ret->res;
	out_fd = file_with("out", "", 0, NULL, 0);
	assert_int_equal(cz_writer_new(out_fd, CZ_NONE, max_out, &w), 0);
	switch (feed) {
	case FEED_PIPE:
	case FEED_SOCKET:
	case FEED_STALL: {
		int p[2];

		if (feed == FEED_SOCKET)
			assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p), 0);
		else
			assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		in_fd = p[0];
		if (feed == FEED_STALL) {
			assert_true(len <= 65536); /* what a pipe holds without a reader */
			if (len)
				assert_int_equal(write(p[1], in, len), (ssize_t)len);
			keep = p[1];
		} else {
			child = feeder(p[1], p[0], in, len);
			close(p[1]);
		}
		break;
	}
	case FEED_FILE:
		in_fd = file_with("in", "", 0, in, len);
		break;
	case FEED_FILE_AT:
		in_fd = file_with("in", junk, sizeof(junk), in, len);
		break;
	}

	t0 = lc_clock_us(CLOCK_MONOTONIC);
	ret->r = ct_trim(in_fd, o, w, &ret->res, ret->why, sizeof(ret->why));
	ret->end_usec = lc_clock_us(CLOCK_MONOTONIC);
	ret->usec = ret->end_usec - t0;
	if (ret->r == 0)
		assert_int_equal(cz_finish(w), 0);
	else
		/* Untouched on failure. */
		assert_memory_equal(&ret->res, &sentinel, sizeof(sentinel));

	assert_int_equal(fstat(out_fd, &st), 0);
	ret->out_len = (size_t)st.st_size;
	ret->out = malloc(ret->out_len + 1);
	assert_non_null(ret->out);
	assert_int_equal(pread(out_fd, ret->out, ret->out_len, 0), (ssize_t)ret->out_len);
	if (ret->r == 0)
		assert_int_equal(cz_bytes_out(w), ret->out_len);

	close(in_fd);
	if (keep >= 0)
		close(keep);
	if (child > 0) {
		int status;

		assert_int_equal(waitpid(child, &status, 0), child);
	}
	cz_writer_free(w);
	close(out_fd);
	assert_int_equal(open_fds(), fds);
	if (ret->usec >= RUN_MAX_USEC)
		fail_msg("ct_trim() took %llu us on a %s", (unsigned long long)ret->usec,
			 feed_names[feed]);
}

static void run_free(struct run *r)
{
	free(r->out);
	r->out = NULL;
}

/* Expects a refusal with r and a why that contains phrase, from every feed given. */
static void expect_refused(const uint8_t *in, size_t len, const struct ct_options *o, int r,
			   const char *phrase)
{
	static const enum feed feeds[] = { FEED_PIPE, FEED_FILE };

	for (size_t f = 0; f < ARRAY_SIZE(feeds); f++) {
		struct run run;

		run_trim(in, len, feeds[f], o, 0, &run);
		if (run.r != r || !strstr(run.why, phrase))
			fail_msg("%s: expected %d \"...%s...\", got %d \"%s\"",
				 feed_names[feeds[f]], r, phrase, run.r, run.why);
		run_free(&run);
	}
}

/* ---- Reading the result back ---- */

static int64_t json_int(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		fail_msg("outcome has no integer \"%s\"", key);
	return json_object_get_int64(v);
}

/*
 * Checks the trimmed core of c in run: same class and machine; the first program header a note
 * segment with c's notes verbatim and the capture note; then exactly the PT_LOADs of want, each
 * page-aligned in the file, with the input's bytes (zero past avail); then the outcome note at
 * the end, whose JSON agrees with run->res. Returns the outcome's JSON (put it).
 */
static json_object *check_trimmed(const struct core *c, size_t avail, const struct run *run,
				  const struct want *want, size_t n_want, const char *capture)
{
	const uint8_t *out = run->out;
	struct elfcore_ehdr e;
	struct elfcore_phdr ph;
	struct elfcore_note_iter it;
	struct elfcore_note n;
	const char *why = NULL;
	size_t phtab, notes_len, capture_len = capture ? strlen(capture) : 0;
	uint64_t end, kept = 0;
	json_object *json, *v;
	char text[CT_OUTCOME_SIZE + 1];

	assert_int_equal(run->r, 0);
	assert_int_equal(elfcore_parse_ehdr(out, run->out_len, c->cls, &e, &why), 0);
	assert_int_equal(e.elf_class, c->cls);
	assert_int_equal(e.machine, c->machine);
	assert_int_equal(e.phoff, ehsize(c));
	assert_int_equal(e.phnum, n_want + 2);
	assert_int_equal(run->res.segments_out, n_want + 2);
	phtab = ehsize(c) + e.phnum * phentsize(c);
	assert_true(run->out_len >= phtab);

	/* The notes, verbatim, then the capture note. */
	assert_int_equal(elfcore_parse_phdr(&e, out + e.phoff, phtab - e.phoff, 0, &ph, &why), 0);
	assert_int_equal(ph.type, ELFCORE_PT_NOTE);
	assert_int_equal(ph.offset, phtab);
	notes_len = c->notes_len + (capture ? 12 + 8 + ALIGN4(capture_len) : 0);
	assert_int_equal(ph.filesz, notes_len);
	assert_true(ph.offset + ph.filesz <= run->out_len);
	assert_memory_equal(out + ph.offset, c->notes, c->notes_len);
	elfcore_note_iter_init(&it, out + ph.offset + c->notes_len, notes_len - c->notes_len);
	if (capture) {
		assert_int_equal(elfcore_note_next(&it, &n, &why), 1);
		assert_true(elfcore_note_is(&n, CT_NOTE_NAME, CT_NOTE_CAPTURE));
		assert_int_equal(n.descsz, capture_len);
		assert_memory_equal(n.desc, capture, capture_len);
	}
	assert_int_equal(elfcore_note_next(&it, &n, &why), 0);
	end = ph.offset + ph.filesz;

	/* The kept memory. */
	for (size_t i = 0; i < n_want; i++) {
		uint8_t *expect;

		assert_int_equal(
			elfcore_parse_phdr(&e, out + e.phoff, phtab - e.phoff, i + 1, &ph, &why),
			0);
		if (ph.type != ELFCORE_PT_LOAD || ph.vaddr != want[i].vaddr ||
		    ph.filesz != want[i].len || ph.memsz != want[i].len)
			fail_msg("segment %zu: type %u at 0x%llx, %llu bytes (%llu in memory); "
				 "expected PT_LOAD at 0x%llx, %llu bytes",
				 i, ph.type, (unsigned long long)ph.vaddr,
				 (unsigned long long)ph.filesz, (unsigned long long)ph.memsz,
				 (unsigned long long)want[i].vaddr,
				 (unsigned long long)want[i].len);
		assert_int_equal(ph.offset % PAGE, 0);
		assert_true(ph.offset >= end);
		assert_true(ph.offset + ph.filesz <= run->out_len);
		for (size_t s = 0; s < c->n_seg; s++)
			if (ph.vaddr >= c->seg[s].vaddr &&
			    ph.vaddr < c->seg[s].vaddr + c->seg[s].memsz)
				assert_int_equal(ph.flags, c->seg[s].flags);
		expect = malloc(want[i].len);
		assert_non_null(expect);
		for (uint64_t j = 0; j < want[i].len; j++)
			expect[j] = input_byte(c, want[i].vaddr + j, avail);
		if (memcmp(out + ph.offset, expect, want[i].len) != 0) {
			uint64_t j = 0;

			while (out[ph.offset + j] == expect[j])
				j++;
			fail_msg("segment %zu: byte at 0x%llx is 0x%02x, expected 0x%02x", i,
				 (unsigned long long)(want[i].vaddr + j), out[ph.offset + j],
				 expect[j]);
		}
		free(expect);
		end = ph.offset + ph.filesz;
		kept += want[i].len;
	}
	assert_int_equal(run->res.kept_bytes, kept);

	/* The outcome note, last. */
	assert_int_equal(
		elfcore_parse_phdr(&e, out + e.phoff, phtab - e.phoff, n_want + 1, &ph, &why), 0);
	assert_int_equal(ph.type, ELFCORE_PT_NOTE);
	assert_int_equal(ph.offset, ALIGN4(end));
	assert_int_equal(ph.filesz, 12 + 8 + CT_OUTCOME_SIZE);
	assert_int_equal(run->out_len, ph.offset + ph.filesz);
	elfcore_note_iter_init(&it, out + ph.offset, ph.filesz);
	assert_int_equal(elfcore_note_next(&it, &n, &why), 1);
	assert_true(elfcore_note_is(&n, CT_NOTE_NAME, CT_NOTE_OUTCOME));
	assert_int_equal(n.descsz, CT_OUTCOME_SIZE);
	assert_int_equal(elfcore_note_next(&it, &n, &why), 0);
	memcpy(text, out + ph.offset + 20, CT_OUTCOME_SIZE);
	text[CT_OUTCOME_SIZE] = 0;
	json = json_tokener_parse(text);
	if (!json)
		fail_msg("the outcome is not JSON: %s", text);
	assert_int_equal(json_int(json, "core_bytes"), run->res.core_bytes);
	assert_int_equal(json_int(json, "read_bytes"), run->res.read_bytes);
	assert_int_equal(json_int(json, "kept_bytes"), kept);
	assert_int_equal(json_int(json, "threads"), run->res.threads);
	assert_int_equal(json_int(json, "link_maps"), run->res.link_maps);
	assert_true(json_object_object_get_ex(json, "strategy", &v));
	assert_string_equal(json_object_get_string(v), "stack");
	assert_true(json_object_object_get_ex(json, "truncated", &v));
	if (run->res.truncated[0]) {
		assert_true(json_object_is_type(v, json_type_string));
		assert_string_equal(json_object_get_string(v), run->res.truncated);
	} else {
		assert_null(v);
	}
	return json;
}

/* ---- The layout of what is kept ---- */

static void check_process_run(const struct core *c, const struct run *run, bool linkmap_kept)
{
	struct want want[16];
	size_t n = wants_process(c, linkmap_kept, want);

	json_object_put(check_trimmed(c, c->len, run, want, n, CAPTURE));
	assert_int_equal(run->res.threads, 3);
	assert_int_equal(run->res.signal, 11);
	assert_int_equal(run->res.core_bytes, c->len);
	assert_int_equal(run->res.strategy, CT_STRATEGY_STACK);
	assert_string_equal(run->res.truncated, "");
}

static void test_kept_ranges(void **state)
{
	static const enum feed feeds[] = { FEED_PIPE, FEED_SOCKET, FEED_FILE, FEED_FILE_AT };
	struct ct_options o = opts_default();
	struct core c;

	build_process(&c, 64, EM_X86_64, false);
	core_build(&c, ORDER_KERNEL);
	for (size_t f = 0; f < ARRAY_SIZE(feeds); f++) {
		struct run run;

		run_trim(c.buf, c.len, feeds[f], &o, 0, &run);
		if (run.r != 0)
			fail_msg("%s: %d %s", feed_names[feeds[f]], run.r, run.why);
		check_process_run(&c, &run, false);
		assert_string_equal(run.res.arch, "x86_64");
		/* No AT_PHDR in the auxiliary vector: no walk. */
		assert_int_equal(run.res.link_maps, -ENODATA);
		/* The last byte read is the vDSO's last. */
		assert_int_equal(run.res.read_bytes, c.len);
		run_free(&run);
	}
	core_free(&c);
}

/* Without a capture note, the note segment is the input's notes alone. */
static void test_no_capture_note(void **state)
{
	struct ct_options o = opts_default();
	struct want want[16];
	struct run run;
	struct core c;
	size_t n;

	o.capture_json = NULL;
	build_process(&c, 64, EM_X86_64, false);
	core_build(&c, ORDER_KERNEL);
	n = wants_process(&c, false, want);
	run_trim(c.buf, c.len, FEED_PIPE, &o, 0, &run);
	json_object_put(check_trimmed(&c, c.len, &run, want, n, NULL));
	run_free(&run);
	core_free(&c);
}

/* The crashing thread is found by its id; an id that is absent (or 0) means the first. */
static void test_crashing_thread(void **state)
{
	const struct addrs *a = &addrs64;
	struct ct_options o = opts_default();
	struct core c;

	build_process(&c, 64, EM_X86_64, false);
	core_build(&c, ORDER_KERNEL);
	for (uint32_t tid = 0; tid <= 999; tid += 999) {
		struct want want[] = {
			{ a->exe, 0x1000 },
			{ a->lib, 0x1000 },
			{ a->stack + 0x3000, 0x5000 }, /* thread 101, SP 0x4080: 0x3000 above */
			{ a->stack + 0xf000, 0x3000 }, /* thread 100, SP 0x10010: 0x1000 above */
			{ a->stack + 0x1f000, 0x1000 },
			{ a->vdso, 0x2000 },
		};
		struct run run;

		o.crashing_tid = tid;
		run_trim(c.buf, c.len, FEED_PIPE, &o, 0, &run);
		json_object_put(check_trimmed(&c, c.len, &run, want, ARRAY_SIZE(want), CAPTURE));
		assert_int_equal(run.res.signal, 0); /* thread 101's */
		run_free(&run);
	}
	core_free(&c);
}

/* A stack window ends where the stack's mapping does, even when another dumped mapping follows
 * it directly. A pipe is read to its end (the kernel counts a core as dumped only when it could
 * write all of it), a file only as far as needed. */
static void test_stack_window_ends_at_mapping(void **state)
{
	const struct addrs *a = &addrs64;
	struct ct_options o = opts_default();
	struct want want[16];
	struct core c;
	size_t n;

	build_process(&c, 64, EM_X86_64, false);
	/* Right above the stack, after the vDSO in the file; thread 102's window (SP at
	 * stack + 0x1f800, 0x1000 above it) would reach 0x800 bytes into it. */
	core_seg(&c, a->stack + 0x20000, 0x2000, 0x2000, 6);
	core_build(&c, ORDER_KERNEL);
	n = wants_process(&c, false, want);
	for (enum feed f = FEED_PIPE; f <= FEED_FILE; f++) {
		struct run run;

		run_trim(c.buf, c.len, f, &o, 0, &run);
		json_object_put(check_trimmed(&c, c.len, &run, want, n, CAPTURE));
		if (f == FEED_FILE)
			assert_int_equal(run.res.read_bytes, c.seg[7].offset); /* the vDSO's end */
		else
			assert_int_equal(run.res.read_bytes, c.len);
		assert_string_equal(run.res.truncated, "");
		run_free(&run);
	}
	core_free(&c);
}

/* The link_map walk through the caller's memory: what it finds is kept where it was dumped. */
static void test_link_map_kept(void **state)
{
	struct ct_options o = opts_default();
	struct run run;
	struct core c;

	build_process(&c, 64, EM_X86_64, true);
	core_build(&c, ORDER_KERNEL);
	o.mem_read = core_mem_read;
	o.mem_userdata = &c;
	run_trim(c.buf, c.len, FEED_PIPE, &o, 0, &run);
	check_process_run(&c, &run, true);
	assert_int_equal(run.res.link_maps, 3);
	run_free(&run);

	/* A saved core: the walk reads the core file itself. The third object's entry was not
	 * dumped; its range is reported but outside the dump, so nothing more is kept. */
	o.mem_read = NULL;
	run_trim(c.buf, c.len, FEED_FILE, &o, 0, &run);
	check_process_run(&c, &run, true);
	assert_int_equal(run.res.link_maps, 3);
	run_free(&run);
	run_trim(c.buf, c.len, FEED_FILE_AT, &o, 0, &run);
	check_process_run(&c, &run, true);
	assert_int_equal(run.res.link_maps, 3);
	run_free(&run);

	/* A pipe and no memory: no walk, nothing of the chain kept. */
	run_trim(c.buf, c.len, FEED_PIPE, &o, 0, &run);
	check_process_run(&c, &run, false);
	assert_int_equal(run.res.link_maps, -ENODATA);
	run_free(&run);
	core_free(&c);
}

static void test_other_arches(void **state)
{
	struct ct_options o = opts_default();
	struct run run;
	struct core c;

	build_process(&c, 64, EM_AARCH64, true);
	core_build(&c, ORDER_KERNEL);
	run_trim(c.buf, c.len, FEED_FILE, &o, 0, &run);
	check_process_run(&c, &run, true);
	assert_string_equal(run.res.arch, "aarch64");
	run_free(&run);
	core_free(&c);

	/* A 32-bit core where 32-bit processes are followed, through a pipe and from a file. */
	o.native_class = 32;
	build_process(&c, 32, EM_ARM, true);
	core_build(&c, ORDER_KERNEL);
	o.mem_read = core_mem_read;
	o.mem_userdata = &c;
	run_trim(c.buf, c.len, FEED_PIPE, &o, 0, &run);
	check_process_run(&c, &run, true);
	assert_string_equal(run.res.arch, "arm");
	assert_int_equal(run.res.link_maps, 3);
	run_free(&run);
	o.mem_read = NULL;
	run_trim(c.buf, c.len, FEED_FILE, &o, 0, &run);
	check_process_run(&c, &run, true);
	run_free(&run);

	/* ... and refused on a 64-bit host. */
	o.native_class = 64;
	expect_refused(c.buf, c.len, &o, -EINVAL, "a 32-bit core on a 64-bit host");
	core_free(&c);
}

/* ---- Order: pipes need the kernel's, files take any ---- */

static void test_file_order(void **state)
{
	static const enum order orders[] = { ORDER_NOTES_LAST, ORDER_NOTES_AFTER, ORDER_REVERSED };
	static const char *const refusals[] = {
		"a note segment after memory segments",
		"only cores in file order can be read in one pass",
		"only cores in file order can be read in one pass",
	};
	struct ct_options o = opts_default();

	for (size_t i = 0; i < ARRAY_SIZE(orders); i++) {
		struct run run;
		struct core c;

		build_process(&c, 64, EM_X86_64, true);
		core_build(&c, orders[i]);
		run_trim(c.buf, c.len, FEED_PIPE, &o, 0, &run);
		assert_int_equal(run.r, -EINVAL);
		if (!strstr(run.why, refusals[i]))
			fail_msg("order %zu: %s", i, run.why);
		assert_non_null(strstr(run.why, "program header "));
		run_free(&run);

		/* A saved core in the same order, with the walk reading the file. */
		run_trim(c.buf, c.len, FEED_FILE, &o, 0, &run);
		if (run.r != 0)
			fail_msg("order %zu: %d %s", i, run.r, run.why);
		check_process_run(&c, &run, true);
		run_free(&run);
		core_free(&c);
	}
}

/* A saved core in gcore's order cut before or within its notes (they come last): refused as
 * such, not read from elsewhere in the file. */
static void test_saved_core_cut_before_notes(void **state)
{
	struct ct_options o = opts_default();
	struct core c;

	build_process(&c, 64, EM_X86_64, false);
	core_build(&c, ORDER_NOTES_LAST);
	for (int k = 0; k < 3; k++) {
		size_t avail = k == 0 ? c.notes_off + 10 : k == 1 ? c.notes_off : c.notes_off - 100;
		char expect[128];
		struct run run;

		run_trim(c.buf, avail, FEED_FILE, &o, 0, &run);
		snprintf(expect, sizeof(expect), "the core ends within its notes, at byte %zu",
			 avail);
		if (run.r != -EINVAL || strcmp(run.why, expect) != 0)
			fail_msg("cut at %zu: expected \"%s\", got %d \"%s\"", avail, expect, run.r,
				 run.why);
		run_free(&run);
	}
	core_free(&c);
}

/* Segments sharing bytes of the file, or pointing back into its headers: refused on a pipe;
 * from a file each kept byte is the file's at the offset its header names. */
static void test_overlapping_segments(void **state)
{
	const struct addrs *a = &addrs64;
	struct ct_options o = opts_default();
	struct want want[16];
	size_t n;

	for (int k = 0; k < 2; k++) {
		struct run run;
		struct core c;

		build_process(&c, 64, EM_X86_64, false);
		core_build(&c, ORDER_KERNEL);
		/* The vDSO's header names the stack's first bytes, or the core's first. */
		c.seg[6].fixed = true;
		c.seg[6].offset = k == 0 ? c.seg[5].offset : 0;
		core_build(&c, ORDER_KERNEL);
		assert_int_equal(c.seg[6].offset, k == 0 ? c.seg[5].offset : 0);
		if (k == 1)
			assert_memory_equal(c.buf, "\177ELF", 4);

		run_trim(c.buf, c.len, FEED_PIPE, &o, 0, &run);
		assert_int_equal(run.r, -EINVAL);
		assert_non_null(strstr(run.why, "is not after the previous segment's end"));
		run_free(&run);

		run_trim(c.buf, c.len, FEED_FILE, &o, 0, &run);
		n = wants_process(&c, false, want);
		assert_int_equal(want[n - 1].vaddr, a->vdso);
		json_object_put(check_trimmed(&c, c.len, &run, want, n, CAPTURE));
		assert_string_equal(run.res.truncated, "");
		run_free(&run);
		core_free(&c);
	}
}

/* ---- Inputs that end early ---- */

/*
 * What a saved core of avail bytes keeps of want (n windows): the bytes it holds, each window
 * shortened where the file ends and left out when nothing of it is there (never zeros for the
 * rest). Returns how many windows are left, with the first missing byte's address in
 * *ret_missing.
 */
static size_t clip_to_file(const struct core *c, size_t avail, const struct want *want, size_t n,
			   struct want *ret, uint64_t *ret_missing)
{
	uint64_t first_missing = 0;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		ret[k] = want[i];
		for (size_t s = 0; s < c->n_seg; s++) {
			const struct seg *g = &c->seg[s];
			uint64_t in_off;

			if (want[i].vaddr < g->vaddr || want[i].vaddr - g->vaddr >= g->filesz)
				continue;
			in_off = g->offset + (want[i].vaddr - g->vaddr);
			if (in_off + want[i].len > avail) {
				ret[k].len = in_off >= avail ? 0 : avail - in_off;
				if (!first_missing)
					first_missing = want[i].vaddr + ret[k].len;
			}
		}
		if (ret[k].len > 0)
			k++;
	}
	*ret_missing = first_missing;
	return k;
}

static void test_core_ends_in_memory(void **state)
{
	static const enum feed feeds[] = { FEED_PIPE, FEED_SOCKET, FEED_FILE };
	const struct addrs *a = &addrs64;
	struct ct_options o = opts_default();
	struct want want[16];
	struct core c;
	size_t n;

	build_process(&c, 64, EM_X86_64, false);
	core_build(&c, ORDER_KERNEL);
	n = wants_process(&c, false, want);
	for (int k = 0; k < 3; k++) {
		/* Within the crashing thread's window, before the first stack window, one byte
		 * short of the end. */
		size_t avail = k == 0	? c.seg[5].offset + 0x11010
			       : k == 1 ? c.seg[5].offset + 0x1000
					: c.len - 1;
		uint64_t first_missing = k == 0	  ? a->stack + 0xf000
					 : k == 1 ? a->stack + 0x3000
						  : a->vdso;

		for (size_t f = 0; f < ARRAY_SIZE(feeds); f++) {
			struct want clipped[16];
			uint64_t missing = first_missing;
			size_t n_clipped = n;
			char expect[160];
			struct run run;

			/* A pipe's end is found while copying: the rest is zeros. A saved core's is
			 * known before: its windows end with its bytes. */
			memcpy(clipped, want, sizeof(want));
			if (feeds[f] == FEED_FILE)
				n_clipped = clip_to_file(&c, avail, want, n, clipped, &missing);
			run_trim(c.buf, avail, feeds[f], &o, 0, &run);
			if (run.r != 0)
				fail_msg("%s: %d %s", feed_names[feeds[f]], run.r, run.why);
			json_object_put(
				check_trimmed(&c, avail, &run, clipped, n_clipped, CAPTURE));
			snprintf(expect, sizeof(expect),
				 "the core ends at byte %zu, before the memory at 0x%llx "
				 "(declared size %zu)",
				 avail, (unsigned long long)missing, c.len);
			assert_true(run.res.missing_bytes > 0);
			assert_string_equal(run.res.truncated, expect);
			assert_int_equal(run.res.core_bytes, c.len);
			/* A saved core is not read past the last byte it holds of a window. */
			if (feeds[f] == FEED_FILE)
				assert_true(run.res.read_bytes <= avail);
			else
				assert_int_equal(run.res.read_bytes, avail);
			run_free(&run);
		}
	}
	core_free(&c);
}

/* A segment that claims a petabyte of file: only the kept window is read, up to the input's
 * end. */
static void test_huge_segment(void **state)
{
	const struct addrs *a = &addrs64;
	struct ct_options o = opts_default();
	struct want want[16];
	struct core c;
	size_t n;

	build_process(&c, 64, EM_X86_64, false);
	core_build(&c, ORDER_KERNEL);
	/* The vDSO's header (the last) now says 2^50 bytes in the file and in memory. */
	write_phdr(&c, c.buf + 64 + 7 * 56, ELFCORE_PT_LOAD, 5, c.seg[6].offset, c.seg[6].vaddr,
		   1ULL << 50, 1ULL << 50);
	c.seg[6].filesz = 1ULL << 50; /* for input_byte(): zero past the input's end */
	n = wants_process(&c, false, want);
	want[n - 1].len = 64 * 1024; /* the vDSO's cap */
	for (enum feed f = FEED_PIPE; f <= FEED_FILE; f++) {
		struct want clipped[16];
		uint64_t missing = a->vdso;
		size_t n_clipped = n;
		char expect[160];
		struct run run;

		memcpy(clipped, want, sizeof(want));
		if (f == FEED_FILE)
			n_clipped = clip_to_file(&c, c.len, want, n, clipped, &missing);
		run_trim(c.buf, c.len, f, &o, 0, &run);
		json_object_put(check_trimmed(&c, c.len, &run, clipped, n_clipped, CAPTURE));
		snprintf(expect, sizeof(expect),
			 "the core ends at byte %zu, before the memory at 0x%llx (declared size "
			 "%llu)",
			 c.len, (unsigned long long)missing,
			 (unsigned long long)(c.seg[6].offset + (1ULL << 50)));
		assert_string_equal(run.res.truncated, expect);
		assert_int_equal(run.res.core_bytes, c.seg[6].offset + (1ULL << 50));
		run_free(&run);
	}
	core_free(&c);
}

/* Stack pointers at the ends of the address space, or outside any segment. */
static void test_odd_stack_pointers(void **state)
{
	const struct addrs *a = &addrs64;
	struct ct_options o = opts_default();
	struct want want[] = {
		{ a->exe, 0x1000 },
		{ a->lib, 0x1000 },
		{ a->stack + 0x3000, 0x3000 },
		{ a->stack + 0xf000, 0x5000 },
		{ a->vdso, 0x2000 },
	};
	static const uint64_t sps[] = { UINT64_MAX, UINT64_MAX - 300, 0, 100, 0x123456789000ULL };
	struct run run;
	struct core c;

	build_process(&c, 64, EM_X86_64, false);
	/* Thread 102's note is the second last: rewrite its stack pointer. */
	for (size_t i = 0; i < ARRAY_SIZE(sps); i++) {
		struct elfcore_note_iter it;
		struct elfcore_note note;
		const char *why = NULL;
		unsigned threads = 0;

		elfcore_note_iter_init(&it, c.notes, c.notes_len);
		while (elfcore_note_next(&it, &note, &why) > 0)
			if (elfcore_note_is(&note, "CORE", ELFCORE_NT_PRSTATUS) && ++threads == 3)
				elf_put64((uint8_t *)note.desc + 112 + 19 * 8, sps[i]);
		core_build(&c, ORDER_KERNEL);
		run_trim(c.buf, c.len, FEED_PIPE, &o, 0, &run);
		json_object_put(check_trimmed(&c, c.len, &run, want, ARRAY_SIZE(want), CAPTURE));
		assert_int_equal(run.res.threads, 3);
		run_free(&run);
	}
	core_free(&c);
}

/* ---- Refusals ---- */

static void test_not_a_core(void **state)
{
	struct ct_options o = opts_default();
	struct core c;

	expect_refused((const uint8_t *)"", 0, &o, -EINVAL, "the input is empty");
	expect_refused((const uint8_t *)"hello, this is not a core file\n", 31, &o, -EINVAL,
		       "not an ELF file");
	expect_refused((const uint8_t *)"\177EL", 3, &o, -EINVAL, "not an ELF file");

	build_process(&c, 64, EM_X86_64, false);
	core_build(&c, ORDER_KERNEL);
	/* Every length inside the ELF header. */
	for (size_t len = 5; len < 64; len += 7)
		expect_refused(c.buf, len, &o, -EINVAL, "the core ends within its ELF header");
	/* Not a core: an executable's header. */
	elf_put16(c.buf + 16, 2);
	expect_refused(c.buf, c.len, &o, -EINVAL, "not a core file");
	elf_put16(c.buf + 16, 4);
	c.buf[5] = 2;
	expect_refused(c.buf, c.len, &o, -EINVAL, "big-endian cores are not supported");
	core_free(&c);
}

static void test_truncated_headers(void **state)
{
	struct ct_options o = opts_default();
	char phrase[128];
	struct core c;

	build_process(&c, 64, EM_X86_64, false);
	core_build(&c, ORDER_KERNEL);
	assert_int_equal(c.phnum, 8);
	expect_refused(c.buf, 64, &o, -EINVAL,
		       "the core ends within its program headers (0 of 448 bytes)");
	expect_refused(c.buf, 164, &o, -EINVAL,
		       "the core ends within its program headers (100 of 448 bytes)");
	snprintf(phrase, sizeof(phrase), "the core ends within its notes, at byte %llu",
		 (unsigned long long)c.notes_off + 100);
	expect_refused(c.buf, c.notes_off + 100, &o, -EINVAL, phrase);
	expect_refused(c.buf, c.notes_off + c.notes_len - 1, &o, -EINVAL,
		       "the core ends within its notes");
	core_free(&c);
}

/* A header that claims 60000 program headers, on a short input; or a table far away. */
static void test_many_program_headers(void **state)
{
	struct ct_options o = opts_default();
	size_t len = 64 + 1000;
	uint8_t *buf = calloc(1, len);
	struct core c;

	assert_non_null(buf);
	core_init(&c, 64, EM_X86_64);
	elf_put_ehdr(buf, c.cls, c.machine, 60000);
	memset(buf + 64, 0x5a, 1000);
	expect_refused(buf, len, &o, -EINVAL,
		       "the core ends within its program headers (1000 of 3360000 bytes)");
	/* e_phoff far past the input's end: reached on a file by a seek, on a pipe by reading
	 * to the end. */
	elf_put_ehdr(buf, c.cls, c.machine, 8);
	elf_put64(buf + 32, 1ULL << 40);
	expect_refused(buf, len, &o, -EINVAL,
		       "the core ends within its program headers (0 of 448 bytes)");
	/* PN_XNUM: the real count would be elsewhere. */
	elf_put_ehdr(buf, c.cls, c.machine, 0xffff);
	expect_refused(buf, len, &o, -EINVAL, "too many program headers (PN_XNUM)");
	free(buf);
	core_free(&c);
}

static void test_notes_too_big(void **state)
{
	struct ct_options o = opts_default();
	struct core c;

	build_process(&c, 64, EM_X86_64, false);
	core_build(&c, ORDER_KERNEL);
	o.max_notes_bytes = 1024;
	expect_refused(c.buf, c.len, &o, -E2BIG, "the notes exceed max_notes_kib (1 KiB)");
	/* Exactly the notes' size is enough. */
	o.max_notes_bytes = c.notes_len;
	{
		struct run run;

		run_trim(c.buf, c.len, FEED_PIPE, &o, 0, &run);
		check_process_run(&c, &run, false);
		run_free(&run);
	}
	o.max_notes_bytes = c.notes_len - 1;
	expect_refused(c.buf, c.len, &o, -E2BIG, "the notes exceed max_notes_kib");
	core_free(&c);
}

static void test_bad_notes(void **state)
{
	struct ct_options o = opts_default();
	uint8_t desc[4096] = {};
	struct core c;

	/* No notes at all. */
	core_init(&c, 64, EM_X86_64);
	core_seg(&c, 0x400000, 0x1000, 0x1000, 5);
	core_build(&c, ORDER_KERNEL);
	expect_refused(c.buf, c.len, &o, -EINVAL, "the core has no notes");
	core_free(&c);

	/* Notes, but no thread's registers. */
	core_init(&c, 64, EM_X86_64);
	core_note(&c, "CORE", ELFCORE_NT_PRPSINFO, desc, 136);
	core_note(&c, "LINUX", ELFCORE_NT_PRSTATUS, desc, 336); /* wrong owner */
	core_seg(&c, 0x400000, 0x1000, 0x1000, 5);
	core_build(&c, ORDER_KERNEL);
	expect_refused(c.buf, c.len, &o, -EINVAL, "the core has no NT_PRSTATUS note");
	core_free(&c);

	/* NT_PRSTATUS of another architecture's size. */
	core_init(&c, 64, EM_X86_64);
	core_note(&c, "CORE", ELFCORE_NT_PRSTATUS, desc, 392);
	core_build(&c, ORDER_KERNEL);
	expect_refused(
		c.buf, c.len, &o, -EINVAL,
		"NT_PRSTATUS note of thread 0: NT_PRSTATUS is not the size of an x86_64 one");
	core_free(&c);

	/* A note whose descriptor runs past its segment. */
	build_process(&c, 64, EM_X86_64, false);
	elf_put32(c.notes + 4, 0x7fffffff);
	core_build(&c, ORDER_KERNEL);
	expect_refused(c.buf, c.len, &o, -EINVAL,
		       "notes: note descriptor runs past the end of the notes");
	core_free(&c);

	/* NT_FILE with a count that would need exabytes, and with an unterminated name. */
	for (int k = 0; k < 2; k++) {
		core_init(&c, 64, EM_X86_64);
		core_thread(&c, 100, 11, 0x7ffd00001000ULL);
		if (k == 0) {
			elf_put64(desc, 1ULL << 62);
			elf_put64(desc + 8, PAGE);
			core_note(&c, "CORE", ELFCORE_NT_FILE, desc, 16 + 24);
		} else {
			elf_put64(desc, 1);
			elf_put64(desc + 8, PAGE);
			elf_put64(desc + 16, 0x400000);
			elf_put64(desc + 24, 0x401000);
			elf_put64(desc + 32, 0);
			memcpy(desc + 40, "/usr/bin/x", 10);
			core_note(&c, "CORE", ELFCORE_NT_FILE, desc, 40 + 10);
		}
		core_seg(&c, 0x400000, 0x1000, 0x1000, 5);
		core_build(&c, ORDER_KERNEL);
		expect_refused(
			c.buf, c.len, &o, -EINVAL,
			k == 0 ? "NT_FILE note: NT_FILE's mapping count does not fit the note"
			       : "NT_FILE note: NT_FILE name is not terminated");
		core_free(&c);
	}

	/* A malformed auxiliary vector is no refusal: the vDSO and the walk are skipped. */
	build_process(&c, 64, EM_X86_64, false);
	{
		struct elfcore_note_iter it;
		struct elfcore_note note;
		const char *why = NULL;
		const struct addrs *a = &addrs64;
		struct want want[] = {
			{ a->exe, 0x1000 },
			{ a->lib, 0x1000 },
			{ a->stack + 0x3000, 0x3000 },
			{ a->stack + 0xf000, 0x5000 },
			{ a->stack + 0x1f000, 0x1000 },
		};
		struct run run;

		elfcore_note_iter_init(&it, c.notes, c.notes_len);
		while (elfcore_note_next(&it, &note, &why) > 0)
			if (elfcore_note_is(&note, "CORE", ELFCORE_NT_AUXV))
				memset((uint8_t *)note.desc, 0xff, note.descsz); /* no AT_NULL */
		core_build(&c, ORDER_KERNEL);
		run_trim(c.buf, c.len, FEED_PIPE, &o, 0, &run);
		json_object_put(check_trimmed(&c, c.len, &run, want, ARRAY_SIZE(want), CAPTURE));
		run_free(&run);
	}
	core_free(&c);
}

/* ---- Time and output limits ---- */

static void test_deadline(void **state)
{
	struct ct_options o = opts_default();
	struct want want[16];
	struct run run;
	struct core c;
	size_t n;

	/* A pipe that never gets a byte. */
	o.deadline_usec = lc_clock_us(CLOCK_MONOTONIC) + 50000;
	run_trim(NULL, 0, FEED_STALL, &o, 0, &run);
	assert_int_equal(run.r, -EINVAL);
	assert_string_equal(run.why, "time limit reached before the core began");
	/* It waited for the deadline, whatever setting up the run took (much longer under qemu). */
	assert_true(run.end_usec >= o.deadline_usec);
	assert_true(run.usec < 1000000);
	run_free(&run);

	/* A deadline already passed, with the whole header waiting. */
	build_process(&c, 64, EM_X86_64, false);
	core_build(&c, ORDER_KERNEL);
	o.deadline_usec = lc_clock_us(CLOCK_MONOTONIC) - 1;
	run_trim(c.buf, 4096, FEED_STALL, &o, 0, &run);
	assert_int_equal(run.r, -EINVAL);
	assert_non_null(strstr(run.why, "time limit reached"));
	assert_true(run.usec < 1000000);
	run_free(&run);

	/* Stalled within the notes. */
	o.deadline_usec = lc_clock_us(CLOCK_MONOTONIC) + 50000;
	run_trim(c.buf, c.notes_off + 100, FEED_STALL, &o, 0, &run);
	assert_int_equal(run.r, -EINVAL);
	assert_string_equal(run.why, "time limit reached while reading the core's headers");
	assert_true(run.usec < 1000000);
	run_free(&run);

	/* Stalled within the memory, inside a kept window (read) or between two (skipped): a
	 * valid core, cut there. */
	for (int k = 0; k < 2; k++) {
		size_t avail = k == 0 ? c.seg[0].offset + 0x800 : c.seg[5].offset + 0x1000;
		char expect[160];

		assert_true(avail <= 65536);
		o.deadline_usec = lc_clock_us(CLOCK_MONOTONIC) + 50000;
		run_trim(c.buf, avail, FEED_STALL, &o, 0, &run);
		n = wants_process(&c, false, want);
		json_object_put(check_trimmed(&c, avail, &run, want, n, CAPTURE));
		snprintf(expect, sizeof(expect), "time limit reached at byte %zu of the core",
			 avail);
		assert_string_equal(run.res.truncated, expect);
		assert_int_equal(run.res.read_bytes, avail);
		assert_true(run.end_usec >= o.deadline_usec);
		assert_true(run.usec < 1000000);
		run_free(&run);
	}
	core_free(&c);

	/* The full strategy stops at the deadline too, with what it had. */
	build_process(&c, 64, EM_RISCV, false);
	core_build(&c, ORDER_KERNEL);
	o.deadline_usec = lc_clock_us(CLOCK_MONOTONIC) + 50000;
	run_trim(c.buf, 20000, FEED_STALL, &o, 0, &run);
	assert_int_equal(run.r, 0);
	assert_int_equal(run.res.strategy, CT_STRATEGY_FULL);
	assert_int_equal(run.out_len, 20000);
	assert_memory_equal(run.out, c.buf, 20000);
	assert_string_equal(run.res.truncated, "time limit reached after 20000 bytes");
	assert_true(run.usec < 1000000);
	run_free(&run);
	core_free(&c);
}

static void test_output_cap(void **state)
{
	static const uint64_t caps[] = { 1, 100, 4096, 20000 };
	struct ct_options o = opts_default();
	struct core c;

	build_process(&c, 64, EM_X86_64, false);
	core_build(&c, ORDER_KERNEL);
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
		struct run run;

		run_trim(c.buf, c.len, FEED_PIPE, &o, caps[i], &run);
		assert_int_equal(run.r, -EFBIG);
		assert_true(run.out_len <= caps[i]);
		run_free(&run);
	}
	/* The size of the whole result is enough. */
	{
		struct run run, capped;

		run_trim(c.buf, c.len, FEED_FILE, &o, 0, &run);
		assert_int_equal(run.r, 0);
		run_trim(c.buf, c.len, FEED_FILE, &o, run.out_len, &capped);
		assert_int_equal(capped.r, 0);
		assert_int_equal(capped.out_len, run.out_len);
		assert_memory_equal(capped.out, run.out, run.out_len);
		run_free(&capped);
		run_trim(c.buf, c.len, FEED_FILE, &o, run.out_len - 1, &capped);
		assert_int_equal(capped.r, -EFBIG);
		run_free(&capped);
		run_free(&run);
	}
	core_free(&c);
}

/* ---- The full strategy ---- */

/* Whether the trimmed core has a PT_LOAD holding all of [start, end). */
static bool kept_covers(const struct run *run, unsigned cls, uint64_t start, uint64_t end)
{
	struct elfcore_ehdr e;
	const char *why = NULL;

	assert_int_equal(elfcore_parse_ehdr(run->out, run->out_len, cls, &e, &why), 0);
	for (size_t i = 0; i < e.phnum; i++) {
		struct elfcore_phdr ph;

		assert_int_equal(elfcore_parse_phdr(&e, run->out + e.phoff, run->out_len - e.phoff,
						    i, &ph, &why),
				 0);
		if (ph.type == ELFCORE_PT_LOAD && ph.vaddr <= start && ph.vaddr + ph.filesz >= end)
			return true;
	}
	return false;
}

/* A thread that overflowed its stack: its stack pointer in the guard page (not dumped, no
 * access) right under its stack keeps the window from the stack's first byte upward. */
static void test_stack_pointer_in_guard_page(void **state)
{
	const uint64_t s = addrs64.stack;
	struct ct_options o = opts_default();
	struct run run;
	struct core c;

	core_init(&c, 64, EM_X86_64);
	core_thread(&c, 100, 11, s + 0xf80);
	core_thread(&c, 101, 0, s + 0x10ff8); /* at the very edge of another thread's stack */
	core_seg(&c, s, 0x1000, 0, 0);
	core_seg(&c, s + 0x1000, 0x8000, 0x8000, 6);
	core_seg(&c, s + 0x10000, 0x1000, 0, 0);
	core_seg(&c, s + 0x11000, 0x8000, 0x8000, 6);
	core_build(&c, ORDER_KERNEL);
	for (enum feed f = FEED_PIPE; f <= FEED_FILE; f++) {
		run_trim(c.buf, c.len, f, &o, 0, &run);
		assert_int_equal(run.r, 0);
		assert_true(kept_covers(&run, 64, s + 0x1000, s + 0x4000));
		assert_true(kept_covers(&run, 64, s + 0x11000, s + 0x12000));
		assert_int_equal(run.res.kept_bytes, 0x3000 + 0x1000);
		run_free(&run);
	}
	core_free(&c);
}

/* A thread on an alternate signal stack: its handler's frames up to that stack's end, and the
 * stack the signal interrupted, found through the ucontext the kernel wrote (x86_64's and
 * aarch64's layouts), read from the process or from a saved core; without memory to read, only
 * the handler's. */
static void test_alternate_signal_stack(void **state)
{
	static const struct {
		uint16_t machine;
		size_t sp_at;
	} arches[] = { { EM_X86_64, 160 }, { EM_AARCH64, 432 } };
	const uint64_t s = addrs64.stack, alt = addrs64.heap;

	for (size_t k = 0; k < ARRAY_SIZE(arches); k++) {
		struct ct_options o = opts_default();
		uint64_t u = alt + 0x3000;
		struct run run;
		struct core c;

		core_init(&c, 64, arches[k].machine);
		core_thread(&c, 100, 11, alt + 0x1000);
		core_seg(&c, s + 0x1000, 0x8000, 0x8000, 6);
		core_seg(&c, alt, 0x4000, 0x4000, 6);
		core_seg(&c, alt + 0x4000, 0x8000, 0x8000, 6); /* more heap above it */
		core_poke_word(&c, u, 0);		       /* uc_flags */
		core_poke_word(&c, u + 8, 0);		       /* uc_link */
		core_poke_word(&c, u + 16, alt);	       /* uc_stack.ss_sp */
		core_poke_word(&c, u + 24, 0);		       /* ss_flags: not on it before */
		core_poke_word(&c, u + 32, 0x4000);	       /* ss_size */
		core_poke_word(&c, u + arches[k].sp_at, s + 0x5010);
		core_build(&c, ORDER_KERNEL);

		o.mem_read = core_mem_read;
		o.mem_userdata = &c;
		run_trim(c.buf, c.len, FEED_PIPE, &o, 0, &run);
		assert_int_equal(run.r, 0);
		assert_int_equal(run.res.sigframes, 1);
		assert_true(kept_covers(&run, 64, alt + 0x1000, alt + 0x4000));
		assert_true(kept_covers(&run, 64, s + 0x4000, s + 0x8010));
		/* Not the heap above the alternate stack. */
		assert_false(kept_covers(&run, 64, alt + 0x4000, alt + 0x5000));
		run_free(&run);

		o.mem_read = NULL;
		run_trim(c.buf, c.len, FEED_FILE, &o, 0, &run);
		assert_int_equal(run.res.sigframes, 1);
		assert_true(kept_covers(&run, 64, s + 0x4000, s + 0x8010));
		run_free(&run);

		run_trim(c.buf, c.len, FEED_PIPE, &o, 0, &run);
		assert_int_equal(run.res.sigframes, 0);
		assert_false(kept_covers(&run, 64, s + 0x4000, s + 0x5000));
		run_free(&run);
		core_free(&c);
	}
}

static int mem_read_forbidden(void *userdata, uint64_t addr, void *buf, size_t len)
{
	(void)addr;
	(void)buf;
	(void)len;
	(*(unsigned *)userdata)++;
	return -EFAULT;
}

/* A pid given by hand that is not the core's: the caller's memory is never read, the saved
 * core's is, and the unverified capture note replaces the one read for that pid. */
static void test_pid_mismatch(void **state)
{
	static const char unverified[] = "{\"unverified\": true}";
	/* build_process()'s NT_PRPSINFO holds bytes 0, 1, 2...: pr_pid (at 24) is 0x1b1a1918. */
	const uint32_t pid = 0x1b1a1918;
	struct ct_options o = opts_default();
	unsigned calls = 0;
	struct run run;
	struct core c;

	build_process(&c, 64, EM_X86_64, true);
	core_build(&c, ORDER_KERNEL);
	o.mem_read = mem_read_forbidden;
	o.mem_userdata = &calls;
	o.unverified_capture_json = unverified;

	o.expected_pid = pid + 1;
	run_trim(c.buf, c.len, FEED_FILE, &o, 0, &run);
	assert_int_equal(run.r, 0);
	assert_true(run.res.pid_mismatch);
	assert_int_equal(calls, 0);
	assert_int_equal(run.res.link_maps, 3); /* from the saved core */
	assert_non_null(memmem(run.out, run.out_len, unverified, strlen(unverified)));
	assert_null(memmem(run.out, run.out_len, CAPTURE, strlen(CAPTURE)));
	assert_non_null(memmem(run.out, run.out_len, "\"pid_mismatch\": true", 20));
	run_free(&run);

	o.expected_pid = pid;
	run_trim(c.buf, c.len, FEED_FILE, &o, 0, &run);
	assert_false(run.res.pid_mismatch);
	assert_int_equal(run.res.core_pid, pid);
	assert_true(calls > 0);
	assert_non_null(memmem(run.out, run.out_len, CAPTURE, strlen(CAPTURE)));
	run_free(&run);
	core_free(&c);
}

static void test_full_strategy(void **state)
{
	struct ct_options o = opts_default();
	struct core c;

	/* A machine without a stack pointer decoder: the core as it came, up to the cap. */
	build_process(&c, 64, EM_RISCV, false);
	core_build(&c, ORDER_KERNEL);
	for (enum feed f = FEED_PIPE; f <= FEED_FILE; f++) {
		struct run run;

		o.full_max_bytes = 1 << 20;
		run_trim(c.buf, c.len, f, &o, 0, &run);
		assert_int_equal(run.r, 0);
		assert_int_equal(run.res.strategy, CT_STRATEGY_FULL);
		assert_string_equal(run.res.arch, "machine 243");
		assert_int_equal(run.out_len, c.len);
		assert_memory_equal(run.out, c.buf, c.len);
		assert_int_equal(run.res.kept_bytes, c.len);
		assert_int_equal(run.res.read_bytes, c.len);
		assert_string_equal(run.res.truncated, "");
		run_free(&run);

		o.full_max_bytes = 10000;
		run_trim(c.buf, c.len, f, &o, 0, &run);
		assert_int_equal(run.r, 0);
		assert_int_equal(run.out_len, 10000);
		assert_memory_equal(run.out, c.buf, 10000);
		assert_int_equal(run.res.kept_bytes, 10000);
		assert_string_equal(run.res.truncated, "cut at full_max_mib (10000 bytes)");
		run_free(&run);

		/* A core of exactly the cap is whole: nothing was cut. */
		o.full_max_bytes = c.len;
		run_trim(c.buf, c.len, f, &o, 0, &run);
		assert_int_equal(run.r, 0);
		assert_int_equal(run.out_len, c.len);
		assert_memory_equal(run.out, c.buf, c.len);
		assert_int_equal(run.res.kept_bytes, c.len);
		assert_string_equal(run.res.truncated, "");
		run_free(&run);
	}
	core_free(&c);

	/* Asked for on a known architecture, it copies the same way, even a core the stack
	 * strategy refuses. */
	build_process(&c, 64, EM_X86_64, false);
	elf_put32(c.notes + 4, 0x7fffffff);
	core_build(&c, ORDER_KERNEL);
	o.strategy = CT_STRATEGY_FULL;
	o.full_max_bytes = 1 << 20;
	{
		struct run run;

		run_trim(c.buf, c.len, FEED_PIPE, &o, 0, &run);
		assert_int_equal(run.r, 0);
		assert_int_equal(run.res.strategy, CT_STRATEGY_FULL);
		assert_string_equal(run.res.arch, "x86_64");
		assert_int_equal(run.out_len, c.len);
		assert_memory_equal(run.out, c.buf, c.len);
		run_free(&run);
	}
	core_free(&c);
}

static void test_strategy_names(void **state)
{
	enum ct_strategy s = CT_STRATEGY_FULL;

	assert_int_equal(ct_strategy_from_name("stack", &s), 0);
	assert_int_equal(s, CT_STRATEGY_STACK);
	assert_int_equal(ct_strategy_from_name("full", &s), 0);
	assert_int_equal(s, CT_STRATEGY_FULL);
	assert_int_equal(ct_strategy_from_name("Stack", &s), -EINVAL);
	assert_int_equal(ct_strategy_from_name("", &s), -EINVAL);
	assert_int_equal(ct_strategy_from_name("fulll", &s), -EINVAL);
	assert_int_equal(s, CT_STRATEGY_FULL);
	assert_string_equal(ct_strategy_name(CT_STRATEGY_STACK), "stack");
	assert_string_equal(ct_strategy_name(CT_STRATEGY_FULL), "full");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strategy_names),
		cmocka_unit_test(test_kept_ranges),
		cmocka_unit_test(test_no_capture_note),
		cmocka_unit_test(test_crashing_thread),
		cmocka_unit_test(test_stack_window_ends_at_mapping),
		cmocka_unit_test(test_link_map_kept),
		cmocka_unit_test(test_other_arches),
		cmocka_unit_test(test_file_order),
		cmocka_unit_test(test_saved_core_cut_before_notes),
		cmocka_unit_test(test_overlapping_segments),
		cmocka_unit_test(test_core_ends_in_memory),
		cmocka_unit_test(test_huge_segment),
		cmocka_unit_test(test_odd_stack_pointers),
		cmocka_unit_test(test_not_a_core),
		cmocka_unit_test(test_truncated_headers),
		cmocka_unit_test(test_many_program_headers),
		cmocka_unit_test(test_notes_too_big),
		cmocka_unit_test(test_bad_notes),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_output_cap),
		cmocka_unit_test(test_full_strategy),
		cmocka_unit_test(test_stack_pointer_in_guard_page),
		cmocka_unit_test(test_alternate_signal_stack),
		cmocka_unit_test(test_pid_mismatch),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
