/* SPDX-License-Identifier: MIT */
/*
 * Readers and parsers of the /proc and /sys files the sysmetrics plugin samples. Parsers are pure
 * functions of NUL-terminated text; readers are functions of a path (resolved by the caller
 * against the sysroot) and a caller's buffer, so a poll allocates nothing and tests run on fake
 * trees. Nothing here knows the plugin API.
 *
 * Every parser trusts nothing: a number must be decimal digits that fit in 64 bits, a line that
 * the kernel always ends with '\n' is refused without one (a truncated read), and a missing field
 * is an error (-EBADMSG) rather than a zero.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/statvfs.h>

/* Bytes read at most from each file: what the kernel writes there, with room to spare. */
#define SYSMETRICS_STAT_HEAD	 4096  /* /proc/stat: only its first line is used */
#define SYSMETRICS_SMALL_MAX	 256   /* /proc/loadavg, /proc/uptime, thermal temp and type */
#define SYSMETRICS_MEMINFO_MAX	 8192  /* /proc/meminfo (about 1.5 KiB) */
#define SYSMETRICS_NETDEV_MAX	 65536 /* /proc/net/dev: about 150 bytes per interface */
#define SYSMETRICS_PIDSTAT_MAX	 2048  /* /proc/<pid>/stat: 52 numbers and a name */
#define SYSMETRICS_DISKSTATS_MAX 65536 /* /proc/diskstats: about 120 bytes per block device */
#define SYSMETRICS_VMSTAT_MAX	 16384 /* /proc/vmstat: about 5 KiB in Linux 6.x */

#define SYSMETRICS_IFNAME_MAX	 16 /* IFNAMSIZ, the NUL included */
#define SYSMETRICS_COMM_MAX	 64 /* the kernel's longest task name in /proc/<pid>/stat + NUL */
#define SYSMETRICS_TASK_COMM_LEN 16 /* a user process's comm: 15 bytes + NUL */
#define SYSMETRICS_THERMAL_TYPE	 48 /* a thermal zone's type, NUL included; longer is cut */
#define SYSMETRICS_DISK_NAME_MAX 32 /* DISK_NAME_LEN: a block device's name, NUL included */

/*
 * Reads the file at path into buf (size bytes, size >= 2), NUL-terminated, at most size - 1
 * bytes: *ret_len receives the length, *ret_truncated whether the file held more. Returns 0 or
 * -errno (-EISDIR for a directory, -ENOENT for a vanished file or process, -ESRCH for a process
 * that exited while being read). A FIFO planted in a fake tree reads as empty: the file is opened
 * non-blocking.
 */
int sysmetrics_read(const char *path, char *buf, size_t size, size_t *ret_len, bool *ret_truncated);

/* As sysmetrics_read(), for path relative to the directory open as dirfd. */
int sysmetrics_read_at(int dirfd, const char *path, char *buf, size_t size, size_t *ret_len,
		       bool *ret_truncated);

/* CPU states of /proc/stat's "cpu" line, in the kernel's order. */
enum sysmetrics_cpu_state {
	SYSMETRICS_CPU_USER,
	SYSMETRICS_CPU_NICE,
	SYSMETRICS_CPU_SYSTEM,
	SYSMETRICS_CPU_IDLE,
	SYSMETRICS_CPU_IOWAIT,	/* since Linux 2.5.41 */
	SYSMETRICS_CPU_IRQ,	/* since 2.6.0 */
	SYSMETRICS_CPU_SOFTIRQ, /* since 2.6.0 */
	SYSMETRICS_CPU_STEAL,	/* since 2.6.11 */
	_SYSMETRICS_CPU_MAX,
};

/* "user", "nice", ...: the state's name in metric keys. */
const char *sysmetrics_cpu_state_name(enum sysmetrics_cpu_state s);

struct sysmetrics_cpu {
	uint64_t ticks[_SYSMETRICS_CPU_MAX]; /* USER_HZ ticks since boot, all CPUs together */
	unsigned n_states;		     /* how many of ticks[] the kernel gave, >= 4 */
};

/* Parses the aggregate "cpu" line, which must be text's first line and end with '\n'. Returns 0,
 * or -EBADMSG for anything else (no "cpu " line, fewer than four numbers, garbage, overflow). */
int sysmetrics_parse_cpu(const char *text, struct sysmetrics_cpu *ret);

