/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "build-config.h"
#include "capture.h"
#include "clock.h"
#include "compress.h"
#include "control.h"
#include "coretrim.h"
#include "crashdb.h"
#include "crashlog.h"
#include "fileio.h"
#include "filter.h"
#include "gate.h"
#include "identity.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "mfnote.h"
#include "procinfo.h"
#include "record.h"
#include "sampling.h"
#include "settings.h"
#include "spool.h"
#include "unwind.h"
#include "uuid.h"

#define RATE_FILE	"coredump-rate.json"
#define RATE_NEW_FILE	"coredump-rate-new.json" /* first cores of new signatures */
#define RATE_MAX	10000 /* remembered captures: rate_limit_count's maximum */
#define RATE_FILE_MAX	(RATE_MAX * 24 + 64)
#define MIN_CORE_BUDGET (64 * 1024) /* a spool with less room than this for a core skips it */
#define POKE_TIMEOUT_MS 1000
#define LOGS_TIMEOUT_MS 500   /* faultd's answer with the lines before the crash */
#define CRASHDB_WAIT_MS 10000 /* for another handler's lock on the crash record */
#define UNWIND_SLOTS	2     /* unwinding children at once, across handlers */

bool capture_rate_allows(const uint64_t *times, size_t n, uint64_t now_ms, uint64_t interval_ms,
			 unsigned count)
{
	unsigned recent = 0;

	for (size_t i = 0; i < n; i++)
		if (times[i] <= now_ms && now_ms - times[i] < interval_ms)
			recent++;
	return recent < count;
}

/*
 * The persistent rate limit: <state_dir>/<file> holds the times of the captures of
 * the last interval, updated under an flock so that simultaneous crashes count one by one. A
 * damaged file is started afresh (logged). Returns 1 when this capture may go ahead (and
 * records it), 0 when it is over the limit, or -errno.
 */
static int rate_limit_take(const char *state_dir, const char *file, uint64_t now_ms,
			   uint64_t interval_ms, unsigned count)
{
	_cleanup_free_ char *path = NULL, *lock_path = NULL;
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ uint64_t *times = NULL;
	_cleanup_close_ int lock = -1;
	json_object *o = NULL, *arr = json_object_new_array();
	const char *text_out;
	size_t n = 0, len;
	bool allowed;
	int r;

	if (asprintf(&path, "%s/%s", state_dir, file) < 0)
		path = NULL;
	if (asprintf(&lock_path, "%s/%s.lock", state_dir, file) < 0)
		lock_path = NULL;
	if (!path || !lock_path || !arr) {
		json_object_put(arr);
		return -ENOMEM;
	}
	lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		json_object_put(arr);
		return -errno;
	}
	times = calloc(RATE_MAX + 1, sizeof(*times));
	if (!times) {
		json_object_put(arr);
		return -ENOMEM;
	}
	r = lc_read_file(path, RATE_FILE_MAX, &text, &len);
	if (r >= 0) {
		json_object *t;

		o = json_tokener_parse(text);
		if (!json_object_object_get_ex(o, "captures_ms", &t) ||
		    !json_object_is_type(t, json_type_array))
			log_warning("%s: not a rate-limit record; starting it afresh.", path);
		else
			for (size_t i = 0; i < json_object_array_length(t) && n < RATE_MAX; i++) {
				json_object *v = json_object_array_get_idx(t, i);

				if (json_object_is_type(v, json_type_int) &&
				    json_object_get_int64(v) > 0)
					times[n++] = (uint64_t)json_object_get_int64(v);
			}
		json_object_put(o);
	} else if (r != -ENOENT) {
		log_warning_errno(r, "Failed to read %s (%m); starting it afresh.", path);
	}
	allowed = capture_rate_allows(times, n, now_ms, interval_ms, count);
	if (!allowed) {
		json_object_put(arr);
		return 0;
	}
	times[n++] = now_ms;
	/* Keep only the captures that still count. */
	for (size_t i = 0; i < n; i++)
		if (times[i] <= now_ms && now_ms - times[i] < interval_ms &&
		    json_object_array_add(arr, json_object_new_int64((int64_t)times[i])) < 0) {
			json_object_put(arr);
			return -ENOMEM;
		}
	o = json_object_new_object();
	if (!o || lc_json_add(o, "captures_ms", arr) < 0) {
		json_object_put(o);
		return -ENOMEM;
	}
	text_out = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	r = text_out ? lc_write_file_atomic(path, text_out, len, 0600) : -ENOMEM;
	json_object_put(o);
	return r < 0 ? r : 1;
}

/* The room a core may take: spool.max_bytes less what only older reboot events hold (metric
 * reports, attributes and older cores give way to a new core). UINT64_MAX: no limit. */
static uint64_t core_budget(const struct lc_spool *s, uint64_t max_bytes)
{
	uint64_t fixed = 0;

	if (max_bytes == 0)
		return UINT64_MAX;
	for (size_t i = 0; i < lc_spool_count(s); i++) {
		const struct lc_spool_entry *e = lc_spool_entry_at(s, i);

		if (e->cls > LC_CLASS_COREDUMP)
			fixed += e->bytes;
	}
	return fixed >= max_bytes ? 0 : max_bytes - fixed;
}

static const char *signal_name(int sig, char buf[16])
{
	const char *name = lc_core_signal_name(sig);

	if (name)
		return name;
	snprintf(buf, 16, "signal %d", sig);
	return buf;
}

