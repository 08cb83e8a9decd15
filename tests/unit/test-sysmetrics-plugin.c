/* SPDX-License-Identifier: MIT */
/* The sysmetrics plugin run by the plugin host on fake /proc and /sys trees, its readings checked
 * where they land: the metric store of the heartbeat in progress. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fileio.h"
#include "harness-fs.h"
#include "harness-plugin.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"
#include "plugin-host.h"
#include "sysmetrics-plugin.h"

struct fixture {
	struct plugin_harness *ph;
	const char *root; /* the sysroot: ph's tree's root */
	long hz, page;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct lc_metrics_limits limits = { .max_keys = 2048, .max_set_members = 16 };

	if (!f)
		return -1;
	f->ph = plugin_harness_new(&sysmetrics_plugin_ops, "sysmetrics-plugin", &limits);
	f->root = f->ph->tree->root;
	f->hz = sysconf(_SC_CLK_TCK);
	f->page = sysconf(_SC_PAGESIZE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	plugin_harness_free(f->ph);
	free(f);
	return 0;
}

/* ---- the fake tree ---- */

static void put_cpu(struct fixture *f, uint64_t user, uint64_t system, uint64_t idle)
{
	tree_putf(f->root, "proc/stat",
		  "cpu  %llu 5 %llu %llu 40 0 30 0 0 0\n"
		  "cpu0 1 2 3 4 5 6 7 0 0 0\n"
		  "intr 1462898 0 1 0 0\nctxt 55\nbtime 1700000000\n",
		  (unsigned long long)user, (unsigned long long)system, (unsigned long long)idle);
}

/* One /proc/net/dev line: the kept counters of interface name are base + their column. */
static char *netdev_line(char *buf, size_t size, const char *name, uint64_t base)
{
	unsigned long long b = base;

	snprintf(buf, size, "%6s: %llu %llu %llu %llu 0 0 0 0 %llu %llu %llu %llu 0 0 0 0\n", name,
		 b, b + 1, b + 2, b + 3, b + 8, b + 9, b + 10, b + 11);
	return buf;
}

/* /proc/net/dev with lo and, when their base is not 0, eth0 and wlan0. */
static void put_net(struct fixture *f, uint64_t eth0, uint64_t wlan0)
{
	char lo_line[160], eth_line[160], wlan_line[160];

	tree_putf(f->root, "proc/net/dev",
		  "Inter-|   Receive                                                |  Transmit\n"
		  " face |bytes    packets errs drop fifo frame compressed multicast|bytes    "
		  "packets "
		  "errs drop fifo colls carrier compressed\n%s%s%s",
		  netdev_line(lo_line, sizeof(lo_line), "lo", 1000),
		  eth0 ? netdev_line(eth_line, sizeof(eth_line), "eth0", eth0) : "",
		  wlan0 ? netdev_line(wlan_line, sizeof(wlan_line), "wlan0", wlan0) : "");
}

static void put_pid(struct fixture *f, int pid, const char *comm, uint64_t utime, uint64_t stime,
		    unsigned threads, uint64_t starttime, uint64_t rss_pages)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "proc/%d/stat", pid);
	tree_putf(f->root, rel,
		  "%d (%s) S 1 %d %d 0 -1 4194560 1000 0 0 0 %llu %llu 0 0 20 0 %u 0 %llu 10000000 "
		  "%llu "
		  "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
		  pid, comm, pid, pid, (unsigned long long)utime, (unsigned long long)stime,
		  threads, (unsigned long long)starttime, (unsigned long long)rss_pages);
}

static void remove_pid(struct fixture *f, int pid)
{
	char rel[32];

	snprintf(rel, sizeof(rel), "proc/%d", pid);
	tree_remove(f->root, rel);
}

/* /proc/diskstats: sda and its partition, mmcblk0 and a boot partition, a loop device; sda's
 * counters are reads, sectors read, writes, sectors written; mmcblk0's are 10 times less. */
static void put_diskstats(struct fixture *f, uint64_t reads, uint64_t sread, uint64_t writes,
			  uint64_t swritten)
{
	unsigned long long r = reads, sr = sread, w = writes, sw = swritten;

	tree_putf(f->root, "proc/diskstats",
		  "   8       0 sda %llu 5 %llu 100 %llu 7 %llu 200 0 300 400 0 0 0 0 10 20\n"
		  "   8       1 sda1 %llu 5 %llu 100 %llu 7 %llu 200 0 300 400 0 0 0 0 10 20\n"
		  " 179       0 mmcblk0 %llu 0 %llu 1 %llu 0 %llu 2 0 3 4\n"
		  " 179       8 mmcblk0boot0 1 0 8 0 0 0 0 0 0 0 0\n"
		  "   7       0 loop0 %llu 0 %llu 0 %llu 0 %llu 0 0 0 0\n",
		  r, sr, w, sw, r, sr, w, sw, r / 10, sr / 10, w / 10, sw / 10, r, sr, w, sw);
}

/* /proc/vmstat with pgpgin, pgpgout, pswpin, pswpout and pgmajfault at base + 0, 1, 2, 3, 4
 * times step. */
static void put_vmstat(struct fixture *f, uint64_t base, uint64_t step)
{
	unsigned long long b = base, st = step;

	tree_putf(f->root, "proc/vmstat",
		  "nr_free_pages 123456\nnr_dirty 12\npgpgin %llu\npgpgout %llu\npswpin %llu\n"
		  "pswpout %llu\npgfault 999999\npgmajfault %llu\nswap_ra 0\n",
		  b, b + st, b + 2 * st, b + 3 * st, b + 4 * st);
}

