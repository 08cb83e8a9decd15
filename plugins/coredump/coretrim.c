/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "coretrim.h"
#include "elfcore.h"
#include "macro.h"

#define IN_BUF	      (128 * 1024)
#define VDSO_MAX      (64 * 1024)
#define SP_BELOW      256 /* bytes kept under a stack pointer: x86_64's red zone and then some */
#define RANGES_EXTRA  (4 * LM_MAX_OBJECTS + 64)
#define PF_R	      4
#define SIGFRAMES_MAX 4	  /* interrupted stacks kept per thread on an alternate stack */
#define SCAN_OVERLAP  512 /* bytes re-read between scan chunks: more than a ucontext's head */

/* x rounded up to a multiple of a (a power of two); x must leave room for it. */
#define ALIGN_TO(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))

/* The input: read forward once; skipped bytes are seeked over (a file) or spliced into /dev/null
 * (a pipe) so they never cross into user space. */
struct input {
	int fd;
	bool seekable;
	off_t base; /* the file offset of the core's first byte */
	uint64_t pos;
	bool eof, timed_out;
	uint64_t deadline_usec;
	int null_fd; /* /dev/null for splice, or -1 */
	uint8_t *buf;
};

struct range {
	uint64_t start, end;
};

/* A program header as the trimmer keeps it: 40 bytes, since a core may have 65534 of them. */
struct segment {
	uint64_t offset, vaddr, filesz, memsz;
	uint32_t type, flags;
};

/* len bytes of the input at in_off; shorter than planned when a saved core ends before the rest,
 * which is then left out, not written as zeros (a debugger reads the bytes of memsz past filesz as
 * zeros, so the segment ends with the bytes there are; a piece with none is dropped). */
struct piece {
	uint64_t in_off, vaddr, len, out_off;
	uint32_t flags;
};

struct trim {
	const struct ct_options *o;
	struct input in;
	struct cz_writer *w;
	struct ct_result *res;
	char *why;
	size_t why_len;

	struct elfcore_ehdr ehdr;
	struct segment *ph;
	uint8_t *notes;
	size_t notes_len;

	struct elfcore_thread *threads;
	size_t n_threads;
	const uint8_t *auxv, *files;
	size_t auxv_len, files_len;
	uint32_t psinfo_pid; /* NT_PRPSINFO's pr_pid; 0 when there is none */
	const char *capture_json;

	/* The process's memory for the link_map walk and the signal frames, or NULL. */
	lm_read_t mem_read;
	void *mem_userdata;

	struct range *ranges;
	size_t n_ranges, max_ranges;
	struct piece *pieces;
	size_t n_pieces;
	bool input_cut; /* the input ended or timed out while memory was copied */
};

int ct_strategy_from_name(const char *name, enum ct_strategy *ret)
{
	if (streq(name, "stack"))
		*ret = CT_STRATEGY_STACK;
	else if (streq(name, "full"))
		*ret = CT_STRATEGY_FULL;
	else
		return -EINVAL;
	return 0;
}

const char *ct_strategy_name(enum ct_strategy s)
{
	return s == CT_STRATEGY_FULL ? "full" : "stack";
}

static _printf_(3, 4) int refuse(struct trim *t, int error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->why, t->why_len, fmt, ap);
	va_end(ap);
	return error;
}

