/* SPDX-License-Identifier: MIT */
/*
 * statsd load generator for bench/metrics.py: sends COUNT UDP datagrams to 127.0.0.1:PORT at RATE
 * per second, cycling through the datagrams of FILE (separated by NUL bytes), and prints one JSON
 * line with what it did. Python cannot hold 50,000 datagrams per second steadily next to the
 * daemon under test on a two-core machine; this sends them in sendmmsg(2) batches on a 1 ms tick,
 * so that the generator's own CPU stays small and the stream is smooth rather than bursty.
 *
 *     statsd-load PORT RATE COUNT FILE
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

/* Datagrams handed to the kernel in one sendmmsg(2) call at most. */
#define LOAD_BATCH 256

/* Largest stream accepted: the benchmark's streams are a few megabytes. */
#define LOAD_FILE_MAX (64u * 1024 * 1024)

static uint64_t load_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int load_read_file(const char *path, char **ret_buf, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, got;

	if (!f)
		return -errno;
	buf = malloc(LOAD_FILE_MAX);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	while ((got = fread(buf + len, 1, LOAD_FILE_MAX - len, f)) > 0)
		len += got;
	if (ferror(f) || len == LOAD_FILE_MAX) {
		fclose(f);
		free(buf);
		return -EFBIG;
	}
	fclose(f);
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct mmsghdr msgs[LOAD_BATCH];
	struct iovec iovs[LOAD_BATCH];
	struct iovec *grams;
	struct rusage ru;
	uint64_t rate, count, sent = 0, errors = 0, start, end;
	size_t n_grams = 0, len = 0, next = 0;
	char *buf = NULL;
	int fd, r;

	if (argc != 5) {
		fprintf(stderr, "usage: %s PORT RATE COUNT FILE\n", argv[0]);
		return 2;
	}
	to.sin_port = htons((uint16_t)strtoul(argv[1], NULL, 10));
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rate = strtoull(argv[2], NULL, 10);
	count = strtoull(argv[3], NULL, 10);
	if (rate == 0) {
		fprintf(stderr, "statsd-load: RATE must be positive\n");
		return 2;
	}
	r = load_read_file(argv[4], &buf, &len);
	if (r < 0) {
		fprintf(stderr, "statsd-load: %s: %s\n", argv[4], strerror(-r));
		return 1;
	}

	/* Split at NUL bytes; each piece is one datagram. */
	grams = calloc(len / 2 + 1, sizeof(*grams));
	if (!grams)
		return 1;
	for (size_t i = 0; i < len;) {
		char *end_of = memchr(buf + i, '\0', len - i);
		size_t l = end_of ? (size_t)(end_of - (buf + i)) : len - i;

		if (l > 0)
			grams[n_grams++] = (struct iovec){ .iov_base = buf + i, .iov_len = l };
		i += l + 1;
	}
	if (n_grams == 0) {
		fprintf(stderr, "statsd-load: %s holds no datagram\n", argv[4]);
		return 1;
	}

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
		perror("statsd-load: socket");
		return 1;
	}

	start = load_now_ns();
	while (sent < count) {
		uint64_t elapsed = load_now_ns() - start;
		/* Datagrams due by now, so that a late tick catches up instead of drifting. */
		uint64_t due = (uint64_t)((double)rate * (double)elapsed / 1e9);
		struct timespec next_tick;

		if (due > count)
			due = count;
		while (sent < due) {
			unsigned batch =
				due - sent > LOAD_BATCH ? LOAD_BATCH : (unsigned)(due - sent);

			for (unsigned i = 0; i < batch; i++) {
				iovs[i] = grams[(next + i) % n_grams];
				msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iovs[i],
									 .msg_iovlen = 1 } };
			}
			r = sendmmsg(fd, msgs, batch, 0);
			if (r < 0) {
				/* Counted as sent (offered, refused): never stuck. */
				errors++;
				r = 1;
			}
			sent += (unsigned)r;
			/* A short send resends the rest next time, in the same order. */
			next = (next + (unsigned)r) % n_grams;
		}
		elapsed += 1000000;
		next_tick.tv_sec = (time_t)((start + elapsed) / 1000000000u);
		next_tick.tv_nsec = (long)((start + elapsed) % 1000000000u);
		if (sent < count)
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next_tick, NULL);
	}
	end = load_now_ns();
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"sent\": %" PRIu64 ", \"seconds\": %.3f, \"errors\": %" PRIu64
	       ", \"cpu_seconds\": %.3f}\n",
	       sent, (double)(end - start) / 1e9, errors,
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	return 0;
}