/* The first state of the tree: sample A. */
static void put_tree(struct fixture *f)
{
	put_cpu(f, 1000, 300, 50000);
	tree_putf(f->root, "proc/loadavg", "0.52 0.58 0.59 1/457 12345\n");
	tree_putf(f->root, "proc/meminfo",
		  "MemTotal:        1000 kB\nMemFree:          200 kB\nMemAvailable:     600 kB\n"
		  "Buffers:           10 kB\nCached:           300 kB\nSwapTotal:        100 kB\n"
		  "SwapFree:          75 kB\n");
	tree_putf(f->root, "proc/uptime", "1000.50 3000.00\n");
	put_net(f, 5000, 9000);
	put_pid(f, 100, "faultd", 40, 10, 3, 500, 500);
	put_pid(f, 200, "worker", 100, 100, 2, 600, 10);
	put_pid(f, 201, "worker", 1, 1, 4, 700, 20);
	put_pid(f, 300, "bash", 5, 5, 1, 800, 99);
	tree_putf(f->root, "proc/self/stat", "garbage that is never read\n");
	tree_putf(f->root, "proc/net/snmp", "not a process\n");
	tree_putf(f->root, "sys/class/thermal/thermal_zone0/type", "cpu-thermal\n");
	tree_putf(f->root, "sys/class/thermal/thermal_zone0/temp", "45000\n");
	tree_putf(f->root, "sys/class/thermal/thermal_zone1/type", "cpu-thermal\n"); /* same type */
	tree_putf(f->root, "sys/class/thermal/thermal_zone1/temp", "-5000\n");
	tree_putf(f->root, "sys/class/thermal/thermal_zone2/temp", "30500\n"); /* no type */
	/* Unreadable: a directory. */
	tree_remove(f->root, "sys/class/thermal/thermal_zone3/temp");
	tree_mkdir(f->root, "sys/class/thermal/thermal_zone3/temp");
	tree_putf(f->root, "sys/class/thermal/thermal_zone3/type", "gpu\n");
	tree_putf(f->root, "sys/class/thermal/cooling_device0/type", "fan\n");
	put_diskstats(f, 1000, 20000, 500, 40000);
	put_vmstat(f, 100000, 0);
	tree_remove(f->root, "sys/block");
	tree_putf(f->root, "sys/block/sda/size", "1000\n");
	tree_putf(f->root, "sys/block/mmcblk0/device/life_time", "0x01 0x02\n");
	tree_putf(f->root, "sys/block/mmcblk0/device/pre_eol_info", "0x01\n");
	tree_putf(f->root, "sys/block/mmcblk0boot0/device/life_time", "0x01 0x02\n");
	tree_putf(f->root, "sys/block/loop0/size", "0\n");
	tree_remove(f->root, "data");
	tree_mkdir(f->root, "data");
}

/* ---- running the plugin ---- */

/* Loads a configuration with the sysroot (NULL: f->root) and the "sysmetrics" section's
 * members section (JSON members, may be ""). Returns 0, or the load's error with its first message
 * in *ret_error. */
static int load_config(struct fixture *f, const char *sysroot, const char *section,
		       char **ret_error)
{
	_cleanup_free_ char *text = NULL;

	assert_true(asprintf(&text,
			     "{\"state_dir\": \"%s\", \"sysroot\": \"%s\", \"sysmetrics\": {%s}}",
			     f->ph->tree->dir, sysroot ?: f->root, section) > 0);
	return plugin_harness_load(f->ph, text, &f->ph->cfg, ret_error);
}

static void start(struct fixture *f, const char *sysroot, const char *section)
{
	char *error = NULL;

	assert_int_equal(load_config(f, sysroot, section, &error), 0);
	assert_int_equal(plugin_harness_start(f->ph), 1);
	assert_int_equal(lc_plugin_host_state(f->ph->host, 0), LC_PLUGIN_RUNNING);
}

/* Takes a sample now, as when the heartbeat closes, and closes it. */
static json_object *sample(struct fixture *f)
{
	lc_plugin_host_collect(f->ph->host);
	return plugin_harness_heartbeat(f->ph);
}