/* Waits until the input has bytes or the deadline passes: 0, or -ETIME. */
static int input_wait(struct input *in)
{
	struct pollfd p = { .fd = in->fd, .events = POLLIN };
	uint64_t now;
	int r;

	if (in->seekable || in->deadline_usec == 0)
		return 0;
	for (;;) {
		now = lc_clock_us(CLOCK_MONOTONIC);
		if (now >= in->deadline_usec) {
			in->timed_out = true;
			return -ETIME;
		}
		r = poll(&p, 1, (int)MIN((in->deadline_usec - now + 999) / 1000, (uint64_t)60000));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* Reads up to n bytes: how many (0 at the end of the input), or -errno (-ETIME: deadline). */
static ssize_t input_read(struct input *in, void *dst, size_t n)
{
	for (;;) {
		ssize_t k;
		int r = input_wait(in);

		if (r < 0)
			return r;
		k = read(in->fd, dst, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			in->eof = true;
		in->pos += (uint64_t)k;
		return k;
	}
}

/* Reads exactly n bytes unless the input ends first: the count read, or -errno. */
static ssize_t input_read_full(struct input *in, void *dst, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = input_read(in, (uint8_t *)dst + got, n - got);

		if (k < 0)
			return k;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (ssize_t)got;
}

/* Moves to offset to: forward on a pipe, anywhere in a file (a saved core may have been written
 * in another order, as gcore does). Returns 0, or -errno (-ETIME); ends early at EOF. */
static int input_skip(struct input *in, uint64_t to)
{
	if (in->seekable) {
		struct stat st;
		uint64_t size, at;

		/* Never past the end, so that the end is noticed here as on a pipe. */
		if (fstat(in->fd, &st) < 0)
			return -errno;
		size = (uint64_t)st.st_size > (uint64_t)in->base
			       ? (uint64_t)st.st_size - (uint64_t)in->base
			       : 0;
		at = MIN(to, size);
		if (lseek(in->fd, in->base + (off_t)at, SEEK_SET) < 0)
			return -errno;
		in->pos = at;
		in->eof = at < to;
		return 0;
	}
	while (in->pos < to && !in->eof) {
		uint64_t left = to - in->pos;
		ssize_t k;

		k = input_wait(in);
		if (k < 0)
			return (int)k;
		if (in->null_fd >= 0) {
			k = splice(in->fd, NULL, in->null_fd, NULL,
				   (size_t)MIN(left, (uint64_t)1 << 30), SPLICE_F_MOVE);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				in->null_fd =
					safe_close(in->null_fd); /* not a pipe: read instead */
				continue;
			}
			if (k == 0)
				in->eof = true;
			in->pos += (uint64_t)k;
			continue;
		}
		k = input_read(in, in->buf, (size_t)MIN(left, (uint64_t)IN_BUF));
		if (k < 0)
			return (int)k;
	}
	return 0;
}

static const char *arch_name(const struct elfcore_ehdr *e, char buf[16])
{
	switch (e->arch) {
	case ELFCORE_ARCH_X86_64:
		return "x86_64";
	case ELFCORE_ARCH_AARCH64:
		return "aarch64";
	case ELFCORE_ARCH_ARM:
		return "arm";
	default:
		snprintf(buf, 16, "machine %u", e->machine);
		return buf;
	}
}

/* The full strategy: the core as the kernel wrote it, up to full_max_bytes. */
static int copy_full(struct trim *t, const void *head, size_t head_len)
{
	uint64_t cap = t->o->full_max_bytes;
	int r;

	r = cz_write(t->w, head, head_len);
	if (r < 0)
		return r;
	for (;;) {
		uint64_t left = cap > t->in.pos ? cap - t->in.pos : 0;
		ssize_t k;

		if (left == 0) {
			uint8_t probe;

			/* Cut only if the core goes on past the cap; the rest is drained so that
			 * the kernel can finish writing it. */
			k = input_read(&t->in, &probe, 1);
			if (k < 0 && k != -ETIME)
				return (int)k;
			if (k > 0) {
				snprintf(t->res->truncated, sizeof(t->res->truncated),
					 "cut at full_max_mib (%" PRIu64 " bytes)", cap);
				r = input_skip(&t->in, UINT64_MAX);
				if (r < 0 && r != -ETIME)
					return r;
			}
			break;
		}
		k = input_read(&t->in, t->in.buf, (size_t)MIN(left, (uint64_t)IN_BUF));
		if (k == -ETIME) {
			snprintf(t->res->truncated, sizeof(t->res->truncated),
				 "time limit reached after %" PRIu64 " bytes", t->in.pos);
			break;
		}
		if (k < 0)
			return (int)k;
		if (k == 0)
			break;
		r = cz_write(t->w, t->in.buf, (size_t)k);
		if (r < 0)
			return r;
	}
	t->res->kept_bytes = MIN(t->in.pos, cap);
	if (!t->res->truncated[0])
		t->res->core_bytes = t->in.pos; /* all of it was read */
	return 0;
}

/* Program headers, checked to be in the one order a forward pass can follow: notes first, then
 * memory segments at increasing, non-overlapping offsets, all after the header table. */
static int read_phdrs(struct trim *t)
{
	const struct elfcore_ehdr *e = &t->ehdr;
	size_t table = (size_t)e->phnum * e->phentsize, per = IN_BUF / e->phentsize;
	uint64_t prev_end, notes = 0;
	bool seen_load = false;
	const char *why = NULL;
	int r;

	r = input_skip(&t->in, e->phoff);
	if (r < 0)
		return r;
	t->ph = calloc(e->phnum, sizeof(*t->ph));
	if (!t->ph)
		return -ENOMEM;
	/* Parsed a buffer at a time: the raw table is never held whole. */
	for (size_t first = 0; first < e->phnum; first += per) {
		size_t n = MIN(per, (size_t)e->phnum - first), len = n * e->phentsize;
		ssize_t k = input_read_full(&t->in, t->in.buf, len);

		if (k < 0)
			return (int)k;
		if ((size_t)k < len)
			return refuse(t, -EINVAL,
				      "the core ends within its program headers (%zu of %zu bytes)",
				      first * e->phentsize + (size_t)k, table);
		for (size_t i = 0; i < n; i++) {
			struct elfcore_phdr p;

			r = elfcore_parse_phdr(e, t->in.buf, len, i, &p, &why);
			if (r < 0)
				return refuse(t, -EINVAL, "program header %zu: %s", first + i, why);
			t->ph[first + i] = (struct segment){
				.offset = p.offset,
				.vaddr = p.vaddr,
				.filesz = p.filesz,
				.memsz = p.memsz,
				.type = p.type,
				.flags = p.flags,
			};
		}
	}
	prev_end = e->phoff + table;
	for (size_t i = 0; i < e->phnum; i++) {
		struct segment *p = &t->ph[i];

		if (p->filesz == 0 || (p->type != ELFCORE_PT_LOAD && p->type != ELFCORE_PT_NOTE))
			continue;
		t->res->core_bytes = MAX(t->res->core_bytes, p->offset + p->filesz);
		if (p->type == ELFCORE_PT_NOTE)
			notes += p->filesz;
		if (notes > t->o->max_notes_bytes)
			return refuse(t, -E2BIG,
				      "the notes exceed max_notes_kib (%" PRIu64 " KiB): %" PRIu64
				      " bytes or more",
				      t->o->max_notes_bytes / 1024, notes);
		if (t->in.seekable)
			continue; /* a saved core can be read in any order */
		if (p->offset < prev_end)
			return refuse(t, -EINVAL,
				      "program header %zu: data at offset %" PRIu64
				      " is not after the previous segment's end (%" PRIu64
				      "); only cores in file order can be read in one pass",
				      i, p->offset, prev_end);
		if (p->type == ELFCORE_PT_NOTE) {
			if (seen_load)
				return refuse(t, -EINVAL,
					      "program header %zu: a note segment after memory "
					      "segments",
					      i);
		} else {
			seen_load = true;
		}
		prev_end = p->offset + p->filesz;
	}
	return 0;
}

static int read_notes(struct trim *t)
{
	size_t total = 0;

	for (size_t i = 0; i < t->ehdr.phnum; i++)
		if (t->ph[i].type == ELFCORE_PT_NOTE)
			total += (size_t)ALIGN_TO(t->ph[i].filesz, 4);
	if (total == 0)
		return refuse(t, -EINVAL, "the core has no notes (no thread registers)");
	t->notes = calloc(1, total);
	if (!t->notes)
		return -ENOMEM;
	for (size_t i = 0; i < t->ehdr.phnum; i++) {
		const struct segment *p = &t->ph[i];
		ssize_t k;
		int r;

		if (p->type != ELFCORE_PT_NOTE || p->filesz == 0)
			continue;
		r = input_skip(&t->in, p->offset);
		if (r < 0)
			return r;
		k = input_read_full(&t->in, t->notes + t->notes_len, (size_t)p->filesz);
		if (k < 0)
			return (int)k;
		if ((uint64_t)k < p->filesz)
			return refuse(t, -EINVAL,
				      "the core ends within its notes, at byte %" PRIu64,
				      t->in.pos);
		/* Each segment padded to 4 bytes, so the notes of the next one stay aligned. */
		t->notes_len += (size_t)ALIGN_TO(p->filesz, 4);
	}
	return 0;
}

static int parse_notes(struct trim *t)
{
	struct elfcore_note_iter it;
	struct elfcore_note n;
	size_t count = 0, i = 0;
	const char *why = NULL;
	int r;

	elfcore_note_iter_init(&it, t->notes, t->notes_len);
	while ((r = elfcore_note_next(&it, &n, &why)) > 0)
		if (elfcore_note_is(&n, "CORE", ELFCORE_NT_PRSTATUS))
			count++;
	if (r < 0)
		return refuse(t, -EINVAL, "notes: %s", why);
	if (count == 0)
		return refuse(t, -EINVAL, "the core has no NT_PRSTATUS note (no thread registers)");
	t->threads = calloc(count, sizeof(*t->threads));
	if (!t->threads)
		return -ENOMEM;

	elfcore_note_iter_init(&it, t->notes, t->notes_len);
	while (elfcore_note_next(&it, &n, &why) > 0) {
		if (elfcore_note_is(&n, "CORE", ELFCORE_NT_PRSTATUS)) {
			r = elfcore_parse_prstatus(&t->ehdr, n.desc, n.descsz, &t->threads[i],
						   &why);
			if (r < 0)
				return refuse(t, -EINVAL, "NT_PRSTATUS note of thread %zu: %s", i,
					      why);
			i++;
		} else if (elfcore_note_is(&n, "CORE", ELFCORE_NT_PRPSINFO) && !t->psinfo_pid) {
			struct elfcore_psinfo ps;

			if (elfcore_parse_prpsinfo(&t->ehdr, n.desc, n.descsz, &ps, &why) >= 0)
				t->psinfo_pid = ps.pid;
		} else if (elfcore_note_is(&n, "CORE", ELFCORE_NT_AUXV) && !t->auxv) {
			t->auxv = n.desc;
			t->auxv_len = n.descsz;
		} else if (elfcore_note_is(&n, "CORE", ELFCORE_NT_FILE) && !t->files) {
			t->files = n.desc;
			t->files_len = n.descsz;
		}
	}
	t->n_threads = count;
	t->res->threads = (unsigned)count;
	return 0;
}

static int add_range(void *userdata, uint64_t start, uint64_t len)
{
	struct trim *t = userdata;
	uint64_t end;

	if (len == 0)
		return 0;
	end = start + len < start ? UINT64_MAX : start + len;
	if (t->n_ranges >= t->max_ranges)
		return -E2BIG;
	t->ranges[t->n_ranges++] = (struct range){
		.start = start & ~(uint64_t)(CT_PAGE - 1),
		.end = end > UINT64_MAX - (CT_PAGE - 1) ? UINT64_MAX & ~(uint64_t)(CT_PAGE - 1)
							: ALIGN_TO(end, CT_PAGE),
	};
	return 0;
}

/* The PT_LOAD whose dumped bytes hold addr, or NULL. */
static const struct segment *segment_of(const struct trim *t, uint64_t addr)
{
	for (size_t i = 0; i < t->ehdr.phnum; i++) {
		const struct segment *p = &t->ph[i];

		if (p->type == ELFCORE_PT_LOAD && addr >= p->vaddr && addr - p->vaddr < p->filesz)
			return p;
	}
	return NULL;
}

/* The PT_LOAD whose memory (dumped or not) holds addr, or NULL. */
static const struct segment *mapping_of(const struct trim *t, uint64_t addr)
{
	for (size_t i = 0; i < t->ehdr.phnum; i++) {
		const struct segment *p = &t->ph[i];

		if (p->type == ELFCORE_PT_LOAD && addr >= p->vaddr && addr - p->vaddr < p->memsz)
			return p;
	}
	return NULL;
}

/* Memory of a saved core, for the link_map walk: read from the input file at the offset of the
 * segment that holds it. */
static int read_saved_core(void *userdata, uint64_t addr, void *buf, size_t len)
{
	struct trim *t = userdata;
	const struct segment *p = segment_of(t, addr);
	ssize_t k;

	if (!p || len > p->filesz - (addr - p->vaddr))
		return -EFAULT;
	k = pread(t->in.fd, buf, len, t->in.base + (off_t)(p->offset + (addr - p->vaddr)));
	if (k < 0)
		return -errno;
	return (size_t)k == len ? 0 : -EFAULT;
}

/* The first PT_LOAD with dumped, readable bytes above addr, or NULL. */
static const struct segment *readable_above(const struct trim *t, uint64_t addr)
{
	const struct segment *best = NULL;

	for (size_t i = 0; i < t->ehdr.phnum; i++) {
		const struct segment *p = &t->ph[i];

		if (p->type == ELFCORE_PT_LOAD && p->filesz > 0 && (p->flags & PF_R) &&
		    p->vaddr > addr && (!best || p->vaddr < best->vaddr))
			best = p;
	}
	return best;
}

/*
 * Keeps the stack window of a stack pointer: len bytes from sp upward (and SP_BELOW under it), to
 * the end of its mapping at most: what lies above is another one. A stack pointer in memory the
 * core holds no readable bytes of (a thread that overflowed into the guard page under its stack,
 * or past it) keeps len bytes from the first readable address above it instead, when that is its
 * own stack: the mapping right above the guard, or within len of sp. Returns 0 or -E2BIG.
 */
static int add_stack_window(struct trim *t, uint64_t sp, uint64_t len)
{
	uint64_t below = MIN(sp, (uint64_t)SP_BELOW);
	const struct segment *p = mapping_of(t, sp);

	if (!p || p->filesz == 0 || !(p->flags & PF_R)) {
		const struct segment *q = readable_above(t, sp);
		uint64_t reach = len;

		if (p && p->vaddr + p->memsz - sp > reach)
			reach = p->vaddr + p->memsz - sp;
		if (q && q->vaddr - sp <= reach &&
		    (!p || p->vaddr + p->memsz == q->vaddr || q->vaddr - sp <= len)) {
			sp = q->vaddr;
			below = 0;
			p = q;
		}
	}
	if (p && len > p->vaddr + p->memsz - sp)
		len = p->vaddr + p->memsz - sp;
	return add_range(t, sp - below, below + len);
}

/*
 * A thread whose stack pointer lies on an alternate signal stack (a handler of SIGSEGV run by
 * sigaltstack) has two stacks worth keeping: the handler's, and the one the signal interrupted,
 * whose stack pointer the kernel saved in the ucontext it wrote on the alternate stack. Scans the
 * thread's window [sp, end) of the process's memory for such ucontexts (elfcore_find_sigframe)
 * and keeps a window of len bytes for each interrupted stack pointer, at most SIGFRAMES_MAX.
 * Returns the end of the alternate stack when one was found (the handler's frames end there, so
 * its window does too), else end; -E2BIG in *ret_error when the ranges run out.
 */
static uint64_t keep_interrupted_stacks(struct trim *t, uint64_t sp, uint64_t end, uint64_t len,
					int *ret_error)
{
	uint64_t at = sp & ~(uint64_t)7, last = 0, alt_end = end;
	unsigned found = 0;

	*ret_error = 0;
	if (!t->mem_read)
		return end;
	while (at < end && found < SIGFRAMES_MAX) {
		/* Chunks that stay within a page-aligned run of memory the source can read. */
		uint64_t chunk = MIN(end - at, (uint64_t)IN_BUF - (at & (CT_PAGE - 1)));
		struct elfcore_sigframe f;
		size_t pos = 0, got = 0;

		while (got < chunk) {
			uint64_t n =
				MIN(chunk - got, (uint64_t)CT_PAGE - ((at + got) & (CT_PAGE - 1)));

			if (t->mem_read(t->mem_userdata, at + got, t->in.buf + got, (size_t)n) < 0)
				break;
			got += n;
		}
		while (found < SIGFRAMES_MAX &&
		       elfcore_find_sigframe(&t->ehdr, t->in.buf, got, at, sp, &pos, &f) > 0) {
			if (f.at <= last && last != 0)
				continue; /* seen in the previous chunk's overlap */
			last = f.at;
			found++;
			t->res->sigframes++;
			alt_end = MIN(alt_end, f.ss_sp + f.ss_size);
			*ret_error = add_stack_window(t, f.sp, len);
			if (*ret_error < 0)
				return end;
		}
		if (got < chunk || at + got >= end || got <= SCAN_OVERLAP)
			break;
		at += got - SCAN_OVERLAP;
	}
	return alt_end;
}

static int auxv(const struct trim *t, uint64_t type, uint64_t *ret)
{
	const char *why = NULL;

	if (!t->auxv)
		return 0;
	return elfcore_auxv_get(&t->ehdr, t->auxv, t->auxv_len, type, ret, &why);
}

static int cmp_ranges(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int plan_ranges(struct trim *t)
{
	const struct ct_options *o = t->o;
	uint64_t vdso = 0, phdr = 0, phent = 0, phnum = 0;
	size_t crashing = 0, n_files = 0;
	const char *why = NULL;
	int r;

	if (t->files) {
		struct elfcore_file_iter fi;

		r = elfcore_file_iter_init(&fi, &t->ehdr, t->files, t->files_len, &why);
		if (r < 0)
			return refuse(t, -EINVAL, "NT_FILE note: %s", why);
		n_files = (size_t)fi.count;
	}
	t->max_ranges = t->n_threads * (1 + SIGFRAMES_MAX) + n_files + RANGES_EXTRA;
	t->ranges = calloc(t->max_ranges, sizeof(*t->ranges));
	if (!t->ranges)
		return -ENOMEM;

	/* Stacks grow down: the frames live from the stack pointer upward. */
	for (size_t i = 0; i < t->n_threads; i++)
		if (o->crashing_tid != 0 && t->threads[i].tid == o->crashing_tid)
			crashing = i;
	t->res->signal = t->threads[crashing].signal;
	for (size_t i = 0; i < t->n_threads; i++) {
		uint64_t sp = t->threads[i].sp;
		uint64_t len = i == crashing ? o->crashing_stack_bytes : o->stack_bytes;
		uint64_t end = sp > UINT64_MAX - len ? UINT64_MAX : sp + len, alt_end;

		alt_end = keep_interrupted_stacks(t, sp, end, len, &r);
		if (r >= 0)
			r = add_stack_window(t, sp, MIN(len, alt_end - sp));
		if (r < 0)
			return refuse(t, r, "too many ranges");
	}

	/* The first page of each file mapped from its start: the ELF header, the program
	 * headers and, in practice, the build-id note. */
	if (t->files) {
		struct elfcore_file_iter fi;
		struct elfcore_file_map m;

		(void)elfcore_file_iter_init(&fi, &t->ehdr, t->files, t->files_len, &why);
		while ((r = elfcore_file_next(&fi, &m, &why)) > 0)
			if (m.pgoff == 0 &&
			    add_range(t, m.start, MIN(m.end - m.start, (uint64_t)CT_PAGE)) < 0)
				return refuse(t, -E2BIG, "too many ranges");
		if (r < 0)
			return refuse(t, -EINVAL, "NT_FILE note: %s", why);
	}

	/* The vDSO, whose unwind tables a debugger needs to step out of a signal frame. */
	if (auxv(t, ELFCORE_AT_SYSINFO_EHDR, &vdso) > 0 && vdso != 0) {
		const struct segment *p = segment_of(t, vdso);

		if (p &&
		    add_range(t, vdso, MIN(p->filesz - (vdso - p->vaddr), (uint64_t)VDSO_MAX)) < 0)
			return refuse(t, -E2BIG, "too many ranges");
	}

	/* The shared objects' list, from the process's memory (or the saved core's). */
	t->res->link_maps = -ENODATA;
	if (auxv(t, ELFCORE_AT_PHDR, &phdr) > 0 && auxv(t, ELFCORE_AT_PHENT, &phent) > 0 &&
	    auxv(t, ELFCORE_AT_PHNUM, &phnum) > 0) {
		struct lm_walk walk = {
			.word = t->ehdr.elf_class / 8,
			.phdr = phdr,
			.phent = phent,
			.phnum = phnum,
			.range = add_range,
			.range_userdata = t,
		};

		walk.read = t->mem_read;
		walk.read_userdata = t->mem_userdata;
		if (walk.read)
			t->res->link_maps = lm_walk(&walk);
	}

	qsort(t->ranges, t->n_ranges, sizeof(*t->ranges), cmp_ranges);
	if (t->n_ranges > 0) {
		size_t k = 0;

		for (size_t i = 1; i < t->n_ranges; i++) {
			if (t->ranges[i].start <= t->ranges[k].end)
				t->ranges[k].end = MAX(t->ranges[k].end, t->ranges[i].end);
			else
				t->ranges[++k] = t->ranges[i];
		}
		t->n_ranges = k + 1;
	}
	return 0;
}

/* The pid the core's notes name: NT_PRPSINFO's, else the thread whose id is the expected pid
 * (a process's first thread has the process's id), else 0. */
static uint32_t core_pid(const struct trim *t, uint32_t expected)
{
	if (t->psinfo_pid)
		return t->psinfo_pid;
	for (size_t i = 0; i < t->n_threads; i++)
		if (t->threads[i].tid == expected)
			return expected;
	return 0;
}

/* Where the process's memory is read from: the caller's reader, unless the core is another
 * process's than the one it was opened for; else a saved core's own bytes; else nowhere. */
static void choose_memory(struct trim *t)
{
	const struct ct_options *o = t->o;

	t->mem_read = o->mem_read;
	t->mem_userdata = o->mem_userdata;
	t->capture_json = o->capture_json;
	t->res->core_pid = core_pid(t, o->expected_pid);
	if (o->expected_pid != 0 && t->res->core_pid != o->expected_pid) {
		t->res->pid_mismatch = true;
		t->mem_read = NULL;
		t->capture_json = o->unverified_capture_json;
	}
	if (!t->mem_read && t->in.seekable) {
		t->mem_read = read_saved_core;
		t->mem_userdata = t;
	}
}

/* The kept parts of each memory segment, in file order. A saved core's size is known: the bytes
 * of a piece past its end are left out of the piece (the debugger then reports them unreadable)
 * and counted in missing_bytes. */
static int plan_pieces(struct trim *t)
{
	uint64_t avail = UINT64_MAX;
	size_t max = 0;

	for (size_t i = 0; i < t->ehdr.phnum; i++)
		if (t->ph[i].type == ELFCORE_PT_LOAD && t->ph[i].filesz > 0)
			max++;
	max += t->n_ranges;
	t->pieces = calloc(MAX(max, (size_t)1), sizeof(*t->pieces));
	if (!t->pieces)
		return -ENOMEM;
	if (t->in.seekable) {
		struct stat st;

		if (fstat(t->in.fd, &st) < 0)
			return -errno;
		avail = (uint64_t)st.st_size > (uint64_t)t->in.base
				? (uint64_t)st.st_size - (uint64_t)t->in.base
				: 0;
	}
	for (size_t i = 0; i < t->ehdr.phnum; i++) {
		const struct segment *p = &t->ph[i];
		uint64_t s = p->vaddr, e = p->vaddr + p->filesz;
		size_t lo = 0, hi = t->n_ranges;

		if (p->type != ELFCORE_PT_LOAD || p->filesz == 0)
			continue;
		/* The first range ending after the segment's start. */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (t->ranges[mid].end <= s)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t j = lo; j < t->n_ranges && t->ranges[j].start < e; j++) {
			uint64_t a = MAX(s, t->ranges[j].start), b = MIN(e, t->ranges[j].end);
			uint64_t in_off = p->offset + (a - p->vaddr), len = b - a;

			if (t->n_pieces >= max)
				return refuse(t, -E2BIG, "too many pieces");
			if (in_off + len > avail) {
				len = in_off >= avail ? 0 : avail - in_off;
				t->res->missing_bytes += b - a - len;
				if (!t->res->truncated[0])
					snprintf(t->res->truncated, sizeof(t->res->truncated),
						 "the core ends at byte %" PRIu64
						 ", before the memory at 0x%" PRIx64
						 " (declared size %" PRIu64 ")",
						 avail, a + len, t->res->core_bytes);
			}
			t->pieces[t->n_pieces++] = (struct piece){
				.in_off = in_off,
				.vaddr = a,
				.len = len,
				.flags = p->flags,
			};
			if (len == 0)
				t->n_pieces--; /* none of it in the file: no segment at all */
		}
	}
	return 0;
}

static size_t note_size(size_t namesz, size_t descsz)
{
	return 12 + ALIGN_TO(namesz, 4) + ALIGN_TO(descsz, 4);
}

static int write_named_note(struct trim *t, const char *name, uint32_t type, const void *desc,
			    size_t descsz)
{
	static const uint8_t zeros[4];
	size_t namesz = strlen(name) + 1;
	uint32_t h[3] = { (uint32_t)namesz, (uint32_t)descsz, type };
	int r;

	r = cz_write(t->w, h, sizeof(h));
	if (r >= 0)
		r = cz_write(t->w, name, namesz);
	if (r >= 0)
		r = cz_write(t->w, zeros, ALIGN_TO(namesz, 4) - namesz);
	if (r >= 0)
		r = cz_write(t->w, desc, descsz);
	if (r >= 0)
		r = cz_write(t->w, zeros, ALIGN_TO(descsz, 4) - descsz);
	return r;
}

static int write_note(struct trim *t, uint32_t type, const char *desc, size_t descsz)
{
	return write_named_note(t, CT_NOTE_NAME, type, desc, descsz);
}

static int write_outcome(struct trim *t)
{
	const struct ct_result *res = t->res;
	char text[CT_OUTCOME_SIZE + 1];
	int n;

	n = snprintf(text, sizeof(text),
		     "{\"strategy\": \"%s\", \"core_bytes\": %" PRIu64 ", \"read_bytes\": %" PRIu64
		     ", \"kept_bytes\": %" PRIu64 ", \"threads\": %u, \"link_maps\": %d, "
		     "\"truncated\": %s%s%s, \"missing_bytes\": %" PRIu64
		     ", \"sigframes\": %u, \"core_pid\": %" PRIu32 ", \"pid_mismatch\": %s}",
		     ct_strategy_name(res->strategy), res->core_bytes, res->read_bytes,
		     res->kept_bytes, res->threads, res->link_maps, res->truncated[0] ? "\"" : "",
		     res->truncated[0] ? res->truncated : "null", res->truncated[0] ? "\"" : "",
		     res->missing_bytes, res->sigframes, res->core_pid,
		     res->pid_mismatch ? "true" : "false");
	if (n < 0 || n >= CT_OUTCOME_SIZE)
		return -ENOBUFS; /* cannot happen: the fields are bounded */
	memset(text + n, ' ', CT_OUTCOME_SIZE - (size_t)n);
	return write_note(t, CT_NOTE_OUTCOME, text, CT_OUTCOME_SIZE);
}

static void cut(struct trim *t, const struct piece *p, int error)
{
	t->input_cut = true;
	if (t->res->truncated[0])
		return;
	if (error == -ETIME)
		snprintf(t->res->truncated, sizeof(t->res->truncated),
			 "time limit reached at byte %" PRIu64 " of the core", t->in.pos);
	else
		snprintf(t->res->truncated, sizeof(t->res->truncated),
			 "the core ends at byte %" PRIu64 ", before the memory at 0x%" PRIx64
			 " (declared size %" PRIu64 ")",
			 t->in.pos, p->vaddr, t->res->core_bytes);
}

/* Copies one piece from the input, or zeros once the input has ended or timed out. */
static int copy_piece(struct trim *t, const struct piece *p)
{
	uint64_t done = 0;
	int r;

	if (p->len == 0)
		return 0;
	if (!t->input_cut) {
		r = input_skip(&t->in, p->in_off);
		if (r < 0 && r != -ETIME)
			return r;
		if (r == -ETIME || t->in.eof)
			cut(t, p, r);
	}
	while (done < p->len && !t->input_cut) {
		ssize_t k =
			input_read(&t->in, t->in.buf, (size_t)MIN(p->len - done, (uint64_t)IN_BUF));

		if (k < 0 && k != -ETIME)
			return (int)k;
		if (k <= 0) {
			cut(t, p, (int)k);
			break;
		}
		r = cz_write(t->w, t->in.buf, (size_t)k);
		if (r < 0)
			return r;
		done += (uint64_t)k;
	}
	t->res->missing_bytes += p->len - done;
	return cz_write_zeros(t->w, p->len - done);
}

static int write_trimmed(struct trim *t)
{
	struct elfcore_ehdr out = t->ehdr;
	size_t n_out = t->n_pieces + 2, capture_len = 0;
	uint64_t off, notes_off, notes_len, outcome_off;
	uint8_t hdr[ELFCORE_EHDR_MAX], phb[64];
	int r;

	if (n_out >= 0xffff)
		return refuse(t, -E2BIG, "too many segments to keep (%zu)", n_out);
	if (t->capture_json)
		capture_len = strlen(t->capture_json);
	out.phnum = (uint32_t)n_out;
	out.phoff = out.ehsize;

	/* Layout: header, program headers, notes, kept memory (page-aligned), outcome note. */
	notes_off = out.ehsize + (uint64_t)n_out * out.phentsize;
	notes_len = t->notes_len + (capture_len ? note_size(sizeof(CT_NOTE_NAME), capture_len) : 0);
	if (t->o->extra_note)
		notes_len += note_size(strlen(t->o->extra_note->name) + 1, t->o->extra_note->len);
	off = notes_off + notes_len;
	for (size_t i = 0; i < t->n_pieces; i++) {
		off = ALIGN_TO(off, CT_PAGE);
		t->pieces[i].out_off = off;
		off += t->pieces[i].len;
		t->res->kept_bytes += t->pieces[i].len;
	}
	outcome_off = ALIGN_TO(off, 4);

	elfcore_write_ehdr(&out, hdr);
	r = cz_write(t->w, hdr, out.ehsize);
	if (r < 0)
		return r;
	elfcore_write_phdr(&out,
			   &(struct elfcore_phdr){ .type = ELFCORE_PT_NOTE,
						   .offset = notes_off,
						   .filesz = notes_len,
						   .align = 4 },
			   phb);
	r = cz_write(t->w, phb, out.phentsize);
	for (size_t i = 0; i < t->n_pieces && r >= 0; i++) {
		const struct piece *p = &t->pieces[i];

		elfcore_write_phdr(&out,
				   &(struct elfcore_phdr){ .type = ELFCORE_PT_LOAD,
							   .flags = p->flags,
							   .offset = p->out_off,
							   .vaddr = p->vaddr,
							   .filesz = p->len,
							   .memsz = p->len,
							   .align = CT_PAGE },
				   phb);
		r = cz_write(t->w, phb, out.phentsize);
	}
	if (r >= 0) {
		elfcore_write_phdr(&out,
				   &(struct elfcore_phdr){ .type = ELFCORE_PT_NOTE,
							   .offset = outcome_off,
							   .filesz = note_size(sizeof(CT_NOTE_NAME),
									       CT_OUTCOME_SIZE),
							   .align = 4 },
				   phb);
		r = cz_write(t->w, phb, out.phentsize);
	}
	if (r >= 0)
		r = cz_write(t->w, t->notes, t->notes_len);
	if (r >= 0 && capture_len)
		r = write_note(t, CT_NOTE_CAPTURE, t->capture_json, capture_len);
	if (r >= 0 && t->o->extra_note)
		r = write_named_note(t, t->o->extra_note->name, t->o->extra_note->type,
				     t->o->extra_note->desc, t->o->extra_note->len);
	if (r < 0)
		return r;

	off = notes_off + notes_len;
	for (size_t i = 0; i < t->n_pieces; i++) {
		const struct piece *p = &t->pieces[i];

		r = cz_write_zeros(t->w, p->out_off - off);
		if (r >= 0)
			r = copy_piece(t, p);
		if (r < 0)
			return r;
		off = p->out_off + p->len;
	}
	r = cz_write_zeros(t->w, outcome_off - off);
	if (r < 0)
		return r;
	/* The kernel only marks the process as having dumped core when it could write it all: the
	 * rest goes to /dev/null, until the end or the deadline. */
	if (!t->in.seekable && !t->input_cut) {
		r = input_skip(&t->in, UINT64_MAX);
		if (r < 0 && r != -ETIME)
			return r;
	}
	t->res->segments_out = (unsigned)n_out;
	t->res->read_bytes = t->in.pos;
	return write_outcome(t);
}

int ct_trim(int fd, const struct ct_options *o, struct cz_writer *w, struct ct_result *ret,
	    char *why, size_t why_len)
{
	struct ct_result res = { .link_maps = -ENODATA };
	struct trim t = {
		.o = o,
		.w = w,
		.res = &res,
		.why = why,
		.why_len = why_len,
		.in = { .fd = fd, .null_fd = -1, .deadline_usec = o->deadline_usec },
	};
	uint8_t head[ELFCORE_EHDR_MAX];
	const char *phrase = NULL;
	struct stat st;
	size_t size;
	ssize_t k;
	int r;

	why[0] = 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		t.in.base = lseek(fd, 0, SEEK_CUR);
		t.in.seekable = t.in.base >= 0;
		if (!t.in.seekable)
			t.in.base = 0;
	} else {
		t.in.null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	}
	t.in.buf = malloc(IN_BUF);
	if (!t.in.buf) {
		r = -ENOMEM;
		goto out;
	}

	k = input_read_full(&t.in, head, 16);
	if (k < 0) {
		r = k == -ETIME ? refuse(&t, -EINVAL, "time limit reached before the core began")
				: (int)k;
		goto out;
	}
	size = elfcore_ehdr_size(head, (size_t)k);
	if (size == 0) {
		r = refuse(&t, -EINVAL, k == 0 ? "the input is empty" : "not an ELF file");
		goto out;
	}
	k = input_read_full(&t.in, head + 16, size - 16);
	if (k < 0 || (size_t)k < size - 16) {
		if (k == -ETIME)
			r = refuse(&t, -EINVAL, "time limit reached within the ELF header");
		else if (k < 0)
			r = (int)k;
		else
			r = refuse(&t, -EINVAL, "the core ends within its ELF header");
		goto out;
	}
	r = elfcore_parse_ehdr(head, size, o->native_class, &t.ehdr, &phrase);
	if (r < 0) {
		r = refuse(&t, -EINVAL, "%s", phrase);
		goto out;
	}
	{
		char buf[16];

		snprintf(res.arch, sizeof(res.arch), "%s", arch_name(&t.ehdr, buf));
	}
	res.strategy = o->strategy;
	if (t.ehdr.arch == ELFCORE_ARCH_UNKNOWN)
		res.strategy = CT_STRATEGY_FULL;
	if (res.strategy == CT_STRATEGY_FULL) {
		r = copy_full(&t, head, size);
		res.read_bytes = t.in.pos;
		goto out;
	}

	r = read_phdrs(&t);
	if (r >= 0)
		r = read_notes(&t);
	if (r >= 0)
		r = parse_notes(&t);
	if (r >= 0)
		choose_memory(&t);
	if (r >= 0)
		r = plan_ranges(&t);
	if (r >= 0)
		r = plan_pieces(&t);
	if (r >= 0)
		r = write_trimmed(&t);
	if (r == -ETIME)
		r = refuse(&t, -EINVAL, "time limit reached while reading the core's headers");
out:
	if (r >= 0)
		*ret = res;
	safe_close(t.in.null_fd);
	free(t.in.buf);
	free(t.ph);
	free(t.notes);
	free(t.threads);
	free(t.ranges);
	free(t.pieces);
	return r;
}