/* The CT_NOTE_CAPTURE note: what a debugging engineer wants beside the registers. */
static char *capture_json(const struct capture_request *req, const struct proc_info *pi,
			  const struct lc_config *cfg, const struct lc_identity *id,
			  const struct lc_boot_info *boot, const char *uuid)
{
	json_object *o = json_object_new_object();
	char *text = NULL;

	if (!o)
		return NULL;
	if (lc_json_add(o, "producer",
			json_object_new_string("faultd-core-handler " FAULTD_VERSION)) < 0 ||
	    lc_json_add(o, "pid", json_object_new_int64(req->pid)) < 0 ||
	    lc_json_add(o, "tid", json_object_new_int64(req->tid)) < 0 ||
	    lc_json_add(o, "signal", json_object_new_int(req->signal)) < 0 ||
	    lc_json_add(o, "time", json_object_new_int64((int64_t)req->time)) < 0 ||
	    lc_json_add(o, "uid", json_object_new_int64(req->uid)) < 0 ||
	    lc_json_add(o, "gid", json_object_new_int64(req->gid)) < 0 ||
	    lc_json_add(o, "process", json_object_new_string(pi->comm)) < 0 ||
	    (pi->exe && lc_json_add(o, "exe", json_object_new_string(pi->exe)) < 0) ||
	    (pi->cmdline && lc_json_add(o, "cmdline", json_object_new_string(pi->cmdline)) < 0) ||
	    (pi->maps && lc_json_add(o, "maps", json_object_new_string(pi->maps)) < 0) ||
	    lc_json_add(o, "maps_truncated", json_object_new_boolean(pi->maps_truncated)) < 0 ||
	    lc_json_add(o, "strategy",
			json_object_new_string(lc_config_get_string(cfg, "coredump.strategy"))) <
		    0 ||
	    lc_json_add(o, "stack_kib",
			json_object_new_int64(lc_config_get_int(cfg, "coredump.stack_kib"))) < 0 ||
	    lc_json_add(o, "crashing_stack_kib",
			json_object_new_int64(
				lc_config_get_int(cfg, "coredump.crashing_stack_kib"))) < 0 ||
	    (boot && lc_json_add(o, "linux_boot_id", json_object_new_string(boot->boot_id)) < 0) ||
	    (id && lc_json_add(o, "device", lc_identity_to_json(id)) < 0) ||
	    (uuid && lc_json_add(o, "entry", json_object_new_string(uuid)) < 0))
		goto out;
	text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
out:
	json_object_put(o);
	return text;
}

/* The log lines faultd kept before the crash (a borrowed array of *ret_reply), or NULL: faultd
 * does not run, keeps no lines, is too slow or answers what it should not. Never a failure. */
static json_object *crash_logs(const struct lc_config *cfg, const struct capture_request *req,
			       json_object **ret_reply)
{
	_cleanup_json_ json_object *args = json_object_new_object();
	json_object *logs = NULL;
	const char *why = NULL;
	int r;

	*ret_reply = NULL;
	if (lc_config_get_int(cfg, "coredump.log_lines") == 0)
		return NULL;
	if (lc_json_add(args, "crash_mono_ms", json_object_new_int64((int64_t)req->mono_ms)) < 0) {
		log_oom();
		return NULL;
	}
	r = lc_control_request_max(lc_config_get_string(cfg, "control_socket"), "crash-logs", args,
				   LOGS_TIMEOUT_MS, LC_CRASH_LOGS_REPLY_MAX, ret_reply);
	if (r == -EBADMSG)
		why = "not one JSON object, or longer than a reply may be";
	else if (r < 0)
		log_debug_errno(r, "No log lines from faultd (%m): the core goes without them.");
	else if ((r = mf_logs_from_reply(*ret_reply, &logs, &why)) == -ENOENT)
		log_debug("faultd gives no log lines for cores (it is older than the handler).");
	if (r == -EBADMSG)
		log_warning(
			"Refusing faultd's log lines for the core: %s; the core goes without them.",
			why);
	return r < 0 ? NULL : logs;
}

/* The "Memfault" note's description: the device, the process and the lines before the crash. */
static int memfault_note(const struct lc_config *cfg, const struct capture_request *req,
			 const struct proc_info *pi, const struct lc_identity *id, uint8_t **ret,
			 size_t *ret_len)
{
	_cleanup_json_ json_object *reply = NULL;
	json_object *logs = crash_logs(cfg, req, &reply);
	const struct mf_metadata m = {
		.sdk_version = FAULTD_VERSION,
		.captured_time = req->time ? req->time : lc_clock_ms(CLOCK_REALTIME) / 1000,
		.device_serial = id->value[LC_ID_DEVICE_SERIAL],
		.hardware_version = id->value[LC_ID_HARDWARE_VERSION],
		.software_type = id->value[LC_ID_SOFTWARE_TYPE],
		.software_version = id->value[LC_ID_SOFTWARE_VERSION],
		.cmdline = pi->cmdline,
		.full = !streq(lc_config_get_string(cfg, "coredump.strategy"), "stack"),
		.max_thread_kib = (uint64_t)lc_config_get_int(cfg, "coredump.stack_kib"),
	};

	if (logs)
		log_debug("%zu log lines from faultd go into the core.",
			  json_object_array_length(logs));
	return mf_note_build(&m, logs, ret, ret_len);
}

struct trim_setup {
	struct ct_options opts;
	enum cz_kind kind;
	char *capture;
};

static int trim_setup(const struct lc_config *cfg, const struct capture_request *req,
		      struct proc_info *pi, struct trim_setup *ret)
{
	const char *comp = req->compression ? req->compression
					    : lc_config_get_string(cfg, "coredump.compression");
	int r;

	r = cz_kind_from_name(comp, &ret->kind);
	if (r == -EOPNOTSUPP)
		return log_error_errno(r, "compression \"%s\": this build has no libzstd.", comp);
	if (r < 0)
		return log_error_errno(r, "compression \"%s\": expected gzip, zstd or none.", comp);
	ret->opts = (struct ct_options){
		.native_class = sizeof(void *) == 8 ? 64 : 32,
		.stack_bytes = (uint64_t)lc_config_get_int(cfg, "coredump.stack_kib") * 1024,
		.crashing_stack_bytes =
			(uint64_t)lc_config_get_int(cfg, "coredump.crashing_stack_kib") * 1024,
		.max_notes_bytes =
			(uint64_t)lc_config_get_int(cfg, "coredump.max_notes_kib") * 1024,
		.full_max_bytes = (uint64_t)lc_config_get_int(cfg, "coredump.full_max_mib") << 20,
		.crashing_tid = (uint32_t)req->tid,
		.deadline_usec =
			lc_clock_ms(CLOCK_MONOTONIC) * 1000 +
			(uint64_t)lc_config_get_int(cfg, "coredump.time_limit_seconds") * 1000000,
		.mem_read = pi->mem_fd >= 0 ? proc_mem_read : NULL,
		.mem_userdata = pi,
	};
	(void)ct_strategy_from_name(lc_config_get_string(cfg, "coredump.strategy"),
				    &ret->opts.strategy);
	return 0;
}

