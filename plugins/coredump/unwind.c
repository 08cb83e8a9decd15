/* SPDX-License-Identifier: MIT */
/*
 * The on-device stack trace (unwind.h): a sandboxed child unwinds the core with libdwfl and writes
 * a compact JSON description to a pipe; the parent reads it with a bound, checks it and builds the
 * result, from which the linux-stacktrace document, the signature and the top frames are made.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "build-config.h"
#include "coredump-names.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "text.h"
#include "unwind.h"

#if HAVE_STACKTRACE
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define UNWIND_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNWIND_ASAN 1
#endif
#endif
#ifndef UNWIND_ASAN
#define UNWIND_ASAN 0
#endif

#define UNWIND_MAX_CMDLINE  4096
#define UNWIND_MAX_BUILD_ID 64 /* bytes; 128 hex digits */
#define UNWIND_NOBODY	    65534
/* The most one module, or one frame, takes in the child's output: a name of UNWIND_MAX_NAME
 * bytes, each escaped, with the numbers around it. */
#define UNWIND_WIRE_MODULE (2 * UNWIND_MAX_NAME + 2 * UNWIND_MAX_BUILD_ID + 160)
#define UNWIND_WIRE_FRAME  (2 * UNWIND_MAX_NAME + 64)

/* ---- The result, its document, the signature: pure ---- */

struct unwind_result *unwind_result_free(struct unwind_result *result)
{
	if (!result)
		return NULL;
	for (size_t i = 0; i < result->n_threads; i++) {
		for (size_t j = 0; j < result->threads[i].n_frames; j++)
			free(result->threads[i].frames[j].function);
		free(result->threads[i].frames);
	}
	free(result->threads);
	for (size_t i = 0; i < result->n_modules; i++) {
		free(result->modules[i].path);
		free(result->modules[i].build_id);
	}
	free(result->modules);
	free(result->signal);
	free(result->cmdline);
	free(result);
	return NULL;
}

