/* SPDX-License-Identifier: MIT */
/*
 * sysmetrics: the built-in system collectors. Every interval_seconds, and once more when the
 * heartbeat closes so that its last partial interval counts, the plugin samples /proc and /sys
 * below the sysroot into the heartbeat in progress. A counter carries the increase since the
 * previous sample, so the heartbeat's sum is the increase over the heartbeat; the sample taken at
 * start is only a baseline and reports nothing. A counter that goes backwards (a reset, a
 * 32-bit wrap, a recreated interface) makes its sample a new baseline: one interval is lost,
 * never a huge bogus value invented.
 *
 * Keys, kept short (the upload budget is about 1 KiB per device-hour for 100 metrics):
 *
 *   key                          kind     meaning
 *   cpu/user  cpu/nice           counter  CPU seconds spent in each state since the previous
 *   cpu/system  cpu/idle                  sample, all CPUs together (4 CPUs accrue 4 s per
 *   cpu/iowait  cpu/irq                   second); states the kernel does not show are not
 *   cpu/softirq  cpu/steal                reported
 *   load/1  load/5  load/15      gauge    load averages
 *   memory/total                 gauge    bytes of RAM
 *   memory/available             gauge    bytes available to new work: MemAvailable, or
 *                                         MemFree + Buffers + Cached before Linux 3.14
 *   memory/free                  gauge    bytes unused (MemFree)
 *   memory/swap_used             gauge    bytes of swap in use (only when the kernel has swap)
 *   uptime                       gauge    seconds since boot
 *   df/<fs>/used                 gauge    bytes in use
 *   df/<fs>/free                 gauge    bytes available to unprivileged users (df's Avail)
 *   df/<fs>/used_pct             gauge    df's Use%: used / (used + free) * 100
 *   net/<if>/rx_bytes, tx_bytes, rx_packets, tx_packets, rx_errors, tx_errors, rx_drops,
 *     tx_drops                   counter  increase since the previous sample
 *   thermal/<type>               gauge    degrees Celsius of thermal_zone<N>; thermal/zone<N>
 *                                         when the type is empty, unprintable or an earlier
 *                                         zone's already
 *   proc/<name>/rss              gauge    bytes resident, summed over the processes the entry
 *                                         <name> chooses (sysmetrics.processes: faultd itself,
 *                                         a pid file, a systemd unit, an executable, or every
 *                                         process of a name)
 *   proc/<name>/threads          gauge    threads of those processes (0: none is running)
 *   proc/<name>/cpu              counter  CPU seconds (user + system) they spent since the
 *                                         previous sample; a process started since then counts
 *                                         whole, one that exited loses its last interval
 *   diskstats/<disk>/reads_per_second, writes_per_second
 *                                histogram  reads and writes completed per second, over each
 *                                         interval (memfaultd's names)
 *   diskstats/<disk>/bytes_read_per_second, bytes_written_per_second
 *                                histogram  bytes (sectors * 512) per second, over each interval
 *   diskstats/<disk>/bytes_written  counter  bytes written since the previous sample
 *   diskstats/<disk>/lifetime_remaining_pct, lifetime_b_remaining_pct
 *                                gauge    an eMMC's life left by its JEDEC estimates of type A
 *                                         and B (sysfs life_time: 0x01 is 100, 0x0B is 0)
 *   diskstats/<disk>/pre_eol_info  gauge  an eMMC's pre-EOL state: 1 normal, 2 warning, 3 urgent
 *   memory/vm/pages_in_per_second, pages_out_per_second, swaps_in_per_second,
 *     swaps_out_per_second, major_faults_per_second
 *                                histogram  /proc/vmstat's pgpgin, pgpgout (KiB, whatever the
 *                                         name), pswpin, pswpout and pgmajfault per second
 *
 * Rates are increases divided by the seconds between two samples, measured on /proc/uptime below
 * the sysroot (the plugin's clock, so a fake tree fakes it too). A counter that went backwards
 * gives no rate for that interval; a sample less than a second after its baseline, or without an
 * uptime, keeps the baseline so that the next rate spans both intervals.
 *
 * <fs> is a mount point without its leading '/' and with '/' turned into '_' ("/" is "root",
 * "/var/log" is "var_log"), or "state" for the filesystem of faultd's state directory (the
 * spool's room) when no listed mount point is on it. <if> is the interface's name, <name> the
 * entry's name as configured, <disk> a whole disk's as /sys/block lists it (sysmetrics.disks, at
 * most 8). That is 16 keys plus 3 per filesystem, 8 per interface, 1 per thermal zone, 3 per
 * process, 5 histograms for paging and 4 histograms and a counter per disk (and 3 gauges per
 * eMMC).
 *
 * Cost: every read goes into one buffer allocated at start; /proc is kept open and rewound to
 * list processes, whose stat files are opened relative to it; a sample allocates nothing except
 * in the store. /proc/<pid>/stat alone gives name, CPU time, threads and RSS, so a process costs
 * one open and read per sample, not two (status would repeat the same figures). /proc is listed
 * only when an entry chooses by name, unit (one more read of /proc/<pid>/cgroup per process) or
 * executable (one readlink of /proc/<pid>/exe); faultd itself and pid files cost one read each.
 * /proc/vmstat and /proc/diskstats are one read each (diskstats only while a disk is followed);
 * /sys/block is listed and the eMMC files read only when a heartbeat closes.
 */
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "clock.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "procfs.h"
#include "schema.h"
#include "sysmetrics-plugin.h"

#define SYSMETRICS_MAX_IFACES	64   /* interfaces followed */
#define SYSMETRICS_MAX_ZONES	32   /* thermal zones read */
#define SYSMETRICS_MAX_TASKS	64   /* processes whose CPU time is followed */
#define SYSMETRICS_MAX_SCAN	8192 /* /proc entries looked at per sample */
#define SYSMETRICS_MAX_DISKS	8    /* whole disks followed */
#define SYSMETRICS_MIN_ELAPSED	1.0  /* seconds a rate is measured over, at least */
#define SYSMETRICS_MOUNT_MAX	96   /* bytes of a configured mount point */
#define SYSMETRICS_PATTERN_MAX	64   /* bytes of an interface pattern */
#define SYSMETRICS_BUF_SIZE	(MAX(SYSMETRICS_NETDEV_MAX, SYSMETRICS_DISKSTATS_MAX) + 1)
#define SYSMETRICS_ZONE_KEY_MAX (sizeof("thermal/") + SYSMETRICS_THERMAL_TYPE)

/* Files read each sample; a failure is logged once until the file is usable again. */
enum sysmetrics_source {
	SYSMETRICS_SRC_STAT,
	SYSMETRICS_SRC_LOADAVG,
	SYSMETRICS_SRC_MEMINFO,
	SYSMETRICS_SRC_UPTIME,
	SYSMETRICS_SRC_NETDEV,
	SYSMETRICS_SRC_PROC, /* the /proc directory itself */
	SYSMETRICS_SRC_PIDSTAT,
	SYSMETRICS_SRC_THERMAL, /* the thermal class directory */
	SYSMETRICS_SRC_VMSTAT,
	SYSMETRICS_SRC_DISKSTATS,
	SYSMETRICS_SRC_BLOCK, /* the /sys/block directory */
	_SYSMETRICS_SRC_MAX,
};

/* Limits; each is logged the first time it is hit and counted every time. */
enum sysmetrics_limit {
	SYSMETRICS_LIMIT_IFACES,
	SYSMETRICS_LIMIT_ZONES,
	SYSMETRICS_LIMIT_TASKS,
	SYSMETRICS_LIMIT_SCAN,
	SYSMETRICS_LIMIT_NETDEV_SIZE,
	SYSMETRICS_LIMIT_DISKS,
	SYSMETRICS_LIMIT_DISKSTATS_SIZE,
	SYSMETRICS_LIMIT_VMSTAT_SIZE,
	_SYSMETRICS_LIMIT_MAX,
};

struct sysmetrics_iface {
	char name[SYSMETRICS_IFNAME_MAX]; /* "": a free slot */
	uint64_t v[_SYSMETRICS_NET_MAX];
	unsigned seen; /* the generation of the last sample that listed it */
};

struct sysmetrics_fs {
	char *path; /* the mount point below the sysroot */
	char name[SYSMETRICS_MOUNT_MAX];
	dev_t dev;
	unsigned seen; /* the generation of the last sample that reported it */
	bool warned;
};

