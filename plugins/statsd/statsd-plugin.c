/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include "clock.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "netaddr.h"
#include "ratelimit.h"
#include "statsd-pace.h"
#include "statsd-parse.h"
#include "statsd-plugin.h"
#include "text.h"

_Static_assert(STATSD_NAME_MAX == LC_METRIC_KEY_MAX, "statsd names are metric keys");

/* Datagrams per recvmmsg() call, and calls per wakeup: draining is bounded so that a flood cannot
 * keep the loop from its other work; the rest is read at the loop's next turn. */
#define STATSD_BATCH		  32
#define STATSD_BATCHES_PER_WAKEUP 64

/* At most one warning about refused input a minute, with the counts since the previous one. */
#define STATSD_WARN_INTERVAL_USEC (60ULL * 1000000ULL)

/* The longest excerpt of a refused line in a debug message. */
#define STATSD_EXCERPT_MAX 96

struct statsd_counters {
	uint64_t datagrams;
	uint64_t truncated;	 /* larger than max_datagram_bytes, dropped whole */
	uint64_t rejected;	 /* readings the store refused (bad kind for the key, key cap) */
	uint64_t not_collected;	 /* readings while data collection is off */
	uint64_t receive_errors; /* recvmmsg() failures other than "nothing more" */
	struct statsd_parse_counts parse;
};

struct statsd_data {
	struct lc_plugin *plugin;
	int fd;
	char address[INET6_ADDRSTRLEN + 8]; /* as bound, port 0 resolved: "[::1]:8125" */
	int receive_buffer;		    /* bytes the kernel granted */
	size_t datagram_max;
	char *buffers; /* STATSD_BATCH * datagram_max, allocated once */
	struct iovec iovs[STATSD_BATCH];
	struct mmsghdr msgs[STATSD_BATCH];
	struct statsd_sink sink;
	struct lc_watch *watch; /* while idle */
	struct lc_timer *timer; /* while datagrams flow */
	unsigned pause_ms;	/* 0: the kernel cannot tell the queue's fill, no pauses */
	uint64_t kernel_drops;	/* dropped by the kernel, mostly for a full queue */
	uint64_t warned_kernel_drops;
	struct statsd_counters counters;
	struct statsd_counters warned; /* as of the last warning */
	int last_error;
	struct lc_ratelimit warn_limit;
};

static const struct lc_cfg_key statsd_keys[] = {
	{
		.name = "enabled",
		.type = LC_CFG_BOOL,
		.def_bool = true,
		.description = "Receive statsd readings over UDP into the heartbeat's metrics.",
	},
	{
		.name = "listen",
		.type = LC_CFG_STRING,
		.def_string = "127.0.0.1:8125",
		.max = 64,
		.check = lc_check_listen_address,
		.description = "UDP address to receive on: \"a.b.c.d:port\" or \"[IPv6]:port\", "
			       "numeric; port 0 takes any free port (`faultctl status` shows it). "
			       "statsd has no authentication: anyone who can reach the address can "
			       "write metrics, so keep it on the loopback unless the network is "
			       "trusted.",
	},
	{
		.name = "receive_buffer_bytes",
		.type = LC_CFG_INT,
		.def_int = 4 * 1024 * 1024,
		.min = 0,
		.max = 256 * 1024 * 1024,
		.description =
			"Socket receive buffer (SO_RCVBUF) to ask for, so that a burst of "
			"datagrams waits for faultd instead of being dropped by the kernel; "
			"0 keeps the system's default. Without CAP_NET_ADMIN the kernel caps "
			"it at net.core.rmem_max, and faultd logs what it granted.",
	},
	{
		.name = "max_datagram_bytes",
		.type = LC_CFG_INT,
		.def_int = 8192,
		.min = 512,
		.max = 65535,
		.description = "Largest datagram taken (DogStatsD clients send up to 8192 bytes); "
			       "a larger one is dropped whole and counted as truncated. faultd "
			       "keeps 32 buffers of this size.",
	},
};

