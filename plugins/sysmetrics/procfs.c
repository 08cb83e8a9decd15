/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>

#include "macro.h"
#include "procfs.h"
#include "text.h"

static int read_fd(int fd, char *buf, size_t size, size_t *ret_len, bool *ret_truncated)
{
	size_t len = 0;
	ssize_t n;

	/* /proc hands out a record or a page per read(2): read until end of file. */
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* A FIFO with a writer but no data: nothing more to read now. */
			if (errno == EAGAIN)
				break;
			return negative_errno();
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	if (ret_truncated) {
		bool truncated = false;

		if (len == size - 1) {
			char c;

			do
				n = read(fd, &c, 1);
			while (n < 0 && errno == EINTR);
			truncated = n > 0;
		}
		*ret_truncated = truncated;
	}
	*ret_len = len;
	return 0;
}

int sysmetrics_read_at(int dirfd, const char *path, char *buf, size_t size, size_t *ret_len,
		       bool *ret_truncated)
{
	_cleanup_close_ int fd = -1;

	if (size < 2)
		return -EINVAL;
	/* No fstat(2) to refuse what is not a regular file: a directory fails read(2) with EISDIR,
	 * O_NONBLOCK keeps a FIFO from blocking and the read is bounded whatever the file is, so
	 * the extra system call per file and poll would buy nothing. */
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return negative_errno();
	return read_fd(fd, buf, size, ret_len, ret_truncated);
}

int sysmetrics_read(const char *path, char *buf, size_t size, size_t *ret_len, bool *ret_truncated)
{
	return sysmetrics_read_at(AT_FDCWD, path, buf, size, ret_len, ret_truncated);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static const char *skip_blanks(const char *s)
{
	while (is_blank(*s))
		s++;
	return s;
}

/* Whether c may follow a number: a blank, the end of the line or of the text. */
static bool ends_token(char c)
{
	return is_blank(c) || c == '\n' || c == 0;
}

/* Parses the decimal number after any blanks at s into *ret; returns the byte after it, or NULL
 * for no digit, a number over 2^64 - 1 or one not followed by a blank or the end of the line. */
static const char *parse_u64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	s = skip_blanks(s);
	if (*s < '0' || *s > '9')
		return NULL;
	for (; *s >= '0' && *s <= '9'; s++)
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *s - '0', &v))
			return NULL;
	if (!ends_token(*s))
		return NULL;
	*ret = v;
	return s;
}

/* Parses "digits[.digits]" after any blanks, as the kernel prints loads and uptimes; no sign,
 * exponent, "nan" or "inf" and no locale. Returns as parse_u64(). */
static const char *parse_decimal(const char *s, double *ret)
{
	uint64_t whole = 0;
	double frac = 0, scale = 1;

	s = skip_blanks(s);
	if (*s < '0' || *s > '9')
		return NULL;
	for (; *s >= '0' && *s <= '9'; s++)
		if (__builtin_mul_overflow(whole, 10, &whole) ||
		    __builtin_add_overflow(whole, *s - '0', &whole))
			return NULL;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return NULL;
		for (; *s >= '0' && *s <= '9'; s++)
			if (scale < 1e18) {
				scale *= 10;
				frac = frac * 10 + (*s - '0');
			}
	}
	if (!ends_token(*s))
		return NULL;
	*ret = (double)whole + frac / scale;
	return s;
}

const char *sysmetrics_cpu_state_name(enum sysmetrics_cpu_state s)
{
	static const char *const names[_SYSMETRICS_CPU_MAX] = {
		[SYSMETRICS_CPU_USER] = "user",	      [SYSMETRICS_CPU_NICE] = "nice",
		[SYSMETRICS_CPU_SYSTEM] = "system",   [SYSMETRICS_CPU_IDLE] = "idle",
		[SYSMETRICS_CPU_IOWAIT] = "iowait",   [SYSMETRICS_CPU_IRQ] = "irq",
		[SYSMETRICS_CPU_SOFTIRQ] = "softirq", [SYSMETRICS_CPU_STEAL] = "steal",
	};

	return (unsigned)s < _SYSMETRICS_CPU_MAX ? names[s] : NULL;
}