static json_object *hex_string(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

char *unwind_result_json(const struct unwind_result *result)
{
	_cleanup_(lc_json_putp) json_object *root = json_object_new_object();
	json_object *symbols = json_object_new_array(), *threads = json_object_new_array();
	int error = 0;

	if (!root || !symbols || !threads) {
		json_object_put(symbols);
		json_object_put(threads);
		return NULL;
	}
	lc_json_add_sticky(root, "version", json_object_new_string("1"), &error);
	lc_json_add_sticky(root, "signal", json_object_new_string(result->signal), &error);
	lc_json_add_sticky(root, "cmdline", json_object_new_string(result->cmdline), &error);
	lc_json_add_sticky(root, "symbols", symbols, &error);
	lc_json_add_sticky(root, "threads", threads, &error);
	for (size_t i = 0; i < result->n_modules && !error; i++) {
		const struct unwind_module *m = &result->modules[i];
		json_object *o = json_object_new_object(), *range = json_object_new_object();

		if (!o || !range || json_object_array_add(symbols, o) < 0) {
			json_object_put(o);
			json_object_put(range);
			return NULL;
		}
		lc_json_add_sticky(o, "pc_range", range, &error);
		lc_json_add_sticky(range, "start", hex_string(m->start), &error);
		lc_json_add_sticky(range, "end", hex_string(m->end), &error);
		lc_json_add_sticky(o, "build_id", json_object_new_string(m->build_id), &error);
		lc_json_add_sticky(o, "compiled_offset", hex_string(m->compiled_offset), &error);
		lc_json_add_sticky(o, "runtime_offset", hex_string(m->start), &error);
		lc_json_add_sticky(o, "path", json_object_new_string(m->path), &error);
	}
	for (size_t i = 0; i < result->n_threads && !error; i++) {
		const struct unwind_thread *t = &result->threads[i];
		json_object *o = json_object_new_object(), *pcs = json_object_new_array();

		if (!o || !pcs || json_object_array_add(threads, o) < 0) {
			json_object_put(o);
			json_object_put(pcs);
			return NULL;
		}
		lc_json_add_sticky(o, "active", json_object_new_boolean(t->crashed), &error);
		lc_json_add_sticky(o, "pcs", pcs, &error);
		for (size_t j = 0; j < t->n_frames && !error; j++)
			if (json_object_array_add(pcs, hex_string(t->frames[j].pc)) < 0)
				error = -ENOMEM;
	}
	if (error)
		return NULL;
	return strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* The module's basename without " (deleted)" and without a version after ".so" into buf. */
static void module_short_name(const char *path, char *buf, size_t size)
{
	const char *base = strrchr(path, '/'), *so;
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len > 10 && strcmp(base + len - 10, " (deleted)") == 0)
		len -= 10;
	so = memmem(base, len, ".so.", 4);
	if (so)
		len = (size_t)(so - base) + 3;
	snprintf(buf, size, "%.*s", (int)len, base);
}

static const struct unwind_thread *crashed_thread(const struct unwind_result *result)
{
	for (size_t i = 0; i < result->n_threads; i++)
		if (result->threads[i].crashed)
			return &result->threads[i];
	return NULL;
}

void unwind_frame_key(const struct unwind_result *result, const struct unwind_frame *frame,
		      char *buf, size_t size)
{
	char mod[128];

	if (frame->module < 0 || (size_t)frame->module >= result->n_modules) {
		snprintf(buf, size, "?+0x%" PRIx64, frame->pc);
		return;
	}
	module_short_name(result->modules[frame->module].path, mod, sizeof(mod));
	if (frame->function)
		snprintf(buf, size, "%s!%s", mod, frame->function);
	else
		snprintf(buf, size, "%s+0x%" PRIx64, mod, frame->offset);
}

/* Whether the module is the C library (glibc's libc and libpthread, musl's libc and loader). */
static bool module_is_libc(const struct unwind_result *result, int module)
{
	static const char *const names[] = { "libc.so", "libpthread.so", "ld-musl-", "libc.musl-" };
	char mod[128];

	if (module < 0 || (size_t)module >= result->n_modules)
		return false;
	module_short_name(result->modules[module].path, mod, sizeof(mod));
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strncmp(mod, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

bool unwind_frame_is_noise(const struct unwind_result *result, const struct unwind_frame *frame)
{
	static const char *const exact[] = { "raise",
					     "abort",
					     "gsignal",
					     "pthread_kill",
					     "__restore_rt",
					     "__kernel_rt_sigreturn",
					     "__default_rt_sa_restorer",
					     "__default_sa_restorer" };
	static const char *const prefix[] = { "__pthread_kill", "__GI_", "__assert_fail",
					      "__libc_message", "__libc_fatal" };
	const char *f = frame->function;

	/* libc's own static functions have no name in its dynamic symbols
	 * (__pthread_kill_implementation): at the top of the stack they are its machinery too. */
	if (!f)
		return module_is_libc(result, frame->module);
	for (size_t i = 0; i < ARRAY_SIZE(exact); i++)
		if (strcmp(f, exact[i]) == 0)
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(prefix); i++)
		if (strncmp(f, prefix[i], strlen(prefix[i])) == 0)
			return true;
	/* __libc_raise, __libc_signal_restore_set, ... */
	return strncmp(f, "__libc_", 7) == 0 && strstr(f, "signal") != NULL;
}

int unwind_signature(const struct unwind_result *result, char sig[17])
{
	const struct unwind_thread *t = result ? crashed_thread(result) : NULL;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t first = 0;
	char key[UNWIND_MAX_NAME + 160];

	if (!t || t->n_frames == 0)
		return -ENOENT;
	while (first < t->n_frames && unwind_frame_is_noise(result, &t->frames[first]))
		first++;
	if (first == t->n_frames) /* nothing but the machinery: hash it rather than nothing */
		first = 0;
	/* The signal first: an abort and an invalid access in one function are two bugs. */
	for (const char *p = result->signal ? result->signal : ""; *p; p++) {
		h ^= (uint8_t)*p;
		h *= 0x100000001b3ULL;
	}
	h ^= '\n';
	h *= 0x100000001b3ULL;
	for (size_t i = first; i < t->n_frames && i < first + UNWIND_SIGNATURE_FRAMES; i++) {
		unwind_frame_key(result, &t->frames[i], key, sizeof(key));
		for (const char *p = key; *p; p++) {
			h ^= (uint8_t)*p;
			h *= 0x100000001b3ULL;
		}
		h ^= '\n';
		h *= 0x100000001b3ULL;
	}
	snprintf(sig, 17, "%016" PRIx64, h);
	return 0;
}

int unwind_top_frames(const struct unwind_result *result, size_t n, char ***ret)
{
	const struct unwind_thread *t = crashed_thread(result);
	size_t count = t ? MIN(n, t->n_frames) : 0;
	_cleanup_strv_free_ char **l = calloc(count + 1, sizeof(char *));
	char mod[128];

	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const struct unwind_frame *f = &t->frames[i];
		int r;

		if (f->module < 0) {
			r = asprintf(&l[i], "0x%" PRIx64, f->pc);
		} else {
			module_short_name(result->modules[f->module].path, mod, sizeof(mod));
			if (f->function)
				r = asprintf(&l[i], "%s!%s+0x%" PRIx64, mod, f->function,
					     f->function_offset);
			else
				r = asprintf(&l[i], "%s+0x%" PRIx64, mod, f->offset);
		}
		if (r < 0) {
			l[i] = NULL;
			return -ENOMEM;
		}
	}
	*ret = TAKE_PTR(l);
	return (int)count;
}

#if HAVE_STACKTRACE

/* ---- The child: libdwfl on hostile input, writing compact JSON to a pipe ---- */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

struct child_out {
	int fd;
	size_t written; /* bytes flushed and buffered */
	bool failed;	/* a write failed or the output limit was reached */
	size_t len;
	char buf[16384];
};

static void out_flush(struct child_out *o)
{
	if (o->len > 0 && !o->failed && lc_write_all(o->fd, o->buf, o->len) < 0)
		o->failed = true;
	o->len = 0;
}

static void out_bytes(struct child_out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->written + n > UNWIND_MAX_OUTPUT) {
		o->failed = true;
		return;
	}
	o->written += n;
	while (n > 0) {
		size_t k = MIN(n, sizeof(o->buf) - o->len);

		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
		if (o->len == sizeof(o->buf))
			out_flush(o);
	}
}

