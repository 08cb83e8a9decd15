/* SPDX-License-Identifier: MIT */
/* The sysmetrics plugin's readers and parsers (plugins/sysmetrics/procfs.c) on realistic and
 * hostile text and on fake trees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness-fs.h"
#include "macro.h"
#include "procfs.h"
#include "tmpdir.h"

/* ---- /proc/stat ---- */

static void test_cpu_realistic(void **state)
{
	struct sysmetrics_cpu cpu;

	assert_int_equal(sysmetrics_parse_cpu(
				 "cpu  10132153 290696 3084719 46828483 16683 0 25195 7 175628 0\n"
				 "cpu0 1393280 32966 572056 13343292 6130 0 17875 0 23933 0\n"
				 "intr 1462898 0 1 0\n",
				 &cpu),
			 0);
	assert_int_equal(cpu.n_states, 8);
	assert_int_equal(cpu.ticks[SYSMETRICS_CPU_USER], 10132153);
	assert_int_equal(cpu.ticks[SYSMETRICS_CPU_NICE], 290696);
	assert_int_equal(cpu.ticks[SYSMETRICS_CPU_SYSTEM], 3084719);
	assert_int_equal(cpu.ticks[SYSMETRICS_CPU_IDLE], 46828483);
	assert_int_equal(cpu.ticks[SYSMETRICS_CPU_IOWAIT], 16683);
	assert_int_equal(cpu.ticks[SYSMETRICS_CPU_IRQ], 0);
	assert_int_equal(cpu.ticks[SYSMETRICS_CPU_SOFTIRQ], 25195);
	assert_int_equal(cpu.ticks[SYSMETRICS_CPU_STEAL], 7);
	assert_string_equal(sysmetrics_cpu_state_name(SYSMETRICS_CPU_SOFTIRQ), "softirq");
	assert_null(sysmetrics_cpu_state_name(_SYSMETRICS_CPU_MAX));

	/* A 2.4 kernel's four states; the largest 64-bit number; tabs. */
	assert_int_equal(sysmetrics_parse_cpu("cpu\t1 2 3 18446744073709551615\n", &cpu), 0);
	assert_int_equal(cpu.n_states, 4);
	assert_true(cpu.ticks[SYSMETRICS_CPU_IDLE] == UINT64_MAX);
	/* Trailing blanks before the newline are fine. */
	assert_int_equal(sysmetrics_parse_cpu("cpu 1 2 3 4 5  \n", &cpu), 0);
	assert_int_equal(cpu.n_states, 5);
}

static void test_cpu_hostile(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"cpu\n",
		"cpu 1 2 3\n",			       /* too few states */
		"cpu 1 2 3 4",			       /* truncated: no newline */
		"cpu0 1 2 3 4\n",		       /* a per-CPU line first */
		"cpux 1 2 3 4\n",		       /* not the aggregate */
		"intr 1 2 3 4\ncpu 1 2 3 4\n",	       /* not the first line */
		"cpu 1 2 x 4\n",		       /* garbage */
		"cpu 1 2 -3 4\n",		       /* a sign */
		"cpu 1 2 3 4abc\n",		       /* a glued suffix */
		"cpu 1 2 3 1.5\n",		       /* a fraction */
		"cpu 1 2 3 18446744073709551616\n",    /* 2^64 */
		"cpu 1 2 3 99999999999999999999999\n", /* far over */
	};
	struct sysmetrics_cpu cpu = { .n_states = 42 };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(sysmetrics_parse_cpu(bad[i], &cpu), -EBADMSG);
		assert_int_equal(cpu.n_states, 42); /* untouched on failure */
	}
}

/* ---- /proc/loadavg, /proc/uptime ---- */

static void test_loadavg(void **state)
{
	static const char *const bad[] = {
		"",	     "0.52 0.58\n",   "nan 0.1 0.2\n",	 "inf 1 2\n",
		"1e3 0 0\n", "-1.0 0 0\n",    "0.5,0.6 0.7 1\n", "0. 1 2\n",
		".5 1 2\n",  "0.52 0.58 x\n", "1 2 3x 1/2\n",	 "0.52\n0.58 0.59\n",
	};
	double load[3] = { -1, -1, -1 };

	assert_int_equal(sysmetrics_parse_loadavg("0.52 0.58 0.59 1/457 12345\n", load), 0);
	assert_true(load[0] == 0.52 && load[1] == 0.58 && load[2] == 0.59);
	assert_int_equal(sysmetrics_parse_loadavg("12 3 400.25\n", load), 0);
	assert_true(load[0] == 12 && load[1] == 3 && load[2] == 400.25);
	/* Just the three numbers, as a truncated read might leave them. */
	assert_int_equal(sysmetrics_parse_loadavg("1.00 2.00 3.00", load), 0);
	assert_true(load[2] == 3);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(sysmetrics_parse_loadavg(bad[i], load), -EBADMSG);
		assert_true(load[2] == 3);
	}
}

static void test_uptime(void **state)
{
	static const char *const bad[] = { "",	       "\n",	"abc\n", "-1.0 2\n",
					   "1.5x 2\n", "1e9\n", "1.\n" };
	double up = -1;

	assert_int_equal(sysmetrics_parse_uptime("350735.47 234388.90\n", &up), 0);
	assert_true(up == 350735.47);
	/* Many fraction digits are read, the excess ignored. */
	assert_int_equal(sysmetrics_parse_uptime("1.1234567890123456789012345 0\n", &up), 0);
	assert_true(up > 1.1234567 && up < 1.1234568);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(sysmetrics_parse_uptime(bad[i], &up), -EBADMSG);
}

/* ---- /proc/meminfo ---- */

