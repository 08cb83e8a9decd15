/* SPDX-License-Identifier: MIT */
/*
 * The kernel log source: /dev/kmsg below sysroot (kmsg-parse.h). Each record carries a sequence
 * number that grows by one within a boot: the last one taken is saved with the log file
 * (logs-file.h), and after a restart in the same boot the records up to it are skipped, so that
 * nothing is read twice, and a jump in the numbers is counted as a gap (records the kernel's ring
 * buffer overwrote before faultd read them). A new boot starts from its first record.
 *
 * The real /dev/kmsg is a character device that returns one record per read() and wakes the
 * loop; anything else standing in for it (a file or a FIFO in a test's fake tree) is read every
 * second, several records per read.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "json-util.h"
#include "kmsg-parse.h"
#include "log.h"
#include "logs-sources.h"
#include "record.h"

#define KMSG_BUFFER	      (2 * KMSG_RECORD_MAX)
#define KMSG_RECORDS_PER_TURN 256   /* a device: the watch fires again for the rest */
#define KMSG_RECORDS_PER_POLL 10000 /* a stand-in, read every KMSG_POLL_MS */
#define KMSG_POLL_MS	      1000

struct logs_kmsg {
	struct logs_data *logs;
	struct logs_source *src;
	int fd;
	char *path;
	bool device;
	char boot_id[37];
	bool have_seq;
	uint64_t seq;	   /* the last record taken (or skipped as taken before) in this boot */
	uint64_t skipped;  /* records skipped at start as taken before faultd restarted */
	int64_t offset_us; /* CLOCK_REALTIME - CLOCK_MONOTONIC, for the records' stamps */
	char *buf;
	size_t have; /* bytes of a stand-in's stream waiting in buf */
	struct lc_watch *watch;
	struct lc_timer *timer;
};

struct logs_kmsg *logs_kmsg_stop(struct logs_kmsg *k)
{
	if (!k)
		return NULL;
	/* The host releases the watch and the timer before shutdown. */
	safe_close(k->fd);
	free(k->path);
	free(k->buf);
	free(k);
	return NULL;
}

static void kmsg_stopp(struct logs_kmsg **k)
{
	logs_kmsg_stop(*k);
}

/* One record: skipped when taken before, a jump in the numbers counted as a gap. */
static void kmsg_record(struct logs_kmsg *k, const char *buf, size_t len)
{
	struct kmsg_record rec;
	struct logs_record r;
	const char *why;

	if (kmsg_parse(buf, len, &rec, &why) < 0) {
		k->src->counts.malformed++;
		if (lc_log_get_max_level() >= LOG_DEBUG)
			lc_plugin_log(logs_plugin(k->logs), LOG_DEBUG,
				      "skipped a record of %s: %s.", k->path, why);
		return;
	}
	if (k->have_seq && rec.seq <= k->seq) {
		k->skipped++;
		return;
	}
	if (k->have_seq && rec.seq > k->seq + 1)
		k->src->counts.gaps += rec.seq - k->seq - 1;
	k->seq = rec.seq;
	k->have_seq = true;
	r = (struct logs_record){
		.ts_us = (uint64_t)MAX((int64_t)rec.mono_us + k->offset_us, (int64_t)1),
		.priority = rec.priority,
		.facility = rec.facility,
		.message = rec.message,
		.transport = "kernel",
	};
	if (rec.facility == 0)
		r.identifier = (struct logs_text){ "kernel", 6 };
	logs_take(k->logs, k->src, &r);
}

/* Stops reading after an error of the source, which says so. */
static void kmsg_fail(struct logs_kmsg *k, int error)
{
	k->src->counts.errors++;
	k->watch = lc_watch_free(k->watch);
	k->timer = lc_timer_free(k->timer);
	logs_source_set(k->src, LOGS_SOURCE_FAILED, "reading %s failed: %s", k->path,
			strerror(-error));
	lc_plugin_log_errno(logs_plugin(k->logs), LOG_ERR, error,
			    "reading %s failed: %m; no more kernel lines until faultd reloads.",
			    k->path);
}

static void kmsg_offset(struct logs_kmsg *k)
{
	k->offset_us = (int64_t)lc_clock_us(CLOCK_REALTIME) - (int64_t)lc_clock_us(CLOCK_MONOTONIC);
}

/* The device: one record per read, until it has no more or the turn's share is read. */
static void kmsg_on_readable(struct lc_plugin *p, int fd, unsigned events, int error,
			     void *userdata)
{
	struct logs_kmsg *k = userdata;

	if (error < 0) {
		kmsg_fail(k, error);
		return;
	}
	kmsg_offset(k);
	for (unsigned i = 0; i < KMSG_RECORDS_PER_TURN; i++) {
		ssize_t n = read(k->fd, k->buf, KMSG_BUFFER);

		if (n < 0 && errno == EINTR)
			continue;
		/* EPIPE: records were overwritten since the last read; the next one's number
		 * tells how many. */
		if (n < 0 && errno == EPIPE)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			kmsg_fail(k, -errno);
			return;
		}
		if (n == 0)
			return;
		kmsg_record(k, k->buf, (size_t)n);
	}
}