int sysmetrics_parse_cpu(const char *text, struct sysmetrics_cpu *ret)
{
	struct sysmetrics_cpu cpu = {};
	const char *p = text + 3, *eol = strchr(text, '\n');

	/* "cpu " then the numbers: "cpu0 ..." lines are per CPU and come after. */
	if (strncmp(text, "cpu", 3) != 0 || !is_blank(text[3]) || !eol)
		return -EBADMSG;
	while (cpu.n_states < _SYSMETRICS_CPU_MAX) {
		p = skip_blanks(p);
		if (p == eol)
			break;
		p = parse_u64(p, &cpu.ticks[cpu.n_states]);
		if (!p)
			return -EBADMSG;
		cpu.n_states++;
	}
	/* Later states (guest, guest_nice) are already part of user and nice. */
	if (cpu.n_states < 4)
		return -EBADMSG;
	*ret = cpu;
	return 0;
}

int sysmetrics_parse_loadavg(const char *text, double ret[static 3])
{
	double load[3];
	const char *p = text;

	for (size_t i = 0; i < 3; i++) {
		p = parse_decimal(p, &load[i]);
		if (!p || (i < 2 && !is_blank(*p)))
			return -EBADMSG;
	}
	memcpy(ret, load, sizeof(load));
	return 0;
}

int sysmetrics_parse_uptime(const char *text, double *ret)
{
	return parse_decimal(text, ret) ? 0 : -EBADMSG;
}

int sysmetrics_parse_meminfo(const char *text, struct sysmetrics_mem *ret)
{
	static const struct {
		const char *name;
		unsigned flag;
		size_t offset;
	} fields[] = {
		{ "MemTotal", SYSMETRICS_MEM_TOTAL, offsetof(struct sysmetrics_mem, total) },
		{ "MemFree", SYSMETRICS_MEM_FREE, offsetof(struct sysmetrics_mem, free) },
		{ "MemAvailable", SYSMETRICS_MEM_AVAILABLE,
		  offsetof(struct sysmetrics_mem, available) },
		{ "Buffers", SYSMETRICS_MEM_BUFFERS, offsetof(struct sysmetrics_mem, buffers) },
		{ "Cached", SYSMETRICS_MEM_CACHED, offsetof(struct sysmetrics_mem, cached) },
		{ "SwapTotal", SYSMETRICS_MEM_SWAP_TOTAL,
		  offsetof(struct sysmetrics_mem, swap_total) },
		{ "SwapFree", SYSMETRICS_MEM_SWAP_FREE,
		  offsetof(struct sysmetrics_mem, swap_free) },
	};
	struct sysmetrics_mem m = {};
	const char *line, *eol;

	for (line = text; (eol = strchr(line, '\n')); line = eol + 1) {
		const char *colon = memchr(line, ':', (size_t)(eol - line)), *p;
		uint64_t v;

		if (!colon)
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
			size_t n = strlen(fields[i].name);

			if ((size_t)(colon - line) != n || memcmp(line, fields[i].name, n) != 0)
				continue;
			p = parse_u64(colon + 1, &v);
			if (!p)
				return -EBADMSG;
			p = skip_blanks(p);
			if (strncmp(p, "kB", 2) == 0) {
				if (__builtin_mul_overflow(v, 1024, &v))
					return -EBADMSG;
				p = skip_blanks(p + 2);
			}
			if (p != eol)
				return -EBADMSG;
			*(uint64_t *)((char *)&m + fields[i].offset) = v;
			m.have |= fields[i].flag;
			break;
		}
	}
	if (!(m.have & SYSMETRICS_MEM_TOTAL) || !(m.have & SYSMETRICS_MEM_FREE))
		return -EBADMSG;
	*ret = m;
	return 0;
}

