/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>
#include <unistd.h>

#include "macro.h"
#include "uuid.h"

/* Fills b[got..n) from /dev/urandom, which never blocks. Returns 0 or -errno. */
static int urandom_fill(uint8_t *b, size_t got, size_t n)
{
	_cleanup_close_ int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return negative_errno();
	while (got < n) {
		ssize_t k = read(fd, b + got, n - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? negative_errno() : -EIO;
		got += (size_t)k;
	}
	return 0;
}

int lc_uuid_random(char ret[static LC_UUID_LEN + 1])
{
	uint8_t b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, GRND_NONBLOCK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break; /* EAGAIN: the pool is not ready yet; ENOSYS: an old kernel */
		got += (size_t)n;
	}
	if (got < sizeof(b)) {
		int r = urandom_fill(b, got, sizeof(b));

		if (r < 0)
			return r;
	}
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(ret, LC_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
	return 0;
}

bool lc_uuid_valid(const char *s)
{
	if (!s)
		return false;
	for (size_t i = 0; i < LC_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return false;
		}
	}
	return s[LC_UUID_LEN] == 0;
}