static void out_str(struct child_out *o, const char *s)
{
	out_bytes(o, s, strlen(s));
}

_printf_(2, 3) static void out_fmt(struct child_out *o, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	out_bytes(o, buf, (size_t)MIN(MAX(n, 0), (int)sizeof(buf) - 1));
}

/* A JSON string of at most max bytes of s; bytes that are not printable ASCII become '?'. */
static void out_json_string(struct child_out *o, const char *s, size_t max)
{
	out_bytes(o, "\"", 1);
	for (size_t i = 0; s[i] && i < max; i++) {
		char c = s[i];

		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', c };
			out_bytes(o, esc, 2);
		} else {
			if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e)
				c = '?';
			out_bytes(o, &c, 1);
		}
	}
	out_bytes(o, "\"", 1);
}

struct child {
	struct child_out out;
	const char *sysroot;
	Dwfl *dwfl;
	Dwfl_Module *modules[UNWIND_MAX_MODULES];
	size_t n_modules;
	size_t n_threads, n_frames;
	pid_t crashing_tid; /* 0: the first thread */
	uint64_t stop_us;   /* no thread is begun after this time (CLOCK_MONOTONIC) */
	bool names;	    /* look up function names: only for the crashing thread */
	bool truncated;
};

static struct child *child_self; /* the child process's one context, for the callbacks */

static int child_find_elf_file(Dwfl_Module *mod, void **userdata, const char *modname,
			       Dwarf_Addr base, char **file_name, Elf **elfp)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	const unsigned char *want;
	const void *have;
	GElf_Addr vaddr;
	struct stat st;
	Elf *elf;
	int n;

	(void)userdata;
	(void)base;
	*elfp = NULL;
	if (!modname || modname[0] != '/' || strlen(modname) > UNWIND_MAX_NAME)
		return -1;
	path = lc_path_prefix(child_self->sysroot, modname);
	if (!path)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -1;
	if (elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		return -1;
	}
	/* The right file or none: a different build would give wrong names and wrong CFI. */
	n = dwfl_module_build_id(mod, &want, &vaddr);
	if (n > 0) {
		ssize_t m = dwelf_elf_gnu_build_id(elf, &have);

		if (m != n || memcmp(want, have, (size_t)n) != 0) {
			elf_end(elf);
			return -1;
		}
	}
	*elfp = elf;
	*file_name = TAKE_PTR(path);
	return TAKE_FD(fd);
}

/* Separate debug files are not looked for (no debuginfod, no /usr/lib/debug of the host). */
static int child_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
				Dwarf_Addr base, const char *file_name, const char *debuglink_file,
				GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	(void)mod;
	(void)userdata;
	(void)modname;
	(void)base;
	(void)file_name;
	(void)debuglink_file;
	(void)debuglink_crc;
	(void)debuginfo_file_name;
	return -1;
}

static int child_module_index(struct child *c, Dwfl_Module *mod)
{
	for (size_t i = 0; i < c->n_modules; i++)
		if (c->modules[i] == mod)
			return (int)i;
	if (c->n_modules == UNWIND_MAX_MODULES)
		return -1;
	c->modules[c->n_modules] = mod;
	return (int)c->n_modules++;
}

static int child_frame(Dwfl_Frame *state, void *arg)
{
	struct child *c = arg;
	Dwarf_Addr pc, adjusted;
	bool activation;
	Dwfl_Module *mod;
	const char *name = NULL;
	GElf_Off off = 0;
	GElf_Sym sym;
	int idx = -1;

	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	if (c->n_frames == UNWIND_MAX_FRAMES) {
		c->truncated = true;
		return DWARF_CB_ABORT;
	}
	/* A return address points after the call: look up the call itself. */
	adjusted = activation ? pc : pc - 1;
	mod = dwfl_addrmodule(c->dwfl, adjusted);
	if (mod) {
		idx = child_module_index(c, mod);
		if (c->names)
			name = dwfl_module_addrinfo(mod, adjusted, &off, &sym, NULL, NULL, NULL);
	}
	/* [pc, module] or [pc, module, function, offset in it] */
	out_fmt(&c->out, "%s[\"0x%" PRIx64 "\",%d", c->n_frames ? "," : "", (uint64_t)pc, idx);
	if (name && idx >= 0) {
		out_str(&c->out, ",");
		out_json_string(&c->out, name, UNWIND_MAX_NAME);
		out_fmt(&c->out, ",\"0x%" PRIx64 "\"", (uint64_t)(off + (pc - adjusted)));
	}
	out_str(&c->out, "]");
	c->n_frames++;
	return c->out.failed ? DWARF_CB_ABORT : DWARF_CB_OK;
}

