/* SPDX-License-Identifier: MIT */
/*
 * The on-device stack trace of a crash: every thread of an ELF core file unwound with elfutils
 * (libdwfl) in a sandboxed child process, the result as memfaultd's `linux-stacktrace` JSON, and
 * the crash's signature (docs/coredumps.md, "Stack traces and signatures").
 *
 * The core is hostile input and so are the binaries its NT_FILE note names: libdwfl runs only in
 * a forked child with memory, time and output limits, no privileges and no other descriptors. The
 * parent parses what the child writes as JSON, checks every field and count, and builds the result
 * itself: a child that crashes, hangs or lies yields an error, never a wrong trace.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define UNWIND_MAX_THREADS	   1024 /* threads unwound; the rest are left out (truncated) */
#define UNWIND_MAX_FRAMES	   64	/* frames per thread */
#define UNWIND_MAX_MODULES	   1024 /* modules (executable, shared objects, vDSO) */
#define UNWIND_MAX_OUTPUT	   (1024 * 1024) /* bytes the child may write */
#define UNWIND_MAX_NAME		   512		 /* bytes of a path or function name */
#define UNWIND_TIME_LIMIT_MS	   2000		 /* default wall-time limit of the child */
#define UNWIND_MEMORY_LIMIT	   (64u << 20)	 /* RLIMIT_DATA of the child */
#define UNWIND_ADDRESS_SPACE_LIMIT (256u << 20)	 /* RLIMIT_AS of the child (not under ASan) */
#define UNWIND_SIGNATURE_FRAMES	   3		 /* frames hashed into a signature */

struct unwind_request {
	const char *sysroot;	/* files named in the core are opened below it; NULL: "/" */
	pid_t crashing_tid;	/* 0: the core's first thread (the kernel writes it first) */
	int signal;		/* 0: the crashing thread's pr_cursig */
	const char *cmdline;	/* NULL: the core's NT_PRPSINFO pr_psargs */
	unsigned time_limit_ms; /* 0: UNWIND_TIME_LIMIT_MS */
};

/* A module: the executable, a shared object or the vDSO, with its executable segment. */
struct unwind_module {
	char *path;		  /* as the core names it ("[vdso]" for the vDSO) */
	char *build_id;		  /* lower-case hex, "" when unknown */
	uint64_t start, end;	  /* the executable segment at run time: [start, end) */
	uint64_t compiled_offset; /* its address in the file's program headers */
	uint64_t base;		  /* load bias: pc - base is the address in the file */
};

struct unwind_frame {
	uint64_t pc;		  /* as the unwinder gives it (a return address but for frame 0) */
	int module;		  /* index into modules, -1 when no module holds pc */
	uint64_t offset;	  /* pc - the module's base: independent of ASLR */
	char *function;		  /* from the module's symbol table; NULL when unknown, and in
				   * every thread but the crashing one (not looked up) */
	uint64_t function_offset; /* pc - the function's start */
};

struct unwind_thread {
	pid_t tid;
	bool crashed;
	size_t n_frames;
	struct unwind_frame *frames;
};

struct unwind_result {
	char *signal; /* "SIGSEGV" */
	char *cmdline;
	size_t n_modules;
	struct unwind_module *modules;
	size_t n_threads;
	struct unwind_thread *threads;
	bool truncated; /* threads or frames left out by the limits */
	/* How the child ran, for the log and the benchmark. */
	uint64_t child_wall_us;
	long child_maxrss_kib;
};

/*
 * Unwinds every thread of the uncompressed ELF core file on core_fd (read with pread: its offset
 * is not used) in a sandboxed child. Returns 0 with a new result in *ret, -EOPNOTSUPP when built
 * without libdw, -EBADMSG when the core could not be unwound or the child's output failed the
 * checks, -ETIME when the child ran past its time limit (it is killed), or another -errno.
 */
int unwind_core(int core_fd, const struct unwind_request *req, struct unwind_result **ret);

/* Frees result and everything it holds; accepts NULL, returns NULL. */
struct unwind_result *unwind_result_free(struct unwind_result *result);

/* The result as a linux-stacktrace document (memfaultd's format, version "1"), a new string; NULL
 * on allocation failure. Function names are not part of it: the service symbolicates. */
char *unwind_result_json(const struct unwind_result *result);

/*
 * Writes the crash's signature, 16 lower-case hex digits, into sig: FNV-1a 64 of the signal's
 * name and the crashing thread's first UNWIND_SIGNATURE_FRAMES frames after the signal and abort
 * machinery, each normalised by unwind_frame_key(). Returns 0, or -ENOENT when there is no crashing
 * thread or it has no frame.
 */
int unwind_signature(const struct unwind_result *result, char sig[17]);

/*
 * The normalised key of one frame into buf: "libfoo.so!function" when the name is known, else
 * "libfoo.so+0x1234" (module-relative offset); the module's basename loses its version suffix
 * ("libfoo.so.6.0" -> "libfoo.so"). "?+0x<pc>" without a module.
 */
void unwind_frame_key(const struct unwind_result *result, const struct unwind_frame *frame,
		      char *buf, size_t size);

/* True for a frame of the signal and abort machinery (raise, abort, __pthread_kill*, ..., or a
 * frame of the C library without a name), which the signature skips at the top of the crashing
 * thread. */
bool unwind_frame_is_noise(const struct unwind_result *result, const struct unwind_frame *frame);

/*
 * The crashing thread's first n frames as short strings, "libfoo.so!func+0x12" or
 * "crasher+0x1234", in a new NULL-terminated array (strv_free()). Returns how many, or -ENOMEM.
 */
int unwind_top_frames(const struct unwind_result *result, size_t n, char ***ret);
