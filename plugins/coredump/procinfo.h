/* SPDX-License-Identifier: MIT */
/*
 * What faultd-core-handler reads of the crashed process from <sysroot>/proc/<pid> before it
 * drains the core (the process exists until then): its name, program, command line and memory
 * map, each capped, and its memory for the link_map walk. Everything is best effort: a crash is
 * still captured when some of it cannot be read.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_CMDLINE_MAX 4096
#define PROC_MAPS_MAX	 (64 * 1024)

struct proc_info {
	char comm[17]; /* printable; "" when unreadable */
	char *exe;     /* the program's path; NULL when unreadable */
	char *cmdline; /* arguments joined by spaces, non-printable bytes as '?'; NULL */
	char *maps;    /* /proc/<pid>/maps, at most PROC_MAPS_MAX bytes; NULL */
	bool maps_truncated;
	int mem_fd; /* /proc/<pid>/mem, or -1 */
};

/* Reads what can be read of pid under sysroot ("/" or a test tree) into *ret, which must be
 * released with proc_info_done(). Returns 0, or -ENOMEM. */
int proc_info_read(const char *sysroot, pid_t pid, struct proc_info *ret);

void proc_info_done(struct proc_info *p);

/* An lm_read_t over the process's memory (userdata: the struct proc_info). */
int proc_mem_read(void *userdata, uint64_t addr, void *buf, size_t len);