static const struct lc_cfg_section statsd_section = {
	.name = "statsd",
	.description = "statsd intake over UDP: lines \"name:value|type[|@rate][|#tags]\", "
		       "several per datagram. Types: c (counter), g (gauge; a value with a sign, "
		       "\"+3\" or \"-5\", moves it instead of setting it), ms, h and d "
		       "(histograms: count, sum, min, max, mean) and s (set: distinct members). "
		       "The sample rate scales a counter and is ignored for the other types. "
		       "DogStatsD tags and fields are ignored, packed values "
		       "(\"name:1:2:3|h\") are several readings, events and service checks are "
		       "skipped. Names are metric keys as they are, without a prefix. Malformed "
		       "lines are counted (`faultctl status`) and skipped.",
	.keys = statsd_keys,
	.n_keys = ARRAY_SIZE(statsd_keys),
};

static void statsd_on_reading(void *userdata, const struct statsd_reading *rd)
{
	struct statsd_data *d = userdata;
	int r;

	switch (rd->kind) {
	case STATSD_READING_COUNTER:
		r = lc_plugin_metric(d->plugin, rd->name, rd->name_len, LC_METRIC_COUNTER,
				     rd->value);
		break;
	case STATSD_READING_GAUGE:
		r = lc_plugin_metric(d->plugin, rd->name, rd->name_len, LC_METRIC_GAUGE, rd->value);
		break;
	case STATSD_READING_GAUGE_DELTA:
		r = lc_plugin_metric_gauge_delta(d->plugin, rd->name, rd->name_len, rd->value);
		break;
	case STATSD_READING_HISTOGRAM:
		r = lc_plugin_metric(d->plugin, rd->name, rd->name_len, LC_METRIC_HISTOGRAM,
				     rd->value);
		break;
	case STATSD_READING_SET:
		r = lc_plugin_metric_set_add(d->plugin, rd->name, rd->name_len, rd->member,
					     rd->member_len);
		break;
	default:
		r = -EINVAL;
		break;
	}
	/* Consent off is the user's choice, not an error; the store counts its own refusals for
	 * the heartbeat, these counts are for `faultctl status`. */
	if (r == -EPERM)
		d->counters.not_collected++;
	else if (r < 0)
		d->counters.rejected++;
}

static void statsd_on_malformed(void *userdata, const char *line, size_t len, const char *why)
{
	char buf[STATSD_EXCERPT_MAX + 1]; /* the line's first bytes, unprintable ones as '?' */

	/* At statsd rates, only a debugging session wants each line; skip the copy otherwise. */
	if (lc_log_get_max_level() < LOG_DEBUG)
		return;
	lc_plugin_log(((struct statsd_data *)userdata)->plugin, LOG_DEBUG,
		      "refused the line \"%s%s\": %s.",
		      lc_text_printable_copy(buf, sizeof(buf), line, len),
		      len > STATSD_EXCERPT_MAX ? "..." : "", why);
}

/* Warns, at most once per STATSD_WARN_INTERVAL_USEC, about input refused since the last warning. */
static void statsd_warn(struct statsd_data *d)
{
	const struct statsd_counters *c = &d->counters, *w = &d->warned;

	if (_likely_(c->parse.malformed == w->parse.malformed && c->truncated == w->truncated &&
		     c->rejected == w->rejected && c->receive_errors == w->receive_errors &&
		     d->kernel_drops == d->warned_kernel_drops))
		return;
	if (!lc_ratelimit_below(&d->warn_limit, lc_clock_us(CLOCK_MONOTONIC), NULL))
		return;
	if (c->receive_errors != w->receive_errors)
		lc_plugin_log_errno(d->plugin, LOG_WARNING, d->last_error,
				    "%" PRIu64 " receive errors on %s, the last: %m.",
				    c->receive_errors - w->receive_errors, d->address);
	if (c->parse.malformed != w->parse.malformed || c->truncated != w->truncated ||
	    c->rejected != w->rejected)
		lc_plugin_log(d->plugin, LOG_WARNING,
			      "since the last warning, %" PRIu64 " malformed lines, %" PRIu64
			      " datagrams over %zu bytes and %" PRIu64
			      " readings refused by the metric store were dropped (counts in "
			      "`faultctl status`; each line at debug level).",
			      c->parse.malformed - w->parse.malformed, c->truncated - w->truncated,
			      d->datagram_max, c->rejected - w->rejected);
	if (d->kernel_drops != d->warned_kernel_drops)
		lc_plugin_log(d->plugin, LOG_WARNING,
			      "the kernel dropped %" PRIu64 " datagrams on %s, its receive "
			      "buffer of %d bytes being full: raise receive_buffer_bytes (and "
			      "net.core.rmem_max).",
			      d->kernel_drops - d->warned_kernel_drops, d->address,
			      d->receive_buffer);
	d->warned = *c;
	d->warned_kernel_drops = d->kernel_drops;
}

