/* SPDX-License-Identifier: MIT */
/*
 * Eviction decisions (evict.h): pure functions of the spool's entries, its limits and what
 * statvfs(2) said, so that tests give them tables of cases instead of a filesystem.
 */
#include "evict.h"

#define CLOCK_SET_MS 1577836800000ULL /* 2020-01-01: earlier stamps come from an unset clock */

ssize_t lc_evict_victim(const struct lc_spool_entry *entries, size_t n, enum lc_entry_class cls)
{
	ssize_t best = -1;

	for (size_t i = 0; i < n; i++) {
		enum lc_entry_class c = entries[i].cls;

		if (c > cls || (best >= 0 && c >= entries[best].cls))
			continue;
		best = (ssize_t)i;
		if (c == LC_CLASS_METRICS)
			break;
	}
	return best;
}

/* Takes victims for a new entry of class cls in victim order until max_count are taken or they
 * hold min_bytes: returns how many, and the bytes they hold in *ret_bytes. */
static size_t victims_take(const struct lc_spool_entry *entries, size_t n, enum lc_entry_class cls,
			   size_t max_count, uint64_t min_bytes, uint64_t *ret_bytes)
{
	size_t count = 0;
	uint64_t bytes = 0;

	for (unsigned c = 0; c <= (unsigned)cls; c++)
		for (size_t i = 0; i < n && count < max_count && bytes < min_bytes; i++)
			if (entries[i].cls == c) {
				count++;
				bytes += entries[i].bytes;
			}
	*ret_bytes = bytes;
	return count;
}

struct lc_evict_verdict lc_evict_for_limits(const struct lc_spool_entry *entries, size_t n,
					    const struct lc_spool_limits *limits,
					    enum lc_entry_class cls, uint64_t bytes)
{
	const uint64_t max_n = limits->max_entries > 0 && limits->max_entries < LC_SPOOL_ENTRIES_MAX
				       ? limits->max_entries
				       : LC_SPOOL_ENTRIES_MAX;
	const uint64_t max_bytes = limits->max_bytes;
	struct lc_evict_verdict v = { .action = LC_EVICT_ADMIT };
	uint64_t total = 0, keep_n = 0, keep_bytes = 0;

	for (size_t i = 0; i < n; i++) {
		total += entries[i].bytes;
		if (entries[i].cls > cls) {
			keep_n++;
			keep_bytes += entries[i].bytes;
		}
	}
	/* Not even with every entry worth no more gone: refused at once, evicting none in vain. */
	if (keep_n + 1 > max_n ||
	    (max_bytes > 0 && (bytes > max_bytes || keep_bytes > max_bytes - bytes))) {
		v.action = LC_EVICT_REFUSE;
		v.reason = keep_n + 1 > max_n ? LC_DROP_ENTRIES : LC_DROP_BYTES;
		v.count = n - (size_t)keep_n;
		v.bytes = total - keep_bytes;
	} else if (n + 1 > max_n) {
		v.action = LC_EVICT_EVICT;
		v.reason = LC_DROP_ENTRIES;
		v.count =
			victims_take(entries, n, cls, n + 1 - (size_t)max_n, UINT64_MAX, &v.bytes);
	} else if (max_bytes > 0 && total > max_bytes - bytes) {
		v.action = LC_EVICT_EVICT;
		v.reason = LC_DROP_BYTES;
		v.count = victims_take(entries, n, cls, SIZE_MAX, total - (max_bytes - bytes),
				       &v.bytes);
	}
	return v;
}

/* A verdict of one eviction for free space, the first victim's, or a refusal when there is none. */
static struct lc_evict_verdict evict_one_for_free_space(const struct lc_spool_entry *entries,
							size_t n, enum lc_entry_class cls)
{
	ssize_t i = lc_evict_victim(entries, n, cls);

	if (i < 0)
		return (struct lc_evict_verdict){ .action = LC_EVICT_REFUSE,
						  .reason = LC_DROP_FREE_SPACE };
	return (struct lc_evict_verdict){
		.action = LC_EVICT_EVICT,
		.reason = LC_DROP_FREE_SPACE,
		.count = 1,
		.bytes = entries[i].bytes,
	};
}

struct lc_evict_verdict lc_evict_for_free_space(const struct lc_spool_entry *entries, size_t n,
						const struct lc_spool_limits *limits,
						const struct lc_evict_fs *fs,
						enum lc_entry_class cls)
{
	if ((limits->min_free_bytes == 0 ||
	     fs->free_blocks * fs->block_size >= limits->min_free_bytes) &&
	    (limits->min_free_inodes == 0 || fs->free_inodes >= limits->min_free_inodes))
		return (struct lc_evict_verdict){ .action = LC_EVICT_ADMIT };
	return evict_one_for_free_space(entries, n, cls);
}

struct lc_evict_verdict lc_evict_for_full(const struct lc_spool_entry *entries, size_t n,
					  const struct lc_evict_fs *fs, enum lc_entry_class cls,
					  size_t len)
{
	struct lc_evict_verdict v = evict_one_for_free_space(entries, n, cls);
	uint64_t block, room, freeable = 0, bytes = 0;
	size_t count = 0;

	if (v.action != LC_EVICT_EVICT || !fs || len == 0)
		return v;
	block = fs->block_size > 0 ? fs->block_size : 1;
	room = fs->free_blocks * block;
	if (room >= len)
		return v;
	/* Each entry gone frees at least its bytes in whole blocks. */
	for (size_t i = 0; i < n; i++)
		if (entries[i].cls <= cls) {
			freeable += (entries[i].bytes + block - 1) / block * block;
			bytes += entries[i].bytes;
			count++;
		}
	if (freeable >= len - room)
		return v;
	return (struct lc_evict_verdict){
		.action = LC_EVICT_REFUSE,
		.reason = LC_DROP_FREE_SPACE,
		.count = count,
		.bytes = bytes,
	};
}

size_t lc_evict_expired(const struct lc_spool_entry *entries, size_t n, uint64_t max_age_seconds,
			uint64_t now_ms, size_t *ret_first)
{
	uint64_t max_age_ms, cutoff;
	size_t lo = 0, hi = n, k = 0;

	*ret_first = 0;
	if (max_age_seconds == 0)
		return 0;
	max_age_ms = max_age_seconds > UINT64_MAX / 1000 ? UINT64_MAX : max_age_seconds * 1000;
	if (now_ms <= max_age_ms)
		return 0;
	cutoff = now_ms - max_age_ms;
	/* Sorted by time: the entries to expire follow those from before the clock was set. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (entries[mid].created_ms < CLOCK_SET_MS)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + k < n && entries[lo + k].created_ms < cutoff)
		k++;
	*ret_first = lo;
	return k;
}
