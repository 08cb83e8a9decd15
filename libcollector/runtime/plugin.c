/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "plugin-host.h"

/* Timers and watches are linked into their plugin so that stopping the plugin releases them.
 * Their memory is freed only in libuv's close callback; after lc_*_free() they are unlinked and
 * no longer reference the plugin. */
struct lc_timer {
	uv_timer_t handle;
	struct lc_plugin *plugin;
	lc_timer_cb_t cb;
	void *userdata;
	struct lc_timer *next, *prev;
};

struct lc_watch {
	uv_poll_t handle;
	struct lc_plugin *plugin;
	int fd;
	lc_watch_cb_t cb;
	void *userdata;
	struct lc_watch *next, *prev;
};

struct lc_plugin {
	const struct lc_plugin_ops *ops;
	struct lc_plugin_host *host;
	enum lc_plugin_state state;
	bool ran;      /* running until the last stop: a start now is a reload's */
	bool starting; /* in init */
	char *reason;  /* the first error init logged, while it runs */
	char *error;
	char *message; /* lc_plugin_set_message(); cleared when the plugin stops or fails */
	void *data;
	struct lc_timer *timers;
	struct lc_watch *watches;
};

struct lc_plugin_host {
	uv_loop_t *loop;
	const struct lc_config *cfg;
	const struct lc_plugin_services *services;
	struct lc_plugin *plugins;
	size_t n;
};

const char *lc_plugin_name(const struct lc_plugin *p)
{
	return p->ops->name;
}

void *lc_plugin_get_data(const struct lc_plugin *p)
{
	return p->data;
}

void lc_plugin_set_data(struct lc_plugin *p, void *data)
{
	p->data = data;
}

const struct lc_config *lc_plugin_config(const struct lc_plugin *p)
{
	return p->host->cfg;
}

void lc_plugin_host_set_services(struct lc_plugin_host *h, const struct lc_plugin_services *s)
{
	h->services = s;
}

int lc_plugin_record(struct lc_plugin *p, const char *type, json_object *metadata, char *ret_uuid,
		     const char **ret_why)
{
	const struct lc_plugin_services *s = p->host->services;

	if (!s || !s->record) {
		json_object_put(metadata);
		*ret_why = "no core to record entries";
		return -ENOTSUP;
	}
	return s->record(s->userdata, type, metadata, ret_uuid, ret_why);
}

int lc_plugin_record_file(struct lc_plugin *p, const char *type, json_object *metadata,
			  const char *uuid, const char *name, int fd, uint64_t len,
			  const char **ret_why)
{
	const struct lc_plugin_services *s = p->host->services;

	if (!s || !s->record_file) {
		json_object_put(metadata);
		*ret_why = "no core to record entries";
		return -ENOTSUP;
	}
	return s->record_file(s->userdata, type, metadata, uuid, name, fd, len, ret_why);
}

int lc_plugin_record_ended_boot(struct lc_plugin *p, const char *type, json_object *metadata,
				char *ret_uuid, const char **ret_why)
{
	const struct lc_plugin_services *s = p->host->services;

	if (!s || !s->record_ended_boot)
		return lc_plugin_record(p, type, metadata, ret_uuid, ret_why);
	return s->record_ended_boot(s->userdata, type, metadata, ret_uuid, ret_why);
}

void lc_plugin_report_unexpected_reboot(struct lc_plugin *p)
{
	const struct lc_plugin_services *s = p->host->services;

	if (s && s->unexpected_reboot)
		s->unexpected_reboot(s->userdata);
}

int lc_plugin_report_failure(struct lc_plugin *p, const char *kind)
{
	const struct lc_plugin_services *s = p->host->services;

	return s && s->report_failure ? s->report_failure(s->userdata, kind) : -ENOTSUP;
}

/* The store readings go to, or NULL with *ret the reason. */
static struct lc_metrics *plugin_metrics(struct lc_plugin *p, int *ret)
{
	const struct lc_plugin_services *s = p->host->services;
	struct lc_metrics *m;

	if (!s || !s->metrics) {
		*ret = -ENOTSUP;
		return NULL;
	}
	m = s->metrics(s->userdata);
	*ret = m ? 0 : -EPERM;
	return m;
}