/* Parses /proc/loadavg ("0.52 0.58 0.59 1/457 12345"): the three load averages. Returns 0 or
 * -EBADMSG. */
int sysmetrics_parse_loadavg(const char *text, double ret[static 3]);

/* Parses /proc/uptime ("350735.47 234388.90"): seconds since boot. Returns 0 or -EBADMSG. */
int sysmetrics_parse_uptime(const char *text, double *ret);

enum {
	SYSMETRICS_MEM_TOTAL = 1 << 0,
	SYSMETRICS_MEM_FREE = 1 << 1,
	SYSMETRICS_MEM_AVAILABLE = 1 << 2, /* since Linux 3.14 */
	SYSMETRICS_MEM_BUFFERS = 1 << 3,
	SYSMETRICS_MEM_CACHED = 1 << 4,
	SYSMETRICS_MEM_SWAP_TOTAL = 1 << 5,
	SYSMETRICS_MEM_SWAP_FREE = 1 << 6,
};

struct sysmetrics_mem {
	uint64_t total, free, available, buffers, cached, swap_total, swap_free; /* bytes */
	unsigned have; /* SYSMETRICS_MEM_* of the fields found */
};

/* Parses /proc/meminfo ("MemTotal:  16314180 kB" lines; only whole lines count). Returns 0, or
 * -EBADMSG when MemTotal or MemFree is missing or a wanted field is malformed. */
int sysmetrics_parse_meminfo(const char *text, struct sysmetrics_mem *ret);

/* Memory available to new work in bytes: MemAvailable, or on kernels before 3.14 the usual
 * estimate MemFree + Buffers + Cached. */
uint64_t sysmetrics_mem_available(const struct sysmetrics_mem *m);

/* The counters of one interface kept from /proc/net/dev, in metric key order. */
enum sysmetrics_net_counter {
	SYSMETRICS_NET_RX_BYTES,
	SYSMETRICS_NET_TX_BYTES,
	SYSMETRICS_NET_RX_PACKETS,
	SYSMETRICS_NET_TX_PACKETS,
	SYSMETRICS_NET_RX_ERRORS,
	SYSMETRICS_NET_TX_ERRORS,
	SYSMETRICS_NET_RX_DROPS,
	SYSMETRICS_NET_TX_DROPS,
	_SYSMETRICS_NET_MAX,
};

/* "rx_bytes", "tx_bytes", ...: the counter's name in metric keys. */
const char *sysmetrics_net_counter_name(enum sysmetrics_net_counter c);

struct sysmetrics_netdev {
	char name[SYSMETRICS_IFNAME_MAX];
	uint64_t v[_SYSMETRICS_NET_MAX];
};

/* Called for each well-formed interface line; a negative return stops the parse and is returned. */
typedef int (*sysmetrics_netdev_cb)(const struct sysmetrics_netdev *dev, void *userdata);

/*
 * Parses /proc/net/dev, calling cb for each interface line. Header lines (without ':') are
 * skipped; a line with a bad name, fewer than 16 numbers, garbage or no final '\n' is skipped and
 * counted in *ret_malformed. Returns 0 or cb's negative return.
 */
int sysmetrics_parse_netdev(const char *text, sysmetrics_netdev_cb cb, void *userdata,
			    unsigned *ret_malformed);

/* The counters of one block device kept from /proc/diskstats. */
enum sysmetrics_disk_counter {
	SYSMETRICS_DISK_READS,		 /* reads completed (field 1) */
	SYSMETRICS_DISK_SECTORS_READ,	 /* 512-byte sectors read (field 3) */
	SYSMETRICS_DISK_WRITES,		 /* writes completed (field 5) */
	SYSMETRICS_DISK_SECTORS_WRITTEN, /* 512-byte sectors written (field 7) */
	_SYSMETRICS_DISK_MAX,
};

struct sysmetrics_diskstat {
	char name[SYSMETRICS_DISK_NAME_MAX];
	uint64_t v[_SYSMETRICS_DISK_MAX];
};

/* Called for each well-formed device line; a negative return stops the parse and is returned. */
typedef int (*sysmetrics_diskstats_cb)(const struct sysmetrics_diskstat *d, void *userdata);

/*
 * Parses /proc/diskstats ("   8       0 sda 57839 46346 3776180 ..."), calling cb for each line:
 * major, minor, a name of 1 to 31 printable bytes without '/', then at least the 11 numbers every
 * kernel since 2.6.25 prints (later ones add discard and flush figures). A line with a bad name,
 * fewer numbers, garbage, a number over 2^64 - 1 or no final '\n' is skipped and counted in
 * *ret_malformed. Returns 0 or cb's negative return.
 */