static bool has(json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

static void assert_num(json_object *o, const char *key, double want)
{
	double got = plugin_harness_reading(o, key);

	if (fabs(got - want) > 1e-9 * fmax(1, fabs(want)))
		fail_msg("\"%s\" is %.17g, expected %.17g", key, got, want);
}

/* How many keys of o begin with prefix. */
static size_t count_prefix(json_object *o, const char *prefix)
{
	size_t n = 0;

	json_object_object_foreach(o, key, val)
	{
		(void)val;
		n += strncmp(key, prefix, strlen(prefix)) == 0;
	}
	return n;
}

/* ---- tests ---- */

static void test_samples(void **state)
{
	struct fixture *f = *state;
	const double hz = (double)f->hz;
	json_object *h;

	put_tree(f);
	start(f, NULL,
	      "\"filesystems\": [\"/\", \"/data\", \"/missing\"], "
	      "\"processes\": [\"faultd\", \"worker\", \"ghost\"], \"interval_seconds\": 3600");

	/* The sample at start is only a baseline: it reports nothing (after an update, the old
	 * version's heartbeat closes after the plugins start). */
	h = plugin_harness_heartbeat(f->ph);
	assert_int_equal(json_object_object_length(h), 0);
	json_object_put(h);

	/* Sample A, nothing changed since: the gauges, and counters that did not move. */
	h = sample(f);
	assert_num(h, "load/1", 0.52);
	assert_num(h, "load/5", 0.58);
	assert_num(h, "load/15", 0.59);
	assert_num(h, "memory/total", 1000 * 1024);
	assert_num(h, "memory/available", 600 * 1024);
	assert_num(h, "memory/free", 200 * 1024);
	assert_num(h, "memory/swap_used", 25 * 1024);
	assert_num(h, "uptime", 1000.5);
	assert_true(plugin_harness_reading(h, "df/root/used") > 0);
	assert_true(plugin_harness_reading(h, "df/root/free") >= 0);
	assert_true(plugin_harness_reading(h, "df/root/used_pct") > 0 &&
		    plugin_harness_reading(h, "df/root/used_pct") <= 100);
	assert_false(has(h, "df/data/used")); /* on the same filesystem as "/" */
	assert_false(has(h, "df/missing/used"));
	assert_num(h, "thermal/cpu-thermal", 45);
	assert_num(h, "thermal/zone1", -5);
	assert_num(h, "thermal/zone2", 30.5);
	assert_int_equal(count_prefix(h, "thermal/"), 3); /* zone3's temp is a directory */
	assert_num(h, "proc/faultd/rss", 500.0 * (double)f->page);
	assert_num(h, "proc/faultd/threads", 3);
	assert_num(h, "proc/worker/rss", 30.0 * (double)f->page);
	assert_num(h, "proc/worker/threads", 6);
	assert_num(h, "proc/ghost/rss", 0);
	assert_num(h, "proc/ghost/threads", 0);
	assert_num(h, "cpu/user", 0);
	assert_num(h, "cpu/idle", 0);
	assert_num(h, "net/eth0/rx_bytes", 0);
	assert_num(h, "proc/faultd/cpu", 0);
	json_object_put(h);
	assert_int_equal(plugin_harness_status_int(f->ph, "interfaces"), 2); /* lo left out */
	assert_int_equal(plugin_harness_status_int(f->ph, "thermal_zones"), 4);
	assert_int_equal(plugin_harness_status_int(f->ph, "processes"), 3);
	assert_int_equal(plugin_harness_status_int(f->ph, "filesystems"), 1);
	assert_int_equal(plugin_harness_status_int(f->ph, "polls"), 2);
	assert_int_equal(plugin_harness_status_int(f->ph, "rejected_readings"), 0);

	/* Sample B: time passes; wlan0 vanishes; worker 201 exits and 202 starts. */
	put_cpu(f, 1100, 350, 51000);
	tree_putf(f->root, "proc/uptime", "1010.50 3000.00\n");
	put_net(f, 6000, 0);
	put_pid(f, 100, "faultd", 45, 15, 3, 500, 510);
	put_pid(f, 200, "worker", 110, 110, 2, 600, 10);
	remove_pid(f, 201);
	put_pid(f, 202, "worker", 4, 3, 1, (uint64_t)(1005 * hz), 5);
	h = sample(f);
	assert_num(h, "cpu/user", 100 / hz);
	assert_num(h, "cpu/system", 50 / hz);
	assert_num(h, "cpu/idle", 1000 / hz);
	assert_num(h, "cpu/nice", 0);
	assert_num(h, "cpu/steal", 0);
	assert_int_equal(count_prefix(h, "cpu/"), 8);
	assert_num(h, "net/eth0/rx_bytes", 1000);
	assert_num(h, "net/eth0/tx_bytes", 1000);
	assert_num(h, "net/eth0/rx_packets", 1000);
	assert_num(h, "net/eth0/tx_drops", 1000);
	assert_int_equal(count_prefix(h, "net/eth0/"), 8);
	assert_int_equal(count_prefix(h, "net/wlan0/"), 0);
	assert_int_equal(count_prefix(h, "net/lo/"), 0);
	assert_num(h, "proc/faultd/cpu", 10 / hz);
	assert_num(h, "proc/faultd/rss", 510.0 * (double)f->page);
	/* 200's increase, and all of 202's time: it started after sample A. */
	assert_num(h, "proc/worker/cpu", (20 + 7) / hz);
	assert_num(h, "proc/worker/threads", 3);
	assert_num(h, "proc/ghost/cpu", 0);
	assert_num(h, "uptime", 1010.5);
	json_object_put(h);
	assert_int_equal(plugin_harness_status_int(f->ph, "interfaces"), 1);
	assert_int_equal(plugin_harness_status_int(f->ph, "processes"), 3);

	/* Sample C: wlan0 is back with lower counters, eth0 was reset, idle went backwards, pid
	 * 200 was reused by a new worker. */
	put_cpu(f, 1150, 350, 50900);
	put_net(f, 10, 20);
	tree_putf(f->root, "proc/uptime", "1020.50 3000.00\n");
	put_pid(f, 200, "worker", 2, 1, 1, (uint64_t)(1015 * hz), 5);
	put_pid(f, 202, "worker", 5, 3, 1, (uint64_t)(1005 * hz), 5);
	h = sample(f);
	assert_num(h, "cpu/user", 50 / hz);
	assert_num(h, "cpu/idle", 0);
	assert_int_equal(count_prefix(h, "net/"), 0);
	assert_num(h, "proc/worker/cpu", (3 + 1) / hz);
	json_object_put(h);
	assert_int_equal(plugin_harness_status_int(f->ph, "interfaces"), 2);

	/* Sample D: both interfaces count again from their new baselines. */
	put_net(f, 15, 27);
	h = sample(f);
	assert_num(h, "net/eth0/rx_bytes", 5);
	assert_num(h, "net/wlan0/rx_bytes", 7);
	assert_num(h, "net/wlan0/tx_errors", 7);
	assert_num(h, "cpu/user", 0);
	assert_num(h, "proc/worker/cpu", 0);
	json_object_put(h);

	/* Two collects in one heartbeat: counters add up, gauges keep the last reading. */
	put_cpu(f, 1160, 350, 50900);
	lc_plugin_host_collect(f->ph->host);
	put_cpu(f, 1190, 350, 50900);
	tree_putf(f->root, "proc/loadavg", "1.00 2.00 3.00 1/1 1\n");
	h = sample(f);
	assert_num(h, "cpu/user", 40 / hz);
	assert_num(h, "load/1", 1);
	json_object_put(h);
	/* /missing and thermal_zone3 at each of the 7 samples. */
	assert_int_equal(plugin_harness_status_int(f->ph, "polls"), 7);
	assert_int_equal(plugin_harness_status_int(f->ph, "read_errors"), 2 * 7);
	assert_int_equal(plugin_harness_status_int(f->ph, "malformed"), 0);
	assert_int_equal(plugin_harness_status_int(f->ph, "rejected_readings"), 0);
	plugin_harness_stop(f->ph);
}

/* Counts the lines of log that contain needle. */
static size_t count_lines(const char *log, const char *needle)
{
	_cleanup_free_ char *text = strdup(log);
	size_t n = 0;

	assert_non_null(text);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		n += strstr(line, needle) != NULL;
	return n;
}

/* The mean of a histogram reading of h (one reading per sample). */
static void assert_rate(json_object *h, const char *key, double want)
{
	char name[160];

	snprintf(name, sizeof(name), "%s.mean", key);
	assert_num(h, name, want);
}

static void uptime_at(struct fixture *f, double seconds)
{
	tree_putf(f->root, "proc/uptime", "%.2f 3000.00\n", seconds);
}

/* Disk I/O, eMMC wear and paging, their rates measured over /proc/uptime: the plugin's clock,
 * faked here. */
static void test_flash_and_paging(void **state)
{
	struct fixture *f = *state;
	json_object *h;

	put_tree(f);
	start(f, NULL, "\"interval_seconds\": 3600");
	h = plugin_harness_heartbeat(f->ph);
	assert_int_equal(json_object_object_length(h), 0); /* the baseline */
	json_object_put(h);
	/* sda and mmcblk0: not the partition, the boot partition or the loop device. */
	assert_int_equal(plugin_harness_status_int(f->ph, "disks"), 2);

	/* Sample A at the same uptime: too soon for a rate; the wear, read when a heartbeat
	 * closes, is there. */
	h = sample(f);
	assert_int_equal(count_prefix(h, "memory/vm/"), 0);
	assert_false(has(h, "diskstats/sda/bytes_written"));
	assert_num(h, "diskstats/mmcblk0/lifetime_remaining_pct", 100);
	assert_num(h, "diskstats/mmcblk0/lifetime_b_remaining_pct", 90);
	assert_num(h, "diskstats/mmcblk0/pre_eol_info", 1);
	assert_int_equal(count_prefix(h, "diskstats/"), 3);
	json_object_put(h);

	/* Sample B, 10 s later. */
	uptime_at(f, 1010.5);
	put_diskstats(f, 1100, 22000, 550, 44000);
	put_vmstat(f, 101000, 10);
	h = sample(f);
	assert_rate(h, "diskstats/sda/reads_per_second", 10);
	assert_rate(h, "diskstats/sda/writes_per_second", 5);
	assert_rate(h, "diskstats/sda/bytes_read_per_second", 2000.0 * 512 / 10);
	assert_rate(h, "diskstats/sda/bytes_written_per_second", 4000.0 * 512 / 10);
	assert_num(h, "diskstats/sda/bytes_written", 4000.0 * 512);
	assert_num(h, "diskstats/sda/bytes_written_per_second.count", 1);
	assert_rate(h, "diskstats/mmcblk0/bytes_written_per_second", 400.0 * 512 / 10);
	assert_num(h, "diskstats/mmcblk0/bytes_written", 400.0 * 512);
	assert_false(has(h, "diskstats/sda1/bytes_written"));
	assert_false(has(h, "diskstats/loop0/bytes_written"));
	assert_int_equal(count_prefix(h, "diskstats/mmcblk0boot0/"), 0);
	assert_rate(h, "memory/vm/pages_in_per_second", 100);
	assert_rate(h, "memory/vm/pages_out_per_second", 101);
	assert_rate(h, "memory/vm/swaps_in_per_second", 102);
	assert_rate(h, "memory/vm/swaps_out_per_second", 103);
	assert_rate(h, "memory/vm/major_faults_per_second", 104);
	json_object_put(h);

	/* Sample C: sda replaced (its counters start again), pswpin wrapped at 32 bits: no reading
	 * for either, rather than a negative or huge one; the others go on. */
	uptime_at(f, 1020.5);
	put_diskstats(f, 10, 200, 5, 400);
	tree_putf(f->root, "sys/block/mmcblk0/device/life_time", "0x02 0x0b\n");
	tree_putf(f->root, "sys/block/mmcblk0/device/pre_eol_info", "0x03\n");
	tree_putf(f->root, "proc/vmstat", "pgpgin 102000\npgpgout 101020\npswpin 5\n");
	h = sample(f);
	assert_int_equal(count_prefix(h, "diskstats/sda/"), 0);
	assert_false(has(h, "memory/vm/swaps_in_per_second.mean"));
	assert_false(has(h, "memory/vm/swaps_out_per_second.mean")); /* gone from the file */
	assert_rate(h, "memory/vm/pages_in_per_second", 100);
	assert_rate(h, "memory/vm/pages_out_per_second", 1);
	assert_num(h, "diskstats/mmcblk0/lifetime_remaining_pct", 90);
	assert_num(h, "diskstats/mmcblk0/lifetime_b_remaining_pct", 0);
	assert_num(h, "diskstats/mmcblk0/pre_eol_info", 3);
	json_object_put(h);

	/* Sample D: sda counts from its new baseline. Then a sample half a second later keeps
	 * the baseline, and the next rate spans both intervals. */
	uptime_at(f, 1030.5);
	put_diskstats(f, 30, 200, 5, 400);
	h = sample(f);
	assert_rate(h, "diskstats/sda/reads_per_second", 2);
	assert_num(h, "diskstats/sda/bytes_written", 0);
	json_object_put(h);
	uptime_at(f, 1031);
	put_diskstats(f, 31, 200, 5, 400);
	lc_plugin_host_collect(f->ph->host);
	uptime_at(f, 1050.5);
	put_diskstats(f, 70, 200, 5, 400);
	h = sample(f);
	assert_rate(h, "diskstats/sda/reads_per_second", 2);
	assert_num(h, "diskstats/sda/reads_per_second.count", 1);
	json_object_put(h);

	/* The uptime unreadable: no rate can be measured; the baseline stays for the next. */
	tree_putf(f->root, "proc/uptime", "soon\n");
	put_diskstats(f, 1000, 200, 5, 400);
	h = sample(f);
	assert_int_equal(count_prefix(h, "diskstats/sda/"), 0);
	json_object_put(h);
	uptime_at(f, 1070.5);
	h = sample(f);
	assert_rate(h, "diskstats/sda/reads_per_second", 930.0 / 20);
	json_object_put(h);
	assert_int_equal(plugin_harness_status_int(f->ph, "malformed"), 1); /* the uptime */
	plugin_harness_stop(f->ph);

	/* "disks": [] reads no disk; the patterns choose by name. */
	start(f, NULL, "\"disks\": []");
	assert_int_equal(plugin_harness_status_int(f->ph, "disks"), 0);
	plugin_harness_stop(f->ph);
	start(f, NULL, "\"disks\": [\"mmc*\", \"loop*\"], \"disks_exclude\": []");
	assert_int_equal(plugin_harness_status_int(f->ph, "disks"), 3);
	plugin_harness_stop(f->ph);
}

/* Bad diskstats, vmstat and sysfs wear files: each skipped with one warning, the rest reported. */
static void test_flash_hostile(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *missing = NULL, *bad = NULL;
	json_object *h;

	put_tree(f);
	start(f, NULL, "\"interval_seconds\": 3600");
	json_object_put(plugin_harness_heartbeat(f->ph));

	/* Missing: vmstat skipped with one warning; no eMMC files is no eMMC, not an error. */
	tree_unlink(f->root, "proc/vmstat");
	tree_remove(f->root, "sys/block/mmcblk0/device");
	plugin_harness_log_start(f->ph);
	for (int i = 0; i < 2; i++) {
		uptime_at(f, 1010.5 + 10 * i);
		h = sample(f);
		assert_int_equal(count_prefix(h, "memory/vm/"), 0);
		assert_false(has(h, "diskstats/mmcblk0/lifetime_remaining_pct"));
		assert_rate(h, "diskstats/sda/reads_per_second", 0);
		json_object_put(h);
	}
	missing = plugin_harness_log_end(f->ph);
	assert_int_equal(count_lines(missing, "/proc/vmstat"), 1);
	assert_int_equal(count_lines(missing, "mmcblk0"), 0);
	/* thermal_zone3 at start; it and vmstat at each sample. */
	assert_int_equal(plugin_harness_status_int(f->ph, "read_errors"), 1 + 2 * 2);

	/* Back: the rates resume. */
	put_tree(f);
	uptime_at(f, 1030.5);
	json_object_put(sample(f));
	uptime_at(f, 1040.5);
	put_vmstat(f, 100100, 0);
	h = sample(f);
	assert_rate(h, "memory/vm/pages_in_per_second", 10);
	assert_num(h, "diskstats/mmcblk0/lifetime_remaining_pct", 100);
	json_object_put(h);

	/* Short lines, a number over 2^64, garbage, a line cut short: skipped and counted, the
	 * good line still counts. */
	tree_putf(f->root, "proc/diskstats",
		  "   8       0 sda 1 2 3\n"
		  "   8       0 sda 99999999999999999999 0 0 0 0 0 0 0 0 0 0\n"
		  "garbage\n"
		  " 179       0 mmcblk0 200 0 3000 1 100 0 5000 2 0 3 4\n"
		  "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11");
	tree_putf(f->root, "proc/vmstat", "all of this is garbage\n");
	tree_putf(f->root, "sys/block/mmcblk0/device/life_time", "0x01\n");
	tree_putf(f->root, "sys/block/mmcblk0/device/pre_eol_info", "0x09\n"); /* reserved */
	plugin_harness_log_start(f->ph);
	for (int i = 0; i < 3; i++) {
		uptime_at(f, 1050.5 + 10 * i);
		h = sample(f);
		assert_int_equal(count_prefix(h, "memory/vm/"), 0);
		assert_int_equal(count_prefix(h, "diskstats/sda/"), 0);
		assert_false(has(h, "diskstats/mmcblk0/lifetime_remaining_pct"));
		assert_false(has(h, "diskstats/mmcblk0/pre_eol_info"));
		/* mmcblk0: 100 reads more in the first 10 s, then none. */
		assert_rate(h, "diskstats/mmcblk0/reads_per_second", i == 0 ? 10 : 0);
		assert_num(h, "uptime", 1050.5 + 10 * i);
		json_object_put(h);
	}
	bad = plugin_harness_log_end(f->ph);
	assert_int_equal(count_lines(bad, "/proc/diskstats"), 1);
	assert_int_equal(count_lines(bad, "/proc/vmstat"), 1);
	assert_int_equal(count_lines(bad, "life_time"), 1);
	assert_int_equal(count_lines(bad, "pre_eol_info"), 0); /* a reserved value is counted */
	/* At each sample: 4 diskstats lines, vmstat, life_time and pre_eol_info. */
	assert_int_equal(plugin_harness_status_int(f->ph, "malformed"), 3 * (4 + 3));
	plugin_harness_stop(f->ph);
}

static void test_hostile_tree(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *log = NULL;
	json_object *h;

	put_tree(f);
	start(f, NULL,
	      "\"interval_seconds\": 3600, \"filesystems\": [\"/\"], \"processes\": [\"faultd\"]");
	json_object_put(plugin_harness_heartbeat(f->ph));

	/* Garbage, a directory, a zero-length file, a truncated line, a thermal zone gone, a
	 * process whose stat is garbage: each source is skipped, the others still report. */
	tree_putf(f->root, "proc/meminfo", "MemTotal: lots\nMemFree: 1 kB\n");
	tree_remove(f->root, "proc/loadavg");
	tree_mkdir(f->root, "proc/loadavg");
	tree_putf(f->root, "proc/net/dev", "%s", "");
	tree_putf(f->root, "proc/stat", "cpu 1 2 3");
	tree_remove(f->root, "sys/class/thermal/thermal_zone1");
	tree_putf(f->root, "proc/100/stat", "100 (faultd) S 1 2 3\n");

	/* Each failure is logged once, not at every sample. */
	plugin_harness_log_start(f->ph);
	for (int i = 0; i < 3; i++) {
		h = sample(f);
		assert_int_equal(count_prefix(h, "memory/"), 0);
		assert_int_equal(count_prefix(h, "load/"), 0);
		assert_int_equal(count_prefix(h, "cpu/"), 0);
		assert_int_equal(count_prefix(h, "net/"), 0);
		assert_false(has(h, "thermal/zone1"));
		assert_num(h, "thermal/cpu-thermal", 45);
		assert_num(h, "uptime", 1000.5);
		assert_num(h, "proc/faultd/threads", 0);
		json_object_put(h);
	}
	log = plugin_harness_log_end(f->ph);
	assert_int_equal(count_lines(log, "/proc/meminfo"), 1);
	assert_int_equal(count_lines(log, "/proc/loadavg"), 1);
	assert_int_equal(count_lines(log, "/proc/stat"), 1);
	assert_int_equal(count_lines(log, "/proc/100/stat"), 1);
	assert_int_equal(count_lines(log, "thermal_zone3"), 0); /* already logged at start */
	assert_int_equal(count_lines(log, "thermal_zone1"), 0); /* gone is not an error */
	assert_int_equal(plugin_harness_status_int(f->ph, "interfaces"), 0);
	assert_int_equal(plugin_harness_status_int(f->ph, "thermal_zones"), 3);
	/* zone3 at start; loadavg and zone3 at each sample. */
	assert_int_equal(plugin_harness_status_int(f->ph, "read_errors"), 1 + 3 * 2);
	assert_int_equal(plugin_harness_status_int(f->ph, "malformed"),
			 3 * 3); /* meminfo, stat, pid 100 */

	/* Repaired: the readings come back (counters from a new baseline). */
	tree_remove(f->root, "proc/loadavg");
	put_tree(f);
	h = sample(f);
	assert_num(h, "memory/total", 1000 * 1024);
	assert_num(h, "load/1", 0.52);
	assert_num(h, "cpu/idle", 0);
	assert_num(h, "proc/faultd/threads", 3);
	json_object_put(h);
	plugin_harness_stop(f->ph);
}

static void test_empty_sysroot(void **state)
{
	struct fixture *f = *state;
	json_object *h;

	/* Nothing at all below the sysroot: the plugin runs and reports what it can. */
	assert_int_equal(lc_mkdir_p(f->root, 0755), 0);
	start(f, NULL, "");
	h = sample(f);
	assert_true(has(h, "df/root/used"));
	assert_int_equal(json_object_object_length(h), 3);
	json_object_put(h);
	assert_int_equal(plugin_harness_status_int(f->ph, "thermal_zones"), 0);
	assert_true(plugin_harness_status_int(f->ph, "read_errors") > 0);
	plugin_harness_stop(f->ph);
}

static void test_state_filesystem(void **state)
{
	struct fixture *f = *state;
	json_object *h;

	/* The state directory's filesystem is reported as "state" when nothing listed is on it. */
	put_tree(f);
	start(f, NULL, "\"filesystems\": []");
	h = sample(f);
	assert_true(plugin_harness_reading(h, "df/state/used") > 0);
	assert_true(has(h, "df/state/free"));
	assert_true(has(h, "df/state/used_pct"));
	assert_int_equal(count_prefix(h, "df/"), 3);
	json_object_put(h);
	assert_int_equal(plugin_harness_status_int(f->ph, "filesystems"), 1);
	plugin_harness_stop(f->ph);

	/* Here the sysroot and the state directory share one filesystem: only "root". */
	start(f, NULL, "\"filesystems\": [\"/\"]");
	h = sample(f);
	assert_true(has(h, "df/root/used"));
	assert_int_equal(count_prefix(h, "df/"), 3);
	json_object_put(h);
	plugin_harness_stop(f->ph);
}

static void test_collection_off(void **state)
{
	struct fixture *f = *state;
	json_object *h;

	put_tree(f);
	f->ph->collection_off = true;
	start(f, NULL, "");
	put_cpu(f, 2000, 300, 50000);
	lc_plugin_host_collect(f->ph->host);
	/* -EPERM is not a rejection; the samples go on as baselines. */
	assert_int_equal(plugin_harness_status_int(f->ph, "rejected_readings"), 0);
	assert_int_equal(plugin_harness_status_int(f->ph, "polls"), 2);
	h = plugin_harness_heartbeat(f->ph);
	assert_int_equal(json_object_object_length(h), 0);
	json_object_put(h);

	f->ph->collection_off = false;
	put_cpu(f, 2010, 300, 50000);
	h = sample(f);
	assert_num(h, "cpu/user", 10 / (double)f->hz);
	json_object_put(h);
	plugin_harness_stop(f->ph);
}

static void test_limits(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *net = NULL, *vmstat = NULL;
	size_t len = 0, size = 0;
	FILE *m;
	json_object *h;

	put_tree(f);
	/* 70 interfaces, 40 thermal zones, 70 processes of one name. */
	m = open_memstream(&net, &size);
	assert_non_null(m);
	for (int i = 0; i < 70; i++)
		fprintf(m, "eth%d: %d 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", i, i);
	assert_int_equal(fclose(m), 0);
	len = strlen(net);
	assert_true(len > 0);
	tree_putf(f->root, "proc/net/dev", "%s", net);
	tree_remove(f->root, "sys/class/thermal");
	tree_mkdir(f->root, "sys/class/thermal");
	for (int i = 0; i < 40; i++) {
		char rel[64];

		snprintf(rel, sizeof(rel), "sys/class/thermal/thermal_zone%d/temp", i);
		tree_putf(f->root, rel, "%d\n", i * 1000);
	}
	for (int i = 0; i < 70; i++)
		put_pid(f, 1000 + i, "faultd", 1, 1, 1, 10, 1);
	/* /proc/vmstat over 16 KiB: pgmajfault is past the cut. */
	m = open_memstream(&vmstat, &size);
	assert_non_null(m);
	fprintf(m, "pgpgin 1\n");
	for (int i = 0; i < 1000; i++)
		fprintf(m, "nr_padding_%d 0\n", i);
	fprintf(m, "pgmajfault 1\n");
	assert_int_equal(fclose(m), 0);
	tree_putf(f->root, "proc/vmstat", "%s", vmstat);
	for (int i = 0; i < 10; i++) {
		char rel[64];

		snprintf(rel, sizeof(rel), "sys/block/vd%c/size", 'a' + i);
		tree_putf(f->root, rel, "8\n");
	}
	start(f, NULL, "\"interfaces_exclude\": [], \"processes\": [\"faultd\"]");
	json_object_put(plugin_harness_heartbeat(f->ph));
	assert_int_equal(plugin_harness_status_int(f->ph, "interfaces"), 64);
	assert_int_equal(plugin_harness_status_int(f->ph, "over_limits.interfaces"), 6);
	assert_int_equal(plugin_harness_status_int(f->ph, "thermal_zones"), 32);
	assert_int_equal(plugin_harness_status_int(f->ph, "over_limits.thermal_zones"), 8);
	assert_int_equal(plugin_harness_status_int(f->ph, "processes"), 71); /* with pid 100 */
	assert_int_equal(plugin_harness_status_int(f->ph, "over_limits.processes"), 7);
	/* sda, mmcblk0 and 10 more: the first 8 by name (mmcblk0, sda, vda..vdf). */
	assert_int_equal(plugin_harness_status_int(f->ph, "disks"), 8);
	assert_int_equal(plugin_harness_status_int(f->ph, "over_limits.disks"), 4);
	assert_int_equal(plugin_harness_status_int(f->ph, "over_limits.vmstat_size"), 1);

	uptime_at(f, 1010.5);
	h = sample(f);
	assert_true(has(h, "diskstats/mmcblk0/bytes_written"));
	assert_true(has(h, "diskstats/sda/bytes_written"));
	assert_true(has(h, "memory/vm/pages_in_per_second.mean"));
	assert_false(has(h, "memory/vm/major_faults_per_second.mean"));
	assert_int_equal(count_prefix(h, "net/"), 64 * 8);
	assert_int_equal(count_prefix(h, "thermal/"), 32);
	/* Every process counts for memory and threads, even those whose CPU is not followed. */
	assert_num(h, "proc/faultd/threads", 70 + 3);
	json_object_put(h);
	assert_int_equal(plugin_harness_status_int(f->ph, "over_limits.interfaces"), 12);
	plugin_harness_stop(f->ph);
}

static void put_cgroup(struct fixture *f, int pid, const char *text)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "proc/%d/cgroup", pid);
	tree_putf(f->root, rel, "%s", text);
}