struct sysmetrics_zone {
	int number; /* N of thermal_zoneN */
	char key[SYSMETRICS_ZONE_KEY_MAX];
	bool warned;
};

/* A whole disk (an entry of /sys/block) whose I/O and, for an eMMC, wear is reported. */
struct sysmetrics_disk {
	char name[SYSMETRICS_DISK_NAME_MAX];
	uint64_t v[_SYSMETRICS_DISK_MAX];
	double at;     /* the uptime when v was read; negative: no baseline */
	unsigned seen; /* the generation of the last sample that listed it */
	bool warned_life, warned_eol;
};

/* A process whose CPU time is followed, known by pid and start time (pids are reused). */
struct sysmetrics_task {
	int pid;       /* 0: a free slot */
	unsigned name; /* index in the configured processes */
	uint64_t starttime, ticks;
	unsigned seen;
};

/* A configured process (sysmetrics.processes) and what identifies it now. */
struct sysmetrics_proc {
	struct sysmetrics_proc_spec spec;
	char *pidfile; /* SYSMETRICS_PROC_PIDFILE: the pid file below the sysroot */
	int pid;       /* SELF, PIDFILE: the pid this sample looks for, 0 for none */
	bool warned;   /* the pid file's failure was logged */
};

/* What one sample found of one configured process. */
struct sysmetrics_proc_sum {
	uint64_t rss, threads, ticks;
	unsigned n;
};

struct sysmetrics {
	struct lc_plugin *p;
	bool baseline; /* the sample at start: it only sets the counters' baselines */
	long hz, page_size;
	char *proc;    /* <sysroot>/proc */
	char *thermal; /* <sysroot>/sys/class/thermal */
	char *block;   /* <sysroot>/sys/block */
	char *buf;     /* SYSMETRICS_BUF_SIZE bytes: every file is read here */
	char path[PATH_MAX];
	const char *const *if_include, *const *if_exclude;
	const char *const *disk_include, *const *disk_exclude;
	struct sysmetrics_proc *procs; /* sysmetrics.processes */
	size_t n_processes;
	bool scan; /* a process is chosen by name, unit or executable: /proc is listed */
	struct sysmetrics_fs *fs;
	size_t n_fs;
	struct sysmetrics_zone zones[SYSMETRICS_MAX_ZONES];
	size_t n_zones;
	struct sysmetrics_iface ifaces[SYSMETRICS_MAX_IFACES];
	struct sysmetrics_disk disks[SYSMETRICS_MAX_DISKS];
	size_t n_disks;
	struct sysmetrics_vmstat vm;
	double vm_at; /* the uptime when vm was read; negative: no baseline */
	double now;   /* this sample's uptime, the time base of rates; negative: unknown */
	struct sysmetrics_task tasks[SYSMETRICS_MAX_TASKS];
	struct sysmetrics_proc_sum *sums; /* n_processes */
	DIR *proc_dir;
	struct sysmetrics_cpu cpu;
	bool have_cpu;
	double uptime;
	bool have_uptime;
	unsigned generation;
	bool warned[_SYSMETRICS_SRC_MAX];
	uint64_t limit_hits[_SYSMETRICS_LIMIT_MAX];

	/* For the status. */
	unsigned interval;
	uint64_t polls, last_poll_usec;
	unsigned n_ifaces, n_fs_found, n_pids;
	uint64_t read_errors, malformed, rejected;
};

static int sysmetrics_check_mount_point(const char *value, const char **ret_why)
{
	int r = lc_check_absolute_path(value, ret_why);

	if (r < 0)
		return r;
	if (strlen(value) > SYSMETRICS_MOUNT_MAX - 1) {
		*ret_why = "expected a mount point of at most 95 bytes";
		return -EINVAL;
	}
	return 0;
}

static int sysmetrics_check_pattern(const char *value, const char **ret_why)
{
	if (!value[0] || strlen(value) > SYSMETRICS_PATTERN_MAX) {
		*ret_why = "expected a pattern of 1 to 64 bytes";
		return -EINVAL;
	}
	return 0;
}

static int sysmetrics_check_process(const char *value, const char **ret_why)
{
	struct sysmetrics_proc_spec spec;

	return sysmetrics_parse_proc_spec(value, &spec, ret_why);
}

static const char *const sysmetrics_def_filesystems[] = { "/", NULL };
static const char *const sysmetrics_def_interfaces[] = { "*", NULL };
static const char *const sysmetrics_def_exclude[] = { "lo", NULL };
static const char *const sysmetrics_def_processes[] = { "faultd=self", NULL };
static const char *const sysmetrics_def_disks[] = { "*", NULL };
/* Devices that are not flash of their own: loop files, RAM disks, compressed RAM, device-mapper
 * volumes over a disk already counted, and an eMMC's boot and RPMB hardware partitions (the
 * chip's wear is reported on mmcblkN). */
static const char *const sysmetrics_def_disks_exclude[] = {
	"loop*", "ram*", "zram*", "dm-*", "mmcblk*boot*", "mmcblk*rpmb", NULL,
};

static const struct lc_cfg_key sysmetrics_keys[] = {
	{
		.name = "enabled",
		.type = LC_CFG_BOOL,
		.def_bool = true,
		.description = "Sample CPU time, load, memory, filesystems, network interfaces, "
			       "thermal zones and chosen processes from /proc and /sys into every "
			       "heartbeat.",
	},
	{
		.name = "interval_seconds",
		.type = LC_CFG_INT,
		.def_int = 10,
		.min = 1,
		.max = 3600,
		.description = "Seconds between two samples. Counters are summed and gauges keep "
			       "their last value over the heartbeat whatever the interval; a "
			       "shorter one only sharpens gauges' min and max.",
	},
	{
		.name = "filesystems",
		.type = LC_CFG_STRV,
		.def_strv = sysmetrics_def_filesystems,
		.max = 16,
		.check = sysmetrics_check_mount_point,
		.description = "Mount points whose usage is reported as df/<name>/used, free and "
			       "used_pct, where <name> is the path without its leading '/' and "
			       "with '/' as '_' (\"/\" is \"root\"). The filesystem of "
			       "state_dir, where the spool lives, is added as df/state. A mount "
			       "point on the same filesystem as an earlier one (or state_dir on a "
			       "listed one) is skipped, so nothing is reported twice.",
	},
	{
		.name = "interfaces",
		.type = LC_CFG_STRV,
		.def_strv = sysmetrics_def_interfaces,
		.max = 32,
		.check = sysmetrics_check_pattern,
		.description = "Network interfaces to report, as shell patterns (fnmatch(3)) on "
			       "their names: eight counters each, net/<if>/rx_bytes and so on. At "
			       "most 64 interfaces are followed.",
	},
	{
		.name = "interfaces_exclude",
		.type = LC_CFG_STRV,
		.def_strv = sysmetrics_def_exclude,
		.max = 32,
		.check = sysmetrics_check_pattern,
		.description = "Patterns of interfaces left out even when \"interfaces\" matches "
			       "them (say \"veth*\" on a device running containers).",
	},
	{
		.name = "processes",
		.type = LC_CFG_STRV,
		.def_strv = sysmetrics_def_processes,
		.max = 16,
		.check = sysmetrics_check_process,
		.description =
			"Processes whose resident memory, threads and CPU time are "
			"reported as proc/<name>/rss, threads and cpu. Each entry is one of: "
			"\"NAME=self\", faultd's own process; \"NAME=pidfile:PATH\", the "
			"process whose pid the file PATH (below sysroot) holds, read again at "
			"each sample; \"NAME=unit:UNIT\", every process in the cgroup of "
			"systemd unit UNIT (say gatewayd.service), its sub-cgroups included; "
			"\"NAME=exe:PATH\", every process running the executable PATH (as "
			"/proc/<pid>/exe shows it, also after an upgrade replaced the file); "
			"or \"NAME\" alone, every process of that name, whoever started it: "
			"matched on the kernel's name of the process (comm, as ps -o comm "
			"shows it), which is cut to 15 bytes, so a longer name matches on its "
			"first 15 bytes. NAME, at most 63 bytes without '/' or '=', is the "
			"<name> of the keys. A process is counted under the first entry that "
			"chooses it. Empty: no process is read.",
	},
	{
		.name = "disks",
		.type = LC_CFG_STRV,
		.def_strv = sysmetrics_def_disks,
		.max = 32,
		.check = sysmetrics_check_pattern,
		.description = "Whole disks (as /sys/block lists them; partitions are part of "
			       "their disk) whose I/O is reported from /proc/diskstats, as shell "
			       "patterns on their names: diskstats/<disk>/reads_per_second, "
			       "writes_per_second, bytes_read_per_second, bytes_written_per_second "
			       "and bytes_written; an eMMC adds its wear from sysfs, "
			       "diskstats/<disk>/lifetime_remaining_pct, lifetime_b_remaining_pct "
			       "and pre_eol_info. At most 8 disks are followed. Empty: no disk "
			       "is read.",
	},
	{
		.name = "disks_exclude",
		.type = LC_CFG_STRV,
		.def_strv = sysmetrics_def_disks_exclude,
		.max = 32,
		.check = sysmetrics_check_pattern,
		.description = "Patterns of disks left out even when \"disks\" matches them: by "
			       "default loop devices, RAM disks, zram, device-mapper volumes and "
			       "an eMMC's boot and RPMB partitions.",
	},
};

