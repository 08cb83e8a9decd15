/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for plugins/coredump/elfcore.c: the input is a whole core file. It is walked
 * as faultd-core-handler walks a core (header, program headers, the notes of each PT_NOTE
 * segment that lies within the input, and the decoders of the notes it uses), with the checks
 * that make a finding of more than a crash: every refusal says why, every view stays within
 * the input, and what elfcore_write_*() writes parses back to what went in.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "elfcore.h"
#include "fuzz-util.h"

static void check_why(int r, const char *why)
{
	if (r == -EINVAL)
		CHECK(why && why[0]);
}

static bool within(const void *p, size_t n, const uint8_t *buf, size_t len)
{
	const uint8_t *q = p;

	return q >= buf && q <= buf + len && n <= (size_t)(buf + len - q);
}

static const uint64_t auxv_types[] = {
	0,
	ELFCORE_AT_PHDR,
	ELFCORE_AT_PHENT,
	ELFCORE_AT_PHNUM,
	ELFCORE_AT_PAGESZ,
	ELFCORE_AT_BASE,
	ELFCORE_AT_ENTRY,
	ELFCORE_AT_SYSINFO_EHDR,
};

static void decode_note(const struct elfcore_ehdr *e, const struct elfcore_note *n)
{
	const char *why = NULL;
	int r;

	if (elfcore_note_is(n, "CORE", ELFCORE_NT_PRSTATUS)) {
		struct elfcore_thread t;

		r = elfcore_parse_prstatus(e, n->desc, n->descsz, &t, &why);
		CHECK(r == 0 || r == -EINVAL || r == -EOPNOTSUPP);
		check_why(r, why);
	} else if (elfcore_note_is(n, "CORE", ELFCORE_NT_PRPSINFO)) {
		struct elfcore_psinfo ps;

		r = elfcore_parse_prpsinfo(e, n->desc, n->descsz, &ps, &why);
		CHECK(r == 0 || r == -EINVAL);
		check_why(r, why);
		if (r == 0)
			CHECK(strlen(ps.fname) < sizeof(ps.fname));
	} else if (elfcore_note_is(n, "CORE", ELFCORE_NT_AUXV)) {
		for (size_t i = 0; i < sizeof(auxv_types) / sizeof(auxv_types[0]); i++) {
			uint64_t v;

			r = elfcore_auxv_get(e, n->desc, n->descsz, auxv_types[i], &v, &why);
			CHECK(r == 0 || r == 1 || r == -EINVAL);
			check_why(r, why);
		}
	} else if (elfcore_note_is(n, "CORE", ELFCORE_NT_FILE)) {
		struct elfcore_file_iter it;
		struct elfcore_file_map m;
		uint64_t seen = 0;

		r = elfcore_file_iter_init(&it, e, n->desc, n->descsz, &why);
		check_why(r, why);
		if (r < 0)
			return;
		while ((r = elfcore_file_next(&it, &m, &why)) > 0) {
			CHECK(m.start <= m.end);
			CHECK(within(m.name, strlen(m.name) + 1, n->desc, n->descsz));
			seen++;
		}
		check_why(r, why);
		CHECK(r < 0 || seen == it.count);
	}
}

static void walk_notes(const struct elfcore_ehdr *e, const uint8_t *buf, size_t len)
{
	struct elfcore_note_iter it;
	struct elfcore_note n;
	const char *why = NULL;
	int r;

	elfcore_note_iter_init(&it, buf, len);
	while ((r = elfcore_note_next(&it, &n, &why)) > 0) {
		CHECK(within(n.name, n.namesz, buf, len));
		CHECK(within(n.desc, n.descsz, buf, len));
		decode_note(e, &n);
	}
	CHECK(r == 0 || r == -EINVAL);
	check_why(r, why);
}

static void walk_core(const uint8_t *data, size_t size, unsigned native_class)
{
	struct elfcore_ehdr e, back;
	uint8_t hdr[ELFCORE_EHDR_MAX], ph_buf[64];
	const char *why = NULL;
	int r;

	r = elfcore_parse_ehdr(data, size, native_class, &e, &why);
	CHECK(r == 0 || r == -EINVAL);
	check_why(r, why);
	if (r < 0)
		return;
	CHECK(e.elf_class == native_class);
	CHECK(elfcore_ehdr_size(data, size) == e.ehsize);

	/* The header written back parses to the same header (with phoff right after it). */
	elfcore_write_ehdr(&e, hdr);
	CHECK(elfcore_parse_ehdr(hdr, e.ehsize, native_class, &back, &why) == 0);
	CHECK(back.arch == e.arch && back.machine == e.machine && back.phnum == e.phnum &&
	      back.flags == e.flags && back.phoff == e.ehsize);

	if (e.phoff >= size)
		return;
	for (size_t i = 0; i < e.phnum; i++) {
		struct elfcore_phdr ph, ph_back;

		r = elfcore_parse_phdr(&e, data + e.phoff, size - e.phoff, i, &ph, &why);
		check_why(r, why);
		if (r < 0)
			continue;
		elfcore_write_phdr(&e, &ph, ph_buf);
		CHECK(elfcore_parse_phdr(&e, ph_buf, e.phentsize, 0, &ph_back, &why) == 0);
		CHECK(memcmp(&ph, &ph_back, sizeof(ph)) == 0);
		if (ph.type != ELFCORE_PT_NOTE || ph.offset > size || ph.filesz > size - ph.offset)
			continue;
		walk_notes(&e, data + ph.offset, (size_t)ph.filesz);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	walk_core(data, size, 64);
	walk_core(data, size, 32);
	return 0;
}