int sysmetrics_parse_diskstats(const char *text, sysmetrics_diskstats_cb cb, void *userdata,
			       unsigned *ret_malformed);

/* The /proc/vmstat counters kept, in the order of their metric keys. */
enum sysmetrics_vm_counter {
	SYSMETRICS_VM_PGPGIN,	  /* KiB read from block devices (the kernel's unit, not pages) */
	SYSMETRICS_VM_PGPGOUT,	  /* KiB written to block devices */
	SYSMETRICS_VM_PSWPIN,	  /* pages swapped in */
	SYSMETRICS_VM_PSWPOUT,	  /* pages swapped out */
	SYSMETRICS_VM_PGMAJFAULT, /* major page faults: pages read from storage on access */
	_SYSMETRICS_VM_MAX,
};

/* "pgpgin", "pgpgout", ...: the counter's name in /proc/vmstat. */
const char *sysmetrics_vm_counter_name(enum sysmetrics_vm_counter c);

struct sysmetrics_vmstat {
	uint64_t v[_SYSMETRICS_VM_MAX];
	unsigned have; /* bit c set: v[c] was found */
};

/*
 * Parses /proc/vmstat ("pgpgin 123456" lines): the counters above that it holds (a kernel without
 * CONFIG_VM_EVENT_COUNTERS has none). Only whole lines count. Returns 0, or -EBADMSG when no line
 * has the form "name number" or a wanted counter is malformed (garbage, over 2^64 - 1).
 */
int sysmetrics_parse_vmstat(const char *text, struct sysmetrics_vmstat *ret);

/*
 * Parses an eMMC's life_time sysfs file ("0x01 0x02\n": the JEDEC device life time estimates of
 * type A and type B, each 0x00 to 0xff) into ret. Returns 0 or -EBADMSG.
 */
int sysmetrics_parse_life_time(const char *text, unsigned ret[static 2]);

/* Parses an eMMC's pre_eol_info sysfs file ("0x01\n") into *ret (0x00 to 0xff). Returns 0 or
 * -EBADMSG. */
int sysmetrics_parse_pre_eol(const char *text, unsigned *ret);

/*
 * The life time remaining in percent of a JEDEC life time estimate, as memfaultd reports it:
 * 0x01 (0 to 10 % used) is 100, ..., 0x0A (90 to 100 % used) is 10, 0x0B (exceeded) is 0.
 * Returns it, or -ENODATA for 0x00 (not defined) and -ERANGE for a reserved value (over 0x0B).
 */
int sysmetrics_life_remaining_pct(unsigned estimate);

/*
 * The rate per second of a counter that went from prev to cur in elapsed seconds, into *ret.
 * Returns false, leaving *ret alone, when the counter went backwards (a wrap, a reset, a device
 * replaced) or elapsed is not positive: no rate is then better than a negative or huge one.
 */
bool sysmetrics_rate(uint64_t prev, uint64_t cur, double elapsed, double *ret);

struct sysmetrics_pidstat {
	char comm[SYSMETRICS_COMM_MAX]; /* cut to SYSMETRICS_COMM_MAX - 1 bytes if longer */
	uint64_t utime, stime;		/* USER_HZ ticks */
	uint64_t threads;
	uint64_t starttime; /* USER_HZ ticks after boot */
	uint64_t rss_pages;
};

/* Parses /proc/<pid>/stat ("1234 (name) S 1 ..."; the name may hold spaces and parentheses).
 * Returns 0, or -EBADMSG for fewer than 24 fields or a malformed one. */
int sysmetrics_parse_pidstat(const char *text, struct sysmetrics_pidstat *ret);

/* Whether comm (as the kernel shows it) names the process name: equal, or equal to its first 15
 * bytes, since the kernel cuts a process's comm there. */
bool sysmetrics_comm_matches(const char *name, const char *comm);

/* How a configured process is told apart from the others. */
enum sysmetrics_proc_kind {
	SYSMETRICS_PROC_NAME,	 /* "NAME": every process whose comm is NAME */
	SYSMETRICS_PROC_SELF,	 /* "NAME=self": faultd's own process */
	SYSMETRICS_PROC_PIDFILE, /* "NAME=pidfile:PATH": the process whose pid PATH holds */
	SYSMETRICS_PROC_UNIT,	 /* "NAME=unit:UNIT": every process in systemd unit UNIT's cgroup */
	SYSMETRICS_PROC_EXE,	 /* "NAME=exe:PATH": every process running the executable PATH */
};