static const struct lc_cfg_section sysmetrics_section = {
	.name = "sysmetrics",
	.description = "Built-in system metrics from /proc and /sys (below \"sysroot\"), sampled "
		       "into every heartbeat. Counters hold the increase over the heartbeat, "
		       "gauges the last value. Keys: cpu/user, nice, system, idle, iowait, irq, "
		       "softirq, steal (counters, CPU seconds of all CPUs); load/1, 5, 15; "
		       "memory/total, available, free, swap_used (bytes); uptime (seconds); "
		       "df/<fs>/used, free (bytes), used_pct; net/<if>/rx_bytes, tx_bytes, "
		       "rx_packets, tx_packets, rx_errors, tx_errors, rx_drops, tx_drops "
		       "(counters); thermal/<type> (degrees Celsius); proc/<name>/rss (bytes), "
		       "threads, cpu (counter, CPU seconds); diskstats/<disk>/reads_per_second, "
		       "writes_per_second, bytes_read_per_second, bytes_written_per_second "
		       "(histograms), bytes_written (counter), lifetime_remaining_pct, "
		       "lifetime_b_remaining_pct, pre_eol_info (eMMC); "
		       "memory/vm/pages_in_per_second, pages_out_per_second, "
		       "swaps_in_per_second, swaps_out_per_second, major_faults_per_second "
		       "(histograms).",
	.keys = sysmetrics_keys,
	.n_keys = ARRAY_SIZE(sysmetrics_keys),
};

/* Counts a failure to use a file and logs it once, until sysmetrics_usable() clears *warned. */
static void sysmetrics_unusable(struct sysmetrics *s, bool *warned, int error, const char *path)
{
	if (error == -EBADMSG)
		s->malformed++;
	else
		s->read_errors++;
	if (*warned)
		return;
	*warned = true;
	lc_plugin_log_errno(s->p, LOG_WARNING, error,
			    "cannot use %s: %m; skipping it until it is usable.", path);
}

static void sysmetrics_usable(struct sysmetrics *s, bool *warned, const char *path)
{
	if (!*warned)
		return;
	*warned = false;
	lc_plugin_log(s->p, LOG_INFO, "%s is usable again.", path);
}

static void sysmetrics_limit_hit(struct sysmetrics *s, enum sysmetrics_limit l)
{
	static const char *const what[_SYSMETRICS_LIMIT_MAX] = {
		[SYSMETRICS_LIMIT_IFACES] = "more than 64 interfaces match; the others are not "
					    "reported",
		[SYSMETRICS_LIMIT_ZONES] = "more than 32 thermal zones; the others are not "
					   "reported",
		[SYSMETRICS_LIMIT_TASKS] = "more than 64 processes match; the CPU time of the "
					   "others is not counted",
		[SYSMETRICS_LIMIT_SCAN] = "more than 8192 entries in /proc; the processes beyond "
					  "are not looked at",
		[SYSMETRICS_LIMIT_NETDEV_SIZE] = "/proc/net/dev is over 64 KiB; the interfaces "
						 "beyond are not reported",
		[SYSMETRICS_LIMIT_DISKS] = "more than 8 disks match; the others are not reported",
		[SYSMETRICS_LIMIT_DISKSTATS_SIZE] = "/proc/diskstats is over 64 KiB; the disks "
						    "beyond are not reported",
		[SYSMETRICS_LIMIT_VMSTAT_SIZE] = "/proc/vmstat is over 16 KiB; the counters "
						 "beyond are not reported",
	};

	if (s->limit_hits[l]++ == 0)
		lc_plugin_log(s->p, LOG_NOTICE, "%s.", what[l]);
}

/* A file read into s->buf that was cut at its size limit (truncated): counted as limit l, and its
 * last, partial line dropped, so that no line is parsed half. */
static void sysmetrics_cut_at_line(struct sysmetrics *s, bool truncated, enum sysmetrics_limit l)
{
	char *end;

	if (!truncated)
		return;
	sysmetrics_limit_hit(s, l);
	end = strrchr(s->buf, '\n');
	*(end ? end + 1 : s->buf) = 0;
}

/* The malformed lines a parse of source src (s->path) found: counted, and warned about once until
 * the file is well-formed again. */
static void sysmetrics_malformed(struct sysmetrics *s, enum sysmetrics_source src,
				 unsigned malformed)
{
	if (malformed == 0) {
		sysmetrics_usable(s, &s->warned[src], s->path);
		return;
	}
	s->malformed += malformed;
	if (!s->warned[src])
		lc_plugin_log(s->p, LOG_WARNING, "%s has %u malformed lines; skipping them.",
			      s->path, malformed);
	s->warned[src] = true;
}

/* Records one reading of the key printed from fmt; -EPERM (data collection off) is normal. */
_printf_(4, 5) static void sysmetrics_emit(struct sysmetrics *s, enum lc_metric_kind kind,
					   double value, const char *fmt, ...)
{
	char key[LC_METRIC_KEY_MAX + 1];
	va_list ap;
	int n, r;

	if (s->baseline)
		return;
	va_start(ap, fmt);
	n = vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(key)) {
		s->rejected++;
		return;
	}
	r = lc_plugin_metric(s->p, key, (size_t)n, kind, value);
	if (r < 0 && r != -EPERM)
		s->rejected++;
}

/* Reads <proc>/rel (at most max - 1 bytes) into s->buf, counting and logging a failure once.
 * Returns 0 or -errno. */
static int sysmetrics_read_proc(struct sysmetrics *s, enum sysmetrics_source src, const char *rel,
				size_t max, bool *ret_truncated)
{
	size_t len;
	int r;

	snprintf(s->path, sizeof(s->path), "%s/%s", s->proc, rel);
	r = sysmetrics_read(s->path, s->buf, max, &len, ret_truncated);
	if (r < 0)
		sysmetrics_unusable(s, &s->warned[src], r, s->path);
	return r;
}

/* Reports a parser's verdict on the file sysmetrics_read_proc() just read: r < 0 is logged once. */
static int sysmetrics_parsed(struct sysmetrics *s, enum sysmetrics_source src, int r)
{
	if (r < 0)
		sysmetrics_unusable(s, &s->warned[src], r, s->path);
	else
		sysmetrics_usable(s, &s->warned[src], s->path);
	return r;
}

static void sysmetrics_poll_cpu(struct sysmetrics *s)
{
	struct sysmetrics_cpu cpu;
	uint64_t d[_SYSMETRICS_CPU_MAX];
	unsigned n;

	/* The first line is all we need; the "intr" line below can be tens of KiB. */
	if (sysmetrics_read_proc(s, SYSMETRICS_SRC_STAT, "stat", SYSMETRICS_STAT_HEAD, NULL) < 0 ||
	    sysmetrics_parsed(s, SYSMETRICS_SRC_STAT, sysmetrics_parse_cpu(s->buf, &cpu)) < 0)
		return;
	if (s->have_cpu) {
		n = MIN(cpu.n_states, s->cpu.n_states);
		/* A state going backwards (idle and iowait did on some kernels) gets 0: the
		 * others are still right. */
		sysmetrics_deltas(s->cpu.ticks, cpu.ticks, n, d);
		for (unsigned i = 0; i < n; i++)
			sysmetrics_emit(s, LC_METRIC_COUNTER, (double)d[i] / (double)s->hz,
					"cpu/%s", sysmetrics_cpu_state_name(i));
	}
	s->cpu = cpu;
	s->have_cpu = true;
}