static void test_meminfo(void **state)
{
	struct sysmetrics_mem m;

	assert_int_equal(sysmetrics_parse_meminfo("MemTotal:       16314180 kB\n"
						  "MemFree:         1024000 kB\n"
						  "MemAvailable:    8000000 kB\n"
						  "Buffers:          500000 kB\n"
						  "Cached:          6000000 kB\n"
						  "SwapCached:            0 kB\n"
						  "SwapTotal:       2097148 kB\n"
						  "SwapFree:        2000000 kB\n"
						  "HugePages_Total:       0\n"
						  "Hugepagesize:       2048 kB\n",
						  &m),
			 0);
	assert_int_equal(m.have, 0x7f);
	assert_int_equal(m.total, 16314180ULL * 1024);
	assert_int_equal(m.free, 1024000ULL * 1024);
	assert_int_equal(sysmetrics_mem_available(&m), 8000000ULL * 1024);
	assert_int_equal(m.swap_total - m.swap_free, 97148ULL * 1024);

	/* Before Linux 3.14: no MemAvailable, estimated; no swap at all; a value without unit. */
	assert_int_equal(sysmetrics_parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\n"
						  "Buffers: 20 kB\nCached: 300 kB\n"
						  "MemTotalish: garbage\nNoColonLine\n",
						  &m),
			 0);
	assert_false(m.have & SYSMETRICS_MEM_AVAILABLE);
	assert_false(m.have & SYSMETRICS_MEM_SWAP_TOTAL);
	assert_int_equal(sysmetrics_mem_available(&m), 420 * 1024);
	assert_int_equal(sysmetrics_parse_meminfo("MemTotal: 1000\nMemFree: 10\n", &m), 0);
	assert_int_equal(m.total, 1000);
	/* The estimate saturates instead of wrapping. */
	m = (struct sysmetrics_mem){ .free = UINT64_MAX - 1, .cached = 5 };
	assert_true(sysmetrics_mem_available(&m) == UINT64_MAX);
}

static void test_meminfo_hostile(void **state)
{
	static const char *const bad[] = {
		"",
		"MemFree: 100 kB\n",				   /* no MemTotal */
		"MemTotal: 100 kB\n",				   /* no MemFree */
		"MemTotal: 100 kB\nMemFree: 100 kB",		   /* last line cut */
		"MemTotal: abc kB\nMemFree: 1 kB\n",		   /* garbage */
		"MemTotal: -5 kB\nMemFree: 1 kB\n",		   /* a sign */
		"MemTotal: 100 kB extra\nMemFree: 1 kB\n",	   /* trailing junk */
		"MemTotal: 100 MB\nMemFree: 1 kB\n",		   /* an unknown unit */
		"MemTotal:\nMemFree: 1 kB\n",			   /* no value */
		"MemTotal: 18014398509481984 kB\nMemFree: 1 kB\n", /* 2^54 kB: over 2^64 bytes */
		"MemTotal: 18446744073709551616\nMemFree: 1\n",	   /* over 2^64 */
	};
	struct sysmetrics_mem m = { .total = 7 };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(sysmetrics_parse_meminfo(bad[i], &m), -EBADMSG);
		assert_int_equal(m.total, 7);
	}
	/* The largest value that fits. */
	assert_int_equal(
		sysmetrics_parse_meminfo("MemTotal: 18014398509481983 kB\nMemFree: 0 kB\n", &m), 0);
	assert_true(m.total == 18014398509481983ULL * 1024);
}

/* ---- /proc/net/dev ---- */

struct seen_ifaces {
	struct sysmetrics_netdev dev[8];
	size_t n;
	int fail_at; /* return -ECANCELED on this call (1-based), 0: never */
};

static int collect_iface(const struct sysmetrics_netdev *dev, void *userdata)
{
	struct seen_ifaces *s = userdata;

	assert_true(s->n < ARRAY_SIZE(s->dev));
	s->dev[s->n++] = *dev;
	return (int)s->n == s->fail_at ? -ECANCELED : 0;
}

#define NETDEV_HEADER                                                                         \
	"Inter-|   Receive                                                |  Transmit\n"      \
	" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets " \
	"errs drop fifo colls carrier compressed\n"