static int child_thread(Dwfl_Thread *thread, void *arg)
{
	struct child *c = arg;

	/* Keep room for this thread, the modules it may add and the end: a cut trace beats none. */
	/* libelf's cache of core chunks makes each thread slower than the last (0.188: 30 ms for
	 * 100 threads, 2.2 s for 1000): stop in time to hand in what is done, the crashing thread
	 * (the core's first) among it, rather than be killed with nothing. */
	if (c->n_threads == UNWIND_MAX_THREADS ||
	    c->out.written + (c->n_modules + UNWIND_MAX_FRAMES) * UNWIND_WIRE_MODULE +
			    UNWIND_MAX_FRAMES * UNWIND_WIRE_FRAME + 64 >
		    UNWIND_MAX_OUTPUT ||
	    (c->n_threads > 0 && now_us() > c->stop_us)) {
		c->truncated = true;
		return DWARF_CB_ABORT;
	}
	out_fmt(&c->out, "%s{\"tid\":%d,\"frames\":[", c->n_threads ? "," : "",
		(int)dwfl_thread_tid(thread));
	/* Names serve the signature and the top frames: the other threads' pcs are enough for
	 * the service, and 1000 threads' names would not fit the output. */
	c->names = c->crashing_tid > 0 ? dwfl_thread_tid(thread) == c->crashing_tid
				       : c->n_threads == 0;
	c->n_frames = 0;
	/* An error ends a thread's frames (the end of its stack, memory the core lacks): the
	 * frames before it stand. */
	(void)dwfl_thread_getframes(thread, child_frame, c);
	out_str(&c->out, "]}");
	c->n_threads++;
	return c->out.failed ? DWARF_CB_ABORT : DWARF_CB_OK;
}

static void child_module(struct child *c, Dwfl_Module *mod)
{
	const unsigned char *id = NULL;
	const char *name, *file = NULL;
	Dwarf_Addr low = 0, high = 0, bias = 0;
	uint64_t start, end, compiled = 0, base;
	GElf_Addr vaddr;
	Elf *elf;
	int n;

	name = dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, &file, NULL);
	/* libdwfl may name a module by its soname: the file it opened is the path memfaultd gives
	 * (as the process saw it, without sysroot). */
	if (file && file[0] == '/') {
		size_t root = c->sysroot ? strlen(c->sysroot) : 0;

		while (root > 0 && c->sysroot[root - 1] == '/')
			root--;
		if (root == 0 || (strncmp(file, c->sysroot, root) == 0 && file[root] == '/'))
			name = file + root;
	}
	start = low;
	end = high;
	base = low;
	elf = dwfl_module_getelf(mod, &bias);
	if (elf) {
		size_t phnum;
		long page = sysconf(_SC_PAGESIZE);
		uint64_t mask = ~((uint64_t)(page > 0 ? page : 4096) - 1);

		base = bias;
		if (elf_getphdrnum(elf, &phnum) == 0)
			for (size_t i = 0; i < phnum && i < 65535; i++) {
				GElf_Phdr ph;

				if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
				    !(ph.p_flags & PF_X))
					continue;
				/* Whole pages, as the mapping in /proc/<pid>/maps. */
				compiled = ph.p_vaddr & mask;
				start = compiled + bias;
				end = ((ph.p_vaddr + ph.p_memsz + ~mask) & mask) + bias;
				break;
			}
	}
	out_str(&c->out, "{\"path\":");
	out_json_string(&c->out, name ? name : "?", UNWIND_MAX_NAME);
	out_str(&c->out, ",\"build_id\":\"");
	n = dwfl_module_build_id(mod, &id, &vaddr);
	for (int i = 0; i < n && i < UNWIND_MAX_BUILD_ID; i++)
		out_fmt(&c->out, "%02x", id[i]);
	out_fmt(&c->out,
		"\",\"start\":\"0x%" PRIx64 "\",\"end\":\"0x%" PRIx64 "\",\"compiled\":\"0x%" PRIx64
		"\",\"base\":\"0x%" PRIx64 "\"}",
		start, end, compiled, base);
}