static void sysmetrics_poll_load(struct sysmetrics *s)
{
	static const char *const keys[3] = { "load/1", "load/5", "load/15" };
	double load[3];

	if (sysmetrics_read_proc(s, SYSMETRICS_SRC_LOADAVG, "loadavg", SYSMETRICS_SMALL_MAX, NULL) <
		    0 ||
	    sysmetrics_parsed(s, SYSMETRICS_SRC_LOADAVG, sysmetrics_parse_loadavg(s->buf, load)) <
		    0)
		return;
	for (size_t i = 0; i < 3; i++)
		sysmetrics_emit(s, LC_METRIC_GAUGE, load[i], "%s", keys[i]);
}

static void sysmetrics_poll_memory(struct sysmetrics *s)
{
	const unsigned swap = SYSMETRICS_MEM_SWAP_TOTAL | SYSMETRICS_MEM_SWAP_FREE;
	struct sysmetrics_mem m;

	if (sysmetrics_read_proc(s, SYSMETRICS_SRC_MEMINFO, "meminfo", SYSMETRICS_MEMINFO_MAX,
				 NULL) < 0 ||
	    sysmetrics_parsed(s, SYSMETRICS_SRC_MEMINFO, sysmetrics_parse_meminfo(s->buf, &m)) < 0)
		return;
	sysmetrics_emit(s, LC_METRIC_GAUGE, (double)m.total, "memory/total");
	sysmetrics_emit(s, LC_METRIC_GAUGE, (double)sysmetrics_mem_available(&m),
			"memory/available");
	sysmetrics_emit(s, LC_METRIC_GAUGE, (double)m.free, "memory/free");
	if ((m.have & swap) == swap && m.swap_free <= m.swap_total)
		sysmetrics_emit(s, LC_METRIC_GAUGE, (double)(m.swap_total - m.swap_free),
				"memory/swap_used");
}

static void sysmetrics_poll_uptime(struct sysmetrics *s)
{
	double uptime;

	if (sysmetrics_read_proc(s, SYSMETRICS_SRC_UPTIME, "uptime", SYSMETRICS_SMALL_MAX, NULL) <
		    0 ||
	    sysmetrics_parsed(s, SYSMETRICS_SRC_UPTIME, sysmetrics_parse_uptime(s->buf, &uptime)) <
		    0)
		return;
	sysmetrics_emit(s, LC_METRIC_GAUGE, uptime, "uptime");
	s->uptime = uptime;
	s->have_uptime = true;
	s->now = uptime;
}

/*
 * What a source whose counters were read at uptime at (negative: never) does with this sample:
 * measures its rates over the seconds returned (> 0); takes it as its new baseline (0: no
 * baseline yet, or the uptime went back); or keeps its baseline (negative: this sample's time is
 * unknown, or less than SYSMETRICS_MIN_ELAPSED passed, as when a heartbeat closes just after a
 * tick; a few sectors over a hundredth of a second would make a rate of noise). A kept baseline
 * makes the next rate span both intervals.
 */
static double sysmetrics_interval(const struct sysmetrics *s, double at)
{
	if (s->now < 0)
		return -1;
	if (at < 0 || s->now < at)
		return 0;
	if (s->now - at < SYSMETRICS_MIN_ELAPSED)
		return -1;
	return s->now - at;
}

static void sysmetrics_poll_vmstat(struct sysmetrics *s)
{
	static const char *const keys[_SYSMETRICS_VM_MAX] = {
		[SYSMETRICS_VM_PGPGIN] = "memory/vm/pages_in_per_second",
		[SYSMETRICS_VM_PGPGOUT] = "memory/vm/pages_out_per_second",
		[SYSMETRICS_VM_PSWPIN] = "memory/vm/swaps_in_per_second",
		[SYSMETRICS_VM_PSWPOUT] = "memory/vm/swaps_out_per_second",
		[SYSMETRICS_VM_PGMAJFAULT] = "memory/vm/major_faults_per_second",
	};
	struct sysmetrics_vmstat vm;
	double elapsed;
	bool truncated;

	if (sysmetrics_read_proc(s, SYSMETRICS_SRC_VMSTAT, "vmstat", SYSMETRICS_VMSTAT_MAX,
				 &truncated) < 0)
		return;
	/* The parser ignores the cut last line; counters past it are not reported. */
	if (truncated)
		sysmetrics_limit_hit(s, SYSMETRICS_LIMIT_VMSTAT_SIZE);
	if (sysmetrics_parsed(s, SYSMETRICS_SRC_VMSTAT, sysmetrics_parse_vmstat(s->buf, &vm)) < 0)
		return;
	elapsed = sysmetrics_interval(s, s->vm_at);
	if (elapsed < 0)
		return;
	for (unsigned c = 0; elapsed > 0 && c < _SYSMETRICS_VM_MAX; c++) {
		double rate;

		/* A counter that went backwards (a 32-bit wrap) gives no reading this time. */
		if ((vm.have & s->vm.have & (1u << c)) &&
		    sysmetrics_rate(s->vm.v[c], vm.v[c], elapsed, &rate))
			sysmetrics_emit(s, LC_METRIC_HISTOGRAM, rate, "%s", keys[c]);
	}
	s->vm = vm;
	s->vm_at = s->now;
}

static void sysmetrics_poll_fs(struct sysmetrics *s)
{
	unsigned found = 0;

	for (size_t i = 0; i < s->n_fs; i++) {
		struct sysmetrics_fs *f = &s->fs[i];
		struct sysmetrics_df df;
		struct statvfs vfs;
		struct stat st;
		bool dup = false;
		int r;

		if (stat(f->path, &st) < 0) {
			sysmetrics_unusable(s, &f->warned, negative_errno(), f->path);
			continue;
		}
		/* Checked each sample: a filesystem mounted later gets its own figures. */
		for (size_t j = 0; j < i && !dup; j++)
			dup = s->fs[j].seen == s->generation && s->fs[j].dev == st.st_dev;
		if (dup)
			continue;
		r = statvfs(f->path, &vfs) < 0 ? negative_errno()
					       : sysmetrics_df_from_statvfs(&vfs, &df);
		if (r < 0) {
			sysmetrics_unusable(s, &f->warned, r, f->path);
			continue;
		}
		sysmetrics_usable(s, &f->warned, f->path);
		f->dev = st.st_dev;
		f->seen = s->generation;
		sysmetrics_emit(s, LC_METRIC_GAUGE, (double)df.used, "df/%s/used", f->name);
		sysmetrics_emit(s, LC_METRIC_GAUGE, (double)df.avail, "df/%s/free", f->name);
		sysmetrics_emit(s, LC_METRIC_GAUGE, df.used_pct, "df/%s/used_pct", f->name);
		found++;
	}
	s->n_fs_found = found;
}

/* Whether name matches a pattern of include and none of exclude. */
static bool sysmetrics_wanted(const char *const *include, const char *const *exclude,
			      const char *name)
{
	bool in = false;

	for (const char *const *i = include; i && *i && !in; i++)
		in = fnmatch(*i, name, 0) == 0;
	if (!in)
		return false;
	for (const char *const *i = exclude; i && *i; i++)
		if (fnmatch(*i, name, 0) == 0)
			return false;
	return true;
}

static int sysmetrics_net_line(const struct sysmetrics_netdev *dev, void *userdata)
{
	struct sysmetrics *s = userdata;
	struct sysmetrics_iface *it = NULL, *free_slot = NULL;
	uint64_t d[_SYSMETRICS_NET_MAX];

	if (!sysmetrics_wanted(s->if_include, s->if_exclude, dev->name))
		return 0;
	for (size_t i = 0; i < SYSMETRICS_MAX_IFACES && !it; i++) {
		if (!s->ifaces[i].name[0])
			free_slot = free_slot ?: &s->ifaces[i];
		else if (streq(s->ifaces[i].name, dev->name))
			it = &s->ifaces[i];
	}
	if (it && it->seen == s->generation)
		return 0; /* listed twice: the first line counts */
	if (!it) {
		if (!free_slot) {
			sysmetrics_limit_hit(s, SYSMETRICS_LIMIT_IFACES);
			return 0;
		}
		/* New (or back): this sample is its baseline. */
		it = free_slot;
		memcpy(it->name, dev->name, sizeof(it->name));
	} else if (sysmetrics_deltas(it->v, dev->v, _SYSMETRICS_NET_MAX, d) == 0) {
		for (unsigned c = 0; c < _SYSMETRICS_NET_MAX; c++)
			sysmetrics_emit(s, LC_METRIC_COUNTER, (double)d[c], "net/%s/%s", it->name,
					sysmetrics_net_counter_name(c));
	}
	/* Any counter going backwards means the interface was reset or recreated: the whole
	 * sample is its new baseline. */
	memcpy(it->v, dev->v, sizeof(it->v));
	it->seen = s->generation;
	return 0;
}