int lc_plugin_metric(struct lc_plugin *p, const char *key, size_t key_len, enum lc_metric_kind kind,
		     double value)
{
	int r;
	struct lc_metrics *m = plugin_metrics(p, &r);

	return m ? lc_metrics_add(m, key, key_len, kind, value) : r;
}

int lc_plugin_metric_gauge_delta(struct lc_plugin *p, const char *key, size_t key_len, double delta)
{
	int r;
	struct lc_metrics *m = plugin_metrics(p, &r);

	return m ? lc_metrics_gauge_delta(m, key, key_len, delta) : r;
}

int lc_plugin_metric_set_add(struct lc_plugin *p, const char *key, size_t key_len,
			     const char *member, size_t member_len)
{
	int r;
	struct lc_metrics *m = plugin_metrics(p, &r);

	return m ? lc_metrics_set_add(m, key, key_len, member, member_len) : r;
}

const struct lc_boot_info *lc_plugin_boot_info(const struct lc_plugin *p)
{
	return p->host->services ? p->host->services->boot : NULL;
}

const struct lc_identity *lc_plugin_identity(const struct lc_plugin *p)
{
	return p->host->services ? p->host->services->identity : NULL;
}

/* The full key of a plugin setting, "<plugin>.<key>", in a caller-provided buffer. */
static const char *plugin_key(const struct lc_plugin *p, const char *key, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s.%s", p->ops->name, key);

	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "plugin key \"%s.%s\" too long\n", p->ops->name, key);
		abort();
	}
	return buf;
}

bool lc_plugin_config_bool(const struct lc_plugin *p, const char *key)
{
	char buf[256];

	return lc_config_get_bool(p->host->cfg, plugin_key(p, key, buf, sizeof(buf)));
}

int64_t lc_plugin_config_int(const struct lc_plugin *p, const char *key)
{
	char buf[256];

	return lc_config_get_int(p->host->cfg, plugin_key(p, key, buf, sizeof(buf)));
}

const char *lc_plugin_config_string(const struct lc_plugin *p, const char *key)
{
	char buf[256];

	return lc_config_get_string(p->host->cfg, plugin_key(p, key, buf, sizeof(buf)));
}

const char *const *lc_plugin_config_strv(const struct lc_plugin *p, const char *key)
{
	char buf[256];

	return lc_config_get_strv(p->host->cfg, plugin_key(p, key, buf, sizeof(buf)));
}

char *lc_plugin_sysroot_path(const struct lc_plugin *p, const char *path)
{
	return lc_path_prefix(lc_config_get_string(p->host->cfg, "sysroot"), path);
}

int lc_plugin_set_message(struct lc_plugin *p, const char *message)
{
	free(p->message);
	p->message = NULL;
	if (message && !(p->message = strdup(message)))
		return -ENOMEM;
	return 0;
}

int lc_plugin_log_internal(struct lc_plugin *p, int level, int error, const char *file, int line,
			   const char *func, const char *fmt, ...)
{
	bool reason = p->starting && level <= LOG_ERR && !p->reason;
	int saved_errno = errno;
	char msg[2048];
	va_list ap;

	if (error < 0)
		error = -error;
	if (level > lc_log_get_max_level() && !reason)
		return -error;
	errno = error; /* for %m */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errno = saved_errno;
	if (reason)
		p->reason = strdup(msg); /* NULL: the errno alone will do */
	return lc_log_internal(level, error, file, line, func, "%s: %s", p->ops->name, msg);
}

/* "init failed: " and why: what init logged (without its final period), with the errno when the
 * message does not already name it. NULL on OOM. */
static char *init_failure(int error, const char *reason)
{
	const char *err = strerror(-error);
	size_t n = reason ? strlen(reason) : 0;
	char *s;

	if (n > 0 && reason[n - 1] == '.')
		n--;
	if (n == 0)
		return asprintf(&s, "init failed: %s", err) < 0 ? NULL : s;
	if (strstr(reason, err))
		return asprintf(&s, "init failed: %.*s", (int)n, reason) < 0 ? NULL : s;
	return asprintf(&s, "init failed: %.*s (%s)", (int)n, reason, err) < 0 ? NULL : s;
}