/* From the core's notes: the first thread's id and signal, and pr_psargs. */
static void child_notes(Elf *core, int *ret_tid, int *ret_signal, char *psargs, size_t size)
{
	bool is64 = gelf_getclass(core) == ELFCLASS64;
	size_t phnum;

	if (elf_getphdrnum(core, &phnum) < 0)
		return;
	for (size_t i = 0; i < phnum && i < 65535; i++) {
		GElf_Phdr ph;
		Elf_Data *d;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off, next;

		if (!gelf_getphdr(core, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		d = elf_getdata_rawchunk(core, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
		if (!d)
			continue;
		while ((next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			const unsigned char *desc = (const unsigned char *)d->d_buf + desc_off;
			size_t pid_at = is64 ? 32 : 24, args_at = is64 ? 56 : 44;

			off = next;
			if (nh.n_namesz != 5 || memcmp((char *)d->d_buf + name_off, "CORE", 5) != 0)
				continue;
			if (nh.n_type == NT_PRSTATUS && *ret_tid == 0 &&
			    nh.n_descsz >= pid_at + 4) {
				uint16_t sig;
				int32_t tid;

				memcpy(&sig, desc + 12, sizeof(sig));
				memcpy(&tid, desc + pid_at, sizeof(tid));
				/* Hostile values fall back to the request's or none. */
				*ret_tid = tid > 0 ? tid : 0;
				*ret_signal = sig <= 255 ? sig : 0;
			} else if (nh.n_type == NT_PRPSINFO && nh.n_descsz >= args_at + 80) {
				size_t n = strnlen((const char *)desc + args_at, MIN(80, size - 1));

				memcpy(psargs, desc + args_at, n);
				while (n > 0 && psargs[n - 1] == ' ')
					n--;
				psargs[n] = 0;
			}
		}
	}
}

/* Why the file is shorter than its program headers say, or NULL: such a core (a copy cut short,
 * a disk that filled) would be unwound from zeros and half-read notes. */
static const char *core_cut_short(Elf *core, int fd)
{
	static char why[96];
	struct stat st;
	size_t phnum;

	if (fstat(fd, &st) < 0 || elf_getphdrnum(core, &phnum) < 0)
		return "cannot read its size or program headers";
	for (size_t i = 0; i < phnum && i < 65535; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(core, (int)i, &ph))
			return "a program header cannot be read";
		if (ph.p_filesz > 0 && (ph.p_offset > (uint64_t)st.st_size ||
					ph.p_filesz > (uint64_t)st.st_size - ph.p_offset)) {
			snprintf(why, sizeof(why),
				 "segment %zu ends at byte %" PRIu64 ", the file at %" PRIu64, i,
				 (uint64_t)ph.p_offset + ph.p_filesz, (uint64_t)st.st_size);
			return why;
		}
	}
	return NULL;
}

static int child_fail(struct child_out *o, const char *what, const char *why)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s: %s", what, why ? why : "unknown error");
	o->len = 0;
	o->written = 0;
	o->failed = false;
	out_str(o, "{\"error\":");
	out_json_string(o, msg, sizeof(msg));
	out_str(o, "}");
	out_flush(o);
	return -1;
}

/* Unwinds the core and writes the compact result to out_fd. Runs in the sandboxed child. */
static int child_run(int core_fd, int out_fd, const char *sysroot, pid_t crashing_tid,
		     uint64_t stop_us)
{
	static const Dwfl_Callbacks callbacks = {
		.find_elf = child_find_elf_file,
		.find_debuginfo = child_find_debuginfo,
	};
	static struct child c; /* not on the stack: it holds the module table */
	char psargs[81] = "";
	const char *why;
	int tid = 0, sig = 0;
	GElf_Ehdr eh;
	Elf *core;

	c.out.fd = out_fd;
	c.sysroot = sysroot;
	c.crashing_tid = crashing_tid;
	c.stop_us = stop_us;
	child_self = &c;
	elf_version(EV_CURRENT);
	core = elf_begin(core_fd, ELF_C_READ, NULL);
	if (!core)
		return child_fail(&c.out, "cannot read the core", elf_errmsg(-1));
	if (elf_kind(core) != ELF_K_ELF)
		return child_fail(&c.out, "not an ELF file", "no ELF header");
	if (!gelf_getehdr(core, &eh) || eh.e_type != ET_CORE)
		return child_fail(&c.out, "not an ELF core file", "e_type is not ET_CORE");
	why = core_cut_short(core, core_fd);
	if (why)
		return child_fail(&c.out, "the core is cut short", why);
	child_notes(core, &tid, &sig, psargs, sizeof(psargs));
	c.dwfl = dwfl_begin(&callbacks);
	if (!c.dwfl)
		return child_fail(&c.out, "dwfl_begin", dwfl_errmsg(-1));
	if (dwfl_core_file_report(c.dwfl, core, NULL) < 0)
		return child_fail(&c.out, "cannot read the core's modules", dwfl_errmsg(-1));
	if (dwfl_report_end(c.dwfl, NULL, NULL) != 0)
		return child_fail(&c.out, "dwfl_report_end", dwfl_errmsg(-1));
	if (dwfl_core_file_attach(c.dwfl, core) < 0)
		return child_fail(&c.out, "cannot read the core's threads", dwfl_errmsg(-1));
	out_fmt(&c.out, "{\"tid\":%d,\"signal\":%d,\"cmdline\":", tid, sig);
	out_json_string(&c.out, psargs, sizeof(psargs));
	out_str(&c.out, ",\"threads\":[");
	if (dwfl_getthreads(c.dwfl, child_thread, &c) < 0 && !c.truncated && !c.out.failed)
		return child_fail(&c.out, "cannot unwind the core's threads", dwfl_errmsg(-1));
	out_str(&c.out, "],\"modules\":[");
	for (size_t i = 0; i < c.n_modules; i++) {
		if (i)
			out_str(&c.out, ",");
		child_module(&c, c.modules[i]);
	}
	out_fmt(&c.out, "],\"truncated\":%s}", c.truncated ? "true" : "false");
	out_flush(&c.out);
	return c.out.failed ? -1 : 0;
}

/* Closes every descriptor but a and b (a < b). */
static void close_other_fds(int a, int b)
{
	int max = (int)MIN(sysconf(_SC_OPEN_MAX), 65536L);

#ifdef SYS_close_range
	/* Linux 5.9; before it, or when it fails, one close() per descriptor. */
	if ((a == 0 || syscall(SYS_close_range, 0U, (unsigned)a - 1, 0U) == 0) &&
	    (a + 1 > b - 1 ||
	     syscall(SYS_close_range, (unsigned)a + 1, (unsigned)b - 1, 0U) == 0) &&
	    syscall(SYS_close_range, (unsigned)b + 1, ~0U, 0U) == 0)
		return;
#endif
	for (int fd = 0; fd < max; fd++)
		if (fd != a && fd != b)
			(void)close(fd);
}

/* The sandbox, in the child before libdwfl runs: _exit()s when a step fails. */
static void child_sandbox(int core_fd, int out_fd, uid_t uid, gid_t gid)
{
	struct rlimit data = { UNWIND_MEMORY_LIMIT, UNWIND_MEMORY_LIMIT };
	struct rlimit as = { UNWIND_ADDRESS_SPACE_LIMIT, UNWIND_ADDRESS_SPACE_LIMIT };
	struct rlimit files = { UNWIND_MAX_MODULES + 16, UNWIND_MAX_MODULES + 16 };

	close_other_fds(MIN(core_fd, out_fd), MAX(core_fd, out_fd));
	if (prctl(PR_SET_DUMPABLE, 0) < 0 || setrlimit(RLIMIT_CORE, &(struct rlimit){ 1, 1 }) < 0 ||
	    setrlimit(RLIMIT_FSIZE, &(struct rlimit){ 0, 0 }) < 0 ||
	    setrlimit(RLIMIT_NOFILE, &files) < 0)
		_exit(3);
	/* ASan reserves terabytes of shadow memory: any limit of the address space or of data
	 * would make every allocation fail. The benchmark measures a release build. */
	if (!UNWIND_ASAN && (setrlimit(RLIMIT_DATA, &data) < 0 || setrlimit(RLIMIT_AS, &as) < 0))
		_exit(3);
	if (geteuid() == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(3);
		if (geteuid() == 0 || getegid() == 0)
			_exit(3);
	}
	/* No processes of its own (a fork would outlive the parent's SIGKILL), gone with the
	 * parent, and a CPU limit beyond the parent's wall-time limit in case the parent is
	 * stopped. */
	if (setrlimit(RLIMIT_NPROC, &(struct rlimit){ 0, 0 }) < 0 ||
	    setrlimit(RLIMIT_CPU, &(struct rlimit){ 61, 61 }) < 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(3);
	/* The parent may have been started with signals blocked or ignored. */
	(void)signal(SIGPIPE, SIG_DFL);
}

/* ---- The parent: bounded read, checks, the result ---- */

static int json_hex(json_object *o, uint64_t *ret)
{
	const char *s;
	char *end;
	uint64_t v;

	if (!json_object_is_type(o, json_type_string))
		return -EBADMSG;
	s = json_object_get_string(o);
	if (strncmp(s, "0x", 2) != 0 || !s[2] || strlen(s) > 18)
		return -EBADMSG;
	errno = 0;
	v = strtoull(s + 2, &end, 16);
	if (errno || *end || s[2] == '-' || s[2] == '+')
		return -EBADMSG;
	*ret = v;
	return 0;
}

/* A string member of at most max bytes, printable ASCII; *ret points into o. */
static int json_text(json_object *o, const char *key, size_t max, const char **ret)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return -EBADMSG;
	if ((size_t)json_object_get_string_len(v) > max ||
	    !lc_text_printable(json_object_get_string(v), (size_t)json_object_get_string_len(v)))
		return -EBADMSG;
	*ret = json_object_get_string(v);
	return 0;
}

static int json_member_hex(json_object *o, const char *key, uint64_t *ret)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return -EBADMSG;
	return json_hex(v, ret);
}

static int parse_modules(json_object *arr, struct unwind_result *res)
{
	size_t n;

	if (!json_object_is_type(arr, json_type_array))
		return -EBADMSG;
	n = json_object_array_length(arr);
	if (n > UNWIND_MAX_MODULES)
		return -EBADMSG;
	res->modules = calloc(MAX(n, 1), sizeof(*res->modules));
	if (!res->modules)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		struct unwind_module *m = &res->modules[i];
		const char *path, *id;

		if (!json_object_is_type(o, json_type_object) ||
		    json_text(o, "path", UNWIND_MAX_NAME, &path) < 0 ||
		    json_text(o, "build_id", 2 * UNWIND_MAX_BUILD_ID, &id) < 0 ||
		    strspn(id, "0123456789abcdef") != strlen(id) ||
		    json_member_hex(o, "start", &m->start) < 0 ||
		    json_member_hex(o, "end", &m->end) < 0 || m->start > m->end ||
		    json_member_hex(o, "compiled", &m->compiled_offset) < 0 ||
		    json_member_hex(o, "base", &m->base) < 0)
			return -EBADMSG;
		m->path = strdup(path);
		m->build_id = strdup(id);
		res->n_modules++;
		if (!m->path || !m->build_id)
			return -ENOMEM;
	}
	return 0;
}

