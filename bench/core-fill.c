// SPDX-License-Identifier: MIT
/*
 * core-fill: a process whose memory looks like a long-running service's, for the core-file
 * benchmark (bench/coredump.py).
 *
 *     core-fill MIB [THREADS] [SEED]
 *
 * It allocates about MIB MiB of heap with malloc() and fills it with a mix of what a gateway
 * service keeps: text records (log lines, JSON readings, file paths), small linked structs with
 * pointers, counters and timestamps, tables of slowly varying sensor samples, random blobs (keys,
 * compressed payloads) and buffers that were cleared. Then it starts THREADS threads (default 4,
 * 512 KiB stacks) that recurse to different depths with locals on each frame and park, prints
 * "mix KIND=BYTES..." (the bytes asked of malloc for each kind) and "ready PID" on standard
 * output and waits until standard input closes, so that a core can be
 * taken with gcore(1) while the process stays alive for /proc/PID. Everything comes from a
 * seeded PRNG: the same arguments give the same contents.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned below(unsigned n)
{
	return (unsigned)((rnd() >> 32) * n >> 32);
}

static const char *const words[] = {
	"modbus",    "rx",	 "tx",	    "frame",   "timeout", "sensor",  "zone",	 "temp",
	"humidity",  "pressure", "gateway", "uplink",  "retry",	  "mqtt",    "publish",	 "topic",
	"device",    "config",	 "update",  "cache",   "session", "token",   "relay",	 "valve",
	"pump",	     "meter",	 "energy",  "voltage", "current", "battery", "signal",	 "rssi",
	"lora",	     "ble",	 "wifi",    "eth0",    "wlan0",	  "ppp0",    "queue",	 "worker",
	"scheduler", "watchdog", "reading", "alarm",   "state",	  "online",  "offline",	 "error",
	"ok",	     "warning",	 "info",    "debug",   "north",	  "south",   "east",	 "west",
	"floor1",    "floor2",	 "boiler",  "chiller", "fan",	  "speed",   "setpoint", "mode",
};
#define N_WORDS (sizeof(words) / sizeof(words[0]))

static const char *const units[] = { "C", "%", "hPa", "V", "A", "kWh", "dBm", "rpm" };
static const char *const levels[] = { "info", "info", "info", "debug", "notice", "warning" };

/* Text records: what log buffers, JSON documents and path caches hold. */
static size_t make_record(char *buf, size_t cap)
{
	static uint64_t clock_ms = 1763700000000ull;
	unsigned kind = below(4);
	int n;

	clock_ms += below(2000);
	switch (kind) {
	case 0:
		n = snprintf(buf, cap,
			     "%llu.%03llu %s gw-%s[%u]: %s %s unit=%u fc=%u addr=0x%04x len=%u "
			     "latency_us=%u\n",
			     (unsigned long long)(clock_ms / 1000),
			     (unsigned long long)(clock_ms % 1000), levels[below(6)],
			     words[below(N_WORDS)], 1000 + below(64), words[below(N_WORDS)],
			     words[below(N_WORDS)], below(32), 1 + below(16), below(65536),
			     4 + below(250), 50 + below(5000));
		break;
	case 1:
		n = snprintf(
			buf, cap,
			"{\"sensor\":\"%s_%s%u\",\"value\":%d.%02u,\"unit\":\"%s\",\"ts\":%llu,"
			"\"quality\":\"%s\"}",
			words[below(N_WORDS)], words[below(N_WORDS)], below(40),
			(int)below(400) - 50, below(100), units[below(8)],
			(unsigned long long)clock_ms, below(10) ? "good" : "uncertain");
		break;
	case 2:
		n = snprintf(buf, cap, "/var/lib/%s/%s/%02x/%08llx-%s.%s", words[below(N_WORDS)],
			     words[below(N_WORDS)], below(256), (unsigned long long)(rnd() >> 32),
			     words[below(N_WORDS)], below(2) ? "json" : "bin");
		break;
	default: {
		/* a free-text message of 4..24 words */
		size_t len = 0;
		unsigned nw = 4 + below(21);
		for (unsigned i = 0; i < nw && len + 16 < cap; i++) {
			const char *w = words[below(N_WORDS)];
			size_t wl = strlen(w);
			if (len + wl + 2 >= cap)
				break;
			memcpy(buf + len, w, wl);
			len += wl;
			buf[len++] = i + 1 < nw ? ' ' : '.';
		}
		buf[len] = 0;
		n = (int)len;
	}
	}
	if (n < 0)
		n = 0;
	if ((size_t)n >= cap)
		n = (int)cap - 1;
	return (size_t)n + 1;
}