static void sysmetrics_poll_net(struct sysmetrics *s)
{
	unsigned malformed = 0, n = 0;
	bool truncated;

	if (sysmetrics_read_proc(s, SYSMETRICS_SRC_NETDEV, "net/dev", SYSMETRICS_BUF_SIZE,
				 &truncated) < 0)
		return;
	/* Interfaces past a cut are not reported, and not forgotten either. */
	sysmetrics_cut_at_line(s, truncated, SYSMETRICS_LIMIT_NETDEV_SIZE);
	(void)sysmetrics_parse_netdev(s->buf, sysmetrics_net_line, s, &malformed);
	sysmetrics_malformed(s, SYSMETRICS_SRC_NETDEV, malformed);
	for (size_t i = 0; i < SYSMETRICS_MAX_IFACES; i++) {
		struct sysmetrics_iface *it = &s->ifaces[i];

		if (!it->name[0])
			continue;
		/* Gone: its state goes, and it starts from a new baseline if it comes back. */
		if (it->seen != s->generation && !truncated)
			it->name[0] = 0;
		else
			n++;
	}
	s->n_ifaces = n;
}

/* Lists the whole disks in /sys/block that disks and disks_exclude choose; at start and when a
 * heartbeat closes, since disks come and go rarely (a USB stick is followed from the next
 * heartbeat). A disk still listed keeps its baseline. */
static void sysmetrics_scan_disks(struct sysmetrics *s)
{
	struct sysmetrics_disk old[SYSMETRICS_MAX_DISKS];
	size_t n_old = s->n_disks, n = 0;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (!s->disk_include || !s->disk_include[0])
		return;
	memcpy(old, s->disks, n_old * sizeof(old[0]));
	s->n_disks = 0;
	d = opendir(s->block);
	if (!d) {
		/* No sysfs below the sysroot (a container): no disk, not an error. */
		if (errno != ENOENT)
			sysmetrics_unusable(s, &s->warned[SYSMETRICS_SRC_BLOCK], negative_errno(),
					    s->block);
		return;
	}
	sysmetrics_usable(s, &s->warned[SYSMETRICS_SRC_BLOCK], s->block);
	/* The first SYSMETRICS_MAX_DISKS by name, whatever order the directory lists them in. */
	while ((de = readdir(d))) {
		size_t at = n;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= SYSMETRICS_DISK_NAME_MAX ||
		    !sysmetrics_wanted(s->disk_include, s->disk_exclude, de->d_name))
			continue;
		while (at > 0 && strcmp(s->disks[at - 1].name, de->d_name) > 0)
			at--;
		if (n == SYSMETRICS_MAX_DISKS) {
			sysmetrics_limit_hit(s, SYSMETRICS_LIMIT_DISKS);
			if (at == n)
				continue;
			n--; /* the last by name makes room */
		}
		memmove(&s->disks[at + 1], &s->disks[at], (n - at) * sizeof(s->disks[0]));
		s->disks[at] = (struct sysmetrics_disk){ .at = -1 };
		strcpy(s->disks[at].name, de->d_name);
		for (size_t j = 0; j < n_old; j++)
			if (streq(old[j].name, de->d_name))
				s->disks[at] = old[j];
		n++;
	}
	s->n_disks = n;
}

static int sysmetrics_disk_line(const struct sysmetrics_diskstat *ds, void *userdata)
{
	struct sysmetrics *s = userdata;
	struct sysmetrics_disk *k = NULL;
	double elapsed, rate;
	uint64_t d[_SYSMETRICS_DISK_MAX], written;

	for (size_t i = 0; i < s->n_disks && !k; i++)
		if (streq(s->disks[i].name, ds->name))
			k = &s->disks[i];
	if (!k || k->seen == s->generation)
		return 0; /* a partition, not chosen, or listed twice: the first line counts */
	k->seen = s->generation;
	elapsed = sysmetrics_interval(s, k->at);
	if (elapsed < 0)
		return 0;
	/* Any counter going backwards means a disk replaced under the same name, or a 32-bit
	 * wrap: the whole sample is its new baseline. So is a byte count past 2^64. */
	if (elapsed > 0 && sysmetrics_deltas(k->v, ds->v, _SYSMETRICS_DISK_MAX, d) == 0 &&
	    !__builtin_mul_overflow(d[SYSMETRICS_DISK_SECTORS_WRITTEN], 512, &written)) {
		static const struct {
			const char *key;
			enum sysmetrics_disk_counter c;
			uint64_t unit;
		} rates[] = {
			{ "reads_per_second", SYSMETRICS_DISK_READS, 1 },
			{ "writes_per_second", SYSMETRICS_DISK_WRITES, 1 },
			{ "bytes_read_per_second", SYSMETRICS_DISK_SECTORS_READ, 512 },
			{ "bytes_written_per_second", SYSMETRICS_DISK_SECTORS_WRITTEN, 512 },
		};

		for (size_t i = 0; i < ARRAY_SIZE(rates); i++) {
			rate = (double)d[rates[i].c] * (double)rates[i].unit / elapsed;
			sysmetrics_emit(s, LC_METRIC_HISTOGRAM, rate, "diskstats/%s/%s", k->name,
					rates[i].key);
		}
		sysmetrics_emit(s, LC_METRIC_COUNTER, (double)written, "diskstats/%s/bytes_written",
				k->name);
	}
	memcpy(k->v, ds->v, sizeof(k->v));
	k->at = s->now;
	return 0;
}

static void sysmetrics_poll_disks(struct sysmetrics *s)
{
	unsigned malformed = 0;
	bool truncated;

	if (s->n_disks == 0)
		return;
	if (sysmetrics_read_proc(s, SYSMETRICS_SRC_DISKSTATS, "diskstats", SYSMETRICS_BUF_SIZE,
				 &truncated) < 0)
		return;
	/* Disks past a cut are not reported, and keep their baselines. */
	sysmetrics_cut_at_line(s, truncated, SYSMETRICS_LIMIT_DISKSTATS_SIZE);
	(void)sysmetrics_parse_diskstats(s->buf, sysmetrics_disk_line, s, &malformed);
	sysmetrics_malformed(s, SYSMETRICS_SRC_DISKSTATS, malformed);
	/* Gone from the file: it starts from a new baseline if it comes back. */
	for (size_t i = 0; i < s->n_disks; i++)
		if (s->disks[i].seen != s->generation && !truncated)
			s->disks[i].at = -1;
}

/* Reads <block>/<disk>/device/<file> into s->buf (s->path names it). Returns 0, or -errno; a
 * missing file (a disk that is no eMMC, or one older than eMMC 5.0) is no failure to log. */
static int sysmetrics_read_mmc(struct sysmetrics *s, const struct sysmetrics_disk *k,
			       const char *file, bool *warned)
{
	size_t len;
	int r;

	snprintf(s->path, sizeof(s->path), "%s/%s/device/%s", s->block, k->name, file);
	r = sysmetrics_read(s->path, s->buf, SYSMETRICS_SMALL_MAX, &len, NULL);
	if (r < 0 && r != -ENOENT)
		sysmetrics_unusable(s, warned, r, s->path);
	return r;
}

/* Reports each followed eMMC's wear: the JEDEC life time estimates and pre-EOL state, read when a
 * heartbeat closes (the kernel reads them from the card only when it initialises it). */