/* Reads what is queued, at most STATSD_BATCHES_PER_WAKEUP batches. Returns how many datagrams;
 * *ret_more is set when the cap stopped it with more probably queued. */
static unsigned statsd_drain(struct statsd_data *d, bool *ret_more)
{
	unsigned total = 0;

	*ret_more = false;
	for (unsigned b = 0; b < STATSD_BATCHES_PER_WAKEUP; b++) {
		int n = recvmmsg(d->fd, d->msgs, STATSD_BATCH, MSG_DONTWAIT, NULL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				d->counters.receive_errors++;
				d->last_error = -errno;
			}
			return total;
		}
		for (int i = 0; i < n; i++) {
			d->counters.datagrams++;
			if (d->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
				d->counters.truncated++;
				continue;
			}
			statsd_parse_datagram(d->iovs[i].iov_base, d->msgs[i].msg_len, &d->sink,
					      &d->counters.parse);
		}
		total += (unsigned)n;
		/* A short batch emptied the queue: spare the call that would say EAGAIN. */
		if (n < STATSD_BATCH)
			return total;
	}
	*ret_more = true;
	return total;
}

/* The receive queue's bytes in use and limit, and the kernel's count of datagrams it dropped for
 * want of room (SO_MEMINFO, Linux 4.6; the drop count 4.15). Returns 0 or -errno. */
static int statsd_meminfo(int fd, uint32_t *ret_used, uint32_t *ret_limit, uint64_t *ret_drops)
{
	uint32_t info[SK_MEMINFO_VARS] = {};
	socklen_t len = sizeof(info);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info, &len) < 0)
		return negative_errno();
	if (len < (SK_MEMINFO_RCVBUF + 1) * sizeof(uint32_t))
		return -ENOPROTOOPT;
	*ret_used = info[SK_MEMINFO_RMEM_ALLOC];
	*ret_limit = info[SK_MEMINFO_RCVBUF];
	if (ret_drops && len >= (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))
		*ret_drops = info[SK_MEMINFO_DROPS];
	return 0;
}

static void statsd_on_readable(struct lc_plugin *p, int fd, unsigned events, int error,
			       void *userdata);
static void statsd_on_tick(struct lc_plugin *p, void *userdata);

/* Arms the pause timer for ms (the host waits at least 1 ms). Returns 0 or -errno. */
static int statsd_arm(struct statsd_data *d, unsigned ms)
{
	if (d->timer)
		return lc_timer_restart(d->timer, ms, 0);
	return lc_plugin_timer_add(d->plugin, ms, 0, statsd_on_tick, d, &d->timer);
}

static void statsd_on_readable(struct lc_plugin *p, int fd, unsigned events, int error,
			       void *userdata)
{
	struct statsd_data *d = userdata;
	bool more;

	if (error < 0) {
		/* The loop stops a watch that reported an error: say so once, loudly. */
		d->counters.receive_errors++;
		lc_plugin_log_errno(p, LOG_ERR, error,
				    "watching %s failed: %m; no more readings until "
				    "faultd reloads.",
				    d->address);
		return;
	}
	(void)statsd_drain(d, &more);
	/* Traffic began: read it on the timer from now on (see statsd_on_tick()). With more queued,
	 * the watch fires again as soon as the loop has done its other work. */
	if (!more && d->pause_ms > 0 && statsd_arm(d, d->pause_ms) >= 0)
		d->watch = lc_watch_free(d->watch);
	statsd_warn(d);
}

/* While datagrams flow, the socket is read on this timer every pause_ms (statsd-pace.h); a tick
 * that finds nothing returns to the watch, so that an idle daemon does not wake. */
