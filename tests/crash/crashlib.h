/* SPDX-License-Identifier: MIT */
/*
 * A shared library for the crash test programs: a thread's stack passes through it, so that gdb
 * must find it (through the dynamic linker's list the trimmed core keeps) to unwind that thread.
 */
#pragma once

typedef void (*crashlib_leaf_fn)(int level, long cookie);

/* Recurses depth more times inside the library, then calls leaf(depth, cookie); returns what
 * leaf's caller chain returns, so the calls are not tail calls. */
int crashlib_descend(int depth, long cookie, crashlib_leaf_fn leaf);