/* Small structs of a service's object graph. */
struct node {
	struct node *next;
	struct node *prev;
	char *label; /* a text record */
	void *owner;
	uint32_t id;
	uint16_t refcount;
	uint16_t flags;
	uint64_t rx_count;
	uint64_t tx_count;
	uint64_t last_seen_us;
	double value;
	char name[16];
	uint32_t extra[]; /* 0..16 words of per-type state */
};

#define RECENT 4096
static char *recent_text[RECENT];
static struct node *recent_node[RECENT];
static uint32_t next_id = 1;

static size_t make_node(void)
{
	unsigned extra = below(17);
	size_t size = sizeof(struct node) + extra * sizeof(uint32_t);
	struct node *n = malloc(size);
	struct node *prev = recent_node[below(RECENT)];
	static uint64_t rx = 1000, tx = 1000, seen = 1763700000000000ull;

	if (!n)
		abort();
	rx += below(50);
	tx += below(20);
	seen += below(2000000);
	n->next = NULL;
	n->prev = prev;
	if (prev && !prev->next)
		prev->next = n;
	n->label = recent_text[below(RECENT)];
	n->owner = recent_node[below(RECENT)];
	n->id = next_id++;
	n->refcount = (uint16_t)(1 + below(4));
	n->flags = (uint16_t)(below(4) == 0 ? 0x11 : 0x01);
	n->rx_count = rx;
	n->tx_count = tx;
	n->last_seen_us = seen;
	n->value = (double)below(100000) / 100.0;
	snprintf(n->name, sizeof(n->name), "%s%u", words[below(N_WORDS)], below(100));
	for (unsigned i = 0; i < extra; i++)
		n->extra[i] = below(3) ? below(16) : (uint32_t)rnd();
	recent_node[below(RECENT)] = n;
	return size;
}

/* A table of samples: a slowly varying float series with a time column. */
static size_t make_table(void)
{
	unsigned rows = 256 + below(3840);
	struct sample {
		uint32_t t;
		float v;
	} *s = malloc(rows * sizeof(*s));
	uint32_t t = 1763700000u + below(100000);
	float v = (float)below(1000) / 10.0f;

	if (!s)
		abort();
	for (unsigned i = 0; i < rows; i++) {
		t += 10;
		v += ((float)below(201) - 100.0f) / 1000.0f;
		s[i].t = t;
		s[i].v = v;
	}
	return rows * sizeof(*s);
}

static size_t make_blob(void)
{
	size_t size = 1024 + below(63 * 1024);
	uint64_t *b = malloc(size);

	if (!b)
		abort();
	for (size_t i = 0; i < size / 8; i++)
		b[i] = rnd();
	return size;
}

static size_t make_cleared(void)
{
	size_t size = 4096 + below(252 * 1024);
	char *b = malloc(size);

	if (!b)
		abort();
	memset(b, 0, size); /* touched: resident, as a cleared buffer is */
	return size;
}

/* Bytes asked of malloc() for each kind, reported on standard output. */
enum { TEXT, STRUCTS, TABLES, RANDOM, CLEARED, N_KINDS };
static const char *const kind_names[N_KINDS] = { "text", "structs", "tables", "random", "cleared" };
static size_t kind_bytes[N_KINDS];