static void test_netdev(void **state)
{
	struct seen_ifaces s = {};
	unsigned malformed = 99;

	assert_int_equal(
		sysmetrics_parse_netdev(
			NETDEV_HEADER
			"    lo: 2776770   11307    0    0    0     0          0         0  "
			"2776770   11307    0    0    0     0       0          0\n"
			"  eth0: 1215645   2751     1    2    0     0          0         0  "
			"1782404   4324     3    4    0     0       0          0\n"
			/* Linux 2.4 glued big numbers to the colon. */
			"wlan0:18446744073709551615 5 6 7 0 0 0 0 8 9 10 11 0 0 0 0 12 13\n",
			collect_iface, &s, &malformed),
		0);
	assert_int_equal(malformed, 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.dev[0].name, "lo");
	assert_string_equal(s.dev[1].name, "eth0");
	assert_int_equal(s.dev[1].v[SYSMETRICS_NET_RX_BYTES], 1215645);
	assert_int_equal(s.dev[1].v[SYSMETRICS_NET_RX_PACKETS], 2751);
	assert_int_equal(s.dev[1].v[SYSMETRICS_NET_RX_ERRORS], 1);
	assert_int_equal(s.dev[1].v[SYSMETRICS_NET_RX_DROPS], 2);
	assert_int_equal(s.dev[1].v[SYSMETRICS_NET_TX_BYTES], 1782404);
	assert_int_equal(s.dev[1].v[SYSMETRICS_NET_TX_PACKETS], 4324);
	assert_int_equal(s.dev[1].v[SYSMETRICS_NET_TX_ERRORS], 3);
	assert_int_equal(s.dev[1].v[SYSMETRICS_NET_TX_DROPS], 4);
	assert_string_equal(s.dev[2].name, "wlan0");
	assert_true(s.dev[2].v[SYSMETRICS_NET_RX_BYTES] == UINT64_MAX);
	assert_int_equal(s.dev[2].v[SYSMETRICS_NET_TX_DROPS], 11);
	assert_string_equal(sysmetrics_net_counter_name(SYSMETRICS_NET_TX_DROPS), "tx_drops");
	assert_null(sysmetrics_net_counter_name(_SYSMETRICS_NET_MAX));

	/* An empty file, or only the header: no interface, nothing wrong. */
	s.n = 0;
	assert_int_equal(sysmetrics_parse_netdev("", collect_iface, &s, &malformed), 0);
	assert_int_equal(sysmetrics_parse_netdev(NETDEV_HEADER, collect_iface, &s, &malformed), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(malformed, 0);
}

static void test_netdev_hostile(void **state)
{
	struct seen_ifaces s = {};
	unsigned malformed = 0;

	assert_int_equal(
		sysmetrics_parse_netdev(
			NETDEV_HEADER
			"averyveryverylongname: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n" /* >15 */
			": 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"	  /* no name */
			"a b: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"	  /* a blank */
			"eth1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n"	  /* 15 numbers */
			"eth2: 1 2 3 x 5 6 7 8 9 10 11 12 13 14 15 16\n"  /* garbage */
			"eth3: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 -16\n" /* a sign */
			"eth4: 18446744073709551616 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
			"eth5: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n" /* the one good line */
			"\x01\x02: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
			"eth6: 1 2 3 4 5 6 7 8 9 10 11 12 13 14", /* truncated */
			collect_iface, &s, &malformed),
		0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.dev[0].name, "eth5");
	assert_int_equal(s.dev[0].v[SYSMETRICS_NET_TX_BYTES], 9);
	assert_int_equal(malformed, 9);

	/* The callback's error stops the parse and is returned. */
	s = (struct seen_ifaces){ .fail_at = 1 };
	assert_int_equal(sysmetrics_parse_netdev("a: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
						 "b: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
						 collect_iface, &s, NULL),
			 -ECANCELED);
	assert_int_equal(s.n, 1);
}

/* ---- /proc/<pid>/stat ---- */

static void test_pidstat(void **state)
{
	struct sysmetrics_pidstat st;
	char text[512];

	assert_int_equal(sysmetrics_parse_pidstat(
				 "1234 (faultd) S 1 1234 1234 0 -1 4194560 1000 0 0 0 150 50 "
				 "0 0 20 0 3 0 12345 10000000 500 18446744073709551615 1 "
				 "1 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
				 &st),
			 0);
	assert_string_equal(st.comm, "faultd");
	assert_int_equal(st.utime, 150);
	assert_int_equal(st.stime, 50);
	assert_int_equal(st.threads, 3);
	assert_int_equal(st.starttime, 12345);
	assert_int_equal(st.rss_pages, 500);

	/* A name with blanks and parentheses: the last ')' ends it. Negative priority. */
	assert_int_equal(sysmetrics_parse_pidstat("7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 1 2 -3 -4 "
						  "-100 -20 1 0 9 1 2 3\n",
						  &st),
			 0);
	assert_string_equal(st.comm, "a) b (c)");
	assert_int_equal(st.rss_pages, 2);
	assert_int_equal(st.starttime, 9);
	/* An empty name, and a name longer than the buffer (cut). */
	assert_int_equal(sysmetrics_parse_pidstat(
				 "7 () S 1 7 7 0 -1 0 0 0 0 0 1 2 3 4 5 6 1 0 9 1 2 3\n", &st),
			 0);
	assert_string_equal(st.comm, "");
	memset(text, 0, sizeof(text));
	strcpy(text, "7 (");
	memset(text + 3, 'x', 100);
	strcat(text, ") S 1 7 7 0 -1 0 0 0 0 0 1 2 3 4 5 6 1 0 9 1 2 3\n");
	assert_int_equal(sysmetrics_parse_pidstat(text, &st), 0);
	assert_int_equal(strlen(st.comm), SYSMETRICS_COMM_MAX - 1);
}

static void test_pidstat_hostile(void **state)
{
	static const char *const bad[] = {
		"",
		"1234\n",
		"1234 (faultd\n",						   /* no ')' */
		"1234 faultd) S 1\n",						   /* no '(' */
		"1234 )faultd( S 1 1 1 0 -1 0 0 0 0 0 1 2 3 4 5 6 1 0 9 1 2 3\n",  /* reversed */
		"1234 (faultd)S 1 1 1 0 -1 0 0 0 0 0 1 2 3 4 5 6 1 0 9 1 2 3\n",   /* glued */
		"1234 (faultd) S 1 1 1 0 -1 0 0 0 0 0 1 2 3 4 5 6 1 0 9 1\n",	   /* 23 fields */
		"1234 (faultd) S 1 1 1 0 -1 0 0 0 0 0 1 2 3 4 5 6 1 0 9 1 2 3",	   /* no newline */
		"1234 (faultd) S 1 1 1 0 -1 0 0 0 0 0 x 2 3 4 5 6 1 0 9 1 2 3\n",  /* utime */
		"1234 (faultd) S 1 1 1 0 -1 0 0 0 0 0 1 2 3 4 5 6 -1 0 9 1 2 3\n", /* threads */
		"1234 (faultd) S 1 1 1 0 -1 0 0 0 0 0 1 2 3 4 5 6 1 0 9 1 -2 3\n", /* rss */
		"1234 (faultd) S 1 1 1 0 -1 0 0 0 0 0 1 99999999999999999999 3 4 5 6 1 0 9 1 2 3\n",
		"1234 (faultd) S 1 1 1 0 -1 0 0 0 0 0 1 2 3 4 5 6 1 0 9 1 2x 3\n",   /* glued */
		"1234 (faultd) S 1 1 1 0 -1 0 0 0 0 0 1 2 3 4 5 6 1 0 9 1\n2 3 4\n", /* broken line
										      */
	};
	struct sysmetrics_pidstat st = { .utime = 77 };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(sysmetrics_parse_pidstat(bad[i], &st), -EBADMSG);
		assert_int_equal(st.utime, 77);
	}
}