uint64_t sysmetrics_mem_available(const struct sysmetrics_mem *m)
{
	uint64_t v = m->free;

	if (m->have & SYSMETRICS_MEM_AVAILABLE)
		return m->available;
	if (__builtin_add_overflow(v, m->buffers, &v) || __builtin_add_overflow(v, m->cached, &v))
		return UINT64_MAX;
	return v;
}

const char *sysmetrics_net_counter_name(enum sysmetrics_net_counter c)
{
	static const char *const names[_SYSMETRICS_NET_MAX] = {
		[SYSMETRICS_NET_RX_BYTES] = "rx_bytes",
		[SYSMETRICS_NET_TX_BYTES] = "tx_bytes",
		[SYSMETRICS_NET_RX_PACKETS] = "rx_packets",
		[SYSMETRICS_NET_TX_PACKETS] = "tx_packets",
		[SYSMETRICS_NET_RX_ERRORS] = "rx_errors",
		[SYSMETRICS_NET_TX_ERRORS] = "tx_errors",
		[SYSMETRICS_NET_RX_DROPS] = "rx_drops",
		[SYSMETRICS_NET_TX_DROPS] = "tx_drops",
	};

	return (unsigned)c < _SYSMETRICS_NET_MAX ? names[c] : NULL;
}

/* Parses one interface line (eol is its '\n'); -EBADMSG when malformed. */
static int parse_netdev_line(const char *line, const char *colon, const char *eol,
			     struct sysmetrics_netdev *ret)
{
	/* Where each of the 16 columns goes (-1: not kept). The kernel prints the receive side
	 * (bytes packets errs drop fifo frame compressed multicast) then the transmit side (bytes
	 * packets errs drop fifo colls carrier compressed). */
	static const int column[16] = {
		SYSMETRICS_NET_RX_BYTES,
		SYSMETRICS_NET_RX_PACKETS,
		SYSMETRICS_NET_RX_ERRORS,
		SYSMETRICS_NET_RX_DROPS,
		-1,
		-1,
		-1,
		-1,
		SYSMETRICS_NET_TX_BYTES,
		SYSMETRICS_NET_TX_PACKETS,
		SYSMETRICS_NET_TX_ERRORS,
		SYSMETRICS_NET_TX_DROPS,
		-1,
		-1,
		-1,
		-1,
	};
	const char *name = skip_blanks(line), *p = colon + 1;
	size_t len = (size_t)(colon - name);

	/* Interface names have no blank, '/' or ':' and at most 15 bytes. */
	if (len == 0 || len >= SYSMETRICS_IFNAME_MAX)
		return -EBADMSG;
	for (size_t i = 0; i < len; i++)
		if (is_blank(name[i]) || name[i] == '/' || (unsigned char)name[i] < 0x20)
			return -EBADMSG;
	memcpy(ret->name, name, len);
	ret->name[len] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(column); i++) {
		uint64_t v;

		p = parse_u64(p, &v); /* stops at eol: '\n' is neither blank nor digit */
		if (!p)
			return -EBADMSG;
		if (column[i] >= 0)
			ret->v[column[i]] = v;
	}
	return 0;
}

int sysmetrics_parse_netdev(const char *text, sysmetrics_netdev_cb cb, void *userdata,
			    unsigned *ret_malformed)
{
	const char *line = text, *eol;
	unsigned malformed = 0;
	int r = 0;

	for (; *line; line = eol + 1) {
		struct sysmetrics_netdev dev;
		const char *colon;

		eol = strchr(line, '\n');
		if (!eol) {
			/* A read cut short: the rest of a line is no line. */
			malformed++;
			break;
		}
		colon = memchr(line, ':', (size_t)(eol - line));
		if (!colon)
			continue; /* the two header lines */
		if (parse_netdev_line(line, colon, eol, &dev) < 0) {
			malformed++;
			continue;
		}
		r = cb(&dev, userdata);
		if (r < 0)
			break;
	}
	if (ret_malformed)
		*ret_malformed = malformed;
	return r < 0 ? r : 0;
}