static void timer_close_cb(uv_handle_t *h)
{
	free(h->data);
}

static void timer_cb(uv_timer_t *handle)
{
	struct lc_timer *t = handle->data;

	t->cb(t->plugin, t->userdata);
}

/* Starts t's handle; never at 0 ms: libuv before 1.48 runs a timer re-armed at 0 from its own
 * callback again in the same pass of the loop, so a plugin asking for "now" would starve it. */
static int timer_start(struct lc_timer *t, uint64_t first_ms, uint64_t repeat_ms)
{
	return uv_timer_start(&t->handle, timer_cb, MAX(first_ms, (uint64_t)1), repeat_ms);
}

int lc_plugin_timer_add(struct lc_plugin *p, uint64_t first_ms, uint64_t repeat_ms,
			lc_timer_cb_t cb, void *userdata, struct lc_timer **ret)
{
	struct lc_timer *t;
	int r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	r = uv_timer_init(p->host->loop, &t->handle);
	if (r < 0) {
		free(t);
		return r;
	}
	t->handle.data = t;
	t->plugin = p;
	t->cb = cb;
	t->userdata = userdata;
	r = timer_start(t, first_ms, repeat_ms);
	if (r < 0) {
		uv_close((uv_handle_t *)&t->handle, timer_close_cb);
		return r;
	}
	t->next = p->timers;
	if (p->timers)
		p->timers->prev = t;
	p->timers = t;
	if (ret)
		*ret = t;
	return 0;
}

int lc_timer_restart(struct lc_timer *t, uint64_t first_ms, uint64_t repeat_ms)
{
	return timer_start(t, first_ms, repeat_ms);
}

struct lc_timer *lc_timer_free(struct lc_timer *t)
{
	if (!t)
		return NULL;
	if (t->prev)
		t->prev->next = t->next;
	else
		t->plugin->timers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	uv_timer_stop(&t->handle);
	uv_close((uv_handle_t *)&t->handle, timer_close_cb);
	return NULL;
}

static void watch_close_cb(uv_handle_t *h)
{
	free(h->data);
}

static void watch_cb(uv_poll_t *handle, int status, int events)
{
	struct lc_watch *w = handle->data;
	unsigned ev = 0;

	if (events & UV_READABLE)
		ev |= LC_WATCH_READ;
	if (events & UV_WRITABLE)
		ev |= LC_WATCH_WRITE;
	w->cb(w->plugin, w->fd, ev, status < 0 ? status : 0, w->userdata);
}

int lc_plugin_watch_fd(struct lc_plugin *p, int fd, unsigned events, lc_watch_cb_t cb,
		       void *userdata, struct lc_watch **ret)
{
	struct lc_watch *w;
	int uv_events = 0, r;

	if (fd < 0 || !(events & (LC_WATCH_READ | LC_WATCH_WRITE)))
		return -EINVAL;
	if (events & LC_WATCH_READ)
		uv_events |= UV_READABLE;
	if (events & LC_WATCH_WRITE)
		uv_events |= UV_WRITABLE;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	r = uv_poll_init(p->host->loop, &w->handle, fd);
	if (r < 0) {
		free(w);
		return r;
	}
	w->handle.data = w;
	w->plugin = p;
	w->fd = fd;
	w->cb = cb;
	w->userdata = userdata;
	r = uv_poll_start(&w->handle, uv_events, watch_cb);
	if (r < 0) {
		uv_close((uv_handle_t *)&w->handle, watch_close_cb);
		return r;
	}
	w->next = p->watches;
	if (p->watches)
		p->watches->prev = w;
	p->watches = w;
	if (ret)
		*ret = w;
	return 0;
}

struct lc_watch *lc_watch_free(struct lc_watch *w)
{
	if (!w)
		return NULL;
	if (w->prev)
		w->prev->next = w->next;
	else
		w->plugin->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	uv_poll_stop(&w->handle);
	uv_close((uv_handle_t *)&w->handle, watch_close_cb);
	return NULL;
}

static void plugin_release(struct lc_plugin *p)
{
	while (p->timers)
		lc_timer_free(p->timers);
	while (p->watches)
		lc_watch_free(p->watches);
}