static void test_comm_matches(void **state)
{
	assert_true(sysmetrics_comm_matches("faultd", "faultd"));
	assert_false(sysmetrics_comm_matches("faultd", "faultd2"));
	assert_false(sysmetrics_comm_matches("faultd", "fault"));
	assert_false(sysmetrics_comm_matches("faultd", ""));
	/* The kernel cuts a process's name to 15 bytes. */
	assert_true(sysmetrics_comm_matches("systemd-journald", "systemd-journal"));
	assert_true(sysmetrics_comm_matches("a-very-long-process-name", "a-very-long-pro"));
	assert_false(sysmetrics_comm_matches("a-very-long-process-name", "a-very-long-pr"));
	assert_false(sysmetrics_comm_matches("systemd-journal", "systemd-journald"));
	assert_false(sysmetrics_comm_matches("a-very-long-process-name", "a-very-long-proX"));
}

/* ---- thermal zones ---- */

static void test_proc_spec(void **state)
{
	static const char *const bad[] = {
		"",
		"a/b",
		"=self",
		"gw=",
		"gw=me",
		"gw=pidfile:",
		"gw=pidfile:run/gw.pid",
		"gw=exe:usr/bin/gw",
		"gw=unit:gw",
		"gw=unit:system.slice/gw.service",
		"a-name-of-sixty-four-bytes-is-one-too-long-for-the-metric-keys-x",
	};
	struct sysmetrics_proc_spec spec;
	const char *why;
	char long_path[300];

	(void)state;
	assert_int_equal(sysmetrics_parse_proc_spec("faultd", &spec, &why), 0);
	assert_int_equal(spec.kind, SYSMETRICS_PROC_NAME);
	assert_string_equal(spec.name, "faultd");
	assert_null(spec.arg);
	assert_int_equal(sysmetrics_parse_proc_spec("faultd=self", &spec, &why), 0);
	assert_int_equal(spec.kind, SYSMETRICS_PROC_SELF);
	assert_string_equal(spec.name, "faultd");
	assert_int_equal(sysmetrics_parse_proc_spec("gw=pidfile:/run/gw.pid", &spec, &why), 0);
	assert_int_equal(spec.kind, SYSMETRICS_PROC_PIDFILE);
	assert_string_equal(spec.name, "gw");
	assert_string_equal(spec.arg, "/run/gw.pid");
	assert_int_equal(sysmetrics_parse_proc_spec("modem=unit:modem@ttyS0.service", &spec, &why),
			 0);
	assert_int_equal(spec.kind, SYSMETRICS_PROC_UNIT);
	assert_string_equal(spec.arg, "modem@ttyS0.service");
	/* A path may hold '=' and ':' after the form. */
	assert_int_equal(sysmetrics_parse_proc_spec("agent=exe:/opt/a=b:c/agent", &spec, &why), 0);
	assert_int_equal(spec.kind, SYSMETRICS_PROC_EXE);
	assert_string_equal(spec.name, "agent");
	assert_string_equal(spec.arg, "/opt/a=b:c/agent");

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		why = NULL;
		if (sysmetrics_parse_proc_spec(bad[i], &spec, &why) != -EINVAL)
			fail_msg("\"%s\" was accepted", bad[i]);
		assert_non_null(why);
	}
	memset(long_path, 'a', sizeof(long_path));
	memcpy(long_path, "x=exe:/", 7);
	long_path[sizeof(long_path) - 1] = 0;
	assert_int_equal(sysmetrics_parse_proc_spec(long_path, &spec, &why), -EINVAL);
}

static void test_pidfile(void **state)
{
	static const char *const bad[] = { "",	    "\n",     "0\n",	 "-5\n",	 "12a\n",
					   " 12\n", "12\n\n", "12 13\n", "2147483648\n", "x" };

	(void)state;
	assert_int_equal(sysmetrics_parse_pidfile("1234\n"), 1234);
	assert_int_equal(sysmetrics_parse_pidfile("1234"), 1234);
	assert_int_equal(sysmetrics_parse_pidfile("1234 \n"), 1234);
	assert_int_equal(sysmetrics_parse_pidfile("2147483647\n"), 2147483647);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (sysmetrics_parse_pidfile(bad[i]) != -EBADMSG)
			fail_msg("\"%s\" parsed", bad[i]);
}

static void test_cgroup_in_unit(void **state)
{
	(void)state;
	/* cgroup v2, the unit and its sub-cgroups. */
	assert_true(sysmetrics_cgroup_in_unit("0::/system.slice/gw.service\n", "gw.service"));
	assert_true(
		sysmetrics_cgroup_in_unit("0::/system.slice/gw.service/payload\n", "gw.service"));
	assert_true(sysmetrics_cgroup_in_unit("0::/gw.service\n", "gw.service"));
	/* v1 and hybrid: the name=systemd hierarchy says, the controllers' do not. */
	assert_true(sysmetrics_cgroup_in_unit("12:cpu,cpuacct:/\n1:name=systemd:/system.slice/"
					      "gw.service\n",
					      "gw.service"));
	assert_false(sysmetrics_cgroup_in_unit("4:memory:/system.slice/gw.service\n"
					       "1:name=systemd:/system.slice/other.service\n",
					       "gw.service"));
	/* Other units, prefixes, suffixes, a cut line. */
	assert_false(sysmetrics_cgroup_in_unit("0::/system.slice/gw.services\n", "gw.service"));
	assert_false(sysmetrics_cgroup_in_unit("0::/system.slice/xgw.service\n", "gw.service"));
	assert_false(sysmetrics_cgroup_in_unit("0::/user.slice/user-0.slice/session-1.scope\n",
					       "gw.service"));
	assert_false(sysmetrics_cgroup_in_unit("0::/system.slice/gw.service", "gw.service"));
	assert_false(sysmetrics_cgroup_in_unit("0::/\n", "gw.service"));
	assert_false(sysmetrics_cgroup_in_unit("", "gw.service"));
	assert_false(sysmetrics_cgroup_in_unit("garbage\n", "gw.service"));
}