static void sysmetrics_poll_wear(struct sysmetrics *s)
{
	for (size_t i = 0; i < s->n_disks; i++) {
		struct sysmetrics_disk *k = &s->disks[i];
		unsigned life[2], eol;
		int r;

		r = sysmetrics_read_mmc(s, k, "life_time", &k->warned_life);
		if (r == 0)
			r = sysmetrics_parse_life_time(s->buf, life);
		if (r == -EBADMSG)
			sysmetrics_unusable(s, &k->warned_life, r, s->path);
		if (r == 0) {
			static const char *const keys[2] = { "lifetime_remaining_pct",
							     "lifetime_b_remaining_pct" };

			sysmetrics_usable(s, &k->warned_life, s->path);
			for (size_t t = 0; t < 2; t++) {
				int pct = sysmetrics_life_remaining_pct(life[t]);

				/* 0x00: the card does not estimate this type; reserved values
				 * are counted, never reported as a level. */
				if (pct == -ERANGE)
					s->malformed++;
				if (pct >= 0)
					sysmetrics_emit(s, LC_METRIC_GAUGE, (double)pct,
							"diskstats/%s/%s", k->name, keys[t]);
			}
		}
		r = sysmetrics_read_mmc(s, k, "pre_eol_info", &k->warned_eol);
		if (r == 0)
			r = sysmetrics_parse_pre_eol(s->buf, &eol);
		if (r == -EBADMSG)
			sysmetrics_unusable(s, &k->warned_eol, r, s->path);
		if (r == 0) {
			sysmetrics_usable(s, &k->warned_eol, s->path);
			/* 1 normal, 2 warning (80 % of reserved blocks used), 3 urgent; 0 is
			 * not defined, above 3 reserved. */
			if (eol > 3)
				s->malformed++;
			else if (eol > 0)
				sysmetrics_emit(s, LC_METRIC_GAUGE, (double)eol,
						"diskstats/%s/pre_eol_info", k->name);
		}
	}
}

static int sysmetrics_zone_cmp(const void *a, const void *b)
{
	const struct sysmetrics_zone *x = a, *y = b;

	return (x->number > y->number) - (x->number < y->number);
}

/* Lists the thermal zones and names their keys; at start and when a heartbeat closes, since
 * zones come and go only with drivers. */
static void sysmetrics_scan_zones(struct sysmetrics *s)
{
	struct sysmetrics_zone old[SYSMETRICS_MAX_ZONES];
	size_t n_old = s->n_zones, n = 0;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	memcpy(old, s->zones, n_old * sizeof(old[0]));
	s->n_zones = 0;
	d = opendir(s->thermal);
	if (!d) {
		/* No thermal class at all is an ordinary device, not an error. */
		if (errno != ENOENT)
			sysmetrics_unusable(s, &s->warned[SYSMETRICS_SRC_THERMAL], negative_errno(),
					    s->thermal);
		return;
	}
	sysmetrics_usable(s, &s->warned[SYSMETRICS_SRC_THERMAL], s->thermal);
	while ((de = readdir(d))) {
		int z = sysmetrics_parse_numbered(de->d_name, "thermal_zone");

		if (z < 0)
			continue;
		if (n == SYSMETRICS_MAX_ZONES) {
			sysmetrics_limit_hit(s, SYSMETRICS_LIMIT_ZONES);
			continue;
		}
		s->zones[n++] = (struct sysmetrics_zone){ .number = z };
	}
	qsort(s->zones, n, sizeof(s->zones[0]), sysmetrics_zone_cmp);
	for (size_t i = 0; i < n; i++) {
		struct sysmetrics_zone *z = &s->zones[i];
		char type[SYSMETRICS_THERMAL_TYPE];
		size_t len = 0;
		bool taken = false;

		snprintf(s->path, sizeof(s->path), "%s/thermal_zone%d/type", s->thermal, z->number);
		if (sysmetrics_read(s->path, s->buf, SYSMETRICS_SMALL_MAX, &len, NULL) == 0)
			len = sysmetrics_parse_thermal_type(s->buf, type, sizeof(type));
		if (len > 0) {
			snprintf(z->key, sizeof(z->key), "thermal/%s", type);
			for (size_t j = 0; j < i && !taken; j++)
				taken = streq(s->zones[j].key, z->key);
		}
		if (len == 0 || taken)
			snprintf(z->key, sizeof(z->key), "thermal/zone%d", z->number);
		for (size_t j = 0; j < n_old; j++)
			if (old[j].number == z->number)
				z->warned = old[j].warned;
	}
	s->n_zones = n;
}

static void sysmetrics_poll_thermal(struct sysmetrics *s)
{
	size_t kept = 0;

	for (size_t i = 0; i < s->n_zones; i++) {
		struct sysmetrics_zone *z = &s->zones[i];
		double celsius;
		size_t len;
		int r;

		snprintf(s->path, sizeof(s->path), "%s/thermal_zone%d/temp", s->thermal, z->number);
		r = sysmetrics_read(s->path, s->buf, SYSMETRICS_SMALL_MAX, &len, NULL);
		if (r == -ENOENT)
			continue; /* its driver went away: the zone goes too */
		if (r == 0)
			r = sysmetrics_parse_millicelsius(s->buf, &celsius);
		if (r < 0) {
			/* Some sensors fail reads while they are not ready (EAGAIN, ENODATA). */
			sysmetrics_unusable(s, &z->warned, r, s->path);
		} else {
			sysmetrics_usable(s, &z->warned, s->path);
			sysmetrics_emit(s, LC_METRIC_GAUGE, celsius, "%s", z->key);
		}
		s->zones[kept++] = *z;
	}
	s->n_zones = kept;
}

static uint64_t sysmetrics_sat_add(uint64_t a, uint64_t b)
{
	uint64_t v;

	return __builtin_add_overflow(a, b, &v) ? UINT64_MAX : v;
}

/* Adds one process of configured name i to the sample; prev_uptime is the uptime at the previous
 * sample, negative when unknown. */
static void sysmetrics_account(struct sysmetrics *s, unsigned i, int pid,
			       const struct sysmetrics_pidstat *st, double prev_uptime)
{
	struct sysmetrics_proc_sum *sum = &s->sums[i];
	struct sysmetrics_task *t = NULL, *free_slot = NULL;
	uint64_t ticks, rss;

	if (__builtin_add_overflow(st->utime, st->stime, &ticks) ||
	    __builtin_mul_overflow(st->rss_pages, (uint64_t)s->page_size, &rss)) {
		s->malformed++;
		return;
	}
	sum->rss = sysmetrics_sat_add(sum->rss, rss);
	sum->threads = sysmetrics_sat_add(sum->threads, st->threads);
	sum->n++;
	s->n_pids++;

	for (size_t k = 0; k < SYSMETRICS_MAX_TASKS && !t; k++) {
		struct sysmetrics_task *c = &s->tasks[k];

		if (c->pid == pid && c->starttime == st->starttime)
			t = c;
		else if (!c->pid || c->pid == pid) /* free, or the pid of an exited process */
			free_slot = free_slot ?: c;
	}
	if (t) {
		/* utime + stime never decrease for a live process; if they do, new baseline. */
		if (ticks >= t->ticks)
			sum->ticks += ticks - t->ticks;
	} else if (free_slot) {
		t = free_slot;
		*t = (struct sysmetrics_task){ .pid = pid, .starttime = st->starttime };
		/* Started since the previous sample: all its CPU time is new. */
		if (prev_uptime >= 0 && (double)st->starttime >= prev_uptime * (double)s->hz)
			sum->ticks += ticks;
	} else {
		sysmetrics_limit_hit(s, SYSMETRICS_LIMIT_TASKS);
		return;
	}
	t->name = i;
	t->ticks = ticks;
	t->seen = s->generation;
}

/* Which configured process the process pid (whose stat is st) is, as an index, or -1 for none. Its
 * cgroup and executable are read only when an entry asks, once each. */