static int parse_frame(json_object *a, struct unwind_result *res, struct unwind_frame *f)
{
	json_object *mod, *name;
	size_t n;
	int64_t idx;

	if (!json_object_is_type(a, json_type_array))
		return -EBADMSG;
	n = json_object_array_length(a);
	if ((n != 2 && n != 4) || json_hex(json_object_array_get_idx(a, 0), &f->pc) < 0 ||
	    (n == 4 && json_hex(json_object_array_get_idx(a, 3), &f->function_offset) < 0))
		return -EBADMSG;
	mod = json_object_array_get_idx(a, 1);
	name = n == 4 ? json_object_array_get_idx(a, 2) : NULL;
	if (!json_object_is_type(mod, json_type_int))
		return -EBADMSG;
	idx = json_object_get_int64(mod);
	if (idx < -1 || idx >= (int64_t)res->n_modules)
		return -EBADMSG;
	f->module = (int)idx;
	f->offset = idx >= 0 ? f->pc - res->modules[idx].base : f->pc;
	if (json_object_is_type(name, json_type_string)) {
		const char *s = json_object_get_string(name);
		size_t len = (size_t)json_object_get_string_len(name);

		if (idx < 0 || len == 0 || len > UNWIND_MAX_NAME || !lc_text_printable(s, len))
			return -EBADMSG;
		f->function = strdup(s);
		if (!f->function)
			return -ENOMEM;
	} else if (n == 4) {
		return -EBADMSG;
	}
	return 0;
}