/* A stand-in: the stream read so far, cut into records. */
static void kmsg_on_poll(struct lc_plugin *p, void *userdata)
{
	struct logs_kmsg *k = userdata;
	unsigned records = 0;
	bool eof = false;

	kmsg_offset(k);
	while (!eof && records < KMSG_RECORDS_PER_POLL) {
		ssize_t n = read(k->fd, k->buf + k->have, KMSG_BUFFER - k->have);
		size_t off = 0, len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN) {
			kmsg_fail(k, -errno);
			return;
		}
		eof = n <= 0;
		k->have += n > 0 ? (size_t)n : 0;
		while ((len = kmsg_record_length(k->buf + off, k->have - off, eof)) > 0) {
			kmsg_record(k, k->buf + off, len);
			off += len;
			records++;
		}
		memmove(k->buf, k->buf + off, k->have - off);
		k->have -= off;
		if (k->have == KMSG_BUFFER) {
			/* No record is this long: not a kernel log. */
			k->src->counts.malformed++;
			k->have = 0;
		}
	}
}

int logs_kmsg_start(struct logs_data *d, struct logs_source *src, bool required,
		    struct logs_kmsg **ret)
{
	struct lc_plugin *p = logs_plugin(d);
	const struct lc_boot_info *boot = lc_plugin_boot_info(p);
	_cleanup_(kmsg_stopp) struct logs_kmsg *k = NULL;
	json_object *saved = logs_saved_position(d, "kernel"), *v;
	struct stat st;
	int r;

	k = calloc(1, sizeof(*k));
	if (!k)
		return log_oom();
	k->logs = d;
	k->src = src;
	k->path = lc_plugin_sysroot_path(p, "/dev/kmsg");
	k->buf = malloc(KMSG_BUFFER);
	if (!k->path || !k->buf)
		return log_oom();
	snprintf(k->boot_id, sizeof(k->boot_id), "%s", boot ? boot->boot_id : "");

	k->fd = open(k->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (k->fd < 0 && errno == ENOENT && !required) {
		logs_source_set(src, LOGS_SOURCE_UNAVAILABLE, "no %s", k->path);
		return 0;
	}
	if (k->fd < 0 || fstat(k->fd, &st) < 0) {
		r = negative_errno();
		logs_source_set(src, LOGS_SOURCE_FAILED, "%s: %s", k->path, strerror(-r));
		lc_plugin_log_errno(p, required ? LOG_ERR : LOG_WARNING, r, "failed to open %s: %m",
				    k->path);
		return required ? r : 0;
	}
	k->device = S_ISCHR(st.st_mode);

	/* The records of this boot taken before faultd stopped are not taken again. */
	if (saved && json_object_object_get_ex(saved, "boot_id", &v) &&
	    streq(json_object_get_string(v), k->boot_id) &&
	    json_object_object_get_ex(saved, "seq", &v) && json_object_is_type(v, json_type_int)) {
		k->have_seq = true;
		k->seq = json_object_get_uint64(v);
	}
	if (k->device)
		r = lc_plugin_watch_fd(p, k->fd, LC_WATCH_READ, kmsg_on_readable, k, &k->watch);
	else
		r = lc_plugin_timer_add(p, 1, KMSG_POLL_MS, kmsg_on_poll, k, &k->timer);
	if (r < 0) {
		logs_source_set(src, LOGS_SOURCE_FAILED, "%s: %s", k->path, strerror(-r));
		return lc_plugin_log_errno(p, LOG_ERR, r, "failed to watch %s: %m", k->path);
	}
	logs_source_set(src, LOGS_SOURCE_RUNNING, "%s", k->path);
	if (k->have_seq)
		lc_plugin_log(p, LOG_DEBUG, "reading %s after record %" PRIu64 ".", k->path,
			      k->seq);
	*ret = TAKE_PTR(k);
	return 0;
}

json_object *logs_kmsg_position(const struct logs_kmsg *k)
{
	_cleanup_json_ json_object *o = NULL;

	if (!k->have_seq)
		return NULL;
	o = json_object_new_object();
	if (lc_json_add(o, "boot_id", json_object_new_string(k->boot_id)) < 0 ||
	    lc_json_add(o, "seq", json_object_new_uint64(k->seq)) < 0)
		return NULL;
	return TAKE_PTR(o);
}

void logs_kmsg_pending(struct logs_kmsg *k)
{
	if (k && k->watch)
		kmsg_on_readable(logs_plugin(k->logs), k->fd, LC_WATCH_READ, 0, k);
	else if (k && k->timer)
		kmsg_on_poll(logs_plugin(k->logs), k);
}

int logs_kmsg_status_add(const struct logs_kmsg *k, json_object *o)
{
	if ((k->have_seq ? lc_json_add(o, "seq", json_object_new_uint64(k->seq))
			 : lc_json_add_null(o, "seq")) < 0 ||
	    lc_json_add(o, "skipped", json_object_new_uint64(k->skipped)) < 0)
		return -ENOMEM;
	return 0;
}
