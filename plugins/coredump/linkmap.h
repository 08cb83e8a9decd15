/* SPDX-License-Identifier: MIT */
/*
 * The dynamic linker's list of loaded objects, found the way a debugger finds it: the main
 * program's headers (AT_PHDR) -> its dynamic section -> DT_DEBUG -> struct r_debug -> the
 * link_map chain and each object's name. The memory is read through a callback (the crashed
 * process's /proc/<pid>/mem, or a saved core) and every pointer in it is hostile: the walk is
 * capped in objects and name lengths, and a chain that loops ends at the first repeat.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Reads len bytes at addr of the crashed process into buf: 0, or -errno when not all of them
 * can be read. */
typedef int (*lm_read_t)(void *userdata, uint64_t addr, void *buf, size_t len);

/* Called for each range of memory a debugger reads to rebuild the list. */
typedef int (*lm_range_t)(void *userdata, uint64_t start, uint64_t len);

#define LM_MAX_OBJECTS 1024 /* link_map entries followed */
#define LM_MAX_NAME    512  /* bytes of an object's name read (a debugger reads no more) */
#define LM_MAX_PHNUM   256  /* program headers of the main program read */
#define LM_MAX_DYNAMIC 4096 /* entries of its dynamic section read */

struct lm_walk {
	unsigned word;	/* 4 or 8: the process's pointer size */
	uint64_t phdr;	/* AT_PHDR */
	uint64_t phent; /* AT_PHENT */
	uint64_t phnum; /* AT_PHNUM */
	lm_read_t read;
	void *read_userdata;
	lm_range_t range;
	void *range_userdata;
};

/*
 * Walks from w->phdr and reports the ranges to keep through w->range: the main program's dynamic
 * section, r_debug, every link_map's public fields and every name. Returns the number of objects
 * found (0 for a static program), or -errno: -ENOENT when the headers are not readable, -EBADMSG
 * when they are not a program's, or what w->range returned. Ranges found before a failure have
 * been reported.
 */
int lm_walk(const struct lm_walk *w);