static void test_exe_matches(void **state)
{
	(void)state;
	assert_true(sysmetrics_exe_matches("/usr/bin/gw", "/usr/bin/gw"));
	assert_true(sysmetrics_exe_matches("/usr/bin/gw (deleted)", "/usr/bin/gw"));
	assert_false(sysmetrics_exe_matches("/usr/bin/gw2", "/usr/bin/gw"));
	assert_false(sysmetrics_exe_matches("/usr/bin/g", "/usr/bin/gw"));
	assert_false(sysmetrics_exe_matches("/opt/usr/bin/gw", "/usr/bin/gw"));
	assert_false(sysmetrics_exe_matches("/usr/bin/gw (deleted) x", "/usr/bin/gw"));
}

static void test_thermal(void **state)
{
	static const char *const bad[] = {
		"",	      "\n",	   "abc\n",	 "45000 \n",
		" 45000\n",   "45000\n\n", "45.5\n",	 "--5\n",
		"-\n",	      "-273151\n", "10000001\n", "99999999999999999999999\n",
		"45000abc\n",
	};
	char type[SYSMETRICS_THERMAL_TYPE];
	double c = 0;

	assert_int_equal(sysmetrics_parse_millicelsius("45000\n", &c), 0);
	assert_true(c == 45.0);
	assert_int_equal(sysmetrics_parse_millicelsius("-5500\n", &c), 0);
	assert_true(c == -5.5);
	assert_int_equal(sysmetrics_parse_millicelsius("0", &c), 0);
	assert_true(c == 0);
	assert_int_equal(sysmetrics_parse_millicelsius("-273150\n", &c), 0);
	assert_int_equal(sysmetrics_parse_millicelsius("10000000\n", &c), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		c = 7;
		assert_int_equal(sysmetrics_parse_millicelsius(bad[i], &c), -EBADMSG);
		assert_true(c == 7);
	}

	assert_int_equal(sysmetrics_parse_thermal_type("x86_pkg_temp\n", type, sizeof(type)), 12);
	assert_string_equal(type, "x86_pkg_temp");
	assert_int_equal(sysmetrics_parse_thermal_type("cpu thermal  \nsecond\n", type, 48), 11);
	assert_string_equal(type, "cpu thermal");
	assert_int_equal(sysmetrics_parse_thermal_type("", type, sizeof(type)), 0);
	assert_int_equal(sysmetrics_parse_thermal_type("\n", type, sizeof(type)), 0);
	assert_int_equal(sysmetrics_parse_thermal_type("   \n", type, sizeof(type)), 0);
	assert_int_equal(sysmetrics_parse_thermal_type("bad\x01type\n", type, sizeof(type)), 0);
	assert_int_equal(sysmetrics_parse_thermal_type("caf\xc3\xa9\n", type, sizeof(type)), 0);
	assert_int_equal(sysmetrics_parse_thermal_type("abcdefgh", type, 5), 4);
	assert_string_equal(type, "abcd");
	assert_int_equal(sysmetrics_parse_thermal_type("abc", type, 0), 0);
}

static void test_numbered(void **state)
{
	assert_int_equal(sysmetrics_parse_numbered("thermal_zone0", "thermal_zone"), 0);
	assert_int_equal(sysmetrics_parse_numbered("thermal_zone12", "thermal_zone"), 12);
	assert_int_equal(sysmetrics_parse_numbered("thermal_zone2147483647", "thermal_zone"),
			 2147483647);
	assert_int_equal(sysmetrics_parse_numbered("thermal_zone2147483648", "thermal_zone"),
			 -EINVAL);
	assert_int_equal(
		sysmetrics_parse_numbered("thermal_zone99999999999999999999999", "thermal_zone"),
		-EINVAL);
	assert_int_equal(sysmetrics_parse_numbered("thermal_zone", "thermal_zone"), -EINVAL);
	assert_int_equal(sysmetrics_parse_numbered("thermal_zone01", "thermal_zone"), -EINVAL);
	assert_int_equal(sysmetrics_parse_numbered("thermal_zone1x", "thermal_zone"), -EINVAL);
	assert_int_equal(sysmetrics_parse_numbered("thermal_zone-1", "thermal_zone"), -EINVAL);
	assert_int_equal(sysmetrics_parse_numbered("cooling_device0", "thermal_zone"), -EINVAL);
	assert_int_equal(sysmetrics_parse_numbered("1234", ""), 1234);
	assert_int_equal(sysmetrics_parse_numbered("self", ""), -EINVAL);
	assert_int_equal(sysmetrics_parse_numbered(".", ""), -EINVAL);
	assert_int_equal(sysmetrics_parse_numbered("", ""), -EINVAL);
}

/* ---- filesystems ---- */