static void statsd_on_tick(struct lc_plugin *p, void *userdata)
{
	struct statsd_data *d = userdata;
	uint32_t used, limit;
	unsigned n;
	bool more;
	int r;

	if (statsd_meminfo(d->fd, &used, &limit, &d->kernel_drops) == 0)
		d->pause_ms = statsd_pause_next(d->pause_ms, used, limit);
	n = statsd_drain(d, &more);
	if (more) {
		r = statsd_arm(d, 0);
	} else if (n > 0) {
		r = statsd_arm(d, d->pause_ms);
	} else {
		r = lc_plugin_watch_fd(p, d->fd, LC_WATCH_READ, statsd_on_readable, d, &d->watch);
		if (r < 0) {
			lc_plugin_log_errno(p, LOG_WARNING, r,
					    "failed to watch %s: %m; reading it every %u ms.",
					    d->address, d->pause_ms);
			r = statsd_arm(d, d->pause_ms);
		}
	}
	if (r < 0)
		lc_plugin_log_errno(p, LOG_ERR, r,
				    "failed to re-arm the timer for %s: %m; no more "
				    "readings until faultd reloads.",
				    d->address);
	statsd_warn(d);
}

static void statsd_collect(struct lc_plugin *p)
{
	struct statsd_data *d = lc_plugin_get_data(p);
	bool more;

	/* Datagrams waiting for the next tick were sent during the heartbeat now closing. */
	(void)statsd_drain(d, &more);
	statsd_warn(d);
}

static struct statsd_data *statsd_data_free(struct statsd_data *d)
{
	if (!d)
		return NULL;
	safe_close(d->fd);
	free(d->buffers);
	free(d);
	return NULL;
}

static void statsd_data_freep(struct statsd_data **d)
{
	statsd_data_free(*d);
}

/* Asks for a receive buffer of want bytes; stores what the kernel granted in *ret_granted. */
static void statsd_set_receive_buffer(struct lc_plugin *p, int fd, int want, const char *listen,
				      int *ret_granted)
{
	socklen_t len = sizeof(int);
	int v = want;

	/* SO_RCVBUFFORCE passes net.core.rmem_max with CAP_NET_ADMIN; without, the capped
	 * SO_RCVBUF is the best there is. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) < 0)
		lc_plugin_log_errno(p, LOG_WARNING, errno,
				    "failed to set the receive buffer of %s: %m, ignoring.",
				    listen);
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len) < 0) {
		*ret_granted = -1;
		return;
	}
	/* Linux reports twice the size asked for, the other half being its bookkeeping. */
	*ret_granted = v / 2;
	if (*ret_granted < want)
		lc_plugin_log(p, LOG_INFO,
			      "the kernel granted a receive buffer of %d bytes instead of %d "
			      "(net.core.rmem_max); a burst beyond it is dropped by the kernel.",
			      *ret_granted, want);
}

/* The socket's bound address, as the configuration writes it. */
static int statsd_bound_address(int fd, char *buf, size_t size)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return negative_errno();
	return lc_listen_address_format(&sa, buf, size);
}