int sysmetrics_parse_pidstat(const char *text, struct sysmetrics_pidstat *ret)
{
	struct sysmetrics_pidstat st = {};
	const char *open = strchr(text, '('), *close = strrchr(text, ')'), *p;
	size_t len;

	/* The name sits between the first '(' and the last ')': it may hold either. */
	if (!open || !close || close < open || close[1] != ' ' || !strchr(close, '\n'))
		return -EBADMSG;
	len = MIN((size_t)(close - open - 1), sizeof(st.comm) - 1);
	memcpy(st.comm, open + 1, len);
	st.comm[len] = 0;

	/* Fields are numbered from 1 as in proc(5): 3 is the state, after the name. */
	p = close + 1;
	for (unsigned field = 3; field <= 24; field++) {
		uint64_t *want = field == 14   ? &st.utime
				 : field == 15 ? &st.stime
				 : field == 20 ? &st.threads
				 : field == 22 ? &st.starttime
				 : field == 24 ? &st.rss_pages
					       : NULL;

		p = skip_blanks(p);
		if (ends_token(*p))
			return -EBADMSG;
		if (want) {
			p = parse_u64(p, want);
			if (!p)
				return -EBADMSG;
		} else {
			while (!ends_token(*p))
				p++;
		}
	}
	*ret = st;
	return 0;
}

bool sysmetrics_comm_matches(const char *name, const char *comm)
{
	const size_t cut = SYSMETRICS_TASK_COMM_LEN - 1;

	if (streq(name, comm))
		return true;
	return strlen(name) > cut && strlen(comm) == cut && strncmp(name, comm, cut) == 0;
}

int sysmetrics_parse_proc_spec(const char *value, struct sysmetrics_proc_spec *ret,
			       const char **ret_why)
{
	static const struct {
		const char *prefix;
		enum sysmetrics_proc_kind kind;
	} forms[] = {
		{ "pidfile:", SYSMETRICS_PROC_PIDFILE },
		{ "unit:", SYSMETRICS_PROC_UNIT },
		{ "exe:", SYSMETRICS_PROC_EXE },
	};
	struct sysmetrics_proc_spec spec = { .kind = SYSMETRICS_PROC_NAME };
	size_t len = strcspn(value, "=");
	const char *form = value[len] ? value + len + 1 : NULL, *arg = NULL;

	if (len == 0 || len > SYSMETRICS_PROC_NAME_MAX || memchr(value, '/', len)) {
		*ret_why = "expected a process name of 1 to 63 bytes without '/' or '=', alone or "
			   "followed by =self, =pidfile:PATH, =unit:UNIT or =exe:PATH";
		return -EINVAL;
	}
	memcpy(spec.name, value, len);
	spec.name[len] = 0;
	if (form && streq(form, "self")) {
		spec.kind = SYSMETRICS_PROC_SELF;
	} else if (form) {
		for (size_t i = 0; i < ARRAY_SIZE(forms) && !arg; i++)
			if (strncmp(form, forms[i].prefix, strlen(forms[i].prefix)) == 0) {
				spec.kind = forms[i].kind;
				arg = form + strlen(forms[i].prefix);
			}
		if (!arg) {
			*ret_why = "expected =self, =pidfile:PATH, =unit:UNIT or =exe:PATH after "
				   "the process name";
			return -EINVAL;
		}
		if (!arg[0] || strlen(arg) > SYSMETRICS_PROC_ARG_MAX) {
			*ret_why = "expected a path or unit name of 1 to 255 bytes";
			return -EINVAL;
		}
		if (spec.kind == SYSMETRICS_PROC_UNIT ? strchr(arg, '/') || !strchr(arg, '.')
						      : arg[0] != '/') {
			*ret_why = spec.kind == SYSMETRICS_PROC_UNIT
					   ? "expected a unit name such as gatewayd.service"
					   : "expected an absolute path";
			return -EINVAL;
		}
	}
	spec.arg = arg;
	*ret = spec;
	return 0;
}