static int parse_threads(json_object *arr, pid_t crashing_tid, struct unwind_result *res)
{
	size_t n;

	if (!json_object_is_type(arr, json_type_array))
		return -EBADMSG;
	n = json_object_array_length(arr);
	if (n > UNWIND_MAX_THREADS)
		return -EBADMSG;
	res->threads = calloc(MAX(n, 1), sizeof(*res->threads));
	if (!res->threads)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i), *tid, *frames;
		struct unwind_thread *t = &res->threads[i];
		size_t nf;
		int64_t v;

		if (!json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, "tid", &tid) ||
		    !json_object_is_type(tid, json_type_int) ||
		    !json_object_object_get_ex(o, "frames", &frames) ||
		    !json_object_is_type(frames, json_type_array))
			return -EBADMSG;
		v = json_object_get_int64(tid);
		nf = json_object_array_length(frames);
		if (v <= 0 || v > INT32_MAX || nf > UNWIND_MAX_FRAMES)
			return -EBADMSG;
		t->tid = (pid_t)v;
		t->crashed = t->tid == crashing_tid;
		t->frames = calloc(MAX(nf, 1), sizeof(*t->frames));
		if (!t->frames)
			return -ENOMEM;
		res->n_threads++;
		for (size_t j = 0; j < nf; j++) {
			int r = parse_frame(json_object_array_get_idx(frames, j), res,
					    &t->frames[j]);

			if (r < 0)
				return r;
			t->n_frames++;
		}
	}
	return 0;
}

/* Builds the result from the child's output (len bytes at text), checking all of it. */
static int parse_child(const char *text, size_t len, const struct unwind_request *req,
		       struct unwind_result **ret)
{
	_cleanup_(lc_json_putp) json_object *root = NULL;
	struct json_tokener *tok = json_tokener_new_ex(8);
	struct unwind_result *res;
	json_object *v, *threads, *modules, *truncated;
	const char *cmdline, *err;
	char sigbuf[16];
	int64_t tid, sig;
	int r;

	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, text, (int)len);
	r = json_tokener_get_error(tok) == json_tokener_success &&
			    json_tokener_get_parse_end(tok) == len
		    ? 0
		    : -EBADMSG;
	json_tokener_free(tok);
	if (r < 0 || !json_object_is_type(root, json_type_object))
		return log_error_errno(-EBADMSG, "The unwinder's output is not a JSON object.");
	if (json_text(root, "error", 255, &err) == 0)
		return log_error_errno(-EBADMSG, "Cannot unwind the core: %s", err);
	if (!json_object_object_get_ex(root, "tid", &v) || !json_object_is_type(v, json_type_int) ||
	    (tid = json_object_get_int64(v)) < 0 || tid > INT32_MAX ||
	    !json_object_object_get_ex(root, "signal", &v) ||
	    !json_object_is_type(v, json_type_int) || (sig = json_object_get_int64(v)) < 0 ||
	    sig > 255 || json_text(root, "cmdline", 80, &cmdline) < 0 ||
	    !json_object_object_get_ex(root, "threads", &threads) ||
	    !json_object_object_get_ex(root, "modules", &modules) ||
	    !json_object_object_get_ex(root, "truncated", &truncated) ||
	    !json_object_is_type(truncated, json_type_boolean))
		return log_error_errno(-EBADMSG,
				       "The unwinder's output lacks a member or has a wrong one.");
	res = calloc(1, sizeof(*res));
	if (!res)
		return log_oom();
	if (req->signal > 0)
		sig = req->signal;
	if (lc_core_signal_name((int)sig))
		snprintf(sigbuf, sizeof(sigbuf), "%s", lc_core_signal_name((int)sig));
	else
		snprintf(sigbuf, sizeof(sigbuf), "SIG%d", (int)sig);
	res->signal = strdup(sigbuf);
	res->cmdline = strndup(req->cmdline ? req->cmdline : cmdline, UNWIND_MAX_CMDLINE);
	if (res->cmdline) /* the process chose its command line: valid UTF-8 only */
		lc_text_scrub(res->cmdline, strlen(res->cmdline), LC_TEXT_KEEP_UTF8);
	res->truncated = json_object_get_boolean(truncated);
	r = !res->signal || !res->cmdline ? -ENOMEM : parse_modules(modules, res);
	if (r == 0)
		r = parse_threads(threads, req->crashing_tid > 0 ? req->crashing_tid : (pid_t)tid,
				  res);
	if (r < 0) {
		unwind_result_free(res);
		if (r == -ENOMEM)
			return log_oom();
		return log_error_errno(r, "The unwinder's output failed the checks.");
	}
	*ret = res;
	return 0;
}

