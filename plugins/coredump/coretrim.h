/* SPDX-License-Identifier: MIT */
/*
 * The one-pass trimmer: reads an ELF core from a file descriptor once, forward, with fixed-size
 * buffers whatever the core's size, and writes a smaller valid ELF core that keeps what a
 * debugger needs for backtraces (docs/coredumps.md):
 *   - every note, verbatim, plus a "FAULTD" note (type CT_NOTE_CAPTURE) with the caller's JSON,
 *     the caller's own note if any,
 *     and one at the end (type CT_NOTE_OUTCOME) saying what was read, kept and cut;
 *   - each thread's stack from its stack pointer upward to the end of its mapping, at most a
 *     window (a longer one for the crashing thread); from the first readable address above a
 *     stack pointer in a guard page; and, for a thread on an alternate signal stack, the window
 *     of the stack the signal interrupted too (its stack pointer from the ucontext);
 *   - the first page of each mapping of a file at offset 0 (ELF header and build-id);
 *   - the vDSO;
 *   - what a debugger reads to list the shared objects: the main program's dynamic section,
 *     r_debug, the link_map chain and the names (found by reading the process's memory).
 * Memory the kernel did not dump, or that is not kept, is absent from the result: a debugger
 * reports it unreadable instead of showing wrong bytes. Kept ranges are whole 4 KiB pages.
 *
 * A core read from a pipe must be in the kernel's order (notes first, segments at increasing
 * offsets); a saved core file (gcore writes its notes last) is read in any order, with seeks.
 *
 * Every byte of the input is hostile: headers, counts, sizes and offsets are checked before use,
 * memory is bounded by the options (program headers < 65535 entries, notes <= max_notes_bytes,
 * the ranges they imply), and reading stops at a deadline.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compress.h"
#include "linkmap.h"

#define CT_NOTE_NAME	"FAULTD"
#define CT_NOTE_CAPTURE 1 /* JSON from the caller: device, process, options */
#define CT_NOTE_OUTCOME 2 /* JSON padded with spaces to CT_OUTCOME_SIZE bytes */
#define CT_OUTCOME_SIZE 1024
#define CT_PAGE		4096

enum ct_strategy {
	CT_STRATEGY_STACK,
	CT_STRATEGY_FULL,
};

/* "stack" -> CT_STRATEGY_STACK etc.; -EINVAL for another name. */
int ct_strategy_from_name(const char *name, enum ct_strategy *ret);
const char *ct_strategy_name(enum ct_strategy s);

/* A note of the caller's, put beside the kernel's (stack strategy only). */
struct ct_note {
	const char *name; /* "Memfault" */
	uint32_t type;
	const void *desc;
	size_t len;
};

struct ct_options {
	enum ct_strategy strategy;
	unsigned native_class;	       /* 64 or 32: the class of core this host can follow */
	uint64_t stack_bytes;	       /* kept above each thread's stack pointer */
	uint64_t crashing_stack_bytes; /* kept above the crashing thread's */
	uint64_t max_notes_bytes;      /* all note segments together */
	uint64_t full_max_bytes;       /* CT_STRATEGY_FULL: bytes of the core kept */
	uint32_t crashing_tid;	       /* the crashing thread's id; 0 or not found: the first */
	uint64_t deadline_usec;	       /* CLOCK_MONOTONIC time to stop reading; 0: none */
	/* The process's memory for the link_map walk. NULL: read it from the input itself when
	 * that is a regular file (a saved core); otherwise the walk is skipped. */
	lm_read_t mem_read;
	void *mem_userdata;
	const char *capture_json; /* the CT_NOTE_CAPTURE note's text; NULL: none */
	/* The pid mem_read and capture_json were read for (the by-hand path, where a pid may have
	 * been reused since the core was saved); 0: not checked. When the core's notes name another
	 * process, mem_read is not used (a saved core's own bytes are), unverified_capture_json
	 * replaces capture_json, and ret->pid_mismatch is set. */
	uint32_t expected_pid;
	const char *unverified_capture_json; /* NULL: no capture note then */
	const struct ct_note *extra_note; /* written after it (the "Memfault" note); NULL: none */
};

struct ct_result {
	enum ct_strategy strategy; /* the one used: full for an architecture without a decoder */
	char arch[16];		   /* "x86_64", "aarch64", "arm" or "machine N" */
	uint64_t core_bytes;	   /* the size the core's program headers declare */
	uint64_t read_bytes;	   /* bytes read from the input */
	uint64_t kept_bytes;	   /* memory bytes written (stack strategy), or core bytes (full) */
	unsigned threads;
	uint32_t signal;	/* the crashing thread's pr_cursig; 0 when unknown */
	int link_maps;		/* objects found by the walk, or -errno when it failed */
	unsigned segments_out;	/* program headers of the result */
	char truncated[160];	/* "" or why the result lacks bytes it should have had */
	uint64_t missing_bytes; /* kept memory the input did not deliver: left out of a saved core
				 * cut short, zeros when a pipe ended or the deadline came */
	unsigned sigframes; /* signal frames on alternate stacks whose interrupted stack was kept */
	uint32_t core_pid;  /* the pid the core's notes name; 0 when they name none */
	bool pid_mismatch;  /* core_pid is not o->expected_pid */
};

/*
 * Trims the core read from fd into w (borrowed). Returns 0 with *ret filled (ret->truncated says
 * whether the core ended early or the deadline came: the result is still a valid core; the bytes a
 * saved core lacks are left out of its segments, those a pipe did not deliver are zero), -EINVAL or
 * -E2BIG with a sentence in why (size why_len) when the input is not a core this can read, or the
 * writer's or reader's -errno (-EFBIG: the output cap).
 */
int ct_trim(int fd, const struct ct_options *o, struct cz_writer *w, struct ct_result *ret,
	    char *why, size_t why_len);