int sysmetrics_parse_pidfile(const char *text)
{
	uint64_t pid;
	const char *p = parse_u64(text, &pid);

	if (!p || text[0] < '0' || text[0] > '9' || pid == 0 || pid > INT32_MAX)
		return -EBADMSG;
	p = skip_blanks(p);
	if (*p == '\n')
		p++;
	return *p ? -EBADMSG : (int)pid;
}

bool sysmetrics_cgroup_in_unit(const char *text, const char *unit)
{
	size_t n = strlen(unit);
	const char *line, *eol;

	/* "hierarchy-ID:controllers:path" lines, each ended by '\n'. */
	for (line = text; (eol = strchr(line, '\n')); line = eol + 1) {
		const char *c1 = memchr(line, ':', (size_t)(eol - line)), *c2, *p;

		if (!c1 || !(c2 = memchr(c1 + 1, ':', (size_t)(eol - c1 - 1))))
			continue;
		if (!(c2 == c1 + 1 ||
		      ((size_t)(c2 - c1 - 1) == strlen("name=systemd") &&
		       memcmp(c1 + 1, "name=systemd", strlen("name=systemd")) == 0)))
			continue;
		for (p = c2 + 1; p < eol; p++) {
			if (*p != '/')
				continue;
			if ((size_t)(eol - p - 1) >= n && memcmp(p + 1, unit, n) == 0 &&
			    (p[1 + n] == '/' || p + 1 + n == eol))
				return true;
		}
	}
	return false;
}

bool sysmetrics_exe_matches(const char *target, const char *path)
{
	size_t n = strlen(path);

	return strncmp(target, path, n) == 0 && (!target[n] || streq(target + n, " (deleted)"));
}

int sysmetrics_parse_millicelsius(const char *text, double *ret)
{
	const char *p = text;
	bool negative = *p == '-';
	uint64_t v;

	if (negative)
		p++;
	/* No blank before the digits, nothing after them but the newline. */
	if (is_blank(*p))
		return -EBADMSG;
	p = parse_u64(p, &v);
	if (!p || (*p == '\n' ? p[1] : *p) != 0)
		return -EBADMSG;
	if (negative ? v > 273150 : v > 10000000)
		return -EBADMSG;
	*ret = (negative ? -(double)v : (double)v) / 1000.0;
	return 0;
}

size_t sysmetrics_parse_thermal_type(const char *text, char *buf, size_t size)
{
	size_t len = strcspn(text, "\n");

	if (size == 0)
		return 0;
	if (!lc_text_printable(text, len))
		len = 0;
	len = MIN(len, size - 1);
	memcpy(buf, text, len);
	while (len > 0 && buf[len - 1] == ' ')
		len--;
	buf[len] = 0;
	return len;
}

int sysmetrics_parse_numbered(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);
	uint64_t v = 0;
	const char *p;

	if (strncmp(name, prefix, n) != 0)
		return -EINVAL;
	p = name + n;
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != 0))
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > INT32_MAX)
			return -EINVAL;
	}
	return (int)v;
}

int sysmetrics_fs_name(const char *mount_point, char *buf, size_t size)
{
	const char *b, *e;
	size_t len;

	if (mount_point[0] != '/')
		return -EINVAL;
	for (b = mount_point; *b == '/'; b++)
		;
	e = b + strlen(b);
	while (e > b && e[-1] == '/')
		e--;
	if (e == b) {
		b = "root";
		e = b + 4;
	}
	len = (size_t)(e - b);
	if (len >= size)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < len; i++)
		buf[i] = b[i] == '/' ? '_' : b[i];
	buf[len] = 0;
	return 0;
}