#define SYSMETRICS_PROC_NAME_MAX 63   /* bytes of a configured process's NAME */
#define SYSMETRICS_PROC_ARG_MAX	 255  /* bytes of its PATH or UNIT */
#define SYSMETRICS_PIDFILE_MAX	 64   /* bytes read of a pid file */
#define SYSMETRICS_CGROUP_MAX	 4096 /* bytes read of /proc/<pid>/cgroup */

struct sysmetrics_proc_spec {
	enum sysmetrics_proc_kind kind;
	char name[SYSMETRICS_PROC_NAME_MAX + 1]; /* the key's <name> */
	const char *arg; /* PATH or UNIT, pointing into the parsed text; NULL for NAME and self */
};

/*
 * Parses one entry of sysmetrics.processes: "NAME", "NAME=self", "NAME=pidfile:PATH",
 * "NAME=unit:UNIT" or "NAME=exe:PATH" (NAME 1 to 63 bytes without '/' or '='; PATH absolute,
 * UNIT a unit name with a '.' and no '/'; both at most 255 bytes). Returns 0, or -EINVAL with
 * *ret_why saying what was expected. ret->arg points into value.
 */
int sysmetrics_parse_proc_spec(const char *value, struct sysmetrics_proc_spec *ret,
			       const char **ret_why);

/* Parses a pid file: decimal digits, optionally followed by blanks and one newline. Returns the
 * pid (> 0), or -EBADMSG. */
int sysmetrics_parse_pidfile(const char *text);

/* Whether /proc/<pid>/cgroup text puts the process in systemd unit unit: its unified (v2) or
 * name=systemd (v1) hierarchy's path has a component equal to unit, so the unit's sub-cgroups
 * count too. */
bool sysmetrics_cgroup_in_unit(const char *text, const char *unit);

/* Whether the target of /proc/<pid>/exe names the executable path: equal, or path followed by
 * " (deleted)", as the kernel shows a program whose file was replaced by an upgrade. */
bool sysmetrics_exe_matches(const char *target, const char *path);

/* Parses a thermal zone's temp (millidegrees Celsius, may be negative) into degrees. Returns 0,
 * or -EBADMSG for garbage or a value outside [-273150, 10000000] millidegrees. */
int sysmetrics_parse_millicelsius(const char *text, double *ret);

/* Copies the first line of a thermal zone's type into buf (size bytes), cut to fit. Returns its
 * length, 0 for an empty or unprintable type (the caller then names the zone by number). */
size_t sysmetrics_parse_thermal_type(const char *text, char *buf, size_t size);

/* The number N of a directory entry named "<prefix>N" (N decimal, no sign, no leading zero unless
 * "0", below 2^31); -EINVAL for any other name. */
int sysmetrics_parse_numbered(const char *name, const char *prefix);

/* Writes into buf (size bytes) the key name of a mount point: "/" is "root", others lose their
 * leading and trailing '/' and have '/' turned into '_' ("/var/lib" is "var_lib"). Returns 0, or
 * -ENAMETOOLONG when it does not fit, -EINVAL for a path that is not absolute. */
int sysmetrics_fs_name(const char *mount_point, char *buf, size_t size);

struct sysmetrics_df {
	uint64_t used;	 /* bytes in use: blocks - free blocks */
	uint64_t avail;	 /* bytes available to unprivileged users, as df(1) says */
	double used_pct; /* used / (used + avail), as df(1) computes Use% */
};

/* Computes a filesystem's usage from statvfs(3). Returns 0, -EBADMSG for inconsistent counts
 * (more free blocks than blocks), -ERANGE when a figure does not fit in 64 bits. */
int sysmetrics_df_from_statvfs(const struct statvfs *st, struct sysmetrics_df *ret);

/*
 * Puts in ret[i] the increase of counter i from prev to cur, for n counters; a counter that went
 * backwards (a reset, a 32-bit wrap, a recreated interface) gets 0. Returns how many went
 * backwards, so the caller can decide whether the whole sample is a new baseline.
 */
unsigned sysmetrics_deltas(const uint64_t *prev, const uint64_t *cur, size_t n, uint64_t *ret);