int lc_plugin_host_new(uv_loop_t *loop, const struct lc_plugin_ops *const *plugins, size_t n,
		       struct lc_plugin_host **ret)
{
	struct lc_plugin_host *h;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->plugins = calloc(n ? n : 1, sizeof(*h->plugins));
	if (!h->plugins) {
		free(h);
		return -ENOMEM;
	}
	h->loop = loop;
	h->n = n;
	for (size_t i = 0; i < n; i++) {
		h->plugins[i].ops = plugins[i];
		h->plugins[i].host = h;
	}
	*ret = h;
	return 0;
}

static bool plugin_enabled(const struct lc_plugin *p)
{
	const struct lc_cfg_section *s = p->ops->config;

	if (!s)
		return true;
	for (size_t i = 0; i < s->n_keys; i++)
		if (streq(s->keys[i].name, "enabled") && s->keys[i].type == LC_CFG_BOOL)
			return lc_plugin_config_bool(p, "enabled");
	return true;
}

unsigned lc_plugin_host_start(struct lc_plugin_host *h, const struct lc_config *cfg)
{
	unsigned running = 0;

	h->cfg = cfg;
	for (size_t i = 0; i < h->n; i++) {
		struct lc_plugin *p = &h->plugins[i];
		int r;

		if (p->state == LC_PLUGIN_RUNNING)
			continue;
		free(p->error);
		p->error = NULL;
		p->data = NULL;

		if (!plugin_enabled(p)) {
			p->state = LC_PLUGIN_DISABLED;
			log_debug("Plugin %s is disabled in the configuration.", p->ops->name);
			if (p->ran && p->ops->disabled)
				p->ops->disabled(p);
			p->ran = false;
			continue;
		}
		p->ran = false;
		p->starting = true;
		r = p->ops->init(p);
		p->starting = false;
		if (r < 0) {
			/* init undid its own allocations; what it asked of the core goes here. */
			plugin_release(p);
			(void)lc_plugin_set_message(p, NULL);
			p->state = LC_PLUGIN_FAILED;
			p->error = init_failure(r, p->reason);
			log_error_errno(r, "Plugin %s failed to start, disabling it: %m",
					p->ops->name);
		}
		free(p->reason);
		p->reason = NULL;
		if (r < 0)
			continue;
		p->state = LC_PLUGIN_RUNNING;
		running++;
		log_debug("Plugin %s started.", p->ops->name);
	}
	return running;
}

void lc_plugin_host_stop(struct lc_plugin_host *h)
{
	for (size_t i = h->n; i-- > 0;) {
		struct lc_plugin *p = &h->plugins[i];

		if (p->state == LC_PLUGIN_RUNNING) {
			/* Watches go before shutdown closes their descriptors, and no callback can
			 * run on data that shutdown frees. */
			plugin_release(p);
			if (p->ops->shutdown)
				p->ops->shutdown(p);
			p->data = NULL;
			(void)lc_plugin_set_message(p, NULL);
			p->ran = true;
			log_debug("Plugin %s stopped.", p->ops->name);
		}
		if (p->state != LC_PLUGIN_FAILED)
			p->state = LC_PLUGIN_STOPPED;
	}
	h->cfg = NULL;
}

void lc_plugin_host_collect(struct lc_plugin_host *h)
{
	for (size_t i = 0; i < h->n; i++) {
		struct lc_plugin *p = &h->plugins[i];

		if (p->state == LC_PLUGIN_RUNNING && p->ops->collect)
			p->ops->collect(p);
	}
}

void lc_plugin_host_crash(struct lc_plugin_host *h, const struct lc_crash_report *r)
{
	for (size_t i = 0; i < h->n; i++) {
		struct lc_plugin *p = &h->plugins[i];

		if (p->state == LC_PLUGIN_RUNNING && p->ops->crash)
			p->ops->crash(p, r);
	}
}

void lc_plugin_host_sync(struct lc_plugin_host *h)
{
	for (size_t i = 0; i < h->n; i++) {
		struct lc_plugin *p = &h->plugins[i];

		if (p->state == LC_PLUGIN_RUNNING && p->ops->sync)
			p->ops->sync(p);
	}
}

