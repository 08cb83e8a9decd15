/* SPDX-License-Identifier: MIT */
/*
 * How long the statsd plugin lets datagrams gather between reads while they flow: a pure function
 * of how full the receive queue was, so that tests can drive it.
 *
 * Reading every few milliseconds instead of on every datagram turns two system calls and a
 * wakeup per datagram into a few recvmmsg() calls per hundreds of them; at statsd rates the
 * kernel's work per wakeup and per system call, not the parsing, is the cost, and longer pauses
 * cost less. Two bounds keep them safe: the queue stays under a quarter of the receive buffer
 * (halving the pause above, doubling it below an eighth), and a pause never lasts longer than the
 * buffer takes to fill at STATSD_BURST_BYTES_PER_MS, so a sudden burst fits whatever came before.
 */
#pragma once

#include <stdint.h>

/* The longest pause, whatever the buffer. */
#define STATSD_PAUSE_MAX_MS 64

/* The burst a pause must absorb: 200,000 datagrams/s, four times the 50,000/s the plugin is sized
 * for, each charged about 1 KiB by the kernel (a small datagram's buffer overhead). */
#define STATSD_BURST_BYTES_PER_MS (200u * 1024u)

/* The longest pause for a receive buffer of limit bytes: 1..STATSD_PAUSE_MAX_MS. */
static inline unsigned statsd_pause_max(uint32_t limit)
{
	uint32_t ms = limit / STATSD_BURST_BYTES_PER_MS;

	return ms < 1 ? 1 : ms > STATSD_PAUSE_MAX_MS ? STATSD_PAUSE_MAX_MS : (unsigned)ms;
}

/* The next pause after one of pause_ms that left used of limit bytes queued: halved above a
 * quarter of limit, doubled below an eighth, always within 1..statsd_pause_max(limit). */
static inline unsigned statsd_pause_next(unsigned pause_ms, uint32_t used, uint32_t limit)
{
	unsigned max = statsd_pause_max(limit);

	if (pause_ms < 1)
		pause_ms = 1;
	if (pause_ms > max)
		pause_ms = max;
	if (used > limit / 4)
		return pause_ms > 1 ? pause_ms / 2 : 1;
	if (used < limit / 8)
		return pause_ms < max / 2 ? pause_ms * 2 : max;
	return pause_ms;
}