static void put_exe(struct fixture *f, int pid, const char *target)
{
	_cleanup_free_ char *path = NULL;
	char rel[64];

	snprintf(rel, sizeof(rel), "proc/%d/exe", pid);
	path = tree_path(f->root, rel);
	(void)unlink(path);
	assert_int_equal(symlink(target, path), 0);
}

/* A configured process is that process: faultd itself, a pid file's, a unit's, an executable's;
 * another process of the same name is not added in. The name form still takes them all. */
static void test_process_forms(void **state)
{
	struct fixture *f = *state;
	const int self = (int)getpid();
	_cleanup_free_ char *log = NULL;
	json_object *h;

	put_tree(f);
	put_pid(f, self, "faultd", 1, 1, 2, 400, 7); /* faultd itself; pid 100 is another job's */
	tree_putf(f->root, "run/gatewayd.pid", "200\n");
	put_pid(f, 200, "gatewayd", 1, 1, 5, 400, 11);
	put_pid(f, 201, "gatewayd", 1, 1, 7, 400, 13); /* a second gatewayd, not the service */
	put_pid(f, 300, "modemd", 1, 1, 1, 400, 17);
	put_cgroup(f, 300, "0::/system.slice/modem.service\n");
	put_pid(f, 301, "pppd", 1, 1, 1, 400, 19); /* started by the unit, in a sub-cgroup */
	put_cgroup(f, 301, "0::/system.slice/modem.service/ppp\n");
	put_pid(f, 302, "modemd", 1, 1, 1, 400, 23); /* run by hand in a login session */
	put_cgroup(f, 302, "0::/user.slice/user-0.slice/session-1.scope\n");
	put_pid(f, 400, "agent", 1, 1, 1, 400, 29);
	put_exe(f, 400, "/usr/bin/agent");
	put_pid(f, 401, "agent-old", 1, 1, 1, 400, 31); /* still running a replaced binary */
	put_exe(f, 401, "/usr/bin/agent (deleted)");
	put_pid(f, 402, "agent", 1, 1, 1, 400, 37); /* a copy elsewhere */
	put_exe(f, 402, "/tmp/agent");
	start(f, NULL,
	      "\"interval_seconds\": 3600, \"processes\": [\"faultd=self\", "
	      "\"gw=pidfile:/run/gatewayd.pid\", \"modem=unit:modem.service\", "
	      "\"agent=exe:/usr/bin/agent\", \"gatewayd\"]");
	json_object_put(plugin_harness_heartbeat(f->ph));

	h = sample(f);
	assert_num(h, "proc/faultd/rss", 7.0 * (double)f->page);
	assert_num(h, "proc/faultd/threads", 2);
	assert_num(h, "proc/gw/rss", 11.0 * (double)f->page);
	assert_num(h, "proc/gw/threads", 5);
	assert_num(h, "proc/modem/rss", (17.0 + 19.0) * (double)f->page);
	assert_num(h, "proc/modem/threads", 2);
	assert_num(h, "proc/agent/rss", (29.0 + 31.0) * (double)f->page);
	/* The name form: every process of that name an earlier entry did not choose. */
	assert_num(h, "proc/gatewayd/threads", 7);
	json_object_put(h);

	/* The service restarts: its pid file names the new process; then it stops. */
	tree_putf(f->root, "run/gatewayd.pid", "201");
	h = sample(f);
	assert_num(h, "proc/gw/threads", 7);
	json_object_put(h);
	tree_remove(f->root, "run/gatewayd.pid");
	h = sample(f);
	assert_num(h, "proc/gw/threads", 0);
	assert_num(h, "proc/gw/rss", 0);
	assert_num(h, "proc/faultd/threads", 2);
	json_object_put(h);

	/* A pid file of garbage is logged once, and the process counts as not running. */
	plugin_harness_log_start(f->ph);
	tree_putf(f->root, "run/gatewayd.pid", "gatewayd\n");
	h = sample(f);
	assert_num(h, "proc/gw/threads", 0);
	json_object_put(h);
	h = sample(f);
	json_object_put(h);
	log = plugin_harness_log_end(f->ph);
	assert_int_equal(count_lines(log, "gatewayd.pid"), 1);
	plugin_harness_stop(f->ph);
}