static int statsd_init(struct lc_plugin *p)
{
	const char *listen = lc_plugin_config_string(p, "listen");
	int64_t receive_buffer = lc_plugin_config_int(p, "receive_buffer_bytes");
	_cleanup_(statsd_data_freep) struct statsd_data *d = NULL;
	struct sockaddr_storage sa;
	socklen_t sa_len;
	uint32_t used, limit;
	const char *why;
	int r;

	r = lc_listen_address_parse(listen, &sa, &sa_len, &why);
	if (r < 0) {
		lc_plugin_log(p, LOG_ERR, "\"listen\": %s, got \"%s\".", why, listen);
		return r;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return log_oom();
	d->fd = -1;
	d->plugin = p;
	d->receive_buffer = -1;
	d->datagram_max = (size_t)lc_plugin_config_int(p, "max_datagram_bytes");
	d->sink = (struct statsd_sink){
		.reading = statsd_on_reading,
		.malformed = statsd_on_malformed,
		.userdata = d,
	};
	d->warn_limit =
		(struct lc_ratelimit){ .interval_usec = STATSD_WARN_INTERVAL_USEC, .burst = 1 };
	d->buffers = malloc(STATSD_BATCH * d->datagram_max);
	if (!d->buffers)
		return log_oom();
	for (size_t i = 0; i < STATSD_BATCH; i++) {
		d->iovs[i] = (struct iovec){ .iov_base = d->buffers + i * d->datagram_max,
					     .iov_len = d->datagram_max };
		d->msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &d->iovs[i], .msg_iovlen = 1 };
	}

	d->fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd < 0)
		return lc_plugin_log_errno(p, LOG_ERR, errno,
					   "failed to create a UDP socket for %s: %m", listen);
	if (receive_buffer > 0)
		statsd_set_receive_buffer(p, d->fd, (int)receive_buffer, listen,
					  &d->receive_buffer);
	if (bind(d->fd, (const struct sockaddr *)&sa, sa_len) < 0)
		return lc_plugin_log_errno(p, LOG_ERR, errno, "failed to bind %s: %m", listen);
	r = statsd_bound_address(d->fd, d->address, sizeof(d->address));
	if (r < 0)
		return lc_plugin_log_errno(p, LOG_ERR, r,
					   "failed to read the address bound for %s: %m", listen);
	if (d->receive_buffer < 0) {
		socklen_t len = sizeof(d->receive_buffer);

		if (getsockopt(d->fd, SOL_SOCKET, SO_RCVBUF, &d->receive_buffer, &len) == 0)
			d->receive_buffer /= 2;
	}

	/* Without the queue's fill there is no telling how long a pause is safe: no pauses. */
	d->pause_ms = statsd_meminfo(d->fd, &used, &limit, NULL) == 0 ? 1 : 0;

	/* Last: nothing fails after the watch, so a failed init never leaves one on a closed fd. */
	r = lc_plugin_watch_fd(p, d->fd, LC_WATCH_READ, statsd_on_readable, d, &d->watch);
	if (r < 0)
		return lc_plugin_log_errno(p, LOG_ERR, r, "failed to watch %s: %m", d->address);
	lc_plugin_log(p, LOG_INFO, "receiving on UDP %s.", d->address);
	lc_plugin_set_data(p, TAKE_PTR(d));
	return 0;
}

static void statsd_shutdown(struct lc_plugin *p)
{
	/* The core released the watch and the timer before calling us: the descriptor can go. */
	statsd_data_free(lc_plugin_get_data(p));
}

static json_object *statsd_status(struct lc_plugin *p)
{
	const struct statsd_data *d = lc_plugin_get_data(p);
	const struct statsd_counters *c;
	_cleanup_json_ json_object *o = NULL;
	uint64_t kernel_drops;
	uint32_t used, limit;

	if (!d)
		return NULL;
	c = &d->counters;
	kernel_drops = d->kernel_drops;
	(void)statsd_meminfo(d->fd, &used, &limit, &kernel_drops);
	o = json_object_new_object();
	if (!o || lc_json_add(o, "listen", json_object_new_string(d->address)) < 0 ||
	    lc_json_add(o, "receive_buffer_bytes", json_object_new_int(d->receive_buffer)) < 0 ||
	    lc_json_add(o, "max_datagram_bytes", json_object_new_uint64(d->datagram_max)) < 0 ||
	    lc_json_add(o, "datagrams", json_object_new_uint64(c->datagrams)) < 0 ||
	    lc_json_add(o, "lines", json_object_new_uint64(c->parse.lines)) < 0 ||
	    lc_json_add(o, "readings", json_object_new_uint64(c->parse.readings)) < 0 ||
	    lc_json_add(o, "malformed", json_object_new_uint64(c->parse.malformed)) < 0 ||
	    lc_json_add(o, "ignored", json_object_new_uint64(c->parse.ignored)) < 0 ||
	    lc_json_add(o, "truncated", json_object_new_uint64(c->truncated)) < 0 ||
	    lc_json_add(o, "rejected", json_object_new_uint64(c->rejected)) < 0 ||
	    lc_json_add(o, "not_collected", json_object_new_uint64(c->not_collected)) < 0 ||
	    lc_json_add(o, "receive_errors", json_object_new_uint64(c->receive_errors)) < 0 ||
	    lc_json_add(o, "dropped_by_kernel", json_object_new_uint64(kernel_drops)) < 0)
		return NULL;
	return TAKE_PTR(o);
}

const struct lc_plugin_ops statsd_plugin_ops = {
	.name = "statsd",
	.config = &statsd_section,
	.init = statsd_init,
	.collect = statsd_collect,
	.shutdown = statsd_shutdown,
	.status = statsd_status,
};