int sysmetrics_df_from_statvfs(const struct statvfs *st, struct sysmetrics_df *ret)
{
	uint64_t block = st->f_frsize ? st->f_frsize : st->f_bsize;
	uint64_t used, avail;

	if (st->f_bfree > st->f_blocks || st->f_bavail > st->f_bfree)
		return -EBADMSG;
	if (__builtin_mul_overflow((uint64_t)(st->f_blocks - st->f_bfree), block, &used) ||
	    __builtin_mul_overflow((uint64_t)st->f_bavail, block, &avail))
		return -ERANGE;
	*ret = (struct sysmetrics_df){
		.used = used,
		.avail = avail,
		/* df(1)'s Use%: the blocks reserved for root count as neither. */
		.used_pct =
			used || avail ? 100.0 * (double)used / ((double)used + (double)avail) : 0,
	};
	return 0;
}

unsigned sysmetrics_deltas(const uint64_t *prev, const uint64_t *cur, size_t n, uint64_t *ret)
{
	unsigned backwards = 0;

	for (size_t i = 0; i < n; i++) {
		if (cur[i] < prev[i]) {
			ret[i] = 0;
			backwards++;
		} else {
			ret[i] = cur[i] - prev[i];
		}
	}
	return backwards;
}

/* Parses one /proc/diskstats line (eol is its '\n'); -EBADMSG when malformed. */
static int parse_diskstats_line(const char *line, const char *eol, struct sysmetrics_diskstat *ret)
{
	/* Where each of the first 11 numbers after the name goes (-1: not kept), as the kernel's
	 * Documentation/admin-guide/iostats.rst numbers them from 1. */
	static const int column[11] = {
		SYSMETRICS_DISK_READS,
		-1,
		SYSMETRICS_DISK_SECTORS_READ,
		-1,
		SYSMETRICS_DISK_WRITES,
		-1,
		SYSMETRICS_DISK_SECTORS_WRITTEN,
		-1,
		-1,
		-1,
		-1,
	};
	const char *p = line, *name;
	uint64_t v;
	size_t len;

	/* Major and minor numbers. */
	for (size_t i = 0; i < 2; i++) {
		p = parse_u64(p, &v);
		if (!p)
			return -EBADMSG;
	}
	name = skip_blanks(p);
	len = strcspn(name, " \t\n");
	if (len == 0 || len >= SYSMETRICS_DISK_NAME_MAX || memchr(name, '/', len) ||
	    !lc_text_printable(name, len))
		return -EBADMSG;
	memcpy(ret->name, name, len);
	ret->name[len] = 0;
	p = name + len;
	for (size_t i = 0; i < ARRAY_SIZE(column); i++) {
		p = parse_u64(p, &v);
		if (!p)
			return -EBADMSG;
		if (column[i] >= 0)
			ret->v[column[i]] = v;
	}
	/* Later kernels' discard and flush figures: numbers too, or the line is not one. */
	while ((p = skip_blanks(p)) != eol) {
		p = parse_u64(p, &v);
		if (!p)
			return -EBADMSG;
	}
	return 0;
}

int sysmetrics_parse_diskstats(const char *text, sysmetrics_diskstats_cb cb, void *userdata,
			       unsigned *ret_malformed)
{
	const char *line = text, *eol;
	unsigned malformed = 0;
	int r = 0;

	for (; *line; line = eol + 1) {
		struct sysmetrics_diskstat d = {};

		eol = strchr(line, '\n');
		if (!eol) {
			/* A read cut short: the rest of a line is no line. */
			malformed++;
			break;
		}
		if (skip_blanks(line) == eol)
			continue;
		if (parse_diskstats_line(line, eol, &d) < 0) {
			malformed++;
			continue;
		}
		r = cb(&d, userdata);
		if (r < 0)
			break;
	}
	if (ret_malformed)
		*ret_malformed = malformed;
	return r < 0 ? r : 0;
}

