/* SPDX-License-Identifier: MIT */
/*
 * Eviction: which entries of the spool go to make room for a new one, and which have aged out.
 * Pure decisions over a description of the spool (its committed entries, oldest first, as its
 * index holds them) and of its filesystem (what statvfs(2) says), with no I/O and no clock:
 * spool.c gathers the description, asks, applies the verdict and asks again. See docs/spool.md,
 * "Limits and eviction" and "Storage faults".
 *
 * Victim order: among the entries worth no more than the new one (of a class not above its own),
 * the lowest class first, and within a class the oldest first (index order: entries stamped
 * alike go in name order). The new entry counts as the newest of its class, so when no entry is
 * left in that order it is the new entry that goes: it is refused.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spool.h"

enum lc_evict_action {
	LC_EVICT_ADMIT,	 /* the new entry fits: evict nothing */
	LC_EVICT_EVICT,	 /* evict the first count entries in victim order, then ask again */
	LC_EVICT_REFUSE, /* refuse the new entry (a drop of reason), evicting nothing */
};

struct lc_evict_verdict {
	enum lc_evict_action action;
	enum lc_drop_reason reason; /* EVICT, REFUSE: the limit in the way, counted as the drops' */
	size_t count;		    /* EVICT: entries to evict; REFUSE: the entries worth no more,
				     * which could have gone but in vain (0: there are none) */
	uint64_t bytes;		    /* what those count entries hold */
};

/* The spool's filesystem as statvfs(2) describes it; free bytes are free_blocks × block_size. */
struct lc_evict_fs {
	uint64_t free_blocks; /* for unprivileged users: f_bavail */
	uint64_t block_size;  /* f_frsize */
	uint64_t free_inodes; /* f_favail */
};

/* The position in entries[0 .. n) of the first victim for a new entry of class cls, or -1 when
 * none is worth no more than it. */
ssize_t lc_evict_victim(const struct lc_spool_entry *entries, size_t n, enum lc_entry_class cls);

/*
 * What max_entries (never above LC_SPOOL_ENTRIES_MAX) and max_bytes make of a new entry of class
 * cls holding bytes: admitted; evictions counted as LC_DROP_ENTRIES, then (asked again) as
 * LC_DROP_BYTES; or refused at once when even evicting every entry worth no more would leave a
 * limit broken.
 */
struct lc_evict_verdict lc_evict_for_limits(const struct lc_spool_entry *entries, size_t n,
					    const struct lc_spool_limits *limits,
					    enum lc_entry_class cls, uint64_t bytes);

/*
 * What min_free_bytes and min_free_inodes make of a new entry of class cls, fs being the
 * filesystem with the new entry's files written: admitted, one eviction (LC_DROP_FREE_SPACE), or
 * refused when none is worth no more. One at a time: what an eviction frees on disk is known only
 * by asking statvfs again.
 */
struct lc_evict_verdict lc_evict_for_free_space(const struct lc_spool_entry *entries, size_t n,
						const struct lc_spool_limits *limits,
						const struct lc_evict_fs *fs,
						enum lc_entry_class cls);

/*
 * The filesystem refused a write of len bytes (0: unknown) of a new entry of class cls for want of
 * room (ENOSPC, EDQUOT): one eviction (LC_DROP_FREE_SPACE) before the write is tried again, or
 * refused when none is worth no more, or when len would not fit in fs's free space even with
 * every such entry gone (each freeing its bytes in whole blocks). fs NULL: not known, any len may
 * fit.
 */
struct lc_evict_verdict lc_evict_for_full(const struct lc_spool_entry *entries, size_t n,
					  const struct lc_evict_fs *fs, enum lc_entry_class cls,
					  size_t len);

/*
 * The entries older than max_age_seconds (0: no limit) at now_ms: returns how many, the
 * entries[*ret_first ..] that follow those stamped before 2020-01-01 (an unset clock: they never
 * age out). An entry exactly max_age_seconds old stays; one stamped in the future has age 0.
 */
size_t lc_evict_expired(const struct lc_spool_entry *entries, size_t n, uint64_t max_age_seconds,
			uint64_t now_ms, size_t *ret_first);