/* Only faultd itself, by default: another process named faultd is not added in. */
static void test_process_default(void **state)
{
	struct fixture *f = *state;
	json_object *h;

	put_tree(f); /* pid 100 is a "faultd" that is not this one */
	put_pid(f, (int)getpid(), "faultd", 1, 1, 2, 400, 7);
	start(f, NULL, "\"interval_seconds\": 3600");
	json_object_put(plugin_harness_heartbeat(f->ph));
	h = sample(f);
	assert_num(h, "proc/faultd/rss", 7.0 * (double)f->page);
	assert_num(h, "proc/faultd/threads", 2);
	json_object_put(h);
	plugin_harness_stop(f->ph);
}

static bool polled_three_times(void *userdata)
{
	struct fixture *f = userdata;

	return plugin_harness_status_int(f->ph, "polls") >= 3;
}

static void test_timer(void **state)
{
	struct fixture *f = *state;

	put_tree(f);
	start(f, NULL, "\"interval_seconds\": 1");
	plugin_harness_run_until(f->ph, UV_RUN_ONCE, 100, polled_three_times, f);
	assert_int_equal(plugin_harness_status_int(f->ph, "polls"), 3);
	assert_true(plugin_harness_status_int(f->ph, "last_poll_usec") > 0);
	assert_int_equal(plugin_harness_status_int(f->ph, "interval_seconds"), 1);
	plugin_harness_stop(f->ph);
}