json_object *lc_plugin_host_crash_logs(struct lc_plugin_host *h, uint64_t crash_mono_ms,
				       size_t max_bytes)
{
	for (size_t i = 0; i < h->n; i++) {
		struct lc_plugin *p = &h->plugins[i];
		json_object *lines;

		if (p->state != LC_PLUGIN_RUNNING || !p->ops->crash_logs)
			continue;
		lines = p->ops->crash_logs(p, crash_mono_ms, max_bytes);
		if (lines)
			return lines;
	}
	return NULL;
}

void lc_plugin_host_consent(struct lc_plugin_host *h, bool on)
{
	for (size_t i = 0; i < h->n; i++) {
		struct lc_plugin *p = &h->plugins[i];

		if (p->state == LC_PLUGIN_RUNNING && p->ops->consent)
			p->ops->consent(p, on);
	}
}

enum lc_plugin_state lc_plugin_host_state(const struct lc_plugin_host *h, size_t i)
{
	return i < h->n ? h->plugins[i].state : LC_PLUGIN_STOPPED;
}

static const char *state_name(enum lc_plugin_state s)
{
	switch (s) {
	case LC_PLUGIN_DISABLED:
		return "disabled";
	case LC_PLUGIN_RUNNING:
		return "running";
	case LC_PLUGIN_FAILED:
		return "failed";
	default:
		return "stopped";
	}
}

/* The status entry of plugin p; *r becomes -ENOMEM when some of it is missing. */
static json_object *plugin_status(struct lc_plugin *p, int *r)
{
	json_object *o = json_object_new_object();

	if (!o) {
		lc_json_sticky(-ENOMEM, r);
		return NULL;
	}
	lc_json_add_sticky(o, "name", json_object_new_string(p->ops->name), r);
	lc_json_add_sticky(o, "state", json_object_new_string(state_name(p->state)), r);
	if (p->error)
		lc_json_add_sticky(o, "error", json_object_new_string(p->error), r);
	if (p->state == LC_PLUGIN_RUNNING && p->message)
		lc_json_add_sticky(o, "message", json_object_new_string(p->message), r);
	if (p->state == LC_PLUGIN_RUNNING && p->ops->status)
		lc_json_add_sticky(o, "status", p->ops->status(p), r);
	return o;
}

json_object *lc_plugin_host_status(struct lc_plugin_host *h)
{
	json_object *a = json_object_new_array();
	int r = 0;

	if (!a)
		return NULL;
	for (size_t i = 0; i < h->n; i++) {
		json_object *o = plugin_status(&h->plugins[i], &r);

		if (o)
			json_object_array_add(a, o);
	}
	/* Some plugins, or some of what they say, are better than none. */
	if (r < 0)
		log_warning_errno(r, "Failed to report the status of every plugin in full, "
				     "leaving gaps: %m");
	return a;
}

json_object *lc_plugin_host_status_of(struct lc_plugin_host *h, const char *name)
{
	int r = 0;

	for (size_t i = 0; i < h->n; i++)
		if (streq(h->plugins[i].ops->name, name)) {
			json_object *o = plugin_status(&h->plugins[i], &r);

			if (r < 0)
				log_warning_errno(r,
						  "Failed to report the status of plugin %s in "
						  "full, leaving gaps: %m",
						  name);
			return o;
		}
	return NULL;
}

struct lc_plugin_host *lc_plugin_host_free(struct lc_plugin_host *h)
{
	if (!h)
		return NULL;
	lc_plugin_host_stop(h);
	for (size_t i = 0; i < h->n; i++)
		free(h->plugins[i].error);
	free(h->plugins);
	free(h);
	return NULL;
}

int lc_plugin_config_sections(const struct lc_cfg_section *core, size_t n_core,
			      const struct lc_plugin_ops *const *plugins, size_t n,
			      struct lc_cfg_section **ret, size_t *ret_n)
{
	struct lc_cfg_section *s;
	size_t k = 0;

	s = calloc(n_core + n + 1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < n_core; i++)
		s[k++] = core[i];
	for (size_t i = 0; i < n; i++)
		if (plugins[i]->config)
			s[k++] = *plugins[i]->config;
	*ret = s;
	*ret_n = k;
	return 0;
}