static int sysmetrics_match(struct sysmetrics *s, int pid, const struct sysmetrics_pidstat *st)
{
	char rel[32], exe[SYSMETRICS_PROC_ARG_MAX + sizeof(" (deleted)") + 1];
	int have_cgroup = 0, have_exe = 0; /* 0: not read yet, 1: read, -1: unreadable */

	for (size_t i = 0; i < s->n_processes; i++) {
		const struct sysmetrics_proc *c = &s->procs[i];

		switch (c->spec.kind) {
		case SYSMETRICS_PROC_NAME:
			if (sysmetrics_comm_matches(c->spec.name, st->comm))
				return (int)i;
			break;
		case SYSMETRICS_PROC_SELF:
		case SYSMETRICS_PROC_PIDFILE:
			if (c->pid == pid)
				return (int)i;
			break;
		case SYSMETRICS_PROC_UNIT:
			if (have_cgroup == 0) {
				size_t len;
				bool cut;

				/* A kernel thread or an exited process: in no unit. */
				snprintf(rel, sizeof(rel), "%d/cgroup", pid);
				have_cgroup =
					sysmetrics_read_at(dirfd(s->proc_dir), rel, s->buf,
							   SYSMETRICS_CGROUP_MAX, &len, &cut) == 0
						? 1
						: -1;
			}
			if (have_cgroup > 0 && sysmetrics_cgroup_in_unit(s->buf, c->spec.arg))
				return (int)i;
			break;
		case SYSMETRICS_PROC_EXE:
			if (have_exe == 0) {
				ssize_t n;

				/* Kernel threads have no executable; another user's process
				 * without privileges cannot be told: neither is chosen. */
				snprintf(rel, sizeof(rel), "%d/exe", pid);
				n = readlinkat(dirfd(s->proc_dir), rel, exe, sizeof(exe));
				have_exe = n > 0 && (size_t)n < sizeof(exe) ? 1 : -1;
				if (have_exe > 0)
					exe[n] = 0;
			}
			if (have_exe > 0 && sysmetrics_exe_matches(exe, c->spec.arg))
				return (int)i;
			break;
		}
	}
	return -1;
}

/* Reads /proc/<pid>/stat and adds the process to entry only (or, when only is negative, to the
 * entry that chooses it). */
static void sysmetrics_sample_pid(struct sysmetrics *s, int pid, int only, double prev_uptime)
{
	struct sysmetrics_pidstat st;
	char rel[32];
	size_t len;
	int r;

	snprintf(rel, sizeof(rel), "%d/stat", pid);
	r = sysmetrics_read_at(dirfd(s->proc_dir), rel, s->buf, SYSMETRICS_PIDSTAT_MAX, &len, NULL);
	/* Exited since the listing, or not running: not an error. */
	if (r == -ENOENT || r == -ESRCH || (r == 0 && len == 0))
		return;
	if (r == 0)
		r = sysmetrics_parse_pidstat(s->buf, &st);
	if (r < 0) {
		snprintf(s->path, sizeof(s->path), "%s/%s", s->proc, rel);
		sysmetrics_unusable(s, &s->warned[SYSMETRICS_SRC_PIDSTAT], r, s->path);
		return;
	}
	if (only < 0)
		only = sysmetrics_match(s, pid, &st);
	if (only >= 0)
		sysmetrics_account(s, (unsigned)only, pid, &st, prev_uptime);
}

/* Finds the pid of each process known by pid: faultd's own, or the one its pid file holds (0 when
 * the file is missing or malformed, logged once until it is usable again). */
static void sysmetrics_resolve_pids(struct sysmetrics *s)
{
	for (size_t i = 0; i < s->n_processes; i++) {
		struct sysmetrics_proc *c = &s->procs[i];
		size_t len;
		int r;

		if (c->spec.kind == SYSMETRICS_PROC_SELF) {
			c->pid = (int)getpid();
			continue;
		}
		if (c->spec.kind != SYSMETRICS_PROC_PIDFILE)
			continue;
		c->pid = 0;
		r = sysmetrics_read(c->pidfile, s->buf, SYSMETRICS_PIDFILE_MAX, &len, NULL);
		/* No pid file: the service is not running, which its zeros say. */
		if (r == -ENOENT)
			continue;
		if (r == 0)
			r = sysmetrics_parse_pidfile(s->buf);
		if (r < 0) {
			sysmetrics_unusable(s, &c->warned, r, c->pidfile);
			continue;
		}
		sysmetrics_usable(s, &c->warned, c->pidfile);
		c->pid = r;
	}
}

/* Samples the configured processes: /proc is listed when an entry chooses by name, unit or
 * executable, else only the pids sought are read. Returns 0, or -errno when /proc cannot be
 * opened. */
static int sysmetrics_scan_processes(struct sysmetrics *s, double prev_uptime)
{
	unsigned scanned = 0;
	struct dirent *de;

	if (!s->proc_dir) {
		s->proc_dir = opendir(s->proc);
		if (!s->proc_dir) {
			int r = negative_errno();

			sysmetrics_unusable(s, &s->warned[SYSMETRICS_SRC_PROC], r, s->proc);
			return r;
		}
	} else if (s->scan) {
		/* Rewinding lists /proc afresh without a new directory stream and its buffer. */
		rewinddir(s->proc_dir);
	}
	sysmetrics_usable(s, &s->warned[SYSMETRICS_SRC_PROC], s->proc);
	sysmetrics_resolve_pids(s);
	if (!s->scan) {
		for (size_t i = 0; i < s->n_processes; i++) {
			bool twice = false;

			/* Two entries on one pid: the first counts it, as when listing. */
			for (size_t j = 0; j < i && !twice; j++)
				twice = s->procs[j].pid == s->procs[i].pid;
			if (s->procs[i].pid > 0 && !twice)
				sysmetrics_sample_pid(s, s->procs[i].pid, (int)i, prev_uptime);
		}
		return 0;
	}
	while ((de = readdir(s->proc_dir))) {
		int pid = sysmetrics_parse_numbered(de->d_name, "");

		if (pid <= 0)
			continue;
		if (++scanned > SYSMETRICS_MAX_SCAN) {
			sysmetrics_limit_hit(s, SYSMETRICS_LIMIT_SCAN);
			break;
		}
		sysmetrics_sample_pid(s, pid, -1, prev_uptime);
	}
	return 0;
}

static void sysmetrics_poll_processes(struct sysmetrics *s, double prev_uptime)
{
	bool counted = s->polls > 0;

	if (s->n_processes == 0)
		return;
	memset(s->sums, 0, s->n_processes * sizeof(s->sums[0]));
	s->n_pids = 0;
	if (sysmetrics_scan_processes(s, prev_uptime) < 0)
		return;
	/* Exited processes (and reused pids) lose their state. */
	for (size_t k = 0; k < SYSMETRICS_MAX_TASKS; k++)
		if (s->tasks[k].pid && s->tasks[k].seen != s->generation)
			s->tasks[k].pid = 0;
	for (size_t i = 0; i < s->n_processes; i++) {
		const char *name = s->procs[i].spec.name;

		sysmetrics_emit(s, LC_METRIC_GAUGE, (double)s->sums[i].rss, "proc/%s/rss", name);
		sysmetrics_emit(s, LC_METRIC_GAUGE, (double)s->sums[i].threads, "proc/%s/threads",
				name);
		if (counted)
			sysmetrics_emit(s, LC_METRIC_COUNTER,
					(double)s->sums[i].ticks / (double)s->hz, "proc/%s/cpu",
					name);
	}
}

/* Takes one sample of everything. */
static void sysmetrics_poll(struct sysmetrics *s)
{
	double prev_uptime = s->have_uptime ? s->uptime : -1;
	uint64_t begin = lc_clock_us(CLOCK_MONOTONIC);

	s->generation++;
	s->now = -1;
	sysmetrics_poll_cpu(s);
	sysmetrics_poll_load(s);
	sysmetrics_poll_memory(s);
	sysmetrics_poll_uptime(s);
	sysmetrics_poll_vmstat(s);
	sysmetrics_poll_disks(s);
	sysmetrics_poll_fs(s);
	sysmetrics_poll_net(s);
	sysmetrics_poll_thermal(s);
	sysmetrics_poll_processes(s, prev_uptime);
	s->polls++;
	s->last_poll_usec = lc_clock_us(CLOCK_MONOTONIC) - begin;
}

static void sysmetrics_tick(struct lc_plugin *p, void *userdata)
{
	sysmetrics_poll(userdata);
}

static void sysmetrics_free(struct sysmetrics *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_fs; i++)
		free(s->fs[i].path);
	free(s->fs);
	if (s->proc_dir)
		closedir(s->proc_dir);
	for (size_t i = 0; i < s->n_processes; i++)
		free(s->procs[i].pidfile);
	free(s->procs);
	free(s->sums);
	free(s->buf);
	free(s->proc);
	free(s->thermal);
	free(s->block);
	free(s);
}

static void sysmetrics_freep(struct sysmetrics **s)
{
	sysmetrics_free(*s);
}

/* The configured mount points below the sysroot, then the state directory (faultd's own, not
 * below the sysroot) as "state". */