static void log_trimmed(const struct capture_request *req, const struct proc_info *pi,
			const struct ct_result *res, const struct cz_writer *w, const char *where)
{
	char sig[16];

	char total[48] = "";

	if (res->core_bytes)
		snprintf(total, sizeof(total), " of %" PRIu64, res->core_bytes);
	log_info("Core of %s[%d] (%s): %s strategy, %u threads, %" PRIu64 "%s bytes kept, %" PRIu64
		 " stored as %s%s%s.",
		 pi->comm[0] ? pi->comm : "?", (int)req->pid, signal_name(req->signal, sig),
		 ct_strategy_name(res->strategy), res->threads, res->kept_bytes, total,
		 cz_bytes_out(w), where, res->truncated[0] ? "; truncated: " : "", res->truncated);
}

/* The trim-only mode: the core into a file, nothing else. */
static int trim_to_file(const struct lc_config *cfg, const struct capture_request *req,
			struct proc_info *pi)
{
	struct trim_setup ts = {};
	struct cz_writer *w = NULL;
	_cleanup_free_ char *unverified = NULL;
	struct ct_result res;
	char why[256];
	_cleanup_close_ int fd = -1;
	int r;

	r = trim_setup(cfg, req, pi, &ts);
	if (r < 0)
		return r;
	ts.capture = capture_json(req, pi, cfg, NULL, NULL, NULL);
	/* A saved core's pid may belong to another process by now: the core's notes decide whether
	 * /proc/<pid> is its process; if not, neither its memory nor what it says goes in. */
	unverified = capture_json(req, &(struct proc_info){ .mem_fd = -1 }, cfg, NULL, NULL, NULL);
	if (!ts.capture || !unverified) {
		free(ts.capture);
		return log_oom();
	}
	ts.opts.capture_json = ts.capture;
	ts.opts.expected_pid = (uint32_t)req->pid;
	ts.opts.unverified_capture_json = unverified;
	fd = open(req->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(ts.capture);
		return log_error_errno(errno, "Failed to create %s: %m", req->output);
	}
	r = cz_writer_new(fd, ts.kind, 0, &w);
	if (r >= 0)
		r = ct_trim(req->core_fd, &ts.opts, w, &res, why, sizeof(why));
	if (r == -EINVAL || r == -E2BIG)
		log_error("Refusing the core of pid %d: %s", (int)req->pid, why);
	else if (r < 0)
		log_error_errno(r, "Failed to trim the core of pid %d: %m", (int)req->pid);
	if (r >= 0 && res.pid_mismatch)
		log_warning("The core's notes name pid %" PRIu32 ", not %d: /proc/%d is another "
			    "process now, so neither its memory nor its name, program, command "
			    "line or maps were used; the memory came from the core alone.",
			    res.core_pid, (int)req->pid, (int)req->pid);
	if (r >= 0)
		r = cz_finish(w);
	if (r >= 0)
		log_trimmed(req, res.pid_mismatch ? &(struct proc_info){ .mem_fd = -1 } : pi, &res,
			    w, req->output);
	cz_writer_free(w);
	free(ts.capture);
	if (r < 0)
		(void)unlink(req->output);
	return r;
}

/* Closes the kernel's pipe once the core has been read: with core_pipe_limit set, the kernel
 * (and the crashed process's parent) wait for that, not for the commit's fsyncs. */
static void release_core(int fd)
{
	int n = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (n >= 0 && n != fd) {
		(void)dup2(n, fd);
		close(n);
	}
}

struct core_output {
	struct lc_spool_txn *txn;
	const char *file;
};

/* Writes the core's bytes to its spool file. On a full filesystem the spool evicts an entry worth
 * no more than a core and what is left is written again: each retry costs an entry, so it ends. */