static void fill_heap(size_t target)
{
	size_t done = 0, n;
	char buf[512];

	while (done < target) {
		/* By bytes this comes to about 26 % text, 30 % structs, 4 % tables, 6 % random and
		 * 34 % cleared buffers (the line "mix" printed at the start has the exact shares).
		 */
		unsigned pick = below(1000);
		if (pick < 930) {
			/* small objects: text and structs in bursts, as a service allocates */
			for (int i = 0; i < 64; i++) {
				if (below(100) < 55) {
					size_t len = make_record(buf, sizeof(buf));
					char *s = malloc(len);
					if (!s)
						abort();
					memcpy(s, buf, len);
					recent_text[below(RECENT)] = s;
					kind_bytes[TEXT] += len;
					done += len;
				} else {
					n = make_node();
					kind_bytes[STRUCTS] += n;
					done += n;
				}
			}
		} else if (pick < 955) {
			n = make_table();
			kind_bytes[TABLES] += n;
			done += n;
		} else if (pick < 973) {
			n = make_blob();
			kind_bytes[RANDOM] += n;
			done += n;
		} else {
			n = make_cleared();
			kind_bytes[CLEARED] += n;
			done += n;
		}
	}
}

static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cond = PTHREAD_COND_INITIALIZER;
static int parked;
static int released; /* never set: the threads stay parked until the process exits */

static void park(void)
{
	pthread_mutex_lock(&park_lock);
	parked++;
	pthread_cond_broadcast(&park_cond);
	while (!released)
		pthread_cond_wait(&park_cond, &park_lock);
	pthread_mutex_unlock(&park_lock);
}

/* Each frame keeps locals that hold pointers and counters, as real code's frames do. */
static __attribute__((noinline)) unsigned descend(unsigned depth, unsigned local_bytes)
{
	volatile char frame[local_bytes];
	volatile void *ptrs[4] = { recent_text[depth % RECENT], recent_node[depth % RECENT],
				   (void *)frame, NULL };
	unsigned r;

	for (unsigned i = 0; i < local_bytes; i++)
		frame[i] = (char)(i * 7 + depth);
	if (depth == 0) {
		park();
		return 0;
	}
	r = descend(depth - 1, local_bytes);
	return r + frame[depth % local_bytes] + (ptrs[3] != NULL);
}

struct thread_arg {
	unsigned depth;
	unsigned local_bytes;
};

static void *worker(void *p)
{
	struct thread_arg *a = p;
	descend(a->depth, a->local_bytes);
	return NULL;
}

int main(int argc, char **argv)
{
	static struct thread_arg args[64];
	/* depth x local bytes: from a shallow thread to one whose stack outgrows a 32 KiB window */
	static const struct thread_arg shapes[] = {
		{ 8, 64 }, { 40, 256 }, { 120, 512 }, { 300, 192 }, { 20, 1024 }, { 80, 96 },
	};
	pthread_attr_t attr;
	pthread_t t;
	long mib;
	int threads = 4;
	char c;

	if (argc < 2 || (mib = strtol(argv[1], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: core-fill MIB [THREADS] [SEED]\n");
		return 2;
	}
	if (argc > 2)
		threads = atoi(argv[2]);
	if (threads < 0 || threads > 64)
		threads = 4;
	rng_state = argc > 3 ? strtoull(argv[3], NULL, 0) : 42;

	fill_heap((size_t)mib << 20);

	/* 512 KiB stacks, as services on small devices set them (glibc's default is 8 MiB, which
	 * gcore would write out in full, mostly zeros) */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	for (int i = 0; i < threads; i++) {
		args[i] = shapes[i % (sizeof(shapes) / sizeof(shapes[0]))];
		if (pthread_create(&t, &attr, worker, &args[i]) != 0) {
			perror("pthread_create");
			return 1;
		}
	}
	pthread_mutex_lock(&park_lock);
	while (parked < threads)
		pthread_cond_wait(&park_cond, &park_lock);
	pthread_mutex_unlock(&park_lock);

	printf("mix");
	for (int k = 0; k < N_KINDS; k++)
		printf(" %s=%zu", kind_names[k], kind_bytes[k]);
	printf("\nready %d\n", (int)getpid());
	fflush(stdout);
	/* The main thread is the one the handler is told crashed. */
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