static int sysmetrics_setup_fs(struct sysmetrics *s)
{
	const char *const *list = lc_plugin_config_strv(s->p, "filesystems");
	const char *state_dir = lc_config_get_string(lc_plugin_config(s->p), "state_dir");
	size_t n = strv_length((char *const *)list);

	s->fs = calloc(n + 1, sizeof(s->fs[0]));
	if (!s->fs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct sysmetrics_fs *f = &s->fs[s->n_fs];
		int r = sysmetrics_fs_name(list[i], f->name, sizeof(f->name));

		/* The configuration's check refused such paths already. */
		if (r < 0)
			return lc_plugin_log_errno(s->p, LOG_ERR, r, "bad mount point \"%s\": %m",
						   list[i]);
		f->path = lc_plugin_sysroot_path(s->p, list[i]);
		if (!f->path)
			return -ENOMEM;
		s->n_fs++;
	}
	if (state_dir && state_dir[0]) {
		struct sysmetrics_fs *f = &s->fs[s->n_fs];

		f->path = strdup(state_dir);
		if (!f->path)
			return -ENOMEM;
		strcpy(f->name, "state");
		s->n_fs++;
	}
	return 0;
}

/* The configured processes, parsed (the configuration's check accepted each already). */
static int sysmetrics_setup_procs(struct sysmetrics *s)
{
	const char *const *list = lc_plugin_config_strv(s->p, "processes");
	size_t n = strv_length((char *const *)list);

	s->procs = calloc(MAX(n, 1), sizeof(s->procs[0]));
	s->sums = calloc(MAX(n, 1), sizeof(s->sums[0]));
	if (!s->procs || !s->sums)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct sysmetrics_proc *c = &s->procs[i];
		const char *why = NULL;
		int r = sysmetrics_parse_proc_spec(list[i], &c->spec, &why);

		if (r < 0)
			return lc_plugin_log_errno(s->p, LOG_ERR, r, "bad process \"%s\": %s",
						   list[i], why);
		s->n_processes++;
		if (c->spec.kind == SYSMETRICS_PROC_PIDFILE) {
			c->pidfile = lc_plugin_sysroot_path(s->p, c->spec.arg);
			if (!c->pidfile)
				return -ENOMEM;
		}
		s->scan |= c->spec.kind == SYSMETRICS_PROC_NAME ||
			   c->spec.kind == SYSMETRICS_PROC_UNIT ||
			   c->spec.kind == SYSMETRICS_PROC_EXE;
	}
	return 0;
}

static int sysmetrics_init(struct lc_plugin *p)
{
	_cleanup_(sysmetrics_freep) struct sysmetrics *s = NULL;
	uint64_t interval_ms;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return log_oom();
	s->p = p;
	s->hz = sysconf(_SC_CLK_TCK);
	if (s->hz <= 0)
		s->hz = 100; /* USER_HZ on every Linux architecture */
	s->page_size = sysconf(_SC_PAGESIZE);
	if (s->page_size <= 0)
		s->page_size = 4096;
	s->interval = (unsigned)lc_plugin_config_int(p, "interval_seconds");
	s->if_include = lc_plugin_config_strv(p, "interfaces");
	s->if_exclude = lc_plugin_config_strv(p, "interfaces_exclude");
	s->disk_include = lc_plugin_config_strv(p, "disks");
	s->disk_exclude = lc_plugin_config_strv(p, "disks_exclude");
	s->vm_at = -1;
	s->proc = lc_plugin_sysroot_path(p, "/proc");
	s->thermal = lc_plugin_sysroot_path(p, "/sys/class/thermal");
	s->block = lc_plugin_sysroot_path(p, "/sys/block");
	s->buf = malloc(SYSMETRICS_BUF_SIZE);
	if (!s->proc || !s->thermal || !s->block || !s->buf)
		return log_oom();
	r = sysmetrics_setup_fs(s);
	if (r >= 0)
		r = sysmetrics_setup_procs(s);
	if (r == -ENOMEM)
		return log_oom();
	if (r < 0)
		return r;

	sysmetrics_scan_zones(s);
	sysmetrics_scan_disks(s);
	/* Only the baseline for counters: the plugins start before an update closes the old
	 * version's heartbeat, which must not get the new version's first readings. */
	s->baseline = true;
	sysmetrics_poll(s);
	s->baseline = false;
	interval_ms = (uint64_t)s->interval * 1000;
	r = lc_plugin_timer_add(p, interval_ms, interval_ms, sysmetrics_tick, s, NULL);
	if (r < 0)
		return lc_plugin_log_errno(p, LOG_ERR, r, "failed to start the sampling timer: %m");
	lc_plugin_log(p, LOG_DEBUG,
		      "sampling every %u s: %zu filesystems, %u interfaces, %zu thermal "
		      "zones, %zu processes, %zu disks.",
		      s->interval, s->n_fs, s->n_ifaces, s->n_zones, s->n_processes, s->n_disks);
	lc_plugin_set_data(p, TAKE_PTR(s));
	return 0;
}

static void sysmetrics_collect(struct lc_plugin *p)
{
	struct sysmetrics *s = lc_plugin_get_data(p);

	if (!s)
		return;
	/* The heartbeat is closing: rescan zones (drivers may have come) and count the time
	 * since the last tick into this heartbeat. */
	sysmetrics_scan_zones(s);
	sysmetrics_scan_disks(s);
	sysmetrics_poll(s);
	sysmetrics_poll_wear(s);
}

static void sysmetrics_shutdown(struct lc_plugin *p)
{
	sysmetrics_free(lc_plugin_get_data(p));
	lc_plugin_set_data(p, NULL);
}

static json_object *sysmetrics_status(struct lc_plugin *p)
{
	static const char *const limit_names[_SYSMETRICS_LIMIT_MAX] = {
		[SYSMETRICS_LIMIT_IFACES] = "interfaces",
		[SYSMETRICS_LIMIT_ZONES] = "thermal_zones",
		[SYSMETRICS_LIMIT_TASKS] = "processes",
		[SYSMETRICS_LIMIT_SCAN] = "proc_entries",
		[SYSMETRICS_LIMIT_NETDEV_SIZE] = "net_dev_size",
		[SYSMETRICS_LIMIT_DISKS] = "disks",
		[SYSMETRICS_LIMIT_DISKSTATS_SIZE] = "diskstats_size",
		[SYSMETRICS_LIMIT_VMSTAT_SIZE] = "vmstat_size",
	};
	struct sysmetrics *s = lc_plugin_get_data(p);
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object *limits;
	int r = 0;

	if (!s || !o)
		return NULL;
	lc_json_add_sticky(o, "interval_seconds", json_object_new_int64(s->interval), &r);
	lc_json_add_sticky(o, "polls", json_object_new_int64((int64_t)s->polls), &r);
	lc_json_add_sticky(o, "last_poll_usec", json_object_new_int64((int64_t)s->last_poll_usec),
			   &r);
	lc_json_add_sticky(o, "filesystems", json_object_new_int64(s->n_fs_found), &r);
	lc_json_add_sticky(o, "interfaces", json_object_new_int64(s->n_ifaces), &r);
	lc_json_add_sticky(o, "thermal_zones", json_object_new_int64((int64_t)s->n_zones), &r);
	lc_json_add_sticky(o, "processes", json_object_new_int64(s->n_pids), &r);
	lc_json_add_sticky(o, "disks", json_object_new_int64((int64_t)s->n_disks), &r);
	lc_json_add_sticky(o, "read_errors", json_object_new_int64((int64_t)s->read_errors), &r);
	lc_json_add_sticky(o, "malformed", json_object_new_int64((int64_t)s->malformed), &r);
	lc_json_add_sticky(o, "rejected_readings", json_object_new_int64((int64_t)s->rejected), &r);
	limits = json_object_new_object();
	for (size_t i = 0; limits && i < _SYSMETRICS_LIMIT_MAX; i++)
		lc_json_add_sticky(limits, limit_names[i],
				   json_object_new_int64((int64_t)s->limit_hits[i]), &r);
	lc_json_add_sticky(o, "over_limits", limits, &r);
	return r < 0 ? NULL : TAKE_PTR(o);
}

const struct lc_plugin_ops sysmetrics_plugin_ops = {
	.name = "sysmetrics",
	.config = &sysmetrics_section,
	.init = sysmetrics_init,
	.collect = sysmetrics_collect,
	.shutdown = sysmetrics_shutdown,
	.status = sysmetrics_status,
};