static int core_output(int fd, const void *buf, size_t len, void *userdata)
{
	const struct core_output *o = userdata;
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		int r;

		if (n >= 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		r = lc_spool_txn_write_failed(o->txn, o->file, -errno, len);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A file in memory for the trimmed core: a memfd, or an unnamed file in the state directory
 * where the kernel has no memfd_create(). Returns the descriptor or -errno. */
static int memory_file(const char *state_dir)
{
	int fd = memfd_create("faultd-core", MFD_CLOEXEC);

	if (fd >= 0 || errno != ENOSYS)
		return fd >= 0 ? fd : -errno;
	fd = open(state_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	return fd >= 0 ? fd : -errno;
}

/* What the capture knows once the core is trimmed. */
struct trimmed {
	int fd;	       /* the trimmed core, uncompressed, or -1 */
	uint64_t size; /* its bytes */
	struct ct_result res;
	char uuid[37]; /* the elf-coredump entry it becomes, named in its notes */
};

/*
 * Trims the core from the kernel's pipe into a file in memory (the decisions about storing it
 * need its stack trace first), with the capture note and the "Memfault" note. Returns 0, or
 * -errno with *ret_core saying what became of it (logged).
 */
static int trim_core(const struct lc_config *cfg, const struct capture_request *req,
		     struct proc_info *pi, const struct lc_identity *id,
		     const struct lc_boot_info *boot, struct trimmed *t, const char **ret_core)
{
	struct trim_setup ts = {};
	struct ct_note note = { .name = MF_NOTE_NAME, .type = MF_NOTE_METADATA };
	_cleanup_free_ uint8_t *note_desc = NULL;
	struct cz_writer *w = NULL;
	uint64_t cap;
	char why[256];
	int r;

	*ret_core = LC_CRASH_CORE_FAILED;
	r = trim_setup(cfg, req, pi, &ts);
	if (r < 0)
		return r;
	r = lc_uuid_random(t->uuid);
	if (r < 0)
		return log_error_errno(r, "Failed to make the core's entry UUID: %m");
	ts.capture = capture_json(req, pi, cfg, id, boot, t->uuid);
	if (!ts.capture || memfault_note(cfg, req, pi, id, &note_desc, &note.len) < 0) {
		r = log_oom();
		goto out;
	}
	ts.opts.capture_json = ts.capture;
	note.desc = note_desc;
	ts.opts.extra_note = &note;
	t->fd = memory_file(lc_config_get_string(cfg, "state_dir"));
	if (t->fd < 0) {
		r = log_error_errno(t->fd, "Failed to make a file in memory for the core: %m");
		goto out;
	}
	/* What a trimmed core can hold: the full strategy's cut and every note. */
	cap = ts.opts.full_max_bytes + ts.opts.max_notes_bytes + (1 << 20);
	r = cz_writer_new(t->fd, CZ_NONE, cap, &w);
	if (r >= 0) {
		r = ct_trim(req->core_fd, &ts.opts, w, &t->res, why, sizeof(why));
		release_core(req->core_fd);
	}
	if (r >= 0)
		r = cz_finish(w);
	if (r == -EINVAL || r == -E2BIG)
		log_error("Refusing the core of %s[%d]: %s", pi->comm, (int)req->pid, why);
	else if (r == -EFBIG) {
		*ret_core = LC_CRASH_CORE_NO_SPACE;
		log_error("The trimmed core of %s[%d] would exceed %" PRIu64 " bytes; dropped.",
			  pi->comm, (int)req->pid, cap);
	} else if (r == -ENOSPC || r == -ENOMEM) {
		*ret_core = LC_CRASH_CORE_NO_SPACE;
		log_error_errno(r, "No room in memory for the trimmed core of %s[%d]: %m", pi->comm,
				(int)req->pid);
	} else if (r < 0)
		log_error_errno(r, "Failed to trim the core of %s[%d]: %m", pi->comm,
				(int)req->pid);
	else
		t->size = cz_bytes_out(w);
out:
	cz_writer_free(w);
	free(ts.capture);
	return r;
}

/* Copies the trimmed core into the spool's file, compressed. Returns 0 or -errno. */
static int compress_core(const struct trimmed *t, struct cz_writer *w)
{
	_cleanup_free_ uint8_t *buf = malloc(64 * 1024);
	uint64_t off = 0;

	if (!buf)
		return -ENOMEM;
	while (off < t->size) {
		ssize_t n = pread(t->fd, buf, (size_t)MIN((uint64_t)64 * 1024, t->size - off),
				  (off_t)off);
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		r = cz_write(w, buf, (size_t)n);
		if (r < 0)
			return r;
		off += (uint64_t)n;
	}
	return cz_finish(w);
}

/* Stores the trimmed core as an elf-coredump entry. Returns 0, or -errno with *ret_core saying
 * what became of it. */
static int store_core(const struct lc_config *cfg, const struct capture_request *req,
		      const struct proc_info *pi, struct lc_spool *spool, uint64_t budget,
		      const struct lc_record_context *ctx, const struct trimmed *t,
		      const char **ret_core)
{
	struct lc_spool_txn *txn = NULL;
	struct core_output out = {};
	struct cz_writer *w = NULL;
	struct lc_clock_sample clk;
	json_object *meta = NULL, *manifest = NULL;
	enum cz_kind kind;
	const char *text, *comp = req->compression
					  ? req->compression
					  : lc_config_get_string(cfg, "coredump.compression");
	char file[64];
	size_t len;
	int fd, r;

	*ret_core = LC_CRASH_CORE_FAILED;
	r = cz_kind_from_name(comp, &kind);
	if (r < 0)
		return log_error_errno(r, "compression \"%s\": not available.", comp);
	r = lc_spool_txn_begin_uuid(spool, "elf-coredump", t->uuid, &txn);
	if (r < 0) {
		log_error_errno(r, "Failed to start a spool entry: %m");
		goto out;
	}
	snprintf(file, sizeof(file), "core-%s.elf%s", t->uuid, cz_kind_suffix(kind));
	meta = json_object_new_object();
	if (!meta || lc_json_add(meta, "coredump_file_name", json_object_new_string(file)) < 0 ||
	    (cz_kind_name(kind) &&
	     lc_json_add(meta, "compression", json_object_new_string(cz_kind_name(kind))) < 0)) {
		json_object_put(meta);
		r = log_oom();
		goto out;
	}
	lc_clock_sample_now(&clk);
	manifest = lc_manifest_new(ctx, &clk, "elf-coredump", meta);
	text = manifest ? json_object_to_json_string_length(manifest, JSON_C_TO_STRING_PLAIN, &len)
			: NULL;
	if (!text) {
		r = log_oom();
		goto out;
	}
	r = lc_spool_txn_write(txn, "manifest.json", text, len);
	if (r >= 0)
		r = lc_spool_txn_open(txn, file, &fd);
	if (r < 0) {
		if (r == -ENOSPC || r == -EDQUOT)
			*ret_core = LC_CRASH_CORE_NO_SPACE;
		log_error_errno(r, "Failed to write the core's entry: %m");
		goto out;
	}
	r = cz_writer_new(
		fd, kind,
		MIN(budget, (uint64_t)lc_config_get_int(cfg, "coredump.max_stored_kib") * 1024),
		&w);
	if (r >= 0) {
		out = (struct core_output){ .txn = txn, .file = file };
		cz_writer_set_output(w, core_output, &out);
		r = compress_core(t, w);
	}
	if (r == -ENOSPC || r == -EDQUOT) {
		*ret_core = LC_CRASH_CORE_NO_SPACE;
		log_error(
			"The filesystem is full, even without the entries a core may displace: the "
			"core of %s[%d] is dropped after %" PRIu64 " bytes, and counted.",
			pi->comm, (int)req->pid, cz_bytes_out(w));
		goto out;
	}
	if (r == -EFBIG) {
		*ret_core = LC_CRASH_CORE_NO_SPACE;
		log_error("The core of %s[%d] would exceed %" PRIu64
			  " bytes (max_stored_kib, or the spool's room for it); dropped.",
			  pi->comm, (int)req->pid, cz_bytes_out(w));
		goto out;
	}
	if (r < 0) {
		log_error_errno(r, "Failed to capture the core of %s[%d]: %m", pi->comm,
				(int)req->pid);
		goto out;
	}
	r = lc_spool_txn_commit(TAKE_PTR(txn), lc_clock_ms(CLOCK_REALTIME));
	if (r == -ENOSPC) {
		*ret_core = LC_CRASH_CORE_NO_SPACE;
		log_error("The spool has no room for the core of %s[%d] (%" PRIu64
			  " bytes); dropped and counted.",
			  pi->comm, (int)req->pid, cz_bytes_out(w));
		goto out;
	}
	if (r < 0) {
		log_error_errno(r, "Failed to commit the core's entry: %m");
		goto out;
	}
	*ret_core = LC_CRASH_CORE_STORED;
	log_trimmed(req, pi, &t->res, w, file);
out:
	lc_spool_txn_abort(txn);
	cz_writer_free(w);
	json_object_put(manifest);
	return r;
}

/* The on-device stack trace of a capture: what the crash report carries of it. */
struct trace {
	struct unwind_result *result; /* NULL: none */
	char signature[17];
	char uuid[37]; /* its linux-stacktrace entry, once stored */
};

/* The crashing thread's id as the core names it: the kernel gives the handler its id in the
 * initial pid namespace (%I), the core the one in the process's own namespace (a container's).
 * The last NSpid of /proc/<pid>/task/<tid>/status; the given id when that cannot be read. */
static pid_t namespace_tid(const char *sysroot, const struct capture_request *req)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	const char *line;
	size_t len;
	long v = 0;

	if (asprintf(&path, "%s/proc/%d/task/%d/status", streq(sysroot, "/") ? "" : sysroot,
		     (int)req->pid, (int)req->tid) < 0) {
		path = NULL;
		return req->tid;
	}
	if (lc_read_file(path, 64 * 1024, &text, &len) < 0 || !(line = strstr(text, "\nNSpid:")))
		return req->tid;
	for (line += strlen("\nNSpid:"); *line && *line != '\n';) {
		char *end;
		long x = strtol(line, &end, 10);

		if (end == line)
			break;
		v = x;
		line = end;
	}
	return v > 0 && v <= INT32_MAX ? (pid_t)v : req->tid;
}

/*
 * One of UNWIND_SLOTS places for an unwinding child (<state_dir>/unwind-slot-N.lock, flocked):
 * simultaneous crashes (a service restarted at once, crashing again) do not run a child each.
 * Waits up to wait_ms for a free one. Returns the lock's descriptor, or -errno (-EBUSY: none
 * came free).
 */
static int unwind_slot(const char *state_dir, unsigned wait_ms)
{
	for (unsigned waited = 0;; waited += 50) {
		for (int i = 0; i < UNWIND_SLOTS; i++) {
			_cleanup_free_ char *path = NULL;
			int fd;

			if (asprintf(&path, "%s/unwind-slot-%d.lock", state_dir, i) < 0)
				return -ENOMEM;
			fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
			if (fd < 0)
				return -errno;
			if (flock(fd, LOCK_EX | LOCK_NB) == 0)
				return fd;
			close(fd);
		}
		if (waited >= wait_ms)
			return -EBUSY;
		(void)usleep(50 * 1000);
	}
}

/* Unwinds the trimmed core in a sandboxed child (unwind.c). No trace is not a failure. */
static void trace_unwind(const struct lc_config *cfg, const struct capture_request *req,
			 const struct proc_info *pi, const struct trimmed *t, struct trace *tr)
{
	_cleanup_close_ int ro = -1, slot = -1;
	char sig[16], path[64];
	struct unwind_request ur = {
		.sysroot = lc_config_get_string(cfg, "sysroot"),
		.crashing_tid = req->tid,
		.signal = req->signal,
		.cmdline = pi->cmdline ? pi->cmdline : pi->comm,
		.time_limit_ms =
			(unsigned)lc_config_get_int(cfg, "coredump.stacktrace_time_limit_ms"),
	};
	int r;

	if (!lc_config_get_bool(cfg, "coredump.stacktrace") || t->fd < 0)
		return;
	/* The child reads the core through a descriptor of its own that cannot write, map for
	 * writing, cut or punch it: what it does cannot change the core that is stored. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", t->fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	if (ro < 0) {
		log_warning_errno(errno,
				  "No stack trace of %s[%d]: cannot reopen the core "
				  "read-only: %m",
				  pi->comm, (int)req->pid);
		return;
	}
	ur.crashing_tid = namespace_tid(lc_config_get_string(cfg, "sysroot"), req);
	slot = unwind_slot(lc_config_get_string(cfg, "state_dir"), ur.time_limit_ms);
	if (slot == -EBUSY) {
		log_warning("No stack trace of %s[%d]: other crashes are being unwound.", pi->comm,
			    (int)req->pid);
		return;
	}
	if (slot < 0) {
		log_warning_errno(slot, "No stack trace of %s[%d]: no place for the unwinder: %m",
				  pi->comm, (int)req->pid);
		return;
	}
	r = unwind_core(ro, &ur, &tr->result);
	slot = safe_close(slot);
	if (r == -EOPNOTSUPP) {
		log_debug("This build has no unwinder (libdw): no stack trace.");
		return;
	}
	if (r < 0) {
		log_warning_errno(r, "No stack trace of %s[%d] (%s): %m", pi->comm, (int)req->pid,
				  signal_name(req->signal, sig));
		return;
	}
	if (unwind_signature(tr->result, tr->signature) < 0)
		tr->signature[0] = 0;
}

/* Stores the trace as a linux-stacktrace entry (uncompressed JSON: a few KB, and a batch may
 * be compressed as a whole). */
static int trace_store(struct lc_spool *spool, const struct lc_record_context *ctx,
		       struct trace *tr)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	struct lc_clock_sample clk;
	json_object *meta;
	char name[64], uuid[37];
	size_t len;
	int r;

	text = unwind_result_json(tr->result);
	if (!text)
		return log_oom();
	len = strlen(text);
	r = lc_uuid_random(uuid);
	if (r < 0)
		return r;
	fd = memfd_create("faultd-trace", MFD_CLOEXEC);
	if (fd < 0)
		return log_error_errno(errno, "Failed to make a file in memory for the trace: %m");
	r = lc_write_all(fd, text, len);
	if (r < 0)
		return log_error_errno(r, "Failed to write the trace: %m");
	snprintf(name, sizeof(name), "stacktrace-%s.json", uuid);
	meta = json_object_new_object();
	if (lc_json_add(meta, "stacktrace_file_name", json_object_new_string(name)) < 0 ||
	    lc_json_add_null(meta, "compression") < 0) {
		json_object_put(meta);
		return log_oom();
	}
	lc_clock_sample_now(&clk);
	r = lc_record_commit_file(spool, ctx, &clk, "linux-stacktrace", meta, uuid, name, fd, len);
	if (r < 0)
		return log_error_errno(r, "Failed to store the stack trace: %m");
	memcpy(tr->uuid, uuid, sizeof(uuid)); /* named in the report only once stored */
	log_info("Stack trace of the crash stored as entry %s (%zu bytes, signature %s).", tr->uuid,
		 len, tr->signature[0] ? tr->signature : "none");
	return 0;
}

/* Leaves the crash for faultd and tells it so (best effort: faultd also drains at start). The
 * drops the spool could not write to drops.json go with the report. When the report cannot be
 * written either (the filesystem is full), it goes to faultd in the request itself. */
static void report_crash(const struct lc_config *cfg, const struct capture_request *req,
			 const struct proc_info *pi, const char *boot_id, struct lc_spool *spool,
			 const char *core, const char *uuid, struct lc_crash_report *rep_in)
{
	struct lc_crash_report rep = *rep_in;
	json_object *reply = NULL, *args = NULL;
	int r, k;

	rep.pid = (uint32_t)req->pid;
	rep.signal = req->signal;
	rep.time_ms = req->time ? req->time * 1000 : lc_clock_ms(CLOCK_REALTIME);

	snprintf(rep.process, sizeof(rep.process), "%s", pi->comm[0] ? pi->comm : "?");
	snprintf(rep.core, sizeof(rep.core), "%s", core);
	/* When it happened, for faultd to charge it to the right hour and version. */
	snprintf(rep.boot_id, sizeof(rep.boot_id), "%s", boot_id ? boot_id : "");
	rep.mono_ms = req->mono_ms;
	snprintf(rep.software_version, sizeof(rep.software_version), "%s",
		 lc_config_get_string(cfg, "device.software_version"));
	snprintf(rep.entry, sizeof(rep.entry), "%s", uuid);
	if (spool)
		lc_spool_take_unsaved_drops(spool, rep.drops);
	r = lc_crash_log_append(lc_config_get_string(cfg, "state_dir"), &rep);
	if (r < 0) {
		args = json_object_new_object();
		if (!args || lc_json_add(args, "report", lc_crash_report_to_json(&rep)) < 0) {
			json_object_put(args);
			log_oom();
			return;
		}
		log_warning_errno(r,
				  "Failed to record the crash of %s[%d] in the state directory "
				  "(%m); telling faultd directly.",
				  rep.process, (int)req->pid);
	}
	k = lc_control_request(lc_config_get_string(cfg, "control_socket"), "crash-reported", args,
			       POKE_TIMEOUT_MS, &reply);
	if (k < 0 && r < 0)
		log_error_errno(k,
				"faultd could not be told either (%m): the crash of %s[%d] is "
				"not counted.",
				rep.process, (int)req->pid);
	else if (k < 0)
		log_debug_errno(k, "faultd did not take the news (%m); it will find it at start.");
	json_object_put(reply);
	json_object_put(args);
}

/* coredump.filters: the first rule matching the crash (*ret_matched) decides with its own
 * allowance, instead of the rate limit. Returns LC_CRASH_CORE_FILTERED or NULL. */
static const char *filter_decision(const struct lc_config *cfg, const struct proc_info *pi,
				   const struct capture_request *req, uint64_t now,
				   bool *ret_matched)
{
	const char *const *rules = lc_config_get_strv(cfg, "coredump.filters");
	struct coredump_filters *f = NULL;
	_cleanup_free_ char *error = NULL;
	const char *ret = NULL;
	bool allowed = true;
	int rule, r;

	*ret_matched = false;
	if (!rules || !rules[0])
		return NULL;
	r = coredump_filters_parse(rules, &f, &error);
	if (r < 0) {
		/* The configuration's check refuses bad rules: this is out of memory. */
		log_warning("coredump.filters not applied: %s", error ? error : "out of memory");
		return NULL;
	}
	rule = coredump_filters_match(f, pi->exe, pi->comm, req->signal);
	*ret_matched = rule >= 0;
	if (rule >= 0) {
		r = coredump_filter_take(lc_config_get_string(cfg, "state_dir"), f, rule, now,
					 &allowed);
		if (r < 0)
			log_warning_errno(r,
					  "Failed to apply coredump.filters item %d (%m); "
					  "capturing anyway.",
					  rule + 1);
		else if (!allowed) {
			log_info("Core of %s not stored: coredump.filters item %d \"%s\".",
				 pi->comm, rule + 1, coredump_filter_text(f, rule));
			ret = LC_CRASH_CORE_FILTERED;
		}
	}
	coredump_filters_free(f);
	return ret;
}

/* The decisions a crash's core goes through once its trace is known, in order: a crash loop (loop,
 * crash_loop_check()'s verdict), the fleet's sampling, its signature's cores, then a matching
 * coredump.filters rule or else the rate limit. Returns the
 * LC_CRASH_CORE_* word when the core is not to be stored, or NULL. */
static const char *core_decision(const struct lc_config *cfg, const struct capture_request *req,
				 const struct proc_info *pi, struct crashdb *db, int loop, int gate,
				 const char *gate_why, const struct trace *tr)
{
	const char *state_dir = lc_config_get_string(cfg, "state_dir");
	const char *version = lc_config_get_string(cfg, "device.software_version");
	uint64_t now = lc_clock_ms(CLOCK_REALTIME);
	unsigned per_sig = (unsigned)lc_config_get_int(cfg, "coredump.cores_per_signature");
	uint32_t cores = 0;
	const char *filtered;
	bool matched;
	char sig[16];
	int r;

	if (db && tr->signature[0])
		(void)crashdb_signature(db, tr->signature, version, now, &cores);
	if (loop == 1)
		return LC_CRASH_CORE_LOOP;
	if (gate < 0) {
		log_info("Core not stored: %s.", gate_why);
		return LC_CRASH_CORE_SAMPLING;
	}
	if (tr->signature[0] && per_sig > 0 && cores >= per_sig) {
		log_info("Core not stored: signature %s has its %u core%s for %s; the crash is "
			 "counted.",
			 tr->signature, per_sig, per_sig == 1 ? "" : "s", version);
		return LC_CRASH_CORE_DUPLICATE;
	}
	/* A coredump.filters rule that matches decides with its own allowance instead of the rate
	 * limit. */
	filtered = filter_decision(cfg, pi, req, now, &matched);
	if (matched || lc_config_get_bool(cfg, "enable_dev_mode"))
		return filtered;
	/* A signature's first core does not wait behind a noisy older one: it has a limit of its
	 * own, as many per interval. */
	r = rate_limit_take(
		state_dir, tr->signature[0] && cores == 0 ? RATE_NEW_FILE : RATE_FILE, now,
		(uint64_t)lc_config_get_int(cfg, "coredump.rate_limit_interval_seconds") * 1000,
		(unsigned)lc_config_get_int(cfg, "coredump.rate_limit_count"));
	if (r < 0) {
		log_warning_errno(r, "Failed to apply the rate limit (%m); capturing anyway.");
		return NULL;
	}
	if (r == 0) {
		log_notice("Core of %s (%s) not stored: over coredump.rate_limit_count (%" PRIi64
			   " per %" PRIi64 " s).",
			   pi->comm, signal_name(req->signal, sig),
			   lc_config_get_int(cfg, "coredump.rate_limit_count"),
			   lc_config_get_int(cfg, "coredump.rate_limit_interval_seconds"));
		return LC_CRASH_CORE_RATE_LIMITED;
	}
	return NULL;
}

/* The crash-loop verdict of crashdb_crash() for this crash (0 when the record cannot be had),
 * decided before anything is trimmed: a crash inside a loop costs no more than its count. */
static int crash_loop_check(const struct lc_config *cfg, const struct capture_request *req,
			    const struct proc_info *pi, struct lc_crash_report *rep)
{
	struct crashdb *db = NULL;
	uint32_t crashes = 0;
	int loop, r;

	r = crashdb_open(lc_config_get_string(cfg, "state_dir"), CRASHDB_WAIT_MS, &db);
	if (r < 0) {
		log_warning_errno(r, "Failed to open the crash record (%m): no crash-loop check "
				     "for this crash.");
		return 0;
	}
	loop = crashdb_crash(db, pi->exe ? pi->exe : pi->comm, lc_clock_ms(CLOCK_REALTIME),
			     (uint64_t)lc_config_get_int(cfg, "coredump.loop_minutes") * 60000,
			     (unsigned)lc_config_get_int(cfg, "coredump.loop_count"), &crashes);
	r = crashdb_close(db);
	if (r < 0)
		log_warning_errno(r, "Failed to save the crash record: %m");
	if (loop == 1) {
		rep->loop_crashes = crashes;
		log_warning("%s[%d] crashed %" PRIu32 " times within %" PRIi64
			    " minutes: a crash loop. Its crashes are counted, without cores, "
			    "until it runs for that long without one.",
			    pi->comm, (int)req->pid, crashes,
			    lc_config_get_int(cfg, "coredump.loop_minutes"));
	} else if (loop == 2)
		log_info("Core not stored: %s is in a crash loop (%" PRIu32 " crashes within the "
			 "window); not trimmed or unwound.",
			 pi->comm, crashes);
	return loop;
}

/* The report's copy of the trace: its entry, signature and top frames. */
static void report_trace(const struct trace *tr, struct lc_crash_report *rep)
{
	char **frames = NULL;
	int n;

	snprintf(rep->trace_entry, sizeof(rep->trace_entry), "%s", tr->uuid);
	snprintf(rep->signature, sizeof(rep->signature), "%s", tr->signature);
	if (!tr->result)
		return;
	n = unwind_top_frames(tr->result, LC_CRASH_FRAMES, &frames);
	for (int i = 0; i < n && i < LC_CRASH_FRAMES; i++)
		snprintf(rep->frames[i], sizeof(rep->frames[i]), "%s", frames[i]);
	strv_free(frames);
}

/* This process's peak RSS since exec (VmHWM): getrusage()'s ru_maxrss keeps the peak of the
 * process that forked it before the exec (a benchmark's Python), so it says nothing of ours. */
static long peak_rss_kib(void)
{
	_cleanup_free_ char *text = NULL;
	const char *line;
	size_t len;

	if (lc_read_file("/proc/self/status", 64 * 1024, &text, &len) < 0 ||
	    !(line = strstr(text, "\nVmHWM:")))
		return -1;
	return strtol(line + strlen("\nVmHWM:"), NULL, 10);
}

int capture_run(const struct lc_config *cfg, const struct capture_request *req)
{
	const char *state_dir = lc_config_get_string(cfg, "state_dir");
	const char *sysroot = lc_config_get_string(cfg, "sysroot");
	bool dev_mode = lc_config_get_bool(cfg, "enable_dev_mode");
	_cleanup_free_ char *spool_dir = NULL, *sampling_path = NULL;
	struct lc_spool *spool = NULL;
	struct crashdb *db = NULL;
	struct proc_info pi;
	struct lc_boot_info boot;
	struct lc_identity id = {};
	struct lc_record_context ctx = { .identity = &id,
					 .project_key = lc_config_get_string(cfg, "project_key"),
					 .boot = &boot };
	struct utsname un;
	bool boot_known = false;
	struct lc_sampling sampling;
	struct lc_spool_limits limits;
	struct trimmed t = { .fd = -1 };
	struct trace tr = {};
	struct lc_crash_report rep = {};
	const char *core = LC_CRASH_CORE_FAILED, *why = NULL, *decided;
	char sig[16], gate_why[128] = "";
	uint64_t budget;
	int r, gate, loop, stored = 0;

	/* The process exists until its core is drained: read it first. */
	r = proc_info_read(sysroot, req->pid, &pi);
	if (r < 0)
		return log_oom();
	if (req->output) {
		r = trim_to_file(cfg, req, &pi);
		proc_info_done(&pi);
		return r;
	}

	log_notice("Process %s[%d] crashed with %s.", pi.comm[0] ? pi.comm : "?", (int)req->pid,
		   signal_name(req->signal, sig));
	/* faultd's record gate: consent, then the fleet's sampling (faultd's cache) for cores. */
	sampling_path = lc_path_prefix(state_dir, "/device-config.json");
	spool_dir = lc_path_prefix(state_dir, "/spool");
	if (!sampling_path || !spool_dir) {
		proc_info_done(&pi);
		return log_oom();
	}
	lc_sampling_load(sampling_path, &sampling);
	gate = lc_gate_check(lc_config_get_bool(cfg, "enable_data_collection"), dev_mode, &sampling,
			     LC_CLASS_COREDUMP, &why);
	if (gate == -EPERM) {
		log_info("Data collection is off: nothing recorded.");
		proc_info_done(&pi);
		return 0;
	}
	if (gate < 0)
		snprintf(gate_why, sizeof(gate_why), "%s (debugging resolution %s)", why,
			 lc_resolution_name(sampling.debugging));
	if (!lc_config_get_bool(cfg, "coredump.enabled")) {
		core = LC_CRASH_CORE_DISABLED;
		log_info("coredump.enabled is false: the core is not stored.");
		goto report;
	}
	r = lc_mkdir_p(state_dir, 0700);
	if (r < 0) {
		log_error_errno(r, "Failed to create the state directory %s: %m", state_dir);
		goto report;
	}
	r = lc_boot_info_peek(sysroot, state_dir, &boot);
	if (r < 0)
		goto report;
	boot_known = true;
	r = lc_settings_identity(cfg, &id);
	if (r < 0)
		goto report;
	ctx.os_version = uname(&un) == 0 ? un.release : "unknown";
	loop = crash_loop_check(cfg, req, &pi, &rep);
	if (loop == 2) {
		core = LC_CRASH_CORE_LOOP;
		release_core(req->core_fd);
		goto report;
	}
	/* Trimmed first, whatever becomes of the core: its stack trace decides, and is kept. */
	r = trim_core(cfg, req, &pi, &id, &boot, &t, &core);
	if (r < 0)
		goto report;
	trace_unwind(cfg, req, &pi, &t, &tr);

	/* The decisions, under the crash record's lock so that simultaneous crashes count one by
	 * one; held until the core is stored, so that a signature's cores are never one too
	 * many. */
	r = crashdb_open(state_dir, CRASHDB_WAIT_MS, &db);
	if (r < 0)
		log_warning_errno(r, "Failed to open the crash record (%m): no signature limit for "
				     "this crash, and its core, if stored, is not counted there.");
	decided = core_decision(cfg, req, &pi, db, loop, gate, gate_why, &tr);
	lc_settings_spool_limits(cfg, &limits);
	r = lc_spool_open(spool_dir, &limits, &spool);
	if (r < 0) {
		log_error_errno(r, "Failed to open the spool %s: %m", spool_dir);
		goto report;
	}
	if (decided)
		core = decided;
	else if ((budget = core_budget(spool, limits.max_bytes)) < MIN_CORE_BUDGET) {
		core = LC_CRASH_CORE_NO_SPACE;
		log_error("The spool's reboot events leave %" PRIu64
			  " bytes of spool.max_bytes for a core; not storing it.",
			  budget);
	} else {
		stored = store_core(cfg, req, &pi, spool, budget, &ctx, &t, &core);
		if (stored >= 0 && db && tr.signature[0])
			crashdb_core_stored(db, tr.signature,
					    lc_config_get_string(cfg, "device.software_version"));
	}
	r = crashdb_close(TAKE_PTR(db));
	if (r < 0)
		log_warning_errno(r, "Failed to save the crash record: %m");
	r = stored;
	/* The trace goes out whatever became of the core, except for the crashes inside a crash
	 * loop: the loop's first report stands for them. */
	if (tr.result)
		(void)trace_store(spool, &ctx, &tr);
report:
	if (!boot_known && lc_boot_info_peek(sysroot, state_dir, &boot) >= 0)
		boot_known = true;
	report_trace(&tr, &rep);
	report_crash(cfg, req, &pi, boot_known ? boot.boot_id : NULL, spool, core,
		     streq(core, LC_CRASH_CORE_STORED) ? t.uuid : "", &rep);
	(void)crashdb_close(db);
	log_debug("Capture done: the handler's peak RSS %ld KiB, the trimmed core %" PRIu64
		  " bytes in memory, the unwinding child's peak RSS %ld KiB.",
		  peak_rss_kib(), t.size, tr.result ? tr.result->child_maxrss_kib : 0L);
	unwind_result_free(tr.result);
	safe_close(t.fd);
	lc_spool_free(spool);
	lc_identity_done(&id);
	proc_info_done(&pi);
	return r < 0 ? r : 0;
}