static void test_fs_name(void **state)
{
	char buf[16];

	assert_int_equal(sysmetrics_fs_name("/", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "root");
	assert_int_equal(sysmetrics_fs_name("///", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "root");
	assert_int_equal(sysmetrics_fs_name("/var/lib/faultd", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "var_lib_faultd");
	assert_int_equal(sysmetrics_fs_name("/data/", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "data");
	assert_int_equal(sysmetrics_fs_name("relative", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sysmetrics_fs_name("", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sysmetrics_fs_name("/1234567890123456", buf, sizeof(buf)), -ENAMETOOLONG);
	assert_int_equal(sysmetrics_fs_name("/123456789012345", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "123456789012345");
	assert_int_equal(sysmetrics_fs_name("/", buf, 4), -ENAMETOOLONG);
}

static void test_df(void **state)
{
	struct statvfs st = {
		.f_bsize = 4096, .f_frsize = 4096, .f_blocks = 1000, .f_bfree = 400, .f_bavail = 300
	};
	struct sysmetrics_df df = { .used = 9 };

	assert_int_equal(sysmetrics_df_from_statvfs(&st, &df), 0);
	assert_int_equal(df.used, 600 * 4096);
	assert_int_equal(df.avail, 300 * 4096);
	assert_true(df.used_pct > 66.66 && df.used_pct < 66.67);
	/* No f_frsize: f_bsize. An empty filesystem: 0 %. */
	st = (struct statvfs){ .f_bsize = 1024, .f_blocks = 10, .f_bfree = 10, .f_bavail = 10 };
	assert_int_equal(sysmetrics_df_from_statvfs(&st, &df), 0);
	assert_int_equal(df.used, 0);
	assert_int_equal(df.avail, 10240);
	assert_true(df.used_pct == 0);
	st = (struct statvfs){ .f_frsize = 512 };
	assert_int_equal(sysmetrics_df_from_statvfs(&st, &df), 0);
	assert_true(df.used_pct == 0);
	/* Full, with the reserve in use: 100 %. */
	st = (struct statvfs){ .f_frsize = 512, .f_blocks = 10, .f_bfree = 1, .f_bavail = 0 };
	assert_int_equal(sysmetrics_df_from_statvfs(&st, &df), 0);
	assert_true(df.used_pct == 100);

	df.used = 9;
	st = (struct statvfs){ .f_frsize = 4096, .f_blocks = 10, .f_bfree = 11, .f_bavail = 1 };
	assert_int_equal(sysmetrics_df_from_statvfs(&st, &df), -EBADMSG);
	st = (struct statvfs){ .f_frsize = 4096, .f_blocks = 10, .f_bfree = 5, .f_bavail = 6 };
	assert_int_equal(sysmetrics_df_from_statvfs(&st, &df), -EBADMSG);
	if (sizeof(st.f_blocks) == 8) {
		st = (struct statvfs){ .f_frsize = 1 << 20,
				       .f_blocks = (fsblkcnt_t)1 << 50,
				       .f_bfree = 0 };
		assert_int_equal(sysmetrics_df_from_statvfs(&st, &df), -ERANGE);
	}
	assert_int_equal(df.used, 9);
}

static void test_deltas(void **state)
{
	const uint64_t prev[4] = { 10, 20, UINT64_MAX - 1, 5 };
	const uint64_t cur[4] = { 15, 20, UINT64_MAX, 4 };
	uint64_t d[4];

	assert_int_equal(sysmetrics_deltas(prev, cur, 4, d), 1);
	assert_int_equal(d[0], 5);
	assert_int_equal(d[1], 0);
	assert_int_equal(d[2], 1);
	assert_int_equal(d[3], 0); /* backwards: a new baseline, never a huge bogus increase */
	assert_int_equal(sysmetrics_deltas(prev, cur, 3, d), 0);
	assert_int_equal(sysmetrics_deltas(cur, prev, 4, d), 2);
}

/* ---- /proc/diskstats, /proc/vmstat, eMMC wear, rates ---- */

struct disk_lines {
	struct sysmetrics_diskstat d[8];
	size_t n;
};

static int collect_disk(const struct sysmetrics_diskstat *d, void *userdata)
{
	struct disk_lines *l = userdata;

	if (l->n == ARRAY_SIZE(l->d))
		return -E2BIG;
	l->d[l->n++] = *d;
	return 0;
}

static void test_diskstats(void **state)
{
	struct disk_lines l = {};
	unsigned malformed = 99;

	/* Linux 5.5+ (17 numbers), 4.18 (15), 4.4 (11); a major number of four digits. */
	assert_int_equal(sysmetrics_parse_diskstats(
				 "   8       0 sda 57839 46346 3776180 24107 2868024 458991 "
				 "39327918 1458693 "
				 "0 839132 1568407 285564 2 308337155 49208 141738 36397\n"
				 " 179       0 mmcblk0 59 125 775 15 2 0 2 0 0 64 16 0 0 0 0\n"
				 "1259  1 nvme0n1 1 2 3 4 5 6 7 8 9 10 11\n"
				 "\n"
				 "   8       1 sda1\t18446744073709551615 0 1 0 2 0 3 0 0 0 0\n",
				 collect_disk, &l, &malformed),
			 0);
	assert_int_equal(malformed, 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.d[0].name, "sda");
	assert_int_equal(l.d[0].v[SYSMETRICS_DISK_READS], 57839);
	assert_int_equal(l.d[0].v[SYSMETRICS_DISK_SECTORS_READ], 3776180);
	assert_int_equal(l.d[0].v[SYSMETRICS_DISK_WRITES], 2868024);
	assert_int_equal(l.d[0].v[SYSMETRICS_DISK_SECTORS_WRITTEN], 39327918);
	assert_string_equal(l.d[1].name, "mmcblk0");
	assert_int_equal(l.d[1].v[SYSMETRICS_DISK_SECTORS_WRITTEN], 2);
	assert_string_equal(l.d[2].name, "nvme0n1");
	assert_true(l.d[3].v[SYSMETRICS_DISK_READS] == UINT64_MAX);

	/* The callback's error stops the parse. */
	l.n = ARRAY_SIZE(l.d);
	assert_int_equal(sysmetrics_parse_diskstats("8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n",
						    collect_disk, &l, NULL),
			 -E2BIG);
}

static void test_diskstats_hostile(void **state)
{
	static const char *const bad[] = {
		"8 0 sda 1 2 3 4 5 6 7 8 9 10\n",  /* 10 numbers */
		"8 0 sda\n",			   /* none */
		"8 sda 1 2 3 4 5 6 7 8 9 10 11\n", /* no minor */
		"8 0 1 2 3 4 5 6 7 8 9 10 11\n",   /* no name: 11 is taken for it */
		"8 0 sda 1 2 3 4 5 6 7 8 9 10 18446744073709551616\n", /* over 2^64 - 1 */
		"8 0 sda 1 2 3 4 5 6 7 8 9 10 11 x\n",		       /* garbage after */
		"8 0 sda 1 2 3 4 5 -6 7 8 9 10 11\n",		       /* a sign */
		"8 0 a/b 1 2 3 4 5 6 7 8 9 10 11\n",		       /* '/' in the name */
		"8 0 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1 2 3 4 5 6 7 8 9 10 11\n",
		"8 0 sd\x01 1 2 3 4 5 6 7 8 9 10 11\n", /* unprintable */
		"garbage\n",
		"8 0 sda 1 2 3 4 5 6 7 8 9 10 11", /* no newline: a read cut short */
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct disk_lines l = {};
		unsigned malformed = 0;

		assert_int_equal(sysmetrics_parse_diskstats(bad[i], collect_disk, &l, &malformed),
				 0);
		if (l.n != 0 || malformed != 1)
			fail_msg("\"%s\": %zu lines, %u malformed", bad[i], l.n, malformed);
	}
}

static void test_vmstat(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"garbage\n",
		"all of this is garbage\n",
		"nr_free_pages 1\npgpgin x\n",	 /* a wanted counter is garbage */
		"pgpgin 18446744073709551616\n", /* over 2^64 - 1 */
		"pgpgin -1\n",			 /* a sign */
		"pgpgin 1 2\n",			 /* two numbers */
		"nr_free_pages 1",		 /* no newline */
	};
	struct sysmetrics_vmstat vm;

	assert_int_equal(sysmetrics_parse_vmstat("nr_free_pages 123456\nnr_zone_inactive_anon 0\n"
						 "pgpgin 5000\npgpgout 6000\npswpin 42\n"
						 "pswpout 84\npgfault 99999\npgmajfault 7\n"
						 "weird line without number\npgpgin_extra 5\n"
						 "pswpin",
						 &vm),
			 0);
	assert_int_equal(vm.have, (1u << _SYSMETRICS_VM_MAX) - 1);
	assert_int_equal(vm.v[SYSMETRICS_VM_PGPGIN], 5000);
	assert_int_equal(vm.v[SYSMETRICS_VM_PGPGOUT], 6000);
	assert_int_equal(vm.v[SYSMETRICS_VM_PSWPIN], 42); /* the cut last line does not count */
	assert_int_equal(vm.v[SYSMETRICS_VM_PSWPOUT], 84);
	assert_int_equal(vm.v[SYSMETRICS_VM_PGMAJFAULT], 7);
	assert_string_equal(sysmetrics_vm_counter_name(SYSMETRICS_VM_PGMAJFAULT), "pgmajfault");
	assert_null(sysmetrics_vm_counter_name(_SYSMETRICS_VM_MAX));

	/* A kernel without event counters: nothing wanted, no error. */
	assert_int_equal(sysmetrics_parse_vmstat("nr_free_pages 1\nnr_dirty 0\n", &vm), 0);
	assert_int_equal(vm.have, 0);
	assert_int_equal(sysmetrics_parse_vmstat("pgpgin 18446744073709551615\n", &vm), 0);
	assert_true(vm.v[SYSMETRICS_VM_PGPGIN] == UINT64_MAX);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (sysmetrics_parse_vmstat(bad[i], &vm) != -EBADMSG)
			fail_msg("\"%s\" parsed", bad[i]);
}

static void test_emmc_wear(void **state)
{
	static const char *const bad_life[] = {
		"",
		"\n",
		"0x01\n",
		"0x01 0x02 0x03\n",
		"1 2\n",
		"0x 0x02\n",
		"0x100 0x01\n",
		"0x01,0x02\n",
		"0xg1 0x02\n",
		"0x01 0x02\n\n",
		"-0x01 0x02\n",
	};
	unsigned life[2], eol;

	assert_int_equal(sysmetrics_parse_life_time("0x01 0x02\n", life), 0);
	assert_int_equal(life[0], 1);
	assert_int_equal(life[1], 2);
	assert_int_equal(sysmetrics_parse_life_time("0x0B 0xff", life), 0);
	assert_int_equal(life[0], 11);
	assert_int_equal(life[1], 255);
	for (size_t i = 0; i < ARRAY_SIZE(bad_life); i++)
		if (sysmetrics_parse_life_time(bad_life[i], life) != -EBADMSG)
			fail_msg("\"%s\" parsed", bad_life[i]);

	assert_int_equal(sysmetrics_parse_pre_eol("0x01\n", &eol), 0);
	assert_int_equal(eol, 1);
	assert_int_equal(sysmetrics_parse_pre_eol("0x03", &eol), 0);
	assert_int_equal(eol, 3);
	assert_int_equal(sysmetrics_parse_pre_eol("", &eol), -EBADMSG);
	assert_int_equal(sysmetrics_parse_pre_eol("0x01 0x02\n", &eol), -EBADMSG);
	assert_int_equal(sysmetrics_parse_pre_eol("urgent\n", &eol), -EBADMSG);

	assert_int_equal(sysmetrics_life_remaining_pct(0x01), 100);
	assert_int_equal(sysmetrics_life_remaining_pct(0x02), 90);
	assert_int_equal(sysmetrics_life_remaining_pct(0x0a), 10);
	assert_int_equal(sysmetrics_life_remaining_pct(0x0b), 0);
	assert_int_equal(sysmetrics_life_remaining_pct(0x00), -ENODATA);
	assert_int_equal(sysmetrics_life_remaining_pct(0x0c), -ERANGE);
	assert_int_equal(sysmetrics_life_remaining_pct(0xff), -ERANGE);
}

static void test_rate(void **state)
{
	double r = -1;

	assert_true(sysmetrics_rate(100, 600, 10, &r));
	assert_true(r == 50);
	assert_true(sysmetrics_rate(0, UINT64_MAX, 1, &r));
	assert_true(r > 1e19);
	assert_true(sysmetrics_rate(5, 5, 0.5, &r));
	assert_true(r == 0);
	/* Backwards (a 32-bit wrap, a disk replaced), or no time: no rate at all. */
	r = -1;
	assert_false(sysmetrics_rate(4294967290u, 10, 10, &r));
	assert_false(sysmetrics_rate(1, 2, 0, &r));
	assert_false(sysmetrics_rate(1, 2, -1, &r));
	assert_true(r == -1);
}

/* ---- reading files ---- */

static void test_read(void **state)
{
	_cleanup_free_ char *dir = test_tmpdir_new("sysmetrics");
	_cleanup_free_ char *path = NULL, *fifo = NULL, *sub = NULL;
	char buf[8], big[16];
	bool truncated = true;
	size_t len = 99;

	assert_non_null(dir);
	assert_true(asprintf(&path, "%s/f", dir) > 0);

	tree_write(dir, "f", "abc\n", 4, 0644);
	assert_int_equal(sysmetrics_read(path, buf, sizeof(buf), &len, &truncated), 0);
	assert_int_equal(len, 4);
	assert_string_equal(buf, "abc\n");
	assert_false(truncated);

	/* Exactly size - 1 bytes is whole; one more is truncated, the rest never read. */
	tree_write(dir, "f", "1234567", 7, 0644);
	assert_int_equal(sysmetrics_read(path, buf, sizeof(buf), &len, &truncated), 0);
	assert_int_equal(len, 7);
	assert_false(truncated);
	tree_write(dir, "f", "12345678", 8, 0644);
	assert_int_equal(sysmetrics_read(path, buf, sizeof(buf), &len, &truncated), 0);
	assert_int_equal(len, 7);
	assert_string_equal(buf, "1234567");
	assert_true(truncated);
	/* Without asking about truncation, nothing more is read. */
	assert_int_equal(sysmetrics_read(path, buf, sizeof(buf), &len, NULL), 0);
	assert_int_equal(len, 7);

	/* A zero-length file; a NUL inside (parsers then see the text before it). */
	tree_write(dir, "f", "", 0, 0644);
	assert_int_equal(sysmetrics_read(path, buf, sizeof(buf), &len, &truncated), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	tree_write(dir, "f", "a\0b", 3, 0644);
	assert_int_equal(sysmetrics_read(path, big, sizeof(big), &len, NULL), 0);
	assert_int_equal(len, 3);
	assert_string_equal(big, "a");

	/* A directory, a missing file, a FIFO (must not block), a tiny buffer. */
	assert_true(asprintf(&sub, "%s/d", dir) > 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(sysmetrics_read(sub, buf, sizeof(buf), &len, NULL), -EISDIR);
	assert_int_equal(sysmetrics_read("/nonexistent/x", buf, sizeof(buf), &len, NULL), -ENOENT);
	assert_true(asprintf(&fifo, "%s/fifo", dir) > 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(sysmetrics_read(fifo, buf, sizeof(buf), &len, &truncated), 0);
	assert_int_equal(len, 0);
	assert_int_equal(sysmetrics_read(path, buf, 1, &len, NULL), -EINVAL);

	/* Relative to a directory descriptor, as /proc/<pid>/stat is read. */
	{
		_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		tree_write(dir, "d/stat", "xyz", 3, 0644);
		assert_true(dfd >= 0);
		assert_int_equal(sysmetrics_read_at(dfd, "d/stat", buf, sizeof(buf), &len, NULL),
				 0);
		assert_string_equal(buf, "xyz");
		assert_int_equal(sysmetrics_read_at(dfd, "e/stat", buf, sizeof(buf), &len, NULL),
				 -ENOENT);
	}
	assert_int_equal(test_tmpdir_remove(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_realistic),
		cmocka_unit_test(test_cpu_hostile),
		cmocka_unit_test(test_loadavg),
		cmocka_unit_test(test_uptime),
		cmocka_unit_test(test_meminfo),
		cmocka_unit_test(test_meminfo_hostile),
		cmocka_unit_test(test_netdev),
		cmocka_unit_test(test_netdev_hostile),
		cmocka_unit_test(test_pidstat),
		cmocka_unit_test(test_pidstat_hostile),
		cmocka_unit_test(test_comm_matches),
		cmocka_unit_test(test_proc_spec),
		cmocka_unit_test(test_pidfile),
		cmocka_unit_test(test_cgroup_in_unit),
		cmocka_unit_test(test_exe_matches),
		cmocka_unit_test(test_thermal),
		cmocka_unit_test(test_numbered),
		cmocka_unit_test(test_fs_name),
		cmocka_unit_test(test_df),
		cmocka_unit_test(test_deltas),
		cmocka_unit_test(test_diskstats),
		cmocka_unit_test(test_diskstats_hostile),
		cmocka_unit_test(test_vmstat),
		cmocka_unit_test(test_emmc_wear),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