const char *sysmetrics_vm_counter_name(enum sysmetrics_vm_counter c)
{
	static const char *const names[_SYSMETRICS_VM_MAX] = {
		[SYSMETRICS_VM_PGPGIN] = "pgpgin",	   [SYSMETRICS_VM_PGPGOUT] = "pgpgout",
		[SYSMETRICS_VM_PSWPIN] = "pswpin",	   [SYSMETRICS_VM_PSWPOUT] = "pswpout",
		[SYSMETRICS_VM_PGMAJFAULT] = "pgmajfault",
	};

	return (unsigned)c < _SYSMETRICS_VM_MAX ? names[c] : NULL;
}

int sysmetrics_parse_vmstat(const char *text, struct sysmetrics_vmstat *ret)
{
	struct sysmetrics_vmstat vm = {};
	const char *line, *eol;
	bool any = false;

	for (line = text; (eol = strchr(line, '\n')); line = eol + 1) {
		size_t len = strspn(line, "abcdefghijklmnopqrstuvwxyz0123456789_");
		const char *p;
		uint64_t v;
		int c = -1;

		if (len == 0 || !is_blank(line[len]))
			continue;
		for (int i = 0; i < _SYSMETRICS_VM_MAX && c < 0; i++)
			if (strlen(sysmetrics_vm_counter_name(i)) == len &&
			    memcmp(line, sysmetrics_vm_counter_name(i), len) == 0)
				c = i;
		p = parse_u64(line + len, &v);
		if (p)
			p = skip_blanks(p);
		if (!p || p != eol) {
			if (c >= 0)
				return -EBADMSG;
			continue;
		}
		any = true;
		if (c >= 0) {
			vm.v[c] = v;
			vm.have |= 1u << c;
		}
	}
	if (!any)
		return -EBADMSG;
	*ret = vm;
	return 0;
}

/* Parses "0x" and one or two hex digits after any blanks; returns the byte after them, or NULL. */
static const char *parse_hex_byte(const char *s, unsigned *ret)
{
	unsigned v = 0;
	size_t n = 0;

	s = skip_blanks(s);
	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return NULL;
	for (s += 2; n < 3; s++, n++) {
		char c = *s;

		if (c >= '0' && c <= '9')
			v = v * 16 + (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v = v * 16 + (unsigned)((c | 0x20) - 'a' + 10);
		else
			break;
	}
	if (n == 0 || n > 2 || !ends_token(*s))
		return NULL;
	*ret = v;
	return s;
}

/* Whether p, after any blanks, is the end of the text or a final newline. */
static bool at_end(const char *p)
{
	p = skip_blanks(p);
	return *p == 0 || (*p == '\n' && p[1] == 0);
}

int sysmetrics_parse_life_time(const char *text, unsigned ret[static 2])
{
	unsigned v[2];
	const char *p = text;

	for (size_t i = 0; i < 2; i++) {
		p = parse_hex_byte(p, &v[i]);
		if (!p)
			return -EBADMSG;
	}
	if (!at_end(p))
		return -EBADMSG;
	ret[0] = v[0];
	ret[1] = v[1];
	return 0;
}

int sysmetrics_parse_pre_eol(const char *text, unsigned *ret)
{
	unsigned v;
	const char *p = parse_hex_byte(text, &v);

	if (!p || !at_end(p))
		return -EBADMSG;
	*ret = v;
	return 0;
}

int sysmetrics_life_remaining_pct(unsigned estimate)
{
	if (estimate == 0)
		return -ENODATA;
	if (estimate > 0x0b)
		return -ERANGE;
	return 100 - ((int)estimate - 1) * 10;
}

bool sysmetrics_rate(uint64_t prev, uint64_t cur, double elapsed, double *ret)
{
	if (cur < prev || !(elapsed > 0))
		return false;
	*ret = (double)(cur - prev) / elapsed;
	return true;
}