static void test_real_system(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *comm = NULL, *section = NULL, *threads = NULL, *rss = NULL,
			    *cpu = NULL;
	_cleanup_json_ json_object *name = NULL;
	const char *quoted;
	json_object *h;

	if (access("/proc/stat", R_OK) < 0 || lc_read_file("/proc/1/comm", 64, &comm, NULL) < 0)
		skip();
	/* The formats of the running kernel, whatever they are, parse. The process followed is
	 * init, by the name the kernel gives it: under qemu-user, this test's own entry is the
	 * emulator's. */
	comm[strcspn(comm, "\n")] = 0;
	name = json_object_new_string(comm);
	assert_non_null(name);
	quoted = json_object_to_json_string(name);
	assert_true(asprintf(&section, "\"processes\": [%s]", quoted) > 0);
	assert_true(asprintf(&threads, "proc/%s/threads", comm) > 0);
	assert_true(asprintf(&rss, "proc/%s/rss", comm) > 0);
	assert_true(asprintf(&cpu, "proc/%s/cpu", comm) > 0);
	start(f, "/", section);
	json_object_put(plugin_harness_heartbeat(f->ph));
	h = sample(f);
	assert_true(plugin_harness_reading(h, "memory/total") > 0);
	assert_true(has(h, "cpu/user"));
	assert_true(has(h, "load/1"));
	assert_true(plugin_harness_reading(h, "uptime") > 0);
	assert_true(plugin_harness_reading(h, "df/root/used_pct") >= 0);
	assert_true(plugin_harness_reading(h, threads) >= 1);
	assert_true(plugin_harness_reading(h, rss) > 0);
	assert_true(has(h, cpu));
	json_object_put(h);
	assert_int_equal(plugin_harness_status_int(f->ph, "malformed"), 0);
	assert_int_equal(plugin_harness_status_int(f->ph, "rejected_readings"), 0);
	plugin_harness_stop(f->ph);
}

static void test_bad_config(void **state)
{
	static const struct {
		const char *section, *why;
	} bad[] = {
		{ "\"interval_seconds\": 0", "interval_seconds" },
		{ "\"filesystems\": [\"data\"]", "absolute" },
		{ "\"processes\": [\"a/b\"]", "process name" },
		{ "\"processes\": [\"\"]", "process name" },
		{ "\"processes\": [\"gw=pidfile:run/gw.pid\"]", "absolute path" },
		{ "\"processes\": [\"gw=unit:gw\"]", "unit name" },
		{ "\"processes\": [\"gw=me\"]", "=pidfile:PATH" },
		{ "\"interfaces\": [\"\"]", "pattern" },
		{ "\"disks_exclude\": [\"\"]", "pattern" },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *error = NULL;

		assert_int_equal(load_config(f, NULL, bad[i].section, &error), -EINVAL);
		if (!strstr(error, bad[i].why))
			fail_msg("%s: %s", bad[i].section, error);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_samples, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flash_and_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flash_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_sysroot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_filesystem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collection_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_process_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_process_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_system, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
	};

	lc_log_open("test-sysmetrics-plugin", LC_LOG_TARGET_STDERR);
	lc_log_set_ratelimit(false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