/* Reads the child's output until EOF, UNWIND_MAX_OUTPUT bytes or the deadline. */
static int read_child(int fd, uint64_t deadline_us, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, alloc = 0;

	for (;;) {
		uint64_t now = now_us();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int r;

		if (now >= deadline_us)
			return -ETIME;
		r = poll(&p, 1, (int)MIN((deadline_us - now + 999) / 1000, 60000));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			continue;
		r = lc_buf_reserve(&buf, &alloc, len, UNWIND_MAX_OUTPUT);
		if (r < 0)
			return r;
		n = read(fd, buf + len, alloc - len - 1);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > UNWIND_MAX_OUTPUT)
			return -EFBIG;
	}
	if (!buf)
		buf = strdup("");
	if (!buf)
		return -ENOMEM;
	buf[len] = 0;
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

int unwind_core(int core_fd, const struct unwind_request *req, struct unwind_result **ret)
{
	unsigned limit_ms = req->time_limit_ms ? req->time_limit_ms : UNWIND_TIME_LIMIT_MS;
	_cleanup_free_ char *text = NULL;
	uid_t uid = UNWIND_NOBODY;
	gid_t gid = UNWIND_NOBODY;
	struct unwind_result *res = NULL;
	struct rusage ru = {};
	uint64_t start, wall;
	size_t len = 0;
	int p[2], status, r;
	pid_t pid;

	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("nobody");

		if (pw && pw->pw_uid != 0 && pw->pw_gid != 0) {
			uid = pw->pw_uid;
			gid = pw->pw_gid;
		}
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return log_error_errno(errno, "Failed to make a pipe for the unwinder: %m");
	start = now_us();
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		return log_error_errno(r, "Failed to start the unwinder: %m");
	}
	if (pid == 0) {
		close(p[0]);
		child_sandbox(core_fd, p[1], uid, gid);
		/* Three quarters of the limit for the threads, the rest for the modules. */
		r = child_run(core_fd, p[1], req->sysroot, req->crashing_tid,
			      start + (uint64_t)limit_ms * 750);
		_exit(r < 0 ? 1 : 0);
	}
	close(p[1]);
	r = read_child(p[0], start + (uint64_t)limit_ms * 1000, &text, &len);
	close(p[0]);
	if (r < 0)
		(void)kill(pid, SIGKILL);
	/* A child that closed its output is not done yet: wait for it within the limit too. */
	for (;;) {
		pid_t w = wait4(pid, &status, r < 0 ? 0 : WNOHANG, &ru);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return log_error_errno(errno, "Failed to wait for the unwinder: %m");
		if (w == 0 && now_us() >= start + (uint64_t)limit_ms * 1000) {
			(void)kill(pid, SIGKILL);
			r = -ETIME;
		} else if (w == 0) {
			(void)nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
		}
	}
	wall = now_us() - start;
	if (r == -ETIME)
		return log_error_errno(r, "The unwinder ran past its time limit of %u ms; killed.",
				       limit_ms);
	if (r == -EFBIG)
		return log_error_errno(-EBADMSG, "The unwinder wrote more than %u bytes; killed.",
				       (unsigned)UNWIND_MAX_OUTPUT);
	if (r < 0)
		return log_error_errno(r, "Failed to read the unwinder's output: %m");
	if (WIFSIGNALED(status))
		return log_error_errno(-EBADMSG,
				       "The unwinder died of signal %d (peak RSS %ld KiB).",
				       WTERMSIG(status), ru.ru_maxrss);
	/* Exit status 1 comes with an "error" the parse reports. */
	if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
		return log_error_errno(
			-EBADMSG, "The unwinder could not set up its sandbox (exit status %d).",
			WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	r = parse_child(text, len, req, &res);
	if (r < 0)
		return r;
	if (WEXITSTATUS(status) != 0) {
		unwind_result_free(res);
		return log_error_errno(-EBADMSG, "The unwinder failed without saying why.");
	}
	res->child_wall_us = wall;
	res->child_maxrss_kib = ru.ru_maxrss;
	*ret = res;
	return 0;
}

#else /* !HAVE_STACKTRACE */

int unwind_core(int core_fd, const struct unwind_request *req, struct unwind_result **ret)
{
	(void)core_fd;
	(void)req;
	(void)ret;
	return -EOPNOTSUPP;
}

#endif
